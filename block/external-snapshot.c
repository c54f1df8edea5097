/*
 * External snapshots: QMP blockdev-snapshot, blockdev-snapshot-sync and
 * transaction (QEMU 7.2's names, checks and wording).  An overlay (a
 * qcow2 node with no backing node, used by nobody) is put on top of a
 * node: the node becomes the overlay's backing node, every device that
 * used the node uses the overlay, and the old node turns read-only.
 *
 * A transaction is all or nothing: every action is prepared (checked;
 * the sync form creates and opens its overlay) before any changes the
 * graph; when one fails, the prepared ones are aborted (their overlays
 * closed) and nothing changed.  See docs/block.md, "External snapshots".
 * The transaction runs any action through BlockTxnActionOps
 * (block/transaction.h): the dirty bitmap ones come from
 * block/dirty-bitmap-qmp.c.
 */
#include "qemu/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/block-int.h"
#include "block/transaction.h"
#include "qapi/qapi-commands.h"

typedef struct SnapshotAction {
    BlockDriverState *old_bs;       /* referenced */
    BlockDriverState *new_bs;       /* referenced */
    GPtrArray *moved;               /* BlockBackend * switched to new_bs */
    bool committed;
} SnapshotAction;

/* A backend's medium or a node, by QEMU's device-or-node lookup. */
static BlockDriverState *lookup_device_or_node(const char *device,
                                               const char *node,
                                               GError **errp)
{
    BlockBackend *blk = device ? blk_by_name(device) : NULL;
    BlockDriverState *bs;

    if (blk) {
        bs = blk_bs(blk);
        if (!bs) {
            error_setg(errp, "Device '%s' has no medium", device);
        }
        return bs;
    }
    bs = node ? bdrv_find_node(node) : NULL;
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device ? device : "", node ? node : "");
    }
    return bs;
}

/* Is @bs attached anywhere: a backend's root, or a child of a node? */
static bool node_has_users(BlockDriverState *bs)
{
    GPtrArray *blks = blk_list();
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < blks->len; i++) {
        if (blk_bs(g_ptr_array_index(blks, i)) == bs) {
            return true;
        }
    }
    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *p = g_ptr_array_index(nodes, i);

        if (bdrv_file(p) == bs || bdrv_backing(p) == bs) {
            return true;
        }
    }
    return false;
}

static const BlockTxnActionOps snapshot_txn_ops;

static bool overlay_taken(GPtrArray *prepared, BlockDriverState *bs)
{
    for (unsigned i = 0; i < prepared->len; i++) {
        BlockTxnAction *t = g_ptr_array_index(prepared, i);
        SnapshotAction *a = t->opaque;

        if (t->ops != &snapshot_txn_ops) {
            continue;
        }
        if (a->new_bs == bs || a->old_bs == bs) {
            return true;
        }
    }
    return false;
}

/* QEMU's checks of external_snapshot_prepare; then the old top's cached
 * writes reach its image, so the overlay starts from what it holds. */
static bool check_snapshot_pair(BlockDriverState *old_bs,
                                BlockDriverState *new_bs,
                                GPtrArray *prepared, GError **errp)
{
    if (!block_job_check_busy(old_bs, errp)) {
        return false;
    }
    if (node_has_users(new_bs) || overlay_taken(prepared, new_bs) ||
        new_bs == old_bs) {
        error_setg(errp, "The overlay is already in use");
        return false;
    }
    if (bdrv_backing(new_bs)) {
        error_setg(errp, "The overlay already has a backing image");
        return false;
    }
    if (strcmp(bdrv_format_name(new_bs), "qcow2")) {
        error_setg(errp, "The overlay does not support backing images");
        return false;
    }
    if (bdrv_is_read_only(new_bs)) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    if (overlay_taken(prepared, old_bs)) {
        error_setg(errp, "Node '%s' is already in this transaction",
                   bdrv_node_name(old_bs));
        return false;
    }
    return bdrv_is_read_only(old_bs) || bdrv_flush(old_bs, errp);
}

static SnapshotAction *action_new(BlockDriverState *old_bs,
                                  BlockDriverState *new_bs)
{
    SnapshotAction *a = g_new0(SnapshotAction, 1);

    a->old_bs = old_bs;
    a->new_bs = new_bs;
    a->moved = g_ptr_array_new();
    bdrv_ref(old_bs);
    bdrv_ref(new_bs);
    return a;
}

static void action_free(void *p)
{
    SnapshotAction *a = p;

    bdrv_unref(a->new_bs);
    bdrv_unref(a->old_bs);
    g_ptr_array_unref(a->moved);
    g_free(a);
}

