/*
 * vCPU throttling (auto-converge): at @pct percent each vCPU sleeps
 * pct / (100 - pct) of every CPU_THROTTLE_TIMESLICE_NS it runs, as
 * QEMU's softmmu/cpu-throttle.c does.  While throttling is on, a main
 * loop timer kicks the vCPUs out of the accelerator every time slice so
 * a guest that never exits still gets throttled.
 */
#ifndef SYSTEM_CPU_THROTTLE_H
#define SYSTEM_CPU_THROTTLE_H
#include "qemu/osdep.h"

#define CPU_THROTTLE_PCT_MIN 1
#define CPU_THROTTLE_PCT_MAX 99
#define CPU_THROTTLE_TIMESLICE_NS 10000000LL

/* Any thread.  0 stops throttling. */
void cpu_throttle_set(int pct);
void cpu_throttle_stop(void);
bool cpu_throttle_active(void);
int cpu_throttle_get_percentage(void);
/* How long a vCPU sleeps after one time slice at @pct. */
int64_t cpu_throttle_sleep_ns(int pct);
/*
 * For the accelerator's vCPU loop, after each return from the guest:
 * sleeps when a time slice has passed since *@last_ns (updated).
 */
void cpu_throttle_vcpu_check(int64_t *last_ns);
/* The accelerator's "kick every vCPU" (KVM: a signal each). */
void cpu_throttle_set_kick(void (*kick_all)(void));

#endif
