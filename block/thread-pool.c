/*
 * The block layer's worker threads and its asynchronous request API.
 *
 * With aio=io_uring or aio=native a request the node can take directly
 * goes to the host engine (include/block/host-aio.h).  Otherwise it
 * runs the node's synchronous path on a pool thread; its
 * completion is dispatched on the node's AioContext (a GMainContext:
 * the main loop's, or an I/O thread's), so device models see completions
 * in the thread that submitted them.  Up to POOL_THREADS requests run at
 * once; more queue.
 */
#include "qemu/osdep.h"
#include "system/iothread.h"
#include "block/block-int.h"
#include "system/exit-tail.h"

#define POOL_THREADS 64

typedef struct DoneSource DoneSource;

typedef struct PoolJob {
    ThreadPoolFunc *work, *done;
    void *opaque;
    DoneSource *ds;                 /* where its completion runs */
    struct PoolJob *next;           /* in ds->done */
} PoolJob;

static GThreadPool *pool;

/*
 * The finished jobs of one context and the one source that runs their
 * completions there: a worker pushes its job on a lock-free stack and
 * wakes the context only when the stack was empty, so a batch of
 * completions costs one wakeup and no allocation (an idle source per job
 * did both each time).  The source may recurse: a completion that drains
 * (blk_drain_all iterates the main context) sees later ones complete.
 * Freed with its context (an I/O thread's, when the thread goes: nothing
 * is in flight then).
 */
struct DoneSource {
    GSource source;
    GMainContext *ctx;
    PoolJob *done;                  /* atomic: newest first */
};

static GMutex done_lock;
static GPtrArray *done_sources;     /* DoneSource * (done_lock) */

/* Run what finished, oldest first; false when nothing had. */
static bool done_run(DoneSource *ds)
{
    PoolJob *job = __atomic_exchange_n(&ds->done, NULL, __ATOMIC_ACQUIRE);
    PoolJob *fifo = NULL;

    if (!job) {
        return false;
    }
    while (job) {
        PoolJob *next = job->next;
        job->next = fifo;
        fifo = job;
        job = next;
    }
    while (fifo) {
        PoolJob *next = fifo->next;
        fifo->done(fifo->opaque);
        g_free(fifo);
        fifo = next;
    }
    return true;
}

static gboolean done_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return __atomic_load_n(&((DoneSource *)source)->done, __ATOMIC_ACQUIRE)
           != NULL;
}

static gboolean done_check(GSource *source)
{
    return __atomic_load_n(&((DoneSource *)source)->done, __ATOMIC_ACQUIRE)
           != NULL;
}

static gboolean done_dispatch(GSource *source, GSourceFunc cb, gpointer ud)
{
    done_run((DoneSource *)source);
    return G_SOURCE_CONTINUE;
}

static void done_finalize(GSource *source)
{
    g_mutex_lock(&done_lock);
    g_ptr_array_remove_fast(done_sources, source);
    g_mutex_unlock(&done_lock);
}

static GSourceFuncs done_funcs = {
    .prepare = done_prepare,
    .check = done_check,
    .dispatch = done_dispatch,
    .finalize = done_finalize,
};

/* @ctx's source (made on first use). */
static DoneSource *done_source_of(GMainContext *ctx)
{
    DoneSource *ds = NULL;

    g_mutex_lock(&done_lock);
    if (!done_sources) {
        done_sources = g_ptr_array_new();
    }
    for (unsigned i = 0; i < done_sources->len && !ds; i++) {
        DoneSource *d = g_ptr_array_index(done_sources, i);
        if (d->ctx == ctx) {
            ds = d;
        }
    }
    if (!ds) {
        ds = (DoneSource *)g_source_new(&done_funcs, sizeof(DoneSource));
        ds->ctx = ctx;
        g_source_set_priority(&ds->source, G_PRIORITY_DEFAULT);
        g_source_set_can_recurse(&ds->source, TRUE);
        g_ptr_array_add(done_sources, ds);
        g_source_attach(&ds->source, ctx);
        g_source_unref(&ds->source);        /* the context holds it */
    }
    g_mutex_unlock(&done_lock);
    return ds;
}

