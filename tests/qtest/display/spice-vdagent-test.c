/*
 * The SPICE agent channel: -chardev spicevmc,name=vdagent bound to a
 * virtserialport named com.redhat.spice.0, with the test as both ends:
 * the guest's virtio-serial driver (libqvirtio, as virtio-serial-test)
 * and a SPICE client's main channel (a link exchange and the main
 * channel's messages, SPICE protocol 2.2 with the full data header).
 *
 * Checked: the agent is absent for the client until the guest opens the
 * port; opening it makes libspice-server attach the agent (the client
 * gets MAIN_AGENT_CONNECTED, the guest sees the host side open and QMP
 * sends VSERPORT_CHANGE); agent messages pass both ways (guest -> client
 * as MAIN_AGENT_DATA after AGENT_START, client -> guest as a VDI chunk on
 * the port); with the agent the client may switch to client mouse mode
 * (query-spice shows it); closing the port detaches the agent again, and a
 * client that connects later finds a reopened agent present.
 */
#include "libqvirtio.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <spice/protocol.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <spice/vd_agent.h>

/* little-endian fields of the wire formats */
static inline uint16_t lduw_le_p(const void *p)
{ const uint8_t *b = p; return b[0] | (b[1] << 8); }
static inline uint32_t ldl_le_p(const void *p)
{ const uint8_t *b = p; return b[0] | (b[1] << 8) | (b[2] << 16) |
                               ((uint32_t)b[3] << 24); }
static inline void stw_le_p(void *p, uint16_t v)
{ uint8_t *b = p; b[0] = v; b[1] = v >> 8; }
static inline void stl_le_p(void *p, uint32_t v)
{ uint8_t *b = p; b[0] = v; b[1] = v >> 8; b[2] = v >> 16; b[3] = v >> 24; }
static inline void stq_le_p(void *p, uint64_t v)
{ stl_le_p(p, v); stl_le_p((uint8_t *)p + 4, v >> 32); }

#define F_MULTIPORT         1
#define DEVICE_READY        0
#define DEVICE_ADD          1
#define PORT_READY          3
#define PORT_OPEN           6
#define PORT_NAME           7
#define CTRL_BUF            256
#define NPORTS              2       /* port 1: the agent */
#define AGENT_PORT          1

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue cin, cout, rx, tx;
    uint64_t cin_buf[64];
    uint64_t cout_buf;
    QMPConn *qmp;
    char *dir;
    int spice_port;
    int client;                     /* main channel socket */
    uint64_t serial;
} Env;

/* ---- the guest's driver -------------------------------------------------- */

static void post_cin(Env *e, uint64_t addr)
{
    QVirtBuf b = { addr, CTRL_BUF, true };
    uint16_t head = qvirtqueue_add(&e->cin, &b, 1);

    g_assert_cmpuint(head, <, G_N_ELEMENTS(e->cin_buf));
    e->cin_buf[head] = addr;
}

static void driver_init(Env *e)
{
    g_assert(qvirtio_negotiate(&e->d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                               QVIRTIO_BIT(F_MULTIPORT)));
    qvirtqueue_setup(&e->cin, &e->d, 2, 0, false);
    qvirtqueue_setup(&e->cout, &e->d, 3, 0, false);
    qvirtqueue_setup(&e->rx, &e->d, 2 + 2 * AGENT_PORT, 0, false);
    qvirtqueue_setup(&e->tx, &e->d, 3 + 2 * AGENT_PORT, 0, false);
    e->cout_buf = qvirtio_alloc(CTRL_BUF, 16);
    qvirtio_driver_ok(&e->d);
    for (unsigned i = 0; i < 16; i++) {
        post_cin(e, qvirtio_alloc(CTRL_BUF, 16));
    }
    qvirtqueue_kick(&e->cin);
}

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
    if (*event == PORT_NAME && name) {
        g_assert_cmpuint(len - 8, <, name_size);
        qtest_memread(e->qts, a + 8, name, len - 8);
        name[len - 8] = 0;
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
    if (event == PORT_NAME) {
        g_assert_cmpstr(name, ==, "com.redhat.spice.0");
    }
}

static void expect_no_ctrl(Env *e)
{
    uint32_t i;
    uint16_t ev, val;

    g_assert(!get_ctrl(e, &i, &ev, &val, NULL, 0, 200));
}

