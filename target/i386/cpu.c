/*
 * x86 CPU models, feature flags and the per-vCPU CPUID table.
 *
 * Feature names are QEMU's (target/i386 FeatureWordInfo names, which follow
 * the Linux /proc/cpuinfo spelling), so -cpu strings written for
 * qemu-system-x86_64 work unchanged.  Bit positions come from the Intel SDM
 * vol. 2A "CPUID" and AMD APM vol. 3 appendix E; the KVM paravirt bits from
 * Linux Documentation/virt/kvm/x86/cpuid.rst.
 *
 * Models:
 *   host    everything KVM supports, the host's vendor/family/model/brand
 *   max     the same under KVM
 *   qemu64  QEMU's qemu64: AuthenticAMD family 15 model 107 stepping 1,
 *           the P6 feature set plus sse3/cx16, lm/syscall/nx, lahf_lm/svm;
 *           masked by what KVM supports
 *   qemu32, kvm32, kvm64: QEMU 7.2's models of those names (identity,
 *           level/xlevel and features as QEMU's query-cpu-model-expansion
 *           reports them; tests/qmp/test_cpu_models.py compares)
 * Named models exist as NAME-v1, with NAME an alias of it, as in QEMU 7.2.
 */
#include "qemu/osdep.h"
#include "qom/object-type.h"
#include "target/i386/cpu.h"
#include "qobject/qdict.h"
#include "qobject/qbool.h"

/* ---- feature names ---- */

typedef struct FeatureWordInfo {
    const char *reg_name;       /* QEMU's: "CPUID.01H:EDX", "MSR(10AH)" */
    const char *names[32];
} FeatureWordInfo;

static const FeatureWordInfo feature_words[FEATURE_WORDS] = {
    [FEAT_1_EDX] = { "CPUID.01H:EDX", {
        "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
        "cx8", "apic", NULL, "sep", "mtrr", "pge", "mca", "cmov",
        "pat", "pse36", "pn", "clflush", NULL, "ds", "acpi", "mmx",
        "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe" } },
    [FEAT_1_ECX] = { "CPUID.01H:ECX", {
        "pni", "pclmulqdq", "dtes64", "monitor", "ds-cpl", "vmx", "smx",
        "est", "tm2", "ssse3", "cid", NULL, "fma", "cx16", "xtpr", "pdcm",
        NULL, "pcid", "dca", "sse4.1", "sse4.2", "x2apic", "movbe",
        "popcnt", "tsc-deadline", "aes", "xsave", NULL /* osxsave */,
        "avx", "f16c", "rdrand", "hypervisor" } },
    [FEAT_7_0_EBX] = { "CPUID.07H:EBX", {
        "fsgsbase", "tsc-adjust", "sgx", "bmi1", "hle", "avx2", NULL,
        "smep", "bmi2", "erms", "invpcid", "rtm", NULL, NULL, "mpx", NULL,
        "avx512f", "avx512dq", "rdseed", "adx", "smap", "avx512ifma",
        "pcommit", "clflushopt", "clwb", "intel-pt", "avx512pf",
        "avx512er", "avx512cd", "sha-ni", "avx512bw", "avx512vl" } },
    [FEAT_7_0_ECX] = { "CPUID.07H:ECX", {
        NULL, "avx512vbmi", "umip", "pku", NULL /* ospke */, "waitpkg",
        "avx512vbmi2", NULL, "gfni", "vaes", "vpclmulqdq", "avx512vnni",
        "avx512bitalg", NULL, "avx512-vpopcntdq", NULL, "la57", NULL,
        NULL, NULL, NULL, NULL, "rdpid", NULL, "bus-lock-detect",
        "cldemote", NULL, "movdiri", "movdir64b", NULL, "sgxlc", "pks" } },
    [FEAT_7_0_EDX] = { "CPUID.07H:EDX", {
        NULL, NULL, "avx512-4vnniw", "avx512-4fmaps", "fsrm", NULL, NULL,
        NULL, "avx512-vp2intersect", NULL, "md-clear", NULL, NULL, NULL,
        "serialize", NULL, "tsx-ldtrk", NULL, "pconfig", "arch-lbr", NULL,
        NULL, "amx-bf16", "avx512-fp16", "amx-tile", "amx-int8",
        "spec-ctrl", "stibp", "flush-l1d", "arch-capabilities",
        "core-capability", "ssbd" } },
    [FEAT_8000_0001_EDX] = { "CPUID.80000001H:EDX", {
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, "syscall", NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, "nx", NULL, "mmxext", NULL,
        NULL, "fxsr-opt", "pdpe1gb", "rdtscp", NULL, "lm", "3dnowext",
        "3dnow" } },
    [FEAT_8000_0001_ECX] = { "CPUID.80000001H:ECX", {
        "lahf-lm", "cmp-legacy", "svm", "extapic", "cr8legacy", "abm",
        "sse4a", "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop",
        "skinit", "wdt", NULL, "lwp", "fma4", "tce", NULL, "nodeid-msr",
        NULL, "tbm", "topoext", "perfctr-core", "perfctr-nb", NULL, NULL,
        NULL, NULL, NULL, NULL, NULL } },
    [FEAT_KVM] = { "CPUID.40000001H:EAX", {
        "kvmclock", "kvm-nopiodelay", "kvm-mmu", "kvmclock", "kvm-asyncpf",
        "kvm-steal-time", "kvm-pv-eoi", "kvm-pv-unhalt", NULL,
        "kvm-pv-tlb-flush", "kvm-asyncpf-vmexit", "kvm-pv-ipi",
        "kvm-poll-control", "kvm-pv-sched-yield", "kvm-asyncpf-int",
        "kvm-msi-ext-dest-id", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, "kvmclock-stable-bit", NULL, NULL, NULL, NULL, NULL, NULL,
        NULL } },
    [FEAT_KVM_HINTS] = { "CPUID.40000001H:EDX", {
        "kvm-hint-dedicated" } },
    [FEAT_6_EAX] = { "CPUID.06H:EAX", { NULL, NULL, "arat" } },
    [FEAT_7_1_EAX] = { "CPUID.07H:EAX", {
        NULL, NULL, NULL, NULL, "avx-vnni", "avx512-bf16", NULL, NULL,
        NULL, NULL, "fzrm", "fsrs", "fsrc" } },
    [FEAT_XSAVE] = { "CPUID.0DH:EAX", {
        "xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd" } },
    [FEAT_14_0_ECX] = { "CPUID.14H:ECX", {
        [31] = "intel-pt-lip" } },
    [FEAT_SGX_12_0_EAX] = { "CPUID.12H:EAX", { "sgx1", "sgx2" } },
    [FEAT_SGX_12_0_EBX] = { "CPUID.12H:EBX", { "sgx-exinfo" } },
    [FEAT_SGX_12_1_EAX] = { "CPUID.12H:EAX", {
        NULL, "sgx-debug", "sgx-mode64", NULL, "sgx-provisionkey",
        "sgx-tokenkey", NULL, "sgx-kss" } },
    [FEAT_8000_0007_EDX] = { "CPUID.80000007H:EDX", { [8] = "invtsc" } },
    [FEAT_8000_0008_EBX] = { "CPUID.80000008H:EBX", {
        "clzero", NULL, "xsaveerptr", NULL, NULL, NULL, NULL, NULL,
        NULL, "wbnoinvd", NULL, NULL, "ibpb", NULL, "ibrs", "amd-stibp",
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        "amd-ssbd", "virt-ssbd", "amd-no-ssb" } },
    [FEAT_SVM] = { "CPUID.8000000AH:EDX", {
        "npt", "lbrv", "svm-lock", "nrip-save", "tsc-scale", "vmcb-clean",
        "flushbyasid", "decodeassists", NULL, NULL, "pause-filter", NULL,
        "pfthreshold", "avic", NULL, "v-vmsave-vmload", "vgif",
        [28] = "svme-addr-chk" } },
    [FEAT_C000_0001_EDX] = { "CPUID.C0000001H:EDX", {
        NULL, NULL, "xstore", "xstore-en", NULL, NULL, "xcrypt",
        "xcrypt-en", "ace2", "ace2-en", "phe", "phe-en", "pmm",
        "pmm-en" } },
    [FEAT_ARCH_CAPABILITIES] = { "MSR(10AH)", {
        "rdctl-no", "ibrs-all", "rsba", "skip-l1dfl-vmentry", "ssb-no",
        "mds-no", "pschange-mc-no", "tsx-ctrl", "taa-no" } },
    [FEAT_CORE_CAPABILITY] = { "MSR(CFH)", { [5] = "split-lock-detect" } },
    [FEAT_PERF_CAPABILITIES] = { "MSR(345H)", {
        [13] = "full-width-write" } },
};

uint32_t x86_feature_msr_index(FeatureWord w)
{
    switch (w) {
    case FEAT_ARCH_CAPABILITIES:
        return 0x10a;
    case FEAT_CORE_CAPABILITY:
        return 0xcf;
    case FEAT_PERF_CAPABILITIES:
        return 0x345;
    default:
        return 0;
    }
}

/* Other spellings QEMU accepts (after '_' -> '-' folding). */
static const struct { const char *alias, *name; } feature_aliases[] = {
    { "sse3", "pni" },
    { "sse4-1", "sse4.1" },
    { "sse4-2", "sse4.2" },
    { "pclmuldq", "pclmulqdq" },
    { "xd", "nx" },
    { "ffxsr", "fxsr-opt" },
    { "i64", "lm" },
    { "hv", "hypervisor" },
    { "lahf-lm", "lahf-lm" },
    { "nrip-save", "nrip-save" },
    { "perfctr-core", "perfctr-core" },
    { "kvm-hint-dedicated", "kvm-hint-dedicated" },
};

/* ---- leaf bits used by the code below ---- */

