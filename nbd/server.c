/*
 * The NBD server: exports block nodes over the NBD protocol
 * (github.com/NetworkBlockDevice/nbd doc/proto.md), for QMP's
 * nbd-server-start/-add/-remove/-stop and block-export-add/-del,
 * query-block-exports (QEMU 7.2's schema and error texts).
 *
 * Handshake: fixed newstyle only.  Options NBD_OPT_EXPORT_NAME, _ABORT,
 * _LIST, _INFO, _GO, _STRUCTURED_REPLY, _LIST_META_CONTEXT and
 * _SET_META_CONTEXT ("base:allocation", and where the export offers
 * them QEMU's "qemu:allocation-depth" and "qemu:dirty-bitmap:NAME", a
 * bitmap busy while exported), NBD_OPT_STARTTLS; others
 * NBD_REP_ERR_UNSUP.
 *
 * TLS (the protocol's "TLS support", docs/tls.md): with tls-creds, the
 * server is in forced TLS mode: before NBD_OPT_STARTTLS every option but
 * NBD_OPT_ABORT gets NBD_REP_ERR_TLS_REQD, and NBD_OPT_EXPORT_NAME
 * (which has no error reply) drops the client.  STARTTLS's ACK goes out
 * in clear, then the handshake runs non-blocking on the client's watch
 * (GnuTLS's EAGAIN becomes a wait for the socket), and everything after
 * it (options, then the export's data) goes through the session.  Bytes
 * a client pipelined after STARTTLS (read ahead with it) start the TLS
 * stream, as in QEMU.  A failed handshake or one not finished within
 * NBD_HANDSHAKE_TIMEOUT_S drops the client.  Without tls-creds,
 * STARTTLS gets NBD_REP_ERR_POLICY.
 * Transmission: NBD_CMD_READ, _WRITE (FUA), _DISC, _FLUSH, _TRIM,
 * _WRITE_ZEROES (NO_HOLE, FUA), _BLOCK_STATUS (REQ_ONE); simple replies,
 * and structured replies for READ and BLOCK_STATUS once negotiated.
 *
 * Everything runs on the main loop: a GLib fd watch per client reads
 * whatever arrived into a bounded buffer (headers, option data of at most
 * NBD_MAX_OPTION_SIZE, a write's payload of at most NBD_MAX_BUFFER_SIZE
 * straight into the request's buffer); requests go to the block layer's
 * asynchronous calls, so a slow disk never blocks the loop; replies
 * queue and drain when the socket is writable.  A client may have
 * NBD_SERVER_MAX_REQUESTS requests in flight; then its input waits.
 * A request outside the export, too long, with unknown flags or of an
 * unknown type gets NBD_EINVAL; a write to a read-only export NBD_EPERM;
 * a bad magic, an oversized write or option, or a handshake that does
 * not finish in NBD_HANDSHAKE_TIMEOUT_S drops the client.
 */
#include "qemu/osdep.h"
#include "block/nbd.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "crypto/tls.h"
#include "migration/channel.h"
#include "system/main-loop.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"

#include <sys/socket.h>

#define NBD_SERVER_MAX_REQUESTS   16
#define NBD_MAX_OPTION_SIZE       (64 * 1024)
#define NBD_HANDSHAKE_TIMEOUT_S   10
/* Stop reading requests while this much reply data waits for the peer. */
#define NBD_MAX_PENDING_OUTPUT    (64 * 1024 * 1024)
/* Extents per block status reply (QEMU caps it too), and status calls
 * per request (the main loop waits for them): the reply covers a
 * prefix, which the protocol allows. */
#define NBD_MAX_BLOCK_STATUS_EXTENTS 4096
#define NBD_MAX_BLOCK_STATUS_CALLS  65536
#define NBD_META_ID_BASE_ALLOCATION 0

typedef struct NBDExport NBDExport;
typedef struct NBDClient NBDClient;

/* The metadata contexts a client selected (context ids: base:allocation
 * 0, qemu:allocation-depth 1, the export's bitmap i 2 + i). */
typedef struct NBDMetaSel {
    bool base, depth;
    uint64_t bitmaps;               /* bit i: the export's bitmap i */
} NBDMetaSel;

#define NBD_META_ID_ALLOCATION_DEPTH 1
#define NBD_META_ID_DIRTY_BITMAP(i) (2 + (i))

/* The metadata contexts an export offers beside base:allocation. */
#define NBD_MAX_BITMAPS 64
#define NBD_META_ALLOCATION_DEPTH   "qemu:allocation-depth"
#define NBD_META_DIRTY_BITMAP       "qemu:dirty-bitmap:"

struct NBDExport {
    char *id, *name, *description;
    BlockDriverState *bs;           /* one reference */
    BdrvRootUser user;              /* its permissions on bs */
    bool writable, writethrough;
    bool allocation_depth;          /* qemu:allocation-depth offered */
    unsigned nbitmaps;              /* qemu:dirty-bitmap:NAME offered, */
    BdrvDirtyBitmap **bitmaps;      /* busy while exported */
    char **bitmap_contexts;         /* "qemu:dirty-bitmap:NAME" */
    bool shutting_down;
    bool dropping_clients;          /* export_remove is iterating */
    GList *clients;                 /* NBDClient * in transmission */
};

typedef enum ClientPhase {
    PHASE_CLIENT_FLAGS,             /* waiting for the 32-bit client flags */
    PHASE_OPTIONS,
    PHASE_TLS_HANDSHAKE,            /* after STARTTLS: its ACK, then TLS */
    PHASE_TRANSMISSION,
} ClientPhase;

typedef struct NBDServerRequest {
    NBDClient *client;
    NBDRequest req;
    uint8_t *buf;                   /* read or write payload */
    bool flush_after;               /* FUA or writethrough */
} NBDServerRequest;

struct NBDClient {
    int fd;
    guint watch;                    /* read and, while output waits, write */
    guint handshake_timer;
    QCryptoTLSCreds *tls_creds;     /* the server's, with a reference */
    QCryptoTLSSession *tls;         /* from STARTTLS on */
    char *tls_authz;                /* the server's tls-authz, or NULL */
    bool tls_up;                    /* handshake done: I/O through tls */
    guint tls_idle;                 /* input GnuTLS holds decrypted */
    ClientPhase phase;
    bool no_zeroes, structured;
    NBDMetaSel meta;                /* SET_META_CONTEXT chose them ... */
    char *meta_export;              /* ... for this export */
    bool closing;                   /* drop once nothing is in flight */
    bool disc;                      /* NBD_CMD_DISC: close after replies */
    NBDExport *exp;
    GByteArray *in;                 /* headers and option data */
    NBDServerRequest *rx;           /* a write whose payload is arriving */
    uint32_t rx_have;
    GByteArray *out;                /* replies not yet sent */
    size_t out_sent;
    unsigned in_flight;
};

typedef struct NBDServer {
    int listen_fd;
    guint watch;
    uint32_t max_connections;       /* 0: no limit */
    QCryptoTLSCreds *tls_creds;     /* tls-creds: forced TLS mode */
    char *tls_authz;                /* who may connect (crypto/authz.h) */
    GList *clients;                 /* every connected NBDClient * */
} NBDServer;

static NBDServer *server;
static GList *exports;              /* NBDExport * */

static void client_update_watch(NBDClient *c);
static void client_close(NBDClient *c);
static bool server_running(GError **errp);
static void export_maybe_finish(NBDExport *exp);

/* ---- exports --------------------------------------------------------- */

static NBDExport *export_by_name(const char *name)
{
    for (GList *l = exports; l; l = l->next) {
        NBDExport *exp = l->data;
        if (!exp->shutting_down && !strcmp(exp->name, name)) {
            return exp;
        }
    }
    return NULL;
}

static NBDExport *export_by_id(const char *id)
{
    for (GList *l = exports; l; l = l->next) {
        NBDExport *exp = l->data;
        if (!strcmp(exp->id, id)) {
            return exp;
        }
    }
    return NULL;
}

