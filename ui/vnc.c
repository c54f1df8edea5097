/*
 * The VNC server: a front end of the console layer on LibVNCServer
 * (RFC 6143 through Debian's libvncserver).
 *
 * Threads.  kvmpc owns the listening sockets (TCP host:port, several
 * addresses, unix sockets, the websocket port) and accepts on a thread of
 * its own per display, handing each connection to LibVNCServer, which
 * runs one input and one output thread per client (its "background
 * loop").  Nothing of LibVNCServer runs on the main thread except
 * rfbNewFramebuffer / rfbMarkRectAsModified, which take its locks; a slow
 * or hostile client therefore never holds up the main loop or the guest.
 * Client threads never touch device state: key and pointer events and the
 * connection events are posted to the main thread (main_loop_call), where
 * the big lock is held.
 *
 * Pixels.  The server's framebuffer is a copy of the console's surface
 * in LibVNCServer's default 32-bit format (red in the low byte), updated
 * from the main thread with the dirty rectangles the console reports;
 * clients get only those rectangles, in whatever encoding they
 * negotiated (raw, copyrect, hextile, zrle, tight, ...).
 *
 * Pacing.  The rectangles of one refresh are gathered and marked modified
 * together by a bottom half once the refresh is over, so a client's
 * sender (which LibVNCServer wakes on every mark, with no delay here:
 * deferUpdateTime 0) sends one whole update instead of a first slice.
 * When a sender has finished an update its client will soon ask for the
 * next, so the main thread is asked for a refresh 16 ms after the last
 * one (dpy_refresh_soon): a client that keeps up gets up to 60 updates a
 * second of a busy screen instead of the 30 ms interval's 33, and a slow
 * one paces the refreshes itself.  While clients are connected but the
 * screen does not change, the interval doubles from 30 ms up to 0.5 s (it
 * snaps back on a change or on the clients' input); without clients
 * there are no ticks at all: the dirty log keeps the guest's writes, and
 * a client's connection brings the framebuffer up to date before its
 * threads start (on_connected).
 *
 * Not done: TLS/SASL/x509, reverse connections, audio.
 */
#include "qemu/osdep.h"
#include "audio/audio.h"
#include "ui/vnc.h"
#include "ui/console.h"
#include "ui/input.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/main-loop.h"
#include "system/bh.h"
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <pthread.h>

#define VNC_PORT_BASE       5900
#define VNC_WS_PORT_BASE    5700
#define VNC_MAX_LISTENERS   8
#define VNC_NOVNC_DIR       "/usr/share/novnc"      /* Debian's novnc */

typedef struct VncListener {
    int fd;
    bool websocket;
    char *host;
    char *service;
    NetworkAddressFamily family;
} VncListener;

typedef struct VncDisplay VncDisplay;

/*
 * The longest refresh interval with clients connected and a still screen.
 * A still screen's refresh (a dirty-log fetch that finds nothing) costs
 * microseconds, so this cap is about latency: a change the guest makes on
 * its own after a long still spell shows within half a second (QEMU's VNC
 * server backs off to 3 s).
 */
#define VNC_REFRESH_INTERVAL_MAX    500     /* ms */

/*
 * A cursor as LibVNCServer's (first, so the pointers convert), counted:
 * the display holds the current one and each client the one its sender
 * last took, until that sender asks again (it is then done with it) or
 * the client goes.  Counts change under the display's lock.
 */
typedef struct VncCursor {
    rfbCursor rc;
    int refs;
} VncCursor;

typedef struct VncClient {
    VncDisplay *vd;
    rfbClientPtr cl;            /* valid until POST_GONE */
    char *host;
    char *service;
    NetworkAddressFamily family;
    bool websocket;
    bool initialized;           /* main thread: VNC_INITIALIZED sent */
    bool init_posted;           /* client thread: posted it */
    int last_x, last_y;         /* main thread: relative pointer base */
    uint32_t buttons;
    bool ctrl, alt;             /* main thread: for Ctrl-Alt-N */
    bool shift;                 /* main thread: text console scrolling */
    VncCursor *sent_cursor;     /* vd->lock: what its sender last took */
} VncClient;

struct VncDisplay {
    char *id;
    rfbScreenInfoPtr screen;
    DisplayChangeListener dcl;
    VncListener listeners[VNC_MAX_LISTENERS];
    unsigned nr_listeners;
    pthread_t accept_thread;
    bool password_auth;
    bool lossy;

    GMutex lock;                /* password, expires, cursor */
    char password[9];           /* VNC auth uses 8 characters */
    bool password_set;
    time_t expires;

    /* main thread */
    pixman_image_t *surface;
    uint32_t *fb;
    int fb_w, fb_h;
    GPtrArray *old_fbs;         /* freed a switch later (senders may read) */
    sraRegion *pending;         /* copied, not yet marked modified */
    BH *mark_bh;                /* marks pending once the refresh is over */
    bool changed;               /* since the last refresh tick */
    uint64_t interval;          /* ms, asked of the console */
    GPtrArray *clients;         /* VncClient *, connected */
    char *http_dir;             /* noVNC's files, served on the ws port */

    /*
     * The guest's cursor (lock): what getCursorPtr gives the senders of
     * clients that asked for cursor shapes.  screen->cursor stays NULL,
     * so LibVNCServer never draws a cursor into the shared framebuffer.
     */
    VncCursor *cursor;
    bool cursor_visible;
    gint ui_info_ok;            /* atomic: the console takes size wishes */
};

static GPtrArray *displays;
static bool ext_key_registered;

/* The client being created on the accept thread (newClientHook reads it). */
static __thread VncListener *accepting_on;

static void vnc_log_quiet(const char *fmt, ...)
{
}

/* ---- pixels (main thread) ------------------------------------------- */

/* x8r8g8b8 -> LibVNCServer's default little-endian format (R in byte 0) */
static inline uint32_t to_rfb(uint32_t px)
{
    return (px & 0x00ff00) | ((px >> 16) & 0xff) | ((px & 0xff) << 16);
}

static void copy_rect(VncDisplay *vd, int x, int y, int w, int h)
{
    const uint8_t *bits = (const uint8_t *)pixman_image_get_data(vd->surface);
    int stride = pixman_image_get_stride(vd->surface);

    for (int r = y; r < y + h; r++) {
        const uint32_t *src = (const uint32_t *)(bits + (size_t)r * stride);
        uint32_t *dst = vd->fb + (size_t)r * vd->fb_w;
        for (int c = x; c < x + w; c++) {
            dst[c] = to_rfb(src[c]);
        }
    }
}

static void vnc_dpy_switch(DisplayChangeListener *dcl,
                           pixman_image_t *surface)
{
    VncDisplay *vd = dcl->opaque;
    int w = pixman_image_get_width(surface);
    int h = pixman_image_get_height(surface);

    vd->surface = surface;
    g_atomic_int_set(&vd->ui_info_ok,
                     dpy_ui_info_supported(dpy_get_console(dcl)));
    vd->changed = true;
    if (w == vd->fb_w && h == vd->fb_h) {
        copy_rect(vd, 0, 0, w, h);
        rfbMarkRectAsModified(vd->screen, 0, 0, w, h);
        return;
    }
    /* rfbNewFramebuffer marks the whole new size; nothing older may stay */
    sraRgnMakeEmpty(vd->pending);
    /* buffers from before the previous switch are surely unused now */
    g_ptr_array_set_size(vd->old_fbs, 0);
    if (vd->fb) {
        g_ptr_array_add(vd->old_fbs, vd->fb);
    }
    vd->fb = g_new0(uint32_t, (size_t)w * h);
    vd->fb_w = w;
    vd->fb_h = h;
    copy_rect(vd, 0, 0, w, h);
    rfbNewFramebuffer(vd->screen, (char *)vd->fb, w, h, 8, 3, 4);
}

