/*
 * auto-converge's throttle decision: include/migration/auto-converge.h.
 */
#include "qemu/osdep.h"
#include "migration/auto-converge.h"

static unsigned throttle_down(ThrottleState *st, const ThrottleParams *p,
                              uint64_t dirty, uint64_t threshold)
{
    unsigned inc;

    if (!st->pct) {
        return MIN(p->initial, p->max);
    }
    if (!p->tailslow) {
        inc = p->increment;
    } else {
        /* the share of CPU that would bring the dirty rate to threshold */
        double cpu_now = 100 - st->pct;
        double cpu_ideal = cpu_now * ((double)threshold / (double)dirty);
        inc = MIN((unsigned)(cpu_now - cpu_ideal), p->increment);
    }
    return MIN(st->pct + inc, p->max);
}

unsigned auto_converge_period(ThrottleState *st, const ThrottleParams *p,
                              uint64_t xfer, uint64_t dirty)
{
    uint64_t threshold = xfer * p->trigger_threshold / 100;

    if (dirty > threshold && ++st->dirty_rate_high_cnt >= 2) {
        st->dirty_rate_high_cnt = 0;
        st->pct = throttle_down(st, p, dirty, threshold);
    }
    return st->pct;
}
