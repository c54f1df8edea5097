/*
 * Run state and the reset/shutdown/powerdown/exit requests.
 *
 * Requests are flags any thread may set; the main loop (holding the big
 * lock) carries them out in main_loop_should_exit().
 */
#include "qemu/osdep.h"
#include "system/runstate.h"
#include "system/main-loop.h"
#include "system/timer.h"
#include "system/accel.h"
#include "hw/qdev.h"

bool no_reboot;
bool no_shutdown;

static RunState current_state = RUN_STATE_PRELAUNCH;
static gint reset_requested;        /* ShutdownCause, 0 = none */
static gint shutdown_requested;     /* ShutdownCause, 0 = none */
static gint powerdown_requested;
static gint exit_requested;
static gint vmstop_requested;       /* RunState + 1, 0 = none */
static gint exit_status;

typedef struct Hook {
    void (*fn)(void *opaque);
    void *opaque;
} Hook;
static GArray *reset_hooks;         /* Hook */
static Hook powerdown_handler;

typedef struct ChangeHandler {
    VMChangeStateHandler fn;
    void *opaque;
    int priority;
} ChangeHandler;
static GArray *change_handlers;     /* ChangeHandler, by ascending priority */

typedef struct EventHook {
    SystemEventHook fn;
    void *opaque;
} EventHook;
static GArray *event_hooks;

const char *runstate_name(RunState s)
{
    return s < RUN_STATE__MAX ? RunState_str[s] : "unknown";
}

const char *shutdown_cause_name(ShutdownCause c)
{
    return c < SHUTDOWN_CAUSE__MAX ? ShutdownCause_str[c] : "unknown";
}

RunState runstate_get(void)
{
    return current_state;
}

bool runstate_is_running(void)
{
    return current_state == RUN_STATE_RUNNING;
}

void runstate_set(RunState s)
{
    current_state = s;
}

void system_event_add_hook(SystemEventHook fn, void *opaque)
{
    EventHook h = { fn, opaque };

    if (!event_hooks) {
        event_hooks = g_array_new(FALSE, FALSE, sizeof(EventHook));
    }
    g_array_append_val(event_hooks, h);
}

static void emit_event(SystemEvent ev, ShutdownCause cause)
{
    for (unsigned i = 0; event_hooks && i < event_hooks->len; i++) {
        EventHook *h = &g_array_index(event_hooks, EventHook, i);
        h->fn(ev, cause, h->opaque);
    }
}

void vm_change_state_add_handler(VMChangeStateHandler fn, void *opaque,
                                 int priority)
{
    ChangeHandler h = { fn, opaque, priority };
    guint i = 0;

    if (!change_handlers) {
        change_handlers = g_array_new(FALSE, FALSE, sizeof(ChangeHandler));
    }
    /* after the ones of the same priority: registration order within it */
    while (i < change_handlers->len &&
           g_array_index(change_handlers, ChangeHandler, i).priority <=
           priority) {
        i++;
    }
    g_array_insert_val(change_handlers, i, h);
}

void vm_change_state_remove_handler(VMChangeStateHandler fn, void *opaque)
{
    for (guint i = 0; change_handlers && i < change_handlers->len; i++) {
        ChangeHandler *h = &g_array_index(change_handlers, ChangeHandler, i);
        if (h->fn == fn && h->opaque == opaque) {
            g_array_remove_index(change_handlers, i);
            return;
        }
    }
}

static void notify_change_handlers(bool running)
{
    guint n = change_handlers ? change_handlers->len : 0;

    for (guint k = 0; k < n; k++) {
        guint i = running ? n - 1 - k : k;
        ChangeHandler h;

        if (i >= change_handlers->len) {
            continue;       /* a handler removed itself */
        }
        h = g_array_index(change_handlers, ChangeHandler, i);
        h.fn(h.opaque, running);
    }
}

void vm_start(void)
{
    if (current_state == RUN_STATE_RUNNING) {
        return;
    }
    qemu_clock_virtual_enable(true);
    current_state = RUN_STATE_RUNNING;
    notify_change_handlers(true);
    if (current_accel && current_accel->resume_vcpus) {
        current_accel->resume_vcpus();
    }
    emit_event(SYSTEM_EVENT_RESUME, SHUTDOWN_CAUSE_NONE);
}

void vm_stop(RunState state)
{
    if (current_state != RUN_STATE_RUNNING) {
        return;     /* as QEMU: a stopped VM keeps its state */
    }
    if (current_accel && current_accel->pause_vcpus) {
        current_accel->pause_vcpus();
    }
    qemu_clock_virtual_enable(false);
    current_state = state;
    notify_change_handlers(false);
    emit_event(SYSTEM_EVENT_STOP, SHUTDOWN_CAUSE_NONE);
}

