/*
 * virtio-balloon-pci through libqvirtio: inflate (pages read zero after),
 * deflate, the stats queue with guest-stats-polling-interval and qom-get
 * guest-stats, and the monitor side (QMP balloon / query-balloon /
 * BALLOON_CHANGE, HMP info balloon); free page hinting during a migration
 * to a file (fewer pages sent, the destination's memory, STOP/DONE,
 * hostile hints) and page poisoning.  OASIS VIRTIO 1.2, 5.5.
 */
#include "libqvirtio.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define BALLOON_TRANSITIONAL    0x1002
#define PAGE                    4096
#define RAM_SIZE                (128ULL << 20)

/* Free page hinting (5.5.6.3) and page poison (5.5.6.4) */
#define F_HINT                  3
#define F_POISON                4
#define CMD_ID_STOP             0
#define CMD_ID_DONE             1
#define FIRST_CMD_ID            0x80000001u     /* QEMU's first round */
#define HINT_DEV                ",id=b0,free-page-hint=on,iothread=io0"
#define IOTHREAD_OBJ            " -object iothread,id=io0"
/* guest data above the rings' allocator (1..64 MiB): 16 MiB of it,
 * of which the driver hints the upper half free */
#define FILL_BASE               (64ULL << 20)
#define FILL_SIZE               (16ULL << 20)
#define HINT_BASE               (72ULL << 20)
#define HINT_SIZE               (8ULL << 20)
#define HINT_PIECE              (4u << 20)      /* Linux's hint block */

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue ivq, dvq, svq;
    QMPConn *qmp;
    char *dir;
} Env;

static void env_start(Env *e, const char *dev_opts)
{
    g_autofree char *args = NULL, *sock = NULL;
    int devfn;

    e->dir = g_dir_make_tmp("kvmpc-balloon-XXXXXX", NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-device virtio-balloon%s -qmp unix:%s,"
                           "server=on,wait=off", dev_opts, sock);
    e->qts = qtest_init(args);
    devfn = qvirtio_pci_find(e->qts, BALLOON_TRANSITIONAL);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, true);
    e->qmp = qmp_connect(sock);
    unlink(sock);
}

static void env_driver_init(Env *e)
{
    qvirtio_msix_enable(&e->d, 4);
    g_assert(qvirtio_negotiate(&e->d, e->d.features &
                               (QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                                QVIRTIO_BIT(1) | QVIRTIO_BIT(2))));
    g_assert_cmpint(qvirtio_set_config_vector(&e->d, 0), ==, 0);
    qvirtqueue_setup(&e->ivq, &e->d, 0, 0, false);
    qvirtqueue_setup(&e->dvq, &e->d, 1, 0, false);
    qvirtqueue_setup(&e->svq, &e->d, 2, 0, false);
    g_assert_cmpint(qvirtio_set_queue_vector(&e->d, 0, 1), ==, 1);
    qvirtio_driver_ok(&e->d);
}

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    rmdir(e->dir);
    g_free(e->dir);
}

/* Send @n page frame numbers on @vq and wait for the buffer back. */
static void send_pfns(QVirtQueue *vq, const uint32_t *pfns, unsigned n)
{
    uint64_t buf = qvirtio_alloc(4 * n, 4);
    QVirtBuf b = { buf, 4 * n, false };
    uint16_t id, head;
    uint32_t len;

    for (unsigned i = 0; i < n; i++) {
        qtest_writel(vq->d->qts, buf + 4 * i, pfns[i]);
    }
    head = qvirtqueue_add(vq, &b, 1);
    qvirtqueue_kick(vq);
    g_assert(qvirtqueue_get_used(vq, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(len, ==, 0);
}

static void test_ids_features(void)
{
    Env e;

    env_start(&e, ",deflate-on-oom=on");
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0), ==, 0x10021af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2e), ==, 5);
    g_assert(e.d.features & QVIRTIO_BIT(1));        /* STATS_VQ */
    g_assert(e.d.features & QVIRTIO_BIT(2));        /* DEFLATE_ON_OOM */
    g_assert(!(e.d.features & QVIRTIO_BIT(F_HINT)));    /* not asked */
    g_assert(e.d.features & QVIRTIO_BIT(F_POISON));     /* QEMU's default */
    g_assert(!(e.d.features & QVIRTIO_BIT(5)));     /* no reporting */
    g_assert_cmpint(qtest_readw(e.qts, e.d.common + 0x12), ==, 3);
    /* page-poison: the layout reaches poison_val (QEMU's 16 bytes) */
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_STOP);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 12), ==, 0);
    env_end(&e);
}

