/*
 * The I/O limits' leaky buckets (block/throttle.c) on a made-up clock:
 * what may go at once, how long the rest waits, bursts, the request size
 * and the read/write split.
 */
#include "qemu/osdep.h"
#include "block/throttle.h"

#define MS 1000000LL

static void cfg_ops(ThrottleConfig *c, unsigned i, uint64_t avg, uint64_t max,
                    uint64_t len)
{
    c->b[i] = (ThrottleBucketConfig) { avg, max, len };
}

/* Admit requests at @now until one must wait; how many went. */
static unsigned admit_all(ThrottleState *st, const ThrottleConfig *c,
                          int64_t now, bool write, uint64_t bytes)
{
    unsigned n = 0;

    throttle_leak(st, c, now);
    while (!throttle_wait_ns(st, c, write) && n < 100000) {
        throttle_account(st, c, write, bytes);
        n++;
    }
    return n;
}

static void test_no_limits(void)
{
    ThrottleConfig c;
    ThrottleState st;

    throttle_config_init(&c);
    throttle_state_init(&st, 0);
    g_assert_false(throttle_enabled(&c));
    for (unsigned i = 0; i < 1000; i++) {
        throttle_account(&st, &c, i & 1, 1 << 20);
    }
    g_assert_cmpint(throttle_wait_ns(&st, &c, false), ==, 0);
}

/* iops=10: a tenth of a second's worth (1 request) over the first, then
 * one per 100 ms. */
static void test_average(void)
{
    ThrottleConfig c;
    ThrottleState st;
    int64_t wait;

    throttle_config_init(&c);
    cfg_ops(&c, THROTTLE_OPS_TOTAL, 10, 0, 1);
    g_assert_true(throttle_enabled(&c));
    g_assert_true(throttle_config_check(&c, NULL));
    throttle_state_init(&st, 0);
    g_assert_cmpuint(admit_all(&st, &c, 0, false, 4096), ==, 2);
    wait = throttle_wait_ns(&st, &c, true);
    g_assert_cmpint(wait, >, 99 * MS);
    g_assert_cmpint(wait, <=, 101 * MS);
    g_assert_cmpuint(admit_all(&st, &c, 50 * MS, false, 4096), ==, 0);
    g_assert_cmpuint(admit_all(&st, &c, 101 * MS, false, 4096), ==, 1);
    /* a driver that keeps trying every 10 ms gets ten in the next second */
    {
        unsigned n = 0;

        for (int64_t t = 111 * MS; t <= 1101 * MS; t += 10 * MS) {
            n += admit_all(&st, &c, t, true, 4096);
        }
        g_assert_cmpuint(n, ==, 10);
    }
    /* an idle bucket holds no credit beyond its tenth of a second */
    g_assert_cmpuint(admit_all(&st, &c, 60000 * MS, true, 4096), ==, 2);
}

/* bps=1 MiB/s: bytes, not requests; a big request waits its size out. */
static void test_bytes(void)
{
    ThrottleConfig c;
    ThrottleState st;

    throttle_config_init(&c);
    cfg_ops(&c, THROTTLE_BPS_TOTAL, 1 << 20, 0, 1);
    throttle_state_init(&st, 0);
    throttle_account(&st, &c, false, 1 << 20);
    /* 1 MiB in a 0.1 MiB bucket: 0.9 s to drain down to it */
    g_assert_cmpint(throttle_wait_ns(&st, &c, false), >, 899 * MS);
    g_assert_cmpint(throttle_wait_ns(&st, &c, false), <=, 901 * MS);
}

/* iops=10, iops_max=100: a burst of up to 100 at once (max * length),
 * then the average; with a burst length of 2 s the burst itself goes at
 * most max per second (a tenth's worth at once). */
