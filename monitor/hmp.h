/*
 * Human monitor commands (hmp-cmds.c, hmp-mem.c), called by hmp.c with
 * the rest of the command line after the command name.
 */
#ifndef MONITOR_HMP_H
#define MONITOR_HMP_H
#include "monitor-internal.h"

typedef void HMPHandler(Monitor *mon, const char *args);

typedef struct HMPCommand {
    const char *name;       /* "cont|c": name and aliases */
    const char *params;     /* shown by help */
    const char *help;
    HMPHandler *handler;
    bool takes_format;      /* "x/4xb ADDR": '/' may follow the name */
} HMPCommand;

/* The words of a command's arguments, as QEMU's monitor reads string
 * arguments: separated by blanks, or written in double quotes with the
 * escapes \n \r \\ \' \" (libvirt sends `savevm "NAME"`).  A NULL-ended
 * vector without empty words (g_strfreev), or NULL with errp set for an
 * unterminated string, an unknown escape or text right after a closing
 * quote. */
char **hmp_split_args(const char *args, GError **errp);

/* The tables, NULL-name terminated. */
extern const HMPCommand hmp_commands[];
extern const HMPCommand hmp_info_commands[];

void hmp_help(Monitor *mon, const char *args);
void hmp_info(Monitor *mon, const char *args);
void hmp_qemu_io(Monitor *mon, const char *args);
void hmp_stop(Monitor *mon, const char *args);
void hmp_cont(Monitor *mon, const char *args);
void hmp_system_reset(Monitor *mon, const char *args);
void hmp_system_powerdown(Monitor *mon, const char *args);
void hmp_quit(Monitor *mon, const char *args);
void hmp_balloon(Monitor *mon, const char *args);
void hmp_info_balloon(Monitor *mon, const char *args);
void hmp_cpu(Monitor *mon, const char *args);
void hmp_x(Monitor *mon, const char *args);
void hmp_xp(Monitor *mon, const char *args);

void hmp_info_status(Monitor *mon, const char *args);
void hmp_info_version(Monitor *mon, const char *args);
void hmp_info_name(Monitor *mon, const char *args);
void hmp_info_uuid(Monitor *mon, const char *args);
void hmp_info_vm_generation_id(Monitor *mon, const char *args);
void hmp_info_kvm(Monitor *mon, const char *args);
void hmp_info_cpus(Monitor *mon, const char *args);
void hmp_info_hotpluggable_cpus(Monitor *mon, const char *args);
void hmp_info_cpuid(Monitor *mon, const char *args);
void hmp_info_registers(Monitor *mon, const char *args);
void hmp_info_pci(Monitor *mon, const char *args);
void hmp_info_block(Monitor *mon, const char *args);
void hmp_info_blockstats(Monitor *mon, const char *args);
void hmp_info_block_jobs(Monitor *mon, const char *args);
void hmp_drive_mirror(Monitor *mon, const char *args);
void hmp_drive_backup(Monitor *mon, const char *args);
void hmp_block_job_cancel(Monitor *mon, const char *args);
void hmp_block_job_complete(Monitor *mon, const char *args);
void hmp_block_job_pause(Monitor *mon, const char *args);
void hmp_block_job_resume(Monitor *mon, const char *args);
void hmp_block_job_set_speed(Monitor *mon, const char *args);
void hmp_eject(Monitor *mon, const char *args);
void hmp_nbd_server_start(Monitor *mon, const char *args);
void hmp_nbd_server_add(Monitor *mon, const char *args);
void hmp_nbd_server_remove(Monitor *mon, const char *args);
void hmp_nbd_server_stop(Monitor *mon, const char *args);
void hmp_change(Monitor *mon, const char *args);
void hmp_info_qtree(Monitor *mon, const char *args);
void hmp_info_mtree(Monitor *mon, const char *args);
void hmp_info_chardev(Monitor *mon, const char *args);
void hmp_info_history(Monitor *mon, const char *args);

/* hmp-migration.c */
void hmp_migrate(Monitor *mon, const char *args);
void hmp_migrate_cancel(Monitor *mon, const char *args);
void hmp_migrate_continue(Monitor *mon, const char *args);
void hmp_migrate_start_postcopy(Monitor *mon, const char *args);
void hmp_migrate_pause(Monitor *mon, const char *args);
void hmp_migrate_recover(Monitor *mon, const char *args);
void hmp_migrate_incoming(Monitor *mon, const char *args);
void hmp_migrate_set_capability(Monitor *mon, const char *args);
void hmp_migrate_set_parameter(Monitor *mon, const char *args);
void hmp_info_migrate(Monitor *mon, const char *args);
void hmp_info_migrate_capabilities(Monitor *mon, const char *args);
void hmp_info_migrate_parameters(Monitor *mon, const char *args);
/* hmp-snapshot.c: internal snapshots */
void hmp_savevm(Monitor *mon, const char *args);
void hmp_loadvm(Monitor *mon, const char *args);
void hmp_delvm(Monitor *mon, const char *args);
void hmp_info_snapshots(Monitor *mon, const char *args);
/* net-cmds.c: the network */
void hmp_info_network(Monitor *mon, const char *args);
void hmp_set_link(Monitor *mon, const char *args);
void hmp_announce_self(Monitor *mon, const char *args);
void hmp_netdev_add(Monitor *mon, const char *args);
void hmp_netdev_del(Monitor *mon, const char *args);
void hmp_device_add(Monitor *mon, const char *args);
void hmp_device_del(Monitor *mon, const char *args);
void hmp_object_add(Monitor *mon, const char *args);
void hmp_object_del(Monitor *mon, const char *args);
void hmp_info_memory_devices(Monitor *mon, const char *args);
void hmp_info_numa(Monitor *mon, const char *args);
void hmp_info_memory_size_summary(Monitor *mon, const char *args);
void hmp_hostfwd_add(Monitor *mon, const char *args);
void hmp_hostfwd_remove(Monitor *mon, const char *args);

/* ui/ui-hmp-cmds.c: the display and input */
void hmp_screendump(Monitor *mon, const char *args);
void hmp_sendkey(Monitor *mon, const char *args);
void hmp_mouse_move(Monitor *mon, const char *args);
void hmp_mouse_button(Monitor *mon, const char *args);
void hmp_set_password(Monitor *mon, const char *args);
void hmp_expire_password(Monitor *mon, const char *args);
void hmp_info_mice(Monitor *mon, const char *args);
void hmp_info_usb(Monitor *mon, const char *args);
void hmp_info_vnc(Monitor *mon, const char *args);
void hmp_info_spice(Monitor *mon, const char *args);

/* Does @name (one word) match the "a|b|c" spelling @spec? */
bool hmp_name_matches(const char *spec, const char *name, size_t len);

#endif
