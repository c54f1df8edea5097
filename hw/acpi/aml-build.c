/*
 * A small AML builder and ACPI table helpers.
 *
 * Spec: ACPI 6.4.
 *   20.2.2  Name Objects Encoding (NameSeg, NameString, prefixes)
 *   20.2.3  Data Objects Encoding (integers, strings, Buffer, Package)
 *   20.2.4  Package Length Encoding
 *   20.2.5  Term Objects Encoding (Scope, Device, Method, Field, ...)
 *   6.4     Resource Data Types (ResourceTemplate descriptors)
 *   5.2.3.2 Generic Address Structure, 5.2.6 System Description Table Header
 *
 * Each node is a byte string plus how it is wrapped when appended to its
 * parent: as is, behind an opcode and a PkgLength, or as a Buffer.
 */
#include "qemu/osdep.h"
#include "hw/acpi/aml-build.h"

/* Opcodes (ACPI 6.4, 20.3 "AML Byte Stream Byte Values"). */
#define AML_ZERO_OP         0x00
#define AML_ONE_OP          0x01
#define AML_NAME_OP         0x08
#define AML_BYTE_PREFIX     0x0a
#define AML_WORD_PREFIX     0x0b
#define AML_DWORD_PREFIX    0x0c
#define AML_STRING_PREFIX   0x0d
#define AML_QWORD_PREFIX    0x0e
#define AML_SCOPE_OP        0x10
#define AML_BUFFER_OP       0x11
#define AML_PACKAGE_OP      0x12
#define AML_METHOD_OP       0x14
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_PREFIX      0x5b
#define AML_ROOT_CHAR       '\\'
#define AML_PARENT_CHAR     '^'
#define AML_LOCAL0_OP       0x60
#define AML_ARG0_OP         0x68
#define AML_STORE_OP        0x70
#define AML_ADD_OP          0x72
#define AML_SUBTRACT_OP     0x74
#define AML_INCREMENT_OP    0x75
#define AML_TO_INTEGER_OP   0x99
#define AML_SHIFT_LEFT_OP   0x79
#define AML_SHIFT_RIGHT_OP  0x7a
#define AML_AND_OP          0x7b
#define AML_OR_OP           0x7d
#define AML_NOTIFY_OP       0x86
#define AML_DEREF_OF_OP     0x83
#define AML_INDEX_OP        0x88
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LAND_OP         0x90
#define AML_LOR_OP          0x91
#define AML_LNOT_OP         0x92
#define AML_LEQUAL_OP       0x93
#define AML_LGREATER_OP     0x94
#define AML_LLESS_OP        0x95
#define AML_IF_OP           0xa0
#define AML_ELSE_OP         0xa1
#define AML_WHILE_OP        0xa2
#define AML_RETURN_OP       0xa4
/* Behind AML_EXT_PREFIX. */
#define AML_EXT_OP_REGION   0x80
#define AML_EXT_FIELD       0x81
#define AML_EXT_DEVICE      0x82
#define AML_EXT_PROCESSOR   0x83

#define AML_NAMESEG_LEN     4
#define AML_MAX_ARGS        7
#define AML_MAX_LOCALS      8
#define AML_PKGLEN_MAX      0x0fffffff

/* Resource descriptor tags (6.4.2, 6.4.3). */
#define RES_IRQ_NO_FLAGS    0x22    /* small, type 0x04, 2 bytes */
#define RES_IO              0x47    /* small, type 0x08, 7 bytes */
#define RES_END_TAG         0x79    /* small, type 0x0f, 1 byte */
#define RES_MEMORY32_FIXED  0x86
#define RES_DWORD_ADDRESS   0x87
#define RES_WORD_ADDRESS    0x88
#define RES_EXT_INTERRUPT   0x89
#define RES_QWORD_ADDRESS   0x8a

#define RES_TYPE_MEMORY     0
#define RES_TYPE_IO         1
#define RES_TYPE_BUS        2
/* General flags: producer, positive decode, MinFixed, MaxFixed. */
#define RES_GFLAGS_PRODUCER_FIXED   0x0c
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_READ_WRITE  0x01

