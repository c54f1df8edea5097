/*
 * The 8259 pair of a direct kernel boot, programmed as SeaBIOS leaves it
 * when it boots an OS (values measured from a guest, docs/firmware.md):
 *   vector bases 08h (master, ICW2) and 70h (slave): the IBM PC/AT BIOS
 *   layout, where the IVT's IRQ handlers sit (hw/i386/bios-rom.c);
 *   cascade on master IRQ 2 (ICW3), 8086 mode, normal EOI (ICW4);
 *   interrupt mask (OCW1): open the lines of the devices firmware drives
 *   - IRQ 0 PIT, 2 cascade, 6 floppy and 14 primary IDE (SeaBIOS opens
 *   both with or without a controller: measured on kvmpc, which has
 *   neither yet), 8 RTC, 13 FPU error, and with the i8042 IRQ 1 keyboard
 *   and 12 PS/2 mouse; everything else masked.
 *   ELCR (PIIX3 ELCR1/ELCR2, ports 0x4d0/0x4d1): IRQ 10 and 11
 *   level-triggered, the ISA IRQs SeaBIOS routes the PCI interrupt lines
 *   PIRQA-D to on this machine (10, 10, 11, 11).
 * The state is set in kvmpc's own 8259s when it has them
 * (hw/intc/i8259.c), else through the in-kernel irqchip (KVM_SET_IRQCHIP) at
 * init and at every reset; the in-kernel PIT is left as it is.
 */
#include "qemu/osdep.h"
#include "hw/i386/bios-direct.h"
#include "hw/i386/acpi-build.h"
#include "accel/kvm.h"
#include "hw/i386/pc.h"

#define IRQ(n)              (1u << (n))
#define BIOS_OPEN_IRQS      (IRQ(0) | IRQ(2) | IRQ(6) | IRQ(8) | IRQ(13) | \
                             IRQ(14))
#define BIOS_I8042_IRQS     (IRQ(1) | IRQ(12))
#define BIOS_LEVEL_IRQS     (IRQ(10) | IRQ(11))

uint16_t bios_pic_imr(bool has_i8042)
{
    uint16_t open = BIOS_OPEN_IRQS | (has_i8042 ? BIOS_I8042_IRQS : 0);

    return (uint16_t)~open;
}

bool bios_pic_install(MachineState *ms, GError **errp)
{
    AcpiPcConfig cfg;
    uint16_t imr;

    acpi_pc_config(ms, &cfg);
    imr = bios_pic_imr(cfg.i8042);
    acpi_pc_config_cleanup(&cfg);
    if (pc_irqchip_pic_initialized(BIOS_PIC_MASTER_BASE, BIOS_PIC_SLAVE_BASE,
                                   imr, BIOS_LEVEL_IRQS)) {
        return true;        /* kvmpc's own 8259s */
    }
    if (!kvm_enabled()) {
        return true;
    }
    return kvm_pic_set_initialized(BIOS_PIC_MASTER_BASE, BIOS_PIC_SLAVE_BASE,
                                   imr, BIOS_LEVEL_IRQS, errp);
}
