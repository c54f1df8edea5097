/*
 * The human monitor: QEMU's banner and "(qemu) " prompt (tools screen-
 * scrape both), a line editor on the chardev, and the command table.
 *
 * Output from the commands is text; monitor_puts turns "\n" into "\r\n".
 */
#include "qemu/osdep.h"
#include "qemu/version.h"
#include "monitor-internal.h"
#include "hmp.h"

#define HMP_PROMPT "(qemu) "
#define HMP_BANNER "QEMU " QEMU_COMPAT_VERSION \
    " monitor - type 'help' for more information\n"

const HMPCommand hmp_commands[] = {
    { "help|?", "[cmd]", "show the help", hmp_help },
    { "info", "[subcommand]",
      "show various information about the system state", hmp_info },
    { "stop|s", "", "stop emulation", hmp_stop },
    { "cont|c", "", "resume emulation", hmp_cont },
    { "system_reset", "", "reset the system", hmp_system_reset },
    { "system_powerdown", "", "send system power down event",
      hmp_system_powerdown },
    { "quit|q", "", "quit the emulator", hmp_quit },
    { "balloon", "target", "request VM to change its memory allocation "
      "(in MB)", hmp_balloon },
    { "cpu", "index", "set the default CPU", hmp_cpu },
    { "eject", "[-f] device", "eject a removable medium (use -f to force it)",
      hmp_eject },
    { "change", "device filename [format [read-only-mode]]",
      "change a removable medium, optional format", hmp_change },
    /* the NBD server (block-cmds.c; docs/block.md "NBD") */
    { "nbd_server_start", "[-a] [-w] host:port",
      "serve block devices on the given host and port", hmp_nbd_server_start },
    { "nbd_server_add", "[-w] device [name]",
      "export a block device via NBD", hmp_nbd_server_add },
    { "nbd_server_remove", "[-f] name",
      "remove an export previously exposed via NBD", hmp_nbd_server_remove },
    { "nbd_server_stop", "", "stop serving block devices using the NBD "
      "protocol", hmp_nbd_server_stop },
    { "x", "/fmt addr", "virtual memory dump starting at 'addr'", hmp_x,
      true },
    { "xp", "/fmt addr", "physical memory dump starting at 'addr'", hmp_xp,
      true },
    /* block jobs (block-cmds.c) */
    { "drive_mirror", "[-n] [-f] device target [format]",
      "initiates live storage migration for a device. The device's contents "
      "are copied to the new image file, including data that is written "
      "after the command is started. The -n flag requests QEMU to reuse the "
      "image found in new-image-file, instead of recreating it from "
      "scratch. The -f flag requests QEMU to copy the whole disk, so that "
      "the result does not need a backing file.", hmp_drive_mirror },
    { "drive_backup", "[-n] [-f] [-c] device target [format]",
      "starts a point-in-time copy of a device into an image file: what "
      "the guest writes after the command is not in the copy. -n: use the "
      "existing image instead of creating it; -f: copy the whole chain "
      "(the copy needs no backing file); -c: compress the copied data "
      "where the target format can.", hmp_drive_backup },
    { "qemu-io", "[-d] [device] \"[command]\"",
      "run a qemu-io command on a block device\n\t\t\t-d: [device] is "
      "a device ID rather than a drive ID or node name", hmp_qemu_io },
    { "block_job_set_speed", "device speed",
      "set maximum speed for a background block operation",
      hmp_block_job_set_speed },
    { "block_job_cancel", "[-f] device",
      "stop an active background block operation (use -f if you want to "
      "abort the operation immediately instead of keep running until data "
      "is in sync)", hmp_block_job_cancel },
    { "block_job_complete", "device",
      "stop an active background block operation", hmp_block_job_complete },
    { "block_job_pause", "device", "pause an active background block "
      "operation", hmp_block_job_pause },
    { "block_job_resume", "device", "resume a paused background block "
      "operation", hmp_block_job_resume },
    /* devices (qdev-cmds.c) */
    { "device_add", "driver[,prop=value][,...]",
      "add device, like -device on the command line", hmp_device_add },
    { "device_del", "device", "remove device", hmp_device_del },
    { "object_add", "[qom-type=]type,id=str[,prop=value][,...]",
      "create QOM object", hmp_object_add },
    { "object_del", "id", "destroy QOM object", hmp_object_del },
    /* the network (net-cmds.c) */
    { "set_link", "name up|down", "change the link status of a network "
      "adapter", hmp_set_link },
    { "announce_self", "[interfaces] [id]", "Trigger GARP/RARP "
      "announcements", hmp_announce_self },
    { "netdev_add", "[user|tap|socket|stream|dgram|hubport|bridge],id=str"
      "[,prop=value][,...]", "add host network device", hmp_netdev_add },
    { "netdev_del", "id", "remove host network device", hmp_netdev_del },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-"
      "[guestaddr]:guestport", "redirect TCP or UDP connections from host "
      "to guest (requires -net user)", hmp_hostfwd_add },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
      "remove host-to-guest TCP or UDP redirection", hmp_hostfwd_remove },
    /* the display and input (ui/ui-hmp-cmds.c) */
    { "screendump", "filename [-f format] [device [head]]",
      "save screen from head 'head' of display device 'device' in the "
      "format 'format' (ppm or png) into PPM/PNG image 'filename'",
      hmp_screendump },
    { "sendkey", "keys [hold_ms]",
      "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold "
      "time=100 ms)", hmp_sendkey },
    { "mouse_move", "dx dy [dz]", "send mouse move events", hmp_mouse_move },
    { "mouse_button", "state", "change mouse button state (1=L, 2=M, 4=R)",
      hmp_mouse_button },
    { "set_password", "protocol password action-if-connected",
      "set spice/vnc password", hmp_set_password },
    { "expire_password", "protocol time",
      "set spice/vnc password expire-time", hmp_expire_password },
    /* migration (hmp-migration.c) */
    { "migrate", "[-d] [-r] uri", "migrate to URI (-d: do not wait for "
      "completion; -r: resume a paused postcopy; tcp:, unix:, exec:, "
      "file:, fd:)", hmp_migrate },
    { "migrate_start_postcopy", "", "switch the running migration to "
      "postcopy (needs the postcopy-ram capability)",
      hmp_migrate_start_postcopy },
    { "migrate_pause", "", "break a postcopy migration's connection "
      "(postcopy-paused until migrate_recover and migrate -r)",
      hmp_migrate_pause },
    { "migrate_recover", "uri", "on a paused postcopy destination: listen "
      "on URI for the source's resumed connection", hmp_migrate_recover },
    { "migrate_cancel", "", "cancel the current VM migration",
      hmp_migrate_cancel },
    { "migrate_continue", "state", "continue migration from the given "
      "paused state", hmp_migrate_continue },
    { "migrate_incoming", "uri", "continue an incoming migration from a "
      "-incoming defer", hmp_migrate_incoming },
    { "migrate_set_capability", "capability state",
      "enable/disable the usage of a capability for migration",
      hmp_migrate_set_capability },
    { "migrate_set_parameter", "parameter value",
      "set a parameter for migration", hmp_migrate_set_parameter },
    { "savevm", "[tag]", "save a VM snapshot. If no tag is provided, a new "
      "snapshot is created", hmp_savevm },
    { "loadvm", "tag", "restore a VM snapshot from its tag", hmp_loadvm },
    { "delvm", "tag", "delete a VM snapshot from its tag", hmp_delvm },
    { NULL },
};

