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
    JobRunFunc *run;
    void *opaque;
    void (*free)(void *opaque);
};

static GPtrArray *jobs;     /* Job *, in creation order */

static Job *job_find(const char *id)
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
    if (job_find(id)) {
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

void qmp_job_dismiss(const char *id, GError **errp)
{
    Job *job = job_find(id);

    if (!job) {
        error_setg(errp, "Job not found");
        return;
    }
    if (job->status != JOB_STATUS_CONCLUDED) {
        error_setg(errp, "Job '%s' in state '%s' cannot accept command "
                   "verb 'dismiss'", id, JobStatus_str[job->status]);
        return;
    }
    job_set_status(job, JOB_STATUS_NULL);
    g_ptr_array_remove(jobs, job);
    job_free(job);
}
