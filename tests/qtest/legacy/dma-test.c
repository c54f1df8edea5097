/*
 * 8237 DMA controller pair: registers as firmware probes them (address
 * and count through the flip-flop, masks, requests, master clear) and the
 * page registers, with port 0x80 left to the POST port; then transfers,
 * with the floppy controller as the ISA device (its image's bytes name
 * their sector): single transfers with TC, auto-initialization, address
 * decrement, the 64 KiB page wrap, verify, a disabled controller, and a
 * 16-bit channel (-global isa-fdc.dma=5) with its 128 KiB wrap.
 */
#include <stdint.h>
#include "fdc-util.h"

#define DMA1_STATUS     0x08
#define DMA1_REQUEST    0x09
#define DMA1_MASK       0x0a
#define DMA1_MODE       0x0b
#define DMA1_CLEAR_FF   0x0c
#define DMA1_MASTER_CLR 0x0d
#define DMA1_CLEAR_MASK 0x0e
#define DMA1_ALL_MASK   0x0f
#define DMA2_BASE       0xc0
#define DMA2_CLEAR_FF   0xd8
#define DMA2_ALL_MASK   0xde
#define DMA2_MASTER_CLR 0xda

static void write16(QTestState *s, uint16_t port, uint16_t ff_port,
                    uint16_t val)
{
    qtest_outb(s, ff_port, 0);
    qtest_outb(s, port, val & 0xff);
    qtest_outb(s, port, val >> 8);
}

static uint16_t read16(QTestState *s, uint16_t port, uint16_t ff_port)
{
    uint16_t lo;

    qtest_outb(s, ff_port, 0);
    lo = qtest_inb(s, port);
    return lo | (qtest_inb(s, port) << 8);
}

