/*
 * pc-dimm: a DIMM of guest RAM (QEMU 7.2's pc-dimm and the memory-device
 * address rules it uses).
 *
 *   -m 1G,slots=4,maxmem=8G -object memory-backend-ram,id=m1,size=1G
 *   -device pc-dimm,id=dimm1,memdev=m1[,addr=A][,slot=N][,node=0]
 *
 * The DIMM maps its backend's memory (one RAM region named by the
 * backend's id: the migration stream's RAM block, and a KVM memory slot
 * like any RAM) into the machine's device-memory region.  The slot is the
 * lowest free one unless slot= names one; the address the lowest free
 * range above the region's base that fits at the backend's alignment
 * (2 MiB for memory-backend-ram, as QEMU's anonymous RAM; the page size
 * for file and memfd backends) unless addr= names one.  Errors are
 * QEMU's.  The guest learns of it through hw/acpi/memory_hotplug.c.
 */
#include "qemu/osdep.h"
#include "hw/mem/pc-dimm.h"
#include "hw/acpi/memory_hotplug.h"
#include "hw/boards.h"
#include "system/numa.h"

#define DIMM_RAM_ALIGN  (2 * MiB)   /* QEMU_VMALLOC_ALIGN on x86-64 Linux */
#define DIMM_PAGE_ALIGN 4096

static bool is_dimm(const DeviceState *d)
{
    return device_type_is_a(d->type, TYPE_PC_DIMM);
}

