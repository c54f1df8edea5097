/*
 * ACPI PCI hotplug: the register block at 0xae00 on pc (PIIX4 PM) or
 * 0x0cc0 on q35 (ICH9 LPC) (QEMU's acpi-pcihp) that the DSDT uses to
 * learn which slots changed and to eject a slot, and the hotplug handler
 * behind device_add and device_del of every bus it serves: pci.0 and the
 * buses behind cold-plugged pci-bridges; on q35 the links of cold-plugged
 * PCIe ports and pcie-pci-bridges' buses too.  Register list in
 * include/hw/acpi/pcihp.h.
 *
 * Spec: ACPI 6.4, 6.3.3 (_EJx), 5.6.6 (Notify: 1 device check, 3 eject
 * request), 5.6.4 (GPE, _Exx); the register block is QEMU's own
 * interface (docs/specs/acpi_pci_hotplug.txt there), followed as QEMU
 * 7.2 has it: PCI_UP clears when read, except in QEMU's "legacy PIIX"
 * mode, which acpi-pci-hotplug-with-bridge-support=off selects: there
 * PCI_UP keeps its bits and PCI_SEL stays 0 whatever is written.
 * PCI_AIDX: a write of a slot bit latches the acpi-index of the device in
 * that slot of the selected bus, the next read returns it and clears it,
 * any other write clears it too (QEMU 7.2; the DSDT's AIDX method, which
 * PDSM calls for _DSM function 7 of the PCI Firmware spec 3.3, 4.6.7).
 *
 * Buses: each served bus has a bus selector (BSEL, pci_bus_acpi_bsel());
 * the guest writes it to PCI_SEL (BNUM) before it reads PCI_UP/PCI_DOWN/
 * PCI_RMV or writes PCI_EJ, and the registers then speak of that bus.
 * The selectors are given once, at the first reset, when every cold-
 * plugged bridge exists (QEMU's acpi_set_pci_info): depth first from
 * pci.0, each bus's bridges the most recently created first, pci.0 first
 * when it is served.  A bridge's bus is served when the bridge was cold-
 * plugged onto pci.0 or onto a served bus, bridge support is on, and the
 * bus has no controller of its own (QEMU gives the ACPI handler to such a
 * bridge's bus as it is plugged).  A hot-plugged bridge's bus has none:
 * device_add there fails (QEMU: "Bus 'X' does not support hotplugging").
 *
 * Flow: device_add realizes the function, plug() sets its slot in UP of
 * its bus's selector and raises GPE0 bit 1; the guest's _E01 walks the
 * buses (PCNT: select, read UP/DOWN, notify the slot objects).  device_del
 * sets the slot in DOWN (the device stays); the guest's _EJ0 selects the
 * bus and writes the slot to B0EJ, and only then the functions of that
 * slot are unrealized and DEVICE_DELETED is sent.  A guest may eject any
 * slot whose functions can be hot-removed without being asked (an OS
 * "safely remove"), as QEMU lets it; built-in bridges and chipset
 * functions are never ejected.  A reset completes pending removals.
 */
#include "qemu/osdep.h"
#include "hw/acpi/pcihp.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bridge.h"

/* The machine's block (PIIX4 PM or ICH9 LPC), for the DSDT. */
static AcpiPciHpState *pcihp_current;

const AcpiPciHpState *acpi_pcihp_current(void)
{
    return pcihp_current;
}

static AcpiPciHpState *pcihp_of(HotplugHandler *h)
{
    return h->opaque;
}

typedef struct PcihpFind {
    unsigned bsel;
    PCIBus *bus;
} PcihpFind;

static void pcihp_find_child(PCIBus *bus, void *opaque)
{
    PcihpFind *f = opaque;

    if (f->bus) {
        return;
    }
    if (pci_bus_acpi_bsel(bus) == (int)f->bsel) {
        f->bus = bus;
        return;
    }
    pci_for_each_child_bus(bus, pcihp_find_child, f);
}

/* The served bus with selector @bsel, or NULL. */
static PCIBus *acpi_pcihp_find_bus(AcpiPciHpState *s, unsigned bsel)
{
    PcihpFind f = { .bsel = bsel };

    if (!s->root || bsel >= ACPI_PCIHP_MAX_HOTPLUG_BUS) {
        return NULL;
    }
    pcihp_find_child(s->root, &f);
    return f.bus;
}

/* Slots of @bus whose devices may be hot-removed (PCI_RMV); a selector
 * without a bus reads all-ones, as QEMU's reset leaves it. */
static uint32_t pcihp_hotplug_enable(PCIBus *bus)
{
    uint32_t en = ~0u;

    for (unsigned devfn = 0; bus && devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = pci_find_device(bus, devfn);
        if (d && pci_device_no_hotplug(d)) {
            en &= ~(1u << PCI_SLOT(devfn));
        }
    }
    return en;
}

/* _EJ0: remove every removable function of the lowest slot in @slots on
 * the bus of selector @bsel. */
