/*
 * The backup block job: QMP blockdev-backup and drive-backup (QEMU 7.2's
 * arguments, checks, events and wording; qapi/block-job.json).  A backup
 * copies the source node as it was when the job started (the point in
 * time) to the target, while the guest goes on writing the source.
 *
 * Copy-before-write: the job puts a copy-before-write filter node
 * (block/copy-before-write.c, named filter-node-name) in the source's
 * place above it while it runs, as QEMU's graph shows it.  From the
 * point in time on, every guest request that would change a cluster not
 * copied yet first copies that cluster's old data to the target (the
 * filter's hook on the source, on the request's own worker thread, so
 * writers that reach the source without passing the filter are caught
 * too); the guest's write goes on after.  Meanwhile the job's loop (main
 * loop) copies the remaining clusters in order through the filter's
 * state (bdrv_cbw_copy), one chunk (x-perf max-chunk, at most 1 MiB) per
 * worker, at most max-workers (default BACKUP_MAX_IN_FLIGHT) at once and
 * at most @speed bytes per second.  Two backups of
 * one source stack their filters (QEMU 7.2 allows it), and each has its
 * own hook on the source; a backup of a filter node (or of a device
 * whose medium is one) is refused as busy, as in QEMU.
 *
 * Which clusters are copied (the filter's "pending" bits):
 *   full         every cluster (zero ranges become write-zeroes)
 *   top          clusters allocated in the source's top layer
 *   none         none in the background: only what the guest is about
 *                to overwrite (the target is a point-in-time overlay,
 *                "image fleecing"); the job runs until cancelled
 *   incremental  the clusters the dirty bitmap @bitmap marks
 *   bitmap       the same, with the bitmap's fate set by @bitmap-mode
 *
 * Bitmap modes (QEMU's semantics): at the start the bitmap's bits are
 * taken (it is cleared and goes on recording guest writes, which QEMU
 * calls the successor).  on-success: success keeps only the new writes;
 * failure puts the taken bits back.  always: what was copied stays
 * cleared either way.  never: the taken bits are put back either way.
 *
 * A source in an I/O thread's context: the hook runs on that thread's
 * workers, the loop's copies on the main loop's; the filter's cluster
 * bits and their lock keep them apart as they keep two main-loop copiers
 * apart.
 * x-perf use-copy-range is accepted and has no effect (no copy_range
 * path).  See docs/block.md, "Backup".
 */
#include "qemu/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/block-int.h"
#include "block/transaction.h"
#include "block/copy-before-write.h"
#include "block/filter-node.h"
#include "qapi/qapi-commands.h"

#define BACKUP_CHUNK            (1 * MiB)   /* one background copy */
#define BACKUP_MAX_IN_FLIGHT    8

typedef struct BackupJob {
    BlockJob common;                /* first: the Job's opaque */
    MirrorSyncMode sync;
    BdrvDirtyBitmap *bitmap;        /* the user's (incremental, bitmap) */
    BdrvDirtyBitmap *taken;         /* its bits at the start */
    BitmapSyncMode bitmap_mode;
    BlockdevOnError on_source_error, on_target_error;
    uint64_t cluster, len, nclusters;
    uint64_t chunk_clusters;        /* per copy request (x-perf max-chunk) */
    unsigned max_in_flight;         /* copy requests (x-perf max-workers) */
    BdrvCbw *cbw;                   /* the filter's: what is to copy */
    bool hooked;                    /* the filter is in the graph, copying */

    /* Main loop only. */
    uint64_t cursor;                /* next cluster the loop looks at */
    unsigned in_flight;
    char *error;                    /* a reported error ends the job */
    bool ending;
} BackupJob;

typedef struct BackupOp {
    BackupJob *s;
    uint64_t first, count;          /* the clusters to look at */
    GError *err;
    bool read_failed;
} BackupOp;

static void backup_iterate(BackupJob *s);

/* BlockJob.iterate */
static void backup_step(BlockJob *bj)
{
    backup_iterate((BackupJob *)bj);
}

static BackupJob *backup_of(Job *job)
{
    return job_opaque(job);
}

/* ---- the loop (main loop) --------------------------------------------------- */

static void backup_update_progress(BackupJob *s)
{
    uint64_t copied, left;

    bdrv_cbw_progress(s->cbw, &copied, &left);
    job_progress_update(s->common.job, copied);
    job_progress_set_total(s->common.job, copied + left);
}

