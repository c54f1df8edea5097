/*
 * Filter nodes a block job puts above a node for as long as it runs
 * (block/filter-node.c): the backup's copy-before-write, the commit's
 * commit_top and mirror_top, the stream's copy-on-read.
 */
#ifndef BLOCK_FILTER_NODE_H
#define BLOCK_FILTER_NODE_H

#include "block/block-int.h"

/* The pass-through I/O every such filter has: requests go to the file
 * child (the filtered node) unchanged, at the same offsets. */
bool bdrv_filter_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                       void *buf, GError **errp);
bool bdrv_filter_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                        const void *buf, GError **errp);
bool bdrv_filter_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                               uint64_t len, int flags, GError **errp);
bool bdrv_filter_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                          GError **errp);
bool bdrv_filter_pwrite_compressed(BlockDriverState *bs, uint64_t off,
                                   uint64_t len, const void *buf,
                                   GError **errp);
bool bdrv_filter_flush(BlockDriverState *bs, GError **errp);
int bdrv_filter_block_status(BlockDriverState *bs, uint64_t off,
                             uint64_t len, uint64_t *pnum, uint64_t *map,
                             BlockDriverState **file, GError **errp);
bool bdrv_filter_aio_submit(BlockDriverState *bs, const BdrvAioRequest *req);
bool bdrv_filter_try_preadv_nowait(BlockDriverState *bs, uint64_t off,
                                   const struct iovec *iov, int niov,
                                   uint64_t bytes);

/* A BlockDriver initializer's members for such a filter.  No truncate:
 * the filtered node's size is fixed while its job runs (QEMU's jobs
 * block resizing). */
#define BDRV_FILTER_PASSTHROUGH_OPS                                     \
    .perm_passthrough = true,                                           \
    .is_filter = true,                                                  \
    .pread = bdrv_filter_pread,                                         \
    .pwrite = bdrv_filter_pwrite,                                       \
    .pwrite_zeroes = bdrv_filter_pwrite_zeroes,                         \
    .pdiscard = bdrv_filter_pdiscard,                                   \
    .pwrite_compressed = bdrv_filter_pwrite_compressed,                 \
    .flush = bdrv_filter_flush,                                         \
    .block_status = bdrv_filter_block_status,                           \
    .aio_submit = bdrv_filter_aio_submit,                               \
    .try_preadv_nowait = bdrv_filter_try_preadv_nowait

/*
 * A filter of driver @drv over @child, not in the graph yet: named
 * @node_name, else an automatic "#blockN" name and implicit (query-block
 * does not show it, as QEMU's jobs mark their unnamed filters).  Errors:
 * QEMU's "Duplicate nodes with node-name='X'" / "Invalid node-name: 'X'"
 * (callers add what prefix QEMU has for their command).
 */
BlockDriverState *bdrv_filter_node_new(const BlockDriver *drv,
                                       BlockDriverState *child,
                                       const char *node_name, bool implicit,
                                       GError **errp);
/* Put the filter @bs in its child's place in the child's parents
 * (backends' roots, nodes' file and backing children), except @keep and
 * what is below it (NULL: none); big lock held. */
void bdrv_filter_node_insert(BlockDriverState *bs, BlockDriverState *keep);
/* Put the child back in the filter's place in every parent; returns
 * when no request runs through the filter any more.  The caller then
 * drops its reference. */
void bdrv_filter_node_remove(BlockDriverState *bs);

#endif
