/*
 * Boot protocol structures: Multiboot v1 info, the Linux zero page
 * (struct boot_params, by offset) and Xen PVH's hvm_start_info.
 */
#ifndef GUEST_BOOTPROTO_H
#define GUEST_BOOTPROTO_H

#include <stdint.h>

/* ---- Multiboot v1 ---- */

#define MBI_FLAG_MEM        (1u << 0)
#define MBI_FLAG_BOOTDEV    (1u << 1)
#define MBI_FLAG_CMDLINE    (1u << 2)
#define MBI_FLAG_MODS       (1u << 3)
#define MBI_FLAG_AOUT_SYMS  (1u << 4)
#define MBI_FLAG_ELF_SHDR   (1u << 5)
#define MBI_FLAG_MMAP       (1u << 6)
#define MBI_FLAG_DRIVES     (1u << 7)
#define MBI_FLAG_CONFIG     (1u << 8)
#define MBI_FLAG_LOADER     (1u << 9)
#define MBI_FLAG_APM        (1u << 10)
#define MBI_FLAG_VBE        (1u << 11)
#define MBI_FLAG_FB         (1u << 12)

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;      /* KiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
} __attribute__((packed));

struct multiboot_mmap_entry {
    uint32_t size;                      /* of the rest of the entry */
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct multiboot_module {
    uint32_t mod_start, mod_end;
    uint32_t string;
    uint32_t reserved;
} __attribute__((packed));

/* ---- Linux boot protocol: struct boot_params ("zero page") ---- */

#define BP_EXT_RAMDISK_IMAGE    0x0c0   /* u32 */
#define BP_EXT_RAMDISK_SIZE     0x0c4   /* u32 */
#define BP_EXT_CMD_LINE_PTR     0x0c8   /* u32 */
#define BP_ACPI_RSDP_ADDR       0x070   /* u64 */
#define BP_E820_ENTRIES         0x1e8   /* u8 */
#define BP_SENTINEL             0x1ef   /* u8 */
#define BP_HDR                  0x1f1   /* struct setup_header */
#define BP_E820_TABLE           0x2d0   /* struct boot_e820_entry[128] */
#define BP_E820_MAX             128

/* setup_header fields, offsets within the zero page (= within the file) */
#define HDR_SETUP_SECTS         0x1f1   /* u8 */
#define HDR_SYSSIZE             0x1f4   /* u32 */
#define HDR_BOOT_FLAG           0x1fe   /* u16, 0xaa55 */
#define HDR_JUMP                0x200   /* u16 */
#define HDR_HEADER              0x202   /* u32, "HdrS" */
#define HDR_VERSION             0x206   /* u16 */
#define HDR_TYPE_OF_LOADER      0x210   /* u8 */
#define HDR_LOADFLAGS           0x211   /* u8 */
#define HDR_CODE32_START        0x214   /* u32 */
#define HDR_RAMDISK_IMAGE       0x218   /* u32 */
#define HDR_RAMDISK_SIZE        0x21c   /* u32 */
#define HDR_HEAP_END_PTR        0x224   /* u16 */
#define HDR_CMD_LINE_PTR        0x228   /* u32 */
#define HDR_INITRD_ADDR_MAX     0x22c   /* u32 */
#define HDR_KERNEL_ALIGNMENT    0x230   /* u32 */
#define HDR_RELOCATABLE         0x234   /* u8 */
#define HDR_XLOADFLAGS          0x236   /* u16 */
#define HDR_CMDLINE_SIZE        0x238   /* u32 */
#define HDR_SETUP_DATA          0x250   /* u64 */
#define HDR_PREF_ADDRESS        0x258   /* u64 */
#define HDR_INIT_SIZE           0x260   /* u32 */

#define HDR_MAGIC               0x53726448u     /* "HdrS" */
#define LOADFLAG_LOADED_HIGH    0x01
#define LOADFLAG_CAN_USE_HEAP   0x80
#define XLF_KERNEL_64           0x01

struct boot_e820_entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));

/* ---- Xen PVH: struct hvm_start_info ---- */

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    /* version >= 1 */
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
} __attribute__((packed));

#endif
