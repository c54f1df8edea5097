/*
 * virtio-serial-pci, virtconsole and virtserialport through libqvirtio:
 * the test is the guest's driver (OASIS VIRTIO 1.2, 5.3: the multiport
 * handshake on the control queues, the ports' queue pairs) and, on the
 * other side, the peer of each port's unix-socket chardev.  Also QMP's
 * VSERPORT_CHANGE, flow control both ways, hostile control messages and
 * the command-line checks.
 */
#include "libqvirtio.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define VSER_TRANSITIONAL   0x1003
#define VSER_MODERN         0x1043
#define F_SIZE              0
#define F_MULTIPORT         1
#define F_EMERG_WRITE       2

#define DEVICE_READY        0
#define DEVICE_ADD          1
#define DEVICE_REMOVE       2
#define PORT_READY          3
#define CONSOLE_PORT        4
#define RESIZE              5
#define PORT_OPEN           6
#define PORT_NAME           7

#define CTRL_BUF            256
#define NPORTS              4       /* max_ports=4: queues 0-9 */

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue cin, cout;
    QVirtQueue rx[NPORTS], tx[NPORTS];
    uint64_t cin_buf[64];           /* control receive buffer by head */
    uint64_t cout_buf;
    QMPConn *qmp;
    char *dir;
} Env;

static char *env_path(Env *e, const char *name)
{
    return g_build_filename(e->dir, name, NULL);
}

/* The chardev option for a port's socket, the test being the client. */
static char *sock_chardev(Env *e, const char *id)
{
    g_autofree char *path = env_path(e, id);

    return g_strdup_printf("-chardev socket,id=%s,path=%s,server=on,"
                           "wait=off", id, path);
}

/* Before env_start: the directory the sockets go in. */
static void env_prepare(Env *e)
{
    memset(e, 0, sizeof(*e));
    e->dir = g_dir_make_tmp("kvmpc-vser-XXXXXX", NULL);
}

static void env_start(Env *e, const char *extra, bool modern)
{
    g_autofree char *qmp = NULL, *args = NULL;
    int devfn;

    qmp = env_path(e, "qmp.sock");
    args = g_strdup_printf("%s -qmp unix:%s,server=on,wait=off", extra, qmp);
    e->qts = qtest_init(args);
    devfn = qvirtio_pci_find(e->qts, 0);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, modern);
    e->qmp = qmp_connect(qmp);
}

/* Remove @path and what is in it (sockets, the agent's state dir). */
static void remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *p = g_build_filename(path, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
            remove_tree(p);
        } else {
            unlink(p);
        }
    }
    rmdir(path);
}

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    remove_tree(e->dir);
    g_free(e->dir);
}

static unsigned rx_queue(unsigned port)
{
    return port ? 2 + 2 * port : 0;
}

static void post_cin(Env *e, uint64_t addr)
{
    QVirtBuf b = { addr, CTRL_BUF, true };
    uint16_t head = qvirtqueue_add(&e->cin, &b, 1);

    g_assert_cmpuint(head, <, G_N_ELEMENTS(e->cin_buf));
    e->cin_buf[head] = addr;
}

/* Negotiate @features, set up the queues of ports 0..nports-1 and the
 * control queues (with MULTIPORT), DRIVER_OK, control buffers posted. */
static void driver_init_bufs(Env *e, uint64_t features, unsigned nports,
                             unsigned ctrl_bufs)
{
    bool multiport = features & QVIRTIO_BIT(F_MULTIPORT);

    g_assert(qvirtio_negotiate(&e->d, features));
    for (unsigned p = 0; p < nports; p++) {
        qvirtqueue_setup(&e->rx[p], &e->d, rx_queue(p), 0, false);
        qvirtqueue_setup(&e->tx[p], &e->d, rx_queue(p) + 1, 0, false);
    }
    if (multiport) {
        qvirtqueue_setup(&e->cin, &e->d, 2, 0, false);
        qvirtqueue_setup(&e->cout, &e->d, 3, 0, false);
        e->cout_buf = qvirtio_alloc(CTRL_BUF, 16);
    }
    qvirtio_driver_ok(&e->d);
    if (multiport) {
        for (unsigned i = 0; i < ctrl_bufs; i++) {
            post_cin(e, qvirtio_alloc(CTRL_BUF, 16));
        }
        qvirtqueue_kick(&e->cin);
    }
}

static void driver_init(Env *e, uint64_t features, unsigned nports)
{
    driver_init_bufs(e, features, nports, 16);
}

static uint64_t modern_features(void)
{
    return QVIRTIO_BIT(QVIRTIO_F_VERSION_1) | QVIRTIO_BIT(F_MULTIPORT);
}

/* The next control message from the device, if one comes in time. */
static bool get_ctrl(Env *e, uint32_t *id, uint16_t *event, uint16_t *value,
                     char *name, size_t name_size, unsigned timeout_ms)
{
    uint16_t head;
    uint32_t len;
    uint64_t a;

    if (!qvirtqueue_get_used(&e->cin, &head, &len, timeout_ms)) {
        return false;
    }
    a = e->cin_buf[head];
    g_assert_cmpuint(len, >=, 8);
    g_assert_cmpuint(len, <=, CTRL_BUF);
    *id = qtest_readl(e->qts, a);
    *event = qtest_readw(e->qts, a + 4);
    *value = qtest_readw(e->qts, a + 6);
    if (*event != PORT_NAME) {
        g_assert_cmpuint(len, ==, 8);
    } else if (name) {
        g_assert_cmpuint(len - 8, <, name_size);
        qtest_memread(e->qts, a + 8, name, len - 8);
        name[len - 8] = 0;
        g_assert_cmpuint(strlen(name) + 1, ==, len - 8);   /* NUL-ended */
    }
    post_cin(e, a);
    qvirtqueue_kick(&e->cin);
    return true;
}

