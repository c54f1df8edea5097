/*
 * "pipe" backend: a named pipe pair PATH.in (input) / PATH.out (output),
 * or one bidirectional PATH when the pair does not exist (QEMU's rule).
 *
 * The pipes are opened read-write so that opening never blocks and a
 * writer going away on the other side is not an end of input.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "chardev/char-fd.h"
#include <fcntl.h>

typedef struct PipeState {
    int fd_out;
    ChrFdReader reader;
} PipeState;

static bool pipe_open_fds(const char *path, int *fd_in, int *fd_out,
                          GError **errp)
{
    g_autofree char *in_path = g_strdup_printf("%s.in", path);
    g_autofree char *out_path = g_strdup_printf("%s.out", path);
    int flags = O_RDWR | O_CLOEXEC | O_NONBLOCK;

    *fd_in = open(in_path, flags);
    *fd_out = open(out_path, flags);
    if (*fd_in >= 0 && *fd_out >= 0) {
        return true;
    }
    if (*fd_in >= 0) {
        close(*fd_in);
    }
    if (*fd_out >= 0) {
        close(*fd_out);
    }
    *fd_in = *fd_out = open(path, flags);
    if (*fd_in < 0) {
        error_setg(errp, "Could not open '%s': %s", path, g_strerror(errno));
        return false;
    }
    return true;
}

static bool pipe_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    PipeState *s = chr->state;
    const char *path = g_hash_table_lookup(opts, "path");
    int fd_in;

    if (!path || !*path) {
        error_setg(errp, "chardev: pipe: no device path given");
        return false;
    }
    if (!pipe_open_fds(path, &fd_in, &s->fd_out, errp)) {
        return false;
    }
    chr_fd_reader_start(chr, &s->reader, fd_in);
    chr->be_open = true;
    chr->filename = g_strdup_printf("pipe:%s", path);
    return true;
}

static int pipe_write(Chardev *chr, const uint8_t *buf, int len)
{
    PipeState *s = chr->state;
    return chr_fd_write_all(s->fd_out, buf, len);
}

static void pipe_accept_input(Chardev *chr)
{
    PipeState *s = chr->state;
    chr_fd_reader_resume(chr, &s->reader);
}

static void pipe_close(Chardev *chr)
{
    PipeState *s = chr->state;

    chr_fd_reader_stop(&s->reader);
    if (s->reader.fd != s->fd_out) {
        close(s->reader.fd);
    }
    close(s->fd_out);
}

static const char *const pipe_opts[] = {
    "path", NULL,
};

static const ChardevDriver pipe_driver = {
    .name = "pipe",
    .opts = pipe_opts,
    .open = pipe_open,
    .write = pipe_write,
    .accept_input = pipe_accept_input,
    .close = pipe_close,
    .state_size = sizeof(PipeState),
};

static void pipe_register(void)
{
    chardev_driver_register(&pipe_driver);
}
chardev_init(pipe_register)
