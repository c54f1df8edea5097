/*
 * The main loop: a GLib main context that holds the big lock everywhere
 * except in poll(), so every source callback runs under the lock.
 *
 * GLib hands its poll function a timeout in whole milliseconds, which
 * would round every timer up to the next millisecond and cap periodic
 * device timers (RTC at 8192 Hz, HPET, PIT) near 1 kHz.  The poll
 * function therefore reads the earliest timer's deadline in nanoseconds
 * itself, just before it sleeps, and waits with ppoll() until exactly
 * then when that is sooner than what GLib asked for.
 *
 * An idle machine must cost the host nothing: the loop sleeps until the
 * next armed timer or file descriptor event and never wakes on a fixed
 * tick (no cap on the timeout), so whatever has no work arms no timer.
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
static __thread bool is_main_loop_thread;

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

bool bql_lock_if_unlocked(void)
{
    if (bql_locked()) {
        return false;
    }
    bql_lock();
    return true;
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

/*
 * The deadline is read here, not in the timer source's prepare, so that a
 * timer armed after prepare by this thread (another source's callback,
 * a nested iteration) is seen without a wake-up.
 */
static gint poll_without_bql(GPollFD *fds, guint nfds, gint timeout)
{
    int64_t next = timers_next_deadline_ns();
    int64_t now = monotonic_ns();
    int64_t ns = main_loop_poll_timeout_ns(timeout,
                                           next < 0 ? -1 : now + next, now);
    struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };
    gint ret;

    /* GPollFD has struct pollfd's layout on every Unix GLib supports. */
    G_STATIC_ASSERT(sizeof(GPollFD) == sizeof(struct pollfd));
    bql_unlock();
    ret = ppoll((struct pollfd *)fds, nfds, ns < 0 ? NULL : &ts, NULL);
    bql_lock();
    return ret;
}

/*
 * A source that runs the timers that are due.  It leaves the poll timeout
 * to the poll function (-1 here), which knows the deadline to the ns.
 */
static gboolean timer_source_prepare(GSource *src, gint *timeout)
{
    *timeout = -1;
    return timers_run_due() == 0;
}

static gboolean timer_source_check(GSource *src)
{
    return timers_next_deadline_ns() == 0;
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
    is_main_loop_thread = true;
    bql_lock();
}

void main_loop_wakeup(void)
{
    if (main_ctx) {
        g_main_context_wakeup(main_ctx);
    }
}

bool main_loop_is_current_thread(void)
{
    return is_main_loop_thread;
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
