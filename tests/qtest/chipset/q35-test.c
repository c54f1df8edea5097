/*
 * The q35 chipset under -accel qtest: MCH IDs, PCIEXBAR and ECAM (the
 * same answers as CF8/CFC for every function, extended space beyond 256
 * bytes), PAM, SMRAM, ICH9 LPC IDs and PIRQ routing to the IOAPIC and
 * 8259 inputs, RCBA and the device interrupt routes, the ICH9 PM block
 * (PM timer, PM1, SCI, SMI_EN, APM), the TCO watchdog with noreboot, the
 * SMBus host and its SPD EEPROMs, AHCI at 1f.2 with a -cdrom.
 */
#include "pci-helpers.h"
#include <glib/gstdio.h>
#include <unistd.h>

#define MCH             DEVFN(0, 0)
#define LPC             DEVFN(0x1f, 0)
#define SATA            DEVFN(0x1f, 2)
#define SMB             DEVFN(0x1f, 3)
#define PCIEXBAR        0x60
#define PAM0            0x90
#define SMRAM           0x9d
#define ESMRAMC         0x9e
#define ECAM_BASE       0xb0000000ULL
#define PMBASE          0x40
#define ACPI_CNTL       0x44
#define PIRQA_ROUT      0x60
#define PIRQE_ROUT      0x68
#define RCBA            0xf0
#define RCBA_ADDR       0xfed1c000ULL
#define PM_IO           0x600
#define EXT_INTX        0xf0
#define CMD_IO          0x1
#define CMD_MEM         0x2
#define BIOS_SIZE       (128 * 1024)
#define BIOS_HIGH       (0x100000000ULL - BIOS_SIZE)

static char *bios_path;

static uint8_t bios_byte(size_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) + 3);
}

static uint32_t bios_long(size_t off)
{
    return bios_byte(off) | bios_byte(off + 1) << 8 |
           bios_byte(off + 2) << 16 | (uint32_t)bios_byte(off + 3) << 24;
}

static void make_bios(void)
{
    GError *err = NULL;
    int fd = g_file_open_tmp("kvmpc-q35-bios-XXXXXX", &bios_path, &err);
    g_autofree uint8_t *data = g_malloc(BIOS_SIZE);

    g_assert_no_error(err);
    for (size_t i = 0; i < BIOS_SIZE; i++) {
        data[i] = bios_byte(i);
    }
    g_assert_cmpint(write(fd, data, BIOS_SIZE), ==, BIOS_SIZE);
    close(fd);
}

static QTestState *start(const char *extra)
{
    return qtest_initf("-machine q35 -bios %s %s", bios_path,
                       extra ? extra : "");
}

static uint64_t ecam(unsigned bus, unsigned devfn, unsigned reg)
{
    return ECAM_BASE + ((uint64_t)bus << 20) + (devfn << 12) + reg;
}

static void enable_ecam(QTestState *s)
{
    cfg_writel(s, MCH, PCIEXBAR + 4, 0);
    cfg_writel(s, MCH, PCIEXBAR, (uint32_t)ECAM_BASE | 1);
}

/* ---- identity ----------------------------------------------------------- */

static void test_ids(void)
{
    QTestState *s = start("-vga std");

    g_assert_cmphex(cfg_readl(s, MCH, 0), ==, 0x29c08086);
    g_assert_cmphex(cfg_readw(s, MCH, 0x0a), ==, 0x0600);
    g_assert_cmphex(cfg_readl(s, LPC, 0), ==, 0x29188086);
    g_assert_cmphex(cfg_readw(s, LPC, 0x0a), ==, 0x0601);
    g_assert_cmphex(cfg_readb(s, LPC, 0x08), ==, 0x02);
    g_assert_cmphex(cfg_readb(s, LPC, 0x0e), ==, 0x80);    /* multifunction */
    g_assert_cmphex(cfg_readl(s, SATA, 0), ==, 0x29228086);
    g_assert_cmphex(cfg_readw(s, SATA, 0x0a), ==, 0x0106);
    g_assert_cmphex(cfg_readl(s, SMB, 0), ==, 0x29308086);
    g_assert_cmphex(cfg_readw(s, SMB, 0x0a), ==, 0x0c05);
    /* The default VGA takes 00:01.0, as QEMU's q35. */
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 0), 0), ==, 0x11111234);
    g_assert_cmphex(cfg_readl(s, DEVFN(2, 0), 0), ==, 0xffffffff);
    qtest_quit(s);
}

