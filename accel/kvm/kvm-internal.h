/*
 * State shared by the files of accel/kvm/ (not for other directories:
 * they use include/accel/kvm.h).
 */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H
#include "qemu/osdep.h"
#include "hw/boards.h"
#include <linux/kvm.h>

typedef struct KvmState {
    int kvm_fd;             /* /dev/kvm */
    int vm_fd;
    int vcpu_mmap_size;
    int max_vcpus;          /* KVM_CAP_MAX_VCPUS (or NR_VCPUS, or 4) */
    int max_vcpu_id;        /* KVM_CAP_MAX_VCPU_ID */
    unsigned nr_slots;      /* KVM_CAP_NR_MEMSLOTS */
    int gsi_count;          /* KVM_CAP_IRQ_ROUTING */
    bool readonly_mem;      /* KVM_CAP_READONLY_MEM */
    bool immediate_exit;    /* KVM_CAP_IMMEDIATE_EXIT */
    bool xsave, xcrs, vcpu_events, debugregs;
    KernelIrqchipMode irqchip;  /* who models PIC/IOAPIC/PIT/LAPICs */
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_msr_list *msr_list;  /* KVM_GET_MSR_INDEX_LIST */
} KvmState;

extern KvmState kvm_state;

/* ioctl with EINTR retried; returns the result or -errno. */
int kvm_ioctl_fd(int fd, unsigned long request, void *arg);

/* kvm-memory.c */
void kvm_memory_init(void);

/* kvm-irq.c */
bool kvm_irqchip_init(GError **errp);
/* kernel_irqchip=split: KVM's LAPICs, MSI routes 0-23 for our IOAPIC. */
bool kvm_irqchip_init_split(GError **errp);
/* kernel_irqchip=off: no in-kernel irqchip; MSR exits for the x2APIC. */
bool kvm_irqchip_init_off(GError **errp);

/* kvm-cpus.c (AccelOps hooks) */
bool kvm_create_vcpus(MachineState *ms, GError **errp);
bool kvm_hotplug_vcpu(unsigned slot, GError **errp);
void kvm_unplug_vcpu(unsigned slot);
void kvm_resume_vcpus(void);
void kvm_pause_vcpus(void);
void kvm_reset_vcpus(void);
void kvm_shutdown_vcpus(void);
/* for kvm-migration.c: the vCPU slots, a present one's state (NULL:
 * absent), and kernel_irqchip=off's halted / wait-for-SIPI flags */
typedef struct X86KvmVcpu X86KvmVcpu;
unsigned kvm_vcpu_slots(void);
X86KvmVcpu *kvm_vcpu_x86(unsigned slot);
void kvm_vcpu_get_wait_state(unsigned slot, bool *halted, bool *wait_sipi);
void kvm_vcpu_set_wait_state(unsigned slot, bool halted, bool wait_sipi);

/* kvm-migration.c: the vCPUs' and the in-kernel devices' state in
 * migration streams and snapshots */
void kvm_migration_init(void);

#endif
