/*
 * ACPI tables for direct kernel boot (hw/i386/acpi-direct.c): install the
 * pc machine's tables into a RAM-backed memory map, then read them back
 * from guest memory as an OS would (ACPI 6.4 5.2.5 RSDP, 5.2.7 RSDT,
 * 5.2.9 FADT, 5.2.10 FACS, 5.2.12 MADT; IA-PC HPET 1.0a 3.2.4):
 * signatures, lengths, checksums, pointers, MADT entries per -smp
 * topology, the HPET table against the HPET's registers.  Then the
 * table-loader interpreter on hostile command lists: every one must be
 * refused with an error, never crash, and write nothing.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/acpi-direct.h"
#include "hw/i386/x86-boot.h"
#include "hw/timer/hpet.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "system/timer.h"
#include "target/i386/cpu.h"

#define RAM_SIZE        (16 * MiB)
#define HPET_BASE       0xfed00000ULL
#define IOAPIC_BASE     0xfec00000u
#define ACPI_HDR_LEN    36
#define RSDP_V1_LEN     20

static MachineState ms;

static void dummy_gsi(void *opaque, int n, int level)
{
}

static void setup_machine(void)
{
    main_loop_init();
    memory_init();
    qemu_clock_virtual_set_manual();
    ms.ram_size = ms.below_4g_mem_size = RAM_SIZE;
    memory_region_init_ram(&ms.ram, "ram", RAM_SIZE);
    memory_region_add_subregion(get_system_memory(), 0, &ms.ram);
    for (unsigned i = 0; i < GSI_NUM_PINS; i++) {
        ms.gsi[i] = qemu_allocate_irq(dummy_gsi, NULL, i);
    }
    current_machine = &ms;
}

static void set_smp(unsigned sockets, unsigned cores, unsigned threads)
{
    unsigned n = sockets * cores * threads;

    ms.smp = (SmpConfig){ .cpus = n, .sockets = sockets, .dies = 1,
                          .cores = cores, .threads = threads,
                          .max_cpus = n };
}

/* ---- reading guest memory ----------------------------------------------- */

static void guest_read(uint64_t addr, void *buf, size_t len)
{
    g_assert_cmpint(dma_read(addr, buf, len), ==, MEMTX_OK);
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--) {
        s += *p++;
    }
    return s;
}

/* A table's bytes, after checking where it lies, its signature, length
 * and checksum (FACS: no checksum). */
static uint8_t *read_table(uint64_t addr, const char *sig, uint32_t *len)
{
    uint8_t hdr[ACPI_HDR_LEN];
    uint8_t *t;
    bool facs = !strcmp(sig, "FACS");

    g_assert_cmphex(addr, >=, ACPI_DIRECT_TABLES_BASE);
    g_assert_cmphex(addr, <, ACPI_DIRECT_TABLES_END);
    guest_read(addr, hdr, sizeof(hdr));
    g_assert_cmpmem(hdr, 4, sig, 4);
    *len = ldl_le_p(hdr + 4);
    g_assert_cmpuint(*len, >=, facs ? 64 : ACPI_HDR_LEN);
    g_assert_cmphex(addr + *len, <=, ACPI_DIRECT_TABLES_END);
    t = g_malloc(*len);
    guest_read(addr, t, *len);
    if (!facs) {
        g_assert_cmpuint(sum8(t, *len), ==, 0);
        g_assert_cmpmem(t + 10, 6, "BOCHS ", 6);
    }
    return t;
}

/* The RSDP, found as an OS scans: the EBDA segment from the BDA. */
static uint64_t find_rsdp(void)
{
    uint8_t seg[2], ebda[ACPI_DIRECT_EBDA_SIZE];
    uint64_t base;

    guest_read(ACPI_DIRECT_BDA_EBDA, seg, 2);
    base = (uint64_t)lduw_le_p(seg) << 4;
    g_assert_cmphex(base, ==, ACPI_DIRECT_EBDA_BASE);
    guest_read(base, ebda, sizeof(ebda));
    for (unsigned off = 0; off + RSDP_V1_LEN <= sizeof(ebda); off += 16) {
        if (!memcmp(ebda + off, "RSD PTR ", 8) &&
            sum8(ebda + off, RSDP_V1_LEN) == 0) {
            return base + off;
        }
    }
    g_assert_not_reached();
}

