/*
 * The pc machine's interrupt controllers when kvmpc models them itself
 * (kernel_irqchip=split|off, -accel qtest; docs/cpu.md "Interrupt
 * controllers"): the 8259 pair, the I/O APIC, the 8254 PIT and, with
 * kernel_irqchip=off or qtest, one local APIC per CPU.
 *
 * GSI routing is KVM's default table (accel/kvm/kvm-irq.c), so a guest
 * sees the same wiring whichever side models the chips: GSI n < 16 to
 * PIC input n, except the cascade input 2; GSI 0 to IOAPIC pin 2 (the
 * MADT's interrupt source override for the PIT), GSI 2 nowhere, every
 * other GSI n to IOAPIC pin n.
 */
#include "qemu/osdep.h"
#include "hw/i386/pc.h"
#include "hw/intc/apic.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/timer/i8254.h"
#include "target/i386/cpu.h"

static DeviceState *pc_pic, *pc_ioapic;

void pc_irqchip_set_gsi(int gsi, int level)
{
    if (pc_pic && gsi < I8259_NUM_IRQS && gsi != 2) {
        qemu_set_irq(i8259_input(pc_pic, gsi), level);
    }
    if (pc_ioapic && gsi != 2 && gsi < IOAPIC_NUM_PINS) {
        qemu_set_irq(ioapic_input(pc_ioapic, gsi == 0 ? 2 : gsi), level);
    }
}

static DeviceState *pc_irqchip_create(const char *type, GError **errp)
{
    DeviceState *dev = device_new(type, errp);

    if (dev && !device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

bool pc_irqchip_init(MachineState *ms, GError **errp)
{
    X86CPUTopoInfo topo;
    g_autofree uint32_t *ids = NULL;
    unsigned ncpus = MAX(ms->smp.cpus, 1u);

    if (!machine_userspace_ioapic(ms)) {
        return true;
    }
    pc_pic = pc_irqchip_create(TYPE_I8259, errp);
    pc_ioapic = pc_pic ? pc_irqchip_create(TYPE_IOAPIC, errp) : NULL;
    if (!pc_ioapic) {
        return false;
    }
    if (!machine_userspace_lapic(ms)) {
        apic_bus_init_pic_only(pc_pic);     /* split: ExtINT to CPU 0 */
        return true;
    }
    x86_topo_info_from_smp(&ms->smp, &topo);
    ids = g_new(uint32_t, ncpus);
    for (unsigned i = 0; i < ncpus; i++) {
        ids[i] = x86_apicid_from_cpu_idx(&topo, i);
    }
    return apic_bus_init(ncpus, ids, pc_pic, errp);
}

bool pc_irqchip_pic_initialized(uint8_t master_base, uint8_t slave_base,
                                uint16_t imr, uint16_t elcr)
{
    if (!pc_pic) {
        return false;
    }
    i8259_set_initialized(pc_pic, master_base, slave_base, imr, elcr);
    return true;
}
