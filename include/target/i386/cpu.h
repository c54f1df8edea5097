/*
 * The x86 CPU as the guest sees it: topology (APIC IDs), CPU models and
 * feature flags, and the CPUID table built for each vCPU.
 *
 * APIC ID layout follows the Intel SDM vol. 3A, 10.4.8 ("Hierarchical
 * Mapping of Shared Resources") as QEMU lays it out: each topology level
 * (thread, core, die) gets a bit field whose width is the level's count
 * rounded up to a power of two; the package number sits above them.
 * CPUID leaves follow the Intel SDM vol. 2A "CPUID" and AMD's APM vol. 3
 * "Obtaining Processor Information via the CPUID Instruction".
 *
 * Everything here is pure computation: the table KVM supports is passed in,
 * so unit tests can feed synthetic ones.
 */
#ifndef TARGET_I386_CPU_H
#define TARGET_I386_CPU_H
#include "qemu/osdep.h"
#include "hw/boards.h"
#include <linux/kvm.h>

/* ---- topology ---- */

typedef struct X86CPUTopoInfo {
    unsigned dies_per_pkg;
    unsigned cores_per_die;
    unsigned threads_per_core;
    unsigned max_cpus;          /* -smp maxcpus (0: unknown) */
} X86CPUTopoInfo;

typedef struct X86CPUTopoIDs {
    unsigned pkg_id;
    unsigned die_id;
    unsigned core_id;
    unsigned smt_id;
} X86CPUTopoIDs;

/* Bits needed to number @count items: ceil(log2(count)), 0 for 0 or 1. */
unsigned apicid_bitwidth_for_count(unsigned count);
unsigned apicid_smt_width(const X86CPUTopoInfo *t);
unsigned apicid_core_width(const X86CPUTopoInfo *t);
unsigned apicid_die_width(const X86CPUTopoInfo *t);
unsigned apicid_core_offset(const X86CPUTopoInfo *t);
unsigned apicid_die_offset(const X86CPUTopoInfo *t);
unsigned apicid_pkg_offset(const X86CPUTopoInfo *t);

/* From -smp (zero fields count as 1). */
void x86_topo_info_from_smp(const SmpConfig *smp, X86CPUTopoInfo *t);
void x86_topo_ids_from_idx(const X86CPUTopoInfo *t, unsigned cpu_index,
                           X86CPUTopoIDs *ids);
uint32_t x86_apicid_from_topo_ids(const X86CPUTopoInfo *t,
                                  const X86CPUTopoIDs *ids);
uint32_t x86_apicid_from_cpu_idx(const X86CPUTopoInfo *t, unsigned cpu_index);
void x86_topo_ids_from_apicid(const X86CPUTopoInfo *t, uint32_t apic_id,
                              X86CPUTopoIDs *ids);

/* ---- CPU models and features ---- */

/* The CPUID registers a feature flag can live in. */
typedef enum FeatureWord {
    FEAT_1_EDX,
    FEAT_1_ECX,
    FEAT_7_0_EBX,
    FEAT_7_0_ECX,
    FEAT_7_0_EDX,
    FEAT_8000_0001_EDX,
    FEAT_8000_0001_ECX,
    FEAT_KVM,               /* 0x40000001 EAX: KVM paravirt features */
    FEAT_KVM_HINTS,         /* 0x40000001 EDX */
    FEAT_6_EAX,             /* thermal and power: arat */
    FEAT_7_1_EAX,
    FEAT_XSAVE,             /* 0xd subleaf 1 EAX */
    FEAT_14_0_ECX,          /* Intel PT */
    FEAT_SGX_12_0_EAX,
    FEAT_SGX_12_0_EBX,
    FEAT_SGX_12_1_EAX,
    FEAT_8000_0007_EDX,
    FEAT_8000_0008_EBX,
    FEAT_SVM,               /* 0x8000000a EDX */
    FEAT_C000_0001_EDX,     /* VIA/Centaur PadLock */
    /* Feature MSRs (not CPUID): read by the guest with RDMSR */
    FEAT_ARCH_CAPABILITIES, /* IA32_ARCH_CAPABILITIES, MSR 0x10a */
    FEAT_CORE_CAPABILITY,   /* MSR_IA32_CORE_CAPABILITY, MSR 0xcf */
    FEAT_PERF_CAPABILITIES, /* IA32_PERF_CAPABILITIES, MSR 0x345 */
    FEATURE_WORDS,
} FeatureWord;

