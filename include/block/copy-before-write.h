/*
 * The copy-before-write filter node a backup job puts above its source
 * (block/copy-before-write.c); block/filter-node.c puts it in the graph
 * and takes it out again.
 */
#ifndef BLOCK_COPY_BEFORE_WRITE_H
#define BLOCK_COPY_BEFORE_WRITE_H

#include "block/block.h"

/* A filter over @src, not in the graph yet: named @node_name (NULL: a
 * generated name; QEMU's "Could not create node: ..." errors), its
 * cluster size the job's copy granularity. */
BlockDriverState *bdrv_cbw_new(BlockDriverState *src, const char *node_name,
                               uint32_t cluster_size, GError **errp);

#endif