static void backup_op_work(void *opaque)
{
    BackupOp *op = opaque;

    bdrv_cbw_copy(op->s->cbw, op->first, op->count, &op->read_failed,
                  &op->err);
}

static void backup_op_done(void *opaque)
{
    BackupOp *op = opaque;
    BackupJob *s = op->s;

    s->in_flight--;
    s->common.busy = s->in_flight > 0;
    if (op->err) {
        BlockErrorAction action =
            block_job_error_action(&s->common,
                                   op->read_failed ? s->on_source_error
                                                   : s->on_target_error,
                                   op->read_failed,
                                   bdrv_error_errno(op->err));

        if (action == BLOCK_ERROR_ACTION_REPORT && !s->error) {
            s->error = g_strdup(op->err->message);
        }
        /* ignore / stop: the clusters are to copy again */
        s->cursor = MIN(s->cursor, op->first);
        g_error_free(op->err);
    }
    g_free(op);
    backup_update_progress(s);
    block_job_schedule(&s->common, 0);
}

static bool backup_copy_done(BackupJob *s)
{
    uint64_t copied, left;

    bdrv_cbw_progress(s->cbw, &copied, &left);
    return !left;
}

static void backup_end(BackupJob *s);

static void backup_iterate(BackupJob *s)
{
    Job *job = s->common.job;
    uint64_t per_op = s->chunk_clusters;
    guint delay_ms = 0;
    bool stopping;

    if (s->ending) {
        return;
    }
    if (!s->error) {
        s->error = bdrv_cbw_write_error(s->cbw);
    }
    stopping = s->error || job_is_cancelled(job);
    while (!stopping && !job_is_paused(job) &&
           s->sync != MIRROR_SYNC_MODE_NONE &&
           s->in_flight < s->max_in_flight &&
           block_job_rate_ok(&s->common, &delay_ms)) {
        int64_t c = bdrv_cbw_next_pending(s->cbw, s->cursor);
        BackupOp *op;

        if (c < 0) {
            break;
        }
        op = g_new0(BackupOp, 1);
        op->s = s;
        op->first = c;
        op->count = MIN(per_op, s->nclusters - c);
        s->cursor = c + op->count;
        s->in_flight++;
        s->common.busy = true;
        block_job_rate_account(&s->common, op->count * s->cluster);
        thread_pool_submit(backup_op_work, backup_op_done, op, NULL);
    }
    backup_update_progress(s);
    if (s->in_flight) {
        return;                         /* backup_op_done comes back */
    }
    if (stopping) {
        backup_end(s);
        return;
    }
    if (job_is_paused(job)) {
        return;                         /* resume comes back */
    }
    if (s->sync != MIRROR_SYNC_MODE_NONE && backup_copy_done(s)) {
        backup_end(s);
        return;
    }
    /* sync none, or a hook still copying: look again later */
    block_job_schedule(&s->common, delay_ms ? delay_ms : 50);
}

/* ---- the bitmap --------------------------------------------------------------- */

/* Put the bits taken at the start back into the user's bitmap; with
 * @only_pending, just those of clusters not copied. */
static void bitmap_put_back(BackupJob *s, bool only_pending)
{
    uint64_t off = 0, bytes;
    int64_t at;

    while ((at = bdrv_dirty_bitmap_next_dirty(s->taken, off, s->len,
                                              &bytes)) >= 0) {
        for (uint64_t o = at; o < (uint64_t)at + bytes; ) {
            uint64_t c = o / s->cluster;
            uint64_t next = MIN((c + 1) * s->cluster, (uint64_t)at + bytes);

            if (!only_pending || bdrv_cbw_to_copy(s->cbw, c)) {
                bdrv_set_dirty_bitmap(s->bitmap, o, next - o);
            }
            o = next;
        }
        off = at + bytes;
    }
}

/* The user's bitmap at the end (QEMU's bitmap-mode semantics). */
static void bitmap_settle(BackupJob *s, bool success)
{
    if (!s->bitmap) {
        return;
    }
    switch (s->bitmap_mode) {
    case BITMAP_SYNC_MODE_ON_SUCCESS:
        if (!success) {
            bitmap_put_back(s, false);
        }
        break;
    case BITMAP_SYNC_MODE_ALWAYS:
        bitmap_put_back(s, true);
        break;
    default:
        bitmap_put_back(s, false);
        break;
    }
    bdrv_dirty_bitmap_set_busy(s->bitmap, false);
    bdrv_release_dirty_bitmap(s->taken);
    s->taken = NULL;
    s->bitmap = NULL;
}