static uint16_t export_flags(NBDExport *exp)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                 NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_DF;

    if (exp->writable) {
        f |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
             NBD_FLAG_CAN_MULTI_CONN;
    } else {
        f |= NBD_FLAG_READ_ONLY | NBD_FLAG_CAN_MULTI_CONN;
    }
    return f;
}

/* An export that was asked to go, once its last client is gone. */
static void export_maybe_finish(NBDExport *exp)
{
    if (!exp->shutting_down || exp->clients || exp->dropping_clients) {
        return;
    }
    exports = g_list_remove(exports, exp);
    qapi_event_send_block_export_deleted(exp->id);
    for (unsigned i = 0; i < exp->nbitmaps; i++) {
        bdrv_dirty_bitmap_set_busy(exp->bitmaps[i], false);
        g_free(exp->bitmap_contexts[i]);
    }
    g_free(exp->bitmaps);
    g_free(exp->bitmap_contexts);
    bdrv_root_user_remove(&exp->user);
    bdrv_unref(exp->bs);
    g_free(exp->id);
    g_free(exp->name);
    g_free(exp->description);
    g_free(exp);
}

/* Start removing @exp: hard drops its clients, which finish when their
 * requests in flight complete. */
static void export_remove(NBDExport *exp)
{
    GList *l = g_list_copy(exp->clients);

    exp->shutting_down = true;
    exp->dropping_clients = true;
    for (GList *i = l; i; i = i->next) {
        client_close(i->data);
    }
    g_list_free(l);
    exp->dropping_clients = false;
    export_maybe_finish(exp);
}

/* ---- output ---------------------------------------------------------- */

static void out_put(NBDClient *c, const void *data, size_t len)
{
    g_byte_array_append(c->out, data, len);
}

static void out_be16(NBDClient *c, uint16_t v)
{
    uint8_t b[2];
    stw_be(b, v);
    out_put(c, b, 2);
}

static void out_be32(NBDClient *c, uint32_t v)
{
    uint8_t b[4];
    stl_be(b, v);
    out_put(c, b, 4);
}

static void out_be64(NBDClient *c, uint64_t v)
{
    uint8_t b[8];
    stq_be(b, v);
    out_put(c, b, 8);
}

static size_t out_pending(NBDClient *c)
{
    return c->out->len - c->out_sent;
}

/* recv()/send() on the client's connection, through TLS once it is up
 * (the same results: -1 with EAGAIN when nothing can move now). */
static ssize_t client_recv(NBDClient *c, void *buf, size_t len)
{
    if (c->tls_up) {
        return qcrypto_tls_session_read(c->tls, buf, len);
    }
    return recv(c->fd, buf, len, MSG_DONTWAIT);
}

static ssize_t client_send(NBDClient *c, const void *buf, size_t len)
{
    if (c->tls_up) {
        /* A record GnuTLS could not send stays in its buffer; the next
         * call sends it, with these same bytes still at the head. */
        return qcrypto_tls_session_write(c->tls, buf, len);
    }
    return send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Send what the socket takes now; false: the peer is gone. */
static bool client_flush_output(NBDClient *c)
{
    while (out_pending(c)) {
        ssize_t n = client_send(c, c->out->data + c->out_sent,
                                out_pending(c));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            return false;
        }
        c->out_sent += n;
    }
    if (!out_pending(c)) {
        g_byte_array_set_size(c->out, 0);
        c->out_sent = 0;
    }
    return true;
}

/* ---- option phase ---------------------------------------------------- */

static void opt_reply(NBDClient *c, uint32_t opt, uint32_t type,
                      const void *data, uint32_t len)
{
    out_be64(c, NBD_REP_MAGIC);
    out_be32(c, opt);
    out_be32(c, type);
    out_be32(c, len);
    out_put(c, data, len);
}

static void opt_error(NBDClient *c, uint32_t opt, uint32_t type,
                      const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void opt_error(NBDClient *c, uint32_t opt, uint32_t type,
                      const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    opt_reply(c, opt, type, msg, strlen(msg));
}

static void client_attach(NBDClient *c, NBDExport *exp)
{
    c->exp = exp;
    exp->clients = g_list_append(exp->clients, c);
    c->phase = PHASE_TRANSMISSION;
    if (c->handshake_timer) {
        g_source_remove(c->handshake_timer);
        c->handshake_timer = 0;
    }
    if (!c->meta_export || strcmp(c->meta_export, exp->name)) {
        memset(&c->meta, 0, sizeof(c->meta));
    }
}

/* NBD_OPT_EXPORT_NAME: no reply header; an unknown name drops the client. */
static bool opt_export_name(NBDClient *c, const uint8_t *data, uint32_t len)
{
    g_autofree char *name = g_strndup((const char *)data, len);
    NBDExport *exp;
    static const uint8_t zeroes[124];

    if (len > NBD_MAX_STRING_SIZE || !(exp = export_by_name(name))) {
        return false;
    }
    out_be64(c, bdrv_getlength(exp->bs));
    out_be16(c, export_flags(exp));
    if (!c->no_zeroes) {
        out_put(c, zeroes, sizeof(zeroes));
    }
    client_attach(c, exp);
    return true;
}

/* "length + string" at @*p inside @data[0..len); false: malformed. */
static bool take_string(const uint8_t *data, uint32_t len, uint32_t *p,
                        char **out)
{
    uint32_t n;

    if (len - *p < 4) {
        return false;
    }
    n = ldl_be(data + *p);
    *p += 4;
    if (n > NBD_MAX_STRING_SIZE || n > len - *p) {
        return false;
    }
    *out = g_strndup((const char *)data + *p, n);
    *p += n;
    return true;
}

static void info_reply(NBDClient *c, uint32_t opt, uint16_t info,
                       const void *payload, uint32_t len)
{
    g_autofree uint8_t *b = g_malloc(2 + len);

    stw_be(b, info);
    memcpy(b + 2, payload, len);
    opt_reply(c, opt, NBD_REP_INFO, b, 2 + len);
}

/* NBD_OPT_INFO and NBD_OPT_GO */
static void opt_info_go(NBDClient *c, uint32_t opt, const uint8_t *data,
                        uint32_t len)
{
    g_autofree char *name = NULL;
    uint32_t p = 0;
    uint16_t nreq;
    bool want_name = false, want_desc = false;
    NBDExport *exp;
    uint8_t b[12];

    if (!take_string(data, len, &p, &name) || len - p < 2) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, "malformed option data");
        return;
    }
    nreq = ldw_be(data + p);
    p += 2;
    if ((uint32_t)nreq * 2 != len - p) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, "malformed option data");
        return;
    }
    for (unsigned i = 0; i < nreq; i++) {
        uint16_t t = ldw_be(data + p + 2 * i);
        want_name |= t == NBD_INFO_NAME;
        want_desc |= t == NBD_INFO_DESCRIPTION;
    }
    exp = export_by_name(name);
    if (!exp) {
        opt_error(c, opt, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                  name);
        return;
    }
    if (want_name) {
        info_reply(c, opt, NBD_INFO_NAME, exp->name, strlen(exp->name));
    }
    if (want_desc && exp->description) {
        info_reply(c, opt, NBD_INFO_DESCRIPTION, exp->description,
                   strlen(exp->description));
    }
    /* Any alignment works (the block layer bounces); 4 KiB is best. */
    stl_be(b, 1);
    stl_be(b + 4, 4096);
    stl_be(b + 8, NBD_MAX_BUFFER_SIZE);
    info_reply(c, opt, NBD_INFO_BLOCK_SIZE, b, 12);
    stq_be(b, bdrv_getlength(exp->bs));
    stw_be(b + 8, export_flags(exp));
    info_reply(c, opt, NBD_INFO_EXPORT, b, 10);
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
    if (opt == NBD_OPT_GO) {
        client_attach(c, exp);
    }
}

