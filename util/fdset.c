/*
 * File descriptor sets (include/qemu/fdset.h).
 */
#include "qemu/osdep.h"
#include "qemu/fdset.h"

typedef struct Fdset {
    int64_t id;
    GPtrArray *fds;         /* FdsetFd * */
} Fdset;

static GPtrArray *fdsets;   /* Fdset *, by ascending id */

static Fdset *fdset_find(int64_t id)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);
        if (s->id == id) {
            return s;
        }
    }
    return NULL;
}

static void fdset_fd_free(gpointer p)
{
    FdsetFd *f = p;

    close(f->fd);
    g_free(f->opaque);
    g_free(f);
}

static gint fdset_cmp(gconstpointer a, gconstpointer b)
{
    const Fdset *x = *(Fdset *const *)a, *y = *(Fdset *const *)b;

    return x->id < y->id ? -1 : x->id > y->id;
}

bool fdset_add_fd(int64_t set_id, int fd, const char *opaque, GError **errp)
{
    Fdset *s;
    FdsetFd *f;

    if (set_id < 0) {
        error_setg(errp, "Parameter 'fdset-id' expects a non-negative value");
        return false;
    }
    if (fd <= STDERR_FILENO || fcntl(fd, F_GETFL) < 0) {
        error_setg(errp, "fd %d is not a valid descriptor for an fdset", fd);
        return false;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    s = fdset_find(set_id);
    if (!s) {
        if (!fdsets) {
            fdsets = g_ptr_array_new();
        }
        s = g_new0(Fdset, 1);
        s->id = set_id;
        s->fds = g_ptr_array_new_with_free_func(fdset_fd_free);
        g_ptr_array_add(fdsets, s);
        g_ptr_array_sort(fdsets, fdset_cmp);
    }
    f = g_new0(FdsetFd, 1);
    f->fd = fd;
    f->opaque = g_strdup(opaque);
    g_ptr_array_add(s->fds, f);
    return true;
}

bool fdset_remove(int64_t set_id, int fd, GError **errp)
{
    Fdset *s = fdset_find(set_id);

    if (!s) {
        error_setg(errp, "File descriptor named 'fdset-id:%" PRId64 "' not "
                   "found", set_id);
        return false;
    }
    if (fd >= 0) {
        for (guint i = 0; i < s->fds->len; i++) {
            FdsetFd *f = g_ptr_array_index(s->fds, i);
            if (f->fd == fd) {
                g_ptr_array_remove_index(s->fds, i);
                goto maybe_drop_set;
            }
        }
        error_setg(errp, "File descriptor named 'fdset-id:%" PRId64
                   ", fd:%d' not found", set_id, fd);
        return false;
    }
    g_ptr_array_set_size(s->fds, 0);
maybe_drop_set:
    if (!s->fds->len) {
        g_ptr_array_remove(fdsets, s);
        g_ptr_array_unref(s->fds);
        g_free(s);
    }
    return true;
}

GArray *fdset_ids(void)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));

    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *s = g_ptr_array_index(fdsets, i);
        g_array_append_val(ids, s->id);
    }
    return ids;
}

GPtrArray *fdset_fds(int64_t set_id)
{
    Fdset *s = fdset_find(set_id);

    return s ? s->fds : NULL;
}

int64_t fdset_free_id(void)
{
    int64_t id = 0;

    while (fdset_find(id)) {
        id++;
    }
    return id;
}

static int fdset_dup(const char *path, int flags)
{
    const char *num = path + strlen("/dev/fdset/");
    uint64_t id;
    Fdset *s;

    if (!parse_uint(num, &id, NULL) || id > INT64_MAX ||
        !(s = fdset_find((int64_t)id))) {
        errno = ENOENT;
        return -1;
    }
    for (guint i = 0; i < s->fds->len; i++) {
        FdsetFd *f = g_ptr_array_index(s->fds, i);
        int fl = fcntl(f->fd, F_GETFL);
        int dup;

        if (fl < 0 || (fl & O_ACCMODE) != (flags & O_ACCMODE)) {
            continue;
        }
        dup = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) {
            return -1;
        }
        /* the dup shares the file description: O_DIRECT/O_APPEND follow */
        if ((flags & (O_DIRECT | O_APPEND | O_NONBLOCK)) !=
            (fl & (O_DIRECT | O_APPEND | O_NONBLOCK)) &&
            fcntl(dup, F_SETFL, (fl & ~(O_DIRECT | O_APPEND | O_NONBLOCK)) |
                  (flags & (O_DIRECT | O_APPEND | O_NONBLOCK))) < 0) {
            int e = errno;
            close(dup);
            errno = e;
            return -1;
        }
        return dup;
    }
    errno = EACCES;
    return -1;
}

int qemu_open(const char *path, int flags, mode_t mode)
{
    if (g_str_has_prefix(path, "/dev/fdset/")) {
        return fdset_dup(path, flags);
    }
    return open(path, flags | O_CLOEXEC, mode);
}
