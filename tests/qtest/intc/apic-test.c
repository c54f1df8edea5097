/*
 * The userspace local APICs (hw/intc/apic.c) under -accel qtest: reset
 * state, TPR/PPR and priority classes, IRR/ISR/TMR, EOI, the ESR, the
 * timer in one-shot, periodic and TSC-deadline mode on the virtual clock,
 * IPIs (fixed, lowest priority, NMI, INIT, SIPI; physical and logical;
 * shorthands), x2APIC through the MSRs, and MSIs written to the window.
 * qtest's memory accesses use CPU 0's xAPIC page; other CPUs are reached
 * through their MSRs (qtest_rdmsr/wrmsr) in x2APIC mode.
 */
#include "qemu/osdep.h"
#include "libqtest.h"

#define LAPIC           0xfee00000ULL
#define REG(off)        (LAPIC + (off))
#define APIC_ID         REG(0x20)
#define APIC_VERSION    REG(0x30)
#define APIC_TPR        REG(0x80)
#define APIC_PPR        REG(0xa0)
#define APIC_EOI        REG(0xb0)
#define APIC_LDR        REG(0xd0)
#define APIC_DFR        REG(0xe0)
#define APIC_SVR        REG(0xf0)
#define APIC_ISR(v)     REG(0x100 + ((v) >> 5) * 0x10)
#define APIC_IRR(v)     REG(0x200 + ((v) >> 5) * 0x10)
#define APIC_ESR        REG(0x280)
#define APIC_ICR_LO     REG(0x300)
#define APIC_ICR_HI     REG(0x310)
#define APIC_LVT_TIMER  REG(0x320)
#define APIC_LVT_LINT0  REG(0x350)
#define APIC_LVT_ERROR  REG(0x370)
#define APIC_TMICT      REG(0x380)
#define APIC_TMCCT      REG(0x390)
#define APIC_TDCR       REG(0x3e0)

#define MSR_APICBASE    0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2(index)   (0x800 + (index))

#define INTR0           QTEST_CPU_INTR(0)
#define INTR1           QTEST_CPU_INTR(1)
#define BIT(v)          (1u << ((v) & 31))

static QTestState *start(const char *args)
{
    QTestState *s = qtest_init(args);

    qtest_irq_intercept_in(s, "ioapic");
    qtest_outb(s, 0x21, 0xff);          /* keep the 8259s out of it */
    qtest_outb(s, 0xa1, 0xff);
    return s;
}

static void enable(QTestState *s)
{
    qtest_writel(s, APIC_SVR, 0x1ff);
}

static void self_ipi(QTestState *s, uint8_t vector)
{
    qtest_writel(s, APIC_ICR_LO, 0x40000 | vector);
}

