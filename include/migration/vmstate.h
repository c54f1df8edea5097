/*
 * Device state descriptions.  One table per device lists its guest-visible
 * fields; the same table serves snapshots, live migration and debug dumps.
 *
 * Wire format of one section (all integers big-endian):
 *   u32 version_id, then each field present in that version, in table order:
 *     integers as their size; bool as u8; buffers as raw bytes;
 *     arrays element by element; structs recursively (no header);
 *     a variable array (VMS_VARRAY) as its current number of elements,
 *     which an earlier u32 field of the same struct holds, each element
 *     a struct or a byte (nothing for the count itself).
 */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H
#include "qemu/osdep.h"

typedef enum VMStateType {
    VMS_END = 0,
    VMS_BOOL,
    VMS_U8,
    VMS_U16,
    VMS_U32,
    VMS_U64,
    VMS_I32,
    VMS_I64,
    VMS_BUFFER,     /* @size raw bytes */
    VMS_STRUCT,     /* nested description @vmsd, element size @size */
    VMS_TIMER,      /* a QEMUTimer *: its expiry time (-1 when not armed) */
    /* A pointer to a g_malloc'ed array (NULL when empty): its length is
     * the u32 field at @count_offset (saved before it, at most @count
     * elements); elements are structs (@vmsd) or bytes (@vmsd NULL, @size
     * 1).  Loading frees the old array and allocates the new one. */
    VMS_VARRAY,
} VMStateType;

typedef struct VMStateDescription VMStateDescription;

typedef struct VMStateField {
    const char *name;
    VMStateType type;
    size_t offset;
    size_t size;        /* element size for BUFFER/STRUCT */
    unsigned count;     /* array length; 0 means a single element */
    int version_id;     /* the field exists from this section version on */
    const VMStateDescription *vmsd;  /* VMS_STRUCT, VMS_VARRAY of structs */
    size_t count_offset;             /* VMS_VARRAY: the u32 length field */
} VMStateField;

struct VMStateDescription {
    const char *name;
    int version_id;
    int minimum_version_id;
    int (*pre_save)(void *opaque);
    int (*post_load)(void *opaque, int version_id);
    const VMStateField *fields;   /* terminated by VMSTATE_END_OF_LIST() */
};

#define VMSTATE_FIELD_(n, st, f, t, sz, cnt, ver) \
    { .name = (n), .type = (t), .offset = offsetof(st, f), .size = (sz), \
      .count = (cnt), .version_id = (ver) }
#define VMSTATE_BOOL(f, st)   VMSTATE_FIELD_(#f, st, f, VMS_BOOL, 1, 0, 0)
#define VMSTATE_UINT8(f, st)  VMSTATE_FIELD_(#f, st, f, VMS_U8, 1, 0, 0)
#define VMSTATE_UINT16(f, st) VMSTATE_FIELD_(#f, st, f, VMS_U16, 2, 0, 0)
#define VMSTATE_UINT32(f, st) VMSTATE_FIELD_(#f, st, f, VMS_U32, 4, 0, 0)
#define VMSTATE_UINT64(f, st) VMSTATE_FIELD_(#f, st, f, VMS_U64, 8, 0, 0)
/* A field added in section version @v (absent from older streams). */
#define VMSTATE_UINT32_V(f, st, v) VMSTATE_FIELD_(#f, st, f, VMS_U32, 4, 0, v)
#define VMSTATE_BOOL_V(f, st, v) VMSTATE_FIELD_(#f, st, f, VMS_BOOL, 1, 0, v)
#define VMSTATE_INT32(f, st)  VMSTATE_FIELD_(#f, st, f, VMS_I32, 4, 0, 0)
#define VMSTATE_INT64(f, st)  VMSTATE_FIELD_(#f, st, f, VMS_I64, 8, 0, 0)
#define VMSTATE_UINT8_ARRAY(f, st, n)  VMSTATE_FIELD_(#f, st, f, VMS_U8, 1, n, 0)
#define VMSTATE_UINT16_ARRAY(f, st, n) VMSTATE_FIELD_(#f, st, f, VMS_U16, 2, n, 0)
#define VMSTATE_UINT32_ARRAY(f, st, n) VMSTATE_FIELD_(#f, st, f, VMS_U32, 4, n, 0)
#define VMSTATE_UINT64_ARRAY(f, st, n) VMSTATE_FIELD_(#f, st, f, VMS_U64, 8, n, 0)
#define VMSTATE_BUFFER(f, st)  VMSTATE_FIELD_(#f, st, f, VMS_BUFFER, sizeof(((st *)0)->f), 0, 0)
#define VMSTATE_TIMER_PTR(f, st) VMSTATE_FIELD_(#f, st, f, VMS_TIMER, sizeof(void *), 0, 0)
#define VMSTATE_STRUCT(f, st, desc, elem_type) \
    { .name = #f, .type = VMS_STRUCT, .offset = offsetof(st, f), \
      .size = sizeof(elem_type), .vmsd = &(desc) }
#define VMSTATE_STRUCT_ARRAY(f, st, n, desc, elem_type) \
    { .name = #f, .type = VMS_STRUCT, .offset = offsetof(st, f), \
      .size = sizeof(elem_type), .count = (n), .vmsd = &(desc) }
/* @f: a pointer to @n_field (a uint32_t field of @st saved before this
 * one) elements, at most @max: structs described by @desc, or bytes. */
#define VMSTATE_VARRAY_STRUCT(f, st, n_field, max, desc, elem_type) \
    { .name = #f, .type = VMS_VARRAY, .offset = offsetof(st, f), \
      .size = sizeof(elem_type), .count = (max), .vmsd = &(desc), \
      .count_offset = offsetof(st, n_field) + \
          0 * sizeof(char[sizeof(((st *)0)->n_field) == 4 ? 1 : -1]) }
#define VMSTATE_VBUFFER(f, st, n_field, max) \
    { .name = #f, .type = VMS_VARRAY, .offset = offsetof(st, f), \
      .size = 1, .count = (max), \
      .count_offset = offsetof(st, n_field) + \
          0 * sizeof(char[sizeof(((st *)0)->n_field) == 4 ? 1 : -1]) }
/* Add ".version_id = V" with a designated initializer for newer fields. */
#define VMSTATE_END_OF_LIST() { .name = NULL, .type = VMS_END }

/* Append the section to @out. */
bool vmstate_save(const VMStateDescription *vmsd, void *opaque,
                  GByteArray *out, GError **errp);
/*
 * Load one section from @buf; on success *consumed says how many bytes it
 * used.  Fails cleanly on truncation or an unsupported version.
 */
bool vmstate_load(const VMStateDescription *vmsd, void *opaque,
                  const uint8_t *buf, size_t len, size_t *consumed,
                  GError **errp);
/* "field = value" lines for debug dumps. */
char *vmstate_dump(const VMStateDescription *vmsd, void *opaque);

#endif