static gint dimm_addr_cmp(gconstpointer a, gconstpointer b)
{
    const PCDIMMDevice *x = *(PCDIMMDevice *const *)a;
    const PCDIMMDevice *y = *(PCDIMMDevice *const *)b;

    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

GPtrArray *pc_dimm_list(void)
{
    GPtrArray *devs = device_list();
    GPtrArray *out = g_ptr_array_new();

    for (unsigned i = 0; i < devs->len; i++) {
        DeviceState *d = g_ptr_array_index(devs, i);
        if (is_dimm(d) && PC_DIMM(d)->hostmem) {
            g_ptr_array_add(out, d);
        }
    }
    g_ptr_array_sort(out, dimm_addr_cmp);
    return out;
}

uint64_t pc_dimm_plugged_size(void)
{
    g_autoptr(GPtrArray) dimms = pc_dimm_list();
    uint64_t sum = 0;

    for (unsigned i = 0; i < dimms->len; i++) {
        sum += PC_DIMM(g_ptr_array_index(dimms, i))->hostmem->size;
    }
    return sum;
}

/* QEMU's pc_dimm_get_free_slot(). */
static bool dimm_pick_slot(PCDIMMDevice *d, MachineState *ms, GError **errp)
{
    g_autoptr(GPtrArray) dimms = pc_dimm_list();
    g_autofree bool *busy = NULL;

    if (d->slot != PC_DIMM_UNASSIGNED_SLOT &&
        (d->slot < 0 || (uint64_t)d->slot >= ms->ram_slots)) {
        error_setg(errp, "invalid slot number %d, valid range is [0-%"
                   PRIu64 "]", d->slot, ms->ram_slots - 1);
        return false;
    }
    if (!ms->ram_slots) {
        error_setg(errp, "no slots where allocated, please specify the "
                   "'slots' option");
        return false;
    }
    busy = g_new0(bool, ms->ram_slots);
    for (unsigned i = 0; i < dimms->len; i++) {
        PCDIMMDevice *o = g_ptr_array_index(dimms, i);
        if (o != d && o->slot >= 0 && (uint64_t)o->slot < ms->ram_slots) {
            busy[o->slot] = true;
        }
    }
    if (d->slot != PC_DIMM_UNASSIGNED_SLOT) {
        if (busy[d->slot]) {
            error_setg(errp, "slot %d is busy", d->slot);
            return false;
        }
        return true;
    }
    for (uint64_t i = 0; i < ms->ram_slots; i++) {
        if (!busy[i]) {
            d->slot = i;
            return true;
        }
    }
    error_setg(errp, "no free slots available");
    return false;
}

static uint64_t backend_align(const HostMemoryBackend *b)
{
    return !strcmp(b->type, "memory-backend-ram") ? DIMM_RAM_ALIGN
                                                  : DIMM_PAGE_ALIGN;
}

/* QEMU's memory_device_check_addable(): maxmem bounds the DIMMs. */
static bool dimm_check_addable(MachineState *ms, uint64_t size,
                               GError **errp)
{
    uint64_t used = pc_dimm_plugged_size();
    uint64_t room = ms->maxram_size - ms->ram_size;

    if (used + size < used || used + size > room) {
        error_setg(errp, "not enough space, currently 0x%" PRIx64 " in use "
                   "of total space for memory devices 0x%" PRIx64, used,
                   room);
        return false;
    }
    return true;
}

/* QEMU's memory_device_get_free_addr(): addr= checked, or the lowest
 * aligned gap between the plugged DIMMs (sorted by address) that fits. */
static bool dimm_pick_addr(PCDIMMDevice *d, MachineState *ms, GError **errp)
{
    g_autoptr(GPtrArray) dimms = pc_dimm_list();
    uint64_t size = d->hostmem->size, align = backend_align(d->hostmem);
    uint64_t as_start = ms->device_memory_base;
    uint64_t as_end = as_start + ms->device_memory_size;   /* exclusive */
    bool hint = d->addr != 0;
    uint64_t start = hint ? d->addr : ALIGN_UP(as_start, align);

    if (hint && d->addr % align) {
        error_setg(errp, "address must be aligned to 0x%" PRIx64 " bytes",
                   align);
        return false;
    }
    if (size % align) {
        error_setg(errp, "backend memory size must be multiple of 0x%"
                   PRIx64, align);
        return false;
    }
    if (hint && (start < as_start || start + size < start ||
                 start + size > as_end)) {
        error_setg(errp, "can't add memory device [0x%" PRIx64 ":0x%" PRIx64
                   "], usable range for memory devices [0x%" PRIx64 ":0x%"
                   PRIx64 "]", start, size, as_start, as_end - as_start);
        return false;
    }
    for (unsigned i = 0; i < dimms->len; i++) {
        PCDIMMDevice *o = g_ptr_array_index(dimms, i);
        uint64_t o_end = o->addr + o->hostmem->size;

        if (o == d) {
            continue;
        }
        if (o->addr < start + size && start < o_end) {
            if (hint) {
                error_setg(errp, "address range conflicts with memory device"
                           " id='%s'", o->parent.id ? o->parent.id
                                                    : "(unnamed)");
                return false;
            }
            start = ALIGN_UP(o_end, align);
        } else if (o->addr >= start + size) {
            break;
        }
    }
    if (start < as_start || start + size < start || start + size > as_end) {
        error_setg(errp, "could not find position in guest address space for "
                   "memory device - memory fragmented due to alignments");
        return false;
    }
    d->addr = start;
    return true;
}

static bool pc_dimm_realize(DeviceState *dev, GError **errp)
{
    PCDIMMDevice *d = PC_DIMM(dev);
    MachineState *ms = current_machine;
    MemHotplugState *mhp = acpi_memory_hotplug_current();
    HostMemoryBackend *b;
    int32_t slot_prop = d->slot;
    uint64_t addr_prop = d->addr;

    if (!ms || !ms->acpi || (ms->ram_slots && !mhp)) {
        error_setg(errp, "memory hotplug is not enabled: missing acpi device "
                   "or acpi disabled");
        return false;
    }
    if (!dimm_pick_slot(d, ms, errp)) {
        goto fail;
    }
    if (!ms->device_memory_size) {
        error_setg(errp, "the configuration is not prepared for memory "
                   "devices (e.g., for memory hotplug), consider specifying "
                   "the maxmem option");
        goto fail;
    }
    if (!d->memdev) {
        error_setg(errp, "'memdev' property must be set");
        goto fail;
    }
    b = host_memory_backend_find(d->memdev);
    if (!b) {
        error_setg(errp, "Property 'pc-dimm.memdev' can't find value '%s'",
                   d->memdev);
        goto fail;
    }
    if (b->used) {
        error_setg(errp, "can't use already busy memdev: %s", d->memdev);
        goto fail;
    }
    if (d->node >= MAX(numa_node_count(ms), 1u)) {
        error_setg(errp, "'DIMM property node has value %" PRIu32 "' which "
                   "exceeds the number of numa nodes: %u", d->node,
                   MAX(numa_node_count(ms), 1u));
        goto fail;
    }
    if (!dimm_check_addable(ms, b->size, errp)) {
        goto fail;
    }
    d->hostmem = b;     /* from here on pc_dimm_list() sees it */
    if (!dimm_pick_addr(d, ms, errp)) {
        d->hostmem = NULL;
        goto fail;
    }
    b->used = true;
    memory_region_init_ram_ptr(&d->mr, b->id, b->size, b->host);
    d->mr.ram_file_shared = host_memory_backend_file_shared(b);
    memory_region_add_subregion(&ms->device_memory,
                                d->addr - ms->device_memory_base, &d->mr);
    if (mhp) {
        acpi_memory_slot_attach(mhp, d->slot, dev);
    }
    return true;

fail:
    d->slot = slot_prop;
    d->addr = addr_prop;
    return false;
}

static void pc_dimm_unrealize(DeviceState *dev)
{
    PCDIMMDevice *d = PC_DIMM(dev);
    MemHotplugState *mhp = acpi_memory_hotplug_current();

    if (!d->hostmem) {
        return;
    }
    if (mhp) {
        acpi_memory_slot_detach(mhp, dev);
    }
    memory_region_destroy(&d->mr);      /* unmapped; the backend keeps it */
    d->hostmem->used = false;
    d->hostmem = NULL;
}

static HotplugHandler *pc_dimm_hotplug_handler(DeviceState *dev,
                                               const char **bus_name)
{
    MemHotplugState *mhp = acpi_memory_hotplug_current();

    *bus_name = "main-system-bus";
    return mhp ? &mhp->hp : NULL;
}

static const Property pc_dimm_props[] = {
    DEFINE_PROP("addr", PCDIMMDevice, addr, PROP_UINT64, "0",
                "guest-physical address (0: the lowest free)"),
    DEFINE_PROP("slot", PCDIMMDevice, slot, PROP_INT32, "-1",
                "memory slot (-1: the lowest free)"),
    DEFINE_PROP("node", PCDIMMDevice, node, PROP_UINT32, "0",
                "NUMA node (an existing -numa node; 0 without -numa)"),
    DEFINE_PROP("memdev", PCDIMMDevice, memdev, PROP_STRING, NULL,
                "the memory backend's id"),
    DEFINE_PROP_END_OF_LIST(),
};

static const char *const pc_dimm_interfaces[] = { "memory-device", NULL };

static const DeviceType pc_dimm_type = {
    .name = TYPE_PC_DIMM,
    .parent = TYPE_DEVICE,
    .desc = "DIMM memory module",
    .instance_size = sizeof(PCDIMMDevice),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = pc_dimm_props,
    .realize = pc_dimm_realize,
    .unrealize = pc_dimm_unrealize,
    .get_hotplug_handler = pc_dimm_hotplug_handler,
    .interfaces = pc_dimm_interfaces,
};

static void pc_dimm_register(void)
{
    device_type_register(&pc_dimm_type);
}
type_init(pc_dimm_register)
