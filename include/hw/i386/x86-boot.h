/*
 * Shared pieces of the direct kernel loaders (hw/i386/{multiboot,
 * linux-boot,pvh,x86-boot}.c): the low-memory layout they agree on, the
 * boot GDT, and bounds-checked access to the (untrusted) kernel file.
 */
#ifndef HW_I386_X86_BOOT_H
#define HW_I386_X86_BOOT_H
#include "qemu/osdep.h"
#include "hw/i386/x86.h"

/*
 * Low memory used by the loaders (all below 0x30000, above the real-mode
 * IVT/BDA; the ACPI tables area of include/hw/i386/acpi-direct.h and the
 * EBDA follow at 0x90000-0x9ffff).  These are free RAM in the e820 map;
 * the kernel may reuse them once it has read what it needs, as boot
 * protocols allow.
 */
#define X86_BOOT_GDT_ADDR       0x00500ULL  /* 4 descriptors */
#define X86_BOOT_STACK_TOP      0x07000ULL  /* stack, below the zero page */
#define X86_BOOT_INFO_ADDR      0x07000ULL  /* zero page / start_info */
#define X86_BOOT_PML4_ADDR      0x09000ULL  /* identity map, 4 GiB */
#define X86_BOOT_PDPT_ADDR      0x0a000ULL
#define X86_BOOT_PD_ADDR        0x0b000ULL  /* 4 pages: 0xb000-0xefff */
#define X86_BOOT_CMDLINE_ADDR   0x20000ULL
#define X86_BOOT_CMDLINE_MAX    0x10000ULL  /* up to 0x30000 */
#define X86_BOOT_LOWMEM_END     0x9fc00ULL  /* start of the EBDA */

/*
 * Guest-physical address of the ACPI RSDP the machine installed for this
 * boot (hw/i386/acpi-direct.c), 0 for none.  The PVH and Linux loaders
 * pass it on (hvm_start_info.rsdp_paddr, boot_params.acpi_rsdp_addr).
 */
extern uint64_t x86_boot_acpi_rsdp;

/* Selectors of the flat segments in the boot GDT (Linux __BOOT_CS/DS). */
#define X86_BOOT_CS 0x10
#define X86_BOOT_DS 0x18

/* Write the boot GDT (null, null, code, data) and set entry->gdt_*. */
bool x86_boot_write_gdt(X86BootEntry *entry, bool long_mode, GError **errp);
/* Identity page tables for the first 4 GiB (2 MiB pages); sets cr3. */
bool x86_boot_write_identity_map(X86BootEntry *entry, GError **errp);

/* The kernel file, read whole, and its name for messages. */
typedef struct KernelImage {
    const char *path;
    const uint8_t *data;
    size_t size;
} KernelImage;

/* [offset, offset + len) lies within the file (overflow-safe). */
static inline bool image_has(const KernelImage *img, uint64_t offset,
                             uint64_t len)
{
    return offset <= img->size && len <= img->size - offset;
}

/* Guest-physical [addr, addr + len) is RAM the loader may fill. */
bool x86_boot_ram_range_ok(MachineState *ms, uint64_t addr, uint64_t len);
/* Copy into guest memory (ROM too), with a clear error on failure. */
bool x86_boot_write(uint64_t addr, const void *buf, uint64_t len,
                    const char *what, GError **errp);
bool x86_boot_zero(uint64_t addr, uint64_t len, const char *what,
                   GError **errp);

/* RAM below 4 GiB the loaders may use, from the e820 table. */
uint64_t x86_boot_ram_below_4g(MachineState *ms);

/*
 * Read a whole file into memory (initrds, modules).  Errors name the file.
 * @max bounds the size (0: no bound).
 */
bool x86_boot_read_file(const char *path, const char *what, uint64_t max,
                        uint8_t **data, size_t *size, GError **errp);

/* Individual formats: true = recognised (then *ok tells success). */
bool multiboot_probe(const KernelImage *img);
bool multiboot_load(MachineState *ms, const KernelImage *img, GError **errp);
bool linux_bzimage_probe(const KernelImage *img);
bool linux_bzimage_load(MachineState *ms, const KernelImage *img,
                        GError **errp);
bool pvh_probe(const KernelImage *img);
bool pvh_load(MachineState *ms, const KernelImage *img, GError **errp);

/* ---- parsers (pure, unit-tested) ---- */

/* Multiboot v1 header (Multiboot 0.6.96, 3.1.1). */
typedef struct MultibootHeader {
    uint32_t offset;        /* where in the file the header starts */
    uint32_t flags;
    bool has_address;       /* flags bit 16: the a.out kludge fields */
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
    uint32_t entry_addr;
} MultibootHeader;

/* Finds and validates the header; false with an error naming the file. */
bool multiboot_parse_header(const KernelImage *img, MultibootHeader *mh,
                            GError **errp);

/* One piece of a file to copy into guest memory, plus zero fill after. */
typedef struct LoadSegment {
    uint64_t paddr;
    uint64_t vaddr;         /* ELF p_vaddr (0 for a.out kludge) */
    uint64_t file_offset;
    uint64_t file_size;
    uint64_t mem_size;      /* >= file_size; the rest is zeroed */
} LoadSegment;

/* Copy @segs (file part, then zeroed bss) into guest RAM, bounds-checked. */
bool x86_boot_load_segments(MachineState *ms, const KernelImage *img,
                            const LoadSegment *segs, unsigned nr_segs,
                            GError **errp);

typedef struct ElfImage {
    bool is64;
    uint64_t entry;
    LoadSegment *segs;      /* PT_LOAD, by p_paddr (g_free) */
    unsigned nr_segs;
    uint64_t low, high;     /* lowest paddr, end of the highest segment */
    /* PVH: XEN_ELFNOTE_PHYS32_ENTRY, 0 if absent */
    bool has_pvh_entry;
    uint32_t pvh_entry;
} ElfImage;

/* Parse an x86 ELF32/ELF64 executable: every header and segment bounds
 * checked against the file.  Errors name the file. */
bool elf_parse(const KernelImage *img, ElfImage *elf, GError **errp);
void elf_image_free(ElfImage *elf);
bool elf_probe(const KernelImage *img);

/* Linux setup header facts (Documentation/arch/x86/boot.rst). */
typedef struct LinuxSetupInfo {
    uint16_t protocol;          /* 0x0206 = 2.06 */
    uint8_t setup_sects;
    uint32_t setup_size;        /* (setup_sects + 1) * 512 */
    uint32_t kernel_offset;     /* file offset of the protected-mode part */
    uint32_t kernel_size;
    uint8_t loadflags;
    uint32_t code32_start;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    bool relocatable;
    uint32_t cmdline_size;      /* max length without the NUL */
    uint16_t xloadflags;
    uint64_t pref_address;
    uint32_t init_size;
} LinuxSetupInfo;

bool linux_parse_setup(const KernelImage *img, LinuxSetupInfo *info,
                       GError **errp);

#endif
