/*
 * The "nbd" protocol driver: an export of an NBD server, as a node
 * (NBD protocol: github.com/NetworkBlockDevice/nbd doc/proto.md).
 *
 *   -blockdev driver=nbd,server.type=inet|unix,server.host=,server.port=,
 *             server.path=,export=NAME        (QEMU's BlockdevOptionsNbd)
 *   nbd://HOST[:PORT]/EXPORT  nbd+unix:///EXPORT?socket=PATH
 *   nbd:HOST:PORT[:exportname=EXPORT]  nbd:unix:PATH[:exportname=EXPORT]
 *
 * Handshake (fixed newstyle): NBD_OPT_STRUCTURED_REPLY, then
 * NBD_OPT_SET_META_CONTEXT "base:allocation", then NBD_OPT_GO with
 * NBD_INFO_BLOCK_SIZE; a server that does not know NBD_OPT_GO gets
 * NBD_OPT_EXPORT_NAME.  The size and read-only flag come from the server.
 *
 * Transmission: requests come from any thread (device models, the block
 * thread pool), several at a time (NBD_CLIENT_MAX_IN_FLIGHT).  Each takes
 * a slot, sends its request under the send lock and sleeps; one reader
 * thread per node reads replies (simple or structured chunks:
 * OFFSET_DATA, OFFSET_HOLE, BLOCK_STATUS, ERROR, NONE), matches them by
 * handle and puts read data straight into the caller's buffer.  When the
 * connection breaks (EOF, a socket error, a reply that breaks the
 * protocol) every pending request and every later one fails with EIO;
 * nothing waits for a server that is gone (over TCP, keepalive probes
 * find a vanished host within about a minute).  There is no reconnection
 * (reconnect-delay is refused) and no TLS.
 */
#include "qemu/osdep.h"
#include "qemu/sockets-io.h"
#include "block/block-int.h"
#include "block/nbd.h"
#include "migration/channel.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qstring.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define NBD_CLIENT_MAX_IN_FLIGHT  16
#define NBD_HANDSHAKE_TIMEOUT_S   30

typedef struct NbdSlot {
    bool busy, done;
    uint64_t handle;
    uint16_t type;
    uint64_t from;
    uint32_t len;
    uint8_t *buf;                   /* READ: where the data goes */
    int err;                        /* errno from the server, 0: fine */
    char *msg;                      /* the server's error text */
    uint32_t extent_len, extent_flags;  /* BLOCK_STATUS: the first extent */
    bool have_extent;
} NbdSlot;

typedef struct NbdState {
    int fd;
    GMutex lock;                    /* slots, dead */
    GCond cond;                     /* a slot completed or became free */
    GMutex send_lock;               /* one request on the wire at a time */
    NbdSlot slots[NBD_CLIENT_MAX_IN_FLIGHT];
    uint64_t next_handle;
    bool dead;
    char *dead_why;
    GThread *reader;
    uint16_t eflags;                /* transmission flags */
    bool structured, base_allocation;
    uint32_t meta_id;
    uint32_t max_block;
    bool initialized;               /* close has something to undo */
    bool read_failed;               /* reader thread: the last read hit EOF */
} NbdState;

static void nbd_state_init(NbdState *s)
{
    g_mutex_init(&s->lock);
    g_mutex_init(&s->send_lock);
    g_cond_init(&s->cond);
    s->fd = -1;
    s->initialized = true;
}

/* ---- socket helpers ---------------------------------------------------- */

