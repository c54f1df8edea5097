/*
 * ACPI PCI hotplug: the register block at 0xae00 (QEMU's acpi-pcihp)
 * that the pc machine's DSDT uses to learn which slots changed and to
 * eject a slot, and the hotplug handler of pci.0 behind device_add and
 * device_del.  Register list in include/hw/acpi/pcihp.h.
 *
 * Spec: ACPI 6.4, 6.3.3 (_EJx), 5.6.6 (Notify: 1 device check, 3 eject
 * request), 5.6.4 (GPE, _Exx); the register block is QEMU's own
 * interface (docs/specs/acpi_pci_hotplug.txt there), followed as QEMU
 * 7.2 has it with a non-legacy machine: PCI_UP clears when read.
 *
 * Flow: device_add realizes the function, plug() sets its slot in UP and
 * raises GPE0 bit 1; the guest's _E01 reads UP/DOWN and notifies the
 * slot objects.  device_del sets the slot in DOWN (the device stays); the
 * guest's _EJ0 writes the slot to B0EJ, and only then the functions of
 * that slot are unrealized and DEVICE_DELETED is sent.  A guest may eject
 * any slot whose functions can be hot-removed without being asked (an
 * OS "safely remove"), as QEMU lets it; built-in bridges and chipset
 * functions are never ejected.  A reset completes pending removals.
 */
#include "qemu/osdep.h"
#include "hw/acpi/pcihp.h"
#include "hw/pci/pci.h"

#define PCIHP_BUS0      0
#define ACPI_PCIHP_MAX_BUS  256     /* selectors QEMU answers */

static AcpiPciHpState *pcihp_of(HotplugHandler *h)
{
    return h->opaque;
}

/* Slots of bus 0 whose devices may be hot-removed (PCI_RMV). */
static uint32_t pcihp_hotplug_enable(AcpiPciHpState *s)
{
    uint32_t en = ~0u;

    for (unsigned devfn = 0; s->root && devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = pci_find_device(s->root, devfn);
        if (d && pci_device_no_hotplug(d)) {
            en &= ~(1u << PCI_SLOT(devfn));
        }
    }
    return en;
}

/* _EJ0: remove every removable function of the lowest slot in @slots. */
static void pcihp_eject_slot(AcpiPciHpState *s, uint32_t slots)
{
    unsigned slot;

    if (!slots || !s->root) {
        return;
    }
    slot = __builtin_ctz(slots);
    s->down &= ~(1u << slot);
    s->up &= ~(1u << slot);
    for (unsigned fn = 0; fn < PCI_FUNC_MAX; fn++) {
        PCIDevice *d = pci_find_device(s->root, PCI_DEVFN(slot, fn));
        if (d && !pci_device_no_hotplug(d)) {
            pci_device_unplug_tree(d);
        }
    }
}

static uint64_t pcihp_read(void *opaque, uint64_t addr, unsigned size)
{
    AcpiPciHpState *s = opaque;
    uint32_t val = 0;

    if (s->hotplug_select >= ACPI_PCIHP_MAX_BUS) {
        return 0;
    }
    if (s->hotplug_select != PCIHP_BUS0) {
        /* A selector with no bus behind it: nothing plugged or asked,
         * every slot "removable" (QEMU's reset fills all 256 masks). */
        return addr == ACPI_PCIHP_SEL ? s->hotplug_select
             : addr == ACPI_PCIHP_RMV ? UINT32_MAX : 0;
    }
    switch (addr) {
    case ACPI_PCIHP_UP:
        val = s->up;
        s->up = 0;
        break;
    case ACPI_PCIHP_DOWN:
        val = s->down;
        break;
    case ACPI_PCIHP_RMV:
        val = pcihp_hotplug_enable(s);
        break;
    case ACPI_PCIHP_SEL:
        val = s->hotplug_select;
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

    s->acpi_index = 0;
    switch (addr) {
    case ACPI_PCIHP_EJ:
        if (s->hotplug_select == PCIHP_BUS0) {
            pcihp_eject_slot(s, val);
        }
        break;
    case ACPI_PCIHP_SEL:
        s->hotplug_select = val;
        break;
    default:
        /* PCI_AIDX: no slot has an acpi-index, the read gives 0. */
        break;
    }
}

static const MemoryRegionOps pcihp_ops = {
    .read = pcihp_read,
    .write = pcihp_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

/* ---- the hotplug handler of pci.0 ------------------------------------ */

static bool pcihp_plug(HotplugHandler *h, DeviceState *dev, GError **errp)
{
    AcpiPciHpState *s = pcihp_of(h);
    PCIDevice *d = PCI_DEVICE(dev);

    if (!dev->hotplugged) {
        return true;
    }
    /* Function 0 makes the slot visible (a multifunction device is added
     * functions first, function 0 last). */
    if (PCI_FUNC(d->devfn) == 0) {
        s->up |= 1u << PCI_SLOT(d->devfn);
        s->send_event(s->opaque, ACPI_PCI_HOTPLUG_STATUS);
    }
    return true;
}

static bool pcihp_unplug_request(HotplugHandler *h, DeviceState *dev,
                                 GError **errp)
{
    AcpiPciHpState *s = pcihp_of(h);
    PCIDevice *d = PCI_DEVICE(dev);

    dev->pending_deletion_event = true;
    s->down |= 1u << PCI_SLOT(d->devfn);
    s->send_event(s->opaque, ACPI_PCI_HOTPLUG_STATUS);
    return true;
}

void acpi_pcihp_init(AcpiPciHpState *s, PCIBus *root,
                     void (*send_event)(void *opaque, unsigned mask),
                     void *opaque)
{
    s->root = root;
    s->send_event = send_event;
    s->opaque = opaque;
    s->hp = (HotplugHandler){
        .opaque = s,
        .plug = pcihp_plug,
        .unplug_request = pcihp_unplug_request,
    };
    memory_region_init_io(&s->io, &pcihp_ops, s, "acpi-pci-hotplug",
                          ACPI_PCIHP_SIZE);
    memory_region_add_subregion(get_system_io(), ACPI_PCIHP_ADDR, &s->io);
    pci_bus_set_hotplug_handler(root, &s->hp);
    s->ready = true;
}

void acpi_pcihp_uninit(AcpiPciHpState *s)
{
    if (!s->ready) {
        return;
    }
    if (pci_bus_hotplug_handler(s->root) == &s->hp) {
        pci_bus_set_hotplug_handler(s->root, NULL);
    }
    memory_region_destroy(&s->io);
    s->ready = false;
}

void acpi_pcihp_reset(AcpiPciHpState *s)
{
    /* Each eject clears its slot's bit: the loop ends. */
    while (s->down) {
        pcihp_eject_slot(s, s->down);
    }
    s->acpi_index = 0;
}

const VMStateDescription vmstate_acpi_pcihp = {
    .name = "acpi_pcihp",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(up, AcpiPciHpState),
        VMSTATE_UINT32(down, AcpiPciHpState),
        VMSTATE_UINT32(hotplug_select, AcpiPciHpState),
        VMSTATE_UINT32(acpi_index, AcpiPciHpState),
        VMSTATE_END_OF_LIST()
    },
};
