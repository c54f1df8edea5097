/*
 * Whole-buffer socket reads and writes (include/qemu/sockets-io.h).
 */
#include "qemu/osdep.h"
#include "qemu/sockets-io.h"
#include <sys/socket.h>

bool io_read_full(IoReadFn *rd, void *opaque, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = rd(opaque, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

bool io_write_full(IoWriteFn *wr, void *opaque, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = wr(opaque, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

static ssize_t sock_recv(void *opaque, void *buf, size_t len)
{
    return recv(*(int *)opaque, buf, len, 0);
}

static ssize_t sock_send(void *opaque, const void *buf, size_t len)
{
    return send(*(int *)opaque, buf, len, MSG_NOSIGNAL);
}

bool sock_read_full(int fd, void *buf, size_t len)
{
    return io_read_full(sock_recv, &fd, buf, len);
}

bool sock_write_full(int fd, const void *buf, size_t len)
{
    return io_write_full(sock_send, &fd, buf, len);
}