static void expect_ctrl(Env *e, uint32_t id, uint16_t event, uint16_t value)
{
    uint32_t i;
    uint16_t ev, val;
    char name[CTRL_BUF];

    g_assert(get_ctrl(e, &i, &ev, &val, name, sizeof(name), 5000));
    g_assert_cmpuint(ev, ==, event);
    g_assert_cmpuint(i, ==, id);
    g_assert_cmpuint(val, ==, value);
}

static void expect_name(Env *e, uint32_t id, const char *expected)
{
    uint32_t i;
    uint16_t ev, val;
    char name[CTRL_BUF];

    g_assert(get_ctrl(e, &i, &ev, &val, name, sizeof(name), 5000));
    g_assert_cmpuint(ev, ==, PORT_NAME);
    g_assert_cmpuint(i, ==, id);
    g_assert_cmpuint(val, ==, 1);
    g_assert_cmpstr(name, ==, expected);
}

static void expect_no_ctrl(Env *e)
{
    uint32_t i;
    uint16_t ev, val;

    g_assert(!get_ctrl(e, &i, &ev, &val, NULL, 0, 100));
}

/* A control message of @len bytes (8: a whole one) from the driver. */
static void send_ctrl_raw(Env *e, uint32_t id, uint16_t event,
                          uint16_t value, uint32_t len, bool writable)
{
    QVirtBuf b = { e->cout_buf, len, writable };
    uint16_t head, used;
    uint32_t ulen;

    qtest_writel(e->qts, e->cout_buf, id);
    qtest_writew(e->qts, e->cout_buf + 4, event);
    qtest_writew(e->qts, e->cout_buf + 6, value);
    head = qvirtqueue_add(&e->cout, &b, 1);
    qvirtqueue_kick(&e->cout);
    g_assert(qvirtqueue_get_used(&e->cout, &used, &ulen, 5000));
    g_assert_cmpuint(used, ==, head);
}

static void send_ctrl(Env *e, uint32_t id, uint16_t event, uint16_t value)
{
    send_ctrl_raw(e, id, event, value, 8, false);
}

static bool needs_reset(Env *e)
{
    return qvirtio_get_status(&e->d) & QVIRTIO_S_NEEDS_RESET;
}

/* ---- the socket peer -------------------------------------------------- */

static int peer_connect(Env *e, const char *id)
{
    g_autofree char *path = env_path(e, id);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert(fd >= 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
        g_assert(i < 500);
        g_usleep(10000);
    }
    return fd;
}

static void peer_read_exact(int fd, void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        g_assert_cmpint(poll(&pfd, 1, 10000), ==, 1);
        n = read(fd, (uint8_t *)buf + done, len - done);
        g_assert_cmpint(n, >, 0);
        done += n;
    }
}

static bool peer_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, timeout_ms) == 1;
}

