/*
 * The PCI framework: the root bus, the abstract "pci-device" type, its
 * configuration space, BARs, INTx, capabilities, and the accessors the
 * monitor uses for query-pci / info pci.
 *
 * Spec: PCI Local Bus Specification 3.0, chapter 6 (Configuration Space);
 * register names in hw/pci/pci_regs.h.
 *
 * A PCI device type names "pci-device" as its parent and points
 * DeviceType.class_data at a PCIDeviceClass (or at a struct that begins
 * with one).  The "pci-device" level realize claims the function on bus 0
 * ("addr" property, -1 = first free slot), fills the header from the class
 * data and sets the default write masks; the leaf realize then registers
 * its BARs and capabilities.  The "pci-device" level reset clears what a
 * PCI reset clears (command, status errors, BARs, interrupt line, MSI and
 * MSI-X) before the leaf's reset runs.
 *
 * All functions run with the big lock held.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "system/memory.h"
#include "hw/pci/pci_regs.h"
#include "hw/pci/pci_ids.h"

#define TYPE_PCI_DEVICE "pci-device"

#define PCI_SLOT_MAX        32
#define PCI_FUNC_MAX        8
#define PCI_DEVFN_MAX       256
#define PCI_DEVFN(slot, fn) ((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#define PCI_SLOT(devfn)     (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)     ((devfn) & 0x07)

#define PCI_NUM_PINS        4       /* INTA# .. INTD# */
#define PCI_BUS_MAX_IRQS    8       /* bus lines: PIRQA-D, ICH9's A-H */
#define PCI_NUM_REGIONS     7       /* BAR0-5 and the expansion ROM */
#define PCI_ROM_SLOT        6
#define PCI_BAR_UNMAPPED    UINT64_MAX

/* MSI-X vectors a function may have (the table lives in PCIDevice). */
#define PCI_MSIX_MAX_VECTORS 256

typedef struct PCIBus PCIBus;
typedef struct PCIDevice PCIDevice;

/* Per-type constants and hooks, given through DeviceType.class_data. */
typedef struct PCIDeviceClass {
    uint16_t vendor_id;
    uint16_t device_id;
    uint8_t revision;
    uint16_t class_id;          /* base class << 8 | sub-class */
    uint8_t prog_if;
    uint8_t header_type;        /* PCI_HEADER_TYPE_NORMAL, or _BRIDGE for
                                   the PCI-to-PCI bridges (pci_bridge.h) */
    bool is_express;            /* 4 KiB configuration space (ECAM) */
    /* 0/0: QEMU's default 1af4:1100 */
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
    uint16_t status;            /* fixed status bits, e.g. DEVSEL timing */
    uint8_t interrupt_pin;      /* 0: none, 1-4: INTA#-INTD# */
    const char *romfile;        /* default for the romfile property */
    /*
     * Optional config-space hooks.  A write hook replaces the default
     * write and normally calls pci_default_write_config() first; likewise
     * a read hook and pci_default_read_config().  @addr + @len never
     * passes the function's config_size (256, or 4096 for is_express);
     * @len is 1, 2 or 4.
     */
    uint32_t (*config_read)(PCIDevice *dev, uint32_t addr, unsigned len);
    void (*config_write)(PCIDevice *dev, uint32_t addr, uint32_t val,
                         unsigned len);
} PCIDeviceClass;

typedef struct PCIIORegion {
    uint64_t size;              /* 0: not implemented */
    uint8_t type;               /* SPACE_IO, or SPACE_MEMORY | MEM_TYPE_64 |
                                   MEM_PREFETCH */
    MemoryRegion *memory;       /* what the BAR decodes */
    MemoryRegion *address_space; /* where it is mapped (bus I/O or memory) */
    uint64_t addr;              /* current address or PCI_BAR_UNMAPPED */
} PCIIORegion;

typedef struct PCIMSIMessage {
    uint64_t address;
    uint32_t data;
} PCIMSIMessage;

