/*
 * PCI Express capability helpers: the PCI Express capability structure,
 * the slot registers of a downstream port and the common part of the
 * ports that have one (root ports, switch downstream ports), extended
 * capabilities and AER (reporting only).
 *
 * Spec: PCI Express Base Specification 4.0:
 *   7.5.3    PCI Express capability structure (version 2, 3Ch bytes)
 *   7.5.3.9  Slot Capabilities, 7.5.3.10 Slot Control, 7.5.3.11 Slot Status
 *   6.7.3    hot-plug events: Command Completed after a Slot Control write
 *            that changes a controller or indicator; the hot-plug
 *            interrupt while HPIE and an enabled event's status bit are set
 *   7.6      extended capability headers (ID 15:0, version 19:16, next
 *            31:20), 7.8.4 Advanced Error Reporting
 * A x1 link at 2.5 GT/s, as QEMU's ports report by default.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/msi.h"
#include "system/timer.h"

#define PCI_EXP_LNK_SPEED_2_5       0x1
#define PCI_EXP_LNK_WIDTH_X1        (1u << 4)
#define PCI_EXP_LNKCTL_WMASK        0x0ffb
#define PCI_EXP_DEVCTL2_WMASK       0x041f
#define PCI_EXP_LNKCTL2_WMASK       0xffff
#define PCI_EXP_LNKSTA_SPEED_WIDTH  (PCI_EXP_LNK_SPEED_2_5 | \
                                     PCI_EXP_LNK_WIDTH_X1)
#define PCI_EXP_SLTCTL_WMASK \
    (PCI_EXP_SLTCTL_ABPE | PCI_EXP_SLTCTL_PDCE | PCI_EXP_SLTCTL_CCIE | \
     PCI_EXP_SLTCTL_HPIE | PCI_EXP_SLTCTL_AIC | PCI_EXP_SLTCTL_PIC | \
     PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_EIC | PCI_EXP_SLTCTL_DLLSCE)
#define PCI_EXP_SLTCTL_AIC_OFF      0x00c0
#define PCI_EXP_SLTSTA_EVENTS \
    (PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC | \
     PCI_EXP_SLTSTA_DLLSC)
#define PCI_EXT_CAP_NEXT_SHIFT      20
#define PCI_EXT_CAP_VER_SHIFT       16
#define PCI_EXT_CAP_START           0x100
#define PCI_EXP_FLAGS_VER1          0x0001
#define PCI_EXP_VER1_SIZEOF         0x14

uint8_t pcie_cap_offset(PCIDevice *d)
{
    return pci_find_capability(d, PCI_CAP_ID_EXP);
}

int pcie_cap_type(PCIDevice *d)
{
    uint8_t pos = pcie_cap_offset(d);

    if (!pos) {
        return -1;
    }
    return (pci_get_word(d->config + pos + PCI_EXP_FLAGS) &
            PCI_EXP_FLAGS_TYPE) >> PCI_EXP_FLAGS_TYPE_SHIFT;
}

PCIEBusKind pcie_bus_kind(PCIBus *bus)
{
    PCIDevice *bridge = pci_bus_bridge(bus);

    if (!bridge) {
        return pci_root_bus_is_express(bus) ? PCIE_BUS_ROOT_COMPLEX
                                            : PCI_BUS_CONVENTIONAL;
    }
    switch (pcie_cap_type(bridge)) {
    case PCI_EXP_TYPE_ROOT_PORT:
    case PCI_EXP_TYPE_DOWNSTREAM:
        return PCIE_BUS_LINK;
    case PCI_EXP_TYPE_UPSTREAM:
        return PCIE_BUS_SWITCH;
    default:
        /* pci-bridge, or pcie-pci-bridge (a PCI bus on its secondary
         * side: PCI Express to PCI/PCI-X Bridge spec 1.0) */
        return PCI_BUS_CONVENTIONAL;
    }
}

