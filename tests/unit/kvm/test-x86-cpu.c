/*
 * x86 CPU logic: APIC IDs from -smp topology (QEMU's numbering), -cpu
 * parsing (models, feature names, errors) and the CPUID table built from
 * a synthetic "KVM supported" table.
 */
#include "qemu/osdep.h"
#include "target/i386/cpu.h"

/* ---- topology ---- */

static void test_bitwidth(void)
{
    g_assert_cmpuint(apicid_bitwidth_for_count(0), ==, 0);
    g_assert_cmpuint(apicid_bitwidth_for_count(1), ==, 0);
    g_assert_cmpuint(apicid_bitwidth_for_count(2), ==, 1);
    g_assert_cmpuint(apicid_bitwidth_for_count(3), ==, 2);
    g_assert_cmpuint(apicid_bitwidth_for_count(4), ==, 2);
    g_assert_cmpuint(apicid_bitwidth_for_count(5), ==, 3);
    g_assert_cmpuint(apicid_bitwidth_for_count(255), ==, 8);
    g_assert_cmpuint(apicid_bitwidth_for_count(256), ==, 8);
}

static void test_apicid_flat(void)
{
    SmpConfig smp = { .cpus = 4, .sockets = 4, .dies = 1, .cores = 1,
                      .threads = 1 };
    X86CPUTopoInfo t;

    x86_topo_info_from_smp(&smp, &t);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, i), ==, i);
    }
}

static void test_apicid_odd_counts(void)
{
    /* 3 cores x 3 threads: each field rounded up to 2 bits */
    SmpConfig smp = { .cpus = 18, .sockets = 2, .dies = 1, .cores = 3,
                      .threads = 3 };
    X86CPUTopoInfo t;
    X86CPUTopoIDs ids;

    x86_topo_info_from_smp(&smp, &t);
    g_assert_cmpuint(apicid_core_offset(&t), ==, 2);
    g_assert_cmpuint(apicid_pkg_offset(&t), ==, 4);
    g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, 0), ==, 0);
    g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, 2), ==, 2);
    g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, 3), ==, 4);    /* core 1 */
    g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, 8), ==, 10);   /* c2 t2 */
    g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, 9), ==, 16);   /* pkg 1 */
    x86_topo_ids_from_apicid(&t, 26, &ids);
    g_assert_cmpuint(ids.pkg_id, ==, 1);
    g_assert_cmpuint(ids.core_id, ==, 2);
    g_assert_cmpuint(ids.smt_id, ==, 2);
}

static void test_apicid_dies(void)
{
    SmpConfig smp = { .cpus = 16, .sockets = 2, .dies = 2, .cores = 2,
                      .threads = 2 };
    X86CPUTopoInfo t;
    X86CPUTopoIDs ids;

    x86_topo_info_from_smp(&smp, &t);
    g_assert_cmpuint(apicid_die_offset(&t), ==, 2);
    g_assert_cmpuint(apicid_pkg_offset(&t), ==, 3);
    x86_topo_ids_from_idx(&t, 13, &ids);
    g_assert_cmpuint(ids.pkg_id, ==, 1);
    g_assert_cmpuint(ids.die_id, ==, 1);
    g_assert_cmpuint(ids.core_id, ==, 0);
    g_assert_cmpuint(ids.smt_id, ==, 1);
    g_assert_cmpuint(x86_apicid_from_topo_ids(&t, &ids), ==, 13);
}

static void test_zero_fields_count_as_one(void)
{
    SmpConfig smp = { .cpus = 2 };
    X86CPUTopoInfo t;

    x86_topo_info_from_smp(&smp, &t);
    g_assert_cmpuint(t.threads_per_core, ==, 1);
    g_assert_cmpuint(x86_apicid_from_cpu_idx(&t, 1), ==, 1);
}

/* ---- parsing ---- */

static void test_parse_models(void)
{
    X86CPUConfig cfg;
    GError *err = NULL;

    g_assert_true(x86_cpu_config_parse("host", &cfg, &err));
    g_assert_cmpstr(cfg.model, ==, "host");
    g_assert_true(x86_cpu_config_parse(NULL, &cfg, &err));
    g_assert_cmpstr(cfg.model, ==, "host");
    g_assert_true(x86_cpu_config_parse("max", &cfg, &err));
    g_assert_true(x86_cpu_config_parse("qemu64", &cfg, &err));
    g_assert_no_error(err);

    g_assert_false(x86_cpu_config_parse("foo", &cfg, &err));
    g_assert_cmpstr(err->message, ==, "unknown CPU model 'foo'");
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("", &cfg, &err));
    g_clear_error(&err);
}

