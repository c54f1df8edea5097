/*
 * What the monitor needs to know about vCPUs beyond include/accel/kvm.h.
 *
 * monitor_cpu_get_paging() is wanted from accel/kvm as a direct sregs
 * read (e.g. "bool kvm_vcpu_get_sregs(unsigned idx, struct kvm_sregs *)");
 * until it exists, monitor/cpu-info.c derives the values from the
 * "info registers" text that kvm_vcpu_dump_registers() produces.
 */
#ifndef MONITOR_CPU_INFO_H
#define MONITOR_CPU_INFO_H
#include "qemu/osdep.h"

/* The control registers that decide how virtual addresses translate. */
typedef struct MonitorCpuPaging {
    uint64_t cr0, cr3, cr4, efer;
} MonitorCpuPaging;

bool monitor_cpu_get_paging(unsigned idx, MonitorCpuPaging *out,
                            GError **errp);

#endif