bool pcie_cap_init(PCIDevice *d, uint8_t offset, uint8_t type, uint8_t port,
                   GError **errp)
{
    uint8_t pos = pci_add_capability(d, PCI_CAP_ID_EXP, offset,
                                     PCI_EXP_VER2_SIZEOF, errp);
    uint8_t *c, *w, *w1c;
    uint32_t lnkcap;
    bool downstream = type == PCI_EXP_TYPE_ROOT_PORT ||
                      type == PCI_EXP_TYPE_DOWNSTREAM;

    if (!pos) {
        return false;
    }
    c = d->config + pos;
    w = d->wmask + pos;
    w1c = d->w1cmask + pos;
    pci_set_word(c + PCI_EXP_FLAGS, PCI_EXP_FLAGS_VER2 |
                 type << PCI_EXP_FLAGS_TYPE_SHIFT);
    pci_set_long(c + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_RBER);
    pci_set_word(w + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_WMASK);
    pci_set_word(w1c + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_W1C);
    if (type != PCI_EXP_TYPE_RC_END) {
        lnkcap = (uint32_t)port << PCI_EXP_LNKCAP_PN_SHIFT |
                 PCI_EXP_LNK_SPEED_2_5 | PCI_EXP_LNK_WIDTH_X1;
        if (downstream) {
            lnkcap |= PCI_EXP_LNKCAP_DLLLARC;
        }
        pci_set_long(c + PCI_EXP_LNKCAP, lnkcap);
        pci_set_word(c + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_SPEED_WIDTH);
        pci_set_word(w + PCI_EXP_LNKCTL, PCI_EXP_LNKCTL_WMASK);
        pci_set_word(w + PCI_EXP_LNKCTL2, PCI_EXP_LNKCTL2_WMASK);
        pci_set_long(c + PCI_EXP_LNKCAP2, PCI_EXP_LNK_SPEED_2_5 << 1);
        pci_set_word(c + PCI_EXP_LNKCTL2, PCI_EXP_LNK_SPEED_2_5);
    }
    pci_set_word(w + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_WMASK);
    if (type == PCI_EXP_TYPE_ROOT_PORT) {
        /* Root Control: the error-to-SERR enables and PME interrupt. */
        pci_set_word(w + PCI_EXP_RTCTL, 0x001f);
        pci_set_long(w1c + PCI_EXP_RTSTA, 0x00010000);   /* PME status */
    }
    return true;
}

bool pcie_endpoint_cap_v1_init(PCIDevice *d, uint8_t offset, GError **errp)
{
    uint8_t pos = pci_add_capability(d, PCI_CAP_ID_EXP, offset,
                                     PCI_EXP_VER1_SIZEOF, errp);
    uint8_t *c;

    if (!pos) {
        return false;
    }
    c = d->config + pos;
    pci_set_word(c + PCI_EXP_FLAGS, PCI_EXP_FLAGS_VER1 |
                 PCI_EXP_TYPE_ENDPOINT << PCI_EXP_FLAGS_TYPE_SHIFT);
    pci_set_long(c + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_RBER);
    pci_set_word(d->wmask + pos + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_WMASK);
    pci_set_word(d->w1cmask + pos + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_W1C);
    pci_set_long(c + PCI_EXP_LNKCAP, PCI_EXP_LNK_SPEED_2_5 |
                 PCI_EXP_LNK_WIDTH_X1);
    pci_set_word(c + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_SPEED_WIDTH);
    pci_set_word(d->wmask + pos + PCI_EXP_LNKCTL, PCI_EXP_LNKCTL_WMASK);
    return true;
}

/*
 * QEMU 7.2's endpoint on a link (pcie_cap_init for PCI_EXP_TYPE_ENDPOINT
 * with the x-pcie-deverr-init, x-pcie-lnkctl-init and x-pcie-flr-init
 * defaults virtio-pci has): Role-Based Error Reporting and FLR in Device
 * Capabilities (7.5.3.3), the four error reporting enables and Initiate
 * FLR writable in Device Control (7.5.3.4), L0s and a x1 2.5 GT/s link
 * (7.5.3.6, 7.5.3.8) with Common Clock and Extended Synch writable,
 * Extended Fmt Field and End-End TLP Prefix supported (7.5.3.15) with
 * their blocking bit writable (7.5.3.16); Link Capabilities/Control 2
 * stay 0 (allowed for a 2.5 GT/s-only component, 7.5.3.18-19).  The
 * extended space holds no capability: its first header reads 0.
 */
