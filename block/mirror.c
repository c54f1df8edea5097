/*
 * The mirror block job: QMP drive-mirror and blockdev-mirror (QEMU 7.2's
 * arguments, events and wording; qapi/block-job.json).  The same copy
 * loop runs block-commit (active: a mirror from the top into the base;
 * intermediate: no READY, the overlay is relinked to the base) and
 * block-stream (copies into the top, synchronously per chunk, then
 * relinks it); block/commit.c has their QMP commands.
 *
 * A dirty bitmap over the source at the job's granularity (the node's
 * write hook, block/dirty-bitmap.c, sets it for every guest write that
 * completes while the job runs).  The first pass marks what the source
 * holds (sync full/top: every range that does not read as zeroes, or
 * everything when the target is not known to be zero; sync none: nothing).
 * The copy loop runs on the main loop: it takes the next dirty run,
 * clears its bits, and copies it on a worker thread (block status of the
 * source; zero ranges become write-zeroes on the target, the rest is read
 * and written), with at most buf-size bytes in flight and at most @speed
 * bytes per second.  When the bitmap is clean and nothing is in flight the
 * job is READY (BLOCK_JOB_READY) and goes on copying what the guest
 * writes.  block-job-complete (or a cancel after READY) then waits for the
 * guest's requests (blk_drain_all), copies what is still dirty with the
 * big lock held (no new guest request can start), flushes the target and,
 * for complete, points the device's BlockBackend at the target (pivot).
 *
 * copy-mode write-blocking (QEMU's active mirroring): the source's after-
 * write hook (bdrv_set_after_write, block/block.c) copies the granules
 * each guest write touched to the target before the guest's request
 * completes, so the job converges whatever the guest's write rate
 * (mirror_active_write; docs/block.md "Copy modes").
 *
 * sync top over a backing file copies what the top layer allocates; a
 * target drive-mirror creates gets the source's backing file.
 *
 * Mirror, commit and stream put a filter node above the node they work on
 * while they run (block/filter-node.c: mirror_top for a mirror and an
 * active commit, commit_top for an intermediate one, copy-on-read for a
 * stream; named filter-node-name, else implicit; drive-mirror has no
 * filter-node-name, as in QEMU 7.2), as QEMU 7.2 does; it leaves the graph
 * before the job relinks or pivots, or when the job is cleaned up after
 * a cancel or an error.
 *
 * Not done (refused with an error, see docs/block.md): sync
 * incremental/bitmap, sync none with a target this command creates,
 * sources in an I/O thread's context.
 */
#include "qemu/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "block/block-int.h"
#include "block/filter-node.h"
#include "qapi/qapi-commands.h"

#define MIRROR_DEFAULT_BUF_SIZE (16 * MiB)
#define MIRROR_MAX_CHUNK        (1 * MiB)
#define MIRROR_IDLE_POLL_MS     50              /* READY: look for writes */
#define MIRROR_ACTIVE_MAX_BITS  (8 * MiB)       /* write-blocking's bitmap */

typedef struct MirrorJob {
    BlockJob common;                /* first: the Job's opaque */
    MirrorMode mode;
    BlockDriverState *target;
    /* commit: the base (== target); stream: the new backing node (NULL:
     * none); both referenced.  Intermediate commit: the node whose
     * backing node is the top (referenced). */
    BlockDriverState *base;
    BlockDriverState *overlay;
    char *backing_file;             /* the name the relinked node records */
    bool base_reopened;             /* commit made the base writable */
    bool filter_inserted;           /* common.filter is in the graph */
    bool pivoted;
    BdrvDirtyBitmap *bm;
    uint32_t granularity;
    uint64_t buf_size;
    uint64_t in_flight_bytes;
    unsigned in_flight;
    GSList *ops;                    /* MirrorOp * in flight */
    uint64_t cursor;                /* where the next dirty run is looked for */
    bool target_zeroed;             /* a new image: unallocated reads zero */
    bool unmap;                     /* zero ranges may be discarded */
    MirrorSyncMode sync;
    BlockdevOnError on_source_error, on_target_error;
    bool should_complete;           /* block-job-complete: pivot at the end */
    bool finishing;                 /* the final drain and copy run */
    char *error;                    /* a reported error ends the job */
    /*
     * copy-mode write-blocking: the source's after-write hook copies what
     * each guest write changed before the write completes.  @lock guards
     * @ops, the ops' started/work_done, @active, @active_done and
     * @active_err, which the hook's thread and the main loop share.
     */
    bool write_blocking;
    bool hooked;                    /* @hook is installed on the source */
    BdrvAfterWrite hook;
    uint64_t length;                /* the source's size */
    GMutex lock;
    GCond cond;                     /* an op's copy or an active copy ended */
    GSList *active;                 /* MirrorOp * of guest writes, copying */
    uint64_t active_done;           /* bytes they copied, not in progress */
    GError *active_err;             /* the first failed one, main loop's */
    bool active_err_read;           /* it failed reading the source */
    gint active_off;                /* atomic: copy guest writes no more */
} MirrorJob;

typedef struct MirrorOp {
    MirrorJob *s;
    BlockDriverState *src, *target;
    uint64_t offset, bytes;
    bool unmap;
    void *buf;
    GError *err;
    bool read_failed;
    bool started, work_done;        /* the worker's copy (under s->lock) */
} MirrorOp;

static void mirror_iterate(MirrorJob *s);

/* BlockJob.iterate */
static void mirror_step(BlockJob *bj)
{
    mirror_iterate((MirrorJob *)bj);
}
static void stream_copy_range(MirrorOp *op);

static MirrorJob *mirror_of(Job *job)
{
    return job_opaque(job);
}

/* ---- scheduling ---------------------------------------------------------- */

static void mirror_update_progress(MirrorJob *s)
{
    int64_t done = job_progress_done(s->common.job);

    /* What guest writes copied (write-blocking) counts as done, as the
     * bytes QEMU adds to both the length and the offset. */
    g_mutex_lock(&s->lock);
    done += s->active_done;
    s->active_done = 0;
    g_mutex_unlock(&s->lock);
    job_progress_update(s->common.job, done);

    job_progress_set_total(s->common.job,
                           done + bdrv_get_dirty_count(s->bm) +
                           s->in_flight_bytes);
}

