/*
 * intel-hda / ich9-intel-hda with hda-duplex / hda-output / hda-micro:
 * registers and reset, CORB/RIRB and immediate verbs (codec parameters),
 * unsolicited responses, a 1 kHz sine played through a BDL into the wav
 * back end and checked sample by sample and with sox, resampling to
 * 44.1 kHz, capture, and hostile BDLs.  Spec: Intel HD Audio 1.0a.
 */
#include "chipset/pci-helpers.h"
#include "audio-helpers.h"
#include <glib/gstdio.h>
#include <unistd.h>

#define HDA_SLOT        4
#define HDA             DEVFN(HDA_SLOT, 0)
#define BAR             0xfe000000u
#define CORB_RAM        0x100000u
#define RIRB_RAM        0x101000u
#define DPL_RAM         0x102000u
#define BDL_RAM         0x180000u
#define PCM_RAM         0x200000u

#define GCAP 0x00
#define VMIN 0x02
#define VMAJ 0x03
#define OUTPAY 0x04
#define INPAY 0x06
#define GCTL 0x08
#define WAKEEN 0x0c
#define STATESTS 0x0e
#define INTCTL 0x20
#define INTSTS 0x24
#define WALCLK 0x30
#define CORBLBASE 0x40
#define CORBUBASE 0x44
#define CORBWP 0x48
#define CORBRP 0x4a
#define CORBCTL 0x4c
#define CORBSTS 0x4d
#define CORBSIZE 0x4e
#define RIRBLBASE 0x50
#define RIRBUBASE 0x54
#define RIRBWP 0x58
#define RINTCNT 0x5a
#define RIRBCTL 0x5c
#define RIRBSTS 0x5d
#define RIRBSIZE 0x5e
#define ICOI 0x60
#define IRII 0x64
#define ICS 0x68
#define DPLBASE 0x70
#define DPUBASE 0x74
#define SD(n) (0x80 + (n) * 0x20)
#define SDCTL 0x00
#define SDSTS 0x03
#define SDLPIB 0x04
#define SDCBL 0x08
#define SDLVI 0x0c
#define SDFIFOS 0x10
#define SDFMT 0x12
#define SDBDPL 0x18
#define SDBDPU 0x1c
#define OUT0 4                  /* the first output stream descriptor */

#define SDCTL_SRST 0x1
#define SDCTL_RUN 0x2
#define SDCTL_IOCE 0x4
#define SDCTL_DEIE 0x10
#define SDSTS_BCIS 0x4
#define SDSTS_DESE 0x10

#define VERB(cad, nid, v) ((uint32_t)(cad) << 28 | (uint32_t)(nid) << 20 | (v))
#define FMT_48K_S16_2CH 0x0011

typedef struct Env {
    QTestState *s;
    char *wav;
    uint32_t rirb_rp;           /* the next RIRB entry to read */
} Env;

/* BAR0 registers */
static uint32_t rl(Env *e, uint32_t off)
{
    return qtest_readl(e->s, BAR + off);
}

static uint16_t rw(Env *e, uint32_t off)
{
    return qtest_readw(e->s, BAR + off);
}

static uint8_t rb(Env *e, uint32_t off)
{
    return qtest_readb(e->s, BAR + off);
}

static void wl(Env *e, uint32_t off, uint32_t v)
{
    qtest_writel(e->s, BAR + off, v);
}

static void ww(Env *e, uint32_t off, uint16_t v)
{
    qtest_writew(e->s, BAR + off, v);
}

static void wb(Env *e, uint32_t off, uint8_t v)
{
    qtest_writeb(e->s, BAR + off, v);
}

static void env_start(Env *e, const char *ctrl, const char *codec,
                      const char *audiodev)
{
    e->wav = g_strdup_printf("%s/hda-test-%d.wav", g_get_tmp_dir(),
                             (int)getpid());
    e->s = qtest_initf("-audiodev %s,id=snd0%s%s -device %s,addr=%d "
                       "-device %s,audiodev=snd0", audiodev,
                       g_str_has_prefix(audiodev, "wav") ? ",path=" : "",
                       g_str_has_prefix(audiodev, "wav") ? e->wav : "",
                       ctrl, HDA_SLOT, codec);
    cfg_writel(e->s, HDA, 0x10, BAR);
    cfg_writew(e->s, HDA, 0x04, 0x6);       /* memory, bus master */
    e->rirb_rp = 0;
}

