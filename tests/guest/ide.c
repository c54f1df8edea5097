/*
 * ide: the PIIX3 IDE function driven from inside a guest (CPL 3, polled,
 * nIEN set), against images whose content the host knows.
 *
 *   tests/guest/run-ide-test.py makes the images (disk.raw: 1 MiB and
 *   cd.iso: 256 KiB of the test stream, byte i = testdata byte i) and
 *   attaches them as ide0-hd0 (-drive index=0) and ide1-cd0 (index=2).
 *   Then, here:
 *   - PCI: 01.1 is 8086:7010, class 01/01/80; BAR4 programmed to 0xc000,
 *     I/O and bus mastering on (no firmware ran);
 *   - IDENTIFY DEVICE: model, 2048 sectors (LBA28 and LBA48 words);
 *   - PIO READ SECTORS of 0-7 against the stream;
 *   - PIO WRITE SECTORS 1000-1003 with a pattern, read back by READ DMA;
 *   - WRITE DMA EXT 1004-1011, read back by READ SECTORS EXT;
 *   - READ DMA of 100-131 through two PRDs against the stream;
 *   - ATAPI: TEST UNIT READY, READ(10) of blocks 3-4 in PIO and 10-13
 *     through the bus master, against the stream.
 *   The runner then checks sectors 1000-1011 of disk.raw on the host for
 *   the same pattern, and that nothing else changed.
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define IDE_DEVFN_DEV   1
#define IDE_DEVFN_FN    1
#define BM_BASE         0xc000

#define IDE0            0x1f0
#define IDE0_CTL        0x3f6
#define IDE1            0x170
#define IDE1_CTL        0x376
#define REG_DATA        0
#define REG_FEATURE     1
#define REG_ERROR       1
#define REG_NSECTOR     2
#define REG_LBA0        3
#define REG_LBA1        4
#define REG_LBA2        5
#define REG_SELECT      6
#define REG_STATUS      7
#define REG_COMMAND     7

#define ST_BSY  0x80
#define ST_DRQ  0x08
#define ST_ERR  0x01

#define DISK_SECTORS    2048
#define PIO_LBA         1000
#define DMA_LBA         1004

static uint8_t prd_table[64] __attribute__((aligned(64)));
static uint8_t dma_buf[32 * 512] __attribute__((aligned(4096)));
static uint8_t buf[32 * 512];

static uint32_t pci_read32(unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | IDE_DEVFN_DEV << 11 | IDE_DEVFN_FN << 8 | off);
    return inl(PCI_DATA);
}

static void pci_write32(unsigned off, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | IDE_DEVFN_DEV << 11 | IDE_DEVFN_FN << 8 | off);
    outl(PCI_DATA, v);
}

/* The byte the host (run-ide-test.py) expects in written sector @lba. */
static uint8_t pattern(uint32_t lba, uint32_t i)
{
    return (uint8_t)((lba * 31 + i) ^ 0x5a);
}

static bool stream_at(const uint8_t *p, size_t off, size_t len)
{
    struct testdata t;

    testdata_init(&t);
    for (size_t i = 0; i < off; i++) {
        testdata_next(&t);
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] != testdata_next(&t)) {
            report_info("stream mismatch at byte %zu", off + i);
            return false;
        }
    }
    return true;
}

static uint8_t wait_ready(uint16_t base)
{
    uint8_t st = 0;

    for (long i = 0; i < 10000000; i++) {
        st = inb(base + REG_STATUS);
        if (!(st & ST_BSY)) {
            break;
        }
    }
    return st;
}

static void lba28(uint16_t base, uint32_t lba, uint8_t count)
{
    outb(base + REG_SELECT, 0xe0 | ((lba >> 24) & 0x0f));
    outb(base + REG_NSECTOR, count);
    outb(base + REG_LBA0, lba);
    outb(base + REG_LBA1, lba >> 8);
    outb(base + REG_LBA2, lba >> 16);
}

static void lba48(uint16_t base, uint64_t lba, uint16_t count)
{
    outb(base + REG_SELECT, 0x40);
    outb(base + REG_NSECTOR, count >> 8);
    outb(base + REG_LBA0, lba >> 24);
    outb(base + REG_LBA1, lba >> 32);
    outb(base + REG_LBA2, lba >> 40);
    outb(base + REG_NSECTOR, count);
    outb(base + REG_LBA0, lba);
    outb(base + REG_LBA1, lba >> 8);
    outb(base + REG_LBA2, lba >> 16);
}

