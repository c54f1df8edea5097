/*
 * Migration channels: QEMU's URIs (tcp:, unix:, exec:, file:, fd:) to
 * blocking file descriptors.  See migration/channel.c.
 */
#ifndef MIGRATION_CHANNEL_H
#define MIGRATION_CHANNEL_H
#include "qemu/osdep.h"

/* Syntax only: a known scheme with something after it. */
bool migration_uri_check(const char *uri, GError **errp);
/*
 * Outgoing: connect / spawn / open for writing.  Incoming (exec:, file:,
 * fd:): spawn / open for reading.  *@pid is the exec: child or 0.
 * Returns the fd or -1.
 */
int migration_channel_open(const char *uri, bool outgoing, GPid *pid,
                           GError **errp);
/* tcp: and unix: destinations listen for one connection. */
bool migration_channel_is_listener(const char *uri);
int migration_channel_listen(const char *uri, GError **errp);
int migration_channel_accept(int listen_fd, bool tcp);
/* Wait for an exec: child to end. */
void migration_channel_reap(GPid pid);

#endif
