/*
 * The "sdl" audio back end (SDL2): -audiodev sdl,id=ID.  SDL picks the
 * host's sound system (SDL_AUDIODRIVER chooses one; "dummy" plays into
 * nothing at real-time pace, which the tests use).
 *
 * Playback opens an SDL audio device with the audiodev's settings (SDL
 * converts if the hardware differs) and queues each audio tick's frames
 * with SDL_QueueAudio; the queue is kept under eight timer periods: what
 * does not fit stays with the audio layer, which offers it again on the
 * next tick and, when a host that plays slower than the guest's clock
 * has filled its backlog too, makes the voices wait (and counts an
 * underrun), so the latency stays bounded and no sound is dropped.
 * Recording opens a capture device on demand and dequeues what it has
 * (SDL_DequeueAudio).
 */
#include "qemu/osdep.h"
#include <SDL.h>
#include "audio/audio.h"

#define SDL_MAX_QUEUE_PERIODS   8

typedef struct SdlState {
    SDL_AudioDeviceID out, in;
    uint32_t max_queued;        /* bytes */
} SdlState;

static SDL_AudioFormat sdl_format(AudioFormat f)
{
    switch (f) {
    case AUDIO_FORMAT_U8:
        return AUDIO_U8;
    case AUDIO_FORMAT_S8:
        return AUDIO_S8;
    case AUDIO_FORMAT_U16:
        return AUDIO_U16LSB;
    case AUDIO_FORMAT_S16:
        return AUDIO_S16LSB;
    case AUDIO_FORMAT_S32:
        return AUDIO_S32LSB;
    case AUDIO_FORMAT_F32:
        return AUDIO_F32LSB;
    default:
        return 0;
    }
}

static SDL_AudioDeviceID sdl_open(const AudioSettings *as, int capture,
                                  uint32_t period_us, GError **errp)
{
    SDL_AudioSpec want = { 0 }, have;
    SDL_AudioDeviceID dev;

    want.freq = as->freq;
    want.format = sdl_format(as->fmt);
    want.channels = as->nchannels;
    want.samples = MAX(64, (uint64_t)as->freq * period_us / 1000000);
    want.callback = NULL;       /* queued, not pulled */
    dev = SDL_OpenAudioDevice(NULL, capture, &want, &have, 0);
    if (!dev) {
        error_setg(errp, "sdl: cannot open %s: %s",
                   capture ? "a capture device" : "an audio device",
                   SDL_GetError());
    }
    return dev;
}

static bool sdl_init(AudioState *s, GHashTable *props, GError **errp)
{
    SdlState *st;

    if (!sdl_format(s->out.fmt)) {
        error_setg(errp, "sdl: out.format=%s is not an SDL format",
                   audio_format_name(s->out.fmt));
        return false;
    }
    g_hash_table_remove(props, "out.buffer-count");
    g_hash_table_remove(props, "in.buffer-count");
    if (SDL_InitSubSystem(SDL_INIT_AUDIO) < 0) {
        error_setg(errp, "sdl: cannot initialize audio: %s",
                   SDL_GetError());
        return false;
    }
    st = g_new0(SdlState, 1);
    st->out = sdl_open(&s->out, 0, s->timer_period_us, errp);
    if (!st->out) {
        g_free(st);
        SDL_QuitSubSystem(SDL_INIT_AUDIO);
        return false;
    }
    st->max_queued = (uint64_t)s->out.freq * s->timer_period_us / 1000000 *
                     SDL_MAX_QUEUE_PERIODS * audio_frame_bytes(&s->out);
    s->drv_opaque = st;
    return true;
}

/* Queue what fits under the bound; the audio layer keeps the rest. */
static size_t sdl_write(AudioState *s, const void *buf, size_t n)
{
    SdlState *st = s->drv_opaque;
    unsigned fb = audio_frame_bytes(&s->out);
    uint32_t queued = SDL_GetQueuedAudioSize(st->out);
    size_t take;

    if (queued >= st->max_queued) {
        return 0;
    }
    take = MIN(n, (st->max_queued - queued) / fb);
    if (take && SDL_QueueAudio(st->out, buf, take * fb) < 0) {
        return n;       /* the device failed: nothing will play it */
    }
    return take;
}

static void sdl_enable_out(AudioState *s, bool on)
{
    SdlState *st = s->drv_opaque;

    SDL_PauseAudioDevice(st->out, !on);
}

static void sdl_enable_in(AudioState *s, bool on)
{
    SdlState *st = s->drv_opaque;
    GError *err = NULL;

    if (on && !st->in) {
        st->in = sdl_open(&s->in, 1, s->timer_period_us, &err);
        if (!st->in) {
            g_printerr("kvmpc: %s\n", err->message);
            g_error_free(err);
            return;
        }
        SDL_PauseAudioDevice(st->in, 0);
    } else if (!on && st->in) {
        SDL_CloseAudioDevice(st->in);
        st->in = 0;
    }
}

static size_t sdl_read(AudioState *s, void *buf, size_t n)
{
    SdlState *st = s->drv_opaque;

    if (!st->in) {
        return 0;
    }
    return SDL_DequeueAudio(st->in, buf, n * audio_frame_bytes(&s->in)) /
           audio_frame_bytes(&s->in);
}

static void sdl_fini(AudioState *s)
{
    SdlState *st = s->drv_opaque;

    if (!st) {
        return;
    }
    SDL_CloseAudioDevice(st->out);
    if (st->in) {
        SDL_CloseAudioDevice(st->in);
    }
    g_free(st);
    s->drv_opaque = NULL;
    SDL_QuitSubSystem(SDL_INIT_AUDIO);
}

static const AudioDriver sdl_driver = {
    .name = "sdl",
    .init = sdl_init,
    .write = sdl_write,
    .read = sdl_read,
    .enable_out = sdl_enable_out,
    .enable_in = sdl_enable_in,
    .fini = sdl_fini,
};

static void __attribute__((constructor)) audio_sdl_register(void)
{
    audio_driver_register(&sdl_driver);
}
