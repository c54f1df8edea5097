/*
 * Unit tests of the table generators, byte for byte against the specs:
 * AML encodings (ACPI 6.4 chapter 20: PkgLength, NameString, integers,
 * strings, EISA IDs, methods, fields, resource descriptors from 6.4),
 * the BIOS linker/loader command layout, the pc ACPI tables built from a
 * synthetic configuration (every table header and pointer consistent),
 * and the SMBIOS UUID byte order.
 */
#include "qemu/osdep.h"
#include "hw/acpi/aml-build.h"
#include "hw/acpi/bios-linker-loader.h"
#include "hw/i386/acpi-build.h"
#include "hw/smbios/smbios.h"

static void assert_bytes(const Aml *a, const uint8_t *expect, size_t len)
{
    const GByteArray *b = aml_bytes(a);

    if (b->len != len || memcmp(b->data, expect, len)) {
        g_autoptr(GString) s = g_string_new(NULL);
        for (unsigned i = 0; i < b->len; i++) {
            g_string_append_printf(s, "%02x ", b->data[i]);
        }
        g_error("got %u bytes: %s (want %zu)", b->len, s->str, len);
    }
}

#define ASSERT_BYTES(a, ...) do { \
        static const uint8_t e_[] = { __VA_ARGS__ }; \
        assert_bytes((a), e_, sizeof(e_)); \
    } while (0)

/* Wrap @child in a plain block so its encoded form can be inspected. */
static Aml *enc(const Aml *child)
{
    Aml *b = aml_block_new();

    aml_append(b, child);
    return b;
}

