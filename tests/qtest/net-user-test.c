/*
 * The user backend (libslirp) behind virtio-net-pci, with this program
 * as the guest's network stack: DHCP DISCOVER/REQUEST for a lease, ARP
 * and ping of the gateway 10.0.2.2, a DNS query to 10.0.2.3, a TFTP read
 * from tftp=, and a TCP connection from 127.0.0.1 through hostfwd= to a
 * minimal TCP listener here; HMP hostfwd_add/hostfwd_remove.
 */
#include "libqvirtio.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HDR             12
#define RXBUF           2048
#define NRX             64

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
#define IP(a, b, c, d)  ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define GUEST_IP        IP(10, 0, 2, 15)
#define GW_IP           IP(10, 0, 2, 2)
#define DNS_IP          IP(10, 0, 2, 3)

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue rx, tx;
    uint64_t rxbuf[NRX];
    uint16_t rxhead[NRX];
    unsigned rxnext;
    QMPConn *qmp;
    char *dir;
    int hostport;
} Env;

/* ---- frames ---------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static uint16_t get16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, mac, 6);
    put16(f + 12, type);
    return 14;
}

/* IPv4 header at @p for @plen payload bytes; returns its length. */
static size_t ipv4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst,
                   size_t plen)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, 20 + plen);
    put16(p + 4, 0x1234);
    p[8] = 64;
    p[9] = proto;
    put32(p + 12, src);
    put32(p + 16, dst);
    put16(p + 10, csum_fold(csum_add(0, p, 20)));
    return 20;
}

static size_t udp(uint8_t *f, const uint8_t *dmac, uint32_t src, uint32_t dst,
                  uint16_t sport, uint16_t dport, const void *data,
                  size_t len)
{
    size_t o = eth(f, dmac, 0x0800);
    uint8_t *u;

    o += ipv4(f + o, 17, src, dst, 8 + len);
    u = f + o;
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, 8 + len);
    put16(u + 6, 0);        /* no checksum (allowed for IPv4) */
    memcpy(u + 8, data, len);
    return o + 8 + len;
}

static size_t tcp(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
                  uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                  const void *data, size_t len)
{
    size_t o = eth(f, gw_mac, 0x0800);
    uint8_t pseudo[12];
    uint8_t *t;
    uint32_t sum;

    o += ipv4(f + o, 6, src, dst, 20 + len);
    t = f + o;
    memset(t, 0, 20);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    if (len) {
        memcpy(t + 20, data, len);
    }
    put32(pseudo, src);
    put32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, 20 + len);
    sum = csum_add(csum_add(0, pseudo, 12), t, 20 + len);
    put16(t + 16, csum_fold(sum));
    return o + 20 + len;
}

/* ---- the device ---------------------------------------------------------------- */

static void send_frame(Env *e, const uint8_t *f, size_t len)
{
    QVirtBuf b = { qvirtio_alloc(HDR + len, 16), HDR + len, false };
    uint16_t id;
    uint32_t used;

    qtest_memset(e->qts, b.addr, 0, HDR);
    qtest_memwrite(e->qts, b.addr + HDR, f, len);
    qvirtqueue_add(&e->tx, &b, 1);
    qvirtqueue_kick(&e->tx);
    g_assert(qvirtqueue_get_used(&e->tx, &id, &used, 5000));
}

static void answer_arp(Env *e, const uint8_t *f, size_t len);

/*
 * The next frame from slirp, waiting up to @ms (stepping the virtual
 * clock so slirp's timers run).  ARP requests for our address are
 * answered on the way.  Returns its length or 0.
 */
static size_t recv_frame(Env *e, uint8_t *f, unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000LL;

    while (g_get_monotonic_time() < end) {
        uint16_t id;
        uint32_t len;
        unsigned slot = e->rxnext;

        if (!qvirtqueue_get_used(&e->rx, &id, &len, 20)) {
            qtest_clock_step(e->qts, 10 * 1000 * 1000);
            continue;
        }
        g_assert_cmpint(id, ==, e->rxhead[slot]);
        g_assert_cmpuint(len, >, HDR);
        len -= HDR;
        qtest_memread(e->qts, e->rxbuf[slot] + HDR, f, len);
        /* give the buffer back */
        {
            QVirtBuf b = { e->rxbuf[slot], RXBUF, true };
            e->rxhead[slot] = qvirtqueue_add(&e->rx, &b, 1);
            qvirtqueue_kick(&e->rx);
        }
        e->rxnext = (slot + 1) % NRX;
        if (get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
            get32(f + 38) == GUEST_IP) {
            answer_arp(e, f, len);
            continue;
        }
        return len;
    }
    return 0;
}