/* ---- start and end ------------------------------------------------------------- */

/* What the sync mode copies: the initial pending bits. */
static bool backup_mark_initial(BackupJob *s, GError **errp)
{
    BlockDriverState *src = s->common.bs;
    uint64_t off = 0;

    switch (s->sync) {
    case MIRROR_SYNC_MODE_FULL:
    case MIRROR_SYNC_MODE_NONE:
        bdrv_cbw_mark(s->cbw, 0, s->len);
        return true;
    case MIRROR_SYNC_MODE_TOP:
        while (off < s->len) {
            uint64_t pnum = 0;
            int r = bdrv_is_allocated_above(src, bdrv_backing(src), off,
                                            s->len - off, &pnum, errp);

            if (r < 0) {
                return false;
            }
            pnum = MAX(pnum, 1);
            if (r) {
                bdrv_cbw_mark(s->cbw, off, pnum);
            }
            off += pnum;
        }
        return true;
    default: {                          /* incremental, bitmap */
        uint64_t bytes;
        int64_t at;

        while ((at = bdrv_dirty_bitmap_next_dirty(s->taken, off, s->len,
                                                  &bytes)) >= 0) {
            bdrv_cbw_mark(s->cbw, at, bytes);
            off = at + bytes;
        }
        return true;
    }
    }
}

static void backup_start(Job *job)
{
    BackupJob *s = backup_of(job);

    if (s->error) {
        backup_end(s);          /* backup_job_run could not mark */
        return;
    }
    backup_update_progress(s);
    block_job_schedule(&s->common, 0);
}

/* No guest write copies once this returns, and the filter is out of the
 * graph: the source's parents have it back. */
static void backup_unhook(BackupJob *s)
{
    if (s->hooked) {
        bdrv_cbw_stop(s->cbw);
        s->hooked = false;
        bdrv_filter_node_remove(s->common.filter);
    }
}

/* The filter goes, and its cluster bits with it (after bitmap_settle). */
static void backup_drop_filter(BackupJob *s)
{
    if (s->common.filter) {
        bdrv_unref(s->common.filter);
        s->common.filter = NULL;
        s->cbw = NULL;
    }
}

static void backup_end(BackupJob *s)
{
    GError *err = NULL;
    bool success;

    s->ending = true;
    /* No new copy-before-write; a running one finishes first. */
    backup_unhook(s);
    if (!s->error && !job_is_cancelled(s->common.job) &&
        !bdrv_flush(s->common.target, &err)) {
        s->error = g_strdup(err->message);
        g_error_free(err);
    }
    success = !s->error && !job_is_cancelled(s->common.job);
    bitmap_settle(s, success);
    backup_drop_filter(s);
    job_completed(s->common.job, s->error);
}

static void backup_resume(Job *job)
{
    BackupJob *s = backup_of(job);

    block_job_iostatus_reset(&s->common);
    block_job_schedule(&s->common, 0);
}

static void backup_pause(Job *job)
{
    /* backup_iterate starts nothing while paused; copies in flight end.
     * Guest writes still copy first: the point in time must hold. */
}

static void backup_cancel(Job *job, bool force)
{
    block_job_schedule(&backup_of(job)->common, 0);
}

static void backup_set_speed(BlockJob *bj, int64_t speed)
{
    BackupJob *s = (BackupJob *)bj;

    s->common.next_allowed_ns = 0;
    if (!s->ending) {
        block_job_schedule(&s->common, 0);
    }
}

static void backup_clean_state(BackupJob *s)
{
    block_job_unschedule(&s->common);
    backup_unhook(s);
    if (s->bitmap) {
        bitmap_settle(s, false);
    }
    backup_drop_filter(s);
    if (s->common.target) {
        bdrv_unref(s->common.target);
        s->common.target = NULL;
    }
    if (s->common.bs) {
        bdrv_unref(s->common.bs);
        s->common.bs = NULL;
    }
}

static void backup_clean(Job *job)
{
    backup_clean_state(backup_of(job));
}

static void backup_free_state(BackupJob *s)
{
    backup_clean_state(s);
    g_free(s->error);
    g_free(s);
}

static void backup_free(Job *job)
{
    backup_free_state(backup_of(job));
}

