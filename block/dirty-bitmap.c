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
 *
 * Named bitmaps (QMP block-dirty-bitmap-*, QEMU 7.2's model): a name
 * unique on the node, recording or not (a disabled bitmap is not
 * marked), busy while a job uses it, persistent when the format stores
 * it (qcow2, block/qcow2-bitmap.c), inconsistent when the image says it
 * was not stored cleanly, readonly on a read-only node.  Anonymous ones
 * (mirror, NBD) are internal: queries do not list them.
 *
 * The bits are unsigned longs, bit i of the bitmap in word i / 64 at bit
 * i % 64: on x86-64 this is the little-endian byte order qcow2 stores
 * and QEMU's x-debug-block-dirty-bitmap-sha256 hashes.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"

#define BITS_PER_WORD (sizeof(unsigned long) * 8)

struct BdrvDirtyBitmap {
    BlockDriverState *bs;
    char *name;                     /* NULL: anonymous */
    uint32_t granularity;
    uint64_t size;                  /* bytes covered (the node's size) */
    uint64_t nbits;
    unsigned long *bits;
    bool disabled;                  /* atomic: the write path reads it */
    bool busy, persistent, inconsistent, readonly;
};

static uint64_t bitmap_words(uint64_t nbits)
{
    return DIV_ROUND_UP(nbits, BITS_PER_WORD);
}

static BdrvDirtyBitmap *bitmap_new(BlockDriverState *bs, uint32_t granularity)
{
    BdrvDirtyBitmap *bm = g_new0(BdrvDirtyBitmap, 1);

    g_assert(granularity && !(granularity & (granularity - 1)));
    bm->bs = bs;
    bm->granularity = granularity;
    bm->size = bdrv_getlength(bs);
    bm->nbits = DIV_ROUND_UP(bm->size, granularity);
    bm->bits = g_new0(unsigned long, bitmap_words(bm->nbits) + 1);
    return bm;
}

static void bitmap_attach(BdrvDirtyBitmap *bm)
{
    g_mutex_lock(&bm->bs->dirty_lock);
    bm->bs->dirty_bitmaps = g_slist_prepend(bm->bs->dirty_bitmaps, bm);
    g_mutex_unlock(&bm->bs->dirty_lock);
}

BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity)
{
    BdrvDirtyBitmap *bm = bitmap_new(bs, granularity);

    bitmap_attach(bm);
    return bm;
}

BdrvDirtyBitmap *bdrv_create_named_dirty_bitmap(BlockDriverState *bs,
                                                uint32_t granularity,
                                                const char *name,
                                                GError **errp)
{
    BdrvDirtyBitmap *bm;

    if (bdrv_find_dirty_bitmap(bs, name)) {
        error_setg(errp, "Bitmap already exists: %s", name);
        return NULL;
    }
    if (strlen(name) > BDRV_BITMAP_MAX_NAME_SIZE) {
        error_setg(errp, "Bitmap name too long: %s", name);
        return NULL;
    }
    bm = bitmap_new(bs, granularity);
    bm->name = g_strdup(name);
    bitmap_attach(bm);
    return bm;
}

uint32_t bdrv_default_bitmap_granularity(BlockDriverState *bs)
{
    uint32_t cluster = bdrv_cluster_size(bs);

    /* QEMU's: the cluster size clamped to [4 KiB, 64 KiB], else 64 KiB */
    return cluster ? MIN(MAX(cluster, 4096u), 65536u) : 65536;
}

bool bdrv_supports_persistent_bitmaps(BlockDriverState *bs)
{
    return bs->drv->supports_persistent_bitmaps &&
           bs->drv->supports_persistent_bitmaps(bs);
}

void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    BlockDriverState *bs = bm->bs;

    g_mutex_lock(&bs->dirty_lock);
    bs->dirty_bitmaps = g_slist_remove(bs->dirty_bitmaps, bm);
    g_mutex_unlock(&bs->dirty_lock);
    g_free(bm->name);
    g_free(bm->bits);
    g_free(bm);
}

void bdrv_release_named_dirty_bitmaps(BlockDriverState *bs)
{
    GSList *l = bs->dirty_bitmaps;

    while (l) {
        BdrvDirtyBitmap *bm = l->data;

        l = l->next;
        if (bm->name) {
            bdrv_release_dirty_bitmap(bm);
        }
    }
}

BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name)
{
    for (GSList *l = bs->dirty_bitmaps; l && name; l = l->next) {
        BdrvDirtyBitmap *bm = l->data;

        if (bm->name && !strcmp(bm->name, name)) {
            return bm;
        }
    }
    return NULL;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BlockDriverState *bs,
                                        BdrvDirtyBitmap *prev)
{
    GSList *l = prev ? g_slist_find(bs->dirty_bitmaps, prev)->next
                     : bs->dirty_bitmaps;

    for (; l; l = l->next) {
        if (((BdrvDirtyBitmap *)l->data)->name) {
            return l->data;
        }
    }
    return NULL;
}

