/*
 * Human monitor commands for internal snapshots, with QEMU 7.2's names
 * and output: savevm, loadvm, delvm, info snapshots
 * (migration/migration-hmp-cmds.c, block/monitor/block-hmp-cmds.c there).
 */
#include "qemu/osdep.h"
#include "migration/snapshot.h"
#include "system/runstate.h"
#include "hmp.h"

static void report(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

/* The tag, plain or quoted (libvirt: savevm "NAME"); NULL when absent.
 * *bad is set, with the reason printed, for a bad quote or extra words. */
static char *one_arg(Monitor *mon, const char *cmd, const char *args,
                     bool *bad)
{
    GError *err = NULL;
    g_auto(GStrv) words = hmp_split_args(args, &err);

    *bad = false;
    if (!words) {
        monitor_printf(mon, "%s: %s\n", cmd, err->message);
        g_error_free(err);
        *bad = true;
        return NULL;
    }
    if (words[0] && words[1]) {
        monitor_printf(mon, "%s: extraneous characters at the end of line\n",
                       cmd);
        *bad = true;
        return NULL;
    }
    return g_strdup(words[0]);
}

void hmp_savevm(Monitor *mon, const char *args)
{
    bool bad;
    g_autofree char *name = one_arg(mon, "savevm", args, &bad);
    GError *err = NULL;

    if (bad) {
        return;
    }
    if (!save_snapshot(name, true, NULL, false, NULL, &err)) {
        report(mon, err);
    }
}

void hmp_loadvm(Monitor *mon, const char *args)
{
    bool bad;
    g_autofree char *name = one_arg(mon, "loadvm", args, &bad);
    bool running = runstate_is_running();
    GError *err = NULL;

    if (bad) {
        return;
    }
    if (!name) {
        monitor_printf(mon, "Error: loadvm needs a snapshot tag\n");
        return;
    }
    vm_stop(RUN_STATE_RESTORE_VM);
    if (load_snapshot(name, NULL, false, NULL, &err)) {
        if (running) {
            vm_start();
        }
    } else {
        report(mon, err);
    }
}

void hmp_delvm(Monitor *mon, const char *args)
{
    bool bad;
    g_autofree char *name = one_arg(mon, "delvm", args, &bad);
    GError *err = NULL;

    if (bad) {
        return;
    }
    if (!name) {
        monitor_printf(mon, "Error: delvm needs a snapshot tag\n");
        return;
    }
    if (!delete_snapshot(name, false, NULL, &err)) {
        report(mon, err);
    }
}

void hmp_info_snapshots(Monitor *mon, const char *args)
{
    g_autofree char *text = snapshot_info_text();

    monitor_printf(mon, "%s", text);
}
