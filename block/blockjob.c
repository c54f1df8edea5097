/*
 * Block jobs: include/block/blockjob.h.  The QMP block-job-* commands and
 * query-block-jobs, on top of the generic job layer (util/job.c), with
 * QEMU 7.2's wording: a block job is addressed by its id (the "device"
 * argument and member carry the id, as in QEMU), and an unknown one is
 * DeviceNotActive "Block job '<id>' not found".
 */
#include "qemu/osdep.h"
#include "block/blockjob.h"
#include "block/block-backend.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"

static bool is_block_job_type(JobType type)
{
    return type == JOB_TYPE_MIRROR || type == JOB_TYPE_COMMIT ||
           type == JOB_TYPE_STREAM || type == JOB_TYPE_BACKUP;
}

static BlockJob *block_job_of(Job *job)
{
    return job && is_block_job_type(job_type(job)) ? job_opaque(job) : NULL;
}

static BlockJob *find_block_job(const char *id, GError **errp)
{
    BlockJob *bj = block_job_of(job_get(id));

    if (!bj) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_ACTIVE,
                    "Block job '%s' not found", id);
    }
    return bj;
}

static gboolean block_job_step(gpointer opaque)
{
    BlockJob *bj = opaque;

    bj->source_id = 0;
    bj->iterate(bj);
    return G_SOURCE_REMOVE;
}

void block_job_schedule(BlockJob *bj, guint delay_ms)
{
    block_job_unschedule(bj);
    bj->source_id = delay_ms ? g_timeout_add(delay_ms, block_job_step, bj)
                             : g_idle_add(block_job_step, bj);
}

void block_job_unschedule(BlockJob *bj)
{
    if (bj->source_id) {
        g_source_remove(bj->source_id);
        bj->source_id = 0;
    }
}

bool block_job_rate_ok(BlockJob *bj, guint *delay_ms)
{
    int64_t now = g_get_monotonic_time() * 1000;

    if (!bj->speed || bj->next_allowed_ns - BLOCK_JOB_SLICE_NS <= now) {
        return true;
    }
    *delay_ms = MAX(1, (bj->next_allowed_ns - BLOCK_JOB_SLICE_NS - now)
                       / 1000000);
    return false;
}

void block_job_rate_account(BlockJob *bj, uint64_t bytes)
{
    int64_t now = g_get_monotonic_time() * 1000;

    if (bj->speed) {
        bj->next_allowed_ns = MAX(bj->next_allowed_ns, now) +
                              (int64_t)((double)bytes * 1e9 / bj->speed);
    }
}

/* The first job that uses @bs, not counting jobs of type @sharing that
 * have it as their source (-1: none shares). */
static BlockJob *job_using(BlockDriverState *bs, int sharing)
{
    GPtrArray *jobs = job_list();

    for (unsigned i = 0; i < jobs->len; i++) {
        BlockJob *bj = block_job_of(g_ptr_array_index(jobs, i));

        if (!bj || !bs || job_status(bj->job) == JOB_STATUS_CONCLUDED) {
            continue;
        }
        if ((bj->bs == bs && (int)job_type(bj->job) != sharing) ||
            bj->target == bs || bj->filter == bs) {
            return bj;
        }
    }
    return NULL;
}

BlockJob *block_job_on_node(BlockDriverState *bs)
{
    return job_using(bs, -1);
}

static bool check_not_used(BlockDriverState *bs, int sharing, GError **errp)
{
    BlockJob *bj = job_using(bs, sharing);
    const char *name = bdrv_node_name(bs);
    GPtrArray *blks = blk_list();

    if (!bj) {
        return true;
    }
    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == bs && *blk_name(blk)) {
            name = blk_name(blk);
            break;
        }
    }
    error_setg(errp, "Node '%s' is busy: block device is in use by block "
               "job: %s", name, JobType_str[job_type(bj->job)]);
    return false;
}

bool block_job_check_busy(BlockDriverState *bs, GError **errp)
{
    return check_not_used(bs, -1, errp);
}

bool block_job_check_busy_sharing(BlockDriverState *bs, JobType sharing,
                                  GError **errp)
{
    return check_not_used(bs, sharing, errp);
}

void block_job_event_ready(Job *job)
{
    BlockJob *bj = job_opaque(job);

    qapi_event_send_block_job_ready(job_type(job), job_id(job),
                                    job_progress_total(job),
                                    job_progress_done(job), bj->speed);
}

void block_job_event_pending(Job *job)
{
    qapi_event_send_block_job_pending(job_type(job), job_id(job));
}