static void send_ctrl(Env *e, uint32_t id, uint16_t event, uint16_t value)
{
    QVirtBuf b = { e->cout_buf, 8, false };
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

static void guest_send(Env *e, const void *data, size_t len)
{
    uint64_t a = qvirtio_alloc(len, 16);
    QVirtBuf b = { a, len, false };
    uint16_t head, id;
    uint32_t ulen;

    qtest_bufwrite(e->qts, a, data, len);
    head = qvirtqueue_add(&e->tx, &b, 1);
    qvirtqueue_kick(&e->tx);
    g_assert(qvirtqueue_get_used(&e->tx, &id, &ulen, 5000));
    g_assert_cmpuint(id, ==, head);
}

/* ---- the SPICE client ------------------------------------------------------ */

static void read_exact(int fd, void *buf, size_t len)
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

static void write_all(int fd, const void *buf, size_t len)
{
    g_assert_cmpint(write(fd, buf, len), ==, (ssize_t)len);
}

static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/*
 * The ticket: an empty password encrypted with the server's RSA key
 * (OAEP, SHA-1), as every client sends even when ticketing is off.
 */
static void encrypt_ticket(const uint8_t *der, size_t der_len,
                           uint8_t out[128])
{
    const unsigned char *p = der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, der_len);
    EVP_PKEY_CTX *ctx;
    size_t outlen = 128;

    g_assert(pk);
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    g_assert(ctx);
    g_assert_cmpint(EVP_PKEY_encrypt_init(ctx), ==, 1);
    g_assert_cmpint(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING),
                    ==, 1);
    g_assert_cmpint(EVP_PKEY_encrypt(ctx, out, &outlen,
                                     (const unsigned char *)"", 1), ==, 1);
    g_assert_cmpuint(outlen, ==, 128);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
}

/* Link a main channel (no capabilities; the server runs with
 * disable-ticketing=on, so the empty password passes). */
static int spice_link_main(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint8_t msg[16 + 18] = { 'R', 'E', 'D', 'Q' };
    uint8_t hdr[16], ticket[128] = { 0 };
    uint32_t size, result;
    g_autofree uint8_t *reply = NULL;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    stl_le_p(msg + 4, SPICE_VERSION_MAJOR);
    stl_le_p(msg + 8, SPICE_VERSION_MINOR);
    stl_le_p(msg + 12, 18);
    /* SpiceLinkMess: connection id 0, main channel 0, no caps */
    msg[20] = SPICE_CHANNEL_MAIN;
    stl_le_p(msg + 30, 18);
    write_all(fd, msg, sizeof(msg));
    read_exact(fd, hdr, sizeof(hdr));
    g_assert(!memcmp(hdr, "REDQ", 4));
    size = ldl_le_p(hdr + 12);
    g_assert_cmpuint(size, >=, 4 + SPICE_TICKET_PUBKEY_BYTES);
    g_assert_cmpuint(size, <, 4096);
    reply = g_malloc(size);
    read_exact(fd, reply, size);
    g_assert_cmpuint(ldl_le_p(reply), ==, SPICE_LINK_ERR_OK);
    encrypt_ticket(reply + 4, SPICE_TICKET_PUBKEY_BYTES, ticket);
    write_all(fd, ticket, sizeof(ticket));
    read_exact(fd, &result, 4);
    g_assert_cmpuint(GUINT32_FROM_LE(result), ==, SPICE_LINK_ERR_OK);
    return fd;
}

/* The next message of @type (others are skipped); its body, *len bytes. */
static uint8_t *client_expect(Env *e, uint16_t type, uint32_t *len)
{
    for (int i = 0; i < 64; i++) {
        uint8_t hdr[18];
        uint32_t size;
        uint8_t *body;

        read_exact(e->client, hdr, sizeof(hdr));
        size = ldl_le_p(hdr + 10);
        g_assert_cmpuint(size, <, 1 << 20);
        body = g_malloc(size + 1);
        read_exact(e->client, body, size);
        if (lduw_le_p(hdr + 8) == type) {
            *len = size;
            return body;
        }
        g_free(body);
    }
    g_assert_not_reached();
}

/* Nothing of @type arrives within @ms (other messages are skipped). */
static bool client_sees(Env *e, uint16_t type, int ms)
{
    struct pollfd pfd = { .fd = e->client, .events = POLLIN };

    while (poll(&pfd, 1, ms) == 1) {
        uint8_t hdr[18];
        g_autofree uint8_t *body = NULL;
        uint32_t size;

        read_exact(e->client, hdr, sizeof(hdr));
        size = ldl_le_p(hdr + 10);
        g_assert_cmpuint(size, <, 1 << 20);
        body = g_malloc(size + 1);
        read_exact(e->client, body, size);
        if (lduw_le_p(hdr + 8) == type) {
            return true;
        }
    }
    return false;
}

