/*
 * usb-redir: a USB device on the far side of a chardev, spoken to with
 * the usbredir protocol (usbredirparser), as QEMU 7.2's: `chardev=`,
 * `filter=` (usbredirfilter rules "class:vendor:product:version:allow|
 * ..."), what SPICE clients and usbredirserver use.
 *
 * Spec: the usbredir protocol (usb-redirection-protocol.md of the
 * usbredir project): hello and capabilities, device_connect,
 * interface_info, ep_info, device_disconnect(_ack), reset,
 * set_configuration/set_alt_setting, control/bulk/interrupt packets,
 * start_interrupt_receiving, filter_filter/filter_reject.
 *
 * The parser is created when the chardev connects (it queues our hello)
 * and destroyed when it closes (the device detaches).  The device
 * attaches to its claimed port when the peer sends device_connect and
 * the filter lets it through.  Packets are asynchronous as with
 * usb-host: the controller's first offer sends the request to the peer
 * and NAKs; the peer's answer (matched by id) wakes the controller,
 * whose retry takes the result.  Interrupt IN endpoints are started on
 * the first poll; the peer's reports queue (8 deep) until polled.
 *
 * Isochronous endpoints (usbredir protocol: start_iso_stream,
 * stop_iso_stream, iso_stream_status, iso_packet) have no handshake
 * (USB 2.0 5.6), so they are not asynchronous: the first packet the
 * controller offers starts the stream; IN packets then take what the
 * peer streamed into a bounded ring (hw/usb/iso-ring.c), or nothing
 * (a zero-length packet) when it is empty; OUT packets go to the peer
 * as iso_packets at once.  Bulk streams are not done (docs/usb.md).
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "hw/usb/usb.h"
#include "hw/usb/iso-ring.h"
#include <usbredirparser.h>
#include <usbredirfilter.h>

#define REDIR_INTR_QUEUE        8
#define REDIR_MAX_DATA          (1 << 20)
/*
 * Isochronous streams.  usbredirhost takes at most 32 packets per URB
 * and 16 URBs; 3 URBs in flight is what keeps a stream gap-free
 * through a late completion.  An URB spans 4 ms at high speed (8
 * micro-frames a frame) and 8 ms at full speed (a packet a frame).
 */
#define REDIR_ISO_URBS          3
#define REDIR_ISO_PKTS_HS       32
#define REDIR_ISO_PKTS_FS       8
/* The largest packet a (micro)frame carries: high speed 3 x 1024
 * (USB 2.0 5.6.3), SuperSpeed 3 x 16 x 1024 (USB 3.2 4.4.8), full
 * speed 1023 (USB 2.0 5.6.3). */
#define REDIR_ISO_MAX_HS        3072
#define REDIR_ISO_MAX_SS        (3 * 16 * 1024)
#define REDIR_ISO_MAX_FS        1023
/* An IN ring holds the URBs in flight plus one more, and at most 1 MiB */
#define REDIR_ISO_RING_BYTES    (1u << 20)
/* Messages the parser may hold for a peer that does not read before
 * isochronous OUT packets are dropped: 4 URBs' worth of high-speed
 * packets, at most 4 x 32 x 3 KiB = 384 KiB of data. */
#define REDIR_ISO_OUT_QUEUE     (4 * REDIR_ISO_PKTS_HS)

typedef struct RedirPending {
    bool busy, done;
    uint64_t id;
    uint8_t setup[8];           /* control: the request it answers */
    int status;                 /* USB_RET_* */
    uint8_t *data;              /* IN data (g_malloc'd) */
    size_t len;
} RedirPending;

typedef struct RedirIntrIn {
    bool started;
    unsigned head, count;
    uint8_t *data[REDIR_INTR_QUEUE];
    uint16_t len[REDIR_INTR_QUEUE];
} RedirIntrIn;

/* One isochronous endpoint, by usbredir index (OUT 0-15, IN 16-31). */
typedef struct RedirIso {
    bool started;               /* start_iso_stream sent, not stopped */
    bool failed;                /* the peer said the stream failed */
    unsigned max;               /* bytes a packet may carry */
    UsbIsoRing ring;            /* IN: the peer's packets, oldest first */
    uint64_t refused;           /* IN packets longer than max */
    uint64_t out_dropped;       /* OUT packets a peer that does not read
                                 * would have had to queue */
} RedirIso;

