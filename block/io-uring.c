/*
 * aio=io_uring: the file driver's requests through Linux io_uring
 * (liburing; io_uring_setup(2), io_uring_enter(2)).
 *
 * A node's ring has HOST_AIO_SLOTS preallocated request slots.  Any
 * thread may submit (under sq_lock); the node's AioContext watches the
 * ring's own file descriptor, which polls readable while the completion
 * queue holds entries, and the completions are reaped and delivered
 * there (no eventfd: nothing to read per batch).  On an I/O thread the
 * completion queue is also one of the thread's pollers, so completions
 * that arrive while it spins before sleeping are reaped without a
 * wakeup.  A short read or write is
 * resubmitted for the rest from the completion; a read that reaches the
 * end of the file fills the rest with zeroes, as pread does in
 * file-posix.c.  Synchronous requests use a four-entry ring private to
 * the calling thread.  See include/block/host-aio.h and docs/block.md.
 */
#include "qemu/osdep.h"
#include "block/host-aio.h"
#include "system/iothread.h"

#include <liburing.h>

/* io_uring's read/write length is 32-bit: split larger requests. */
#define LURING_MAX_IO (1u << 30)

typedef struct LuringReq {
    LuringState *s;
    int fd;
    uint64_t done;                  /* bytes completed so far */
    BdrvAioRequest req;
    int inline_res;                 /* written in place: the NOP's result */
    bool inline_done;
    struct LuringReq *next_free;
} LuringReq;

/* Whether the node's file takes buffered writes without blocking. */
typedef enum {
    WRITE_PATH_UNKNOWN,             /* no write from the I/O thread yet */
    WRITE_PATH_RING,                /* yes (or O_DIRECT): the ring does them */
    WRITE_PATH_IN_PLACE,            /* no: the kernel would punt to io-wq */
} WritePath;

struct LuringState {
    struct io_uring ring;
    GMutex sq_lock;                 /* the submission queue and free list */
    unsigned plugged;               /* luring_plug depth: SQEs wait */
    GSource *source;                /* on the node's AioContext */
    IOThread *poll_thread;          /* that context's I/O thread, or NULL */
    IOThreadPoller poller;          /* the CQ ring, polled there */
    LuringReq *free;
    WritePath write_path;           /* I/O thread only */
    LuringReq slots[HOST_AIO_SLOTS];
};

/* Put the next part of @r into an SQE; sq_lock held. */
static void prep_sqe(struct io_uring_sqe *sqe, LuringReq *r)
{
    const BdrvAioRequest *q = &r->req;
    uint32_t n = MIN(q->bytes - r->done, LURING_MAX_IO);

    switch (q->op) {
    case BDRV_AIO_READ:
        io_uring_prep_read(sqe, r->fd, (uint8_t *)q->buf + r->done, n,
                           q->offset + r->done);
        break;
    case BDRV_AIO_WRITE:
        io_uring_prep_write(sqe, r->fd, (uint8_t *)q->buf + r->done, n,
                            q->offset + r->done);
        sqe->rw_flags = q->fua ? RWF_DSYNC : 0;
        break;
    case BDRV_AIO_FLUSH:
        io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
        break;
    }
    io_uring_sqe_set_data(sqe, r);
}

/*
 * Every slot has its SQE (slots <= ring entries), so get_sqe cannot fail
 * while we hold sq_lock.  Once io_uring_submit has published the SQE it
 * cannot be taken back: if io_uring_enter fails (it only does for
 * transient reasons once the ring is set up; a bad request fails in its
 * CQE), the SQE stays queued and the next submit or completion pass
 * sends it.
 */
static void submit_queued_locked(LuringState *s)
{
    int ret;

    do {
        ret = io_uring_submit(&s->ring);
    } while (ret == -EINTR);
}

static void submit_locked(LuringState *s, LuringReq *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

    g_assert(sqe);
    prep_sqe(sqe, r);
    if (!s->plugged) {
        submit_queued_locked(s);
    }
}