void block_job_event_finished(Job *job, bool cancelled, const char *error)
{
    BlockJob *bj = job_opaque(job);

    if (cancelled) {
        qapi_event_send_block_job_cancelled(job_type(job), job_id(job),
                                            job_progress_total(job),
                                            job_progress_done(job),
                                            bj->speed);
    } else {
        qapi_event_send_block_job_completed(job_type(job), job_id(job),
                                            job_progress_total(job),
                                            job_progress_done(job),
                                            bj->speed, error);
    }
}

BlockErrorAction block_job_error_action(BlockJob *bj, BlockdevOnError policy,
                                        bool is_read, int error)
{
    BlockErrorAction action;

    switch (policy) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
        action = error == ENOSPC ? BLOCK_ERROR_ACTION_STOP
                                 : BLOCK_ERROR_ACTION_REPORT;
        break;
    case BLOCKDEV_ON_ERROR_STOP:
        action = BLOCK_ERROR_ACTION_STOP;
        break;
    case BLOCKDEV_ON_ERROR_IGNORE:
        action = BLOCK_ERROR_ACTION_IGNORE;
        break;
    default:
        action = BLOCK_ERROR_ACTION_REPORT;
        break;
    }
    qapi_event_send_block_job_error(job_id(bj->job),
                                    is_read ? IO_OPERATION_TYPE_READ
                                            : IO_OPERATION_TYPE_WRITE,
                                    action);
    if (action == BLOCK_ERROR_ACTION_STOP) {
        bj->iostatus = error == ENOSPC ? BLOCK_DEVICE_IO_STATUS_NOSPACE
                                       : BLOCK_DEVICE_IO_STATUS_FAILED;
        job_pause_internal(bj->job);
    }
    return action;
}

void block_job_iostatus_reset(BlockJob *bj)
{
    bj->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
}

/* ---- QMP -------------------------------------------------------------- */

BlockJobInfoList *qmp_query_block_jobs(GError **errp)
{
    BlockJobInfoList *head = NULL, **tail = &head;
    GPtrArray *jobs = job_list();

    for (unsigned i = 0; i < jobs->len; i++) {
        Job *job = g_ptr_array_index(jobs, i);
        BlockJob *bj = block_job_of(job);
        BlockJobInfo *info;

        if (!bj) {
            continue;
        }
        info = g_new0(BlockJobInfo, 1);
        info->type = g_strdup(JobType_str[job_type(job)]);
        info->device = g_strdup(job_id(job));
        info->len = job_progress_total(job);
        info->offset = job_progress_done(job);
        info->busy = bj->busy;
        info->paused = job_is_paused(job);
        info->speed = bj->speed;
        info->io_status = bj->iostatus;
        info->ready = job_is_ready(job);
        info->status = job_status(job);
        info->auto_finalize = job_auto_finalize(job);
        info->auto_dismiss = job_auto_dismiss(job);
        info->error = g_strdup(job_error(job));
        *tail = g_new0(BlockJobInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}

void qmp_block_job_set_speed(const char *device, int64_t speed, GError **errp)
{
    BlockJob *bj = find_block_job(device, errp);

    if (!bj || !job_apply_verb(bj->job, JOB_VERB_SET_SPEED, errp)) {
        return;
    }
    if (speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return;
    }
    bj->speed = speed;
    if (bj->set_speed) {
        bj->set_speed(bj, speed);
    }
}

void qmp_block_job_cancel(const char *device, bool has_force, bool force,
                          GError **errp)
{
    BlockJob *bj = find_block_job(device, errp);

    if (bj) {
        job_user_cancel(bj->job, has_force && force, errp);
    }
}

void qmp_block_job_pause(const char *device, GError **errp)
{
    BlockJob *bj = find_block_job(device, errp);

    if (bj) {
        job_user_pause(bj->job, errp);
    }
}

void qmp_block_job_resume(const char *device, GError **errp)
{
    BlockJob *bj = find_block_job(device, errp);

    if (bj) {
        job_user_resume(bj->job, errp);
    }
}

void qmp_block_job_complete(const char *device, GError **errp)
{
    BlockJob *bj = find_block_job(device, errp);

    if (bj) {
        job_user_complete(bj->job, errp);
    }
}

void qmp_block_job_finalize(const char *id, GError **errp)
{
    BlockJob *bj = find_block_job(id, errp);

    if (bj) {
        job_user_finalize(bj->job, errp);
    }
}

void qmp_block_job_dismiss(const char *id, GError **errp)
{
    BlockJob *bj = find_block_job(id, errp);

    if (bj) {
        job_user_dismiss(bj->job, errp);
    }
}
