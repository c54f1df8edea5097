/*
 * i8042 keyboard controller, PS/2 keyboard and mouse through ports
 * 0x60/0x64, IRQ 1 and 12, system resets, and port 0x92.
 */
#include "libqtest.h"

#define DATA            0x60
#define CMD             0x64
#define KBD_IRQ         1
#define AUX_IRQ         12

#define STAT_OBF        0x01
#define STAT_SYS        0x04
#define STAT_CMD        0x08
#define STAT_UNLOCKED   0x10
#define STAT_AUX_OBF    0x20

#define CB_DEFAULT      0x03
#define CB_XLATE        0x40
#define CB_DISABLE_KBD  0x10

static QTestState *start(const char *args)
{
    QTestState *s = qtest_init(args);

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

/* Read one byte, checking it is there and where it came from. */
static uint8_t read_byte(QTestState *s, bool aux)
{
    uint8_t st = qtest_inb(s, CMD);

    g_assert_cmphex(st & STAT_OBF, ==, STAT_OBF);
    g_assert_cmphex(st & STAT_AUX_OBF, ==, aux ? STAT_AUX_OBF : 0);
    return qtest_inb(s, DATA);
}

static void assert_empty(QTestState *s)
{
    g_assert_cmphex(qtest_inb(s, CMD) & STAT_OBF, ==, 0);
}

static void expect_bytes(QTestState *s, bool aux, const uint8_t *bytes,
                         unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(read_byte(s, aux), ==, bytes[i]);
    }
    assert_empty(s);
}

#define EXPECT(s, aux, ...) do { \
        static const uint8_t exp_[] = { __VA_ARGS__ }; \
        expect_bytes(s, aux, exp_, sizeof(exp_)); \
    } while (0)

static void ctrl_cmd(QTestState *s, uint8_t cmd)
{
    qtest_outb(s, CMD, cmd);
}

static void ctrl_cmd_data(QTestState *s, uint8_t cmd, uint8_t data)
{
    qtest_outb(s, CMD, cmd);
    qtest_outb(s, DATA, data);
}

static void aux_write(QTestState *s, uint8_t val)
{
    ctrl_cmd_data(s, 0xd4, val);
}

