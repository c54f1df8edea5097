/*
 * SMBIOS structure table and entry point.
 *
 * Spec: DMTF DSP0134 "System Management BIOS (SMBIOS) Reference
 * Specification" 3.x:
 *   5.2.1  SMBIOS 2.1 (32-bit) entry point "_SM_" / "_DMI_"
 *   5.2.2  SMBIOS 3.0 (64-bit) entry point "_SM3_"
 *   6.1.2  structure header; 6.1.3 text strings (1-based indexes, each
 *          NUL-terminated, the set closed by a second NUL)
 *   7.1 type 0 BIOS, 7.2 type 1 System (7.2.1 UUID byte order), 7.3 type 2
 *   Baseboard, 7.4 type 3 Chassis, 7.5 type 4 Processor, 7.12 type 11 OEM
 *   strings, 7.17 type 16 Physical Memory Array, 7.18 type 17 Memory
 *   Device, 7.20 type 19 Memory Array Mapped Address, 7.33 type 32 System
 *   Boot, 7.45 type 127 End-of-Table.
 * Structures, handles, defaults and the -smbios option keys follow QEMU's
 * hw/smbios/smbios.c for the pc machine: version 2.8 tables, type 0 only
 * when the user gave type 0 fields (SeaBIOS supplies its own otherwise),
 * one type 4 per socket, one type 17 per 16 GiB of RAM, one type 19 per
 * RAM range.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "hw/smbios/smbios.h"

#define SMBIOS_MAJOR            2
#define SMBIOS_MINOR            8
#define SMBIOS_BCD_REVISION     0x28
#define SMBIOS3_MAJOR           3
#define SMBIOS3_MINOR           0
#define SMBIOS_EP21_SIZE        0x1f
#define SMBIOS_EP30_SIZE        0x18

/* Handles: QEMU's per-type bases. */
#define T0_HANDLE       0x0000
#define T1_HANDLE       0x0100
#define T2_HANDLE       0x0200
#define T3_HANDLE       0x0300
#define T4_HANDLE       0x0400
#define T11_HANDLE      0x0e00
#define T16_HANDLE      0x1000
#define T17_HANDLE      0x1100
#define T19_HANDLE      0x1300
#define T32_HANDLE      0x2000
#define T127_HANDLE     0x7f00
#define HANDLE_NONE     0xfffe      /* "not provided" */
#define HANDLE_UNKNOWN  0xffff

#define DEFAULT_CPU_SPEED       2000    /* MHz */
#define MAX_DIMM_SIZE           (16 * GiB)
#define T16_STD_MAX_KB          0x80000000ULL
#define T17_STD_MAX_MB          0x7fff
#define T19_STD_MAX_KB          0xffffffffULL

/* ---- options -------------------------------------------------------------- */

typedef enum SmbiosFieldKind {
    F_STR,
    F_SPEED,        /* uint16 MHz */
    F_UUID,
    F_RELEASE,      /* "major.minor" */
    F_BOOL,
    F_OEM,          /* type 11 value=, repeatable */
} SmbiosFieldKind;

typedef struct SmbiosField {
    const char *name;
    SmbiosFieldKind kind;
    size_t offset;
} SmbiosField;

#define FIELD(n, k, m) { (n), (k), offsetof(SmbiosOptions, m) }

static const SmbiosField t0_fields[] = {
    FIELD("vendor", F_STR, t0.vendor),
    FIELD("version", F_STR, t0.version),
    FIELD("date", F_STR, t0.date),
    FIELD("release", F_RELEASE, t0.have_release),
    FIELD("uefi", F_BOOL, t0.uefi),
    { NULL },
};

static const SmbiosField t1_fields[] = {
    FIELD("manufacturer", F_STR, t1.manufacturer),
    FIELD("product", F_STR, t1.product),
    FIELD("version", F_STR, t1.version),
    FIELD("serial", F_STR, t1.serial),
    FIELD("uuid", F_UUID, t1.have_uuid),
    FIELD("sku", F_STR, t1.sku),
    FIELD("family", F_STR, t1.family),
    { NULL },
};

static const SmbiosField t2_fields[] = {
    FIELD("manufacturer", F_STR, t2.manufacturer),
    FIELD("product", F_STR, t2.product),
    FIELD("version", F_STR, t2.version),
    FIELD("serial", F_STR, t2.serial),
    FIELD("asset", F_STR, t2.asset),
    FIELD("location", F_STR, t2.location),
    { NULL },
};

