/*
 * virtio-balloon-pci through libqvirtio: inflate (pages read zero after),
 * deflate, the stats queue with guest-stats-polling-interval and qom-get
 * guest-stats, and the monitor side (QMP balloon / query-balloon /
 * BALLOON_CHANGE, HMP info balloon).  OASIS VIRTIO 1.2, 5.5.
 */
#include "libqvirtio.h"
#include <string.h>

#define BALLOON_TRANSITIONAL    0x1002
#define PAGE                    4096
#define RAM_SIZE                (128ULL << 20)

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
    g_assert(!(e.d.features & QVIRTIO_BIT(5)));     /* no reporting */
    g_assert_cmpint(qtest_readw(e.qts, e.d.common + 0x12), ==, 3);
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-balloon/ids-features", test_ids_features);
    g_test_add_func("/virtio-balloon/inflate-deflate", test_inflate_deflate);
    g_test_add_func("/virtio-balloon/reporting", test_reporting_queue);
    g_test_add_func("/virtio-balloon/qmp", test_qmp_balloon);
    g_test_add_func("/virtio-balloon/no-device", test_no_balloon);
    g_test_add_func("/virtio-balloon/stats", test_stats);
    return g_test_run();
}
