/*
 * migrate: a guest that must not notice that it moved.  run-migrate-test.py
 * starts it, migrates it (or saves and restores it) while it runs, and
 * lets it finish on the destination.  Meanwhile the guest:
 *
 *   - keeps a pattern in XMM registers (the XSAVE area) and checks it on
 *     every round;
 *   - reads fw_cfg's signature ("QEMU", key 0) a byte at a time through
 *     port 0x511 all the time, so the vCPU is stopped right after an I/O
 *     exit more often than not.  KVM finishes such an exit (EAX, RIP past
 *     the IN) only on the next KVM_RUN: saved before that, the IN would
 *     run again on the destination and, since each read moves fw_cfg's
 *     offset on, skip a byte;
 *   - takes a periodic LAPIC timer interrupt (the LAPIC's registers and
 *     timer, the IDT, the interrupt flag);
 *   - keeps the round number in device registers (the UART's scratch
 *     register, a CMOS byte, the PCI Interrupt Line register of the
 *     host bridge, PIT channel 2's reload value: its count, latched, is
 *     never above it and it counts) and checks them before the next
 *     round writes them, and checks the HPET's main counter only moves
 *     on;
 *   - with "disk=1": writes each round's number and a pattern to sector
 *     (round % 64) of the first virtio-blk disk (modern transport, a
 *     polled split ring, kicks only when the device asks, as Linux's
 *     driver) and reads the last round's sector back: a request lost or
 *     a ring state torn by the move shows as a wrong sector or a hang
 *     (run-migrate-test.py's hops alternate an I/O thread, which turns
 *     kicks off while it spins, with the main loop, which wants them);
 *   - reads kvmclock (MSR_KVM_SYSTEM_TIME_NEW, when CPUID offers it)
 *     every round: it must never go backwards, nor jump by more than
 *     two seconds in a round (the source's clock restored on the
 *     destination: KVM_SET_CLOCK);
 *   - with "hv=1" (and -cpu ...,hv-vpindex,hv-time,hv-synic,hv-stimer):
 *     Hyper-V's synthetic timer 0 runs periodically at 100 Hz through the
 *     SynIC (SINT2, a timer-expired message in the SIMP page, vector
 *     0x50), and the partition reference counter must count at 10 MHz
 *     against the TSC, never go backwards and not jump (Hyper-V TLFS
 *     6.0: 12.4 reference counter, 11 SynIC, 12.5 synthetic timers);
 *   - checks the TSC never goes backwards (forwards it may: on the
 *     development hosts (PVM) RDTSC at CPL 3 reads the host's counter,
 *     which no TSC offset moves, so a snapshot loaded later resumes the
 *     guest with its rounds' deadlines in the past; a round that finds
 *     itself more than a round late starts afresh);
 *   - prints "migrate: round N" every 100 ms of its own time, 30 rounds
 *     or "rounds=N" (the runner migrates after some round and checks the
 *     destination continues with the next number, not a fresh boot).
 *
 *   - "max_round_ms=N" (default 2000): the longest round kvmclock may
 *     show (a postcopy whose link is cut stalls the guest that long).
 *
 *   - with "churn_mb=M [churn_mbps=N]": rewrites whole pages of M MiB
 *     of RAM from 64 MiB up, one after the other in a ring, at N MB/s
 *     (default 40) while the rounds run, each page filled with words
 *     derived from its write's sequence number, and after every round
 *     checks that every page holds exactly its last write: a page that
 *     precopy did not send again after the guest rewrote it (a dirty
 *     page the log or the dirty ring missed) shows as stale or torn on
 *     the destination.
 *
 * With "dirty_mbps=N [span_mb=M] [dense=1]" on its command line it is
 * instead the guest of bench/migration.py's migration/kvm rows: it writes
 * every page of M MiB (default 512) from 256 MiB up once, prints "dirty:
 * filled", then dirties those pages in order at N MB/s (one 8-byte store
 * per 4 KiB page, or with dense=1 the whole page with pseudo-random
 * words, paced every millisecond by the TSC) for ever, printing the rate
 * it reached each second ("dirty: N MB/s").
 */
