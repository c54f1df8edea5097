/*
 * State shared by the files of accel/kvm/ (not for other directories:
 * they use include/accel/kvm.h).
 */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "accel/kvm.h"
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
    uint32_t dirty_ring_size;   /* entries per vCPU; 0: the bitmap log */
    KernelIrqchipMode irqchip;  /* who models PIC/IOAPIC/PIT/LAPICs */
    struct kvm_cpuid2 *supported_cpuid;
    struct kvm_msr_list *msr_list;  /* KVM_GET_MSR_INDEX_LIST */
} KvmState;

extern KvmState kvm_state;

/* ioctl with EINTR retried; returns the result or -errno. */
int kvm_ioctl_fd(int fd, unsigned long request, void *arg);

/* kvm-memory.c */
void kvm_memory_init(void);
/* The dirty ring's entry (@slot: address space << 16 | slot id, @offset:
 * page in the slot) into the slot's region's bitmaps; entries of slots
 * we no longer have are dropped.  BQL held. */
void kvm_memory_mark_dirty_gfn(uint32_t slot, uint64_t offset);

/* kvm-dirty-ring.c: the dirty ring instead of KVM_GET_DIRTY_LOG */
/* Turn the ring on (@entries per vCPU; 0: stay with the bitmap log);
 * before any vCPU exists. */
bool kvm_dirty_ring_enable(uint32_t entries, GError **errp);
bool kvm_dirty_ring_enabled(void);
/* Room for the rings of @slots vCPU slots; then map each vCPU's ring
 * when its fd is created. */
void kvm_dirty_ring_setup_vcpus(unsigned slots);
bool kvm_dirty_ring_map_vcpu(unsigned index, int vcpu_fd, GError **errp);
void kvm_dirty_ring_unmap_all(void);
/*
 * Take every vCPU's published entries into the regions' bitmaps, hand
 * them back and re-protect their pages (KVM_RESET_DIRTY_RINGS).  Safe
 * while vCPUs run; BQL held.  Returns the number of entries taken.
 */
uint64_t kvm_dirty_ring_harvest(void);
/* KVM_EXIT_DIRTY_RING_FULL: harvest and reset even if another thread took
 * the entries; false if the rings could not be reset.  BQL held. */
bool kvm_dirty_ring_full_exit(void);
/*
 * One ring (@size entries, a power of two) from *@fetch on: each entry
 * KVM published (DIRTY, read with acquire) goes to @mark and is set to
 * RESET (release); stops at the first unpublished one.  Returns how many
 * it took and advances *@fetch by that much.  (For unit tests too.)
 */
typedef void KvmDirtyGfnFn(void *opaque, uint32_t slot, uint64_t offset);
uint32_t kvm_dirty_ring_collect(struct kvm_dirty_gfn *gfns, uint32_t size,
                                uint32_t *fetch, KvmDirtyGfnFn *mark,
                                void *opaque);

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

/* kvm-stats.c: a vCPU's statistics file (-1: none), and reading it */
int kvm_vcpu_open_stats(int vcpu_fd);
bool kvm_stats_vcpu_fd(int stats_fd, bool values, KvmStatFn *fn,
                       void *opaque, GError **errp);

#endif
