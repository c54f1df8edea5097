/*
 * piix3-usb-uhci: the PIIX3's USB 1.1 host controller (8086:7020), as
 * QEMU's.  `-usb` on the pc machine puts it at 01.2.
 *
 * Spec: Universal Host Controller Interface (UHCI) Design Guide, revision
 * 1.1 (Intel, 1996): 2.1 I/O registers USBCMD, USBSTS, USBINTR, FRNUM,
 * FLBASEADD, SOFMOD, PORTSC1/2; 3.1 frame list; 3.2 transfer descriptors
 * (TD); 3.3 queue heads (QH); 3.4 the schedule walk; PIIX3 datasheet
 * (82371SB) 2.2 for the configuration registers (USBBASE at BAR4, SBRN
 * 60h, LEGSUP C0h).
 *
 * One frame is processed every millisecond of the virtual clock while
 * Run/Stop is set: the frame list entry for FRNUM is walked, TDs are
 * executed against the devices, completed TDs written back, QH element
 * pointers advanced.  The walk is bounded: a QH met again in the same
 * frame without any TD having completed since ends the frame quietly (the
 * "FSBR" loop drivers build on purpose), and a frame that visits more
 * than UHCI_MAX_ELEMENTS_PER_FRAME TDs/QHs (a guest's TD or QH loop) stops
 * the controller with HC Process Error, so a guest can never hang the
 * emulator.  A structure fetch or write-back that master-aborts (an
 * address with nothing behind it, bus mastering off) stops it with Host
 * System Error.  Isochronous TDs are executed as plain transfers.
 *
 * The ICH9's UHCIs (`ich9-usb-uhci1`..`6`, 8086:2934-2939) are the same
 * controller; with `masterbus=EHCI.0,firstport=N` one has no bus of its
 * own and serves EHCI ports N and N+1 when their PORT_OWNER hands a
 * full/low-speed device over (EHCI 1.0 4.2, hw/usb/hcd-ehci.c).
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/usb/usb.h"
#include "system/timer.h"

#define TYPE_PIIX3_USB_UHCI     "piix3-usb-uhci"

/* I/O registers */
#define UHCI_USBCMD     0x00
#define UHCI_USBSTS     0x02
#define UHCI_USBINTR    0x04
#define UHCI_FRNUM      0x06
#define UHCI_FLBASEADD  0x08
#define UHCI_SOFMOD     0x0c
#define UHCI_PORTSC1    0x10
#define UHCI_NUM_PORTS  2

#define UHCI_CMD_RS     (1 << 0)
#define UHCI_CMD_HCRESET (1 << 1)
#define UHCI_CMD_GRESET (1 << 2)
#define UHCI_CMD_EGSM   (1 << 3)
#define UHCI_CMD_FGR    (1 << 4)
#define UHCI_CMD_SWDBG  (1 << 5)
#define UHCI_CMD_CF     (1 << 6)
#define UHCI_CMD_MAXP   (1 << 7)

#define UHCI_STS_USBINT (1 << 0)
#define UHCI_STS_ERRINT (1 << 1)
#define UHCI_STS_RD     (1 << 2)
#define UHCI_STS_HSE    (1 << 3)
#define UHCI_STS_HCPE   (1 << 4)
#define UHCI_STS_HCH    (1 << 5)

#define UHCI_INTR_TIMEOUT_CRC (1 << 0)
#define UHCI_INTR_RESUME (1 << 1)
#define UHCI_INTR_IOC   (1 << 2)
#define UHCI_INTR_SPD   (1 << 3)

#define UHCI_PORT_CCS   (1 << 0)
#define UHCI_PORT_CSC   (1 << 1)
#define UHCI_PORT_PED   (1 << 2)
#define UHCI_PORT_PEDC  (1 << 3)
#define UHCI_PORT_RD    (1 << 6)
#define UHCI_PORT_RSVD1 (1 << 7)        /* always reads 1 */
#define UHCI_PORT_LSDA  (1 << 8)
#define UHCI_PORT_PR    (1 << 9)
#define UHCI_PORT_SUSP  (1 << 12)
#define UHCI_PORT_WMASK (UHCI_PORT_PED | UHCI_PORT_RD | UHCI_PORT_PR | \
                         UHCI_PORT_SUSP)

