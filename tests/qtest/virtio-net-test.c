/*
 * virtio-net-pci through libqvirtio, with the test as the network peer: a
 * "stream" netdev connects to a UNIX socket the test listens on, so every
 * frame the guest's driver sends arrives here (4-byte big-endian length,
 * then the frame) and every frame written here goes to the guest.
 * OASIS VIRTIO 1.2, 5.1; QEMU 7.2's monitor commands.
 */
#include "libqvirtio.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#define NET_TRANSITIONAL        0x1000
#define NET_MODERN              0x1041
#define F_CSUM                  0
#define F_GUEST_CSUM            1
#define F_MAC                   5
#define F_HOST_TSO4             11
#define F_MRG_RXBUF             15
#define F_STATUS                16
#define F_CTRL_VQ               17
#define F_CTRL_RX               18
#define F_CTRL_VLAN             19
#define F_CTRL_RX_EXTRA         20
#define F_MQ                    22
#define F_CTRL_MAC_ADDR         23
#define HDR                     12      /* VERSION_1 header */
#define RXBUF                   1526

static const uint8_t dev_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t bcast_frame_dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff };

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue rx, tx, ctrl;
    QMPConn *qmp;
    int sock;
    char *dir;
} Env;

/* ---- the peer side ------------------------------------------------------ */

static int listen_unix(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static bool read_full(int fd, void *buf, size_t len, int timeout_ms)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, timeout_ms) <= 0) {
            return false;
        }
        n = read(fd, (uint8_t *)buf + got, len - got);
        if (n <= 0) {
            return false;
        }
        got += n;
    }
    return true;
}

/* A frame from the guest, or -1 when none comes within @timeout_ms. */
static ssize_t peer_recv(Env *e, uint8_t *buf, size_t max, int timeout_ms)
{
    uint8_t be[4];
    uint32_t len;

    if (!read_full(e->sock, be, 4, timeout_ms)) {
        return -1;
    }
    len = (uint32_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
    g_assert_cmpuint(len, <=, max);
    g_assert(read_full(e->sock, buf, len, 5000));
    return len;
}

/* Send a frame to the guest; false when the socket would block. */
static bool peer_send(Env *e, const uint8_t *frame, size_t len, bool block)
{
    uint8_t *buf = g_malloc(len + 4);
    ssize_t n;

    buf[0] = len >> 24;
    buf[1] = len >> 16;
    buf[2] = len >> 8;
    buf[3] = len;
    memcpy(buf + 4, frame, len);
    n = send(e->sock, buf, len + 4, block ? 0 : MSG_DONTWAIT);
    g_free(buf);
    if (n < 0 && errno == EAGAIN) {
        return false;
    }
    g_assert_cmpint(n, ==, (ssize_t)len + 4);
    return true;
}

static size_t make_frame(uint8_t *f, const uint8_t *dst, uint32_t seq,
                         size_t len)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, other_mac, 6);
    f[12] = 0x88;
    f[13] = 0xb5;       /* local experimental ethertype */
    for (size_t i = 14; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + seq);
    }
    if (len >= 18) {
        f[14] = seq;
        f[15] = seq >> 8;
        f[16] = seq >> 16;
        f[17] = seq >> 24;
    }
    return len;
}

/* ---- the driver side ------------------------------------------------------ */

static void env_start(Env *e, const char *extra)
{
    g_autofree char *args = NULL, *sock = NULL, *qmp = NULL;
    int lfd, devfn;

    e->dir = g_dir_make_tmp("kvmpc-net-XXXXXX", NULL);
    sock = g_build_filename(e->dir, "net.sock", NULL);
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    lfd = listen_unix(sock);
    args = g_strdup_printf("-netdev stream,id=n0,addr.type=unix,"
                           "addr.path=%s %s -qmp unix:%s,server=on,wait=off",
                           sock, extra ? extra :
                           "-device virtio-net-pci,netdev=n0,id=nic0,"
                           "mac=52:54:00:aa:bb:cc", qmp);
    e->qts = qtest_init(args);
    e->sock = accept(lfd, NULL, NULL);
    g_assert_cmpint(e->sock, >=, 0);
    close(lfd);
    unlink(sock);
    e->qmp = qmp_connect(qmp);
    unlink(qmp);
    devfn = qvirtio_pci_find(e->qts, 0);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, true);
}

static void env_driver(Env *e, uint64_t features)
{
    qvirtio_msix_enable(&e->d, 4);
    g_assert(qvirtio_negotiate(&e->d, features |
                               QVIRTIO_BIT(QVIRTIO_F_VERSION_1)));
    g_assert_cmpint(qvirtio_set_config_vector(&e->d, 0), ==, 0);
    qvirtqueue_setup(&e->rx, &e->d, 0, 0, false);
    qvirtqueue_setup(&e->tx, &e->d, 1, 0, false);
    g_assert_cmpint(qvirtio_set_queue_vector(&e->d, 0, 1), ==, 1);
    g_assert_cmpint(qvirtio_set_queue_vector(&e->d, 1, 2), ==, 2);
    if (features & QVIRTIO_BIT(F_CTRL_VQ)) {
        qvirtqueue_setup(&e->ctrl, &e->d, 2, 0, false);
        g_assert_cmpint(qvirtio_set_queue_vector(&e->d, 2, 3), ==, 3);
    }
    qvirtio_driver_ok(&e->d);
}