bool pcie_endpoint_cap_init(PCIDevice *d, uint8_t offset, GError **errp)
{
    uint8_t pos = pci_add_capability(d, PCI_CAP_ID_EXP, offset,
                                     PCI_EXP_VER2_SIZEOF, errp);
    uint8_t *c, *w, *w1c;

    if (!pos) {
        return false;
    }
    d->config_size = PCIE_CONFIG_SPACE_SIZE;
    pci_init_ext_wmask(d);
    c = d->config + pos;
    w = d->wmask + pos;
    w1c = d->w1cmask + pos;
    pci_set_word(c + PCI_EXP_FLAGS, PCI_EXP_FLAGS_VER2 |
                 PCI_EXP_TYPE_ENDPOINT << PCI_EXP_FLAGS_TYPE_SHIFT);
    pci_set_long(c + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_RBER |
                 PCI_EXP_DEVCAP_FLR);
    pci_set_word(w + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_ERR_ENABLES |
                 PCI_EXP_DEVCTL_BCR_FLR);
    pci_set_word(w1c + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_W1C);
    pci_set_long(c + PCI_EXP_LNKCAP, PCI_EXP_LNKCAP_ASPMS_0S |
                 PCI_EXP_LNK_WIDTH_X1 | PCI_EXP_LNK_SPEED_2_5);
    pci_set_word(w + PCI_EXP_LNKCTL, PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES);
    pci_set_word(c + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_SPEED_WIDTH);
    pci_set_long(c + PCI_EXP_DEVCAP2, PCI_EXP_DEVCAP2_EFF |
                 PCI_EXP_DEVCAP2_EETLPP);
    pci_set_word(w + PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_EETLPPB);
    return true;
}

/* What QEMU's reset of such an endpoint clears in the capability (its
 * pcie_cap_deverr_reset and pcie_cap_lnkctl_reset). */
void pcie_endpoint_cap_reset(PCIDevice *d)
{
    uint8_t pos = pcie_cap_offset(d);
    uint8_t *c;

    if (!pos) {
        return;
    }
    c = d->config + pos;
    pci_set_word(c + PCI_EXP_DEVCTL, pci_get_word(c + PCI_EXP_DEVCTL) &
                 ~PCI_EXP_DEVCTL_ERR_ENABLES);
    pci_set_word(c + PCI_EXP_LNKCTL, pci_get_word(c + PCI_EXP_LNKCTL) &
                 ~(PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES));
}

/*
 * Initiate Function Level Reset (6.6.2): a 1 written to the bit resets
 * the function (device_reset: its whole reset chain); the bit reads 0.
 */
void pcie_cap_flr_write_config(PCIDevice *d, uint32_t addr, unsigned len)
{
    uint8_t pos = pcie_cap_offset(d);
    uint8_t *devctl;

    if (!pos || addr >= (uint32_t)pos + PCI_EXP_DEVCTL + 2 ||
        addr + len <= (uint32_t)pos + PCI_EXP_DEVCTL) {
        return;
    }
    devctl = d->config + pos + PCI_EXP_DEVCTL;
    if (pci_get_word(devctl) & PCI_EXP_DEVCTL_BCR_FLR) {
        device_reset(&d->parent);
        pci_set_word(devctl, pci_get_word(devctl) & ~PCI_EXP_DEVCTL_BCR_FLR);
    }
}

void pcie_cap_slot_init(PCIDevice *d, uint16_t slot)
{
    uint8_t pos = pcie_cap_offset(d);
    uint8_t *c = d->config + pos;

    if (!pos) {
        return;
    }
    pci_set_word(c + PCI_EXP_FLAGS,
                 pci_get_word(c + PCI_EXP_FLAGS) | PCI_EXP_FLAGS_SLOT);
    pci_set_long(c + PCI_EXP_SLTCAP,
                 (uint32_t)(slot & 0x1fff) << PCI_EXP_SLTCAP_PSN_SHIFT |
                 PCI_EXP_SLTCAP_EIP | PCI_EXP_SLTCAP_PIP |
                 PCI_EXP_SLTCAP_AIP | PCI_EXP_SLTCAP_ABP |
                 PCI_EXP_SLTCAP_PCP | PCI_EXP_SLTCAP_HPS |
                 PCI_EXP_SLTCAP_HPC);
    pci_set_word(d->wmask + pos + PCI_EXP_SLTCTL, PCI_EXP_SLTCTL_WMASK);
    pci_set_word(d->w1cmask + pos + PCI_EXP_SLTSTA, PCI_EXP_SLTSTA_W1C);
}

