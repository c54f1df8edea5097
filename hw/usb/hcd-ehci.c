/*
 * EHCI: the USB 2.0 high-speed host controller, with QEMU 7.2's PCI
 * fronts `usb-ehci` (ICH4, 8086:24cd), `ich9-usb-ehci1` (8086:293a) and
 * `ich9-usb-ehci2` (8086:293c), each with 6 ports; full- and low-speed
 * devices are handed to companion UHCI controllers (`ich9-usb-uhciN,
 * masterbus=EHCI.0,firstport=N`, hw/usb/hcd-uhci.c).
 *
 * Spec: Enhanced Host Controller Interface Specification for Universal
 * Serial Bus, revision 1.0 (Intel, 2002): 2.1 PCI configuration (SBRN
 * 60h, FLADJ 61h), 2.2 capability registers (CAPLENGTH, HCIVERSION,
 * HCSPARAMS, HCCPARAMS), 2.3 operational registers (USBCMD, USBSTS,
 * USBINTR, FRINDEX, CTRLDSSEGMENT, PERIODICLISTBASE, ASYNCLISTADDR,
 * CONFIGFLAG, PORTSC), 3.1 periodic frame list, 3.3 iTD, 3.4 siTD, 3.5
 * qTD, 3.6 QH, 3.7 FSTN, 4.2 port routing and the companion controllers,
 * 4.7 periodic isochronous transfers, 4.8 the async schedule, 4.8.2 the
 * async advance doorbell, 4.10 QH/qTD processing, 4.15 interrupts.
 *
 * Model: one frame (1 ms of the virtual clock, FRINDEX += 8) at a time
 * while Run/Stop is set: the periodic list entry of the frame is walked
 * (interrupt QHs with a non-zero S-mask run once per frame), then one
 * pass over the async schedule's circular QH list.  Each QH runs its
 * queue of qTDs until one NAKs, halts or the queue is empty; a qTD moves
 * its whole buffer (up to 20 KiB, 5 pages) in one packet to the device.
 * An iTD runs all its active micro-frame transactions (one packet each,
 * up to 3072 bytes) when its frame comes, an active siTD its one
 * full-speed packet (up to 1023 bytes); both write their status and
 * lengths back at once.  Nothing is ever in flight across frames, so the
 * controller has no isochronous state of its own to migrate.
 *
 * Guest input is hostile: every structure and buffer goes through PCI
 * DMA; one that master-aborts halts the controller with Host System
 * Error.  A frame or an async pass visits at most EHCI_MAX_ELEMENTS
 * QHs/qTDs/other elements; more (a loop that does not return to the
 * head, a qTD ring) halts with Host System Error, so a guest cannot hang
 * kvmpc.  A qTD with more than 20 KiB or a reserved PID halts with a
 * transaction error (USBERRINT).  An iTD transaction whose page select or
 * buffer runs past page 6, or longer than 3072 bytes, and an siTD whose
 * buffer runs past page 1, end with Data Buffer Error (USBERRINT).
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/usb/usb.h"
#include "system/timer.h"

#define EHCI_NB_PORTS           6
#define EHCI_BAR_SIZE           0x1000
#define EHCI_CAPLENGTH          0x20    /* operational registers at 20h */

/* capability registers */
#define EHCI_CAP_CAPLENGTH      0x00
#define EHCI_CAP_HCIVERSION     0x02
#define EHCI_CAP_HCSPARAMS      0x04
#define EHCI_CAP_HCCPARAMS      0x08

/* operational registers (offsets from CAPLENGTH) */
#define EHCI_USBCMD             0x00
#define EHCI_USBSTS             0x04
#define EHCI_USBINTR            0x08
#define EHCI_FRINDEX            0x0c
#define EHCI_CTRLDSSEGMENT      0x10
#define EHCI_PERIODICLISTBASE   0x14
#define EHCI_ASYNCLISTADDR      0x18
#define EHCI_CONFIGFLAG         0x40
#define EHCI_PORTSC             0x44

#define USBCMD_RS               (1u << 0)
#define USBCMD_HCRESET          (1u << 1)
#define USBCMD_FLS              (3u << 2)
#define USBCMD_PSE              (1u << 4)
#define USBCMD_ASE              (1u << 5)
#define USBCMD_IAAD             (1u << 6)
#define USBCMD_LHCR             (1u << 7)
#define USBCMD_ITC_SHIFT        16
#define USBCMD_WMASK            (USBCMD_RS | USBCMD_PSE | USBCMD_ASE | \
                                 USBCMD_IAAD | (0xffu << USBCMD_ITC_SHIFT))

#define USBSTS_USBINT           (1u << 0)
#define USBSTS_ERRINT           (1u << 1)
#define USBSTS_PCD              (1u << 2)
#define USBSTS_FLR              (1u << 3)
#define USBSTS_HSE              (1u << 4)
#define USBSTS_IAA              (1u << 5)
#define USBSTS_INT_MASK         0x3fu
#define USBSTS_HCHALTED         (1u << 12)
#define USBSTS_REC              (1u << 13)
#define USBSTS_PSS              (1u << 14)
#define USBSTS_ASS              (1u << 15)

#define PORTSC_CCS              (1u << 0)
#define PORTSC_CSC              (1u << 1)
#define PORTSC_PED              (1u << 2)
#define PORTSC_PEDC             (1u << 3)
#define PORTSC_OCA              (1u << 4)
#define PORTSC_OCC              (1u << 5)
#define PORTSC_FPR              (1u << 6)
#define PORTSC_SUSPEND          (1u << 7)
#define PORTSC_PR               (1u << 8)
#define PORTSC_LS_SHIFT         10
#define PORTSC_LS_K             (1u << PORTSC_LS_SHIFT)   /* low speed */
#define PORTSC_PP               (1u << 12)
#define PORTSC_POWNER           (1u << 13)
#define PORTSC_PIC              (3u << 14)
#define PORTSC_PTC              (0xfu << 16)
#define PORTSC_WKE              (7u << 20)
#define PORTSC_RO               (PORTSC_CCS | PORTSC_OCA | (3u << 10))
#define PORTSC_RWC              (PORTSC_CSC | PORTSC_PEDC | PORTSC_OCC)
#define PORTSC_RW               (PORTSC_FPR | PORTSC_SUSPEND | PORTSC_PIC | \
                                 PORTSC_PTC | PORTSC_WKE)

/* link pointers (3.1, 3.6.1) */
#define LINK_T                  1u
#define LINK_TYPE(l)            (((l) >> 1) & 3)
#define LINK_ADDR(l)            ((l) & ~0x1fu)
#define NLPTR_TYPE_ITD          0
#define NLPTR_TYPE_QH           1
#define NLPTR_TYPE_SITD         2
#define NLPTR_TYPE_FSTN         3

/* QH dwords (3.6) */
#define QH_HLINK                0
#define QH_EPCHAR               1
#define QH_EPCAP                2
#define QH_CURRENT              3
#define QH_NEXT                 4       /* overlay: a qTD from here on */
#define QH_ALTNEXT              5
#define QH_TOKEN                6
#define QH_BUF0                 7
#define QH_DWORDS               12

