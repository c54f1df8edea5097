/*
 * The QMP server: one JSON stream per monitor, QEMU's greeting and
 * capabilities negotiation, dispatch through the generated command table,
 * and events to every monitor in command mode.
 *
 * Every reply and event is one line of JSON ended by "\r\n" (QEMU's
 * monitor output turns "\n" into "\r\n").  Errors while parsing get a
 * GenericError reply without "id"; a value over the parser's size limit
 * is fatal for that connection (error reply, then disconnect), since the
 * rest of the stream cannot be trusted.
 *
 * Threads.  A monitor on a chardev that can run in another context (a
 * socket: qemu_chr_set_gcontext) is read and parsed in the monitor I/O
 * thread.  There, "exec-oob" of a command that allows it (once the client
 * enabled "oob") runs at once and is answered at once; every other request
 * (and every parse error) is queued, in order, for the main thread, which
 * runs it under the big lock and answers in that order.  As in QEMU,
 * reading stops while QMP_REQ_QUEUE_LEN_MAX requests wait (one without
 * "oob", so such a client is served strictly one request at a time).
 * A queued request belongs to a session (one client connection): one whose
 * client left is dropped, and a reply whose client left is not written.
 * Other monitors (stdio, mux) do everything on the main thread, exec-oob
 * included, as before.
 */
#include "qemu/osdep.h"
#include "qemu/version.h"
#include "qapi/qmp-dispatch.h"
#include "qobject/json-parser.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "system/main-loop.h"
#include "monitor-internal.h"

/* Input is taken in chunks of this size (the parser bounds the rest). */
#define QMP_READ_CHUNK (64 * 1024)
/* Requests waiting for the main thread before reading stops (QEMU's). */
#define QMP_REQ_QUEUE_LEN_MAX 8

/* An in-band request (or a parse error's reply) for the main thread. */
typedef struct QmpRequest {
    QObject *req;           /* NULL: send @err_rsp */
    QDict *err_rsp;
    unsigned session;
} QmpRequest;

QmpCommandList qmp_commands;
QmpCommandList qmp_cap_negotiation_commands;

static void qmp_send(Monitor *mon, QDict *msg)
{
    g_autoptr(GString) json = qobject_to_json_pretty(QOBJECT(msg),
                                                     mon->pretty);

    g_string_append_c(json, '\n');
    monitor_puts(mon, json->str);
}

/*
 * Send @msg if the client of @session is still the one connected (any
 * client when @session is NULL and the monitor is in command mode: an
 * event).  The chardev's lock spans the check and the write, so a reply
 * never reaches the next client.
 */
static void qmp_send_to_session(Monitor *mon, QDict *msg,
                                const unsigned *session)
{
    bool current;

    g_rec_mutex_lock(&mon->chr->write_lock);
    g_mutex_lock(&mon->qmp_lock);
    current = session ? *session == mon->session
                      : mon->negotiated && !mon->dropping;
    g_mutex_unlock(&mon->qmp_lock);
    if (current) {
        qmp_send(mon, msg);
    }
    g_rec_mutex_unlock(&mon->chr->write_lock);
}

static QDict *qmp_greeting(void)
{
    QDict *qemu = qdict_new(), *version = qdict_new();
    QDict *body = qdict_new(), *greeting = qdict_new();
    QList *caps = qlist_new();

    /* Key order as QEMU prints it; clients do not depend on it. */
    qdict_put_int(qemu, "micro", QEMU_COMPAT_VERSION_MICRO);
    qdict_put_int(qemu, "minor", QEMU_COMPAT_VERSION_MINOR);
    qdict_put_int(qemu, "major", QEMU_COMPAT_VERSION_MAJOR);
    qdict_put(version, "qemu", qemu);
    qdict_put_str(version, "package", "kvmpc-" KVMPC_VERSION);
    qlist_append_str(caps, "oob");
    qdict_put(body, "version", version);
    qdict_put(body, "capabilities", caps);
    qdict_put(greeting, "QMP", body);
    return greeting;
}

/* ---- requests ------------------------------------------------------- */

/* QEMU's wording for commands sent before qmp_capabilities. */
static void qmp_fix_negotiation_error(QDict *rsp)
{
    QDict *error = qobject_to(QDict, qdict_get(rsp, "error"));
    const char *cls = error ? qdict_get_try_str(error, "class") : NULL;

    if (cls && !strcmp(cls, "CommandNotFound")) {
        qdict_put_str(error, "desc", "Expecting capabilities negotiation "
                      "with 'qmp_capabilities'");
    }
}

