/*
 * SPICE's cursor and playback channels at the protocol level, with the
 * test as the SPICE client (a link exchange per channel, SPICE protocol
 * 2.2 with the full data header, SET_ACK answered) and, for the cursor,
 * as the guest's virtio-gpu driver (libqvirtio):
 *
 *   /spice/cursor    the guest's cursorq UPDATE_CURSOR reaches the client
 *                    as CURSOR_SET (an ALPHA shape, 64x64, the hot spot,
 *                    the ARGB bytes, the position, visible), MOVE_CURSOR
 *                    as CURSOR_MOVE, resource 0 as CURSOR_HIDE; a client
 *                    that connects later gets the shape in CURSOR_INIT.
 *   /spice/playback  -audiodev spice with the PC speaker on it: the client
 *                    gets PLAYBACK_START (2 channels, s16, the server's
 *                    rate), PLAYBACK_DATA carrying the square wave (not
 *                    silence) at the audio timer's pace, and
 *                    PLAYBACK_STOP when the tone stops.
 *   /spice/record    the same audiodev with an AC97 capturing: the client
 *                    gets RECORD_START when the guest starts its PCM-in
 *                    box, and the samples it sends (RECORD_DATA, raw) end
 *                    up in the guest's capture buffer.
 */
#include "libqvirtio.h"
#include "chipset/pci-helpers.h"
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

#define GPU_MODERN_ID           0x1050
#define HDR                     24
#define CMD_RESOURCE_CREATE_2D  0x0101
#define CMD_TRANSFER_TO_HOST_2D 0x0105
#define CMD_ATTACH_BACKING      0x0106
#define CMD_UPDATE_CURSOR       0x0300
#define CMD_MOVE_CURSOR         0x0301
#define RESP_OK_NODATA          0x1100
#define HOT_X                   5
#define HOT_Y                   7

static inline uint16_t ld16(const void *p)
{ const uint8_t *b = p; return b[0] | (b[1] << 8); }
static inline uint32_t ld32(const void *p)
{ const uint8_t *b = p; return b[0] | (b[1] << 8) | (b[2] << 16) |
                               ((uint32_t)b[3] << 24); }
static inline void st16(void *p, uint16_t v)
{ uint8_t *b = p; b[0] = v; b[1] = v >> 8; }
static inline void st32(void *p, uint32_t v)
{ uint8_t *b = p; b[0] = v; b[1] = v >> 8; b[2] = v >> 16; b[3] = v >> 24; }
static inline void st64(void *p, uint64_t v)
{ st32(p, v); st32((uint8_t *)p + 4, v >> 32); }

/* ---- the client side -------------------------------------------------- */

typedef struct Chan {
    int fd;
    uint64_t serial;
    uint32_t ack_window, ack_count;
} Chan;

static bool read_exact_to(int fd, void *buf, size_t len, int ms)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pfd, 1, ms) != 1) {
            return false;
        }
        n = read(fd, (uint8_t *)buf + done, len - done);
        g_assert_cmpint(n, >, 0);
        done += n;
    }
    return true;
}

static void read_exact(int fd, void *buf, size_t len)
{
    g_assert(read_exact_to(fd, buf, len, 10000));
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

/* The empty password encrypted with the server's key (RSA OAEP). */
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
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
}

/* Link channel @type (id 0) of connection @conn_id, no capabilities. */
static void spice_link(Chan *c, int port, uint32_t conn_id, uint8_t type)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port) };
    uint8_t msg[16 + 18] = { 'R', 'E', 'D', 'Q' };
    uint8_t hdr[16], ticket[128] = { 0 };
    uint32_t size, result;
    g_autofree uint8_t *reply = NULL;

    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), ==,
                    0);
    st32(msg + 4, SPICE_VERSION_MAJOR);
    st32(msg + 8, SPICE_VERSION_MINOR);
    st32(msg + 12, 18);
    st32(msg + 16, conn_id);
    msg[20] = type;
    msg[21] = 0;
    st32(msg + 30, 18);             /* caps offset: none follow */
    write_all(c->fd, msg, sizeof(msg));
    read_exact(c->fd, hdr, sizeof(hdr));
    g_assert(!memcmp(hdr, "REDQ", 4));
    size = ld32(hdr + 12);
    g_assert_cmpuint(size, >=, 4 + SPICE_TICKET_PUBKEY_BYTES);
    g_assert_cmpuint(size, <, 4096);
    reply = g_malloc(size);
    read_exact(c->fd, reply, size);
    g_assert_cmpuint(ld32(reply), ==, SPICE_LINK_ERR_OK);
    encrypt_ticket(reply + 4, SPICE_TICKET_PUBKEY_BYTES, ticket);
    write_all(c->fd, ticket, sizeof(ticket));
    read_exact(c->fd, &result, 4);
    g_assert_cmpuint(GUINT32_FROM_LE(result), ==, SPICE_LINK_ERR_OK);
}

