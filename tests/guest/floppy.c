/*
 * floppy: the ISA floppy controller and the 8237 driven from inside a
 * guest (CPL 3, polled), against an image whose content the host knows.
 *
 *   tests/guest/run-floppy-test.py makes a.img (1.44 MB of the test
 *   stream, byte i = testdata byte i) and attaches it as floppy A:
 *   (-drive if=floppy,index=0).  Then, here:
 *   - DOR reset and the four polling SENSE INTERRUPT STATUS answers;
 *   - SPECIFY, 500 kbps, RECALIBRATE (the disk-change line clears),
 *     SEEK to cylinder 1 with IRQ 6 latched in the 8259's IRR;
 *   - READ ID on cylinder 1;
 *   - READ DATA of 1/0/1-4 by DMA (channel 2, single mode, to memory)
 *     against the stream, with the 8237's terminal count;
 *   - WRITE DATA of 1/1/10-12 by DMA from a pattern, read back by DMA;
 *   - non-DMA mode: READ DATA of 1/0/18 through the FIFO (ends at EOT
 *     with EN, no TC without DMA).
 *   The runner then checks 1/1/10-12 in a.img on the host for the same
 *   pattern, and that nothing else changed.
 */
#include "guest.h"

#define FDC_DOR         0x3f2
#define FDC_MSR         0x3f4
#define FDC_FIFO        0x3f5
#define FDC_DIR         0x3f7
#define FDC_CCR         0x3f7
#define MSR_RQM         0x80
#define MSR_DIO         0x40
#define MSR_NDMA        0x20

#define DMA1_STATUS     0x08
#define DMA1_MASK       0x0a
#define DMA1_MODE       0x0b
#define DMA1_CLEAR_FF   0x0c
#define DMA2_ADDR       0x04
#define DMA2_COUNT      0x05
#define DMA2_PAGE       0x81
#define DMA_MODE_TO_MEM     0x46    /* single, write transfer, channel 2 */
#define DMA_MODE_FROM_MEM   0x4a    /* single, read transfer, channel 2 */

#define SECTOR          512
#define SPT             18
#define POLL_LIMIT      10000000L

/* 8 KiB aligned to 8 KiB never crosses a 64 KiB DMA page. */
static uint8_t dma_buf[8192] __attribute__((aligned(8192)));
static uint8_t buf2[8192];

static size_t lba_of(unsigned c, unsigned h, unsigned r)
{
    return (c * 2 + h) * SPT + r - 1;
}

/* The byte the host (run-floppy-test.py) expects in written sector @lba. */
static uint8_t pattern(size_t lba, unsigned i)
{
    return (uint8_t)((lba * 31 + i) ^ 0xa5);
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

static bool wait_msr(uint8_t mask, uint8_t want)
{
    for (long i = 0; i < POLL_LIMIT; i++) {
        if ((inb(FDC_MSR) & mask) == want) {
            return true;
        }
    }
    report_info("MSR %#x, waited for %#x/%#x", inb(FDC_MSR), want, mask);
    return false;
}

static bool fdc_out(const uint8_t *bytes, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!wait_msr(MSR_RQM | MSR_DIO, MSR_RQM)) {
            return false;
        }
        outb(FDC_FIFO, bytes[i]);
    }
    return true;
}

static bool fdc_in(uint8_t *out, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!wait_msr(MSR_RQM | MSR_DIO | MSR_NDMA, MSR_RQM | MSR_DIO)) {
            return false;
        }
        out[i] = inb(FDC_FIFO);
    }
    return true;
}

static bool sense_int(uint8_t *st0, uint8_t *pcn)
{
    uint8_t cmd = 0x08, r[2];

    if (!fdc_out(&cmd, 1) || !fdc_in(r, 2)) {
        return false;
    }
    *st0 = r[0];
    *pcn = r[1];
    return true;
}

static void dma_setup(uint8_t mode, const void *addr, unsigned len)
{
    uintptr_t a = (uintptr_t)addr;

    outb(DMA1_MASK, 0x04 | 2);
    outb(DMA1_CLEAR_FF, 0);
    outb(DMA1_MODE, mode);
    outb(DMA2_ADDR, a);
    outb(DMA2_ADDR, a >> 8);
    outb(DMA2_PAGE, a >> 16);
    outb(DMA2_COUNT, (len - 1) & 0xff);
    outb(DMA2_COUNT, (len - 1) >> 8);
    outb(DMA1_MASK, 2);
}

/* READ/WRITE DATA on drive 0; the seven result bytes in res. */
static bool fdc_rw(uint8_t op, unsigned c, unsigned h, unsigned r,
                   unsigned eot, uint8_t res[7])
{
    uint8_t cmd[9] = { op, h << 2, c, h, r, 2, eot, 0x1b, 0xff };

    return fdc_out(cmd, 9) && fdc_in(res, 7);
}

static uint8_t pic_irr(void)
{
    outb(0x20, 0x0a);       /* OCW3: read IRR */
    return inb(0x20);
}

static void test_reset(void)
{
    bool ok = true;

    outb(FDC_DOR, 0x00);
    udelay(10);
    outb(FDC_DOR, 0x1c);    /* motor A, DMA and INT, out of reset */
    for (unsigned d = 0; d < 4 && ok; d++) {
        uint8_t st0 = 0, pcn = 0;
        ok = sense_int(&st0, &pcn) && st0 == (0xc0 | d);
        if (!ok) {
            report_info("polling status %u: ST0 %#x", d, st0);
        }
    }
    report(ok, "reset: four polling SENSE INTERRUPT STATUS answers");
}

