/*
 * Version numbers.  kvmpc reports a QEMU version to QMP clients and in
 * -version so tools that gate features on QEMU's version treat it as the
 * QEMU release whose command line and QMP it follows (Debian 12's 7.2).
 */
#ifndef QEMU_VERSION_H
#define QEMU_VERSION_H

#define KVMPC_VERSION "0.1.0"
#define QEMU_COMPAT_VERSION_MAJOR 7
#define QEMU_COMPAT_VERSION_MINOR 2
#define QEMU_COMPAT_VERSION_MICRO 0
#define QEMU_COMPAT_VERSION "7.2.0"

#endif
