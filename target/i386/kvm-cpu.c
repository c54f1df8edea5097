/*
 * x86 vCPU state through KVM.
 *
 * Power-on state: Intel SDM vol. 3A, 9.1.1 "Processor State After Reset"
 * (table 9-1): CR0 = 0x60000010, CS = f000 with base ffff0000, IP = fff0,
 * EDX = the CPUID signature, EFLAGS = 2, DR6/DR7, x87 FCW 0x37f, MXCSR
 * 0x1f80, the LAPIC at 0xfee00000 enabled with BSP flag on CPU 0, APs in
 * wait-for-SIPI.  MSRs are reset as QEMU's x86_cpu_reset and
 * kvm_arch_reset_vcpu do.
 * Boot entry states: Multiboot 0.6.96 3.2 and the Xen PVH start-of-day
 * state (flat 32-bit protected mode), Linux Documentation/arch/x86/boot.rst
 * "64-bit Boot Protocol" (long mode with identity paging).
 */
#include "qemu/osdep.h"
#include "target/i386/kvm-cpu.h"
#include "hw/i386/x86-boot.h"
#include "accel/kvm.h"
#include "hw/boards.h"
#include "migration/migration.h"
#include "system/qtest.h"
#include <cpuid.h>
#include <sys/ioctl.h>

#define CR0_PE  (1u << 0)
#define CR0_ET  (1u << 4)
#define CR0_NW  (1u << 29)
#define CR0_CD  (1u << 30)
#define CR0_PG  (1u << 31)
#define CR4_PAE (1u << 5)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

#define APIC_DEFAULT_BASE   0xfee00000ULL
#define APIC_BASE_BSP       (1ULL << 8)
#define APIC_BASE_ENABLE    (1ULL << 11)

/* MSR numbers (SDM vol. 4; Linux Documentation/virt/kvm/x86/msr.rst) */
#define MSR_KVM_SYSTEM_TIME     0x12
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_MCG_STATUS          0x17a
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_IA32_DEBUGCTL       0x1d9
#define MSR_PAT                 0x277
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_TSC_DEADLINE        0x6e0
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_FMASK               0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_ASYNC_PF_EN     0x4b564d02
#define MSR_KVM_STEAL_TIME      0x4b564d03
#define MSR_KVM_PV_EOI_EN       0x4b564d04
#define MSR_KVM_POLL_CONTROL    0x4b564d05
#define MSR_KVM_ASYNC_PF_INT    0x4b564d06

/* Intel SDM 3A 9.1.1: "fast strings enable" is the only bit set. */
#define MISC_ENABLE_DEFAULT     1ULL
#define PAT_DEFAULT             0x0007040600070406ULL

/* LAPIC register offsets (SDM vol. 3A, table 10-1) */
#define APIC_ID     0x20
#define APIC_LVR    0x30
#define APIC_DFR    0xe0
#define APIC_SPIV   0xf0
#define APIC_LVT_CMCI 0x2f0
#define APIC_LVTT   0x320
#define APIC_LVTTHMR 0x330
#define APIC_LVTPC  0x340
#define APIC_LVT0   0x350
#define APIC_LVT1   0x360
#define APIC_LVTERR 0x370
#define APIC_LVT_MASKED 0x10000u
#define APIC_DM_EXTINT  0x700u

