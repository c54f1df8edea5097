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

QmpCommandList qmp_commands;
QmpCommandList qmp_cap_negotiation_commands;

static void qmp_send(Monitor *mon, QDict *msg)
{
    g_autoptr(GString) json = qobject_to_json_pretty(QOBJECT(msg),
                                                     mon->pretty);

    g_string_append_c(json, '\n');
    monitor_puts(mon, json->str);
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

static void qmp_handle_request(Monitor *mon, QObject *req)
{
    bool negotiating = !mon->negotiated;
    Monitor *old = monitor_set_cur(mon);
    QDict *rsp;

    rsp = qmp_dispatch(negotiating ? &qmp_cap_negotiation_commands
                                   : &qmp_commands, req, mon->oob_enabled);
    monitor_set_cur(old);
    if (!rsp) {
        return;     /* a command without a success response */
    }
    if (negotiating) {
        qmp_fix_negotiation_error(rsp);
    }
    qmp_send(mon, rsp);
    qobject_unref(rsp);
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

    if (mon->dropping) {
        qobject_unref(value);
        if (err) {
            g_error_free(err);
        }
        return;
    }
    if (err) {
        bool fatal = json_error_is_fatal(err);
        QDict *rsp = qmp_error_response(err);

        qmp_send(mon, rsp);
        qobject_unref(rsp);
        if (fatal && qemu_chr_fe_disconnect(mon->chr)) {
            mon->dropping = true;   /* until CHR_EVENT_CLOSED */
        }
        return;
    }
    qmp_handle_request(mon, value);
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
    mon->negotiated = false;
    mon->oob_enabled = false;
    mon->dropping = false;
}

static int qmp_can_read(void *opaque)
{
    return QMP_READ_CHUNK;
}

static void qmp_read(void *opaque, const uint8_t *buf, int len)
{
    Monitor *mon = opaque;

    if (mon->dropping) {
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
    mon->parser = json_stream_parser_new(qmp_json_emit, mon);
    if (!qemu_chr_fe_attach(mon->chr, qmp_can_read, qmp_read, qmp_event,
                            mon, errp)) {
        json_stream_parser_free(mon->parser);
        mon->parser = NULL;
        return false;
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
    if (mon->negotiated) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command "
                    "ignored");
        return false;
    }
    mon->oob_enabled = enable_oob;
    mon->negotiated = true;
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
        if (mon->is_qmp && mon->negotiated && !mon->dropping) {
            qmp_send(mon, msg);
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