#define STD_FEATURES (QVIRTIO_BIT(F_MAC) | QVIRTIO_BIT(F_MRG_RXBUF) | \
                      QVIRTIO_BIT(F_STATUS) | QVIRTIO_BIT(F_CTRL_VQ) | \
                      QVIRTIO_BIT(F_CTRL_RX) | QVIRTIO_BIT(F_CTRL_VLAN) | \
                      QVIRTIO_BIT(F_CTRL_RX_EXTRA) | \
                      QVIRTIO_BIT(F_CTRL_MAC_ADDR))

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    close(e->sock);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    rmdir(e->dir);
    g_free(e->dir);
}

static uint16_t post_rx(Env *e, uint64_t *addr, uint32_t len)
{
    QVirtBuf b = { qvirtio_alloc(len, 16), len, true };

    *addr = b.addr;
    return qvirtqueue_add(&e->rx, &b, 1);
}

/* Transmit @frame with a zero header in two buffers; wait for it back. */
static void guest_send(Env *e, const uint8_t *frame, size_t len)
{
    QVirtBuf b[2] = {
        { qvirtio_alloc(HDR, 16), HDR, false },
        { qvirtio_alloc(len, 16), len, false },
    };
    uint16_t head, id;
    uint32_t used;

    qtest_memset(e->qts, b[0].addr, 0, HDR);
    qtest_memwrite(e->qts, b[1].addr, frame, len);
    head = qvirtqueue_add(&e->tx, b, 2);
    qvirtqueue_kick(&e->tx);
    g_assert(qvirtqueue_get_used(&e->tx, &id, &used, 5000));
    g_assert_cmpint(id, ==, head);
}

/* A control command; returns the ack byte. */
static uint8_t ctrl_cmd(Env *e, uint8_t cls, uint8_t cmd, const void *data,
                        size_t len)
{
    QVirtBuf b[3] = {
        { qvirtio_alloc(2, 16), 2, false },
        { qvirtio_alloc(len ? len : 1, 16), len, false },
        { qvirtio_alloc(1, 16), 1, true },
    };
    uint8_t hdr[2] = { cls, cmd };
    uint16_t id;
    uint32_t used;

    qtest_memwrite(e->qts, b[0].addr, hdr, 2);
    if (len) {
        qtest_memwrite(e->qts, b[1].addr, data, len);
    }
    qtest_writeb(e->qts, b[2].addr, 0xee);
    if (len) {
        qvirtqueue_add(&e->ctrl, b, 3);
    } else {
        QVirtBuf b2[2] = { b[0], b[2] };
        qvirtqueue_add(&e->ctrl, b2, 2);
    }
    qvirtqueue_kick(&e->ctrl);
    g_assert(qvirtqueue_get_used(&e->ctrl, &id, &used, 5000));
    g_assert_cmpint(used, ==, 1);
    return qtest_readb(e->qts, b[len ? 2 : 2].addr);
}

static uint16_t config_status(Env *e)
{
    return qvirtio_config_readl(&e->d, 4) >> 16;
}

/* A BAR's size, probed as firmware does (all ones, read back, restore). */
static uint32_t bar_size(Env *e, int bar)
{
    uint8_t off = 0x10 + 4 * bar;
    uint32_t saved = qpci_cfg_readl(e->qts, e->d.devfn, off);
    uint32_t mask;

    qpci_cfg_writel(e->qts, e->d.devfn, off, 0xffffffff);
    mask = qpci_cfg_readl(e->qts, e->d.devfn, off);
    qpci_cfg_writel(e->qts, e->d.devfn, off, saved);
    mask &= (saved & 1) ? ~3u : ~15u;
    return ~mask + 1;
}

/* ---- tests --------------------------------------------------------------- */