static void test_reporting_queue(void)
{
    Env e;
    QVirtQueue rvq;
    uint64_t page;
    QVirtBuf b;
    uint16_t id;
    uint32_t len;

    env_start(&e, ",free-page-reporting=on");
    g_assert(e.d.features & QVIRTIO_BIT(5));
    g_assert_cmpint(qtest_readw(e.qts, e.d.common + 0x12), ==, 4);
    g_assert(qvirtio_negotiate(&e.d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                               QVIRTIO_BIT(5)));
    qvirtqueue_setup(&rvq, &e.d, 3, 0, false);
    qvirtio_driver_ok(&e.d);
    page = qvirtio_alloc(2 * PAGE, PAGE);
    qtest_memset(e.qts, page, 0x5a, 2 * PAGE);
    b = (QVirtBuf){ page, 2 * PAGE, true };
    qvirtqueue_add(&rvq, &b, 1);
    qvirtqueue_kick(&rvq);
    g_assert(qvirtqueue_get_used(&rvq, &id, &len, 5000));
    g_assert_cmphex(qtest_readq(e.qts, page), ==, 0);
    g_assert_cmphex(qtest_readq(e.qts, page + 2 * PAGE - 8), ==, 0);
    env_end(&e);

    /* a driver that poisons free pages (5.5.6.4): reported pages keep
     * their contents instead of reading zero */
    env_start(&e, ",free-page-reporting=on");
    g_assert(qvirtio_negotiate(&e.d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                               QVIRTIO_BIT(F_POISON) | QVIRTIO_BIT(5)));
    qvirtio_config_writel(&e.d, 12, 0xaaaaaaaa);
    qvirtqueue_setup(&rvq, &e.d, 3, 0, false);
    qvirtio_driver_ok(&e.d);
    page = qvirtio_alloc(PAGE, PAGE);
    qtest_memset(e.qts, page, 0xaa, PAGE);
    b = (QVirtBuf){ page, PAGE, true };
    qvirtqueue_add(&rvq, &b, 1);
    qvirtqueue_kick(&rvq);
    g_assert(qvirtqueue_get_used(&rvq, &id, &len, 5000));
    g_assert_cmphex(qtest_readq(e.qts, page), ==, 0xaaaaaaaaaaaaaaaaULL);
    env_end(&e);
}

static void test_inflate_deflate(void)
{
    Env e;
    uint64_t pages;
    uint32_t pfns[3];
    uint32_t bad[3] = { 0xff, 0xfec00, 0xffffffff };   /* ROM, MMIO, none */

    env_start(&e, "");
    env_driver_init(&e);
    pages = qvirtio_alloc(3 * PAGE, PAGE);
    qtest_memset(e.qts, pages, 0xa5, 3 * PAGE);
    for (int i = 0; i < 3; i++) {
        pfns[i] = (pages >> 12) + i;
    }
    send_pfns(&e.ivq, pfns, 2);                     /* the first two */
    g_assert_cmphex(qtest_readq(e.qts, pages), ==, 0);
    g_assert_cmphex(qtest_readq(e.qts, pages + PAGE + 8), ==, 0);
    g_assert_cmphex(qtest_readb(e.qts, pages + 2 * PAGE), ==, 0xa5);
    g_assert(qvirtio_msix_fired(&e.d, 1));
    /* not RAM: ignored, the BIOS stays */
    send_pfns(&e.ivq, bad, 3);
    g_assert(!(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET));
    /* deflate: the pages are usable again */
    send_pfns(&e.dvq, pfns, 2);
    qtest_writel(e.qts, pages, 0x12345678);
    g_assert_cmphex(qtest_readl(e.qts, pages), ==, 0x12345678);
    env_end(&e);
}

