/*
 * Hyper-V enlightenments: the hv-* -cpu switches and the CPUID leaves
 * 0x40000000-0x4000000A a Windows guest reads to find them.
 *
 * Leaf layout and bit names from Microsoft's "Hypervisor Top Level
 * Functional Specification" v6.0b, section 2.4 ("Hypervisor CPUID
 * Leaves"): 0x40000000 vendor and maximum leaf, 0x40000001 interface
 * "Hv#1", 0x40000002 version, 0x40000003 partition privileges (EAX/EBX)
 * and features (EDX), 0x40000004 recommendations (EAX) and the spinlock
 * retry count (EBX), 0x40000005 implementation limits, 0x40000006
 * hardware features, 0x4000000A nested (enlightened VMCS) features.
 * As QEMU does, with any enlightenment on the KVM leaves move to
 * 0x40000100 (KVM looks for its signature at every 0x100 step), the
 * hypercall page is always offered, SynIC adds the post-message and
 * signal-event hypercalls and "dynamic partitioning" is set for Windows'
 * CPU hotplug.  Names, defaults (vendor "Microsoft Hv", version 10.0
 * build 14393, spinlocks 0xffffffff = never notify) and the dependency
 * errors are QEMU 7.2's.
 */
#include "qemu/osdep.h"
#include "target/i386/cpu.h"

/* 0x40000003 EAX: partition privileges */
#define HV_VP_RUNTIME_AVAILABLE             (1u << 0)
#define HV_TIME_REF_COUNT_AVAILABLE         (1u << 1)
#define HV_SYNIC_AVAILABLE                  (1u << 2)
#define HV_SYNTIMERS_AVAILABLE              (1u << 3)
#define HV_APIC_ACCESS_AVAILABLE            (1u << 4)
#define HV_HYPERCALL_AVAILABLE              (1u << 5)
#define HV_VP_INDEX_AVAILABLE               (1u << 6)
#define HV_RESET_AVAILABLE                  (1u << 7)
#define HV_REFERENCE_TSC_AVAILABLE          (1u << 9)
#define HV_ACCESS_FREQUENCY_MSRS            (1u << 11)
#define HV_ACCESS_REENLIGHTENMENTS_CONTROL  (1u << 13)
/* 0x40000003 EBX */
#define HV_POST_MESSAGES                    (1u << 4)
#define HV_SIGNAL_EVENTS                    (1u << 5)
/* 0x40000003 EDX */
#define HV_CPU_DYNAMIC_PARTITIONING_AVAILABLE (1u << 3)
#define HV_FREQUENCY_MSRS_AVAILABLE         (1u << 8)
#define HV_GUEST_CRASH_MSR_AVAILABLE        (1u << 10)
#define HV_STIMER_DIRECT_MODE_AVAILABLE     (1u << 19)
/* 0x40000004 EAX: recommendations */
#define HV_REMOTE_TLB_FLUSH_RECOMMENDED     (1u << 2)
#define HV_APIC_ACCESS_RECOMMENDED          (1u << 3)
#define HV_RELAXED_TIMING_RECOMMENDED       (1u << 5)
#define HV_CLUSTER_IPI_RECOMMENDED          (1u << 10)
#define HV_EX_PROCESSOR_MASKS_RECOMMENDED   (1u << 11)
#define HV_ENLIGHTENED_VMCS_RECOMMENDED     (1u << 14)

#define HV_CPUID_VENDOR         0x40000000
#define HV_CPUID_INTERFACE      0x40000001
#define HV_CPUID_VERSION        0x40000002
#define HV_CPUID_FEATURES       0x40000003
#define HV_CPUID_ENLIGHTMENT    0x40000004
#define HV_CPUID_LIMITS         0x40000005
#define HV_CPUID_HW_FEATURES    0x40000006
#define HV_CPUID_NESTED         0x4000000a
#define KVM_CPUID_BASE_WITH_HV  0x40000100

typedef struct HvFeatureDef {
    const char *name;           /* -cpu switch */
    const char *desc;           /* QEMU's, for the dependency errors */
    uint32_t eax, ebx, edx;     /* 0x40000003 */
    uint32_t hints;             /* 0x40000004 EAX */
    uint32_t deps;              /* HvFeature bits it needs */
} HvFeatureDef;

