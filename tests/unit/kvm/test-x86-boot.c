/*
 * Direct kernel boot: e820 table upkeep, header parsers on synthetic and
 * hostile files (bad magic, truncation, huge offsets), and complete loads
 * of Multiboot, bzImage and PVH images into a RAM-backed memory map.
 */
#include "qemu/osdep.h"
#include "hw/i386/x86.h"
#include "hw/i386/x86-boot.h"
#include "system/memory.h"

#define RAM_SIZE (64 * MiB)

static MachineState ms;
static GPtrArray *tmp_files;

static void build_e820(void)
{
    e820_reset_table();
    e820_add_entry(1 * MiB, RAM_SIZE - 1 * MiB, E820_RAM);
    e820_add_entry(0xf0000, 0x10000, E820_RESERVED);
    e820_add_entry(0, 0x9fc00, E820_RAM);
    e820_add_entry(0x9fc00, 0x400, E820_RESERVED);
}

static void setup_machine(void)
{
    memory_init();
    memory_region_init_ram(&ms.ram, "ram", RAM_SIZE);
    memory_region_add_subregion(get_system_memory(), 0, &ms.ram);
    ms.ram_size = ms.below_4g_mem_size = RAM_SIZE;
    build_e820();
}

static char *write_tmp(const void *data, size_t len)
{
    GError *err = NULL;
    char *path;
    int fd = g_file_open_tmp("kvmpc-boot-XXXXXX", &path, &err);

    g_assert_no_error(err);
    g_assert_cmpint(write(fd, data, len), ==, (ssize_t)len);
    close(fd);
    g_ptr_array_add(tmp_files, path);
    return path;
}

static uint32_t guest_ld32(uint64_t addr)
{
    uint8_t b[4];

    g_assert_cmpint(dma_read(addr, b, 4), ==, MEMTX_OK);
    return ldl_le_p(b);
}

static char *guest_str(uint64_t addr)
{
    char buf[256];

    g_assert_cmpint(dma_read(addr, buf, sizeof(buf)), ==, MEMTX_OK);
    buf[sizeof(buf) - 1] = 0;
    return g_strdup(buf);
}

static bool load(const char *kernel, const char *initrd, const char *append,
                 GError **errp)
{
    ms.kernel_filename = (char *)kernel;
    ms.initrd_filename = (char *)initrd;
    ms.kernel_cmdline = (char *)append;
    return x86_load_kernel(&ms, errp);
}

/* ---- e820 ---- */

static void test_e820_sorted(void)
{
    unsigned n;
    const E820Entry *t;

    build_e820();
    t = e820_get_table(&n);
    g_assert_cmpuint(n, ==, 4);
    for (unsigned i = 1; i < n; i++) {
        g_assert_cmphex(t[i - 1].addr, <, t[i].addr);
    }
    g_assert_cmphex(t[1].addr, ==, 0x9fc00);
    g_assert_cmpuint(t[1].type, ==, E820_RESERVED);
    e820_add_entry(0x100, 0, E820_RAM);             /* empty: ignored */
    e820_add_entry(UINT64_MAX - 5, 100, E820_RAM);   /* wraps: ignored */
    e820_get_table(&n);
    g_assert_cmpuint(n, ==, 4);
}

/* ---- Multiboot ---- */

/* a.out-kludge image: header at @hdr_off, loaded at 1 MiB. */
static GByteArray *mb_aout(uint32_t hdr_off, uint32_t text_len,
                           uint32_t bss_len, uint32_t checksum_fix)
{
    GByteArray *a = g_byte_array_new();
    uint32_t load = 0x100000, flags = 0x00010003;
    uint8_t *h;

    g_byte_array_set_size(a, hdr_off + text_len);
    memset(a->data, 0x90, a->len);
    h = a->data + hdr_off;
    stl_le_p(h, 0x1BADB002);
    stl_le_p(h + 4, flags);
    stl_le_p(h + 8, -(0x1BADB002 + flags) + checksum_fix);
    stl_le_p(h + 12, load + hdr_off);       /* header_addr */
    stl_le_p(h + 16, load);                 /* load_addr */
    stl_le_p(h + 20, load + hdr_off + text_len);
    stl_le_p(h + 24, load + hdr_off + text_len + bss_len);
    stl_le_p(h + 28, load + hdr_off + 32);  /* entry */
    return a;
}

