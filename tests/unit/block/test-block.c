/*
 * The block layer's generic request path: bounds and read-only checks,
 * asynchronous requests completing on the main context and on an I/O
 * thread's context, write-through flushes, O_DIRECT bounce buffers, and
 * qcow2 round trips checked by the driver's own consistency check.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "block/block-int.h"
#include "system/exit-tail.h"

static char *tmpdir;

static char *make_raw(const char *name, uint64_t size)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    GError *err = NULL;

    g_assert_true(bdrv_create("raw", path, size, NULL, &err));
    g_assert_no_error(err);
    return path;
}

static void test_bounds(void)
{
    char *path = make_raw("bounds.raw", 64 * KiB);
    GError *err = NULL;
    uint8_t buf[512] = { 0 };
    BlockDriverState *bs = bdrv_open(path, "raw", 0, &err);

    g_assert_no_error(err);
    g_assert_cmpuint(bdrv_getlength(bs), ==, 64 * KiB);
    g_assert_false(bdrv_pread(bs, 64 * KiB - 256, 512, buf, &err));
    g_assert_nonnull(strstr(err->message, "past the end"));
    g_clear_error(&err);
    g_assert_false(bdrv_pread(bs, UINT64_MAX - 10, 512, buf, &err));
    g_clear_error(&err);
    g_assert_false(bdrv_pwrite(bs, 0, 512, buf, &err));
    g_assert_nonnull(strstr(err->message, "read-only"));
    g_clear_error(&err);
    bdrv_unref(bs);
    g_free(path);
}

typedef struct AioState {
    int done;
    GThread *thread;        /* where completions must run */
    bool wrong_thread;
} AioState;

static void aio_cb(void *opaque, GError *err)
{
    AioState *st = opaque;

    g_assert_no_error(err);
    st->wrong_thread |= g_thread_self() != st->thread;
    st->done++;
}

static void run_aio(BlockDriverState *bs, GMainContext *ctx, AioState *st)
{
    enum { N = 32, SZ = 4096 };
    static uint8_t wbuf[N][SZ], rbuf[N][SZ];

    st->done = 0;
    for (int i = 0; i < N; i++) {
        memset(wbuf[i], i + 1, SZ);
        bdrv_aio_pwrite(bs, (uint64_t)i * SZ, SZ, wbuf[i], aio_cb, st);
    }
    while (st->done < N) {
        g_main_context_iteration(ctx, TRUE);
    }
    bdrv_aio_flush(bs, aio_cb, st);
    for (int i = 0; i < N; i++) {
        bdrv_aio_pread(bs, (uint64_t)i * SZ, SZ, rbuf[i], aio_cb, st);
    }
    while (st->done < 2 * N + 1) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 0);
    g_assert_cmpmem(wbuf, sizeof(wbuf), rbuf, sizeof(rbuf));
    g_assert_false(st->wrong_thread);
}

static gpointer iothread_main(gpointer opaque)
{
    BlockDriverState *bs = opaque;
    GMainContext *ctx = g_main_context_new();
    AioState st = { .thread = g_thread_self() };

    g_main_context_push_thread_default(ctx);
    bdrv_set_aio_context(bs, ctx);
    run_aio(bs, ctx, &st);
    bdrv_set_aio_context(bs, NULL);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return NULL;
}