static const SmbiosField t3_fields[] = {
    FIELD("manufacturer", F_STR, t3.manufacturer),
    FIELD("version", F_STR, t3.version),
    FIELD("serial", F_STR, t3.serial),
    FIELD("asset", F_STR, t3.asset),
    FIELD("sku", F_STR, t3.sku),
    { NULL },
};

static const SmbiosField t4_fields[] = {
    FIELD("sock_pfx", F_STR, t4.sock_pfx),
    FIELD("manufacturer", F_STR, t4.manufacturer),
    FIELD("version", F_STR, t4.version),
    FIELD("serial", F_STR, t4.serial),
    FIELD("asset", F_STR, t4.asset),
    FIELD("part", F_STR, t4.part),
    FIELD("max-speed", F_SPEED, t4.max_speed),
    FIELD("current-speed", F_SPEED, t4.current_speed),
    { NULL },
};

static const SmbiosField t11_fields[] = {
    FIELD("value", F_OEM, t11),
    { NULL },
};

static const SmbiosField t17_fields[] = {
    FIELD("loc_pfx", F_STR, t17.loc_pfx),
    FIELD("bank", F_STR, t17.bank),
    FIELD("manufacturer", F_STR, t17.manufacturer),
    FIELD("serial", F_STR, t17.serial),
    FIELD("asset", F_STR, t17.asset),
    FIELD("part", F_STR, t17.part),
    FIELD("speed", F_SPEED, t17.speed),
    { NULL },
};

static const SmbiosField *smbios_fields_for(uint64_t type)
{
    switch (type) {
    case 0: return t0_fields;
    case 1: return t1_fields;
    case 2: return t2_fields;
    case 3: return t3_fields;
    case 4: return t4_fields;
    case 11: return t11_fields;
    case 17: return t17_fields;
    default: return NULL;
    }
}

void smbios_options_init(SmbiosOptions *o)
{
    *o = (SmbiosOptions){ 0 };
}

static void free_strings(SmbiosOptions *o)
{
    char **all[] = {
        &o->t0.vendor, &o->t0.version, &o->t0.date,
        &o->t1.manufacturer, &o->t1.product, &o->t1.version, &o->t1.serial,
        &o->t1.sku, &o->t1.family,
        &o->t2.manufacturer, &o->t2.product, &o->t2.version, &o->t2.serial,
        &o->t2.asset, &o->t2.location,
        &o->t3.manufacturer, &o->t3.version, &o->t3.serial, &o->t3.asset,
        &o->t3.sku,
        &o->t4.sock_pfx, &o->t4.manufacturer, &o->t4.version, &o->t4.serial,
        &o->t4.asset, &o->t4.part,
        &o->t17.loc_pfx, &o->t17.bank, &o->t17.manufacturer,
        &o->t17.serial, &o->t17.asset, &o->t17.part,
    };

    for (unsigned i = 0; i < ARRAY_SIZE(all); i++) {
        g_free(*all[i]);
        *all[i] = NULL;
    }
    for (unsigned i = 0; i < o->t11.count; i++) {
        g_free(o->t11.values[i]);
    }
    o->t11.count = 0;
}