/* ---- one copy: on a worker ----------------------------------------------- */

static bool reads_as_zero(int status)
{
    return (status & BDRV_BLOCK_ZERO) || !(status & BDRV_BLOCK_DATA);
}

/* Copy [offset, offset + bytes) extent by extent; the first error stops. */
static void mirror_copy_range(MirrorOp *op)
{
    uint64_t off = op->offset, end = op->offset + op->bytes;

    while (off < end) {
        uint64_t pnum = 0, map;
        BlockDriverState *file;
        int depth;
        int st = bdrv_block_status_above(op->src, off, end - off, &pnum,
                                         &map, &file, &depth, &op->err);

        if (st < 0) {
            op->read_failed = true;
            return;
        }
        pnum = MIN(MAX(pnum, 1), end - off);
        if (reads_as_zero(st)) {
            if (!bdrv_pwrite_zeroes(op->target, off, pnum,
                                    op->unmap ? BDRV_REQ_MAY_UNMAP : 0,
                                    &op->err)) {
                return;
            }
        } else {
            void *buf = (uint8_t *)op->buf + (off - op->offset);

            if (!bdrv_pread(op->src, off, pnum, buf, &op->err)) {
                op->read_failed = true;
                return;
            }
            if (!bdrv_pwrite(op->target, off, pnum, buf, &op->err)) {
                return;
            }
        }
        off += pnum;
    }
}

