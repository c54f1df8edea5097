/*
 * auto-converge: when the guest dirties memory faster than precopy sends
 * it, throttle its vCPUs (QEMU 7.2's migration_trigger_throttle and
 * mig_throttle_guest_down, migration/ram.c).  The decision is a pure
 * function of the counters of one dirty-sync period, so it is tested
 * without vCPUs (tests/unit/test-auto-converge.c).
 */
#ifndef MIGRATION_AUTO_CONVERGE_H
#define MIGRATION_AUTO_CONVERGE_H
#include "qemu/osdep.h"

typedef struct ThrottleParams {
    unsigned trigger_threshold;     /* throttle-trigger-threshold, % */
    unsigned initial;               /* cpu-throttle-initial */
    unsigned increment;             /* cpu-throttle-increment */
    bool tailslow;                  /* cpu-throttle-tailslow */
    unsigned max;                   /* max-cpu-throttle */
} ThrottleParams;

typedef struct ThrottleState {
    unsigned dirty_rate_high_cnt;   /* periods in a row above threshold */
    unsigned pct;                   /* 0: not throttling */
} ThrottleState;

/*
 * One period: @xfer bytes sent, @dirty bytes dirtied.  When the dirtied
 * bytes exceed threshold% of the sent ones in two periods, throttling
 * starts at @initial, then grows by @increment (with @tailslow: only as
 * much as brings the dirty rate down to the threshold, at most
 * @increment) up to @max.  Returns the new percentage (st->pct).
 */
unsigned auto_converge_period(ThrottleState *st, const ThrottleParams *p,
                              uint64_t xfer, uint64_t dirty);

#endif