void pcie_cap_slot_reset(PCIDevice *d, bool present)
{
    uint8_t pos = pcie_cap_offset(d);
    uint8_t *c = d->config + pos;
    uint16_t sta = 0;

    if (!pos || !(pci_get_word(c + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_SLOT)) {
        return;
    }
    /* Indicators off; power on (PCC = 0) when populated, as QEMU. */
    pci_set_word(c + PCI_EXP_SLTCTL, PCI_EXP_SLTCTL_AIC_OFF |
                 (present ? PCI_EXP_SLTCTL_PIC_ON
                          : PCI_EXP_SLTCTL_PIC_OFF | PCI_EXP_SLTCTL_PCC));
    if (present) {
        sta |= PCI_EXP_SLTSTA_PDS;
        pci_set_word(c + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_SPEED_WIDTH |
                     PCI_EXP_LNKSTA_DLLLA);
    } else {
        pci_set_word(c + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_SPEED_WIDTH);
    }
    pci_set_word(c + PCI_EXP_SLTSTA, sta);
}

bool pcie_cap_slot_irq_pending(PCIDevice *d)
{
    uint8_t pos = pcie_cap_offset(d);
    uint16_t ctl, sta, want = 0;

    if (!pos) {
        return false;
    }
    ctl = pci_get_word(d->config + pos + PCI_EXP_SLTCTL);
    sta = pci_get_word(d->config + pos + PCI_EXP_SLTSTA);
    if (!(ctl & PCI_EXP_SLTCTL_HPIE)) {
        return false;
    }
    if (ctl & PCI_EXP_SLTCTL_ABPE) {
        want |= PCI_EXP_SLTSTA_ABP;
    }
    if (ctl & PCI_EXP_SLTCTL_PDCE) {
        want |= PCI_EXP_SLTSTA_PDC;
    }
    if (ctl & PCI_EXP_SLTCTL_CCIE) {
        want |= PCI_EXP_SLTSTA_CC;
    }
    if (ctl & PCI_EXP_SLTCTL_DLLSCE) {
        want |= PCI_EXP_SLTSTA_DLLSC;
    }
    return sta & want & PCI_EXP_SLTSTA_EVENTS;
}

/* The hot-plug interrupt: MSI-X or MSI vector 0 on a new event, else the
 * INTx level follows the pending state (6.7.3.4). */
static void pcie_cap_slot_notify(PCIDevice *d, bool was_pending)
{
    bool pending = pcie_cap_slot_irq_pending(d);

    if (msix_enabled(d)) {
        if (pending && !was_pending) {
            msix_notify(d, 0);
        }
    } else if (msi_enabled(d)) {
        if (pending && !was_pending) {
            msi_notify(d, 0);
        }
    } else {
        pci_set_irq(d, pending);
    }
}

#define PCI_EXP_SLTCTL_PIC_BLINK    0x0200
#define PCIE_SLOT_EVENTS \
    (PCI_EXP_SLTSTA_ABP | PCI_EXP_SLTSTA_PFD | PCI_EXP_SLTSTA_MRLSC | \
     PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_CC)

static uint16_t slot_sta(PCIDevice *d)
{
    return pci_get_word(d->config + pcie_cap_offset(d) + PCI_EXP_SLTSTA);
}

static void slot_set_sta(PCIDevice *d, uint16_t v)
{
    pci_set_word(d->config + pcie_cap_offset(d) + PCI_EXP_SLTSTA, v);
}

static bool slot_has_cap(PCIDevice *d)
{
    uint8_t pos = pcie_cap_offset(d);

    return pos && (pci_get_word(d->config + pos + PCI_EXP_FLAGS) &
                   PCI_EXP_FLAGS_SLOT);
}

/* Power controller off and power indicator off: the slot may be emptied
 * (QEMU's pcie_sltctl_powered_off). */
static bool sltctl_powered_off(uint16_t ctl)
{
    return (ctl & PCI_EXP_SLTCTL_PCC) &&
           (ctl & PCI_EXP_SLTCTL_PIC) == PCI_EXP_SLTCTL_PIC_OFF;
}

void pcie_cap_slot_event(PCIDevice *d, uint16_t events)
{
    bool was_pending = pcie_cap_slot_irq_pending(d);
    uint16_t sta = slot_sta(d);

    if ((sta & events) == events) {
        return;     /* nothing new: no interrupt (QEMU's optimisation) */
    }
    slot_set_sta(d, sta | events);
    pcie_cap_slot_notify(d, was_pending);
}

static void slot_set_link(PCIDevice *d, bool up)
{
    uint8_t pos = pcie_cap_offset(d);
    uint16_t lnk = pci_get_word(d->config + pos + PCI_EXP_LNKSTA);

    if (!(pci_get_long(d->config + pos + PCI_EXP_LNKCAP) &
          PCI_EXP_LNKCAP_DLLLARC)) {
        return;
    }
    lnk = up ? lnk | PCI_EXP_LNKSTA_DLLLA : lnk & ~PCI_EXP_LNKSTA_DLLLA;
    pci_set_word(d->config + pos + PCI_EXP_LNKSTA, lnk);
}

/* Under ACPI hotplug (pcie_slot_hand_to_acpi): no presence, link down. */
static void slot_hide_presence(PCIDevice *d)
{
    slot_set_sta(d, slot_sta(d) & ~PCI_EXP_SLTSTA_PDS);
    slot_set_link(d, false);
}

/* The slot went dark: every function behind the port goes. */
static void slot_do_unplug(PCIDevice *d, PCIBus *sec)
{
    for (unsigned devfn = 0; sec && devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *f = pci_find_device(sec, devfn);
        if (f) {
            pci_device_unplug_tree(f);
        }
    }
    slot_set_sta(d, (slot_sta(d) & ~PCI_EXP_SLTSTA_PDS) | PCI_EXP_SLTSTA_PDC);
    slot_set_link(d, false);
}

/*
 * After the default write, with Slot Control and Slot Status as they were
 * before it (@was_pending: pcie_cap_slot_irq_pending() before it): Command
 * Completed, the interlock toggle, the unplug of what sits on @sec when
 * the guest powers a populated slot off, and the hot-plug interrupt (INTx
 * level, or MSI/MSI-X vector 0 on a new event).
 */
static void pcie_cap_slot_write_config(PCIDevice *d, PCIBus *sec,
                                       uint16_t old_ctl, uint16_t old_sta,
                                       bool was_pending, uint32_t addr,
                                       uint32_t val, uint32_t len)
{
    uint8_t pos = pcie_cap_offset(d);
    uint32_t ctl_off = pos + PCI_EXP_SLTCTL;
    uint32_t sta_off = pos + PCI_EXP_SLTSTA;
    uint8_t *c = d->config;
    uint16_t sta, ctl;

    if (!slot_has_cap(d)) {
        return;
    }
    if (!(addr < sta_off + 2 && ctl_off < addr + len)) {
        return;
    }
    sta = pci_get_word(c + sta_off);
    if (addr < sta_off + 2 && sta_off < addr + len) {
        /* Guests clear every status bit at init, also ones that were not
         * set: keep an event that raced with that write (as QEMU). */
        uint16_t w = addr <= sta_off ? val >> ((sta_off - addr) * 8)
                                     : val << ((addr - sta_off) * 8);
        if (w & ~old_sta & PCIE_SLOT_EVENTS) {
            sta = (sta & ~PCIE_SLOT_EVENTS) | (old_sta & PCIE_SLOT_EVENTS);
            pci_set_word(c + sta_off, sta);
        }
    }
    if (!(addr < ctl_off + 2 && ctl_off < addr + len)) {
        pcie_cap_slot_notify(d, was_pending);
        return;
    }
    ctl = pci_get_word(c + ctl_off);
    /* Electromechanical Interlock Control: a 1 toggles the interlock. */
    if (ctl & PCI_EXP_SLTCTL_EIC) {
        pci_set_word(c + ctl_off, ctl & ~PCI_EXP_SLTCTL_EIC);
        pci_set_word(c + sta_off, pci_get_word(c + sta_off) ^
                     PCI_EXP_SLTSTA_EIS);
    }
    /* The guest powered a populated slot off: the device goes (the end
     * of the attention-button unplug).  Not when it was off already:
     * guests rewrite the control of dark slots before powering them. */
    if ((pci_get_word(c + sta_off) & PCI_EXP_SLTSTA_PDS) &&
        sltctl_powered_off(ctl) && !sltctl_powered_off(old_ctl)) {
        slot_do_unplug(d, sec);
    }
    /* 6.7.3.2: a write to any part of Slot Control is a command, done at
     * once here. */
    pci_set_word(c + sta_off, pci_get_word(c + sta_off) | PCI_EXP_SLTSTA_CC);
    pcie_cap_slot_notify(d, was_pending);
}

/*
 * Native hotplug (docs/hotplug.md), the port being the hotplug handler of
 * its link: plug sets Presence Detect State and the link up and raises
 * Presence Detect Changed (with the button bit, as QEMU); unplug_request
 * presses the attention button (or, for a dark slot, removes at once).
 */
static bool pcie_cap_slot_plug(PCIDevice *d, DeviceState *dev, GError **errp)
{
    PCIDevice *f = PCI_DEVICE(dev);

    if (!slot_has_cap(d)) {
        return true;
    }
    if (slot_sta(d) & PCI_EXP_SLTSTA_EIS) {
        error_setg(errp, "slot is electromechanically locked");
        return false;
    }
    if (!dev->hotplugged) {
        return true;    /* present at reset: pcie_cap_slot_reset says so */
    }
    /* Function 0 last: then the guest sees the slot (QEMU's rule). */
    if (PCI_FUNC(f->devfn) == 0) {
        slot_set_sta(d, slot_sta(d) | PCI_EXP_SLTSTA_PDS);
        slot_set_link(d, true);
        pcie_cap_slot_event(d, PCI_EXP_SLTSTA_PDC | PCI_EXP_SLTSTA_ABP);
    }
    return true;
}

static bool pcie_cap_slot_unplug_request(PCIDevice *d, PCIBus *sec,
                                         DeviceState *dev, GError **errp)
{
    PCIDevice *f = PCI_DEVICE(dev);
    uint8_t pos = pcie_cap_offset(d);
    uint16_t ctl;

    if (!slot_has_cap(d)) {
        error_setg(errp, "Hot-unplug failed: unsupported by the port "
                   "device '%s'", d->parent.id ? d->parent.id : "");
        return false;
    }
    if (slot_sta(d) & PCI_EXP_SLTSTA_EIS) {
        error_setg(errp, "slot is electromechanically locked");
        return false;
    }
    ctl = pci_get_word(d->config + pos + PCI_EXP_SLTCTL);
    if ((ctl & PCI_EXP_SLTCTL_PIC) == PCI_EXP_SLTCTL_PIC_BLINK) {
        error_setg(errp, "Hot-unplug failed: guest is busy (power indicator "
                   "blinking)");
        return false;
    }
    dev->pending_deletion_event = true;
    /* The guest may have missed the press: after 5 s a second device_del
     * presses again (QEMU 7.2). */
    dev->pending_deletion_expires_ms =
        qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + 5000;
    /* A function of an unfinished multifunction add, never seen. */
    if (PCI_FUNC(f->devfn) && !pci_find_device(sec, 0)) {
        device_unplug_complete(dev);
        return true;
    }
    if (sltctl_powered_off(ctl)) {
        /* Dark slot: no round trip through the guest. */
        bool was_pending = pcie_cap_slot_irq_pending(d);
        slot_do_unplug(d, sec);
        pcie_cap_slot_notify(d, was_pending);
        slot_set_sta(d, slot_sta(d) & ~PCI_EXP_SLTSTA_ABP);
        return true;
    }
    /* Press the attention button (6.7.1.5); the guest powers it off. */
    pcie_cap_slot_event(d, PCI_EXP_SLTSTA_ABP);
    return true;
}

/* ---- the ports with a slot (QEMU's PCIESlot) ------------------------- */

const Property pcie_slot_props[] = {
    DEFINE_PROP("chassis", PCIESlot, chassis, PROP_UINT8, "0",
                "chassis number (with slot=, names the slot to firmware)"),
    DEFINE_PROP("slot", PCIESlot, slot, PROP_UINT16, "0",
                "Physical Slot Number in the slot capabilities"),
    DEFINE_PROP("port", PCIESlot, port, PROP_UINT8, "0",
                "port number in the link capabilities"),
    DEFINE_PROP_END_OF_LIST(),
};

static bool slot_hotplug_plug(HotplugHandler *h, DeviceState *dev,
                              GError **errp)
{
    PCIESlot *s = h->opaque;

    return pcie_cap_slot_plug(&s->parent.parent, dev, errp);
}

static bool slot_hotplug_unplug_request(HotplugHandler *h, DeviceState *dev,
                                        GError **errp)
{
    PCIESlot *s = h->opaque;

    return pcie_cap_slot_unplug_request(&s->parent.parent, s->parent.sec_bus,
                                        dev, errp);
}

void pcie_slot_init(PCIESlot *s)
{
    pcie_cap_slot_init(&s->parent.parent, s->slot);
    s->hp = (HotplugHandler){
        .opaque = s,
        .plug = slot_hotplug_plug,
        .unplug_request = slot_hotplug_unplug_request,
    };
    pci_bus_set_hotplug_handler(s->parent.sec_bus, &s->hp);
}

void pcie_slot_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                            unsigned len)
{
    PCIESlot *s = (PCIESlot *)d;
    uint8_t pos = pcie_cap_offset(d);
    bool was_pending = pcie_cap_slot_irq_pending(d);
    uint16_t old_ctl = pci_get_word(d->config + pos + PCI_EXP_SLTCTL);
    uint16_t old_sta = pci_get_word(d->config + pos + PCI_EXP_SLTSTA);

    pci_bridge_write_config(d, addr, val, len);
    pcie_cap_slot_write_config(d, s->parent.sec_bus, old_ctl, old_sta,
                               was_pending, addr, val, len);
}

