/*
 * The userspace I/O APIC (hw/intc/ioapic.c) under -accel qtest: the
 * registers behind IOREGSEL/IOWIN, the redirection table, edge and level
 * pins with remote IRR, EOI through the LAPIC broadcast and through the
 * version 0x20 EOI register, masking, the GSI 0 -> pin 2 wiring, and the
 * HPET's interrupt arriving through it.  Messages land in CPU 0's LAPIC;
 * the 8259s are masked so only the IOAPIC path can raise INTR.
 */
#include "qemu/osdep.h"
#include "libqtest.h"

#define IOAPIC          0xfec00000ULL
#define IOREGSEL        (IOAPIC + 0x00)
#define IOWIN           (IOAPIC + 0x10)
#define IOEOI           (IOAPIC + 0x40)
#define LAPIC           0xfee00000ULL
#define LAPIC_SVR       (LAPIC + 0xf0)
#define LAPIC_EOI       (LAPIC + 0xb0)
#define LAPIC_LDR       (LAPIC + 0xd0)
#define LAPIC_IRR(v)    (LAPIC + 0x200 + ((v) >> 5) * 0x10)
#define LAPIC_TMR(v)    (LAPIC + 0x180 + ((v) >> 5) * 0x10)
#define INTR            QTEST_CPU_INTR(0)

#define RTE_LEVEL       (1u << 15)
#define RTE_REMOTE_IRR  (1u << 14)
#define RTE_MASKED      (1u << 16)
#define RTE_LOGICAL     (1u << 11)

static uint32_t ioapic_read(QTestState *s, uint8_t index)
{
    qtest_writel(s, IOREGSEL, index);
    return qtest_readl(s, IOWIN);
}

static void ioapic_write(QTestState *s, uint8_t index, uint32_t val)
{
    qtest_writel(s, IOREGSEL, index);
    qtest_writel(s, IOWIN, val);
}

static void set_rte(QTestState *s, unsigned pin, uint32_t lo, uint8_t dest)
{
    ioapic_write(s, 0x11 + 2 * pin, (uint32_t)dest << 24);
    ioapic_write(s, 0x10 + 2 * pin, lo);
}

static void gsi(QTestState *s, int n, int level)
{
    qtest_set_irq_in(s, "ioapic", "gsi", n, level);
}

static QTestState *start(const char *args)
{
    QTestState *s = qtest_init(args);

    qtest_irq_intercept_in(s, "ioapic");
    /* 8259s masked (their reset state is all open). */
    qtest_outb(s, 0x21, 0xff);
    qtest_outb(s, 0xa1, 0xff);
    qtest_writel(s, LAPIC_SVR, 0x1ff);
    return s;
}

