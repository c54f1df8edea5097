/*
 * QMP for named dirty bitmaps: block-dirty-bitmap-add, -remove, -clear,
 * -enable, -disable, -merge, x-debug-block-dirty-bitmap-sha256, and the
 * same six as transaction actions.  Arguments, checks and error texts
 * are QEMU 7.2's (qapi/block-core.json, blockdev.c, block/monitor/
 * bitmap-qmp-cmds.c), compared live with qemu-system-x86_64 -qmp.
 *
 * In a transaction a bitmap action takes effect when it is prepared, so
 * later actions see it (add, then merge into the new bitmap), and is
 * undone if any action fails: add releases the bitmap, clear and merge
 * put the saved bits back, enable/disable restore the old state.
 * remove only marks the bitmap busy when prepared and drops it (from
 * the image too, for a persistent one) once every action committed.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "block/transaction.h"
#include "qapi/qapi-commands.h"

/* A node by device or node name (QEMU's bdrv_lookup_bs), NULL if none. */
static BlockDriverState *find_device_or_node(const char *name)
{
    BlockBackend *blk = blk_by_name(name);

    if (blk && blk_bs(blk)) {
        return blk_bs(blk);
    }
    return bdrv_find_node(name);
}

/* A bitmap by its node (a backend or node name) and name, QEMU's errors
 * ("Node 'X' not found", "Dirty bitmap 'X' not found"). */
BdrvDirtyBitmap *block_dirty_bitmap_lookup(const char *node, const char *name,
                                           GError **errp)
{
    BlockDriverState *bs = find_device_or_node(node);
    BdrvDirtyBitmap *bm;

    if (!bs) {
        error_setg(errp, "Node '%s' not found", node);
        return NULL;
    }
    bm = bdrv_find_dirty_bitmap(bs, name);
    if (!bm) {
        error_setg(errp, "Dirty bitmap '%s' not found", name);
    }
    return bm;
}

/* Where persistence is possible: the format says (qcow2 v3), with QEMU's
 * error for formats that cannot store bitmaps at all. */
static bool can_store_bitmap(BlockDriverState *bs, const char *name,
                             uint32_t granularity, GError **errp)
{
    if (!bs->drv->can_store_bitmap) {
        error_setg(errp, "Can't store persistent bitmaps to %s: %s",
                   bdrv_node_name(bs), g_strerror(ENOTSUP));
        return false;
    }
    if (!bs->drv->can_store_bitmap(bs, name, granularity, errp)) {
        g_prefix_error(errp, "Can't make bitmap '%s' persistent in '%s': ",
                       name, bdrv_node_name(bs));
        return false;
    }
    return true;
}

static BdrvDirtyBitmap *bitmap_add(const BlockDirtyBitmapAdd *a,
                                   GError **errp)
{
    BlockDriverState *bs;
    uint32_t granularity;
    BdrvDirtyBitmap *bm;

    if (!a->name[0]) {
        error_setg(errp, "Bitmap name cannot be empty");
        return NULL;
    }
    bs = find_device_or_node(a->node);
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   a->node, a->node);
        return NULL;
    }
    granularity = a->has_granularity ? a->granularity
                                     : bdrv_default_bitmap_granularity(bs);
    if (granularity < BDRV_BITMAP_MIN_GRANULARITY ||
        (granularity & (granularity - 1))) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return NULL;
    }
    if (a->has_persistent && a->persistent &&
        !can_store_bitmap(bs, a->name, granularity, errp)) {
        return NULL;
    }
    bm = bdrv_create_named_dirty_bitmap(bs, granularity, a->name, errp);
    if (!bm) {
        return NULL;
    }
    bdrv_dirty_bitmap_set_enabled(bm, !(a->has_disabled && a->disabled));
    bdrv_dirty_bitmap_set_persistent(bm, a->has_persistent && a->persistent);
    return bm;
}

/* Drop @bm, and its stored copy from the image when it is persistent. */
static bool bitmap_drop(BdrvDirtyBitmap *bm, GError **errp)
{
    BlockDriverState *bs = bdrv_dirty_bitmap_bs(bm);

    if (bdrv_dirty_bitmap_persistent(bm) && bs->drv->remove_bitmap &&
        !bs->drv->remove_bitmap(bs, bdrv_dirty_bitmap_name(bm), errp)) {
        return false;
    }
    bdrv_release_dirty_bitmap(bm);
    return true;
}