static void answer_arp(Env *e, const uint8_t *req, size_t len)
{
    uint8_t f[64] = { 0 };
    size_t o = eth(f, req + 6, 0x0806);

    put16(f + o, 1);
    put16(f + o + 2, 0x0800);
    f[o + 4] = 6;
    f[o + 5] = 4;
    put16(f + o + 6, 2);
    memcpy(f + o + 8, mac, 6);
    put32(f + o + 14, GUEST_IP);
    memcpy(f + o + 18, req + 22, 6);
    memcpy(f + o + 24, req + 28, 4);
    send_frame(e, f, 60);
}

/* Wait for an IPv4 frame of @proto (and UDP/TCP source port, 0: any). */
static size_t recv_ip(Env *e, uint8_t *f, uint8_t proto, uint16_t sport,
                      unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000LL;

    while (g_get_monotonic_time() < end) {
        size_t len = recv_frame(e, f, 200);
        if (len < 34 || get16(f + 12) != 0x0800 || f[23] != proto) {
            continue;
        }
        if (sport && get16(f + 34) != sport) {
            continue;
        }
        return len;
    }
    return 0;
}

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    getsockname(fd, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void env_start(Env *e)
{
    g_autofree char *args = NULL, *qmp = NULL, *file = NULL;
    g_autofree uint8_t *data = g_malloc(700);
    int devfn;

    for (int i = 0; i < 700; i++) {
        data[i] = i * 13 + 1;
    }
    e->dir = g_dir_make_tmp("kvmpc-user-XXXXXX", NULL);
    file = g_build_filename(e->dir, "boot.bin", NULL);
    g_assert(g_file_set_contents(file, (char *)data, 700, NULL));
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    e->hostport = free_port();
    args = g_strdup_printf("-netdev user,id=u0,tftp=%s,bootfile=boot.bin,"
                           "hostfwd=tcp:127.0.0.1:%d-10.0.2.15:80 "
                           "-device virtio-net-pci,netdev=u0 "
                           "-qmp unix:%s,server=on,wait=off",
                           e->dir, e->hostport, qmp);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(qmp);
    unlink(qmp);
    devfn = qvirtio_pci_find(e->qts, 0x1000);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, true);
    qvirtio_msix_enable(&e->d, 4);
    g_assert(qvirtio_negotiate(&e->d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                               QVIRTIO_BIT(5) | QVIRTIO_BIT(15)));
    qvirtqueue_setup(&e->rx, &e->d, 0, 0, false);
    qvirtqueue_setup(&e->tx, &e->d, 1, 0, false);
    for (int i = 0; i < NRX; i++) {
        QVirtBuf b = { qvirtio_alloc(RXBUF, 16), RXBUF, true };
        e->rxbuf[i] = b.addr;
        e->rxhead[i] = qvirtqueue_add(&e->rx, &b, 1);
    }
    qvirtio_driver_ok(&e->d);
    qvirtqueue_kick(&e->rx);
}

static void env_end(Env *e)
{
    g_autofree char *file = g_build_filename(e->dir, "boot.bin", NULL);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    unlink(file);
    rmdir(e->dir);
    g_free(e->dir);
}

/* ---- DHCP --------------------------------------------------------------------- */

static size_t dhcp_msg(uint8_t *b, uint8_t type, uint32_t xid)
{
    size_t o = 240;

    memset(b, 0, 300);
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, xid);
    put16(b + 10, 0x8000);
    memcpy(b + 28, mac, 6);
    put32(b + 236, 0x63825363);
    b[o++] = 53; b[o++] = 1; b[o++] = type;
    if (type == 3) {
        b[o++] = 50; b[o++] = 4; put32(b + o, GUEST_IP); o += 4;
        b[o++] = 54; b[o++] = 4; put32(b + o, GW_IP); o += 4;
    }
    b[o++] = 255;
    return 300;
}

/* The value of DHCP option @code in a reply, or NULL. */
static const uint8_t *dhcp_opt(const uint8_t *bootp, size_t len, uint8_t code)
{
    size_t o = 240;

    while (o + 2 <= len && bootp[o] != 255) {
        if (bootp[o] == 0) {
            o++;
            continue;
        }
        if (bootp[o] == code) {
            return bootp + o + 2;
        }
        o += 2 + bootp[o + 1];
    }
    return NULL;
}

static void dhcp_exchange(Env *e, uint8_t type, uint8_t want)
{
    uint8_t b[300], f[RXBUF];
    size_t len = dhcp_msg(b, type, 0xabcd0000 + type);
    const uint8_t *bootp, *o;

    len = udp(f, bcast, 0, 0xffffffff, 68, 67, b, len);
    send_frame(e, f, len);
    len = recv_ip(e, f, 17, 67, 5000);
    g_assert_cmpuint(len, >, 42 + 240);
    bootp = f + 42;
    g_assert_cmpint(bootp[0], ==, 2);
    g_assert_cmphex(get32(bootp + 4), ==, 0xabcd0000 + type);
    g_assert_cmphex(get32(bootp + 16), ==, GUEST_IP);    /* yiaddr */
    o = dhcp_opt(bootp, len - 42, 53);
    g_assert(o && o[0] == want);
    o = dhcp_opt(bootp, len - 42, 3);
    g_assert(o && get32(o) == GW_IP);                    /* router */
    o = dhcp_opt(bootp, len - 42, 6);
    g_assert(o && get32(o) == DNS_IP);                   /* DNS */
    if (want == 2) {
        g_assert_cmpstr((const char *)bootp + 108, ==, "boot.bin");
    }
}

