/*
 * The PC speaker: PIT channel 2 in mode 3 at 440 Hz with the gate and
 * speaker data on (port 0x61) plays a square wave into the wav back end
 * (-machine pcspk-audiodev= and -audio DRIVER,model=pcspk); other modes
 * are silent.
 */
#include "libqtest.h"
#include "audio-helpers.h"
#include <glib/gstdio.h>
#include <unistd.h>

#define PIT_FREQ    1193182
#define TONE        440

static char *wav_path(void)
{
    return g_strdup_printf("%s/pcspk-test-%d.wav", g_get_tmp_dir(),
                           (int)getpid());
}

/* Channel 2: @mode, count for @hz; then port 0x61 = @port61. */
static void program(QTestState *s, unsigned mode, unsigned hz,
                    uint8_t port61)
{
    unsigned count = (PIT_FREQ + hz / 2) / hz;

    qtest_outb(s, 0x43, 0x80 | 0x30 | mode << 1);  /* ch 2, lo/hi */
    qtest_outb(s, 0x42, count & 0xff);
    qtest_outb(s, 0x42, count >> 8);
    qtest_outb(s, 0x61, port61);
}

static void check_tone(const char *path, uint32_t frames)
{
    WavFile w;
    WavStats st;
    double want = PIT_FREQ / (double)((PIT_FREQ + TONE / 2) / TONE);

    g_assert_true(wav_read(path, &w));
    g_assert_cmpuint(w.channels, ==, 1);
    g_assert_cmpuint(w.frames, ==, frames);
    wav_stats(&w, 0, &st);
    assert_within(st.freq, TONE, 0.005);
    assert_within(st.freq, want, 0.001);
    assert_within(st.peak, 0.5, 0.005);
    assert_within(st.rms, 0.5, 0.005);          /* a square wave */
    g_assert_cmpuint(st.longest_zero_run, ==, 0);
    if (have_sox()) {
        /* (sox's rough frequency assumes a sine: not for a square) */
        assert_within(sox_stat(path, "Maximum amplitude"), 0.5, 0.005);
        assert_within(sox_stat(path, "Length (seconds)"),
                      frames / (double)w.rate, 0.005);
    }
    g_free(w.s16);
}

static void test_tone(void)
{
    g_autofree char *path = wav_path();
    QTestState *s = qtest_initf("-audiodev wav,id=spk,path=%s,"
                                "out.frequency=48000,out.channels=1 "
                                "-machine pcspk-audiodev=spk", path);

    program(s, 3, TONE, 0x3);
    qtest_clock_step(s, 1000 * 1000000LL);
    qtest_outb(s, 0x61, 0x1);                   /* data off: silence */
    qtest_clock_step(s, 100 * 1000000LL);
    qtest_quit(s);
    check_tone(path, 48000);
    g_unlink(path);
}

static void test_audio_option(void)
{
    g_autofree char *path = wav_path();
    QTestState *s = qtest_initf("-audio driver=wav,model=pcspk,path=%s,"
                                "out.frequency=44100,out.channels=1", path);

    program(s, 3, TONE, 0x3);
    qtest_clock_step(s, 500 * 1000000LL);
    qtest_outb(s, 0x61, 0x0);
    qtest_quit(s);
    check_tone(path, 22050);
    g_unlink(path);
}

static void test_silent_modes(void)
{
    g_autofree char *path = wav_path();
    QTestState *s = qtest_initf("-audiodev wav,id=spk,path=%s "
                                "-machine pcspk-audiodev=spk", path);
    WavFile w;

    program(s, 2, TONE, 0x3);                   /* rate generator */
    qtest_clock_step(s, 100 * 1000000LL);
    program(s, 3, TONE, 0x1);                   /* gate only */
    qtest_clock_step(s, 100 * 1000000LL);
    program(s, 3, TONE, 0x2);                   /* data only */
    qtest_clock_step(s, 100 * 1000000LL);
    qtest_quit(s);
    g_assert_true(wav_read(path, &w));
    g_assert_cmpuint(w.frames, ==, 0);
    g_free(w.s16);
    g_unlink(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcspk/tone", test_tone);
    g_test_add_func("/pcspk/audio-option", test_audio_option);
    g_test_add_func("/pcspk/silent-modes", test_silent_modes);
    return g_test_run();
}