static void test_recal_seek(void)
{
    uint8_t specify[3] = { 0x03, 0xdf, 0x02 };
    uint8_t recal[2] = { 0x07, 0x00 };
    uint8_t seek[3] = { 0x0f, 0x00, 1 };
    uint8_t st0 = 0, pcn = 0xff;
    bool irr;

    report((inb(FDC_DIR) & 0x80) == 0x80, "disk change active at power-on");
    outb(FDC_CCR, 0x00);
    report(fdc_out(specify, 3), "SPECIFY (DMA mode)");
    report(fdc_out(recal, 2) && sense_int(&st0, &pcn) && st0 == 0x20 &&
           pcn == 0, "RECALIBRATE: ST0 %#x PCN %u", st0, pcn);
    report((inb(FDC_DIR) & 0x80) == 0, "disk change cleared by the step");
    fdc_out(seek, 3);
    irr = pic_irr() & 0x40;
    report(sense_int(&st0, &pcn) && st0 == 0x20 && pcn == 1,
           "SEEK to 1: ST0 %#x PCN %u", st0, pcn);
    report(irr, "IRQ 6 seen by the 8259 (IRR)");
}

static void test_read_id(void)
{
    uint8_t cmd[2] = { 0x4a, 0x00 }, res[7] = { 0 };

    report(fdc_out(cmd, 2) && fdc_in(res, 7) && res[0] == 0 &&
           res[3] == 1 && res[4] == 0 && res[5] >= 1 && res[5] <= SPT &&
           res[6] == 2, "READ ID: ST0 %#x C %u H %u R %u N %u",
           res[0], res[3], res[4], res[5], res[6]);
}

static void test_read_dma(void)
{
    uint8_t res[7] = { 0 };

    memset(dma_buf, 0, sizeof(dma_buf));
    dma_setup(DMA_MODE_TO_MEM, dma_buf, 4 * SECTOR);
    report(fdc_rw(0x46, 1, 0, 1, SPT, res) && res[0] == 0 && res[1] == 0 &&
           res[5] == 5, "READ DATA 1/0/1-4 by DMA: ST0 %#x ST1 %#x R %u",
           res[0], res[1], res[5]);
    report(stream_at(dma_buf, lba_of(1, 0, 1) * SECTOR, 4 * SECTOR),
           "data matches the image");
    report((inb(DMA1_STATUS) & 0x04) == 0x04, "8237 terminal count on 2");
}

static void test_write_dma(void)
{
    uint8_t res[7] = { 0 };
    bool same = true;

    for (unsigned s = 0; s < 3; s++) {
        for (unsigned i = 0; i < SECTOR; i++) {
            dma_buf[s * SECTOR + i] = pattern(lba_of(1, 1, 10 + s), i);
        }
    }
    dma_setup(DMA_MODE_FROM_MEM, dma_buf, 3 * SECTOR);
    report(fdc_rw(0x45, 1, 1, 10, SPT, res) && res[0] == 0x04 &&
           res[1] == 0 && res[5] == 13,
           "WRITE DATA 1/1/10-12 by DMA: ST0 %#x ST1 %#x R %u",
           res[0], res[1], res[5]);
    memcpy(buf2, dma_buf, 3 * SECTOR);
    memset(dma_buf, 0, sizeof(dma_buf));
    dma_setup(DMA_MODE_TO_MEM, dma_buf, 3 * SECTOR);
    report(fdc_rw(0x46, 1, 1, 10, SPT, res) && res[0] == 0x04,
           "READ DATA 1/1/10-12 back: ST0 %#x", res[0]);
    for (unsigned i = 0; i < 3 * SECTOR; i++) {
        same &= dma_buf[i] == buf2[i];
    }
    report(same, "read back what was written");
}

static void test_pio_read(void)
{
    uint8_t specify[3] = { 0x03, 0xdf, 0x03 };
    uint8_t cmd[9] = { 0x46, 0x00, 1, 0, SPT, 2, SPT, 0x1b, 0xff };
    uint8_t res[7] = { 0 };
    unsigned got = 0;

    fdc_out(specify, 3);
    fdc_out(cmd, 9);
    while (got < SECTOR &&
           wait_msr(MSR_RQM | MSR_DIO | MSR_NDMA,
                    MSR_RQM | MSR_DIO | MSR_NDMA)) {
        buf2[got++] = inb(FDC_FIFO);
    }
    report(got == SECTOR, "non-DMA: %u bytes through the FIFO", got);
    report(stream_at(buf2, lba_of(1, 0, SPT) * SECTOR, SECTOR),
           "non-DMA data matches the image");
    report(fdc_in(res, 7) && res[0] == 0x40 && res[1] == 0x80 &&
           res[3] == 2 && res[5] == 1,
           "ends at EOT with EN: ST0 %#x ST1 %#x C %u R %u",
           res[0], res[1], res[3], res[5]);
}

int main(void)
{
    report_prefix("floppy");
    test_reset();
    test_recal_seek();
    test_read_id();
    test_read_dma();
    test_write_dma();
    test_pio_read();
    report_summary();
}
