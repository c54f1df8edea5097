/*
 * qemu-xhci (1b36:000d) and nec-usb-xhci (1033:0194): an xHCI 1.1 host
 * controller with USB 2 and USB 3 root hub ports, as QEMU 7.2's.
 *
 * Spec: eXtensible Host Controller Interface for USB, revision 1.1
 * (Intel, 2013; 1.2 for streams): 5.3 capability registers (CAPLENGTH,
 * HCSPARAMS1-3, HCCPARAMS1/2, DBOFF, RTSOFF), 5.4 operational registers (USBCMD,
 * USBSTS, PAGESIZE, DNCTRL, CRCR, DCBAAP, CONFIG, PORTSC/PORTPMSC/PORTLI),
 * 5.5 runtime registers (MFINDEX, interrupters IMAN, IMOD, ERSTSZ,
 * ERSTBA, ERDP), 5.6 doorbells, 6.2 contexts (slot, endpoint, input
 * control), 6.4 TRBs, 6.5 the event ring segment table, 7.2 supported
 * protocol capability, 4.6 commands, 4.9-4.11 rings and TDs, 4.17
 * interrupters, 4.19 root hub ports, 4.12 streams (in
 * hw/usb/hcd-xhci-streams.c: Primary Stream Context Arrays, LSA = 1).
 *
 * BAR0 (16 KiB, 64-bit): capabilities at 0, operational at 0x40, port
 * registers at 0x440, runtime at 0x1000, doorbells at 0x2000, the MSI-X
 * table at 0x3000 and PBA at 0x3800.  Ports 1..p2 are USB 2, p2+1..p2+p3
 * USB 3; USB port N (port=N) is both xHCI port N and p2+N, a SuperSpeed
 * device shows on the second.
 *
 * All guest structures (rings, contexts, the DCBAA, the ERST) are read
 * and written through PCI DMA.  A fetch that master-aborts sets Host
 * System Error and halts the controller.  Rings are walked with bounds:
 * more than XHCI_MAX_LINKS Link TRBs in a row is a ring with no TRBs (a
 * TRB Error event, the endpoint halts / the command ring stops), a TD of
 * more than XHCI_MAX_TD_TRBS TRBs or XHCI_MAX_TD_BYTES bytes is a TRB
 * Error, and one doorbell runs at most XHCI_MAX_TDS_PER_KICK TDs or
 * commands before the rest waits a millisecond (a ring that never ends
 * cannot hold the big lock).  Not done: secondary stream arrays,
 * isochronous timing
 * (isoch TRBs run as normal ones), interrupt moderation (IMOD is kept,
 * not timed), bandwidth and LPM commands (TRB Error), MFINDEX wrap
 * events.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "hw/usb/usb.h"
#include "system/timer.h"
#include "hcd-xhci.h"

static unsigned xhci_numports(XHCIState *s)
{
    return s->numports_2 + s->numports_3;
}

/* ---- interrupts and events ------------------------------------------ */

static void xhci_update_intx(XHCIState *s)
{
    bool level = !msix_enabled(&s->parent) && !msi_enabled(&s->parent) &&
                 (s->intr[0].iman & IMAN_IP) && (s->intr[0].iman & IMAN_IE) &&
                 (s->usbcmd & USBCMD_INTE);

    pci_set_irq(&s->parent, level);
}

static void xhci_intr_raise(XHCIState *s, unsigned v)
{
    XHCIInterrupter *in = &s->intr[v];
    bool busy = in->erdp & ERDP_EHB;

    in->erdp |= ERDP_EHB;
    in->iman |= IMAN_IP;
    s->usbsts |= USBSTS_EINT;
    if (busy || !(in->iman & IMAN_IE) || !(s->usbcmd & USBCMD_INTE)) {
        return;
    }
    if (msix_enabled(&s->parent)) {
        msix_notify(&s->parent, v);
    } else if (msi_enabled(&s->parent)) {
        msi_notify(&s->parent, v);
    } else if (v == 0) {
        xhci_update_intx(s);
    }
}

/* Stop with Host System Error (a guest structure that cannot be read). */
static void xhci_die(XHCIState *s)
{
    s->usbsts |= USBSTS_HSE | USBSTS_HCH;
    s->usbcmd &= ~USBCMD_RS;
    s->crcr &= ~CRCR_CRR;
    timer_del(s->kick_timer);
    if (s->usbcmd & USBCMD_HSEE) {
        xhci_intr_raise(s, 0);
    }
}

bool xhci_dma_read(XHCIState *s, uint64_t addr, void *buf, size_t len)
{
    if (pci_dma_read(&s->parent, addr, buf, len) != MEMTX_OK) {
        xhci_die(s);
        return false;
    }
    return true;
}

bool xhci_dma_write(XHCIState *s, uint64_t addr, const void *buf,
                    size_t len)
{
    if (pci_dma_write(&s->parent, addr, buf, len) != MEMTX_OK) {
        xhci_die(s);
        return false;
    }
    return true;
}

static bool xhci_running(XHCIState *s)
{
    return !(s->usbsts & USBSTS_HCH);
}

static uint64_t xhci_er_addr(XHCIInterrupter *in, uint32_t seg, uint32_t idx)
{
    return in->seg_base[seg] + (uint64_t)idx * 16;
}

static void xhci_write_event_at(XHCIState *s, XHCIInterrupter *in,
                                uint64_t param, uint32_t status,
                                uint32_t control)
{
    uint8_t ev[16];

    stq_le_p(ev, param);
    stl_le_p(ev + 8, status);
    stl_le_p(ev + 12, (control & ~TRB_C) | (in->er_pcs ? TRB_C : 0));
    if (!xhci_dma_write(s, xhci_er_addr(in, in->er_seg, in->er_idx), ev, 16)) {
        return;
    }
    if (++in->er_idx >= in->seg_size[in->er_seg]) {
        in->er_idx = 0;
        if (++in->er_seg >= in->nsegs) {
            in->er_seg = 0;
            in->er_pcs = !in->er_pcs;
        }
    }
}

void xhci_event(XHCIState *s, unsigned v, uint64_t param, uint32_t status,
                uint32_t control)
{
    XHCIInterrupter *in;
    uint32_t nseg, nidx;

    if (v >= s->numintrs) {
        v = 0;
    }
    in = &s->intr[v];
    if (!in->nsegs || in->er_full || !xhci_running(s)) {
        return;
    }
    /* the slot after this one: if it is the consumer's, the ring is full */
    nseg = in->er_seg;
    nidx = in->er_idx + 1;
    if (nidx >= in->seg_size[nseg]) {
        nidx = 0;
        nseg = (nseg + 1) % in->nsegs;
    }
    if (xhci_er_addr(in, nseg, nidx) == (in->erdp & ~0xfull)) {
        xhci_write_event_at(s, in, 0, CC_EVENT_RING_FULL_ERROR << 24,
                            ER_HOST_CONTROLLER << 10);
        in->er_full = true;
    } else {
        xhci_write_event_at(s, in, param, status, control);
    }
    xhci_intr_raise(s, v);
}

/* ---- ERST ----------------------------------------------------------- */

static void xhci_er_reset(XHCIState *s, unsigned v)
{
    XHCIInterrupter *in = &s->intr[v];
    uint32_t n = in->erstsz & 0xffff;

    in->nsegs = 0;
    in->er_seg = in->er_idx = 0;
    in->er_pcs = true;
    in->er_full = false;
    if (!n) {
        return;
    }
    if (n > XHCI_ERST_MAX) {
        /* more than ERST Max: a programming error the xHC reports */
        s->usbsts |= USBSTS_HCE;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[16];
        uint32_t size;

        if (!xhci_dma_read(s, (in->erstba & ~0x3full) + 16 * i, e, 16)) {
            return;
        }
        size = ldl_le_p(e + 8) & 0xffff;
        if (size < 16 || size > 4096) {
            s->usbsts |= USBSTS_HCE;
            return;
        }
        in->seg_base[i] = ldq_le_p(e) & ~0x3full;
        in->seg_size[i] = size;
    }
    in->nsegs = n;
}

/* ---- ports ---------------------------------------------------------- */

static bool xhci_port_is_usb3(XHCIState *s, unsigned port_id)
{
    return port_id > s->numports_2;
}

static USBPort *xhci_port_uport(XHCIState *s, unsigned port_id)
{
    unsigned i = xhci_port_is_usb3(s, port_id) ? port_id - s->numports_2 - 1
                                               : port_id - 1;
    return i < MAX(s->numports_2, s->numports_3) ? &s->uports[i] : NULL;
}