/* One context in a META_CONTEXT reply. */
static void meta_reply(NBDClient *c, uint32_t opt, uint32_t id,
                       const char *name)
{
    size_t n = strlen(name);
    g_autofree uint8_t *b = g_malloc(4 + n);

    stl_be(b, id);
    memcpy(b + 4, name, n);
    opt_reply(c, opt, NBD_REP_META_CONTEXT, b, 4 + n);
}

/*
 * Which of @exp's contexts query @q selects (NBD spec, "Metadata
 * querying"; QEMU's namespaces): an exact name; for LIST also a
 * namespace ("base:", "qemu:") or "qemu:dirty-bitmap:" for every bitmap.
 */
static void meta_match(const NBDExport *exp, const char *q, bool list,
                       NBDMetaSel *sel)
{
    bool all_qemu = list && !strcmp(q, "qemu:");

    if (!strcmp(q, NBD_META_BASE_ALLOCATION) ||
        (list && !strcmp(q, "base:"))) {
        sel->base = true;
    }
    if (exp->allocation_depth &&
        (all_qemu || !strcmp(q, NBD_META_ALLOCATION_DEPTH))) {
        sel->depth = true;
    }
    for (unsigned i = 0; i < exp->nbitmaps; i++) {
        if (all_qemu || !strcmp(q, exp->bitmap_contexts[i]) ||
            (list && !strcmp(q, NBD_META_DIRTY_BITMAP))) {
            sel->bitmaps |= 1ull << i;
        }
    }
}

/* NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT: base:allocation,
 * and what the export offers: qemu:allocation-depth, one
 * qemu:dirty-bitmap:NAME per exported bitmap. */
static void opt_meta_context(NBDClient *c, uint32_t opt, const uint8_t *data,
                             uint32_t len)
{
    g_autofree char *name = NULL;
    g_autoptr(GPtrArray) queries = g_ptr_array_new_with_free_func(g_free);
    uint32_t p = 0, nq;
    bool set = opt == NBD_OPT_SET_META_CONTEXT;
    NBDMetaSel sel = { 0 };
    NBDExport *exp;

    if (!c->structured) {
        opt_error(c, opt, NBD_REP_ERR_INVALID,
                  "request option '%s' when structured reply is not "
                  "negotiated", set ? "SET_META_CONTEXT"
                                    : "LIST_META_CONTEXT");
        return;
    }
    if (!take_string(data, len, &p, &name) || len - p < 4) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, "malformed option data");
        return;
    }
    nq = ldl_be(data + p);
    p += 4;
    if (nq > len) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, "malformed option data");
        return;
    }
    for (uint32_t i = 0; i < nq; i++) {
        char *q = NULL;

        if (!take_string(data, len, &p, &q)) {
            opt_error(c, opt, NBD_REP_ERR_INVALID, "malformed option data");
            return;
        }
        g_ptr_array_add(queries, q);
    }
    if (p != len) {
        opt_error(c, opt, NBD_REP_ERR_INVALID, "malformed option data");
        return;
    }
    exp = export_by_name(name);
    if (!exp) {
        opt_error(c, opt, NBD_REP_ERR_UNKNOWN, "export '%s' not present",
                  name);
        return;
    }
    if (!set && nq == 0) {
        meta_match(exp, "base:", true, &sel);
        meta_match(exp, "qemu:", true, &sel);
    }
    for (unsigned i = 0; i < queries->len; i++) {
        meta_match(exp, g_ptr_array_index(queries, i), !set, &sel);
    }
    if (set) {
        c->meta = sel;
        g_free(c->meta_export);
        c->meta_export = g_strdup(name);
    }
    if (sel.base) {
        meta_reply(c, opt, NBD_META_ID_BASE_ALLOCATION,
                   NBD_META_BASE_ALLOCATION);
    }
    if (sel.depth) {
        meta_reply(c, opt, NBD_META_ID_ALLOCATION_DEPTH,
                   NBD_META_ALLOCATION_DEPTH);
    }
    for (unsigned i = 0; i < exp->nbitmaps; i++) {
        if (sel.bitmaps & (1ull << i)) {
            meta_reply(c, opt, NBD_META_ID_DIRTY_BITMAP(i),
                       exp->bitmap_contexts[i]);
        }
    }
    opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
}

