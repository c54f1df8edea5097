/*
 * Named file descriptors passed to the monitor (QMP/HMP getfd, closefd),
 * for the commands that name them (migrate "fd:NAME").
 */
#ifndef MONITOR_FDS_H
#define MONITOR_FDS_H
#include "qemu/osdep.h"

/* Keep @fd under @name (an older one of that name is closed). */
void monitor_fd_add(const char *name, int fd);
/* Close and forget; false (with QEMU's error) when there is none. */
bool monitor_fd_close(const char *name, GError **errp);
/* Hand the descriptor over to the caller (it leaves the table). */
int monitor_fd_take(const char *name, GError **errp);

#endif