/* The device behind xHCI port @port_id (1-based), if it shows there. */
static USBDevice *xhci_port_device(XHCIState *s, unsigned port_id)
{
    USBPort *up;

    if (port_id < 1 || port_id > xhci_numports(s)) {
        return NULL;
    }
    up = xhci_port_uport(s, port_id);
    if (!up || !up->dev) {
        return NULL;
    }
    if ((up->dev->speed == USB_SPEED_SUPER) != xhci_port_is_usb3(s, port_id)) {
        return NULL;
    }
    return up->dev;
}

static unsigned xhci_speed_id(int speed)
{
    switch (speed) {
    case USB_SPEED_LOW: return 2;
    case USB_SPEED_FULL: return 1;
    case USB_SPEED_HIGH: return 3;
    default: return 4;
    }
}

static void xhci_port_notify(XHCIState *s, unsigned port_id, uint32_t bits)
{
    XHCIPort *p = &s->ports[port_id - 1];

    if ((p->portsc & bits) == bits) {
        return;
    }
    p->portsc |= bits;
    if (!xhci_running(s)) {
        return;
    }
    s->usbsts |= USBSTS_PCD;
    xhci_event(s, 0, (uint64_t)port_id << 24, CC_SUCCESS << 24,
               ER_PORT_STATUS_CHANGE << 10);
}

/* Recompute the connection bits of xHCI port @port_id from its device. */
static void xhci_port_update(XHCIState *s, unsigned port_id, bool changed)
{
    XHCIPort *p = &s->ports[port_id - 1];
    USBDevice *dev = xhci_port_device(s, port_id);
    uint32_t pls;

    p->portsc &= ~(PORTSC_CCS | PORTSC_PED | PORTSC_PLS_MASK |
                   (0xfu << PORTSC_SPEED_SHIFT));
    if (dev) {
        p->portsc |= PORTSC_CCS | (xhci_speed_id(dev->speed) <<
                                   PORTSC_SPEED_SHIFT);
        if (xhci_port_is_usb3(s, port_id)) {
            /* link training done: enabled in U0 */
            p->portsc |= PORTSC_PED;
            pls = PLS_U0;
        } else {
            pls = PLS_POLLING;
        }
    } else {
        pls = PLS_RXDETECT;
    }
    p->portsc |= pls << PORTSC_PLS_SHIFT;
    if (changed) {
        xhci_port_notify(s, port_id, PORTSC_CSC);
    }
}

static void xhci_port_reset(XHCIState *s, unsigned port_id, bool warm)
{
    XHCIPort *p = &s->ports[port_id - 1];
    USBDevice *dev = xhci_port_device(s, port_id);

    p->portsc &= ~PORTSC_PR;
    if (!dev) {
        return;
    }
    usb_device_reset(dev);
    p->portsc &= ~PORTSC_PLS_MASK;
    p->portsc |= PORTSC_PED | (PLS_U0 << PORTSC_PLS_SHIFT);
    if (warm) {
        p->portsc |= PORTSC_WRC;
    }
    xhci_port_notify(s, port_id, PORTSC_PRC);
}

static void xhci_write_portsc(XHCIState *s, unsigned port_id, uint32_t val)
{
    XHCIPort *p = &s->ports[port_id - 1];
    uint32_t old = p->portsc;
    uint32_t pls = (old & PORTSC_PLS_MASK) >> PORTSC_PLS_SHIFT;

    if (val & (PORTSC_PR | (xhci_port_is_usb3(s, port_id) ? PORTSC_WPR : 0))) {
        p->portsc &= ~(val & PORTSC_CHANGE_BITS);
        xhci_port_reset(s, port_id, val & PORTSC_WPR);
        return;
    }
    p->portsc &= ~(val & PORTSC_CHANGE_BITS);
    if (val & PORTSC_PED) {
        /* software may only disable */
        p->portsc &= ~PORTSC_PED;
    }
    p->portsc = (p->portsc & ~(PORTSC_PP | PORTSC_WCE | PORTSC_WDE |
                               PORTSC_WOE)) |
                (val & (PORTSC_PP | PORTSC_WCE | PORTSC_WDE | PORTSC_WOE));
    if (val & PORTSC_LWS) {
        uint32_t npls = (val & PORTSC_PLS_MASK) >> PORTSC_PLS_SHIFT;
        if (npls == PLS_U0 || npls == PLS_U3) {
            p->portsc = (p->portsc & ~PORTSC_PLS_MASK) |
                        (npls << PORTSC_PLS_SHIFT);
            if (pls == PLS_U3 && npls == PLS_U0) {
                xhci_port_notify(s, port_id, PORTSC_PLC);
            }
        }
    }
}

/* ---- slots and endpoints --------------------------------------------- */

/* The device at root port @port_id and route string @route (one hub
 * port per 4 bits, first tier lowest; 4.3.3), or NULL. */
static USBDevice *xhci_route_device(XHCIState *s, unsigned port_id,
                                    uint32_t route)
{
    USBDevice *dev = xhci_port_device(s, port_id);

    for (unsigned tier = 0; dev && tier < 5 && (route & 0xf); tier++) {
        dev = usb_device_child(dev, route & 0xf);
        route >>= 4;
    }
    return dev;
}

static USBDevice *xhci_slot_device(XHCIState *s, XHCISlot *slot)
{
    return xhci_route_device(s, slot->port_id, slot->route);
}

static bool xhci_read_trb(XHCIState *s, uint64_t addr, XHCITRB *trb)
{
    uint8_t b[16];

    if (!xhci_dma_read(s, addr, b, 16)) {
        return false;
    }
    trb->addr = addr;
    trb->param = ldq_le_p(b);
    trb->status = ldl_le_p(b + 8);
    trb->control = ldl_le_p(b + 12);
    return true;
}

/* Write the endpoint's state and dequeue pointer back to its context. */
static void xhci_write_ep_ctx(XHCIState *s, XHCISlot *slot, unsigned dci)
{
    XHCIEndpoint *ep = &slot->eps[dci - 1];
    uint64_t a = slot->ctx + 32 * dci;
    uint8_t c[16];

    if (!xhci_dma_read(s, a, c, 16)) {
        return;
    }
    stl_le_p(c, (ldl_le_p(c) & ~7u) | ep->state);
    stq_le_p(c + 8, ep->dequeue | (ep->dcs ? 1 : 0));
    xhci_dma_write(s, a, c, 16);
}

static void xhci_transfer_event(XHCIState *s, unsigned slotid, unsigned dci,
                                const XHCITRB *trb, unsigned cc,
                                uint32_t residue, bool event_data,
                                uint64_t edata)
{
    xhci_event(s, (trb->status >> 22) & 0x3ff,
               event_data ? edata : trb->addr,
               (cc << 24) | (residue & 0xffffff),
               (ER_TRANSFER << 10) | (dci << 16) | (slotid << 24) |
               (event_data ? TRB_EV_ED : 0));
}

typedef enum {
    GATHER_OK,
    GATHER_EMPTY,       /* no TRB owned by the xHC */
    GATHER_ERROR,       /* posted a TRB error; the endpoint halted */
    GATHER_DEAD,        /* HSE */
} GatherResult;

/*
 * Collect the TRBs of the next TD (up to a TRB without the chain bit)
 * from *deq and *dcs, following Link TRBs; on success they point past
 * it and s->td[0..*n) holds it.
 */
static GatherResult xhci_gather_td(XHCIState *s, uint64_t *deq, bool *dcs,
                                   unsigned *n, XHCITRB *bad)
{
    unsigned links = 0, count = 0;
    uint64_t total = 0;
    uint64_t a = *deq;
    bool c = *dcs;

    for (;;) {
        XHCITRB t;

        if (!xhci_read_trb(s, a, &t)) {
            return GATHER_DEAD;
        }
        if (!!(t.control & TRB_C) != c) {
            return GATHER_EMPTY;
        }
        if (TRB_TYPE(t.control) == TR_LINK) {
            if (++links > XHCI_MAX_LINKS) {
                *bad = t;
                return GATHER_ERROR;
            }
            if (t.control & TRB_TC) {
                c = !c;
            }
            a = t.param & ~0xfull;
            continue;
        }
        links = 0;
        if (count == XHCI_MAX_TD_TRBS) {
            *bad = t;
            return GATHER_ERROR;
        }
        total += t.status & 0x1ffff;
        if (total > XHCI_MAX_TD_BYTES) {
            *bad = t;
            return GATHER_ERROR;
        }
        s->td[count++] = t;
        a += 16;
        if (!(t.control & TRB_CH)) {
            break;
        }
    }
    *deq = a;
    *dcs = c;
    *n = count;
    return GATHER_OK;
}

static unsigned xhci_cc_of(int status)
{
    switch (status) {
    case USB_RET_STALL:
        return CC_STALL_ERROR;
    case USB_RET_BABBLE:
        return CC_BABBLE_DETECTED;
    default:
        return CC_USB_TRANSACTION_ERROR;
    }
}

