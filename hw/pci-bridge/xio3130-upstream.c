/*
 * "x3130-upstream" (104c:8232 rev 02): the upstream port of a Texas
 * Instruments XIO3130 PCI Express switch, as QEMU models it (QEMU's type
 * name and IDs, which guests and management tools know it by).
 *
 * Spec: TI XIO3130 Integrated PCI Express Switch data manual (vendor
 * 104Ch, device 8232h for the upstream port's function, 8233h for the
 * downstream ports'); PCI Express Base Specification 4.0, 1.3.3 (a
 * switch: one upstream port, a logical internal bus, downstream ports on
 * it, each a PCI-to-PCI bridge), 7.5.3 (the PCI Express capability of a
 * Switch Upstream Port, type 5: no slot), 7.8.4 (AER); PCI-to-PCI Bridge
 * spec 1.2 for the type 1 header (hw/pci/pci_bridge.c).
 *
 * Layout as QEMU 7.2: MSI (one vector, 64-bit address, no per-vector
 * mask) at 70h, the Subsystem ID capability (0000:0000) at 80h, PCI
 * Express at 90h, AER at 100h; no interrupt pin.  Property port= (the
 * link's Port Number).  The secondary bus is the switch's internal bus:
 * its devices 0-31 are the xio3130-downstream ports (bus=ID).
 *
 * Placement: on a PCI Express link (behind pcie-root-port, ioh3420 or
 * xio3130-downstream, the topology of PCIe Base 1.3.3) or on the root
 * complex's bus (pcie.0, which QEMU accepts too).  A conventional PCI bus
 * and another switch's internal bus are refused.  The switch's internal
 * bus takes no hotplug ("Bus 'ID' does not support hotplugging", as
 * QEMU: downstream ports are not hot-added); what hotplugs is the device
 * behind a downstream port (docs/hotplug.md).  Function Level Reset, ARI
 * forwarding and error reporting (AER only keeps its registers) are not
 * modelled.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/msi.h"

#define TYPE_XIO3130_UPSTREAM       "x3130-upstream"
#define XIO3130_UP_REVISION         0x02
#define XIO3130_MSI_OFFSET          0x70
#define XIO3130_MSI_VECTORS         1
#define XIO3130_SSVID_OFFSET        0x80
#define XIO3130_EXP_OFFSET          0x90
#define XIO3130_AER_OFFSET          0x100

typedef struct XIO3130Upstream {
    PCIBridge parent;
    uint8_t port;
} XIO3130Upstream;

static bool xio3130_up_realize(DeviceState *dev, GError **errp)
{
    XIO3130Upstream *s = (XIO3130Upstream *)dev;
    PCIDevice *d = &s->parent.parent;
    PCIBus *bus = pci_get_bus(d);
    PCIEBusKind kind = pcie_bus_kind(bus);
    bool ok;

    if (kind != PCIE_BUS_LINK && kind != PCIE_BUS_ROOT_COMPLEX) {
        error_setg(errp, "%s: a switch upstream port belongs on a PCI "
                   "Express link (behind pcie-root-port, ioh3420 or "
                   "xio3130-downstream) or on pcie.0, not on %s bus "
                   "'%s'",
                   dev->type->name,
                   kind == PCIE_BUS_SWITCH ? "the switch-internal"
                                           : "the conventional PCI",
                   pci_bus_name(bus));
        return false;
    }
    if (!pci_bridge_init(&s->parent, false, errp)) {
        return false;
    }
    ok = msi_init(d, XIO3130_MSI_OFFSET, XIO3130_MSI_VECTORS, true, false,
                  errp) &&
         pci_bridge_ssvid_init(d, XIO3130_SSVID_OFFSET, 0, 0, errp) &&
         pcie_cap_init(d, XIO3130_EXP_OFFSET, PCI_EXP_TYPE_UPSTREAM, s->port,
                       errp) &&
         pcie_aer_init(d, XIO3130_AER_OFFSET, false, errp);
    if (!ok) {
        pci_bridge_uninit(&s->parent);
        return false;
    }
    return true;
}

static void xio3130_up_unrealize(DeviceState *dev)
{
    XIO3130Upstream *s = (XIO3130Upstream *)dev;

    pci_bridge_uninit(&s->parent);
}

static void xio3130_up_reset(DeviceState *dev)
{
    XIO3130Upstream *s = (XIO3130Upstream *)dev;

    pci_bridge_reset(&s->parent);
    if (s->parent.ready) {
        pcie_aer_reset(&s->parent.parent, XIO3130_AER_OFFSET);
    }
}

static int xio3130_up_post_load(void *opaque, int version_id)
{
    XIO3130Upstream *s = opaque;

    pci_bridge_update_windows(&s->parent);
    return 0;
}

static const VMStateDescription vmstate_xio3130_up = {
    .name = "xio3130-express-upstream-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = xio3130_up_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const Property xio3130_up_props[] = {
    DEFINE_PROP("port", XIO3130Upstream, port, PROP_UINT8, "0",
                "port number in the link capabilities"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass xio3130_up_class = {
    .vendor_id = PCI_VENDOR_ID_TI,
    .device_id = PCI_DEVICE_ID_TI_XIO3130U,
    .revision = XIO3130_UP_REVISION,
    .class_id = PCI_CLASS_BRIDGE_PCI,
    .header_type = PCI_HEADER_TYPE_BRIDGE,
    .is_express = true,
    .config_write = pci_bridge_write_config,
};

static const DeviceType xio3130_up_type = {
    .name = TYPE_XIO3130_UPSTREAM,
    .parent = TYPE_PCI_DEVICE,
    .desc = "TI X3130 Upstream Port of PCI Express Switch",
    .instance_size = sizeof(XIO3130Upstream),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = xio3130_up_props,
    .realize = xio3130_up_realize,
    .unrealize = xio3130_up_unrealize,
    .reset = xio3130_up_reset,
    .vmsd = &vmstate_xio3130_up,
    .class_data = &xio3130_up_class,
};

static void xio3130_up_register_types(void)
{
    device_type_register(&xio3130_up_type);
}
type_init(xio3130_up_register_types)