static void mirror_op_work(void *opaque)
{
    MirrorOp *op = opaque;
    MirrorJob *s = op->s;

    g_mutex_lock(&s->lock);
    op->started = true;
    g_mutex_unlock(&s->lock);
    mirror_copy_range(op);
    g_mutex_lock(&s->lock);
    op->work_done = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static void mirror_op_free(MirrorOp *op)
{
    if (op->err) {
        g_error_free(op->err);
    }
    free(op->buf);
    g_free(op);
}

/* A copy's error as the job reports it: QEMU's is the errno's text. */
static char *mirror_io_error_text(const GError *err)
{
    return g_strdup(g_strerror(bdrv_error_errno(err)));
}

/* Main loop: account for a finished copy; an error follows the policy. */
static void mirror_op_done(void *opaque)
{
    MirrorOp *op = opaque;
    MirrorJob *s = op->s;

    s->in_flight--;
    s->in_flight_bytes -= op->bytes;
    g_mutex_lock(&s->lock);
    s->ops = g_slist_remove(s->ops, op);
    g_mutex_unlock(&s->lock);
    s->common.busy = s->in_flight > 0;
    if (op->err) {
        bool is_read = op->read_failed;
        BlockErrorAction action;

        /* Not copied: copy it again later (ignore, stop) or never. */
        bdrv_set_dirty_bitmap(s->bm, op->offset, op->bytes);
        action = block_job_error_action(&s->common,
                                        is_read ? s->on_source_error
                                                : s->on_target_error,
                                        is_read, bdrv_error_errno(op->err));
        if (action == BLOCK_ERROR_ACTION_REPORT && !s->error) {
            s->error = mirror_io_error_text(op->err);
        }
    } else {
        job_progress_update(s->common.job,
                            job_progress_done(s->common.job) + op->bytes);
    }
    mirror_update_progress(s);
    mirror_op_free(op);
    block_job_schedule(&s->common, 0);
}

static bool mirror_issue(MirrorJob *s, uint64_t offset, uint64_t bytes)
{
    MirrorOp *op = g_new0(MirrorOp, 1);

    if (posix_memalign(&op->buf, 4096, bytes)) {
        g_free(op);
        return false;
    }
    op->s = s;
    op->src = s->common.bs;
    op->target = s->target;
    op->offset = offset;
    op->bytes = bytes;
    op->unmap = s->unmap;
    bdrv_reset_dirty_bitmap(s->bm, offset, bytes);
    s->in_flight++;
    s->in_flight_bytes += bytes;
    g_mutex_lock(&s->lock);
    s->ops = g_slist_prepend(s->ops, op);
    g_mutex_unlock(&s->lock);
    s->common.busy = true;
    if (s->mode == MIRROR_MODE_STREAM) {
        /* The stream writes the node the guest writes: with no guest
         * request in flight and none able to start (big lock), the
         * "still unallocated in the top" test and the copy are one step. */
        blk_drain_all();
        stream_copy_range(op);
        /* the copy's own writes marked the range: it is done */
        bdrv_reset_dirty_bitmap(s->bm, offset, bytes);
        mirror_op_done(op);
        return true;
    }
    thread_pool_submit(mirror_op_work, mirror_op_done, op, NULL);
    return true;
}

/* ---- the loop -------------------------------------------------------------- */

/* The longest copy to start now: what buf-size leaves, at most 1 MiB,
 * and with a speed limit one slice's worth, so the limit shows in the
 * progress; never less than a granule. */
static uint64_t mirror_chunk_max(MirrorJob *s)
{
    uint64_t max = MIN(MIRROR_MAX_CHUNK, s->buf_size - s->in_flight_bytes);

    if (s->common.speed) {
        max = MIN(max, (uint64_t)s->common.speed *
                       BLOCK_JOB_SLICE_NS / 1000000000LL);
    }
    return MAX(ALIGN_DOWN(max, s->granularity), s->granularity);
}

/* Does an op in @list (MirrorOp *) overlap the range?  @only_copying:
 * only a background op whose worker is copying now counts. */
static bool overlaps_op_in(GSList *list, uint64_t offset, uint64_t bytes,
                           bool only_copying)
{
    for (GSList *l = list; l; l = l->next) {
        MirrorOp *op = l->data;

        if ((!only_copying || (op->started && !op->work_done)) &&
            ranges_overlap(offset, bytes, op->offset, op->bytes)) {
            return true;
        }
    }
    return false;
}

/*
 * Is a copy of an overlapping range in flight?  A second copy of the same
 * range (written again meanwhile) must not start: the older one could
 * reach the target last and leave stale data under a clean bit.
 * A guest write's copy in flight counts too.
 */
static bool mirror_overlaps_in_flight(MirrorJob *s, uint64_t offset,
                                      uint64_t bytes)
{
    bool busy;

    g_mutex_lock(&s->lock);
    busy = overlaps_op_in(s->ops, offset, bytes, false) ||
           overlaps_op_in(s->active, offset, bytes, false);
    g_mutex_unlock(&s->lock);
    return busy;
}

/* The next dirty run to copy (wrapping once to the start), or false. */
static bool mirror_next_dirty(MirrorJob *s, uint64_t max, uint64_t *offset,
                              uint64_t *bytes)
{
    int64_t off = bdrv_dirty_bitmap_next_dirty(s->bm, s->cursor, max, bytes);

    if (off < 0 && s->cursor) {
        s->cursor = 0;
        off = bdrv_dirty_bitmap_next_dirty(s->bm, 0, max, bytes);
    }
    if (off < 0) {
        return false;
    }
    *offset = off;
    s->cursor = off + *bytes;
    return true;
}

/* ---- copy-mode write-blocking ------------------------------------------ */

/*
 * The source's after-write hook, on the guest request's thread: the
 * granules a guest write touched are copied to the target before the
 * request completes, so guest writes do not add to what the job must
 * copy and it converges however fast the guest writes (QEMU's "active
 * mirroring").  The granules are read back from the source rather than
 * taken from the guest's buffer: two overlapping guest writes may reach
 * the source in one order and this hook in the other, and a copy of what
 * the source holds now is right in either order.  A copy of an
 * overlapping range that is running (a background copy on its worker,
 * another guest write's) ends first; a background copy still queued
 * reads the source after this write, so it is not waited for (the thread
 * pool may be full of guest requests waiting here).  Whole granules are
 * copied so that their bits can be cleared.  A failed copy leaves them
 * dirty and is the job's error, handled on the main loop
 * (mirror_take_active_error); the guest's write succeeded all the same,
 * as with QEMU.
 */
static bool mirror_active_write(void *opaque, uint64_t offset,
                                uint64_t bytes, GError **errp)
{
    MirrorJob *s = opaque;
    uint64_t start = ALIGN_DOWN(offset, s->granularity);
    uint64_t end = MIN(ALIGN_UP(offset + bytes, s->granularity), s->length);
    MirrorOp op = {
        .s = s, .src = s->common.bs, .target = s->target, .offset = start,
        .bytes = end - start, .unmap = s->unmap,
    };

    if (g_atomic_int_get(&s->active_off) || start >= end ||
        posix_memalign(&op.buf, 4096, op.bytes)) {
        return true;            /* the bitmap keeps it for the job's loop */
    }
    g_mutex_lock(&s->lock);
    while (overlaps_op_in(s->ops, start, op.bytes, true) ||
           overlaps_op_in(s->active, start, op.bytes, false)) {
        g_cond_wait(&s->cond, &s->lock);
    }
    s->active = g_slist_prepend(s->active, &op);
    bdrv_reset_dirty_bitmap(s->bm, start, op.bytes);
    g_mutex_unlock(&s->lock);

    mirror_copy_range(&op);

    g_mutex_lock(&s->lock);
    s->active = g_slist_remove(s->active, &op);
    if (!op.err) {
        s->active_done += bytes;        /* QEMU counts the guest's bytes */
    } else {
        bdrv_set_dirty_bitmap(s->bm, start, op.bytes);
        if (!s->active_err) {
            s->active_err = op.err;
            s->active_err_read = op.read_failed;
            op.err = NULL;
        }
    }
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    if (op.err) {
        g_error_free(op.err);
    }
    free(op.buf);
    return true;
}

/* Main loop: a guest write's failed copy follows on-target-error (on-
 * source-error when reading it back failed), as a background copy's. */
static void mirror_take_active_error(MirrorJob *s)
{
    GError *err;
    bool is_read;
    BlockErrorAction action;

    g_mutex_lock(&s->lock);
    err = s->active_err;
    is_read = s->active_err_read;
    s->active_err = NULL;
    g_mutex_unlock(&s->lock);
    if (!err) {
        return;
    }
    action = block_job_error_action(&s->common,
                                    is_read ? s->on_source_error
                                            : s->on_target_error,
                                    is_read, bdrv_error_errno(err));
    if (action == BLOCK_ERROR_ACTION_REPORT && !s->error) {
        s->error = mirror_io_error_text(err);
    }
    if (s->error) {
        g_atomic_int_set(&s->active_off, 1);    /* QEMU: the job failed */
    }
    g_error_free(err);
}

static bool mirror_install_hook(MirrorJob *s)
{
    s->hook.fn = mirror_active_write;
    s->hook.opaque = s;
    s->hooked = bdrv_set_after_write(s->common.bs, &s->hook);
    return s->hooked;
}

static bool mirror_finish(MirrorJob *s, GError **errp);

static void mirror_end(MirrorJob *s)
{
    GError *err = NULL;

    if (s->error || job_is_cancelled(s->common.job)) {
        job_completed(s->common.job, s->error);
        return;
    }
    if (!mirror_finish(s, &err)) {
        g_free(s->error);
        s->error = g_strdup(err->message);
        g_error_free(err);
        job_completed(s->common.job, s->error);
        return;
    }
    job_completed(s->common.job, NULL);
}

static void mirror_iterate(MirrorJob *s)
{
    Job *job = s->common.job;
    bool stopping;
    guint delay_ms = 0;

    if (s->finishing || !s->bm) {
        return;                         /* not started, or ending */
    }
    mirror_take_active_error(s);
    stopping = s->error || job_is_cancelled(job);
    while (!stopping && !job_is_paused(job) &&
           s->in_flight_bytes < s->buf_size) {
        uint64_t max = mirror_chunk_max(s);
        uint64_t off, bytes;

        if (!block_job_rate_ok(&s->common, &delay_ms)) {
            break;
        }
        if (!mirror_next_dirty(s, max, &off, &bytes)) {
            break;
        }
        if (mirror_overlaps_in_flight(s, off, bytes)) {
            s->cursor = off;            /* after that copy ends */
            break;
        }
        if (!mirror_issue(s, off, bytes)) {
            s->error = g_strdup("Cannot allocate memory");
            stopping = true;
            break;
        }
        block_job_rate_account(&s->common, bytes);
        if (s->mode == MIRROR_MODE_STREAM) {
            return;             /* one synchronous copy per turn */
        }
    }
    mirror_update_progress(s);
    if (s->in_flight) {
        return;                         /* mirror_op_done comes back */
    }
    if (stopping) {
        mirror_end(s);
        return;
    }
    if (job_is_paused(job)) {
        return;                         /* resume comes back */
    }
    if (!bdrv_get_dirty_count(s->bm)) {
        if (s->mode == MIRROR_MODE_COMMIT || s->mode == MIRROR_MODE_STREAM) {
            s->should_complete = true;  /* no READY: done when copied */
        } else if (!job_is_ready(job)) {
            job_transition_to_ready(job);
        }
        if (s->should_complete || job_cancel_requested(job)) {
            mirror_end(s);
            return;
        }
    }
    block_job_schedule(&s->common, delay_ms ? delay_ms : MIRROR_IDLE_POLL_MS);
}

/*
 * Converge: no guest request in flight, the rest of the dirty ranges
 * copied with the big lock held, the target flushed; then, for
 * block-job-complete, the device's backend takes the target.
 */
/* Every backend whose root is the source takes the target. */
static bool pivot_devices(MirrorJob *s, GError **errp)
{
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == s->common.bs &&
            !blk_replace_bs(blk, s->target, errp)) {
            return false;
        }
    }
    s->pivoted = true;
    return true;
}

