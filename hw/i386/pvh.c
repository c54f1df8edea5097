/*
 * PVH direct boot of an uncompressed ELF kernel (vmlinux), as QEMU's
 * load_elfboot does: Xen's "x86/HVM direct boot ABI" (docs/misc/pvh.pandoc
 * in Xen) and xen/include/public/arch-x86/hvm/start_info.h.
 *
 * The entry point is the XEN_ELFNOTE_PHYS32_ENTRY (18) note of owner
 * "Xen".  The CPU starts in flat 32-bit protected mode, paging off, at that
 * entry with EBX = the physical address of struct hvm_start_info (version
 * 1: with the memory map).  -initrd becomes module 0.  rsdp_paddr is the
 * RSDP the machine installed (hw/i386/acpi-direct.c), or 0.
 */
#include "qemu/osdep.h"
#include "hw/i386/x86-boot.h"

#define XEN_HVM_START_MAGIC 0x336ec578u

/* struct hvm_start_info */
#define SI_MAGIC            0
#define SI_VERSION          4
#define SI_FLAGS            8
#define SI_NR_MODULES       12
#define SI_MODLIST_PADDR    16
#define SI_CMDLINE_PADDR    24
#define SI_RSDP_PADDR       32
#define SI_MEMMAP_PADDR     40
#define SI_MEMMAP_ENTRIES   48
#define SI_SIZE             56

/* where the pieces go inside the 4 KiB at X86_BOOT_INFO_ADDR */
#define MODLIST_OFFSET      64      /* one struct hvm_modlist_entry (32) */
#define MEMMAP_OFFSET       128     /* struct hvm_memmap_table_entry (24) */
#define MEMMAP_MAX          ((4096 - MEMMAP_OFFSET) / 24)

bool pvh_probe(const KernelImage *img)
{
    ElfImage elf;
    GError *err = NULL;
    bool pvh;

    if (!elf_probe(img)) {
        return false;
    }
    if (!elf_parse(img, &elf, &err)) {
        g_error_free(err);
        return false;
    }
    pvh = elf.has_pvh_entry;
    elf_image_free(&elf);
    return pvh;
}

static void put_memmap(uint8_t *info)
{
    unsigned n;
    const E820Entry *t = e820_get_table(&n);

    n = MIN(n, (unsigned)MEMMAP_MAX);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = info + MEMMAP_OFFSET + i * 24;
        stq_le_p(e, t[i].addr);
        stq_le_p(e + 8, t[i].size);
        stl_le_p(e + 16, t[i].type);
        stl_le_p(e + 20, 0);
    }
    stq_le_p(info + SI_MEMMAP_PADDR, X86_BOOT_INFO_ADDR + MEMMAP_OFFSET);
    stl_le_p(info + SI_MEMMAP_ENTRIES, n);
}

/* The initrd as module 0, at the top of RAM below 4 GiB. */
static bool put_initrd(MachineState *ms, const ElfImage *elf, uint8_t *info,
                       GError **errp)
{
    g_autofree uint8_t *data = NULL;
    size_t size;
    uint64_t top = MIN(x86_boot_ram_below_4g(ms), 0x100000000ULL);
    uint64_t addr;
    uint8_t *mod = info + MODLIST_OFFSET;

    if (!ms->initrd_filename) {
        return true;
    }
    if (!x86_boot_read_file(ms->initrd_filename, "initrd", UINT32_MAX, &data,
                            &size, errp)) {
        return false;
    }
    addr = size <= top ? ALIGN_DOWN(top - size, 4096) : 0;
    if (size > top || addr < ALIGN_UP(elf->high, 4096) ||
        !x86_boot_ram_range_ok(ms, addr, size)) {
        error_setg(errp, "initrd '%s' (%zu bytes) does not fit in guest RAM "
                   "above the kernel", ms->initrd_filename, size);
        return false;
    }
    stq_le_p(mod, addr);
    stq_le_p(mod + 8, size);
    stq_le_p(mod + 16, 0);      /* no module command line */
    stq_le_p(mod + 24, 0);
    stl_le_p(info + SI_NR_MODULES, 1);
    stq_le_p(info + SI_MODLIST_PADDR, X86_BOOT_INFO_ADDR + MODLIST_OFFSET);
    return x86_boot_write(addr, data, size, "the initrd", errp);
}

static bool put_cmdline(MachineState *ms, uint8_t *info, GError **errp)
{
    const char *cmdline = ms->kernel_cmdline ? ms->kernel_cmdline : "";
    size_t len = strlen(cmdline);

    if (len >= X86_BOOT_CMDLINE_MAX) {
        error_setg(errp, "kernel command line too long (%zu bytes, at most "
                   "%llu)", len, X86_BOOT_CMDLINE_MAX - 1);
        return false;
    }
    stq_le_p(info + SI_CMDLINE_PADDR, X86_BOOT_CMDLINE_ADDR);
    return x86_boot_write(X86_BOOT_CMDLINE_ADDR, cmdline, len + 1,
                          "the kernel command line", errp);
}

bool pvh_load(MachineState *ms, const KernelImage *img, GError **errp)
{
    g_autofree uint8_t *info = g_malloc0(4096);
    ElfImage elf;
    bool ok;

    if (!elf_parse(img, &elf, errp)) {
        return false;
    }
    if (!elf.has_pvh_entry) {
        error_setg(errp, "'%s': ELF file has no PVH entry note", img->path);
        elf_image_free(&elf);
        return false;
    }
    stl_le_p(info + SI_MAGIC, XEN_HVM_START_MAGIC);
    stl_le_p(info + SI_VERSION, 1);
    stq_le_p(info + SI_RSDP_PADDR, x86_boot_acpi_rsdp);  /* 0: none */
    put_memmap(info);
    ok = x86_boot_load_segments(ms, img, elf.segs, elf.nr_segs, errp) &&
         put_cmdline(ms, info, errp) &&
         put_initrd(ms, &elf, info, errp) &&
         x86_boot_write(X86_BOOT_INFO_ADDR, info, 4096, "the PVH start info",
                        errp) &&
         x86_boot_write_gdt(&x86_boot_entry, false, errp);
    if (ok) {
        x86_boot_entry.mode = X86_BOOT_PROT32;
        x86_boot_entry.rip = elf.pvh_entry;
        x86_boot_entry.rbx = X86_BOOT_INFO_ADDR;
        x86_boot_entry.rax = x86_boot_entry.rsi = 0;
    }
    elf_image_free(&elf);
    return ok;
}
