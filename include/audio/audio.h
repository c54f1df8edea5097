/*
 * Audio: -audiodev DRIVER,id=ID[,...] back ends (or its JSON form), and
 * the voices sound devices play and record through.  docs/audio.md.
 *
 * An AudioState is one -audiodev: a back end (none, wav, sdl, pa, alsa)
 * running at out.frequency / out.channels / out.format, and a timer on
 * the virtual clock every timer-period microseconds.  Each tick:
 *   1. every active playback voice's callback is told how many bytes its
 *      buffer has free, and the device moves that much from guest memory
 *      with AUD_write() (so DMA is paced by the audio timer, not by the
 *      guest, and playback stays steady);
 *   2. the mixer takes the tick's frames from each voice, converting the
 *      voice's format, rate and channels to the back end's, sums them and
 *      hands the result to the back end; what the back end cannot take
 *      yet is kept (bounded) and handed over first on the next tick;
 *   3. the back end produces the tick's capture frames, which go to each
 *      active capture voice, whose callback then reads them (AUD_read).
 * A voice that had too little data counts an underrun; a capture voice
 * whose device did not take its data counts an overrun (query-audiodevs).
 *
 * All functions run with the big lock held.
 */
#ifndef AUDIO_AUDIO_H
#define AUDIO_AUDIO_H
#include "qemu/osdep.h"
#include "system/timer.h"
#include "qapi/qapi-types.h"

/* AudioFormat (u8, s8, u16, s16, u32, s32, f32) is QAPI's. */
#define AUDIO_FORMAT_MAX    AUDIO_FORMAT__MAX

/* What a voice or a back end carries (little-endian samples). */
typedef struct AudioSettings {
    uint32_t freq;
    uint32_t nchannels;
    AudioFormat fmt;
} AudioSettings;

#define AUDIO_MAX_CHANNELS  8
#define AUDIO_MIN_FREQ      1000
#define AUDIO_MAX_FREQ      192000

/* "s16" -> AUDIO_FORMAT_S16; -1 when unknown. */
int audio_format_parse(const char *name);
const char *audio_format_name(AudioFormat fmt);
unsigned audio_format_bytes(AudioFormat fmt);
static inline unsigned audio_frame_bytes(const AudioSettings *as)
{
    return audio_format_bytes(as->fmt) * as->nchannels;
}

/* ---- the conversion and mixing layer (audio/mixeng.c) ------------------ */

/* @n frames of @as samples at @src -> floats in [-1, 1] at @dst. */
void audio_samples_to_float(const AudioSettings *as, const void *src,
                            float *dst, size_t n);
/* @n frames of floats (clipped to [-1, 1]) -> @as samples at @dst. */
void audio_float_to_samples(const AudioSettings *as, const float *src,
                            void *dst, size_t n);

/*
 * A FIFO of float frames at one rate and channel count, read out at
 * another rate and channel count by linear interpolation (the rate
 * converter keeps its fractional position between reads).
 */
typedef struct AudioRing {
    float *buf;
    uint32_t cap;               /* frames */
    uint32_t rpos, used;        /* frames */
    uint32_t nchannels;
    uint64_t pos;               /* 32.32 position between frames 0 and 1 */
    uint64_t step;              /* 32.32 input frames per output frame */
} AudioRing;

void audio_ring_init(AudioRing *r, uint32_t cap_frames, uint32_t nchannels,
                     uint32_t in_freq, uint32_t out_freq);
void audio_ring_free(AudioRing *r);
void audio_ring_reset(AudioRing *r);
static inline uint32_t audio_ring_free_frames(const AudioRing *r)
{
    return r->cap - r->used;
}
/* Append up to @n frames; returns how many fit. */
uint32_t audio_ring_push(AudioRing *r, const float *frames, uint32_t n);
/*
 * Produce up to @n output frames of @out_channels channels, resampled,
 * *added* to @mix (so voices sum); returns how many were produced (fewer
 * when the ring ran dry).
 */
uint32_t audio_ring_mix(AudioRing *r, float *mix, uint32_t out_channels,
                        uint32_t n);
/* Like audio_ring_mix, but without resampling or summing: copy out. */
uint32_t audio_ring_pop(AudioRing *r, float *out, uint32_t n);

/* ---- back ends --------------------------------------------------------- */

typedef struct AudioState AudioState;
typedef struct SWVoiceOut SWVoiceOut;
typedef struct SWVoiceIn SWVoiceIn;

typedef struct AudioDriver {
    const char *name;
    /* Check and take the driver's own keys out of @props. */
    bool (*init)(AudioState *s, GHashTable *props, GError **errp);
    /*
     * Play up to @n frames of the back end's settings (out) from @buf;
     * returns how many it took.  What it does not take stays with the
     * caller, which offers it again, first, on the next tick (a back
     * end whose host buffer is full says so by taking less, rather than
     * dropping sound); a back end that must discard (no listener) says
     * it took them.  NULL: discard.
     */
    size_t (*write)(AudioState *s, const void *buf, size_t n);
    /* Capture up to @n frames into @buf; returns frames (NULL: silence). */
    size_t (*read)(AudioState *s, void *buf, size_t n);
    /* Turn playback / capture on or off (the first voice in, the last out). */
    void (*enable_out)(AudioState *s, bool on);
    void (*enable_in)(AudioState *s, bool on);
    /* The file (wav) or server (pa) for query-audiodevs; NULL: none. */
    char *(*describe)(AudioState *s);
    /* Free the driver's state (the file is complete after this). */
    void (*fini)(AudioState *s);
} AudioDriver;