static BdrvDirtyBitmap *merge_source(const char *node,
                                     BlockDirtyBitmapOrStr *src,
                                     GError **errp)
{
    if (src->type == QTYPE_QSTRING) {
        BlockDriverState *bs = find_device_or_node(node);
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, src->u.local);

        if (!bm) {
            error_setg(errp, "Dirty bitmap '%s' not found", src->u.local);
        }
        return bm;
    }
    return block_dirty_bitmap_lookup(src->u.external->node, src->u.external->name, errp);
}

/* OR every source into the target, or change nothing; *@saved (when not
 * NULL) gets the target's old bits for an undo. */
static bool bitmap_merge(const BlockDirtyBitmapMerge *m,
                         unsigned long **saved, GError **errp)
{
    BdrvDirtyBitmap *dst = block_dirty_bitmap_lookup(m->node, m->target, errp);
    unsigned long *old;

    if (!dst || !bdrv_dirty_bitmap_check(dst, BDRV_BITMAP_DEFAULT, errp)) {
        return false;
    }
    old = bdrv_dirty_bitmap_save(dst);
    for (BlockDirtyBitmapOrStrList *l = m->bitmaps; l; l = l->next) {
        BdrvDirtyBitmap *src = merge_source(m->node, l->value, errp);

        if (!src ||
            !bdrv_dirty_bitmap_check(src, BDRV_BITMAP_INCONSISTENT, errp) ||
            !bdrv_merge_dirty_bitmap(dst, src, errp)) {
            bdrv_dirty_bitmap_restore(dst, old);
            return false;
        }
    }
    if (saved) {
        *saved = old;
    } else {
        g_free(old);
    }
    return true;
}

/* ---- commands ------------------------------------------------------------ */

void qmp_block_dirty_bitmap_add(const char *node, const char *name,
                                bool has_granularity, uint32_t granularity,
                                bool has_persistent, bool persistent,
                                bool has_disabled, bool disabled,
                                GError **errp)
{
    BlockDirtyBitmapAdd a = {
        .node = (char *)node, .name = (char *)name,
        .has_granularity = has_granularity, .granularity = granularity,
        .has_persistent = has_persistent, .persistent = persistent,
        .has_disabled = has_disabled, .disabled = disabled,
    };

    bitmap_add(&a, errp);
}

void qmp_block_dirty_bitmap_remove(const char *node, const char *name,
                                   GError **errp)
{
    BdrvDirtyBitmap *bm = block_dirty_bitmap_lookup(node, name, errp);

    if (bm && bdrv_dirty_bitmap_check(bm, BDRV_BITMAP_BUSY | BDRV_BITMAP_RO,
                                      errp)) {
        bitmap_drop(bm, errp);
    }
}

void qmp_block_dirty_bitmap_clear(const char *node, const char *name,
                                  GError **errp)
{
    BdrvDirtyBitmap *bm = block_dirty_bitmap_lookup(node, name, errp);

    if (bm && bdrv_dirty_bitmap_check(bm, BDRV_BITMAP_DEFAULT, errp)) {
        bdrv_clear_dirty_bitmap(bm);
    }
}

void qmp_block_dirty_bitmap_enable(const char *node, const char *name,
                                   GError **errp)
{
    BdrvDirtyBitmap *bm = block_dirty_bitmap_lookup(node, name, errp);

    if (bm && bdrv_dirty_bitmap_check(bm, BDRV_BITMAP_ALLOW_RO, errp)) {
        bdrv_dirty_bitmap_set_enabled(bm, true);
    }
}

void qmp_block_dirty_bitmap_disable(const char *node, const char *name,
                                    GError **errp)
{
    BdrvDirtyBitmap *bm = block_dirty_bitmap_lookup(node, name, errp);

    if (bm && bdrv_dirty_bitmap_check(bm, BDRV_BITMAP_ALLOW_RO, errp)) {
        bdrv_dirty_bitmap_set_enabled(bm, false);
    }
}

void qmp_block_dirty_bitmap_merge(const char *node, const char *target,
                                  BlockDirtyBitmapOrStrList *bitmaps,
                                  GError **errp)
{
    BlockDirtyBitmapMerge m = {
        .node = (char *)node, .target = (char *)target, .bitmaps = bitmaps,
    };

    bitmap_merge(&m, NULL, errp);
}

BlockDirtyBitmapSha256 *qmp_x_debug_block_dirty_bitmap_sha256(
    const char *node, const char *name, GError **errp)
{
    BdrvDirtyBitmap *bm = block_dirty_bitmap_lookup(node, name, errp);
    BlockDirtyBitmapSha256 *r;

    if (!bm) {
        return NULL;
    }
    r = g_new0(BlockDirtyBitmapSha256, 1);
    r->sha256 = bdrv_dirty_bitmap_sha256(bm);
    return r;
}

