/*
 * qcow2 cluster mapping (qcow2.txt, "Cluster mapping"): L1 and L2
 * entries, their validation, copy-on-write of shared L2 tables, and
 * compressed clusters (zlib: raw deflate with a 4 KiB window; zstd:
 * zstd frames), which qcow2.txt's "Compressed Clusters Descriptor"
 * locates.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

#include <zlib.h>
#ifdef CONFIG_ZSTD
#include <zstd.h>
#endif

Qcow2ClusterType qcow2_entry_type(Qcow2State *s, uint64_t l2e)
{
    if (l2e & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if ((l2e & QCOW_OFLAG_ZERO) && s->version >= 3) {
        return (l2e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
                                       : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return (l2e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL
                                   : QCOW2_CLUSTER_UNALLOCATED;
}

/* Host bytes a compressed cluster's data occupies: from its offset to the
 * end of its last 512-byte sector. */
void qcow2_compressed_extent(Qcow2State *s, uint64_t l2e, uint64_t *offset,
                             uint64_t *len)
{
    unsigned x = 62 - (s->cluster_bits - 8);
    uint64_t off = l2e & ((1ULL << x) - 1);
    uint64_t sectors = ((l2e & ~QCOW_OFLAG_COPIED & ~QCOW_OFLAG_COMPRESSED)
                        >> x) + 1;

    *offset = off;
    *len = ALIGN_DOWN(off, 512) + sectors * 512 - off;
}

bool qcow2_check_l2_entry(BlockDriverState *bs, uint64_t l2e, uint64_t guest,
                          GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t off = l2e & L2E_OFFSET_MASK, len;

    switch (qcow2_entry_type(s, l2e)) {
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_compressed_extent(s, l2e, &off, &len);
        if (off < s->cluster_size ||
            !range_within(off, len, QCOW2_MAX_HOST_OFFSET)) {
            return qcow2_corrupt(bs, errp, "compressed cluster for guest "
                                 "offset %#" PRIx64 " at %#" PRIx64
                                 " is out of range", guest, off);
        }
        return true;
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        if (offset_into_cluster(s, off) || off < s->cluster_size) {
            return qcow2_corrupt(bs, errp, "cluster for guest offset %#"
                                 PRIx64 " at %#" PRIx64 " is %s", guest, off,
                                 off < s->cluster_size ? "in the header"
                                                       : "unaligned");
        }
        return true;
    default:
        return true;
    }
}

bool qcow2_check_l1_entry(BlockDriverState *bs, uint64_t index,
                          uint64_t l1e, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t off = l1e & L1E_OFFSET_MASK;

    if (off && (offset_into_cluster(s, off) || off < s->cluster_size)) {
        return qcow2_corrupt(bs, errp, "L2 table %" PRIu64 " at %#" PRIx64
                             " is %s", index, off,
                             off < s->cluster_size ? "in the header"
                                                   : "unaligned");
    }
    /* A table is written before an L1 entry names it, so it lies inside
     * the file; past the end it would read as zeroes and hide damage. */
    if (off && !range_within(off, s->cluster_size,
                             bdrv_getlength(bs->file))) {
        return qcow2_corrupt(bs, errp, "L2 table %" PRIu64 " at %#" PRIx64
                             " lies past the end of the file", index, off);
    }
    return true;
}

bool qcow2_get_l2_entry(BlockDriverState *bs, uint64_t guest,
                        uint64_t *entry, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t i = l1_index(s, guest), l2_off;
    const uint8_t *l2;

    *entry = 0;
    if (i >= s->l1_size) {
        return true;
    }
    if (!qcow2_check_l1_entry(bs, i, s->l1[i], errp)) {
        return false;
    }
    l2_off = s->l1[i] & L1E_OFFSET_MASK;
    if (!l2_off) {
        return true;
    }
    l2 = qcow2_cache_get(bs, s->l2_cache, l2_off, true, errp);
    if (!l2) {
        return false;
    }
    *entry = ldq_be(l2 + 8 * l2_index(s, guest));
    return qcow2_check_l2_entry(bs, *entry, guest, errp);
}

/*
 * Give L1 entry @i a table only the active L1 references: a new one, or
 * a copy of a table shared with a snapshot.  The table is on disk before
 * the L1 entry points at it; the old table loses its reference after.
 */
static bool cow_l2_table(BlockDriverState *bs, uint64_t i, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t old = s->l1[i] & L1E_OFFSET_MASK, new_off;
    uint8_t *copy = g_malloc0(s->cluster_size), *l2;
    bool ok = false;

    if (old) {
        l2 = qcow2_cache_get(bs, s->l2_cache, old, true, errp);
        if (!l2) {
            goto out;
        }
        memcpy(copy, l2, s->cluster_size);
    }
    if (!qcow2_alloc_clusters(bs, 1, &new_off, errp) ||
        !qcow2_cache_flush(bs, s->rb_cache, errp) ||
        !qcow2_write_meta(bs, 0, new_off, copy, s->cluster_size, errp) ||
        !bdrv_flush(bs->file, errp)) {
        goto out;
    }
    s->l1[i] = new_off | QCOW_OFLAG_COPIED;
    if (!qcow2_write_l1_entry(bs, i, errp)) {
        goto out;
    }
    l2 = qcow2_cache_get(bs, s->l2_cache, new_off, false, errp);
    if (!l2) {
        goto out;
    }
    memcpy(l2, copy, s->cluster_size);  /* clean: it is on disk */
    ok = !old || (bdrv_flush(bs->file, errp) &&
                  qcow2_update_refcount(bs, old, s->cluster_size, -1, errp));
out:
    g_free(copy);
    return ok;
}