static void pcihp_eject_slot(AcpiPciHpState *s, unsigned bsel,
                             uint32_t slots)
{
    PCIBus *bus = acpi_pcihp_find_bus(s, bsel);
    unsigned slot;

    if (!slots || !bus) {
        return;
    }
    slot = __builtin_ctz(slots);
    s->status[bsel].down &= ~(1u << slot);
    s->status[bsel].up &= ~(1u << slot);
    for (unsigned fn = 0; fn < PCI_FUNC_MAX; fn++) {
        PCIDevice *d = pci_find_device(bus, PCI_DEVFN(slot, fn));
        if (d && !pci_device_no_hotplug(d)) {
            pci_device_unplug_tree(d);
        }
    }
}

/*
 * PCI_AIDX write (QEMU 7.2's): the lowest slot bit in @slots, on the bus
 * the selector names, latches that slot's acpi-index for the next read of
 * PCI_AIDX (the DSDT's AIDX method; its PDSM answers _DSM function 7).  No
 * bit, a selector without a bus or an empty slot latch 0.
 */
static uint32_t pcihp_slot_acpi_index(AcpiPciHpState *s, uint32_t slots)
{
    PCIBus *bus = acpi_pcihp_find_bus(s, s->hotplug_select);

    if (!slots || !bus) {
        return 0;
    }
    return pci_slot_acpi_index(bus, __builtin_ctz(slots));
}

/*
 * The registers are dwords: QEMU accepts only 4-byte accesses there
 * (valid sizes 4..4), so a byte or word read gives 0 and changes nothing
 * (it must not clear PCIU or the latched acpi-index), and such a write
 * is dropped.
 */
static uint64_t pcihp_read(void *opaque, uint64_t addr, unsigned size)
{
    AcpiPciHpState *s = opaque;
    unsigned bsel = s->hotplug_select;
    uint32_t val = 0;

    if (size != 4 || bsel >= ACPI_PCIHP_MAX_HOTPLUG_BUS) {
        return 0;
    }
    switch (addr) {
    case ACPI_PCIHP_UP:
        val = s->status[bsel].up;
        if (s->bridge_hotplug) {
            s->status[bsel].up = 0;
        }
        break;
    case ACPI_PCIHP_DOWN:
        val = s->status[bsel].down;
        break;
    case ACPI_PCIHP_RMV:
        val = pcihp_hotplug_enable(acpi_pcihp_find_bus(s, bsel));
        break;
    case ACPI_PCIHP_SEL:
        val = bsel;
        break;
    case ACPI_PCIHP_AIDX:
        val = s->acpi_index;
        s->acpi_index = 0;
        break;
    default:
        break;
    }
    return val;
}

static void pcihp_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    AcpiPciHpState *s = opaque;

    if (size != 4) {
        return;
    }
    s->acpi_index = 0;
    switch (addr) {
    case ACPI_PCIHP_EJ:
        pcihp_eject_slot(s, s->hotplug_select, val);
        break;
    case ACPI_PCIHP_SEL:
        /* QEMU's legacy PIIX mode (no bridge support): bus 0 only */
        s->hotplug_select = s->bridge_hotplug ? val : 0;
        break;
    case ACPI_PCIHP_AIDX:
        s->acpi_index = pcihp_slot_acpi_index(s, val);
        break;
    default:
        break;
    }
}

static const MemoryRegionOps pcihp_ops = {
    .read = pcihp_read,
    .write = pcihp_write,
    .min_access_size = 1,       /* narrower ones reach us, to be refused */
    .max_access_size = 4,
};

/* ---- the hotplug handler of the served buses ------------------------- */

/* QEMU's acpi_pcihp_device_pre_plug_cb / unplug_request_cb refusal: a
 * bus this handler serves before it has a selector (not reachable from
 * the monitor: selectors exist before device_add is allowed). */
static int pcihp_bsel_of(PCIDevice *d, GError **errp)
{
    int bsel = pci_bus_acpi_bsel(pci_get_bus(d));

    if (bsel < 0 || bsel >= ACPI_PCIHP_MAX_HOTPLUG_BUS) {
        error_setg(errp, "Unsupported bus. Bus doesn't have property "
                   "'acpi-pcihp-bsel' set");
        return -1;
    }
    return bsel;
}

static bool pcihp_plug(HotplugHandler *h, DeviceState *dev, GError **errp)
{
    AcpiPciHpState *s = pcihp_of(h);
    PCIDevice *d = PCI_DEVICE(dev);
    int bsel;

    if (!dev->hotplugged) {
        return true;
    }
    bsel = pcihp_bsel_of(d, errp);
    if (bsel < 0) {
        return false;
    }
    /* Function 0 makes the slot visible (a multifunction device is added
     * functions first, function 0 last). */
    if (PCI_FUNC(d->devfn) == 0) {
        pcie_slot_acpi_plugged(pci_get_bus(d));
        s->status[bsel].up |= 1u << PCI_SLOT(d->devfn);
        s->send_event(s->opaque, ACPI_PCI_HOTPLUG_STATUS);
    }
    return true;
}