void smbios_options_cleanup(SmbiosOptions *o)
{
    free_strings(o);
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in string byte order. */
static bool parse_uuid_str(const char *s, uint8_t out[16])
{
    static const unsigned dash_at[] = { 8, 13, 18, 23 };
    unsigned n = 0, d = 0;

    if (strlen(s) != 36) {
        return false;
    }
    for (unsigned i = 0; i < 36;) {
        if (d < ARRAY_SIZE(dash_at) && i == dash_at[d]) {
            if (s[i] != '-') {
                return false;
            }
            d++;
            i++;
            continue;
        }
        if (!g_ascii_isxdigit(s[i]) || !g_ascii_isxdigit(s[i + 1])) {
            return false;
        }
        out[n++] = g_ascii_xdigit_value(s[i]) << 4 |
                   g_ascii_xdigit_value(s[i + 1]);
        i += 2;
    }
    return n == 16;
}

static bool parse_release(const char *s, uint8_t *major, uint8_t *minor)
{
    unsigned maj, min;
    char tail;

    if (sscanf(s, "%u.%u%c", &maj, &min, &tail) != 2 || maj > 255 ||
        min > 255) {
        return false;
    }
    *major = maj;
    *minor = min;
    return true;
}

static bool smbios_set_field(SmbiosOptions *o, const SmbiosField *f,
                             const char *value, GError **errp)
{
    void *p = (char *)o + f->offset;
    uint64_t n;

    switch (f->kind) {
    case F_STR:
        g_free(*(char **)p);
        *(char **)p = g_strdup(value);
        return true;
    case F_SPEED:
        if (!parse_uint(value, &n, NULL)) {
            error_setg(errp, "Parameter '%s' expects a number", f->name);
            return false;
        }
        if (n > UINT16_MAX) {
            error_setg(errp, "SMBIOS CPU speed is too large (> %d)",
                       UINT16_MAX);
            return false;
        }
        *(uint16_t *)p = n;
        return true;
    case F_UUID:
        if (!parse_uuid_str(value, o->t1.uuid)) {
            error_setg(errp, "Invalid UUID");
            return false;
        }
        o->t1.have_uuid = true;
        return true;
    case F_RELEASE:
        if (!parse_release(value, &o->t0.release_major,
                           &o->t0.release_minor)) {
            error_setg(errp, "Invalid release");
            return false;
        }
        o->t0.have_release = true;
        return true;
    case F_BOOL:
        return parse_bool(value, (bool *)p, errp);
    case F_OEM:
        if (o->t11.count >= SMBIOS_MAX_OEM_STRINGS) {
            error_setg(errp, "too many OEM strings (max. %d)",
                       SMBIOS_MAX_OEM_STRINGS);
            return false;
        }
        o->t11.values[o->t11.count++] = g_strdup(value);
        return true;
    }
    return false;
}

static bool smbios_parse_type(const char *arg, uint64_t *type, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, NULL, errp);
    const char *t;

    if (!kv) {
        return false;
    }
    if (g_hash_table_lookup(kv, "file")) {
        error_setg(errp, "file= (binary SMBIOS tables) is not supported");
        return false;
    }
    t = g_hash_table_lookup(kv, "type");
    if (!t) {
        error_setg(errp, "Must specify type= or file=");
        return false;
    }
    if (!parse_uint(t, type, NULL)) {
        error_setg(errp, "Parameter 'type' expects a number");
        return false;
    }
    return true;
}

bool smbios_parse_option(SmbiosOptions *o, const char *arg, GError **errp)
{
    g_autoptr(GPtrArray) kv = NULL;
    const SmbiosField *fields;
    uint64_t type;

    if (!smbios_parse_type(arg, &type, errp)) {
        return false;
    }
    fields = smbios_fields_for(type);
    if (!fields) {
        error_setg(errp, "Don't know how to build fields for SMBIOS type %"
                   PRIu64, type);
        return false;
    }
    kv = keyval_parse_list(arg, NULL, errp);
    for (unsigned i = 0; kv && i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        const SmbiosField *f = fields;

        if (!strcmp(p->key, "type")) {
            continue;
        }
        while (f->name && strcmp(f->name, p->key)) {
            f++;
        }
        if (!f->name) {
            error_setg(errp, "Invalid parameter '%s'", p->key);
            return false;
        }
        if (!smbios_set_field(o, f, p->value, errp)) {
            return false;
        }
    }
    o->t0.given |= type == 0;
    o->t2.given |= type == 2;
    return kv != NULL;
}

void smbios_encode_uuid(uint8_t out[16], const uint8_t uuid[16])
{
    out[0] = uuid[3];
    out[1] = uuid[2];
    out[2] = uuid[1];
    out[3] = uuid[0];
    out[4] = uuid[5];
    out[5] = uuid[4];
    out[6] = uuid[7];
    out[7] = uuid[6];
    memcpy(out + 8, uuid + 8, 8);
}

/* ---- structure building ------------------------------------------------- */

typedef struct SmbiosTable {
    GByteArray *fmt;        /* formatted area */
    GPtrArray *strings;     /* const char * (not owned) */
} SmbiosTable;

typedef struct SmbiosBuild {
    GByteArray *out;
    unsigned count;
    unsigned max_size;
} SmbiosBuild;