/* link pointers */
#define UHCI_LINK_T     (1 << 0)
#define UHCI_LINK_Q     (1 << 1)
#define UHCI_LINK_VF    (1 << 2)        /* depth first (TD links) */

/* TD control and status */
#define TD_CTRL_ACTLEN_MASK 0x7ff
#define TD_CTRL_BITSTUFF (1 << 17)
#define TD_CTRL_CRCTO   (1 << 18)
#define TD_CTRL_NAK     (1 << 19)
#define TD_CTRL_BABBLE  (1 << 20)
#define TD_CTRL_DBE     (1 << 21)
#define TD_CTRL_STALL   (1 << 22)
#define TD_CTRL_ACTIVE  (1 << 23)
#define TD_CTRL_IOC     (1 << 24)
#define TD_CTRL_IOS     (1 << 25)
#define TD_CTRL_LS      (1 << 26)
#define TD_CTRL_CERR_SHIFT 27
#define TD_CTRL_SPD     (1 << 29)
#define TD_CTRL_STATUS_MASK (0xffu << 16)

#define UHCI_FRAME_NS           1000000     /* 1 ms */
#define UHCI_MAX_ELEMENTS_PER_FRAME 2048
#define UHCI_MAX_TD_LEN         1280        /* the MaxLen field's limit */
#define UHCI_QH_SEEN_MAX        64
/* bytes one frame carries at most (12 Mb/s, less overhead; as QEMU) */
#define UHCI_FRAME_BYTES        1280

typedef struct UHCIPort {
    USBPort port;
    uint16_t ctrl;
} UHCIPort;

typedef struct UHCIState {
    PCIDevice parent;
    MemoryRegion io;
    USBBus bus;
    UHCIPort ports[UHCI_NUM_PORTS];
    QEMUTimer *frame_timer;
    char *masterbus;            /* masterbus=: companion of this EHCI bus */
    uint32_t firstport;         /* firstport= */
    /* registers */
    uint16_t cmd, status, intr, frnum;
    uint32_t fl_base_addr;
    uint8_t sof_timing;
    /* status of the frame's IOC / short packet TDs, until USBINT clears */
    uint8_t status2;            /* bit 0 IOC, bit 1 short packet */
    int64_t expire_time;
    unsigned frame_bytes;       /* moved in the frame being walked */
    uint8_t td_buf[UHCI_MAX_TD_LEN];
} UHCIState;

static void uhci_update_irq(UHCIState *s)
{
    bool level = ((s->status2 & 1) && (s->intr & UHCI_INTR_IOC)) ||
                 ((s->status2 & 2) && (s->intr & UHCI_INTR_SPD)) ||
                 ((s->status & UHCI_STS_ERRINT) &&
                  (s->intr & UHCI_INTR_TIMEOUT_CRC)) ||
                 ((s->status & UHCI_STS_RD) && (s->intr & UHCI_INTR_RESUME)) ||
                 (s->status & (UHCI_STS_HSE | UHCI_STS_HCPE));

    pci_set_irq(&s->parent, level);
}

/* Stop the schedule with a fatal status (HSE or HCPE), as hardware. */
static void uhci_halt_error(UHCIState *s, uint16_t sts)
{
    s->cmd &= ~UHCI_CMD_RS;
    s->status |= sts | UHCI_STS_HCH;
    timer_del(s->frame_timer);
    uhci_update_irq(s);
}

/* The device answering @addr on an enabled port, or behind a hub there. */
static USBDevice *uhci_find_device(UHCIState *s, uint8_t addr)
{
    for (unsigned i = 0; i < UHCI_NUM_PORTS; i++) {
        UHCIPort *p = &s->ports[i];
        USBDevice *dev;

        if ((p->ctrl & UHCI_PORT_PED) &&
            (dev = usb_find_device(p->port.dev, addr))) {
            return dev;
        }
    }
    return NULL;
}