#define CPUID_1_EDX_APIC    (1u << 9)
#define CPUID_1_EDX_HTT     (1u << 28)
#define CPUID_1_ECX_XSAVE   (1u << 26)
#define CPUID_1_ECX_OSXSAVE (1u << 27)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_7_ECX_OSPKE   (1u << 4)
#define CPUID_8000_0001_ECX_CMP_LEGACY (1u << 1)
#define CPUID_8000_0001_ECX_TOPOEXT (1u << 22)
#define CPUID_APM_INVTSC    (1u << 8)   /* CPUID.80000007H:EDX */
#define CPUID_1_EDX_PSE36   (1u << 17)
#define CPUID_1_ECX_PDCM    (1u << 15)  /* IA32_PERF_CAPABILITIES */
#define CPUID_EXT2_LM       (1u << 29)  /* CPUID.80000001H:EDX */
#define CPUID_EXT3_PERFCORE (1u << 23)  /* CPUID.80000001H:ECX */
#define CPUID_EXT3_SVM      (1u << 2)
/* QEMU's phys-bits for a 64-bit named model (TCG_PHYS_ADDR_BITS) */
#define DEFAULT_PHYS_BITS   40
/* KVM's local APIC timer counts at 1 GHz (one bus cycle a nanosecond) */
#define APIC_BUS_KHZ        1000000u
/* 1_EDX bits AMD mirrors in 0x80000001 EDX (AMD APM vol. 3, E.4.2). */
#define CPUID_EXT2_AMD_ALIASES 0x0183f3ffu

/* QEMU's kvm_default_props: kvmclock, nopiodelay, asyncpf, steal-time,
 * pv-eoi, kvmclock-stable-bit; x2apic is on by default under KVM too.
 * Every named model carries them (QEMU adds them under KVM). */
#define KVM_DEFAULT_FEATURES ((1u << 0) | (1u << 1) | (1u << 3) | (1u << 4) | \
                              (1u << 5) | (1u << 6) | (1u << 24))
#define KVM_DEFAULT_1_ECX    (1u << 21)     /* x2apic */
/* ... and switch acpi, monitor and svm off (a KVM guest has no ACPI
 * thermal MSRs, MONITOR/MWAIT exits, or nested SVM by default). */
#define KVM_DEFAULT_OFF_1_EDX   (1u << 22)  /* acpi */
#define KVM_DEFAULT_OFF_1_ECX   (1u << 3)   /* monitor */
#define KVM_DEFAULT_OFF_EXT3    (1u << 2)   /* svm */

typedef struct X86CPUModel {
    const char *name;
    const char *desc;
    const char *alias_of;       /* "Haswell" -> "Haswell-v1"; NULL: a model */
    bool from_host;             /* features, vendor and signature from host */
    const char *vendor;
    int family, model, stepping;
    uint32_t level, xlevel;
    const char *model_id;
    uint32_t features[FEATURE_WORDS];
} X86CPUModel;

/* The host-dependent models; the named ones come from cpu-models.inc. */
static const X86CPUModel host_models[] = {
    { .name = "host", .from_host = true,
      .desc = "processor with all supported host features" },
    { .name = "max", .from_host = true,
      .desc = "Enables all features supported by the accelerator in the "
              "current host" },
};

/* One line of cpu-models.inc. */
typedef struct X86CPUModelDef {
    enum { DEF_MODEL, DEF_VERSION, DEF_ALIAS } kind;
    const char *name;           /* MODEL: base name; ALIAS: alias name */
    const char *vendor;         /* ALIAS: the target */
    int family, model, stepping;
    uint32_t level, xlevel;
    const char *model_id, *desc;
    const char *features;       /* MODEL: the list; VERSION: the changes */
    unsigned version;
} X86CPUModelDef;

#define MODEL(n, v, f, m, s, l, xl, id, d, ...) \
    { .kind = DEF_MODEL, .name = n, .vendor = v, .family = f, .model = m, \
      .stepping = s, .level = l, .xlevel = xl, .model_id = id, .desc = d, \
      .features = __VA_ARGS__ },
#define VERSION(n, d, id, ch) \
    { .kind = DEF_VERSION, .version = n, .desc = d, .model_id = id, \
      .features = ch },
#define ALIAS(n, target) { .kind = DEF_ALIAS, .name = n, .vendor = target },
static const X86CPUModelDef model_defs[] = {
#include "cpu-models.inc"
};
#undef MODEL
#undef VERSION
#undef ALIAS

/* host, max, then every NAME-vN and alias, built once from model_defs. */
static GArray *cpu_models;

static void apply_feature_list(X86CPUModel *m, const char *list)
{
    g_auto(GStrv) words = g_strsplit(list, " ", -1);

    for (unsigned i = 0; words[i]; i++) {
        const char *w = words[i];
        bool on = w[0] != '-';
        const char *eq = strchr(w, '=');
        FeatureWord fw;
        uint32_t mask;

        if (!w[0]) {
            continue;
        }
        if (eq) {
            /* a version changing an identity property */
            g_autofree char *key = g_strndup(w, eq - w);
            uint64_t v = g_ascii_strtoull(eq + 1, NULL, 0);
            if (!strcmp(key, "stepping")) {
                m->stepping = v;
            } else if (!strcmp(key, "model")) {
                m->model = v;
            } else if (!strcmp(key, "family")) {
                m->family = v;
            } else if (!strcmp(key, "level")) {
                m->level = v;
            } else if (!strcmp(key, "xlevel")) {
                m->xlevel = v;
            } else {
                g_error("cpu-models.inc: unknown property %s", key);
            }
            continue;
        }
        if (w[0] == '+' || w[0] == '-') {
            w++;
        }
        if (!x86_cpu_feature_lookup(w, &fw, &mask)) {
            g_error("cpu-models.inc: unknown feature %s", w);
        }
        m->features[fw] = on ? m->features[fw] | mask
                             : m->features[fw] & ~mask;
    }
}

static int model_cmp(gconstpointer a, gconstpointer b)
{
    const X86CPUModel *x = a, *y = b;

    /* host and max last, as -cpu help lists them */
    if (x->from_host != y->from_host) {
        return x->from_host ? 1 : -1;
    }
    return strcmp(x->name, y->name);
}

static void build_model_list(void)
{
    X86CPUModel base = { 0 };

    cpu_models = g_array_new(FALSE, TRUE, sizeof(X86CPUModel));
    for (unsigned i = 0; i < ARRAY_SIZE(model_defs); i++) {
        const X86CPUModelDef *d = &model_defs[i];
        X86CPUModel m;

        switch (d->kind) {
        case DEF_MODEL:
            memset(&base, 0, sizeof(base));
            base.name = d->name;
            base.vendor = d->vendor;
            base.family = d->family;
            base.model = d->model;
            base.stepping = d->stepping;
            base.level = d->level;
            base.xlevel = d->xlevel;
            base.model_id = d->model_id;
            base.desc = d->desc;
            apply_feature_list(&base, d->features);
            base.features[FEAT_1_ECX] |= KVM_DEFAULT_1_ECX;
            base.features[FEAT_KVM] |= KVM_DEFAULT_FEATURES;
            base.features[FEAT_1_EDX] &= ~KVM_DEFAULT_OFF_1_EDX;
            base.features[FEAT_1_ECX] &= ~KVM_DEFAULT_OFF_1_ECX;
            base.features[FEAT_8000_0001_ECX] &= ~KVM_DEFAULT_OFF_EXT3;
            m = base;
            m.name = g_strdup_printf("%s-v1", d->name);
            g_array_append_val(cpu_models, m);
            /* "NAME": the machine's default version, v1 on every pc */
            m.alias_of = m.name;
            m.name = d->name;
            g_array_append_val(cpu_models, m);
            break;
        case DEF_VERSION:
            m = base;
            m.name = g_strdup_printf("%s-v%u", base.name, d->version);
            m.desc = d->desc;
            if (d->model_id) {
                m.model_id = d->model_id;
            }
            apply_feature_list(&m, d->features);
            g_array_append_val(cpu_models, m);
            break;
        case DEF_ALIAS:
            for (unsigned j = 0; j < cpu_models->len; j++) {
                m = g_array_index(cpu_models, X86CPUModel, j);
                if (!m.alias_of && !strcmp(m.name, d->vendor)) {
                    m.alias_of = m.name;
                    m.name = d->name;
                    g_array_append_val(cpu_models, m);
                    break;
                }
            }
            break;
        }
    }
    g_array_append_vals(cpu_models, host_models, ARRAY_SIZE(host_models));
    g_array_sort(cpu_models, model_cmp);
}

static const X86CPUModel *model_at(unsigned i)
{
    if (!cpu_models) {
        build_model_list();
    }
    return i < cpu_models->len ? &g_array_index(cpu_models, X86CPUModel, i)
                               : NULL;
}

static unsigned model_total(void)
{
    model_at(0);
    return cpu_models->len;
}

/* The QOM view of the models: "<model>-x86_64-cpu" types, as QEMU names
 * them (libvirt looks for e.g. "max-x86_64-cpu"). */
static void __attribute__((constructor)) x86_cpu_types_register(void)
{
    for (unsigned i = 0; i < model_total(); i++) {
        g_autofree char *qom = g_strdup_printf("%s-x86_64-cpu",
                                               model_at(i)->name);
        object_type_register_copy(qom, "x86_64-cpu", false, NULL);
    }
}

GPtrArray *x86_cpu_feature_names(void)
{
    GPtrArray *names = g_ptr_array_new();

    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        for (unsigned b = 0; b < 32; b++) {
            const char *n = feature_words[w].names[b];
            if (n && !g_ptr_array_find_with_equal_func(names, n, g_str_equal,
                                                       NULL)) {
                g_ptr_array_add(names, (gpointer)n);
            }
        }
    }
    return names;
}

/*
 * Properties QEMU's x86 CPU has that make no difference here:
 * full-cpuid-auto-level and kvm-no-smi-migration are compatibility knobs
 * of old machine types, x-hv-synic-kvm-only is QEMU-internal, lbr-fmt
 * needs an Intel PMU with LBR that KVM hosts here lack (docs/cpu.md).
 */
static const char *const ignored_props[] = {
    "x-hv-synic-kvm-only", "full-cpuid-auto-level",
    "kvm-no-smi-migration", "lbr-fmt", NULL,
};

/* A model (not an alias): "NAME-vN", "host", "max". */
static const X86CPUModel *find_model(const char *name)
{
    for (unsigned i = 0; i < model_total(); i++) {
        const X86CPUModel *m = model_at(i);

        if (!strcmp(m->name, name)) {
            return m->alias_of ? find_model(m->alias_of) : m;
        }
    }
    return NULL;
}

/* ---- parsing ---- */

