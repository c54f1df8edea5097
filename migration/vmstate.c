/*
 * Save, load and dump device state from VMStateDescription tables.
 * Format: see include/migration/vmstate.h.
 */
#include "qemu/osdep.h"
#include "qemu/byte-reader.h"
#include "migration/vmstate.h"
#include "system/timer.h"

static unsigned field_count(const VMStateField *f)
{
    return f->count ? f->count : 1;
}

static bool field_in_version(const VMStateField *f, int version)
{
    return f->version_id <= version;
}

static void put_be(GByteArray *out, uint64_t v, unsigned size)
{
    uint8_t b[8];

    for (unsigned i = 0; i < size; i++) {
        b[i] = v >> (8 * (size - 1 - i));
    }
    g_byte_array_append(out, b, size);
}

static uint64_t get_be(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static unsigned scalar_size(VMStateType t)
{
    switch (t) {
    case VMS_BOOL: case VMS_U8: return 1;
    case VMS_U16: return 2;
    case VMS_U32: case VMS_I32: return 4;
    case VMS_U64: case VMS_I64: case VMS_TIMER: return 8;
    default: return 0;
    }
}

static uint64_t read_scalar(const void *p, VMStateType t)
{
    switch (t) {
    case VMS_BOOL: return *(const bool *)p;
    case VMS_U8: return *(const uint8_t *)p;
    case VMS_U16: return *(const uint16_t *)p;
    case VMS_U32: return *(const uint32_t *)p;
    case VMS_I32: return (uint32_t)*(const int32_t *)p;
    case VMS_U64: return *(const uint64_t *)p;
    case VMS_I64: return (uint64_t)*(const int64_t *)p;
    case VMS_TIMER: {
        QEMUTimer *t = *(QEMUTimer *const *)p;
        return (uint64_t)(t ? timer_expire_time_ns(t) : -1);
    }
    default: return 0;
    }
}

static void write_scalar(void *p, VMStateType t, uint64_t v)
{
    switch (t) {
    case VMS_BOOL: *(bool *)p = v != 0; break;
    case VMS_U8: *(uint8_t *)p = v; break;
    case VMS_U16: *(uint16_t *)p = v; break;
    case VMS_U32: *(uint32_t *)p = v; break;
    case VMS_I32: *(int32_t *)p = (int32_t)(uint32_t)v; break;
    case VMS_U64: *(uint64_t *)p = v; break;
    case VMS_I64: *(int64_t *)p = (int64_t)v; break;
    case VMS_TIMER: {
        QEMUTimer *t = *(QEMUTimer **)p;
        if (t) {
            if ((int64_t)v < 0) {
                timer_del(t);
            } else {
                timer_mod(t, (int64_t)v);
            }
        }
        break;
    }
    default: break;
    }
}

static bool save_fields(const VMStateDescription *vmsd, void *opaque,
                        GByteArray *out, GError **errp);

/* A VMS_VARRAY's current length and array. */
static uint32_t varray_len(const VMStateField *f, void *opaque)
{
    return *(uint32_t *)((char *)opaque + f->count_offset);
}

static void **varray_ptr(const VMStateField *f, void *opaque)
{
    return (void **)((char *)opaque + f->offset);
}

static bool save_varray(const VMStateField *f, void *opaque, GByteArray *out,
                        GError **errp)
{
    uint32_t n = varray_len(f, opaque);
    char *a = *varray_ptr(f, opaque);

    if (n > f->count || (n && !a)) {
        error_setg(errp, "%s: %u elements, at most %u", f->name, n, f->count);
        return false;
    }
    if (!f->vmsd) {
        g_byte_array_append(out, (const uint8_t *)a, n * f->size);
        return true;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!save_fields(f->vmsd, a + i * f->size, out, errp)) {
            return false;
        }
    }
    return true;
}

static bool save_field(const VMStateField *f, void *opaque, GByteArray *out,
                       GError **errp)
{
    if (f->type == VMS_VARRAY) {
        return save_varray(f, opaque, out, errp);
    }
    for (unsigned i = 0; i < field_count(f); i++) {
        void *p = (char *)opaque + f->offset + i * f->size;
        if (f->type == VMS_BUFFER) {
            g_byte_array_append(out, p, f->size);
        } else if (f->type == VMS_STRUCT) {
            if (!save_fields(f->vmsd, p, out, errp)) {
                return false;
            }
        } else {
            put_be(out, read_scalar(p, f->type), scalar_size(f->type));
        }
    }
    return true;
}

static bool save_fields(const VMStateDescription *vmsd, void *opaque,
                        GByteArray *out, GError **errp)
{
    if (vmsd->pre_save && vmsd->pre_save(opaque) < 0) {
        error_setg(errp, "%s: pre_save failed", vmsd->name);
        return false;
    }
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (field_in_version(f, vmsd->version_id) &&
            !save_field(f, opaque, out, errp)) {
            return false;
        }
    }
    return true;
}

bool vmstate_save(const VMStateDescription *vmsd, void *opaque,
                  GByteArray *out, GError **errp)
{
    put_be(out, vmsd->version_id, 4);
    return save_fields(vmsd, opaque, out, errp);
}

typedef struct Reader {
    ByteReader b;
    const char *section;
} Reader;