static void env_stop(Env *e)
{
    qtest_quit(e->s);
    g_unlink(e->wav);
    g_free(e->wav);
}

/* Leave reset and set up the CORB and RIRB (256 entries). */
static void link_up(Env *e)
{
    wl(e, GCTL, 1);
    g_assert_cmphex(rl(e, GCTL) & 1, ==, 1);
    wl(e, CORBLBASE, CORB_RAM);
    wl(e, CORBUBASE, 0);
    ww(e, CORBRP, 0x8000);
    g_assert_cmphex(rw(e, CORBRP), ==, 0x8000);
    ww(e, CORBRP, 0);
    ww(e, CORBWP, 0);
    wl(e, RIRBLBASE, RIRB_RAM);
    wl(e, RIRBUBASE, 0);
    ww(e, RIRBWP, 0x8000);
    ww(e, RINTCNT, 1);
    wb(e, RIRBCTL, 0x3);                    /* DMA on, RINTFL interrupt */
    wb(e, CORBCTL, 0x2);                    /* CORB run */
}

/* Send @verb through the CORB and return its answer from the RIRB. */
static uint32_t corb_cmd(Env *e, uint32_t verb, uint32_t *ex)
{
    uint16_t wp = (rw(e, CORBWP) + 1) & 0xff;
    uint32_t r;

    qtest_writel(e->s, CORB_RAM + wp * 4, verb);
    ww(e, CORBWP, wp);
    g_assert_cmphex(rw(e, CORBRP), ==, wp);
    e->rirb_rp = (e->rirb_rp + 1) & 0xff;
    g_assert_cmphex(rw(e, RIRBWP) & 0xff, ==, e->rirb_rp);
    r = qtest_readl(e->s, RIRB_RAM + e->rirb_rp * 8);
    if (ex) {
        *ex = qtest_readl(e->s, RIRB_RAM + e->rirb_rp * 8 + 4);
    }
    g_assert_cmphex(rb(e, RIRBSTS) & 1, ==, 1);
    wb(e, RIRBSTS, 1);
    g_assert_cmphex(rb(e, RIRBSTS) & 1, ==, 0);
    return r;
}

static uint32_t icmd(Env *e, uint32_t verb)
{
    wl(e, ICOI, verb);
    ww(e, ICS, 1);
    g_assert_cmphex(rw(e, ICS) & 3, ==, 2);     /* not busy, valid */
    ww(e, ICS, 2);                              /* clear IRV */
    g_assert_cmphex(rw(e, ICS) & 2, ==, 0);
    return rl(e, IRII);
}

