/*
 * PIIX3 IDE: ATA disks and ATAPI CD-ROMs through the legacy ports and the
 * bus master (SFF-8038i), checked against the image files.
 *
 * Each case makes its own images in a temporary directory: raw files
 * (content = a pattern naming each sector) and, where qemu-img exists, a
 * qcow2 image made by `qemu-img create`.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "libqvirtio.h"       /* the QMP connection helpers */

#define IDE_BASE        0x1f0
#define IDE_CTL         0x3f6
#define REG_DATA        0
#define REG_ERROR       1
#define REG_FEATURE     1
#define REG_NSECTOR     2
#define REG_SECTOR      3
#define REG_LCYL        4
#define REG_HCYL        5
#define REG_SELECT      6
#define REG_STATUS      7
#define REG_COMMAND     7

#define ST_BSY  0x80
#define ST_DRDY 0x40
#define ST_DSC  0x10
#define ST_DRQ  0x08
#define ST_ERR  0x01
#define ERR_ABRT 0x04
#define ERR_IDNF 0x10

#define IDE_DEVFN       0x09        /* 01.1 */
#define BMDMA_BASE      0xc000
#define BM_CMD          0
#define BM_STATUS       2
#define BM_PRD          4
#define BM_ST_ACTIVE    1
#define BM_ST_ERROR     2
#define BM_ST_INTR      4

#define PRD_TABLE       0x10000
#define DATA_BUF        0x20000
#define DISK_SECTORS    2048        /* 1 MiB disk */
#define CD_BLOCKS       64          /* 128 KiB "ISO" */

typedef struct Fixture {
    char *dir;
    char *disk;
    char *iso;
} Fixture;

/* Sector @n of the disk pattern: every byte says the sector and offset. */
static void fill_pattern(uint8_t *buf, size_t len, uint32_t salt)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i / 512 * 7 + i * 13 + salt);
    }
}

static char *make_raw(const char *dir, const char *name, size_t size,
                      uint32_t salt)
{
    char *path = g_build_filename(dir, name, NULL);
    g_autofree uint8_t *buf = g_malloc(size);

    fill_pattern(buf, size, salt);
    g_assert_true(g_file_set_contents(path, (char *)buf, size, NULL));
    return path;
}

static void fixture_init(Fixture *f)
{
    f->dir = g_dir_make_tmp("ide-test-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->disk = make_raw(f->dir, "disk.raw", DISK_SECTORS * 512, 1);
    f->iso = make_raw(f->dir, "cd.iso", CD_BLOCKS * 2048, 3);
}

static void fixture_free(Fixture *f)
{
    g_unlink(f->disk);
    g_unlink(f->iso);
    g_rmdir(f->dir);
    g_free(f->disk);
    g_free(f->iso);
    g_free(f->dir);
}

/* ---- port helpers ------------------------------------------------------- */

/*
 * Wait while the drive is busy: sector I/O is asynchronous (as QEMU's),
 * so a read, a written block, a flush or a DMA chunk keeps BSY set until
 * the disk answered.  Each poll is a round trip through the main loop,
 * which runs the completions; the alternate status leaves the interrupt.
 */
static void wait_not_busy(QTestState *s, uint16_t ctl)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    while ((qtest_inb(s, ctl) & ST_BSY) && g_get_monotonic_time() < end) {
    }
}

static uint8_t ide_in(QTestState *s, int reg)
{
    return qtest_inb(s, IDE_BASE + reg);
}

/* A command's register write returns at once; what a test looks at next
 * is the command's answer, so wait for it. */
static void ide_out(QTestState *s, int reg, uint8_t v)
{
    qtest_outb(s, IDE_BASE + reg, v);
    if (reg == REG_COMMAND) {
        wait_not_busy(s, IDE_CTL);
    }
}

static void ide_lba28(QTestState *s, int dev, uint32_t lba, uint8_t count)
{
    ide_out(s, REG_SELECT, 0xe0 | dev << 4 | ((lba >> 24) & 0xf));
    ide_out(s, REG_NSECTOR, count);
    ide_out(s, REG_SECTOR, lba);
    ide_out(s, REG_LCYL, lba >> 8);
    ide_out(s, REG_HCYL, lba >> 16);
}

static void ide_lba48(QTestState *s, uint64_t lba, uint16_t count)
{
    ide_out(s, REG_SELECT, 0x40);
    ide_out(s, REG_NSECTOR, count >> 8);
    ide_out(s, REG_SECTOR, lba >> 24);
    ide_out(s, REG_LCYL, lba >> 32);
    ide_out(s, REG_HCYL, lba >> 40);
    ide_out(s, REG_NSECTOR, count);
    ide_out(s, REG_SECTOR, lba);
    ide_out(s, REG_LCYL, lba >> 8);
    ide_out(s, REG_HCYL, lba >> 16);
}

static void pio_read(QTestState *s, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 2) {
        uint16_t w = qtest_inw(s, IDE_BASE);
        buf[i] = w;
        buf[i + 1] = w >> 8;
    }
    wait_not_busy(s, IDE_CTL);          /* the next block being read */
}

static void pio_write(QTestState *s, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 2) {
        qtest_outw(s, IDE_BASE, buf[i] | buf[i + 1] << 8);
    }
    wait_not_busy(s, IDE_CTL);          /* the block being written */
}

