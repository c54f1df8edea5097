/*
 * libqusb: xHCI and EHCI driver plumbing for the USB qtests (libqusb.h).
 */
#include <glib.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "libqusb.h"
#include "libqvirtio.h"

void qusb_make_disk(size_t size, char **dir, char **img)
{
    int fd;

    *dir = g_dir_make_tmp(NULL, NULL);
    g_assert_nonnull(*dir);
    *img = g_build_filename(*dir, "disk.img", NULL);
    fd = open(*img, O_CREAT | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
}

/* ---- xHCI ------------------------------------------------------------- */

void qxhci_init(QXhci *x, QTestState *qts, unsigned devfn)
{
    memset(x, 0, sizeof(*x));
    x->qts = qts;
    qpci_cfg_writel(qts, devfn, 0x10, QUSB_BAR);
    qpci_cfg_writel(qts, devfn, 0x14, 0);
    qpci_cfg_writew(qts, devfn, 0x04, 0x6);             /* memory, master */
}

void qxhci_ring_init(QXhci *x, QUsbRing *r, uint64_t base)
{
    r->base = base;
    r->idx = 0;
    r->cycle = true;
    qtest_memset(x->qts, base, 0, 16 * (QXHCI_RING_TRBS + 1));
    /* a Link TRB back to the start, toggling the cycle */
    qtest_writeq(x->qts, base + 16 * QXHCI_RING_TRBS, base);
    qtest_writel(x->qts, base + 16 * QXHCI_RING_TRBS + 12,
                 (TRB_LINK << 10) | 2);
}

uint64_t qxhci_ring_push(QXhci *x, QUsbRing *r, uint64_t param,
                         uint32_t status, uint32_t control)
{
    uint64_t a = r->base + 16 * r->idx;
    uint64_t link = r->base + 16 * QXHCI_RING_TRBS;

    qtest_writeq(x->qts, a, param);
    qtest_writel(x->qts, a + 8, status);
    qtest_writel(x->qts, a + 12, (control & ~1u) | (r->cycle ? 1 : 0));
    if (++r->idx == QXHCI_RING_TRBS) {
        /* hand the link over too */
        uint32_t c = qtest_readl(x->qts, link + 12);
        qtest_writel(x->qts, link + 12, (c & ~1u) | (r->cycle ? 1 : 0));
        r->idx = 0;
        r->cycle = !r->cycle;
    }
    return a;
}

void qxhci_hc_start(QXhci *x)
{
    QTestState *qts = x->qts;

    qtest_writel(qts, QXHCI_OPER, 2);                   /* HCRST */
    g_assert_cmphex(qtest_readl(qts, QXHCI_OPER + 4) & 1, ==, 1);
    qtest_writel(qts, QXHCI_OPER + 0x38, QXHCI_SLOTS);  /* MaxSlotsEn */
    qtest_memset(qts, QXHCI_DCBAA, 0, 0x800);
    qtest_writeq(qts, QXHCI_OPER + 0x30, QXHCI_DCBAA);
    qxhci_ring_init(x, &x->cmd, QXHCI_CMD_RING);
    qtest_writeq(qts, QXHCI_OPER + 0x18, QXHCI_CMD_RING | 1);
    qtest_memset(qts, QXHCI_EV_RING, 0, 16 * QXHCI_EV_SIZE);
    qtest_writeq(qts, QXHCI_ERST, QXHCI_EV_RING);
    qtest_writel(qts, QXHCI_ERST + 8, QXHCI_EV_SIZE);
    x->ev_idx = 0;
    x->ev_cycle = true;
    x->npend = 0;
    qtest_writel(qts, QXHCI_RUNTIME + 0x28, 1);         /* ERSTSZ */
    qtest_writeq(qts, QXHCI_RUNTIME + 0x38, QXHCI_EV_RING);  /* ERDP */
    qtest_writeq(qts, QXHCI_RUNTIME + 0x30, QXHCI_ERST);     /* ERSTBA */
    qtest_writel(qts, QXHCI_RUNTIME + 0x20, 2);         /* IMAN.IE */
    qtest_writel(qts, QXHCI_OPER, 5);                   /* RS, INTE */
    g_assert_cmphex(qtest_readl(qts, QXHCI_OPER + 4) & 1, ==, 0);
}

uint32_t qxhci_portsc(QXhci *x, unsigned port)
{
    return qtest_readl(x->qts, QXHCI_PORTS + 0x10 * (port - 1));
}

/* Move every new event of the ring into the pending list, moving ERDP
 * past it as a driver does. */
static void events_poll(QXhci *x)
{
    for (;;) {
        uint64_t a = QXHCI_EV_RING + 16 * x->ev_idx;
        uint32_t c = qtest_readl(x->qts, a + 12);
        QUsbEvent *ev;

        if ((c & 1) != x->ev_cycle) {
            return;
        }
        g_assert_cmpuint(x->npend, <, G_N_ELEMENTS(x->pend));
        ev = &x->pend[x->npend++];
        ev->param = qtest_readq(x->qts, a);
        ev->status = qtest_readl(x->qts, a + 8);
        ev->control = c;
        if (++x->ev_idx == QXHCI_EV_SIZE) {
            x->ev_idx = 0;
            x->ev_cycle = !x->ev_cycle;
        }
        qtest_writeq(x->qts, QXHCI_RUNTIME + 0x38,
                     (QXHCI_EV_RING + 16 * x->ev_idx) | 8);
    }
}

static void pend_remove(QXhci *x, unsigned first, unsigned n)
{
    memmove(&x->pend[first], &x->pend[first + n],
            (x->npend - first - n) * sizeof(x->pend[0]));
    x->npend -= n;
}

bool qxhci_event_next(QXhci *x, QUsbEvent *ev)
{
    events_poll(x);
    if (!x->npend) {
        return false;
    }
    *ev = x->pend[0];
    pend_remove(x, 0, 1);
    return true;
}

bool qxhci_event_take(QXhci *x, unsigned type, uint64_t param,
                       unsigned flags, QUsbEvent *out)
{
    events_poll(x);
    for (unsigned i = 0; i < x->npend; i++) {
        QUsbEvent *ev = &x->pend[i];

        if (((ev->control >> 10) & 0x3f) == type &&
            ((flags & QXHCI_EV_ANY) || ev->param == param)) {
            *out = *ev;
            /* a driver that reads in order has consumed what it passed */
            if (x->keep_events) {
                pend_remove(x, i, 1);
            } else {
                pend_remove(x, 0, i + 1);
            }
            return true;
        }
    }
    return false;
}

QUsbEvent qxhci_event_wait(QXhci *x, unsigned type, uint64_t param,
                           unsigned flags)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    QUsbEvent ev;

    for (int i = 0; i < 40 || g_get_monotonic_time() < deadline; i++) {
        if (qxhci_event_take(x, type, param, flags, &ev)) {
            return ev;
        }
        if (i < 40) {
            qtest_clock_step(x->qts, 500000);
        } else {
            g_usleep(1000);
            qtest_clock_step(x->qts, 0);
        }
    }
    g_error("no event of type %u for %" PRIx64, type, param);
}

