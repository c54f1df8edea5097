/*
 * usb-host: a USB device of the host passed through to the guest with
 * libusb, with QEMU 7.2's options: hostbus=, hostaddr=, hostport= (the
 * host's port path, "1.2.3"), vendorid=, productid=.
 *
 * Spec: USB 2.0 chapter 9 (the requests forwarded); libusb-1.0 API
 * (asynchronous transfers, pollfd notifiers).
 *
 * The device is looked up and opened at realize; no match, or a device
 * that cannot be opened (permissions, in use), is an error naming the
 * criteria and libusb's reason.  Kernel drivers are detached from its
 * interfaces, which are claimed on SET_CONFIGURATION.  Control, bulk
 * and interrupt packets become asynchronous libusb transfers: the first
 * time the controller offers a packet the transfer is submitted and the
 * packet NAKed; when libusb completes it (its fds watched by the main
 * loop), usb_wakeup() makes the controller retry and the result goes
 * back.  One transfer per endpoint and direction is in flight.
 *
 * Isochronous endpoints have no handshake (USB 2.0 5.6), so they are not
 * asynchronous: the first packet the controller offers starts a stream
 * of HOST_ISO_URBS libusb iso transfers.  IN transfers are resubmitted
 * as they complete and their packets wait in a bounded ring
 * (hw/usb/iso-ring.c) for the controller's IN transactions, as usb-redir
 * does with its peer's packets; OUT packets are collected into a
 * transfer that is submitted when full.
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"
#include "hw/usb/iso-ring.h"
#include <glib-unix.h>
#include <poll.h>
#include <libusb.h>

#define HOST_MAX_XFER   (1 << 20)       /* bytes one packet may carry */
/* Isochronous streams: 3 transfers in flight keep a stream gap-free
 * through a late completion; a transfer spans 4 ms at high speed and
 * SuperSpeed (8 service intervals a frame at interval 1), 8 ms at full
 * speed (a packet a frame). */
#define HOST_ISO_URBS   3
#define HOST_ISO_PKTS_HS 32
#define HOST_ISO_PKTS_FS 8
#define HOST_MAX_IFACES 32

typedef struct USBHostDevice USBHostDevice;

typedef struct HostXfer {
    USBHostDevice *s;
    struct libusb_transfer *t;
    bool busy;                  /* submitted, not completed */
    bool done;                  /* completed, result not taken */
    int status;                 /* USB_RET_* */
    size_t actual;
    uint8_t setup[8];           /* control: the request it answers */
    unsigned ep;
    bool in;
} HostXfer;

/* One libusb iso transfer; allocated with its stream, and freed by its
 * completion when the stream (or the device) went away meanwhile. */
typedef struct HostIsoUrb {
    struct HostIso *iso;        /* NULL: orphaned, free on completion */
    struct libusb_transfer *t;
    bool busy;                  /* submitted, not completed */
} HostIsoUrb;

typedef struct HostIso {
    USBHostDevice *s;
    bool started;
    uint8_t addr;
    unsigned max, pkts;         /* bytes a packet, packets a transfer */
    HostIsoUrb *urb[HOST_ISO_URBS];
    UsbIsoRing ring;            /* IN: completed packets, oldest first */
    /* OUT: the transfer being filled, its packets and bytes so far */
    unsigned fill_urb, fill;
    size_t fill_off;
    uint64_t dropped;           /* OUT packets with no transfer free */
} HostIso;

struct USBHostDevice {
    USBDevice dev;
    /* properties */
    uint32_t hostbus, hostaddr, vendorid, productid;
    char *hostport;
    /* the host device */
    libusb_device_handle *dh;
    uint8_t ep_type[2][USB_MAX_ENDPOINTS];  /* [in][ep]: LIBUSB xfer type */
    uint8_t ep_iface[2][USB_MAX_ENDPOINTS];
    uint8_t alt[HOST_MAX_IFACES];       /* current alternate settings */
    uint8_t nifaces;
    HostIso iso[2][USB_MAX_ENDPOINTS];
    HostXfer ctrl;
    HostXfer data[2][USB_MAX_ENDPOINTS];
};

static void host_iso_stop_iface(USBHostDevice *s, int iface);

static libusb_context *host_ctx;
static GHashTable *host_fd_watches;     /* fd -> GSource id */

/* ---- libusb's fds on the main loop ------------------------------------ */

