/*
 * Direct kernel boot leaves the memory a BIOS would (hw/i386/bios-rom.c,
 * bios-data-area.c, acpi-direct.c): the interrupt vector table pointing
 * at the F-segment ROM's IRET and 8259 EOI handlers (IBM PC/AT layout:
 * IRQ 0-7 at vectors 08h-0fh, IRQ 8-15 at 70h-77h, 60h-66h and 79h
 * free), the BIOS data area (COM ports, equipment word, base memory,
 * EBDA segment, keyboard buffer), the EBDA's size byte, and the ACPI RSDP
 * in the F segment as well as in the EBDA (ACPI 6.4 5.2.5.1), read-only
 * and reinstalled at every reset.  Read over qtest, with no CPU running;
 * the guest payload bios-state checks the same from inside a KVM guest,
 * against SeaBIOS.  The 8259 state needs KVM and is checked there.
 */
#include "qemu/osdep.h"
#include "libqtest.h"

#define MB_MAGIC        0x1badb002u
#define MB_AOUT_KLUDGE  0x00010000u

static char *tmp_dir;

/* The previous kernel's file and directory, if any. */
static void remove_kernel(void)
{
    if (tmp_dir) {
        g_autofree char *k = g_build_filename(tmp_dir, "kernel.bin", NULL);
        unlink(k);
        rmdir(tmp_dir);
        g_clear_pointer(&tmp_dir, g_free);
    }
}

/* A Multiboot a.out-kludge kernel that is never run. */
static char *write_kernel(void)
{
    uint32_t h[12] = {
        MB_MAGIC, MB_AOUT_KLUDGE, -(MB_MAGIC + MB_AOUT_KLUDGE),
        0x100000, 0x100000, 0, 0, 0x100020,
    };
    char *path;

    if (!tmp_dir) {         /* one directory for every test's kernel */
        tmp_dir = g_dir_make_tmp("kvmpc-bios-XXXXXX", NULL);
    }
    path = g_build_filename(tmp_dir, "kernel.bin", NULL);
    g_assert(g_file_set_contents(path, (const char *)h, sizeof(h), NULL));
    return path;
}

static uint64_t far_ptr(QTestState *s, unsigned vector)
{
    uint16_t off = qtest_readw(s, 4 * vector);
    uint16_t seg = qtest_readw(s, 4 * vector + 2);

    return ((uint64_t)seg << 4) + off;
}

static void check_code(QTestState *s, uint64_t addr, const uint8_t *code,
                       size_t len)
{
    uint8_t got[16];

    g_assert_cmpuint(len, <=, sizeof(got));
    qtest_memread(s, addr, got, len);
    g_assert_cmpmem(got, len, code, len);
}

static void check_ivt(QTestState *s)
{
    static const uint8_t iret[] = { 0xcf };
    /* push ax; mov al,20h; out 20h,al; pop ax; iret */
    static const uint8_t eoi1[] = { 0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf };
    /* push ax; mov al,20h; out 0a0h,al; out 20h,al; pop ax; iret */
    static const uint8_t eoi2[] = { 0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20,
                                    0x58, 0xcf };

    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = far_ptr(s, v);

        if ((v >= 0x60 && v <= 0x66) || v == 0x79) {
            g_assert_cmphex(qtest_readl(s, 4 * v), ==, 0);
            continue;
        }
        g_assert_cmphex(qtest_readw(s, 4 * v + 2), ==, 0xf000);
        if (v >= 0x08 && v <= 0x0f) {
            check_code(s, a, eoi1, sizeof(eoi1));
        } else if (v >= 0x70 && v <= 0x77) {
            check_code(s, a, eoi2, sizeof(eoi2));
        } else {
            check_code(s, a, iret, sizeof(iret));
        }
    }
}

static uint8_t sum8(QTestState *s, uint64_t a, unsigned len)
{
    uint8_t sum = 0;

    while (len--) {
        sum += qtest_readb(s, a++);
    }
    return sum;
}

static uint64_t scan_rsdp(QTestState *s, uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a < end; a += 16) {
        char sig[8];

        qtest_memread(s, a, sig, 8);
        if (!memcmp(sig, "RSD PTR ", 8) && !sum8(s, a, 20)) {
            return a;
        }
    }
    return 0;
}

static void check_rsdp(QTestState *s)
{
    uint64_t fseg = scan_rsdp(s, 0xe0000, 0x100000);
    uint64_t ebda = scan_rsdp(s, 0x9fc00, 0xa0000);

    g_assert_cmphex(fseg, >=, 0xf0000);
    g_assert_cmphex(ebda, !=, 0);
    g_assert_cmphex(qtest_readl(s, fseg + 16), ==, qtest_readl(s, ebda + 16));
    /* read-only, as firmware's F segment after boot */
    qtest_writeb(s, fseg, 0);
    g_assert_cmphex(qtest_readb(s, fseg), ==, 'R');
}

