/*
 * -accel qtest: no vCPU runs; a test drives the machine over a socket.
 * The protocol is QEMU's (see docs/qtest.md); the server lives in
 * system/qtest.c, the accelerator in accel/qtest/qtest.c.
 */
#ifndef SYSTEM_QTEST_H
#define SYSTEM_QTEST_H
#include "qemu/osdep.h"

/*
 * Start the qtest protocol server on @spec: "unix:PATH" connects to a
 * socket the test listens on (what libqtest does), "unix:PATH,server=on"
 * listens and takes one client (waiting for it unless wait=off), "stdio"
 * talks over stdin/stdout.  @log_path: the conversation log ("none": no
 * log; NULL: stderr, as QEMU does).
 */
bool qtest_server_init(const char *spec, const char *log_path, GError **errp);
/*
 * Run one protocol command line (no newline) in-process, exactly as if a
 * client had sent it, and return the reply line ("OK ..." or "FAIL ...",
 * g_free it).  For drivers that live in the process, such as the fuzz
 * target over the pc machine: no server, socket or log is needed, and
 * IRQ lines are not reported.  Main thread, big lock held.
 */
char *qtest_run_command(const char *line);
/* True when the qtest accelerator is in use. */
bool qtest_enabled(void);

/*
 * Interrupt line numbers in "IRQ raise N": GSIs 0-23, and each CPU's
 * INTR pin (a vector waits for the interrupt acknowledge, "intack") as
 * QTEST_IRQ_CPU_INTR + CPU index, for the first 64 CPUs.
 */
#define QTEST_IRQ_CPU_INTR          64
#define QTEST_IRQ_CPU_INTR_COUNT    64

/* Accelerator -> server: line @n changed to @level (0 or 1). */
void qtest_server_irq_changed(int n, int level);
/* The level line @n was last driven to (0 when out of range). */
int qtest_accel_irq_level(int n);

#endif