static void put(GByteArray *b, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        uint8_t c = v >> (8 * i);
        g_byte_array_append(b, &c, 1);
    }
}

static void tbl_begin(SmbiosTable *t, uint8_t type, uint16_t handle)
{
    t->fmt = g_byte_array_new();
    t->strings = g_ptr_array_new();
    put(t->fmt, type, 1);
    put(t->fmt, 0, 1);          /* length, set at the end */
    put(t->fmt, handle, 2);
}

/* A string field: its 1-based index, or 0 for none. */
static void tbl_str(SmbiosTable *t, const char *s)
{
    if (!s || !*s) {
        put(t->fmt, 0, 1);
        return;
    }
    g_ptr_array_add(t->strings, (gpointer)s);
    put(t->fmt, t->strings->len, 1);
}

static void tbl_end(SmbiosBuild *b, SmbiosTable *t)
{
    size_t start = b->out->len;

    g_assert(t->fmt->len < 256);
    t->fmt->data[1] = t->fmt->len;
    g_byte_array_append(b->out, t->fmt->data, t->fmt->len);
    for (unsigned i = 0; i < t->strings->len; i++) {
        const char *s = g_ptr_array_index(t->strings, i);
        g_byte_array_append(b->out, (const uint8_t *)s, strlen(s) + 1);
    }
    if (!t->strings->len) {
        put(b->out, 0, 1);
    }
    put(b->out, 0, 1);
    b->count++;
    b->max_size = MAX(b->max_size, b->out->len - start);
    g_byte_array_unref(t->fmt);
    g_ptr_array_free(t->strings, TRUE);
}

static const char *or_default(const char *s, const char *def)
{
    return s ? s : def;
}

/* 7.1 BIOS Information (SMBIOS 2.4 layout). */
static void build_type0(SmbiosBuild *b, const SmbiosOptions *o)
{
    SmbiosTable t;
    uint8_t ext2 = 0x14;        /* targeted content distribution | VM */

    tbl_begin(&t, 0, T0_HANDLE);
    tbl_str(&t, o->t0.vendor);
    tbl_str(&t, o->t0.version);
    put(t.fmt, 0xe800, 2);      /* BIOS starting address segment */
    tbl_str(&t, o->t0.date);
    put(t.fmt, 0, 1);           /* ROM size: set by the firmware */
    put(t.fmt, 0x08, 8);        /* characteristics not supported */
    put(t.fmt, 0, 1);           /* extension byte 1 */
    if (o->t0.uefi) {
        ext2 |= 0x08;
    }
    put(t.fmt, ext2, 1);
    put(t.fmt, o->t0.have_release ? o->t0.release_major : 0xff, 1);
    put(t.fmt, o->t0.have_release ? o->t0.release_minor : 0xff, 1);
    put(t.fmt, 0xff, 1);        /* embedded controller: none */
    put(t.fmt, 0xff, 1);
    tbl_end(b, &t);
}

/* 7.2 System Information. */
static void build_type1(SmbiosBuild *b, const SmbiosOptions *o,
                        const SmbiosMachineInfo *m)
{
    SmbiosTable t;
    uint8_t uuid[16] = { 0 };

    tbl_begin(&t, 1, T1_HANDLE);
    tbl_str(&t, or_default(o->t1.manufacturer, m->manufacturer));
    tbl_str(&t, or_default(o->t1.product, m->product));
    tbl_str(&t, or_default(o->t1.version, m->version));
    tbl_str(&t, o->t1.serial);
    if (o->t1.have_uuid) {
        smbios_encode_uuid(uuid, o->t1.uuid);
    } else if (m->uuid) {
        smbios_encode_uuid(uuid, m->uuid);
    }
    g_byte_array_append(t.fmt, uuid, sizeof(uuid));
    put(t.fmt, 0x06, 1);        /* wake-up type: power switch */
    tbl_str(&t, o->t1.sku);
    tbl_str(&t, o->t1.family);
    tbl_end(b, &t);
}