/*
 * Told when the message or the mask state of an MSI/MSI-X vector may have
 * changed (e.g. to keep a KVM MSI route and irqfd in step).
 */
typedef void (*PCIMSIVectorNotifier)(PCIDevice *dev, unsigned vector,
                                     PCIMSIMessage msg, bool masked);

struct PCIDevice {
    DeviceState parent;

    /* properties */
    int32_t devfn;              /* "addr": slot << 3 | function, -1 = auto */
    bool multifunction;
    char *romfile;
    char *bus_name;             /* bus=: "pci.0"/"pcie.0" or a bridge's id */
    uint32_t rombar;
    uint32_t acpi_index;        /* "acpi-index": the guest's instance number
                                   (PCI Firmware 3.3 _DSM function 7, through
                                   ACPI PCI hotplug); 0: none */

    /* The identity the function shows: its class's, or what its realize
     * chose with pci_set_identity() (virtio-pci); a loaded state must
     * carry the same. */
    uint16_t device_id;
    uint16_t class_id;
    uint8_t revision;

    /* configuration space and its masks (config_size bytes are used) */
    uint32_t config_size;       /* 256, or 4096 for a PCI Express function
                                   (the class's is_express, or made one by
                                   its realize: pcie_endpoint_cap_init) */
    uint8_t config[PCIE_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCIE_CONFIG_SPACE_SIZE];   /* bits software may write */
    uint8_t w1cmask[PCIE_CONFIG_SPACE_SIZE]; /* bits a written 1 clears */
    uint8_t cap_used[PCIE_CONFIG_SPACE_SIZE]; /* bytes held by capabilities */
    /* The extended space (config_size - 256 bytes) as the state table
     * carries it: a copy made before each save, taken back on load. */
    uint8_t *mig_ext_config;
    uint32_t mig_ext_config_len;

    uint8_t irq_state;          /* bit n: the function asserts INTx pin n */

    PCIBus *bus;
    const PCIDeviceClass *pc;
    PCIIORegion io_regions[PCI_NUM_REGIONS];
    MemoryRegion rom;           /* romfile contents (expansion ROM BAR) */
    bool has_rom;

    /* MSI (hw/pci/msi.c) */
    uint8_t msi_cap;            /* capability offset, 0 = none */

    /* MSI-X (hw/pci/msix.c) */
    uint8_t msix_cap;           /* capability offset, 0 = none */
    uint16_t msix_entries;
    uint8_t msix_table[PCI_MSIX_MAX_VECTORS * PCI_MSIX_ENTRY_SIZE];
    uint8_t msix_pba[PCI_MSIX_MAX_VECTORS / 8];
    MemoryRegion msix_table_mmio;
    MemoryRegion msix_pba_mmio;
    MemoryRegion msix_exclusive_bar;
    bool msix_exclusive;

    PCIMSIVectorNotifier msi_notifier;
};

#define PCI_DEVICE(obj) ((PCIDevice *)(obj))

/* ---- little-endian config accessors -------------------------------- */

static inline uint8_t pci_get_byte(const uint8_t *p) { return *p; }
static inline uint16_t pci_get_word(const uint8_t *p) { return lduw_le_p(p); }
static inline uint32_t pci_get_long(const uint8_t *p) { return ldl_le_p(p); }
static inline uint64_t pci_get_quad(const uint8_t *p) { return ldq_le_p(p); }
static inline void pci_set_byte(uint8_t *p, uint8_t v) { *p = v; }
static inline void pci_set_word(uint8_t *p, uint16_t v) { stw_le_p(p, v); }
static inline void pci_set_long(uint8_t *p, uint32_t v) { stl_le_p(p, v); }
static inline void pci_set_quad(uint8_t *p, uint64_t v) { stq_le_p(p, v); }

/* ---- the bus (host bridge and ISA bridge side) --------------------- */

/*
 * Create bus 0.  Memory BARs map into @mem (QEMU's "PCI address space",
 * which the host bridge places in guest-physical memory), I/O BARs into
 * @io.  Fails if a root bus exists already.
 */