/* ---- the test -------------------------------------------------------------------- */

static void test_arp_ping(Env *e)
{
    uint8_t f[RXBUF] = { 0 };
    size_t o = eth(f, bcast, 0x0806), len;
    uint8_t *icmp;
    static const char payload[] = "kvmpc ping payload";

    put16(f + o, 1);
    put16(f + o + 2, 0x0800);
    f[o + 4] = 6;
    f[o + 5] = 4;
    put16(f + o + 6, 1);
    memcpy(f + o + 8, mac, 6);
    put32(f + o + 14, GUEST_IP);
    put32(f + o + 24, GW_IP);
    send_frame(e, f, 60);
    for (;;) {
        len = recv_frame(e, f, 5000);
        g_assert_cmpuint(len, >, 0);
        if (get16(f + 12) == 0x0806) {
            break;
        }
    }
    g_assert_cmpint(get16(f + 20), ==, 2);          /* reply */
    g_assert(!memcmp(f + 22, gw_mac, 6));
    g_assert_cmphex(get32(f + 28), ==, GW_IP);

    memset(f, 0, sizeof(f));
    o = eth(f, gw_mac, 0x0800);
    o += ipv4(f + o, 1, GUEST_IP, GW_IP, 8 + sizeof(payload));
    icmp = f + o;
    icmp[0] = 8;
    put16(icmp + 4, 0x4242);
    put16(icmp + 6, 1);
    memcpy(icmp + 8, payload, sizeof(payload));
    put16(icmp + 2, csum_fold(csum_add(0, icmp, 8 + sizeof(payload))));
    send_frame(e, f, o + 8 + sizeof(payload));
    len = recv_ip(e, f, 1, 0, 5000);
    g_assert_cmpuint(len, >=, 42 + sizeof(payload));
    g_assert_cmpint(f[34], ==, 0);                  /* echo reply */
    g_assert_cmphex(get32(f + 26), ==, GW_IP);
    g_assert_cmpint(get16(f + 38), ==, 0x4242);
    g_assert(!memcmp(f + 42, payload, sizeof(payload)));
}