#define FEAT_FIRST_MSR FEAT_ARCH_CAPABILITIES
#define X86_FEATURE_MSRS (FEATURE_WORDS - FEAT_FIRST_MSR)
/* The MSR index of feature word @w (w >= FEAT_FIRST_MSR). */
uint32_t x86_feature_msr_index(FeatureWord w);

/* Hyper-V enlightenments (hyperv-cpuid.c), bits of hv_features. */
typedef enum HvFeature {
    HV_RELAXED, HV_VAPIC, HV_TIME, HV_CRASH, HV_RESET, HV_VPINDEX,
    HV_RUNTIME, HV_SYNIC, HV_STIMER, HV_FREQUENCIES, HV_REENLIGHTENMENT,
    HV_TLBFLUSH, HV_EVMCS, HV_IPI, HV_STIMER_DIRECT,
    HV_FEAT_COUNT,
} HvFeature;

/* What -cpu asked for, before it meets what KVM supports. */
typedef struct X86CPUConfig {
    char model[32];             /* "host", "max", "qemu64" */
    uint32_t plus[FEATURE_WORDS];   /* +feat / feat=on */
    uint32_t minus[FEATURE_WORDS];  /* -feat / feat=off (wins over plus) */
    bool enforce;               /* unsupported requested feature = error */
    bool check;                 /* warn about them (the default: warn) */
    bool kvm_signature;         /* kvm=off hides the 0x4000000x leaves */
    bool migratable;            /* host/max: leave out what cannot migrate
                                 * (invtsc); migratable=off passes it */
    char vendor[13];            /* "" = the model's */
    int family, model_num, stepping;    /* -1 = the model's */
    char model_id[49];          /* "" = the model's */
    uint32_t level, xlevel;     /* 0 = the model's */
    uint32_t hv_features;       /* 1 << HvFeature */
    uint32_t hv_set;            /* switched explicitly (on or off) */
    bool hv_passthrough;        /* every enlightenment not switched off */
    uint32_t hv_spinlocks;      /* hv-spinlocks= (0xffffffff: never) */
    char hv_vendor_id[13];      /* "" = "Microsoft Hv" */
    int8_t pmu;                 /* -1: the model's (host/max on, else off) */
    uint32_t phys_bits;         /* phys-bits= (0: 40, or the host's) */
    int8_t host_phys_bits;      /* -1: the model's (host/max on) */
    uint32_t host_phys_bits_limit;  /* 0: none */
    bool l3_cache;              /* off: the L3 level is not described */
    int8_t host_cache_info;     /* -1: not given (host/max only): off */
    int8_t legacy_cache;        /* -1: on unless the model has its own
                                 * caches (target/i386/cache-info.c) */
    uint32_t tsc_khz;           /* tsc-frequency= / 1000 (0: the host's) */
    bool vmware_cpuid_freq;     /* leaf 0x40000010 with a known TSC rate */
} X86CPUConfig;

/* hv-* option @key (value NULL = on): 1 handled, 0 not an hv option,
 * -1 error. */
int x86_hv_parse_prop(X86CPUConfig *cfg, const char *key, const char *value,
                      GError **errp);
/* After parsing: hv-passthrough, then QEMU's dependency rules. */
bool x86_hv_check(X86CPUConfig *cfg, GError **errp);
bool x86_hv_enabled(const X86CPUConfig *cfg);
struct X86CPUIDTable;
/* Hyper-V leaves into @t, KVM's moved to 0x40000100. */
void x86_hv_build_leaves(const X86CPUConfig *cfg, unsigned max_cpus,
                         struct X86CPUIDTable *t);

/*
 * Parse "MODEL[,+feat|,-feat|,feat=on|off|,prop=value...]" into @cfg.
 * Errors: "unknown CPU model 'foo'", "Property 'foo' not found", ...
 */
