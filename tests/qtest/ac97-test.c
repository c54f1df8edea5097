/*
 * AC97 (82801AA): mixer and bus master registers and their reset, the
 * codec semaphore, variable rate, a 1 kHz sine played through the PCM
 * out box into the wav back end (checked bit for bit and with sox), a
 * 44.1 kHz stream resampled, capture from "none", and hostile BDLs.
 */
#include "chipset/pci-helpers.h"
#include "audio-helpers.h"
#include <glib/gstdio.h>
#include <unistd.h>

#define AC97_SLOT       5
#define AC97            DEVFN(AC97_SLOT, 0)
#define NAM             0xc000
#define NABM            0xc400
#define BDL_RAM         0x180000u
#define PCM_RAM         0x200000u

#define PI 0x00
#define PO 0x10
#define MC 0x20
#define BDBAR 0x00
#define CIV 0x04
#define LVI 0x05
#define SR 0x06
#define PICB 0x08
#define PIV 0x0a
#define CR 0x0b
#define GLOB_CNT 0x2c
#define GLOB_STA 0x30
#define CAS 0x34
#define SR_DCH 0x1
#define SR_CELV 0x2
#define SR_LVBCI 0x4
#define SR_BCIS 0x8
#define SR_FIFOE 0x10
#define CR_RPBM 0x1
#define CR_RR 0x2
#define CR_LVBIE 0x4
#define CR_FEIE 0x8
#define CR_IOCE 0x10
#define BD_IOC 0x80000000u

#define RATE 48000
#define PCM_FRAMES RATE
#define ENTRIES 4
#define AMPL 0.5

typedef struct Env {
    QTestState *s;
    char *wav;
} Env;

static void env_start(Env *e, const char *audiodev)
{
    bool wav = g_str_has_prefix(audiodev, "wav");

    e->wav = g_strdup_printf("%s/ac97-test-%d.wav", g_get_tmp_dir(),
                             (int)getpid());
    e->s = qtest_initf("-audiodev %s,id=snd0%s%s -device AC97,addr=%d,"
                       "audiodev=snd0", audiodev, wav ? ",path=" : "",
                       wav ? e->wav : "", AC97_SLOT);
    cfg_writel(e->s, AC97, 0x10, NAM);
    cfg_writel(e->s, AC97, 0x14, NABM);
    cfg_writew(e->s, AC97, 0x04, 0x5);      /* I/O, bus master */
}

static void env_stop(Env *e)
{
    qtest_quit(e->s);
    g_unlink(e->wav);
    g_free(e->wav);
}

static uint16_t mixer_rd(Env *e, unsigned r)
{
    return qtest_inw(e->s, NAM + r);
}

static void mixer_wr(Env *e, unsigned r, uint16_t v)
{
    qtest_outw(e->s, NAM + r, v);
}

