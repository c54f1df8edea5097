/*
 * Monitor internals shared by monitor.c (common plumbing), qmp.c (the JSON
 * protocol), hmp.c / hmp-cmds.c / hmp-mem.c (the human monitor) and
 * qmp-cmds.c (QMP command implementations).
 *
 * All of it runs on the main thread with the big lock held, except the
 * input side of QMP monitors whose chardev can run in another context
 * (sockets): those are read, parsed and answered for exec-oob in the
 * monitor I/O thread (qmp.c), and their in-band requests are queued to
 * the main thread.
 */
#ifndef MONITOR_INTERNAL_H
#define MONITOR_INTERNAL_H
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "monitor/monitor.h"
#include "monitor/readline.h"
#include "qapi/qmp-dispatch.h"

typedef struct JsonStreamParser JsonStreamParser;

typedef struct Monitor {
    Chardev *chr;           /* NULL: output is captured into @capture */
    bool is_qmp;
    bool pretty;
    GString *capture;       /* human-monitor-command output */

    /* QMP */
    JsonStreamParser *parser;
    bool negotiated;        /* qmp_capabilities done: command mode */
    bool oob_enabled;
    bool dropping;          /* connection being closed: ignore input */
    bool in_feed;           /* inside json_stream_parser_feed */
    bool reset_after_feed;  /* CLOSED arrived during a feed */
    /*
     * Monitors in the I/O thread: qmp_lock guards negotiated, oob_enabled,
     * dropping, session and requests, which both threads use.  Lock
     * order: the chardev's write_lock first, then qmp_lock.
     */
    bool use_io_thread;
    GMutex qmp_lock;
    GQueue requests;        /* QmpRequest for the main thread, in order */
    unsigned session;       /* bumped at each connect and disconnect */

    /* HMP */
    ReadLineState *rs;
    bool mux_out;           /* another mux frontend has the focus */
    bool banner_pending;    /* opened while in the background */
    bool greeted;           /* banner and prompt have been shown */
    bool suspended;         /* a command runs on (HMP migrate): no input,
                               no prompt until monitor_resume() */
    unsigned cpu_index;     /* "cpu N": CPU for info registers and x */
    char last_format;       /* x/xp defaults, as QEMU keeps them */
    int last_size;
} Monitor;

/* The monitor whose command is running (QMP or HMP), or NULL. */
Monitor *monitor_cur(void);
Monitor *monitor_set_cur(Monitor *mon);

/* Output.  "\n" becomes "\r\n", as QEMU's monitor does. */
void monitor_puts(Monitor *mon, const char *str);
void monitor_printf(Monitor *mon, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void monitor_write_raw(Monitor *mon, const char *buf, size_t len);

/* The monitor I/O thread's context (made on first use), and its thread. */
GMainContext *monitor_io_context(void);
void monitor_io_thread_start(void);

/* All monitors, in creation order (do not modify). */
GPtrArray *monitor_list(void);

/* qmp.c */
/* All commands, and the one allowed before negotiation. */
extern QmpCommandList qmp_commands;
extern QmpCommandList qmp_cap_negotiation_commands;
/* qmp_capabilities on @mon (the current monitor). */
bool monitor_qmp_negotiate(Monitor *mon, bool enable_oob, GError **errp);
/* Attach to mon->chr; fails when the chardev is in use. */
bool monitor_qmp_init(Monitor *mon, GError **errp);
void monitor_qmp_event_emit(const char *event, QDict *data);
/* Set up the command tables (once). */
void monitor_qmp_commands_init(void);

/* hmp.c */
bool monitor_hmp_init(Monitor *mon, GError **errp);
/*
 * A command that goes on after its handler returns (HMP migrate without
 * -d, as QEMU) holds the monitor: input waits and no prompt shows until
 * monitor_resume().  Not for captured output (human-monitor-command),
 * where it returns false and the command runs detached.
 */
bool monitor_suspend(Monitor *mon);
void monitor_resume(Monitor *mon);
void hmp_handle_command(Monitor *mon, const char *cmdline);
/* human-monitor-command: run on CPU @cpu (-1: the caller's default). */
char *hmp_run_command_on_cpu(const char *cmdline, int cpu);
/* Command names for completion ("info" subcommands when @info). */
void hmp_complete(Monitor *mon, const char *line, GPtrArray *out);

/*
 * vm-control.c: what QMP and HMP commands share.  qmp-cmds.c cannot
 * include system/runstate.h (the generated qapi-types.h defines the same
 * RunState / ShutdownCause enums), so it reaches the run state here.
 */
/* QEMU's stop: pauses a running VM; nothing to do otherwise. */
void monitor_do_stop(void);
/* QEMU's cont: fails when the VM needs a reset first. */
bool monitor_do_cont(GError **errp);
void monitor_do_system_reset(void);
void monitor_do_system_powerdown(void);
void monitor_do_quit(void);
bool monitor_vm_running(void);
/* The machine UUID as text (all zeroes when none was given). */
char *monitor_machine_uuid(void);
/* "info pci" text. */
char *monitor_pci_info_text(void);

/* query-cpus-fast's qom-path of vCPU @idx (also listed by qom-list). */
char *monitor_cpu_qom_path(unsigned idx);

/* Hooks from the run state into QMP events (monitor.c). */
void monitor_events_init(void);

#endif