static void test_parse_features(void)
{
    X86CPUConfig cfg;
    GError *err = NULL;
    FeatureWord w;
    uint32_t mask;

    g_assert_true(x86_cpu_config_parse(
        "qemu64,+sse4.1,-sse2,lahf_lm=off,x2apic=on,sse4_2,enforce",
        &cfg, &err));
    g_assert_no_error(err);
    g_assert_cmphex(cfg.plus[FEAT_1_ECX], ==, (1u << 19) | (1u << 21) |
                                              (1u << 20));
    g_assert_cmphex(cfg.minus[FEAT_1_EDX], ==, 1u << 26);
    g_assert_cmphex(cfg.minus[FEAT_8000_0001_ECX], ==, 1u << 0);
    g_assert_true(cfg.enforce);

    /* later switches win */
    g_assert_true(x86_cpu_config_parse("host,+avx2,-avx2", &cfg, &err));
    g_assert_cmphex(cfg.plus[FEAT_7_0_EBX], ==, 0);
    g_assert_cmphex(cfg.minus[FEAT_7_0_EBX], ==, 1u << 5);

    g_assert_true(x86_cpu_feature_lookup("sse3", &w, &mask));
    g_assert_cmpint(w, ==, FEAT_1_ECX);
    g_assert_cmphex(mask, ==, 1);
    g_assert_true(x86_cpu_feature_lookup("kvmclock", &w, &mask));
    g_assert_cmphex(mask, ==, (1u << 0) | (1u << 3));
    g_assert_true(x86_cpu_feature_lookup("NX", &w, &mask));
    g_assert_cmpint(w, ==, FEAT_8000_0001_EDX);
    g_assert_false(x86_cpu_feature_lookup("bogus", &w, &mask));
}

static void test_parse_errors(void)
{
    X86CPUConfig cfg;
    GError *err = NULL;

    g_assert_false(x86_cpu_config_parse("host,+bogus", &cfg, &err));
    g_assert_cmpstr(err->message, ==, "CPU feature bogus not found");
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("host,foo=1", &cfg, &err));
    g_assert_cmpstr(err->message, ==, "Property 'foo' not found");
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("host,sse2=maybe", &cfg, &err));
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("host,vendor=short", &cfg, &err));
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("host,family=0x1000", &cfg, &err));
    g_clear_error(&err);
    /* QEMU properties without meaning here are accepted */
    g_assert_true(x86_cpu_config_parse("host,migratable=no,hv-relaxed,"
                                       "pmu=off", &cfg, &err));
    g_assert_no_error(err);
    g_assert_true(x86_cpu_config_parse("qemu64,vendor=GenuineIntel,"
                                       "family=6,model=85,stepping=4,"
                                       "model-id=Test CPU,kvm=off", &cfg,
                                       &err));
    g_assert_no_error(err);
    g_assert_cmpstr(cfg.vendor, ==, "GenuineIntel");
    g_assert_cmpint(cfg.model_num, ==, 85);
    g_assert_false(cfg.kvm_signature);
}

static void test_help(void)
{
    g_autofree char *help = x86_cpu_help_text();

    g_assert_true(x86_cpu_model_is_help("help"));
    g_assert_false(x86_cpu_model_is_help("host"));
    g_assert_nonnull(strstr(help, "qemu64"));
    g_assert_nonnull(strstr(help, " sse4.1"));
}

/* ---- CPUID building ---- */

/* What KVM_GET_SUPPORTED_CPUID would return. */
typedef X86CPUIDTable FakeSupported;

