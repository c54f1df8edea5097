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
 *   - checks the TSC never goes backwards (forwards it may: on the
 *     development hosts (PVM) RDTSC at CPL 3 reads the host's counter,
 *     which no TSC offset moves, so a snapshot loaded later resumes the
 *     guest with its rounds' deadlines in the past; a round that finds
 *     itself more than a round late starts afresh);
 *   - prints "migrate: round N" every 100 ms of its own time, ROUNDS in
 *     all (the runner migrates after round MIGRATE_AFTER and checks the
 *     destination continues with the next number, not a fresh boot).
 */
#include "guest.h"

#define VEC_TIMER   0x40
#define ROUNDS      30
#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511

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

int main(void)
{
    const uint64_t lo = 0x0123456789abcdefull, hi = 0xfedcba9876543210ull;
    uint64_t round_len = tsc_hz() / 10, next, last_tsc;
    unsigned bad_id = 0, bad_xmm = 0, tsc_back = 0, quiet_rounds = 0;
    unsigned tsc_jumps = 0;
    uint64_t reads = 0;

    report_prefix("migrate");
    lapic_enable();
    irq_set_handler(VEC_TIMER, h_timer);
    lapic_write(LAPIC_TIMER_DCR, 0xb);                  /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_TIMER_PERIODIC);
    lapic_write(LAPIC_TIMER_ICR, 10000000);             /* 100 Hz at 1 GHz */
    irq_enable();
    xmm_set(lo, hi);
    last_tsc = rdtsc();
    next = last_tsc + round_len;
    for (unsigned round = 1; round <= ROUNDS; round++) {
        uint32_t ticks_before = ticks;
        uint64_t now = rdtsc();

        if (now > next + round_len) {
            tsc_jumps++;
            next = now + round_len;
        }
        while (rdtsc() < next) {
            uint64_t t = rdtsc();

            tsc_back += t < last_tsc;
            last_tsc = t;
            bad_id += !fw_cfg_signature_ok();
            reads++;
        }
        next += round_len;
        bad_xmm += !xmm_intact(lo, hi);
        quiet_rounds += ticks == ticks_before;
        printf("migrate: round %u ticks %u\n", round, ticks);
    }
    irq_disable();
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    report_info("the TSC jumped ahead by more than a round %u times",
                tsc_jumps);
    report(bad_id == 0, "every fw_cfg signature read byte by byte was "
           "\"QEMU\" (%u wrong of %lu)", bad_id, (unsigned long)reads);
    report(bad_xmm == 0, "XMM6/XMM7 kept their pattern (%u rounds lost it)",
           bad_xmm);
    report(tsc_back == 0, "the TSC never went backwards (%u times)",
           tsc_back);
    /* a round is 100 ms, the timer 100 Hz: a silent round means it
     * stopped (allow two: the rounds around the switch-over) */
    report(quiet_rounds <= 2, "the LAPIC timer kept interrupting (%u silent "
           "rounds, %u ticks)", quiet_rounds, ticks);
    report_summary();
}