PCIBus *pci_root_bus_create(MemoryRegion *mem, MemoryRegion *io,
                            GError **errp);
/* Functions still on the bus keep working but are no longer reachable. */
void pci_root_bus_destroy(PCIBus *bus);
/* Bus 0, or NULL when no host bridge has been created. */
PCIBus *pci_root_bus(void);
/* The name bus= finds it by ("pci.0" until the host bridge renames it). */
void pci_bus_set_name(PCIBus *bus, const char *name);
const char *pci_bus_name(const PCIBus *bus);
/*
 * The root bus is a PCI Express root complex's (q35's pcie.0): set by the
 * host bridge; what a bus behind a bridge is follows from the bridge
 * (pcie_bus_kind() in hw/pci/pci_bridge.h).
 */
void pci_root_bus_set_express(PCIBus *bus, bool express);
bool pci_root_bus_is_express(const PCIBus *bus);
/* A bus by its bus= name (root or a bridge's secondary), or NULL. */
PCIBus *pci_bus_find_by_name(const char *name);
/*
 * The bus that bus number @nr reaches from the root bus @root, following
 * the bridges' secondary/subordinate bus numbers as a configuration cycle
 * does (PCI-to-PCI Bridge spec 3.2.5.3): NULL when none claims it.
 */
PCIBus *pci_bus_find_nr(PCIBus *root, unsigned nr);
/* A bridge's secondary bus (NULL: @dev is no bridge). */
PCIBus *pci_device_get_secondary_bus(PCIDevice *dev);
/* The bridge whose secondary bus @bus is (NULL for the root bus). */
PCIDevice *pci_bus_bridge(const PCIBus *bus);
/*
 * A bridge's secondary bus (hw/pci/pci_bridge.c): BARs behind it map into
 * @mem / @io, its INTx lines swizzle onto the bridge's pins.  @only_slot0:
 * a PCI Express downstream port's link (device 0 only).
 */
PCIBus *pci_secondary_bus_create(PCIDevice *bridge, const char *name,
                                 MemoryRegion *mem, MemoryRegion *io,
                                 bool only_slot0);
void pci_secondary_bus_destroy(PCIBus *bus);
/* Drive pin @pin (0 = INTA#) of @dev, whatever its interrupt pin register
 * says (a bridge forwards all four lines of its secondary bus). */
void pci_set_irq_pin(PCIDevice *dev, int pin, int level);
/* Calls @fn for every function on @bus and on every bus behind it. */
void pci_for_each_device_recursive(PCIBus *bus,
                                   void (*fn)(PCIBus *bus, PCIDevice *dev,
                                              void *opaque),
                                   void *opaque);
/*
 * The bus's hotplug controller (PIIX4 ACPI hotplug on pc's pci.0, a PCIe
 * root port for its link; NULL: the bus takes no hotplug, as q35's
 * pcie.0).  docs/hotplug.md.
 */
void pci_bus_set_hotplug_handler(PCIBus *bus, HotplugHandler *h);
HotplugHandler *pci_bus_hotplug_handler(const PCIBus *bus);
/*
 * The ACPI PCI hotplug bus selector of @bus (QEMU's "acpi-pcihp-bsel"
 * property, BSEL in the DSDT): -1 when the bus has none.  Set by
 * hw/acpi/pcihp.c at the machine's first reset.
 */
void pci_bus_set_acpi_bsel(PCIBus *bus, int bsel);
int pci_bus_acpi_bsel(const PCIBus *bus);
/*
 * Calls @fn for each bus directly behind a bridge on @bus, the most
 * recently created first: the order of QEMU's child-bus lists, which its
 * BSEL numbering and its DSDT's PCNT calls follow.  @fn must not create
 * or destroy buses.
 */
void pci_for_each_child_bus(PCIBus *bus,
                            void (*fn)(PCIBus *child, void *opaque),
                            void *opaque);