static void test_registers(void)
{
    QTestState *s = start("");

    g_assert_cmphex(ioapic_read(s, 0x01), ==, 0x00170020);
    g_assert_cmphex(ioapic_read(s, 0x00), ==, 0);
    ioapic_write(s, 0x00, 0x0a000000);
    g_assert_cmphex(ioapic_read(s, 0x00), ==, 0x0a000000);
    g_assert_cmphex(ioapic_read(s, 0x02), ==, 0x0a000000);
    /* Reset: every entry masked. */
    for (unsigned pin = 0; pin < 24; pin++) {
        g_assert_cmphex(ioapic_read(s, 0x10 + 2 * pin), ==, RTE_MASKED);
    }
    /* Writable bits read back; remote IRR and delivery status do not
     * take writes. */
    set_rte(s, 5, 0x1ffff, 0xab);
    g_assert_cmphex(ioapic_read(s, 0x10 + 10), ==, 0x1afff);
    g_assert_cmphex(ioapic_read(s, 0x11 + 10), ==, 0xab000000);
    /* Past the last entry: nothing. */
    g_assert_cmphex(ioapic_read(s, 0x40), ==, 0xffffffff);
    ioapic_write(s, 0x40, 0);
    g_assert_cmphex(ioapic_read(s, 0x40), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, IOREGSEL), ==, 0x40);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_edge(void)
{
    QTestState *s = start("");

    set_rte(s, 4, 0x41, 0);
    gsi(s, 4, 1);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_readl(s, LAPIC_IRR(0x41)), ==, 1u << (0x41 & 31));
    g_assert_cmphex(qtest_readl(s, LAPIC_TMR(0x41)), ==, 0);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x41);
    qtest_writel(s, LAPIC_EOI, 0);
    /* Held high: one edge, one interrupt. */
    g_assert_false(qtest_get_irq(s, INTR));
    gsi(s, 4, 0);
    gsi(s, 4, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x41);
    qtest_writel(s, LAPIC_EOI, 0);
    /* A masked pin ignores edges, and unmasking does not replay them. */
    gsi(s, 4, 0);
    set_rte(s, 4, 0x41 | RTE_MASKED, 0);
    gsi(s, 4, 1);
    set_rte(s, 4, 0x41, 0);
    g_assert_false(qtest_get_irq(s, INTR));
    /* A destination that is not CPU 0 does not reach it. */
    gsi(s, 4, 0);
    set_rte(s, 4, 0x41, 3);
    gsi(s, 4, 1);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_level_remote_irr(void)
{
    QTestState *s = start("");

    set_rte(s, 10, 0x52 | RTE_LEVEL, 0);
    gsi(s, 10, 1);
    g_assert_cmphex(ioapic_read(s, 0x10 + 20) & RTE_REMOTE_IRR, ==,
                    RTE_REMOTE_IRR);
    g_assert_cmphex(qtest_readl(s, LAPIC_TMR(0x52)), ==, 1u << (0x52 & 31));
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x52);
    g_assert_false(qtest_get_irq(s, INTR));
    /* The LAPIC's EOI of a level vector reaches the IOAPIC: the line is
     * still high, so it is delivered again. */
    qtest_writel(s, LAPIC_EOI, 0);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x52);
    gsi(s, 10, 0);
    qtest_writel(s, LAPIC_EOI, 0);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmphex(ioapic_read(s, 0x10 + 20) & RTE_REMOTE_IRR, ==, 0);

    /* The EOI register does the same for its vector only. */
    gsi(s, 10, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x52);
    qtest_writel(s, IOEOI, 0x53);
    g_assert_cmphex(ioapic_read(s, 0x10 + 20) & RTE_REMOTE_IRR, ==,
                    RTE_REMOTE_IRR);
    qtest_writel(s, IOEOI, 0x52);
    /* Delivered again at once: the line is still high. */
    g_assert_cmphex(ioapic_read(s, 0x10 + 20) & RTE_REMOTE_IRR, ==,
                    RTE_REMOTE_IRR);
    g_assert_cmphex(qtest_readl(s, LAPIC_IRR(0x52)), ==, 1u << (0x52 & 31));

    /* A masked level pin is delivered when unmasked, if still high. */
    gsi(s, 11, 1);
    set_rte(s, 11, 0x63 | RTE_LEVEL | RTE_MASKED, 0);
    g_assert_cmphex(qtest_readl(s, LAPIC_IRR(0x63)), ==, 0);
    set_rte(s, 11, 0x63 | RTE_LEVEL, 0);
    g_assert_cmphex(qtest_readl(s, LAPIC_IRR(0x63)), ==, 1u << (0x63 & 31));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* GSI 0 (PIT, HPET legacy) is pin 2; GSI 2 goes nowhere. */
static void test_gsi0_pin2(void)
{
    QTestState *s = start("");

    set_rte(s, 2, 0x30, 0);
    set_rte(s, 0, 0x31, 0);
    gsi(s, 0, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x30);
    qtest_writel(s, LAPIC_EOI, 0);
    gsi(s, 2, 1);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Logical destination (flat model): the LDR bit selects CPU 0. */
static void test_logical(void)
{
    QTestState *s = start("");

    qtest_writel(s, LAPIC_LDR, 0x04000000);
    set_rte(s, 7, 0x44 | RTE_LOGICAL, 0x02);
    gsi(s, 7, 1);
    g_assert_false(qtest_get_irq(s, INTR));
    gsi(s, 7, 0);
    set_rte(s, 7, 0x44 | RTE_LOGICAL, 0x06);
    gsi(s, 7, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x44);
    /* NMI and ExtINT delivery modes. */
    set_rte(s, 8, 0x400, 0);
    gsi(s, 8, 1);
    g_assert_cmphex(qtest_cpu_events(s, 0, NULL), ==, QTEST_EVENT_NMI);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* HPET timer 0 routed to IOAPIC input 2 interrupts through pin 2. */
static void test_hpet(void)
{
    QTestState *s = start("");

    set_rte(s, 2, 0x38, 0);
    qtest_writeq(s, 0xfed00100, (2u << 9) | 0x04);     /* route 2, INT_ENB */
    qtest_writeq(s, 0xfed00108, 1000);                  /* 10 us */
    qtest_writeq(s, 0xfed00010, 0x01);                  /* ENABLE */
    g_assert_false(qtest_get_irq(s, INTR));
    qtest_clock_step(s, 20000);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, 0x38);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioapic/registers", test_registers);
    g_test_add_func("/ioapic/edge", test_edge);
    g_test_add_func("/ioapic/level-remote-irr", test_level_remote_irr);
    g_test_add_func("/ioapic/gsi0-pin2", test_gsi0_pin2);
    g_test_add_func("/ioapic/logical", test_logical);
    g_test_add_func("/ioapic/hpet", test_hpet);
    return g_test_run();
}
