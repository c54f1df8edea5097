/*
 * "pcie-pci-bridge" (1b36:000e): QEMU's generic PCI Express to PCI bridge
 * (QEMU's type name and its documented device ID, docs/specs/pci-ids),
 * the way to conventional PCI slots on a q35 machine: plugged into a root
 * port (or a switch downstream port), its secondary bus is a conventional
 * PCI bus with 32 slots (bus=ID).
 *
 * Spec: PCI Express to PCI/PCI-X Bridge Specification 1.0 (the bridge's
 * primary side is PCI Express, its secondary side PCI); PCI Express Base
 * Specification 4.0, 7.5.3 (the PCI Express capability of a PCI
 * Express to PCI/PCI-X Bridge, type 7), 7.8.4 (AER); PCI Bus Power
 * Management Interface 1.2 (the PM capability); PCI-to-PCI Bridge spec
 * 1.2 for the type 1 header (hw/pci/pci_bridge.c).
 *
 * Layout: PCI Express at 48h, Power Management (version 3, D0 only) at
 * 84h, AER at 100h, INTA# as the interrupt pin: QEMU 7.2's offsets, less
 * what belongs to its Standard Hot-Plug Controller (the SHPC capability
 * at 40h, its 64-bit BAR0, MSI at 8Ch for its interrupt).
 *
 * SHPC is not modelled: shpc=on is refused (QEMU's bridge always has
 * one), msi=on too (MSI only carries the SHPC's interrupt; msi=off and
 * msi=auto give no MSI capability), and the secondary bus takes no
 * hotplug: device_add onto it and device_del of a device behind it fail
 * with "Bus 'ID' does not support hotplugging" and the reason, rather
 * than a slot the guest could never see (docs/hotplug.md), unless q35's
 * ACPI PCI hotplug (its default, as QEMU 7.2) serves a cold-plugged
 * bridge's bus instead: then the ICH9's block and the DSDT do it.  Devices behind it get
 * their INTx swizzled onto the bridge's pins ((pin + slot) mod 4).
 *
 * Placement: on a PCI Express bus (pcie.0, a root port's or a switch
 * downstream port's link); a conventional PCI bus (pc's pci.0, behind
 * pci-bridge) and a switch's internal bus are refused.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"

#define TYPE_PCIE_PCI_BRIDGE        "pcie-pci-bridge"
#define PCIE_PCI_BRIDGE_EXP_OFFSET  0x48
#define PCIE_PCI_BRIDGE_PM_OFFSET   0x84
#define PCIE_PCI_BRIDGE_AER_OFFSET  0x100

typedef struct PCIEPCIBridge {
    PCIBridge parent;
    bool shpc;
    char *msi;                  /* on, off or auto (QEMU's OnOffAuto) */
    HotplugHandler hp;          /* refuses: there is no SHPC */
} PCIEPCIBridge;

static bool ppb_refuse(PCIEPCIBridge *s, GError **errp)
{
    error_setg(errp, "Bus '%s' does not support hotplugging: kvmpc's "
               "pcie-pci-bridge has no standard hot-plug controller "
               "(SHPC); hot-plug into a PCI Express root port or switch "
               "downstream port instead", pci_bus_name(s->parent.sec_bus));
    return false;
}

static bool ppb_plug(HotplugHandler *h, DeviceState *dev, GError **errp)
{
    return ppb_refuse(h->opaque, errp);
}

static bool ppb_unplug_request(HotplugHandler *h, DeviceState *dev,
                               GError **errp)
{
    return ppb_refuse(h->opaque, errp);
}

/*
 * q35's ACPI PCI hotplug serves a cold-plugged pcie-pci-bridge's bus in
 * place of the missing SHPC, as QEMU 7.2's ICH9 takes it from the SHPC:
 * true if @sec is such a bus (its refusing handler is then replaced).
 */
bool pcie_pci_bridge_hand_to_acpi(PCIBus *sec)
{
    HotplugHandler *h = pci_bus_hotplug_handler(sec);

    return h && h->plug == ppb_plug;
}

static bool ppb_check_props(PCIEPCIBridge *s, GError **errp)
{
    if (s->shpc) {
        error_setg(errp, "pcie-pci-bridge: shpc=on is not supported: kvmpc "
                   "does not model the standard hot-plug controller (SHPC), "
                   "so there is no hotplug behind this bridge; leave shpc "
                   "off");
        return false;
    }
    if (!s->msi || !strcmp(s->msi, "off") || !strcmp(s->msi, "auto")) {
        return true;
    }
    if (!strcmp(s->msi, "on")) {
        error_setg(errp, "pcie-pci-bridge: msi=on is not supported: MSI "
                   "carries the SHPC's interrupt, and kvmpc has no SHPC; "
                   "use msi=off or msi=auto");
    } else {
        error_setg(errp, "Property 'pcie-pci-bridge.msi' doesn't take value "
                   "'%s'", s->msi);
    }
    return false;
}

