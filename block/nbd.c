/*
 * The "nbd" protocol driver: an export of an NBD server, as a node
 * (NBD protocol: github.com/NetworkBlockDevice/nbd doc/proto.md).
 *
 *   -blockdev driver=nbd,server.type=inet|unix,server.host=,server.port=,
 *             server.path=,export=NAME,reconnect-delay=S,open-timeout=S,
 *             tls-creds=ID,tls-hostname=NAME
 *             (QEMU's BlockdevOptionsNbd; "filename" may give a URI)
 *   nbd://HOST[:PORT]/EXPORT  nbd+unix:///EXPORT?socket=PATH
 *   nbd:HOST:PORT[:exportname=EXPORT]  nbd:unix:PATH[:exportname=EXPORT]
 *
 * Handshake (fixed newstyle): NBD_OPT_STRUCTURED_REPLY, then
 * NBD_OPT_SET_META_CONTEXT "base:allocation", then NBD_OPT_GO with
 * NBD_INFO_BLOCK_SIZE; a server that does not know NBD_OPT_GO gets
 * NBD_OPT_EXPORT_NAME.  The size and read-only flag come from the server.
 * open-timeout=S retries the first connection (spaced, see below) for up
 * to S seconds before the open fails.
 *
 * Transmission: requests come from any thread (device models, the block
 * thread pool), several at a time (NBD_CLIENT_MAX_IN_FLIGHT).  Each takes
 * a slot, sends its request under the send lock and sleeps; one
 * connection thread per node reads replies (simple or structured chunks:
 * OFFSET_DATA, OFFSET_HOLE, BLOCK_STATUS, ERROR, NONE), matches them by
 * handle and puts read data straight into the caller's buffer.
 *
 * Reconnection (QEMU's reconnect-delay): when the connection ends (EOF,
 * a socket error) the connection thread connects again and redoes the
 * handshake, retrying at once, then after 0.25 s, 0.5 s, ... up to 16 s
 * between attempts, for as long as the node is open.  Each connection is
 * a generation: a request remembers the generation it was sent on, and a
 * requester whose request was not answered on the current generation
 * sends it again (reads and writes are idempotent in NBD, as QEMU
 * assumes).  While disconnected, requests wait until reconnect-delay
 * seconds after the break, then fail with EIO, and later ones fail at once
 * until the connection is back (reconnect-delay=0, the default: at once).
 * A reconnected export must keep its size and stay writable for a
 * writable node, else the node stays disconnected for good; so does a
 * reply that breaks the protocol (bad magic, unknown handle, malformed
 * chunk: a broken server, not a lost connection).  Closing the node
 * shuts down the socket being read, connected or handshaken, so it ends
 * at once.  Over TCP, keepalive probes find a vanished host within about
 * a minute.
 *
 * TLS (tls-creds: a tls-creds-x509 or -psk object, endpoint=client):
 * NBD_OPT_STARTTLS first, then a blocking GnuTLS session on the socket
 * carries the rest of the handshake and every request, on every
 * (re)connection.  The server's certificate must name tls-hostname, or
 * the host connected to (inet); over a UNIX socket, verify-peer=on needs
 * tls-hostname (QEMU 7.2's rule).  The reader thread receives and the
 * requesters send on the one session, which GnuTLS allows (one thread
 * each way; send_lock keeps the senders to one).
 */
#include "qemu/osdep.h"
#include "qemu/sockets-io.h"
#include "block/block-int.h"
#include "block/nbd.h"
#include "crypto/tls.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qstring.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#define NBD_CLIENT_MAX_IN_FLIGHT  16
#define NBD_HANDSHAKE_TIMEOUT_S   30

/* A connection: its socket and, with TLS, the session on it. */
typedef struct NbdChan {
    int fd;
    QCryptoTLSSession *tls;
} NbdChan;

typedef struct NbdSlot {
    bool busy, done;
    uint64_t handle;
    unsigned gen;                   /* the connection it was sent on */
    uint16_t type;
    uint16_t flags;
    uint64_t from;
    uint32_t len;
    uint8_t *buf;                   /* READ: where the data goes */
    int err;                        /* errno from the server, 0: fine */
    char *msg;                      /* the server's error text */
    uint32_t extent_len, extent_flags;  /* BLOCK_STATUS: the first extent */
    bool have_extent;
} NbdSlot;

/* What a handshake learnt about the export. */
typedef struct NbdInfo {
    uint64_t size;
    uint16_t eflags;                /* transmission flags */
    bool structured, base_allocation;
    uint32_t meta_id;
    uint32_t min_block, max_block;
} NbdInfo;

typedef enum NbdConnState {
    NBD_CONNECTED,
    NBD_RECONNECTING,               /* lost; the thread is connecting */
    NBD_DEAD,                       /* for good (closing, broken server) */
} NbdConnState;

typedef struct NbdState {
    NBDAddress addr;                /* where to connect again */
    QCryptoTLSCreds *tls_creds;     /* NULL: no TLS */
    char *tls_hostname;             /* what the certificate must name */
    char *filename;                 /* for errors of the connection thread */
    bool writable;
    int64_t reconnect_delay_us;
    /* The connection's socket: the connection thread changes it holding
     * both send_lock and lock, so either lock keeps it valid. */
    NbdChan chan;
    GMutex lock;                    /* slots, state, gen, live_fd */
    GCond cond;                     /* a slot completed or became free, or
                                     * the state changed */
    GMutex send_lock;               /* one request on the wire at a time */
    NbdSlot slots[NBD_CLIENT_MAX_IN_FLIGHT];
    uint64_t next_handle;
    NbdConnState state;
    unsigned gen;                   /* bumped at each (re)connection */
    int64_t broke_at;               /* monotonic us of the last break */
    char *dead_why;                 /* why the last connection ended */
    char *retry_why;                /* why the last attempt failed */
    bool closing;
    int live_fd;                    /* the socket close shuts down: the
                                     * connection or one being made */
    GThread *thread;
    NbdInfo info;                   /* eflags and base_allocation under
                                     * lock: a reconnection changes them */
    uint32_t max_block;             /* from the first handshake */
    bool initialized;               /* close has something to undo */
    bool read_failed;               /* connection thread: the last read
                                     * hit EOF or a socket error */
} NbdState;

static void nbd_state_init(NbdState *s)
{
    g_mutex_init(&s->lock);
    g_mutex_init(&s->send_lock);
    g_cond_init(&s->cond);
    s->chan = (NbdChan) { .fd = -1 };
    s->live_fd = -1;
    s->gen = 1;
    s->initialized = true;
}

/* ---- socket helpers ---------------------------------------------------- */

static bool chan_read_full(NbdChan *ch, void *buf, size_t len)
{
    return ch->tls ? qcrypto_tls_session_read_full(ch->tls, buf, len)
                   : sock_read_full(ch->fd, buf, len);
}