static void peer_write_all(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

/* Connect to a console's socket and wait until kvmpc took the client
 * (a console sends no PORT_OPEN to wait for). */
static int peer_connect_console(Env *e, const char *id)
{
    int fd = peer_connect(e, id);
    g_autofree char *want = g_strdup_printf("\"label\": \"%s\"", id);

    for (int i = 0; ; i++) {
        g_autofree char *r = qmp_cmd(e->qmp,
                                     "{\"execute\": \"query-chardev\"}");
        char *p = strstr(r, want);
        char *start;

        g_assert(p);
        /* the entry's filename precedes or follows its label */
        start = p;
        while (start > r && *start != '{') {
            start--;
        }
        if (!g_strstr_len(start, strchr(p, '}') - start, "disconnected:")) {
            return fd;
        }
        g_assert(i < 500);
        g_usleep(10000);
    }
}

/* ---- guest data path ---------------------------------------------------- */

static void guest_send(Env *e, unsigned port, const void *data, size_t len,
                       bool wait)
{
    uint64_t a = qvirtio_alloc(len, 16);
    QVirtBuf b = { a, len, false };
    uint16_t head, id;
    uint32_t ulen;

    qtest_bufwrite(e->qts, a, data, len);
    head = qvirtqueue_add(&e->tx[port], &b, 1);
    qvirtqueue_kick(&e->tx[port]);
    if (wait) {
        g_assert(qvirtqueue_get_used(&e->tx[port], &id, &ulen, 5000));
        g_assert_cmpuint(id, ==, head);
    }
}

static uint64_t guest_post_rx(Env *e, unsigned port, size_t len)
{
    uint64_t a = qvirtio_alloc(len, 16);
    QVirtBuf b = { a, len, true };

    qtest_memset(e->qts, a, 0, len);
    qvirtqueue_add(&e->rx[port], &b, 1);
    qvirtqueue_kick(&e->rx[port]);
    return a;
}

/* Wait for a posted receive buffer to come back with @len bytes. */
static void guest_expect_rx(Env *e, unsigned port, uint64_t a,
                            const char *expected)
{
    uint16_t id;
    uint32_t len;
    char buf[256];

    g_assert(qvirtqueue_get_used(&e->rx[port], &id, &len, 5000));
    g_assert_cmpuint(len, ==, strlen(expected));
    qtest_memread(e->qts, a, buf, len);
    buf[len] = 0;
    g_assert_cmpstr(buf, ==, expected);
}

/* Events so far, after a command that flushes them. */
static char *qmp_events(Env *e)
{
    g_free(qmp_cmd(e->qmp, "{\"execute\": \"query-status\"}"));
    return qmp_take_events(e->qmp);
}

/* The usual machine: a console, a named port with a socket, a port nr=3
 * without chardev. */
static void env_start_std(Env *e, bool modern)
{
    g_autofree char *c0 = NULL, *c1 = NULL, *args = NULL;

    env_prepare(e);
    c0 = sock_chardev(e, "con0");
    c1 = sock_chardev(e, "port1");
    args = g_strdup_printf(
        "-device virtio-serial-pci,id=vs0,max_ports=%d %s %s "
        "-device virtconsole,chardev=con0,id=con0 "
        "-device virtserialport,bus=vs0.0,chardev=port1,id=port1,"
        "name=org.test.a "
        "-device virtserialport,bus=vs0.0,nr=3,name=org.test.c",
        NPORTS, c0, c1);
    env_start(e, args, modern);
}

/* DEVICE_READY, PORT_READY for every port, and the answers. */
static void handshake(Env *e)
{
    send_ctrl(e, 0, DEVICE_READY, 1);
    expect_ctrl(e, 0, DEVICE_ADD, 1);
    expect_ctrl(e, 1, DEVICE_ADD, 1);
    expect_ctrl(e, 3, DEVICE_ADD, 1);
    expect_no_ctrl(e);
    send_ctrl(e, 0, PORT_READY, 1);
    expect_ctrl(e, 0, CONSOLE_PORT, 1);
    expect_ctrl(e, 0, PORT_OPEN, 1);     /* a console's host side is up */
    send_ctrl(e, 1, PORT_READY, 1);
    expect_name(e, 1, "org.test.a");     /* not connected: no PORT_OPEN */
    send_ctrl(e, 3, PORT_READY, 1);
    expect_name(e, 3, "org.test.c");
    expect_no_ctrl(e);
}

/* ---- tests -------------------------------------------------------------- */

static void test_ids(void)
{
    Env e;
    QTestState *qts;
    int devfn;

    env_start_std(&e, true);
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0), ==, 0x10031af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x0a), ==, 0x0780);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2c), ==, 0x1af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2e), ==, 3);
    g_assert(e.d.features & QVIRTIO_BIT(F_MULTIPORT));
    g_assert(e.d.features & QVIRTIO_BIT(F_EMERG_WRITE));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_SIZE)));
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 4), ==, NPORTS);
    g_assert_cmpuint(qtest_readw(e.qts, e.d.common + 0x12), ==,
                     2 * (NPORTS + 1));
    /* vectors: max_ports + 1 (MSI-X table size - 1 in the control) */
    g_assert_cmpuint(qpci_cfg_readw(e.qts, e.d.devfn, e.d.msix_cap + 2) &
                     0x7ff, ==, NPORTS);
    env_end(&e);

    /* defaults, the alias, modern only, the class property */
    qts = qtest_init("-device virtio-serial,disable-legacy=on,class=0xff "
                     "-device virtio-serial-pci,class=0x1234 "
                     "-device virtserialport,bus=virtio-serial-bus.1,name=x");
    devfn = qvirtio_pci_find(qts, VSER_MODERN);
    g_assert_cmpint(devfn, >=, 0);
    g_assert_cmphex(qpci_cfg_readb(qts, devfn, 8), ==, 1);
    g_assert_cmphex(qpci_cfg_readw(qts, devfn, 0x0a), ==, 0x00ff);
    {
        QVirtioDev d;
        qvirtio_mem_reset();
        qvirtio_pci_init(&d, qts, devfn, true);
        g_assert_cmpuint(qvirtio_config_readl(&d, 4), ==, 31);
        g_assert_cmpuint(qtest_readw(qts, d.common + 0x12), ==, 64);
        g_assert_cmpuint(qpci_cfg_readw(qts, devfn, d.msix_cap + 2) &
                         0x7ff, ==, 31);
    }
    devfn = qvirtio_pci_find(qts, VSER_TRANSITIONAL);
    g_assert_cmpint(devfn, >=, 0);
    g_assert_cmphex(qpci_cfg_readw(qts, devfn, 0x0a), ==, 0x0780);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void expect_refused(const char *args, const char *message)
{
    g_autofree char *cmd = g_strdup_printf("%s -accel qtest -nodefaults "
                                           "-display none -bios %s %s",
                                           qtest_kvmpc_binary(),
                                           qtest_default_firmware(), args);
    g_autofree char *out = NULL, *err = NULL;
    g_auto(GStrv) argv = NULL;
    int status;

    g_assert(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, &out, &err,
                          &status, NULL));
    g_assert(!g_spawn_check_wait_status(status, NULL));
    if (!strstr(err, message)) {
        g_error("'%s': expected '%s', got '%s'", args, message, err);
    }
}

