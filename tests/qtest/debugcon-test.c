/*
 * isa-debugcon: bytes written to the port reach the chardev in order; reads
 * return the "readback" value (0xe9 by default, so guests can detect it).
 */
#include "libqtest.h"
#include <unistd.h>

static char *tmp_path(void)
{
    char *path;
    int fd = g_file_open_tmp("kvmpc-debugcon-XXXXXX", &path, NULL);

    g_assert(fd >= 0);
    close(fd);
    return path;
}

static char *contents(const char *path)
{
    char *text;

    g_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static void put_string(QTestState *s, uint16_t port, const char *str)
{
    for (; *str; str++) {
        qtest_outb(s, port, *str);
    }
}

/* -debugcon file:PATH: port 0xe9. */
static void test_debugcon_option(void)
{
    g_autofree char *out = tmp_path();
    g_autofree char *text = NULL;
    QTestState *s = qtest_initf("-debugcon file:%s", out);
    gsize len;

    g_assert_cmphex(qtest_inb(s, 0xe9), ==, 0xe9);
    put_string(s, 0xe9, "Hello, debugcon!\n");
    /* Output is written as it comes, not at exit. */
    text = contents(out);
    g_assert_cmpstr(text, ==, "Hello, debugcon!\n");
    /* Every byte value passes through unchanged. */
    qtest_outb(s, 0xe9, 0x00);
    qtest_outb(s, 0xe9, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_free(text);
    g_assert(g_file_get_contents(out, &text, &len, NULL));
    g_assert_cmpuint(len, ==, 19);
    g_assert_cmphex((uint8_t)text[17], ==, 0x00);
    g_assert_cmphex((uint8_t)text[18], ==, 0xff);
    unlink(out);
}

/* -device isa-debugcon with its own port and readback (OVMF uses 0x402). */
static void test_device_props(void)
{
    g_autofree char *out = tmp_path();
    g_autofree char *text = NULL;
    QTestState *s = qtest_initf("-chardev file,id=dbg,path=%s "
                                "-device isa-debugcon,iobase=0x402,"
                                "readback=0x42,chardev=dbg", out);

    g_assert_cmphex(qtest_inb(s, 0x402), ==, 0x42);
    /* The default port is not decoded by this instance. */
    g_assert_cmphex(qtest_inb(s, 0xe9), ==, 0xff);
    put_string(s, 0x402, "ovmf");
    qtest_outb(s, 0xe9, 'x');
    g_assert_cmpint(qtest_quit(s), ==, 0);
    text = contents(out);
    g_assert_cmpstr(text, ==, "ovmf");
    unlink(out);
}

/* Without -debugcon nothing is at 0xe9. */
static void test_absent(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(qtest_inb(s, 0xe9), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/isa-debugcon/option", test_debugcon_option);
    g_test_add_func("/isa-debugcon/device-props", test_device_props);
    g_test_add_func("/isa-debugcon/absent", test_absent);
    return g_test_run();
}
