/*
 * virtio-keyboard-pci, virtio-mouse-pci and virtio-tablet-pci through
 * libqvirtio (OASIS VIRTIO 1.2, 5.8): identity, the configuration space
 * answers, QMP send-key / input-send-event, HMP sendkey and mouse_move
 * arriving as evdev events in the driver's buffers, whole reports dropped
 * when the driver posts too few buffers, the status queue, query-mice,
 * and PS/2 keeping the keys until the virtio driver is ready.
 */
#include "libqvirtio.h"
#include <string.h>

#define INPUT_MODERN_ID     0x1052
#define EV_SYN              0
#define EV_KEY              1
#define EV_REL              2
#define EV_ABS              3
#define EV_LED              0x11
#define EV_REP              0x14
#define KEY_A               30
#define KEY_LEFTSHIFT       42
#define KEY_ESC             1
#define BTN_LEFT            0x110
#define BTN_RIGHT           0x111

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue evq, stq;
    QMPConn *qmp;
    char *dir;
    uint64_t buf_by_id[1024];
} Env;

typedef struct Ev {
    uint16_t type, code;
    int32_t value;
} Ev;

static void env_start(Env *e, const char *dev)
{
    g_autofree char *args = NULL, *sock = NULL;
    int devfn;

    e->dir = g_dir_make_tmp("kvmpc-vinput-XXXXXX", NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-device %s -qmp unix:%s,server=on,wait=off", dev,
                           sock);
    e->qts = qtest_init(args);
    devfn = qvirtio_pci_find(e->qts, INPUT_MODERN_ID);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, true);
    e->qmp = qmp_connect(sock);
    unlink(sock);
}

static void env_driver_init(Env *e)
{
    qvirtio_msix_enable(&e->d, 2);
    g_assert(qvirtio_negotiate(&e->d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1)));
    qvirtqueue_setup(&e->evq, &e->d, 0, 64, false);
    qvirtqueue_setup(&e->stq, &e->d, 1, 64, false);
    qvirtio_driver_ok(&e->d);
}

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    rmdir(e->dir);
    g_free(e->dir);
}

static void post_buffers(Env *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = qvirtio_alloc(8, 8);
        QVirtBuf b = { a, 8, true };
        uint16_t id;

        qtest_memset(e->qts, a, 0xcc, 8);
        id = qvirtqueue_add(&e->evq, &b, 1);
        e->buf_by_id[id] = a;
    }
    qvirtqueue_kick(&e->evq);
}

/* The next event the device delivered, or false after @ms. */
static bool next_event(Env *e, Ev *ev, unsigned ms)
{
    uint16_t id;
    uint32_t len;

    if (!qvirtqueue_get_used(&e->evq, &id, &len, ms)) {
        return false;
    }
    g_assert_cmpint(len, ==, 8);
    ev->type = qtest_readw(e->qts, e->buf_by_id[id]);
    ev->code = qtest_readw(e->qts, e->buf_by_id[id] + 2);
    ev->value = (int32_t)qtest_readl(e->qts, e->buf_by_id[id] + 4);
    return true;
}

static void expect(Env *e, uint16_t type, uint16_t code, int32_t value)
{
    Ev ev;

    g_assert(next_event(e, &ev, 5000));
    if (ev.type != type || ev.code != code || ev.value != value) {
        g_error("event %u/%u/%d, want %u/%u/%d", ev.type, ev.code, ev.value,
                type, code, value);
    }
}

static void expect_none(Env *e)
{
    Ev ev;

    g_assert(!next_event(e, &ev, 100));
}

/* ---- configuration ------------------------------------------------------ */

static uint8_t cfg_query(Env *e, uint8_t select, uint8_t subsel,
                         uint8_t *payload)
{
    uint8_t size;

    qvirtio_config_writel(&e->d, 0, select | subsel << 8);
    size = (qvirtio_config_readl(&e->d, 0) >> 16) & 0xff;
    for (unsigned i = 0; i < 128; i += 4) {
        uint32_t v = qvirtio_config_readl(&e->d, 8 + i);
        memcpy(payload + i, &v, 4);
    }
    return size;
}