/* ---- PCIEXBAR / ECAM ---------------------------------------------------- */

static void test_pciexbar(void)
{
    QTestState *s = start("-device pcie-root-port,id=rp,addr=4,chassis=1");

    /* Reset value: the address, disabled: nothing decodes there. */
    g_assert_cmphex(cfg_readl(s, MCH, PCIEXBAR), ==, 0xb0000000);
    g_assert_cmphex(cfg_readl(s, MCH, PCIEXBAR + 4), ==, 0);
    g_assert_cmphex(qtest_readl(s, ecam(0, MCH, 0)), !=, 0x29c08086);

    enable_ecam(s);
    g_assert_cmphex(cfg_readl(s, MCH, PCIEXBAR), ==, 0xb0000001);
    /* Every function and register of bus 0: the same as CF8/CFC. */
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = cfg_readl(s, devfn, 0);
        g_assert_cmphex(qtest_readl(s, ecam(0, devfn, 0)), ==, id);
        if (id == 0xffffffff) {
            continue;
        }
        for (unsigned reg = 4; reg < 256; reg += 4) {
            g_assert_cmphex(qtest_readl(s, ecam(0, devfn, reg)), ==,
                            cfg_readl(s, devfn, reg));
        }
        /* Byte and word reads are slices of the dword. */
        g_assert_cmphex(qtest_readw(s, ecam(0, devfn, 2)), ==, id >> 16);
        g_assert_cmphex(qtest_readb(s, ecam(0, devfn, 1)), ==,
                        (id >> 8) & 0xff);
    }
    /* Conventional functions: all-ones beyond 256 bytes. */
    g_assert_cmphex(qtest_readl(s, ecam(0, MCH, 0x100)), ==, 0xffffffff);
    /* The root port is PCI Express: AER at 100h (ID 1, version 2, next
     * ACS at 148h), ACS (ID 0Dh). */
    g_assert_cmphex(qtest_readl(s, ecam(0, DEVFN(4, 0), 0x100)), ==,
                    0x14820001);
    g_assert_cmphex(qtest_readl(s, ecam(0, DEVFN(4, 0), 0x148)) & 0xffff,
                    ==, 0x000d);
    /* Writes through ECAM land in the same registers. */
    qtest_writeb(s, ecam(0, LPC, PIRQA_ROUT), 0x0b);
    g_assert_cmphex(cfg_readb(s, LPC, PIRQA_ROUT), ==, 0x0b);
    /* ... and into extended space: the AER uncorrectable mask. */
    qtest_writel(s, ecam(0, DEVFN(4, 0), 0x108), 0x00001000);
    g_assert_cmphex(qtest_readl(s, ecam(0, DEVFN(4, 0), 0x108)), ==,
                    0x00001000);

    /* Move it and shrink it to 64 MiB (buses 0-63). */
    cfg_writel(s, MCH, PCIEXBAR, 0xe0000000 | 0x4 | 1);
    g_assert_cmphex(qtest_readl(s, 0xe0000000), ==, 0x29c08086);
    g_assert_cmphex(qtest_readl(s, ecam(0, MCH, 0)), !=, 0x29c08086);
    g_assert_cmphex(qtest_readl(s, 0xe0000000ULL + (64ULL << 20)), !=,
                    0x29c08086);
    /* Reserved length: nothing decodes; disable: nothing either. */
    cfg_writel(s, MCH, PCIEXBAR, 0xe0000000 | 0x6 | 1);
    g_assert_cmphex(qtest_readl(s, 0xe0000000), !=, 0x29c08086);
    cfg_writel(s, MCH, PCIEXBAR, 0xe0000000);
    g_assert_cmphex(qtest_readl(s, 0xe0000000), !=, 0x29c08086);
    qtest_quit(s);
}

