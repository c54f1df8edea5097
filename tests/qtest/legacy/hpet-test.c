/*
 * HPET at 0xfed00000: capabilities, the 100 MHz main counter on the
 * virtual clock, one-shot and periodic comparators, interrupt routing
 * (IOAPIC input 2 = machine line 0, legacy replacement to lines 0 and
 * 8, holding off the RTC), 32-bit mode, status W1C, and -no-hpet.
 */
#include "libqtest.h"

#define HPET            0xfed00000ULL
#define HPET_CAP        (HPET + 0x000)
#define HPET_CFG        (HPET + 0x010)
#define HPET_ISR        (HPET + 0x020)
#define HPET_COUNTER    (HPET + 0x0f0)
#define TN_CFG(n)       (HPET + 0x100 + 0x20 * (n))
#define TN_CMP(n)       (HPET + 0x108 + 0x20 * (n))

#define CFG_ENABLE      0x1
#define CFG_LEGACY      0x2
#define TN_LEVEL        (1u << 1)
#define TN_ENB          (1u << 2)
#define TN_PERIODIC     (1u << 3)
#define TN_PER_CAP      (1u << 4)
#define TN_SIZE_CAP     (1u << 5)
#define TN_VAL_SET      (1u << 6)
#define TN_32BIT        (1u << 8)
#define TN_ROUTE(n)     ((n) << 9)

#define LINE_INPUT2     0       /* IOAPIC input 2 is machine line 0 */
#define LINE_RTC        8