static bool uhci_read32(UHCIState *s, uint32_t addr, uint32_t *val)
{
    uint8_t b[4];

    if (pci_dma_read(&s->parent, addr, b, 4) != MEMTX_OK) {
        uhci_halt_error(s, UHCI_STS_HSE);
        return false;
    }
    *val = ldl_le_p(b);
    return true;
}

static bool uhci_write32(UHCIState *s, uint32_t addr, uint32_t val)
{
    uint8_t b[4];

    stl_le_p(b, val);
    if (pci_dma_write(&s->parent, addr, b, 4) != MEMTX_OK) {
        uhci_halt_error(s, UHCI_STS_HSE);
        return false;
    }
    return true;
}

typedef enum {
    TD_DONE,        /* completed (successfully or with an error) */
    TD_NAK,         /* still active: try again next frame */
    TD_SHORT,       /* completed short with SPD: the queue stops */
    TD_FATAL,       /* the controller halted */
} TDResult;

/* Execute one active TD (at @addr, already read into td[]). */
static TDResult uhci_run_td(UHCIState *s, uint32_t addr, uint32_t *td)
{
    uint32_t ctrl = td[1], token = td[2], buf = td[3];
    unsigned maxlen = ((token >> 21) + 1) & 0x7ff;
    uint8_t pid = token & 0xff;
    USBPacket p = {
        .pid = pid, .ep = (token >> 15) & 0xf, .buf = s->td_buf,
    };
    USBDevice *dev;
    TDResult res = TD_DONE;
    unsigned cerr;

    if (maxlen > UHCI_MAX_TD_LEN ||
        (pid != USB_TOKEN_IN && pid != USB_TOKEN_OUT &&
         pid != USB_TOKEN_SETUP)) {
        /* an invalid MaxLen or PID is a fatal schedule error */
        uhci_halt_error(s, UHCI_STS_HCPE);
        return TD_FATAL;
    }
    p.len = maxlen;
    if (pid != USB_TOKEN_IN && maxlen &&
        pci_dma_read(&s->parent, buf, s->td_buf, maxlen) != MEMTX_OK) {
        uhci_halt_error(s, UHCI_STS_HSE);
        return TD_FATAL;
    }
    dev = uhci_find_device(s, (token >> 8) & 0x7f);
    if (dev) {
        usb_handle_packet(dev, &p);
        s->frame_bytes += p.actual + 8;
    } else {
        p.status = USB_RET_NODEV;
    }
    if (p.status == USB_RET_NAK) {
        ctrl |= TD_CTRL_NAK;
        td[1] = ctrl;
        return uhci_write32(s, addr + 4, ctrl) ? TD_NAK : TD_FATAL;
    }
    ctrl &= ~(TD_CTRL_STATUS_MASK | TD_CTRL_ACTLEN_MASK);
    cerr = (ctrl >> TD_CTRL_CERR_SHIFT) & 3;
    switch (p.status) {
    case USB_RET_SUCCESS:
        if (pid == USB_TOKEN_IN && p.actual &&
            pci_dma_write(&s->parent, buf, s->td_buf, p.actual) != MEMTX_OK) {
            uhci_halt_error(s, UHCI_STS_HSE);
            return TD_FATAL;
        }
        ctrl |= (p.actual - 1) & TD_CTRL_ACTLEN_MASK;
        if (pid == USB_TOKEN_IN && p.actual < maxlen &&
            (ctrl & TD_CTRL_SPD)) {
            s->status |= UHCI_STS_USBINT;
            s->status2 |= 2;
            res = TD_SHORT;
        }
        break;
    case USB_RET_STALL:
        ctrl |= TD_CTRL_STALL;
        s->status |= UHCI_STS_ERRINT;
        break;
    case USB_RET_BABBLE:
        ctrl |= TD_CTRL_BABBLE | TD_CTRL_STALL;
        s->status |= UHCI_STS_ERRINT;
        break;
    default:        /* no device answered: a timeout, counted in CERR */
        ctrl |= TD_CTRL_CRCTO | TD_CTRL_ACTLEN_MASK;
        if (cerr > 1) {
            cerr--;
            ctrl = (ctrl & ~(3u << TD_CTRL_CERR_SHIFT)) |
                   (cerr << TD_CTRL_CERR_SHIFT) | TD_CTRL_ACTIVE;
            td[1] = ctrl;
            return uhci_write32(s, addr + 4, ctrl) ? TD_NAK : TD_FATAL;
        }
        ctrl &= ~(3u << TD_CTRL_CERR_SHIFT);
        s->status |= UHCI_STS_ERRINT;
        break;
    }
    if (ctrl & TD_CTRL_IOC) {
        s->status |= UHCI_STS_USBINT;
        s->status2 |= 1;
    }
    td[1] = ctrl;
    return uhci_write32(s, addr + 4, ctrl) ? res : TD_FATAL;
}

