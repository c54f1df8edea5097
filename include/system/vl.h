/*
 * kvmpc's start-up, callable from more than main(): the fuzz target that
 * drives the whole machine in-process (fuzz/fuzz-pc.c) builds its machine
 * through the same code path as the kvmpc binary.
 */
#ifndef SYSTEM_VL_H
#define SYSTEM_VL_H
#include "qemu/osdep.h"

/*
 * Parse a kvmpc command line (argv[0] is the program name) and build the
 * machine: accelerator, chardevs, devices, monitors, the qtest server,
 * vCPUs, the first reset, and vm_start() unless -S.  Options such as
 * -help or -version print and exit(0); any error prints one line,
 * "kvmpc: <what was wrong>", and exits 1.  Call once per process.
 */
void kvmpc_init(int argc, char **argv);

/*
 * Run the main loop until something asks to exit, tear down what must be
 * torn down (vCPUs, pidfile, chardevs, terminal modes) and end the process
 * with the main loop's exit status.
 */
G_NORETURN void kvmpc_main_loop(void);

#endif