static gboolean host_fd_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    struct timeval tv = { 0, 0 };

    libusb_handle_events_timeout_completed(host_ctx, &tv, NULL);
    return G_SOURCE_CONTINUE;
}

static void host_fd_added(int fd, short events, void *opaque)
{
    GIOCondition cond = ((events & POLLIN) ? G_IO_IN : 0) |
                        ((events & POLLOUT) ? G_IO_OUT : 0);
    guint id = g_unix_fd_add(fd, cond, host_fd_ready, NULL);

    g_hash_table_insert(host_fd_watches, GINT_TO_POINTER(fd),
                        GUINT_TO_POINTER(id));
}

static void host_fd_removed(int fd, void *opaque)
{
    gpointer id;

    if (g_hash_table_lookup_extended(host_fd_watches, GINT_TO_POINTER(fd),
                                     NULL, &id)) {
        g_source_remove(GPOINTER_TO_UINT(id));
        g_hash_table_remove(host_fd_watches, GINT_TO_POINTER(fd));
    }
}

static bool host_init_libusb(GError **errp)
{
    const struct libusb_pollfd **fds;
    int rc;

    if (host_ctx) {
        return true;
    }
    rc = libusb_init(&host_ctx);
    if (rc) {
        error_setg(errp, "usb-host: cannot use host USB (libusb_init: %s)",
                   libusb_strerror(rc));
        host_ctx = NULL;
        return false;
    }
    host_fd_watches = g_hash_table_new(NULL, NULL);
    fds = libusb_get_pollfds(host_ctx);
    for (unsigned i = 0; fds && fds[i]; i++) {
        host_fd_added(fds[i]->fd, fds[i]->events, NULL);
    }
    libusb_free_pollfds(fds);
    libusb_set_pollfd_notifiers(host_ctx, host_fd_added, host_fd_removed,
                                NULL);
    return true;
}

/* ---- finding the device ------------------------------------------------ */

static void host_port_path(libusb_device *d, char *buf, size_t size)
{
    uint8_t ports[8];
    int n = libusb_get_port_numbers(d, ports, sizeof(ports));
    size_t off = 0;

    buf[0] = 0;
    for (int i = 0; i < n && off < size; i++) {
        off += snprintf(buf + off, size - off, i ? ".%u" : "%u", ports[i]);
    }
}

static bool host_matches(USBHostDevice *s, libusb_device *d)
{
    struct libusb_device_descriptor dd;
    char path[32];

    if (s->hostbus && libusb_get_bus_number(d) != s->hostbus) {
        return false;
    }
    if (s->hostaddr && libusb_get_device_address(d) != s->hostaddr) {
        return false;
    }
    if (s->hostport) {
        host_port_path(d, path, sizeof(path));
        if (strcmp(path, s->hostport)) {
            return false;
        }
    }
    if (s->vendorid || s->productid) {
        if (libusb_get_device_descriptor(d, &dd)) {
            return false;
        }
        if ((s->vendorid && dd.idVendor != s->vendorid) ||
            (s->productid && dd.idProduct != s->productid)) {
            return false;
        }
    }
    return true;
}

static char *host_criteria(USBHostDevice *s)
{
    GString *g = g_string_new("");

    if (s->hostbus) {
        g_string_append_printf(g, " hostbus=%u", s->hostbus);
    }
    if (s->hostaddr) {
        g_string_append_printf(g, " hostaddr=%u", s->hostaddr);
    }
    if (s->hostport) {
        g_string_append_printf(g, " hostport=%s", s->hostport);
    }
    if (s->vendorid) {
        g_string_append_printf(g, " vendorid=0x%04x", s->vendorid);
    }
    if (s->productid) {
        g_string_append_printf(g, " productid=0x%04x", s->productid);
    }
    return g_string_free(g, false);
}

/* Endpoint types of the active configuration, for data packets. */
static void host_read_endpoints(USBHostDevice *s)
{
    struct libusb_config_descriptor *cd;

    memset(s->ep_type, 0xff, sizeof(s->ep_type));
    s->nifaces = 0;
    if (libusb_get_active_config_descriptor(libusb_get_device(s->dh), &cd)) {
        return;
    }
    s->nifaces = cd->bNumInterfaces;
    for (unsigned i = 0; i < cd->bNumInterfaces; i++) {
        const struct libusb_interface *in = &cd->interface[i];
        for (int a = 0; a < in->num_altsetting; a++) {
            const struct libusb_interface_descriptor *id = &in->altsetting[a];
            for (unsigned e = 0; e < id->bNumEndpoints; e++) {
                uint8_t addr = id->endpoint[e].bEndpointAddress;
                s->ep_type[!!(addr & 0x80)][addr & 0xf] =
                    id->endpoint[e].bmAttributes & 3;
                s->ep_iface[!!(addr & 0x80)][addr & 0xf] =
                    id->bInterfaceNumber;
            }
        }
    }
    libusb_free_config_descriptor(cd);
}

