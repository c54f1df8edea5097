/*
 * qcow2 reference counts (qcow2.txt, "Host cluster management"): the
 * refcount table, refcount blocks of 1..64-bit entries, cluster and
 * byte allocation, and growing the table.
 *
 * Order on disk: a new refcount block is written (and flushed) before
 * the table entry that points at it; a new table and its blocks are
 * written and flushed before the header points at them; the old table
 * is freed only afterwards.  So after a crash every reachable structure
 * is complete, and the worst left behind is a leaked cluster.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

uint64_t qcow2_refblock_get(Qcow2State *s, const uint8_t *rb, uint64_t i)
{
    uint32_t bits = s->refcount_bits;

    switch (bits) {
    case 8:  return rb[i];
    case 16: return ldw_be(rb + 2 * i);
    case 32: return ldl_be(rb + 4 * i);
    case 64: return ldq_be(rb + 8 * i);
    default: /* 1, 2, 4: packed, bit 0 is the least significant */
        return (rb[i * bits / 8] >> (i * bits % 8)) & ((1U << bits) - 1);
    }
}

void qcow2_refblock_set(Qcow2State *s, uint8_t *rb, uint64_t i, uint64_t v)
{
    uint32_t bits = s->refcount_bits;

    switch (bits) {
    case 8:  rb[i] = v; break;
    case 16: stw_be(rb + 2 * i, v); break;
    case 32: stl_be(rb + 4 * i, v); break;
    case 64: stq_be(rb + 8 * i, v); break;
    default: {
        uint8_t *b = &rb[i * bits / 8];
        unsigned shift = i * bits % 8;
        uint8_t mask = ((1U << bits) - 1) << shift;

        *b = (*b & ~mask) | ((v << shift) & mask);
    }
    }
}

/* The refcount block for table index @ri, validated; 0 if none. */
static bool refblock_offset(BlockDriverState *bs, uint64_t ri,
                            uint64_t *offset, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t e;

    *offset = 0;
    if (ri >= s->rt_size) {
        return true;
    }
    e = s->rt[ri];
    if ((e & REFT_RESERVED_MASK) || (e && offset_into_cluster(s, e))) {
        return qcow2_corrupt(bs, errp, "refcount table entry %" PRIu64
                             " (%#" PRIx64 ") is unaligned", ri, e);
    }
    if (e && e < s->cluster_size) {
        return qcow2_corrupt(bs, errp, "refcount block %" PRIu64
                             " overlaps the header", ri);
    }
    if (e > QCOW2_MAX_HOST_OFFSET) {
        return qcow2_corrupt(bs, errp, "refcount block %" PRIu64
                             " offset %#" PRIx64 " is out of range", ri, e);
    }
    *offset = e & REFT_OFFSET_MASK;
    return true;
}

bool qcow2_get_refcount(BlockDriverState *bs, uint64_t ci, uint64_t *refcount,
                        GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t rb_off;
    uint8_t *rb;

    *refcount = 0;
    if (!refblock_offset(bs, ci / s->rb_entries, &rb_off, errp)) {
        return false;
    }
    if (!rb_off) {
        return true;
    }
    rb = qcow2_cache_get(bs, s->rb_cache, rb_off, true, errp);
    if (!rb) {
        return false;
    }
    *refcount = qcow2_refblock_get(s, rb, ci % s->rb_entries);
    return true;
}

/* Clusters reserved by an allocation in progress, or in use according to
 * a repair: never hand these out as refcount blocks or tables. */
typedef struct Reserved {
    uint64_t start, len;        /* cluster indices */
} Reserved;
static __thread Reserved pending;

static bool is_reserved(Qcow2State *s, uint64_t ci)
{
    if (ci >= pending.start && ci - pending.start < pending.len) {
        return true;
    }
    return s->check_used && ci < s->check_used_len && s->check_used[ci];
}

static bool write_header_reftable(BlockDriverState *bs, uint64_t offset,
                                  uint32_t clusters, GError **errp)
{
    uint8_t buf[12];

    stq_be(buf, offset);
    stl_be(buf + 8, clusters);
    /* refcount_table_offset and _clusters are adjacent: one write. */
    return qcow2_write_meta(bs, QCOW2_OL_HEADER, 48, buf, sizeof(buf), errp);
}

