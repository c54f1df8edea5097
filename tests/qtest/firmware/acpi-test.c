/*
 * ACPI tables of the pc machine, read the way firmware reads them: fetch
 * etc/table-loader, etc/acpi/tables and etc/acpi/rsdp through fw_cfg, run
 * the linker commands (allocate, patch pointers, fix checksums), then walk
 * RSDP -> RSDT -> FADT (-> FACS, DSDT), MADT, HPET, SRAT, SLIT, WAET checking
 * signatures, lengths, checksums and the fields the machine defines, and
 * the top-level structure of the DSDT's AML.  When acpica-tools' iasl is
 * installed, every table is also disassembled and must give no warning.
 * With -device vmgenid the linker's WRITE_POINTER is run too (an fw_cfg
 * DMA write), and the SSDT is compared byte for byte with QEMU 7.2's.
 *
 * Spec: ACPI 6.4 chapter 5.2 (tables) and 20.2 (AML encoding).
 */
#include "fw-cfg-util.h"
#include <string.h>
#include <signal.h>

#define HDR             36
#define FADT_LEN        244
#define MADT_LAPIC      0
#define MADT_IOAPIC     1
#define MADT_ISO        2
#define MADT_LAPIC_NMI  4

typedef struct Tables {
    LinkedTables lt;
    const uint8_t *rsdp, *rsdt, *fadt, *facs, *dsdt, *madt, *hpet, *waet;
    const uint8_t *mcfg, *srat, *slit, *ssdt;
    uint64_t facs_addr;
} Tables;

/* A table header at @addr: in a blob, whole, checksum 0, OEM fields. */
static const uint8_t *check_table(const Tables *t, uint64_t addr,
                                  const char *expect_sig)
{
    const uint8_t *h = acpi_linked_ptr(&t->lt, addr, HDR);
    uint32_t len;

    g_assert_nonnull(h);
    len = ldl_le(h + 4);
    g_assert_cmpuint(len, >=, HDR);
    g_assert_nonnull(acpi_linked_ptr(&t->lt, addr, len));
    if (expect_sig) {
        g_assert(!memcmp(h, expect_sig, 4));
    }
    g_assert_cmpuint(byte_sum(h, len), ==, 0);
    g_assert(!memcmp(h + 10, "BOCHS ", 6));
    g_assert(!memcmp(h + 16, "BXPC    ", 8) ||
             !memcmp(h, "SSDT", 4));    /* vmgenid's is "VMGENID" */
    return h;
}

static void load_tables(QTestState *s, Tables *t)
{
    uint64_t rsdt_addr;
    uint32_t n;

    memset(t, 0, sizeof(*t));
    acpi_link_tables(s, &t->lt);
    /* tables and RSDP, and etc/vmgenid_guid with -device vmgenid */
    g_assert_cmpuint(t->lt.nr, ==, 2 + !!t->lt.write_pointers);
    g_assert_cmpuint(t->lt.checksums, >=, 6);
    /* RSDP: revision 0 (20 bytes) in the F segment, checksummed. */
    g_assert_cmpstr(t->lt.blobs[0].name, ==, "etc/acpi/rsdp");
    t->rsdp = t->lt.blobs[0].data;
    g_assert_cmpuint(t->lt.blobs[0].len, ==, 20);
    g_assert_cmphex(t->lt.blobs[0].addr & 15, ==, 0);
    g_assert(!memcmp(t->rsdp, "RSD PTR ", 8));
    g_assert_cmpuint(byte_sum(t->rsdp, 20), ==, 0);
    g_assert_cmpuint(t->rsdp[15], ==, 0);
    rsdt_addr = ldl_le(t->rsdp + 16);
    t->rsdt = check_table(t, rsdt_addr, "RSDT");
    n = (ldl_le(t->rsdt + 4) - HDR) / 4;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = ldl_le(t->rsdt + HDR + 4 * i);
        const uint8_t *h = check_table(t, a, NULL);
        const uint8_t **slot =
            !memcmp(h, "FACP", 4) ? &t->fadt :
            !memcmp(h, "APIC", 4) ? &t->madt :
            !memcmp(h, "HPET", 4) ? &t->hpet :
            !memcmp(h, "WAET", 4) ? &t->waet :
            !memcmp(h, "MCFG", 4) ? &t->mcfg :
            !memcmp(h, "SRAT", 4) ? &t->srat :
            !memcmp(h, "SLIT", 4) ? &t->slit :
            !memcmp(h, "SSDT", 4) ? &t->ssdt : NULL;
        g_assert_nonnull(slot);
        g_assert_null(*slot);           /* each table once */
        *slot = h;
    }
    g_assert_nonnull(t->fadt);
    g_assert_nonnull(t->madt);
    t->facs_addr = ldl_le(t->fadt + 36);
    t->facs = acpi_linked_ptr(&t->lt, t->facs_addr, 64);
    t->dsdt = check_table(t, ldl_le(t->fadt + 40), "DSDT");
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t width,
                      uint64_t addr)
{
    g_assert_cmpuint(g[0], ==, space);
    g_assert_cmpuint(g[1], ==, width);
    g_assert_cmphex(ldq_le(g + 4), ==, addr);
}

static void check_fadt(const Tables *t)
{
    const uint8_t *f = t->fadt;

    g_assert_cmpuint(ldl_le(f + 4), ==, FADT_LEN);
    g_assert_cmpuint(f[8], ==, 3);
    /* FACS: 64 bytes, 64-byte aligned; X_DSDT equals DSDT. */
    g_assert_nonnull(t->facs);
    g_assert(!memcmp(t->facs, "FACS", 4));
    g_assert_cmpuint(ldl_le(t->facs + 4), ==, 64);
    g_assert_cmphex(t->facs_addr & 63, ==, 0);
    g_assert_cmphex(ldq_le(f + 140), ==, ldl_le(f + 40));
    g_assert_cmpuint(f[46] | f[47] << 8, ==, 9);        /* SCI_INT */
    g_assert_cmphex(ldl_le(f + 48), ==, 0xb2);          /* SMI_CMD */
    g_assert_cmphex(f[52], ==, 0xf1);
    g_assert_cmphex(f[53], ==, 0xf0);
    g_assert_cmphex(ldl_le(f + 56), ==, 0x600);         /* PM1a_EVT_BLK */
    g_assert_cmphex(ldl_le(f + 64), ==, 0x604);         /* PM1a_CNT_BLK */
    g_assert_cmphex(ldl_le(f + 76), ==, 0x608);         /* PM_TMR_BLK */
    g_assert_cmphex(ldl_le(f + 80), ==, 0xafe0);        /* GPE0_BLK */
    g_assert_cmpuint(f[88], ==, 4);
    g_assert_cmpuint(f[89], ==, 2);
    g_assert_cmpuint(f[91], ==, 4);
    g_assert_cmpuint(f[92], ==, 4);
    g_assert_cmphex(f[108], ==, 0x32);                  /* CENTURY */
    g_assert_cmphex(f[109] & 2, ==, 2);                 /* 8042 */
    g_assert_cmphex(ldl_le(f + 112) & (1u << 10), !=, 0);   /* RESET_REG */
    check_gas(f + 116, 1, 8, 0xcf9);
    g_assert_cmphex(f[128], ==, 6);
    check_gas(f + 148, 1, 32, 0x600);
    check_gas(f + 172, 1, 16, 0x604);
    check_gas(f + 208, 1, 32, 0x608);
    check_gas(f + 220, 1, 32, 0xafe0);
}

static void check_madt(const Tables *t, const uint32_t *apic_ids,
                       unsigned ncpus)
{
    const uint8_t *m = t->madt;
    uint32_t len = ldl_le(m + 4);
    unsigned lapics = 0, ioapics = 0, nmis = 0, isos = 0;

    g_assert_cmphex(ldl_le(m + HDR), ==, 0xfee00000);
    g_assert_cmphex(ldl_le(m + HDR + 4), ==, 1);        /* PCAT_COMPAT */
    for (uint32_t off = HDR + 8; off < len; off += m[off + 1]) {
        const uint8_t *e = m + off;

        g_assert_cmpuint(e[1], >=, 2);
        g_assert_cmpuint(off + e[1], <=, len);
        switch (e[0]) {
        case MADT_LAPIC:
            g_assert_cmpuint(lapics, <, ncpus);
            g_assert_cmpuint(e[2], ==, lapics);         /* processor UID */
            g_assert_cmpuint(e[3], ==, apic_ids[lapics]);
            g_assert_cmpuint(ldl_le(e + 4), ==, 1);
            lapics++;
            break;
        case MADT_IOAPIC:
            g_assert_cmphex(ldl_le(e + 4), ==, 0xfec00000);
            g_assert_cmpuint(ldl_le(e + 8), ==, 0);
            ioapics++;
            break;
        case MADT_ISO:
            if (e[3] == 0) {
                g_assert_cmpuint(ldl_le(e + 4), ==, 2);
                g_assert_cmphex(e[8] | e[9] << 8, ==, 0);
            } else {
                g_assert(e[3] == 5 || e[3] == 9 || e[3] == 10 || e[3] == 11);
                g_assert_cmpuint(ldl_le(e + 4), ==, e[3]);
                g_assert_cmphex(e[8] | e[9] << 8, ==, 0xd);
            }
            isos++;
            break;
        case MADT_LAPIC_NMI:
            g_assert_cmphex(e[2], ==, 0xff);
            g_assert_cmpuint(e[5], ==, 1);              /* LINT1 */
            nmis++;
            break;
        default:
            g_error("unexpected MADT entry type %u", e[0]);
        }
    }
    g_assert_cmpuint(lapics, ==, ncpus);
    g_assert_cmpuint(ioapics, ==, 1);
    g_assert_cmpuint(isos, ==, 5);
    g_assert_cmpuint(nmis, ==, 1);
}

/* ---- AML ------------------------------------------------------------------ */

