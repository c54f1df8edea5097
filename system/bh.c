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

typedef struct BHSource {
    GSource source;
    void (*cb)(void *opaque);
    void *opaque;
    int scheduled;                  /* atomic */
} BHSource;

struct BH {
    BHSource *src;
};

static gboolean bh_prepare(GSource *source, gint *timeout)
{
    BHSource *s = (BHSource *)source;

    *timeout = -1;
    return __atomic_load_n(&s->scheduled, __ATOMIC_ACQUIRE);
}

static gboolean bh_check(GSource *source)
{
    BHSource *s = (BHSource *)source;

    return __atomic_load_n(&s->scheduled, __ATOMIC_ACQUIRE);
}

static gboolean bh_dispatch(GSource *source, GSourceFunc unused,
                            gpointer data)
{
    BHSource *s = (BHSource *)source;

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
    BH *bh = g_new0(BH, 1);

    bh->src = (BHSource *)g_source_new(&bh_funcs, sizeof(BHSource));
    bh->src->cb = cb;
    bh->src->opaque = opaque;
    g_source_set_name(&bh->src->source, "bottom-half");
    g_source_attach(&bh->src->source, ctx);
    return bh;
}

void bh_schedule(BH *bh)
{
    GMainContext *ctx;

    if (__atomic_exchange_n(&bh->src->scheduled, 1, __ATOMIC_ACQ_REL)) {
        return;                     /* already due */
    }
    ctx = g_source_get_context(&bh->src->source);
    if (ctx && !g_main_context_is_owner(ctx)) {
        g_main_context_wakeup(ctx);
    }
}

void bh_cancel(BH *bh)
{
    __atomic_store_n(&bh->src->scheduled, 0, __ATOMIC_RELEASE);
}

void bh_free(BH *bh)
{
    if (!bh) {
        return;
    }
    g_source_destroy(&bh->src->source);
    g_source_unref(&bh->src->source);
    g_free(bh);
}