static QTestState *start(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static QTestState *start(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;
    QTestState *s;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    s = qtest_init(args);
    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static void pci_cfg_writew(QTestState *s, int reg, uint16_t v)
{
    qtest_outl(s, 0xcf8, 0x80000000u | IDE_DEVFN << 8 | (reg & ~3));
    qtest_outw(s, 0xcfc + (reg & 2), v);
}

static void pci_cfg_writel(QTestState *s, int reg, uint32_t v)
{
    qtest_outl(s, 0xcf8, 0x80000000u | IDE_DEVFN << 8 | reg);
    qtest_outl(s, 0xcfc, v);
}

static uint32_t pci_cfg_readl(QTestState *s, int reg)
{
    qtest_outl(s, 0xcf8, 0x80000000u | IDE_DEVFN << 8 | reg);
    return qtest_inl(s, 0xcfc);
}

/* BAR4 at BMDMA_BASE, I/O and bus mastering on. */
static void enable_bm(QTestState *s)
{
    pci_cfg_writel(s, 0x20, BMDMA_BASE);
    pci_cfg_writew(s, 0x04, 0x05);
}

static void put_prd(QTestState *s, int i, uint32_t addr, uint32_t len,
                    bool eot)
{
    qtest_writel(s, PRD_TABLE + 8 * i, addr);
    qtest_writel(s, PRD_TABLE + 8 * i + 4, (len & 0xffff) |
                 (eot ? 0x80000000u : 0));
}


/* Program the bus master, issue @cmd, start the engine. */
static uint8_t dma_cmd(QTestState *s, uint8_t cmd, bool to_memory)
{
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0);
    qtest_outb(s, BMDMA_BASE + BM_STATUS, BM_ST_INTR | BM_ST_ERROR);
    qtest_outl(s, BMDMA_BASE + BM_PRD, PRD_TABLE);
    qtest_outb(s, BMDMA_BASE + BM_CMD, to_memory ? 0x08 : 0);
    ide_out(s, REG_COMMAND, cmd);
    qtest_outb(s, BMDMA_BASE + BM_CMD, (to_memory ? 0x08 : 0) | 1);
    wait_not_busy(s, IDE_CTL);
    return qtest_inb(s, BMDMA_BASE + BM_STATUS);
}

/* ---- presence and IDENTIFY --------------------------------------------- */

static void test_pci_function(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(pci_cfg_readl(s, 0x00), ==, 0x70108086);
    g_assert_cmphex(pci_cfg_readl(s, 0x08) >> 8, ==, 0x010180);
    /* BAR4 is 16 bytes of I/O */
    pci_cfg_writel(s, 0x20, 0xffffffff);
    g_assert_cmphex(pci_cfg_readl(s, 0x20), ==, 0xfffffff1);
    /* no drives: the status register reads 0 (nothing to wait for) */
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, 0);
    g_assert_cmphex(qtest_inb(s, 0x170 + REG_STATUS), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static char *ata_string(const uint16_t *w, int words)
{
    char *out = g_malloc0(words * 2 + 1);

    for (int i = 0; i < words; i++) {
        out[2 * i] = w[i] >> 8;
        out[2 * i + 1] = w[i];
    }
    return g_strchomp(out);
}

static void identify(QTestState *s, uint8_t cmd, uint16_t *w)
{
    uint8_t buf[512];

    ide_out(s, REG_COMMAND, cmd);
    g_assert_cmphex(ide_in(s, REG_STATUS) & (ST_DRQ | ST_ERR), ==, ST_DRQ);
    pio_read(s, buf, 512);
    for (int i = 0; i < 256; i++) {
        w[i] = buf[2 * i] | buf[2 * i + 1] << 8;
    }
    g_assert_cmphex(ide_in(s, REG_STATUS) & (ST_DRQ | ST_ERR | ST_DRDY),
                    ==, ST_DRDY);
}

static void test_identify(void)
{
    Fixture f;
    QTestState *s;
    uint16_t w[256];
    g_autofree char *model = NULL, *serial = NULL, *fw = NULL;

    fixture_init(&f);
    s = start("-drive file=%s,format=raw,if=ide,index=0", f.disk);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    /* the ATA signature */
    g_assert_cmphex(ide_in(s, REG_NSECTOR), ==, 1);
    g_assert_cmphex(ide_in(s, REG_LCYL), ==, 0);
    g_assert_cmphex(ide_in(s, REG_HCYL), ==, 0);
    ide_out(s, REG_SELECT, 0xa0);
    identify(s, 0xec, w);
    g_assert_true(qtest_get_irq(s, 14) == false);   /* status read clears */
    model = ata_string(w + 27, 20);
    serial = ata_string(w + 10, 10);
    fw = ata_string(w + 23, 4);
    g_assert_cmpstr(model, ==, "QEMU HARDDISK");
    g_assert_cmpstr(serial, ==, "QM00001");
    g_assert_cmpstr(fw, ==, "2.5+");
    g_assert_cmphex(w[0], ==, 0x0040);
    g_assert_cmphex(w[47] & 0xff, ==, 16);
    g_assert_cmphex(w[49] & 0x0300, ==, 0x0300);    /* LBA, DMA */
    g_assert_cmpuint(w[60] | (uint32_t)w[61] << 16, ==, DISK_SECTORS);
    g_assert_cmphex(w[63] & 0xff, ==, 0x07);        /* MWDMA 0-2 */
    g_assert_cmphex(w[88] & 0xff, ==, 0x3f);        /* UDMA 0-5 */
    g_assert_true(w[83] & (1 << 10));               /* LBA48 */
    g_assert_true(w[83] & (1 << 12));               /* FLUSH CACHE */
    g_assert_true(w[85] & (1 << 5));                /* write cache on */
    g_assert_cmpuint(w[100] | (uint32_t)w[101] << 16, ==, DISK_SECTORS);
    g_assert_cmpuint(w[102] | w[103], ==, 0);

    /* SET FEATURES: write cache off and UDMA mode 2 show in IDENTIFY */
    ide_out(s, REG_FEATURE, 0x82);
    ide_out(s, REG_COMMAND, 0xef);
    g_assert_cmphex(ide_in(s, REG_STATUS) & ST_ERR, ==, 0);
    ide_out(s, REG_FEATURE, 0x03);
    ide_out(s, REG_NSECTOR, 0x42);
    ide_out(s, REG_COMMAND, 0xef);
    identify(s, 0xec, w);
    g_assert_false(w[85] & (1 << 5));
    g_assert_cmphex(w[88], ==, 0x043f);

    /* the absent slave: status reads zero, the task file what the channel
     * latched (as QEMU), commands go nowhere */
    ide_out(s, REG_SELECT, 0xb0);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, 0);
    g_assert_cmphex(ide_in(s, REG_NSECTOR), ==, 0x42);
    g_assert_cmphex(ide_in(s, REG_SELECT), ==, 0xb0);
    ide_out(s, REG_COMMAND, 0xec);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, 0);
    /* IDENTIFY PACKET on a disk aborts */
    ide_out(s, REG_SELECT, 0xa0);
    ide_out(s, REG_COMMAND, 0xa1);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_ABRT);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- PIO ---------------------------------------------------------------- */