/*
 * A device queues the requests of one pass over its virtqueue between
 * luring_plug and luring_unplug, which sends them with one
 * io_uring_enter instead of one each (the SQ ring has room for every
 * slot, so queueing never runs out of SQEs).  Plugs nest and may come
 * from any thread; a request another thread submits meanwhile waits for
 * the last unplug, which ends the same pass.
 */
void luring_plug(LuringState *s)
{
    g_mutex_lock(&s->sq_lock);
    s->plugged++;
    g_mutex_unlock(&s->sq_lock);
}

void luring_unplug(LuringState *s)
{
    g_mutex_lock(&s->sq_lock);
    g_assert(s->plugged);
    if (!--s->plugged && io_uring_sq_ready(&s->ring)) {
        submit_queued_locked(s);
    }
    g_mutex_unlock(&s->sq_lock);
}

/*
 * Buffered writes in place.  A file system without asynchronous buffered
 * writes (ext4 on the development hosts: pwritev2 with RWF_NOWAIT says
 * EOPNOTSUPP) makes io_uring punt every buffered write to an io-wq
 * worker: a thread hop and a wakeup per write, and on a two-core host
 * the worker competes with the I/O thread and the vCPU.  The node's own
 * I/O thread, which exists to do this work, writes such requests itself
 * with pwritev2 and hands the result to the ring as a NOP, so the
 * completion is reaped, ordered and batched like any other.  Only there:
 * the main loop never blocks on a write.  A file that does take
 * RWF_NOWAIT writes (or O_DIRECT) keeps the ring, which then writes
 * without blocking by itself.
 */
static int write_at(int fd, const BdrvAioRequest *q, int flags)
{
    uint64_t done = 0;

    while (done < q->bytes) {
        struct iovec iov = {
            (uint8_t *)q->buf + done, MIN(q->bytes - done, LURING_MAX_IO),
        };
        ssize_t n = pwritev2(fd, &iov, 1, q->offset + done,
                             flags | (q->fua ? RWF_DSYNC : 0));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return done ? (int)MIN(done, (uint64_t)INT_MAX) : -errno;
        }
        if (n == 0) {
            break;                  /* the completion says -ENOSPC */
        }
        done += n;
    }
    return (int)MIN(done, (uint64_t)INT_MAX);
}

/* The write's result (bytes or -errno) if it was done here, else false. */
static bool try_write_in_place(LuringState *s, int fd,
                               const BdrvAioRequest *q, int *res)
{
    if (q->op != BDRV_AIO_WRITE || q->bytes > LURING_MAX_IO ||
        !s->poll_thread || !iothread_is_current(s->poll_thread) ||
        s->write_path == WRITE_PATH_RING) {
        return false;
    }
    if (s->write_path == WRITE_PATH_UNKNOWN) {
        *res = write_at(fd, q, RWF_NOWAIT);
        if (*res == -EOPNOTSUPP) {
            s->write_path = WRITE_PATH_IN_PLACE;
        } else {
            s->write_path = WRITE_PATH_RING;
            return *res != -EAGAIN; /* done (or failed) without blocking */
        }
    }
    *res = write_at(fd, q, 0);
    return true;
}

bool luring_submit(LuringState *s, int fd, const BdrvAioRequest *req)
{
    LuringReq *r;
    int res = 0;
    bool in_place;

    g_mutex_lock(&s->sq_lock);
    r = s->free;
    if (!r) {
        g_mutex_unlock(&s->sq_lock);
        return false;
    }
    s->free = r->next_free;
    g_mutex_unlock(&s->sq_lock);
    r->fd = fd;
    r->done = 0;
    r->req = *req;
    r->inline_done = false;
    /* outside sq_lock: a blocking write must not hold up other threads'
     * submissions */
    in_place = try_write_in_place(s, fd, req, &res);
    g_mutex_lock(&s->sq_lock);
    if (in_place) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

        g_assert(sqe);
        r->inline_res = res;
        r->inline_done = true;
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, r);
        if (!s->plugged) {
            submit_queued_locked(s);
        }
    } else {
        submit_locked(s, r);
    }
    g_mutex_unlock(&s->sq_lock);
    return true;
}