#define B(f) (1u << (f))
static const HvFeatureDef hv_features[HV_FEAT_COUNT] = {
    [HV_RELAXED] = { "hv-relaxed", "relaxed timing",
                     .hints = HV_RELAXED_TIMING_RECOMMENDED },
    [HV_VAPIC] = { "hv-vapic", "virtual APIC",
                   .eax = HV_APIC_ACCESS_AVAILABLE,
                   .hints = HV_APIC_ACCESS_RECOMMENDED },
    [HV_TIME] = { "hv-time", "clocksource",
                  .eax = HV_TIME_REF_COUNT_AVAILABLE |
                         HV_REFERENCE_TSC_AVAILABLE },
    [HV_CRASH] = { "hv-crash", "crash MSRs",
                   .edx = HV_GUEST_CRASH_MSR_AVAILABLE },
    [HV_RESET] = { "hv-reset", "reset MSR", .eax = HV_RESET_AVAILABLE },
    [HV_VPINDEX] = { "hv-vpindex", "VP_INDEX MSR",
                     .eax = HV_VP_INDEX_AVAILABLE },
    [HV_RUNTIME] = { "hv-runtime", "VP_RUNTIME MSR",
                     .eax = HV_VP_RUNTIME_AVAILABLE },
    [HV_SYNIC] = { "hv-synic", "synthetic interrupt controller",
                   .eax = HV_SYNIC_AVAILABLE,
                   .ebx = HV_POST_MESSAGES | HV_SIGNAL_EVENTS,
                   .deps = B(HV_VPINDEX) },
    [HV_STIMER] = { "hv-stimer", "synthetic timers",
                    .eax = HV_SYNTIMERS_AVAILABLE,
                    .deps = B(HV_SYNIC) | B(HV_TIME) },
    [HV_FREQUENCIES] = { "hv-frequencies", "frequency MSRs",
                         .eax = HV_ACCESS_FREQUENCY_MSRS,
                         .edx = HV_FREQUENCY_MSRS_AVAILABLE },
    [HV_REENLIGHTENMENT] = { "hv-reenlightenment", "reenlightenment MSRs",
                             .eax = HV_ACCESS_REENLIGHTENMENTS_CONTROL },
    [HV_TLBFLUSH] = { "hv-tlbflush", "paravirtualized TLB flush",
                      .hints = HV_REMOTE_TLB_FLUSH_RECOMMENDED |
                               HV_EX_PROCESSOR_MASKS_RECOMMENDED,
                      .deps = B(HV_VPINDEX) },
    [HV_EVMCS] = { "hv-evmcs", "enlightened VMCS",
                   .hints = HV_ENLIGHTENED_VMCS_RECOMMENDED,
                   .deps = B(HV_VAPIC) },
    [HV_IPI] = { "hv-ipi", "paravirtualized IPI",
                 .hints = HV_CLUSTER_IPI_RECOMMENDED |
                          HV_EX_PROCESSOR_MASKS_RECOMMENDED,
                 .deps = B(HV_VPINDEX) },
    [HV_STIMER_DIRECT] = { "hv-stimer-direct",
                           "direct mode synthetic timers",
                           .edx = HV_STIMER_DIRECT_MODE_AVAILABLE,
                           .deps = B(HV_STIMER) },
};

