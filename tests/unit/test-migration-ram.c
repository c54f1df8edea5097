/*
 * Migration RAM helpers without a machine: XBZRLE encoding (the format of
 * QEMU's docs/devel/xbzrle.rst) and its page cache, and auto-converge's
 * throttle decision (under qtest no vCPU runs, so the decision is tested
 * here on synthetic periods), and the vCPU sleep it leads to.
 */
#include "qemu/osdep.h"
#include "migration/xbzrle.h"
#include "migration/auto-converge.h"
#include "system/cpu-throttle.h"

#define PAGE 4096

static void roundtrip(const uint8_t *old, const uint8_t *new)
{
    uint8_t enc[PAGE], dst[PAGE];
    int n = xbzrle_encode_buffer(old, new, PAGE, enc, sizeof(enc));

    g_assert_cmpint(n, >=, 0);
    memcpy(dst, old, PAGE);
    g_assert_cmpint(xbzrle_decode_buffer(enc, n, dst, PAGE), <=, PAGE);
    g_assert_cmpmem(dst, PAGE, new, PAGE);
}

static void test_xbzrle_format(void)
{
    uint8_t old[PAGE] = { 0 }, new[PAGE] = { 0 }, enc[PAGE];
    int n;

    /* equal pages: nothing to send */
    g_assert_cmpint(xbzrle_encode_buffer(old, new, PAGE, enc, PAGE), ==, 0);
    /* bytes 10..12 changed: zrun 10, nzrun 3 + bytes, no trailing zrun */
    new[10] = 1; new[11] = 2; new[12] = 3;
    n = xbzrle_encode_buffer(old, new, PAGE, enc, PAGE);
    g_assert_cmpint(n, ==, 5);
    g_assert_cmpint(enc[0], ==, 10);
    g_assert_cmpint(enc[1], ==, 3);
    g_assert_cmpint(enc[2], ==, 1);
    g_assert_cmpint(enc[4], ==, 3);
    roundtrip(old, new);
    /* a change at 300: the zero run is ULEB128 in two bytes (0xac 0x02) */
    memset(new, 0, PAGE);
    new[300] = 0xff;
    n = xbzrle_encode_buffer(old, new, PAGE, enc, PAGE);
    g_assert_cmpint(n, ==, 4);
    g_assert_cmpint(enc[0], ==, 0xac);
    g_assert_cmpint(enc[1], ==, 0x02);
    g_assert_cmpint(enc[2], ==, 1);
    g_assert_cmpint(enc[3], ==, 0xff);
    /* a change at byte 0: an empty first zero run */
    memset(new, 0, PAGE);
    new[0] = 7;
    n = xbzrle_encode_buffer(old, new, PAGE, enc, PAGE);
    g_assert_cmpint(n, ==, 3);
    g_assert_cmpint(enc[0], ==, 0);
    roundtrip(old, new);
}

static void test_xbzrle_random(void)
{
    GRand *r = g_rand_new_with_seed(7);
    uint8_t old[PAGE], new[PAGE], enc[PAGE];

    for (int iter = 0; iter < 500; iter++) {
        int changes = g_rand_int_range(r, 0, 64);

        for (int i = 0; i < PAGE; i++) {
            old[i] = g_rand_int(r);
        }
        memcpy(new, old, PAGE);
        for (int c = 0; c < changes; c++) {
            int at = g_rand_int_range(r, 0, PAGE);
            int len = g_rand_int_range(r, 1, 40);
            for (int k = at; k < MIN(PAGE, at + len); k++) {
                new[k] = g_rand_int(r);
            }
        }
        roundtrip(old, new);
    }
    /* a page that changed everywhere does not fit: overflow */
    for (int i = 0; i < PAGE; i++) {
        old[i] = i;
        new[i] = ~i;
    }
    g_assert_cmpint(xbzrle_encode_buffer(old, new, PAGE, enc, PAGE - 64),
                    ==, -1);
    g_rand_free(r);
}

static void test_xbzrle_decode_hostile(void)
{
    uint8_t dst[PAGE] = { 0 };
    /* zero run past the page */
    const uint8_t past[] = { 0x80, 0x40, 1, 9 };
    /* literal run longer than the data */
    const uint8_t short_lit[] = { 0, 10, 1, 2 };
    /* an empty zero run after the first */
    const uint8_t empty_z[] = { 0, 1, 5, 0, 1, 6 };
    /* an empty literal run */
    const uint8_t empty_nz[] = { 4, 0 };
    /* unterminated ULEB128 */
    const uint8_t unterm[] = { 0xff, 0xff, 0xff, 0xff };

    g_assert_cmpint(xbzrle_decode_buffer(past, sizeof(past), dst, PAGE), ==,
                    -1);
    g_assert_cmpint(xbzrle_decode_buffer(short_lit, sizeof(short_lit), dst,
                                         PAGE), ==, -1);
    g_assert_cmpint(xbzrle_decode_buffer(empty_z, sizeof(empty_z), dst,
                                         PAGE), ==, -1);
    g_assert_cmpint(xbzrle_decode_buffer(empty_nz, sizeof(empty_nz), dst,
                                         PAGE), ==, -1);
    g_assert_cmpint(xbzrle_decode_buffer(unterm, sizeof(unterm), dst, PAGE),
                    ==, -1);
}

