/*
 * The timer lists (system/timer.c): due timers run in expiry order, and a
 * timer that re-arms itself in the past runs once per pass of the main
 * loop, so it can neither hold up the main loop nor starve other timers.
 */
#include "qemu/osdep.h"
#include "system/timer.h"

typedef struct Rearming {
    QEMUTimer *t;
    unsigned runs;
    bool rearm;             /* re-arm in the past from the callback */
} Rearming;

static void rearm_cb(void *opaque)
{
    Rearming *r = opaque;

    r->runs++;
    if (r->rearm) {
        timer_mod(r->t, 0);     /* long past: due again at once */
    }
}

static Rearming *rearming_new(bool rearm, int64_t expire)
{
    Rearming *r = g_new0(Rearming, 1);

    r->t = timer_new_ns(QEMU_CLOCK_REALTIME, rearm_cb, r);
    r->rearm = rearm;
    timer_mod(r->t, expire);
    return r;
}

static void rearming_free(Rearming *r)
{
    timer_free(r->t);
    g_free(r);
}

static void test_storm_runs_once_per_pass(void)
{
    Rearming *storm = rearming_new(true, 0);

    for (unsigned pass = 1; pass <= 5; pass++) {
        int64_t next = timers_run_due();

        g_assert_cmpuint(storm->runs, ==, pass);
        g_assert_cmpint(next, ==, 0);      /* still due: poll, then again */
    }
    rearming_free(storm);
}

static void test_storm_does_not_starve_others(void)
{
    Rearming *a = rearming_new(true, 0);
    Rearming *b = rearming_new(true, 1);
    Rearming *once = rearming_new(false, 2);

    timers_run_due();
    g_assert_cmpuint(a->runs, ==, 1);
    g_assert_cmpuint(b->runs, ==, 1);
    g_assert_cmpuint(once->runs, ==, 1);
    g_assert_false(timer_pending(once->t));
    timers_run_due();
    g_assert_cmpuint(a->runs, ==, 2);
    g_assert_cmpuint(b->runs, ==, 2);
    g_assert_cmpuint(once->runs, ==, 1);
    rearming_free(a);
    rearming_free(b);
    rearming_free(once);
}

static void test_future_timer_waits(void)
{
    int64_t in_an_hour = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                         3600 * NANOSECONDS_PER_SECOND;
    Rearming *later = rearming_new(false, in_an_hour);
    int64_t next = timers_run_due();

    g_assert_cmpuint(later->runs, ==, 0);
    g_assert_cmpint(next, >, 3500 * NANOSECONDS_PER_SECOND);
    rearming_free(later);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/timer/storm-runs-once-per-pass",
                    test_storm_runs_once_per_pass);
    g_test_add_func("/timer/storm-does-not-starve-others",
                    test_storm_does_not_starve_others);
    g_test_add_func("/timer/future-timer-waits", test_future_timer_waits);
    return g_test_run();
}
