/*
 * ACPI tables for direct kernel boot (hw/i386/acpi-direct.c): the tables
 * SeaBIOS would get through fw_cfg, placed and linked by kvmpc itself
 * when -kernel runs without firmware.
 */
#ifndef HW_I386_ACPI_DIRECT_H
#define HW_I386_ACPI_DIRECT_H
#include "qemu/osdep.h"
#include "hw/boards.h"

/*
 * Guest-physical layout (the machine's e820 table must agree):
 *   0x0040e             BDA word: EBDA segment (0x9fc0), for RSDP scans
 *   0x90000 - 0x9fbff   E820_ACPI: etc/acpi/tables (the "high" zone)
 *   0x9fc00 - 0x9ffff   EBDA, E820_RESERVED; byte 0 is its size in KiB
 *                       (hw/i386/bios-data-area.c), the RSDP (the "fseg"
 *                       zone) from 0x9fd00, in the first KiB, which OSes
 *                       scan (ACPI 6.4 5.2.5.1).  hw/i386/bios-rom.c
 *                       copies the RSDP into the F segment as well.
 */
#define ACPI_DIRECT_TABLES_BASE 0x90000ULL
#define ACPI_DIRECT_TABLES_END  0x9fc00ULL
#define ACPI_DIRECT_TABLES_SIZE (ACPI_DIRECT_TABLES_END - \
                                 ACPI_DIRECT_TABLES_BASE)
#define ACPI_DIRECT_EBDA_BASE   0x9fc00ULL
#define ACPI_DIRECT_EBDA_SIZE   0x400ULL
#define ACPI_DIRECT_BDA_EBDA    0x40eULL
/* The EBDA's header (size byte and what firmware keeps there) first. */
#define ACPI_DIRECT_RSDP_ZONE   (ACPI_DIRECT_EBDA_BASE + 0x100ULL)
#define ACPI_DIRECT_RSDP_ZONE_END (ACPI_DIRECT_EBDA_BASE + \
                                   ACPI_DIRECT_EBDA_SIZE)

/* One fw_cfg file the table-loader commands name. */
typedef struct AcpiDirectFile {
    const char *name;
    const GByteArray *blob;     /* contents before linking (not changed) */
    uint64_t addr;              /* out: where ALLOCATE put it, 0 if not */
} AcpiDirectFile;

/*
 * Carry out the etc/table-loader commands @cmds (bios-linker-loader.h)
 * as firmware would: ALLOCATE each file in the tables area ("high" zone)
 * or the EBDA ("fseg" zone), ADD_POINTER, ADD_CHECKSUM, then copy the
 * linked files into guest memory, then WRITE_POINTER (into the machine's
 * writable fw_cfg files).  Every command is checked (names,
 * bounds, alignment, zone space, pointer width); on error nothing is
 * written and @errp says which command was wrong.
 */
bool acpi_direct_run_loader(const GByteArray *cmds, AcpiDirectFile *files,
                            unsigned nr_files, GError **errp);

/*
 * Build the machine's ACPI tables (acpi_pc_config + acpi_build), install
 * them with the layout above and set x86_boot_acpi_rsdp for the loaders.
 * Call before x86_load_kernel(), at machine init and at every reset.
 */
bool acpi_direct_install(MachineState *ms, GError **errp);

#endif