#define QH_EPCHAR_ADDR(c)       ((c) & 0x7f)
#define QH_EPCHAR_EP(c)         (((c) >> 8) & 0xf)
#define QH_EPCHAR_EPS(c)        (((c) >> 12) & 3)
#define QH_EPCHAR_DTC           (1u << 14)
#define QH_EPCHAR_H             (1u << 15)
#define QH_EPCHAR_MPL(c)        (((c) >> 16) & 0x7ff)
#define QH_EPS_HIGH             2

/* qTD token (3.5.3) */
#define QTD_TOKEN_DTOGGLE       (1u << 31)
#define QTD_TOKEN_TBYTES_SHIFT  16
#define QTD_TOKEN_TBYTES(t)     (((t) >> 16) & 0x7fff)
#define QTD_TOKEN_IOC           (1u << 15)
#define QTD_TOKEN_CPAGE_SHIFT   12
#define QTD_TOKEN_CPAGE(t)      (((t) >> 12) & 7)
#define QTD_TOKEN_CERR_SHIFT    10
#define QTD_TOKEN_PID(t)        (((t) >> 8) & 3)
#define QTD_TOKEN_ACTIVE        (1u << 7)
#define QTD_TOKEN_HALT          (1u << 6)
#define QTD_TOKEN_DBERR         (1u << 5)
#define QTD_TOKEN_BABBLE        (1u << 4)
#define QTD_TOKEN_XACTERR       (1u << 3)
#define QTD_PID_OUT             0
#define QTD_PID_IN              1
#define QTD_PID_SETUP           2

#define EHCI_FRAME_NS           1000000     /* 1 ms: 8 micro-frames */
#define EHCI_MAX_QTD_BYTES      0x5000      /* 5 pages of 4 KiB */
/* QHs, qTDs and other elements one frame walk or async pass may visit */
#define EHCI_MAX_ELEMENTS       2048
/* the largest structure read or written at once: an iTD */
#define EHCI_MAX_DWORDS         16

/* iTD dwords (3.3) */
#define ITD_NEXT                0
#define ITD_TRANSACT0           1       /* 8 status and control dwords */
#define ITD_BUFPTR0             9       /* 7 buffer page pointers */
#define ITD_DWORDS              16
#define ITD_MICROFRAMES         8
#define ITD_PAGES               7

#define ITD_TRANS_ACTIVE        (1u << 31)
#define ITD_TRANS_DBERR         (1u << 30)
#define ITD_TRANS_BABBLE        (1u << 29)
#define ITD_TRANS_XACTERR       (1u << 28)
#define ITD_TRANS_LEN_SHIFT     16
#define ITD_TRANS_LEN(t)        (((t) >> 16) & 0xfff)
#define ITD_TRANS_IOC           (1u << 15)
#define ITD_TRANS_PG(t)         (((t) >> 12) & 7)
#define ITD_TRANS_OFFSET(t)     ((t) & 0xfff)
#define ITD_BUF_DEVADDR(b)      ((b) & 0x7f)            /* page 0 */
#define ITD_BUF_ENDPT(b)        (((b) >> 8) & 0xf)      /* page 0 */
#define ITD_BUF_IO_IN           (1u << 11)              /* page 1 */
#define ITD_BUF_MAXPKT(b)       ((b) & 0x7ff)           /* page 1 */
#define ITD_BUF_MULT(b)         ((b) & 3)               /* page 2 */
#define ITD_MAX_MAXPKT          1024
#define ITD_MAX_LEN             3072    /* Mult 3 x 1024 in a micro-frame */

/* siTD dwords (3.4) */
#define SITD_NEXT               0
#define SITD_EPCHAR             1
#define SITD_UFRAME             2
#define SITD_STATE              3
#define SITD_BUF0               4
#define SITD_BUF1               5
#define SITD_BACK               6
#define SITD_DWORDS             7

#define SITD_EPCHAR_IO_IN       (1u << 31)
#define SITD_EPCHAR_DEVADDR(c)  ((c) & 0x7f)
#define SITD_EPCHAR_ENDPT(c)    (((c) >> 8) & 0xf)
#define SITD_UFRAME_SMASK(u)    ((u) & 0xff)
#define SITD_STATE_IOC          (1u << 31)
#define SITD_STATE_P            (1u << 30)
#define SITD_STATE_TBYTES_SHIFT 16
#define SITD_STATE_TBYTES(t)    (((t) >> 16) & 0x3ff)
#define SITD_STATE_ACTIVE       (1u << 7)
#define SITD_STATE_DBERR        (1u << 5)
#define SITD_STATE_BABBLE       (1u << 4)
#define SITD_STATE_XACTERR      (1u << 3)
#define SITD_STATE_SPLITX       (1u << 1)

typedef struct EHCIState EHCIState;

typedef struct EHCIPort {
    USBPort port;
    uint32_t portsc;
    USBPort *companion;         /* a UHCI port, or NULL */
} EHCIPort;

struct EHCIState {
    PCIDevice parent;
    MemoryRegion mem;
    USBBus bus;
    EHCIPort ports[EHCI_NB_PORTS];
    QEMUTimer *frame_timer;
    /* operational registers */
    uint32_t usbcmd, usbsts, usbintr, frindex, ctrldsseg;
    uint32_t periodiclistbase, asynclistaddr, configflag;
    int64_t expire_time;
    unsigned elements;          /* visited in the walk being done */
    uint8_t buf[EHCI_MAX_QTD_BYTES];
};

static void ehci_update_irq(EHCIState *s)
{
    pci_set_irq(&s->parent, !!(s->usbsts & s->usbintr & USBSTS_INT_MASK));
}

static void ehci_raise(EHCIState *s, uint32_t sts)
{
    s->usbsts |= sts;
    ehci_update_irq(s);
}

/* Host System Error: the controller halts (4.15.2.4). */
static void ehci_hse(EHCIState *s)
{
    s->usbcmd &= ~USBCMD_RS;
    s->usbsts |= USBSTS_HSE | USBSTS_HCHALTED;
    s->usbsts &= ~(USBSTS_PSS | USBSTS_ASS);
    timer_del(s->frame_timer);
    ehci_update_irq(s);
}

static bool ehci_running(EHCIState *s)
{
    return s->usbcmd & USBCMD_RS;
}

/* DMA of @n dwords; false (and HSE) when it master-aborts. */
static bool ehci_read_dwords(EHCIState *s, uint32_t addr, uint32_t *d,
                             unsigned n)
{
    uint8_t b[EHCI_MAX_DWORDS * 4];

    g_assert(n <= EHCI_MAX_DWORDS);
    if (pci_dma_read(&s->parent, addr, b, n * 4) != MEMTX_OK) {
        ehci_hse(s);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        d[i] = ldl_le_p(b + 4 * i);
    }
    return true;
}

static bool ehci_write_dwords(EHCIState *s, uint32_t addr,
                              const uint32_t *d, unsigned n)
{
    uint8_t b[EHCI_MAX_DWORDS * 4];

    g_assert(n <= EHCI_MAX_DWORDS);
    for (unsigned i = 0; i < n; i++) {
        stl_le_p(b + 4 * i, d[i]);
    }
    if (pci_dma_write(&s->parent, addr, b, n * 4) != MEMTX_OK) {
        ehci_hse(s);
        return false;
    }
    return true;
}