static void test_registers(void)
{
    Env e;

    env_start(&e, "intel-hda", "hda-duplex", "none");
    g_assert_cmphex(cfg_readl(e.s, HDA, 0x00), ==, 0x26688086);
    g_assert_cmphex(cfg_readl(e.s, HDA, 0x08) >> 8, ==, 0x040300);
    g_assert_cmphex(cfg_readb(e.s, HDA, 0x3d), ==, 1);
    g_assert_cmphex(cfg_find_cap(e.s, HDA, 0x05), ==, 0x60);    /* MSI */
    g_assert_cmphex(rw(&e, GCAP), ==, 0x4401);
    g_assert_cmphex(rb(&e, VMIN), ==, 0);
    g_assert_cmphex(rb(&e, VMAJ), ==, 1);
    g_assert_cmphex(rw(&e, OUTPAY), ==, 0x3c);
    g_assert_cmphex(rw(&e, INPAY), ==, 0x1d);
    g_assert_cmphex(rl(&e, GCTL), ==, 0);
    g_assert_cmphex(rb(&e, CORBSIZE), ==, 0x42);
    g_assert_cmphex(rb(&e, RIRBSIZE), ==, 0x42);
    g_assert_cmphex(rw(&e, SD(OUT0) + SDFIFOS), ==, 0xff);
    /* read-only and reserved bits */
    wl(&e, CORBLBASE, 0x12345fff);
    g_assert_cmphex(rl(&e, CORBLBASE), ==, 0x12345f80);
    wl(&e, SD(OUT0) + SDBDPL, 0xffffffff);
    g_assert_cmphex(rl(&e, SD(OUT0) + SDBDPL), ==, 0xffffff80);
    wl(&e, GCAP, 0);
    g_assert_cmphex(rw(&e, GCAP), ==, 0x4401);
    /* the ICH9 LPIB alias mirrors SDnLPIB */
    g_assert_cmphex(rl(&e, 0x2000 + SD(OUT0) + SDLPIB), ==, 0);
    /* out of reset the codec at address 0 reports itself */
    g_assert_cmphex(rw(&e, STATESTS), ==, 0);
    wl(&e, GCTL, 1);
    g_assert_cmphex(rw(&e, STATESTS), ==, 1);
    /* STATESTS & WAKEEN raise CIS; GIS with CIE and GIE */
    ww(&e, WAKEEN, 1);
    wl(&e, INTCTL, 0xc0000000);
    g_assert_cmphex(rl(&e, INTSTS), ==, 0xc0000000);
    ww(&e, STATESTS, 1);                        /* write 1 to clear */
    g_assert_cmphex(rw(&e, STATESTS), ==, 0);
    g_assert_cmphex(rl(&e, INTSTS), ==, 0);
    /* the wall clock runs at 24 MHz */
    {
        uint32_t w0 = rl(&e, WALCLK);
        qtest_clock_step(e.s, 1000000);         /* 1 ms */
        g_assert_cmpuint(rl(&e, WALCLK) - w0, ==, 24000);
    }
    /* controller reset clears everything */
    wl(&e, CORBLBASE, 0x1000);
    wl(&e, GCTL, 0);
    g_assert_cmphex(rl(&e, CORBLBASE), ==, 0);
    g_assert_cmphex(rl(&e, INTCTL), ==, 0);
    env_stop(&e);
}

static void test_ich9_ids(void)
{
    Env e;

    env_start(&e, "ich9-intel-hda", "hda-output", "none");
    g_assert_cmphex(cfg_readl(e.s, HDA, 0x00), ==, 0x293e8086);
    g_assert_cmphex(cfg_readb(e.s, HDA, 0x08), ==, 3);
    link_up(&e);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 0, 0xf0000), NULL), ==, 0x1af40012);
    /* output-only: two widgets from NID 2 */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 1, 0xf0004), NULL), ==, 0x00020002);
    env_stop(&e);
}

