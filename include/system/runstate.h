/*
 * Run state, and the requests that change it (reset, shutdown, powerdown,
 * exit).  Requests may come from any thread; the main loop carries them out.
 */
#ifndef SYSTEM_RUNSTATE_H
#define SYSTEM_RUNSTATE_H
#include "qemu/osdep.h"

/* QEMU's RunState names, in QAPI order. */
typedef enum RunState {
    RUN_STATE_DEBUG,
    RUN_STATE_INMIGRATE,
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_IO_ERROR,
    RUN_STATE_PAUSED,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_PRELAUNCH,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE_RESTORE_VM,
    RUN_STATE_RUNNING,
    RUN_STATE_SAVE_VM,
    RUN_STATE_SHUTDOWN,
    RUN_STATE_SUSPENDED,
    RUN_STATE_WATCHDOG,
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_COLO,
    RUN_STATE__MAX,
} RunState;
const char *runstate_name(RunState s);

/* QEMU's ShutdownCause names, in QAPI order. */
typedef enum ShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
    SHUTDOWN_CAUSE_SNAPSHOT_LOAD,
    SHUTDOWN_CAUSE__MAX,
} ShutdownCause;
const char *shutdown_cause_name(ShutdownCause c);
static inline bool shutdown_caused_by_guest(ShutdownCause c)
{ return c > SHUTDOWN_CAUSE_HOST_UI && c != SHUTDOWN_CAUSE_SUBSYSTEM_RESET; }

RunState runstate_get(void);
bool runstate_is_running(void);
void runstate_set(RunState s);

/* Start (or resume) the vCPUs. */
void vm_start(void);
/* Stop the vCPUs and the virtual clock; returns once they are stopped. */
void vm_stop(RunState state);

/* Set by the command line. */
extern bool no_reboot;      /* -no-reboot: a reset request becomes shutdown */
extern bool no_shutdown;    /* -no-shutdown: a shutdown request stops the VM */

void qemu_system_reset_request(ShutdownCause cause);
void qemu_system_shutdown_request(ShutdownCause cause);
/* ACPI power button (SHUTDOWN with POWERDOWN event first). */
void qemu_system_powerdown_request(void);
/* End the process with @status once the main loop sees it (isa-debug-exit). */
void qemu_system_exit_request(int status);

/* Powerdown handler (the machine's ACPI power button). */
void qemu_register_powerdown_handler(void (*fn)(void *opaque), void *opaque);

/*
 * Reset the whole machine now (main thread, BQL held): CPUs and devices to
 * power-on state.  Normally reached through qemu_system_reset_request.
 */
void qemu_system_reset(ShutdownCause cause);
/* Called by qemu_system_reset after devices; the accelerator resets CPUs. */
void qemu_register_reset(void (*fn)(void *opaque), void *opaque);

/* Events that monitors report (QMP STOP/RESUME/RESET/SHUTDOWN/POWERDOWN). */
typedef enum SystemEvent {
    SYSTEM_EVENT_STOP,
    SYSTEM_EVENT_RESUME,
    SYSTEM_EVENT_RESET,
    SYSTEM_EVENT_SHUTDOWN,
    SYSTEM_EVENT_POWERDOWN,
} SystemEvent;
typedef void (*SystemEventHook)(SystemEvent ev, ShutdownCause cause,
                                void *opaque);
void system_event_add_hook(SystemEventHook fn, void *opaque);

/* Main loop: carry out pending requests; true when the process must exit. */
bool main_loop_should_exit(int *status);

#endif