/* ---- PAM and SMRAM ------------------------------------------------------ */

static void test_pam(void)
{
    QTestState *s = start(NULL);

    for (unsigned i = 0; i < 7; i++) {
        g_assert_cmphex(cfg_readb(s, MCH, PAM0 + i), ==, 0);
    }
    g_assert_cmphex(qtest_readl(s, 0xffff0), ==, bios_long(0x1fff0));
    /* RAM read/write, copy the ROM, read-only, as SeaBIOS. */
    cfg_writeb(s, MCH, PAM0, 0x30);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, 0);
    qtest_writel(s, 0xf0000, 0xcafef00d);
    cfg_writeb(s, MCH, PAM0, 0x10);
    qtest_writel(s, 0xf0000, 0x11111111);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, 0xcafef00d);
    cfg_writeb(s, MCH, PAM0, 0x00);
    g_assert_cmphex(qtest_readl(s, 0xf0000), ==, bios_long(0x10000));
    /* PAM1 low nibble: 0xc0000-0xc3fff. */
    cfg_writeb(s, MCH, PAM0 + 1, 0x03);
    qtest_writel(s, 0xc0000, 0x12345678);
    g_assert_cmphex(qtest_readl(s, 0xc0000), ==, 0x12345678);
    /* Read-only: writes are dropped. */
    cfg_writeb(s, MCH, PAM0 + 1, 0x01);
    qtest_writel(s, 0xc0000, 0x87654321);
    g_assert_cmphex(qtest_readl(s, 0xc0000), ==, 0x12345678);
    qtest_quit(s);
}

static void test_smram(void)
{
    QTestState *s = start(NULL);

    g_assert_cmphex(cfg_readb(s, MCH, SMRAM), ==, 0x02);
    g_assert_cmphex(cfg_readb(s, MCH, ESMRAMC), ==, 0x38);
    /* TSEG enable and size are registers; nothing is mapped. */
    cfg_writeb(s, MCH, ESMRAMC, 0x38 | 0x01 | 0x02);
    g_assert_cmphex(cfg_readb(s, MCH, ESMRAMC), ==, 0x3b);
    /* No extended TSEG to negotiate. */
    g_assert_cmphex(cfg_readw(s, MCH, 0x50), ==, 0);
    cfg_writeb(s, MCH, SMRAM, 0x02 | 0x08);      /* G_SMRAME */
    g_assert_cmphex(cfg_readb(s, MCH, SMRAM), ==, 0x0a);
    /* Lock: D_OPEN refused, ESMRAMC frozen, D_CLS still writable. */
    cfg_writeb(s, MCH, SMRAM, 0x02 | 0x08 | 0x10);
    cfg_writeb(s, MCH, SMRAM, 0x02 | 0x08 | 0x10 | 0x40 | 0x20);
    g_assert_cmphex(cfg_readb(s, MCH, SMRAM), ==, 0x3a);
    cfg_writeb(s, MCH, ESMRAMC, 0x38);
    g_assert_cmphex(cfg_readb(s, MCH, ESMRAMC), ==, 0x3b);
    qtest_quit(s);
}

/* ---- ICH9 interrupt routing --------------------------------------------- */

static void assert_gsis(QTestState *s, uint32_t high_mask)
{
    for (int gsi = 0; gsi < 24; gsi++) {
        if (qtest_get_irq(s, gsi) != !!(high_mask & (1u << gsi))) {
            g_error("GSI %d is %s (expected mask %#x)", gsi,
                    qtest_get_irq(s, gsi) ? "high" : "low", high_mask);
        }
    }
}

static void testdev_io(QTestState *s, unsigned devfn, uint16_t io)
{
    cfg_writel(s, devfn, 0x14, io);
    cfg_writew(s, devfn, 0x04, CMD_IO);
}

