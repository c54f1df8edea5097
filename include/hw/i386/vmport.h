/*
 * vmport command registration: other devices (the vmmouse) add backdoor
 * commands to the VMware port (hw/i386/vmport.c), as QEMU's vmport_register.
 * A handler gets the command's registers in and changes them in place;
 * the port writes them back to the vCPU and answers the IN with EAX.
 */
#ifndef HW_I386_VMPORT_H
#define HW_I386_VMPORT_H
#include "qemu/osdep.h"

enum {
    VMPORT_CMD_VMMOUSE_DATA = 39,
    VMPORT_CMD_VMMOUSE_STATUS = 40,
    VMPORT_CMD_VMMOUSE_COMMAND = 41,
};

/* The registers a command reads and writes (ESI/EDI: the vmmouse's DATA
 * can answer up to 6 words, as QEMU's). */
typedef struct VmportRegs {
    uint32_t eax, ebx, ecx, edx, esi, edi;
} VmportRegs;

typedef void VmportCommandFn(void *opaque, VmportRegs *r);

/* false (and nothing changes) when the machine has no vmport, the command
 * is out of range or is taken already. */
bool vmport_register_command(unsigned cmd, VmportCommandFn *fn, void *opaque);
void vmport_unregister_command(unsigned cmd);
/* Run a registered command on @r (its ECX's low 16 bits); false when none
 * is (the port's own commands are not here: they need a vCPU).  The port
 * uses it, and so do tests that have no vCPU. */
bool vmport_run_registered(VmportRegs *r);

#endif