static void test_bad_options(void)
{
    expect_refused("-device virtio-serial-pci,max_ports=32",
                   "maximum ports supported: 31");
    expect_refused("-device virtio-serial-pci,max_ports=0",
                   "Maximum number of serial ports not specified");
    expect_refused("-device virtio-serial-pci -device virtserialport,nr=0",
                   "reserved for virtconsole");
    expect_refused("-device virtio-serial-pci,max_ports=4 "
                   "-device virtserialport,nr=4", "Out-of-range port id");
    expect_refused("-device virtio-serial-pci -device virtserialport,nr=2 "
                   "-device virtserialport,nr=2", "already exists at id 2");
    expect_refused("-device virtio-serial-pci -device virtserialport,name=a "
                   "-device virtserialport,name=a", "already exists by name");
    expect_refused("-device virtio-serial-pci,id=vs0 "
                   "-device virtserialport,bus=nope.0", "Bus 'nope.0'");
    expect_refused("-device virtserialport", "No 'virtio-serial-bus' bus");
    expect_refused("-device virtio-serial-pci,max_ports=2 "
                   "-device virtserialport -device virtserialport",
                   "Maximum port limit");
    expect_refused("-chardev null,id=c -device virtio-serial-pci "
                   "-device virtserialport,chardev=c "
                   "-device virtserialport,chardev=c", "in use");
}

static void test_handshake(void)
{
    Env e;

    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    /* DEVICE_READY again: the list again (a driver that restarted) */
    send_ctrl(&e, 0, DEVICE_READY, 1);
    expect_ctrl(&e, 0, DEVICE_ADD, 1);
    expect_ctrl(&e, 1, DEVICE_ADD, 1);
    expect_ctrl(&e, 3, DEVICE_ADD, 1);
    env_end(&e);
}

static void test_host_connect(void)
{
    Env e;
    int fd;

    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    fd = peer_connect(&e, "port1");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    close(fd);
    expect_ctrl(&e, 1, PORT_OPEN, 0);
    fd = peer_connect(&e, "port1");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    /* PORT_READY after the connection: PORT_OPEN comes with the name */
    send_ctrl(&e, 1, PORT_READY, 1);
    expect_name(&e, 1, "org.test.a");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    close(fd);
    expect_ctrl(&e, 1, PORT_OPEN, 0);
    expect_no_ctrl(&e);
    env_end(&e);
}

/* query-chardev's frontend-open of chardev @id (0/1). */
static int chardev_frontend_open(Env *e, const char *id)
{
    g_autofree char *r = qmp_cmd(e->qmp, "{\"execute\": \"query-chardev\"}");
    g_autofree char *want = g_strdup_printf("\"label\": \"%s\"", id);
    char *p = strstr(r, want), *start = p, *end;

    g_assert(p);
    while (start > r && *start != '{') {
        start--;
    }
    end = strchr(p, '}');
    if (g_strstr_len(start, end - start, "\"frontend-open\": true")) {
        return 1;
    }
    g_assert(g_strstr_len(start, end - start, "\"frontend-open\": false"));
    return 0;
}

static void test_guest_open_event(void)
{
    Env e;
    g_autofree char *ev1 = NULL, *ev2 = NULL, *ev3 = NULL, *ev4 = NULL;
    g_autofree char *ev5 = NULL;

    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    g_free(qmp_events(&e));
    g_assert(chardev_frontend_open(&e, "port1") == 0);
    send_ctrl(&e, 1, PORT_OPEN, 1);
    g_assert(chardev_frontend_open(&e, "port1") == 1);
    ev1 = qmp_events(&e);
    g_assert(strstr(ev1, "\"event\": \"VSERPORT_CHANGE\""));
    g_assert(strstr(ev1, "\"id\": \"port1\""));
    g_assert(strstr(ev1, "\"open\": true"));
    /* within a second: held back (QEMU's rate limit), then sent */
    send_ctrl(&e, 1, PORT_OPEN, 0);
    ev2 = qmp_events(&e);
    g_assert(!strstr(ev2, "VSERPORT_CHANGE"));
    qtest_clock_step(e.qts, 1000000000LL);
    ev3 = qmp_events(&e);
    g_assert(chardev_frontend_open(&e, "port1") == 0);
    g_assert(strstr(ev3, "\"id\": \"port1\""));
    g_assert(strstr(ev3, "\"open\": false"));
    /* a port without an id sends none */
    qtest_clock_step(e.qts, 2000000000LL);
    send_ctrl(&e, 3, PORT_OPEN, 1);
    ev4 = qmp_events(&e);
    g_assert(!strstr(ev4, "VSERPORT_CHANGE"));
    /* the console opened, then the device reset: closed again */
    send_ctrl(&e, 0, PORT_OPEN, 1);
    qvirtio_reset(&e.d);
    qtest_clock_step(e.qts, 1000000000LL);
    ev5 = qmp_events(&e);
    g_assert(strstr(ev5, "\"id\": \"con0\", \"open\": true"));
    g_assert(strstr(ev5, "\"id\": \"con0\", \"open\": false"));
    env_end(&e);
}

