/*
 * The test as a NIC's network peer: a "stream" netdev connects to a UNIX
 * socket the test listens on; frames travel as QEMU's stream format
 * (4-byte big-endian length, then the frame).  Used by the e1000 and
 * rtl8139 tests (header-only: each test program includes it once).
 */
#ifndef LIBQNET_H
#define LIBQNET_H
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

typedef struct QNetPeer {
    int sock;
    int lfd;
    char *dir;
    char *path;
    char *qmp_path;
} QNetPeer;

/* Listen on a fresh socket; qnet_netdev_arg() names it for -netdev. */
static inline void qnet_listen(QNetPeer *p)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    p->dir = g_dir_make_tmp("kvmpc-nic-XXXXXX", NULL);
    g_assert(p->dir);
    p->path = g_build_filename(p->dir, "net.sock", NULL);
    p->qmp_path = g_build_filename(p->dir, "qmp.sock", NULL);
    p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(p->lfd, >=, 0);
    g_strlcpy(sun.sun_path, p->path, sizeof(sun.sun_path));
    g_assert_cmpint(bind(p->lfd, (struct sockaddr *)&sun, sizeof(sun)), ==,
                    0);
    g_assert_cmpint(listen(p->lfd, 1), ==, 0);
}

static inline char *qnet_netdev_arg(QNetPeer *p, const char *id)
{
    return g_strdup_printf("-netdev stream,id=%s,addr.type=unix,"
                           "addr.path=%s", id, p->path);
}

static inline void qnet_accept(QNetPeer *p)
{
    p->sock = accept(p->lfd, NULL, NULL);
    g_assert_cmpint(p->sock, >=, 0);
    close(p->lfd);
    unlink(p->path);
}

static inline void qnet_close(QNetPeer *p)
{
    close(p->sock);
    unlink(p->qmp_path);
    rmdir(p->dir);
    g_free(p->dir);
    g_free(p->path);
    g_free(p->qmp_path);
}

static inline bool qnet_read_full(int fd, void *buf, size_t len,
                                  int timeout_ms)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pf, 1, timeout_ms) <= 0) {
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
static inline ssize_t qnet_recv(QNetPeer *p, uint8_t *buf, size_t max,
                                int timeout_ms)
{
    uint8_t be[4];
    uint32_t len;

    if (!qnet_read_full(p->sock, be, 4, timeout_ms)) {
        return -1;
    }
    len = (uint32_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
    g_assert_cmpuint(len, <=, max);
    g_assert(qnet_read_full(p->sock, buf, len, 5000));
    return len;
}

static inline void qnet_send(QNetPeer *p, const uint8_t *frame, size_t len)
{
    uint8_t *buf = g_malloc(len + 4);

    buf[0] = len >> 24;
    buf[1] = len >> 16;
    buf[2] = len >> 8;
    buf[3] = len;
    memcpy(buf + 4, frame, len);
    g_assert_cmpint(send(p->sock, buf, len + 4, 0), ==, (ssize_t)len + 4);
    g_free(buf);
}

/* A test frame: @dst, a fixed source, ethertype 0x88b5, a pattern. */
static inline size_t qnet_make_frame(uint8_t *f, const uint8_t *dst,
                                     uint32_t seq, size_t len)
{
    static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (size_t i = 14; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + seq);
    }
    return len;
}

/* The Ethernet FCS (CRC-32, reflected) as the NIC appends it. */
static inline uint32_t qnet_crc32(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffff;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (unsigned k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (crc & 1 ? 0xedb88320 : 0);
        }
    }
    return ~crc;
}

/* RFC 1071 checksum of @len bytes, folded, not complemented. */
static inline uint16_t qnet_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (p[i] << 8) | p[i + 1];
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

#endif
