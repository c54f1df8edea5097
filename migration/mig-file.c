/*
 * The migration byte stream (include/migration/mig-file.h).
 */
#include "qemu/osdep.h"
#include "migration/mig-file.h"
#include <poll.h>

static MigFile *mig_file_alloc(int fd, bool writing)
{
    MigFile *f = g_new0(MigFile, 1);

    f->fd = fd;
    f->writing = writing;
    if (writing) {
        f->wbuf = g_malloc(MIG_WBUF_SIZE);
    } else {
        f->rbuf = g_malloc(MIG_RBUF_SIZE);
    }
    return f;
}

MigFile *mig_file_new_fd(int fd, bool writing)
{
    return mig_file_alloc(fd, writing);
}

MigFile *mig_file_new_mem(const uint8_t *buf, size_t len)
{
    MigFile *f = mig_file_alloc(-1, false);

    f->mem = buf;
    f->mem_len = len;
    return f;
}

MigFile *mig_file_new_membuf(GByteArray *out)
{
    MigFile *f = mig_file_alloc(-1, true);

    f->out = out;
    return f;
}

MigFile *mig_file_new_sink(bool (*sink)(void *opaque, const struct iovec *iov,
                                        unsigned n, GError **errp),
                           void *opaque)
{
    MigFile *f = mig_file_alloc(-1, true);

    f->sink = sink;
    f->opaque = opaque;
    return f;
}

MigFile *mig_file_new_source(ssize_t (*source)(void *opaque, void *buf,
                                               size_t len, GError **errp),
                             void *opaque)
{
    MigFile *f = mig_file_alloc(-1, false);

    f->source = source;
    f->opaque = opaque;
    return f;
}

const GError *mig_file_error(const MigFile *f)
{
    return f->error;
}

void mig_file_set_error(MigFile *f, const char *fmt, ...)
{
    va_list ap;

    if (f->error) {
        return;
    }
    va_start(ap, fmt);
    f->error = g_error_new_valist(KVMPC_ERROR, KVMPC_ERROR_GENERIC, fmt, ap);
    va_end(ap);
}

void mig_file_free(MigFile *f)
{
    if (!f) {
        return;
    }
    g_free(f->wbuf);
    g_free(f->rbuf);
    if (f->error) {
        g_error_free(f->error);
    }
    g_free(f);
}

bool mig_file_close(MigFile *f, GError **errp)
{
    bool ok;

    if (f->writing) {
        mig_file_flush(f);
    }
    if (f->fd >= 0 && close(f->fd) < 0 && !f->error && f->writing) {
        mig_file_set_error(f, "closing the migration stream: %s",
                           g_strerror(errno));
    }
    ok = !f->error;
    if (!ok && errp) {
        *errp = g_error_copy(f->error);
    }
    f->fd = -1;
    mig_file_free(f);
    return ok;
}

/* ---- writing -------------------------------------------------------- */

/* writev everything in f->iov, resuming after partial writes. */
static void flush_iov(MigFile *f)
{
    struct iovec *iov = f->iov;
    unsigned n = f->niov;

    while (n && !f->error) {
        ssize_t done;

        if (f->sink) {
            GError *err = NULL;
            if (f->sink(f->opaque, iov, n, &err)) {
                f->transferred += f->pending;
            } else {
                mig_file_set_error(f, "%s", err->message);
                g_error_free(err);
            }
            break;
        }
        if (f->out) {
            for (unsigned i = 0; i < n; i++) {
                g_byte_array_append(f->out, iov[i].iov_base, iov[i].iov_len);
            }
            f->transferred += f->pending;
            break;
        }
        done = writev(f->fd, iov, n);
        if (done < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd p = { .fd = f->fd, .events = POLLOUT };
                poll(&p, 1, -1);
                continue;
            }
            mig_file_set_error(f, "writing the migration stream: %s",
                               g_strerror(errno));
            break;
        }
        f->transferred += done;
        while (n && (size_t)done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    f->niov = 0;
    f->wlen = 0;
    f->pending = 0;
}

bool mig_file_flush(MigFile *f)
{
    if (f->niov) {
        flush_iov(f);
    }
    return !f->error;
}

static void add_iov(MigFile *f, const void *p, size_t len)
{
    struct iovec *last = f->niov ? &f->iov[f->niov - 1] : NULL;

    if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
        last->iov_len += len;       /* contiguous: one piece */
    } else {
        if (f->niov == MIG_IOV_MAX) {
            flush_iov(f);
        }
        f->iov[f->niov].iov_base = (void *)p;
        f->iov[f->niov].iov_len = len;
        f->niov++;
    }
    f->pending += len;
}