static bool chan_write_full(NbdChan *ch, const void *buf, size_t len)
{
    return ch->tls ? qcrypto_tls_session_write_full(ch->tls, buf, len)
                   : sock_write_full(ch->fd, buf, len);
}

static bool discard_bytes(NbdChan *ch, uint64_t len)
{
    uint8_t buf[4096];

    while (len) {
        size_t n = MIN(len, sizeof(buf));
        if (!chan_read_full(ch, buf, n)) {
            return false;
        }
        len -= n;
    }
    return true;
}

/* ---- handshake ------------------------------------------------------- */

static bool hs_fail(const char *filename, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool hs_fail(const char *filename, GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    bdrv_error_setg_errno(errp, EIO, "'%s': %s", filename, msg);
    return false;
}

static bool send_option(NbdChan *ch, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[NBD_OPTION_HEADER_SIZE];

    stq_be(h, NBD_OPTS_MAGIC);
    stl_be(h + 8, opt);
    stl_be(h + 12, len);
    return chan_write_full(ch, h, sizeof(h)) && chan_write_full(ch, data, len);
}

/* One option reply; its payload (at most 64 KiB) in *@data. */
static bool recv_option_reply(NbdChan *ch, uint32_t opt, uint32_t *type,
                              uint8_t **data, uint32_t *len,
                              const char *filename, GError **errp)
{
    uint8_t h[NBD_OPTION_REPLY_SIZE];

    if (!chan_read_full(ch, h, sizeof(h))) {
        return hs_fail(filename, errp, "the NBD server closed the "
                       "connection during the handshake");
    }
    *type = ldl_be(h + 12);
    *len = ldl_be(h + 16);
    if (ldq_be(h) != NBD_REP_MAGIC || ldl_be(h + 8) != opt ||
        *len > 64 * 1024) {
        return hs_fail(filename, errp, "bad option reply from the NBD "
                       "server");
    }
    *data = g_malloc(*len + 1);
    (*data)[*len] = 0;
    if (!chan_read_full(ch, *data, *len)) {
        g_free(*data);
        *data = NULL;
        return hs_fail(filename, errp, "the NBD server closed the "
                       "connection during the handshake");
    }
    return true;
}

/* The server's error message in an error reply (NUL-terminated). */
static const char *reply_text(const uint8_t *data, uint32_t len)
{
    return len ? (const char *)data : "no reason given";
}

/* NBD_OPT_STRUCTURED_REPLY: true when the server agreed. */
static bool negotiate_structured(NbdChan *ch, bool *ok, const char *filename,
                                 GError **errp)
{
    g_autofree uint8_t *data = NULL;
    uint32_t type, len;

    if (!send_option(ch, NBD_OPT_STRUCTURED_REPLY, NULL, 0)) {
        return hs_fail(filename, errp, "send failed");
    }
    if (!recv_option_reply(ch, NBD_OPT_STRUCTURED_REPLY, &type, &data, &len,
                           filename, errp)) {
        return false;
    }
    *ok = type == NBD_REP_ACK;
    return true;
}

static bool negotiate_meta(NbdInfo *info, NbdChan *ch, const char *export,
                           const char *filename, GError **errp)
{
    uint32_t el = strlen(export), ql = strlen(NBD_META_BASE_ALLOCATION);
    g_autofree uint8_t *req = g_malloc(4 + el + 4 + 4 + ql);

    stl_be(req, el);
    memcpy(req + 4, export, el);
    stl_be(req + 4 + el, 1);
    stl_be(req + 8 + el, ql);
    memcpy(req + 12 + el, NBD_META_BASE_ALLOCATION, ql);
    if (!send_option(ch, NBD_OPT_SET_META_CONTEXT, req, 12 + el + ql)) {
        return hs_fail(filename, errp, "send failed");
    }
    for (;;) {
        g_autofree uint8_t *data = NULL;
        uint32_t type, len;

        if (!recv_option_reply(ch, NBD_OPT_SET_META_CONTEXT, &type, &data,
                               &len, filename, errp)) {
            return false;
        }
        if (type == NBD_REP_META_CONTEXT && len == 4 + ql &&
            !memcmp(data + 4, NBD_META_BASE_ALLOCATION, ql)) {
            info->base_allocation = true;
            info->meta_id = ldl_be(data);
        } else if (type != NBD_REP_META_CONTEXT) {
            return true;    /* ACK, or an error: no context */
        }
    }
}

/* NBD_OPT_GO; *@unsupported when the server does not know it. */
static bool negotiate_go(NbdInfo *info, NbdChan *ch, const char *export,
                         bool *unsupported, const char *filename,
                         GError **errp)
{
    uint32_t el = strlen(export);
    g_autofree uint8_t *req = g_malloc(4 + el + 4);
    bool have_size = false;

    *unsupported = false;
    stl_be(req, el);
    memcpy(req + 4, export, el);
    stw_be(req + 4 + el, 1);
    stw_be(req + 6 + el, NBD_INFO_BLOCK_SIZE);
    if (!send_option(ch, NBD_OPT_GO, req, 8 + el)) {
        return hs_fail(filename, errp, "send failed");
    }
    for (;;) {
        g_autofree uint8_t *data = NULL;
        uint32_t type, len;

        if (!recv_option_reply(ch, NBD_OPT_GO, &type, &data, &len,
                               filename, errp)) {
            return false;
        }
        if (type == NBD_REP_ACK) {
            return have_size ||
                   hs_fail(filename, errp, "the NBD server did not "
                           "give the export's size");
        }
        if (type == NBD_REP_ERR_UNSUP) {
            *unsupported = true;
            return true;
        }
        if (type & NBD_REP_FLAG_ERROR) {
            return hs_fail(filename, errp, "Requested export not "
                           "available: server reported: %s",
                           reply_text(data, len));
        }
        if (type != NBD_REP_INFO || len < 2) {
            continue;
        }
        if (ldw_be(data) == NBD_INFO_EXPORT && len == 12) {
            info->size = ldq_be(data + 2);
            info->eflags = ldw_be(data + 10);
            have_size = true;
        } else if (ldw_be(data) == NBD_INFO_BLOCK_SIZE && len == 14) {
            uint32_t min = ldl_be(data + 2), max = ldl_be(data + 10);
            if (min && min <= 64 * 1024 && !(min & (min - 1))) {
                info->min_block = min;
            }
            if (max >= info->min_block) {
                info->max_block = MIN(max, info->max_block);
            }
        }
    }
}

static bool negotiate_export_name(NbdInfo *info, NbdChan *ch, const char *export,
                                  bool no_zeroes, const char *filename,
                                  GError **errp)
{
    uint8_t r[10 + 124];

    if (!send_option(ch, NBD_OPT_EXPORT_NAME, export, strlen(export))) {
        return hs_fail(filename, errp, "send failed");
    }
    if (!chan_read_full(ch, r, no_zeroes ? 10 : sizeof(r))) {
        return hs_fail(filename, errp, "Requested export not available "
                       "(the NBD server closed the connection)");
    }
    info->size = ldq_be(r);
    info->eflags = ldw_be(r + 8);
    return true;
}

/* NBD_OPT_STARTTLS, then the TLS handshake on @ch's socket. */
static bool negotiate_tls(NbdState *s, NbdChan *ch, GError **errp)
{
    g_autofree uint8_t *data = NULL;
    uint32_t type, len;
    GError *err = NULL;
    int64_t deadline;
    int ret;

    if (!send_option(ch, NBD_OPT_STARTTLS, NULL, 0)) {
        return hs_fail(s->filename, errp, "send failed");
    }
    if (!recv_option_reply(ch, NBD_OPT_STARTTLS, &type, &data, &len,
                           s->filename, errp)) {
        return false;
    }
    if (type != NBD_REP_ACK) {
        return hs_fail(s->filename, errp, "Denied by server for option 5 "
                       "(starttls): server reported: %s",
                       reply_text(data, len));
    }
    ch->tls = qcrypto_tls_session_new(s->tls_creds, s->tls_hostname, ch->fd,
                                      false, errp);
    if (!ch->tls) {
        return false;
    }
    /* blocking: 0 is the socket's receive timeout, or GnuTLS asking to
     * be called again (a warning alert); within the handshake's time */
    deadline = g_get_monotonic_time() +
               NBD_HANDSHAKE_TIMEOUT_S * G_USEC_PER_SEC;
    while ((ret = qcrypto_tls_session_handshake(ch->tls, &err)) == 0) {
        if (g_get_monotonic_time() >= deadline) {
            return hs_fail(s->filename, errp, "TLS handshake timed out");
        }
    }
    if (ret < 0) {
        error_setg(errp, "'%s': %s", s->filename, err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

static bool nbd_handshake(NbdState *s, NbdChan *ch, NbdInfo *info,
                          GError **errp)
{
    const char *export = s->addr.export, *filename = s->filename;
    uint8_t hello[18], cflags[4];
    uint16_t hflags;
    bool unsupported = true;

    if (!chan_read_full(ch, hello, sizeof(hello))) {
        return hs_fail(filename, errp, "no NBD greeting from the "
                       "server");
    }
    if (ldq_be(hello) != NBD_INIT_MAGIC) {
        return hs_fail(filename, errp, "not an NBD server (bad magic)");
    }
    if (ldq_be(hello + 8) == NBD_CLISERV_MAGIC) {
        return hs_fail(filename, errp, "old-style NBD servers are not "
                       "supported");
    }
    if (ldq_be(hello + 8) != NBD_OPTS_MAGIC) {
        return hs_fail(filename, errp, "not an NBD server (bad magic)");
    }
    hflags = ldw_be(hello + 16);
    stl_be(cflags, hflags & (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
    if (!chan_write_full(ch, cflags, 4)) {
        return hs_fail(filename, errp, "send failed");
    }
    if (s->tls_creds && !(hflags & NBD_FLAG_FIXED_NEWSTYLE)) {
        return hs_fail(filename, errp, "Server does not support STARTTLS");
    }
    if (s->tls_creds && !negotiate_tls(s, ch, errp)) {
        return false;
    }
    *info = (NbdInfo) { .min_block = 1, .max_block = NBD_MAX_BUFFER_SIZE };
    if (hflags & NBD_FLAG_FIXED_NEWSTYLE) {
        if (!negotiate_structured(ch, &info->structured, filename, errp) ||
            (info->structured &&
             !negotiate_meta(info, ch, export, filename, errp)) ||
            !negotiate_go(info, ch, export, &unsupported, filename, errp)) {
            return false;
        }
    }
    if (unsupported) {
        info->structured = info->base_allocation = false;
        return negotiate_export_name(info, ch, export,
                                     hflags & NBD_FLAG_NO_ZEROES, filename,
                                     errp);
    }
    return true;
}

/* ---- transmission ---------------------------------------------------- */

static NbdSlot *slot_by_handle(NbdState *s, uint64_t handle)
{
    NbdSlot *slot = NULL;

    g_mutex_lock(&s->lock);
    for (unsigned i = 0; i < NBD_CLIENT_MAX_IN_FLIGHT; i++) {
        if (s->slots[i].busy && !s->slots[i].done &&
            s->slots[i].gen == s->gen && s->slots[i].handle == handle) {
            slot = &s->slots[i];
        }
    }
    g_mutex_unlock(&s->lock);
    return slot;
}

static void slot_complete(NbdState *s, NbdSlot *slot)
{
    g_mutex_lock(&s->lock);
    slot->done = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

/* Reads of the reader thread: a failure is the connection's end, which
 * the error message tells apart from a malformed reply. */
static bool chunk_read(NbdState *s, void *buf, size_t len)
{
    s->read_failed = !chan_read_full(&s->chan, buf, len);
    return !s->read_failed;
}

static bool chunk_discard(NbdState *s, uint64_t len)
{
    s->read_failed = !discard_bytes(&s->chan, len);
    return !s->read_failed;
}

/* One structured chunk's payload; false: the protocol broke. */
static bool read_chunk(NbdState *s, NbdSlot *slot, const NBDReply *r)
{
    uint8_t h[12];

    switch (r->type) {
    case NBD_REPLY_TYPE_NONE:
        return r->length == 0;
    case NBD_REPLY_TYPE_OFFSET_DATA: {
        uint64_t off;
        uint32_t n;

        if (slot->type != NBD_CMD_READ || r->length < 8 ||
            r->length - 8 > slot->len || !chunk_read(s, h, 8)) {
            return false;
        }
        off = ldq_be(h);
        n = r->length - 8;
        if (off < slot->from || !range_within(off - slot->from, n,
                                              slot->len)) {
            return false;
        }
        return chunk_read(s, slot->buf + (off - slot->from), n);
    }
    case NBD_REPLY_TYPE_OFFSET_HOLE: {
        uint64_t off;
        uint32_t n;

        if (slot->type != NBD_CMD_READ || r->length != 12 ||
            !chunk_read(s, h, 12)) {
            return false;
        }
        off = ldq_be(h);
        n = ldl_be(h + 8);
        if (off < slot->from || !range_within(off - slot->from, n,
                                              slot->len)) {
            return false;
        }
        memset(slot->buf + (off - slot->from), 0, n);
        return true;
    }
    case NBD_REPLY_TYPE_BLOCK_STATUS:
        if (slot->type != NBD_CMD_BLOCK_STATUS || r->length < 12 ||
            (r->length - 4) % 8 || !chunk_read(s, h, 12)) {
            return false;
        }
        if (ldl_be(h) == s->info.meta_id && !slot->have_extent) {
            slot->extent_len = ldl_be(h + 4);
            slot->extent_flags = ldl_be(h + 8);
            slot->have_extent = slot->extent_len != 0;
        }
        return chunk_discard(s, r->length - 12);
    case NBD_REPLY_TYPE_ERROR:
    case NBD_REPLY_TYPE_ERROR_OFFSET: {
        uint32_t msglen;
        uint8_t eh[6];

        if (r->length < 6 || !chunk_read(s, eh, 6)) {
            return false;
        }
        msglen = ldw_be(eh + 4);
        if (msglen > r->length - 6) {
            return false;
        }
        slot->err = nbd_wire_to_errno(ldl_be(eh));
        slot->err = slot->err ? slot->err : EIO;
        g_free(slot->msg);
        slot->msg = g_malloc0(msglen + 1);
        return chunk_read(s, slot->msg, msglen) &&
               chunk_discard(s, r->length - 6 - msglen);
    }
    default:
        /* Unknown types: an error one fails the request; skip either. */
        if (r->type & NBD_REPLY_TYPE_ERROR_BIT) {
            slot->err = EIO;
        }
        return r->length <= NBD_MAX_BUFFER_SIZE &&
               chunk_discard(s, r->length);
    }
}

/* Read replies until the connection ends; its reason in *@why, and
 * *@broken when the server broke the protocol (reconnecting to it would
 * not help) rather than the connection being lost. */
static void read_replies(NbdState *s, const char **why, bool *broken)
{
    *why = "the NBD server closed the connection";
    *broken = true;
    for (;;) {
        uint8_t h[NBD_STRUCTURED_REPLY_SIZE];
        NBDReply r;
        NbdSlot *slot;

        if (!chunk_read(s, h, 4)) {
            break;
        }
        if (ldl_be(h) == NBD_STRUCTURED_REPLY_MAGIC && s->info.structured) {
            if (!chunk_read(s, h + 4, NBD_STRUCTURED_REPLY_SIZE - 4)) {
                break;
            }
        } else if (ldl_be(h) == NBD_SIMPLE_REPLY_MAGIC) {
            if (!chunk_read(s, h + 4, NBD_SIMPLE_REPLY_SIZE - 4)) {
                break;
            }
        } else {
            *why = "bad reply magic from the NBD server";
            return;
        }
        nbd_reply_decode(h, &r);
        slot = slot_by_handle(s, r.handle);
        if (!slot) {
            *why = "reply to no request from the NBD server";
            return;
        }
        if (!r.structured) {
            slot->err = nbd_wire_to_errno(r.error);
            if (!slot->err && slot->type == NBD_CMD_READ &&
                !chunk_read(s, slot->buf, slot->len)) {
                break;
            }
            if (slot->type == NBD_CMD_BLOCK_STATUS && !slot->err) {
                *why = "simple reply to a block status request";
                return;
            }
            slot_complete(s, slot);
            continue;
        }
        if (!read_chunk(s, slot, &r)) {
            if (!s->read_failed) {
                *why = "malformed structured reply from the NBD server";
                return;
            }
            break;
        }
        if (r.flags & NBD_REPLY_FLAG_DONE) {
            slot_complete(s, slot);
        }
    }
    /* EOF or a socket error: the connection was lost */
    *broken = false;
}

/* Waits while the connection is being made again, up to reconnect-delay
 * after the break (lock held); true when connected. */
static bool wait_for_connection(NbdState *s)
{
    while (s->state == NBD_RECONNECTING) {
        int64_t deadline = s->broke_at + s->reconnect_delay_us;

        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        g_cond_wait_until(&s->cond, &s->lock, deadline);
    }
    return s->state == NBD_CONNECTED;
}

static NbdSlot *take_free_slot(NbdState *s)
{
    for (unsigned i = 0; i < NBD_CLIENT_MAX_IN_FLIGHT; i++) {
        if (!s->slots[i].busy) {
            s->slots[i] = (NbdSlot) { .busy = true,
                                      .handle = ++s->next_handle };
            return &s->slots[i];
        }
    }
    return NULL;
}

static void slot_free(NbdState *s, NbdSlot *slot)
{
    g_free(slot->msg);
    slot->msg = NULL;
    slot->busy = false;
    g_cond_broadcast(&s->cond);
}

/* Send @slot's request on the current connection (lock held, dropped
 * while sending).  A resend starts the reply over: what a lost
 * connection delivered of it is forgotten. */
static void send_on_current_connection(NbdState *s, NbdSlot *slot)
{
    uint8_t h[NBD_REQUEST_SIZE];
    NBDRequest r = { .flags = slot->flags, .type = slot->type,
                     .from = slot->from, .len = slot->len,
                     .handle = slot->handle };
    unsigned gen = s->gen;

    slot->gen = gen;
    slot->err = 0;
    g_free(slot->msg);
    slot->msg = NULL;
    slot->have_extent = false;
    g_mutex_unlock(&s->lock);

    nbd_request_encode(h, &r);
    g_mutex_lock(&s->send_lock);
    /* gen and fd change only under send_lock too: this is the connection
     * the request was meant for, or none (then it waits for the next) */
    if (s->gen == gen && s->chan.fd >= 0 &&
        !(chan_write_full(&s->chan, h, sizeof(h)) &&
          (r.type != NBD_CMD_WRITE ||
           chan_write_full(&s->chan, slot->buf, r.len)))) {
        /* Only the connection thread completes requests (it may be
         * filling one's buffer now): end the connection, it sees that. */
        shutdown(s->chan.fd, SHUT_RDWR);
    }
    g_mutex_unlock(&s->send_lock);
    g_mutex_lock(&s->lock);
}

/* Why a request fails without an answer from the server (lock held). */
static const char *unanswered_why(NbdState *s, GString *buf)
{
    g_string_assign(buf, s->dead_why ? s->dead_why
                         : "the NBD node is being closed");
    if (s->state == NBD_RECONNECTING) {
        if (s->reconnect_delay_us) {
            g_string_append_printf(buf, "; not reconnected within %" PRId64
                                   " s", s->reconnect_delay_us / 1000000);
        }
        if (s->retry_why) {
            g_string_append_printf(buf, " (%s)", s->retry_why);
        }
    }
    return buf->str;
}

/* Send one request and wait for its reply, sending it again after a
 * reconnection; errno or 0 (*@slot_out: the finished slot, for block
 * status; release it with slot_release). */
static int nbd_request(BlockDriverState *bs, uint16_t type, uint16_t flags,
                       uint64_t from, uint32_t len, void *buf,
                       NbdSlot **slot_out, GError **errp)
{
    NbdState *s = bs->opaque;
    NbdSlot *slot = NULL;
    int err;

    g_mutex_lock(&s->lock);
    while (!slot || !slot->done) {
        if (!wait_for_connection(s)) {
            g_autoptr(GString) why = g_string_new(NULL);

            bdrv_error_setg_errno(errp, EIO, "'%s': NBD %s failed: %s",
                                  bs->filename, nbd_cmd_name(type),
                                  unanswered_why(s, why));
            if (slot) {
                /* no connection thread reads into it while disconnected */
                slot_free(s, slot);
            }
            g_mutex_unlock(&s->lock);
            return EIO;
        }
        if (!slot) {
            slot = take_free_slot(s);
            if (!slot) {
                g_cond_wait(&s->cond, &s->lock);
                continue;
            }
            slot->type = type;
            slot->flags = flags;
            slot->from = from;
            slot->len = len;
            slot->buf = buf;
            slot->gen = 0;
        }
        if (slot->gen != s->gen) {
            send_on_current_connection(s, slot);
            continue;
        }
        g_cond_wait(&s->cond, &s->lock);
    }
    err = slot->err;
    if (err) {
        bdrv_error_setg_errno(errp, err, "'%s': NBD %s failed: %s",
                              bs->filename, nbd_cmd_name(type),
                              slot->msg ? slot->msg : g_strerror(err));
    }
    if (slot_out && !err) {
        *slot_out = slot;
    } else {
        slot_free(s, slot);
    }
    g_mutex_unlock(&s->lock);
    return err;
}

static void slot_release(NbdState *s, NbdSlot *slot)
{
    g_mutex_lock(&s->lock);
    slot_free(s, slot);
    g_mutex_unlock(&s->lock);
}

/* The export's flags as the current connection's handshake gave them. */
static uint16_t export_flags(NbdState *s)
{
    uint16_t eflags;

    g_mutex_lock(&s->lock);
    eflags = s->info.eflags;
    g_mutex_unlock(&s->lock);
    return eflags;
}

static bool has_base_allocation(NbdState *s)
{
    bool yes;

    g_mutex_lock(&s->lock);
    yes = s->info.base_allocation;
    g_mutex_unlock(&s->lock);
    return yes;
}

/* Split @len into requests of at most the server's maximum. */
static bool nbd_rw(BlockDriverState *bs, uint16_t type, uint16_t flags,
                   uint64_t off, uint64_t len, uint8_t *buf, GError **errp)
{
    NbdState *s = bs->opaque;

    while (len) {
        uint32_t n = MIN(len, s->max_block);

        if (nbd_request(bs, type, flags, off, n, buf, NULL, errp)) {
            return false;
        }
        off += n;
        len -= n;
        if (buf) {
            buf += n;
        }
    }
    return true;
}

static bool nbd_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                      void *buf, GError **errp)
{
    /* Past the end of the export reads as zeroes, as past a file's end. */
    if (off + len > bs->size) {
        uint64_t have = off < bs->size ? bs->size - off : 0;

        memset((uint8_t *)buf + have, 0, len - have);
        len = have;
    }
    return nbd_rw(bs, NBD_CMD_READ, 0, off, len, buf, errp);
}

static bool past_end(BlockDriverState *bs, uint64_t off, uint64_t len,
                     GError **errp)
{
    if (range_within(off, len, bs->size)) {
        return false;
    }
    bdrv_error_setg_errno(errp, ENOSPC, "'%s': write at %" PRIu64 "+%"
                          PRIu64 " is past the end of the NBD export (%"
                          PRIu64 " bytes)", bs->filename, off, len,
                          bs->size);
    return true;
}

static bool nbd_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                       const void *buf, GError **errp)
{
    return !past_end(bs, off, len, errp) &&
           nbd_rw(bs, NBD_CMD_WRITE, 0, off, len, (uint8_t *)buf, errp);
}

static bool nbd_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                              uint64_t len, int flags, GError **errp)
{
    NbdState *s = bs->opaque;

    if (past_end(bs, off, len, errp)) {
        return false;
    }
    if (!(export_flags(s) & NBD_FLAG_SEND_WRITE_ZEROES)) {
        g_autofree uint8_t *zero = g_malloc0(MIN(len, 1 * MiB));

        while (len) {
            uint64_t n = MIN(len, 1 * MiB);
            if (!nbd_pwrite(bs, off, n, zero, errp)) {
                return false;
            }
            off += n;
            len -= n;
        }
        return true;
    }
    /* Lengths are 32-bit on the wire. */
    while (len) {
        uint32_t n = MIN(len, 1U << 30);

        if (nbd_request(bs, NBD_CMD_WRITE_ZEROES,
                        flags & BDRV_REQ_MAY_UNMAP ? 0 : NBD_CMD_FLAG_NO_HOLE,
                        off, n, NULL, NULL, errp)) {
            return false;
        }
        off += n;
        len -= n;
    }
    return true;
}

static bool nbd_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                         GError **errp)
{
    NbdState *s = bs->opaque;

    if (!(export_flags(s) & NBD_FLAG_SEND_TRIM) || off >= bs->size) {
        return true;        /* discard is a hint */
    }
    len = MIN(len, bs->size - off);
    while (len) {
        uint32_t n = MIN(len, 1U << 30);

        if (nbd_request(bs, NBD_CMD_TRIM, 0, off, n, NULL, NULL, errp)) {
            return false;
        }
        off += n;
        len -= n;
    }
    return true;
}

static bool nbd_flush(BlockDriverState *bs, GError **errp)
{
    NbdState *s = bs->opaque;

    if ((bs->flags & BDRV_O_NO_FLUSH) ||
        !(export_flags(s) & NBD_FLAG_SEND_FLUSH)) {
        return true;
    }
    return !nbd_request(bs, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL, errp);
}

/* base:allocation when the server gave it, else everything is data. */
static int nbd_block_status(BlockDriverState *bs, uint64_t off, uint64_t len,
                            uint64_t *pnum, uint64_t *map,
                            BlockDriverState **file, GError **errp)
{
    NbdState *s = bs->opaque;
    int ret = BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID;
    NbdSlot *slot = NULL;
    uint32_t n;

    *map = off;
    *file = bs;
    if (off >= bs->size) {
        *pnum = len;
        return ret | BDRV_BLOCK_ZERO;
    }
    len = MIN(len, bs->size - off);
    if (!has_base_allocation(s)) {
        *pnum = len;
        return ret | BDRV_BLOCK_DATA;
    }
    n = MIN(len, 1U << 30);
    if (nbd_request(bs, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, off, n,
                    NULL, &slot, errp)) {
        return -1;
    }
    if (!slot->have_extent) {
        slot_release(s, slot);
        error_setg(errp, "'%s': the NBD server sent no extent", bs->filename);
        return -1;
    }
    *pnum = MIN(slot->extent_len, n);
    ret |= (slot->extent_flags & NBD_STATE_HOLE ? 0 : BDRV_BLOCK_DATA) |
           (slot->extent_flags & NBD_STATE_ZERO ? BDRV_BLOCK_ZERO : 0);
    slot_release(s, slot);
    return ret;
}

/* ---- open and close -------------------------------------------------- */

/* A TCP server whose host vanished (no FIN, no RST) shows up as a dead
 * connection within about a minute instead of the kernel's hours:
 * keepalive probes after 30 s idle, every 10 s, 3 unanswered; unacked
 * data for 60 s.  Unix sockets end when the server process does. */
static void tune_tcp(int fd)
{
    int one = 1, idle = 30, intvl = 10, cnt = 3, buf = 4 * MiB;
    unsigned int user_timeout_ms = 60 * 1000;

    /* requests are small messages waiting for answers: no Nagle delay */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
               sizeof(user_timeout_ms));
}

static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- connecting ---------------------------------------------------- */

/* Makes @fd the socket that close shuts down, so that a connect() or a
 * handshake in progress ends at once; false when the node is closing. */
static bool publish_socket(NbdState *s, int fd)
{
    bool open;

    g_mutex_lock(&s->lock);
    open = !s->closing;
    if (open) {
        s->live_fd = fd;
    }
    g_mutex_unlock(&s->lock);
    return open;
}

static void close_socket(NbdState *s, int fd)
{
    g_mutex_lock(&s->lock);
    if (s->live_fd == fd) {
        s->live_fd = -1;
    }
    g_mutex_unlock(&s->lock);
    close(fd);
}

/* A connected socket to one address, published while it connects. */
static int connect_to(NbdState *s, int family, const struct sockaddr *sa,
                      socklen_t salen, int *err)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (!publish_socket(s, fd)) {
        close(fd);
        *err = ECANCELED;
        return -1;
    }
    if (connect(fd, sa, salen) < 0) {
        *err = errno;
        close_socket(s, fd);
        return -1;
    }
    return fd;
}

static int connect_unix(NbdState *s, GError **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd, err = 0;

    if (strlen(s->addr.path) >= sizeof(sun.sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", s->addr.path);
        return -1;
    }
    strcpy(sun.sun_path, s->addr.path);
    fd = connect_to(s, AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), &err);
    if (fd < 0) {
        error_setg(errp, "Failed to connect to '%s': %s", s->addr.path,
                   g_strerror(err));
    }
    return fd;
}

static int connect_tcp(NbdState *s, GError **errp)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int fd = -1, err = 0, ret;

    ret = getaddrinfo(s->addr.host, s->addr.port, &hints, &res);
    if (ret) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   s->addr.host, s->addr.port, gai_strerror(ret));
        return -1;
    }
    for (ai = res; ai && fd < 0 && err != ECANCELED; ai = ai->ai_next) {
        fd = connect_to(s, ai->ai_family, ai->ai_addr, ai->ai_addrlen, &err);
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg(errp, "Failed to connect to '%s:%s': %s", s->addr.host,
                   s->addr.port, g_strerror(err));
        return -1;
    }
    tune_tcp(fd);
    return fd;
}