/* 7.3 Baseboard Information (only when asked for). */
static void build_type2(SmbiosBuild *b, const SmbiosOptions *o,
                        const SmbiosMachineInfo *m)
{
    SmbiosTable t;

    tbl_begin(&t, 2, T2_HANDLE);
    tbl_str(&t, or_default(o->t2.manufacturer, m->manufacturer));
    tbl_str(&t, or_default(o->t2.product, m->product));
    tbl_str(&t, or_default(o->t2.version, m->version));
    tbl_str(&t, o->t2.serial);
    tbl_str(&t, o->t2.asset);
    put(t.fmt, 0x01, 1);        /* feature flags: hosting board */
    tbl_str(&t, o->t2.location);
    put(t.fmt, T3_HANDLE, 2);   /* chassis */
    put(t.fmt, 0x0a, 1);        /* board type: motherboard */
    put(t.fmt, 0, 1);           /* contained object handles */
    tbl_end(b, &t);
}

/* 7.4 System Enclosure or Chassis. */
static void build_type3(SmbiosBuild *b, const SmbiosOptions *o,
                        const SmbiosMachineInfo *m)
{
    SmbiosTable t;

    tbl_begin(&t, 3, T3_HANDLE);
    tbl_str(&t, or_default(o->t3.manufacturer, m->manufacturer));
    put(t.fmt, 0x01, 1);        /* type: other */
    tbl_str(&t, or_default(o->t3.version, m->version));
    tbl_str(&t, o->t3.serial);
    tbl_str(&t, o->t3.asset);
    put(t.fmt, 0x03, 1);        /* boot-up state: safe */
    put(t.fmt, 0x03, 1);        /* power supply state: safe */
    put(t.fmt, 0x03, 1);        /* thermal state: safe */
    put(t.fmt, 0x02, 1);        /* security status: unknown */
    put(t.fmt, 0, 4);           /* OEM defined */
    put(t.fmt, 0, 1);           /* height */
    put(t.fmt, 0, 1);           /* power cords */
    put(t.fmt, 0, 1);           /* contained element count */
    put(t.fmt, 0, 1);           /* contained element record length */
    tbl_str(&t, o->t3.sku);
    tbl_end(b, &t);
}

static uint8_t clamp_u8(unsigned v)
{
    return v > 0xff ? 0xff : v;
}

/* 7.5 Processor Information (SMBIOS 2.6 layout), one per socket. */
static void build_type4(SmbiosBuild *b, const SmbiosOptions *o,
                        const SmbiosMachineInfo *m, unsigned socket)
{
    g_autofree char *sock = g_strdup_printf(
        "%s %u", or_default(o->t4.sock_pfx, "CPU"), socket);
    SmbiosTable t;

    tbl_begin(&t, 4, T4_HANDLE + socket);
    tbl_str(&t, sock);
    put(t.fmt, 0x03, 1);        /* processor type: central processor */
    put(t.fmt, 0x01, 1);        /* family: other */
    tbl_str(&t, or_default(o->t4.manufacturer, m->manufacturer));
    put(t.fmt, m->cpuid_version, 4);    /* processor ID */
    put(t.fmt, m->cpuid_features, 4);
    tbl_str(&t, or_default(o->t4.version, m->version));
    put(t.fmt, 0, 1);           /* voltage */
    put(t.fmt, 0, 2);           /* external clock: unknown */
    put(t.fmt, o->t4.max_speed ? o->t4.max_speed : DEFAULT_CPU_SPEED, 2);
    put(t.fmt, o->t4.current_speed ? o->t4.current_speed
                                   : DEFAULT_CPU_SPEED, 2);
    put(t.fmt, 0x41, 1);        /* status: populated, enabled */
    put(t.fmt, 0x01, 1);        /* upgrade: other */
    put(t.fmt, HANDLE_UNKNOWN, 2);  /* L1/L2/L3 cache */
    put(t.fmt, HANDLE_UNKNOWN, 2);
    put(t.fmt, HANDLE_UNKNOWN, 2);
    tbl_str(&t, o->t4.serial);
    tbl_str(&t, o->t4.asset);
    tbl_str(&t, o->t4.part);
    put(t.fmt, clamp_u8(m->cores_per_socket), 1);   /* core count */
    put(t.fmt, clamp_u8(m->cores_per_socket), 1);   /* cores enabled */
    put(t.fmt, clamp_u8(m->threads_per_socket), 1);
    put(t.fmt, 0x02, 2);        /* characteristics: unknown */
    put(t.fmt, 0x01, 2);        /* family 2: other */
    tbl_end(b, &t);
}