static void test_pio_read_write(void)
{
    Fixture f;
    QTestState *s;
    uint8_t buf[4 * 512], data[4 * 512];
    g_autofree uint8_t *want = NULL, *got = NULL;

    fixture_init(&f);
    s = start("-drive file=%s,format=raw,if=none,id=d0 "
              "-device ide-hd,drive=d0,bus=ide.0,unit=0", f.disk);
    want = qtest_file_range(f.disk, 100 * 512, 4 * 512);

    /* READ SECTORS: one interrupt per sector */
    ide_lba28(s, 0, 100, 4);
    ide_out(s, REG_COMMAND, 0x20);
    for (int i = 0; i < 4; i++) {
        g_assert_true(qtest_get_irq(s, 14));
        g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC | ST_DRQ);
        pio_read(s, buf + i * 512, 512);
    }
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpmem(buf, sizeof(buf), want, 4 * 512);
    /* the task file names the last sector moved */
    g_assert_cmpuint(ide_in(s, REG_SECTOR), ==, 104);

    /* WRITE SECTORS: two sectors, then read back from the file */
    fill_pattern(data, sizeof(data), 0x55);
    ide_lba28(s, 0, 7, 2);
    ide_out(s, REG_COMMAND, 0x30);
    g_assert_false(qtest_get_irq(s, 14));   /* none before the 1st block */
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_write(s, data, 512);
    g_assert_true(qtest_get_irq(s, 14));
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_write(s, data + 512, 512);
    g_assert_true(qtest_get_irq(s, 14));
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    /* FLUSH CACHE */
    ide_out(s, REG_COMMAND, 0xe7);
    g_assert_true(qtest_get_irq(s, 14));
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    got = qtest_file_range(f.disk, 7 * 512, 1024);
    g_assert_cmpmem(got, 1024, data, 1024);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_pio_multiple(void)
{
    Fixture f;
    QTestState *s;
    g_autofree uint8_t *buf = g_malloc(20 * 512);
    g_autofree uint8_t *want = NULL, *got = NULL;
    uint8_t data[8 * 512];
    int blocks = 0;

    fixture_init(&f);
    s = start("-hda %s", f.disk);
    want = qtest_file_range(f.disk, 300 * 512, 20 * 512);
    /* SET MULTIPLE MODE 8; a bad count (3) aborts */
    ide_out(s, REG_SELECT, 0xe0);
    ide_out(s, REG_NSECTOR, 3);
    ide_out(s, REG_COMMAND, 0xc6);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    ide_out(s, REG_NSECTOR, 8);
    ide_out(s, REG_COMMAND, 0xc6);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);

    /* READ MULTIPLE of 20 sectors: blocks of 8, 8, 4 */
    ide_lba28(s, 0, 300, 20);
    ide_out(s, REG_COMMAND, 0xc4);
    for (size_t done = 0; done < 20 * 512; blocks++) {
        size_t n = MIN(8 * 512, 20 * 512 - done);
        g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC | ST_DRQ);
        pio_read(s, buf + done, n);
        done += n;
    }
    g_assert_cmpint(blocks, ==, 3);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpmem(buf, 20 * 512, want, 20 * 512);

    /* WRITE MULTIPLE EXT (LBA48) of 8 sectors: one block */
    fill_pattern(data, sizeof(data), 0x99);
    ide_lba48(s, 1000, 8);
    ide_out(s, REG_COMMAND, 0x39);
    pio_write(s, data, sizeof(data));
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    got = qtest_file_range(f.disk, 1000 * 512, sizeof(data));
    g_assert_cmpmem(got, sizeof(data), data, sizeof(data));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_lba48_and_errors(void)
{
    Fixture f;
    QTestState *s;
    uint8_t buf[512];
    g_autofree uint8_t *want = NULL;

    fixture_init(&f);
    s = start("-hda %s", f.disk);
    want = qtest_file_range(f.disk, (DISK_SECTORS - 1) * 512, 512);
    /* READ SECTORS EXT of the last sector; the HOB registers read back */
    ide_lba48(s, DISK_SECTORS - 1, 1);
    qtest_outb(s, IDE_CTL, 0x80);
    g_assert_cmpuint(ide_in(s, REG_LCYL), ==, 0);
    g_assert_cmpuint(ide_in(s, REG_NSECTOR), ==, 0);
    qtest_outb(s, IDE_CTL, 0x00);
    ide_out(s, REG_COMMAND, 0x24);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_read(s, buf, 512);
    g_assert_cmpmem(buf, 512, want, 512);

    /* one sector past the end: IDNF, no data phase */
    ide_lba48(s, DISK_SECTORS - 1, 2);
    ide_out(s, REG_COMMAND, 0x24);
    g_assert_true(qtest_get_irq(s, 14));
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_IDNF);
    /* an LBA far beyond the 48-bit disk, and one beyond LBA28 */
    ide_lba48(s, 0xffffffffffffULL, 1);
    ide_out(s, REG_COMMAND, 0x25);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_IDNF);
    ide_lba28(s, 0, 0x0fffffff, 0);
    ide_out(s, REG_COMMAND, 0x30);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_IDNF);
    /* unknown command, and NOP: ABRT */
    ide_out(s, REG_COMMAND, 0x00);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_ABRT);
    ide_out(s, REG_COMMAND, 0xfe);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_ABRT);
    /* data port reads outside a data phase give nothing and change nothing */
    for (int i = 0; i < 300; i++) {
        g_assert_cmphex(qtest_inw(s, IDE_BASE), ==, 0);
    }
    /* READ VERIFY of a valid range, READ NATIVE MAX */
    ide_lba28(s, 0, 10, 5);
    ide_out(s, REG_COMMAND, 0x40);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    ide_out(s, REG_SELECT, 0xe0);
    ide_out(s, REG_COMMAND, 0xf8);
    g_assert_cmpuint(ide_in(s, REG_SECTOR) | ide_in(s, REG_LCYL) << 8, ==,
                     DISK_SECTORS - 1);
    /* soft reset: busy while SRST is set, the signature afterwards */
    qtest_outb(s, IDE_CTL, 0x04);
    g_assert_cmphex(qtest_inb(s, IDE_CTL) & ST_BSY, ==, ST_BSY);
    qtest_outb(s, IDE_CTL, 0x00);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(ide_in(s, REG_NSECTOR), ==, 1);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_read_only(void)
{
    Fixture f;
    QTestState *s;

    fixture_init(&f);
    s = start("-drive file=%s,format=raw,readonly=on", f.disk);
    ide_lba28(s, 0, 0, 1);
    ide_out(s, REG_COMMAND, 0x30);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_ABRT);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- DMA ---------------------------------------------------------------- */

