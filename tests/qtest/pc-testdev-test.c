/*
 * pc-testdev: the data register at 0xe0 (any width) and its byte view at
 * 0xe8, the page-flush port 0xe4, the IRQ lines at 0x2000 + N, and the
 * 64 KiB MMIO scratch buffer at 0xff000000.
 */
#include "libqtest.h"

#define TESTDEV_ARGS "-device pc-testdev"
#define IOMEM        0xff000000ULL
#define IOMEM_SIZE   0x10000ULL

static void test_data_register(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);

    qtest_outl(s, 0xe0, 0x12345678);
    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0x12345678);
    g_assert_cmphex(qtest_inb(s, 0xe0), ==, 0x78);
    g_assert_cmphex(qtest_inb(s, 0xe1), ==, 0x56);
    g_assert_cmphex(qtest_inb(s, 0xe3), ==, 0x12);
    g_assert_cmphex(qtest_inw(s, 0xe0), ==, 0x5678);
    g_assert_cmphex(qtest_inw(s, 0xe2), ==, 0x1234);
    g_assert_cmphex(qtest_inw(s, 0xe1), ==, 0x3456);

    /* Narrow writes change only their bytes. */
    qtest_outb(s, 0xe1, 0xab);
    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0x1234ab78);
    qtest_outw(s, 0xe2, 0xcdef);
    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0xcdefab78);
    qtest_outb(s, 0xe3, 0x00);
    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0x00efab78);

    /* 0xe8 is a byte-wide view of the same register. */
    g_assert_cmphex(qtest_inb(s, 0xe8), ==, 0x78);
    g_assert_cmphex(qtest_inb(s, 0xea), ==, 0xef);
    g_assert_cmphex(qtest_inl(s, 0xe8), ==, 0x00efab78);
    qtest_outl(s, 0xe8, 0xa1b2c3d4);
    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0xa1b2c3d4);
    qtest_outb(s, 0xeb, 0x5a);
    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0x5ab2c3d4);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Writing V to 0x2000 + N drives GSI N to V. */
static void test_irq_lines(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    for (int n = 0; n < 24; n++) {
        g_assert(!qtest_get_irq(s, n));
        qtest_outb(s, 0x2000 + n, 1);
        g_assert(qtest_get_irq(s, n));
        for (int m = 0; m < 24; m++) {
            if (m != n) {
                g_assert(!qtest_get_irq(s, m));
            }
        }
        /* Any non-zero value asserts; 0 deasserts. */
        qtest_outb(s, 0x2000 + n, 0x80);
        g_assert(qtest_get_irq(s, n));
        qtest_outb(s, 0x2000 + n, 0);
        g_assert(!qtest_get_irq(s, n));
    }
    /* The lines read as 0. */
    g_assert_cmphex(qtest_inb(s, 0x2005), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A line raised before interception is reported once interception starts. */
static void test_irq_high_before_intercept(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);

    qtest_outb(s, 0x2000 + 9, 1);
    g_assert(!qtest_get_irq(s, 9));     /* nothing reported yet */
    qtest_irq_intercept_in(s, "/machine/i440fx/ioapic");
    g_assert(qtest_get_irq(s, 9));
    /* Intercepting again is harmless. */
    qtest_irq_intercept_out(s, "ioapic");
    qtest_outb(s, 0x2000 + 9, 0);
    g_assert(!qtest_get_irq(s, 9));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* set_irq_in drives a GSI from the test, and interception sees it. */
static void test_set_irq_in(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    qtest_set_irq_in(s, "ioapic", "unnamed-gpio-in", 11, 1);
    g_assert(qtest_get_irq(s, 11));
    qtest_set_irq_in(s, "ioapic", "unnamed-gpio-in", 11, 0);
    g_assert(!qtest_get_irq(s, 11));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_iomem(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);
    uint8_t buf[64], back[64];

    g_assert_cmphex(qtest_readq(s, IOMEM), ==, 0);
    qtest_writel(s, IOMEM, 0xdeadbeef);
    g_assert_cmphex(qtest_readl(s, IOMEM), ==, 0xdeadbeef);
    g_assert_cmphex(qtest_readb(s, IOMEM + 1), ==, 0xbe);
    g_assert_cmphex(qtest_readw(s, IOMEM + 2), ==, 0xdead);
    qtest_writeb(s, IOMEM + 3, 0x11);
    g_assert_cmphex(qtest_readl(s, IOMEM), ==, 0x11adbeef);

    qtest_writeq(s, IOMEM + IOMEM_SIZE - 8, 0x8877665544332211ULL);
    g_assert_cmphex(qtest_readq(s, IOMEM + IOMEM_SIZE - 8), ==,
                    0x8877665544332211ULL);
    g_assert_cmphex(qtest_readb(s, IOMEM + IOMEM_SIZE - 1), ==, 0x88);
    /* Past the end nothing is mapped. */
    g_assert_cmphex(qtest_readl(s, IOMEM + IOMEM_SIZE), ==, 0xffffffff);
    /* An access straddling the end: the mapped half, then all-ones. */
    g_assert_cmphex(qtest_readl(s, IOMEM + IOMEM_SIZE - 2), ==, 0xffff8877);

    for (unsigned i = 0; i < sizeof(buf); i++) {
        buf[i] = 0xc0 ^ i;
    }
    qtest_memwrite(s, IOMEM + 0x101, buf, sizeof(buf));
    qtest_memread(s, IOMEM + 0x101, back, sizeof(back));
    g_assert(!memcmp(buf, back, sizeof(buf)));
    qtest_memset(s, IOMEM + 0x100, 0x5a, 3);
    g_assert_cmphex(qtest_readl(s, IOMEM + 0x100), ==, 0xc25a5a5a);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The flush port re-protects a RAM page; its contents must survive. */
static void test_flush_page(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);

    qtest_writeq(s, 0x200000, 0x0123456789abcdefULL);
    qtest_outl(s, 0xe4, 0x200000);
    g_assert_cmphex(qtest_readq(s, 0x200000), ==, 0x0123456789abcdefULL);
    /* Addresses that are not RAM are ignored. */
    qtest_outl(s, 0xe4, 0xfee00000);
    qtest_outl(s, 0xe4, 0xffffffff);
    g_assert_cmphex(qtest_inl(s, 0xe4), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Without the device all of it is unassigned. */
static void test_absent(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(qtest_inl(s, 0xe0), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, IOMEM), ==, 0xffffffff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pc-testdev/data-register", test_data_register);
    g_test_add_func("/pc-testdev/irq-lines", test_irq_lines);
    g_test_add_func("/pc-testdev/irq-high-before-intercept",
                    test_irq_high_before_intercept);
    g_test_add_func("/pc-testdev/set-irq-in", test_set_irq_in);
    g_test_add_func("/pc-testdev/iomem", test_iomem);
    g_test_add_func("/pc-testdev/flush-page", test_flush_page);
    g_test_add_func("/pc-testdev/absent", test_absent);
    return g_test_run();
}