typedef enum AmlKind {
    AML_RAW,            /* the bytes themselves */
    AML_BLOCK,          /* op, PkgLength, bytes */
    AML_EXT_BLOCK,      /* 0x5b, op, PkgLength, bytes */
    AML_BUFFER,         /* Buffer (size) { bytes } */
    AML_RES_TEMPLATE,   /* Buffer (size) { bytes, EndTag } */
} AmlKind;

struct Aml {
    GByteArray *buf;
    AmlKind kind;
    uint8_t op;
};

static GPtrArray *aml_pool;

static void aml_node_free(gpointer p)
{
    Aml *a = p;

    g_byte_array_unref(a->buf);
    g_free(a);
}

void aml_pool_begin(void)
{
    g_assert(!aml_pool);
    aml_pool = g_ptr_array_new_with_free_func(aml_node_free);
}

void aml_pool_end(void)
{
    g_assert(aml_pool);
    g_ptr_array_free(aml_pool, TRUE);
    aml_pool = NULL;
}

static Aml *aml_new(AmlKind kind, uint8_t op)
{
    Aml *a = g_new0(Aml, 1);

    g_assert(aml_pool);
    a->buf = g_byte_array_new();
    a->kind = kind;
    a->op = op;
    g_ptr_array_add(aml_pool, a);
    return a;
}

Aml *aml_block_new(void)
{
    return aml_new(AML_RAW, 0);
}

const GByteArray *aml_bytes(const Aml *aml)
{
    return aml->buf;
}

static void put_byte(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put_bytes(GByteArray *b, const void *p, size_t len)
{
    g_byte_array_append(b, p, len);
}

void build_append_int_noprefix(GByteArray *t, uint64_t value, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        put_byte(t, value >> (8 * i));
    }
}

/*
 * PkgLength (20.2.4): 1 byte for up to 63, else a lead byte holding the
 * count of following bytes in bits 6-7 and the low nibble, then the rest
 * 8 bits at a time.  @incl_self: the value counts the encoding's own bytes
 * (package lengths) or not (field widths).
 */
static void put_pkglen(GByteArray *b, size_t len, bool incl_self)
{
    unsigned extra;
    size_t total = 0;

    for (extra = 0; extra < 4; extra++) {
        total = len + (incl_self ? extra + 1 : 0);
        if (extra == 0 ? total <= 0x3f : total < (1ULL << (4 + 8 * extra))) {
            break;
        }
    }
    g_assert(extra < 4 && total <= AML_PKGLEN_MAX);
    if (extra == 0) {
        put_byte(b, total);
        return;
    }
    put_byte(b, (extra << 6) | (total & 0x0f));
    for (unsigned i = 0; i < extra; i++) {
        put_byte(b, total >> (4 + 8 * i));
    }
}

static void put_int(GByteArray *b, uint64_t v)
{
    if (v == 0) {
        put_byte(b, AML_ZERO_OP);
    } else if (v == 1) {
        put_byte(b, AML_ONE_OP);
    } else if (v <= 0xff) {
        put_byte(b, AML_BYTE_PREFIX);
        put_byte(b, v);
    } else if (v <= 0xffff) {
        put_byte(b, AML_WORD_PREFIX);
        build_append_int_noprefix(b, v, 2);
    } else if (v <= 0xffffffff) {
        put_byte(b, AML_DWORD_PREFIX);
        build_append_int_noprefix(b, v, 4);
    } else {
        put_byte(b, AML_QWORD_PREFIX);
        build_append_int_noprefix(b, v, 8);
    }
}

static bool nameseg_char_ok(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (!first && c >= '0' &&
                                                  c <= '9');
}

/* One NameSeg, padded with '_' to 4 characters. */
static void put_nameseg(GByteArray *b, const char *seg, size_t len)
{
    g_assert(len >= 1 && len <= AML_NAMESEG_LEN);
    for (size_t i = 0; i < AML_NAMESEG_LEN; i++) {
        char c = i < len ? seg[i] : '_';
        g_assert(nameseg_char_ok(c, i == 0));
        put_byte(b, c);
    }
}