/* An AMD host like the PVM machines: no sse3, x2apic, hypervisor, KVM. */
static void fake_supported(FakeSupported *s)
{
    static const struct kvm_cpuid_entry2 entries[] = {
        { .function = 0, .eax = 0xd, .ebx = 0x68747541, .edx = 0x69746e65,
          .ecx = 0x444d4163 },
        { .function = 1, .eax = 0x00a00f11, .ebx = 0x01020800,
          .ecx = 0x81202000, .edx = 0x078bfbff },
        { .function = 4, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
        { .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .ebx = 0x01800002, .ecx = 0x4, .edx = 0x20000000 },
        { .function = 0xb, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .edx = 1 },
        { .function = 0xd, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 7, .ebx = 0x340 },
        { .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
        { .function = 0x40000001, .eax = 0x01007efb },
        { .function = 0x80000000, .eax = 0x80000021, .ebx = 0x68747541 },
        { .function = 0xa, .eax = 0x07300802, .edx = 0x603 },   /* PMU */
        { .function = 0x80000001, .eax = 0x00a00f11, .ecx = 0x00c00393,
          .edx = 0x23d3fbff },                          /* perfctr-core */
        { .function = 0x80000006, .ecx = 0x04006140, .edx = 0x0a009140 },
        { .function = 0x80000007, .edx = 0x100 },       /* invtsc */
        { .function = 0x80000008, .eax = 0x3030, .ecx = 0x7001 },
        { .function = 0x8000001d, .index = 0,
          .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x121 },
        { .function = 0x8000001d, .index = 1,
          .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x143 },
        { .function = 0x8000001d, .index = 2,
          .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x4163,
          .ebx = 0x03c0003f, .ecx = 0x7fff, .edx = 1 },  /* L3 */
        { .function = 0x8000001d, .index = 3,
          .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
        { .function = 0x8000001e },
        { .function = 0x80000021, .eax = 0x204 },
    };

    memset(s, 0, sizeof(*s));
    s->nent = ARRAY_SIZE(entries);
    memcpy(s->entries, entries, sizeof(entries));
}

static const struct kvm_cpuid_entry2 *leaf(const X86CPUIDTable *t,
                                           uint32_t f, uint32_t i)
{
    const struct kvm_cpuid_entry2 *e = x86_cpuid_find_const((const struct kvm_cpuid2 *)t, f, i);

    g_assert_nonnull(e);
    return e;
}

/* The configuration build() parsed last. */
static X86CPUConfig built_cfg;

static void build(const char *spec, unsigned cpus, unsigned cores,
                  unsigned threads, uint32_t apic_id, X86CPUIDTable *t)
{
    FakeSupported sup;
    SmpConfig smp = { .cpus = cpus, .sockets = 1, .dies = 1, .cores = cores,
                      .threads = threads };
    X86CPUTopoInfo topo;
    GError *err = NULL;

    fake_supported(&sup);
    x86_topo_info_from_smp(&smp, &topo);
    g_assert_true(x86_cpu_config_parse(spec, &built_cfg, &err));
    built_cfg.check = false;      /* keep test output quiet */
    g_assert_true(x86_cpu_build_cpuid(&built_cfg, x86_cpuid_table_kvm(&sup), "Host Brand", &topo,
                                      apic_id, t, &err));
    g_assert_no_error(err);
}

static void test_cpuid_host(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);

    build("host", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 1, 0)->eax, ==, 0x00a00f11);
    g_assert_cmphex(leaf(t, 1, 0)->ecx & (1u << 31), !=, 0);
    g_assert_cmphex(leaf(t, 7, 0)->ebx, ==, 0x01800002);
    g_assert_cmphex(leaf(t, 0x80000001, 0)->edx, ==, 0x23d3fbff);
    g_assert_cmphex(leaf(t, 0x80000002, 0)->eax, ==, ldl_le_p("Host"));
    /* xsave not offered: leaf 0xd goes */
    g_assert_null(x86_cpuid_find_const((const struct kvm_cpuid2 *)t, 0xd, 0));
}

/* host (and max) leave out the invariant TSC unless migratable=off, as
 * QEMU's; asked for by name it is given, and blocks migration. */
static void test_cpuid_migratable(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);
    static const char *const specs[] = {
        "host", "max", "host,migratable=on", "host,migratable=off",
        "max,migratable=off", "host,+invtsc", "host,migratable=off,-invtsc",
    };
    static const bool invtsc[] = { false, false, false, true, true, true,
                                   false };

    for (unsigned i = 0; i < G_N_ELEMENTS(specs); i++) {
        build(specs[i], 1, 1, 1, 0, t);
        g_test_message("%s", specs[i]);
        g_assert_cmphex(leaf(t, 0x80000007, 0)->edx & 0x100, ==,
                        invtsc[i] ? 0x100 : 0);
        g_assert_true(!x86_cpuid_unmigratable_reason(&built_cfg, t) ==
                      !invtsc[i]);
    }
    g_assert_cmpstr(x86_cpuid_unmigratable_reason(&built_cfg, t), ==, NULL);
    build("host,migratable=off", 1, 1, 1, 0, t);
    g_assert_cmpstr(x86_cpuid_unmigratable_reason(&built_cfg, t), ==,
                    "State blocked by non-migratable CPU device "
                    "(invtsc flag)");
    /* with tsc-frequency= the invariant TSC migrates, as in QEMU */
    build("host,migratable=off,tsc-frequency=2596126000", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0x80000007, 0)->edx & 0x100, ==, 0x100);
    g_assert_cmpstr(x86_cpuid_unmigratable_reason(&built_cfg, t), ==, NULL);
}