static void test_ids_config(void)
{
    Env e = { 0 };
    uint32_t w0, w1;

    env_start(&e, NULL);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 2), ==, NET_TRANSITIONAL);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x0a), ==, 0x0200);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2c), ==, 0x1af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2e), ==, 1);
    /* the iPXE ROM through the ROM BAR (efi-virtio.rom: 55 aa) */
    qpci_cfg_writel(e.qts, e.d.devfn, 0x30, 0xfffff800);
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0x30) & 0xfffff800, !=,
                    0);
    qpci_cfg_writel(e.qts, e.d.devfn, 0x30, 0xd0000001);
    g_assert_cmphex(qtest_readw(e.qts, 0xd0000000), ==, 0xaa55);
    qpci_cfg_writel(e.qts, e.d.devfn, 0x30, 0);
    /* features over a socket backend: no offloads, the rest as QEMU */
    g_assert(e.d.features & QVIRTIO_BIT(F_MAC));
    g_assert(e.d.features & QVIRTIO_BIT(F_MRG_RXBUF));
    g_assert(e.d.features & QVIRTIO_BIT(F_STATUS));
    g_assert(e.d.features & QVIRTIO_BIT(F_CTRL_VQ));
    g_assert(e.d.features & QVIRTIO_BIT(F_CTRL_MAC_ADDR));
    g_assert(!(e.d.features & (1ULL << 63)));   /* SPEED_DUPLEX: asked */
    g_assert(!(e.d.features & QVIRTIO_BIT(F_CSUM)));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_GUEST_CSUM)));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_HOST_TSO4)));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_MQ)));
    /* config: mac, status LINK_UP, and nothing after status (QEMU 7.2's
     * 8 bytes: reads past them give all ones) */
    w0 = qvirtio_config_readl(&e.d, 0);
    w1 = qvirtio_config_readl(&e.d, 4);
    g_assert_cmphex(w0, ==, 0xaa005452);
    g_assert_cmphex(w1 & 0xffff, ==, 0xccbb);
    g_assert_cmphex(w1 >> 16, ==, 1);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8), ==, 0xffffffff);
    /* so the legacy I/O BAR is QEMU's 32 bytes (24 + 8, a power of 2) */
    g_assert_cmpint(bar_size(&e, 0), ==, 32);
    env_end(&e);

    /* speed= or duplex= offer SPEED_DUPLEX and the config grows to 17
     * bytes; mq=on offers MQ even with one queue pair (QEMU 7.2) */
    e = (Env){ 0 };
    env_start(&e, "-device virtio-net-pci,netdev=n0,speed=1000,"
              "duplex=full,mq=on");
    g_assert(e.d.features & (1ULL << 63));
    g_assert(e.d.features & QVIRTIO_BIT(F_MQ));
    g_assert_cmphex(qvirtio_config_readl(&e.d, 8) & 0xffff, ==, 1);
    g_assert_cmpint(qvirtio_config_readl(&e.d, 12), ==, 1000);
    g_assert_cmphex(qvirtio_config_readb(&e.d, 16), ==, 1);
    g_assert_cmpint(bar_size(&e, 0), ==, 64);
    env_end(&e);

    /* modern-only identity, default MAC */
    e = (Env){ 0 };
    env_start(&e, "-device virtio-net,netdev=n0,disable-legacy=on");
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 2), ==, NET_MODERN);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 0), ==, 0x12005452);
    env_end(&e);
}

static void test_tx_rx(void)
{
    Env e = { 0 };
    uint8_t frame[1514], got[2048], hdr[HDR];
    uint64_t addr;
    uint16_t head, id;
    uint32_t len;
    ssize_t n;

    env_start(&e, NULL);
    env_driver(&e, STD_FEATURES);
    /* guest -> peer: the header stripped, the frame byte-exact */
    make_frame(frame, other_mac, 1, 1514);
    guest_send(&e, frame, 1514);
    n = peer_recv(&e, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 1514);
    g_assert(!memcmp(got, frame, 1514));
    g_assert(qvirtio_msix_fired(&e.d, 2));

    /* peer -> guest: a zero header with num_buffers 1, then the frame */
    head = post_rx(&e, &addr, RXBUF);
    qvirtqueue_kick(&e.rx);
    make_frame(frame, dev_mac, 2, 60);
    peer_send(&e, frame, 60, true);
    g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(len, ==, HDR + 60);
    qtest_memread(e.qts, addr, hdr, HDR);
    g_assert_cmpint(hdr[0] | hdr[1] | hdr[2] | hdr[3], ==, 0);
    g_assert_cmpint(hdr[10] | hdr[11] << 8, ==, 1);
    qtest_memread(e.qts, addr + HDR, got, 60);
    g_assert(!memcmp(got, frame, 60));
    g_assert(qvirtio_msix_fired(&e.d, 1));
    env_end(&e);
}

static void test_mergeable(void)
{
    Env e = { 0 };
    uint8_t frame[3000], got[3000 + HDR];
    uint64_t addr[4];
    uint16_t head[4], id;
    uint32_t len, total = 0;
    uint8_t hdr[HDR];

    env_start(&e, NULL);
    env_driver(&e, STD_FEATURES);
    for (int i = 0; i < 4; i++) {
        head[i] = post_rx(&e, &addr[i], 1000);
    }
    qvirtqueue_kick(&e.rx);
    make_frame(frame, dev_mac, 3, sizeof(frame));
    peer_send(&e, frame, sizeof(frame), true);
    for (int i = 0; i < 4; i++) {
        g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
        g_assert_cmpint(id, ==, head[i]);
        g_assert_cmpint(len, ==, i < 3 ? 1000 : 12);
        qtest_memread(e.qts, addr[i], got + total, len);
        total += len;
    }
    g_assert_cmpint(total, ==, HDR + 3000);
    memcpy(hdr, got, HDR);
    g_assert_cmpint(hdr[10] | hdr[11] << 8, ==, 4);
    g_assert(!memcmp(got + HDR, frame, 3000));
    env_end(&e);
}