static void test_qmp_balloon(void)
{
    Env e;
    g_autofree char *r1 = NULL, *r2 = NULL, *r3 = NULL, *ev = NULL;
    g_autofree char *r4 = NULL, *r5 = NULL;

    env_start(&e, "");
    env_driver_init(&e);
    r1 = qmp_cmd(e.qmp, "{\"execute\": \"balloon\", \"arguments\": "
                 "{\"value\": 67108864}}");
    g_assert(strstr(r1, "\"return\""));
    /* the target reached the config space, with a config interrupt */
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==,
                    (RAM_SIZE - (64 << 20)) / PAGE);
    g_assert(qvirtio_msix_fired(&e.d, 0));
    /* the driver reports its balloon */
    qvirtio_config_writel(&e.d, 4, 16384);
    r2 = qmp_cmd(e.qmp, "{\"execute\": \"query-balloon\"}");
    g_assert(strstr(r2, "\"actual\": 67108864"));
    ev = qmp_take_events(e.qmp);
    g_assert(strstr(ev, "BALLOON_CHANGE"));
    g_assert(strstr(ev, "\"actual\": 67108864"));
    r3 = qmp_cmd(e.qmp, "{\"execute\": \"human-monitor-command\", "
                 "\"arguments\": {\"command-line\": \"info balloon\"}}");
    g_assert(strstr(r3, "balloon: actual=64"));
    /* bad values */
    r4 = qmp_cmd(e.qmp, "{\"execute\": \"balloon\", \"arguments\": "
                 "{\"value\": 0}}");
    g_assert(strstr(r4, "\"error\""));
    /* more than RAM: no balloon at all */
    r5 = qmp_cmd(e.qmp, "{\"execute\": \"balloon\", \"arguments\": "
                 "{\"value\": 1099511627776}}");
    g_assert(strstr(r5, "\"return\""));
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==, 0);
    env_end(&e);
}