/*
 * @bs's backing node becomes @backing (NULL: none), in the graph and in
 * the image (@name, else the backing node's file name, is what the
 * header records).  A read-only node is made writable for the header
 * write and read-only again.
 */
static bool relink_backing(BlockDriverState *bs, BlockDriverState *backing,
                           const char *name, GError **errp)
{
    BlockDriverState *old = bs->backing;
    bool was_ro = bdrv_is_read_only(bs);
    bool ok;

    if (was_ro && (!bdrv_reopen_rw(bs, true, errp) ||
                   !bdrv_refresh_perms(errp))) {
        return false;
    }
    ok = bdrv_change_backing_file(bs, backing ? (name ? name :
                                                 bdrv_filename(backing))
                                              : NULL,
                                  backing ? bdrv_format_name(backing) : NULL,
                                  errp) &&
         bdrv_flush(bs, errp);
    if (was_ro && bdrv_reopen_rw(bs, false, NULL)) {
        bdrv_refresh_perms(NULL);
    }
    if (!ok) {
        return false;
    }
    if (backing) {
        bdrv_ref(backing);
    }
    bs->backing = backing;
    if (old) {
        bdrv_unref(old);
    }
    bdrv_refresh_perms(NULL);
    return true;
}

/* The job's filter leaves the graph (the filtered node is back in its
 * parents) and goes. */
static void mirror_drop_filter(MirrorJob *s)
{
    if (s->filter_inserted) {
        bdrv_filter_node_remove(s->common.filter);
        s->filter_inserted = false;
    }
    if (s->common.filter) {
        bdrv_unref(s->common.filter);
        s->common.filter = NULL;
    }
}

static bool mirror_finish(MirrorJob *s, GError **errp)
{
    BlockDriverState *src = s->common.bs;
    uint64_t off, bytes;

    s->finishing = true;
    blk_drain_all();
    /* No guest request runs now (big lock): none copies from here on.  A
     * guest write's failed copy left its granules dirty: the loop below
     * copies them again, and fails the job if that fails too. */
    g_atomic_int_set(&s->active_off, 1);
    g_mutex_lock(&s->lock);
    g_clear_error(&s->active_err);
    g_mutex_unlock(&s->lock);
    s->cursor = 0;
    while (mirror_next_dirty(s, MIRROR_MAX_CHUNK, &off, &bytes)) {
        MirrorOp op = {
            .s = s, .src = src, .target = s->target, .offset = off,
            .bytes = bytes, .unmap = s->unmap,
        };

        if (posix_memalign(&op.buf, 4096, bytes)) {
            error_setg(errp, "Cannot allocate memory");
            return false;
        }
        bdrv_reset_dirty_bitmap(s->bm, off, bytes);
        if (s->mode == MIRROR_MODE_STREAM) {
            stream_copy_range(&op);
            bdrv_reset_dirty_bitmap(s->bm, off, bytes);
        } else {
            mirror_copy_range(&op);
        }
        free(op.buf);
        if (op.err) {
            g_propagate_error(errp, op.err);
            return false;
        }
        job_progress_update(s->common.job,
                            job_progress_done(s->common.job) + bytes);
    }
    mirror_update_progress(s);
    if (!bdrv_flush(s->target, errp)) {
        return false;
    }
    if (!s->should_complete || job_cancel_requested(s->common.job)) {
        return true;
    }
    /* The overlay's backing node, the devices' root: the node itself
     * again before they change. */
    mirror_drop_filter(s);
    switch (s->mode) {
    case MIRROR_MODE_COMMIT:
        /* the overlay reads the base where it read the top */
        return relink_backing(s->overlay, s->base, s->backing_file, errp);
    case MIRROR_MODE_STREAM:
        return relink_backing(src, s->base, s->backing_file, errp);
    default:
        return pivot_devices(s, errp);
    }
}

/* ---- the job driver --------------------------------------------------------- */