static void opt_list(NBDClient *c, uint32_t len)
{
    if (len) {
        opt_error(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
                  "NBD_OPT_LIST takes no data");
        return;
    }
    for (GList *l = exports; l; l = l->next) {
        NBDExport *exp = l->data;
        uint32_t n = strlen(exp->name);
        uint32_t d = exp->description ? strlen(exp->description) : 0;
        g_autofree uint8_t *b = NULL;

        if (exp->shutting_down) {
            continue;
        }
        b = g_malloc(4 + n + d);
        stl_be(b, n);
        memcpy(b + 4, exp->name, n);
        if (d) {
            memcpy(b + 4 + n, exp->description, d);
        }
        opt_reply(c, NBD_OPT_LIST, NBD_REP_SERVER, b, 4 + n + d);
    }
    opt_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* NBD_OPT_STARTTLS: ACK in clear; the handshake starts once it is sent. */
static void opt_starttls(NBDClient *c, uint32_t len)
{
    if (len) {
        opt_error(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                  "NBD_OPT_STARTTLS takes no data");
    } else if (!c->tls_creds) {
        opt_error(c, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY,
                  "TLS not configured");
    } else if (c->tls) {
        opt_error(c, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                  "TLS already enabled");
    } else {
        opt_reply(c, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0);
        c->phase = PHASE_TLS_HANDSHAKE;
    }
}

/* Forced TLS mode before STARTTLS: the option is refused (true), or
 * it is EXPORT_NAME, which cannot be, and the client goes (false). */
static bool refuse_before_tls(NBDClient *c, uint32_t opt, bool *drop)
{
    if (!c->tls_creds || c->tls_up || opt == NBD_OPT_STARTTLS ||
        opt == NBD_OPT_ABORT) {
        return false;
    }
    *drop = opt == NBD_OPT_EXPORT_NAME;
    if (!*drop) {
        opt_error(c, opt, NBD_REP_ERR_TLS_REQD,
                  "Option 0x%" PRIx32 " not permitted before TLS", opt);
    }
    return true;
}

/* One whole option (header checked); false: drop the client. */
static bool handle_option(NBDClient *c, uint32_t opt, const uint8_t *data,
                          uint32_t len)
{
    bool drop = false;

    if (refuse_before_tls(c, opt, &drop)) {
        return !drop;
    }
    switch (opt) {
    case NBD_OPT_EXPORT_NAME:
        return opt_export_name(c, data, len);
    case NBD_OPT_ABORT:
        opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        c->disc = true;
        return true;
    case NBD_OPT_LIST:
        opt_list(c, len);
        return true;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        opt_info_go(c, opt, data, len);
        return true;
    case NBD_OPT_STRUCTURED_REPLY:
        if (len || c->structured) {
            opt_error(c, opt, NBD_REP_ERR_INVALID, len
                      ? "NBD_OPT_STRUCTURED_REPLY takes no data"
                      : "structured reply already negotiated");
        } else {
            c->structured = true;
            opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
        }
        return true;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        opt_meta_context(c, opt, data, len);
        return true;
    case NBD_OPT_STARTTLS:
        opt_starttls(c, len);
        return true;
    default:
        opt_error(c, opt, NBD_REP_ERR_UNSUP, "Unsupported option %" PRIu32,
                  opt);
        return true;
    }
}

/* ---- transmission phase ---------------------------------------------- */

static void simple_reply(NBDClient *c, uint64_t handle, int err,
                         const void *data, uint32_t len)
{
    out_be32(c, NBD_SIMPLE_REPLY_MAGIC);
    out_be32(c, nbd_errno_to_wire(err));
    out_be64(c, handle);
    if (!err && len) {
        out_put(c, data, len);
    }
}

static void chunk_header(NBDClient *c, uint16_t flags, uint16_t type,
                         uint64_t handle, uint32_t len)
{
    out_be32(c, NBD_STRUCTURED_REPLY_MAGIC);
    out_be16(c, flags);
    out_be16(c, type);
    out_be64(c, handle);
    out_be32(c, len);
}

static void reply_error(NBDClient *c, const NBDRequest *r, int err,
                        const char *msg)
{
    if (c->structured && (r->type == NBD_CMD_READ ||
                          r->type == NBD_CMD_BLOCK_STATUS)) {
        uint16_t n = MIN(strlen(msg), 4096);

        chunk_header(c, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
                     r->handle, 6 + n);
        out_be32(c, nbd_errno_to_wire(err));
        out_be16(c, n);
        out_put(c, msg, n);
    } else {
        simple_reply(c, r->handle, err, NULL, 0);
    }
}

static void reply_ok(NBDClient *c, const NBDRequest *r, const uint8_t *buf)
{
    if (r->type == NBD_CMD_READ && c->structured) {
        if (!r->len) {
            chunk_header(c, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE,
                         r->handle, 0);
            return;
        }
        chunk_header(c, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA,
                     r->handle, 8 + r->len);
        out_be64(c, r->from);
        out_put(c, buf, r->len);
        return;
    }
    simple_reply(c, r->handle, 0, buf,
                 r->type == NBD_CMD_READ ? r->len : 0);
}

static void request_free(NBDServerRequest *sr)
{
    g_free(sr->buf);
    g_free(sr);
}

/* A request finished (@err 0 or an errno): reply, maybe read more. */
static void request_done(NBDServerRequest *sr, int err, const char *msg)
{
    NBDClient *c = sr->client;

    c->in_flight--;
    if (!c->closing) {
        if (err) {
            reply_error(c, &sr->req, err, msg ? msg : g_strerror(err));
        } else {
            reply_ok(c, &sr->req, sr->buf);
        }
    }
    request_free(sr);
    if (c->closing && !c->in_flight) {
        client_close(c);
        return;
    }
    client_update_watch(c);
}

static void request_flush_cb(void *opaque, GError *err)
{
    NBDServerRequest *sr = opaque;

    request_done(sr, err ? bdrv_error_errno(err) : 0,
                 err ? err->message : NULL);
}

static void flush_completion_cb(void *opaque, GError *err);

static void request_cb(void *opaque, GError *err)
{
    NBDServerRequest *sr = opaque;

    if (!err && sr->flush_after && !sr->client->closing) {
        bdrv_aio_flush(sr->client->exp->bs, flush_completion_cb, sr);
        return;
    }
    request_done(sr, err ? bdrv_error_errno(err) : 0,
                 err ? err->message : NULL);
}

/* Completions may run in an I/O thread (a node a device moved there):
 * the client is main-loop state, so finish there. */
typedef struct DeferredCompletion {
    NBDServerRequest *sr;
    GError *err;
    bool flush_stage;
} DeferredCompletion;

static void deferred_run(void *opaque)
{
    DeferredCompletion *d = opaque;

    if (d->flush_stage) {
        request_flush_cb(d->sr, d->err);
    } else {
        request_cb(d->sr, d->err);
    }
    if (d->err) {
        g_error_free(d->err);
    }
    g_free(d);
}

static void defer_or_run(void *opaque, GError *err, bool flush_stage)
{
    DeferredCompletion *d;

    if (g_main_context_is_owner(g_main_context_default())) {
        (flush_stage ? request_flush_cb : request_cb)(opaque, err);
        return;
    }
    d = g_new0(DeferredCompletion, 1);
    d->sr = opaque;
    d->err = err ? g_error_copy(err) : NULL;
    d->flush_stage = flush_stage;
    main_loop_call(deferred_run, d);
}

static void completion_cb(void *opaque, GError *err)
{
    defer_or_run(opaque, err, false);
}

static void flush_completion_cb(void *opaque, GError *err)
{
    defer_or_run(opaque, err, true);
}

/* Add an extent of @n bytes with @flags, merged into the last one when
 * the flags are the same; false once @req_one has its one extent. */
static bool extent_add(GByteArray *ext, uint32_t *count, uint64_t n,
                       uint32_t flags, bool req_one)
{
    if (*count && ldl_be(ext->data + ext->len - 4) == flags &&
        ldl_be(ext->data + ext->len - 8) + n <= UINT32_MAX) {
        stl_be(ext->data + ext->len - 8,
               ldl_be(ext->data + ext->len - 8) + n);
    } else {
        uint8_t d[8];

        stl_be(d, n);
        stl_be(d + 4, flags);
        g_byte_array_append(ext, d, 8);
        (*count)++;
    }
    return !req_one;
}

/* The extents of one context over [off, end): base:allocation (@depth
 * false) or qemu:allocation-depth (@depth true), from the block status. */
static bool status_extents(BlockDriverState *bs, uint64_t off, uint64_t end,
                           bool depth_ctx, bool req_one, GByteArray *ext,
                           GError **errp)
{
    uint32_t count = 0, calls = 0;

    while (off < end && count < NBD_MAX_BLOCK_STATUS_EXTENTS &&
           calls++ < NBD_MAX_BLOCK_STATUS_CALLS) {
        uint64_t pnum = 0, map;
        BlockDriverState *file;
        int depth, ret;
        uint32_t flags;

        ret = bdrv_block_status_above(bs, off, end - off, &pnum, &map,
                                      &file, &depth, errp);
        if (ret < 0) {
            return false;
        }
        pnum = MIN(MAX(pnum, 1), end - off);
        if (depth_ctx) {
            /* 0: in no layer; 1: the top; 2: its backing node ... */
            flags = ret & BDRV_BLOCK_ALLOCATED ? depth + 1 : 0;
        } else {
            /* Not allocated anywhere in the chain reads as zeroes. */
            flags = (ret & BDRV_BLOCK_DATA ? 0 : NBD_STATE_HOLE) |
                    (ret & BDRV_BLOCK_ZERO || !(ret & BDRV_BLOCK_ALLOCATED)
                     ? NBD_STATE_ZERO : 0);
        }
        /* Lengths are 32-bit; a request's length is too, so pnum fits. */
        if (!extent_add(ext, &count, pnum, flags, req_one)) {
            break;
        }
        off += pnum;
    }
    return true;
}

/* qemu:dirty-bitmap:NAME extents of [off, end): 1 dirty, 0 clean. */
static void bitmap_extents(BdrvDirtyBitmap *bm, uint64_t off, uint64_t end,
                           bool req_one, GByteArray *ext)
{
    uint32_t count = 0;

    end = MIN(end, bdrv_dirty_bitmap_size(bm));
    while (off < end && count < NBD_MAX_BLOCK_STATUS_EXTENTS) {
        uint64_t bytes = 0;
        int64_t at = bdrv_dirty_bitmap_next_dirty(bm, off, end - off,
                                                  &bytes);
        uint64_t clean_end = at < 0 ? end : MIN((uint64_t)at, end);

        if (clean_end > off) {
            if (!extent_add(ext, &count, clean_end - off, 0, req_one)) {
                return;
            }
            off = clean_end;
            continue;
        }
        bytes = MIN(bytes, end - off);
        if (!extent_add(ext, &count, bytes, NBD_STATE_DIRTY, req_one)) {
            return;
        }
        off += bytes;
    }
}

/* One NBD_REPLY_TYPE_BLOCK_STATUS chunk for context @id. */
static void status_chunk(NBDClient *c, const NBDRequest *r, uint32_t id,
                         GByteArray *ext, bool last)
{
    chunk_header(c, last ? NBD_REPLY_FLAG_DONE : 0,
                 NBD_REPLY_TYPE_BLOCK_STATUS, r->handle, 4 + ext->len);
    out_be32(c, id);
    out_put(c, ext->data, ext->len);
}

/* NBD_CMD_BLOCK_STATUS: a chunk for each context the client selected,
 * in id order, the last one flagged done. */
static void block_status_reply(NBDClient *c, const NBDRequest *r)
{
    NBDExport *exp = c->exp;
    uint64_t off = r->from, end = r->from + r->len;
    bool req_one = r->flags & NBD_CMD_FLAG_REQ_ONE;
    g_autoptr(GPtrArray) exts = g_ptr_array_new_with_free_func(
                                   (GDestroyNotify)g_byte_array_unref);
    g_autoptr(GArray) ids = g_array_new(false, false, sizeof(uint32_t));
    GError *err = NULL;

    if (c->meta.base || c->meta.depth) {
        for (int d = 0; d < 2; d++) {
            GByteArray *ext;
            uint32_t id = d ? NBD_META_ID_ALLOCATION_DEPTH
                            : NBD_META_ID_BASE_ALLOCATION;

            if (!(d ? c->meta.depth : c->meta.base)) {
                continue;
            }
            ext = g_byte_array_new();
            g_ptr_array_add(exts, ext);
            if (!status_extents(exp->bs, off, end, d, req_one, ext, &err)) {
                reply_error(c, r, bdrv_error_errno(err), err->message);
                g_error_free(err);
                return;
            }
            g_array_append_val(ids, id);
        }
    }
    for (unsigned i = 0; i < exp->nbitmaps; i++) {
        GByteArray *ext;
        uint32_t id = NBD_META_ID_DIRTY_BITMAP(i);

        if (!(c->meta.bitmaps & (1ull << i))) {
            continue;
        }
        ext = g_byte_array_new();
        g_ptr_array_add(exts, ext);
        bitmap_extents(exp->bitmaps[i], off, end, req_one, ext);
        g_array_append_val(ids, id);
    }
    for (unsigned i = 0; i < exts->len; i++) {
        status_chunk(c, r, g_array_index(ids, uint32_t, i),
                     g_ptr_array_index(exts, i), i + 1 == exts->len);
    }
}

/* Checks every command makes; 0 or the errno to reply with. */
static int request_check(NBDClient *c, const NBDRequest *r, const char **why)
{
    static const uint16_t allowed[] = {
        [NBD_CMD_READ] = NBD_CMD_FLAG_DF | NBD_CMD_FLAG_FUA,
        [NBD_CMD_WRITE] = NBD_CMD_FLAG_FUA,
        [NBD_CMD_DISC] = 0,
        [NBD_CMD_FLUSH] = 0,
        [NBD_CMD_TRIM] = NBD_CMD_FLAG_FUA,
        [NBD_CMD_CACHE] = 0,
        [NBD_CMD_WRITE_ZEROES] = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE,
        [NBD_CMD_BLOCK_STATUS] = NBD_CMD_FLAG_REQ_ONE,
    };
    uint64_t size = bdrv_getlength(c->exp->bs);

    if (r->type >= ARRAY_SIZE(allowed) || r->type == NBD_CMD_CACHE) {
        *why = "unsupported command";
        return EINVAL;
    }
    if (r->flags & ~allowed[r->type]) {
        *why = "unsupported flags";
        return EINVAL;
    }
    if (r->type == NBD_CMD_FLUSH || r->type == NBD_CMD_DISC) {
        return 0;
    }
    if (!range_within(r->from, r->len, size)) {
        *why = "operation past the end of the export";
        return EINVAL;
    }
    if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) &&
        r->len > NBD_MAX_BUFFER_SIZE) {
        *why = "request longer than 32 MiB";
        return EINVAL;
    }
    if (r->type == NBD_CMD_BLOCK_STATUS &&
        (!r->len || !(c->meta.base || c->meta.depth || c->meta.bitmaps))) {
        *why = r->len ? "no metadata context negotiated"
                      : "block status of no bytes";
        return EINVAL;
    }
    if ((r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
         r->type == NBD_CMD_WRITE_ZEROES) && !c->exp->writable) {
        *why = "export is read-only";
        return EPERM;
    }
    return 0;
}