const HMPCommand hmp_info_commands[] = {
    { "balloon", "", "show balloon information", hmp_info_balloon },
    { "block", "", "show the block devices", hmp_info_block },
    { "blockstats", "", "show block device statistics", hmp_info_blockstats },
    { "block-jobs", "", "show progress of ongoing block device operations",
      hmp_info_block_jobs },
    { "chardev", "", "show the character devices", hmp_info_chardev },
    { "cpus", "", "show infos for each CPU", hmp_info_cpus },
    { "cpuid", "[cpu]", "show the CPUID leaves (and feature MSRs) a vCPU "
      "gets", hmp_info_cpuid },
    { "history", "", "show the command line history", hmp_info_history },
    { "hotpluggable-cpus", "", "Show information about hotpluggable CPUs",
      hmp_info_hotpluggable_cpus },
    { "kvm", "", "show KVM information", hmp_info_kvm },
    { "migrate", "", "show migration status", hmp_info_migrate },
    { "migrate_capabilities", "", "show current migration capabilities",
      hmp_info_migrate_capabilities },
    { "migrate_parameters", "", "show current migration parameters",
      hmp_info_migrate_parameters },
    { "mice", "", "show which guest mouse is receiving events",
      hmp_info_mice },
    { "memory-devices", "", "show memory devices",
      hmp_info_memory_devices },
    { "memory_size_summary", "", "show memory size information",
      hmp_info_memory_size_summary },
    { "mtree", "", "show memory tree", hmp_info_mtree },
    { "name", "", "show the current VM name", hmp_info_name },
    { "network", "", "show the network state", hmp_info_network },
    { "numa", "", "show NUMA information", hmp_info_numa },
    { "pci", "", "show PCI info", hmp_info_pci },
    { "qtree", "", "show device tree", hmp_info_qtree },
    { "registers", "[-a]", "show the cpu registers (-a: all vCPUs)",
      hmp_info_registers },
    { "snapshots", "", "show the currently saved VM snapshots",
      hmp_info_snapshots },
    { "status", "", "show the current VM status (running|paused)",
      hmp_info_status },
    { "usb", "", "show guest USB devices", hmp_info_usb },
    { "uuid", "", "show the current VM UUID", hmp_info_uuid },
    { "version", "", "show the version of QEMU", hmp_info_version },
    { "vm-generation-id", "", "Show Virtual Machine Generation ID",
      hmp_info_vm_generation_id },
    { "vnc", "", "show the vnc server status", hmp_info_vnc },
    { "spice", "", "show the spice server status", hmp_info_spice },
    { NULL },
};