static void chan_close(NbdState *s, NbdChan *ch)
{
    qcrypto_tls_session_free(ch->tls);
    ch->tls = NULL;
    close_socket(s, ch->fd);
    ch->fd = -1;
}

/* Connect and shake hands: *@ch ready for requests, or false. */
static bool open_connection(NbdState *s, NbdInfo *info, NbdChan *ch,
                            GError **errp)
{
    *ch = (NbdChan) { .fd = s->addr.path ? connect_unix(s, errp)
                                         : connect_tcp(s, errp) };
    if (ch->fd < 0) {
        return false;
    }
    set_timeouts(ch->fd, NBD_HANDSHAKE_TIMEOUT_S);
    if (!nbd_handshake(s, ch, info, errp)) {
        chan_close(s, ch);
        return false;
    }
    /* Requests may take as long as the server's disk does; a dead
     * server shows up as EOF or a socket error. */
    set_timeouts(ch->fd, 0);
    return true;
}

/* The first connection: retried, spaced, for up to @timeout_s seconds
 * (open-timeout; 0: one try).  The caller (an open) waits, as in QEMU. */
static bool first_connection(NbdState *s, NbdInfo *info, NbdChan *ch,
                             int64_t timeout_s, GError **errp)
{
    int64_t deadline = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
    int64_t retry_ms = 0;

    for (;;) {
        GError *err = NULL;
        bool ok = open_connection(s, info, ch, &err);
        int64_t left = deadline - g_get_monotonic_time();

        if (ok) {
            return true;
        }
        if (left <= 0) {
            g_propagate_error(errp, err);
            return false;
        }
        g_error_free(err);
        retry_ms = nbd_retry_delay_ms(retry_ms);
        g_usleep(MIN(retry_ms * 1000, left));
    }
}

