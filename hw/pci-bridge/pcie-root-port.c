/*
 * PCI Express root ports: QEMU's generic "pcie-root-port" (1b36:000c) and
 * "ioh3420" (8086:3420, the Intel X58 IOH root port), on the q35 root bus.
 *
 * Spec: PCI Express Base Specification 4.0, 7.5.3 (PCI Express capability
 * of a Root Port, with the slot registers 7.5.3.9-11), 7.8.4 (AER), 7.7.7
 * (ACS); PCI-to-PCI Bridge spec 1.2 for the type 1 header
 * (hw/pci/pci_bridge.c).  Intel X58 IOH datasheet for ioh3420's IDs.
 *
 * Layout as QEMU 7.2 (lspci of a QEMU guest shows the same):
 *   pcie-root-port: Subsystem ID capability at 40h, MSI-X (one vector, its
 *     table and PBA in an exclusive 4 KiB BAR0) at 48h, PCI Express (Root
 *     Port, slot implemented) at 54h, AER at 100h, ACS at 148h.
 *   ioh3420: Subsystem ID at 40h, MSI (two vectors, per-vector mask) at
 *     60h, PCI Express at 90h, AER at 100h.
 * Properties chassis=, slot= (the Physical Slot Number in the slot
 * capabilities) and port= (the link's port number).  The secondary bus
 * is a link: only device 0 (functions 0-7) may sit behind a port.
 *
 * Hot-plug: the slot capabilities advertise an attention button, power
 * controller, attention and power indicators, electromechanical interlock,
 * surprise removal and hot-plug capability; Slot Control and Slot Status
 * are registers with their write masks and write-1-to-clear bits, a write
 * to Slot Control completes at once (Command Completed), and the hot-plug
 * interrupt (INTx, MSI or MSI-X vector 0) follows the enabled events.
 * Presence Detect State reflects whether a device sits behind the port at
 * reset.  The port is its link's hotplug handler (native PCIe hotplug,
 * docs/hotplug.md): device_add sets presence and raises Presence Detect
 * Changed; device_del presses the attention button, and the device goes
 * when the guest powers the slot off (power controller and indicator
 * off), as QEMU 7.2 does with ACPI hotplug of root ports turned off.
 * AER reports nothing (no error is ever logged).  The slot and its
 * hotplug are the common part of the ports with a slot (PCIESlot,
 * hw/pci/pcie.c), shared with xio3130-downstream.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/msi.h"

#define TYPE_PCIE_ROOT_PORT     "pcie-root-port"
#define TYPE_IOH3420            "ioh3420"

#define RP_SSVID_OFFSET         0x40
#define GEN_RP_EXP_OFFSET       0x54
#define GEN_RP_AER_OFFSET       0x100
#define GEN_RP_ACS_OFFSET       (GEN_RP_AER_OFFSET + PCI_ERR_SIZEOF)
#define GEN_RP_MSIX_VECTORS     1
#define IOH_EP_MSI_OFFSET       0x60
#define IOH_EP_MSI_VECTORS      2
#define IOH_EP_EXP_OFFSET       0x90
#define IOH_EP_AER_OFFSET       0x100
#define IOH_EP_REVISION         0x02
#define PCI_ACS_SIZEOF          8
#define PCI_ACS_CAP             4
#define PCI_ACS_CTRL            6
#define PCI_ACS_DOWNSTREAM      0x001f  /* SV TB RR CR UF */

typedef struct PCIERootPortInfo {
    PCIDeviceClass pci;         /* first: DeviceType.class_data */
    bool generic;               /* pcie-root-port: MSI-X, ACS */
    uint16_t ssvid;
    uint8_t exp_offset;
    uint16_t aer_offset;
} PCIERootPortInfo;

typedef struct PCIERootPort {
    PCIESlot parent;            /* chassis=, slot=, port=, the hotplug */
    const PCIERootPortInfo *info;
} PCIERootPort;

static const PCIERootPortInfo *rp_info(PCIDevice *d)
{
    return (const PCIERootPortInfo *)d->pc;
}

static bool rp_add_acs(PCIDevice *d, GError **errp)
{
    if (!pcie_add_ext_capability(d, PCI_EXT_CAP_ID_ACS, 1, GEN_RP_ACS_OFFSET,
                                 PCI_ACS_SIZEOF, errp)) {
        return false;
    }
    pci_set_word(d->config + GEN_RP_ACS_OFFSET + PCI_ACS_CAP,
                 PCI_ACS_DOWNSTREAM);
    pci_set_word(d->wmask + GEN_RP_ACS_OFFSET + PCI_ACS_CTRL,
                 PCI_ACS_DOWNSTREAM);
    return true;
}

