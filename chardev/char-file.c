/*
 * "file" backend (output to path=, optional input from in=) and "null".
 */
#include "qemu/osdep.h"
#include "qemu/fdset.h"
#include "chardev/char.h"
#include "chardev/char-fd.h"
#include <fcntl.h>

typedef struct FileState {
    int out_fd;
    ChrFdReader reader;
} FileState;

static bool file_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    FileState *s = chr->state;
    const char *path = g_hash_table_lookup(opts, "path");
    const char *in = g_hash_table_lookup(opts, "in");
    const char *append = g_hash_table_lookup(opts, "append");
    bool do_append = false;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;

    if (!path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    if (append && !parse_bool(append, &do_append, errp)) {
        return false;
    }
    flags |= do_append ? O_APPEND : O_TRUNC;
    s->out_fd = qemu_open(path, flags, 0666);     /* also /dev/fdset/N */
    if (s->out_fd < 0) {
        error_setg(errp, "Could not open '%s': %s", path, g_strerror(errno));
        return false;
    }
    s->reader.fd = -1;
    if (in) {
        int in_fd = open(in, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (in_fd < 0) {
            error_setg(errp, "Could not open '%s': %s", in, g_strerror(errno));
            close(s->out_fd);
            return false;
        }
        chr_fd_reader_start(chr, &s->reader, in_fd);
    }
    chr->be_open = true;
    chr->filename = g_strdup_printf("file:%s", path);
    return true;
}

static int file_write(Chardev *chr, const uint8_t *buf, int len)
{
    FileState *s = chr->state;
    return chr_fd_write_all(s->out_fd, buf, len);
}

static void file_accept_input(Chardev *chr)
{
    FileState *s = chr->state;
    chr_fd_reader_resume(chr, &s->reader);
}

static void file_close(Chardev *chr)
{
    FileState *s = chr->state;

    chr_fd_reader_stop(&s->reader);
    if (s->reader.fd >= 0) {
        close(s->reader.fd);
    }
    close(s->out_fd);
}

static const char *const file_opts[] = {
    "path", "in", "append", NULL,
};

static const ChardevDriver file_driver = {
    .name = "file",
    .opts = file_opts,
    .open = file_open,
    .write = file_write,
    .accept_input = file_accept_input,
    .close = file_close,
    .state_size = sizeof(FileState),
};

static bool null_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    chr->be_open = true;
    chr->filename = g_strdup("null");
    return true;
}

static int null_write(Chardev *chr, const uint8_t *buf, int len)
{
    return len;
}

static const char *const null_opts[] = {
    NULL,
};

static const ChardevDriver null_driver = {
    .name = "null",
    .opts = null_opts,
    .open = null_open,
    .write = null_write,
};

static void file_register(void)
{
    chardev_driver_register(&file_driver);
    chardev_driver_register(&null_driver);
}
chardev_init(file_register)