/* Mark what the layers from @from down to @base (exclusive) hold. */
static bool mark_allocated_between(MirrorJob *s, BlockDriverState *from,
                                   BlockDriverState *base, GError **errp)
{
    uint64_t size = bdrv_getlength(s->common.bs), off = 0;

    while (from && off < size) {
        uint64_t pnum = 0;
        int r = bdrv_is_allocated_above(from, base, off, size - off,
                                        &pnum, errp);

        if (r < 0) {
            return false;
        }
        if (r) {
            bdrv_set_dirty_bitmap(s->bm, off, pnum);
        }
        off += pnum;
    }
    return true;
}

/* Commit: what the layers from the top down to the base hold; stream:
 * what the layers below the top, down to the base, hold. */
static bool mark_allocated_above(MirrorJob *s, GError **errp)
{
    BlockDriverState *from = s->mode == MIRROR_MODE_STREAM
                             ? bdrv_backing(s->common.bs) : s->common.bs;

    return mark_allocated_between(s, from, s->base, errp);
}

/* Stream: copy into the top what it does not hold itself (reads fall
 * through to the chain below), extent by extent. */
static void stream_copy_range(MirrorOp *op)
{
    uint64_t off = op->offset, end = op->offset + op->bytes;

    while (off < end) {
        uint64_t pnum = 0, map;
        BlockDriverState *file;
        int st = bdrv_block_status(op->target, off, end - off, &pnum, &map,
                                   &file, &op->err);

        if (st < 0) {
            op->read_failed = true;
            return;
        }
        pnum = MIN(MAX(pnum, 1), end - off);
        if (!(st & BDRV_BLOCK_ALLOCATED)) {
            void *buf = (uint8_t *)op->buf + (off - op->offset);

            if (!bdrv_pread(op->target, off, pnum, buf, &op->err)) {
                op->read_failed = true;
                return;
            }
            if (!bdrv_pwrite(op->target, off, pnum, buf, &op->err)) {
                return;
            }
        }
        off += pnum;
    }
}

/* The first pass: what the target must get. */
static bool mirror_mark_initial(MirrorJob *s, GError **errp)
{
    BlockDriverState *src = s->common.bs;
    uint64_t size = bdrv_getlength(src), off = 0;

    if (s->mode != MIRROR_MODE_MIRROR) {
        return mark_allocated_above(s, errp);
    }
    if (s->sync == MIRROR_SYNC_MODE_NONE) {
        return true;
    }
    if (s->sync == MIRROR_SYNC_MODE_TOP && bdrv_backing(src)) {
        /* What the top holds; the target reads the rest from its own
         * backing file (QEMU's sync top), whatever the target is. */
        return mark_allocated_between(s, src, bdrv_backing(src), errp);
    }
    if (!s->target_zeroed) {
        bdrv_set_dirty_bitmap(s->bm, 0, size);
        return true;
    }
    while (off < size) {
        uint64_t pnum = 0, map;
        BlockDriverState *file;
        int depth;
        int st = bdrv_block_status_above(src, off, size - off, &pnum, &map,
                                         &file, &depth, errp);

        if (st < 0) {
            return false;
        }
        pnum = MIN(MAX(pnum, 1), size - off);
        if (!reads_as_zero(st)) {
            bdrv_set_dirty_bitmap(s->bm, off, pnum);
        }
        off += pnum;
    }
    return true;
}

static void mirror_start(Job *job)
{
    MirrorJob *s = mirror_of(job);
    GError *err = NULL;

    /* QEMU checks this when the job runs, and fails the job. */
    if (s->mode == MIRROR_MODE_MIRROR &&
        bdrv_getlength(s->target) != bdrv_getlength(s->common.bs)) {
        job_completed(job, "Source and target image have different sizes");
        return;
    }
    s->bm = bdrv_create_dirty_bitmap(s->common.bs, s->granularity);
    s->length = bdrv_getlength(s->common.bs);
    if (s->write_blocking && !mirror_install_hook(s)) {
        job_completed(job, "Cannot copy the guest's writes: another job "
                      "hooks the source's writes");
        return;
    }
    if (!mirror_mark_initial(s, &err)) {
        s->error = g_strdup(err->message);
        g_error_free(err);
        job_completed(job, s->error);
        return;
    }
    mirror_update_progress(s);
    block_job_schedule(&s->common, 0);
}

static void mirror_resume(Job *job)
{
    MirrorJob *s = mirror_of(job);

    block_job_iostatus_reset(&s->common);
    block_job_schedule(&s->common, 0);
}

static bool mirror_complete(Job *job, GError **errp)
{
    MirrorJob *s = mirror_of(job);

    s->should_complete = true;
    block_job_schedule(&s->common, 0);
    return true;
}

static void mirror_cancel(Job *job, bool force)
{
    MirrorJob *s = mirror_of(job);

    /* A READY job cancelled without force converges first, as QEMU's:
     * guest writes go on being copied until then. */
    if (force || !job_is_ready(job)) {
        g_atomic_int_set(&s->active_off, 1);
    }
    /* In-flight copies finish; a paused job stops too. */
    block_job_schedule(&s->common, 0);
}

static void mirror_set_speed(BlockJob *bj, int64_t speed)
{
    MirrorJob *s = (MirrorJob *)bj;

    s->common.next_allowed_ns = 0;
    if (s->bm && !s->finishing) {
        block_job_schedule(&s->common, 0);
    }
}

static void mirror_clean_state(MirrorJob *s)
{
    block_job_unschedule(&s->common);
    mirror_drop_filter(s);
    if (s->hooked) {
        /* returns once no guest request runs the hook */
        bdrv_set_after_write(s->common.bs, NULL);
        s->hooked = false;
    }
    if (s->bm) {
        bdrv_release_dirty_bitmap(s->bm);
        s->bm = NULL;
    }
    if (s->base_reopened && !s->pivoted &&
        bdrv_reopen_rw(s->base, false, NULL)) {
        bdrv_refresh_perms(NULL);       /* a backing node again */
    }
    s->base_reopened = false;
    if (s->base) {
        bdrv_unref(s->base);
        s->base = NULL;
    }
    if (s->overlay) {
        bdrv_unref(s->overlay);
        s->overlay = NULL;
    }
    if (s->target) {
        bdrv_unref(s->target);
        s->target = NULL;
        s->common.target = NULL;
    }
    if (s->common.bs) {
        bdrv_unref(s->common.bs);
        s->common.bs = NULL;
    }
}