static char *fold_feature_name(const char *name)
{
    char *s = g_ascii_strdown(name, -1);

    g_strdelimit(s, "_", '-');
    return s;
}

static const char *resolve_alias(const char *name)
{
    for (unsigned i = 0; i < ARRAY_SIZE(feature_aliases); i++) {
        if (!strcmp(feature_aliases[i].alias, name)) {
            return feature_aliases[i].name;
        }
    }
    return name;
}

bool x86_cpu_feature_lookup(const char *name, FeatureWord *word,
                            uint32_t *mask)
{
    g_autofree char *folded = fold_feature_name(name);
    const char *canon = resolve_alias(folded);

    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        uint32_t m = 0;

        for (unsigned b = 0; b < 32; b++) {
            const char *n = feature_words[w].names[b];
            if (n && !strcmp(n, canon)) {
                m |= 1u << b;
            }
        }
        if (m) {
            *word = w;
            *mask = m;
            return true;
        }
    }
    return false;
}

static bool is_ignored_prop(const char *name)
{
    for (unsigned i = 0; ignored_props[i]; i++) {
        if (!strcmp(ignored_props[i], name)) {
            return true;
        }
    }
    return false;
}

static void set_feature(X86CPUConfig *cfg, FeatureWord w, uint32_t mask,
                        bool on)
{
    if (on) {
        cfg->plus[w] |= mask;
        cfg->minus[w] &= ~mask;
    } else {
        cfg->minus[w] |= mask;
        cfg->plus[w] &= ~mask;
    }
}

static bool parse_int_prop(const char *name, const char *value, uint64_t max,
                           uint64_t *out, GError **errp)
{
    GError *err = NULL;

    if (!parse_uint(value, out, &err) || *out > max) {
        g_clear_error(&err);
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_GENERIC,
                    "Parameter '%s' expects a number up to %" PRIu64,
                    name, max);
        return false;
    }
    return true;
}

static bool parse_on_off(const char *name, const char *value, bool *out,
                         GError **errp)
{
    if (!strcmp(value, "on") || !strcmp(value, "yes") ||
        !strcmp(value, "true")) {
        *out = true;
        return true;
    }
    if (!strcmp(value, "off") || !strcmp(value, "no") ||
        !strcmp(value, "false")) {
        *out = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

static bool copy_string_prop(const char *name, const char *value, char *dst,
                             size_t dst_size, size_t exact, GError **errp)
{
    size_t len = strlen(value);

    if ((exact && len != exact) || len >= dst_size) {
        if (exact) {
            error_setg(errp, "Property '%s' must be %zu characters long",
                       name, exact);
        } else {
            error_setg(errp, "Property '%s' is longer than %zu characters",
                       name, dst_size - 1);
        }
        return false;
    }
    memcpy(dst, value, len + 1);
    return true;
}

/* A frequency in Hz: digits with an optional metric suffix (k, M, G), as
 * QEMU's tsc-freq= takes it ("2.5G" is not: QEMU's is a whole number). */
static bool parse_hz_prop(const char *name, const char *value, uint64_t *out,
                          GError **errp)
{
    g_autofree char *digits = g_strdup(value);
    size_t len = strlen(digits);
    uint64_t scale = 1;
    GError *err = NULL;

    if (len > 1) {
        switch (digits[len - 1]) {
        case 'k': case 'K': scale = 1000; break;
        case 'M': scale = 1000000; break;
        case 'G': scale = 1000000000; break;
        }
        if (scale > 1) {
            digits[len - 1] = '\0';
        }
    }
    if (!parse_uint(digits, out, &err) || *out > INT64_MAX / scale) {
        g_clear_error(&err);
        error_setg(errp, "Parameter '%s' expects a frequency in Hz", name);
        return false;
    }
    *out *= scale;
    return true;
}

static bool parse_tristate(const char *name, const char *value, int8_t *out,
                           GError **errp)
{
    bool on;

    if (!parse_on_off(name, value, &on, errp)) {
        return false;
    }
    *out = on;
    return true;
}

/* pmu=, phys-bits= and the other properties that shape what a vCPU
 * reports rather than which features it has: 1 handled, 0 not one of
 * them, -1 error. */
static int parse_shape_prop(X86CPUConfig *cfg, const char *key,
                            const char *value, GError **errp)
{
    uint64_t n;

    if (!strcmp(key, "pmu")) {
        return parse_tristate(key, value, &cfg->pmu, errp) ? 1 : -1;
    }
    if (!strcmp(key, "phys-bits")) {
        if (!parse_int_prop(key, value, UINT32_MAX, &n, errp)) {
            return -1;
        }
        if (n && (n < 32 || n > 52)) {
            /* QEMU's words, its two spaces included */
            error_setg(errp, "phys-bits should be between 32 and 52  (but "
                       "is %" PRIu64 ")", n);
            return -1;
        }
        cfg->phys_bits = n;
        return 1;
    }
    if (!strcmp(key, "host-phys-bits")) {
        return parse_tristate(key, value, &cfg->host_phys_bits, errp) ? 1 : -1;
    }
    if (!strcmp(key, "host-phys-bits-limit")) {
        if (!parse_int_prop(key, value, 0xff, &n, errp)) {
            return -1;
        }
        cfg->host_phys_bits_limit = n;
        return 1;
    }
    if (!strcmp(key, "l3-cache")) {
        return parse_on_off(key, value, &cfg->l3_cache, errp) ? 1 : -1;
    }
    if (!strcmp(key, "legacy-cache")) {
        return parse_tristate(key, value, &cfg->legacy_cache, errp) ? 1 : -1;
    }
    if (!strcmp(key, "host-cache-info")) {
        const X86CPUModel *m = find_model(cfg->model);

        if (!m || !m->from_host) {
            /* only host and max have it in QEMU */
            error_setg(errp, "Property '%s-x86_64-cpu.host-cache-info' not "
                       "found", cfg->model);
            return -1;
        }
        return parse_tristate(key, value, &cfg->host_cache_info, errp)
               ? 1 : -1;
    }
    if (!strcmp(key, "tsc-frequency") || !strcmp(key, "tsc-freq")) {
        if (!parse_hz_prop(key, value, &n, errp)) {
            return -1;
        }
        if (n / 1000 > UINT32_MAX) {
            error_setg(errp, "Parameter '%s' is too large", key);
            return -1;
        }
        cfg->tsc_khz = n / 1000;
        return 1;
    }
    if (!strcmp(key, "vmware-cpuid-freq")) {
        return parse_on_off(key, value, &cfg->vmware_cpuid_freq, errp)
               ? 1 : -1;
    }
    return 0;
}

/* One "key=value" option other than a feature flag. */
static bool parse_prop(X86CPUConfig *cfg, const char *key, const char *value,
                       GError **errp)
{
    uint64_t n;

    if (!strcmp(key, "vendor")) {
        return copy_string_prop(key, value, cfg->vendor, sizeof(cfg->vendor),
                                12, errp);
    }
    if (!strcmp(key, "model-id")) {
        return copy_string_prop(key, value, cfg->model_id,
                                sizeof(cfg->model_id), 0, errp);
    }
    if (!strcmp(key, "family")) {
        if (!parse_int_prop(key, value, 0xff + 0xf, &n, errp)) {
            return false;
        }
        cfg->family = n;
        return true;
    }
    if (!strcmp(key, "model")) {
        if (!parse_int_prop(key, value, 0xff, &n, errp)) {
            return false;
        }
        cfg->model_num = n;
        return true;
    }
    if (!strcmp(key, "stepping")) {
        if (!parse_int_prop(key, value, 0xf, &n, errp)) {
            return false;
        }
        cfg->stepping = n;
        return true;
    }
    if (!strcmp(key, "level") || !strcmp(key, "min-level")) {
        if (!parse_int_prop(key, value, 0xff, &n, errp)) {
            return false;
        }
        cfg->level = n;
        return true;
    }
    if (!strcmp(key, "xlevel") || !strcmp(key, "min-xlevel")) {
        if (!parse_int_prop(key, value, 0x800000ff, &n, errp)) {
            return false;
        }
        if (n && n < 0x80000000) {
            n += 0x80000000;    /* QEMU accepts "xlevel=0xa" */
        }
        cfg->xlevel = n;
        return true;
    }
    if (!strcmp(key, "enforce")) {
        return parse_on_off(key, value, &cfg->enforce, errp);
    }
    if (!strcmp(key, "check")) {
        return parse_on_off(key, value, &cfg->check, errp);
    }
    if (!strcmp(key, "kvm")) {
        return parse_on_off(key, value, &cfg->kvm_signature, errp);
    }
    if (!strcmp(key, "migratable")) {
        return parse_on_off(key, value, &cfg->migratable, errp);
    }
    switch (parse_shape_prop(cfg, key, value, errp)) {
    case 1:
        return true;
    case -1:
        return false;
    }
    if (is_ignored_prop(key)) {
        return true;
    }
    g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_GENERIC,
                "Property '%s' not found", key);
    return false;
}

static bool parse_option(X86CPUConfig *cfg, const char *opt, GError **errp)
{
    FeatureWord w;
    uint32_t mask;
    bool on = true;
    g_autofree char *key = NULL;
    const char *value = NULL;
    const char *eq;

    if (opt[0] == '+' || opt[0] == '-') {
        /* legacy "+feat" / "-feat": only feature flags */
        if (!x86_cpu_feature_lookup(opt + 1, &w, &mask)) {
            error_setg(errp, "CPU feature %s not found", opt + 1);
            return false;
        }
        set_feature(cfg, w, mask, opt[0] == '+');
        return true;
    }
    eq = strchr(opt, '=');
    key = eq ? g_strndup(opt, eq - opt) : g_strdup(opt);
    value = eq ? eq + 1 : NULL;
    if (g_str_has_prefix(key, "hv")) {
        /* Hyper-V: "hv-relaxed", the legacy "hv_relaxed" */
        g_autofree char *folded = g_strdelimit(g_strdup(key), "_", '-');
        int r = x86_hv_parse_prop(cfg, folded, value, errp);
        if (r) {
            return r > 0;
        }
    }
    if (x86_cpu_feature_lookup(key, &w, &mask)) {
        if (value && !parse_on_off(key, value, &on, errp)) {
            return false;
        }
        set_feature(cfg, w, mask, on);
        return true;
    }
    if (!value) {
        /* "enforce", "check" and friends: booleans meaning on */
        return parse_prop(cfg, key, "on", errp);
    }
    return parse_prop(cfg, key, value, errp);
}

static void config_init(X86CPUConfig *cfg, const char *model)
{
    memset(cfg, 0, sizeof(*cfg));
    g_strlcpy(cfg->model, model, sizeof(cfg->model));
    cfg->check = true;
    cfg->kvm_signature = true;
    cfg->migratable = true;
    cfg->hv_spinlocks = 0xffffffffu;
    cfg->family = cfg->model_num = cfg->stepping = -1;
    cfg->pmu = cfg->host_phys_bits = cfg->host_cache_info = -1;
    cfg->legacy_cache = -1;
    cfg->l3_cache = true;
    cfg->vmware_cpuid_freq = true;
}

bool x86_cpu_config_parse(const char *model_and_features, X86CPUConfig *cfg,
                          GError **errp)
{
    const char *spec = model_and_features ? model_and_features : "host";
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);

    if (!parts[0] || !parts[0][0]) {
        error_setg(errp, "CPU model name is empty");
        return false;
    }
    if (!find_model(parts[0])) {
        error_setg(errp, "unknown CPU model '%s'", parts[0]);
        return false;
    }
    config_init(cfg, parts[0]);
    for (unsigned i = 1; parts[i]; i++) {
        if (!parts[i][0]) {
            continue;
        }
        if (!parse_option(cfg, parts[i], errp)) {
            return false;
        }
    }
    if (cfg->legacy_cache == 0 &&
        !x86_cpu_model_has_caches(find_model(cfg->model)->name)) {
        /* QEMU's tables are all such a model has */
        error_setg(errp, "CPU model '%s' doesn't support legacy-cache=off",
                   cfg->model);
        return false;
    }
    return x86_hv_check(cfg, errp);
}

