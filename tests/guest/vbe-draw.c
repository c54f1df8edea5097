/*
 * vbe-draw: the standard VGA driven from inside a guest at CPL 3, with the
 * screen checked by the host (tests/guest/run-vbe-draw-test.py takes a
 * QMP screendump at each stop and compares it pixel for pixel).
 *
 *   - PCI: 00:02.0 is 1234:1111 class 0300 (the pc machine's -vga std);
 *     BAR0 (the framebuffer) and BAR2 (MMIO) programmed, no firmware ran;
 *   - VBE through the dispi ports 0x1ce/0x1cf: ID, 1024x768x32 with the
 *     LFB, the registers read back through BAR2 at 0x500;
 *   - a known picture into the LFB (the same formula as vbe_picture() of
 *     tests/qtest/display/test_display.py), then "vbe-draw: vbe ready";
 *     the host answers with a byte on COM1 when it has compared;
 *   - the colours of a rectangle inverted in the LFB, "vbe-draw:
 *     vbe-changed ready": the LFB is a KVM slot (no exits), so only the
 *     dirty log (or the dirty ring) tells the VGA which lines to draw
 *     again for the second screendump;
 *   - VBE off, 80x25 text mode set register by register, a synthetic font
 *     loaded into plane 2 through the legacy window, characters and
 *     attributes at 0xb8000 (setup_text_mode() of the same file), then
 *     "vbe-draw: text ready" and again a byte from the host.
 *
 * With "bench=redraw" or "bench=idle" on the command line it is instead
 * the guest of bench/display.py (no checks, no waiting for the host):
 *
 *   - redraw: 1024x768x32 set as above, then whole frames drawn back to
 *     back, frame f being picture_pixel() XORed with a 24-bit key that is
 *     different for every f (f times an odd constant), so that any two
 *     frames a display samples differ in every pixel: an emulator that
 *     compares lines or tiles with its previous copy still has to send
 *     the whole screen.  "vbe-draw: frames=N fps=F" each second (TSC);
 *     after "secs=S" (0 or absent: never) it prints "vbe-draw: idle
 *     frames=N" (frame N - 1 stays on the screen) and halts as idle does
 *     (run-vbe-draw-test.py checks that VNC and screendump show it);
 *   - idle: one frame, "vbe-draw: idle frames=1", then cli; hlt at CPL 0
 *     for good, so the vCPU sleeps in KVM and whatever host CPU time the
 *     emulator still uses is its own (display refresh, timers).
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define VGA_SLOT        2
#define LFB             0xe0000000u
#define MMIO            0xfebf0000u
#define XRES            1024
#define YRES            768

static uint32_t pci_read32(unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | VGA_SLOT << 11 | off);
    return inl(PCI_DATA);
}

static void pci_write32(unsigned off, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | VGA_SLOT << 11 | off);
    outl(PCI_DATA, v);
}

static void vbe_write(uint16_t index, uint16_t val)
{
    outw(0x1ce, index);
    outw(0x1cf, val);
}

static uint16_t vbe_read(uint16_t index)
{
    outw(0x1ce, index);
    return inw(0x1cf);
}

/* Wait for the host's byte on COM1 (it has taken its screendump). */
static void wait_host(const char *what)
{
    printf("vbe-draw: %s ready\n", what);
    while (!(inb(COM1 + 5) & 1)) {
        cpu_relax();
    }
    (void)inb(COM1);
}

static void test_pci(void)
{
    report(pci_read32(0x00) == 0x11111234, "00:02.0 is 1234:1111");
    report(pci_read32(0x08) >> 16 == 0x0300, "class 0300");
    pci_write32(0x10, LFB);
    pci_write32(0x18, MMIO);
    pci_write32(0x04, 0x3);
    report((pci_read32(0x10) & ~0xfu) == LFB, "BAR0 at 0x%x", LFB);
}

static uint32_t picture_pixel(unsigned x, unsigned y)
{
    uint32_t r = x & 0xff, g = y & 0xff, b = (x * 3 + y * 5) & 0xff;

    if ((x / 64 + y / 64) % 2) {
        r ^= 0xff;
    }
    return r << 16 | g << 8 | b;
}

static void set_mode(void)
{
    vbe_write(4, 0);
    vbe_write(1, XRES);
    vbe_write(2, YRES);
    vbe_write(3, 32);
    vbe_write(4, 0x41);
}

static void test_vbe(void)
{
    volatile uint32_t *fb = (volatile uint32_t *)(uintptr_t)LFB;

    report(vbe_read(0) == 0xb0c5, "dispi ID 0xb0c5");
    set_mode();
    report(mmio_read16(MMIO + 0x500 + 2) == XRES &&
           mmio_read16(MMIO + 0x500 + 4) == YRES &&
           mmio_read16(MMIO + 0x500 + 6) == 32, "1024x768x32 via BAR2");
    for (unsigned y = 0; y < YRES; y++) {
        for (unsigned x = 0; x < XRES; x++) {
            fb[y * XRES + x] = picture_pixel(x, y);
        }
    }
    report(fb[767 * XRES + 1023] == picture_pixel(1023, 767),
           "picture written");
    wait_host("vbe");
    /* the rectangle run-vbe-draw-test.py expects inverted */
    for (unsigned y = 300; y < 364; y++) {
        for (unsigned x = 256; x < 512; x++) {
            fb[y * XRES + x] = picture_pixel(x, y) ^ 0xffffff;
        }
    }
    wait_host("vbe-changed");
}