static void vnc_dpy_update(DisplayChangeListener *dcl, int x, int y, int w,
                           int h);

/* ---- the cursor channel (main thread) ----------------------------------- */

/* Drop a reference (caller holds vd->lock). */
static void vnc_cursor_unref(VncCursor *vc)
{
    if (vc && --vc->refs == 0) {
        g_free(vc->rc.source);
        g_free(vc->rc.mask);
        g_free(vc->rc.richSource);
        g_free(vc);
    }
}

/*
 * An ARGB cursor as LibVNCServer's: richSource in the server's pixel
 * format (RichCursor clients), a 1-bit source with white on black
 * (XCursor clients) and the mask from the alpha channel (alpha >= 128
 * shows).  LibVNCServer frees none of it (the cleanup flags are false).
 */
static VncCursor *make_rfb_cursor(const QEMUCursor *c)
{
    VncCursor *vc = g_new0(VncCursor, 1);
    rfbCursorPtr rc = &vc->rc;
    int bpr = (c->width + 7) / 8;
    uint32_t *rich = g_new(uint32_t, (size_t)c->width * c->height);

    rc->width = c->width;
    rc->height = c->height;
    rc->xhot = c->hot_x;
    rc->yhot = c->hot_y;
    rc->foreRed = rc->foreGreen = rc->foreBlue = 0xffff;
    rc->source = g_malloc0((size_t)bpr * c->height);
    rc->mask = g_malloc0((size_t)bpr * c->height);
    for (int y = 0; y < c->height; y++) {
        for (int x = 0; x < c->width; x++) {
            uint32_t px = c->data[y * c->width + x];
            uint8_t bit = 0x80 >> (x & 7);
            unsigned grey = (((px >> 16) & 0xff) + ((px >> 8) & 0xff) +
                             (px & 0xff)) / 3;

            rich[y * c->width + x] = to_rfb(px);
            if ((px >> 24) >= 0x80) {
                rc->mask[y * bpr + x / 8] |= bit;
            }
            if (grey >= 128) {
                rc->source[y * bpr + x / 8] |= bit;
            }
        }
    }
    rc->richSource = (unsigned char *)rich;
    vc->refs = 1;
    return vc;
}

/*
 * Tell the senders that the shape (@shape) or the position changed, and
 * wake them: a one-pixel update carries the pseudo-rectangles.
 */
static void vnc_cursor_changed(VncDisplay *vd, bool shape)
{
    rfbClientIteratorPtr it = rfbGetClientIterator(vd->screen);
    rfbClientPtr cl;

    while ((cl = rfbClientIteratorNext(it))) {
        pthread_mutex_lock(&cl->updateMutex);
        if (shape) {
            cl->cursorWasChanged = TRUE;
        } else if (cl->enableCursorPosUpdates) {
            cl->cursorWasMoved = TRUE;
        }
        pthread_mutex_unlock(&cl->updateMutex);
    }
    rfbReleaseClientIterator(it);
    if (vd->fb_w && vd->fb_h) {
        rfbMarkRectAsModified(vd->screen, 0, 0, 1, 1);
    }
}

static void vnc_dpy_cursor_define(DisplayChangeListener *dcl,
                                  QEMUCursor *cursor)
{
    VncDisplay *vd = dcl->opaque;
    VncCursor *vc = cursor ? make_rfb_cursor(cursor) : NULL;

    g_mutex_lock(&vd->lock);
    /* a sender still reading the old one holds its own reference */
    vnc_cursor_unref(vd->cursor);
    vd->cursor = vc;
    if (!vc) {
        vd->cursor_visible = false;
    }
    g_mutex_unlock(&vd->lock);
    vnc_cursor_changed(vd, true);
}

static void vnc_dpy_mouse_set(DisplayChangeListener *dcl, int x, int y,
                              bool visible)
{
    VncDisplay *vd = dcl->opaque;
    bool was;

    g_mutex_lock(&vd->lock);
    was = vd->cursor_visible;
    vd->cursor_visible = visible && vd->cursor;
    visible = vd->cursor_visible;
    g_mutex_unlock(&vd->lock);
    if (was != visible) {
        /* a hidden cursor is sent as the empty one */
        vnc_cursor_changed(vd, true);
    }
    pthread_mutex_lock(&vd->screen->cursorMutex);
    vd->screen->cursorX = CLAMP(x, 0, MAX(vd->fb_w - 1, 0));
    vd->screen->cursorY = CLAMP(y, 0, MAX(vd->fb_h - 1, 0));
    pthread_mutex_unlock(&vd->screen->cursorMutex);
    vnc_cursor_changed(vd, false);
}

/*
 * LibVNCServer's getCursorPtr (a client's sender thread, once per cursor
 * update it sends): the client keeps a reference to what it gets until
 * its next call, when its sender is surely done with it.
 */
static rfbCursorPtr vnc_get_cursor(rfbClientPtr cl)
{
    VncDisplay *vd = cl->screen->screenData;
    VncClient *c = cl->clientData;
    VncCursor *vc;

    if (!c) {
        return NULL;
    }
    g_mutex_lock(&vd->lock);
    vc = vd->cursor_visible ? vd->cursor : NULL;
    if (vc) {
        vc->refs++;
    }
    vnc_cursor_unref(c->sent_cursor);
    c->sent_cursor = vc;
    g_mutex_unlock(&vd->lock);
    return vc ? &vc->rc : NULL;
}

/* The bottom half: every rectangle of the refresh that just ran, at once. */
static void vnc_mark_pending(void *opaque)
{
    VncDisplay *vd = opaque;

    if (!sraRgnEmpty(vd->pending)) {
        rfbMarkRegionAsModified(vd->screen, vd->pending);
        sraRgnMakeEmpty(vd->pending);
    }
}

static void vnc_dpy_update(DisplayChangeListener *dcl, int x, int y, int w,
                           int h)
{
    VncDisplay *vd = dcl->opaque;
    sraRegion *r;

    if (!vd->surface || x < 0 || y < 0 || w <= 0 || h <= 0 ||
        x + w > vd->fb_w || y + h > vd->fb_h) {
        return;
    }
    copy_rect(vd, x, y, w, h);
    r = sraRgnCreateRect(x, y, x + w, y + h);
    sraRgnOr(vd->pending, r);
    sraRgnDestroy(r);
    vd->changed = true;
    bh_schedule(vd->mark_bh);
}

static void vnc_set_interval(VncDisplay *vd, uint64_t ms)
{
    vd->interval = ms;
    dpy_set_ui_interval(&vd->dcl, ms);
}