static void test_address_count(void)
{
    QTestState *s = qtest_init("");

    for (unsigned ch = 0; ch < 4; ch++) {
        write16(s, ch * 2, DMA1_CLEAR_FF, 0x1234 + ch);
        write16(s, ch * 2 + 1, DMA1_CLEAR_FF, 0xabc0 + ch);
    }
    for (unsigned ch = 0; ch < 4; ch++) {
        g_assert_cmphex(read16(s, ch * 2, DMA1_CLEAR_FF), ==, 0x1234 + ch);
        g_assert_cmphex(read16(s, ch * 2 + 1, DMA1_CLEAR_FF), ==,
                        0xabc0 + ch);
    }
    /* The flip-flop alternates across registers until cleared. */
    qtest_outb(s, DMA1_CLEAR_FF, 0);
    g_assert_cmphex(qtest_inb(s, 0x00), ==, 0x34);
    g_assert_cmphex(qtest_inb(s, 0x02), ==, 0x12);
    g_assert_cmphex(qtest_inb(s, 0x02), ==, 0x35);
    qtest_outb(s, DMA1_CLEAR_FF, 0);
    g_assert_cmphex(qtest_inb(s, 0x02), ==, 0x35);

    /* DMA2: registers on even ports, channel 5 address at 0xc4. */
    write16(s, DMA2_BASE + 4, DMA2_CLEAR_FF, 0x5678);
    write16(s, DMA2_BASE + 6, DMA2_CLEAR_FF, 0x0fff);
    g_assert_cmphex(read16(s, DMA2_BASE + 4, DMA2_CLEAR_FF), ==, 0x5678);
    g_assert_cmphex(read16(s, DMA2_BASE + 6, DMA2_CLEAR_FF), ==, 0x0fff);
    g_assert_cmphex(read16(s, 0x02, DMA1_CLEAR_FF), ==, 0x1235);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_masks_and_status(void)
{
    QTestState *s = qtest_init("");

    /* Reset state: all channels masked. */
    g_assert_cmphex(qtest_inb(s, DMA1_ALL_MASK), ==, 0x0f);
    qtest_outb(s, DMA1_CLEAR_MASK, 0);
    g_assert_cmphex(qtest_inb(s, DMA1_ALL_MASK), ==, 0x00);
    qtest_outb(s, DMA1_MASK, 0x04 | 1);
    qtest_outb(s, DMA1_MASK, 0x04 | 3);
    g_assert_cmphex(qtest_inb(s, DMA1_ALL_MASK), ==, 0x0a);
    qtest_outb(s, DMA1_MASK, 1);
    g_assert_cmphex(qtest_inb(s, DMA1_ALL_MASK), ==, 0x08);
    qtest_outb(s, DMA1_ALL_MASK, 0xf5);
    g_assert_cmphex(qtest_inb(s, DMA1_ALL_MASK), ==, 0x05);

    /* Software request shows in status bits 4-7. */
    qtest_outb(s, DMA1_REQUEST, 0x04 | 2);
    g_assert_cmphex(qtest_inb(s, DMA1_STATUS), ==, 0x40);
    qtest_outb(s, DMA1_REQUEST, 2);
    g_assert_cmphex(qtest_inb(s, DMA1_STATUS), ==, 0x00);
    qtest_outb(s, DMA1_MODE, 0x48 | 1);   /* single, read, channel 1 */

    /* Master clear: everything masked, flip-flop low. */
    qtest_outb(s, DMA1_CLEAR_MASK, 0);
    qtest_outb(s, DMA1_REQUEST, 0x04 | 0);
    qtest_inb(s, 0x00);
    qtest_outb(s, DMA1_MASTER_CLR, 0);
    g_assert_cmphex(qtest_inb(s, DMA1_ALL_MASK), ==, 0x0f);
    g_assert_cmphex(qtest_inb(s, DMA1_STATUS), ==, 0x00);
    g_assert_cmphex(qtest_inb(s, DMA1_MASTER_CLR), ==, 0x00);  /* temp */

    /* DMA2 has its own mask. */
    qtest_outb(s, DMA2_ALL_MASK, 0x0e);
    g_assert_cmphex(qtest_inb(s, DMA2_ALL_MASK), ==, 0x0e);
    qtest_outb(s, DMA2_MASTER_CLR, 0);
    g_assert_cmphex(qtest_inb(s, DMA2_ALL_MASK), ==, 0x0f);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_page_registers(void)
{
    QTestState *s = qtest_init("");

    for (unsigned port = 0x81; port <= 0x8f; port++) {
        if (port != 0x88) {
            qtest_outb(s, port, port ^ 0x5a);
        }
    }
    for (unsigned port = 0x81; port <= 0x8f; port++) {
        if (port != 0x88) {
            g_assert_cmphex(qtest_inb(s, port), ==, port ^ 0x5a);
        }
    }
    /* 0x80 stays the POST port, 0x88 is not decoded. */
    qtest_outb(s, 0x80, 0x12);
    g_assert_cmphex(qtest_inb(s, 0x80), ==, 0xff);
    g_assert_cmphex(qtest_inb(s, 0x88), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_delay_port(void)
{
    QTestState *s = qtest_init("");

    qtest_outb(s, 0xed, 0x00);
    g_assert_cmphex(qtest_inb(s, 0xed), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- transfers ---- */

typedef struct DMAFixture {
    char *dir;
    char *img;
} DMAFixture;

static QTestState *dma_start(DMAFixture *f, const char *extra)
{
    f->dir = g_dir_make_tmp("dma-test-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->img = fdc_make_image(f->dir, "a.img", FD_144_SIZE, 5);
    return qtest_initf("-drive if=floppy,index=0,format=raw,file=%s %s",
                       f->img, extra ? extra : "");
}

static void dma_finish(QTestState *s, DMAFixture *f)
{
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_unlink(f->img);
    g_rmdir(f->dir);
    g_free(f->img);
    g_free(f->dir);
}

/* READ DATA of sectors R..R+n-1 on cylinder 0, side 0; ST0 returned. */
static uint8_t fdc_read_sectors(QTestState *s, unsigned r, unsigned n)
{
    uint8_t res[7];

    fdc_rw(s, CMD_READ, 0, 0, 0, r, r + n - 1);
    fdc_rw_result(s, res);
    return res[0];
}

static void expect_sector(QTestState *s, uint64_t addr, unsigned r,
                          size_t len)
{
    g_autofree uint8_t *got = g_malloc(len);
    size_t off = fdc_offset(0, 0, r);

    qtest_bufread(s, addr, got, len);
    for (size_t i = 0; i < len; i++) {
        g_assert_cmphex(got[i], ==, fdc_image_byte(off + i, 5));
    }
}

/* Single transfer: data, TC status bit, mask set, counters past the end. */
static void test_transfer_single(void)
{
    DMAFixture f;
    QTestState *s = dma_start(&f, NULL);

    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, 0x23400,
                FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 3, 1), ==, 0x00);
    expect_sector(s, 0x23400, 3, FD_SECTOR);
    g_assert_cmphex(qtest_inb(s, 0x08), ==, 0x04);      /* TC 2 */
    g_assert_cmphex(qtest_inb(s, 0x08), ==, 0x00);      /* read clears */
    g_assert_cmphex(qtest_inb(s, 0x0f), ==, 0x0f);      /* masked */
    g_assert_cmphex(dma_read_reg(s, 2, false), ==, 0x3600);
    g_assert_cmphex(dma_read_reg(s, 2, true), ==, 0xffff);
    /* Block and demand mode move the same bytes. */
    dma_program(s, 2, 0x80 | DMA_MODE_TO_MEM, 0x30000, FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 4, 1), ==, 0x00);
    expect_sector(s, 0x30000, 4, FD_SECTOR);
    dma_program(s, 2, 0x00 | DMA_MODE_TO_MEM, 0x30000, FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 5, 1), ==, 0x00);
    expect_sector(s, 0x30000, 5, FD_SECTOR);
    dma_finish(s, &f);
}

/* Auto-initialization: reloaded at TC, stays unmasked for the next one. */
static void test_transfer_autoinit(void)
{
    DMAFixture f;
    QTestState *s = dma_start(&f, NULL);

    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_AUTOINIT | DMA_MODE_TO_MEM,
                0x40000, FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 1, 1), ==, 0x00);
    expect_sector(s, 0x40000, 1, FD_SECTOR);
    g_assert_cmphex(qtest_inb(s, 0x0f) & 0x04, ==, 0);
    g_assert_cmphex(dma_read_reg(s, 2, false), ==, 0x0000);
    g_assert_cmphex(dma_read_reg(s, 2, true), ==, FD_SECTOR - 1);
    /* Same buffer again without reprogramming. */
    g_assert_cmphex(fdc_read_sectors(s, 9, 1), ==, 0x00);
    expect_sector(s, 0x40000, 9, FD_SECTOR);
    g_assert_cmphex(qtest_inb(s, 0x08) & 0x04, ==, 0x04);
    dma_finish(s, &f);
}

/* Address decrement: bytes go to descending addresses. */
static void test_transfer_decrement(void)
{
    DMAFixture f;
    QTestState *s = dma_start(&f, NULL);
    uint8_t got[FD_SECTOR];
    size_t off = fdc_offset(0, 0, 2);

    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_DECREMENT | DMA_MODE_TO_MEM,
                0x501ff, FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 2, 1), ==, 0x00);
    qtest_bufread(s, 0x50000, got, FD_SECTOR);
    for (unsigned i = 0; i < FD_SECTOR; i++) {
        g_assert_cmphex(got[FD_SECTOR - 1 - i], ==,
                        fdc_image_byte(off + i, 5));
    }
    g_assert_cmphex(dma_read_reg(s, 2, false), ==, 0xffff);
    dma_finish(s, &f);
}