/*
 * No receive buffers: kvmpc stops reading the socket (the kernel's buffer
 * fills and the sender gets EAGAIN), and once buffers come every frame
 * arrives, in order.
 */
static void test_backpressure(void)
{
    Env e = { 0 };
    uint8_t frame[1000];
    unsigned sent = 0, got = 0;
    int sndbuf = 65536;

    env_start(&e, NULL);
    setsockopt(e.sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    env_driver(&e, STD_FEATURES);
    for (;;) {
        make_frame(frame, dev_mac, sent, sizeof(frame));
        if (!peer_send(&e, frame, sizeof(frame), false)) {
            /* give kvmpc a moment: it must not drain the socket */
            g_usleep(100 * 1000);
            if (!peer_send(&e, frame, sizeof(frame), false)) {
                break;
            }
        }
        sent++;
        g_assert_cmpuint(sent, <, 20000);
    }
    g_assert_cmpuint(sent, >, 10);
    uint64_t pool[128];
    for (unsigned i = 0; i < 128; i++) {
        pool[i] = qvirtio_alloc(RXBUF, 16);
    }
    while (got < sent) {
        unsigned batch = MIN(sent - got, 128u);
        uint64_t *addr = pool;
        uint16_t head[128], id;
        uint32_t len;

        for (unsigned i = 0; i < batch; i++) {
            QVirtBuf b = { pool[i], RXBUF, true };
            head[i] = qvirtqueue_add(&e.rx, &b, 1);
        }
        qvirtqueue_kick(&e.rx);
        for (unsigned i = 0; i < batch; i++) {
            uint8_t f[1000];
            g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
            g_assert_cmpint(id, ==, head[i]);
            g_assert_cmpint(len, ==, HDR + 1000);
            qtest_memread(e.qts, addr[i] + HDR, f, sizeof(f));
            make_frame(frame, dev_mac, got, sizeof(frame));
            g_assert(!memcmp(f, frame, sizeof(frame)));
            got++;
        }
    }
    env_end(&e);
}

/*
 * The other way: the peer reads nothing, so the socket and kvmpc's
 * transmit staging fill up and the device stops completing transmit
 * descriptors; once the peer reads, every frame arrives in order and
 * byte-exact, and every descriptor completes.
 */
static void test_tx_backpressure(void)
{
    enum { SLOTS = 64, LEN = 1514 };
    Env e = { 0 };
    uint64_t hdr[SLOTS], data[SLOTS];
    uint8_t frame[LEN], got[2048];
    unsigned queued = 0, done = 0;
    bool stalled = false;
    int rcvbuf = 16384;

    env_start(&e, NULL);
    setsockopt(e.sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    env_driver(&e, STD_FEATURES);
    for (unsigned i = 0; i < SLOTS; i++) {
        hdr[i] = qvirtio_alloc(HDR, 16);
        data[i] = qvirtio_alloc(LEN, 16);
        qtest_memset(e.qts, hdr[i], 0, HDR);
    }
    /* batches of SLOTS frames, each waited for, until one stalls */
    while (!stalled) {
        uint16_t id;
        uint32_t len;

        for (unsigned i = 0; i < SLOTS; i++) {
            QVirtBuf b[2] = {
                { hdr[i], HDR, false }, { data[i], LEN, false },
            };
            make_frame(frame, other_mac, queued + i, LEN);
            qtest_memwrite(e.qts, data[i], frame, LEN);
            qvirtqueue_add(&e.tx, b, 2);
        }
        queued += SLOTS;
        qvirtqueue_kick(&e.tx);
        while (done < queued) {
            if (!qvirtqueue_get_used(&e.tx, &id, &len, 1000)) {
                stalled = true;
                break;
            }
            done++;
        }
        g_assert_cmpuint(queued, <, 64 * SLOTS);   /* 6 MiB: it must stop */
    }
    g_assert_cmpuint(done, <, queued);
    /* everything in order at the peer; the rest completes meanwhile */
    for (unsigned i = 0; i < queued; i++) {
        ssize_t n = peer_recv(&e, got, sizeof(got), 5000);

        g_assert_cmpint(n, ==, LEN);
        make_frame(frame, other_mac, i, LEN);
        g_assert(!memcmp(got, frame, LEN));
    }
    while (done < queued) {
        uint16_t id;
        uint32_t len;

        g_assert(qvirtqueue_get_used(&e.tx, &id, &len, 5000));
        done++;
    }
    env_end(&e);
}

/*
 * A source that migrates while its transmit queue's notifications are off
 * (VRING_USED_F_NO_NOTIFY in guest memory) with a frame queued that the
 * guest therefore did not kick: the destination sends it once it runs.
 */
static void test_tx_migration(void)
{
    g_autofree char *mig = NULL, *cmd = NULL, *args = NULL, *sock = NULL;
    Env e = { 0 };
    QVirtBuf b[2];
    uint8_t frame[200], got[256];
    int lfd, dsock;
    QTestState *d;

    env_start(&e, NULL);
    env_driver(&e, STD_FEATURES);
    b[0] = (QVirtBuf){ qvirtio_alloc(HDR, 16), HDR, false };
    b[1] = (QVirtBuf){ qvirtio_alloc(sizeof(frame), 16), sizeof(frame),
                       false };
    qtest_memset(e.qts, b[0].addr, 0, HDR);
    make_frame(frame, other_mac, 77, sizeof(frame));
    qtest_memwrite(e.qts, b[1].addr, frame, sizeof(frame));
    qtest_writew(e.qts, e.tx.used, 1);      /* as a pass left it */
    qvirtqueue_add(&e.tx, b, 2);            /* and no kick */
    g_assert_cmpint(peer_recv(&e, got, sizeof(got), 200), ==, -1);

    mig = g_build_filename(e.dir, "mig", NULL);
    cmd = g_strdup_printf("{\"execute\":\"migrate\",\"arguments\":"
                          "{\"uri\":\"file:%s\"}}", mig);
    g_free(qmp_cmd(e.qmp, cmd));
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\":\"query-migrate\"}");
        if (strstr(r, "\"completed\"")) {
            break;
        }
        g_usleep(10000);
    }
    g_assert_cmpint(peer_recv(&e, got, sizeof(got), 100), ==, -1);

    sock = g_build_filename(e.dir, "net2.sock", NULL);
    lfd = listen_unix(sock);
    args = g_strdup_printf("-netdev stream,id=n0,addr.type=unix,addr.path=%s "
                           "-device virtio-net-pci,netdev=n0,id=nic0,"
                           "mac=52:54:00:aa:bb:cc -incoming file:%s", sock,
                           mig);
    d = qtest_init(args);
    dsock = accept(lfd, NULL, NULL);
    g_assert_cmpint(dsock, >=, 0);
    close(lfd);
    unlink(sock);
    {
        Env de = { .sock = dsock };
        ssize_t n;

        /* the announcement's RARP frames (0x8035) come too */
        do {
            n = peer_recv(&de, got, sizeof(got), 5000);
        } while (n == 60 && (got[12] << 8 | got[13]) == 0x8035);
        g_assert_cmpint(n, ==, sizeof(frame));
        g_assert(!memcmp(got, frame, sizeof(frame)));
    }
    close(dsock);
    g_assert_cmpint(qtest_quit(d), ==, 0);
    unlink(mig);
    env_end(&e);
}