static void test_dma_read_write(void)
{
    Fixture f;
    QTestState *s;
    g_autofree uint8_t *want = NULL, *got = NULL;
    uint8_t buf[8 * 512], data[6 * 512];

    fixture_init(&f);
    s = start("-drive file=%s,format=raw,if=ide,bus=0,unit=0", f.disk);
    enable_bm(s);
    want = qtest_file_range(f.disk, 40 * 512, 8 * 512);
    /* READ DMA of 8 sectors scattered over three PRDs */
    put_prd(s, 0, DATA_BUF, 1024, false);
    put_prd(s, 1, DATA_BUF + 0x3000, 512, false);
    put_prd(s, 2, DATA_BUF + 0x5000, 2560, true);
    ide_lba28(s, 0, 40, 8);
    g_assert_cmphex(dma_cmd(s, 0xc8, true), ==, BM_ST_INTR);
    g_assert_true(qtest_get_irq(s, 14));
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    qtest_memread(s, DATA_BUF, buf, 1024);
    qtest_memread(s, DATA_BUF + 0x3000, buf + 1024, 512);
    qtest_memread(s, DATA_BUF + 0x5000, buf + 1536, 2560);
    g_assert_cmpmem(buf, sizeof(buf), want, sizeof(want[0]) * 8 * 512);
    /* the interrupt bit is write-one-to-clear */
    qtest_outb(s, BMDMA_BASE + BM_STATUS, BM_ST_INTR);
    g_assert_cmphex(qtest_inb(s, BMDMA_BASE + BM_STATUS), ==, 0);

    /* WRITE DMA EXT of 6 sectors from one PRD */
    fill_pattern(data, sizeof(data), 0x77);
    qtest_memwrite(s, DATA_BUF, data, sizeof(data));
    put_prd(s, 0, DATA_BUF, sizeof(data), true);
    ide_lba48(s, 1500, 6);
    g_assert_cmphex(dma_cmd(s, 0x35, false), ==, BM_ST_INTR);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    ide_out(s, REG_COMMAND, 0xea);          /* FLUSH CACHE EXT */
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    got = qtest_file_range(f.disk, 1500 * 512, sizeof(data));
    g_assert_cmpmem(got, sizeof(data), data, sizeof(data));

    /* the engine started before the command also works */
    put_prd(s, 0, DATA_BUF, 512, true);
    qtest_memset(s, DATA_BUF, 0, 512);
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0x00);
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0x09);
    ide_lba28(s, 0, 40, 1);
    ide_out(s, REG_COMMAND, 0xc8);
    wait_not_busy(s, IDE_CTL);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    qtest_memread(s, DATA_BUF, buf, 512);
    g_assert_cmpmem(buf, 512, want, 512);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void expect_dma_error(QTestState *s, uint8_t bm_status)
{
    wait_not_busy(s, IDE_CTL);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(ide_in(s, REG_ERROR), ==, ERR_ABRT);
    g_assert_cmphex(qtest_inb(s, BMDMA_BASE + BM_STATUS), ==, bm_status);
}

