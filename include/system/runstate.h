/*
 * Run state, and the requests that change it (reset, shutdown, powerdown,
 * exit).  Requests may come from any thread; the main loop carries them out.
 */
#ifndef SYSTEM_RUNSTATE_H
#define SYSTEM_RUNSTATE_H
#include "qemu/osdep.h"

/*
 * RunState and ShutdownCause are the QAPI schema's enums (qapi/run-state.json),
 * so QMP replies and events use the very same values.
 */
#include "qapi/qapi-types.h"

const char *runstate_name(RunState s);
const char *shutdown_cause_name(ShutdownCause c);
static inline bool shutdown_caused_by_guest(ShutdownCause c)
{ return c > SHUTDOWN_CAUSE_HOST_UI && c != SHUTDOWN_CAUSE_SUBSYSTEM_RESET; }

RunState runstate_get(void);
bool runstate_is_running(void);
void runstate_set(RunState s);

/* Start (or resume) the vCPUs. */
void vm_start(void);
/*
 * Stop the vCPUs and the virtual clock, then quiesce the devices and the
 * block layer through the VM change state handlers below: when it returns
 * no device starts a request and none is in flight (as QEMU's vm_stop
 * drains and flushes every disk), so a migration or savevm that follows
 * saves each device with its requests completed.
 */
void vm_stop(RunState state);

/*
 * VM change state handlers: @fn(@opaque, false) runs in vm_stop after the
 * vCPUs stopped, @fn(@opaque, true) in vm_start before they resume; the
 * big lock is held (main thread or the migration thread).  Stopping runs
 * them by ascending priority (devices stop taking requests, then the
 * block layer drains what is in flight), starting by descending.
 */
enum {
    VM_CHANGE_PRIO_DEVICE = 0,
    VM_CHANGE_PRIO_BLOCK = 100,
};
typedef void (*VMChangeStateHandler)(void *opaque, bool running);
void vm_change_state_add_handler(VMChangeStateHandler fn, void *opaque,
                                 int priority);
void vm_change_state_remove_handler(VMChangeStateHandler fn, void *opaque);

/* Set by the command line. */
extern bool no_reboot;      /* -no-reboot: a reset request becomes shutdown */
extern bool no_shutdown;    /* -no-shutdown: a shutdown request stops the VM */

void qemu_system_reset_request(ShutdownCause cause);
void qemu_system_shutdown_request(ShutdownCause cause);
/* ACPI power button (SHUTDOWN with POWERDOWN event first). */
void qemu_system_powerdown_request(void);
/* Stop the VM in @state once the main loop sees it: for code that runs
 * where vm_stop() cannot (a vCPU thread; a disk error, state io-error). */
void qemu_system_vmstop_request(RunState state);
/* End the process with @status once the main loop sees it (isa-debug-exit). */
void qemu_system_exit_request(int status);
/* An exit was asked for: vCPUs stop running guest code at once (QEMU's
 * isa-debug-exit ends the process from the vCPU thread itself). */
bool qemu_system_exit_pending(void);

/* Powerdown handler (the machine's ACPI power button). */
void qemu_register_powerdown_handler(void (*fn)(void *opaque), void *opaque);

/*
 * Reset the whole machine now (main thread, BQL held): CPUs and devices to
 * power-on state.  Normally reached through qemu_system_reset_request.
 */
void qemu_system_reset(ShutdownCause cause);
/* Called by qemu_system_reset after devices; the accelerator resets CPUs. */
void qemu_register_reset(void (*fn)(void *opaque), void *opaque);
void qemu_unregister_reset(void (*fn)(void *opaque), void *opaque);

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