static SnapshotAction *prepare_blockdev_snapshot(const char *node,
                                                 const char *overlay,
                                                 GPtrArray *prepared,
                                                 GError **errp)
{
    BlockDriverState *old_bs = lookup_device_or_node(node, node, errp);
    BlockDriverState *new_bs;

    if (!old_bs) {
        return NULL;
    }
    new_bs = bdrv_find_node(overlay);
    if (!new_bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   overlay, overlay);
        return NULL;
    }
    if (!check_snapshot_pair(old_bs, new_bs, prepared, errp)) {
        return NULL;
    }
    return action_new(old_bs, new_bs);
}

/* blockdev-snapshot-sync's overlay: created (or, mode existing, opened)
 * without its backing chain, which is the node it goes on. */
static BlockDriverState *open_sync_overlay(BlockDriverState *old_bs,
                                           const BlockdevSnapshotSync *s,
                                           GError **errp)
{
    const char *format = s->format ? s->format : "qcow2";
    bool existing = s->has_mode && s->mode == NEW_IMAGE_MODE_EXISTING;
    int flags = (bdrv_open_flags(old_bs) | BDRV_O_RDWR | BDRV_O_NO_BACKING) &
                ~(BDRV_O_SNAPSHOT | BDRV_O_CHECK);
    BlockDriverState *bs;

    if (s->snapshot_node_name && bdrv_find_node(s->snapshot_node_name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'",
                   s->snapshot_node_name);
        return NULL;
    }
    if (!bdrv_find_format(format)) {
        error_setg(errp, "Unknown driver '%s'", format);
        return NULL;
    }
    if (!existing) {
        g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash,
                                                      g_str_equal);

        g_hash_table_insert(opts, "backing_file",
                            (char *)bdrv_filename(old_bs));
        g_hash_table_insert(opts, "backing_fmt",
                            (char *)bdrv_format_name(old_bs));
        if (!bdrv_create(format, s->snapshot_file, bdrv_getlength(old_bs),
                         opts, errp)) {
            return NULL;
        }
    }
    bs = bdrv_open(s->snapshot_file, format, flags, errp);
    if (bs && s->snapshot_node_name) {
        g_free(bs->node_name);
        bs->node_name = g_strdup(s->snapshot_node_name);
    }
    return bs;
}

static SnapshotAction *prepare_snapshot_sync(const BlockdevSnapshotSync *s,
                                             GPtrArray *prepared,
                                             GError **errp)
{
    BlockDriverState *old_bs, *new_bs;
    SnapshotAction *a = NULL;

    if (!s->device && !s->node_name) {
        error_setg(errp, "Cannot find device='' nor node-name=''");
        return NULL;
    }
    old_bs = lookup_device_or_node(s->device, s->node_name, errp);
    if (!old_bs || !block_job_check_busy(old_bs, errp)) {
        return NULL;
    }
    new_bs = open_sync_overlay(old_bs, s, errp);
    if (!new_bs) {
        return NULL;
    }
    if (check_snapshot_pair(old_bs, new_bs, prepared, errp)) {
        a = action_new(old_bs, new_bs);
    }
    bdrv_unref(new_bs);                 /* the action's reference stays */
    return a;
}

/* ---- commit and undo ------------------------------------------------------ */

static void undo_snapshot(SnapshotAction *a)
{
    if (!a->committed) {
        return;
    }
    for (unsigned i = 0; i < a->moved->len; i++) {
        blk_replace_bs(g_ptr_array_index(a->moved, i), a->old_bs, NULL);
    }
    g_ptr_array_set_size(a->moved, 0);
    if (a->new_bs->backing == a->old_bs) {
        a->new_bs->backing = NULL;
        a->new_bs->flags |= BDRV_O_NO_BACKING;
        bdrv_unref(a->old_bs);
    }
    a->committed = false;
}

/* The overlay takes the old top as its backing node and its devices
 * (no request in flight: the caller drained). */
static bool commit_snapshot(SnapshotAction *a, GError **errp)
{
    GPtrArray *blks = blk_list();

    bdrv_ref(a->old_bs);
    a->new_bs->backing = a->old_bs;
    a->new_bs->flags &= ~BDRV_O_NO_BACKING;
    a->committed = true;
    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) != a->old_bs) {
            continue;
        }
        if (!blk_replace_bs(blk, a->new_bs, errp)) {
            undo_snapshot(a);
            return false;
        }
        g_ptr_array_add(a->moved, blk);
    }
    return true;
}

/* As QEMU, the old top is reopened read-only once it is a backing node;
 * a failure leaves it writable, which is harmless. */
static void finish_snapshot(SnapshotAction *a)
{
    if (bdrv_reopen_rw(a->old_bs, false, NULL)) {
        bdrv_refresh_perms(NULL);
    }
}

static bool snapshot_txn_commit(void *opaque, GError **errp)
{
    return commit_snapshot(opaque, errp);
}

static void snapshot_txn_abort(void *opaque)
{
    undo_snapshot(opaque);
}

static void snapshot_txn_finish(void *opaque)
{
    finish_snapshot(opaque);
}