#include "guest.h"

#define VEC_TIMER   0x40
#define ROUNDS      30
#define COM1_SCR    0x3ff               /* 16550 scratch register */
#define CMOS_INDEX  0x70
#define CMOS_DATA   0x71
#define CMOS_MARK   0x6e                /* a CMOS byte nobody uses */
#define HPET_BASE   0xfed00000ul
#define HPET_CFG    0x010
#define HPET_COUNT  0x0f0
#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511
#define PCI_HOST    0x00                /* devfn of the host bridge */
#define PCI_INTLINE 0x3c                /* Interrupt Line: scratch */
#define PIT_CH2     0x42
#define PIT_CMD     0x43
#define PORT_B      0x61                /* bit 0: channel 2's gate */

static volatile uint32_t ticks;

static void h_timer(int vec)
{
    (void)vec;
    ticks++;
    lapic_eoi();
}

static void xmm_set(uint64_t lo, uint64_t hi)
{
    uint64_t v[2] __attribute__((aligned(16))) = { lo, hi };

    asm volatile("movdqa %0, %%xmm6\n\tmovdqa %0, %%xmm7" :: "m"(v));
}

static bool xmm_intact(uint64_t lo, uint64_t hi)
{
    uint64_t a[2] __attribute__((aligned(16))), b[2] __attribute__((aligned(16)));

    asm volatile("movdqa %%xmm6, %0\n\tmovdqa %%xmm7, %1" : "=m"(a), "=m"(b));
    return a[0] == lo && a[1] == hi && b[0] == lo && b[1] == hi;
}

/* kvmclock (Linux Documentation/virt/kvm/x86/msr.rst, pvclock) */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_CPUID_FEATURES      0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

struct pvclock {
    volatile uint32_t version;
    uint32_t pad0;
    volatile uint64_t tsc_timestamp;
    volatile uint64_t system_time;
    volatile uint32_t tsc_to_system_mul;
    volatile int8_t tsc_shift;
    volatile uint8_t flags;
    uint8_t pad[2];
} __attribute__((aligned(64)));

static struct pvclock kvmclock;

static bool kvmclock_start(void)
{
    if (cpuid(0x40000000, 0).a < KVM_CPUID_FEATURES ||
        !(cpuid(KVM_CPUID_FEATURES, 0).a & KVM_FEATURE_CLOCKSOURCE2)) {
        return false;
    }
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&kvmclock | 1);
    return kvmclock.version != 0;
}

static uint64_t kvmclock_ns(void)
{
    uint32_t v;
    uint64_t ns;

    do {
        v = kvmclock.version;
        barrier();
        uint64_t delta = rdtsc() - kvmclock.tsc_timestamp;
        int8_t shift = kvmclock.tsc_shift;

        delta = shift < 0 ? delta >> -shift : delta << shift;
        ns = kvmclock.system_time +
             (uint64_t)(((unsigned __int128)delta *
                         kvmclock.tsc_to_system_mul) >> 32);
        barrier();
    } while ((v & 1) || v != kvmclock.version);
    return ns;
}

/* Hyper-V (TLFS 6.0): CPUID 0x40000003 EAX privileges, the MSRs */
#define HV_CPUID_FEATURES       0x40000003
#define HV_TIME_REF_AVAILABLE   (1u << 1)
#define HV_SYNIC_AVAILABLE      (1u << 2)
#define HV_SYNTIMER_AVAILABLE   (1u << 3)
#define HV_MSR_TIME_REF_COUNT   0x40000020
#define HV_MSR_SCONTROL         0x40000080
#define HV_MSR_SIMP             0x40000083
#define HV_MSR_SINT0            0x40000090
#define HV_MSR_STIMER0_CONFIG   0x400000b0
#define HV_MSR_STIMER0_COUNT    0x400000b1
#define HV_SINT                 2
#define VEC_STIMER              0x50
#define HVMSG_TIMER_EXPIRED     0x80000010u

