/*
 * -sandbox on[,obsolete=allow|deny][,elevateprivileges=allow|deny|children]
 * [,spawn=allow|deny][,resourcecontrol=allow|deny]: a seccomp-bpf filter
 * (libseccomp) on every thread, QEMU's groups and defaults.  See
 * system/sandbox.c and docs/options.md.
 */
#ifndef SYSTEM_SANDBOX_H
#define SYSTEM_SANDBOX_H
#include "qemu/osdep.h"

/* Parse the option now (errors are start-up errors); false with @errp. */
bool sandbox_parse(const char *arg, GError **errp);
/* Install the filter on every thread (after start-up); no-op unless
 * -sandbox on was given. */
bool sandbox_install(GError **errp);

#endif