/* One more element in this walk; false (and HSE) past the bound. */
static bool ehci_count_element(EHCIState *s)
{
    if (++s->elements > EHCI_MAX_ELEMENTS) {
        ehci_hse(s);
        return false;
    }
    return true;
}

/* ---- ports and routing ---------------------------------------------- */

static bool ehci_port_is_companion(EHCIPort *p)
{
    return p->portsc & PORTSC_POWNER;
}

static int ehci_best_speed(int mask)
{
    for (int sp = USB_SPEED_HIGH; sp >= USB_SPEED_LOW; sp--) {
        if (mask & (1 << sp)) {
            return sp;
        }
    }
    return USB_SPEED_FULL;
}

/* The port's device shows up as connected on the EHCI side. */
static void ehci_port_connect(EHCIState *s, EHCIPort *p)
{
    USBDevice *dev = p->port.dev;

    dev->speed = ehci_best_speed(dev->speedmask & p->port.speedmask);
    p->portsc |= PORTSC_CCS | PORTSC_CSC;
    p->portsc &= ~(3u << PORTSC_LS_SHIFT);
    if (dev->speed == USB_SPEED_LOW) {
        /* the line state tells the driver to hand over at once (4.2.2) */
        p->portsc |= PORTSC_LS_K;
    }
    ehci_raise(s, USBSTS_PCD);
}

static void ehci_port_disconnect(EHCIState *s, EHCIPort *p)
{
    p->portsc &= ~(PORTSC_CCS | PORTSC_PED | (3u << PORTSC_LS_SHIFT));
    p->portsc |= PORTSC_CSC;
    ehci_raise(s, USBSTS_PCD);
}

/* The companion takes (or gives back) the port's device. */
static void ehci_companion_attach(EHCIPort *p)
{
    USBPort *c = p->companion;
    USBDevice *dev = p->port.dev;

    dev->speed = ehci_best_speed(dev->speedmask &
                                 (USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL));
    c->dev = dev;
    if (c->ops->attach) {
        c->ops->attach(c);
    }
}

static void ehci_companion_detach(EHCIPort *p)
{
    USBPort *c = p->companion;

    c->dev = NULL;
    if (c->ops->detach) {
        c->ops->detach(c);
    }
}

/* PORT_OWNER written (or CONFIGFLAG): move the device across (4.2.2). */
static void ehci_set_owner(EHCIState *s, EHCIPort *p, bool companion)
{
    if (!p->companion) {
        companion = false;
    }
    if (companion == ehci_port_is_companion(p)) {
        return;
    }
    if (p->port.dev) {
        if (ehci_port_is_companion(p)) {
            ehci_companion_detach(p);
        } else {
            ehci_port_disconnect(s, p);
        }
    }
    p->portsc ^= PORTSC_POWNER;
    p->portsc &= ~(PORTSC_PED | PORTSC_CCS | (3u << PORTSC_LS_SHIFT));
    if (p->port.dev) {
        if (companion) {
            ehci_companion_attach(p);
        } else {
            ehci_port_connect(s, p);
        }
    }
}

static void ehci_attach(USBPort *port)
{
    EHCIState *s = port->opaque;
    EHCIPort *p = &s->ports[port->index];

    if (ehci_port_is_companion(p)) {
        ehci_companion_attach(p);
        return;
    }
    ehci_port_connect(s, p);
}

static void ehci_detach(USBPort *port)
{
    EHCIState *s = port->opaque;
    EHCIPort *p = &s->ports[port->index];

    if (ehci_port_is_companion(p)) {
        ehci_companion_detach(p);
        return;
    }
    ehci_port_disconnect(s, p);
    if (p->portsc & PORTSC_PED) {
        p->portsc |= PORTSC_PEDC;
    }
}

static void ehci_wakeup(USBPort *port, USBDevice *dev, unsigned ep,
                        unsigned stream)
{
    EHCIState *s = port->opaque;
    EHCIPort *p = &s->ports[port->index];

    if (ehci_port_is_companion(p)) {
        if (p->companion->ops->wakeup) {
            p->companion->ops->wakeup(p->companion, dev, ep, stream);
        }
        return;
    }
    /* the schedules retry NAKed qTDs every frame; resume a suspended port */
    if (p->portsc & PORTSC_SUSPEND) {
        p->portsc |= PORTSC_FPR;
        ehci_raise(s, USBSTS_PCD);
    }
}

static const USBPortOps ehci_port_ops = {
    .attach = ehci_attach,
    .detach = ehci_detach,
    .wakeup = ehci_wakeup,
};

