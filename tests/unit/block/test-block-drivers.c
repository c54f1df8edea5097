/*
 * Block drivers and options (docs/block.md): aio=threads/io_uring/native
 * through the synchronous and asynchronous paths (main loop and an I/O
 * thread, more requests than an engine has slots, short reads at the end
 * of a file, unaligned buffers), plugged submission (held back until the
 * unplug, a refused io_submit failing alone), io_uring refused by a
 * seccomp filter,
 * the zero check, detect-zeroes, discard=ignore|unmap on raw and qcow2,
 * and snapshot=on.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block-int.h"
#include "block/host-aio.h"
#include "system/iothread.h"
#include "system/object.h"

#include <dirent.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char *tmpdir;        /* also $TMPDIR: snapshot overlays go here */

static char *path_in_tmp(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static BlockDriverState *open_ok(const char *path, const char *fmt,
                                 int flags)
{
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, fmt, flags, &err);

    g_assert_no_error(err);
    g_assert_nonnull(bs);
    return bs;
}

static char *make_image(const char *name, const char *fmt, uint64_t size)
{
    char *path = path_in_tmp(name);
    GError *err = NULL;

    g_assert_true(bdrv_create(fmt, path, size, NULL, &err));
    g_assert_no_error(err);
    return path;
}

static int64_t host_blocks(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

static void fill(uint8_t *buf, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 31 + i / 4096 + salt) | 1;
    }
}

/* ---- the zero check ----------------------------------------------------- */

static void test_buffer_is_zero(void)
{
    g_autofree uint8_t *buf = g_malloc0(8192 + 16);

    for (size_t off = 0; off < 16; off++) {
        for (size_t len = 0; len < 300; len += 7) {
            g_assert_true(buffer_is_zero(buf + off, len));
        }
        g_assert_true(buffer_is_zero(buf + off, 8192));
        /* one set byte anywhere is found: head, words, tail */
        for (size_t pos = 0; pos < 200; pos += 3) {
            buf[off + pos] = 0x40;
            g_assert_false(buffer_is_zero(buf + off, 200));
            g_assert_true(buffer_is_zero(buf + off, pos));
            buf[off + pos] = 0;
        }
    }
}

/* ---- aio modes ---------------------------------------------------------- */

typedef struct AioCase {
    const char *fmt;
    const char *aio;
    const char *cache;
} AioCase;

static int case_flags(const AioCase *c)
{
    GError *err = NULL;
    int flags = BDRV_O_RDWR;

    g_assert_true(bdrv_parse_cache_mode(c->cache, &flags, &err));
    g_assert_true(bdrv_parse_aio_mode(c->aio, &flags, &err));
    g_assert_no_error(err);
    return flags;
}

typedef struct AioState {
    int done, failed;
    GThread *thread;
    bool wrong_thread;
} AioState;

static void aio_cb(void *opaque, GError *err)
{
    AioState *st = opaque;

    if (err) {
        g_printerr("aio error: %s\n", err->message);
        st->failed++;
    }
    st->wrong_thread |= g_thread_self() != st->thread;
    st->done++;
}

static void wait_done(GMainContext *ctx, AioState *st, int n)
{
    while (st->done < n) {
        g_main_context_iteration(ctx, TRUE);
    }
}

/* More requests than an engine has slots (128): the rest go to the
 * thread pool; all complete, in the submitting thread's context. */
#define NREQ 300
#define REQ_SIZE 4096

/*
 * Vectored requests (bdrv_aio_preadv/pwritev): NVEC requests of three
 * uneven elements each (512 B, 3.5 KiB at an odd address, 8 KiB), so
 * with O_DIRECT some go to the engine and the rest are bounced on a
 * worker; every byte must land where its element says.
 */
#define NVEC 40
#define VEC_SPAN (12 * 1024)

