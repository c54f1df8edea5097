/*
 * What KVM holds of a VM's state, in migration streams and snapshots:
 * two state handlers (include/migration/migration.h), saved after the
 * devices with the vCPUs stopped and loaded after them on the
 * destination before the vCPUs run.
 *
 * "kvm-vm" (the in-kernel devices; Linux api.rst KVM_GET/SET_IRQCHIP,
 * KVM_GET/SET_PIT2, KVM_GET/SET_CLOCK):
 *
 *     u8 kernel_irqchip mode (on, split, off: must match)
 *     with kernel_irqchip=on: struct kvm_irqchip for the master 8259,
 *         the slave 8259 and the I/O APIC, then struct kvm_pit_state2
 *     u8 has clock, then struct kvm_clock_data's clock (u64 ns)
 *
 * "kvm-vcpus" (every vCPU slot of -smp maxcpus):
 *
 *     u32 slots
 *     per slot: u8 present; if present: u8 halted, u8 wait-for-SIPI
 *         (kernel_irqchip=off: kvmpc's, not KVM's), u32 length, then
 *         x86_kvm_vcpu_save()'s sections (target/i386/kvm-state.c)
 *
 * The clock is set when the stream is loaded, so kvmclock continues
 * from the source's value: the guest sees the downtime, not a jump by
 * the time between the hosts' boots.
 */
#include "qemu/osdep.h"
#include "accel/kvm.h"
#include "migration/migration.h"
#include "target/i386/kvm-cpu.h"
#include "kvm-internal.h"
#include "qemu/byte-reader.h"

static void put_u8(GByteArray *out, uint8_t v)
{
    g_byte_array_append(out, &v, 1);
}

static void put_u32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];

    stl_le_p(b, v);
    g_byte_array_append(out, b, 4);
}

/* ---- kvm-vm ---- */

static const unsigned irqchip_ids[] = {
    KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC,
};

static bool vm_ioctl_ok(unsigned long req, void *arg, const char *name,
                        GError **errp)
{
    int ret = kvm_vm_ioctl(req, arg);

    if (ret < 0) {
        error_setg(errp, "kvm: %s failed: %s", name, strerror(-ret));
        return false;
    }
    return true;
}

static bool have_clock(void)
{
    return kvm_check_extension(KVM_CAP_ADJUST_CLOCK) > 0;
}

