/*
 * A bounds-checked reader over a byte buffer, for parsing what came from
 * outside (migration streams, saved state, configuration sections).
 *
 * Every read past the end makes the reader "bad" and returns nothing
 * (NULL, or zero for the integer readers); reads after that fail too, so
 * a parser may read a whole record and check r->bad once.  Integers are
 * little-endian (_le) or big-endian (_be) as the format says.
 */
#ifndef QEMU_BYTE_READER_H
#define QEMU_BYTE_READER_H
#include "qemu/osdep.h"

typedef struct ByteReader {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
} ByteReader;

static inline ByteReader byte_reader(const void *buf, size_t len)
{
    return (ByteReader){ .p = buf, .len = len };
}

/* The next @n bytes, or NULL (the reader is bad from then on). */
static inline const uint8_t *br_take(ByteReader *r, size_t n)
{
    const uint8_t *p;

    if (r->bad || n > r->len - r->pos) {
        r->bad = true;
        return NULL;
    }
    p = r->p + r->pos;
    r->pos += n;
    return p;
}

/* Copy the next @n bytes to @dst; false (nothing copied) past the end. */
static inline bool br_copy(ByteReader *r, void *dst, size_t n)
{
    const uint8_t *p = br_take(r, n);

    if (p) {
        memcpy(dst, p, n);
    }
    return p != NULL;
}

static inline uint8_t br_u8(ByteReader *r)
{
    const uint8_t *p = br_take(r, 1);

    return p ? *p : 0;
}

static inline uint32_t br_le32(ByteReader *r)
{
    const uint8_t *p = br_take(r, 4);

    return p ? ldl_le_p(p) : 0;
}

static inline uint64_t br_le64(ByteReader *r)
{
    const uint8_t *p = br_take(r, 8);

    return p ? ldq_le_p(p) : 0;
}

/* An unsigned big-endian integer of @size (1..8) bytes. */
static inline uint64_t br_be(ByteReader *r, unsigned size)
{
    const uint8_t *p = br_take(r, size);
    uint64_t v = 0;

    for (unsigned i = 0; p && i < size; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Whether everything was read, and nothing past the end. */
static inline bool br_done(const ByteReader *r)
{
    return !r->bad && r->pos == r->len;
}

#endif
