/*
 * The "vmgenid" device: Microsoft's Virtual Machine Generation ID
 * ("Virtual Machine Generation ID", Microsoft, 2012) as QEMU 7.2 provides
 * it (QEMU docs/specs/vmgenid.txt).  See hw/acpi/vmgenid.c.
 */
#ifndef HW_ACPI_VMGENID_H
#define HW_ACPI_VMGENID_H
#include "qemu/osdep.h"
#include "qemu/uuid.h"
#include "hw/acpi/bios-linker-loader.h"

#define TYPE_VMGENID                "vmgenid"
#define VMGENID_GUID_FW_CFG_FILE    "etc/vmgenid_guid"
#define VMGENID_ADDR_FW_CFG_FILE    "etc/vmgenid_addr"
#define VMGENID_FW_CFG_SIZE         4096    /* one page */
#define VMGENID_GUID_OFFSET         40      /* past an ACPI header: OVMF's
                                               table probe skips the blob */
#define ACPI_VMGENID_CHANGE_STATUS  (1u << 5)   /* GPE0 bit 5: \_GPE._E05 */

/* The machine's vmgenid device's GUID (text order), false when none. */
bool vmgenid_current_guid(uint8_t guid[UUID_LEN]);

/*
 * QEMU 7.2's vmgenid_build_acpi: append the SSDT (OEM table id "VMGENID")
 * with \_SB.VGEN and \_GPE._E05 to @tables (at its end; returns the
 * table's offset), fill @guid_blob (etc/vmgenid_guid: 4 KiB, the GUID in
 * Microsoft's byte order at offset 40) and add the linker commands: place
 * the blob, write its GUID address back to etc/vmgenid_addr, patch VGIA.
 * @table_file is the fw_cfg name of @tables.  The caller asks for the
 * table's checksum.
 */
size_t vmgenid_build_acpi(GByteArray *tables, const char *table_file,
                          GByteArray *guid_blob, BIOSLinker *linker,
                          const uint8_t guid[UUID_LEN]);

#endif