static void done_push(PoolJob *job)
{
    DoneSource *ds = job->ds;
    PoolJob *old = __atomic_load_n(&ds->done, __ATOMIC_RELAXED);

    do {
        job->next = old;
    } while (!__atomic_compare_exchange_n(&ds->done, &old, job, true,
                                          __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    if (!old) {
        g_main_context_wakeup(ds->ctx);
    }
}

/*
 * A vCPU's I/O exit, big lock held (system/exit-tail.h): the main loop's
 * completions that are ready run now, before the access, so a guest
 * polling a status register sees a request a worker finished without
 * waiting for the main loop to wake up, take the lock and run it.  A
 * main-thread loop that waits for requests in g_main_context_iteration
 * still wakes: the push that made the stack non-empty woke the context,
 * and the check after that poll runs under the big lock, so it sees
 * either the jobs or their completions done.
 */
static DoneSource *main_done;

static void done_run_main(void)
{
    DoneSource *ds = __atomic_load_n(&main_done, __ATOMIC_ACQUIRE);

    if (ds) {
        done_run(ds);
    }
}

static void job_run(gpointer data, gpointer user_data)
{
    static __thread bool named;
    PoolJob *job = data;

    if (!named) {
        qemu_thread_name_self("worker");
        named = true;
    }

    job->work(job->opaque);
    done_push(job);
}

static gpointer pool_create(gpointer unused)
{
    GError *err = NULL;

    __atomic_store_n(&main_done, done_source_of(g_main_context_default()),
                     __ATOMIC_RELEASE);
    exit_tail_set_head(done_run_main);
    GThreadPool *p = g_thread_pool_new(job_run, NULL, POOL_THREADS, FALSE,
                                       &err);

    if (!p) {
        fatal_error(err);
    }
    return p;
}

void thread_pool_submit(ThreadPoolFunc *work, ThreadPoolFunc *done,
                        void *opaque, GMainContext *ctx)
{
    static GOnce once = G_ONCE_INIT;
    PoolJob *job = g_new(PoolJob, 1);

    pool = g_once(&once, pool_create, NULL);
    job->work = work;
    job->done = done;
    job->opaque = opaque;
    job->ds = done_source_of(ctx ? ctx : g_main_context_default());
    g_thread_pool_push(pool, job, NULL);
}

/* Asynchronous requests on top of the synchronous path. */

typedef enum {
    AIO_READ, AIO_WRITE, AIO_FLUSH, AIO_ZEROES, AIO_DISCARD,
} AioKind;

typedef struct AioRequest {
    BlockDriverState *bs;
    AioKind kind;
    uint64_t offset, bytes;
    int flags;                      /* AIO_ZEROES */
    void *buf;
    BlockCompletionFunc *cb;
    void *opaque;
    GError *err;
} AioRequest;

static void aio_work(void *opaque)
{
    AioRequest *req = opaque;

    switch (req->kind) {
    case AIO_READ:
        bdrv_pread(req->bs, req->offset, req->bytes, req->buf, &req->err);
        break;
    case AIO_WRITE:
        bdrv_pwrite(req->bs, req->offset, req->bytes, req->buf, &req->err);
        break;
    case AIO_FLUSH:
        bdrv_flush(req->bs, &req->err);
        break;
    case AIO_ZEROES:
        bdrv_pwrite_zeroes(req->bs, req->offset, req->bytes, req->flags,
                           &req->err);
        break;
    case AIO_DISCARD:
        bdrv_pdiscard(req->bs, req->offset, req->bytes, &req->err);
        break;
    }
}

static void aio_done(void *opaque)
{
    AioRequest *req = opaque;

    g_atomic_int_dec_and_test(&req->bs->in_flight);
    req->cb(req->opaque, req->err);
    if (req->err) {
        g_error_free(req->err);
    }
    g_free(req);
}

static const BdrvAioOp host_aio_op[] = {
    [AIO_READ] = BDRV_AIO_READ,
    [AIO_WRITE] = BDRV_AIO_WRITE,
    [AIO_FLUSH] = BDRV_AIO_FLUSH,
};

/* On a worker: zeroes and discards have no host engine path here. */
static void aio_submit_pool(BlockDriverState *bs, AioKind kind,
                            uint64_t offset, uint64_t bytes, int flags,
                            BlockCompletionFunc *cb, void *opaque)
{
    AioRequest *req = g_new0(AioRequest, 1);

    req->bs = bs;
    req->kind = kind;
    req->offset = offset;
    req->bytes = bytes;
    req->flags = flags;
    req->cb = cb;
    req->opaque = opaque;
    g_atomic_int_inc(&bs->in_flight);
    thread_pool_submit(aio_work, aio_done, req, bs->aio_ctx);
}

static void aio_submit(BlockDriverState *bs, AioKind kind, uint64_t offset,
                       uint64_t bytes, void *buf, BlockCompletionFunc *cb,
                       void *opaque)
{
    BdrvAioRequest host = {
        .top = bs, .bs = bs, .op = host_aio_op[kind], .offset = offset,
        .bytes = bytes, .buf = buf, .fua = bs->flags & BDRV_O_WRITETHROUGH,
        .cb = cb, .opaque = opaque,
    };
    AioRequest *req;

    /* aio=io_uring / aio=native: straight to the host engine when the
     * node can take it (no worker thread, no allocation). */
    g_atomic_int_inc(&bs->in_flight);
    if (bdrv_aio_try_host(bs, &host)) {
        return;
    }
    g_atomic_int_dec_and_test(&bs->in_flight);

    req = g_new0(AioRequest, 1);
    req->bs = bs;
    req->kind = kind;
    req->offset = offset;
    req->bytes = bytes;
    req->buf = buf;
    req->cb = cb;
    req->opaque = opaque;
    g_atomic_int_inc(&bs->in_flight);
    thread_pool_submit(aio_work, aio_done, req, bs->aio_ctx);
}

void bdrv_aio_complete(const BdrvAioRequest *req, int ret, const char *what)
{
    GError *err = NULL;

    if (ret < 0) {
        error_setg(&err, "'%s': %s: %s", req->bs->filename, what,
                   g_strerror(-ret));
    }
    /* A host engine's write went around bdrv_pwrite: mark it here, on
     * the node the caller submitted to. */
    if (req->op == BDRV_AIO_WRITE) {
        bdrv_set_dirty(req->top, req->offset, req->bytes);
    }
    g_atomic_int_dec_and_test(&req->top->in_flight);
    req->cb(req->opaque, err);
    if (err) {
        g_error_free(err);
    }
}

GMainContext *bdrv_get_aio_context(BlockDriverState *bs)
{
    return bs->aio_ctx ? bs->aio_ctx : g_main_context_default();
}

/* The whole subtree moves: a format node's completions may come from its
 * protocol child's engine. */
void bdrv_set_aio_context(BlockDriverState *bs, GMainContext *ctx)
{
    if (!bs) {
        return;
    }
    g_assert(g_atomic_int_get(&bs->in_flight) == 0);
    bs->aio_ctx = ctx;
    if (bs->drv->attach_aio_context) {
        bs->drv->attach_aio_context(bs, bdrv_get_aio_context(bs));
    }
    bdrv_set_aio_context(bs->file, ctx);
    bdrv_set_aio_context(bs->backing, ctx);
}

/* An eventfd watched by a GMainContext. */
typedef struct FdSource {
    GSource source;
    void (*fn)(void *opaque);
    void *opaque;
} FdSource;

static gboolean fd_source_dispatch(GSource *source, GSourceFunc callback,
                                   gpointer user_data)
{
    FdSource *fs = (FdSource *)source;

    fs->fn(fs->opaque);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_source_funcs = {
    .dispatch = fd_source_dispatch,
};

GSource *bdrv_fd_source_new(int fd, void (*fn)(void *opaque), void *opaque,
                            GMainContext *ctx)
{
    GSource *src = g_source_new(&fd_source_funcs, sizeof(FdSource));
    FdSource *fs = (FdSource *)src;

    fs->fn = fn;
    fs->opaque = opaque;
    g_source_add_unix_fd(src, fd, G_IO_IN);
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    context_attach_source(src, ctx);
    return src;
}

void bdrv_aio_pread(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                    void *buf, BlockCompletionFunc *cb, void *opaque)
{
    aio_submit(bs, AIO_READ, offset, bytes, buf, cb, opaque);
}

void bdrv_aio_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                     const void *buf, BlockCompletionFunc *cb, void *opaque)
{
    /* The buffer is only read; the request struct keeps one pointer. */
    aio_submit(bs, AIO_WRITE, offset, bytes, (void *)buf, cb, opaque);
}

void bdrv_aio_flush(BlockDriverState *bs, BlockCompletionFunc *cb,
                    void *opaque)
{
    aio_submit(bs, AIO_FLUSH, 0, 0, NULL, cb, opaque);
}

void bdrv_aio_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, int flags,
                            BlockCompletionFunc *cb, void *opaque)
{
    aio_submit_pool(bs, AIO_ZEROES, offset, bytes, flags, cb, opaque);
}

void bdrv_aio_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                       BlockCompletionFunc *cb, void *opaque)
{
    aio_submit_pool(bs, AIO_DISCARD, offset, bytes, 0, cb, opaque);
}

