/*
 * The ISA bus: fixed I/O ports and IRQs 0-15 (GSI 0-15 of the machine).
 */
#ifndef HW_ISA_H
#define HW_ISA_H
#include "hw/qdev.h"
#include "system/memory.h"

#define TYPE_ISA_DEVICE "isa-device"

typedef struct ISADevice {
    DeviceState parent;
} ISADevice;

/* ISA IRQ @n (0..15); the machine wires these to GSIs. */
qemu_irq isa_get_irq(unsigned n);
/* Map @mr at I/O port @base. */
void isa_register_ioport(ISADevice *dev, MemoryRegion *mr, uint16_t base);

#endif
