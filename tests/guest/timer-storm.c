/*
 * timer-storm: a guest that programs a timer as fast (or as oddly) as the
 * hardware lets it and keeps taking the interrupts, so the test around it
 * (tests/qmp/test_timer_storm.py) can check that the monitor still
 * answers promptly.  "-append storm=KIND seconds=N":
 *
 *   hpet       HPET timer 0, periodic, period 1 tick (10 ns), edge, routed
 *              to I/O APIC input 2 (IA-PC HPET 1.0a, 2.3.9.2.2)
 *   hpet-wrap  the comparator programmed further away than half the
 *              counter range: 64-bit timer 0 with period
 *              0xffffffff00001000 and 32-bit timer 1 with period
 *              0xffffffff (a wait of centuries and of ~43 s, which kvmpc
 *              once took for "already passed" and re-fired at once)
 *   rtc        MC146818 periodic interrupt at its fastest rate (register A
 *              rate 3: 8192 Hz), IRQ 8, acknowledged through register C
 *   lapic      local APIC timer, periodic, divide by 1, initial count 1
 *              (KVM clamps it to its shortest period)
 *
 * It prints "timer-storm: KIND running", takes interrupts for N seconds
 * (default 4), then prints how many it took and exits 0.
 */
#include "guest.h"

#define VEC_STORM       0x40
#define HPET_BASE       0xfed00000ul
#define HPET_CFG        0x010
#define HPET_TN_CFG(n)  (0x100 + 0x20 * (n))
#define HPET_TN_CMP(n)  (0x108 + 0x20 * (n))
#define CFG_ENABLE      (1u << 0)
#define TN_ENB          (1u << 2)
#define TN_PERIODIC     (1u << 3)
#define TN_VAL_SET      (1u << 6)
#define TN_32MODE       (1u << 8)
#define TN_ROUTE_PIN2   (2u << 9)

static volatile uint64_t count;

static void h_count(int vec) { count++; lapic_eoi(); }

static void h_rtc(int vec)
{
    count++;
    outb(0x70, 0x0c);                   /* reading register C acknowledges */
    inb(0x71);
    lapic_eoi();
}

static void hpet_wr(unsigned reg, uint32_t v)
{
    mmio_write32(HPET_BASE + reg, v);
}

/* Timer @n: config @cfg, then comparator and period @ticks (VAL_SET). */
static void hpet_program(unsigned n, uint32_t cfg, uint64_t ticks)
{
    hpet_wr(HPET_TN_CFG(n), cfg | TN_VAL_SET);
    hpet_wr(HPET_TN_CMP(n), (uint32_t)ticks);
    if (!(cfg & TN_32MODE)) {
        hpet_wr(HPET_TN_CFG(n), cfg | TN_VAL_SET);
        hpet_wr(HPET_TN_CMP(n) + 4, ticks >> 32);
    }
}

/*
 * The PIT shares I/O APIC input 2 with the HPET's timers (IRQ 0): let it
 * interrupt once more and then never again (mode 0, count 1), and take
 * that interrupt, so the input then carries only what the HPET sends (as
 * platform.c does before its HPET checks).
 */
static void pit_silence(void)
{
    ioapic_route(2, VEC_STORM, lapic_id(), 0);
    outb(0x43, 0x30);                   /* ch 0, lo/hi, mode 0 */
    outb(0x40, 1);
    outb(0x40, 0);
    irq_enable();
    wait_until(count > 0, 1000000);
    irq_disable();
    count = 0;
}

static void storm_hpet(void)
{
    pit_silence();
    hpet_program(0, TN_ENB | TN_PERIODIC | TN_ROUTE_PIN2, 1);
    hpet_wr(HPET_CFG, CFG_ENABLE);
}

static void storm_hpet_wrap(void)
{
    pit_silence();
    hpet_program(0, TN_ENB | TN_PERIODIC | TN_ROUTE_PIN2,
                 0xffffffff00001000ull);
    hpet_program(1, TN_ENB | TN_PERIODIC | TN_32MODE | TN_ROUTE_PIN2,
                 0xffffffffull);
    hpet_wr(HPET_CFG, CFG_ENABLE);
}

static void storm_rtc(void)
{
    outb(0x70, 0x0a);
    outb(0x71, 0x23);                   /* 32.768 kHz divider, rate 3 */
    outb(0x70, 0x0c);
    inb(0x71);
    ioapic_route(8, VEC_STORM, lapic_id(), 0);
    outb(0x70, 0x0b);
    outb(0x71, 0x02 | 0x40);            /* 24-hour mode, PIE */
}

static void storm_lapic(void)
{
    lapic_write(LAPIC_TIMER_DCR, 0xb);  /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | VEC_STORM);
    lapic_write(LAPIC_TIMER_ICR, 1);
}

static const struct {
    const char *name;
    void (*start)(void);
    irq_handler_t handler;
} storms[] = {
    { "hpet", storm_hpet, h_count },
    { "hpet-wrap", storm_hpet_wrap, h_count },
    { "rtc", storm_rtc, h_rtc },
    { "lapic", storm_lapic, h_count },
};

int main(void)
{
    char kind[16];
    long seconds = cmdline_get_int("seconds", 4);

    if (!cmdline_get("storm", kind, sizeof(kind))) {
        report(false, "no storm=KIND on the command line");
        report_summary();
    }
    for (unsigned i = 0; i < ARRAY_SIZE(storms); i++) {
        if (strcmp(kind, storms[i].name)) {
            continue;
        }
        lapic_enable();
        irq_set_handler(VEC_STORM, storms[i].handler);
        storms[i].start();
        printf("timer-storm: %s running\n", kind);
        irq_enable();
        udelay((uint64_t)seconds * 1000000);
        irq_disable();
        printf("timer-storm: %s took %lu interrupts in %ld s\n", kind,
               (unsigned long)count, seconds);
        report(true, "storm %s ran for %ld s", kind, seconds);
        report_summary();
    }
    report(false, "unknown storm '%s'", kind);
    report_summary();
}
