/*
 * The userspace 8259 pair (hw/intc/i8259.c) under -accel qtest: ICW1-4,
 * OCW1-3, edge and level (ELCR) inputs, EOI variants, rotation, special
 * mask, poll mode, auto-EOI, the cascade and spurious IRQs, and the PIT
 * and RTC interrupts arriving through it.  The PIC's INT reaches CPU 0
 * through LINT0 (ExtINT after reset); the test watches that INTR pin
 * (QTEST_CPU_INTR(0)) and takes vectors with the acknowledge cycle.
 */
#include "qemu/osdep.h"
#include "libqtest.h"

#define MASTER_CMD      0x20
#define MASTER_DATA     0x21
#define SLAVE_CMD       0xa0
#define SLAVE_DATA      0xa1
#define ELCR1           0x4d0
#define ELCR2           0x4d1
#define MASTER_BASE     0x20
#define SLAVE_BASE      0x28
#define INTR            QTEST_CPU_INTR(0)

#define OCW2_EOI        0x20
#define OCW2_SEOI(n)    (0x60 | (n))
#define OCW2_ROT_EOI    0xa0
#define OCW2_SETPRI(n)  (0xc0 | (n))
#define OCW3_READ_IRR   0x0a
#define OCW3_READ_ISR   0x0b
#define OCW3_POLL       0x0c
#define OCW3_SMM_ON     0x68
#define OCW3_SMM_OFF    0x48