typedef enum { TD_DONE, TD_NAK, TD_HALT, TD_DEAD } TDResult;

/* Run one gathered TD of slot @slotid, endpoint @dci (stream @sid). */
static TDResult xhci_run_td(XHCIState *s, unsigned slotid, unsigned dci,
                            unsigned sid, unsigned n)
{
    XHCISlot *slot = &s->slots[slotid - 1];
    USBDevice *dev = xhci_slot_device(s, slot);
    unsigned type = TRB_TYPE(s->td[0].control);
    USBPacket p = { .ep = dci / 2, .buf = s->buf, .stream = sid };
    size_t total = 0, off, moved;
    bool in;

    switch (type) {
    case TR_SETUP:
        if (dci != 1 || !(s->td[0].control & TRB_IDT) ||
            (s->td[0].status & 0x1ffff) != 8) {
            xhci_transfer_event(s, slotid, dci, &s->td[0], CC_TRB_ERROR, 0,
                                false, 0);
            return TD_HALT;
        }
        stq_le_p(s->buf, s->td[0].param);
        p.pid = USB_TOKEN_SETUP;
        p.len = 8;
        in = false;
        break;
    case TR_STATUS:
        p.pid = (s->td[0].control & TRB_DIR_IN) ? USB_TOKEN_IN : USB_TOKEN_OUT;
        p.len = 0;
        in = p.pid == USB_TOKEN_IN;
        break;
    case TR_NOOP:
        if (s->td[0].control & TRB_IOC) {
            xhci_transfer_event(s, slotid, dci, &s->td[0], CC_SUCCESS, 0,
                                false, 0);
        }
        return TD_DONE;
    case TR_DATA:
    case TR_NORMAL:
    case TR_ISOCH:
        in = dci == 1 ? !!(s->td[0].control & TRB_DIR_IN) : (dci & 1);
        p.pid = in ? USB_TOKEN_IN : USB_TOKEN_OUT;
        for (unsigned i = 0; i < n; i++) {
            XHCITRB *t = &s->td[i];
            unsigned tt = TRB_TYPE(t->control), len = t->status & 0x1ffff;

            if (tt == TR_EVDATA) {
                continue;
            }
            if (tt != TR_NORMAL && tt != TR_DATA && tt != TR_ISOCH) {
                xhci_transfer_event(s, slotid, dci, t, CC_TRB_ERROR, 0,
                                    false, 0);
                return TD_HALT;
            }
            if (!in) {
                if (t->control & TRB_IDT) {
                    uint8_t imm[8];
                    stq_le_p(imm, t->param);
                    memcpy(s->buf + total, imm, MIN(len, 8u));
                    len = MIN(len, 8u);
                } else if (len && !xhci_dma_read(s, t->param, s->buf + total,
                                                 len)) {
                    return TD_DEAD;
                }
            }
            total += len;
        }
        p.len = total;
        break;
    default:
        xhci_transfer_event(s, slotid, dci, &s->td[0], CC_TRB_ERROR, 0,
                            false, 0);
        return TD_HALT;
    }

    if (dev) {
        s->in_td = true;
        usb_handle_packet(dev, &p);
        s->in_td = false;
    } else {
        p.status = USB_RET_NODEV;
    }
    if (p.status == USB_RET_NAK) {
        return TD_NAK;
    }
    if (p.status != USB_RET_SUCCESS) {
        xhci_transfer_event(s, slotid, dci, &s->td[0], xhci_cc_of(p.status),
                            s->td[0].status & 0x1ffff, false, 0);
        return TD_HALT;
    }

    /* scatter IN data, and report per TRB (IOC, short packets, event data) */
    off = 0;
    moved = p.actual;
    for (unsigned i = 0; i < n; i++) {
        XHCITRB *t = &s->td[i];
        unsigned tt = TRB_TYPE(t->control);
        size_t len = (tt == TR_SETUP || tt == TR_STATUS) ? 0 :
                     (t->status & 0x1ffff);
        size_t got;

        if (tt == TR_EVDATA) {
            if (t->control & TRB_IOC) {
                xhci_transfer_event(s, slotid, dci, t, CC_SUCCESS,
                                    MIN(off, moved), true, t->param);
            }
            continue;
        }
        if (tt == TR_SETUP) {
            len = 0;
        }
        got = off < moved ? MIN(len, moved - off) : 0;
        if (in && got && !xhci_dma_write(s, t->param, s->buf + off, got)) {
            return TD_DEAD;
        }
        off += len;
        if (got < len) {
            /* short: report it here and skip the rest of the TD */
            if (t->control & (TRB_ISP | TRB_IOC)) {
                xhci_transfer_event(s, slotid, dci, t, CC_SHORT_PACKET,
                                    len - got, false, 0);
            }
            /* an Event Data TRB at the TD's end still reports */
            for (unsigned j = i + 1; j < n; j++) {
                if (TRB_TYPE(s->td[j].control) == TR_EVDATA &&
                    (s->td[j].control & TRB_IOC)) {
                    xhci_transfer_event(s, slotid, dci, &s->td[j],
                                        CC_SHORT_PACKET, moved, true,
                                        s->td[j].param);
                }
            }
            return TD_DONE;
        }
        if (t->control & TRB_IOC) {
            xhci_transfer_event(s, slotid, dci, t, CC_SUCCESS, 0, false, 0);
        }
    }
    return TD_DONE;
}

/* The endpoint halted or hit a stream error: tell its contexts. */
static void xhci_ep_stop_with(XHCIState *s, XHCISlot *slot, unsigned dci,
                              unsigned state, unsigned sid)
{
    XHCIEndpoint *ep = &slot->eps[dci - 1];

    ep->state = state;
    if (ep->nstreams && sid) {
        xhci_streams_write_back(s, ep, sid);
    }
    xhci_write_ep_ctx(s, slot, dci);
}

/*
 * Run endpoint @dci of slot @slotid (stream @sid of an endpoint with
 * streams): the TDs on its ring, up to the budget.  A @doorbell restarts
 * a Stopped endpoint and may name a stream whose context is still
 * unread; a device's wakeup or the budget timer does neither.
 */
static void xhci_kick_ep(XHCIState *s, unsigned slotid, unsigned dci,
                         unsigned sid, bool doorbell)
{
    XHCISlot *slot;
    XHCIEndpoint *ep;
    uint64_t *ring_deq;
    bool *ring_dcs, *ring_again;

    if (slotid < 1 || slotid > s->numslots || dci < 1 || dci > 31 ||
        !xhci_running(s)) {
        return;
    }
    slot = &s->slots[slotid - 1];
    ep = &slot->eps[dci - 1];
    if (!slot->enabled || slot->state == SLOT_DISABLED) {
        return;
    }
    if (ep->state == EP_STOPPED && doorbell) {
        ep->state = EP_RUNNING;     /* a doorbell restarts a stopped ring */
    }
    if (ep->state != EP_RUNNING) {
        return;
    }
    if (ep->nstreams) {
        XHCIStream *st;
        unsigned cc;

        if (!doorbell && (sid >= ep->nstreams || !ep->streams[sid].valid)) {
            return;
        }
        st = xhci_stream_get(s, ep, sid, &cc);
        if (!st) {
            if (cc) {
                /* a stream context error (4.12.2): Error state, an event
                 * without a TRB */
                xhci_event(s, 0, 0, cc << 24, (ER_TRANSFER << 10) |
                           (dci << 16) | (slotid << 24));
                xhci_ep_stop_with(s, slot, dci, EP_ERROR, 0);
            }
            return;
        }
        ring_deq = &st->dequeue;
        ring_dcs = &st->dcs;
        ring_again = &st->kick_again;
    } else {
        sid = 0;
        ring_deq = &ep->dequeue;
        ring_dcs = &ep->dcs;
        ring_again = &ep->kick_again;
    }
    *ring_again = false;
    for (unsigned k = 0; k < XHCI_MAX_TDS_PER_KICK; k++) {
        uint64_t deq = *ring_deq;
        bool dcs = *ring_dcs;
        unsigned n;
        XHCITRB bad;
        TDResult r;

        if (ep->state != EP_RUNNING || !xhci_running(s)) {
            return;
        }
        switch (xhci_gather_td(s, &deq, &dcs, &n, &bad)) {
        case GATHER_EMPTY:
        case GATHER_DEAD:
            return;
        case GATHER_ERROR:
            xhci_transfer_event(s, slotid, dci, &bad, CC_TRB_ERROR, 0,
                                false, 0);
            xhci_ep_stop_with(s, slot, dci, EP_HALTED, sid);
            return;
        case GATHER_OK:
            break;
        }
        r = xhci_run_td(s, slotid, dci, sid, n);
        switch (r) {
        case TD_NAK:
        case TD_DEAD:
            return;
        case TD_HALT:
            /* the dequeue pointer stays on the failed TD */
            xhci_ep_stop_with(s, slot, dci, EP_HALTED, sid);
            return;
        case TD_DONE:
            *ring_deq = deq;
            *ring_dcs = dcs;
            break;
        }
    }
    /* budget spent: the rest runs in a millisecond */
    *ring_again = true;
    ep->kick_again = true;
    timer_mod(s->kick_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + 1000000);
}