static bool bit(const uint8_t *bm, unsigned b)
{
    return bm[b / 8] & (1u << (b % 8));
}

static void test_keyboard_config(void)
{
    uint8_t p[128];
    Env e;

    env_start(&e, "virtio-keyboard-pci,serial=kbd-1");
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 2), ==, 0x1052);
    g_assert_cmphex(qpci_cfg_readb(e.qts, e.d.devfn, 8), ==, 1);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x0a), ==, 0x0980);
    g_assert_cmphex(e.d.io, ==, 0);
    g_assert_cmpint(cfg_query(&e, 1, 0, p), ==, 20);
    g_assert_cmpmem(p, 20, "QEMU Virtio Keyboard", 20);
    g_assert_cmpint(cfg_query(&e, 2, 0, p), ==, 5);
    g_assert_cmpmem(p, 5, "kbd-1", 5);
    g_assert_cmpint(cfg_query(&e, 3, 0, p), ==, 8);
    g_assert_cmphex(p[0] | p[1] << 8, ==, 0x06);        /* BUS_VIRTUAL */
    g_assert_cmphex(p[2] | p[3] << 8, ==, 0x0627);
    g_assert_cmphex(p[4] | p[5] << 8, ==, 0x0001);
    g_assert_cmphex(p[6] | p[7] << 8, ==, 0x0001);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_KEY, p), >, KEY_A / 8);
    g_assert(bit(p, KEY_A) && bit(p, KEY_ESC) && bit(p, KEY_LEFTSHIFT));
    g_assert(!bit(p, 0));
    g_assert_cmpint(cfg_query(&e, 0x11, EV_LED, p), ==, 1);
    g_assert_cmphex(p[0], ==, 7);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_REP, p), ==, 1);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_REL, p), ==, 0);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_ABS, p), ==, 0);
    g_assert_cmpint(cfg_query(&e, 0x10, 0, p), ==, 0);   /* PROP_BITS */
    g_assert_cmpint(cfg_query(&e, 0x12, 0, p), ==, 0);   /* no ABS_INFO */
    g_assert_cmpint(cfg_query(&e, 0x77, 3, p), ==, 0);
    g_assert_cmpint(cfg_query(&e, 0, 0, p), ==, 0);
    /* size and payload are read-only */
    qvirtio_config_writel(&e.d, 8, 0x41414141);
    g_assert_cmpint(cfg_query(&e, 1, 0, p), ==, 20);
    g_assert_cmpmem(p, 4, "QEMU", 4);
    env_end(&e);
}

static void test_pointer_config(void)
{
    uint8_t p[128];
    Env e;

    env_start(&e, "virtio-tablet-pci");
    g_assert_cmpint(cfg_query(&e, 1, 0, p), ==, 18);
    g_assert_cmpmem(p, 18, "QEMU Virtio Tablet", 18);
    g_assert_cmpint(cfg_query(&e, 2, 0, p), ==, 0);      /* no serial */
    g_assert_cmpint(cfg_query(&e, 3, 0, p), ==, 8);
    g_assert_cmphex(p[4], ==, 3);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_ABS, p), ==, 1);
    g_assert_cmphex(p[0], ==, 3);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_KEY, p), ==, 0x114 / 8 + 1);
    g_assert(bit(p, BTN_LEFT) && bit(p, BTN_RIGHT) && !bit(p, KEY_A));
    g_assert_cmpint(cfg_query(&e, 0x12, 0, p), ==, 20);
    g_assert_cmpint(p[0] | p[1] << 8, ==, 0);
    g_assert_cmpint(p[4] | p[5] << 8, ==, 0x7fff);
    g_assert_cmpint(cfg_query(&e, 0x12, 1, p), ==, 20);
    g_assert_cmpint(p[4] | p[5] << 8, ==, 0x7fff);
    g_assert_cmpint(cfg_query(&e, 0x12, 2, p), ==, 0);
    env_end(&e);

    env_start(&e, "virtio-mouse-pci");
    g_assert_cmpint(cfg_query(&e, 1, 0, p), ==, 17);
    g_assert_cmpmem(p, 17, "QEMU Virtio Mouse", 17);
    g_assert_cmpint(cfg_query(&e, 3, 0, p), ==, 8);
    g_assert_cmphex(p[4], ==, 2);
    g_assert_cmpint(cfg_query(&e, 0x11, EV_REL, p), ==, 2);
    g_assert_cmphex(p[0], ==, 3);
    g_assert_cmphex(p[1], ==, 1);       /* REL_WHEEL */
    g_assert_cmpint(cfg_query(&e, 0x11, EV_ABS, p), ==, 0);
    env_end(&e);
}