static void test_no_balloon(void)
{
    g_autofree char *dir = g_dir_make_tmp("kvmpc-balloon-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *args = g_strdup_printf("-qmp unix:%s,server=on,"
                                            "wait=off", sock);
    QTestState *qts = qtest_init(args);
    QMPConn *c = qmp_connect(sock);
    g_autofree char *r = qmp_cmd(c, "{\"execute\": \"query-balloon\"}");

    g_assert(strstr(r, "DeviceNotActive"));
    qmp_close(c);
    unlink(sock);
    rmdir(dir);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void put_stat(QTestState *qts, uint64_t a, uint16_t tag, uint64_t v)
{
    qtest_writew(qts, a, tag);
    qtest_writeq(qts, a + 2, v);
}

static void test_stats(void)
{
    Env e;
    uint64_t buf;
    QVirtBuf b;
    uint16_t id;
    uint32_t len;
    g_autofree char *r1 = NULL, *r2 = NULL, *r0 = NULL;

    env_start(&e, ",id=b0,guest-stats-polling-interval=1");
    env_driver_init(&e);
    r0 = qmp_cmd(e.qmp, "{\"execute\": \"qom-get\", \"arguments\": "
                 "{\"path\": \"/machine/peripheral/b0\", "
                 "\"property\": \"guest-stats\"}}");
    g_assert(strstr(r0, "\"error\""));
    buf = qvirtio_alloc(30, 16);
    put_stat(e.qts, buf, 4, 123456789);             /* free memory */
    put_stat(e.qts, buf + 10, 5, 987654321);        /* total memory */
    put_stat(e.qts, buf + 20, 200, 1);              /* unknown: ignored */
    b = (QVirtBuf){ buf, 30, false };
    qvirtqueue_add(&e.svq, &b, 1);
    qvirtqueue_kick(&e.svq);
    r1 = qmp_cmd(e.qmp, "{\"execute\": \"qom-get\", \"arguments\": "
                 "{\"path\": \"/machine/peripheral/b0\", "
                 "\"property\": \"guest-stats\"}}");
    g_assert(strstr(r1, "\"stat-free-memory\": 123456789"));
    g_assert(strstr(r1, "\"stat-total-memory\": 987654321"));
    g_assert(strstr(r1, "\"stat-swap-in\": 18446744073709551615"));
    g_assert(strstr(r1, "\"last-update\""));
    /* the device holds the buffer until the next poll (1 s) */
    g_assert(!qvirtqueue_get_used(&e.svq, &id, &len, 100));
    g_assert(qvirtqueue_get_used(&e.svq, &id, &len, 5000));
    /* the driver answers with fresh numbers */
    put_stat(e.qts, buf, 4, 42);
    qvirtqueue_add(&e.svq, &b, 1);
    qvirtqueue_kick(&e.svq);
    r2 = qmp_cmd(e.qmp, "{\"execute\": \"qom-get\", \"arguments\": "
                 "{\"path\": \"/machine/peripheral/b0\", "
                 "\"property\": \"guest-stats\"}}");
    g_assert(strstr(r2, "\"stat-free-memory\": 42"));
    env_end(&e);
}

/* ---- free page hinting and page poison ------------------------------- */

static void env_hint_init(Env *e, QVirtQueue *fvq, bool poison)
{
    uint64_t f = QVIRTIO_BIT(QVIRTIO_F_VERSION_1) | QVIRTIO_BIT(F_HINT);

    if (poison) {
        f |= QVIRTIO_BIT(F_POISON);
    }
    qvirtio_msix_enable(&e->d, 4);
    g_assert(qvirtio_negotiate(&e->d, f));
    g_assert_cmpint(qvirtio_set_config_vector(&e->d, 0), ==, 0);
    qvirtqueue_setup(&e->ivq, &e->d, 0, 0, false);
    qvirtqueue_setup(&e->dvq, &e->d, 1, 0, false);
    qvirtqueue_setup(&e->svq, &e->d, 2, 0, false);
    qvirtqueue_setup(fvq, &e->d, 3, 0, false);
    qvirtio_driver_ok(&e->d);
}

/* Add a chain, kick, wait for it back. */
static void push_wait(QVirtQueue *vq, const QVirtBuf *b, unsigned n)
{
    uint16_t head = qvirtqueue_add(vq, b, n), id;
    uint32_t len;

    qvirtqueue_kick(vq);
    g_assert(qvirtqueue_get_used(vq, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
}

/* The driver's cmd id: a device-readable le32. */
static void hint_cmd(QVirtQueue *vq, uint32_t id)
{
    uint64_t buf = qvirtio_alloc(4, 4);
    QVirtBuf b = { buf, 4, false };

    qtest_writel(vq->d->qts, buf, id);
    push_wait(vq, &b, 1);
}

/* Free pages, one device-writable buffer of up to 4 MiB each, as Linux
 * sends them. */
static void hint_pages(QVirtQueue *vq, uint64_t addr, uint64_t len)
{
    while (len) {
        uint32_t n = MIN(len, HINT_PIECE);
        QVirtBuf b = { addr, n, true };

        push_wait(vq, &b, 1);
        addr += n;
        len -= n;
    }
}

/* The buffer makes the device stop (NEEDS_RESET), nothing else. */
static void expect_broken(Env *e, QVirtQueue *vq, const QVirtBuf *b,
                          unsigned n)
{
    qvirtqueue_add(vq, b, n);
    qvirtqueue_kick(vq);
    for (int i = 0; i < 500 &&
         !(qvirtio_get_status(&e->d) & QVIRTIO_S_NEEDS_RESET); i++) {
        g_usleep(1000);
    }
    g_assert(qvirtio_get_status(&e->d) & QVIRTIO_S_NEEDS_RESET);
}

static uint32_t wait_cmd_id(Env *e)
{
    for (int i = 0; i < 5000; i++) {
        uint32_t id = qvirtio_config_readl(&e->d, 8);

        if (id != CMD_ID_STOP && id != CMD_ID_DONE) {
            return id;
        }
        g_usleep(1000);
    }
    g_error("no free page hint request");
}

static uint64_t json_uint(const char *json, const char *key)
{
    g_autofree char *k = g_strdup_printf("\"%s\": ", key);
    const char *p = strstr(json, k);

    g_assert(p);
    return g_ascii_strtoull(p + strlen(k), NULL, 10);
}

/* Start a migration to @path that holds after its first batch (1 byte/s)
 * until migrate_release(): the bulk round stays open meanwhile. */
static void migrate_held(Env *e, const char *path)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"file:%s\"}}",
        path);

    qmp_assert_ok(e->qmp, "{\"execute\": \"migrate-set-parameters\", "
                  "\"arguments\": {\"max-bandwidth\": 1}}");
    qmp_assert_ok(e->qmp, cmd);
}

/* Let it run at full speed; returns query-migrate's "normal" pages. */
static uint64_t migrate_release(Env *e)
{
    qmp_assert_ok(e->qmp, "{\"execute\": \"migrate-set-parameters\", "
                  "\"arguments\": {\"max-bandwidth\": 0}}");
    for (int i = 0; i < 2000; i++) {
        g_autofree char *r = qmp_cmd(e->qmp,
                                     "{\"execute\": \"query-migrate\"}");

        if (strstr(r, "\"completed\"")) {
            return json_uint(r, "normal");
        }
        g_assert(!strstr(r, "\"failed\""));
        g_usleep(10000);
    }
    g_error("migration did not complete");
}

/* Load @path in a new instance (the same device), wait until loaded. */
static QTestState *incoming(Env *e, const char *path)
{
    g_autofree char *sock = g_build_filename(e->dir, "qmp2.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "-device virtio-balloon" HINT_DEV IOTHREAD_OBJ " -incoming file:%s "
        "-qmp unix:%s,server=on,wait=off", path, sock);
    QTestState *qts = qtest_init(args);
    QMPConn *c = qmp_connect(sock);

    unlink(sock);
    for (int i = 0; i < 1000; i++) {
        g_autofree char *r = qmp_cmd(c, "{\"execute\": \"query-status\"}");

        if (!strstr(r, "inmigrate")) {
            qmp_close(c);
            unlink(path);
            return qts;
        }
        g_usleep(10000);
    }
    g_error("incoming migration did not finish");
}

/* Every 256 KiB of [@a, @a + @len) holds @val (start, middle, end). */
static void check_pages(QTestState *qts, uint64_t a, uint64_t len,
                        uint8_t val)
{
    for (uint64_t o = 0; o < len; o += 256 * 1024) {
        g_assert_cmphex(qtest_readb(qts, a + o), ==, val);
        g_assert_cmphex(qtest_readb(qts, a + o + PAGE / 2), ==, val);
        g_assert_cmphex(qtest_readb(qts, a + o + PAGE - 1), ==, val);
    }
}

/* qom-get x-free-page-hints: the device's counters. */
static void check_hint_counts(Env *e, uint64_t hinted_bytes,
                              uint64_t ignored)
{
    g_autofree char *r = qmp_cmd(e->qmp, "{\"execute\": \"qom-get\", "
                                 "\"arguments\": {\"path\": "
                                 "\"/machine/peripheral/b0\", \"property\": "
                                 "\"x-free-page-hints\"}}");

    g_assert_cmpuint(json_uint(r, "hinted-bytes"), ==, hinted_bytes);
    g_assert_cmpuint(json_uint(r, "ignored"), ==, ignored);
}

typedef enum HintMode { NO_HINTS, HINTS, HINTS_POISONED } HintMode;

/*
 * Fill 16 MiB, migrate to a file; with @mode the driver answers the
 * bulk round's request by hinting the upper 8 MiB free, then STOP, then
 * (ignored: after its STOP) the lower 4 MiB.  Checks the cmd ids the
 * driver sees and what the destination has; returns the normal pages.
 */
static uint64_t hint_migration(HintMode mode)
{
    Env e;
    QVirtQueue fvq;
    QTestState *dst;
    g_autofree char *mig = NULL;
    uint64_t normal;
    uint32_t id;

    env_start(&e, HINT_DEV IOTHREAD_OBJ);
    mig = g_build_filename(e.dir, "mig", NULL);
    env_hint_init(&e, &fvq, mode == HINTS_POISONED);
    if (mode == HINTS_POISONED) {
        qvirtio_config_writel(&e.d, 12, 0xaaaaaaaa);
        g_assert_cmphex(qvirtio_config_readl(&e.d, 12), ==, 0xaaaaaaaa);
    }
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_STOP);
    qtest_memset(e.qts, FILL_BASE, 0x5a, FILL_SIZE);
    /* no migration: no round, the hints are given back unused */
    hint_cmd(&fvq, FIRST_CMD_ID);
    hint_pages(&fvq, HINT_BASE, HINT_SIZE);
    qvirtio_msix_fired(&e.d, 0);

    migrate_held(&e, mig);
    id = wait_cmd_id(&e);
    g_assert_cmphex(id, ==, FIRST_CMD_ID);
    g_assert(qvirtio_msix_fired(&e.d, 0));          /* config interrupt */
    if (mode != NO_HINTS) {
        hint_cmd(&fvq, id);
        hint_pages(&fvq, HINT_BASE, HINT_SIZE);
        hint_cmd(&fvq, CMD_ID_STOP);
        /* the driver's STOP ended its round */
        g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_STOP);
        hint_pages(&fvq, FILL_BASE, 4 << 20);
        /* two 4 MiB buffers before the migration and one after STOP
         * given back unused; with poison, the round's two as well */
        if (mode == HINTS) {
            check_hint_counts(&e, HINT_SIZE, 3);
        } else {
            check_hint_counts(&e, 0, 5);
        }
    } else {
        check_hint_counts(&e, 0, 2);
    }
    normal = migrate_release(&e);
    /* the migration is over: the driver may reuse its pages */
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_DONE);
    g_assert(qvirtio_msix_fired(&e.d, 0));
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    dst = incoming(&e, mig);
    e.qts = e.d.qts = dst;
    /* the device state came along: DONE, the poison value */
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_DONE);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 12), ==,
                    mode == HINTS_POISONED ? 0xaaaaaaaa : 0);
    /* pages not hinted arrived; hinted ones were not sent (they read
     * zero here), except when the guest poisons its free pages */
    check_pages(dst, FILL_BASE, HINT_BASE - FILL_BASE, 0x5a);
    check_pages(dst, HINT_BASE, HINT_SIZE, mode == HINTS ? 0 : 0x5a);
    g_assert_cmpint(qtest_quit(dst), ==, 0);
    rmdir(e.dir);
    g_free(e.dir);
    return normal;
}