/* Run endpoint @dci again from the timer or a wakeup: stream @sid, or
 * every stream whose context was read (sid 0), or the ring. */
static void xhci_rekick_ep(XHCIState *s, unsigned slotid, unsigned dci,
                           unsigned sid, bool only_flagged)
{
    XHCIEndpoint *ep = &s->slots[slotid - 1].eps[dci - 1];

    if (!ep->nstreams) {
        if (!only_flagged || ep->kick_again) {
            xhci_kick_ep(s, slotid, dci, 0, false);
        }
        return;
    }
    ep->kick_again = false;
    if (sid) {
        xhci_kick_ep(s, slotid, dci, sid, false);
        return;
    }
    for (unsigned i = 1; i < ep->nstreams && ep->streams; i++) {
        if (ep->streams[i].valid &&
            (!only_flagged || ep->streams[i].kick_again)) {
            xhci_kick_ep(s, slotid, dci, i, false);
        }
    }
}

/* Mark endpoint @dci (stream @sid, or all) for the kick timer. */
static void xhci_defer_kick(XHCIState *s, XHCIEndpoint *ep, unsigned sid)
{
    ep->kick_again = true;
    for (unsigned i = 1; i < ep->nstreams; i++) {
        if (ep->streams[i].valid && (!sid || sid == i)) {
            ep->streams[i].kick_again = true;
        }
    }
    timer_mod(s->kick_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
}

static void xhci_wakeup(USBPort *port, USBDevice *dev, unsigned epnum,
                        unsigned sid)
{
    XHCIState *s = port->opaque;

    if (epnum >= USB_MAX_ENDPOINTS) {
        return;
    }
    for (unsigned i = 0; i < s->numslots; i++) {
        XHCISlot *slot = &s->slots[i];
        if (!slot->enabled || slot->state == SLOT_DISABLED || !dev ||
            xhci_slot_device(s, slot) != dev) {
            continue;
        }
        if (s->in_td) {
            /* a device completing inside another TD's packet: the TD
             * buffers are in use, so the kick runs from the timer */
            xhci_defer_kick(s, &slot->eps[epnum * 2], sid);
            if (epnum) {
                xhci_defer_kick(s, &slot->eps[epnum * 2 - 1], sid);
            }
            continue;
        }
        xhci_rekick_ep(s, i + 1, epnum * 2 + 1, sid, false);
        if (epnum) {
            xhci_rekick_ep(s, i + 1, epnum * 2, sid, false);
        }
    }
}

/* ---- commands ------------------------------------------------------- */

static void xhci_disable_ep(XHCISlot *slot, unsigned dci)
{
    xhci_streams_free(&slot->eps[dci - 1]);
    memset(&slot->eps[dci - 1], 0, sizeof(slot->eps[0]));
}

/* Back to a disabled slot, its endpoints' stream arrays freed. */
static void xhci_clear_slot(XHCISlot *slot)
{
    for (unsigned dci = 1; dci <= 31; dci++) {
        xhci_streams_free(&slot->eps[dci - 1]);
    }
    memset(slot, 0, sizeof(*slot));
}

static void xhci_init_ep(XHCISlot *slot, unsigned dci, const uint8_t *c)
{
    XHCIEndpoint *ep = &slot->eps[dci - 1];
    uint64_t deq = ldq_le_p(c + 8);

    ep->state = EP_RUNNING;
    ep->type = EPCTX_TYPE(ldl_le_p(c + 4));
    ep->dequeue = deq & ~0xfull;
    ep->dcs = deq & 1;
    ep->kick_again = false;
    xhci_streams_init(ep, c);
}

static unsigned xhci_slot_ctx_state(XHCIState *s, XHCISlot *slot)
{
    uint8_t c[16];

    if (!xhci_dma_read(s, slot->ctx, c, 16)) {
        return CC_TRB_ERROR;
    }
    stl_le_p(c + 12, (ldl_le_p(c + 12) & ~(0x1fu << 27 | 0xffu)) |
             ((uint32_t)slot->state << 27) | slot->addr);
    xhci_dma_write(s, slot->ctx, c, 16);
    return CC_SUCCESS;
}

static bool xhci_read_dcbaa(XHCIState *s, unsigned slotid, uint64_t *ctx)
{
    uint8_t b[8];

    if (!xhci_dma_read(s, (s->dcbaap & ~0x3full) + 8 * slotid, b, 8)) {
        return false;
    }
    *ctx = ldq_le_p(b) & ~0x3full;
    return true;
}

static unsigned xhci_address_device(XHCIState *s, unsigned slotid,
                                    const XHCITRB *trb)
{
    XHCISlot *slot = &s->slots[slotid - 1];
    uint64_t ictx = trb->param & ~0xfull, octx;
    uint8_t ictl[8], sctx[32], ep0[32];
    unsigned port_id;
    uint32_t route;
    USBDevice *dev;
    bool bsr = trb->control & TRB_BSR;

    if (!xhci_dma_read(s, ictx, ictl, 8) ||
        !xhci_dma_read(s, ictx + 32, sctx, 32) ||
        !xhci_dma_read(s, ictx + 64, ep0, 32) ||
        !xhci_read_dcbaa(s, slotid, &octx)) {
        return 0;
    }
    if (ldl_le_p(ictl) != 0 || (ldl_le_p(ictl + 4) & 3) != 3) {
        return CC_TRB_ERROR;
    }
    if (slot->state > SLOT_DEFAULT || (bsr && slot->state == SLOT_DEFAULT)) {
        return CC_CONTEXT_STATE_ERROR;
    }
    port_id = (ldl_le_p(sctx + 4) >> 16) & 0xff;
    route = ldl_le_p(sctx) & 0xfffff;
    dev = xhci_route_device(s, port_id, route);
    if (!dev || !(s->ports[port_id - 1].portsc & PORTSC_PED) ||
        dev->state < USB_STATE_ATTACHED) {
        return CC_USB_TRANSACTION_ERROR;
    }
    for (unsigned i = 0; i < s->numslots; i++) {
        if (i != slotid - 1 && s->slots[i].state >= SLOT_ADDRESSED &&
            s->slots[i].port_id == port_id && s->slots[i].route == route) {
            /* one device, one addressed slot */
            return CC_TRB_ERROR;
        }
    }
    if (dev->state == USB_STATE_ATTACHED && xhci_port_is_usb3(s, port_id)) {
        usb_device_reset(dev);      /* link training resets a USB 3 device */
    }
    slot->port_id = port_id;
    slot->route = route;
    slot->ctx = octx;
    if (bsr) {
        slot->state = SLOT_DEFAULT;
        slot->addr = 0;
    } else {
        uint8_t setup[8] = { 0x00, USB_REQ_SET_ADDRESS, slotid, 0, 0, 0, 0, 0 };
        USBPacket p = { .pid = USB_TOKEN_SETUP, .ep = 0, .buf = setup,
                        .len = 8 };
        usb_handle_packet(dev, &p);
        if (p.status == USB_RET_SUCCESS) {
            USBPacket st = { .pid = USB_TOKEN_IN, .ep = 0, .buf = setup };
            usb_handle_packet(dev, &st);
            p.status = st.status;
        }
        if (p.status != USB_RET_SUCCESS) {
            return CC_USB_TRANSACTION_ERROR;
        }
        slot->state = SLOT_ADDRESSED;
        slot->addr = slotid;
    }
    /* output context: the slot context and endpoint 0, running */
    stl_le_p(sctx + 12, ((uint32_t)slot->state << 27) | slot->addr);
    stl_le_p(ep0, (ldl_le_p(ep0) & ~7u) | EP_RUNNING);
    if (!xhci_dma_write(s, octx, sctx, 32) ||
        !xhci_dma_write(s, octx + 32, ep0, 32)) {
        return 0;
    }
    xhci_init_ep(slot, 1, ep0);
    return CC_SUCCESS;
}

static unsigned xhci_configure_ep(XHCIState *s, unsigned slotid,
                                  const XHCITRB *trb)
{
    XHCISlot *slot = &s->slots[slotid - 1];
    uint64_t ictx = trb->param & ~0xfull;
    uint8_t ictl[8], sctx[32];
    uint32_t drop, add;

    if (slot->state < SLOT_ADDRESSED) {
        return CC_CONTEXT_STATE_ERROR;
    }
    if (trb->control & TRB_DC) {
        for (unsigned dci = 2; dci <= 31; dci++) {
            xhci_disable_ep(slot, dci);
        }
        slot->state = SLOT_ADDRESSED;
        return xhci_slot_ctx_state(s, slot);
    }
    if (!xhci_dma_read(s, ictx, ictl, 8) ||
        !xhci_dma_read(s, ictx + 32, sctx, 32)) {
        return 0;
    }
    drop = ldl_le_p(ictl);
    add = ldl_le_p(ictl + 4);
    if ((drop & 3) || (add & 2)) {
        return CC_TRB_ERROR;
    }
    /* the added contexts' stream fields, before anything changes */
    for (unsigned dci = 2; dci <= 31; dci++) {
        uint8_t c[8];
        unsigned cc;

        if (!(add & (1u << dci))) {
            continue;
        }
        if (!xhci_dma_read(s, ictx + 32 * (dci + 1), c, sizeof(c))) {
            return 0;
        }
        cc = xhci_streams_check_ctx(c);
        if (cc != CC_SUCCESS) {
            return cc;
        }
    }
    for (unsigned dci = 2; dci <= 31; dci++) {
        if (drop & (1u << dci)) {
            xhci_disable_ep(slot, dci);
            uint8_t z[4] = { 0 };
            if (!xhci_dma_write(s, slot->ctx + 32 * dci, z, 4)) {
                return 0;
            }
        }
        if (add & (1u << dci)) {
            uint8_t c[32];
            if (!xhci_dma_read(s, ictx + 32 * (dci + 1), c, 32)) {
                return 0;
            }
            stl_le_p(c, (ldl_le_p(c) & ~7u) | EP_RUNNING);
            if (!xhci_dma_write(s, slot->ctx + 32 * dci, c, 32)) {
                return 0;
            }
            xhci_init_ep(slot, dci, c);
        }
    }
    slot->state = SLOT_CONFIGURED;
    if (add & 1) {
        /* context entries and the rest of the slot context */
        stl_le_p(sctx + 12, ((uint32_t)slot->state << 27) | slot->addr);
        stl_le_p(sctx + 4, (ldl_le_p(sctx + 4) & ~(0xffu << 16)) |
                 ((uint32_t)slot->port_id << 16));
        if (!xhci_dma_write(s, slot->ctx, sctx, 32)) {
            return 0;
        }
        return CC_SUCCESS;
    }
    return xhci_slot_ctx_state(s, slot);
}

static unsigned xhci_evaluate_ctx(XHCIState *s, unsigned slotid,
                                  const XHCITRB *trb)
{
    XHCISlot *slot = &s->slots[slotid - 1];
    uint64_t ictx = trb->param & ~0xfull;
    uint8_t ictl[8], in[32], out[32];
    uint32_t add;

    if (slot->state < SLOT_DEFAULT) {
        return CC_CONTEXT_STATE_ERROR;
    }
    if (!xhci_dma_read(s, ictx, ictl, 8)) {
        return 0;
    }
    add = ldl_le_p(ictl + 4);
    if (ldl_le_p(ictl) || (add & ~3u)) {
        return CC_TRB_ERROR;
    }
    if (add & 1) {
        /* max exit latency and interrupter target */
        if (!xhci_dma_read(s, ictx + 32, in, 32) ||
            !xhci_dma_read(s, slot->ctx, out, 32)) {
            return 0;
        }
        stl_le_p(out + 4, (ldl_le_p(out + 4) & ~0xffffu) |
                 (ldl_le_p(in + 4) & 0xffff));
        stl_le_p(out + 8, (ldl_le_p(out + 8) & 0x003fffff) |
                 (ldl_le_p(in + 8) & 0xffc00000));
        if (!xhci_dma_write(s, slot->ctx, out, 32)) {
            return 0;
        }
    }
    if (add & 2) {
        /* endpoint 0's max packet size */
        if (!xhci_dma_read(s, ictx + 64, in, 32) ||
            !xhci_dma_read(s, slot->ctx + 32, out, 32)) {
            return 0;
        }
        stl_le_p(out + 4, (ldl_le_p(out + 4) & 0xffff) |
                 (ldl_le_p(in + 4) & 0xffff0000));
        if (!xhci_dma_write(s, slot->ctx + 32, out, 32)) {
            return 0;
        }
    }
    return CC_SUCCESS;
}

static unsigned xhci_ep_command(XHCIState *s, unsigned slotid,
                                const XHCITRB *trb, unsigned type)
{
    XHCISlot *slot = &s->slots[slotid - 1];
    unsigned dci = (trb->control >> 16) & 0x1f;
    XHCIEndpoint *ep;

    if (dci < 1 || dci > 31) {
        return CC_TRB_ERROR;
    }
    ep = &slot->eps[dci - 1];
    if (ep->state == EP_DISABLED || slot->state < SLOT_DEFAULT) {
        return CC_EP_NOT_ENABLED_ERROR;
    }
    switch (type) {
    case CR_STOP_ENDPOINT:
        if (ep->state != EP_RUNNING) {
            return CC_CONTEXT_STATE_ERROR;
        }
        ep->state = EP_STOPPED;
        if (ep->nstreams) {
            xhci_streams_write_back(s, ep, 0);
        }
        break;
    case CR_RESET_ENDPOINT:
        if (ep->state != EP_HALTED) {
            return CC_CONTEXT_STATE_ERROR;
        }
        ep->state = EP_STOPPED;
        break;
    case CR_SET_TR_DEQUEUE:
        if (ep->state != EP_STOPPED && ep->state != EP_ERROR) {
            return CC_CONTEXT_STATE_ERROR;
        }
        if (ep->nstreams) {
            /* the stream in the TRB's Stream ID field (6.4.3.9) */
            unsigned cc = xhci_stream_set_dequeue(s, ep, trb->status >> 16,
                                                  trb->param);
            if (cc != CC_SUCCESS) {
                return cc;
            }
        } else {
            ep->dequeue = trb->param & ~0xfull;
            ep->dcs = trb->param & 1;
        }
        ep->state = EP_STOPPED;     /* out of the Error state too */
        break;
    }
    xhci_write_ep_ctx(s, slot, dci);
    return CC_SUCCESS;
}

static unsigned xhci_run_command(XHCIState *s, const XHCITRB *trb,
                                 unsigned *slot_out)
{
    unsigned type = TRB_TYPE(trb->control);
    unsigned slotid = (trb->control >> 24) & 0xff;
    XHCISlot *slot;

    if (type == CR_NOOP) {
        return CC_SUCCESS;
    }
    if (type == CR_ENABLE_SLOT) {
        for (unsigned i = 0; i < MIN(s->numslots, s->config & 0xff); i++) {
            if (!s->slots[i].enabled) {
                xhci_clear_slot(&s->slots[i]);
                s->slots[i].enabled = true;     /* enabled, not addressed */
                *slot_out = i + 1;
                return CC_SUCCESS;
            }
        }
        return CC_NO_SLOTS_ERROR;
    }
    *slot_out = slotid;
    if (type < CR_DISABLE_SLOT || type > CR_RESET_DEVICE) {
        return CC_TRB_ERROR;
    }
    if (slotid < 1 || slotid > s->numslots ||
        slotid > (s->config & 0xff)) {
        return CC_TRB_ERROR;
    }
    slot = &s->slots[slotid - 1];
    if (!slot->enabled) {
        return CC_SLOT_NOT_ENABLED_ERROR;
    }
    switch (type) {
    case CR_DISABLE_SLOT:
        xhci_clear_slot(slot);
        return CC_SUCCESS;
    case CR_ADDRESS_DEVICE:
        return xhci_address_device(s, slotid, trb);
    case CR_CONFIGURE_ENDPOINT:
        return xhci_configure_ep(s, slotid, trb);
    case CR_EVALUATE_CONTEXT:
        return xhci_evaluate_ctx(s, slotid, trb);
    case CR_RESET_ENDPOINT:
    case CR_STOP_ENDPOINT:
    case CR_SET_TR_DEQUEUE:
        return xhci_ep_command(s, slotid, trb, type);
    case CR_RESET_DEVICE:
        if (slot->state < SLOT_ADDRESSED) {
            return CC_CONTEXT_STATE_ERROR;
        }
        for (unsigned dci = 2; dci <= 31; dci++) {
            xhci_disable_ep(slot, dci);
        }
        slot->state = SLOT_DEFAULT;
        slot->addr = 0;
        return xhci_slot_ctx_state(s, slot);
    }
    return CC_TRB_ERROR;
}

static void xhci_process_commands(XHCIState *s)
{
    s->cmd_kick_again = false;
    for (unsigned k = 0; k < XHCI_MAX_TDS_PER_KICK; k++) {
        XHCITRB t;
        unsigned links = 0, cc, slotid = 0;

        if (!xhci_running(s) || !(s->crcr & CRCR_CRR)) {
            return;
        }
        for (;;) {
            if (!xhci_read_trb(s, s->cmd_dequeue, &t)) {
                return;
            }
            if (!!(t.control & TRB_C) != s->cmd_ccs) {
                return;             /* ring empty */
            }
            if (TRB_TYPE(t.control) != TR_LINK) {
                break;
            }
            if (++links > XHCI_MAX_LINKS) {
                /* a ring of nothing but links: stop it */
                s->crcr &= ~CRCR_CRR;
                xhci_event(s, 0, t.addr, CC_TRB_ERROR << 24,
                           ER_COMMAND_COMPLETE << 10);
                return;
            }
            if (t.control & TRB_TC) {
                s->cmd_ccs = !s->cmd_ccs;
            }
            s->cmd_dequeue = t.param & ~0xfull;
        }
        cc = xhci_run_command(s, &t, &slotid);
        if (!cc || !xhci_running(s)) {
            return;                 /* HSE */
        }
        s->cmd_dequeue += 16;
        xhci_event(s, 0, t.addr, cc << 24,
                   (ER_COMMAND_COMPLETE << 10) | ((slotid & 0xff) << 24));
    }
    s->cmd_kick_again = true;
    timer_mod(s->kick_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + 1000000);
}

static void xhci_kick_timer(void *opaque)
{
    XHCIState *s = opaque;

    if (s->cmd_kick_again) {
        xhci_process_commands(s);
    }
    for (unsigned i = 0; i < s->numslots; i++) {
        for (unsigned dci = 1; dci <= 31; dci++) {
            if (s->slots[i].eps[dci - 1].kick_again) {
                xhci_rekick_ep(s, i + 1, dci, 0, true);
            }
        }
    }
}

/* ---- reset ---------------------------------------------------------- */

static void xhci_reset_all(XHCIState *s)
{
    s->usbcmd = 0;
    s->usbsts = USBSTS_HCH;
    s->dnctrl = 0;
    s->crcr = 0;
    s->dcbaap = 0;
    s->config = 0;
    s->cmd_dequeue = 0;
    s->cmd_ccs = false;
    s->cmd_kick_again = false;
    for (unsigned i = 0; i < XHCI_MAXSLOTS; i++) {
        xhci_clear_slot(&s->slots[i]);
    }
    memset(s->intr, 0, sizeof(s->intr));
    for (unsigned i = 1; i <= xhci_numports(s); i++) {
        s->ports[i - 1].portsc = PORTSC_PP;
        xhci_port_update(s, i, false);
        if (s->ports[i - 1].portsc & PORTSC_CCS) {
            s->ports[i - 1].portsc |= PORTSC_CSC;
        }
    }
    timer_del(s->kick_timer);
    xhci_update_intx(s);
}

/* ---- registers ------------------------------------------------------ */

static uint64_t xhci_cap_read(void *opaque, uint64_t reg, unsigned size)
{
    XHCIState *s = opaque;

    switch (reg) {
    case 0x00:  /* CAPLENGTH, HCIVERSION */
        return 0x01000000 | OFF_OPER;
    case 0x04:  /* HCSPARAMS1 */
        return ((uint32_t)xhci_numports(s) << 24) | (s->numintrs << 8) |
               s->numslots;
    case 0x08:  /* HCSPARAMS2: ERST Max 4, IST 0 */
        return 4 << 4;
    case 0x0c:  /* HCSPARAMS3 */
        return 0;
    case 0x10:  /* HCCPARAMS1: 64-bit, NSS, MaxPSASize, xECP at 0x20 */
        return (0x20 >> 2) << 16 | XHCI_MAX_PSA_SIZE << 12 | 1 << 7 | 0x1;
    case 0x14:  /* DBOFF */
        return OFF_DOORBELL;
    case 0x18:  /* RTSOFF */
        return OFF_RUNTIME;
    case 0x1c:  /* HCCPARAMS2 */
        return 0;
    /* supported protocol capabilities: USB 2, then USB 3 */
    case 0x20:
        return 0x02000402;
    case 0x24:
        return 0x20425355;              /* "USB " */
    case 0x28:
        return (s->numports_2 << 8) | 1;
    case 0x2c:
        return 0;
    case 0x30:
        return 0x03000002;
    case 0x34:
        return 0x20425355;
    case 0x38:
        return (s->numports_3 << 8) | (s->numports_2 + 1);
    case 0x3c:
        return 0;
    }
    return 0;
}

static void xhci_cap_write(void *opaque, uint64_t reg, uint64_t val,
                           unsigned size)
{
}

static uint64_t xhci_oper_read(void *opaque, uint64_t reg, unsigned size)
{
    XHCIState *s = opaque;

    if (reg >= 0x400) {
        unsigned port_id = ((reg - 0x400) >> 4) + 1;
        if (port_id > xhci_numports(s)) {
            return 0;
        }
        switch (reg & 0xf) {
        case 0:
            return s->ports[port_id - 1].portsc;
        default:
            return 0;
        }
    }
    switch (reg) {
    case 0x00:
        return s->usbcmd;
    case 0x04:
        return s->usbsts;
    case 0x08:
        return 1;                       /* PAGESIZE: 4 KiB */
    case 0x14:
        return s->dnctrl;
    case 0x18:
        return s->crcr & CRCR_CRR;      /* the pointer reads as zero */
    case 0x1c:
        return 0;
    case 0x30:
        return (uint32_t)s->dcbaap;
    case 0x34:
        return s->dcbaap >> 32;
    case 0x38:
        return s->config;
    }
    return 0;
}

static void xhci_write_usbcmd(XHCIState *s, uint32_t val)
{
    if ((val & USBCMD_RS) && !(s->usbcmd & USBCMD_RS)) {
        if (!(s->usbsts & (USBSTS_HSE | USBSTS_HCE))) {
            s->usbsts &= ~USBSTS_HCH;
            s->mfindex_start = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        }
    } else if (!(val & USBCMD_RS) && (s->usbcmd & USBCMD_RS)) {
        s->usbsts |= USBSTS_HCH;
        s->crcr &= ~CRCR_CRR;
    }
    if (val & USBCMD_HCRST) {
        xhci_reset_all(s);
        return;
    }
    if (val & USBCMD_CSS) {
        s->usbsts &= ~USBSTS_SRE;       /* nothing to save */
    }
    if (val & USBCMD_CRS) {
        s->usbsts |= USBSTS_SRE;        /* nothing saved: restore error */
    }
    s->usbcmd = val & 0xc0f;
    if (!(s->usbsts & USBSTS_HCH) && !(s->usbcmd & USBCMD_RS)) {
        s->usbsts |= USBSTS_HCH;
    }
    xhci_update_intx(s);
}

static void xhci_oper_write(void *opaque, uint64_t reg, uint64_t val,
                            unsigned size)
{
    XHCIState *s = opaque;

    if (reg >= 0x400) {
        unsigned port_id = ((reg - 0x400) >> 4) + 1;
        if (port_id <= xhci_numports(s) && (reg & 0xf) == 0) {
            xhci_write_portsc(s, port_id, val);
        }
        return;
    }
    switch (reg) {
    case 0x00:
        xhci_write_usbcmd(s, val);
        break;
    case 0x04:
        s->usbsts &= ~(val & (USBSTS_HSE | USBSTS_EINT | USBSTS_PCD |
                              USBSTS_SRE));
        xhci_update_intx(s);
        break;
    case 0x14:
        s->dnctrl = val & 0xffff;
        break;
    case 0x18:
        if (s->crcr & CRCR_CRR) {
            if (val & (CRCR_CS | CRCR_CA)) {
                s->crcr &= ~CRCR_CRR;
                xhci_event(s, 0, s->cmd_dequeue,
                           CC_COMMAND_RING_STOPPED << 24,
                           ER_COMMAND_COMPLETE << 10);
            }
            break;
        }
        s->crcr = (s->crcr & 0xffffffff00000000ull) | (val & ~0x3full) |
                  (val & CRCR_RCS);
        s->cmd_dequeue = s->crcr & ~0x3full;
        s->cmd_ccs = val & CRCR_RCS;
        break;
    case 0x1c:
        if (!(s->crcr & CRCR_CRR)) {
            s->crcr = (s->crcr & 0xffffffffull) | (val << 32);
            s->cmd_dequeue = s->crcr & ~0x3full;
        }
        break;
    case 0x30:
        s->dcbaap = (s->dcbaap & 0xffffffff00000000ull) | (val & ~0x3full);
        break;
    case 0x34:
        s->dcbaap = (s->dcbaap & 0xffffffffull) | (val << 32);
        break;
    case 0x38:
        s->config = MIN(val & 0xff, s->numslots);
        break;
    }
}

static uint64_t xhci_runtime_read(void *opaque, uint64_t reg, unsigned size)
{
    XHCIState *s = opaque;
    XHCIInterrupter *in;

    if (reg < 0x20) {
        if (reg == 0 && xhci_running(s)) {
            return ((qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) -
                     s->mfindex_start) / 125000) & 0x3fff;
        }
        return 0;
    }
    if (((reg - 0x20) >> 5) >= s->numintrs) {
        return 0;
    }
    in = &s->intr[(reg - 0x20) >> 5];
    switch (reg & 0x1f) {
    case 0x00:
        return in->iman;
    case 0x04:
        return in->imod;
    case 0x08:
        return in->erstsz;
    case 0x10:
        return (uint32_t)in->erstba;
    case 0x14:
        return in->erstba >> 32;
    case 0x18:
        return (uint32_t)in->erdp;
    case 0x1c:
        return in->erdp >> 32;
    }
    return 0;
}