static bool rp_realize(DeviceState *dev, GError **errp)
{
    PCIERootPort *s = (PCIERootPort *)dev;
    PCIESlot *slot = &s->parent;
    PCIDevice *d = &slot->parent.parent;
    const PCIERootPortInfo *info = rp_info(d);
    bool ok;

    s->info = info;
    if (pci_bus_bridge(pci_get_bus(d))) {
        error_setg(errp, "%s: a root port belongs on the root complex "
                   "(pcie.0), not behind a bridge", dev->type->name);
        return false;
    }
    if (!pci_bridge_init(&slot->parent, true, errp)) {
        return false;
    }
    ok = pci_bridge_ssvid_init(d, RP_SSVID_OFFSET, info->ssvid, 0, errp);
    if (ok && info->generic) {
        ok = msix_init_exclusive_bar(d, GEN_RP_MSIX_VECTORS, 0, errp);
    } else if (ok) {
        ok = msi_init(d, IOH_EP_MSI_OFFSET, IOH_EP_MSI_VECTORS, false, true,
                      errp);
    }
    ok = ok && pcie_cap_init(d, info->exp_offset, PCI_EXP_TYPE_ROOT_PORT,
                             slot->port, errp);
    if (ok) {
        pcie_slot_init(slot);
    }
    ok = ok && pcie_aer_init(d, info->aer_offset, true, errp);
    ok = ok && (!info->generic || rp_add_acs(d, errp));
    if (!ok) {
        msix_uninit(d);
        pci_bridge_uninit(&slot->parent);
        return false;
    }
    return true;
}

static void rp_unrealize(DeviceState *dev)
{
    PCIERootPort *s = (PCIERootPort *)dev;

    msix_uninit(&s->parent.parent.parent);
    pci_bridge_uninit(&s->parent.parent);
}

static void rp_reset(DeviceState *dev)
{
    PCIERootPort *s = (PCIERootPort *)dev;
    PCIDevice *d = &s->parent.parent.parent;

    pcie_slot_reset(&s->parent);
    if (s->info) {
        pcie_aer_reset(d, s->info->aer_offset);
        if (s->info->generic) {
            pci_set_word(d->config + GEN_RP_ACS_OFFSET + PCI_ACS_CTRL, 0);
        }
    }
    pci_set_irq(d, 0);
}

static int rp_post_load(void *opaque, int version_id)
{
    PCIERootPort *s = opaque;

    pci_bridge_update_windows(&s->parent.parent);
    return 0;
}

static const VMStateDescription vmstate_rp = {
    .name = "pcie-root-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = rp_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const PCIERootPortInfo gen_rp_info = {
    .pci = {
        .vendor_id = PCI_VENDOR_ID_REDHAT,
        .device_id = PCI_DEVICE_ID_REDHAT_PCIE_RP,
        .class_id = PCI_CLASS_BRIDGE_PCI,
        .header_type = PCI_HEADER_TYPE_BRIDGE,
        .is_express = true,
        .interrupt_pin = 1,
        .config_write = pcie_slot_write_config,
    },
    .generic = true,
    .ssvid = PCI_VENDOR_ID_REDHAT,
    .exp_offset = GEN_RP_EXP_OFFSET,
    .aer_offset = GEN_RP_AER_OFFSET,
};

static const PCIERootPortInfo ioh3420_info = {
    .pci = {
        .vendor_id = PCI_VENDOR_ID_INTEL,
        .device_id = PCI_DEVICE_ID_INTEL_IOH_EPORT,
        .revision = IOH_EP_REVISION,
        .class_id = PCI_CLASS_BRIDGE_PCI,
        .header_type = PCI_HEADER_TYPE_BRIDGE,
        .is_express = true,
        .interrupt_pin = 1,
        .config_write = pcie_slot_write_config,
    },
    .generic = false,
    .ssvid = PCI_VENDOR_ID_INTEL,
    .exp_offset = IOH_EP_EXP_OFFSET,
    .aer_offset = IOH_EP_AER_OFFSET,
};

static const DeviceType gen_rp_type = {
    .name = TYPE_PCIE_ROOT_PORT,
    .parent = TYPE_PCI_DEVICE,
    .desc = "PCI Express Root Port",
    .instance_size = sizeof(PCIERootPort),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = pcie_slot_props,
    .realize = rp_realize,
    .unrealize = rp_unrealize,
    .reset = rp_reset,
    .vmsd = &vmstate_rp,
    .class_data = &gen_rp_info,
};

static const DeviceType ioh3420_type = {
    .name = TYPE_IOH3420,
    .parent = TYPE_PCI_DEVICE,
    .desc = "Intel IOH device id 3420 PCIE Root Port",
    .instance_size = sizeof(PCIERootPort),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = pcie_slot_props,
    .realize = rp_realize,
    .unrealize = rp_unrealize,
    .reset = rp_reset,
    .vmsd = &vmstate_rp,
    .class_data = &ioh3420_info,
};

static void rp_register_types(void)
{
    device_type_register(&gen_rp_type);
    device_type_register(&ioh3420_type);
}
type_init(rp_register_types)
