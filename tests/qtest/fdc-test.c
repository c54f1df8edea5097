/*
 * The ISA floppy controller (Intel 82078 registers and commands) at
 * 0x3f0, IRQ 6, DMA 2: reset and its polling interrupts, SENSE
 * INTERRUPT STATUS, RECALIBRATE/SEEK, READ and WRITE DATA by DMA and in
 * non-DMA mode with the data checked against the image file on both
 * sides, multi-track, READ ID, FORMAT TRACK, VERIFY, the configuration
 * commands, invalid commands, read-only images, sectors outside the
 * medium, DMA counts shorter and longer than the transfer, the
 * disk-change line, the CMOS bytes and bootindex; the asynchronous
 * sector I/O (a request held by an I/O limit, drained by 'stop', orphaned
 * by a reset) and a medium ejected mid-transfer.
 */
#include <inttypes.h>
#include <stdint.h>
#include <unistd.h>
#include "fdc-util.h"
#include "libqvirtio.h"       /* the QMP connection helpers */

#define BUF         0x10000

typedef struct Fixture {
    char *dir;
    char *img;
} Fixture;

static void fixture_init(Fixture *f)
{
    f->dir = g_dir_make_tmp("fdc-test-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->img = fdc_make_image(f->dir, "a.img", FD_144_SIZE, 1);
}

static void fixture_free(Fixture *f)
{
    g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->img);
}

/* kvmpc with the image as floppy A:, IRQs watched. */
static QTestState *start_with(const char *img, const char *extra)
{
    QTestState *s = qtest_initf("-drive if=floppy,index=0,format=raw,"
                                "file=%s %s", img, extra ? extra : "");

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static void check_memory(QTestState *s, uint64_t addr, size_t img_off,
                         size_t len, uint8_t salt)
{
    g_autofree uint8_t *got = g_malloc(len);

    qtest_bufread(s, addr, got, len);
    for (size_t i = 0; i < len; i++) {
        if (got[i] != fdc_image_byte(img_off + i, salt)) {
            g_error("memory 0x%" PRIx64 " + %zu: 0x%02x, image byte %zu "
                    "is 0x%02x", addr, i, got[i], img_off + i,
                    fdc_image_byte(img_off + i, salt));
        }
    }
}

static void read_file_at(const char *path, size_t off, void *buf, size_t len)
{
    g_autofree char *data = NULL;
    gsize size;

    g_assert_true(g_file_get_contents(path, &data, &size, NULL));
    g_assert_cmpuint(off + len, <=, size);
    memcpy(buf, data + off, len);
}

/* ---- reset and interrupts ---- */

static void test_reset_sense(void)
{
    Fixture f;
    QTestState *s;
    uint8_t st0, pcn;

    fixture_init(&f);
    s = start_with(f.img, NULL);
    g_assert_cmphex(qtest_inb(s, FDC_DOR), ==, 0x0c);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_RQM);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    /* Power-on: no polling interrupt; SENSE INTERRUPT is invalid. */
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_INT }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x80);

    /* DOR reset: MSR reads 0 while held, INT after. */
    qtest_outb(s, FDC_DOR, 0x08);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, 0x00);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    qtest_outb(s, FDC_DOR, 0x0c);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    for (unsigned d = 0; d < 4; d++) {
        fdc_sense_int(s, &st0, &pcn);
        g_assert_cmphex(st0, ==, 0xc0 | d);
        g_assert_cmpuint(pcn, ==, 0);
        g_assert_false(qtest_get_irq(s, FDC_IRQ));
    }
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_INT }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x80);

    /* DSR software reset: the same, self-clearing.  SeaBIOS senses one
     * status, then recalibrates: the seek's status comes next. */
    qtest_outb(s, FDC_DSR, 0x80);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0xc0);
    fdc_cmd(s, (uint8_t[]){ CMD_RECAL, 0x00 }, 2);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x20);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_INT }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x80);

    /* DMAEN clear in the DOR gates INT off (PC-AT mode). */
    qtest_outb(s, FDC_DOR, 0x00);
    qtest_outb(s, FDC_DOR, 0x04);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    qtest_outb(s, FDC_DOR, 0x0c);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));

    /* Polling disabled (CONFIGURE POLL): no interrupt after a reset. */
    fdc_cmd(s, (uint8_t[]){ CMD_CONFIGURE, 0, 0x30, 0 }, 4);
    fdc_cmd(s, (uint8_t[]){ CMD_LOCK | 0x80 }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x10);
    qtest_outb(s, FDC_DSR, 0x80);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_INT }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x80);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* VERSION, PART ID, LOCK, CONFIGURE, PERPENDICULAR, SPECIFY, DUMPREG. */