void qxhci_assert_no_event(QXhci *x, unsigned type, uint64_t param)
{
    QUsbEvent ev;

    for (int i = 0; i < 10; i++) {
        qtest_clock_step(x->qts, 500000);
        g_assert_false(qxhci_event_take(x, type, param, 0, &ev));
    }
}

unsigned qxhci_cc(QUsbEvent ev)
{
    return ev.status >> 24;
}

QUsbEvent qxhci_command(QXhci *x, uint64_t param, uint32_t status,
                        uint32_t control)
{
    uint64_t a = qxhci_ring_push(x, &x->cmd, param, status, control);
    QUsbEvent ev;

    qtest_writel(x->qts, QXHCI_DOORBELL, 0);
    ev = qxhci_event_wait(x, TRB_EV_COMMAND, a,
                          x->keep_events ? 0 : QXHCI_EV_ANY);
    g_assert_cmphex(ev.param, ==, a);
    return ev;
}

void qxhci_doorbell(QXhci *x, unsigned slot, unsigned dci, unsigned sid)
{
    qtest_writel(x->qts, QXHCI_DOORBELL + 4 * slot, dci | (sid << 16));
}

unsigned qxhci_address_device(QXhci *x, unsigned port, unsigned mps0)
{
    QTestState *qts = x->qts;
    unsigned slot, speed = (qxhci_portsc(x, port) >> 10) & 0xf;
    QUsbEvent ev;

    if (!(qxhci_portsc(x, port) & 2)) {
        qtest_writel(qts, QXHCI_PORTS + 0x10 * (port - 1), 0x200 | 0x10);
        ev = qxhci_event_wait(x, TRB_EV_PORT, 0, QXHCI_EV_ANY);
        g_assert_cmpuint(ev.param >> 24, ==, port);
        g_assert_cmphex(qxhci_portsc(x, port) & 0x200003, ==, 0x200003);
    }
    ev = qxhci_command(x, 0, 0, 9 << 10);               /* Enable Slot */
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_SUCCESS);
    slot = ev.control >> 24;
    g_assert_cmpuint(slot, >=, 1);
    g_assert_cmpuint(slot, <=, QXHCI_SLOTS);
    qtest_memset(qts, QXHCI_OUT_CTX(slot), 0, 0x400);
    qtest_writeq(qts, QXHCI_DCBAA + 8 * slot, QXHCI_OUT_CTX(slot));
    qtest_memset(qts, QXHCI_INPUT_CTX, 0, 0x440);
    qtest_writel(qts, QXHCI_INPUT_CTX + 4, 3);          /* A0, A1 */
    qtest_writel(qts, QXHCI_INPUT_CTX + 32, (1u << 27) | (speed << 20));
    qtest_writel(qts, QXHCI_INPUT_CTX + 32 + 4, port << 16);
    qxhci_ring_init(x, &x->rings[slot][1], QXHCI_RING(slot, 1));
    qtest_writel(qts, QXHCI_INPUT_CTX + 64 + 4, (mps0 << 16) | (4 << 3) | 6);
    qtest_writeq(qts, QXHCI_INPUT_CTX + 64 + 8, QXHCI_RING(slot, 1) | 1);
    ev = qxhci_command(x, QXHCI_INPUT_CTX, 0, (11 << 10) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, CC_SUCCESS);
    /* the output context: addressed, address = slot id */
    g_assert_cmphex(qtest_readl(qts, QXHCI_OUT_CTX(slot) + 12), ==,
                    (2u << 27) | slot);
    g_assert_cmphex(qtest_readl(qts, QXHCI_OUT_CTX(slot) + 32) & 7, ==, 1);
    return slot;
}