/* Walk the schedule of one frame from the frame list entry. */
static void uhci_process_frame(UHCIState *s)
{
    uint32_t link, qh_addr = 0, qh_seen[UHCI_QH_SEEN_MAX];
    unsigned elements = 0, nseen = 0, completed = 0, completed_at_loop = 0;
    uint32_t qh[2];

    s->frame_bytes = 0;
    if (!uhci_read32(s, (s->fl_base_addr & ~0xfffu) +
                     ((s->frnum & 0x3ff) << 2), &link)) {
        return;
    }
    while (!(link & UHCI_LINK_T)) {
        if (++elements > UHCI_MAX_ELEMENTS_PER_FRAME) {
            uhci_halt_error(s, UHCI_STS_HCPE);
            return;
        }
        if (link & UHCI_LINK_Q) {
            uint32_t a = link & ~0xfu;
            bool again = false;

            for (unsigned i = 0; i < nseen; i++) {
                again |= qh_seen[i] == a;
            }
            if (again) {
                if (completed == completed_at_loop) {
                    /* looped back with nothing done since: frame over */
                    return;
                }
                completed_at_loop = completed;
                nseen = 0;
            }
            if (nseen < UHCI_QH_SEEN_MAX) {
                qh_seen[nseen++] = a;
            }
            if (!uhci_read32(s, a, &qh[0]) || !uhci_read32(s, a + 4, &qh[1])) {
                return;
            }
            qh_addr = a;
            if (qh[1] & UHCI_LINK_T) {
                link = qh[0];
                qh_addr = 0;
            } else {
                link = qh[1];       /* into the queue */
            }
            continue;
        }
        /* a TD, maybe the current element of the QH at qh_addr */
        {
            uint32_t a = link & ~0xfu, td[4];
            TDResult r = TD_DONE;

            for (unsigned i = 0; i < 4; i++) {
                if (!uhci_read32(s, a + 4 * i, &td[i])) {
                    return;
                }
            }
            if (td[1] & TD_CTRL_ACTIVE) {
                r = uhci_run_td(s, a, td);
                if (r == TD_FATAL) {
                    return;
                }
                if (r != TD_NAK) {
                    completed++;
                }
                if (s->frame_bytes >= UHCI_FRAME_BYTES) {
                    return;     /* the frame's bandwidth is used up */
                }
            } else if (qh_addr) {
                /* an inactive element: the queue is stalled/finished */
                r = TD_NAK;
            }
            if (!qh_addr) {
                link = td[0];
                continue;
            }
            if (r == TD_DONE && !(td[1] & TD_CTRL_ACTIVE) &&
                !(td[1] & (TD_CTRL_STALL | TD_CTRL_BABBLE | TD_CTRL_CRCTO))) {
                /* advance the queue */
                if (!uhci_write32(s, qh_addr + 4, td[0])) {
                    return;
                }
                qh[1] = td[0];
                if ((td[0] & UHCI_LINK_VF) && !(td[0] & UHCI_LINK_T)) {
                    link = td[0];       /* depth first: next TD now */
                    continue;
                }
            }
            link = qh[0];               /* on to the next QH */
            qh_addr = 0;
        }
    }
}

