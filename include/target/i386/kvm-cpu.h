/*
 * x86 vCPU state through KVM: CPUID setup, the power-on state, the boot
 * entry state, and register dumps.  Used by accel/kvm/kvm-cpus.c.
 */
#ifndef TARGET_I386_KVM_CPU_H
#define TARGET_I386_KVM_CPU_H
#include "qemu/osdep.h"
#include "hw/i386/x86.h"
#include "target/i386/cpu.h"

/* The time-stamp counter (SDM vol. 4): reset and migration set it. */
#define MSR_IA32_TSC            0x10

typedef struct X86KvmVcpu {
    int fd;                 /* vCPU fd */
    unsigned index;
    uint32_t apic_id;
    uint32_t signature;     /* CPUID.1:EAX, EDX's value at reset */
    bool kernel_lapic;      /* KVM has the LAPIC (kernel_irqchip on/split) */
} X86KvmVcpu;

/* ioctl on the vCPU fd, EINTR retried: the result or -errno. */
int x86_kvm_vcpu_ioctl(const X86KvmVcpu *cpu, unsigned long req, void *arg);
/* The same, false with "kvm: @name on CPU N failed: ..." in @errp. */
bool x86_kvm_vcpu_ioctl_ok(const X86KvmVcpu *cpu, unsigned long req,
                           void *arg, const char *name, GError **errp);

/*
 * Build and install the CPUID table of @cpu (KVM_SET_CPUID2) for the
 * current -cpu configuration.
 */
bool x86_kvm_vcpu_init(X86KvmVcpu *cpu, const struct kvm_cpuid2 *supported,
                       const X86CPUTopoInfo *topo, GError **errp);

/*
 * Power-on state (SDM vol. 3A, 9.1.1 "Processor State After Reset"): for
 * the BSP (@bsp) runnable and, with @entry not NULL and not RESET_VECTOR,
 * at the direct-boot entry; APs wait for INIT/SIPI.
 */
bool x86_kvm_vcpu_reset(X86KvmVcpu *cpu, bool bsp, const X86BootEntry *entry,
                        GError **errp);

/*
 * Without an in-kernel LAPIC (kernel_irqchip=off): a start-up IPI with
 * @vector releases an AP from wait-for-SIPI into real mode at
 * vector << 12 (SDM vol. 3A, 9.4.4.1 / 11.6.1: CS selector vector << 8,
 * IP 0), the rest of the state as INIT left it.
 */
bool x86_kvm_vcpu_sipi(X86KvmVcpu *cpu, uint8_t vector, GError **errp);

/*
 * The whole architectural state of a stopped vCPU as KVM holds it, for
 * migration and snapshots (target/i386/kvm-state.c): registers, system
 * registers, the XSAVE area (or the legacy FPU image) and XCRs, the MSRs
 * of @msrs that the vCPU has, and with an in-kernel LAPIC its registers
 * and MP state, pending events and debug registers.  Appended to @out as
 * tagged sections; x86_kvm_vcpu_load() puts them back in the order KVM
 * needs (system registers before MSRs, MSRs before the LAPIC).  The vCPU
 * must not be in KVM_RUN, and must not have an I/O exit pending.
 */
bool x86_kvm_vcpu_save(const X86KvmVcpu *cpu, const uint32_t *msrs,
                       unsigned nmsrs, GByteArray *out, GError **errp);
bool x86_kvm_vcpu_load(const X86KvmVcpu *cpu, const uint8_t *buf,
                       size_t len, GError **errp);

/* QEMU-style "info registers" text of a stopped vCPU (g_free it). */
char *x86_kvm_vcpu_dump(const X86KvmVcpu *cpu);

#endif