static void test_multiboot_parse(void)
{
    g_autoptr(GByteArray) a = mb_aout(64, 256, 0, 0);
    g_autoptr(GByteArray) bad = mb_aout(64, 256, 0, 1);
    KernelImage img = { "test", a->data, a->len };
    MultibootHeader mh;
    GError *err = NULL;

    g_assert_true(multiboot_parse_header(&img, &mh, &err));
    g_assert_cmpuint(mh.offset, ==, 64);
    g_assert_true(mh.has_address);
    g_assert_cmphex(mh.entry_addr, ==, 0x100000 + 96);

    img.data = bad->data;
    g_assert_false(multiboot_probe(&img));
    g_assert_false(multiboot_parse_header(&img, &mh, &err));
    g_assert_nonnull(strstr(err->message, "no Multiboot header"));
    g_clear_error(&err);

    /* header cut right after the checksum: address fields missing */
    img.data = a->data;
    img.size = 64 + 16;
    g_assert_false(multiboot_parse_header(&img, &mh, &err));
    g_assert_nonnull(strstr(err->message, "truncated"));
    g_clear_error(&err);

    /* a header past 8 KiB does not count */
    {
        g_autoptr(GByteArray) far = mb_aout(8192, 64, 0, 0);
        KernelImage f = { "far", far->data, far->len };
        g_assert_false(multiboot_probe(&f));
    }
}

static void test_multiboot_load_aout(void)
{
    g_autoptr(GByteArray) a = mb_aout(0, 4096, 8192, 0);
    const char *mod_data = "module-one";
    char *mod = write_tmp(mod_data, strlen(mod_data));
    char *k = write_tmp(a->data, a->len);
    g_autofree char *initrd = g_strdup_printf("%s argA argB,%s", mod, mod);
    g_autofree char *cmdline = NULL, *name = NULL, *mcmd = NULL;
    GError *err = NULL;
    uint32_t mbi, mods;

    g_assert_true(load(k, initrd, "console=x", &err));
    g_assert_no_error(err);
    g_assert_cmpint(x86_boot_entry.mode, ==, X86_BOOT_PROT32);
    g_assert_cmphex(x86_boot_entry.rax, ==, 0x2BADB002);
    g_assert_cmphex(x86_boot_entry.rip, ==, 0x100000 + 32);
    mbi = x86_boot_entry.rbx;
    /* MBI after the bss, page aligned */
    g_assert_cmphex(mbi, ==, 0x100000 + 4096 + 8192);
    g_assert_cmphex(guest_ld32(mbi) & 0x24f, ==, 0x24f);
    g_assert_cmpuint(guest_ld32(mbi + 4), ==, 0x9fc00 / 1024);
    g_assert_cmpuint(guest_ld32(mbi + 8), ==, (RAM_SIZE - MiB) / 1024);
    cmdline = guest_str(guest_ld32(mbi + 16));
    g_assert_true(g_str_has_suffix(cmdline, " console=x"));
    g_assert_true(g_str_has_prefix(cmdline, k));
    name = guest_str(guest_ld32(mbi + 64));
    g_assert_cmpstr(name, ==, "kvmpc");
    g_assert_cmpuint(guest_ld32(mbi + 20), ==, 2);
    mods = guest_ld32(mbi + 24);
    g_assert_cmphex(guest_ld32(mods) % 4096, ==, 0);
    g_assert_cmphex(guest_ld32(mods + 4) - guest_ld32(mods), ==,
                    strlen(mod_data));
    mcmd = guest_str(guest_ld32(mods + 8));
    g_assert_true(g_str_has_suffix(mcmd, " argA argB"));
    g_assert_cmphex(guest_ld32(mods + 16), >, guest_ld32(mods));
    /* mmap: 4 entries of 24 bytes, first is RAM at 0 */
    g_assert_cmpuint(guest_ld32(mbi + 44), ==, 4 * 24);
    g_assert_cmpuint(guest_ld32(guest_ld32(mbi + 48)), ==, 20);
    g_assert_cmpuint(guest_ld32(guest_ld32(mbi + 48) + 20), ==, E820_RAM);
    /* the bss was zeroed */
    g_assert_cmphex(guest_ld32(0x100000 + 4096 + 100), ==, 0);
}