static void test_data(void)
{
    Env e;
    int fd0, fd1;
    char buf[64];
    uint64_t a;

    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    fd1 = peer_connect(&e, "port1");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    fd0 = peer_connect_console(&e, "con0");
    send_ctrl(&e, 1, PORT_OPEN, 1);
    send_ctrl(&e, 0, PORT_OPEN, 1);

    guest_send(&e, 1, "hello port", 10, true);
    peer_read_exact(fd1, buf, 10);
    g_assert(!memcmp(buf, "hello port", 10));
    guest_send(&e, 0, "console!", 8, true);
    peer_read_exact(fd0, buf, 8);
    g_assert(!memcmp(buf, "console!", 8));

    a = guest_post_rx(&e, 1, 64);
    peer_write_all(fd1, "to the guest", 12);
    guest_expect_rx(&e, 1, a, "to the guest");
    a = guest_post_rx(&e, 0, 64);
    peer_write_all(fd0, "hvc0", 4);
    guest_expect_rx(&e, 0, a, "hvc0");

    /* the guest closes port 1: the host's bytes wait for it */
    send_ctrl(&e, 1, PORT_OPEN, 0);
    a = guest_post_rx(&e, 1, 64);
    peer_write_all(fd1, "later", 5);
    {
        uint16_t id;
        uint32_t len;
        g_assert(!qvirtqueue_get_used(&e.rx[1], &id, &len, 200));
    }
    send_ctrl(&e, 1, PORT_OPEN, 1);
    guest_expect_rx(&e, 1, a, "later");

    /* no host side: the guest's output is returned and discarded */
    close(fd1);
    expect_ctrl(&e, 1, PORT_OPEN, 0);
    guest_send(&e, 1, "lost", 4, true);
    fd1 = peer_connect(&e, "port1");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    guest_send(&e, 1, "found", 5, true);
    peer_read_exact(fd1, buf, 5);
    g_assert(!memcmp(buf, "found", 5));
    /* port 3 has no chardev at all */
    guest_send(&e, 3, "void", 4, true);

    /* emergency write: one byte to the console */
    qvirtio_config_writel(&e.d, 8, 'E');
    peer_read_exact(fd0, buf, 1);
    g_assert_cmpint(buf[0], ==, 'E');
    close(fd0);
    close(fd1);
    env_end(&e);
}

#define BIG_CHUNK   (32 * 1024)
#define BIG_CHUNKS  64          /* 2 MiB: far more than any buffer */

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 12));
}

static void test_flow_guest_to_host(void)
{
    Env e;
    int fd;
    uint16_t heads[BIG_CHUNKS], id;
    uint32_t len;
    unsigned used = 0;
    g_autofree uint8_t *chunk = g_malloc(BIG_CHUNK);
    g_autofree uint8_t *got = g_malloc(BIG_CHUNK * BIG_CHUNKS);

    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    fd = peer_connect(&e, "port1");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    for (unsigned c = 0; c < BIG_CHUNKS; c++) {
        uint64_t a = qvirtio_alloc(BIG_CHUNK, 16);
        QVirtBuf b = { a, BIG_CHUNK, false };
        for (size_t i = 0; i < BIG_CHUNK; i++) {
            chunk[i] = pattern(c * BIG_CHUNK + i);
        }
        qtest_bufwrite(e.qts, a, chunk, BIG_CHUNK);
        heads[c] = qvirtqueue_add(&e.tx[1], &b, 1);
    }
    qvirtqueue_kick(&e.tx[1]);
    /* The peer reads nothing: the device stops, keeps the rest. */
    while (qvirtqueue_get_used(&e.tx[1], &id, &len, 300)) {
        g_assert_cmpuint(id, ==, heads[used]);
        used++;
    }
    g_assert_cmpuint(used, <, BIG_CHUNKS);
    g_assert_cmpuint(used, >, 0);
    g_assert(!needs_reset(&e));
    /* Now it reads: everything arrives, in order, nothing lost. */
    peer_read_exact(fd, got, BIG_CHUNK * BIG_CHUNKS);
    for (size_t i = 0; i < (size_t)BIG_CHUNK * BIG_CHUNKS; i++) {
        if (got[i] != pattern(i)) {
            g_error("byte %zu: %02x, expected %02x", i, got[i], pattern(i));
        }
    }
    while (used < BIG_CHUNKS) {
        g_assert(qvirtqueue_get_used(&e.tx[1], &id, &len, 5000));
        g_assert_cmpuint(id, ==, heads[used]);
        used++;
    }
    g_assert(!peer_readable(fd, 100));
    close(fd);
    env_end(&e);
}

#define H2G_TOTAL   (1024 * 1024)
#define RX_BUF      4096
#define RX_POSTED   16

