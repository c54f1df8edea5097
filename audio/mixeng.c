/*
 * The conversion and mixing layer: sample formats to and from float,
 * and a FIFO of float frames read out at another rate (linear
 * interpolation) and channel count, summed into a mix buffer.
 *
 * Floats in [-1, 1] are the common currency: every voice is converted to
 * float as the device writes it, mixed in float, and converted once to
 * the back end's format, so any voice format meets any back-end format.
 * Integer full scale maps to +-1 (s16: 32768), as QEMU's mixing engine
 * does; the way back clips and rounds to nearest.
 */
#include "qemu/osdep.h"
#include <math.h>
#include "audio/audio.h"

static const struct {
    const char *name;
    unsigned bytes;
} formats[AUDIO_FORMAT_MAX] = {
    [AUDIO_FORMAT_U8] = { "u8", 1 },
    [AUDIO_FORMAT_S8] = { "s8", 1 },
    [AUDIO_FORMAT_U16] = { "u16", 2 },
    [AUDIO_FORMAT_S16] = { "s16", 2 },
    [AUDIO_FORMAT_U32] = { "u32", 4 },
    [AUDIO_FORMAT_S32] = { "s32", 4 },
    [AUDIO_FORMAT_F32] = { "f32", 4 },
};

int audio_format_parse(const char *name)
{
    for (int i = 0; i < AUDIO_FORMAT_MAX; i++) {
        if (!strcmp(formats[i].name, name)) {
            return i;
        }
    }
    return -1;
}

const char *audio_format_name(AudioFormat fmt)
{
    return fmt < AUDIO_FORMAT_MAX ? formats[fmt].name : "?";
}

unsigned audio_format_bytes(AudioFormat fmt)
{
    return fmt < AUDIO_FORMAT_MAX ? formats[fmt].bytes : 0;
}

static float sample_to_float(AudioFormat fmt, const uint8_t *p)
{
    switch (fmt) {
    case AUDIO_FORMAT_U8:
        return ((int)p[0] - 128) / 128.0f;
    case AUDIO_FORMAT_S8:
        return (int8_t)p[0] / 128.0f;
    case AUDIO_FORMAT_U16:
        return ((int)lduw_le_p(p) - 32768) / 32768.0f;
    case AUDIO_FORMAT_S16:
        return (int16_t)lduw_le_p(p) / 32768.0f;
    case AUDIO_FORMAT_U32:
        return (float)(((double)ldl_le_p(p) - 2147483648.0) / 2147483648.0);
    case AUDIO_FORMAT_S32:
        return (float)((int32_t)ldl_le_p(p) / 2147483648.0);
    case AUDIO_FORMAT_F32: {
        uint32_t u = ldl_le_p(p);
        float f;

        memcpy(&f, &u, sizeof(f));
        /* a guest's NaN or infinity must not poison the mix */
        return isfinite(f) ? f : 0.0f;
    }
    default:
        return 0.0f;
    }
}

/* Scale @v to +-@full, round, clip to [-full, full - 1]. */
static int64_t float_to_int(float v, double full)
{
    double d = nearbyint((double)v * full);

    if (d >= full) {
        return (int64_t)full - 1;
    }
    if (d < -full) {
        return -(int64_t)full;
    }
    return (int64_t)d;
}

static void float_to_sample(AudioFormat fmt, float v, uint8_t *p)
{
    switch (fmt) {
    case AUDIO_FORMAT_U8:
        p[0] = float_to_int(v, 128.0) + 128;
        break;
    case AUDIO_FORMAT_S8:
        p[0] = (uint8_t)(int8_t)float_to_int(v, 128.0);
        break;
    case AUDIO_FORMAT_U16:
        stw_le_p(p, float_to_int(v, 32768.0) + 32768);
        break;
    case AUDIO_FORMAT_S16:
        stw_le_p(p, (uint16_t)(int16_t)float_to_int(v, 32768.0));
        break;
    case AUDIO_FORMAT_U32:
        stl_le_p(p, (uint32_t)(float_to_int(v, 2147483648.0) + 2147483648LL));
        break;
    case AUDIO_FORMAT_S32:
        stl_le_p(p, (uint32_t)(int32_t)float_to_int(v, 2147483648.0));
        break;
    case AUDIO_FORMAT_F32: {
        float f = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        uint32_t u;

        memcpy(&u, &f, sizeof(u));
        stl_le_p(p, u);
        break;
    }
    default:
        break;
    }
}

