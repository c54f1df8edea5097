/*
 * The "none" machine: no CPU, no devices, no firmware; RAM at address 0
 * only when -m asks for it (QEMU's "empty machine").  libvirt and other
 * management tools start it to ask an emulator what it can do over QMP
 * (`-machine none,accel=kvm:tcg`), and tests use it to start kvmpc without
 * a platform.  Nothing ever runs on it.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "system/memory.h"

static bool null_machine_init(MachineState *ms, GError **errp)
{
    if (ms->ram_size) {
        if (!machine_init_ram(ms, "ram", errp)) {
            return false;
        }
        memory_region_add_subregion(get_system_memory(), 0, &ms->ram);
        ms->below_4g_mem_size = ms->ram_size;
    }
    return true;
}

static const MachineType null_machine = {
    .name = "none",
    .desc = "empty machine",
    .max_cpus = 1,
    .no_cpus = true,
    .no_default_devices = true,
    .default_ram_size = 0,
    .init = null_machine_init,
};

static void null_machine_register(void)
{
    machine_type_register(&null_machine);
}
type_init(null_machine_register)