static void test_flow_host_to_guest(void)
{
    Env e;
    int fd;
    size_t sent = 0, received = 0;
    bool blocked = false;
    uint64_t bufs[1024];        /* by descriptor head */
    g_autofree uint8_t *out = g_malloc(H2G_TOTAL);
    g_autofree uint8_t *in = g_malloc(H2G_TOTAL);

    for (size_t i = 0; i < H2G_TOTAL; i++) {
        out[i] = pattern(i);
    }
    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    fd = peer_connect(&e, "port1");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    send_ctrl(&e, 1, PORT_OPEN, 1);
    g_assert(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    /* No receive buffers yet: kvmpc must stop reading, so the peer's
     * writes block long before 1 MiB. */
    for (int tries = 0; tries < 50 && !blocked; tries++) {
        ssize_t n = write(fd, out + sent, H2G_TOTAL - sent);
        if (n < 0) {
            g_assert_cmpint(errno, ==, EAGAIN);
            g_usleep(10000);
            /* once more after kvmpc had a chance to read */
            n = write(fd, out + sent, H2G_TOTAL - sent);
            blocked = n < 0;
        }
        sent += n > 0 ? n : 0;
    }
    g_assert(blocked);
    g_assert_cmpuint(sent, <, H2G_TOTAL);
    /* The guest posts buffers: the bytes flow, in order. */
    for (unsigned i = 0; i < RX_POSTED; i++) {
        QVirtBuf b;
        bufs[i] = qvirtio_alloc(RX_BUF, 16);
        b = (QVirtBuf){ bufs[i], RX_BUF, true };
        g_assert_cmpuint(qvirtqueue_add(&e.rx[1], &b, 1), ==, i);
    }
    qvirtqueue_kick(&e.rx[1]);
    while (received < H2G_TOTAL) {
        uint16_t id;
        uint32_t len;
        QVirtBuf b;

        if (sent < H2G_TOTAL) {
            ssize_t n = write(fd, out + sent, H2G_TOTAL - sent);
            g_assert(n > 0 || errno == EAGAIN);
            sent += n > 0 ? n : 0;
        }
        g_assert(qvirtqueue_get_used(&e.rx[1], &id, &len, 10000));
        g_assert_cmpuint(len, <=, RX_BUF);
        g_assert_cmpuint(received + len, <=, H2G_TOTAL);
        qtest_bufread(e.qts, bufs[id], in + received, len);
        received += len;
        /* post it again */
        b = (QVirtBuf){ bufs[id], RX_BUF, true };
        bufs[qvirtqueue_add(&e.rx[1], &b, 1)] = b.addr;
        qvirtqueue_kick(&e.rx[1]);
    }
    g_assert(!memcmp(in, out, H2G_TOTAL));
    close(fd);
    env_end(&e);
}

static void test_bad_control(void)
{
    Env e;

    env_start_std(&e, true);
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    send_ctrl_raw(&e, 1, PORT_OPEN, 1, 4, false);      /* short */
    send_ctrl_raw(&e, 1, PORT_OPEN, 1, 8, true);       /* wrong direction */
    send_ctrl(&e, 2, PORT_READY, 1);                   /* no port 2 */
    send_ctrl(&e, 4, PORT_READY, 1);                   /* past max_ports */
    send_ctrl(&e, 0xffffffff, PORT_OPEN, 1);
    send_ctrl(&e, 1, 42, 1);                           /* unknown event */
    send_ctrl(&e, 1, DEVICE_ADD, 1);                   /* device's own */
    send_ctrl(&e, 1, RESIZE, 1);
    send_ctrl(&e, 0, DEVICE_READY, 0);                 /* "failed" */
    send_ctrl(&e, 1, PORT_READY, 0);
    expect_no_ctrl(&e);
    g_assert(!needs_reset(&e));
    /* still answers */
    send_ctrl(&e, 1, PORT_READY, 1);
    expect_name(&e, 1, "org.test.a");

    /* wrong-direction data buffers are returned empty */
    {
        uint64_t a = qvirtio_alloc(16, 16);
        QVirtBuf b = { a, 16, false };
        uint16_t id;
        uint32_t len;
        qvirtqueue_add(&e.rx[1], &b, 1);           /* readable on rx */
        qvirtqueue_kick(&e.rx[1]);
        b.write = true;
        qvirtqueue_add(&e.tx[1], &b, 1);           /* writable on tx */
        qvirtqueue_kick(&e.tx[1]);
        g_assert(qvirtqueue_get_used(&e.tx[1], &id, &len, 5000));
        g_assert_cmpuint(len, ==, 0);
    }
    g_assert(!needs_reset(&e));

    /* a control receive buffer too small for a message: NEEDS_RESET */
    {
        uint64_t tiny = qvirtio_alloc(4, 4);
        QVirtBuf b = { tiny, 4, true };
        driver_init_bufs(&e, modern_features(), NPORTS, 0);
        qvirtqueue_add(&e.cin, &b, 1);
        qvirtqueue_kick(&e.cin);
        send_ctrl(&e, 0, DEVICE_READY, 1);
        g_assert(needs_reset(&e));
    }
    /* and a reset brings it back */
    driver_init(&e, modern_features(), NPORTS);
    handshake(&e);
    env_end(&e);
}

/* A legacy driver without MULTIPORT: port 0 only, no handshake. */
static void test_legacy_single_port(void)
{
    Env e;
    int fd;
    char buf[16];
    uint64_t a;

    env_start_std(&e, false);
    driver_init(&e, 0, 1);
    fd = peer_connect_console(&e, "con0");
    guest_send(&e, 0, "legacy", 6, true);
    peer_read_exact(fd, buf, 6);
    g_assert(!memcmp(buf, "legacy", 6));
    a = guest_post_rx(&e, 0, 64);
    peer_write_all(fd, "back", 4);
    guest_expect_rx(&e, 0, a, "back");
    close(fd);
    env_end(&e);
}

/* Several ports on two devices, data kept apart. */
static void test_several_ports(void)
{
    Env e;
    g_autofree char *args = NULL;
    char *c[4];
    int fd[4];
    char buf[16];

    env_prepare(&e);
    for (int i = 0; i < 4; i++) {
        g_autofree char *id = g_strdup_printf("p%d", i + 1);
        c[i] = sock_chardev(&e, id);
    }
    args = g_strdup_printf(
        "-device virtio-serial-pci,id=vs0,max_ports=%d %s %s %s %s "
        "-device virtserialport,chardev=p1,name=n1 "
        "-device virtserialport,chardev=p2,name=n2 "
        "-device virtserialport,chardev=p3,name=n3 "
        "-device virtio-serial-pci,id=vs1 "
        "-device virtserialport,bus=vs1.0,chardev=p4,name=n4",
        NPORTS, c[0], c[1], c[2], c[3]);
    env_start(&e, args, true);
    driver_init(&e, modern_features(), NPORTS);
    send_ctrl(&e, 0, DEVICE_READY, 1);
    expect_ctrl(&e, 1, DEVICE_ADD, 1);
    expect_ctrl(&e, 2, DEVICE_ADD, 1);
    expect_ctrl(&e, 3, DEVICE_ADD, 1);
    expect_no_ctrl(&e);     /* n4 is on the other device */
    for (int i = 0; i < 3; i++) {
        g_autofree char *id = g_strdup_printf("p%d", i + 1);
        g_autofree char *name = g_strdup_printf("n%d", i + 1);
        send_ctrl(&e, i + 1, PORT_READY, 1);
        expect_name(&e, i + 1, name);
        fd[i] = peer_connect(&e, id);
        expect_ctrl(&e, i + 1, PORT_OPEN, 1);
    }
    for (int i = 2; i >= 0; i--) {
        char msg[8];
        snprintf(msg, sizeof(msg), "port%d", i + 1);
        guest_send(&e, i + 1, msg, 5, true);
    }
    for (int i = 0; i < 3; i++) {
        char msg[8];
        snprintf(msg, sizeof(msg), "port%d", i + 1);
        peer_read_exact(fd[i], buf, 5);
        g_assert(!memcmp(buf, msg, 5));
        g_assert(!peer_readable(fd[i], 10));
        close(fd[i]);
    }
    for (int i = 0; i < 4; i++) {
        g_free(c[i]);
    }
    env_end(&e);
}

/* ---- the guest agent, end to end ---------------------------------------- */

static char *find_qemu_ga(void)
{
    static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin" };
    char *p = g_find_program_in_path("qemu-ga");

    for (unsigned i = 0; !p && i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *c = g_build_filename(dirs[i], "qemu-ga", NULL);
        if (g_file_test(c, G_FILE_TEST_IS_EXECUTABLE)) {
            p = g_steal_pointer(&c);
        }
    }
    return p;
}

/* The agent goes when the test does, even when an assertion ends it. */
static void ga_child_setup(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
}

typedef struct GAShuttle {
    Env *e;
    unsigned port;
    int ga_fd;                  /* qemu-ga's socket (the guest's vport) */
    int host_fd;                /* kvmpc's chardev (the host's client) */
    uint64_t rxbuf[1024];       /* posted receive buffers by head */
    GString *host_in;           /* what the host side has read */
} GAShuttle;

/*
 * One round of the guest's driver: bytes from the port's receive queue
 * go to qemu-ga, qemu-ga's output goes out on the transmit queue; the
 * host side reads what reached kvmpc's chardev.
 */
static void ga_shuttle_once(GAShuttle *g)
{
    Env *e = g->e;
    uint16_t id;
    uint32_t len;
    uint8_t buf[4096];
    ssize_t n;

    while (qvirtqueue_get_used(&e->rx[g->port], &id, &len, 5)) {
        QVirtBuf b = { g->rxbuf[id], sizeof(buf), true };
        g_assert_cmpuint(len, <=, sizeof(buf));
        qtest_bufread(e->qts, g->rxbuf[id], buf, len);
        g_assert_cmpint(write(g->ga_fd, buf, len), ==, (ssize_t)len);
        g->rxbuf[qvirtqueue_add(&e->rx[g->port], &b, 1)] = b.addr;
        qvirtqueue_kick(&e->rx[g->port]);
    }
    if (peer_readable(g->ga_fd, 5)) {
        n = read(g->ga_fd, buf, sizeof(buf));
        g_assert_cmpint(n, >, 0);
        guest_send(e, g->port, buf, n, true);
    }
    while (peer_readable(g->host_fd, 0)) {
        n = read(g->host_fd, buf, sizeof(buf));
        g_assert_cmpint(n, >, 0);
        g_string_append_len(g->host_in, (char *)buf, n);
    }
}

/* The next line the host side gets. */
static char *ga_read_line(GAShuttle *g)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    for (;;) {
        char *nl = memchr(g->host_in->str, '\n', g->host_in->len);
        if (nl) {
            char *line = g_strndup(g->host_in->str, nl - g->host_in->str);
            g_string_erase(g->host_in, 0, nl - g->host_in->str + 1);
            return line;
        }
        g_assert(g_get_monotonic_time() < end);
        ga_shuttle_once(g);
    }
}