static void test_burst(void)
{
    ThrottleConfig c;
    ThrottleState st;

    throttle_config_init(&c);
    cfg_ops(&c, THROTTLE_OPS_TOTAL, 10, 100, 1);
    throttle_state_init(&st, 0);
    g_assert_cmpuint(admit_all(&st, &c, 0, false, 512), ==, 101);

    cfg_ops(&c, THROTTLE_OPS_TOTAL, 10, 100, 2);
    g_assert_true(throttle_config_check(&c, NULL));
    throttle_state_init(&st, 0);
    g_assert_cmpuint(admit_all(&st, &c, 0, false, 512), ==, 11);
    /* 100 ms later the burst level let ten more through */
    g_assert_cmpuint(admit_all(&st, &c, 100 * MS, false, 512), ==, 10);
}

/* iops_size=4096: a 64 KiB request counts as 16. */
static void test_op_size(void)
{
    ThrottleConfig c;
    ThrottleState st;

    throttle_config_init(&c);
    cfg_ops(&c, THROTTLE_OPS_TOTAL, 160, 0, 1);
    c.op_size = 4096;
    throttle_state_init(&st, 0);
    throttle_account(&st, &c, true, 65536);
    g_assert_cmpint(throttle_wait_ns(&st, &c, true), ==, 0);    /* 16 */
    throttle_account(&st, &c, true, 65536);                     /* 32 */
    g_assert_cmpint(throttle_wait_ns(&st, &c, true), >, 99 * MS);
    /* a small request counts as one */
    throttle_state_init(&st, 0);
    throttle_account(&st, &c, true, 512);
    g_assert_cmpfloat(st.level[THROTTLE_OPS_TOTAL], ==, 1.0);
}

/* Separate read and write limits: writes wait, reads do not. */
static void test_read_write(void)
{
    ThrottleConfig c;
    ThrottleState st;

    throttle_config_init(&c);
    cfg_ops(&c, THROTTLE_OPS_WRITE, 10, 0, 1);
    throttle_state_init(&st, 0);
    g_assert_cmpuint(admit_all(&st, &c, 0, true, 512), ==, 2);
    g_assert_cmpint(throttle_wait_ns(&st, &c, true), >, 0);
    g_assert_cmpint(throttle_wait_ns(&st, &c, false), ==, 0);
    throttle_account(&st, &c, false, 512);
    g_assert_cmpfloat(st.level[THROTTLE_OPS_READ], ==, 0.0);
}

static void test_config_errors(void)
{
    static const struct {
        unsigned bucket;
        ThrottleBucketConfig b;
        const char *error;
    } cases[] = {
        { THROTTLE_BPS_TOTAL, { 0, 10, 1 }, "require corresponding" },
        { THROTTLE_BPS_TOTAL, { 100, 10, 1 }, "cannot be lower" },
        { THROTTLE_OPS_READ, { 10, 0, 2 }, "without burst rate" },
        { THROTTLE_OPS_READ, { 10, 10, 0 }, "cannot be 0" },
        { THROTTLE_OPS_READ, { 10, THROTTLE_VALUE_MAX, 2 }, "too high" },
        { THROTTLE_OPS_READ, { THROTTLE_VALUE_MAX + 1, 0, 1 },
          "must be within" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        ThrottleConfig c;
        GError *err = NULL;

        throttle_config_init(&c);
        c.b[cases[i].bucket] = cases[i].b;
        g_assert_false(throttle_config_check(&c, &err));
        g_assert_nonnull(strstr(err->message, cases[i].error));
        g_clear_error(&err);
    }
    {
        ThrottleConfig c;
        GError *err = NULL;

        throttle_config_init(&c);
        cfg_ops(&c, THROTTLE_OPS_TOTAL, 10, 0, 1);
        cfg_ops(&c, THROTTLE_OPS_WRITE, 10, 0, 1);
        g_assert_false(throttle_config_check(&c, &err));
        g_assert_cmpstr(err->message, ==,
                        "iops and iops_rd/iops_wr cannot be used at the "
                        "same time");
        g_clear_error(&err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/throttle/no-limits", test_no_limits);
    g_test_add_func("/throttle/average", test_average);
    g_test_add_func("/throttle/bytes", test_bytes);
    g_test_add_func("/throttle/burst", test_burst);
    g_test_add_func("/throttle/op-size", test_op_size);
    g_test_add_func("/throttle/read-write", test_read_write);
    g_test_add_func("/throttle/config-errors", test_config_errors);
    return g_test_run();
}
