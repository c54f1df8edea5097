/*
 * -object iothread and the -object registry: creation and its errors,
 * iothread_run_sync() running work in the thread, event sources attached
 * to the thread's context, and adaptive polling (pollers run without a
 * kick while the poll time is non-zero); a block node's io_uring
 * completion queue becomes one of the thread's pollers while the node is
 * on its context.  docs/virtio.md, "Threads"; docs/block.md.
 */
#include "qemu/osdep.h"
#include <sys/eventfd.h>
#include "system/iothread.h"
#include "system/object.h"
#include "system/rng.h"
#include "block/block-int.h"
#include "qobject/qbool.h"
#include "qobject/qnum.h"

static void on_thread(void *opaque)
{
    IOThread *t = ((void **)opaque)[0];
    bool *ok = ((void **)opaque)[1];

    *ok = iothread_is_current(t);
}

static void test_create_and_sync(void)
{
    GError *err = NULL;
    IOThread *t;
    bool ok = false;
    void *args[2];

    g_assert(user_object_create_from_opts("iothread,id=io0", &err));
    g_assert_no_error(err);
    t = iothread_find("io0");
    g_assert(t);
    g_assert_cmpstr(user_object_type_name("io0"), ==, "iothread");
    g_assert(!iothread_is_current(t));
    args[0] = t;
    args[1] = &ok;
    iothread_run_sync(t, on_thread, args);
    g_assert(ok);
}

static void test_errors(void)
{
    static const char *const bad[] = {
        "iothread",                         /* no id */
        "iothread,id=io0",                  /* duplicate (first test) */
        "iothread,id=9x",                   /* not an identifier */
        "iothread,id=ioz,poll-max-ns=abc",
        "iothread,id=ioy,bogus=1",
        "no-such-type,id=x",
        "rng-random,id=r9,filename=/nonexistent/x",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        g_assert(!user_object_create_from_opts(bad[i], &err));
        g_assert(err);
        g_error_free(err);
    }
    g_assert(!iothread_find("ioz"));
}

static void test_rng_objects(void)
{
    GError *err = NULL;
    uint8_t buf[32] = { 0 };

    g_assert(user_object_create_from_opts("rng-builtin,id=rb", &err));
    g_assert(user_object_create_from_opts("rng-random,id=rr", &err));
    g_assert(rng_backend_find("rb") && rng_backend_find("rr"));
    g_assert(!rng_backend_find("io0"));     /* another type */
    g_assert_cmpint(rng_backend_read(rng_backend_find("rr"), buf, 32), ==,
                    32);
    g_assert_cmpint(rng_backend_read(rng_backend_default(), buf, 32), ==,
                    32);
}

/* ---- an eventfd source and a poller in the thread ---- */

typedef struct PollCtx {
    int fd;
    GSource *src;
    IOThread *t;
    IOThreadPoller poller;
    volatile int work;          /* set by the test, taken by the poller */
    volatile int kicks;         /* eventfd callbacks */
    volatile int polled;        /* work done by the poller */
    volatile int notify_on;     /* hooked pollers: kicks wanted */
    volatile int begins, ends;  /* poll_begin / poll_end calls */
    volatile int sent;          /* kicks the driver sent */
    bool kick_runs;             /* a kick takes the work too */
    bool hooked;                /* poll_begin/poll_end turn kicks off */
} PollCtx;

static bool poll_ready(void *opaque);
static void poll_run(void *opaque);
static void hook_begin(void *opaque);
static void hook_end(void *opaque);

static gboolean fd_ready(gint fd, GIOCondition c, gpointer opaque)
{
    PollCtx *p = opaque;
    uint64_t v;

    if (read(fd, &v, sizeof(v)) == sizeof(v)) {
        __atomic_add_fetch(&p->kicks, 1, __ATOMIC_SEQ_CST);
    }
    if (p->kick_runs && poll_ready(p)) {
        poll_run(p);        /* as a virtqueue kick runs the queue */
    }
    return G_SOURCE_CONTINUE;
}

static bool poll_ready(void *opaque)
{
    PollCtx *p = opaque;

    return __atomic_load_n(&p->work, __ATOMIC_SEQ_CST);
}