static void test_dma_errors(void)
{
    Fixture f;
    QTestState *s;
    g_autofree uint8_t *want = NULL;
    uint8_t buf[512];

    fixture_init(&f);
    s = start("-m 16M -hda %s", f.disk);
    enable_bm(s);
    want = qtest_file_range(f.disk, 0, 512);

    /* a PRD pointing outside RAM (16 MiB) */
    put_prd(s, 0, 0x7f000000, 512, true);
    ide_lba28(s, 0, 0, 1);
    dma_cmd(s, 0xc8, true);
    expect_dma_error(s, BM_ST_ERROR | BM_ST_INTR);
    /* a PRD table itself outside RAM */
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0);
    qtest_outb(s, BMDMA_BASE + BM_STATUS, 6);
    qtest_outl(s, BMDMA_BASE + BM_PRD, 0x7ff00000);
    ide_lba28(s, 0, 0, 1);
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0x08);
    ide_out(s, REG_COMMAND, 0xc8);
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0x09);
    expect_dma_error(s, BM_ST_ERROR | BM_ST_INTR);

    /* a table without EOT whose entries never end (8-byte entries that
     * cover 2 bytes each; the walk stops after 8192 entries) */
    for (int i = 0; i < 8192; i++) {
        put_prd(s, i, DATA_BUF, 2, false);
    }
    ide_lba28(s, 0, 0, 128);                /* 64 KiB wanted, 16 KiB given */
    dma_cmd(s, 0xc8, true);
    expect_dma_error(s, BM_ST_ERROR | BM_ST_INTR);

    /* a table too short for the transfer: ACTIVE clears, the drive aborts */
    put_prd(s, 0, DATA_BUF, 512, true);
    ide_lba28(s, 0, 0, 2);
    dma_cmd(s, 0xc8, true);
    expect_dma_error(s, BM_ST_INTR);

    /* a zero-length PRD means 64 KiB: longer than the transfer, so ACTIVE
     * stays set along with the interrupt (SFF-8038i) and the data is in */
    qtest_memset(s, DATA_BUF, 0, 512);
    put_prd(s, 0, DATA_BUF, 0, true);
    ide_lba28(s, 0, 0, 1);
    g_assert_cmphex(dma_cmd(s, 0xc8, true), ==, BM_ST_ACTIVE | BM_ST_INTR);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    qtest_memread(s, DATA_BUF, buf, 512);
    g_assert_cmpmem(buf, 512, want, 512);

    /* bus mastering disabled: the transfer is a master abort */
    pci_cfg_writew(s, 0x04, 0x01);
    ide_lba28(s, 0, 0, 1);
    dma_cmd(s, 0xc8, true);
    expect_dma_error(s, BM_ST_ERROR | BM_ST_INTR);
    /* the PRD table aimed at the bus master's own registers is refused
     * as a device access to itself would be (no recursion, no crash) */
    enable_bm(s);
    qtest_outb(s, BMDMA_BASE + BM_CMD, 0);
    put_prd(s, 0, 0xfee00000, 512, true);
    ide_lba28(s, 0, 0, 1);
    dma_cmd(s, 0xca, false);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_qcow2(void)
{
    g_autofree char *dir = g_dir_make_tmp("ide-qcow2-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "d.qcow2", NULL);
    g_autofree char *cmd = g_strdup_printf("qemu-img create -q -f qcow2 %s "
                                           "4M", img);
    QTestState *s;
    uint8_t data[2 * 512], buf[2 * 512];
    int status;
    g_autofree char *qemu_img = g_find_program_in_path("qemu-img");

    if (!qemu_img) {
        g_test_skip("qemu-img is not installed");
        g_rmdir(dir);
        return;
    }
    g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint(status, ==, 0);
    s = start("-drive file=%s,format=qcow2,if=ide,index=1", img);
    ide_out(s, REG_SELECT, 0xf0);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    fill_pattern(data, sizeof(data), 0x31);
    ide_lba28(s, 1, 5000, 2);
    ide_out(s, REG_COMMAND, 0x30);
    pio_write(s, data, 512);
    pio_write(s, data + 512, 512);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    ide_lba28(s, 1, 5000, 2);
    ide_out(s, REG_COMMAND, 0x20);
    pio_read(s, buf, 512);
    pio_read(s, buf + 512, 512);
    g_assert_cmpmem(buf, sizeof(buf), data, sizeof(data));
    /* unwritten clusters read as zeroes */
    ide_lba28(s, 1, 100, 1);
    ide_out(s, REG_COMMAND, 0x20);
    pio_read(s, buf, 512);
    for (int i = 0; i < 512; i++) {
        g_assert_cmpuint(buf[i], ==, 0);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_unlink(img);
    g_rmdir(dir);
}

/* ---- ATAPI -------------------------------------------------------------- */

#define CD_BASE 0x170

static uint8_t cd_in(QTestState *s, int reg)
{
    return qtest_inb(s, CD_BASE + reg);
}

static void cd_out(QTestState *s, int reg, uint8_t v)
{
    qtest_outb(s, CD_BASE + reg, v);
    if (reg == REG_COMMAND) {
        wait_not_busy(s, 0x376);
    }
}

/* Send a packet; returns the status after it ran. */
static uint8_t cd_packet(QTestState *s, const uint8_t *cdb, uint16_t bcl,
                         bool dma)
{
    cd_out(s, REG_SELECT, 0xa0);
    cd_out(s, REG_FEATURE, dma);
    cd_out(s, REG_LCYL, bcl);
    cd_out(s, REG_HCYL, bcl >> 8);
    cd_out(s, REG_COMMAND, 0xa0);
    g_assert_cmphex(cd_in(s, REG_STATUS) & ST_DRQ, ==, ST_DRQ);
    g_assert_cmphex(cd_in(s, REG_NSECTOR), ==, 1);     /* CoD */
    for (int i = 0; i < 12; i += 2) {
        qtest_outw(s, CD_BASE, cdb[i] | cdb[i + 1] << 8);
    }
    wait_not_busy(s, 0x376);            /* READ: the first sectors */
    return qtest_inb(s, 0x376);     /* alternate status: the IRQ stays */
}

/* Read the data-in phase chunk by chunk; returns the bytes got. */
static size_t cd_pio_in(QTestState *s, uint8_t *buf, size_t max,
                        int *chunks)
{
    size_t got = 0;

    *chunks = 0;
    wait_not_busy(s, 0x376);
    while (cd_in(s, REG_STATUS) & ST_DRQ) {
        size_t n = cd_in(s, REG_LCYL) | cd_in(s, REG_HCYL) << 8;
        g_assert_cmphex(cd_in(s, REG_NSECTOR), ==, 2);  /* I/O, data */
        g_assert_cmpuint(got + n, <=, max);
        for (size_t i = 0; i < n; i += 2) {
            uint16_t w = qtest_inw(s, CD_BASE);
            buf[got + i] = w;
            if (i + 1 < n) {
                buf[got + i + 1] = w >> 8;
            }
        }
        got += n;
        (*chunks)++;
        wait_not_busy(s, 0x376);        /* the next sectors being read */
    }
    return got;
}

static size_t cd_cmd_in(QTestState *s, const uint8_t *cdb, uint8_t *buf,
                        size_t max)
{
    int chunks;
    size_t n;

    cd_packet(s, cdb, 0xfffe, false);
    n = cd_pio_in(s, buf, max, &chunks);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(cd_in(s, REG_NSECTOR), ==, 3);     /* I/O, CoD */
    return n;
}

static void cd_sense(QTestState *s, uint8_t *key, uint8_t *asc)
{
    const uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 };
    uint8_t buf[18];

    g_assert_cmpuint(cd_cmd_in(s, cdb, buf, sizeof(buf)), ==, 18);
    g_assert_cmphex(buf[0], ==, 0xf0);     /* valid, current, fixed */
    *key = buf[2] & 0xf;
    *asc = buf[12];
}

static void cd_expect_check(QTestState *s, uint8_t key, uint8_t asc)
{
    uint8_t k, a;

    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_ERR);
    g_assert_cmphex(cd_in(s, REG_ERROR) >> 4, ==, key);
    cd_sense(s, &k, &a);
    g_assert_cmphex(k, ==, key);
    g_assert_cmphex(a, ==, asc);
}