static bool hv_parse_bool(const char *key, const char *value, bool *out,
                       GError **errp)
{
    if (!value || !strcmp(value, "on") || !strcmp(value, "yes") ||
        !strcmp(value, "true")) {
        *out = true;
    } else if (!strcmp(value, "off") || !strcmp(value, "no") ||
               !strcmp(value, "false")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

int x86_hv_parse_prop(X86CPUConfig *cfg, const char *key, const char *value,
                      GError **errp)
{
    bool on;

    if (!g_str_has_prefix(key, "hv-")) {
        return 0;
    }
    for (unsigned f = 0; f < HV_FEAT_COUNT; f++) {
        if (!strcmp(key, hv_features[f].name)) {
            if (!hv_parse_bool(key, value, &on, errp)) {
                return -1;
            }
            cfg->hv_features = on ? cfg->hv_features | B(f)
                                  : cfg->hv_features & ~B(f);
            cfg->hv_set |= B(f);
            return 1;
        }
    }
    if (!strcmp(key, "hv-passthrough")) {
        return hv_parse_bool(key, value, &cfg->hv_passthrough, errp) ? 1 : -1;
    }
    if (!strcmp(key, "hv-spinlocks")) {
        uint64_t n;
        GError *err = NULL;

        if (!value || !parse_uint(value, &n, &err) || n > 0xffffffffu) {
            g_clear_error(&err);
            error_setg(errp, "Parameter 'hv-spinlocks' expects uint32_t");
            return -1;
        }
        if (n < 0xfff) {
            /* QEMU 7.2 clamps too: Windows ignores smaller counts */
            n = 0xfff;
        }
        cfg->hv_spinlocks = n;
        return 1;
    }
    if (!strcmp(key, "hv-vendor-id")) {
        if (!value || strlen(value) > 12) {
            error_setg(errp, "Property 'hv-vendor-id' must be at most 12 "
                       "characters long");
            return -1;
        }
        g_strlcpy(cfg->hv_vendor_id, value, sizeof(cfg->hv_vendor_id));
        return 1;
    }
    return 0;
}

bool x86_hv_check(X86CPUConfig *cfg, GError **errp)
{
    if (cfg->hv_passthrough) {
        /* every enlightenment kvmpc builds, but those switched off */
        for (unsigned f = 0; f < HV_FEAT_COUNT; f++) {
            if (!(cfg->hv_set & B(f))) {
                cfg->hv_features |= B(f);
            }
        }
    }
    for (unsigned f = 0; f < HV_FEAT_COUNT; f++) {
        uint32_t missing;

        if (!(cfg->hv_features & B(f))) {
            continue;
        }
        missing = hv_features[f].deps & ~cfg->hv_features;
        for (unsigned d = 0; missing && d < HV_FEAT_COUNT; d++) {
            if (missing & B(d)) {
                error_setg(errp, "Hyper-V %s (requested by '%s' cpu flag) "
                           "requires Hyper-V %s ('%s')", hv_features[f].desc,
                           hv_features[f].name, hv_features[d].desc,
                           hv_features[d].name);
                return false;
            }
        }
    }
    return true;
}

bool x86_hv_enabled(const X86CPUConfig *cfg)
{
    return cfg->hv_features || cfg->hv_spinlocks != 0xffffffffu ||
           cfg->hv_vendor_id[0];
}

static struct kvm_cpuid_entry2 *hv_leaf(X86CPUIDTable *t, uint32_t function)
{
    struct kvm_cpuid_entry2 *e;

    if (t->nent >= X86_CPUID_MAX_ENTRIES) {
        return NULL;
    }
    e = &t->entries[t->nent++];
    memset(e, 0, sizeof(*e));
    e->function = function;
    return e;
}

/* Move KVM's leaves up to 0x40000100 and put Hyper-V's below them. */
void x86_hv_build_leaves(const X86CPUConfig *cfg, unsigned max_cpus,
                         X86CPUIDTable *t)
{
    uint32_t eax = HV_HYPERCALL_AVAILABLE, ebx = 0;
    uint32_t edx = HV_CPU_DYNAMIC_PARTITIONING_AVAILABLE, hints = 0;
    bool evmcs = cfg->hv_features & B(HV_EVMCS);
    char vendor[12] = "Microsoft Hv";
    struct kvm_cpuid_entry2 *e;

    if (!x86_hv_enabled(cfg)) {
        return;
    }
    for (unsigned i = 0; i < t->nent; i++) {
        uint32_t f = t->entries[i].function;
        if (f == 0x40000000 || f == 0x40000001) {
            t->entries[i].function = f - 0x40000000 + KVM_CPUID_BASE_WITH_HV;
            if (f == 0x40000000) {
                t->entries[i].eax = KVM_CPUID_BASE_WITH_HV + 1;
            }
        }
    }
    for (unsigned f = 0; f < HV_FEAT_COUNT; f++) {
        if (cfg->hv_features & B(f)) {
            eax |= hv_features[f].eax;
            ebx |= hv_features[f].ebx;
            edx |= hv_features[f].edx;
            hints |= hv_features[f].hints;
        }
    }
    if (cfg->hv_vendor_id[0]) {
        memset(vendor, 0, sizeof(vendor));
        memcpy(vendor, cfg->hv_vendor_id, strlen(cfg->hv_vendor_id));
    }
    if ((e = hv_leaf(t, HV_CPUID_VENDOR))) {
        e->eax = evmcs ? HV_CPUID_NESTED : HV_CPUID_LIMITS;
        e->ebx = ldl_le_p(vendor);
        e->ecx = ldl_le_p(vendor + 4);
        e->edx = ldl_le_p(vendor + 8);
    }
    if ((e = hv_leaf(t, HV_CPUID_INTERFACE))) {
        e->eax = 0x31237648;            /* "Hv#1" */
    }
    if ((e = hv_leaf(t, HV_CPUID_VERSION))) {
        e->eax = 14393;                 /* build */
        e->ebx = 10 << 16;              /* major 10, minor 0 */
    }
    if ((e = hv_leaf(t, HV_CPUID_FEATURES))) {
        e->eax = eax;
        e->ebx = ebx;
        e->edx = edx;
    }
    if ((e = hv_leaf(t, HV_CPUID_ENLIGHTMENT))) {
        e->eax = hints;
        e->ebx = cfg->hv_spinlocks;
    }
    if ((e = hv_leaf(t, HV_CPUID_LIMITS))) {
        e->eax = max_cpus;              /* virtual processors */
        e->ebx = 0x40;                  /* logical processors (QEMU's) */
    }
    if (evmcs) {
        for (uint32_t f = HV_CPUID_HW_FEATURES; f < HV_CPUID_NESTED; f++) {
            hv_leaf(t, f);              /* no hardware features, reserved */
        }
        if ((e = hv_leaf(t, HV_CPUID_NESTED))) {
            e->eax = 0x0101;            /* eVMCS version 1.0 only */
        }
    }
}
