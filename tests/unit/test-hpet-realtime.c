/*
 * The HPET on a running virtual clock (as under KVM, not qtest's manual
 * clock, where time stands still inside a timer callback): a periodic
 * timer keeps firing however short its period is next to the time the
 * main loop takes to run its callback, and periods beyond half the
 * counter range are long waits, not matches already passed.  Each test
 * drives the timer lists for a stretch of real time and counts the pulses
 * the HPET sends on machine line 0 (I/O APIC input 2).
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/timer.h"

#define HPET_BASE       0xfed00000ULL
#define HPET_CFG        (HPET_BASE + 0x010)
#define TN_CFG(n)       (HPET_BASE + 0x100 + 0x20 * (n))
#define TN_CMP(n)       (HPET_BASE + 0x108 + 0x20 * (n))
#define TN_ENB          (1u << 2)
#define TN_PERIODIC     (1u << 3)
#define TN_VAL_SET      (1u << 6)
#define TN_32BIT        (1u << 8)
#define TN_ROUTE2       (2u << 9)

static MachineState test_machine;
static unsigned line0_pulses;
static DeviceState *hpet;

static void count_line(void *opaque, int n, int level)
{
    if (n == 0 && level) {
        line0_pulses++;
    }
}

static void machine_setup(void)
{
    GError *err = NULL;

    main_loop_init();
    memory_init();
    for (unsigned i = 0; i < GSI_NUM_PINS; i++) {
        test_machine.gsi[i] = qemu_allocate_irq(count_line, NULL, i);
    }
    current_machine = &test_machine;
    hpet = device_new("hpet", &err);
    g_assert_no_error(err);
    g_assert_true(device_realize(hpet, &err));
    g_assert_no_error(err);
    qemu_clock_virtual_enable(true);
}

static void wr32(uint64_t addr, uint32_t val)
{
    address_space_write_val(&address_space_memory, addr, val, 4);
}

/* Timer @n: @cfg, then comparator and period @ticks, as a guest writes them. */
static void program_timer(unsigned n, uint32_t cfg, uint64_t ticks)
{
    device_reset(hpet);
    line0_pulses = 0;
    wr32(TN_CFG(n), cfg | TN_VAL_SET);
    wr32(TN_CMP(n), (uint32_t)ticks);
    if (!(cfg & TN_32BIT)) {
        wr32(TN_CFG(n), cfg | TN_VAL_SET);
        wr32(TN_CMP(n) + 4, ticks >> 32);
    }
    wr32(HPET_CFG, 1);
}

/* Main-loop passes over the timers for @ms of real time. */
static void run_timers_for(unsigned ms)
{
    int64_t end = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + ms * 1000000LL;

    while (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < end) {
        timers_run_due();
    }
    wr32(HPET_CFG, 0);
}

static void test_shortest_period_keeps_firing(void)
{
    program_timer(0, TN_ENB | TN_PERIODIC | TN_ROUTE2, 1);
    run_timers_for(50);
    /* One pulse per pass at most; hundreds of passes fit in 50 ms. */
    g_assert_cmpuint(line0_pulses, >, 100);
}

static void test_short_32bit_period_keeps_firing(void)
{
    program_timer(0, TN_ENB | TN_PERIODIC | TN_32BIT | TN_ROUTE2, 3);
    run_timers_for(50);
    g_assert_cmpuint(line0_pulses, >, 100);
}

static void test_huge_periods_wait(void)
{
    program_timer(0, TN_ENB | TN_PERIODIC | TN_ROUTE2, 0xffffffff00001000ULL);
    run_timers_for(50);
    g_assert_cmpuint(line0_pulses, ==, 0);
    program_timer(1, TN_ENB | TN_PERIODIC | TN_32BIT | TN_ROUTE2, 0xffffffff);
    run_timers_for(50);
    g_assert_cmpuint(line0_pulses, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    machine_setup();
    g_test_add_func("/hpet-realtime/shortest-period-keeps-firing",
                    test_shortest_period_keeps_firing);
    g_test_add_func("/hpet-realtime/short-32bit-period-keeps-firing",
                    test_short_32bit_period_keeps_firing);
    g_test_add_func("/hpet-realtime/huge-periods-wait", test_huge_periods_wait);
    return g_test_run();
}
