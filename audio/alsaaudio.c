/*
 * The "alsa" audio back end (libasound): -audiodev alsa,id=ID
 * [,out.dev=PCM][,in.dev=PCM][,threshold=N].  Devices default to
 * "default".
 *
 * Both PCMs are opened non-blocking with the audiodev's settings
 * (snd_pcm_set_params with ALSA's resampling allowed) and a latency of
 * four audio timer periods.  The audio timer writes each tick's frames
 * with snd_pcm_writei; what the device has no room for stays with the
 * audio layer for the next tick rather than blocking the main loop, and
 * an xrun (-EPIPE) is recovered with snd_pcm_recover and counted as an
 * underrun.  Capture reads what
 * is there (snd_pcm_readi); the rest of the tick is silence.
 */
#include "qemu/osdep.h"
#include <alsa/asoundlib.h>
#include "audio/audio.h"

typedef struct AlsaState {
    char *out_dev, *in_dev;
    snd_pcm_t *out, *in;
} AlsaState;

static snd_pcm_format_t alsa_format(AudioFormat f)
{
    switch (f) {
    case AUDIO_FORMAT_U8:
        return SND_PCM_FORMAT_U8;
    case AUDIO_FORMAT_S8:
        return SND_PCM_FORMAT_S8;
    case AUDIO_FORMAT_U16:
        return SND_PCM_FORMAT_U16_LE;
    case AUDIO_FORMAT_S16:
        return SND_PCM_FORMAT_S16_LE;
    case AUDIO_FORMAT_U32:
        return SND_PCM_FORMAT_U32_LE;
    case AUDIO_FORMAT_S32:
        return SND_PCM_FORMAT_S32_LE;
    case AUDIO_FORMAT_F32:
        return SND_PCM_FORMAT_FLOAT_LE;
    default:
        return SND_PCM_FORMAT_UNKNOWN;
    }
}

static snd_pcm_t *alsa_open(AudioState *s, const char *dev,
                            snd_pcm_stream_t dir, const AudioSettings *as,
                            GError **errp)
{
    snd_pcm_t *pcm;
    int r = snd_pcm_open(&pcm, dev, dir, SND_PCM_NONBLOCK);

    if (r < 0) {
        error_setg(errp, "alsa: cannot open %s device '%s': %s",
                   dir == SND_PCM_STREAM_PLAYBACK ? "playback" : "capture",
                   dev, snd_strerror(r));
        return NULL;
    }
    r = snd_pcm_set_params(pcm, alsa_format(as->fmt),
                           SND_PCM_ACCESS_RW_INTERLEAVED, as->nchannels,
                           as->freq, 1, s->timer_period_us * 4);
    if (r < 0) {
        error_setg(errp, "alsa: '%s' does not take %u Hz, %u channels, "
                   "%s: %s", dev, as->freq, as->nchannels,
                   audio_format_name(as->fmt), snd_strerror(r));
        snd_pcm_close(pcm);
        return NULL;
    }
    return pcm;
}

static bool alsa_init(AudioState *s, GHashTable *props, GError **errp)
{
    AlsaState *a = g_new0(AlsaState, 1);
    const char *v;

    a->out_dev = g_strdup((v = g_hash_table_lookup(props, "out.dev")) ?
                          v : "default");
    a->in_dev = g_strdup((v = g_hash_table_lookup(props, "in.dev")) ?
                         v : "default");
    g_hash_table_remove(props, "out.dev");
    g_hash_table_remove(props, "in.dev");
    /* QEMU's tuning knobs: ALSA's own buffering decides here */
    g_hash_table_remove(props, "threshold");
    g_hash_table_remove(props, "out.period-length");
    g_hash_table_remove(props, "in.period-length");
    g_hash_table_remove(props, "out.try-poll");
    g_hash_table_remove(props, "in.try-poll");
    a->out = alsa_open(s, a->out_dev, SND_PCM_STREAM_PLAYBACK, &s->out, errp);
    if (!a->out) {
        g_free(a->out_dev);
        g_free(a->in_dev);
        g_free(a);
        return false;
    }
    s->drv_opaque = a;
    return true;
}

static size_t alsa_write(AudioState *s, const void *buf, size_t n)
{
    AlsaState *a = s->drv_opaque;
    snd_pcm_sframes_t r = snd_pcm_writei(a->out, buf, n);

    if (r == -EPIPE || r == -ESTRPIPE) {
        s->out_stats.underruns++;
        snd_pcm_recover(a->out, r, 1);
        r = snd_pcm_writei(a->out, buf, n);
    }
    if (r == -EAGAIN) {
        return 0;       /* the device is full: the rest waits a tick */
    }
    /* a device that failed plays nothing: discard, the guest runs on */
    return r < 0 ? n : (size_t)r;
}

static void alsa_enable_in(AudioState *s, bool on)
{
    AlsaState *a = s->drv_opaque;
    GError *err = NULL;

    if (on && !a->in) {
        a->in = alsa_open(s, a->in_dev, SND_PCM_STREAM_CAPTURE, &s->in,
                          &err);
        if (!a->in) {
            /* recording is silence then; say why once */
            g_printerr("kvmpc: %s\n", err->message);
            g_error_free(err);
            return;
        }
        snd_pcm_start(a->in);
    } else if (!on && a->in) {
        snd_pcm_close(a->in);
        a->in = NULL;
    }
}

static size_t alsa_read(AudioState *s, void *buf, size_t n)
{
    AlsaState *a = s->drv_opaque;
    snd_pcm_sframes_t r;

    if (!a->in) {
        return 0;
    }
    r = snd_pcm_readi(a->in, buf, n);
    if (r == -EPIPE || r == -ESTRPIPE) {
        s->in_stats.overruns++;
        snd_pcm_recover(a->in, r, 1);
        snd_pcm_start(a->in);
        return 0;
    }
    return r < 0 ? 0 : (size_t)r;
}

static char *alsa_describe(AudioState *s)
{
    AlsaState *a = s->drv_opaque;

    return a ? g_strdup(a->out_dev) : NULL;
}

static void alsa_fini(AudioState *s)
{
    AlsaState *a = s->drv_opaque;

    if (!a) {
        return;
    }
    snd_pcm_close(a->out);
    if (a->in) {
        snd_pcm_close(a->in);
    }
    g_free(a->out_dev);
    g_free(a->in_dev);
    g_free(a);
    s->drv_opaque = NULL;
}

static const AudioDriver alsa_driver = {
    .name = "alsa",
    .init = alsa_init,
    .write = alsa_write,
    .read = alsa_read,
    .enable_in = alsa_enable_in,
    .describe = alsa_describe,
    .fini = alsa_fini,
};

static void __attribute__((constructor)) audio_alsa_register(void)
{
    audio_driver_register(&alsa_driver);
}