static bool discard_bytes(int fd, uint64_t len)
{
    uint8_t buf[4096];

    while (len) {
        size_t n = MIN(len, sizeof(buf));
        if (!sock_read_full(fd, buf, n)) {
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

static bool send_option(int fd, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[NBD_OPTION_HEADER_SIZE];

    stq_be(h, NBD_OPTS_MAGIC);
    stl_be(h + 8, opt);
    stl_be(h + 12, len);
    return sock_write_full(fd, h, sizeof(h)) && sock_write_full(fd, data, len);
}

/* One option reply; its payload (at most 64 KiB) in *@data. */
static bool recv_option_reply(int fd, uint32_t opt, uint32_t *type,
                              uint8_t **data, uint32_t *len,
                              const char *filename, GError **errp)
{
    uint8_t h[NBD_OPTION_REPLY_SIZE];

    if (!sock_read_full(fd, h, sizeof(h))) {
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
    if (!sock_read_full(fd, *data, *len)) {
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
static bool negotiate_structured(int fd, bool *ok, const char *filename,
                                 GError **errp)
{
    g_autofree uint8_t *data = NULL;
    uint32_t type, len;

    if (!send_option(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0)) {
        return hs_fail(filename, errp, "send failed");
    }
    if (!recv_option_reply(fd, NBD_OPT_STRUCTURED_REPLY, &type, &data, &len,
                           filename, errp)) {
        return false;
    }
    *ok = type == NBD_REP_ACK;
    return true;
}

static bool negotiate_meta(NbdState *s, int fd, const char *export,
                           const char *filename, GError **errp)
{
    uint32_t el = strlen(export), ql = strlen(NBD_META_BASE_ALLOCATION);
    g_autofree uint8_t *req = g_malloc(4 + el + 4 + 4 + ql);

    stl_be(req, el);
    memcpy(req + 4, export, el);
    stl_be(req + 4 + el, 1);
    stl_be(req + 8 + el, ql);
    memcpy(req + 12 + el, NBD_META_BASE_ALLOCATION, ql);
    if (!send_option(fd, NBD_OPT_SET_META_CONTEXT, req, 12 + el + ql)) {
        return hs_fail(filename, errp, "send failed");
    }
    for (;;) {
        g_autofree uint8_t *data = NULL;
        uint32_t type, len;

        if (!recv_option_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &data,
                               &len, filename, errp)) {
            return false;
        }
        if (type == NBD_REP_META_CONTEXT && len == 4 + ql &&
            !memcmp(data + 4, NBD_META_BASE_ALLOCATION, ql)) {
            s->base_allocation = true;
            s->meta_id = ldl_be(data);
        } else if (type != NBD_REP_META_CONTEXT) {
            return true;    /* ACK, or an error: no context */
        }
    }
}

/* NBD_OPT_GO; *@unsupported when the server does not know it. */
static bool negotiate_go(NbdState *s, BlockDriverState *bs, int fd,
                         const char *export, bool *unsupported,
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
    if (!send_option(fd, NBD_OPT_GO, req, 8 + el)) {
        return hs_fail(bs->filename, errp, "send failed");
    }
    for (;;) {
        g_autofree uint8_t *data = NULL;
        uint32_t type, len;

        if (!recv_option_reply(fd, NBD_OPT_GO, &type, &data, &len,
                               bs->filename, errp)) {
            return false;
        }
        if (type == NBD_REP_ACK) {
            return have_size ||
                   hs_fail(bs->filename, errp, "the NBD server did not "
                           "give the export's size");
        }
        if (type == NBD_REP_ERR_UNSUP) {
            *unsupported = true;
            return true;
        }
        if (type & NBD_REP_FLAG_ERROR) {
            return hs_fail(bs->filename, errp, "Requested export not "
                           "available: server reported: %s",
                           reply_text(data, len));
        }
        if (type != NBD_REP_INFO || len < 2) {
            continue;
        }
        if (ldw_be(data) == NBD_INFO_EXPORT && len == 12) {
            bs->size = ldq_be(data + 2);
            s->eflags = ldw_be(data + 10);
            have_size = true;
        } else if (ldw_be(data) == NBD_INFO_BLOCK_SIZE && len == 14) {
            uint32_t min = ldl_be(data + 2), max = ldl_be(data + 10);
            if (min && min <= 64 * 1024 && !(min & (min - 1))) {
                bs->request_alignment = min;
            }
            if (max >= bs->request_alignment) {
                s->max_block = MIN(max, s->max_block);
            }
        }
    }
}

static bool negotiate_export_name(NbdState *s, BlockDriverState *bs, int fd,
                                  const char *export, bool no_zeroes,
                                  GError **errp)
{
    uint8_t r[10 + 124];

    if (!send_option(fd, NBD_OPT_EXPORT_NAME, export, strlen(export))) {
        return hs_fail(bs->filename, errp, "send failed");
    }
    if (!sock_read_full(fd, r, no_zeroes ? 10 : sizeof(r))) {
        return hs_fail(bs->filename, errp, "Requested export not available "
                       "(the NBD server closed the connection)");
    }
    bs->size = ldq_be(r);
    s->eflags = ldw_be(r + 8);
    return true;
}

static bool nbd_handshake(NbdState *s, BlockDriverState *bs,
                          const char *export, GError **errp)
{
    uint8_t hello[18], cflags[4];
    uint16_t hflags;
    bool unsupported = true;
    int fd = s->fd;

    if (!sock_read_full(fd, hello, sizeof(hello))) {
        return hs_fail(bs->filename, errp, "no NBD greeting from the "
                       "server");
    }
    if (ldq_be(hello) != NBD_INIT_MAGIC) {
        return hs_fail(bs->filename, errp, "not an NBD server (bad magic)");
    }
    if (ldq_be(hello + 8) == NBD_CLISERV_MAGIC) {
        return hs_fail(bs->filename, errp, "old-style NBD servers are not "
                       "supported");
    }
    if (ldq_be(hello + 8) != NBD_OPTS_MAGIC) {
        return hs_fail(bs->filename, errp, "not an NBD server (bad magic)");
    }
    hflags = ldw_be(hello + 16);
    stl_be(cflags, hflags & (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
    if (!sock_write_full(fd, cflags, 4)) {
        return hs_fail(bs->filename, errp, "send failed");
    }
    s->max_block = NBD_MAX_BUFFER_SIZE;
    if (hflags & NBD_FLAG_FIXED_NEWSTYLE) {
        if (!negotiate_structured(fd, &s->structured, bs->filename, errp) ||
            (s->structured &&
             !negotiate_meta(s, fd, export, bs->filename, errp)) ||
            !negotiate_go(s, bs, fd, export, &unsupported, errp)) {
            return false;
        }
    }
    if (unsupported) {
        s->structured = s->base_allocation = false;
        return negotiate_export_name(s, bs, fd, export,
                                     hflags & NBD_FLAG_NO_ZEROES, errp);
    }
    return true;
}

/* ---- transmission ---------------------------------------------------- */

/* The connection is unusable: fail everything pending (lock held; the
 * reader thread only, so no reply is being read into a buffer whose
 * request this completes). */
static void mark_dead(NbdState *s, const char *why)
{
    if (!s->dead) {
        s->dead = true;
        s->dead_why = g_strdup(why);
        shutdown(s->fd, SHUT_RDWR);
    }
    for (unsigned i = 0; i < NBD_CLIENT_MAX_IN_FLIGHT; i++) {
        if (s->slots[i].busy && !s->slots[i].done) {
            s->slots[i].err = EIO;
            s->slots[i].done = true;
        }
    }
    g_cond_broadcast(&s->cond);
}

static NbdSlot *slot_by_handle(NbdState *s, uint64_t handle)
{
    NbdSlot *slot = NULL;

    g_mutex_lock(&s->lock);
    for (unsigned i = 0; i < NBD_CLIENT_MAX_IN_FLIGHT; i++) {
        if (s->slots[i].busy && !s->slots[i].done &&
            s->slots[i].handle == handle) {
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
    s->read_failed = !sock_read_full(s->fd, buf, len);
    return !s->read_failed;
}

static bool chunk_discard(NbdState *s, uint64_t len)
{
    s->read_failed = !discard_bytes(s->fd, len);
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
        if (ldl_be(h) == s->meta_id && !slot->have_extent) {
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

static gpointer reader_thread(gpointer opaque)
{
    NbdState *s = opaque;
    const char *why = "the NBD server closed the connection";

    for (;;) {
        uint8_t h[NBD_STRUCTURED_REPLY_SIZE];
        NBDReply r;
        NbdSlot *slot;

        if (!chunk_read(s, h, 4)) {
            break;
        }
        if (ldl_be(h) == NBD_STRUCTURED_REPLY_MAGIC && s->structured) {
            if (!chunk_read(s, h + 4, NBD_STRUCTURED_REPLY_SIZE - 4)) {
                break;
            }
        } else if (ldl_be(h) == NBD_SIMPLE_REPLY_MAGIC) {
            if (!chunk_read(s, h + 4, NBD_SIMPLE_REPLY_SIZE - 4)) {
                break;
            }
        } else {
            why = "bad reply magic from the NBD server";
            break;
        }
        nbd_reply_decode(h, &r);
        slot = slot_by_handle(s, r.handle);
        if (!slot) {
            why = "reply to no request from the NBD server";
            break;
        }
        if (!r.structured) {
            slot->err = nbd_wire_to_errno(r.error);
            if (!slot->err && slot->type == NBD_CMD_READ &&
                !chunk_read(s, slot->buf, slot->len)) {
                break;
            }
            if (slot->type == NBD_CMD_BLOCK_STATUS && !slot->err) {
                why = "simple reply to a block status request";
                break;
            }
            slot_complete(s, slot);
            continue;
        }
        if (!read_chunk(s, slot, &r)) {
            why = s->read_failed ? "the NBD server closed the connection"
                                 : "malformed structured reply from the "
                                   "NBD server";
            break;
        }
        if (r.flags & NBD_REPLY_FLAG_DONE) {
            slot_complete(s, slot);
        }
    }
    g_mutex_lock(&s->lock);
    mark_dead(s, why);
    g_mutex_unlock(&s->lock);
    return NULL;
}

/* Send one request and wait for its reply; errno or 0 (*@slot_out: the
 * finished slot, for block status; release it with slot_release). */
static int nbd_request(BlockDriverState *bs, uint16_t type, uint16_t flags,
                       uint64_t from, uint32_t len, void *buf,
                       NbdSlot **slot_out, GError **errp)
{
    NbdState *s = bs->opaque;
    NbdSlot *slot = NULL;
    uint8_t h[NBD_REQUEST_SIZE];
    NBDRequest r = { .flags = flags, .type = type, .from = from, .len = len };
    bool sent;
    int err;

    g_mutex_lock(&s->lock);
    while (!s->dead && !slot) {
        for (unsigned i = 0; i < NBD_CLIENT_MAX_IN_FLIGHT && !slot; i++) {
            if (!s->slots[i].busy) {
                slot = &s->slots[i];
            }
        }
        if (!slot) {
            g_cond_wait(&s->cond, &s->lock);
        }
    }
    if (s->dead) {
        bdrv_error_setg_errno(errp, EIO, "'%s': NBD %s failed: %s",
                              bs->filename, nbd_cmd_name(type),
                              s->dead_why);
        g_mutex_unlock(&s->lock);
        return EIO;
    }
    *slot = (NbdSlot) { .busy = true, .handle = ++s->next_handle,
                        .type = type, .from = from, .len = len,
                        .buf = buf };
    r.handle = slot->handle;
    g_mutex_unlock(&s->lock);

    nbd_request_encode(h, &r);
    g_mutex_lock(&s->send_lock);
    sent = sock_write_full(s->fd, h, sizeof(h)) &&
           (type != NBD_CMD_WRITE || sock_write_full(s->fd, buf, len));
    g_mutex_unlock(&s->send_lock);

    g_mutex_lock(&s->lock);
    if (!sent) {
        /* Only the reader thread completes requests (it may be filling
         * one's buffer now): end the connection and let it see that. */
        shutdown(s->fd, SHUT_RDWR);
    }
    while (!slot->done) {
        g_cond_wait(&s->cond, &s->lock);
    }
    err = slot->err;
    if (err) {
        bdrv_error_setg_errno(errp, err, "'%s': NBD %s failed: %s",
                              bs->filename, nbd_cmd_name(type),
                              slot->msg ? slot->msg
                              : s->dead && err == EIO ? s->dead_why
                              : g_strerror(err));
    }
    if (slot_out && !err) {
        *slot_out = slot;
    } else {
        g_free(slot->msg);
        slot->msg = NULL;
        slot->busy = false;
        g_cond_broadcast(&s->cond);
    }
    g_mutex_unlock(&s->lock);
    return err;
}

static void slot_release(NbdState *s, NbdSlot *slot)
{
    g_mutex_lock(&s->lock);
    g_free(slot->msg);
    slot->msg = NULL;
    slot->busy = false;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
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
    if (!(s->eflags & NBD_FLAG_SEND_WRITE_ZEROES)) {
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

    if (!(s->eflags & NBD_FLAG_SEND_TRIM) || off >= bs->size) {
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
        !(s->eflags & NBD_FLAG_SEND_FLUSH)) {
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
    if (!s->base_allocation) {
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
    int one = 1, idle = 30, intvl = 10, cnt = 3;
    unsigned int user_timeout_ms = 60 * 1000;

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

static bool nbd_connect(BlockDriverState *bs, const NBDAddress *addr,
                        int flags, GError **errp)
{
    NbdState *s = bs->opaque;
    g_autofree char *uri = NULL;
    GPid pid;

    nbd_state_init(s);
    if (addr->path) {
        uri = g_strdup_printf("unix:%s", addr->path);
        g_free(bs->filename);
        bs->filename = g_strdup_printf("nbd+unix:///%s?socket=%s",
                                       addr->export, addr->path);
    } else {
        bool v6 = strchr(addr->host, ':') != NULL;
        uri = g_strdup_printf("tcp:%s%s%s:%s", v6 ? "[" : "", addr->host,
                              v6 ? "]" : "", addr->port);
        g_free(bs->filename);
        bs->filename = g_strdup_printf("nbd://%s%s%s:%s/%s", v6 ? "[" : "",
                                       addr->host, v6 ? "]" : "", addr->port,
                                       addr->export);
    }
    s->fd = migration_channel_open(uri, true, &pid, errp);
    if (s->fd < 0) {
        return false;
    }
    if (!addr->path) {
        tune_tcp(s->fd);
    }
    set_timeouts(s->fd, NBD_HANDSHAKE_TIMEOUT_S);
    bs->request_alignment = 1;
    if (!nbd_handshake(s, bs, addr->export, errp)) {
        return false;
    }
    if ((flags & BDRV_O_RDWR) && (s->eflags & NBD_FLAG_READ_ONLY)) {
        /* EROFS lets auto-read-only open it read-only instead. */
        bdrv_error_setg_errno(errp, EROFS, "NBD export is read-only");
        return false;
    }
    /* Requests may take as long as the server's disk does; a dead
     * server shows up as EOF or a socket error. */
    set_timeouts(s->fd, 0);
    bs->flags = flags & ~(BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP |
                          BDRV_O_SNAPSHOT);
    s->reader = g_thread_new("nbd-reader", reader_thread, s);
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
    ok = nbd_connect(bs, &addr, flags, errp);
    nbd_address_clear(&addr);
    return ok;
}

static void nbd_close(BlockDriverState *bs)
{
    NbdState *s = bs->opaque;

    if (!s->initialized) {
        return;
    }
    if (s->fd >= 0 && s->reader) {
        uint8_t h[NBD_REQUEST_SIZE];
        NBDRequest r = { .type = NBD_CMD_DISC };

        nbd_request_encode(h, &r);
        g_mutex_lock(&s->send_lock);
        if (!s->dead) {
            sock_write_full(s->fd, h, sizeof(h));
        }
        g_mutex_unlock(&s->send_lock);
        shutdown(s->fd, SHUT_RDWR);
        g_thread_join(s->reader);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    g_free(s->dead_why);
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
    { "server", BOPT_ANY, true },
    { "export", BOPT_STRING },
    { "tls-creds", BOPT_STRING },
    { "tls-hostname", BOPT_STRING },
    { "reconnect-delay", BOPT_INT },
    { "open-timeout", BOPT_INT },
    { NULL },
};

static bool nbd_open_options(BlockDriverState *bs, QDict *opts, int flags,
                             GError **errp)
{
    QDict *server = qobject_to(QDict, qdict_get(opts, "server"));
    const char *export = qdict_get_try_str(opts, "export");
    NBDAddress addr = { 0 };
    int64_t delay, timeout;
    bool ok;

    if (!server) {
        error_setg(errp, "Invalid parameter type for 'server', expected: "
                   "object");
        return false;
    }
    if (qdict_haskey(opts, "tls-creds") || qdict_haskey(opts, "tls-hostname")) {
        error_setg(errp, "nbd: TLS is not supported by kvmpc");
        return false;
    }
    if (!bdrv_opt_get_int(opts, "reconnect-delay", 0, &delay, "", errp) ||
        !bdrv_opt_get_int(opts, "open-timeout", 0, &timeout, "", errp)) {
        return false;
    }
    if (delay || timeout) {
        error_setg(errp, "nbd: %s is not supported by kvmpc (only 0)",
                   delay ? "reconnect-delay" : "open-timeout");
        return false;
    }
    if (export && strlen(export) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "nbd: the export name is longer than %d bytes",
                   NBD_MAX_STRING_SIZE);
        return false;
    }
    if (!parse_server(server, &addr, errp)) {
        nbd_address_clear(&addr);
        return false;
    }
    addr.export = g_strdup(export ? export : "");
    ok = nbd_connect(bs, &addr, flags, errp);
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
