/*
 * hda: an Intel HDA driver at CPL 3 (polled) that plays one second of a
 * 1 kHz sine, s16 stereo 48 kHz, through hda-duplex.
 *
 *   tests/guest/run-hda-test.py runs it with -device intel-hda
 *   -device hda-duplex on a wav audiodev and checks the file with sox.
 *   Here:
 *   - PCI: the controller found by scanning bus 0 for 8086:2668; BAR0
 *     programmed when no firmware did, memory decoding and bus mastering;
 *   - GCTL reset and out of reset, the codec in STATESTS;
 *   - immediate commands: the codec's vendor ID and node count, the DAC
 *     (NID 2) on stream tag 1 with format 48 kHz s16 stereo;
 *   - output stream SD4: a four-entry BDL over the sine, IOC on each,
 *     run for one second (udelay), LPIB and BCIS checked, stopped.
 *
 * With "capture=1" on the command line it records instead (what
 * run-hda-pa-test.py plays into a PulseAudio sink, 1.5 s): the ADC
 * (NID 4) on stream tag 2 at 48 kHz s16 stereo, input stream SD0 over a
 * four-entry BDL, then measures the left channel and prints
 * "capture: frequency F.FFF Hz, peak P, periods N (M skipped)" for the
 * host to judge: each period is the distance between two rising zero
 * crossings (interpolated to 1/65536 of a frame), and periods more than
 * 3 % off the mean (a gap while the host fell behind) are left out.
 * "silence=1" wants nothing but silence (the host's source is missing).
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define BAR_DEFAULT     0xfebf0000u

#define GCTL            0x08
#define STATESTS        0x0e
#define ICOI            0x60
#define IRII            0x64
#define ICS             0x68
#define SD0             0x80
#define SD4             0x100
#define SDCTL           0x00
#define SDSTS           0x03
#define SDLPIB          0x04
#define SDCBL           0x08
#define SDLVI           0x0c
#define SDFMT           0x12
#define SDBDPL          0x18
#define SDBDPU          0x1c

#define FRAMES          48000
#define ENTRIES         4
#define CAP_FRAMES      96000           /* 2 s: 1.5 s of capture fits */
#define CAP_RUN_US      1500000
#define FIX             65536           /* 16.16 frame positions */

static const int16_t sine48[48] = {
    0, 2139, 4240, 6270, 8192, 9974, 11585, 12998, 14189, 15137, 15826,
    16244, 16384, 16244, 15826, 15137, 14189, 12998, 11585, 9974, 8192,
    6270, 4240, 2139, 0, -2139, -4240, -6270, -8192, -9974, -11585,
    -12998, -14189, -15137, -15826, -16244, -16384, -16244, -15826,
    -15137, -14189, -12998, -11585, -9974, -8192, -6270, -4240, -2139,
};

static int16_t pcm[FRAMES * 2] __attribute__((aligned(128)));
static int16_t cap[CAP_FRAMES * 2] __attribute__((aligned(128)));
static struct {
    uint64_t addr;
    uint32_t len;
    uint32_t flags;
} bdl[ENTRIES] __attribute__((aligned(128)));

static unsigned hda_devfn;
static uintptr_t bar;

static uint32_t pci_read32(unsigned devfn, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    return inl(PCI_DATA);
}

static void pci_write32(unsigned devfn, unsigned off, uint32_t v)
{
    outl(PCI_ADDR, 0x80000000u | devfn << 8 | off);
    outl(PCI_DATA, v);
}

static bool find_hda(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        if (pci_read32(devfn, 0) == 0x26688086) {
            hda_devfn = devfn;
            return true;
        }
    }
    return false;
}

static uint32_t icmd(uint32_t verb)
{
    uint64_t end = deadline_us(100000);

    mmio_write32(bar + ICOI, verb);
    mmio_write16(bar + ICS, 1);
    while (!(mmio_read16(bar + ICS) & 2)) {
        if (expired(end)) {
            report(false, "verb %08x answered", verb);
            return 0;
        }
        cpu_relax();
    }
    mmio_write16(bar + ICS, 2);
    return mmio_read32(bar + IRII);
}

/* BDL entries over @len bytes at @buf, IOC on each. */
static void bdl_fill(void *buf, uint32_t len)
{
    for (unsigned i = 0; i < ENTRIES; i++) {
        bdl[i].addr = (uintptr_t)buf + i * len / ENTRIES;
        bdl[i].len = len / ENTRIES;
        bdl[i].flags = 1;
    }
}

/* Reset stream descriptor @sd and load its BDL, length and format. */
static void stream_setup(unsigned sd, uint32_t cbl)
{
    mmio_write32(bar + sd + SDCTL, 1);          /* stream reset */
    mmio_write32(bar + sd + SDCTL, 0);
    mmio_write32(bar + sd + SDCBL, cbl);
    mmio_write16(bar + sd + SDLVI, ENTRIES - 1);
    mmio_write16(bar + sd + SDFMT, 0x0011);     /* 48 kHz, 16 bit, stereo */
    mmio_write32(bar + sd + SDBDPL, (uintptr_t)bdl);
    mmio_write32(bar + sd + SDBDPU, 0);
}

