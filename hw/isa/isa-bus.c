/*
 * The ISA bus: the abstract "isa-device" type, ISA IRQs (the machine's GSIs
 * 0-15) and fixed I/O port registration.
 */
#include "qemu/osdep.h"
#include "hw/isa.h"
#include "hw/boards.h"

qemu_irq isa_get_irq(unsigned n)
{
    g_assert(n < 16);
    return current_machine ? current_machine->gsi[n] : NULL;
}

void isa_register_ioport(ISADevice *dev, MemoryRegion *mr, uint16_t base)
{
    memory_region_add_subregion(get_system_io(), base, mr);
}

/* The ISA bus takes no hotplug (QEMU: "Bus 'isa.0' does not support
 * hotplugging"). */
static HotplugHandler *isa_get_hotplug_handler(DeviceState *dev,
                                               const char **bus_name)
{
    *bus_name = "isa.0";
    return NULL;
}

static const DeviceType isa_device_type = {
    .get_hotplug_handler = isa_get_hotplug_handler,
    .name = TYPE_ISA_DEVICE,
    .parent = TYPE_DEVICE,
    .desc = "ISA device",
    .instance_size = sizeof(ISADevice),
    .abstract = true,
};

static void isa_bus_register(void)
{
    device_type_register(&isa_device_type);
}
type_init(isa_bus_register)
