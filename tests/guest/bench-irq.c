/*
 * bench-irq: the cost of an interrupt the LAPIC delivers, for
 * bench/irq.py (each irqchip mode, kvmpc against QEMU 7.2):
 *
 *   - a self-IPI: the ICR written with the "self" shorthand (SDM vol. 3A
 *     10.6.1), then a wait until the handler has run;
 *   - a LAPIC timer interrupt: one-shot, initial count 1 at divide-by-1,
 *     then the same wait.
 *
 * With "x2apic=1" the LAPIC is switched to x2APIC mode first (IA32_APIC_
 * BASE.EXTD, SDM vol. 3A 10.12) and driven through its MSRs instead:
 * ICR 0x830, EOI 0x80b, the timer's LVT 0x832, initial count 0x838 and
 * divide configuration 0x83e (the MSR writes go through the runtime's
 * CPL 0 call, the handler's EOI is its own WRMSR).
 *
 * First, once: CR8 (the task priority, SDM vol. 3A 10.8.6.1) set to 7
 * must show in the LAPIC's TPR (0x70) and hold back a self-IPI of vector
 * 0x60 (priority class 6), which arrives when CR8 goes back to 0.
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

#define MSR_APIC_BASE       0x1b
#define APIC_BASE_EXTD      (1u << 10)
#define X2APIC_MSR(reg)     (0x800 + ((reg) >> 4))

static volatile uint32_t hits;
static bool x2apic;

static void h_count(int vec)
{
    (void)vec;
    hits++;
    if (x2apic) {
        /* the handler runs at CPL 0: its own WRMSR to the EOI register */
        asm volatile("wrmsr" :: "c"(X2APIC_MSR(LAPIC_EOI)), "a"(0), "d"(0));
    } else {
        lapic_eoi();
    }
}

/* A LAPIC register, through MMIO or (x2APIC) its MSR. */
static void apic_write(unsigned reg, uint32_t v)
{
    if (x2apic) {
        wrmsr(X2APIC_MSR(reg), v);
    } else {
        lapic_write(reg, v);
    }
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
    if (x2apic) {
        wrmsr(X2APIC_MSR(LAPIC_ICR_LO), VEC_IPI | ICR_SELF);   /* 64-bit */
        return;
    }
    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, VEC_IPI | ICR_SELF);
}

static void fire_timer(void)
{
    apic_write(LAPIC_TIMER_ICR, 1);
}

static uint64_t cpl0_write_cr8(uint64_t v, uint64_t unused)
{
    (void)unused;
    asm volatile("mov %0, %%cr8" :: "r"(v) : "memory");
    return 0;
}

static uint32_t apic_read(unsigned reg)
{
    return x2apic ? (uint32_t)rdmsr(X2APIC_MSR(reg)) : lapic_read(reg);
}

/*
 * CR8 is the TPR: raised, it holds a lower-class interrupt back.  Lowered,
 * the interrupt must come; with kernel_irqchip=off ("userspace_lapic=1" on
 * the command line) VMX and SVM report the lowering as an exit
 * (KVM_EXIT_SET_TPR), but the development hosts' PVM does not, so there
 * the held interrupt waits for the vCPU's next exit: a port read here
 * (docs/cpu.md, "Not done yet").
 */
static void check_cr8_tpr(void)
{
    uint32_t before = hits, tpr;
    bool held, came;

    cpl0_call(cpl0_write_cr8, 7, 0);
    tpr = apic_read(LAPIC_TPR);
    fire_ipi();
    held = !wait_until(hits != before, 20000);
    cpl0_call(cpl0_write_cr8, 0, 0);
    came = wait_until(hits != before, 100000);
    if (!came && cmdline_get_int("userspace_lapic", 0)) {
        report_info("the held self-IPI waits for an exit after CR8 0");
        (void)inb(0x80);                        /* any exit */
        came = wait_until(hits != before, 1000000);
    }
    report(tpr == 0x70 && held && came,
           "CR8 7: TPR 0x%x, a class-6 self-IPI held back (%s), delivered "
           "once CR8 is 0 (%s)", tpr, held ? "yes" : "no",
           came ? "yes" : "no");
}

/* CPUID.1:EBX[31:24], the initial APIC ID (x2APIC: leaf 0xb's EDX). */
static uint32_t lapic_id_cpuid(void)
{
    if (cpuid(0, 0).a >= 0xb) {
        return cpuid(0xb, 0).d;
    }
    return cpuid(1, 0).b >> 24;
}

int main(void)
{
    long n = cmdline_get_int("n", 2000);
    uint64_t ipi, timer;

    report_prefix("bench-irq");
    n = n < 1 ? 1 : n;
    lapic_enable();
    if (cmdline_get_int("x2apic", 0)) {
        if (!(cpuid(1, 0).c & (1u << 21))) {
            report_skip("no x2APIC in CPUID.1:ECX");
            report_summary();
        }
        wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
        x2apic = true;
        report((rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD) &&
               rdmsr(X2APIC_MSR(LAPIC_ID)) == lapic_id_cpuid(),
               "x2APIC mode: EXTD set, the ID MSR is the initial APIC ID");
    }
    irq_set_handler(VEC_IPI, h_count);
    irq_set_handler(VEC_TIMER, h_count);
    apic_write(LAPIC_TIMER_DCR, 0xb);                   /* divide by 1 */
    apic_write(LAPIC_LVT_TIMER, VEC_TIMER);             /* one-shot */
    irq_enable();
    check_cr8_tpr();
    ipi = rounds_ns(n, fire_ipi);
    timer = rounds_ns(n, fire_timer);
    irq_disable();
    printf("bench-irq: n=%ld ipi_ns=%lu timer_ns=%lu\n", n,
           (unsigned long)ipi, (unsigned long)timer);
    report(ipi && timer, "every self-IPI and timer interrupt arrived");
    report_summary();
}