typedef struct USBRedirDevice {
    USBDevice dev;
    Chardev *chr;
    char *filter_str;
    struct usbredirfilter_rule *rules;
    int nrules;
    struct usbredirparser *parser;
    const uint8_t *rd_buf;      /* chardev input being parsed */
    int rd_len;
    uint64_t next_id;
    bool connected;             /* the peer announced a device */
    struct usb_redir_device_connect_header conn;
    struct usb_redir_interface_info_header ifinfo;
    struct usb_redir_ep_info_header epinfo;
    RedirPending ctrl;
    RedirPending data[2][USB_MAX_ENDPOINTS];
    RedirIntrIn intr[USB_MAX_ENDPOINTS];
    RedirIso iso[32];
    uint64_t iso_bogus;         /* iso messages for no iso endpoint */
} USBRedirDevice;

static int redir_status(uint8_t st)
{
    switch (st) {
    case usb_redir_success:
        return USB_RET_SUCCESS;
    case usb_redir_stall:
        return USB_RET_STALL;
    case usb_redir_babble:
        return USB_RET_BABBLE;
    default:
        return USB_RET_IOERROR;
    }
}

/*
 * Hand what the parser queued to the chardev.  do_write loops until the
 * queue is empty or redir_write takes less than offered; what the
 * chardev could not take stays queued in the parser, and redir_write has
 * asked to be called back (redir_writable) when it can take more.
 */
static void redir_flush(USBRedirDevice *s)
{
    if (s->parser && usbredirparser_has_data_to_write(s->parser)) {
        usbredirparser_do_write(s->parser);
    }
}

static void redir_writable(void *opaque)
{
    redir_flush(opaque);
}

static void redir_clear_pending(RedirPending *p)
{
    g_free(p->data);
    memset(p, 0, sizeof(*p));
}

static void redir_iso_free(USBRedirDevice *s);

static void redir_reset_state(USBRedirDevice *s)
{
    redir_clear_pending(&s->ctrl);
    for (unsigned i = 0; i < 2; i++) {
        for (unsigned e = 0; e < USB_MAX_ENDPOINTS; e++) {
            redir_clear_pending(&s->data[i][e]);
        }
    }
    for (unsigned e = 0; e < USB_MAX_ENDPOINTS; e++) {
        RedirIntrIn *q = &s->intr[e];
        for (unsigned i = 0; i < REDIR_INTR_QUEUE; i++) {
            g_free(q->data[i]);
        }
        memset(q, 0, sizeof(*q));
    }
    redir_iso_free(s);
}

/* A pending request got its answer: keep it for the controller's retry. */
static void redir_complete(USBRedirDevice *s, RedirPending *p, uint8_t st,
                           const uint8_t *data, int len, unsigned ep)
{
    p->busy = false;
    p->done = true;
    p->status = redir_status(st);
    g_free(p->data);
    p->data = NULL;
    p->len = 0;
    if (data && len > 0) {
        p->data = g_memdup2(data, len);
        p->len = len;
    }
    usb_wakeup(&s->dev, ep & 0xf);
}

/* ---- isochronous streams ------------------------------------------------ */

/* usbredir numbers endpoints 0-15 OUT, 16-31 IN (ep_info, EP2I) */
static unsigned redir_ep_index(uint8_t addr)
{
    return ((addr & 0x80) ? 16 : 0) + (addr & 0xf);
}

static uint8_t redir_ep_addr(unsigned idx)
{
    return ((idx & 16) ? 0x80 : 0) | (idx & 0xf);
}

/* Is @addr an isochronous endpoint of the device as the peer last
 * described it?  Bits 6:4 of an address are reserved (USB 2.0 9.6.6)
 * and endpoint 0 is always control, whatever a peer claims. */
static bool redir_ep_is_iso(USBRedirDevice *s, uint8_t addr)
{
    return !(addr & 0x70) && (addr & 0xf) &&
           s->epinfo.type[redir_ep_index(addr)] == usb_redir_type_iso;
}

/*
 * The most bytes a packet of endpoint @idx may carry.  usbredirhost's
 * ep_info max_packet_size is wMaxPacketSize's size times its
 * high-bandwidth multiplier (USB 2.0 5.9.2, 9.6.6): what one
 * (micro)frame carries.  Without the ep_info_max_packet_size capability
 * the peer sends none: the speed's limit then.
 */
static unsigned redir_iso_max(USBRedirDevice *s, unsigned idx)
{
    unsigned lim = s->dev.speed == USB_SPEED_SUPER ? REDIR_ISO_MAX_SS :
                   s->dev.speed == USB_SPEED_HIGH ? REDIR_ISO_MAX_HS :
                   REDIR_ISO_MAX_FS;
    unsigned v = 0;

    if (usbredirparser_peer_has_cap(s->parser,
                                    usb_redir_cap_ep_info_max_packet_size)) {
        v = s->epinfo.max_packet_size[idx];
    }
    return v ? MIN(v, lim) : lim;
}

