/*
 * The isochronous IN ring shared by usb-redir and usb-host
 * (hw/usb/iso-ring.c): order, the bound (oldest dropped and counted),
 * oversize packets refused, short destination buffers, clear and free;
 * the target fill level (nothing before it, then in order, filling again
 * after an underrun and after a clear).
 */
#include "qemu/osdep.h"
#include "hw/usb/iso-ring.h"
#include "hw/usb/usb.h"

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        b[i] = seed + i;
    }
}

static void test_order(void)
{
    UsbIsoRing r;
    uint8_t in[64], out[64];
    size_t len;
    int st;

    usb_iso_ring_init(&r, 4, 64);
    g_assert_true(usb_iso_ring_allocated(&r));
    g_assert_false(usb_iso_ring_pop(&r, out, sizeof(out), &len, &st));
    for (unsigned i = 0; i < 3; i++) {
        fill(in, 10 + i, i * 16);
        g_assert_true(usb_iso_ring_push(&r, in, 10 + i, USB_RET_SUCCESS));
    }
    g_assert_true(usb_iso_ring_push(&r, NULL, 0, USB_RET_IOERROR));
    g_assert_cmpuint(usb_iso_ring_count(&r), ==, 4);
    for (unsigned i = 0; i < 3; i++) {
        fill(in, 10 + i, i * 16);
        g_assert_true(usb_iso_ring_pop(&r, out, sizeof(out), &len, &st));
        g_assert_cmpuint(len, ==, 10 + i);
        g_assert_cmpint(st, ==, USB_RET_SUCCESS);
        g_assert_cmpmem(out, len, in, len);
    }
    g_assert_true(usb_iso_ring_pop(&r, out, sizeof(out), &len, &st));
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpint(st, ==, USB_RET_IOERROR);
    g_assert_cmpuint(r.dropped, ==, 0);
    usb_iso_ring_free(&r);
    g_assert_false(usb_iso_ring_allocated(&r));
}

/* A full ring drops its oldest packets, one per push, and counts them;
 * the bound never moves however many packets come. */
static void test_overflow(void)
{
    UsbIsoRing r;
    uint8_t b[8];
    size_t len;
    int st;

    usb_iso_ring_init(&r, 3, 8);
    for (unsigned i = 0; i < 1000; i++) {
        b[0] = i;
        g_assert_true(usb_iso_ring_push(&r, b, 1, USB_RET_SUCCESS));
        g_assert_cmpuint(usb_iso_ring_count(&r), <=, 3);
    }
    g_assert_cmpuint(r.dropped, ==, 997);
    for (unsigned i = 997; i < 1000; i++) {
        g_assert_true(usb_iso_ring_pop(&r, b, sizeof(b), &len, &st));
        g_assert_cmpuint(b[0], ==, (uint8_t)i);
    }
    g_assert_cmpuint(usb_iso_ring_count(&r), ==, 0);
    usb_iso_ring_free(&r);
}

/* Oversize packets are refused whole; a short destination gets the
 * first bytes and the whole length is reported. */
static void test_bounds(void)
{
    UsbIsoRing r;
    uint8_t in[32], out[32];
    size_t len;
    int st;

    usb_iso_ring_init(&r, 2, 16);
    fill(in, sizeof(in), 7);
    g_assert_false(usb_iso_ring_push(&r, in, 17, USB_RET_SUCCESS));
    g_assert_cmpuint(usb_iso_ring_count(&r), ==, 0);
    g_assert_true(usb_iso_ring_push(&r, in, 16, USB_RET_SUCCESS));
    memset(out, 0xee, sizeof(out));
    g_assert_true(usb_iso_ring_pop(&r, out, 4, &len, &st));
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmpmem(out, 4, in, 4);
    g_assert_cmpuint(out[4], ==, 0xee);
    /* clear forgets packets, keeps the count of drops */
    g_assert_true(usb_iso_ring_push(&r, in, 1, USB_RET_SUCCESS));
    g_assert_true(usb_iso_ring_push(&r, in, 1, USB_RET_SUCCESS));
    g_assert_true(usb_iso_ring_push(&r, in, 1, USB_RET_SUCCESS));
    usb_iso_ring_clear(&r);
    g_assert_cmpuint(usb_iso_ring_count(&r), ==, 0);
    g_assert_cmpuint(r.dropped, ==, 1);
    g_assert_false(usb_iso_ring_pop(&r, out, 4, &len, &st));
    usb_iso_ring_free(&r);
    /* an unallocated ring refuses everything */
    g_assert_false(usb_iso_ring_push(&r, in, 1, USB_RET_SUCCESS));
    g_assert_false(usb_iso_ring_pop(&r, out, 4, &len, &st));
}