/* The RSDT's entry for @sig (0 if none); every entry is checked. */
static uint64_t rsdt_find(const char *sig)
{
    uint8_t rsdp[RSDP_V1_LEN];
    g_autofree uint8_t *rsdt = NULL;
    uint32_t len;
    uint64_t found = 0;

    guest_read(find_rsdp(), rsdp, sizeof(rsdp));
    g_assert_cmpuint(rsdp[15], ==, 0);              /* revision 0 */
    rsdt = read_table(ldl_le_p(rsdp + 16), "RSDT", &len);
    g_assert_cmpuint((len - ACPI_HDR_LEN) % 4, ==, 0);
    for (uint32_t off = ACPI_HDR_LEN; off < len; off += 4) {
        uint64_t addr = ldl_le_p(rsdt + off);
        uint8_t s[5] = { 0 };
        uint32_t tlen;

        guest_read(addr, s, 4);
        g_free(read_table(addr, (const char *)s, &tlen));
        if (!memcmp(s, sig, 4)) {
            g_assert_cmphex(found, ==, 0);          /* listed once */
            found = addr;
        }
    }
    return found;
}

static void install(void)
{
    GError *err = NULL;

    g_assert_true(acpi_direct_install(&ms, &err));
    g_assert_no_error(err);
    g_assert_cmphex(x86_boot_acpi_rsdp, ==, find_rsdp());
    g_assert_cmphex(x86_boot_acpi_rsdp % 16, ==, 0);
}

/* ---- the tables --------------------------------------------------------- */

static void test_rsdp_fadt(void)
{
    g_autofree uint8_t *fadt = NULL, *dsdt = NULL, *facs = NULL;
    uint32_t len, dlen, flen;

    set_smp(1, 1, 1);
    install();
    fadt = read_table(rsdt_find("FACP"), "FACP", &len);
    g_assert_cmpuint(len, ==, 244);
    g_assert_cmpuint(fadt[8], ==, 3);               /* revision */
    dsdt = read_table(ldl_le_p(fadt + 40), "DSDT", &dlen);
    g_assert_cmphex(ldq_le_p(fadt + 140), ==, ldl_le_p(fadt + 40));
    facs = read_table(ldl_le_p(fadt + 36), "FACS", &flen);
    g_assert_cmphex(ldl_le_p(fadt + 36) % 64, ==, 0);
    g_assert_cmpuint(flen, ==, 64);
    g_assert_cmpuint(lduw_le_p(fadt + 46), ==, 9);  /* SCI_INT */
    g_assert_cmphex(ldl_le_p(fadt + 56), ==, 0x600);   /* PM1a_EVT_BLK */
    g_assert_cmpuint(dlen, >, ACPI_HDR_LEN);
    g_assert_cmpuint(rsdt_find("WAET"), !=, 0);
}

typedef struct MadtInfo {
    unsigned lapics;
    uint32_t apic_ids[256];
    uint32_t ioapic_addr;
    bool irq0_to_gsi2, irq9_level;
} MadtInfo;

static void madt_entry(const uint8_t *e, MadtInfo *mi)
{
    switch (e[0]) {
    case 0:                                         /* Local APIC */
        g_assert_cmpuint(e[1], ==, 8);
        g_assert_cmpuint(ldl_le_p(e + 4) & 1, ==, 1);
        g_assert_cmpuint(e[2], ==, mi->lapics);     /* processor UID */
        mi->apic_ids[mi->lapics++] = e[3];
        break;
    case 1:                                         /* I/O APIC */
        mi->ioapic_addr = ldl_le_p(e + 4);
        g_assert_cmpuint(ldl_le_p(e + 8), ==, 0);   /* GSI base */
        break;
    case 2:                                         /* source override */
        if (e[3] == 0 && ldl_le_p(e + 4) == 2) {
            mi->irq0_to_gsi2 = true;
        }
        if (e[3] == 9 && ldl_le_p(e + 4) == 9 &&
            ((lduw_le_p(e + 8) >> 2) & 3) == 3) {
            mi->irq9_level = true;
        }
        break;
    }
}

