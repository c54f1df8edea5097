/*
 * QMP block-commit and block-stream (QEMU 7.2's arguments, defaults and
 * wording): resolve the chain's nodes, check them, and start the job,
 * which block/mirror.c runs (its copy loop serves mirror, commit and
 * stream).  See docs/block.md, "Block jobs".
 */
#include "qemu/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/block-int.h"
#include "qapi/qapi-commands.h"

/* QEMU's bdrv_get_device_or_node_name: a named backend's, else the
 * node's (the default job id). */
static const char *device_or_node_name(BlockDriverState *bs)
{
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == bs && *blk_name(blk)) {
            return blk_name(blk);
        }
    }
    return bdrv_node_name(bs);
}

static BlockDriverState *lookup_node(const char *name, GError **errp)
{
    BlockDriverState *bs = bdrv_find_node(name);

    if (!bs) {
        error_setg(errp, "Cannot find device='' nor node-name='%s'", name);
    }
    return bs;
}

/* The image of @top's chain (@top included) whose file is @filename, as
 * given or as the same host file. */
static BlockDriverState *find_backing_image(BlockDriverState *top,
                                            const char *filename)
{
    g_autofree char *want = realpath(filename, NULL);

    for (BlockDriverState *bs = top; bs; bs = bdrv_backing(bs)) {
        g_autofree char *have = realpath(bdrv_filename(bs), NULL);

        if (!strcmp(bdrv_filename(bs), filename) ||
            (want && have && !strcmp(want, have))) {
            return bs;
        }
    }
    return NULL;
}

/* The node whose backing node is @bs, in @active's chain. */
static BlockDriverState *find_overlay(BlockDriverState *active,
                                      BlockDriverState *bs)
{
    for (BlockDriverState *o = active; o; o = bdrv_backing(o)) {
        if (bdrv_backing(o) == bs) {
            return o;
        }
    }
    return NULL;
}

static BlockDriverState *bottom_of(BlockDriverState *bs)
{
    while (bs && bdrv_backing(bs)) {
        bs = bdrv_backing(bs);
    }
    return bs;
}

static BlockDriverState *commit_top(BlockDriverState *bs,
                                    const char *top_node, const char *top,
                                    GError **errp)
{
    BlockDriverState *top_bs = bs;

    if (top_node && top) {
        error_setg(errp, "'top-node' and 'top' are mutually exclusive");
        return NULL;
    }
    if (top_node) {
        top_bs = lookup_node(top_node, errp);
        if (top_bs && !bdrv_chain_contains(bs, top_bs)) {
            error_setg(errp, "'%s' is not in this backing file chain",
                       top_node);
            return NULL;
        }
        return top_bs;
    }
    if (top) {
        top_bs = find_backing_image(bs, top);
        if (!top_bs) {
            error_setg(errp, "Top image file %s not found", top);
        }
    }
    return top_bs;
}

static BlockDriverState *commit_base(BlockDriverState *top_bs,
                                     const char *base_node, const char *base,
                                     GError **errp)
{
    BlockDriverState *base_bs;

    if (base_node && base) {
        error_setg(errp, "'base-node' and 'base' are mutually exclusive");
        return NULL;
    }
    if (base_node) {
        base_bs = lookup_node(base_node, errp);
        if (base_bs && !bdrv_chain_contains(top_bs, base_bs)) {
            error_setg(errp, "'%s' is not in this backing file chain",
                       base_node);
            return NULL;
        }
        return base_bs;
    }
    if (base) {
        base_bs = find_backing_image(top_bs, base);
        if (!base_bs) {
            error_setg(errp, "Can't find '%s' in the backing chain", base);
        }
        return base_bs;
    }
    base_bs = bottom_of(top_bs);
    if (base_bs == top_bs) {
        error_setg(errp, "There is no backimg image");    /* sic, QEMU */
        return NULL;
    }
    return base_bs;
}

static BlockJobStartArgs job_args(const char *job_id, bool has_speed,
                                  int64_t speed, bool has_on_error,
                                  BlockdevOnError on_error,
                                  bool has_auto_finalize, bool auto_finalize,
                                  bool has_auto_dismiss, bool auto_dismiss,
                                  const char *backing_file,
                                  const char *filter_node_name)
{
    return (BlockJobStartArgs) {
        .job_id = job_id,
        .speed = has_speed ? speed : 0,
        .on_error = has_on_error ? on_error : BLOCKDEV_ON_ERROR_REPORT,
        .auto_finalize = has_auto_finalize ? auto_finalize : true,
        .auto_dismiss = has_auto_dismiss ? auto_dismiss : true,
        .backing_file = backing_file,
        .filter_node_name = filter_node_name,
    };
}