static void test_pirq_routing(void)
{
    QTestState *s = start("-device pci-testdev,addr=3,intx-pin=1 "
                          "-device pci-testdev,addr=0x19,intx-pin=2");

    qtest_irq_intercept_in(s, "ioapic");
    testdev_io(s, DEVFN(3, 0), 0xc000);
    testdev_io(s, DEVFN(0x19, 0), 0xc100);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmphex(cfg_readb(s, LPC, PIRQA_ROUT + i), ==, 0x80);
        g_assert_cmphex(cfg_readb(s, LPC, PIRQE_ROUT + i), ==, 0x80);
    }
    assert_gsis(s, 0);
    /* Slot 3 INTA: (3 + 0) mod 4 + 4 = PIRQH -> IOAPIC input 23. */
    qtest_outb(s, 0xc000 + EXT_INTX, 1);
    assert_gsis(s, 1u << 23);
    /* Routed to the 8259 too: PIRQH_ROUT = 10. */
    cfg_writeb(s, LPC, PIRQE_ROUT + 3, 10);
    assert_gsis(s, 1u << 23 | 1u << 10);
    cfg_writeb(s, LPC, PIRQE_ROUT + 3, 0x80 | 10);
    assert_gsis(s, 1u << 23);
    qtest_outb(s, 0xc000 + EXT_INTX, 0);
    assert_gsis(s, 0);

    /* Device 25 INTB: D25IR (default 3210h) -> PIRQB -> GSI 17. */
    qtest_outb(s, 0xc100 + EXT_INTX, 1);
    assert_gsis(s, 1u << 17);
    /* Reprogram D25IR through RCBA: INTB -> PIRQF (5). */
    cfg_writel(s, LPC, RCBA, (uint32_t)RCBA_ADDR | 1);
    g_assert_cmphex(qtest_readw(s, RCBA_ADDR + 0x3150), ==, 0x3210);
    qtest_writew(s, RCBA_ADDR + 0x3150, 0x3250);
    assert_gsis(s, 1u << 21);
    cfg_writeb(s, LPC, PIRQE_ROUT + 1, 11);
    assert_gsis(s, 1u << 21 | 1u << 11);
    qtest_outb(s, 0xc100 + EXT_INTX, 0);
    assert_gsis(s, 0);
    qtest_quit(s);
}

/* ---- RCBA ------------------------------------------------------------- */

static void test_rcba(void)
{
    QTestState *s = start(NULL);

    /* Disabled at reset: no chipset registers at the address. */
    g_assert_cmphex(cfg_readl(s, LPC, RCBA), ==, 0);
    g_assert_cmphex(qtest_readw(s, RCBA_ADDR + 0x3140), !=, 0x3210);
    cfg_writel(s, LPC, RCBA, (uint32_t)RCBA_ADDR | 1);
    g_assert_cmphex(cfg_readl(s, LPC, RCBA), ==, (uint32_t)RCBA_ADDR | 1);
    for (unsigned off = 0x3140; off <= 0x3150; off += 2) {
        uint16_t expect = (off == 0x3142 || off == 0x314a ||
                           off == 0x314e) ? 0 : 0x3210;
        g_assert_cmphex(qtest_readw(s, RCBA_ADDR + off), ==, expect);
    }
    /* D30IR is read-only 0. */
    qtest_writew(s, RCBA_ADDR + 0x3142, 0x1111);
    g_assert_cmphex(qtest_readw(s, RCBA_ADDR + 0x3142), ==, 0);
    /* GCS: no-reboot strap off by default. */
    g_assert_cmphex(qtest_readl(s, RCBA_ADDR + 0x3410) & 0x20, ==, 0);
    qtest_quit(s);

    s = start("-global ICH9-LPC.noreboot=on");
    cfg_writel(s, LPC, RCBA, (uint32_t)RCBA_ADDR | 1);
    g_assert_cmphex(qtest_readl(s, RCBA_ADDR + 0x3410) & 0x20, ==, 0x20);
    qtest_quit(s);
}

/* ---- ICH9 PM ------------------------------------------------------------ */