/*
 * After each refresh tick: with clients, a tick that changed nothing
 * doubles the interval (up to VNC_REFRESH_INTERVAL_MAX), so a still
 * screen costs next to nothing; a change brings it back to 30 ms.
 */
static void vnc_dpy_refresh(DisplayChangeListener *dcl)
{
    VncDisplay *vd = dcl->opaque;

    if (vd->clients->len) {
        vnc_set_interval(vd, vd->changed ? GUI_REFRESH_INTERVAL_DEFAULT
                             : MIN(vd->interval * 2,
                                   VNC_REFRESH_INTERVAL_MAX));
    }
    vd->changed = false;
}

static const DisplayChangeListenerOps vnc_dcl_ops = {
    .name = "vnc",
    .dpy_gfx_update = vnc_dpy_update,
    .dpy_refresh = vnc_dpy_refresh,
    .dpy_gfx_switch = vnc_dpy_switch,
    .dpy_cursor_define = vnc_dpy_cursor_define,
    .dpy_mouse_set = vnc_dpy_mouse_set,
};

static void vnc_update_interval(VncDisplay *vd)
{
    vnc_set_interval(vd, vd->clients->len ? GUI_REFRESH_INTERVAL_DEFAULT
                                          : GUI_REFRESH_NONE);
}

/* ---- QAPI views -------------------------------------------------------- */

static VncServerInfo *server_info(VncDisplay *vd)
{
    VncServerInfo *info = g_new0(VncServerInfo, 1);
    VncListener *l = &vd->listeners[0];

    info->host = g_strdup(l->host);
    info->service = g_strdup(l->service);
    info->family = l->family;
    info->websocket = l->websocket;
    info->auth = g_strdup(vd->password_auth ? "vnc" : "none");
    return info;
}

static VncClientInfo *client_info(VncClient *c)
{
    VncClientInfo *info = g_new0(VncClientInfo, 1);

    info->host = g_strdup(c->host);
    info->service = g_strdup(c->service);
    info->family = c->family;
    info->websocket = c->websocket;
    return info;
}

/* ---- events posted by LibVNCServer's threads -------------------------- */

typedef struct VncPosted {
    VncClient *client;
    int kind;
    uint32_t a, b, c;
} VncPosted;

enum { POST_CONNECTED, POST_INITIALIZED, POST_GONE, POST_KEY, POST_PTR,
       POST_EXTKEY, POST_RESIZE, POST_WAKE, POST_SENT };

static void post(VncClient *client, int kind, uint32_t a, uint32_t b,
                 uint32_t c);

static void on_connected(VncClient *c)
{
    VncBasicInfo client = {
        .host = c->host, .service = c->service, .family = c->family,
        .websocket = c->websocket,
    };
    g_autoptr(VncServerInfo) server = server_info(c->vd);

    g_ptr_array_add(c->vd->clients, c);
    vnc_update_interval(c->vd);
    /*
     * The client was put on hold so that its first picture is current:
     * bring the framebuffer up to date, then let its threads run.
     */
    graphic_hw_update(c->vd->dcl.con ? c->vd->dcl.con
                                     : qemu_console_lookup_by_index(0));
    rfbStartOnHoldClient(c->cl);
    qapi_event_send_vnc_connected(server, &client);
}

static void on_initialized(VncClient *c)
{
    g_autoptr(VncServerInfo) server = server_info(c->vd);
    g_autoptr(VncClientInfo) client = client_info(c);

    c->initialized = true;
    qapi_event_send_vnc_initialized(server, client);
}

static void on_gone(VncClient *c)
{
    g_autoptr(VncServerInfo) server = server_info(c->vd);
    g_autoptr(VncClientInfo) client = client_info(c);

    g_ptr_array_remove(c->vd->clients, c);
    vnc_update_interval(c->vd);
    qapi_event_send_vnc_disconnected(server, client);
    /* its threads are gone: so is its use of the cursor */
    g_mutex_lock(&c->vd->lock);
    vnc_cursor_unref(c->sent_cursor);
    c->sent_cursor = NULL;
    g_mutex_unlock(&c->vd->lock);
    g_free(c->host);
    g_free(c->service);
    g_free(c);
}

/*
 * A key from a client: @keysym (0 if the client sent only a scancode)
 * and @q, from the scancode of an extended key event or the keysym
 * through the -k layout.  Ctrl-Alt-1..9 shows console N, as QEMU's VNC
 * server; a text console gets characters, a graphic one the key.
 */
static void on_key(VncClient *c, uint32_t keysym, QKeyCode q, bool down)
{
    DisplayChangeListener *dcl = &c->vd->dcl;
    QemuConsole *con;

    if (q == Q_KEY_CODE_SHIFT || q == Q_KEY_CODE_SHIFT_R) {
        c->shift = down;
    }
    if (q == Q_KEY_CODE_CTRL || q == Q_KEY_CODE_CTRL_R) {
        c->ctrl = down;
    } else if (q == Q_KEY_CODE_ALT || q == Q_KEY_CODE_ALT_R) {
        c->alt = down;
    } else if (down && c->ctrl && c->alt && q >= Q_KEY_CODE_1 &&
               q <= Q_KEY_CODE_9) {
        con = qemu_console_lookup_by_index(q - Q_KEY_CODE_1);
        if (con) {
            dpy_set_console(dcl, con);
            return;
        }
    }
    con = dpy_get_console(dcl);
    if (con && !qemu_console_is_graphic(con)) {
        if (!down) {
            return;
        }
        if (!keysym) {
            keysym = qemu_input_qcode_to_keysym(q, 0);
        }
        if (c->ctrl && keysym < 0x80 && g_ascii_isalpha(keysym)) {
            keysym = g_ascii_tolower(keysym) - 'a' + 1;
        } else if (keysym >= 0xff00 && keysym <= 0xffff) {
            /* a function key: the console may scroll with Shift/Ctrl */
            keysym |= (c->shift ? TEXT_KEY_MOD_SHIFT : 0) |
                      (c->ctrl ? TEXT_KEY_MOD_CTRL : 0);
        }
        qemu_text_console_put_keysym(con, keysym);
        return;
    }
    if (q != Q_KEY_CODE_UNMAPPED) {
        qemu_input_event_send_key_qcode(NULL, q, down);
    }
}

/* RFB button mask bits 0-6 -> InputButton bits */
static uint32_t rfb_buttons(uint32_t mask)
{
    uint32_t b = mask & 0x1f;               /* left..wheel-down match */

    if (mask & 0x20) {
        b |= 1u << INPUT_BUTTON_WHEEL_LEFT;
    }
    if (mask & 0x40) {
        b |= 1u << INPUT_BUTTON_WHEEL_RIGHT;
    }
    return b;
}

static void on_pointer(VncClient *c, uint32_t mask, int x, int y)
{
    VncDisplay *vd = c->vd;
    uint32_t buttons = rfb_buttons(mask);

    qemu_input_update_buttons(NULL, c->buttons, buttons);
    c->buttons = buttons;
    if (qemu_input_is_absolute()) {
        qemu_input_queue_abs(NULL, INPUT_AXIS_X, x, 0, MAX(vd->fb_w - 1, 1));
        qemu_input_queue_abs(NULL, INPUT_AXIS_Y, y, 0, MAX(vd->fb_h - 1, 1));
    } else if (c->last_x >= 0) {
        /* a relative mouse: the motion since the client's last report */
        qemu_input_queue_rel(NULL, INPUT_AXIS_X, x - c->last_x);
        qemu_input_queue_rel(NULL, INPUT_AXIS_Y, y - c->last_y);
    }
    c->last_x = x;
    c->last_y = y;
    qemu_input_event_sync();
}

