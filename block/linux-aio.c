/*
 * aio=native: the file driver's reads and writes through Linux native
 * AIO, by the system calls themselves (io_setup(2), io_submit(2),
 * io_getevents(2), io_destroy(2); <linux/aio_abi.h>), so no libaio is
 * needed.  Linux AIO is only asynchronous with O_DIRECT, which is why
 * aio=native requires cache.direct=on, as in QEMU.  Flushes are not
 * Linux AIO operations here (IOCB_CMD_FDSYNC is missing on many file
 * systems): they run on the thread pool, as QEMU's do.
 *
 * A node's context has HOST_AIO_SLOTS preallocated iocbs; each asks the
 * kernel to signal an eventfd (IOCB_FLAG_RESFD) that the node's
 * AioContext watches; completions are reaped there with a zero-timeout
 * io_getevents.  Short transfers are resubmitted for the rest.
 * Synchronous requests use a one-slot context private to the thread.
 *
 * Between laio_plug and laio_unplug (a device's pass over its queue)
 * iocbs are queued and sent with one io_submit, or as soon as the queue
 * holds the node's I/O thread's aio-max-batch (QEMU's option; 0, and on
 * the main loop: the whole pass).  A queued request whose
 * io_submit fails cannot go back to its submitter (laio_submit already
 * took it), so it completes with the error on the node's context, like
 * any completion: the submitter is never called back from inside its own
 * pass.
 */
#include "qemu/osdep.h"
#include "block/host-aio.h"
#include "system/iothread.h"

#include <linux/aio_abi.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#define LAIO_MAX_IO (1u << 30)