static uint8_t font_byte(unsigned c, unsigned line)
{
    return line < 16 ? (uint8_t)(c * 31 + line * 17 + 5) : 0;
}

static void cell(unsigned i, uint8_t *ch, uint8_t *attr)
{
    *ch = (uint8_t)(i * 7 + 3);
    *attr = (uint8_t)(((i / 80) % 8) << 4 | (i % 15 + 1));
}

static void reg(uint16_t index_port, uint8_t index, uint8_t val)
{
    outb(index_port, index);
    outb(index_port + 1, val);
}

static void test_text(void)
{
    static const uint8_t crtc[][2] = {
        { 0x11, 0x00 }, { 0x01, 79 }, { 0x07, 0x02 }, { 0x09, 0x0f },
        { 0x0a, 0x20 }, { 0x0b, 0x00 }, { 0x0c, 0 }, { 0x0d, 0 },
        { 0x12, 0x8f }, { 0x13, 40 }, { 0x17, 0xa3 }, { 0x18, 0xff },
    };
    volatile uint8_t *window = (volatile uint8_t *)0xa0000;
    volatile uint8_t *text = (volatile uint8_t *)0xb8000;

    vbe_write(4, 0);
    outb(0x3c2, 0x67);
    reg(0x3c4, 0, 0x03);
    reg(0x3c4, 1, 0x00);
    reg(0x3c4, 2, 0x04);                /* plane 2 only */
    reg(0x3c4, 3, 0x00);
    reg(0x3c4, 4, 0x06);                /* sequential */
    reg(0x3ce, 1, 0x00);
    reg(0x3ce, 3, 0x00);
    reg(0x3ce, 4, 0x02);
    reg(0x3ce, 5, 0x00);
    reg(0x3ce, 6, 0x04);                /* A0000, 64K */
    reg(0x3ce, 8, 0xff);
    for (unsigned c = 0; c < 256; c++) {
        for (unsigned l = 0; l < 32; l++) {
            window[c * 32 + l] = font_byte(c, l);
        }
    }
    reg(0x3c4, 2, 0x03);
    reg(0x3c4, 4, 0x02);                /* odd/even */
    reg(0x3ce, 4, 0x00);
    reg(0x3ce, 5, 0x10);
    reg(0x3ce, 6, 0x0e);                /* B8000, chained */
    for (unsigned i = 0; i < ARRAY_SIZE(crtc); i++) {
        reg(0x3d4, crtc[i][0], crtc[i][1]);
    }
    (void)inb(0x3da);
    for (unsigned i = 0; i < 16; i++) {
        outb(0x3c0, i);
        outb(0x3c0, i);
    }
    outb(0x3c0, 0x10); outb(0x3c0, 0x04);
    outb(0x3c0, 0x11); outb(0x3c0, 0x00);
    outb(0x3c0, 0x12); outb(0x3c0, 0x0f);
    outb(0x3c0, 0x13); outb(0x3c0, 0x00);
    outb(0x3c0, 0x14); outb(0x3c0, 0x00);
    outb(0x3c0, 0x20);
    outb(0x3c8, 0);
    for (unsigned i = 0; i < 16; i++) {
        outb(0x3c9, (i * 4) & 63);
        outb(0x3c9, (i * 9 + 7) & 63);
        outb(0x3c9, (63 - i * 3) & 63);
    }
    for (unsigned i = 0; i < 80 * 25; i++) {
        uint8_t ch, attr;
        cell(i, &ch, &attr);
        text[i * 2] = ch;
        text[i * 2 + 1] = attr;
    }
    report(text[2] == 10 && text[3] == 2, "text readable at B8000");
    wait_host("text");
}

/* One whole frame: every pixel is the picture XOR the frame's key. */
static void draw_frame(uint32_t f)
{
    uint32_t *fb = (uint32_t *)(uintptr_t)LFB;
    uint32_t key = (f * 0x9e3779b1u) & 0xffffff;   /* odd: f -> key 1:1 */

    for (unsigned y = 0; y < YRES; y++) {
        uint32_t *row = fb + y * XRES;
        for (unsigned x = 0; x < XRES; x++) {
            row[x] = picture_pixel(x, y) ^ key;
        }
        barrier();          /* every store reaches VRAM, frame by frame */
    }
}

static noreturn void bench(const char *mode)
{
    long secs = cmdline_get_int("secs", 0);
    uint64_t hz = tsc_hz(), start = rdtsc(), last = start;
    uint32_t f = 0, last_f = 0;

    pci_write32(0x10, LFB);
    pci_write32(0x18, MMIO);
    pci_write32(0x04, 0x3);
    set_mode();
    draw_frame(f++);
    printf("vbe-draw: mode set\n");
    while (!strcmp(mode, "redraw") &&
           (secs <= 0 || rdtsc() - start < (uint64_t)secs * hz)) {
        draw_frame(f++);
        if (rdtsc() - last >= hz) {
            uint64_t now = rdtsc();
            printf("vbe-draw: frames=%u fps=%u\n", f,
                   (unsigned)((uint64_t)(f - last_f) * hz / (now - last)));
            last = now;
            last_f = f;
        }
    }
    printf("vbe-draw: idle frames=%u\n", f);
    halt_forever();
}

int main(void)
{
    char mode[16];

    if (cmdline_get("bench", mode, sizeof(mode))) {
        bench(mode);
    }
    report_prefix("vbe-draw");
    test_pci();
    test_vbe();
    test_text();
    report_summary();
}
