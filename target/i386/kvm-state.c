/*
 * An x86 vCPU's state through KVM, saved and loaded for migration and
 * snapshots (include/target/i386/kvm-cpu.h: x86_kvm_vcpu_save/load).
 *
 * Linux Documentation/virt/kvm/api.rst: KVM_GET/SET_REGS, _SREGS,
 * _XSAVE (and _XSAVE2, KVM_CAP_XSAVE2), _FPU, _XCRS, _MSRS, _LAPIC,
 * _VCPU_EVENTS, _DEBUGREGS, _MP_STATE.  The structures are KVM's x86-64
 * ABI, so they travel as KVM lays them out, each in a section:
 *
 *     u8 kind, u32 length, length bytes
 *
 * and a section of the wrong length for this host's structure refuses
 * the load before anything is set.  MSRs are a list of (u32 index, u64
 * value) pairs: the entries of KVM_GET_MSR_INDEX_LIST ("MSRs to save")
 * that this vCPU has (one its CPUID lacks fails to read and is left
 * out).
 *
 * The TSC rate (KVM_GET_TSC_KHZ) travels too, as QEMU's does: a
 * destination whose TSC runs at another rate scales the guest's to the
 * saved one where KVM can (KVM_CAP_TSC_CONTROL), and otherwise warns, as
 * QEMU does, and runs on (the guest's clock then drifts).  A stream
 * without it (an older kvmpc's) loads as before.
 *
 * The load order is the one KVM needs: the general and system registers
 * first (EFER, CR0/CR4 and the APIC base decide what the rest mean), the
 * XSAVE area and XCRs, the MSRs (the TSC, kvmclock's, SYSCALL's), then
 * the MP state and the LAPIC, and last the pending events, which refer
 * to all of these.
 */
#include "qemu/osdep.h"
#include "target/i386/kvm-cpu.h"
#include "accel/kvm.h"
#include <linux/kvm.h>

enum {
    SEC_REGS = 1,
    SEC_SREGS,
    SEC_XSAVE,
    SEC_FPU,
    SEC_XCRS,
    SEC_MSRS,
    SEC_MP_STATE,
    SEC_LAPIC,
    SEC_EVENTS,
    SEC_DEBUGREGS,
    SEC_TSC_KHZ,                /* u32: the rate the guest's TSC runs at */
    SEC__MAX,
};

static const char *const sec_names[SEC__MAX] = {
    [SEC_REGS] = "registers", [SEC_SREGS] = "system registers",
    [SEC_XSAVE] = "XSAVE area", [SEC_FPU] = "FPU", [SEC_XCRS] = "XCRs",
    [SEC_MSRS] = "MSRs", [SEC_MP_STATE] = "MP state", [SEC_LAPIC] = "LAPIC",
    [SEC_EVENTS] = "events", [SEC_DEBUGREGS] = "debug registers",
    [SEC_TSC_KHZ] = "TSC rate",
};

#define MSR_BATCH 64

/* KVM_GET_XSAVE2's size when the guest state outgrows struct kvm_xsave
 * (AMX), else the struct's. */
static size_t xsave_size(void)
{
    int n = kvm_check_extension(KVM_CAP_XSAVE2);

    return n > (int)sizeof(struct kvm_xsave) ? (size_t)n
                                             : sizeof(struct kvm_xsave);
}

static void put_section(GByteArray *out, uint8_t kind, const void *p,
                        size_t len)
{
    uint8_t hdr[5] = { kind };

    stl_le_p(hdr + 1, len);
    g_byte_array_append(out, hdr, sizeof(hdr));
    g_byte_array_append(out, p, len);
}

/* Get one structure with @req and put it in a section. */
static bool save_struct(const X86KvmVcpu *cpu, GByteArray *out, uint8_t kind,
                        unsigned long req, const char *name, size_t size,
                        GError **errp)
{
    g_autofree void *p = g_malloc0(size);

    if (!x86_kvm_vcpu_ioctl_ok(cpu, req, p, name, errp)) {
        return false;
    }
    put_section(out, kind, p, size);
    return true;
}

