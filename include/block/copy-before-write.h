/*
 * Copy-before-write (block/copy-before-write.c): the filter node of driver
 * "copy-before-write" and the copying it does.  A backup job puts one
 * above its source (block/backup.c) and drives its background copy
 * through it; blockdev-add driver=copy-before-write makes one on its own
 * (image fleecing), read through a snapshot-access node.
 */
#ifndef BLOCK_COPY_BEFORE_WRITE_H
#define BLOCK_COPY_BEFORE_WRITE_H

#include "block/block.h"

typedef struct BdrvCbw BdrvCbw;

/*
 * A backup's filter over @src, not in the graph yet and not copying yet:
 * named @node_name (NULL: a generated name; QEMU's "Could not create
 * node: ..." errors); old data goes to @target in clusters of
 * @cluster_size, at most @chunk_clusters per copy request, compressed
 * when @compress.  Nothing is to copy until bdrv_cbw_mark().
 */
BlockDriverState *bdrv_cbw_new(BlockDriverState *src, const char *node_name,
                               BlockDriverState *target,
                               uint32_t cluster_size, uint64_t chunk_clusters,
                               bool compress, GError **errp);

/* The copying state of a copy-before-write node. */
BdrvCbw *bdrv_cbw_state(BlockDriverState *filter);

/* From now on (until bdrv_cbw_stop) every write to the filtered node first
 * copies the old data of the clusters still to copy that it touches. */
void bdrv_cbw_start(BdrvCbw *cbw);
/* No write copies any more once this returns (one copying finishes). */
void bdrv_cbw_stop(BdrvCbw *cbw);

/* The clusters [offset, offset + bytes) touches are to copy. */
void bdrv_cbw_mark(BdrvCbw *cbw, uint64_t offset, uint64_t bytes);

/*
 * Copy what of the clusters [first, first + count) is still to copy
 * (another copier's busy clusters are left to it); *@read_failed tells a
 * failed read of the source from a failed write of the target.
 */
bool bdrv_cbw_copy(BdrvCbw *cbw, uint64_t first, uint64_t count,
                   bool *read_failed, GError **errp);

/* The first cluster still to copy at or after @from (wrapping once), or
 * -1 when none is. */
int64_t bdrv_cbw_next_pending(BdrvCbw *cbw, uint64_t from);
/* Bytes copied so far, and bytes still to copy (or being copied). */
void bdrv_cbw_progress(BdrvCbw *cbw, uint64_t *copied, uint64_t *left);
/* Is @cluster still to copy (or being copied)? */
bool bdrv_cbw_to_copy(BdrvCbw *cbw, uint64_t cluster);
/* The first failure of a copy a guest write made (a copy of it), or NULL. */
char *bdrv_cbw_write_error(BdrvCbw *cbw);

/* QEMU's copy granularity for @target: its cluster size, at least 64 KiB. */
uint64_t bdrv_cbw_cluster_for(BlockDriverState *target);
uint64_t bdrv_cbw_cluster_size(BdrvCbw *cbw);
uint64_t bdrv_cbw_clusters(BdrvCbw *cbw);

#endif