static void test_ctrl_rx_filter(void)
{
    Env e = { 0 };
    uint8_t frame[64], on = 1, off = 0;
    uint64_t addr;
    uint16_t head, id;
    uint32_t len;
    g_autofree char *r = NULL, *ev = NULL, *ev2 = NULL;
    uint8_t table[4 + 6 + 4];
    uint16_t vid = 5;

    env_start(&e, NULL);
    env_driver(&e, STD_FEATURES);
    g_free(qmp_take_events(e.qmp));
    /* reset state is promiscuous (QEMU) */
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-rx-filter\", \"arguments\": "
                "{\"name\": \"nic0\"}}");
    g_assert(strstr(r, "\"promiscuous\": true"));
    g_assert(strstr(r, "\"main-mac\": \"52:54:00:aa:bb:cc\""));
    g_free(r);
    g_assert_cmpint(ctrl_cmd(&e, 0, 0, &off, 1), ==, 0);   /* promisc off */
    g_assert_cmpint(ctrl_cmd(&e, 0, 1, &on, 1), ==, 0);    /* allmulti on */
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-version\"}");
    ev = qmp_take_events(e.qmp);
    /* one event only until the filter is queried again */
    g_assert(strstr(ev, "NIC_RX_FILTER_CHANGED"));
    g_assert(strstr(ev, "\"name\": \"nic0\""));
    g_assert(!strstr(strstr(ev, "NIC_RX_FILTER_CHANGED") + 1,
                     "NIC_RX_FILTER_CHANGED"));
    g_free(r);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-rx-filter\"}");
    g_assert(strstr(r, "\"promiscuous\": false"));
    g_assert(strstr(r, "\"multicast\": \"all\""));
    g_assert(strstr(r, "\"vlan\": \"normal\""));
    g_free(r);

    /* a frame for another MAC is dropped, one for ours arrives */
    head = post_rx(&e, &addr, RXBUF);
    qvirtqueue_kick(&e.rx);
    make_frame(frame, other_mac, 7, 64);
    peer_send(&e, frame, 64, true);
    make_frame(frame, dev_mac, 8, 64);
    peer_send(&e, frame, 64, true);
    g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(qtest_readb(e.qts, addr + HDR + 14), ==, 8);

    /* MAC table: 02:00:00:00:00:01 as unicast; event again */
    table[0] = 1; table[1] = table[2] = table[3] = 0;
    memcpy(table + 4, other_mac, 6);
    memset(table + 10, 0, 4);
    g_assert_cmpint(ctrl_cmd(&e, 1, 0, table, sizeof(table)), ==, 0);
    /* a table whose counts do not match its length is refused */
    table[0] = 9;
    g_assert_cmpint(ctrl_cmd(&e, 1, 0, table, sizeof(table)), ==, 1);
    head = post_rx(&e, &addr, RXBUF);
    qvirtqueue_kick(&e.rx);
    make_frame(frame, other_mac, 9, 64);
    peer_send(&e, frame, 64, true);
    g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
    g_assert_cmpint(qtest_readb(e.qts, addr + HDR + 14), ==, 9);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-rx-filter\"}");
    g_assert(strstr(r, "\"unicast-table\": [\"02:00:00:00:00:01\"]"));
    g_free(r);
    ev2 = qmp_take_events(e.qmp);
    g_assert(strstr(ev2, "NIC_RX_FILTER_CHANGED"));

    /* VLAN filter: tag 5 dropped until VLAN_ADD 5 */
    head = post_rx(&e, &addr, RXBUF);
    qvirtqueue_kick(&e.rx);
    make_frame(frame, dev_mac, 10, 64);
    frame[12] = 0x81; frame[13] = 0x00; frame[14] = 0; frame[15] = 5;
    peer_send(&e, frame, 64, true);
    g_assert(!qvirtqueue_get_used(&e.rx, &id, &len, 300));
    g_assert_cmpint(ctrl_cmd(&e, 2, 0, &vid, 2), ==, 0);
    peer_send(&e, frame, 64, true);
    g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-rx-filter\"}");
    g_assert(strstr(r, "\"vlan-table\": [5]"));
    g_free(r);
    /* unknown class, bad VLAN id, MQ without the feature: errors */
    g_assert_cmpint(ctrl_cmd(&e, 99, 0, &on, 1), ==, 1);
    vid = 4096;
    g_assert_cmpint(ctrl_cmd(&e, 2, 0, &vid, 2), ==, 1);
    g_assert_cmpint(ctrl_cmd(&e, 4, 0, &vid, 2), ==, 1);
    /* MAC_ADDR_SET changes main-mac */
    g_assert_cmpint(ctrl_cmd(&e, 1, 1, other_mac, 6), ==, 0);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-rx-filter\"}");
    g_assert(strstr(r, "\"main-mac\": \"02:00:00:00:00:01\""));
    g_free(r);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-rx-filter\", \"arguments\": "
                "{\"name\": \"nope\"}}");
    g_assert(strstr(r, "invalid net client name: nope"));
    env_end(&e);
}