/* NameString (20.2.2): [\ | ^...] then 1, 2 (dual) or n (multi) segments. */
static void put_namestring(GByteArray *b, const char *name)
{
    g_auto(GStrv) segs = NULL;
    unsigned n;

    if (*name == AML_ROOT_CHAR) {
        put_byte(b, *name++);
    } else {
        while (*name == AML_PARENT_CHAR) {
            put_byte(b, *name++);
        }
    }
    if (!*name) {
        put_byte(b, AML_ZERO_OP);   /* NullName */
        return;
    }
    segs = g_strsplit(name, ".", -1);
    n = g_strv_length(segs);
    g_assert(n <= 255);
    if (n == 2) {
        put_byte(b, AML_DUAL_NAME_PREFIX);
    } else if (n > 2) {
        put_byte(b, AML_MULTI_NAME_PREFIX);
        put_byte(b, n);
    }
    for (unsigned i = 0; i < n; i++) {
        put_nameseg(b, segs[i], strlen(segs[i]));
    }
}

/* The encoded form of @child, as it appears inside its parent. */
static void aml_encode(GByteArray *out, const Aml *child)
{
    g_autoptr(GByteArray) body = NULL;

    switch (child->kind) {
    case AML_RAW:
        put_bytes(out, child->buf->data, child->buf->len);
        return;
    case AML_BLOCK:
        put_byte(out, child->op);
        put_pkglen(out, child->buf->len, true);
        put_bytes(out, child->buf->data, child->buf->len);
        return;
    case AML_EXT_BLOCK:
        put_byte(out, AML_EXT_PREFIX);
        put_byte(out, child->op);
        put_pkglen(out, child->buf->len, true);
        put_bytes(out, child->buf->data, child->buf->len);
        return;
    case AML_BUFFER:
    case AML_RES_TEMPLATE:
        body = g_byte_array_new();
        put_int(body, child->buf->len +
                (child->kind == AML_RES_TEMPLATE ? 2 : 0));
        put_bytes(body, child->buf->data, child->buf->len);
        if (child->kind == AML_RES_TEMPLATE) {
            put_byte(body, RES_END_TAG);
            put_byte(body, 0);      /* checksum 0: "treat as valid" */
        }
        put_byte(out, AML_BUFFER_OP);
        put_pkglen(out, body->len, true);
        put_bytes(out, body->data, body->len);
        return;
    }
}

void aml_append(Aml *parent, const Aml *child)
{
    aml_encode(parent->buf, child);
}

/* ---- data objects ---- */

Aml *aml_int(uint64_t value)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_int(a->buf, value);
    return a;
}

Aml *aml_string(const char *fmt, ...)
{
    Aml *a = aml_new(AML_RAW, 0);
    g_autofree char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    put_byte(a->buf, AML_STRING_PREFIX);
    put_bytes(a->buf, s, strlen(s) + 1);
    return a;
}

static Aml *aml_name_v(const char *fmt, va_list ap)
{
    Aml *a = aml_new(AML_RAW, 0);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);

    put_namestring(a->buf, s);
    return a;
}

Aml *aml_name(const char *fmt, ...)
{
    va_list ap;
    Aml *a;

    va_start(ap, fmt);
    a = aml_name_v(fmt, ap);
    va_end(ap);
    return a;
}

/* 6.1.5 _HID: three letters (5 bits each) then four hex digits, stored
 * most significant byte first. */
Aml *aml_eisaid(const char *id)
{
    uint32_t v;

    g_assert(strlen(id) == 7);
    v = ((uint32_t)(id[0] - '@') << 26) | ((uint32_t)(id[1] - '@') << 21) |
        ((uint32_t)(id[2] - '@') << 16) |
        (g_ascii_xdigit_value(id[3]) << 12) |
        (g_ascii_xdigit_value(id[4]) << 8) |
        (g_ascii_xdigit_value(id[5]) << 4) | g_ascii_xdigit_value(id[6]);
    return aml_int(GUINT32_SWAP_LE_BE(v));
}

Aml *aml_buffer(unsigned len, const uint8_t *data)
{
    Aml *a = aml_new(AML_BUFFER, 0);

    if (data) {
        put_bytes(a->buf, data, len);
    } else {
        for (unsigned i = 0; i < len; i++) {
            put_byte(a->buf, 0);
        }
    }
    return a;
}

Aml *aml_package(uint8_t num_elements)
{
    Aml *a = aml_new(AML_BLOCK, AML_PACKAGE_OP);

    put_byte(a->buf, num_elements);
    return a;
}

