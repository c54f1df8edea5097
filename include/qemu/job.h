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

#endif
