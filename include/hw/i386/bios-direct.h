/*
 * What PC firmware leaves in memory and in the interrupt controllers,
 * recreated by kvmpc for a direct kernel boot (-kernel without firmware)
 * so that kernels relying on the PC conventions find them:
 *   hw/i386/bios-rom.c        the F-segment ROM with the real-mode
 *                             interrupt handlers, the interrupt vector
 *                             table, the F-segment copy of the RSDP
 *   hw/i386/bios-data-area.c  the BIOS data area and the EBDA's header
 *   hw/i386/bios-pic.c        the 8259 pair as SeaBIOS programs it
 * docs/firmware.md ("Direct boot: what firmware would leave") has the
 * values and the reasons.
 */
#ifndef HW_I386_BIOS_DIRECT_H
#define HW_I386_BIOS_DIRECT_H
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "system/memory.h"

/* The F segment, where the handler ROM is mapped (e820: reserved). */
#define BIOS_ROM_BASE           0xf0000ULL
#define BIOS_ROM_SIZE           0x10000ULL
#define BIOS_ROM_SEGMENT        0xf000

/* Real-mode interrupt vector table: 256 far pointers (offset, segment). */
#define BIOS_IVT_BASE           0x0ULL
#define BIOS_IVT_ENTRIES        256

/* The 8259 vector bases of the PC BIOS (IBM PC/AT): IRQ 0-7 at 08h-0fh,
 * IRQ 8-15 at 70h-77h. */
#define BIOS_PIC_MASTER_BASE    0x08
#define BIOS_PIC_SLAVE_BASE     0x70

/* Map the handler ROM at BIOS_ROM_BASE in @rom_memory (the PCI space,
 * which PAM routes 0xf0000 to after reset).  Once, at machine init. */
void bios_rom_init(MemoryRegion *rom_memory);

/*
 * Fill the interrupt vector table and put a copy of the RSDP at
 * @rsdp_addr (0: none) into the ROM's slot, which it returns in
 * *fseg_rsdp (0 if none).  At init and every reset, after the ACPI tables.
 */
bool bios_rom_install(uint64_t rsdp_addr, uint64_t *fseg_rsdp,
                      GError **errp);

/* The BIOS data area and the EBDA header, from the machine's devices. */
bool bios_data_area_install(MachineState *ms, GError **errp);

/* The interrupt mask SeaBIOS leaves for this machine's devices (bits 0-7
 * master, 8-15 slave; pure, for tests). */
uint16_t bios_pic_imr(bool has_i8042);
/* Program the in-kernel 8259s as SeaBIOS does (no-op without KVM). */
bool bios_pic_install(MachineState *ms, GError **errp);

#endif
