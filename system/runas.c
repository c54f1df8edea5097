/*
 * -runas and -chroot.  The user is resolved at start-up (inside the chroot
 * there may be no /etc/passwd) and applied after every file, socket and
 * device is open: chroot first (it needs root), then the groups, the gid
 * and last the uid, so that nothing of root's remains.  A failure at any
 * step is fatal, as in QEMU: running on as root when the user asked for
 * less would be worse than not running.
 */
#include "qemu/osdep.h"
#include "system/runas.h"

#include <grp.h>
#include <pwd.h>

static struct {
    bool set_user;
    uid_t uid;
    gid_t gid;
    char *user_name;        /* NULL for the numeric form: no supplementary
                             * groups to look up */
    char *chroot_dir;
} runas;

/* "UID:GID", both decimal: QEMU's form for users without a passwd entry. */
static bool parse_numeric(const char *s, uid_t *uid, gid_t *gid)
{
    unsigned long u, g;
    char *end;

    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    errno = 0;
    u = strtoul(s, &end, 10);
    if (errno || *end != ':' || !g_ascii_isdigit(end[1])) {
        return false;
    }
    g = strtoul(end + 1, &end, 10);
    if (errno || *end || u > UINT32_MAX - 1 || g > UINT32_MAX - 1) {
        return false;
    }
    *uid = u;
    *gid = g;
    return true;
}

bool runas_prepare(const char *user, const char *chroot_dir, GError **errp)
{
    if (chroot_dir) {
        runas.chroot_dir = g_strdup(chroot_dir);
    }
    if (!user) {
        return true;
    }
    runas.set_user = true;
    if (parse_numeric(user, &runas.uid, &runas.gid)) {
        return true;
    }
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        error_setg(errp, "User \"%s\" doesn't exist", user);
        return false;
    }
    runas.uid = pw->pw_uid;
    runas.gid = pw->pw_gid;
    runas.user_name = g_strdup(user);
    return true;
}

static bool drop_to_user(GError **errp)
{
    if (setgid(runas.gid) < 0) {
        error_setg(errp, "-runas: Failed to setgid(%u): %s",
                   (unsigned)runas.gid, g_strerror(errno));
        return false;
    }
    if (runas.user_name ? initgroups(runas.user_name, runas.gid) < 0 :
                          setgroups(1, &runas.gid) < 0) {
        error_setg(errp, "-runas: Failed to set the groups of %s: %s",
                   runas.user_name ? runas.user_name : "the user",
                   g_strerror(errno));
        return false;
    }
    if (setuid(runas.uid) < 0) {
        error_setg(errp, "-runas: Failed to setuid(%u): %s",
                   (unsigned)runas.uid, g_strerror(errno));
        return false;
    }
    /* A uid that could become root again would defeat the option. */
    if (runas.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        error_setg(errp, "-runas: could still regain root after setuid(%u)",
                   (unsigned)runas.uid);
        return false;
    }
    return true;
}

bool runas_apply(GError **errp)
{
    if (runas.chroot_dir) {
        if (chroot(runas.chroot_dir) < 0) {
            error_setg(errp, "-chroot %s: chroot failed: %s",
                       runas.chroot_dir, g_strerror(errno));
            return false;
        }
        if (chdir("/") < 0) {
            error_setg(errp, "-chroot %s: not able to chdir to /: %s",
                       runas.chroot_dir, g_strerror(errno));
            return false;
        }
    }
    return !runas.set_user || drop_to_user(errp);
}
