/*
 * The POST / delay port 0x80: guests write to it to wait about a
 * microsecond; reads return 0xff as on a PC with nothing decoding it.
 */
#include "qemu/osdep.h"
#include "hw/isa.h"

typedef struct Port80State {
    ISADevice parent;
    uint32_t iobase;
    MemoryRegion io;
} Port80State;

static uint64_t port80_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0xff;
}

static void port80_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
}

static const MemoryRegionOps port80_ops = {
    .read = port80_read,
    .write = port80_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool port80_realize(DeviceState *dev, GError **errp)
{
    Port80State *s = (Port80State *)dev;

    if (s->iobase > 0xffff) {
        error_setg(errp, "ioport80: iobase 0x%x out of range", s->iobase);
        return false;
    }
    memory_region_init_io(&s->io, &port80_ops, s, "ioport80", 1);
    isa_register_ioport(&s->parent, &s->io, s->iobase);
    return true;
}

static void port80_unrealize(DeviceState *dev)
{
    memory_region_destroy(&((Port80State *)dev)->io);
}

static const Property port80_props[] = {
    DEFINE_PROP("iobase", Port80State, iobase, PROP_UINT32, "0x80",
                "I/O port (0x80 POST, 0xed alternate delay port)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType port80_type = {
    .name = "ioport80",
    .parent = TYPE_ISA_DEVICE,
    .desc = "POST/delay port sink",
    .instance_size = sizeof(Port80State),
    .props = port80_props,
    .realize = port80_realize,
    .unrealize = port80_unrealize,
};

static void port80_register(void)
{
    device_type_register(&port80_type);
}
type_init(port80_register)