static void test_verbs(void)
{
    Env e;
    uint32_t ex;

    env_start(&e, "intel-hda", "hda-duplex", "none");
    link_up(&e);
    /* root: vendor, revision, one function group at NID 1 */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 0, 0xf0000), &ex), ==, 0x1af40022);
    g_assert_cmphex(ex, ==, 0);                 /* solicited, codec 0 */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 0, 0xf0002), NULL), ==, 0x00100101);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 0, 0xf0004), NULL), ==, 0x00010001);
    /* AFG: audio, unsolicited capable, widgets 2-5 */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 1, 0xf0005), NULL), ==, 0x101);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 1, 0xf0004), NULL), ==, 0x00020004);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 1, 0xf000a), NULL) &
                    0x001f0060, ==, 0x001f0060);  /* 44.1/48k, 8-32 bit */
    /* the widget graph: DAC -> out pin, in pin -> ADC */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xf0009), NULL) >> 20, ==, 0);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf0009), NULL) >> 20, ==, 4);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 4, 0xf0009), NULL) >> 20, ==, 1);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 5, 0xf0009), NULL) >> 20, ==, 4);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf000e), NULL), ==, 1);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf0200), NULL), ==, 2);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 4, 0xf0200), NULL), ==, 5);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf000c), NULL) & 0x10, ==, 0x10);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 5, 0xf000c), NULL) & 0x20, ==, 0x20);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf1c00), NULL), ==, 0x01014010);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf0900), NULL), ==, 0x80000000);
    /* amplifier: 74 steps, mute; set left only */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xf0012), NULL), ==, 0x80034a4a);
    corb_cmd(&e, VERB(0, 2, 0x3a000 | 0x80 | 0x20), NULL);   /* out, L */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xba000), NULL), ==, 0xa0);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xb8000), NULL), ==, 0x4a);
    /* converter stream and format */
    corb_cmd(&e, VERB(0, 2, 0x70615), NULL);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xf0600), NULL), ==, 0x15);
    corb_cmd(&e, VERB(0, 2, 0x24031), NULL);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xa0000), NULL), ==, 0x4031);
    /* function reset restores the defaults */
    corb_cmd(&e, VERB(0, 1, 0x7ff00), NULL);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 2, 0xf0600), NULL), ==, 0);
    /* a node that does not exist answers 0 */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 0x40, 0xf0000), NULL), ==, 0);
    /* the immediate command interface */
    g_assert_cmphex(icmd(&e, VERB(0, 1, 0xf0004)), ==, 0x00020004);
    g_assert_cmphex(icmd(&e, VERB(0, 0, 0xf0000)), ==, 0x1af40022);
    /* a command to an absent codec gets no answer */
    {
        uint16_t wp = (rw(&e, CORBWP) + 1) & 0xff;
        qtest_writel(e.s, CORB_RAM + wp * 4, VERB(3, 0, 0xf0000));
        ww(&e, CORBWP, wp);
        g_assert_cmphex(rw(&e, CORBRP), ==, wp);
        g_assert_cmphex(rw(&e, RIRBWP), ==, e.rirb_rp);
    }
    /* unsolicited: only with GCTL.UNSOL; tag in 31:26, bit 4 of ex */
    corb_cmd(&e, VERB(0, 3, 0x70885), NULL);
    g_assert_cmphex(rw(&e, RIRBWP), ==, e.rirb_rp);
    corb_cmd(&e, VERB(0, 3, 0x70800), NULL);
    wl(&e, GCTL, 0x101);
    {
        uint16_t wp = (rw(&e, CORBWP) + 1) & 0xff;
        qtest_writel(e.s, CORB_RAM + wp * 4, VERB(0, 3, 0x70885));
        ww(&e, CORBWP, wp);
        wb(&e, RIRBSTS, 1);
    }
    /* the verb's answer, then the jack's unsolicited response */
    g_assert_cmphex(rw(&e, RIRBWP), ==, (e.rirb_rp + 2) & 0xff);
    e.rirb_rp++;
    g_assert_cmphex(qtest_readl(e.s, RIRB_RAM + e.rirb_rp * 8 + 4), ==, 0);
    e.rirb_rp++;
    g_assert_cmphex(qtest_readl(e.s, RIRB_RAM + e.rirb_rp * 8), ==,
                    5u << 26 | 1);
    g_assert_cmphex(qtest_readl(e.s, RIRB_RAM + e.rirb_rp * 8 + 4), ==, 0x10);
    g_assert_cmphex(corb_cmd(&e, VERB(0, 3, 0xf0800), NULL), ==, 0x85);
    /* RINTCNT 2: RINTFL after two responses or when the CORB drains */
    ww(&e, RINTCNT, 2);
    corb_cmd(&e, VERB(0, 0, 0xf0000), NULL);
    /* a CORB in memory that does not exist: CMEI, the CORB stops */
    wb(&e, CORBCTL, 0);
    wl(&e, CORBLBASE, 0);
    wl(&e, CORBUBASE, 0x100);                   /* 1 TiB: no RAM */
    wb(&e, CORBCTL, 0x3);
    ww(&e, CORBWP, (rw(&e, CORBWP) + 1) & 0xff);
    g_assert_cmphex(rb(&e, CORBSTS), ==, 1);
    g_assert_cmphex(rb(&e, CORBCTL) & 2, ==, 0);
    env_stop(&e);
}

