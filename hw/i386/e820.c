/*
 * The e820 memory map (ACPI spec 6.5, 15 "System Address Map Interfaces"),
 * handed to direct-boot kernels (Linux zero page, Multiboot mmap, PVH
 * memmap) and to firmware.
 *
 * The table is kept sorted by address.  The machine fills it (hw/i386/pc.c
 * pc_build_e820); the layout it builds for "pc" is:
 *   0x00000000 - 0x0008ffff  RAM
 *   0x00090000 - 0x0009fbff  ACPI      (direct boot's ACPI tables,
 *                                       hw/i386/acpi-direct.c)
 *   0x0009fc00 - 0x0009ffff  reserved  (EBDA, with the RSDP)
 *   0x000f0000 - 0x000fffff  reserved  (BIOS area)
 *   0x00100000 - below_4g    RAM
 *   0xfeffc000 - 0xfeffffff  reserved  (KVM identity map + TSS pages)
 *   0xfffc0000 - 0xffffffff  reserved  (BIOS ROM)
 *   4 GiB - 4 GiB + above_4g RAM
 * The direct-boot loaders put their own structures in the low RAM below
 * 0x30000 (see include/hw/i386/x86-boot.h), which stays RAM for the
 * guest to reuse.
 */
#include "qemu/osdep.h"
#include "hw/i386/x86.h"

/* Plenty for a PC: QEMU's own table has room for fewer. */
#define E820_MAX_ENTRIES 128

static E820Entry e820_table[E820_MAX_ENTRIES];
static unsigned e820_count;

void e820_reset_table(void)
{
    e820_count = 0;
}

void e820_add_entry(uint64_t addr, uint64_t size, uint32_t type)
{
    unsigned pos = 0;

    if (!size || addr + size < addr) {
        return;     /* empty, or wraps past 2^64 */
    }
    if (e820_count == E820_MAX_ENTRIES) {
        error_report("e820: table full, dropping 0x%" PRIx64 "+0x%" PRIx64,
                     addr, size);
        return;
    }
    while (pos < e820_count && e820_table[pos].addr <= addr) {
        pos++;
    }
    memmove(&e820_table[pos + 1], &e820_table[pos],
            (e820_count - pos) * sizeof(e820_table[0]));
    e820_table[pos] = (E820Entry){ .addr = addr, .size = size, .type = type };
    e820_count++;
}

const E820Entry *e820_get_table(unsigned *count)
{
    if (count) {
        *count = e820_count;
    }
    return e820_table;
}