static void qmp_handle_request(Monitor *mon, QObject *req, unsigned session)
{
    Monitor *old;
    bool negotiating, oob_enabled;
    QDict *rsp;

    g_mutex_lock(&mon->qmp_lock);
    negotiating = !mon->negotiated;
    oob_enabled = mon->oob_enabled;
    g_mutex_unlock(&mon->qmp_lock);
    old = monitor_set_cur(mon);
    rsp = qmp_dispatch(negotiating ? &qmp_cap_negotiation_commands
                                   : &qmp_commands, req, oob_enabled);
    monitor_set_cur(old);
    if (!rsp) {
        return;     /* a command without a success response */
    }
    if (negotiating) {
        qmp_fix_negotiation_error(rsp);
    }
    qmp_send_to_session(mon, rsp, &session);
    qobject_unref(rsp);
}

/* "exec-oob" of a command that allows it, with "oob" enabled. */
static bool qmp_request_is_oob(Monitor *mon, QObject *req)
{
    QDict *dict = qobject_to(QDict, req);
    const char *name = dict ? qdict_get_try_str(dict, "exec-oob") : NULL;
    const QmpCommand *cmd;
    bool enabled;

    if (!name) {
        return false;
    }
    g_mutex_lock(&mon->qmp_lock);
    enabled = mon->negotiated && mon->oob_enabled;
    g_mutex_unlock(&mon->qmp_lock);
    cmd = enabled ? qmp_find_command(&qmp_commands, name) : NULL;
    return cmd && cmd->enabled && (cmd->options & QCO_ALLOW_OOB);
}

static void qmp_request_free(QmpRequest *r)
{
    qobject_unref(r->req);
    qobject_unref(r->err_rsp);
    g_free(r);
}

/* Main thread: the oldest queued request of @opaque's monitor. */
static void qmp_run_queued(void *opaque)
{
    Monitor *mon = opaque;
    QmpRequest *r;

    g_mutex_lock(&mon->qmp_lock);
    r = g_queue_pop_head(&mon->requests);
    g_mutex_unlock(&mon->qmp_lock);
    if (!r) {
        return;     /* dropped with its session */
    }
    if (r->req) {
        qmp_handle_request(mon, r->req, r->session);
    } else {
        qmp_send_to_session(mon, r->err_rsp, &r->session);
    }
    qmp_request_free(r);
    /* The queue has room again: reading may resume. */
    qemu_chr_fe_accept_input(mon->chr);
}

/* I/O thread: hand @req (or @err_rsp) to the main thread, in order. */
static void qmp_queue_request(Monitor *mon, QObject *req, QDict *err_rsp)
{
    QmpRequest *r = g_new0(QmpRequest, 1);

    r->req = req;
    r->err_rsp = err_rsp;
    g_mutex_lock(&mon->qmp_lock);
    r->session = mon->session;
    g_queue_push_tail(&mon->requests, r);
    g_mutex_unlock(&mon->qmp_lock);
    main_loop_call(qmp_run_queued, mon);
}

static unsigned qmp_current_session(Monitor *mon)
{
    unsigned session;

    g_mutex_lock(&mon->qmp_lock);
    session = mon->session;
    g_mutex_unlock(&mon->qmp_lock);
    return session;
}

static bool json_error_is_fatal(const GError *err)
{
    return err->domain == QOBJECT_JSON_ERROR &&
           err->code == QOBJECT_JSON_ERROR_TOO_LARGE;
}

/* Parser callback: one complete value or one error. */
static void qmp_json_emit(void *opaque, QObject *value, GError *err)
{
    Monitor *mon = opaque;
    bool dropping;

    g_mutex_lock(&mon->qmp_lock);
    dropping = mon->dropping;
    g_mutex_unlock(&mon->qmp_lock);
    if (dropping) {
        qobject_unref(value);
        if (err) {
            g_error_free(err);
        }
        return;
    }
    if (err) {
        bool fatal = json_error_is_fatal(err);
        QDict *rsp = qmp_error_response(err);

        if (mon->use_io_thread && !fatal) {
            qmp_queue_request(mon, NULL, rsp);  /* in order with replies */
            return;
        }
        qmp_send(mon, rsp);
        qobject_unref(rsp);
        if (fatal && qemu_chr_fe_disconnect(mon->chr)) {
            g_mutex_lock(&mon->qmp_lock);
            mon->dropping = true;   /* until CHR_EVENT_CLOSED */
            g_mutex_unlock(&mon->qmp_lock);
        }
        return;
    }
    if (mon->use_io_thread && !qmp_request_is_oob(mon, value)) {
        qmp_queue_request(mon, value, NULL);
        return;
    }
    qmp_handle_request(mon, value, qmp_current_session(mon));
    qobject_unref(value);
}

/* ---- the chardev side ----------------------------------------------- */

static void qmp_reset_session(Monitor *mon)
{
    if (mon->in_feed) {
        /* The parser is running: it is replaced once the feed returns. */
        mon->reset_after_feed = true;
        return;
    }
    json_stream_parser_free(mon->parser);
    mon->parser = json_stream_parser_new(qmp_json_emit, mon);
    g_mutex_lock(&mon->qmp_lock);
    mon->negotiated = false;
    mon->oob_enabled = false;
    mon->dropping = false;
    mon->session++;
    /* The client that sent them is gone (QEMU drops them too). */
    g_queue_clear_full(&mon->requests, (GDestroyNotify)qmp_request_free);
    g_mutex_unlock(&mon->qmp_lock);
}

