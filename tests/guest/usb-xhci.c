/*
 * usb-xhci: an xHCI driver at CPL 3 (polled) that enumerates a usb-tablet.
 *
 *   The test runs kvmpc with -device qemu-xhci -device usb-tablet (port 1,
 *   a USB 2 port, high speed).  Here:
 *   - PCI: the controller found by class 0c.03.30 (1b36:000d); BAR0
 *     programmed when no firmware did, memory decoding and bus mastering;
 *   - capabilities: 8 ports, 64 slots; reset, DCBAA, command ring, one
 *     event ring segment, run;
 *   - port 1: connected at high speed; port reset with its port status
 *     change event;
 *   - Enable Slot, Address Device, GET_DESCRIPTOR (device: 0627:0001,
 *     configuration: the HID interface and its interrupt endpoint, the
 *     product string), SET_CONFIGURATION, Configure Endpoint, and a
 *     GET_REPORT control request (the tablet's 6-byte report).
 *   The same sequence runs from the host in tests/qtest/usb-xhci-test.c.
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define BAR_DEFAULT     0xfeb00000u

#define TRB_NORMAL      1
#define TRB_SETUP       2
#define TRB_DATA        3
#define TRB_STATUS      4
#define TRB_LINK        6
#define RING_TRBS       63

struct trb {
    uint64_t param;
    uint32_t status, control;
};

struct ring {
    struct trb trb[RING_TRBS + 1];
    unsigned idx;
    bool cycle;
} __attribute__((aligned(64)));

static struct ring cmd_ring, ep0_ring, ep1_ring;
static struct trb ev_ring[64] __attribute__((aligned(64)));
static uint64_t erst[2] __attribute__((aligned(64)));
static uint64_t dcbaa[16] __attribute__((aligned(64)));
static uint8_t out_ctx[1024] __attribute__((aligned(64)));
static uint8_t in_ctx[1088] __attribute__((aligned(64)));
static uint8_t data[256] __attribute__((aligned(64)));
static unsigned ev_idx;
static bool ev_cycle = true;
static unsigned xhci_devfn;
static uintptr_t bar, oper, rt, db;

static uint32_t pci_read32(unsigned devfn, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    return inl(PCI_DATA);
}

static void pci_write32(unsigned devfn, unsigned off, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    outl(PCI_DATA, v);
}

static bool find_xhci(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = pci_read32(devfn, 0);
        if (id != 0xffffffff && pci_read32(devfn, 8) >> 8 == 0x0c0330) {
            xhci_devfn = devfn;
            report(id == 0x000d1b36, "xHCI at %02x.%x is 1b36:000d (%08x)",
                   devfn >> 3, devfn & 7, id);
            return true;
        }
    }
    return false;
}

static void ring_init(struct ring *r)
{
    memset(r, 0, sizeof(*r));
    r->cycle = true;
    r->trb[RING_TRBS].param = (uintptr_t)r->trb;
    r->trb[RING_TRBS].control = (TRB_LINK << 10) | 2;
}

static uintptr_t ring_push(struct ring *r, uint64_t param, uint32_t status,
                           uint32_t control)
{
    struct trb *t = &r->trb[r->idx];

    t->param = param;
    t->status = status;
    barrier();
    t->control = (control & ~1u) | (r->cycle ? 1 : 0);
    if (++r->idx == RING_TRBS) {
        r->trb[RING_TRBS].control = (TRB_LINK << 10) | 2 | (r->cycle ? 1 : 0);
        r->idx = 0;
        r->cycle = !r->cycle;
    }
    return (uintptr_t)t;
}

/* The next event of @type within a second; false on a timeout. */
static bool event_wait(unsigned type, struct trb *out)
{
    uint64_t end = deadline_us(1000000);

    while (!expired(end)) {
        struct trb *e = &ev_ring[ev_idx];
        if ((e->control & 1) != ev_cycle) {
            cpu_relax();
            continue;
        }
        *out = *e;
        if (++ev_idx == 64) {
            ev_idx = 0;
            ev_cycle = !ev_cycle;
        }
        mmio_write64(rt + 0x38, (uintptr_t)&ev_ring[ev_idx] | 8);
        if (((out->control >> 10) & 0x3f) == type) {
            return true;
        }
    }
    return false;
}

static unsigned command(uint64_t param, uint32_t control, unsigned *slot)
{
    struct trb ev;

    ring_push(&cmd_ring, param, 0, control);
    mmio_write32(db, 0);
    if (!event_wait(33, &ev)) {
        return 0;
    }
    if (slot) {
        *slot = ev.control >> 24;
    }
    return ev.status >> 24;
}

static int control_in(unsigned slot, uint8_t type, uint8_t req,
                      uint16_t value, uint16_t index, uint16_t len)
{
    uint64_t setup = type | req << 8 | (uint64_t)value << 16 |
                     (uint64_t)index << 32 | (uint64_t)len << 48;
    struct trb ev;
    int got = len;

    ring_push(&ep0_ring, setup, 8, (TRB_SETUP << 10) | (1 << 6) |
              (len ? 3u << 16 : 0));
    if (len) {
        ring_push(&ep0_ring, (uintptr_t)data, len,
                  (TRB_DATA << 10) | (1 << 16) | (1 << 2));
    }
    ring_push(&ep0_ring, 0, 0, (TRB_STATUS << 10) | (1 << 5) |
              (len ? 0 : 1 << 16));
    mmio_write32(db + 4 * slot, 1);
    if (!event_wait(32, &ev)) {
        return -1;
    }
    if ((ev.status >> 24) == 13) {
        got = len - (ev.status & 0xffffff);
        if (!event_wait(32, &ev)) {
            return -1;
        }
    }
    return (ev.status >> 24) == 1 ? got : -(int)(ev.status >> 24);
}