static bool ppb_realize(DeviceState *dev, GError **errp)
{
    PCIEPCIBridge *s = (PCIEPCIBridge *)dev;
    PCIDevice *d = &s->parent.parent;
    PCIBus *bus = pci_get_bus(d);
    PCIEBusKind kind = pcie_bus_kind(bus);
    uint8_t pm;

    if (!ppb_check_props(s, errp)) {
        return false;
    }
    if (kind != PCIE_BUS_LINK && kind != PCIE_BUS_ROOT_COMPLEX) {
        error_setg(errp, "%s: a PCI Express to PCI bridge belongs on a PCI "
                   "Express bus (behind pcie-root-port, ioh3420 or "
                   "xio3130-downstream, or pcie.0), not on %s bus "
                   "'%s'%s",
                   dev->type->name,
                   kind == PCIE_BUS_SWITCH ? "the switch-internal"
                                           : "the conventional PCI",
                   pci_bus_name(bus),
                   kind == PCI_BUS_CONVENTIONAL ? " (use pci-bridge there)"
                                                : "");
        return false;
    }
    if (!pci_bridge_init(&s->parent, false, errp)) {
        return false;
    }
    if (!pcie_cap_init(d, PCIE_PCI_BRIDGE_EXP_OFFSET, PCI_EXP_TYPE_PCI_BRIDGE,
                       0, errp) ||
        !(pm = pci_add_capability(d, PCI_CAP_ID_PM, PCIE_PCI_BRIDGE_PM_OFFSET,
                                  PCI_PM_SIZEOF, errp)) ||
        !pcie_aer_init(d, PCIE_PCI_BRIDGE_AER_OFFSET, false, errp)) {
        pci_bridge_uninit(&s->parent);
        return false;
    }
    /* PM 1.2, D0 only: the control/status register stays 0 (QEMU 7.2). */
    pci_set_word(d->config + pm + PCI_PM_PMC, PCI_PM_CAP_VER_1_2);
    s->hp = (HotplugHandler){
        .opaque = s,
        .plug = ppb_plug,
        .unplug_request = ppb_unplug_request,
    };
    pci_bus_set_hotplug_handler(s->parent.sec_bus, &s->hp);
    return true;
}

static void ppb_unrealize(DeviceState *dev)
{
    PCIEPCIBridge *s = (PCIEPCIBridge *)dev;

    pci_bridge_uninit(&s->parent);
}

static void ppb_reset(DeviceState *dev)
{
    PCIEPCIBridge *s = (PCIEPCIBridge *)dev;

    pci_bridge_reset(&s->parent);
    if (s->parent.ready) {
        pcie_aer_reset(&s->parent.parent, PCIE_PCI_BRIDGE_AER_OFFSET);
    }
}

static int ppb_post_load(void *opaque, int version_id)
{
    PCIEPCIBridge *s = opaque;

    pci_bridge_update_windows(&s->parent);
    return 0;
}

static const VMStateDescription vmstate_ppb = {
    .name = "pcie-pci-bridge",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ppb_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const Property ppb_props[] = {
    DEFINE_PROP("shpc", PCIEPCIBridge, shpc, PROP_BOOL, "off",
                "standard hot-plug controller (only off: not modelled)"),
    DEFINE_PROP("msi", PCIEPCIBridge, msi, PROP_STRING, "auto",
                "on/off/auto (on is refused: MSI is the SHPC's interrupt)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass ppb_class = {
    .vendor_id = PCI_VENDOR_ID_REDHAT,
    .device_id = PCI_DEVICE_ID_REDHAT_PCIE_BRIDGE,
    .class_id = PCI_CLASS_BRIDGE_PCI,
    .header_type = PCI_HEADER_TYPE_BRIDGE,
    .is_express = true,
    .interrupt_pin = 1,
    .config_write = pci_bridge_write_config,
};

static const DeviceType ppb_type = {
    .name = TYPE_PCIE_PCI_BRIDGE,
    .parent = TYPE_PCI_DEVICE,
    .desc = "PCI Express to PCI bridge (no SHPC: no hotplug behind it)",
    .instance_size = sizeof(PCIEPCIBridge),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = ppb_props,
    .realize = ppb_realize,
    .unrealize = ppb_unrealize,
    .reset = ppb_reset,
    .vmsd = &vmstate_ppb,
    .class_data = &ppb_class,
};

static void ppb_register_types(void)
{
    device_type_register(&ppb_type);
}
type_init(ppb_register_types)