/* Start a checked request on the block layer. */
static void request_submit(NBDServerRequest *sr)
{
    NBDClient *c = sr->client;
    NBDRequest *r = &sr->req;
    BlockDriverState *bs = c->exp->bs;

    c->in_flight++;
    sr->flush_after = (r->flags & NBD_CMD_FLAG_FUA) ||
        (c->exp->writethrough && r->type != NBD_CMD_READ &&
         r->type != NBD_CMD_FLUSH);
    switch (r->type) {
    case NBD_CMD_READ:
        sr->flush_after = false;
        /* Zeroed: a driver that leaves the buffer alone (null-co) must
         * not send the client whatever the heap held. */
        sr->buf = g_try_malloc0(MAX(r->len, 1));
        if (!sr->buf) {
            request_done(sr, ENOMEM, NULL);
            return;
        }
        bdrv_aio_pread(bs, r->from, r->len, sr->buf, completion_cb, sr);
        break;
    case NBD_CMD_WRITE:
        bdrv_aio_pwrite(bs, r->from, r->len, sr->buf, completion_cb, sr);
        break;
    case NBD_CMD_FLUSH:
        bdrv_aio_flush(bs, completion_cb, sr);
        break;
    case NBD_CMD_TRIM:
        bdrv_aio_pdiscard(bs, r->from, r->len, completion_cb, sr);
        break;
    case NBD_CMD_WRITE_ZEROES:
        bdrv_aio_pwrite_zeroes(bs, r->from, r->len,
                               r->flags & NBD_CMD_FLAG_NO_HOLE
                               ? 0 : BDRV_REQ_MAY_UNMAP,
                               completion_cb, sr);
        break;
    }
}

/* A request header arrived; false: drop the client. */
static bool handle_request_header(NBDClient *c, const uint8_t *hdr)
{
    NBDServerRequest *sr;
    const char *why = NULL;
    int err;

    sr = g_new0(NBDServerRequest, 1);
    sr->client = c;
    nbd_request_decode(hdr, &sr->req);
    if (sr->req.magic != NBD_REQUEST_MAGIC) {
        request_free(sr);
        return false;
    }
    if (sr->req.type == NBD_CMD_DISC) {
        request_free(sr);
        c->disc = true;
        return true;
    }
    err = request_check(c, &sr->req, &why);
    if (sr->req.type == NBD_CMD_WRITE && sr->req.len > NBD_MAX_BUFFER_SIZE) {
        /* Its payload cannot be taken: say why, then drop the client. */
        reply_error(c, &sr->req, EINVAL, why);
        request_free(sr);
        c->disc = true;
        return true;
    }
    if (sr->req.type == NBD_CMD_WRITE) {
        /* The payload comes next whatever the verdict: take it first. */
        sr->buf = g_try_malloc(MAX(sr->req.len, 1));
        if (!sr->buf) {
            return false;
        }
        c->rx = sr;
        c->rx_have = 0;
        return true;
    }
    if (err) {
        reply_error(c, &sr->req, err, why);
        request_free(sr);
        return true;
    }
    if (sr->req.type == NBD_CMD_BLOCK_STATUS) {
        block_status_reply(c, &sr->req);
        request_free(sr);
        return true;
    }
    request_submit(sr);
    return true;
}

/* A write's payload is complete. */
static void handle_write_payload(NBDClient *c)
{
    NBDServerRequest *sr = c->rx;
    const char *why = NULL;
    int err = request_check(c, &sr->req, &why);

    c->rx = NULL;
    if (err) {
        reply_error(c, &sr->req, err, why);
        request_free(sr);
        return;
    }
    request_submit(sr);
}

/* ---- input ----------------------------------------------------------- */

/* How many bytes the parser needs in c->in before it can go on. */
static size_t input_needed(NBDClient *c)
{
    switch (c->phase) {
    case PHASE_CLIENT_FLAGS:
        return 4;
    case PHASE_OPTIONS:
        if (c->in->len < NBD_OPTION_HEADER_SIZE) {
            return NBD_OPTION_HEADER_SIZE;
        }
        /* size_t: a 32-bit sum would wrap for lengths near 4 GiB. */
        return NBD_OPTION_HEADER_SIZE + (size_t)ldl_be(c->in->data + 12);
    default:
        return NBD_REQUEST_SIZE;
    }
}