static void client_send(Env *e, uint16_t type, const void *body,
                        uint32_t len)
{
    uint8_t hdr[18] = { 0 };

    stq_le_p(hdr, ++e->serial);
    stw_le_p(hdr + 8, type);
    stl_le_p(hdr + 10, len);
    write_all(e->client, hdr, sizeof(hdr));
    write_all(e->client, body, len);
}

/* ---- the test ------------------------------------------------------------------ */

static void env_start_display(Env *e, const char *display);

static void env_start(Env *e)
{
    env_start_display(e, "-device VGA");
}

static void env_start_display(Env *e, const char *display)
{
    g_autofree char *qmp = NULL, *args = NULL;
    int devfn;

    memset(e, 0, sizeof(*e));
    e->dir = g_dir_make_tmp("kvmpc-spice-XXXXXX", NULL);
    e->spice_port = free_port();
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf(
        "-nodefaults %s "
        "-spice port=%d,addr=127.0.0.1,disable-ticketing=on "
        "-device virtio-serial-pci,id=vs0,max_ports=%d "
        "-chardev spicevmc,id=vdagent,name=vdagent "
        "-device virtserialport,chardev=vdagent,nr=%d,id=agent0,"
        "name=com.redhat.spice.0 "
        "-qmp unix:%s,server=on,wait=off", display, e->spice_port, NPORTS,
        AGENT_PORT, qmp);
    e->qts = qtest_init(args);
    /* virtio-serial (transitional or modern), beside any display */
    devfn = qvirtio_pci_find(e->qts, 0x1003);
    if (devfn < 0) {
        devfn = qvirtio_pci_find(e->qts, 0x1043);
    }
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, true);
    e->qmp = qmp_connect(qmp);
}

static void env_end(Env *e)
{
    g_autofree char *qmp = g_build_filename(e->dir, "qmp.sock", NULL);

    if (e->client >= 0) {
        close(e->client);
    }
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    unlink(qmp);
    rmdir(e->dir);
    g_free(e->dir);
}

static char *qmp_events(Env *e)
{
    g_free(qmp_cmd(e->qmp, "{\"execute\": \"query-status\"}"));
    return qmp_take_events(e->qmp);
}

/* query-spice's mouse-mode (static buffer). */
static const char *mouse_mode(Env *e)
{
    static char mode[16];
    g_autofree char *r = qmp_cmd(e->qmp, "{\"execute\": \"query-spice\"}");
    const char *p = strstr(r, "\"mouse-mode\": \"");

    g_assert(p);
    p += strlen("\"mouse-mode\": \"");
    g_strlcpy(mode, p, MIN(sizeof(mode), (size_t)(strchr(p, '"') - p + 1)));
    return mode;
}

/* A VDI chunk (port VDP_CLIENT_PORT) holding one agent message. */
static size_t agent_chunk(uint8_t *buf, uint32_t type, const void *data,
                          uint32_t len)
{
    stl_le_p(buf, VDP_CLIENT_PORT);
    stl_le_p(buf + 4, 20 + len);
    stl_le_p(buf + 8, VD_AGENT_PROTOCOL);
    stl_le_p(buf + 12, type);
    stq_le_p(buf + 16, 0);
    stl_le_p(buf + 24, len);
    memcpy(buf + 28, data, len);
    return 28 + len;
}