/* The MSRs of @msrs this vCPU has, read MSR_BATCH at a time; KVM stops a
 * batch at the first one it refuses, which is skipped. */
static bool save_msrs(const X86KvmVcpu *cpu, const uint32_t *msrs,
                      unsigned nmsrs, GByteArray *out, GError **errp)
{
    g_autofree struct kvm_msrs *m =
        g_malloc0(sizeof(*m) + MSR_BATCH * sizeof(m->entries[0]));
    g_autoptr(GByteArray) list = g_byte_array_new();
    unsigned i = 0;

    while (i < nmsrs) {
        unsigned batch = MIN(nmsrs - i, MSR_BATCH);
        int got;

        m->nmsrs = batch;
        for (unsigned k = 0; k < batch; k++) {
            m->entries[k] = (struct kvm_msr_entry){ .index = msrs[i + k] };
        }
        got = x86_kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, m);
        if (got < 0) {
            error_setg(errp, "kvm: KVM_GET_MSRS on CPU %u failed: %s",
                       cpu->index, strerror(-got));
            return false;
        }
        for (int k = 0; k < got; k++) {
            uint8_t e[12];

            stl_le_p(e, m->entries[k].index);
            stq_le_p(e + 4, m->entries[k].data);
            g_byte_array_append(list, e, sizeof(e));
        }
        i += got;
        if ((unsigned)got < batch) {
            i++;                /* not this vCPU's: leave it out */
        }
    }
    put_section(out, SEC_MSRS, list->data, list->len);
    return true;
}

/* The TSC rate, where KVM tells it. */
static void save_tsc_rate(const X86KvmVcpu *cpu, GByteArray *out)
{
    uint8_t khz[4];
    int r;

    if (kvm_check_extension(KVM_CAP_GET_TSC_KHZ) <= 0 ||
        (r = x86_kvm_vcpu_ioctl(cpu, KVM_GET_TSC_KHZ, NULL)) <= 0) {
        return;
    }
    stl_le_p(khz, r);
    put_section(out, SEC_TSC_KHZ, khz, sizeof(khz));
}

bool x86_kvm_vcpu_save(const X86KvmVcpu *cpu, const uint32_t *msrs,
                       unsigned nmsrs, GByteArray *out, GError **errp)
{
    bool xsave = kvm_check_extension(KVM_CAP_XSAVE) > 0;
    bool xsave2 = xsave_size() > sizeof(struct kvm_xsave);

    if (!save_struct(cpu, out, SEC_REGS, KVM_GET_REGS, "KVM_GET_REGS",
                     sizeof(struct kvm_regs), errp) ||
        !save_struct(cpu, out, SEC_SREGS, KVM_GET_SREGS, "KVM_GET_SREGS",
                     sizeof(struct kvm_sregs), errp)) {
        return false;
    }
    if (xsave ? !save_struct(cpu, out, SEC_XSAVE,
                             xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
                             "KVM_GET_XSAVE", xsave_size(), errp)
              : !save_struct(cpu, out, SEC_FPU, KVM_GET_FPU, "KVM_GET_FPU",
                             sizeof(struct kvm_fpu), errp)) {
        return false;
    }
    if (kvm_check_extension(KVM_CAP_XCRS) > 0) {
        struct kvm_xcrs xcrs = { 0 };

        /* a guest without XSAVE has no XCRs: KVM says so with an error */
        if (x86_kvm_vcpu_ioctl(cpu, KVM_GET_XCRS, &xcrs) >= 0) {
            put_section(out, SEC_XCRS, &xcrs, sizeof(xcrs));
        }
    }
    if (!save_msrs(cpu, msrs, nmsrs, out, errp)) {
        return false;
    }
    if (cpu->kernel_lapic &&
        (!save_struct(cpu, out, SEC_MP_STATE, KVM_GET_MP_STATE,
                      "KVM_GET_MP_STATE", sizeof(struct kvm_mp_state),
                      errp) ||
         !save_struct(cpu, out, SEC_LAPIC, KVM_GET_LAPIC, "KVM_GET_LAPIC",
                      sizeof(struct kvm_lapic_state), errp))) {
        return false;
    }
    if (kvm_check_extension(KVM_CAP_VCPU_EVENTS) > 0 &&
        !save_struct(cpu, out, SEC_EVENTS, KVM_GET_VCPU_EVENTS,
                     "KVM_GET_VCPU_EVENTS", sizeof(struct kvm_vcpu_events),
                     errp)) {
        return false;
    }
    if (kvm_check_extension(KVM_CAP_DEBUGREGS) > 0 &&
        !save_struct(cpu, out, SEC_DEBUGREGS, KVM_GET_DEBUGREGS,
                     "KVM_GET_DEBUGREGS", sizeof(struct kvm_debugregs),
                     errp)) {
        return false;
    }
    save_tsc_rate(cpu, out);
    return true;
}

