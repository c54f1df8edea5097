/*
 * vmport: the VMware "backdoor" I/O port, which QEMU's pc and q35 machines
 * have by default (-machine vmport=auto|on|off; auto is on, as QEMU's
 * away from Xen).  VMware-aware guest software probes it (open-vm-tools'
 * detection, installers that look for a hypervisor), and libvirt needs
 * the type to accept <vmport state='off'/>, which virt-manager writes
 * into every domain with SPICE graphics.
 *
 * Protocol (VMware's backdoor interface; behaviour as QEMU 7.2's, checked
 * against it with tests/guest/vmport.c): a 32-bit IN from port 0x5658
 * with EAX = 0x564D5868 ("VMXh") runs the command in CX and answers in
 * EAX, EBX, ECX and EDX.
 *   GETVERSION (10)    EAX 6, EBX the magic, ECX the VMX type (2)
 *   GETBIOSUUID (19)   the UUID's bytes 0-15 in EAX, EBX, ECX, EDX
 *                      (little-endian dwords; zeros without -uuid)
 *   GETRAMSIZE (20)    EAX the RAM size in bytes (low 32 bits), EBX
 *                      0x1177
 *   GETHZ (45)         EAX/EBX the vCPU's TSC frequency in Hz (low and
 *                      high half), ECX the APIC bus frequency (1 GHz,
 *                      KVM's)
 *   GET_VCPU_INFO (68) EAX bit 3 (legacy x2APIC) when the vCPU's CPUID
 *                      has x2APIC
 * Any other command, a wrong magic, or a read other than 32 bits answers
 * EAX = all ones and leaves the other registers alone.  Other devices add
 * commands with vmport_register_command() (include/hw/i386/vmport.h): the
 * vmmouse's 39-41 (hw/input/vmmouse.c), as QEMU's vmport_register().
 *
 * The registers are the vCPU's (kvm_current_x86_vcpu, KVM_GET_REGS and
 * KVM_SET_REGS while KVM waits for the IN's data, as QEMU does); EAX goes
 * back both ways, in the registers and as the IN's data.  Reads without a vCPU (qtest) get all ones.
 * The device has no state of its own to migrate.
 */
#include "qemu/osdep.h"
#include "accel/kvm.h"
#include "hw/boards.h"
#include "hw/isa.h"
#include "hw/i386/vmport.h"
#include "target/i386/cpu.h"
#include "target/i386/kvm-cpu.h"

#define VMPORT_PORT             0x5658
#define VMPORT_MAGIC            0x564d5868u
#define VMPORT_VERSION          6
#define VMPORT_VMX_TYPE         2
#define VMPORT_RAMSIZE_EBX      0x1177
#define VMPORT_APIC_BUS_HZ      1000000000u     /* KVM's LAPIC timer base */

enum {
    VMPORT_CMD_GETVERSION = 10,
    VMPORT_CMD_GETBIOSUUID = 19,
    VMPORT_CMD_GETRAMSIZE = 20,
    VMPORT_CMD_GETHZ = 45,
    VMPORT_CMD_GET_VCPU_INFO = 68,
};

#define VCPU_INFO_LEGACY_X2APIC (1u << 3)
#define CPUID_1_ECX_X2APIC      (1u << 21)

/* Commands other devices register; the built-in ones are below 0x50
 * (GET_VCPU_INFO 68), so a small table covers them all. */
#define VMPORT_ENTRIES          0x50

typedef struct VmportCommand {
    VmportCommandFn *fn;
    void *opaque;
} VmportCommand;

typedef struct VmportState {
    ISADevice parent;
    VmportCommand extra[VMPORT_ENTRIES];
    MemoryRegion io;
    bool vcpu_info_known;       /* under the big lock, as every exit */
    uint32_t vcpu_info;
} VmportState;

/* The machine's one port, for vmport_register_command (NULL without). */
static VmportState *vmport_instance;

bool vmport_register_command(unsigned cmd, VmportCommandFn *fn, void *opaque)
{
    VmportState *s = vmport_instance;

    if (!s || cmd >= VMPORT_ENTRIES || s->extra[cmd].fn) {
        return false;
    }
    s->extra[cmd] = (VmportCommand) { fn, opaque };
    return true;
}

bool vmport_run_registered(VmportRegs *r)
{
    VmportState *s = vmport_instance;
    unsigned cmd = r->ecx & 0xffff;

    if (!s || cmd >= VMPORT_ENTRIES || !s->extra[cmd].fn) {
        return false;
    }
    s->extra[cmd].fn(s->extra[cmd].opaque, r);
    return true;
}

void vmport_unregister_command(unsigned cmd)
{
    if (vmport_instance && cmd < VMPORT_ENTRIES) {
        vmport_instance->extra[cmd] = (VmportCommand) { NULL, NULL };
    }
}

static void vmport_uuid(VmportRegs *r)
{
    const uint8_t *u = current_machine->uuid;

    r->eax = ldl_le_p(u);
    r->ebx = ldl_le_p(u + 4);
    r->ecx = ldl_le_p(u + 8);
    r->edx = ldl_le_p(u + 12);
}

