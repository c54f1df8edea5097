/*
 * The audio timer's playback backlog (audio/audio.c): a back end that
 * takes fewer frames than a tick offers gets the rest first on the next
 * tick, so what it plays is the device's stream without a frame lost or
 * repeated; the backlog stays within the mix buffer, and while it is
 * full the voice keeps its data (the device's DMA waits) and the tick
 * counts an underrun.  Issue 16: through PulseAudio, whose server asks
 * for sound in chunks that do not match the ticks, frames were dropped.
 *
 * A fake back end ("slow") records what it takes, at most a budget a
 * call; a fake device feeds the voice a ramp of distinct samples
 * (mono s16 at the back end's rate: the mixer copies them exactly), on
 * the manual virtual clock.
 */
#include "qemu/osdep.h"
#include "audio/audio.h"
#include "system/timer.h"

#define RATE            48000
#define PERIOD_NS       10000000        /* the default timer-period */
#define UNLIMITED       SIZE_MAX

/* The fake back end: takes up to @budget frames a call, records them. */
static struct {
    size_t budget;
    int16_t *taken;
    size_t ntaken, cap;
} slow;

static bool slow_init(AudioState *s, GHashTable *props, GError **errp)
{
    return true;
}

static size_t slow_write(AudioState *s, const void *buf, size_t n)
{
    size_t k = MIN(n, slow.budget);

    g_assert_cmpuint(slow.ntaken + k, <=, slow.cap);
    memcpy(slow.taken + slow.ntaken, buf, k * sizeof(int16_t));
    slow.ntaken += k;
    return k;
}

static const AudioDriver slow_driver = {
    .name = "slow",
    .init = slow_init,
    .write = slow_write,
};

/* The fake device: a ramp of @total frames, then the drain. */
typedef struct Feeder {
    SWVoiceOut *sw;
    size_t next, total;
} Feeder;

static int16_t ramp(size_t i)
{
    return (int16_t)((int)(i % 20000) - 10000);
}

static void feeder_cb(void *opaque, int avail)
{
    Feeder *f = opaque;
    int16_t buf[256];

    while (avail >= 2 && f->next < f->total) {
        size_t n = MIN(MIN((size_t)avail / 2, G_N_ELEMENTS(buf)),
                       f->total - f->next);

        for (size_t i = 0; i < n; i++) {
            buf[i] = ramp(f->next + i);
        }
        n = AUD_write(f->sw, buf, n * 2) / 2;
        if (!n) {
            break;
        }
        f->next += n;
        avail -= n * 2;
    }
    if (f->next == f->total) {
        AUD_drain_out(f->sw);       /* out of buffers: play what it holds */
    }
}

static AudioState *audiodev_new(const char *id)
{
    g_autofree char *spec = g_strdup_printf(
        "slow,id=%s,out.frequency=%d,out.channels=1,out.format=s16", id,
        RATE);
    GError *err = NULL;

    g_assert_true(audio_init_audiodev(spec, &err));
    g_assert_no_error(err);
    return audio_state_by_name(id);
}

/* Start @f's voice on @s: @total frames of the ramp. */
static void feeder_start(Feeder *f, AudioState *s, size_t total)
{
    AudioSettings as = { RATE, 1, AUDIO_FORMAT_S16 };

    f->next = 0;
    f->total = total;
    f->sw = AUD_open_out(s, NULL, "ramp", f, feeder_cb, &as);
    g_assert_nonnull(f->sw);
    /* the tick the voice runs dry in ends with silence */
    slow.cap = total + s->mixbuf_frames;
    slow.taken = g_new0(int16_t, slow.cap);
    slow.ntaken = 0;
    AUD_set_active_out(f->sw, true);
}

