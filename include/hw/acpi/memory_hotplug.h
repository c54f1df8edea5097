/*
 * ACPI memory hotplug: QEMU's register block (docs/specs/acpi_mem_hotplug
 * there) at 0x0a00 that the DSDT's \_SB.MHPC methods use to find, read and
 * eject the DIMMs in the memory slots, and the hotplug handler of pc-dimm.
 *
 * Registers (24 bytes, 1 to 4 byte accesses at these offsets):
 *   read  0x00 base address low, 0x04 high; 0x08 size low, 0x0c high;
 *         0x10 proximity (node); 0x14 status byte: bit 0 enabled (a DIMM
 *         is plugged), bit 1 insert event, bit 2 remove event
 *   write 0x00 slot selector; 0x04 _OST event code; 0x08 _OST status code
 *         (sends ACPI_DEVICE_OST); 0x14: bit 1 clears the insert event,
 *         bit 2 the remove event, bit 3 ejects the DIMM
 * Reads and writes (but the selector) for a selector past the last slot
 * are ignored and read 0.
 */
#ifndef HW_ACPI_MEMORY_HOTPLUG_H
#define HW_ACPI_MEMORY_HOTPLUG_H
#include "hw/qdev.h"
#include "system/memory.h"
#include "migration/vmstate.h"

#define ACPI_MEMORY_HOTPLUG_BASE    0x0a00
#define ACPI_MEMORY_HOTPLUG_IO_LEN  24
#define ACPI_MEMORY_HOTPLUG_STATUS  8       /* GPE0 bit 3, piix4 and ICH9 */
#define ACPI_MAX_RAM_SLOTS          256

#define MHP_ADDR_LO     0x00    /* read; write: selector */
#define MHP_ADDR_HI     0x04    /* read; write: _OST event */
#define MHP_SIZE_LO     0x08    /* read; write: _OST status */
#define MHP_SIZE_HI     0x0c
#define MHP_PROXIMITY   0x10
#define MHP_STATUS      0x14
#define MHP_SELECTOR    0x00
#define MHP_OST_EVENT   0x04
#define MHP_OST_STATUS  0x08
#define MHP_ENABLED     0x01
#define MHP_INSERT      0x02
#define MHP_REMOVE      0x04
#define MHP_EJECT       0x08

typedef struct MemHotplugState {
    bool ready;
    uint32_t dev_count;                     /* -m slots= */
    uint32_t selector;
    DeviceState *dimm[ACPI_MAX_RAM_SLOTS];  /* the pc-dimm in each slot */
    uint8_t flags[ACPI_MAX_RAM_SLOTS];      /* MHP_INSERT | MHP_REMOVE */
    uint32_t ost_event[ACPI_MAX_RAM_SLOTS];
    uint32_t ost_status[ACPI_MAX_RAM_SLOTS];
    MemoryRegion io;
    HotplugHandler hp;
    void (*send_event)(void *opaque, unsigned gpe_sts_mask);
    void *opaque;
} MemHotplugState;

/* A PM device (PIIX4_PM, ICH9-LPC) serves the block when there are slots;
 * one machine has one. */
void acpi_memory_hotplug_init(MemHotplugState *s, uint32_t slots,
                              void (*send_event)(void *opaque, unsigned mask),
                              void *opaque);
void acpi_memory_hotplug_uninit(MemHotplugState *s);
/* The machine's block (NULL: ACPI off, or a machine without one). */
MemHotplugState *acpi_memory_hotplug_current(void);
/* A realized DIMM takes its slot (cold plug: enabled, no event). */
void acpi_memory_slot_attach(MemHotplugState *s, unsigned slot,
                             DeviceState *dimm);
void acpi_memory_slot_detach(MemHotplugState *s, DeviceState *dimm);

extern const VMStateDescription vmstate_memory_hotplug;

/*
 * QEMU 7.2's AML: \_SB.PCI0.MHPD (the block's resource and fields),
 * \_SB.MHPC (MDNR slots, MLCK, MSCN/MRST/MCRS/MPXM/MOST/MEJ0, one MPxx
 * PNP0C80 device per slot, MTFY) and \_GPE._E03 -> MSCN.
 */
typedef struct Aml Aml;
void build_memory_hotplug_aml(Aml *table, uint32_t nr_mem, uint16_t io_base);

/* query-acpi-ospm-status: one entry per slot. */
struct ACPIOSTInfoList *acpi_memory_ospm_status(void);

#endif
