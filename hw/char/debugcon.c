/*
 * isa-debugcon: Bochs-style debug console port (0xe9 by default).  Bytes
 * written go to the chardev; reads return the "readback" value so a guest
 * can detect the port (Bochs returns 0xe9).
 */
#include "qemu/osdep.h"
#include "hw/isa.h"
#include "chardev/char.h"

typedef struct DebugconState {
    ISADevice parent;
    uint32_t iobase;
    uint32_t readback;
    Chardev *chr;
    MemoryRegion io;
} DebugconState;

static uint64_t debugcon_read(void *opaque, uint64_t addr, unsigned size)
{
    DebugconState *s = opaque;
    return s->readback;
}

static void debugcon_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    DebugconState *s = opaque;
    uint8_t byte = val;

    qemu_chr_write_all(s->chr, &byte, 1);
}

static const MemoryRegionOps debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool debugcon_realize(DeviceState *dev, GError **errp)
{
    DebugconState *s = (DebugconState *)dev;

    if (!s->chr) {
        error_setg(errp, "Can't create isa-debugcon, empty char device");
        return false;
    }
    if (s->iobase > 0xffff) {
        error_setg(errp, "isa-debugcon: iobase 0x%x out of range", s->iobase);
        return false;
    }
    memory_region_init_io(&s->io, &debugcon_ops, s, "debugcon", 1);
    isa_register_ioport(&s->parent, &s->io, s->iobase);
    return true;
}

static void debugcon_unrealize(DeviceState *dev)
{
    memory_region_destroy(&((DebugconState *)dev)->io);
}

static const Property debugcon_props[] = {
    DEFINE_PROP("iobase", DebugconState, iobase, PROP_UINT32, "0xe9",
                "I/O port"),
    DEFINE_PROP("readback", DebugconState, readback, PROP_UINT32, "0xe9",
                "value returned by reads"),
    DEFINE_PROP("chardev", DebugconState, chr, PROP_CHARDEV, NULL,
                "ID of a chardev to use as a backend"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType debugcon_type = {
    .name = "isa-debugcon",
    .parent = TYPE_ISA_DEVICE,
    .desc = "Bochs-style debug console port",
    .instance_size = sizeof(DebugconState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = debugcon_props,
    .realize = debugcon_realize,
    .unrealize = debugcon_unrealize,
};

static void debugcon_register(void)
{
    device_type_register(&debugcon_type);
}
type_init(debugcon_register)
