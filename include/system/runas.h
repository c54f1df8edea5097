/*
 * -runas USER|UID:GID and -chroot DIR (QEMU 7.2's os-posix options): kvmpc
 * opens everything as the user who started it, then confines itself to
 * DIR and drops to USER before the guest runs.  See system/runas.c and
 * docs/options.md.
 */
#ifndef SYSTEM_RUNAS_H
#define SYSTEM_RUNAS_H
#include "qemu/osdep.h"

/* Look the user up now, while /etc/passwd is still reachable; either
 * argument may be NULL.  False with @errp for an unknown user. */
bool runas_prepare(const char *user, const char *chroot_dir, GError **errp);
/* chroot(), then setgid/setgroups/setuid, as prepared; no-op without the
 * options.  False with @errp if any step fails (kvmpc then exits). */
bool runas_apply(GError **errp);

#endif