static uint32_t leaf_eax_or_zero(const X86CPUIDTable *t, uint32_t f,
                                 uint32_t i)
{
    const struct kvm_cpuid_entry2 *e =
        x86_cpuid_find_const((const struct kvm_cpuid2 *)t, f, i);

    return e ? e->eax : 0;
}

/* pmu=: QEMU's default is on for host and max, off for named models;
 * off hides leaf 0xa and the AMD core counters. */
static void test_cpuid_pmu(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);

    build("host", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0xa, 0)->eax, ==, 0x07300802);
    g_assert_cmphex(leaf(t, 0x80000001, 0)->ecx & (1u << 23), !=, 0);
    build("host,pmu=off", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0xa, 0)->eax, ==, 0);
    g_assert_cmphex(leaf(t, 0xa, 0)->edx, ==, 0);
    g_assert_cmphex(leaf(t, 0x80000001, 0)->ecx & (1u << 23), ==, 0);
    build("EPYC", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf_eax_or_zero(t, 0xa, 0), ==, 0);
    build("EPYC,pmu=on", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0xa, 0)->eax, ==, 0x07300802);
}

/* phys-bits: the host's 48 for host/max, QEMU's 40 for named models. */
static void test_cpuid_phys_bits(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);
    static const struct {
        const char *spec;
        unsigned bits;
    } cases[] = {
        { "host", 48 }, { "max", 48 }, { "qemu64", 40 }, { "EPYC", 40 },
        { "qemu64,phys-bits=44", 44 }, { "qemu64,host-phys-bits=on", 48 },
        { "host,host-phys-bits-limit=39", 39 },
        { "host,host-phys-bits=off", 40 },
        { "host,host-phys-bits=off,phys-bits=46", 46 },
        { "qemu64,-lm", 36 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s", cases[i].spec);
        build(cases[i].spec, 1, 1, 1, 0, t);
        g_assert_cmpuint(leaf(t, 0x80000008, 0)->eax & 0xff, ==,
                         cases[i].bits);
        /* the virtual address width stays */
        g_assert_cmpuint((leaf(t, 0x80000008, 0)->eax >> 8) & 0xff, ==, 48);
    }
}

/* Cache leaves, as QEMU 7.2 gives them (values read from its CPUID
 * under TCG; tests/qmp/test_cpu_leaves.py compares live): QEMU's legacy
 * tables for host (host-cache-info off by default) and most models, the
 * model's own for EPYC; l3-cache=off leaves 0x8000001d's L3 alone. */
