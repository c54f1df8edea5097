/*
 * The KVM accelerator: /dev/kvm, the VM, its capabilities and the in-kernel
 * irqchip and PIT.  Follows Linux Documentation/virt/kvm/api.rst.
 *
 * The host may be the "PVM" flavour of KVM (no VT-x/AMD-V in the guest's
 * view of hardware): every capability is checked at run time instead of
 * being assumed.
 */
#include "qemu/osdep.h"
#include "system/accel.h"
#include "accel/kvm.h"
#include "kvm-internal.h"
#include "target/i386/cpu.h"
#include <fcntl.h>
#include <sys/ioctl.h>

KvmState kvm_state = { .kvm_fd = -1, .vm_fd = -1 };
static bool kvm_vm_created;

int kvm_ioctl_fd(int fd, unsigned long request, void *arg)
{
    int ret;

    do {
        ret = ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

bool kvm_available(void)
{
    return access("/dev/kvm", R_OK | W_OK) == 0;
}

bool kvm_enabled(void)
{
    return kvm_vm_created;
}

int kvm_vm_fd(void)
{
    return kvm_state.vm_fd;
}

int kvm_vm_ioctl(unsigned long request, void *arg)
{
    if (kvm_state.vm_fd < 0) {
        return -EBADF;
    }
    return kvm_ioctl_fd(kvm_state.vm_fd, request, arg);
}

int kvm_check_extension(unsigned cap)
{
    int fd = kvm_state.vm_fd >= 0 ? kvm_state.vm_fd : kvm_state.kvm_fd;
    int ret;

    if (fd < 0) {
        return 0;
    }
    ret = ioctl(fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
    if (ret < 0 && fd == kvm_state.vm_fd) {
        /* very old kernels only answer on /dev/kvm */
        ret = ioctl(kvm_state.kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
    }
    return ret < 0 ? 0 : ret;
}

const struct kvm_cpuid2 *kvm_get_supported_cpuid(void)
{
    return kvm_vm_created ? kvm_state.supported_cpuid : NULL;
}

bool kvm_has_msr(uint32_t index)
{
    const struct kvm_msr_list *l = kvm_state.msr_list;

    for (unsigned i = 0; l && i < l->nmsrs; i++) {
        if (l->indices[i] == index) {
            return true;
        }
    }
    return false;
}

/* Capabilities kvmpc cannot run without (the irqchip's: see kvm-irq.c). */
static const struct {
    unsigned cap;
    const char *name;
} required_caps[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
    { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
    { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    { KVM_CAP_SYNC_MMU, "KVM_CAP_SYNC_MMU" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

static bool open_kvm(GError **errp)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int version;

    if (fd < 0) {
        error_setg(errp, "Could not access KVM kernel module: %s",
                   strerror(errno));
        return false;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        error_setg(errp, "KVM API version %d is not supported (kvmpc needs "
                   "%d)", version, KVM_API_VERSION);
        close(fd);
        return false;
    }
    kvm_state.kvm_fd = fd;
    return true;
}

static bool check_required_caps(GError **errp)
{
    for (unsigned i = 0; i < ARRAY_SIZE(required_caps); i++) {
        if (kvm_check_extension(required_caps[i].cap) <= 0) {
            g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_KVM_MISSING_CAP,
                        "kvm: host KVM lacks the required capability %s",
                        required_caps[i].name);
            return false;
        }
    }
    return true;
}

static int cap_or(unsigned cap, int fallback)
{
    int v = kvm_check_extension(cap);

    return v > 0 ? v : fallback;
}

static void read_optional_caps(void)
{
    KvmState *s = &kvm_state;

    /* api.rst: without NR_VCPUS assume 4; MAX_VCPUS defaults to NR_VCPUS */
    s->max_vcpus = cap_or(KVM_CAP_MAX_VCPUS, cap_or(KVM_CAP_NR_VCPUS, 4));
    s->max_vcpu_id = cap_or(KVM_CAP_MAX_VCPU_ID, s->max_vcpus);
    s->nr_slots = cap_or(KVM_CAP_NR_MEMSLOTS, 32);
    s->gsi_count = cap_or(KVM_CAP_IRQ_ROUTING, 24);
    s->readonly_mem = kvm_check_extension(KVM_CAP_READONLY_MEM) > 0;
    s->immediate_exit = kvm_check_extension(KVM_CAP_IMMEDIATE_EXIT) > 0;
    s->xsave = kvm_check_extension(KVM_CAP_XSAVE) > 0;
    s->xcrs = kvm_check_extension(KVM_CAP_XCRS) > 0;
    s->vcpu_events = kvm_check_extension(KVM_CAP_VCPU_EVENTS) > 0;
    s->debugregs = kvm_check_extension(KVM_CAP_DEBUGREGS) > 0;
}

static bool read_supported_cpuid(GError **errp)
{
    /* E2BIG means "more entries than that": grow until it fits */
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) +
                                         n * sizeof(struct kvm_cpuid_entry2));
        int ret;

        c->nent = n;
        ret = kvm_ioctl_fd(kvm_state.kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
        if (ret == 0) {
            kvm_state.supported_cpuid = c;
            return true;
        }
        g_free(c);
        if (ret != -E2BIG) {
            error_setg(errp, "kvm: KVM_GET_SUPPORTED_CPUID failed: %s",
                       strerror(-ret));
            return false;
        }
    }
    error_setg(errp, "kvm: KVM_GET_SUPPORTED_CPUID returned too many entries");
    return false;
}

static void read_msr_list(void)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    struct kvm_msr_list *l;

    /* the first call fails with E2BIG and reports the count */
    if (kvm_ioctl_fd(kvm_state.kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) !=
        -E2BIG || !probe.nmsrs) {
        return;
    }
    l = g_malloc0(sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
    l->nmsrs = probe.nmsrs;
    if (kvm_ioctl_fd(kvm_state.kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
        g_free(l);
        return;
    }
    kvm_state.msr_list = l;
}

/* The feature MSRs' host values (KVM_GET_MSRS on /dev/kvm, Linux
 * api.rst "KVM_CAP_GET_MSR_FEATURES"), which -cpu's MSR feature flags
 * (arch-capabilities' rdctl-no...) are checked against. */
static void read_feature_msrs(void)
{
    uint64_t values[X86_FEATURE_MSRS] = { 0 };

    if (kvm_check_extension(KVM_CAP_GET_MSR_FEATURES) > 0) {
        for (unsigned w = FEAT_FIRST_MSR; w < FEATURE_WORDS; w++) {
            struct {
                __u32 nmsrs;
                __u32 pad;
                struct kvm_msr_entry e;
            } m = { .nmsrs = 1, .e = { .index = x86_feature_msr_index(w) } };

            if (kvm_ioctl_fd(kvm_state.kvm_fd, KVM_GET_MSRS, &m) == 1) {
                values[w - FEAT_FIRST_MSR] = m.e.data;
            }
        }
    }
    x86_cpu_set_host_feature_msrs(values);
}

static bool create_vm(GError **errp)
{
    int fd = kvm_ioctl_fd(kvm_state.kvm_fd, KVM_CREATE_VM, 0);

    if (fd < 0) {
        error_setg(errp, "kvm: KVM_CREATE_VM failed: %s", strerror(-fd));
        return false;
    }
    kvm_state.vm_fd = fd;
    return true;
}

/*
 * VMX without unrestricted guest needs a TSS and an identity-map page
 * table in guest-physical space for real mode.  QEMU places them just
 * below the BIOS; so do we.  PVM accepts both ioctls; a kernel that says
 * ENOTTY/EINVAL for the identity map (AMD-only builds) is not fatal.
 */
static bool set_vm_special_addresses(GError **errp)
{
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;
    int ret;

    if (kvm_check_extension(KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        ret = kvm_vm_ioctl(KVM_SET_IDENTITY_MAP_ADDR, &identity);
        if (ret < 0 && ret != -ENOTTY && ret != -EINVAL) {
            error_setg(errp, "kvm: KVM_SET_IDENTITY_MAP_ADDR failed: %s",
                       strerror(-ret));
            return false;
        }
    }
    ret = kvm_ioctl_fd(kvm_state.vm_fd, KVM_SET_TSS_ADDR,
                       (void *)(uintptr_t)KVM_TSS_ADDR);
    if (ret < 0) {
        error_setg(errp, "kvm: KVM_SET_TSS_ADDR failed: %s", strerror(-ret));
        return false;
    }
    return true;
}

/*
 * While the HPET runs in legacy replacement mode it owns IRQ0; the
 * in-kernel PIT must stop delivering it (KVM_PIT_FLAGS_HPET_LEGACY).
 */
void kvm_pit_set_hpet_legacy(bool enable)
{
    struct kvm_pit_state2 st;

    if (kvm_vm_ioctl(KVM_GET_PIT2, &st) < 0) {
        return;
    }
    if (enable) {
        st.flags |= KVM_PIT_FLAGS_HPET_LEGACY;
    } else {
        st.flags &= ~KVM_PIT_FLAGS_HPET_LEGACY;
    }
    kvm_vm_ioctl(KVM_SET_PIT2, &st);
}

/* ---- port 0x61 beside the in-kernel PIT (-machine pcspk-audiodev=) ---- */

static bool pit_speaker_port;       /* port 0x61 exits to kvmpc */

bool kvm_pit_speaker_port(void)
{
    return pit_speaker_port;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* count_load_time is CLOCK_MONOTONIC (the kernel's ktime_get()). */
bool kvm_pit_get_channel2(KvmPitChannel2 *c)
{
    struct kvm_pit_state2 st;
    const struct kvm_pit_channel_state *ch = &st.channels[2];
    int64_t now;

    if (!pit_speaker_port || kvm_vm_ioctl(KVM_GET_PIT2, &st) < 0) {
        return false;
    }
    now = monotonic_ns();
    c->gate = ch->gate;
    c->mode = ch->mode > 5 && ch->mode < 8 ? ch->mode - 4 : ch->mode;
    c->running = c->mode <= 5;      /* 0xff: never programmed */
    c->count = ch->count ? ch->count : 65536;
    c->ticks = now > ch->count_load_time ?
               (unsigned __int128)(now - ch->count_load_time) * 1193182 /
               1000000000ull : 0;
    return true;
}

/*
 * Channel 2's gate (port 0x61 bit 0).  KVM_SET_PIT2 reloads every
 * channel's count from "now", as the rising edge restarts channel 2 in
 * modes 1, 2, 3 and 5; so the write is made only when the gate changes
 * (QEMU's in-kernel PIT does the same).
 */
void kvm_pit_set_channel2_gate(bool gate)
{
    struct kvm_pit_state2 st;

    if (!pit_speaker_port || kvm_vm_ioctl(KVM_GET_PIT2, &st) < 0 ||
        !!st.channels[2].gate == gate) {
        return;
    }
    st.channels[2].gate = gate;
    kvm_vm_ioctl(KVM_SET_PIT2, &st);
}

static bool create_in_kernel_pit(MachineState *ms, GError **errp)
{
    /*
     * The dummy speaker puts port 0x61 (PIT channel 2 gate and output) in
     * the kernel next to the PIT it reflects, so it costs no exit.  The
     * PC speaker's sound needs the port's writes: with pcspk-audiodev
     * (hw/audio/pcspk.c) they exit to kvmpc, as QEMU always has them.
     */
    struct kvm_pit_config config = { .flags = KVM_PIT_SPEAKER_DUMMY };
    int ret;

    if (ms && g_hash_table_lookup(ms->props, "pcspk-audiodev")) {
        config.flags = 0;
    }

    if (kvm_check_extension(KVM_CAP_PIT2) <= 0) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_KVM_MISSING_CAP,
                    "kvm: host KVM lacks the required capability "
                    "KVM_CAP_PIT2");
        return false;
    }
    ret = kvm_vm_ioctl(KVM_CREATE_PIT2, &config);
    if (ret < 0) {
        error_setg(errp, "kvm: KVM_CREATE_PIT2 failed: %s", strerror(-ret));
        return false;
    }
    pit_speaker_port = !(config.flags & KVM_PIT_SPEAKER_DUMMY);
    return true;
}

static void kvm_close_all(void)
{
    pit_speaker_port = false;
    if (kvm_state.vm_fd >= 0) {
        close(kvm_state.vm_fd);
        kvm_state.vm_fd = -1;
    }
    if (kvm_state.kvm_fd >= 0) {
        close(kvm_state.kvm_fd);
        kvm_state.kvm_fd = -1;
    }
    kvm_state.dirty_ring_size = 0;
    g_clear_pointer(&kvm_state.supported_cpuid, g_free);
    g_clear_pointer(&kvm_state.msr_list, g_free);
}

static bool kvm_init(MachineState *ms, GError **errp)
{
    kvm_state.irqchip = ms ? ms->kernel_irqchip : KERNEL_IRQCHIP_ON;
    if (!open_kvm(errp)) {
        return false;
    }
    if (!check_required_caps(errp) || !create_vm(errp) ||
        !kvm_dirty_ring_enable(ms ? ms->kvm_dirty_ring_size : 0, errp)) {
        goto fail;
    }
    read_optional_caps();
    read_msr_list();
    read_feature_msrs();
    if (!read_supported_cpuid(errp) ||
        !set_vm_special_addresses(errp)) {
        goto fail;
    }
    switch (kvm_state.irqchip) {
    case KERNEL_IRQCHIP_ON:
        if (!kvm_irqchip_init(errp) || !create_in_kernel_pit(ms, errp)) {
            goto fail;
        }
        break;
    case KERNEL_IRQCHIP_SPLIT:
        if (!kvm_irqchip_init_split(errp)) {
            goto fail;
        }
        break;
    default:
        if (!kvm_irqchip_init_off(errp)) {
            goto fail;
        }
        break;
    }
    kvm_memory_init();
    kvm_migration_init();
    kvm_vm_created = true;
    return true;

fail:
    kvm_close_all();
    return false;
}

/* GSIs reach KVM only when its irqchip has the PIC and IOAPIC. */
static void kvm_set_irq_hook(int gsi, int level)
{
    if (kvm_state.irqchip == KERNEL_IRQCHIP_ON) {
        kvm_set_irq(gsi, level);
    }
}

bool kvm_irqfds_enabled(void)
{
    return kvm_vm_created && kvm_state.irqchip != KERNEL_IRQCHIP_OFF;
}

static const AccelOps kvm_accel_ops = {
    .name = "kvm",
    .init = kvm_init,
    .create_vcpus = kvm_create_vcpus,
    .hotplug_vcpu = kvm_hotplug_vcpu,
    .unplug_vcpu = kvm_unplug_vcpu,
    .resume_vcpus = kvm_resume_vcpus,
    .pause_vcpus = kvm_pause_vcpus,
    .reset_vcpus = kvm_reset_vcpus,
    .set_irq = kvm_set_irq_hook,
    .shutdown = kvm_shutdown_vcpus,
};

static void __attribute__((constructor)) kvm_accel_register(void)
{
    accel_register(&kvm_accel_ops);
}