/* ---- events --------------------------------------------------------- */

static void test_keys(void)
{
    Env e;

    env_start(&e, "virtio-keyboard-pci");
    env_driver_init(&e);
    post_buffers(&e, 32);
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"a\"}],\"hold-time\":50}}");
    expect(&e, EV_KEY, KEY_A, 1);
    expect(&e, EV_SYN, 0, 0);
    expect_none(&e);
    qtest_clock_step(e.qts, 60 * 1000000LL);
    expect(&e, EV_KEY, KEY_A, 0);
    expect(&e, EV_SYN, 0, 0);
    /* HMP sendkey: shift pressed first, released last */
    qmp_assert_ok(e.qmp, "{\"execute\":\"human-monitor-command\",\"arguments\":"
           "{\"command-line\":\"sendkey shift-esc 10\"}}");
    expect(&e, EV_KEY, KEY_LEFTSHIFT, 1);
    expect(&e, EV_SYN, 0, 0);
    expect(&e, EV_KEY, KEY_ESC, 1);
    expect(&e, EV_SYN, 0, 0);
    qtest_clock_step(e.qts, 20 * 1000000LL);
    expect(&e, EV_KEY, KEY_ESC, 0);
    expect(&e, EV_SYN, 0, 0);
    expect(&e, EV_KEY, KEY_LEFTSHIFT, 0);
    expect(&e, EV_SYN, 0, 0);
    /* input-send-event with a key number (set 1: 0x1e is 'a') */
    qmp_assert_ok(e.qmp, "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":"
           "[{\"type\":\"key\",\"data\":{\"down\":true,\"key\":"
           "{\"type\":\"number\",\"data\":30}}}]}}");
    expect(&e, EV_KEY, KEY_A, 1);
    expect(&e, EV_SYN, 0, 0);
    env_end(&e);
}

/* Whether query-mice's entry named @name says current: true. */
static bool mouse_is_current(const char *reply, const char *name)
{
    const char *t = strstr(reply, name), *start, *end;

    g_assert(t);
    for (start = t; start > reply && *start != '{'; start--) {
    }
    end = strchr(t, '}');
    g_assert(end);
    return g_strstr_len(start, end - start, "\"current\": true") != NULL;
}

