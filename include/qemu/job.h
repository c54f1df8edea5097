/*
 * Background jobs (QEMU's job layer, reduced to what kvmpc runs): a job
 * has an id, a type and a status that moves as QEMU's does and is
 * announced with JOB_STATUS_CHANGE; query-jobs lists jobs, job-dismiss
 * removes a concluded one.  The work runs on the main loop (big lock
 * held) after the command that created the job has returned.
 *
 * Status sequence (auto-finalize, manual dismiss, as QEMU's snapshot
 * jobs): created -> running -> waiting -> pending -> concluded, or
 * created -> running -> aborting -> concluded with an error; job-dismiss:
 * -> null, and the job is gone.
 */
#ifndef QEMU_JOB_H
#define QEMU_JOB_H
#include "qemu/osdep.h"
#include "qapi/qapi-types.h"

typedef struct Job Job;
/* The work: true on success, false with @errp set. */
typedef bool JobRunFunc(Job *job, void *opaque, GError **errp);

/*
 * Create job @id (unique among existing jobs) and queue @run; @free
 * releases @opaque when the job is dismissed (may be NULL).
 */
Job *job_start(const char *id, JobType type, JobRunFunc *run, void *opaque,
               void (*free)(void *opaque), GError **errp);
void job_progress_set_total(Job *job, int64_t total);
void job_progress_update(Job *job, int64_t done);
/* Jobs not yet concluded (tests, shutdown). */
unsigned job_count_active(void);

/*
 * Long-running jobs (the block mirror): the driver does its work on the
 * main loop after start() and reports the end with job_completed().  The
 * layer keeps the status machine, the user verbs (cancel, pause, resume,
 * complete, finalize, dismiss: QEMU's verb table and wording) and the
 * events; the driver's hooks are called under the big lock.
 *
 * created -> running [-> ready] -> waiting -> pending -> concluded -> null
 * running/ready -> paused/standby -> running/ready (pause, resume)
 * any -> aborting -> concluded -> null (an error, or a cancel)
 */
typedef struct JobDriver {
    JobType type;
    /* Begin the work (status running). */
    void (*start)(Job *job);
    /* Stop issuing new work / go on (optional). */
    void (*pause)(Job *job);
    void (*resume)(Job *job);
    /* job-complete on a READY job; false with @errp to refuse. */
    bool (*complete)(Job *job, GError **errp);
    /* The user cancelled (@force, or not READY: a hard cancel; the layer
     * has recorded it): wind down and call job_completed(). */
    void (*cancel)(Job *job, bool force);
    /* Finalization: commit on success, abort otherwise; then clean. */
    void (*commit)(Job *job);
    void (*abort)(Job *job);
    void (*clean)(Job *job);
    void (*free)(Job *job);
    /* Events of the job family (BLOCK_JOB_*), all optional. */
    void (*event_ready)(Job *job);
    void (*event_pending)(Job *job);
    void (*event_finished)(Job *job, bool cancelled, const char *error);
} JobDriver;

/* Create a job; it starts (driver->start) from the main loop. */
Job *job_create(const char *id, const JobDriver *driver, void *opaque,
                bool auto_finalize, bool auto_dismiss, GError **errp);
Job *job_get(const char *id);
/* Every job, in creation order (do not modify). */
GPtrArray *job_list(void);
const char *job_id(Job *job);
void *job_opaque(Job *job);
JobType job_type(Job *job);
JobStatus job_status(Job *job);
int64_t job_progress_done(Job *job);
int64_t job_progress_total(Job *job);
bool job_is_ready(Job *job);
bool job_is_paused(Job *job);
bool job_auto_finalize(Job *job);
bool job_auto_dismiss(Job *job);
/* A hard cancel was asked (the work is to be thrown away). */
bool job_is_cancelled(Job *job);
/* Any cancel was asked (a READY mirror finishes without pivoting). */
bool job_cancel_requested(Job *job);
/* The first pass is done: ready (JOB_STATUS_CHANGE, event_ready). */
void job_transition_to_ready(Job *job);
/* The work ended: @error NULL on success. */
void job_completed(Job *job, const char *error);
/* The error the job ended with, or NULL. */
const char *job_error(Job *job);
/* Pause on the driver's behalf (an error with action stop). */
void job_pause_internal(Job *job);

/* The user verbs; errors in QEMU's wording. */
bool job_user_cancel(Job *job, bool force, GError **errp);
bool job_user_pause(Job *job, GError **errp);
bool job_user_resume(Job *job, GError **errp);
bool job_user_complete(Job *job, GError **errp);
bool job_user_finalize(Job *job, GError **errp);
bool job_user_dismiss(Job *job, GError **errp);
/* Is @verb allowed in the job's status?  (set-speed and the like) */
typedef enum JobVerb {
    JOB_VERB_CANCEL, JOB_VERB_PAUSE, JOB_VERB_RESUME, JOB_VERB_SET_SPEED,
    JOB_VERB_COMPLETE, JOB_VERB_FINALIZE, JOB_VERB_DISMISS, JOB_VERB__MAX,
} JobVerb;
bool job_apply_verb(Job *job, JobVerb verb, GError **errp);

#endif
