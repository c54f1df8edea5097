/*
 * The audio conversion and mixing layer (audio/mixeng.c): every sample
 * format to float and back, clipping, channel mapping, resampling (a
 * sine keeps its frequency and amplitude), mixing of two voices, and the
 * FIFO's bounds.
 */
#include "qemu/osdep.h"
#include <math.h>
#include "audio/audio.h"

static void test_formats_roundtrip(void)
{
    static const float values[] = { 0.0f, 0.5f, -0.5f, 0.25f, -1.0f };

    for (int f = 0; f < AUDIO_FORMAT_MAX; f++) {
        AudioSettings as = { 48000, 1, f };
        uint8_t buf[sizeof(values) * 4];
        float back[G_N_ELEMENTS(values)];
        double tol = f == AUDIO_FORMAT_U8 || f == AUDIO_FORMAT_S8 ?
                     1.0 / 128 : 1.0 / 32768;

        audio_float_to_samples(&as, values, buf, G_N_ELEMENTS(values));
        audio_samples_to_float(&as, buf, back, G_N_ELEMENTS(values));
        for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
            g_assert_cmpfloat(fabs(back[i] - values[i]), <=, tol);
        }
    }
}

static void test_format_values(void)
{
    AudioSettings s16 = { 48000, 1, AUDIO_FORMAT_S16 };
    AudioSettings u8 = { 48000, 1, AUDIO_FORMAT_U8 };
    AudioSettings s32 = { 48000, 1, AUDIO_FORMAT_S32 };
    AudioSettings f32 = { 48000, 1, AUDIO_FORMAT_F32 };
    const float in[] = { 0.5f, 2.0f, -3.0f, 1.0f };
    int16_t o16[4];
    uint8_t o8[4];
    int32_t o32[4];
    float of[4];
    uint32_t nan_bits = 0x7fc00000;
    float nanf_in, back;

    g_assert_cmpint(audio_format_parse("s16"), ==, AUDIO_FORMAT_S16);
    g_assert_cmpint(audio_format_parse("f32"), ==, AUDIO_FORMAT_F32);
    g_assert_cmpint(audio_format_parse("s24"), ==, -1);
    g_assert_cmpuint(audio_format_bytes(AUDIO_FORMAT_U32), ==, 4);
    audio_float_to_samples(&s16, in, o16, 4);
    /* half scale, then clipped at both ends */
    g_assert_cmpint(o16[0], ==, 16384);
    g_assert_cmpint(o16[1], ==, 32767);
    g_assert_cmpint(o16[2], ==, -32768);
    g_assert_cmpint(o16[3], ==, 32767);
    audio_float_to_samples(&u8, in, o8, 4);
    g_assert_cmpuint(o8[0], ==, 192);
    g_assert_cmpuint(o8[1], ==, 255);
    g_assert_cmpuint(o8[2], ==, 0);
    audio_float_to_samples(&s32, in, o32, 4);
    g_assert_cmpint(o32[0], ==, 1 << 30);
    g_assert_cmpint(o32[2], ==, INT32_MIN);
    audio_float_to_samples(&f32, in, of, 4);
    g_assert_cmpfloat(of[1], ==, 1.0f);
    g_assert_cmpfloat(of[2], ==, -1.0f);
    /* a guest's NaN is silence */
    memcpy(&nanf_in, &nan_bits, 4);
    audio_samples_to_float(&f32, &nanf_in, &back, 1);
    g_assert_cmpfloat(back, ==, 0.0f);
}

/* A ring of @in_ch channels at @in_rate read out at @out_rate. */
/*
 * ... and check frequency (0.5 %) and RMS and peak (@tol): linear
 * interpolation loses some amplitude when the input has few samples per
 * period (sinc^2 of f / rate: 0.14 % for 1 kHz at 48 kHz, 5 % at 8 kHz).
 */
