/*
 * Block jobs: a job (include/qemu/job.h) that works on a block node, with
 * what QMP's block-job-* commands and BLOCK_JOB_* events add to it: a
 * speed limit, an I/O status, error policies for the source and the
 * target (BLOCK_JOB_ERROR).  Mirror, commit and stream all run on
 * block/mirror.c's copy loop.  See docs/block.md, "Block jobs and the
 * mirror".
 */
#ifndef BLOCK_BLOCKJOB_H
#define BLOCK_BLOCKJOB_H

#include "qemu/job.h"
#include "block/block.h"

typedef struct BlockJob BlockJob;
struct BlockJob {
    Job *job;
    BlockDriverState *bs;           /* the node the job works on */
    BlockDriverState *target;       /* the node it writes (NULL: none) */
    /* Its filter node above @bs (backup, commit, stream; NULL: none;
     * block/filter-node.c). */
    BlockDriverState *filter;
    int64_t speed;                  /* bytes per second, 0: unlimited */
    bool busy;                      /* I/O in flight right now */
    BlockDeviceIoStatus iostatus;
    /* The job's own speed change (it reschedules its work). */
    void (*set_speed)(BlockJob *bj, int64_t speed);
    /* The job's work step on the main loop (block_job_schedule). */
    void (*iterate)(BlockJob *bj);
    guint source_id;                /* the scheduled step */
    int64_t next_allowed_ns;        /* the speed limit's clock */
};

/* Run bj->iterate from the main loop after @delay_ms (0: when idle),
 * replacing a step already scheduled; unschedule drops it. */
void block_job_schedule(BlockJob *bj, guint delay_ms);
void block_job_unschedule(BlockJob *bj);
/* The speed limit: may more bytes start now?  Else *@delay_ms to wait (a
 * burst of BLOCK_JOB_SLICE_NS worth is allowed, so a copy never waits
 * for itself); account() charges @bytes started. */
#define BLOCK_JOB_SLICE_NS 100000000LL
bool block_job_rate_ok(BlockJob *bj, guint *delay_ms);
void block_job_rate_account(BlockJob *bj, uint64_t bytes);

/* What the job that copies the data runs as (block/mirror.c). */
typedef enum MirrorMode {
    MIRROR_MODE_MIRROR,             /* drive-mirror, blockdev-mirror */
    MIRROR_MODE_COMMIT_ACTIVE,      /* block-commit of the active layer */
    MIRROR_MODE_COMMIT,             /* block-commit of an intermediate one */
    MIRROR_MODE_STREAM,             /* block-stream */
} MirrorMode;

typedef struct BlockJobStartArgs {
    const char *job_id;             /* NULL: the default id */
    int64_t speed;
    BlockdevOnError on_error;
    bool auto_finalize, auto_dismiss;
    const char *backing_file;       /* the name the image records */
    const char *filter_node_name;   /* NULL: an implicit "#blockN" */
} BlockJobStartArgs;

/*
 * block-commit: the data of @top and the layers below it down to (not
 * including) @base goes into @base (made writable for the job).  With
 * @overlay NULL, @top is the active layer: the job goes READY and
 * job-complete points its devices at @base; else the job ends by itself
 * and @overlay's backing node becomes @base.  A filter (mirror_top for
 * the active layer, else commit_top) sits above @top while it runs.
 */
bool block_commit_start(const char *default_id, BlockDriverState *top,
                        BlockDriverState *base, BlockDriverState *overlay,
                        const BlockJobStartArgs *a, GError **errp);
/* block-stream: what the layers below @top hold down to (not including)
 * @base is copied into @top, whose backing node then becomes @base; a
 * copy-on-read filter sits above @top while it runs. */
bool block_stream_start(const char *default_id, BlockDriverState *top,
                        BlockDriverState *base, const BlockJobStartArgs *a,
                        GError **errp);

/*
 * The backup job (block/backup.c): blockdev-backup, drive-backup and the
 * transaction's backup actions.  prepare makes QEMU's checks and creates
 * the job (references to @src and @target of its own); run, with the
 * guest's requests drained, is the point in time the backup copies.
 * @a's sync incremental is rewritten to bitmap + on-success.
 */
typedef struct BackupJob BackupJob;
BackupJob *backup_job_prepare(BlockDriverState *src, BlockDriverState *target,
                              BackupCommon *a, GError **errp);
void backup_job_run(BackupJob *s);

/* The Job's opaque must be the BlockJob (first member of the job's own
 * state); these are the JobDriver event hooks of every block job. */
void block_job_event_ready(Job *job);
void block_job_event_pending(Job *job);
void block_job_event_finished(Job *job, bool cancelled, const char *error);

/* The block job working on @bs (its source or target), or NULL. */
BlockJob *block_job_on_node(BlockDriverState *bs);
/* QEMU's op blocker: false with "Node 'X' is busy: block device is in use
 * by block job: mirror" when a job works on @bs (X: the backend's name,
 * else the node's). */
bool block_job_check_busy(BlockDriverState *bs, GError **errp);
/* The same, except that jobs of type @sharing may have @bs as their
 * source (backups of one source stack their filters, as in QEMU). */
bool block_job_check_busy_sharing(BlockDriverState *bs, JobType sharing,
                                  GError **errp);

/*
 * An I/O error @error (a positive errno) of the job's read (source) or
 * write (target): apply @policy (report, ignore, stop, enospc; auto is
 * report), send BLOCK_JOB_ERROR, and for stop pause the job with the I/O
 * status failed (nospace for ENOSPC) until block-job-resume.
 */
BlockErrorAction block_job_error_action(BlockJob *bj, BlockdevOnError policy,
                                        bool is_read, int error);
/* On resume after an error: the I/O status is ok again. */
void block_job_iostatus_reset(BlockJob *bj);

#endif