/* 7.12 OEM Strings. */
static void build_type11(SmbiosBuild *b, const SmbiosOptions *o)
{
    SmbiosTable t;

    tbl_begin(&t, 11, T11_HANDLE);
    put(t.fmt, o->t11.count, 1);
    for (unsigned i = 0; i < o->t11.count; i++) {
        g_ptr_array_add(t.strings, o->t11.values[i]);
    }
    tbl_end(b, &t);
}

static unsigned dimm_count(uint64_t ram_size)
{
    return MAX((ram_size + MAX_DIMM_SIZE - 1) / MAX_DIMM_SIZE, 1);
}

/* 7.17 Physical Memory Array. */
static void build_type16(SmbiosBuild *b, const SmbiosMachineInfo *m)
{
    uint64_t size_kb = ALIGN_UP(m->ram_size, KiB) / KiB;
    SmbiosTable t;

    tbl_begin(&t, 16, T16_HANDLE);
    put(t.fmt, 0x01, 1);        /* location: other */
    put(t.fmt, 0x03, 1);        /* use: system memory */
    put(t.fmt, 0x06, 1);        /* error correction: multi-bit ECC */
    put(t.fmt, size_kb < T16_STD_MAX_KB ? size_kb : T16_STD_MAX_KB, 4);
    put(t.fmt, HANDLE_NONE, 2); /* memory error information */
    put(t.fmt, dimm_count(m->ram_size), 2);
    put(t.fmt, size_kb < T16_STD_MAX_KB ? 0 : m->ram_size, 8);
    tbl_end(b, &t);
}

/* 7.18 Memory Device (SMBIOS 2.8 layout), one per 16 GiB. */
static void build_type17(SmbiosBuild *b, const SmbiosOptions *o,
                         const SmbiosMachineInfo *m, unsigned i,
                         uint64_t size)
{
    g_autofree char *loc = g_strdup_printf(
        "%s %u", or_default(o->t17.loc_pfx, "DIMM"), i);
    uint64_t mb = ALIGN_UP(size, MiB) / MiB;
    SmbiosTable t;

    tbl_begin(&t, 17, T17_HANDLE + i);
    put(t.fmt, T16_HANDLE, 2);  /* physical memory array */
    put(t.fmt, HANDLE_NONE, 2); /* memory error information */
    put(t.fmt, HANDLE_UNKNOWN, 2);  /* total width */
    put(t.fmt, HANDLE_UNKNOWN, 2);  /* data width */
    put(t.fmt, mb < T17_STD_MAX_MB ? mb : T17_STD_MAX_MB, 2);
    put(t.fmt, 0x09, 1);        /* form factor: DIMM */
    put(t.fmt, 0, 1);           /* device set */
    tbl_str(&t, loc);
    tbl_str(&t, o->t17.bank);
    put(t.fmt, 0x07, 1);        /* memory type: RAM */
    put(t.fmt, 0x02, 2);        /* type detail: other */
    put(t.fmt, o->t17.speed, 2);
    tbl_str(&t, or_default(o->t17.manufacturer, m->manufacturer));
    tbl_str(&t, o->t17.serial);
    tbl_str(&t, o->t17.asset);
    tbl_str(&t, o->t17.part);
    put(t.fmt, 0, 1);           /* attributes */
    put(t.fmt, mb < T17_STD_MAX_MB ? 0 : mb, 4);    /* extended size */
    put(t.fmt, o->t17.speed, 2);    /* configured speed */
    put(t.fmt, 0, 2);           /* minimum voltage */
    put(t.fmt, 0, 2);           /* maximum voltage */
    put(t.fmt, 0, 2);           /* configured voltage */
    tbl_end(b, &t);
}

/* 7.20 Memory Array Mapped Address, one per RAM range. */
static void build_type19(SmbiosBuild *b, unsigned i, uint64_t start,
                         uint64_t size)
{
    uint64_t end = start + size - 1;
    bool ext = start / KiB >= T19_STD_MAX_KB || end / KiB >= T19_STD_MAX_KB;
    SmbiosTable t;

    tbl_begin(&t, 19, T19_HANDLE + i);
    put(t.fmt, ext ? T19_STD_MAX_KB : start / KiB, 4);
    put(t.fmt, ext ? T19_STD_MAX_KB : end / KiB, 4);
    put(t.fmt, T16_HANDLE, 2);
    put(t.fmt, 1, 1);           /* partition width */
    put(t.fmt, ext ? start : 0, 8);
    put(t.fmt, ext ? end : 0, 8);
    tbl_end(b, &t);
}

