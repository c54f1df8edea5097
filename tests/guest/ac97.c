/*
 * ac97: an Intel 82801AA AC'97 driver at CPL 3 (polled) that plays one
 * second of a 1 kHz sine, s16 stereo 48 kHz, through PCM OUT, or records
 * through PCM IN ("capture=1").
 *
 * Register names are those of the Intel 82801AA (ICH) / 82801AB (ICH0)
 * I/O Controller Hub datasheet (290655), "AC'97 Audio Controller
 * Registers" (NABMBAR: the PI/PO/MC boxes' BDBAR, CIV, LVI, SR, PICB,
 * PIV, CR; GLOB_CNT, GLOB_STA) and of the Audio Codec '97 revision 2.3
 * specification (NAMBAR: Reset 00h, Master Volume 02h, PCM Out Volume
 * 18h, Record Select 1Ah, Record Gain 1Ch, Powerdown Ctrl/Stat 26h,
 * Extended Audio ID 28h, Extended Audio Status/Control 2Ah, PCM Front
 * DAC Rate 2Ch, PCM L/R ADC Rate 32h, Vendor ID1/ID2 7Ch/7Eh).
 *
 *   tests/guest/run-ac97-test.py runs it with -device AC97 on a wav
 *   audiodev and checks the file with sox; run-hda-pa-test.py --ac97
 *   plays a tone into a PulseAudio sink that capture=1 records.
 *   Here:
 *   - PCI: the controller found by scanning bus 0 for 8086:2415; the I/O
 *     BARs (NAMBAR, NABMBAR) programmed when no firmware did, I/O
 *     decoding and bus mastering;
 *   - cold reset (GLOB_CNT.CR low, then high), the primary codec ready
 *     (GLOB_STA.PCR), the codec reset through its Reset register and its
 *     ready bits (Powerdown Ctrl/Stat 3:0), the STAC9700's vendor ID;
 *   - variable rate: Extended Audio ID has VRA; VRA set in Extended
 *     Audio Status/Control; the PCM Front DAC Rate takes 44100, then
 *     48000;
 *   - volume: Master 0 dB (00h), PCM Out 0 dB (0808h: the PCM Out
 *     register is a gain, 00h would be +12 dB);
 *   - PCM OUT: a four-entry BDL over the sine (IOC on each), LVI 3, run
 *     with IOCE and LVBIE: CIV moves, BCIS and GLOB_STA.POINT while it
 *     plays, BCIS written back clears; the box halts by itself after the
 *     last valid buffer (DCH, CELV, LVBCI; CIV = LVI, PICB 0).
 *   - capture=1: PCM L/R ADC Rate 48000, Record Gain 0 dB; PCM IN into a
 *     four-entry BDL for 1.5 s, the position from CIV and PICB, then the
 *     left channel measured as the hda payload does and printed as
 *     "capture: frequency F.FFF Hz, peak P, periods N (M skipped)".
 */
#include "guest.h"

#define PCI_ADDR        0xcf8
#define PCI_DATA        0xcfc
#define NAM_DEFAULT     0xc000u
#define NABM_DEFAULT    0xc400u

/* NAMBAR (AC'97 2.3 mixer registers) */
#define NAM_RESET       0x00
#define NAM_MASTER      0x02
#define NAM_PCM_OUT     0x18
#define NAM_REC_SELECT  0x1a
#define NAM_REC_GAIN    0x1c
#define NAM_POWERDOWN   0x26
#define NAM_EXT_ID      0x28
#define NAM_EXT_CTL     0x2a
#define NAM_FRONT_RATE  0x2c
#define NAM_ADC_RATE    0x32
#define NAM_VENDOR1     0x7c
#define NAM_VENDOR2     0x7e
#define EXT_VRA         0x0001