static void vmport_hz(const X86KvmVcpu *cpu, VmportRegs *r)
{
    int khz = x86_kvm_vcpu_ioctl(cpu, KVM_GET_TSC_KHZ, NULL);
    uint64_t hz = khz > 0 ? (uint64_t)khz * 1000 : 0;

    r->eax = (uint32_t)hz;
    r->ebx = hz >> 32;
    r->ecx = VMPORT_APIC_BUS_HZ;
}

/* Every vCPU has the same -cpu, so the answer is worked out once (the
 * first GET_VCPU_INFO, on a vCPU thread) rather than on every exit. */
static uint32_t vmport_vcpu_info(VmportState *s, const X86KvmVcpu *cpu)
{
    g_autofree X86CPUIDTable *t = NULL;
    const struct kvm_cpuid_entry2 *l1;

    if (s->vcpu_info_known) {
        return s->vcpu_info;
    }
    t = g_new0(X86CPUIDTable, 1);
    if (x86_cpu_build_for_index(cpu->index, t, NULL)) {
        l1 = x86_cpuid_find_const(x86_cpuid_table_kvm(t), 1, 0);
        s->vcpu_info = l1 && (l1->ecx & CPUID_1_ECX_X2APIC)
                       ? VCPU_INFO_LEGACY_X2APIC : 0;
    }
    s->vcpu_info_known = true;
    return s->vcpu_info;
}

/* Runs the command in @r; false for one it does not know. */
static bool vmport_command(VmportState *s, const X86KvmVcpu *cpu,
                           VmportRegs *r)
{
    if (vmport_run_registered(r)) {
        return true;
    }
    switch (r->ecx & 0xffff) {
    case VMPORT_CMD_GETVERSION:
        r->eax = VMPORT_VERSION;
        r->ebx = VMPORT_MAGIC;
        r->ecx = VMPORT_VMX_TYPE;
        return true;
    case VMPORT_CMD_GETBIOSUUID:
        vmport_uuid(r);
        return true;
    case VMPORT_CMD_GETRAMSIZE:
        r->eax = (uint32_t)current_machine->ram_size;
        r->ebx = VMPORT_RAMSIZE_EBX;
        return true;
    case VMPORT_CMD_GETHZ:
        vmport_hz(cpu, r);
        return true;
    case VMPORT_CMD_GET_VCPU_INFO:
        r->eax = vmport_vcpu_info(s, cpu);
        return true;
    default:
        return false;
    }
}

static uint64_t vmport_read(void *opaque, uint64_t addr, unsigned size)
{
    X86KvmVcpu *cpu = kvm_current_x86_vcpu();
    struct kvm_regs regs;
    VmportRegs r;

    if (addr || size != 4 || !cpu ||
        x86_kvm_vcpu_ioctl(cpu, KVM_GET_REGS, &regs) < 0 ||
        (uint32_t)regs.rax != VMPORT_MAGIC) {
        return UINT32_MAX;
    }
    r = (VmportRegs) { (uint32_t)regs.rax, (uint32_t)regs.rbx,
                       (uint32_t)regs.rcx, (uint32_t)regs.rdx,
                       (uint32_t)regs.rsi, (uint32_t)regs.rdi };
    if (!vmport_command(opaque, cpu, &r)) {
        return UINT32_MAX;
    }
    /* 32-bit results zero-extend, as a 32-bit register write does.  EAX
     * is the IN's data too; KVM may or may not complete the IN after a
     * KVM_SET_REGS in the middle of it (this host's does not), so it is
     * set here as well, to the same value. */
    regs.rax = r.eax;
    regs.rbx = r.ebx;
    regs.rcx = r.ecx;
    regs.rdx = r.edx;
    regs.rsi = r.esi;
    regs.rdi = r.edi;
    if (x86_kvm_vcpu_ioctl(cpu, KVM_SET_REGS, &regs) < 0) {
        return UINT32_MAX;
    }
    return r.eax;
}

static void vmport_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    /* the backdoor's OUT forms (the high-bandwidth port 0x5659's) are
     * not implemented, as in QEMU: ignored */
}

static const MemoryRegionOps vmport_ops = {
    .read = vmport_read,
    .write = vmport_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static bool vmport_realize(DeviceState *dev, GError **errp)
{
    VmportState *s = (VmportState *)dev;

    memory_region_init_io(&s->io, &vmport_ops, s, "vmport", 4);
    isa_register_ioport(&s->parent, &s->io, VMPORT_PORT);
    vmport_instance = s;
    return true;
}

static void vmport_unrealize(DeviceState *dev)
{
    if (vmport_instance == (VmportState *)dev) {
        vmport_instance = NULL;
    }
    memory_region_destroy(&((VmportState *)dev)->io);
}

static const DeviceType vmport_type = {
    .name = "vmport",
    .parent = TYPE_ISA_DEVICE,
    .desc = "VMware backdoor I/O port (-machine vmport=)",
    .instance_size = sizeof(VmportState),
    .user_creatable = false,    /* the machine makes it, as QEMU's */
    .category = DEVICE_CATEGORY_MISC,
    .realize = vmport_realize,
    .unrealize = vmport_unrealize,
};

static void vmport_register(void)
{
    device_type_register(&vmport_type);
}
type_init(vmport_register)
