/*
 * Internal snapshots: savevm / loadvm / delvm, the snapshot-save/-load/
 * -delete jobs and -loadvm (QEMU 7.2's migration/savevm.c behaviour).
 *
 * The VM state is the migration stream (include/migration/savevm.h),
 * written into the VM state area of one disk (bdrv_save_vmstate: qcow2
 * keeps it past the virtual disk's end, as QEMU does); then every
 * writable disk takes a snapshot named @name, the one with the VM state
 * recording its size.  Big lock held, main thread.
 */
#ifndef MIGRATION_SNAPSHOT_H
#define MIGRATION_SNAPSHOT_H
#include "qemu/osdep.h"
#include "qapi/qapi-types.h"

/*
 * @name NULL: "vm-YYYYmmddHHMMSS".  @overwrite: delete an existing
 * snapshot of that name first (HMP savevm), else refuse (QMP).
 * @vmstate/@devices: node names (NULL: the first snapshot-capable disk /
 * every writable disk).  The VM is stopped while it saves and runs on
 * after if it ran.
 */
bool save_snapshot(const char *name, bool overwrite, const char *vmstate,
                   bool has_devices, strList *devices, GError **errp);
/* The caller stops the VM (RUN_STATE_RESTORE_VM) and restarts it. */
bool load_snapshot(const char *name, const char *vmstate, bool has_devices,
                   strList *devices, GError **errp);
bool delete_snapshot(const char *name, bool has_devices, strList *devices,
                     GError **errp);
/* "info snapshots" text. */
char *snapshot_info_text(void);

#endif