/* ---- load ---- */

typedef struct Sections {
    const uint8_t *p[SEC__MAX];
    uint32_t len[SEC__MAX];
} Sections;

/* What this host's KVM gives for @kind (0: not here). */
static size_t expected_size(const X86KvmVcpu *cpu, unsigned kind)
{
    switch (kind) {
    case SEC_REGS:      return sizeof(struct kvm_regs);
    case SEC_SREGS:     return sizeof(struct kvm_sregs);
    case SEC_XSAVE:
        return kvm_check_extension(KVM_CAP_XSAVE) > 0 ? xsave_size() : 0;
    case SEC_FPU:
        return kvm_check_extension(KVM_CAP_XSAVE) > 0
               ? 0 : sizeof(struct kvm_fpu);
    case SEC_XCRS:
        return kvm_check_extension(KVM_CAP_XCRS) > 0
               ? sizeof(struct kvm_xcrs) : 0;
    case SEC_MP_STATE:
        return cpu->kernel_lapic ? sizeof(struct kvm_mp_state) : 0;
    case SEC_LAPIC:
        return cpu->kernel_lapic ? sizeof(struct kvm_lapic_state) : 0;
    case SEC_EVENTS:
        return kvm_check_extension(KVM_CAP_VCPU_EVENTS) > 0
               ? sizeof(struct kvm_vcpu_events) : 0;
    case SEC_DEBUGREGS:
        return kvm_check_extension(KVM_CAP_DEBUGREGS) > 0
               ? sizeof(struct kvm_debugregs) : 0;
    case SEC_TSC_KHZ:
        return 4;
    }
    return 0;
}

static bool parse_sections(const X86KvmVcpu *cpu, const uint8_t *buf,
                           size_t len, Sections *s, GError **errp)
{
    size_t pos = 0;

    memset(s, 0, sizeof(*s));
    while (pos < len) {
        unsigned kind;
        uint32_t n;
        size_t want;

        if (len - pos < 5) {
            error_setg(errp, "CPU %u: truncated state", cpu->index);
            return false;
        }
        kind = buf[pos];
        n = ldl_le_p(buf + pos + 1);
        pos += 5;
        if (kind == 0 || kind >= SEC__MAX || s->p[kind]) {
            error_setg(errp, "CPU %u: unknown or repeated state section %u",
                       cpu->index, kind);
            return false;
        }
        if (n > len - pos) {
            error_setg(errp, "CPU %u: %s: truncated", cpu->index,
                       sec_names[kind]);
            return false;
        }
        want = kind == SEC_MSRS ? n - n % 12 : expected_size(cpu, kind);
        if (n != want) {
            error_setg(errp, "CPU %u: %s of %u bytes, this host's KVM has "
                       "%zu (a different kernel or configuration)",
                       cpu->index, sec_names[kind], n, want);
            return false;
        }
        s->p[kind] = buf + pos;
        s->len[kind] = n;
        pos += n;
    }
    for (unsigned kind = SEC_REGS; kind < SEC__MAX; kind++) {
        bool needed = kind == SEC_MSRS ||
                      (expected_size(cpu, kind) && kind != SEC_XCRS &&
                       kind != SEC_TSC_KHZ);

        if (needed && !s->p[kind]) {
            error_setg(errp, "CPU %u: the %s are missing from the stream",
                       cpu->index, sec_names[kind]);
            return false;
        }
    }
    return true;
}