/* ---- transaction actions ------------------------------------------------ */

typedef struct BitmapTxn {
    TransactionActionKind kind;
    BdrvDirtyBitmap *bm;
    unsigned long *saved;           /* clear, merge: the old bits */
    bool was_enabled;               /* enable, disable */
} BitmapTxn;

static void bitmap_txn_abort(void *opaque)
{
    BitmapTxn *t = opaque;

    switch (t->kind) {
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_ADD:
        bdrv_release_dirty_bitmap(t->bm);
        break;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_REMOVE:
        bdrv_dirty_bitmap_set_busy(t->bm, false);
        break;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_CLEAR:
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_MERGE:
        bdrv_dirty_bitmap_restore(t->bm, t->saved);
        t->saved = NULL;
        break;
    default:
        bdrv_dirty_bitmap_set_enabled(t->bm, t->was_enabled);
        break;
    }
    t->bm = NULL;
}

/* remove: the image's copy goes now; a failure there leaves the bitmap
 * in memory (not busy) and in the image, as before. */
static void bitmap_txn_finish(void *opaque)
{
    BitmapTxn *t = opaque;

    if (t->kind == TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_REMOVE) {
        bdrv_dirty_bitmap_set_busy(t->bm, false);
        bitmap_drop(t->bm, NULL);
    }
}

static void bitmap_txn_free(void *opaque)
{
    BitmapTxn *t = opaque;

    g_free(t->saved);
    g_free(t);
}

static const BlockTxnActionOps bitmap_txn_ops = {
    .abort = bitmap_txn_abort,
    .finish = bitmap_txn_finish,
    .free = bitmap_txn_free,
};

static bool bitmap_txn_prepare_one(BitmapTxn *t, TransactionAction *act,
                                   GError **errp)
{
    BlockDirtyBitmap *d = NULL;

    switch (act->type) {
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_ADD:
        t->bm = bitmap_add(act->u.block_dirty_bitmap_add.data, errp);
        return t->bm;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_MERGE: {
        BlockDirtyBitmapMerge *m = act->u.block_dirty_bitmap_merge.data;

        if (!bitmap_merge(m, &t->saved, errp)) {
            return false;
        }
        t->bm = block_dirty_bitmap_lookup(m->node, m->target, errp);
        return true;
    }
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_REMOVE:
        d = act->u.block_dirty_bitmap_remove.data;
        break;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_CLEAR:
        d = act->u.block_dirty_bitmap_clear.data;
        break;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_ENABLE:
        d = act->u.block_dirty_bitmap_enable.data;
        break;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_DISABLE:
        d = act->u.block_dirty_bitmap_disable.data;
        break;
    default:
        g_assert_not_reached();
    }
    t->bm = block_dirty_bitmap_lookup(d->node, d->name, errp);
    if (!t->bm) {
        return false;
    }
    switch (act->type) {
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_REMOVE:
        if (!bdrv_dirty_bitmap_check(t->bm, BDRV_BITMAP_BUSY | BDRV_BITMAP_RO,
                                     errp)) {
            return false;
        }
        bdrv_dirty_bitmap_set_busy(t->bm, true);
        return true;
    case TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_CLEAR:
        if (!bdrv_dirty_bitmap_check(t->bm, BDRV_BITMAP_DEFAULT, errp)) {
            return false;
        }
        t->saved = bdrv_dirty_bitmap_save(t->bm);
        bdrv_clear_dirty_bitmap(t->bm);
        return true;
    default: {
        bool enable =
            act->type == TRANSACTION_ACTION_KIND_BLOCK_DIRTY_BITMAP_ENABLE;

        if (!bdrv_dirty_bitmap_check(t->bm, BDRV_BITMAP_ALLOW_RO, errp)) {
            return false;
        }
        t->was_enabled = bdrv_dirty_bitmap_enabled(t->bm);
        bdrv_dirty_bitmap_set_enabled(t->bm, enable);
        return true;
    }
    }
}

bool block_dirty_bitmap_txn_prepare(TransactionAction *act,
                                    GPtrArray *prepared, GError **errp)
{
    BitmapTxn *t = g_new0(BitmapTxn, 1);

    t->kind = act->type;
    if (!bitmap_txn_prepare_one(t, act, errp)) {
        bitmap_txn_free(t);
        return false;
    }
    block_txn_add(prepared, &bitmap_txn_ops, t);
    return true;
}
