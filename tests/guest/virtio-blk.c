/*
 * virtio-blk: a virtio-blk-pci driver run inside a guest at CPL 3 (OASIS
 * VIRTIO 1.2, 5.2 over 4.1), polled, with a split or a packed queue.
 *
 *   - PCI: the first 1af4:1001 (or 1042) function, BAR1 (MSI-X) and BAR4
 *     (modern) mapped, the vendor capabilities walked;
 *   - initialisation (3.1.1): VERSION_1, FLUSH, DISCARD, WRITE_ZEROES and,
 *     with "packed=1" on the command line, RING_PACKED; queue 0 of QSIZE;
 *     MSI-X vector 0 for the queue (test mode: the interrupts are counted);
 *   - test mode: QD writes of 4 KiB in flight at once (sectors 2048..2111,
 *     byte i of sector s = (s * 31 + i * 7 + 0x3c) & 0xff), read back and
 *     compared, FLUSH, GET_ID ("kvmpc-vblk"), DISCARD of sectors
 *     4096..4351, WRITE_ZEROES of 8192..8319 (UNMAP) and 8320..8447, both
 *     read back as zeroes, an out-of-range read (IOERR) and an unknown
 *     type (UNSUPP).  run-virtio-blk-test.py checks the image afterwards;
 *   - bench mode ("bench=randread|randwrite|seqread bs=N qd=N secs=N"):
 *     requests kept QD deep for SECS seconds (TSC), interrupts off, one
 *     kick per batch; prints "virtio-blk-bench: ... iops=N mbps=N".
 * Buffers live at 64 MiB (the kit maps the first 4 GiB user-accessible).
 */
#include "guest.h"

#define MSIX_BAR_ADDR   0xfe000000u
#define MODERN_BAR_ADDR 0xfe100000u
#define IRQ_VECTOR      0x40
#define QSIZE           96          /* 32 chains of three descriptors */
#define MAX_QD          32
#define DATA_BASE       0x4000000ul /* 64 MiB: QD buffers of up to 1 MiB */
#define HDR_BASE        0x3f00000ul


#define T_IN            0
#define T_OUT           1
#define T_FLUSH         4
#define T_GET_ID        8
#define T_DISCARD       11
#define T_WRITE_ZEROES  13

#define F_FLUSH         9
#define F_DISCARD       13
#define F_WRITE_ZEROES  14

struct pdesc {                      /* packed descriptor (2.8.13) */
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
};

struct req_hdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};

static struct vring_desc desc[QSIZE] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
static volatile struct pdesc pring[QSIZE] __attribute__((aligned(16)));
static volatile uint32_t drv_event, dev_event;

static unsigned devfn;
static uintptr_t common, notify, isr, devcfg;
static uint32_t notify_mult;
static volatile uint32_t irq_count;
static bool packed;
static uint16_t avail_idx, used_seen;          /* split */
static uint16_t p_next, p_used;                /* packed */
static bool p_wrap = true, p_used_wrap = true;

static struct req_hdr *const hdrs = (struct req_hdr *)HDR_BASE;
static volatile uint8_t *const statuses = (volatile uint8_t *)(HDR_BASE +
                                                               0x1000);




static void msix_irq(int vector)
{
    irq_count++;
    lapic_eoi();
}

static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10011af4, 0x10421af4 };
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
    devcfg = c.device;
    return common && notify && isr && devcfg;
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
    pci_cfg_write32(devfn, cap, pci_cfg_read32(devfn, cap) | 0x80000000u);
    irq_set_handler(IRQ_VECTOR, msix_irq);
    lapic_enable();
    irq_enable();
    return true;
}

static uint64_t features_lo, features_hi;