static X86CPUConfig current_config;
static bool current_config_set;

bool x86_cpu_model_parse(const char *model_and_features, GError **errp)
{
    X86CPUConfig cfg;

    if (!x86_cpu_config_parse(model_and_features, &cfg, errp)) {
        return false;
    }
    current_config = cfg;
    current_config_set = true;
    return true;
}

const X86CPUConfig *x86_cpu_current_config(void)
{
    if (!current_config_set) {
        config_init(&current_config, "host");
        current_config_set = true;
    }
    return &current_config;
}

bool x86_cpu_model_is_help(const char *model_and_features)
{
    return model_and_features &&
           (!strcmp(model_and_features, "help") ||
            !strcmp(model_and_features, "?"));
}

char *x86_cpu_help_text(void)
{
    GString *s = g_string_new("Available CPUs:\n");
    GPtrArray *names = g_ptr_array_new();
    unsigned col = 0;

    for (unsigned i = 0; i < model_total(); i++) {
        const X86CPUModel *m = model_at(i);
        g_autofree char *v1 = g_strdup_printf("%s-v1", m->name);
        g_autofree char *alias = NULL;

        if (m->alias_of) {
            alias = !strcmp(m->alias_of, v1) ?
                g_strdup("(alias configured by machine type)") :
                g_strdup_printf("(alias of %s)", m->alias_of);
        }
        g_string_append_printf(s, "x86 %-20s  %s\n", m->name,
                               alias ? alias : m->desc);
    }
    g_string_append(s, "\nRecognized CPUID flags:\n ");
    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        for (unsigned b = 0; b < 32; b++) {
            const char *n = feature_words[w].names[b];
            bool dup = false;
            for (unsigned j = 0; n && j < names->len; j++) {
                dup |= !strcmp(g_ptr_array_index(names, j), n);
            }
            if (n && !dup) {
                g_ptr_array_add(names, (gpointer)n);
            }
        }
    }
    for (unsigned i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        if (col + strlen(n) + 1 > 76) {
            g_string_append(s, "\n ");
            col = 0;
        }
        g_string_append_printf(s, " %s", n);
        col += strlen(n) + 1;
    }
    g_string_append(s, "\n");
    g_ptr_array_free(names, TRUE);
    return g_string_free(s, FALSE);
}

/* ---- building the CPUID table ---- */

static bool index_significant(uint32_t function)
{
    switch (function) {
    case 0x4: case 0x7: case 0xb: case 0xd: case 0xf: case 0x10:
    case 0x12: case 0x14: case 0x17: case 0x18: case 0x1d: case 0x1e:
    case 0x1f: case 0x24: case 0x8000001d: case 0x80000020:
        return true;
    default:
        return false;
    }
}

const struct kvm_cpuid_entry2 *x86_cpuid_find_const(
    const struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
    for (unsigned i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];
        bool sig = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

        if (e->function == function && (!sig || e->index == index)) {
            return e;
        }
    }
    return NULL;
}

struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *c,
                                        uint32_t function, uint32_t index)
{
    return (struct kvm_cpuid_entry2 *)x86_cpuid_find_const(c, function, index);
}

/* The entry for function/index, created (zeroed) if absent. */
struct kvm_cpuid_entry2 *x86_cpuid_get_entry(X86CPUIDTable *t,
                                             uint32_t function,
                                             uint32_t index)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_find(x86_cpuid_table_kvm(t), function, index);

    if (e) {
        return e;
    }
    if (t->nent >= X86_CPUID_MAX_ENTRIES) {
        return NULL;
    }
    e = &t->entries[t->nent++];
    memset(e, 0, sizeof(*e));
    e->function = function;
    e->index = index;
    if (index_significant(function)) {
        e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    }
    return e;
}

void x86_cpuid_remove_entries(X86CPUIDTable *t, uint32_t function)
{
    unsigned out = 0;

    for (unsigned i = 0; i < t->nent; i++) {
        if (t->entries[i].function != function) {
            t->entries[out++] = t->entries[i];
        }
    }
    t->nent = out;
}

/* Where each CPUID feature word lives (MSR words: x86_feature_msr_index). */
static const struct {
    uint32_t function, index;
    uint8_t reg;                /* 0 eax, 1 ebx, 2 ecx, 3 edx */
} word_location[FEATURE_WORDS] = {
    [FEAT_1_EDX] = { 1, 0, 3 },
    [FEAT_1_ECX] = { 1, 0, 2 },
    [FEAT_7_0_EBX] = { 7, 0, 1 },
    [FEAT_7_0_ECX] = { 7, 0, 2 },
    [FEAT_7_0_EDX] = { 7, 0, 3 },
    [FEAT_8000_0001_EDX] = { 0x80000001, 0, 3 },
    [FEAT_8000_0001_ECX] = { 0x80000001, 0, 2 },
    [FEAT_KVM] = { 0x40000001, 0, 0 },
    [FEAT_KVM_HINTS] = { 0x40000001, 0, 3 },
    [FEAT_6_EAX] = { 6, 0, 0 },
    [FEAT_7_1_EAX] = { 7, 1, 0 },
    [FEAT_XSAVE] = { 0xd, 1, 0 },
    [FEAT_14_0_ECX] = { 0x14, 0, 2 },
    [FEAT_SGX_12_0_EAX] = { 0x12, 0, 0 },
    [FEAT_SGX_12_0_EBX] = { 0x12, 0, 1 },
    [FEAT_SGX_12_1_EAX] = { 0x12, 1, 0 },
    [FEAT_8000_0007_EDX] = { 0x80000007, 0, 3 },
    [FEAT_8000_0008_EBX] = { 0x80000008, 0, 1 },
    [FEAT_SVM] = { 0x8000000a, 0, 3 },
    [FEAT_C000_0001_EDX] = { 0xc0000001, 0, 3 },
};

static __u32 *entry_reg(struct kvm_cpuid_entry2 *e, unsigned reg)
{
    switch (reg) {
    case 0:
        return &e->eax;
    case 1:
        return &e->ebx;
    case 2:
        return &e->ecx;
    default:
        return &e->edx;
    }
}

/* The feature MSR values the host (KVM_GET_MSRS on /dev/kvm) offers. */
static uint32_t host_feature_msrs[X86_FEATURE_MSRS];

void x86_cpu_set_host_feature_msrs(const uint64_t *values)
{
    for (unsigned i = 0; i < X86_FEATURE_MSRS; i++) {
        host_feature_msrs[i] = values ? values[i] : 0;
    }
}

/* Where feature word @w goes in the vCPU's table; NULL if the leaf is
 * absent there (the model's level/xlevel or KVM do not reach it). */
static __u32 *feature_reg(X86CPUIDTable *t, FeatureWord w)
{
    struct kvm_cpuid_entry2 *e;

    if (w >= FEAT_FIRST_MSR) {
        return &t->feature_msrs[w - FEAT_FIRST_MSR];
    }
    e = x86_cpuid_find(x86_cpuid_table_kvm(t), word_location[w].function,
                       word_location[w].index);
    if (!e && (w == FEAT_1_EDX || w == FEAT_1_ECX || w == FEAT_7_0_EBX ||
               w == FEAT_7_0_ECX || w == FEAT_7_0_EDX ||
               w == FEAT_8000_0001_EDX || w == FEAT_8000_0001_ECX ||
               w == FEAT_KVM)) {
        /* the leaves every vCPU has: create them */
        e = x86_cpuid_get_entry(t, word_location[w].function,
                                word_location[w].index);
    }
    return e ? entry_reg(e, word_location[w].reg) : NULL;
}

static uint32_t supported_word(const struct kvm_cpuid2 *sup, FeatureWord w)
{
    const struct kvm_cpuid_entry2 *e;

    if (w >= FEAT_FIRST_MSR) {
        return host_feature_msrs[w - FEAT_FIRST_MSR];
    }
    e = x86_cpuid_find_const(sup, word_location[w].function,
                             word_location[w].index);
    return e ? *entry_reg((struct kvm_cpuid_entry2 *)e,
                          word_location[w].reg) : 0;
}

/* Bits never reported as missing: the hypervisor bit (KVM always has it,
 * QEMU sets it itself). */
static bool unchecked_bit(FeatureWord w, uint32_t mask)
{
    return w == FEAT_1_ECX && mask == CPUID_1_ECX_HYPERVISOR;
}

/* QEMU's words: "warning: host doesn't support requested feature:
 * CPUID.07H:EBX.mpx [bit 14]", one line per feature. */