static void test_set_link(void)
{
    Env e = { 0 };
    uint8_t frame[100], got[200];
    g_autofree char *r = NULL, *r2 = NULL, *r3 = NULL, *hmp = NULL;

    env_start(&e, NULL);
    env_driver(&e, STD_FEATURES);
    (void)qvirtio_msix_fired(&e.d, 0);
    r = qmp_cmd(e.qmp, "{\"execute\": \"set_link\", \"arguments\": "
                "{\"name\": \"nic0\", \"up\": false}}");
    g_assert(strstr(r, "\"return\""));
    g_assert_cmphex(config_status(&e) & 1, ==, 0);
    g_assert(qvirtio_msix_fired(&e.d, 0));
    /* frames sent while the link is down are lost */
    make_frame(frame, other_mac, 1, 100);
    guest_send(&e, frame, 100);
    g_assert_cmpint(peer_recv(&e, got, sizeof(got), 200), ==, -1);
    hmp = qmp_cmd(e.qmp, "{\"execute\": \"human-monitor-command\", "
                  "\"arguments\": {\"command-line\": \"set_link n0 on\"}}");
    g_assert_cmphex(config_status(&e) & 1, ==, 1);
    g_assert(qvirtio_msix_fired(&e.d, 0));
    make_frame(frame, other_mac, 2, 100);
    guest_send(&e, frame, 100);
    g_assert_cmpint(peer_recv(&e, got, sizeof(got), 5000), ==, 100);
    g_assert_cmpint(got[14], ==, 2);
    r2 = qmp_cmd(e.qmp, "{\"execute\": \"set_link\", \"arguments\": "
                 "{\"name\": \"nothere\", \"up\": false}}");
    g_assert(strstr(r2, "DeviceNotFound"));
    r3 = qmp_cmd(e.qmp, "{\"execute\": \"human-monitor-command\", "
                 "\"arguments\": {\"command-line\": \"info network\"}}");
    g_assert(strstr(r3, "nic0: index=0,type=nic,model=virtio-net-pci,"
                        "macaddr=52:54:00:aa:bb:cc"));
    g_assert(strstr(r3, " \\\\ n0: index=0,type=stream,"));
    env_end(&e);
}