static void test_cpuid_caches(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);

    build("host", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0x8000001d, 2)->eax & 0x1ff, ==, 0x043);
    g_assert_cmphex(leaf(t, 0x8000001d, 3)->eax & 0x1ff, ==, 0x163);
    g_assert_cmphex(leaf(t, 0x8000001d, 3)->ecx, ==, 0x3fff);
    g_assert_cmphex(leaf(t, 0x80000005, 0)->ecx, ==, 0x40020140);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->ebx, ==, 0x42004200);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->edx, ==, 0x00808140);
    build("host,l3-cache=off", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0x8000001d, 3)->eax & 0x1ff, ==, 0x163);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->edx, ==, 0);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->ecx, ==, 0x02008140);
    /* the host's own leaves, whatever l3-cache= says */
    build("host,host-cache-info=on,l3-cache=off", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0x8000001d, 2)->eax & 0xff, ==, 0x63);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->edx, ==, 0x0a009140);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->ecx, ==, 0x04006140);

    build("EPYC", 8, 4, 2, 0, t);
    g_assert_cmphex(leaf(t, 0x80000005, 0)->ecx, ==, 0x20080140);
    g_assert_cmphex(leaf(t, 0x80000005, 0)->edx, ==, 0x40040140);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->ecx, ==, 0x02006140);
    g_assert_cmphex(leaf(t, 0x80000006, 0)->edx, ==, 0x00408140);
    g_assert_cmphex(leaf(t, 0x8000001d, 1)->eax, ==, 0x00004122);
    g_assert_cmphex(leaf(t, 0x8000001d, 1)->ebx, ==, 0x00c0003f);
    g_assert_cmphex(leaf(t, 0x8000001d, 3)->eax, ==, 0x0001c163);
    g_assert_cmphex(leaf(t, 0x8000001d, 3)->edx, ==, 6);
    g_assert_cmphex(leaf_eax_or_zero(t, 4, 0), ==, 0);     /* AMD */
    build("EPYC,-topoext", 8, 4, 2, 0, t);       /* 0x8000001d stays */
    g_assert_cmphex(leaf(t, 0x8000001d, 3)->eax, ==, 0x0001c163);
    build("EPYC,legacy-cache=on", 8, 4, 2, 0, t);
    g_assert_cmphex(leaf(t, 0x80000005, 0)->ecx, ==, 0x40020140);
    g_assert_cmphex(leaf(t, 0x8000001d, 0)->ebx, ==, 0x0040003f);

    build("Skylake-Client", 4, 2, 2, 0, t);
    g_assert_cmphex(leaf(t, 2, 0)->eax, ==, 1);
    g_assert_cmphex(leaf(t, 2, 0)->ecx, ==, 0x4d);
    g_assert_cmphex(leaf(t, 2, 0)->edx, ==, 0x002c307d);
    g_assert_cmphex(leaf(t, 4, 2)->eax, ==, 0x04004143);
    g_assert_cmphex(leaf(t, 4, 2)->ecx, ==, 0xfff);
    g_assert_cmphex(leaf(t, 4, 3)->eax, ==, 0x0400c163);
    build("Skylake-Client,l3-cache=off", 4, 2, 2, 0, t);
    g_assert_cmphex(leaf(t, 2, 0)->ecx, ==, 0);
    g_assert_cmphex(leaf_eax_or_zero(t, 4, 3), ==, 0);

    /* Hygon's Dhyana: EPYC's caches, and leaves 2 and 4 (not AMD's) */
    build("Dhyana", 8, 4, 2, 0, t);
    g_assert_cmphex(leaf(t, 2, 0)->ecx, ==, 0x4b);
    g_assert_cmphex(leaf(t, 2, 0)->edx, ==, 0x002cff80);
    g_assert_cmphex(leaf(t, 4, 3)->eax, ==, 0x0c01c163);
}

static void test_legacy_cache_prop(void)
{
    X86CPUConfig c;
    GError *err = NULL;

    g_assert_true(x86_cpu_config_parse("EPYC-Rome-v2,legacy-cache=off", &c,
                                       &err));
    g_assert_true(x86_cpu_config_parse("qemu64,legacy-cache=on", &c, &err));
    g_assert_false(x86_cpu_config_parse("qemu64,legacy-cache=off", &c,
                                        &err));
    g_assert_cmpstr(err->message, ==,
                    "CPU model 'qemu64' doesn't support legacy-cache=off");
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("host,legacy-cache=off", &c, &err));
    g_assert_cmpstr(err->message, ==,
                    "CPU model 'host' doesn't support legacy-cache=off");
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("EPYC,legacy-cache=maybe", &c,
                                        &err));
    g_clear_error(&err);
}

