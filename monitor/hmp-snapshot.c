/*
 * Human monitor commands for internal snapshots, with QEMU 7.2's names
 * and output: savevm, loadvm, delvm, info snapshots
 * (migration/migration-hmp-cmds.c, block/monitor/block-hmp-cmds.c there).
 */
#include "qemu/osdep.h"
#include "migration/snapshot.h"
#include "system/runstate.h"
#include "hmp.h"

static char *one_arg(const char *args)
{
    g_autofree char *s = g_strstrip(g_strdup(args ? args : ""));

    return *s ? g_steal_pointer(&s) : NULL;
}

static void report(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

void hmp_savevm(Monitor *mon, const char *args)
{
    g_autofree char *name = one_arg(args);
    GError *err = NULL;

    if (!save_snapshot(name, true, NULL, false, NULL, &err)) {
        report(mon, err);
    }
}

void hmp_loadvm(Monitor *mon, const char *args)
{
    g_autofree char *name = one_arg(args);
    bool running = runstate_is_running();
    GError *err = NULL;

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
    g_autofree char *name = one_arg(args);
    GError *err = NULL;

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
