/*
 * The -audiodev registry (include/audio/audio.h), the audio timer and the
 * voices.  docs/audio.md.
 *
 * Keys every driver takes, as QEMU's Audiodev: id, driver, timer-period
 * (microseconds), in.* / out.* with frequency, channels, format,
 * buffer-length (microseconds), and fixed-settings, voices,
 * mixing-engine (accepted; kvmpc always mixes at the back end's fixed
 * settings, which is QEMU's default).  Each back end (audio/NAMEaudio.c)
 * takes its own keys.
 *
 * The audio timer (QEMU_CLOCK_VIRTUAL) runs while a voice is active or
 * still holds data.  It keeps no drift: each tick produces the frames due
 * since the run started (elapsed time x frequency) less those already
 * produced, at most one mix buffer (sixteen periods) per tick; a tick
 * that is later than that restarts the schedule (the lost frames count as a
 * back-end underrun).
 *
 * What a back end does not take (its host buffer is full: the server or
 * the device fell behind) is kept, in the back end's format, and offered
 * first on the next tick, so sound is late rather than lost.  That
 * backlog shares the mix buffer's bound: a tick mixes only what fits
 * beside it, the voices keep the rest (their devices' DMA waits, as on a
 * sound card whose DAC is slow), and the tick counts an underrun.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "audio/audio.h"

/* Frames of the conversion scratch buffers (on the stack). */
#define CHUNK_FRAMES        256
/* The mix buffer holds this many timer periods: a tick up to this late
 * (a busy host, a main loop held up) catches up without a dropout. */
#define MIX_PERIODS         16
/* A voice's buffer holds this many periods unless buffer-length says. */
#define VOICE_PERIODS       3

struct SWVoiceOut {
    AudioState *s;
    char *name;
    void *opaque;
    audio_callback_fn cb;
    AudioSettings as;
    AudioRing ring;             /* voice rate and channels, float */
    bool active;
    bool started;               /* data arrived since activation */
    float gain[2];              /* even / odd channels (1.0: as is) */
    uint64_t underruns;
};

struct SWVoiceIn {
    AudioState *s;
    char *name;
    void *opaque;
    audio_callback_fn cb;
    AudioSettings as;
    AudioRing ring;             /* back-end rate and channels, float */
    bool active;
    uint64_t overruns;
};

static GPtrArray *drivers;
static GHashTable *audiodevs;       /* id -> AudioState */
static GPtrArray *audiodev_order;   /* AudioState *, definition order */

static const char *const builtin_names[] = {
    "alsa", "coreaudio", "dbus", "dsound", "jack", "oss", "pa", "pipewire",
    "sdl", "sndio", "spice", "wav", NULL,
};

static void audio_timer_cb(void *opaque);

void audio_driver_register(const AudioDriver *drv)
{
    if (!drivers) {
        drivers = g_ptr_array_new();
    }
    g_ptr_array_add(drivers, (gpointer)drv);
}