static void set_stream_array(QXhci *x, unsigned dci, unsigned maxps)
{
    unsigned n = 2u << MIN(maxps, 7u);

    qtest_memset(x->qts, QXHCI_SCA(dci), 0, 16 * n);
    for (unsigned sid = 1; sid < MIN(n, (unsigned)QXHCI_STREAMS); sid++) {
        qxhci_ring_init(x, &x->srings[dci][sid], QXHCI_SRING(dci, sid));
        /* a Primary Transfer Ring (SCT 1), DCS 1 */
        qtest_writeq(x->qts, QXHCI_SCA(dci) + 16 * sid,
                     QXHCI_SRING(dci, sid) | (1 << 1) | 1);
    }
}

unsigned qxhci_configure_ep(QXhci *x, unsigned slot, unsigned dci,
                            unsigned type, unsigned mps, unsigned maxps,
                            bool lsa)
{
    QTestState *qts = x->qts;
    uint64_t ep = QXHCI_INPUT_CTX + 32 * (dci + 1);

    qtest_memset(qts, QXHCI_INPUT_CTX, 0, 0x440);
    qtest_writel(qts, QXHCI_INPUT_CTX, 1u << dci);      /* drop it first */
    qtest_writel(qts, QXHCI_INPUT_CTX + 4, 1 | (1u << dci));
    qtest_writel(qts, QXHCI_INPUT_CTX + 32, 31u << 27);
    qtest_writel(qts, ep, (maxps << 10) | (lsa ? 1u << 15 : 0));
    qtest_writel(qts, ep + 4, (mps << 16) | (type << 3) | 6);
    if (maxps) {
        set_stream_array(x, dci, maxps);
        qtest_writeq(qts, ep + 8, QXHCI_SCA(dci));
    } else {
        qxhci_ring_init(x, &x->rings[slot][dci], QXHCI_RING(slot, dci));
        qtest_writeq(qts, ep + 8, QXHCI_RING(slot, dci) | 1);
    }
    return qxhci_cc(qxhci_command(x, QXHCI_INPUT_CTX, 0,
                                  (12 << 10) | (slot << 24)));
}

