/*
 * PCI-to-PCI bridges (header type 1): the common part of pci-bridge,
 * pcie-root-port / ioh3420 and pcie-pci-bridge (hw/pci/pci_bridge.c), and
 * the PCI Express capability helpers (hw/pci/pcie.c).
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

/* ---- PCI Express capability (hw/pci/pcie.c) ------------------------- */

/*
 * Add the version 2 PCI Express capability at @offset for a function of
 * @type (PCI_EXP_TYPE_*); @port is the link's port number.  Write masks
 * and write-1-to-clear bits as the spec says; a x1 link at 2.5 GT/s.
 */
bool pcie_cap_init(PCIDevice *d, uint8_t offset, uint8_t type, uint8_t port,
                   GError **errp);
uint8_t pcie_cap_offset(PCIDevice *d);
/*
 * The version 1 capability (0x14 bytes: capabilities, device and link
 * registers) of an endpoint, which fits below 0x100 where a device puts
 * it late in conventional space (e1000e at 0xe0, as QEMU).
 */
bool pcie_endpoint_cap_v1_init(PCIDevice *d, uint8_t offset, GError **errp);
/*
 * A downstream port's slot (root port): slot number @slot for the slot
 * capabilities, the hot-plug controls (attention button, power
 * controller, indicators, presence detect, command completed) as
 * registers.  The slot's state is reset by pcie_cap_slot_reset().
 */
void pcie_cap_slot_init(PCIDevice *d, uint16_t slot);
void pcie_cap_slot_reset(PCIDevice *d, bool present);
/*
 * From the config_write hook after the default write, with Slot Control
 * and Slot Status as they were before it (@was_pending:
 * pcie_cap_slot_irq_pending() before it): Command Completed, the
 * interlock toggle, the unplug of what sits on @sec when the guest powers
 * a populated slot off, and the hot-plug interrupt (INTx level, or
 * MSI/MSI-X vector 0 on a new event).
 */
void pcie_cap_slot_write_config(PCIDevice *d, PCIBus *sec,
                                uint16_t old_ctl, uint16_t old_sta,
                                bool was_pending, uint32_t addr,
                                uint32_t val, uint32_t len);
/* Set slot status event bits and interrupt if that is news. */
void pcie_cap_slot_event(PCIDevice *d, uint16_t events);
/*
 * Native hotplug (docs/hotplug.md), the port being the hotplug handler of
 * its link: plug sets Presence Detect State and the link up and raises
 * Presence Detect Changed (with the button bit, as QEMU); unplug_request
 * presses the attention button (or, for a dark slot, removes at once).
 */
bool pcie_cap_slot_plug(PCIDevice *d, DeviceState *dev, GError **errp);
bool pcie_cap_slot_unplug_request(PCIDevice *d, PCIBus *sec,
                                  DeviceState *dev, GError **errp);
/* Whether a hot-plug event is pending and enabled (slot status &
 * control), the level of the port's hot-plug interrupt. */
bool pcie_cap_slot_irq_pending(PCIDevice *d);
/* An extended capability header at @offset (>= 0x100), linked last. */
bool pcie_add_ext_capability(PCIDevice *d, uint16_t id, uint8_t version,
                             uint16_t offset, uint16_t size, GError **errp);
/* AER (7.8.4), reporting only: masks and severities writable, status
 * write-1-to-clear; nothing raises errors. */
bool pcie_aer_init(PCIDevice *d, uint16_t offset, bool root_port,
                   GError **errp);
void pcie_aer_reset(PCIDevice *d, uint16_t offset);

#endif
