/*
 * Filter nodes of block jobs: what a job puts above a node for as long
 * as it runs, so that the graph shows the job as QEMU 7.2's does
 * (query-block's "inserted", query-named-block-nodes; QEMU's QAPI schema,
 * BlockdevDriver and the jobs' filter-node-name, and
 * docs/interop/live-block-operations.rst):
 *
 *   backup              copy-before-write  above the source
 *   drive-/blockdev-mirror  mirror_top     above the source
 *   block-commit        mirror_top         above the top (active layer)
 *   block-commit        commit_top         above the top (intermediate)
 *   block-stream        copy-on-read       above the streamed node
 *
 * A filter is named by the job's filter-node-name, else "#blockN" and
 * implicit (QEMU marks the unnamed filters of commit, stream and mirror
 * so: query-block looks through them, query-named-block-nodes lists
 * them).  Its only child is the file child, the filtered node, and
 * queries show that as the next layer of the chain (QEMU's filtered
 * child: backing_file_depth, backing-image), whichever child QEMU's own
 * driver uses.
 *
 * The nodes are thin: every request passes to the filtered node
 * unchanged (as raw passes to its file).  What the jobs do is in the
 * jobs (block/backup.c's before-write hook, block/mirror.c's copy loop),
 * which also catch writers that reach the node without passing the
 * filter (an export of the node).
 *
 * Inserting takes the filtered node's place in its parents: the backends
 * whose root it is, and the nodes whose file or backing child it is,
 * except what a job keeps (the backup's target and what lies below it:
 * a fleecing overlay whose backing node is the source would make a loop
 * through the filter).  Removing puts the node back in the filter's
 * place.  Neither drains: the data under the parents is the same before
 * and after, a request already out finishes on the node it started on,
 * and the filter has the node's AioContext (a node in an I/O thread
 * keeps serving its device meanwhile).
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "block/filter-node.h"

bool bdrv_filter_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                       void *buf, GError **errp)
{
    return bdrv_pread(bs->file, off, len, buf, errp);
}

bool bdrv_filter_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                        const void *buf, GError **errp)
{
    return bdrv_pwrite(bs->file, off, len, buf, errp);
}

bool bdrv_filter_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                               uint64_t len, int flags, GError **errp)
{
    return bdrv_pwrite_zeroes(bs->file, off, len, flags, errp);
}

bool bdrv_filter_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                          GError **errp)
{
    return bdrv_pdiscard(bs->file, off, len, errp);
}

bool bdrv_filter_pwrite_compressed(BlockDriverState *bs, uint64_t off,
                                   uint64_t len, const void *buf,
                                   GError **errp)
{
    return bdrv_pwrite_compressed(bs->file, off, len, buf, errp);
}

bool bdrv_filter_flush(BlockDriverState *bs, GError **errp)
{
    return bdrv_flush(bs->file, errp);
}

int bdrv_filter_block_status(BlockDriverState *bs, uint64_t off,
                             uint64_t len, uint64_t *pnum, uint64_t *map,
                             BlockDriverState **file, GError **errp)
{
    return bdrv_block_status(bs->file, off, len, pnum, map, file, errp);
}

/*
 * The same offsets on the filtered node: hand a read or a flush down.
 * A write takes the worker path (bdrv_pwrite on the filter, which writes
 * the node): a host write's completion marks dirty the node it was
 * submitted on, here the filter, and the submission checks only that
 * node's detect-zeroes, while the node below has the dirty bitmaps (an
 * active commit's, a user's), its detect-zeroes and its before-write
 * hooks (a backup's), which bdrv_pwrite on the node honours.
 */
bool bdrv_filter_aio_submit(BlockDriverState *bs, const BdrvAioRequest *req)
{
    BdrvAioRequest down = *req;

    if (req->op != BDRV_AIO_READ && req->op != BDRV_AIO_FLUSH) {
        return false;
    }
    down.bs = bs->file;
    return bdrv_aio_try_host(bs->file, &down);
}

bool bdrv_filter_try_preadv_nowait(BlockDriverState *bs, uint64_t off,
                                   const struct iovec *iov, int niov,
                                   uint64_t bytes)
{
    return bdrv_try_preadv_nowait(bs->file, off, iov, niov, bytes);
}

/* The drivers of block-commit's and block-stream's filters: QEMU's names
 * (its mirror_top, commit_top and copy-on-read drivers); never opened by
 * name (blockdev-add refuses them, as QEMU's mirror_top and commit_top). */
const BlockDriver bdrv_mirror_top_driver = {
    .format_name = "mirror_top",
    BDRV_FILTER_PASSTHROUGH_OPS,
};

const BlockDriver bdrv_commit_top_driver = {
    .format_name = "commit_top",
    BDRV_FILTER_PASSTHROUGH_OPS,
};

/* The stream job's own copy loop fills the top (block/mirror.c); the
 * guest's reads are not copied up on the way. */
const BlockDriver bdrv_cor_driver = {
    .format_name = "copy-on-read",
    BDRV_FILTER_PASSTHROUGH_OPS,
};

BlockDriverState *bdrv_filter_node_new(const BlockDriver *drv,
                                       BlockDriverState *child,
                                       const char *node_name, bool implicit,
                                       GError **errp)
{
    BlockDriverState *bs = bdrv_new(drv, bdrv_filename(child),
                                    bdrv_open_flags(child) & BDRV_O_RDWR);

    if (node_name && !bdrv_set_node_name(bs, node_name, errp)) {
        bdrv_unref(bs);
        return NULL;
    }
    bs->implicit = implicit && !node_name;
    bdrv_ref(child);
    bs->file = child;
    bs->size = bdrv_getlength(child);
    bs->cluster_size = bdrv_cluster_size(child);
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

/* A parent's child slot *@slot now holds @to (references move along). */
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

void bdrv_filter_node_insert(BlockDriverState *bs, BlockDriverState *keep)
{
    BlockDriverState *child = bs->file;

    /* Requests reach the filter where they reached the node. */
    bs->aio_ctx = child->aio_ctx;
    replace_in_parents(child, bs, bs, keep);
    /* The same needs reach the same leaves: this cannot conflict. */
    bdrv_refresh_perms(NULL);
}

void bdrv_filter_node_remove(BlockDriverState *bs)
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
