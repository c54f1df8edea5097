/*
 * bench-irq: the cost of an interrupt the LAPIC delivers, for
 * bench/irq.py (each irqchip mode, kvmpc against QEMU 7.2):
 *
 *   - a self-IPI: the ICR written with the "self" shorthand (SDM vol. 3A
 *     10.6.1), then a wait until the handler has run;
 *   - a LAPIC timer interrupt: one-shot, initial count 1 at divide-by-1,
 *     then the same wait.
 *
 * Each is repeated "n=" times (default 2000) and the mean round trip
 * printed from the guest's TSC: "bench-irq: ipi_ns=N timer_ns=N".  The
 * handler (CPL 0, which the development hosts' PVM emulates) counts and
 * EOIs; everything else runs at CPL 3.
 */
#include "guest.h"

#define VEC_IPI     0x60
#define VEC_TIMER   0x61
#define ICR_SELF    (1u << 18)          /* destination shorthand 01 */

static volatile uint32_t hits;

static void h_count(int vec)
{
    (void)vec;
    hits++;
    lapic_eoi();
}

/* Mean ns of @n rounds of @fire plus the wait for its interrupt; 0 if
 * one never came (a second's wait). */
static uint64_t rounds_ns(long n, void (*fire)(void))
{
    uint64_t t0 = rdtsc();

    for (long i = 0; i < n; i++) {
        uint32_t want = hits + 1;

        fire();
        if (!wait_until(hits >= want, 1000000)) {
            return 0;
        }
    }
    return tsc_to_us(rdtsc() - t0) * 1000 / (uint64_t)n;
}

static void fire_ipi(void)
{
    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, VEC_IPI | ICR_SELF);
}

static void fire_timer(void)
{
    lapic_write(LAPIC_TIMER_ICR, 1);
}

int main(void)
{
    long n = cmdline_get_int("n", 2000);
    uint64_t ipi, timer;

    report_prefix("bench-irq");
    n = n < 1 ? 1 : n;
    lapic_enable();
    irq_set_handler(VEC_IPI, h_count);
    irq_set_handler(VEC_TIMER, h_count);
    lapic_write(LAPIC_TIMER_DCR, 0xb);                  /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);            /* one-shot */
    irq_enable();
    ipi = rounds_ns(n, fire_ipi);
    timer = rounds_ns(n, fire_timer);
    irq_disable();
    printf("bench-irq: n=%ld ipi_ns=%lu timer_ns=%lu\n", n,
           (unsigned long)ipi, (unsigned long)timer);
    report(ipi && timer, "every self-IPI and timer interrupt arrived");
    report_summary();
}
