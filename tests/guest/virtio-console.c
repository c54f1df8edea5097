/*
 * virtio-console: a virtio-serial-pci driver run inside a guest at CPL 3
 * (VIRTIO 1.2, 5.3, over the modern transport of 4.1), echoing through a
 * unix-socket chardev whose peer (run-virtio-console-test.py) sends back
 * every byte it gets.
 *
 *   - PCI: the first 1af4:1003 function (-device virtio-serial-pci,
 *     max_ports=2 and a virtserialport nr=1 named org.kvmpc.echo), BAR1
 *     (MSI-X) and BAR4 (modern) mapped, the capabilities walked;
 *   - initialisation with VERSION_1 and VIRTIO_CONSOLE_F_MULTIPORT,
 *     max_nr_ports read from the configuration, the control queues (2, 3)
 *     and port 1's queues (4, 5), all on MSI-X vector 0;
 *   - the multiport handshake: DEVICE_READY -> DEVICE_ADD(1),
 *     PORT_READY(1) -> PORT_NAME(1, "org.kvmpc.echo") and PORT_OPEN(1, 1)
 *     (the chardev is connected), then the guest's PORT_OPEN(1, 1);
 *   - ROUNDS messages out on port 1's transmit queue, each echoed back
 *     into a receive buffer, compared byte for byte.
 */
#include "guest.h"

#define MSIX_BAR_ADDR   0xfe000000u
#define MODERN_BAR_ADDR 0xfe100000u
#define IRQ_VECTOR      0x40
#define QSIZE           8
#define BUF_LEN         256
#define ROUNDS          32
#define NQUEUES         4       /* 2, 3 (control), 4, 5 (port 1) */


/* control events (5.3.6.2) */
#define DEVICE_READY    0
#define DEVICE_ADD      1
#define PORT_READY      3
#define PORT_OPEN       6
#define PORT_NAME       7

typedef struct Ring {
    unsigned index;             /* queue number */
    struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
    volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
    volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
    uint8_t bufs[QSIZE][BUF_LEN];
    uint16_t avail_idx, used_seen;
} Ring;

static Ring rings[NQUEUES];
#define CIN     (&rings[0])
#define COUT    (&rings[1])
#define RX      (&rings[2])
#define TX      (&rings[3])

static unsigned devfn;
static uintptr_t common, notify, devcfg;
static uint32_t notify_mult;
static volatile uint32_t irq_count;




static void msix_irq(int vector)
{
    irq_count++;
    lapic_eoi();
}

static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10031af4 };
    int d = pci_find_id(ids, ARRAY_SIZE(ids));

    devfn = d;
    return d >= 0;
}

static bool map_device(void)
{
    struct virtio_pci_caps c;

    pci_cfg_write32(devfn, 0x14, MSIX_BAR_ADDR);
    virtio_pci_map(devfn, MODERN_BAR_ADDR, &c);
    common = c.common;
    notify = c.notify;
    notify_mult = c.notify_mult;
    devcfg = c.device;
    return common && notify && devcfg;
}

static bool setup_msix(void)
{
    uint8_t cap;
    uintptr_t e;

    for (cap = pci_cfg_read8(devfn, 0x34); cap && pci_cfg_read8(devfn, cap) != 0x11;
         cap = pci_cfg_read8(devfn, cap + 1)) {
    }
    if (!cap) {
        return false;
    }
    e = MSIX_BAR_ADDR + (pci_cfg_read32(devfn, cap + 4) & ~7u);
    mmio_write32(e, 0xfee00000u | lapic_id() << 12);
    mmio_write32(e + 4, 0);
    mmio_write32(e + 8, IRQ_VECTOR);
    mmio_write32(e + 12, 0);
    pci_cfg_write32(devfn, cap, pci_cfg_read32(devfn, cap) | 0x80000000u);   /* MSI-X enable */
    irq_set_handler(IRQ_VECTOR, msix_irq);
    lapic_enable();
    irq_enable();
    return true;
}

static void setup_ring(Ring *r, unsigned index)
{
    r->index = index;
    mmio_write16(common + C_Q_SELECT, index);
    mmio_write16(common + C_Q_SIZE, QSIZE);
    mmio_write64(common + C_Q_DESC, (uintptr_t)r->desc);
    mmio_write64(common + C_Q_AVAIL, (uintptr_t)r->avail);
    mmio_write64(common + C_Q_USED, (uintptr_t)r->used);
    mmio_write16(common + C_Q_MSIX, 0);
    mmio_write16(common + C_Q_ENABLE, 1);
}

static bool init_device(void)
{
    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, 1);
    mmio_write8(common + C_STATUS, 3);
    mmio_write32(common + C_GFSELECT, 0);
    mmio_write32(common + C_GF, 1u << 1);       /* MULTIPORT */
    mmio_write32(common + C_GFSELECT, 1);
    mmio_write32(common + C_GF, 1);             /* VERSION_1 */
    mmio_write8(common + C_STATUS, 0xb);
    if (!(mmio_read8(common + C_STATUS) & 8)) {
        return false;
    }
    for (unsigned i = 0; i < NQUEUES; i++) {
        setup_ring(&rings[i], 2 + i);
    }
    mmio_write8(common + C_STATUS, 0xf);
    return mmio_read8(common + C_STATUS) == 0xf;
}