int x86_kvm_vcpu_ioctl(const X86KvmVcpu *cpu, unsigned long req, void *arg)
{
    int ret;

    do {
        ret = ioctl(cpu->fd, req, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

bool x86_kvm_vcpu_ioctl_ok(const X86KvmVcpu *cpu, unsigned long req,
                           void *arg, const char *name, GError **errp)
{
    int ret = x86_kvm_vcpu_ioctl(cpu, req, arg);

    if (ret < 0) {
        error_setg(errp, "kvm: %s on CPU %u failed: %s", name, cpu->index,
                   strerror(-ret));
        return false;
    }
    return true;
}

/* ---- CPUID ---- */

static void host_brand_string(char brand[49])
{
    unsigned regs[12] = { 0 };

    memset(brand, 0, 49);
    if ((unsigned)__get_cpuid_max(0x80000000, NULL) < 0x80000004u) {
        return;
    }
    for (unsigned i = 0; i < 3; i++) {
        __get_cpuid(0x80000002 + i, &regs[i * 4], &regs[i * 4 + 1],
                    &regs[i * 4 + 2], &regs[i * 4 + 3]);
    }
    memcpy(brand, regs, 48);
}

static void set_one_msr(const X86KvmVcpu *cpu, uint32_t index, uint64_t value);

/* The feature MSRs (IA32_ARCH_CAPABILITIES...) as the model says, where
 * KVM lets the guest read them (else KVM would show the host's value). */
static void set_feature_msrs(const X86KvmVcpu *cpu, const X86CPUIDTable *t)
{
    for (unsigned w = FEAT_FIRST_MSR; w < FEATURE_WORDS; w++) {
        uint32_t index = x86_feature_msr_index(w);
        if (kvm_has_msr(index)) {
            set_one_msr(cpu, index, t->feature_msrs[w - FEAT_FIRST_MSR]);
        }
    }
}

/* The per-vCPU KVM capabilities some enlightenments need (Linux
 * api.rst: KVM_CAP_HYPERV_SYNIC2, KVM_CAP_HYPERV_ENLIGHTENED_VMCS). */
static bool enable_hv_caps(X86KvmVcpu *cpu, const X86CPUConfig *cfg,
                           GError **errp)
{
    /*
     * Without KVM's Hyper-V emulation every Hyper-V MSR faults in the
     * guest although CPUID offers it (QEMU 7.2 then aborts setting one):
     * refuse the flags instead, the way the SynIC's is refused below.
     */
    if (cfg->hv_features && kvm_check_extension(KVM_CAP_HYPERV) <= 0) {
        error_setg(errp, "Hyper-V enlightenments (hv-* cpu flags) are not "
                   "supported by this host's KVM (no KVM_CAP_HYPERV)");
        return false;
    }
    if ((cfg->hv_features & (1u << HV_TIME)) &&
        kvm_check_extension(KVM_CAP_HYPERV_TIME) <= 0) {
        error_setg(errp, "Hyper-V clocksource (requested by 'hv-time' cpu "
                   "flag) is not supported by kernel");
        return false;
    }
    if ((cfg->hv_features & (1u << HV_VPINDEX)) &&
        kvm_check_extension(KVM_CAP_HYPERV_VP_INDEX) <= 0) {
        error_setg(errp, "Hyper-V VP_INDEX MSR (requested by 'hv-vpindex' "
                   "cpu flag) is not supported by kernel");
        return false;
    }
    if (cfg->hv_features & (1u << HV_SYNIC)) {
        struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_SYNIC2 };

        if (x86_kvm_vcpu_ioctl(cpu, KVM_ENABLE_CAP, &cap) < 0) {
            error_setg(errp, "Hyper-V synthetic interrupt controller "
                       "(requested by 'hv-synic' cpu flag) is not "
                       "supported by kernel");
            return false;
        }
    }
    if (cfg->hv_features & (1u << HV_EVMCS)) {
        uint16_t version = 0;
        struct kvm_enable_cap cap = {
            .cap = KVM_CAP_HYPERV_ENLIGHTENED_VMCS,
            .args[0] = (uintptr_t)&version,
        };

        if (x86_kvm_vcpu_ioctl(cpu, KVM_ENABLE_CAP, &cap) < 0) {
            error_setg(errp, "Hyper-V enlightened VMCS (requested by "
                       "'hv-evmcs' cpu flag) is not supported by kernel");
            return false;
        }
    }
    return true;
}

/* A vCPU given an invariant TSC without tsc-frequency= cannot migrate
 * (QEMU's blocker, once for the VM: every vCPU has the same features). */
static void block_unmigratable(const X86CPUConfig *cfg,
                               const X86CPUIDTable *table)
{
    static bool blocked;
    const char *reason = x86_cpuid_unmigratable_reason(cfg, table);

    if (reason && !blocked) {
        migrate_add_blocker(reason);
        blocked = true;
    }
}

/*
 * tsc-frequency=: the vCPU's TSC runs at @khz.  With TSC scaling
 * (KVM_CAP_TSC_CONTROL) KVM sets any rate; without it only the host's
 * own rate can be had, and asking for another is an error at start-up,
 * as in QEMU (the guest would see its clock run at the wrong speed).
 * KVM_SET_TSC_KHZ is not tried without the capability: some hosts
 * record the rate they then refuse, and would report it back.
 */
static bool set_tsc_rate(const X86KvmVcpu *cpu, uint32_t khz, GError **errp)
{
    int cur;

    if (kvm_check_extension(KVM_CAP_TSC_CONTROL) > 0 &&
        x86_kvm_vcpu_ioctl(cpu, KVM_SET_TSC_KHZ,
                           (void *)(uintptr_t)khz) == 0) {
        return true;
    }
    cur = x86_kvm_vcpu_ioctl(cpu, KVM_GET_TSC_KHZ, NULL);
    if (cur > 0 && (uint32_t)cur == khz) {
        return true;
    }
    error_setg(errp, "TSC frequency mismatch between VM (%u kHz) and host "
               "(%d kHz), and TSC scaling unavailable", khz, cur);
    return false;
}

/* The vCPU's TSC rate into the CPUID builder (leaf 0x40000010). */
static bool setup_tsc_rate(const X86KvmVcpu *cpu, const X86CPUConfig *cfg,
                           GError **errp)
{
    int khz;

    if (cfg->tsc_khz) {
        if (!set_tsc_rate(cpu, cfg->tsc_khz, errp)) {
            return false;
        }
        x86_cpu_set_tsc_khz(cfg->tsc_khz);
        return true;
    }
    if (kvm_check_extension(KVM_CAP_GET_TSC_KHZ) > 0 &&
        (khz = x86_kvm_vcpu_ioctl(cpu, KVM_GET_TSC_KHZ, NULL)) > 0) {
        x86_cpu_set_tsc_khz(khz);
    }
    return true;
}

bool x86_kvm_vcpu_init(X86KvmVcpu *cpu, const struct kvm_cpuid2 *supported,
                       const X86CPUTopoInfo *topo, GError **errp)
{
    g_autofree X86CPUIDTable *table = g_new0(X86CPUIDTable, 1);
    const struct kvm_cpuid_entry2 *l1;
    char brand[49];

    host_brand_string(brand);
    if (!setup_tsc_rate(cpu, x86_cpu_current_config(), errp) ||
        !x86_cpu_build_cpuid(x86_cpu_current_config(), supported, brand,
                             topo, cpu->apic_id, table, errp)) {
        return false;
    }
    l1 = x86_cpuid_find_const(x86_cpuid_table_kvm(table), 1, 0);
    cpu->signature = l1 ? l1->eax : 0x600;
    block_unmigratable(x86_cpu_current_config(), table);
    if (!x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_CPUID2, x86_cpuid_table_kvm(table),
                       "KVM_SET_CPUID2", errp)) {
        return false;
    }
    set_feature_msrs(cpu, table);
    return enable_hv_caps(cpu, x86_cpu_current_config(), errp);
}

const struct kvm_cpuid2 *x86_cpu_supported_cpuid(void)
{
    if (qtest_enabled()) {
        static bool msrs_set;
        if (!msrs_set) {
            uint64_t v[X86_FEATURE_MSRS];
            x86_cpu_qtest_feature_msrs(v);
            x86_cpu_set_host_feature_msrs(v);
            x86_cpu_set_tsc_khz(2000000);   /* the stand-in host's 2 GHz */
            msrs_set = true;
        }
        return x86_cpu_qtest_supported();
    }
    return kvm_get_supported_cpuid();
}

bool x86_cpu_build_for_index(unsigned cpu_index, X86CPUIDTable *t,
                             GError **errp)
{
    return x86_cpu_build_for_index_cfg(x86_cpu_current_config(), cpu_index,
                                       t, errp);
}

bool x86_cpu_build_for_index_cfg(const X86CPUConfig *cfg, unsigned cpu_index,
                                 X86CPUIDTable *t, GError **errp)
{
    const struct kvm_cpuid2 *sup = x86_cpu_supported_cpuid();
    SmpConfig one = { 1, 1, 1, 1, 1, 1 };
    X86CPUTopoInfo topo;
    char brand[49];

    if (!sup) {
        error_setg(errp, "no accelerator to build CPUID against");
        return false;
    }
    x86_topo_info_from_smp(current_machine ? &current_machine->smp : &one,
                           &topo);
    host_brand_string(brand);
    return x86_cpu_build_cpuid(cfg, sup,
                               qtest_enabled() ? "kvmpc qtest host CPU"
                                               : brand,
                               &topo, x86_apicid_from_cpu_idx(&topo,
                                                              cpu_index),
                               t, errp);
}

bool x86_cpu_qtest_check(GError **errp)
{
    g_autofree X86CPUIDTable *t = NULL;

    if (!qtest_enabled() || !current_machine ||
        current_machine->type->no_cpus) {
        return true;
    }
    t = g_new0(X86CPUIDTable, 1);
    return x86_cpu_build_for_index(0, t, errp);
}

/* ---- reset ---- */

static struct kvm_segment real_mode_segment(uint16_t selector, uint8_t type)
{
    return (struct kvm_segment) {
        .base = (uint64_t)selector << 4,
        .limit = 0xffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .s = 1,
    };
}

static void reset_sregs(struct kvm_sregs *s, bool bsp)
{
    memset(s, 0, sizeof(*s));
    s->cs = real_mode_segment(0xf000, 0xb);     /* execute/read, accessed */
    s->cs.base = 0xffff0000;
    s->ds = s->es = s->fs = s->gs = s->ss = real_mode_segment(0, 0x3);
    s->ldt = (struct kvm_segment) { .limit = 0xffff, .type = 2,
                                    .present = 1 };
    s->tr = (struct kvm_segment) { .limit = 0xffff, .type = 0xb,
                                   .present = 1 };
    s->gdt.limit = 0xffff;
    s->idt.limit = 0xffff;
    s->cr0 = 0x60000010;
    s->apic_base = APIC_DEFAULT_BASE | APIC_BASE_ENABLE |
                   (bsp ? APIC_BASE_BSP : 0);
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type,
                                       bool code64)
{
    return (struct kvm_segment) {
        .base = 0,
        .limit = 0xffffffff,
        .selector = selector,
        .type = type,
        .present = 1,
        .s = 1,
        .db = code64 ? 0 : 1,
        .l = code64 ? 1 : 0,
        .g = 1,
    };
}

/* Flat protected (or long) mode as the boot protocols require. */
static void apply_boot_sregs(struct kvm_sregs *s, const X86BootEntry *e)
{
    bool long_mode = e->mode == X86_BOOT_LONG64;

    s->cs = flat_segment(X86_BOOT_CS, 0xb, long_mode);
    s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(X86_BOOT_DS, 0x3,
                                                         false);
    s->gdt.base = e->gdt_base;
    s->gdt.limit = e->gdt_limit;
    /* no IDT: an early fault becomes a clean triple fault (reset or,
     * with -no-reboot, shutdown) instead of a jump through the IVT */
    s->idt.base = 0;
    s->idt.limit = 0;
    s->cr0 = (s->cr0 & ~(CR0_CD | CR0_NW)) | CR0_PE | CR0_ET;
    if (long_mode) {
        s->cr0 |= CR0_PG;
        s->cr3 = e->cr3;
        s->cr4 |= CR4_PAE;
        s->efer |= EFER_LME | EFER_LMA;
    }
}

static void reset_regs(struct kvm_regs *r, uint32_t signature)
{
    memset(r, 0, sizeof(*r));
    r->rflags = 0x2;
    r->rip = 0xfff0;
    r->rdx = signature;
}

static void apply_boot_regs(struct kvm_regs *r, const X86BootEntry *e)
{
    r->rip = e->rip;
    r->rsp = e->rsp;
    r->rax = e->rax;
    r->rbx = e->rbx;
    r->rsi = e->rsi;
    r->rdx = 0;
}

static bool reset_fpu(const X86KvmVcpu *cpu, bool have_xsave, bool have_xcrs,
                      GError **errp)
{
    struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

    if (have_xsave) {
        /* the whole XSAVE area, so AVX and later state is cleared too */
        g_autofree struct kvm_xsave *xs = g_new0(struct kvm_xsave, 1);
        uint8_t *area = (uint8_t *)xs->region;

        stw_le_p(area, 0x37f);              /* FCW */
        stl_le_p(area + 24, 0x1f80);        /* MXCSR */
        stq_le_p(area + 512, 0x3);          /* XSTATE_BV: x87, SSE */
        if (!x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_XSAVE, xs, "KVM_SET_XSAVE", errp)) {
            return false;
        }
    } else if (!x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU", errp)) {
        return false;
    }
    if (have_xcrs) {
        struct kvm_xcrs xcrs = { .nr_xcrs = 1,
                                 .xcrs[0] = { .xcr = 0, .value = 1 } };
        /* fails when the guest has no XSAVE: nothing to reset then */
        x86_kvm_vcpu_ioctl(cpu, KVM_SET_XCRS, &xcrs);
    }
    return true;
}