static void test_tablet_events(void)
{
    g_autofree char *mice = NULL;
    Env e;

    env_start(&e, "virtio-tablet-pci");
    /* before the driver is ready the PS/2 mouse is current */
    mice = qmp_cmd(e.qmp, "{\"execute\":\"query-mice\"}");
    g_test_message("%s", mice);
    g_assert(strstr(mice, "QEMU Virtio Tablet"));
    g_assert(!mouse_is_current(mice, "QEMU Virtio Tablet"));
    g_assert(mouse_is_current(mice, "QEMU PS/2 Mouse"));
    env_driver_init(&e);
    g_free(mice);
    mice = qmp_cmd(e.qmp, "{\"execute\":\"query-mice\"}");
    g_assert(mouse_is_current(mice, "QEMU Virtio Tablet"));
    g_assert(!mouse_is_current(mice, "QEMU PS/2 Mouse"));
    g_assert(strstr(mice, "\"absolute\": true"));
    post_buffers(&e, 16);
    qmp_assert_ok(e.qmp, "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":["
           "{\"type\":\"abs\",\"data\":{\"axis\":\"x\",\"value\":16384}},"
           "{\"type\":\"abs\",\"data\":{\"axis\":\"y\",\"value\":8192}},"
           "{\"type\":\"btn\",\"data\":{\"down\":true,\"button\":\"left\"}}"
           "]}}");
    expect(&e, EV_ABS, 0, 16384);
    expect(&e, EV_ABS, 1, 8192);
    expect(&e, EV_KEY, BTN_LEFT, 1);
    expect(&e, EV_SYN, 0, 0);
    qmp_assert_ok(e.qmp, "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":["
           "{\"type\":\"btn\",\"data\":{\"down\":true,\"button\":\"wheel-up\"}},"
           "{\"type\":\"btn\",\"data\":{\"down\":false,\"button\":\"left\"}}"
           "]}}");
    expect(&e, EV_REL, 8, 1);
    expect(&e, EV_KEY, BTN_LEFT, 0);
    expect(&e, EV_SYN, 0, 0);
    expect_none(&e);
    env_end(&e);
}

static void test_mouse_hmp(void)
{
    Env e;

    env_start(&e, "virtio-mouse-pci");
    env_driver_init(&e);
    post_buffers(&e, 16);
    qmp_assert_ok(e.qmp, "{\"execute\":\"human-monitor-command\",\"arguments\":"
           "{\"command-line\":\"mouse_move 10 -5\"}}");
    expect(&e, EV_REL, 0, 10);
    expect(&e, EV_REL, 1, -5);
    expect(&e, EV_SYN, 0, 0);
    qmp_assert_ok(e.qmp, "{\"execute\":\"human-monitor-command\",\"arguments\":"
           "{\"command-line\":\"mouse_button 2\"}}");
    expect(&e, EV_KEY, BTN_RIGHT, 1);
    expect(&e, EV_SYN, 0, 0);
    env_end(&e);
}

/* Without buffers a report is dropped, never delivered late. */
static void test_no_buffers(void)
{
    Env e;

    env_start(&e, "virtio-keyboard-pci");
    env_driver_init(&e);
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"esc\"}],\"hold-time\":1}}");
    qtest_clock_step(e.qts, 5 * 1000000LL);
    /* one buffer: a two-event report does not fit, and is dropped whole */
    post_buffers(&e, 1);
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"shift\"}],\"hold-time\":1}}");
    qtest_clock_step(e.qts, 5 * 1000000LL);
    expect_none(&e);
    post_buffers(&e, 3);
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"a\"}],\"hold-time\":1}}");
    expect(&e, EV_KEY, KEY_A, 1);
    expect(&e, EV_SYN, 0, 0);
    expect_none(&e);
    env_end(&e);
}