/* The address counter wraps inside its 64 KiB page, never carries. */
static void test_transfer_page_wrap(void)
{
    DMAFixture f;
    QTestState *s = dma_start(&f, NULL);

    qtest_memset(s, 0x20000, 0xaa, 0x100);
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, 0x1ff00, FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 6, 1), ==, 0x00);
    {
        g_autofree uint8_t *buf = g_malloc(FD_SECTOR);
        size_t off = fdc_offset(0, 0, 6);
        qtest_bufread(s, 0x1ff00, buf, 0x100);
        qtest_bufread(s, 0x10000, buf + 0x100, 0x100);
        for (unsigned i = 0; i < FD_SECTOR; i++) {
            g_assert_cmphex(buf[i], ==, fdc_image_byte(off + i, 5));
        }
    }
    g_assert_cmphex(qtest_readb(s, 0x20000), ==, 0xaa);
    g_assert_cmphex(dma_read_reg(s, 2, false), ==, 0x0100);
    dma_finish(s, &f);
}

/* Verify counts without touching memory; a disabled controller waits. */
static void test_transfer_verify_disable(void)
{
    DMAFixture f;
    QTestState *s = dma_start(&f, NULL);

    qtest_memset(s, 0x60000, 0x11, FD_SECTOR);
    dma_program(s, 2, DMA_MODE_SINGLE, 0x60000, FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 1, 1), ==, 0x00);
    g_assert_cmphex(qtest_readb(s, 0x60000), ==, 0x11);
    g_assert_cmphex(qtest_readb(s, 0x601ff), ==, 0x11);
    g_assert_cmphex(dma_read_reg(s, 2, true), ==, 0xffff);

    qtest_outb(s, 0x08, 0x04);                  /* controller disable */
    dma_program(s, 2, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, 0x60000, FD_SECTOR);
    fdc_rw(s, CMD_READ, 0, 0, 0, 7, 7);
    dma_wait_request(s, 0x08, 0x40);            /* the sector is in */
    g_assert_cmphex(qtest_inb(s, FDC_MSR), ==, MSR_CB);
    g_assert_cmphex(qtest_readb(s, 0x60000), ==, 0x11);
    qtest_outb(s, 0x08, 0x00);                  /* enable: it runs */
    g_assert_cmphex(qtest_inb(s, FDC_MSR) & (MSR_RQM | MSR_DIO), ==,
                    MSR_RQM | MSR_DIO);
    {
        uint8_t res[7];
        fdc_rw_result(s, res);
        g_assert_cmphex(res[0], ==, 0x00);
    }
    expect_sector(s, 0x60000, 7, FD_SECTOR);
    dma_finish(s, &f);
}