/*
 * Size an IN ring for @pkts packets per URB: the URBs in flight and one
 * more, in at most REDIR_ISO_RING_BYTES.  Allocated when the stream
 * starts and kept while its size fits, so packets never allocate.
 *
 * Its target fill level is half the URBs' packets (at most half the
 * ring): the peer completes whole URBs at a time, so after a start or an
 * underrun the guest gets empty packets until that much is buffered, and
 * then a continuous stream that rides out a URB's worth of jitter.  QEMU
 * aims at about 60 ms of packets with more URBs; kvmpc keeps the URBs
 * it asks for and buffers half of them.
 */
static void redir_iso_ring_setup(RedirIso *iso, unsigned pkts)
{
    unsigned n = MIN(pkts * (REDIR_ISO_URBS + 1),
                     MAX(REDIR_ISO_RING_BYTES / iso->max, 1u));

    if (usb_iso_ring_allocated(&iso->ring) &&
        (iso->ring.slot_size != iso->max || iso->ring.nslots != n)) {
        usb_iso_ring_free(&iso->ring);
    }
    if (!usb_iso_ring_allocated(&iso->ring)) {
        usb_iso_ring_init(&iso->ring, n, iso->max);
    }
    usb_iso_ring_set_target(&iso->ring,
                            MIN(pkts * REDIR_ISO_URBS / 2, n / 2));
    usb_iso_ring_clear(&iso->ring);
}

/* start_iso_stream: the peer submits no_urbs URBs of pkts_per_urb
 * packets and streams IN packets as they complete; for OUT it collects
 * our packets into URBs. */
static void redir_iso_start(USBRedirDevice *s, uint8_t addr)
{
    unsigned idx = redir_ep_index(addr);
    RedirIso *iso = &s->iso[idx];
    unsigned pkts = s->dev.speed >= USB_SPEED_HIGH ? REDIR_ISO_PKTS_HS :
                    REDIR_ISO_PKTS_FS;
    struct usb_redir_start_iso_stream_header h = {
        .endpoint = addr, .pkts_per_urb = pkts, .no_urbs = REDIR_ISO_URBS,
    };

    iso->max = redir_iso_max(s, idx);
    if (addr & 0x80) {
        redir_iso_ring_setup(iso, pkts);
    }
    usbredirparser_send_start_iso_stream(s->parser, s->next_id++, &h);
    iso->started = true;
    iso->failed = false;
    redir_flush(s);
}

/* Stop endpoint @idx's stream; @tell: send stop_iso_stream (not when the
 * peer dropped it already: a new ep_info, a disconnect). */
static void redir_iso_stop(USBRedirDevice *s, unsigned idx, bool tell)
{
    RedirIso *iso = &s->iso[idx];

    if (iso->started && tell && s->parser) {
        struct usb_redir_stop_iso_stream_header h = {
            .endpoint = redir_ep_addr(idx),
        };
        usbredirparser_send_stop_iso_stream(s->parser, s->next_id++, &h);
    }
    iso->started = false;
    iso->failed = false;
    usb_iso_ring_clear(&iso->ring);
}

/* Stop the streams of interface @iface (-1: all), as a host driver does
 * before SET_INTERFACE or SET_CONFIGURATION (USB 2.0 9.1.1.5: a new
 * setting drops the old endpoints). */
static void redir_iso_stop_iface(USBRedirDevice *s, int iface)
{
    for (unsigned i = 0; i < 32; i++) {
        if (s->iso[i].started &&
            (iface < 0 || s->epinfo.interface[i] == iface)) {
            redir_iso_stop(s, i, true);
        }
    }
    redir_flush(s);
}

static void redir_iso_free(USBRedirDevice *s)
{
    for (unsigned i = 0; i < 32; i++) {
        usb_iso_ring_free(&s->iso[i].ring);
        memset(&s->iso[i], 0, sizeof(s->iso[i]));
    }
}

/* An isochronous OUT transaction is one iso_packet to the peer; there
 * is no answer to wait for. */
static void redir_iso_out(USBRedirDevice *s, RedirIso *iso, USBPacket *p,
                          uint8_t addr)
{
    struct usb_redir_iso_packet_header h = {
        .endpoint = addr, .status = usb_redir_success, .length = p->len,
    };

    if (p->len > iso->max) {
        p->status = USB_RET_IOERROR;
        return;
    }
    if (usbredirparser_has_data_to_write(s->parser) > REDIR_ISO_OUT_QUEUE) {
        /* The peer stopped reading: the data is late anyway (USB 2.0
         * 5.6.4 lets isochronous data be lost), and memory stays bounded. */
        iso->out_dropped++;
        p->actual = p->len;
        p->status = USB_RET_SUCCESS;
        return;
    }
    usbredirparser_send_iso_packet(s->parser, s->next_id++, &h, p->buf,
                                   p->len);
    redir_flush(s);
    p->actual = p->len;
    p->status = USB_RET_SUCCESS;
}

