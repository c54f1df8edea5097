/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96: 3.1 "OS image
 * format", 3.2 "Machine state", 3.3 "Boot information format").
 *
 * The kernel is an ELF32/ELF64 file loaded by physical address, or any
 * binary described by the header's address fields (the "a.out kludge",
 * flags bit 16).  As in QEMU, the boot information (MBI), its module list,
 * memory map and strings follow the kernel's last byte (page aligned),
 * and the modules from -initrd follow them, each page aligned.  The
 * command line is "<kernel path> <-append>", as QEMU 7.2 passes it.
 */
#include "qemu/osdep.h"
#include "hw/i386/x86-boot.h"

#define MULTIBOOT_MAGIC         0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH        8192
#define MULTIBOOT_FLAG_PAGE_ALIGN (1u << 0)
#define MULTIBOOT_FLAG_MEMINFO  (1u << 1)
#define MULTIBOOT_FLAG_VIDEO    (1u << 2)
#define MULTIBOOT_FLAG_ADDRESS  (1u << 16)
/* Required-feature bits (0-15) a loader must understand. */
#define MULTIBOOT_KNOWN_REQUIRED (MULTIBOOT_FLAG_PAGE_ALIGN | \
                                  MULTIBOOT_FLAG_MEMINFO | \
                                  MULTIBOOT_FLAG_VIDEO)

/* MBI layout (3.3) */
#define MBI_FLAGS       0
#define MBI_MEM_LOWER   4
#define MBI_MEM_UPPER   8
#define MBI_BOOT_DEVICE 12
#define MBI_CMDLINE     16
#define MBI_MODS_COUNT  20
#define MBI_MODS_ADDR   24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR   48
#define MBI_BOOT_LOADER_NAME 64
#define MBI_SIZE        88

#define MBI_INFO_MEMORY     (1u << 0)
#define MBI_INFO_BOOTDEV    (1u << 1)
#define MBI_INFO_CMDLINE    (1u << 2)
#define MBI_INFO_MODS       (1u << 3)
#define MBI_INFO_MMAP       (1u << 6)
#define MBI_INFO_LOADER     (1u << 9)

#define MB_MOD_SIZE     16
#define MB_MMAP_ENTRY   24      /* size field (4) + 20 bytes */
#define MB_PAGE         4096ULL

/* Offset of a valid header (magic and checksum) in the first 8 KiB, or -1. */
static int64_t multiboot_find_header(const KernelImage *img)
{
    uint64_t limit = MIN((uint64_t)img->size, (uint64_t)MULTIBOOT_SEARCH);

    for (uint64_t off = 0; off + 12 <= limit; off += 4) {
        const uint8_t *p = img->data + off;

        if (ldl_le_p(p) == MULTIBOOT_MAGIC &&
            (uint32_t)(MULTIBOOT_MAGIC + ldl_le_p(p + 4) +
                       ldl_le_p(p + 8)) == 0) {
            return off;
        }
    }
    return -1;
}

bool multiboot_probe(const KernelImage *img)
{
    return multiboot_find_header(img) >= 0;
}

bool multiboot_parse_header(const KernelImage *img, MultibootHeader *mh,
                            GError **errp)
{
    int64_t off = multiboot_find_header(img);
    const uint8_t *p;

    if (off < 0) {
        error_setg(errp, "'%s': no Multiboot header in the first %u bytes",
                   img->path, MULTIBOOT_SEARCH);
        return false;
    }
    p = img->data + off;
    memset(mh, 0, sizeof(*mh));
    mh->offset = off;
    mh->flags = ldl_le_p(p + 4);
    if (mh->flags & 0xffff & ~MULTIBOOT_KNOWN_REQUIRED) {
        error_setg(errp, "'%s': Multiboot header requires unsupported "
                   "features (flags 0x%x)", img->path, mh->flags);
        return false;
    }
    if (mh->flags & MULTIBOOT_FLAG_ADDRESS) {
        if (!image_has(img, off, 32)) {
            error_setg(errp, "'%s': truncated Multiboot header", img->path);
            return false;
        }
        mh->has_address = true;
        mh->header_addr = ldl_le_p(p + 12);
        mh->load_addr = ldl_le_p(p + 16);
        mh->load_end_addr = ldl_le_p(p + 20);
        mh->bss_end_addr = ldl_le_p(p + 24);
        mh->entry_addr = ldl_le_p(p + 28);
    }
    return true;
}