static void uhci_frame_timer(void *opaque)
{
    UHCIState *s = opaque;

    if (!(s->cmd & UHCI_CMD_RS)) {
        return;
    }
    uhci_process_frame(s);
    if (!(s->cmd & UHCI_CMD_RS)) {
        return;
    }
    s->frnum = (s->frnum + 1) & 0x7ff;
    uhci_update_irq(s);
    s->expire_time += UHCI_FRAME_NS;
    {
        /* far behind (a stopped VM, a loaded state): do not replay the
         * missed frames one by one */
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        if (s->expire_time < now - 100 * UHCI_FRAME_NS) {
            s->expire_time = now + UHCI_FRAME_NS;
        }
    }
    timer_mod(s->frame_timer, s->expire_time);
}

static void uhci_port_reset_done(UHCIState *s, UHCIPort *p)
{
    if (p->port.dev) {
        usb_device_reset(p->port.dev);
    }
}

static void uhci_reset_regs(UHCIState *s)
{
    s->cmd = 0;
    s->status = UHCI_STS_HCH;
    s->status2 = 0;
    s->intr = 0;
    s->frnum = 0;
    s->fl_base_addr = 0;
    s->sof_timing = 64;
    for (unsigned i = 0; i < UHCI_NUM_PORTS; i++) {
        UHCIPort *p = &s->ports[i];
        p->ctrl = UHCI_PORT_RSVD1;
        if (p->port.dev) {
            p->ctrl |= UHCI_PORT_CCS | UHCI_PORT_CSC;
            if (p->port.dev->speed == USB_SPEED_LOW) {
                p->ctrl |= UHCI_PORT_LSDA;
            }
        }
    }
    timer_del(s->frame_timer);
    uhci_update_irq(s);
}

static uint64_t uhci_ioport_read(void *opaque, uint64_t addr, unsigned size)
{
    UHCIState *s = opaque;
    uint64_t val;

    switch (addr & ~1u) {
    case UHCI_USBCMD:
        val = s->cmd;
        break;
    case UHCI_USBSTS:
        val = s->status;
        break;
    case UHCI_USBINTR:
        val = s->intr;
        break;
    case UHCI_FRNUM:
        val = s->frnum;
        break;
    case UHCI_FLBASEADD:
        val = s->fl_base_addr & 0xffff;
        break;
    case UHCI_FLBASEADD + 2:
        val = s->fl_base_addr >> 16;
        break;
    case UHCI_SOFMOD:
        val = s->sof_timing;
        break;
    case UHCI_PORTSC1:
    case UHCI_PORTSC1 + 2:
        val = s->ports[(addr - UHCI_PORTSC1) >> 1].ctrl;
        break;
    default:
        val = 0xff7f;       /* QEMU reads unknown registers like this */
        break;
    }
    if (size == 1) {
        val = (addr & 1) ? val >> 8 : val & 0xff;
    }
    return val;
}

static void uhci_write_cmd(UHCIState *s, uint16_t val)
{
    if ((val & UHCI_CMD_RS) && !(s->cmd & UHCI_CMD_RS)) {
        s->status &= ~UHCI_STS_HCH;
        s->expire_time = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                         UHCI_FRAME_NS;
        timer_mod(s->frame_timer, s->expire_time);
    } else if (!(val & UHCI_CMD_RS)) {
        s->status |= UHCI_STS_HCH;
        timer_del(s->frame_timer);
    }
    if (val & UHCI_CMD_GRESET) {
        /* global reset: every device sees a bus reset */
        for (unsigned i = 0; i < UHCI_NUM_PORTS; i++) {
            uhci_port_reset_done(s, &s->ports[i]);
        }
        uhci_reset_regs(s);
        return;
    }
    if (val & UHCI_CMD_HCRESET) {
        uhci_reset_regs(s);
        return;
    }
    s->cmd = val & 0xff;
}

