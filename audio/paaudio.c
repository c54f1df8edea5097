/*
 * The "pa" audio back end (libpulse): -audiodev pa,id=ID[,server=ADDR]
 * [,out.name=SINK][,in.name=SOURCE][,{in,out}.stream-name=NAME]
 * [,{in,out}.latency=US].
 *
 * A private libpulse main loop is run without blocking from the audio
 * timer, so no thread and no lock are needed.  Start-up connects to the
 * server and opens a playback stream, waiting up to two seconds, so a
 * missing server is a clear start-up error, as with QEMU.  Each tick
 * dispatches everything the server sent and writes at most what the
 * playback stream has room for (pa_stream_writable_size); the audio
 * layer keeps the rest and offers it first on the next tick.  When
 * sound stops the
 * server is told to play the tail it holds, and at exit kvmpc waits
 * (two seconds at most) until it has.
 *
 * Recording uses a record stream opened when the first capture voice
 * starts (as alsa and sdl do) and closed when capture stops.  Its
 * connection completes over the following ticks, so starting capture
 * never blocks the main loop; a stream that fails (no such source, the
 * server gone) is reported in one line and capture is silence.  The
 * server sends a fragment every timer period; a tick takes what has
 * arrived (the rest of the tick is silence) and, when more than the
 * input latency is queued (the VM was stopped or fell behind), drops
 * the oldest and counts an overrun.
 *
 * Latency: *.latency microseconds, four timer periods by default; for
 * playback the server's target length, for recording the most that is
 * kept queued.  The stream names default to the audiodev's id (QEMU's).
 */
#include "qemu/osdep.h"
#include <pulse/pulseaudio.h>
#include "audio/audio.h"

#define PA_CONNECT_TIMEOUT_US   2000000
#define PA_MAX_LATENCY_US       10000000
#define PA_DISPATCH_MAX         64

/* What -audiodev pa says about one direction. */
typedef struct PADirOpts {
    char *dev;                  /* *.name: the sink / source; NULL: default */
    char *stream_name;          /* *.stream-name */
    uint32_t latency_us;        /* *.latency */
} PADirOpts;