/* Make buffer @slot of @r available with @len bytes, and kick. */
static void post(Ring *r, unsigned slot, uint32_t len, bool writable)
{
    r->desc[slot] = (struct vring_desc){ (uintptr_t)r->bufs[slot], len,
                                         writable ? 2 : 0, 0 };
    r->avail[2 + r->avail_idx % QSIZE] = slot;
    barrier();
    r->avail[1] = ++r->avail_idx;
    barrier();
    mmio_write16(notify + r->index * notify_mult, r->index);
}

/* The next used buffer of @r within a second: its slot and length. */
static bool get_used(Ring *r, uint32_t *slot, uint32_t *len)
{
    uint64_t deadline = rdtsc() + tsc_hz();

    while ((uint16_t)(r->used[0] >> 16) == r->used_seen) {
        if (rdtsc() >= deadline) {
            return false;
        }
        cpu_relax();
    }
    barrier();
    *slot = r->used[1 + 2 * (r->used_seen % QSIZE)];
    *len = r->used[2 + 2 * (r->used_seen % QSIZE)];
    r->used_seen++;
    return *slot < QSIZE && *len <= BUF_LEN;
}

static bool send_ctrl(uint32_t id, uint16_t event, uint16_t value)
{
    unsigned slot = COUT->avail_idx % QSIZE;
    uint32_t s, len;
    uint8_t *b = COUT->bufs[slot];

    memcpy(b, &id, 4);
    memcpy(b + 4, &event, 2);
    memcpy(b + 6, &value, 2);
    post(COUT, slot, 8, false);
    return get_used(COUT, &s, &len) && s == slot;
}

/* The next control message; @name gets PORT_NAME's text. */
static bool get_ctrl(uint32_t *id, uint16_t *event, uint16_t *value,
                     char *name, size_t name_size)
{
    uint32_t slot, len;
    const uint8_t *b;

    if (!get_used(CIN, &slot, &len) || len < 8) {
        return false;
    }
    b = CIN->bufs[slot];
    memcpy(id, b, 4);
    memcpy(event, b + 4, 2);
    memcpy(value, b + 6, 2);
    if (name && len > 8 && len - 8 <= name_size) {
        memcpy(name, b + 8, len - 8);
        name[name_size - 1] = 0;
    }
    post(CIN, slot, BUF_LEN, true);             /* give it back */
    return true;
}

static bool expect_ctrl(uint32_t id, uint16_t event, uint16_t value,
                        char *name, size_t name_size)
{
    uint32_t i;
    uint16_t ev, val;

    if (!get_ctrl(&i, &ev, &val, name, name_size)) {
        report_info("no control message (wanted event %u)", event);
        return false;
    }
    if (i != id || ev != event || val != value) {
        report_info("control message %u/%u/%u, wanted %u/%u/%u", i, ev, val,
                    id, event, value);
        return false;
    }
    return true;
}

static bool echo_round(unsigned n)
{
    unsigned slot = TX->avail_idx % QSIZE;
    char *msg = (char *)TX->bufs[slot];
    int len = snprintf(msg, BUF_LEN, "echo %u: the quick brown fox %u", n,
                       n * 7919);
    uint32_t s, l, got = 0;

    post(TX, slot, len, false);
    if (!get_used(TX, &s, &l) || s != slot) {
        report_info("round %u: transmit buffer not returned", n);
        return false;
    }
    /* The echo may come back in pieces. */
    while (got < (uint32_t)len) {
        if (!get_used(RX, &s, &l) ||
            memcmp(RX->bufs[s], msg + got, l) != 0) {
            report_info("round %u: echo wrong or missing after %u bytes", n,
                        got);
            return false;
        }
        got += l;
        post(RX, s, BUF_LEN, true);
    }
    return got == (uint32_t)len;
}

int main(void)
{
    char name[64] = "";
    bool ok = true;

    report_prefix("virtio-console");
    if (!find_device()) {
        report(false, "no 1af4:1003 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    report(setup_msix(), "MSI-X enabled");
    report(init_device(), "MULTIPORT negotiated, DRIVER_OK");
    report(mmio_read32(devcfg + 4) == 2, "max_nr_ports is 2");
    for (unsigned i = 0; i < QSIZE; i++) {
        post(CIN, i, BUF_LEN, true);
        post(RX, i, BUF_LEN, true);
    }
    report(send_ctrl(0, DEVICE_READY, 1) &&
           expect_ctrl(1, DEVICE_ADD, 1, NULL, 0),
           "DEVICE_READY answered with DEVICE_ADD for port 1");
    report(send_ctrl(1, PORT_READY, 1) &&
           expect_ctrl(1, PORT_NAME, 1, name, sizeof(name)) &&
           !memcmp(name, "org.kvmpc.echo", 15),
           "PORT_READY answered with PORT_NAME org.kvmpc.echo");
    report(expect_ctrl(1, PORT_OPEN, 1, NULL, 0),
           "PORT_OPEN: the host side is connected");
    report(send_ctrl(1, PORT_OPEN, 1), "the guest opened port 1");
    for (unsigned n = 0; n < ROUNDS && ok; n++) {
        ok = echo_round(n);
    }
    report(ok, "%u messages echoed through the chardev", ROUNDS);
    report(irq_count > 0, "MSI-X interrupts arrived (%u)", irq_count);
    report_summary();
}