void pcie_slot_reset(PCIESlot *s)
{
    bool present = s->parent.sec_bus &&
                   pci_find_device(s->parent.sec_bus, 0) != NULL;

    pci_bridge_reset(&s->parent);
    pcie_cap_slot_reset(&s->parent.parent, present);
    if (s->acpi_hotplug) {
        slot_hide_presence(&s->parent.parent);
    }
}

/*
 * ACPI PCI hotplug takes a port's link (QEMU 7.2's q35 with
 * ICH9-LPC.acpi-pci-hotplug-with-bridge-support=on: a root port, and a
 * switch's downstream port below one): the port's own handler never sees
 * a plug, so, as in QEMU 7.2, the slot reports no presence and the link
 * no activity (the slot stays powered when populated; the slot
 * capabilities keep HPS/HPC, QEMU 7.2's x-native-hotplug stays on; the
 * DSDT's _OSC withholds native hotplug control instead, PCI Firmware
 * spec 3.3 4.5.1).
 */
bool pcie_slot_hand_to_acpi(PCIBus *sec)
{
    PCIDevice *d = pci_bus_bridge(sec);
    HotplugHandler *h = pci_bus_hotplug_handler(sec);
    PCIESlot *s;

    if (!d || !h || h->plug != slot_hotplug_plug) {
        return false;
    }
    s = h->opaque;
    s->acpi_hotplug = true;
    slot_hide_presence(d);
    return true;
}