typedef struct PAState {
    char *server;
    PADirOpts out_opts, in_opts;
    pa_mainloop *ml;
    pa_context *ctx;
    pa_stream *out;
    bool out_failed;            /* said once that playback stopped */
    pa_operation *drain;        /* at exit */

    /* recording: the fragment pa_stream_peek lent, read up to frag_off */
    pa_stream *in;
    const uint8_t *frag;        /* NULL with frag_len > 0: a hole */
    size_t frag_len, frag_off;
    size_t in_prime;            /* bytes queued before the first read */
    size_t in_bound;            /* more queued than this is an overrun */
    bool in_primed;
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

static bool pa_spec(const char *dir, const AudioSettings *as,
                    pa_sample_spec *spec, GError **errp)
{
    if (!pa_sample_format(as->fmt, &spec->format)) {
        error_setg(errp, "pa: %s.format=%s is not a PulseAudio format "
                   "(u8, s16, s32, f32)", dir, audio_format_name(as->fmt));
        return false;
    }
    spec->rate = as->freq;
    spec->channels = as->nchannels;
    return true;
}

/*
 * Dispatch what the server sent, without blocking.  One iteration reads
 * at most one packet from the socket, and a tick may find several (the
 * server's write requests, record fragments), so iterate until nothing
 * is left, within a bound so a flood cannot hold the main loop.
 */
static void pa_dispatch(PAState *p)
{
    for (int i = 0; i < PA_DISPATCH_MAX; i++) {
        if (pa_mainloop_iterate(p->ml, 0, NULL) <= 0) {
            break;
        }
    }
}

/* Run the loop without blocking until @done says so, or time runs out. */
static bool pa_wait(PAState *p, bool (*done)(PAState *p, bool *ok))
{
    bool ok = false;

    for (int64_t waited = 0; waited < PA_CONNECT_TIMEOUT_US; waited += 1000) {
        pa_dispatch(p);
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

/* ---- options ----------------------------------------------------------- */

static char *take_str(GHashTable *props, const char *key)
{
    char *v = g_strdup(g_hash_table_lookup(props, key));

    g_hash_table_remove(props, key);
    return v;
}

static bool take_dir_opts(AudioState *s, GHashTable *props, const char *dir,
                          PADirOpts *o, GError **errp)
{
    g_autofree char *name = g_strdup_printf("%s.name", dir);
    g_autofree char *sname = g_strdup_printf("%s.stream-name", dir);
    g_autofree char *lat = g_strdup_printf("%s.latency", dir);
    g_autofree char *lat_v = take_str(props, lat);
    uint64_t us = (uint64_t)s->timer_period_us * 4;

    o->dev = take_str(props, name);
    o->stream_name = take_str(props, sname);
    if (!o->stream_name) {
        o->stream_name = g_strdup(s->id);
    }
    if (lat_v && (!parse_uint(lat_v, &us, NULL) || !us ||
                  us > PA_MAX_LATENCY_US)) {
        error_setg(errp, "pa: %s=%s is not a latency in microseconds "
                   "(1 to %u)", lat, lat_v, PA_MAX_LATENCY_US);
        return false;
    }
    o->latency_us = us;
    return true;
}

static void free_dir_opts(PADirOpts *o)
{
    g_free(o->dev);
    g_free(o->stream_name);
}

/* ---- recording --------------------------------------------------------- */

static void pa_forget_fragment(PAState *p)
{
    p->frag = NULL;
    p->frag_len = p->frag_off = 0;
}

static void pa_close_record(PAState *p)
{
    if (!p->in) {
        return;
    }
    if (p->frag_len) {
        pa_stream_drop(p->in);
    }
    pa_forget_fragment(p);
    pa_stream_disconnect(p->in);
    pa_stream_unref(p->in);
    p->in = NULL;
}

/* Say why in one line; capture is silence until it is started again. */
static void pa_record_failed(PAState *p)
{
    error_report("pa: cannot record from %s: %s",
                 p->in_opts.dev ? p->in_opts.dev : "the default source",
                 pa_strerror(pa_context_errno(p->ctx)));
    pa_close_record(p);
}

/* Start connecting a record stream; it becomes ready over later ticks. */
static void pa_open_record(AudioState *s, PAState *p)
{
    pa_sample_spec spec;
    pa_buffer_attr attr;
    size_t period;

    /* the format was checked at start-up */
    pa_spec("in", &s->in, &spec, NULL);
    period = pa_usec_to_bytes(s->timer_period_us, &spec);
    p->in_prime = 2 * period;
    p->in_bound = MAX(pa_usec_to_bytes(p->in_opts.latency_us, &spec),
                      3 * period);
    p->in_primed = false;
    /* a fragment each timer period, so every tick finds data */
    attr.fragsize = period;
    attr.maxlength = (uint32_t)-1;
    attr.tlength = attr.prebuf = attr.minreq = (uint32_t)-1;
    p->in = pa_stream_new(p->ctx, p->in_opts.stream_name, &spec, NULL);
    if (!p->in ||
        pa_stream_connect_record(p->in, p->in_opts.dev, &attr,
                                 PA_STREAM_ADJUST_LATENCY) < 0) {
        pa_record_failed(p);
    }
}

/* Whether the record stream delivers; a failed one is reported and closed. */
static bool pa_record_ready(PAState *p)
{
    pa_stream_state_t st;

    if (!p->in) {
        return false;
    }
    st = pa_stream_get_state(p->in);
    if (st == PA_STREAM_READY) {
        return true;
    }
    if (!PA_STREAM_IS_GOOD(st)) {
        pa_record_failed(p);
    }
    return false;
}

/* Bytes queued that have not been read (the lent fragment's rest too). */
static size_t pa_queued(PAState *p)
{
    size_t n = pa_stream_readable_size(p->in);

    return n == (size_t)-1 || n < p->frag_off ? 0 : n - p->frag_off;
}

/* Borrow the next fragment; false when none has arrived. */
static bool pa_next_fragment(PAState *p)
{
    const void *data;
    size_t len;

    if (p->frag_len) {
        return true;
    }
    if (pa_stream_peek(p->in, &data, &len) < 0 || !len) {
        return false;
    }
    p->frag = data;
    p->frag_len = len;
    p->frag_off = 0;
    return true;
}

static void pa_drop_fragment(PAState *p)
{
    pa_stream_drop(p->in);
    pa_forget_fragment(p);
}

/* Copy @want bytes (or what is queued) to @dst; returns the bytes. */
static size_t pa_take(PAState *p, uint8_t *dst, size_t want)
{
    size_t done = 0;

    while (done < want && pa_next_fragment(p)) {
        size_t k = MIN(want - done, p->frag_len - p->frag_off);

        if (p->frag) {
            memcpy(dst + done, p->frag + p->frag_off, k);
        } else {
            memset(dst + done, 0, k);   /* a hole in the stream */
        }
        done += k;
        p->frag_off += k;
        if (p->frag_off == p->frag_len) {
            pa_drop_fragment(p);
        }
    }
    return done;
}

/* Keep what is queued within the input latency: the oldest goes. */
static void pa_trim(AudioState *s, PAState *p)
{
    bool dropped = false;

    while (pa_queued(p) > p->in_bound && pa_next_fragment(p)) {
        pa_drop_fragment(p);
        dropped = true;
    }
    if (dropped) {
        s->in_stats.overruns++;
    }
}

static size_t pa_read(AudioState *s, void *buf, size_t n)
{
    PAState *p = s->drv_opaque;
    size_t fb = audio_frame_bytes(&s->in), want;

    pa_dispatch(p);
    if (!pa_record_ready(p)) {
        return 0;
    }
    if (!p->in_primed) {
        /* wait for two periods, so the server's jitter is not a gap */
        if (pa_queued(p) < p->in_prime) {
            return 0;
        }
        p->in_primed = true;
    }
    want = MIN(n * fb, pa_queued(p) / fb * fb);
    want = pa_take(p, buf, want);
    pa_trim(s, p);
    return want / fb;
}

static void pa_enable_in(AudioState *s, bool on)
{
    PAState *p = s->drv_opaque;

    if (on && !p->in) {
        pa_open_record(s, p);
    } else if (!on) {
        pa_close_record(p);
    }
}

/* ---- playback ---------------------------------------------------------- */

static bool pa_open_playback(AudioState *s, PAState *p, GError **errp)
{
    pa_sample_spec spec;
    pa_buffer_attr attr;

    if (!pa_spec("out", &s->out, &spec, errp)) {
        return false;
    }
    p->out = pa_stream_new(p->ctx, p->out_opts.stream_name, &spec, NULL);
    attr.maxlength = (uint32_t)-1;
    attr.tlength = pa_usec_to_bytes(p->out_opts.latency_us, &spec);
    attr.prebuf = (uint32_t)-1;
    attr.minreq = (uint32_t)-1;
    attr.fragsize = (uint32_t)-1;
    if (!p->out ||
        pa_stream_connect_playback(p->out, p->out_opts.dev, &attr,
                                   PA_STREAM_ADJUST_LATENCY, NULL,
                                   NULL) < 0 ||
        !pa_wait(p, stream_settled)) {
        error_setg(errp, "pa: cannot open a playback stream on %s: %s",
                   p->out_opts.dev ? p->out_opts.dev : "the default sink",
                   pa_strerror(pa_context_errno(p->ctx)));
        return false;
    }
    return true;
}

/* Whether playback works; a stream that failed is reported once. */
static bool pa_playback_ready(PAState *p)
{
    pa_stream_state_t st = pa_stream_get_state(p->out);

    if (st == PA_STREAM_READY) {
        return true;
    }
    if (!PA_STREAM_IS_GOOD(st) && !p->out_failed) {
        p->out_failed = true;
        error_report("pa: playback stopped: %s",
                     pa_strerror(pa_context_errno(p->ctx)));
    }
    return false;
}

/*
 * Write what the server asked for (it asks as it plays; a server that
 * fell behind asks for less than a tick, and the audio layer keeps the
 * rest).  A stream that failed plays nothing: its sound is discarded,
 * so the guest's DMA does not wait for a server that went away.
 */
static size_t pa_write(AudioState *s, const void *buf, size_t n)
{
    PAState *p = s->drv_opaque;
    size_t fb = audio_frame_bytes(&s->out), room;

    pa_dispatch(p);
    if (!pa_playback_ready(p)) {
        return n;
    }
    room = pa_stream_writable_size(p->out);
    if (room == (size_t)-1) {
        return n;
    }
    room = MIN(room / fb, n);
    if (room &&
        pa_stream_write(p->out, buf, room * fb, NULL, 0,
                        PA_SEEK_RELATIVE) < 0) {
        return n;
    }
    return room;
}

static void pa_enable_out(AudioState *s, bool on)
{
    PAState *p = s->drv_opaque;
    pa_operation *op;

    if (on || !pa_playback_ready(p)) {
        return;
    }
    /*
     * Nothing more is coming: the server would hold a tail shorter than
     * its prebuffer forever, so start it now, and send the request at
     * once (the loop is not run again until sound resumes).
     */
    op = pa_stream_trigger(p->out, NULL, NULL);
    if (op) {
        pa_operation_unref(op);
    }
    pa_dispatch(p);
}

/* ---- life cycle -------------------------------------------------------- */

static void pa_free_state(PAState *p)
{
    pa_close_record(p);
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
    free_dir_opts(&p->out_opts);
    free_dir_opts(&p->in_opts);
    g_free(p->server);
    g_free(p);
}

static bool pa_connect(PAState *p, GError **errp)
{
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
        return false;
    }
    return true;
}

static bool pa_init(AudioState *s, GHashTable *props, GError **errp)
{
    PAState *p = g_new0(PAState, 1);
    pa_sample_spec spec;

    p->server = take_str(props, "server");
    if (!take_dir_opts(s, props, "out", &p->out_opts, errp) ||
        !take_dir_opts(s, props, "in", &p->in_opts, errp) ||
        !pa_spec("out", &s->out, &spec, errp) ||
        /* refused now rather than when a guest starts recording */
        !pa_spec("in", &s->in, &spec, errp) ||
        !pa_connect(p, errp) ||
        !pa_open_playback(s, p, errp)) {
        pa_free_state(p);
        return false;
    }
    s->drv_opaque = p;
    return true;
}

static char *pa_describe(AudioState *s)
{
    PAState *p = s->drv_opaque;

    return p && p->server ? g_strdup(p->server) : NULL;
}

static bool drain_settled(PAState *p, bool *ok)
{
    *ok = pa_operation_get_state(p->drain) != PA_OPERATION_RUNNING;
    return *ok || !PA_STREAM_IS_GOOD(pa_stream_get_state(p->out));
}

/*
 * At exit the server still holds up to a latency of sound: let it play
 * (a guest that beeps and powers off is heard), within the start-up
 * bound, rather than cutting it off when the connection closes.
 */
static void pa_drain_playback(PAState *p)
{
    if (!p->out || pa_stream_get_state(p->out) != PA_STREAM_READY) {
        return;
    }
    p->drain = pa_stream_drain(p->out, NULL, NULL);
    if (p->drain) {
        pa_wait(p, drain_settled);
        pa_operation_unref(p->drain);
        p->drain = NULL;
    }
}

static void pa_fini(AudioState *s)
{
    if (s->drv_opaque) {
        pa_drain_playback(s->drv_opaque);
        pa_free_state(s->drv_opaque);
        s->drv_opaque = NULL;
    }
}

static const AudioDriver pa_driver = {
    .name = "pa",
    .init = pa_init,
    .write = pa_write,
    .read = pa_read,
    .enable_out = pa_enable_out,
    .enable_in = pa_enable_in,
    .describe = pa_describe,
    .fini = pa_fini,
};

static void __attribute__((constructor)) audio_pa_register(void)
{
    audio_driver_register(&pa_driver);
}