static void test_aio(gconstpointer fmt)
{
    char *path = g_build_filename(tmpdir, "aio.img", NULL);
    GError *err = NULL;
    BlockDriverState *bs;
    AioState st = { .thread = g_thread_self() };
    GThread *io;

    g_assert_true(bdrv_create(fmt, path, 1 * MiB, NULL, &err));
    bs = bdrv_open(path, fmt, BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    g_assert_no_error(err);
    run_aio(bs, NULL, &st);               /* completions on the main loop */
    io = g_thread_new("iothread", iothread_main, bs);
    g_thread_join(io);                    /* ... and on an I/O thread */
    bdrv_unref(bs);
    g_free(path);
}

typedef struct VecState {
    int done;
    int ret;
} VecState;

static void vec_cb(void *opaque, int ret)
{
    VecState *st = opaque;

    st->ret = ret;
    st->done++;
}

static void vec_wait(VecState *st, int n)
{
    while (st->done < n) {
        g_main_context_iteration(NULL, TRUE);
    }
}

/*
 * blk_aio_preadv/pwritev: uneven pieces land at consecutive offsets, one
 * completion per request, errors (past the end, no medium) reported once.
 */
static void test_backend_vectored(void)
{
    char *path = make_raw("vec.raw", 64 * KiB);
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "raw", BDRV_O_RDWR, &err);
    BlockBackend *blk = blk_new("vec");
    static uint8_t a[1000], b[3096], c[7], r[4103], flat[4103];
    struct iovec wv[] = { { a, sizeof(a) }, { c, 0 }, { b, sizeof(b) },
                          { c, sizeof(c) } };
    struct iovec rv[] = { { r, 1 }, { r + 1, sizeof(r) - 1 } };
    VecState st = { 0 };
    BlkAioVec vreq;         /* the caller owns the request's storage */
    BlockAcctStats stats;

    g_assert_no_error(err);
    g_assert_true(blk_insert_bs(blk, bs, &err));
    memset(a, 0xa1, sizeof(a));
    memset(b, 0xb2, sizeof(b));
    memset(c, 0xc3, sizeof(c));
    blk_aio_pwritev(blk, &vreq, 512, wv, G_N_ELEMENTS(wv), vec_cb, &st);
    vec_wait(&st, 1);
    g_assert_cmpint(st.ret, ==, 0);
    g_assert_cmpint(blk_pread(blk, 512, sizeof(flat), flat), ==, 0);
    g_assert_cmpmem(flat, 1000, a, 1000);
    g_assert_cmpmem(flat + 1000, 3096, b, 3096);
    g_assert_cmpmem(flat + 4096, 7, c, 7);
    blk_aio_preadv(blk, &vreq, 512, rv, G_N_ELEMENTS(rv), vec_cb, &st);
    vec_wait(&st, 2);
    g_assert_cmpint(st.ret, ==, 0);
    g_assert_cmpmem(r, sizeof(r), flat, sizeof(flat));
    /* past the end: one error for the request */
    blk_aio_preadv(blk, &vreq, 64 * KiB - 1, rv, G_N_ELEMENTS(rv), vec_cb, &st);
    vec_wait(&st, 3);
    g_assert_cmpint(st.ret, <, 0);
    /* an empty vector completes later, not inside the call */
    blk_aio_preadv(blk, &vreq, 0, rv, 0, vec_cb, &st);
    g_assert_cmpint(st.done, ==, 3);
    vec_wait(&st, 4);
    g_assert_cmpint(st.ret, ==, 0);
    blk_get_stats(blk, &stats);
    g_assert_cmpuint(stats.bytes[BLOCK_ACCT_WRITE], ==, 4103);
    g_assert_cmpuint(stats.ops[BLOCK_ACCT_READ], ==, 3);
    g_assert_cmpuint(stats.failed_ops[BLOCK_ACCT_READ], ==, 1);
    /* zeroes, then no medium */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 512, 1000, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 512, 1000, flat), ==, 0);
    for (int i = 0; i < 1000; i++) {
        g_assert_cmpint(flat[i], ==, 0);
    }
    blk_remove_bs(blk);
    blk_aio_pwritev(blk, &vreq, 0, wv, G_N_ELEMENTS(wv), vec_cb, &st);
    g_assert_cmpint(st.done, ==, 4);
    vec_wait(&st, 5);
    g_assert_cmpint(st.ret, ==, -ENOMEDIUM);
    blk_delete(blk);
    bdrv_unref(bs);
    g_free(path);
}

/*
 * Reads on a vCPU exit's tail (include/system/exit-tail.h): a read the
 * page cache holds completes when the exit's tail runs, never inside
 * blk_aio_preadv; what cannot be done in place (past the exit's budget, a
 * qcow2 node, outside an exit) completes on the main loop as always.  A
 * drain inside the exit runs the tail's completions.
 */