static void report_unsupported(FeatureWord w, uint32_t missing)
{
    for (unsigned b = 0; b < 32; b++) {
        if (missing & (1u << b)) {
            const char *n = feature_words[w].names[b];
            error_report("warning: host doesn't support requested feature: "
                     "%s%s%s [bit %u]", feature_words[w].reg_name,
                     n ? "." : "", n ? n : "", b);
        }
    }
}

/*
 * Features host and max leave out unless migratable=off (QEMU's
 * unmigratable flags): the invariant TSC, which promises a frequency the
 * destination host may not have.  Asked for by name they are given, and
 * block migration (x86_cpuid_unmigratable_reason).
 */
static uint32_t unmigratable_flags(FeatureWord w)
{
    return w == FEAT_8000_0007_EDX ? CPUID_APM_INVTSC : 0;
}

/* Model features + user switches, masked by what KVM supports; the
 * bits asked for that KVM lacks into @filtered_out (may be NULL). */
static bool compute_features_filtered(const X86CPUConfig *cfg,
                                      const X86CPUModel *m,
                                      const struct kvm_cpuid2 *sup,
                                      uint32_t features[FEATURE_WORDS],
                                      uint32_t *filtered_out,
                                      GError **errp)
{
    bool filtered = false;
    uint32_t wanted[FEATURE_WORDS];

    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        uint32_t supported = supported_word(sup, w);
        uint32_t base = m->from_host ? supported : m->features[w];
        if (m->from_host && cfg->migratable) {
            base &= ~unmigratable_flags(w);
        }
        uint32_t want = (base | cfg->plus[w]) & ~cfg->minus[w];

        if (w == FEAT_SVM && !(wanted[FEAT_8000_0001_ECX] & CPUID_EXT3_SVM)) {
            /* QEMU's feature dependency: no SVM features without svm */
            want = 0;
        }
        wanted[w] = want;
        uint32_t missing = want & ~supported;

        if (w == FEAT_1_ECX) {
            /* KVM always offers the hypervisor bit; QEMU sets it. */
            want |= CPUID_1_ECX_HYPERVISOR & ~cfg->minus[w];
            missing &= ~CPUID_1_ECX_HYPERVISOR;
        }
        if (missing && (cfg->check || cfg->enforce)) {
            report_unsupported(w, missing);
        }
        filtered |= missing != 0;
        features[w] = want & ~missing;
        if (filtered_out) {
            filtered_out[w] = missing;
        }
    }
    if (filtered && cfg->enforce) {
        error_setg(errp, "Host doesn't support requested features");
        return false;
    }
    return true;
}

static bool compute_features(const X86CPUConfig *cfg, const X86CPUModel *m,
                             const struct kvm_cpuid2 *sup,
                             uint32_t features[FEATURE_WORDS], GError **errp)
{
    return compute_features_filtered(cfg, m, sup, features, NULL, errp);
}

static void put_vendor(struct kvm_cpuid_entry2 *e, const char *vendor)
{
    e->ebx = ldl_le_p(vendor);
    e->edx = ldl_le_p(vendor + 4);
    e->ecx = ldl_le_p(vendor + 8);
}

static uint32_t signature(int family, int model, int stepping)
{
    uint32_t eax = stepping & 0xf;

    eax |= (model & 0xf) << 4 | ((model >> 4) & 0xf) << 16;
    if (family > 0xf) {
        eax |= 0xf << 8 | ((family - 0xf) & 0xff) << 20;
    } else {
        eax |= (family & 0xf) << 8;
    }
    return eax;
}

static void decode_signature(uint32_t eax, int *family, int *model,
                             int *stepping)
{
    *family = (eax >> 8) & 0xf;
    if (*family == 0xf) {
        *family += (eax >> 20) & 0xff;
    }
    *model = ((eax >> 4) & 0xf) | (((eax >> 16) & 0xf) << 4);
    *stepping = eax & 0xf;
}

static void put_brand(X86CPUIDTable *t, const char *brand)
{
    char buf[48] = { 0 };

    strncpy(buf, brand, sizeof(buf) - 1);
    for (unsigned i = 0; i < 3; i++) {
        struct kvm_cpuid_entry2 *e =
            x86_cpuid_get_entry(t, 0x80000002 + i, 0);
        if (!e) {
            return;
        }
        e->eax = ldl_le_p(buf + i * 16);
        e->ebx = ldl_le_p(buf + i * 16 + 4);
        e->ecx = ldl_le_p(buf + i * 16 + 8);
        e->edx = ldl_le_p(buf + i * 16 + 12);
    }
}

/* Drop basic leaves above @level and extended ones above @xlevel. */
static void trim_to_levels(X86CPUIDTable *t, uint32_t level, uint32_t xlevel)
{
    unsigned out = 0;

    for (unsigned i = 0; i < t->nent; i++) {
        uint32_t f = t->entries[i].function;
        bool keep = f < 0x40000000 ? f <= level :
                    f >= 0x80000000 ? f <= xlevel : true;
        if (keep) {
            t->entries[out++] = t->entries[i];
        }
    }
    t->nent = out;
}

static void set_identity(const X86CPUConfig *cfg, const X86CPUModel *m,
                         const struct kvm_cpuid2 *sup, const char *host_brand,
                         X86CPUIDTable *t)
{
    const struct kvm_cpuid_entry2 *s0 = x86_cpuid_find_const(sup, 0, 0);
    const struct kvm_cpuid_entry2 *s1 = x86_cpuid_find_const(sup, 1, 0);
    const struct kvm_cpuid_entry2 *sx = x86_cpuid_find_const(sup, 0x80000000,
                                                             0);
    uint32_t level = m->from_host ? (s0 ? s0->eax : 0xd) : m->level;
    uint32_t xlevel = m->from_host ? (sx ? sx->eax : 0x80000008) : m->xlevel;
    char vendor[13] = "AuthenticAMD";
    int family = m->family, model = m->model, stepping = m->stepping;
    struct kvm_cpuid_entry2 *e;

    if (m->from_host && s0) {
        stl_le_p(vendor, s0->ebx);
        stl_le_p(vendor + 4, s0->edx);
        stl_le_p(vendor + 8, s0->ecx);
    } else if (m->vendor) {
        g_strlcpy(vendor, m->vendor, sizeof(vendor));
    }
    if (m->from_host && s1) {
        decode_signature(s1->eax, &family, &model, &stepping);
    }
    if (cfg->vendor[0]) {
        g_strlcpy(vendor, cfg->vendor, sizeof(vendor));
    }
    family = cfg->family >= 0 ? cfg->family : family;
    model = cfg->model_num >= 0 ? cfg->model_num : model;
    stepping = cfg->stepping >= 0 ? cfg->stepping : stepping;
    level = cfg->level ? cfg->level : level;
    xlevel = cfg->xlevel ? cfg->xlevel : xlevel;

    if ((e = x86_cpuid_get_entry(t, 0, 0))) {
        e->eax = level;
        put_vendor(e, vendor);
    }
    if ((e = x86_cpuid_get_entry(t, 1, 0))) {
        e->eax = signature(family, model, stepping);
    }
    if ((e = x86_cpuid_get_entry(t, 0x80000000, 0))) {
        e->eax = xlevel;
        put_vendor(e, vendor);
    }
    if (cfg->model_id[0]) {
        put_brand(t, cfg->model_id);
    } else if (m->model_id) {
        put_brand(t, m->model_id);
    } else if (host_brand && host_brand[0]) {
        put_brand(t, host_brand);
    }
    trim_to_levels(t, level, xlevel);
}

static bool vendor_is_amd(X86CPUIDTable *t)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_find(x86_cpuid_table_kvm(t), 0, 0);

    /* "AuthenticAMD" and Hygon's "HygonGenuine" */
    return e && (e->ebx == 0x68747541 || e->ebx == 0x6f677948);
}

static void apply_features(X86CPUIDTable *t,
                           const uint32_t features[FEATURE_WORDS])
{
    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        __u32 *reg;

        if (w == FEAT_KVM && !x86_cpuid_find(x86_cpuid_table_kvm(t), 0x40000001, 0)) {
            continue;
        }
        if ((w == FEAT_8000_0001_ECX || w == FEAT_8000_0001_EDX) &&
            !x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000000, 0)) {
            continue;
        }
        reg = feature_reg(t, w);
        if (reg) {
            *reg = features[w];
        }
    }
}

/* Bits the CPU computes at run time, and AMD's mirrored 1_EDX bits. */
static void fix_derived_bits(X86CPUIDTable *t, const X86CPUModel *m)
{
    struct kvm_cpuid_entry2 *l1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 1, 0);
    struct kvm_cpuid_entry2 *l7 = x86_cpuid_find(x86_cpuid_table_kvm(t), 7, 0);
    struct kvm_cpuid_entry2 *x1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000001, 0);

    if (l1) {
        l1->ecx &= ~CPUID_1_ECX_OSXSAVE;    /* KVM sets it from CR4 */
        if (!(l1->ecx & CPUID_1_ECX_XSAVE)) {
            x86_cpuid_remove_entries(t, 0xd);
            l1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 1, 0);
        }
    }
    l7 = x86_cpuid_find(x86_cpuid_table_kvm(t), 7, 0);
    if (l7) {
        struct kvm_cpuid_entry2 *l71 = x86_cpuid_find(x86_cpuid_table_kvm(t),
                                                      7, 1);
        bool sub1 = l71 && l71->eax;

        l7->ecx &= ~CPUID_7_ECX_OSPKE;
        if (!m->from_host) {
            /* named models describe subleaf 0 and 7.1 EAX only; the
             * highest subleaf is 1 when 7.1 EAX has features (QEMU) */
            l7->eax = sub1 ? 1 : 0;
            if (sub1) {
                l71->ebx = l71->ecx = l71->edx = 0;
            }
            for (unsigned i = 0; i < t->nent; i++) {
                if (t->entries[i].function == 7 &&
                    t->entries[i].index > (sub1 ? 1u : 0u)) {
                    t->entries[i].function = 0xffffffff;  /* dropped below */
                }
            }
            x86_cpuid_remove_entries(t, 0xffffffff);
        }
    }
    if (!m->from_host) {
        /* leaves a named model only has with their feature: SGX, PT, SVM */
        l7 = x86_cpuid_find(x86_cpuid_table_kvm(t), 7, 0);
        x1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000001, 0);
        if (!l7 || !(l7->ebx & (1u << 2))) {
            x86_cpuid_remove_entries(t, 0x12);
        }
        if (!l7 || !(l7->ebx & (1u << 25))) {
            x86_cpuid_remove_entries(t, 0x14);
        }
        if (!x1 || !(x1->ecx & (1u << 2))) {
            x86_cpuid_remove_entries(t, 0x8000000a);
        }
    }
    /* entries moved when others were removed: look them up again */
    l1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 1, 0);
    x1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000001, 0);
    if (x1 && l1 && !m->from_host) {
        x1->edx &= ~CPUID_EXT2_AMD_ALIASES;
        if (vendor_is_amd(t)) {
            x1->edx |= l1->edx & CPUID_EXT2_AMD_ALIASES;
            x1->eax = l1->eax;
        }
    }
}