static void release_slot(LuringState *s, LuringReq *r)
{
    g_mutex_lock(&s->sq_lock);
    r->next_free = s->free;
    s->free = r;
    g_mutex_unlock(&s->sq_lock);
}

/* Finish @r, or resubmit what is left of it.  Runs on the AioContext. */
static void complete_one(LuringState *s, LuringReq *r, int res)
{
    BdrvAioRequest req = r->req;
    int ret = 0;

    if (res < 0) {
        ret = res;
    } else if (req.op != BDRV_AIO_FLUSH) {
        r->done += res;
        if (req.op == BDRV_AIO_READ && r->done < req.bytes &&
            (res == 0 || short_read_is_eof(r->fd))) {
            /* End of file: the rest reads as zeroes. */
            memset((uint8_t *)req.buf + r->done, 0, req.bytes - r->done);
            r->done = req.bytes;
        } else if (res == 0) {
            ret = -ENOSPC;
        }
        if (ret == 0 && r->done < req.bytes) {
            g_mutex_lock(&s->sq_lock);
            submit_locked(s, r);
            g_mutex_unlock(&s->sq_lock);
            return;             /* the rest is on its way */
        }
        if (ret == 0 && req.op == BDRV_AIO_WRITE) {
            bdrv_grow_size(req.bs, req.offset + req.bytes);
        }
    }
    /* Free the slot first: the callback may submit the next request. */
    release_slot(s, r);
    bdrv_aio_complete(&req, ret, req.op == BDRV_AIO_READ ? "read failed" :
                      req.op == BDRV_AIO_WRITE ? "write failed"
                                               : "flush failed");
}

static void luring_completions(void *opaque)
{
    LuringState *s = opaque;
    struct io_uring_cqe *cqe;

    while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        LuringReq *r = io_uring_cqe_get_data(cqe);
        int res = r->inline_done ? r->inline_res : cqe->res;

        r->inline_done = false;
        io_uring_cqe_seen(&s->ring, cqe);
        complete_one(s, r, res);
    }
    /* SQEs an earlier io_uring_enter failed to send (see submit_locked) */
    g_mutex_lock(&s->sq_lock);
    if (io_uring_sq_ready(&s->ring) && !s->plugged) {
        io_uring_submit(&s->ring);
    }
    g_mutex_unlock(&s->sq_lock);
}

/* The I/O thread's poller: are there completions to reap? */
static bool luring_cq_ready(void *opaque)
{
    LuringState *s = opaque;

    return io_uring_cq_ready(&s->ring) != 0;
}

static void add_poller(void *opaque)
{
    LuringState *s = opaque;

    iothread_add_poller(s->poll_thread, &s->poller);
}

static void remove_poller(void *opaque)
{
    LuringState *s = opaque;

    iothread_remove_poller(s->poll_thread, &s->poller);
}

/* Watch the ring from @ctx: its fd, and its CQ when an I/O thread runs
 * @ctx (pollers are the thread's own: added and removed there). */
static void watch_completions(LuringState *s, GMainContext *ctx)
{
    s->source = bdrv_fd_source_new(s->ring.ring_fd, luring_completions, s,
                                   ctx);
    s->poll_thread = iothread_of_context(ctx);
    if (s->poll_thread) {
        s->poller = (IOThreadPoller){
            .ready = luring_cq_ready, .run = luring_completions, .opaque = s,
        };
        iothread_run_sync(s->poll_thread, add_poller, s);
    }
}

static void unwatch_completions(LuringState *s)
{
    if (s->poll_thread) {
        iothread_run_sync(s->poll_thread, remove_poller, s);
        s->poll_thread = NULL;
    }
    g_source_destroy(s->source);
    g_source_unref(s->source);
}