static void redir_iso_data(USBRedirDevice *s, USBPacket *p, uint8_t addr)
{
    RedirIso *iso = &s->iso[redir_ep_index(addr)];

    if (iso->failed) {
        /* the peer lost the stream: this transaction fails, the next
         * one starts it again (a host driver resubmits its URBs) */
        iso->failed = false;
        p->status = USB_RET_IOERROR;
        return;
    }
    if (!iso->started) {
        redir_iso_start(s, addr);
    }
    if (addr & 0x80) {
        usb_iso_ring_take(&iso->ring, p);
    } else {
        redir_iso_out(s, iso, p, addr);
    }
}

/* A new ep_info: streams of endpoints that are no longer isochronous
 * are gone on the peer's side (a new alternate setting). */
static void redir_iso_check_eps(USBRedirDevice *s)
{
    for (unsigned i = 0; i < 32; i++) {
        if (s->iso[i].started && !redir_ep_is_iso(s, redir_ep_addr(i))) {
            redir_iso_stop(s, i, false);
        }
    }
}

/* ---- parser callbacks -------------------------------------------------- */

static int redir_read(void *priv, uint8_t *data, int count)
{
    USBRedirDevice *s = priv;
    int n = MIN(count, s->rd_len);

    memcpy(data, s->rd_buf, n);
    s->rd_buf += n;
    s->rd_len -= n;
    return n;
}

/*
 * The parser's output, written without blocking (as QEMU's usb-redir):
 * a peer that reads slowly makes the parser hold the rest, not the main
 * loop wait, and not the socket chardev give up on the peer (its plain
 * write drops a connection that lets 16 MiB pile up).  Control, bulk
 * and interrupt requests wait for the peer's answer, so how much can
 * queue is bounded by what the guest has in flight; isochronous OUT
 * packets have no answer and are dropped past REDIR_ISO_OUT_QUEUE
 * (redir_iso_out).
 */
static int redir_write(void *priv, uint8_t *data, int count)
{
    USBRedirDevice *s = priv;
    int n = qemu_chr_fe_write_nb(s->chr, data, count);

    if (n < count) {
        qemu_chr_fe_wait_writable(s->chr, redir_writable, s);
    }
    return n;
}

static void redir_log(void *priv, int level, const char *msg)
{
    if (level <= usbredirparser_error) {
        g_warning("usb-redir: %s", msg);
    }
}

static void redir_hello(void *priv, struct usb_redir_hello_header *h)
{
    USBRedirDevice *s = priv;

    if (s->nrules &&
        usbredirparser_peer_has_cap(s->parser, usb_redir_cap_filter)) {
        usbredirparser_send_filter_filter(s->parser, s->rules, s->nrules);
    }
}

static void redir_interface_info(void *priv,
                                 struct usb_redir_interface_info_header *h)
{
    USBRedirDevice *s = priv;

    s->ifinfo = *h;
    s->ifinfo.interface_count = MIN(h->interface_count, 32u);
}

static void redir_ep_info(void *priv, struct usb_redir_ep_info_header *h)
{
    USBRedirDevice *s = priv;

    s->epinfo = *h;
    redir_iso_check_eps(s);
}

static void redir_device_disconnect(void *priv)
{
    USBRedirDevice *s = priv;

    s->connected = false;
    usb_device_detach(&s->dev);
    redir_reset_state(s);
    /* the parser sends device_disconnect_ack itself when both have it */
}

static void redir_device_connect(void *priv,
                                 struct usb_redir_device_connect_header *h)
{
    USBRedirDevice *s = priv;
    USBDevice *dev = &s->dev;

    if (s->connected) {
        redir_device_disconnect(s);
    }
    if (s->nrules &&
        usbredirfilter_check(s->rules, s->nrules, h->device_class,
                             h->device_subclass, h->device_protocol,
                             s->ifinfo.interface_class,
                             s->ifinfo.interface_subclass,
                             s->ifinfo.interface_protocol,
                             s->ifinfo.interface_count, h->vendor_id,
                             h->product_id, h->device_version_bcd, 0)) {
        usbredirparser_send_filter_reject(s->parser);
        return;
    }
    s->conn = *h;
    switch (h->speed) {
    case usb_redir_speed_low:
        dev->speedmask = USB_SPEED_MASK_LOW;
        break;
    case usb_redir_speed_full:
        dev->speedmask = USB_SPEED_MASK_FULL;
        break;
    case usb_redir_speed_super:
        /* a SuperSpeed device runs at high speed on a USB 2 port, and
         * like every high-speed device at full speed on a USB 1 port */
        dev->speedmask = USB_SPEED_MASK_SUPER | USB_SPEED_MASK_HIGH |
                         USB_SPEED_MASK_FULL;
        break;
    default:
        dev->speedmask = USB_SPEED_MASK_HIGH | USB_SPEED_MASK_FULL;
        break;
    }
    s->connected = true;
    usb_device_attach(dev);
}

