/*
 * XBZRLE (docs/devel/xbzrle.rst in QEMU): a page is sent as its delta
 * against the copy the destination already has, kept on the source in a
 * page cache.  Encoding of the delta:
 *
 *   page  = zrun nzrun | zrun nzrun page
 *   zrun  = length                 (bytes unchanged)
 *   nzrun = length byte...         (bytes that replace the old ones)
 *   length = ULEB128
 *
 * A trailing unchanged run is not written.  The decoder applies the
 * delta to the destination's page in place.
 */
#ifndef MIGRATION_XBZRLE_H
#define MIGRATION_XBZRLE_H
#include "qemu/osdep.h"

/*
 * Encode @new against @old (@len bytes each) into @dst (room @dlen).
 * Returns the encoded length, 0 when the pages are equal, -1 when the
 * encoding would exceed @dlen (send the page whole instead).
 */
int xbzrle_encode_buffer(const uint8_t *old, const uint8_t *new, int len,
                         uint8_t *dst, int dlen);
/* Apply @src (@slen bytes) to @dst (@dlen bytes); returns the bytes of
 * @dst covered, or -1 for a malformed encoding (nothing past @dlen is
 * touched). */
int xbzrle_decode_buffer(const uint8_t *src, int slen, uint8_t *dst,
                         int dlen);

/* The source's page cache: one slot per page address hash. */
typedef struct XbzrleCache {
    uint64_t slots;             /* a power of two */
    uint64_t *keys;             /* page key + 1 (0: empty) */
    uint8_t *pages;             /* slots x 4096 bytes */
    /* query-migrate's xbzrle-cache */
    uint64_t bytes, pages_sent, cache_miss, overflow, hits;
    uint64_t encoded_in;        /* bytes of pages that were encoded */
    uint8_t *scratch;           /* a batch's payloads (savevm.c) */
} XbzrleCache;

/* @size bytes (rounded down to a power of two of pages, at least one). */
XbzrleCache *xbzrle_cache_new(uint64_t size);
void xbzrle_cache_free(XbzrleCache *c);
/* The cached copy of page @key, or NULL. */
uint8_t *xbzrle_cache_lookup(XbzrleCache *c, uint64_t key);
/* The slot for @key (taking it over): copy the page into it. */
uint8_t *xbzrle_cache_insert(XbzrleCache *c, uint64_t key);

#endif
