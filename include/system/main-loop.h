/*
 * The main loop (a GLib main context on the main thread) and the big lock.
 *
 * Device state is protected by the big lock (BQL).  The main thread holds it
 * except while it polls; vCPU threads take it around device callbacks.
 */
#ifndef SYSTEM_MAIN_LOOP_H
#define SYSTEM_MAIN_LOOP_H
#include "qemu/osdep.h"

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);
/* For code that may run with or without the big lock: takes it when the
 * caller does not hold it; true if it did (then bql_unlock() after). */
bool bql_lock_if_unlocked(void);

void main_loop_init(void);
/* Run until exit is requested; returns the process exit status. */
int main_loop_run(void);
/* Make the main loop re-check timers and requests (any thread). */
void main_loop_wakeup(void);
/*
 * True on the thread that runs the main loop: work it queues there is seen
 * before the loop next sleeps, so it needs no main_loop_wakeup().
 */
bool main_loop_is_current_thread(void);
/* Run @fn(@opaque) on the main thread with the big lock held (any thread). */
void main_loop_call(void (*fn)(void *opaque), void *opaque);

/*
 * The poll timeout in ns (-1: none) from GLib's @timeout_ms and the
 * earliest timer's CLOCK_MONOTONIC deadline (-1: none): whichever is
 * sooner, so timers are not rounded up to whole milliseconds.
 */
int64_t main_loop_poll_timeout_ns(gint timeout_ms, int64_t deadline_ns,
                                  int64_t now_ns);

#endif