static void redir_configuration_status(void *priv, uint64_t id,
    struct usb_redir_configuration_status_header *h)
{
    USBRedirDevice *s = priv;

    if (s->ctrl.busy && s->ctrl.id == id) {
        redir_complete(s, &s->ctrl, h->status, NULL, 0, 0);
    }
}

static void redir_alt_setting_status(void *priv, uint64_t id,
    struct usb_redir_alt_setting_status_header *h)
{
    USBRedirDevice *s = priv;

    if (s->ctrl.busy && s->ctrl.id == id) {
        redir_complete(s, &s->ctrl, h->status, NULL, 0, 0);
    }
}

static void redir_control_packet(void *priv, uint64_t id,
    struct usb_redir_control_packet_header *h, uint8_t *data, int len)
{
    USBRedirDevice *s = priv;

    if (s->ctrl.busy && s->ctrl.id == id) {
        redir_complete(s, &s->ctrl, h->status, data,
                       MIN(len, USB_CONTROL_BUF_SIZE), 0);
    }
    usbredirparser_free_packet_data(s->parser, data);
}

static void redir_bulk_packet(void *priv, uint64_t id,
    struct usb_redir_bulk_packet_header *h, uint8_t *data, int len)
{
    USBRedirDevice *s = priv;
    bool in = h->endpoint & 0x80;
    RedirPending *p = &s->data[in][h->endpoint & 0xf];

    if (p->busy && p->id == id) {
        redir_complete(s, p, h->status, in ? data : NULL,
                       MIN(len, REDIR_MAX_DATA), h->endpoint);
    }
    usbredirparser_free_packet_data(s->parser, data);
}

static void redir_interrupt_packet(void *priv, uint64_t id,
    struct usb_redir_interrupt_packet_header *h, uint8_t *data, int len)
{
    USBRedirDevice *s = priv;
    unsigned ep = h->endpoint & 0xf;

    if (h->endpoint & 0x80) {
        /* a report of a started interrupt IN endpoint: queue it */
        RedirIntrIn *q = &s->intr[ep];
        if (h->status == usb_redir_success && q->count < REDIR_INTR_QUEUE &&
            len >= 0 && len <= 1024) {
            unsigned i = (q->head + q->count) % REDIR_INTR_QUEUE;
            q->data[i] = g_memdup2(data, len);
            q->len[i] = len;
            q->count++;
            usb_wakeup(&s->dev, ep);
        }
    } else {
        RedirPending *p = &s->data[0][ep];
        if (p->busy && p->id == id) {
            redir_complete(s, p, h->status, NULL, 0, ep);
        }
    }
    usbredirparser_free_packet_data(s->parser, data);
}

/*
 * The peer's word on a stream: success after start_iso_stream, or an
 * error when it could not start it or its URBs failed (usbredirhost
 * stops the stream then).  The next transaction fails and the one
 * after restarts the stream.  A status for an endpoint that is not
 * isochronous is counted and ignored.
 */
static void redir_iso_stream_status(void *priv, uint64_t id,
    struct usb_redir_iso_stream_status_header *h)
{
    USBRedirDevice *s = priv;
    RedirIso *iso;

    if (!redir_ep_is_iso(s, h->endpoint)) {
        s->iso_bogus++;
        return;
    }
    iso = &s->iso[redir_ep_index(h->endpoint)];
    if (h->status != usb_redir_success && iso->started) {
        iso->started = false;
        iso->failed = true;
        usb_iso_ring_clear(&iso->ring);
    }
}

/* What kvmpc does not use still needs a handler: libusbredirparser calls
 * every callback of a message the peer may send without a NULL check. */

static void redir_interrupt_receiving_status(void *priv, uint64_t id,
    struct usb_redir_interrupt_receiving_status_header *h)
{
}

static void redir_bulk_streams_status(void *priv, uint64_t id,
    struct usb_redir_bulk_streams_status_header *h)
{
}

static void redir_bulk_receiving_status(void *priv, uint64_t id,
    struct usb_redir_bulk_receiving_status_header *h)
{
}

static void redir_ignore_filter(void *priv, struct usbredirfilter_rule *r,
                                int n)
{
    usbredirfilter_free(r);
}

