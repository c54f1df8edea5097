/*
 * 8237 DMA controller pair: registers as firmware probes them (address
 * and count through the flip-flop, masks, requests, master clear) and the
 * page registers, with port 0x80 left to the POST port.
 */
#include "libqtest.h"

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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dma/address-count", test_address_count);
    g_test_add_func("/dma/masks-status", test_masks_and_status);
    g_test_add_func("/dma/page-registers", test_page_registers);
    g_test_add_func("/dma/delay-port-0xed", test_delay_port);
    return g_test_run();
}