static bool vm_save(void *opaque, GByteArray *out, GError **errp)
{
    (void)opaque;
    put_u8(out, kvm_state.irqchip);
    if (kvm_state.irqchip == KERNEL_IRQCHIP_ON) {
        struct kvm_pit_state2 pit;

        for (unsigned i = 0; i < G_N_ELEMENTS(irqchip_ids); i++) {
            struct kvm_irqchip chip = { .chip_id = irqchip_ids[i] };

            if (!vm_ioctl_ok(KVM_GET_IRQCHIP, &chip, "KVM_GET_IRQCHIP",
                             errp)) {
                return false;
            }
            g_byte_array_append(out, (const uint8_t *)&chip, sizeof(chip));
        }
        if (!vm_ioctl_ok(KVM_GET_PIT2, &pit, "KVM_GET_PIT2", errp)) {
            return false;
        }
        g_byte_array_append(out, (const uint8_t *)&pit, sizeof(pit));
    }
    put_u8(out, have_clock());
    if (have_clock()) {
        struct kvm_clock_data clock = { 0 };
        uint8_t b[8];

        if (!vm_ioctl_ok(KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK", errp)) {
            return false;
        }
        stq_le_p(b, clock.clock);
        g_byte_array_append(out, b, 8);
    }
    return true;
}

static bool vm_load_irqchip(ByteReader *r, GError **errp)
{
    struct kvm_irqchip chips[G_N_ELEMENTS(irqchip_ids)];
    struct kvm_pit_state2 pit;

    for (unsigned i = 0; i < G_N_ELEMENTS(irqchip_ids); i++) {
        if (!br_copy(r, &chips[i], sizeof(chips[i])) ||
            chips[i].chip_id != irqchip_ids[i]) {
            error_setg(errp, "kvm-vm: in-kernel interrupt controller %u "
                       "truncated or out of order", i);
            return false;
        }
    }
    if (!br_copy(r, &pit, sizeof(pit))) {
        error_setg(errp, "kvm-vm: in-kernel PIT truncated");
        return false;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(chips); i++) {
        if (!vm_ioctl_ok(KVM_SET_IRQCHIP, &chips[i], "KVM_SET_IRQCHIP",
                         errp)) {
            return false;
        }
    }
    return vm_ioctl_ok(KVM_SET_PIT2, &pit, "KVM_SET_PIT2", errp);
}

static bool vm_load(void *opaque, int version, const uint8_t *buf,
                    size_t len, GError **errp)
{
    ByteReader r = byte_reader(buf, len);
    unsigned mode = br_u8(&r);

    (void)opaque;
    (void)version;
    if (r.bad || mode != kvm_state.irqchip) {
        error_setg(errp, "kvm-vm: the source ran kernel_irqchip mode %u, "
                   "this VM mode %u: start the destination with the same "
                   "-accel/-machine kernel_irqchip=", mode,
                   (unsigned)kvm_state.irqchip);
        return false;
    }
    if (mode == KERNEL_IRQCHIP_ON && !vm_load_irqchip(&r, errp)) {
        return false;
    }
    if (br_u8(&r)) {
        struct kvm_clock_data clock = { .clock = br_le64(&r) };

        if (r.bad) {
            error_setg(errp, "kvm-vm: clock truncated");
            return false;
        }
        if (have_clock() &&
            !vm_ioctl_ok(KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK", errp)) {
            return false;
        }
    }
    if (!br_done(&r)) {
        error_setg(errp, "kvm-vm: %zu bytes of state, %zu expected", len,
                   r.pos);
        return false;
    }
    return true;
}

/* ---- kvm-vcpus ---- */

static bool vcpus_save(void *opaque, GByteArray *out, GError **errp)
{
    const struct kvm_msr_list *msrs = kvm_state.msr_list;
    unsigned slots = kvm_vcpu_slots();

    (void)opaque;
    put_u32(out, slots);
    for (unsigned i = 0; i < slots; i++) {
        X86KvmVcpu *cpu = kvm_vcpu_x86(i);
        bool halted, wait_sipi;
        guint len_at;

        put_u8(out, cpu != NULL);
        if (!cpu) {
            continue;
        }
        kvm_vcpu_get_wait_state(i, &halted, &wait_sipi);
        put_u8(out, halted);
        put_u8(out, wait_sipi);
        len_at = out->len;
        put_u32(out, 0);
        if (!x86_kvm_vcpu_save(cpu, msrs ? msrs->indices : NULL,
                               msrs ? msrs->nmsrs : 0, out, errp)) {
            return false;
        }
        stl_le_p(out->data + len_at, out->len - len_at - 4);
    }
    return true;
}

static bool vcpus_load(void *opaque, int version, const uint8_t *buf,
                       size_t len, GError **errp)
{
    ByteReader r = byte_reader(buf, len);
    unsigned slots = br_le32(&r);

    (void)opaque;
    (void)version;
    if (r.bad || slots != kvm_vcpu_slots()) {
        error_setg(errp, "kvm-vcpus: %u CPU slots in the stream, %u here "
                   "(-smp must match)", slots, kvm_vcpu_slots());
        return false;
    }
    for (unsigned i = 0; i < slots; i++) {
        X86KvmVcpu *cpu = kvm_vcpu_x86(i);
        bool present = br_u8(&r);
        bool halted, wait_sipi;
        const uint8_t *state;
        uint32_t n;

        if (!r.bad && present != (cpu != NULL)) {
            error_setg(errp, "kvm-vcpus: CPU %u is %s in the stream but "
                       "not here", i, present ? "present" : "absent");
            return false;
        }
        if (!present) {
            continue;
        }
        halted = br_u8(&r);
        wait_sipi = br_u8(&r);
        n = br_le32(&r);
        state = br_take(&r, n);
        if (!state) {
            break;
        }
        if (!x86_kvm_vcpu_load(cpu, state, n, errp)) {
            return false;
        }
        kvm_vcpu_set_wait_state(i, halted, wait_sipi);
    }
    if (!br_done(&r)) {
        error_setg(errp, "kvm-vcpus: state truncated or too long (%zu "
                   "bytes)", len);
        return false;
    }
    return true;
}

static const MigrationStateHandler vm_handler = {
    .name = "kvm-vm", .version = 1, .save = vm_save, .load = vm_load,
};

static const MigrationStateHandler vcpus_handler = {
    .name = "kvm-vcpus", .version = 1, .save = vcpus_save,
    .load = vcpus_load,
};

void kvm_migration_init(void)
{
    /* the in-kernel devices first: the LAPICs' state refers to them */
    migration_register_state(&vm_handler);
    migration_register_state(&vcpus_handler);
}