bool qcow2_set_l2_entry(BlockDriverState *bs, uint64_t guest, uint64_t entry,
                        GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t i = l1_index(s, guest);
    uint8_t *l2;

    g_assert(i < s->l1_size);
    if (!qcow2_check_l1_entry(bs, i, s->l1[i], errp)) {
        return false;
    }
    if (!(s->l1[i] & L1E_OFFSET_MASK) || !(s->l1[i] & QCOW_OFLAG_COPIED)) {
        if (!cow_l2_table(bs, i, errp)) {
            return false;
        }
    }
    l2 = qcow2_cache_get(bs, s->l2_cache, s->l1[i] & L1E_OFFSET_MASK, true,
                         errp);
    if (!l2) {
        return false;
    }
    stq_be(l2 + 8 * l2_index(s, guest), entry);
    qcow2_cache_mark_dirty(s->l2_cache, l2);
    return true;
}

static bool inflate_zlib(BlockDriverState *bs, const uint8_t *in,
                         uint64_t in_len, uint8_t *out, GError **errp)
{
    Qcow2State *s = bs->opaque;
    z_stream z = { 0 };
    int ret;

    if (inflateInit2(&z, -12) != Z_OK) {
        error_setg(errp, "'%s': zlib initialisation failed", s->name);
        return false;
    }
    z.next_in = (uint8_t *)in;
    z.avail_in = in_len;
    z.next_out = out;
    z.avail_out = s->cluster_size;
    ret = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    /* The last sector may hold more than this cluster's stream; all that
     * matters is a full cluster of output. */
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0) {
        return true;
    }
    return qcow2_corrupt(bs, errp, "compressed cluster does not inflate "
                         "to a full cluster (zlib)");
}

static bool inflate_zstd(BlockDriverState *bs, const uint8_t *in,
                         uint64_t in_len, uint8_t *out, GError **errp)
{
    Qcow2State *s = bs->opaque;
#ifdef CONFIG_ZSTD
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer ib = { in, in_len, 0 };
    ZSTD_outBuffer ob = { out, s->cluster_size, 0 };
    bool ok = true;

    if (!dctx) {
        error_setg(errp, "'%s': zstd initialisation failed", s->name);
        return false;
    }
    while (ok && ob.pos < ob.size) {
        size_t in_pos = ib.pos, out_pos = ob.pos;
        size_t ret = ZSTD_decompressStream(dctx, &ob, &ib);

        /* An error, or no progress (input used up), is a bad cluster. */
        ok = !ZSTD_isError(ret) && (ib.pos > in_pos || ob.pos > out_pos);
    }
    ZSTD_freeDCtx(dctx);
    if (ok) {
        return true;
    }
    return qcow2_corrupt(bs, errp, "compressed cluster does not decompress "
                         "to a full cluster (zstd)");
#else
    error_setg(errp, "'%s': zstd-compressed image, but this kvmpc was "
               "built without libzstd", s->name);
    return false;
#endif
}

bool qcow2_read_compressed(BlockDriverState *bs, uint64_t l2e,
                           uint8_t **data, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t off, len;
    bool ok;

    if (s->cached_compressed == l2e) {
        *data = s->zbuf_out;
        return true;
    }
    qcow2_compressed_extent(s, l2e, &off, &len);
    /* The descriptor allows at most two clusters of input (plus the
     * partial first sector); the scratch buffer is that big. */
    g_assert(len <= 2 * s->cluster_size + 512);
    if (!bdrv_pread(bs->file, off, len, s->cluster_buf, errp)) {
        return false;
    }
    s->cached_compressed = 0;
    if (s->compression_type == QCOW2_COMPRESSION_ZSTD) {
        ok = inflate_zstd(bs, s->cluster_buf, len, s->zbuf_out, errp);
    } else {
        ok = inflate_zlib(bs, s->cluster_buf, len, s->zbuf_out, errp);
    }
    if (!ok) {
        return false;
    }
    s->cached_compressed = l2e;
    *data = s->zbuf_out;
    return true;
}

bool qcow2_compress(BlockDriverState *bs, const uint8_t *in, uint8_t *out,
                    uint64_t *out_len, GError **errp)
{
    Qcow2State *s = bs->opaque;
    /* Only worth it if it saves at least a byte of the cluster. */
    uint64_t max = s->cluster_size - 1;

    *out_len = 0;
    if (s->compression_type == QCOW2_COMPRESSION_ZSTD) {
#ifdef CONFIG_ZSTD
        size_t ret = ZSTD_compress(out, max, in, s->cluster_size, 1);

        if (!ZSTD_isError(ret)) {
            *out_len = ret;
        }
        return true;
#else
        error_setg(errp, "'%s': zstd compression needs libzstd", s->name);
        return false;
#endif
    }
    z_stream z = { 0 };
    int ret;

    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        error_setg(errp, "'%s': zlib initialisation failed", s->name);
        return false;
    }
    z.next_in = (uint8_t *)in;
    z.avail_in = s->cluster_size;
    z.next_out = out;
    z.avail_out = max;
    ret = deflate(&z, Z_FINISH);
    if (ret == Z_STREAM_END) {
        *out_len = max - z.avail_out;
    }
    deflateEnd(&z);
    return true;
}