static bool load_struct(const X86KvmVcpu *cpu, const Sections *s,
                        unsigned kind, unsigned long req, const char *name,
                        GError **errp)
{
    g_autofree void *p = NULL;

    if (!s->p[kind]) {
        return true;
    }
    p = g_memdup2(s->p[kind], s->len[kind]);    /* aligned for KVM */
    return x86_kvm_vcpu_ioctl_ok(cpu, req, p, name, errp);
}

/* Does the vCPU's MSR @e->index read as @e->data already? */
static bool msr_already(const X86KvmVcpu *cpu, const struct kvm_msr_entry *e)
{
    struct {
        __u32 nmsrs;
        __u32 pad;
        struct kvm_msr_entry e;
    } m = { .nmsrs = 1, .e = { .index = e->index } };

    return x86_kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &m) == 1 &&
           m.e.data == e->data;
}

/* Set the saved MSRs; one KVM refuses is reported (unless it holds the
 * value already: KVM refuses some writes it has no use for, e.g. the
 * async page fault vector without an in-kernel LAPIC) and the rest are
 * still set. */
static void load_msrs(const X86KvmVcpu *cpu, const Sections *s)
{
    unsigned n = s->len[SEC_MSRS] / 12, i = 0;
    g_autofree struct kvm_msrs *m =
        g_malloc0(sizeof(*m) + MSR_BATCH * sizeof(m->entries[0]));

    while (i < n) {
        unsigned batch = MIN(n - i, MSR_BATCH);
        int set;

        m->nmsrs = batch;
        for (unsigned k = 0; k < batch; k++) {
            const uint8_t *e = s->p[SEC_MSRS] + (i + k) * 12;

            m->entries[k] = (struct kvm_msr_entry){
                .index = ldl_le_p(e), .data = ldq_le_p(e + 4),
            };
        }
        set = x86_kvm_vcpu_ioctl(cpu, KVM_SET_MSRS, m);
        if (set < 0) {
            set = 0;
        }
        i += set;
        if ((unsigned)set < batch && !msr_already(cpu, &m->entries[set])) {
            error_report("kvm: CPU %u: MSR 0x%x = 0x%" PRIx64 " from the "
                         "migration stream was refused", cpu->index,
                         m->entries[set].index,
                         (uint64_t)m->entries[set].data);
        }
        if ((unsigned)set < batch) {
            i++;
        }
    }
}

/* The saved value of MSR @index, false when the stream has none. */
static bool saved_msr(const Sections *s, uint32_t index, uint64_t *value)
{
    for (unsigned i = 0; i < s->len[SEC_MSRS] / 12; i++) {
        const uint8_t *e = s->p[SEC_MSRS] + i * 12;

        if (ldl_le_p(e) == index) {
            *value = ldq_le_p(e + 4);
            return true;
        }
    }
    return false;
}

/*
 * Run the guest's TSC at the saved rate: scaled where KVM can, else a
 * warning (once) when the rates differ, as QEMU: the guest runs on.
 */
static void load_tsc_rate(const X86KvmVcpu *cpu, const Sections *s)
{
    static bool warned;
    uint32_t want;
    int cur;

    if (!s->p[SEC_TSC_KHZ]) {
        return;
    }
    want = ldl_le_p(s->p[SEC_TSC_KHZ]);
    cur = kvm_check_extension(KVM_CAP_GET_TSC_KHZ) > 0
          ? x86_kvm_vcpu_ioctl(cpu, KVM_GET_TSC_KHZ, NULL) : -ENOTSUP;
    if (cur > 0 && (uint32_t)cur == want) {
        return;
    }
    if (kvm_check_extension(KVM_CAP_TSC_CONTROL) > 0 &&
        x86_kvm_vcpu_ioctl(cpu, KVM_SET_TSC_KHZ,
                           (void *)(uintptr_t)want) == 0) {
        return;
    }
    if (!warned) {
        warned = true;
        error_report("warning: TSC frequency mismatch between VM (%u kHz) "
                     "and host (%d kHz), and TSC scaling unavailable", want,
                     cur);
    }
}