/* Called by a UHCI with masterbus= naming this controller's bus. */
static bool ehci_register_companion(USBBus *bus, USBPort *ports[],
                                    unsigned n, unsigned first,
                                    GError **errp)
{
    EHCIState *s = (EHCIState *)bus->hc;

    if (first > EHCI_NB_PORTS || n > EHCI_NB_PORTS - first) {
        error_setg(errp, "firstport must be between 0 and %u",
                   EHCI_NB_PORTS - n);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (s->ports[first + i].companion) {
            error_setg(errp, "firstport: port %u already has a companion "
                       "assigned", first + i);
            return false;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        EHCIPort *p = &s->ports[first + i];

        p->companion = ports[i];
        p->port.speedmask |= ports[i]->speedmask;
        /* until CONFIGFLAG is set the companions own the ports */
        if (!s->configflag) {
            p->portsc |= PORTSC_POWNER;
        }
    }
    return true;
}

static USBDevice *ehci_find_device(EHCIState *s, uint8_t addr)
{
    for (unsigned i = 0; i < EHCI_NB_PORTS; i++) {
        EHCIPort *p = &s->ports[i];
        USBDevice *dev;

        if (!ehci_port_is_companion(p) && (p->portsc & PORTSC_PED) &&
            (dev = usb_find_device(p->port.dev, addr))) {
            return dev;
        }
    }
    return NULL;
}

/* ---- qTD execution (4.10) --------------------------------------------- */

/* Move @len bytes between s->buf and the qTD's pages from the offset in
 * the overlay's buffer pointers (qh[QH_BUF0..]) and C_Page. */
static bool ehci_buffer_dma(EHCIState *s, const uint32_t *qh, size_t len,
                            bool to_guest)
{
    unsigned page = QTD_TOKEN_CPAGE(qh[QH_TOKEN]);
    uint32_t offset = qh[QH_BUF0] & 0xfff;
    size_t done = 0;

    while (done < len) {
        size_t chunk = MIN(len - done, 0x1000 - offset);
        uint32_t addr;
        MemTxResult r;

        if (page > 4) {
            return false;   /* past page 4: a buffer error, not DMA */
        }
        addr = (qh[QH_BUF0 + page] & ~0xfffu) + offset;
        r = to_guest ? pci_dma_write(&s->parent, addr, s->buf + done, chunk)
                     : pci_dma_read(&s->parent, addr, s->buf + done, chunk);
        if (r != MEMTX_OK) {
            ehci_hse(s);
            return false;
        }
        done += chunk;
        offset = 0;
        page++;
    }
    return true;
}

/* Advance the overlay's buffer position by @n bytes (C_Page, offset). */
static void ehci_advance_buffer(uint32_t *qh, size_t n)
{
    uint32_t pos = QTD_TOKEN_CPAGE(qh[QH_TOKEN]) * 0x1000 +
                   (qh[QH_BUF0] & 0xfff) + n;

    qh[QH_TOKEN] = (qh[QH_TOKEN] & ~(7u << QTD_TOKEN_CPAGE_SHIFT)) |
                   (MIN(pos >> 12, 4u) << QTD_TOKEN_CPAGE_SHIFT);
    qh[QH_BUF0] = (qh[QH_BUF0] & ~0xfffu) | (pos & 0xfff);
}

typedef enum {
    QTD_COMPLETE,       /* done: the queue advances */
    QTD_NAK,            /* still active: retried next frame */
    QTD_HALTED,         /* an error: the queue stops */
    QTD_FATAL,          /* the controller halted (HSE) */
} QTDResult;

static QTDResult ehci_qtd_error(EHCIState *s, uint32_t *qh, uint32_t bits)
{
    qh[QH_TOKEN] &= ~(QTD_TOKEN_ACTIVE | (3u << QTD_TOKEN_CERR_SHIFT));
    qh[QH_TOKEN] |= QTD_TOKEN_HALT | bits;
    s->usbsts |= USBSTS_ERRINT;
    if (qh[QH_TOKEN] & QTD_TOKEN_IOC) {
        s->usbsts |= USBSTS_USBINT;
    }
    return QTD_HALTED;
}

/* Run the transaction described by the overlay of @qh. */
static QTDResult ehci_run_overlay(EHCIState *s, uint32_t *qh)
{
    uint32_t token = qh[QH_TOKEN], epchar = qh[QH_EPCHAR];
    size_t len = QTD_TOKEN_TBYTES(token);
    unsigned pid = QTD_TOKEN_PID(token);
    unsigned mps = QH_EPCHAR_MPL(epchar);
    USBPacket p = { .ep = QH_EPCHAR_EP(epchar), .buf = s->buf, .len = len };
    USBDevice *dev;

    if (len > EHCI_MAX_QTD_BYTES ||
        QTD_TOKEN_CPAGE(token) * 0x1000 + (qh[QH_BUF0] & 0xfff) + len >
        5 * 0x1000) {
        return ehci_qtd_error(s, qh, QTD_TOKEN_DBERR);
    }
    switch (pid) {
    case QTD_PID_OUT:
        p.pid = USB_TOKEN_OUT;
        break;
    case QTD_PID_IN:
        p.pid = USB_TOKEN_IN;
        break;
    case QTD_PID_SETUP:
        p.pid = USB_TOKEN_SETUP;
        break;
    default:
        return ehci_qtd_error(s, qh, QTD_TOKEN_XACTERR);
    }
    if (QH_EPCHAR_EPS(epchar) != QH_EPS_HIGH) {
        /* split transactions to a full/low-speed device behind a hub:
         * kvmpc's hubs are full speed and hang off the companions */
        return ehci_qtd_error(s, qh, QTD_TOKEN_XACTERR);
    }
    if (p.pid != USB_TOKEN_IN && len && !ehci_buffer_dma(s, qh, len, false)) {
        return ehci_running(s) ? ehci_qtd_error(s, qh, QTD_TOKEN_DBERR)
                               : QTD_FATAL;
    }
    dev = ehci_find_device(s, QH_EPCHAR_ADDR(epchar));
    if (dev) {
        usb_handle_packet(dev, &p);
    } else {
        p.status = USB_RET_NODEV;
    }
    switch (p.status) {
    case USB_RET_NAK:
        return QTD_NAK;
    case USB_RET_SUCCESS:
        break;
    case USB_RET_STALL:
        return ehci_qtd_error(s, qh, 0);
    case USB_RET_BABBLE:
        return ehci_qtd_error(s, qh, QTD_TOKEN_BABBLE);
    default:
        return ehci_qtd_error(s, qh, QTD_TOKEN_XACTERR);
    }
    p.actual = MIN(p.actual, len);
    if (p.pid == USB_TOKEN_IN && p.actual &&
        !ehci_buffer_dma(s, qh, p.actual, true)) {
        return ehci_running(s) ? ehci_qtd_error(s, qh, QTD_TOKEN_DBERR)
                               : QTD_FATAL;
    }
    ehci_advance_buffer(qh, p.actual);
    /* the data toggle flips once per packet moved */
    if (mps && (((p.actual + mps - 1) / mps) & 1)) {
        qh[QH_TOKEN] ^= QTD_TOKEN_DTOGGLE;
    } else if (!p.actual && p.pid != USB_TOKEN_SETUP) {
        qh[QH_TOKEN] ^= QTD_TOKEN_DTOGGLE;      /* a zero-length packet */
    }
    qh[QH_TOKEN] = (qh[QH_TOKEN] & ~(0x7fffu << QTD_TOKEN_TBYTES_SHIFT)) |
                   ((uint32_t)(len - p.actual) << QTD_TOKEN_TBYTES_SHIFT);
    qh[QH_TOKEN] &= ~QTD_TOKEN_ACTIVE;
    if (qh[QH_TOKEN] & QTD_TOKEN_IOC) {
        s->usbsts |= USBSTS_USBINT;
    }
    if (p.pid == USB_TOKEN_IN && p.actual < len) {
        s->usbsts |= USBSTS_USBINT;     /* short packet (4.15.1.2) */
    }
    return QTD_COMPLETE;
}

/*
 * Run the queue of the QH at @addr: execute the overlay while it is
 * active, fetch the next active qTD into it when it is not (4.10.2),
 * until a NAK, an error or an empty queue.
 */
static bool ehci_run_qh(EHCIState *s, uint32_t addr, uint32_t *hlink)
{
    uint32_t qh[QH_DWORDS];

    if (!ehci_read_dwords(s, addr, qh, QH_DWORDS)) {
        return false;
    }
    *hlink = qh[QH_HLINK];
    for (;;) {
        if (qh[QH_TOKEN] & QTD_TOKEN_ACTIVE) {
            uint32_t qtd_addr = LINK_ADDR(qh[QH_CURRENT]);
            QTDResult r = ehci_run_overlay(s, qh);

            if (r == QTD_FATAL) {
                return false;
            }
            if (r == QTD_NAK) {
                return true;
            }
            /* write the token back to the qTD and the overlay (4.10.5) */
            if (!ehci_write_dwords(s, qtd_addr + 8, &qh[QH_TOKEN], 2) ||
                !ehci_write_dwords(s, addr + 4 * QH_TOKEN, &qh[QH_TOKEN], 2)) {
                return false;
            }
            if (r == QTD_HALTED) {
                return true;
            }
            continue;
        }
        if (qh[QH_TOKEN] & QTD_TOKEN_HALT) {
            return true;        /* software must clear it */
        }
        {
            /* advance: the alternate next after a short transfer */
            uint32_t next = qh[QH_NEXT], qtd[8];

            if (QTD_TOKEN_TBYTES(qh[QH_TOKEN]) && !(qh[QH_ALTNEXT] & LINK_T)) {
                next = qh[QH_ALTNEXT];
            }
            if (next & LINK_T) {
                return true;    /* the queue is empty */
            }
            if (!ehci_count_element(s) ||
                !ehci_read_dwords(s, LINK_ADDR(next), qtd, 8)) {
                return false;
            }
            if (!(qtd[2] & QTD_TOKEN_ACTIVE)) {
                return true;    /* not ready yet */
            }
            {
                uint32_t dt = qh[QH_TOKEN] & QTD_TOKEN_DTOGGLE;

                qh[QH_CURRENT] = LINK_ADDR(next);
                memcpy(&qh[QH_NEXT], qtd, sizeof(qtd));
                qh[QH_ALTNEXT] &= ~0x1eu;       /* NakCnt */
                if (!(qh[QH_EPCHAR] & QH_EPCHAR_DTC)) {
                    /* the QH keeps the toggle (3.6.2) */
                    qh[QH_TOKEN] = (qh[QH_TOKEN] & ~QTD_TOKEN_DTOGGLE) | dt;
                }
            }
            if (!ehci_write_dwords(s, addr + 4 * QH_CURRENT,
                                   &qh[QH_CURRENT], QH_DWORDS - QH_CURRENT)) {
                return false;
            }
        }
    }
}

/* ---- isochronous transfers (3.3 iTD, 3.4 siTD, 4.7) -------------------- */

/*
 * Move @len bytes between s->buf and a buffer that starts @offset bytes
 * into page @page0 and runs on into @page1 (the caller has checked that
 * there is one when it needs it).  False when it master-aborts (HSE).
 */
static bool ehci_isoch_dma(EHCIState *s, uint32_t page0, uint32_t page1,
                           uint32_t offset, size_t len, bool to_guest)
{
    size_t first = MIN(len, 0x1000 - offset);
    uint32_t addr[2] = { (page0 & ~0xfffu) + offset, page1 & ~0xfffu };
    size_t size[2] = { first, len - first };
    uint8_t *b = s->buf;

    for (unsigned i = 0; i < 2; i++) {
        MemTxResult r;

        if (!size[i]) {
            continue;
        }
        r = to_guest ? pci_dma_write(&s->parent, addr[i], b, size[i])
                     : pci_dma_read(&s->parent, addr[i], b, size[i]);
        if (r != MEMTX_OK) {
            ehci_hse(s);
            return false;
        }
        b += size[i];
    }
    return true;
}

/*
 * One isochronous packet to the device at @devaddr.  Isochronous
 * transactions have no handshake, so an endpoint with nothing to send
 * (a NAK from the device model) simply moves no data this time.
 */
static void ehci_isoch_packet(EHCIState *s, USBPacket *p, uint8_t devaddr)
{
    USBDevice *dev = ehci_find_device(s, devaddr);

    if (!dev) {
        p->status = USB_RET_NODEV;
        return;
    }
    usb_handle_packet(dev, p);
    if (p->status == USB_RET_NAK) {
        p->status = USB_RET_SUCCESS;
        p->actual = 0;
    }
    p->actual = MIN(p->actual, p->len);
}

/* USBERRINT for an error bit, USBINT for IOC (4.15.1). */
static void ehci_isoch_interrupts(EHCIState *s, bool error, bool ioc)
{
    if (error) {
        s->usbsts |= USBSTS_ERRINT;
    }
    if (ioc) {
        s->usbsts |= USBSTS_USBINT;
    }
}

/* Retire an iTD transaction with @err status bits (0: success). */
static void ehci_itd_retire(EHCIState *s, uint32_t *t, uint32_t err)
{
    *t = (*t & ~ITD_TRANS_ACTIVE) | err;
    ehci_isoch_interrupts(s, err, *t & ITD_TRANS_IOC);
}

static uint32_t ehci_isoch_error_bits(int status, uint32_t babble,
                                      uint32_t xacterr)
{
    switch (status) {
    case USB_RET_SUCCESS:
        return 0;
    case USB_RET_BABBLE:
        return babble;
    default:
        /* a stall or no device: nothing came back in time */
        return xacterr;
    }
}

/*
 * Run the iTD transaction of one micro-frame, @t pointing at its status
 * and control dword (3.3.2); the buffer page pointers carry the
 * endpoint (3.3.3).  False when the controller halted.
 */
static bool ehci_itd_transaction(EHCIState *s, const uint32_t *itd,
                                 uint32_t *t)
{
    const uint32_t *page = &itd[ITD_BUFPTR0];
    unsigned pg = ITD_TRANS_PG(*t), offset = ITD_TRANS_OFFSET(*t);
    size_t len = ITD_TRANS_LEN(*t);
    bool in = page[1] & ITD_BUF_IO_IN;
    unsigned mult = ITD_BUF_MULT(page[2]), maxpkt = ITD_BUF_MAXPKT(page[1]);
    bool crosses = offset + len > 0x1000;
    USBPacket p = { .pid = in ? USB_TOKEN_IN : USB_TOKEN_OUT,
                    .ep = ITD_BUF_ENDPT(page[0]), .buf = s->buf, .len = len };
    uint32_t err;

    /* the page select must leave room for the next page when the buffer
     * crosses one; the list has seven */
    if (pg >= ITD_PAGES || (crosses && pg + 1 >= ITD_PAGES) ||
        len > ITD_MAX_LEN) {
        ehci_itd_retire(s, t, ITD_TRANS_DBERR);
        return true;
    }
    /* Mult 0 is reserved; an OUT cannot send more than Mult packets */
    if (!mult || maxpkt > ITD_MAX_MAXPKT || (!in && len > mult * maxpkt)) {
        ehci_itd_retire(s, t, ITD_TRANS_XACTERR);
        return true;
    }
    if (!in && len && !ehci_isoch_dma(s, page[pg], crosses ? page[pg + 1] : 0,
                                      offset, len, false)) {
        return false;
    }
    ehci_isoch_packet(s, &p, ITD_BUF_DEVADDR(page[0]));
    err = ehci_isoch_error_bits(p.status, ITD_TRANS_BABBLE,
                                ITD_TRANS_XACTERR);
    if (!err && in) {
        if (p.actual && !ehci_isoch_dma(s, page[pg],
                                        crosses ? page[pg + 1] : 0, offset,
                                        p.actual, true)) {
            return false;
        }
        /* an IN writes back the bytes received (3.3.2) */
        *t = (*t & ~(0xfffu << ITD_TRANS_LEN_SHIFT)) |
             ((uint32_t)p.actual << ITD_TRANS_LEN_SHIFT);
    }
    ehci_itd_retire(s, t, err);
    return true;
}

/*
 * The iTD at @addr (4.7.1): a frame of this model runs all eight
 * micro-frames at once, so every active transaction goes now; the status
 * dwords are written back together.  *@next gets its link.
 */
static bool ehci_run_itd(EHCIState *s, uint32_t addr, uint32_t *next)
{
    uint32_t itd[ITD_DWORDS];
    bool ran = false;

    if (!ehci_read_dwords(s, addr, itd, ITD_DWORDS)) {
        return false;
    }
    *next = itd[ITD_NEXT];
    for (unsigned uf = 0; uf < ITD_MICROFRAMES; uf++) {
        uint32_t *t = &itd[ITD_TRANSACT0 + uf];

        if (!(*t & ITD_TRANS_ACTIVE)) {
            continue;
        }
        if (!ehci_itd_transaction(s, itd, t)) {
            return false;
        }
        ran = true;
    }
    return !ran || ehci_write_dwords(s, addr + 4 * ITD_TRANSACT0,
                                     &itd[ITD_TRANSACT0], ITD_MICROFRAMES);
}

/* Retire an siTD with @err status bits (0: success). */
static void ehci_sitd_retire(EHCIState *s, uint32_t *sitd, uint32_t err)
{
    sitd[SITD_STATE] &= ~(SITD_STATE_ACTIVE | SITD_STATE_SPLITX);
    sitd[SITD_STATE] |= err;
    ehci_isoch_interrupts(s, err, sitd[SITD_STATE] & SITD_STATE_IOC);
}

/*
 * The full-speed packet of an active siTD (3.4, 4.12.3): Total Bytes
 * from the Current Offset of page P (0 or 1).  kvmpc has no high-speed
 * hub, so no transaction translator stands between: the packet goes to
 * the device with the siTD's address on the EHCI's own ports.  False
 * when the controller halted.
 */
static bool ehci_sitd_transaction(EHCIState *s, uint32_t *sitd)
{
    uint32_t state = sitd[SITD_STATE], epchar = sitd[SITD_EPCHAR];
    size_t len = SITD_STATE_TBYTES(state);
    unsigned p1 = !!(state & SITD_STATE_P);
    uint32_t pos = p1 * 0x1000 + (sitd[SITD_BUF0] & 0xfff);
    bool in = epchar & SITD_EPCHAR_IO_IN;
    USBPacket p = { .pid = in ? USB_TOKEN_IN : USB_TOKEN_OUT,
                    .ep = SITD_EPCHAR_ENDPT(epchar), .buf = s->buf,
                    .len = len };
    uint32_t page = p1 ? sitd[SITD_BUF1] : sitd[SITD_BUF0];
    uint32_t err;

    if (pos + len > 2 * 0x1000) {
        /* only two pages: the buffer must end in page 1 */
        ehci_sitd_retire(s, sitd, SITD_STATE_DBERR);
        return true;
    }
    if (!in && len && !ehci_isoch_dma(s, page, sitd[SITD_BUF1], pos & 0xfff,
                                      len, false)) {
        return false;
    }
    ehci_isoch_packet(s, &p, SITD_EPCHAR_DEVADDR(epchar));
    err = ehci_isoch_error_bits(p.status, SITD_STATE_BABBLE,
                                SITD_STATE_XACTERR);
    if (err) {
        ehci_sitd_retire(s, sitd, err);
        return true;
    }
    if (in && p.actual && !ehci_isoch_dma(s, page, sitd[SITD_BUF1],
                                          pos & 0xfff, p.actual, true)) {
        return false;
    }
    /* Total Bytes counts down, the offset and P follow the data (3.4.3) */
    pos += p.actual;
    sitd[SITD_STATE] &= ~(SITD_STATE_P | (0x3ffu << SITD_STATE_TBYTES_SHIFT));
    sitd[SITD_STATE] |= (pos >= 0x1000 ? SITD_STATE_P : 0) |
                        ((uint32_t)(len - p.actual) << SITD_STATE_TBYTES_SHIFT);
    sitd[SITD_BUF0] = (sitd[SITD_BUF0] & ~0xfffu) | (pos & 0xfff);
    ehci_sitd_retire(s, sitd, 0);
    return true;
}

/*
 * The siTD at @addr: run when active and scheduled (a non-zero S-mask,
 * as for interrupt QHs); its state and offset are written back.  The
 * back pointer only matters to a split that spans frames, which a
 * frame of this model never leaves behind, so it is not followed.
 */
static bool ehci_run_sitd(EHCIState *s, uint32_t addr, uint32_t *next)
{
    uint32_t sitd[SITD_DWORDS];

    if (!ehci_read_dwords(s, addr, sitd, SITD_DWORDS)) {
        return false;
    }
    *next = sitd[SITD_NEXT];
    if (!(sitd[SITD_STATE] & SITD_STATE_ACTIVE) ||
        !SITD_UFRAME_SMASK(sitd[SITD_UFRAME])) {
        return true;
    }
    if (!ehci_sitd_transaction(s, sitd)) {
        return false;
    }
    return ehci_write_dwords(s, addr + 4 * SITD_STATE, &sitd[SITD_STATE], 2);
}

/* ---- schedules -------------------------------------------------------- */

/* A periodic QH: polled in this frame when its S-mask is non-zero. */
static bool ehci_run_periodic_qh(EHCIState *s, uint32_t addr, uint32_t *next)
{
    uint32_t epcap;

    if (!ehci_read_dwords(s, addr + 4 * QH_EPCAP, &epcap, 1)) {
        return false;
    }
    if (epcap & 0xff) {
        return ehci_run_qh(s, addr, next);
    }
    return ehci_read_dwords(s, addr, next, 1);
}

/* The frame's periodic list (3.1, 4.6): iTDs and siTDs (4.7), interrupt
 * QHs; an FSTN's normal path link is followed (its save-place role is
 * for splits that span frames, which this model never leaves). */
static void ehci_run_periodic(EHCIState *s)
{
    uint32_t link;
    uint32_t entry = (s->periodiclistbase & ~0xfffu) +
                     (((s->frindex >> 3) & 0x3ff) << 2);

    if (!ehci_read_dwords(s, entry, &link, 1)) {
        return;
    }
    /* every element counts: a list that loops ends in HSE */
    while (!(link & LINK_T)) {
        uint32_t addr = LINK_ADDR(link);
        bool ok;

        if (!ehci_count_element(s)) {
            return;
        }
        switch (LINK_TYPE(link)) {
        case NLPTR_TYPE_ITD:
            ok = ehci_run_itd(s, addr, &link);
            break;
        case NLPTR_TYPE_SITD:
            ok = ehci_run_sitd(s, addr, &link);
            break;
        case NLPTR_TYPE_QH:
            ok = ehci_run_periodic_qh(s, addr, &link);
            break;
        default:
            ok = ehci_read_dwords(s, addr, &link, 1);
            break;
        }
        if (!ok) {
            return;
        }
    }
}

/* One pass over the async schedule's circular list of QHs (4.8). */
static void ehci_run_async(EHCIState *s)
{
    uint32_t head = LINK_ADDR(s->asynclistaddr), addr = head, link;

    do {
        if (!ehci_count_element(s) || !ehci_run_qh(s, addr, &link)) {
            return;
        }
        if (link & LINK_T) {
            return;     /* not a circle, but ends: nothing more to do */
        }
        if (LINK_TYPE(link) != NLPTR_TYPE_QH) {
            ehci_hse(s);    /* only QHs belong on the async list */
            return;
        }
        addr = LINK_ADDR(link);
    } while (addr != head);
}

static void ehci_frame(EHCIState *s)
{
    if (s->usbcmd & USBCMD_PSE) {
        s->elements = 0;
        ehci_run_periodic(s);
        if (!ehci_running(s)) {
            return;
        }
    }
    if (s->usbcmd & USBCMD_ASE) {
        s->elements = 0;
        ehci_run_async(s);
        if (!ehci_running(s)) {
            return;
        }
    }
    if (s->usbcmd & USBCMD_IAAD) {
        /* the pass is over: no cached QH remains (4.8.2) */
        s->usbcmd &= ~USBCMD_IAAD;
        s->usbsts |= USBSTS_IAA;
    }
    s->frindex = (s->frindex + 8) & 0x3fff;
    if (!(s->frindex & 0x1fff)) {
        s->usbsts |= USBSTS_FLR;        /* the frame list rolled over */
    }
    ehci_update_irq(s);
}

static void ehci_frame_timer(void *opaque)
{
    EHCIState *s = opaque;
    int64_t now;

    if (!ehci_running(s)) {
        return;
    }
    ehci_frame(s);
    if (!ehci_running(s)) {
        return;
    }
    s->expire_time += EHCI_FRAME_NS;
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    if (s->expire_time < now - 100 * EHCI_FRAME_NS) {
        s->expire_time = now + EHCI_FRAME_NS;   /* do not replay a stop */
    }
    timer_mod(s->frame_timer, s->expire_time);
}

/* ---- registers -------------------------------------------------------- */

static void ehci_reset_regs(EHCIState *s)
{
    timer_del(s->frame_timer);
    s->usbcmd = 8u << USBCMD_ITC_SHIFT;
    s->usbsts = USBSTS_HCHALTED;
    s->usbintr = 0;
    s->frindex = 0;
    s->ctrldsseg = 0;
    s->periodiclistbase = 0;
    s->asynclistaddr = 0;
    s->configflag = 0;
    for (unsigned i = 0; i < EHCI_NB_PORTS; i++) {
        EHCIPort *p = &s->ports[i];

        if (p->port.dev && ehci_port_is_companion(p)) {
            ehci_companion_detach(p);
        }
        p->portsc = PORTSC_PP | (p->companion ? PORTSC_POWNER : 0);
        if (p->port.dev) {
            if (p->companion) {
                ehci_companion_attach(p);
            } else {
                ehci_port_connect(s, p);
            }
        }
    }
    ehci_update_irq(s);
}

static void ehci_write_usbcmd(EHCIState *s, uint32_t val)
{
    if (val & USBCMD_HCRESET) {
        ehci_reset_regs(s);
        return;
    }
    if ((val & USBCMD_RS) && !ehci_running(s)) {
        s->usbsts &= ~USBSTS_HCHALTED;
        s->expire_time = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                         EHCI_FRAME_NS;
        timer_mod(s->frame_timer, s->expire_time);
    } else if (!(val & USBCMD_RS)) {
        s->usbsts |= USBSTS_HCHALTED;
        timer_del(s->frame_timer);
    }
    s->usbcmd = (s->usbcmd & ~USBCMD_WMASK) | (val & USBCMD_WMASK);
    /* the schedule status follows the enables (4.6, 4.8) */
    s->usbsts &= ~(USBSTS_PSS | USBSTS_ASS);
    if (val & USBCMD_RS) {
        s->usbsts |= (val & USBCMD_PSE ? USBSTS_PSS : 0) |
                     (val & USBCMD_ASE ? USBSTS_ASS : 0);
    }
    if ((s->usbcmd & USBCMD_IAAD) && !(s->usbcmd & USBCMD_ASE)) {
        /* no async schedule to finish: the doorbell answers at once */
        s->usbcmd &= ~USBCMD_IAAD;
        ehci_raise(s, USBSTS_IAA);
    }
}

static void ehci_write_portsc(EHCIState *s, EHCIPort *p, uint32_t val)
{
    bool was_reset = p->portsc & PORTSC_PR;

    ehci_set_owner(s, p, val & PORTSC_POWNER);
    if (ehci_port_is_companion(p)) {
        /* the companion drives it: only the W1C bits stay writable */
        p->portsc &= ~(val & PORTSC_RWC);
        return;
    }
    p->portsc &= ~(val & PORTSC_RWC);
    p->portsc = (p->portsc & ~(PORTSC_RW | PORTSC_PR)) |
                (val & (PORTSC_RW | PORTSC_PR));
    if (!(val & PORTSC_PED)) {
        p->portsc &= ~PORTSC_PED;       /* software may only disable */
    }
    if (val & PORTSC_PR) {
        p->portsc &= ~PORTSC_PED;       /* reset disables (4.2.2) */
    } else if (was_reset && p->port.dev) {
        /* end of reset: a high-speed device is enabled; a full-speed one
         * is not, which tells the driver to hand it over */
        usb_device_reset(p->port.dev);
        if (p->port.dev->speed == USB_SPEED_HIGH) {
            p->portsc |= PORTSC_PED;
        }
    }
    if (!p->port.dev) {
        p->portsc &= ~PORTSC_PED;
    }
}

static uint32_t ehci_read_cap(unsigned reg)
{
    switch (reg) {
    case EHCI_CAP_CAPLENGTH:
        return EHCI_CAPLENGTH | (0x0100u << 16);    /* HCIVERSION 1.00 */
    case EHCI_CAP_HCSPARAMS:
        return EHCI_NB_PORTS;
    case EHCI_CAP_HCCPARAMS:
        return 0x80;    /* isochronous threshold: a whole frame cached */
    default:
        return 0;
    }
}

static uint32_t ehci_read_op(EHCIState *s, unsigned reg)
{
    switch (reg) {
    case EHCI_USBCMD:
        return s->usbcmd;
    case EHCI_USBSTS:
        return s->usbsts;
    case EHCI_USBINTR:
        return s->usbintr;
    case EHCI_FRINDEX:
        return s->frindex;
    case EHCI_CTRLDSSEGMENT:
        return s->ctrldsseg;
    case EHCI_PERIODICLISTBASE:
        return s->periodiclistbase;
    case EHCI_ASYNCLISTADDR:
        return s->asynclistaddr;
    case EHCI_CONFIGFLAG:
        return s->configflag;
    default:
        if (reg >= EHCI_PORTSC && reg < EHCI_PORTSC + 4 * EHCI_NB_PORTS) {
            return s->ports[(reg - EHCI_PORTSC) / 4].portsc;
        }
        return 0;
    }
}

static void ehci_write_op(EHCIState *s, unsigned reg, uint32_t val)
{
    switch (reg) {
    case EHCI_USBCMD:
        ehci_write_usbcmd(s, val);
        break;
    case EHCI_USBSTS:
        s->usbsts &= ~(val & USBSTS_INT_MASK);
        ehci_update_irq(s);
        break;
    case EHCI_USBINTR:
        s->usbintr = val & USBSTS_INT_MASK;
        ehci_update_irq(s);
        break;
    case EHCI_FRINDEX:
        if (!ehci_running(s)) {
            s->frindex = val & 0x3ff8;   /* frame granular (as QEMU) */
        }
        break;
    case EHCI_CTRLDSSEGMENT:
        /* 32-bit addressing only (HCCPARAMS bit 0 clear): reads 0 */
        break;
    case EHCI_PERIODICLISTBASE:
        s->periodiclistbase = val & ~0xfffu;
        break;
    case EHCI_ASYNCLISTADDR:
        s->asynclistaddr = val & ~0x1fu;
        break;
    case EHCI_CONFIGFLAG:
        s->configflag = val & 1;
        /* all ports go to EHCI when set, to the companions when clear */
        for (unsigned i = 0; i < EHCI_NB_PORTS; i++) {
            ehci_set_owner(s, &s->ports[i], !s->configflag);
        }
        break;
    default:
        if (reg >= EHCI_PORTSC && reg < EHCI_PORTSC + 4 * EHCI_NB_PORTS) {
            ehci_write_portsc(s, &s->ports[(reg - EHCI_PORTSC) / 4], val);
        }
        break;
    }
}

static uint64_t ehci_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    EHCIState *s = opaque;
    unsigned shift = (addr & 3) * 8;
    uint32_t val;

    if (addr < EHCI_CAPLENGTH) {
        val = ehci_read_cap(addr & ~3u);
    } else {
        val = ehci_read_op(s, (addr - EHCI_CAPLENGTH) & ~3u);
    }
    val >>= shift;
    return size >= 4 ? val : val & ((1u << (size * 8)) - 1);
}

