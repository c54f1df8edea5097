/*
 * virtio over PCI: the transport behind virtio-*-pci devices.
 *
 * Spec: OASIS VIRTIO 1.2, 4.1 "Virtio Over PCI Bus":
 *   4.1.2 PCI Device Discovery (IDs 0x1000-0x103f transitional,
 *         0x1040 + device ID modern), 4.1.4 Virtio Structure PCI
 *         Capabilities (common, notify with notify_off_multiplier, ISR,
 *         device, PCI configuration access), 4.1.4.3 common configuration
 *         layout (queue_reset included), 4.1.4.8 Legacy Interfaces (the
 *         I/O BAR0 layout), 4.1.5 device operation (MSI-X vectors).
 *
 * Behind a PCI Express root port or switch port (QEMU 7.2's rule), with
 * the modern interface: a PCI Express endpoint (PCIe Base 4.0, 7.5.3,
 * capability at 0x40) with a PCI Power Management capability (PCI Bus
 * Power Management Interface 1.2, at 0x7c), 4 KiB configuration space,
 * and disable-legacy=auto means modern only there.
 *
 * Layout, as QEMU's: BAR0 legacy I/O (transitional devices), BAR1 MSI-X
 * table and PBA (vectors > 0), BAR4 the modern registers, 64-bit
 * prefetchable, 16 KiB: common 0x0000, ISR 0x1000, device 0x2000,
 * notify 0x3000 (queue n at n * 4).
 *
 * A device type is "virtio-pci" <- "virtio-FOO-pci"; its instance struct
 * begins with VirtIOPCIProxy and holds the device (a struct beginning
 * with VirtIODevice) at VirtioPCIClass.vdev_offset.
 */
#ifndef HW_VIRTIO_VIRTIO_PCI_H
#define HW_VIRTIO_VIRTIO_PCI_H
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio.h"

#define TYPE_VIRTIO_PCI "virtio-pci"

/* Capability cfg_type values (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG       1
#define VIRTIO_PCI_CAP_NOTIFY_CFG       2
#define VIRTIO_PCI_CAP_ISR_CFG          3
#define VIRTIO_PCI_CAP_DEVICE_CFG       4
#define VIRTIO_PCI_CAP_PCI_CFG          5

/* struct virtio_pci_cap (4.1.4). */
#define VIRTIO_PCI_CAP_VNDR             0
#define VIRTIO_PCI_CAP_NEXT             1
#define VIRTIO_PCI_CAP_LEN              2
#define VIRTIO_PCI_CAP_CFG_TYPE         3
#define VIRTIO_PCI_CAP_BAR              4
#define VIRTIO_PCI_CAP_ID               5
#define VIRTIO_PCI_CAP_OFFSET           8
#define VIRTIO_PCI_CAP_LENGTH           12
#define VIRTIO_PCI_CAP_SIZE             16
#define VIRTIO_PCI_NOTIFY_CAP_MULT      16      /* notify_off_multiplier */
#define VIRTIO_PCI_CFG_CAP_DATA         16      /* pci_cfg_data[4] */

/* Common configuration (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00
#define VIRTIO_PCI_COMMON_DF            0x04
#define VIRTIO_PCI_COMMON_GFSELECT      0x08
#define VIRTIO_PCI_COMMON_GF            0x0c
#define VIRTIO_PCI_COMMON_MSIX          0x10
#define VIRTIO_PCI_COMMON_NUMQ          0x12
#define VIRTIO_PCI_COMMON_STATUS        0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34
#define VIRTIO_PCI_COMMON_Q_NDATA       0x38
#define VIRTIO_PCI_COMMON_Q_RESET       0x3a
#define VIRTIO_PCI_COMMON_SIZE          0x3c

/* Modern BAR layout. */
#define VIRTIO_PCI_MODERN_BAR           4
#define VIRTIO_PCI_MSIX_BAR             1
#define VIRTIO_PCI_LEGACY_BAR           0
#define VIRTIO_PCI_COMMON_OFF           0x0000
#define VIRTIO_PCI_ISR_OFF              0x1000
#define VIRTIO_PCI_DEVICE_OFF           0x2000
#define VIRTIO_PCI_NOTIFY_OFF           0x3000
#define VIRTIO_PCI_REGION_SIZE          0x1000
#define VIRTIO_PCI_MODERN_BAR_SIZE      0x4000
#define VIRTIO_PCI_NOTIFY_MULT          4