Aml *aml_arg(unsigned n)
{
    Aml *a = aml_new(AML_RAW, 0);

    g_assert(n < AML_MAX_ARGS);
    put_byte(a->buf, AML_ARG0_OP + n);
    return a;
}

Aml *aml_local(unsigned n)
{
    Aml *a = aml_new(AML_RAW, 0);

    g_assert(n < AML_MAX_LOCALS);
    put_byte(a->buf, AML_LOCAL0_OP + n);
    return a;
}

/* ---- named objects and blocks ---- */

Aml *aml_name_decl(const char *name, const Aml *value)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, AML_NAME_OP);
    put_namestring(a->buf, name);
    aml_encode(a->buf, value);
    return a;
}

static Aml *aml_named_block(AmlKind kind, uint8_t op, const char *fmt,
                            va_list ap)
{
    Aml *a = aml_new(kind, op);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);

    put_namestring(a->buf, s);
    return a;
}

Aml *aml_scope(const char *fmt, ...)
{
    va_list ap;
    Aml *a;

    va_start(ap, fmt);
    a = aml_named_block(AML_BLOCK, AML_SCOPE_OP, fmt, ap);
    va_end(ap);
    return a;
}

Aml *aml_device(const char *fmt, ...)
{
    va_list ap;
    Aml *a;

    va_start(ap, fmt);
    a = aml_named_block(AML_EXT_BLOCK, AML_EXT_DEVICE, fmt, ap);
    va_end(ap);
    return a;
}

/* MethodFlags: bits 0-2 ArgCount, bit 3 SerializeFlag, 4-7 SyncLevel 0. */
Aml *aml_method(const char *name, unsigned nargs, bool serialized)
{
    Aml *a = aml_new(AML_BLOCK, AML_METHOD_OP);

    g_assert(nargs < AML_MAX_ARGS + 1);
    put_namestring(a->buf, name);
    put_byte(a->buf, nargs | (serialized ? 0x08 : 0));
    return a;
}

Aml *aml_processor(uint8_t proc_id, uint32_t pblk_addr, uint8_t pblk_len,
                   const char *fmt, ...)
{
    va_list ap;
    Aml *a;

    va_start(ap, fmt);
    a = aml_named_block(AML_EXT_BLOCK, AML_EXT_PROCESSOR, fmt, ap);
    va_end(ap);
    put_byte(a->buf, proc_id);
    build_append_int_noprefix(a->buf, pblk_addr, 4);
    put_byte(a->buf, pblk_len);
    return a;
}

Aml *aml_operation_region(const char *name, AmlRegionSpace space,
                          const Aml *offset, uint32_t len)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, AML_EXT_PREFIX);
    put_byte(a->buf, AML_EXT_OP_REGION);
    put_namestring(a->buf, name);
    put_byte(a->buf, space);
    aml_encode(a->buf, offset);
    put_int(a->buf, len);
    return a;
}

/* FieldFlags: bits 0-3 AccessType, bit 4 LockRule, bits 5-6 UpdateRule. */
Aml *aml_field(const char *region, AmlAccessType access, AmlLockRule lock,
               AmlUpdateRule update)
{
    Aml *a = aml_new(AML_EXT_BLOCK, AML_EXT_FIELD);

    put_namestring(a->buf, region);
    put_byte(a->buf, access | (lock << 4) | (update << 5));
    return a;
}

Aml *aml_named_field(const char *name, unsigned bits)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_nameseg(a->buf, name, strlen(name));
    put_pkglen(a->buf, bits, false);
    return a;
}

Aml *aml_reserved_field(unsigned bits)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, 0x00);     /* ReservedField := 0x00 PkgLength */
    put_pkglen(a->buf, bits, false);
    return a;
}

Aml *aml_create_dword_field(const Aml *srcbuf, const Aml *index,
                            const char *name)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, AML_CREATE_DWORD_FIELD_OP);
    aml_encode(a->buf, srcbuf);
    aml_encode(a->buf, index);
    put_namestring(a->buf, name);
    return a;
}

/* ---- statements and expressions ---- */

static Aml *aml_block_with(uint8_t op, const Aml *predicate)
{
    Aml *a = aml_new(AML_BLOCK, op);

    if (predicate) {
        aml_encode(a->buf, predicate);
    }
    return a;
}