const char *bdrv_dirty_bitmap_name(BdrvDirtyBitmap *bm)
{
    return bm->name;
}

BlockDriverState *bdrv_dirty_bitmap_bs(BdrvDirtyBitmap *bm)
{
    return bm->bs;
}

uint64_t bdrv_dirty_bitmap_size(BdrvDirtyBitmap *bm)
{
    return bm->size;
}

bool bdrv_dirty_bitmap_enabled(BdrvDirtyBitmap *bm)
{
    return !__atomic_load_n(&bm->disabled, __ATOMIC_ACQUIRE);
}

void bdrv_dirty_bitmap_set_enabled(BdrvDirtyBitmap *bm, bool enabled)
{
    __atomic_store_n(&bm->disabled, !enabled, __ATOMIC_RELEASE);
}

bool bdrv_dirty_bitmap_busy(BdrvDirtyBitmap *bm)
{
    return bm->busy;
}

void bdrv_dirty_bitmap_set_busy(BdrvDirtyBitmap *bm, bool busy)
{
    bm->busy = busy;
}

bool bdrv_dirty_bitmap_persistent(BdrvDirtyBitmap *bm)
{
    return bm->persistent;
}

void bdrv_dirty_bitmap_set_persistent(BdrvDirtyBitmap *bm, bool persistent)
{
    bm->persistent = persistent;
}

bool bdrv_dirty_bitmap_inconsistent(BdrvDirtyBitmap *bm)
{
    return bm->inconsistent;
}

/* An inconsistent bitmap's content is unknown: it records nothing. */
void bdrv_dirty_bitmap_set_inconsistent(BdrvDirtyBitmap *bm)
{
    bm->inconsistent = true;
    bdrv_dirty_bitmap_set_enabled(bm, false);
}

bool bdrv_dirty_bitmap_readonly(BdrvDirtyBitmap *bm)
{
    return bm->readonly;
}

void bdrv_dirty_bitmap_set_readonly(BdrvDirtyBitmap *bm, bool readonly)
{
    bm->readonly = readonly;
}

bool bdrv_dirty_bitmap_check(BdrvDirtyBitmap *bm, unsigned flags,
                             GError **errp)
{
    if ((flags & BDRV_BITMAP_BUSY) && bm->busy) {
        error_setg(errp, "Bitmap '%s' is currently in use by another "
                   "operation and cannot be used", bm->name);
        return false;
    }
    if ((flags & BDRV_BITMAP_RO) && bm->readonly) {
        error_setg(errp, "Bitmap '%s' is readonly and cannot be modified",
                   bm->name);
        return false;
    }
    if ((flags & BDRV_BITMAP_INCONSISTENT) && bm->inconsistent) {
        error_setg(errp, "Bitmap '%s' is inconsistent and cannot be used",
                   bm->name);
        return false;
    }
    return true;
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
        if (bdrv_dirty_bitmap_enabled(l->data)) {
            bdrv_set_dirty_bitmap(l->data, offset, bytes);
        }
    }
    g_mutex_unlock(&bs->dirty_lock);
}

/* ---- whole-bitmap operations ------------------------------------------- */

void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    for (uint64_t i = 0; i < bitmap_words(bm->nbits); i++) {
        __atomic_store_n(&bm->bits[i], 0, __ATOMIC_SEQ_CST);
    }
}

unsigned long *bdrv_dirty_bitmap_save(BdrvDirtyBitmap *bm)
{
    uint64_t n = bitmap_words(bm->nbits) + 1;
    unsigned long *copy = g_new(unsigned long, n);

    for (uint64_t i = 0; i < n; i++) {
        copy[i] = __atomic_load_n(&bm->bits[i], __ATOMIC_SEQ_CST);
    }
    return copy;
}