static MirrorJob *mirror_job_new(void)
{
    MirrorJob *s = g_new0(MirrorJob, 1);

    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    return s;
}

static void mirror_free_lock(MirrorJob *s)
{
    if (s->active_err) {
        g_error_free(s->active_err);
    }
    g_cond_clear(&s->cond);
    g_mutex_clear(&s->lock);
}

static void mirror_clean(Job *job)
{
    mirror_clean_state(mirror_of(job));
}

static void mirror_free(Job *job)
{
    MirrorJob *s = mirror_of(job);

    mirror_clean(job);
    g_free(s->backing_file);
    g_free(s->error);
    mirror_free_lock(s);
    g_free(s);
}

/* A job that job_create refused (or that failed before it): what the
 * start functions referenced and reopened goes back. */
static void mirror_free_unstarted(MirrorJob *s)
{
    mirror_clean_state(s);
    g_free(s->backing_file);
    mirror_free_lock(s);
    g_free(s);
}

static void mirror_pause(Job *job)
{
    /* mirror_iterate issues nothing while paused; copies in flight end. */
}

#define MIRROR_LIKE_JOB_DRIVER(job_type) {                             \
    .type = (job_type),                                                 \
    .start = mirror_start,                                              \
    .pause = mirror_pause,                                              \
    .resume = mirror_resume,                                            \
    .complete = mirror_complete,                                        \
    .cancel = mirror_cancel,                                            \
    .clean = mirror_clean,                                              \
    .free = mirror_free,                                                \
    .event_ready = block_job_event_ready,                               \
    .event_pending = block_job_event_pending,                           \
    .event_finished = block_job_event_finished,                         \
}

/* One loop, three job types (QEMU's active commit is a mirror too). */
static const JobDriver mirror_job_driver =
    MIRROR_LIKE_JOB_DRIVER(JOB_TYPE_MIRROR);
static const JobDriver commit_job_driver =
    MIRROR_LIKE_JOB_DRIVER(JOB_TYPE_COMMIT);
static const JobDriver stream_job_driver =
    MIRROR_LIKE_JOB_DRIVER(JOB_TYPE_STREAM);

/* ---- QMP -------------------------------------------------------------------- */

typedef struct MirrorArgs {
    const char *job_id;
    MirrorSyncMode sync;
    bool has_speed; int64_t speed;
    bool has_granularity; uint32_t granularity;
    bool has_buf_size; int64_t buf_size;
    bool has_on_source_error; BlockdevOnError on_source_error;
    bool has_on_target_error; BlockdevOnError on_target_error;
    bool has_unmap; bool unmap;
    bool has_copy_mode; MirrorCopyMode copy_mode;
    bool has_auto_finalize; bool auto_finalize;
    bool has_auto_dismiss; bool auto_dismiss;
    const char *filter_node_name;   /* blockdev-mirror's; NULL: implicit */
} MirrorArgs;