static void test_reset_state(void)
{
    QTestState *s = start("-smp 2");
    uint64_t v;

    g_assert_cmphex(qtest_readl(s, APIC_ID), ==, 0);
    g_assert_cmphex(qtest_readl(s, APIC_VERSION), ==, 0x50014);
    g_assert_cmphex(qtest_readl(s, APIC_SVR), ==, 0xff);
    g_assert_cmphex(qtest_readl(s, APIC_DFR), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, APIC_LVT_TIMER), ==, 0x10000);
    g_assert_cmphex(qtest_readl(s, APIC_LVT_LINT0), ==, 0x700);
    g_assert_true(qtest_rdmsr(s, 0, MSR_APICBASE, &v));
    g_assert_cmphex(v, ==, 0xfee00900);
    g_assert_true(qtest_rdmsr(s, 1, MSR_APICBASE, &v));
    g_assert_cmphex(v, ==, 0xfee00800);
    /* Software disabled: LVT writes stay masked. */
    qtest_writel(s, APIC_LVT_ERROR, 0x33);
    g_assert_cmphex(qtest_readl(s, APIC_LVT_ERROR), ==, 0x10033);
    /* x2APIC MSRs fault in xAPIC mode. */
    g_assert_false(qtest_rdmsr(s, 0, MSR_X2(0x02), &v));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_priorities(void)
{
    QTestState *s = start("");

    enable(s);
    self_ipi(s, 0x50);
    g_assert_true(qtest_get_irq(s, INTR0));
    g_assert_cmphex(qtest_readl(s, APIC_IRR(0x50)), ==, BIT(0x50));
    /* TPR class 6 blocks class 5. */
    qtest_writel(s, APIC_TPR, 0x60);
    g_assert_false(qtest_get_irq(s, INTR0));
    g_assert_cmphex(qtest_readl(s, APIC_PPR), ==, 0x60);
    g_assert_cmpint(qtest_intack(s, 0), ==, -1);
    self_ipi(s, 0x80);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x80);
    /* In service 0x80: PPR is its class; 0x50 waits. */
    g_assert_cmphex(qtest_readl(s, APIC_PPR), ==, 0x80);
    g_assert_cmphex(qtest_readl(s, APIC_ISR(0x80)), ==, BIT(0x80));
    qtest_writel(s, APIC_TPR, 0);
    g_assert_false(qtest_get_irq(s, INTR0));
    /* A higher class preempts. */
    self_ipi(s, 0x91);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x91);
    /* EOI ends the highest in service first. */
    qtest_writel(s, APIC_EOI, 0);
    g_assert_cmphex(qtest_readl(s, APIC_ISR(0x91)) & BIT(0x91), ==, 0);
    g_assert_cmphex(qtest_readl(s, APIC_ISR(0x80)), ==, BIT(0x80));
    g_assert_false(qtest_get_irq(s, INTR0));
    qtest_writel(s, APIC_EOI, 0);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x50);
    qtest_writel(s, APIC_EOI, 0);
    g_assert_cmphex(qtest_readl(s, APIC_PPR), ==, 0);
    g_assert_cmpint(qtest_intack(s, 0), ==, -1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_esr(void)
{
    QTestState *s = start("");

    enable(s);
    qtest_writel(s, APIC_LVT_ERROR, 0xee);
    self_ipi(s, 0x05);                      /* illegal vector */
    g_assert_cmphex(qtest_readl(s, APIC_ESR), ==, 0);   /* not latched */
    qtest_writel(s, APIC_ESR, 0);
    g_assert_cmphex(qtest_readl(s, APIC_ESR), ==, 0x20);  /* send illegal */
    /* The error LVT interrupted. */
    g_assert_cmphex(qtest_intack(s, 0), ==, 0xee);
    qtest_writel(s, APIC_ESR, 0);
    g_assert_cmphex(qtest_readl(s, APIC_ESR), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_timer_oneshot(void)
{
    QTestState *s = start("");

    enable(s);
    qtest_writel(s, APIC_TDCR, 0xb);        /* divide by 1: 1 tick/ns */
    qtest_writel(s, APIC_LVT_TIMER, 0x40);
    qtest_writel(s, APIC_TMICT, 1000);
    qtest_clock_step(s, 400);
    g_assert_cmpuint(qtest_readl(s, APIC_TMCCT), ==, 600);
    g_assert_false(qtest_get_irq(s, INTR0));
    g_assert_cmpint(qtest_clock_step_next(s), ==, 1001);
    g_assert_true(qtest_get_irq(s, INTR0));
    g_assert_cmpuint(qtest_readl(s, APIC_TMCCT), ==, 0);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x40);
    qtest_writel(s, APIC_EOI, 0);
    /* One shot: nothing more. */
    qtest_clock_step(s, 100000);
    g_assert_false(qtest_get_irq(s, INTR0));
    /* Divide by 16: 1000 ticks last 16 us. */
    qtest_writel(s, APIC_TDCR, 0x3);
    qtest_writel(s, APIC_TMICT, 1000);
    qtest_clock_step(s, 8000);
    g_assert_cmpuint(qtest_readl(s, APIC_TMCCT), ==, 500);
    /* Masked: it expires without interrupting. */
    qtest_writel(s, APIC_LVT_TIMER, 0x10040);
    qtest_clock_step(s, 20000);
    g_assert_false(qtest_get_irq(s, INTR0));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_timer_periodic(void)
{
    QTestState *s = start("");
    int64_t t0 = 0, t;

    enable(s);
    qtest_writel(s, APIC_TDCR, 0x0);        /* divide by 2 */
    qtest_writel(s, APIC_LVT_TIMER, 0x20045);
    qtest_writel(s, APIC_TMICT, 499);       /* 500 ticks = 1000 ns */
    for (int i = 1; i <= 5; i++) {
        t = qtest_clock_step_next(s);
        g_assert_cmpint(t - t0, ==, i * 1000);
        g_assert_cmphex(qtest_intack(s, 0), ==, 0x45);
        qtest_writel(s, APIC_EOI, 0);
    }
    /* Writing 0 stops it. */
    qtest_writel(s, APIC_TMICT, 0);
    qtest_clock_step(s, 10000);
    g_assert_false(qtest_get_irq(s, INTR0));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_timer_tsc_deadline(void)
{
    QTestState *s = start("");
    uint64_t v;
    int64_t now;

    enable(s);
    qtest_writel(s, APIC_LVT_TIMER, 0x40046);   /* TSC-deadline mode */
    now = qtest_clock_step(s, 1000);
    /* The initial count is ignored in this mode. */
    qtest_writel(s, APIC_TMICT, 10);
    qtest_clock_step(s, 100);
    g_assert_false(qtest_get_irq(s, INTR0));
    g_assert_true(qtest_wrmsr(s, 0, MSR_TSC_DEADLINE, now + 5000));
    g_assert_cmpint(qtest_clock_step_next(s), ==, now + 5000);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x46);
    g_assert_true(qtest_rdmsr(s, 0, MSR_TSC_DEADLINE, &v));
    g_assert_cmphex(v, ==, 0);
    /* A deadline already passed fires at once. */
    qtest_writel(s, APIC_EOI, 0);
    g_assert_true(qtest_wrmsr(s, 0, MSR_TSC_DEADLINE, 1));
    qtest_clock_step(s, 0);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x46);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_ipis(void)
{
    QTestState *s = start("-smp 2");
    uint8_t sipi = 0;

    enable(s);
    /* CPU 1 (APIC ID 1) software enabled through x2APIC mode. */
    g_assert_true(qtest_wrmsr(s, 1, MSR_APICBASE, 0xfee00c00));
    g_assert_true(qtest_wrmsr(s, 1, MSR_X2(0x0f), 0x1ff));
    /* Fixed, physical destination 1. */
    qtest_writel(s, APIC_ICR_HI, 1u << 24);
    qtest_writel(s, APIC_ICR_LO, 0x61);
    g_assert_true(qtest_get_irq(s, INTR1));
    g_assert_false(qtest_get_irq(s, INTR0));
    g_assert_cmphex(qtest_intack(s, 1), ==, 0x61);
    g_assert_true(qtest_wrmsr(s, 1, MSR_X2(0x0b), 0));
    /* All excluding self. */
    qtest_writel(s, APIC_ICR_LO, 0xc0062);
    g_assert_cmphex(qtest_intack(s, 1), ==, 0x62);
    g_assert_cmpint(qtest_intack(s, 0), ==, -1);
    /* NMI, INIT, SIPI to CPU 1. */
    qtest_writel(s, APIC_ICR_LO, 0x400);
    g_assert_cmphex(qtest_cpu_events(s, 1, NULL), ==, QTEST_EVENT_NMI);
    qtest_writel(s, APIC_ICR_LO, 0x4500);
    g_assert_cmphex(qtest_cpu_events(s, 1, NULL), ==, QTEST_EVENT_INIT);
    qtest_writel(s, APIC_ICR_LO, 0x4608);
    g_assert_cmphex(qtest_cpu_events(s, 1, &sipi), ==, QTEST_EVENT_SIPI);
    g_assert_cmphex(sipi, ==, 0x08);
    g_assert_cmphex(qtest_cpu_events(s, 0, NULL), ==, 0);
    /* INIT level de-assert does nothing. */
    qtest_writel(s, APIC_ICR_LO, 0x8500);
    g_assert_cmphex(qtest_cpu_events(s, 1, NULL), ==, 0);
    /* Logical flat destination: LDR bit 1 on CPU 0 only. */
    qtest_writel(s, APIC_LDR, 0x02000000);
    qtest_writel(s, APIC_ICR_HI, 0x02000000);
    qtest_writel(s, APIC_ICR_LO, 0x870);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x70);
    qtest_writel(s, APIC_EOI, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* x2APIC: IDs, LDR, the 64-bit ICR, SELF IPI, lowest priority. */
static void test_x2apic(void)
{
    QTestState *s = start("-smp 2");
    uint64_t v;

    for (unsigned cpu = 0; cpu < 2; cpu++) {
        g_assert_true(qtest_wrmsr(s, cpu, MSR_APICBASE,
                                  0xfee00c00 | (cpu ? 0 : 0x100)));
        g_assert_true(qtest_wrmsr(s, cpu, MSR_X2(0x0f), 0x1ff));
        g_assert_true(qtest_rdmsr(s, cpu, MSR_X2(0x02), &v));
        g_assert_cmphex(v, ==, cpu);
        g_assert_true(qtest_rdmsr(s, cpu, MSR_X2(0x0d), &v));
        g_assert_cmphex(v, ==, 1u << cpu);
    }
    /* The MMIO page is gone in x2APIC mode. */
    g_assert_cmphex(qtest_readl(s, APIC_SVR), ==, 0);
    /* Back to xAPIC directly: #GP; read-only and write-only: #GP. */
    g_assert_false(qtest_wrmsr(s, 0, MSR_APICBASE, 0xfee00900));
    g_assert_false(qtest_wrmsr(s, 0, MSR_X2(0x02), 5));
    g_assert_false(qtest_rdmsr(s, 0, MSR_X2(0x0b), &v));
    g_assert_false(qtest_rdmsr(s, 0, MSR_X2(0x31), &v));
    g_assert_false(qtest_wrmsr(s, 0, MSR_X2(0x0b), 1));
    /* 64-bit ICR: physical destination 1 in the high half. */
    g_assert_true(qtest_wrmsr(s, 0, MSR_X2(0x30), (1ULL << 32) | 0x55));
    g_assert_cmphex(qtest_intack(s, 1), ==, 0x55);
    g_assert_true(qtest_wrmsr(s, 1, MSR_X2(0x0b), 0));
    /* SELF IPI. */
    g_assert_true(qtest_wrmsr(s, 0, MSR_X2(0x3f), 0x66));
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x66);
    g_assert_true(qtest_wrmsr(s, 0, MSR_X2(0x0b), 0));
    /* Lowest priority among both (cluster 0, bits 0-1): the lower TPR. */
    g_assert_true(qtest_wrmsr(s, 0, MSR_X2(0x08), 0x20));
    g_assert_true(qtest_wrmsr(s, 1, MSR_X2(0x30), (3ULL << 32) | 0x977));
    g_assert_cmphex(qtest_intack(s, 1), ==, 0x77);
    g_assert_cmpint(qtest_intack(s, 0), ==, -1);
    /* Disabling the APIC leaves x2APIC mode. */
    g_assert_true(qtest_wrmsr(s, 0, MSR_APICBASE, 0xfee00100));
    g_assert_true(qtest_wrmsr(s, 0, MSR_APICBASE, 0xfee00900));
    g_assert_cmphex(qtest_readl(s, APIC_SVR), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Device writes to the window are MSI messages (SDM 11.11). */
static void test_msi_window(void)
{
    QTestState *s = start("-smp 2");

    enable(s);
    g_assert_true(qtest_wrmsr(s, 1, MSR_APICBASE, 0xfee00c00));
    g_assert_true(qtest_wrmsr(s, 1, MSR_X2(0x0f), 0x1ff));
    qtest_writel(s, LAPIC, 0x4031);             /* dest 0, vector 0x31 */
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x31);
    qtest_writel(s, APIC_EOI, 0);
    qtest_writel(s, LAPIC + 0x1000, 0x32);      /* dest 1 */
    g_assert_cmphex(qtest_intack(s, 1), ==, 0x32);
    g_assert_true(qtest_wrmsr(s, 1, MSR_X2(0x0b), 0));
    qtest_writel(s, LAPIC + 0xff000, 0x33);     /* broadcast */
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x33);
    g_assert_cmphex(qtest_intack(s, 1), ==, 0x33);
    qtest_writel(s, LAPIC + 0x1000, 0x0408);    /* NMI to CPU 1 */
    g_assert_cmphex(qtest_cpu_events(s, 1, NULL), ==, QTEST_EVENT_NMI);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/apic/reset-state", test_reset_state);
    g_test_add_func("/apic/priorities", test_priorities);
    g_test_add_func("/apic/esr", test_esr);
    g_test_add_func("/apic/timer-oneshot", test_timer_oneshot);
    g_test_add_func("/apic/timer-periodic", test_timer_periodic);
    g_test_add_func("/apic/timer-tsc-deadline", test_timer_tsc_deadline);
    g_test_add_func("/apic/ipis", test_ipis);
    g_test_add_func("/apic/x2apic", test_x2apic);
    g_test_add_func("/apic/msi-window", test_msi_window);
    return g_test_run();
}