static void chan_send(Chan *c, uint16_t type, const void *body, uint32_t len)
{
    uint8_t hdr[18] = { 0 };

    st64(hdr, ++c->serial);
    st16(hdr + 8, type);
    st32(hdr + 10, len);
    write_all(c->fd, hdr, sizeof(hdr));
    if (len) {
        write_all(c->fd, body, len);
    }
}

/*
 * The next message other than the common ones (SET_ACK and PING are
 * answered here); NULL when none comes within @ms.  Acknowledges as the
 * server asked.
 */
static uint8_t *chan_read(Chan *c, uint16_t *type, uint32_t *len, int ms)
{
    for (;;) {
        uint8_t hdr[18];
        uint8_t *body;

        if (!read_exact_to(c->fd, hdr, sizeof(hdr), ms)) {
            return NULL;
        }
        *type = ld16(hdr + 8);
        *len = ld32(hdr + 10);
        g_assert_cmpuint(*len, <, 1 << 22);
        body = g_malloc(*len + 1);
        read_exact(c->fd, body, *len);
        if (c->ack_window && ++c->ack_count >= c->ack_window) {
            chan_send(c, SPICE_MSGC_ACK, NULL, 0);
            c->ack_count = 0;
        }
        if (*type == SPICE_MSG_SET_ACK) {
            c->ack_window = ld32(body + 4);
            chan_send(c, SPICE_MSGC_ACK_SYNC, body, 4);  /* generation */
            g_free(body);
            continue;
        }
        if (*type == SPICE_MSG_PING) {
            chan_send(c, SPICE_MSGC_PONG, body, MIN(*len, 12));
            g_free(body);
            continue;
        }
        return body;
    }
}

/* The next message of @type within 10 s (others skipped). */
static uint8_t *chan_expect(Chan *c, uint16_t type, uint32_t *len)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < end) {
        uint16_t t;
        uint8_t *body = chan_read(c, &t, len, 200);

        if (body && t == type) {
            return body;
        }
        g_free(body);
    }
    g_error("no SPICE message %u", type);
}

/* Link the main channel; the session id for the other channels. */
static uint32_t link_main(Chan *m, int port)
{
    uint32_t len, id;
    uint8_t *body;

    spice_link(m, port, 0, SPICE_CHANNEL_MAIN);
    body = chan_expect(m, SPICE_MSG_MAIN_INIT, &len);
    g_assert_cmpuint(len, >=, 4);
    id = ld32(body);
    g_free(body);
    chan_send(m, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0);
    return id;
}

/* ---- the guest side (virtio-gpu) ------------------------------------- */

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue ctrl, cursor;
    uint64_t resp;
    int port;
} Env;

static void put32(uint8_t *p, uint32_t v)
{
    st32(p, v);
}

static void hdr(uint8_t *p, uint32_t type)
{
    memset(p, 0, HDR);
    put32(p, type);
}

static uint32_t gpu_cmd(Env *e, const void *req, size_t len)
{
    uint64_t out = qvirtio_alloc(len, 8);
    QVirtBuf b[2] = { { out, len, false }, { e->resp, 4096, true } };
    uint16_t id, head;
    uint32_t ulen;

    qtest_memwrite(e->qts, out, req, len);
    head = qvirtqueue_add(&e->ctrl, b, 2);
    qvirtqueue_kick(&e->ctrl);
    g_assert(qvirtqueue_get_used(&e->ctrl, &id, &ulen, 5000));
    g_assert_cmpint(id, ==, head);
    return qtest_readl(e->qts, e->resp);
}