static void check_madt(unsigned sockets, unsigned cores, unsigned threads)
{
    g_autofree uint8_t *madt = NULL;
    MadtInfo mi = { 0 };
    X86CPUTopoInfo topo;
    uint32_t len;

    set_smp(sockets, cores, threads);
    install();
    madt = read_table(rsdt_find("APIC"), "APIC", &len);
    g_assert_cmphex(ldl_le_p(madt + 36), ==, 0xfee00000);
    for (uint32_t off = 44; off < len; off += madt[off + 1]) {
        g_assert_cmpuint(off + 2, <=, len);
        g_assert_cmpuint(madt[off + 1], >=, 2);
        g_assert_cmpuint(off + madt[off + 1], <=, len);
        madt_entry(madt + off, &mi);
    }
    g_assert_cmpuint(mi.lapics, ==, ms.smp.cpus);
    x86_topo_info_from_smp(&ms.smp, &topo);
    for (unsigned i = 0; i < mi.lapics; i++) {
        g_assert_cmpuint(mi.apic_ids[i], ==,
                         x86_apicid_from_cpu_idx(&topo, i));
    }
    g_assert_cmphex(mi.ioapic_addr, ==, IOAPIC_BASE);
    g_assert_true(mi.irq0_to_gsi2);
    g_assert_true(mi.irq9_level);
}

static void test_madt(void)
{
    check_madt(1, 1, 1);
    check_madt(1, 2, 1);
    check_madt(2, 3, 2);        /* APIC IDs with gaps */
    check_madt(1, 255, 1);      /* the most the pc machine takes */
}

static void test_no_hpet(void)
{
    ms.enable_hpet = false;
    set_smp(1, 1, 1);
    install();
    g_assert_cmphex(rsdt_find("HPET"), ==, 0);
}

static void test_hpet(void)
{
    GError *err = NULL;
    DeviceState *dev = device_new(TYPE_HPET, &err);
    g_autofree uint8_t *hpet = NULL;
    uint64_t cap;
    uint32_t len;

    g_assert_no_error(err);
    g_assert_true(device_realize(dev, &err));
    g_assert_no_error(err);
    ms.enable_hpet = true;
    set_smp(1, 1, 1);
    install();
    hpet = read_table(rsdt_find("HPET"), "HPET", &len);
    g_assert_cmpuint(len, ==, 56);
    g_assert_cmpint(address_space_read_val(&address_space_memory, HPET_BASE,
                                           &cap, 4), ==, MEMTX_OK);
    g_assert_cmphex(ldl_le_p(hpet + 36), ==, (uint32_t)cap);
    g_assert_cmpuint(hpet[40], ==, 0);              /* GAS: memory */
    g_assert_cmphex(ldq_le_p(hpet + 44), ==, HPET_BASE);
    device_destroy(dev);
    ms.enable_hpet = false;
}

/* The biggest pc machine's tables fit the area with room to spare. */
static void test_size_headroom(void)
{
    AcpiPcConfig cfg = {
        .nr_cpus = 255, .max_cpus = 255, .hpet = true,
        .hpet_block_id = 0x8086a201, .i8042 = true, .nr_serials = 4,
        .serials = { { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 } },
        .pci_hole_start = 0xc0000000, .pci_hole_end = 0xfebfffff,
        .pci_hole64_start = 0x800000000ULL, .pci_hole64_size = 2 * GiB,
    };
    AcpiBuildTables t;

    cfg.apic_ids = g_new(uint32_t, cfg.nr_cpus);
    for (unsigned i = 0; i < cfg.nr_cpus; i++) {
        cfg.apic_ids[i] = i;
    }
    acpi_build(&cfg, &t);
    g_test_message("255 CPUs: %u bytes of tables, %u of RSDP",
                   t.table_data->len, t.rsdp->len);
    g_assert_cmpuint(t.table_data->len, <=, ACPI_DIRECT_TABLES_SIZE / 2);
    g_assert_cmpuint(t.rsdp->len, <=, ACPI_DIRECT_EBDA_SIZE);
    acpi_build_tables_cleanup(&t);
    acpi_pc_config_cleanup(&cfg);
}