static void test_config_commands(void)
{
    Fixture f;
    QTestState *s;
    uint8_t r[10];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    fdc_cmd(s, (uint8_t[]){ CMD_VERSION }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x90);
    fdc_cmd(s, (uint8_t[]){ CMD_PART_ID }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x41);
    fdc_cmd(s, (uint8_t[]){ CMD_SPECIFY, 0xaf, 0x02 }, 3);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_RQM);
    fdc_cmd(s, (uint8_t[]){ CMD_CONFIGURE, 0, 0x57, 0x09 }, 4);
    fdc_cmd(s, (uint8_t[]){ CMD_PERPEND, 0x80 | 0x14 | 0x03 }, 2);
    fdc_cmd(s, (uint8_t[]){ CMD_LOCK | 0x80 }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x10);
    fdc_seek(s, 0, 0, 7);
    fdc_cmd(s, (uint8_t[]){ CMD_DUMPREG }, 1);
    fdc_result(s, r, 10);
    g_assert_cmpuint(r[0], ==, 7);
    g_assert_cmpuint(r[1], ==, 0);
    g_assert_cmphex(r[4], ==, 0xaf);
    g_assert_cmphex(r[5], ==, 0x02);
    g_assert_cmphex(r[7], ==, 0x80 | 0x14 | 0x03);
    g_assert_cmphex(r[8], ==, 0x57);
    g_assert_cmphex(r[9], ==, 0x09);
    /* A software reset keeps what LOCK protects, clears GAP/WGATE. */
    qtest_outb(s, FDC_DSR, 0x80);
    fdc_cmd(s, (uint8_t[]){ CMD_DUMPREG }, 1);
    fdc_result(s, r, 10);
    g_assert_cmphex(r[7], ==, 0x80 | 0x14);
    g_assert_cmphex(r[8], ==, 0x57);
    /* Unlocked, the reset restores the defaults (EFIFO set). */
    fdc_cmd(s, (uint8_t[]){ CMD_LOCK }, 1);
    g_assert_cmphex(fdc_result1(s), ==, 0x00);
    qtest_outb(s, FDC_DSR, 0x80);
    fdc_cmd(s, (uint8_t[]){ CMD_DUMPREG }, 1);
    fdc_result(s, r, 10);
    g_assert_cmphex(r[8], ==, 0x20);
    g_assert_cmphex(r[9], ==, 0x00);
    /* Invalid commands: one result byte 80h, no interrupt. */
    {
        static const uint8_t invalid[] = {
            0x00, 0x01, 0x02, 0x0c, 0x11, 0x1f, 0xff,
        };
        for (unsigned i = 0; i < G_N_ELEMENTS(invalid); i++) {
            fdc_cmd(s, &invalid[i], 1);
            g_assert_cmphex(fdc_result1(s), ==, 0x80);
            g_assert_false(qtest_get_irq(s, FDC_IRQ));
        }
    }
    /* SENSE DRIVE STATUS: ST3 with track 0, head, ready. */
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_DRIVE, 0x04 }, 2);
    g_assert_cmphex(fdc_result1(s), ==, 0x20 | 0x08 | 0x04);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_recalibrate_seek(void)
{
    Fixture f;
    QTestState *s;
    uint8_t st0, pcn;

    fixture_init(&f);
    s = start_with(f.img, NULL);
    fdc_cmd(s, (uint8_t[]){ CMD_SEEK, 0x04, 10 }, 3);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_RQM | 0x01);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x24);
    g_assert_cmpuint(pcn, ==, 10);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    /* SENSE DRIVE STATUS: not on track 0 now. */
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_DRIVE, 0x00 }, 2);
    g_assert_cmphex(fdc_result1(s), ==, 0x28);
    /* Relative seeks: in by 5, out by 20 (stops at track 0). */
    fdc_cmd(s, (uint8_t[]){ 0x80 | 0x40 | CMD_SEEK, 0x00, 5 }, 3);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmpuint(pcn, ==, 15);
    fdc_cmd(s, (uint8_t[]){ 0x80 | CMD_SEEK, 0x00, 20 }, 3);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmpuint(pcn, ==, 0);
    fdc_seek(s, 0, 0, 30);
    fdc_cmd(s, (uint8_t[]){ CMD_RECAL, 0x00 }, 2);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x20);
    g_assert_cmpuint(pcn, ==, 0);
    /* No drive B: no track 0 signal, equipment check. */
    fdc_cmd(s, (uint8_t[]){ CMD_RECAL, 0x01 }, 2);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x71);
    /* Two seeks pending: reported one per SENSE INTERRUPT. */
    fdc_cmd(s, (uint8_t[]){ CMD_SEEK, 0x00, 3 }, 3);
    fdc_cmd(s, (uint8_t[]){ CMD_SEEK, 0x01, 4 }, 3);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_RQM | 0x03);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x20);
    g_assert_cmpuint(pcn, ==, 3);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x21);
    g_assert_cmpuint(pcn, ==, 4);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- data by DMA ---- */