bool x86_cpu_config_parse(const char *model_and_features, X86CPUConfig *cfg,
                          GError **errp);
/*
 * Parse -cpu and keep the result for the vCPUs (NULL = the default,
 * "host").  Called by main.c early so a bad -cpu is a start-up error.
 * "help" is not a model: check x86_cpu_model_is_help() first.
 */
bool x86_cpu_model_parse(const char *model_and_features, GError **errp);
/* The configuration x86_cpu_model_parse kept (the default if never called). */
const X86CPUConfig *x86_cpu_current_config(void);
bool x86_cpu_model_is_help(const char *model_and_features);
/* "-cpu help" text (free with g_free). */
char *x86_cpu_help_text(void);
/* Every CPUID feature name kvmpc knows, once each (free the array only). */
GPtrArray *x86_cpu_feature_names(void);

/*
 * Find a feature by QEMU's name ("sse4.1", "sse4_1", "lahf-lm"...).
 * Sets @word and @mask; false if the name is unknown.
 */
bool x86_cpu_feature_lookup(const char *name, FeatureWord *word,
                            uint32_t *mask);

/* The model table, for QMP (named models are NAME-v1 with alias NAME). */
typedef struct X86CPUModelInfo {
    const char *name, *desc;
    const char *alias_of;       /* NULL: a model, not an alias */
    bool from_host;             /* host, max: depend on the host */
} X86CPUModelInfo;
unsigned x86_cpu_model_count(void);
bool x86_cpu_model_get(unsigned i, X86CPUModelInfo *out);
/* Names of @name's features that @supported lacks (NULL: none); free
 * the array (not the names). */
GPtrArray *x86_cpu_model_unavailable(const char *name,
                                     const struct kvm_cpuid2 *supported);
struct QDict;
/* query-cpu-model-expansion's properties of @name with @props (feature
 * -> bool) applied; NULL and @errp on a bad model or property. */
struct QDict *x86_cpu_model_expand(const char *name, struct QDict *props,
                                   bool full, GError **errp);

/* The vCPUs' TSC rate in kHz (KVM_GET_TSC_KHZ, or tsc-frequency once
 * set), which leaf 0x40000010 reports; 0: unknown. */
void x86_cpu_set_tsc_khz(uint32_t khz);
/* Whether -cpu's PMU is on (pmu=, else the model's default). */
bool x86_cpu_config_pmu(const X86CPUConfig *cfg);

/* The host's feature MSR values (X86_FEATURE_MSRS of them, NULL: none),
 * which -cpu's MSR features are checked against. */
void x86_cpu_set_host_feature_msrs(const uint64_t *values);

/* The stand-in host of -accel qtest (see cpu.c): a supported-CPUID table
 * and feature MSR values (X86_FEATURE_MSRS of them). */
const struct kvm_cpuid2 *x86_cpu_qtest_supported(void);
void x86_cpu_qtest_feature_msrs(uint64_t *values);
/* KVM's supported CPUID, or the qtest stand-in under -accel qtest, or
 * NULL (no accelerator yet). */
const struct kvm_cpuid2 *x86_cpu_supported_cpuid(void);
/* Build vCPU @cpu_index's CPUID as the accelerator would give it (the
 * current -cpu and -smp); false with @errp on enforce failures. */
struct X86CPUIDTable;
bool x86_cpu_build_for_index(unsigned cpu_index, struct X86CPUIDTable *t,
                             GError **errp);
/* The same from another configuration (a quiet copy of the current). */
bool x86_cpu_build_for_index_cfg(const X86CPUConfig *cfg, unsigned cpu_index,
                                 struct X86CPUIDTable *t, GError **errp);
/* Under -accel qtest: check -cpu against the stand-in host as a KVM
 * start-up would (warnings, enforce); true elsewhere. */
bool x86_cpu_qtest_check(GError **errp);

/*
 * vCPU @cpu_index as its QOM properties show it (QEMU's feature-words,
 * filtered-features, unavailable-features, one boolean per feature,
 * family, model, stepping, vendor, model-id): the named flags its CPUID
 * has (@have), those -cpu asked for that KVM lacks (@filtered), per
 * feature word, and its identity.
 */
