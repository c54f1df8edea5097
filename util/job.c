/*
 * Background jobs: include/qemu/job.h.  QMP query-jobs and job-dismiss.
 */
#include "qemu/osdep.h"
#include "qemu/job.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"

struct Job {
    char *id;
    JobType type;
    JobStatus status;
    int64_t done, total;
    char *error;
    /* one-shot jobs (job_start) */
    JobRunFunc *run;
    void *opaque;
    void (*free)(void *opaque);
    /* long-running jobs (job_create) */
    const JobDriver *driver;
    bool auto_finalize, auto_dismiss;
    bool started;                   /* driver->start has run */
    bool user_paused;
    bool cancelled, force_cancel;
};

static const char *const job_verb_names[JOB_VERB__MAX] = {
    [JOB_VERB_CANCEL] = "cancel", [JOB_VERB_PAUSE] = "pause",
    [JOB_VERB_RESUME] = "resume", [JOB_VERB_SET_SPEED] = "set-speed",
    [JOB_VERB_COMPLETE] = "complete", [JOB_VERB_FINALIZE] = "finalize",
    [JOB_VERB_DISMISS] = "dismiss",
};

/* Which verb each status accepts, as QEMU's job layer has it. */
static const bool job_verb_table[JOB_VERB__MAX][JOB_STATUS__MAX] = {
    /*                      U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_VERB_CANCEL]    = {0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
    [JOB_VERB_PAUSE]     = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_RESUME]    = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_SET_SPEED] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_COMPLETE]  = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0},
    [JOB_VERB_FINALIZE]  = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    [JOB_VERB_DISMISS]   = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0},
};

static GPtrArray *jobs;     /* Job *, in creation order */

Job *job_get(const char *id)
{
    for (unsigned i = 0; jobs && i < jobs->len; i++) {
        Job *j = g_ptr_array_index(jobs, i);
        if (!strcmp(j->id, id)) {
            return j;
        }
    }
    return NULL;
}

static void job_set_status(Job *job, JobStatus s)
{
    job->status = s;
    qapi_event_send_job_status_change(job->id, s);
}

static void job_free(Job *job)
{
    if (job->driver && job->driver->free) {
        job->driver->free(job);
    }
    if (job->free) {
        job->free(job->opaque);
    }
    g_free(job->id);
    g_free(job->error);
    g_free(job);
}

/* Main loop, big lock held: run the job to its end. */
static gboolean job_run(gpointer opaque)
{
    Job *job = opaque;
    GError *err = NULL;

    if (job->cancelled) {
        job_set_status(job, JOB_STATUS_ABORTING);
        job_set_status(job, JOB_STATUS_CONCLUDED);
        return G_SOURCE_REMOVE;
    }
    job_set_status(job, JOB_STATUS_RUNNING);
    if (job->run(job, job->opaque, &err)) {
        job->done = job->total;
        job_set_status(job, JOB_STATUS_WAITING);
        job_set_status(job, JOB_STATUS_PENDING);
    } else {
        job->error = g_strdup(err ? err->message : "unknown error");
        g_clear_error(&err);
        job_set_status(job, JOB_STATUS_ABORTING);
    }
    job_set_status(job, JOB_STATUS_CONCLUDED);
    return G_SOURCE_REMOVE;
}

Job *job_start(const char *id, JobType type, JobRunFunc *run, void *opaque,
               void (*free)(void *opaque), GError **errp)
{
    Job *job;

    if (!*id) {
        error_setg(errp, "Invalid job ID ''");
        return NULL;
    }
    if (job_get(id)) {
        error_setg(errp, "Job ID '%s' already in use", id);
        return NULL;
    }
    if (!jobs) {
        jobs = g_ptr_array_new();
    }
    job = g_new0(Job, 1);
    job->id = g_strdup(id);
    job->type = type;
    job->total = 1;
    job->run = run;
    job->opaque = opaque;
    job->free = free;
    g_ptr_array_add(jobs, job);
    job_set_status(job, JOB_STATUS_CREATED);
    g_idle_add(job_run, job);
    return job;
}

void job_progress_set_total(Job *job, int64_t total)
{
    job->total = total;
}

void job_progress_update(Job *job, int64_t done)
{
    job->done = done;
}

unsigned job_count_active(void)
{
    unsigned n = 0;

    for (unsigned i = 0; jobs && i < jobs->len; i++) {
        Job *j = g_ptr_array_index(jobs, i);
        n += j->status != JOB_STATUS_CONCLUDED;
    }
    return n;
}

JobInfoList *qmp_query_jobs(GError **errp)
{
    JobInfoList *head = NULL, **tail = &head;

    for (unsigned i = 0; jobs && i < jobs->len; i++) {
        Job *j = g_ptr_array_index(jobs, i);
        JobInfoList *l = g_new0(JobInfoList, 1);

        l->value = g_new0(JobInfo, 1);
        l->value->id = g_strdup(j->id);
        l->value->type = j->type;
        l->value->status = j->status;
        l->value->current_progress = j->done;
        l->value->total_progress = j->total;
        l->value->error = g_strdup(j->error);
        *tail = l;
        tail = &l->next;
    }
    return head;
}


/* ---- long-running jobs ----------------------------------------------- */

GPtrArray *job_list(void)
{
    if (!jobs) {
        jobs = g_ptr_array_new();
    }
    return jobs;
}

const char *job_id(Job *job) { return job->id; }
void *job_opaque(Job *job) { return job->opaque; }
JobType job_type(Job *job) { return job->type; }
JobStatus job_status(Job *job) { return job->status; }
int64_t job_progress_done(Job *job) { return job->done; }
int64_t job_progress_total(Job *job) { return job->total; }
bool job_auto_finalize(Job *job) { return job->auto_finalize; }
bool job_auto_dismiss(Job *job) { return job->auto_dismiss; }
bool job_is_cancelled(Job *job) { return job->cancelled && job->force_cancel; }
bool job_cancel_requested(Job *job) { return job->cancelled; }
const char *job_error(Job *job) { return job->error; }

bool job_is_ready(Job *job)
{
    return job->status == JOB_STATUS_READY ||
           job->status == JOB_STATUS_STANDBY;
}

bool job_is_paused(Job *job)
{
    return job->user_paused;
}

bool job_apply_verb(Job *job, JobVerb verb, GError **errp)
{
    if (job_verb_table[verb][job->status]) {
        return true;
    }
    error_setg(errp, "Job '%s' in state '%s' cannot accept command verb "
               "'%s'", job->id, JobStatus_str[job->status],
               job_verb_names[verb]);
    return false;
}

static gboolean job_start_driver(gpointer opaque)
{
    Job *job = opaque;

    job->started = true;
    if (job->cancelled) {
        job_completed(job, NULL);
        return G_SOURCE_REMOVE;
    }
    job->driver->start(job);
    return G_SOURCE_REMOVE;
}

Job *job_create(const char *id, const JobDriver *driver, void *opaque,
                bool auto_finalize, bool auto_dismiss, GError **errp)
{
    Job *job;

    if (!*id) {
        error_setg(errp, "Invalid job ID ''");
        return NULL;
    }
    if (job_get(id)) {
        error_setg(errp, "Job ID '%s' already in use", id);
        return NULL;
    }
    job = g_new0(Job, 1);
    job->id = g_strdup(id);
    job->type = driver->type;
    job->driver = driver;
    job->opaque = opaque;
    job->auto_finalize = auto_finalize;
    job->auto_dismiss = auto_dismiss;
    g_ptr_array_add(job_list(), job);
    job_set_status(job, JOB_STATUS_CREATED);
    /* Running from here on, as QEMU's (its coroutine starts in the
     * command); the work itself begins on the main loop. */
    job_set_status(job, JOB_STATUS_RUNNING);
    g_idle_add(job_start_driver, job);
    return job;
}

void job_transition_to_ready(Job *job)
{
    if (job->status != JOB_STATUS_RUNNING &&
        job->status != JOB_STATUS_PAUSED) {
        return;
    }
    job_set_status(job, job->user_paused ? JOB_STATUS_STANDBY
                                         : JOB_STATUS_READY);
    if (job->driver->event_ready) {
        job->driver->event_ready(job);
    }
}

static void job_dismiss(Job *job)
{
    job_set_status(job, JOB_STATUS_NULL);
    g_ptr_array_remove(jobs, job);
    job_free(job);
}

/* Commit or abort, clean up, announce, conclude (and dismiss). */
static void job_finalize(Job *job, bool ok)
{
    if (ok && job->driver->commit) {
        job->driver->commit(job);
    } else if (!ok && job->driver->abort) {
        job->driver->abort(job);
    }
    if (job->driver->clean) {
        job->driver->clean(job);
    }
    if (job->driver->event_finished) {
        job->driver->event_finished(job, !ok && job_is_cancelled(job),
                                    job->error);
    }
    job_set_status(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss) {
        job_dismiss(job);
    }
}

void job_completed(Job *job, const char *error)
{
    job->user_paused = false;
    if (error || job_is_cancelled(job)) {
        if (error && !job->error) {
            job->error = g_strdup(error);
        } else if (!job->error) {
            job->error = g_strdup("Operation canceled");
        }
        job_set_status(job, JOB_STATUS_ABORTING);
        job_finalize(job, false);
        return;
    }
    job_set_status(job, JOB_STATUS_WAITING);
    job_set_status(job, JOB_STATUS_PENDING);
    if (!job->auto_finalize) {
        if (job->driver->event_pending) {
            job->driver->event_pending(job);
        }
        return;
    }
    job_finalize(job, true);
}

void job_pause_internal(Job *job)
{
    if (job->user_paused) {
        return;
    }
    job->user_paused = true;
    if (job->status == JOB_STATUS_RUNNING) {
        job_set_status(job, JOB_STATUS_PAUSED);
    } else if (job->status == JOB_STATUS_READY) {
        job_set_status(job, JOB_STATUS_STANDBY);
    }
    if (job->driver && job->driver->pause) {
        job->driver->pause(job);
    }
}

bool job_user_pause(Job *job, GError **errp)
{
    if (!job_apply_verb(job, JOB_VERB_PAUSE, errp)) {
        return false;
    }
    if (job->user_paused) {
        error_setg(errp, "Job is already paused");
        return false;
    }
    job_pause_internal(job);
    return true;
}

bool job_user_resume(Job *job, GError **errp)
{
    if (!job_apply_verb(job, JOB_VERB_RESUME, errp)) {
        return false;
    }
    if (!job->user_paused) {
        error_setg(errp, "Can't resume a job that was not paused");
        return false;
    }
    job->user_paused = false;
    if (job->status == JOB_STATUS_PAUSED) {
        job_set_status(job, JOB_STATUS_RUNNING);
    } else if (job->status == JOB_STATUS_STANDBY) {
        job_set_status(job, JOB_STATUS_READY);
    }
    if (job->driver && job->driver->resume) {
        job->driver->resume(job);
    }
    return true;
}

bool job_user_complete(Job *job, GError **errp)
{
    if (!job_apply_verb(job, JOB_VERB_COMPLETE, errp)) {
        return false;
    }
    if (job->cancelled || !job->driver->complete) {
        error_setg(errp, "The active block job '%s' cannot be completed",
                   job->id);
        return false;
    }
    return job->driver->complete(job, errp);
}

bool job_user_cancel(Job *job, bool force, GError **errp)
{
    if (!job_apply_verb(job, JOB_VERB_CANCEL, errp)) {
        return false;
    }
    /* Before READY every cancel throws the work away. */
    force = force || !job_is_ready(job);
    if (job->cancelled && (job->force_cancel || !force)) {
        return true;                    /* already on its way */
    }
    job->cancelled = true;
    job->force_cancel = force;
    if (!job->driver) {
        return true;                    /* a one-shot job that has not run */
    }
    if (!job->started) {
        return true;                    /* job_start_driver concludes it */
    }
    if (job->status == JOB_STATUS_PENDING) {
        job_completed(job, NULL);
        return true;
    }
    if (job->driver->cancel) {
        job->driver->cancel(job, force);
    }
    return true;
}

bool job_user_finalize(Job *job, GError **errp)
{
    if (!job_apply_verb(job, JOB_VERB_FINALIZE, errp)) {
        return false;
    }
    job_finalize(job, true);
    return true;
}

bool job_user_dismiss(Job *job, GError **errp)
{
    if (!job_apply_verb(job, JOB_VERB_DISMISS, errp)) {
        return false;
    }
    job_dismiss(job);
    return true;
}

/* ---- QMP: the generic job commands ------------------------------------ */

static Job *find_job(const char *id, GError **errp)
{
    Job *job = job_get(id);

    if (!job) {
        error_setg(errp, "Job not found");
    }
    return job;
}

void qmp_job_dismiss(const char *id, GError **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_dismiss(job, errp);
    }
}

void qmp_job_cancel(const char *id, GError **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_cancel(job, true, errp);
    }
}

void qmp_job_pause(const char *id, GError **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_pause(job, errp);
    }
}

void qmp_job_resume(const char *id, GError **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_resume(job, errp);
    }
}

void qmp_job_complete(const char *id, GError **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_complete(job, errp);
    }
}

void qmp_job_finalize(const char *id, GError **errp)
{
    Job *job = find_job(id, errp);

    if (job) {
        job_user_finalize(job, errp);
    }
}
