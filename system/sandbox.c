/*
 * The -sandbox filter (include/system/sandbox.h).
 *
 * QEMU's model, with its group names and defaults, so libvirt's
 * "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,
 * resourcecontrol=deny" means the same here:
 *   always denied      system calls no emulator needs: reboot, swapon/off,
 *                      syslog, mount/umount, kexec, and the unimplemented
 *                      historical ones;
 *   obsolete=deny      (default) obsolete calls (readdir, _sysctl, uselib...)
 *   elevateprivileges  deny (default allow): the set*id family;
 *                      children: only for processes kvmpc would spawn
 *                      (no_new_privs), as QEMU
 *   spawn=deny         fork, vfork, execve, execveat, and clone without
 *                      CLONE_THREAD (new threads stay possible); clone3
 *                      fails with ENOSYS so libc falls back to clone
 *   resourcecontrol    deny: scheduler and NUMA policy changes fail with
 *                      EPERM (as QEMU: callers cope)
 * A denied call of the killing kind traps: the SIGSYS handler writes one
 * line naming the call to stderr (async-signal-safe: the names are
 * resolved when the filter is built) and the process dies of SIGSYS, as
 * with SECCOMP_RET_KILL_PROCESS.  The filter is loaded with TSYNC, so every
 * thread that exists (vCPUs, I/O threads, workers) and every later one
 * has it.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "system/sandbox.h"
#ifdef CONFIG_SECCOMP
#include <seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#endif

typedef enum SandboxGroup {
    GROUP_DEFAULT, GROUP_OBSOLETE, GROUP_PRIVILEGED, GROUP_SPAWN,
    GROUP_RESOURCECTL,
} SandboxGroup;

static struct {
    bool enabled;
    bool obsolete_deny;         /* default deny */
    bool privileged_deny;
    bool privileged_children;
    bool spawn_deny;
    bool resourcectl_deny;
} sandbox = { .obsolete_deny = true };

static bool parse_allow_deny(GHashTable *kv, const char *key, bool *deny,
                             GError **errp)
{
    const char *v = g_hash_table_lookup(kv, key);

    if (!v) {
        return true;
    }
    if (!strcmp(v, "allow")) {
        *deny = false;
    } else if (!strcmp(v, "deny")) {
        *deny = true;
    } else {
        error_setg(errp, "invalid argument for %s", key);
        return false;
    }
    return true;
}

bool sandbox_parse(const char *arg, GError **errp)
{
    static const char *const known[] = { "enable", "obsolete",
        "elevateprivileges", "spawn", "resourcecontrol", NULL };
    g_autoptr(GHashTable) kv = keyval_parse(arg, "enable", errp);
    const char *priv;
    GHashTableIter it;
    gpointer key;

    if (!kv) {
        return false;
    }
    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_strv_contains(known, key)) {
            error_setg(errp, "Invalid parameter '%s'", (char *)key);
            return false;
        }
    }
    if (!parse_bool(g_hash_table_lookup(kv, "enable") ?: "off",
                    &sandbox.enabled, errp) ||
        !parse_allow_deny(kv, "obsolete", &sandbox.obsolete_deny, errp) ||
        !parse_allow_deny(kv, "spawn", &sandbox.spawn_deny, errp) ||
        !parse_allow_deny(kv, "resourcecontrol", &sandbox.resourcectl_deny,
                          errp)) {
        return false;
    }
    priv = g_hash_table_lookup(kv, "elevateprivileges");
    if (priv && !strcmp(priv, "children")) {
        sandbox.privileged_children = true;
    } else if (!parse_allow_deny(kv, "elevateprivileges",
                                 &sandbox.privileged_deny, errp)) {
        return false;
    }
#ifndef CONFIG_SECCOMP
    if (sandbox.enabled) {
        error_setg(errp, "-sandbox on: kvmpc was built without libseccomp");
        return false;
    }
#endif
    return true;
}

#ifdef CONFIG_SECCOMP