static void play(void)
{
    uint32_t lpib;

    icmd(0x00270610);                   /* DAC: stream tag 1, channel 0 */
    icmd(0x00220011);                   /* DAC: 48 kHz, 16 bit, stereo */

    for (unsigned i = 0; i < FRAMES; i++) {
        pcm[2 * i] = pcm[2 * i + 1] = sine48[i % 48];
    }
    bdl_fill(pcm, sizeof(pcm));
    stream_setup(SD4, sizeof(pcm));
    mmio_write32(bar + SD4 + SDCTL, 1u << 20 | 0x2 | 0x4);
    udelay(500000);
    lpib = mmio_read32(bar + SD4 + SDLPIB);
    report(lpib > sizeof(pcm) / 4, "LPIB moving (%u after 0.5 s)", lpib);
    report(mmio_read8(bar + SD4 + SDSTS) & 0x4, "buffer completion (BCIS)");
    mmio_write8(bar + SD4 + SDSTS, 0x4);
    udelay(500000);
    mmio_write32(bar + SD4 + SDCTL, 1u << 20);  /* stop */
    report(!(mmio_read32(bar + SD4 + SDCTL) & 2), "stream stopped");
}

/* 16.16 position of the rising zero crossing between frames i-1 and i. */
static uint64_t crossing_at(unsigned i)
{
    int32_t a = cap[2 * (i - 1)], b = cap[2 * i];

    return (uint64_t)(i - 1) * FIX + (uint64_t)(-a) * FIX / (uint32_t)(b - a);
}

/* Mean period (16.16 frames) of the crossings after @from, leaving out
 * periods more than 3 % off @approx (0: take them all). */
static uint64_t mean_period(unsigned from, unsigned n, uint64_t approx,
                            unsigned *kept, unsigned *skipped)
{
    uint64_t prev = 0, sum = 0;

    *kept = *skipped = 0;
    for (unsigned i = from + 1; i < n; i++) {
        uint64_t at, d;

        if (!(cap[2 * (i - 1)] < 0 && cap[2 * i] >= 0)) {
            continue;
        }
        at = crossing_at(i);
        d = at - prev;
        if (prev && (!approx || (d * 100 >= approx * 97 &&
                                 d * 100 <= approx * 103))) {
            sum += d;
            ++*kept;
        } else if (prev) {
            ++*skipped;
        }
        prev = at;
    }
    return *kept ? sum / *kept : 0;
}

static void measure(unsigned n)
{
    unsigned from = 0, kept, skipped, peak = 0;
    uint64_t period, mhz;

    /* the sound starts once the host's stream delivers: skip the silence
     * before it, and 10 ms more */
    while (from < n && cap[2 * from] > -1000 && cap[2 * from] < 1000) {
        from++;
    }
    if (cmdline_get_int("silence", 0)) {
        /* the host's source failed: the stream still runs, silent */
        report(from == n, "silence (%u frames)", n);
        return;
    }
    from += 480;
    for (unsigned i = from; i < n; i++) {
        int v = cap[2 * i] < 0 ? -cap[2 * i] : cap[2 * i];
        peak = v > (int)peak ? (unsigned)v : peak;
    }
    period = mean_period(from, n, 0, &kept, &skipped);
    period = mean_period(from, n, period, &kept, &skipped);
    report(kept >= 100, "at least 100 periods of sound (%u)", kept);
    if (!period) {
        return;
    }
    mhz = 48000ull * FIX * 1000 / period;
    printf("capture: frequency %u.%03u Hz, peak %u, periods %u "
           "(%u skipped)\n", (unsigned)(mhz / 1000), (unsigned)(mhz % 1000),
           peak, kept, skipped);
}

static void capture(void)
{
    uint32_t lpib;

    icmd(0x00470620);                   /* ADC: stream tag 2, channel 0 */
    icmd(0x00420011);                   /* ADC: 48 kHz, 16 bit, stereo */
    bdl_fill(cap, sizeof(cap));
    stream_setup(SD0, sizeof(cap));
    mmio_write32(bar + SD0 + SDCTL, 2u << 20 | 0x2);
    udelay(CAP_RUN_US);
    lpib = mmio_read32(bar + SD0 + SDLPIB);
    mmio_write32(bar + SD0 + SDCTL, 2u << 20);  /* stop */
    report(!(mmio_read32(bar + SD0 + SDCTL) & 2), "stream stopped");
    /* 1.5 s of 48 kHz s16 stereo is 288000 bytes; the host may lag */
    report(lpib > 192000 && lpib < sizeof(cap),
           "LPIB after 1.5 s: %u bytes", lpib);
    measure((lpib < sizeof(cap) ? lpib : sizeof(cap)) / 4);
}

int main(void)
{
    uint32_t b;

    report_prefix("hda");
    if (!find_hda()) {
        report(false, "intel-hda on bus 0");
        report_summary();
    }
    b = pci_read32(hda_devfn, 0x10) & ~0xfu;
    if (!b) {                           /* no firmware ran (direct boot) */
        pci_write32(hda_devfn, 0x10, BAR_DEFAULT);
        b = pci_read32(hda_devfn, 0x10) & ~0xfu;
    }
    bar = b;
    pci_write32(hda_devfn, 0x04, pci_read32(hda_devfn, 0x04) | 0x06);
    report(bar != 0, "BAR0 at %#lx", (unsigned long)bar);

    mmio_write32(bar + GCTL, 0);
    mmio_write32(bar + GCTL, 1);
    udelay(1000);
    report(mmio_read32(bar + GCTL) & 1, "out of reset");
    report(mmio_read16(bar + STATESTS) & 1, "codec 0 present");
    report(icmd(0x000f0000) == 0x1af40022, "hda-duplex vendor ID");
    report(icmd(0x001f0004) == 0x00020004, "four widgets from NID 2");
    if (cmdline_get_int("capture", 0)) {
        capture();
    } else {
        play();
    }
    report_summary();
}