void audio_samples_to_float(const AudioSettings *as, const void *src,
                            float *dst, size_t n)
{
    unsigned b = audio_format_bytes(as->fmt);
    const uint8_t *p = src;

    for (size_t i = 0; i < n * as->nchannels; i++) {
        dst[i] = sample_to_float(as->fmt, p + i * b);
    }
}

void audio_float_to_samples(const AudioSettings *as, const float *src,
                            void *dst, size_t n)
{
    unsigned b = audio_format_bytes(as->fmt);
    uint8_t *p = dst;

    for (size_t i = 0; i < n * as->nchannels; i++) {
        float_to_sample(as->fmt, src[i], p + i * b);
    }
}

/* ---- the FIFO and rate converter ------------------------------------- */

#define POS_ONE (1ull << 32)

void audio_ring_init(AudioRing *r, uint32_t cap_frames, uint32_t nchannels,
                     uint32_t in_freq, uint32_t out_freq)
{
    r->buf = g_new0(float, (size_t)cap_frames * nchannels);
    r->cap = cap_frames;
    r->nchannels = nchannels;
    r->step = ((uint64_t)in_freq << 32) / out_freq;
    audio_ring_reset(r);
}

void audio_ring_free(AudioRing *r)
{
    g_free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

void audio_ring_reset(AudioRing *r)
{
    r->rpos = r->used = 0;
    r->pos = 0;
}

uint32_t audio_ring_push(AudioRing *r, const float *frames, uint32_t n)
{
    uint32_t done = 0;

    n = MIN(n, audio_ring_free_frames(r));
    while (done < n) {
        uint32_t w = (r->rpos + r->used) % r->cap;
        uint32_t chunk = MIN(n - done, r->cap - w);

        memcpy(r->buf + (size_t)w * r->nchannels,
               frames + (size_t)done * r->nchannels,
               (size_t)chunk * r->nchannels * sizeof(float));
        r->used += chunk;
        done += chunk;
    }
    return n;
}

static const float *ring_frame(const AudioRing *r, uint32_t i)
{
    return r->buf + (size_t)((r->rpos + i) % r->cap) * r->nchannels;
}

static void ring_consume(AudioRing *r, uint32_t n)
{
    r->rpos = (r->rpos + n) % r->cap;
    r->used -= n;
}

/* Channel @c of an output frame from a frame of @in_ch channels. */
static float map_channel(const float *f, uint32_t in_ch, uint32_t out_ch,
                         uint32_t c)
{
    if (in_ch == out_ch) {
        return f[c];
    }
    if (out_ch == 1) {
        float sum = 0;

        for (uint32_t i = 0; i < in_ch; i++) {
            sum += f[i];
        }
        return sum / in_ch;
    }
    return f[c % in_ch];        /* mono to all, or wrap around */
}

uint32_t audio_ring_mix(AudioRing *r, float *mix, uint32_t out_channels,
                        uint32_t n)
{
    uint32_t done;

    for (done = 0; done < n; done++) {
        uint32_t frac;
        const float *a, *b;
        float t;

        /* drop the frames the position has passed (a dry ring keeps the
         * position and waits for more input) */
        while (r->pos >= POS_ONE && r->used) {
            ring_consume(r, 1);
            r->pos -= POS_ONE;
        }
        frac = r->pos & (POS_ONE - 1);
        t = frac / (float)POS_ONE;
        /* an exact position needs one frame, a fractional one two */
        if (r->pos >= POS_ONE || r->used < (frac ? 2u : 1u)) {
            break;
        }
        a = ring_frame(r, 0);
        b = frac ? ring_frame(r, 1) : a;
        for (uint32_t c = 0; c < out_channels; c++) {
            float va = map_channel(a, r->nchannels, out_channels, c);
            float vb = map_channel(b, r->nchannels, out_channels, c);

            mix[(size_t)done * out_channels + c] += va + (vb - va) * t;
        }
        r->pos += r->step;
    }
    while (r->pos >= POS_ONE && r->used) {
        ring_consume(r, 1);
        r->pos -= POS_ONE;
    }
    return done;
}

uint32_t audio_ring_pop(AudioRing *r, float *out, uint32_t n)
{
    n = MIN(n, r->used);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(out + (size_t)i * r->nchannels, ring_frame(r, i),
               r->nchannels * sizeof(float));
    }
    ring_consume(r, n);
    return n;
}
