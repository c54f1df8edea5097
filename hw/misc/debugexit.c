/*
 * isa-debug-exit: a write of V to the port ends the process with status
 * (V << 1) | 1, so a guest can report a result that is never 0 (QEMU's
 * convention, which test runners depend on).
 */
#include "qemu/osdep.h"
#include "hw/isa.h"
#include "system/runstate.h"

typedef struct DebugExitState {
    ISADevice parent;
    uint32_t iobase;
    uint32_t iosize;
    MemoryRegion io;
} DebugExitState;

static uint64_t debug_exit_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    qemu_system_exit_request((int)((val << 1) | 1));
}

static const MemoryRegionOps debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static bool debug_exit_realize(DeviceState *dev, GError **errp)
{
    DebugExitState *s = (DebugExitState *)dev;

    if (!s->iosize || s->iosize > 4 || s->iobase + s->iosize > 0x10000) {
        error_setg(errp, "isa-debug-exit: iobase 0x%x / iosize %u out of "
                   "range (iosize 1-4)", s->iobase, s->iosize);
        return false;
    }
    memory_region_init_io(&s->io, &debug_exit_ops, s, "isa-debug-exit",
                          s->iosize);
    isa_register_ioport(&s->parent, &s->io, s->iobase);
    return true;
}

static void debug_exit_unrealize(DeviceState *dev)
{
    memory_region_destroy(&((DebugExitState *)dev)->io);
}

static const Property debug_exit_props[] = {
    DEFINE_PROP("iobase", DebugExitState, iobase, PROP_UINT32, "0x501",
                "I/O port"),
    DEFINE_PROP("iosize", DebugExitState, iosize, PROP_UINT32, "2",
                "width of the port in bytes"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType debug_exit_type = {
    .name = "isa-debug-exit",
    .parent = TYPE_ISA_DEVICE,
    .desc = "exit the emulator with a status chosen by the guest",
    .instance_size = sizeof(DebugExitState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = debug_exit_props,
    .realize = debug_exit_realize,
    .unrealize = debug_exit_unrealize,
};

static void debug_exit_register(void)
{
    device_type_register(&debug_exit_type);
}
type_init(debug_exit_register)
