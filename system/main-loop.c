/*
 * The main loop: a GLib main context that holds the big lock everywhere
 * except in poll(), so every source callback runs under the lock.
 */
#include "qemu/osdep.h"
#include "system/main-loop.h"
#include "system/timer.h"
#include "system/runstate.h"
#include "chardev/char.h"

static GMutex bql;
static __thread bool bql_held;
static GMainContext *main_ctx;
static GSource *timer_source;

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

static gint poll_without_bql(GPollFD *fds, guint nfds, gint timeout)
{
    gint ret;

    bql_unlock();
    ret = g_poll(fds, nfds, timeout);
    bql_lock();
    return ret;
}

/* A source that is ready when the earliest timer is due. */
static gboolean timer_source_prepare(GSource *src, gint *timeout)
{
    int64_t next = timers_run_due();

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