/* The stream netdev on hub 1, the NIC on another port of it. */
static void test_hub(void)
{
    Env e = { 0 };
    uint8_t frame[80], got[200];
    uint64_t addr;
    uint16_t id;
    uint32_t len;
    g_autofree char *r = NULL;

    env_start(&e, "-netdev hubport,id=p0,hubid=1,netdev=n0 "
                  "-netdev hubport,id=p1,hubid=1 "
                  "-device virtio-net-pci,netdev=p1,id=nic0");
    env_driver(&e, STD_FEATURES);
    make_frame(frame, other_mac, 4, 80);
    guest_send(&e, frame, 80);
    g_assert_cmpint(peer_recv(&e, got, sizeof(got), 5000), ==, 80);
    g_assert(!memcmp(got, frame, 80));
    post_rx(&e, &addr, RXBUF);
    qvirtqueue_kick(&e.rx);
    make_frame(frame, dev_mac, 5, 80);
    peer_send(&e, frame, 80, true);
    g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
    g_assert_cmpint(len, ==, HDR + 80);
    r = qmp_cmd(e.qmp, "{\"execute\": \"human-monitor-command\", "
                "\"arguments\": {\"command-line\": \"info network\"}}");
    g_assert(strstr(r, "hub 1"));
    g_assert(strstr(r, " \\\\ p0: n0: index=0,type=stream"));
    env_end(&e);
}

static void test_netdev_add_del(void)
{
    Env e = { 0 };
    g_autofree char *r1 = NULL, *r2 = NULL, *r3 = NULL, *r4 = NULL,
                    *r5 = NULL;

    env_start(&e, NULL);
    r1 = qmp_cmd(e.qmp, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"socket\", \"id\": \"s1\", "
                 "\"listen\": \"127.0.0.1:0\"}}");
    g_assert(strstr(r1, "\"return\""));
    r2 = qmp_cmd(e.qmp, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"socket\", \"id\": \"s1\", "
                 "\"listen\": \"127.0.0.1:0\"}}");
    g_assert(strstr(r2, "Duplicate ID 's1' for netdev"));
    r3 = qmp_cmd(e.qmp, "{\"execute\": \"netdev_del\", \"arguments\": "
                 "{\"id\": \"s1\"}}");
    g_assert(strstr(r3, "\"return\""));
    r4 = qmp_cmd(e.qmp, "{\"execute\": \"netdev_del\", \"arguments\": "
                 "{\"id\": \"s1\"}}");
    g_assert(strstr(r4, "DeviceNotFound"));
    r5 = qmp_cmd(e.qmp, "{\"execute\": \"netdev_add\", \"arguments\": "
                 "{\"type\": \"bogus\", \"id\": \"s2\"}}");
    g_assert(strstr(r5, "error"));
    env_end(&e);
}

/* Hostile buffers: NEEDS_RESET, kvmpc stays up, a reset recovers. */
static void test_malformed(void)
{
    Env e = { 0 };
    uint8_t frame[64];
    QVirtBuf small = { 0, 4, false };
    uint64_t addr;
    uint16_t id;
    uint32_t len;
    g_autofree char *r = NULL;

    env_start(&e, NULL);
    env_driver(&e, STD_FEATURES);
    /* a transmit chain shorter than the header */
    small.addr = qvirtio_alloc(4, 16);
    qvirtqueue_add(&e.tx, &small, 1);
    qvirtqueue_kick(&e.tx);
    g_assert(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET);
    r = qmp_cmd(e.qmp, "{\"execute\": \"query-status\"}");
    g_assert(strstr(r, "\"return\""));

    /* after a reset it works; then a receive buffer too small for the
     * header breaks it again */
    qvirtio_reset(&e.d);
    qvirtio_mem_reset();
    env_driver(&e, STD_FEATURES);
    small.addr = qvirtio_alloc(4, 16);
    small.write = true;
    qvirtqueue_add(&e.rx, &small, 1);
    qvirtqueue_kick(&e.rx);
    make_frame(frame, dev_mac, 1, 64);
    peer_send(&e, frame, 64, true);
    for (int i = 0; i < 500 && !(qvirtio_get_status(&e.d) &
                                 QVIRTIO_S_NEEDS_RESET); i++) {
        g_usleep(10 * 1000);
    }
    g_assert(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET);

    /* a buffer outside RAM */
    qvirtio_reset(&e.d);
    qvirtio_mem_reset();
    env_driver(&e, STD_FEATURES);
    {
        QVirtBuf bad = { 0xfee00000ULL, 2048, true };
        qvirtqueue_add(&e.rx, &bad, 1);
        qvirtqueue_kick(&e.rx);
        peer_send(&e, frame, 64, true);
        for (int i = 0; i < 500 && !(qvirtio_get_status(&e.d) &
                                     QVIRTIO_S_NEEDS_RESET); i++) {
            g_usleep(10 * 1000);
        }
        g_assert(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET);
    }
    /* and a good exchange after the last reset */
    qvirtio_reset(&e.d);
    qvirtio_mem_reset();
    env_driver(&e, STD_FEATURES);
    post_rx(&e, &addr, RXBUF);
    qvirtqueue_kick(&e.rx);
    peer_send(&e, frame, 64, true);
    g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
    g_assert_cmpint(len, ==, HDR + 64);
    env_end(&e);
}