static const JobDriver backup_job_driver = {
    .type = JOB_TYPE_BACKUP,
    .start = backup_start,
    .pause = backup_pause,
    .resume = backup_resume,
    .cancel = backup_cancel,
    .clean = backup_clean,
    .free = backup_free,
    .event_pending = block_job_event_pending,
    .event_finished = block_job_event_finished,
};

/* ---- QMP ------------------------------------------------------------------------ */

/* QEMU's default job id: the name of the backend @bs is the medium of
 * ("" for a node no named backend uses, which job_create refuses). */
static const char *backend_name_of(BlockDriverState *bs)
{
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == bs && *blk_name(blk)) {
            return blk_name(blk);
        }
    }
    return "";
}

/*
 * QEMU's checks of the sync mode, the bitmap and its mode, in its order;
 * *@bm: the bitmap to copy by (NULL: none).  incremental becomes bitmap
 * with bitmap-mode on-success.
 */
static bool backup_check_bitmap(BlockDriverState *src, BackupCommon *a,
                                BdrvDirtyBitmap **bm, GError **errp)
{
    *bm = NULL;
    if ((a->sync == MIRROR_SYNC_MODE_INCREMENTAL ||
         a->sync == MIRROR_SYNC_MODE_BITMAP) && !a->bitmap) {
        error_setg(errp, "must provide a valid bitmap name for '%s' sync "
                   "mode", MirrorSyncMode_str[a->sync]);
        return false;
    }
    if (a->sync == MIRROR_SYNC_MODE_INCREMENTAL) {
        if (a->has_bitmap_mode &&
            a->bitmap_mode != BITMAP_SYNC_MODE_ON_SUCCESS) {
            error_setg(errp, "Bitmap sync mode must be '%s' when using sync "
                       "mode '%s'",
                       BitmapSyncMode_str[BITMAP_SYNC_MODE_ON_SUCCESS],
                       MirrorSyncMode_str[a->sync]);
            return false;
        }
        a->has_bitmap_mode = true;
        a->bitmap_mode = BITMAP_SYNC_MODE_ON_SUCCESS;
        a->sync = MIRROR_SYNC_MODE_BITMAP;
    }
    if (!a->bitmap) {
        if (a->has_bitmap_mode) {
            error_setg(errp, "Cannot specify bitmap sync mode without a "
                       "bitmap");
            return false;
        }
        return true;
    }
    *bm = bdrv_find_dirty_bitmap(src, a->bitmap);
    if (!*bm) {
        error_setg(errp, "Bitmap '%s' could not be found", a->bitmap);
        return false;
    }
    if (!a->has_bitmap_mode) {
        error_setg(errp, "Bitmap sync mode must be given when providing a "
                   "bitmap");
        return false;
    }
    if (!bdrv_dirty_bitmap_check(*bm, BDRV_BITMAP_ALLOW_RO, errp)) {
        return false;
    }
    if (a->sync == MIRROR_SYNC_MODE_NONE) {
        error_setg(errp, "sync mode '%s' does not produce meaningful bitmap "
                   "outputs", MirrorSyncMode_str[a->sync]);
        return false;
    }
    if (a->sync != MIRROR_SYNC_MODE_BITMAP &&
        a->bitmap_mode == BITMAP_SYNC_MODE_NEVER) {
        error_setg(errp, "Bitmap sync mode '%s' has no meaningful effect "
                   "when combined with sync mode '%s'",
                   BitmapSyncMode_str[a->bitmap_mode],
                   MirrorSyncMode_str[a->sync]);
        return false;
    }
    return true;
}

/* x-perf's limits, QEMU's checks and words. */
static bool backup_check_perf(const BackupPerf *perf, uint64_t cluster,
                              GError **errp)
{
    if (!perf) {
        return true;
    }
    if (perf->has_max_workers &&
        (perf->max_workers < 1 || perf->max_workers > INT_MAX)) {
        error_setg(errp, "max-workers must be between 1 and %d", INT_MAX);
        return false;
    }
    if (perf->has_max_chunk && perf->max_chunk < 0) {
        error_setg(errp, "max-chunk must be zero (which means no limit) or "
                   "positive");
        return false;
    }
    if (perf->has_max_chunk && perf->max_chunk &&
        (uint64_t)perf->max_chunk < cluster) {
        error_setg(errp, "Required max-chunk (%" PRId64 ") is less than "
                   "backup cluster size (%" PRIu64 ")", perf->max_chunk,
                   cluster);
        return false;
    }
    return true;
}