static bool init_device(bool want_packed, bool interrupts)
{
    uint32_t lo, hi;

    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, 1);
    mmio_write8(common + C_STATUS, 3);
    mmio_write32(common + C_DFSELECT, 0);
    lo = mmio_read32(common + C_DF);
    mmio_write32(common + C_DFSELECT, 1);
    hi = mmio_read32(common + C_DF);
    features_lo = lo & (1u << F_FLUSH | 1u << F_DISCARD |
                        1u << F_WRITE_ZEROES);
    features_hi = 1 | (want_packed ? hi & 4 : 0);
    packed = features_hi & 4;
    mmio_write32(common + C_GFSELECT, 0);
    mmio_write32(common + C_GF, features_lo);
    mmio_write32(common + C_GFSELECT, 1);
    mmio_write32(common + C_GF, features_hi);
    mmio_write8(common + C_STATUS, 0xb);
    if (!(mmio_read8(common + C_STATUS) & 8)) {
        return false;
    }
    mmio_write16(common + C_Q_SELECT, 0);
    mmio_write16(common + C_Q_SIZE, QSIZE);
    if (packed) {
        mmio_write64(common + C_Q_DESC, (uintptr_t)pring);
        mmio_write64(common + C_Q_AVAIL, (uintptr_t)&drv_event);
        mmio_write64(common + C_Q_USED, (uintptr_t)&dev_event);
        /* 2.8.10: flags 1 = no interrupts */
        drv_event = interrupts ? 0 : 1u << 16;
    } else {
        mmio_write64(common + C_Q_DESC, (uintptr_t)desc);
        mmio_write64(common + C_Q_AVAIL, (uintptr_t)avail);
        mmio_write64(common + C_Q_USED, (uintptr_t)used);
        avail[0] = interrupts ? 0 : 1;      /* VRING_AVAIL_F_NO_INTERRUPT */
    }
    mmio_write16(common + C_Q_MSIX, interrupts ? 0 : 0xffff);
    mmio_write16(common + C_Q_ENABLE, 1);
    mmio_write8(common + C_STATUS, 0xf);
    return mmio_read8(common + C_STATUS) == 0xf;
}

/* ---- the queue: request slot r uses descriptors 3r..3r+2 (split) ---- */

static void add_chain(unsigned r, uint32_t type, uint64_t sector,
                      uintptr_t buf, uint32_t len)
{
    bool dev_writes = type == T_IN || type == T_GET_ID;
    uint64_t addr[3] = { (uintptr_t)&hdrs[r], buf,
                         (uintptr_t)&statuses[r] };
    uint32_t lens[3] = { sizeof(struct req_hdr), len, 1 };
    uint16_t wflag[3] = { 0, dev_writes ? 2 : 0, 2 };
    unsigned n = len ? 3 : 2;

    hdrs[r] = (struct req_hdr){ type, 0, sector };
    statuses[r] = 0xee;
    if (!len) {
        addr[1] = addr[2];
        lens[1] = 1;
        wflag[1] = 2;
    }
    if (packed) {
        uint16_t first = p_next, first_flags = 0;

        for (unsigned i = 0; i < n; i++) {
            uint16_t f = wflag[i] | (i + 1 < n ? 1 : 0) |
                         (p_wrap ? 1u << 7 : 1u << 15);
            pring[p_next].addr = addr[i];
            pring[p_next].len = lens[i];
            pring[p_next].id = r;
            if (i == 0) {
                first_flags = f;
            } else {
                pring[p_next].flags = f;
            }
            if (++p_next == QSIZE) {
                p_next = 0;
                p_wrap = !p_wrap;
            }
        }
        barrier();
        pring[first].flags = first_flags;   /* makes the chain available */
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        desc[3 * r + i] = (struct vring_desc){
            addr[i], lens[i], wflag[i] | (i + 1 < n ? 1 : 0), 3 * r + i + 1,
        };
    }
    avail[2 + avail_idx % QSIZE] = 3 * r;
    barrier();
    avail[1] = ++avail_idx;
}

static uint64_t kicks;

static void kick(void)
{
    barrier();
    kicks++;
    mmio_write16(notify + 0 * notify_mult, 0);
}

/*
 * Kick unless the device said it needs none (2.7.7.2 / 2.8.10: used->flags
 * VRING_USED_F_NO_NOTIFY on a split ring, the device event suppression
 * flags DISABLE on a packed one), as Linux's virtqueue_kick_prepare does:
 * a device that polls the ring saves the guest an exit per batch.
 */
static void kick_if_wanted(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  /* avail before the flags */
    if (packed ? (dev_event >> 16) == 1 : (used[0] & 1)) {
        return;
    }
    kick();
}

/* A completed request's slot, or -1. */
static int poll_used(void)
{
    if (packed) {
        uint16_t f = pring[p_used].flags;
        bool a = f & (1u << 7), u = f & (1u << 15);
        unsigned id, n;

        if (a != p_used_wrap || u != p_used_wrap) {
            return -1;
        }
        barrier();
        id = pring[p_used].id;
        /* every chain of ours took three slots, or two without data */
        n = hdrs[id].type == T_FLUSH ? 2 : 3;
        for (unsigned i = 0; i < n; i++) {
            if (++p_used == QSIZE) {
                p_used = 0;
                p_used_wrap = !p_used_wrap;
            }
        }
        return id;
    }
    if ((uint16_t)(used[0] >> 16) == used_seen) {
        return -1;
    }
    barrier();
    return used[1 + 2 * (used_seen++ % QSIZE)] / 3;
}