typedef struct DeniedCall {
    const char *name;
    SandboxGroup group;
} DeniedCall;

static const DeniedCall denied_calls[] = {
    /* always */
    { "reboot", GROUP_DEFAULT }, { "swapon", GROUP_DEFAULT },
    { "swapoff", GROUP_DEFAULT }, { "syslog", GROUP_DEFAULT },
    { "mount", GROUP_DEFAULT }, { "umount", GROUP_DEFAULT },
    { "umount2", GROUP_DEFAULT }, { "kexec_load", GROUP_DEFAULT },
    { "kexec_file_load", GROUP_DEFAULT }, { "afs_syscall", GROUP_DEFAULT },
    { "break", GROUP_DEFAULT }, { "ftime", GROUP_DEFAULT },
    { "getpmsg", GROUP_DEFAULT }, { "gtty", GROUP_DEFAULT },
    { "lock", GROUP_DEFAULT }, { "mpx", GROUP_DEFAULT },
    { "prof", GROUP_DEFAULT }, { "profil", GROUP_DEFAULT },
    { "putpmsg", GROUP_DEFAULT }, { "security", GROUP_DEFAULT },
    { "stty", GROUP_DEFAULT }, { "tuxcall", GROUP_DEFAULT },
    { "ulimit", GROUP_DEFAULT }, { "vserver", GROUP_DEFAULT },
    /* obsolete */
    { "readdir", GROUP_OBSOLETE }, { "_sysctl", GROUP_OBSOLETE },
    { "bdflush", GROUP_OBSOLETE }, { "create_module", GROUP_OBSOLETE },
    { "get_kernel_syms", GROUP_OBSOLETE }, { "query_module", GROUP_OBSOLETE },
    { "sgetmask", GROUP_OBSOLETE }, { "ssetmask", GROUP_OBSOLETE },
    { "sysfs", GROUP_OBSOLETE }, { "uselib", GROUP_OBSOLETE },
    { "ustat", GROUP_OBSOLETE },
    /* elevateprivileges */
    { "setuid", GROUP_PRIVILEGED }, { "setgid", GROUP_PRIVILEGED },
    { "setpgid", GROUP_PRIVILEGED }, { "setsid", GROUP_PRIVILEGED },
    { "setreuid", GROUP_PRIVILEGED }, { "setregid", GROUP_PRIVILEGED },
    { "setresuid", GROUP_PRIVILEGED }, { "setresgid", GROUP_PRIVILEGED },
    { "setfsuid", GROUP_PRIVILEGED }, { "setfsgid", GROUP_PRIVILEGED },
    /* spawn (clone and clone3 get their own rules below); entering or
     * making namespaces too, as QEMU 7.2 */
    { "fork", GROUP_SPAWN }, { "vfork", GROUP_SPAWN },
    { "execve", GROUP_SPAWN }, { "execveat", GROUP_SPAWN },
    { "setns", GROUP_SPAWN }, { "unshare", GROUP_SPAWN },
    /* resourcecontrol: EPERM.  Scheduling only, as QEMU: NUMA memory
     * policy (mbind, set_mempolicy) stays allowed, since a memory backend
     * with host-nodes= added at run time (libvirt's memory hotplug with
     * <numatune>) binds its memory after the filter is on. */
    { "setpriority", GROUP_RESOURCECTL },
    { "sched_setparam", GROUP_RESOURCECTL },
    { "sched_setscheduler", GROUP_RESOURCECTL },
    { "sched_setaffinity", GROUP_RESOURCECTL },
    { "sched_setattr", GROUP_RESOURCECTL },
};

/* Names of trapping calls by number, for the SIGSYS handler. */
#define SANDBOX_MAX_NR 512
static const char *trap_names[SANDBOX_MAX_NR];