static void xhci_runtime_write(void *opaque, uint64_t reg, uint64_t val,
                               unsigned size)
{
    XHCIState *s = opaque;
    unsigned v;
    XHCIInterrupter *in;

    if (reg < 0x20 || ((reg - 0x20) >> 5) >= s->numintrs) {
        return;
    }
    v = (reg - 0x20) >> 5;
    in = &s->intr[v];
    switch (reg & 0x1f) {
    case 0x00:
        if (val & IMAN_IP) {
            in->iman &= ~IMAN_IP;
        }
        in->iman = (in->iman & ~IMAN_IE) | (val & IMAN_IE);
        if (v == 0) {
            xhci_update_intx(s);
        }
        break;
    case 0x04:
        in->imod = val;
        break;
    case 0x08:
        in->erstsz = val & 0xffff;
        break;
    case 0x10:
        in->erstba = (in->erstba & 0xffffffff00000000ull) | (val & ~0x3full);
        break;
    case 0x14:
        in->erstba = (in->erstba & 0xffffffffull) | (val << 32);
        xhci_er_reset(s, v);
        break;
    case 0x18: {
        bool ehb_cleared = (val & ERDP_EHB) && (in->erdp & ERDP_EHB);

        in->erdp = (in->erdp & 0xffffffff00000000ull) |
                   ((in->erdp & ~(val & ERDP_EHB)) & ERDP_EHB) |
                   (val & ~0xfull) | (val & 7);
        /* the consumer moved: fullness is judged again at the next event */
        in->er_full = false;
        if (ehb_cleared && in->nsegs &&
            (in->erdp & ~0xfull) != xhci_er_addr(in, in->er_seg, in->er_idx)) {
            /* events the handler has not consumed yet: interrupt again */
            xhci_intr_raise(s, v);
        }
        break;
    }
    case 0x1c:
        in->erdp = (in->erdp & 0xffffffffull) | (val << 32);
        break;
    }
}