static void test_multiboot_bad_addresses(void)
{
    g_autoptr(GByteArray) a = mb_aout(0, 256, 0, 0);
    GError *err = NULL;
    char *k;

    /* load_end beyond the file */
    stl_le_p(a->data + 20, 0x100000 + 0x10000);
    stl_le_p(a->data + 24, 0);
    k = write_tmp(a->data, a->len);
    g_assert_false(load(k, NULL, NULL, &err));
    g_assert_nonnull(strstr(err->message, "past the end"));
    g_clear_error(&err);

    /* load address outside RAM */
    a = mb_aout(0, 256, 0, 0);
    stl_le_p(a->data + 12, 0xf0000000);
    stl_le_p(a->data + 16, 0xf0000000);
    stl_le_p(a->data + 20, 0);
    stl_le_p(a->data + 24, 0);
    k = write_tmp(a->data, a->len);
    g_assert_false(load(k, NULL, NULL, &err));
    g_assert_nonnull(strstr(err->message, "outside guest RAM"));
    g_clear_error(&err);

    /* missing module */
    a = mb_aout(0, 256, 0, 0);
    k = write_tmp(a->data, a->len);
    g_assert_false(load(k, "/nonexistent/mod", NULL, &err));
    g_assert_nonnull(strstr(err->message, "/nonexistent/mod"));
    g_clear_error(&err);
}

/* ---- ELF / PVH ---- */

/* ELF32 with one PT_LOAD at @paddr and optionally a PVH note. */
static GByteArray *elf32(uint32_t paddr, bool pvh_note, bool multiboot)
{
    GByteArray *a = g_byte_array_new();
    const unsigned phoff = 52, nph = pvh_note ? 2 : 1;
    const unsigned note_off = phoff + nph * 32;
    const unsigned text_off = 0x200, text_len = 0x400;
    uint8_t *p;

    g_byte_array_set_size(a, text_off + text_len);
    memset(a->data, 0, a->len);
    p = a->data;
    memcpy(p, "\177ELF\1\1\1", 7);
    stw_le_p(p + 16, 2);            /* ET_EXEC */
    stw_le_p(p + 18, 3);            /* EM_386 */
    stl_le_p(p + 24, paddr + 0x10); /* e_entry */
    stl_le_p(p + 28, phoff);
    stw_le_p(p + 42, 32);
    stw_le_p(p + 44, nph);
    p = a->data + phoff;
    stl_le_p(p, 1);                 /* PT_LOAD */
    stl_le_p(p + 4, text_off);
    stl_le_p(p + 8, paddr);
    stl_le_p(p + 12, paddr);
    stl_le_p(p + 16, text_len);
    stl_le_p(p + 20, text_len + 0x1000);
    if (pvh_note) {
        p += 32;
        stl_le_p(p, 4);             /* PT_NOTE */
        stl_le_p(p + 4, note_off);
        stl_le_p(p + 16, 20);
        p = a->data + note_off;
        stl_le_p(p, 4);
        stl_le_p(p + 4, 4);
        stl_le_p(p + 8, 18);        /* XEN_ELFNOTE_PHYS32_ENTRY */
        memcpy(p + 12, "Xen", 4);
        stl_le_p(p + 16, paddr + 0x20);
    }
    if (multiboot) {
        uint32_t flags = 3;
        p = a->data + text_off;
        stl_le_p(p, 0x1BADB002);
        stl_le_p(p + 4, flags);
        stl_le_p(p + 8, -(0x1BADB002 + flags));
    }
    return a;
}

