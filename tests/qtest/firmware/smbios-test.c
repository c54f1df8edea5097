/*
 * SMBIOS tables (DMTF DSP0134) through fw_cfg: the entry point anchor and
 * its checksums, a walk of every structure (header, formatted length,
 * string set), the defaults of the pc machine, -smbios type=0/1/4/11/17
 * fields, -uuid in SMBIOS byte order, the memory structures for large RAM,
 * the 3.0 entry point, and the option errors.
 */
#include "fw-cfg-util.h"
#include <string.h>

typedef struct Smbios {
    uint8_t *anchor, *tables;
    size_t anchor_len, tables_len;
} Smbios;

typedef struct Structure {
    uint8_t type, len;
    uint16_t handle;
    const uint8_t *p;               /* formatted area */
    const char *strings[16];
    unsigned nr_strings;
    size_t total;                   /* formatted + strings + terminator */
} Structure;

static void smbios_load(QTestState *s, Smbios *sm)
{
    sm->anchor = fw_cfg_get_file(s, "etc/smbios/smbios-anchor",
                                 &sm->anchor_len);
    sm->tables = fw_cfg_get_file(s, "etc/smbios/smbios-tables",
                                 &sm->tables_len);
    g_assert_nonnull(sm->anchor);
    g_assert_nonnull(sm->tables);
}

static void smbios_free(Smbios *sm)
{
    g_free(sm->anchor);
    g_free(sm->tables);
}

/* Parse the structure at @off (6.1.2, 6.1.3); returns false at the end. */
static bool next_structure(const Smbios *sm, size_t *off, Structure *st)
{
    const uint8_t *p = sm->tables + *off;
    size_t left = sm->tables_len - *off, i;

    if (!left) {
        return false;
    }
    memset(st, 0, sizeof(*st));
    g_assert_cmpuint(left, >=, 4);
    st->type = p[0];
    st->len = p[1];
    st->handle = p[2] | p[3] << 8;
    st->p = p;
    g_assert_cmpuint(st->len, >=, 4);
    g_assert_cmpuint(st->len + 2, <=, left);
    i = st->len;
    if (!p[i] && !p[i + 1]) {
        i += 2;                         /* no strings */
    } else {
        while (p[i]) {
            const uint8_t *nul = memchr(p + i, 0, left - i);
            g_assert_nonnull(nul);
            g_assert_cmpuint(st->nr_strings, <, G_N_ELEMENTS(st->strings));
            st->strings[st->nr_strings++] = (const char *)p + i;
            i = nul - p + 1;
            g_assert_cmpuint(i, <, left);
        }
        i++;
    }
    st->total = i;
    *off += i;
    return true;
}

static const char *str(const Structure *st, unsigned field_off)
{
    uint8_t idx = st->p[field_off];

    if (!idx) {
        return NULL;
    }
    g_assert_cmpuint(idx, <=, st->nr_strings);
    return st->strings[idx - 1];
}

/* Walk everything; check the 2.1 anchor against it; types in order. */
static GString *walk(const Smbios *sm)
{
    GString *types = g_string_new(NULL);
    size_t off = 0, max = 0;
    unsigned count = 0;
    Structure st;

    while (next_structure(sm, &off, &st)) {
        g_string_append_printf(types, "%u ", st.type);
        max = MAX(max, st.total);
        count++;
        if (st.type == 127) {
            g_assert_cmpuint(off, ==, sm->tables_len);
        }
    }
    if (sm->anchor_len == 31) {
        const uint8_t *a = sm->anchor;
        g_assert(!memcmp(a, "_SM_", 4));
        g_assert_cmpuint(a[5], ==, 31);
        g_assert_cmpuint(a[6], ==, 2);
        g_assert_cmpuint(a[7], ==, 8);
        g_assert_cmpuint(a[8] | a[9] << 8, ==, max);
        g_assert(!memcmp(a + 16, "_DMI_", 5));
        g_assert_cmpuint(a[22] | a[23] << 8, ==, sm->tables_len);
        g_assert_cmpuint(a[28] | a[29] << 8, ==, count);
        g_assert_cmphex(a[30], ==, 0x28);
        g_assert_cmpuint(byte_sum(a, 31), ==, 0);
        g_assert_cmpuint(byte_sum(a + 16, 15), ==, 0);
    } else {
        const uint8_t *a = sm->anchor;
        g_assert_cmpuint(sm->anchor_len, ==, 24);
        g_assert(!memcmp(a, "_SM3_", 5));
        g_assert_cmpuint(a[6], ==, 24);
        g_assert_cmpuint(a[7], ==, 3);
        g_assert_cmpuint(ldl_le(a + 12), ==, sm->tables_len);
        g_assert_cmpuint(byte_sum(a, 24), ==, 0);
    }
    return types;
}