static void check_sine(uint32_t in_rate, uint32_t out_rate, uint32_t in_ch,
                       uint32_t out_ch, double tol)
{
    AudioRing r;
    const double freq = 1000, ampl = 0.5;
    uint32_t in_frames = in_rate / 10;
    uint32_t out_frames = (uint64_t)(in_frames - 2) * out_rate / in_rate;
    g_autofree float *in = g_new(float, in_frames * in_ch);
    g_autofree float *out = g_new0(float, out_frames * out_ch);
    double sum = 0, peak = 0;
    uint32_t crossings = 0, first = 0, last = 0;

    for (uint32_t i = 0; i < in_frames; i++) {
        for (uint32_t c = 0; c < in_ch; c++) {
            in[i * in_ch + c] = ampl * sin(2 * M_PI * freq * i / in_rate);
        }
    }
    audio_ring_init(&r, in_frames, in_ch, in_rate, out_rate);
    g_assert_cmpuint(audio_ring_push(&r, in, in_frames), ==, in_frames);
    g_assert_cmpuint(audio_ring_free_frames(&r), ==, 0);
    g_assert_cmpuint(audio_ring_mix(&r, out, out_ch, out_frames), ==,
                     out_frames);
    for (uint32_t i = 0; i < out_frames; i++) {
        double v = out[i * out_ch];

        for (uint32_t c = 1; c < out_ch; c++) {
            g_assert_cmpfloat(out[i * out_ch + c], ==, v);
        }
        sum += v * v;
        peak = MAX(peak, fabs(v));
        if (i && out[(i - 1) * out_ch] < 0 && v >= 0) {
            if (!crossings) {
                first = i;
            }
            last = i;
            crossings++;
        }
    }
    g_assert_cmpfloat(fabs(sqrt(sum / out_frames) - ampl / M_SQRT2), <=,
                      ampl / M_SQRT2 * tol);
    g_assert_cmpfloat(fabs(peak - ampl), <=, ampl * tol);
    g_assert_cmpfloat(fabs((crossings - 1) * (double)out_rate /
                           (last - first) - freq), <=, freq * 0.005);
    audio_ring_free(&r);
}

static void test_resample(void)
{
    check_sine(48000, 48000, 2, 2, 0.001);
    check_sine(48000, 44100, 2, 2, 0.005);
    check_sine(44100, 48000, 2, 2, 0.005);
    check_sine(8000, 48000, 1, 2, 0.06);    /* mono to stereo */
    check_sine(22050, 96000, 2, 1, 0.01);   /* stereo to mono */
    check_sine(96000, 8000, 1, 1, 0.005);
}

static void test_mix_and_bounds(void)
{
    AudioRing a, b;
    float one[4] = { 0.25f, -0.25f, 0.25f, -0.25f };
    float two[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
    float mix[8] = { 0 };

    audio_ring_init(&a, 2, 2, 48000, 48000);
    audio_ring_init(&b, 2, 2, 48000, 48000);
    /* the ring takes what fits */
    g_assert_cmpuint(audio_ring_push(&a, one, 2), ==, 2);
    g_assert_cmpuint(audio_ring_push(&a, one, 2), ==, 0);
    g_assert_cmpuint(audio_ring_push(&b, two, 2), ==, 2);
    /* voices add; a dry ring gives fewer frames than asked */
    g_assert_cmpuint(audio_ring_mix(&a, mix, 2, 4), ==, 2);
    g_assert_cmpuint(audio_ring_mix(&b, mix, 2, 4), ==, 2);
    g_assert_cmpfloat(mix[0], ==, 0.75f);
    g_assert_cmpfloat(mix[1], ==, 0.25f);
    g_assert_cmpfloat(mix[4], ==, 0.0f);
    g_assert_cmpuint(a.used, ==, 0);
    /* wrap around the end of the buffer */
    g_assert_cmpuint(audio_ring_push(&a, two, 1), ==, 1);
    g_assert_cmpuint(audio_ring_push(&a, one, 1), ==, 1);
    memset(mix, 0, sizeof(mix));
    g_assert_cmpuint(audio_ring_pop(&a, mix, 4), ==, 2);
    g_assert_cmpfloat(mix[0], ==, 0.5f);
    g_assert_cmpfloat(mix[3], ==, -0.25f);
    audio_ring_free(&a);
    audio_ring_free(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/formats-roundtrip", test_formats_roundtrip);
    g_test_add_func("/audio/format-values", test_format_values);
    g_test_add_func("/audio/resample", test_resample);
    g_test_add_func("/audio/mix-and-bounds", test_mix_and_bounds);
    return g_test_run();
}