static void test_read_dma(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    fdc_seek(s, 0, 1, 2);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 3 * FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 2, 1, 3, 18);
    fdc_wait_rqm(s);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_rw_result(s, res);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    g_assert_cmphex(res[0], ==, 0x04);
    g_assert_cmphex(res[1], ==, 0);
    g_assert_cmphex(res[2], ==, 0);
    g_assert_cmpuint(res[3], ==, 2);
    g_assert_cmpuint(res[4], ==, 1);
    g_assert_cmpuint(res[5], ==, 6);
    g_assert_cmpuint(res[6], ==, 2);
    check_memory(s, BUF, fdc_offset(2, 1, 3), 3 * FD_SECTOR, 1);
    /* TC masked the channel and shows in the status register. */
    g_assert_cmphex(qtest_inb(s, 0x08) & 0x04, ==, 0x04);
    g_assert_cmphex(qtest_inb(s, 0x0f) & 0x04, ==, 0x04);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_write_dma(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7], data[2 * FD_SECTOR], back[2 * FD_SECTOR];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 3 + 0x5a);
    }
    qtest_bufwrite(s, BUF, data, sizeof(data));
    fdc_seek(s, 0, 0, 40);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF,
                sizeof(data));
    fdc_rw(s, CMD_WRITE, 0, 40, 0, 9, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    g_assert_cmpuint(res[5], ==, 11);
    /* On the host: the file holds the bytes, its neighbours unchanged. */
    read_file_at(f.img, fdc_offset(40, 0, 9), back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), data, sizeof(data));
    read_file_at(f.img, fdc_offset(40, 0, 11), back, FD_SECTOR);
    for (unsigned i = 0; i < FD_SECTOR; i++) {
        g_assert_cmphex(back[i], ==,
                        fdc_image_byte(fdc_offset(40, 0, 11) + i, 1));
    }
    /* And back through the controller. */
    qtest_memset(s, BUF + 0x4000, 0, sizeof(data));
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF + 0x4000,
                sizeof(data));
    fdc_rw(s, CMD_READ, 0, 40, 0, 9, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    qtest_bufread(s, BUF + 0x4000, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), data, sizeof(data));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* MT: side 0's EOT goes on to side 1 of the same cylinder. */