static void cursor_cmd(Env *e, uint32_t type, int32_t x, int32_t y,
                       uint32_t res)
{
    uint8_t r[56] = { 0 };
    uint64_t out = qvirtio_alloc(sizeof(r), 8);
    QVirtBuf bb = { out, sizeof(r), false };
    uint16_t id, vhead;
    uint32_t len;

    hdr(r, type);
    put32(r + 28, x);
    put32(r + 32, y);
    put32(r + 40, res);
    put32(r + 44, HOT_X);
    put32(r + 48, HOT_Y);
    qtest_memwrite(e->qts, out, r, sizeof(r));
    vhead = qvirtqueue_add(&e->cursor, &bb, 1);
    qvirtqueue_kick(&e->cursor);
    g_assert(qvirtqueue_get_used(&e->cursor, &id, &len, 5000));
    g_assert_cmpint(id, ==, vhead);
}

/* The cursor picture, B8G8R8A8 (= ARGB words in memory order). */
static void cursor_bytes(uint8_t *pix)
{
    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
            uint8_t *p = pix + 4 * (y * 64 + x);
            p[0] = 0x80;
            p[1] = y * 4;
            p[2] = x * 4;
            p[3] = x + y < 64 ? 0xff : (x > 48 ? 0x40 : 0);
        }
    }
}

static void define_cursor_resource(Env *e, uint32_t id)
{
    uint8_t pix[64 * 64 * 4], r[56];
    uint64_t addr = qvirtio_alloc(sizeof(pix), 4096);

    cursor_bytes(pix);
    qtest_memwrite(e->qts, addr, pix, sizeof(pix));
    hdr(r, CMD_RESOURCE_CREATE_2D);
    put32(r + 24, id);
    put32(r + 28, 1);                   /* B8G8R8A8 */
    put32(r + 32, 64);
    put32(r + 36, 64);
    g_assert_cmphex(gpu_cmd(e, r, 40), ==, RESP_OK_NODATA);
    hdr(r, CMD_ATTACH_BACKING);
    put32(r + 24, id);
    put32(r + 28, 1);
    st64(r + 32, addr);
    put32(r + 40, sizeof(pix));
    put32(r + 44, 0);
    g_assert_cmphex(gpu_cmd(e, r, 48), ==, RESP_OK_NODATA);
    memset(r, 0, sizeof(r));
    hdr(r, CMD_TRANSFER_TO_HOST_2D);
    put32(r + 32, 64);
    put32(r + 36, 64);
    put32(r + 48, id);
    g_assert_cmphex(gpu_cmd(e, r, 56), ==, RESP_OK_NODATA);
}

/*
 * A SpiceCursor after @off in @body: flags, then (unless NONE) the
 * header (unique u64, type u8, width, height, hot x, hot y) and the data.
 */
static void check_cursor_shape(const uint8_t *body, uint32_t len,
                               uint32_t off)
{
    uint8_t want[64 * 64 * 4];
    uint16_t flags = ld16(body + off);
    const uint8_t *h = body + off + 2;

    g_assert(!(flags & SPICE_CURSOR_FLAGS_NONE));
    g_assert_cmpuint(len, ==, off + 2 + 17 + sizeof(want));
    g_assert_cmpint(h[8], ==, SPICE_CURSOR_TYPE_ALPHA);
    g_assert_cmpint(ld16(h + 9), ==, 64);
    g_assert_cmpint(ld16(h + 11), ==, 64);
    g_assert_cmpint(ld16(h + 13), ==, HOT_X);
    g_assert_cmpint(ld16(h + 15), ==, HOT_Y);
    cursor_bytes(want);
    g_assert(!memcmp(h + 17, want, sizeof(want)));
}

/*
 * CURSOR_SET messages until a visible one at (@x, @y); its body.  A define
 * is a SET while hidden and a SET shown (kvmpc defines, then shows), and
 * libspice-server may mark the first one visible already: skip those.
 */
static uint8_t *expect_visible_set(Chan *c, uint32_t *len, int x, int y)
{
    for (int i = 0; i < 8; i++) {
        uint8_t *body = chan_expect(c, SPICE_MSG_CURSOR_SET, len);
        if (body[4] && (int16_t)ld16(body) == x &&
            (int16_t)ld16(body + 2) == y) {
            return body;
        }
        g_free(body);
    }
    g_error("no visible CURSOR_SET at (%d, %d)", x, y);
}