/* ---- vectored requests ------------------------------------------------- */

/* One part of @v finished (an engine element or the worker's share). */
static void vec_part_done(void *opaque, GError *err)
{
    BdrvAioVec *v = opaque;

    if (err && !v->err) {
        v->err = g_error_copy(err);     /* error path only */
    }
    if (g_atomic_int_dec_and_test(&v->pending)) {
        GError *e = v->err;

        v->err = NULL;
        v->cb(v->opaque, e);
        if (e) {
            g_error_free(e);
        }
    }
}

/* The worker's share: elements [first, niov) one after the other through
 * the synchronous path (which bounces what O_DIRECT cannot take). */
static void vec_work(void *opaque)
{
    BdrvAioVec *v = opaque;
    uint64_t off = v->offset;
    GError *err = NULL;

    for (int i = v->first; i < v->niov && !err; i++) {
        const struct iovec *e = &v->iov[i];

        if (v->write) {
            bdrv_pwrite(v->bs, off, e->iov_len, e->iov_base, &err);
        } else {
            bdrv_pread(v->bs, off, e->iov_len, e->iov_base, &err);
        }
        off += e->iov_len;
    }
    /* Kept apart from v->err, which engine parts set on the context
     * meanwhile; merged there by vec_work_done. */
    v->work_err = err;
}

