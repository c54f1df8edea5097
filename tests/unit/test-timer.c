/*
 * The timer lists (system/timer.c): due timers run in expiry order, and a
 * timer that re-arms itself in the past runs once per pass of the main
 * loop, so it can neither hold up the main loop nor starve other timers.
 */
#include "qemu/osdep.h"
#include "system/timer.h"
#include "system/main-loop.h"

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

/*
 * The main loop reads the next deadline just before it sleeps: it runs
 * nothing, is -1 with no timer armed (the loop may then sleep until an fd
 * event: no tick), and follows a timer moved after the last pass.
 */
static void test_next_deadline_runs_nothing(void)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    Rearming *r = rearming_new(false, now + 3600 * NANOSECONDS_PER_SECOND);

    g_assert_cmpint(timers_next_deadline_ns(), >,
                    3500 * NANOSECONDS_PER_SECOND);
    timer_mod(r->t, 0);                 /* due now, after the pass */
    g_assert_cmpint(timers_next_deadline_ns(), ==, 0);
    g_assert_cmpuint(r->runs, ==, 0);   /* only a pass runs it */
    g_assert_cmpint(timers_run_due(), ==, -1);
    g_assert_cmpuint(r->runs, ==, 1);
    g_assert_cmpint(timers_next_deadline_ns(), ==, -1);
    rearming_free(r);
}

/*
 * The main loop waits until the earliest timer to the nanosecond, not
 * rounded up to GLib's whole milliseconds: 122 us (RTC at 8192 Hz) is
 * 122 us, not 1 ms.
 */
static void test_poll_timeout_is_not_rounded(void)
{
    const int64_t now = 5000000000LL;

    /* GLib asks for 1 ms (its rounding of 122 us): wait 122 us. */
    g_assert_cmpint(main_loop_poll_timeout_ns(1, now + 122070, now), ==,
                    122070);
    /* No timer: GLib's timeout as is, or forever. */
    g_assert_cmpint(main_loop_poll_timeout_ns(7, -1, now), ==, 7000000);
    g_assert_cmpint(main_loop_poll_timeout_ns(-1, -1, now), ==, -1);
    /* Only a timer: until it. */
    g_assert_cmpint(main_loop_poll_timeout_ns(-1, now + 500, now), ==, 500);
    /* Another source wants to run sooner than the timer: GLib wins. */
    g_assert_cmpint(main_loop_poll_timeout_ns(0, now + 500, now), ==, 0);
    g_assert_cmpint(main_loop_poll_timeout_ns(2, now + 9000000, now), ==,
                    2000000);
    /* A deadline already past: do not wait. */
    g_assert_cmpint(main_loop_poll_timeout_ns(1, now - 10, now), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/timer/storm-runs-once-per-pass",
                    test_storm_runs_once_per_pass);
    g_test_add_func("/timer/storm-does-not-starve-others",
                    test_storm_does_not_starve_others);
    g_test_add_func("/timer/future-timer-waits", test_future_timer_waits);
    g_test_add_func("/timer/next-deadline-runs-nothing",
                    test_next_deadline_runs_nothing);
    g_test_add_func("/timer/poll-timeout-is-not-rounded",
                    test_poll_timeout_is_not_rounded);
    return g_test_run();
}