static const AudioDriver *audio_driver_find(const char *name)
{
    for (guint i = 0; drivers && i < drivers->len; i++) {
        const AudioDriver *d = g_ptr_array_index(drivers, i);
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

char *audio_driver_names(void)
{
    GString *s = g_string_new("");

    for (guint i = 0; drivers && i < drivers->len; i++) {
        const AudioDriver *d = g_ptr_array_index(drivers, i);
        g_string_append_printf(s, "%s%s", i ? " " : "", d->name);
    }
    return g_string_free(s, false);
}

char *audio_driver_describe(AudioState *s)
{
    return s->drv->describe ? s->drv->describe(s) : NULL;
}

AudioState *audio_state_by_name(const char *id)
{
    return audiodevs && id ? g_hash_table_lookup(audiodevs, id) : NULL;
}

GPtrArray *audio_state_list(void)
{
    if (!audiodev_order) {
        audiodev_order = g_ptr_array_new();
    }
    return audiodev_order;
}

static bool take_u32(GHashTable *props, const char *key, uint32_t *out,
                     uint32_t min, uint32_t max, GError **errp)
{
    const char *v = g_hash_table_lookup(props, key);
    uint64_t n;

    if (!v) {
        return true;
    }
    if (!parse_uint(v, &n, NULL) || n > UINT32_MAX) {
        error_setg(errp, "Parameter '%s' expects an unsigned 32-bit number",
                   key);
        return false;
    }
    if (n < min || n > max) {
        error_setg(errp, "Parameter '%s' must be between %u and %u", key,
                   min, max);
        return false;
    }
    *out = n;
    g_hash_table_remove(props, key);
    return true;
}

static bool take_format(GHashTable *props, const char *key, AudioFormat *out,
                        GError **errp)
{
    const char *v = g_hash_table_lookup(props, key);
    int f;

    if (!v) {
        return true;
    }
    f = audio_format_parse(v);
    if (f < 0) {
        error_setg(errp, "Parameter '%s' does not accept value '%s' (u8, s8, "
                   "u16, s16, u32, s32, f32)", key, v);
        return false;
    }
    *out = f;
    g_hash_table_remove(props, key);
    return true;
}

/* in./out. keys that do not change what kvmpc plays (see the header). */
static bool is_direction_tuning_key(const char *key)
{
    static const char *const tuning[] = {
        "fixed-settings", "voices", "mixing-engine", NULL,
    };

    for (const char *const *t = tuning; *t; t++) {
        if ((g_str_has_prefix(key, "in.") && !strcmp(key + 3, *t)) ||
            (g_str_has_prefix(key, "out.") && !strcmp(key + 4, *t))) {
            return true;
        }
    }
    return false;
}

static bool take_direction(GHashTable *props, const char *dir,
                           AudioSettings *as, uint32_t *buffer_us,
                           GError **errp)
{
    g_autofree char *freq = g_strdup_printf("%s.frequency", dir);
    g_autofree char *ch = g_strdup_printf("%s.channels", dir);
    g_autofree char *fmt = g_strdup_printf("%s.format", dir);
    g_autofree char *buf = g_strdup_printf("%s.buffer-length", dir);

    return take_u32(props, freq, &as->freq, AUDIO_MIN_FREQ, AUDIO_MAX_FREQ,
                    errp) &&
           take_u32(props, ch, &as->nchannels, 1, AUDIO_MAX_CHANNELS, errp) &&
           take_format(props, fmt, &as->fmt, errp) &&
           take_u32(props, buf, buffer_us, 0, 10000000, errp);
}

static void audio_state_free(AudioState *s)
{
    if (s->timer) {
        timer_free(s->timer);
    }
    if (s->out_voices) {
        g_ptr_array_unref(s->out_voices);
        g_ptr_array_unref(s->in_voices);
    }
    g_free(s->mixbuf);
    g_free(s->hwbuf);
    g_free(s->outbuf);
    g_free(s->id);
    g_free(s);
}

static AudioState *audio_state_new(const char *id, const AudioDriver *drv)
{
    AudioState *s = g_new0(AudioState, 1);

    s->id = g_strdup(id);
    s->drv = drv;
    s->driver = drv->name;
    s->timer_period_us = 10000;
    s->out = (AudioSettings){ 44100, 2, AUDIO_FORMAT_S16 };
    s->in = s->out;
    return s;
}

/* What the settings imply: the mix buffer, the timer. */
static void audio_state_finish(AudioState *s)
{
    uint64_t per = (uint64_t)s->out.freq * s->timer_period_us / 1000000;
    uint64_t in_per = (uint64_t)s->in.freq * s->timer_period_us / 1000000;

    per = MAX(MAX(per, in_per), 1);
    s->mixbuf_frames = per * MIX_PERIODS + 1;
    s->mixbuf = g_new0(float, (size_t)s->mixbuf_frames * AUDIO_MAX_CHANNELS);
    s->hwbuf = g_malloc0((size_t)s->mixbuf_frames * AUDIO_MAX_CHANNELS * 4);
    s->outbuf = g_malloc0((size_t)s->mixbuf_frames * AUDIO_MAX_CHANNELS * 4);
    s->out_voices = g_ptr_array_new();
    s->in_voices = g_ptr_array_new();
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, audio_timer_cb, s);
}

static void audio_state_add(AudioState *s)
{
    if (!audiodevs) {
        audiodevs = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(audiodevs, s->id, s);
    g_ptr_array_add(audio_state_list(), s);
}

bool audio_init_audiodev(const char *spec, GError **errp)
{
    g_autoptr(GHashTable) props = keyval_parse(spec, "driver", errp);
    g_autofree char *id = NULL, *driver = NULL;
    const AudioDriver *drv;
    AudioState *s;
    GHashTableIter it;
    gpointer key;

    if (!props) {
        return false;
    }
    id = g_strdup(g_hash_table_lookup(props, "id"));
    driver = g_strdup(g_hash_table_lookup(props, "driver"));
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    if (audio_state_by_name(id)) {
        error_setg(errp, "audiodev '%s' already exists", id);
        return false;
    }
    drv = audio_driver_find(driver);
    if (!drv) {
        g_autofree char *names = audio_driver_names();

        if (g_strv_contains(builtin_names, driver)) {
            error_setg(errp, "audio driver '%s' is not built into kvmpc "
                       "(available: %s)", driver, names);
        } else {
            error_setg(errp, "Parameter 'driver' does not accept value '%s'",
                       driver);
        }
        return false;
    }
    g_hash_table_remove(props, "id");
    g_hash_table_remove(props, "driver");
    s = audio_state_new(id, drv);
    if (!take_u32(props, "timer-period", &s->timer_period_us, 100, 1000000,
                  errp) ||
        !take_direction(props, "out", &s->out, &s->out_buffer_us, errp) ||
        !take_direction(props, "in", &s->in, &s->in_buffer_us, errp)) {
        goto fail;
    }
    /* the driver's own keys; what is left must be harmless tuning */
    g_hash_table_iter_init(&it, props);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (is_direction_tuning_key(key)) {
            g_hash_table_iter_remove(&it);
        }
    }
    if (!drv->init(s, props, errp)) {
        goto fail;
    }
    g_hash_table_iter_init(&it, props);
    if (g_hash_table_iter_next(&it, &key, NULL)) {
        error_setg(errp, "Invalid parameter '%s'", (char *)key);
        if (drv->fini) {
            drv->fini(s);
        }
        goto fail;
    }
    audio_state_finish(s);
    audio_state_add(s);
    return true;
fail:
    audio_state_free(s);
    return false;
}

AudioState *audio_state_for_device(const char *id, const char *dev,
                                   GError **errp)
{
    GPtrArray *list = audio_state_list();
    AudioState *s;

    if (id && *id) {
        s = audio_state_by_name(id);
        if (!s) {
            error_setg(errp, "%s: audiodev '%s' not found", dev, id);
        }
        return s;
    }
    if (list->len == 1) {
        return g_ptr_array_index(list, 0);
    }
    if (list->len > 1) {
        error_setg(errp, "%s: several audiodevs are defined: name one with "
                   "audiodev=", dev);
        return NULL;
    }
    /* QEMU makes a default back end (with a warning); ours is silent */
    s = audio_state_new("audiodev0", audio_driver_find("none"));
    audio_state_finish(s);
    audio_state_add(s);
    return s;
}

bool audio_parse_audio_option(const char *spec, char **model, char **id,
                              GError **errp)
{
    g_autoptr(GPtrArray) kv = keyval_parse_list(spec, "driver", errp);
    g_autoptr(GString) dev = g_string_new("");
    g_autofree char *my_id = NULL;

    if (!kv) {
        return false;
    }
    *model = NULL;
    for (guint i = 0; i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        g_auto(GStrv) parts = g_strsplit(p->value, ",", -1);
        g_autofree char *v = g_strjoinv(",,", parts);

        if (!strcmp(p->key, "model")) {
            g_free(*model);
            *model = g_strdup(p->value);
            continue;
        }
        if (!strcmp(p->key, "id")) {
            g_free(my_id);
            my_id = g_strdup(p->value);
        }
        g_string_append_printf(dev, "%s%s=%s", dev->len ? "," : "", p->key,
                               v);
    }
    if (!my_id) {
        my_id = g_strdup("audiodev0");
        g_string_append_printf(dev, ",id=%s", my_id);
    }
    if (!audio_init_audiodev(dev->str, errp)) {
        g_free(*model);
        *model = NULL;
        return false;
    }
    *id = g_steal_pointer(&my_id);
    return true;
}

/* ---- the timer --------------------------------------------------------- */

static bool voices_busy(AudioState *s)
{
    for (guint i = 0; i < s->out_voices->len; i++) {
        SWVoiceOut *sw = g_ptr_array_index(s->out_voices, i);
        if (sw->active || sw->ring.used) {
            return true;
        }
    }
    for (guint i = 0; i < s->in_voices->len; i++) {
        SWVoiceIn *sw = g_ptr_array_index(s->in_voices, i);
        if (sw->active) {
            return true;
        }
    }
    return false;
}

static int64_t period_ns(AudioState *s)
{
    return (int64_t)s->timer_period_us * 1000;
}

static void audio_timer_start(AudioState *s)
{
    if (timer_pending(s->timer)) {
        return;
    }
    s->timer_start_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->out_due = s->in_due = 0;
    timer_mod(s->timer, s->timer_start_ns + period_ns(s));
}

/* Frames at @freq from the run's start to @now, less @done. */
static uint64_t frames_due(AudioState *s, int64_t now, uint32_t freq,
                           uint64_t done)
{
    uint64_t total = (uint64_t)(now - s->timer_start_ns) * freq /
                     NANOSECONDS_PER_SECOND;

    return total > done ? total - done : 0;
}

/* Mix @n frames of every playback voice into s->mixbuf. */
static void mix_voices(AudioState *s, uint32_t n)
{
    uint32_t ch = s->out.nchannels;

    memset(s->mixbuf, 0, (size_t)n * ch * sizeof(float));
    for (guint i = 0; i < s->out_voices->len; i++) {
        SWVoiceOut *sw = g_ptr_array_index(s->out_voices, i);
        uint32_t got = 0, more;

        /* The device refills its voice (DMA paced by this timer) and the
         * voice is mixed, again until the tick has its frames: a late
         * tick wants more than a voice buffer holds, and the device has
         * that much to give (its DMA is paced by this timer too). */
        do {
            int room = audio_ring_free_frames(&sw->ring) *
                       audio_frame_bytes(&sw->as);

            if (sw->active && room > 0) {
                sw->cb(sw->opaque, room);
            }
            more = audio_ring_mix(&sw->ring, s->mixbuf + (size_t)got * ch, ch,
                                  n - got);
            got += more;
        } while (got < n && more && sw->active);
        if (got < n && sw->active && sw->started) {
            sw->underruns++;
            s->out_stats.underruns++;
        } else if (got < n && !sw->active) {
            /* drained: the frame the interpolator still holds is the
             * last one, not the start of more */
            audio_ring_reset(&sw->ring);
        }
    }
}

/* Offer the back end the backlog, oldest first; keep what it leaves. */
static void flush_out_pending(AudioState *s)
{
    unsigned fb = audio_frame_bytes(&s->out);
    size_t took;

    if (!s->out_pending) {
        return;
    }
    took = s->drv->write ? s->drv->write(s, s->outbuf, s->out_pending)
                         : s->out_pending;
    took = MIN(took, (size_t)s->out_pending);
    s->out_stats.frames += took;
    s->out_pending -= took;
    if (took && s->out_pending) {
        memmove(s->outbuf, s->outbuf + took * fb,
                (size_t)s->out_pending * fb);
    }
}

/*
 * A tick's playback: @n frames are due.  With @mix (something plays or
 * records) they are mixed behind the backlog, as far as the mix buffer
 * has room; then the back end is offered all of it.
 */
static void play_tick(AudioState *s, uint32_t n, bool mix)
{
    uint32_t room = s->mixbuf_frames - s->out_pending;

    if (mix && n > room) {
        /* the back end is a mix buffer behind: the voices keep what
         * does not fit, and the sound is that much late */
        s->out_stats.underruns++;
        n = room;
    }
    if (mix && n) {
        mix_voices(s, n);
        audio_float_to_samples(&s->out, s->mixbuf,
                               s->outbuf + (size_t)s->out_pending *
                                           audio_frame_bytes(&s->out), n);
        s->out_pending += n;
    }
    flush_out_pending(s);
}

static void capture_tick(AudioState *s, uint32_t n)
{
    size_t got = 0;

    if (s->drv->read) {
        got = s->drv->read(s, s->hwbuf, n);
    }
    /* what the back end did not deliver is silence */
    memset(s->hwbuf + got * audio_frame_bytes(&s->in), 0,
           (n - got) * audio_frame_bytes(&s->in));
    audio_samples_to_float(&s->in, s->hwbuf, s->mixbuf, n);
    s->in_stats.frames += n;
    for (guint i = 0; i < s->in_voices->len; i++) {
        SWVoiceIn *sw = g_ptr_array_index(s->in_voices, i);
        uint32_t pushed;

        if (!sw->active) {
            continue;
        }
        pushed = audio_ring_push(&sw->ring, s->mixbuf, n);
        if (pushed < n) {
            sw->overruns++;
            s->in_stats.overruns++;
        }
        sw->cb(sw->opaque,
               (int)(((uint64_t)sw->ring.used * sw->as.freq / s->in.freq) *
                     audio_frame_bytes(&sw->as)));
    }
}

static bool any_active_in(AudioState *s)
{
    for (guint i = 0; i < s->in_voices->len; i++) {
        if (((SWVoiceIn *)g_ptr_array_index(s->in_voices, i))->active) {
            return true;
        }
    }
    return false;
}

static void audio_timer_cb(void *opaque)
{
    AudioState *s = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    uint64_t out_n = frames_due(s, now, s->out.freq, s->out_due);
    uint64_t in_n = frames_due(s, now, s->in.freq, s->in_due);
    bool busy = voices_busy(s);

    if (!busy && !s->out_pending) {
        /* nothing plays or records, and the back end took everything:
         * the timer stops until a voice starts (a new run, so no
         * silence is written for the idle time) */
        if (s->drv->enable_out && s->out_used) {
            s->drv->enable_out(s, false);
        }
        return;
    }
    if (out_n > s->mixbuf_frames || in_n > s->mixbuf_frames) {
        /* far behind (the VM was stopped, or the host stalled): what was
         * missed is gone; start a new schedule from now */
        s->out_stats.underruns++;
        s->timer_start_ns = now - period_ns(s);
        s->out_due = s->in_due = 0;
        out_n = frames_due(s, now, s->out.freq, 0);
        in_n = frames_due(s, now, s->in.freq, 0);
    }
    /* even with no frames due: the backlog is offered every tick */
    play_tick(s, out_n, busy);
    s->out_due += out_n;
    if (in_n && any_active_in(s)) {
        capture_tick(s, in_n);
    }
    s->in_due += in_n;
    timer_mod(s->timer, now + period_ns(s));
}

void audio_cleanup(void)
{
    GPtrArray *list = audio_state_list();

    for (guint i = 0; i < list->len; i++) {
        AudioState *s = g_ptr_array_index(list, i);

        /* the backlog's last chance to be heard */
        flush_out_pending(s);
        if (s->drv->fini) {
            s->drv->fini(s);
            s->drv = audio_driver_find("none");
        }
    }
}

/* ---- voices ------------------------------------------------------------ */

static bool settings_ok(const AudioSettings *as, const char *name)
{
    if (as->fmt >= AUDIO_FORMAT_MAX || !as->nchannels ||
        as->nchannels > AUDIO_MAX_CHANNELS || as->freq < AUDIO_MIN_FREQ ||
        as->freq > AUDIO_MAX_FREQ) {
        g_printerr("kvmpc: audio: voice %s: unsupported settings (%u Hz, "
                   "%u channels, format %d)\n", name, as->freq,
                   as->nchannels, as->fmt);
        return false;
    }
    return true;
}

static uint32_t voice_frames(AudioState *s, uint32_t freq, uint32_t buf_us)
{
    uint64_t us = buf_us ? buf_us : (uint64_t)s->timer_period_us *
                                    VOICE_PERIODS;
    uint64_t n = us * freq / 1000000 + 2;

    return MIN(n, (uint64_t)AUDIO_MAX_FREQ * 10);
}

SWVoiceOut *AUD_open_out(AudioState *s, SWVoiceOut *sw, const char *name,
                         void *opaque, audio_callback_fn cb,
                         const AudioSettings *as)
{
    if (!s || !settings_ok(as, name)) {
        return NULL;
    }
    if (!sw) {
        sw = g_new0(SWVoiceOut, 1);
        sw->s = s;
        sw->gain[0] = sw->gain[1] = 1.0f;
        g_ptr_array_add(s->out_voices, sw);
    } else {
        if (sw->as.freq == as->freq && sw->as.nchannels == as->nchannels &&
            sw->as.fmt == as->fmt) {
            return sw;
        }
        audio_ring_free(&sw->ring);
    }
    g_free(sw->name);
    sw->name = g_strdup(name);
    sw->opaque = opaque;
    sw->cb = cb;
    sw->as = *as;
    audio_ring_init(&sw->ring, voice_frames(s, as->freq, s->out_buffer_us),
                    as->nchannels, as->freq, s->out.freq);
    if (!s->out_used) {
        s->out_used = true;
    }
    return sw;
}

void AUD_close_out(AudioState *s, SWVoiceOut *sw)
{
    if (!sw) {
        return;
    }
    g_ptr_array_remove(s->out_voices, sw);
    audio_ring_free(&sw->ring);
    g_free(sw->name);
    g_free(sw);
}

size_t AUD_write(SWVoiceOut *sw, const void *buf, size_t size)
{
    unsigned fb;
    size_t frames, done = 0;
    float tmp[CHUNK_FRAMES * AUDIO_MAX_CHANNELS];

    if (!sw) {
        return size;
    }
    fb = audio_frame_bytes(&sw->as);
    frames = MIN(size / fb, audio_ring_free_frames(&sw->ring));
    while (done < frames) {
        uint32_t n = MIN(frames - done, CHUNK_FRAMES);

        audio_samples_to_float(&sw->as, (const uint8_t *)buf + done * fb,
                               tmp, n);
        if (sw->gain[0] != 1.0f || sw->gain[1] != 1.0f) {
            for (uint32_t i = 0; i < n * sw->as.nchannels; i++) {
                tmp[i] *= sw->gain[(i % sw->as.nchannels) & 1];
            }
        }
        audio_ring_push(&sw->ring, tmp, n);
        done += n;
    }
    if (done) {
        sw->started = true;
    }
    return done * fb;
}

void AUD_set_active_out(SWVoiceOut *sw, bool on)
{
    if (!sw || sw->active == on) {
        return;
    }
    sw->active = on;
    sw->started = false;
    /* a stopped stream stops now: what was fetched ahead is dropped, as
     * a codec's FIFO is when the controller stops the stream */
    audio_ring_reset(&sw->ring);
    if (on) {
        if (sw->s->drv->enable_out) {
            sw->s->drv->enable_out(sw->s, true);
        }
        audio_timer_start(sw->s);
    }
}

void AUD_set_volume_out(SWVoiceOut *sw, bool mute, float left, float right)
{
    if (sw) {
        sw->gain[0] = mute ? 0.0f : left;
        sw->gain[1] = mute ? 0.0f : right;
    }
}

void AUD_drain_out(SWVoiceOut *sw)
{
    if (sw) {
        /* inactive with data: mixed until empty, no underruns counted */
        sw->active = false;
        sw->started = false;
    }
}

bool AUD_is_active_out(SWVoiceOut *sw)
{
    return sw && sw->active;
}

size_t AUD_get_buffer_size_out(SWVoiceOut *sw)
{
    return sw ? audio_ring_free_frames(&sw->ring) *
                audio_frame_bytes(&sw->as) : 0;
}

uint64_t AUD_underruns_out(SWVoiceOut *sw)
{
    return sw ? sw->underruns : 0;
}

SWVoiceIn *AUD_open_in(AudioState *s, SWVoiceIn *sw, const char *name,
                       void *opaque, audio_callback_fn cb,
                       const AudioSettings *as)
{
    if (!s || !settings_ok(as, name)) {
        return NULL;
    }
    if (!sw) {
        sw = g_new0(SWVoiceIn, 1);
        sw->s = s;
        g_ptr_array_add(s->in_voices, sw);
    } else {
        if (sw->as.freq == as->freq && sw->as.nchannels == as->nchannels &&
            sw->as.fmt == as->fmt) {
            return sw;
        }
        audio_ring_free(&sw->ring);
    }
    g_free(sw->name);
    sw->name = g_strdup(name);
    sw->opaque = opaque;
    sw->cb = cb;
    sw->as = *as;
    audio_ring_init(&sw->ring, voice_frames(s, s->in.freq, s->in_buffer_us),
                    s->in.nchannels, s->in.freq, as->freq);
    s->in_used = true;
    return sw;
}

void AUD_close_in(AudioState *s, SWVoiceIn *sw)
{
    if (!sw) {
        return;
    }
    g_ptr_array_remove(s->in_voices, sw);
    audio_ring_free(&sw->ring);
    g_free(sw->name);
    g_free(sw);
}

size_t AUD_read(SWVoiceIn *sw, void *buf, size_t size)
{
    unsigned fb;
    size_t frames, done = 0;
    float tmp[CHUNK_FRAMES * AUDIO_MAX_CHANNELS];

    if (!sw) {
        return 0;
    }
    fb = audio_frame_bytes(&sw->as);
    frames = size / fb;
    while (done < frames) {
        uint32_t n = MIN(frames - done, CHUNK_FRAMES), got;

        memset(tmp, 0, (size_t)n * sw->as.nchannels * sizeof(float));
        got = audio_ring_mix(&sw->ring, tmp, sw->as.nchannels, n);
        audio_float_to_samples(&sw->as, tmp, (uint8_t *)buf + done * fb, got);
        done += got;
        if (got < n) {
            break;
        }
    }
    return done * fb;
}

void AUD_set_active_in(SWVoiceIn *sw, bool on)
{
    if (!sw || sw->active == on) {
        return;
    }
    sw->active = on;
    if (on) {
        audio_ring_reset(&sw->ring);
        if (sw->s->drv->enable_in) {
            sw->s->drv->enable_in(sw->s, true);
        }
        audio_timer_start(sw->s);
    } else if (sw->s->drv->enable_in) {
        sw->s->drv->enable_in(sw->s, false);
    }
}

uint64_t AUD_overruns_in(SWVoiceIn *sw)
{
    return sw ? sw->overruns : 0;
}
