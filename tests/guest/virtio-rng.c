/*
 * virtio-rng: a virtio-rng-pci driver run inside a guest at CPL 3, over
 * the modern transport (VIRTIO 1.2, 4.1: vendor capabilities, common
 * configuration, notify with notify_off_multiplier) with MSI-X.
 *
 *   - PCI: the first 1af4:1005 function (the test passes -device
 *     virtio-rng-pci), BAR1 (MSI-X) and BAR4 (modern, 64-bit) mapped, the
 *     capability chain walked for the common, notify, ISR and device
 *     structures;
 *   - initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, VERSION_1,
 *     FEATURES_OK read back, a split queue 0 in static memory, MSI-X
 *     vector 0 for it (and NO_VECTOR refused for vector 5), DRIVER_OK;
 *   - ROUNDS requests of 64 bytes: kick, wait for the MSI-X interrupt
 *     (LAPIC vector 0x40), then the used ring names the buffer, with 64
 *     bytes that are not all zero, all buffers different;
 *   - queue_reset (VIRTIO_F_RING_RESET) and re-enable, one more request.
 * With KVM, the notify write is an ioeventfd and the interrupt an irqfd:
 * the handler runs without a userspace exit of this vCPU.
 */
#include "guest.h"

#define MSIX_BAR_ADDR   0xfe000000u
#define MODERN_BAR_ADDR 0xfe100000u
#define IRQ_VECTOR      0x40
#define QSIZE           8
#define BUF_LEN         64
#define ROUNDS          16

static struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
static uint8_t bufs[ROUNDS + 1][BUF_LEN] __attribute__((aligned(64)));

static unsigned devfn;
static uintptr_t common, notify, isr;
static uint32_t notify_mult;
static volatile uint32_t irq_count;
static uint16_t avail_idx, used_seen;




static void msix_irq(int vector)
{
    irq_count++;
    lapic_eoi();
}

static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10051af4 };
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
    isr = c.isr;
    return common && notify && isr;
}

static uint8_t find_msix_cap(void)
{
    for (uint8_t cap = pci_cfg_read8(devfn, 0x34); cap; cap = pci_cfg_read8(devfn, cap + 1)) {
        if (pci_cfg_read8(devfn, cap) == 0x11) {
            return cap;
        }
    }
    return 0;
}

static bool setup_msix(void)
{
    uint8_t cap = find_msix_cap();
    uint32_t table;
    uintptr_t e;

    if (!cap) {
        return false;
    }
    table = pci_cfg_read32(devfn, cap + 4);
    e = MSIX_BAR_ADDR + (table & ~7u);
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

static void setup_queue(void)
{
    memset(desc, 0, sizeof(desc));
    memset((void *)avail, 0, sizeof(avail));
    memset((void *)used, 0, sizeof(used));
    avail_idx = used_seen = 0;
    mmio_write16(common + C_Q_SELECT, 0);
    mmio_write16(common + C_Q_SIZE, QSIZE);
    mmio_write64(common + C_Q_DESC, (uintptr_t)desc);
    mmio_write64(common + C_Q_AVAIL, (uintptr_t)avail);
    mmio_write64(common + C_Q_USED, (uintptr_t)used);
    mmio_write16(common + C_Q_MSIX, 0);
    mmio_write16(common + C_Q_ENABLE, 1);
}

static bool init_device(void)
{
    uint32_t hi;

    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, 1);
    mmio_write8(common + C_STATUS, 3);
    mmio_write32(common + C_DFSELECT, 1);
    hi = mmio_read32(common + C_DF);
    report(hi & 1, "VERSION_1 offered");
    report(hi & (1u << 8), "RING_RESET offered");
    mmio_write32(common + C_GFSELECT, 0);
    mmio_write32(common + C_GF, 0);
    mmio_write32(common + C_GFSELECT, 1);
    mmio_write32(common + C_GF, 1 | (1u << 8));
    mmio_write8(common + C_STATUS, 0xb);
    if (!(mmio_read8(common + C_STATUS) & 8)) {
        return false;
    }
    mmio_write16(common + C_Q_SELECT, 0);
    mmio_write16(common + C_Q_MSIX, 5);
    report(mmio_read16(common + C_Q_MSIX) == 0xffff,
           "vector 5 of 2 refused (reads NO_VECTOR)");
    setup_queue();
    report(mmio_read16(common + C_Q_MSIX) == 0, "queue 0 on vector 0");
    mmio_write8(common + C_STATUS, 0xf);
    return mmio_read8(common + C_STATUS) == 0xf;
}

static bool request(uint8_t *buf)
{
    uint16_t slot = avail_idx % QSIZE;
    uint32_t before = irq_count;
    uint64_t deadline = rdtsc() + tsc_hz();     /* one second */
    uint32_t id, len;

    memset(buf, 0, BUF_LEN);
    desc[slot] = (struct vring_desc){ (uintptr_t)buf, BUF_LEN, 2, 0 };
    avail[2 + slot] = slot;
    barrier();
    avail[1] = ++avail_idx;
    barrier();
    mmio_write16(notify + 0 * notify_mult, 0);
    while (irq_count == before && rdtsc() < deadline) {
        cpu_relax();
    }
    if (irq_count == before) {
        report_info("no interrupt (ISR %#x)", mmio_read8(isr));
        return false;
    }
    if ((uint16_t)(used[0] >> 16) == used_seen) {
        return false;                           /* used.idx did not move */
    }
    id = used[1 + 2 * (used_seen % QSIZE)];
    len = used[2 + 2 * (used_seen % QSIZE)];
    used_seen++;
    for (unsigned i = 0; i < BUF_LEN; i++) {
        if (buf[i]) {
            return id == slot && len == BUF_LEN;
        }
    }
    return false;
}

int main(void)
{
    bool ok = true, distinct = true;

    report_prefix("virtio-rng");
    if (!find_device()) {
        report(false, "no 1af4:1005 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    report(setup_msix(), "MSI-X enabled");
    report(init_device(), "FEATURES_OK and DRIVER_OK");
    for (unsigned r = 0; r < ROUNDS; r++) {
        ok &= request(bufs[r]);
        if (r && !memcmp(bufs[r], bufs[r - 1], BUF_LEN)) {
            distinct = false;
        }
    }
    report(ok, "%u requests of %u bytes filled, each with an interrupt",
           ROUNDS, BUF_LEN);
    report(distinct, "every buffer differs from the one before");
    mmio_write16(common + C_Q_SELECT, 0);
    mmio_write16(common + C_Q_RESET, 1);
    report(mmio_read16(common + C_Q_ENABLE) == 0, "queue_reset disables");
    setup_queue();
    report(request(bufs[ROUNDS]), "a request after queue_reset");
    report_summary();
}