static void ehci_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    EHCIState *s = opaque;

    if (addr < EHCI_CAPLENGTH || size != 4 || (addr & 3)) {
        return;     /* capabilities are read-only; registers are dwords */
    }
    ehci_write_op(s, addr - EHCI_CAPLENGTH, val);
}

static const MemoryRegionOps ehci_mmio_ops = {
    .read = ehci_mmio_read,
    .write = ehci_mmio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- device --------------------------------------------------------- */

static bool ehci_realize(DeviceState *dev, GError **errp)
{
    EHCIState *s = (EHCIState *)dev;
    PCIDevice *pd = &s->parent;

    pd->config[0x60] = 0x20;            /* SBRN: USB 2.0 */
    pd->config[0x61] = 0x20;            /* FLADJ: 60 000 clocks a frame */
    memory_region_init_io(&s->mem, &ehci_mmio_ops, s, "ehci", EHCI_BAR_SIZE);
    pci_register_bar(pd, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mem);
    s->frame_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, ehci_frame_timer, s);
    usb_bus_init(&s->bus, dev);
    s->bus.register_companion = ehci_register_companion;
    for (unsigned i = 0; i < EHCI_NB_PORTS; i++) {
        usb_register_port(&s->bus, &s->ports[i].port, s, i, &ehci_port_ops,
                          USB_SPEED_MASK_HIGH);
        s->ports[i].companion = NULL;
    }
    ehci_reset_regs(s);
    return true;
}

