/*
 * ioport80: the POST port 0x80 and the 0xed delay port swallow writes and
 * read as 0xff, like a PC where nothing decodes them.
 */
#include "libqtest.h"

static void check_sink(QTestState *s, uint16_t port)
{
    g_assert_cmphex(qtest_inb(s, port), ==, 0xff);
    for (unsigned v = 0; v < 0x100; v += 0x55) {
        qtest_outb(s, port, v);
        g_assert_cmphex(qtest_inb(s, port), ==, 0xff);
    }
}

static void test_post_port(void)
{
    QTestState *s = qtest_init("");

    check_sink(s, 0x80);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_delay_port(void)
{
    QTestState *s = qtest_init("");

    check_sink(s, 0xed);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Writes to 0x80 do not leak into the DMA page registers next to it. */
static void test_neighbours(void)
{
    QTestState *s = qtest_init("");
    uint8_t before = qtest_inb(s, 0x81);

    qtest_outb(s, 0x80, before ^ 0xff);
    g_assert_cmphex(qtest_inb(s, 0x81), ==, before);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioport80/post-port", test_post_port);
    g_test_add_func("/ioport80/delay-port", test_delay_port);
    g_test_add_func("/ioport80/neighbours", test_neighbours);
    return g_test_run();
}