/* PkgLength (20.2.4): value (counting itself) and its size in bytes. */
static size_t aml_pkglen(const uint8_t *p, size_t avail, size_t *nbytes)
{
    unsigned extra;
    size_t v;

    g_assert_cmpuint(avail, >=, 1);
    extra = p[0] >> 6;
    g_assert_cmpuint(avail, >, extra);
    if (!extra) {
        *nbytes = 1;
        return p[0] & 0x3f;
    }
    g_assert_cmphex(p[0] & 0x30, ==, 0);
    v = p[0] & 0x0f;
    for (unsigned i = 0; i < extra; i++) {
        v |= (size_t)p[1 + i] << (4 + 8 * i);
    }
    *nbytes = 1 + extra;
    return v;
}

/* NameString (20.2.2); returns its length, writes the last NameSeg. */
static size_t aml_namestring(const uint8_t *p, size_t avail, char seg[5])
{
    size_t i = 0;
    unsigned n = 1;

    while (i < avail && (p[i] == '\\' || p[i] == '^')) {
        i++;
    }
    g_assert_cmpuint(i, <, avail);
    if (p[i] == 0x00) {
        seg[0] = 0;
        return i + 1;
    }
    if (p[i] == 0x2e) {
        n = 2;
        i++;
    } else if (p[i] == 0x2f) {
        g_assert_cmpuint(i + 1, <, avail);
        n = p[i + 1];
        i += 2;
    }
    g_assert_cmpuint(i + 4 * n, <=, avail);
    memcpy(seg, p + i + 4 * (n - 1), 4);
    seg[4] = 0;
    return i + 4 * n;
}

/* One data object after a Name: integer, string, Buffer or Package. */
static size_t aml_data_object(const uint8_t *p, size_t avail)
{
    size_t nb;

    g_assert_cmpuint(avail, >=, 1);
    switch (p[0]) {
    case 0x00: case 0x01: case 0xff:
        return 1;
    case 0x0a: return 2;
    case 0x0b: return 3;
    case 0x0c: return 5;
    case 0x0e: return 9;
    case 0x0d: {
        const uint8_t *nul = memchr(p + 1, 0, avail - 1);
        g_assert_nonnull(nul);
        return nul - p + 1;
    }
    case 0x11: case 0x12: {
        size_t len = aml_pkglen(p + 1, avail - 1, &nb);
        g_assert_cmpuint(1 + len, <=, avail);
        return 1 + len;
    }
    default:
        g_error("unexpected data object 0x%02x", p[0]);
    }
}

typedef struct AmlObj {
    char kind[8];       /* "Scope", "Name", "Device", ... */
    char name[5];
    const uint8_t *body;
    size_t body_len;
} AmlObj;

/* Parse one named object / block at @p; returns its encoded length. */
static size_t aml_object(const uint8_t *p, size_t avail, AmlObj *o)
{
    size_t nb, len, n;
    bool ext = p[0] == 0x5b;
    uint8_t op = ext ? p[1] : p[0];
    size_t hdr = ext ? 2 : 1;

    g_assert_cmpuint(avail, >, hdr);
    memset(o, 0, sizeof(*o));
    if (!ext && op == 0x08) {                       /* Name */
        g_strlcpy(o->kind, "Name", sizeof(o->kind));
        n = 1 + aml_namestring(p + 1, avail - 1, o->name);
        return n + aml_data_object(p + n, avail - n);
    }
    if (ext && op == 0x01) {                        /* Mutex */
        g_strlcpy(o->kind, "Mutex", sizeof(o->kind));
        n = 2 + aml_namestring(p + 2, avail - 2, o->name);
        g_assert_cmpuint(n + 1, <=, avail);
        return n + 1;
    }
    if (ext && op == 0x80) {                        /* OperationRegion */
        g_strlcpy(o->kind, "OpReg", sizeof(o->kind));
        n = 2 + aml_namestring(p + 2, avail - 2, o->name);
        g_assert_cmpuint(n + 1, <, avail);
        n += 1;                                     /* RegionSpace */
        n += aml_data_object(p + n, avail - n);     /* offset */
        return n + aml_data_object(p + n, avail - n);   /* length */
    }
    g_assert(ext ? (op == 0x81 || op == 0x82 || op == 0x83)
                 : (op == 0x10 || op == 0x14));
    g_strlcpy(o->kind, !ext ? (op == 0x10 ? "Scope" : "Method")
                            : op == 0x81 ? "Field"
                            : op == 0x82 ? "Device" : "Proc", sizeof(o->kind));
    len = aml_pkglen(p + hdr, avail - hdr, &nb);
    g_assert_cmpuint(hdr + len, <=, avail);
    n = aml_namestring(p + hdr + nb, len - nb, o->name);
    o->body = p + hdr + nb + n;
    o->body_len = len - nb - n;
    return hdr + len;
}

/* Walk a term list made only of named objects; lists them in @out. */
static void aml_walk(const uint8_t *p, size_t len, GString *out)
{
    size_t off = 0;

    while (off < len) {
        AmlObj o;
        off += aml_object(p + off, len - off, &o);
        g_string_append_printf(out, "%s(%s) ", o.kind, o.name);
    }
    g_assert_cmpuint(off, ==, len);     /* objects tile the list exactly */
}

/* The object named @name (last NameSeg, padded: "S28_") among the
 * objects of a term list, or false. */
static bool aml_find(const uint8_t *p, size_t len, const char *name,
                     AmlObj *found)
{
    size_t off = 0;

    memset(found, 0, sizeof(*found));
    while (off < len) {
        AmlObj o;
        off += aml_object(p + off, len - off, &o);
        if (!strcmp(o.name, name)) {
            *found = o;
            return true;
        }
    }
    return false;
}

/* The integer of Name (@name, n) in a term list; -1 when absent. */
static int64_t aml_name_int(const uint8_t *p, size_t len, const char *name)
{
    size_t off = 0;

    while (off < len) {
        AmlObj o;
        size_t n = aml_object(p + off, len - off, &o);
        if (!strcmp(o.kind, "Name") && !strcmp(o.name, name)) {
            char seg[5];
            const uint8_t *d = p + off + 1;
            d += aml_namestring(d, len - off - 1, seg);
            switch (d[0]) {
            case 0x00: return 0;
            case 0x01: return 1;
            case 0x0a: return d[1];
            case 0x0b: return d[1] | d[2] << 8;
            case 0x0c: return ldl_le(d + 1);
            default: g_error("Name (%s): data 0x%02x", name, d[0]);
            }
        }
        off += n;
    }
    return -1;
}

/* \_SB.PCI0 of the DSDT. */
static AmlObj dsdt_pci0(const Tables *t)
{
    const uint8_t *d = t->dsdt;
    AmlObj sb, pci0;

    g_assert_true(aml_find(d + HDR, ldl_le(d + 4) - HDR, "_SB_", &sb));
    g_assert_true(aml_find(sb.body, sb.body_len, "PCI0", &pci0));
    return pci0;
}

/* ACPI PCI hotplug (docs/hotplug.md): what \_SB.PCI0 holds after its
 * ISA bridge and fw_cfg: the host bridge's slot 0, slots 2-31 (slot 1's
 * ISA bridge is Device (ISA)). */
static char *pcihp_objects(void)
{
    GString *s = g_string_new("OpReg(PCST) Field(PCST) OpReg(SEJ_) "
                              "Field(SEJ_) OpReg(BNMR) Field(BNMR) "
                              "Mutex(BLCK) Method(PCEJ) Method(AIDX) "
                              "Method(PDSM) Name(BSEL) Device(S00_) ");

    for (unsigned slot = 2; slot < 32; slot++) {
        g_string_append_printf(s, "Device(S%02X_) ", slot << 3);
    }
    g_string_append(s, "Method(DVNT) Method(PCNT) ");
    return g_string_free(s, false);
}

static void check_dsdt(const Tables *t, bool hpet, bool com1, unsigned ncpus)
{
    const uint8_t *d = t->dsdt;
    size_t len = ldl_le(d + 4) - HDR;
    g_autoptr(GString) top = g_string_new(NULL);
    g_autoptr(GString) sb = g_string_new(NULL);
    size_t off = 0;
    AmlObj o;

    g_assert_cmpuint(d[8], ==, 1);
    aml_walk(d + HDR, len, top);
    g_assert_cmpstr(top->str, ==, "Scope(_SB_) Scope(_GPE) Name(_S5_) ");
    aml_object(d + HDR, len, &o);
    aml_walk(o.body, o.body_len, sb);
    g_test_message("\\_SB: %s", sb->str);
    g_assert_nonnull(strstr(sb->str, "Device(PCI0) Field(P40C) "
                                     "Method(IQST) Method(IQCR) "
                                     "Device(LNKA) Device(LNKB) "
                                     "Device(LNKC) Device(LNKD) "
                                     "Device(LNKS) "));
    g_assert_cmpint(!!strstr(sb->str, "Device(HPET)"), ==, hpet);
    /* CPU hotplug (hw/i386/acpi-cpuhp.c): the register resources, then
     * the CPUS container with a Cnnn device per possible CPU. */
    g_assert_nonnull(strstr(sb->str, "Device(PRES) Device(CPUS) "));
    for (unsigned i = 0; i < ncpus; i++) {
        g_autofree char *cpu = g_strdup_printf("C%03X", i);
        g_assert_nonnull(memmem(d, ldl_le(d + 4), cpu, 4));
    }
    /* The PCI root's children: the PIIX3 ISA bridge and fw_cfg. */
    while (off < o.body_len) {
        AmlObj c;
        off += aml_object(o.body + off, o.body_len - off, &c);
        if (!strcmp(c.name, "PCI0")) {
            g_autoptr(GString) pci = g_string_new(NULL);
            g_autofree char *hp = pcihp_objects();
            g_autofree char *want = g_strconcat(
                "Name(_HID) Name(_ADR) Name(_UID) Name(_CRS) Name(_PRT) "
                "Device(ISA_) Device(FWCF) ", hp, NULL);
            aml_walk(c.body, c.body_len, pci);
            g_assert_cmpstr(pci->str, ==, want);
        }
    }
    /* \_GPE: _E01 runs PCNT under the lock. */
    off = aml_object(d + HDR, len, &o);
    aml_object(d + HDR + off, len - off, &o);
    g_assert_cmpstr(o.name, ==, "_GPE");
    {
        g_autoptr(GString) gpe = g_string_new(NULL);
        aml_walk(o.body, o.body_len, gpe);
        g_assert_cmpstr(gpe->str, ==,
                        "Name(_HID) Method(_E01) Method(_E02) ");
    }
    g_assert_cmpint(!!memmem(d, ldl_le(d + 4), "COM1", 4), ==, com1);
    g_assert_nonnull(memmem(d, ldl_le(d + 4), "KBD_", 4));
}

