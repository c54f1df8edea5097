/*
 * Helpers for the floppy controller and 8237 DMA qtests (fdc-test.c,
 * legacy/dma-test.c): images whose bytes name their sector, FDC command
 * and result phases through the FIFO with the MSR handshake, and 8237
 * channel programming.
 */
#ifndef TESTS_QTEST_FDC_UTIL_H
#define TESTS_QTEST_FDC_UTIL_H

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include "libqtest.h"

#define FDC_BASE        0x3f0
#define FDC_SRA         (FDC_BASE + 0)
#define FDC_SRB         (FDC_BASE + 1)
#define FDC_DOR         (FDC_BASE + 2)
#define FDC_TDR         (FDC_BASE + 3)
#define FDC_MSR         (FDC_BASE + 4)
#define FDC_DSR         (FDC_BASE + 4)
#define FDC_FIFO        (FDC_BASE + 5)
#define FDC_DIR         (FDC_BASE + 7)
#define FDC_CCR         (FDC_BASE + 7)
#define FDC_IRQ         6

#define MSR_RQM         0x80
#define MSR_DIO         0x40
#define MSR_NDMA        0x20
#define MSR_CB          0x10

#define CMD_SPECIFY     0x03
#define CMD_SENSE_DRIVE 0x04
#define CMD_WRITE       0x45    /* MFM */
#define CMD_READ        0x46    /* MFM */
#define CMD_RECAL       0x07
#define CMD_SENSE_INT   0x08
#define CMD_READ_ID     0x4a
#define CMD_FORMAT      0x4d
#define CMD_DUMPREG     0x0e
#define CMD_SEEK        0x0f
#define CMD_VERSION     0x10
#define CMD_PERPEND     0x12
#define CMD_CONFIGURE   0x13
#define CMD_LOCK        0x14
#define CMD_VERIFY      0x56    /* MFM */
#define CMD_PART_ID     0x18
#define CMD_MT          0x80

#define FD_SECTOR       512
#define FD_144_SIZE     (80 * 2 * 18 * FD_SECTOR)

/* Byte @i of an image made by fdc_make_image(). */
static inline uint8_t fdc_image_byte(size_t i, uint8_t salt)
{
    return (uint8_t)(i / FD_SECTOR * 7 + i * 13 + salt);
}

static G_GNUC_UNUSED char *fdc_make_image(const char *dir, const char *name,
                                          size_t size, uint8_t salt)
{
    char *path = g_build_filename(dir, name, NULL);
    g_autofree uint8_t *buf = g_malloc(size);

    for (size_t i = 0; i < size; i++) {
        buf[i] = fdc_image_byte(i, salt);
    }
    g_assert_true(g_file_set_contents(path, (char *)buf, size, NULL));
    return path;
}

/* Offset of C/H/R in a 1.44 MB image. */
static inline size_t fdc_offset(unsigned c, unsigned h, unsigned r)
{
    return ((c * 2 + h) * 18 + r - 1) * (size_t)FD_SECTOR;
}

/*
 * The controller moves sectors to and from the image asynchronously: in
 * the execution phase RQM (non-DMA) or DREQ (DMA) comes once the sector
 * is in.  Wait (at most 10 s) until (MSR & @mask) == @value; the MSR.
 */
static G_GNUC_UNUSED uint8_t fdc_wait_msr(QTestState *s, uint8_t mask,
                                          uint8_t value)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    uint8_t msr;

    while (((msr = qtest_inb(s, FDC_MSR)) & mask) != value) {
        if (g_get_monotonic_time() > deadline) {
            g_error("MSR %02x: still not %02x under mask %02x", msr, value,
                    mask);
        }
        g_usleep(100);
    }
    return msr;
}

/* Wait until the controller asks for a byte or has a result (RQM). */
static G_GNUC_UNUSED uint8_t fdc_wait_rqm(QTestState *s)
{
    return fdc_wait_msr(s, MSR_RQM, MSR_RQM);
}

/* Wait (at most 10 s) for IRQ 6, as a driver waiting for the interrupt
 * of a data command does. */
static G_GNUC_UNUSED void fdc_wait_irq(QTestState *s)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (!qtest_get_irq(s, FDC_IRQ)) {
        if (g_get_monotonic_time() > deadline) {
            g_error("IRQ 6 never came");
        }
        g_usleep(100);
    }
}

/* Wait until the 8237's status register (@port 0x08 or 0xd0) shows the
 * request bits @req (bits 4-7) for a channel the controller asks for. */
static G_GNUC_UNUSED void dma_wait_request(QTestState *s, uint16_t port,
                                           uint8_t req)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while ((qtest_inb(s, port) & 0xf0) != req) {
        if (g_get_monotonic_time() > deadline) {
            g_error("8237 status: request bits never %02x", req);
        }
        g_usleep(100);
    }
}

static G_GNUC_UNUSED void fdc_cmd(QTestState *s, const uint8_t *bytes,
                                  unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t msr = qtest_inb(s, FDC_MSR);
        g_assert_cmphex(msr & (MSR_RQM | MSR_DIO), ==, MSR_RQM);
        qtest_outb(s, FDC_FIFO, bytes[i]);
    }
}