static void vec_work_done(void *opaque)
{
    BdrvAioVec *v = opaque;
    GError *err = v->work_err;

    v->work_err = NULL;
    g_atomic_int_dec_and_test(&v->bs->in_flight);
    vec_part_done(v, err);
    if (err) {
        g_error_free(err);
    }
}

static void aio_vec_submit(BlockDriverState *bs, BdrvAioVec *v, bool write,
                           uint64_t offset, const struct iovec *iov, int niov,
                           BlockCompletionFunc *cb, void *opaque)
{
    int i = 0;

    *v = (BdrvAioVec) {
        .bs = bs, .write = write, .offset = offset, .iov = iov,
        .niov = niov, .pending = 1, .cb = cb, .opaque = opaque,
    };
    /* Straight to the host engine, element by element, while it takes
     * them; the engine completes each on the node's context, so none can
     * complete before this returns when the caller runs there. */
    for (; bs->drv->aio_submit && i < niov; i++) {
        BdrvAioRequest host = {
            .top = bs, .bs = bs,
            .op = write ? BDRV_AIO_WRITE : BDRV_AIO_READ,
            .offset = v->offset, .bytes = iov[i].iov_len,
            .buf = iov[i].iov_base, .fua = bs->flags & BDRV_O_WRITETHROUGH,
            .cb = vec_part_done, .opaque = v,
        };

        g_atomic_int_inc(&v->pending);
        g_atomic_int_inc(&bs->in_flight);
        if (!bdrv_aio_try_host(bs, &host)) {
            g_atomic_int_dec_and_test(&bs->in_flight);
            g_atomic_int_dec_and_test(&v->pending);
            break;
        }
        v->offset += iov[i].iov_len;
    }
    /* The rest (all of it with aio=threads or a qcow2 node) on a worker;
     * an empty vector too, so the completion never runs in here.  The
     * worker's part holds the first reference. */
    if (i < niov || niov == 0) {
        v->first = i;
        g_atomic_int_inc(&bs->in_flight);
        thread_pool_submit(vec_work, vec_work_done, v, bs->aio_ctx);
        return;
    }
    vec_part_done(v, NULL);
}

void bdrv_aio_preadv(BlockDriverState *bs, BdrvAioVec *v, uint64_t offset,
                     const struct iovec *iov, int niov,
                     BlockCompletionFunc *cb, void *opaque)
{
    aio_vec_submit(bs, v, false, offset, iov, niov, cb, opaque);
}

void bdrv_aio_pwritev(BlockDriverState *bs, BdrvAioVec *v, uint64_t offset,
                      const struct iovec *iov, int niov,
                      BlockCompletionFunc *cb, void *opaque)
{
    aio_vec_submit(bs, v, true, offset, iov, niov, cb, opaque);
}

unsigned bdrv_aio_in_flight(BlockDriverState *bs)
{
    return g_atomic_int_get(&bs->in_flight);
}
