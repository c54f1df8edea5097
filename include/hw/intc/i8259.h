/*
 * The PC/AT pair of cascaded 8259A programmable interrupt controllers in
 * userspace (hw/intc/i8259.c), used when the in-kernel PIC is absent
 * (-machine kernel_irqchip=split|off, -accel qtest).
 */
#ifndef HW_INTC_I8259_H
#define HW_INTC_I8259_H
#include "hw/qdev.h"

#define TYPE_I8259          "isa-i8259"
#define I8259_NUM_IRQS      16
#define I8259_MASTER_BASE   0x20
#define I8259_SLAVE_BASE    0xa0
#define I8259_ELCR_BASE     0x4d0

/* Input pin @n (0-15: master 0-7, slave 8-15); 2 is the cascade. */
qemu_irq i8259_input(DeviceState *pic, unsigned n);
/* Where the master's INT output goes (the CPU side: LAPIC LINT0). */
void i8259_set_int_output(DeviceState *pic, qemu_irq out);
/* The master's INT output level now. */
bool i8259_int_level(DeviceState *pic);
/*
 * The CPU's interrupt acknowledge cycle: the vector of the highest
 * priority request, which moves to in-service (edge requests are
 * cleared); a spurious IRQ 7 (or 15) vector when nothing is requested.
 */
int i8259_read_irq(DeviceState *pic);
/* The state a completed ICW1-ICW4 sequence and OCW1 leave (bios-pic.c). */
void i8259_set_initialized(DeviceState *pic, uint8_t master_base,
                           uint8_t slave_base, uint16_t imr, uint16_t elcr);

#endif