/* NABMBAR: boxes at 00h (PI), 10h (PO), 20h (MC), then the globals */
#define BOX_PI          0x00
#define BOX_PO          0x10
#define BDBAR           0x00
#define CIV             0x04
#define LVI             0x05
#define SR              0x06
#define PICB            0x08
#define CR              0x0b
#define SR_DCH          0x01
#define SR_CELV         0x02
#define SR_LVBCI        0x04
#define SR_BCIS         0x08
#define CR_RPBM         0x01
#define CR_RR           0x02
#define CR_LVBIE        0x04
#define CR_IOCE         0x10
#define GLOB_CNT        0x2c
#define GLOB_STA        0x30
#define GC_CR           0x02            /* cold reset#: 0 holds the link */
#define GS_POINT        0x40
#define GS_PCR          0x100
#define BD_IOC          0x80000000u

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
/* 32 entries of (buffer address, IOC/BUP and length in samples) */
static struct {
    uint32_t addr;
    uint32_t ctl;
} bdl[32] __attribute__((aligned(8)));

static unsigned ac97_devfn;
static uint16_t nam, nabm;

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

static bool find_ac97(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        if (pci_read32(devfn, 0) == 0x24158086) {
            ac97_devfn = devfn;
            return true;
        }
    }
    return false;
}

/* The I/O BAR at @off, programmed to @dflt when no firmware did. */
static uint16_t io_bar(unsigned off, uint32_t dflt)
{
    uint32_t b = pci_read32(ac97_devfn, off) & ~3u;

    if (!b) {
        pci_write32(ac97_devfn, off, dflt);
        b = pci_read32(ac97_devfn, off) & ~3u;
    }
    return b;
}

static bool wait_bits16(uint16_t port, uint16_t mask, uint16_t want,
                        uint32_t us)
{
    uint64_t end = deadline_us(us);

    while ((inw(port) & mask) != want) {
        if (expired(end)) {
            return false;
        }
        cpu_relax();
    }
    return true;
}

static bool codec_up(void)
{
    uint64_t end;

    outl(nabm + GLOB_CNT, 0);                   /* cold reset asserted */
    udelay(100);
    outl(nabm + GLOB_CNT, GC_CR);
    end = deadline_us(100000);
    while (!(inl(nabm + GLOB_STA) & GS_PCR)) {
        if (expired(end)) {
            return false;
        }
        cpu_relax();
    }
    outw(nam + NAM_RESET, 0);                   /* any write resets */
    return wait_bits16(nam + NAM_POWERDOWN, 0xf, 0xf, 100000);
}

static void set_vra(void)
{
    report(inw(nam + NAM_EXT_ID) & EXT_VRA, "Extended Audio ID has VRA");
    outw(nam + NAM_EXT_CTL, inw(nam + NAM_EXT_CTL) | EXT_VRA);
    report(inw(nam + NAM_EXT_CTL) & EXT_VRA, "VRA set");
    outw(nam + NAM_FRONT_RATE, 44100);
    report(inw(nam + NAM_FRONT_RATE) == 44100, "front DAC rate 44100");
    outw(nam + NAM_FRONT_RATE, 48000);
    report(inw(nam + NAM_FRONT_RATE) == 48000, "front DAC rate 48000");
}

/* BDL entries over @len bytes at @buf, IOC on each. */
static void bdl_fill(void *buf, uint32_t len)
{
    for (unsigned i = 0; i < ENTRIES; i++) {
        bdl[i].addr = (uintptr_t)buf + i * len / ENTRIES;
        bdl[i].ctl = BD_IOC | (len / ENTRIES / 2);      /* samples */
    }
}

/* Reset box @box (CR.RR clears itself) and load its BDL and LVI. */
static void box_setup(unsigned box)
{
    outb(nabm + box + CR, CR_RR);
    report(!(inb(nabm + box + CR) & CR_RR) && (inb(nabm + box + SR) & SR_DCH),
           "box %02x reset, halted", box);
    outl(nabm + box + BDBAR, (uintptr_t)bdl);
    outb(nabm + box + LVI, ENTRIES - 1);
}