void bdrv_dirty_bitmap_restore(BdrvDirtyBitmap *bm, unsigned long *saved)
{
    for (uint64_t i = 0; i < bitmap_words(bm->nbits) + 1; i++) {
        __atomic_store_n(&bm->bits[i], saved[i], __ATOMIC_SEQ_CST);
    }
    g_free(saved);
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_copy(BdrvDirtyBitmap *src, bool recording)
{
    BdrvDirtyBitmap *bm = bitmap_new(src->bs, src->granularity);

    bdrv_dirty_bitmap_set_enabled(bm, recording);
    g_free(bm->bits);
    bm->bits = bdrv_dirty_bitmap_save(src);
    bitmap_attach(bm);
    return bm;
}

/* OR: every granule of @dest that overlaps a dirty granule of @src (the
 * two granularities may differ, as QEMU allows). */
bool bdrv_merge_dirty_bitmap(BdrvDirtyBitmap *dest, BdrvDirtyBitmap *src,
                             GError **errp)
{
    uint64_t off = 0, bytes;
    int64_t start;

    if (dest->size != src->size) {
        error_setg(errp, "Bitmaps are of different sizes (destination size "
                   "is %" PRIu64 ", source size is %" PRIu64 ") and can't "
                   "be merged", dest->size, src->size);
        return false;
    }
    if (dest == src) {
        return true;
    }
    while ((start = bdrv_dirty_bitmap_next_dirty(src, off, UINT64_MAX,
                                                 &bytes)) >= 0) {
        bdrv_set_dirty_bitmap(dest, start, bytes);
        off = start + bytes;
    }
    return true;
}

/* The bits as little-endian bytes (whole 64-bit words, at least one:
 * QEMU's bitmap of an empty node has one word), as qcow2 stores them and
 * QEMU hashes them. */
uint64_t bdrv_dirty_bitmap_serialized_size(BdrvDirtyBitmap *bm)
{
    return MAX(bitmap_words(bm->nbits), 1) * sizeof(unsigned long);
}

void bdrv_dirty_bitmap_serialize(BdrvDirtyBitmap *bm, uint64_t offset,
                                 uint64_t len, uint8_t *buf)
{
    uint64_t total = bdrv_dirty_bitmap_serialized_size(bm);

    for (uint64_t i = 0; i < len; i++) {
        uint64_t byte = offset + i;
        unsigned long w;

        if (byte >= total) {
            buf[i] = 0;
            continue;
        }
        w = __atomic_load_n(&bm->bits[byte / sizeof(w)], __ATOMIC_SEQ_CST);
        buf[i] = w >> (8 * (byte % sizeof(w)));
    }
}

/* Bits past the bitmap's end in the last byte are dropped. */
void bdrv_dirty_bitmap_deserialize(BdrvDirtyBitmap *bm, uint64_t offset,
                                   uint64_t len, const uint8_t *buf)
{
    uint64_t total = bdrv_dirty_bitmap_serialized_size(bm);

    for (uint64_t i = 0; i < len && offset + i < total; i++) {
        uint64_t byte = offset + i;
        unsigned long shift = 8 * (byte % sizeof(unsigned long));
        unsigned long *w = &bm->bits[byte / sizeof(unsigned long)];

        *w = (*w & ~(0xffUL << shift)) | ((unsigned long)buf[i] << shift);
    }
    /* nothing past the last bit (an empty node's one word included) */
    if (bm->nbits % BITS_PER_WORD) {
        bm->bits[bm->nbits / BITS_PER_WORD] &=
            (1UL << (bm->nbits % BITS_PER_WORD)) - 1;
    }
    if (!bm->nbits) {
        bm->bits[0] = 0;
    }
}

/* Set every bit of serialized bytes [offset, offset + len) (a qcow2
 * bitmap table entry of 1: "all ones"). */
void bdrv_dirty_bitmap_deserialize_ones(BdrvDirtyBitmap *bm, uint64_t offset,
                                        uint64_t len)
{
    uint64_t first = offset * 8, end = MIN((offset + len) * 8, bm->nbits);

    for (uint64_t b = first; b < end; b++) {
        bm->bits[b / BITS_PER_WORD] |= 1UL << (b % BITS_PER_WORD);
    }
}

char *bdrv_dirty_bitmap_sha256(BdrvDirtyBitmap *bm)
{
    uint64_t n = bdrv_dirty_bitmap_serialized_size(bm);
    g_autofree uint8_t *buf = g_malloc(n ? n : 1);

    bdrv_dirty_bitmap_serialize(bm, 0, n, buf);
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, n);
}

/* The node was resized: named bitmaps follow (new granules are clean),
 * as QEMU's do.  Anonymous ones belong to jobs, which forbid resizing. */
void bdrv_dirty_bitmaps_truncate(BlockDriverState *bs)
{
    uint64_t size = bdrv_getlength(bs);

    g_mutex_lock(&bs->dirty_lock);
    for (GSList *l = bs->dirty_bitmaps; l; l = l->next) {
        BdrvDirtyBitmap *bm = l->data;
        uint64_t nbits = DIV_ROUND_UP(size, bm->granularity);
        uint64_t old_words = bitmap_words(bm->nbits) + 1;
        uint64_t words = bitmap_words(nbits) + 1;

        if (!bm->name || bm->size == size) {
            continue;
        }
        if (nbits < bm->nbits && nbits % BITS_PER_WORD) {
            bm->bits[nbits / BITS_PER_WORD] &=
                (1UL << (nbits % BITS_PER_WORD)) - 1;
        }
        bm->bits = g_renew(unsigned long, bm->bits, words);
        /* words past the end (and new ones) are clean */
        for (uint64_t i = MIN(bitmap_words(nbits), old_words); i < words;
             i++) {
            bm->bits[i] = 0;
        }
        bm->size = size;
        bm->nbits = nbits;
    }
    g_mutex_unlock(&bs->dirty_lock);
}

void bdrv_store_bitmaps_all(bool inactive)
{
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);
        GError *err = NULL;

        if (bs->drv->set_bitmaps_inactive &&
            !bs->drv->set_bitmaps_inactive(bs, inactive, &err)) {
            error_report_err(err);
        }
    }
}