static uint64_t xhci_doorbell_read(void *opaque, uint64_t reg, unsigned size)
{
    return 0;
}

static void xhci_doorbell_write(void *opaque, uint64_t reg, uint64_t val,
                                unsigned size)
{
    XHCIState *s = opaque;
    unsigned slotid = reg >> 2, target = val & 0xff, sid = val >> 16;

    if (!xhci_running(s)) {
        return;
    }
    if (slotid == 0) {
        if (target == 0) {
            s->crcr |= CRCR_CRR;
            xhci_process_commands(s);
        }
        return;
    }
    if (slotid > s->numslots || target < 1 || target > 31) {
        return;                 /* ignored, as a doorbell to nothing */
    }
    if (!s->slots[slotid - 1].eps[target - 1].nstreams && sid) {
        return;                 /* a stream ID for an endpoint without */
    }
    xhci_kick_ep(s, slotid, target, sid, true);
}

#define XHCI_OPS(name) \
    static const MemoryRegionOps xhci_##name##_ops = { \
        .read = xhci_##name##_read, .write = xhci_##name##_write, \
        .min_access_size = 4, .max_access_size = 4, }
XHCI_OPS(cap);
XHCI_OPS(oper);
XHCI_OPS(runtime);
XHCI_OPS(doorbell);