typedef struct X86CPUView {
    uint32_t have[FEATURE_WORDS];
    uint32_t filtered[FEATURE_WORDS];
    int family, model, stepping;
    char vendor[13];
    char model_id[49];
} X86CPUView;
bool x86_cpu_view_of(unsigned cpu_index, X86CPUView *v, GError **errp);
/* Where CPUID feature word @w lives (false: an MSR word): leaf, subleaf
 * (meaningful when @has_index), and "EAX".."EDX". */
bool x86_feature_word_cpuid(FeatureWord w, uint32_t *function,
                            uint32_t *index, bool *has_index,
                            const char **reg);
/* The name of bit @bit of word @w, or NULL. */
const char *x86_feature_word_bit_name(FeatureWord w, unsigned bit);

/* Upper bound on entries in a vCPU's CPUID table. */
#define X86_CPUID_MAX_ENTRIES 100

/*
 * A struct kvm_cpuid2 with room for the entries: the same layout (nent,
 * padding, entries), spelled out because a flexible array member cannot sit
 * inside another struct in ISO C.  x86_cpuid_table_kvm() gives the view
 * KVM_SET_CPUID2 takes.
 */
typedef struct X86CPUIDTable {
    __u32 nent;
    __u32 padding;
    struct kvm_cpuid_entry2 entries[X86_CPUID_MAX_ENTRIES];
    /* The feature MSRs' values (FEAT_ARCH_CAPABILITIES... in order),
     * which the accelerator writes with KVM_SET_MSRS. */
    uint32_t feature_msrs[X86_FEATURE_MSRS];
} X86CPUIDTable;
G_STATIC_ASSERT(offsetof(X86CPUIDTable, entries) ==
                offsetof(struct kvm_cpuid2, entries));

static inline struct kvm_cpuid2 *x86_cpuid_table_kvm(X86CPUIDTable *t)
{
    return (struct kvm_cpuid2 *)t;
}

/*
 * Build the CPUID table of the vCPU with @apic_id from @cfg, the
 * @supported table (KVM_GET_SUPPORTED_CPUID) and the topology.  Requested
 * features KVM lacks are dropped with a warning, or fail with enforce.
 * @host_brand: the host's 48-byte brand string for "host"/"max" (may be NULL).
 */
/* Whether @t gives the guest a feature that makes it unmigratable (an
 * invariant TSC without tsc-frequency= in @cfg: its frequency would
 * change under the guest); the reason as QEMU words its migration
 * blocker, or NULL. */
const char *x86_cpuid_unmigratable_reason(const X86CPUConfig *cfg,
                                          const X86CPUIDTable *t);
bool x86_cpu_build_cpuid(const X86CPUConfig *cfg,
                         const struct kvm_cpuid2 *supported,
                         const char *host_brand,
                         const X86CPUTopoInfo *topo, uint32_t apic_id,
                         X86CPUIDTable *out, GError **errp);

/* The entry for @function/@index in @t, added (zeroed) if absent; NULL
 * when the table is full. */
struct kvm_cpuid_entry2 *x86_cpuid_get_entry(X86CPUIDTable *t,
                                             uint32_t function,
                                             uint32_t index);
void x86_cpuid_remove_entries(X86CPUIDTable *t, uint32_t function);

/* target/i386/cache-info.c: the cache and TLB leaves (2, 4, 0x80000005,
 * 0x80000006, 0x8000001d) of model @resolved_model ("EPYC-v2", "host")
 * as QEMU 7.2 builds them; sharing fields are left to the topology. */
bool x86_cpu_model_has_caches(const char *resolved_model);
bool x86_cpu_cache_passthrough(const X86CPUConfig *cfg, bool from_host);
void x86_cpu_build_cache_leaves(const X86CPUConfig *cfg,
                                const char *resolved_model, bool from_host,
                                X86CPUIDTable *t);

/* Find leaf @function / subleaf @index in @c (index ignored unless the
 * entry is index-significant); NULL if absent. */
struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *c,
                                        uint32_t function, uint32_t index);
const struct kvm_cpuid_entry2 *x86_cpuid_find_const(
    const struct kvm_cpuid2 *c, uint32_t function, uint32_t index);

#endif