static uint64_t file_end_cluster(BlockDriverState *bs)
{
    Qcow2State *s = bs->opaque;

    return size_to_clusters(s, bdrv_getlength(bs->file));
}

/*
 * Grow the refcount table so that index @need exists.  The new table,
 * and any refcount blocks needed to count it, go past the end of the
 * file; then the header switches over; then the old table is freed.
 */
static bool grow_reftable(BlockDriverState *bs, uint64_t need, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t entries_per_cluster = s->cluster_size / 8;
    uint64_t want = MAX(need + 1, s->rt_size + s->rt_size / 2);
    uint64_t new_clusters = (want + entries_per_cluster - 1) /
                            entries_per_cluster;
    uint64_t start = MAX(MAX(file_end_cluster(bs), s->free_cluster_hint),
                         pending.start + pending.len);
    uint64_t nb_blocks = 0, new_size, *new_rt = NULL;
    GArray *missing = g_array_new(false, false, sizeof(uint64_t));
    uint8_t *blocks = NULL, *table = NULL;
    uint64_t old_offset = s->rt_offset, old_clusters = s->rt_clusters;
    bool ok = false;

    if (new_clusters * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
        error_setg(errp, "'%s': the refcount table would exceed %" PRIu64
                   " MiB: image too large", s->name,
                   (uint64_t)(QCOW2_MAX_REFTABLE_BYTES / MiB));
        goto out;
    }
    new_size = new_clusters * entries_per_cluster;
    /* Refcount blocks to cover the new area itself, to a fixed point:
     * blocks [start, start+nb), table after them. */
    for (;;) {
        uint64_t end = start + nb_blocks + new_clusters;

        g_array_set_size(missing, 0);
        for (uint64_t ri = start / s->rb_entries;
             ri <= (end - 1) / s->rb_entries; ri++) {
            if (ri >= s->rt_size || !s->rt[ri]) {
                g_array_append_val(missing, ri);
            }
        }
        if (missing->len == nb_blocks) {
            break;
        }
        nb_blocks = missing->len;
    }
    /* The new area's blocks must be entries of the new table: not so
     * when the file ends far past what the table covers (a data cluster
     * a hostile L2 entry put at 2^40 was written in place). */
    if (!range_within(start, nb_blocks + new_clusters,
                      QCOW2_MAX_HOST_OFFSET >> s->cluster_bits) ||
        (start + nb_blocks + new_clusters - 1) / s->rb_entries >= new_size) {
        error_setg(errp, "'%s': image file too large", s->name);
        goto out;
    }

    new_rt = g_new0(uint64_t, new_size);
    memcpy(new_rt, s->rt, s->rt_size * sizeof(uint64_t));
    blocks = g_malloc0(MAX(nb_blocks, 1) * s->cluster_size);
    for (uint64_t k = 0; k < nb_blocks; k++) {
        uint64_t ri = g_array_index(missing, uint64_t, k);

        new_rt[ri] = (start + k) << s->cluster_bits;
    }
    /* Count the new clusters: in the new blocks, or in existing ones. */
    for (uint64_t c = start; c < start + nb_blocks + new_clusters; c++) {
        uint64_t ri = c / s->rb_entries, k;

        for (k = 0; k < nb_blocks; k++) {
            if (g_array_index(missing, uint64_t, k) == ri) {
                break;
            }
        }
        if (k < nb_blocks) {
            qcow2_refblock_set(s, blocks + k * s->cluster_size,
                               c % s->rb_entries, 1);
        } else if (!qcow2_update_refcount(bs, c << s->cluster_bits,
                                          s->cluster_size, 1, errp)) {
            goto out;
        }
    }
    table = g_malloc0(new_clusters * s->cluster_size);
    for (uint64_t i = 0; i < new_size; i++) {
        stq_be(table + 8 * i, new_rt[i]);
    }
    if ((nb_blocks && !qcow2_write_meta(bs, 0, start << s->cluster_bits,
                                        blocks, nb_blocks * s->cluster_size,
                                        errp)) ||
        !qcow2_write_meta(bs, 0, (start + nb_blocks) << s->cluster_bits,
                          table, new_clusters * s->cluster_size, errp) ||
        !qcow2_cache_flush(bs, s->rb_cache, errp) ||
        !bdrv_flush(bs->file, errp) ||
        !write_header_reftable(bs, (start + nb_blocks) << s->cluster_bits,
                               new_clusters, errp) ||
        !bdrv_flush(bs->file, errp)) {
        goto out;
    }
    g_free(s->rt);
    s->rt = new_rt;
    new_rt = NULL;
    s->rt_size = new_size;
    s->rt_offset = (start + nb_blocks) << s->cluster_bits;
    s->rt_clusters = new_clusters;
    ok = qcow2_update_refcount(bs, old_offset,
                               old_clusters * s->cluster_size, -1, errp);
out:
    g_free(new_rt);
    g_free(blocks);
    g_free(table);
    g_array_unref(missing);
    return ok;
}