static void uhci_write_portsc(UHCIState *s, UHCIPort *p, uint16_t val)
{
    if ((p->ctrl & UHCI_PORT_PR) && !(val & UHCI_PORT_PR)) {
        /* end of reset signalling */
        uhci_port_reset_done(s, p);
    }
    /* CSC and PEDC are write-one-to-clear */
    p->ctrl &= ~(val & (UHCI_PORT_CSC | UHCI_PORT_PEDC));
    p->ctrl = (p->ctrl & ~UHCI_PORT_WMASK) | (val & UHCI_PORT_WMASK);
    if (!p->port.dev) {
        p->ctrl &= ~UHCI_PORT_PED;
    }
}

static void uhci_ioport_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    UHCIState *s = opaque;

    if (size == 1) {
        /* byte writes: merge into the 16-bit register */
        uint16_t old = uhci_ioport_read(s, addr & ~1u, 2);
        val = (addr & 1) ? (old & 0xff) | (val << 8) : (old & 0xff00) | val;
        if ((addr & ~1u) == UHCI_USBSTS) {
            val &= (addr & 1) ? 0xff00 : 0x00ff;  /* W1C: only the byte */
        }
    }
    switch (addr & ~1u) {
    case UHCI_USBCMD:
        uhci_write_cmd(s, val);
        break;
    case UHCI_USBSTS:
        s->status &= ~(val & (UHCI_STS_USBINT | UHCI_STS_ERRINT |
                              UHCI_STS_RD | UHCI_STS_HSE | UHCI_STS_HCPE));
        if (val & UHCI_STS_USBINT) {
            s->status2 = 0;
        }
        uhci_update_irq(s);
        break;
    case UHCI_USBINTR:
        s->intr = val & 0xf;
        uhci_update_irq(s);
        break;
    case UHCI_FRNUM:
        if (s->status & UHCI_STS_HCH) {
            s->frnum = val & 0x7ff;
        }
        break;
    case UHCI_FLBASEADD:
        s->fl_base_addr = (s->fl_base_addr & 0xffff0000) | (val & 0xf000);
        break;
    case UHCI_FLBASEADD + 2:
        s->fl_base_addr = (s->fl_base_addr & 0xffff) | (uint32_t)(val << 16);
        break;
    case UHCI_SOFMOD:
        s->sof_timing = val & 0x7f;
        break;
    case UHCI_PORTSC1:
    case UHCI_PORTSC1 + 2:
        uhci_write_portsc(s, &s->ports[(addr - UHCI_PORTSC1) >> 1], val);
        break;
    }
}

static const MemoryRegionOps uhci_ioport_ops = {
    .read = uhci_ioport_read,
    .write = uhci_ioport_write,
    .min_access_size = 1,
    .max_access_size = 2,
};

/* ---- ports ---------------------------------------------------------- */

static void uhci_attach(USBPort *port)
{
    UHCIState *s = port->opaque;
    UHCIPort *p = &s->ports[port->index];

    p->ctrl |= UHCI_PORT_CCS | UHCI_PORT_CSC;
    if (port->dev->speed == USB_SPEED_LOW) {
        p->ctrl |= UHCI_PORT_LSDA;
    } else {
        p->ctrl &= ~UHCI_PORT_LSDA;
    }
    /* a suspended bus resumes on connect */
    if (s->cmd & UHCI_CMD_EGSM) {
        s->cmd |= UHCI_CMD_FGR;
        s->status |= UHCI_STS_RD;
        uhci_update_irq(s);
    }
}

static void uhci_detach(USBPort *port)
{
    UHCIState *s = port->opaque;
    UHCIPort *p = &s->ports[port->index];

    p->ctrl &= ~(UHCI_PORT_CCS | UHCI_PORT_LSDA);
    p->ctrl |= UHCI_PORT_CSC;
    if (p->ctrl & UHCI_PORT_PED) {
        p->ctrl &= ~UHCI_PORT_PED;
        p->ctrl |= UHCI_PORT_PEDC;
    }
}

static void uhci_wakeup(USBPort *port, USBDevice *dev, unsigned ep,
                        unsigned stream)
{
    UHCIState *s = port->opaque;
    UHCIPort *p = &s->ports[port->index];

    /* the schedule retries NAKed TDs each frame; resume a suspended port */
    if (p->ctrl & UHCI_PORT_SUSP) {
        p->ctrl |= UHCI_PORT_RD;
        s->status |= UHCI_STS_RD;
        uhci_update_irq(s);
    }
}