int main(void)
{
    struct trb ev;
    unsigned slot = 0, cc;
    uint32_t ctx[8];

    report_prefix("usb-xhci");
    if (!find_xhci()) {
        report(false, "an xHCI controller on bus 0");
        report_summary();
    }
    bar = pci_read32(xhci_devfn, 0x10) & ~0xfu;
    if (!bar) {
        pci_write32(xhci_devfn, 0x10, BAR_DEFAULT);
        pci_write32(xhci_devfn, 0x14, 0);
        bar = pci_read32(xhci_devfn, 0x10) & ~0xfu;
    }
    pci_write32(xhci_devfn, 0x04, pci_read32(xhci_devfn, 0x04) | 0x06);
    oper = bar + (mmio_read32(bar) & 0xff);
    rt = bar + mmio_read32(bar + 0x18);
    db = bar + mmio_read32(bar + 0x14);
    report(mmio_read32(bar + 4) >> 24 == 8, "8 ports");
    report((mmio_read32(bar + 4) & 0xff) == 64, "64 slots");

    mmio_write32(oper, 2);                          /* HCRST */
    mmio_write32(oper + 0x38, 8);
    mmio_write64(oper + 0x30, (uintptr_t)dcbaa);
    ring_init(&cmd_ring);
    mmio_write64(oper + 0x18, (uintptr_t)cmd_ring.trb | 1);
    erst[0] = (uintptr_t)ev_ring;
    erst[1] = 64;
    mmio_write32(rt + 0x28, 1);
    mmio_write64(rt + 0x38, (uintptr_t)ev_ring);
    mmio_write64(rt + 0x30, (uintptr_t)erst);
    mmio_write32(oper, 1);                          /* run */
    report(!(mmio_read32(oper + 4) & 1), "running");

    report((mmio_read32(oper + 0x400) & 1) &&
           ((mmio_read32(oper + 0x400) >> 10) & 0xf) == 3,
           "port 1: a high-speed device");
    mmio_write32(oper + 0x400, 0x210);              /* PR */
    report(event_wait(34, &ev) && ev.param >> 24 == 1,
           "port status change event for port 1");
    report(mmio_read32(oper + 0x400) & 2, "port 1 enabled after reset");

    cc = command(0, 9 << 10, &slot);
    report(cc == 1 && slot >= 1, "Enable Slot: slot %u", slot);
    dcbaa[slot] = (uintptr_t)out_ctx;
    memset(in_ctx, 0, sizeof(in_ctx));
    ctx[0] = 3;
    memcpy(in_ctx + 4, ctx, 4);
    ctx[0] = (1u << 27) | (3u << 20);
    ctx[1] = 1u << 16;
    memcpy(in_ctx + 32, ctx, 8);
    ring_init(&ep0_ring);
    ctx[0] = 0;
    ctx[1] = (64u << 16) | (4 << 3) | 6;
    memcpy(in_ctx + 64, ctx, 8);
    *(uint64_t *)(in_ctx + 72) = (uintptr_t)ep0_ring.trb | 1;
    cc = command((uintptr_t)in_ctx, (11 << 10) | (slot << 24), NULL);
    report(cc == 1, "Address Device");

    report(control_in(slot, 0x80, 6, 0x100, 0, 18) == 18 &&
           data[8] == 0x27 && data[9] == 0x06 && data[2] == 0 &&
           data[3] == 2, "device descriptor: 0627, USB 2.0");
    report(control_in(slot, 0x80, 6, 0x200, 0, 255) == 34 &&
           data[14] == 3 && data[29] == 0x81, "configuration: HID, EP1 IN");
    report(control_in(slot, 0x80, 6, 0x303, 0x409, 255) == 32 &&
           data[2] == 'Q', "product string");
    report(control_in(slot, 0x00, 9, 1, 0, 0) == 0, "SET_CONFIGURATION");

    memset(in_ctx, 0, sizeof(in_ctx));
    ctx[0] = 0;
    ctx[1] = 1 | (1 << 3);
    memcpy(in_ctx, ctx, 8);
    ctx[0] = 31u << 27;
    memcpy(in_ctx + 32, ctx, 4);
    ring_init(&ep1_ring);
    ctx[1] = (8u << 16) | (7 << 3) | 6;
    memcpy(in_ctx + 32 * 4 + 4, &ctx[1], 4);
    *(uint64_t *)(in_ctx + 32 * 4 + 8) = (uintptr_t)ep1_ring.trb | 1;
    cc = command((uintptr_t)in_ctx, (12 << 10) | (slot << 24), NULL);
    report(cc == 1, "Configure Endpoint (EP1 IN interrupt)");
    report(control_in(slot, 0xa1, 1, 0x100, 0, 8) == 6,
           "GET_REPORT: a 6-byte tablet report");
    report_summary();
}