/* ---- the connection thread ------------------------------------------ */

/* Can @info serve the node opened on the first handshake?  NULL: yes,
 * else why not.  An export of another size is another disk to the node's
 * users (a format driver's metadata, a guest's partition table). */
static char *reconnection_refused(NbdState *s, const NbdInfo *info)
{
    if (info->size != s->info.size) {
        return g_strdup_printf("the NBD export's size changed from %" PRIu64
                               " to %" PRIu64 " bytes across a reconnection",
                               s->info.size, info->size);
    }
    if (s->writable && (info->eflags & NBD_FLAG_READ_ONLY)) {
        return g_strdup("the NBD export became read-only across a "
                        "reconnection");
    }
    return NULL;
}

/* The connection ended for good (lock held): every waiting request and
 * every later one fails. */
static void set_dead(NbdState *s, const char *why)
{
    s->state = NBD_DEAD;
    if (why) {
        g_free(s->dead_why);
        s->dead_why = g_strdup(why);
    }
    g_cond_broadcast(&s->cond);
}

/* Tear the ended connection down; false when it is the end (closing, a
 * broken server, or a node that never reconnects). */
static bool connection_lost(NbdState *s, const char *why, bool broken)
{
    bool again;

    /* A requester blocked in a send to a server that no longer reads
     * holds send_lock: the shutdown fails its send. */
    shutdown(s->chan.fd, SHUT_RDWR);
    g_mutex_lock(&s->send_lock);
    g_mutex_lock(&s->lock);
    s->live_fd = -1;
    qcrypto_tls_session_free(s->chan.tls);
    close(s->chan.fd);
    s->chan = (NbdChan) { .fd = -1 };
    again = !broken && !s->closing;
    if (again) {
        s->state = NBD_RECONNECTING;
        s->broke_at = g_get_monotonic_time();
        g_free(s->dead_why);
        s->dead_why = g_strdup(why);
        g_clear_pointer(&s->retry_why, g_free);
        g_cond_broadcast(&s->cond);
    } else {
        set_dead(s, why);
    }
    g_mutex_unlock(&s->lock);
    g_mutex_unlock(&s->send_lock);
    return again;
}