static void run_posted(void *opaque)
{
    VncPosted *p = opaque;

    switch (p->kind) {
    case POST_KEY:
    case POST_EXTKEY:
    case POST_PTR:
        /* the guest is likely to answer on screen: look again soon */
        if (p->client->vd->interval > GUI_REFRESH_INTERVAL_DEFAULT) {
            vnc_update_interval(p->client->vd);
        }
        break;
    }
    switch (p->kind) {
    case POST_CONNECTED:
        on_connected(p->client);
        break;
    case POST_INITIALIZED:
        on_initialized(p->client);
        break;
    case POST_GONE:
        on_gone(p->client);
        break;
    case POST_KEY:
        on_key(p->client, p->a, qemu_input_keysym_to_qcode(p->a), p->b);
        break;
    case POST_EXTKEY:
        /* the scancode decides; the keysym only matters to text consoles */
        on_key(p->client, p->a, qemu_input_number_to_qcode(p->c), p->b);
        break;
    case POST_PTR:
        on_pointer(p->client, p->a, (int)p->b, (int)p->c);
        break;
    case POST_SENT:
        /* a client took an update and will ask for the next one */
        dpy_refresh_soon(&p->client->vd->dcl);
        break;
    case POST_WAKE:
        /* wake the senders (LibVNCServer queued a reply of its own) */
        if (p->client->vd->fb_w && p->client->vd->fb_h) {
            rfbMarkRectAsModified(p->client->vd->screen, 0, 0, 1, 1);
        }
        break;
    case POST_RESIZE: {
        /* SetDesktopSize: the shown console's device hears the wish */
        QemuUIInfo info = { .width = p->a, .height = p->b };
        dpy_set_ui_info(dpy_get_console(&p->client->vd->dcl), &info);
        break;
    }
    }
    g_free(p);
}

static void post(VncClient *client, int kind, uint32_t a, uint32_t b,
                 uint32_t c)
{
    VncPosted *p = g_new(VncPosted, 1);

    *p = (VncPosted){ client, kind, a, b, c };
    main_loop_call(run_posted, p);
}

/* ---- LibVNCServer hooks (its threads) --------------------------------- */

static void peer_address(int fd, VncClient *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST], serv[NI_MAXSERV];

    c->family = NETWORK_ADDRESS_FAMILY_UNKNOWN;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        c->host = g_strdup("");
        c->service = g_strdup("");
        return;
    }
    if (ss.ss_family == AF_UNIX) {
        c->family = NETWORK_ADDRESS_FAMILY_UNIX;
        c->host = g_strdup(accepting_on ? accepting_on->host : "");
        c->service = g_strdup("");
        return;
    }
    if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv,
                    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV)) {
        host[0] = serv[0] = 0;
    }
    c->family = ss.ss_family == AF_INET6 ? NETWORK_ADDRESS_FAMILY_IPV6
                                          : NETWORK_ADDRESS_FAMILY_IPV4;
    c->host = g_strdup(host);
    c->service = g_strdup(serv);
}

static void client_gone_hook(rfbClientPtr cl)
{
    VncClient *c = cl->clientData;

    if (c) {
        cl->clientData = NULL;
        post(c, POST_GONE, 0, 0, 0);
    }
}

static enum rfbNewClientAction new_client_hook(rfbClientPtr cl)
{
    VncDisplay *vd = cl->screen->screenData;
    VncClient *c = g_new0(VncClient, 1);

    c->vd = vd;
    c->cl = cl;
    c->websocket = accepting_on && accepting_on->websocket;
    c->last_x = c->last_y = -1;
    peer_address(cl->sock, c);
    cl->clientData = c;
    cl->clientGoneHook = client_gone_hook;
    /* the main thread starts it (on_connected), once rfbNewClient is done */
    return RFB_CLIENT_ON_HOLD;
}

/* Called before each framebuffer update: the first one ends the handshake. */
static void display_hook(rfbClientPtr cl)
{
    VncClient *c = cl->clientData;
    VncDisplay *vd = cl->screen->screenData;

    if (!vd->lossy) {
        /*
         * Without lossy=on no JPEG, as QEMU: a quality level the client
         * asked for (noVNC always does) would make tight send JPEG.
         */
        cl->tightQualityLevel = -1;
        cl->turboQualityLevel = -1;
    }

    if (c && !c->init_posted) {
        c->init_posted = true;
        post(c, POST_INITIALIZED, 0, 0, 0);
    }
}

/* Called after each framebuffer update a sender wrote (its thread). */
static void display_finished_hook(rfbClientPtr cl, int result)
{
    VncClient *c = cl->clientData;

    if (c && result) {
        post(c, POST_SENT, 0, 0, 0);
    }
}

static void kbd_event(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
    VncClient *c = cl->clientData;

    if (c) {
        post(c, POST_KEY, keysym, !!down, 0);
    }
}

static void ptr_event(int mask, int x, int y, rfbClientPtr cl)
{
    VncClient *c = cl->clientData;

    rfbDefaultPtrAddEvent(mask, x, y, cl);
    if (c) {
        post(c, POST_PTR, mask, x, y);
    }
}

/*
 * SetDesktopSize (ExtendedDesktopSize clients): the wish goes to the
 * device through the console's ui_info on the main thread; the picture
 * follows when the guest sets the new mode.  A device without ui_info
 * (VGA, bochs-display) answers "resize prohibited" at once.
 */
static int set_desktop_size(int width, int height, int nr_screens,
                            struct rfbExtDesktopScreen *screens,
                            rfbClientPtr cl)
{
    VncDisplay *vd = cl->screen->screenData;
    VncClient *c = cl->clientData;

    (void)nr_screens;
    (void)screens;
    if (!c) {
        return rfbExtDesktopSize_ResizeProhibited;
    }
    if (!g_atomic_int_get(&vd->ui_info_ok) || width <= 0 || height <= 0) {
        /*
         * LibVNCServer answers with the current size once its sender
         * runs, which nothing else may wake soon: wake it from the main
         * thread, after this hook returned and the answer is pending.
         */
        post(c, POST_WAKE, 0, 0, 0);
        return rfbExtDesktopSize_ResizeProhibited;
    }
    post(c, POST_RESIZE, width, height, 0);
    return rfbExtDesktopSize_Success;
}

/*
 * QEMU's extended key event: a client that lists pseudo-encoding -258
 * gets an empty rectangle of that encoding (the acknowledgement clients
 * wait for) and may then send client message 255 subtype 0: down flag,
 * keysym and the key's scancode (set 1, E0 keys + 0x80), which reaches
 * the guest unchanged whatever the keymap.
 */
#define RFB_ENCODING_EXT_KEY_EVENT  (-258)
#define RFB_MSG_QEMU                255
#define RFB_QEMU_EXT_KEY_EVENT      0