static void test_self_test(void)
{
    QTestState *s = start("");

    g_assert_cmphex(qtest_inb(s, CMD), ==, STAT_CMD | STAT_UNLOCKED);
    ctrl_cmd(s, 0xaa);
    EXPECT(s, false, 0x55);
    g_assert_cmphex(qtest_inb(s, CMD) & STAT_SYS, ==, STAT_SYS);
    ctrl_cmd(s, 0xab);
    EXPECT(s, false, 0x00);
    ctrl_cmd(s, 0xa9);
    EXPECT(s, false, 0x00);
    ctrl_cmd(s, 0xd0);
    EXPECT(s, false, 0xcf);
    ctrl_cmd(s, 0xc0);
    EXPECT(s, false, 0x80);
    /* Reading with nothing there returns the last byte again. */
    g_assert_cmphex(qtest_inb(s, DATA), ==, 0x80);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_command_byte(void)
{
    QTestState *s = start("");

    ctrl_cmd(s, 0x20);
    EXPECT(s, false, CB_DEFAULT);
    ctrl_cmd_data(s, 0x60, 0x65);
    g_assert_cmphex(qtest_inb(s, CMD) & (STAT_CMD | STAT_SYS), ==, STAT_SYS);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, 0x65);
    /* AD/AE and A7/A8 toggle the disable bits. */
    ctrl_cmd(s, 0xad);
    ctrl_cmd(s, 0xa7);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, 0x75);
    ctrl_cmd(s, 0xae);
    ctrl_cmd(s, 0xa8);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, 0x45);
    /* Controller RAM. */
    ctrl_cmd_data(s, 0x7f, 0xa5);
    ctrl_cmd(s, 0x3f);
    EXPECT(s, false, 0xa5);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_keyboard_commands(void)
{
    QTestState *s = start("");

    qtest_outb(s, DATA, 0xff);
    EXPECT(s, false, 0xfa, 0xaa);
    qtest_outb(s, DATA, 0xf2);
    EXPECT(s, false, 0xfa, 0xab, 0x83);
    qtest_outb(s, DATA, 0xee);
    EXPECT(s, false, 0xee);
    qtest_outb(s, DATA, 0xed);
    EXPECT(s, false, 0xfa);
    qtest_outb(s, DATA, 0x07);
    EXPECT(s, false, 0xfa);
    qtest_outb(s, DATA, 0xf3);
    qtest_outb(s, DATA, 0x20);
    EXPECT(s, false, 0xfa, 0xfa);
    qtest_outb(s, DATA, 0xf0);
    qtest_outb(s, DATA, 0x00);
    EXPECT(s, false, 0xfa, 0xfa, 0x02);
    qtest_outb(s, DATA, 0xf0);
    qtest_outb(s, DATA, 0x01);
    qtest_outb(s, DATA, 0xf0);
    qtest_outb(s, DATA, 0x00);
    EXPECT(s, false, 0xfa, 0xfa, 0xfa, 0xfa, 0x01);
    /* F4/F5/F6 clear the keyboard's buffer: one command at a time. */
    qtest_outb(s, DATA, 0xf6);
    EXPECT(s, false, 0xfa);
    qtest_outb(s, DATA, 0xf5);
    EXPECT(s, false, 0xfa);
    qtest_outb(s, DATA, 0xf4);
    EXPECT(s, false, 0xfa);
    qtest_outb(s, DATA, 0x42);  /* not a command */
    EXPECT(s, false, 0xfe);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Scan code set 2 -> set 1 translation by the controller. */
static void test_translation(void)
{
    QTestState *s = start("");

    ctrl_cmd_data(s, 0x60, CB_DEFAULT | CB_XLATE);
    qtest_outb(s, DATA, 0xf2);
    EXPECT(s, false, 0xfa, 0xab, 0x41);
    qtest_outb(s, DATA, 0xf0);
    qtest_outb(s, DATA, 0x00);
    EXPECT(s, false, 0xfa, 0xfa, 0x41);
    /* D2 bytes come from the controller, untranslated. */
    ctrl_cmd_data(s, 0xd2, 0x1c);
    EXPECT(s, false, 0x1c);
    ctrl_cmd_data(s, 0x60, CB_DEFAULT);
    qtest_outb(s, DATA, 0xf2);
    EXPECT(s, false, 0xfa, 0xab, 0x83);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_kbd_irq(void)
{
    QTestState *s = start("");

    g_assert_false(qtest_get_irq(s, KBD_IRQ));
    qtest_outb(s, DATA, 0xff);
    g_assert_true(qtest_get_irq(s, KBD_IRQ));
    g_assert_false(qtest_get_irq(s, AUX_IRQ));
    g_assert_cmphex(qtest_inb(s, DATA), ==, 0xfa);
    /* The next byte is loaded at once: still (again) high. */
    g_assert_true(qtest_get_irq(s, KBD_IRQ));
    g_assert_cmphex(qtest_inb(s, DATA), ==, 0xaa);
    g_assert_false(qtest_get_irq(s, KBD_IRQ));

    /* Interrupts off in the command byte: data, no IRQ. */
    ctrl_cmd_data(s, 0x60, 0x00);
    qtest_outb(s, DATA, 0xee);
    g_assert_false(qtest_get_irq(s, KBD_IRQ));
    EXPECT(s, false, 0xee);

    /* Keyboard interface disabled: bytes wait until it is enabled. */
    ctrl_cmd_data(s, 0x60, CB_DEFAULT);
    ctrl_cmd(s, 0xd2);
    qtest_outb(s, DATA, 0x11);
    g_assert_true(qtest_get_irq(s, KBD_IRQ));
    EXPECT(s, false, 0x11);
    ctrl_cmd(s, 0xad);
    ctrl_cmd_data(s, 0xd4, 0xf2);   /* a mouse byte is still delivered */
    EXPECT(s, true, 0xfa, 0x00);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_mouse(void)
{
    QTestState *s = start("");

    aux_write(s, 0xff);
    g_assert_true(qtest_get_irq(s, AUX_IRQ));
    g_assert_false(qtest_get_irq(s, KBD_IRQ));
    EXPECT(s, true, 0xfa, 0xaa, 0x00);
    g_assert_false(qtest_get_irq(s, AUX_IRQ));
    aux_write(s, 0xf2);
    EXPECT(s, true, 0xfa, 0x00);
    /* Status: stream mode, disabled, 1:1, res 2, rate 100. */
    aux_write(s, 0xe9);
    EXPECT(s, true, 0xfa, 0x00, 0x02, 0x64);
    aux_write(s, 0xe8);
    aux_write(s, 0x03);
    aux_write(s, 0xe7);
    aux_write(s, 0xf4);
    aux_write(s, 0xe9);
    EXPECT(s, true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x30, 0x03, 0x64);
    /* IntelliMouse: 200, 100, 80 -> id 3. */
    static const uint8_t rates[] = { 200, 100, 80 };
    for (unsigned i = 0; i < 3; i++) {
        aux_write(s, 0xf3);
        aux_write(s, rates[i]);
    }
    EXPECT(s, true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
    aux_write(s, 0xf2);
    EXPECT(s, true, 0xfa, 0x03);
    /* Read data: a 4-byte packet now. */
    aux_write(s, 0xeb);
    EXPECT(s, true, 0xfa, 0x08, 0x00, 0x00, 0x00);
    /* Wrap mode echoes until EC. */
    aux_write(s, 0xee);
    aux_write(s, 0x12);
    aux_write(s, 0xec);
    aux_write(s, 0xea);
    EXPECT(s, true, 0xfa, 0x12, 0xfa, 0xfa);
    aux_write(s, 0x01);
    EXPECT(s, true, 0xfe);
    /* D3 puts a byte in the output buffer as if from the mouse. */
    ctrl_cmd_data(s, 0xd3, 0x77);
    g_assert_true(qtest_get_irq(s, AUX_IRQ));
    EXPECT(s, true, 0x77);
    /* Reset goes back to a standard mouse. */
    aux_write(s, 0xff);
    aux_write(s, 0xf2);
    EXPECT(s, true, 0xfa, 0xaa, 0x00, 0xfa, 0x00);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_reset_pulse(void)
{
    QTestState *s = start("");

    ctrl_cmd_data(s, 0x60, 0x47);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, 0x47);
    ctrl_cmd(s, 0xfe);
    /* The machine reset: the command byte is back to its default. */
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, CB_DEFAULT);
    /* D1 with bit 0 clear resets too. */
    ctrl_cmd_data(s, 0x60, 0x47);
    ctrl_cmd_data(s, 0xd1, 0xcc);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, CB_DEFAULT);
    /* A pulse of other lines (FF: none) does not. */
    ctrl_cmd_data(s, 0x60, 0x47);
    ctrl_cmd(s, 0xff);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, 0x47);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_reset_no_reboot(void)
{
    QTestState *s = start("-no-reboot");

    ctrl_cmd(s, 0xfe);
    g_assert_cmpint(qtest_wait_exit(s), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_a20(void)
{
    QTestState *s = start("");

    ctrl_cmd(s, 0xdd);
    ctrl_cmd(s, 0xd0);
    EXPECT(s, false, 0xcd);
    ctrl_cmd(s, 0xdf);
    ctrl_cmd(s, 0xd0);
    EXPECT(s, false, 0xcf);
    ctrl_cmd_data(s, 0xd1, 0xdd);
    ctrl_cmd(s, 0xd0);
    EXPECT(s, false, 0xcd);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_port92(void)
{
    QTestState *s = start("");

    g_assert_cmphex(qtest_inb(s, 0x92), ==, 0x00);
    qtest_outb(s, 0x92, 0x02);
    g_assert_cmphex(qtest_inb(s, 0x92), ==, 0x02);
    ctrl_cmd_data(s, 0x60, 0x47);
    /* Bit 0 rising resets the machine; the A20 bit stays. */
    qtest_outb(s, 0x92, 0x03);
    g_assert_cmphex(qtest_inb(s, 0x92), ==, 0x02);
    ctrl_cmd(s, 0x20);
    EXPECT(s, false, CB_DEFAULT);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_port92_no_reboot(void)
{
    QTestState *s = start("-no-reboot");

    qtest_outb(s, 0x92, 0x01);
    g_assert_cmpint(qtest_wait_exit(s), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8042/self-test", test_self_test);
    g_test_add_func("/i8042/command-byte", test_command_byte);
    g_test_add_func("/i8042/keyboard/commands", test_keyboard_commands);
    g_test_add_func("/i8042/keyboard/translation", test_translation);
    g_test_add_func("/i8042/keyboard/irq", test_kbd_irq);
    g_test_add_func("/i8042/mouse", test_mouse);
    g_test_add_func("/i8042/reset", test_reset_pulse);
    g_test_add_func("/i8042/reset-no-reboot", test_reset_no_reboot);
    g_test_add_func("/i8042/a20", test_a20);
    g_test_add_func("/port92/reset", test_port92);
    g_test_add_func("/port92/reset-no-reboot", test_port92_no_reboot);
    return g_test_run();
}