void mig_put_buffer(MigFile *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len && !f->error) {
        size_t n;

        if (f->wlen == MIG_WBUF_SIZE || f->niov == MIG_IOV_MAX) {
            flush_iov(f);
        }
        n = MIN(len, MIG_WBUF_SIZE - f->wlen);
        memcpy(f->wbuf + f->wlen, p, n);
        add_iov(f, f->wbuf + f->wlen, n);
        f->wlen += n;
        p += n;
        len -= n;
    }
}

void mig_put_page(MigFile *f, const void *p, size_t len)
{
    if (f->error) {
        return;
    }
    if (f->niov == MIG_IOV_MAX) {
        flush_iov(f);
    }
    add_iov(f, p, len);
}

void mig_put_u8(MigFile *f, uint8_t v)
{
    mig_put_buffer(f, &v, 1);
}

void mig_put_u16(MigFile *f, uint16_t v)
{
    uint8_t b[2] = { v >> 8, v };

    mig_put_buffer(f, b, 2);
}

void mig_put_u32(MigFile *f, uint32_t v)
{
    uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

    mig_put_buffer(f, b, 4);
}

void mig_put_u64(MigFile *f, uint64_t v)
{
    mig_put_u32(f, v >> 32);
    mig_put_u32(f, v);
}

void mig_put_str(MigFile *f, const char *s)
{
    size_t len = MIN(strlen(s), 0xffff);

    mig_put_u16(f, len);
    mig_put_buffer(f, s, len);
}

/* ---- reading -------------------------------------------------------- */

/* Read up to @len bytes from the source; 0 at the end, -1 on error. */
static ssize_t source_read(MigFile *f, void *buf, size_t len)
{
    if (f->source) {
        GError *err = NULL;
        ssize_t n = f->source(f->opaque, buf, len, &err);
        if (n < 0) {
            mig_file_set_error(f, "%s", err ? err->message : "read error");
            g_clear_error(&err);
        }
        return n;
    }
    if (f->fd < 0) {
        size_t n = MIN(len, f->mem_len - f->mem_pos);
        memcpy(buf, f->mem + f->mem_pos, n);
        f->mem_pos += n;
        return n;
    }
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            struct pollfd p = { .fd = f->fd, .events = POLLIN };
            poll(&p, 1, -1);
            continue;
        }
        mig_file_set_error(f, "reading the migration stream: %s",
                           g_strerror(errno));
        return -1;
    }
}

bool mig_get_buffer(MigFile *f, void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t want = len;

    while (len && !f->error) {
        size_t avail = f->rlen - f->rpos;
        ssize_t n;

        if (avail) {
            n = MIN(avail, len);
            memcpy(p, f->rbuf + f->rpos, n);
            f->rpos += n;
        } else if (len >= MIG_RBUF_SIZE / 2) {
            n = source_read(f, p, len);     /* big: straight to @buf */
        } else {
            n = source_read(f, f->rbuf, MIG_RBUF_SIZE);
            if (n > 0) {
                f->rpos = 0;
                f->rlen = n;
                continue;
            }
        }
        if (n < 0) {
            break;
        }
        if (n == 0) {
            mig_file_set_error(f, "the migration stream ended early");
            break;
        }
        p += n;
        len -= n;
    }
    if (f->error) {
        memset(buf, 0, want);
        return false;
    }
    f->transferred += want;
    return true;
}

uint8_t mig_get_u8(MigFile *f)
{
    uint8_t b = 0;

    mig_get_buffer(f, &b, 1);
    return b;
}

uint16_t mig_get_u16(MigFile *f)
{
    uint8_t b[2];

    mig_get_buffer(f, b, 2);
    return b[0] << 8 | b[1];
}

uint32_t mig_get_u32(MigFile *f)
{
    uint8_t b[4];

    mig_get_buffer(f, b, 4);
    return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

uint64_t mig_get_u64(MigFile *f)
{
    uint64_t hi = mig_get_u32(f);

    return hi << 32 | mig_get_u32(f);
}

char *mig_get_str(MigFile *f, size_t max)
{
    size_t len = mig_get_u16(f);
    char *s;

    if (f->error) {
        return NULL;
    }
    if (len > max) {
        mig_file_set_error(f, "a name in the migration stream is too long "
                           "(%zu bytes)", len);
        return NULL;
    }
    s = g_malloc(len + 1);
    if (!mig_get_buffer(f, s, len)) {
        g_free(s);
        return NULL;
    }
    s[len] = 0;
    for (char *c = s; *c; c++) {
        if (!g_ascii_isprint(*c)) {
            *c = '?';       /* names end up in error messages */
        }
    }
    return s;
}
