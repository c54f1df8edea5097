/*
 * Machine type registry.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "qom/object-type.h"
#include "system/hostmem.h"
#include "system/numa.h"
#include <sys/mman.h>

MachineState *current_machine;
static GPtrArray *machine_types;

void machine_type_register(const MachineType *mt)
{
    if (!machine_types) {
        machine_types = g_ptr_array_new();
    }
    g_ptr_array_add(machine_types, (gpointer)mt);
    g_autofree char *qom = g_strdup_printf("%s-machine", mt->name);
    object_type_register_copy(qom, mt->no_cpus ? "machine"
                                               : "generic-pc-machine",
                              false, NULL);
}

GPtrArray *machine_type_list(void)
{
    if (!machine_types) {
        machine_types = g_ptr_array_new();
    }
    return machine_types;
}

const MachineType *machine_type_find(const char *name)
{
    GPtrArray *list = machine_type_list();

    for (unsigned i = 0; i < list->len; i++) {
        const MachineType *mt = g_ptr_array_index(list, i);
        if (!strcmp(mt->name, name) || (mt->alias && !strcmp(mt->alias, name))) {
            return mt;
        }
    }
    return NULL;
}

const MachineType *machine_type_default(void)
{
    GPtrArray *list = machine_type_list();

    for (unsigned i = 0; i < list->len; i++) {
        const MachineType *mt = g_ptr_array_index(list, i);
        if (mt->is_default) {
            return mt;
        }
    }
    return NULL;
}

bool machine_init_ram(MachineState *ms, const char *name, GError **errp)
{
    if (ms->memory_backend) {
        HostMemoryBackend *b = host_memory_backend_find(ms->memory_backend);

        if (!b) {
            error_setg(errp, "Memory backend '%s' not found",
                       ms->memory_backend);
            return false;
        }
        if (b->size != ms->ram_size) {
            error_setg(errp, "Machine memory size does not match the size "
                       "of the memory backend");
            return false;
        }
        if (b->used) {
            error_setg(errp, "Memory backend '%s' is already in use",
                       ms->memory_backend);
            return false;
        }
        b->used = true;
        memory_region_init_ram_ptr(&ms->ram, name, ms->ram_size, b->host);
        ms->ram.ram_file_shared = host_memory_backend_file_shared(b);
    } else if (numa_has_memdevs(ms)) {
        /* -numa node,memdev=: the nodes' backends, in node order */
        void *host = numa_map_ram(ms, errp);

        if (!host) {
            return false;
        }
        memory_region_init_ram_ptr(&ms->ram, name, ms->ram_size, host);
    } else {
        memory_region_init_ram(&ms->ram, name, ms->ram_size);
    }
    if (!ms->dump_guest_core) {      /* as QEMU: backends included */
        madvise(memory_region_get_ram_ptr(&ms->ram), ms->ram_size,
                MADV_DONTDUMP);
    }
    /* -machine mem-merge (default on, as QEMU): offer guest RAM to KSM.
     * A memory backend has its own merge= and was advised already. */
    if (!ms->memory_backend && !numa_has_memdevs(ms) && ms->mem_merge) {
        madvise(memory_region_get_ram_ptr(&ms->ram), ms->ram_size,
                MADV_MERGEABLE);
    }
    return true;
}

/* QEMU's ACPI_MAX_RAM_SLOTS: what the memory hotplug block can select. */
#define MACHINE_MAX_RAM_SLOTS 256

/*
 * -m slots=/maxmem= as QEMU 7.2's machine_set_mem() and pc_memory_init()
 * check them, with their wording.
 */
bool machine_check_memory_options(MachineState *ms, GError **errp)
{
    if (!ms->maxram_size) {
        if (ms->ram_slots_set) {
            error_setg(errp, "slots specified but no max-size");
            return false;
        }
        ms->maxram_size = ms->ram_size;
        return true;
    }
    if (ms->maxram_size < ms->ram_size) {
        error_setg(errp, "invalid value of maxmem: maximum memory size "
                   "(0x%" PRIx64 ") must be at least the initial memory "
                   "size (0x%" PRIx64 ")", ms->maxram_size, ms->ram_size);
        return false;
    }
    if (ms->ram_slots && ms->maxram_size == ms->ram_size) {
        error_setg(errp, "invalid value of maxmem: memory slots were "
                   "specified but maximum memory size (0x%" PRIx64 ") is "
                   "equal to the initial memory size (0x%" PRIx64 ")",
                   ms->maxram_size, ms->ram_size);
        return false;
    }
    if (ms->maxram_size > ms->ram_size) {
        if (ms->ram_slots > MACHINE_MAX_RAM_SLOTS) {
            error_setg(errp, "unsupported amount of memory slots: %" PRIu64,
                       ms->ram_slots);
            return false;
        }
        if (ms->maxram_size % 4096) {
            error_setg(errp, "maximum memory size must by aligned to "
                       "multiple of 4096 bytes");
            return false;
        }
    }
    return true;
}

bool machine_init_device_memory(MachineState *ms, uint64_t base,
                                uint64_t extra, GError **errp)
{
    uint64_t size;

    if (ms->maxram_size <= ms->ram_size) {
        return true;
    }
    size = ms->maxram_size - ms->ram_size + extra;
    if (base + size < size || base + size > (1ULL << 52)) {
        error_setg(errp, "unsupported amount of maximum memory: 0x%" PRIx64,
                   ms->maxram_size);
        return false;
    }
    ms->device_memory_base = base;
    ms->device_memory_size = size;
    memory_region_init_container(&ms->device_memory, "device-memory", size);
    memory_region_add_subregion(get_system_memory(), base,
                                &ms->device_memory);
    return true;
}

static bool machine_is_qtest(const MachineState *ms)
{
    return ms->accel && !strcmp(ms->accel, "qtest");
}

bool machine_userspace_ioapic(const MachineState *ms)
{
    return machine_is_qtest(ms) || ms->kernel_irqchip != KERNEL_IRQCHIP_ON;
}

bool machine_userspace_lapic(const MachineState *ms)
{
    return machine_is_qtest(ms) || ms->kernel_irqchip == KERNEL_IRQCHIP_OFF;
}

bool kernel_irqchip_parse(const char *s, KernelIrqchipMode *mode)
{
    static const char *const on[] = { "on", "yes", "true", "y" };
    static const char *const off[] = { "off", "no", "false", "n" };

    for (unsigned i = 0; i < ARRAY_SIZE(on); i++) {
        if (!strcmp(s, on[i])) {
            *mode = KERNEL_IRQCHIP_ON;
            return true;
        }
        if (!strcmp(s, off[i])) {
            *mode = KERNEL_IRQCHIP_OFF;
            return true;
        }
    }
    if (!strcmp(s, "split")) {
        *mode = KERNEL_IRQCHIP_SPLIT;
        return true;
    }
    return false;
}