/* Clusters per copy request: max-chunk's whole clusters, at most
 * BACKUP_CHUNK (the copy buffer), at least one. */
static uint64_t backup_chunk_clusters(const BackupPerf *perf, uint64_t cluster)
{
    uint64_t bytes = BACKUP_CHUNK;

    if (perf && perf->has_max_chunk && perf->max_chunk) {
        bytes = MIN(bytes, (uint64_t)perf->max_chunk);
    }
    return MAX(bytes / cluster, 1);
}

/*
 * The checks QEMU makes, in its order: *@bm the bitmap to copy by (or
 * NULL), *@id the job's id.  Nothing changes.
 */
static bool backup_check(BlockDriverState *src, BlockDriverState *target,
                         BackupCommon *a, BdrvDirtyBitmap **bm,
                         const char **id, GError **errp)
{
    if (src == target) {
        error_setg(errp, "Source and target cannot be the same");
        return false;
    }
    if (!backup_check_bitmap(src, a, bm, errp)) {
        return false;
    }
    /* QEMU blocks the target and the filters; backups may share a
     * source (their filters stack). */
    if (!block_job_check_busy(target, errp) ||
        !block_job_check_busy_sharing(src, JOB_TYPE_BACKUP, errp)) {
        return false;
    }
    if (bdrv_getlength(src) != bdrv_getlength(target)) {
        error_setg(errp, "Source and target image have different sizes");
        return false;
    }
    if (a->has_compress && a->compress &&
        !target->drv->pwrite_compressed) {
        error_setg(errp, "Compression is not supported for this drive %s",
                   bdrv_node_name(target));
        return false;
    }
    if (!backup_check_perf(a->x_perf, bdrv_cbw_cluster_for(target), errp)) {
        return false;
    }
    if (bdrv_is_read_only(target)) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    /* QEMU creates the job (which checks the id) before the speed. */
    *id = a->job_id ? a->job_id : backend_name_of(src);
    if (!**id) {
        error_setg(errp, "Invalid job ID ''");
        return false;
    }
    if (job_get(*id)) {
        error_setg(errp, "Job ID '%s' already in use", *id);
        return false;
    }
    if (a->has_speed && a->speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    return true;
}

/* The job for checked arguments (not started; references of its own). */
static BackupJob *backup_job_new(BlockDriverState *src,
                                 BlockDriverState *target, BackupCommon *a,
                                 BdrvDirtyBitmap *bm, const char *id,
                                 GError **errp)
{
    BackupJob *s;
    BlockDriverState *filter;
    uint64_t cluster = bdrv_cbw_cluster_for(target);

    /* The filter first: its name is the one check left that can fail. */
    filter = bdrv_cbw_new(src, a->filter_node_name, target, cluster,
                          backup_chunk_clusters(a->x_perf, cluster),
                          a->has_compress && a->compress, errp);
    if (!filter) {
        return NULL;
    }
    s = g_new0(BackupJob, 1);
    s->common.filter = filter;
    s->cbw = bdrv_cbw_state(filter);
    s->common.bs = src;
    s->common.target = target;
    s->common.speed = a->has_speed ? a->speed : 0;
    s->common.iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    s->common.set_speed = backup_set_speed;
    s->common.iterate = backup_step;
    s->sync = a->sync;
    s->bitmap = bm;
    s->bitmap_mode = a->has_bitmap_mode ? a->bitmap_mode
                                        : BITMAP_SYNC_MODE_ON_SUCCESS;
    s->on_source_error = a->has_on_source_error ? a->on_source_error
                                                : BLOCKDEV_ON_ERROR_REPORT;
    s->on_target_error = a->has_on_target_error ? a->on_target_error
                                                : BLOCKDEV_ON_ERROR_REPORT;
    s->cluster = cluster;
    s->len = bdrv_getlength(src);
    s->nclusters = bdrv_cbw_clusters(s->cbw);
    s->chunk_clusters = backup_chunk_clusters(a->x_perf, cluster);
    s->max_in_flight = a->x_perf && a->x_perf->has_max_workers
                       ? (unsigned)a->x_perf->max_workers
                       : BACKUP_MAX_IN_FLIGHT;
    s->common.job = job_create(id, &backup_job_driver, s,
                               a->has_auto_finalize ? a->auto_finalize : true,
                               a->has_auto_dismiss ? a->auto_dismiss : true,
                               errp);
    if (!s->common.job) {
        s->common.bs = NULL;
        s->common.target = NULL;
        s->bitmap = NULL;
        backup_free_state(s);
        return NULL;
    }
    bdrv_ref(src);
    bdrv_ref(target);
    if (bm) {
        bdrv_dirty_bitmap_set_busy(bm, true);
    }
    return s;
}

/*
 * The checks QEMU makes and the job, not started yet: the caller
 * (blockdev-backup, drive-backup) starts it with backup_job_run().
 */
BackupJob *backup_job_prepare(BlockDriverState *src, BlockDriverState *target,
                              BackupCommon *a, GError **errp)
{
    BdrvDirtyBitmap *bm;
    const char *id;

    if (!backup_check(src, target, a, &bm, &id, errp)) {
        return NULL;
    }
    return backup_job_new(src, target, a, bm, id, errp);
}

/*
 * The point in time: from here every guest write to the source first
 * copies what it overwrites, and the bitmap's bits are taken; the
 * filter takes the source's place in its parents.  The caller has
 * drained the guest's requests (big lock held).
 */
void backup_job_run(BackupJob *s)
{
    GError *err = NULL;

    if (s->bitmap) {
        /* Its bits now; it goes on recording from empty (QEMU's
         * successor), and bitmap_settle decides what comes back. */
        s->taken = bdrv_dirty_bitmap_copy(s->bitmap, false);
        bdrv_clear_dirty_bitmap(s->bitmap);
    }
    bdrv_filter_node_insert(s->common.filter, s->common.target);
    /* What is to copy is marked now, with the hook: the job's start runs
     * later (an idle callback), and a guest write before it must copy
     * too.  A failure ends the job when it starts. */
    if (!backup_mark_initial(s, &err)) {
        s->error = g_strdup(err->message);
        g_error_free(err);
    }
    bdrv_cbw_start(s->cbw);
    s->hooked = true;
}

void qmp_blockdev_backup(BlockdevBackup *arg, GError **errp)
{
    BlockDriverState *src = blk_lookup_device_or_node(arg->device, errp);
    BlockDriverState *target;
    BackupJob *s;

    if (!src) {
        return;
    }
    target = blk_lookup_device_or_node(arg->target, errp);
    if (!target) {
        return;
    }
    s = backup_job_prepare(src, target, qapi_BlockdevBackup_base(arg), errp);
    if (s) {
        blk_drain_all();
        backup_job_run(s);
    }
}

/* drive-backup's backing node for its target, as QEMU links it: top,
 * the source's backing node; none, the source itself; full, none. */
static BlockDriverState *drive_backup_backing(DriveBackup *arg,
                                              BlockDriverState *src)
{
    switch (arg->sync) {
    case MIRROR_SYNC_MODE_TOP:
        return bdrv_backing(src);
    case MIRROR_SYNC_MODE_NONE:
        return src;
    default:
        return NULL;
    }
}

/* drive-backup's target, created unless @mode is existing: over the
 * backing node's image. */
static bool drive_backup_create(DriveBackup *arg, BlockDriverState *src,
                                const char *format, GError **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    BlockDriverState *backing = drive_backup_backing(arg, src);

    if (backing) {
        g_hash_table_insert(opts, (char *)"backing_file",
                            (char *)bdrv_filename(backing));
        g_hash_table_insert(opts, (char *)"backing_fmt",
                            (char *)bdrv_format_name(backing));
    }
    return bdrv_create(format, arg->target, bdrv_getlength(src), opts, errp);
}

/*
 * drive-backup's source and its target, created (unless @mode is
 * existing) and opened; the caller drops its reference to the target.
 * NULL: nothing opened.
 */
static BlockDriverState *drive_backup_open(DriveBackup *arg,
                                           BlockDriverState **srcp,
                                           GError **errp)
{
    bool existing = arg->has_mode && arg->mode == NEW_IMAGE_MODE_EXISTING;
    BlockDriverState *src = blk_lookup_device_or_node(arg->device, errp);
    const char *format = arg->format;
    BlockDriverState *target, *backing;
    int flags;

    if (!src) {
        return NULL;
    }
    if (!format && !existing) {
        format = bdrv_format_name(src);
    }
    if (format && !bdrv_find_format(format)) {
        error_setg(errp, existing ? "Unknown driver '%s'"
                                  : "Unknown file format '%s'", format);
        return NULL;
    }
    if (!existing && !drive_backup_create(arg, src, format, errp)) {
        return NULL;
    }
    /* The image's backing file is open already (the source's chain):
     * the target links to that node instead of opening it again. */
    backing = drive_backup_backing(arg, src);
    flags = (bdrv_open_flags(src) | BDRV_O_RDWR) &
            ~(BDRV_O_SNAPSHOT | BDRV_O_CHECK);
    if (backing) {
        flags |= BDRV_O_NO_BACKING;
    }
    target = bdrv_open(arg->target, format, flags, errp);
    if (!target) {
        return NULL;
    }
    if (backing && !target->backing) {
        bdrv_ref(backing);
        target->backing = backing;
        target->flags &= ~BDRV_O_NO_BACKING;
    }
    *srcp = src;
    return target;
}

void qmp_drive_backup(DriveBackup *arg, GError **errp)
{
    BlockDriverState *src, *target = drive_backup_open(arg, &src, errp);
    BackupJob *s;

    if (!target) {
        return;
    }
    s = backup_job_prepare(src, target, qapi_DriveBackup_base(arg), errp);
    if (s) {
        blk_drain_all();
        backup_job_run(s);
    }
    bdrv_unref(target);
}

/* ---- the transaction's blockdev-backup and drive-backup actions -------- */

typedef struct BackupTxn {
    BlockDriverState *src, *target;     /* referenced */
    BackupCommon *args;                 /* the action's, while it runs */
    BdrvDirtyBitmap *bm;
    const char *id;
    BackupJob *job;                     /* after commit */
} BackupTxn;

/* The point in time is the transaction's: every action prepared, the
 * guest's requests drained, then the job starts. */
static bool backup_txn_commit(void *opaque, GError **errp)
{
    BackupTxn *t = opaque;

    t->job = backup_job_new(t->src, t->target, t->args, t->bm, t->id, errp);
    if (!t->job) {
        return false;
    }
    backup_job_run(t->job);
    return true;
}

/* A later action failed: the started job goes, as a cancelled one. */
static void backup_txn_abort(void *opaque)
{
    BackupTxn *t = opaque;

    if (t->job) {
        job_user_cancel(t->job->common.job, true, NULL);
    }
}

static void backup_txn_free(void *opaque)
{
    BackupTxn *t = opaque;

    bdrv_unref(t->src);
    bdrv_unref(t->target);
    g_free(t);
}

static const BlockTxnActionOps backup_txn_ops = {
    .commit = backup_txn_commit,
    .abort = backup_txn_abort,
    .free = backup_txn_free,
};

/* Check the action and add it to @prepared (references taken). */
static bool backup_txn_add(BlockDriverState *src, BlockDriverState *target,
                           BackupCommon *a, GPtrArray *prepared,
                           GError **errp)
{
    BdrvDirtyBitmap *bm;
    const char *id;
    BackupTxn *t;

    if (!backup_check(src, target, a, &bm, &id, errp)) {
        return false;
    }
    t = g_new0(BackupTxn, 1);
    t->src = src;
    t->target = target;
    bdrv_ref(src);
    bdrv_ref(target);
    t->args = a;
    t->bm = bm;
    t->id = id;
    block_txn_add(prepared, &backup_txn_ops, t);
    return true;
}

bool backup_txn_prepare(BlockdevBackup *arg, GPtrArray *prepared,
                        GError **errp)
{
    BlockDriverState *src = blk_lookup_device_or_node(arg->device, errp);
    BlockDriverState *target = src ? blk_lookup_device_or_node(arg->target, errp) : NULL;

    return target && backup_txn_add(src, target,
                                    qapi_BlockdevBackup_base(arg),
                                    prepared, errp);
}

/* drive-backup's target is made when the action is prepared (as QEMU
 * does); a transaction that fails later leaves the image behind. */
bool drive_backup_txn_prepare(DriveBackup *arg, GPtrArray *prepared,
                              GError **errp)
{
    BlockDriverState *src, *target = drive_backup_open(arg, &src, errp);
    bool ok;

    if (!target) {
        return false;
    }
    ok = backup_txn_add(src, target, qapi_DriveBackup_base(arg), prepared,
                        errp);
    bdrv_unref(target);
    return ok;
}
