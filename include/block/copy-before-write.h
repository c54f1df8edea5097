/*
 * The copy-before-write filter node a backup job puts above its source
 * (block/copy-before-write.c).
 */
#ifndef BLOCK_COPY_BEFORE_WRITE_H
#define BLOCK_COPY_BEFORE_WRITE_H

#include "block/block.h"

/* A filter over @src, not in the graph yet: named @node_name (NULL: a
 * generated name; QEMU's "Could not create node: ..." errors), its
 * cluster size the job's copy granularity. */
BlockDriverState *bdrv_cbw_new(BlockDriverState *src, const char *node_name,
                               uint32_t cluster_size, GError **errp);
/* Put the filter @bs in its source's place in the source's parents (not
 * @target and what is below it); big lock held. */
void bdrv_cbw_insert(BlockDriverState *bs, BlockDriverState *target);
/* Put the source back in the filter's place in every parent; returns
 * when no request runs through the filter any more.  The caller then
 * drops its reference. */
void bdrv_cbw_remove(BlockDriverState *bs);

#endif