static long sys_io_setup(unsigned nr, aio_context_t *ctx)
{
    return syscall(__NR_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
    return syscall(__NR_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
    return syscall(__NR_io_submit, ctx, n, iocbs);
}

static long sys_io_getevents(aio_context_t ctx, long min_nr, long nr,
                             struct io_event *events,
                             struct timespec *timeout)
{
    return syscall(__NR_io_getevents, ctx, min_nr, nr, events, timeout);
}

typedef struct LaioReq {
    struct iocb iocb;
    uint64_t done;
    int failed;                     /* -errno of a plugged io_submit */
    BdrvAioRequest req;
    struct LaioReq *next_free;      /* the free list, or the failed list */
} LaioReq;

struct LinuxAioState {
    aio_context_t ctx;
    GMutex lock;                    /* free and failed lists, the queue */
    int efd;
    GSource *source;
    LaioReq *free;
    LaioReq *failed;                /* complete on the context */
    IOThread *iothread;             /* the context's, or NULL */
    unsigned plugged;               /* laio_plug depth: iocbs wait */
    unsigned nqueued;
    struct iocb *queued[HOST_AIO_SLOTS];
    LaioReq slots[HOST_AIO_SLOTS];
    struct io_event events[HOST_AIO_SLOTS];
};

static void prep_iocb(struct iocb *cb, int fd, BdrvAioOp op, uint8_t *p,
                      uint64_t len, uint64_t off, bool fua)
{
    memset(cb, 0, sizeof(*cb));
    cb->aio_fildes = fd;
    cb->aio_lio_opcode = op == BDRV_AIO_READ ? IOCB_CMD_PREAD
                                             : IOCB_CMD_PWRITE;
    cb->aio_buf = (uintptr_t)p;
    cb->aio_nbytes = MIN(len, LAIO_MAX_IO);
    cb->aio_offset = off;
    cb->aio_rw_flags = fua ? RWF_DSYNC : 0;
}

static long submit_one(aio_context_t ctx, struct iocb *cb)
{
    long ret;

    do {
        ret = sys_io_submit(ctx, 1, &cb);
    } while (ret < 0 && (errno == EINTR || errno == EAGAIN));
    return ret < 0 ? -errno : 0;
}

static void prep_slot(LinuxAioState *s, LaioReq *r)
{
    const BdrvAioRequest *q = &r->req;

    prep_iocb(&r->iocb, r->iocb.aio_fildes, q->op,
              (uint8_t *)q->buf + r->done, q->bytes - r->done,
              q->offset + r->done, q->fua);
    r->iocb.aio_data = (uintptr_t)r;
    r->iocb.aio_flags = IOCB_FLAG_RESFD;
    r->iocb.aio_resfd = s->efd;
}

static long submit_slot(LinuxAioState *s, LaioReq *r)
{
    prep_slot(s, r);
    return submit_one(s->ctx, &r->iocb);
}

static void submit_queued_locked(LinuxAioState *s);

/* Queue @r for the unplug (true), or say the caller must send it now. */
static bool queue_if_plugged(LinuxAioState *s, LaioReq *r)
{
    bool queued;

    g_mutex_lock(&s->lock);
    queued = s->plugged > 0;
    if (queued) {
        IOThread *t = __atomic_load_n(&s->iothread, __ATOMIC_RELAXED);
        int64_t max_batch = t ? iothread_aio_max_batch(t) : 0;

        s->queued[s->nqueued++] = &r->iocb;     /* one per slot: room */
        if (max_batch && s->nqueued >= max_batch) {
            submit_queued_locked(s);
        }
    }
    g_mutex_unlock(&s->lock);
    return queued;
}

/* @r's queued io_submit failed: complete it on the context (lock held). */
static void fail_queued_locked(LinuxAioState *s, LaioReq *r, int err)
{
    const uint64_t one = 1;

    r->failed = err;
    r->next_free = s->failed;
    s->failed = r;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter is huge, so a wakeup is already pending */
    }
}

/* Send the queued iocbs (lock held): as many per io_submit as it takes;
 * one the kernel refuses fails alone and the rest go on. */
static void submit_queued_locked(LinuxAioState *s)
{
    unsigned sent = 0;

    while (sent < s->nqueued) {
        long ret = sys_io_submit(s->ctx, s->nqueued - sent,
                                 &s->queued[sent]);

        if (ret > 0) {
            sent += ret;
        } else if (ret < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        } else {
            LaioReq *r = (LaioReq *)(uintptr_t)s->queued[sent]->aio_data;

            fail_queued_locked(s, r, ret < 0 ? -errno : -EIO);
            sent++;
        }
    }
    s->nqueued = 0;
}

void laio_plug(LinuxAioState *s)
{
    g_mutex_lock(&s->lock);
    s->plugged++;
    g_mutex_unlock(&s->lock);
}

void laio_unplug(LinuxAioState *s)
{
    g_mutex_lock(&s->lock);
    g_assert(s->plugged);
    if (!--s->plugged && s->nqueued) {
        submit_queued_locked(s);
    }
    g_mutex_unlock(&s->lock);
}

static void release_slot(LinuxAioState *s, LaioReq *r)
{
    g_mutex_lock(&s->lock);
    r->next_free = s->free;
    s->free = r;
    g_mutex_unlock(&s->lock);
}

bool laio_submit(LinuxAioState *s, int fd, const BdrvAioRequest *req)
{
    LaioReq *r;

    if (req->op == BDRV_AIO_FLUSH) {
        return false;
    }
    g_mutex_lock(&s->lock);
    r = s->free;
    if (r) {
        s->free = r->next_free;
    }
    g_mutex_unlock(&s->lock);
    if (!r) {
        return false;
    }
    r->iocb.aio_fildes = fd;
    r->done = 0;
    r->failed = 0;
    r->req = *req;
    prep_slot(s, r);
    if (queue_if_plugged(s, r)) {
        return true;
    }
    if (submit_one(s->ctx, &r->iocb) < 0) {
        /* io_submit took nothing: the thread pool runs it instead. */
        release_slot(s, r);
        return false;
    }
    return true;
}

static void complete_one(LinuxAioState *s, LaioReq *r, long res)
{
    BdrvAioRequest req = r->req;
    int ret = 0;

    if (res < 0) {
        ret = res;
    } else {
        r->done += res;
        if (req.op == BDRV_AIO_READ && r->done < req.bytes &&
            (res == 0 || short_read_is_eof(r->iocb.aio_fildes))) {
            memset((uint8_t *)req.buf + r->done, 0, req.bytes - r->done);
            r->done = req.bytes;
        } else if (res == 0) {
            ret = -ENOSPC;
        }
        if (ret == 0 && r->done < req.bytes) {
            ret = submit_slot(s, r);
            if (ret == 0) {
                return;
            }
        }
        if (ret == 0 && req.op == BDRV_AIO_WRITE) {
            bdrv_grow_size(req.bs, req.offset + req.bytes);
        }
    }
    release_slot(s, r);
    bdrv_aio_complete(&req, ret, req.op == BDRV_AIO_READ ? "read failed"
                                                         : "write failed");
}

/* Requests a plugged io_submit refused: they end with its error. */
static void complete_failed(LinuxAioState *s)
{
    LaioReq *r;

    g_mutex_lock(&s->lock);
    r = s->failed;
    s->failed = NULL;
    g_mutex_unlock(&s->lock);
    while (r) {
        LaioReq *next = r->next_free;

        complete_one(s, r, r->failed);
        r = next;
    }
}

static void laio_completions(void *opaque)
{
    LinuxAioState *s = opaque;
    struct timespec zero = { 0, 0 };
    uint64_t count;
    long n;

    if (read(s->efd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        return;
    }
    complete_failed(s);
    do {
        n = sys_io_getevents(s->ctx, 0, HOST_AIO_SLOTS, s->events, &zero);
        for (long i = 0; i < n; i++) {
            complete_one(s, (LaioReq *)(uintptr_t)s->events[i].data,
                         (long)s->events[i].res);
        }
    } while (n == HOST_AIO_SLOTS || (n < 0 && errno == EINTR));
}

LinuxAioState *laio_init(const char *filename, GMainContext *ctx,
                         GError **errp)
{
    LinuxAioState *s = g_new0(LinuxAioState, 1);

    if (sys_io_setup(HOST_AIO_SLOTS, &s->ctx) < 0) {
        error_setg(errp, "'%s': aio=native: io_setup failed: %s (see "
                   "/proc/sys/fs/aio-max-nr); use aio=threads", filename,
                   g_strerror(errno));
        g_free(s);
        return NULL;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        error_setg(errp, "'%s': aio=native: cannot create an eventfd: %s",
                   filename, g_strerror(errno));
        sys_io_destroy(s->ctx);
        g_free(s);
        return NULL;
    }
    g_mutex_init(&s->lock);
    for (int i = HOST_AIO_SLOTS - 1; i >= 0; i--) {
        s->slots[i].next_free = s->free;
        s->free = &s->slots[i];
    }
    s->source = bdrv_fd_source_new(s->efd, laio_completions, s, ctx);
    s->iothread = iothread_of_context(ctx);
    return s;
}

void laio_attach_aio_context(LinuxAioState *s, GMainContext *ctx)
{
    g_source_destroy(s->source);
    g_source_unref(s->source);
    s->source = bdrv_fd_source_new(s->efd, laio_completions, s, ctx);
    __atomic_store_n(&s->iothread, iothread_of_context(ctx),
                     __ATOMIC_RELAXED);
}

void laio_cleanup(LinuxAioState *s)
{
    if (!s) {
        return;
    }
    g_source_destroy(s->source);
    g_source_unref(s->source);
    sys_io_destroy(s->ctx);
    close(s->efd);
    g_mutex_clear(&s->lock);
    g_free(s);
}

/* ---- synchronous requests: one context per thread ---------------------- */

static void thread_ctx_free(gpointer p)
{
    sys_io_destroy((aio_context_t)(uintptr_t)p);
}

static GPrivate thread_ctx_key = G_PRIVATE_INIT(thread_ctx_free);

int laio_sync(int fd, BdrvAioOp op, uint64_t off, uint64_t len, void *buf,
              bool fua)
{
    aio_context_t ctx = (aio_context_t)(uintptr_t)
                        g_private_get(&thread_ctx_key);
    uint8_t *p = buf;

    if (!ctx) {
        if (sys_io_setup(1, &ctx) < 0) {
            return -errno;
        }
        g_private_set(&thread_ctx_key, (gpointer)(uintptr_t)ctx);
    }
    while (len) {
        struct iocb cb;
        struct io_event ev;
        long ret;

        prep_iocb(&cb, fd, op, p, len, off, fua);
        ret = submit_one(ctx, &cb);
        if (ret < 0) {
            return ret;
        }
        do {
            ret = sys_io_getevents(ctx, 1, 1, &ev, NULL);
        } while (ret < 0 && errno == EINTR);
        if (ret < 0) {
            return -errno;
        }
        if ((long)ev.res < 0) {
            return ev.res;
        }
        if (op == BDRV_AIO_READ && (uint64_t)ev.res < len &&
            (ev.res == 0 || short_read_is_eof(fd))) {
            memset(p + ev.res, 0, len - ev.res);    /* end of the file */
            return 0;
        }
        if (ev.res == 0) {
            return -ENOSPC;
        }
        p += ev.res;
        off += ev.res;
        len -= ev.res;
    }
    return 0;
}