static void check_bda(QTestState *s, const uint16_t *com, uint16_t equip)
{
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmphex(qtest_readw(s, 0x400 + 2 * i), ==, com[i]);
        g_assert_cmphex(qtest_readb(s, 0x47c + i), ==, com[i] ? 0x0a : 0);
    }
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmphex(qtest_readw(s, 0x408 + 2 * i), ==, 0);
    }
    g_assert_cmphex(qtest_readw(s, 0x40e), ==, 0x9fc0);
    g_assert_cmphex(qtest_readw(s, 0x410), ==, equip);
    g_assert_cmpuint(qtest_readw(s, 0x413), ==, 639);
    g_assert_cmphex(qtest_readw(s, 0x41a), ==, 0x1e);
    g_assert_cmphex(qtest_readw(s, 0x41c), ==, 0x1e);
    g_assert_cmphex(qtest_readw(s, 0x480), ==, 0x1e);
    g_assert_cmphex(qtest_readw(s, 0x482), ==, 0x3e);
    g_assert_cmphex(qtest_readb(s, 0x496), ==, 0x10);
    g_assert_cmpuint(qtest_readb(s, 0x9fc00), ==, 1);   /* EBDA KiB */
}

static void test_one_serial(void)
{
    g_autofree char *k = write_kernel();
    static const uint16_t com[4] = { 0x3f8 };
    QTestState *s = qtest_initf("-kernel %s -serial null", k);

    check_ivt(s);
    check_rsdp(s);
    check_bda(s, com, 0x0206);      /* 1 serial port, mouse port, FPU */
    qtest_quit(s);
}

/* COM2 alone is COM1 to a BIOS: the list is in probe order. */
static void test_serial_order(void)
{
    g_autofree char *k = write_kernel();
    static const uint16_t com[4] = { 0x2f8, 0x3e8 };
    QTestState *s = qtest_initf(
        "-kernel %s -chardev null,id=a -chardev null,id=b "
        "-device isa-serial,chardev=a,iobase=0x3e8,irq=4 "
        "-device isa-serial,chardev=b,iobase=0x2f8,irq=3", k);

    check_bda(s, com, 0x0406);      /* 2 serial ports */
    qtest_quit(s);
}

/* A reset puts back whatever the guest overwrote. */
static void test_reset(void)
{
    g_autofree char *k = write_kernel();
    static const uint16_t com[4] = { 0x3f8 };
    QTestState *s = qtest_initf("-kernel %s -serial null", k);

    qtest_memset(s, 0, 0xa5, 0x500);
    qtest_memset(s, 0x9fc00, 0xa5, 0x400);
    qtest_outb(s, 0xcf9, 0x02);         /* PIIX3 RCR: SYS_RST */
    qtest_outb(s, 0xcf9, 0x06);         /* then RST_CPU: hard reset */
    /* the main loop carries the request out between two commands */
    for (int i = 0; i < 2000 && qtest_readl(s, 0x400) == 0xa5a5a5a5; i++) {
        g_usleep(1000);
    }
    check_ivt(s);
    check_rsdp(s);
    check_bda(s, com, 0x0206);
    qtest_quit(s);
}

/*
 * The memory map the Multiboot loader hands over (hw/i386/multiboot.c:
 * the MBI follows the kernel's last byte, page aligned: 0x101000 for
 * write_kernel()'s 48-byte kernel loaded at 1 MiB).  Whether it has
 * [base, base + len) as one entry of @type.
 */
#define MBI_ADDR        0x101000
static bool mmap_has(QTestState *s, uint64_t base, uint64_t len,
                     uint32_t type)
{
    uint32_t length = qtest_readl(s, MBI_ADDR + 44);
    uint32_t addr = qtest_readl(s, MBI_ADDR + 48);

    g_assert_cmphex(qtest_readl(s, MBI_ADDR) & (1u << 6), !=, 0);
    g_assert_cmpuint(length, <=, 4096);
    for (uint32_t off = 0; off < length; ) {
        uint32_t size = qtest_readl(s, addr + off);
        if (qtest_readq(s, addr + off + 4) == base &&
            qtest_readq(s, addr + off + 12) == len &&
            qtest_readl(s, addr + off + 20) == type) {
            return true;
        }
        off += size + 4;
    }
    return false;
}

/* q35: the ECAM window the MCH opens at reset for a direct boot is
 * reserved in the map, as SeaBIOS reserves it when it opens the window;
 * pc has none. */
static void test_e820_ecam(void)
{
    g_autofree char *k = write_kernel();
    QTestState *s = qtest_initf("-machine q35 -kernel %s -serial null", k);

    g_assert_true(mmap_has(s, 0xb0000000, 256 * 1024 * 1024, 2));
    g_assert_true(mmap_has(s, 0xfffc0000, 0x40000, 2));     /* sanity */
    qtest_quit(s);
    s = qtest_initf("-machine pc -kernel %s -serial null", k);
    g_assert_false(mmap_has(s, 0xb0000000, 256 * 1024 * 1024, 2));
    g_assert_true(mmap_has(s, 0xfffc0000, 0x40000, 2));
    qtest_quit(s);
}

/* acpi=off: no tables for the kernel, so no RSDP in the F segment. */
static void test_acpi_off(void)
{
    g_autofree char *k = write_kernel();
    QTestState *s = qtest_initf("-machine pc,acpi=off -kernel %s "
                                "-serial null", k);

    for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
        g_assert_cmphex(qtest_readq(s, a), !=, 0x2052545020445352ull);
    }
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bios-direct/one-serial", test_one_serial);
    g_test_add_func("/bios-direct/serial-order", test_serial_order);
    g_test_add_func("/bios-direct/reset", test_reset);
    g_test_add_func("/bios-direct/e820-ecam", test_e820_ecam);
    g_test_add_func("/bios-direct/acpi-off", test_acpi_off);
    ret = g_test_run();
    remove_kernel();
    return ret;
}
