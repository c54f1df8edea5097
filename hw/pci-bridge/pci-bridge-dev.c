/*
 * "pci-bridge" (1b36:0001): QEMU's PCI-to-PCI bridge, on pc and q35.
 *
 * Spec: PCI-to-PCI Bridge Architecture Specification 1.2 (the type 1
 * header, hw/pci/pci_bridge.c); PCI Local Bus 3.0 / PCI-to-PCI Bridge 1.2
 * 13.4 for the Slot Numbering capability (ID 04h: expansion slots,
 * chassis number).
 *
 * chassis_nr= (1-255) is required, as QEMU requires it; the Slot Numbering
 * capability sits at 40h.  SHPC (the standard hot-plug controller) is not
 * modelled: shpc=off is the only value, and like QEMU without SHPC there
 * is no MSI.  Devices behind the bridge get bus numbers from firmware and
 * their INTx swizzled onto the bridge's pins ((pin + slot) mod 4).
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"

#define TYPE_PCI_BRIDGE_DEV     "pci-bridge"
#define PCI_CAP_ID_SLOTID_OFF   0x40
#define SLOTID_CAP_LENGTH       4
#define SLOTID_FIRST_IN_CHASSIS 0x20    /* bit 5 of the slots byte */

typedef struct PCIBridgeDev {
    PCIBridge parent;
    uint8_t chassis_nr;
    bool shpc;
    bool msi;
} PCIBridgeDev;

static bool bridge_dev_realize(DeviceState *dev, GError **errp)
{
    PCIBridgeDev *s = (PCIBridgeDev *)dev;
    PCIDevice *d = &s->parent.parent;
    uint8_t off;

    if (!s->chassis_nr) {
        error_setg(errp, "Bridge chassis not specified. Each bridge is "
                   "required to be assigned a unique chassis id > 0.");
        return false;
    }
    if (s->shpc) {
        error_setg(errp, "pci-bridge: shpc=on (the standard hot-plug "
                   "controller) is not supported; use shpc=off");
        return false;
    }
    if (s->msi) {
        error_setg(errp, "pci-bridge: MSI is not applicable without SHPC");
        return false;
    }
    if (!pci_bridge_init(&s->parent, false, errp)) {
        return false;
    }
    off = pci_add_capability(d, PCI_CAP_ID_SLOTID, PCI_CAP_ID_SLOTID_OFF,
                             SLOTID_CAP_LENGTH, errp);
    if (!off) {
        pci_bridge_uninit(&s->parent);
        return false;
    }
    d->config[off + 2] = SLOTID_FIRST_IN_CHASSIS;   /* 0 expansion slots */
    d->config[off + 3] = s->chassis_nr;
    d->wmask[off + 3] = 0xff;                        /* chassis writable */
    return true;
}

static void bridge_dev_unrealize(DeviceState *dev)
{
    PCIBridgeDev *s = (PCIBridgeDev *)dev;

    pci_bridge_uninit(&s->parent);
}

static void bridge_dev_reset(DeviceState *dev)
{
    PCIBridgeDev *s = (PCIBridgeDev *)dev;

    pci_bridge_reset(&s->parent);
    s->parent.parent.config[PCI_CAP_ID_SLOTID_OFF + 3] = s->chassis_nr;
}

static int bridge_dev_post_load(void *opaque, int version_id)
{
    PCIBridgeDev *s = opaque;

    pci_bridge_update_windows(&s->parent);
    return 0;
}

static const VMStateDescription vmstate_bridge_dev = {
    .name = "pci_bridge",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = bridge_dev_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const Property bridge_dev_props[] = {
    DEFINE_PROP("chassis_nr", PCIBridgeDev, chassis_nr, PROP_UINT8, "0",
                "chassis number, 1-255 (required)"),
    DEFINE_PROP("shpc", PCIBridgeDev, shpc, PROP_BOOL, "off",
                "standard hot-plug controller (only off)"),
    DEFINE_PROP("msi", PCIBridgeDev, msi, PROP_BOOL, "off",
                "MSI (only off: it needs SHPC)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass bridge_dev_class = {
    .vendor_id = PCI_VENDOR_ID_REDHAT,
    .device_id = PCI_DEVICE_ID_REDHAT_BRIDGE,
    .class_id = PCI_CLASS_BRIDGE_PCI,
    .header_type = PCI_HEADER_TYPE_BRIDGE,
    .interrupt_pin = 1,
    .config_write = pci_bridge_write_config,
};

static const DeviceType bridge_dev_type = {
    .name = TYPE_PCI_BRIDGE_DEV,
    .parent = TYPE_PCI_DEVICE,
    .desc = "Standard PCI Bridge",
    .instance_size = sizeof(PCIBridgeDev),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = bridge_dev_props,
    .realize = bridge_dev_realize,
    .unrealize = bridge_dev_unrealize,
    .reset = bridge_dev_reset,
    .vmsd = &vmstate_bridge_dev,
    .class_data = &bridge_dev_class,
};

static void bridge_dev_register_types(void)
{
    device_type_register(&bridge_dev_type);
}
type_init(bridge_dev_register_types)