/*
 * A device ACPI PCI hotplug added on a port's link: the power
 * controller turns on (Power Controller Control cleared; the indicators
 * stay as they are), as QEMU 7.2's ACPI plug does.  Presence stays
 * hidden.
 */
void pcie_slot_acpi_plugged(PCIBus *sec)
{
    PCIDevice *d = pci_bus_bridge(sec);
    HotplugHandler *h = d ? pci_bus_hotplug_handler(sec) : NULL;
    PCIESlot *s = (PCIESlot *)d;
    uint8_t pos;

    if (!h || h->plug == slot_hotplug_plug || !slot_has_cap(d) ||
        (pcie_cap_type(d) != PCI_EXP_TYPE_ROOT_PORT &&
         pcie_cap_type(d) != PCI_EXP_TYPE_DOWNSTREAM) || !s->acpi_hotplug) {
        return;
    }
    pos = pcie_cap_offset(d);
    pci_set_word(d->config + pos + PCI_EXP_SLTCTL,
                 pci_get_word(d->config + pos + PCI_EXP_SLTCTL) &
                 ~PCI_EXP_SLTCTL_PCC);
}

/* ---- extended capabilities ------------------------------------------- */

bool pcie_add_ext_capability(PCIDevice *d, uint16_t id, uint8_t version,
                             uint16_t offset, uint16_t size, GError **errp)
{
    uint16_t prev = 0, next = PCI_EXT_CAP_START;
    uint32_t header;

    if (d->config_size != PCIE_CONFIG_SPACE_SIZE ||
        offset < PCI_EXT_CAP_START || (offset & 3) ||
        offset + size > PCIE_CONFIG_SPACE_SIZE) {
        error_setg(errp, "PCIe extended capability 0x%04x at 0x%03x does "
                   "not fit", id, offset);
        return false;
    }
    for (unsigned i = 0; i < size; i++) {
        if (d->cap_used[offset + i]) {
            error_setg(errp, "PCIe extended capability 0x%04x at 0x%03x "
                       "overlaps another one", id, offset);
            return false;
        }
    }
    /* Walk to the last header (at most 4096/4 of them). */
    for (unsigned n = 0; offset != PCI_EXT_CAP_START && n < 1024; n++) {
        header = pci_get_long(d->config + next);
        if (!header) {
            break;
        }
        prev = next;
        next = header >> PCI_EXT_CAP_NEXT_SHIFT;
        if (!next) {
            break;
        }
    }
    pci_set_long(d->config + offset,
                 id | (uint32_t)version << PCI_EXT_CAP_VER_SHIFT);
    if (prev) {
        header = pci_get_long(d->config + prev);
        pci_set_long(d->config + prev, (header & 0xfffff) |
                     (uint32_t)offset << PCI_EXT_CAP_NEXT_SHIFT);
    }
    memset(d->cap_used + offset, 1, size);
    /* the capability's own init says what in it software may write */
    memset(d->wmask + offset, 0, size);
    memset(d->w1cmask + offset, 0, size);
    return true;
}