/* An option header announces more data than any option we take: the
 * client is dropped before that much is buffered. */
static bool option_too_long(NBDClient *c)
{
    return c->phase == PHASE_OPTIONS &&
           c->in->len >= NBD_OPTION_HEADER_SIZE &&
           ldl_be(c->in->data + 12) > NBD_MAX_OPTION_SIZE;
}

typedef enum { STEP_DONE, STEP_WAIT, STEP_DROP } InputStep;

/* Parse the next unit at the head of c->in (@used bytes of it). */
static InputStep process_one_input(NBDClient *c, size_t used)
{
    const uint8_t *d = c->in->data;

    if (c->phase == PHASE_CLIENT_FLAGS) {
        uint32_t flags = ldl_be(d);
        if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
            return STEP_DROP;
        }
        c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
        c->phase = PHASE_OPTIONS;
        return STEP_DONE;
    }
    if (c->phase == PHASE_OPTIONS) {
        if (ldq_be(d) != NBD_OPTS_MAGIC ||
            !handle_option(c, ldl_be(d + 8), d + NBD_OPTION_HEADER_SIZE,
                           used - NBD_OPTION_HEADER_SIZE)) {
            return STEP_DROP;
        }
        return STEP_DONE;
    }
    if (c->in_flight >= NBD_SERVER_MAX_REQUESTS ||
        out_pending(c) > NBD_MAX_PENDING_OUTPUT) {
        return STEP_WAIT;       /* wait for completions / the peer */
    }
    return handle_request_header(c, d) ? STEP_DONE : STEP_DROP;
}

/* Parse what c->in holds; false: drop the client. */
static bool process_input(NBDClient *c)
{
    while (!c->disc && !c->closing && !c->rx &&
           c->phase != PHASE_TLS_HANDSHAKE) {
        size_t used;

        if (option_too_long(c)) {
            return false;
        }
        used = input_needed(c);
        if (c->in->len < used) {
            break;
        }
        switch (process_one_input(c, used)) {
        case STEP_DROP:
            return false;
        case STEP_WAIT:
            return true;
        case STEP_DONE:
            g_byte_array_remove_range(c->in, 0, used);
            if (c->phase == PHASE_TLS_HANDSHAKE) {
                /* what followed STARTTLS (read ahead) is the TLS
                 * stream's start: the session takes it, in client_tls_step */
                return true;
            }
            break;
        }
    }
    return true;
}

/* Read what is there; false: EOF, error or a protocol violation. */
static bool client_read(NBDClient *c)
{
    uint8_t buf[64 * 1024];
    ssize_t n;

    if (c->rx) {
        /* A write's payload goes straight into its buffer. */
        n = client_recv(c, c->rx->buf + c->rx_have,
                        c->rx->req.len - c->rx_have);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return false;
        }
        if (n > 0) {
            c->rx_have += n;
        }
        if (c->rx_have == c->rx->req.len) {
            handle_write_payload(c);
        }
        return process_input(c);
    }
    if (option_too_long(c)) {
        return false;
    }
    n = client_recv(c, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        return false;
    }
    if (n > 0) {
        g_byte_array_append(c->in, buf, n);
    }
    return process_input(c);
}

/* A write payload is buffered in c->in when it came with the header:
 * move it to the request.  False: what followed it was bad. */
static bool take_buffered_payload(NBDClient *c)
{
    while (c->rx && c->in->len) {
        uint32_t n = MIN(c->in->len, c->rx->req.len - c->rx_have);

        memcpy(c->rx->buf + c->rx_have, c->in->data, n);
        g_byte_array_remove_range(c->in, 0, n);
        c->rx_have += n;
        if (c->rx_have == c->rx->req.len) {
            handle_write_payload(c);
            if (!process_input(c)) {
                return false;
            }
        }
    }
    return true;
}

/* Input waits while replies pile up (a peer that does not read them)
 * or the client has as many requests in flight as it may. */
static bool wants_input(NBDClient *c)
{
    return !c->closing && !c->disc && c->phase != PHASE_TLS_HANDSHAKE &&
           out_pending(c) <= NBD_MAX_PENDING_OUTPUT &&
           (c->phase != PHASE_TRANSMISSION || c->rx ||
            c->in_flight < NBD_SERVER_MAX_REQUESTS);
}

