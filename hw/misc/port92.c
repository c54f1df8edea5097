/*
 * System control port A (port 0x92), the PS/2 "fast A20 and reset" port.
 *
 * Spec: IBM PS/2 Hardware Interface Technical Reference, "System Control
 * Port A" (as the PIIX/ICH chipsets implement it): bit 0 alternate hot
 * reset (a 0 -> 1 transition resets the CPU), bit 1 alternate gate A20;
 * the other bits read back what was written.
 *
 * KVM has no A20 masking, so bit 1 is kept and reads back but memory
 * never wraps at 1 MiB (guests only ever turn A20 on).  The reset goes
 * through qemu_system_reset_request (guest reset; -no-reboot exits).
 * Device reset clears bit 0 and keeps the rest, as QEMU does.
 */
#include "qemu/osdep.h"
#include "hw/isa.h"
#include "system/runstate.h"

#define TYPE_PORT92         "port92"
#define PORT92_IOBASE       0x92
#define PORT92_FAST_RESET   0x01
#define PORT92_FAST_A20     0x02

typedef struct Port92State {
    ISADevice parent;
    uint8_t value;
    MemoryRegion io;
} Port92State;

static uint64_t port92_read(void *opaque, uint64_t addr, unsigned size)
{
    Port92State *s = opaque;

    return s->value;
}

static void port92_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    Port92State *s = opaque;
    uint8_t old = s->value;

    s->value = val;
    if ((val & PORT92_FAST_RESET) && !(old & PORT92_FAST_RESET)) {
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static const MemoryRegionOps port92_ops = {
    .read = port92_read,
    .write = port92_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool port92_realize(DeviceState *dev, GError **errp)
{
    Port92State *s = (Port92State *)dev;

    memory_region_init_io(&s->io, &port92_ops, s, "port92", 1);
    isa_register_ioport(&s->parent, &s->io, PORT92_IOBASE);
    return true;
}

static void port92_unrealize(DeviceState *dev)
{
    memory_region_destroy(&((Port92State *)dev)->io);
}

static void port92_reset(DeviceState *dev)
{
    Port92State *s = (Port92State *)dev;

    s->value &= ~PORT92_FAST_RESET;
}

static const VMStateDescription vmstate_port92 = {
    .name = "port92",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(value, Port92State),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType port92_type = {
    .name = TYPE_PORT92,
    .parent = TYPE_ISA_DEVICE,
    .desc = "System control port A (fast A20, fast reset)",
    .instance_size = sizeof(Port92State),
    .realize = port92_realize,
    .unrealize = port92_unrealize,
    .reset = port92_reset,
    .vmsd = &vmstate_port92,
};

static void port92_register(void)
{
    device_type_register(&port92_type);
}
type_init(port92_register)