static void run_aio_vec(BlockDriverState *bs, GMainContext *ctx,
                        uint8_t *wbuf, uint8_t *rbuf, unsigned salt)
{
    AioState st = { .thread = g_thread_self() };
    static BdrvAioVec v[NVEC];
    static struct iovec wiov[NVEC][3], riov[NVEC][3];
    static const size_t len[3] = { 512, 3584, 8192 };
    static const size_t at[3] = { 0, 512 + 1, 4096 + 1024 };

    g_assert_cmpuint(NVEC * (VEC_SPAN + 4096), <=, NREQ * REQ_SIZE);
    fill(wbuf, NREQ * REQ_SIZE, salt);
    memset(rbuf, 0, NREQ * REQ_SIZE);
    for (int i = 0; i < NVEC; i++) {
        for (int j = 0; j < 3; j++) {
            size_t b = (size_t)i * (VEC_SPAN + 4096) + at[j];
            wiov[i][j] = (struct iovec){ wbuf + b, len[j] };
            riov[i][j] = (struct iovec){ rbuf + b, len[j] };
        }
        bdrv_aio_pwritev(bs, &v[i], (uint64_t)i * VEC_SPAN, wiov[i], 3,
                         aio_cb, &st);
    }
    wait_done(ctx, &st, NVEC);
    for (int i = 0; i < NVEC; i++) {
        bdrv_aio_preadv(bs, &v[i], (uint64_t)i * VEC_SPAN, riov[i], 3,
                        aio_cb, &st);
    }
    wait_done(ctx, &st, 2 * NVEC);
    g_assert_cmpint(st.failed, ==, 0);
    g_assert_false(st.wrong_thread);
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 0);
    for (int i = 0; i < NVEC; i++) {
        for (int j = 0; j < 3; j++) {
            g_assert_cmpmem(wiov[i][j].iov_base, len[j],
                            riov[i][j].iov_base, len[j]);
        }
    }
    /* The bytes are where the offsets say: element 1 of request 3. */
    {
        uint8_t chk[3584];
        GError *err = NULL;

        g_assert_true(bdrv_pread(bs, 3 * VEC_SPAN + 512, sizeof(chk), chk,
                                 &err));
        g_assert_no_error(err);
        g_assert_cmpmem(chk, sizeof(chk), wiov[3][1].iov_base, sizeof(chk));
    }
}


static void run_aio(BlockDriverState *bs, GMainContext *ctx, unsigned salt)
{
    AioState st = { .thread = g_thread_self() };
    uint8_t *wbuf = NULL, *rbuf = NULL;

    g_assert_cmpint(posix_memalign((void **)&wbuf, 4096, NREQ * REQ_SIZE),
                    ==, 0);
    g_assert_cmpint(posix_memalign((void **)&rbuf, 4096, NREQ * REQ_SIZE),
                    ==, 0);
    fill(wbuf, NREQ * REQ_SIZE, salt);
    for (int i = 0; i < NREQ; i++) {
        bdrv_aio_pwrite(bs, (uint64_t)i * REQ_SIZE, REQ_SIZE,
                        wbuf + i * REQ_SIZE, aio_cb, &st);
    }
    wait_done(ctx, &st, NREQ);
    bdrv_aio_flush(bs, aio_cb, &st);
    wait_done(ctx, &st, NREQ + 1);
    for (int i = 0; i < NREQ; i++) {
        bdrv_aio_pread(bs, (uint64_t)i * REQ_SIZE, REQ_SIZE,
                       rbuf + i * REQ_SIZE, aio_cb, &st);
    }
    wait_done(ctx, &st, 2 * NREQ + 1);
    g_assert_cmpint(st.failed, ==, 0);
    g_assert_false(st.wrong_thread);
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 0);
    g_assert_cmpmem(wbuf, NREQ * REQ_SIZE, rbuf, NREQ * REQ_SIZE);
    run_aio_vec(bs, ctx, wbuf, rbuf, salt + 1);
    free(wbuf);
    free(rbuf);
}

static gpointer iothread_main(gpointer opaque)
{
    BlockDriverState *bs = opaque;
    GMainContext *ctx = g_main_context_new();

    g_main_context_push_thread_default(ctx);
    bdrv_set_aio_context(bs, ctx);
    run_aio(bs, ctx, 7);
    bdrv_set_aio_context(bs, NULL);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return NULL;
}