typedef struct AudioDirStats {
    uint64_t frames;            /* frames played / captured */
    uint64_t underruns;         /* ticks a playback voice ran dry */
    uint64_t overruns;          /* ticks a capture voice overflowed */
} AudioDirStats;

struct AudioState {
    char *id;
    const AudioDriver *drv;
    const char *driver;
    void *drv_opaque;
    uint32_t timer_period_us;       /* timer-period= (default 10000) */
    AudioSettings out, in;          /* out.* / in.* */
    uint32_t out_buffer_us, in_buffer_us;  /* *.buffer-length= (0: auto) */
    bool in_used, out_used;         /* a device opened a voice */

    QEMUTimer *timer;
    int64_t timer_start_ns;         /* when the current run began */
    uint64_t out_due, in_due;       /* frames the run has produced */
    GPtrArray *out_voices, *in_voices;
    float *mixbuf;                  /* one tick of back-end frames */
    uint8_t *hwbuf;                 /* one tick of capture samples */
    uint32_t mixbuf_frames;
    /* mixed playback the back end has not taken yet, oldest first, in
     * its format; at most mixbuf_frames */
    uint8_t *outbuf;
    uint32_t out_pending;
    AudioDirStats out_stats, in_stats;
};

void audio_driver_register(const AudioDriver *drv);
/* -audiodev: false with @errp on a bad spec or an unbuilt driver. */
bool audio_init_audiodev(const char *spec, GError **errp);
AudioState *audio_state_by_name(const char *id);
/*
 * The audiodev a device uses: @id when given (an error when it does not
 * exist), else the only one defined, else a "none" created on demand
 * (QEMU warns and does the same).
 */
AudioState *audio_state_for_device(const char *id, const char *dev,
                                   GError **errp);
/* -audio [driver=]DRV[,model=M][,...]: an audiodev "audiodev0" (or id=)
 * and the model's device; false with @errp. */
bool audio_parse_audio_option(const char *spec, char **model, char **id,
                              GError **errp);
/* Every audiodev, in definition order (for query-audiodevs). */
GPtrArray *audio_state_list(void);
/* Close every back end (files complete); called at exit. */
void audio_cleanup(void);
/* The driver's describe() (g_free it), or NULL. */
char *audio_driver_describe(AudioState *s);
/* Drivers built into this binary, space separated. */
char *audio_driver_names(void);

/* ---- voices (the devices' side, QEMU's AUD_* names) -------------------- */

/* Told the bytes of room (out) or of data (in) the voice has now. */
typedef void (*audio_callback_fn)(void *opaque, int avail);

/*
 * Open (or re-open with new settings: @sw may be an open voice, which
 * is returned) a playback voice named @name on @s.  NULL with a message
 * on impossible settings.
 */
SWVoiceOut *AUD_open_out(AudioState *s, SWVoiceOut *sw, const char *name,
                         void *opaque, audio_callback_fn cb,
                         const AudioSettings *as);
void AUD_close_out(AudioState *s, SWVoiceOut *sw);
/* Queue up to @size bytes (whole frames); returns the bytes taken. */
size_t AUD_write(SWVoiceOut *sw, const void *buf, size_t size);
/* Start, or stop at once (what the voice holds is dropped). */
void AUD_set_active_out(SWVoiceOut *sw, bool on);
/* Stop taking data but play what the voice holds (a DMA engine that ran
 * out of buffers: its FIFO still empties). */
void AUD_drain_out(SWVoiceOut *sw);
bool AUD_is_active_out(SWVoiceOut *sw);
/* Gains (linear, 1.0 = unchanged) of the even (left) and odd (right)
 * channels, applied as data is queued. */
void AUD_set_volume_out(SWVoiceOut *sw, bool mute, float left, float right);
/* Bytes of room in the voice's buffer. */
size_t AUD_get_buffer_size_out(SWVoiceOut *sw);

SWVoiceIn *AUD_open_in(AudioState *s, SWVoiceIn *sw, const char *name,
                       void *opaque, audio_callback_fn cb,
                       const AudioSettings *as);
void AUD_close_in(AudioState *s, SWVoiceIn *sw);
/* Take up to @size bytes of captured sound; returns the bytes given. */
size_t AUD_read(SWVoiceIn *sw, void *buf, size_t size);
void AUD_set_active_in(SWVoiceIn *sw, bool on);

/* Per-voice counters (tests). */
uint64_t AUD_underruns_out(SWVoiceOut *sw);
uint64_t AUD_overruns_in(SWVoiceIn *sw);

#endif