static void test_multitrack(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    fdc_seek(s, 0, 0, 5);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 4 * FD_SECTOR);
    fdc_rw(s, CMD_MT | CMD_READ, 0, 5, 0, 17, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x04);      /* ended on head 1 */
    g_assert_cmpuint(res[3], ==, 5);
    g_assert_cmpuint(res[4], ==, 1);
    g_assert_cmpuint(res[5], ==, 3);
    check_memory(s, BUF, fdc_offset(5, 0, 17), 2 * FD_SECTOR, 1);
    check_memory(s, BUF + 2 * FD_SECTOR, fdc_offset(5, 1, 1),
                 2 * FD_SECTOR, 1);
    /* MT to the end of side 1: EN, the next cylinder reported. */
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 8 * FD_SECTOR);
    fdc_rw(s, CMD_MT | CMD_READ, 0, 5, 1, 17, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x44);
    g_assert_cmphex(res[1], ==, 0x80);
    g_assert_cmpuint(res[3], ==, 6);
    g_assert_cmpuint(res[4], ==, 0);
    g_assert_cmpuint(res[5], ==, 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* A DMA count longer than the sectors: EOT ends it with EN. */
static void test_dma_count_longer(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 4 * FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 0, 0, 17, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x40);
    g_assert_cmphex(res[1], ==, 0x80);
    g_assert_cmpuint(res[3], ==, 1);
    g_assert_cmpuint(res[5], ==, 1);
    check_memory(s, BUF, fdc_offset(0, 0, 17), 2 * FD_SECTOR, 1);
    /* Half the count left, no TC, channel still unmasked. */
    g_assert_cmphex(dma_read_reg(s, 2, true), ==, 2 * FD_SECTOR - 1);
    g_assert_cmphex(dma_read_reg(s, 2, false), ==,
                    (BUF + 2 * FD_SECTOR) & 0xffff);
    g_assert_cmphex(qtest_inb(s, 0x08) & 0x04, ==, 0);
    g_assert_cmphex(qtest_inb(s, 0x0f) & 0x04, ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* A DMA count shorter than a sector: TC ends it normally there. */
static void test_dma_count_shorter(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7], back[FD_SECTOR];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    qtest_memset(s, BUF, 0xee, 2 * FD_SECTOR);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 300);
    fdc_rw(s, CMD_READ, 0, 0, 0, 1, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    g_assert_cmpuint(res[5], ==, 2);
    check_memory(s, BUF, 0, 300, 1);
    g_assert_cmphex(qtest_readb(s, BUF + 300), ==, 0xee);
    /* A write cut short fills the rest of its sector with zeroes. */
    qtest_memset(s, BUF, 0x77, 100);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF, 100);
    fdc_rw(s, CMD_WRITE, 0, 0, 0, 4, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    g_assert_cmpuint(res[5], ==, 5);
    read_file_at(f.img, fdc_offset(0, 0, 4), back, FD_SECTOR);
    for (unsigned i = 0; i < FD_SECTOR; i++) {
        g_assert_cmphex(back[i], ==, i < 100 ? 0x77 : 0);
    }
    read_file_at(f.img, fdc_offset(0, 0, 5), back, 1);
    g_assert_cmphex(back[0], ==, fdc_image_byte(fdc_offset(0, 0, 5), 1));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* A masked channel holds the transfer until it is unmasked. */
static void test_dma_masked_waits(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, FD_SECTOR);
    qtest_outb(s, 0x0a, 0x04 | 2);
    fdc_rw(s, CMD_READ, 0, 0, 0, 7, 18);
    dma_wait_request(s, 0x08, 0x40);                    /* DREQ 2 */
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_CB);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    qtest_outb(s, 0x0a, 2);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    check_memory(s, BUF, fdc_offset(0, 0, 7), FD_SECTOR, 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- non-DMA mode ---- */

static void test_pio(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7], back[FD_SECTOR];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    fdc_cmd(s, (uint8_t[]){ CMD_SPECIFY, 0xaf, 0x03 }, 3);
    fdc_seek(s, 0, 1, 3);
    fdc_rw(s, CMD_READ, 0, 3, 1, 8, 9);
    for (unsigned i = 0; i < 2 * FD_SECTOR; i++) {
        g_assert_cmphex(fdc_wait_rqm(s), ==,
                        MSR_RQM | MSR_DIO | MSR_NDMA | MSR_CB);
        g_assert_true(qtest_get_irq(s, FDC_IRQ));
        g_assert_cmphex(qtest_inb(s, FDC_FIFO), ==,
                        fdc_image_byte(fdc_offset(3, 1, 8) + i, 1));
    }
    /* No TC without DMA: EOT ends it, with EN. */
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x44);
    g_assert_cmphex(res[1], ==, 0x80);
    g_assert_cmpuint(res[3], ==, 4);
    g_assert_cmpuint(res[5], ==, 1);

    fdc_rw(s, CMD_WRITE, 0, 3, 1, 2, 2);
    for (unsigned i = 0; i < FD_SECTOR; i++) {
        g_assert_cmphex(fdc_wait_rqm(s), ==,
                        MSR_RQM | MSR_NDMA | MSR_CB);
        qtest_outb(s, FDC_FIFO, i ^ 0xa5);
    }
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x44);
    read_file_at(f.img, fdc_offset(3, 1, 2), back, FD_SECTOR);
    for (unsigned i = 0; i < FD_SECTOR; i++) {
        g_assert_cmphex(back[i], ==, (uint8_t)(i ^ 0xa5));
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- errors ---- */

static void test_read_only(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7], before[FD_SECTOR], after[FD_SECTOR];

    fixture_init(&f);
    read_file_at(f.img, 0, before, FD_SECTOR);
    s = qtest_initf("-drive if=floppy,index=0,format=raw,readonly=on,file=%s",
                    f.img);
    fdc_cmd(s, (uint8_t[]){ CMD_SENSE_DRIVE, 0x00 }, 2);
    g_assert_cmphex(fdc_result1(s) & 0x40, ==, 0x40);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF, FD_SECTOR);
    fdc_rw(s, CMD_WRITE, 0, 0, 0, 1, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x40);
    g_assert_cmphex(res[1], ==, 0x02);
    fdc_cmd(s, (uint8_t[]){ CMD_FORMAT, 0x00, 2, 18, 0x54, 0xf6 }, 6);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[1], ==, 0x02);
    read_file_at(f.img, 0, after, FD_SECTOR);
    g_assert_cmpmem(before, FD_SECTOR, after, FD_SECTOR);
    /* Reads still work. */
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 0, 0, 1, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    check_memory(s, BUF, 0, FD_SECTOR, 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void expect_rw_error(QTestState *s, uint8_t op, unsigned c,
                            unsigned h, unsigned r, unsigned n,
                            uint8_t st1, uint8_t st2)
{
    uint8_t cmd[9] = { op, h << 2, c, h, r, n, 18, 0x1b, 0xff };
    uint8_t res[7];

    qtest_memset(s, BUF, 0xcc, FD_SECTOR);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, FD_SECTOR);
    fdc_cmd(s, cmd, 9);
    fdc_wait_rqm(s);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0] & 0xc0, ==, 0x40);
    g_assert_cmphex(res[1], ==, st1);
    g_assert_cmphex(res[2], ==, st2);
    g_assert_cmpuint(res[5], ==, r);
    g_assert_cmphex(qtest_readb(s, BUF), ==, 0xcc);
}