/*
 * A packet of a started isochronous IN stream: into the endpoint's ring
 * (the oldest makes room).  One longer than the endpoint allows is not
 * kept: its transaction sees babble, what a host controller reports for
 * a device that sends past the packet's end (USB 2.0 8.7.4, EHCI 4.7.3).
 * An error status takes a slot too, so the guest sees the gap where it
 * happened.
 */
static void redir_iso_received(USBRedirDevice *s,
                               struct usb_redir_iso_packet_header *h,
                               const uint8_t *data, int len)
{
    RedirIso *iso = &s->iso[redir_ep_index(h->endpoint)];

    if (!iso->started) {
        return;                 /* late packets of a stopped stream */
    }
    if (h->status != usb_redir_success) {
        usb_iso_ring_push(&iso->ring, NULL, 0, redir_status(h->status));
    } else if (len < 0 || (unsigned)len > iso->max) {
        iso->refused++;
        usb_iso_ring_push(&iso->ring, NULL, 0, USB_RET_BABBLE);
    } else {
        usb_iso_ring_push(&iso->ring, data, len, USB_RET_SUCCESS);
    }
}

static void redir_iso_packet(void *priv, uint64_t id,
    struct usb_redir_iso_packet_header *h, uint8_t *data, int len)
{
    USBRedirDevice *s = priv;

    if (!redir_ep_is_iso(s, h->endpoint)) {
        s->iso_bogus++;         /* no such stream: a confused peer */
    } else if (h->endpoint & 0x80) {
        redir_iso_received(s, h, data, len);
    }
    /* an OUT endpoint's iso_packet echoes one of ours: usbredirhost
     * reports a failed OUT stream with iso_stream_status */
    usbredirparser_free_packet_data(s->parser, data);
}

static void redir_buffered_bulk_packet(void *priv, uint64_t id,
    struct usb_redir_buffered_bulk_packet_header *h, uint8_t *data, int len)
{
    usbredirparser_free_packet_data(((USBRedirDevice *)priv)->parser, data);
}

static void redir_filter_reject(void *priv)
{
}

/* ---- the chardev --------------------------------------------------------- */

static void redir_parser_destroy(USBRedirDevice *s)
{
    if (s->connected) {
        s->connected = false;
        usb_device_detach(&s->dev);
    }
    redir_reset_state(s);
    if (s->parser) {
        usbredirparser_destroy(s->parser);
        s->parser = NULL;
    }
}

static void redir_parser_create(USBRedirDevice *s)
{
    uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };
    struct usbredirparser *p;

    redir_parser_destroy(s);
    p = usbredirparser_create();
    p->priv = s;
    p->log_func = redir_log;
    p->read_func = redir_read;
    p->write_func = redir_write;
    p->hello_func = redir_hello;
    p->device_connect_func = redir_device_connect;
    p->device_disconnect_func = redir_device_disconnect;
    p->interface_info_func = redir_interface_info;
    p->ep_info_func = redir_ep_info;
    p->configuration_status_func = redir_configuration_status;
    p->alt_setting_status_func = redir_alt_setting_status;
    p->control_packet_func = redir_control_packet;
    p->bulk_packet_func = redir_bulk_packet;
    p->interrupt_packet_func = redir_interrupt_packet;
    p->iso_stream_status_func = redir_iso_stream_status;
    p->interrupt_receiving_status_func = redir_interrupt_receiving_status;
    p->bulk_streams_status_func = redir_bulk_streams_status;
    p->bulk_receiving_status_func = redir_bulk_receiving_status;
    p->filter_reject_func = redir_filter_reject;
    p->filter_filter_func = redir_ignore_filter;
    p->iso_packet_func = redir_iso_packet;
    p->buffered_bulk_packet_func = redir_buffered_bulk_packet;
    usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_filter);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_device_disconnect_ack);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
    usbredirparser_init(p, "kvmpc usb-redir", caps, USB_REDIR_CAPS_SIZE, 0);
    s->parser = p;
    redir_flush(s);
}

static int redir_can_read(void *opaque)
{
    return 64 * 1024;
}

static void redir_chr_read(void *opaque, const uint8_t *buf, int len)
{
    USBRedirDevice *s = opaque;

    if (!s->parser) {
        return;
    }
    s->rd_buf = buf;
    s->rd_len = len;
    while (s->parser && s->rd_len > 0) {
        if (usbredirparser_do_read(s->parser)) {
            /* a protocol error: drop the connection's state */
            g_warning("usb-redir: protocol error, disconnecting");
            redir_parser_destroy(s);
            qemu_chr_fe_disconnect(s->chr);
            return;
        }
    }
    redir_flush(s);
}

static void redir_chr_event(void *opaque, ChrEvent event)
{
    USBRedirDevice *s = opaque;

    if (event == CHR_EVENT_OPENED) {
        redir_parser_create(s);
    } else if (event == CHR_EVENT_CLOSED) {
        redir_parser_destroy(s);
    }
}

