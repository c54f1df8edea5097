/*
 * Clocks and timers.
 *
 * QEMU_CLOCK_VIRTUAL stops while the VM is stopped; with -accel qtest it only
 * moves when the test steps it.  QEMU_CLOCK_REALTIME never stops.
 * QEMU_CLOCK_HOST is wall time (CLOCK_REALTIME) for devices that model it.
 * Timer callbacks run on the main thread with the big lock held.
 */
#ifndef SYSTEM_TIMER_H
#define SYSTEM_TIMER_H
#include "qemu/osdep.h"

#define NANOSECONDS_PER_SECOND 1000000000LL

typedef enum QEMUClockType {
    QEMU_CLOCK_REALTIME,
    QEMU_CLOCK_VIRTUAL,
    QEMU_CLOCK_HOST,
    QEMU_CLOCK_MAX,
} QEMUClockType;

typedef struct QEMUTimer QEMUTimer;
typedef void QEMUTimerCB(void *opaque);

int64_t qemu_clock_get_ns(QEMUClockType type);
static inline int64_t qemu_clock_get_ms(QEMUClockType type)
{ return qemu_clock_get_ns(type) / 1000000; }

QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb, void *opaque);
void timer_free(QEMUTimer *t);
void timer_mod(QEMUTimer *t, int64_t expire_ns);
void timer_del(QEMUTimer *t);
bool timer_pending(const QEMUTimer *t);
/* -1 when not pending. */
int64_t timer_expire_time_ns(const QEMUTimer *t);

/* Stop or restart the virtual clock (vm_stop / vm_start). */
void qemu_clock_virtual_enable(bool enabled);
/* qtest: the virtual clock is manual from now on, starting at 0. */
void qemu_clock_virtual_set_manual(void);
bool qemu_clock_virtual_is_manual(void);
/*
 * Incoming migration: the stopped (or manual) virtual clock takes the
 * source's value, before device timers are loaded as absolute times.
 */
void qemu_clock_virtual_set_stopped(int64_t ns);
/* qtest: advance the manual clock to @ns, running timers due on the way. */
void qemu_clock_virtual_advance_to(int64_t ns);
/* Next deadline of armed virtual timers, or -1. */
int64_t qemu_clock_virtual_next_deadline(void);

/*
 * Run the timers that are due; returns the time in ns until the next one
 * (for the main loop's poll timeout) or -1 when none is armed.
 */
int64_t timers_run_due(void);
/*
 * The time in ns until the earliest armed timer (0: due now), or -1 when
 * none is armed; runs nothing.  A manual (qtest) or stopped virtual clock
 * has no deadline.
 */
int64_t timers_next_deadline_ns(void);

#endif