static void host_claim_interfaces(USBHostDevice *s)
{
    host_read_endpoints(s);
    for (unsigned i = 0; i < s->nifaces; i++) {
        libusb_detach_kernel_driver(s->dh, i);
        libusb_claim_interface(s->dh, i);
    }
}

static void host_release_interfaces(USBHostDevice *s)
{
    for (unsigned i = 0; i < s->nifaces; i++) {
        libusb_release_interface(s->dh, i);
    }
}

static bool host_early_realize(USBDevice *dev, GError **errp)
{
    USBHostDevice *s = (USBHostDevice *)dev;
    libusb_device **list = NULL, *found = NULL;
    g_autofree char *what = host_criteria(s);
    ssize_t n;
    int rc;

    if (!*what) {
        error_setg(errp, "usb-host: give hostbus= and hostaddr=, hostport=, "
                   "or vendorid= and productid=");
        return false;
    }
    if (s->hostaddr > 127 || s->vendorid > 0xffff || s->productid > 0xffff) {
        error_setg(errp, "usb-host: hostaddr is 1-127, vendorid and "
                   "productid 16 bits");
        return false;
    }
    if (!host_init_libusb(errp)) {
        return false;
    }
    n = libusb_get_device_list(host_ctx, &list);
    for (ssize_t i = 0; i < n && !found; i++) {
        if (host_matches(s, list[i])) {
            found = list[i];
        }
    }
    if (!found) {
        libusb_free_device_list(list, 1);
        error_setg(errp, "usb-host: no host USB device matches%s", what);
        return false;
    }
    rc = libusb_open(found, &s->dh);
    if (rc) {
        error_setg(errp, "usb-host: cannot open host device %u:%u: %s",
                   libusb_get_bus_number(found),
                   libusb_get_device_address(found), libusb_strerror(rc));
        libusb_free_device_list(list, 1);
        s->dh = NULL;
        return false;
    }
    switch (libusb_get_device_speed(found)) {
    case LIBUSB_SPEED_LOW:
        dev->speedmask = USB_SPEED_MASK_LOW;
        break;
    case LIBUSB_SPEED_HIGH:
        dev->speedmask = USB_SPEED_MASK_HIGH;
        break;
    case LIBUSB_SPEED_SUPER:
    case LIBUSB_SPEED_SUPER_PLUS:
        dev->speedmask = USB_SPEED_MASK_SUPER;
        break;
    default:
        dev->speedmask = USB_SPEED_MASK_FULL;
        break;
    }
    libusb_free_device_list(list, 1);
    host_claim_interfaces(s);
    return true;
}