static QTestState *start(const char *args)
{
    QTestState *s = qtest_init(args);

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static void test_capabilities(void)
{
    QTestState *s = start("");

    g_assert_cmphex(qtest_readq(s, HPET_CAP), ==, 0x009896808086a201ULL);
    g_assert_cmphex(qtest_readl(s, HPET_CAP), ==, 0x8086a201);
    g_assert_cmphex(qtest_readl(s, HPET_CAP + 4), ==, 0x00989680);
    g_assert_cmphex(qtest_readq(s, HPET_CFG), ==, 0);
    for (unsigned n = 0; n < 3; n++) {
        g_assert_cmphex(qtest_readq(s, TN_CFG(n)), ==,
                        (4ULL << 32) | TN_PER_CAP | TN_SIZE_CAP);
        g_assert_cmphex(qtest_readq(s, TN_CMP(n)), ==, UINT64_MAX);
    }
    /* Beyond the three timers: reads as zero, writes ignored. */
    qtest_writeq(s, TN_CFG(3), TN_ENB);
    g_assert_cmphex(qtest_readq(s, TN_CFG(3)), ==, 0);
    /* Capabilities are read-only. */
    qtest_writel(s, HPET_CAP, 0);
    g_assert_cmphex(qtest_readl(s, HPET_CAP), ==, 0x8086a201);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_counter(void)
{
    QTestState *s = start("");

    qtest_clock_step(s, 5000);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 0);   /* halted */
    qtest_writel(s, HPET_CFG, CFG_ENABLE);
    qtest_clock_step(s, 1000);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 100);
    qtest_clock_step(s, 1000000);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 100100);
    /* Writes while running are ignored. */
    qtest_writeq(s, HPET_COUNTER, 7);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 100100);
    /* Halt, write, run on. */
    qtest_writel(s, HPET_CFG, 0);
    qtest_clock_step(s, 1000);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 100100);
    qtest_writeq(s, HPET_COUNTER, 0x123456789abcdef0ULL);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 0x123456789abcdef0ULL);
    qtest_writel(s, HPET_COUNTER + 4, 0x11111111);
    g_assert_cmphex(qtest_readl(s, HPET_COUNTER + 4), ==, 0x11111111);
    g_assert_cmphex(qtest_readl(s, HPET_COUNTER), ==, 0x9abcdef0);
    qtest_writel(s, HPET_CFG, CFG_ENABLE);
    qtest_clock_step(s, 50);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, 0x111111119abcdef5ULL);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_oneshot_level(void)
{
    QTestState *s = start("");

    qtest_writel(s, HPET_CFG, CFG_ENABLE);
    qtest_writeq(s, TN_CFG(2), TN_LEVEL | TN_ENB | TN_ROUTE(2));
    g_assert_cmphex(qtest_readl(s, TN_CFG(2)), ==,
                    TN_LEVEL | TN_ENB | TN_ROUTE(2) | TN_PER_CAP |
                    TN_SIZE_CAP);
    qtest_writeq(s, TN_CMP(2), qtest_readq(s, HPET_COUNTER) + 1000);
    qtest_clock_step(s, 9990);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmphex(qtest_readl(s, HPET_ISR), ==, 0);
    qtest_clock_step(s, 10);
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmphex(qtest_readl(s, HPET_ISR), ==, 1u << 2);
    /* W1C: writing 0 does nothing, 1 clears and releases the line. */
    qtest_writel(s, HPET_ISR, 0x3);
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    qtest_writel(s, HPET_ISR, 1u << 2);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmphex(qtest_readl(s, HPET_ISR), ==, 0);
    /* One-shot: nothing more. */
    qtest_clock_step(s, 10000000);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));

    /* A route the capability does not allow is not taken. */
    qtest_writel(s, TN_CFG(2), TN_LEVEL | TN_ENB | TN_ROUTE(5));
    g_assert_cmphex(qtest_readl(s, TN_CFG(2)) & TN_ROUTE(0x1f), ==,
                    TN_ROUTE(2));

    /*
     * A comparator the counter has passed matches only after the counter
     * wraps (2.3.9.2): never, in 64-bit mode; 2^32 ticks on, in 32-bit
     * mode.
     */
    qtest_writeq(s, TN_CMP(2), qtest_readq(s, HPET_COUNTER) - 5);
    qtest_clock_step(s, 1000000000);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_writel(s, TN_CFG(2), TN_32BIT | TN_LEVEL | TN_ENB | TN_ROUTE(2));
    uint32_t c32 = qtest_readl(s, HPET_COUNTER);
    qtest_writel(s, TN_CMP(2), c32 - 5);
    /* (the 32-bit one-shot interrupt at the wrap comes first) */
    qtest_clock_step(s, ((1ULL << 32) - c32 - 1) * 10);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_clock_step(s, 10);
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    qtest_writel(s, HPET_ISR, 1u << 2);
    qtest_clock_step(s, ((uint64_t)c32 - 5 - 1) * 10);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_clock_step(s, 10);
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    /* Disabling the timer releases a level line. */
    qtest_writel(s, TN_CFG(2), TN_LEVEL | TN_ROUTE(2));
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_edge_no_status(void)
{
    QTestState *s = start("");

    qtest_writel(s, HPET_CFG, CFG_ENABLE);
    qtest_writel(s, TN_CFG(1), TN_ENB | TN_ROUTE(2));
    qtest_writeq(s, TN_CMP(1), 100);
    qtest_clock_step(s, 2000);
    /* Edge interrupts leave no status bit and no line held high. */
    g_assert_cmphex(qtest_readl(s, HPET_ISR), ==, 0);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_periodic(void)
{
    QTestState *s = start("");

    qtest_writel(s, TN_CFG(0), TN_LEVEL | TN_ENB | TN_PERIODIC | TN_VAL_SET |
                               TN_ROUTE(2));
    qtest_writeq(s, TN_CMP(0), 1000);       /* first match and period */
    g_assert_cmphex(qtest_readl(s, TN_CFG(0)) & TN_VAL_SET, ==, 0);
    qtest_writel(s, HPET_CFG, CFG_ENABLE);
    for (unsigned i = 1; i <= 5; i++) {
        qtest_clock_step(s, 9990);
        g_assert_false(qtest_get_irq(s, LINE_INPUT2));
        qtest_clock_step(s, 10);
        g_assert_true(qtest_get_irq(s, LINE_INPUT2));
        g_assert_cmphex(qtest_readq(s, TN_CMP(0)), ==, 1000 * (i + 1));
        qtest_writel(s, HPET_ISR, 1);
        g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    }
    /* Without VAL_SET a write changes the period only. */
    qtest_writeq(s, TN_CMP(0), 500);
    g_assert_cmphex(qtest_readq(s, TN_CMP(0)), ==, 6000);
    qtest_clock_step(s, 10000);
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmphex(qtest_readq(s, TN_CMP(0)), ==, 6500);
    qtest_writel(s, HPET_ISR, 1);
    qtest_clock_step(s, 5000);
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmphex(qtest_readq(s, TN_CMP(0)), ==, 7000);
    /* Halting the counter stops the interrupts and releases the line. */
    qtest_writel(s, HPET_CFG, 0);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_writel(s, HPET_ISR, 1);
    qtest_clock_step(s, 100000);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_32bit(void)
{
    QTestState *s = start("");

    qtest_writeq(s, TN_CMP(1), 0x100000005ULL);
    g_assert_cmphex(qtest_readq(s, TN_CMP(1)), ==, 0x100000005ULL);
    qtest_writel(s, TN_CFG(1), TN_32BIT);
    g_assert_cmphex(qtest_readq(s, TN_CMP(1)), ==, 0x5);
    qtest_writeq(s, TN_CMP(1), 0x700000010ULL);
    g_assert_cmphex(qtest_readq(s, TN_CMP(1)), ==, 0x10);

    /* One-shot 32-bit: an interrupt at the wrap, then at the match. */
    qtest_writeq(s, HPET_COUNTER, 0x2fffffff0ULL);
    qtest_writel(s, TN_CFG(1), TN_32BIT | TN_LEVEL | TN_ENB | TN_ROUTE(2));
    qtest_writel(s, HPET_CFG, CFG_ENABLE);
    qtest_clock_step(s, 150);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_clock_step(s, 10);                        /* counter 0x300000000 */
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    qtest_writel(s, HPET_ISR, 1u << 1);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_clock_step(s, 150);
    g_assert_false(qtest_get_irq(s, LINE_INPUT2));
    qtest_clock_step(s, 10);                        /* counter 0x300000010 */
    g_assert_true(qtest_get_irq(s, LINE_INPUT2));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void rtc_write(QTestState *s, uint8_t idx, uint8_t val)
{
    qtest_outb(s, 0x70, idx);
    qtest_outb(s, 0x71, val);
}

static uint8_t rtc_read(QTestState *s, uint8_t idx)
{
    qtest_outb(s, 0x70, idx);
    return qtest_inb(s, 0x71);
}

static void test_legacy(void)
{
    QTestState *s = start("");

    /* The RTC reaches IRQ 8 through the HPET while legacy is off. */
    rtc_read(s, 0x0c);
    rtc_write(s, 0x0b, 0x02 | 0x10);                /* UIE */
    qtest_clock_step(s, 1000000000);
    g_assert_true(qtest_get_irq(s, LINE_RTC));
    /* Legacy replacement takes IRQ 8 away from it. */
    qtest_writel(s, HPET_CFG, CFG_LEGACY);
    g_assert_false(qtest_get_irq(s, LINE_RTC));
    qtest_writel(s, HPET_CFG, 0);
    g_assert_true(qtest_get_irq(s, LINE_RTC));
    rtc_read(s, 0x0c);
    g_assert_false(qtest_get_irq(s, LINE_RTC));
    rtc_write(s, 0x0b, 0x02);

    /* Timer 0 -> line 0, timer 1 -> line 8, whatever their routes. */
    qtest_writel(s, TN_CFG(0), TN_LEVEL | TN_ENB);
    qtest_writel(s, TN_CFG(1), TN_LEVEL | TN_ENB);
    qtest_writeq(s, TN_CMP(0), 100);
    qtest_writeq(s, TN_CMP(1), 200);
    qtest_writel(s, HPET_CFG, CFG_ENABLE | CFG_LEGACY);
    qtest_clock_step(s, 1000);
    g_assert_true(qtest_get_irq(s, 0));
    g_assert_false(qtest_get_irq(s, LINE_RTC));
    qtest_clock_step(s, 1000);
    g_assert_true(qtest_get_irq(s, LINE_RTC));
    g_assert_cmphex(qtest_readl(s, HPET_ISR), ==, 0x3);
    qtest_writel(s, HPET_ISR, 0x3);
    g_assert_false(qtest_get_irq(s, 0));
    g_assert_false(qtest_get_irq(s, LINE_RTC));
    /* While legacy routing holds IRQ 8, RTC interrupts stay off it. */
    rtc_write(s, 0x0b, 0x02 | 0x10);
    qtest_clock_step(s, 1000000000);
    g_assert_false(qtest_get_irq(s, LINE_RTC));
    g_assert_cmphex(rtc_read(s, 0x0c) & 0x90, ==, 0x90);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_no_hpet(void)
{
    QTestState *s = qtest_init("-no-hpet");

    g_assert_cmphex(qtest_readl(s, HPET_CAP), ==, 0xffffffff);
    g_assert_cmphex(qtest_readq(s, HPET_COUNTER), ==, UINT64_MAX);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hpet/capabilities", test_capabilities);
    g_test_add_func("/hpet/counter", test_counter);
    g_test_add_func("/hpet/oneshot-level", test_oneshot_level);
    g_test_add_func("/hpet/edge", test_edge_no_status);
    g_test_add_func("/hpet/periodic", test_periodic);
    g_test_add_func("/hpet/32bit", test_32bit);
    g_test_add_func("/hpet/legacy", test_legacy);
    g_test_add_func("/hpet/no-hpet", test_no_hpet);
    return g_test_run();
}