static void test_elf_parse_hostile(void)
{
    g_autoptr(GByteArray) a = elf32(0x200000, true, false);
    KernelImage img = { "elf", a->data, a->len };
    ElfImage elf;
    GError *err = NULL;

    g_assert_true(elf_parse(&img, &elf, &err));
    g_assert_true(elf.has_pvh_entry);
    g_assert_cmphex(elf.pvh_entry, ==, 0x200020);
    g_assert_cmphex(elf.high, ==, 0x200000 + 0x1400);
    elf_image_free(&elf);

    /* truncated program headers */
    img.size = 60;
    g_assert_false(elf_parse(&img, &elf, &err));
    g_clear_error(&err);
    img.size = a->len;

    /* segment offset far outside the file */
    stl_le_p(a->data + 52 + 4, 0xfffffff0);
    g_assert_false(elf_parse(&img, &elf, &err));
    g_assert_nonnull(strstr(err->message, "past the end"));
    g_clear_error(&err);
    stl_le_p(a->data + 52 + 4, 0x200);

    /* filesz > memsz */
    stl_le_p(a->data + 52 + 20, 0x10);
    g_assert_false(elf_parse(&img, &elf, &err));
    g_clear_error(&err);
    stl_le_p(a->data + 52 + 20, 0x1400);

    /* a note whose size runs past its segment is ignored, not read */
    stl_le_p(a->data + 52 + 64 + 4, 0x7fffffff);
    g_assert_true(elf_parse(&img, &elf, &err));
    g_assert_false(elf.has_pvh_entry);
    elf_image_free(&elf);

    /* wrong machine */
    stw_le_p(a->data + 18, 40);
    g_assert_false(elf_parse(&img, &elf, &err));
    g_assert_nonnull(strstr(err->message, "not for x86"));
    g_clear_error(&err);
}

static void test_pvh_load(void)
{
    g_autoptr(GByteArray) a = elf32(0x200000, true, false);
    const char *rd = "initrd-data";
    char *k = write_tmp(a->data, a->len);
    char *initrd = write_tmp(rd, strlen(rd));
    g_autofree char *cmd = NULL;
    GError *err = NULL;
    uint32_t si;

    x86_boot_acpi_rsdp = 0x9fc00;   /* as hw/i386/acpi-direct.c sets it */
    g_assert_true(load(k, initrd, "root=/dev/vda", &err));
    x86_boot_acpi_rsdp = 0;
    g_assert_no_error(err);
    g_assert_cmpint(x86_boot_entry.mode, ==, X86_BOOT_PROT32);
    g_assert_cmphex(x86_boot_entry.rip, ==, 0x200020);
    si = x86_boot_entry.rbx;
    g_assert_cmphex(guest_ld32(si + 32), ==, 0x9fc00);  /* rsdp_paddr */
    g_assert_cmphex(guest_ld32(si + 36), ==, 0);
    g_assert_cmphex(guest_ld32(si), ==, 0x336ec578);
    g_assert_cmpuint(guest_ld32(si + 4), ==, 1);
    g_assert_cmpuint(guest_ld32(si + 12), ==, 1);      /* nr_modules */
    cmd = guest_str(guest_ld32(si + 24));
    g_assert_cmpstr(cmd, ==, "root=/dev/vda");
    g_assert_cmpuint(guest_ld32(si + 48), ==, 4);      /* memmap entries */
    {
        uint32_t mod = guest_ld32(si + 16);
        uint32_t addr = guest_ld32(mod);
        g_autofree char *data = guest_str(addr);
        g_assert_cmphex(addr % 4096, ==, 0);
        g_assert_cmpuint(guest_ld32(mod + 8), ==, strlen(rd));
        g_assert_true(g_str_has_prefix(data, rd));
    }
}