static int wait_used(void)
{
    uint64_t deadline = rdtsc() + 5 * tsc_hz();
    int r;

    while ((r = poll_used()) < 0 && rdtsc() < deadline) {
        cpu_relax();
    }
    return r;
}

/* One request, waited for; returns its status (0xee: no answer). */
static uint8_t do_req(uint32_t type, uint64_t sector, uintptr_t buf,
                      uint32_t len)
{
    add_chain(0, type, sector, buf, len);
    kick();
    if (wait_used() != 0) {
        return 0xee;
    }
    return statuses[0];
}

/* ---- test mode ---------------------------------------------------------- */

static uint8_t pattern(uint64_t sector, unsigned i)
{
    return (sector * 31 + i * 7 + 0x3c) & 0xff;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static void run_tests(void)
{
    uint8_t *data = (uint8_t *)DATA_BASE;
    unsigned qd = 8, bad = 0, done = 0;
    uint64_t cap = mmio_read32(devcfg) | (uint64_t)mmio_read32(devcfg + 4)
                   << 32;
    struct { uint64_t sector; uint32_t num, flags; } *seg =
        (void *)(DATA_BASE + 0x100000);

    report(cap >= 16384, "capacity %lu sectors", (unsigned long)cap);
    for (unsigned r = 0; r < qd; r++) {
        for (unsigned i = 0; i < 4096; i++) {
            uint64_t s = 2048 + r * 8 + i / 512;
            data[r * 4096 + i] = pattern(s, i % 512);
        }
        add_chain(r, T_OUT, 2048 + r * 8, DATA_BASE + r * 4096, 4096);
    }
    kick();
    while (done < qd) {
        int r = wait_used();
        if (r < 0) {
            break;
        }
        bad += statuses[r] != 0;
        done++;
    }
    report(done == qd && !bad, "%u writes of 4 KiB in flight at once", qd);
    memset(data, 0, qd * 4096);
    for (unsigned r = 0; r < qd; r++) {
        add_chain(r, T_IN, 2048 + r * 8, DATA_BASE + r * 4096, 4096);
    }
    kick();
    for (done = bad = 0; done < qd; done++) {
        int r = wait_used();
        if (r < 0) {
            break;
        }
        bad += statuses[r] != 0;
    }
    for (unsigned i = 0; i < qd * 4096 && !bad; i++) {
        bad += data[i] != pattern(2048 + i / 512, i % 512);
    }
    report(done == qd && !bad, "read back what was written");
    report(do_req(T_FLUSH, 0, 0, 0) == 0, "flush");
    memset(data, 0xaa, 32);
    report(do_req(T_GET_ID, 0, DATA_BASE, 20) == 0 &&
           !memcmp(data, "kvmpc-vblk\0\0\0\0\0\0\0\0\0\0", 20) &&
           data[20] == 0xaa, "GET_ID gives the serial");
    if (features_lo & (1u << F_DISCARD)) {
        *seg = (typeof(*seg)){ 4096, 256, 0 };
        report(do_req(T_DISCARD, 0, (uintptr_t)seg, 16) == 0, "discard");
        memset(data, 0xaa, 256 * 512);
        report(do_req(T_IN, 4096, DATA_BASE, 256 * 512) == 0 &&
               all_zero(data, 256 * 512), "discarded sectors read zero");
    } else {
        report(false, "DISCARD offered");
    }
    if (features_lo & (1u << F_WRITE_ZEROES)) {
        *seg = (typeof(*seg)){ 8192, 128, 1 };
        report(do_req(T_WRITE_ZEROES, 0, (uintptr_t)seg, 16) == 0,
               "write-zeroes with UNMAP");
        *seg = (typeof(*seg)){ 8320, 128, 0 };
        report(do_req(T_WRITE_ZEROES, 0, (uintptr_t)seg, 16) == 0,
               "write-zeroes");
        memset(data, 0xaa, 256 * 512);
        report(do_req(T_IN, 8192, DATA_BASE, 256 * 512) == 0 &&
               all_zero(data, 256 * 512), "zeroed sectors read zero");
    } else {
        report(false, "WRITE_ZEROES offered");
    }
    report(do_req(T_IN, cap, DATA_BASE, 512) == 1, "read past the end: IOERR");
    report(do_req(0x99, 0, DATA_BASE, 512) == 2, "unknown type: UNSUPP");
    report(do_req(T_FLUSH, 0, 0, 0) == 0, "final flush");
    report(irq_count > 0, "MSI-X interrupts arrived (%u)", irq_count);
    report_info("%s ring", packed ? "packed" : "split");
}

/* ---- bench mode --------------------------------------------------------- */

static uint64_t lcg = 88172645463325252ull;

static uint64_t next_rand(void)
{
    lcg ^= lcg << 13;
    lcg ^= lcg >> 7;
    lcg ^= lcg << 17;
    return lcg;
}

static void run_bench(const char *op, unsigned bs, unsigned qd, unsigned secs)
{
    bool write = !strcmp(op, "randwrite");
    bool seq = !strcmp(op, "seqread");
    uint64_t cap = mmio_read32(devcfg) | (uint64_t)mmio_read32(devcfg + 4)
                   << 32;
    uint64_t blocks = cap * 512 / bs, seq_next = 0, n = 0, errors = 0;
    uint64_t t0, t1, end, last;
    unsigned inflight;

    if (qd > MAX_QD) {
        qd = MAX_QD;
    }
    memset((void *)DATA_BASE, 0x5a, (size_t)qd * bs);
    /* the host samples its CPU time here and at the result line */
    printf("virtio-blk-bench: start\n");
    t0 = rdtsc();
    end = t0 + secs * tsc_hz();
    for (unsigned r = 0; r < qd; r++) {
        uint64_t b = seq ? seq_next++ % blocks : next_rand() % blocks;
        add_chain(r, write ? T_OUT : T_IN, b * bs / 512,
                  DATA_BASE + (uintptr_t)r * bs, bs);
    }
    kick();
    inflight = qd;
    last = t0;
    for (;;) {
        int r = poll_used();
        bool more = false;

        if (r >= 0) {
            last = rdtsc();
        } else if (rdtsc() - last > 5 * tsc_hz()) {
            report(false, "no completion for 5 s (%u in flight)", inflight);
            break;
        }

        while (r >= 0) {
            n++;
            inflight--;
            errors += statuses[r] != 0;
            if (rdtsc() < end) {
                inflight++;
                uint64_t b = seq ? seq_next++ % blocks
                                 : next_rand() % blocks;
                add_chain(r, write ? T_OUT : T_IN, b * bs / 512,
                          DATA_BASE + (uintptr_t)r * bs, bs);
                more = true;
            }
            r = poll_used();
        }
        if (more) {
            kick_if_wanted();
        }
        if (!inflight) {
            break;                  /* time is up and all came back */
        }
        cpu_relax();
    }
    t1 = rdtsc();
    {
        uint64_t us = (t1 - t0) * 1000000 / tsc_hz();
        uint64_t iops = n * 1000000 / (us ? us : 1);
        uint64_t kbps = n * (bs / 1024) * 1000000 / (us ? us : 1);

        printf("virtio-blk-bench: op=%s bs=%u qd=%u ring=%s n=%lu us=%lu "
               "iops=%lu kbps=%lu errors=%lu kicks=%lu\n", op, bs, qd,
               packed ? "packed" : "split", (unsigned long)n,
               (unsigned long)us, (unsigned long)iops, (unsigned long)kbps,
               (unsigned long)errors, (unsigned long)kicks);
    }
    report(errors == 0 && n > 0, "bench %s completed", op);
}

int main(void)
{
    char op[16];
    bool bench = cmdline_get("bench", op, sizeof(op)) != NULL;
    bool want_packed = cmdline_get_int("packed", 0) != 0;

    report_prefix("virtio-blk");
    if (!find_device()) {
        report(false, "no 1af4:1001 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    if (!bench) {
        report(setup_msix(), "MSI-X enabled");
    }
    report(init_device(want_packed, !bench), "FEATURES_OK and DRIVER_OK");
    report(packed == want_packed, "%s ring negotiated",
           want_packed ? "packed" : "split");
    if (bench) {
        run_bench(op, cmdline_get_int("bs", 4096), cmdline_get_int("qd", 32),
                  cmdline_get_int("secs", 5));
    } else {
        run_tests();
    }
    report_summary();
}