static void test_read_on_exit_tail(void)
{
    char *path = make_raw("tail.raw", 4 * MiB);
    char *qpath = g_build_filename(tmpdir, "tail.qcow2", NULL);
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "raw", BDRV_O_RDWR, &err);
    BlockBackend *blk = blk_new("tail");
    g_autofree uint8_t *pat = g_malloc(2 * MiB);
    g_autofree uint8_t *got = g_malloc0(2 * MiB);
    struct iovec iov[] = { { got, 4 * KiB }, { got + 4 * KiB, 60 * KiB } };
    struct iovec big = { got, 2 * MiB };
    VecState st = { 0 }, flat = { 0 };
    BlkAioVec vreq;
    BlockAcctStats stats;

    g_assert_no_error(err);
    g_assert_true(blk_insert_bs(blk, bs, &err));
    for (size_t i = 0; i < 2 * MiB; i++) {
        pat[i] = i * 7 + (i >> 12);
    }
    /* written through the page cache: the reads below find it there */
    g_assert_cmpint(blk_pwrite(blk, 0, 2 * MiB, pat), ==, 0);

    exit_tail_begin();
    blk_aio_preadv(blk, &vreq, 0, iov, G_N_ELEMENTS(iov), vec_cb, &st);
    g_assert_cmpint(st.done, ==, 0);            /* not inside the call */
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 1);
    exit_tail_end();
    g_assert_cmpint(st.done, ==, 1);            /* on the tail */
    g_assert_cmpint(st.ret, ==, 0);
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 0);
    g_assert_cmpmem(got, 64 * KiB, pat, 64 * KiB);
    blk_get_stats(blk, &stats);
    g_assert_cmpuint(stats.ops[BLOCK_ACCT_READ], ==, 1);
    g_assert_cmpuint(stats.bytes[BLOCK_ACCT_READ], ==, 64 * KiB);

    /* the flat form too (the floppy's) */
    memset(got, 0, 64 * KiB);
    exit_tail_begin();
    blk_aio_pread(blk, 4 * KiB, 8 * KiB, got, vec_cb, &flat);
    g_assert_cmpint(flat.done, ==, 0);
    exit_tail_end();
    g_assert_cmpint(flat.done, ==, 1);
    g_assert_cmpint(flat.ret, ==, 0);
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 0);
    g_assert_cmpmem(got, 8 * KiB, pat + 4 * KiB, 8 * KiB);

    /* past the exit's budget: the usual way, completed on the main loop */
    memset(got, 0, 2 * MiB);
    exit_tail_begin();
    blk_aio_preadv(blk, &vreq, 0, &big, 1, vec_cb, &st);
    exit_tail_end();
    g_assert_cmpint(st.done, ==, 1);
    vec_wait(&st, 2);
    g_assert_cmpint(st.ret, ==, 0);
    g_assert_cmpmem(got, 2 * MiB, pat, 2 * MiB);

    /* outside an exit: the usual way */
    blk_aio_preadv(blk, &vreq, 0, iov, G_N_ELEMENTS(iov), vec_cb, &st);
    g_assert_cmpint(st.done, ==, 2);
    vec_wait(&st, 3);

    /* a drain inside the exit completes the read done in place */
    exit_tail_begin();
    blk_aio_preadv(blk, &vreq, 64 * KiB, iov, G_N_ELEMENTS(iov), vec_cb,
                   &st);
    blk_drain_all();
    g_assert_cmpint(st.done, ==, 4);
    exit_tail_end();
    g_assert_cmpint(st.done, ==, 4);
    g_assert_cmpmem(got, 64 * KiB, pat + 64 * KiB, 64 * KiB);
    blk_remove_bs(blk);
    bdrv_unref(bs);

    /* a qcow2 node maps offsets: never read in place */
    g_assert_true(bdrv_create("qcow2", qpath, 4 * MiB, NULL, &err));
    bs = bdrv_open(qpath, "qcow2", BDRV_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_true(blk_insert_bs(blk, bs, &err));
    g_assert_cmpint(blk_pwrite(blk, 0, 64 * KiB, pat), ==, 0);
    exit_tail_begin();
    blk_aio_preadv(blk, &vreq, 0, iov, G_N_ELEMENTS(iov), vec_cb, &st);
    exit_tail_end();
    g_assert_cmpint(st.done, ==, 4);
    vec_wait(&st, 5);
    g_assert_cmpint(st.ret, ==, 0);
    g_assert_cmpmem(got, 64 * KiB, pat, 64 * KiB);
    blk_remove_bs(blk);
    blk_delete(blk);
    bdrv_unref(bs);
    g_free(qpath);
    g_free(path);
}

/*
 * The thread pool's completions: a finished job's completion runs on its
 * context, and at the head of a vCPU exit for the main loop's
 * (exit_tail_begin), never one of another context's there.
 */
typedef struct PoolProbe {
    int worked;                     /* atomic */
    int done;
} PoolProbe;

static void probe_work(void *opaque)
{
    g_atomic_int_inc(&((PoolProbe *)opaque)->worked);
}

static void probe_done(void *opaque)
{
    ((PoolProbe *)opaque)->done++;
}

static void probe_wait_worked(PoolProbe *p, int n)
{
    while (g_atomic_int_get(&p->worked) < n) {
        g_usleep(100);
    }
}

static void test_pool_completions(void)
{
    GMainContext *other = g_main_context_new();
    PoolProbe main_p = { 0 }, other_p = { 0 };

    for (int i = 0; i < 3; i++) {
        thread_pool_submit(probe_work, probe_done, &main_p, NULL);
    }
    thread_pool_submit(probe_work, probe_done, &other_p, other);
    probe_wait_worked(&main_p, 3);
    probe_wait_worked(&other_p, 1);
    g_assert_cmpint(main_p.done, ==, 0);    /* not inside the worker */
    exit_tail_begin();                      /* a vCPU exit's head */
    g_assert_cmpint(main_p.done, ==, 3);
    g_assert_cmpint(other_p.done, ==, 0);   /* its own context's only */
    exit_tail_end();
    while (!other_p.done) {
        g_main_context_iteration(other, TRUE);
    }
    /* and on the context itself, as always */
    thread_pool_submit(probe_work, probe_done, &main_p, NULL);
    while (main_p.done < 4) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_main_context_unref(other);
}

static void test_writethrough(void)
{
    char *path = make_raw("wt.raw", 64 * KiB);
    GError *err = NULL;
    int flags = BDRV_O_RDWR;
    uint8_t buf[512] = { 1 };
    BlockStats st;
    BlockDriverState *bs;

    g_assert_false(bdrv_parse_cache_mode("bogus", &flags, &err));
    g_clear_error(&err);
    g_assert_true(bdrv_parse_cache_mode("writethrough", &flags, &err));
    bs = bdrv_open(path, "raw", flags, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 3; i++) {
        g_assert_true(bdrv_pwrite(bs, i * 512, 512, buf, &err));
    }
    bdrv_get_stats(bs, &st);
    g_assert_cmpuint(st.writes, ==, 3);
    g_assert_cmpuint(st.flushes, ==, 3);    /* one per write */
    bdrv_unref(bs);
    flags = BDRV_O_RDWR;
    g_assert_true(bdrv_parse_cache_mode("writeback", &flags, &err));
    bs = bdrv_open(path, "raw", flags, &err);
    g_assert_true(bdrv_pwrite(bs, 0, 512, buf, &err));
    bdrv_get_stats(bs, &st);
    g_assert_cmpuint(st.flushes, ==, 0);
    bdrv_unref(bs);
    g_free(path);
}

