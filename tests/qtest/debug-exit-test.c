/*
 * isa-debug-exit: a write of V ends kvmpc with exit status (V << 1) | 1.
 * The status is what the process reports, so only its low 8 bits count.
 */
#include "libqtest.h"

static void check_exit(const char *args, unsigned width, uint16_t port,
                       uint32_t value, int want)
{
    QTestState *s = qtest_init(args);

    /* Reads do nothing (and return 0), so the device can be probed. */
    g_assert_cmphex(qtest_inb(s, port), ==, 0);
    switch (width) {
    case 1:
        qtest_outb(s, port, value);
        break;
    case 2:
        qtest_outw(s, port, value);
        break;
    default:
        qtest_outl(s, port, value);
        break;
    }
    g_assert_cmpint(qtest_wait_exit(s), ==, want);
    g_assert_cmpint(qtest_quit(s), ==, want);
}

static void test_default_port(void)
{
    /* iobase 0x501, iosize 2: the kvm-unit-tests convention. */
    check_exit("-device isa-debug-exit", 1, 0x501, 0x12, 0x25);
    check_exit("-device isa-debug-exit", 1, 0x501, 0, 1);
    check_exit("-device isa-debug-exit", 2, 0x501, 0x7f, 0xff);
    /* (0x100 << 1) | 1 = 0x201: the process status keeps 0x01. */
    check_exit("-device isa-debug-exit", 2, 0x501, 0x100, 1);
    /* The second byte of the 2-byte port exits too. */
    check_exit("-device isa-debug-exit", 1, 0x502, 3, 7);
}

static void test_custom_port(void)
{
    check_exit("-device isa-debug-exit,iobase=0xf4,iosize=4", 4, 0xf4, 0x20,
               0x41);
    check_exit("-device isa-debug-exit,iobase=0xf4,iosize=1", 1, 0xf4, 1, 3);
}

/* Without the device the port is unassigned: nothing happens. */
static void test_absent(void)
{
    QTestState *s = qtest_init("");

    qtest_outb(s, 0x501, 1);
    g_assert_cmphex(qtest_inb(s, 0x501), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/isa-debug-exit/default-port", test_default_port);
    g_test_add_func("/isa-debug-exit/custom-port", test_custom_port);
    g_test_add_func("/isa-debug-exit/absent", test_absent);
    return g_test_run();
}