/* Every way a sector can be missing, and nothing moves. */
static void test_out_of_range(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    expect_rw_error(s, CMD_READ, 0, 0, 19, 2, 0x04, 0);     /* R > 18 */
    expect_rw_error(s, CMD_READ, 0, 0, 0, 2, 0x04, 0);      /* R = 0 */
    expect_rw_error(s, CMD_READ, 0, 0, 1, 3, 0x04, 0);      /* N != 2 */
    expect_rw_error(s, CMD_READ, 0, 0, 1, 0xff, 0x04, 0);
    expect_rw_error(s, CMD_READ, 7, 0, 1, 2, 0x04, 0x10);   /* C != PCN */
    fdc_seek(s, 0, 0, 90);                                  /* no track */
    expect_rw_error(s, CMD_READ, 90, 0, 1, 2, 0x01, 0);
    expect_rw_error(s, CMD_WRITE, 90, 0, 1, 2, 0x01, 0);
    fdc_seek(s, 0, 0, 255);
    expect_rw_error(s, CMD_READ, 255, 1, 18, 2, 0x01, 0);
    fdc_seek(s, 0, 0, 79);
    /* H in the command must be the side's ID. */
    {
        uint8_t cmd[9] = { CMD_READ, 0x00, 79, 1, 1, 2, 18, 0x1b, 0xff };
        fdc_cmd(s, cmd, 9);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[1], ==, 0x04);
    }
    /* The wrong data rate finds no IDs (1.44 MB is 500 kbps). */
    qtest_outb(s, FDC_CCR, 0x03);
    expect_rw_error(s, CMD_READ, 79, 0, 1, 2, 0x01, 0);
    fdc_cmd(s, (uint8_t[]){ CMD_READ_ID, 0x00 }, 2);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x40);
    g_assert_cmphex(res[1], ==, 0x01);
    qtest_outb(s, FDC_CCR, 0x00);
    fdc_cmd(s, (uint8_t[]){ CMD_READ_ID, 0x04 }, 2);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x04);
    g_assert_cmpuint(res[3], ==, 79);
    g_assert_cmpuint(res[4], ==, 1);
    g_assert_cmpuint(res[5], >=, 1);
    g_assert_cmpuint(res[5], <=, 18);
    g_assert_cmpuint(res[6], ==, 2);
    /* EOT past the track's last sector: ND at sector 19. */
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 8 * FD_SECTOR);
    {
        uint8_t cmd[9] = { CMD_READ, 0x00, 79, 0, 17, 2, 30, 0x1b, 0xff };
        fdc_cmd(s, cmd, 9);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[0], ==, 0x40);
        g_assert_cmphex(res[1], ==, 0x04);
        g_assert_cmpuint(res[5], ==, 19);
    }
    /* Drive B is absent, drives 2 and 3 do not exist. */
    for (unsigned ds = 1; ds < 4; ds++) {
        uint8_t cmd[9] = { CMD_READ, ds, 0, 0, 1, 2, 18, 0x1b, 0xff };
        fdc_cmd(s, cmd, 9);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[0], ==, 0x40 | ds);
        g_assert_cmphex(res[1], ==, 0x01);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* SeaBIOS's boot-sector read, step by step: every wait for IRQ 6 sees an
 * edge, and the results are what it checks. */
static void test_seabios_sequence(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7], st0, pcn;

    fixture_init(&f);
    s = start_with(f.img, NULL);
    qtest_outb(s, FDC_DOR, 0x00);                   /* enable_controller */
    qtest_outb(s, FDC_DOR, 0x0c);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_sense_int(s, &st0, &pcn);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    qtest_outb(s, FDC_DOR, 0x1c);                   /* recalibrate */
    fdc_cmd(s, (uint8_t[]){ CMD_RECAL, 0x00 }, 2);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_sense_int(s, &st0, &pcn);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    qtest_outb(s, FDC_CCR, 0x00);                   /* media sense */
    fdc_cmd(s, (uint8_t[]){ CMD_READ_ID, 0x00 }, 2);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0] & 0xc0, ==, 0);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, 0x7c00, FD_SECTOR);
    fdc_cmd(s, (uint8_t[]){ 0xe6, 0x00, 0, 0, 1, 2, 1, 0x1b, 0xff }, 9);
    fdc_wait_irq(s);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0] & 0xc0, ==, 0);
    check_memory(s, 0x7c00, 0, FD_SECTOR, 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- format, verify, disk change, geometries ---- */

static void test_format_verify(void)
{
    Fixture f;
    QTestState *s;
    uint8_t res[7], ids[18 * 4], back[FD_SECTOR];

    fixture_init(&f);
    s = start_with(f.img, NULL);
    fdc_seek(s, 0, 1, 12);
    for (unsigned i = 0; i < 18; i++) {
        ids[i * 4] = 12;
        ids[i * 4 + 1] = 1;
        ids[i * 4 + 2] = i + 1;
        ids[i * 4 + 3] = 2;
    }
    qtest_bufwrite(s, BUF, ids, sizeof(ids));
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF, sizeof(ids));
    fdc_cmd(s, (uint8_t[]){ CMD_FORMAT, 0x04, 2, 18, 0x54, 0xf6 }, 6);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x04);
    g_assert_cmphex(res[1], ==, 0x00);
    for (unsigned r = 1; r <= 18; r++) {
        read_file_at(f.img, fdc_offset(12, 1, r), back, FD_SECTOR);
        for (unsigned i = 0; i < FD_SECTOR; i++) {
            g_assert_cmphex(back[i], ==, 0xf6);
        }
    }
    read_file_at(f.img, fdc_offset(12, 0, 18), back, 1);
    g_assert_cmphex(back[0], ==, fdc_image_byte(fdc_offset(12, 0, 18), 1));
    /* VERIFY, EC = 1: three sectors, no data moved. */
    {
        uint8_t cmd[9] = { CMD_VERIFY, 0x80 | 0x04, 12, 1, 5, 2, 18, 0x1b,
                           3 };
        fdc_cmd(s, cmd, 9);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[0], ==, 0x04);
        g_assert_cmpuint(res[5], ==, 8);
    }
    /* EC = 0: up to EOT; past the track: ND. */
    fdc_rw(s, CMD_VERIFY, 0, 12, 1, 16, 18);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x04);
    g_assert_cmpuint(res[3], ==, 13);
    fdc_rw(s, CMD_VERIFY, 0, 12, 1, 16, 20);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[1], ==, 0x04);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static void test_disk_change(void)
{
    Fixture f;
    QTestState *s;
    uint8_t st0, pcn;

    fixture_init(&f);
    s = qtest_initf("-drive if=floppy,index=0,format=raw,file=%s "
                    "-drive if=floppy,index=1", f.img);
    /* Active at power-on, cleared by a step with a medium in. */
    g_assert_cmphex(qtest_inb(s, FDC_DIR), ==, 0x80);
    fdc_cmd(s, (uint8_t[]){ CMD_RECAL, 0x00 }, 2);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(qtest_inb(s, FDC_DIR), ==, 0x00);
    /* Drive B is empty: always changed. */
    qtest_outb(s, FDC_DOR, 0x0d);
    g_assert_cmphex(qtest_inb(s, FDC_DIR), ==, 0x80);
    fdc_cmd(s, (uint8_t[]){ CMD_RECAL, 0x01 }, 2);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x21);
    g_assert_cmphex(qtest_inb(s, FDC_DIR), ==, 0x80);
    /* SRA/SRB (PS/2 layout): drive 2 present, motor bits. */
    g_assert_cmphex(qtest_inb(s, FDC_SRA) & 0x40, ==, 0);
    qtest_outb(s, FDC_DOR, 0x3c);
    g_assert_cmphex(qtest_inb(s, FDC_SRB), ==, 0xc3);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* Each image size gives its geometry and data rate (READ ID finds it). */
