/*
 * pcspk: the PC speaker through port 0x61 and PIT channel 2, as a BIOS
 * beep or Linux's pcspkr driver drives it (IBM PC/AT Technical
 * Reference: port 0x61 bit 0 timer 2 gate, bit 1 speaker data, bit 4
 * refresh detect, bit 5 timer 2 output; 8254 mode 3, square wave).
 *
 *   tests/guest/run-pcspk-test.py runs it with -machine
 *   pcspk-audiodev= on a wav audiodev, under KVM's in-kernel PIT (the
 *   default, where port 0x61 then exits to kvmpc) and under
 *   kernel_irqchip=split (kvmpc's PIT), and checks the file on the
 *   host.  Here:
 *   - channel 2 in mode 3 at 440 Hz, gate and data on: port 0x61 reads
 *     both back, its bit 4 toggles from read to read and its bit 5
 *     (channel 2's output) changes level while the tone plays;
 *   - 0.6 s of it, then channel 2 reprogrammed to 880 Hz with port 0x61
 *     untouched (the speaker follows the PIT alone) for 0.6 s;
 *   - data and gate off: silence.
 */
#include "guest.h"

#define PIT_FREQ    1193182
#define PIT_CH2     0x42
#define PIT_CTRL    0x43
#define PORT_B      0x61

static void channel2_square(unsigned hz)
{
    unsigned count = (PIT_FREQ + hz / 2) / hz;

    outb(PIT_CTRL, 0xb6);               /* channel 2, lo/hi, mode 3 */
    outb(PIT_CH2, count & 0xff);
    outb(PIT_CH2, count >> 8);
}

/* Level changes of channel 2's output seen through port 0x61 in @us. */
static unsigned out2_changes(uint64_t us)
{
    uint64_t end = rdtsc() + us * tsc_hz() / 1000000;
    unsigned changes = 0;
    uint8_t last = inb(PORT_B) & 0x20;

    while (!expired(end)) {
        uint8_t now = inb(PORT_B) & 0x20;

        changes += now != last;
        last = now;
    }
    return changes;
}

int main(void)
{
    uint8_t a, b;
    unsigned n;

    report_prefix("pcspk");
    tsc_hz();           /* calibrated on channel 2: before the tone */
    outb(PORT_B, inb(PORT_B) & ~0x03);
    channel2_square(440);
    outb(PORT_B, (inb(PORT_B) & ~0x03) | 0x03);
    a = inb(PORT_B);
    b = inb(PORT_B);
    report((a & 0x03) == 0x03 && (b & 0x03) == 0x03,
           "port 0x61 reads gate and data back (%#x %#x)", a, b);
    report(((a ^ b) & 0x10) != 0, "refresh detect toggles (%#x %#x)", a, b);
    n = out2_changes(600000);
    report(n >= 4, "channel 2's output changes while it plays (%u)", n);
    channel2_square(880);
    udelay(600000);
    outb(PORT_B, inb(PORT_B) & ~0x03);
    report((inb(PORT_B) & 0x03) == 0, "gate and data off");
    report_summary();
}