static void test_cursor(void)
{
    g_autofree char *args = NULL;
    Chan m, cur, m2, cur2;
    uint32_t conn, len;
    uint8_t *body;
    int devfn;
    Env e = { 0 };

    e.port = free_port();
    args = g_strdup_printf("-vga none -device virtio-gpu-pci,id=gpu0 "
                           "-spice port=%d,addr=127.0.0.1,"
                           "disable-ticketing=on", e.port);
    e.qts = qtest_init(args);
    devfn = qvirtio_pci_find(e.qts, GPU_MODERN_ID);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e.d, e.qts, devfn, true);
    e.resp = qvirtio_alloc(4096, 64);
    g_assert(qvirtio_negotiate(&e.d, e.d.features &
                               QVIRTIO_BIT(QVIRTIO_F_VERSION_1)));
    qvirtqueue_setup(&e.ctrl, &e.d, 0, 64, false);
    qvirtqueue_setup(&e.cursor, &e.d, 1, 16, false);
    qvirtio_driver_ok(&e.d);

    conn = link_main(&m, e.port);
    spice_link(&cur, e.port, conn, SPICE_CHANNEL_CURSOR);
    body = chan_expect(&cur, SPICE_MSG_CURSOR_INIT, &len);
    g_free(body);

    define_cursor_resource(&e, 7);
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 100, 50, 7);
    body = expect_visible_set(&cur, &len, 100, 50);
    check_cursor_shape(body, len, 5);
    g_free(body);

    cursor_cmd(&e, CMD_MOVE_CURSOR, 300, 200, 7);
    body = chan_expect(&cur, SPICE_MSG_CURSOR_MOVE, &len);
    g_assert_cmpint((int16_t)ld16(body), ==, 300);
    g_assert_cmpint((int16_t)ld16(body + 2), ==, 200);
    g_free(body);

    cursor_cmd(&e, CMD_UPDATE_CURSOR, 300, 200, 0);
    g_free(chan_expect(&cur, SPICE_MSG_CURSOR_HIDE, &len));

    /* shown again; a client that comes now finds it in CURSOR_INIT */
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 20, 30, 7);
    g_free(expect_visible_set(&cur, &len, 20, 30));
    conn = link_main(&m2, e.port);
    spice_link(&cur2, e.port, conn, SPICE_CHANNEL_CURSOR);
    body = chan_expect(&cur2, SPICE_MSG_CURSOR_INIT, &len);
    /* position, trail length and frequency, visible, the cursor */
    g_assert_cmpint(body[8], ==, 1);
    check_cursor_shape(body, len, 9);
    g_free(body);

    close(cur2.fd);
    close(m2.fd);
    close(cur.fd);
    close(m.fd);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);
}

/* ---- playback ---------------------------------------------------------- */

#define PIT_FREQ    1193182