Aml *aml_if(const Aml *predicate)
{
    return aml_block_with(AML_IF_OP, predicate);
}

Aml *aml_else(void)
{
    return aml_block_with(AML_ELSE_OP, NULL);
}

Aml *aml_while(const Aml *predicate)
{
    return aml_block_with(AML_WHILE_OP, predicate);
}

static Aml *aml_op(uint8_t op, const Aml *a1, const Aml *a2)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, op);
    if (a1) {
        aml_encode(a->buf, a1);
    }
    if (a2) {
        aml_encode(a->buf, a2);
    }
    return a;
}

/* Binary operator with a Target (NullName when @target is NULL). */
static Aml *aml_op_target(uint8_t op, const Aml *x, const Aml *y,
                          const Aml *target)
{
    Aml *a = aml_op(op, x, y);

    if (target) {
        aml_encode(a->buf, target);
    } else {
        put_byte(a->buf, AML_ZERO_OP);
    }
    return a;
}

Aml *aml_return(const Aml *value)
{
    return aml_op(AML_RETURN_OP, value, NULL);
}

Aml *aml_store(const Aml *value, const Aml *target)
{
    return aml_op(AML_STORE_OP, value, target);
}

Aml *aml_or(const Aml *a, const Aml *b, const Aml *target)
{
    return aml_op_target(AML_OR_OP, a, b, target);
}

Aml *aml_and(const Aml *a, const Aml *b, const Aml *target)
{
    return aml_op_target(AML_AND_OP, a, b, target);
}

Aml *aml_add(const Aml *a, const Aml *b, const Aml *target)
{
    return aml_op_target(AML_ADD_OP, a, b, target);
}

Aml *aml_subtract(const Aml *a, const Aml *b, const Aml *target)
{
    return aml_op_target(AML_SUBTRACT_OP, a, b, target);
}

Aml *aml_to_integer(const Aml *arg)
{
    return aml_op_target(AML_TO_INTEGER_OP, arg, NULL, NULL);
}

Aml *aml_shiftleft(const Aml *a, const Aml *count, const Aml *target)
{
    return aml_op_target(AML_SHIFT_LEFT_OP, a, count, target);
}

Aml *aml_shiftright(const Aml *a, const Aml *count, const Aml *target)
{
    return aml_op_target(AML_SHIFT_RIGHT_OP, a, count, target);
}

Aml *aml_increment(const Aml *target)
{
    return aml_op(AML_INCREMENT_OP, target, NULL);
}

Aml *aml_equal(const Aml *a, const Aml *b)
{
    return aml_op(AML_LEQUAL_OP, a, b);
}

Aml *aml_lless(const Aml *a, const Aml *b)
{
    return aml_op(AML_LLESS_OP, a, b);
}

Aml *aml_lgreater(const Aml *a, const Aml *b)
{
    return aml_op(AML_LGREATER_OP, a, b);
}

Aml *aml_lnot(const Aml *a)
{
    return aml_op(AML_LNOT_OP, a, NULL);
}

Aml *aml_land(const Aml *a, const Aml *b)
{
    return aml_op(AML_LAND_OP, a, b);
}

Aml *aml_lor(const Aml *a, const Aml *b)
{
    return aml_op(AML_LOR_OP, a, b);
}

Aml *aml_index(const Aml *object, const Aml *index)
{
    return aml_op_target(AML_INDEX_OP, object, index, NULL);
}

Aml *aml_derefof(const Aml *ref)
{
    return aml_op(AML_DEREF_OF_OP, ref, NULL);
}

Aml *aml_notify(const Aml *object, const Aml *value)
{
    return aml_op(AML_NOTIFY_OP, object, value);
}

Aml *aml_call1(const char *method, const Aml *arg)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_namestring(a->buf, method);
    aml_encode(a->buf, arg);
    return a;
}

Aml *aml_call0(const char *method)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_namestring(a->buf, method);
    return a;
}

Aml *aml_call2(const char *method, const Aml *arg1, const Aml *arg2)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_namestring(a->buf, method);
    aml_encode(a->buf, arg1);
    aml_encode(a->buf, arg2);
    return a;
}