static void test_hint_features(void)
{
    Env e;
    g_autofree char *out = NULL, *err = NULL;
    char *argv[] = { (char *)qtest_kvmpc_binary(), "-accel", "qtest",
                     "-nodefaults", "-display", "none", "-device",
                     "virtio-balloon,free-page-hint=on", NULL };
    int status;

    /* free-page-hint=on: bit 3, the free page queue (3), reporting after
     * it; without page-poison the layout ends at free_page_hint_cmd_id */
    env_start(&e, HINT_DEV ",page-poison=off,free-page-reporting=on"
              IOTHREAD_OBJ);
    g_assert(e.d.features & QVIRTIO_BIT(F_HINT));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_POISON)));
    g_assert_cmpint(qtest_readw(e.qts, e.d.common + 0x12), ==, 5);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_STOP);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 12), ==, 0xffffffff);
    qtest_writew(e.qts, e.d.common + 0x16, 3);      /* queue_select */
    g_assert_cmpint(qtest_readw(e.qts, e.d.common + 0x18), ==, 1024);
    qtest_writew(e.qts, e.d.common + 0x16, 4);
    g_assert_cmpint(qtest_readw(e.qts, e.d.common + 0x18), ==, 32);
    /* the driver cannot write the device's cmd id */
    qvirtio_config_writel(&e.d, 8, 0x12345678);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, CMD_ID_STOP);
    env_end(&e);

    /* QEMU 7.2's rule and text: hinting needs an I/O thread */
    g_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                          &out, &err, &status, NULL));
    g_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    g_assert(strstr(err, "'free-page-hint' requires 'iothread' to be set"));
}

