/*
 * CPU slots and CPU devices ("MODEL-x86_64-cpu", as QEMU names them) for
 * -smp N,maxcpus=M, -device and device_add/device_del of CPUs.
 *
 * A slot is a possible CPU: slot n has topology index n (socket, die,
 * core, thread from target/i386/topology.c) and that APIC ID; QEMU's
 * possible_cpus list in the same order, and the DSDT's Cnnn.  Slots
 * below -smp cpus hold the boot CPUs (not devices, as before); the
 * others are empty until a CPU device claims them.  The vCPU itself is the
 * accelerator's (AccelOps.hotplug_vcpu/unplug_vcpu); under qtest only the
 * slot and the device exist.
 */
#ifndef HW_I386_X86_CPU_HOTPLUG_H
#define HW_I386_X86_CPU_HOTPLUG_H
#include "qemu/osdep.h"
#include "hw/qdev.h"

#define TYPE_X86_CPU "x86_64-cpu"

typedef struct X86CPUDevice {
    DeviceState parent;
    int32_t socket_id, die_id, core_id, thread_id;  /* -1: not set */
    int32_t node_id;
    unsigned slot;
    bool claimed;               /* realize took the slot */
    bool vcpu_created;          /* the accelerator made its vCPU */
} X86CPUDevice;

/* Slots: -smp maxcpus of them (0 before the machine exists). */
unsigned x86_cpu_hotplug_slot_count(void);
uint32_t x86_cpu_hotplug_slot_apic_id(unsigned slot);
bool x86_cpu_hotplug_slot_present(unsigned slot);
/* The CPU device of @slot (NULL: empty, or a boot CPU). */
DeviceState *x86_cpu_hotplug_slot_device(unsigned slot);
/* Its id (g_free it), NULL without a device or id. */
char *x86_cpu_hotplug_slot_id(unsigned slot);
/* The guest ejected @slot's CPU (ACPI _EJ0): the vCPU and its device go,
 * DEVICE_DELETED is sent.  A boot CPU (no device) stays. */
void x86_cpu_hotplug_eject(unsigned slot);

#endif