static int64_t now_ns(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

/* Run @ticks timer periods; the backlog must stay within its bound. */
static void run_ticks(AudioState *s, unsigned ticks)
{
    for (unsigned i = 0; i < ticks; i++) {
        qemu_clock_virtual_advance_to(now_ns() + PERIOD_NS);
        g_assert_cmpuint(s->out_pending, <=, s->mixbuf_frames);
    }
}

/* Everything fed was taken, in order, once, then at most a tick of
 * silence (the rest of the tick the voice ran dry in); the timer
 * stopped. */
static void assert_whole_ramp(AudioState *s, Feeder *f)
{
    g_assert_cmpuint(f->next, ==, f->total);
    g_assert_cmpuint(slow.ntaken, >=, f->total);
    g_assert_cmpuint(slow.ntaken, <, f->total + RATE / 100);
    for (size_t i = 0; i < slow.ntaken; i++) {
        int16_t want = i < f->total ? ramp(i) : 0;

        if (slow.taken[i] != want) {
            g_error("frame %zu: %d, not %d", i, slow.taken[i], want);
        }
    }
    g_assert_cmpuint(s->out_pending, ==, 0);
    g_assert_cmpuint(s->out_stats.frames, ==, slow.ntaken);
    g_assert_false(timer_pending(s->timer));
}

static void feeder_finish(AudioState *s, Feeder *f)
{
    AUD_close_out(s, f->sw);
    g_free(slow.taken);
    slow.taken = NULL;
}

/* A server that asks for less than a tick (300 of 480 frames) for a
 * while: the rest waits, nothing is lost, the stream catches up. */
static void test_short_writes_keep_the_rest(void)
{
    AudioState *s = audiodev_new("short");
    Feeder f;

    feeder_start(&f, s, RATE / 2);
    slow.budget = 300;
    run_ticks(s, 20);
    g_assert_cmpuint(s->out_pending, >, 0);
    g_assert_cmpuint(s->out_stats.underruns, ==, 0);
    slow.budget = UNLIMITED;
    run_ticks(s, 60);
    assert_whole_ramp(s, &f);
    g_assert_cmpuint(s->out_stats.underruns, ==, 0);
    feeder_finish(s, &f);
}

/* A server that takes nothing for 0.4 s: the backlog fills to the mix
 * buffer and stops there (underruns counted), the voice keeps the rest,
 * and when the server takes again every frame arrives, in order. */
static void test_backlog_is_bounded(void)
{
    AudioState *s = audiodev_new("stalled");
    Feeder f;

    feeder_start(&f, s, RATE / 2);
    slow.budget = 0;
    run_ticks(s, 40);
    g_assert_cmpuint(s->out_pending, ==, s->mixbuf_frames);
    g_assert_cmpuint(s->out_stats.underruns, >, 0);
    /* the device was not asked for more than the voice could hold */
    g_assert_cmpuint(f.next, <, s->mixbuf_frames + RATE / 10);
    slow.budget = UNLIMITED;
    run_ticks(s, 80);
    assert_whole_ramp(s, &f);
    feeder_finish(s, &f);
}

/* A server that asks for two ticks' worth every other tick (its
 * requests do not line up with the ticks): no tick is dropped, and the
 * backlog never holds more than a tick, so nothing underruns. */
static void test_every_other_tick(void)
{
    AudioState *s = audiodev_new("alternate");
    Feeder f;

    feeder_start(&f, s, RATE / 2);
    for (unsigned i = 0; i < 80; i++) {
        slow.budget = i % 2 ? 2 * RATE / 100 : 0;
        run_ticks(s, 1);
        g_assert_cmpuint(s->out_pending, <=, RATE / 100);
    }
    assert_whole_ramp(s, &f);
    g_assert_cmpuint(s->out_stats.underruns, ==, 0);
    feeder_finish(s, &f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_clock_virtual_set_manual();
    audio_driver_register(&slow_driver);
    g_test_add_func("/audio/backlog/short-writes-keep-the-rest",
                    test_short_writes_keep_the_rest);
    g_test_add_func("/audio/backlog/bounded", test_backlog_is_bounded);
    g_test_add_func("/audio/backlog/every-other-tick", test_every_other_tick);
    return g_test_run();
}