/* MSRs reset to a fixed value, written when KVM knows them. */
static const struct {
    uint32_t index;
    uint64_t value;
    bool always;        /* write even if not in KVM's index list */
} reset_msrs[] = {
    { MSR_IA32_TSC, 0 },
    { MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
    { MSR_IA32_SYSENTER_EIP, 0 },
    { MSR_STAR, 0 }, { MSR_LSTAR, 0 }, { MSR_CSTAR, 0 }, { MSR_FMASK, 0 },
    { MSR_KERNEL_GS_BASE, 0 }, { MSR_TSC_AUX, 0 },
    { MSR_MCG_STATUS, 0 }, { MSR_IA32_DEBUGCTL, 0 },
    { MSR_IA32_MISC_ENABLE, MISC_ENABLE_DEFAULT },
    { MSR_PAT, PAT_DEFAULT, true },
    { MSR_MTRR_DEF_TYPE, 0, true },
    { MSR_TSC_DEADLINE, 0 },
    { MSR_KVM_SYSTEM_TIME, 0 }, { MSR_KVM_SYSTEM_TIME_NEW, 0 },
    { MSR_KVM_ASYNC_PF_EN, 0 }, { MSR_KVM_ASYNC_PF_INT, 0 },
    { MSR_KVM_STEAL_TIME, 0 }, { MSR_KVM_PV_EOI_EN, 0 },
    { MSR_KVM_POLL_CONTROL, 1 },
};

static void set_one_msr(const X86KvmVcpu *cpu, uint32_t index, uint64_t value)
{
    /* struct kvm_msrs with one entry: nmsrs, pad, entries[1]. */
    struct {
        __u32 nmsrs;
        __u32 pad;
        struct kvm_msr_entry e;
    } m = { .nmsrs = 1, .e = { .index = index, .data = value } };
    G_STATIC_ASSERT(offsetof(struct kvm_msrs, entries) == 8);

    if (x86_kvm_vcpu_ioctl(cpu, KVM_SET_MSRS, &m) != 1) {
        g_debug("kvm: CPU %u: MSR 0x%x not reset", cpu->index, index);
    }
}

static void reset_msr_values(const X86KvmVcpu *cpu)
{
    for (unsigned i = 0; i < ARRAY_SIZE(reset_msrs); i++) {
        if (reset_msrs[i].always || kvm_has_msr(reset_msrs[i].index)) {
            set_one_msr(cpu, reset_msrs[i].index, reset_msrs[i].value);
        }
    }
}

static void lapic_set(struct kvm_lapic_state *l, unsigned reg, uint32_t v)
{
    stl_le_p(&l->regs[reg], v);
}

/* SDM vol. 3A 10.4.7.1 "Local APIC State After Power-Up or Reset". */
static bool reset_lapic(const X86KvmVcpu *cpu, bool bsp, GError **errp)
{
    struct kvm_lapic_state l;
    uint32_t version;

    if (!x86_kvm_vcpu_ioctl_ok(cpu, KVM_GET_LAPIC, &l, "KVM_GET_LAPIC", errp)) {
        return false;
    }
    version = ldl_le_p(&l.regs[APIC_LVR]);
    memset(&l, 0, sizeof(l));
    lapic_set(&l, APIC_ID, cpu->apic_id << 24);
    lapic_set(&l, APIC_LVR, version);
    lapic_set(&l, APIC_DFR, 0xffffffff);
    lapic_set(&l, APIC_SPIV, 0xff);
    lapic_set(&l, APIC_LVT_CMCI, APIC_LVT_MASKED);
    lapic_set(&l, APIC_LVTT, APIC_LVT_MASKED);
    lapic_set(&l, APIC_LVTTHMR, APIC_LVT_MASKED);
    lapic_set(&l, APIC_LVTPC, APIC_LVT_MASKED);
    /* as QEMU and KVM do: the BSP takes PIC interrupts through LINT0 */
    lapic_set(&l, APIC_LVT0, bsp ? APIC_DM_EXTINT : APIC_LVT_MASKED);
    lapic_set(&l, APIC_LVT1, APIC_LVT_MASKED);
    lapic_set(&l, APIC_LVTERR, APIC_LVT_MASKED);
    return x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_LAPIC, &l, "KVM_SET_LAPIC", errp);
}