bool hmp_name_matches(const char *spec, const char *name, size_t len)
{
    const char *p = spec;

    while (*p) {
        size_t n = strcspn(p, "|");
        if (n == len && !strncmp(p, name, len)) {
            return true;
        }
        p += n;
        if (*p == '|') {
            p++;
        }
    }
    return false;
}

static const HMPCommand *hmp_find(const HMPCommand *table, const char *name,
                                  size_t len)
{
    for (const HMPCommand *c = table; c->name; c++) {
        if (hmp_name_matches(c->name, name, len)) {
            return c;
        }
    }
    return NULL;
}

static void hmp_print_table(Monitor *mon, const HMPCommand *table,
                            const char *prefix)
{
    for (const HMPCommand *c = table; c->name; c++) {
        monitor_printf(mon, "%s%s %s -- %s\n", prefix, c->name, c->params,
                       c->help);
    }
}

void hmp_help(Monitor *mon, const char *args)
{
    size_t len;
    const HMPCommand *c;

    while (*args == ' ') {
        args++;
    }
    len = strcspn(args, " ");
    if (!len) {
        hmp_print_table(mon, hmp_commands, "");
        return;
    }
    if (len == 4 && !strncmp(args, "info", 4)) {
        hmp_print_table(mon, hmp_info_commands, "info ");
        return;
    }
    c = hmp_find(hmp_commands, args, len);
    if (!c) {
        monitor_printf(mon, "unknown command: '%.*s'\n", (int)len, args);
        return;
    }
    monitor_printf(mon, "%s %s -- %s\n", c->name, c->params, c->help);
}

void hmp_info(Monitor *mon, const char *args)
{
    size_t len;
    const HMPCommand *c;

    while (*args == ' ') {
        args++;
    }
    len = strcspn(args, " ");
    if (!len) {
        hmp_print_table(mon, hmp_info_commands, "info ");
        return;
    }
    c = hmp_find(hmp_info_commands, args, len);
    if (!c) {
        monitor_printf(mon, "unknown command: 'info %.*s'\n", (int)len,
                       args);
        return;
    }
    c->handler(mon, args + len);
}

char **hmp_split_args(const char *args, GError **errp)
{
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    const char *p = args ? args : "";

    for (;;) {
        GString *w;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (!*p) {
            break;
        }
        w = g_string_new(NULL);
        if (*p != '"') {
            while (*p && *p != ' ' && *p != '\t') {
                g_string_append_c(w, *p++);
            }
            g_ptr_array_add(words, g_string_free(w, false));
            continue;
        }
        for (p++; *p && *p != '"'; p++) {
            char c = *p;

            if (c == '\\') {
                switch (*++p) {
                case 'n':
                    c = '\n';
                    break;
                case 'r':
                    c = '\r';
                    break;
                case '\\':
                case '\'':
                case '"':
                    c = *p;
                    break;
                default:
                    error_setg(errp, "unsupported escape code: '\\%c'",
                               *p ? *p : ' ');
                    goto fail;
                }
            }
            g_string_append_c(w, c);
        }
        if (*p != '"') {
            error_setg(errp, "unterminated string literal");
            goto fail;
        }
        p++;
        if (*p && *p != ' ' && *p != '\t') {
            error_setg(errp, "expected a blank after a quoted string");
            goto fail;
        }
        g_ptr_array_add(words, g_string_free(w, false));
        continue;
fail:
        g_string_free(w, true);
        g_ptr_array_free(words, true);
        return NULL;
    }
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, false);
}

