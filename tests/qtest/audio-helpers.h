/*
 * Shared by the sound device qtests: a WAV file reader and checks of
 * what the wav back end wrote (frequency, RMS, peak, length, dropouts),
 * and sox's own opinion of the file.
 */
#ifndef TESTS_QTEST_AUDIO_HELPERS_H
#define TESTS_QTEST_AUDIO_HELPERS_H
#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct WavFile {
    uint16_t format, channels, bits;
    uint32_t rate;
    uint32_t frames;
    int16_t *s16;               /* s16 data (bits == 16 only) */
} WavFile;

static inline uint32_t wav_le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read @path; the header must be complete and match the data size. */
static inline bool wav_read(const char *path, WavFile *w)
{
    g_autofree uint8_t *buf = NULL;
    gsize len;
    uint32_t data_len;

    memset(w, 0, sizeof(*w));
    if (!g_file_get_contents(path, (char **)&buf, &len, NULL) || len < 44 ||
        memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVEfmt ", 8) ||
        memcmp(buf + 36, "data", 4)) {
        return false;
    }
    data_len = wav_le32(buf + 40);
    if (wav_le32(buf + 4) != data_len + 36 || data_len != len - 44) {
        return false;
    }
    w->format = buf[20] | buf[21] << 8;
    w->channels = buf[22] | buf[23] << 8;
    w->rate = wav_le32(buf + 24);
    w->bits = buf[34] | buf[35] << 8;
    if (!w->channels || !w->bits) {
        return false;
    }
    w->frames = data_len / (w->channels * w->bits / 8);
    if (w->bits == 16) {
        w->s16 = g_malloc(data_len + 2);
        memcpy(w->s16, buf + 44, data_len);
    }
    return true;
}

typedef struct WavStats {
    double rms, peak, freq;     /* channel 0; freq from zero crossings */
    uint32_t longest_zero_run;  /* frames in a row with every sample 0 */
} WavStats;

/* Statistics of frames [@skip, frames - @skip) of an s16 file. */
static inline void wav_stats(const WavFile *w, uint32_t skip, WavStats *st)
{
    double sum = 0;
    uint32_t run = 0, crossings = 0, first = 0, last = 0;
    int prev_sign = 0;
    uint32_t n = w->frames - 2 * skip;

    memset(st, 0, sizeof(*st));
    for (uint32_t i = skip; i < w->frames - skip; i++) {
        double v = w->s16[i * w->channels] / 32768.0;
        bool zero = true;
        int sign = v > 0 ? 1 : v < 0 ? -1 : 0;

        for (unsigned c = 0; c < w->channels; c++) {
            zero &= w->s16[i * w->channels + c] == 0;
        }
        run = zero ? run + 1 : 0;
        st->longest_zero_run = MAX(st->longest_zero_run, run);
        sum += v * v;
        st->peak = MAX(st->peak, fabs(v));
        /* rising zero crossings, interpolated */
        if (prev_sign < 0 && sign >= 0) {
            if (!crossings) {
                first = i;
            }
            last = i;
            crossings++;
        }
        prev_sign = sign;
    }
    st->rms = sqrt(sum / n);
    st->freq = crossings > 1 ?
               (double)(crossings - 1) * w->rate / (last - first) : 0;
}

/*
 * sox FILE -n remix 1 stat (the first channel; its frequency estimate is
 * wrong for several channels): the value on the line starting with @key,
 * or NAN.
 */
static inline double sox_stat(const char *path, const char *key)
{
    g_autofree char *cmd = g_strdup_printf("sox '%s' -n remix 1 stat 2>&1",
                                           path);
    char line[256];
    FILE *f = popen(cmd, "r");
    double v = NAN;

    if (!f) {
        return NAN;
    }
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, key, strlen(key))) {
            char *colon = strchr(line, ':');
            if (colon) {
                v = g_ascii_strtod(colon + 1, NULL);
            }
        }
    }
    pclose(f);
    return v;
}

static inline bool have_sox(void)
{
    g_autofree char *p = g_find_program_in_path("sox");

    return p != NULL;
}

#define assert_within(v, want, rel) \
    g_assert_cmpfloat(fabs((double)(v) - (double)(want)), <=, \
                      fabs((double)(want)) * (rel))

#endif