static void enable_pm(QTestState *s)
{
    cfg_writel(s, LPC, PMBASE, PM_IO | 1);
    cfg_writeb(s, LPC, ACPI_CNTL, 0x80);
}

static void test_pm(void)
{
    QTestState *s = start(NULL);
    uint32_t t0, t1;

    qtest_irq_intercept_in(s, "ioapic");
    g_assert_cmphex(cfg_readl(s, LPC, PMBASE), ==, 1);
    /* Not decoded until ACPI_EN. */
    g_assert_cmphex(qtest_inw(s, PM_IO + 4), !=, 0);
    enable_pm(s);
    g_assert_cmphex(cfg_readl(s, LPC, PMBASE), ==, PM_IO | 1);
    /* PM1 at reset: no status, nothing enabled, SCI_EN clear. */
    g_assert_cmphex(qtest_inw(s, PM_IO + 2), ==, 0);
    g_assert_cmphex(qtest_inw(s, PM_IO + 4), ==, 0);
    /* The PM timer counts 3.579545 MHz of virtual time. */
    t0 = qtest_inl(s, PM_IO + 8);
    qtest_clock_step(s, 1000000);           /* 1 ms */
    t1 = qtest_inl(s, PM_IO + 8);
    g_assert_cmpuint((t1 - t0) & 0xffffff, >=, 3578);
    g_assert_cmpuint((t1 - t0) & 0xffffff, <=, 3581);
    /* SMI_EN: APMC_EN set and locked (no SMM). */
    g_assert_cmphex(qtest_inl(s, PM_IO + 0x30), ==, 0x20);
    qtest_outl(s, PM_IO + 0x30, 0);
    g_assert_cmphex(qtest_inl(s, PM_IO + 0x30), ==, 0x20);
    /* ACPI enable through the APM port: SCI_EN, SMI_STS.APM. */
    qtest_outb(s, 0xb2, 0x02);
    g_assert_cmphex(qtest_inw(s, PM_IO + 4) & 1, ==, 1);
    g_assert_cmphex(qtest_inl(s, PM_IO + 0x34) & 0x20, ==, 0x20);
    qtest_outl(s, PM_IO + 0x34, 0x20);
    g_assert_cmphex(qtest_inl(s, PM_IO + 0x34), ==, 0);
    /* Timer overflow with TMR_EN: TMR_STS and the SCI on GSI 9. */
    qtest_outw(s, PM_IO + 2, 0x0001);
    qtest_outw(s, PM_IO + 0, 0x0001);
    assert_gsis(s, 0);
    qtest_clock_step(s, 4700000000LL);      /* > 2^23 ticks */
    g_assert_cmphex(qtest_inw(s, PM_IO) & 1, ==, 1);
    assert_gsis(s, 1u << 9);
    /* SCI_IRQ_SEL 4: GSI 20. */
    cfg_writeb(s, LPC, ACPI_CNTL, 0x84);
    assert_gsis(s, 1u << 20);
    qtest_outw(s, PM_IO + 0, 0x0001);
    assert_gsis(s, 0);
    /* GPE0: enable bit with status clear: nothing. */
    qtest_outb(s, PM_IO + 0x28, 0xff);
    g_assert_cmphex(qtest_inb(s, PM_IO + 0x28), ==, 0xff);
    assert_gsis(s, 0);
    /* ACPI disable. */
    qtest_outb(s, 0xb2, 0x03);
    g_assert_cmphex(qtest_inw(s, PM_IO + 4) & 1, ==, 0);
    qtest_quit(s);
}

/* SLP_TYP 0 with SLP_EN: soft-off, the process exits. */
static void test_pm_poweroff(void)
{
    QTestState *s = start("-no-reboot");

    enable_pm(s);
    qtest_outw(s, PM_IO + 4, 0x2000);
    g_assert_cmpint(qtest_wait_exit(s), ==, 0);
    qtest_quit(s);
}