/* Send a request from the host side; return the next line it gets. */
static char *ga_request(GAShuttle *g, const char *json)
{
    peer_write_all(g->host_fd, json, strlen(json));
    return ga_read_line(g);
}

static void test_guest_agent(void)
{
    g_autofree char *ga = find_qemu_ga();
    g_autofree char *chr = NULL, *args = NULL, *ga_sock = NULL;
    g_autofree char *state = NULL, *pidfile = NULL, *log = NULL;
    g_autofree char *ev = NULL, *r = NULL;
    g_autoptr(GError) err = NULL;
    GAShuttle g = { 0 };
    GPid pid;
    Env e;

    if (!ga) {
        g_test_skip("qemu-ga not found (Debian package qemu-guest-agent)");
        return;
    }
    env_prepare(&e);
    chr = sock_chardev(&e, "qga0");
    args = g_strdup_printf("-device virtio-serial-pci,id=vs0,max_ports=%d %s "
                           "-device virtserialport,chardev=qga0,id=qga,"
                           "name=org.qemu.guest_agent.0", NPORTS, chr);
    env_start(&e, args, true);

    /* The agent, as a guest runs it, but on a unix socket of ours that
     * stands for /dev/virtio-ports/org.qemu.guest_agent.0. */
    ga_sock = env_path(&e, "ga-guest.sock");
    state = env_path(&e, "state");
    pidfile = env_path(&e, "qga.pid");
    log = env_path(&e, "qga.log");
    g_assert_cmpint(mkdir(state, 0700), ==, 0);
    {
        const char *argv[] = { ga, "-m", "unix-listen", "-p", ga_sock,
                               "-t", state, "-f", pidfile, "-l", log, NULL };
        g_assert(g_spawn_async(NULL, (char **)argv, NULL,
                               G_SPAWN_DO_NOT_REAP_CHILD, ga_child_setup,
                               NULL, &pid, &err));
    }

    /* The guest's driver comes up and finds the agent's port by name. */
    driver_init(&e, modern_features(), 2);
    send_ctrl(&e, 0, DEVICE_READY, 1);
    expect_ctrl(&e, 1, DEVICE_ADD, 1);
    send_ctrl(&e, 1, PORT_READY, 1);
    expect_name(&e, 1, "org.qemu.guest_agent.0");
    g.e = &e;
    g.port = 1;
    g.host_in = g_string_new("");
    g.ga_fd = peer_connect(&e, "ga-guest.sock");
    /* qemu-ga opened the port: PORT_OPEN, which management sees. */
    send_ctrl(&e, 1, PORT_OPEN, 1);
    ev = qmp_events(&e);
    g_assert(strstr(ev, "\"id\": \"qga\", \"open\": true"));
    for (unsigned i = 0; i < 8; i++) {
        QVirtBuf b = { qvirtio_alloc(4096, 16), 4096, true };
        g.rxbuf[qvirtqueue_add(&e.rx[1], &b, 1)] = b.addr;
    }
    qvirtqueue_kick(&e.rx[1]);

    /* The host side: a management client on kvmpc's chardev. */
    g.host_fd = peer_connect(&e, "qga0");
    expect_ctrl(&e, 1, PORT_OPEN, 1);
    /*
     * As a management client does: 0xff resets the agent's parser (it
     * answers that with a parse error), and the sync's answer is the
     * line after the agent's own 0xff; lines before it are stale.
     */
    peer_write_all(g.host_fd, "\xff", 1);
    peer_write_all(g.host_fd, "{\"execute\": \"guest-sync-delimited\", "
                   "\"arguments\": {\"id\": 4711}}\n", 63);
    for (r = ga_read_line(&g); !strchr(r, '\xff'); r = ga_read_line(&g)) {
        g_assert(strstr(r, "\"error\""));
        g_free(r);
    }
    g_assert(g_str_has_prefix(strchr(r, '\xff') + 1, "{\"return\": 4711}"));
    g_free(r);
    r = ga_request(&g, "{\"execute\": \"guest-ping\"}\n");
    g_assert_cmpstr(r, ==, "{\"return\": {}}");
    g_free(r);
    r = ga_request(&g, "{\"execute\": \"guest-info\"}\n");
    g_assert(strstr(r, "\"version\": \""));
    g_assert(strstr(r, "\"name\": \"guest-ping\""));
    g_assert(strstr(r, "\"supported_commands\""));
    g_free(r);
    r = ga_request(&g, "{\"execute\": \"no-such-command\"}\n");
    g_assert(strstr(r, "\"error\""));
    g_assert(strstr(r, "CommandNotFound"));
    g_free(r);
    r = NULL;

    close(g.host_fd);
    close(g.ga_fd);
    g_string_free(g.host_in, TRUE);
    /* SIGKILL: Debian's qemu-ga 7.2 can hang in a futex on its way out
     * after SIGTERM (seen once in CI: pidfile removed, SIGTERM blocked,
     * the test stuck in waitpid); its exit is not what is tested here. */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    g_spawn_close_pid(pid);
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-serial/ids", test_ids);
    g_test_add_func("/virtio-serial/bad-options", test_bad_options);
    g_test_add_func("/virtio-serial/handshake", test_handshake);
    g_test_add_func("/virtio-serial/host-connect", test_host_connect);
    g_test_add_func("/virtio-serial/guest-open-event", test_guest_open_event);
    g_test_add_func("/virtio-serial/data", test_data);
    g_test_add_func("/virtio-serial/flow-guest-to-host",
                   test_flow_guest_to_host);
    g_test_add_func("/virtio-serial/flow-host-to-guest",
                   test_flow_host_to_guest);
    g_test_add_func("/virtio-serial/bad-control", test_bad_control);
    g_test_add_func("/virtio-serial/legacy-single-port",
                   test_legacy_single_port);
    g_test_add_func("/virtio-serial/several-ports", test_several_ports);
    g_test_add_func("/virtio-serial/guest-agent", test_guest_agent);
    return g_test_run();
}