static int ext_key_encodings[] = { RFB_ENCODING_EXT_KEY_EVENT, 0 };

static rfbBool ext_key_new_client(rfbClientPtr cl, void **data)
{
    return TRUE;
}

static rfbBool ext_key_enable(rfbClientPtr cl, void **data, int encoding)
{
    /* FramebufferUpdate, 1 rect, 0x0+0+0 of encoding -258 */
    uint8_t ack[16] = { 0, 0, 0, 1 };
    uint32_t enc = htonl((uint32_t)RFB_ENCODING_EXT_KEY_EVENT);

    if (encoding != RFB_ENCODING_EXT_KEY_EVENT) {
        return FALSE;
    }
    memcpy(ack + 12, &enc, 4);
    pthread_mutex_lock(&cl->sendMutex);
    rfbWriteExact(cl, (const char *)ack, sizeof(ack));
    pthread_mutex_unlock(&cl->sendMutex);
    return TRUE;
}

static rfbBool ext_key_message(rfbClientPtr cl, void *data,
                               const rfbClientToServerMsg *msg)
{
    VncClient *c = cl->clientData;
    uint8_t buf[11];            /* after the type byte */
    uint32_t keysym, keycode;

    if (msg->type != RFB_MSG_QEMU) {
        return FALSE;
    }
    if (rfbReadExact(cl, (char *)buf, 1) <= 0) {
        rfbCloseClient(cl);
        return TRUE;
    }
    if (buf[0] != RFB_QEMU_EXT_KEY_EVENT) {
        /* other QEMU messages (audio) have lengths we do not know */
        rfbCloseClient(cl);
        return TRUE;
    }
    if (rfbReadExact(cl, (char *)buf + 1, 10) <= 0) {
        rfbCloseClient(cl);
        return TRUE;
    }
    keysym = (uint32_t)buf[3] << 24 | buf[4] << 16 | buf[5] << 8 | buf[6];
    keycode = (uint32_t)buf[7] << 24 | buf[8] << 16 | buf[9] << 8 | buf[10];
    if (c) {
        post(c, POST_EXTKEY, keysym, (buf[1] | buf[2]) != 0, keycode);
    }
    return TRUE;
}

static rfbProtocolExtension ext_key_extension = {
    .newClient = ext_key_new_client,
    .pseudoEncodings = ext_key_encodings,
    .enablePseudoEncoding = ext_key_enable,
    .handleMessage = ext_key_message,
};

/* VNC authentication (RFC 6143 7.2.2) against the current password. */
static rfbBool password_check(rfbClientPtr cl, const char *response, int len)
{
    VncDisplay *vd = cl->screen->screenData;
    uint8_t expect[CHALLENGESIZE];
    bool ok = false;

    if (len != CHALLENGESIZE) {
        return FALSE;
    }
    g_mutex_lock(&vd->lock);
    if (vd->password_set && time(NULL) < vd->expires) {
        char key[9];
        memcpy(key, vd->password, sizeof(key));
        memcpy(expect, cl->authChallenge, CHALLENGESIZE);
        rfbEncryptBytes(expect, key);
        ok = !memcmp(expect, response, CHALLENGESIZE);
        memset(key, 0, sizeof(key));
    }
    g_mutex_unlock(&vd->lock);
    return ok;
}

/* ---- accepting -------------------------------------------------------- */

static void new_rfb_client(VncDisplay *vd, VncListener *l, int fd)
{
    rfbClientPtr cl;

    accepting_on = l;
    cl = rfbNewClient(vd->screen, fd);
    accepting_on = NULL;
    /*
     * Only now, with cl->onHold set by LibVNCServer, may the main thread
     * start the client's threads.
     */
    if (cl && cl->clientData) {
        post(cl->clientData, POST_CONNECTED, 0, 0, 0);
    }
}

/* ---- the browser console: noVNC's files on the websocket port ---------- */

typedef struct HttpConn {
    VncDisplay *vd;
    VncListener *l;
    int fd;
} HttpConn;

static const char *mime_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "application/javascript" },
        { ".css", "text/css" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".json", "application/json" },
        { ".ogg", "audio/ogg" },
        { ".mp3", "audio/mpeg" },
        { ".oga", "audio/ogg" },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
        if (g_str_has_suffix(path, types[i].ext)) {
            return types[i].type;
        }
    }
    return "application/octet-stream";
}

static void http_reply(int fd, const char *status, const char *headers,
                       const char *body, size_t len)
{
    g_autofree char *head = g_strdup_printf(
        "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
        "Cache-Control: no-cache\r\n%s\r\n", status, len, headers);
    size_t off = 0, hl = strlen(head);

    while (off < hl + len) {
        const char *p = off < hl ? head + off : body + (off - hl);
        size_t n = off < hl ? hl - off : hl + len - off;
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        off += r;
    }
}

/*
 * Serve GET @path: "/" redirects to noVNC's page with autoconnect (it
 * opens a websocket to the same host and port); other paths name files
 * below the noVNC directory, refused if any component is "." or ".."
 * (so nothing outside it can be named) or if not a regular file.
 */
static void http_serve(VncDisplay *vd, int fd, const char *path)
{
    g_auto(GStrv) parts = NULL;
    g_autofree char *file = NULL;
    g_autofree char *data = NULL;
    g_autofree char *hdr = NULL;
    gsize len;

    if (!strcmp(path, "/")) {
        http_reply(fd, "302 Found", "Location: /vnc.html?autoconnect=true"
                   "&resize=off&reconnect=true&path=websockify\r\n", "", 0);
        return;
    }
    parts = g_strsplit(path + 1, "/", -1);
    for (unsigned i = 0; parts[i]; i++) {
        if (!*parts[i] || !strcmp(parts[i], ".") || !strcmp(parts[i], "..")
            || strchr(parts[i], '\\')) {
            http_reply(fd, "404 Not Found", "", "", 0);
            return;
        }
    }
    file = g_build_filename(vd->http_dir, path + 1, NULL);
    if (!g_file_test(file, G_FILE_TEST_IS_REGULAR) ||
        !g_file_get_contents(file, &data, &len, NULL)) {
        http_reply(fd, "404 Not Found", "", "", 0);
        return;
    }
    hdr = g_strdup_printf("Content-Type: %s\r\n", mime_type(file));
    http_reply(fd, "200 OK", hdr, data, len);
}

/*
 * A connection on the websocket port: a websocket handshake goes to
 * LibVNCServer (which reads the request itself), any other GET is a
 * request for the page.  Peeks at the request head with a deadline, on a
 * thread of its own so a slow client holds up nobody.
 */