/* A reset reinstalls the same bytes, whatever the guest did meanwhile. */
static void test_reinstall(void)
{
    g_autofree uint8_t *a = g_malloc(ACPI_DIRECT_TABLES_SIZE);
    g_autofree uint8_t *b = g_malloc(ACPI_DIRECT_TABLES_SIZE);
    uint8_t ebda_a[ACPI_DIRECT_EBDA_SIZE], ebda_b[ACPI_DIRECT_EBDA_SIZE];
    uint8_t junk[4096];

    set_smp(1, 2, 1);
    install();
    guest_read(ACPI_DIRECT_TABLES_BASE, a, ACPI_DIRECT_TABLES_SIZE);
    guest_read(ACPI_DIRECT_EBDA_BASE, ebda_a, sizeof(ebda_a));
    memset(junk, 0xa5, sizeof(junk));
    for (uint64_t off = 0; off < 0x10000; off += sizeof(junk)) {
        dma_write(ACPI_DIRECT_TABLES_BASE + off, junk, sizeof(junk));
    }
    dma_write(0x400, junk, 0x100);                  /* the BDA too */
    install();
    guest_read(ACPI_DIRECT_TABLES_BASE, b, ACPI_DIRECT_TABLES_SIZE);
    guest_read(ACPI_DIRECT_EBDA_BASE, ebda_b, sizeof(ebda_b));
    g_assert_cmpmem(a, ACPI_DIRECT_TABLES_SIZE, b, ACPI_DIRECT_TABLES_SIZE);
    g_assert_cmpmem(ebda_a, sizeof(ebda_a), ebda_b, sizeof(ebda_b));
}

/* ---- the table-loader interpreter on hostile input ---------------------- */

typedef struct HostileCase {
    const char *what;
    void (*make)(GByteArray *cmds);
} HostileCase;

static uint8_t *add_cmd(GByteArray *cmds, uint32_t cmd)
{
    size_t off = cmds->len;

    g_byte_array_set_size(cmds, off + BIOS_LINKER_LOADER_ENTRY_SIZE);
    memset(cmds->data + off, 0, BIOS_LINKER_LOADER_ENTRY_SIZE);
    stl_le_p(cmds->data + off, cmd);
    return cmds->data + off;
}

static void add_alloc(GByteArray *cmds, const char *file, uint32_t align,
                      uint8_t zone)
{
    uint8_t *e = add_cmd(cmds, BIOS_LINKER_LOADER_CMD_ALLOCATE);

    memcpy(e + 4, file, MIN(strlen(file), (size_t)56));
    stl_le_p(e + 60, align);
    e[64] = zone;
}

static void add_ptr(GByteArray *cmds, const char *dst, const char *src,
                    uint32_t off, uint8_t size)
{
    uint8_t *e = add_cmd(cmds, BIOS_LINKER_LOADER_CMD_ADD_POINTER);

    memcpy(e + 4, dst, strlen(dst));
    memcpy(e + 60, src, strlen(src));
    stl_le_p(e + 116, off);
    e[120] = size;
}

static void add_cksum(GByteArray *cmds, const char *file, uint32_t off,
                      uint32_t start, uint32_t len)
{
    uint8_t *e = add_cmd(cmds, BIOS_LINKER_LOADER_CMD_ADD_CHECKSUM);

    memcpy(e + 4, file, strlen(file));
    stl_le_p(e + 60, off);
    stl_le_p(e + 64, start);
    stl_le_p(e + 68, len);
}