/* Read @n result bytes; afterwards the controller waits for a command. */
static G_GNUC_UNUSED void fdc_result(QTestState *s, uint8_t *out, unsigned n)
{
    fdc_wait_rqm(s);            /* the execution phase may still run */
    for (unsigned i = 0; i < n; i++) {
        uint8_t msr = qtest_inb(s, FDC_MSR);
        g_assert_cmphex(msr & (MSR_RQM | MSR_DIO | MSR_NDMA), ==,
                        MSR_RQM | MSR_DIO);
        out[i] = qtest_inb(s, FDC_FIFO);
    }
    g_assert_cmphex(qtest_inb(s, FDC_MSR) & ~0x0f, ==, MSR_RQM);
}

static G_GNUC_UNUSED uint8_t fdc_result1(QTestState *s)
{
    uint8_t b;

    fdc_result(s, &b, 1);
    return b;
}

/* SENSE INTERRUPT STATUS: ST0 and PCN. */
static G_GNUC_UNUSED void fdc_sense_int(QTestState *s, uint8_t *st0,
                                        uint8_t *pcn)
{
    uint8_t cmd = CMD_SENSE_INT, r[2];

    fdc_cmd(s, &cmd, 1);
    fdc_result(s, r, 2);
    *st0 = r[0];
    *pcn = r[1];
}

static G_GNUC_UNUSED void fdc_seek(QTestState *s, unsigned drive,
                                   unsigned head, unsigned track)
{
    uint8_t cmd[3] = { CMD_SEEK, drive | head << 2, track };
    uint8_t st0, pcn;

    fdc_cmd(s, cmd, 3);
    fdc_sense_int(s, &st0, &pcn);
    g_assert_cmphex(st0, ==, 0x20 | head << 2 | drive);
    g_assert_cmpuint(pcn, ==, track);
}

/* READ/WRITE/VERIFY DATA's nine bytes. */
static G_GNUC_UNUSED void fdc_rw(QTestState *s, uint8_t op, unsigned drive,
                                 unsigned c, unsigned h, unsigned r,
                                 unsigned eot)
{
    uint8_t cmd[9] = { op, drive | h << 2, c, h, r, 2, eot, 0x1b, 0xff };

    fdc_cmd(s, cmd, 9);
}

/* The seven result bytes of a data command. */
static G_GNUC_UNUSED void fdc_rw_result(QTestState *s, uint8_t res[7])
{
    fdc_result(s, res, 7);
}

/* ---- 8237 ---- */

static const uint16_t dma_page_port[8] = {
    0x87, 0x83, 0x81, 0x82, 0x8f, 0x8b, 0x89, 0x8a,
};

/*
 * Program channel @ch (0-7): @mode's low two bits are replaced by the
 * channel's; @addr is the byte address (word-aligned for 4-7); @units is
 * the number of bytes (words for 4-7) to move.
 */
static G_GNUC_UNUSED void dma_program(QTestState *s, unsigned ch,
                                      uint8_t mode, uint32_t addr,
                                      uint32_t units)
{
    bool wide = ch >= 4;
    unsigned c = ch & 3;
    uint16_t base = wide ? 0xc0 : 0x00;
    unsigned shift = wide ? 1 : 0;
    uint16_t a = wide ? (addr >> 1) & 0xffff : addr & 0xffff;
    uint16_t count = units - 1;

    qtest_outb(s, base + (0x0a << shift), 0x04 | c);          /* mask */
    qtest_outb(s, base + (0x0c << shift), 0);                 /* ff */
    qtest_outb(s, base + (0x0b << shift), (mode & ~3) | c);
    qtest_outb(s, base + ((c * 2) << shift), a & 0xff);
    qtest_outb(s, base + ((c * 2) << shift), a >> 8);
    qtest_outb(s, dma_page_port[ch], addr >> 16);
    qtest_outb(s, base + ((c * 2 + 1) << shift), count & 0xff);
    qtest_outb(s, base + ((c * 2 + 1) << shift), count >> 8);
    qtest_outb(s, base + (0x0a << shift), c);                 /* unmask */
}

/* Current address (low/high) or count of channel @ch. */
static G_GNUC_UNUSED uint16_t dma_read_reg(QTestState *s, unsigned ch,
                                           bool count)
{
    bool wide = ch >= 4;
    unsigned c = ch & 3;
    uint16_t base = wide ? 0xc0 : 0x00;
    unsigned shift = wide ? 1 : 0;
    uint16_t port = base + ((c * 2 + count) << shift);
    uint16_t lo;

    qtest_outb(s, base + (0x0c << shift), 0);
    lo = qtest_inb(s, port);
    return lo | qtest_inb(s, port) << 8;
}

#define DMA_MODE_SINGLE     0x40
#define DMA_MODE_TO_MEM     0x04
#define DMA_MODE_FROM_MEM   0x08
#define DMA_MODE_AUTOINIT   0x10
#define DMA_MODE_DECREMENT  0x20

#endif