/* Waits @ms unless the node closes first; false when it does. */
static bool sleep_unless_closing(NbdState *s, int64_t ms)
{
    int64_t until = g_get_monotonic_time() + ms * 1000;
    bool closing;

    g_mutex_lock(&s->lock);
    while (!s->closing && g_get_monotonic_time() < until) {
        g_cond_wait_until(&s->cond, &s->lock, until);
    }
    closing = s->closing;
    g_mutex_unlock(&s->lock);
    return !closing;
}

/* The new connection becomes the current one: requests waiting for it
 * send (again) on it. */
static void install_connection(NbdState *s, const NbdChan *ch,
                               const NbdInfo *info)
{
    g_mutex_lock(&s->send_lock);
    g_mutex_lock(&s->lock);
    s->chan = *ch;
    s->gen++;
    s->info.eflags = info->eflags;
    s->info.structured = info->structured;
    s->info.base_allocation = info->base_allocation;
    s->info.meta_id = info->meta_id;
    s->state = NBD_CONNECTED;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    g_mutex_unlock(&s->send_lock);
}

static void send_disconnect(NbdChan *ch)
{
    uint8_t h[NBD_REQUEST_SIZE];
    NBDRequest r = { .type = NBD_CMD_DISC };

    nbd_request_encode(h, &r);
    chan_write_full(ch, h, sizeof(h));
}

