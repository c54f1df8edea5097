/* Without libslirp: the user backend is absent (docs/net.md). */
#include "qemu/osdep.h"
#include "net/net.h"

bool net_slirp_hostfwd_add(const char *id, const char *rule, GError **errp)
{
    error_setg(errp, "user mode network stack not in use");
    return false;
}

bool net_slirp_hostfwd_remove(const char *id, const char *rule,
                              GError **errp)
{
    error_setg(errp, "user mode network stack not in use");
    return false;
}