/* A 16-bit channel: words, count in words, 128 KiB page wrap. */
static void test_transfer_16bit(void)
{
    DMAFixture f;
    QTestState *s = dma_start(&f, "-global isa-fdc.dma=5");
    g_autofree uint8_t *buf = g_malloc(2 * FD_SECTOR);
    size_t off = fdc_offset(0, 0, 3);

    dma_program(s, 5, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, 0x34000,
                FD_SECTOR);        /* 512 words: two sectors */
    g_assert_cmphex(fdc_read_sectors(s, 3, 2), ==, 0x00);
    expect_sector(s, 0x34000, 3, 2 * FD_SECTOR);
    g_assert_cmphex(qtest_inb(s, 0xd0), ==, 0x02);      /* TC of ch 5 */
    g_assert_cmphex(qtest_inb(s, 0xde) & 0x02, ==, 0x02);
    g_assert_cmphex(dma_read_reg(s, 5, false), ==,
                    ((0x34000 >> 1) + 0x200) & 0xffff);
    /* Word address 0xff80 in page 2 (bit 0 of the page ignored): the
     * second half lands at 0x20000, not 0x40000. */
    qtest_memset(s, 0x40000, 0xaa, 0x100);
    dma_program(s, 5, DMA_MODE_SINGLE | DMA_MODE_TO_MEM, 0x3ff00,
                FD_SECTOR);
    g_assert_cmphex(fdc_read_sectors(s, 3, 2), ==, 0x00);
    qtest_bufread(s, 0x3ff00, buf, 0x100);
    qtest_bufread(s, 0x20000, buf + 0x100, 2 * FD_SECTOR - 0x100);
    for (unsigned i = 0; i < 2 * FD_SECTOR; i++) {
        g_assert_cmphex(buf[i], ==, fdc_image_byte(off + i, 5));
    }
    g_assert_cmphex(qtest_readb(s, 0x40000), ==, 0xaa);
    /* Channel 2 is free now: nothing moves there. */
    g_assert_cmphex(qtest_inb(s, 0x08), ==, 0x00);
    dma_finish(s, &f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dma/address-count", test_address_count);
    g_test_add_func("/dma/masks-status", test_masks_and_status);
    g_test_add_func("/dma/page-registers", test_page_registers);
    g_test_add_func("/dma/delay-port-0xed", test_delay_port);
    g_test_add_func("/dma/transfer/single", test_transfer_single);
    g_test_add_func("/dma/transfer/autoinit", test_transfer_autoinit);
    g_test_add_func("/dma/transfer/decrement", test_transfer_decrement);
    g_test_add_func("/dma/transfer/page-wrap", test_transfer_page_wrap);
    g_test_add_func("/dma/transfer/verify-disable",
                    test_transfer_verify_disable);
    g_test_add_func("/dma/transfer/16bit", test_transfer_16bit);
    return g_test_run();
}