static int qmp_can_read(void *opaque)
{
    Monitor *mon = opaque;
    bool full;

    if (!mon->use_io_thread) {
        return QMP_READ_CHUNK;
    }
    g_mutex_lock(&mon->qmp_lock);
    full = g_queue_get_length(&mon->requests) >=
           (mon->oob_enabled ? QMP_REQ_QUEUE_LEN_MAX : 1);
    g_mutex_unlock(&mon->qmp_lock);
    return full ? 0 : QMP_READ_CHUNK;
}

static void qmp_read(void *opaque, const uint8_t *buf, int len)
{
    Monitor *mon = opaque;
    bool dropping;

    g_mutex_lock(&mon->qmp_lock);
    dropping = mon->dropping;
    g_mutex_unlock(&mon->qmp_lock);
    if (dropping) {
        return;
    }
    mon->in_feed = true;
    json_stream_parser_feed(mon->parser, (const char *)buf, len);
    mon->in_feed = false;
    if (mon->reset_after_feed) {
        mon->reset_after_feed = false;
        qmp_reset_session(mon);
    }
}

static void qmp_event(void *opaque, ChrEvent event)
{
    Monitor *mon = opaque;
    QDict *greeting;

    switch (event) {
    case CHR_EVENT_OPENED:
        /* A new client starts from scratch: greeting, negotiation. */
        qmp_reset_session(mon);
        greeting = qmp_greeting();
        qmp_send(mon, greeting);
        qobject_unref(greeting);
        break;
    case CHR_EVENT_CLOSED:
        qmp_reset_session(mon);
        break;
    default:
        break;
    }
}

bool monitor_qmp_init(Monitor *mon, GError **errp)
{
    g_mutex_init(&mon->qmp_lock);
    g_queue_init(&mon->requests);
    mon->parser = json_stream_parser_new(qmp_json_emit, mon);
    if (!qemu_chr_fe_attach(mon->chr, qmp_can_read, qmp_read, qmp_event,
                            mon, errp)) {
        json_stream_parser_free(mon->parser);
        mon->parser = NULL;
        g_mutex_clear(&mon->qmp_lock);
        return false;
    }
    /*
     * Attached (and greeted, if a client is there) from here; then the
     * chardev moves to the I/O thread, which owns its input from now on.
     * A mux chardev (mon:stdio, shared with a serial port) or stdio stay
     * on the main loop.
     */
    if (!qemu_chr_is_mux(mon->chr) &&
        qemu_chr_set_gcontext(mon->chr, monitor_io_context())) {
        mon->use_io_thread = true;
        monitor_io_thread_start();
    }
    return true;
}

/* ---- capabilities (called by the qmp_capabilities command) ----------- */

bool monitor_qmp_negotiate(Monitor *mon, bool enable_oob, GError **errp)
{
    if (!mon || !mon->is_qmp) {
        /* human-monitor-command or an internal caller */
        error_setg(errp, "qmp_capabilities is only valid on a QMP monitor");
        return false;
    }
    g_mutex_lock(&mon->qmp_lock);
    if (mon->negotiated) {
        g_mutex_unlock(&mon->qmp_lock);
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command "
                    "ignored");
        return false;
    }
    mon->oob_enabled = enable_oob;
    mon->negotiated = true;
    g_mutex_unlock(&mon->qmp_lock);
    return true;
}

/* ---- events --------------------------------------------------------- */

static QDict *qmp_timestamp(void)
{
    gint64 now = g_get_real_time();
    QDict *ts = qdict_new();

    qdict_put_int(ts, "seconds", now / G_USEC_PER_SEC);
    qdict_put_int(ts, "microseconds", now % G_USEC_PER_SEC);
    return ts;
}

static void qmp_broadcast(QDict *msg)
{
    GPtrArray *mons = monitor_list();

    for (guint i = 0; i < mons->len; i++) {
        Monitor *mon = g_ptr_array_index(mons, i);
        /* QEMU sends events only to clients past negotiation. */
        if (mon->is_qmp) {
            qmp_send_to_session(mon, msg, NULL);
        }
    }
}

static void qmp_broadcast_deferred(void *opaque)
{
    QDict *msg = opaque;

    qmp_broadcast(msg);
    qobject_unref(msg);
}

void monitor_qmp_event_emit(const char *event, QDict *data)
{
    QDict *msg = qdict_new();

    qdict_put(msg, "timestamp", qmp_timestamp());
    qdict_put_str(msg, "event", event);
    if (data) {
        qdict_put(msg, "data", qobject_ref(data));
    }
    if (!bql_locked()) {
        /* From a vCPU thread: chardevs belong to the main loop. */
        main_loop_call(qmp_broadcast_deferred, msg);
        return;
    }
    qmp_broadcast(msg);
    qobject_unref(msg);
}