/* The host's resolver answers a query for "localhost" (any rcode)? */
static bool host_dns_works(const uint8_t *q, size_t qlen)
{
    g_autofree char *conf = NULL;
    char **lines, ns[64] = "";
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
    struct pollfd p;
    uint8_t r[512];
    int fd;
    bool ok;

    if (!g_file_get_contents("/etc/resolv.conf", &conf, NULL, NULL)) {
        return false;
    }
    lines = g_strsplit(conf, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        if (sscanf(lines[i], "nameserver %63s", ns) == 1) {
            break;
        }
    }
    g_strfreev(lines);
    if (!*ns || inet_pton(AF_INET, ns, &a.sin_addr) != 1) {
        return false;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(fd, q, qlen, 0, (struct sockaddr *)&a, sizeof(a));
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    ok = poll(&p, 1, 2000) == 1 && recv(fd, r, sizeof(r), 0) > 12;
    close(fd);
    return ok;
}

static void test_dns(Env *e)
{
    static const uint8_t q[] = {
        0x4b, 0x56, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
        9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0, 0, 1, 0, 1,
    };
    uint8_t f[RXBUF];
    size_t len;

    if (!host_dns_works(q, sizeof(q))) {
        g_test_message("the host's resolver does not answer: DNS part "
                       "skipped");
        return;
    }
    len = udp(f, gw_mac, GUEST_IP, DNS_IP, 5353, 53, q, sizeof(q));
    send_frame(e, f, len);
    len = recv_ip(e, f, 17, 53, 5000);
    g_assert_cmpuint(len, >=, 42 + 12);
    g_assert_cmphex(get32(f + 26), ==, DNS_IP);
    g_assert_cmpint(get16(f + 36), ==, 5353);
    g_assert_cmphex(get16(f + 42), ==, 0x4b56);     /* our query's id */
    g_assert(f[44] & 0x80);                         /* a response */
}

static void test_tftp(Env *e)
{
    static const char rrq[] = "\0\1boot.bin\0octet";
    uint8_t f[RXBUF], got[700];
    size_t len, total = 0;
    uint16_t sport = 0;

    len = udp(f, gw_mac, GUEST_IP, GW_IP, 2000, 69, rrq, sizeof(rrq));
    send_frame(e, f, len);
    for (uint16_t block = 1; total < 700 || block == 1; block++) {
        uint8_t ack[4] = { 0, 4, block >> 8, block };

        len = recv_ip(e, f, 17, 0, 5000);
        g_assert_cmpuint(len, >=, 46);
        sport = get16(f + 34);
        g_assert_cmpint(get16(f + 42), ==, 3);      /* DATA */
        g_assert_cmpint(get16(f + 44), ==, block);
        len -= 46;
        g_assert_cmpuint(total + len, <=, sizeof(got));
        memcpy(got + total, f + 46, len);
        total += len;
        len = udp(f, gw_mac, GUEST_IP, GW_IP, 2000, sport, ack, 4);
        send_frame(e, f, len);
        if (total == 700) {
            break;
        }
    }
    g_assert_cmpuint(total, ==, 700);
    for (int i = 0; i < 700; i++) {
        g_assert_cmpint(got[i], ==, (uint8_t)(i * 13 + 1));
    }
}

/* 127.0.0.1:PORT -> hostfwd -> 10.0.2.15:80, our TCP listener. */
static void tcp_through_hostfwd(Env *e, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    uint8_t f[RXBUF];
    uint32_t their_seq, my_seq = 1000;
    uint16_t their_port;
    size_t len;
    char buf[16] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct pollfd p;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    /* slirp opens the guest side: SYN to port 80 (segments of an earlier
     * connection's close are passed over) */
    do {
        len = recv_ip(e, f, 6, 0, 5000);
        g_assert_cmpuint(len, >=, 54);
    } while ((f[47] & 0x12) != 0x02);
    g_assert_cmpint(get16(f + 36), ==, 80);
    their_port = get16(f + 34);
    their_seq = get32(f + 38);
    len = tcp(f, GUEST_IP, GW_IP, 80, their_port, my_seq, their_seq + 1,
              0x12, NULL, 0);
    send_frame(e, f, len);
    my_seq++;
    g_assert_cmpint(write(fd, "hello", 5), ==, 5);
    /* skip pure ACKs until the data segment */
    for (;;) {
        size_t ihl, dlen;
        len = recv_ip(e, f, 6, 0, 5000);
        g_assert_cmpuint(len, >=, 54);
        ihl = (f[14] & 15) * 4;
        dlen = get16(f + 16) - ihl - (f[14 + ihl + 12] >> 4) * 4;
        if (dlen) {
            g_assert_cmpuint(dlen, ==, 5);
            g_assert(!memcmp(f + 14 + ihl + (f[14 + ihl + 12] >> 4) * 4,
                             "hello", 5));
            break;
        }
    }
    len = tcp(f, GUEST_IP, GW_IP, 80, their_port, my_seq, their_seq + 6,
              0x18, "world", 5);
    send_frame(e, f, len);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    for (int i = 0; i < 500 && poll(&p, 1, 0) == 0; i++) {
        qtest_clock_step(e->qts, 10 * 1000 * 1000);
        g_usleep(10 * 1000);
    }
    g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 5);
    g_assert(!memcmp(buf, "world", 5));
    close(fd);
}

static void test_user(void)
{
    Env e = { 0 };
    g_autofree char *r = NULL, *r2 = NULL, *r3 = NULL;
    g_autofree char *cmd = NULL;
    int port2;

    env_start(&e);
    dhcp_exchange(&e, 1, 2);        /* DISCOVER -> OFFER */
    dhcp_exchange(&e, 3, 5);        /* REQUEST -> ACK */
    test_arp_ping(&e);
    test_dns(&e);
    test_tftp(&e);
    tcp_through_hostfwd(&e, e.hostport);

    /* HMP: a second rule by hand, then removed */
    port2 = free_port();
    cmd = g_strdup_printf("{\"execute\": \"human-monitor-command\", "
                          "\"arguments\": {\"command-line\": \"hostfwd_add "
                          "u0 tcp:127.0.0.1:%d-10.0.2.15:80\"}}", port2);
    r = qmp_cmd(e.qmp, cmd);
    g_assert(strstr(r, "\"return\": \"\""));
    tcp_through_hostfwd(&e, port2);
    g_free(cmd);
    cmd = g_strdup_printf("{\"execute\": \"human-monitor-command\", "
                          "\"arguments\": {\"command-line\": "
                          "\"hostfwd_remove u0 tcp:127.0.0.1:%d\"}}", port2);
    r2 = qmp_cmd(e.qmp, cmd);
    g_assert(strstr(r2, "removed"));
    r3 = qmp_cmd(e.qmp, cmd);
    g_assert(strstr(r3, "not found"));
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net-user/dhcp-arp-ping-dns-tftp-tcp", test_user);
    return g_test_run();
}