static void test_multiboot_elf(void)
{
    g_autoptr(GByteArray) a = elf32(0x100000, false, true);
    char *k = write_tmp(a->data, a->len);
    GError *err = NULL;

    g_assert_true(load(k, NULL, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmphex(x86_boot_entry.rip, ==, 0x100010);
    g_assert_cmphex(x86_boot_entry.rbx, ==, 0x100000 + 0x2000);
}

/* ---- bzImage ---- */

static GByteArray *bzimage(uint16_t version, uint8_t xloadflags)
{
    GByteArray *a = g_byte_array_new();
    uint8_t *p;

    g_byte_array_set_size(a, 1024 + 0x1000);
    memset(a->data, 0, a->len);
    p = a->data;
    p[0x1f1] = 1;                       /* setup_sects: 1024-byte setup */
    p[0x201] = 0x66;                    /* header ends at 0x268 */
    memcpy(p + 0x202, "HdrS", 4);
    stw_le_p(p + 0x206, version);
    p[0x211] = 0x01;                    /* LOADED_HIGH */
    stl_le_p(p + 0x214, 0x100000);
    stl_le_p(p + 0x22c, 0x37ffffff);    /* initrd_addr_max */
    stl_le_p(p + 0x238, 32);            /* cmdline_size */
    stw_le_p(p + 0x236, xloadflags);
    stl_le_p(p + 0x260, 0x100000);      /* init_size */
    memset(p + 1024, 0xcc, 0x1000);
    return a;
}

static void test_bzimage_parse(void)
{
    g_autoptr(GByteArray) a = bzimage(0x20f, 1);
    KernelImage img = { "bz", a->data, a->len };
    LinuxSetupInfo info;
    GError *err = NULL;

    g_assert_true(linux_parse_setup(&img, &info, &err));
    g_assert_cmpuint(info.setup_size, ==, 1024);
    g_assert_cmpuint(info.kernel_size, ==, 0x1000);

    stw_le_p(a->data + 0x206, 0x204);
    g_assert_false(linux_parse_setup(&img, &info, &err));
    g_assert_nonnull(strstr(err->message, "2.04 is too old"));
    g_clear_error(&err);
    stw_le_p(a->data + 0x206, 0x20f);

    a->data[0x1f1] = 200;               /* setup larger than the file */
    g_assert_false(linux_parse_setup(&img, &info, &err));
    g_clear_error(&err);
    a->data[0x1f1] = 1;

    img.size = 0x240;                   /* truncated setup header */
    g_assert_false(linux_parse_setup(&img, &info, &err));
    g_assert_nonnull(strstr(err->message, "truncated"));
    g_clear_error(&err);
    img.size = a->len;

    a->data[0x211] = 0;                 /* zImage */
    g_assert_false(linux_parse_setup(&img, &info, &err));
    g_assert_nonnull(strstr(err->message, "zImage"));
    g_clear_error(&err);
}

static void test_bzimage_load(void)
{
    g_autoptr(GByteArray) a = bzimage(0x20f, 1);
    g_autoptr(GByteArray) old = bzimage(0x20a, 0);
    char *k = write_tmp(a->data, a->len);
    char *k32 = write_tmp(old->data, old->data ? old->len : 0);
    char *initrd = write_tmp("RD", 2);
    g_autofree char *cmd = NULL;
    GError *err = NULL;
    uint32_t zp, rd;
    uint8_t e820_entries;

    x86_boot_acpi_rsdp = 0x9fc00;   /* as hw/i386/acpi-direct.c sets it */
    g_assert_true(load(k, initrd, "quiet", &err));
    x86_boot_acpi_rsdp = 0;
    g_assert_no_error(err);
    g_assert_cmpint(x86_boot_entry.mode, ==, X86_BOOT_LONG64);
    g_assert_cmphex(x86_boot_entry.rip, ==, 0x100200);
    g_assert_cmphex(x86_boot_entry.cr3, ==, X86_BOOT_PML4_ADDR);
    zp = x86_boot_entry.rsi;
    g_assert_cmphex(guest_ld32(zp + 0x070), ==, 0x9fc00); /* acpi_rsdp_addr */
    g_assert_cmphex(guest_ld32(zp + 0x074), ==, 0);
    g_assert_cmphex(guest_ld32(zp + 0x202), ==, ldl_le_p("HdrS"));
    g_assert_cmphex(guest_ld32(zp + 0x210) & 0xff, ==, 0xff);
    cmd = guest_str(guest_ld32(zp + 0x228));
    g_assert_cmpstr(cmd, ==, "quiet");
    rd = guest_ld32(zp + 0x218);
    g_assert_cmphex(rd % 4096, ==, 0);
    g_assert_cmphex(rd, ==, RAM_SIZE - 4096);
    g_assert_cmpuint(guest_ld32(zp + 0x21c), ==, 2);
    g_assert_cmpint(dma_read(zp + 0x1e8, &e820_entries, 1), ==, MEMTX_OK);
    g_assert_cmpuint(e820_entries, ==, 4);
    g_assert_cmphex(guest_ld32(0x100000), ==, 0xcccccccc);
    /* identity map: PD entry for 2 MiB maps 2 MiB */
    g_assert_cmphex(guest_ld32(X86_BOOT_PD_ADDR + 8), ==, 0x200083);

    /* command line longer than cmdline_size */
    g_assert_false(load(k, NULL, "this command line is far longer than "
                        "thirty-two bytes", &err));
    g_assert_nonnull(strstr(err->message, "too long"));
    g_clear_error(&err);

    /* no 64-bit entry: the 32-bit protocol */
    g_assert_true(load(k32, NULL, NULL, &err));
    g_assert_cmpint(x86_boot_entry.mode, ==, X86_BOOT_PROT32);
    g_assert_cmphex(x86_boot_entry.rip, ==, 0x100000);
    g_assert_cmphex(x86_boot_entry.rsi, ==, X86_BOOT_INFO_ADDR);
}

static void test_unknown_and_missing(void)
{
    char *junk = write_tmp("just some text, not a kernel", 28);
    char *empty = write_tmp("", 0);
    GError *err = NULL;

    g_assert_false(load(junk, NULL, NULL, &err));
    g_assert_nonnull(strstr(err->message, "is not a kernel"));
    g_clear_error(&err);
    g_assert_false(load(empty, NULL, NULL, &err));
    g_clear_error(&err);
    g_assert_false(load("/nonexistent/kernel", NULL, NULL, &err));
    g_assert_cmpstr(err->message, ==, "could not open kernel file "
                    "'/nonexistent/kernel': No such file or directory");
    g_clear_error(&err);
}

static void remove_tmp(gpointer p)
{
    unlink(p);
    g_free(p);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmp_files = g_ptr_array_new_with_free_func(remove_tmp);
    setup_machine();
    g_test_add_func("/x86-boot/e820/sorted", test_e820_sorted);
    g_test_add_func("/x86-boot/multiboot/parse", test_multiboot_parse);
    g_test_add_func("/x86-boot/multiboot/load-aout",
                    test_multiboot_load_aout);
    g_test_add_func("/x86-boot/multiboot/bad-addresses",
                    test_multiboot_bad_addresses);
    g_test_add_func("/x86-boot/multiboot/elf", test_multiboot_elf);
    g_test_add_func("/x86-boot/elf/hostile", test_elf_parse_hostile);
    g_test_add_func("/x86-boot/pvh/load", test_pvh_load);
    g_test_add_func("/x86-boot/bzimage/parse", test_bzimage_parse);
    g_test_add_func("/x86-boot/bzimage/load", test_bzimage_load);
    g_test_add_func("/x86-boot/unknown", test_unknown_and_missing);
    ret = g_test_run();
    g_ptr_array_free(tmp_files, TRUE);
    return ret;
}