static void test_vdagent(void)
{
    Env e;
    uint8_t *body, chunk[64];
    uint32_t len, tokens;
    uint64_t rx;
    char *ev;

    env_start(&e);
    driver_init(&e);
    send_ctrl(&e, 0, DEVICE_READY, 1);
    expect_ctrl(&e, AGENT_PORT, DEVICE_ADD, 1);
    send_ctrl(&e, AGENT_PORT, PORT_READY, 1);
    expect_ctrl(&e, AGENT_PORT, PORT_NAME, 1);
    expect_no_ctrl(&e);

    /* a client; the guest has not opened the agent port: no agent */
    e.client = spice_link_main(e.spice_port);
    body = client_expect(&e, SPICE_MSG_MAIN_INIT, &len);
    g_assert_cmpuint(len, >=, 24);
    g_assert_cmpuint(ldl_le_p(body + 16), ==, 0);      /* agent_connected */
    g_free(body);
    expect_no_ctrl(&e);

    /* the guest's agent opens the port */
    send_ctrl(&e, AGENT_PORT, PORT_OPEN, 1);
    ev = qmp_events(&e);
    g_assert(strstr(ev, "\"event\": \"VSERPORT_CHANGE\""));
    g_assert(strstr(ev, "\"open\": true"));
    g_assert(strstr(ev, "\"id\": \"agent0\""));
    g_free(ev);
    /* libspice-server attached the agent: the host side opens */
    expect_ctrl(&e, AGENT_PORT, PORT_OPEN, 1);
    g_assert(client_sees(&e, SPICE_MSG_MAIN_AGENT_CONNECTED, 5000));

    /* with the agent (agent-mouse=on by default) and a display whose
     * primary surface allows it, client mouse mode is allowed: the client
     * asks for it, query-spice shows it */
    g_assert_cmpstr(mouse_mode(&e), ==, "server");
    {
        uint8_t req[2];

        stw_le_p(req, SPICE_MOUSE_MODE_CLIENT);
        client_send(&e, SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST, req, 2);
        body = client_expect(&e, SPICE_MSG_MAIN_MOUSE_MODE, &len);
        g_assert_cmpuint(len, ==, 4);
        g_assert_cmpuint(lduw_le_p(body), &, SPICE_MOUSE_MODE_CLIENT);
        g_assert_cmpuint(lduw_le_p(body + 2), ==, SPICE_MOUSE_MODE_CLIENT);
        g_free(body);
        g_assert_cmpstr(mouse_mode(&e), ==, "client");
    }

    /* guest -> client, once the client started its agent channel */
    tokens = GUINT32_TO_LE(10);
    client_send(&e, SPICE_MSGC_MAIN_AGENT_START, &tokens, 4);
    /* agent data without a started client is dropped by libspice-server:
     * let it take AGENT_START first (a QMP round trip does not order the
     * two sockets) */
    g_usleep(300 * 1000);
    {
        uint32_t caps[2] = { GUINT32_TO_LE(0), GUINT32_TO_LE(0x5) };
        size_t n = agent_chunk(chunk, VD_AGENT_ANNOUNCE_CAPABILITIES, caps,
                               sizeof(caps));
        guest_send(&e, chunk, n);
    }
    body = client_expect(&e, SPICE_MSG_MAIN_AGENT_DATA, &len);
    g_assert_cmpuint(len, ==, 20 + 8);
    g_assert_cmpuint(ldl_le_p(body), ==, VD_AGENT_PROTOCOL);
    g_assert_cmpuint(ldl_le_p(body + 4), ==, VD_AGENT_ANNOUNCE_CAPABILITIES);
    g_assert_cmpuint(ldl_le_p(body + 16), ==, 8);
    g_assert_cmpuint(ldl_le_p(body + 24), ==, 0x5);
    g_free(body);

    /* client -> guest: an agent message arrives as a VDI chunk */
    rx = qvirtio_alloc(256, 16);
    {
        QVirtBuf b = { rx, 256, true };
        uint8_t msg[20 + 8];
        uint32_t caps[2] = { GUINT32_TO_LE(1), GUINT32_TO_LE(0x9) };
        uint16_t id;
        uint8_t got[256];

        qtest_memset(e.qts, rx, 0, 256);
        qvirtqueue_add(&e.rx, &b, 1);
        qvirtqueue_kick(&e.rx);
        stl_le_p(msg, VD_AGENT_PROTOCOL);
        stl_le_p(msg + 4, VD_AGENT_ANNOUNCE_CAPABILITIES);
        stq_le_p(msg + 8, 0);
        stl_le_p(msg + 16, sizeof(caps));
        memcpy(msg + 20, caps, sizeof(caps));
        client_send(&e, SPICE_MSGC_MAIN_AGENT_DATA, msg, sizeof(msg));
        g_assert(qvirtqueue_get_used(&e.rx, &id, &len, 5000));
        g_assert_cmpuint(len, ==, 8 + sizeof(msg));
        qtest_memread(e.qts, rx, got, len);
        g_assert_cmpuint(ldl_le_p(got), ==, VDP_CLIENT_PORT);
        g_assert_cmpuint(ldl_le_p(got + 4), ==, sizeof(msg));
        g_assert(!memcmp(got + 8, msg, sizeof(msg)));
    }

    /* the guest closes the port: the agent goes away for the client */
    send_ctrl(&e, AGENT_PORT, PORT_OPEN, 0);
    expect_ctrl(&e, AGENT_PORT, PORT_OPEN, 0);      /* the host side too */
    g_assert(client_sees(&e, SPICE_MSG_MAIN_AGENT_DISCONNECTED, 5000));
    qtest_clock_step(e.qts, 1000000000LL);  /* VSERPORT_CHANGE's rate limit */
    ev = qmp_events(&e);
    g_assert(strstr(ev, "\"open\": false"));
    g_free(ev);

    /* reopened: attached again; a client that comes later finds the agent
     * there (libspice-server keeps the port open across clients, as with
     * QEMU) */
    send_ctrl(&e, AGENT_PORT, PORT_OPEN, 1);
    expect_ctrl(&e, AGENT_PORT, PORT_OPEN, 1);
    close(e.client);
    e.client = spice_link_main(e.spice_port);
    body = client_expect(&e, SPICE_MSG_MAIN_INIT, &len);
    g_assert_cmpuint(ldl_le_p(body + 16), ==, 1);      /* agent_connected */
    g_free(body);
    env_end(&e);
}