static void test_direct_bounce(void)
{
    char *path = make_raw("direct.raw", 64 * KiB);
    GError *err = NULL;
    int flags = BDRV_O_RDWR;
    uint8_t *buf = g_malloc(8192), *back = g_malloc(8192);
    BlockDriverState *bs;
    BlockStats st;

    g_assert_true(bdrv_parse_cache_mode("none", &flags, &err));
    bs = bdrv_open(path, "raw", flags, &err);
    if (!bs) {
        g_test_skip(err->message);     /* e.g. tmpfs without O_DIRECT */
        g_clear_error(&err);
        goto out;
    }
    for (int i = 0; i < 8192; i++) {
        buf[i] = i * 7;
    }
    /* Unaligned offset, length and buffer: bounced, read-modify-write. */
    g_assert_true(bdrv_pwrite(bs, 1001, 5000, buf + 3, &err));
    g_assert_true(bdrv_pread(bs, 1001, 5000, back + 1, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(buf + 3, 5000, back + 1, 5000);
    g_assert_true(bdrv_pread(bs, 0, 1001, back, &err));
    for (int i = 0; i < 1001; i++) {
        g_assert_cmpint(back[i], ==, 0);
    }
    bdrv_get_stats(bdrv_file(bs), &st);
    g_assert_cmpuint(st.bounced, >=, 3);
    bdrv_unref(bs);
out:
    g_free(buf);
    g_free(back);
    g_free(path);
}

/* Random writes, zeroes and discards against a model, on small clusters
 * so that refcount blocks and the refcount table have to grow. */
static void test_qcow2_model(gconstpointer opts_str)
{
    const uint64_t size = 4 * MiB;
    char *path = g_build_filename(tmpdir, "model.qcow2", NULL);
    GHashTable *opts = g_hash_table_new(g_str_hash, g_str_equal);
    char **kv = g_strsplit(opts_str, ",", -1);
    uint8_t *model = g_malloc0(size), *back = g_malloc(size);
    GRand *rnd = g_rand_new_with_seed(42);
    BlockCheckResult res = { .log = g_string_new(NULL) };
    GError *err = NULL;
    BlockDriverState *bs;

    for (char **p = kv; *p && **p; p++) {
        char *eq = strchr(*p, '=');

        *eq = 0;
        g_hash_table_insert(opts, *p, eq + 1);
    }
    g_assert_true(bdrv_create("qcow2", path, size, opts, &err));
    g_assert_no_error(err);
    bs = bdrv_open(path, "qcow2", BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 300; i++) {
        uint64_t off = g_rand_int_range(rnd, 0, size - 1);
        uint64_t want = g_rand_int_range(rnd, 1, 200000);
        uint64_t len = MIN(size - off, want);   /* MIN evaluates twice */
        int op = g_rand_int_range(rnd, 0, 10);

        if (op < 7) {
            memset(model + off, i + 1, len);
            g_assert_true(bdrv_pwrite(bs, off, len, model + off, &err));
        } else if (op < 9) {
            memset(model + off, 0, len);
            g_assert_true(bdrv_pwrite_zeroes(bs, off, len,
                                             BDRV_REQ_MAY_UNMAP, &err));
        } else {
            /* discarded data reads as zero here (no backing file) only
             * for whole clusters; keep the model exact by re-reading */
            g_assert_true(bdrv_pdiscard(bs, off, len, &err));
            g_assert_true(bdrv_pread(bs, off, len, model + off, &err));
        }
        g_assert_no_error(err);
    }
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_true(bdrv_pread(bs, 0, size, back, &err));
    g_assert_cmpmem(model, size, back, size);
    bdrv_unref(bs);

    bs = bdrv_open(path, "qcow2", BDRV_O_CHECK, &err);
    g_assert_no_error(err);
    g_assert_true(bdrv_check(bs, &res, 0, &err));
    if (res.leaks || res.corruptions) {
        g_test_message("%s", res.log->str);
    }
    g_assert_cmpuint(res.leaks, ==, 0);
    g_assert_cmpuint(res.corruptions, ==, 0);
    g_assert_true(bdrv_pread(bs, 0, size, back, &err));
    g_assert_cmpmem(model, size, back, size);
    bdrv_unref(bs);
    g_string_free(res.log, true);
    g_rand_free(rnd);
    g_strfreev(kv);
    g_hash_table_unref(opts);
    g_free(model);
    g_free(back);
    g_free(path);
}

static void count_done(void *opaque, GError *err)
{
    g_assert_no_error(err);
    (*(int *)opaque)++;
}

static void check_clean(const char *path)
{
    BlockCheckResult res = { .log = g_string_new(NULL) };
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "qcow2", BDRV_O_CHECK, &err);

    g_assert_no_error(err);
    g_assert_true(bdrv_check(bs, &res, 0, &err));
    if (res.leaks || res.corruptions) {
        g_test_message("%s", res.log->str);
    }
    g_assert_cmpuint(res.leaks, ==, 0);
    g_assert_cmpuint(res.corruptions, ==, 0);
    bdrv_unref(bs);
    g_string_free(res.log, true);
}

/*
 * Many qcow2 writes in flight at once (the driver writes new clusters'
 * data outside its lock): each round splits the disk into runs of
 * half-clusters, so requests never share bytes but neighbours share
 * clusters (both would allocate the same cluster without the in-flight
 * ranges).  A snapshot between rounds makes them copy shared clusters.
 */
static void test_qcow2_parallel(void)
{
    const uint64_t size = 2 * MiB, piece = 2048;
    char *path = g_build_filename(tmpdir, "par.qcow2", NULL);
    GHashTable *opts = g_hash_table_new(g_str_hash, g_str_equal);
    uint8_t *model = g_malloc0(size), *back = g_malloc(size);
    GRand *rnd = g_rand_new_with_seed(7);
    GError *err = NULL;
    BlockDriverState *bs;

    g_hash_table_insert(opts, "cluster_size", "4k");
    g_assert_true(bdrv_create("qcow2", path, size, opts, &err));
    bs = bdrv_open(path, "qcow2", BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    g_assert_no_error(err);
    for (int round = 0; round < 6; round++) {
        int submitted = 0, done = 0;

        for (uint64_t off = 0; off < size;) {
            uint64_t want = piece * g_rand_int_range(rnd, 1, 6);
            uint64_t len = MIN(size - off, want);   /* MIN evaluates twice */

            memset(model + off, round * 16 + submitted % 16 + 1, len);
            bdrv_aio_pwrite(bs, off, len, model + off, count_done, &done);
            submitted++;
            off += len;
        }
        while (done < submitted) {
            g_main_context_iteration(NULL, TRUE);
        }
        if (round == 2) {
            g_assert_true(bdrv_snapshot_create(bs, "mid", &err));
            g_assert_no_error(err);
        }
    }
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_true(bdrv_pread(bs, 0, size, back, &err));
    g_assert_cmpmem(model, size, back, size);
    bdrv_unref(bs);
    check_clean(path);
    g_rand_free(rnd);
    g_hash_table_unref(opts);
    g_free(model);
    g_free(back);
    g_free(path);
}

static void dirty_aio_done(void *opaque, GError *err)
{
    g_assert_no_error(err);
    *(bool *)opaque = true;
}

/*
 * The write hook: synchronous and asynchronous writes and write-zeroes
 * set the granules they touch; reset clears only whole granules (the
 * short last one too); next_dirty finds runs; count is in bytes.
 */
static void test_dirty_bitmap(void)
{
    uint64_t size = 100 * KiB + 1000;       /* a short last granule */
    char *path = make_raw("dirty.raw", size);
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "raw", BDRV_O_RDWR, &err);
    BdrvDirtyBitmap *bm;
    uint8_t buf[8192];
    uint64_t bytes = 0;
    bool done = false;

    g_assert_no_error(err);
    memset(buf, 0xa5, sizeof(buf));
    g_assert_true(bdrv_pwrite(bs, 0, 512, buf, &err));    /* before: no mark */
    bm = bdrv_create_dirty_bitmap(bs, 4096);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 0);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, 1 * MiB, &bytes),
                    ==, -1);
    /* 4095..4097 touches granules 0 and 1 */
    g_assert_true(bdrv_pwrite(bs, 4095, 2, buf, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 8192);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, 1 * MiB, &bytes),
                    ==, 0);
    g_assert_cmpuint(bytes, ==, 8192);
    /* a run is cut at max_bytes (at least one granule) */
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, 100, &bytes), ==, 0);
    g_assert_cmpuint(bytes, ==, 4096);
    /* a partial reset leaves the granules it does not cover */
    bdrv_reset_dirty_bitmap(bm, 100, 8000);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 8192);
    bdrv_reset_dirty_bitmap(bm, 0, 8192);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 0);
    /* write-zeroes, and the short last granule (1000 bytes) */
    g_assert_true(bdrv_pwrite_zeroes(bs, size - 10, 10, 0, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 1000);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 4096, 1 * MiB, &bytes),
                    ==, 100 * KiB);
    g_assert_cmpuint(bytes, ==, 1000);
    bdrv_reset_dirty_bitmap(bm, 100 * KiB, 1000);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 0);
    /* set past the end is clamped, not an overflow */
    bdrv_set_dirty_bitmap(bm, size - 1, UINT64_MAX);
    bdrv_set_dirty_bitmap(bm, UINT64_MAX - 5, 10);
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, 1000);
    bdrv_reset_dirty_bitmap(bm, 0, size);
    /* an asynchronous write is marked by the time it completes */
    bdrv_aio_pwrite(bs, 64 * KiB, sizeof(buf), buf, dirty_aio_done, &done);
    while (!done) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpuint(bdrv_get_dirty_count(bm), ==, sizeof(buf));
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, 1 * MiB, &bytes),
                    ==, 64 * KiB);
    bdrv_release_dirty_bitmap(bm);
    g_assert_true(bdrv_pwrite(bs, 0, 512, buf, &err));    /* after: fine */
    g_assert_no_error(err);
    bdrv_unref(bs);
    g_free(path);
}

