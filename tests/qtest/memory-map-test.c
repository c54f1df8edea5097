/*
 * The pc machine's memory map as seen through qtest: RAM below and above
 * 4 GiB, the PCI hole (unassigned: reads all-ones, writes dropped), the
 * BIOS ROM below 4 GiB and its top 128 KiB mirrored at 0xe0000.
 *
 * Needs the default firmware (SeaBIOS from Debian's seabios package): the
 * whole program is skipped (status 77) without it.
 */
#include "libqtest.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ONES64 0xffffffffffffffffULL
#define FOUR_GIB 0x100000000ULL

static GBytes *firmware;    /* the default firmware image */

static void test_ram_split(void)
{
    /* 3.5 GiB: 3 GiB stay below the hole, 512 MiB move above 4 GiB. */
    QTestState *s = qtest_init("-m 3584M");
    uint8_t buf[32];

    qtest_writeq(s, 0, 0x1111111111111111ULL);
    qtest_writeq(s, 0xbffffff8ULL, 0x2222222222222222ULL);
    qtest_writeq(s, FOUR_GIB, 0x3333333333333333ULL);
    qtest_writeq(s, 0x11ffffff8ULL, 0x4444444444444444ULL);
    g_assert_cmphex(qtest_readq(s, 0), ==, 0x1111111111111111ULL);
    g_assert_cmphex(qtest_readq(s, 0xbffffff8ULL), ==, 0x2222222222222222ULL);
    g_assert_cmphex(qtest_readq(s, FOUR_GIB), ==, 0x3333333333333333ULL);
    g_assert_cmphex(qtest_readq(s, 0x11ffffff8ULL), ==,
                    0x4444444444444444ULL);

    /* The hole from 3 GiB: nothing there, writes vanish. */
    g_assert_cmphex(qtest_readq(s, 0xc0000000ULL), ==, ONES64);
    qtest_writeq(s, 0xc0000000ULL, 0);
    g_assert_cmphex(qtest_readq(s, 0xc0000000ULL), ==, ONES64);
    g_assert_cmphex(qtest_readl(s, 0xdffffffcULL), ==, 0xffffffff);
    /* RAM ends at 4.5 GiB. */
    g_assert_cmphex(qtest_readq(s, 0x120000000ULL), ==, ONES64);
    qtest_writeb(s, 0x120000000ULL, 0);
    g_assert_cmphex(qtest_readb(s, 0x120000000ULL), ==, 0xff);

    /* Accesses straddling the ends of RAM. */
    g_assert_cmphex(qtest_readq(s, 0xbffffffcULL), ==, 0xffffffff22222222ULL);
    qtest_memread(s, 0x11ffffff0ULL, buf, sizeof(buf));
    for (unsigned i = 0; i < 32; i++) {
        g_assert_cmphex(buf[i], ==, i < 8 ? 0 : i < 16 ? 0x44 : 0xff);
    }
    /* The 512 MiB above 4 GiB are not an alias of low RAM. */
    g_assert_cmphex(qtest_readq(s, 0), ==, 0x1111111111111111ULL);
    g_assert_cmphex(qtest_readq(s, 0xc0000000ULL - 0x20000000ULL), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_default_ram_size(void)
{
    QTestState *s = qtest_init("");    /* 128 MiB */

    qtest_writel(s, 0x7fffffcULL, 0x89abcdef);
    g_assert_cmphex(qtest_readl(s, 0x7fffffcULL), ==, 0x89abcdef);
    g_assert_cmphex(qtest_readl(s, 0x8000000ULL), ==, 0xffffffff);
    g_assert_cmphex(qtest_readq(s, FOUR_GIB), ==, ONES64);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void read_big(QTestState *s, uint64_t addr, uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len; off += 0x10000) {
        qtest_bufread(s, addr + off, buf + off, MIN(len - off, 0x10000));
    }
}

/* The firmware sits right below 4 GiB and ignores writes. */
static void test_bios_rom(void)
{
    QTestState *s = qtest_init("");
    gsize size;
    const uint8_t *image = g_bytes_get_data(firmware, &size);
    uint64_t base = FOUR_GIB - size;
    g_autofree uint8_t *buf = g_malloc(size);
    uint32_t reset_vector = image[size - 16] | image[size - 15] << 8 |
                            image[size - 14] << 16 |
                            (uint32_t)image[size - 13] << 24;

    read_big(s, base, buf, size);
    g_assert(!memcmp(buf, image, size));
    g_assert_cmphex(qtest_readl(s, 0xfffffff0ULL), ==, reset_vector);

    qtest_writel(s, 0xfffffff0ULL, ~reset_vector);
    qtest_memset(s, base, 0x5a, 4096);
    g_assert_cmphex(qtest_readl(s, 0xfffffff0ULL), ==, reset_vector);
    qtest_memread(s, base, buf, 4096);
    g_assert(!memcmp(buf, image, 4096));
    /* Just below the ROM: unassigned. */
    g_assert_cmphex(qtest_readl(s, base - 4), ==, 0xffffffff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Its top 128 KiB also appear at 0xe0000-0xfffff, read-only too. */
static void test_isa_bios_alias(void)
{
    QTestState *s = qtest_init("");
    gsize size;
    const uint8_t *image = g_bytes_get_data(firmware, &size);
    const size_t window = 128 * 1024;
    g_autofree uint8_t *buf = g_malloc(window);

    read_big(s, 0xe0000, buf, window);
    g_assert(!memcmp(buf, image + size - window, window));
    g_assert_cmphex(qtest_readq(s, 0xffff0), ==,
                    qtest_readq(s, 0xfffffff0ULL));

    qtest_writel(s, 0xe0000, 0);
    qtest_memset(s, 0xffff0, 0, 16);
    qtest_memread(s, 0xe0000, buf, 16);
    g_assert(!memcmp(buf, image + size - window, 16));
    g_assert_cmphex(qtest_readq(s, 0xffff0), ==,
                    qtest_readq(s, 0xfffffff0ULL));
    /* Below the window and above 1 MiB: RAM. */
    qtest_writel(s, 0xdfffc, 0x600d600d);
    g_assert_cmphex(qtest_readl(s, 0xdfffc), ==, 0x600d600d);
    qtest_writel(s, 0x100000, 0x0badf00d);
    g_assert_cmphex(qtest_readl(s, 0x100000), ==, 0x0badf00d);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A 64 KiB -bios image: mapped at 0xffff0000, mirrored at 0xf0000 only. */
static void test_small_bios(void)
{
    const size_t size = 64 * 1024;
    g_autofree uint8_t *image = g_malloc(size);
    g_autofree uint8_t *buf = g_malloc(size);
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("kvmpc-bios-XXXXXX", &path, NULL);
    QTestState *s;

    g_assert(fd >= 0);
    close(fd);
    for (size_t i = 0; i < size; i++) {
        image[i] = (i * 13) ^ (i >> 8);
    }
    g_assert(g_file_set_contents(path, (char *)image, size, NULL));
    s = qtest_initf("-bios %s", path);

    read_big(s, 0xffff0000ULL, buf, size);
    g_assert(!memcmp(buf, image, size));
    read_big(s, 0xf0000, buf, size);
    g_assert(!memcmp(buf, image, size));
    g_assert_cmphex(qtest_readl(s, 0xfffefffcULL), ==, 0xffffffff);
    /* 0xe0000-0xeffff is plain RAM with a 64 KiB image. */
    qtest_writel(s, 0xe0000, 0x12345678);
    g_assert_cmphex(qtest_readl(s, 0xe0000), ==, 0x12345678);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    unlink(path);
}

int main(int argc, char **argv)
{
    const char *fw = qtest_default_firmware();
    g_autofree char *data = NULL;
    gsize len;
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (!fw) {
        printf("SKIP: the default firmware (seabios bios-256k.bin) is not "
               "installed\n");
        return 77;
    }
    g_assert(g_file_get_contents(fw, &data, &len, NULL));
    firmware = g_bytes_new(data, len);
    g_test_add_func("/memory-map/ram-split", test_ram_split);
    g_test_add_func("/memory-map/default-ram-size", test_default_ram_size);
    g_test_add_func("/memory-map/bios-rom", test_bios_rom);
    g_test_add_func("/memory-map/isa-bios-alias", test_isa_bios_alias);
    g_test_add_func("/memory-map/small-bios", test_small_bios);
    ret = g_test_run();
    g_bytes_unref(firmware);
    return ret;
}