/*
 * A client's monitors config with virtio-gpu as the display: the device
 * takes it (libspice-server's client_monitors_config answered by kvmpc's
 * display channel): the guest's GPU driver sees VIRTIO_GPU_EVENT_DISPLAY,
 * and the agent does not get the message.
 */
static void test_monitors_config(void)
{
    Env e;
    QVirtioDev gpu;
    uint8_t msg[20 + 8 + 20];
    uint32_t len, tokens;
    uint64_t rx;
    uint8_t *body;
    int devfn;

    env_start_display(&e, "-device virtio-gpu-pci,id=gpu0,xres=800,yres=600");
    driver_init(&e);
    devfn = qvirtio_pci_find(e.qts, 0x1050);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_pci_init(&gpu, e.qts, devfn, true);
    g_assert(qvirtio_negotiate(&gpu, QVIRTIO_BIT(QVIRTIO_F_VERSION_1)));
    qvirtio_driver_ok(&gpu);
    g_assert_cmpuint(qvirtio_config_readl(&gpu, 0), ==, 0);

    send_ctrl(&e, 0, DEVICE_READY, 1);
    expect_ctrl(&e, AGENT_PORT, DEVICE_ADD, 1);
    send_ctrl(&e, AGENT_PORT, PORT_READY, 1);
    expect_ctrl(&e, AGENT_PORT, PORT_NAME, 1);
    send_ctrl(&e, AGENT_PORT, PORT_OPEN, 1);
    expect_ctrl(&e, AGENT_PORT, PORT_OPEN, 1);
    e.client = spice_link_main(e.spice_port);
    g_free(client_expect(&e, SPICE_MSG_MAIN_INIT, &len));
    tokens = GUINT32_TO_LE(10);
    client_send(&e, SPICE_MSGC_MAIN_AGENT_START, &tokens, 4);
    g_usleep(300 * 1000);
    rx = qvirtio_alloc(256, 16);
    {
        QVirtBuf b = { rx, 256, true };
        qvirtqueue_add(&e.rx, &b, 1);
        qvirtqueue_kick(&e.rx);
    }
    /* VDAgentMessage + VDAgentMonitorsConfig with one 1000x700 monitor */
    stl_le_p(msg, VD_AGENT_PROTOCOL);
    stl_le_p(msg + 4, VD_AGENT_MONITORS_CONFIG);
    stq_le_p(msg + 8, 0);
    stl_le_p(msg + 16, 8 + 20);
    stl_le_p(msg + 20, 1);          /* num_of_monitors */
    stl_le_p(msg + 24, 0);          /* flags */
    stl_le_p(msg + 28, 700);        /* height */
    stl_le_p(msg + 32, 1000);       /* width */
    stl_le_p(msg + 36, 32);         /* depth */
    stl_le_p(msg + 40, 0);
    stl_le_p(msg + 44, 0);
    client_send(&e, SPICE_MSGC_MAIN_AGENT_DATA, msg, sizeof(msg));
    for (int i = 0; i < 500; i++) {
        if (qvirtio_config_readl(&gpu, 0) & 1) {
            break;
        }
        g_assert_cmpint(i, <, 499);
        g_usleep(10000);
    }
    /* handled by the device: nothing for the guest's agent */
    {
        uint16_t id;
        g_assert(!qvirtqueue_get_used(&e.rx, &id, &len, 300));
    }
    (void)body;
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/spice/vdagent", test_vdagent);
    g_test_add_func("/spice/monitors-config", test_monitors_config);
    return g_test_run();
}