static void test_geometries(void)
{
    static const struct {
        size_t size;
        uint8_t rate, sectors, cmos;
    } g[] = {
        { 737280, 2, 9, 0x40 },
        { 1228800, 0, 15, 0x20 },
        { 1474560, 0, 18, 0x40 },
        { 2949120, 3, 36, 0x50 },
    };
    Fixture f;

    fixture_init(&f);
    for (unsigned i = 0; i < G_N_ELEMENTS(g); i++) {
        g_autofree char *img = fdc_make_image(f.dir, "g.img", g[i].size, 9);
        QTestState *s = qtest_initf("-fda %s", img);
        uint8_t res[7];
        uint8_t cmd[9] = { CMD_READ, 0x04, 1, 1, g[i].sectors, 2,
                           g[i].sectors, 0x1b, 0xff };

        qtest_outb(s, 0x70, 0x10);
        g_assert_cmphex(qtest_inb(s, 0x71), ==, g[i].cmos);
        qtest_outb(s, FDC_CCR, (g[i].rate + 1) & 3);
        fdc_cmd(s, (uint8_t[]){ CMD_READ_ID, 0x00 }, 2);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[1], ==, 0x01);
        qtest_outb(s, FDC_CCR, g[i].rate);
        fdc_cmd(s, (uint8_t[]){ CMD_READ_ID, 0x00 }, 2);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[0], ==, 0x00);
        /* The last sector of cylinder 1, side 1. */
        fdc_seek(s, 0, 1, 1);
        dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF,
                    2 * FD_SECTOR);
        fdc_cmd(s, cmd, 9);
        fdc_rw_result(s, res);
        g_assert_cmphex(res[0] & 0xc0, ==, 0x40);   /* EN: EOT, no TC */
        g_assert_cmphex(res[1], ==, 0x80);
        check_memory(s, BUF,
                     ((1 * 2 + 1) * g[i].sectors + g[i].sectors - 1) *
                     FD_SECTOR, FD_SECTOR, 9);
        g_assert_cmpint(qtest_quit(s), ==, 0);
    }
    fixture_free(&f);
}

/* A short image: sectors past its end read as zeroes, refuse writes. */
static void test_short_image(void)
{
    Fixture f;
    QTestState *s;
    g_autofree char *img = NULL;
    uint8_t res[7];

    fixture_init(&f);
    img = fdc_make_image(f.dir, "boot.img", FD_SECTOR, 3);
    s = qtest_initf("-fda %s", img);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, 2 * FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 0, 0, 1, 2);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    check_memory(s, BUF, 0, FD_SECTOR, 3);
    g_assert_cmphex(qtest_readl(s, BUF + FD_SECTOR), ==, 0);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF, FD_SECTOR);
    fdc_rw(s, CMD_WRITE, 0, 0, 0, 2, 2);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[1], ==, 0x02);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

static uint8_t cmos(QTestState *s, uint8_t idx)
{
    qtest_outb(s, 0x70, idx);
    return qtest_inb(s, 0x71);
}