/* ---- iasl (acpica-tools), when installed --------------------------------- */

static void iasl_disassemble(const char *dir, const char *name,
                             const uint8_t *table)
{
    g_autofree char *path = g_strdup_printf("%s/%s.dat", dir, name);
    g_autofree char *cmd = g_strdup_printf("iasl -d %s", path);
    g_autofree char *out = NULL, *err = NULL;
    int status;

    g_assert(g_file_set_contents(path, (const char *)table, ldl_le(table + 4),
                                 NULL));
    g_assert(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
    g_test_message("iasl -d %s.dat: %s", name, err);
    g_assert_cmpint(status, ==, 0);
    if (strstr(out, "Warning") || strstr(err, "Warning") ||
        strstr(out, "Error") || strstr(err, "Error")) {
        g_error("iasl -d %s:\n%s\n%s", name, out, err);
    }
}

static bool have_iasl(void)
{
    g_autofree char *iasl = g_find_program_in_path("iasl");

    return iasl != NULL;
}

/* ---- tests --------------------------------------------------------------- */

static void test_default_tables(void)
{
    static const uint32_t ids[] = { 0 };
    QTestState *s = qtest_init("");
    Tables t;

    load_tables(s, &t);
    check_fadt(&t);
    check_madt(&t, ids, 1);
    g_assert_nonnull(t.hpet);
    g_assert_cmphex(ldl_le(t.hpet + HDR), ==, 0x8086a201);
    g_assert_cmphex(ldq_le(t.hpet + HDR + 8), ==, 0xfed00000);
    g_assert_nonnull(t.waet);
    check_dsdt(&t, true, false, 1);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_smp_topology(void)
{
    /* 2 sockets x 3 cores: APIC IDs 0-2 and 4-6. */
    static const uint32_t ids[] = { 0, 1, 2, 4, 5, 6 };
    QTestState *s = qtest_init("-smp 6,sockets=2,cores=3 -no-hpet "
                               "-serial null");
    Tables t;

    load_tables(s, &t);
    check_madt(&t, ids, G_N_ELEMENTS(ids));
    g_assert_null(t.hpet);
    check_dsdt(&t, false, true, G_N_ELEMENTS(ids));
    /* More than 8 CPUs possible: cluster mode is not needed for 6. */
    g_assert_cmphex(ldl_le(t.fadt + 112) & (1u << 18), ==, 0);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_many_cpus(void)
{
    QTestState *s = qtest_init("-smp 12");
    g_autofree uint32_t *ids = g_new(uint32_t, 12);
    Tables t;

    for (unsigned i = 0; i < 12; i++) {
        ids[i] = i;
    }
    load_tables(s, &t);
    check_madt(&t, ids, 12);
    g_assert_cmphex(ldl_le(t.fadt + 112) & (1u << 18), !=, 0);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_iasl(void)
{
    QTestState *s;
    g_autofree char *dir = NULL;
    Tables t;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init("-smp 2 -serial null");
    dir = g_dir_make_tmp("kvmpc-acpi-XXXXXX", NULL);
    load_tables(s, &t);
    iasl_disassemble(dir, "DSDT", t.dsdt);
    iasl_disassemble(dir, "FACP", t.fadt);
    iasl_disassemble(dir, "APIC", t.madt);
    iasl_disassemble(dir, "HPET", t.hpet);
    iasl_disassemble(dir, "WAET", t.waet);
    iasl_disassemble(dir, "RSDT", t.rsdt);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf %s", dir);
        g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
    }
}

/* @table of the disassembly in @dir (iasl_disassemble) as text. */
static char *read_dsl(const char *dir, const char *table)
{
    g_autofree char *path = g_strdup_printf("%s/%s.dsl", dir, table);
    char *dsl = NULL;

    g_assert(g_file_get_contents(path, &dsl, NULL, NULL));
    return dsl;
}

/* The DSDT of the machine behind @s as iasl disassembles it, through a
 * scratch directory (GLib's default name) that is gone on return. */
static char *dsdt_as_dsl(QTestState *s)
{
    g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
    g_autofree char *cmd = NULL;
    char *dsl;
    Tables t;

    g_assert_nonnull(dir);
    load_tables(s, &t);
    iasl_disassemble(dir, "DSDT", t.dsdt);
    dsl = read_dsl(dir, "DSDT");
    acpi_linked_free(&t.lt);
    cmd = g_strdup_printf("rm -rf %s", dir);
    g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
    return dsl;
}

/* Every line of @want appears in @dsl (the disassembly of @table). */
static void assert_dsl_has(const char *dsl, const char *table,
                           const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strstr(dsl, want[i])) {
            g_error("%s.dsl lacks \"%s\":\n%s", table, want[i], dsl);
        }
    }
}

/* The hotplug AML as iasl reads it back (QEMU 7.2's names and calls). */
static void test_iasl_pcihp(void)
{
    static const char *const want[] = {
        "OperationRegion (PCST, SystemIO, 0xAE00, 0x08)",
        "PCIU,   32", "PCID,   32",
        "OperationRegion (SEJ, SystemIO, 0xAE08, 0x04)", "B0EJ,   32",
        "OperationRegion (BNMR, SystemIO, 0xAE10, 0x08)", "BNUM,   32",
        "Mutex (BLCK, 0x00)", "Method (PCEJ, 2, NotSerialized)",
        "Acquire (BLCK, 0xFFFF)", "BNUM = Arg0", "B0EJ = (One << Arg1)",
        "Device (S18)", "Name (_SUN, 0x03)", "Name (_ADR, 0x00030000)",
        "Method (_EJ0, 1, NotSerialized)", "PCEJ (BSEL, _SUN)",
        "Name (ASUN, 0x03)", "Method (_DSM, 4, Serialized)",
        "Return (PDSM (Arg0, Arg1, Arg2, Arg3, Local0))",
        "Method (AIDX, 2, NotSerialized)", "PIDX = (One << Arg1)",
        "Method (PDSM, 5, Serialized)",
        "Device (SF8)", "Name (_SUN, 0x1F)",
        "Notify (S18, Arg1)", "DVNT (PCIU, One)", "DVNT (PCID, 0x03)",
        "Method (_E01, 0, NotSerialized)", "\\_SB.PCI0.PCNT ()",
        "Release (\\_SB.PCI0.BLCK)",
    };
    QTestState *s;
    g_autofree char *dsl = NULL;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init("-device virtio-rng-pci,addr=3");
    dsl = dsdt_as_dsl(s);
    assert_dsl_has(dsl, "DSDT", want, G_N_ELEMENTS(want));
    /* The chipset's slots 0 and 1 are no hotplug slots: the host bridge
     * has only _ADR, ASUN and _DSM, the ISA bridge is Device (ISA). */
    g_assert_nonnull(strstr(dsl, "Device (S00)"));
    g_assert_null(strstr(dsl, "Name (_SUN, Zero)"));
    g_assert_null(strstr(dsl, "Device (S08)"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

#define PCIHP_BRIDGE_ARGS \
    "-device pci-bridge,id=br1,chassis_nr=1,addr=5,shpc=off " \
    "-device pci-bridge,id=br2,chassis_nr=2,addr=6,shpc=off " \
    "-device pci-bridge,id=br3,chassis_nr=3,bus=br1,addr=4,shpc=off " \
    "-device pci-testdev,bus=br1,addr=2"

/* The bridges' hotplug AML as iasl reads it back, warning-free. */
static void test_iasl_pcihp_bridge(void)
{
    static const char *const want[] = {
        "Device (S28)", "Name (_ADR, 0x00050000)", "Name (BSEL, 0x02)",
        "Name (BSEL, 0x03)", "Name (BSEL, One)", "BNUM = 0x02",
        "BNUM = 0x03", "BNUM = One", "^S20.PCNT ()",
        "^S30.PCNT ()\n                ^S28.PCNT ()",
        "PCEJ (BSEL, _SUN)",
    };
    QTestState *s;
    g_autofree char *dsl = NULL;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init(PCIHP_BRIDGE_ARGS);
    dsl = dsdt_as_dsl(s);
    assert_dsl_has(dsl, "DSDT", want, G_N_ELEMENTS(want));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The lines of the hotplug skeleton: each bus's BSEL and PCNT (BNUM and
 * the bridges' PCNT it calls), in namespace order. */
static char *pcihp_skeleton(const char *dsl)
{
    g_auto(GStrv) lines = g_strsplit(dsl, "\n", -1);
    GString *out = g_string_new(NULL);

    for (char **l = lines; *l; l++) {
        const char *t = g_strchug(*l);
        if (g_str_has_prefix(t, "Name (BSEL,") ||
            g_str_has_prefix(t, "Method (PCNT,") ||
            (g_str_has_prefix(t, "BNUM = ") && !strstr(t, "Arg0")) ||
            g_str_has_suffix(t, ".PCNT ()")) {
            g_string_append_printf(out, "%s\n", t);
        }
    }
    return g_string_free(out, FALSE);
}

/* @args under kvmpc, or with @qemu (its path) under QEMU 7.2. */
static QTestState *start_machine(const char *args, const char *qemu)
{
    return qemu ? qtest_init_qemu(qemu, args) : qtest_init(args);
}

/* kvmpc must exit cleanly; QEMU's status says nothing. */
static void stop_machine(QTestState *s, bool qemu)
{
    int status = qtest_quit(s);

    if (!qemu) {
        g_assert_cmpint(status, ==, 0);
    }
}

/*
 * The same machine under QEMU 7.2 (qemu-system-x86_64, TCG, stopped):
 * the selectors, their nesting and the PCNT walk must be QEMU's.  QEMU's
 * DSDT also describes the present devices (ASUN, _DSM); kvmpc's does not,
 * so only the skeleton is compared.
 */
static void check_pcihp_like_qemu(const char *args)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *ours = NULL, *theirs = NULL, *dsl = NULL;
    QTestState *s;

    if (!have_iasl() || !qemu) {
        g_test_skip("needs iasl (acpica-tools) and qemu-system-x86_64");
        return;
    }
    s = start_machine(args, NULL);
    dsl = dsdt_as_dsl(s);
    ours = pcihp_skeleton(dsl);
    g_clear_pointer(&dsl, g_free);
    stop_machine(s, false);

    s = start_machine(args, qemu);
    dsl = dsdt_as_dsl(s);
    theirs = pcihp_skeleton(dsl);
    stop_machine(s, true);

    g_assert_nonnull(strstr(ours, "Name (BSEL,"));
    if (strcmp(ours, theirs)) {
        g_error("hotplug skeleton differs from QEMU 7.2's (%s):\n--- kvmpc\n"
                "%s--- QEMU\n%s", args, ours, theirs);
    }
}

static void test_pcihp_bridge_like_qemu(void)
{
    check_pcihp_like_qemu(PCIHP_BRIDGE_ARGS);
}

static void test_pcihp_root_off_like_qemu(void)
{
    check_pcihp_like_qemu("-global PIIX4_PM.acpi-root-pci-hotplug=off "
                          PCIHP_BRIDGE_ARGS);
}

/* q35's \_SB.PCI0._OSC as iasl prints it (the whole method). */
static char *q35_osc(const char *dsl)
{
    const char *start = strstr(dsl, "Method (_OSC, 4");
    const char *end = start ? strstr(start, "Return (Arg3)") : NULL;

    g_assert_nonnull(end);
    return g_strndup(start, end - start);
}

/* @args on q35 under kvmpc or (@qemu) QEMU 7.2 stopped under TCG: the
 * hotplug skeleton and _OSC of its DSDT. */
static void q35_hotplug_dsl(const char *args, const char *qemu,
                            char **skeleton, char **osc)
{
    g_autofree char *full = g_strdup_printf("-machine q35 %s", args);
    g_autofree char *dsl = NULL;
    QTestState *s = start_machine(full, qemu);

    dsl = dsdt_as_dsl(s);
    *skeleton = pcihp_skeleton(dsl);
    *osc = q35_osc(dsl);
    stop_machine(s, qemu != NULL);
}

#define Q35_PCIHP_ARGS \
    "-device pcie-root-port,id=rp1,addr=4,chassis=1 " \
    "-device pci-bridge,id=br1,addr=5,chassis_nr=2,shpc=off " \
    "-device pcie-root-port,id=rp2,addr=6,chassis=3 " \
    "-device pci-bridge,id=br2,bus=br1,addr=2,chassis_nr=4,shpc=off"

/*
 * q35 with root ports and pci-bridges against QEMU 7.2: the selectors and
 * PCNT walk (ACPI PCI hotplug, the default) or none of them (the ICH9
 * property off), and _OSC granting or withholding native PCIe hotplug
 * (control bit 0), as iasl prints both.
 */
static void check_q35_pcihp_like_qemu(const char *args, bool acpi)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *ours = NULL, *theirs = NULL;
    g_autofree char *our_osc = NULL, *their_osc = NULL;

    if (!have_iasl() || !qemu) {
        g_test_skip("needs iasl (acpica-tools) and qemu-system-x86_64");
        return;
    }
    q35_hotplug_dsl(args, NULL, &ours, &our_osc);
    q35_hotplug_dsl(args, qemu, &theirs, &their_osc);
    g_assert_true(!!strstr(ours, "Name (BSEL,") == acpi);
    g_assert_nonnull(strstr(our_osc, acpi ? "Local0 &= 0x1E"
                                          : "Local0 &= 0x1F"));
    if (strcmp(ours, theirs)) {
        g_error("q35 hotplug skeleton differs from QEMU 7.2's (%s):\n"
                "--- kvmpc\n%s--- QEMU\n%s", args, ours, theirs);
    }
    if (strcmp(our_osc, their_osc)) {
        g_error("q35 _OSC differs from QEMU 7.2's (%s):\n--- kvmpc\n%s\n"
                "--- QEMU\n%s", args, our_osc, their_osc);
    }
}

static void test_q35_pcihp_like_qemu(void)
{
    check_q35_pcihp_like_qemu(Q35_PCIHP_ARGS, true);
}

/* A switch below a root port: its internal bus and its downstream
 * ports' links are served too, and a pcie-pci-bridge's bus on pcie.0 or
 * on a link (QEMU 7.2).  QEMU describes a switch's bus
 * only up to its first empty slot after 0 (kvmpc too), but its PCNT still
 * calls the PCNT of a port past the gap, which its DSDT never declares
 * (iasl: an unresolved method); kvmpc leaves that call out, so the ports
 * here have no gap. */
static void test_q35_pcihp_switch_like_qemu(void)
{
    check_q35_pcihp_like_qemu(
        "-device pcie-root-port,id=rp1,addr=4,chassis=1 "
        "-device x3130-upstream,id=up,bus=rp1 "
        "-device xio3130-downstream,id=dn,bus=up,chassis=3 "
        "-device xio3130-downstream,id=dn2,bus=up,chassis=4,addr=1 "
        "-device pcie-pci-bridge,id=ppb,addr=7 "
        "-device pcie-pci-bridge,id=ppb2,bus=dn2", true);
}

static void test_q35_native_like_qemu(void)
{
    check_q35_pcihp_like_qemu("-global ICH9-LPC.acpi-pci-hotplug-with-"
                              "bridge-support=off " Q35_PCIHP_ARGS, false);
}

/* The q35 hotplug AML as iasl reads it back: the ICH9 block at 0x0cc0,
 * a root port's link with slot 0 only, a bridge with 32, _E01. */
static void test_q35_iasl_pcihp(void)
{
    static const char *const want[] = {
        "OperationRegion (PCST, SystemIO, 0x0CC0, 0x08)",
        "OperationRegion (SEJ, SystemIO, 0x0CC8, 0x04)",
        "OperationRegion (BNMR, SystemIO, 0x0CD0, 0x08)",
        "Method (PCEJ, 2, NotSerialized)", "Device (S20)",
        "Name (BSEL, 0x02)", "PCEJ (BSEL, _SUN)",
        "Device (SF8)", "Name (_SUN, 0x1F)",
        "Method (_E01, 0, NotSerialized)", "\\_SB.PCI0.PCNT ()",
    };
    g_autofree char *dsl = NULL;
    QTestState *s;
    const char *rp1;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init("-machine q35 " Q35_PCIHP_ARGS);
    dsl = dsdt_as_dsl(s);
    assert_dsl_has(dsl, "DSDT", want, G_N_ELEMENTS(want));
    /* rp1 (S20): one slot object, S00, before its DVNT. */
    rp1 = strstr(dsl, "Device (S20)");
    g_assert_nonnull(rp1);
    g_assert_nonnull(strstr(rp1, "Device (S00)"));
    g_assert_true(strstr(rp1, "Device (S08)") > strstr(rp1, "Method (DVNT"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ACPI memory hotplug (-m slots=): QEMU 7.2's MHPD/MHPC AML, iasl-clean,
 * on pc and q35; without slots none of it. */
static void check_iasl_memhp(const char *machine)
{
    static const char *const want[] = {
        "Device (MHPD)", "Name (_UID, \"Memory hotplug resources\")",
        "OperationRegion (HPMR, SystemIO, 0x0A00, 0x18)",
        "MRBL,   32", "MRBH,   32", "MRLL,   32", "MRLH,   32", "MPX,    32",
        "MES,    1", "MINS,   1", "MRMV,   1", "MEJ,    1",
        "MSEL,   32", "MOEV,   32", "MOSC,   32",
        "Device (MHPC)", "Name (_UID, \"DIMM devices\")",
        "Name (MDNR, 0x03)", "Mutex (MLCK, 0x00)",
        "Method (MSCN, 0, NotSerialized)", "Method (MRST, 1, NotSerialized)",
        "Method (MCRS, 1, Serialized)", "Method (MPXM, 1, NotSerialized)",
        "Method (MOST, 4, NotSerialized)", "Method (MEJ0, 2, NotSerialized)",
        "\\_SB.PCI0.MHPD.MSEL = ToInteger (Arg0)",
        "\\_SB.PCI0.MHPD.MEJ = One",
        "Device (MP00)", "Device (MP02)", "Name (_UID, \"0x02\")",
        "Name (_HID, EisaId (\"PNP0C80\")",
        "Return (MCRS (_UID))", "Return (MRST (_UID))",
        "MOST (_UID, Arg0, Arg1, Arg2)", "MEJ0 (_UID, Arg0)",
        "Method (MTFY, 2, NotSerialized)", "Notify (MP02, Arg1)",
        "Method (\\_GPE._E03, 0, NotSerialized)", "\\_SB.MHPC.MSCN ()",
    };
    g_autofree char *args = g_strdup_printf(
        "-machine %s -m 1G,slots=3,maxmem=4G", machine);
    QTestState *s;
    g_autofree char *dsl = NULL;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init(args);
    dsl = dsdt_as_dsl(s);
    assert_dsl_has(dsl, "DSDT", want, G_N_ELEMENTS(want));
    g_assert_null(strstr(dsl, "Device (MP03)"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_iasl_memhp(void)
{
    check_iasl_memhp("pc");
}

static void test_q35_iasl_memhp(void)
{
    check_iasl_memhp("q35");
}

/* maxmem without slots: no memory hotplug block, no AML. */
static void test_memhp_no_slots(void)
{
    QTestState *s = qtest_init("-m 1G,maxmem=2G");
    Tables t;

    load_tables(s, &t);
    g_assert_null(memmem(t.dsdt, ldl_le(t.dsdt + 4), "MHPC", 4));
    g_assert_null(memmem(t.dsdt, ldl_le(t.dsdt + 4), "_E03", 4));
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* CPU hotplug AML as iasl reads it back (QEMU 7.2's names), and the
 * MADT with the possible-but-absent CPUs not enabled. */
static void check_iasl_cpuhp(const char *machine, const char *port)
{
    const char *const want[] = {
        "Device (\\_SB.PCI0.PRES)", "Name (_HID, EisaId (\"PNP0A06\")",
        "Name (_UID, \"CPU Hotplug resources\")", "Mutex (CPLK, 0x00)",
        port, "CPEN,   1", "CINS,   1", "CRMV,   1", "CEJ0,   1",
        "CCMD,   8", "CSEL,   32", "CDAT,   32",
        "Device (CPUS)", "Name (_HID, \"ACPI0010\"",
        "Name (_CID, EisaId (\"PNP0A05\")",
        "Method (CTFY, 2, NotSerialized)", "Notify (C002, Arg1)",
        "Method (CSTA, 1, Serialized)", "Method (CEJ0, 1, Serialized)",
        "Method (CSCN, 0, Serialized)", "Method (COST, 4, Serialized)",
        "While ((Local0 == One))", "CTFY (\\_SB.PCI0.PRES.CDAT, One)",
        "CTFY (\\_SB.PCI0.PRES.CDAT, 0x03)",
        "Device (C002)", "Name (_HID, \"ACPI0007\"", "Name (_UID, 0x02)",
        "Return (CSTA (0x02))", "Method (_OST, 3, NotSerialized)",
        "COST (0x02, Arg0, Arg1, Arg2)", "Method (_EJ0, 1, NotSerialized)",
        "CEJ0 (0x02)", "Name (_MAT, Buffer (0x08)",
        "Method (_E02, 0, NotSerialized)", "\\_SB.CPUS.CSCN ()",
    };
    g_autofree char *args = g_strdup_printf("-machine %s -smp 1,maxcpus=3",
                                            machine);
    QTestState *s;
    g_autofree char *dir = NULL, *dsl = NULL, *apic = NULL;
    g_autofree char *cmd = NULL;
    Tables t;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init(args);
    dir = g_dir_make_tmp("kvmpc-acpi-XXXXXX", NULL);
    load_tables(s, &t);
    iasl_disassemble(dir, "DSDT", t.dsdt);
    iasl_disassemble(dir, "APIC", t.madt);
    dsl = read_dsl(dir, "DSDT");
    assert_dsl_has(dsl, "DSDT", want, G_N_ELEMENTS(want));
    g_assert_null(strstr(dsl, "Device (C003)"));
    apic = read_dsl(dir, "APIC");
    /* three Local APIC entries: CPU 0 enabled, 1 and 2 not */
    {
        const char *p = apic;
        unsigned lapics = 0, enabled = 0;

        while ((p = strstr(p, "Processor Enabled : "))) {
            p += strlen("Processor Enabled : ");
            lapics++;
            enabled += *p == '1';
        }
        if (lapics != 3 || enabled != 1) {
            g_error("APIC.dsl: %u CPUs, %u enabled:\n%s", lapics, enabled,
                    apic);
        }
    }
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    cmd = g_strdup_printf("rm -rf %s", dir);
    g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
}

static void test_iasl_cpuhp_pc(void)
{
    check_iasl_cpuhp("pc", "OperationRegion (PRST, SystemIO, 0xAF00, 0x0C)");
}

static void test_iasl_cpuhp_q35(void)
{
    check_iasl_cpuhp("q35", "OperationRegion (PRST, SystemIO, 0x0CD8, 0x0C)");
}

/* Both kinds of ACPI PCI hotplug off: no hotplug AML at all. */
static void test_pcihp_off(void)
{
    QTestState *s = qtest_init(
        "-global PIIX4_PM.acpi-root-pci-hotplug=off "
        "-global PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off "
        "-device pci-bridge,chassis_nr=1,addr=5");
    Tables t;

    load_tables(s, &t);
    g_assert_null(memmem(t.dsdt, ldl_le(t.dsdt + 4), "PCST", 4));
    g_assert_null(memmem(t.dsdt, ldl_le(t.dsdt + 4), "_E01", 4));
    g_assert_null(memmem(t.dsdt, ldl_le(t.dsdt + 4), "BSEL", 4));
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A served bus's scope: BSEL @bsel, a Device (Sxx) for each slot but the
 * one of the inner bridge at @bridge_slot (-1: none; its own Device sits
 * in that place), DVNT and PCNT.  A bridge on a bus with a selector has
 * ASUN and _DSM (@on_served_bus), as every slot object there. */
static void check_pcihp_bridge_scope(const AmlObj *dev, int64_t bsel,
                                     int bridge_slot, bool on_served_bus)
{
    g_autoptr(GString) want = g_string_new(
        on_served_bus ? "Name(_ADR) Name(ASUN) Method(_DSM) Name(BSEL) "
                      : "Name(_ADR) Name(BSEL) ");
    g_autoptr(GString) got = g_string_new(NULL);

    g_assert_cmpint(aml_name_int(dev->body, dev->body_len, "BSEL"), ==,
                    bsel);
    for (int slot = 0; slot < 32; slot++) {
        g_string_append_printf(want, "Device(S%02X_) ", slot << 3);
    }
    g_string_append(want, "Method(DVNT) Method(PCNT) ");
    aml_walk(dev->body, dev->body_len, got);
    g_assert_cmpstr(got->str, ==, want->str);
    if (bridge_slot >= 0) {
        g_autofree char *name = g_strdup_printf("S%02X_", bridge_slot << 3);
        AmlObj inner;
        g_assert_true(aml_find(dev->body, dev->body_len, name, &inner));
        g_assert_cmpint(aml_name_int(inner.body, inner.body_len, "_SUN"),
                        ==, -1);
        g_assert_cmpint(aml_name_int(inner.body, inner.body_len, "BSEL"),
                        >=, 0);
    }
}

/*
 * Cold-plugged pci-bridges (docs/hotplug.md): br1 at 05.0 with br3 in its
 * slot 4, br2 at 06.0.  Each is a Device (Sxx) in its parent's scope with
 * its _ADR, its BSEL (QEMU's numbers: pci.0 0, br2 1, br1 2, br3 3), a
 * slot device for each of the 32 slots of its bus but the inner bridge's,
 * DVNT and PCNT; the bridges' slots on pci.0 are no hotplug slots.
 */
static void test_pcihp_bridge(void)
{
    QTestState *s = qtest_init(
        "-device pci-bridge,id=br1,chassis_nr=1,addr=5 "
        "-device pci-bridge,id=br2,chassis_nr=2,addr=6 "
        "-device pci-bridge,id=br3,chassis_nr=3,bus=br1,addr=4 "
        "-device pci-testdev,bus=br1,addr=2");
    AmlObj pci0, br1, br2, br3, slot;
    Tables t;

    load_tables(s, &t);
    pci0 = dsdt_pci0(&t);
    g_assert_cmpint(aml_name_int(pci0.body, pci0.body_len, "BSEL"), ==, 0);
    g_assert_true(aml_find(pci0.body, pci0.body_len, "S28_", &br1));
    g_assert_true(aml_find(pci0.body, pci0.body_len, "S30_", &br2));
    g_assert_cmpint(aml_name_int(br1.body, br1.body_len, "_ADR"), ==,
                    0x50000);
    g_assert_cmpint(aml_name_int(br2.body, br2.body_len, "_ADR"), ==,
                    0x60000);
    check_pcihp_bridge_scope(&br1, 2, 4, true);
    check_pcihp_bridge_scope(&br2, 1, -1, true);
    g_assert_true(aml_find(br1.body, br1.body_len, "S20_", &br3));
    check_pcihp_bridge_scope(&br3, 3, -1, true);
    /* The testdev's slot on br1 is a hotplug slot like an empty one. */
    g_assert_true(aml_find(br1.body, br1.body_len, "S10_", &slot));
    g_assert_cmpint(aml_name_int(slot.body, slot.body_len, "_SUN"), ==, 2);
    /* pci.0's slots 5 and 6 hold the bridges, with no _SUN. */
    g_assert_cmpint(aml_name_int(br1.body, br1.body_len, "_SUN"), ==, -1);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* acpi-root-pci-hotplug=off, bridge support on (QEMU 7.2's DSDT then):
 * the registers and _E01 stay, pci.0 has no BSEL and no slots, its PCNT
 * only calls the bridge's, and the bridge has BSEL 0. */
static void test_pcihp_root_off_bridge(void)
{
    QTestState *s = qtest_init(
        "-global PIIX4_PM.acpi-root-pci-hotplug=off "
        "-device pci-bridge,id=br1,chassis_nr=1,addr=5");
    g_autoptr(GString) got = g_string_new(NULL);
    AmlObj pci0, br1;
    Tables t;

    load_tables(s, &t);
    g_assert_nonnull(memmem(t.dsdt, ldl_le(t.dsdt + 4), "_E01", 4));
    pci0 = dsdt_pci0(&t);
    aml_walk(pci0.body, pci0.body_len, got);
    g_assert_nonnull(strstr(got->str, "Field(BNMR) Mutex(BLCK) "
                                      "Method(PCEJ) Method(AIDX) "
                                      "Method(PDSM) Device(S28_) "
                                      "Method(PCNT) "));
    g_assert_cmpint(aml_name_int(pci0.body, pci0.body_len, "BSEL"), ==, -1);
    g_assert_true(aml_find(pci0.body, pci0.body_len, "S28_", &br1));
    check_pcihp_bridge_scope(&br1, 0, -1, false);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- acpi-index: AIDX, PDSM and the slots' _DSM ---------------------------- */

/* The raw bytes of Method (@name) in @dsdt (its MethodOp to its end). */
static GByteArray *aml_method_bytes(const uint8_t *dsdt, const char *name)
{
    size_t len = ldl_le(dsdt + 4);
    GByteArray *out = g_byte_array_new();

    for (size_t i = HDR; i + 6 < len; i++) {
        size_t nbytes, plen;
        if (dsdt[i] != 0x14 || (dsdt[i + 1] & 0x30 && dsdt[i + 1] >> 6)) {
            continue;
        }
        plen = aml_pkglen(dsdt + i + 1, len - i - 1, &nbytes);
        if (i + 1 + plen <= len && i + 1 + nbytes + 4 <= len &&
            !memcmp(dsdt + i + 1 + nbytes, name, 4)) {
            g_byte_array_append(out, dsdt + i, 1 + plen);
            return out;
        }
    }
    g_error("no Method (%s) in the DSDT", name);
}

/*
 * The block iasl printed for @head ("Device (S18)", "Method (PDSM"), the
 * first after @anchor (@last: the last one in the file), each line
 * stripped of its indentation and of iasl's "//" comments, so blocks
 * from different places of the namespace compare.
 */
static char *dsl_block(const char *dsl, const char *anchor, const char *head,
                       bool last)
{
    const char *from = strstr(dsl, anchor);
    const char *start = NULL, *p;
    GString *out = g_string_new(NULL);
    int depth = 0;

    g_assert_nonnull(from);
    for (p = strstr(from, head); p; p = last ? strstr(p + 1, head) : NULL) {
        start = p;
    }
    if (!start) {
        return g_string_free(out, false);       /* "": absent */
    }
    for (p = start; *p; ) {
        const char *eol = strchrnul(p, '\n');
        g_autofree char *line = g_strndup(p, eol - p);
        char *comment = strstr(line, "//");

        if (comment) {
            *comment = 0;
        }
        g_string_append_printf(out, "%s\n", g_strstrip(line));
        for (const char *c = p; c < eol; c++) {
            depth += (*c == '{') - (*c == '}');
        }
        if (depth == 0 && strchr(out->str, '{')) {
            break;
        }
        p = *eol ? eol + 1 : eol;
    }
    return g_string_free(out, false);
}

/* @args under kvmpc and (@qemu) under QEMU 7.2: DSDT and its disassembly. */
static char *acpi_index_dsdt(const char *args, const char *qemu,
                             GByteArray **aml)
{
    QTestState *s = start_machine(args, qemu);
    char *dsl;
    Tables t;

    load_tables(s, &t);
    *aml = g_byte_array_new();
    g_byte_array_append(*aml, t.dsdt, ldl_le(t.dsdt + 4));
    acpi_linked_free(&t.lt);
    dsl = dsdt_as_dsl(s);
    stop_machine(s, qemu != NULL);
    return dsl;
}

/*
 * acpi-index's AML against QEMU 7.2's for the same command line: AIDX and
 * PDSM byte for byte, and the slot objects of the served buses (_ADR,
 * ASUN, _DSM -> PDSM, _SUN/_EJ0, a VGA's _S1D-_S3D, bridges with their
 * buses, DVNT, PCNT) line for line under iasl.  @anchor: a line before
 * the served root bus's objects in both DSDTs (QEMU 7.2 puts them in a
 * Scope after the ISA devices, kvmpc in \_SB.PCI0 itself); @heads: the
 * blocks to compare after it ("LAST:" prefix: the last such block, e.g.
 * the root bus's DVNT after the bridges').
 */
static void check_acpi_index_like_qemu(const char *args, const char *anchor,
                                       const char *const *heads, size_t n)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *ours = NULL, *theirs = NULL;
    g_autoptr(GByteArray) our_aml = NULL;
    g_autoptr(GByteArray) their_aml = NULL;

    if (!have_iasl() || !qemu) {
        g_test_skip("needs iasl (acpica-tools) and qemu-system-x86_64");
        return;
    }
    ours = acpi_index_dsdt(args, NULL, &our_aml);
    theirs = acpi_index_dsdt(args, qemu, &their_aml);
    for (const char *const *m = (const char *const[]){ "AIDX", "PDSM",
                                                       "PCEJ", NULL };
         *m; m++) {
        g_autoptr(GByteArray) a = aml_method_bytes(our_aml->data, *m);
        g_autoptr(GByteArray) b = aml_method_bytes(their_aml->data, *m);
        g_assert_cmpuint(a->len, ==, b->len);
        g_assert_cmpmem(a->data, a->len, b->data, b->len);
    }
    for (size_t i = 0; i < n; i++) {
        bool last = g_str_has_prefix(heads[i], "LAST:");
        const char *head = heads[i] + (last ? 5 : 0);
        g_autofree char *a = dsl_block(ours, anchor, head, last);
        g_autofree char *b = dsl_block(theirs, anchor, head, last);
        g_assert_cmpstr(a, !=, "");
        if (strcmp(a, b)) {
            g_error("%s differs from QEMU 7.2's (%s):\n--- kvmpc\n%s"
                    "--- QEMU\n%s", head, args, a, b);
        }
    }
}

/* pc: pci.0 with the host bridge, a VGA, NICs and slots with an index, a
 * multifunction slot with a bridge at function 1, a bridge's bus. */
static void test_acpi_index_like_qemu(void)
{
    static const char *const heads[] = {
        "Device (S00)", "Device (S10)", "Device (S18)", "Device (S20)",
        "Device (S28)", "Device (S30)", "Device (S31)", "Device (S38)",
        "LAST:Method (DVNT", "LAST:Method (PCNT",
    };

    check_acpi_index_like_qemu(
        "-nodefaults -device VGA,addr=2 "
        "-device virtio-net-pci,addr=3,acpi-index=5 "
        "-device pci-bridge,id=br1,chassis_nr=1,addr=5,shpc=off "
        "-device virtio-rng-pci,bus=br1,addr=2,acpi-index=9 "
        "-device virtio-rng-pci,addr=6.0,multifunction=on,acpi-index=3 "
        "-device pci-bridge,id=br2,chassis_nr=2,addr=6.1,shpc=off",
        "Name (BSEL, Zero)", heads, G_N_ELEMENTS(heads));
}

/* q35: a root port's link and a bridge's bus (pcie.0 has no selector). */
static void test_q35_acpi_index_like_qemu(void)
{
    static const char *const heads[] = { "Device (S20)", "Device (S28)" };

    check_acpi_index_like_qemu(
        "-machine q35 -nodefaults "
        "-device pcie-root-port,id=rp1,chassis=1,addr=4 "
        "-device virtio-net-pci,bus=rp1,acpi-index=4 "
        "-device pci-bridge,id=br1,addr=5,chassis_nr=2,shpc=off "
        "-device virtio-rng-pci,bus=br1,addr=3,acpi-index=6",
        "Method (PDSM", heads, G_N_ELEMENTS(heads));
}

/* ---- q35 ----------------------------------------------------------------- */

static bool mem_has(const uint8_t *hay, size_t len, const void *needle,
                    size_t n)
{
    return memmem(hay, len, needle, n) != NULL;
}

static void test_q35_tables(void)
{
    QTestState *s = qtest_init("-machine q35");
    static const uint8_t pnp0a08[] = { 0x41, 0xd0, 0x0a, 0x08 };
    static const uint8_t pnp0a03[] = { 0x41, 0xd0, 0x0a, 0x03 };
    const uint8_t *f, *m;
    uint32_t dlen;
    Tables t;

    load_tables(s, &t);
    f = t.fadt;
    /* The ICH9 PM blocks at PMBASE 0x600, APM enable/disable 2/3. */
    g_assert_cmphex(ldl_le(f + 48), ==, 0xb2);
    g_assert_cmphex(f[52], ==, 0x02);
    g_assert_cmphex(f[53], ==, 0x03);
    g_assert_cmphex(ldl_le(f + 56), ==, 0x600);
    g_assert_cmphex(ldl_le(f + 64), ==, 0x604);
    g_assert_cmphex(ldl_le(f + 76), ==, 0x608);
    g_assert_cmphex(ldl_le(f + 80), ==, 0x620);
    g_assert_cmpuint(f[92], ==, 16);
    check_gas(f + 220, 1, 128, 0x620);
    check_gas(f + 116, 1, 8, 0xcf9);
    /* MCFG: one allocation, 0xb0000000, segment 0, buses 0-255. */
    m = t.mcfg;
    g_assert_nonnull(m);
    g_assert_cmpuint(ldl_le(m + 4), ==, HDR + 8 + 16);
    g_assert_cmphex(ldq_le(m + HDR + 8), ==, 0xb0000000);
    g_assert_cmpuint(m[HDR + 8 + 8] | m[HDR + 8 + 9] << 8, ==, 0);
    g_assert_cmpuint(m[HDR + 8 + 10], ==, 0);
    g_assert_cmpuint(m[HDR + 8 + 11], ==, 255);
    /* DSDT: a PCIe root (PNP0A08, compatible PNP0A03), PIRQ and GSI links,
     * the two routing tables, \_PIC. */
    dlen = ldl_le(t.dsdt + 4);
    g_assert(mem_has(t.dsdt, dlen, pnp0a08, 4));
    g_assert(mem_has(t.dsdt, dlen, pnp0a03, 4));
    g_assert(mem_has(t.dsdt, dlen, "LNKH", 4));
    g_assert(mem_has(t.dsdt, dlen, "GSIA", 4));
    g_assert(mem_has(t.dsdt, dlen, "GSIH", 4));
    g_assert(mem_has(t.dsdt, dlen, "PRTA", 4));
    g_assert(mem_has(t.dsdt, dlen, "PRTP", 4));
    g_assert(mem_has(t.dsdt, dlen, "_PIC", 4));
    g_assert(!mem_has(t.dsdt, dlen, "LNKS", 4));
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_q35_iasl(void)
{
    QTestState *s;
    g_autofree char *dir = NULL, *dsl = NULL, *cmd = NULL;
    g_autofree char *text = NULL;
    Tables t;

    if (!have_iasl()) {
        g_test_skip("iasl (acpica-tools) is not installed");
        return;
    }
    s = qtest_init("-machine q35 -smp 2 -serial null");
    dir = g_dir_make_tmp("kvmpc-acpi-q35-XXXXXX", NULL);
    load_tables(s, &t);
    iasl_disassemble(dir, "DSDT", t.dsdt);
    iasl_disassemble(dir, "FACP", t.fadt);
    iasl_disassemble(dir, "MCFG", t.mcfg);
    iasl_disassemble(dir, "APIC", t.madt);
    dsl = g_strdup_printf("%s/DSDT.dsl", dir);
    g_assert(g_file_get_contents(dsl, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "PNP0A08"));
    g_assert_nonnull(strstr(text, "Device (GSIH)"));
    g_assert_nonnull(strstr(text, "Method (\\_PIC, 1"));
    g_assert_nonnull(strstr(text, "0x001F0000"));
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    cmd = g_strdup_printf("rm -rf %s", dir);
    g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
}

/* ---- NUMA: SRAT and SLIT ------------------------------------------------ */

#define SRAT_CPU_START  (HDR + 12)
#define SRAT_MEM_LEN    40

typedef struct SratMem {
    uint64_t base, len;
    uint32_t node, flags;
} SratMem;

/* 5.2.16.1: one 16-byte Local APIC Affinity entry per possible CPU. */
static size_t check_srat_cpus(const uint8_t *srat, const uint32_t *apic_ids,
                              const uint32_t *nodes, unsigned n)
{
    size_t off = SRAT_CPU_START;

    g_assert_cmpuint(ldl_le(srat + HDR), ==, 1);    /* legacy reserved 1 */
    for (unsigned i = 0; i < n; i++, off += 16) {
        const uint8_t *e = srat + off;

        g_assert_cmpuint(e[0], ==, 0);
        g_assert_cmpuint(e[1], ==, 16);
        g_assert_cmpuint(e[2] | (e[9] | e[10] << 8 | e[11] << 16) << 8, ==,
                         nodes[i]);
        g_assert_cmpuint(e[3], ==, apic_ids[i]);
        g_assert_cmpuint(ldl_le(e + 4), ==, 1);     /* enabled */
    }
    return off;
}

/* 5.2.16.2: the Memory Affinity entries, in order, to the table's end. */
static void check_srat_memory(const uint8_t *srat, size_t off,
                              const SratMem *want, unsigned n)
{
    g_assert_cmpuint(ldl_le(srat + 4), ==, off + n * SRAT_MEM_LEN);
    for (unsigned i = 0; i < n; i++, off += SRAT_MEM_LEN) {
        const uint8_t *e = srat + off;

        g_assert_cmpuint(e[0], ==, 1);
        g_assert_cmpuint(e[1], ==, SRAT_MEM_LEN);
        g_assert_cmpuint(ldl_le(e + 2), ==, want[i].node);
        g_assert_cmphex(ldq_le(e + 8), ==, want[i].base);
        if (want[i].len) {
            g_assert_cmphex(ldq_le(e + 16), ==, want[i].len);
        }
        g_assert_cmphex(ldl_le(e + 28), ==, want[i].flags);
    }
}

static void iasl_check_tables(Tables *t, const char *const *srat_want,
                              size_t n_srat, const char *const *slit_want,
                              size_t n_slit)
{
    g_autofree char *dir = g_dir_make_tmp("kvmpc-acpi-XXXXXX", NULL);
    g_autofree char *dsl = NULL, *cmd = NULL;

    iasl_disassemble(dir, "SRAT", t->srat);
    dsl = read_dsl(dir, "SRAT");
    assert_dsl_has(dsl, "SRAT", srat_want, n_srat);
    if (t->slit) {
        g_autofree char *slit = NULL;

        iasl_disassemble(dir, "SLIT", t->slit);
        slit = read_dsl(dir, "SLIT");
        assert_dsl_has(slit, "SLIT", slit_want, n_slit);
    }
    iasl_disassemble(dir, "DSDT", t->dsdt);
    cmd = g_strdup_printf("rm -rf %s", dir);
    g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
}

/*
 * pc, two 2 GiB nodes, -m 4G: node 1's RAM straddles the 3 GiB split and
 * is cut in two (QEMU's layout); the pc-dimm area is hot-pluggable on the
 * last node; -numa dist gives a SLIT.
 */
static void test_numa_pc(void)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 }, nodes[] = { 0, 0, 1, 1 };
    static const SratMem mem[] = {
        { 0, 0xa0000, 0, 1 },
        { 0x100000, 0x80000000 - 0x100000, 0, 1 },
        { 0x80000000, 0x40000000, 1, 1 },
        { 0x100000000, 0x40000000, 1, 1 },
        { 0x140000000, 0, 1, 3 },           /* hot-pluggable | enabled */
    };
    static const char *const srat_want[] = {
        "[System Resource Affinity Table]", "Revision : 01",
        "Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]",
        "Subtable Type : 01 [Memory Affinity]",
        "Base Address : 0000000100000000", "Address Length : 0000000040000000",
        "Hot Pluggable : 1",
    };
    static const char *const slit_want[] = {
        "[System Locality Information Table]", "Localities : 0000000000000002",
        "Locality   0 : 0A 15", "Locality   1 : 15 0A",
    };
    QTestState *s = qtest_init(
        "-machine pc -m 4G,slots=2,maxmem=8G -smp 4,sockets=2,cores=2 "
        "-object memory-backend-ram,id=m0,size=2G "
        "-object memory-backend-ram,id=m1,size=2G "
        "-numa node,nodeid=0,memdev=m0,cpus=0-1 "
        "-numa node,nodeid=1,memdev=m1,cpus=2-3 "
        "-numa dist,src=0,dst=1,val=21");
    Tables t;

    load_tables(s, &t);
    g_assert_nonnull(t.srat);
    g_assert_nonnull(t.slit);
    check_srat_memory(t.srat, check_srat_cpus(t.srat, ids, nodes, 4), mem,
                      G_N_ELEMENTS(mem));
    g_assert_cmpuint(ldl_le(t.slit + 4), ==, HDR + 8 + 4);
    g_assert_cmpuint(ldq_le(t.slit + HDR), ==, 2);
    g_assert_cmpmem(t.slit + HDR + 8, 4, "\x0a\x15\x15\x0a", 4);
    if (have_iasl()) {
        iasl_check_tables(&t, srat_want, G_N_ELEMENTS(srat_want), slit_want,
                          G_N_ELEMENTS(slit_want));
    }
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * q35, two 64 MiB nodes, CPUs by QEMU's default mapping (socket mod
 * nodes), hot-pluggable CPUs with _PXM: three RAM ranges padded with a
 * disabled entry to nodes + 2; no -numa dist, no SLIT.
 */
static void test_numa_q35(void)
{
    static const uint32_t ids[] = { 0, 1, 2, 3 }, nodes[] = { 0, 1, 0, 1 };
    static const SratMem mem[] = {
        { 0, 0xa0000, 0, 1 },
        { 0x100000, 0x4000000 - 0x100000, 0, 1 },
        { 0x4000000, 0x4000000, 1, 1 },
        { 0, 0, 0, 0 },
    };
    static const char *const srat_want[] = {
        "Apic ID : 03", "Base Address : 0000000004000000",
    };
    static const char *const dsdt_want[] = {
        "Device (C001)", "Name (_PXM, One)", "Name (_PXM, Zero)",
    };
    QTestState *s = qtest_init(
        "-machine q35 -m 128M -smp 2,sockets=4,maxcpus=4 "
        "-object memory-backend-ram,id=m0,size=64M "
        "-object memory-backend-memfd,id=m1,size=64M "
        "-numa node,memdev=m0 -numa node,memdev=m1");
    Tables t;

    load_tables(s, &t);
    g_assert_nonnull(t.srat);
    g_assert_null(t.slit);
    check_srat_memory(t.srat, check_srat_cpus(t.srat, ids, nodes, 4), mem,
                      G_N_ELEMENTS(mem));
    g_assert_nonnull(memmem(t.dsdt, ldl_le(t.dsdt + 4), "_PXM", 4));
    if (have_iasl()) {
        g_autofree char *dir = g_dir_make_tmp("kvmpc-acpi-XXXXXX", NULL);
        g_autofree char *dsl = NULL, *cmd = NULL;

        iasl_check_tables(&t, srat_want, G_N_ELEMENTS(srat_want), NULL, 0);
        iasl_disassemble(dir, "DSDT", t.dsdt);
        dsl = read_dsl(dir, "DSDT");
        assert_dsl_has(dsl, "DSDT", dsdt_want, G_N_ELEMENTS(dsdt_want));
        cmd = g_strdup_printf("rm -rf %s", dir);
        g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
    }
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * @table disassembled by iasl, without what may differ between two
 * builders of the same table: iasl's banner, the checksum, the OEM
 * revision and the compiler ids.
 */
static char *normalised_dsl(const char *dir, const char *name,
                            const uint8_t *table)
{
    static const char *const skip[] = {
        "Checksum :", "Oem Revision :", "Asl Compiler ID :",
        "Asl Compiler Revision :",
    };
    g_autofree char *dsl = NULL;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new(NULL);
    bool comment = false;

    iasl_disassemble(dir, name, table);
    dsl = read_dsl(dir, name);
    lines = g_strsplit(dsl, "\n", -1);
    for (char **l = lines; *l; l++) {
        bool drop = comment || g_str_has_prefix(*l, "/*") ||
                    g_str_has_prefix(*l, " *") || !strncmp(*l, "Raw Table", 9);
        comment = (comment || g_str_has_prefix(*l, "/*")) && !strstr(*l, "*/");
        for (size_t i = 0; !drop && i < G_N_ELEMENTS(skip); i++) {
            drop = strstr(*l, skip[i]) != NULL;
        }
        if (!drop) {
            g_string_append_printf(out, "%s\n", *l);
        }
        if (!strncmp(*l, "Raw Table Data", 14)) {
            break;      /* the hex dump repeats the checksum */
        }
    }
    return g_string_free(out, FALSE);
}

/*
 * The SRAT and SLIT of test_numa_pc's machine, disassembled, against
 * QEMU 7.2's for the same command line (qemu-system-x86_64 under TCG,
 * stopped, its tables read through the same fw_cfg qtest path).
 */
static void check_numa_like_qemu(const char *machine)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *args = g_strdup_printf(
        "-machine %s -m 4G,slots=2,maxmem=8G -smp 2,sockets=2,cores=2,"
        "maxcpus=4 "
        "-object memory-backend-ram,id=m0,size=1G "
        "-object memory-backend-ram,id=m1,size=3G "
        "-numa node,nodeid=0,memdev=m0,cpus=0-1 "
        "-numa node,nodeid=1,memdev=m1,cpus=2-3 "
        "-numa dist,src=0,dst=1,val=21", machine);
    g_autofree char *dir = NULL, *cmd = NULL;
    const char *names[] = { "SRAT", "SLIT" };
    char *ours[2], *theirs[2];
    QTestState *s;
    Tables t;

    if (!have_iasl() || !qemu) {
        g_test_skip("needs iasl (acpica-tools) and qemu-system-x86_64");
        return;
    }
    dir = g_dir_make_tmp("kvmpc-acpi-XXXXXX", NULL);
    s = start_machine(args, NULL);
    load_tables(s, &t);
    g_assert_nonnull(t.srat);
    g_assert_nonnull(t.slit);
    ours[0] = normalised_dsl(dir, "SRAT", t.srat);
    ours[1] = normalised_dsl(dir, "SLIT", t.slit);
    acpi_linked_free(&t.lt);
    stop_machine(s, false);

    s = start_machine(args, qemu);
    load_tables(s, &t);
    g_assert_nonnull(t.srat);
    g_assert_nonnull(t.slit);
    theirs[0] = normalised_dsl(dir, "SRAT", t.srat);
    theirs[1] = normalised_dsl(dir, "SLIT", t.slit);
    acpi_linked_free(&t.lt);
    stop_machine(s, true);

    /* not two empty texts: the ranges, the hotplug area, the distances */
    g_assert_nonnull(strstr(ours[0], "Base Address : 0000000100000000"));
    g_assert_nonnull(strstr(ours[0], "Hot Pluggable : 1"));
    g_assert_nonnull(strstr(ours[1], "Locality   1 : 15 0A"));
    for (unsigned i = 0; i < 2; i++) {
        if (strcmp(ours[i], theirs[i])) {
            g_error("%s %s differs from QEMU 7.2's:\n--- kvmpc\n%s\n"
                    "--- QEMU\n%s", machine, names[i], ours[i], theirs[i]);
        }
        g_free(ours[i]);
        g_free(theirs[i]);
    }
    cmd = g_strdup_printf("rm -rf %s", dir);
    g_assert(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
}

static void test_numa_like_qemu_pc(void)
{
    check_numa_like_qemu("pc");
}

static void test_numa_like_qemu_q35(void)
{
    check_numa_like_qemu("q35");
}

/*
 * -device vmgenid: the SSDT byte for byte as QEMU 7.2 builds it for the
 * same GUID (the linked VGIA value and so the checksum depend on where the
 * blobs were placed, which depends on the other tables' sizes: both are
 * masked), in the same place in the RSDT (after the APIC), and the
 * WRITE_POINTER run as SeaBIOS runs it makes each put the GUID, in
 * Microsoft's byte order, at VGIA + 40 in guest memory.
 */
#define VMGENID_GUID_TEXT   "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87"
static const uint8_t vmgenid_guid_le[16] = {
    0xaf, 0x6e, 0x4e, 0x32, 0xd1, 0xd1, 0xf6, 0x4b,
    0xbf, 0x41, 0xb9, 0xbb, 0x6c, 0x91, 0xfb, 0x87,
};
#define SSDT_VGIA_OFFSET    42      /* header, NameOp, "VGIA", DWordPrefix */

static GByteArray *vmgenid_ssdt(const char *args, const char *qemu,
                                char **rsdt_order)
{
    QTestState *s = start_machine(args, qemu);
    GByteArray *ssdt = g_byte_array_new();
    GString *order = g_string_new(NULL);
    uint8_t guid[16];
    uint32_t vgia;
    Tables t;

    load_tables(s, &t);
    g_assert_nonnull(t.ssdt);
    g_assert_cmpuint(t.lt.write_pointers, ==, 1);
    g_assert(!memcmp(t.ssdt + 16, "VMGENID\0", 8));
    vgia = ldl_le(t.ssdt + SSDT_VGIA_OFFSET);
    g_assert_cmpuint(vgia, !=, 0);
    g_assert_cmphex(vgia & 0xfff, ==, 0);
    qtest_memread(s, vgia + 40, guid, sizeof(guid));
    g_assert(!memcmp(guid, vmgenid_guid_le, sizeof(guid)));
    g_byte_array_append(ssdt, t.ssdt, ldl_le(t.ssdt + 4));
    memset(ssdt->data + 9, 0, 1);
    memset(ssdt->data + SSDT_VGIA_OFFSET, 0, 4);
    for (uint32_t i = 0; i < (ldl_le(t.rsdt + 4) - HDR) / 4; i++) {
        const uint8_t *h = acpi_linked_ptr(&t.lt, ldl_le(t.rsdt + HDR + 4 * i),
                                           HDR);
        g_string_append_len(order, (const char *)h, 4);
        g_string_append_c(order, ' ');
    }
    *rsdt_order = g_string_free(order, FALSE);
    acpi_linked_free(&t.lt);
    stop_machine(s, qemu != NULL);
    return ssdt;
}

static void check_vmgenid_like_qemu(const char *machine)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *args = g_strdup_printf(
        "-machine %s -device vmgenid,guid=" VMGENID_GUID_TEXT, machine);
    g_autofree char *our_order = NULL, *their_order = NULL;
    g_autoptr(GByteArray) ours = NULL, theirs = NULL;

    ours = vmgenid_ssdt(args, NULL, &our_order);
    if (!qemu) {
        g_test_skip("needs qemu-system-x86_64 to compare with");
        return;
    }
    theirs = vmgenid_ssdt(args, qemu, &their_order);
    g_assert_cmpstr(strstr(our_order, "APIC SSDT"), !=, NULL);
    g_assert_cmpstr(strstr(their_order, "APIC SSDT"), !=, NULL);
    if (ours->len != theirs->len || memcmp(ours->data, theirs->data,
                                           ours->len)) {
        g_autofree char *dir = g_dir_make_tmp("kvmpc-acpi-XXXXXX", NULL);
        g_autofree char *a = NULL, *b = NULL;

        g_assert(have_iasl());
        a = normalised_dsl(dir, "SSDT", ours->data);
        b = normalised_dsl(dir, "SSDT", theirs->data);
        g_error("%s vmgenid SSDT differs from QEMU 7.2's (%u vs %u bytes)"
                ":\n--- kvmpc\n%s\n--- QEMU\n%s", machine, ours->len,
                theirs->len, a, b);
    }
}

static void test_vmgenid_like_qemu_pc(void)
{
    check_vmgenid_like_qemu("pc");
}

static void test_vmgenid_like_qemu_q35(void)
{
    check_vmgenid_like_qemu("q35");
}

/* Without -numa: neither table. */
static void test_no_numa(void)
{
    QTestState *s = qtest_init("-m 1G,slots=2,maxmem=2G");
    Tables t;

    load_tables(s, &t);
    g_assert_null(t.srat);
    g_assert_null(t.slit);
    acpi_linked_free(&t.lt);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi/default", test_default_tables);
    g_test_add_func("/acpi/smp-topology", test_smp_topology);
    g_test_add_func("/acpi/many-cpus", test_many_cpus);
    g_test_add_func("/acpi/iasl", test_iasl);
    g_test_add_func("/acpi/iasl-pcihp", test_iasl_pcihp);
    g_test_add_func("/acpi/pcihp-off", test_pcihp_off);
    g_test_add_func("/acpi/pcihp-bridge", test_pcihp_bridge);
    g_test_add_func("/acpi/pcihp-root-off-bridge", test_pcihp_root_off_bridge);
    g_test_add_func("/acpi/iasl-pcihp-bridge", test_iasl_pcihp_bridge);
    g_test_add_func("/acpi/pcihp-bridge-like-qemu",
                    test_pcihp_bridge_like_qemu);
    g_test_add_func("/acpi/pcihp-root-off-like-qemu",
                    test_pcihp_root_off_like_qemu);
    g_test_add_func("/acpi/q35-iasl-pcihp", test_q35_iasl_pcihp);
    g_test_add_func("/acpi/q35-pcihp-like-qemu", test_q35_pcihp_like_qemu);
    g_test_add_func("/acpi/q35-pcihp-switch-like-qemu",
                    test_q35_pcihp_switch_like_qemu);
    g_test_add_func("/acpi/q35-native-like-qemu", test_q35_native_like_qemu);
    g_test_add_func("/acpi/acpi-index-like-qemu", test_acpi_index_like_qemu);
    g_test_add_func("/acpi/q35-acpi-index-like-qemu",
                    test_q35_acpi_index_like_qemu);
    g_test_add_func("/acpi/iasl-memhp", test_iasl_memhp);
    g_test_add_func("/acpi/q35-iasl-memhp", test_q35_iasl_memhp);
    g_test_add_func("/acpi/memhp-no-slots", test_memhp_no_slots);
    g_test_add_func("/acpi/q35", test_q35_tables);
    g_test_add_func("/acpi/q35-iasl", test_q35_iasl);
    g_test_add_func("/acpi/iasl-cpuhp-pc", test_iasl_cpuhp_pc);
    g_test_add_func("/acpi/iasl-cpuhp-q35", test_iasl_cpuhp_q35);
    g_test_add_func("/acpi/numa-pc", test_numa_pc);
    g_test_add_func("/acpi/numa-q35", test_numa_q35);
    g_test_add_func("/acpi/no-numa", test_no_numa);
    g_test_add_func("/acpi/numa-like-qemu-pc", test_numa_like_qemu_pc);
    g_test_add_func("/acpi/numa-like-qemu-q35", test_numa_like_qemu_q35);
    g_test_add_func("/acpi/vmgenid-like-qemu-pc", test_vmgenid_like_qemu_pc);
    g_test_add_func("/acpi/vmgenid-like-qemu-q35",
                    test_vmgenid_like_qemu_q35);
    return g_test_run();
}
