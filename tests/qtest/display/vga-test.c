/*
 * The VGA core and its PCI devices (hw/display/vga.c, vga-pci.c,
 * bochs-display.c): PCI identity and BARs, register files with their
 * masks and side effects (CRTC protect, attribute flip-flop, ST01
 * toggling, DAC auto-increment, mono/colour decode), the legacy window
 * (GR06 map select, chain-4, odd/even, planar write modes 0-3 with
 * latches, logical operations, set/reset, bit mask, read mode 1), Bochs
 * VBE through the ports and the MMIO BAR (ID, GETCAPS, fix-ups, banks,
 * clear on enable), QEMU's extended registers and the EDID blob.
 * Pictures (screendump, VNC) are tested by test_display.py.
 */
#include "qemu/osdep.h"
#include "../libqtest.h"
#include "../chipset/pci-helpers.h"

#define VGA_DEVFN       DEVFN(2, 0)
#define LFB             0xe0000000u
#define MMIO            0xfeb00000u
#define WINDOW          0xa0000u

static QTestState *start_vga(const char *extra)
{
    QTestState *s = qtest_initf("-device VGA%s%s", extra ? "," : "",
                                extra ? extra : "");

    cfg_writel(s, VGA_DEVFN, 0x10, LFB);
    cfg_writel(s, VGA_DEVFN, 0x18, MMIO);
    cfg_writew(s, VGA_DEVFN, 0x04, 0x0003);
    return s;
}

static void seq_w(QTestState *s, uint8_t i, uint8_t v)
{
    qtest_outb(s, 0x3c4, i);
    qtest_outb(s, 0x3c5, v);
}

static uint8_t seq_r(QTestState *s, uint8_t i)
{
    qtest_outb(s, 0x3c4, i);
    return qtest_inb(s, 0x3c5);
}

static void gr_w(QTestState *s, uint8_t i, uint8_t v)
{
    qtest_outb(s, 0x3ce, i);
    qtest_outb(s, 0x3cf, v);
}

static uint8_t gr_r(QTestState *s, uint8_t i)
{
    qtest_outb(s, 0x3ce, i);
    return qtest_inb(s, 0x3cf);
}

static void cr_w(QTestState *s, uint8_t i, uint8_t v)
{
    qtest_outb(s, 0x3d4, i);
    qtest_outb(s, 0x3d5, v);
}

static uint8_t cr_r(QTestState *s, uint8_t i)
{
    qtest_outb(s, 0x3d4, i);
    return qtest_inb(s, 0x3d5);
}

static void vbe_w(QTestState *s, uint16_t i, uint16_t v)
{
    qtest_outw(s, 0x1ce, i);
    qtest_outw(s, 0x1cf, v);
}

static uint16_t vbe_r(QTestState *s, uint16_t i)
{
    qtest_outw(s, 0x1ce, i);
    return qtest_inw(s, 0x1cf);
}