/* What QEMU checks before it opens or creates a target. */
static bool mirror_check_args(BlockDriverState *src, const MirrorArgs *a,
                              GError **errp)
{
    /* QEMU's wording: the source is below the running job's filter. */
    if (block_job_on_node(src)) {
        error_setg(errp, "Need a root block node");
        return false;
    }
    if (bdrv_get_aio_context(src) != g_main_context_default()) {
        error_setg(errp, "Mirroring a node used in an I/O thread is not "
                   "supported by kvmpc");
        return false;
    }
    if (a->sync == MIRROR_SYNC_MODE_INCREMENTAL ||
        a->sync == MIRROR_SYNC_MODE_BITMAP) {
        error_setg(errp, "Sync mode '%s' not supported",
                   MirrorSyncMode_str[a->sync]);
        return false;
    }
    if (a->has_speed && a->speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    if (a->has_granularity && a->granularity &&
        (a->granularity < 512 || a->granularity > 64 * MiB)) {
        error_setg(errp, "Parameter 'granularity' expects a value in range "
                   "[512B, 64MB]");
        return false;
    }
    if (a->has_granularity && (a->granularity & (a->granularity - 1))) {
        error_setg(errp, "Parameter 'granularity' expects a power of 2");
        return false;
    }
    if (a->has_buf_size && a->buf_size < 0) {
        error_setg(errp, "Invalid parameter 'buf-size'");
        return false;
    }
    if (a->job_id && !*a->job_id) {
        error_setg(errp, "Invalid job ID ''");
        return false;
    }
    return true;
}

/* QEMU's default: the target's cluster size within [4 KiB, 64 KiB]. */
static uint32_t mirror_default_granularity(BlockDriverState *target)
{
    uint32_t c = bdrv_cluster_size(target);

    return c ? MIN(MAX(c, 4096), 64 * KiB) : 64 * KiB;
}

/*
 * write-blocking without an explicit granularity: a guest write copies
 * the granules it touches whole (mirror_active_write), so a 4 KiB write
 * would copy 64 KiB at QEMU's default.  The finest granule from 4 KiB
 * up whose bitmap stays within MIRROR_ACTIVE_MAX_BITS (1 MiB of memory:
 * 4 KiB up to 32 GiB disks), never coarser than the default.
 */
static uint32_t mirror_active_granularity(uint32_t dflt, uint64_t size)
{
    uint32_t g = 4096;

    while (g < dflt && DIV_ROUND_UP(size, g) > MIRROR_ACTIVE_MAX_BITS) {
        g <<= 1;
    }
    return MIN(g, dflt);
}

/*
 * The job's filter of driver @drv over its node, not in the graph yet,
 * named @node_name (NULL: an implicit "#blockN"); QEMU's errors for a
 * bad filter-node-name (@prefix: block-stream's "Could not create node: ").
 */
static bool mirror_like_filter(MirrorJob *s, const BlockDriver *drv,
                               const char *node_name, bool prefix,
                               GError **errp)
{
    s->common.filter = bdrv_filter_node_new(drv, s->common.bs, node_name,
                                            true, errp);
    if (!s->common.filter) {
        if (prefix) {
            g_prefix_error(errp, "Could not create node: ");
        }
        return false;
    }
    return true;
}

/* Start the job; takes a reference to @src and @target of its own. */
static void mirror_start_job(const char *device, BlockDriverState *src,
                             BlockDriverState *target, bool target_zeroed,
                             const MirrorArgs *a, GError **errp)
{
    MirrorJob *s;
    uint32_t g;

    if (src == target) {
        error_setg(errp, "Can't mirror node into itself");
        return;
    }
    if (bdrv_is_read_only(target)) {
        error_setg(errp, "Block node is read-only");
        return;
    }
    if (a->has_granularity && a->granularity) {
        g = a->granularity;
    } else if (a->has_copy_mode &&
               a->copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING) {
        g = mirror_active_granularity(mirror_default_granularity(target),
                                      bdrv_getlength(src));
    } else {
        g = mirror_default_granularity(target);
    }
    s = mirror_job_new();
    s->common.bs = src;
    s->common.speed = a->has_speed ? a->speed : 0;
    s->common.iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    s->common.set_speed = mirror_set_speed;
    s->common.iterate = mirror_step;
    s->target = target;
    s->common.target = target;
    s->granularity = g;
    s->buf_size = a->has_buf_size && a->buf_size ?
                  ALIGN_UP((uint64_t)a->buf_size, g) : MIRROR_DEFAULT_BUF_SIZE;
    s->buf_size = MAX(s->buf_size, g);
    s->target_zeroed = target_zeroed;
    s->unmap = a->has_unmap ? a->unmap : true;
    s->sync = a->sync;
    s->write_blocking = a->has_copy_mode &&
                        a->copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING;
    s->on_source_error = a->has_on_source_error ? a->on_source_error
                                                : BLOCKDEV_ON_ERROR_REPORT;
    s->on_target_error = a->has_on_target_error ? a->on_target_error
                                                : BLOCKDEV_ON_ERROR_REPORT;
    /* QEMU's mirror_top above the source while the job runs. */
    if (!mirror_like_filter(s, &bdrv_mirror_top_driver, a->filter_node_name,
                            false, errp)) {
        mirror_free_lock(s);
        g_free(s);
        return;
    }
    s->common.job = job_create(a->job_id ? a->job_id : device,
                               &mirror_job_driver, s,
                               a->has_auto_finalize ? a->auto_finalize : true,
                               a->has_auto_dismiss ? a->auto_dismiss : true,
                               errp);
    if (!s->common.job) {
        bdrv_unref(s->common.filter);
        mirror_free_lock(s);
        g_free(s);
        return;
    }
    bdrv_ref(src);
    bdrv_ref(target);
    bdrv_filter_node_insert(s->common.filter, NULL);
    s->filter_inserted = true;
}

/*
 * A target that is an image some node has open (the source, most
 * likely): creating it would truncate that image before any image lock
 * is asked for (the file driver creates without locking; QEMU's create
 * locks), so the host paths are compared first.
 */
static bool mirror_target_in_use(const char *target, GError **errp)
{
    g_autofree char *want = realpath(target, NULL);
    GPtrArray *nodes = bdrv_all_nodes();

    if (!want) {
        return false;                   /* no such file yet */
    }
    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);
        g_autofree char *have = NULL;

        if (bs->drv->is_protocol && bs->filename &&
            (have = realpath(bs->filename, NULL)) && !strcmp(have, want)) {
            error_setg(errp, "Failed to get \"write\" lock: '%s' is in use "
                       "(node '%s')", target, bdrv_node_name(bs));
            return true;
        }
    }
    return false;
}

/* drive-mirror's new target: with sync top over the source's backing
 * file (QEMU's), else standalone. */
static bool mirror_create_target(BlockDriverState *src, MirrorSyncMode sync,
                                 const char *format, const char *target,
                                 GError **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    BlockDriverState *backing = sync == MIRROR_SYNC_MODE_TOP
                                ? bdrv_backing(src) : NULL;

    if (backing) {
        if (strcmp(format, "qcow2")) {
            error_setg(errp, "Backing file not supported for file format "
                       "'%s'", format);
            return false;
        }
        g_hash_table_insert(opts, (char *)"backing_file",
                            (char *)bdrv_filename(backing));
        g_hash_table_insert(opts, (char *)"backing_fmt",
                            (char *)bdrv_format_name(backing));
    }
    return bdrv_create(format, target, bdrv_getlength(src), opts, errp);
}

void qmp_drive_mirror(const char *job_id, const char *device,
                      const char *target, const char *format,
                      MirrorSyncMode sync, bool has_mode, NewImageMode mode,
                      bool has_speed, int64_t speed, bool has_granularity,
                      uint32_t granularity, bool has_buf_size,
                      int64_t buf_size, bool has_on_source_error,
                      BlockdevOnError on_source_error,
                      bool has_on_target_error,
                      BlockdevOnError on_target_error, bool has_unmap,
                      bool unmap, bool has_copy_mode,
                      MirrorCopyMode copy_mode, bool has_auto_finalize,
                      bool auto_finalize, bool has_auto_dismiss,
                      bool auto_dismiss, GError **errp)
{
    MirrorArgs a = {
        job_id, sync, has_speed, speed, has_granularity, granularity,
        has_buf_size, buf_size, has_on_source_error, on_source_error,
        has_on_target_error, on_target_error, has_unmap, unmap,
        has_copy_mode, copy_mode, has_auto_finalize, auto_finalize,
        has_auto_dismiss, auto_dismiss,
    };
    bool existing = has_mode && mode == NEW_IMAGE_MODE_EXISTING;
    BlockDriverState *src = blk_lookup_device_or_node(device, errp);
    BlockDriverState *tbs;
    int flags;

    if (!src || !mirror_check_args(src, &a, errp)) {
        return;
    }
    if (!existing && sync == MIRROR_SYNC_MODE_NONE) {
        error_setg(errp, "Sync mode 'none' needs a target that already holds "
                   "the source's data (mode 'existing'); kvmpc does not "
                   "create one with the source as its backing file");
        return;
    }
    if (!format && !existing) {
        format = bdrv_format_name(src);
    }
    if (format && !bdrv_find_format(format)) {
        error_setg(errp, existing ? "Unknown driver '%s'"
                                  : "Unknown file format '%s'", format);
        return;
    }
    if (mirror_target_in_use(target, errp)) {
        return;
    }
    if (!existing && !mirror_create_target(src, sync, format, target, errp)) {
        return;
    }
    flags = (bdrv_open_flags(src) | BDRV_O_RDWR) &
            ~(BDRV_O_SNAPSHOT | BDRV_O_CHECK);
    tbs = bdrv_open(target, format, flags, errp);
    if (!tbs) {
        return;
    }
    mirror_start_job(device, src, tbs, !existing, &a, errp);
    bdrv_unref(tbs);
}