/*
 * Put the guest's TSC back where the stream left it.  Writing the TSC MSR
 * is not enough: KVM takes a host write within a second of the value it
 * expects (the last write plus the time since) as an attempt to
 * synchronise vCPUs and keeps its own offset (x86.c, kvm_synchronize_tsc),
 * so a snapshot loaded soon after it was taken, or a destination started
 * just before the stream, would keep running the TSC from where it is.
 * The vCPU's TSC offset attribute (KVM_VCPU_TSC_CTRL, Linux 5.16) moves
 * it by exactly what is missing; without it the MSR write stands.
 */
static void restore_tsc(const X86KvmVcpu *cpu, const Sections *s)
{
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
    };
    struct {
        __u32 nmsrs;
        __u32 pad;
        struct kvm_msr_entry e;
    } m = { .nmsrs = 1, .e = { .index = MSR_IA32_TSC } };
    uint64_t want, offset;

    if (!saved_msr(s, MSR_IA32_TSC, &want) ||
        x86_kvm_vcpu_ioctl(cpu, KVM_HAS_DEVICE_ATTR, &attr) < 0) {
        return;
    }
    attr.addr = (uintptr_t)&offset;
    if (x86_kvm_vcpu_ioctl(cpu, KVM_GET_DEVICE_ATTR, &attr) < 0 ||
        x86_kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &m) != 1) {
        return;
    }
    offset += want - m.e.data;
    if (x86_kvm_vcpu_ioctl(cpu, KVM_SET_DEVICE_ATTR, &attr) < 0) {
        error_report("kvm: CPU %u: the TSC could not be restored",
                     cpu->index);
    }
}

bool x86_kvm_vcpu_load(const X86KvmVcpu *cpu, const uint8_t *buf,
                       size_t len, GError **errp)
{
    Sections s;
    bool xsave2 = xsave_size() > sizeof(struct kvm_xsave);

    if (!parse_sections(cpu, buf, len, &s, errp)) {
        return false;
    }
    if (!load_struct(cpu, &s, SEC_SREGS, KVM_SET_SREGS, "KVM_SET_SREGS",
                     errp) ||
        !load_struct(cpu, &s, SEC_REGS, KVM_SET_REGS, "KVM_SET_REGS", errp) ||
        !load_struct(cpu, &s, SEC_XSAVE, KVM_SET_XSAVE,
                     xsave2 ? "KVM_SET_XSAVE (XSAVE2 size)" : "KVM_SET_XSAVE",
                     errp) ||
        !load_struct(cpu, &s, SEC_FPU, KVM_SET_FPU, "KVM_SET_FPU", errp) ||
        !load_struct(cpu, &s, SEC_XCRS, KVM_SET_XCRS, "KVM_SET_XCRS",
                     errp)) {
        return false;
    }
    load_tsc_rate(cpu, &s);
    load_msrs(cpu, &s);
    restore_tsc(cpu, &s);
    return load_struct(cpu, &s, SEC_MP_STATE, KVM_SET_MP_STATE,
                       "KVM_SET_MP_STATE", errp) &&
           load_struct(cpu, &s, SEC_LAPIC, KVM_SET_LAPIC, "KVM_SET_LAPIC",
                       errp) &&
           load_struct(cpu, &s, SEC_EVENTS, KVM_SET_VCPU_EVENTS,
                       "KVM_SET_VCPU_EVENTS", errp) &&
           load_struct(cpu, &s, SEC_DEBUGREGS, KVM_SET_DEBUGREGS,
                       "KVM_SET_DEBUGREGS", errp);
}