/* ---- streams ----------------------------------------------------------- */

#define RATE            48000
#define SINE_FREQ       1000
#define AMPL            0.5
#define PCM_FRAMES      RATE            /* one second */
#define BDL_ENTRIES     4

static int16_t sine_sample(uint32_t i)
{
    return (int16_t)lrint(AMPL * 32767 * sin(2 * M_PI * SINE_FREQ * i /
                                             (double)RATE));
}

/* One second of a 1 kHz sine, s16 stereo, in guest RAM; a BDL of
 * BDL_ENTRIES equal entries, IOC on each. */
static void load_sine(Env *e)
{
    g_autofree int16_t *pcm = g_new(int16_t, PCM_FRAMES * 2);
    uint32_t bytes = PCM_FRAMES * 4, per = bytes / BDL_ENTRIES;

    for (uint32_t i = 0; i < PCM_FRAMES; i++) {
        pcm[2 * i] = pcm[2 * i + 1] = sine_sample(i);
    }
    qtest_memwrite(e->s, PCM_RAM, pcm, bytes);
    for (uint32_t i = 0; i < BDL_ENTRIES; i++) {
        qtest_writeq(e->s, BDL_RAM + i * 16, PCM_RAM + i * per);
        qtest_writel(e->s, BDL_RAM + i * 16 + 8, per);
        qtest_writel(e->s, BDL_RAM + i * 16 + 12, 1);
    }
}

static void stream_setup(Env *e, unsigned sd, uint32_t bdl, uint32_t cbl,
                         uint32_t lvi, uint16_t fmt)
{
    wl(e, SD(sd) + SDCTL, SDCTL_SRST);
    g_assert_cmphex(rl(e, SD(sd) + SDCTL) & 1, ==, 1);
    wl(e, SD(sd) + SDCTL, 0);
    wl(e, SD(sd) + SDBDPL, bdl);
    wl(e, SD(sd) + SDBDPU, 0);
    wl(e, SD(sd) + SDCBL, cbl);
    ww(e, SD(sd) + SDLVI, lvi);
    ww(e, SD(sd) + SDFMT, fmt);
}

/* Bind the codec's DAC to stream tag 1 with @fmt and run descriptor @sd. */
static void play(Env *e, unsigned sd, uint16_t fmt)
{
    corb_cmd(e, VERB(0, 2, 0x70610), NULL);
    corb_cmd(e, VERB(0, 2, 0x20000 | fmt), NULL);
    wl(e, SD(sd) + SDCTL, 1u << 20 | SDCTL_RUN | SDCTL_IOCE | SDCTL_DEIE);
}

static void stop(Env *e, unsigned sd)
{
    wl(e, SD(sd) + SDCTL, 1u << 20);
}