/* LED updates on the status queue are consumed; PS/2 before DRIVER_OK. */
static void test_status_and_ps2(void)
{
    Env e;
    uint16_t id, head;
    uint32_t len;

    env_start(&e, "virtio-keyboard-pci");
    /* driver not ready: the PS/2 keyboard gets the key */
    while (qtest_inb(e.qts, 0x64) & 1) {
        qtest_inb(e.qts, 0x60);
    }
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"a\"}]}}");
    g_assert(qtest_inb(e.qts, 0x64) & 1);
    {
        /* 'a' in set 2 (0x1c), or set 1 (0x1e) when translating */
        uint8_t code = qtest_inb(e.qts, 0x60);
        g_assert(code == 0x1c || code == 0x1e);
    }
    env_driver_init(&e);
    for (int i = 0; i < 3; i++) {
        uint64_t a = qvirtio_alloc(8, 8);
        QVirtBuf b = { a, 8, false };
        qtest_writew(e.qts, a, EV_LED);
        qtest_writew(e.qts, a + 2, i);
        qtest_writel(e.qts, a + 4, 1);
        head = qvirtqueue_add(&e.stq, &b, 1);
        qvirtqueue_kick(&e.stq);
        g_assert(qvirtqueue_get_used(&e.stq, &id, &len, 5000));
        g_assert_cmpint(id, ==, head);
        g_assert_cmpint(len, ==, 0);
    }
    /* now the virtio keyboard has the keys */
    qtest_clock_step(e.qts, 200 * 1000000LL);
    while (qtest_inb(e.qts, 0x64) & 1) {
        qtest_inb(e.qts, 0x60);
    }
    post_buffers(&e, 4);
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"a\"}]}}");
    expect(&e, EV_KEY, KEY_A, 1);
    g_assert(!(qtest_inb(e.qts, 0x64) & 1));
    env_end(&e);
}

static void wait_reply_without(Env *e, const char *cmd, const char *bad,
                               const char *good)
{
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = qmp_cmd(e->qmp, cmd);
        if (good ? strstr(r, good) != NULL : strstr(r, bad) == NULL) {
            return;
        }
        g_usleep(10000);
    }
    g_error("%s: no progress", cmd);
}

/*
 * A keyboard whose driver is ready migrates: on the destination it is the
 * active keyboard again and fills the buffers posted before migration.
 */
static void test_migration(void)
{
    g_autofree char *mig = NULL, *cmd = NULL, *args = NULL, *sock = NULL;
    Env e;

    env_start(&e, "virtio-keyboard-pci");
    env_driver_init(&e);
    post_buffers(&e, 8);
    mig = g_build_filename(e.dir, "mig", NULL);
    cmd = g_strdup_printf("{\"execute\":\"migrate\",\"arguments\":"
                          "{\"uri\":\"file:%s\"}}", mig);
    qmp_assert_ok(e.qmp, cmd);
    wait_reply_without(&e, "{\"execute\":\"query-migrate\"}", NULL,
                       "\"completed\"");
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    sock = g_build_filename(e.dir, "qmp2.sock", NULL);
    args = g_strdup_printf("-device virtio-keyboard-pci -incoming file:%s "
                           "-qmp unix:%s,server=on,wait=off", mig, sock);
    e.qts = qtest_init(args);
    e.d.qts = e.qts;
    e.qmp = qmp_connect(sock);
    unlink(sock);
    wait_reply_without(&e, "{\"execute\":\"query-status\"}", "inmigrate",
                       NULL);
    unlink(mig);
    qmp_assert_ok(e.qmp, "{\"execute\":\"send-key\",\"arguments\":{\"keys\":"
           "[{\"type\":\"qcode\",\"data\":\"a\"}]}}");
    expect(&e, EV_KEY, KEY_A, 1);
    expect(&e, EV_SYN, 0, 0);
    /* and the PS/2 keyboard did not get it */
    g_assert(!(qtest_inb(e.qts, 0x64) & 1));
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-input/keyboard-config", test_keyboard_config);
    g_test_add_func("/virtio-input/pointer-config", test_pointer_config);
    g_test_add_func("/virtio-input/keys", test_keys);
    g_test_add_func("/virtio-input/tablet", test_tablet_events);
    g_test_add_func("/virtio-input/mouse-hmp", test_mouse_hmp);
    g_test_add_func("/virtio-input/no-buffers", test_no_buffers);
    g_test_add_func("/virtio-input/status-ps2", test_status_and_ps2);
    g_test_add_func("/virtio-input/migration", test_migration);
    return g_test_run();
}