static uint8_t simp[4096] __attribute__((aligned(4096)));
static volatile uint32_t stimer_ticks, stimer_bad_msgs;

static void h_stimer(int vec)
{
    volatile uint32_t *type = (volatile uint32_t *)(simp + HV_SINT * 256);

    (void)vec;
    if (*type == HVMSG_TIMER_EXPIRED) {
        stimer_ticks++;
    } else {
        stimer_bad_msgs++;
    }
    *type = 0;                  /* the slot is free for the next one */
    lapic_eoi();
}

/* The Hyper-V privileges CPUID offers (0: none). */
static uint32_t hv_privileges(void)
{
    if (cpuid(0x40000000, 0).a < HV_CPUID_FEATURES) {
        return 0;
    }
    return cpuid(HV_CPUID_FEATURES, 0).a;
}

/* Start synthetic timer 0 at 100 Hz, if CPUID offers SynIC and timers. */
static bool hv_start_stimer(uint32_t priv)
{
    if (!(priv & HV_SYNIC_AVAILABLE) || !(priv & HV_SYNTIMER_AVAILABLE)) {
        return false;
    }
    irq_set_handler(VEC_STIMER, h_stimer);
    wrmsr(HV_MSR_SIMP, (uintptr_t)simp | 1);
    wrmsr(HV_MSR_SINT0 + HV_SINT, VEC_STIMER);          /* unmasked */
    wrmsr(HV_MSR_SCONTROL, 1);
    wrmsr(HV_MSR_STIMER0_COUNT, 100000);                /* 10 ms */
    wrmsr(HV_MSR_STIMER0_CONFIG, 1 | 2 | (uint64_t)HV_SINT << 16);
    return true;
}

static uint64_t hpet_count(void)
{
    return mmio_read64(HPET_BASE + HPET_COUNT);
}

/* PIT channel 2's reload value for round @round (mode 2 counts it down). */
static uint16_t pit_reload(unsigned round)
{
    return 40000 - (round % 32) * 1000;
}

static uint16_t pit_ch2_count(void)
{
    uint16_t lo;

    outb(PIT_CMD, 0x80);                /* counter latch, channel 2 */
    lo = inb(PIT_CH2);
    return lo | inb(PIT_CH2) << 8;
}

/* Channel 2 in mode 2 (rate generator), binary, its gate on. */
static void pit_ch2_start(uint16_t reload)
{
    outb(PORT_B, (inb(PORT_B) & ~0x02) | 0x01);    /* gate on, no sound */
    outb(PIT_CMD, 0xb4);                /* ch 2, LSB then MSB, mode 2 */
    outb(PIT_CH2, reload & 0xff);
    outb(PIT_CH2, reload >> 8);
}

/* The count is within the last round's reload value and moves. */
static bool pit_ch2_kept(unsigned round)
{
    uint16_t a = pit_ch2_count(), b;
    uint64_t until = rdtsc() + tsc_hz() / 10000;    /* 100 us: ~119 clocks */

    while (rdtsc() < until) {
        cpu_relax();
    }
    b = pit_ch2_count();
    return a >= 1 && a <= pit_reload(round) && b >= 1 &&
           b <= pit_reload(round) && a != b;
}

/* The round's marks in device registers; how many of the last round's
 * were lost.  The HPET's counter must have moved on since @hpet_last. */