/* ---- USB ports ------------------------------------------------------ */

static unsigned xhci_uport_port_id(XHCIState *s, USBPort *up, int speed)
{
    return speed == USB_SPEED_SUPER ? s->numports_2 + up->index + 1
                                    : (unsigned)up->index + 1;
}

static void xhci_attach(USBPort *up)
{
    XHCIState *s = up->opaque;
    unsigned port_id = xhci_uport_port_id(s, up, up->dev->speed);

    if (up->dev->speed == USB_SPEED_SUPER) {
        usb_device_reset(up->dev);      /* trained into U0 */
    }
    xhci_port_update(s, port_id, true);
}

static void xhci_detach(USBPort *up)
{
    XHCIState *s = up->opaque;

    for (unsigned id = 1; id <= xhci_numports(s); id++) {
        if (xhci_port_uport(s, id) == up &&
            (s->ports[id - 1].portsc & PORTSC_CCS)) {
            xhci_port_update(s, id, true);
        }
    }
}

static const USBPortOps xhci_port_ops = {
    .attach = xhci_attach,
    .detach = xhci_detach,
    .wakeup = xhci_wakeup,
};

/* ---- device --------------------------------------------------------- */

static bool xhci_realize(DeviceState *dev, GError **errp)
{
    XHCIState *s = (XHCIState *)dev;
    PCIDevice *pd = &s->parent;
    unsigned nuports;

    if (s->numports_2 > XHCI_MAXPORTS_2 || s->numports_3 > XHCI_MAXPORTS_3) {
        error_setg(errp, "xhci: p2 and p3 must be at most 15");
        return false;
    }
    if (s->numintrs < 1 || s->numintrs > XHCI_MAXINTRS) {
        error_setg(errp, "xhci: intrs must be 1 to %d", XHCI_MAXINTRS);
        return false;
    }
    if (s->numslots < 1 || s->numslots > XHCI_MAXSLOTS) {
        error_setg(errp, "xhci: slots must be 1 to %d", XHCI_MAXSLOTS);
        return false;
    }
    pd->config[0x60] = 0x30;            /* SBRN: USB 3.0 */
    pd->config[0x61] = 0x20;            /* FLADJ */
    memory_region_init_container(&s->mem, "xhci", XHCI_BAR_SIZE);
    memory_region_init_io(&s->mem_cap, &xhci_cap_ops, s, "capabilities",
                          OFF_OPER);
    memory_region_init_io(&s->mem_oper, &xhci_oper_ops, s, "operational",
                          0x400 + 0x10 * XHCI_MAXPORTS);
    memory_region_init_io(&s->mem_runtime, &xhci_runtime_ops, s, "runtime",
                          0x20 + 0x20 * XHCI_MAXINTRS);
    memory_region_init_io(&s->mem_doorbell, &xhci_doorbell_ops, s,
                          "doorbell", 4 * (XHCI_MAXSLOTS + 1));
    memory_region_add_subregion(&s->mem, 0, &s->mem_cap);
    memory_region_add_subregion(&s->mem, OFF_OPER, &s->mem_oper);
    memory_region_add_subregion(&s->mem, OFF_RUNTIME, &s->mem_runtime);
    memory_region_add_subregion(&s->mem, OFF_DOORBELL, &s->mem_doorbell);
    pci_register_bar(pd, 0, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->mem);
    if (s->msi && !msi_init(pd, 0x70, s->numintrs, true, false, errp)) {
        goto fail;
    }
    if (s->msix && !msix_init(pd, s->numintrs, &s->mem, 0, OFF_MSIX_TABLE,
                              &s->mem, 0, OFF_MSIX_PBA, 0x90, errp)) {
        goto fail;
    }
    s->buf = g_malloc(XHCI_MAX_TD_BYTES);
    s->kick_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, xhci_kick_timer, s);
    usb_bus_init(&s->bus, dev);
    nuports = MAX(s->numports_2, s->numports_3);
    for (unsigned i = 0; i < nuports; i++) {
        int mask = 0;
        if (i < s->numports_2) {
            mask |= USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL |
                    USB_SPEED_MASK_HIGH;
        }
        if (i < s->numports_3) {
            mask |= USB_SPEED_MASK_SUPER;
        }
        usb_register_port(&s->bus, &s->uports[i], s, i, &xhci_port_ops,
                          mask);
    }
    xhci_reset_all(s);
    return true;
fail:
    memory_region_destroy(&s->mem_cap);
    memory_region_destroy(&s->mem_oper);
    memory_region_destroy(&s->mem_runtime);
    memory_region_destroy(&s->mem_doorbell);
    memory_region_destroy(&s->mem);
    return false;
}