static bool reader_take(Reader *r, size_t n, const uint8_t **p, GError **errp)
{
    *p = br_take(&r->b, n);
    if (!*p) {
        error_setg(errp, "%s: state is truncated", r->section);
        return false;
    }
    return true;
}

static bool load_fields(const VMStateDescription *vmsd, void *opaque,
                        Reader *r, int version, GError **errp);

/* The length field was loaded before: check it, replace the array. */
static bool load_varray(const VMStateField *f, void *opaque, Reader *r,
                        GError **errp)
{
    uint32_t n = varray_len(f, opaque);
    void **pa = varray_ptr(f, opaque);
    const uint8_t *p;
    char *a;

    if (n > f->count) {
        error_setg(errp, "%s: %s has %u elements, at most %u", r->section,
                   f->name, n, f->count);
        /* leave the struct consistent: no array, length 0 */
        *(uint32_t *)((char *)opaque + f->count_offset) = 0;
        g_free(*pa);
        *pa = NULL;
        return false;
    }
    g_free(*pa);
    *pa = a = n ? g_malloc0((size_t)n * f->size) : NULL;
    if (!f->vmsd) {
        if (!reader_take(r, (size_t)n * f->size, &p, errp)) {
            return false;
        }
        if (n) {
            memcpy(a, p, (size_t)n * f->size);
        }
        return true;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!load_fields(f->vmsd, a + i * f->size, r, f->vmsd->version_id,
                         errp)) {
            return false;
        }
    }
    return true;
}

static bool load_field(const VMStateField *f, void *opaque, Reader *r,
                       GError **errp)
{
    const uint8_t *p;

    if (f->type == VMS_VARRAY) {
        return load_varray(f, opaque, r, errp);
    }
    for (unsigned i = 0; i < field_count(f); i++) {
        void *dst = (char *)opaque + f->offset + i * f->size;
        if (f->type == VMS_BUFFER) {
            if (!reader_take(r, f->size, &p, errp)) {
                return false;
            }
            memcpy(dst, p, f->size);
        } else if (f->type == VMS_STRUCT) {
            /* Nested structs travel at their own current version. */
            if (!load_fields(f->vmsd, dst, r, f->vmsd->version_id, errp)) {
                return false;
            }
        } else {
            unsigned n = scalar_size(f->type);
            if (!reader_take(r, n, &p, errp)) {
                return false;
            }
            write_scalar(dst, f->type, get_be(p, n));
        }
    }
    return true;
}

static bool load_fields(const VMStateDescription *vmsd, void *opaque,
                        Reader *r, int version, GError **errp)
{
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (field_in_version(f, version) &&
            !load_field(f, opaque, r, errp)) {
            return false;
        }
    }
    if (vmsd->post_load && vmsd->post_load(opaque, version) < 0) {
        error_setg(errp, "%s: state rejected by the device", vmsd->name);
        return false;
    }
    return true;
}

bool vmstate_load(const VMStateDescription *vmsd, void *opaque,
                  const uint8_t *buf, size_t len, size_t *consumed,
                  GError **errp)
{
    Reader r = { byte_reader(buf, len), vmsd->name };
    const uint8_t *p;
    int version;

    if (!reader_take(&r, 4, &p, errp)) {
        return false;
    }
    version = (int)get_be(p, 4);
    if (version > vmsd->version_id || version < vmsd->minimum_version_id) {
        error_setg(errp, "%s: unsupported state version %d (accepts %d..%d)",
                   vmsd->name, version, vmsd->minimum_version_id,
                   vmsd->version_id);
        return false;
    }
    if (!load_fields(vmsd, opaque, &r, version, errp)) {
        return false;
    }
    *consumed = r.b.pos;
    return true;
}

static void dump_fields(GString *s, const VMStateDescription *vmsd,
                        void *opaque, const char *prefix)
{
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (f->type == VMS_VARRAY) {
            uint32_t n = MIN(varray_len(f, opaque), f->count);
            char *a = *varray_ptr(f, opaque);

            if (!f->vmsd || !a) {
                g_string_append_printf(s, "%s%s = <%u elements>\n", prefix,
                                       f->name, a ? n : 0);
                continue;
            }
            for (uint32_t i = 0; i < n; i++) {
                g_autofree char *sub = g_strdup_printf("%s%s[%u].", prefix,
                                                       f->name, i);
                dump_fields(s, f->vmsd, a + i * f->size, sub);
            }
            continue;
        }
        for (unsigned i = 0; i < field_count(f); i++) {
            void *p = (char *)opaque + f->offset + i * f->size;
            g_autofree char *name = f->count
                ? g_strdup_printf("%s%s[%u]", prefix, f->name, i)
                : g_strdup_printf("%s%s", prefix, f->name);
            if (f->type == VMS_STRUCT) {
                g_autofree char *sub = g_strdup_printf("%s.", name);
                dump_fields(s, f->vmsd, p, sub);
            } else if (f->type == VMS_BUFFER) {
                g_string_append_printf(s, "%s = <%zu bytes>\n", name, f->size);
            } else {
                g_string_append_printf(s, "%s = 0x%" PRIx64 "\n", name,
                                       read_scalar(p, f->type));
            }
        }
    }
}

char *vmstate_dump(const VMStateDescription *vmsd, void *opaque)
{
    GString *s = g_string_new(NULL);

    dump_fields(s, vmsd, opaque, "");
    return g_string_free(s, FALSE);
}