static unsigned device_marks(unsigned round, uint64_t *hpet_last)
{
    unsigned lost = 0;
    uint64_t hpet = hpet_count();

    if (round > 1) {
        outb(CMOS_INDEX, CMOS_MARK);
        lost += inb(COM1_SCR) != (uint8_t)(round - 1);
        lost += inb(CMOS_DATA) != (uint8_t)(round - 1);
        lost += pci_cfg_read8(PCI_HOST, PCI_INTLINE) != (uint8_t)(round - 1);
        lost += !pit_ch2_kept(round - 1);
        lost += hpet <= *hpet_last;
    }
    *hpet_last = hpet;
    outb(COM1_SCR, round);
    outb(CMOS_INDEX, CMOS_MARK);
    outb(CMOS_DATA, round);
    pci_cfg_write32(PCI_HOST, PCI_INTLINE,
                    (pci_cfg_read32(PCI_HOST, PCI_INTLINE) & ~0xffu) |
                    (uint8_t)round);
    pit_ch2_start(pit_reload(round));
    return lost;
}

static bool fw_cfg_signature_ok(void)
{
    static const char sig[4] = "QEMU";

    outw(FW_CFG_SEL, 0);
    for (unsigned i = 0; i < 4; i++) {
        if (inb(FW_CFG_DATA) != (uint8_t)sig[i]) {
            return false;
        }
    }
    return true;
}

#define DIRTY_BASE  0x10000000ul         /* 256 MiB */

static uint64_t xorshift = 0x9e3779b97f4a7c15ull;

static void dirty_page(volatile uint64_t *page, uint64_t stamp, bool dense)
{
    if (!dense) {
        page[0] = stamp;
        return;
    }
    for (unsigned w = 0; w < 512; w++) {
        xorshift ^= xorshift << 13;
        xorshift ^= xorshift >> 7;
        xorshift ^= xorshift << 17;
        page[w] = xorshift;
    }
}

static noreturn void dirty_forever(unsigned mbps, unsigned span_mb,
                                   bool dense)
{
    uint64_t pages = (uint64_t)span_mb << 8, next_page = 0, stamp = 1;
    uint64_t per_ms = ((uint64_t)mbps << 20) / 4096 / 1000;
    uint64_t ms = tsc_hz() / 1000, t, sec_start, done = 0;
    volatile uint64_t *base = (volatile uint64_t *)DIRTY_BASE;

    for (uint64_t p = 0; p < pages; p++) {
        dirty_page(base + p * 512, p + 1, dense);
    }
    printf("dirty: filled %u MiB at 0x%lx\n", span_mb, DIRTY_BASE);
    per_ms = per_ms ? per_ms : 1;
    t = sec_start = rdtsc();
    for (;;) {
        for (uint64_t i = 0; i < per_ms; i++) {
            dirty_page(base + next_page * 512, stamp++, dense);
            next_page = next_page + 1 == pages ? 0 : next_page + 1;
        }
        done += per_ms;
        t += ms;
        while (rdtsc() < t) {
            cpu_relax();
        }
        if (rdtsc() - sec_start >= tsc_hz()) {
            printf("dirty: %lu MB/s\n",
                   (unsigned long)(done * 4096 / 1000000));
            done = 0;
            sec_start = rdtsc();
            t = sec_start;
        }
    }
}

/* ---- disk: a virtio-blk sector per round ---- */

#define VBLK_BAR4   0xfe100000u
#define VQ_SIZE     16
#define VBLK_T_IN   0
#define VBLK_T_OUT  1
#define DISK_SLOTS  64                  /* sectors the rounds cycle over */

static struct {
    bool on;
    uintptr_t common, notify;
    struct vring_desc desc[VQ_SIZE] __attribute__((aligned(16)));
    volatile uint16_t avail[2 + VQ_SIZE + 1] __attribute__((aligned(2)));
    volatile uint32_t used[1 + 2 * VQ_SIZE + 1] __attribute__((aligned(4)));
    uint16_t avail_idx, used_seen;
    struct { uint32_t type, ioprio; uint64_t sector; } hdr;
    uint8_t buf[512] __attribute__((aligned(512)));
    volatile uint8_t status;
    unsigned bad, kicks;
} disk;

