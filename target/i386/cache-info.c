/*
 * The cache and TLB leaves of a vCPU's CPUID: leaf 2 (descriptors), leaf 4
 * (deterministic cache parameters), 0x80000005/0x80000006 (AMD L1 and
 * L2/L3 cache and TLB) and 0x8000001d (AMD cache topology), as QEMU 7.2
 * reports them.
 *
 * Layouts: Intel SDM vol. 2A, CPUID, table 3-8 (leaf 2 descriptors in
 * table 3-12, leaf 4 fields) and AMD APM vol. 3 appendix E.4.4, E.4.5
 * and E.4.15 (0x80000005, 0x80000006 with its associativity code, and
 * 0x8000001d).
 *
 * What QEMU 7.2 does, learnt by running it (Debian's qemu-system-x86_64
 * with a BIOS that dumps CPUID, tests/qmp/test_cpu_leaves.py):
 *
 * - Four model families carry their own cache description: EPYC (and
 *   Dhyana, which has EPYC's), EPYC-Rome and EPYC-Milan.  For them
 *   legacy-cache defaults to off and every cache leaf describes the
 *   model's caches.  Every other model has legacy-cache on, and refuses
 *   legacy-cache=off ("CPU model 'qemu64' doesn't support
 *   legacy-cache=off").
 * - The "legacy" tables are three sets: leaf 2 (whose L2 is 2 MiB 8-way),
 *   leaf 4 (L2 4 MiB 16-way) and the AMD leaves (64 KiB 2-way L1s, a
 *   512 KiB 16-way L2); all three share the 16 MiB 16-way L3.
 * - Leaf 2 is EAX=1 (one call, no TLB descriptors), EBX 0, ECX the L3's
 *   descriptor, EDX L1d << 16 | L1i << 8 | L2; a geometry without a
 *   descriptor is 0xff ("use leaf 4").
 * - AMD vendors (AuthenticAMD, not Hygon) get leaves 2 and 4 all zero
 *   (QEMU's x-vendor-cpuid-only).  0x80000005/6 and 0x8000001d are
 *   filled for every vendor where xlevel reaches them (topoext or not).
 * - l3-cache=off removes the L3 from leaf 2 (ECX 0), leaf 4 (subleaf 3
 *   is the end of the list) and 0x80000006 EDX, but not from
 *   0x8000001d.
 * - host and max have host-cache-info off by default (QEMU's tables, as
 *   for any model without its own); host-cache-info=on passes the host's
 *   leaves 2, 4, 0x80000005, 0x80000006 and 0x8000001d through, with only
 *   leaf 4's core count (EAX 31:26) made the guest's.  l3-cache= and
 *   legacy-cache= do not change passed-through leaves.
 *
 * The sharing fields (leaf 4 and 0x8000001d EAX 25:14, leaf 4 EAX 31:26)
 * follow -smp; they are filled with the rest of the topology in cpu.c.
 */
#include "qemu/osdep.h"
#include "target/i386/cpu.h"

enum { CACHE_DATA = 1, CACHE_INST = 2, CACHE_UNIFIED = 3 };

typedef struct X86CacheInfo {
    uint8_t type, level;
    uint32_t size;              /* bytes */
    uint16_t line_size, ways, partitions, lines_per_tag;
    uint32_t sets;
    bool self_init;             /* leaf 4 EAX bit 8 */
    bool no_invd_sharing;       /* EDX bit 0: WBINVD may not reach lower
                                 * levels' sharers */
    bool inclusive;             /* EDX bit 1 */
    bool complex_indexing;      /* EDX bit 2 */
} X86CacheInfo;

typedef struct X86CacheSet {
    const X86CacheInfo *l1d, *l1i, *l2, *l3;
} X86CacheSet;

/* ---- QEMU's legacy tables ---- */