/* PIO data-in of @n sectors, one DRQ block each. */
static bool pio_in(uint16_t base, uint8_t *p, unsigned n)
{
    for (unsigned s = 0; s < n; s++) {
        uint8_t st = wait_ready(base);
        if ((st & (ST_DRQ | ST_ERR)) != ST_DRQ) {
            report_info("PIO in: status %#x", st);
            return false;
        }
        for (int i = 0; i < 256; i++) {
            uint16_t w = inw(base + REG_DATA);
            p[s * 512 + 2 * i] = w;
            p[s * 512 + 2 * i + 1] = w >> 8;
        }
    }
    return !(wait_ready(base) & (ST_ERR | ST_DRQ));
}

static bool pio_out(uint16_t base, const uint8_t *p, unsigned n)
{
    for (unsigned s = 0; s < n; s++) {
        uint8_t st = wait_ready(base);
        if ((st & (ST_DRQ | ST_ERR)) != ST_DRQ) {
            report_info("PIO out: status %#x", st);
            return false;
        }
        for (int i = 0; i < 256; i++) {
            outw(base + REG_DATA, p[s * 512 + 2 * i] |
                 p[s * 512 + 2 * i + 1] << 8);
        }
    }
    return !(wait_ready(base) & (ST_ERR | ST_DRQ));
}

static void set_prd(int i, void *addr, uint32_t len, bool eot)
{
    uint32_t a = (uint32_t)(uintptr_t)addr;
    uint32_t l = (len & 0xffff) | (eot ? 0x80000000u : 0);

    memcpy(prd_table + 8 * i, &a, 4);
    memcpy(prd_table + 8 * i + 4, &l, 4);
}

/* Issue @cmd on the channel whose bus master registers are at @bm. */
static bool dma_run(uint16_t base, uint16_t bm, uint8_t cmd, bool to_mem,
                    bool packet, const uint8_t *cdb)
{
    uint8_t dir = to_mem ? 0x08 : 0;
    uint8_t st, bst;

    outb(bm, 0);
    outb(bm + 2, 0x06);                     /* clear INTR, ERROR */
    outl(bm + 4, (uint32_t)(uintptr_t)prd_table);
    outb(bm, dir);
    outb(base + REG_COMMAND, cmd);
    if (packet) {
        st = wait_ready(base);
        if (!(st & ST_DRQ)) {
            return false;
        }
        for (int i = 0; i < 12; i += 2) {
            outw(base + REG_DATA, cdb[i] | cdb[i + 1] << 8);
        }
    }
    outb(bm, dir | 1);
    /*
     * Wait for Active to clear: the Interrupt bit follows the drive's
     * INTRQ, which nIEN (set: we poll) keeps quiet (SFF-8038i; QEMU and
     * kvmpc agree), so it never rises here.
     */
    for (long i = 0; i < 1000000; i++) {
        if (!(inb(bm + 2) & 0x01)) {
            break;
        }
    }
    bst = inb(bm + 2);
    outb(bm, 0);
    st = wait_ready(base);
    if ((bst & 0x03) || (st & (ST_ERR | ST_DRQ))) {
        report_info("DMA %#x: bus master status %#x, drive status %#x",
                    cmd, bst, st);
        return false;
    }
    return true;
}

static void test_pci(void)
{
    uint32_t id = pci_read32(0), cls = pci_read32(8);

    report(id == 0x70108086, "01.1 is 8086:7010 (%08x)", id);
    report((cls >> 8) == 0x010180, "class 01/01/80 (%06x)", cls >> 8);
    pci_write32(0x20, BM_BASE | 1);
    report((pci_read32(0x20) & ~3u) == BM_BASE, "BAR4 at %#x", BM_BASE);
    pci_write32(0x04, 0x05);                /* I/O, bus master */
}

static void test_identify(void)
{
    uint16_t w[256];
    char model[41];

    outb(IDE0_CTL, 0x02);                   /* nIEN: we poll */
    outb(IDE0 + REG_SELECT, 0xa0);
    outb(IDE0 + REG_COMMAND, 0xec);
    report(pio_in(IDE0, buf, 1), "IDENTIFY DEVICE");
    memcpy(w, buf, 512);
    for (int i = 0; i < 20; i++) {
        model[2 * i] = w[27 + i] >> 8;
        model[2 * i + 1] = w[27 + i];
    }
    model[40] = 0;
    report(!strncmp(model, "QEMU HARDDISK", 13), "model '%.13s'", model);
    report((w[60] | (uint32_t)w[61] << 16) == DISK_SECTORS &&
           (w[100] | (uint32_t)w[101] << 16) == DISK_SECTORS,
           "capacity %u sectors", DISK_SECTORS);
    report(w[83] & (1 << 10), "LBA48 supported");
}