/* Features: VERSION_1 only; queue 0 of VQ_SIZE, no interrupts (polled). */
static bool disk_start(void)
{
    static const uint32_t ids[] = { 0x10011af4, 0x10421af4 };
    struct virtio_pci_caps c;
    int devfn = pci_find_id(ids, ARRAY_SIZE(ids));

    if (devfn < 0) {
        return false;
    }
    virtio_pci_map(devfn, VBLK_BAR4, &c);
    if (!c.common || !c.notify) {
        return false;
    }
    disk.common = c.common;
    mmio_write8(c.common + C_STATUS, 0);
    mmio_write8(c.common + C_STATUS, 1 | 2);            /* ACK, DRIVER */
    mmio_write32(c.common + C_GFSELECT, 0);
    mmio_write32(c.common + C_GF, 0);
    mmio_write32(c.common + C_GFSELECT, 1);
    mmio_write32(c.common + C_GF, 1);                   /* VERSION_1 */
    mmio_write8(c.common + C_STATUS, 1 | 2 | 8);        /* FEATURES_OK */
    if (!(mmio_read8(c.common + C_STATUS) & 8)) {
        return false;
    }
    mmio_write16(c.common + C_Q_SELECT, 0);
    mmio_write16(c.common + C_Q_SIZE, VQ_SIZE);
    mmio_write16(c.common + C_Q_MSIX, 0xffff);
    mmio_write64(c.common + C_Q_DESC, (uintptr_t)disk.desc);
    mmio_write64(c.common + C_Q_AVAIL, (uintptr_t)disk.avail);
    mmio_write64(c.common + C_Q_USED, (uintptr_t)disk.used);
    disk.avail[0] = 1;                  /* VRING_AVAIL_F_NO_INTERRUPT */
    disk.notify = c.notify + mmio_read16(c.common + C_Q_NOFF) *
                  c.notify_mult;
    mmio_write16(c.common + C_Q_ENABLE, 1);
    mmio_write8(c.common + C_STATUS, 1 | 2 | 8 | 4);    /* DRIVER_OK */
    return mmio_read8(c.common + C_STATUS) == 0xf;
}

/* One request (header, 512 bytes, status), kicked only if the device
 * wants kicks (VRING_USED_F_NO_NOTIFY, 2.7.7.2); its status, or 0xee
 * when nothing came back within 5 s. */
static uint8_t disk_rw(uint32_t type, uint64_t sector)
{
    uint64_t deadline = rdtsc() + 5 * tsc_hz();

    disk.hdr.type = type;
    disk.hdr.ioprio = 0;
    disk.hdr.sector = sector;
    disk.status = 0xee;
    disk.desc[0] = (struct vring_desc){ (uintptr_t)&disk.hdr,
                                        sizeof(disk.hdr), 1, 1 };
    disk.desc[1] = (struct vring_desc){ (uintptr_t)disk.buf, 512,
                                        1 | (type == VBLK_T_IN ? 2 : 0), 2 };
    disk.desc[2] = (struct vring_desc){ (uintptr_t)&disk.status, 1, 2, 0 };
    disk.avail[2 + disk.avail_idx % VQ_SIZE] = 0;
    barrier();
    disk.avail[1] = ++disk.avail_idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* avail before the flags */
    if (!(disk.used[0] & 1)) {
        mmio_write16(disk.notify, 0);
        disk.kicks++;
    }
    while ((uint16_t)(disk.used[0] >> 16) == disk.used_seen) {
        if (rdtsc() > deadline) {
            return 0xee;
        }
        cpu_relax();
    }
    disk.used_seen++;
    barrier();
    return disk.status;
}

static void disk_fill(unsigned round)
{
    for (unsigned i = 0; i < 512; i++) {
        disk.buf[i] = (uint8_t)(round * 13 + i * 3);
    }
    memcpy(disk.buf, &round, sizeof(round));
}

static bool disk_holds(unsigned round)
{
    unsigned got;

    memcpy(&got, disk.buf, sizeof(got));
    for (unsigned i = sizeof(round); i < 512; i++) {
        if (disk.buf[i] != (uint8_t)(round * 13 + i * 3)) {
            return false;
        }
    }
    return got == round;
}