static void reset_events_and_debug(const X86KvmVcpu *cpu)
{
    struct kvm_vcpu_events ev = {
        .flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
                 KVM_VCPUEVENT_VALID_SIPI_VECTOR |
                 KVM_VCPUEVENT_VALID_SHADOW,
    };
    struct kvm_debugregs dr = { .dr6 = 0xffff0ff0, .dr7 = 0x400 };

    /* both optional (VCPU_EVENTS, DEBUGREGS caps): best effort */
    x86_kvm_vcpu_ioctl(cpu, KVM_SET_VCPU_EVENTS, &ev);
    x86_kvm_vcpu_ioctl(cpu, KVM_SET_DEBUGREGS, &dr);
}

bool x86_kvm_vcpu_reset(X86KvmVcpu *cpu, bool bsp, const X86BootEntry *entry,
                        GError **errp)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_mp_state mp = {
        .mp_state = bsp ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
    };
    bool direct = bsp && entry && entry->mode != X86_BOOT_RESET_VECTOR;

    reset_regs(&regs, cpu->signature);
    reset_sregs(&sregs, bsp);
    if (direct) {
        apply_boot_regs(&regs, entry);
        apply_boot_sregs(&sregs, entry);
    }
    if (!x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", errp) ||
        !x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_REGS, &regs, "KVM_SET_REGS", errp) ||
        !reset_fpu(cpu, kvm_check_extension(KVM_CAP_XSAVE) > 0,
                   kvm_check_extension(KVM_CAP_XCRS) > 0, errp)) {
        return false;
    }
    reset_msr_values(cpu);
    reset_events_and_debug(cpu);
    if (!cpu->kernel_lapic) {
        /* kvmpc's LAPIC model resets itself, and KVM accepts no MP state
         * but "runnable" without one: accel/kvm/kvm-cpus.c holds APs in
         * wait-for-SIPI. */
        return true;
    }
    if (!reset_lapic(cpu, bsp, errp)) {
        return false;
    }
    return x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE",
                         errp);
}

