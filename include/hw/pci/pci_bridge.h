/*
 * PCI-to-PCI bridges (header type 1): the common part of pci-bridge,
 * pcie-root-port / ioh3420, the xio3130 switch ports and pcie-pci-bridge
 * (hw/pci/pci_bridge.c), and the PCI Express capability helpers and the
 * common part of the ports with a hot-plug slot (hw/pci/pcie.c).
 *
 * Spec: PCI-to-PCI Bridge Architecture Specification 1.2, chapter 3
 * (type 1 header: bus numbers 3.2.5.3, I/O base/limit 3.2.5.6, memory
 * base/limit 3.2.5.8, prefetchable 3.2.5.9, bridge control 3.2.5.18);
 * PCI Express Base Specification 4.0, 7.5.3 (PCI Express capability),
 * 7.8.4 (Advanced Error Reporting).
 *
 * A bridge owns its secondary bus and two containers, the bus's memory and
 * I/O spaces (where BARs behind it are mapped).  Aliases of the windows
 * the guest programs (I/O, memory, prefetchable memory) are placed in the
 * parent bus's spaces while the bridge's command register enables them,
 * as QEMU's pci_bridge_update_mappings.  The bridge's four INTx pins carry
 * its secondary bus's lines, swizzled: (pin + slot) mod 4.
 */
#ifndef HW_PCI_PCI_BRIDGE_H
#define HW_PCI_PCI_BRIDGE_H
#include "hw/pci/pci.h"

typedef struct PCIBridge {
    PCIDevice parent;
    PCIBus *sec_bus;
    MemoryRegion sec_mem;       /* the secondary bus's memory space */
    MemoryRegion sec_io;        /* its I/O space */
    MemoryRegion win_io, win_mem, win_pref;  /* aliases in the parent bus */
    bool win_io_on, win_mem_on, win_pref_on;
    bool ready;
} PCIBridge;

/*
 * From the leaf realize: the type 1 registers and their write masks, the
 * secondary bus (named after the device's id, else "pci.N"), its spaces.
 * @only_slot0: a PCI Express downstream port (one link, device 0).
 */
bool pci_bridge_init(PCIBridge *br, bool only_slot0, GError **errp);
void pci_bridge_uninit(PCIBridge *br);
/* The config_write hook of a bridge (or called first by its own hook). */
void pci_bridge_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len);
/* From the leaf reset: bus numbers, windows and bridge control to 0. */
void pci_bridge_reset(PCIBridge *br);
/* After a state load: map the windows the loaded registers say. */
void pci_bridge_update_windows(PCIBridge *br);
/* Where a window decodes now: false when closed (for tests, info). */
bool pci_bridge_window(PCIBridge *br, unsigned which, uint64_t *base,
                       uint64_t *limit);
#define PCI_BRIDGE_WIN_IO   0
#define PCI_BRIDGE_WIN_MEM  1
#define PCI_BRIDGE_WIN_PREF 2
/*
 * The Subsystem ID and Subsystem Vendor ID capability of a bridge (ID 0Dh,
 * 8 bytes: PCI-to-PCI Bridge spec 1.2, 3.2.5.13 / PCI 3.0 appendix H), at
 * @offset, read-only.
 */
bool pci_bridge_ssvid_init(PCIDevice *d, uint8_t offset, uint16_t svid,
                           uint16_t ssid, GError **errp);

/* ---- PCI Express capability (hw/pci/pcie.c) ------------------------- */

/*
 * Add the version 2 PCI Express capability at @offset for a function of
 * @type (PCI_EXP_TYPE_*); @port is the link's port number.  Write masks
 * and write-1-to-clear bits as the spec says; a x1 link at 2.5 GT/s.
 */
bool pcie_cap_init(PCIDevice *d, uint8_t offset, uint8_t type, uint8_t port,
                   GError **errp);
uint8_t pcie_cap_offset(PCIDevice *d);
/* The Device/Port Type of @d's PCI Express capability, -1 when it has none. */
int pcie_cap_type(PCIDevice *d);

/*
 * What a bus is, for the PCI Express ports that must sit in the right
 * place: a conventional PCI bus (pc's pci.0, behind pci-bridge or
 * pcie-pci-bridge), a root complex's bus (q35's pcie.0), a link (behind a
 * root port or a switch downstream port: device 0 only), or a switch's
 * internal bus (behind a switch upstream port: its downstream ports).
 */
typedef enum PCIEBusKind {
    PCI_BUS_CONVENTIONAL,
    PCIE_BUS_ROOT_COMPLEX,
    PCIE_BUS_LINK,
    PCIE_BUS_SWITCH,
} PCIEBusKind;
PCIEBusKind pcie_bus_kind(PCIBus *bus);
/*
 * The version 1 capability (0x14 bytes: capabilities, device and link
 * registers) of an endpoint, which fits below 0x100 where a device puts
 * it late in conventional space (e1000e at 0xe0, as QEMU).
 */