/* What the loader puts in memory and where execution starts. */
typedef struct MultibootKernel {
    LoadSegment *segs;
    unsigned nr_segs;
    uint64_t high;          /* end of the kernel (bss included) */
    uint32_t entry;
} MultibootKernel;

/* The a.out kludge: header fields say where the file goes (3.1.3). */
static bool plan_aout_kludge(const KernelImage *img, const MultibootHeader *mh,
                             MultibootKernel *k, GError **errp)
{
    uint64_t text_offset, load_size, mem_end;

    if (mh->load_addr > mh->header_addr ||
        mh->header_addr - mh->load_addr > mh->offset) {
        error_setg(errp, "'%s': Multiboot header_addr/load_addr do not "
                   "match the header's position", img->path);
        return false;
    }
    text_offset = mh->offset - (mh->header_addr - mh->load_addr);
    if (mh->load_end_addr) {
        if (mh->load_end_addr < mh->load_addr) {
            error_setg(errp, "'%s': Multiboot load_end_addr is below "
                       "load_addr", img->path);
            return false;
        }
        load_size = (uint64_t)mh->load_end_addr - mh->load_addr;
    } else {
        load_size = img->size - text_offset;
    }
    if (!image_has(img, text_offset, load_size)) {
        error_setg(errp, "'%s': Multiboot load range runs past the end of "
                   "the file", img->path);
        return false;
    }
    mem_end = mh->load_addr + load_size;
    if (mh->bss_end_addr) {
        if (mh->bss_end_addr < mem_end) {
            error_setg(errp, "'%s': Multiboot bss_end_addr is below the end "
                       "of the loaded image", img->path);
            return false;
        }
        mem_end = mh->bss_end_addr;
    }
    k->segs = g_new0(LoadSegment, 1);
    k->nr_segs = 1;
    k->segs[0] = (LoadSegment){
        .paddr = mh->load_addr, .file_offset = text_offset,
        .file_size = load_size, .mem_size = mem_end - mh->load_addr,
    };
    k->high = mem_end;
    k->entry = mh->entry_addr;
    return true;
}

/* GRUB's rule: an entry given as a virtual address inside a segment is
 * translated to that segment's physical address. */
static uint64_t translate_entry(const ElfImage *elf, uint64_t entry)
{
    for (unsigned i = 0; i < elf->nr_segs; i++) {
        const LoadSegment *s = &elf->segs[i];
        if (entry >= s->paddr && entry - s->paddr < s->mem_size) {
            return entry;
        }
    }
    for (unsigned i = 0; i < elf->nr_segs; i++) {
        const LoadSegment *s = &elf->segs[i];
        if (entry >= s->vaddr && entry - s->vaddr < s->mem_size) {
            return entry - s->vaddr + s->paddr;
        }
    }
    return entry;
}

static bool plan_elf(const KernelImage *img, MultibootKernel *k,
                     GError **errp)
{
    ElfImage elf;
    uint64_t entry;

    if (!elf_parse(img, &elf, errp)) {
        return false;
    }
    entry = translate_entry(&elf, elf.entry);
    if (entry > UINT32_MAX || elf.high > (1ULL << 32)) {
        error_setg(errp, "'%s': Multiboot ELF kernel must be loaded and "
                   "entered below 4 GiB", img->path);
        elf_image_free(&elf);
        return false;
    }
    k->segs = elf.segs;
    k->nr_segs = elf.nr_segs;
    k->high = elf.high;
    k->entry = entry;
    return true;
}

/* ---- boot information ---- */

typedef struct MbModule {
    char *cmdline;          /* "file args" */
    uint8_t *data;
    size_t size;
    uint64_t addr;
} MbModule;

/* Builds the MBI block (info + module list + mmap + strings) in a buffer
 * that is then copied to @base in one write. */
typedef struct MbiBuilder {
    GByteArray *buf;
    uint64_t base;
} MbiBuilder;

