/*
 * i440FX function 00.0: PAM shadowing of 0xc0000-0xfffff and the SMRAM
 * register.  A 128 KiB firmware image with a known pattern is mapped at
 * 0xfffe0000 and (through the PCI space) at 0xe0000.
 */
#include "pci-helpers.h"
#include <glib/gstdio.h>
#include <unistd.h>

#define I440FX          DEVFN(0, 0)
#define PAM0            0x59
#define SMRAM           0x72
#define BIOS_SIZE       (128 * 1024)
#define BIOS_HIGH       (0x100000000ULL - BIOS_SIZE)
#define BIOS_LOW        0xe0000

static char *bios_path;

static uint8_t bios_byte(size_t off)
{
    return (uint8_t)(off * 13 + (off >> 8) + 5);
}

static uint32_t bios_long(size_t off)
{
    return bios_byte(off) | bios_byte(off + 1) << 8 |
           bios_byte(off + 2) << 16 | (uint32_t)bios_byte(off + 3) << 24;
}

static void make_bios(void)
{
    GError *err = NULL;
    int fd = g_file_open_tmp("kvmpc-bios-XXXXXX", &bios_path, &err);
    g_autofree uint8_t *data = g_malloc(BIOS_SIZE);

    g_assert_no_error(err);
    for (size_t i = 0; i < BIOS_SIZE; i++) {
        data[i] = bios_byte(i);
    }
    g_assert_cmpint(write(fd, data, BIOS_SIZE), ==, BIOS_SIZE);
    close(fd);
}

static QTestState *start(void)
{
    return qtest_initf("-bios %s", bios_path);
}

/* Segment @seg: 0 = 0xf0000 (PAM0 high nibble), 1-12 = 0xc0000 + 16K * n. */
static uint64_t seg_base(unsigned seg)
{
    return seg == 0 ? 0xf0000 : 0xc0000 + (seg - 1) * 0x4000;
}

static void set_pam(QTestState *s, unsigned seg, unsigned mode)
{
    unsigned reg = seg == 0 ? PAM0 : PAM0 + 1 + (seg - 1) / 2;
    unsigned shift = seg == 0 ? 4 : ((seg - 1) & 1) * 4;
    uint8_t v = cfg_readb(s, I440FX, reg);

    v = (v & ~(0xf << shift)) | (mode << shift);
    cfg_writeb(s, I440FX, reg, v);
}

static void set_all_pam(QTestState *s, uint8_t pam0, uint8_t rest)
{
    cfg_writeb(s, I440FX, PAM0, pam0);
    for (unsigned i = 1; i < 7; i++) {
        cfg_writeb(s, I440FX, PAM0 + i, rest);
    }
}

static void test_bios_at_reset(void)
{
    QTestState *s = start();

    for (unsigned i = 0; i < 7; i++) {
        g_assert_cmphex(cfg_readb(s, I440FX, PAM0 + i), ==, 0);
    }
    g_assert_cmphex(qtest_readl(s, BIOS_HIGH), ==, bios_long(0));
    g_assert_cmphex(qtest_readl(s, 0xffff0), ==, bios_long(0x1fff0));
    g_assert_cmphex(qtest_readl(s, BIOS_LOW + 0x1234), ==, bios_long(0x1234));
    /* ROM: writes in PCI mode go nowhere. */
    qtest_writel(s, 0xf0000, 0);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, bios_long(0x10000));
    qtest_quit(s);
}

/* What SeaBIOS does: RAM read/write, copy from the high alias, lock. */
static void test_shadow_sequence(void)
{
    QTestState *s = start();
    g_autofree uint8_t *buf = g_malloc(BIOS_SIZE);
    g_autofree uint8_t *check = g_malloc(BIOS_SIZE);

    set_all_pam(s, 0x30, 0x33);
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, 0);     /* RAM now */
    qtest_bufread(s, BIOS_HIGH, buf, BIOS_SIZE);
    qtest_bufwrite(s, BIOS_LOW, buf, BIOS_SIZE);
    qtest_bufread(s, BIOS_LOW, check, BIOS_SIZE);
    g_assert(memcmp(buf, check, BIOS_SIZE) == 0);

    /* The shadow copy is writable until locked. */
    qtest_writel(s, BIOS_LOW, 0xdeadbeef);
    set_all_pam(s, 0x10, 0x11);
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, 0xdeadbeef);
    qtest_writel(s, BIOS_LOW, 0x12345678);
    qtest_writel(s, 0xf8000, 0x12345678);
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, 0xdeadbeef);
    g_assert_cmphex(qtest_readl(s, 0xf8000), ==, bios_long(0x18000));

    /* Back to PCI: the ROM again; back to RAM: the copy. */
    set_all_pam(s, 0x00, 0x00);
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, bios_long(0));
    set_all_pam(s, 0x30, 0x33);
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, 0xdeadbeef);
    qtest_quit(s);
}

