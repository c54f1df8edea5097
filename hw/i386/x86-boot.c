/*
 * Direct kernel boot (-kernel/-initrd/-append): format detection and the
 * helpers the loaders share.  The kernel file is untrusted input: every
 * offset and length read from it is checked against the file size, and
 * every guest address against the RAM in the e820 table, before use.
 *
 * Detection order is QEMU's (hw/i386/x86.c x86_load_linux): a Linux setup
 * header ("HdrS" at 0x202) first, then an ELF with a Xen PVH entry note,
 * then a Multiboot v1 header.
 *
 * ELF: System V ABI, "ELF Object File Format" (program headers, notes).
 * Boot GDT and page tables: Intel SDM vol. 3A, 3.4.5 "Segment
 * Descriptors" and 4.5 "4-Level Paging".
 */
#include "qemu/osdep.h"
#include "hw/i386/x86-boot.h"
#include "system/memory.h"

X86BootEntry x86_boot_entry;
uint64_t x86_boot_acpi_rsdp;

/* Kernels bigger than this are surely not kernels. */
#define KERNEL_FILE_MAX (1ULL << 30)

/* ---- guest memory ---- */

uint64_t x86_boot_ram_below_4g(MachineState *ms)
{
    return ms->below_4g_mem_size;
}

bool x86_boot_ram_range_ok(MachineState *ms, uint64_t addr, uint64_t len)
{
    unsigned n;
    const E820Entry *t = e820_get_table(&n);

    if (addr + len < addr) {
        return false;
    }
    if (!n) {
        /* no table: plain RAM bounds */
        return addr + len <= ms->below_4g_mem_size ||
               (addr >= PC_HIGHMEM_START &&
                addr + len <= PC_HIGHMEM_START + ms->above_4g_mem_size);
    }
    for (unsigned i = 0; i < n; i++) {
        if (t[i].type == E820_RAM && addr >= t[i].addr &&
            addr + len <= t[i].addr + t[i].size) {
            return true;
        }
    }
    return false;
}

bool x86_boot_write(uint64_t addr, const void *buf, uint64_t len,
                    const char *what, GError **errp)
{
    if (address_space_write_rom(&address_space_memory, addr, buf, len) !=
        MEMTX_OK) {
        error_setg(errp, "cannot place %s at 0x%" PRIx64 " (0x%" PRIx64
                   " bytes): not RAM", what, addr, len);
        return false;
    }
    return true;
}

bool x86_boot_zero(uint64_t addr, uint64_t len, const char *what,
                   GError **errp)
{
    static const uint8_t zeros[4096];

    while (len) {
        uint64_t chunk = MIN(len, (uint64_t)sizeof(zeros));

        if (!x86_boot_write(addr, zeros, chunk, what, errp)) {
            return false;
        }
        addr += chunk;
        len -= chunk;
    }
    return true;
}

/* Copy ELF-style segments (file part, then zeroed bss) into guest RAM. */
bool x86_boot_load_segments(MachineState *ms, const KernelImage *img,
                            const LoadSegment *segs, unsigned nr_segs,
                            GError **errp)
{
    for (unsigned i = 0; i < nr_segs; i++) {
        const LoadSegment *s = &segs[i];

        if (!x86_boot_ram_range_ok(ms, s->paddr, s->mem_size)) {
            error_setg(errp, "'%s': kernel segment 0x%" PRIx64 "-0x%" PRIx64
                       " is outside guest RAM", img->path, s->paddr,
                       s->paddr + s->mem_size);
            return false;
        }
        if (!x86_boot_write(s->paddr, img->data + s->file_offset,
                            s->file_size, "the kernel", errp) ||
            !x86_boot_zero(s->paddr + s->file_size,
                           s->mem_size - s->file_size, "the kernel bss",
                           errp)) {
            return false;
        }
    }
    return true;
}

/* ---- GDT and page tables ---- */