#define HIGH BIOS_LINKER_LOADER_ALLOC_ZONE_HIGH
#define FSEG BIOS_LINKER_LOADER_ALLOC_ZONE_FSEG

static void h_unknown_cmd(GByteArray *c) { add_cmd(c, 4); }
static void h_zero_cmd(GByteArray *c) { add_cmd(c, 0); }
static void h_truncated(GByteArray *c) { g_byte_array_set_size(c, 100); }
static void h_unknown_file(GByteArray *c) { add_alloc(c, "nope", 16, HIGH); }
static void h_empty_name(GByteArray *c) { add_alloc(c, "", 16, HIGH); }
static void h_unterminated_name(GByteArray *c)
{
    add_alloc(c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 16,
              HIGH);
}
static void h_align_zero(GByteArray *c) { add_alloc(c, "small", 0, HIGH); }
static void h_align_odd(GByteArray *c) { add_alloc(c, "small", 24, HIGH); }
static void h_align_huge(GByteArray *c)
{
    add_alloc(c, "small", 0x80000000u, HIGH);
}
static void h_bad_zone(GByteArray *c) { add_alloc(c, "small", 16, 3); }
static void h_twice(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_alloc(c, "small", 16, FSEG);
}
static void h_too_big_high(GByteArray *c) { add_alloc(c, "big", 16, HIGH); }
static void h_too_big_fseg(GByteArray *c) { add_alloc(c, "mid", 16, FSEG); }
static void h_ptr_unplaced(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_ptr(c, "small", "mid", 0, 4);
}
static void h_ptr_size(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_ptr(c, "small", "small", 0, 3);
}
static void h_ptr_past_end(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_ptr(c, "small", "small", 61, 4);
}
static void h_ptr_huge_offset(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_ptr(c, "small", "small", 0xfffffffeu, 4);
}
static void h_ptr_overflow(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_ptr(c, "small", "small", 62, 2);   /* small's bytes are 0xff */
}
static void h_cksum_unplaced(GByteArray *c) { add_cksum(c, "small", 0, 0, 4); }
static void h_cksum_range(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_cksum(c, "small", 0, 60, 8);
}
static void h_cksum_wrap(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_cksum(c, "small", 0, 8, 0xfffffffcu);
}
static void h_cksum_offset(GByteArray *c)
{
    add_alloc(c, "small", 16, HIGH);
    add_cksum(c, "small", 64, 0, 64);
}

static const HostileCase hostile_cases[] = {
    { "unknown command", h_unknown_cmd },
    { "command 0", h_zero_cmd },
    { "partial command", h_truncated },
    { "unknown file", h_unknown_file },
    { "empty file name", h_empty_name },
    { "unterminated file name", h_unterminated_name },
    { "alignment 0", h_align_zero },
    { "alignment not a power of two", h_align_odd },
    { "alignment 2 GiB", h_align_huge },
    { "unknown zone", h_bad_zone },
    { "allocated twice", h_twice },
    { "too big for the tables area", h_too_big_high },
    { "too big for the EBDA", h_too_big_fseg },
    { "pointer to an unallocated file", h_ptr_unplaced },
    { "pointer size 3", h_ptr_size },
    { "pointer past the end", h_ptr_past_end },
    { "pointer offset near 2^32", h_ptr_huge_offset },
    { "pointer value too wide", h_ptr_overflow },
    { "checksum of an unallocated file", h_cksum_unplaced },
    { "checksum range past the end", h_cksum_range },
    { "checksum range wrapping", h_cksum_wrap },
    { "checksum byte past the end", h_cksum_offset },
};

