/*
 * The main loop: a GLib main context that holds the big lock everywhere
 * except in poll(), so every source callback runs under the lock.
 *
 * GLib hands its poll function a timeout in whole milliseconds, which
 * would round every timer up to the next millisecond and cap periodic
 * device timers (RTC at 8192 Hz, HPET, PIT) near 1 kHz.  The timer source
 * therefore records the earliest timer's deadline in nanoseconds, and the
 * poll function waits with ppoll() until exactly then when that is sooner
 * than what GLib asked for.
 */
#include "qemu/osdep.h"
#include <poll.h>
#include "system/main-loop.h"
#include "system/timer.h"
#include "system/runstate.h"
#include "chardev/char.h"

static GMutex bql;
static __thread bool bql_held;
static GMainContext *main_ctx;
static GSource *timer_source;
/* CLOCK_MONOTONIC ns of the earliest timer, or -1; set in prepare. */
static int64_t timer_deadline_ns = -1;

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void bql_lock(void)
{
    g_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    bql_held = false;
    g_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}

int64_t main_loop_poll_timeout_ns(gint timeout_ms, int64_t deadline_ns,
                                  int64_t now_ns)
{
    int64_t t = timeout_ms < 0 ? -1 : timeout_ms * 1000000LL;

    if (deadline_ns >= 0) {
        int64_t until = MAX(0, deadline_ns - now_ns);
        t = t < 0 ? until : MIN(t, until);
    }
    return t;
}

static gint poll_without_bql(GPollFD *fds, guint nfds, gint timeout)
{
    int64_t ns = main_loop_poll_timeout_ns(timeout, timer_deadline_ns,
                                           monotonic_ns());
    struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };
    gint ret;

    /* GPollFD has struct pollfd's layout on every Unix GLib supports. */
    G_STATIC_ASSERT(sizeof(GPollFD) == sizeof(struct pollfd));
    bql_unlock();
    ret = ppoll((struct pollfd *)fds, nfds, ns < 0 ? NULL : &ts, NULL);
    bql_lock();
    return ret;
}

/* A source that is ready when the earliest timer is due. */
static gboolean timer_source_prepare(GSource *src, gint *timeout)
{
    int64_t next = timers_run_due();

    timer_deadline_ns = next < 0 ? -1 : monotonic_ns() + next;
    *timeout = next < 0 ? -1 : (gint)MIN((next + 999999) / 1000000, 1000);
    return next == 0;
}

static gboolean timer_source_check(GSource *src)
{
    return FALSE;
}

static gboolean timer_source_dispatch(GSource *src, GSourceFunc cb,
                                      gpointer data)
{
    timers_run_due();
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
    .prepare = timer_source_prepare,
    .check = timer_source_check,
    .dispatch = timer_source_dispatch,
};

void main_loop_init(void)
{
    if (main_ctx) {
        return;
    }
    main_ctx = g_main_context_default();
    g_main_context_set_poll_func(main_ctx, poll_without_bql);
    timer_source = g_source_new(&timer_source_funcs, sizeof(GSource));
    g_source_attach(timer_source, main_ctx);
    bql_lock();
}

void main_loop_wakeup(void)
{
    if (main_ctx) {
        g_main_context_wakeup(main_ctx);
    }
}

typedef struct MainLoopCall {
    void (*fn)(void *opaque);
    void *opaque;
} MainLoopCall;

static gboolean main_loop_call_dispatch(gpointer data)
{
    MainLoopCall *c = data;

    c->fn(c->opaque);
    g_free(c);
    return G_SOURCE_REMOVE;
}

void main_loop_call(void (*fn)(void *opaque), void *opaque)
{
    MainLoopCall *c = g_new(MainLoopCall, 1);
    GSource *src = g_idle_source_new();

    c->fn = fn;
    c->opaque = opaque;
    g_source_set_priority(src, G_PRIORITY_HIGH);
    g_source_set_callback(src, main_loop_call_dispatch, c, NULL);
    g_source_attach(src, main_ctx ? main_ctx : g_main_context_default());
    g_source_unref(src);
    main_loop_wakeup();
}

int main_loop_run(void)
{
    int status = 0;

    while (!main_loop_should_exit(&status)) {
        g_main_context_iteration(main_ctx, TRUE);
    }
    return status;
}