bool pcie_aer_init(PCIDevice *d, uint16_t offset, bool root_port,
                   GError **errp)
{
    uint8_t *w = d->wmask + offset, *w1c = d->w1cmask + offset;

    if (!pcie_add_ext_capability(d, PCI_EXT_CAP_ID_ERR, 2, offset,
                                 PCI_ERR_SIZEOF, errp)) {
        return false;
    }
    pci_set_long(w1c + PCI_ERR_UNCOR_STATUS, PCI_ERR_UNC_SUPPORTED);
    pci_set_long(w + PCI_ERR_UNCOR_MASK, PCI_ERR_UNC_SUPPORTED);
    pci_set_long(w + PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_SUPPORTED);
    pci_set_long(w1c + PCI_ERR_COR_STATUS, PCI_ERR_COR_SUPPORTED);
    pci_set_long(w + PCI_ERR_COR_MASK, PCI_ERR_COR_SUPPORTED);
    /* ECRC generation/check enables (bits 6 and 8) */
    pci_set_long(w + PCI_ERR_CAP, 0x140);
    if (root_port) {
        pci_set_long(w + PCI_ERR_ROOT_COMMAND, 0x7);
        pci_set_long(w1c + PCI_ERR_ROOT_STATUS, 0x7f);
    }
    pcie_aer_reset(d, offset);
    return true;
}

void pcie_aer_reset(PCIDevice *d, uint16_t offset)
{
    uint8_t *c = d->config + offset;

    pci_set_long(c + PCI_ERR_UNCOR_STATUS, 0);
    pci_set_long(c + PCI_ERR_UNCOR_MASK, 0);
    pci_set_long(c + PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_SEVER_DEFAULT);
    pci_set_long(c + PCI_ERR_COR_STATUS, 0);
    pci_set_long(c + PCI_ERR_COR_MASK, PCI_ERR_COR_MASK_DEFAULT);
    pci_set_long(c + PCI_ERR_CAP, 0x0a0);   /* ECRC gen/check capable */
    pci_set_long(c + PCI_ERR_ROOT_COMMAND, 0);
    pci_set_long(c + PCI_ERR_ROOT_STATUS, 0);
}