static void test_hostile(void)
{
    g_autoptr(GByteArray) small = g_byte_array_new();
    g_autoptr(GByteArray) mid = g_byte_array_new();
    g_autoptr(GByteArray) big = g_byte_array_new();
    uint8_t before[256], after[256];

    g_byte_array_set_size(small, 64);
    memset(small->data, 0xff, 64);
    g_byte_array_set_size(mid, ACPI_DIRECT_EBDA_SIZE + 1);
    memset(mid->data, 0, mid->len);
    g_byte_array_set_size(big, ACPI_DIRECT_TABLES_SIZE + 1);
    memset(big->data, 0, big->len);
    memset(before, 0x5a, sizeof(before));
    dma_write(ACPI_DIRECT_TABLES_BASE, before, sizeof(before));
    for (unsigned i = 0; i < ARRAY_SIZE(hostile_cases); i++) {
        AcpiDirectFile files[] = {
            { .name = "small", .blob = small },
            { .name = "mid", .blob = mid },
            { .name = "big", .blob = big },
        };
        g_autoptr(GByteArray) cmds = g_byte_array_new();
        GError *err = NULL;

        hostile_cases[i].make(cmds);
        g_assert_false(acpi_direct_run_loader(cmds, files, ARRAY_SIZE(files),
                                              &err));
        g_assert_nonnull(err);
        g_test_message("%s: %s", hostile_cases[i].what, err->message);
        g_error_free(err);
        for (unsigned f = 0; f < ARRAY_SIZE(files); f++) {
            g_assert_cmphex(files[f].addr, ==, 0);
        }
        guest_read(ACPI_DIRECT_TABLES_BASE, after, sizeof(after));
        g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
        g_assert_cmpuint(small->data[0], ==, 0xff);     /* input intact */
    }
}

/* A well-formed list: the interpreter's arithmetic, byte by byte. */
static void test_link_arithmetic(void)
{
    g_autoptr(GByteArray) a = g_byte_array_new();
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GByteArray) cmds = g_byte_array_new();
    AcpiDirectFile files[] = {
        { .name = "a", .blob = a },
        { .name = "b", .blob = b },
    };
    GError *err = NULL;
    uint8_t got[16];

    g_byte_array_set_size(a, 16);
    memset(a->data, 0, 16);
    stl_le_p(a->data + 4, 8);           /* offset into b */
    a->data[15] = 0x11;
    g_byte_array_set_size(b, 20);
    memset(b->data, 0x01, 20);
    add_alloc(cmds, "a", 16, FSEG);
    add_alloc(cmds, "b", 64, HIGH);
    add_ptr(cmds, "a", "b", 4, 4);
    add_ptr(cmds, "a", "b", 8, 2);      /* 0 + 0x90000 needs 20 bits */
    g_assert_false(acpi_direct_run_loader(cmds, files, 2, &err));
    g_clear_error(&err);
    /* drop that last pointer, close with a checksum */
    g_byte_array_set_size(cmds, cmds->len - BIOS_LINKER_LOADER_ENTRY_SIZE);
    add_cksum(cmds, "a", 0, 0, 16);
    g_assert_true(acpi_direct_run_loader(cmds, files, 2, &err));
    g_assert_no_error(err);
    g_assert_cmphex(files[0].addr, ==, ACPI_DIRECT_RSDP_ZONE);
    g_assert_cmphex(files[1].addr, ==, ACPI_DIRECT_TABLES_BASE);
    guest_read(files[0].addr, got, sizeof(got));
    g_assert_cmphex(ldl_le_p(got + 4), ==, ACPI_DIRECT_TABLES_BASE + 8);
    g_assert_cmpuint(sum8(got, sizeof(got)), ==, 0);
    g_assert_cmpuint(ldl_le_p(a->data + 4), ==, 8);     /* input intact */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    setup_machine();
    g_test_add_func("/acpi-direct/rsdp-fadt", test_rsdp_fadt);
    g_test_add_func("/acpi-direct/madt", test_madt);
    g_test_add_func("/acpi-direct/no-hpet", test_no_hpet);
    g_test_add_func("/acpi-direct/hpet", test_hpet);
    g_test_add_func("/acpi-direct/size-headroom", test_size_headroom);
    g_test_add_func("/acpi-direct/reinstall", test_reinstall);
    g_test_add_func("/acpi-direct/loader/hostile", test_hostile);
    g_test_add_func("/acpi-direct/loader/link", test_link_arithmetic);
    return g_test_run();
}