/* A flat descriptor (base 0, limit 4 GiB, G=1, P=1, S=1). */
static uint64_t flat_descriptor(uint8_t type, bool code64)
{
    uint64_t d = 0xffffULL | (0xfULL << 48);    /* limit 0xfffff */

    d |= (uint64_t)type << 40;
    d |= 1ULL << 44;            /* S: code/data */
    d |= 1ULL << 47;            /* P */
    d |= 1ULL << 55;            /* G: 4 KiB units */
    if (code64) {
        d |= 1ULL << 53;        /* L */
    } else {
        d |= 1ULL << 54;        /* D/B: 32-bit */
    }
    return d;
}

bool x86_boot_write_gdt(X86BootEntry *entry, bool long_mode, GError **errp)
{
    uint8_t gdt[4 * 8] = { 0 };

    stq_le_p(gdt + X86_BOOT_CS, flat_descriptor(0xb, long_mode));
    stq_le_p(gdt + X86_BOOT_DS, flat_descriptor(0x3, false));
    entry->gdt_base = X86_BOOT_GDT_ADDR;
    entry->gdt_limit = sizeof(gdt) - 1;
    /* boot protocols leave the stack to the kernel, but kernels written
     * for real loaders (GRUB, QEMU's option ROMs) get a usable one */
    entry->rsp = X86_BOOT_STACK_TOP;
    return x86_boot_write(X86_BOOT_GDT_ADDR, gdt, sizeof(gdt), "the boot GDT",
                          errp);
}

bool x86_boot_write_identity_map(X86BootEntry *entry, GError **errp)
{
    g_autofree uint8_t *pd = g_malloc0(4 * 4096);
    uint8_t pml4[4096] = { 0 }, pdpt[4096] = { 0 };
    const uint64_t rw_present = 0x3, page_size = 0x80;

    /* 2 MiB pages: 1 GiB pages need pdpe1gb, which PVM hosts lack */
    stq_le_p(pml4, X86_BOOT_PDPT_ADDR | rw_present);
    for (unsigned i = 0; i < 4; i++) {
        stq_le_p(pdpt + i * 8, (X86_BOOT_PD_ADDR + i * 4096) | rw_present);
    }
    for (unsigned i = 0; i < 4 * 512; i++) {
        stq_le_p(pd + i * 8, ((uint64_t)i << 21) | rw_present | page_size);
    }
    entry->cr3 = X86_BOOT_PML4_ADDR;
    return x86_boot_write(X86_BOOT_PML4_ADDR, pml4, sizeof(pml4),
                          "page tables", errp) &&
           x86_boot_write(X86_BOOT_PDPT_ADDR, pdpt, sizeof(pdpt),
                          "page tables", errp) &&
           x86_boot_write(X86_BOOT_PD_ADDR, pd, 4 * 4096, "page tables",
                          errp);
}

/* ---- files ---- */

bool x86_boot_read_file(const char *path, const char *what, uint64_t max,
                        uint8_t **data, size_t *size, GError **errp)
{
    GError *err = NULL;
    gchar *contents;
    gsize len;

    if (!g_file_get_contents(path, &contents, &len, &err)) {
        /* glib's message repeats the path: say it once, QEMU's way */
        int code = err->domain == G_FILE_ERROR ? err->code : -1;
        error_setg(errp, "could not open %s file '%s': %s", what, path,
                   code == G_FILE_ERROR_NOENT ? "No such file or directory" :
                   code == G_FILE_ERROR_ACCES ? "Permission denied" :
                   code == G_FILE_ERROR_ISDIR ? "Is a directory" :
                   err->message);
        g_error_free(err);
        return false;
    }
    if (max && len > max) {
        error_setg(errp, "%s file '%s' is too large (%zu bytes)", what, path,
                   (size_t)len);
        g_free(contents);
        return false;
    }
    *data = (uint8_t *)contents;
    *size = len;
    return true;
}

/* ---- ELF ---- */

#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4
#define XEN_ELFNOTE_PHYS32_ENTRY 18