static gboolean client_io(gint fd, GIOCondition cond, gpointer opaque)
{
    NBDClient *c = opaque;

    (void)fd;
    if (c->phase == PHASE_TLS_HANDSHAKE) {
        c->watch = 0;       /* the handshake goes on in client_update_watch */
        client_update_watch(c);
        return G_SOURCE_REMOVE;
    }
    if ((cond & G_IO_OUT) && !client_flush_output(c)) {
        c->watch = 0;
        client_close(c);
        return G_SOURCE_REMOVE;
    }
    if ((cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && wants_input(c)) {
        bool ok = client_read(c) && take_buffered_payload(c) &&
                  client_flush_output(c);

        if (!ok) {
            c->watch = 0;
            client_close(c);
            return G_SOURCE_REMOVE;
        }
    } else if (cond & (G_IO_HUP | G_IO_ERR)) {
        c->watch = 0;
        client_close(c);
        return G_SOURCE_REMOVE;
    }
    c->watch = 0;           /* re-armed for what is wanted now */
    client_update_watch(c);
    return G_SOURCE_REMOVE;
}

/*
 * One step of the TLS handshake after STARTTLS; false: drop the client.
 * *@cond: what the socket must become for the next step (0: done, the
 * option phase goes on).  The ACK goes out in clear first.
 */
static bool client_tls_step(NBDClient *c, GIOCondition *cond)
{
    GError *err = NULL;
    int ret;

    *cond = 0;
    if (!client_flush_output(c)) {
        return false;
    }
    if (out_pending(c)) {
        *cond = G_IO_OUT;
        return true;
    }
    if (!c->tls) {
        c->tls = qcrypto_tls_session_new(c->tls_creds, NULL, c->fd, true,
                                         &err);
        if (!c->tls) {
            g_printerr("kvmpc: NBD server: %s\n", err->message);
            g_error_free(err);
            return false;
        }
        /* a client that did not wait for the ACK (the protocol says it
         * must): QEMU reads options exactly, so its TLS layer sees
         * those bytes first, and so does ours */
        qcrypto_tls_session_set_prefix(c->tls, c->in->data, c->in->len);
        g_byte_array_set_size(c->in, 0);
    }
    ret = qcrypto_tls_session_handshake(c->tls, &err);
    if (ret < 0) {
        /* a client's failure (wrong CA, plain client): not ours to log */
        g_error_free(err);
        return false;
    }
    if (ret == 0) {
        *cond = qcrypto_tls_session_wants_write(c->tls) ? G_IO_OUT : G_IO_IN;
        return true;
    }
    /* the server's policy refused a client it configured: worth a line,
     * as in QEMU */
    if (c->tls_authz &&
        !qcrypto_tls_session_check_authz(c->tls, c->tls_authz, &err)) {
        error_report("NBD server: %s", err->message);
        g_error_free(err);
        return false;
    }
    c->tls_up = true;
    c->phase = PHASE_OPTIONS;
    return true;
}

/* GnuTLS holds decrypted input the socket will not announce: take it
 * as if the socket were readable. */
static gboolean client_tls_pending(gpointer opaque)
{
    NBDClient *c = opaque;

    c->tls_idle = 0;
    if (c->watch) {
        g_source_remove(c->watch);
        c->watch = 0;
    }
    return client_io(c->fd, G_IO_IN, c);
}

/* Watch for input while we take it, for output while some waits. */
static void client_update_watch(NBDClient *c)
{
    GIOCondition cond = 0;

    if (c->closing) {
        return;
    }
    if (c->tls_idle) {
        g_source_remove(c->tls_idle);
        c->tls_idle = 0;
    }
    if (c->phase == PHASE_TLS_HANDSHAKE) {
        if (!client_tls_step(c, &cond)) {
            client_close(c);
            return;
        }
        if (cond) {
            if (c->watch) {
                g_source_remove(c->watch);
            }
            c->watch = g_unix_fd_add(c->fd, cond, client_io, c);
            return;
        }
        cond = 0;       /* TLS is up: on to the options, in TLS */
    }
    /* Requests that completed may unblock parsing of buffered headers. */
    if (c->phase == PHASE_TRANSMISSION && !c->rx && c->in->len &&
        wants_input(c) && !process_input(c)) {
        client_close(c);
        return;
    }
    if (!take_buffered_payload(c) || !client_flush_output(c)) {
        client_close(c);
        return;
    }
    if (c->disc && !out_pending(c) && !c->in_flight) {
        client_close(c);
        return;
    }
    if (wants_input(c)) {
        cond |= G_IO_IN;
    }
    if (out_pending(c)) {
        cond |= G_IO_OUT;
    }
    if (c->watch) {
        g_source_remove(c->watch);
        c->watch = 0;
    }
    if (cond) {
        c->watch = g_unix_fd_add(c->fd, cond, client_io, c);
    }
    if ((cond & G_IO_IN) && c->tls_up &&
        qcrypto_tls_session_pending(c->tls)) {
        c->tls_idle = g_idle_add(client_tls_pending, c);
    }
}

/* Drop a client: now, or (requests in flight) when the last completes. */
static void client_close(NBDClient *c)
{
    if (c->watch) {
        g_source_remove(c->watch);
        c->watch = 0;
    }
    if (c->handshake_timer) {
        g_source_remove(c->handshake_timer);
        c->handshake_timer = 0;
    }
    if (c->tls_idle) {
        g_source_remove(c->tls_idle);
        c->tls_idle = 0;
    }
    if (!c->closing) {
        c->closing = true;
        shutdown(c->fd, SHUT_RDWR);
    }
    if (c->in_flight) {
        return;
    }
    if (c->rx) {
        request_free(c->rx);
        c->rx = NULL;
    }
    if (server) {
        server->clients = g_list_remove(server->clients, c);
    }
    if (c->exp) {
        NBDExport *exp = c->exp;
        exp->clients = g_list_remove(exp->clients, c);
        export_maybe_finish(exp);
    }
    qcrypto_tls_session_free(c->tls);
    qcrypto_tls_creds_unref(c->tls_creds);
    g_free(c->tls_authz);
    close(c->fd);
    g_byte_array_free(c->in, true);
    g_byte_array_free(c->out, true);
    g_free(c->meta_export);
    g_free(c);
}

static gboolean handshake_timeout(gpointer opaque)
{
    NBDClient *c = opaque;

    c->handshake_timer = 0;
    client_close(c);
    return G_SOURCE_REMOVE;
}

/* A new client on connected socket @cfd: greet it.  @creds: forced TLS
 * with these (a reference taken over), NULL: the server's setting. */
static void client_new(int cfd, QCryptoTLSCreds *creds)
{
    NBDClient *c;

    g_unix_set_fd_nonblocking(cfd, TRUE, NULL);
    c = g_new0(NBDClient, 1);
    c->fd = cfd;
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    if (creds) {
        c->tls_creds = creds;
    } else if (server->tls_creds) {
        c->tls_creds = qcrypto_tls_creds_ref(server->tls_creds);
        c->tls_authz = g_strdup(server->tls_authz);
    }
    server->clients = g_list_append(server->clients, c);
    c->handshake_timer = g_timeout_add_seconds(NBD_HANDSHAKE_TIMEOUT_S,
                                               handshake_timeout, c);
    out_be64(c, NBD_INIT_MAGIC);
    out_be64(c, NBD_OPTS_MAGIC);
    out_be16(c, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    client_update_watch(c);
}

static gboolean server_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    (void)cond;
    (void)opaque;
    if (cfd < 0) {
        return G_SOURCE_CONTINUE;
    }
    if (server->max_connections &&
        g_list_length(server->clients) >= server->max_connections) {
        close(cfd);
        return G_SOURCE_CONTINUE;
    }
    client_new(cfd, NULL);
    return G_SOURCE_CONTINUE;
}

bool nbd_server_add_client(int fd, const char *tls_creds, GError **errp)
{
    QCryptoTLSCreds *creds = NULL;

    if (!server_running(errp)) {
        return false;
    }
    if (tls_creds) {
        creds = qcrypto_tls_creds_find(tls_creds, QCRYPTO_TLS_ENDPOINT_SERVER,
                                       errp);
        if (!creds) {
            return false;
        }
    }
    client_new(fd, creds);
    return true;
}

/* ---- QMP ------------------------------------------------------------- */

static bool server_running(GError **errp)
{
    if (!server) {
        error_setg(errp, "NBD server not running");
        return false;
    }
    return true;
}

/* The listening URI (migration/channel.c's syntax) for @addr. */
static char *listen_uri(SocketAddressLegacy *addr, GError **errp)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        InetSocketAddress *in = addr->u.inet.data;
        bool v6 = strchr(in->host, ':') != NULL;
        return g_strdup_printf("tcp:%s%s%s:%s", v6 ? "[" : "", in->host,
                               v6 ? "]" : "", in->port);
    }
    case SOCKET_ADDRESS_TYPE_UNIX:
        if (addr->u.q_unix.data->has_abstract &&
            addr->u.q_unix.data->abstract) {
            error_setg(errp, "abstract UNIX sockets are not supported");
            return NULL;
        }
        return g_strdup_printf("unix:%s", addr->u.q_unix.data->path);
    default:
        error_setg(errp, "NBD server address type '%s' is not supported "
                   "(inet and unix are)", SocketAddressType_str[addr->type]);
        return NULL;
    }
}

void qmp_nbd_server_start(SocketAddressLegacy *addr, const char *tls_creds,
                          const char *tls_authz, bool has_max_connections,
                          uint32_t max_connections, GError **errp)
{
    g_autofree char *uri = NULL;
    QCryptoTLSCreds *creds = NULL;
    int fd;

    if (server) {
        error_setg(errp, "NBD server already running");
        return;
    }
    if (tls_creds) {
        creds = qcrypto_tls_creds_find(tls_creds, QCRYPTO_TLS_ENDPOINT_SERVER,
                                       errp);
        if (!creds) {
            return;
        }
    }
    uri = listen_uri(addr, errp);
    fd = uri ? migration_channel_listen(uri, errp) : -1;
    if (fd < 0) {
        qcrypto_tls_creds_unref(creds);
        return;
    }
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    server = g_new0(NBDServer, 1);
    server->listen_fd = fd;
    server->max_connections = has_max_connections ? max_connections : 0;
    server->tls_creds = creds;
    /* as QEMU 7.2: looked up at each handshake, ignored without TLS */
    server->tls_authz = g_strdup(tls_authz);
    server->watch = g_unix_fd_add(fd, G_IO_IN, server_accept, NULL);
}

/* The node a device (backend) name or a node name gives; QEMU's message
 * names the device only where the command had one (nbd-server-add). */
static BlockDriverState *find_node(const char *name, bool as_device,
                                   GError **errp)
{
    BlockBackend *blk = blk_by_name(name);
    BlockDriverState *bs = blk ? blk_bs(blk) : bdrv_find_node(name);

    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   as_device ? name : "", name);
    }
    return bs;
}

/* @name on @bs or down its backing chain (QEMU's lookup). */
static BdrvDirtyBitmap *find_bitmap_in_chain(BlockDriverState *bs,
                                             const char *name)
{
    for (; bs; bs = bdrv_backing(bs)) {
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, name);

        if (bm) {
            return bm;
        }
    }
    return NULL;
}

/* The bitmaps @names asks an export of @bs for, with QEMU's checks;
 * into @out (at most NBD_MAX_BITMAPS). */