/* VMware's timing leaf with a stable, known TSC rate. */
static void test_cpuid_tsc_leaf(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);

    x86_cpu_set_tsc_khz(2596126);
    build("host", 1, 1, 1, 0, t);       /* no invtsc: rate not stable */
    g_assert_cmphex(leaf(t, 0x40000000, 0)->eax, ==, 0x40000001);
    g_assert_null(x86_cpuid_find_const((const struct kvm_cpuid2 *)t,
                                       0x40000010, 0));
    build("host,migratable=off", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0x40000000, 0)->eax, ==, 0x40000010);
    g_assert_cmpuint(leaf(t, 0x40000010, 0)->eax, ==, 2596126);
    g_assert_cmpuint(leaf(t, 0x40000010, 0)->ebx, ==, 1000000);
    build("host,tsc-frequency=2G", 1, 1, 1, 0, t);
    g_assert_cmpuint(leaf(t, 0x40000010, 0)->eax, ==, 2000000);
    build("host,migratable=off,vmware-cpuid-freq=off", 1, 1, 1, 0, t);
    g_assert_null(x86_cpuid_find_const((const struct kvm_cpuid2 *)t,
                                       0x40000010, 0));
    build("host,migratable=off,kvm=off", 1, 1, 1, 0, t);
    g_assert_null(x86_cpuid_find_const((const struct kvm_cpuid2 *)t,
                                       0x40000010, 0));
    x86_cpu_set_tsc_khz(0);
}

static void test_shape_prop_errors(void)
{
    X86CPUConfig c;
    GError *err = NULL;

    g_assert_false(x86_cpu_config_parse("qemu64,phys-bits=60", &c, &err));
    g_assert_cmpstr(err->message, ==,
                    "phys-bits should be between 32 and 52  (but is 60)");
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("qemu64,phys-bits=31", &c, &err));
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("EPYC,host-cache-info=on", &c,
                                        &err));
    g_assert_cmpstr(err->message, ==,
                    "Property 'EPYC-x86_64-cpu.host-cache-info' not found");
    g_clear_error(&err);
    g_assert_true(x86_cpu_config_parse("host,host-cache-info=on", &c, &err));
    g_assert_false(x86_cpu_config_parse("host,tsc-frequency=fast", &c,
                                        &err));
    g_clear_error(&err);
    g_assert_false(x86_cpu_config_parse("host,pmu=maybe", &c, &err));
    g_clear_error(&err);
    g_assert_true(x86_cpu_config_parse("host,tsc-freq=2500M", &c, &err));
    g_assert_cmpuint(c.tsc_khz, ==, 2500000);
}

static void test_cpuid_qemu64(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);

    build("qemu64,-nx", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0, 0)->eax, ==, 0xd);
    g_assert_cmphex(leaf(t, 0, 0)->ebx, ==, 0x68747541);   /* "Auth" */
    g_assert_cmphex(leaf(t, 1, 0)->eax, ==, 0x00060fb1);   /* 15/107/1 */
    /* sse3 requested but not supported: dropped; cx16 kept */
    g_assert_cmphex(leaf(t, 1, 0)->ecx & 1, ==, 0);
    g_assert_cmphex(leaf(t, 1, 0)->ecx & (1u << 13), !=, 0);
    /* the P6 set + mtrr clflush mca pse36: no vme, ht... */
    g_assert_cmphex(leaf(t, 1, 0)->edx, ==, 0x078bfbfd);
    g_assert_cmphex(leaf(t, 7, 0)->ebx, ==, 0);
    g_assert_cmphex(leaf(t, 0x80000000, 0)->eax, ==, 0x8000000a);
    g_assert_cmphex(leaf(t, 0x80000001, 0)->edx & (1u << 20), ==, 0);
    g_assert_cmphex(leaf(t, 0x80000001, 0)->edx & (1u << 29), !=, 0);
    /* svm requested, not supported */
    g_assert_cmphex(leaf(t, 0x80000001, 0)->ecx & (1u << 2), ==, 0);
    g_assert_null(x86_cpuid_find_const((const struct kvm_cpuid2 *)t, 0x80000021, 0));
    g_assert_cmphex(leaf(t, 0x80000002, 0)->eax, ==, ldl_le_p("QEMU"));
}

static void test_cpuid_enforce(void)
{
    FakeSupported sup;
    X86CPUConfig cfg;
    X86CPUTopoInfo topo = { 1, 1, 1 };
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);
    GError *err = NULL;

    fake_supported(&sup);
    g_assert_true(x86_cpu_config_parse("qemu64,enforce", &cfg, &err));
    g_assert_false(x86_cpu_build_cpuid(&cfg, x86_cpuid_table_kvm(&sup), NULL, &topo, 0, t,
                                       &err));
    g_assert_cmpstr(err->message, ==, "Host doesn't support requested features");
    g_clear_error(&err);
}