void qemu_register_reset(void (*fn)(void *opaque), void *opaque)
{
    Hook h = { fn, opaque };

    if (!reset_hooks) {
        reset_hooks = g_array_new(FALSE, FALSE, sizeof(Hook));
    }
    g_array_append_val(reset_hooks, h);
}

void qemu_unregister_reset(void (*fn)(void *opaque), void *opaque)
{
    for (guint i = 0; reset_hooks && i < reset_hooks->len; i++) {
        Hook *h = &g_array_index(reset_hooks, Hook, i);
        if (h->fn == fn && h->opaque == opaque) {
            g_array_remove_index(reset_hooks, i);
            return;
        }
    }
}

void qemu_register_powerdown_handler(void (*fn)(void *opaque), void *opaque)
{
    powerdown_handler.fn = fn;
    powerdown_handler.opaque = opaque;
}

void qemu_system_reset(ShutdownCause cause)
{
    bool running = runstate_is_running();

    if (running && current_accel && current_accel->pause_vcpus) {
        current_accel->pause_vcpus();
    }
    devices_reset_all();
    for (unsigned i = 0; reset_hooks && i < reset_hooks->len; i++) {
        Hook *h = &g_array_index(reset_hooks, Hook, i);
        h->fn(h->opaque);
    }
    if (current_accel && current_accel->reset_vcpus) {
        current_accel->reset_vcpus();
    }
    if (cause != SHUTDOWN_CAUSE_NONE) {
        emit_event(SYSTEM_EVENT_RESET, cause);
    }
    if (running && current_accel && current_accel->resume_vcpus) {
        current_accel->resume_vcpus();
    }
}

void qemu_system_reset_request(ShutdownCause cause)
{
    if (no_reboot && cause != SHUTDOWN_CAUSE_SUBSYSTEM_RESET) {
        g_atomic_int_set(&shutdown_requested, cause);
    } else {
        g_atomic_int_set(&reset_requested, cause);
    }
    main_loop_wakeup();
}

void qemu_system_shutdown_request(ShutdownCause cause)
{
    g_atomic_int_set(&shutdown_requested, cause);
    main_loop_wakeup();
}

void qemu_system_powerdown_request(void)
{
    g_atomic_int_set(&powerdown_requested, 1);
    main_loop_wakeup();
}

void qemu_system_vmstop_request(RunState state)
{
    g_atomic_int_set(&vmstop_requested, (int)state + 1);
    main_loop_wakeup();
}

void qemu_system_exit_request(int status)
{
    g_atomic_int_set(&exit_status, status);
    g_atomic_int_set(&exit_requested, 1);
    main_loop_wakeup();
}

bool qemu_system_exit_pending(void)
{
    return g_atomic_int_get(&exit_requested);
}

static bool handle_shutdown(ShutdownCause cause, int *status)
{
    emit_event(SYSTEM_EVENT_SHUTDOWN, cause);
    if (no_shutdown && cause != SHUTDOWN_CAUSE_HOST_QMP_QUIT &&
        cause != SHUTDOWN_CAUSE_HOST_SIGNAL) {
        vm_stop(RUN_STATE_SHUTDOWN);
        return false;
    }
    *status = 0;
    return true;
}

bool main_loop_should_exit(int *status)
{
    ShutdownCause cause;

    if (g_atomic_int_get(&exit_requested)) {
        *status = g_atomic_int_get(&exit_status);
        return true;
    }
    {
        int stop = g_atomic_int_and(&vmstop_requested, 0);
        if (stop) {
            vm_stop((RunState)(stop - 1));
        }
    }
    cause = g_atomic_int_and(&shutdown_requested, 0);
    if (cause && handle_shutdown(cause, status)) {
        return true;
    }
    cause = g_atomic_int_and(&reset_requested, 0);
    if (cause) {
        qemu_system_reset(cause);
        /* A reset VM that was not running starts over (QEMU's rule). */
        if (current_state != RUN_STATE_RUNNING &&
            current_state != RUN_STATE_INMIGRATE &&
            current_state != RUN_STATE_FINISH_MIGRATE) {
            current_state = RUN_STATE_PRELAUNCH;
        }
    }
    if (g_atomic_int_and(&powerdown_requested, 0)) {
        emit_event(SYSTEM_EVENT_POWERDOWN, SHUTDOWN_CAUSE_NONE);
        if (powerdown_handler.fn) {
            powerdown_handler.fn(powerdown_handler.opaque);
        }
    }
    return false;
}