/* Connect again, spaced by *@retry_ms (growing); false when the node is
 * closing or the export changed (then it is dead). */
static bool reconnect(NbdState *s, int64_t *retry_ms)
{
    for (;;) {
        GError *err = NULL;
        NbdInfo info;
        g_autofree char *refused = NULL;
        NbdChan ch;

        if (!sleep_unless_closing(s, *retry_ms)) {
            break;
        }
        *retry_ms = nbd_retry_delay_ms(*retry_ms);
        if (!open_connection(s, &info, &ch, &err)) {
            g_mutex_lock(&s->lock);
            g_free(s->retry_why);
            s->retry_why = g_strdup(err->message);
            g_mutex_unlock(&s->lock);
            g_error_free(err);
            continue;
        }
        refused = reconnection_refused(s, &info);
        if (refused) {
            send_disconnect(&ch);
            chan_close(s, &ch);
            g_mutex_lock(&s->lock);
            set_dead(s, refused);
            g_mutex_unlock(&s->lock);
            return false;
        }
        install_connection(s, &ch, &info);
        return true;
    }
    g_mutex_lock(&s->lock);
    set_dead(s, NULL);
    g_mutex_unlock(&s->lock);
    return false;
}

/* Reads replies; when the connection is lost, makes it again. */
static gpointer connection_thread(gpointer opaque)
{
    NbdState *s = opaque;
    int64_t retry_ms = 0;

    for (;;) {
        int64_t since = g_get_monotonic_time();
        const char *why;
        bool broken;

        read_replies(s, &why, &broken);
        /* A connection that lasted starts the retries over (at once); one
         * that broke at once keeps them spaced, so a server that accepts
         * and drops in a loop costs no spinning. */
        if (g_get_monotonic_time() - since >= NBD_RETRY_MAX_MS * 1000) {
            retry_ms = 0;
        }
        if (!connection_lost(s, why, broken) || !reconnect(s, &retry_ms)) {
            return NULL;
        }
    }
}