static const USBPortOps uhci_port_ops = {
    .attach = uhci_attach,
    .detach = uhci_detach,
    .wakeup = uhci_wakeup,
};

/* ---- device --------------------------------------------------------- */

static bool uhci_realize(DeviceState *dev, GError **errp)
{
    UHCIState *s = (UHCIState *)dev;
    PCIDevice *pd = &s->parent;

    pd->config[0x60] = 0x10;            /* SBRN: USB 1.0 */
    pd->config[0xc1] = 0x20;            /* LEGSUP: USBPIRQDEN */
    memory_region_init_io(&s->io, &uhci_ioport_ops, s, "uhci", 0x20);
    pci_register_bar(pd, 4, PCI_BASE_ADDRESS_SPACE_IO, &s->io);
    if (s->masterbus) {
        USBBus *master = usb_bus_find(s->masterbus);
        USBPort *ports[UHCI_NUM_PORTS];

        if (!master) {
            error_setg(errp, "USB bus '%s' not found", s->masterbus);
            goto fail;
        }
        if (!master->register_companion) {
            error_setg(errp, "USB bus '%s' does not allow companion "
                       "controllers", s->masterbus);
            goto fail;
        }
        for (unsigned i = 0; i < UHCI_NUM_PORTS; i++) {
            UHCIPort *p = &s->ports[i];

            /* not on any bus's list: the EHCI port holds the device */
            p->port.bus = master;
            p->port.opaque = s;
            p->port.index = i;
            p->port.ops = &uhci_port_ops;
            p->port.speedmask = USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL;
            p->port.dev = NULL;
            ports[i] = &p->port;
        }
        if (!master->register_companion(master, ports, UHCI_NUM_PORTS,
                                        s->firstport, errp)) {
            goto fail;
        }
    } else {
        usb_bus_init(&s->bus, dev);
        for (unsigned i = 0; i < UHCI_NUM_PORTS; i++) {
            usb_register_port(&s->bus, &s->ports[i].port, s, i,
                              &uhci_port_ops,
                              USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL);
        }
    }
    s->frame_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, uhci_frame_timer, s);
    uhci_reset_regs(s);
    return true;
fail:
    memory_region_destroy(&s->io);
    return false;
}

static void uhci_unrealize(DeviceState *dev)
{
    UHCIState *s = (UHCIState *)dev;

    if (!s->masterbus) {
        usb_bus_cleanup(&s->bus);
    }
    timer_free(s->frame_timer);
    memory_region_destroy(&s->io);
}

static void uhci_qdev_reset(DeviceState *dev)
{
    uhci_reset_regs((UHCIState *)dev);
}

