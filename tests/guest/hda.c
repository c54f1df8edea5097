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

static const int16_t sine48[48] = {
    0, 2139, 4240, 6270, 8192, 9974, 11585, 12998, 14189, 15137, 15826,
    16244, 16384, 16244, 15826, 15137, 14189, 12998, 11585, 9974, 8192,
    6270, 4240, 2139, 0, -2139, -4240, -6270, -8192, -9974, -11585,
    -12998, -14189, -15137, -15826, -16244, -16384, -16244, -15826,
    -15137, -14189, -12998, -11585, -9974, -8192, -6270, -4240, -2139,
};

static int16_t pcm[FRAMES * 2] __attribute__((aligned(128)));
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

int main(void)
{
    uint32_t b, lpib;

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
    icmd(0x00270610);                   /* DAC: stream tag 1, channel 0 */
    icmd(0x00220011);                   /* DAC: 48 kHz, 16 bit, stereo */

    for (unsigned i = 0; i < FRAMES; i++) {
        pcm[2 * i] = pcm[2 * i + 1] = sine48[i % 48];
    }
    for (unsigned i = 0; i < ENTRIES; i++) {
        bdl[i].addr = (uintptr_t)pcm + i * sizeof(pcm) / ENTRIES;
        bdl[i].len = sizeof(pcm) / ENTRIES;
        bdl[i].flags = 1;
    }
    mmio_write32(bar + SD4 + SDCTL, 1);         /* stream reset */
    mmio_write32(bar + SD4 + SDCTL, 0);
    mmio_write32(bar + SD4 + SDCBL, sizeof(pcm));
    mmio_write16(bar + SD4 + SDLVI, ENTRIES - 1);
    mmio_write16(bar + SD4 + SDFMT, 0x0011);
    mmio_write32(bar + SD4 + SDBDPL, (uintptr_t)bdl);
    mmio_write32(bar + SD4 + SDBDPU, 0);
    mmio_write32(bar + SD4 + SDCTL, 1u << 20 | 0x2 | 0x4);
    udelay(500000);
    lpib = mmio_read32(bar + SD4 + SDLPIB);
    report(lpib > sizeof(pcm) / 4, "LPIB moving (%u after 0.5 s)", lpib);
    report(mmio_read8(bar + SD4 + SDSTS) & 0x4, "buffer completion (BCIS)");
    mmio_write8(bar + SD4 + SDSTS, 0x4);
    udelay(500000);
    mmio_write32(bar + SD4 + SDCTL, 1u << 20);  /* stop */
    report(!(mmio_read32(bar + SD4 + SDCTL) & 2), "stream stopped");
    report_summary();
}