/* CMOS 10h/14h as QEMU's pc fills them; -device floppy and bootindex. */
static void test_cmos_bootindex(void)
{
    Fixture f;
    QTestState *s;
    g_autofree char *big = NULL;
    g_autofree char *order = NULL;

    fixture_init(&f);
    s = qtest_init("");
    g_assert_cmphex(cmos(s, 0x10), ==, 0x00);
    g_assert_cmphex(cmos(s, 0x14) & 0xc1, ==, 0x00);
    g_assert_cmphex(qtest_inb(s, FDC_DIR), ==, 0x00);   /* no drive */
    g_assert_cmpint(qtest_quit(s), ==, 0);

    big = fdc_make_image(f.dir, "b.img", 2949120, 2);
    s = qtest_initf("-drive if=none,id=fa,format=raw,file=%s "
                    "-drive if=none,id=fb,format=raw,file=%s "
                    "-device floppy,drive=fb,unit=1,bootindex=1 "
                    "-device floppy,drive=fa,bootindex=2", f.img, big);
    g_assert_cmphex(cmos(s, 0x10), ==, 0x45);
    g_assert_cmphex(cmos(s, 0x14) & 0xc1, ==, 0x41);
    order = qtest_fw_cfg_file(s, "bootorder");
    g_assert_nonnull(order);
    g_assert_cmpstr(order, ==, "/pci@i0cf8/isa@1/fdc@03f0/floppy@1\n"
                    "/pci@i0cf8/isa@1/fdc@03f0/floppy@0");
    g_assert_cmpint(qtest_quit(s), ==, 0);

    /* An empty drive with drive-type=144; default type of an empty one. */
    s = qtest_init("-device floppy,drive-type=144 -drive if=floppy,index=1");
    g_assert_cmphex(cmos(s, 0x10), ==, 0x45);
    g_assert_cmphex(cmos(s, 0x14) & 0xc1, ==, 0x41);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    s = qtest_initf("-fdb %s -global isa-fdc.dma=2", f.img);
    g_assert_cmphex(cmos(s, 0x10), ==, 0x04);
    g_assert_cmphex(cmos(s, 0x14) & 0xc1, ==, 0x01);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/* ---- asynchronous sector I/O ---- */

/* Floppy A: with drive options @opts and a QMP socket. */
static QTestState *start_qmp(Fixture *f, const char *opts, QMPConn **qmp)
{
    g_autofree char *sock = g_build_filename(f->dir, "qmp.sock", NULL);
    QTestState *s = qtest_initf("-drive if=floppy,index=0,format=raw,file=%s"
                                "%s -qmp unix:%s,server=on,wait=off", f->img,
                                opts, sock);
    qtest_irq_intercept_in(s, "ioapic");
    *qmp = qmp_connect(sock);
    unlink(sock);
    return s;
}

static void assert_running(QMPConn *qmp, const char *state)
{
    g_autofree char *r = qmp_cmd(qmp, "{\"execute\":\"query-status\"}");

    g_assert_nonnull(strstr(r, state));
}

/*
 * A sector whose host read is held: the port write that ended the
 * command returned at once, the controller shows the execution phase
 * without RQM (non-DMA) or DREQ (DMA) while the monitor answers; 'stop'
 * drains it (the paused VM then holds its data and interrupt, so no
 * request is out in a saved state).  A reset while one is out: the
 * controller resets at once, and the orphaned read, when it comes back,
 * moves no data by DMA and changes nothing.
 */
static void test_async_in_flight(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    uint8_t res[7], st0, pcn;

    fixture_init(&f);
    /* I/O limits of one byte a second: the first sector read goes at once
     * (the bucket is empty), every later one waits for minutes, until
     * 'stop' drains the block layer or the limits are lifted.  So a
     * request stays out as long as the test wants: nothing here depends
     * on timing. */
    s = start_qmp(&f, ",throttling.bps-total=1", &qmp);
    /* the first sector goes at once and fills the bucket */
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 0, 0, 1, 1);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    check_memory(s, BUF, 0, FD_SECTOR, 1);

    /* non-DMA: the next sector is held, no RQM, no interrupt */
    fdc_cmd(s, (uint8_t[]){ CMD_SPECIFY, 0xaf, 0x03 }, 3);
    fdc_rw(s, CMD_READ, 0, 0, 0, 2, 2);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_CB);
    g_assert_false(qtest_get_irq(s, FDC_IRQ));
    assert_running(qmp, "\"running\"");
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_CB);
    qtest_outb(s, FDC_FIFO, 0x55);              /* no RQM: ignored */
    g_assert_cmphex(qtest_inb(s, FDC_FIFO), ==, 0);
    /* stop drains it: the sector is in, RQM and its interrupt */
    qmp_assert_ok(qmp, "{\"execute\":\"stop\"}");
    assert_running(qmp, "\"paused\"");
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==,
                    MSR_RQM | MSR_DIO | MSR_NDMA | MSR_CB);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));
    qmp_assert_ok(qmp, "{\"execute\":\"cont\"}");
    for (unsigned i = 0; i < FD_SECTOR; i++) {
        g_assert_cmphex(fdc_wait_rqm(s), ==,
                        MSR_RQM | MSR_DIO | MSR_NDMA | MSR_CB);
        g_assert_cmphex(qtest_inb(s, FDC_FIFO), ==,
                        fdc_image_byte(fdc_offset(0, 0, 2) + i, 1));
    }
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x40);          /* EOT without TC: EN */
    g_assert_cmphex(res[1], ==, 0x80);

    /* DMA: held with DREQ down; a reset meanwhile orphans it */
    fdc_cmd(s, (uint8_t[]){ CMD_SPECIFY, 0xaf, 0x02 }, 3);
    qtest_memset(s, BUF, 0xcc, FD_SECTOR);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, BUF, FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 0, 0, 3, 3);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_CB);
    g_assert_cmphex(qtest_inb(s, 0x08) & 0xf0, ==, 0x00);   /* no DREQ */
    assert_running(qmp, "\"running\"");
    qtest_outb(s, FDC_DOR, 0x08);               /* nRESET low, then high */
    qtest_outb(s, FDC_DOR, 0x0c);
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_RQM);
    g_assert_true(qtest_get_irq(s, FDC_IRQ));   /* the polling interrupt */
    /* the orphaned read comes back (stop drains it): no DMA, no change */
    qmp_assert_ok(qmp, "{\"execute\":\"stop\"}");
    qmp_assert_ok(qmp, "{\"execute\":\"cont\"}");
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_RQM);
    g_assert_cmphex(qtest_inb(s, 0x08) & 0xf4, ==, 0x00);   /* no TC */
    g_assert_cmphex(dma_read_reg(s, 2, true), ==, FD_SECTOR - 1);
    g_assert_cmphex(qtest_readb(s, BUF), ==, 0xcc);
    g_assert_cmphex(qtest_readb(s, BUF + FD_SECTOR - 1), ==, 0xcc);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0xc0);             /* ready changed, drive 0 */

    /* lifted limits: the controller works on */
    qmp_assert_ok(qmp, "{\"execute\":\"block_set_io_throttle\","
                  "\"arguments\":{\"device\":\"floppy0\",\"bps\":0,"
                  "\"bps_rd\":0,\"bps_wr\":0,\"iops\":0,\"iops_rd\":0,"
                  "\"iops_wr\":0}}");
    fdc_rw(s, CMD_READ, 0, 0, 0, 3, 3);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0], ==, 0x00);
    check_memory(s, BUF, fdc_offset(0, 0, 3), FD_SECTOR, 1);
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

