/*
 * Accelerators: "kvm" runs vCPUs; "qtest" runs none and lets a test drive
 * the devices.  The machine uses these hooks and nothing accelerator-specific.
 */
#ifndef SYSTEM_ACCEL_H
#define SYSTEM_ACCEL_H
#include "qemu/osdep.h"
#include "hw/boards.h"

typedef struct AccelOps {
    const char *name;
    /* Create the VM (and in-kernel irqchip/PIT), before devices exist. */
    bool (*init)(MachineState *ms, GError **errp);
    /* After machine init and kernel load: create the vCPUs (stopped). */
    bool (*create_vcpus)(MachineState *ms, GError **errp);
    /* Start / stop running guest code; stop returns once all vCPUs halted. */
    void (*resume_vcpus)(void);
    void (*pause_vcpus)(void);
    /* CPUs to power-on state (the BSP at the firmware or kernel entry). */
    void (*reset_vcpus)(void);
    /* Drive GSI @gsi to @level (IOAPIC pin; PIC for gsi < 16). */
    void (*set_irq)(int gsi, int level);
    /*
     * CPU hotplug (hw/i386/x86-cpu-hotplug.c): create the vCPU of CPU slot
     * @slot (topology index) as boot vCPUs are, and start it; end it
     * again.  NULL: the accelerator runs no vCPUs (qtest).
     */
    bool (*hotplug_vcpu)(unsigned slot, GError **errp);
    void (*unplug_vcpu)(unsigned slot);
    /* Join the vCPU threads at exit. */
    void (*shutdown)(void);
} AccelOps;

void accel_register(const AccelOps *ops);
const AccelOps *accel_find(const char *name);
extern const AccelOps *current_accel;

#endif