static void test_playback(void)
{
    int port = free_port();
    g_autofree char *args = g_strdup_printf(
        "-nodefaults -spice port=%d,addr=127.0.0.1,disable-ticketing=on,"
        "playback-compression=off -audiodev spice,id=snd0 "
        "-machine pcspk-audiodev=snd0", port);
    QTestState *qts = qtest_init(args);
    unsigned count = PIT_FREQ / 441;        /* about 441 Hz */
    uint64_t bytes = 0, loud = 0;
    bool started = false, stopped = false;
    uint32_t conn, len, rate = 0;
    uint16_t type;
    Chan m, pb;

    conn = link_main(&m, port);
    spice_link(&pb, port, conn, SPICE_CHANNEL_PLAYBACK);
    /* the tone: PIT channel 2, mode 3, gate and speaker on */
    qtest_outb(qts, 0x43, 0xb6);
    qtest_outb(qts, 0x42, count & 0xff);
    qtest_outb(qts, 0x42, count >> 8);
    qtest_outb(qts, 0x61, 3);
    for (int step = 0; step < 400 && bytes < 4 * 44100 / 2; step++) {
        uint8_t *body;

        qtest_clock_step(qts, 10 * 1000 * 1000);    /* 10 ms of audio */
        while ((body = chan_read(&pb, &type, &len, 20))) {
            if (type == SPICE_MSG_PLAYBACK_START) {
                g_assert_cmpuint(len, >=, 14);
                g_assert_cmpuint(ld32(body), ==, 2);        /* channels */
                g_assert_cmpuint(ld16(body + 4), ==,
                                 SPICE_AUDIO_FMT_S16);
                rate = ld32(body + 6);
                started = true;
            } else if (type == SPICE_MSG_PLAYBACK_DATA) {
                g_assert(started);
                g_assert_cmpuint(len, >, 4);
                bytes += len - 4;
                for (uint32_t i = 4; i + 1 < len; i += 2) {
                    loud += abs((int16_t)ld16(body + i)) > 1000;
                }
            }
            g_free(body);
        }
    }
    g_assert(started);
    g_assert(rate == 44100 || rate == 48000);
    /* half a second of stereo s16 came, and it is a tone, not silence */
    g_assert_cmpuint(bytes, >=, 4 * 44100 / 2);
    g_assert_cmpuint(loud, >, bytes / 2 / 4);
    /* the tone stops: so does the channel */
    qtest_outb(qts, 0x61, 0);
    for (int step = 0; step < 300 && !stopped; step++) {
        uint8_t *body;

        qtest_clock_step(qts, 10 * 1000 * 1000);
        while ((body = chan_read(&pb, &type, &len, 20))) {
            stopped |= type == SPICE_MSG_PLAYBACK_STOP;
            g_free(body);
        }
    }
    g_assert(stopped);
    close(pb.fd);
    close(m.fd);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

/* ---- record ------------------------------------------------------------ */

#define AC97_SLOT       5
#define NAM             0xc000
#define NABM            0xc400
#define AC97_PI_BDBAR   0x00
#define AC97_PI_LVI     0x05
#define AC97_PI_CR      0x0b
#define BDL_RAM         0x180000u
#define PCM_RAM         0x200000u
#define CAPTURE_SAMPLE  0x1234

static void test_record(void)
{
    int port = free_port();
    g_autofree char *args = g_strdup_printf(
        "-nodefaults -spice port=%d,addr=127.0.0.1,disable-ticketing=on "
        "-audiodev spice,id=snd0 -device AC97,addr=%d,audiodev=snd0", port,
        AC97_SLOT);
    QTestState *qts = qtest_init(args);
    unsigned ac97 = DEVFN(AC97_SLOT, 0), found = 0;
    uint32_t conn, len;
    uint8_t *body, data[4 + 4096];
    g_autofree uint8_t *pcm = g_malloc(0x4000);
    Chan m, rec;

    conn = link_main(&m, port);
    spice_link(&rec, port, conn, SPICE_CHANNEL_RECORD);
    cfg_writel(qts, ac97, 0x10, NAM);
    cfg_writel(qts, ac97, 0x14, NABM);
    cfg_writew(qts, ac97, 0x04, 0x5);           /* I/O, bus master */
    qtest_memset(qts, PCM_RAM, 0xaa, 0x4000);
    qtest_writel(qts, BDL_RAM, PCM_RAM);
    qtest_writel(qts, BDL_RAM + 4, 0x2000);     /* 8192 samples, 16 KiB */
    qtest_outl(qts, NABM + AC97_PI_BDBAR, BDL_RAM);
    qtest_outb(qts, NABM + AC97_PI_LVI, 0);
    qtest_outb(qts, NABM + AC97_PI_CR, 1);      /* run */
    qtest_clock_step(qts, 1000 * 1000);
    body = chan_expect(&rec, SPICE_MSG_RECORD_START, &len);
    g_assert_cmpuint(len, >=, 10);
    g_assert_cmpuint(ld32(body), ==, 2);                    /* channels */
    g_assert_cmpuint(ld16(body + 4), ==, SPICE_AUDIO_FMT_S16);
    g_free(body);
    /* raw samples: a constant survives any resampling unchanged */
    st32(data, 0);
    st16(data + 4, SPICE_AUDIO_DATA_MODE_RAW);
    chan_send(&rec, SPICE_MSGC_RECORD_MODE, data, 6);
    for (unsigned i = 4; i < sizeof(data); i += 2) {
        st16(data + i, CAPTURE_SAMPLE);
    }
    for (int i = 0; i < 16; i++) {      /* 16384 frames, about 0.37 s */
        st32(data, i);
        chan_send(&rec, SPICE_MSGC_RECORD_DATA, data, sizeof(data));
    }
    /* let the server take them, then capture 60 ms */
    g_usleep(300 * 1000);
    for (int step = 0; step < 6; step++) {
        qtest_clock_step(qts, 10 * 1000 * 1000);
    }
    qtest_memread(qts, PCM_RAM, pcm, 0x4000);
    for (unsigned i = 0; i + 1 < 0x4000; i += 2) {
        found += ld16(pcm + i) == CAPTURE_SAMPLE;
    }
    /* most of the 60 ms (5760 samples at 48 kHz) are the client's */
    g_assert_cmpuint(found, >, 2000);
    close(rec.fd);
    close(m.fd);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/spice/cursor", test_cursor);
    g_test_add_func("/spice/playback", test_playback);
    g_test_add_func("/spice/record", test_record);
    return g_test_run();
}