static void test_play_sine(void)
{
    Env e;
    WavFile w;
    WavStats st;
    uint32_t lpib, mismatches = 0;

    env_start(&e, "intel-hda", "hda-duplex",
              "wav,out.frequency=48000,out.channels=2,out.format=s16");
    link_up(&e);
    load_sine(&e);
    stream_setup(&e, OUT0, BDL_RAM, PCM_FRAMES * 4, BDL_ENTRIES - 1,
                 FMT_48K_S16_2CH);
    wl(&e, DPLBASE, DPL_RAM | 1);
    wl(&e, DPUBASE, 0);
    wl(&e, INTCTL, 0x80000000 | 1u << OUT0);
    play(&e, OUT0, FMT_48K_S16_2CH);
    /* the first entry completes within 250 ms + the buffer ahead */
    qtest_clock_step(e.s, 300 * 1000000LL);
    g_assert_cmphex(rb(&e, SD(OUT0) + SDSTS) & SDSTS_BCIS, ==, SDSTS_BCIS);
    g_assert_cmphex(rl(&e, INTSTS), ==, 0x80000000 | 1u << OUT0);
    wb(&e, SD(OUT0) + SDSTS, SDSTS_BCIS);
    g_assert_cmphex(rl(&e, INTSTS), ==, 0);
    /* DMA runs ahead of playback by less than the voice buffer (30 ms) */
    lpib = rl(&e, SD(OUT0) + SDLPIB);
    g_assert_cmpuint(lpib, >=, 300 * 48 * 4);
    g_assert_cmpuint(lpib, <=, 340 * 48 * 4);
    g_assert_cmpuint(qtest_readl(e.s, DPL_RAM + OUT0 * 8), ==, lpib);
    g_assert_cmpuint(rl(&e, 0x2000 + SD(OUT0) + SDLPIB), ==, lpib);
    qtest_clock_step(e.s, 700 * 1000000LL);
    stop(&e, OUT0);
    qtest_clock_step(e.s, 100 * 1000000LL);     /* nothing more is played */
    qtest_quit(e.s);

    g_assert_true(wav_read(e.wav, &w));
    g_assert_cmpuint(w.format, ==, 1);
    g_assert_cmpuint(w.channels, ==, 2);
    g_assert_cmpuint(w.rate, ==, RATE);
    g_assert_cmpuint(w.bits, ==, 16);
    /* exactly the second the stream ran */
    g_assert_cmpuint(w.frames, ==, PCM_FRAMES);
    /* same rate, 0 dB: the samples are the guest's, bit for bit */
    for (uint32_t i = 0; i < w.frames; i++) {
        mismatches += w.s16[2 * i] != sine_sample(i) ||
                      w.s16[2 * i + 1] != sine_sample(i);
    }
    g_assert_cmpuint(mismatches, ==, 0);
    wav_stats(&w, 0, &st);
    assert_within(st.freq, SINE_FREQ, 0.005);
    assert_within(st.rms, AMPL / M_SQRT2, 0.005);
    assert_within(st.peak, AMPL, 0.005);
    g_assert_cmpuint(st.longest_zero_run, <=, 1);
    if (have_sox()) {
        assert_within(sox_stat(e.wav, "Length (seconds)"), 1.0, 0.005);
        assert_within(sox_stat(e.wav, "RMS     amplitude"), AMPL / M_SQRT2,
                      0.005);
        assert_within(sox_stat(e.wav, "Maximum amplitude"), AMPL, 0.005);
        assert_within(sox_stat(e.wav, "Rough   frequency"), SINE_FREQ, 0.005);
    } else {
        g_test_message("sox not installed: checked by the test's own "
                       "analysis only");
    }
    g_free(w.s16);
    g_unlink(e.wav);
    g_free(e.wav);
}

/* 48 kHz from the guest into a 44.1 kHz mono back end: resampled. */
static void test_play_resampled(void)
{
    Env e;
    WavFile w;
    WavStats st;

    env_start(&e, "intel-hda", "hda-output",
              "wav,out.frequency=44100,out.channels=1,out.format=s16");
    link_up(&e);
    load_sine(&e);
    stream_setup(&e, OUT0, BDL_RAM, PCM_FRAMES * 4, BDL_ENTRIES - 1,
                 FMT_48K_S16_2CH);
    play(&e, OUT0, FMT_48K_S16_2CH);
    qtest_clock_step(e.s, 1000 * 1000000LL);
    stop(&e, OUT0);
    qtest_quit(e.s);

    g_assert_true(wav_read(e.wav, &w));
    g_assert_cmpuint(w.rate, ==, 44100);
    g_assert_cmpuint(w.channels, ==, 1);
    g_assert_cmpuint(w.frames, ==, 44100);
    /* the first frames fill the interpolator */
    wav_stats(&w, 4, &st);
    assert_within(st.freq, SINE_FREQ, 0.005);
    assert_within(st.rms, AMPL / M_SQRT2, 0.005);
    assert_within(st.peak, AMPL, 0.005);
    g_assert_cmpuint(st.longest_zero_run, <=, 1);
    if (have_sox()) {
        assert_within(sox_stat(e.wav, "Rough   frequency"), SINE_FREQ, 0.005);
        assert_within(sox_stat(e.wav, "RMS     amplitude"), AMPL / M_SQRT2,
                      0.005);
    }
    g_free(w.s16);
    g_unlink(e.wav);
    g_free(e.wav);
}