/*
 * Named bitmaps: unique names, disabled ones not marked, merge across
 * granularities, copies, busy/readonly/inconsistent checks with QEMU's
 * words, the serialized form (and its SHA-256, the value QEMU 7.2 gives
 * for an empty 1024-granule bitmap), resize.
 */
static void test_named_dirty_bitmap(void)
{
    uint64_t size = 64 * MiB;
    char *path = make_raw("named.raw", size);
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "raw", BDRV_O_RDWR, &err);
    BdrvDirtyBitmap *a, *b, *c, *anon;
    uint8_t buf[512], ser[16];
    g_autofree char *sha = NULL;
    unsigned long *saved;

    g_assert_no_error(err);
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpuint(bdrv_default_bitmap_granularity(bs), ==, 65536);
    a = bdrv_create_named_dirty_bitmap(bs, 65536, "a", &err);
    g_assert_no_error(err);
    g_assert_null(bdrv_create_named_dirty_bitmap(bs, 512, "a", &err));
    g_assert_cmpstr(err->message, ==, "Bitmap already exists: a");
    g_clear_error(&err);
    b = bdrv_create_named_dirty_bitmap(bs, 512, "b", &err);
    anon = bdrv_create_dirty_bitmap(bs, 4096);
    g_assert_true(bdrv_find_dirty_bitmap(bs, "a") == a);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "zz"));
    g_assert_cmpstr(bdrv_dirty_bitmap_name(b), ==, "b");
    /* newest first, anonymous ones not listed */
    g_assert_true(bdrv_dirty_bitmap_next(bs, NULL) == b);
    g_assert_true(bdrv_dirty_bitmap_next(bs, b) == a);
    g_assert_null(bdrv_dirty_bitmap_next(bs, a));

    sha = bdrv_dirty_bitmap_sha256(a);
    g_assert_cmpstr(sha, ==, "38723a2e5e8a17aa7950dc008209944e"
                             "898f69a7bd10a23c839d341e935fd5ca");
    /* a disabled bitmap is not marked */
    bdrv_dirty_bitmap_set_enabled(b, false);
    g_assert_true(bdrv_pwrite(bs, 70000, 1, buf, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 65536);
    g_assert_cmpuint(bdrv_get_dirty_count(b), ==, 0);
    g_assert_cmpuint(bdrv_get_dirty_count(anon), ==, 4096);
    bdrv_dirty_bitmap_set_enabled(b, true);
    g_assert_true(bdrv_pwrite(bs, 512 * 3, 1, buf, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(b), ==, 512);
    /* merge OR's across granularities: b's granule 3 dirties a's 0 */
    g_assert_true(bdrv_merge_dirty_bitmap(a, b, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 2 * 65536);
    bdrv_dirty_bitmap_serialize(a, 0, sizeof(ser), ser);
    g_assert_cmpuint(ser[0], ==, 0x03);
    g_assert_cmpuint(ser[1], ==, 0);
    /* copy: the same bits, not recording */
    c = bdrv_dirty_bitmap_copy(a, false);
    g_assert_null(bdrv_dirty_bitmap_name(c));
    g_assert_cmpuint(bdrv_get_dirty_count(c), ==, 2 * 65536);
    g_assert_true(bdrv_pwrite(bs, 10 * MiB, 1, buf, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(c), ==, 2 * 65536);
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 3 * 65536);
    bdrv_release_dirty_bitmap(c);
    /* save/restore undo a clear */
    saved = bdrv_dirty_bitmap_save(a);
    bdrv_clear_dirty_bitmap(a);
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 0);
    bdrv_dirty_bitmap_restore(a, saved);
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 3 * 65536);
    /* deserialize round trip */
    memset(ser, 0, sizeof(ser));
    ser[1] = 0x80;
    bdrv_clear_dirty_bitmap(b);
    bdrv_dirty_bitmap_deserialize(b, 0, sizeof(ser), ser);
    g_assert_cmpuint(bdrv_get_dirty_count(b), ==, 512);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(b, 0, 1 * MiB, &(uint64_t){0}),
                    ==, 15 * 512);
    /* checks */
    bdrv_dirty_bitmap_set_busy(a, true);
    g_assert_false(bdrv_dirty_bitmap_check(a, BDRV_BITMAP_DEFAULT, &err));
    g_assert_cmpstr(err->message, ==, "Bitmap 'a' is currently in use by "
                    "another operation and cannot be used");
    g_clear_error(&err);
    bdrv_dirty_bitmap_set_busy(a, false);
    bdrv_dirty_bitmap_set_readonly(a, true);
    g_assert_true(bdrv_dirty_bitmap_check(a, BDRV_BITMAP_ALLOW_RO, &err));
    g_assert_false(bdrv_dirty_bitmap_check(a, BDRV_BITMAP_DEFAULT, &err));
    g_assert_cmpstr(err->message, ==,
                    "Bitmap 'a' is readonly and cannot be modified");
    g_clear_error(&err);
    bdrv_dirty_bitmap_set_readonly(a, false);
    bdrv_dirty_bitmap_set_inconsistent(b);
    g_assert_false(bdrv_dirty_bitmap_enabled(b));
    g_assert_false(bdrv_dirty_bitmap_check(b, BDRV_BITMAP_INCONSISTENT,
                                           &err));
    g_assert_cmpstr(err->message, ==,
                    "Bitmap 'b' is inconsistent and cannot be used");
    g_clear_error(&err);
    /* resize: shrinking drops the bits past the end, growing adds clean */
    g_assert_true(bdrv_truncate(bs, 65536, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 65536);
    g_assert_true(bdrv_truncate(bs, size, &err));
    g_assert_cmpuint(bdrv_get_dirty_count(a), ==, 65536);
    g_assert_no_error(err);
    bdrv_release_dirty_bitmap(anon);
    bdrv_unref(bs);                     /* releases a and b */
    g_free(path);
}