static void host_unrealize(DeviceState *d)
{
    USBHostDevice *s = (USBHostDevice *)d;
    HostXfer *all[1 + 2 * USB_MAX_ENDPOINTS];
    unsigned n = 0;

    all[n++] = &s->ctrl;
    for (unsigned i = 0; i < 2; i++) {
        for (unsigned e = 0; e < USB_MAX_ENDPOINTS; e++) {
            all[n++] = &s->data[i][e];
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (all[i]->t) {
            if (all[i]->busy) {
                /* the callback frees it once libusb gives it back */
                all[i]->s = NULL;
                libusb_cancel_transfer(all[i]->t);
            } else {
                g_free(all[i]->t->buffer);
                libusb_free_transfer(all[i]->t);
            }
        }
    }
    host_iso_stop_iface(s, -1);
    if (s->dh) {
        host_release_interfaces(s);
        libusb_close(s->dh);
        s->dh = NULL;
    }
}

/* ---- transfers ---------------------------------------------------------- */

static int host_status(enum libusb_transfer_status st)
{
    switch (st) {
    case LIBUSB_TRANSFER_COMPLETED:
        return USB_RET_SUCCESS;
    case LIBUSB_TRANSFER_STALL:
        return USB_RET_STALL;
    case LIBUSB_TRANSFER_OVERFLOW:
        return USB_RET_BABBLE;
    case LIBUSB_TRANSFER_NO_DEVICE:
        return USB_RET_NODEV;
    default:
        return USB_RET_IOERROR;
    }
}

static void LIBUSB_CALL host_xfer_done(struct libusb_transfer *t)
{
    HostXfer *x = t->user_data;

    if (!x->s) {                /* the device went away meanwhile */
        g_free(t->buffer);
        libusb_free_transfer(t);
        return;
    }
    x->busy = false;
    x->done = true;
    x->status = host_status(t->status);
    x->actual = t->actual_length;
    usb_wakeup(&x->s->dev, x->ep);
}

/* A transfer object of @len bytes (+ @extra, the setup packet). */
static bool host_xfer_prepare(USBHostDevice *s, HostXfer *x, size_t len)
{
    if (!x->t) {
        x->t = libusb_alloc_transfer(0);
        if (!x->t) {
            return false;
        }
    }
    g_free(x->t->buffer);
    x->t->buffer = g_malloc0(len ? len : 1);
    x->s = s;
    return true;
}

/* ---- isochronous streams ------------------------------------------------ */

/*
 * Bytes a packet of endpoint @addr may carry in the current alternate
 * setting of its interface: wMaxPacketSize's size times its
 * high-bandwidth multiplier at high speed (USB 2.0 9.6.6), the
 * companion's wBytesPerInterval at SuperSpeed (USB 3.2 9.6.7); 0 when
 * the setting has no such endpoint.  The kernel refuses iso packets
 * longer than this, so it is what each transfer packet asks for.
 */
static unsigned host_iso_max_in(USBHostDevice *s,
                                const struct libusb_interface_descriptor *id,
                                uint8_t addr)
{
    for (unsigned e = 0; e < id->bNumEndpoints; e++) {
        const struct libusb_endpoint_descriptor *ed = &id->endpoint[e];
        struct libusb_ss_endpoint_companion_descriptor *ss;
        unsigned w = ed->wMaxPacketSize, max;

        if (ed->bEndpointAddress != addr) {
            continue;
        }
        max = (w & 0x7ff) * (1 + ((w >> 11) & 3));
        if (s->dev.speed == USB_SPEED_SUPER &&
            !libusb_get_ss_endpoint_companion_descriptor(host_ctx, ed,
                                                         &ss)) {
            max = ss->wBytesPerInterval;
            libusb_free_ss_endpoint_companion_descriptor(ss);
        }
        return max;
    }
    return 0;
}

static unsigned host_iso_max(USBHostDevice *s, uint8_t addr)
{
    unsigned iface = s->ep_iface[!!(addr & 0x80)][addr & 0xf];
    struct libusb_config_descriptor *cd;
    unsigned max = 0;

    if (iface >= HOST_MAX_IFACES ||
        libusb_get_active_config_descriptor(libusb_get_device(s->dh), &cd)) {
        return 0;
    }
    for (unsigned i = 0; i < cd->bNumInterfaces && !max; i++) {
        const struct libusb_interface *in = &cd->interface[i];
        for (int a = 0; a < in->num_altsetting && !max; a++) {
            const struct libusb_interface_descriptor *id = &in->altsetting[a];
            if (id->bInterfaceNumber == iface &&
                id->bAlternateSetting == s->alt[iface]) {
                max = host_iso_max_in(s, id, addr);
            }
        }
    }
    libusb_free_config_descriptor(cd);
    return MIN(max, 3u * 16 * 1024);
}

static void host_iso_submit(HostIso *iso, HostIsoUrb *u);

/* A transfer came back: IN packets go to the ring, and the transfer goes
 * out again while the stream runs; OUT transfers just become free. */
static void LIBUSB_CALL host_iso_done(struct libusb_transfer *t)
{
    HostIsoUrb *u = t->user_data;
    HostIso *iso = u->iso;

    u->busy = false;
    if (!iso) {                 /* the stream went away meanwhile */
        g_free(t->buffer);
        libusb_free_transfer(t);
        g_free(u);
        return;
    }
    if (!(iso->addr & 0x80)) {
        return;
    }
    for (int i = 0; i < t->num_iso_packets; i++) {
        struct libusb_iso_packet_descriptor *d = &t->iso_packet_desc[i];
        int st = t->status == LIBUSB_TRANSFER_COMPLETED ?
                 host_status(d->status) : host_status(t->status);

        usb_iso_ring_push(&iso->ring, libusb_get_iso_packet_buffer_simple(t, i),
                          st == USB_RET_SUCCESS ?
                          MIN(d->actual_length, iso->max) : 0, st);
    }
    if (iso->started && t->status != LIBUSB_TRANSFER_NO_DEVICE &&
        t->status != LIBUSB_TRANSFER_CANCELLED) {
        host_iso_submit(iso, u);
    }
}

static void host_iso_submit(HostIso *iso, HostIsoUrb *u)
{
    if (iso->addr & 0x80) {
        libusb_set_iso_packet_lengths(u->t, iso->max);
    }
    u->busy = !libusb_submit_transfer(u->t);
}

static HostIsoUrb *host_iso_urb_new(HostIso *iso)
{
    HostIsoUrb *u = g_new0(HostIsoUrb, 1);

    u->iso = iso;
    u->t = libusb_alloc_transfer(iso->pkts);
    if (!u->t) {
        g_free(u);
        return NULL;
    }
    libusb_fill_iso_transfer(u->t, iso->s->dh, iso->addr,
                             g_malloc0((size_t)iso->pkts * iso->max),
                             iso->pkts * iso->max, iso->pkts, host_iso_done,
                             u, 0);
    return u;
}

/* Stop @iso's stream: busy transfers are cancelled and freed by their
 * completion, idle ones now. */
static void host_iso_stop(HostIso *iso)
{
    for (unsigned i = 0; i < HOST_ISO_URBS; i++) {
        HostIsoUrb *u = iso->urb[i];

        iso->urb[i] = NULL;
        if (!u) {
            continue;
        }
        if (u->busy) {
            u->iso = NULL;
            libusb_cancel_transfer(u->t);
        } else {
            g_free(u->t->buffer);
            libusb_free_transfer(u->t);
            g_free(u);
        }
    }
    iso->started = false;
    usb_iso_ring_free(&iso->ring);
}

/* Start a stream: its transfers, its ring, IN transfers submitted. */
static bool host_iso_start(USBHostDevice *s, HostIso *iso, uint8_t addr)
{
    iso->s = s;
    iso->addr = addr;
    iso->max = host_iso_max(s, addr);
    iso->pkts = s->dev.speed >= USB_SPEED_HIGH ? HOST_ISO_PKTS_HS :
                HOST_ISO_PKTS_FS;
    iso->fill_urb = iso->fill = 0;
    iso->fill_off = 0;
    if (!iso->max) {
        return false;
    }
    for (unsigned i = 0; i < HOST_ISO_URBS; i++) {
        iso->urb[i] = host_iso_urb_new(iso);
        if (!iso->urb[i]) {
            host_iso_stop(iso);
            return false;
        }
    }
    iso->started = true;
    if (addr & 0x80) {
        usb_iso_ring_init(&iso->ring, iso->pkts * (HOST_ISO_URBS + 1),
                          iso->max);
        for (unsigned i = 0; i < HOST_ISO_URBS; i++) {
            host_iso_submit(iso, iso->urb[i]);
        }
    }
    return true;
}

/* An OUT packet joins the transfer being filled, which goes out when
 * full; with every transfer still busy the packet is dropped (counted):
 * late isochronous data is worth nothing (USB 2.0 5.6.4). */
static void host_iso_out(HostIso *iso, USBPacket *p)
{
    HostIsoUrb *u = iso->urb[iso->fill_urb];

    if (p->len > iso->max) {
        p->status = USB_RET_IOERROR;
        return;
    }
    p->status = USB_RET_SUCCESS;
    p->actual = p->len;
    if (u->busy) {
        iso->dropped++;
        return;
    }
    /* an iso transfer's packets lie back to back (libusb: each starts
     * where the one before ends) */
    memcpy(u->t->buffer + iso->fill_off, p->buf, p->len);
    u->t->iso_packet_desc[iso->fill].length = p->len;
    iso->fill_off += p->len;
    if (++iso->fill == iso->pkts) {
        host_iso_submit(iso, u);
        iso->fill = 0;
        iso->fill_off = 0;
        iso->fill_urb = (iso->fill_urb + 1) % HOST_ISO_URBS;
    }
}

static void host_iso_data(USBHostDevice *s, USBPacket *p, uint8_t addr)
{
    HostIso *iso = &s->iso[!!(addr & 0x80)][addr & 0xf];

    if (!iso->started && !host_iso_start(s, iso, addr)) {
        p->status = USB_RET_IOERROR;
        return;
    }
    if (addr & 0x80) {
        usb_iso_ring_take(&iso->ring, p);
    } else {
        host_iso_out(iso, p);
    }
}

/* Stop the streams of interface @iface (-1: all), before SET_INTERFACE
 * or SET_CONFIGURATION drops their endpoints (USB 2.0 9.1.1.5). */
static void host_iso_stop_iface(USBHostDevice *s, int iface)
{
    for (unsigned d = 0; d < 2; d++) {
        for (unsigned e = 0; e < USB_MAX_ENDPOINTS; e++) {
            if (s->iso[d][e].started &&
                (iface < 0 || s->ep_iface[d][e] == iface)) {
                host_iso_stop(&s->iso[d][e]);
            }
        }
    }
}

static void host_handle_control(USBDevice *dev, USBPacket *p, int request,
                                int value, int index, int length,
                                uint8_t *data)
{
    USBHostDevice *s = (USBHostDevice *)dev;
    HostXfer *x = &s->ctrl;
    uint8_t setup[8] = { request >> 8, request & 0xff, value, value >> 8,
                         index, index >> 8, length, length >> 8 };

    if (!s->dh) {
        p->status = USB_RET_NODEV;
        return;
    }
    if (x->done && !memcmp(x->setup, setup, 8)) {
        x->done = false;
        p->status = x->status;
        if (x->status == USB_RET_SUCCESS) {
            if (request & (USB_DIR_IN << 8)) {
                p->actual = MIN(x->actual, (size_t)length);
                memcpy(data, x->t->buffer + 8, p->actual);
            }
            if (request == (DeviceOutRequest | USB_REQ_SET_CONFIGURATION)) {
                host_claim_interfaces(s);
            }
        }
        return;
    }
    if (x->busy) {
        p->status = USB_RET_NAK;
        return;
    }
    if (request == (DeviceOutRequest | USB_REQ_SET_CONFIGURATION)) {
        /* through libusb so the host kernel knows the interfaces */
        host_iso_stop_iface(s, -1);
        memset(s->alt, 0, sizeof(s->alt));
        host_release_interfaces(s);
        int rc = libusb_set_configuration(s->dh, value);
        host_claim_interfaces(s);
        p->status = rc ? USB_RET_STALL : USB_RET_SUCCESS;
        return;
    }
    if (request == (InterfaceOutRequest | USB_REQ_SET_INTERFACE)) {
        host_iso_stop_iface(s, index & 0xff);
        p->status = libusb_set_interface_alt_setting(s->dh, index, value)
                    ? USB_RET_STALL : USB_RET_SUCCESS;
        if (p->status == USB_RET_SUCCESS && index < HOST_MAX_IFACES) {
            s->alt[index] = value;
        }
        return;
    }
    if (request == (EndpointOutRequest | USB_REQ_CLEAR_FEATURE) &&
        value == USB_ENDPOINT_HALT &&
        s->ep_type[!!(index & 0x80)][index & 0xf] ==
        LIBUSB_TRANSFER_TYPE_ISOCHRONOUS) {
        /* an endpoint reset ends its stream, as Linux's usb_clear_halt */
        host_iso_stop(&s->iso[!!(index & 0x80)][index & 0xf]);
    }
    if (!host_xfer_prepare(s, x, 8 + length)) {
        p->status = USB_RET_IOERROR;
        return;
    }
    memcpy(x->setup, setup, 8);
    memcpy(x->t->buffer, setup, 8);
    if (!(request & (USB_DIR_IN << 8))) {
        memcpy(x->t->buffer + 8, data, length);
    }
    libusb_fill_control_transfer(x->t, s->dh, x->t->buffer, host_xfer_done,
                                 x, 5000);
    x->ep = 0;
    x->in = request & (USB_DIR_IN << 8);
    if (libusb_submit_transfer(x->t)) {
        p->status = USB_RET_NODEV;
        return;
    }
    x->busy = true;
    p->status = USB_RET_NAK;
}

static void host_handle_data(USBDevice *dev, USBPacket *p)
{
    USBHostDevice *s = (USBHostDevice *)dev;
    bool in = p->pid == USB_TOKEN_IN;
    HostXfer *x = &s->data[in][p->ep & 0xf];
    uint8_t type = s->ep_type[in][p->ep & 0xf];
    unsigned char addr = (p->ep & 0xf) | (in ? 0x80 : 0);

    if (!s->dh) {
        p->status = USB_RET_NODEV;
        return;
    }
    if (p->stream) {
        /* bulk streams are not passed through (docs/usb.md) */
        p->status = USB_RET_STALL;
        return;
    }
    if (type == LIBUSB_TRANSFER_TYPE_ISOCHRONOUS && (p->ep & 0xf)) {
        host_iso_data(s, p, addr);
        return;
    }
    if (x->done) {
        x->done = false;
        p->status = x->status;
        p->actual = MIN(x->actual, p->len);
        if (in && p->actual) {
            memcpy(p->buf, x->t->buffer, p->actual);
        }
        return;
    }
    if (x->busy) {
        p->status = USB_RET_NAK;
        return;
    }
    if ((type != LIBUSB_TRANSFER_TYPE_BULK &&
         type != LIBUSB_TRANSFER_TYPE_INTERRUPT) || p->len > HOST_MAX_XFER) {
        p->status = USB_RET_STALL;     /* isochronous or no such endpoint */
        return;
    }
    if (!host_xfer_prepare(s, x, p->len)) {
        p->status = USB_RET_IOERROR;
        return;
    }
    if (!in) {
        memcpy(x->t->buffer, p->buf, p->len);
    }
    if (type == LIBUSB_TRANSFER_TYPE_BULK) {
        libusb_fill_bulk_transfer(x->t, s->dh, addr, x->t->buffer, p->len,
                                  host_xfer_done, x, 0);
    } else {
        libusb_fill_interrupt_transfer(x->t, s->dh, addr, x->t->buffer,
                                       p->len, host_xfer_done, x, 0);
    }
    x->ep = p->ep & 0xf;
    x->in = in;
    if (libusb_submit_transfer(x->t)) {
        p->status = USB_RET_NODEV;
        return;
    }
    x->busy = true;
    p->status = USB_RET_NAK;
}

static void host_handle_reset(USBDevice *dev)
{
    USBHostDevice *s = (USBHostDevice *)dev;

    host_iso_stop_iface(s, -1);     /* a reset device has no streams */
    if (s->dh && dev->state != USB_STATE_NOTATTACHED) {
        /* the bus reset reaches the real device (it keeps its address) */
        libusb_reset_device(s->dh);
    }
}

/* A placeholder the core needs; the real descriptors come from the
 * device (control_passthrough). */
static const USBDescDevice host_desc_dev = {
    .bcdUSB = 0x0200, .bMaxPacketSize0 = 64, .bmAttributes = 0x80,
};
static const USBDesc host_desc = {
    .full = &host_desc_dev, .high = &host_desc_dev, .super = &host_desc_dev,
};

static const Property host_props[] = {
    DEFINE_PROP("hostbus", USBHostDevice, hostbus, PROP_UINT32, "0",
                "host USB bus number"),
    DEFINE_PROP("hostaddr", USBHostDevice, hostaddr, PROP_UINT32, "0",
                "host USB device address"),
    DEFINE_PROP("hostport", USBHostDevice, hostport, PROP_STRING, NULL,
                "host port path, e.g. 1.2"),
    DEFINE_PROP("vendorid", USBHostDevice, vendorid, PROP_UINT32, "0",
                "USB vendor id"),
    DEFINE_PROP("productid", USBHostDevice, productid, PROP_UINT32, "0",
                "USB product id"),
    DEFINE_PROP_END_OF_LIST(),
};

static const USBDeviceClass host_class = {
    .product_desc = "USB Host Device",
    .desc = &host_desc,
    .handle_reset = host_handle_reset,
    .handle_control = host_handle_control,
    .handle_data = host_handle_data,
    .early_realize = host_early_realize,
    .control_passthrough = true,
};

static const DeviceType host_type = {
    .name = "usb-host",
    .parent = TYPE_USB_DEVICE,
    .desc = "USB Host Device (libusb pass-through)",
    .instance_size = sizeof(USBHostDevice),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_USB,
    .props = host_props,
    .unrealize = host_unrealize,
    .class_data = &host_class,
};

static void host_register_types(void)
{
    device_type_register(&host_type);
}
type_init(host_register_types)