static void *http_or_ws_thread(void *opaque)
{
    HttpConn *hc = opaque;
    char buf[4096];
    ssize_t n = 0;
    int64_t deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    qemu_thread_name_self("vnc_http");
    for (;;) {
        struct pollfd pfd = { .fd = hc->fd, .events = POLLIN };
        int64_t left = (deadline - g_get_monotonic_time()) / 1000;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            goto drop;
        }
        n = recv(hc->fd, buf, sizeof(buf) - 1, MSG_PEEK);
        if (n <= 0) {
            goto drop;
        }
        buf[n] = 0;
        if (strstr(buf, "\r\n\r\n") || n == sizeof(buf) - 1 ||
            strncmp(buf, "GET ", MIN(n, 4))) {
            break;
        }
        g_usleep(10000);        /* more of the head is on its way */
    }
    if (strncmp(buf, "GET ", 4) || g_strstr_len(buf, n, "\r\n\r\n") == NULL
        || strcasestr(buf, "upgrade: websocket")) {
        /* a websocket (or raw RFB) client: LibVNCServer takes it */
        new_rfb_client(hc->vd, hc->l, hc->fd);
        g_free(hc);
        return NULL;
    } else {
        char *path = buf + 4, *end = strpbrk(path, " ?#\r\n");
        char discard[4096];
        ssize_t head = strstr(buf, "\r\n\r\n") + 4 - buf;

        if (end) {
            *end = 0;
        }
        /* consume the request head, then answer */
        if (recv(hc->fd, discard, head, 0) == head) {
            http_serve(hc->vd, hc->fd, path);
        }
    }
drop:
    close(hc->fd);
    g_free(hc);
    return NULL;
}

/* Connections still sending their request head: at most this many. */
#define VNC_HTTP_MAX_PENDING    32
static gint http_pending;

static void *http_or_ws_counted(void *opaque)
{
    http_or_ws_thread(opaque);
    g_atomic_int_add(&http_pending, -1);
    return NULL;
}

static void start_http_or_ws(VncDisplay *vd, VncListener *l, int fd)
{
    HttpConn *hc;
    pthread_t tid;

    if (g_atomic_int_add(&http_pending, 1) >= VNC_HTTP_MAX_PENDING) {
        /* a flood of idle connections costs no more threads */
        g_atomic_int_add(&http_pending, -1);
        close(fd);
        return;
    }
    hc = g_new(HttpConn, 1);
    *hc = (HttpConn){ vd, l, fd };
    if (pthread_create(&tid, NULL, http_or_ws_counted, hc)) {
        g_atomic_int_add(&http_pending, -1);
        close(fd);
        g_free(hc);
        return;
    }
    pthread_detach(tid);
}

static void *accept_thread(void *opaque)
{
    VncDisplay *vd = opaque;
    struct pollfd pfd[VNC_MAX_LISTENERS];

    qemu_thread_name_self("vnc_accept");

    for (;;) {
        for (unsigned i = 0; i < vd->nr_listeners; i++) {
            pfd[i].fd = vd->listeners[i].fd;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, vd->nr_listeners, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return NULL;
        }
        for (unsigned i = 0; i < vd->nr_listeners; i++) {
            int fd;

            if (!(pfd[i].revents & POLLIN)) {
                continue;
            }
            fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                continue;
            }
            if (vd->listeners[i].websocket && vd->http_dir) {
                start_http_or_ws(vd, &vd->listeners[i], fd);
                continue;
            }
            new_rfb_client(vd, &vd->listeners[i], fd);
        }
    }
    return NULL;
}

/* ---- listening sockets ------------------------------------------------- */

static bool add_listener(VncDisplay *vd, int fd, bool websocket,
                         const char *host, const char *service,
                         NetworkAddressFamily family, GError **errp)
{
    VncListener *l;

    if (vd->nr_listeners == VNC_MAX_LISTENERS) {
        close(fd);
        error_setg(errp, "too many VNC listening sockets");
        return false;
    }
    l = &vd->listeners[vd->nr_listeners++];
    l->fd = fd;
    l->websocket = websocket;
    l->host = g_strdup(host);
    l->service = g_strdup(service);
    l->family = family;
    return true;
}

static bool listen_unix(VncDisplay *vd, const char *path, GError **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg(errp, "Failed to create socket: %s", g_strerror(errno));
        return false;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(fd, 16) < 0) {
        error_setg(errp, "Failed to bind socket to %s: %s", path,
                   g_strerror(errno));
        close(fd);
        return false;
    }
    return add_listener(vd, fd, false, path, "", NETWORK_ADDRESS_FAMILY_UNIX,
                        errp);
}

/* Listen on every address of @host (NULL: all) at @port; -1 in use. */
static int listen_tcp_port(VncDisplay *vd, const char *host, int port,
                           bool websocket, GError **errp)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_ADDRCONFIG,
    };
    struct addrinfo *res, *ai;
    char service[16];
    unsigned first = vd->nr_listeners;
    int ret, fd, one = 1;

    snprintf(service, sizeof(service), "%d", port);
    ret = getaddrinfo(host && *host ? host : NULL, service, &hints, &res);
    if (ret) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   host ? host : "", service, gai_strerror(ret));
        return 0;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        char h[NI_MAXHOST];

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            listen(fd, 16) < 0) {
            int err = errno;
            close(fd);
            if (err == EADDRINUSE) {
                /* give back what this port already bound */
                while (vd->nr_listeners > first) {
                    VncListener *l = &vd->listeners[--vd->nr_listeners];
                    close(l->fd);
                    g_free(l->host);
                    g_free(l->service);
                }
                freeaddrinfo(res);
                return -1;
            }
            continue;
        }
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), NULL, 0,
                        NI_NUMERICHOST)) {
            h[0] = 0;
        }
        if (!add_listener(vd, fd, websocket, h, service,
                          ai->ai_family == AF_INET6
                              ? NETWORK_ADDRESS_FAMILY_IPV6
                              : NETWORK_ADDRESS_FAMILY_IPV4, errp)) {
            freeaddrinfo(res);
            return 0;
        }
    }
    freeaddrinfo(res);
    if (vd->nr_listeners == first) {
        error_setg(errp, "Failed to listen on %s:%s", host ? host : "",
                   service);
        return 0;
    }
    return 1;
}

/* ---- options ---------------------------------------------------------- */