static void xhci_unrealize(DeviceState *dev)
{
    XHCIState *s = (XHCIState *)dev;

    usb_bus_cleanup(&s->bus);
    msix_uninit(&s->parent);
    for (unsigned i = 0; i < XHCI_MAXSLOTS; i++) {
        xhci_clear_slot(&s->slots[i]);
    }
    timer_free(s->kick_timer);
    g_free(s->buf);
    memory_region_destroy(&s->mem_cap);
    memory_region_destroy(&s->mem_oper);
    memory_region_destroy(&s->mem_runtime);
    memory_region_destroy(&s->mem_doorbell);
    memory_region_destroy(&s->mem);
}

static void xhci_qdev_reset(DeviceState *dev)
{
    xhci_reset_all((XHCIState *)dev);
}

static int xhci_post_load(void *opaque, int version_id)
{
    XHCIState *s = opaque;

    for (unsigned v = 0; v < XHCI_MAXINTRS; v++) {
        XHCIInterrupter *in = &s->intr[v];
        if (in->nsegs > XHCI_ERST_MAX || in->er_seg >= MAX(in->nsegs, 1u)) {
            return -1;
        }
        for (unsigned i = 0; i < in->nsegs; i++) {
            if (in->seg_size[i] < 16 || in->seg_size[i] > 4096) {
                return -1;
            }
        }
        if (in->nsegs && in->er_idx >= in->seg_size[in->er_seg]) {
            return -1;
        }
    }
    for (unsigned i = 0; i < XHCI_MAXSLOTS; i++) {
        XHCISlot *slot = &s->slots[i];
        if (slot->state > SLOT_CONFIGURED) {
            return -1;
        }
        for (unsigned e = 0; e < 31; e++) {
            if (slot->eps[e].state > EP_ERROR ||
                !xhci_streams_post_load(&slot->eps[e])) {
                return -1;
            }
        }
    }
    s->config = MIN(s->config, s->numslots);
    for (unsigned id = 1; id <= xhci_numports(s); id++) {
        uint32_t keep = s->ports[id - 1].portsc &
            (PORTSC_CHANGE_BITS | PORTSC_PP | PORTSC_WCE | PORTSC_WDE |
             PORTSC_WOE | PORTSC_PED | PORTSC_PLS_MASK);
        xhci_port_update(s, id, false);
        if (s->ports[id - 1].portsc & PORTSC_CCS) {
            s->ports[id - 1].portsc =
                (s->ports[id - 1].portsc & ~(PORTSC_PED | PORTSC_PLS_MASK)) |
                keep;
        } else {
            s->ports[id - 1].portsc |= keep & PORTSC_CHANGE_BITS;
        }
    }
    xhci_update_intx(s);
    return 0;
}

/* Version 2: the stream fields (nested tables travel at their current
 * version, so the controller's table went to version 2 with them). */
static const VMStateDescription vmstate_xhci_ep = {
    .name = "xhci-ep", .version_id = 2, .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(state, XHCIEndpoint),
        VMSTATE_UINT8(type, XHCIEndpoint),
        VMSTATE_BOOL(dcs, XHCIEndpoint),
        VMSTATE_BOOL(kick_again, XHCIEndpoint),
        VMSTATE_UINT64(dequeue, XHCIEndpoint),
        VMSTATE_UINT8(max_pstreams, XHCIEndpoint),
        VMSTATE_BOOL(lsa, XHCIEndpoint),
        VMSTATE_BOOL(hid, XHCIEndpoint),
        VMSTATE_UINT32(nstreams, XHCIEndpoint),
        VMSTATE_VARRAY_STRUCT(streams, XHCIEndpoint, nstreams,
                              XHCI_MAX_STREAMS, vmstate_xhci_stream,
                              XHCIStream),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_xhci_slot = {
    .name = "xhci-slot", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(enabled, XHCISlot),
        VMSTATE_UINT8(state, XHCISlot),
        VMSTATE_UINT8(port_id, XHCISlot),
        VMSTATE_UINT32(route, XHCISlot),
        VMSTATE_UINT8(addr, XHCISlot),
        VMSTATE_UINT64(ctx, XHCISlot),
        VMSTATE_STRUCT_ARRAY(eps, XHCISlot, 31, vmstate_xhci_ep,
                             XHCIEndpoint),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_xhci_intr = {
    .name = "xhci-intr", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(iman, XHCIInterrupter),
        VMSTATE_UINT32(imod, XHCIInterrupter),
        VMSTATE_UINT32(erstsz, XHCIInterrupter),
        VMSTATE_UINT64(erstba, XHCIInterrupter),
        VMSTATE_UINT64(erdp, XHCIInterrupter),
        VMSTATE_UINT32(nsegs, XHCIInterrupter),
        VMSTATE_UINT64_ARRAY(seg_base, XHCIInterrupter, XHCI_ERST_MAX),
        VMSTATE_UINT32_ARRAY(seg_size, XHCIInterrupter, XHCI_ERST_MAX),
        VMSTATE_UINT32(er_seg, XHCIInterrupter),
        VMSTATE_UINT32(er_idx, XHCIInterrupter),
        VMSTATE_BOOL(er_pcs, XHCIInterrupter),
        VMSTATE_BOOL(er_full, XHCIInterrupter),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_xhci = {
    .name = "xhci",
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = xhci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(usbcmd, XHCIState),
        VMSTATE_UINT32(usbsts, XHCIState),
        VMSTATE_UINT32(dnctrl, XHCIState),
        VMSTATE_UINT32(config, XHCIState),
        VMSTATE_UINT64(crcr, XHCIState),
        VMSTATE_UINT64(dcbaap, XHCIState),
        VMSTATE_UINT64(cmd_dequeue, XHCIState),
        VMSTATE_BOOL(cmd_ccs, XHCIState),
        VMSTATE_BOOL(cmd_kick_again, XHCIState),
        VMSTATE_INT64(mfindex_start, XHCIState),
        VMSTATE_UINT32_ARRAY(ports, XHCIState, XHCI_MAXPORTS),
        VMSTATE_STRUCT_ARRAY(slots, XHCIState, XHCI_MAXSLOTS,
                             vmstate_xhci_slot, XHCISlot),
        VMSTATE_STRUCT_ARRAY(intr, XHCIState, XHCI_MAXINTRS,
                             vmstate_xhci_intr, XHCIInterrupter),
        VMSTATE_TIMER_PTR(kick_timer, XHCIState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property xhci_props[] = {
    DEFINE_PROP("p2", XHCIState, numports_2, PROP_UINT32, "4",
                "USB 2 root hub ports"),
    DEFINE_PROP("p3", XHCIState, numports_3, PROP_UINT32, "4",
                "USB 3 root hub ports"),
    DEFINE_PROP("intrs", XHCIState, numintrs, PROP_UINT32, "16",
                "interrupters (MSI/MSI-X vectors)"),
    DEFINE_PROP("slots", XHCIState, numslots, PROP_UINT32, "64",
                "device slots"),
    DEFINE_PROP("msi", XHCIState, msi, PROP_BOOL, "on", "MSI capability"),
    DEFINE_PROP("msix", XHCIState, msix, PROP_BOOL, "on",
                "MSI-X capability"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass qemu_xhci_class = {
    .vendor_id = PCI_VENDOR_ID_REDHAT,
    .device_id = 0x000d,
    .revision = 0x01,
    .class_id = 0x0c03,
    .prog_if = 0x30,                /* xHCI */
    .interrupt_pin = 1,
};

static const PCIDeviceClass nec_xhci_class = {
    .vendor_id = 0x1033,
    .device_id = 0x0194,
    .revision = 0x03,
    .class_id = 0x0c03,
    .prog_if = 0x30,
    .interrupt_pin = 1,
};

static const DeviceType xhci_types[] = {
    {
        .name = "qemu-xhci",
        .parent = TYPE_PCI_DEVICE,
        .desc = "QEMU xHCI USB controller",
        .instance_size = sizeof(XHCIState),
        .user_creatable = true,
        .category = DEVICE_CATEGORY_USB,
        .props = xhci_props,
        .realize = xhci_realize,
        .unrealize = xhci_unrealize,
        .reset = xhci_qdev_reset,
        .vmsd = &vmstate_xhci,
        .class_data = &qemu_xhci_class,
    }, {
        .name = "nec-usb-xhci",
        .parent = TYPE_PCI_DEVICE,
        .desc = "NEC xHCI USB controller (uPD720200)",
        .instance_size = sizeof(XHCIState),
        .user_creatable = true,
        .category = DEVICE_CATEGORY_USB,
        .props = xhci_props,
        .realize = xhci_realize,
        .unrealize = xhci_unrealize,
        .reset = xhci_qdev_reset,
        .vmsd = &vmstate_xhci,
        .class_data = &nec_xhci_class,
    },
};

static void xhci_register_types(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(xhci_types); i++) {
        device_type_register(&xhci_types[i]);
    }
}
type_init(xhci_register_types)
