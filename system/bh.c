/*
 * Bottom halves on GLib main contexts (include/system/bh.h).
 *
 * The source has no file descriptor and no ready time: prepare and check
 * report the scheduled flag, so GLib polls with a zero timeout and then
 * dispatches.  Only a schedule from a thread that does not own the
 * context has to wake it (g_main_context_wakeup).
 */
#include "qemu/osdep.h"
#include "system/bh.h"

/* The GSource itself: one allocation per bottom half. */
struct BH {
    GSource source;
    void (*cb)(void *opaque);
    void *opaque;
    int scheduled;                  /* atomic */
};

static gboolean bh_prepare(GSource *source, gint *timeout)
{
    BH *s = (BH *)source;

    *timeout = -1;
    return __atomic_load_n(&s->scheduled, __ATOMIC_ACQUIRE);
}

static gboolean bh_check(GSource *source)
{
    BH *s = (BH *)source;

    return __atomic_load_n(&s->scheduled, __ATOMIC_ACQUIRE);
}

static gboolean bh_dispatch(GSource *source, GSourceFunc unused,
                            gpointer data)
{
    BH *s = (BH *)source;

    (void)unused;
    (void)data;
    /* Cleared first: a schedule from the callback runs it again. */
    if (__atomic_exchange_n(&s->scheduled, 0, __ATOMIC_ACQ_REL)) {
        s->cb(s->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs bh_funcs = {
    .prepare = bh_prepare,
    .check = bh_check,
    .dispatch = bh_dispatch,
};

BH *bh_new(GMainContext *ctx, void (*cb)(void *opaque), void *opaque)
{
    BH *bh = (BH *)g_source_new(&bh_funcs, sizeof(BH));

    bh->cb = cb;
    bh->opaque = opaque;
    g_source_set_name(&bh->source, "bottom-half");
    g_source_attach(&bh->source, ctx);
    return bh;
}

void bh_schedule(BH *bh)
{
    GMainContext *ctx;

    if (__atomic_exchange_n(&bh->scheduled, 1, __ATOMIC_ACQ_REL)) {
        return;                     /* already due */
    }
    ctx = g_source_get_context(&bh->source);
    if (ctx && !g_main_context_is_owner(ctx)) {
        g_main_context_wakeup(ctx);
    }
}

void bh_free(BH *bh)
{
    if (bh) {
        g_source_destroy(&bh->source);
        g_source_unref(&bh->source);
    }
}