static void test_cpuid_topology(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);
    const struct kvm_cpuid_entry2 *e;

    /* 1 socket, 3 cores x 2 threads; CPU with APIC ID 5 = core 2 thread 1 */
    build("host", 6, 3, 2, 5, t);
    e = leaf(t, 1, 0);
    g_assert_cmphex(e->ebx >> 24, ==, 5);
    g_assert_cmphex((e->ebx >> 16) & 0xff, ==, 6);
    g_assert_cmphex(e->edx & (1u << 28), !=, 0);
    e = leaf(t, 0xb, 0);
    g_assert_cmphex(e->eax, ==, 1);
    g_assert_cmphex(e->ebx, ==, 2);
    g_assert_cmphex(e->ecx, ==, 0x100);
    g_assert_cmphex(e->edx, ==, 5);
    e = leaf(t, 0xb, 1);
    g_assert_cmphex(e->eax, ==, 3);
    g_assert_cmphex(e->ebx, ==, 6);
    g_assert_cmphex(e->ecx, ==, 0x201);
    e = leaf(t, 0xb, 2);
    g_assert_cmphex(e->ecx, ==, 2);
    e = leaf(t, 0x80000008, 0);
    g_assert_cmphex(e->ecx & 0xff, ==, 5);
    g_assert_cmphex((e->ecx >> 12) & 0xf, ==, 3);
    e = leaf(t, 0x8000001e, 0);
    g_assert_cmphex(e->eax, ==, 5);
    g_assert_cmphex(e->ebx, ==, 0x102);

    build("host", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 1, 0)->edx & (1u << 28), ==, 0);
}

static void test_cpuid_overrides(void)
{
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);

    build("host,vendor=GenuineIntel,family=6,model=0x55,stepping=7,"
          "model-id=My CPU,kvm=off,level=0xb", 1, 1, 1, 0, t);
    g_assert_cmphex(leaf(t, 0, 0)->ebx, ==, ldl_le_p("Genu"));
    g_assert_cmphex(leaf(t, 0, 0)->eax, ==, 0xb);
    g_assert_cmphex(leaf(t, 1, 0)->eax, ==, 0x00050657);
    g_assert_cmphex(leaf(t, 0x80000002, 0)->eax, ==, ldl_le_p("My C"));
    g_assert_null(x86_cpuid_find_const((const struct kvm_cpuid2 *)t, 0x40000000, 0));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/topology/bitwidth", test_bitwidth);
    g_test_add_func("/x86/topology/flat", test_apicid_flat);
    g_test_add_func("/x86/topology/odd-counts", test_apicid_odd_counts);
    g_test_add_func("/x86/topology/dies", test_apicid_dies);
    g_test_add_func("/x86/topology/zero-fields",
                    test_zero_fields_count_as_one);
    g_test_add_func("/x86/cpu/parse-models", test_parse_models);
    g_test_add_func("/x86/cpu/parse-features", test_parse_features);
    g_test_add_func("/x86/cpu/parse-errors", test_parse_errors);
    g_test_add_func("/x86/cpu/help", test_help);
    g_test_add_func("/x86/cpuid/host", test_cpuid_host);
    g_test_add_func("/x86/cpuid/qemu64", test_cpuid_qemu64);
    g_test_add_func("/x86/cpuid/migratable", test_cpuid_migratable);
    g_test_add_func("/x86/cpuid/pmu", test_cpuid_pmu);
    g_test_add_func("/x86/cpuid/phys-bits", test_cpuid_phys_bits);
    g_test_add_func("/x86/cpuid/caches", test_cpuid_caches);
    g_test_add_func("/x86/cpu/legacy-cache", test_legacy_cache_prop);
    g_test_add_func("/x86/cpuid/tsc-leaf", test_cpuid_tsc_leaf);
    g_test_add_func("/x86/cpu/shape-prop-errors", test_shape_prop_errors);
    g_test_add_func("/x86/cpuid/enforce", test_cpuid_enforce);
    g_test_add_func("/x86/cpuid/topology", test_cpuid_topology);
    g_test_add_func("/x86/cpuid/overrides", test_cpuid_overrides);
    return g_test_run();
}