static void test_pci_identity(void)
{
    QTestState *s = qtest_init("-device VGA");
    uint32_t sz;

    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x00), ==, 0x11111234);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x08), ==, 0x03000002);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x2c), ==, 0x11001af4);
    /* BAR0: 16 MiB prefetchable memory; BAR2: 4 KiB memory */
    cfg_writel(s, VGA_DEVFN, 0x10, 0xffffffff);
    sz = cfg_readl(s, VGA_DEVFN, 0x10);
    g_assert_cmphex(sz, ==, 0xff000008);
    cfg_writel(s, VGA_DEVFN, 0x18, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x18), ==, 0xfffff000);
    /* the vgabios ROM BAR (64 KiB image) */
    cfg_writel(s, VGA_DEVFN, 0x30, 0xfffff800);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x30) & 0xfffff800, ==,
                    0xffff0000);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_vgamem_and_rom(void)
{
    QTestState *s = qtest_init("-device VGA,vgamem_mb=64,mmio=off,rombar=0");

    cfg_writel(s, VGA_DEVFN, 0x10, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x10), ==, 0xfc000008);
    cfg_writel(s, VGA_DEVFN, 0x18, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x18), ==, 0);
    cfg_writel(s, VGA_DEVFN, 0x30, 0xfffff800);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x30), ==, 0);
    qtest_outw(s, 0x1ce, 0x0a);
    g_assert_cmphex(qtest_inw(s, 0x1cf), ==, 64 * 16);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_absent(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(qtest_inb(s, 0x3cc), ==, 0xff);
    g_assert_cmphex(qtest_inw(s, 0x1cf), ==, 0xffff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_registers(void)
{
    QTestState *s = start_vga(NULL);

    /* reserved bits read back as zero */
    seq_w(s, 0x01, 0xff);
    g_assert_cmphex(seq_r(s, 0x01), ==, 0x3d);
    seq_w(s, 0x04, 0xff);
    g_assert_cmphex(seq_r(s, 0x04), ==, 0x0e);
    g_assert_cmphex(qtest_inb(s, 0x3c4), ==, 0x04);
    gr_w(s, 0x05, 0xff);
    g_assert_cmphex(gr_r(s, 0x05), ==, 0x7b);
    gr_w(s, 0x08, 0x5a);
    g_assert_cmphex(gr_r(s, 0x08), ==, 0x5a);
    /* MSR selects the CRTC at 0x3dx (colour) or 0x3bx (mono) */
    qtest_outb(s, 0x3c2, 0x67);
    g_assert_cmphex(qtest_inb(s, 0x3cc), ==, 0x67);
    cr_w(s, 0x13, 0x28);
    g_assert_cmphex(cr_r(s, 0x13), ==, 0x28);
    g_assert_cmphex(qtest_inb(s, 0x3b5), ==, 0xff);
    qtest_outb(s, 0x3c2, 0x66);
    qtest_outb(s, 0x3b4, 0x13);
    g_assert_cmphex(qtest_inb(s, 0x3b5), ==, 0x28);
    g_assert_cmphex(qtest_inb(s, 0x3d5), ==, 0xff);
    qtest_outb(s, 0x3c2, 0x67);
    /* CR11 bit 7 protects CR0-CR7 except the line compare bit of CR7 */
    cr_w(s, 0x01, 0x4f);
    cr_w(s, 0x07, 0x00);
    cr_w(s, 0x11, 0x80);
    cr_w(s, 0x01, 0x22);
    cr_w(s, 0x07, 0xff);
    g_assert_cmphex(cr_r(s, 0x01), ==, 0x4f);
    g_assert_cmphex(cr_r(s, 0x07), ==, 0x10);
    cr_w(s, 0x11, 0x00);
    cr_w(s, 0x01, 0x22);
    g_assert_cmphex(cr_r(s, 0x01), ==, 0x22);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_attribute_and_status(void)
{
    QTestState *s = start_vga(NULL);
    uint8_t a, b;

    qtest_outb(s, 0x3c2, 0x67);
    qtest_inb(s, 0x3da);                /* reset the flip-flop */
    qtest_outb(s, 0x3c0, 0x05);         /* index */
    qtest_outb(s, 0x3c0, 0xff);         /* data: 6 bits kept */
    qtest_outb(s, 0x3c0, 0x30);         /* index 0x10 with PAS */
    qtest_outb(s, 0x3c0, 0x1e);         /* data: bit 4 is reserved */
    g_assert_cmphex(qtest_inb(s, 0x3c0), ==, 0x30);
    qtest_outb(s, 0x3c0, 0x25);
    g_assert_cmphex(qtest_inb(s, 0x3c1), ==, 0x3f);
    qtest_inb(s, 0x3da);
    qtest_outb(s, 0x3c0, 0x30);
    g_assert_cmphex(qtest_inb(s, 0x3c1), ==, 0x0e);
    /* ST01 retrace and display-enable toggle on every read */
    a = qtest_inb(s, 0x3da);
    b = qtest_inb(s, 0x3da);
    g_assert_cmphex(a ^ b, ==, 0x09);
    /* and reading it resets the flip-flop to "index" */
    qtest_outb(s, 0x3c0, 0x07);
    qtest_inb(s, 0x3da);
    qtest_outb(s, 0x3c0, 0x31);
    qtest_outb(s, 0x3c0, 0x2a);
    g_assert_cmphex(qtest_inb(s, 0x3c0), ==, 0x31);
    g_assert_cmphex(qtest_inb(s, 0x3c1), ==, 0x2a);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_dac(void)
{
    QTestState *s = start_vga(NULL);

    qtest_outb(s, 0x3c8, 0x10);
    for (unsigned i = 0; i < 6; i++) {
        qtest_outb(s, 0x3c9, 0x20 + i);
    }
    g_assert_cmphex(qtest_inb(s, 0x3c8), ==, 0x12);
    g_assert_cmphex(qtest_inb(s, 0x3c7), ==, 0x00);
    qtest_outb(s, 0x3c7, 0x10);
    g_assert_cmphex(qtest_inb(s, 0x3c7), ==, 0x03);
    for (unsigned i = 0; i < 6; i++) {
        g_assert_cmphex(qtest_inb(s, 0x3c9), ==, 0x20 + i);
    }
    qtest_outb(s, 0x3c6, 0x0f);
    g_assert_cmphex(qtest_inb(s, 0x3c6), ==, 0x0f);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Sequential planar mode: GR06 A0000 64K, no chain-4, no odd/even. */
static void planar_mode(QTestState *s)
{
    seq_w(s, 0x04, 0x06);
    gr_w(s, 0x05, 0x00);
    gr_w(s, 0x06, 0x05);
    gr_w(s, 0x08, 0xff);
    gr_w(s, 0x03, 0x00);
    gr_w(s, 0x01, 0x00);
}

static uint8_t plane_byte(QTestState *s, unsigned plane, uint32_t off)
{
    gr_w(s, 0x04, plane);
    return qtest_readb(s, WINDOW + off);
}

static void test_write_modes(void)
{
    QTestState *s = start_vga(NULL);

    planar_mode(s);
    /* map mask: only planes 0 and 2 take the write */
    seq_w(s, 0x02, 0x05);
    qtest_writeb(s, WINDOW + 0x10, 0xa5);
    g_assert_cmphex(plane_byte(s, 0, 0x10), ==, 0xa5);
    g_assert_cmphex(plane_byte(s, 1, 0x10), ==, 0x00);
    g_assert_cmphex(plane_byte(s, 2, 0x10), ==, 0xa5);
    /* the data lands in the planar VRAM layout the LFB shows */
    g_assert_cmphex(qtest_readl(s, LFB + 0x40), ==, 0x00a500a5);
    seq_w(s, 0x02, 0x0f);

    /* mode 0 with set/reset on planes 1 and 3 (value 0b1000) */
    gr_w(s, 0x00, 0x08);
    gr_w(s, 0x01, 0x0a);
    qtest_writeb(s, WINDOW + 0x20, 0x3c);
    g_assert_cmphex(qtest_readl(s, LFB + 0x80), ==, 0xff3c003c);
    gr_w(s, 0x01, 0x00);

    /* rotate by 4 and the bit mask keep latched bits */
    qtest_readb(s, WINDOW + 0x20);          /* latch 0xff3c003c */
    gr_w(s, 0x03, 0x04);
    gr_w(s, 0x08, 0x0f);
    qtest_writeb(s, WINDOW + 0x20, 0x12);   /* rotated: 0x21 */
    g_assert_cmphex(qtest_readl(s, LFB + 0x80), ==, 0xf1310131);
    gr_w(s, 0x08, 0xff);

    /* logical operations against the latches: AND, OR, XOR */
    qtest_readb(s, WINDOW + 0x20);
    gr_w(s, 0x03, 0x08);                    /* AND, no rotate */
    qtest_writeb(s, WINDOW + 0x24, 0x0f);
    g_assert_cmphex(qtest_readl(s, LFB + 0x90), ==, 0x01010101);
    gr_w(s, 0x03, 0x10);                    /* OR */
    qtest_writeb(s, WINDOW + 0x24, 0x0e);
    g_assert_cmphex(qtest_readl(s, LFB + 0x90), ==, 0xff3f0f3f);
    gr_w(s, 0x03, 0x18);                    /* XOR */
    qtest_writeb(s, WINDOW + 0x24, 0xff);
    g_assert_cmphex(qtest_readl(s, LFB + 0x90), ==, 0x0ecefece);
    gr_w(s, 0x03, 0x00);

    /* mode 1 copies the latches */
    qtest_readb(s, WINDOW + 0x20);
    gr_w(s, 0x05, 0x01);
    qtest_writeb(s, WINDOW + 0x30, 0x00);
    g_assert_cmphex(qtest_readl(s, LFB + 0xc0), ==, 0xf1310131);

    /* mode 2: the low nibble selects which planes get ones */
    gr_w(s, 0x05, 0x02);
    gr_w(s, 0x08, 0xf0);
    qtest_readb(s, WINDOW + 0x40);          /* latch 0 */
    qtest_writeb(s, WINDOW + 0x40, 0x05);
    g_assert_cmphex(qtest_readl(s, LFB + 0x100), ==, 0x00f000f0);

    /* mode 3: rotated data ANDed with the bit mask, set/reset as data */
    gr_w(s, 0x05, 0x03);
    gr_w(s, 0x08, 0xff);
    gr_w(s, 0x00, 0x06);
    qtest_readb(s, WINDOW + 0x44);
    qtest_writeb(s, WINDOW + 0x44, 0x81);
    g_assert_cmphex(qtest_readl(s, LFB + 0x110), ==, 0x00818100);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_read_mode1(void)
{
    QTestState *s = start_vga(NULL);

    planar_mode(s);
    qtest_writel(s, LFB + 0x200, 0x0f00ff0f);  /* planes 3..0 */
    gr_w(s, 0x05, 0x08);
    gr_w(s, 0x02, 0x0b);        /* compare 1011: planes 0,1,3 set */
    gr_w(s, 0x07, 0x0f);
    /* bits where p0=1, p1=1, p2=0, p3=1: 0x0f&0xff&~0x00&0x0f = 0x0f */
    g_assert_cmphex(qtest_readb(s, WINDOW + 0x80), ==, 0x0f);
    gr_w(s, 0x07, 0x03);        /* care about planes 0 and 1 only */
    g_assert_cmphex(qtest_readb(s, WINDOW + 0x80), ==, 0x0f);
    gr_w(s, 0x07, 0x00);        /* care about none: all match */
    g_assert_cmphex(qtest_readb(s, WINDOW + 0x80), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_chain4_odd_even_and_maps(void)
{
    QTestState *s = start_vga(NULL);

    /* chain-4: byte address a is VRAM byte a */
    seq_w(s, 0x04, 0x0e);
    seq_w(s, 0x02, 0x0f);
    gr_w(s, 0x05, 0x40);
    gr_w(s, 0x06, 0x05);
    qtest_writel(s, WINDOW + 0x100, 0x44332211);
    g_assert_cmphex(qtest_readl(s, LFB + 0x100), ==, 0x44332211);
    g_assert_cmphex(qtest_readb(s, WINDOW + 0x102), ==, 0x33);
    /* 64K map at A0000: B0000 is not decoded */
    g_assert_cmphex(qtest_readb(s, 0xb0000), ==, 0xff);

    /* odd/even at B8000 (text mode): even bytes plane 0, odd plane 1 */
    seq_w(s, 0x04, 0x02);
    seq_w(s, 0x02, 0x03);
    gr_w(s, 0x05, 0x10);
    gr_w(s, 0x06, 0x0e);
    qtest_writew(s, 0xb8000 + 2 * 5, 0x1f41);   /* 'A', white on blue */
    g_assert_cmphex(qtest_readl(s, LFB + 4 * 5) & 0xffff, ==, 0x1f41);
    g_assert_cmphex(qtest_readw(s, 0xb8000 + 2 * 5), ==, 0x1f41);
    g_assert_cmphex(qtest_readb(s, 0xb0000), ==, 0xff);
    /* 32K map at B0000 */
    gr_w(s, 0x06, 0x0a);
    g_assert_cmphex(qtest_readw(s, 0xb0000 + 2 * 5), ==, 0x1f41);
    g_assert_cmphex(qtest_readb(s, 0xb8000), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_vbe_registers(void)
{
    QTestState *s = start_vga(NULL);

    g_assert_cmphex(vbe_r(s, 0), ==, 0xb0c5);
    vbe_w(s, 0, 0xb0c0);
    g_assert_cmphex(vbe_r(s, 0), ==, 0xb0c0);
    vbe_w(s, 0, 0x1234);                        /* not an ID: kept */
    g_assert_cmphex(vbe_r(s, 0), ==, 0xb0c0);
    g_assert_cmphex(vbe_r(s, 0x0a), ==, 256);   /* 16 MiB in 64K */
    /* GETCAPS reports the maxima */
    vbe_w(s, 4, 0x02);
    g_assert_cmpuint(vbe_r(s, 1), ==, 16000);
    g_assert_cmpuint(vbe_r(s, 2), ==, 12000);
    g_assert_cmpuint(vbe_r(s, 3), ==, 32);
    vbe_w(s, 4, 0x00);
    /* enabling fixes the mode up: width multiple of 8, bpp known */
    vbe_w(s, 1, 1027);
    vbe_w(s, 2, 768);
    vbe_w(s, 3, 7);
    vbe_w(s, 4, 0x41);
    g_assert_cmpuint(vbe_r(s, 1), ==, 1024);
    g_assert_cmpuint(vbe_r(s, 3), ==, 8);
    g_assert_cmpuint(vbe_r(s, 6), ==, 1024);
    g_assert_cmpuint(vbe_r(s, 7), ==, 16 * 1024 * 1024 / 1024);
    g_assert_cmphex(vbe_r(s, 4), ==, 0x41);
    /* a height the VRAM cannot hold is clamped */
    vbe_w(s, 3, 32);
    vbe_w(s, 2, 12000);
    g_assert_cmpuint(vbe_r(s, 2), ==, 16 * 1024 * 1024 / (1024 * 4));
    /* y offset that would run past the VRAM goes back to 0 */
    vbe_w(s, 2, 768);
    vbe_w(s, 9, 4000);
    g_assert_cmpuint(vbe_r(s, 9), ==, 0);
    vbe_w(s, 9, 100);
    g_assert_cmpuint(vbe_r(s, 9), ==, 100);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_vbe_bank_and_clear(void)
{
    QTestState *s = start_vga(NULL);

    qtest_writel(s, LFB + 0x30000, 0xdeadbeef);
    vbe_w(s, 1, 640);
    vbe_w(s, 2, 480);
    vbe_w(s, 3, 32);
    vbe_w(s, 4, 0x01 | 0x80);                   /* NOCLEARMEM */
    g_assert_cmphex(qtest_readl(s, LFB + 0x30000), ==, 0xdeadbeef);
    /* bank 3 shows VRAM 0x30000 in the 64K window */
    vbe_w(s, 5, 3);
    g_assert_cmphex(qtest_readl(s, WINDOW), ==, 0xdeadbeef);
    qtest_writel(s, WINDOW + 4, 0x01020304);
    g_assert_cmphex(qtest_readl(s, LFB + 0x30004), ==, 0x01020304);
    vbe_w(s, 5, 0xffff);                        /* masked to 255 */
    g_assert_cmphex(vbe_r(s, 5), ==, 0xff);
    /* re-enabling without NOCLEARMEM clears the visible frame */
    vbe_w(s, 4, 0x00);
    vbe_w(s, 4, 0x41);
    g_assert_cmphex(qtest_readl(s, LFB + 0x30000), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void check_edid(QTestState *s, uint32_t base, unsigned xres,
                       unsigned yres)
{
    uint8_t e[128], sum = 0;

    qtest_memread(s, base, e, sizeof(e));
    g_assert_cmphex(e[0], ==, 0x00);
    for (unsigned i = 1; i < 7; i++) {
        g_assert_cmphex(e[i], ==, 0xff);
    }
    g_assert_cmphex(e[7], ==, 0x00);
    g_assert_cmphex(e[18], ==, 1);
    g_assert_cmphex(e[19], ==, 4);
    for (unsigned i = 0; i < 128; i++) {
        sum += e[i];
    }
    g_assert_cmphex(sum, ==, 0);
    /* the preferred detailed timing */
    g_assert_cmpuint(e[56] | ((e[58] >> 4) << 8), ==, xres);
    g_assert_cmpuint(e[59] | ((e[61] >> 4) << 8), ==, yres);
}

static void test_mmio_bar(void)
{
    QTestState *s = start_vga("xres=1024,yres=768");

    /* dispi registers at 0x500 + index * 2 */
    g_assert_cmphex(qtest_readw(s, MMIO + 0x500), ==, 0xb0c5);
    qtest_writew(s, MMIO + 0x502, 800);
    g_assert_cmpuint(vbe_r(s, 1), ==, 800);
    g_assert_cmphex(qtest_readw(s, MMIO + 0x514), ==, 256);
    /* the VGA ports at 0x400 + port - 0x3c0 */
    qtest_writeb(s, MMIO + 0x404, 0x02);
    qtest_writeb(s, MMIO + 0x405, 0x0f);
    g_assert_cmphex(seq_r(s, 0x02), ==, 0x0f);
    qtest_writew(s, MMIO + 0x404, 0x0302);      /* index and data at once */
    g_assert_cmphex(seq_r(s, 0x02), ==, 0x03);
    /* QEMU extended registers */
    g_assert_cmphex(qtest_readl(s, MMIO + 0x600), ==, 8);
    g_assert_cmphex(qtest_readl(s, MMIO + 0x604), ==, 0x1e1e1e1e);
    qtest_writel(s, MMIO + 0x604, 0xbebebebe);
    g_assert_cmphex(qtest_readl(s, MMIO + 0x604), ==, 0xbebebebe);
    qtest_writel(s, MMIO + 0x604, 0x12345678);  /* ignored */
    g_assert_cmphex(qtest_readl(s, MMIO + 0x604), ==, 0xbebebebe);
    check_edid(s, MMIO, 1024, 768);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_bochs_display(void)
{
    QTestState *s = qtest_init("-device bochs-display");

    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x00), ==, 0x11111234);
    g_assert_cmphex(cfg_readl(s, VGA_DEVFN, 0x08) >> 8, ==, 0x038000);
    cfg_writel(s, VGA_DEVFN, 0x10, LFB);
    cfg_writel(s, VGA_DEVFN, 0x18, MMIO);
    cfg_writew(s, VGA_DEVFN, 0x04, 0x0002);
    /* no legacy VGA: the ports are not decoded */
    g_assert_cmphex(qtest_inb(s, 0x3cc), ==, 0xff);
    g_assert_cmphex(qtest_inw(s, 0x1cf), ==, 0xffff);
    g_assert_cmphex(qtest_readw(s, MMIO + 0x500), ==, 0xb0c5);
    qtest_writew(s, MMIO + 0x502, 1280);
    qtest_writew(s, MMIO + 0x504, 1024);
    qtest_writew(s, MMIO + 0x506, 32);
    qtest_writew(s, MMIO + 0x508, 0x41);
    g_assert_cmphex(qtest_readw(s, MMIO + 0x508), ==, 0x41);
    g_assert_cmpuint(qtest_readw(s, MMIO + 0x50c), ==, 1280);
    qtest_writel(s, LFB, 0x00123456);
    g_assert_cmphex(qtest_readl(s, LFB), ==, 0x00123456);
    check_edid(s, MMIO, 1280, 800);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Hostile values must neither crash nor reach outside the VRAM. */
static void test_hostile(void)
{
    QTestState *s = start_vga("vgamem_mb=1");

    vbe_w(s, 0x7fff, 0xffff);
    g_assert_cmphex(vbe_r(s, 0x7fff), ==, 0);
    vbe_w(s, 3, 32);
    vbe_w(s, 1, 16000);
    vbe_w(s, 2, 12000);
    vbe_w(s, 6, 16000);
    vbe_w(s, 8, 16000);
    vbe_w(s, 9, 12000);
    vbe_w(s, 4, 0x41);
    g_assert_cmpuint((uint32_t)vbe_r(s, 6) * 4 * vbe_r(s, 2), <=, 1024 * 1024);
    vbe_w(s, 5, 0xffff);
    qtest_writel(s, WINDOW + 0xfffc, 0x11111111);
    vbe_w(s, 4, 0);
    seq_w(s, 0x04, 0x06);
    gr_w(s, 0x06, 0x01);                        /* 128K map */
    for (unsigned i = 0; i < 16; i++) {
        qtest_outb(s, 0x3c0, i);
        qtest_outb(s, 0x3c0, 0xff);
    }
    qtest_writeb(s, WINDOW + 0x1ffff, 0xaa);
    qtest_readb(s, WINDOW + 0x1ffff);
    cr_w(s, 0x0c, 0xff);
    cr_w(s, 0x0d, 0xff);
    cr_w(s, 0x13, 0xff);
    cr_w(s, 0x01, 0xff);
    cr_w(s, 0x12, 0xff);
    cr_w(s, 0x07, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vga/pci-identity", test_pci_identity);
    g_test_add_func("/vga/vgamem-and-rom", test_vgamem_and_rom);
    g_test_add_func("/vga/absent", test_absent);
    g_test_add_func("/vga/registers", test_registers);
    g_test_add_func("/vga/attribute-and-status", test_attribute_and_status);
    g_test_add_func("/vga/dac", test_dac);
    g_test_add_func("/vga/write-modes", test_write_modes);
    g_test_add_func("/vga/read-mode1", test_read_mode1);
    g_test_add_func("/vga/chain4-odd-even-maps",
                    test_chain4_odd_even_and_maps);
    g_test_add_func("/vga/vbe-registers", test_vbe_registers);
    g_test_add_func("/vga/vbe-bank-and-clear", test_vbe_bank_and_clear);
    g_test_add_func("/vga/mmio-bar", test_mmio_bar);
    g_test_add_func("/vga/bochs-display", test_bochs_display);
    g_test_add_func("/vga/hostile", test_hostile);
    return g_test_run();
}
