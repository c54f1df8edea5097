/*
 * The userspace 8254 PIT (hw/timer/i8254.c) under -accel qtest: modes 0-4
 * with their OUT waveforms on the virtual clock (channel 0's OUT is GSI
 * 0), counter latch and read-back (count and status), BCD, LSB/MSB-only
 * access, channel 2's gate and OUT through port 0x61, and the HPET's
 * legacy replacement taking IRQ 0 away from the PIT.
 */
#include "qemu/osdep.h"
#include "libqtest.h"

#define PIT_CH0         0x40
#define PIT_CH2         0x42
#define PIT_CTRL        0x43
#define PORT61          0x61
#define PIT_HZ          1193182ULL
#define IRQ0            0

/* Virtual ns at which the count reaches @ticks (rounded up). */
static int64_t ticks_ns(uint64_t ticks)
{
    return (ticks * 1000000000ULL + PIT_HZ - 1) / PIT_HZ;
}

static QTestState *start(const char *args)
{
    QTestState *s = qtest_init(args);

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static void program(QTestState *s, uint8_t ctrl, uint16_t count)
{
    uint16_t port = 0x40 + (ctrl >> 6);

    qtest_outb(s, PIT_CTRL, ctrl);
    qtest_outb(s, port, count & 0xff);
    qtest_outb(s, port, count >> 8);
}

static uint16_t read_latched(QTestState *s, unsigned ch)
{
    uint16_t v;

    qtest_outb(s, PIT_CTRL, ch << 6);
    v = qtest_inb(s, 0x40 + ch);
    return v | qtest_inb(s, 0x40 + ch) << 8;
}

static void test_reset_idle(void)
{
    QTestState *s = start("");

    /* Nothing runs until programmed (as KVM's PIT). */
    g_assert_false(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_clock_step_next(s), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_mode2_rate(void)
{
    QTestState *s = start("");
    int64_t t;

    program(s, 0x34, 100);
    g_assert_true(qtest_get_irq(s, IRQ0));      /* OUT high when set up */
    for (uint64_t k = 1; k <= 4; k++) {
        /* Low for the last clock of each period, then the rising edge. */
        t = qtest_clock_step_next(s);
        g_assert_cmpint(t, ==, ticks_ns(k * 100 - 1));
        g_assert_false(qtest_get_irq(s, IRQ0));
        t = qtest_clock_step_next(s);
        g_assert_cmpint(t, ==, ticks_ns(k * 100));
        g_assert_true(qtest_get_irq(s, IRQ0));
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_latch_readback(void)
{
    QTestState *s = start("");
    uint16_t a, b;

    qtest_outb(s, PIT_CTRL, 0x30);              /* ch0, mode 0 */
    /* Read-back status: OUT low, null count, RW 3, mode 0. */
    qtest_outb(s, PIT_CTRL, 0xe2);
    g_assert_cmphex(qtest_inb(s, PIT_CH0), ==, 0x70);
    qtest_outb(s, PIT_CH0, 1000 & 0xff);
    qtest_outb(s, PIT_CH0, 1000 >> 8);
    qtest_outb(s, PIT_CTRL, 0xe2);
    g_assert_cmphex(qtest_inb(s, PIT_CH0), ==, 0x30);
    qtest_clock_step(s, ticks_ns(100));
    /* Counter latch: frozen until read. */
    qtest_outb(s, PIT_CTRL, 0x00);
    qtest_clock_step(s, ticks_ns(50));
    a = qtest_inb(s, PIT_CH0);
    a |= qtest_inb(s, PIT_CH0) << 8;
    g_assert_cmpuint(a, ==, 900);
    b = read_latched(s, 0);
    g_assert_cmpuint(b, ==, 850);
    /* Read-back of count and status together: status first. */
    qtest_outb(s, PIT_CTRL, 0xc2);
    g_assert_cmphex(qtest_inb(s, PIT_CH0), ==, 0x30);
    a = qtest_inb(s, PIT_CH0);
    a |= qtest_inb(s, PIT_CH0) << 8;
    g_assert_cmpuint(a, ==, 850);
    /* Terminal count: OUT (and IRQ 0) go high and stay. */
    g_assert_false(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_clock_step_next(s), ==, ticks_ns(1000));
    g_assert_true(qtest_get_irq(s, IRQ0));
    qtest_outb(s, PIT_CTRL, 0xe2);
    g_assert_cmphex(qtest_inb(s, PIT_CH0), ==, 0xb0);
    qtest_clock_step(s, ticks_ns(70000));
    g_assert_true(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_bcd_and_byte_modes(void)
{
    QTestState *s = start("");

    program(s, 0x31, 0x1000);                   /* mode 0, BCD 1000 */
    qtest_clock_step(s, ticks_ns(100));
    g_assert_cmphex(read_latched(s, 0), ==, 0x0900);
    /* LSB only: the count is that byte; reads give the low byte. */
    qtest_outb(s, PIT_CTRL, 0x10);
    qtest_outb(s, PIT_CH0, 0x50);
    g_assert_cmphex(qtest_inb(s, PIT_CH0), ==, 0x50);
    /* MSB only. */
    qtest_outb(s, PIT_CTRL, 0x20);
    qtest_outb(s, PIT_CH0, 0x02);
    qtest_clock_step(s, ticks_ns(0x100));
    g_assert_cmphex(qtest_inb(s, PIT_CH0), ==, 0x01);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_mode4_strobe(void)
{
    QTestState *s = start("");

    program(s, 0x38, 200);
    g_assert_true(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_clock_step_next(s), ==, ticks_ns(200));
    g_assert_false(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_clock_step_next(s), ==, ticks_ns(201));
    g_assert_true(qtest_get_irq(s, IRQ0));
    /* Once only. */
    qtest_clock_step(s, ticks_ns(100000));
    g_assert_true(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Channel 2: the gate and OUT are port 0x61 bits 0 and 5. */
static void test_channel2_port61(void)
{
    QTestState *s = start("");
    uint8_t a, b;

    /* Refresh detect toggles on each read. */
    a = qtest_inb(s, PORT61);
    b = qtest_inb(s, PORT61);
    g_assert_cmphex((a ^ b) & 0x10, ==, 0x10);

    /* Mode 3 with the gate low: OUT held high. */
    program(s, 0xb6, 1000);
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x23, ==, 0x20);
    qtest_outb(s, PORT61, 0x03);                /* gate, speaker data */
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x23, ==, 0x23);
    qtest_clock_step(s, ticks_ns(499));
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x20, ==, 0x20);
    qtest_clock_step(s, ticks_ns(502) - ticks_ns(499));
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x20, ==, 0);
    qtest_clock_step(s, ticks_ns(1001) - ticks_ns(502));
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x20, ==, 0x20);

    /* Mode 1: the one-shot starts on the gate's rising edge. */
    qtest_outb(s, PORT61, 0x00);
    program(s, 0xb2, 100);
    qtest_clock_step(s, ticks_ns(500));
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x20, ==, 0x20);
    qtest_outb(s, PORT61, 0x01);
    qtest_clock_step(s, ticks_ns(50));
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x20, ==, 0);
    qtest_clock_step(s, ticks_ns(60));
    g_assert_cmphex(qtest_inb(s, PORT61) & 0x20, ==, 0x20);
    /* Channel 2 never touches IRQ 0. */
    g_assert_false(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The HPET's legacy replacement route silences the PIT on IRQ 0. */
static void test_hpet_legacy(void)
{
    QTestState *s = start("");

    program(s, 0x34, 100);
    g_assert_true(qtest_get_irq(s, IRQ0));
    qtest_writeq(s, 0xfed00010, 0x02);          /* LEG_RT_CNF */
    g_assert_false(qtest_get_irq(s, IRQ0));
    qtest_clock_step(s, ticks_ns(1000));
    g_assert_false(qtest_get_irq(s, IRQ0));
    /* Legacy off: the PIT drives IRQ 0 again, on the same schedule. */
    qtest_writeq(s, 0xfed00010, 0x00);
    g_assert_true(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_clock_step_next(s), ==, ticks_ns(1099));
    g_assert_false(qtest_get_irq(s, IRQ0));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8254/reset-idle", test_reset_idle);
    g_test_add_func("/i8254/mode2-rate", test_mode2_rate);
    g_test_add_func("/i8254/latch-readback", test_latch_readback);
    g_test_add_func("/i8254/bcd-byte-modes", test_bcd_and_byte_modes);
    g_test_add_func("/i8254/mode4-strobe", test_mode4_strobe);
    g_test_add_func("/i8254/channel2-port61", test_channel2_port61);
    g_test_add_func("/i8254/hpet-legacy", test_hpet_legacy);
    return g_test_run();
}