void qmp_blockdev_mirror(const char *job_id, const char *device,
                         const char *target, MirrorSyncMode sync,
                         bool has_speed, int64_t speed,
                         bool has_granularity, uint32_t granularity,
                         bool has_buf_size, int64_t buf_size,
                         bool has_on_source_error,
                         BlockdevOnError on_source_error,
                         bool has_on_target_error,
                         BlockdevOnError on_target_error,
                         const char *filter_node_name,
                         bool has_copy_mode, MirrorCopyMode copy_mode,
                         bool has_auto_finalize, bool auto_finalize,
                         bool has_auto_dismiss, bool auto_dismiss,
                         GError **errp)
{
    MirrorArgs a = {
        job_id, sync, has_speed, speed, has_granularity, granularity,
        has_buf_size, buf_size, has_on_source_error, on_source_error,
        has_on_target_error, on_target_error, false, true,
        has_copy_mode, copy_mode, has_auto_finalize, auto_finalize,
        has_auto_dismiss, auto_dismiss, filter_node_name,
    };
    BlockDriverState *src = blk_lookup_device_or_node(device, errp);
    BlockDriverState *tbs;

    if (!src || !mirror_check_args(src, &a, errp)) {
        return;
    }
    tbs = bdrv_find_node(target);
    if (!tbs) {
        error_setg(errp, "Cannot find device='' nor node-name='%s'", target);
        return;
    }
    if (!block_job_check_busy(tbs, errp)) {
        return;
    }
    /* The target's content is unknown: every range is copied. */
    mirror_start_job(device, src, tbs, false, &a, errp);
}

/* ---- commit and stream (block/commit.c has their QMP commands) ------------ */

static MirrorJob *mirror_like_new(MirrorMode mode, BlockDriverState *top,
                                  BlockDriverState *target,
                                  const BlockJobStartArgs *a)
{
    MirrorJob *s = mirror_job_new();

    s->mode = mode;
    s->common.bs = top;
    s->common.speed = a->speed;
    s->common.iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    s->common.set_speed = mirror_set_speed;
    s->common.iterate = mirror_step;
    s->target = target;
    s->common.target = target == top ? NULL : target;
    s->granularity = 64 * KiB;
    s->buf_size = MIRROR_DEFAULT_BUF_SIZE;
    /* Zeroes above the base must stay zeroes: unmapping in the base
     * could let its own backing file show through. */
    s->unmap = false;
    s->sync = MIRROR_SYNC_MODE_FULL;
    s->on_source_error = a->on_error;
    s->on_target_error = a->on_error;
    s->backing_file = g_strdup(a->backing_file);
    return s;
}

/* The job, and its filter in the graph above its node. */
static bool mirror_like_create(MirrorJob *s, const JobDriver *drv,
                               const char *default_id,
                               const BlockJobStartArgs *a, GError **errp)
{
    s->common.job = job_create(a->job_id ? a->job_id : default_id, drv, s,
                               a->auto_finalize, a->auto_dismiss, errp);
    if (!s->common.job) {
        mirror_free_unstarted(s);
        return false;
    }
    bdrv_filter_node_insert(s->common.filter, NULL);
    s->filter_inserted = true;
    return true;
}

bool block_commit_start(const char *default_id, BlockDriverState *top,
                        BlockDriverState *base, BlockDriverState *overlay,
                        const BlockJobStartArgs *a, GError **errp)
{
    MirrorJob *s = mirror_like_new(overlay ? MIRROR_MODE_COMMIT
                                           : MIRROR_MODE_COMMIT_ACTIVE,
                                   top, base, a);

    bdrv_ref(top);
    bdrv_ref(base);
    s->base = base;
    bdrv_ref(base);
    if (overlay) {
        s->overlay = overlay;
        bdrv_ref(overlay);
    }
    if (!mirror_like_filter(s, overlay ? &bdrv_commit_top_driver
                                       : &bdrv_mirror_top_driver,
                            a->filter_node_name, false, errp)) {
        mirror_free_unstarted(s);
        return false;
    }
    if (bdrv_is_read_only(base)) {
        blk_drain_all();
        if (!bdrv_reopen_rw(base, true, errp)) {
            mirror_free_unstarted(s);
            return false;
        }
        s->base_reopened = true;
        if (!bdrv_refresh_perms(errp)) {
            mirror_free_unstarted(s);
            return false;
        }
    }
    return mirror_like_create(s, &commit_job_driver, default_id, a, errp);
}

bool block_stream_start(const char *default_id, BlockDriverState *top,
                        BlockDriverState *base, const BlockJobStartArgs *a,
                        GError **errp)
{
    MirrorJob *s = mirror_like_new(MIRROR_MODE_STREAM, top, top, a);

    bdrv_ref(top);
    bdrv_ref(top);
    if (base) {
        s->base = base;
        bdrv_ref(base);
    }
    if (!mirror_like_filter(s, &bdrv_cor_driver, a->filter_node_name, true,
                            errp)) {
        mirror_free_unstarted(s);
        return false;
    }
    return mirror_like_create(s, &stream_job_driver, default_id, a, errp);
}