/* 7.33 System Boot Information: no errors. */
static void build_type32(SmbiosBuild *b)
{
    SmbiosTable t;

    tbl_begin(&t, 32, T32_HANDLE);
    put(t.fmt, 0, 6);           /* reserved */
    put(t.fmt, 0, 1);           /* boot status: no errors */
    tbl_end(b, &t);
}

static void build_type127(SmbiosBuild *b)
{
    SmbiosTable t;

    tbl_begin(&t, 127, T127_HANDLE);
    tbl_end(b, &t);
}

static void build_memory(SmbiosBuild *b, const SmbiosOptions *o,
                         const SmbiosMachineInfo *m)
{
    unsigned dimms = dimm_count(m->ram_size);
    uint64_t left = m->ram_size;

    build_type16(b, m);
    for (unsigned i = 0; i < dimms; i++) {
        uint64_t size = MIN(left, MAX_DIMM_SIZE);
        build_type17(b, o, m, i, size);
        left -= size;
    }
    for (unsigned i = 0; i < m->nr_mem_ranges; i++) {
        if (m->mem_size[i]) {
            build_type19(b, i, m->mem_start[i], m->mem_size[i]);
        }
    }
}

static uint8_t sum_bytes(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    for (size_t i = 0; i < len; i++) {
        s += p[i];
    }
    return s;
}

/* 5.2.1: the 31-byte 2.1 entry point (table address filled by firmware). */
static void build_anchor21(GByteArray *a, const SmbiosBuild *b)
{
    g_byte_array_set_size(a, SMBIOS_EP21_SIZE);
    memset(a->data, 0, SMBIOS_EP21_SIZE);
    memcpy(a->data, "_SM_", 4);
    a->data[5] = SMBIOS_EP21_SIZE;
    a->data[6] = SMBIOS_MAJOR;
    a->data[7] = SMBIOS_MINOR;
    stw_le_p(a->data + 8, b->max_size);
    memcpy(a->data + 16, "_DMI_", 5);
    stw_le_p(a->data + 22, b->out->len);
    stw_le_p(a->data + 28, b->count);
    a->data[30] = SMBIOS_BCD_REVISION;
    a->data[21] = -sum_bytes(a->data + 16, SMBIOS_EP21_SIZE - 16);
    a->data[4] = -sum_bytes(a->data, SMBIOS_EP21_SIZE);
}

/* 5.2.2: the 24-byte 3.0 entry point. */
static void build_anchor30(GByteArray *a, const SmbiosBuild *b)
{
    g_byte_array_set_size(a, SMBIOS_EP30_SIZE);
    memset(a->data, 0, SMBIOS_EP30_SIZE);
    memcpy(a->data, "_SM3_", 5);
    a->data[6] = SMBIOS_EP30_SIZE;
    a->data[7] = SMBIOS3_MAJOR;
    a->data[8] = SMBIOS3_MINOR;
    a->data[10] = 1;            /* entry point revision */
    stl_le_p(a->data + 12, b->out->len);
    a->data[5] = -sum_bytes(a->data, SMBIOS_EP30_SIZE);
}

void smbios_build(const SmbiosOptions *o, const SmbiosMachineInfo *m,
                  GByteArray *tables, GByteArray *anchor)
{
    SmbiosBuild b = { .out = tables };
    unsigned sockets = MAX(m->sockets, 1);

    if (o->t0.given) {
        build_type0(&b, o);
    }
    build_type1(&b, o, m);
    if (o->t2.given) {
        build_type2(&b, o, m);
    }
    build_type3(&b, o, m);
    for (unsigned i = 0; i < sockets; i++) {
        build_type4(&b, o, m, i);
    }
    if (o->t11.count) {
        build_type11(&b, o);
    }
    build_memory(&b, o, m);
    build_type32(&b);
    build_type127(&b);
    if (m->ep64) {
        build_anchor30(anchor, &b);
    } else {
        build_anchor21(anchor, &b);
    }
}