static void test_registers(void)
{
    Env e;

    env_start(&e, "none");
    g_assert_cmphex(cfg_readl(e.s, AC97, 0x00), ==, 0x24158086);
    g_assert_cmphex(cfg_readl(e.s, AC97, 0x08), ==, 0x04010001);
    g_assert_cmphex(cfg_readb(e.s, AC97, 0x3d), ==, 1);
    /* mixer defaults (AC'97 2.3) and the STAC9700's IDs */
    g_assert_cmphex(mixer_rd(&e, 0x02), ==, 0x8000);
    g_assert_cmphex(mixer_rd(&e, 0x18), ==, 0x8808);
    g_assert_cmphex(mixer_rd(&e, 0x26) & 0xf, ==, 0xf);
    g_assert_cmphex(mixer_rd(&e, 0x28), ==, 0x0809);
    g_assert_cmphex(mixer_rd(&e, 0x2c), ==, 48000);
    g_assert_cmphex(mixer_rd(&e, 0x7c), ==, 0x8384);
    g_assert_cmphex(mixer_rd(&e, 0x7e), ==, 0x7600);
    /* rates are fixed until VRA; then 8000-48000 */
    mixer_wr(&e, 0x2c, 44100);
    g_assert_cmpuint(mixer_rd(&e, 0x2c), ==, 48000);
    mixer_wr(&e, 0x2a, 1);
    mixer_wr(&e, 0x2c, 44100);
    g_assert_cmpuint(mixer_rd(&e, 0x2c), ==, 44100);
    mixer_wr(&e, 0x2c, 60000);
    g_assert_cmpuint(mixer_rd(&e, 0x2c), ==, 48000);
    mixer_wr(&e, 0x2c, 100);
    g_assert_cmpuint(mixer_rd(&e, 0x2c), ==, 8000);
    mixer_wr(&e, 0x02, 0x0101);
    g_assert_cmphex(mixer_rd(&e, 0x02), ==, 0x0101);
    /* a write to Reset restores the defaults */
    mixer_wr(&e, 0x00, 0);
    g_assert_cmphex(mixer_rd(&e, 0x02), ==, 0x8000);
    g_assert_cmpuint(mixer_rd(&e, 0x2c), ==, 48000);
    g_assert_cmphex(mixer_rd(&e, 0x2a), ==, 0);
    /* bus master: halted boxes, codec ready, the semaphore */
    for (unsigned b = 0; b < 3; b++) {
        g_assert_cmphex(qtest_inw(e.s, NABM + b * 0x10 + SR), ==, SR_DCH);
        g_assert_cmphex(qtest_inb(e.s, NABM + b * 0x10 + CR), ==, 0);
    }
    g_assert_cmphex(qtest_inl(e.s, NABM + GLOB_STA) & 0x100, ==, 0x100);
    g_assert_cmphex(qtest_inb(e.s, NABM + CAS), ==, 0);
    g_assert_cmphex(qtest_inb(e.s, NABM + CAS), ==, 1);
    qtest_outb(e.s, NABM + CAS, 0);
    g_assert_cmphex(qtest_inb(e.s, NABM + CAS), ==, 0);
    qtest_outl(e.s, NABM + PO + BDBAR, 0x12345677);
    g_assert_cmphex(qtest_inl(e.s, NABM + PO + BDBAR), ==, 0x12345670);
    qtest_outb(e.s, NABM + PO + LVI, 40);
    g_assert_cmphex(qtest_inb(e.s, NABM + PO + LVI), ==, 40 % 32);
    /* reset registers (CR.RR) */
    qtest_outb(e.s, NABM + PO + CR, CR_RR);
    g_assert_cmphex(qtest_inl(e.s, NABM + PO + BDBAR), ==, 0);
    g_assert_cmphex(qtest_inb(e.s, NABM + PO + LVI), ==, 0);
    env_stop(&e);
}

static int16_t sine_sample(uint32_t i, uint32_t rate)
{
    return (int16_t)lrint(AMPL * 32767 * sin(2 * M_PI * 1000.0 * i / rate));
}

/* @frames of a 1 kHz sine at @rate, stereo, ENTRIES buffers with IOC. */
static void load_sine(Env *e, uint32_t rate, uint32_t frames)
{
    g_autofree int16_t *pcm = g_new(int16_t, frames * 2);
    uint32_t per = frames / ENTRIES;        /* frames per buffer */

    for (uint32_t i = 0; i < frames; i++) {
        pcm[2 * i] = pcm[2 * i + 1] = sine_sample(i, rate);
    }
    qtest_memwrite(e->s, PCM_RAM, pcm, frames * 4);
    for (uint32_t i = 0; i < ENTRIES; i++) {
        qtest_writel(e->s, BDL_RAM + i * 8, PCM_RAM + i * per * 4);
        qtest_writel(e->s, BDL_RAM + i * 8 + 4, BD_IOC | per * 2);
    }
}

static void start_po(Env *e, uint8_t lvi, uint8_t cr)
{
    qtest_outb(e->s, NABM + PO + CR, CR_RR);
    qtest_outl(e->s, NABM + PO + BDBAR, BDL_RAM);
    qtest_outb(e->s, NABM + PO + LVI, lvi);
    qtest_outb(e->s, NABM + PO + CR, CR_RPBM | cr);
}

