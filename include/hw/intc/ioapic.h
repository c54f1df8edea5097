/*
 * The I/O APIC in userspace (hw/intc/ioapic.c): 82093AA registers with
 * the ICH's version 0x20 and EOI register, 24 inputs.  Used when KVM's
 * in-kernel IOAPIC is absent (kernel_irqchip=split|off, -accel qtest).
 */
#ifndef HW_INTC_IOAPIC_H
#define HW_INTC_IOAPIC_H
#include "hw/qdev.h"

#define TYPE_IOAPIC         "ioapic"
#define IOAPIC_NUM_PINS     24

/* Input pin @n (0-23). */
qemu_irq ioapic_input(DeviceState *ioapic, unsigned n);
/*
 * A local APIC (userspace, or KVM's in split mode) finished a
 * level-triggered interrupt with @vector: clear remote IRR of the pins
 * that delivered it, and deliver again where the line is still high.
 */
void ioapic_eoi_broadcast(uint8_t vector);
/*
 * Told the MSI message each pin's redirection entry sends whenever it may
 * have changed (kernel_irqchip=split keeps KVM's IOAPIC routes with it).
 */
extern void (*ioapic_route_hook)(unsigned pin, uint64_t addr, uint32_t data);

#endif