static bool group_denied(SandboxGroup g)
{
    switch (g) {
    case GROUP_DEFAULT:
        return true;
    case GROUP_OBSOLETE:
        return sandbox.obsolete_deny;
    case GROUP_PRIVILEGED:
        return sandbox.privileged_deny;
    case GROUP_SPAWN:
        return sandbox.spawn_deny;
    case GROUP_RESOURCECTL:
        return sandbox.resourcectl_deny;
    }
    return false;
}

static void write_str(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void sigsys_handler(int sig, siginfo_t *info, void *ctx)
{
    int nr = info->si_syscall;
    char num[16];
    int i = sizeof(num) - 1;

    num[i] = 0;
    do {
        num[--i] = '0' + nr % 10;
        nr /= 10;
    } while (nr && i > 0);
    write_str("kvmpc: -sandbox: blocked system call ");
    nr = info->si_syscall;
    write_str(nr >= 0 && nr < SANDBOX_MAX_NR && trap_names[nr] ?
              trap_names[nr] : "?");
    write_str(" (");
    write_str(num + i);
    write_str("); terminating\n");
    signal(SIGSYS, SIG_DFL);
    raise(SIGSYS);
}

static bool add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name,
                     GError **errp)
{
    int nr = seccomp_syscall_resolve_name(name);
    int rc;

    if (nr == __NR_SCMP_ERROR || nr < 0) {
        return true;    /* not a call on this architecture */
    }
    rc = seccomp_rule_add(ctx, action, nr, 0);
    if (rc < 0) {
        error_setg(errp, "-sandbox: failed to add a rule for %s: %s", name,
                   g_strerror(-rc));
        return false;
    }
    if (action == SCMP_ACT_TRAP && nr < SANDBOX_MAX_NR) {
        trap_names[nr] = name;
    }
    return true;
}

static bool add_spawn_clone_rules(scmp_filter_ctx ctx, GError **errp)
{
    int clone_nr = seccomp_syscall_resolve_name("clone");
    int rc;

    /* a clone that does not make a thread makes a process */
    rc = seccomp_rule_add(ctx, SCMP_ACT_TRAP, clone_nr, 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    if (rc < 0) {
        error_setg(errp, "-sandbox: clone rule: %s", g_strerror(-rc));
        return false;
    }
    trap_names[clone_nr] = "clone";
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
                          seccomp_syscall_resolve_name("clone3"), 0);
    if (rc < 0) {
        error_setg(errp, "-sandbox: clone3 rule: %s", g_strerror(-rc));
        return false;
    }
    return true;
}

bool sandbox_install(GError **errp)
{
    struct sigaction sa = { .sa_sigaction = sigsys_handler,
                            .sa_flags = SA_SIGINFO };
    scmp_filter_ctx ctx;
    bool ok = false;
    int rc;

    if (!sandbox.enabled) {
        return true;
    }
    if (sandbox.privileged_children &&
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        error_setg(errp, "-sandbox: no_new_privs: %s", g_strerror(errno));
        return false;
    }
    sigaction(SIGSYS, &sa, NULL);
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        error_setg(errp, "-sandbox: seccomp_init failed");
        return false;
    }
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0) {
        error_setg(errp, "-sandbox: thread synchronisation: %s",
                   g_strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < ARRAY_SIZE(denied_calls); i++) {
        const DeniedCall *c = &denied_calls[i];
        uint32_t action = c->group == GROUP_RESOURCECTL ?
                          SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_TRAP;

        if (group_denied(c->group) && !add_rule(ctx, action, c->name, errp)) {
            goto out;
        }
    }
    if (sandbox.spawn_deny && !add_spawn_clone_rules(ctx, errp)) {
        goto out;
    }
    rc = seccomp_load(ctx);
    if (rc < 0) {
        error_setg(errp, "-sandbox: failed to install the seccomp filter: %s",
                   g_strerror(-rc));
        goto out;
    }
    ok = true;
out:
    seccomp_release(ctx);
    return ok;
}

#else

bool sandbox_install(GError **errp)
{
    return true;    /* sandbox_parse refused -sandbox on */
}

#endif