unsigned qxhci_ep_state(QXhci *x, unsigned slot, unsigned dci)
{
    return qtest_readl(x->qts, QXHCI_OUT_CTX(slot) + 32 * dci) & 7;
}

int qxhci_control(QXhci *x, unsigned slot, uint8_t type, uint8_t req,
                  uint16_t value, uint16_t index, uint16_t len,
                  uint8_t *data)
{
    QUsbRing *r = &x->rings[slot][1];
    bool in = type & 0x80;
    uint64_t setup = type | req << 8 | (uint64_t)value << 16 |
                     (uint64_t)index << 32 | (uint64_t)len << 48;
    uint64_t st;
    QUsbEvent ev;

    qxhci_ring_push(x, r, setup, 8, (TRB_SETUP << 10) | (1 << 6) |
                    (len ? (in ? 3u : 2u) << 16 : 0));
    if (len) {
        if (!in) {
            qtest_memwrite(x->qts, QXHCI_DATA, data, len);
        }
        qxhci_ring_push(x, r, QXHCI_DATA, len, (TRB_DATA << 10) |
                        (in ? 1 << 16 : 0) | TRB_ISP);
    }
    st = qxhci_ring_push(x, r, 0, 0, (TRB_STATUS << 10) | TRB_IOC |
                         (in && len ? 0 : 1 << 16));
    qxhci_doorbell(x, slot, 1, 0);
    ev = qxhci_event_wait(x, TRB_EV_TRANSFER, 0, QXHCI_EV_ANY);
    if (qxhci_cc(ev) == CC_SHORT) {                     /* short data */
        unsigned got = len - (ev.status & 0xffffff);
        qxhci_event_wait(x, TRB_EV_TRANSFER, st, 0);    /* the status's */
        qtest_memread(x->qts, QXHCI_DATA, data, got);
        return got;
    }
    if (qxhci_cc(ev) != CC_SUCCESS) {
        return -(int)qxhci_cc(ev);
    }
    if (in && len) {
        qtest_memread(x->qts, QXHCI_DATA, data, len);
    }
    return len;
}

uint64_t qxhci_post(QXhci *x, unsigned slot, unsigned dci, unsigned sid,
                    uint64_t buf, unsigned len)
{
    QUsbRing *r = sid ? &x->srings[dci][sid] : &x->rings[slot][dci];
    uint64_t a = qxhci_ring_push(x, r, buf, len,
                                 (TRB_NORMAL << 10) | TRB_IOC | TRB_ISP);

    qxhci_doorbell(x, slot, dci, sid);
    return a;
}

int qxhci_done_len(QXhci *x, uint64_t trb, unsigned len)
{
    QUsbEvent ev = qxhci_event_wait(x, TRB_EV_TRANSFER, trb, 0);

    if (qxhci_cc(ev) == CC_SUCCESS || qxhci_cc(ev) == CC_SHORT) {
        return len - (ev.status & 0xffffff);
    }
    return -(int)qxhci_cc(ev);
}

/* ---- EHCI ------------------------------------------------------------- */

void qehci_init(QEhci *h, QTestState *qts, unsigned devfn)
{
    memset(h, 0, sizeof(*h));
    h->qts = qts;
    qpci_cfg_writel(qts, devfn, 0x10, QUSB_BAR);
    qpci_cfg_writew(qts, devfn, 0x04, 0x6);             /* memory, master */
}

uint32_t qehci_rd(QEhci *h, unsigned reg)
{
    return qtest_readl(h->qts, QEHCI_OP + reg);
}

void qehci_wr(QEhci *h, unsigned reg, uint32_t v)
{
    qtest_writel(h->qts, QEHCI_OP + reg, v);
}