static int uhci_post_load(void *opaque, int version_id)
{
    UHCIState *s = opaque;

    s->frnum &= 0x7ff;
    s->fl_base_addr &= ~0xfffu;
    for (unsigned i = 0; i < UHCI_NUM_PORTS; i++) {
        UHCIPort *p = &s->ports[i];
        p->ctrl = (p->ctrl & ~UHCI_PORT_CCS) | UHCI_PORT_RSVD1 |
                  (p->port.dev ? UHCI_PORT_CCS : 0);
    }
    if (s->cmd & UHCI_CMD_RS) {
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        s->status &= ~UHCI_STS_HCH;
        if (s->expire_time < now - NANOSECONDS_PER_SECOND ||
            s->expire_time > now + UHCI_FRAME_NS) {
            timer_del(s->frame_timer);
        }
        if (!timer_pending(s->frame_timer)) {
            s->expire_time = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                             UHCI_FRAME_NS;
            timer_mod(s->frame_timer, s->expire_time);
        }
    } else {
        timer_del(s->frame_timer);
    }
    uhci_update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_uhci = {
    .name = "uhci",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = uhci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(cmd, UHCIState),
        VMSTATE_UINT16(status, UHCIState),
        VMSTATE_UINT16(intr, UHCIState),
        VMSTATE_UINT16(frnum, UHCIState),
        VMSTATE_UINT32(fl_base_addr, UHCIState),
        VMSTATE_UINT8(sof_timing, UHCIState),
        VMSTATE_UINT8(status2, UHCIState),
        VMSTATE_INT64(expire_time, UHCIState),
        VMSTATE_UINT16(ports[0].ctrl, UHCIState),
        VMSTATE_UINT16(ports[1].ctrl, UHCIState),
        VMSTATE_TIMER_PTR(frame_timer, UHCIState),
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass uhci_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82371SB_2,
    .revision = 0x01,
    .class_id = 0x0c03,             /* serial bus, USB */
    .prog_if = 0x00,                /* UHCI */
    .interrupt_pin = 4,             /* INTD#, as QEMU */
};

static const Property uhci_props[] = {
    DEFINE_PROP("masterbus", UHCIState, masterbus, PROP_STRING, NULL,
                "EHCI bus (ID.0) whose companion this controller is"),
    DEFINE_PROP("firstport", UHCIState, firstport, PROP_UINT32, "0",
                "first EHCI port (0-based) this companion serves"),
    DEFINE_PROP_END_OF_LIST(),
};

/* ICH9 UHCI 1-6: 1d.0-1d.2 and 1a.0-1a.2 on INTA#, INTB#, INTC# */
static const PCIDeviceClass ich9_uhci_classes[6] = {
#define ICH9_UHCI_CLASS(devid, pin) {                                    \
        .vendor_id = PCI_VENDOR_ID_INTEL, .device_id = devid,            \
        .revision = 0x03, .class_id = 0x0c03, .prog_if = 0x00,           \
        .interrupt_pin = pin,                                            \
    }
    ICH9_UHCI_CLASS(0x2934, 1), ICH9_UHCI_CLASS(0x2935, 2),
    ICH9_UHCI_CLASS(0x2936, 3), ICH9_UHCI_CLASS(0x2937, 1),
    ICH9_UHCI_CLASS(0x2938, 2), ICH9_UHCI_CLASS(0x2939, 3),
#undef ICH9_UHCI_CLASS
};

#define UHCI_TYPE(tname, tdesc, klass) {                                  \
        .name = tname,                                                    \
        .parent = TYPE_PCI_DEVICE,                                        \
        .desc = tdesc,                                                    \
        .instance_size = sizeof(UHCIState),                               \
        .user_creatable = true,                                           \
        .category = DEVICE_CATEGORY_USB,                                  \
        .props = uhci_props,                                              \
        .realize = uhci_realize,                                          \
        .unrealize = uhci_unrealize,                                      \
        .reset = uhci_qdev_reset,                                         \
        .vmsd = &vmstate_uhci,                                            \
        .class_data = klass,                                              \
    }

static const DeviceType uhci_types[] = {
    UHCI_TYPE(TYPE_PIIX3_USB_UHCI, "Intel 82371SB PIIX3 USB UHCI controller",
              &uhci_class),
    UHCI_TYPE("ich9-usb-uhci1", "Intel 82801I (ICH9) USB UHCI #1",
              &ich9_uhci_classes[0]),
    UHCI_TYPE("ich9-usb-uhci2", "Intel 82801I (ICH9) USB UHCI #2",
              &ich9_uhci_classes[1]),
    UHCI_TYPE("ich9-usb-uhci3", "Intel 82801I (ICH9) USB UHCI #3",
              &ich9_uhci_classes[2]),
    UHCI_TYPE("ich9-usb-uhci4", "Intel 82801I (ICH9) USB UHCI #4",
              &ich9_uhci_classes[3]),
    UHCI_TYPE("ich9-usb-uhci5", "Intel 82801I (ICH9) USB UHCI #5",
              &ich9_uhci_classes[4]),
    UHCI_TYPE("ich9-usb-uhci6", "Intel 82801I (ICH9) USB UHCI #6",
              &ich9_uhci_classes[5]),
};

static void uhci_register_types(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(uhci_types); i++) {
        device_type_register(&uhci_types[i]);
    }
}
type_init(uhci_register_types)