static const BlockTxnActionOps snapshot_txn_ops = {
    .commit = snapshot_txn_commit,
    .abort = snapshot_txn_abort,
    .finish = snapshot_txn_finish,
    .free = action_free,
};

void block_txn_add(GPtrArray *prepared, const BlockTxnActionOps *ops,
                   void *opaque)
{
    BlockTxnAction *t = g_new(BlockTxnAction, 1);

    t->ops = ops;
    t->opaque = opaque;
    g_ptr_array_add(prepared, t);
}

static void txn_action_free(gpointer p)
{
    BlockTxnAction *t = p;

    t->ops->free(t->opaque);
    g_free(t);
}

static GPtrArray *txn_new(void)
{
    return g_ptr_array_new_with_free_func(txn_action_free);
}

/* Newest first, as the actions were prepared in order. */
static void txn_abort_all(GPtrArray *prepared)
{
    for (unsigned i = prepared->len; i-- > 0;) {
        BlockTxnAction *t = g_ptr_array_index(prepared, i);

        if (t->ops->abort) {
            t->ops->abort(t->opaque);
        }
    }
}

static bool run_prepared(GPtrArray *prepared, GError **errp)
{
    blk_drain_all();
    for (unsigned i = 0; i < prepared->len; i++) {
        BlockTxnAction *t = g_ptr_array_index(prepared, i);

        if (t->ops->commit && !t->ops->commit(t->opaque, errp)) {
            txn_abort_all(prepared);
            return false;
        }
    }
    for (unsigned i = 0; i < prepared->len; i++) {
        BlockTxnAction *t = g_ptr_array_index(prepared, i);

        if (t->ops->finish) {
            t->ops->finish(t->opaque);
        }
    }
    return true;
}

/* ---- QMP ---------------------------------------------------------------------- */

void qmp_blockdev_snapshot(const char *node, const char *overlay,
                           GError **errp)
{
    g_autoptr(GPtrArray) prepared = txn_new();
    SnapshotAction *a = prepare_blockdev_snapshot(node, overlay, prepared,
                                                  errp);

    if (a) {
        block_txn_add(prepared, &snapshot_txn_ops, a);
        run_prepared(prepared, errp);
    }
}

void qmp_blockdev_snapshot_sync(const char *device, const char *node_name,
                                const char *snapshot_file,
                                const char *snapshot_node_name,
                                const char *format, bool has_mode,
                                NewImageMode mode, GError **errp)
{
    BlockdevSnapshotSync s = {
        .device = (char *)device, .node_name = (char *)node_name,
        .snapshot_file = (char *)snapshot_file,
        .snapshot_node_name = (char *)snapshot_node_name,
        .format = (char *)format, .has_mode = has_mode, .mode = mode,
    };
    g_autoptr(GPtrArray) prepared = txn_new();
    SnapshotAction *a = prepare_snapshot_sync(&s, prepared, errp);

    if (a) {
        block_txn_add(prepared, &snapshot_txn_ops, a);
        run_prepared(prepared, errp);
    }
}

static bool prepare_action(TransactionAction *act, GPtrArray *prepared,
                           GError **errp)
{
    SnapshotAction *a;

    switch (act->type) {
    case TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT: {
        BlockdevSnapshot *d = act->u.blockdev_snapshot.data;

        a = prepare_blockdev_snapshot(d->node, d->overlay, prepared, errp);
        break;
    }
    case TRANSACTION_ACTION_KIND_BLOCKDEV_SNAPSHOT_SYNC:
        a = prepare_snapshot_sync(act->u.blockdev_snapshot_sync.data,
                                  prepared, errp);
        break;
    case TRANSACTION_ACTION_KIND_BLOCKDEV_BACKUP:
        return backup_txn_prepare(act->u.blockdev_backup.data, prepared,
                                  errp);
    case TRANSACTION_ACTION_KIND_DRIVE_BACKUP:
        return drive_backup_txn_prepare(act->u.drive_backup.data, prepared,
                                        errp);
    default:
        return block_dirty_bitmap_txn_prepare(act, prepared, errp);
    }
    if (a) {
        block_txn_add(prepared, &snapshot_txn_ops, a);
    }
    return a;
}

void qmp_transaction(TransactionActionList *actions,
                     TransactionProperties *properties, GError **errp)
{
    g_autoptr(GPtrArray) prepared = txn_new();

    if (properties && properties->has_completion_mode &&
        properties->completion_mode != ACTION_COMPLETION_MODE_INDIVIDUAL &&
        actions) {
        /* QEMU names the first action that cannot be grouped: none can */
        error_setg(errp, "Action '%s' does not support Transaction "
                   "property completion-mode = grouped",
                   TransactionActionKind_str[actions->value->type]);
        return;
    }
    for (TransactionActionList *l = actions; l; l = l->next) {
        if (!prepare_action(l->value, prepared, errp)) {
            txn_abort_all(prepared);
            return;
        }
    }
    run_prepared(prepared, errp);
}