bool elf_probe(const KernelImage *img)
{
    return image_has(img, 0, 16) && !memcmp(img->data, "\177ELF", 4);
}

/* Header fields at class-dependent offsets. */
typedef struct ElfLayout {
    unsigned e_entry, e_phoff, e_phentsize, e_phnum;
    unsigned phsize;
    unsigned p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz;
} ElfLayout;

static const ElfLayout elf32_layout = {
    .e_entry = 24, .e_phoff = 28, .e_phentsize = 42,
    .e_phnum = 44, .phsize = 32,
    .p_type = 0, .p_offset = 4, .p_vaddr = 8, .p_paddr = 12,
    .p_filesz = 16, .p_memsz = 20,
};
static const ElfLayout elf64_layout = {
    .e_entry = 24, .e_phoff = 32, .e_phentsize = 54,
    .e_phnum = 56, .phsize = 56,
    .p_type = 0, .p_offset = 8, .p_vaddr = 16, .p_paddr = 24,
    .p_filesz = 32, .p_memsz = 40,
};

static uint64_t elf_word(const uint8_t *p, bool is64)
{
    return is64 ? ldq_le_p(p) : ldl_le_p(p);
}

/* Look for the PVH entry note in one PT_NOTE segment. */
static void elf_scan_notes(const uint8_t *p, uint64_t len, ElfImage *elf)
{
    uint64_t off = 0;

    while (len - off >= 12) {
        uint32_t namesz = ldl_le_p(p + off);
        uint32_t descsz = ldl_le_p(p + off + 4);
        uint32_t type = ldl_le_p(p + off + 8);
        uint64_t name_off = off + 12;
        uint64_t desc_off = name_off + ALIGN_UP((uint64_t)namesz, 4);
        uint64_t next = desc_off + ALIGN_UP((uint64_t)descsz, 4);

        if (desc_off > len || next > len || descsz > len - desc_off) {
            return;     /* truncated note: ignore the rest */
        }
        if (namesz == 4 && !memcmp(p + name_off, "Xen", 4) &&
            type == XEN_ELFNOTE_PHYS32_ENTRY && (descsz == 4 || descsz == 8)) {
            uint64_t entry = descsz == 8 ? ldq_le_p(p + desc_off)
                                         : ldl_le_p(p + desc_off);
            if (entry <= UINT32_MAX) {
                elf->has_pvh_entry = true;
                elf->pvh_entry = entry;
            }
        }
        off = next;
    }
}

static bool elf_check_header(const KernelImage *img, bool *is64,
                             GError **errp)
{
    const uint8_t *h = img->data;
    uint16_t type, machine;

    if (!elf_probe(img)) {
        error_setg(errp, "'%s' is not an ELF file", img->path);
        return false;
    }
    if ((h[EI_CLASS] != ELFCLASS32 && h[EI_CLASS] != ELFCLASS64) ||
        h[EI_DATA] != ELFDATA2LSB) {
        error_setg(errp, "'%s': unsupported ELF class or byte order",
                   img->path);
        return false;
    }
    *is64 = h[EI_CLASS] == ELFCLASS64;
    if (!image_has(img, 0, *is64 ? 64 : 52)) {
        error_setg(errp, "'%s': truncated ELF header", img->path);
        return false;
    }
    type = lduw_le_p(h + 16);
    machine = lduw_le_p(h + 18);
    if (type != ET_EXEC && type != ET_DYN) {
        error_setg(errp, "'%s': ELF file is not an executable", img->path);
        return false;
    }
    if (machine != EM_386 && machine != EM_X86_64) {
        error_setg(errp, "'%s': ELF file is not for x86 (machine %u)",
                   img->path, machine);
        return false;
    }
    return true;
}

