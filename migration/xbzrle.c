/*
 * XBZRLE delta encoding and the page cache: include/migration/xbzrle.h.
 * Written from the format in QEMU's docs/devel/xbzrle.rst.
 */
#include "qemu/osdep.h"
#include "migration/xbzrle.h"

#define XBZRLE_PAGE 4096

static int uleb128_put(uint8_t *p, uint32_t v)
{
    int n = 0;

    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

/* At most 3 bytes (lengths are below 2^21); -1 when malformed. */
static int uleb128_get(const uint8_t *p, int avail, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 3 && i < avail; i++) {
        *v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            return i + 1;
        }
    }
    return -1;
}

static int uleb128_len(uint32_t v)
{
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : 3;
}

int xbzrle_encode_buffer(const uint8_t *old, const uint8_t *new, int len,
                         uint8_t *dst, int dlen)
{
    int i = 0, d = 0;

    while (i < len) {
        int z = i, nz;

        /* unchanged run (8 bytes at a time where aligned) */
        while (i < len && (i & 7)) {
            if (old[i] != new[i]) {
                break;
            }
            i++;
        }
        if (i < len && !(i & 7)) {
            while (i + 8 <= len) {
                uint64_t a, b;
                memcpy(&a, old + i, 8);
                memcpy(&b, new + i, 8);
                if (a != b) {
                    break;
                }
                i += 8;
            }
        }
        while (i < len && old[i] == new[i]) {
            i++;
        }
        if (i == len) {
            break;              /* a trailing unchanged run is not sent */
        }
        if (d + uleb128_len(i - z) > dlen) {
            return -1;
        }
        d += uleb128_put(dst + d, i - z);
        /* changed run: ends at the first unchanged byte */
        nz = i;
        while (i < len && old[i] != new[i]) {
            i++;
        }
        if (d + uleb128_len(i - nz) + (i - nz) > dlen) {
            return -1;
        }
        d += uleb128_put(dst + d, i - nz);
        memcpy(dst + d, new + nz, i - nz);
        d += i - nz;
    }
    return d;
}

int xbzrle_decode_buffer(const uint8_t *src, int slen, uint8_t *dst,
                         int dlen)
{
    int i = 0, d = 0;

    while (i < slen) {
        uint32_t count;
        int n = uleb128_get(src + i, slen - i, &count);

        /* an unchanged run may be empty only at the start */
        if (n < 0 || (i && !count) || count > (uint32_t)(dlen - d)) {
            return -1;
        }
        i += n;
        d += count;
        n = uleb128_get(src + i, slen - i, &count);
        if (n < 0 || !count) {
            return -1;
        }
        i += n;
        if (count > (uint32_t)(dlen - d) || count > (uint32_t)(slen - i)) {
            return -1;
        }
        memcpy(dst + d, src + i, count);
        d += count;
        i += count;
    }
    return d;
}

XbzrleCache *xbzrle_cache_new(uint64_t size)
{
    XbzrleCache *c = g_new0(XbzrleCache, 1);
    uint64_t n = MAX(size / XBZRLE_PAGE, 1);

    c->slots = 1ULL << (63 - __builtin_clzll(n));   /* round down */
    c->keys = g_new0(uint64_t, c->slots);
    c->pages = g_malloc(c->slots * XBZRLE_PAGE);
    c->scratch = g_malloc(256 * (XBZRLE_PAGE + 2));
    return c;
}

void xbzrle_cache_free(XbzrleCache *c)
{
    if (c) {
        g_free(c->keys);
        g_free(c->pages);
        g_free(c->scratch);
        g_free(c);
    }
}

static uint64_t slot_of(XbzrleCache *c, uint64_t key)
{
    /* keys are (block << 40 | page): mix the block in */
    return (key ^ (key >> 40) * 0x9e3779b1ULL) & (c->slots - 1);
}

uint8_t *xbzrle_cache_lookup(XbzrleCache *c, uint64_t key)
{
    uint64_t s = slot_of(c, key);

    return c->keys[s] == key + 1 ? c->pages + s * XBZRLE_PAGE : NULL;
}

uint8_t *xbzrle_cache_insert(XbzrleCache *c, uint64_t key)
{
    uint64_t s = slot_of(c, key);

    c->keys[s] = key + 1;
    return c->pages + s * XBZRLE_PAGE;
}