/*
 * Make sure refcount block @ri exists.  A new block goes inside its own
 * range (all of which is unused, since nothing there is counted), so it
 * counts itself and needs no other block.
 */
static bool ensure_refblock(BlockDriverState *bs, uint64_t ri, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t rb_off, first = ri * s->rb_entries, ci;
    uint8_t *rb, entry[8];

    if (ri >= s->rt_size && !grow_reftable(bs, ri, errp)) {
        return false;
    }
    if (!refblock_offset(bs, ri, &rb_off, errp)) {
        return false;
    }
    if (rb_off) {
        return true;
    }
    for (ci = first; ci < first + s->rb_entries && is_reserved(s, ci); ci++) {
    }
    if (ci == first + s->rb_entries ||
        ci > (QCOW2_MAX_HOST_OFFSET >> s->cluster_bits)) {
        error_setg(errp, "'%s': no room for a refcount block", s->name);
        return false;
    }
    rb_off = ci << s->cluster_bits;
    rb = qcow2_cache_get(bs, s->rb_cache, rb_off, false, errp);
    if (!rb) {
        return false;
    }
    qcow2_refblock_set(s, rb, ci - first, 1);
    stq_be(entry, rb_off);
    /* Block before table entry, so the entry never points at garbage. */
    if (!qcow2_write_meta(bs, 0, rb_off, rb, s->cluster_size, errp) ||
        !bdrv_flush(bs->file, errp) ||
        !qcow2_write_meta(bs, QCOW2_OL_REFT, s->rt_offset + 8 * ri, entry,
                          8, errp)) {
        qcow2_cache_discard(s->rb_cache, rb_off);
        return false;
    }
    s->rt[ri] = rb_off;
    return true;
}

static void cluster_freed(BlockDriverState *bs, uint64_t ci)
{
    Qcow2State *s = bs->opaque;
    uint64_t off = ci << s->cluster_bits;

    qcow2_cache_discard(s->l2_cache, off);
    qcow2_cache_discard(s->rb_cache, off);
    if (s->compressed_cursor &&
        (s->compressed_cursor >> s->cluster_bits) == ci) {
        s->compressed_cursor = 0;
    }
    if (ci < s->free_cluster_hint) {
        s->free_cluster_hint = ci;
    }
}

/* Add @delta to the refcount of every cluster [offset, offset+len)
 * touches. */
