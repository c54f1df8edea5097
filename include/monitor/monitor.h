/*
 * Monitors: QMP (JSON, machine-facing) and HMP (human) on a chardev.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H
#include "qemu/osdep.h"
#include "chardev/char.h"

/* Attach a monitor to @chr; @qmp selects QMP (control) vs HMP (readline). */
bool monitor_new(Chardev *chr, bool qmp, bool pretty, GError **errp);
/* At exit, before chardevs close: stop the monitor I/O thread (if any). */
void monitor_io_thread_stop(void);
/* Run an HMP command line; returns its output (human-monitor-command). */
char *hmp_run_command(const char *cmdline, GError **errp);

#endif