/* Write this round's sector, read the last round's back. */
static void disk_round(unsigned round)
{
    if (!disk.on) {
        return;
    }
    disk_fill(round);
    disk.bad += disk_rw(VBLK_T_OUT, round % DISK_SLOTS) != 0;
    if (round > 1) {
        memset(disk.buf, 0, sizeof(disk.buf));
        if (disk_rw(VBLK_T_IN, (round - 1) % DISK_SLOTS) != 0 ||
            !disk_holds(round - 1)) {
            if (!disk.bad) {
                printf("disk: sector %u does not hold round %u\n",
                       (round - 1) % DISK_SLOTS, round - 1);
            }
            disk.bad++;
        }
    }
}

/* ---- churn: RAM rewritten while precopy runs, checked every round ---- */

#define CHURN_BASE  0x4000000ul         /* 64 MiB */

static struct {
    volatile uint64_t *base;
    uint64_t pages;
    uint64_t seq;                       /* the next write's number */
    uint64_t tsc_per_page, next_tsc;
    unsigned bad_pages, bad_rounds;
} churn;

/* Word @w of write number @seq: every word differs, every write too. */
static uint64_t churn_word(uint64_t seq, unsigned w)
{
    uint64_t x = seq * 0x9e3779b97f4a7c15ull + w;

    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

static void churn_write_next(void)
{
    volatile uint64_t *page = churn.base + (churn.seq % churn.pages) * 512;

    for (unsigned w = 0; w < 512; w++) {
        page[w] = churn_word(churn.seq, w);
    }
    churn.seq++;
}

static bool churn_start(unsigned mb, unsigned mbps)
{
    uint64_t end = CHURN_BASE + ((uint64_t)mb << 20);

    if (end > boot_ram_top() || boot_range_in_use(CHURN_BASE, end)) {
        report(false, "churn: %u MiB from 0x%lx is not free RAM", mb,
               CHURN_BASE);
        return false;
    }
    churn.base = (volatile uint64_t *)CHURN_BASE;
    churn.pages = (uint64_t)mb << 8;
    while (churn.seq < churn.pages) {
        churn_write_next();
    }
    churn.tsc_per_page = tsc_hz() * 4096 / ((uint64_t)(mbps ? mbps : 1) *
                                            1000000);
    churn.next_tsc = rdtsc();
    return true;
}

/* The writes due by now at the rate, at most 64 at a time; a backlog of
 * more than 100 ms (the VM was stopped, the TSC jumped) is dropped. */
static void churn_step(void)
{
    uint64_t now = rdtsc();

    if (!churn.pages) {
        return;
    }
    if (now > churn.next_tsc + tsc_hz() / 10) {
        churn.next_tsc = now;
    }
    for (unsigned n = 0; n < 64 && churn.next_tsc <= now; n++) {
        churn_write_next();
        churn.next_tsc += churn.tsc_per_page;
    }
}

/* Page @p holds the last write whose number is p modulo the page count. */
static void churn_check(void)
{
    unsigned bad = 0;

    for (uint64_t p = 0; p < churn.pages; p++) {
        uint64_t seq = churn.seq - 1 - (churn.seq - 1 - p) % churn.pages;
        volatile uint64_t *page = churn.base + p * 512;

        for (unsigned w = 0; w < 512; w++) {
            if (page[w] != churn_word(seq, w)) {
                if (!bad) {
                    printf("churn: page %lu word %u holds 0x%lx, write "
                           "%lu put 0x%lx\n", (unsigned long)p, w,
                           (unsigned long)page[w], (unsigned long)seq,
                           (unsigned long)churn_word(seq, w));
                }
                bad++;
                break;
            }
        }
    }
    churn.bad_pages += bad;
    churn.bad_rounds += bad != 0;
}

int main(void)
{
    const uint64_t lo = 0x0123456789abcdefull, hi = 0xfedcba9876543210ull;
    uint64_t round_len = tsc_hz() / 10, next, last_tsc;
    unsigned bad_id = 0, bad_xmm = 0, tsc_back = 0, quiet_rounds = 0;
    unsigned tsc_jumps = 0, dev_lost = 0, clock_bad = 0;
    unsigned hv_quiet = 0, ref_bad = 0;
    uint64_t ref_last = 0, ref_first = 0, ref_tsc_first = 0;
    bool hv = false, stimer = false;
    uint64_t clock_last = 0, clock_max_step = 0;
    bool have_kvmclock;
    unsigned rounds = cmdline_get_int("rounds", ROUNDS);
    /* the longest a round may take by kvmclock: a postcopy whose link is
     * cut stalls a vCPU on a missing page for as long as the cut lasts
     * (run-migrate-test.py's recover mode says how long it allows) */
    uint64_t max_round_ns = cmdline_get_int("max_round_ms", 2000) *
                            1000000ull;
    uint64_t hpet_last = 0;
    uint64_t reads = 0;

    report_prefix("migrate");
    if (cmdline_get_int("churn_mb", 0) > 0 &&
        !churn_start(cmdline_get_int("churn_mb", 0),
                     cmdline_get_int("churn_mbps", 40))) {
        report_summary();
    }
    if (cmdline_get_int("dirty_mbps", 0) > 0) {
        dirty_forever(cmdline_get_int("dirty_mbps", 0),
                      cmdline_get_int("span_mb", 512),
                      cmdline_get_int("dense", 0) != 0);
    }
    if (cmdline_get_int("disk", 0)) {
        disk.on = disk_start();
        report(disk.on, "the virtio-blk disk started");
    }
    lapic_enable();
    irq_set_handler(VEC_TIMER, h_timer);
    lapic_write(LAPIC_TIMER_DCR, 0xb);                  /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_PERIODIC);
    lapic_write(LAPIC_TIMER_ICR, 10000000);             /* 100 Hz at 1 GHz */
    if (cmdline_get_int("hv", 0)) {
        uint32_t priv = hv_privileges();

        hv = priv & HV_TIME_REF_AVAILABLE;
        report(hv, "Hyper-V reference counter in CPUID 0x40000003 (0x%x)",
               priv);
        stimer = hv && hv_start_stimer(priv);
        if (!stimer) {
            report_skip("no SynIC and synthetic timers in CPUID (hv-synic, "
                        "hv-stimer)");
        }
        if (hv) {
            ref_first = ref_last = rdmsr(HV_MSR_TIME_REF_COUNT);
            ref_tsc_first = rdtsc();
        }
    }
    have_kvmclock = kvmclock_start();
    if (have_kvmclock) {
        clock_last = kvmclock_ns();
    }
    mmio_write32(HPET_BASE + HPET_CFG,
                 mmio_read32(HPET_BASE + HPET_CFG) | 1);   /* counter on */
    irq_enable();
    xmm_set(lo, hi);
    last_tsc = rdtsc();
    next = last_tsc + round_len;
    for (unsigned round = 1; round <= rounds; round++) {
        uint32_t ticks_before = ticks, stimer_before = stimer_ticks;
        uint64_t now = rdtsc();

        if (now > next + round_len) {
            tsc_jumps++;
            next = now + round_len;
        }
        now = rdtsc();
        while (rdtsc() < next) {
            uint64_t t = rdtsc();

            tsc_back += t < last_tsc;
            last_tsc = t;
            bad_id += !fw_cfg_signature_ok();
            reads++;
            churn_step();
        }
        next += round_len;
        if (churn.pages) {
            churn_check();
        }
        bad_xmm += !xmm_intact(lo, hi);
        /* silent: half a round (five timer periods) of waiting, and not
         * one interrupt (a round cut short by a TSC jump proves nothing) */
        quiet_rounds += ticks == ticks_before &&
                        rdtsc() - now >= round_len / 2;
        if (hv) {
            uint64_t ref = rdmsr(HV_MSR_TIME_REF_COUNT);

            hv_quiet += stimer && stimer_ticks == stimer_before &&
                        rdtsc() - now >= round_len / 2;
            /* 100 ns units: never back, never 2 s in one round */
            ref_bad += ref < ref_last || ref - ref_last > 20000000;
            ref_last = ref;
        }
        dev_lost += device_marks(round, &hpet_last);
        disk_round(round);
        if (have_kvmclock) {
            uint64_t c = kvmclock_ns();

            clock_bad += c < clock_last || c - clock_last > max_round_ns;
            if (c - clock_last > clock_max_step) {
                clock_max_step = c - clock_last;
            }
            clock_last = c;
        }
        printf("migrate: round %u ticks %u\n", round, ticks);
    }
    irq_disable();
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    if (hv) {
        uint64_t ref_ticks = rdmsr(HV_MSR_TIME_REF_COUNT) - ref_first;
        uint64_t tsc_us = tsc_to_us(rdtsc() - ref_tsc_first);

        if (stimer) {
            wrmsr(HV_MSR_STIMER0_CONFIG, 0);
            report(stimer_ticks > 0 && hv_quiet <= 2 &&
                   stimer_bad_msgs == 0, "the synthetic timer kept sending "
                   "timer-expired messages (%u, %u silent rounds, %u "
                   "other messages)", stimer_ticks, hv_quiet,
                   stimer_bad_msgs);
        }
        report(ref_bad == 0, "the reference counter never went back nor "
               "jumped 2 s in a round (%u rounds did)", ref_bad);
        /* a TSC jump (see above) makes the TSC side longer: one way only */
        report(ref_ticks / 10 <= tsc_us + tsc_us / 10 + 200000 &&
               ref_ticks / 10 + ref_ticks / 100 >= tsc_us / 2,
               "the reference counter ran at about 10 MHz (%lu us by it, "
               "%lu us by the TSC)", (unsigned long)(ref_ticks / 10),
               (unsigned long)tsc_us);
    }
    report_info("the TSC jumped ahead by more than a round %u times",
                tsc_jumps);
    report(bad_id == 0, "every fw_cfg signature read byte by byte was "
           "\"QEMU\" (%u wrong of %lu)", bad_id, (unsigned long)reads);
    report(bad_xmm == 0, "XMM6/XMM7 kept their pattern (%u rounds lost it)",
           bad_xmm);
    report(tsc_back == 0, "the TSC never went backwards (%u times)",
           tsc_back);
    if (have_kvmclock) {
        report(clock_bad == 0, "kvmclock never went backwards nor jumped "
               "%lu ms in a round (%u rounds did; longest round %lu ms)",
               (unsigned long)(max_round_ns / 1000000), clock_bad,
               (unsigned long)(clock_max_step / 1000000));
    } else {
        report_skip("no kvmclock in CPUID (KVM_FEATURE_CLOCKSOURCE2)");
    }
    if (churn.pages) {
        report(churn.bad_pages == 0, "the %lu MiB rewritten while it ran "
               "held every page's last write in every round (%lu writes; "
               "%u stale pages in %u rounds)",
               (unsigned long)(churn.pages >> 8), (unsigned long)churn.seq,
               churn.bad_pages, churn.bad_rounds);
    }
    report(dev_lost == 0, "the UART scratch register, a CMOS byte, a PCI "
           "configuration register and PIT channel 2 kept each round's mark "
           "and the HPET counter moved on (%u lost)", dev_lost);
    if (disk.on) {
        report(disk.bad == 0, "every round's sector was written and read "
               "back from the virtio-blk disk (%u bad, %u kicks for %u "
               "rounds)", disk.bad, disk.kicks, rounds);
    }
    /* a round is 100 ms, the timer 100 Hz: a silent round means it
     * stopped (allow two: the rounds around the switch-over) */
    report(quiet_rounds <= 2, "the LAPIC timer kept interrupting (%u silent "
           "rounds, %u ticks)", quiet_rounds, ticks);
    report_summary();
}
