/*
 * File descriptor sets (QEMU's "fdsets"): descriptors handed to kvmpc
 * with -add-fd or QMP add-fd, grouped by set id, that any option naming
 * a file can use as "/dev/fdset/N" (libvirt passes disk images and other
 * files this way, so kvmpc needs no permission to open them itself).
 * util/fdset.c; QMP add-fd / remove-fd / query-fdsets in monitor/fds.c.
 */
#ifndef QEMU_FDSET_H
#define QEMU_FDSET_H
#include "qemu/osdep.h"
#include <fcntl.h>

typedef struct FdsetFd {
    int fd;
    char *opaque;
} FdsetFd;

/* Add @fd (kvmpc owns it from now on) to set @set_id (created as needed);
 * @opaque is a free-form label.  False with @errp on a bad fd. */
bool fdset_add_fd(int64_t set_id, int fd, const char *opaque, GError **errp);
/* Remove one fd (@fd >= 0) or the whole set (@fd < 0); the descriptors
 * are closed, except ones still dup'ed into use, whose originals close
 * when those go.  False with @errp when there is no such set or fd. */
bool fdset_remove(int64_t set_id, int fd, GError **errp);
/* Ids of the sets, in order; each set's fds (do not modify). */
GArray *fdset_ids(void);
GPtrArray *fdset_fds(int64_t set_id);
/* A set id not in use (for add-fd without fdset-id). */
int64_t fdset_free_id(void);

/*
 * open(2), with "/dev/fdset/N" meaning a dup of the descriptor in set N
 * whose access mode (O_RDONLY/O_WRONLY/O_RDWR) is @flags' (O_DIRECT is
 * applied to the dup when asked).  Returns the fd, or -1 with errno
 * (ENOENT: no such set, EACCES: no descriptor with that access mode).
 */
int qemu_open(const char *path, int flags, mode_t mode);

#endif