/*
 * The monitor ejects the disk while a WRITE DATA and a FORMAT TRACK wait
 * for a masked DMA channel: when the channel is granted the command ends
 * with MA (no medium under the head), and nothing else happens.
 */
static void test_eject_mid_transfer(void)
{
    Fixture f;
    QMPConn *qmp;
    QTestState *s;
    uint8_t res[7];
    uint8_t ids[4] = { 0, 0, 1, 2 };
    g_autofree char *change = NULL;

    fixture_init(&f);
    s = start_qmp(&f, "", &qmp);
    qtest_bufwrite(s, BUF, ids, sizeof(ids));
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF, FD_SECTOR);
    qtest_outb(s, 0x0a, 0x04 | 2);                  /* masked */
    fdc_rw(s, CMD_WRITE, 0, 0, 0, 1, 1);
    qmp_assert_ok(qmp, "{\"execute\":\"eject\",\"arguments\":"
                  "{\"device\":\"floppy0\"}}");
    qtest_outb(s, 0x0a, 2);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0] & 0xc0, ==, 0x40);
    g_assert_cmphex(res[1], ==, 0x01);
    change = g_strdup_printf("{\"execute\":\"blockdev-change-medium\","
                             "\"arguments\":{\"device\":\"floppy0\","
                             "\"filename\":\"%s\",\"format\":\"raw\"}}",
                             f.img);
    qmp_assert_ok(qmp, change);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_FROM_MEM, BUF, 4);
    qtest_outb(s, 0x0a, 0x04 | 2);
    fdc_cmd(s, (uint8_t[]){ CMD_FORMAT, 0x00, 2, 1, 0x54, 0xf6 }, 6);
    qmp_assert_ok(qmp, "{\"execute\":\"eject\",\"arguments\":"
                  "{\"device\":\"floppy0\"}}");
    qtest_outb(s, 0x0a, 2);
    fdc_rw_result(s, res);
    g_assert_cmphex(res[0] & 0xc0, ==, 0x40);
    g_assert_cmphex(res[1], ==, 0x01);
    qmp_close(qmp);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fdc/reset-sense-interrupt", test_reset_sense);
    g_test_add_func("/fdc/config-commands", test_config_commands);
    g_test_add_func("/fdc/recalibrate-seek", test_recalibrate_seek);
    g_test_add_func("/fdc/read-dma", test_read_dma);
    g_test_add_func("/fdc/write-dma", test_write_dma);
    g_test_add_func("/fdc/multitrack", test_multitrack);
    g_test_add_func("/fdc/dma-count-longer", test_dma_count_longer);
    g_test_add_func("/fdc/dma-count-shorter", test_dma_count_shorter);
    g_test_add_func("/fdc/dma-masked-waits", test_dma_masked_waits);
    g_test_add_func("/fdc/pio", test_pio);
    g_test_add_func("/fdc/seabios-sequence", test_seabios_sequence);
    g_test_add_func("/fdc/read-only", test_read_only);
    g_test_add_func("/fdc/out-of-range", test_out_of_range);
    g_test_add_func("/fdc/format-verify", test_format_verify);
    g_test_add_func("/fdc/disk-change", test_disk_change);
    g_test_add_func("/fdc/geometries", test_geometries);
    g_test_add_func("/fdc/short-image", test_short_image);
    g_test_add_func("/fdc/cmos-bootindex", test_cmos_bootindex);
    g_test_add_func("/fdc/async/in-flight", test_async_in_flight);
    g_test_add_func("/fdc/eject-mid-transfer", test_eject_mid_transfer);
    return g_test_run();
}