/* Each e/f segment switches on its own. */
static void test_segments_independent(void)
{
    QTestState *s = start();
    const unsigned segs[] = { 0, 9, 10, 11, 12 };   /* 0xf0000, 0xe0000... */

    for (unsigned i = 0; i < G_N_ELEMENTS(segs); i++) {
        uint64_t base = seg_base(segs[i]);
        set_pam(s, segs[i], 3);
        qtest_writel(s, base + 8, 0xa5a50000 + i);
        set_pam(s, segs[i], 0);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(segs); i++) {
        uint64_t base = seg_base(segs[i]);
        set_pam(s, segs[i], 1);
        for (unsigned j = 0; j < G_N_ELEMENTS(segs); j++) {
            uint64_t b = seg_base(segs[j]);
            uint32_t expect = i == j ? 0xa5a50000 + j
                                     : bios_long(b + 8 - BIOS_LOW);
            g_assert_cmphex(qtest_readl(s, b + 8), ==, expect);
        }
        /* The segment's last byte and the next one's first. */
        g_assert_cmphex(qtest_readb(s, base - 1), ==,
                        base - 1 >= BIOS_LOW ? bios_byte(base - 1 - BIOS_LOW)
                                             : 0);
        set_pam(s, segs[i], 0);
    }
    qtest_quit(s);
}

/* Expansion segments: read-only mode drops writes, RAM mode keeps them. */
static void test_expansion_segments(void)
{
    QTestState *s = start();

    for (unsigned seg = 1; seg <= 8; seg++) {
        uint64_t base = seg_base(seg);
        set_pam(s, seg, 3);
        qtest_writel(s, base, 0x1000 + seg);
        set_pam(s, seg, 1);
        qtest_writel(s, base, 0xffff);
        g_assert_cmphex(qtest_readl(s, base), ==, 0x1000 + seg);
        set_pam(s, seg, 3);
        g_assert_cmphex(qtest_readl(s, base), ==, 0x1000 + seg);
    }
    qtest_quit(s);
}

/* Write-only (WE without RE) behaves as PCI, as QEMU. */
static void test_write_only_mode(void)
{
    QTestState *s = start();

    set_pam(s, 0, 2);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, bios_long(0x10000));
    qtest_writel(s, 0xf0000, 0x5555aaaa);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, bios_long(0x10000));
    set_pam(s, 0, 3);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, 0);
    qtest_quit(s);
}

static void test_smram_register(void)
{
    QTestState *s = start();

    g_assert_cmphex(cfg_readb(s, I440FX, SMRAM), ==, 0x02);
    /* C_BASE_SEG is fixed; D_OPEN is kept but maps nothing. */
    cfg_writeb(s, I440FX, SMRAM, 0x48);
    g_assert_cmphex(cfg_readb(s, I440FX, SMRAM), ==, 0x4a);
    qtest_writel(s, 0xa0000, 0x600d);
    g_assert_cmphex(qtest_readl(s, 0xa0000), ==, 0x600d);
    /* D_LCK clears D_OPEN and freezes all but D_CLS. */
    cfg_writeb(s, I440FX, SMRAM, 0x58);
    g_assert_cmphex(cfg_readb(s, I440FX, SMRAM), ==, 0x1a);
    cfg_writeb(s, I440FX, SMRAM, 0x40);
    g_assert_cmphex(cfg_readb(s, I440FX, SMRAM), ==, 0x1a);
    cfg_writeb(s, I440FX, SMRAM, 0x20);
    g_assert_cmphex(cfg_readb(s, I440FX, SMRAM), ==, 0x3a);
    qtest_quit(s);
}

/* A reset through 0xcf9 puts PAM and SMRAM back to their defaults. */
static void test_reset(void)
{
    QTestState *s = start();

    set_all_pam(s, 0x30, 0x33);
    cfg_writeb(s, I440FX, SMRAM, 0x18);
    qtest_writel(s, BIOS_LOW, 0xfeedf00d);
    qtest_outb(s, 0xcf9, 0x06);
    g_assert_cmphex(cfg_readb(s, I440FX, PAM0), ==, 0);
    g_assert_cmphex(cfg_readb(s, I440FX, SMRAM), ==, 0x02);
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, bios_long(0));
    set_pam(s, 9, 3);        /* 0xe0000: the RAM copy is still there */
    g_assert_cmphex(qtest_readl(s, BIOS_LOW), ==, 0xfeedf00d);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    make_bios();
    g_test_add_func("/i440fx/pam/bios-at-reset", test_bios_at_reset);
    g_test_add_func("/i440fx/pam/shadow-sequence", test_shadow_sequence);
    g_test_add_func("/i440fx/pam/segments-independent",
                    test_segments_independent);
    g_test_add_func("/i440fx/pam/expansion-segments", test_expansion_segments);
    g_test_add_func("/i440fx/pam/write-only", test_write_only_mode);
    g_test_add_func("/i440fx/smram", test_smram_register);
    g_test_add_func("/i440fx/reset", test_reset);
    ret = g_test_run();
    g_unlink(bios_path);
    g_free(bios_path);
    return ret;
}