static void test_play_sine(void)
{
    Env e;
    WavFile w;
    WavStats st;
    uint32_t mismatches = 0;

    env_start(&e, "wav,out.frequency=48000,out.channels=2,out.format=s16");
    mixer_wr(&e, 0x02, 0);                  /* master 0 dB, unmuted */
    /* PCM Out is a gain register: 08h is 0 dB (00h would be +12 dB) */
    mixer_wr(&e, 0x18, 0x0808);
    load_sine(&e, RATE, PCM_FRAMES);
    start_po(&e, ENTRIES - 1, CR_IOCE | CR_LVBIE);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & SR_DCH, ==, 0);
    g_assert_cmpuint(qtest_inw(e.s, NABM + PO + PICB), ==,
                     PCM_FRAMES / ENTRIES * 2);
    qtest_clock_step(e.s, 300 * 1000000LL);
    /* the first buffer is done: BCIS, the interrupt, CIV moved on */
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & SR_BCIS, ==, SR_BCIS);
    g_assert_cmphex(qtest_inl(e.s, NABM + GLOB_STA) & 0x40, ==, 0x40);
    g_assert_cmpuint(qtest_inb(e.s, NABM + PO + CIV), ==, 1);
    g_assert_cmpuint(qtest_inb(e.s, NABM + PO + PIV), ==, 2);
    qtest_outw(e.s, NABM + PO + SR, SR_BCIS);
    g_assert_cmphex(qtest_inl(e.s, NABM + GLOB_STA) & 0x40, ==, 0);
    qtest_clock_step(e.s, 800 * 1000000LL);
    /* the last valid buffer ends the run */
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) &
                    (SR_DCH | SR_CELV | SR_LVBCI), ==,
                    SR_DCH | SR_CELV | SR_LVBCI);
    g_assert_cmpuint(qtest_inb(e.s, NABM + PO + CIV), ==, ENTRIES - 1);
    qtest_quit(e.s);

    g_assert_true(wav_read(e.wav, &w));
    g_assert_cmpuint(w.rate, ==, RATE);
    g_assert_cmpuint(w.channels, ==, 2);
    /* every frame the guest queued, and nothing else */
    g_assert_cmpuint(w.frames, ==, PCM_FRAMES);
    for (uint32_t i = 0; i < w.frames; i++) {
        mismatches += w.s16[2 * i] != sine_sample(i, RATE) ||
                      w.s16[2 * i + 1] != sine_sample(i, RATE);
    }
    g_assert_cmpuint(mismatches, ==, 0);
    wav_stats(&w, 0, &st);
    assert_within(st.freq, 1000, 0.005);
    assert_within(st.rms, AMPL / M_SQRT2, 0.005);
    assert_within(st.peak, AMPL, 0.005);
    g_assert_cmpuint(st.longest_zero_run, <=, 1);
    if (have_sox()) {
        assert_within(sox_stat(e.wav, "Length (seconds)"), 1.0, 0.005);
        assert_within(sox_stat(e.wav, "RMS     amplitude"), AMPL / M_SQRT2,
                      0.005);
        assert_within(sox_stat(e.wav, "Maximum amplitude"), AMPL, 0.005);
        assert_within(sox_stat(e.wav, "Rough   frequency"), 1000, 0.005);
    }
    g_free(w.s16);
    g_unlink(e.wav);
    g_free(e.wav);
}

/* VRA at 44.1 kHz into a 48 kHz back end; -6 dB of PCM attenuation. */
static void test_play_vra(void)
{
    Env e;
    WavFile w;
    WavStats st;

    env_start(&e, "wav,out.frequency=48000,out.channels=2,out.format=s16");
    mixer_wr(&e, 0x02, 0);
    mixer_wr(&e, 0x18, 0x0c0c);             /* 4 x 1.5 dB below 0 dB */
    mixer_wr(&e, 0x2a, 1);
    mixer_wr(&e, 0x2c, 44100);
    load_sine(&e, 44100, 44100);
    start_po(&e, ENTRIES - 1, 0);
    qtest_clock_step(e.s, 1100 * 1000000LL);
    qtest_quit(e.s);

    g_assert_true(wav_read(e.wav, &w));
    /* one second of sound, within a tick */
    g_assert_cmpuint(w.frames, >=, 48000 - 480);
    g_assert_cmpuint(w.frames, <=, 48000 + 480);
    wav_stats(&w, 8, &st);
    assert_within(st.freq, 1000, 0.005);
    assert_within(st.rms, AMPL / M_SQRT2 * pow(10, -6.0 / 20), 0.005);
    g_assert_cmpuint(st.longest_zero_run, <=, 1);
    if (have_sox()) {
        assert_within(sox_stat(e.wav, "Rough   frequency"), 1000, 0.005);
    }
    g_free(w.s16);
    g_unlink(e.wav);
    g_free(e.wav);
}