static bool parse_onoff(const char *key, const char *val, bool *out,
                        GError **errp)
{
    if (!val || !strcmp(val, "on") || !strcmp(val, "yes") ||
        !strcmp(val, "true")) {
        *out = true;
    } else if (!strcmp(val, "off") || !strcmp(val, "no") ||
               !strcmp(val, "false")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

/* "HOST:N" -> host (maybe empty or [v6]) and display number N. */
static bool split_host_display(const char *addr, char **host, int *display,
                               GError **errp)
{
    const char *colon = strrchr(addr, ':');
    uint64_t n;

    if (!colon || !parse_uint(colon + 1, &n, NULL) || n > 65535 - 5900) {
        error_setg(errp, "VNC display '%s' should be [HOST]:DISPLAY or "
                   "unix:PATH", addr);
        return false;
    }
    *host = g_strndup(addr, colon - addr);
    if ((*host)[0] == '[') {
        size_t l = strlen(*host);
        if (l >= 2 && (*host)[l - 1] == ']') {
            char *h = g_strndup(*host + 1, l - 2);
            g_free(*host);
            *host = h;
        }
    }
    *display = n;
    return true;
}

typedef struct VncOpts {
    char *addr;
    char *id;
    bool password;
    int64_t to;                 /* -1: no port search */
    char *share;
    char *websocket;
    char *http_dir;             /* "" : no page; NULL: the default */
    bool lossy;
} VncOpts;

static void vnc_opts_free(VncOpts *o)
{
    g_free(o->addr);
    g_free(o->id);
    g_free(o->share);
    g_free(o->websocket);
    g_free(o->http_dir);
}

static bool parse_vnc_opts(const char *str, VncOpts *o, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(str, ",", -1);

    memset(o, 0, sizeof(*o));
    o->to = -1;
    if (!parts[0] || !*parts[0]) {
        error_setg(errp, "VNC display is missing");
        return false;
    }
    o->addr = g_strdup(parts[0]);
    for (unsigned i = 1; parts[i]; i++) {
        char *eq = strchr(parts[i], '=');
        g_autofree char *key = eq ? g_strndup(parts[i], eq - parts[i])
                                  : g_strdup(parts[i]);
        const char *val = eq ? eq + 1 : NULL;
        uint64_t n;

        if (!strcmp(key, "password")) {
            if (!parse_onoff(key, val, &o->password, errp)) {
                return false;
            }
        } else if (!strcmp(key, "to")) {
            if (!val || !parse_uint(val, &n, NULL) || n > 65535 - 5900) {
                error_setg(errp, "Parameter 'to' expects a display number");
                return false;
            }
            o->to = n;
        } else if (!strcmp(key, "id")) {
            g_free(o->id);
            o->id = g_strdup(val ? val : "");
        } else if (!strcmp(key, "share")) {
            if (!val || (strcmp(val, "allow-exclusive") &&
                         strcmp(val, "force-shared") && strcmp(val, "ignore"))) {
                error_setg(errp, "unknown vnc share= option");
                return false;
            }
            g_free(o->share);
            o->share = g_strdup(val);
        } else if (!strcmp(key, "websocket")) {
            g_free(o->websocket);
            o->websocket = g_strdup(val ? val : "on");
        } else if (!strcmp(key, "http-dir")) {
            g_free(o->http_dir);
            o->http_dir = g_strdup(val ? val : "");
        } else if (!strcmp(key, "lossy")) {
            if (!parse_onoff(key, val, &o->lossy, errp)) {
                return false;
            }
        } else if (!strcmp(key, "audiodev")) {
            /* the backend must exist; VNC's audio extension is not
             * offered (the only audio driver built is "none") */
            if (!val || !audio_state_by_name(val)) {
                error_setg(errp, "audiodev '%s' not found", val ? val : "");
                return false;
            }
        } else if (!strcmp(key, "non-adaptive") || !strcmp(key, "key-delay-ms")
                   || !strcmp(key, "power-control")
                   || !strcmp(key, "connections")) {
            /* accepted for compatibility; nothing to do */
        } else if (!strcmp(key, "reverse") || !strcmp(key, "tls-creds") ||
                   !strcmp(key, "tls-authz") || !strcmp(key, "sasl") ||
                   !strcmp(key, "sasl-authz") || !strcmp(key, "x509") ||
                   !strcmp(key, "x509verify") || !strcmp(key, "acl")) {
            error_setg(errp, "VNC option '%s' is not supported by kvmpc",
                       key);
            return false;
        } else {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
    }
    return true;
}

static bool open_listeners(VncDisplay *vd, const VncOpts *o, GError **errp)
{
    g_autofree char *host = NULL;
    int display, last, r = -1;

    if (g_str_has_prefix(o->addr, "unix:")) {
        if (!listen_unix(vd, o->addr + 5, errp)) {
            return false;
        }
    } else {
        if (!split_host_display(o->addr, &host, &display, errp)) {
            return false;
        }
        last = o->to >= 0 ? MAX((int)o->to, display) : display;
        for (int d = display; d <= last; d++) {
            r = listen_tcp_port(vd, host, VNC_PORT_BASE + d, false, errp);
            if (r != -1) {
                break;
            }
        }
        if (r == -1) {
            error_setg(errp, "Failed to find an available port: Address "
                       "already in use");
        }
        if (r != 1) {
            return false;
        }
    }
    if (o->websocket) {
        g_autofree char *wshost = NULL;
        const char *ws = o->websocket;
        const char *colon = strrchr(ws, ':');
        uint64_t port;

        if (!strcmp(ws, "on")) {
            port = VNC_WS_PORT_BASE + (host ? display : 0);
            wshost = g_strdup(host);
        } else if (colon) {
            wshost = g_strndup(ws, colon - ws);
            if (!parse_uint(colon + 1, &port, NULL) || port > 65535) {
                error_setg(errp, "Invalid websocket port '%s'", ws);
                return false;
            }
        } else if (!parse_uint(ws, &port, NULL) || port > 65535) {
            error_setg(errp, "Invalid websocket port '%s'", ws);
            return false;
        }
        r = listen_tcp_port(vd, wshost, port, true, errp);
        if (r == -1) {
            error_setg(errp, "Failed to listen on websocket port %" PRIu64
                       ": Address already in use", port);
        }
        if (r != 1) {
            return false;
        }
    }
    return true;
}

static VncDisplay *vnc_display_find(const char *id)
{
    for (unsigned i = 0; displays && i < displays->len; i++) {
        VncDisplay *vd = g_ptr_array_index(displays, i);
        if (!id || !strcmp(vd->id, id)) {
            return vd;
        }
    }
    return NULL;
}

bool vnc_display_open(const char *opts, GError **errp)
{
    VncOpts o;
    VncDisplay *vd;

    if (!strcmp(opts, "none")) {
        return true;
    }
    if (!parse_vnc_opts(opts, &o, errp)) {
        vnc_opts_free(&o);
        return false;
    }
    if (!o.id) {
        o.id = g_strdup(vnc_display_find(NULL) ? "" : "default");
        if (!*o.id) {
            g_free(o.id);
            o.id = g_strdup_printf("vnc%u", displays->len);
        }
    }
    if (vnc_display_find(o.id)) {
        error_setg(errp, "VNC display '%s' already exists", o.id);
        vnc_opts_free(&o);
        return false;
    }
    vd = g_new0(VncDisplay, 1);
    vd->id = g_strdup(o.id);
    vd->password_auth = o.password;
    vd->lossy = o.lossy;
    if (o.websocket) {
        const char *dir = o.http_dir ? o.http_dir : VNC_NOVNC_DIR;
        if (*dir && g_file_test(dir, G_FILE_TEST_IS_DIR)) {
            vd->http_dir = g_strdup(dir);
        } else if (o.http_dir && *o.http_dir) {
            error_setg(errp, "http-dir '%s' is not a directory", dir);
            vnc_opts_free(&o);
            g_free(vd->id);
            g_free(vd);
            return false;
        }
    }
    vd->expires = (time_t)(sizeof(time_t) == 8 ? INT64_MAX : INT32_MAX);
    g_mutex_init(&vd->lock);
    vd->old_fbs = g_ptr_array_new_with_free_func(g_free);
    vd->clients = g_ptr_array_new();
    if (!open_listeners(vd, &o, errp)) {
        for (unsigned i = 0; i < vd->nr_listeners; i++) {
            close(vd->listeners[i].fd);
        }
        vnc_opts_free(&o);
        g_free(vd->id);
        g_free(vd);
        return false;
    }

    if (!getenv("KVMPC_VNC_DEBUG")) {
        rfbLog = vnc_log_quiet;
        rfbErr = vnc_log_quiet;
    }
    vd->pending = sraRgnCreate();
    vd->mark_bh = bh_new(NULL, vnc_mark_pending, vd);
    vd->fb_w = 640;
    vd->fb_h = 480;
    vd->fb = g_new0(uint32_t, (size_t)vd->fb_w * vd->fb_h);
    vd->screen = rfbGetScreen(NULL, NULL, vd->fb_w, vd->fb_h, 8, 3, 4);
    vd->screen->frameBuffer = (char *)vd->fb;
    vd->screen->screenData = vd;
    vd->screen->desktopName = "QEMU";
    /*
     * No cursor of LibVNCServer's drawn into the guest's picture: the
     * guest's hardware cursor goes only to clients that asked for cursor
     * shapes, through getCursorPtr.
     */
    vd->screen->cursor = NULL;
    vd->screen->getCursorPtr = vnc_get_cursor;
    vd->screen->setDesktopSizeHook = set_desktop_size;
    vd->screen->port = 0;           /* kvmpc listens itself */
    vd->screen->ipv6port = 0;
    vd->screen->autoPort = FALSE;
    vd->screen->httpPort = 0;
    vd->screen->backgroundLoop = TRUE;
    vd->screen->newClientHook = new_client_hook;
    vd->screen->displayHook = display_hook;
    vd->screen->displayFinishedHook = display_finished_hook;
    /*
     * No waiting for more marks before sending (LibVNCServer's default
     * is 5 ms): those of one refresh come in one call (vnc_mark_pending).
     */
    vd->screen->deferUpdateTime = 0;
    vd->screen->kbdAddEvent = kbd_event;
    vd->screen->ptrAddEvent = ptr_event;
    if (o.share && strcmp(o.share, "allow-exclusive")) {
        vd->screen->alwaysShared = TRUE;
    }
    if (vd->password_auth) {
        /* any non-NULL value makes LibVNCServer offer VNC authentication */
        vd->screen->authPasswdData = vd;
        vd->screen->passwordCheck = password_check;
    }
    rfbInitServer(vd->screen);
    if (!ext_key_registered) {
        ext_key_registered = true;
        rfbRegisterProtocolExtension(&ext_key_extension);
    }

    if (!displays) {
        displays = g_ptr_array_new();
    }
    g_ptr_array_add(displays, vd);
    vd->dcl.ops = &vnc_dcl_ops;
    vd->dcl.opaque = vd;
    vd->dcl.update_interval = GUI_REFRESH_NONE;
    vd->interval = GUI_REFRESH_NONE;
    register_displaychangelistener(&vd->dcl);
    for (unsigned i = 0; vd->http_dir && i < vd->nr_listeners; i++) {
        VncListener *l = &vd->listeners[i];
        const char *h = l->host;
        if (!l->websocket) {
            continue;
        }
        if (!*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::")) {
            h = "localhost";
        }
        fprintf(stderr, "kvmpc: browser console: http://%s%s%s:%s/\n",
                strchr(h, ':') ? "[" : "", h, strchr(h, ':') ? "]" : "",
                l->service);
        break;
    }
    if (pthread_create(&vd->accept_thread, NULL, accept_thread, vd)) {
        error_setg(errp, "cannot start the VNC thread");
        vnc_opts_free(&o);
        return false;
    }
    vnc_opts_free(&o);
    return true;
}

/* ---- passwords ---------------------------------------------------------- */

bool vnc_display_exists(const char *id)
{
    return vnc_display_find(id) != NULL;
}

bool vnc_display_password(const char *id, const char *password,
                          GError **errp)
{
    VncDisplay *vd = vnc_display_find(id);

    if (!vd) {
        error_setg(errp, "Display not found");
        return false;
    }
    if (!vd->password_auth) {
        error_setg(errp, "If you want use passwords please enable password "
                   "auth using '-vnc ${dpy},password'.");
        return false;
    }
    g_mutex_lock(&vd->lock);
    memset(vd->password, 0, sizeof(vd->password));
    g_strlcpy(vd->password, password, sizeof(vd->password));
    vd->password_set = true;
    g_mutex_unlock(&vd->lock);
    return true;
}

bool vnc_display_pw_expire(const char *id, time_t when, GError **errp)
{
    VncDisplay *vd = vnc_display_find(id);

    if (!vd) {
        error_setg(errp, "Display not found");
        return false;
    }
    g_mutex_lock(&vd->lock);
    vd->expires = when;
    g_mutex_unlock(&vd->lock);
    return true;
}

char *vnc_display_local_addr(const char *id)
{
    VncDisplay *vd = vnc_display_find(id);
    VncListener *l;

    if (!vd || !vd->nr_listeners) {
        return NULL;
    }
    l = &vd->listeners[0];
    if (l->family == NETWORK_ADDRESS_FAMILY_UNIX) {
        return g_strdup(l->host);
    }
    return g_strdup_printf("%s:%s", l->host, l->service);
}

/* ---- queries ---------------------------------------------------------- */

static VncClientInfoList *client_list(VncDisplay *vd)
{
    VncClientInfoList *head = NULL, **tail = &head;

    for (unsigned i = 0; i < vd->clients->len; i++) {
        *tail = g_new0(VncClientInfoList, 1);
        (*tail)->value = client_info(g_ptr_array_index(vd->clients, i));
        tail = &(*tail)->next;
    }
    return head;
}

VncInfo *qmp_query_vnc(GError **errp)
{
    VncDisplay *vd = vnc_display_find(NULL);
    VncInfo *info = g_new0(VncInfo, 1);
    VncListener *l;

    if (!vd || !vd->nr_listeners) {
        info->enabled = false;
        return info;
    }
    l = &vd->listeners[0];
    info->enabled = true;
    info->host = g_strdup(l->host);
    info->has_family = true;
    info->family = l->family;
    info->service = g_strdup(l->service);
    info->auth = g_strdup(vd->password_auth ? "vnc" : "none");
    info->clients = client_list(vd);
    return info;
}

VncInfo2List *qmp_query_vnc_servers(GError **errp)
{
    VncInfo2List *head = NULL, **tail = &head;

    for (unsigned i = 0; displays && i < displays->len; i++) {
        VncDisplay *vd = g_ptr_array_index(displays, i);
        VncInfo2 *info = g_new0(VncInfo2, 1);
        VncServerInfo2List **stail = &info->server;

        info->id = g_strdup(vd->id);
        info->auth = vd->password_auth ? VNC_PRIMARY_AUTH_VNC
                                       : VNC_PRIMARY_AUTH_NONE;
        for (unsigned j = 0; j < vd->nr_listeners; j++) {
            VncListener *l = &vd->listeners[j];
            VncServerInfo2 *s = g_new0(VncServerInfo2, 1);

            s->host = g_strdup(l->host);
            s->service = g_strdup(l->service);
            s->family = l->family;
            s->websocket = l->websocket;
            s->auth = info->auth;
            *stail = g_new0(VncServerInfo2List, 1);
            (*stail)->value = s;
            stail = &(*stail)->next;
        }
        info->clients = client_list(vd);
        *tail = g_new0(VncInfo2List, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}