/* What the after-write hook saw (test_after_write_hook). */
typedef struct AfterWriteSeen {
    BlockDriverState *bs;
    BdrvDirtyBitmap *bm;
    unsigned calls;
    uint64_t offset, bytes;
    bool marked;                    /* the write hook had marked it */
    uint8_t first;                  /* the range's first byte, read back */
    bool fail;
} AfterWriteSeen;

static bool record_after_write(void *opaque, uint64_t offset, uint64_t bytes,
                               GError **errp)
{
    AfterWriteSeen *seen = opaque;

    seen->calls++;
    seen->offset = offset;
    seen->bytes = bytes;
    seen->marked = bdrv_get_dirty_count(seen->bm) > 0;
    g_assert_true(bdrv_pread(seen->bs, offset, 1, &seen->first, NULL));
    if (seen->fail) {
        error_setg(errp, "after-write hook refused");
        return false;
    }
    return true;
}

/* The after-write hook runs once the request changed the range and the
 * write hook marked it; a failed request runs none; false fails it. */
static void test_after_write_hook(void)
{
    char *path = make_raw("after-write.raw", 64 * KiB);
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "raw", BDRV_O_RDWR, &err);
    AfterWriteSeen seen = { .bs = bs };
    BdrvAfterWrite hook = { record_after_write, &seen };
    BdrvAfterWrite other = { record_after_write, NULL };
    uint8_t buf[4096];

    g_assert_no_error(err);
    seen.bm = bdrv_create_dirty_bitmap(bs, 4096);
    g_assert_true(bdrv_set_after_write(bs, &hook));
    g_assert_false(bdrv_set_after_write(bs, &other));   /* one per node */
    memset(buf, 0x5a, sizeof(buf));
    g_assert_true(bdrv_pwrite(bs, 8192, 1000, buf, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(seen.calls, ==, 1);
    g_assert_cmpuint(seen.offset, ==, 8192);
    g_assert_cmpuint(seen.bytes, ==, 1000);
    g_assert_true(seen.marked);
    g_assert_cmpuint(seen.first, ==, 0x5a);
    bdrv_reset_dirty_bitmap(seen.bm, 0, 64 * KiB);
    g_assert_true(bdrv_pwrite_zeroes(bs, 8192, 4096, 0, &err));
    g_assert_cmpuint(seen.calls, ==, 2);
    g_assert_true(seen.marked);
    g_assert_cmpuint(seen.first, ==, 0);
    /* a request that fails runs no hook */
    g_assert_false(bdrv_pwrite(bs, 64 * KiB - 10, 512, buf, &err));
    g_clear_error(&err);
    g_assert_cmpuint(seen.calls, ==, 2);
    /* a hook that fails fails the request, after the write */
    seen.fail = true;
    g_assert_false(bdrv_pwrite(bs, 0, 512, buf, &err));
    g_assert_nonnull(strstr(err->message, "after-write hook refused"));
    g_clear_error(&err);
    g_assert_cmpuint(seen.first, ==, 0x5a);
    /* removed: not called */
    g_assert_true(bdrv_set_after_write(bs, NULL));
    g_assert_true(bdrv_pwrite(bs, 0, 512, buf, &err));
    g_assert_cmpuint(seen.calls, ==, 3);
    bdrv_release_dirty_bitmap(seen.bm);
    bdrv_unref(bs);
    g_free(path);
}

/* A before-write hook that counts its calls and may refuse
 * (test_before_write_hooks). */
typedef struct BeforeWriteSeen {
    gint calls;                     /* atomic: writer threads call it */
    bool fail;
} BeforeWriteSeen;

static bool count_before_write(void *opaque, uint64_t offset, uint64_t bytes,
                               GError **errp)
{
    BeforeWriteSeen *seen = opaque;

    g_atomic_int_inc(&seen->calls);
    if (seen->fail) {
        error_setg(errp, "before-write hook refused");
        return false;
    }
    return true;
}

typedef struct HookWriter {
    BlockDriverState *bs;
    gint stop;
    gint writes;
} HookWriter;

/* Write without a pause until told to stop (a busy guest). */
static gpointer hook_writer(gpointer opaque)
{
    HookWriter *w = opaque;
    uint8_t buf[512] = { 0 };

    while (!g_atomic_int_get(&w->stop)) {
        g_assert_true(bdrv_pwrite(w->bs, 0, sizeof(buf), buf, NULL));
        g_atomic_int_inc(&w->writes);
    }
    return NULL;
}

/* A node's before-write hooks: every one runs for each write, a failing
 * one fails the request before it changes anything, and removing one
 * (while another thread writes without a pause and the other hook stays)
 * returns and leaves the other running. */
static void test_before_write_hooks(void)
{
    char *path = make_raw("before-write.raw", 64 * KiB);
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "raw", BDRV_O_RDWR, &err);
    BeforeWriteSeen a = { 0 }, b = { 0 };
    BdrvBeforeWrite ha = { count_before_write, &a };
    BdrvBeforeWrite hb = { count_before_write, &b };
    HookWriter w = { .bs = bs };
    uint8_t buf[512], back = 0;
    GThread *t;
    gint before;

    g_assert_no_error(err);
    bdrv_add_before_write(bs, &ha);
    bdrv_add_before_write(bs, &hb);
    memset(buf, 0x6b, sizeof(buf));
    g_assert_true(bdrv_pwrite(bs, 4096, sizeof(buf), buf, &err));
    g_assert_no_error(err);
    g_assert_cmpint(a.calls, ==, 1);
    g_assert_cmpint(b.calls, ==, 1);
    a.fail = true;
    memset(buf, 0x6c, sizeof(buf));
    g_assert_false(bdrv_pwrite(bs, 4096, sizeof(buf), buf, &err));
    g_assert_nonnull(strstr(err->message, "before-write hook refused"));
    g_clear_error(&err);
    g_assert_true(bdrv_pread(bs, 4096, 1, &back, NULL));
    g_assert_cmpuint(back, ==, 0x6b);   /* refused before the write */
    a.fail = false;
    t = g_thread_new("hook-writer", hook_writer, &w);
    while (g_atomic_int_get(&w.writes) < 100) {
        g_usleep(100);
    }
    bdrv_remove_before_write(bs, &ha);  /* returns under a steady stream */
    before = g_atomic_int_get(&a.calls);
    while (g_atomic_int_get(&w.writes) < 200) {
        g_usleep(100);
    }
    g_atomic_int_set(&w.stop, 1);
    g_thread_join(t);
    g_assert_cmpint(g_atomic_int_get(&a.calls), ==, before);
    g_assert_cmpint(g_atomic_int_get(&b.calls), >=, 200);
    bdrv_remove_before_write(bs, &hb);
    g_assert_true(bdrv_pwrite(bs, 0, sizeof(buf), buf, &err));
    g_assert_cmpint(g_atomic_int_get(&b.calls), ==, w.writes + 2);
    bdrv_unref(bs);
    g_free(path);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    /* In the build tree, not /tmp: O_DIRECT needs a real file system. */
    tmpdir = g_dir_make_tmp("test-block-XXXXXX", NULL);
    g_test_add_func("/block/bounds", test_bounds);
    g_test_add_data_func("/block/aio/raw", "raw", test_aio);
    g_test_add_data_func("/block/aio/qcow2", "qcow2", test_aio);
    g_test_add_func("/block/backend-vectored", test_backend_vectored);
    g_test_add_func("/block/read-on-exit-tail", test_read_on_exit_tail);
    g_test_add_func("/block/pool-completions", test_pool_completions);
    g_test_add_func("/block/writethrough", test_writethrough);
    g_test_add_func("/block/direct-bounce", test_direct_bounce);
    g_test_add_data_func("/block/qcow2-model/64k", "", test_qcow2_model);
    g_test_add_data_func("/block/qcow2-model/512-v2",
                         "cluster_size=512,compat=0.10", test_qcow2_model);
    g_test_add_data_func("/block/qcow2-model/4k-refcount2",
                         "cluster_size=4k,refcount_bits=2", test_qcow2_model);
    g_test_add_func("/block/qcow2-parallel", test_qcow2_parallel);
    g_test_add_func("/block/dirty-bitmap", test_dirty_bitmap);
    g_test_add_func("/block/dirty-bitmap-named", test_named_dirty_bitmap);
    g_test_add_func("/block/after-write-hook", test_after_write_hook);
    g_test_add_func("/block/before-write-hooks", test_before_write_hooks);
    ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd)) {
        /* leftovers in the temp dir are harmless */
    }
    return ret;
}