static unsigned logical_per_pkg(const X86CPUTopoInfo *topo)
{
    return topo->threads_per_core * topo->cores_per_die * topo->dies_per_pkg;
}

/* QEMU 7.2 counts "cores" per die in leaves 1, 4, 0xb and 0x80000008
 * (its nr_cores is -smp cores); kvmpc does the same so that guests see
 * the same numbers (tests/qmp/test_cpu_leaves.py runs QEMU to check). */
static unsigned logical_per_die(const X86CPUTopoInfo *topo)
{
    return topo->threads_per_core * topo->cores_per_die;
}

/* Leaf 1 EBX/EDX: APIC ID, logical processor count, HTT. */
static void topo_leaf1(X86CPUIDTable *t, const X86CPUTopoInfo *topo,
                       uint32_t apic_id)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_find(x86_cpuid_table_kvm(t), 1, 0);
    unsigned n = logical_per_die(topo);

    if (!e) {
        return;
    }
    /* the count only with more than one (QEMU leaves it 0 otherwise) */
    e->ebx = (apic_id & 0xff) << 24 | (n > 1 ? MIN(n, 255u) << 16 : 0) |
             (8 << 8);
    if (n > 1) {
        e->edx |= CPUID_1_EDX_HTT;
    } else {
        e->edx &= ~CPUID_1_EDX_HTT;
    }
}

/* Leaf 4 (Intel deterministic cache): cores per package and the APIC
 * IDs sharing each cache, as QEMU 7.2 fills them: L1 per thread (0),
 * L2 per core, L3 per die.  The host's leaves (host-cache-info=on) keep
 * their sharing fields; only the core count becomes the guest's (0 for
 * one core, as QEMU leaves it). */
static void topo_leaf4(X86CPUIDTable *t, const X86CPUTopoInfo *topo,
                       bool host_caches)
{
    for (unsigned i = 0; i < t->nent; i++) {
        struct kvm_cpuid_entry2 *e = &t->entries[i];
        unsigned level;
        uint32_t sharing;

        if (e->function != 4) {
            continue;
        }
        if (host_caches) {
            e->eax &= ~(0x3fu << 26);
            if ((e->eax & 0x1f) && topo->cores_per_die > 1) {
                e->eax |= ((topo->cores_per_die - 1) & 0x3f) << 26;
            }
            continue;
        }
        if (!(e->eax & 0x1f)) {
            continue;
        }
        level = (e->eax >> 5) & 7;
        sharing = level == 1 ? 0 :
                  level == 2 ? topo->threads_per_core - 1 :
                  (1u << apicid_die_offset(topo)) - 1;
        e->eax &= 0x3fff;
        e->eax |= ((topo->cores_per_die - 1) & 0x3f) << 26;
        e->eax |= (sharing & 0xfff) << 14;
    }
}

/* Leaf 0xb (and 0x1f): x2APIC topology levels. */
static void topo_extended_leaf(X86CPUIDTable *t, uint32_t function,
                               const X86CPUTopoInfo *topo, uint32_t apic_id,
                               bool with_die)
{
    struct {
        unsigned shift, count, type;
    } levels[3];
    unsigned nr = 0;

    levels[nr++] = (typeof(levels[0])){ apicid_core_offset(topo),
                                        topo->threads_per_core, 1 };
    /* QEMU 7.2: leaf 0xb's core level shifts by the package offset,
     * leaf 0x1f's by the die offset; both count the die's threads */
    levels[nr++] = (typeof(levels[0])){
        with_die ? apicid_die_offset(topo) : apicid_pkg_offset(topo),
        logical_per_die(topo), 2 };
    if (with_die) {
        levels[nr++] = (typeof(levels[0])){ apicid_pkg_offset(topo),
                                            logical_per_pkg(topo), 5 };
    }
    x86_cpuid_remove_entries(t, function);
    for (unsigned i = 0; i <= nr; i++) {
        struct kvm_cpuid_entry2 *e = x86_cpuid_get_entry(t, function, i);
        if (!e) {
            return;
        }
        e->edx = apic_id;
        if (i == nr) {
            e->eax = e->ebx = 0;
            e->ecx = i;     /* level type 0: invalid, ends the list */
        } else {
            e->eax = levels[i].shift;
            e->ebx = levels[i].count & 0xffff;
            e->ecx = i | levels[i].type << 8;
        }
    }
}

/* AMD: 0x80000008 ECX core count, 0x8000001e ids, 0x8000001d sharing
 * (the host's 0x8000001d, with host-cache-info=on, goes unchanged). */
static void topo_amd_leaves(X86CPUIDTable *t, const X86CPUTopoInfo *topo,
                            uint32_t apic_id, bool host_caches)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000008, 0);
    struct kvm_cpuid_entry2 *x1 = x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000001, 0);
    struct kvm_cpuid_entry2 *x0 = x86_cpuid_find(x86_cpuid_table_kvm(t), 0x80000000, 0);
    uint32_t xlevel = x0 ? x0->eax : 0;
    unsigned n = logical_per_die(topo);
    X86CPUTopoIDs ids;

    x86_topo_ids_from_apicid(topo, apic_id, &ids);
    if (e) {
        e->ecx &= ~0xf0ffu;
        if (n > 1) {
            e->ecx |= ((n - 1) & 0xff) | (apicid_pkg_offset(topo) << 12);
        }
    }
    if (x1 && n > 1 && vendor_is_amd(t)) {
        /* CmpLegacy: leaf 1's HTT count means cores (AMD APM vol. 3);
         * QEMU sets it for non-Intel vendors when there is more than one */
        x1->ecx |= CPUID_8000_0001_ECX_CMP_LEGACY;
    }
    if (x1 && (x1->ecx & CPUID_8000_0001_ECX_TOPOEXT) && xlevel >= 0x8000001e &&
        (e = x86_cpuid_get_entry(t, 0x8000001e, 0))) {
        /* AMD APM vol. 3 E.4.24, filled as QEMU 7.2 does: EBX threads
         * per core - 1 and the core id, ECX nodes per package - 1 and
         * the node (die) id */
        e->eax = apic_id;
        e->ebx = (topo->threads_per_core > 1 ?
                  ((topo->threads_per_core - 1) & 0xff) << 8 : 0) |
                 (ids.core_id & 0xff);
        e->ecx = (topo->dies_per_pkg > 1 ?
                  ((topo->dies_per_pkg - 1) & 7) << 8 : 0) |
                 (ids.die_id & 0xff);
        e->edx = 0;
    }
    for (unsigned i = 0; !host_caches && i < t->nent; i++) {
        struct kvm_cpuid_entry2 *c = &t->entries[i];
        unsigned level;
        uint32_t sharing;

        if (c->function != 0x8000001d || !(c->eax & 0x1f)) {
            continue;
        }
        level = (c->eax >> 5) & 7;
        sharing = level < 3 ? topo->threads_per_core - 1
                            : topo->threads_per_core * topo->cores_per_die - 1;
        c->eax = (c->eax & ~(0xfffu << 14)) | (sharing & 0xfff) << 14;
    }
}

static void apply_topology(X86CPUIDTable *t, const X86CPUTopoInfo *topo,
                           uint32_t apic_id, bool level_fixed,
                           bool host_caches)
{
    struct kvm_cpuid_entry2 *l0 = x86_cpuid_find(x86_cpuid_table_kvm(t), 0, 0);
    uint32_t level = l0 ? l0->eax : 0;

    if (l0 && topo->dies_per_pkg > 1 && level < 0x1f && !level_fixed &&
        !vendor_is_amd(t)) {
        /* QEMU raises an Intel model's level so that guests find the
         * die level (AMD describes dies in 0x8000001e) */
        level = l0->eax = 0x1f;
    }

    topo_leaf1(t, topo, apic_id);
    topo_leaf4(t, topo, host_caches);
    if (level >= 0xb) {
        topo_extended_leaf(t, 0xb, topo, apic_id, false);
    }
    if (level >= 0x1f && topo->dies_per_pkg > 1) {
        topo_extended_leaf(t, 0x1f, topo, apic_id, true);
    } else {
        x86_cpuid_remove_entries(t, 0x1f);
    }
    topo_amd_leaves(t, topo, apic_id, host_caches);
}

/* ---- the PMU, address width, caches and TSC rate (pmu=, phys-bits=,
 * l3-cache=, tsc-frequency=) ---- */

bool x86_cpu_config_pmu(const X86CPUConfig *cfg)
{
    const X86CPUModel *m = find_model(cfg->model);

    if (cfg->pmu >= 0) {
        return cfg->pmu;
    }
    return m && m->from_host;   /* QEMU: host and max have pmu=on */
}

/* pmu=off: no architectural PMU (leaf 0xa), no PERF_CAPABILITIES MSR
 * (PDCM), no AMD core performance counters (PerfCtrExtCore) and no
 * PerfMonV2 leaf, as QEMU hides them. */
static void apply_pmu(X86CPUIDTable *t, bool on)
{
    struct kvm_cpuid2 *c = x86_cpuid_table_kvm(t);
    struct kvm_cpuid_entry2 *e;

    if (on) {
        return;
    }
    for (unsigned i = 0; i < t->nent; i++) {
        e = &t->entries[i];
        if (e->function == 0xa || e->function == 0x80000022) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        }
    }
    if ((e = x86_cpuid_find(c, 1, 0))) {
        e->ecx &= ~CPUID_1_ECX_PDCM;
    }
    if ((e = x86_cpuid_find(c, 0x80000001, 0))) {
        e->ecx &= ~CPUID_EXT3_PERFCORE;
    }
}