LuringState *luring_init(const char *filename, GMainContext *ctx,
                         GError **errp)
{
    LuringState *s = g_new0(LuringState, 1);
    int ret = io_uring_queue_init(HOST_AIO_SLOTS, &s->ring, 0);

    if (ret < 0) {
        error_setg(errp, "'%s': aio=io_uring: the kernel refused "
                   "io_uring_setup: %s (disabled by the "
                   "kernel.io_uring_disabled sysctl or a seccomp/container "
                   "policy?); use aio=threads", filename, g_strerror(-ret));
        g_free(s);
        return NULL;
    }
    g_mutex_init(&s->sq_lock);
    for (int i = HOST_AIO_SLOTS - 1; i >= 0; i--) {
        s->slots[i].s = s;
        s->slots[i].next_free = s->free;
        s->free = &s->slots[i];
    }
    watch_completions(s, ctx);
    return s;
}

void luring_attach_aio_context(LuringState *s, GMainContext *ctx)
{
    unwatch_completions(s);
    watch_completions(s, ctx);
}

void luring_cleanup(LuringState *s)
{
    if (!s) {
        return;
    }
    unwatch_completions(s);
    io_uring_queue_exit(&s->ring);
    g_mutex_clear(&s->sq_lock);
    g_free(s);
}

/* ---- synchronous requests: one small ring per thread ------------------ */

static void thread_ring_free(gpointer p)
{
    struct io_uring *ring = p;

    io_uring_queue_exit(ring);
    g_free(ring);
}

static GPrivate thread_ring_key = G_PRIVATE_INIT(thread_ring_free);

static struct io_uring *thread_ring(int *err)
{
    struct io_uring *ring = g_private_get(&thread_ring_key);

    if (!ring) {
        ring = g_new0(struct io_uring, 1);
        *err = io_uring_queue_init(4, ring, 0);
        if (*err < 0) {
            g_free(ring);
            return NULL;
        }
        g_private_set(&thread_ring_key, ring);
    }
    return ring;
}

/* One SQE, wait for its CQE; the result or -errno. */
static int ring_run(struct io_uring *ring, BdrvAioOp op, int fd,
                    uint64_t off, uint32_t n, uint8_t *p, bool fua)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    struct io_uring_cqe *cqe;
    int ret;

    switch (op) {
    case BDRV_AIO_READ:
        io_uring_prep_read(sqe, fd, p, n, off);
        break;
    case BDRV_AIO_WRITE:
        io_uring_prep_write(sqe, fd, p, n, off);
        sqe->rw_flags = fua ? RWF_DSYNC : 0;
        break;
    case BDRV_AIO_FLUSH:
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
        break;
    }
    do {
        ret = io_uring_submit_and_wait(ring, 1);
    } while (ret == -EINTR || ret == -EAGAIN);
    if (ret < 0) {
        return ret;
    }
    do {
        ret = io_uring_wait_cqe(ring, &cqe);
    } while (ret == -EINTR);
    if (ret < 0) {
        return ret;
    }
    ret = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return ret;
}

int luring_sync(int fd, BdrvAioOp op, uint64_t off, uint64_t len, void *buf,
                bool fua)
{
    int err = 0;
    struct io_uring *ring = thread_ring(&err);
    uint8_t *p = buf;

    if (!ring) {
        return err;
    }
    if (op == BDRV_AIO_FLUSH) {
        return MIN(ring_run(ring, op, fd, 0, 0, NULL, false), 0);
    }
    while (len) {
        int n = ring_run(ring, op, fd, off, MIN(len, LURING_MAX_IO), p, fua);

        if (n == -EINTR || n == -EAGAIN) {
            continue;
        }
        if (n < 0) {
            return n;
        }
        if (op == BDRV_AIO_READ && (uint64_t)n < len &&
            (n == 0 || short_read_is_eof(fd))) {
            memset(p + n, 0, len - n);      /* past the end of the file */
            return 0;
        }
        if (n == 0) {
            return -ENOSPC;
        }
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}