/* Capture from "none": silence arrives at the stream's rate. */
static void test_capture(void)
{
    Env e;
    uint32_t lpib;

    env_start(&e, "intel-hda", "hda-duplex", "none");
    link_up(&e);
    qtest_memset(e.s, PCM_RAM, 0xaa, 0x10000);
    for (uint32_t i = 0; i < 2; i++) {
        qtest_writeq(e.s, BDL_RAM + i * 16, PCM_RAM + i * 0x8000);
        qtest_writel(e.s, BDL_RAM + i * 16 + 8, 0x8000);
        qtest_writel(e.s, BDL_RAM + i * 16 + 12, 1);
    }
    stream_setup(&e, 0, BDL_RAM, 0x10000, 1, FMT_48K_S16_2CH);
    corb_cmd(&e, VERB(0, 4, 0x70620), NULL);
    corb_cmd(&e, VERB(0, 4, 0x20000 | FMT_48K_S16_2CH), NULL);
    wl(&e, SD(0) + SDCTL, 2u << 20 | SDCTL_RUN | SDCTL_IOCE);
    qtest_clock_step(e.s, 100 * 1000000LL);
    lpib = rl(&e, SD(0) + SDLPIB);
    /* 100 ms of 48 kHz stereo s16 = 19200 bytes, give or take a tick */
    g_assert_cmpuint(lpib, >=, 19200 - 1920);
    g_assert_cmpuint(lpib, <=, 19200 + 1920);
    g_assert_cmphex(qtest_readl(e.s, PCM_RAM), ==, 0);
    g_assert_cmphex(qtest_readb(e.s, PCM_RAM + lpib + 16), ==, 0xaa);
    env_stop(&e);
}

/* ---- hostile BDLs ------------------------------------------------------ */

static void hostile_run(Env *e, uint32_t cbl, uint32_t lvi, bool want_error)
{
    stream_setup(e, OUT0, BDL_RAM, cbl, lvi, FMT_48K_S16_2CH);
    play(e, OUT0, FMT_48K_S16_2CH);
    qtest_clock_step(e->s, 50 * 1000000LL);
    if (want_error) {
        g_assert_cmphex(rb(e, SD(OUT0) + SDSTS) & SDSTS_DESE, ==,
                        SDSTS_DESE);
        g_assert_cmphex(rl(e, SD(OUT0) + SDCTL) & SDCTL_RUN, ==, 0);
        /* SIS shows regardless of INTCTL; GIS only when enabled */
        g_assert_cmphex(rl(e, INTSTS), ==, 1u << OUT0);
        wl(e, INTCTL, 1u << OUT0 | 0x80000000);
        g_assert_cmphex(rl(e, INTSTS), ==, 0x80000000 | 1u << OUT0);
        wl(e, INTCTL, 0);
        wb(e, SD(OUT0) + SDSTS, SDSTS_DESE);
    } else {
        g_assert_cmphex(rb(e, SD(OUT0) + SDSTS) & SDSTS_DESE, ==, 0);
        g_assert_cmpuint(rl(e, SD(OUT0) + SDLPIB), <, cbl);
        stop(e, OUT0);
    }
}

static void bdl_entry(Env *e, unsigned i, uint64_t addr, uint32_t len,
                      uint32_t flags)
{
    qtest_writeq(e->s, BDL_RAM + i * 16, addr);
    qtest_writel(e->s, BDL_RAM + i * 16 + 8, len);
    qtest_writel(e->s, BDL_RAM + i * 16 + 12, flags);
}