/* ---- open and close -------------------------------------------------- */

/* tls-creds and tls-hostname (QEMU 7.2's checks and errors). */
static bool setup_tls(NbdState *s, const char *creds_id,
                      const char *hostname, GError **errp)
{
    if (!creds_id) {
        /* "" is libvirt's "no TLS" (its migration parameter's value for
         * --copy-storage-all without --tls); QEMU 7.2 takes it */
        if (hostname && *hostname) {
            error_setg(errp, "tls-hostname is set but tls-creds is not");
            return false;
        }
        return true;
    }
    s->tls_creds = qcrypto_tls_creds_find(creds_id,
                                          QCRYPTO_TLS_ENDPOINT_CLIENT, errp);
    if (!s->tls_creds) {
        return false;
    }
    s->tls_hostname = g_strdup(hostname ? hostname : s->addr.host);
    return true;
}

static bool nbd_connect(BlockDriverState *bs, NBDAddress *addr, int flags,
                        int64_t reconnect_delay, int64_t open_timeout,
                        const char *tls_creds, const char *tls_hostname,
                        GError **errp)
{
    NbdState *s = bs->opaque;
    bool v6;

    nbd_state_init(s);
    s->addr = *addr;
    *addr = (NBDAddress) { 0 };     /* the node keeps it, to reconnect */
    if (!setup_tls(s, tls_creds, tls_hostname, errp)) {
        return false;
    }
    v6 = s->addr.host && strchr(s->addr.host, ':') != NULL;
    g_free(bs->filename);
    bs->filename = s->addr.path
        ? g_strdup_printf("nbd+unix:///%s?socket=%s", s->addr.export,
                          s->addr.path)
        : g_strdup_printf("nbd://%s%s%s:%s/%s", v6 ? "[" : "", s->addr.host,
                          v6 ? "]" : "", s->addr.port, s->addr.export);
    s->filename = g_strdup(bs->filename);
    s->reconnect_delay_us = reconnect_delay * G_USEC_PER_SEC;
    s->writable = flags & BDRV_O_RDWR;
    if (!first_connection(s, &s->info, &s->chan, open_timeout, errp)) {
        return false;
    }
    if (s->writable && (s->info.eflags & NBD_FLAG_READ_ONLY)) {
        /* EROFS lets auto-read-only open it read-only instead. */
        bdrv_error_setg_errno(errp, EROFS, "NBD export is read-only");
        return false;
    }
    bs->size = s->info.size;
    bs->request_alignment = s->info.min_block;
    s->max_block = s->info.max_block;
    bs->flags = flags & ~(BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP |
                          BDRV_O_SNAPSHOT);
    s->thread = g_thread_new("nbd-conn", connection_thread, s);
    return true;
}

static bool nbd_open(BlockDriverState *bs, const char *filename, int flags,
                     GError **errp)
{
    NBDAddress addr;
    bool ok;

    if (!nbd_parse_filename(filename, &addr, errp)) {
        return false;
    }
    ok = nbd_connect(bs, &addr, flags, 0, 0, NULL, NULL, errp);
    nbd_address_clear(&addr);
    return ok;
}

