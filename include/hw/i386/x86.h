/*
 * PC platform facts shared by the machine, the boot loaders and the CPU
 * code: the e820 memory map, and the state the boot CPU starts in.
 */
#ifndef HW_I386_X86_H
#define HW_I386_X86_H
#include "qemu/osdep.h"
#include "hw/boards.h"

/* ACPI spec, "System Address Map Interfaces" (e820 types). */
#define E820_RAM        1
#define E820_RESERVED   2
#define E820_ACPI       3
#define E820_NVS        4
#define E820_UNUSABLE   5

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

/* Entries are kept sorted by address. */
void e820_add_entry(uint64_t addr, uint64_t size, uint32_t type);
const E820Entry *e820_get_table(unsigned *count);
void e820_reset_table(void);

/* The 32-bit PCI hole: RAM above this much moves above 4 GiB. */
#define PC_PCI_HOLE_START   0xe0000000ULL   /* default below_4g limit */
#define PC_HIGHMEM_START    0x100000000ULL

/* How the boot CPU leaves reset. */
typedef enum X86BootMode {
    X86_BOOT_RESET_VECTOR,  /* real mode, CS:IP = f000:fff0 (firmware) */
    X86_BOOT_PROT32,        /* flat 32-bit protected mode, paging off */
    X86_BOOT_LONG64,        /* 64-bit mode, identity paging at @cr3 */
} X86BootMode;

typedef struct X86BootEntry {
    X86BootMode mode;
    uint64_t rip;
    uint64_t rsp;
    uint64_t rax, rbx, rsi;
    uint64_t cr3;           /* LONG64: page tables the loader built */
    uint64_t gdt_base;      /* PROT32/LONG64: GDT the loader placed */
    uint16_t gdt_limit;
} X86BootEntry;

/* Set by a direct kernel loader; applied to the BSP at every reset. */
extern X86BootEntry x86_boot_entry;

/*
 * Direct kernel boot (hw/i386/): loads -kernel/-initrd/-append into guest
 * RAM and fills x86_boot_entry.  Detects Multiboot, bzImage and PVH ELF.
 */
bool x86_load_kernel(MachineState *ms, GError **errp);

#endif