/* Legacy I/O BAR0 (4.1.4.8). */
#define VIRTIO_PCI_HOST_FEATURES        0x00
#define VIRTIO_PCI_GUEST_FEATURES       0x04
#define VIRTIO_PCI_QUEUE_PFN            0x08
#define VIRTIO_PCI_QUEUE_NUM            0x0c
#define VIRTIO_PCI_QUEUE_SEL            0x0e
#define VIRTIO_PCI_QUEUE_NOTIFY         0x10
#define VIRTIO_PCI_STATUS               0x12
#define VIRTIO_PCI_ISR                  0x13
#define VIRTIO_MSI_CONFIG_VECTOR        0x14    /* with MSI-X enabled */
#define VIRTIO_MSI_QUEUE_VECTOR         0x16
#define VIRTIO_PCI_CONFIG_OFF(msix)     ((msix) ? 0x18 : 0x14)

#define VIRTIO_PCI_MAX_VECTORS          PCI_MSIX_MAX_VECTORS
/* "vectors" left at this default: the device's realize picks the count
 * (virtio-net: 2 * queue pairs + 2, virtio-blk: num-queues + 1, as QEMU). */
#define VIRTIO_PCI_NVECTORS_UNSPECIFIED UINT32_MAX

typedef struct VirtIOPCIProxy VirtIOPCIProxy;

typedef struct VirtioPCIClass {
    PCIDeviceClass pci;                 /* first: the PCI framework's */
    const VirtioDeviceClass *vdc;
    size_t vdev_offset;                 /* VirtIODevice in the instance */
    /* A virtio 1.x-only device (virtio-gpu, virtio-input: no legacy
     * interface, as QEMU's virtio_pci_force_virtio_1). */
    bool modern_only;
    /* Device-level realize (add queues, check properties). */
    bool (*realize)(VirtIODevice *vdev, GError **errp);
    void (*unrealize)(VirtIODevice *vdev);
} VirtioPCIClass;

struct VirtIOPCIProxy {
    PCIDevice pci;

    /* properties */
    char *disable_legacy;       /* on | off | auto */
    bool disable_modern;
    uint32_t nvectors;
    bool ioeventfd;
    bool iommu_platform;
    bool packed;
    bool event_idx;
    bool indirect_desc;
    char *iothread_id;
    /* PCI class the device picked at realize (0: its class's) */
    uint16_t class_code;

    const VirtioPCIClass *vpc;
    VirtIODevice *vdev;
    bool legacy_enabled;
    bool modern_enabled;
    /* behind a PCI Express port: a PCI Express endpoint (4 KiB config
     * space) with a PM capability at pm_cap */
    bool express;
    uint8_t pm_cap;

    MemoryRegion legacy_io;
    MemoryRegion modern_bar;
    MemoryRegion common;
    MemoryRegion isr;
    MemoryRegion device;
    MemoryRegion notify;
    uint8_t pci_cfg_cap;            /* offset of the PCI cfg access cap */

    /* common configuration state */
    uint32_t dfselect;
    uint32_t gfselect;
    uint32_t guest_features[2];
    uint16_t queue_sel;

    /* KVM: ioeventfds where they are registered (0 = not) */
    uint64_t ioeventfd_mmio[VIRTIO_QUEUE_MAX];
    uint16_t ioeventfd_pio[VIRTIO_QUEUE_MAX];
    /* KVM: per-vector MSI route and irqfd (-1 = none) */
    int vector_virq[VIRTIO_PCI_MAX_VECTORS];
    int vector_efd[VIRTIO_PCI_MAX_VECTORS];
    bool vector_irqfd[VIRTIO_PCI_MAX_VECTORS];
    /* interrupts raised outside the big lock, delivered by the main loop */
    uint64_t deferred[VIRTIO_PCI_MAX_VECTORS / 64 + 1];
    int deferred_scheduled;
};

/* The config hooks every virtio-*-pci PCIDeviceClass names. */
uint32_t virtio_pci_config_read(PCIDevice *d, uint32_t addr, unsigned len);
void virtio_pci_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len);
/* After a device's state was loaded: notifiers as the new state says. */
void virtio_pci_post_load(VirtIOPCIProxy *p);

static inline VirtIOPCIProxy *virtio_pci_proxy(VirtIODevice *vdev)
{
    return (VirtIOPCIProxy *)vdev->dev;
}

#endif