static void poll_run(void *opaque)
{
    PollCtx *p = opaque;

    __atomic_store_n(&p->work, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&p->polled, 1, __ATOMIC_SEQ_CST);
}

static void attach(void *opaque)
{
    PollCtx *p = opaque;

    p->src = g_unix_fd_source_new(p->fd, G_IO_IN);
    g_source_set_callback(p->src, (GSourceFunc)(void (*)(void))fd_ready, p,
                          NULL);
    g_source_attach(p->src, iothread_get_context(p->t));
    p->poller = (IOThreadPoller){
        .ready = poll_ready, .run = poll_run, .opaque = p,
        .poll_begin = p->hooked ? hook_begin : NULL,
        .poll_end = p->hooked ? hook_end : NULL,
    };
    iothread_add_poller(p->t, &p->poller);
}

static void detach(void *opaque)
{
    PollCtx *p = opaque;

    iothread_remove_poller(p->t, &p->poller);
    g_source_destroy(p->src);
    g_source_unref(p->src);
}

static bool wait_until(volatile int *v, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(v, __ATOMIC_SEQ_CST) >= want) {
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

static void set_iothread_param(const char *id, const char *name,
                               int64_t v);

static void test_source_and_polling(void)
{
    GError *err = NULL;
    PollCtx p = { 0 };
    uint64_t one = 1;

    g_assert(user_object_create_from_opts("iothread,id=iop,"
                                          "poll-max-ns=100000000", &err));
    p.t = iothread_find("iop");
    p.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g_assert(p.fd >= 0);
    iothread_run_sync(p.t, attach, &p);
    /* a kick runs the source's callback in the thread */
    g_assert(write(p.fd, &one, sizeof(one)) == sizeof(one));
    g_assert(wait_until(&p.kicks, 1));
    /* kicks that arrive quickly make the poll time grow from 0 */
    for (int i = 0; i < 20 && !iothread_poll_ns(p.t); i++) {
        g_assert(write(p.fd, &one, sizeof(one)) == sizeof(one));
        g_usleep(1000);
    }
    g_assert_cmpint(iothread_poll_ns(p.t), >, 0);
    /* before it sleeps again, the thread polls: work that is there by
     * then runs from the poller, without a kick of its own */
    p.work = 1;
    g_assert(write(p.fd, &one, sizeof(one)) == sizeof(one));
    g_assert(wait_until(&p.polled, 1));
    /* qom-set poll-max-ns=0 on the running thread stops its polling at
     * its next sleep (no lock taken: the thread reads the new value) */
    set_iothread_param("iop", "poll-max-ns", 0);
    for (int i = 0; i < 2000 && iothread_poll_ns(p.t); i++) {
        g_assert(write(p.fd, &one, sizeof(one)) == sizeof(one));
        g_usleep(1000);
    }
    g_assert_cmpint(iothread_poll_ns(p.t), ==, 0);
    iothread_run_sync(p.t, detach, &p);
    close(p.fd);
}

/* ---- properties of a live I/O thread (qom-get / qom-set) ---- */

static void set_iothread_param(const char *id, const char *name,
                               int64_t v)
{
    GError *err = NULL;
    QObject *value = QOBJECT(qnum_from_int(v));

    g_assert(user_object_prop_set(id, name, value, &err));
    g_assert_no_error(err);
    qobject_unref(value);
}

static int64_t get_iothread_param(const char *id, const char *name)
{
    GError *err = NULL;
    QObject *v = user_object_prop_get(id, name, &err);
    int64_t n;

    g_assert_no_error(err);
    n = qnum_get_int(qobject_to(QNum, v));
    qobject_unref(v);
    return n;
}

static void test_live_params(void)
{
    GError *err = NULL;
    QObject *bad;

    g_assert(user_object_create_from_opts("iothread,id=iolp,poll-grow=3",
                                          &err));
    g_assert_cmpint(get_iothread_param("iolp", "poll-grow"), ==, 3);
    g_assert_cmpint(get_iothread_param("iolp", "poll-shrink"), ==, 0);
    g_assert_cmpint(get_iothread_param("iolp", "poll-max-ns"), ==, 32768);
    set_iothread_param("iolp", "aio-max-batch", 9);
    g_assert_cmpint(get_iothread_param("iolp", "aio-max-batch"), ==, 9);
    bad = QOBJECT(qnum_from_int(-1));
    g_assert(!user_object_prop_set("iolp", "poll-shrink", bad, &err));
    g_assert_cmpstr(err->message, ==, "poll-shrink value must be in range "
                    "[0, 9223372036854775807]");
    g_clear_error(&err);
    qobject_unref(bad);
    bad = QOBJECT(qbool_from_bool(true));
    g_assert(!user_object_prop_set("iolp", "poll-grow", bad, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter type for "
                    "'poll-grow', expected: integer");
    g_clear_error(&err);
    qobject_unref(bad);
    g_assert(!user_object_prop_get("iolp", "thread-pool-max", &err));
    g_assert_cmpstr(err->message, ==,
                    "Property 'iothread.thread-pool-max' not found");
    g_clear_error(&err);
}

/* ---- notifications off while the thread spins ---- */

/*
 * A driver that kicks only when the device asks for kicks (notify_on),
 * as a virtio driver honours VRING_USED_F_NO_NOTIFY: the hooks turn
 * kicks off while the thread spins and back on before it sleeps.  Work
 * published while they were off must still be taken.
 */
static void hook_begin(void *opaque)
{
    PollCtx *p = opaque;

    __atomic_store_n(&p->notify_on, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&p->begins, 1, __ATOMIC_SEQ_CST);
}

static void hook_end(void *opaque)
{
    PollCtx *p = opaque;

    __atomic_store_n(&p->notify_on, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&p->ends, 1, __ATOMIC_SEQ_CST);
}

/* Publish one piece of work and kick if the device wants kicks. */
static void driver_publish(PollCtx *p)
{
    uint64_t one = 1;

    __atomic_store_n(&p->work, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->notify_on, __ATOMIC_SEQ_CST)) {
        g_assert(write(p->fd, &one, sizeof(one)) == sizeof(one));
        __atomic_add_fetch(&p->sent, 1, __ATOMIC_SEQ_CST);
    }
}

static void test_poll_notification(void)
{
    GError *err = NULL;
    PollCtx p = { .notify_on = 1, .kick_runs = true, .hooked = true };
    int rounds = 2000;

    g_assert(user_object_create_from_opts("iothread,id=ioh,"
                                          "poll-max-ns=2000000", &err));
    p.t = iothread_find("ioh");
    p.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    g_assert(p.fd >= 0);
    iothread_run_sync(p.t, attach, &p);
    for (int i = 0; i < rounds; i++) {
        driver_publish(&p);
        /* taken by the poller or, after a kick, by the next spin */
        for (int w = 0; w < 5000000 &&
             __atomic_load_n(&p.work, __ATOMIC_SEQ_CST); w++) {
            if (w % 1000 == 999) {
                g_usleep(1000);     /* not a lost wakeup: wait up to 5 s */
            }
        }
        g_assert_cmpint(__atomic_load_n(&p.work, __ATOMIC_SEQ_CST), ==, 0);
        if (i % 64 == 63) {
            g_usleep(200);          /* let the thread stop spinning too */
        } else {
            /* publish the next one while the thread spins on the poller */
            int64_t until = g_get_monotonic_time() + 10;
            while (g_get_monotonic_time() < until) {
            }
        }
    }
    /* the thread spun with kicks off, and did not need one for each */
    g_test_message("begins %d ends %d sent %d kicks %d polled %d", p.begins, p.ends, p.sent, p.kicks, p.polled);
    g_assert_cmpint(p.begins, >, 0);
    g_assert_cmpint(p.sent, <, rounds);
    iothread_run_sync(p.t, detach, &p);
    /* removal from a spinning thread ends the spell: kicks are back on */
    g_assert_cmpint(p.notify_on, ==, 1);
    g_assert_cmpint(p.ends, >=, p.begins);
    close(p.fd);
}

/* ---- a host engine's completion queue, polled by the thread ---- */

typedef struct EngineIo {
    BlockDriverState *bs;
    uint8_t buf[4096];
    volatile int done, failed;
} EngineIo;

static void engine_read_done(void *opaque, GError *err)
{
    EngineIo *e = opaque;

    __atomic_store_n(&e->failed, err != NULL, __ATOMIC_SEQ_CST);
    __atomic_store_n(&e->done, 1, __ATOMIC_SEQ_CST);
}

static void engine_read(void *opaque)
{
    EngineIo *e = opaque;

    bdrv_aio_pread(e->bs, 4096, sizeof(e->buf), e->buf, engine_read_done, e);
}

static void engine_write(void *opaque)
{
    EngineIo *e = opaque;

    bdrv_aio_pwrite(e->bs, 8192, sizeof(e->buf), e->buf, engine_read_done,
                    e);
}

/* Two writes from the node's I/O thread (the first tells the engine
 * whether the file takes non-blocking buffered writes, the second takes
 * the path it chose: the ring, or in place on the thread) land. */
static void check_engine_writes(EngineIo *e, IOThread *t, const char *path)
{
    for (int round = 0; round < 2; round++) {
        g_autofree char *got = NULL;
        gsize len = 0;

        memset(e->buf, 0xa0 + round, sizeof(e->buf));
        e->done = 0;
        iothread_run_sync(t, engine_write, e);
        g_assert(wait_until(&e->done, 1));
        g_assert_cmpint(e->failed, ==, 0);
        g_assert(g_file_get_contents(path, &got, &len, NULL));
        g_assert_cmpuint(len, ==, 16384);
        g_assert_cmpmem(got + 8192, sizeof(e->buf), e->buf, sizeof(e->buf));
    }
}

static void test_engine_poller(void)
{
    g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
    g_autofree char *path = g_build_filename(dir, "disk.raw", NULL);
    g_autofree char *data = g_malloc(16384);
    static EngineIo e;
    GError *err = NULL;
    int flags = BDRV_O_RDWR;
    IOThread *t;

    if (!bdrv_aio_mode_available("io_uring")) {
        g_test_skip("kvmpc was built without liburing");
        return;
    }
    for (int i = 0; i < 16384; i++) {
        data[i] = (char)(i / 7);
    }
    g_assert(g_file_set_contents(path, data, 16384, NULL));
    g_assert(user_object_create_from_opts("iothread,id=ioe", &err));
    t = iothread_find("ioe");
    g_assert(bdrv_parse_aio_mode("io_uring", &flags, &err));
    e.bs = bdrv_open(path, "raw", flags, &err);
    if (!e.bs && err && strstr(err->message, "refused io_uring_setup")) {
        g_test_skip(err->message);
        g_clear_error(&err);
        return;
    }
    g_assert_no_error(err);
    g_assert_cmpuint(iothread_poller_count(t), ==, 0);
    bdrv_set_aio_context(e.bs, iothread_get_context(t));
    g_assert_cmpuint(iothread_poller_count(t), ==, 1);
    iothread_run_sync(t, engine_read, &e);
    g_assert(wait_until(&e.done, 1));
    g_assert_cmpint(e.failed, ==, 0);
    g_assert_cmpmem(e.buf, sizeof(e.buf), data + 4096, sizeof(e.buf));
    check_engine_writes(&e, t, path);
    /* back to the main loop: the thread no longer polls the ring */
    bdrv_set_aio_context(e.bs, NULL);
    g_assert_cmpuint(iothread_poller_count(t), ==, 0);
    /* closed while on the thread: the poller goes with the node */
    bdrv_set_aio_context(e.bs, iothread_get_context(t));
    g_assert_cmpuint(iothread_poller_count(t), ==, 1);
    bdrv_unref(e.bs);
    g_assert_cmpuint(iothread_poller_count(t), ==, 0);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iothread/create-and-sync", test_create_and_sync);
    g_test_add_func("/iothread/errors", test_errors);
    g_test_add_func("/iothread/rng-objects", test_rng_objects);
    g_test_add_func("/iothread/source-and-polling", test_source_and_polling);
    g_test_add_func("/iothread/live-params", test_live_params);
    g_test_add_func("/iothread/engine-poller", test_engine_poller);
    g_test_add_func("/iothread/poll-notification", test_poll_notification);
    return g_test_run();
}
