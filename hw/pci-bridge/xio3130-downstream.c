/*
 * "xio3130-downstream" (104c:8233 rev 01): a downstream port of a Texas
 * Instruments XIO3130 PCI Express switch, as QEMU models it (QEMU's type
 * name and IDs, which guests and management tools know it by).
 *
 * Spec: TI XIO3130 Integrated PCI Express Switch data manual (vendor
 * 104Ch, device 8233h for each downstream port's function); PCI Express
 * Base Specification 4.0, 1.3.3 (switch topology), 7.5.3 (the PCI Express
 * capability of a Switch Downstream Port, type 6, with the slot registers
 * 7.5.3.9-11), 6.7 (native hot-plug), 7.8.4 (AER); PCI-to-PCI Bridge spec
 * 1.2 for the type 1 header (hw/pci/pci_bridge.c).
 *
 * Layout as QEMU 7.2: MSI (one vector, 64-bit address, no per-vector
 * mask) at 70h, the Subsystem ID capability (0000:0000) at 80h, PCI
 * Express (Downstream Port, slot implemented, Data Link Layer Link Active
 * reporting) at 90h, AER at 100h; no interrupt pin, so the hot-plug
 * interrupt is MSI only (as on QEMU).  Properties chassis=, slot= (the
 * Physical Slot Number) and port=.  The port sits on an x3130-upstream's
 * bus (the switch's internal bus, any device number); its secondary bus
 * is a link: only device 0 (functions 0-7) may sit behind it.
 *
 * The slot and native hotplug are those of pcie-root-port (PCIESlot,
 * hw/pci/pcie.c): attention button, power controller, attention and power
 * indicators, electromechanical interlock, surprise and hot-plug capable
 * in the slot capabilities; Slot Control/Status registers; device_add
 * ...,bus=ID raises Presence Detect Changed, device_del presses the
 * attention button and the device goes when the guest powers the slot
 * off (docs/hotplug.md).  Function Level Reset, ARI forwarding, ACS and
 * error reporting (AER only keeps its registers) are not modelled.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/msi.h"

#define TYPE_XIO3130_DOWNSTREAM     "xio3130-downstream"
#define XIO3130_DN_REVISION         0x01
#define XIO3130_MSI_OFFSET          0x70
#define XIO3130_MSI_VECTORS         1
#define XIO3130_SSVID_OFFSET        0x80
#define XIO3130_EXP_OFFSET          0x90
#define XIO3130_AER_OFFSET          0x100

typedef struct XIO3130Downstream {
    PCIESlot parent;            /* chassis=, slot=, port=, the hotplug */
} XIO3130Downstream;

static bool xio3130_dn_realize(DeviceState *dev, GError **errp)
{
    XIO3130Downstream *s = (XIO3130Downstream *)dev;
    PCIESlot *slot = &s->parent;
    PCIDevice *d = &slot->parent.parent;
    PCIBus *bus = pci_get_bus(d);
    bool ok;

    if (pcie_bus_kind(bus) != PCIE_BUS_SWITCH) {
        error_setg(errp, "%s: a switch downstream port belongs on the bus "
                   "of a switch upstream port (x3130-upstream), not on "
                   "'%s'", dev->type->name, pci_bus_name(bus));
        return false;
    }
    if (!pci_bridge_init(&slot->parent, true, errp)) {
        return false;
    }
    ok = msi_init(d, XIO3130_MSI_OFFSET, XIO3130_MSI_VECTORS, true, false,
                  errp) &&
         pci_bridge_ssvid_init(d, XIO3130_SSVID_OFFSET, 0, 0, errp) &&
         pcie_cap_init(d, XIO3130_EXP_OFFSET, PCI_EXP_TYPE_DOWNSTREAM,
                       slot->port, errp);
    if (ok) {
        pcie_slot_init(slot);
    }
    ok = ok && pcie_aer_init(d, XIO3130_AER_OFFSET, false, errp);
    if (!ok) {
        pci_bridge_uninit(&slot->parent);
        return false;
    }
    return true;
}

static void xio3130_dn_unrealize(DeviceState *dev)
{
    XIO3130Downstream *s = (XIO3130Downstream *)dev;

    pci_bridge_uninit(&s->parent.parent);
}

static void xio3130_dn_reset(DeviceState *dev)
{
    XIO3130Downstream *s = (XIO3130Downstream *)dev;

    pcie_slot_reset(&s->parent);
    if (s->parent.parent.ready) {
        pcie_aer_reset(&s->parent.parent.parent, XIO3130_AER_OFFSET);
    }
}

static int xio3130_dn_post_load(void *opaque, int version_id)
{
    XIO3130Downstream *s = opaque;

    pci_bridge_update_windows(&s->parent.parent);
    return 0;
}

static const VMStateDescription vmstate_xio3130_dn = {
    .name = "xio3130-express-downstream-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = xio3130_dn_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass xio3130_dn_class = {
    .vendor_id = PCI_VENDOR_ID_TI,
    .device_id = PCI_DEVICE_ID_TI_XIO3130D,
    .revision = XIO3130_DN_REVISION,
    .class_id = PCI_CLASS_BRIDGE_PCI,
    .header_type = PCI_HEADER_TYPE_BRIDGE,
    .is_express = true,
    .config_write = pcie_slot_write_config,
};

static const DeviceType xio3130_dn_type = {
    .name = TYPE_XIO3130_DOWNSTREAM,
    .parent = TYPE_PCI_DEVICE,
    .desc = "TI X3130 Downstream Port of PCI Express Switch",
    .instance_size = sizeof(XIO3130Downstream),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = pcie_slot_props,
    .realize = xio3130_dn_realize,
    .unrealize = xio3130_dn_unrealize,
    .reset = xio3130_dn_reset,
    .vmsd = &vmstate_xio3130_dn,
    .class_data = &xio3130_dn_class,
};

static void xio3130_dn_register_types(void)
{
    device_type_register(&xio3130_dn_type);
}
type_init(xio3130_dn_register_types)