void qehci_hc_start(QEhci *h, uint32_t extra)
{
    qehci_set_qh(h, QEHCI_QH_ASYNC, QEHCI_QH_ASYNC | 2, 0, 0, 64, 0);
    qehci_wr(h, ASYNCLISTADDR, QEHCI_QH_ASYNC);
    qehci_wr(h, CONFIGFLAG, 1);
    qehci_wr(h, USBCMD, (8u << 16) | CMD_RS | CMD_ASE | extra);
}

bool qehci_port_reset(QEhci *h, unsigned n)
{
    qehci_wr(h, PORTSC(n), (qehci_rd(h, PORTSC(n)) | PORT_PR) & ~PORT_PED);
    qtest_clock_step(h->qts, 1000000);
    qehci_wr(h, PORTSC(n), qehci_rd(h, PORTSC(n)) & ~PORT_PR);
    qehci_wr(h, PORTSC(n), qehci_rd(h, PORTSC(n)) | PORT_CSC);
    return qehci_rd(h, PORTSC(n)) & PORT_PED;
}

void qehci_set_qh(QEhci *h, uint32_t qh, uint32_t hlink, unsigned addr,
                  unsigned ep, unsigned mps, uint8_t smask)
{
    /* EPS high speed, DTC (toggle from the qTD), H on the async head */
    qtest_writel(h->qts, qh, hlink);
    qtest_writel(h->qts, qh + 4, addr | (ep << 8) | (2u << 12) |
                 (1u << 14) | (qh == QEHCI_QH_ASYNC ? 1u << 15 : 0) |
                 (mps << 16));
    qtest_writel(h->qts, qh + 8, (1u << 30) | smask);   /* Mult 1 */
    /* the overlay: next and alternate qTD terminated, token inactive */
    for (unsigned i = 3; i < 12; i++) {
        qtest_writel(h->qts, qh + 4 * i, i == 4 || i == 5 ? 1 : 0);
    }
}

void qehci_write_qtd(QEhci *h, unsigned i, uint32_t next, unsigned pid,
                     unsigned len, uint32_t buf, uint32_t flags)
{
    uint32_t a = QEHCI_QTD(i);

    qtest_writel(h->qts, a, next);
    qtest_writel(h->qts, a + 4, 1);
    qtest_writel(h->qts, a + 8, ((uint32_t)len << 16) | (3u << 10) |
                 (pid << 8) | TOK_ACTIVE | flags);
    qtest_writel(h->qts, a + 12, buf);
    for (unsigned p = 1; p < 5; p++) {
        qtest_writel(h->qts, a + 12 + 4 * p, (buf & ~0xfffu) + 0x1000 * p);
    }
}

uint32_t qehci_qtd_token(QEhci *h, unsigned i)
{
    return qtest_readl(h->qts, QEHCI_QTD(i) + 8);
}

bool qehci_run_queue(QEhci *h, uint32_t qh, unsigned first, unsigned last,
                     bool wait)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    qtest_writel(h->qts, qh + 16, QEHCI_QTD(first));
    qtest_writel(h->qts, qh + 24, 0);       /* overlay: not active */
    /* A controller that halted (Host System Error) runs nothing more, and
     * a queue whose overlay halted (a stall, an error) stops there: the
     * qTDs after the one that halted stay active for good. */
    for (int f = 0; (qehci_qtd_token(h, last) & TOK_ACTIVE) &&
         !(qehci_rd(h, USBSTS) & STS_HALTED) &&
         !(qtest_readl(h->qts, qh + 24) & TOK_HALT) &&
         (f < 50 || (wait && g_get_monotonic_time() < deadline)); f++) {
        if (h->frame_hook) {
            h->frame_hook();
        } else if (f >= 50) {
            g_usleep(1000);
        }
        qtest_clock_step(h->qts, 1000000);
    }
    return !(qehci_qtd_token(h, last) & TOK_ACTIVE);
}