static void test_disk(void)
{
    lba28(IDE0, 0, 8);
    outb(IDE0 + REG_COMMAND, 0x20);
    report(pio_in(IDE0, buf, 8) && stream_at(buf, 0, 8 * 512),
           "PIO READ SECTORS 0-7 = image");

    for (uint32_t i = 0; i < 4 * 512; i++) {
        buf[i] = pattern(PIO_LBA + i / 512, i % 512);
    }
    lba28(IDE0, PIO_LBA, 4);
    outb(IDE0 + REG_COMMAND, 0x30);
    report(pio_out(IDE0, buf, 4), "PIO WRITE SECTORS %u-%u", PIO_LBA,
           PIO_LBA + 3);
    memset(dma_buf, 0, 4 * 512);
    set_prd(0, dma_buf, 4 * 512, true);
    lba28(IDE0, PIO_LBA, 4);
    report(dma_run(IDE0, BM_BASE, 0xc8, true, false, NULL) &&
           !memcmp(dma_buf, buf, 4 * 512), "READ DMA returns what PIO wrote");

    for (uint32_t i = 0; i < 8 * 512; i++) {
        dma_buf[i] = pattern(DMA_LBA + i / 512, i % 512);
    }
    set_prd(0, dma_buf, 8 * 512, true);
    lba48(IDE0, DMA_LBA, 8);
    report(dma_run(IDE0, BM_BASE, 0x35, false, false, NULL),
           "WRITE DMA EXT %u-%u", DMA_LBA, DMA_LBA + 7);
    lba48(IDE0, DMA_LBA, 8);
    outb(IDE0 + REG_COMMAND, 0x24);
    report(pio_in(IDE0, buf, 8) && !memcmp(buf, dma_buf, 8 * 512),
           "READ SECTORS EXT returns what DMA wrote");
    outb(IDE0 + REG_COMMAND, 0xe7);
    report(!(wait_ready(IDE0) & ST_ERR), "FLUSH CACHE");

    set_prd(0, dma_buf, 12 * 512, false);
    set_prd(1, dma_buf + 12 * 512, 20 * 512, true);
    lba28(IDE0, 100, 32);
    report(dma_run(IDE0, BM_BASE, 0xc8, true, false, NULL) &&
           stream_at(dma_buf, 100 * 512, 32 * 512),
           "READ DMA 100-131 through two PRDs = image");
}

static bool atapi_pio(const uint8_t *cdb, uint8_t *p, size_t want)
{
    size_t got = 0;
    uint8_t st;

    outb(IDE1 + REG_SELECT, 0xa0);
    outb(IDE1 + REG_FEATURE, 0);
    outb(IDE1 + REG_LBA1, 0x00);
    outb(IDE1 + REG_LBA2, 0x10);            /* byte count limit 4096 */
    outb(IDE1 + REG_COMMAND, 0xa0);
    if (!(wait_ready(IDE1) & ST_DRQ)) {
        return false;
    }
    for (int i = 0; i < 12; i += 2) {
        outw(IDE1 + REG_DATA, cdb[i] | cdb[i + 1] << 8);
    }
    while ((st = wait_ready(IDE1)) & ST_DRQ) {
        size_t n = inb(IDE1 + REG_LBA1) | inb(IDE1 + REG_LBA2) << 8;
        if (got + n > want) {
            return false;
        }
        for (size_t i = 0; i < n; i += 2) {
            uint16_t w = inw(IDE1 + REG_DATA);
            p[got + i] = w;
            p[got + i + 1] = w >> 8;
        }
        got += n;
    }
    return !(st & ST_ERR) && got == want;
}

static void test_atapi(void)
{
    const uint8_t tur[12] = { 0x00 };
    const uint8_t read_pio[12] = { 0x28, 0, 0, 0, 0, 3, 0, 0, 2 };
    const uint8_t read_dma[12] = { 0x28, 0, 0, 0, 0, 10, 0, 0, 4 };

    outb(IDE1_CTL, 0x02);
    report(inb(IDE1 + REG_LBA1) == 0x14 && inb(IDE1 + REG_LBA2) == 0xeb,
           "ATAPI signature on ide1 master");
    report(atapi_pio(tur, buf, 0), "TEST UNIT READY");
    report(atapi_pio(read_pio, buf, 2 * 2048) &&
           stream_at(buf, 3 * 2048, 2 * 2048), "READ(10) PIO blocks 3-4");
    set_prd(0, dma_buf, 4 * 2048, true);
    outb(IDE1 + REG_SELECT, 0xa0);
    outb(IDE1 + REG_FEATURE, 1);            /* DMA */
    report(dma_run(IDE1, BM_BASE + 8, 0xa0, true, true, read_dma) &&
           stream_at(dma_buf, 10 * 2048, 4 * 2048),
           "READ(10) DMA blocks 10-13");
}

int main(void)
{
    report_prefix("ide");
    test_pci();
    test_identify();
    test_disk();
    test_atapi();
    report_summary();
}