static uint32_t mbi_add_string(MbiBuilder *b, const char *s)
{
    uint32_t addr = b->base + b->buf->len;

    g_byte_array_append(b->buf, (const guint8 *)s, strlen(s) + 1);
    return addr;
}

static void mem_sizes_from_e820(uint32_t *lower_kib, uint32_t *upper_kib)
{
    unsigned n;
    const E820Entry *t = e820_get_table(&n);

    *lower_kib = *upper_kib = 0;
    for (unsigned i = 0; i < n; i++) {
        if (t[i].type != E820_RAM) {
            continue;
        }
        if (t[i].addr == 0) {
            *lower_kib = MIN(t[i].size, 640 * KiB) / KiB;
        } else if (t[i].addr == 1 * MiB) {
            *upper_kib = MIN(t[i].size / KiB, (uint64_t)UINT32_MAX);
        }
    }
}

static GPtrArray *split_module_list(const char *list)
{
    GPtrArray *mods = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);

    for (unsigned i = 0; parts[i]; i++) {
        g_strstrip(parts[i]);
        if (parts[i][0]) {
            g_ptr_array_add(mods, g_strdup(parts[i]));
        }
    }
    return mods;
}

static bool read_modules(const char *list, MbModule **out, unsigned *count,
                         GError **errp)
{
    g_autoptr(GPtrArray) specs = split_module_list(list);
    MbModule *mods = g_new0(MbModule, MAX(specs->len, 1u));

    for (unsigned i = 0; i < specs->len; i++) {
        const char *spec = g_ptr_array_index(specs, i);
        g_autofree char *path = g_strndup(spec, strcspn(spec, " "));

        mods[i].cmdline = g_strdup(spec);
        if (!x86_boot_read_file(path, "Multiboot module", UINT32_MAX,
                                &mods[i].data, &mods[i].size, errp)) {
            *out = mods;
            *count = i + 1;
            return false;
        }
    }
    *out = mods;
    *count = specs->len;
    return true;
}

static void free_modules(MbModule *mods, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        g_free(mods[i].cmdline);
        g_free(mods[i].data);
    }
    g_free(mods);
}

static void mbi_put_mmap(MbiBuilder *b, uint8_t *mbi)
{
    unsigned n;
    const E820Entry *t = e820_get_table(&n);
    uint32_t start = b->base + b->buf->len;

    for (unsigned i = 0; i < n; i++) {
        uint8_t e[MB_MMAP_ENTRY];

        stl_le_p(e, MB_MMAP_ENTRY - 4);
        stq_le_p(e + 4, t[i].addr);
        stq_le_p(e + 12, t[i].size);
        stl_le_p(e + 20, t[i].type);
        g_byte_array_append(b->buf, e, sizeof(e));
    }
    stl_le_p(mbi + MBI_MMAP_ADDR, start);
    stl_le_p(mbi + MBI_MMAP_LENGTH, n * MB_MMAP_ENTRY);
}

static bool place_modules(MachineState *ms, MbModule *mods, unsigned count,
                          uint64_t start, GError **errp)
{
    uint64_t addr = ALIGN_UP(start, MB_PAGE);

    for (unsigned i = 0; i < count; i++) {
        mods[i].addr = addr;
        if (addr + mods[i].size > UINT32_MAX ||
            !x86_boot_ram_range_ok(ms, addr, mods[i].size)) {
            error_setg(errp, "Multiboot module '%s' does not fit in guest "
                       "RAM", mods[i].cmdline);
            return false;
        }
        if (!x86_boot_write(addr, mods[i].data, mods[i].size,
                            "a Multiboot module", errp)) {
            return false;
        }
        addr = ALIGN_UP(addr + mods[i].size, MB_PAGE);
    }
    return true;
}