/*
 * The point of the feature: the pages the driver hints free during the
 * bulk round are not sent (and no others are skipped).
 */
static void test_hint_migration(void)
{
    uint64_t all = hint_migration(NO_HINTS);
    uint64_t hinted = hint_migration(HINTS);

    g_test_message("normal pages sent: %" PRIu64 " without hints, %" PRIu64
                   " with %" PRIu64 " hinted", all, hinted,
                   (uint64_t)(HINT_SIZE / PAGE));
    g_assert_cmpuint(all, >=, FILL_SIZE / PAGE);
    /* exactly the hinted pages fewer, give or take the few ring and
     * buffer pages the hinting driver wrote */
    g_assert_cmpuint(hinted + HINT_SIZE / PAGE, <=, all + 16);
    g_assert_cmpuint(hinted + HINT_SIZE / PAGE + 16, >=, all);
}

/* A guest that poisons its free pages with a nonzero value: hints are
 * taken but every page is still sent (5.5.6.4). */
static void test_hint_poison(void)
{
    uint64_t all = hint_migration(NO_HINTS);
    uint64_t poisoned = hint_migration(HINTS_POISONED);

    g_assert_cmpuint(poisoned + 16, >=, all);
}

/*
 * Hostile hints: a short cmd id, buffers outside RAM, in MMIO, of zero
 * length or past the end of RAM stop the device (NEEDS_RESET), never
 * kvmpc; during a round, a stale id and partial pages are ignored, and
 * the migration completes with the right memory.
 */