void hmp_handle_command(Monitor *mon, const char *cmdline)
{
    const char *p = cmdline;
    const HMPCommand *c;
    size_t len;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (!*p) {
        return;
    }
    /* "x/4x addr": the name ends at '/' for commands with a format. */
    len = strcspn(p, " \t/");
    c = hmp_find(hmp_commands, p, len);
    if (c && p[len] == '/' && !c->takes_format) {
        c = NULL;
        len = strcspn(p, " \t");
    }
    if (!c) {
        monitor_printf(mon, "unknown command: '%.*s'\n", (int)len, p);
        return;
    }
    c->handler(mon, p + len);
}

void hmp_complete(Monitor *mon, const char *line, GPtrArray *out)
{
    const HMPCommand *table = hmp_commands;
    const char *word;

    while (*line == ' ') {
        line++;
    }
    word = line;
    if (g_str_has_prefix(line, "info ") || g_str_has_prefix(line, "help ")) {
        word = line + 5;
        while (*word == ' ') {
            word++;
        }
        table = g_str_has_prefix(line, "info ") ? hmp_info_commands
                                                 : hmp_commands;
    }
    if (strchr(word, ' ')) {
        return;     /* arguments: nothing to complete */
    }
    for (const HMPCommand *c = table; c->name; c++) {
        g_autofree char *first = g_strndup(c->name, strcspn(c->name, "|"));
        if (g_str_has_prefix(first, word)) {
            g_ptr_array_add(out, g_steal_pointer(&first));
        }
    }
}

/* ---- the monitor on a chardev --------------------------------------- */

static void hmp_rl_write(void *opaque, const char *text)
{
    Monitor *mon = opaque;
    monitor_write_raw(mon, text, strlen(text));
}

static void hmp_rl_line(void *opaque, const char *line)
{
    Monitor *mon = opaque;
    Monitor *old = monitor_set_cur(mon);

    hmp_handle_command(mon, line);
    monitor_set_cur(old);
    if (mon->rs && !mon->mux_out && !mon->suspended) {
        readline_show_prompt(mon->rs);
    }
}

bool monitor_suspend(Monitor *mon)
{
    if (!mon || !mon->chr || mon->is_qmp) {
        return false;
    }
    mon->suspended = true;
    return true;
}

void monitor_resume(Monitor *mon)
{
    if (!mon->suspended) {
        return;
    }
    mon->suspended = false;
    if (mon->rs && !mon->mux_out) {
        readline_show_prompt(mon->rs);
    }
    qemu_chr_fe_accept_input(mon->chr);
}

static void hmp_rl_complete(void *opaque, const char *line, GPtrArray *out)
{
    hmp_complete(opaque, line, out);
}

static int hmp_can_read(void *opaque)
{
    Monitor *mon = opaque;

    return mon->suspended ? 0 : READLINE_MAX_LINE;
}

static void hmp_read(void *opaque, const uint8_t *buf, int len)
{
    Monitor *mon = opaque;

    for (int i = 0; i < len && !mon->suspended; i++) {
        readline_handle_byte(mon->rs, buf[i]);
    }
}

static void hmp_greet(Monitor *mon)
{
    mon->greeted = true;
    monitor_puts(mon, HMP_BANNER);
    readline_restart(mon->rs);
    readline_show_prompt(mon->rs);
}

/*
 * On a mux (-nographic), a monitor that opens in the background prints
 * its banner when it is first switched to, so the guest's console is not
 * interrupted by it.
 */
static void hmp_event(void *opaque, ChrEvent event)
{
    Monitor *mon = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        if (mon->mux_out) {
            mon->banner_pending = true;
        } else {
            hmp_greet(mon);
        }
        break;
    case CHR_EVENT_MUX_IN:
        mon->mux_out = false;
        if (mon->banner_pending) {
            mon->banner_pending = false;
            hmp_greet(mon);
        } else {
            readline_restart(mon->rs);
            readline_show_prompt(mon->rs);
        }
        break;
    case CHR_EVENT_MUX_OUT:
        if (!mon->mux_out && mon->greeted) {
            monitor_puts(mon, "\n");   /* leave the prompt's line */
        }
        mon->mux_out = true;
        break;
    case CHR_EVENT_CLOSED:
        readline_restart(mon->rs);
        break;
    default:
        break;
    }
}

bool monitor_hmp_init(Monitor *mon, GError **errp)
{
    mon->rs = readline_new(hmp_rl_write, hmp_rl_line, hmp_rl_complete, mon);
    readline_set_prompt(mon->rs, HMP_PROMPT);
    if (!qemu_chr_fe_attach(mon->chr, hmp_can_read, hmp_read, hmp_event,
                            mon, errp)) {
        readline_free(mon->rs);
        mon->rs = NULL;
        return false;
    }
    return true;
}