/* ---- packets from the controller --------------------------------------- */

/* Requests that end isochronous streams, stopped before the request
 * goes out, as a host driver kills its URBs first: SET_CONFIGURATION
 * and SET_INTERFACE (USB 2.0 9.4.7, 9.4.10), and CLEAR_FEATURE
 * (ENDPOINT_HALT) of an isochronous endpoint, Linux's endpoint reset
 * (usb_clear_halt). */
static void redir_iso_before_control(USBRedirDevice *s, int request,
                                     int value, int index)
{
    if (request == (DeviceOutRequest | USB_REQ_SET_CONFIGURATION)) {
        redir_iso_stop_iface(s, -1);
    } else if (request == (InterfaceOutRequest | USB_REQ_SET_INTERFACE)) {
        redir_iso_stop_iface(s, index & 0xff);
    } else if (request == (EndpointOutRequest | USB_REQ_CLEAR_FEATURE) &&
               value == USB_ENDPOINT_HALT &&
               redir_ep_is_iso(s, index & 0xff)) {
        redir_iso_stop(s, redir_ep_index(index & 0xff), true);
    }
}

static void redir_handle_control(USBDevice *dev, USBPacket *p, int request,
                                 int value, int index, int length,
                                 uint8_t *data)
{
    USBRedirDevice *s = (USBRedirDevice *)dev;
    RedirPending *c = &s->ctrl;
    uint8_t setup[8] = { request >> 8, request & 0xff, value, value >> 8,
                         index, index >> 8, length, length >> 8 };
    bool in = request & (USB_DIR_IN << 8);

    if (!s->parser || !s->connected) {
        p->status = USB_RET_NODEV;
        return;
    }
    if (c->done && !memcmp(c->setup, setup, 8)) {
        p->status = c->status;
        if (c->status == USB_RET_SUCCESS && in) {
            p->actual = MIN(c->len, (size_t)length);
            memcpy(data, c->data, p->actual);
        }
        redir_clear_pending(c);
        return;
    }
    if (c->busy) {
        p->status = USB_RET_NAK;
        return;
    }
    redir_clear_pending(c);
    redir_iso_before_control(s, request, value, index);
    c->id = s->next_id++;
    memcpy(c->setup, setup, 8);
    if (request == (DeviceOutRequest | USB_REQ_SET_CONFIGURATION)) {
        struct usb_redir_set_configuration_header h = {
            .configuration = value,
        };
        usbredirparser_send_set_configuration(s->parser, c->id, &h);
    } else if (request == (InterfaceOutRequest | USB_REQ_SET_INTERFACE)) {
        struct usb_redir_set_alt_setting_header h = {
            .interface = index, .alt = value,
        };
        usbredirparser_send_set_alt_setting(s->parser, c->id, &h);
    } else {
        struct usb_redir_control_packet_header h = {
            .endpoint = in ? 0x80 : 0, .request = request & 0xff,
            .requesttype = request >> 8, .value = value, .index = index,
            .length = length,
        };
        usbredirparser_send_control_packet(s->parser, c->id, &h,
                                           in ? NULL : data,
                                           in ? 0 : length);
    }
    c->busy = true;
    redir_flush(s);
    p->status = USB_RET_NAK;
}

