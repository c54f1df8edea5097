/*
 * ACPI PCI hotplug (QEMU's "acpi-pcihp" register block), as the PIIX4 PM
 * function of the pc machine (at 0xae00) and the ICH9 LPC of q35 (at
 * 0x0cc0) have it: a 24-byte I/O block that the DSDT's slot methods read
 * and write, and GPE0 bit 1 (with the SCI) when something changed.
 *
 * Registers (32-bit accesses; QEMU 7.2 hw/acpi/pcihp.c names):
 *   0x00 PCI_UP    slots plugged since the last read (cleared by reading)
 *   0x04 PCI_DOWN  slots the host asked to remove (device_del)
 *   0x08 PCI_EJ    write: eject the lowest slot set (the guest's _EJ0);
 *                  reads 0
 *   0x0c PCI_RMV   slots that may be hot-removed (hotplug enable)
 *   0x10 PCI_SEL   bus selector (BNUM in the DSDT): 0 is pci.0
 *   0x14 PCI_AIDX  acpi-index of a slot: write a slot bit (the lowest
 *                  counts) under the selector, read the index of the
 *                  device there once (0: none; the read and any other
 *                  write clear it)
 * The DSDT names them PCIU, PCID, B0EJ, BNUM and PIDX.
 *
 * One block serves every bus that has a bus selector (BSEL), as QEMU
 * 7.2's: pci.0 (acpi-root-pci-hotplug=on) and, with
 * acpi-pci-hotplug-with-bridge-support=on, the secondary bus of each
 * cold-plugged bridge on a served bus (or on pci.0) whose bus has no
 * hotplug controller of its own (pci-bridge; on pc a root port keeps its
 * native hotplug; on q35 the PCIe ports' links and pcie-pci-bridges'
 * buses are taken too, as QEMU 7.2's ICH9 does).  The selectors are given
 * once, at the machine's first reset, depth first from the root bus (0
 * when served), a bus's bridges the most recently created first, as QEMU
 * numbers them; UP/DOWN are kept per selector.
 */
#ifndef HW_ACPI_PCIHP_H
#define HW_ACPI_PCIHP_H
#include "hw/qdev.h"
#include "system/memory.h"

#define ACPI_PCIHP_ADDR         0xae00  /* PIIX4 PM (pc) */
#define ACPI_PCIHP_ADDR_ICH9    0x0cc0  /* ICH9 LPC (q35), as QEMU 7.2 */
#define ACPI_PCIHP_SIZE         0x18
#define ACPI_PCIHP_UP           0x00
#define ACPI_PCIHP_DOWN         0x04
#define ACPI_PCIHP_EJ           0x08
#define ACPI_PCIHP_RMV          0x0c
#define ACPI_PCIHP_SEL          0x10
#define ACPI_PCIHP_AIDX         0x14
/* Selectors QEMU answers (and keeps UP/DOWN for). */
#define ACPI_PCIHP_MAX_HOTPLUG_BUS 256
/* GPE0 status bit QEMU uses for PCI hotplug (_E01). */
#define ACPI_PCI_HOTPLUG_STATUS 2

typedef struct PCIBus PCIBus;

/* One selector's slots (QEMU's AcpiPciHpPciStatus). */
typedef struct AcpiPciHpStatus {
    uint32_t up;                /* plugged since the last PCI_UP read */
    uint32_t down;              /* removal asked (device_del) */
} AcpiPciHpStatus;

typedef struct AcpiPciHpState {
    HotplugHandler hp;          /* what every served bus calls */
    PCIBus *root;
    uint16_t io_base;           /* ACPI_PCIHP_ADDR or ACPI_PCIHP_ADDR_ICH9 */
    bool take_root_ports;       /* serve PCIe ports' links and
                                   pcie-pci-bridges' buses too (q35) */
    bool root_hotplug;          /* acpi-root-pci-hotplug */
    bool bridge_hotplug;        /* acpi-pci-hotplug-with-bridge-support */
    bool bsel_assigned;         /* the first reset gave the selectors */
    unsigned nr_bsel;           /* selectors given */
    AcpiPciHpStatus status[ACPI_PCIHP_MAX_HOTPLUG_BUS];   /* by BSEL */
    uint32_t hotplug_select;
    uint32_t acpi_index;
    MemoryRegion io;
    bool ready;
    /* Raise the GPE status bit and update the SCI. */
    void (*send_event)(void *opaque, unsigned gpe_sts_mask);
    void *opaque;
} AcpiPciHpState;

/*
 * Map the block at @io_base; with @root_hotplug become @root's hotplug
 * handler at once.  The bridges' buses (@bridge_hotplug) and the
 * selectors follow at the first acpi_pcihp_reset(), when every
 * cold-plugged device exists; with @take_root_ports (q35, as QEMU 7.2's
 * ICH9) the links of cold-plugged PCIe root ports, and of the switch
 * downstream ports below them, are served too, instead of the ports'
 * native hotplug (pcie_slot_hand_to_acpi()), and the buses of cold-plugged
 * pcie-pci-bridges (no SHPC in kvmpc).
 */
void acpi_pcihp_init(AcpiPciHpState *s, PCIBus *root, uint16_t io_base,
                     bool root_hotplug, bool bridge_hotplug,
                     bool take_root_ports,
                     void (*send_event)(void *opaque, unsigned mask),
                     void *opaque);
void acpi_pcihp_uninit(AcpiPciHpState *s);
/*
 * At reset: the first gives the selectors (QEMU's acpi_set_pci_info);
 * every one completes the pending removals (QEMU's acpi_pcihp_reset).
 */
void acpi_pcihp_reset(AcpiPciHpState *s);

/* The machine's initialised block, or NULL (the DSDT's source). */
const AcpiPciHpState *acpi_pcihp_current(void);

/* One selector's UP/DOWN (piix4_pm carries the array). */
extern const VMStateDescription vmstate_acpi_pcihp_status;

#endif