bool qcow2_update_refcount(BlockDriverState *bs, uint64_t offset,
                           uint64_t len, int64_t delta, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t first, last;

    if (!len) {
        return true;
    }
    first = offset >> s->cluster_bits;
    last = (offset + len - 1) >> s->cluster_bits;
    for (uint64_t ci = first; ci <= last; ci++) {
        uint64_t ri = ci / s->rb_entries, rb_off, old, new;
        uint8_t *rb;

        if (!ensure_refblock(bs, ri, errp) ||
            !refblock_offset(bs, ri, &rb_off, errp) ||
            !(rb = qcow2_cache_get(bs, s->rb_cache, rb_off, true, errp))) {
            return false;
        }
        old = qcow2_refblock_get(s, rb, ci % s->rb_entries);
        new = old + delta;
        if ((delta < 0 && old < (uint64_t)-delta) ||
            (delta > 0 && (new < old || new > s->refcount_max))) {
            return qcow2_corrupt(bs, errp, "refcount of cluster %#" PRIx64
                                 " would %s (%" PRIu64 " %+" PRId64 ")",
                                 ci << s->cluster_bits,
                                 delta < 0 ? "drop below zero" : "overflow",
                                 old, delta);
        }
        qcow2_refblock_set(s, rb, ci % s->rb_entries, new);
        qcow2_cache_mark_dirty(s->rb_cache, rb);
        if (!new) {
            cluster_freed(bs, ci);
        }
    }
    return true;
}

static bool find_free_clusters(BlockDriverState *bs, uint64_t n,
                               uint64_t *start, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t run = 0, limit = QCOW2_MAX_HOST_OFFSET >> s->cluster_bits;

    for (uint64_t ci = s->free_cluster_hint; ci + n <= limit; ci++) {
        uint64_t rc;

        if (ci / s->rb_entries >= s->rt_size ||
            !s->rt[ci / s->rb_entries]) {
            rc = 0;     /* no block: nothing in this range is counted */
        } else if (!qcow2_get_refcount(bs, ci, &rc, errp)) {
            return false;
        }
        run = (rc || is_reserved(s, ci)) ? 0 : run + 1;
        if (run == n) {
            *start = ci + 1 - n;
            return true;
        }
    }
    error_setg(errp, "'%s': image file too large", s->name);
    return false;
}

bool qcow2_alloc_clusters(BlockDriverState *bs, uint64_t n, uint64_t *offset,
                          GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t start;
    bool ok;

    /* A refcount block for the run must find room in its range. */
    g_assert(n > 0 && n <= s->rb_entries / 2);
    if (!find_free_clusters(bs, n, &start, errp)) {
        return false;
    }
    pending.start = start;
    pending.len = n;
    ok = qcow2_update_refcount(bs, start << s->cluster_bits,
                               n << s->cluster_bits, 1, errp);
    pending.start = pending.len = 0;
    if (!ok) {
        return false;
    }
    s->free_cluster_hint = start + n;
    *offset = start << s->cluster_bits;
    return true;
}

bool qcow2_alloc_bytes(BlockDriverState *bs, uint64_t len, uint64_t *offset,
                       GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t cur = s->compressed_cursor;

    g_assert(len > 0 && ALIGN_UP(len, 512) <= s->cluster_size);
    /* Pack into the cluster the last compressed cluster ended in, when
     * the data up to the end of its last sector fits there. */
    uint64_t rc = 0;

    if (cur && ALIGN_UP(cur + len, 512) <=
               ALIGN_DOWN(cur, s->cluster_size) + s->cluster_size &&
        !qcow2_get_refcount(bs, cur >> s->cluster_bits, &rc, errp)) {
        return false;
    }
    /* (With 1-bit refcounts no cluster can be shared: rc stays at max.) */
    if (cur && ALIGN_UP(cur + len, 512) <=
               ALIGN_DOWN(cur, s->cluster_size) + s->cluster_size &&
        rc < s->refcount_max) {
        if (!qcow2_update_refcount(bs, cur, 1, 1, errp)) {
            return false;
        }
        *offset = cur;
    } else if (!qcow2_alloc_clusters(bs, 1, offset, errp)) {
        return false;
    }
    s->compressed_cursor = *offset + len;
    if (!offset_into_cluster(s, s->compressed_cursor)) {
        s->compressed_cursor = 0;
    }
    return true;
}

bool qcow2_free_entry(BlockDriverState *bs, uint64_t l2e, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t off, len;

    switch (qcow2_entry_type(s, l2e)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return qcow2_update_refcount(bs, l2e & L2E_OFFSET_MASK,
                                     s->cluster_size, -1, errp);
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_compressed_extent(s, l2e, &off, &len);
        return qcow2_update_refcount(bs, off, len, -1, errp);
    default:
        return true;
    }
}