bool x86_kvm_vcpu_sipi(X86KvmVcpu *cpu, uint8_t vector, GError **errp)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    if (!x86_kvm_vcpu_ioctl_ok(cpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS", errp) ||
        !x86_kvm_vcpu_ioctl_ok(cpu, KVM_GET_REGS, &regs, "KVM_GET_REGS", errp)) {
        return false;
    }
    sregs.cs = real_mode_segment((uint16_t)vector << 8, 0xb);
    regs.rip = 0;
    return x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", errp) &&
           x86_kvm_vcpu_ioctl_ok(cpu, KVM_SET_REGS, &regs, "KVM_SET_REGS", errp);
}

/* ---- register dump ---- */

static uint32_t segment_flags(const struct kvm_segment *s)
{
    return (uint32_t)s->type << 8 | (uint32_t)s->s << 12 |
           (uint32_t)s->dpl << 13 | (uint32_t)s->present << 15 |
           (uint32_t)s->avl << 20 | (uint32_t)s->l << 21 |
           (uint32_t)s->db << 22 | (uint32_t)s->g << 23;
}

static void dump_segment(GString *out, const char *name,
                         const struct kvm_segment *s)
{
    g_string_append_printf(out, "%-3s=%04x %016" PRIx64 " %08x %08x%s\n",
                           name, s->selector, (uint64_t)s->base, s->limit,
                           segment_flags(s), s->unusable ? " unusable" : "");
}

