/*
 * The "pa" audio back end (libpulse): -audiodev pa,id=ID[,server=ADDR].
 *
 * A private libpulse main loop is run without blocking from the audio
 * timer, so no thread and no lock are needed: start-up connects to the
 * server and opens a playback stream (waiting up to two seconds, so a
 * missing server is a clear start-up error, as with QEMU), and each tick
 * dispatches the loop once and writes at most what the stream has room
 * for (pa_stream_writable_size); the rest of the tick is dropped and
 * counted as an underrun.  The stream asks the server for a latency of
 * four timer periods.
 *
 * Not done: recording (in.* streams are silence), the per-direction
 * name, stream-name and latency keys (accepted for QEMU's command
 * lines, without effect).
 */
#include "qemu/osdep.h"
#include <pulse/pulseaudio.h>
#include "audio/audio.h"

#define PA_CONNECT_TIMEOUT_US   2000000

typedef struct PAState {
    char *server;
    pa_mainloop *ml;
    pa_context *ctx;
    pa_stream *out;
} PAState;

static bool pa_sample_format(AudioFormat f, pa_sample_format_t *out)
{
    switch (f) {
    case AUDIO_FORMAT_U8:
        *out = PA_SAMPLE_U8;
        return true;
    case AUDIO_FORMAT_S16:
        *out = PA_SAMPLE_S16LE;
        return true;
    case AUDIO_FORMAT_S32:
        *out = PA_SAMPLE_S32LE;
        return true;
    case AUDIO_FORMAT_F32:
        *out = PA_SAMPLE_FLOAT32LE;
        return true;
    default:
        return false;
    }
}

/* Run the loop without blocking until @done says so, or time runs out. */
static bool pa_wait(PAState *p, bool (*done)(PAState *p, bool *ok))
{
    bool ok = false;

    for (int64_t waited = 0; waited < PA_CONNECT_TIMEOUT_US; waited += 1000) {
        pa_mainloop_iterate(p->ml, 0, NULL);
        if (done(p, &ok)) {
            return ok;
        }
        g_usleep(1000);
    }
    return false;
}

static bool context_settled(PAState *p, bool *ok)
{
    pa_context_state_t st = pa_context_get_state(p->ctx);

    *ok = st == PA_CONTEXT_READY;
    return st == PA_CONTEXT_READY || !PA_CONTEXT_IS_GOOD(st);
}

static bool stream_settled(PAState *p, bool *ok)
{
    pa_stream_state_t st = pa_stream_get_state(p->out);

    *ok = st == PA_STREAM_READY;
    return st == PA_STREAM_READY || !PA_STREAM_IS_GOOD(st);
}

static void pa_free_state(PAState *p)
{
    if (p->out) {
        pa_stream_disconnect(p->out);
        pa_stream_unref(p->out);
    }
    if (p->ctx) {
        pa_context_disconnect(p->ctx);
        pa_context_unref(p->ctx);
    }
    if (p->ml) {
        pa_mainloop_free(p->ml);
    }
    g_free(p->server);
    g_free(p);
}

static bool pa_init(AudioState *s, GHashTable *props, GError **errp)
{
    static const char *const ignored[] = {
        "in.name", "out.name", "in.stream-name", "out.stream-name",
        "in.latency", "out.latency", NULL,
    };
    PAState *p;
    pa_sample_spec spec;
    pa_buffer_attr attr;
    const char *server = g_hash_table_lookup(props, "server");

    if (!pa_sample_format(s->out.fmt, &spec.format)) {
        error_setg(errp, "pa: out.format=%s is not a PulseAudio format "
                   "(u8, s16, s32, f32)", audio_format_name(s->out.fmt));
        return false;
    }
    spec.rate = s->out.freq;
    spec.channels = s->out.nchannels;
    for (const char *const *k = ignored; *k; k++) {
        g_hash_table_remove(props, *k);
    }
    p = g_new0(PAState, 1);
    p->server = g_strdup(server);
    g_hash_table_remove(props, "server");
    p->ml = pa_mainloop_new();
    p->ctx = pa_context_new(pa_mainloop_get_api(p->ml), "kvmpc");
    if (!p->ctx ||
        pa_context_connect(p->ctx, p->server, PA_CONTEXT_NOAUTOSPAWN,
                           NULL) < 0 ||
        !pa_wait(p, context_settled)) {
        error_setg(errp, "pa: cannot connect to the PulseAudio server%s%s: "
                   "%s", p->server ? " " : "", p->server ? p->server : "",
                   p->ctx ? pa_strerror(pa_context_errno(p->ctx))
                          : "out of memory");
        pa_free_state(p);
        return false;
    }
    p->out = pa_stream_new(p->ctx, "kvmpc playback", &spec, NULL);
    attr.maxlength = (uint32_t)-1;
    attr.tlength = pa_usec_to_bytes(s->timer_period_us * 4, &spec);
    attr.prebuf = (uint32_t)-1;
    attr.minreq = (uint32_t)-1;
    attr.fragsize = (uint32_t)-1;
    if (!p->out ||
        pa_stream_connect_playback(p->out, NULL, &attr,
                                   PA_STREAM_ADJUST_LATENCY, NULL,
                                   NULL) < 0 ||
        !pa_wait(p, stream_settled)) {
        error_setg(errp, "pa: cannot open a playback stream: %s",
                   pa_strerror(pa_context_errno(p->ctx)));
        pa_free_state(p);
        return false;
    }
    s->drv_opaque = p;
    return true;
}

static size_t pa_write(AudioState *s, const void *buf, size_t n)
{
    PAState *p = s->drv_opaque;
    size_t fb = audio_frame_bytes(&s->out), room;

    pa_mainloop_iterate(p->ml, 0, NULL);
    if (pa_stream_get_state(p->out) != PA_STREAM_READY) {
        return 0;
    }
    room = pa_stream_writable_size(p->out);
    if (room == (size_t)-1) {
        return 0;
    }
    room = MIN(room / fb, n);
    if (room < n) {
        s->out_stats.underruns++;       /* the server is behind: drop */
    }
    if (room &&
        pa_stream_write(p->out, buf, room * fb, NULL, 0,
                        PA_SEEK_RELATIVE) < 0) {
        return 0;
    }
    return room;
}

static char *pa_describe(AudioState *s)
{
    PAState *p = s->drv_opaque;

    return p && p->server ? g_strdup(p->server) : NULL;
}

static void pa_fini(AudioState *s)
{
    if (s->drv_opaque) {
        pa_free_state(s->drv_opaque);
        s->drv_opaque = NULL;
    }
}

static const AudioDriver pa_driver = {
    .name = "pa",
    .init = pa_init,
    .write = pa_write,
    .describe = pa_describe,
    .fini = pa_fini,
};

static void __attribute__((constructor)) audio_pa_register(void)
{
    audio_driver_register(&pa_driver);
}