Aml *aml_call4(const char *method, const Aml *arg1, const Aml *arg2,
               const Aml *arg3, const Aml *arg4)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_namestring(a->buf, method);
    aml_encode(a->buf, arg1);
    aml_encode(a->buf, arg2);
    aml_encode(a->buf, arg3);
    aml_encode(a->buf, arg4);
    return a;
}

/* ExtOpPrefix opcodes of the synchronisation objects (20.2.5.2, 20.2.5.3). */
Aml *aml_call5(const char *method, const Aml *arg1, const Aml *arg2,
               const Aml *arg3, const Aml *arg4, const Aml *arg5)
{
    Aml *a = aml_call4(method, arg1, arg2, arg3, arg4);

    aml_encode(a->buf, arg5);
    return a;
}

#define AML_MUTEX_OP    0x01
#define AML_ACQUIRE_OP  0x23
#define AML_RELEASE_OP  0x27

Aml *aml_mutex(const char *name, uint8_t sync_level)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, AML_EXT_PREFIX);
    put_byte(a->buf, AML_MUTEX_OP);
    put_namestring(a->buf, name);
    put_byte(a->buf, sync_level & 0xf);
    return a;
}

Aml *aml_acquire(const Aml *mutex, uint16_t timeout)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, AML_EXT_PREFIX);
    put_byte(a->buf, AML_ACQUIRE_OP);
    aml_encode(a->buf, mutex);
    build_append_int_noprefix(a->buf, timeout, 2);
    return a;
}

Aml *aml_release(const Aml *mutex)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, AML_EXT_PREFIX);
    put_byte(a->buf, AML_RELEASE_OP);
    aml_encode(a->buf, mutex);
    return a;
}

/* ---- resource templates ---- */

Aml *aml_resource_template(void)
{
    return aml_new(AML_RES_TEMPLATE, 0);
}

/* 6.4.2.5 I/O Port Descriptor. */
Aml *aml_io(AmlIODecode dec, uint16_t min, uint16_t max, uint8_t align,
            uint8_t len)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, RES_IO);
    put_byte(a->buf, dec);
    build_append_int_noprefix(a->buf, min, 2);
    build_append_int_noprefix(a->buf, max, 2);
    put_byte(a->buf, align);
    put_byte(a->buf, len);
    return a;
}

/* 6.4.2.1 IRQ Descriptor, 2-byte form (edge, active high, exclusive). */
Aml *aml_irq_no_flags(uint8_t irq)
{
    Aml *a = aml_new(AML_RAW, 0);

    g_assert(irq < 16);
    put_byte(a->buf, RES_IRQ_NO_FLAGS);
    build_append_int_noprefix(a->buf, 1u << irq, 2);
    return a;
}

/* Large item header: tag, then the 16-bit length of what follows. */
static Aml *aml_large_item(uint8_t tag, uint16_t len)
{
    Aml *a = aml_new(AML_RAW, 0);

    put_byte(a->buf, tag);
    build_append_int_noprefix(a->buf, len, 2);
    return a;
}

/* 6.4.3.4 32-Bit Fixed Memory Range Descriptor. */
Aml *aml_memory32_fixed(uint32_t base, uint32_t size, bool read_write)
{
    Aml *a = aml_large_item(RES_MEMORY32_FIXED, 9);

    put_byte(a->buf, read_write ? 1 : 0);
    build_append_int_noprefix(a->buf, base, 4);
    build_append_int_noprefix(a->buf, size, 4);
    return a;
}

/*
 * 6.4.3.5 Address Space Descriptors (QWord 43, DWord 23, Word 13 bytes of
 * body): type, general flags, type-specific flags, then granularity, min,
 * max, translation offset and length, each @width bytes.
 */
static Aml *aml_address_space(uint8_t tag, unsigned width, uint8_t type,
                              uint8_t tflags, uint64_t min, uint64_t max)
{
    Aml *a = aml_large_item(tag, 3 + 5 * width);

    put_byte(a->buf, type);
    put_byte(a->buf, RES_GFLAGS_PRODUCER_FIXED);
    put_byte(a->buf, tflags);
    build_append_int_noprefix(a->buf, 0, width);            /* granularity */
    build_append_int_noprefix(a->buf, min, width);
    build_append_int_noprefix(a->buf, max, width);
    build_append_int_noprefix(a->buf, 0, width);            /* translation */
    build_append_int_noprefix(a->buf, max - min + 1, width);
    return a;
}