/* A CF9h write with RST_CPU resets the chipset: PMBASE back to 1. */
static void test_reset_control(void)
{
    QTestState *s = start(NULL);

    enable_pm(s);
    g_assert_cmphex(cfg_readl(s, LPC, PMBASE), ==, PM_IO | 1);
    qtest_outb(s, 0xcf9, 0x06);
    g_assert_cmphex(cfg_readl(s, LPC, PMBASE), ==, 1);
    g_assert_cmphex(cfg_readl(s, MCH, PCIEXBAR), ==, 0xb0000000);
    qtest_quit(s);
}

/* ---- TCO ---------------------------------------------------------------- */

#define TCO_IO          (PM_IO + 0x60)

static void tco_start(QTestState *s, uint16_t ticks)
{
    qtest_outw(s, TCO_IO + 0x12, ticks);             /* TCO_TMR */
    qtest_outw(s, TCO_IO + 0x08, 0);                 /* clear TMR_HLT */
    qtest_outw(s, TCO_IO + 0x00, 1);                 /* reload */
}

static void test_tco(void)
{
    QTestState *s = start("-global ICH9-LPC.noreboot=on");

    enable_pm(s);
    g_assert_cmphex(qtest_inw(s, TCO_IO + 0x08) & 0x800, ==, 0x800);
    g_assert_cmphex(qtest_inw(s, TCO_IO + 0x12), ==, 4);
    tco_start(s, 2);
    g_assert_cmphex(qtest_inw(s, TCO_IO), ==, 2);
    qtest_clock_step(s, 1300000000LL);
    g_assert_cmphex(qtest_inw(s, TCO_IO + 4) & 0x8, ==, 0x8);  /* TIMEOUT */
    qtest_clock_step(s, 1300000000LL);
    g_assert_cmphex(qtest_inw(s, TCO_IO + 6) & 0x2, ==, 0x2);  /* 2ND_TO */
    /* noreboot: still running, PMBASE still programmed. */
    g_assert_cmphex(cfg_readl(s, LPC, PMBASE), ==, PM_IO | 1);
    /* Status bits clear by writing 1. */
    qtest_outw(s, TCO_IO + 4, 0x8);
    qtest_outw(s, TCO_IO + 6, 0x2);
    g_assert_cmphex(qtest_inw(s, TCO_IO + 4) & 0x8, ==, 0);
    g_assert_cmphex(qtest_inw(s, TCO_IO + 6) & 0x2, ==, 0);
    qtest_quit(s);

    /* Without noreboot the second expiry resets the machine. */
    s = start(NULL);
    enable_pm(s);
    tco_start(s, 1);
    qtest_clock_step(s, 1300000000LL);
    g_assert_cmphex(cfg_readl(s, LPC, PMBASE), ==, 1);
    qtest_quit(s);
}

/* ---- SMBus -------------------------------------------------------------- */

#define SMB_IO          0x0700

static uint8_t smb_run(QTestState *s, uint8_t addr_rw, uint8_t cmd,
                       uint8_t proto, uint8_t d0)
{
    uint8_t sts;

    qtest_outb(s, SMB_IO + 4, addr_rw);
    qtest_outb(s, SMB_IO + 3, cmd);
    qtest_outb(s, SMB_IO + 5, d0);
    qtest_outb(s, SMB_IO + 2, 0x40 | proto << 2);
    sts = qtest_inb(s, SMB_IO);
    qtest_outb(s, SMB_IO, 0xfe);
    return sts;
}