static bool elf_add_load(const KernelImage *img, ElfImage *elf,
                         const LoadSegment *seg, GError **errp)
{
    if (!image_has(img, seg->file_offset, seg->file_size)) {
        error_setg(errp, "'%s': ELF segment at file offset 0x%" PRIx64
                   " runs past the end of the file", img->path,
                   seg->file_offset);
        return false;
    }
    if (seg->file_size > seg->mem_size ||
        seg->paddr + seg->mem_size < seg->paddr) {
        error_setg(errp, "'%s': malformed ELF segment at 0x%" PRIx64,
                   img->path, seg->paddr);
        return false;
    }
    if (!seg->mem_size) {
        return true;
    }
    elf->segs = g_renew(LoadSegment, elf->segs, elf->nr_segs + 1);
    elf->segs[elf->nr_segs++] = *seg;
    elf->low = elf->nr_segs == 1 ? seg->paddr : MIN(elf->low, seg->paddr);
    elf->high = MAX(elf->high, seg->paddr + seg->mem_size);
    return true;
}

bool elf_parse(const KernelImage *img, ElfImage *elf, GError **errp)
{
    const ElfLayout *L;
    uint64_t phoff;
    unsigned phentsize, phnum;

    memset(elf, 0, sizeof(*elf));
    if (!elf_check_header(img, &elf->is64, errp)) {
        return false;
    }
    L = elf->is64 ? &elf64_layout : &elf32_layout;
    elf->entry = elf_word(img->data + L->e_entry, elf->is64);
    phoff = elf_word(img->data + L->e_phoff, elf->is64);
    phentsize = lduw_le_p(img->data + L->e_phentsize);
    phnum = lduw_le_p(img->data + L->e_phnum);
    if (phentsize < L->phsize || !phnum ||
        !image_has(img, phoff, (uint64_t)phentsize * phnum)) {
        error_setg(errp, "'%s': bad or truncated ELF program headers",
                   img->path);
        return false;
    }
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img->data + phoff + (uint64_t)i * phentsize;
        uint32_t type = ldl_le_p(ph + L->p_type);
        LoadSegment seg = {
            .paddr = elf_word(ph + L->p_paddr, elf->is64),
            .vaddr = elf_word(ph + L->p_vaddr, elf->is64),
            .file_offset = elf_word(ph + L->p_offset, elf->is64),
            .file_size = elf_word(ph + L->p_filesz, elf->is64),
            .mem_size = elf_word(ph + L->p_memsz, elf->is64),
        };

        if (type == PT_LOAD && !elf_add_load(img, elf, &seg, errp)) {
            elf_image_free(elf);
            return false;
        }
        if (type == PT_NOTE && image_has(img, seg.file_offset,
                                         seg.file_size)) {
            elf_scan_notes(img->data + seg.file_offset, seg.file_size, elf);
        }
    }
    if (!elf->nr_segs) {
        error_setg(errp, "'%s': ELF file has nothing to load", img->path);
        elf_image_free(elf);
        return false;
    }
    return true;
}

void elf_image_free(ElfImage *elf)
{
    g_clear_pointer(&elf->segs, g_free);
    elf->nr_segs = 0;
}

/* ---- dispatcher ---- */

bool x86_load_kernel(MachineState *ms, GError **errp)
{
    g_autofree uint8_t *data = NULL;
    KernelImage img = { .path = ms->kernel_filename };
    size_t size;

    if (!ms->kernel_filename) {
        error_setg(errp, "no kernel file given");
        return false;
    }
    if (!x86_boot_read_file(ms->kernel_filename, "kernel", KERNEL_FILE_MAX,
                            &data, &size, errp)) {
        return false;
    }
    img.data = data;
    img.size = size;
    x86_boot_entry = (X86BootEntry){ .mode = X86_BOOT_RESET_VECTOR };
    if (linux_bzimage_probe(&img)) {
        return linux_bzimage_load(ms, &img, errp);
    }
    if (pvh_probe(&img)) {
        return pvh_load(ms, &img, errp);
    }
    if (multiboot_probe(&img)) {
        return multiboot_load(ms, &img, errp);
    }
    error_setg(errp, "'%s' is not a kernel kvmpc can boot (no Linux setup "
               "header, PVH ELF note or Multiboot header)",
               ms->kernel_filename);
    return false;
}