static void test_hostile_bdl(void)
{
    Env e;

    env_start(&e, "intel-hda", "hda-duplex", "none");
    link_up(&e);
    qtest_memset(e.s, BDL_RAM, 0, 256 * 16);
    /* LVI 0 (one entry): the spec needs two */
    bdl_entry(&e, 0, PCM_RAM, 4096, 1);
    hostile_run(&e, 4096, 0, true);
    /* CBL 0 */
    hostile_run(&e, 0, 1, true);
    /* every entry of zero length */
    bdl_entry(&e, 0, PCM_RAM, 0, 1);
    bdl_entry(&e, 1, PCM_RAM, 0, 1);
    hostile_run(&e, 4096, 1, true);
    /* LVI 255 over 254 zero entries and one real one: plays */
    bdl_entry(&e, 200, PCM_RAM, 4096, 0);
    hostile_run(&e, 4096, 255, false);
    /* odd lengths and a huge one: plays, LPIB wraps at CBL */
    bdl_entry(&e, 0, PCM_RAM, 3, 1);
    bdl_entry(&e, 1, PCM_RAM + 3, 0xffffffff, 1);
    hostile_run(&e, 7777, 1, false);
    /* a buffer outside RAM */
    bdl_entry(&e, 0, 0x10000000000ull, 4096, 0);
    bdl_entry(&e, 1, PCM_RAM, 4096, 0);
    hostile_run(&e, 8192, 1, true);
    /* the BDL itself outside RAM */
    stream_setup(&e, OUT0, 0, 8192, 1, FMT_48K_S16_2CH);
    wl(&e, SD(OUT0) + SDBDPU, 0x100);
    play(&e, OUT0, FMT_48K_S16_2CH);
    qtest_clock_step(e.s, 50 * 1000000LL);
    g_assert_cmphex(rb(&e, SD(OUT0) + SDSTS) & SDSTS_DESE, ==, SDSTS_DESE);
    /* a BDL placed over the controller's own registers */
    stream_setup(&e, OUT0, BAR, 8192, 1, FMT_48K_S16_2CH);
    play(&e, OUT0, FMT_48K_S16_2CH);
    qtest_clock_step(e.s, 50 * 1000000LL);
    g_assert_cmphex(rb(&e, SD(OUT0) + SDSTS) & SDSTS_DESE, ==, SDSTS_DESE);
    /* bus mastering off: the stream cannot fetch */
    bdl_entry(&e, 0, PCM_RAM, 4096, 0);
    stream_setup(&e, OUT0, BDL_RAM, 8192, 1, FMT_48K_S16_2CH);
    cfg_writew(e.s, HDA, 0x04, 0x2);
    wl(&e, SD(OUT0) + SDCTL, 1u << 20 | SDCTL_RUN | SDCTL_DEIE);
    qtest_clock_step(e.s, 50 * 1000000LL);
    g_assert_cmphex(rb(&e, SD(OUT0) + SDSTS) & SDSTS_DESE, ==, SDSTS_DESE);
    g_assert_cmpuint(rl(&e, SD(OUT0) + SDLPIB), ==, 0);
    cfg_writew(e.s, HDA, 0x04, 0x6);
    /* the device still answers */
    g_assert_cmphex(corb_cmd(&e, VERB(0, 0, 0xf0000), NULL), ==, 0x1af40022);
    env_stop(&e);
}

/* A device without audiodev= takes the only one; a missing one fails. */
static void test_audiodev_errors(void)
{
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *cmd = g_strdup_printf("%s -accel qtest -nodefaults "
                                           "-device intel-hda -device "
                                           "hda-duplex,audiodev=nope",
                                           qtest_kvmpc_binary());
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status,
                                            NULL));
    g_assert_cmpint(status, !=, 0);
    g_assert_nonnull(strstr(err, "audiodev 'nope' not found"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/intel-hda/registers", test_registers);
    g_test_add_func("/intel-hda/ich9-ids", test_ich9_ids);
    g_test_add_func("/intel-hda/verbs", test_verbs);
    g_test_add_func("/intel-hda/play-sine", test_play_sine);
    g_test_add_func("/intel-hda/play-resampled", test_play_resampled);
    g_test_add_func("/intel-hda/capture", test_capture);
    g_test_add_func("/intel-hda/hostile-bdl", test_hostile_bdl);
    g_test_add_func("/intel-hda/audiodev-errors", test_audiodev_errors);
    return g_test_run();
}