int qehci_control(QEhci *h, unsigned addr, uint8_t type, uint8_t req,
                  uint16_t value, uint16_t index, uint16_t len,
                  uint8_t *data)
{
    uint8_t setup[8] = { type, req, value, value >> 8, index, index >> 8,
                         len, len >> 8 };
    uint32_t buf = QEHCI_DATA + 0x100;
    bool in = type & 0x80;
    unsigned n = 0;

    qehci_set_qh(h, QEHCI_QH_ASYNC, QEHCI_QH_ASYNC | 2, addr, 0, 64, 0);
    qtest_memwrite(h->qts, QEHCI_DATA, setup, 8);
    if (!in && len) {
        qtest_memwrite(h->qts, buf, data, len);
    }
    qehci_write_qtd(h, n, QEHCI_QTD(n + 1), PID_SETUP, 8, QEHCI_DATA, 0);
    n++;
    if (len) {
        qehci_write_qtd(h, n, QEHCI_QTD(n + 1), in ? PID_IN : PID_OUT, len,
                        buf, TOK_DT);
        n++;
    }
    qehci_write_qtd(h, n, 1, in ? PID_OUT : PID_IN, 0, 0, TOK_DT | TOK_IOC);
    qehci_run_queue(h, QEHCI_QH_ASYNC, 0, n, true);
    for (unsigned i = 0; i <= n; i++) {
        if (qehci_qtd_token(h, i) & (TOK_ACTIVE | TOK_HALT)) {
            g_test_message("control %02x %02x: qTD %u token %08x", type,
                           req, i, qehci_qtd_token(h, i));
            return -1;
        }
    }
    if (!len) {
        return 0;
    }
    len -= (qehci_qtd_token(h, 1) >> 16) & 0x7fff;
    if (in && len) {
        qtest_memread(h->qts, buf, data, len);
    }
    return len;
}

int qehci_bulk(QEhci *h, unsigned addr, unsigned ep, bool in, uint32_t buf,
               unsigned len, bool wait)
{
    qehci_set_qh(h, QEHCI_QH_ASYNC, QEHCI_QH_ASYNC | 2, addr, ep, 512, 0);
    qehci_write_qtd(h, 0, 1, in ? PID_IN : PID_OUT, len, buf, TOK_IOC);
    if (!qehci_run_queue(h, QEHCI_QH_ASYNC, 0, 0, wait)) {
        /* take the qTD back off the queue */
        qtest_writel(h->qts, QEHCI_QH_ASYNC + 16, 1);
        qtest_writel(h->qts, QEHCI_QH_ASYNC + 24, 0);
        qtest_clock_step(h->qts, 1000000);
        return -1;
    }
    if (qehci_qtd_token(h, 0) & TOK_HALT) {
        return -2;
    }
    return len - ((qehci_qtd_token(h, 0) >> 16) & 0x7fff);
}