static bool export_find_bitmaps(BlockDriverState *bs, strList *names,
                                bool writable, GPtrArray *out, GError **errp)
{
    for (strList *l = names; l; l = l->next) {
        BdrvDirtyBitmap *bm = find_bitmap_in_chain(bs, l->value);

        if (!bm) {
            error_setg(errp, "Bitmap '%s' is not found", l->value);
            return false;
        }
        if (!bdrv_dirty_bitmap_check(bm, BDRV_BITMAP_ALLOW_RO, errp)) {
            return false;
        }
        /* A read-only export's bitmap must not move under its clients. */
        if (!writable && !bdrv_is_read_only(bs) &&
            bdrv_dirty_bitmap_enabled(bm)) {
            error_setg(errp, "Enabled bitmap '%s' incompatible with "
                       "readonly export", l->value);
            return false;
        }
        if (strlen(NBD_META_DIRTY_BITMAP) + strlen(l->value) >
            NBD_MAX_STRING_SIZE) {
            error_setg(errp, "Bitmap '%s' name too long for an NBD context",
                       l->value);
            return false;
        }
        if (out->len == NBD_MAX_BITMAPS) {
            error_setg(errp, "At most %d bitmaps can be exported",
                       NBD_MAX_BITMAPS);
            return false;
        }
        g_ptr_array_add(out, bm);
    }
    return true;
}

static bool export_add(const char *id, const char *node, bool as_device,
                       const char *name, const char *description,
                       bool writable, bool writethrough, strList *bitmaps,
                       bool allocation_depth, GError **errp)
{
    g_autoptr(GPtrArray) bms = g_ptr_array_new();
    BlockDriverState *bs;
    NBDExport *exp;

    if (!server_running(errp)) {
        return false;
    }
    if (export_by_id(id)) {
        error_setg(errp, "Block export id '%s' is already in use", id);
        return false;
    }
    bs = find_node(node, as_device, errp);
    if (!bs) {
        return false;
    }
    /* nbd-server-add quietly exports a read-only node read-only. */
    if (as_device && bdrv_is_read_only(bs)) {
        writable = false;
    }
    if (strlen(name) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "export name '%s' too long", name);
        return false;
    }
    if (description && strlen(description) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "description '%s' too long", description);
        return false;
    }
    if (export_by_name(name)) {
        error_setg(errp, "NBD server already has export named '%s'", name);
        return false;
    }
    if (writable && bdrv_is_read_only(bs)) {
        error_setg(errp, "Cannot export read-only node as writable");
        return false;
    }
    if (!export_find_bitmaps(bs, bitmaps, writable, bms, errp)) {
        return false;
    }
    exp = g_new0(NBDExport, 1);
    /* What QEMU's exports ask of their node: a writable one beside a
     * guest disk that does not share writes is refused (an incoming VM
     * holds nothing, so libvirt's migration target exports its disks). */
    exp->user = (BdrvRootUser) {
        .bs = bs, .shared = BLK_PERM_ALL, .desc = "an unnamed block device",
        .perm = BLK_PERM_CONSISTENT_READ | (writable ? BLK_PERM_WRITE : 0),
    };
    if (!bdrv_root_user_add(&exp->user, errp)) {
        g_free(exp);
        return false;
    }
    exp->allocation_depth = allocation_depth;
    exp->nbitmaps = bms->len;
    exp->bitmaps = g_new0(BdrvDirtyBitmap *, bms->len + 1);
    exp->bitmap_contexts = g_new0(char *, bms->len + 1);
    for (unsigned i = 0; i < bms->len; i++) {
        exp->bitmaps[i] = g_ptr_array_index(bms, i);
        exp->bitmap_contexts[i] = g_strconcat(NBD_META_DIRTY_BITMAP,
            bdrv_dirty_bitmap_name(exp->bitmaps[i]), NULL);
        bdrv_dirty_bitmap_set_busy(exp->bitmaps[i], true);
    }
    exp->id = g_strdup(id);
    exp->name = g_strdup(name);
    exp->description = g_strdup(description);
    exp->bs = bs;
    bdrv_ref(bs);
    exp->writable = writable;
    exp->writethrough = writethrough;
    exports = g_list_append(exports, exp);
    return true;
}

void qmp_block_export_add(BlockExportOptions *o, GError **errp)
{
    BlockExportOptionsNbd *nbd = &o->u.nbd;

    if (o->iothread) {
        error_setg(errp, "Exports run on the main loop here: 'iothread' "
                   "is not supported");
        return;
    }
    export_add(o->id, o->node_name, false,
               nbd->name ? nbd->name : o->node_name,
               nbd->description, o->has_writable && o->writable,
               o->has_writethrough && o->writethrough, nbd->bitmaps,
               nbd->has_allocation_depth && nbd->allocation_depth, errp);
}

void qmp_nbd_server_add(NbdServerAddOptions *o, GError **errp)
{
    const char *name = o->name ? o->name : o->device;
    strList one = { .value = o->bitmap };

    if (!server_running(errp)) {
        return;
    }
    if (export_by_name(name)) {
        error_setg(errp, "NBD server already has export named '%s'", name);
        return;
    }
    /* QEMU names the export's id after the export. */
    export_add(name, o->device, true, name, o->description,
               o->has_writable && o->writable, false,
               o->bitmap ? &one : NULL, false, errp);
}

static void export_del(NBDExport *exp, bool has_mode,
                       BlockExportRemoveMode mode, GError **errp)
{
    if (exp->shutting_down) {
        error_setg(errp, "Export '%s' is already shutting down", exp->id);
        return;
    }
    if ((!has_mode || mode == BLOCK_EXPORT_REMOVE_MODE_SAFE) &&
        exp->clients) {
        error_setg(errp, "export '%s' still in use", exp->id);
        return;
    }
    export_remove(exp);
}

void qmp_block_export_del(const char *id, bool has_mode,
                          BlockExportRemoveMode mode, GError **errp)
{
    NBDExport *exp = export_by_id(id);

    if (!exp) {
        error_setg(errp, "Export '%s' is not found", id);
        return;
    }
    export_del(exp, has_mode, mode, errp);
}

void qmp_nbd_server_remove(const char *name, bool has_mode,
                           BlockExportRemoveMode mode, GError **errp)
{
    NBDExport *exp;

    if (!server_running(errp)) {
        return;
    }
    exp = export_by_name(name);
    if (!exp) {
        error_setg(errp, "Export '%s' is not found", name);
        return;
    }
    export_del(exp, has_mode, mode, errp);
}

void qmp_nbd_server_stop(GError **errp)
{
    GList *l;

    if (!server_running(errp)) {
        return;
    }
    l = g_list_copy(exports);
    for (GList *i = l; i; i = i->next) {
        NBDExport *exp = i->data;
        if (!exp->shutting_down) {
            export_remove(exp);
        }
    }
    g_list_free(l);
    /* Clients still negotiating go too. */
    l = g_list_copy(server->clients);
    for (GList *i = l; i; i = i->next) {
        client_close(i->data);
    }
    g_list_free(l);
    g_source_remove(server->watch);
    close(server->listen_fd);
    /* Clients finishing their last requests no longer list themselves. */
    g_list_free(server->clients);
    qcrypto_tls_creds_unref(server->tls_creds);
    g_free(server->tls_authz);
    g_free(server);
    server = NULL;
}

BlockExportInfoList *qmp_query_block_exports(GError **errp)
{
    BlockExportInfoList *list = NULL, **tail = &list;

    (void)errp;
    for (GList *l = exports; l; l = l->next) {
        NBDExport *exp = l->data;
        BlockExportInfoList *e = g_new0(BlockExportInfoList, 1);

        e->value = g_new0(BlockExportInfo, 1);
        e->value->id = g_strdup(exp->id);
        e->value->type = BLOCK_EXPORT_TYPE_NBD;
        e->value->node_name = g_strdup(bdrv_node_name(exp->bs));
        e->value->shutting_down = exp->shutting_down;
        *tail = e;
        tail = &e->next;
    }
    return list;
}
