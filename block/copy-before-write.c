/*
 * The copy-before-write filter node: what a backup job puts above its
 * source for as long as it runs, so that the graph shows the job as
 * QEMU 7.2 does (query-block's "inserted" and query-named-block-nodes
 * list a node of driver "copy-before-write" whose file child is the
 * source; node-name: the job's filter-node-name, else a generated
 * "#blockN").  QEMU's filter is described in its QAPI schema
 * (BlockdevOptionsCbw) and docs/interop/live-block-operations.rst.
 *
 * The node is thin: every request passes to the source unchanged (as
 * raw passes to its file).  The copying itself is the backup job's
 * before-write hook on the source (bdrv_add_before_write, block/backup.c),
 * which also catches writers that reach the source without passing the
 * filter (an export of the source node).
 *
 * Inserting takes the source's place in its parents: the backends whose
 * root it is, and the nodes whose file or backing child it is, except
 * the job's target and what lies below it (QEMU leaves those too: a
 * fleecing overlay whose backing node is the source would make a loop
 * through the filter's target child).  Removing puts the source back in
 * the filter's place.  Neither drains: the data under the parents is
 * the same before and after, a request already out finishes on the node
 * it started on, and the filter has the source's AioContext (a source in
 * an I/O thread keeps serving its device meanwhile).
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "block/copy-before-write.h"

static bool cbw_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                      void *buf, GError **errp)
{
    return bdrv_pread(bs->file, off, len, buf, errp);
}

static bool cbw_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                       const void *buf, GError **errp)
{
    return bdrv_pwrite(bs->file, off, len, buf, errp);
}

static bool cbw_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                              uint64_t len, int flags, GError **errp)
{
    return bdrv_pwrite_zeroes(bs->file, off, len, flags, errp);
}

static bool cbw_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                         GError **errp)
{
    return bdrv_pdiscard(bs->file, off, len, errp);
}

static bool cbw_pwrite_compressed(BlockDriverState *bs, uint64_t off,
                                  uint64_t len, const void *buf,
                                  GError **errp)
{
    return bdrv_pwrite_compressed(bs->file, off, len, buf, errp);
}

static bool cbw_flush(BlockDriverState *bs, GError **errp)
{
    return bdrv_flush(bs->file, errp);
}

static int cbw_block_status(BlockDriverState *bs, uint64_t off, uint64_t len,
                            uint64_t *pnum, uint64_t *map,
                            BlockDriverState **file, GError **errp)
{
    return bdrv_block_status(bs->file, off, len, pnum, map, file, errp);
}

/* The same offsets on the source: hand the request down.  A write is
 * refused below while the source has its before-write hook, so it takes
 * the worker path that runs the hook. */
static bool cbw_aio_submit(BlockDriverState *bs, const BdrvAioRequest *req)
{
    BdrvAioRequest down = *req;

    down.bs = bs->file;
    return bdrv_aio_try_host(bs->file, &down);
}

static bool cbw_try_preadv_nowait(BlockDriverState *bs, uint64_t off,
                                  const struct iovec *iov, int niov,
                                  uint64_t bytes)
{
    return bdrv_try_preadv_nowait(bs->file, off, iov, niov, bytes);
}

/* The source's size is fixed while a backup runs (QEMU's job blocks
 * resizing): no truncate. */
const BlockDriver bdrv_cbw_driver = {
    .format_name = "copy-before-write",
    .perm_passthrough = true,
    .is_filter = true,
    .pread = cbw_pread,
    .pwrite = cbw_pwrite,
    .pwrite_zeroes = cbw_pwrite_zeroes,
    .pdiscard = cbw_pdiscard,
    .pwrite_compressed = cbw_pwrite_compressed,
    .flush = cbw_flush,
    .block_status = cbw_block_status,
    .aio_submit = cbw_aio_submit,
    .try_preadv_nowait = cbw_try_preadv_nowait,
};

BlockDriverState *bdrv_cbw_new(BlockDriverState *src, const char *node_name,
                               uint32_t cluster_size, GError **errp)
{
    BlockDriverState *bs = bdrv_new(&bdrv_cbw_driver, bdrv_filename(src),
                                    bdrv_open_flags(src) & BDRV_O_RDWR);

    if (node_name && !bdrv_set_node_name(bs, node_name, errp)) {
        g_prefix_error(errp, "Could not create node: ");
        bdrv_unref(bs);
        return NULL;
    }
    bdrv_ref(src);
    bs->file = src;
    bs->size = bdrv_getlength(src);
    bs->cluster_size = cluster_size;
    return bs;
}

/* Is @node @top or below it (file and backing children)? */
static bool graph_reaches(BlockDriverState *top, BlockDriverState *node,
                          int depth)
{
    if (!top || depth > 64) {
        return false;
    }
    return top == node || graph_reaches(top->file, node, depth + 1) ||
           graph_reaches(top->backing, node, depth + 1);
}

/* @child's parent slot *@slot now holds @to (references move along). */
static void relink(BlockDriverState **slot, BlockDriverState *to)
{
    BlockDriverState *old = *slot;

    bdrv_ref(to);
    g_atomic_pointer_set(slot, to);
    bdrv_unref(old);
}

/*
 * Every parent of @from, except @skip and the nodes @keep reaches, takes
 * @to instead: backends (their root) and nodes (file, backing).
 */
static void replace_in_parents(BlockDriverState *from, BlockDriverState *to,
                               BlockDriverState *skip, BlockDriverState *keep)
{
    GPtrArray *blks = blk_list();
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == from) {
            blk_swap_root(blk, to);
        }
    }
    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *n = g_ptr_array_index(nodes, i);

        if (n == skip || graph_reaches(keep, n, 0)) {
            continue;
        }
        if (n->file == from) {
            relink(&n->file, to);
        }
        if (n->backing == from) {
            relink(&n->backing, to);
        }
    }
}

void bdrv_cbw_insert(BlockDriverState *bs, BlockDriverState *target)
{
    BlockDriverState *src = bs->file;

    /* Requests reach the filter where they reached the source. */
    bs->aio_ctx = src->aio_ctx;
    replace_in_parents(src, bs, bs, target);
    /* The same needs reach the same leaves: this cannot conflict. */
    bdrv_refresh_perms(NULL);
}

void bdrv_cbw_remove(BlockDriverState *bs)
{
    replace_in_parents(bs, bs->file, bs, NULL);
    bdrv_refresh_perms(NULL);
    /* Requests that entered the filter finish before its owner drops it
     * (their completions run in the node's context: the main loop's are
     * run here, an I/O thread runs its own). */
    while (g_atomic_int_get(&bs->in_flight)) {
        if (bdrv_get_aio_context(bs) == g_main_context_default()) {
            g_main_context_iteration(NULL, TRUE);
        } else {
            g_usleep(100);
        }
    }
}
