/*
 * BIOS linker/loader: the "etc/table-loader" fw_cfg file, a list of
 * commands the firmware (SeaBIOS, OVMF) runs to place fw_cfg blobs in
 * guest memory, patch pointers between them and fix their checksums.
 *
 * Format (QEMU hw/acpi/bios-linker-loader.c, as SeaBIOS's
 * src/fw/romfile_loader.c reads it): an array of 128-byte little-endian
 * entries, u32 command then
 *   ALLOCATE (1):     char file[56], u32 align, u8 zone (1 high, 2 fseg)
 *   ADD_POINTER (2):  char dest_file[56], char src_file[56],
 *                     u32 offset, u8 size (1, 2, 4 or 8)
 *   ADD_CHECKSUM (3): char file[56], u32 offset, u32 start, u32 length
 *   WRITE_POINTER (4): char dest_file[56], char src_file[56],
 *                     u32 dst_offset, u32 src_offset, u8 size
 * ADD_POINTER adds the address where src_file was placed to the size-byte
 * value at dest_file + offset (which holds an offset into src_file).
 * WRITE_POINTER writes (address of src_file) + src_offset, size bytes
 * little-endian, into fw_cfg file dest_file at dst_offset with an fw_cfg
 * DMA write (dest_file is writable, see fw_cfg_add_file_callback).
 */
#ifndef HW_ACPI_BIOS_LINKER_LOADER_H
#define HW_ACPI_BIOS_LINKER_LOADER_H
#include "qemu/osdep.h"

#define BIOS_LINKER_LOADER_FILESZ       56
#define BIOS_LINKER_LOADER_ENTRY_SIZE   128

#define BIOS_LINKER_LOADER_CMD_ALLOCATE         0x1
#define BIOS_LINKER_LOADER_CMD_ADD_POINTER      0x2
#define BIOS_LINKER_LOADER_CMD_ADD_CHECKSUM     0x3
#define BIOS_LINKER_LOADER_CMD_WRITE_POINTER    0x4

#define BIOS_LINKER_LOADER_ALLOC_ZONE_HIGH      0x1
#define BIOS_LINKER_LOADER_ALLOC_ZONE_FSEG      0x2

typedef struct BIOSLinker {
    GByteArray *cmds;       /* the etc/table-loader contents */
    GPtrArray *files;       /* BIOSLinkerFile *: blobs known to the linker */
} BIOSLinker;

BIOSLinker *bios_linker_loader_new(void);
void bios_linker_loader_free(BIOSLinker *linker);

/*
 * Declare that fw_cfg file @file (whose contents are @blob, kept by the
 * caller and still growing is fine) must be allocated with @align in the
 * high memory zone or the F segment.
 */
void bios_linker_loader_alloc(BIOSLinker *linker, const char *file,
                              GByteArray *blob, uint32_t align, bool fseg);
/*
 * Patch the @size-byte field at @dest_file + @dst_offset, which is set here
 * to @src_offset, so that it ends up holding the address of
 * @src_file + @src_offset.
 */
void bios_linker_loader_add_pointer(BIOSLinker *linker,
                                    const char *dest_file,
                                    uint32_t dst_offset, uint8_t size,
                                    const char *src_file,
                                    uint32_t src_offset);
/* Set the byte at @file + @offset so [start, start + len) sums to 0. */
void bios_linker_loader_add_checksum(BIOSLinker *linker, const char *file,
                                     uint32_t start, uint32_t len,
                                     uint32_t offset);
/*
 * Ask the firmware to write the address of @src_file + @src_offset, as a
 * @size-byte little-endian value, into the writable fw_cfg file
 * @dest_file at @dst_offset (QEMU's bios_linker_loader_write_pointer).
 */
void bios_linker_loader_write_pointer(BIOSLinker *linker,
                                      const char *dest_file,
                                      uint32_t dst_offset, uint8_t size,
                                      const char *src_file,
                                      uint32_t src_offset);

#endif