static void ehci_unrealize(DeviceState *dev)
{
    EHCIState *s = (EHCIState *)dev;

    usb_bus_cleanup(&s->bus);
    timer_free(s->frame_timer);
    memory_region_destroy(&s->mem);
}

static void ehci_qdev_reset(DeviceState *dev)
{
    ehci_reset_regs((EHCIState *)dev);
}

static int ehci_post_load(void *opaque, int version_id)
{
    EHCIState *s = opaque;

    s->usbintr &= USBSTS_INT_MASK;
    s->frindex &= 0x3fff;
    s->periodiclistbase &= ~0xfffu;
    s->asynclistaddr &= ~0x1fu;
    s->configflag &= 1;
    for (unsigned i = 0; i < EHCI_NB_PORTS; i++) {
        EHCIPort *p = &s->ports[i];

        if (!p->companion) {
            p->portsc &= ~PORTSC_POWNER;
        }
        if (!ehci_port_is_companion(p)) {
            p->portsc = (p->portsc & ~PORTSC_CCS) |
                        (p->port.dev ? PORTSC_CCS : 0);
        }
    }
    timer_del(s->frame_timer);
    if (ehci_running(s)) {
        s->usbsts &= ~USBSTS_HCHALTED;
        s->expire_time = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                         EHCI_FRAME_NS;
        timer_mod(s->frame_timer, s->expire_time);
    } else {
        s->usbsts |= USBSTS_HCHALTED;
    }
    ehci_update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_ehci = {
    .name = "ehci",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ehci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(usbcmd, EHCIState),
        VMSTATE_UINT32(usbsts, EHCIState),
        VMSTATE_UINT32(usbintr, EHCIState),
        VMSTATE_UINT32(frindex, EHCIState),
        VMSTATE_UINT32(ctrldsseg, EHCIState),
        VMSTATE_UINT32(periodiclistbase, EHCIState),
        VMSTATE_UINT32(asynclistaddr, EHCIState),
        VMSTATE_UINT32(configflag, EHCIState),
        VMSTATE_UINT32(ports[0].portsc, EHCIState),
        VMSTATE_UINT32(ports[1].portsc, EHCIState),
        VMSTATE_UINT32(ports[2].portsc, EHCIState),
        VMSTATE_UINT32(ports[3].portsc, EHCIState),
        VMSTATE_UINT32(ports[4].portsc, EHCIState),
        VMSTATE_UINT32(ports[5].portsc, EHCIState),
        VMSTATE_INT64(expire_time, EHCIState),
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass ehci_classes[] = {
    {
        .vendor_id = PCI_VENDOR_ID_INTEL, .device_id = 0x24cd,
        .revision = 0x10, .class_id = 0x0c03, .prog_if = 0x20,
        .interrupt_pin = 4,
    }, {
        .vendor_id = PCI_VENDOR_ID_INTEL, .device_id = 0x293a,
        .revision = 0x03, .class_id = 0x0c03, .prog_if = 0x20,
        .interrupt_pin = 4,
    }, {
        .vendor_id = PCI_VENDOR_ID_INTEL, .device_id = 0x293c,
        .revision = 0x03, .class_id = 0x0c03, .prog_if = 0x20,
        .interrupt_pin = 4,
    },
};

#define EHCI_TYPE(tname, tdesc, n) {                                     \
        .name = tname,                                                    \
        .parent = TYPE_PCI_DEVICE,                                        \
        .desc = tdesc,                                                    \
        .instance_size = sizeof(EHCIState),                               \
        .user_creatable = true,                                           \
        .category = DEVICE_CATEGORY_USB,                                  \
        .realize = ehci_realize,                                          \
        .unrealize = ehci_unrealize,                                      \
        .reset = ehci_qdev_reset,                                         \
        .vmsd = &vmstate_ehci,                                            \
        .class_data = &ehci_classes[n],                                   \
    }

static const DeviceType ehci_types[] = {
    EHCI_TYPE("usb-ehci", "Intel 82801DB (ICH4) USB EHCI controller", 0),
    EHCI_TYPE("ich9-usb-ehci1", "Intel 82801I (ICH9) USB EHCI #1", 1),
    EHCI_TYPE("ich9-usb-ehci2", "Intel 82801I (ICH9) USB EHCI #2", 2),
};

static void ehci_register_types(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(ehci_types); i++) {
        device_type_register(&ehci_types[i]);
    }
}
type_init(ehci_register_types)