/* The IN transaction's view: data, empty packets, babble, errors. */
static void test_take(void)
{
    UsbIsoRing r;
    uint8_t in[16], out[16];
    USBPacket p = { .pid = USB_TOKEN_IN, .buf = out, .len = 8 };

    usb_iso_ring_init(&r, 4, 16);
    fill(in, sizeof(in), 3);
    usb_iso_ring_push(&r, in, 5, USB_RET_SUCCESS);
    usb_iso_ring_push(&r, in, 12, USB_RET_SUCCESS);
    usb_iso_ring_push(&r, NULL, 0, USB_RET_IOERROR);
    usb_iso_ring_take(&r, &p);
    g_assert_cmpint(p.status, ==, USB_RET_SUCCESS);
    g_assert_cmpuint(p.actual, ==, 5);
    g_assert_cmpmem(out, 5, in, 5);
    usb_iso_ring_take(&r, &p);                  /* 12 bytes into 8 */
    g_assert_cmpint(p.status, ==, USB_RET_BABBLE);
    g_assert_cmpuint(p.actual, ==, 8);
    usb_iso_ring_take(&r, &p);
    g_assert_cmpint(p.status, ==, USB_RET_IOERROR);
    g_assert_cmpuint(p.actual, ==, 0);
    usb_iso_ring_take(&r, &p);                  /* empty: no NAK */
    g_assert_cmpint(p.status, ==, USB_RET_SUCCESS);
    g_assert_cmpuint(p.actual, ==, 0);
    usb_iso_ring_free(&r);
}

/* Take one transaction; returns its length (0: an empty packet) and
 * checks it succeeded and carried packet @seq's first byte. */
static size_t take_seq(UsbIsoRing *r, int seq)
{
    uint8_t out[16];
    USBPacket p = { .pid = USB_TOKEN_IN, .buf = out, .len = sizeof(out) };

    usb_iso_ring_take(r, &p);
    g_assert_cmpint(p.status, ==, USB_RET_SUCCESS);
    if (p.actual) {
        g_assert_cmpint(out[0], ==, seq);
    }
    return p.actual;
}

static void push_seq(UsbIsoRing *r, uint8_t seq)
{
    g_assert_true(usb_iso_ring_push(r, &seq, 1, USB_RET_SUCCESS));
}

static void test_target(void)
{
    UsbIsoRing r;
    uint8_t seq = 0;
    int next = 0;

    usb_iso_ring_init(&r, 8, 16);
    usb_iso_ring_set_target(&r, 4);
    /* filling: nothing delivered before 4 packets wait */
    for (unsigned i = 0; i < 3; i++) {
        push_seq(&r, seq++);
        g_assert_cmpuint(take_seq(&r, -1), ==, 0);
    }
    push_seq(&r, seq++);
    /* then in order, while one comes in for each one out ... */
    for (unsigned i = 0; i < 10; i++) {
        g_assert_cmpuint(take_seq(&r, next++), ==, 1);
        push_seq(&r, seq++);
    }
    /* ... and the ring drained to an underrun */
    while (usb_iso_ring_count(&r)) {
        g_assert_cmpuint(take_seq(&r, next++), ==, 1);
    }
    g_assert_cmpuint(r.underruns, ==, 0);
    g_assert_cmpuint(take_seq(&r, -1), ==, 0);
    g_assert_cmpuint(r.underruns, ==, 1);
    /* filling again: 3 packets are not enough */
    for (unsigned i = 0; i < 3; i++) {
        push_seq(&r, seq++);
        g_assert_cmpuint(take_seq(&r, -1), ==, 0);
    }
    push_seq(&r, seq++);
    g_assert_cmpuint(take_seq(&r, next++), ==, 1);
    g_assert_cmpuint(r.underruns, ==, 1);
    /* a clear (a stream stopped) fills again too */
    usb_iso_ring_clear(&r);
    next = seq;
    for (unsigned i = 0; i < 3; i++) {
        push_seq(&r, seq++);
    }
    g_assert_cmpuint(take_seq(&r, -1), ==, 0);
    /* overflow still drops the oldest: 12 pushed into 8 slots */
    for (unsigned i = 0; i < 9; i++) {
        push_seq(&r, seq++);
    }
    g_assert_cmpuint(usb_iso_ring_count(&r), ==, 8);
    next += 4;
    g_assert_cmpuint(take_seq(&r, next++), ==, 1);
    /* the target is capped below the ring's size, 0 delivers at once */
    usb_iso_ring_set_target(&r, 100);
    g_assert_cmpuint(r.target, ==, 7);
    usb_iso_ring_set_target(&r, 0);
    usb_iso_ring_clear(&r);
    push_seq(&r, 42);
    g_assert_cmpuint(take_seq(&r, 42), ==, 1);
    usb_iso_ring_free(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/usb-iso-ring/order", test_order);
    g_test_add_func("/usb-iso-ring/overflow", test_overflow);
    g_test_add_func("/usb-iso-ring/bounds", test_bounds);
    g_test_add_func("/usb-iso-ring/take", test_take);
    g_test_add_func("/usb-iso-ring/target", test_target);
    return g_test_run();
}