Aml *aml_word_bus_number(uint16_t min, uint16_t max)
{
    return aml_address_space(RES_WORD_ADDRESS, 2, RES_TYPE_BUS, 0, min, max);
}

Aml *aml_word_io(uint16_t min, uint16_t max)
{
    return aml_address_space(RES_WORD_ADDRESS, 2, RES_TYPE_IO,
                             RES_IO_ENTIRE_RANGE, min, max);
}

Aml *aml_dword_memory(AmlCacheable cacheable, uint32_t min, uint32_t max)
{
    return aml_address_space(RES_DWORD_ADDRESS, 4, RES_TYPE_MEMORY,
                             RES_MEM_READ_WRITE | (cacheable << 1), min, max);
}

Aml *aml_qword_memory(AmlCacheable cacheable, uint64_t min, uint64_t max)
{
    return aml_address_space(RES_QWORD_ADDRESS, 8, RES_TYPE_MEMORY,
                             RES_MEM_READ_WRITE | (cacheable << 1), min, max);
}

/* 6.4.3.6 Extended Interrupt Descriptor. */
Aml *aml_interrupt(AmlTrigger trigger, AmlPolarity polarity, bool shared,
                   const uint32_t *irqs, unsigned count)
{
    Aml *a;

    g_assert(count >= 1 && count <= 255);
    a = aml_large_item(RES_EXT_INTERRUPT, 2 + 4 * count);
    /* bit 0 consumer, 1 edge, 2 active low, 3 shared */
    put_byte(a->buf, 0x01 | (trigger << 1) | (polarity << 2) |
             (shared ? 0x08 : 0));
    put_byte(a->buf, count);
    for (unsigned i = 0; i < count; i++) {
        build_append_int_noprefix(a->buf, irqs[i], 4);
    }
    return a;
}

/* ---- table helpers ---- */

size_t build_append_named_dword(GByteArray *t, const char *name)
{
    size_t off;

    put_byte(t, AML_NAME_OP);
    put_namestring(t, name);
    put_byte(t, AML_DWORD_PREFIX);
    off = t->len;
    build_append_int_noprefix(t, 0, 4);
    return off;
}

size_t acpi_table_begin(GByteArray *t)
{
    size_t off = t->len;

    g_byte_array_set_size(t, off + ACPI_TABLE_HEADER_SIZE);
    memset(t->data + off, 0, ACPI_TABLE_HEADER_SIZE);
    return off;
}

/*
 * 5.2.6: Signature, Length, Revision, Checksum (left 0: the firmware's
 * linker fixes it), OEMID, OEM Table ID, OEM Revision, Creator ID,
 * Creator Revision.
 */
void acpi_table_end(GByteArray *t, size_t offset, const char *sig,
                    uint8_t rev)
{
    acpi_table_end_oem(t, offset, sig, rev, ACPI_OEM_TABLE_ID);
}

void acpi_table_end_oem(GByteArray *t, size_t offset, const char *sig,
                        uint8_t rev, const char *oem_table_id)
{
    uint8_t *h = t->data + offset;
    size_t id_len = strlen(oem_table_id);

    g_assert(strlen(sig) == 4);
    g_assert(id_len <= 8);
    memcpy(h, sig, 4);
    stl_le_p(h + 4, t->len - offset);
    h[8] = rev;
    h[9] = 0;
    memcpy(h + 10, ACPI_OEM_ID, 6);
    /* NUL-padded, as QEMU 7.2's acpi_table_begin pads it */
    memset(h + 16, 0, 8);
    memcpy(h + 16, oem_table_id, id_len);
    stl_le_p(h + 24, 1);
    memcpy(h + 28, ACPI_CREATOR_ID, 4);
    stl_le_p(h + 32, 1);
}

void build_append_gas(GByteArray *t, uint8_t space_id, uint8_t bit_width,
                      uint8_t bit_offset, uint8_t access_size,
                      uint64_t address)
{
    put_byte(t, space_id);
    put_byte(t, bit_width);
    put_byte(t, bit_offset);
    put_byte(t, access_size);
    build_append_int_noprefix(t, address, 8);
}

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return sum;
}