static bool check_job_args(const char *job_id, bool has_speed, int64_t speed,
                           GError **errp)
{
    if (job_id && !*job_id) {
        error_setg(errp, "Invalid job ID ''");
        return false;
    }
    if (has_speed && speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    return true;
}

/* No other job works on a node of the chain from @top down to @base. */
static bool chain_free_of_jobs(BlockDriverState *top, BlockDriverState *base,
                               GError **errp)
{
    for (BlockDriverState *bs = top; bs; bs = bdrv_backing(bs)) {
        if (!block_job_check_busy(bs, errp)) {
            return false;
        }
        if (bs == base) {
            break;
        }
    }
    return true;
}

void qmp_block_commit(const char *job_id, const char *device,
                      const char *base_node, const char *base,
                      const char *top_node, const char *top,
                      const char *backing_file, bool has_speed,
                      int64_t speed, bool has_on_error,
                      BlockdevOnError on_error,
                      const char *filter_node_name, bool has_auto_finalize,
                      bool auto_finalize, bool has_auto_dismiss,
                      bool auto_dismiss, GError **errp)
{
    BlockJobStartArgs a = job_args(job_id, has_speed, speed, has_on_error,
                                   on_error, has_auto_finalize,
                                   auto_finalize, has_auto_dismiss,
                                   auto_dismiss, backing_file,
                                   filter_node_name);
    BlockDriverState *bs, *top_bs, *base_bs;

    if (!check_job_args(job_id, has_speed, speed, errp) ||
        !(bs = blk_lookup_device_or_node(device, errp)) ||
        !(top_bs = commit_top(bs, top_node, top, errp)) ||
        !(base_bs = commit_base(top_bs, base_node, base, errp))) {
        return;
    }
    if (top_bs == base_bs) {
        error_setg(errp, "cannot commit an image into itself");
        return;
    }
    if (!chain_free_of_jobs(bs, base_bs, errp)) {
        return;
    }
    if (top_bs == bs) {
        if (backing_file) {
            error_setg(errp, "'backing-file' specified, but 'top' is the "
                       "active layer");
            return;
        }
        block_commit_start(device_or_node_name(bs), top_bs, base_bs, NULL,
                           &a, errp);
        return;
    }
    block_commit_start(device_or_node_name(bs), top_bs, base_bs,
                       find_overlay(bs, top_bs), &a, errp);
}

void qmp_block_stream(const char *job_id, const char *device,
                      const char *base, const char *base_node,
                      const char *backing_file, const char *bottom,
                      bool has_speed, int64_t speed, bool has_on_error,
                      BlockdevOnError on_error,
                      const char *filter_node_name, bool has_auto_finalize,
                      bool auto_finalize, bool has_auto_dismiss,
                      bool auto_dismiss, GError **errp)
{
    BlockJobStartArgs a = job_args(job_id, has_speed, speed, has_on_error,
                                   on_error, has_auto_finalize,
                                   auto_finalize, has_auto_dismiss,
                                   auto_dismiss, backing_file,
                                   filter_node_name);
    BlockDriverState *bs, *base_bs = NULL;

    if (base && base_node) {
        error_setg(errp, "'base' and 'base-node' cannot be specified at the "
                   "same time");
        return;
    }
    if (bottom) {
        error_setg(errp, "'bottom' is not supported by kvmpc (use "
                   "'base-node')");
        return;
    }
    if (!check_job_args(job_id, has_speed, speed, errp) ||
        !(bs = blk_lookup_device_or_node(device, errp))) {
        return;
    }
    if (base) {
        base_bs = find_backing_image(bdrv_backing(bs), base);
        if (!base_bs) {
            error_setg(errp, "Can't find '%s' in the backing chain", base);
            return;
        }
    }
    if (base_node) {
        base_bs = bdrv_find_node(base_node);
        if (!base_bs) {
            error_setg(errp, "Cannot find device='' nor node-name='%s'",
                       base_node);
            return;
        }
        if (base_bs == bs || !bdrv_chain_contains(bs, base_bs)) {
            error_setg(errp, "Node '%s' is not a backing image of '%s'",
                       base_node, device);
            return;
        }
    }
    if (backing_file && !base_bs) {
        error_setg(errp, "backing file specified, but streaming the entire "
                   "chain");
        return;
    }
    if (!chain_free_of_jobs(bs, base_bs, errp)) {
        return;
    }
    if (bdrv_is_read_only(bs)) {
        error_setg(errp, "Block node is read-only");
        return;
    }
    block_stream_start(device_or_node_name(bs), bs, base_bs, &a, errp);
}