/*
 * The guest's physical address width (CPUID.80000008H:EAX[7:0]), as
 * QEMU 7.2 chooses it: host-phys-bits (on for host and max) gives the
 * host's, capped at host-phys-bits-limit; otherwise phys-bits, else 40.
 * A 32-bit CPU has 36 bits with PSE-36 and 32 without.
 */
static unsigned guest_phys_bits(const X86CPUConfig *cfg, const X86CPUModel *m,
                                unsigned host_bits, bool lm, bool pse36)
{
    bool from_host = cfg->host_phys_bits >= 0 ? cfg->host_phys_bits
                                              : m->from_host;
    unsigned bits;

    if (!lm) {
        return pse36 ? 36 : 32;
    }
    if (from_host) {
        bits = host_bits;
        if (cfg->host_phys_bits_limit && bits > cfg->host_phys_bits_limit) {
            bits = cfg->host_phys_bits_limit;
        }
        return bits;
    }
    return cfg->phys_bits ? cfg->phys_bits : DEFAULT_PHYS_BITS;
}

static void apply_phys_bits(const X86CPUConfig *cfg, const X86CPUModel *m,
                            const struct kvm_cpuid2 *sup, X86CPUIDTable *t)
{
    struct kvm_cpuid2 *c = x86_cpuid_table_kvm(t);
    const struct kvm_cpuid_entry2 *hs = x86_cpuid_find_const(sup, 0x80000008,
                                                             0);
    struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, 0x80000008, 0);
    struct kvm_cpuid_entry2 *x1 = x86_cpuid_find(c, 0x80000001, 0);
    struct kvm_cpuid_entry2 *l1 = x86_cpuid_find(c, 1, 0);
    unsigned host_bits = hs ? (hs->eax & 0xff) : 36;
    unsigned bits = guest_phys_bits(cfg, m, host_bits,
                                    x1 && (x1->edx & CPUID_EXT2_LM),
                                    l1 && (l1->edx & CPUID_1_EDX_PSE36));
    static bool warned;

    if (!e) {
        return;
    }
    e->eax = (e->eax & ~0xffu) | bits;
    if (!warned && cfg->phys_bits && cfg->phys_bits != host_bits &&
        x1 && (x1->edx & CPUID_EXT2_LM)) {
        /* QEMU's warning for a phys-bits= other than the host's width
         * (RAM or BARs above the host's width would not work), given
         * before host-phys-bits, which wins over phys-bits= */
        error_report("warning: Host physical bits (%u) does not match "
                     "phys-bits property (%u)", host_bits, cfg->phys_bits);
        warned = true;
    }
}

static uint32_t host_tsc_khz;

void x86_cpu_set_tsc_khz(uint32_t khz)
{
    host_tsc_khz = khz;
}

/*
 * VMware's timing leaf 0x40000010 (EAX: TSC kHz, EBX: APIC bus kHz),
 * which Linux and other guests read to skip calibrating the TSC: QEMU
 * offers it (vmware-cpuid-freq, on by default) in the KVM leaves when
 * the TSC rate is stable and known, an invariant TSC or tsc-frequency=.
 * Not beside Hyper-V's leaves, which take 0x40000000.
 */
static void apply_tsc_leaf(const X86CPUConfig *cfg, X86CPUIDTable *t)
{
    struct kvm_cpuid2 *c = x86_cpuid_table_kvm(t);
    struct kvm_cpuid_entry2 *base = x86_cpuid_find(c, 0x40000000, 0);
    struct kvm_cpuid_entry2 *apm = x86_cpuid_find(c, 0x80000007, 0);
    uint32_t khz = cfg->tsc_khz ? cfg->tsc_khz : host_tsc_khz;
    bool stable = cfg->tsc_khz || (apm && (apm->edx & CPUID_APM_INVTSC));
    struct kvm_cpuid_entry2 *e;

    if (!cfg->vmware_cpuid_freq || !cfg->kvm_signature || !base ||
        x86_hv_enabled(cfg) || !khz || !stable) {
        return;
    }
    if ((e = x86_cpuid_get_entry(t, 0x40000010, 0))) {
        e->eax = khz;
        e->ebx = APIC_BUS_KHZ;
        e->ecx = e->edx = 0;
        base = x86_cpuid_find(c, 0x40000000, 0);
        base->eax = MAX(base->eax, 0x40000010u);
    }
}

const char *x86_cpuid_unmigratable_reason(const X86CPUConfig *cfg,
                                          const X86CPUIDTable *t)
{
    const struct kvm_cpuid_entry2 *e =
        x86_cpuid_find_const((const struct kvm_cpuid2 *)t, 0x80000007, 0);

    if (cfg && cfg->tsc_khz) {
        /* QEMU: with tsc-frequency= the destination runs the TSC at the
         * same rate (or refuses to start), so invtsc may migrate */
        return NULL;
    }
    if (e && (e->edx & CPUID_APM_INVTSC)) {
        return "State blocked by non-migratable CPU device (invtsc flag)";
    }
    return NULL;
}

bool x86_cpu_build_cpuid(const X86CPUConfig *cfg,
                         const struct kvm_cpuid2 *supported,
                         const char *host_brand,
                         const X86CPUTopoInfo *topo, uint32_t apic_id,
                         X86CPUIDTable *out, GError **errp)
{
    const X86CPUModel *m = find_model(cfg->model);
    uint32_t features[FEATURE_WORDS];

    if (!m) {
        error_setg(errp, "unknown CPU model '%s'", cfg->model);
        return false;
    }
    if (supported->nent > X86_CPUID_MAX_ENTRIES) {
        error_setg(errp, "KVM reports %u CPUID entries, more than the %u "
                   "supported", supported->nent, X86_CPUID_MAX_ENTRIES);
        return false;
    }
    if (!compute_features(cfg, m, supported, features, errp)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->nent = supported->nent;
    memcpy(out->entries, supported->entries,
           supported->nent * sizeof(supported->entries[0]));

    set_identity(cfg, m, supported, host_brand, out);
    apply_features(out, features);
    fix_derived_bits(out, m);
    if (!cfg->kvm_signature) {
        x86_cpuid_remove_entries(out, 0x40000000);
        x86_cpuid_remove_entries(out, 0x40000001);
    }
    apply_pmu(out, x86_cpu_config_pmu(cfg));
    apply_phys_bits(cfg, m, supported, out);
    x86_cpu_build_cache_leaves(cfg, m->name, m->from_host, out);
    apply_tsc_leaf(cfg, out);
    x86_hv_build_leaves(cfg, topo->max_cpus ? topo->max_cpus : 1, out);
    apply_topology(out, topo, apic_id, cfg->level != 0,
                   x86_cpu_cache_passthrough(cfg, m->from_host));
    return true;
}

/* ---- a vCPU's features, for its QOM properties ---- */

/* The feature flags kvmpc names in word @w (other bits of the register
 * are fields, or bits the CPU sets itself). */
static uint32_t named_bits(FeatureWord w)
{
    uint32_t m = 0;

    for (unsigned b = 0; b < 32; b++) {
        if (feature_words[w].names[b]) {
            m |= 1u << b;
        }
    }
    return m;
}

bool x86_cpu_view_of(unsigned cpu_index, X86CPUView *v, GError **errp)
{
    const struct kvm_cpuid2 *sup = x86_cpu_supported_cpuid();
    X86CPUConfig quiet = *x86_cpu_current_config();
    const X86CPUModel *m = find_model(quiet.model);
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);
    struct kvm_cpuid2 *c = x86_cpuid_table_kvm(t);
    const struct kvm_cpuid_entry2 *e;
    uint32_t want[FEATURE_WORDS];

    memset(v, 0, sizeof(*v));
    if (!sup || !m) {
        error_setg(errp, "no accelerator to build CPUID against");
        return false;
    }
    quiet.check = quiet.enforce = false;    /* warned at start-up */
    compute_features_filtered(&quiet, m, sup, want, v->filtered, NULL);
    if (!x86_cpu_build_for_index_cfg(&quiet, cpu_index, t, errp)) {
        return false;
    }
    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        __u32 *reg = feature_reg(t, w);
        v->have[w] = reg ? *reg & named_bits(w) : 0;
    }
    if ((e = x86_cpuid_find(c, 0, 0))) {
        stl_le_p(v->vendor, e->ebx);
        stl_le_p(v->vendor + 4, e->edx);
        stl_le_p(v->vendor + 8, e->ecx);
    }
    if ((e = x86_cpuid_find(c, 1, 0))) {
        decode_signature(e->eax, &v->family, &v->model, &v->stepping);
    }
    for (unsigned i = 0; i < 3; i++) {
        if ((e = x86_cpuid_find(c, 0x80000002 + i, 0))) {
            stl_le_p(v->model_id + i * 16, e->eax);
            stl_le_p(v->model_id + i * 16 + 4, e->ebx);
            stl_le_p(v->model_id + i * 16 + 8, e->ecx);
            stl_le_p(v->model_id + i * 16 + 12, e->edx);
        }
    }
    return true;
}

bool x86_feature_word_cpuid(FeatureWord w, uint32_t *function,
                            uint32_t *index, bool *has_index,
                            const char **reg)
{
    static const char *const regs[] = { "EAX", "EBX", "ECX", "EDX" };

    if (w >= FEAT_FIRST_MSR) {
        return false;
    }
    *function = word_location[w].function;
    *index = word_location[w].index;
    *has_index = index_significant(*function);
    *reg = regs[word_location[w].reg & 3];
    return true;
}

const char *x86_feature_word_bit_name(FeatureWord w, unsigned bit)
{
    return w < FEATURE_WORDS && bit < 32 ? feature_words[w].names[bit]
                                         : NULL;
}

/* ---- model queries (QMP query-cpu-definitions, -model-expansion) ---- */

unsigned x86_cpu_model_count(void)
{
    return model_total();
}

bool x86_cpu_model_get(unsigned i, X86CPUModelInfo *out)
{
    const X86CPUModel *m = model_at(i);

    if (!m) {
        return false;
    }
    out->name = m->name;
    out->desc = m->desc;
    out->alias_of = m->alias_of;
    out->from_host = m->from_host;
    return true;
}

