/*
 * Monitors: creation, output, the "current monitor", and the bridge from
 * run-state changes to QMP events.
 *
 * Each -qmp / -monitor / -mon option makes one Monitor on one chardev;
 * monitors are independent of each other (own parser, own negotiation
 * state, own line editor).  human-monitor-command runs HMP commands on a
 * throw-away Monitor without a chardev whose output is captured.
 */
#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "monitor-internal.h"
#include "qapi/qmp-event.h"
#include "qobject/qdict.h"
#include "system/main-loop.h"
#include "system/runstate.h"

static GPtrArray *monitors;
/* Per thread: an exec-oob command in the I/O thread has its own. */
static __thread Monitor *cur_mon;

GPtrArray *monitor_list(void)
{
    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    return monitors;
}

Monitor *monitor_cur(void)
{
    return cur_mon;
}

Monitor *monitor_set_cur(Monitor *mon)
{
    Monitor *old = cur_mon;

    cur_mon = mon;
    return old;
}

/* ---- output --------------------------------------------------------- */

void monitor_write_raw(Monitor *mon, const char *buf, size_t len)
{
    if (mon->capture) {
        g_string_append_len(mon->capture, buf, len);
    } else if (mon->chr) {
        qemu_chr_write_all(mon->chr, (const uint8_t *)buf, len);
    }
}

void monitor_puts(Monitor *mon, const char *str)
{
    g_autoptr(GString) out = NULL;

    /* Terminals in raw mode need \r\n; QEMU sends it on every monitor,
     * QMP included (JSON strings never hold a raw newline). */
    out = g_string_sized_new(strlen(str) + 16);
    for (const char *p = str; *p; p++) {
        if (*p == '\n') {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    monitor_write_raw(mon, out->str, out->len);
}

void monitor_printf(Monitor *mon, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    monitor_puts(mon, text);
}

/* ---- the monitor I/O thread ----------------------------------------- */

/*
 * One thread, shared by every QMP monitor on a chardev that can run in
 * another context (QEMU's "mon_iothread").  It reads and parses their
 * input and runs exec-oob commands at once, so they get through while the
 * main thread is stuck (a postcopy page fault with the link down).
 */
static GMainContext *mon_io_ctx;
static GThread *mon_io_thread;
static int mon_io_quit;

static gpointer monitor_io_thread_run(gpointer opaque)
{
    /* Owning the context lets chardev code tell it runs in this thread. */
    g_main_context_push_thread_default(mon_io_ctx);
    while (!g_atomic_int_get(&mon_io_quit)) {
        g_main_context_iteration(mon_io_ctx, TRUE);
    }
    g_main_context_pop_thread_default(mon_io_ctx);
    return NULL;
}

GMainContext *monitor_io_context(void)
{
    if (!mon_io_ctx) {
        mon_io_ctx = g_main_context_new();
    }
    return mon_io_ctx;
}

void monitor_io_thread_start(void)
{
    if (!mon_io_thread) {
        mon_io_thread = g_thread_new("mon-iothread", monitor_io_thread_run,
                                     NULL);
    }
}

void monitor_io_thread_stop(void)
{
    if (!mon_io_thread) {
        return;
    }
    g_atomic_int_set(&mon_io_quit, 1);
    g_main_context_wakeup(mon_io_ctx);
    g_thread_join(mon_io_thread);
    mon_io_thread = NULL;
}

/* ---- creation ------------------------------------------------------- */

bool monitor_new(Chardev *chr, bool qmp, bool pretty, GError **errp)
{
    Monitor *mon = g_new0(Monitor, 1);

    mon->chr = chr;
    mon->is_qmp = qmp;
    mon->pretty = pretty;
    mon->last_format = 'x';
    mon->last_size = 4;
    monitor_events_init();
    monitor_qmp_commands_init();
    g_ptr_array_add(monitor_list(), mon);
    /* Attaching may deliver CHR_EVENT_OPENED (greeting, banner) at once. */
    if (qmp ? monitor_qmp_init(mon, errp) : monitor_hmp_init(mon, errp)) {
        return true;
    }
    g_ptr_array_remove(monitor_list(), mon);
    g_free(mon);
    return false;
}

char *hmp_run_command_on_cpu(const char *cmdline, int cpu)
{
    Monitor mon = {
        .capture = g_string_new(NULL),
        .last_format = 'x',
        .last_size = 4,
        .cpu_index = cpu >= 0 ? cpu : 0,
    };
    Monitor *old = monitor_set_cur(&mon);

    hmp_handle_command(&mon, cmdline);
    monitor_set_cur(old);
    return g_string_free(mon.capture, FALSE);
}

char *hmp_run_command(const char *cmdline, GError **errp)
{
    return hmp_run_command_on_cpu(cmdline, -1);
}

/* ---- run-state events ----------------------------------------------- */

static QDict *shutdown_data(ShutdownCause cause)
{
    QDict *data = qdict_new();

    qdict_put_bool(data, "guest", shutdown_caused_by_guest(cause));
    qdict_put_str(data, "reason", shutdown_cause_name(cause));
    return data;
}

typedef struct PendingEvent {
    SystemEvent ev;
    ShutdownCause cause;
} PendingEvent;

static void emit_system_event(SystemEvent ev, ShutdownCause cause)
{
    QDict *data = NULL;
    const char *name;

    switch (ev) {
    case SYSTEM_EVENT_STOP: name = "STOP"; break;
    case SYSTEM_EVENT_RESUME: name = "RESUME"; break;
    case SYSTEM_EVENT_POWERDOWN: name = "POWERDOWN"; break;
    case SYSTEM_EVENT_RESET:
        name = "RESET";
        data = shutdown_data(cause);
        break;
    case SYSTEM_EVENT_SHUTDOWN:
        name = "SHUTDOWN";
        data = shutdown_data(cause);
        break;
    default:
        return;
    }
    qapi_event_emit(name, data);
    qobject_unref(data);
}

static void emit_pending_event(void *opaque)
{
    PendingEvent *p = opaque;

    emit_system_event(p->ev, p->cause);
    g_free(p);
}

/* Run-state hooks may fire on a vCPU thread: chardevs need the lock. */
static void on_system_event(SystemEvent ev, ShutdownCause cause, void *opaque)
{
    PendingEvent *p;

    if (bql_locked()) {
        emit_system_event(ev, cause);
        return;
    }
    p = g_new(PendingEvent, 1);
    p->ev = ev;
    p->cause = cause;
    main_loop_call(emit_pending_event, p);
}

void monitor_events_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    qapi_event_set_emitter(monitor_qmp_event_emit);
    system_event_add_hook(on_system_event, NULL);
}