void qehci_enumerate(QEhci *h, unsigned port, unsigned addr)
{
    uint8_t buf[64];

    g_assert_true(qehci_port_reset(h, port));
    g_assert_cmpint(qehci_control(h, 0, 0x80, 6, 0x100, 0, 8, buf), ==, 8);
    g_assert_cmpint(qehci_control(h, 0, 0x00, 5, addr, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qehci_control(h, addr, 0x00, 9, 1, 0, 0, NULL), ==, 0);
}

/* ---- UHCI ------------------------------------------------------------- */

void quhci_init(QUhci *u, QTestState *qts, unsigned devfn, uint16_t io,
                uint32_t mem)
{
    u->qts = qts;
    u->io = io;
    u->fl = mem;
    u->qh = mem + 0x1000;
    u->td = mem + 0x2000;
    u->data = mem + 0x10000;
    u->frame_hook = NULL;
    qpci_cfg_writel(qts, devfn, 0x20, io | 1);          /* BAR4 */
    qpci_cfg_writew(qts, devfn, 0x04, 0x5);             /* I/O, master */
}

uint16_t quhci_rd(QUhci *u, unsigned reg)
{
    return qtest_inw(u->qts, u->io + reg);
}

void quhci_wr(QUhci *u, unsigned reg, uint16_t v)
{
    qtest_outw(u->qts, u->io + reg, v);
}

void quhci_schedule_start(QUhci *u)
{
    for (unsigned i = 0; i < 1024; i++) {
        qtest_writel(u->qts, u->fl + 4 * i, u->qh | 2);
    }
    qtest_writel(u->qts, u->qh, 1);             /* no next QH */
    qtest_writel(u->qts, u->qh + 4, 1);         /* empty queue */
    quhci_wr(u, UHCI_FLBASEADD, u->fl & 0xffff);
    quhci_wr(u, UHCI_FLBASEADD + 2, u->fl >> 16);
    quhci_wr(u, UHCI_USBCMD, 0x81);             /* RS, MAXP */
}

void quhci_port_reset(QUhci *u, unsigned port)
{
    quhci_wr(u, UHCI_PORTSC1 + 2 * port, 1 << 9);
    quhci_wr(u, UHCI_PORTSC1 + 2 * port, 0);
    quhci_wr(u, UHCI_PORTSC1 + 2 * port, (1 << 2) | (1 << 1));
}

void quhci_write_td(QUhci *u, unsigned i, uint32_t link, uint32_t ctrl,
                    uint8_t pid, unsigned addr, unsigned ep, unsigned len,
                    uint32_t buf)
{
    uint32_t a = u->td + 32 * i;
    uint32_t maxlen = len ? len - 1 : 0x7ff;

    qtest_writel(u->qts, a, link);
    qtest_writel(u->qts, a + 4, ctrl | TD_ACTIVE | (3u << 27));
    qtest_writel(u->qts, a + 8, pid | (addr << 8) | (ep << 15) |
                 (maxlen << 21));
    qtest_writel(u->qts, a + 12, buf);
}

uint32_t quhci_td_ctrl(QUhci *u, unsigned i)
{
    return qtest_readl(u->qts, u->td + 32 * i + 4);
}

unsigned quhci_actlen(uint32_t ctrl)
{
    return ((ctrl & 0x7ff) + 1) & 0x7ff;
}

void quhci_run_tds(QUhci *u, unsigned n)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    qtest_writel(u->qts, u->qh + 4, u->td);
    for (int f = 0; (quhci_td_ctrl(u, n - 1) & TD_ACTIVE) &&
         (f < 50 || (u->frame_hook && g_get_monotonic_time() < deadline));
         f++) {
        if (u->frame_hook) {
            u->frame_hook();
        }
        qtest_clock_step(u->qts, 1000000);
    }
}

int quhci_control(QUhci *u, unsigned addr, uint8_t type, uint8_t req,
                  uint16_t value, uint16_t index, uint16_t len,
                  uint8_t *data)
{
    uint8_t setup[8] = { type, req, value, value >> 8, index, index >> 8,
                         len, len >> 8 };
    uint32_t buf = u->data + 0x100;
    bool in = type & 0x80;
    unsigned n = 0, ndata = (len + 7) / 8, got = 0;

    qtest_memwrite(u->qts, u->data, setup, 8);
    if (!in && len) {
        qtest_memwrite(u->qts, buf, data, len);
    }
    /* each TD links to the next depth first (Vf) */
    quhci_write_td(u, n, u->td + 32 * (n + 1) + 4, 0, UHCI_PID_SETUP, addr,
                   0, 8, u->data);
    n++;
    for (unsigned i = 0; i < ndata; i++, n++) {
        unsigned l = MIN(8, len - 8 * i);
        quhci_write_td(u, n, u->td + 32 * (n + 1) + 4, 0,
                       in ? UHCI_PID_IN : UHCI_PID_OUT, addr, 0, l,
                       buf + 8 * i);
    }
    quhci_write_td(u, n, 1, TD_IOC, in ? UHCI_PID_OUT : UHCI_PID_IN, addr,
                   0, 0, 0);
    n++;
    quhci_run_tds(u, n);
    for (unsigned i = 0; i < n; i++) {
        uint32_t c = quhci_td_ctrl(u, i);

        if (c & (TD_ACTIVE | TD_STALL)) {
            return -1;
        }
        if (i >= 1 && i < n - 1) {
            got += quhci_actlen(c);
        }
    }
    if (in && got) {
        qtest_memread(u->qts, buf, data, got);
    }
    return got;
}

void quhci_enumerate(QUhci *u, unsigned port, unsigned addr)
{
    uint8_t buf[64];

    quhci_port_reset(u, port);
    g_assert_cmpint(quhci_control(u, 0, 0x80, 6, 0x100, 0, 8, buf), ==, 8);
    g_assert_cmpint(quhci_control(u, 0, 0x00, 5, addr, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(u, addr, 0x00, 9, 1, 0, 0, NULL), ==, 0);
}