static void test_hint_hostile(void)
{
    Env e;
    QVirtQueue fvq;
    QTestState *dst;
    g_autofree char *mig = NULL;
    uint64_t cmd;
    uint32_t id;
    const QVirtBuf bad[][2] = {
        { { 0, 2, false } },                        /* short cmd id */
        { { 1ULL << 40, PAGE, true } },             /* not RAM */
        { { 0xfee00000, PAGE, true } },             /* MMIO */
        { { HINT_BASE, 0, true } },                 /* zero length */
        { { HINT_BASE, 0xfffff000u, true } },       /* past RAM's end */
        { { 0, 4, false }, { 0xfffff000, PAGE, true } },    /* ROM */
    };

    env_start(&e, HINT_DEV IOTHREAD_OBJ);
    mig = g_build_filename(e.dir, "mig", NULL);
    cmd = qvirtio_alloc(8, 4);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        QVirtBuf b[2];
        unsigned n = bad[i][1].len ? 2 : 1;

        memcpy(b, bad[i], sizeof(b));
        if (!b[0].write) {
            b[0].addr = cmd;
        }
        env_hint_init(&e, &fvq, false);
        expect_broken(&e, &fvq, b, n);
    }
    env_hint_init(&e, &fvq, false);
    qtest_memset(e.qts, FILL_BASE, 0x5a, FILL_SIZE);
    migrate_held(&e, mig);
    id = wait_cmd_id(&e);
    /* a stale id: the round does not start, the hint is no-op */
    hint_cmd(&fvq, id - 1);
    hint_pages(&fvq, FILL_BASE, 2 * PAGE);
    check_hint_counts(&e, 0, 1);
    /* the id and a hint in one chain; only the whole page counts */
    qtest_writel(e.qts, cmd, id);
    {
        QVirtBuf b[2] = { { cmd, 4, false }, { HINT_BASE + 100, 2 * PAGE,
                                               true } };
        push_wait(&fvq, b, 2);
    }
    check_hint_counts(&e, 2 * PAGE, 1);
    /* a bad buffer mid-round stops the device, not the migration */
    expect_broken(&e, &fvq, &bad[1][0], 1);
    migrate_release(&e);
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    dst = incoming(&e, mig);
    check_pages(dst, FILL_BASE, PAGE, 0x5a);            /* stale id */
    check_pages(dst, FILL_BASE + PAGE, PAGE, 0x5a);
    check_pages(dst, HINT_BASE, PAGE, 0x5a);            /* partial */
    check_pages(dst, HINT_BASE + PAGE, PAGE, 0);        /* whole: skipped */
    check_pages(dst, HINT_BASE + 2 * PAGE, PAGE, 0x5a); /* partial */
    check_pages(dst, HINT_BASE + 3 * PAGE, HINT_SIZE - 3 * PAGE, 0x5a);
    g_assert_cmpint(qtest_quit(dst), ==, 0);
    rmdir(e.dir);
    g_free(e.dir);
}