/* Features of the model that @supported (KVM's CPUID) lacks. */
GPtrArray *x86_cpu_model_unavailable(const char *name,
                                     const struct kvm_cpuid2 *supported)
{
    const X86CPUModel *m = find_model(name);
    GPtrArray *out = g_ptr_array_new();

    if (!m || !supported || m->from_host) {
        return out;
    }
    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        uint32_t have = supported_word(supported, w);
        if (w == FEAT_SVM &&
            !(m->features[FEAT_8000_0001_ECX] & CPUID_EXT3_SVM)) {
            continue;       /* SVM's features need svm (QEMU) */
        }
        for (unsigned b = 0; b < 32; b++) {
            const char *n = feature_words[w].names[b];
            if (n && (m->features[w] & (1u << b)) && !(have & (1u << b)) &&
                !unchecked_bit(w, 1u << b)) {
                g_ptr_array_add(out, (gpointer)n);
            }
        }
    }
    return out;
}

/*
 * QEMU's expansion of @name with @props applied: "static" names the
 * "base" model, "full" the model itself; both list every feature kvmpc
 * knows as a boolean, and the identity properties.  The features are
 * the model's, before any accelerator filtering.
 */
QDict *x86_cpu_model_expand(const char *name, QDict *props, bool full,
                            GError **errp)
{
    const X86CPUModel *m = find_model(name);
    uint32_t features[FEATURE_WORDS];
    QDict *out;

    if (!m) {
        error_setg(errp, "The CPU type '%s' is not a recognized X86 CPU "
                   "type", name);
        return NULL;
    }
    if (m->from_host) {
        error_setg(errp, "kvmpc cannot expand '%s' yet (it depends on the "
                   "host)", name);
        return NULL;
    }
    memcpy(features, m->features, sizeof(features));
    for (const QDictEntry *e = props ? qdict_first(props) : NULL; e;
         e = qdict_next(props, e)) {
        QBool *b = qobject_to(QBool, qdict_entry_value(e));
        FeatureWord w;
        uint32_t mask;

        if (!b || !x86_cpu_feature_lookup(qdict_entry_key(e), &w, &mask)) {
            error_setg(errp, "Property '%s' not found or not a boolean "
                       "feature", qdict_entry_key(e));
            return NULL;
        }
        features[w] = qbool_get_bool(b) ? features[w] | mask
                                        : features[w] & ~mask;
    }
    out = qdict_new();
    for (unsigned w = 0; w < FEATURE_WORDS; w++) {
        for (unsigned b = 0; b < 32; b++) {
            const char *n = feature_words[w].names[b];
            if (n && !qdict_haskey(out, n)) {
                qdict_put_bool(out, n, features[w] & (1u << b));
            }
        }
    }
    qdict_put_str(out, "vendor", m->vendor);
    qdict_put_int(out, "family", m->family);
    qdict_put_int(out, "model", m->model);
    qdict_put_int(out, "stepping", m->stepping);
    qdict_put_str(out, "model-id", m->model_id);
    qdict_put_int(out, full ? "level" : "min-level", m->level);
    qdict_put_int(out, full ? "xlevel" : "min-xlevel", m->xlevel);
    if (!full) {
        return out;             /* "static" lists only the base's features */
    }
    /* QEMU 7.2's defaults for a named model */
    qdict_put_bool(out, "pmu", false);
    qdict_put_int(out, "phys-bits", 0);
    qdict_put_bool(out, "host-phys-bits", false);
    qdict_put_int(out, "host-phys-bits-limit", 0);
    qdict_put_bool(out, "l3-cache", true);
    /* on unless the model has caches of its own (QEMU 7.2's default) */
    qdict_put_bool(out, "legacy-cache", !x86_cpu_model_has_caches(m->name));
    qdict_put_int(out, "tsc-frequency", 0);
    qdict_put_bool(out, "vmware-cpuid-freq", true);
    return out;
}

/* ---- the qtest accelerator's stand-in for KVM_GET_SUPPORTED_CPUID ---- */

/*
 * Under -accel qtest there is no KVM to ask, yet query-cpu-definitions'
 * unavailable-features, -cpu ...,enforce|check and "info cpuid" should
 * behave as on a real host so that tests can see them.  This table is
 * that host: a GenuineIntel CPU with every feature kvmpc knows except
 * those no current KVM host offers -- MPX (gone from Linux's KVM since
 * 5.x kernels stopped exposing it by default on new CPUs), PCOMMIT
 * (withdrawn from the SDM) and the Xeon Phi AVX-512 extensions
 * (avx512pf, avx512er, avx512-4vnniw, avx512-4fmaps) -- so models that
 * list them (Skylake-Server-v1, KnightsMill...) come out unavailable.
 */
static const char *const qtest_host_lacks[] = {
    "mpx", "pcommit", "avx512pf", "avx512er", "avx512-4vnniw",
    "avx512-4fmaps",
};

static uint32_t known_bits(FeatureWord w)
{
    uint32_t m = 0;

    for (unsigned b = 0; b < 32; b++) {
        if (feature_words[w].names[b]) {
            m |= 1u << b;
        }
    }
    for (unsigned i = 0; i < ARRAY_SIZE(qtest_host_lacks); i++) {
        FeatureWord lw;
        uint32_t mask;

        if (x86_cpu_feature_lookup(qtest_host_lacks[i], &lw, &mask) &&
            lw == w) {
            m &= ~mask;
        }
    }
    return m;
}

/* Deterministic cache parameters (leaf 4 layout, SDM vol. 2A table 3-8):
 * 32 KiB 8-way L1d/L1i, 1 MiB 16-way L2, 32 MiB 16-way L3, 64-byte
 * lines, no sharing fields: what host/max pass through with
 * host-cache-info=on (every other table has QEMU's caches,
 * cache-info.c). */
static void qtest_cache_leaf(X86CPUIDTable *t, unsigned idx, unsigned type,
                             unsigned level, unsigned ways, unsigned sets)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_get_entry(t, 4, idx);

    if (!e) {
        return;
    }
    e->eax = type | level << 5 | 1 << 8 /* self-initialising */;
    e->ebx = (ways - 1) << 22 | 63;
    e->ecx = sets - 1;
    e->edx = level == 3 ? 2 : 0;    /* L3 inclusive */
}

const struct kvm_cpuid2 *x86_cpu_qtest_supported(void)
{
    static X86CPUIDTable *t;
    struct kvm_cpuid_entry2 *e;

    if (t) {
        return x86_cpuid_table_kvm(t);
    }
    t = g_new0(X86CPUIDTable, 1);
    if ((e = x86_cpuid_get_entry(t, 0, 0))) {
        e->eax = 0x1f;
        put_vendor(e, "GenuineIntel");
    }
    if ((e = x86_cpuid_get_entry(t, 1, 0))) {
        e->eax = signature(6, 85, 7);
    }
    qtest_cache_leaf(t, 0, 1, 1, 8, 64);
    qtest_cache_leaf(t, 1, 2, 1, 8, 64);
    qtest_cache_leaf(t, 2, 3, 2, 16, 1024);
    qtest_cache_leaf(t, 3, 3, 3, 16, 32768);
    x86_cpuid_get_entry(t, 4, 4);                 /* type 0: no more caches */
    x86_cpuid_get_entry(t, 6, 0);
    x86_cpuid_get_entry(t, 7, 0)->eax = 1;
    x86_cpuid_get_entry(t, 7, 1);
    if ((e = x86_cpuid_get_entry(t, 0xa, 0))) {
        /* architectural PMU v2: 8 48-bit counters, 3 fixed ones */
        e->eax = 2 | 8 << 8 | 48 << 16 | 7 << 24;
        e->edx = 3 | 48 << 5;
    }
    x86_cpuid_get_entry(t, 0xb, 0);
    x86_cpuid_get_entry(t, 0xb, 1);
    if ((e = x86_cpuid_get_entry(t, 0xd, 0))) {
        e->eax = 0x7;                   /* x87, SSE, AVX state */
        e->ebx = e->ecx = 0x340;
    }
    x86_cpuid_get_entry(t, 0xd, 1);
    if ((e = x86_cpuid_get_entry(t, 0xd, 2))) {
        e->eax = 0x100;                 /* AVX: 256 bytes at 576 */
        e->ebx = 0x240;
    }
    x86_cpuid_get_entry(t, 0x14, 0);
    x86_cpuid_get_entry(t, 0x1f, 0);
    if ((e = x86_cpuid_get_entry(t, 0x40000000, 0))) {
        e->eax = 0x40000001;
        e->ebx = 0x4b4d564b;            /* "KVMKVMKVM\0\0\0" */
        e->ecx = 0x564b4d56;
        e->edx = 0x4d;
    }
    x86_cpuid_get_entry(t, 0x40000001, 0);
    if ((e = x86_cpuid_get_entry(t, 0x80000000, 0))) {
        e->eax = 0x8000000a;
    }
    x86_cpuid_get_entry(t, 0x80000001, 0);
    put_brand(t, "kvmpc qtest host CPU");
    if ((e = x86_cpuid_get_entry(t, 0x80000006, 0))) {
        e->ecx = 1024 << 16 | 6 << 12 | 64;    /* 1 MiB 8-way L2 */
    }
    x86_cpuid_get_entry(t, 0x80000007, 0);
    if ((e = x86_cpuid_get_entry(t, 0x80000008, 0))) {
        e->eax = 0x3030;                /* 48-bit physical and virtual */
    }
    if ((e = x86_cpuid_get_entry(t, 0x8000000a, 0))) {
        e->eax = 1;
        e->ebx = 16;                    /* ASIDs */
    }
    for (unsigned w = 0; w < FEAT_FIRST_MSR; w++) {
        __u32 *reg = feature_reg(t, w);
        if (reg) {
            *reg = known_bits(w);
        }
    }
    return x86_cpuid_table_kvm(t);
}

/* The qtest host's feature MSRs: every bit kvmpc knows. */
void x86_cpu_qtest_feature_msrs(uint64_t *values)
{
    for (unsigned w = FEAT_FIRST_MSR; w < FEATURE_WORDS; w++) {
        values[w - FEAT_FIRST_MSR] = known_bits(w);
    }
}