static void test_smbus(void)
{
    QTestState *s = start(NULL);

    /* BAR4: 32 bytes of I/O; HOSTC.HST_EN gates the registers. */
    cfg_writel(s, SMB, 0x20, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, SMB, 0x20), ==, 0xffffffe1);
    cfg_writel(s, SMB, 0x20, SMB_IO);
    cfg_writew(s, SMB, 0x04, CMD_IO);
    g_assert_cmphex(qtest_inb(s, SMB_IO + 3), ==, 0xff);
    cfg_writeb(s, SMB, 0x40, 1);
    g_assert_cmphex(qtest_inb(s, SMB_IO), ==, 0);
    /* Write byte data to the EEPROM at 50h, read it back. */
    g_assert_cmphex(smb_run(s, 0x50 << 1, 0x10, 2, 0x5a), ==, 0x02);
    g_assert_cmphex(smb_run(s, 0x50 << 1 | 1, 0x10, 2, 0), ==, 0x02);
    g_assert_cmphex(qtest_inb(s, SMB_IO + 5), ==, 0x5a);
    /* Blank SPD elsewhere; receive byte follows the pointer. */
    g_assert_cmphex(smb_run(s, 0x57 << 1 | 1, 0x00, 2, 0), ==, 0x02);
    g_assert_cmphex(qtest_inb(s, SMB_IO + 5), ==, 0);
    g_assert_cmphex(smb_run(s, 0x50 << 1, 0x10, 1, 0), ==, 0x02);
    g_assert_cmphex(smb_run(s, 0x50 << 1 | 1, 0, 1, 0), ==, 0x02);
    g_assert_cmphex(qtest_inb(s, SMB_IO + 5), ==, 0x5a);
    /* Nobody at 60h: DEV_ERR. */
    g_assert_cmphex(smb_run(s, 0x60 << 1 | 1, 0, 2, 0), ==, 0x04);
    /* Block commands are not modelled: DEV_ERR, not a hang. */
    g_assert_cmphex(smb_run(s, 0x50 << 1 | 1, 0, 5, 0), ==, 0x04);
    qtest_quit(s);
}

/* ---- AHCI at 1f.2 ------------------------------------------------------- */

static char *make_iso(void)
{
    GError *err = NULL;
    char *path;
    int fd = g_file_open_tmp("kvmpc-q35-cd-XXXXXX", &path, &err);

    g_assert_no_error(err);
    g_assert_cmpint(ftruncate(fd, 2048 * 64), ==, 0);
    close(fd);
    return path;
}

static void test_ahci_cdrom(void)
{
    g_autofree char *iso = make_iso();
    g_autofree char *args = g_strdup_printf("-cdrom %s", iso);
    QTestState *s = start(args);
    const uint64_t abar = 0xfebf0000;
    uint32_t pi;

    cfg_writel(s, SATA, 0x24, (uint32_t)abar);
    cfg_writew(s, SATA, 0x04, CMD_MEM);
    pi = qtest_readl(s, abar + 0x0c);
    g_assert_cmphex(pi, ==, 0x3f);
    /* -cdrom is index 2: port 2 holds an ATAPI device, 0 and 1 none. */
    g_assert_cmphex(qtest_readl(s, abar + 0x100 + 2 * 0x80 + 0x28) & 0xf,
                    ==, 0x3);                                   /* SSTS.DET */
    g_assert_cmphex(qtest_readl(s, abar + 0x100 + 2 * 0x80 + 0x24), ==,
                    0xeb140101);                                /* PxSIG */
    g_assert_cmphex(qtest_readl(s, abar + 0x100 + 0 * 0x80 + 0x28) & 0xf,
                    ==, 0);
    qtest_quit(s);
    unlink(iso);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    make_bios();
    g_test_add_func("/q35/ids", test_ids);
    g_test_add_func("/q35/pciexbar-ecam", test_pciexbar);
    g_test_add_func("/q35/pam", test_pam);
    g_test_add_func("/q35/smram", test_smram);
    g_test_add_func("/q35/pirq-routing", test_pirq_routing);
    g_test_add_func("/q35/rcba", test_rcba);
    g_test_add_func("/q35/pm", test_pm);
    g_test_add_func("/q35/pm-poweroff", test_pm_poweroff);
    g_test_add_func("/q35/reset-control", test_reset_control);
    g_test_add_func("/q35/tco", test_tco);
    g_test_add_func("/q35/smbus", test_smbus);
    g_test_add_func("/q35/ahci-cdrom", test_ahci_cdrom);
    ret = g_test_run();
    unlink(bios_path);
    g_free(bios_path);
    return ret;
}