static void test_capture(void)
{
    Env e;

    env_start(&e, "none");
    qtest_memset(e.s, PCM_RAM, 0xaa, 0x8000);
    qtest_writel(e.s, BDL_RAM, PCM_RAM);
    qtest_writel(e.s, BDL_RAM + 4, BD_IOC | 0x2000);  /* 16 KiB */
    qtest_outl(e.s, NABM + PI + BDBAR, BDL_RAM);
    qtest_outb(e.s, NABM + PI + LVI, 0);
    qtest_outb(e.s, NABM + PI + CR, CR_RPBM | CR_IOCE);
    qtest_clock_step(e.s, 50 * 1000000LL);
    /* 50 ms of 48 kHz stereo is 4800 samples of the 8192 */
    g_assert_cmpuint(qtest_inw(e.s, NABM + PI + PICB), <=, 8192 - 4800 + 480);
    g_assert_cmpuint(qtest_inw(e.s, NABM + PI + PICB), >=, 8192 - 4800 - 960);
    g_assert_cmphex(qtest_readl(e.s, PCM_RAM), ==, 0);
    qtest_clock_step(e.s, 100 * 1000000LL);
    g_assert_cmphex(qtest_inw(e.s, NABM + PI + SR) &
                    (SR_DCH | SR_BCIS | SR_LVBCI), ==,
                    SR_DCH | SR_BCIS | SR_LVBCI);
    g_assert_cmphex(qtest_inl(e.s, NABM + GLOB_STA) & 0x20, ==, 0x20);
    g_assert_cmphex(qtest_readb(e.s, PCM_RAM + 0x4000), ==, 0xaa);
    env_stop(&e);
}

static void test_hostile_bdl(void)
{
    Env e;

    env_start(&e, "none");
    mixer_wr(&e, 0x02, 0);
    mixer_wr(&e, 0x18, 0x0808);
    /* 32 zero-length entries with IOC: all complete, then the halt */
    for (unsigned i = 0; i < 32; i++) {
        qtest_writel(e.s, BDL_RAM + i * 8, PCM_RAM);
        qtest_writel(e.s, BDL_RAM + i * 8 + 4, BD_IOC);
    }
    start_po(&e, 31, CR_IOCE);
    qtest_clock_step(e.s, 30 * 1000000LL);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & (SR_DCH | SR_BCIS),
                    ==, SR_DCH | SR_BCIS);
    g_assert_cmpuint(qtest_inb(e.s, NABM + PO + CIV), ==, 31);
    /* moving LVI restarts a halted box at the next entry (wrapping) */
    qtest_writel(e.s, BDL_RAM + 4, 0x1000);
    qtest_outb(e.s, NABM + PO + LVI, 0);
    g_assert_cmpuint(qtest_inb(e.s, NABM + PO + CIV), ==, 0);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & SR_DCH, ==, 0);
    qtest_clock_step(e.s, 100 * 1000000LL);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & SR_DCH, ==, SR_DCH);
    /* an odd and the largest length: plays */
    qtest_writel(e.s, BDL_RAM, PCM_RAM + 1);
    qtest_writel(e.s, BDL_RAM + 4, 3);
    qtest_writel(e.s, BDL_RAM + 8, PCM_RAM);
    qtest_writel(e.s, BDL_RAM + 12, 0xffff);
    start_po(&e, 1, 0);
    qtest_clock_step(e.s, 50 * 1000000LL);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & SR_FIFOE, ==, 0);
    g_assert_cmpuint(qtest_inb(e.s, NABM + PO + CIV), ==, 1);
    /* a buffer outside RAM: FIFOE and a halt */
    qtest_writel(e.s, BDL_RAM, 0x40000000u);      /* past 128 MiB of RAM */
    qtest_writel(e.s, BDL_RAM + 4, 0x1000);
    start_po(&e, 1, CR_FEIE);
    qtest_clock_step(e.s, 30 * 1000000LL);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & (SR_DCH | SR_FIFOE),
                    ==, SR_DCH | SR_FIFOE);
    g_assert_cmphex(qtest_inl(e.s, NABM + GLOB_STA) & 0x40, ==, 0x40);
    /* a BDL outside RAM cannot be fetched */
    qtest_outb(e.s, NABM + PO + CR, CR_RR);
    qtest_outl(e.s, NABM + PO + BDBAR, 0x40000000u);
    qtest_outb(e.s, NABM + PO + CR, CR_RPBM);
    g_assert_cmphex(qtest_inw(e.s, NABM + PO + SR) & (SR_DCH | SR_FIFOE),
                    ==, SR_DCH | SR_FIFOE);
    /* still alive */
    g_assert_cmphex(mixer_rd(&e, 0x7c), ==, 0x8384);
    env_stop(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ac97/registers", test_registers);
    g_test_add_func("/ac97/play-sine", test_play_sine);
    g_test_add_func("/ac97/play-vra", test_play_vra);
    g_test_add_func("/ac97/capture", test_capture);
    g_test_add_func("/ac97/hostile-bdl", test_hostile_bdl);
    return g_test_run();
}
