/*
 * pc-dimm: a DIMM of guest RAM in the machine's device-memory region
 * (-m slots=N,maxmem=M), backed by a memory backend (memdev=), cold- or
 * hot-plugged; the guest learns of it through the ACPI memory hotplug
 * interface (hw/acpi/memory_hotplug.c).  docs/hotplug.md.
 */
#ifndef HW_MEM_PC_DIMM_H
#define HW_MEM_PC_DIMM_H
#include "hw/qdev.h"
#include "system/hostmem.h"
#include "system/memory.h"

#define TYPE_PC_DIMM "pc-dimm"
#define PC_DIMM_UNASSIGNED_SLOT (-1)

typedef struct PCDIMMDevice {
    DeviceState parent;
    uint64_t addr;          /* guest-physical; 0 = pick the lowest free */
    int32_t slot;           /* -1 = pick the lowest free */
    uint32_t node;          /* NUMA proximity: a -numa node (0 without) */
    char *memdev;           /* the backend's id */
    HostMemoryBackend *hostmem;
    MemoryRegion mr;        /* the backend's memory, named by its id */
} PCDIMMDevice;

#define PC_DIMM(dev) ((PCDIMMDevice *)(dev))

/* Every realized pc-dimm, sorted by address (free with g_ptr_array_unref). */
GPtrArray *pc_dimm_list(void);
/* The total size of the plugged DIMMs (query-memory-size-summary). */
uint64_t pc_dimm_plugged_size(void);

#endif
