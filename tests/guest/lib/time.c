/*
 * Time: the TSC, calibrated once against PIT channel 2.  Used for delays
 * and generous timeouts only; tests make no tight timing assertions.
 *
 * Calibration survives a preempted vCPU: channel 2 counts down from 0xffff
 * (mode 0, gate on through port 0x61); the counter is latched and read
 * between two TSC reads, the tightest of several such brackets is kept,
 * once at the start and once ~40 ms later, and the TSC rate follows from
 * the PIT ticks between the two.  A bracket or an interval that a
 * preemption spoilt is retried.
 */
#include "guest.h"

#define PIT_HZ 1193182u
#define CAL_TICKS 47727u            /* 40 ms */

static uint64_t hz;

static uint16_t pit2_read(void)
{
    outb(0x43, 0x80);                           /* latch channel 2 */
    uint8_t lo = inb(0x42);
    uint8_t hi = inb(0x42);
    return (uint16_t)(lo | hi << 8);
}

/* Read the counter between two TSC reads; keep the tightest of 5. */
static void sample(uint64_t *tsc, uint16_t *count, uint64_t *width)
{
    *width = ~0ull;
    for (int i = 0; i < 5; i++) {
        uint64_t a = rdtsc();
        uint16_t c = pit2_read();
        uint64_t b = rdtsc();
        if (b - a < *width) {
            *width = b - a;
            *tsc = a + (b - a) / 2;
            *count = c;
        }
    }
}

static uint64_t calibrate_once(void)
{
    outb(0x43, 0xb0);                           /* ch 2, lo/hi, mode 0, binary */
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    uint64_t t0, t1, w0, w1;
    uint16_t c0, c1;
    sample(&t0, &c0, &w0);
    uint64_t start = rdtsc();
    while ((uint16_t)(c0 - pit2_read()) < CAL_TICKS) {
        if (rdtsc() - start > 4000000000ull)    /* 1-4 s: no PIT */
            return 0;
    }
    sample(&t1, &c1, &w1);
    uint16_t ticks = (uint16_t)(c0 - c1);
    if (c1 > c0 || ticks < CAL_TICKS || t1 <= t0)
        return 0;                               /* wrapped: preempted too long */
    /* brackets wider than 5% of the interval: preempted while sampling.
     * (A userspace PIT, kernel_irqchip=split|off, costs three exits of
     * ~35 us per read: on a loaded host 2% of 20 ms failed every try.) */
    if ((w0 + w1) * 20 > t1 - t0)
        return 0;
    return (t1 - t0) * PIT_HZ / ticks;
}

static uint64_t calibrate(void)
{
    uint8_t saved = inb(0x61);
    outb(0x61, (saved & ~0x02) | 0x01);         /* speaker off, gate 2 on */
    uint64_t r = 0;
    for (int i = 0; i < 8 && !r; i++)
        r = calibrate_once();
    outb(0x61, saved & ~0x03);
    if (!r) {
        struct cpuid c = cpuid(0, 0);
        uint64_t mhz = 0;
        if (c.a >= 0x16)
            mhz = cpuid(0x16, 0).a & 0xffff;
        if (!mhz)
            mhz = 2000;
        printf("time: PIT channel 2 calibration failed; assuming a %lu MHz TSC\n", (unsigned long)mhz);
        return mhz * 1000000;
    }
    return r;
}

uint64_t tsc_hz(void)
{
    if (!hz)
        hz = calibrate();
    return hz;
}

uint64_t deadline_us(uint64_t us)
{
    return rdtsc() + us * (tsc_hz() / 1000000);
}

void udelay(uint64_t us)
{
    uint64_t d = deadline_us(us);
    while (!expired(d))
        cpu_relax();
}

uint64_t tsc_to_us(uint64_t ticks)
{
    return ticks / (tsc_hz() / 1000000);
}