/* A paused guest cannot answer: no round, DONE at once (QEMU's rule). */
static void test_hint_paused(void)
{
    Env e;
    QVirtQueue fvq;
    g_autofree char *mig = NULL;
    uint32_t id = CMD_ID_STOP;

    env_start(&e, HINT_DEV IOTHREAD_OBJ);
    mig = g_build_filename(e.dir, "mig", NULL);
    env_hint_init(&e, &fvq, false);
    qmp_assert_ok(e.qmp, "{\"execute\": \"stop\"}");
    migrate_held(&e, mig);
    for (int i = 0; i < 5000 && id != CMD_ID_DONE; i++) {
        id = qvirtio_config_readl(&e.d, 8);
        g_assert_cmphex(id, <=, CMD_ID_DONE);      /* never a request */
        g_usleep(1000);
    }
    g_assert_cmphex(id, ==, CMD_ID_DONE);
    hint_cmd(&fvq, FIRST_CMD_ID);
    hint_pages(&fvq, HINT_BASE, PAGE);
    check_hint_counts(&e, 0, 1);
    migrate_release(&e);
    unlink(mig);
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-balloon/ids-features", test_ids_features);
    g_test_add_func("/virtio-balloon/inflate-deflate", test_inflate_deflate);
    g_test_add_func("/virtio-balloon/reporting", test_reporting_queue);
    g_test_add_func("/virtio-balloon/qmp", test_qmp_balloon);
    g_test_add_func("/virtio-balloon/no-device", test_no_balloon);
    g_test_add_func("/virtio-balloon/stats", test_stats);
    g_test_add_func("/virtio-balloon/hint/features", test_hint_features);
    g_test_add_func("/virtio-balloon/hint/migration", test_hint_migration);
    g_test_add_func("/virtio-balloon/hint/poison", test_hint_poison);
    g_test_add_func("/virtio-balloon/hint/hostile", test_hint_hostile);
    g_test_add_func("/virtio-balloon/hint/paused", test_hint_paused);
    return g_test_run();
}