/* Two kvmpc processes joined by -netdev socket listen=/connect=. */
static void driver_up(QTestState *qts, QVirtioDev *d, QVirtQueue *rx,
                      QVirtQueue *tx)
{
    int devfn = qvirtio_pci_find(qts, NET_TRANSITIONAL);

    g_assert_cmpint(devfn, >=, 0);
    qvirtio_pci_init(d, qts, devfn, true);
    qvirtio_msix_enable(d, 4);
    g_assert(qvirtio_negotiate(d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                               QVIRTIO_BIT(F_MAC) |
                               QVIRTIO_BIT(F_MRG_RXBUF)));
    qvirtqueue_setup(rx, d, 0, 0, false);
    qvirtqueue_setup(tx, d, 1, 0, false);
    qvirtio_driver_ok(d);
}

static void test_two_processes(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    g_autofree char *args_a = NULL, *args_b = NULL;
    QTestState *qa, *qb;
    QVirtioDev da, db;
    QVirtQueue rxa, txa, rxb, txb;
    uint8_t frame[1200], got[1200];
    uint64_t addr;
    uint16_t id;
    uint32_t len;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    getsockname(fd, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    close(fd);
    args_a = g_strdup_printf("-netdev socket,id=s,listen=127.0.0.1:%d "
                             "-device virtio-net-pci,netdev=s", port);
    args_b = g_strdup_printf("-netdev socket,id=s,connect=127.0.0.1:%d "
                             "-device virtio-net-pci,netdev=s,"
                             "mac=52:54:00:aa:bb:cc", port);
    qa = qtest_init(args_a);
    qb = qtest_init(args_b);
    qvirtio_mem_reset();
    driver_up(qa, &da, &rxa, &txa);
    driver_up(qb, &db, &rxb, &txb);

    /* B posts a buffer, A transmits: the frame crosses byte-exact */
    {
        QVirtBuf b = { qvirtio_alloc(2048, 16), 2048, true };
        addr = b.addr;
        qvirtqueue_add(&rxb, &b, 1);
        qvirtqueue_kick(&rxb);
    }
    make_frame(frame, dev_mac, 77, sizeof(frame));
    {
        QVirtBuf b = { qvirtio_alloc(HDR + sizeof(frame), 16),
                       HDR + sizeof(frame), false };
        qtest_memset(qa, b.addr, 0, HDR);
        qtest_memwrite(qa, b.addr + HDR, frame, sizeof(frame));
        qvirtqueue_add(&txa, &b, 1);
        qvirtqueue_kick(&txa);
        g_assert(qvirtqueue_get_used(&txa, &id, &len, 5000));
    }
    g_assert(qvirtqueue_get_used(&rxb, &id, &len, 5000));
    g_assert_cmpint(len, ==, HDR + sizeof(frame));
    qtest_memread(qb, addr + HDR, got, sizeof(frame));
    g_assert(!memcmp(got, frame, sizeof(frame)));

    /* and back */
    {
        QVirtBuf b = { qvirtio_alloc(2048, 16), 2048, true };
        addr = b.addr;
        qvirtqueue_add(&rxa, &b, 1);
        qvirtqueue_kick(&rxa);
    }
    make_frame(frame, bcast_frame_dst, 78, 100);
    {
        QVirtBuf b = { qvirtio_alloc(HDR + 100, 16), HDR + 100, false };
        qtest_memset(qb, b.addr, 0, HDR);
        qtest_memwrite(qb, b.addr + HDR, frame, 100);
        qvirtqueue_add(&txb, &b, 1);
        qvirtqueue_kick(&txb);
        g_assert(qvirtqueue_get_used(&txb, &id, &len, 5000));
    }
    g_assert(qvirtqueue_get_used(&rxa, &id, &len, 5000));
    g_assert_cmpint(len, ==, HDR + 100);
    qtest_memread(qa, addr + HDR, got, 100);
    g_assert(!memcmp(got, frame, 100));
    g_assert_cmpint(qtest_quit(qb), ==, 0);
    g_assert_cmpint(qtest_quit(qa), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-net/ids-config", test_ids_config);
    g_test_add_func("/virtio-net/tx-rx", test_tx_rx);
    g_test_add_func("/virtio-net/mergeable", test_mergeable);
    g_test_add_func("/virtio-net/backpressure", test_backpressure);
    g_test_add_func("/virtio-net/tx-backpressure", test_tx_backpressure);
    g_test_add_func("/virtio-net/tx-migration", test_tx_migration);
    g_test_add_func("/virtio-net/ctrl-rx-filter", test_ctrl_rx_filter);
    g_test_add_func("/virtio-net/set-link", test_set_link);
    g_test_add_func("/virtio-net/hub", test_hub);
    g_test_add_func("/virtio-net/netdev-add-del", test_netdev_add_del);
    g_test_add_func("/virtio-net/malformed", test_malformed);
    g_test_add_func("/virtio-net/two-processes", test_two_processes);
    return g_test_run();
}