static bool write_boot_info(MachineState *ms, const KernelImage *img,
                            uint64_t kernel_end, uint32_t *mbi_addr,
                            GError **errp)
{
    MbiBuilder b = { .buf = g_byte_array_new(),
                     .base = ALIGN_UP(kernel_end, MB_PAGE) };
    uint8_t mbi[MBI_SIZE] = { 0 };
    MbModule *mods = NULL;
    unsigned nmods = 0;
    uint32_t lower, upper, mods_addr;
    g_autofree char *cmdline = g_strdup_printf("%s %s", img->path,
        ms->kernel_cmdline ? ms->kernel_cmdline : "");
    bool ok = false;

    if (ms->initrd_filename &&
        !read_modules(ms->initrd_filename, &mods, &nmods, errp)) {
        goto out;
    }
    /* reserve the info block and the module list, fill them at the end */
    g_byte_array_set_size(b.buf, MBI_SIZE + nmods * MB_MOD_SIZE);
    memset(b.buf->data, 0, b.buf->len);
    mods_addr = b.base + MBI_SIZE;
    mbi_put_mmap(&b, mbi);
    stl_le_p(mbi + MBI_CMDLINE, mbi_add_string(&b, cmdline));
    stl_le_p(mbi + MBI_BOOT_LOADER_NAME, mbi_add_string(&b, "kvmpc"));
    for (unsigned i = 0; i < nmods; i++) {
        /* adding the string may move the buffer: take the pointer after */
        uint32_t str = mbi_add_string(&b, mods[i].cmdline);
        stl_le_p(b.buf->data + MBI_SIZE + i * MB_MOD_SIZE + 8, str);
    }
    if (!x86_boot_ram_range_ok(ms, b.base, b.buf->len) ||
        b.base + b.buf->len > UINT32_MAX) {
        error_setg(errp, "'%s': no room for the Multiboot information "
                   "after the kernel", img->path);
        goto out;
    }
    if (!place_modules(ms, mods, nmods, b.base + b.buf->len, errp)) {
        goto out;
    }
    for (unsigned i = 0; i < nmods; i++) {
        uint8_t *m = b.buf->data + MBI_SIZE + i * MB_MOD_SIZE;
        stl_le_p(m, mods[i].addr);
        stl_le_p(m + 4, mods[i].addr + mods[i].size);
    }
    mem_sizes_from_e820(&lower, &upper);
    stl_le_p(mbi + MBI_FLAGS, MBI_INFO_MEMORY | MBI_INFO_BOOTDEV |
             MBI_INFO_CMDLINE | MBI_INFO_MODS | MBI_INFO_MMAP |
             MBI_INFO_LOADER);
    stl_le_p(mbi + MBI_MEM_LOWER, lower);
    stl_le_p(mbi + MBI_MEM_UPPER, upper);
    stl_le_p(mbi + MBI_BOOT_DEVICE, 0x8000ffff);  /* as QEMU: first disk */
    stl_le_p(mbi + MBI_MODS_COUNT, nmods);
    stl_le_p(mbi + MBI_MODS_ADDR, mods_addr);
    memcpy(b.buf->data, mbi, MBI_SIZE);
    ok = x86_boot_write(b.base, b.buf->data, b.buf->len,
                        "the Multiboot information", errp);
    *mbi_addr = b.base;
out:
    free_modules(mods, nmods);
    g_byte_array_free(b.buf, TRUE);
    return ok;
}

bool multiboot_load(MachineState *ms, const KernelImage *img, GError **errp)
{
    MultibootHeader mh;
    MultibootKernel k = { 0 };
    uint32_t mbi_addr = 0;
    bool ok;

    if (!multiboot_parse_header(img, &mh, errp)) {
        return false;
    }
    if (mh.flags & MULTIBOOT_FLAG_VIDEO) {
        g_debug("multiboot: video mode request ignored (no VBE)");
    }
    ok = mh.has_address ? plan_aout_kludge(img, &mh, &k, errp)
                        : plan_elf(img, &k, errp);
    ok = ok && x86_boot_load_segments(ms, img, k.segs, k.nr_segs, errp) &&
         write_boot_info(ms, img, k.high, &mbi_addr, errp) &&
         x86_boot_write_gdt(&x86_boot_entry, false, errp);
    if (ok) {
        x86_boot_entry.mode = X86_BOOT_PROT32;
        x86_boot_entry.rip = k.entry;
        x86_boot_entry.rax = MULTIBOOT_BOOTLOADER_MAGIC;
        x86_boot_entry.rbx = mbi_addr;
    }
    g_free(k.segs);
    return ok;
}