static void dump_flags(GString *out, uint64_t f)
{
    static const struct { unsigned bit; char c; } names[] = {
        { 11, 'O' }, { 10, 'D' }, { 7, 'S' }, { 6, 'Z' }, { 4, 'A' },
        { 2, 'P' }, { 0, 'C' },
    };

    g_string_append_c(out, '[');
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        g_string_append_c(out, f & (1u << names[i].bit) ? names[i].c : '-');
    }
    g_string_append_c(out, ']');
}

static const char *mp_state_name(uint32_t s)
{
    switch (s) {
    case KVM_MP_STATE_RUNNABLE: return "runnable";
    case KVM_MP_STATE_UNINITIALIZED: return "wait-for-sipi";
    case KVM_MP_STATE_INIT_RECEIVED: return "init-received";
    case KVM_MP_STATE_HALTED: return "halted";
    case KVM_MP_STATE_SIPI_RECEIVED: return "sipi-received";
    default: return "other";
    }
}

char *x86_kvm_vcpu_dump(const X86KvmVcpu *cpu)
{
    GString *o = g_string_new(NULL);
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_mp_state mp = { .mp_state = ~0u };
    int ret;

    g_string_append_printf(o, "CPU#%u (APIC ID %u)\n", cpu->index,
                           cpu->apic_id);
    ret = x86_kvm_vcpu_ioctl(cpu, KVM_GET_REGS, &r);
    if (ret == 0) {
        ret = x86_kvm_vcpu_ioctl(cpu, KVM_GET_SREGS, &s);
    }
    if (ret < 0) {
        g_string_append_printf(o, "registers unavailable: %s\n",
                               strerror(-ret));
        return g_string_free(o, FALSE);
    }
    x86_kvm_vcpu_ioctl(cpu, KVM_GET_MP_STATE, &mp);
    g_string_append_printf(o,
        "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
        "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
        "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
        "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
        "RIP=%016llx RFL=%08llx ",
        r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp,
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
        r.rip, r.rflags);
    dump_flags(o, r.rflags);
    g_string_append_printf(o, " CPL=%u MP=%s\n", s.cs.dpl,
                           mp_state_name(mp.mp_state));
    dump_segment(o, "ES", &s.es);
    dump_segment(o, "CS", &s.cs);
    dump_segment(o, "SS", &s.ss);
    dump_segment(o, "DS", &s.ds);
    dump_segment(o, "FS", &s.fs);
    dump_segment(o, "GS", &s.gs);
    dump_segment(o, "LDT", &s.ldt);
    dump_segment(o, "TR", &s.tr);
    g_string_append_printf(o,
        "GDT=     %016llx %08x\n"
        "IDT=     %016llx %08x\n"
        "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx CR8=%llx\n"
        "EFER=%016llx APIC_BASE=%016llx\n",
        s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit,
        s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apic_base);
    return g_string_free(o, FALSE);
}