static void redir_handle_data(USBDevice *dev, USBPacket *p)
{
    USBRedirDevice *s = (USBRedirDevice *)dev;
    bool in = p->pid == USB_TOKEN_IN;
    unsigned ep = p->ep & 0xf;
    uint8_t addr = ep | (in ? 0x80 : 0);
    unsigned idx = (in ? 16 : 0) + ep;
    uint8_t type = s->epinfo.type[idx];
    RedirPending *d = &s->data[in][ep];

    if (!s->parser || !s->connected) {
        p->status = USB_RET_NODEV;
        return;
    }
    if (p->stream) {
        /* bulk streams are not passed through (docs/usb.md) */
        p->status = USB_RET_STALL;
        return;
    }
    if (redir_ep_is_iso(s, addr)) {
        redir_iso_data(s, p, addr);
        return;
    }
    if (type == usb_redir_type_interrupt && in) {
        RedirIntrIn *q = &s->intr[ep];
        if (!q->started) {
            struct usb_redir_start_interrupt_receiving_header h = {
                .endpoint = addr,
            };
            usbredirparser_send_start_interrupt_receiving(s->parser,
                                                          s->next_id++, &h);
            q->started = true;
            redir_flush(s);
        }
        if (!q->count) {
            p->status = USB_RET_NAK;
            return;
        }
        p->actual = MIN(p->len, (size_t)q->len[q->head]);
        memcpy(p->buf, q->data[q->head], p->actual);
        g_free(q->data[q->head]);
        q->data[q->head] = NULL;
        q->head = (q->head + 1) % REDIR_INTR_QUEUE;
        q->count--;
        p->status = USB_RET_SUCCESS;
        return;
    }
    if (d->done) {
        p->status = d->status;
        if (in && d->status == USB_RET_SUCCESS) {
            p->actual = MIN(d->len, p->len);
            memcpy(p->buf, d->data, p->actual);
        } else if (!in && d->status == USB_RET_SUCCESS) {
            p->actual = p->len;
        }
        redir_clear_pending(d);
        return;
    }
    if (d->busy) {
        p->status = USB_RET_NAK;
        return;
    }
    if (p->len > REDIR_MAX_DATA ||
        (type != usb_redir_type_bulk && type != usb_redir_type_interrupt)) {
        p->status = USB_RET_STALL;  /* iso, or no such endpoint */
        return;
    }
    d->id = s->next_id++;
    if (type == usb_redir_type_bulk) {
        struct usb_redir_bulk_packet_header h = {
            .endpoint = addr, .length = p->len & 0xffff,
            .length_high = p->len >> 16,
        };
        usbredirparser_send_bulk_packet(s->parser, d->id, &h,
                                        in ? NULL : p->buf,
                                        in ? 0 : (int)p->len);
    } else {
        struct usb_redir_interrupt_packet_header h = {
            .endpoint = addr, .length = p->len,
        };
        usbredirparser_send_interrupt_packet(s->parser, d->id, &h, p->buf,
                                             p->len);
    }
    d->busy = true;
    redir_flush(s);
    p->status = USB_RET_NAK;
}

static void redir_handle_reset(USBDevice *dev)
{
    USBRedirDevice *s = (USBRedirDevice *)dev;

    if (s->parser && s->connected) {
        /* pending answers are for the old session: forget them; a reset
         * device has no streams (USB 2.0 9.1.1.3) */
        redir_iso_stop_iface(s, -1);
        redir_reset_state(s);
        usbredirparser_send_reset(s->parser);
        redir_flush(s);
    }
}

/* ---- device ---------------------------------------------------------- */

static bool redir_realize(DeviceState *d, GError **errp)
{
    USBRedirDevice *s = (USBRedirDevice *)d;

    if (!s->chr) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    if (s->filter_str &&
        usbredirfilter_string_to_rules(s->filter_str, ":", "|", &s->rules,
                                       &s->nrules)) {
        error_setg(errp, "Invalid filter");
        return false;
    }
    return qemu_chr_fe_attach(s->chr, redir_can_read, redir_chr_read,
                              redir_chr_event, s, errp);
}

static void redir_unrealize(DeviceState *d)
{
    USBRedirDevice *s = (USBRedirDevice *)d;

    if (s->chr) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL, s);
    }
    if (s->parser && s->connected) {
        redir_iso_stop_iface(s, -1);    /* the peer's URBs end with us */
    }
    redir_parser_destroy(s);
    usbredirfilter_free(s->rules);
    s->rules = NULL;
}

/* A placeholder the core needs: the descriptors come from the peer. */
static const USBDescDevice redir_desc_dev = {
    .bcdUSB = 0x0200, .bMaxPacketSize0 = 64, .bmAttributes = 0x80,
};
static const USBDesc redir_desc = {
    .full = &redir_desc_dev, .high = &redir_desc_dev,
    .super = &redir_desc_dev,
};

static const Property redir_props[] = {
    DEFINE_PROP("chardev", USBRedirDevice, chr, PROP_CHARDEV, NULL,
                "the chardev the usbredir protocol runs over"),
    DEFINE_PROP("filter", USBRedirDevice, filter_str, PROP_STRING, NULL,
                "usbredirfilter rules: class:vendor:product:version:allow"
                "|..."),
    DEFINE_PROP_END_OF_LIST(),
};

static const USBDeviceClass redir_class = {
    .product_desc = "USB Redirection Device",
    .desc = &redir_desc,
    .handle_reset = redir_handle_reset,
    .handle_control = redir_handle_control,
    .handle_data = redir_handle_data,
    .control_passthrough = true,
    .attach_later = true,
};

static const DeviceType redir_type = {
    .name = "usb-redir",
    .parent = TYPE_USB_DEVICE,
    .desc = "USB Redirection Device (usbredir over a chardev)",
    .instance_size = sizeof(USBRedirDevice),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_USB,
    .props = redir_props,
    .realize = redir_realize,
    .unrealize = redir_unrealize,
    .class_data = &redir_class,
};

static void redir_register_types(void)
{
    device_type_register(&redir_type);
}
type_init(redir_register_types)