bool pcie_endpoint_cap_v1_init(PCIDevice *d, uint8_t offset, GError **errp);
/*
 * The version 2 capability of an endpoint on a link, as QEMU 7.2's
 * virtio-pci has it there (its x-pcie-* defaults: error reporting
 * enables, link control bits, FLR): makes @d a PCI Express function
 * (config_size 4 KiB) from its leaf realize, for a device that is one
 * only where it sits (virtio-pci).  pcie_endpoint_cap_reset() clears
 * what its reset clears; pcie_cap_flr_write_config(), after the default
 * config write, resets the function when Initiate FLR was written.
 */
bool pcie_endpoint_cap_init(PCIDevice *d, uint8_t offset, GError **errp);
void pcie_endpoint_cap_reset(PCIDevice *d);
void pcie_cap_flr_write_config(PCIDevice *d, uint32_t addr, unsigned len);
/*
 * A downstream port's slot (root port, switch downstream port; the ports
 * use pcie_slot_init() below): slot number @slot for the slot
 * capabilities, the hot-plug controls (attention button, power
 * controller, indicators, presence detect, command completed) as
 * registers.  The slot's state is reset by pcie_cap_slot_reset().
 */
void pcie_cap_slot_init(PCIDevice *d, uint16_t slot);
void pcie_cap_slot_reset(PCIDevice *d, bool present);
/* Set slot status event bits and interrupt if that is news. */
void pcie_cap_slot_event(PCIDevice *d, uint16_t events);
/* Whether a hot-plug event is pending and enabled (slot status &
 * control), the level of the port's hot-plug interrupt. */
bool pcie_cap_slot_irq_pending(PCIDevice *d);

/* ---- downstream ports with a hot-plug slot (hw/pci/pcie.c) ------------ */

/*
 * The common part of pcie-root-port, ioh3420 and xio3130-downstream (QEMU's
 * PCIESlot): a bridge whose secondary bus is a link with a hot-plug slot.
 * A leaf's instance struct embeds it first; pcie_slot_props are its
 * chassis=, slot= and port= properties.
 */
typedef struct PCIESlot {
    PCIBridge parent;
    uint8_t chassis;
    uint16_t slot;              /* Physical Slot Number */
    uint8_t port;               /* Port Number in the link capabilities */
    HotplugHandler hp;          /* native hotplug on the secondary bus */
    bool acpi_hotplug;          /* ACPI PCI hotplug took the link */
} PCIESlot;

extern const Property pcie_slot_props[];
/*
 * From the leaf realize, after pcie_cap_init(): the slot capabilities
 * (pcie_cap_slot_init with slot=) and the port becomes the hotplug
 * handler of its link (docs/hotplug.md).
 */
void pcie_slot_init(PCIESlot *s);
/*
 * The config_write hook of such a port: the bridge registers, then the
 * slot's: Command Completed after a Slot Control write, the interlock
 * toggle, the unplug of what sits behind when the guest powers a
 * populated slot off, and the hot-plug interrupt (INTx level, or MSI/MSI-X
 * vector 0 on a new event).
 */
void pcie_slot_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                            unsigned len);
/* From the leaf reset: the bridge registers, and the slot's state with
 * presence as the secondary bus says. */
void pcie_slot_reset(PCIESlot *s);
/*
 * If @sec is a port's link (root or switch downstream port) with the
 * port's native hotplug handler, mark the port as served by ACPI PCI
 * hotplug (no presence or link
 * activity reported, as QEMU 7.2) and return true; the caller then
 * becomes the bus's hotplug handler.
 */
bool pcie_slot_hand_to_acpi(PCIBus *sec);
/* If @sec is a pcie-pci-bridge's bus (no SHPC), true: ACPI PCI hotplug
 * may serve it instead (hw/pci-bridge/pcie-pci-bridge.c). */
bool pcie_pci_bridge_hand_to_acpi(PCIBus *sec);
/* After ACPI PCI hotplug added a device on @sec: a port handed to ACPI
 * powers its slot on (QEMU 7.2); other buses: nothing. */
void pcie_slot_acpi_plugged(PCIBus *sec);

/* An extended capability header at @offset (>= 0x100), linked last. */
bool pcie_add_ext_capability(PCIDevice *d, uint16_t id, uint8_t version,
                             uint16_t offset, uint16_t size, GError **errp);
/* AER (7.8.4), reporting only: masks and severities writable, status
 * write-1-to-clear; nothing raises errors. */
bool pcie_aer_init(PCIDevice *d, uint16_t offset, bool root_port,
                   GError **errp);
void pcie_aer_reset(PCIDevice *d, uint16_t offset);

#endif