static QTestState *start(void)
{
    QTestState *s = qtest_init("-no-hpet");

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static void gsi(QTestState *s, int n, int level)
{
    qtest_set_irq_in(s, "ioapic", "gsi", n, level);
}

static void pulse(QTestState *s, int n)
{
    gsi(s, n, 1);
    gsi(s, n, 0);
}

/* ICW1-ICW4 as a PC BIOS does; @icw4 8086 mode plus any AEOI/SFNM. */
static void init_pair(QTestState *s, uint8_t icw4)
{
    qtest_outb(s, MASTER_CMD, 0x11);
    qtest_outb(s, MASTER_DATA, MASTER_BASE);
    qtest_outb(s, MASTER_DATA, 0x04);
    qtest_outb(s, MASTER_DATA, icw4);
    qtest_outb(s, SLAVE_CMD, 0x11);
    qtest_outb(s, SLAVE_DATA, SLAVE_BASE);
    qtest_outb(s, SLAVE_DATA, 0x02);
    qtest_outb(s, SLAVE_DATA, icw4);
    qtest_outb(s, MASTER_DATA, 0x00);
    qtest_outb(s, SLAVE_DATA, 0x00);
}

static uint8_t read_isr(QTestState *s, uint16_t cmd)
{
    uint8_t v;

    qtest_outb(s, cmd, OCW3_READ_ISR);
    v = qtest_inb(s, cmd);
    qtest_outb(s, cmd, OCW3_READ_IRR);
    return v;
}

static void test_registers(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    qtest_outb(s, MASTER_DATA, 0xa5);
    qtest_outb(s, SLAVE_DATA, 0x5a);
    g_assert_cmphex(qtest_inb(s, MASTER_DATA), ==, 0xa5);
    g_assert_cmphex(qtest_inb(s, SLAVE_DATA), ==, 0x5a);
    /* IRR is read by default, ISR after OCW3 RR|RIS. */
    g_assert_cmphex(qtest_inb(s, MASTER_CMD), ==, 0);
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0);
    /* ICW1 clears the mask again. */
    init_pair(s, 0x01);
    g_assert_cmphex(qtest_inb(s, MASTER_DATA), ==, 0);
    /* ELCR: IRQ 0, 1, 2, 8 and 13 cannot be level triggered. */
    qtest_outb(s, ELCR1, 0xff);
    qtest_outb(s, ELCR2, 0xff);
    g_assert_cmphex(qtest_inb(s, ELCR1), ==, 0xf8);
    g_assert_cmphex(qtest_inb(s, ELCR2), ==, 0xde);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_edge_eoi(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    g_assert_false(qtest_get_irq(s, INTR));
    pulse(s, 3);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_inb(s, MASTER_CMD), ==, 0x08);       /* IRR */
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 3);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_inb(s, MASTER_CMD), ==, 0);          /* IRR cleared */
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0x08);
    /* The same level again waits for the EOI. */
    pulse(s, 3);
    g_assert_false(qtest_get_irq(s, INTR));
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 3);
    /* Specific EOI for another level leaves IR3 in service. */
    qtest_outb(s, MASTER_CMD, OCW2_SEOI(4));
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0x08);
    qtest_outb(s, MASTER_CMD, OCW2_SEOI(3));
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0);
    /* A line held high is one edge, not a stream. */
    gsi(s, 4, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 4);
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_mask(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    qtest_outb(s, MASTER_DATA, 0x20);
    pulse(s, 5);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_inb(s, MASTER_CMD), ==, 0x20);   /* requested */
    qtest_outb(s, MASTER_DATA, 0x00);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 5);
    /* Masking the cascade input hides every slave request. */
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    qtest_outb(s, MASTER_DATA, 0x04);
    pulse(s, 12);
    g_assert_false(qtest_get_irq(s, INTR));
    qtest_outb(s, MASTER_DATA, 0x00);
    g_assert_cmphex(qtest_intack(s, 0), ==, SLAVE_BASE + 4);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_priority_rotation(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    pulse(s, 5);
    pulse(s, 3);
    /* Fully nested: IR3 first, and IR5 waits while IR3 is in service. */
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 3);
    g_assert_false(qtest_get_irq(s, INTR));
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 5);
    qtest_outb(s, MASTER_CMD, OCW2_EOI);

    /* Set priority: IR4 lowest, so IR5 is now the highest. */
    qtest_outb(s, MASTER_CMD, OCW2_SETPRI(4));
    pulse(s, 3);
    pulse(s, 5);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 5);
    /* Rotate on non-specific EOI: IR5 becomes lowest, IR6 highest. */
    qtest_outb(s, MASTER_CMD, OCW2_ROT_EOI);
    pulse(s, 6);
    pulse(s, 5);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 6);
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 3);
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 5);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_level_elcr(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    qtest_outb(s, ELCR2, 0x04);         /* IRQ 10 level triggered */
    gsi(s, 10, 1);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, SLAVE_BASE + 2);
    g_assert_cmphex(read_isr(s, SLAVE_CMD), ==, 0x04);
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0x04);
    /* Still high after the EOIs: requested again. */
    qtest_outb(s, SLAVE_CMD, OCW2_EOI);
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_inb(s, SLAVE_CMD), ==, 0x04);
    /* Dropping the line withdraws the request before INTA. */
    gsi(s, 10, 0);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_inb(s, SLAVE_CMD), ==, 0);
    /* No INTR, no acknowledge cycle: nothing goes in service. */
    g_assert_cmpint(qtest_intack(s, 0), ==, -1);
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0);
    g_assert_cmphex(read_isr(s, SLAVE_CMD), ==, 0);
    /* ICW1 LTIM makes every input level sensitive. */
    qtest_outb(s, MASTER_CMD, 0x19);
    qtest_outb(s, MASTER_DATA, MASTER_BASE);
    qtest_outb(s, MASTER_DATA, 0x04);
    qtest_outb(s, MASTER_DATA, 0x01);
    qtest_outb(s, MASTER_DATA, 0x00);
    gsi(s, 4, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 4);
    qtest_outb(s, MASTER_CMD, OCW2_EOI);
    g_assert_true(qtest_get_irq(s, INTR));
    gsi(s, 4, 0);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_poll_and_aeoi(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    qtest_outb(s, MASTER_DATA, 0xff);   /* polling works with INTR off */
    qtest_outb(s, MASTER_DATA, 0x00);
    pulse(s, 6);
    qtest_outb(s, MASTER_CMD, OCW3_POLL);
    g_assert_cmphex(qtest_inb(s, MASTER_CMD), ==, 0x86);
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0x40);
    qtest_outb(s, MASTER_CMD, OCW3_POLL);
    g_assert_cmphex(qtest_inb(s, MASTER_CMD), ==, 0x00);  /* nothing */
    qtest_outb(s, MASTER_CMD, OCW2_EOI);

    /* Auto-EOI: nothing stays in service after the acknowledge. */
    init_pair(s, 0x03);
    pulse(s, 1);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 1);
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0);
    pulse(s, 1);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_special_mask(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    pulse(s, 3);
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 3);
    pulse(s, 5);
    g_assert_false(qtest_get_irq(s, INTR));   /* blocked by IR3 */
    /* Special mask mode with IR3 masked lets lower levels in. */
    qtest_outb(s, MASTER_DATA, 0x08);
    qtest_outb(s, MASTER_CMD, OCW3_SMM_ON);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 5);
    qtest_outb(s, MASTER_CMD, OCW2_SEOI(5));
    qtest_outb(s, MASTER_CMD, OCW3_SMM_OFF);
    qtest_outb(s, MASTER_CMD, OCW2_SEOI(3));
    g_assert_cmphex(read_isr(s, MASTER_CMD), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A masked LINT0 keeps the PIC away from the CPU. */
static void test_lint0_masked(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    qtest_writel(s, 0xfee00350, 0x10700);
    pulse(s, 3);
    g_assert_false(qtest_get_irq(s, INTR));
    g_assert_cmpint(qtest_intack(s, 0), ==, -1);
    qtest_writel(s, 0xfee000f0, 0x1ff);     /* software enable */
    qtest_writel(s, 0xfee00350, 0x00700);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 3);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The PIT's channel 0 (mode 2, ~1 ms) reaches the CPU as IRQ 0. */
static void test_pit_irq0(void)
{
    QTestState *s = start();
    int ticks = 0;

    init_pair(s, 0x01);
    qtest_outb(s, 0x43, 0x34);
    qtest_outb(s, 0x40, 1193 & 0xff);
    qtest_outb(s, 0x40, 1193 >> 8);
    for (int i = 0; i < 10; i++) {
        qtest_clock_step(s, 1000000);
        if (qtest_get_irq(s, INTR)) {
            g_assert_cmphex(qtest_intack(s, 0), ==, MASTER_BASE + 0);
            qtest_outb(s, MASTER_CMD, OCW2_EOI);
            ticks++;
        }
    }
    g_assert_cmpint(ticks, >=, 9);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The RTC's periodic interrupt reaches the CPU as IRQ 8 (slave IR0). */
static void test_rtc_irq8(void)
{
    QTestState *s = start();

    init_pair(s, 0x01);
    qtest_outb(s, 0x70, 0x0a);
    qtest_outb(s, 0x71, 0x26);          /* 1024 Hz */
    qtest_outb(s, 0x70, 0x0b);
    qtest_outb(s, 0x71, 0x42);          /* PIE, 24 h */
    qtest_clock_step(s, 2000000);
    g_assert_true(qtest_get_irq(s, INTR));
    g_assert_cmphex(qtest_intack(s, 0), ==, SLAVE_BASE + 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8259/registers", test_registers);
    g_test_add_func("/i8259/edge-eoi", test_edge_eoi);
    g_test_add_func("/i8259/mask", test_mask);
    g_test_add_func("/i8259/priority-rotation", test_priority_rotation);
    g_test_add_func("/i8259/level-elcr", test_level_elcr);
    g_test_add_func("/i8259/poll-aeoi", test_poll_and_aeoi);
    g_test_add_func("/i8259/special-mask", test_special_mask);
    g_test_add_func("/i8259/lint0-masked", test_lint0_masked);
    g_test_add_func("/i8259/pit-irq0", test_pit_irq0);
    g_test_add_func("/i8259/rtc-irq8", test_rtc_irq8);
    return g_test_run();
}