static void test_integers(void)
{
    aml_pool_begin();
    ASSERT_BYTES(enc(aml_int(0)), 0x00);
    ASSERT_BYTES(enc(aml_int(1)), 0x01);
    ASSERT_BYTES(enc(aml_int(2)), 0x0a, 0x02);
    ASSERT_BYTES(enc(aml_int(0xff)), 0x0a, 0xff);
    ASSERT_BYTES(enc(aml_int(0x100)), 0x0b, 0x00, 0x01);
    ASSERT_BYTES(enc(aml_int(0x10000)), 0x0c, 0x00, 0x00, 0x01, 0x00);
    ASSERT_BYTES(enc(aml_int(1ULL << 32)), 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
    ASSERT_BYTES(enc(aml_string("AB")), 0x0d, 'A', 'B', 0x00);
    /* PNP0A03: 'P' 'N' 'P' in 5 bits each, then 0A03, stored MSB first. */
    ASSERT_BYTES(enc(aml_eisaid("PNP0A03")), 0x0c, 0x41, 0xd0, 0x0a, 0x03);
    ASSERT_BYTES(enc(aml_arg(2)), 0x6a);
    ASSERT_BYTES(enc(aml_local(7)), 0x67);
    aml_pool_end();
}

static void test_names(void)
{
    aml_pool_begin();
    ASSERT_BYTES(enc(aml_name("_S5")), '_', 'S', '5', '_');
    ASSERT_BYTES(enc(aml_name("\\_SB.PCI0")), '\\', 0x2e,
                 '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
    ASSERT_BYTES(enc(aml_name("A.B.C")), 0x2f, 3, 'A', '_', '_', '_',
                 'B', '_', '_', '_', 'C', '_', '_', '_');
    ASSERT_BYTES(enc(aml_name("^^LNK")), '^', '^', 'L', 'N', 'K', '_');
    ASSERT_BYTES(enc(aml_name("\\")), '\\', 0x00);
    ASSERT_BYTES(enc(aml_name_decl("_UID", aml_int(4))), 0x08,
                 '_', 'U', 'I', 'D', 0x0a, 0x04);
    aml_pool_end();
}

/* PkgLength: 1 byte up to 63, then 2 bytes (12 bits), 3 bytes (20 bits). */
static void test_pkglen(void)
{
    const GByteArray *b;

    aml_pool_begin();
    /* Buffer(60): body = 0a 3c + 60 bytes = 62; total 63 fits one byte. */
    b = aml_bytes(enc(aml_buffer(60, NULL)));
    g_assert_cmphex(b->data[0], ==, 0x11);
    g_assert_cmphex(b->data[1], ==, 0x3f);
    g_assert_cmpuint(b->len, ==, 1 + 63);
    /* Buffer(61): body 63, total 65 needs two bytes: 0x41 0x04. */
    b = aml_bytes(enc(aml_buffer(61, NULL)));
    g_assert_cmphex(b->data[1], ==, 0x41);
    g_assert_cmphex(b->data[2], ==, 0x04);
    g_assert_cmpuint(b->len, ==, 1 + 65);
    /* Buffer(5000): body 0b 88 13 + 5000 = 5003, total 5006 (3 bytes). */
    b = aml_bytes(enc(aml_buffer(5000, NULL)));
    g_assert_cmphex(b->data[1], ==, 0x80 | (5006 & 0xf));
    g_assert_cmphex(b->data[2], ==, (5006 >> 4) & 0xff);
    g_assert_cmphex(b->data[3], ==, 5006 >> 12);
    g_assert_cmpuint(b->len, ==, 1 + 5006);
    /* A field width is a PkgLength that does not count itself. */
    ASSERT_BYTES(enc(aml_named_field("PRQ0", 8)), 'P', 'R', 'Q', '0', 0x08);
    ASSERT_BYTES(enc(aml_named_field("BIG_", 100)), 'B', 'I', 'G', '_',
                 0x44, 0x06);
    aml_pool_end();
}

static void test_blocks(void)
{
    Aml *m, *f, *d, *p;

    aml_pool_begin();
    m = aml_method("_STA", 0, false);
    aml_append(m, aml_return(aml_int(0x0b)));
    ASSERT_BYTES(enc(m), 0x14, 0x09, '_', 'S', 'T', 'A', 0x00,
                 0xa4, 0x0a, 0x0b);
    m = aml_method("IQCR", 1, true);
    ASSERT_BYTES(enc(m), 0x14, 0x06, 'I', 'Q', 'C', 'R', 0x09);
    f = aml_field("P40C", AML_BYTE_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_append(f, aml_named_field("PRQ0", 8));
    ASSERT_BYTES(enc(f), 0x5b, 0x81, 0x0b, 'P', '4', '0', 'C', 0x01,
                 'P', 'R', 'Q', '0', 0x08);
    d = aml_device("RTC");
    ASSERT_BYTES(enc(d), 0x5b, 0x82, 0x05, 'R', 'T', 'C', '_');
    p = aml_package(2);
    aml_append(p, aml_int(0));
    aml_append(p, aml_name("LNKA"));
    ASSERT_BYTES(enc(p), 0x12, 0x07, 0x02, 0x00, 'L', 'N', 'K', 'A');
    ASSERT_BYTES(enc(aml_processor(3, 0, 0, "C%03X", 3)), 0x5b, 0x83, 0x0b,
                 'C', '0', '0', '3', 0x03, 0, 0, 0, 0, 0x00);
    ASSERT_BYTES(enc(aml_operation_region("P40C", AML_PCI_CONFIG,
                                          aml_int(0x60), 4)),
                 0x5b, 0x80, 'P', '4', '0', 'C', 0x02, 0x0a, 0x60, 0x0a,
                 0x04);
    ASSERT_BYTES(enc(aml_or(aml_name("PRQ0"), aml_int(0x80),
                            aml_name("PRQ0"))),
                 0x7d, 'P', 'R', 'Q', '0', 0x0a, 0x80, 'P', 'R', 'Q', '0');
    ASSERT_BYTES(enc(aml_and(aml_int(0x80), aml_arg(0), NULL)),
                 0x7b, 0x0a, 0x80, 0x68, 0x00);
    ASSERT_BYTES(enc(aml_call1("IQST", aml_name("PRQ1"))),
                 'I', 'Q', 'S', 'T', 'P', 'R', 'Q', '1');
    aml_pool_end();
}

static void test_resources(void)
{
    static const uint32_t irqs[] = { 5, 10 };
    Aml *rt;

    aml_pool_begin();
    rt = aml_resource_template();
    aml_append(rt, aml_io(AML_DEC16, 0x70, 0x70, 1, 8));
    aml_append(rt, aml_irq_no_flags(8));
    /* Buffer(8 + 3 + 2) { IO, IRQNoFlags, EndTag } */
    ASSERT_BYTES(enc(rt), 0x11, 0x10, 0x0a, 0x0d,
                 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x08,
                 0x22, 0x00, 0x01,
                 0x79, 0x00);
    ASSERT_BYTES(enc(aml_memory32_fixed(0xfed00000, 0x400, false)),
                 0x86, 0x09, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xfe,
                 0x00, 0x04, 0x00, 0x00);
    /* Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10} */
    ASSERT_BYTES(enc(aml_interrupt(AML_LEVEL, AML_ACTIVE_HIGH, true, irqs,
                                   2)),
                 0x89, 0x0a, 0x00, 0x09, 0x02, 5, 0, 0, 0, 10, 0, 0, 0);
    ASSERT_BYTES(enc(aml_word_bus_number(0, 0xff)),
                 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0xff, 0,
                 0, 0, 0x00, 0x01);
    ASSERT_BYTES(enc(aml_word_io(0x0d00, 0xffff)),
                 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d,
                 0xff, 0xff, 0, 0, 0x00, 0xf3);
    ASSERT_BYTES(enc(aml_dword_memory(AML_NON_CACHEABLE, 0x08000000,
                                      0xfebfffff)),
                 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0,
                 0x00, 0x00, 0x00, 0x08, 0xff, 0xff, 0xbf, 0xfe,
                 0, 0, 0, 0, 0x00, 0x00, 0xc0, 0xf6);
    g_assert_cmpuint(aml_bytes(enc(aml_qword_memory(AML_CACHEABLE,
                     1ULL << 32, (3ULL << 31) - 1)))->len, ==, 3 + 43);
    aml_pool_end();
}

static void test_linker(void)
{
    BIOSLinker *l = bios_linker_loader_new();
    GByteArray *a = g_byte_array_new(), *b = g_byte_array_new();
    const uint8_t *e;

    g_byte_array_set_size(a, 16);
    g_byte_array_set_size(b, 64);
    memset(a->data, 0xee, a->len);
    bios_linker_loader_alloc(l, "fa", a, 16, true);
    bios_linker_loader_alloc(l, "fb", b, 64, false);
    bios_linker_loader_add_pointer(l, "fa", 4, 4, "fb", 0x20);
    bios_linker_loader_add_checksum(l, "fa", 0, 16, 8);
    g_assert_cmpuint(l->cmds->len, ==, 4 * 128);
    e = l->cmds->data;
    g_assert_cmpuint(ldl_le_p(e), ==, 1);
    g_assert_cmpstr((const char *)e + 4, ==, "fa");
    g_assert_cmpuint(ldl_le_p(e + 60), ==, 16);
    g_assert_cmpuint(e[64], ==, 2);                 /* F segment */
    g_assert_cmpuint(e[128 + 64], ==, 1);           /* high */
    e += 256;
    g_assert_cmpuint(ldl_le_p(e), ==, 2);
    g_assert_cmpstr((const char *)e + 4, ==, "fa");
    g_assert_cmpstr((const char *)e + 60, ==, "fb");
    g_assert_cmpuint(ldl_le_p(e + 116), ==, 4);
    g_assert_cmpuint(e[120], ==, 4);
    g_assert_cmphex(ldl_le_p(a->data + 4), ==, 0x20);   /* source offset */
    e += 128;
    g_assert_cmpuint(ldl_le_p(e), ==, 3);
    g_assert_cmpuint(ldl_le_p(e + 60), ==, 8);      /* checksum byte */
    g_assert_cmpuint(ldl_le_p(e + 64), ==, 0);      /* start */
    g_assert_cmpuint(ldl_le_p(e + 68), ==, 16);     /* length */
    g_assert_cmpuint(a->data[8], ==, 0);
    for (unsigned i = 0; i < 128; i++) {
        g_assert_cmpuint(e[72 + (i % 56)], ==, 0);
    }
    bios_linker_loader_free(l);
    g_byte_array_unref(a);
    g_byte_array_unref(b);
}

static void test_acpi_build(void)
{
    uint32_t ids[] = { 0, 1, 256 };     /* 256 needs an x2APIC entry */
    AcpiPcConfig cfg = {
        .nr_cpus = 3, .max_cpus = 3, .apic_ids = ids,
        .hpet = true, .hpet_block_id = 0x8086a201, .i8042 = true,
        .nr_serials = 2,
        .serials = { { 0x3f8, 4 }, { 0x2f8, 3 } },
        .pci_hole_start = 0x08000000, .pci_hole_end = 0xfebfffff,
        .pci_hole64_start = 1ULL << 32, .pci_hole64_size = 1ULL << 31,
    };
    AcpiBuildTables t;
    const uint8_t *p;
    size_t off = 64;                    /* after the FACS */
    static const char *const sigs[] = {
        "DSDT", "FACP", "APIC", "HPET", "WAET", "RSDT",
    };

    acpi_build(&cfg, &t);
    p = t.table_data->data;
    g_assert(!memcmp(p, "FACS", 4));
    for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
        g_assert_cmpuint(off + 36, <=, t.table_data->len);
        g_assert(!memcmp(p + off, sigs[i], 4));
        off += ldl_le_p(p + off + 4);
    }
    g_assert_cmpuint(off, ==, t.table_data->len);
    g_assert_cmpuint(t.rsdp->len, ==, 20);
    g_assert_cmpuint(t.linker->cmds->len % 128, ==, 0);
    /* DSDT: both COM ports; MADT: revision 3 with the x2APIC entry. */
    g_assert_nonnull(memmem(p, t.table_data->len, "COM1", 4));
    g_assert_nonnull(memmem(p, t.table_data->len, "COM2", 4));
    p = memmem(t.table_data->data, t.table_data->len, "APIC", 4);
    g_assert_nonnull(p);
    g_assert_cmpuint(p[8], ==, 3);
    acpi_build_tables_cleanup(&t);
}

static void test_smbios_uuid(void)
{
    static const uint8_t in[16] = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    };
    static const uint8_t want[16] = {
        3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15,
    };
    uint8_t out[16];

    smbios_encode_uuid(out, in);
    g_assert(!memcmp(out, want, 16));
}

static void test_smbios_parse(void)
{
    SmbiosOptions o;
    GError *err = NULL;

    smbios_options_init(&o);
    g_assert(smbios_parse_option(&o, "type=1,serial=abc,family=f", &err));
    g_assert_cmpstr(o.t1.serial, ==, "abc");
    g_assert_false(smbios_parse_option(&o, "type=1,bogus=1", &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'bogus'");
    g_clear_error(&err);
    g_assert_false(smbios_parse_option(&o, "type=0,release=300.1", &err));
    g_clear_error(&err);
    g_assert_false(smbios_parse_option(&o, "type=1,uuid=0011-22", &err));
    g_clear_error(&err);
    smbios_options_cleanup(&o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/aml/integers", test_integers);
    g_test_add_func("/aml/names", test_names);
    g_test_add_func("/aml/pkglen", test_pkglen);
    g_test_add_func("/aml/blocks", test_blocks);
    g_test_add_func("/aml/resources", test_resources);
    g_test_add_func("/linker/commands", test_linker);
    g_test_add_func("/acpi/build", test_acpi_build);
    g_test_add_func("/smbios/uuid", test_smbios_uuid);
    g_test_add_func("/smbios/parse", test_smbios_parse);
    return g_test_run();
}
