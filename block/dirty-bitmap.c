/*
 * Dirty bitmaps: which ranges of a node were written since a user (the
 * mirror job) started watching.  One bit per @granularity bytes of the
 * node's virtual size.
 *
 * The node's write path (block/block.c and the host AIO completion in
 * block/thread-pool.c) calls bdrv_set_dirty() after every write, write-
 * zeroes, discard and compressed write has reached the driver, from
 * whatever thread ran it: bits are set with atomic ORs, cleared with
 * atomic ANDs, so a write that completes while the user copies a range
 * it has just cleared leaves that range dirty again.  Marking after the
 * request (not before) is what makes "clear, then read" safe: a write
 * the read missed completes later and sets the bit again.
 *
 * The list of bitmaps on a node is protected by the node's dirty_lock;
 * an empty list costs the write path one atomic load.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"

#define BITS_PER_WORD (sizeof(unsigned long) * 8)

struct BdrvDirtyBitmap {
    BlockDriverState *bs;
    uint32_t granularity;
    uint64_t size;                  /* bytes covered (the node's size) */
    uint64_t nbits;
    unsigned long *bits;
};

BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity)
{
    BdrvDirtyBitmap *bm = g_new0(BdrvDirtyBitmap, 1);

    g_assert(granularity && !(granularity & (granularity - 1)));
    bm->bs = bs;
    bm->granularity = granularity;
    bm->size = bdrv_getlength(bs);
    bm->nbits = DIV_ROUND_UP(bm->size, granularity);
    bm->bits = g_new0(unsigned long, DIV_ROUND_UP(bm->nbits, BITS_PER_WORD)
                                     + 1);
    g_mutex_lock(&bs->dirty_lock);
    bs->dirty_bitmaps = g_slist_prepend(bs->dirty_bitmaps, bm);
    g_mutex_unlock(&bs->dirty_lock);
    return bm;
}

void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    BlockDriverState *bs = bm->bs;

    g_mutex_lock(&bs->dirty_lock);
    bs->dirty_bitmaps = g_slist_remove(bs->dirty_bitmaps, bm);
    g_mutex_unlock(&bs->dirty_lock);
    g_free(bm->bits);
    g_free(bm);
}

uint32_t bdrv_dirty_bitmap_granularity(BdrvDirtyBitmap *bm)
{
    return bm->granularity;
}

/* The bits [first, last] covering [offset, offset + bytes), clamped to
 * the bitmap; false when the range lies past its end or is empty. */
static bool bit_range(BdrvDirtyBitmap *bm, uint64_t offset, uint64_t bytes,
                      uint64_t *first, uint64_t *last)
{
    if (!bytes || offset >= bm->size) {
        return false;
    }
    bytes = MIN(bytes, bm->size - offset);
    *first = offset / bm->granularity;
    *last = (offset + bytes - 1) / bm->granularity;
    return true;
}

void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bm, uint64_t offset,
                           uint64_t bytes)
{
    uint64_t b, last;

    if (!bit_range(bm, offset, bytes, &b, &last)) {
        return;
    }
    for (; b <= last; b++) {
        __atomic_fetch_or(&bm->bits[b / BITS_PER_WORD],
                          1UL << (b % BITS_PER_WORD), __ATOMIC_SEQ_CST);
    }
}

/* Only whole granules inside the range are cleared: a partly covered one
 * still has bytes nobody copied. */
void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bm, uint64_t offset,
                             uint64_t bytes)
{
    uint64_t g = bm->granularity;
    uint64_t start, end;

    if (offset >= bm->size) {
        return;
    }
    start = ALIGN_UP(offset, g);
    end = bytes >= bm->size - offset ? bm->size
                                     : ALIGN_DOWN(offset + bytes, g);
    if (end <= start) {
        return;
    }
    for (uint64_t b = start / g; b < DIV_ROUND_UP(end, g); b++) {
        __atomic_fetch_and(&bm->bits[b / BITS_PER_WORD],
                           ~(1UL << (b % BITS_PER_WORD)), __ATOMIC_SEQ_CST);
    }
}

static bool bit_is_set(BdrvDirtyBitmap *bm, uint64_t b)
{
    return __atomic_load_n(&bm->bits[b / BITS_PER_WORD], __ATOMIC_SEQ_CST) &
           (1UL << (b % BITS_PER_WORD));
}

int64_t bdrv_dirty_bitmap_next_dirty(BdrvDirtyBitmap *bm, uint64_t offset,
                                     uint64_t max_bytes, uint64_t *bytes)
{
    uint64_t b = offset / bm->granularity;

    while (b < bm->nbits) {
        unsigned long w = __atomic_load_n(&bm->bits[b / BITS_PER_WORD],
                                          __ATOMIC_SEQ_CST);

        w &= ~0UL << (b % BITS_PER_WORD);
        if (!w) {
            b = ALIGN_DOWN(b, BITS_PER_WORD) + BITS_PER_WORD;
            continue;
        }
        b = ALIGN_DOWN(b, BITS_PER_WORD) + __builtin_ctzl(w);
        if (b >= bm->nbits) {
            break;
        }
        /* Extend over the following dirty granules, up to @max_bytes. */
        uint64_t start = b * bm->granularity, e = b + 1;
        while (e < bm->nbits && bit_is_set(bm, e) &&
               (e + 1 - b) * bm->granularity <= max_bytes) {
            e++;
        }
        *bytes = MIN(e * bm->granularity, bm->size) - start;
        return start;
    }
    return -1;
}

uint64_t bdrv_get_dirty_count(BdrvDirtyBitmap *bm)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < DIV_ROUND_UP(bm->nbits, BITS_PER_WORD); i++) {
        n += __builtin_popcountl(__atomic_load_n(&bm->bits[i],
                                                 __ATOMIC_SEQ_CST));
    }
    /* Bytes; the last granule may be short. */
    n *= bm->granularity;
    if (bm->nbits && bit_is_set(bm, bm->nbits - 1)) {
        n -= bm->nbits * bm->granularity - bm->size;
    }
    return n;
}

void bdrv_set_dirty(BlockDriverState *bs, uint64_t offset, uint64_t bytes)
{
    if (!__atomic_load_n(&bs->dirty_bitmaps, __ATOMIC_ACQUIRE)) {
        return;
    }
    g_mutex_lock(&bs->dirty_lock);
    for (GSList *l = bs->dirty_bitmaps; l; l = l->next) {
        bdrv_set_dirty_bitmap(l->data, offset, bytes);
    }
    g_mutex_unlock(&bs->dirty_lock);
}
