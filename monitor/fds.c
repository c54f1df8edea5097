/*
 * Named file descriptors (include/monitor/fds.h): QMP getfd / closefd.
 * QEMU keeps them per monitor; here the table is global, which gives
 * the same results for one management connection.
 */
#include "qemu/osdep.h"
#include "monitor/fds.h"
#include "qemu/fdset.h"
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

static GHashTable *named_fds;   /* name -> fd + 1 */

static GHashTable *fd_table(void)
{
    if (!named_fds) {
        named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          NULL);
    }
    return named_fds;
}

void monitor_fd_add(const char *name, int fd)
{
    gpointer old;

    if (g_hash_table_lookup_extended(fd_table(), name, NULL, &old)) {
        close(GPOINTER_TO_INT(old) - 1);
    }
    g_hash_table_insert(fd_table(), g_strdup(name), GINT_TO_POINTER(fd + 1));
}

bool monitor_fd_close(const char *name, GError **errp)
{
    gpointer v;

    if (!g_hash_table_lookup_extended(fd_table(), name, NULL, &v)) {
        error_setg(errp, "File descriptor named '%s' not found", name);
        return false;
    }
    close(GPOINTER_TO_INT(v) - 1);
    g_hash_table_remove(fd_table(), name);
    return true;
}

int monitor_fd_take(const char *name, GError **errp)
{
    gpointer v;

    if (!g_hash_table_lookup_extended(fd_table(), name, NULL, &v)) {
        error_setg(errp, "File descriptor named '%s' has not been found",
                   name);
        return -1;
    }
    g_hash_table_remove(fd_table(), name);
    return GPOINTER_TO_INT(v) - 1;
}

void qmp_getfd(const char *fdname, GError **errp)
{
    Monitor *mon = monitor_cur();
    int fd = mon ? qemu_chr_fe_get_msgfd(mon->chr) : -1;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return;
    }
    if (g_ascii_isdigit(fdname[0])) {
        close(fd);
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                   "with a digit");
        return;
    }
    monitor_fd_add(fdname, fd);
}

void qmp_closefd(const char *fdname, GError **errp)
{
    monitor_fd_close(fdname, errp);
}

/* ---- fdsets: add-fd, remove-fd, query-fdsets -------------------------- */

AddfdInfo *qmp_add_fd(bool has_fdset_id, int64_t fdset_id, const char *opaque,
                      GError **errp)
{
    Monitor *mon = monitor_cur();
    int fd = mon ? qemu_chr_fe_get_msgfd(mon->chr) : -1;
    AddfdInfo *info;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return NULL;
    }
    if (!has_fdset_id) {
        fdset_id = fdset_free_id();
    }
    if (!fdset_add_fd(fdset_id, fd, opaque, errp)) {
        close(fd);
        return NULL;
    }
    info = g_new0(AddfdInfo, 1);
    info->fdset_id = fdset_id;
    info->fd = fd;
    return info;
}

void qmp_remove_fd(int64_t fdset_id, bool has_fd, int64_t fd, GError **errp)
{
    fdset_remove(fdset_id, has_fd ? fd : -1, errp);
}

FdsetInfoList *qmp_query_fdsets(GError **errp)
{
    g_autoptr(GArray) ids = fdset_ids();
    FdsetInfoList *list = NULL, **tail = &list;

    for (guint i = 0; i < ids->len; i++) {
        int64_t id = g_array_index(ids, int64_t, i);
        GPtrArray *fds = fdset_fds(id);
        FdsetInfo *info = g_new0(FdsetInfo, 1);
        FdsetFdInfoList **ftail = &info->fds;

        info->fdset_id = id;
        for (guint j = 0; j < fds->len; j++) {
            FdsetFd *f = g_ptr_array_index(fds, j);
            FdsetFdInfo *fi = g_new0(FdsetFdInfo, 1);
            fi->fd = f->fd;
            fi->opaque = g_strdup(f->opaque);
            *ftail = g_new0(FdsetFdInfoList, 1);
            (*ftail)->value = fi;
            ftail = &(*ftail)->next;
        }
        *tail = g_new0(FdsetInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return list;
}