/*
 * acpi-index (QEMU 6.0+'s PCI device property, libvirt's <acpi index='N'/>):
 * at most PCI_ACPI_INDEX_MAX, the cap systemd/udev honour for "onboard"
 * names (eno<N>), and unique across the machine while a device holds it.
 */
#define PCI_ACPI_INDEX_MAX 16383
/*
 * The acpi-index QEMU 7.2's ACPI PCI hotplug block reports for @slot of
 * @bus (its PCI_AIDX register): the index of the function there that was
 * created last (QEMU walks its bus's children newest first, whatever the
 * function number); 0 when the slot is empty or that function has none.
 */
uint32_t pci_slot_acpi_index(PCIBus *bus, unsigned slot);
/* QEMU's acpi_pcihp_pc_no_hotplug: a built-in bridge or a chipset
 * function (DeviceType.not_hotpluggable) stays where it is. */
bool pci_device_no_hotplug(const PCIDevice *dev);
/* Remove @dev (device_unplug_complete), the functions behind it first
 * when it is a bridge. */
void pci_device_unplug_tree(PCIDevice *dev);
MemoryRegion *pci_bus_memory(PCIBus *bus);
MemoryRegion *pci_bus_io(PCIBus *bus);
int pci_bus_num(const PCIBus *bus);

/*
 * Configuration cycles (type 0) as the host bridge decodes them: @addr is
 * the register (0-255 through CF8/CFC, 0-4095 through ECAM), @len 1, 2 or
 * 4.  An access that would pass the end of the function's space is cut;
 * an absent function, or a register past a conventional function's 256
 * bytes, reads all-ones and ignores writes.
 */
uint32_t pci_bus_config_read(PCIBus *bus, unsigned devfn, unsigned addr,
                             unsigned len);
void pci_bus_config_write(PCIBus *bus, unsigned devfn, unsigned addr,
                          uint32_t val, unsigned len);

/*
 * INTx routing: a function's pin (0 = INTA#) goes through @map_irq (the
 * board's swizzle) to one of @nirq bus lines ("PIRQs"), whose combined
 * level @set_irq receives.  Set by the ISA bridge; NULL hooks detach.
 */
typedef void (*PCISetIRQFunc)(void *opaque, int pirq, int level);
typedef int (*PCIMapIRQFunc)(PCIDevice *dev, int pin);
void pci_bus_irqs(PCIBus *bus, PCISetIRQFunc set_irq, PCIMapIRQFunc map_irq,
                  void *opaque, int nirq);
/* Whether an ISA bridge owns the bus lines already. */
bool pci_bus_irqs_claimed(PCIBus *bus);
/* The combined level of bus line @pirq. */
bool pci_bus_get_irq_level(PCIBus *bus, int pirq);
/* Raw assertion counters of the bus lines (for the host's state);
 * *n = PCI_BUS_MAX_IRQS. */
int32_t *pci_bus_irq_counts(PCIBus *bus, unsigned *n);
/* QEMU's i440FX swizzle: (pin + slot - 1) & 3. */
int pci_slot_get_pirq(PCIDevice *dev, int pin);

/* ---- iteration and lookup (monitor: query-pci, info pci) ----------- */

PCIDevice *pci_find_device(PCIBus *bus, unsigned devfn);
/* Calls @fn for each function on @bus in devfn order. */
void pci_for_each_device(PCIBus *bus,
                         void (*fn)(PCIBus *bus, PCIDevice *dev, void *opaque),
                         void *opaque);
PCIBus *pci_get_bus(const PCIDevice *dev);

typedef struct PCIRegionInfo {
    int bar;                    /* 0-5; 6 = expansion ROM */
    bool is_io;                 /* QMP type "io", else "memory" */
    uint64_t address;           /* PCI_BAR_UNMAPPED when not mapped */
    uint64_t size;
    bool prefetch;
    bool mem_type_64;
} PCIRegionInfo;