static void test_xbzrle_cache(void)
{
    XbzrleCache *c = xbzrle_cache_new(5 * PAGE);    /* rounds down to 4 */

    g_assert_cmpuint(c->slots, ==, 4);
    g_assert_null(xbzrle_cache_lookup(c, 17));
    memset(xbzrle_cache_insert(c, 17), 0xab, PAGE);
    g_assert_nonnull(xbzrle_cache_lookup(c, 17));
    g_assert_cmpint(xbzrle_cache_lookup(c, 17)[100], ==, 0xab);
    /* page 0 of block 0 is a valid key, distinct from "empty" */
    g_assert_null(xbzrle_cache_lookup(c, 0));
    xbzrle_cache_insert(c, 0);
    g_assert_nonnull(xbzrle_cache_lookup(c, 0));
    xbzrle_cache_free(c);
}

static const ThrottleParams defaults = {
    .trigger_threshold = 50, .initial = 20, .increment = 10,
    .tailslow = false, .max = 99,
};

static void test_throttle_starts_after_two_high_periods(void)
{
    ThrottleState st = { 0 };

    /* dirtying below half of what was sent: never */
    for (int i = 0; i < 5; i++) {
        g_assert_cmpuint(auto_converge_period(&st, &defaults, 1000, 400),
                         ==, 0);
    }
    st = (ThrottleState){ 0 };
    g_assert_cmpuint(auto_converge_period(&st, &defaults, 1000, 600), ==, 0);
    g_assert_cmpuint(auto_converge_period(&st, &defaults, 1000, 600), ==,
                     20);
    /* then +increment every second high period */
    g_assert_cmpuint(auto_converge_period(&st, &defaults, 1000, 600), ==,
                     20);
    g_assert_cmpuint(auto_converge_period(&st, &defaults, 1000, 600), ==,
                     30);
    for (int i = 0; i < 40; i++) {
        auto_converge_period(&st, &defaults, 1000, 600);
    }
    g_assert_cmpuint(st.pct, ==, 99);          /* max-cpu-throttle */
}

static void test_throttle_parameters(void)
{
    ThrottleParams p = defaults;
    ThrottleState st = { 0 };

    p.initial = 35;
    p.increment = 5;
    p.max = 45;
    p.trigger_threshold = 10;
    auto_converge_period(&st, &p, 1000, 150);
    g_assert_cmpuint(auto_converge_period(&st, &p, 1000, 150), ==, 35);
    auto_converge_period(&st, &p, 1000, 150);
    g_assert_cmpuint(auto_converge_period(&st, &p, 1000, 150), ==, 40);
    auto_converge_period(&st, &p, 1000, 150);
    g_assert_cmpuint(auto_converge_period(&st, &p, 1000, 150), ==, 45);
    auto_converge_period(&st, &p, 1000, 150);
    g_assert_cmpuint(auto_converge_period(&st, &p, 1000, 150), ==, 45);
}

static void test_throttle_tailslow(void)
{
    ThrottleParams p = defaults;
    ThrottleState st = { .pct = 20 };

    p.tailslow = true;
    /*
     * At 20% (80% CPU), dirtying 550 against a threshold of 500: the
     * ideal CPU share is 80 * 500/550 = 72.7, so the step is 7, not 10.
     */
    auto_converge_period(&st, &p, 1000, 550);
    g_assert_cmpuint(auto_converge_period(&st, &p, 1000, 550), ==, 27);
    /* far above the threshold: capped at the increment */
    auto_converge_period(&st, &p, 1000, 5000);
    g_assert_cmpuint(auto_converge_period(&st, &p, 1000, 5000), ==, 37);
}

static void test_throttle_sleep(void)
{
    g_assert_cmpint(cpu_throttle_sleep_ns(0), ==, 0);
    /* 20%: 2.5 ms sleep per 10 ms slice; 50%: equal; 99%: 990 ms */
    g_assert_cmpint(cpu_throttle_sleep_ns(20), ==, 2500000);
    g_assert_cmpint(cpu_throttle_sleep_ns(50), ==, 10000000);
    g_assert_cmpint(cpu_throttle_sleep_ns(99), ==, 990000000);
    cpu_throttle_set(30);
    g_assert_true(cpu_throttle_active());
    g_assert_cmpint(cpu_throttle_get_percentage(), ==, 30);
    cpu_throttle_set(150);
    g_assert_cmpint(cpu_throttle_get_percentage(), ==, 99);
    cpu_throttle_stop();
    g_assert_false(cpu_throttle_active());
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/xbzrle/format", test_xbzrle_format);
    g_test_add_func("/migration/xbzrle/random", test_xbzrle_random);
    g_test_add_func("/migration/xbzrle/decode-hostile",
                    test_xbzrle_decode_hostile);
    g_test_add_func("/migration/xbzrle/cache", test_xbzrle_cache);
    g_test_add_func("/migration/auto-converge/start",
                    test_throttle_starts_after_two_high_periods);
    g_test_add_func("/migration/auto-converge/parameters",
                    test_throttle_parameters);
    g_test_add_func("/migration/auto-converge/tailslow",
                    test_throttle_tailslow);
    g_test_add_func("/migration/auto-converge/sleep", test_throttle_sleep);
    return g_test_run();
}