static void test_atapi_basics(void)
{
    Fixture f;
    QTestState *s;
    uint16_t w[256];
    uint8_t buf[256];
    const uint8_t tur[12] = { 0x00 };
    const uint8_t inquiry[12] = { 0x12, 0, 0, 0, 36 };
    const uint8_t capacity[12] = { 0x25 };
    const uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };
    const uint8_t toc_msf[12] = { 0x43, 2, 0, 0, 0, 0, 0, 0, 100 };
    const uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    const uint8_t gesn_async[12] = { 0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8 };
    const uint8_t mode_caps[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
    const uint8_t mode_saved[12] = { 0x5a, 0, 0xea, 0, 0, 0, 0, 0, 64 };
    const uint8_t getconf[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64 };
    const uint8_t bogus[12] = { 0xff };
    g_autofree char *model = NULL;

    fixture_init(&f);
    s = start("-cdrom %s", f.iso);
    /* the ATAPI signature, IDENTIFY DEVICE aborts */
    g_assert_cmphex(cd_in(s, REG_LCYL), ==, 0x14);
    g_assert_cmphex(cd_in(s, REG_HCYL), ==, 0xeb);
    cd_out(s, REG_SELECT, 0xa0);
    cd_out(s, REG_COMMAND, 0xec);
    g_assert_cmphex(cd_in(s, REG_STATUS) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(cd_in(s, REG_LCYL), ==, 0x14);
    /* IDENTIFY PACKET DEVICE */
    cd_out(s, REG_COMMAND, 0xa1);
    g_assert_cmphex(cd_in(s, REG_STATUS) & ST_DRQ, ==, ST_DRQ);
    for (int i = 0; i < 256; i++) {
        w[i] = qtest_inw(s, CD_BASE);
    }
    g_assert_cmphex(w[0], ==, 0x85c0);
    model = ata_string(w + 27, 20);
    g_assert_cmpstr(model, ==, "QEMU DVD-ROM");

    g_assert_cmphex(cd_packet(s, tur, 0, false), ==, ST_DRDY | ST_DSC);
    g_assert_true(qtest_get_irq(s, 15));
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_false(qtest_get_irq(s, 15));
    /* INQUIRY */
    g_assert_cmpuint(cd_cmd_in(s, inquiry, buf, sizeof(buf)), ==, 36);
    g_assert_cmphex(buf[0], ==, 0x05);
    g_assert_cmphex(buf[1], ==, 0x80);
    g_assert_cmpmem(buf + 8, 8, "QEMU    ", 8);
    g_assert_cmpmem(buf + 16, 16, "QEMU DVD-ROM    ", 16);
    /* READ CAPACITY */
    g_assert_cmpuint(cd_cmd_in(s, capacity, buf, sizeof(buf)), ==, 8);
    g_assert_cmpuint(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], ==,
                     CD_BLOCKS - 1);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 2048);
    /* READ TOC: track 1 at 0 and the lead-out, in LBA and MSF */
    g_assert_cmpuint(cd_cmd_in(s, toc, buf, sizeof(buf)), ==, 20);
    g_assert_cmpuint(buf[1], ==, 18);
    g_assert_cmpuint(buf[2], ==, 1);
    g_assert_cmpuint(buf[6], ==, 1);
    g_assert_cmpuint(buf[14], ==, 0xaa);
    g_assert_cmpuint(buf[19], ==, CD_BLOCKS);
    g_assert_cmpuint(cd_cmd_in(s, toc_msf, buf, sizeof(buf)), ==, 20);
    g_assert_cmpuint(buf[10], ==, 2);       /* 00:02:00 */
    g_assert_cmpuint(buf[18], ==, 2);       /* 150 + 64 frames: 00:02:64 */
    g_assert_cmpuint(buf[19], ==, 64);
    /* GET EVENT STATUS NOTIFICATION: media present, no event */
    g_assert_cmpuint(cd_cmd_in(s, gesn, buf, sizeof(buf)), ==, 8);
    g_assert_cmphex(buf[2], ==, 4);
    g_assert_cmphex(buf[4], ==, 0);
    g_assert_cmphex(buf[5], ==, 2);
    cd_packet(s, gesn_async, 0xfffe, false);
    cd_expect_check(s, 5, 0x24);
    /* MODE SENSE(10) capabilities page; saved values are not supported */
    g_assert_cmpuint(cd_cmd_in(s, mode_caps, buf, sizeof(buf)), ==, 30);
    g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 28);
    g_assert_cmpuint(buf[16] << 8 | buf[17], ==, 704);
    g_assert_cmphex(buf[8], ==, 0x2a);
    g_assert_cmphex(buf[9], ==, 0x14);
    cd_packet(s, mode_saved, 0xfffe, false);
    cd_expect_check(s, 5, 0x39);
    /* GET CONFIGURATION: the current profile is CD-ROM */
    g_assert_cmpuint(cd_cmd_in(s, getconf, buf, sizeof(buf)), ==, 32);
    g_assert_cmphex(buf[6] << 8 | buf[7], ==, 0x0008);
    /* an unknown opcode: ILLEGAL REQUEST, invalid command operation code */
    cd_packet(s, bogus, 0xfffe, false);
    cd_expect_check(s, 5, 0x20);
    /* the sense was read: TEST UNIT READY is fine again */
    cd_packet(s, tur, 0, false);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_atapi_read(void)
{
    Fixture f;
    QTestState *s;
    g_autofree uint8_t *want = NULL;
    g_autofree uint8_t *buf = g_malloc(64 * 1024);
    const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 10, 0, 0, 5 };
    const uint8_t read12[12] = { 0xa8, 0, 0, 0, 0, 10, 0, 0, 0, 5 };
    const uint8_t read_oob[12] = { 0x28, 0, 0, 0, 0, 60, 0, 0, 5 };
    int chunks;

    fixture_init(&f);
    s = start("-drive file=%s,if=none,id=cd,media=cdrom "
              "-device ide-cd,drive=cd,bus=ide.1,unit=0", f.iso);
    want = qtest_file_range(f.iso, 10 * 2048, 5 * 2048);
    /* READ(10) of 5 blocks in PIO with a 3000-byte byte count limit */
    cd_packet(s, read10, 3000, false);
    g_assert_cmpuint(cd_pio_in(s, buf, 64 * 1024, &chunks), ==, 5 * 2048);
    g_assert_cmpint(chunks, >, 1);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpmem(buf, 5 * 2048, want, 5 * 2048);
    /* READ(12) through DMA */
    enable_bm(s);
    qtest_memset(s, DATA_BUF, 0, 5 * 2048);
    put_prd(s, 0, DATA_BUF, 4096, false);
    put_prd(s, 1, DATA_BUF + 4096, 6144, true);
    qtest_outb(s, BMDMA_BASE + 8 + BM_CMD, 0);
    qtest_outl(s, BMDMA_BASE + 8 + BM_PRD, PRD_TABLE);
    qtest_outb(s, BMDMA_BASE + 8 + BM_CMD, 0x08);
    cd_packet(s, read12, 0, true);
    qtest_outb(s, BMDMA_BASE + 8 + BM_CMD, 0x09);
    wait_not_busy(s, 0x376);
    g_assert_cmphex(qtest_inb(s, BMDMA_BASE + 8 + BM_STATUS), ==, BM_ST_INTR);
    g_assert_true(qtest_get_irq(s, 15));
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    qtest_memread(s, DATA_BUF, buf, 5 * 2048);
    g_assert_cmpmem(buf, 5 * 2048, want, 5 * 2048);
    /* past the end of the medium */
    cd_packet(s, read_oob, 0xfffe, false);
    cd_expect_check(s, 5, 0x21);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_atapi_eject(void)
{
    Fixture f;
    QTestState *s;
    uint8_t buf[64];
    uint8_t key, asc;
    const uint8_t tur[12] = { 0x00 };
    const uint8_t eject[12] = { 0x1b, 0, 0, 0, 0x02 };
    const uint8_t load[12] = { 0x1b, 0, 0, 0, 0x03 };
    const uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
    const uint8_t unlock[12] = { 0x1e, 0, 0, 0, 0 };
    const uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };

    fixture_init(&f);
    s = start("-cdrom %s", f.iso);
    /* locked: eject refused (medium removal prevented) */
    cd_packet(s, lock, 0, false);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    cd_packet(s, eject, 0, false);
    cd_expect_check(s, 2, 0x53);
    cd_packet(s, unlock, 0, false);
    cd_packet(s, eject, 0, false);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    /* tray open: NOT READY, medium not present */
    cd_packet(s, tur, 0, false);
    cd_expect_check(s, 2, 0x3a);
    g_assert_cmpuint(cd_cmd_in(s, gesn, buf, sizeof(buf)), ==, 8);
    g_assert_cmphex(buf[5], ==, 1);          /* door open, no medium */
    /* closing the tray is a media change: one UNIT ATTENTION */
    cd_packet(s, load, 0, false);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpuint(cd_cmd_in(s, gesn, buf, sizeof(buf)), ==, 8);
    g_assert_cmphex(buf[4], ==, 2);          /* NewMedia */
    g_assert_cmphex(buf[5], ==, 2);
    cd_packet(s, tur, 0, false);
    cd_expect_check(s, 6, 0x28);
    cd_packet(s, tur, 0, false);
    g_assert_cmphex(cd_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    cd_sense(s, &key, &asc);
    g_assert_cmphex(key, ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_empty_cdrom(void)
{
    QTestState *s;
    const uint8_t tur[12] = { 0x00 };
    const uint8_t capacity[12] = { 0x25 };

    /* without -nodefaults QEMU's pc has an empty CD-ROM at index 2 */
    s = start("-nodefaults -drive if=ide,index=2,media=cdrom");
    cd_packet(s, tur, 0, false);
    cd_expect_check(s, 2, 0x3a);
    cd_packet(s, capacity, 0xfffe, false);
    cd_expect_check(s, 2, 0x3a);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Every way to attach a drive lands where QEMU puts it. */
static void test_cli_placement(void)
{
    Fixture f;
    QTestState *s;
    g_autofree char *disk2 = NULL;

    fixture_init(&f);
    /* one image for two writable disks: the image lock refuses it, as
     * QEMU's does (tests/qmp/test_image_locking.py has the rest) */
    disk2 = make_raw(f.dir, "disk2.raw", DISK_SECTORS * 512, 2);
    /* a bare image is -hda; -hdb the primary slave; -cdrom index 2;
     * ide-cd without a drive an empty CD-ROM on the secondary slave */
    s = start("%s -hdb %s -cdrom %s -device ide-cd,bus=ide.1,unit=1",
              f.disk, disk2, f.iso);
    ide_out(s, REG_SELECT, 0xa0);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    ide_out(s, REG_SELECT, 0xb0);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    cd_out(s, REG_SELECT, 0xa0);
    g_assert_cmphex(cd_in(s, REG_HCYL), ==, 0xeb);
    cd_out(s, REG_SELECT, 0xb0);
    g_assert_cmphex(cd_in(s, REG_HCYL), ==, 0xeb);
    g_assert_cmpint(qtest_quit(s), ==, 0);

    /* -device ide-hd without bus/unit takes the first free unit */
    s = start("-hda %s -drive file=%s,if=none,id=x -device ide-hd,drive=x",
              f.disk, disk2);
    ide_out(s, REG_SELECT, 0xb0);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(qtest_inb(s, 0x177), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_unlink(disk2);
    fixture_free(&f);
}

/* bootindex puts the drive's firmware path into the bootorder file. */
static void test_bootindex(void)
{
    Fixture f;
    QTestState *s;
    g_autofree char *order = NULL;

    fixture_init(&f);
    s = start("-drive file=%s,if=none,id=d -drive file=%s,if=none,id=c,"
              "media=cdrom -device ide-hd,drive=d,bus=ide.0,unit=1,"
              "bootindex=2 -device ide-cd,drive=c,bus=ide.1,unit=0,"
              "bootindex=1", f.disk, f.iso);
    order = qtest_fw_cfg_file(s, "bootorder");
    g_assert_nonnull(order);
    g_assert_cmpstr(order, ==, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n"
                    "/pci@i0cf8/ide@1,1/drive@0/disk@1");
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static uint8_t cmos(QTestState *s, uint8_t idx)
{
    qtest_outb(s, 0x70, idx);
    return qtest_inb(s, 0x71);
}

/* The CMOS disk bytes QEMU's pc fills for the BIOS. */
static void test_cmos(void)
{
    Fixture f;
    QTestState *s;
    g_autofree char *big = NULL;
    FILE *fp;

    fixture_init(&f);
    big = g_build_filename(f.dir, "big.raw", NULL);
    fp = fopen(big, "w");
    g_assert_nonnull(fp);
    g_assert_cmpint(ftruncate(fileno(fp), 1 << 30), ==, 0);   /* sparse */
    fclose(fp);
    /* 1 MiB primary master, 1 GiB primary slave via -device, CD-ROM */
    s = start("-hda %s -drive file=%s,format=raw,if=none,id=b "
              "-device ide-hd,drive=b,bus=ide.0,unit=1 -cdrom %s",
              f.disk, big, f.iso);
    g_assert_cmphex(cmos(s, 0x12), ==, 0xff);
    g_assert_cmpuint(cmos(s, 0x19), ==, 47);
    g_assert_cmpuint(cmos(s, 0x1a), ==, 47);
    /* master: 2048 sectors = 2 cylinders of 16 x 63 */
    g_assert_cmpuint(cmos(s, 0x1b) | cmos(s, 0x1c) << 8, ==, 2);
    g_assert_cmpuint(cmos(s, 0x1d), ==, 16);
    g_assert_cmphex(cmos(s, 0x20), ==, 0xc8);
    g_assert_cmpuint(cmos(s, 0x23), ==, 63);
    /* slave: 1 GiB = 2080 cylinders, so LBA translation (39h bits 3:2) */
    g_assert_cmpuint(cmos(s, 0x24) | cmos(s, 0x25) << 8, ==, 2080);
    g_assert_cmphex(cmos(s, 0x39), ==, 0x04);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_unlink(big);
    fixture_free(&f);
}

/* ---- asynchronous I/O and I/O limits ----------------------------------- */

/* A disk on ide.0 with I/O limits @limits, and a QMP socket. */
static QTestState *start_limited(Fixture *f, const char *limits,
                                 QMPConn **qmp)
{
    g_autofree char *sock = g_build_filename(f->dir, "qmp.sock", NULL);
    QTestState *s = start("-drive file=%s,format=raw,if=none,id=d0,%s "
                          "-device ide-hd,drive=d0,bus=ide.0,unit=0 "
                          "-qmp unix:%s,server=on,wait=off", f->disk, limits,
                          sock);

    *qmp = qmp_connect(sock);
    unlink(sock);
    return s;
}

/* READ SECTORS of sector @lba, without waiting for the drive. */
static void pio_read_start(QTestState *s, uint32_t lba)
{
    ide_lba28(s, 0, lba, 1);
    qtest_outb(s, IDE_BASE + REG_COMMAND, 0x20);
}

/* The one sector a PIO read brought equals the image's sector @lba. */
static void pio_read_check(QTestState *s, Fixture *f, uint32_t lba)
{
    g_autofree uint8_t *want = qtest_file_range(f->disk, lba * 512, 512);
    uint8_t buf[512];

    wait_not_busy(s, IDE_CTL);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_read(s, buf, sizeof(buf));
    g_assert_cmpmem(buf, sizeof(buf), want, 512);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
}

/*
 * I/O limits slow an IDE disk: at iops-total=20, 6 PIO and 6 DMA reads
 * take at least ~0.45 s (checked as >= 0.35 s: a lower bound, which a
 * loaded host can only raise).
 */
static void test_io_limits(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    g_autofree uint8_t *want = NULL;
    uint8_t buf[512];
    gint64 t0;
    double secs;

    fixture_init(&f);
    s = start_limited(&f, "throttling.iops-total=20", &qmp);
    enable_bm(s);
    t0 = g_get_monotonic_time();
    for (uint32_t i = 0; i < 6; i++) {
        pio_read_start(s, 30 + i);
        pio_read_check(s, &f, 30 + i);
    }
    want = qtest_file_range(f.disk, 60 * 512, 6 * 512);
    for (uint32_t i = 0; i < 6; i++) {
        put_prd(s, 0, DATA_BUF, 512, true);
        ide_lba28(s, 0, 60 + i, 1);
        g_assert_cmphex(dma_cmd(s, 0xc8, true), ==, BM_ST_INTR);
        qtest_memread(s, DATA_BUF, buf, 512);
        g_assert_cmpmem(buf, 512, want + i * 512, 512);
    }
    secs = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("12 IDE reads at iops=20: %.2f s", secs);
    g_assert_cmpfloat(secs, >=, 0.35);
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/*
 * A request waiting for the disk: held by iops-total=1 (the first read
 * fills the bucket, the next waits about a second).  The register write
 * returned at once and the drive shows BSY, while QMP answers and a
 * command the guest issues again is ignored; 'stop' drains it (the data
 * is there, with the interrupt, in the paused VM); SRST and a machine
 * reset while one waits leave the drive busy until it is back, then
 * reset, and it works again.
 */
static void test_in_flight(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    char *r;

    fixture_init(&f);
    s = start_limited(&f, "throttling.iops-total=1", &qmp);
    pio_read_start(s, 5);
    pio_read_check(s, &f, 5);
    pio_read_start(s, 6);
    g_assert_cmphex(qtest_inb(s, IDE_CTL) & (ST_BSY | ST_DRQ), ==, ST_BSY);
    r = qmp_cmd(qmp, "{\"execute\":\"query-status\"}");
    g_assert_nonnull(strstr(r, "\"running\""));
    g_free(r);
    /* IDENTIFY while busy: ignored */
    qtest_outb(s, IDE_BASE + REG_COMMAND, 0xec);
    g_assert_cmphex(qtest_inb(s, IDE_CTL) & ST_BSY, ==, ST_BSY);
    /* stop drains: the read is done, with its interrupt */
    qmp_assert_ok(qmp, "{\"execute\":\"stop\"}");
    g_assert_cmphex(qtest_inb(s, IDE_CTL), ==, ST_DRDY | ST_DSC | ST_DRQ);
    g_assert_true(qtest_get_irq(s, 14));
    r = qmp_cmd(qmp, "{\"execute\":\"query-status\"}");
    g_assert_nonnull(strstr(r, "\"paused\""));
    g_free(r);
    qmp_assert_ok(qmp, "{\"execute\":\"cont\"}");
    pio_read_check(s, &f, 6);

    /* SRST while a read waits: busy until it is back, then the reset */
    pio_read_start(s, 7);
    g_assert_cmphex(qtest_inb(s, IDE_CTL) & ST_BSY, ==, ST_BSY);
    qtest_outb(s, IDE_CTL, 0x04);
    qtest_outb(s, IDE_CTL, 0x00);
    g_assert_cmphex(qtest_inb(s, IDE_CTL) & ST_BSY, ==, ST_BSY);
    wait_not_busy(s, IDE_CTL);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(ide_in(s, REG_NSECTOR), ==, 1);
    g_assert_cmphex(ide_in(s, REG_SECTOR), ==, 1);
    pio_read_start(s, 8);
    pio_read_check(s, &f, 8);

    /* a machine reset while a read waits */
    pio_read_start(s, 9);
    g_assert_cmphex(qtest_inb(s, IDE_CTL) & ST_BSY, ==, ST_BSY);
    qmp_assert_ok(qmp, "{\"execute\":\"system_reset\"}");
    wait_not_busy(s, IDE_CTL);
    g_assert_cmphex(ide_in(s, REG_STATUS), ==, ST_DRDY | ST_DSC);
    qmp_assert_ok(qmp, "{\"execute\":\"block_set_io_throttle\","
                  "\"arguments\":{\"device\":\"d0\",\"bps\":0,\"bps_rd\":0,"
                  "\"bps_wr\":0,\"iops\":0,\"iops_rd\":0,\"iops_wr\":0}}");
    pio_read_start(s, 10);
    pio_read_check(s, &f, 10);
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ide/pci-function", test_pci_function);
    g_test_add_func("/ide/identify", test_identify);
    g_test_add_func("/ide/pio/read-write", test_pio_read_write);
    g_test_add_func("/ide/pio/multiple", test_pio_multiple);
    g_test_add_func("/ide/lba48-and-errors", test_lba48_and_errors);
    g_test_add_func("/ide/read-only", test_read_only);
    g_test_add_func("/ide/dma/read-write", test_dma_read_write);
    g_test_add_func("/ide/dma/errors", test_dma_errors);
    g_test_add_func("/ide/qcow2", test_qcow2);
    g_test_add_func("/ide/atapi/basics", test_atapi_basics);
    g_test_add_func("/ide/atapi/read", test_atapi_read);
    g_test_add_func("/ide/atapi/eject", test_atapi_eject);
    g_test_add_func("/ide/atapi/empty", test_empty_cdrom);
    g_test_add_func("/ide/cli-placement", test_cli_placement);
    g_test_add_func("/ide/bootindex", test_bootindex);
    g_test_add_func("/ide/cmos", test_cmos);
    g_test_add_func("/ide/io-limits", test_io_limits);
    g_test_add_func("/ide/in-flight", test_in_flight);
    return g_test_run();
}