/* Does this process hold an io_uring instance? */
static bool have_io_uring_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    bool found = false;

    while (d && (e = readdir(d))) {
        char link[256] = "", path[300];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        n = readlink(path, link, sizeof(link) - 1);
        found |= n > 0 && strstr(link, "io_uring");
    }
    if (d) {
        closedir(d);
    }
    return found;
}

static void test_aio_mode(gconstpointer data)
{
    const AioCase *c = data;
    g_autofree char *name = g_strdup_printf("aio-%s-%s.img", c->aio, c->fmt);
    g_autofree char *path = make_image(name, c->fmt, 4 * MiB);
    BlockDriverState *bs;
    GError *err = NULL;
    uint8_t *buf = g_malloc(3 * 4096 + 1), *back = g_malloc(3 * 4096);
    GThread *io;

    if (!bdrv_aio_mode_available(c->aio)) {
        g_test_skip("kvmpc was built without liburing");
        return;
    }
    bs = bdrv_open(path, c->fmt, case_flags(c), &err);
    if (!bs && err && strstr(err->message, "refused io_uring_setup")) {
        g_test_skip(err->message);
        g_clear_error(&err);
        return;
    }
    g_assert_no_error(err);
    if (!strcmp(c->aio, "io_uring")) {
        g_assert_true(have_io_uring_fd());
    }
    run_aio(bs, NULL, 3);                   /* completions on the main loop */
    io = g_thread_new("iothread", iothread_main, bs);
    g_thread_join(io);                      /* ... and on an I/O thread */

    /* The synchronous path through the same engine, with an odd buffer
     * address and length (bounced under O_DIRECT). */
    fill(buf + 1, 3 * 4096, 9);
    g_assert_true(bdrv_pwrite(bs, 8192 + 100, 3 * 4096 - 200, buf + 1,
                              &err));
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_true(bdrv_pread(bs, 8192 + 100, 3 * 4096 - 200, back, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(back, 3 * 4096 - 200, buf + 1, 3 * 4096 - 200);
    bdrv_unref(bs);
    g_free(buf);
    g_free(back);
}

/* A protocol node reads zeroes past the end of its file; an engine gets
 * a short read there and must finish the request with zeroes. */
static void test_aio_short_read(gconstpointer data)
{
    const char *aio = data;
    g_autofree char *path = path_in_tmp("short.bin");
    uint8_t content[10000], got[16384];
    AioState st = { .thread = g_thread_self() };
    BlockDriverState *bs;
    GError *err = NULL;
    int flags = BDRV_O_RDWR;

    if (!bdrv_aio_mode_available(aio)) {
        g_test_skip("kvmpc was built without liburing");
        return;
    }
    fill(content, sizeof(content), 5);
    g_assert_true(g_file_set_contents(path, (char *)content, sizeof(content),
                                      NULL));
    g_assert_true(bdrv_parse_aio_mode(aio, &flags, &err));
    bs = bdrv_open(path, "file", flags, &err);
    if (!bs && strstr(err->message, "refused io_uring_setup")) {
        g_test_skip(err->message);
        g_clear_error(&err);
        return;
    }
    g_assert_no_error(err);
    memset(got, 0xaa, sizeof(got));
    bdrv_aio_pread(bs, 0, sizeof(got), got, aio_cb, &st);
    wait_done(NULL, &st, 1);
    g_assert_cmpint(st.failed, ==, 0);
    g_assert_cmpmem(got, sizeof(content), content, sizeof(content));
    g_assert_true(buffer_is_zero(got + sizeof(content),
                                 sizeof(got) - sizeof(content)));
    /* and a write past the end grows the node */
    bdrv_aio_pwrite(bs, 20000, 100, content, aio_cb, &st);
    wait_done(NULL, &st, 2);
    g_assert_cmpint(st.failed, ==, 0);
    g_assert_cmpuint(bdrv_getlength(bs), ==, 20100);
    bdrv_unref(bs);
}

/* Spin the main loop a while without waiting for anything. */
static void spin_main_loop(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

/* Between bdrv_io_plug and bdrv_io_unplug an engine holds its requests
 * back (none completes, however long the loop runs) and sends them at
 * the unplug; they then complete with the right data. */
#define NPLUGGED 16

static void test_aio_plugged(gconstpointer data)
{
    const AioCase c = { "raw", data, !strcmp(data, "native") ? "none"
                                                             : "writeback" };
    g_autofree char *path = make_image("plugged.raw", "raw", 1 * MiB);
    AioState st = { .thread = g_thread_self() };
    uint8_t *wbuf = NULL, *rbuf = NULL;
    BlockDriverState *bs;
    GError *err = NULL;

    if (!bdrv_aio_mode_available(c.aio)) {
        g_test_skip("kvmpc was built without liburing");
        return;
    }
    bs = bdrv_open(path, "raw", case_flags(&c), &err);
    if (!bs && err && strstr(err->message, "refused io_uring_setup")) {
        g_test_skip(err->message);
        g_clear_error(&err);
        return;
    }
    g_assert_no_error(err);
    g_assert_cmpint(posix_memalign((void **)&wbuf, 4096,
                                   NPLUGGED * REQ_SIZE), ==, 0);
    g_assert_cmpint(posix_memalign((void **)&rbuf, 4096,
                                   NPLUGGED * REQ_SIZE), ==, 0);
    fill(wbuf, NPLUGGED * REQ_SIZE, 11);
    bdrv_io_plug(bs);
    for (int i = 0; i < NPLUGGED; i++) {
        bdrv_aio_pwrite(bs, (uint64_t)i * REQ_SIZE, REQ_SIZE,
                        wbuf + i * REQ_SIZE, aio_cb, &st);
    }
    spin_main_loop(100);
    g_assert_cmpint(st.done, ==, 0);
    bdrv_io_unplug(bs);
    wait_done(NULL, &st, NPLUGGED);
    bdrv_io_plug(bs);
    bdrv_io_plug(bs);                       /* plugs nest */
    for (int i = 0; i < NPLUGGED; i++) {
        bdrv_aio_pread(bs, (uint64_t)i * REQ_SIZE, REQ_SIZE,
                       rbuf + i * REQ_SIZE, aio_cb, &st);
    }
    bdrv_io_unplug(bs);
    spin_main_loop(50);
    g_assert_cmpint(st.done, ==, NPLUGGED);
    bdrv_io_unplug(bs);
    wait_done(NULL, &st, 2 * NPLUGGED);
    g_assert_cmpint(st.failed, ==, 0);
    g_assert_cmpmem(wbuf, NPLUGGED * REQ_SIZE, rbuf, NPLUGGED * REQ_SIZE);
    bdrv_unref(bs);
    free(wbuf);
    free(rbuf);
}

/* A plugged request the kernel refuses at the unplug's io_submit (a bad
 * file descriptor here) fails alone, on the context, with the error;
 * the requests queued beside it complete normally. */
static void test_aio_native_plugged_refused(void)
{
    g_autofree char *path = make_image("refused.raw", "raw", 64 * KiB);
    AioState st = { .thread = g_thread_self() };
    BlockDriverState *bs;
    LinuxAioState *s;
    GError *err = NULL;
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_DIRECT);

    g_assert_cmpint(fd, >=, 0);
    bs = open_ok(path, "file", 0);
    s = laio_init(path, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpint(posix_memalign((void **)&buf, 4096, 3 * 4096), ==, 0);
    laio_plug(s);
    for (int i = 0; i < 3; i++) {
        BdrvAioRequest req = {
            .top = bs, .bs = bs, .op = BDRV_AIO_READ,
            .offset = (uint64_t)i * 4096, .bytes = 4096,
            .buf = buf + i * 4096, .cb = aio_cb, .opaque = &st,
        };

        g_atomic_int_inc(&bs->in_flight);
        g_assert_true(laio_submit(s, i == 1 ? -1 : fd, &req));
    }
    g_assert_cmpint(st.done, ==, 0);
    laio_unplug(s);
    g_assert_cmpint(st.done, ==, 0);        /* not from inside the unplug */
    wait_done(NULL, &st, 3);
    g_assert_cmpint(st.failed, ==, 1);
    g_assert_false(st.wrong_thread);
    g_assert_cmpuint(bdrv_aio_in_flight(bs), ==, 0);
    laio_cleanup(s);
    bdrv_unref(bs);
    close(fd);
    free(buf);
}

/* Waits (up to 5 s) until @st has @n completions from another thread. */
static bool wait_done_elsewhere(AioState *st, int n)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(&st->done, __ATOMIC_SEQ_CST) >= n) {
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

/* On an I/O thread with aio-max-batch=2 a plugged queue is sent once it
 * holds two requests (QEMU's limit), without waiting for the unplug; a
 * third waits for it.  (The limit is read at each request, so a qom-set
 * of aio-max-batch applies to the next one.) */
static void test_aio_native_max_batch(void)
{
    g_autofree char *path = make_image("batch.raw", "raw", 64 * KiB);
    AioState st = { .thread = NULL };
    BlockDriverState *bs;
    LinuxAioState *s;
    GError *err = NULL;
    uint8_t *buf = NULL;
    IOThread *t;
    int fd = open(path, O_RDONLY | O_DIRECT);

    g_assert_cmpint(fd, >=, 0);
    g_assert_true(user_object_create_from_opts("iothread,id=iobatch,"
                                               "aio-max-batch=2", &err));
    t = iothread_find("iobatch");
    bs = open_ok(path, "file", 0);
    s = laio_init(path, iothread_get_context(t), &err);
    g_assert_no_error(err);
    g_assert_cmpint(posix_memalign((void **)&buf, 4096, 3 * 4096), ==, 0);
    laio_plug(s);
    for (int i = 0; i < 3; i++) {
        BdrvAioRequest req = {
            .top = bs, .bs = bs, .op = BDRV_AIO_READ,
            .offset = (uint64_t)i * 4096, .bytes = 4096,
            .buf = buf + i * 4096, .cb = aio_cb, .opaque = &st,
        };

        g_atomic_int_inc(&bs->in_flight);
        g_assert_true(laio_submit(s, fd, &req));
        if (i == 1) {
            g_assert_true(wait_done_elsewhere(&st, 2));
        }
    }
    g_usleep(50000);
    g_assert_cmpint(__atomic_load_n(&st.done, __ATOMIC_SEQ_CST), ==, 2);
    laio_unplug(s);
    g_assert_true(wait_done_elsewhere(&st, 3));
    g_assert_cmpint(st.failed, ==, 0);
    laio_cleanup(s);
    bdrv_unref(bs);
    close(fd);
    free(buf);
}

static void test_aio_native_needs_direct(void)
{
    g_autofree char *path = make_image("native.raw", "raw", 64 * KiB);
    GError *err = NULL;
    int flags = BDRV_O_RDWR;

    g_assert_true(bdrv_parse_aio_mode("native", &flags, &err));
    g_assert_null(bdrv_open(path, "raw", flags, &err));
    g_assert_nonnull(strstr(err->message, "aio=native needs cache.direct=on"));
    g_clear_error(&err);
    g_assert_false(bdrv_parse_aio_mode("posix", &flags, &err));
    g_assert_nonnull(strstr(err->message, "invalid aio mode 'posix'"));
    g_clear_error(&err);
}

/* A container's seccomp policy refusing io_uring_setup: one clear line.
 * The filter goes into a fresh copy of this test program
 * (g_test_trap_subprocess), not a fork() of this one, whose thread-pool
 * threads may hold locks the child would then wait on forever. */
static void io_uring_refused_child(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { ARRAY_SIZE(filter), filter };
    g_autofree char *path = make_image("refused.raw", "raw", 64 * KiB);
    GError *err = NULL;
    BlockDriverState *bs;

    g_assert_cmpint(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ==, 0);
    g_assert_cmpint(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), ==, 0);
    bs = bdrv_open(path, "raw", BDRV_O_RDWR | BDRV_O_AIO_IO_URING, &err);
    g_assert_null(bs);
    g_assert_nonnull(err);
    g_print("%s\n", err->message);
    g_error_free(err);
}

static void test_io_uring_refused(void)
{
    if (!bdrv_aio_mode_available("io_uring")) {
        g_test_skip("kvmpc was built without liburing");
        return;
    }
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
        g_test_skip("this kernel has no seccomp filters");
        return;
    }
    if (g_test_subprocess()) {
        io_uring_refused_child();
        return;
    }
    g_test_trap_subprocess(NULL, 30 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*refused io_uring_setup*aio=threads*");
}

/* ---- discard and detect-zeroes ----------------------------------------- */

static int parse_flags(const char *discard, const char *dz)
{
    GError *err = NULL;
    int flags = BDRV_O_RDWR;

    g_assert_true(bdrv_parse_discard_mode(discard, &flags, &err));
    g_assert_true(bdrv_parse_detect_zeroes(dz, &flags, &err));
    g_assert_no_error(err);
    return flags;
}

static void write_pattern(BlockDriverState *bs, uint64_t off, uint64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    GError *err = NULL;

    fill(buf, len, 1);
    g_assert_true(bdrv_pwrite(bs, off, len, buf, &err));
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_no_error(err);
}

static void assert_zero(BlockDriverState *bs, uint64_t off, uint64_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    GError *err = NULL;

    g_assert_true(bdrv_pread(bs, off, len, buf, &err));
    g_assert_no_error(err);
    g_assert_true(buffer_is_zero(buf, len));
}

static void test_discard_raw(void)
{
    g_autofree char *path = make_image("discard.raw", "raw", 4 * MiB);
    BlockDriverState *bs;
    GError *err = NULL;
    int64_t full;

    /* discard=ignore: the request does nothing */
    bs = open_ok(path, "raw", parse_flags("ignore", "off"));
    write_pattern(bs, 0, 4 * MiB);
    full = host_blocks(path);
    g_assert_cmpint(full, >=, 4 * MiB);
    g_assert_true(bdrv_pdiscard(bs, 0, 2 * MiB, &err));
    g_assert_cmpint(host_blocks(path), ==, full);
    /* ... and write-zeroes may not unmap */
    g_assert_true(bdrv_pwrite_zeroes(bs, 0, 1 * MiB, BDRV_REQ_MAY_UNMAP,
                                     &err));
    assert_zero(bs, 0, 1 * MiB);
    bdrv_unref(bs);

    /* discard=unmap: a hole in the host file */
    bs = open_ok(path, "raw", parse_flags("unmap", "off"));
    g_assert_true(bdrv_pdiscard(bs, 1 * MiB, 2 * MiB, &err));
    g_assert_no_error(err);
    g_assert_cmpint(host_blocks(path), <=, full - 2 * MiB);
    assert_zero(bs, 1 * MiB, 2 * MiB);
    bdrv_unref(bs);
}

static void test_detect_zeroes(void)
{
    g_autofree char *path = make_image("dz.raw", "raw", 4 * MiB);
    g_autofree uint8_t *zero = g_malloc0(1 * MiB);
    BlockDriverState *bs;
    GError *err = NULL;
    int64_t full;
    int flags = BDRV_O_RDWR;

    /* detect-zeroes=unmap without discard=unmap is refused, as in QEMU */
    g_assert_true(bdrv_parse_detect_zeroes("unmap", &flags, &err));
    g_assert_null(bdrv_open(path, "raw", flags, &err));
    g_assert_nonnull(strstr(err->message, "needs discard=unmap"));
    g_clear_error(&err);
    g_assert_false(bdrv_parse_detect_zeroes("yes", &flags, &err));
    g_clear_error(&err);

    bs = open_ok(path, "raw", parse_flags("unmap", "off"));
    write_pattern(bs, 0, 4 * MiB);
    full = host_blocks(path);
    /* off: zeroes are written as data */
    g_assert_true(bdrv_pwrite(bs, 0, 1 * MiB, zero, &err));
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_cmpint(host_blocks(path), ==, full);
    bdrv_unref(bs);

    /* on: a write-zeroes request, which keeps the blocks (no unmap) */
    bs = open_ok(path, "raw", parse_flags("unmap", "on"));
    write_pattern(bs, 0, 4 * MiB);
    g_assert_true(bdrv_pwrite(bs, 1 * MiB, 1 * MiB, zero, &err));
    assert_zero(bs, 1 * MiB, 1 * MiB);
    bdrv_unref(bs);

    /* unmap (with discard=unmap): the zeroes become a hole */
    bs = open_ok(path, "raw", parse_flags("unmap", "unmap"));
    write_pattern(bs, 0, 4 * MiB);
    full = host_blocks(path);
    g_assert_true(bdrv_pwrite(bs, 1 * MiB, 1 * MiB, zero, &err));
    g_assert_true(bdrv_pwrite(bs, 2 * MiB + 1, 1000, zero, &err));
    g_assert_no_error(err);
    g_assert_cmpint(host_blocks(path), <=, full - 1 * MiB);
    assert_zero(bs, 1 * MiB, 1 * MiB);
    assert_zero(bs, 2 * MiB + 1, 1000);
    bdrv_unref(bs);
}

/* qcow2: discard frees the clusters (check finds no leak) and, with
 * discard=unmap, punches their host range; a detected zero write
 * becomes a zero cluster. */
static void test_discard_qcow2(void)
{
    g_autofree char *path = make_image("discard.qcow2", "qcow2", 8 * MiB);
    BlockDriverState *bs;
    BlockCheckResult res = { 0 };
    GError *err = NULL;
    int64_t full;
    uint64_t pnum, map;
    BlockDriverState *file;
    g_autofree uint8_t *zero = g_malloc0(256 * KiB);

    bs = open_ok(path, "qcow2", parse_flags("ignore", "off"));
    write_pattern(bs, 0, 4 * MiB);
    bdrv_unref(bs);
    full = host_blocks(path);

    bs = open_ok(path, "qcow2", parse_flags("ignore", "off"));
    g_assert_true(bdrv_pdiscard(bs, 0, 2 * MiB, &err));
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_cmpint(host_blocks(path), ==, full);    /* ignored */
    g_assert_cmpint(bdrv_block_status(bs, 0, 64 * KiB, &pnum, &map, &file,
                                      &err) & BDRV_BLOCK_DATA, !=, 0);
    bdrv_unref(bs);

    bs = open_ok(path, "qcow2", parse_flags("unmap", "on"));
    g_assert_true(bdrv_pdiscard(bs, 0, 2 * MiB, &err));
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_no_error(err);
    g_assert_cmpint(host_blocks(path), <=, full - 2 * MiB + 64 * KiB);
    assert_zero(bs, 0, 2 * MiB);
    /* detect-zeroes=on: a zero write allocates nothing */
    g_assert_true(bdrv_pwrite(bs, 3 * MiB, 256 * KiB, zero, &err));
    g_assert_true(bdrv_pwrite(bs, 6 * MiB, 256 * KiB, zero, &err));
    g_assert_no_error(err);
    g_assert_cmpint(bdrv_block_status(bs, 6 * MiB, 256 * KiB, &pnum, &map,
                                      &file, &err) & BDRV_BLOCK_DATA, ==, 0);
    assert_zero(bs, 3 * MiB, 256 * KiB);
    bdrv_unref(bs);

    bs = open_ok(path, "qcow2", BDRV_O_CHECK);
    g_assert_true(bdrv_check(bs, &res, 0, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(res.corruptions + res.leaks + res.check_errors, ==, 0);
    bdrv_unref(bs);
}

/* ---- snapshot=on -------------------------------------------------------- */

static unsigned files_in(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    unsigned n = 0;
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        n += g_str_has_prefix(name, "kvmpc-snapshot-");
    }
    if (d) {
        g_dir_close(d);
    }
    return n;
}

static void test_snapshot(gconstpointer data)
{
    const char *fmt = data;
    g_autofree char *name = g_strdup_printf("snap.%s", fmt);
    g_autofree char *path = make_image(name, fmt, 2 * MiB);
    g_autofree char *before = NULL, *after = NULL;
    gsize len_before, len_after;
    uint8_t buf[4096], back[4096];
    BlockDriverState *bs;
    GError *err = NULL;

    bs = open_ok(path, fmt, BDRV_O_RDWR);
    write_pattern(bs, 0, 1 * MiB);
    bdrv_unref(bs);
    g_assert_true(g_file_get_contents(path, &before, &len_before, NULL));

    bs = open_ok(path, fmt, BDRV_O_RDWR | BDRV_O_SNAPSHOT);
    g_assert_cmpstr(bdrv_format_name(bs), ==, "qcow2");
    g_assert_cmpuint(bdrv_getlength(bs), ==, 2 * MiB);
    g_assert_cmpuint(files_in(tmpdir), ==, 0);      /* unlinked once open */
    memset(buf, 0x5a, sizeof(buf));
    g_assert_true(bdrv_pwrite(bs, 512 * KiB, sizeof(buf), buf, &err));
    g_assert_true(bdrv_flush(bs, &err));
    g_assert_true(bdrv_pread(bs, 512 * KiB, sizeof(back), back, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(buf, sizeof(buf), back, sizeof(back));
    /* the rest still comes from the image */
    write_pattern(bs, 1 * MiB, 4096);
    bdrv_unref(bs);
    g_assert_true(g_file_get_contents(path, &after, &len_after, NULL));
    g_assert_cmpmem(before, len_before, after, len_after);

    /* readonly=on with snapshot=on: a read-only drive, as in QEMU */
    bs = open_ok(path, fmt, BDRV_O_SNAPSHOT);
    g_assert_true(bdrv_is_read_only(bs));
    g_assert_false(bdrv_pwrite(bs, 0, sizeof(buf), buf, &err));
    g_assert_nonnull(strstr(err->message, "read-only"));
    g_clear_error(&err);
    bdrv_unref(bs);
    g_assert_cmpuint(files_in(tmpdir), ==, 0);
}

int main(int argc, char **argv)
{
    static const AioCase cases[] = {
        { "raw", "threads", "writeback" }, { "qcow2", "threads", "writeback" },
        { "raw", "io_uring", "writeback" }, { "qcow2", "io_uring", "writeback" },
        { "raw", "io_uring", "none" }, { "raw", "io_uring", "writethrough" },
        { "raw", "native", "none" }, { "qcow2", "native", "none" },
        { "raw", "native", "directsync" },
    };
    int ret;

    g_test_init(&argc, &argv, NULL);
    /* On a disk file system (O_DIRECT), and $TMPDIR for the overlays. */
    tmpdir = g_dir_make_tmp("test-block-drivers-XXXXXX", NULL);
    g_setenv("TMPDIR", tmpdir, TRUE);
    g_test_add_func("/block-drivers/buffer-is-zero", test_buffer_is_zero);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *name = g_strdup_printf("/block-drivers/aio/%s/%s/%s",
                                                cases[i].aio, cases[i].fmt,
                                                cases[i].cache);
        g_test_add_data_func(name, &cases[i], test_aio_mode);
    }
    g_test_add_data_func("/block-drivers/aio/short-read/io_uring", "io_uring",
                         test_aio_short_read);
    g_test_add_data_func("/block-drivers/aio/short-read/threads", "threads",
                         test_aio_short_read);
    g_test_add_data_func("/block-drivers/aio/plugged/io_uring", "io_uring",
                         test_aio_plugged);
    g_test_add_data_func("/block-drivers/aio/plugged/native", "native",
                         test_aio_plugged);
    g_test_add_func("/block-drivers/aio/plugged/native-refused",
                    test_aio_native_plugged_refused);
    g_test_add_func("/block-drivers/aio/plugged/native-max-batch",
                    test_aio_native_max_batch);
    g_test_add_func("/block-drivers/aio/native-needs-direct",
                    test_aio_native_needs_direct);
    g_test_add_func("/block-drivers/aio/io_uring-refused",
                    test_io_uring_refused);
    g_test_add_func("/block-drivers/discard/raw", test_discard_raw);
    g_test_add_func("/block-drivers/discard/qcow2", test_discard_qcow2);
    g_test_add_func("/block-drivers/detect-zeroes", test_detect_zeroes);
    g_test_add_data_func("/block-drivers/snapshot/raw", "raw", test_snapshot);
    g_test_add_data_func("/block-drivers/snapshot/qcow2", "qcow2",
                         test_snapshot);
    ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd)) {
        /* leftovers in the temp dir are harmless */
    }
    return ret;
}