static bool find_type(const Smbios *sm, uint8_t type, unsigned nth,
                      Structure *out)
{
    size_t off = 0;

    while (next_structure(sm, &off, out)) {
        if (out->type == type && nth-- == 0) {
            return true;
        }
    }
    return false;
}

static void test_defaults(void)
{
    QTestState *s = qtest_init("");
    Smbios sm;
    g_autoptr(GString) types = NULL;
    Structure st;
    static const uint8_t zero[16];

    smbios_load(s, &sm);
    types = walk(&sm);
    g_assert_cmpstr(types->str, ==, "1 3 4 16 17 19 32 127 ");
    g_assert(find_type(&sm, 1, 0, &st));
    g_assert_cmphex(st.handle, ==, 0x100);
    g_assert_cmpstr(str(&st, 4), ==, "QEMU");
    g_assert_cmpstr(str(&st, 5), ==, "Standard PC (i440FX + PIIX, 1996)");
    g_assert_cmpstr(str(&st, 6), ==, "pc-i440fx-7.2");
    g_assert_null(str(&st, 7));
    g_assert(!memcmp(st.p + 8, zero, 16));
    g_assert(find_type(&sm, 4, 0, &st));
    g_assert_cmpstr(str(&st, 4), ==, "CPU 0");
    g_assert_cmpuint(st.p[0x23], ==, 1);        /* core count */
    g_assert(find_type(&sm, 16, 0, &st));
    g_assert_cmphex(ldl_le(st.p + 7), ==, 128 * 1024);      /* KB */
    g_assert(find_type(&sm, 17, 0, &st));
    g_assert_cmpuint(st.p[0x0c] | st.p[0x0d] << 8, ==, 128);  /* MB */
    g_assert_cmpstr(str(&st, 0x10), ==, "DIMM 0");
    g_assert(find_type(&sm, 19, 0, &st));
    g_assert_cmphex(ldl_le(st.p + 4), ==, 0);
    g_assert_cmphex(ldl_le(st.p + 8), ==, 128 * 1024 - 1);
    smbios_free(&sm);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_type1_uuid(void)
{
    QTestState *s = qtest_init(
        "-uuid 00112233-4455-6677-8899-aabbccddeeff "
        "-smbios type=1,manufacturer=Acme,product=Widget,version=2.0,"
        "serial=SN123,sku=SKU9,family=Fam");
    /* SMBIOS 2.6+: time_low, time_mid, time_hi little-endian. */
    static const uint8_t enc[16] = {
        0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    };
    Smbios sm;
    g_autoptr(GString) types = NULL;
    Structure st;

    smbios_load(s, &sm);
    types = walk(&sm);
    g_assert(find_type(&sm, 1, 0, &st));
    g_assert_cmpuint(st.len, ==, 0x1b);
    g_assert_cmpstr(str(&st, 4), ==, "Acme");
    g_assert_cmpstr(str(&st, 5), ==, "Widget");
    g_assert_cmpstr(str(&st, 6), ==, "2.0");
    g_assert_cmpstr(str(&st, 7), ==, "SN123");
    g_assert(!memcmp(st.p + 8, enc, 16));
    g_assert_cmpuint(st.p[0x18], ==, 6);        /* wake-up: power switch */
    g_assert_cmpstr(str(&st, 0x19), ==, "SKU9");
    g_assert_cmpstr(str(&st, 0x1a), ==, "Fam");
    smbios_free(&sm);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_uuid_from_smbios(void)
{
    QTestState *s = qtest_init(
        "-smbios type=1,uuid=ffeeddcc-bbaa-9988-7766-554433221100");
    uint8_t fw_uuid[16];
    Smbios sm;
    Structure st;

    /* type=1,uuid= is the system UUID: fw_cfg key 2 in string order. */
    fw_cfg_read_entry(s, FW_CFG_UUID, fw_uuid, 16);
    g_assert_cmphex(fw_uuid[0], ==, 0xff);
    g_assert_cmphex(fw_uuid[15], ==, 0x00);
    smbios_load(s, &sm);
    g_assert(find_type(&sm, 1, 0, &st));
    g_assert_cmphex(st.p[8], ==, 0xcc);
    g_assert_cmphex(st.p[11], ==, 0xff);
    smbios_free(&sm);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_type0_and_oem(void)
{
    QTestState *s = qtest_init(
        "-smbios type=0,vendor=KVendor,version=9.9,date=01/02/2023,"
        "release=1.5,uefi=on -smbios type=11,value=first,value=second "
        "-smbios type=4,sock_pfx=Socket,max-speed=3000");
    Smbios sm;
    g_autoptr(GString) types = NULL;
    Structure st;

    smbios_load(s, &sm);
    types = walk(&sm);
    g_assert_cmpstr(types->str, ==, "0 1 3 4 11 16 17 19 32 127 ");
    g_assert(find_type(&sm, 0, 0, &st));
    g_assert_cmpstr(str(&st, 4), ==, "KVendor");
    g_assert_cmpstr(str(&st, 5), ==, "9.9");
    g_assert_cmpstr(str(&st, 8), ==, "01/02/2023");
    g_assert_cmphex(st.p[0x13], ==, 0x1c);       /* VM | TCD | UEFI */
    g_assert_cmpuint(st.p[0x14], ==, 1);
    g_assert_cmpuint(st.p[0x15], ==, 5);
    g_assert(find_type(&sm, 11, 0, &st));
    g_assert_cmpuint(st.p[4], ==, 2);
    g_assert_cmpstr(st.strings[0], ==, "first");
    g_assert_cmpstr(st.strings[1], ==, "second");
    g_assert(find_type(&sm, 4, 0, &st));
    g_assert_cmpstr(str(&st, 4), ==, "Socket 0");
    g_assert_cmpuint(st.p[0x14] | st.p[0x15] << 8, ==, 3000);
    smbios_free(&sm);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_sockets_and_memory(void)
{
    QTestState *s = qtest_init("-smp 8,sockets=2,cores=2,threads=2 -m 20G");
    Smbios sm;
    g_autoptr(GString) types = NULL;
    Structure st;

    smbios_load(s, &sm);
    types = walk(&sm);
    g_assert_cmpstr(types->str, ==,
                    "1 3 4 4 16 17 17 19 19 32 127 ");
    g_assert(find_type(&sm, 4, 1, &st));
    g_assert_cmphex(st.handle, ==, 0x401);
    g_assert_cmpstr(str(&st, 4), ==, "CPU 1");
    g_assert_cmpuint(st.p[0x23], ==, 2);        /* cores per socket */
    g_assert_cmpuint(st.p[0x25], ==, 4);        /* threads per socket */
    g_assert(find_type(&sm, 17, 0, &st));
    g_assert_cmpuint(st.p[0x0c] | st.p[0x0d] << 8, ==, 16384);
    g_assert(find_type(&sm, 17, 1, &st));
    g_assert_cmpuint(st.p[0x0c] | st.p[0x0d] << 8, ==, 4096);
    /* RAM: 3 GiB below 4 GiB, 17 GiB from 4 GiB on. */
    g_assert(find_type(&sm, 19, 1, &st));
    g_assert_cmphex(ldl_le(st.p + 4), ==, 4ULL << 20);          /* KB */
    g_assert_cmphex(ldl_le(st.p + 8), ==, (21ULL << 20) - 1);
    smbios_free(&sm);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_entry_point_64(void)
{
    QTestState *s = qtest_init("-machine smbios-entry-point-type=64");
    Smbios sm;
    g_autoptr(GString) types = NULL;

    smbios_load(s, &sm);
    g_assert_cmpuint(sm.anchor_len, ==, 24);
    types = walk(&sm);
    smbios_free(&sm);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void expect_fail(const char *args, const char *message)
{
    g_autofree char *err = NULL;

    g_assert_cmpint(run_kvmpc_expect_fail(args, &err), ==, 1);
    if (!strstr(err, message)) {
        g_error("'%s': expected '%s' in: %s", args, message, err);
    }
    /* Exactly one line. */
    g_assert_cmpuint(strchr(err, '\n') - err + 1, ==, strlen(err));
}

static void test_errors(void)
{
    expect_fail("-smbios type=1,foo=bar",
                "kvmpc: -smbios type=1,foo=bar: Invalid parameter 'foo'");
    expect_fail("-smbios type=5", "Don't know how to build fields for "
                "SMBIOS type 5");
    expect_fail("-smbios type=1,uuid=zzz", "Invalid UUID");
    expect_fail("-smbios vendor=x", "Must specify type= or file=");
    expect_fail("-smbios type=0,release=1", "Invalid release");
    expect_fail("-smbios type=4,max-speed=70000", "CPU speed is too large");
    expect_fail("-machine smbios-entry-point-type=16",
                "smbios-entry-point-type=16");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/smbios/defaults", test_defaults);
    g_test_add_func("/smbios/type1-uuid", test_type1_uuid);
    g_test_add_func("/smbios/uuid-from-smbios", test_uuid_from_smbios);
    g_test_add_func("/smbios/type0-oem", test_type0_and_oem);
    g_test_add_func("/smbios/sockets-memory", test_sockets_and_memory);
    g_test_add_func("/smbios/entry-point-64", test_entry_point_64);
    g_test_add_func("/smbios/errors", test_errors);
    return g_test_run();
}
