/*
 * The copy-before-write filter node: what a backup job puts above its
 * source for as long as it runs, so that the graph shows the job as
 * QEMU 7.2 does (query-block's "inserted" and query-named-block-nodes
 * list a node of driver "copy-before-write" whose file child is the
 * source; node-name: the job's filter-node-name, else a generated
 * "#blockN", not implicit: QEMU's query-block shows it either way).
 * QEMU's filter is described in its QAPI schema (BlockdevOptionsCbw) and
 * docs/interop/live-block-operations.rst.
 *
 * The node is thin: every request passes to the source unchanged
 * (block/filter-node.c's pass-through, which also puts it in the graph
 * and takes it out).  The copying itself is the backup job's
 * before-write hook on the source (bdrv_add_before_write, block/backup.c),
 * which also catches writers that reach the source without passing the
 * filter (an export of the source node).
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/copy-before-write.h"
#include "block/filter-node.h"

const BlockDriver bdrv_cbw_driver = {
    .format_name = "copy-before-write",
    BDRV_FILTER_PASSTHROUGH_OPS,
};

BlockDriverState *bdrv_cbw_new(BlockDriverState *src, const char *node_name,
                               uint32_t cluster_size, GError **errp)
{
    BlockDriverState *bs = bdrv_filter_node_new(&bdrv_cbw_driver, src,
                                                node_name, false, errp);

    if (!bs) {
        g_prefix_error(errp, "Could not create node: ");
        return NULL;
    }
    bs->cluster_size = cluster_size;
    return bs;
}