static const X86CacheInfo legacy_l1d = {
    .type = CACHE_DATA, .level = 1, .size = 32 * KiB, .line_size = 64,
    .ways = 8, .partitions = 1, .lines_per_tag = 1, .sets = 64,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo legacy_l1i = {
    .type = CACHE_INST, .level = 1, .size = 32 * KiB, .line_size = 64,
    .ways = 8, .partitions = 1, .lines_per_tag = 1, .sets = 64,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo legacy_l2_leaf4 = {
    .type = CACHE_UNIFIED, .level = 2, .size = 4 * MiB, .line_size = 64,
    .ways = 16, .partitions = 1, .lines_per_tag = 1, .sets = 4096,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo legacy_l2_leaf2 = {
    .type = CACHE_UNIFIED, .level = 2, .size = 2 * MiB, .line_size = 64,
    .ways = 8, .partitions = 1, .lines_per_tag = 1, .sets = 4096,
};
static const X86CacheInfo legacy_l3 = {
    .type = CACHE_UNIFIED, .level = 3, .size = 16 * MiB, .line_size = 64,
    .ways = 16, .partitions = 1, .lines_per_tag = 1, .sets = 16384,
    .self_init = true, .inclusive = true, .complex_indexing = true,
};
static const X86CacheInfo legacy_l1d_amd = {
    .type = CACHE_DATA, .level = 1, .size = 64 * KiB, .line_size = 64,
    .ways = 2, .partitions = 1, .lines_per_tag = 1, .sets = 512,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo legacy_l1i_amd = {
    .type = CACHE_INST, .level = 1, .size = 64 * KiB, .line_size = 64,
    .ways = 2, .partitions = 1, .lines_per_tag = 1, .sets = 512,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo legacy_l2_amd = {
    .type = CACHE_UNIFIED, .level = 2, .size = 512 * KiB, .line_size = 64,
    .ways = 16, .partitions = 1, .lines_per_tag = 1, .sets = 512,
};

static const X86CacheSet legacy_leaf2 = {
    &legacy_l1d, &legacy_l1i, &legacy_l2_leaf2, &legacy_l3 };
static const X86CacheSet legacy_leaf4 = {
    &legacy_l1d, &legacy_l1i, &legacy_l2_leaf4, &legacy_l3 };
static const X86CacheSet legacy_amd = {
    &legacy_l1d_amd, &legacy_l1i_amd, &legacy_l2_amd, &legacy_l3 };

/* ---- the models' own caches (AMD family 17h/19h parts) ---- */

static const X86CacheInfo zen_l1d = {
    .type = CACHE_DATA, .level = 1, .size = 32 * KiB, .line_size = 64,
    .ways = 8, .partitions = 1, .lines_per_tag = 1, .sets = 64,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo zen_l1i = {       /* Zen 2 and 3 */
    .type = CACHE_INST, .level = 1, .size = 32 * KiB, .line_size = 64,
    .ways = 8, .partitions = 1, .lines_per_tag = 1, .sets = 64,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo epyc_l1i = {      /* Zen 1: 64 KiB 4-way */
    .type = CACHE_INST, .level = 1, .size = 64 * KiB, .line_size = 64,
    .ways = 4, .partitions = 1, .lines_per_tag = 1, .sets = 256,
    .self_init = true, .no_invd_sharing = true,
};
static const X86CacheInfo zen_l2 = {
    .type = CACHE_UNIFIED, .level = 2, .size = 512 * KiB, .line_size = 64,
    .ways = 8, .partitions = 1, .lines_per_tag = 1, .sets = 1024,
};
static const X86CacheInfo epyc_l3 = {
    .type = CACHE_UNIFIED, .level = 3, .size = 8 * MiB, .line_size = 64,
    .ways = 16, .partitions = 1, .lines_per_tag = 1, .sets = 8192,
    .self_init = true, .inclusive = true, .complex_indexing = true,
};
static const X86CacheInfo rome_l3 = {
    .type = CACHE_UNIFIED, .level = 3, .size = 16 * MiB, .line_size = 64,
    .ways = 16, .partitions = 1, .lines_per_tag = 1, .sets = 16384,
    .self_init = true, .inclusive = true, .complex_indexing = true,
};
static const X86CacheInfo milan_l3 = {
    .type = CACHE_UNIFIED, .level = 3, .size = 32 * MiB, .line_size = 64,
    .ways = 16, .partitions = 1, .lines_per_tag = 1, .sets = 32768,
    .self_init = true, .inclusive = true, .complex_indexing = true,
};

static const X86CacheSet epyc_caches = {
    &zen_l1d, &epyc_l1i, &zen_l2, &epyc_l3 };
static const X86CacheSet rome_caches = {
    &zen_l1d, &zen_l1i, &zen_l2, &rome_l3 };
static const X86CacheSet milan_caches = {
    &zen_l1d, &zen_l1i, &zen_l2, &milan_l3 };

/* Model families (every -vN of them) with their own caches. */
static const struct {
    const char *family;
    const X86CacheSet *caches;
} model_caches[] = {
    { "EPYC", &epyc_caches },
    { "Dhyana", &epyc_caches },
    { "EPYC-Rome", &rome_caches },
    { "EPYC-Milan", &milan_caches },
};

/* "EPYC-Rome-v2" -> the "EPYC-Rome" entry; "EPYC-IBPB" (an alias, already
 * resolved to "EPYC-v2" by the caller) is not a family of its own. */
static const X86CacheSet *caches_of_model(const char *model)
{
    const char *v = strrchr(model, '-');
    size_t len = strlen(model);

    if (v && v[1] == 'v' && g_ascii_isdigit(v[2])) {
        len = v - model;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(model_caches); i++) {
        if (strlen(model_caches[i].family) == len &&
            !strncmp(model_caches[i].family, model, len)) {
            return model_caches[i].caches;
        }
    }
    return NULL;
}

bool x86_cpu_model_has_caches(const char *resolved_model)
{
    return caches_of_model(resolved_model) != NULL;
}

/* ---- leaf 2: descriptors ---- */

/* The cache descriptors of SDM table 3-12 that name one cache by its
 * geometry (the sectored ones, and those that describe two caches, are
 * left out: a lookup must find the unsectored descriptor, as QEMU does). */
static const struct {
    uint8_t desc, level, type;
    uint32_t size;
    uint16_t ways, line;
} descriptors[] = {
    { 0x06, 1, CACHE_INST, 8 * KiB, 4, 32 },
    { 0x08, 1, CACHE_INST, 16 * KiB, 4, 32 },
    { 0x09, 1, CACHE_INST, 32 * KiB, 4, 64 },
    { 0x0a, 1, CACHE_DATA, 8 * KiB, 2, 32 },
    { 0x0c, 1, CACHE_DATA, 16 * KiB, 4, 32 },
    { 0x0d, 1, CACHE_DATA, 16 * KiB, 4, 64 },
    { 0x0e, 1, CACHE_DATA, 24 * KiB, 6, 64 },
    { 0x1d, 2, CACHE_UNIFIED, 128 * KiB, 2, 64 },
    { 0x21, 2, CACHE_UNIFIED, 256 * KiB, 8, 64 },
    { 0x24, 2, CACHE_UNIFIED, 1 * MiB, 16, 64 },
    { 0x2c, 1, CACHE_DATA, 32 * KiB, 8, 64 },
    { 0x30, 1, CACHE_INST, 32 * KiB, 8, 64 },
    { 0x41, 2, CACHE_UNIFIED, 128 * KiB, 4, 32 },
    { 0x42, 2, CACHE_UNIFIED, 256 * KiB, 4, 32 },
    { 0x43, 2, CACHE_UNIFIED, 512 * KiB, 4, 32 },
    { 0x44, 2, CACHE_UNIFIED, 1 * MiB, 4, 32 },
    { 0x45, 2, CACHE_UNIFIED, 2 * MiB, 4, 32 },
    { 0x46, 3, CACHE_UNIFIED, 4 * MiB, 4, 64 },
    { 0x47, 3, CACHE_UNIFIED, 8 * MiB, 8, 64 },
    { 0x48, 2, CACHE_UNIFIED, 3 * MiB, 12, 64 },
    { 0x4a, 3, CACHE_UNIFIED, 6 * MiB, 12, 64 },
    { 0x4b, 3, CACHE_UNIFIED, 8 * MiB, 16, 64 },
    { 0x4c, 3, CACHE_UNIFIED, 12 * MiB, 12, 64 },
    { 0x4d, 3, CACHE_UNIFIED, 16 * MiB, 16, 64 },
    { 0x4e, 2, CACHE_UNIFIED, 6 * MiB, 24, 64 },
    { 0x60, 1, CACHE_DATA, 16 * KiB, 8, 64 },
    { 0x66, 1, CACHE_DATA, 8 * KiB, 4, 64 },
    { 0x67, 1, CACHE_DATA, 16 * KiB, 4, 64 },
    { 0x68, 1, CACHE_DATA, 32 * KiB, 4, 64 },
    { 0x78, 2, CACHE_UNIFIED, 1 * MiB, 4, 64 },
    { 0x7d, 2, CACHE_UNIFIED, 2 * MiB, 8, 64 },
    { 0x7f, 2, CACHE_UNIFIED, 512 * KiB, 2, 64 },
    { 0x80, 2, CACHE_UNIFIED, 512 * KiB, 8, 64 },
    { 0x82, 2, CACHE_UNIFIED, 256 * KiB, 8, 32 },
    { 0x83, 2, CACHE_UNIFIED, 512 * KiB, 8, 32 },
    { 0x84, 2, CACHE_UNIFIED, 1 * MiB, 8, 32 },
    { 0x85, 2, CACHE_UNIFIED, 2 * MiB, 8, 32 },
    { 0x86, 2, CACHE_UNIFIED, 512 * KiB, 4, 64 },
    { 0x87, 2, CACHE_UNIFIED, 1 * MiB, 8, 64 },
    { 0xd0, 3, CACHE_UNIFIED, 512 * KiB, 4, 64 },
    { 0xd1, 3, CACHE_UNIFIED, 1 * MiB, 4, 64 },
    { 0xd2, 3, CACHE_UNIFIED, 2 * MiB, 4, 64 },
    { 0xd6, 3, CACHE_UNIFIED, 1 * MiB, 8, 64 },
    { 0xd7, 3, CACHE_UNIFIED, 2 * MiB, 8, 64 },
    { 0xd8, 3, CACHE_UNIFIED, 4 * MiB, 8, 64 },
    { 0xe2, 3, CACHE_UNIFIED, 2 * MiB, 16, 64 },
    { 0xe3, 3, CACHE_UNIFIED, 4 * MiB, 16, 64 },
    { 0xea, 3, CACHE_UNIFIED, 12 * MiB, 24, 64 },
    { 0xeb, 3, CACHE_UNIFIED, 18 * MiB, 24, 64 },
    { 0xec, 3, CACHE_UNIFIED, 24 * MiB, 24, 64 },
};

#define NO_DESCRIPTOR 0xff      /* "no descriptor: use leaf 4" */

static uint8_t leaf2_descriptor(const X86CacheInfo *c)
{
    for (unsigned i = 0; i < ARRAY_SIZE(descriptors); i++) {
        if (descriptors[i].level == c->level &&
            descriptors[i].type == c->type &&
            descriptors[i].size == c->size &&
            descriptors[i].ways == c->ways &&
            descriptors[i].line == c->line_size) {
            return descriptors[i].desc;
        }
    }
    return NO_DESCRIPTOR;
}

/* ---- register encodings ---- */

/* EAX bits 8:0 and EBX/ECX/EDX of leaf 4 and 0x8000001d (the sharing
 * fields stay 0 for the topology code). */
static void encode_deterministic(const X86CacheInfo *c,
                                 struct kvm_cpuid_entry2 *e)
{
    e->eax = c->type | c->level << 5 | (c->self_init ? 1u << 8 : 0);
    e->ebx = (c->line_size - 1u) | (c->partitions - 1u) << 12 |
             (c->ways - 1u) << 22;
    e->ecx = c->sets - 1;
    e->edx = (c->no_invd_sharing ? 1u : 0) | (c->inclusive ? 2u : 0) |
             (c->complex_indexing ? 4u : 0);
}

/* 0x80000005 ECX/EDX: size in KiB, raw associativity, lines per tag,
 * line size. */
static uint32_t encode_amd_l1(const X86CacheInfo *c)
{
    return (uint32_t)(c->size / KiB) << 24 | (c->ways & 0xff) << 16 |
           (c->lines_per_tag & 0xff) << 8 | (c->line_size & 0xff);
}

/* The 4-bit associativity code of 0x80000006 (APM table E-4). */
static uint32_t amd_assoc_code(unsigned ways)
{
    static const struct { uint16_t ways; uint8_t code; } codes[] = {
        { 1, 1 }, { 2, 2 }, { 4, 4 }, { 8, 6 }, { 16, 8 }, { 32, 0xa },
        { 48, 0xb }, { 64, 0xc }, { 96, 0xd }, { 128, 0xe },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(codes); i++) {
        if (codes[i].ways == ways) {
            return codes[i].code;
        }
    }
    return 0;
}

static uint32_t encode_amd_l2(const X86CacheInfo *c)
{
    return (uint32_t)(c->size / KiB) << 16 |
           amd_assoc_code(c->ways) << 12 |
           (c->lines_per_tag & 0xf) << 8 | (c->line_size & 0xff);
}

static uint32_t encode_amd_l3(const X86CacheInfo *c)
{
    return (uint32_t)(c->size / (512 * KiB)) << 18 |
           amd_assoc_code(c->ways) << 12 |
           (c->lines_per_tag & 0xf) << 8 | (c->line_size & 0xff);
}

/* QEMU's TLB description (the same for every model): L1 TLBs of 255
 * entries, direct mapped, for 2M/4M and 4K pages (0x80000005 EAX/EBX);
 * no L2 TLB for large pages (0x80000006 EAX) and 512-entry 4-way L2 TLBs
 * for 4K pages (EBX). */
static uint32_t l1_tlb_word(void)
{
    const uint32_t assoc = 1, entries = 255;

    return assoc << 24 | entries << 16 | assoc << 8 | entries;
}

static uint32_t l2_tlb_4k_word(void)
{
    const uint32_t assoc = amd_assoc_code(4), entries = 512;

    return assoc << 28 | entries << 16 | assoc << 12 | entries;
}

/* ---- filling the leaves ---- */

static void build_leaf2(X86CPUIDTable *t, const X86CacheSet *s, bool amd,
                        bool l3)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_get_entry(t, 2, 0);

    if (!e) {
        return;
    }
    e->eax = e->ebx = e->ecx = e->edx = 0;
    if (amd) {
        return;
    }
    e->eax = 1;                         /* one call; no TLB descriptors */
    e->ecx = l3 ? leaf2_descriptor(s->l3) : 0;
    e->edx = leaf2_descriptor(s->l1d) << 16 | leaf2_descriptor(s->l1i) << 8 |
             leaf2_descriptor(s->l2);
}

/* Subleaves 0-3 (L1d, L1i, L2, L3) and the empty subleaf 4 that ends
 * the list; @l3 false ends it at subleaf 3. */
static void build_deterministic(X86CPUIDTable *t, uint32_t function,
                                const X86CacheSet *s, bool zero, bool l3)
{
    const X86CacheInfo *caches[] = { s->l1d, s->l1i, s->l2, s->l3 };

    x86_cpuid_remove_entries(t, function);
    for (unsigned i = 0; i <= ARRAY_SIZE(caches); i++) {
        struct kvm_cpuid_entry2 *e = x86_cpuid_get_entry(t, function, i);

        if (!e) {
            return;
        }
        e->eax = e->ebx = e->ecx = e->edx = 0;
        if (!zero && i < ARRAY_SIZE(caches) && (i < 3 || l3)) {
            encode_deterministic(caches[i], e);
        }
    }
}

static void build_amd_leaves(X86CPUIDTable *t, uint32_t xlevel,
                             const X86CacheSet *s, bool l3)
{
    struct kvm_cpuid_entry2 *e;

    if (xlevel >= 0x80000005 &&
        (e = x86_cpuid_get_entry(t, 0x80000005, 0))) {
        e->eax = e->ebx = l1_tlb_word();
        e->ecx = encode_amd_l1(s->l1d);
        e->edx = encode_amd_l1(s->l1i);
    }
    if (xlevel >= 0x80000006 &&
        (e = x86_cpuid_get_entry(t, 0x80000006, 0))) {
        e->eax = 0;
        e->ebx = l2_tlb_4k_word();
        e->ecx = encode_amd_l2(s->l2);
        e->edx = l3 ? encode_amd_l3(s->l3) : 0;
    }
}

static uint32_t leaf_eax(X86CPUIDTable *t, uint32_t function)
{
    const struct kvm_cpuid_entry2 *e =
        x86_cpuid_find(x86_cpuid_table_kvm(t), function, 0);

    return e ? e->eax : 0;
}

bool x86_cpu_cache_passthrough(const X86CPUConfig *cfg, bool from_host)
{
    return from_host && cfg->host_cache_info == 1;
}

void x86_cpu_build_cache_leaves(const X86CPUConfig *cfg,
                                const char *resolved_model, bool from_host,
                                X86CPUIDTable *t)
{
    const X86CacheSet *own = from_host ? NULL :
                             caches_of_model(resolved_model);
    bool legacy = cfg->legacy_cache < 0 ? !own : cfg->legacy_cache;
    const struct kvm_cpuid_entry2 *v =
        x86_cpuid_find(x86_cpuid_table_kvm(t), 0, 0);
    /* x-vendor-cpuid-only: AuthenticAMD only (Hygon gets leaves 2/4) */
    bool amd = v && v->ebx == 0x68747541;
    uint32_t level = leaf_eax(t, 0), xlevel = leaf_eax(t, 0x80000000);

    if (x86_cpu_cache_passthrough(cfg, from_host)) {
        return;                 /* the host's leaves, as KVM gave them */
    }
    if (level >= 2) {
        build_leaf2(t, legacy ? &legacy_leaf2 : own, amd, cfg->l3_cache);
    }
    if (level >= 4) {
        build_deterministic(t, 4, legacy ? &legacy_leaf4 : own, amd,
                            cfg->l3_cache);
    }
    build_amd_leaves(t, xlevel, legacy ? &legacy_amd : own, cfg->l3_cache);
    if (xlevel >= 0x8000001d) {
        /* the L3 stays here with l3-cache=off, as in QEMU 7.2 */
        build_deterministic(t, 0x8000001d, legacy ? &legacy_amd : own,
                            false, true);
    } else {
        x86_cpuid_remove_entries(t, 0x8000001d);
    }
}