static void play(void)
{
    uint8_t civ, sr;
    bool halted;

    outw(nam + NAM_MASTER, 0x0000);             /* 0 dB, unmuted */
    outw(nam + NAM_PCM_OUT, 0x0808);            /* 0 dB, unmuted */
    for (unsigned i = 0; i < FRAMES; i++) {
        pcm[2 * i] = pcm[2 * i + 1] = sine48[i % 48];
    }
    bdl_fill(pcm, sizeof(pcm));
    box_setup(BOX_PO);
    outb(nabm + BOX_PO + CR, CR_RPBM | CR_IOCE | CR_LVBIE);
    udelay(500000);
    civ = inb(nabm + BOX_PO + CIV);
    sr = inb(nabm + BOX_PO + SR);
    report(civ >= 1 && civ < ENTRIES, "CIV moving (%u after 0.5 s)", civ);
    report(sr & SR_BCIS, "buffer completion (BCIS, SR %02x)", sr);
    report(inl(nabm + GLOB_STA) & GS_POINT, "GLOB_STA.POINT");
    report(!(sr & SR_DCH), "running (DCH clear)");
    outw(nabm + BOX_PO + SR, SR_BCIS);
    report(!(inb(nabm + BOX_PO + SR) & SR_BCIS), "BCIS cleared");
    /* the box halts itself after buffer LVI: about 0.5 s from here */
    halted = wait_bits16(nabm + BOX_PO + SR, SR_DCH, SR_DCH, 2000000);
    sr = inb(nabm + BOX_PO + SR);
    report(halted && (sr & SR_CELV) && (sr & SR_LVBCI),
           "halted at the last valid buffer (SR %02x)", sr);
    report(inb(nabm + BOX_PO + CIV) == ENTRIES - 1 &&
           inw(nabm + BOX_PO + PICB) == 0, "CIV = LVI, PICB 0");
    outw(nabm + BOX_PO + SR, SR_LVBCI | SR_BCIS);
    outb(nabm + BOX_PO + CR, 0);
    report(!(inl(nabm + GLOB_STA) & GS_POINT), "POINT clear, stopped");
    udelay(100000);                             /* the tail plays out */
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

/* Bytes the PI box has written: whole buffers before CIV, and what the
 * current one has taken (its length less PICB, the samples left). */
static uint32_t pi_position(void)
{
    uint8_t civ;
    uint16_t picb;

    do {
        civ = inb(nabm + BOX_PI + CIV);
        picb = inw(nabm + BOX_PI + PICB);
    } while (civ != inb(nabm + BOX_PI + CIV));
    if (civ >= ENTRIES) {
        return 0;
    }
    return civ * (sizeof(cap) / ENTRIES) +
           ((bdl[civ].ctl & 0xffff) - picb) * 2;
}

static void capture(void)
{
    uint32_t pos;

    outw(nam + NAM_EXT_CTL, inw(nam + NAM_EXT_CTL) | EXT_VRA);
    outw(nam + NAM_ADC_RATE, 48000);
    report(inw(nam + NAM_ADC_RATE) == 48000, "L/R ADC rate 48000");
    outw(nam + NAM_REC_SELECT, 0x0000);         /* mic, as a driver does */
    outw(nam + NAM_REC_GAIN, 0x0000);           /* 0 dB, unmuted */
    bdl_fill(cap, sizeof(cap));
    box_setup(BOX_PI);
    outb(nabm + BOX_PI + CR, CR_RPBM);
    udelay(CAP_RUN_US);
    pos = pi_position();
    outb(nabm + BOX_PI + CR, 0);
    report(inb(nabm + BOX_PI + SR) & SR_DCH, "PI stopped (DCH)");
    /* 1.5 s of 48 kHz s16 stereo is 288000 bytes; the host may lag */
    report(pos > 192000 && pos < sizeof(cap), "position after 1.5 s: %u "
           "bytes (CIV %u)", pos, inb(nabm + BOX_PI + CIV));
    measure((pos < sizeof(cap) ? pos : sizeof(cap)) / 4);
}

int main(void)
{
    report_prefix("ac97");
    if (!find_ac97()) {
        report(false, "AC97 on bus 0");
        report_summary();
    }
    nam = io_bar(0x10, NAM_DEFAULT);
    nabm = io_bar(0x14, NABM_DEFAULT);
    pci_write32(ac97_devfn, 0x04, pci_read32(ac97_devfn, 0x04) | 0x05);
    report(nam && nabm, "NAMBAR %#x, NABMBAR %#x", nam, nabm);

    report(codec_up(), "cold reset, codec ready");
    report(inw(nam + NAM_VENDOR1) == 0x8384 &&
           inw(nam + NAM_VENDOR2) == 0x7600, "STAC9700 vendor ID");
    set_vra();
    if (cmdline_get_int("capture", 0)) {
        capture();
    } else {
        play();
    }
    report_summary();
}