static bool pcihp_unplug_request(HotplugHandler *h, DeviceState *dev,
                                 GError **errp)
{
    AcpiPciHpState *s = pcihp_of(h);
    PCIDevice *d = PCI_DEVICE(dev);
    int bsel = pcihp_bsel_of(d, errp);

    if (bsel < 0) {
        return false;
    }
    dev->pending_deletion_event = true;
    s->status[bsel].down |= 1u << PCI_SLOT(d->devfn);
    s->send_event(s->opaque, ACPI_PCI_HOTPLUG_STATUS);
    return true;
}

/* ---- bus selectors ---------------------------------------------------- */

static void pcihp_serve(AcpiPciHpState *s, PCIBus *bus)
{
    pci_bus_set_hotplug_handler(bus, &s->hp);
    pci_bus_set_acpi_bsel(bus, s->nr_bsel++);
}

/*
 * A bus behind a bridge on a bus that is served (or on pci.0, where QEMU's
 * handler sits while cold-plugged devices arrive even with
 * acpi-root-pci-hotplug=off): served when the bridge was cold-plugged and
 * its bus has no controller of its own; then the same for its bridges.
 */
static void pcihp_claim_child(PCIBus *bus, void *opaque)
{
    AcpiPciHpState *s = opaque;
    PCIDevice *bridge = pci_bus_bridge(bus);

    if (!s->bridge_hotplug || !bridge || DEVICE(bridge)->hotplugged ||
        s->nr_bsel >= ACPI_PCIHP_MAX_HOTPLUG_BUS) {
        return;
    }
    /* A PCIe port's link and a pcie-pci-bridge's bus are taken over on
     * q35 (QEMU 7.2's ICH9); else a bus with its own controller keeps it. */
    if (pci_bus_hotplug_handler(bus) &&
        !(s->take_root_ports && (pcie_slot_hand_to_acpi(bus) ||
                                 pcie_pci_bridge_hand_to_acpi(bus)))) {
        return;
    }
    pcihp_serve(s, bus);
    pci_for_each_child_bus(bus, pcihp_claim_child, s);
}

static void pcihp_assign_bsel(AcpiPciHpState *s)
{
    s->bsel_assigned = true;
    s->nr_bsel = 0;
    if (s->root_hotplug) {
        pcihp_serve(s, s->root);
    }
    pci_for_each_child_bus(s->root, pcihp_claim_child, s);
}

void acpi_pcihp_init(AcpiPciHpState *s, PCIBus *root, uint16_t io_base,
                     bool root_hotplug, bool bridge_hotplug,
                     bool take_root_ports,
                     void (*send_event)(void *opaque, unsigned mask),
                     void *opaque)
{
    s->root = root;
    s->io_base = io_base;
    s->take_root_ports = take_root_ports;
    s->root_hotplug = root_hotplug;
    s->bridge_hotplug = bridge_hotplug;
    s->bsel_assigned = false;
    s->nr_bsel = 0;
    s->send_event = send_event;
    s->opaque = opaque;
    s->hp = (HotplugHandler){
        .opaque = s,
        .plug = pcihp_plug,
        .unplug_request = pcihp_unplug_request,
    };
    memory_region_init_io(&s->io, &pcihp_ops, s, "acpi-pci-hotplug",
                          ACPI_PCIHP_SIZE);
    memory_region_add_subregion(get_system_io(), io_base, &s->io);
    if (root_hotplug) {
        pci_bus_set_hotplug_handler(root, &s->hp);
    }
    s->ready = true;
    pcihp_current = s;
}

static void pcihp_release_child(PCIBus *bus, void *opaque)
{
    AcpiPciHpState *s = opaque;

    if (pci_bus_hotplug_handler(bus) == &s->hp) {
        pci_bus_set_hotplug_handler(bus, NULL);
        pci_bus_set_acpi_bsel(bus, -1);
    }
    pci_for_each_child_bus(bus, pcihp_release_child, s);
}

void acpi_pcihp_uninit(AcpiPciHpState *s)
{
    if (!s->ready) {
        return;
    }
    if (s->root) {
        pcihp_release_child(s->root, s);
    }
    memory_region_destroy(&s->io);
    s->ready = false;
    if (pcihp_current == s) {
        pcihp_current = NULL;
    }
}

void acpi_pcihp_reset(AcpiPciHpState *s)
{
    if (!s->bsel_assigned && s->root) {
        pcihp_assign_bsel(s);
    }
    /* Each eject clears its slot's bit: the loops end. */
    for (unsigned bsel = 0; bsel < ACPI_PCIHP_MAX_HOTPLUG_BUS; bsel++) {
        while (s->status[bsel].down) {
            uint32_t down = s->status[bsel].down;
            pcihp_eject_slot(s, bsel, down);
            if (s->status[bsel].down == down) {
                s->status[bsel].down = 0;   /* no bus behind it */
            }
        }
    }
    s->acpi_index = 0;
}

const VMStateDescription vmstate_acpi_pcihp_status = {
    .name = "acpi_pcihp_pci_status",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(up, AcpiPciHpStatus),
        VMSTATE_UINT32(down, AcpiPciHpStatus),
        VMSTATE_END_OF_LIST()
    },
};