static void nbd_close(BlockDriverState *bs)
{
    NbdState *s = bs->opaque;

    if (!s->initialized) {
        return;
    }
    if (s->thread) {
        /* closing first: the server hanging up after NBD_CMD_DISC is the
         * end, not a connection to make again */
        g_mutex_lock(&s->lock);
        s->closing = true;
        g_mutex_unlock(&s->lock);
        g_mutex_lock(&s->send_lock);
        if (s->chan.fd >= 0) {
            send_disconnect(&s->chan);
        }
        g_mutex_unlock(&s->send_lock);
        g_mutex_lock(&s->lock);
        if (s->live_fd >= 0) {
            shutdown(s->live_fd, SHUT_RDWR);
        }
        g_cond_broadcast(&s->cond);
        g_mutex_unlock(&s->lock);
        g_thread_join(s->thread);
    }
    qcrypto_tls_session_free(s->chan.tls);
    if (s->chan.fd >= 0) {
        close(s->chan.fd);
    }
    qcrypto_tls_creds_unref(s->tls_creds);
    g_free(s->tls_hostname);
    nbd_address_clear(&s->addr);
    g_free(s->filename);
    g_free(s->dead_why);
    g_free(s->retry_why);
    g_mutex_clear(&s->lock);
    g_mutex_clear(&s->send_lock);
    g_cond_clear(&s->cond);
}

/* The "server" dictionary: QEMU's SocketAddress (inet, unix). */
static bool server_string(QDict *server, const char *key, bool required,
                          char **out, GError **errp)
{
    QObject *v = qdict_get(server, key);
    QString *str = v ? qobject_to(QString, v) : NULL;

    if (!v) {
        if (required) {
            error_setg(errp, "Parameter 'server.%s' is missing", key);
        }
        return !required;
    }
    if (!str) {
        error_setg(errp, "Invalid parameter type for 'server.%s', expected: "
                   "string", key);
        return false;
    }
    *out = g_strdup(qstring_get_str(str));
    return true;
}

static bool parse_server(QDict *server, NBDAddress *addr, GError **errp)
{
    static const char *const inet_keys[] = {
        "type", "host", "port", "numeric", "to", "ipv4", "ipv6",
        "keep-alive", NULL,
    };
    static const char *const unix_keys[] = {
        "type", "path", "abstract", "tight", NULL,
    };
    g_autofree char *type = NULL;
    const char *const *keys;

    if (!server_string(server, "type", true, &type, errp)) {
        return false;
    }
    if (!strcmp(type, "inet")) {
        keys = inet_keys;
    } else if (!strcmp(type, "unix")) {
        keys = unix_keys;
    } else if (!strcmp(type, "vsock") || !strcmp(type, "fd")) {
        error_setg(errp, "NBD server address type '%s' is not supported "
                   "(inet and unix are)", type);
        return false;
    } else {
        error_setg(errp, "Parameter 'server.type' does not accept value "
                   "'%s'", type);
        return false;
    }
    for (const QDictEntry *e = qdict_first(server); e;
         e = qdict_next(server, e)) {
        if (!g_strv_contains(keys, qdict_entry_key(e))) {
            error_setg(errp, "Parameter 'server.%s' is unexpected",
                       qdict_entry_key(e));
            return false;
        }
    }
    if (keys == unix_keys) {
        QObject *v = qdict_get(server, "abstract");
        QBool *b = qobject_to(QBool, v);
        QString *str = qobject_to(QString, v);

        /* JSON gives a bool, dotted -blockdev keys a string */
        if ((b && qbool_get_bool(b)) ||
            (str && (!strcmp(qstring_get_str(str), "on") ||
                     !strcmp(qstring_get_str(str), "true")))) {
            error_setg(errp, "abstract UNIX sockets are not supported");
            return false;
        }
        return server_string(server, "path", true, &addr->path, errp);
    }
    return server_string(server, "host", true, &addr->host, errp) &&
           server_string(server, "port", true, &addr->port, errp);
}

static const BlockOptionDesc nbd_options[] = {
    { "server", BOPT_ANY },
    { "filename", BOPT_STRING },
    { "export", BOPT_STRING },
    { "tls-creds", BOPT_STRING },
    { "tls-hostname", BOPT_STRING },
    { "reconnect-delay", BOPT_INT },
    { "open-timeout", BOPT_INT },
    { NULL },
};

/* reconnect-delay and open-timeout: seconds, a uint32 in QEMU's schema. */
static bool get_seconds(QDict *opts, const char *key, int64_t *out,
                        GError **errp)
{
    if (!bdrv_opt_get_int(opts, key, 0, out, "", errp)) {
        return false;
    }
    if (*out < 0 || *out > UINT32_MAX) {
        error_setg(errp, "Parameter '%s' expects uint32_t", key);
        return false;
    }
    return true;
}

/* The address: a "server" dictionary and "export", or a "filename" URI
 * (QEMU's nbd driver takes either, not both). */
static bool get_address(QDict *opts, NBDAddress *addr, GError **errp)
{
    QObject *server_obj = qdict_get(opts, "server");
    QDict *server = qobject_to(QDict, server_obj);
    const char *filename = qdict_get_try_str(opts, "filename");
    const char *export = qdict_get_try_str(opts, "export");

    if (filename) {
        if (server_obj || export) {
            error_setg(errp, "nbd: 'filename' cannot be given with '%s'",
                       server_obj ? "server" : "export");
            return false;
        }
        return nbd_parse_filename(filename, addr, errp);
    }
    if (!server) {
        error_setg(errp, server_obj ? "Invalid parameter type for 'server', "
                   "expected: object" : "Parameter 'server' is missing");
        return false;
    }
    if (export && strlen(export) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "nbd: the export name is longer than %d bytes",
                   NBD_MAX_STRING_SIZE);
        return false;
    }
    if (!parse_server(server, addr, errp)) {
        return false;
    }
    addr->export = g_strdup(export ? export : "");
    return true;
}

static bool nbd_open_options(BlockDriverState *bs, QDict *opts, int flags,
                             GError **errp)
{
    NBDAddress addr = { 0 };
    int64_t delay, timeout;
    bool ok;

    if (!get_seconds(opts, "reconnect-delay", &delay, errp) ||
        !get_seconds(opts, "open-timeout", &timeout, errp)) {
        return false;
    }
    ok = get_address(opts, &addr, errp) &&
         nbd_connect(bs, &addr, flags, delay, timeout,
                     qdict_get_try_str(opts, "tls-creds"),
                     qdict_get_try_str(opts, "tls-hostname"), errp);
    nbd_address_clear(&addr);
    return ok;
}

const BlockDriver bdrv_nbd_driver = {
    .format_name = "nbd",
    .protocol_name = "nbd",
    .claims_filename = nbd_is_filename,
    .instance_size = sizeof(NbdState),
    .is_protocol = true,
    .options = nbd_options,
    .open_options = nbd_open_options,
    .open = nbd_open,
    .close = nbd_close,
    .pread = nbd_pread,
    .pwrite = nbd_pwrite,
    .pwrite_zeroes = nbd_pwrite_zeroes,
    .pdiscard = nbd_pdiscard,
    .flush = nbd_flush,
    .block_status = nbd_block_status,
};