typedef struct PCIDeviceInfo {
    int bus, slot, function;
    uint16_t class_id;          /* QMP class_info.class */
    const char *class_desc;     /* class_info.desc, NULL when unknown */
    uint16_t vendor_id, device_id;
    uint16_t subsystem_vendor_id, subsystem_id;
    bool has_irq;               /* interrupt pin != 0 */
    uint8_t irq;                /* interrupt line register */
    uint8_t irq_pin;            /* 1 = A ... 4 = D */
    const char *qdev_id;        /* "" when the device has no id */
    unsigned nr_regions;
    PCIRegionInfo regions[PCI_NUM_REGIONS];  /* implemented BARs only */
} PCIDeviceInfo;

void pci_device_get_info(PCIDevice *dev, PCIDeviceInfo *info);
/* "Host bridge", "ISA bridge", ... as QEMU's info pci; NULL if unknown. */
const char *pci_class_description(uint16_t class_id);

/* ---- device side --------------------------------------------------- */

uint32_t pci_default_read_config(PCIDevice *dev, uint32_t addr,
                                 unsigned len);
void pci_default_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                              unsigned len);

/*
 * From the leaf realize: the device ID, revision and class the function
 * shows when they depend on its configuration (virtio-pci's transitional
 * or modern IDs), in place of its class's.
 */
/* A function whose configuration space just became 4 KiB: the extended
 * space's default write mask (hw/pci/pci.c). */
void pci_init_ext_wmask(PCIDevice *d);
void pci_set_identity(PCIDevice *dev, uint16_t device_id, uint8_t revision,
                      uint16_t class_id);

/*
 * Declare BAR @bar (0-5, or PCI_ROM_SLOT) decoding @mr, whose size must be
 * a power of two (I/O: 4 bytes or more, memory: 16 or more).  A 64-bit
 * memory BAR also takes @bar + 1.  Call from the leaf realize.
 */
void pci_register_bar(PCIDevice *dev, unsigned bar, uint8_t type,
                      MemoryRegion *mr);
/* Where BAR @bar is mapped now, or PCI_BAR_UNMAPPED. */
uint64_t pci_get_bar_addr(const PCIDevice *dev, unsigned bar);

/* Drive the function's INTx pin (PCI_INTERRUPT_PIN) to @level. */
void pci_set_irq(PCIDevice *dev, int level);
static inline void pci_irq_assert(PCIDevice *dev) { pci_set_irq(dev, 1); }
static inline void pci_irq_deassert(PCIDevice *dev) { pci_set_irq(dev, 0); }
/* Release every INTx pin (MSI enabled, reset, unplug). */
void pci_device_deassert_intx(PCIDevice *dev);

/*
 * Add a capability of @size bytes at @offset (0: first free dword-aligned
 * place at 0x40 or above) and link it at the head of the list.  Returns
 * the offset, or 0 with @errp set when it does not fit or overlaps.
 * The capability's bytes start read-only (the wmask is cleared).
 */
uint8_t pci_add_capability(PCIDevice *dev, uint8_t cap_id, uint8_t offset,
                           uint8_t size, GError **errp);
/* Offset of the first capability with @cap_id, or 0. */
uint8_t pci_find_capability(PCIDevice *dev, uint8_t cap_id);

/*
 * DMA as a bus master: only while the command register's bus master
 * enable bit is set (otherwise reads give all-ones, writes are dropped,
 * and MEMTX_DECODE_ERROR is returned).
 */
MemTxResult pci_dma_read(PCIDevice *dev, uint64_t addr, void *buf,
                         uint64_t len);
MemTxResult pci_dma_write(PCIDevice *dev, uint64_t addr, const void *buf,
                          uint64_t len);
/* Whether @dev's DMA reaches memory now (its bus master enable and every
 * bridge's above it): the check of pci_dma_read/write, for a device that
 * maps guest RAM itself (hw/virtio/guest-ram.h) instead. */
bool pci_dma_enabled(const PCIDevice *dev);

#endif
