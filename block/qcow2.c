/*
 * The qcow2 format driver, versions 2 and 3.
 *
 * Specification: QEMU's docs/interop/qcow2.txt.  This file has the
 * header (parsing every field as hostile input), open/create, and the
 * request path; the mapping, refcounts, caches, snapshots and the
 * consistency check live in qcow2-*.c.  docs/block.md describes the
 * design and the order of metadata writes.
 *
 * Not supported (refused with a clear error): encryption, external data
 * files, extended L2 entries.  Lazy refcounts are never used for
 * writing; an image left dirty by them opens read-only only.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

#define L2_CACHE_BYTES (1 * MiB)    /* QEMU's default; 8 GiB at 64 KiB */
#define RB_CACHE_ENTRIES 4

bool qcow2_mark_corrupt(BlockDriverState *bs)
{
    Qcow2State *s = bs->opaque;
    uint8_t buf[8];

    if (s->read_only || s->version < 3 ||
        (s->incompat & QCOW2_INCOMPAT_CORRUPT)) {
        return true;
    }
    s->incompat |= QCOW2_INCOMPAT_CORRUPT;
    stq_be(buf, s->incompat);
    /* The spec's corrupt bit: no writes until repaired.  Straight to the
     * file, past our own overlap check (it guards exactly this). */
    bdrv_pwrite(bs->file, 72, 8, buf, NULL);
    bdrv_flush(bs->file, NULL);
    s->read_only = true;
    return true;
}

bool qcow2_corrupt(BlockDriverState *bs, GError **errp, const char *fmt, ...)
{
    Qcow2State *s = bs->opaque;
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "'%s': image is corrupt: %s", s->name, msg);
    g_free(msg);
    if (bs->flags & BDRV_O_RDWR && !(bs->flags & BDRV_O_CHECK)) {
        qcow2_mark_corrupt(bs);
    }
    return false;
}

static const char *ol_name(int kind)
{
    switch (kind) {
    case QCOW2_OL_HEADER: return "the header";
    case QCOW2_OL_ACTIVE_L1: return "the active L1 table";
    case QCOW2_OL_ACTIVE_L2: return "an active L2 table";
    case QCOW2_OL_REFT: return "the refcount table";
    case QCOW2_OL_REFB: return "a refcount block";
    case QCOW2_OL_SNAP_TABLE: return "the snapshot table";
    case QCOW2_OL_BITMAP_DIR: return "the bitmap directory";
    default: return "a snapshot's L1 table";
    }
}

/* Which metadata (not in @ign) would a write to [offset, +len) hit? */
int qcow2_check_overlap(BlockDriverState *bs, int ign, uint64_t offset,
                        uint64_t len)
{
    Qcow2State *s = bs->opaque;
    int chk = QCOW2_OL_ALL & ~ign;

    if ((chk & QCOW2_OL_HEADER) && offset < s->cluster_size) {
        return QCOW2_OL_HEADER;
    }
    if ((chk & QCOW2_OL_ACTIVE_L1) &&
        ranges_overlap(offset, len, s->l1_offset, s->l1_size * 8ULL)) {
        return QCOW2_OL_ACTIVE_L1;
    }
    if ((chk & QCOW2_OL_REFT) &&
        ranges_overlap(offset, len, s->rt_offset,
                       (uint64_t)s->rt_clusters << s->cluster_bits)) {
        return QCOW2_OL_REFT;
    }
    if ((chk & QCOW2_OL_BITMAP_DIR) && s->has_bitmaps_ext &&
        ranges_overlap(offset, len, s->bitmap_dir_offset,
                       s->bitmap_dir_size)) {
        return QCOW2_OL_BITMAP_DIR;
    }
    if ((chk & QCOW2_OL_SNAP_TABLE) &&
        ranges_overlap(offset, len, s->snapshots_offset, s->snapshots_size)) {
        return QCOW2_OL_SNAP_TABLE;
    }
    for (uint32_t i = 0; (chk & QCOW2_OL_INACTIVE_L1) &&
                         i < s->nb_snapshots; i++) {
        if (ranges_overlap(offset, len, s->snapshots[i].l1_offset,
                           s->snapshots[i].l1_size * 8ULL)) {
            return QCOW2_OL_INACTIVE_L1;
        }
    }
    for (uint32_t i = 0; (chk & QCOW2_OL_ACTIVE_L2) && i < s->l1_size; i++) {
        if (ranges_overlap(offset, len, s->l1[i] & L1E_OFFSET_MASK,
                           (s->l1[i] & L1E_OFFSET_MASK) ? s->cluster_size
                                                        : 0)) {
            return QCOW2_OL_ACTIVE_L2;
        }
    }
    for (uint64_t i = 0; (chk & QCOW2_OL_REFB) && i < s->rt_size; i++) {
        if (s->rt[i] && ranges_overlap(offset, len, s->rt[i] & REFT_OFFSET_MASK,
                                       s->cluster_size)) {
            return QCOW2_OL_REFB;
        }
    }
    return 0;
}

bool qcow2_write_meta(BlockDriverState *bs, int ign, uint64_t offset,
                      const void *buf, uint64_t len, GError **errp)
{
    Qcow2State *s = bs->opaque;
    int hit;

    if (s->read_only) {
        error_setg(errp, "'%s': image is marked corrupt; no writes until "
                   "it is repaired (kvmpc-img check -r all)", s->name);
        return false;
    }
    hit = qcow2_check_overlap(bs, ign, offset, len);
    if (hit) {
        return qcow2_corrupt(bs, errp, "a write at %#" PRIx64 " (%" PRIu64
                             " bytes) would overwrite %s", offset, len,
                             ol_name(hit));
    }
    return bdrv_pwrite(bs->file, offset, len, buf, errp);
}

bool qcow2_write_l1_entry(BlockDriverState *bs, uint64_t index, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t buf[8];

    stq_be(buf, s->l1[index]);
    return qcow2_write_meta(bs, QCOW2_OL_ACTIVE_L1, s->l1_offset + 8 * index,
                            buf, 8, errp);
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
    if (len >= 8 && ldl_be(buf) == QCOW2_MAGIC &&
        (ldl_be(buf + 4) == 2 || ldl_be(buf + 4) == 3)) {
        return 100;
    }
    return 0;
}

/* ---- header ---------------------------------------------------------- */

static bool header_error(Qcow2State *s, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool header_error(Qcow2State *s, GError **errp, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "'%s': invalid qcow2 header: %s", s->name, msg);
    g_free(msg);
    return false;
}

/* A table of @bytes at @offset: aligned, past the header, inside the
 * file (a truncated image fails here, not on some later read). */
static bool check_table(Qcow2State *s, uint64_t file_size, uint64_t offset,
                        uint64_t bytes, const char *what, GError **errp)
{
    if (offset_into_cluster(s, offset)) {
        return header_error(s, errp, "%s offset %#" PRIx64 " is not "
                            "cluster-aligned", what, offset);
    }
    if (bytes && offset < s->cluster_size) {
        return header_error(s, errp, "%s overlaps the header", what);
    }
    if (!range_within(offset, bytes, file_size)) {
        error_setg(errp, "'%s': %s at %#" PRIx64 " (%" PRIu64 " bytes) "
                   "lies past the end of the file (%" PRIu64
                   " bytes): truncated image?", s->name, what, offset,
                   bytes, file_size);
        return false;
    }
    return true;
}

static bool parse_extensions(Qcow2State *s, const uint8_t *hdr,
                             uint64_t start, uint64_t end, GError **errp)
{
    uint64_t off = start;

    while (off < end) {
        uint32_t type, len;

        if (end - off < 8) {
            return header_error(s, errp, "header extension at %" PRIu64
                                " is truncated", off);
        }
        type = ldl_be(hdr + off);
        len = ldl_be(hdr + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END) {
            return true;
        }
        if (len > end - off) {
            return header_error(s, errp, "header extension %#x (%u bytes) "
                                "runs past the first cluster", type, len);
        }
        switch (type) {
        case QCOW2_EXT_BACKING_FMT:
            if (len > QCOW2_MAX_BACKING_NAME) {
                return header_error(s, errp, "backing format name too long");
            }
            g_free(s->backing_fmt);
            s->backing_fmt = g_strndup((const char *)hdr + off, len);
            break;
        case QCOW2_EXT_CRYPTO:
            return header_error(s, errp, "encryption header present; "
                                "encrypted images are not supported");
        case QCOW2_EXT_DATA_FILE:
        case QCOW2_EXT_FEATURE_TABLE:
            break;      /* regenerated, or refused by its feature bit */
        case QCOW2_EXT_BITMAPS:
            /* Without its autoclear bit the extension is stale (another
             * program wrote the image): ignored, and dropped from the
             * header when it is next rewritten, as QEMU does. */
            if (!(s->autoclear & 1)) {
                error_report("warning: a program lacking bitmap support "
                             "modified this file, so all bitmaps are now "
                             "considered inconsistent");
                error_report("Some clusters may be leaked, run 'kvmpc-img "
                             "check -r' on the image file to fix.");
            } else if (!qcow2_parse_bitmaps_ext(s, hdr + off, len, errp)) {
                return false;
            }
            break;
        default:
            /* Unknown: preserved when the header is rewritten. */
            g_byte_array_append(s->unknown_exts, hdr + off - 8,
                                8 + ALIGN_UP(len, 8) <= end - off + 8
                                ? 8 + ALIGN_UP(len, 8) : 8 + len);
            break;
        }
        off += ALIGN_UP(len, 8);
    }
    return true;
}

static bool parse_features(Qcow2State *s, const uint8_t *hdr, int flags,
                           GError **errp)
{
    uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
                     QCOW2_INCOMPAT_COMPRESSION;

    if (s->incompat & QCOW2_INCOMPAT_DATA_FILE) {
        error_setg(errp, "'%s': images with an external data file are not "
                   "supported", s->name);
        return false;
    }
    if (s->incompat & QCOW2_INCOMPAT_EXTL2) {
        error_setg(errp, "'%s': images with extended L2 entries are not "
                   "supported", s->name);
        return false;
    }
    if (s->incompat & ~known) {
        error_setg(errp, "'%s': unsupported qcow2 feature bits %#" PRIx64,
                   s->name, s->incompat & ~known);
        return false;
    }
    s->compression_type = s->header_length > 104 ? hdr[104] : 0;
    if (!!(s->incompat & QCOW2_INCOMPAT_COMPRESSION) !=
        (s->compression_type != QCOW2_COMPRESSION_ZLIB)) {
        return header_error(s, errp, "compression type %u does not match "
                            "the compression feature bit",
                            s->compression_type);
    }
    if (s->compression_type > QCOW2_COMPRESSION_ZSTD) {
        error_setg(errp, "'%s': unknown compression type %u", s->name,
                   s->compression_type);
        return false;
    }
    if ((flags & BDRV_O_RDWR) && !(flags & BDRV_O_CHECK)) {
        if (s->incompat & QCOW2_INCOMPAT_CORRUPT) {
            error_setg(errp, "'%s': image is marked corrupt; open it "
                       "read-only, or repair it with 'kvmpc-img check -r "
                       "all'", s->name);
            return false;
        }
        if (s->incompat & QCOW2_INCOMPAT_DIRTY) {
            error_setg(errp, "'%s': image is dirty (lazy refcounts, not "
                       "closed cleanly); repair it with 'kvmpc-img check "
                       "-r all' first", s->name);
            return false;
        }
    }
    return true;
}

static bool parse_geometry(Qcow2State *s, const uint8_t *hdr,
                           uint64_t file_size, uint64_t *size, GError **errp)
{
    uint64_t l1_needed, l2_span;

    s->cluster_bits = ldl_be(hdr + 20);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
        s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        return header_error(s, errp, "cluster_bits %u is outside 9..21",
                            s->cluster_bits);
    }
    s->cluster_size = 1ULL << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->l2_entries = 1ULL << s->l2_bits;
    *size = ldq_be(hdr + 24);
    s->l1_size = ldl_be(hdr + 36);
    s->l1_offset = ldq_be(hdr + 40);
    if (s->l1_size > QCOW2_MAX_L1_BYTES / 8) {
        return header_error(s, errp, "L1 table of %u entries is too large",
                            s->l1_size);
    }
    l2_span = s->cluster_size * s->l2_entries;
    if (*size > INT64_MAX) {
        return header_error(s, errp, "virtual size %" PRIu64 " is too large",
                            *size);
    }
    l1_needed = (*size + l2_span - 1) / l2_span;
    if (l1_needed > s->l1_size) {
        return header_error(s, errp, "L1 table of %u entries cannot map "
                            "%" PRIu64 " bytes", s->l1_size, *size);
    }
    if (!check_table(s, file_size, s->l1_offset, s->l1_size * 8ULL,
                     "L1 table", errp)) {
        return false;
    }
    s->rt_offset = ldq_be(hdr + 48);
    s->rt_clusters = ldl_be(hdr + 56);
    if (!s->rt_clusters ||
        (uint64_t)s->rt_clusters << s->cluster_bits >
        QCOW2_MAX_REFTABLE_BYTES) {
        return header_error(s, errp, "refcount table of %u clusters",
                            s->rt_clusters);
    }
    if (!check_table(s, file_size, s->rt_offset,
                     (uint64_t)s->rt_clusters << s->cluster_bits,
                     "refcount table", errp)) {
        return false;
    }
    if (ranges_overlap(s->l1_offset, s->l1_size * 8ULL, s->rt_offset,
                       (uint64_t)s->rt_clusters << s->cluster_bits)) {
        return header_error(s, errp, "L1 table and refcount table overlap");
    }
    return true;
}

static bool parse_header(BlockDriverState *bs, int flags, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t file_size = bdrv_getlength(bs->file);
    uint8_t *hdr = g_malloc0(1ULL << QCOW2_MAX_CLUSTER_BITS);
    uint64_t size = 0, hdr_read;
    bool ok = false;

    if (file_size < QCOW2_V2_HEADER_LEN) {
        error_setg(errp, "'%s': file too short for a qcow2 header (%" PRIu64
                   " bytes)", s->name, file_size);
        goto out;
    }
    hdr_read = MIN(file_size, 1ULL << QCOW2_MAX_CLUSTER_BITS);
    if (!bdrv_pread(bs->file, 0, hdr_read, hdr, errp)) {
        goto out;
    }
    if (ldl_be(hdr) != QCOW2_MAGIC) {
        header_error(s, errp, "bad magic");
        goto out;
    }
    s->version = ldl_be(hdr + 4);
    if (s->version != 2 && s->version != 3) {
        error_setg(errp, "'%s': unsupported qcow2 version %u", s->name,
                   s->version);
        goto out;
    }
    if (!parse_geometry(s, hdr, file_size, &size, errp)) {
        goto out;
    }
    if (ldl_be(hdr + 32) != 0) {
        error_setg(errp, "'%s': encrypted images are not supported",
                   s->name);
        goto out;
    }
    s->header_length = QCOW2_V2_HEADER_LEN;
    s->refcount_order = 4;
    if (s->version == 3) {
        s->incompat = ldq_be(hdr + 72);
        s->compat = ldq_be(hdr + 80);
        s->autoclear = ldq_be(hdr + 88);
        s->refcount_order = ldl_be(hdr + 96);
        s->header_length = ldl_be(hdr + 100);
        if (s->header_length < QCOW2_V3_HEADER_LEN ||
            s->header_length % 8 || s->header_length > s->cluster_size) {
            header_error(s, errp, "header_length %u", s->header_length);
            goto out;
        }
        if (s->refcount_order > 6) {
            header_error(s, errp, "refcount_order %u is above 6",
                         s->refcount_order);
            goto out;
        }
    }
    if (!parse_features(s, hdr, flags, errp)) {
        goto out;
    }
    s->refcount_bits = 1U << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX
                                             : (1ULL << s->refcount_bits) - 1;
    s->rb_entries = s->cluster_size * 8 / s->refcount_bits;
    s->rt_size = ((uint64_t)s->rt_clusters << s->cluster_bits) / 8;

    s->nb_snapshots = ldl_be(hdr + 60);
    s->snapshots_offset = ldq_be(hdr + 64);
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        header_error(s, errp, "%u snapshots (at most %u)", s->nb_snapshots,
                     QCOW2_MAX_SNAPSHOTS);
        goto out;
    }
    if (s->nb_snapshots &&
        !check_table(s, file_size, s->snapshots_offset, 0, "snapshot table",
                     errp)) {
        goto out;
    }

    s->backing_file_offset = ldq_be(hdr + 8);
    s->backing_file_size = ldl_be(hdr + 16);
    if (s->backing_file_offset) {
        if (s->backing_file_size > QCOW2_MAX_BACKING_NAME ||
            !range_within(s->backing_file_offset, s->backing_file_size,
                          MIN(s->cluster_size, hdr_read))) {
            header_error(s, errp, "backing file name (%u bytes at %" PRIu64
                         ") does not fit in the first cluster",
                         s->backing_file_size, s->backing_file_offset);
            goto out;
        }
        s->backing_file = g_strndup((char *)hdr + s->backing_file_offset,
                                    s->backing_file_size);
    }
    if (!parse_extensions(s, hdr, s->header_length,
                          MIN(s->cluster_size, hdr_read), errp)) {
        goto out;
    }
    bs->size = size;
    ok = true;
out:
    g_free(hdr);
    return ok;
}

static bool load_table(BlockDriverState *bs, uint64_t offset, uint64_t n,
                       uint64_t **table, GError **errp)
{
    uint8_t *raw = g_malloc(MAX(n, 1) * 8);

    *table = g_new0(uint64_t, MAX(n, 1));
    if (n && !bdrv_pread(bs->file, offset, n * 8, raw, errp)) {
        g_free(raw);
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        (*table)[i] = ldq_be(raw + 8 * i);
    }
    g_free(raw);
    return true;
}

static bool open_backing(BlockDriverState *bs, const char *filename,
                         int flags, GError **errp)
{
    Qcow2State *s = bs->opaque;
    char *path;

    if (!s->backing_file || (flags & BDRV_O_NO_BACKING)) {
        return true;
    }
    path = bdrv_backing_path(filename, s->backing_file);
    /* Backing files are only read; writes land in the top image. */
    bs->backing = bdrv_open(path, s->backing_fmt,
                            flags & ~(BDRV_O_RDWR | BDRV_O_WRITETHROUGH |
                                      BDRV_O_CHECK), errp);
    g_free(path);
    if (!bs->backing) {
        g_prefix_error(errp, "'%s': cannot open its backing file: ",
                       s->name);
        return false;
    }
    return true;
}

/* Unknown autoclear bits must be cleared before we write (qcow2.txt);
 * bit 0 (bitmaps) stays while the bitmaps extension is valid. */
static bool clear_autoclear(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t keep = s->has_bitmaps_ext ? 1 : 0;
    uint8_t buf[8];

    if (s->version < 3 || s->autoclear == (s->autoclear & keep)) {
        return true;
    }
    s->autoclear &= keep;
    stq_be(buf, s->autoclear);
    return qcow2_write_meta(bs, QCOW2_OL_HEADER, 88, buf, 8, errp) &&
           bdrv_flush(bs->file, errp);
}

static void qcow2_close(BlockDriverState *bs);

static bool qcow2_open(BlockDriverState *bs, const char *filename, int flags,
                       GError **errp)
{
    Qcow2State *s = bs->opaque;
    int l2_cache_entries;

    g_mutex_init(&s->lock);
    g_cond_init(&s->alloc_cond);
    s->inflight = g_array_new(false, false, sizeof(Qcow2Range));
    s->name = bs->filename;
    s->unknown_exts = g_byte_array_new();
    s->read_only = !(flags & BDRV_O_RDWR);
    if (!parse_header(bs, flags, errp) ||
        !load_table(bs, s->l1_offset, s->l1_size, &s->l1, errp) ||
        !load_table(bs, s->rt_offset, s->rt_size, &s->rt, errp)) {
        return false;
    }
    bs->cluster_size = s->cluster_size;
    l2_cache_entries = MAX(4, L2_CACHE_BYTES / s->cluster_size);
    l2_cache_entries = MIN(l2_cache_entries, 64);
    s->rb_cache = qcow2_cache_new(s, RB_CACHE_ENTRIES, QCOW2_OL_REFB);
    s->l2_cache = qcow2_cache_new(s, l2_cache_entries, QCOW2_OL_ACTIVE_L2);
    s->l2_cache->depends = s->rb_cache;
    s->cluster_buf = g_malloc(2 * s->cluster_size + 512);
    s->zbuf_out = g_malloc(s->cluster_size);
    s->free_cluster_hint = 1;
    if (!qcow2_read_snapshots(bs, errp) ||
        !open_backing(bs, filename, flags, errp)) {
        return false;
    }
    if ((flags & BDRV_O_RDWR) && !clear_autoclear(bs, errp)) {
        return false;
    }
    if (bdrv_is_inactive()) {
        s->bitmaps_deferred = true;
        return true;
    }
    return qcow2_load_bitmaps(bs, flags, errp);
}

static void qcow2_close(BlockDriverState *bs)
{
    Qcow2State *s = bs->opaque;
    GError *err = NULL;

    if (!s->name) {
        return;     /* open failed before anything was set up */
    }
    /* persistent bitmaps go to the image, marked not in use (not when
     * an outgoing migration handed the image over: that stored them) */
    if (!s->read_only && s->l2_cache && !bdrv_is_inactive() &&
        qcow2_has_bitmaps(bs) &&
        !qcow2_store_bitmaps_locked(bs, false, &err)) {
        error_report_err(err);
        err = NULL;
    }
    if (!s->read_only && s->l2_cache && !qcow2_flush_caches(bs, &err)) {
        error_report_err(err);
    }
    qcow2_free_bitmap_dir(s);
    qcow2_cache_free(s->l2_cache);
    qcow2_cache_free(s->rb_cache);
    qcow2_free_snapshots(s);
    g_free(s->l1);
    g_free(s->rt);
    g_free(s->backing_file);
    g_free(s->backing_fmt);
    g_free(s->cluster_buf);
    g_free(s->zbuf_out);
    if (s->unknown_exts) {
        g_byte_array_unref(s->unknown_exts);
    }
    g_array_unref(s->inflight);
    g_cond_clear(&s->alloc_cond);
    g_mutex_clear(&s->lock);
}

/* ---- reads ----------------------------------------------------------- */

static bool read_backing(BlockDriverState *bs, uint64_t off, uint64_t len,
                         uint8_t *buf, GError **errp)
{
    uint64_t have = 0;

    if (bs->backing && off < bs->backing->size) {
        have = MIN(len, bs->backing->size - off);
        if (!bdrv_pread(bs->backing, off, have, buf, errp)) {
            return false;
        }
    }
    memset(buf + have, 0, len - have);
    return true;
}

/* Bytes [in, in+len) of the guest cluster at @guest described by @e. */
static bool read_entry(BlockDriverState *bs, uint64_t guest, uint64_t e,
                       uint64_t in, uint64_t len, uint8_t *buf,
                       GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *data;

    switch (qcow2_entry_type(s, e)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        return read_backing(bs, guest + in, len, buf, errp);
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        memset(buf, 0, len);
        return true;
    case QCOW2_CLUSTER_NORMAL:
        return bdrv_pread(bs->file, (e & L2E_OFFSET_MASK) + in, len, buf,
                          errp);
    case QCOW2_CLUSTER_COMPRESSED:
        if (!qcow2_read_compressed(bs, e, &data, errp)) {
            return false;
        }
        memcpy(buf, data + in, len);
        return true;
    }
    g_assert_not_reached();
}

/* How many bytes from @off (entry @e) continue the same kind of mapping
 * (and, for data, contiguously on the host), up to @len. */
static bool extent_length(BlockDriverState *bs, uint64_t off, uint64_t e,
                          uint64_t len, uint64_t *n, GError **errp)
{
    Qcow2State *s = bs->opaque;
    Qcow2ClusterType type = qcow2_entry_type(s, e);
    uint64_t next = ALIGN_DOWN(off, s->cluster_size) + s->cluster_size;

    *n = MIN(len, next - off);
    if (type == QCOW2_CLUSTER_COMPRESSED) {
        return true;
    }
    while (*n < len) {
        uint64_t e2, want;

        if (!qcow2_get_l2_entry(bs, next, &e2, errp)) {
            return false;
        }
        if (qcow2_entry_type(s, e2) != type) {
            break;
        }
        if (type == QCOW2_CLUSTER_NORMAL) {
            want = (e & L2E_OFFSET_MASK) + (next - ALIGN_DOWN(off,
                                                      s->cluster_size));
            if ((e2 & L2E_OFFSET_MASK) != want) {
                break;
            }
        }
        *n += MIN(len - *n, s->cluster_size);
        next += s->cluster_size;
    }
    return true;
}

static bool qcow2_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                        void *buf, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *p = buf;
    bool ok = true;

    g_mutex_lock(&s->lock);
    while (ok && len) {
        uint64_t e, n = 0, in = offset_into_cluster(s, off);

        ok = qcow2_get_l2_entry(bs, off, &e, errp) &&
             extent_length(bs, off, e, len, &n, errp) &&
             read_entry(bs, off - in, e, in, n, p, errp);
        if (!ok) {
            break;
        }
        off += n;
        p += n;
        len -= n;
    }
    g_mutex_unlock(&s->lock);
    return ok;
}

/* ---- writes ---------------------------------------------------------- */

static bool writable(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (s->read_only) {
        error_setg(errp, "'%s': image is marked corrupt; no writes until "
                   "it is repaired (kvmpc-img check -r all)", s->name);
        return false;
    }
    return true;
}

static bool can_overwrite(Qcow2State *s, uint64_t e)
{
    return qcow2_entry_type(s, e) == QCOW2_CLUSTER_NORMAL &&
           (e & QCOW_OFLAG_COPIED);
}

/*
 * Old entries replaced in this request lose their references only after
 * the new L2 entries are on disk (otherwise a crash could leave an L2
 * entry pointing at a cluster already handed out again).
 */
static bool free_replaced(BlockDriverState *bs, GArray *olds, GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool any = false;

    for (guint i = 0; i < olds->len; i++) {
        Qcow2ClusterType t = qcow2_entry_type(s, g_array_index(olds,
                                                              uint64_t, i));
        any |= t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC ||
               t == QCOW2_CLUSTER_COMPRESSED;
    }
    if (!any) {
        return true;
    }
    if (!qcow2_cache_flush(bs, s->l2_cache, errp) ||
        !bdrv_flush(bs->file, errp)) {
        return false;
    }
    for (guint i = 0; i < olds->len; i++) {
        if (!qcow2_free_entry(bs, g_array_index(olds, uint64_t, i), errp)) {
            return false;
        }
    }
    return true;
}

static bool write_data(BlockDriverState *bs, uint64_t host, uint64_t len,
                       const void *buf, GError **errp)
{
    return qcow2_write_meta(bs, 0, host, buf, len, errp);
}

/* ---- writes in progress ----------------------------------------------- */

static bool range_busy(Qcow2State *s, uint64_t start, uint64_t end)
{
    for (guint i = 0; i < s->inflight->len; i++) {
        Qcow2Range *r = &g_array_index(s->inflight, Qcow2Range, i);

        if (r->start < end && start < r->end) {
            return true;
        }
    }
    return false;
}

/*
 * Claim the guest clusters [off, off+len) touches for one request (lock
 * held): waits while another request holds any of them, since that one
 * may be between allocating a cluster and writing its L2 entry.
 */
static Qcow2Range claim_range(Qcow2State *s, uint64_t off, uint64_t len)
{
    Qcow2Range r = { ALIGN_DOWN(off, s->cluster_size),
                     ALIGN_UP(off + len, s->cluster_size) };

    while (range_busy(s, r.start, r.end)) {
        g_cond_wait(&s->alloc_cond, &s->lock);
    }
    g_array_append_val(s->inflight, r);
    return r;
}

static void release_range(Qcow2State *s, Qcow2Range r)
{
    for (guint i = 0; i < s->inflight->len; i++) {
        Qcow2Range *q = &g_array_index(s->inflight, Qcow2Range, i);

        if (q->start == r.start && q->end == r.end) {
            g_array_remove_index_fast(s->inflight, i);
            break;
        }
    }
    g_cond_broadcast(&s->alloc_cond);
}

void qcow2_drain(Qcow2State *s)
{
    while (s->inflight->len) {
        g_cond_wait(&s->alloc_cond, &s->lock);
    }
}

/*
 * The data of clusters just allocated (refcount 1, named by no L2 entry
 * yet, so nothing else reads, writes or frees them) is written without
 * the lock, so that requests to other clusters run meanwhile.  The
 * overlap check is done before, under the lock: metadata cannot move onto
 * clusters we hold.  The caller sets the L2 entries afterwards, so the
 * data is on the file before an entry points at it.
 */
static bool write_new_clusters(BlockDriverState *bs, uint64_t host,
                               uint64_t len, const void *buf, GError **errp)
{
    Qcow2State *s = bs->opaque;
    int hit = qcow2_check_overlap(bs, 0, host, len);
    bool ok;

    if (s->read_only) {
        return writable(bs, errp);
    }
    if (hit) {
        return qcow2_corrupt(bs, errp, "newly allocated clusters at %#"
                             PRIx64 " overlap metadata", host);
    }
    g_mutex_unlock(&s->lock);
    ok = bdrv_pwrite(bs->file, host, len, buf, errp);
    g_mutex_lock(&s->lock);
    return ok;
}

/*
 * Write [off, off+len) into @k newly allocated clusters starting with
 * the guest cluster containing @off; @olds holds their old entries.
 * Partly written clusters get their old content around the new bytes.
 */
static bool write_allocating(BlockDriverState *bs, uint64_t off,
                             uint64_t len, const uint8_t *buf, uint64_t k,
                             const uint64_t *olds, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t gstart = ALIGN_DOWN(off, cs), in = off - gstart, host;
    uint64_t tail_in = (off + len) - (gstart + (k - 1) * cs);
    uint8_t *bounce = NULL;
    const uint8_t *src = buf;
    bool ok = false;

    if (in || tail_in != cs) {
        bounce = g_malloc(k * cs);
        if ((in && !read_entry(bs, gstart, olds[0], 0, cs, bounce, errp)) ||
            (tail_in != cs &&
             !read_entry(bs, gstart + (k - 1) * cs, olds[k - 1], 0, cs,
                         bounce + (k - 1) * cs, errp))) {
            goto out;
        }
        memcpy(bounce + in, buf, len);
        src = bounce;
    }
    if (!qcow2_alloc_clusters(bs, k, &host, errp)) {
        goto out;
    }
    if (!write_new_clusters(bs, host, k * cs, src, errp)) {
        /* Named by nothing: give them back (a leak at worst). */
        qcow2_update_refcount(bs, host, k * cs, -1, NULL);
        goto out;
    }
    for (uint64_t j = 0; j < k; j++) {
        if (!qcow2_set_l2_entry(bs, gstart + j * cs,
                                (host + j * cs) | QCOW_OFLAG_COPIED, errp)) {
            goto out;
        }
    }
    ok = true;
out:
    g_free(bounce);
    return ok;
}

static bool write_chunk(BlockDriverState *bs, uint64_t off, uint64_t len,
                        const uint8_t *buf, GArray *olds, uint64_t *done,
                        GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size, e, n, k = 1;
    uint64_t max_k = MIN(s->rb_entries / 2, 256);
    uint64_t in = offset_into_cluster(s, off);

    if (!qcow2_get_l2_entry(bs, off, &e, errp)) {
        return false;
    }
    if (can_overwrite(s, e)) {
        if (!extent_length(bs, off, e, len, &n, errp) ||
            !write_data(bs, (e & L2E_OFFSET_MASK) + in, n, buf, errp)) {
            return false;
        }
        *done = n;
        return true;
    }
    /* A run of clusters that all need allocating. */
    g_array_set_size(olds, olds->len + 1);
    g_array_index(olds, uint64_t, olds->len - 1) = e;
    n = MIN(len, cs - in);
    while (n < len && k < max_k) {
        if (!qcow2_get_l2_entry(bs, off + n, &e, errp)) {
            return false;
        }
        if (can_overwrite(s, e)) {
            break;
        }
        g_array_append_val(olds, e);
        k++;
        n += MIN(len - n, cs);
    }
    *done = n;
    return write_allocating(bs, off, n, buf, k,
                            &g_array_index(olds, uint64_t, olds->len - k),
                            errp);
}

/* The write path proper; the caller holds the lock and frees @olds. */
static bool write_locked(BlockDriverState *bs, uint64_t off, uint64_t len,
                         const uint8_t *p, GArray *olds, GError **errp)
{
    bool ok = writable(bs, errp);

    while (ok && len) {
        uint64_t n = 0;

        ok = write_chunk(bs, off, len, p, olds, &n, errp);
        if (!ok) {
            break;
        }
        off += n;
        p += n;
        len -= n;
    }
    return ok;
}

static bool qcow2_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                         const void *buf, GError **errp)
{
    Qcow2State *s = bs->opaque;
    GArray *olds = g_array_new(false, false, sizeof(uint64_t));
    bool ok;

    Qcow2Range r;

    g_mutex_lock(&s->lock);
    r = claim_range(s, off, len);
    ok = write_locked(bs, off, len, buf, olds, errp) &&
         free_replaced(bs, olds, errp);
    s->cached_compressed = 0;
    release_range(s, r);
    g_mutex_unlock(&s->lock);
    g_array_unref(olds);
    return ok;
}

typedef enum { ZERO_KEEP, ZERO_SET, ZERO_WRITE } ZeroAction;

/* What zeroing or discarding a whole cluster with entry @e takes. */
static ZeroAction zero_action(BlockDriverState *bs, uint64_t e,
                              uint64_t *new_e)
{
    Qcow2State *s = bs->opaque;
    Qcow2ClusterType t = qcow2_entry_type(s, e);

    if (!bs->backing) {
        /* Unallocated reads as zeroes without a backing file. */
        *new_e = 0;
        return t == QCOW2_CLUSTER_UNALLOCATED ? ZERO_KEEP : ZERO_SET;
    }
    if (s->version >= 3) {
        *new_e = QCOW_OFLAG_ZERO;
        return t == QCOW2_CLUSTER_ZERO_PLAIN ? ZERO_KEEP : ZERO_SET;
    }
    return ZERO_WRITE;  /* v2 over a backing file: no way to say "zero" */
}

static bool zero_clusters(BlockDriverState *bs, uint64_t off, uint64_t len,
                          bool discard, GArray *olds, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *zero = NULL;
    bool ok = true;

    for (; ok && len; off += s->cluster_size, len -= s->cluster_size) {
        uint64_t e, new_e;

        ok = qcow2_get_l2_entry(bs, off, &e, errp);
        if (!ok) {
            break;
        }
        switch (zero_action(bs, e, &new_e)) {
        case ZERO_SET:
            ok = qcow2_set_l2_entry(bs, off, new_e, errp);
            g_array_append_val(olds, e);
            break;
        case ZERO_WRITE:
            if (!discard) {     /* discard is only a hint */
                zero = zero ? zero : g_malloc0(s->cluster_size);
                ok = write_locked(bs, off, s->cluster_size, zero, olds,
                                  errp);
            }
            break;
        case ZERO_KEEP:
            break;
        }
    }
    g_free(zero);
    return ok;
}

static bool write_zero_bytes(BlockDriverState *bs, uint64_t off,
                             uint64_t len, GArray *olds, GError **errp)
{
    uint8_t *zero = g_malloc0(len);
    bool ok = write_locked(bs, off, len, zero, olds, errp);

    g_free(zero);
    return ok;
}

/*
 * Give the host clusters that zeroing or discarding freed back to the
 * host file (a hole punched; BLKDISCARD on a block device).  Only those
 * whose refcount reached 0: a cluster a snapshot still shares keeps its
 * data.  bdrv_pdiscard does nothing unless the node was opened with
 * discard=unmap.  Runs under s->lock, so no allocation can hand the
 * cluster out again before its hole is punched.
 */
static bool punch_freed(BlockDriverState *bs, GArray *olds, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (!(bs->flags & BDRV_O_UNMAP)) {
        return true;
    }
    for (guint i = 0; i < olds->len; i++) {
        uint64_t e = g_array_index(olds, uint64_t, i);
        Qcow2ClusterType t = qcow2_entry_type(s, e);
        uint64_t host = e & L2E_OFFSET_MASK, rc = 1;

        if ((t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) ||
            !host) {
            continue;
        }
        if (!qcow2_get_refcount(bs, host >> s->cluster_bits, &rc, errp)) {
            return false;
        }
        if (rc == 0 &&
            !bdrv_pdiscard(bs->file, host, s->cluster_size, errp)) {
            return false;
        }
    }
    return true;
}

/* Zero or discard [off, off+len): whole clusters through their entries
 * (the disk's last cluster is whole if the range reaches the end),
 * partial ones by writing zeroes; discard leaves partial ones alone. */
static bool zero_or_discard(BlockDriverState *bs, uint64_t off, uint64_t len,
                            bool discard, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size, end = off + len;
    uint64_t astart = ALIGN_UP(off, cs);
    uint64_t aend = end == bs->size ? ALIGN_UP(end, cs) : ALIGN_DOWN(end, cs);
    GArray *olds = g_array_new(false, false, sizeof(uint64_t));
    bool ok;

    Qcow2Range r;

    g_mutex_lock(&s->lock);
    r = claim_range(s, off, len);
    ok = writable(bs, errp);
    if (ok && astart >= aend) {
        ok = discard || write_zero_bytes(bs, off, len, olds, errp);
    } else if (ok) {
        ok = (discard || off == astart ||
              write_zero_bytes(bs, off, astart - off, olds, errp)) &&
             zero_clusters(bs, astart, aend - astart, discard, olds, errp) &&
             (discard || aend >= end ||
              write_zero_bytes(bs, aend, end - aend, olds, errp));
    }
    ok = ok && free_replaced(bs, olds, errp) &&
         punch_freed(bs, olds, errp);
    s->cached_compressed = 0;
    release_range(s, r);
    g_mutex_unlock(&s->lock);
    g_array_unref(olds);
    return ok;
}

static bool qcow2_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                                uint64_t len, int flags, GError **errp)
{
    return zero_or_discard(bs, off, len, false, errp);
}

static bool qcow2_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                           GError **errp)
{
    return zero_or_discard(bs, off, len, true, errp);
}

static bool write_compressed_cluster(BlockDriverState *bs, uint64_t off,
                                     const uint8_t *buf, GArray *olds,
                                     GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *out = g_malloc(s->cluster_size);
    uint64_t e, out_len, host, sectors;
    unsigned x = 62 - (s->cluster_bits - 8);
    bool ok = false;

    if (!qcow2_get_l2_entry(bs, off, &e, errp) ||
        !qcow2_compress(bs, buf, out, &out_len, errp)) {
        goto out;
    }
    if (!out_len) {     /* incompressible: store it as it is */
        uint64_t n;

        ok = write_chunk(bs, off, s->cluster_size, buf, olds, &n, errp);
        goto out;
    }
    if (!qcow2_alloc_bytes(bs, out_len, &host, errp) ||
        !write_data(bs, host, out_len, out, errp)) {
        goto out;
    }
    sectors = (ALIGN_UP(host + out_len, 512) - ALIGN_DOWN(host, 512)) / 512;
    g_array_append_val(olds, e);
    ok = qcow2_set_l2_entry(bs, off, QCOW_OFLAG_COMPRESSED | host |
                            ((sectors - 1) << x), errp);
out:
    g_free(out);
    return ok;
}

static bool qcow2_pwrite_compressed(BlockDriverState *bs, uint64_t off,
                                    uint64_t len, const void *buf,
                                    GError **errp)
{
    Qcow2State *s = bs->opaque;
    GArray *olds = g_array_new(false, false, sizeof(uint64_t));
    const uint8_t *p = buf;
    uint8_t *last = NULL;
    Qcow2Range r;
    bool ok;

    if (offset_into_cluster(s, off) ||
        (offset_into_cluster(s, len) && off + len != bs->size)) {
        error_setg(errp, "'%s': compressed writes must cover whole "
                   "clusters", s->name);
        g_array_unref(olds);
        return false;
    }
    g_mutex_lock(&s->lock);
    r = claim_range(s, off, len);
    ok = writable(bs, errp);
    for (; ok && len; off += s->cluster_size, p += s->cluster_size) {
        uint64_t n = MIN(len, s->cluster_size);

        if (n < s->cluster_size) {      /* the disk's last, short cluster */
            last = g_malloc0(s->cluster_size);
            memcpy(last, p, n);
        }
        ok = write_compressed_cluster(bs, off, last ? last : p, olds, errp);
        len -= n;
    }
    ok = ok && free_replaced(bs, olds, errp) &&
         punch_freed(bs, olds, errp);
    s->cached_compressed = 0;
    release_range(s, r);
    g_mutex_unlock(&s->lock);
    g_free(last);
    g_array_unref(olds);
    return ok;
}

static bool qcow2_flush(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok;

    g_mutex_lock(&s->lock);
    ok = s->read_only || qcow2_flush_caches(bs, errp);
    g_mutex_unlock(&s->lock);
    return ok;
}

/* Read-write: refused as open refuses it (corrupt, dirty); read-only:
 * the cached metadata reaches the file first. */
static bool qcow2_reopen(BlockDriverState *bs, int flags, GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok = true;

    g_mutex_lock(&s->lock);
    if (!(flags & BDRV_O_RDWR)) {
        /* the bitmaps are stored, not in use, while nobody writes */
        ok = s->read_only || !qcow2_has_bitmaps(bs) ||
             qcow2_store_bitmaps_locked(bs, false, errp);
        ok = ok && (s->read_only || qcow2_flush_caches(bs, errp));
        s->read_only = ok || s->read_only;
    } else if (s->incompat & (QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY)) {
        error_setg(errp, "'%s': image is %s; it cannot be opened "
                   "read-write", s->name,
                   (s->incompat & QCOW2_INCOMPAT_CORRUPT) ? "marked corrupt"
                                                          : "dirty");
        ok = false;
    } else {
        s->read_only = false;
    }
    g_mutex_unlock(&s->lock);
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); ok && bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        bdrv_dirty_bitmap_set_readonly(bm, !(flags & BDRV_O_RDWR));
    }
    if (ok && (flags & BDRV_O_RDWR)) {
        ok = clear_autoclear(bs, errp) &&
             qcow2_set_bitmaps_inactive(bs, false, errp);
    }
    return ok;
}

static int qcow2_block_status(BlockDriverState *bs, uint64_t off,
                              uint64_t len, uint64_t *pnum, uint64_t *map,
                              BlockDriverState **file, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t e, in = offset_into_cluster(s, off);
    int ret = -1;

    g_mutex_lock(&s->lock);
    if (!qcow2_get_l2_entry(bs, off, &e, errp) ||
        !extent_length(bs, off, e, len, pnum, errp)) {
        goto out;
    }
    switch (qcow2_entry_type(s, e)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        ret = 0;
        break;
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
        break;
    case QCOW2_CLUSTER_NORMAL:
        *map = (e & L2E_OFFSET_MASK) + in;
        *file = bs->file;
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED |
              BDRV_BLOCK_OFFSET_VALID;
        break;
    case QCOW2_CLUSTER_COMPRESSED:
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_COMPRESSED;
        break;
    }
out:
    g_mutex_unlock(&s->lock);
    return ret;
}

static bool qcow2_get_info(BlockDriverState *bs, BlockImageInfo *info,
                           GError **errp)
{
    Qcow2State *s = bs->opaque;

    info->backing_file = g_strdup(s->backing_file);
    info->backing_fmt = g_strdup(s->backing_fmt);
    info->has_format_specific = true;
    info->compat = s->version == 2 ? "0.10" : "1.1";
    info->compression_type = s->compression_type == QCOW2_COMPRESSION_ZSTD
                             ? "zstd" : "zlib";
    info->lazy_refcounts = s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
    info->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
    info->dirty = s->incompat & QCOW2_INCOMPAT_DIRTY;
    info->extended_l2 = false;
    info->refcount_bits = s->refcount_bits;
    if (s->nb_dir) {
        info->bitmaps = g_ptr_array_new();
        qcow2_bitmaps_info(s, info->bitmaps);
    }
    info->snapshots = g_ptr_array_new();
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        BlockSnapshotInfo *si = g_new0(BlockSnapshotInfo, 1);

        si->id = sn->id;
        si->name = sn->name;
        si->vm_state_size = sn->vm_state_size;
        si->date_sec = sn->date_sec;
        si->date_nsec = sn->date_nsec;
        si->vm_clock_nsec = sn->vm_clock_nsec;
        si->icount = sn->icount;
        si->has_icount = sn->icount != UINT64_MAX;
        g_ptr_array_add(info->snapshots, si);
    }
    g_ptr_array_set_free_func(info->snapshots, g_free);
    return true;
}

/* ---- L1 table, virtual size, resize ---------------------------------- */

bool qcow2_write_l1(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *buf;
    bool ok;

    if (!s->l1_size) {
        return true;
    }
    buf = g_malloc(s->l1_size * 8ULL);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        stq_be(buf + 8 * i, s->l1[i]);
    }
    ok = qcow2_write_meta(bs, QCOW2_OL_ACTIVE_L1, s->l1_offset, buf,
                          s->l1_size * 8ULL, errp);
    g_free(buf);
    return ok;
}

uint64_t qcow2_l1_size_for(Qcow2State *s, uint64_t size)
{
    uint32_t shift = s->cluster_bits + s->l2_bits;

    return (size >> shift) + !!(size & ((1ULL << shift) - 1));
}

/* l1_size and l1_table_offset are adjacent in the header: one write. */
static bool write_header_l1(BlockDriverState *bs, uint32_t l1_size,
                            uint64_t l1_offset, GError **errp)
{
    uint8_t buf[12];

    stl_be(buf, l1_size);
    stq_be(buf + 4, l1_offset);
    return qcow2_write_meta(bs, QCOW2_OL_HEADER, 36, buf, sizeof(buf), errp) &&
           bdrv_flush(bs->file, errp);
}

/*
 * The new table goes to new clusters and is on disk, with the refcounts
 * that count it, before the header points at it; the old one is freed
 * after.
 */
bool qcow2_grow_l1(BlockDriverState *bs, uint64_t l1_size, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t bytes = l1_size * 8, off, old_off = s->l1_offset;
    uint64_t old_bytes = s->l1_size * 8ULL;
    uint8_t *buf;
    bool ok;

    if (l1_size <= s->l1_size) {
        return true;
    }
    if (bytes > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "'%s': the L1 table would exceed %u MiB: size too "
                   "large for %" PRIu64 "-byte clusters", s->name,
                   (unsigned)(QCOW2_MAX_L1_BYTES / MiB), s->cluster_size);
        return false;
    }
    if (size_to_clusters(s, bytes) > s->rb_entries / 2) {
        error_setg(errp, "'%s': an L1 table of %" PRIu64 " clusters is "
                   "more than one allocation can place with %" PRIu64
                   "-byte clusters", s->name, size_to_clusters(s, bytes),
                   s->cluster_size);
        return false;
    }
    buf = g_malloc0(ALIGN_UP(bytes, s->cluster_size));
    for (uint32_t i = 0; i < s->l1_size; i++) {
        stq_be(buf + 8 * i, s->l1[i]);
    }
    ok = qcow2_alloc_clusters(bs, size_to_clusters(s, bytes), &off, errp) &&
         qcow2_write_meta(bs, 0, off, buf, ALIGN_UP(bytes, s->cluster_size),
                          errp) &&
         qcow2_cache_flush(bs, s->rb_cache, errp) &&
         bdrv_flush(bs->file, errp) &&
         write_header_l1(bs, l1_size, off, errp);
    g_free(buf);
    if (!ok) {
        return false;
    }
    s->l1 = g_renew(uint64_t, s->l1, l1_size);
    memset(s->l1 + s->l1_size, 0, (l1_size - s->l1_size) * 8);
    s->l1_size = l1_size;
    s->l1_offset = off;
    return !old_bytes ||
           qcow2_update_refcount(bs, old_off, old_bytes, -1, errp);
}

bool qcow2_set_virtual_size(BlockDriverState *bs, uint64_t size,
                            GError **errp)
{
    uint8_t buf[8];

    stq_be(buf, size);
    if (!qcow2_write_meta(bs, QCOW2_OL_HEADER, 24, buf, 8, errp) ||
        !bdrv_flush(bs->file, errp)) {
        return false;
    }
    bs->size = size;
    return true;
}

/*
 * Make [start, end) (cluster-aligned start) unallocated: every entry
 * becomes 0 (shared L2 tables are copied first), and what the entries
 * held is freed once the new entries are on disk.  Used by shrinking and
 * by commit's emptying of the top image.
 */
static bool discard_full(BlockDriverState *bs, uint64_t start, uint64_t end,
                         GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t span = s->cluster_size << s->l2_bits;
    GArray *olds = g_array_new(false, false, sizeof(uint64_t));
    bool ok = true;

    for (uint64_t off = start; ok && off < end;) {
        uint64_t e, i = l1_index(s, off);

        if (i >= s->l1_size || !(s->l1[i] & L1E_OFFSET_MASK)) {
            off = ALIGN_DOWN(off, span) + span;     /* no table: nothing */
            continue;
        }
        ok = qcow2_get_l2_entry(bs, off, &e, errp);
        if (ok && e) {
            ok = qcow2_set_l2_entry(bs, off, 0, errp);
            g_array_append_val(olds, e);
        }
        off += s->cluster_size;
    }
    ok = ok && free_replaced(bs, olds, errp);
    g_array_unref(olds);
    return ok;
}

/* ---- the VM state area (savevm) ------------------------------------- */

/*
 * As QEMU: the VM state lives in the guest address space right after the
 * L1 entries the virtual disk needs, so a snapshot's L1 copy takes it
 * along and qemu-img sees ordinary clusters.
 */
uint64_t qcow2_vm_state_offset(Qcow2State *s, uint64_t disk_size)
{
    return qcow2_l1_size_for(s, disk_size) << (s->cluster_bits + s->l2_bits);
}

static bool qcow2_save_vmstate(BlockDriverState *bs, uint64_t pos,
                               uint64_t len, const void *buf, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t off = qcow2_vm_state_offset(s, bs->size) + pos;
    GArray *olds = g_array_new(false, false, sizeof(uint64_t));
    Qcow2Range r;
    bool ok;

    if (!len) {
        g_array_unref(olds);
        return true;
    }
    g_mutex_lock(&s->lock);
    r = claim_range(s, off, len);
    ok = writable(bs, errp) &&
         qcow2_grow_l1(bs, qcow2_l1_size_for(s, off + len), errp) &&
         write_locked(bs, off, len, buf, olds, errp) &&
         free_replaced(bs, olds, errp);
    s->cached_compressed = 0;
    release_range(s, r);
    g_mutex_unlock(&s->lock);
    g_array_unref(olds);
    return ok;
}

static bool qcow2_load_vmstate(BlockDriverState *bs, uint64_t pos,
                               uint64_t len, void *buf, GError **errp)
{
    Qcow2State *s = bs->opaque;

    /* qcow2_pread maps any guest offset; past the L1 it reads zeroes */
    return qcow2_pread(bs, qcow2_vm_state_offset(s, bs->size) + pos, len,
                       buf, errp);
}

/* After a snapshot took it: the active layer need not keep the VM state
 * (it would only cost copy-on-write next time).  Lock held. */
bool qcow2_drop_vmstate_locked(BlockDriverState *bs, uint64_t len,
                               GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t start = qcow2_vm_state_offset(s, bs->size);

    return !len ||
           discard_full(bs, start, start + ALIGN_UP(len, s->cluster_size),
                        errp);
}

/* Drop the L2 tables of L1 entries [from, l1_size) (all their entries are
 * 0 by now): the L1 entries are cleared on disk first. */
static bool drop_l2_tables(BlockDriverState *bs, uint64_t from,
                           GError **errp)
{
    Qcow2State *s = bs->opaque;
    GArray *tables = g_array_new(false, false, sizeof(uint64_t));
    bool ok;

    for (uint64_t i = from; i < s->l1_size; i++) {
        uint64_t t = s->l1[i] & L1E_OFFSET_MASK;

        if (t) {
            g_array_append_val(tables, t);
        }
        s->l1[i] = 0;
    }
    ok = !tables->len ||
         (qcow2_flush_caches(bs, errp) && qcow2_write_l1(bs, errp) &&
          bdrv_flush(bs->file, errp));
    for (guint k = 0; ok && k < tables->len; k++) {
        ok = qcow2_update_refcount(bs, g_array_index(tables, uint64_t, k),
                                   s->cluster_size, -1, errp);
    }
    g_array_unref(tables);
    return ok;
}

bool qcow2_truncate_locked(BlockDriverState *bs, uint64_t size,
                           GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t need = qcow2_l1_size_for(s, size);

    if (size % 512) {
        error_setg(errp, "The new size must be a multiple of 512");
        return false;
    }
    if (s->nb_snapshots && s->version < 3) {
        error_setg(errp, "Can't resize a v2 image which has snapshots");
        return false;
    }
    if (size < bs->size) {
        /* Shrink: clusters past the end go, the L1 keeps its size (its
         * tail entries are zero; QEMU does the same). */
        return discard_full(bs, ALIGN_UP(size, s->cluster_size), bs->size,
                            errp) &&
               drop_l2_tables(bs, need, errp) &&
               qcow2_flush_caches(bs, errp) &&
               qcow2_set_virtual_size(bs, size, errp);
    }
    return qcow2_grow_l1(bs, need, errp) &&
           qcow2_flush_caches(bs, errp) &&
           qcow2_set_virtual_size(bs, size, errp);
}

static bool qcow2_truncate(BlockDriverState *bs, uint64_t size,
                           GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok;

    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    ok = writable(bs, errp) && qcow2_truncate_locked(bs, size, errp);
    s->cached_compressed = 0;
    g_mutex_unlock(&s->lock);
    return ok;
}

/* commit's "empty the image": everything unallocated again (the reads
 * fall through to the backing file). */
static bool qcow2_make_empty(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok;

    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    ok = writable(bs, errp) &&
         discard_full(bs, 0, bs->size, errp) &&
         qcow2_flush_caches(bs, errp);
    s->cached_compressed = 0;
    g_mutex_unlock(&s->lock);
    return ok;
}

/* ---- the backing file name in the header (rebase) -------------------- */

/* Append a header extension (type, length, data padded to 8). */
static uint64_t put_ext(uint8_t *h, uint64_t p, uint32_t type,
                        const void *data, uint32_t len)
{
    stl_be(h + p, type);
    stl_be(h + p + 4, len);
    memcpy(h + p + 8, data, len);
    return p + 8 + ALIGN_UP(len, 8);
}

/*
 * Rewrite the first cluster from the state: the fixed header (fields we
 * do not model, such as a longer v3 header's tail, are kept from disk),
 * the extensions (backing format, then the unknown ones we kept), then
 * the backing file name.  Must fit in the cluster, as qcow2.txt
 * requires.  A v3 header is at least 112 bytes (QEMU's, with the
 * compression type padded); a v2 header is the 72 fixed bytes.
 */
bool qcow2_write_header(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    const char *file = s->backing_file, *fmt = s->backing_fmt;
    size_t flen = file ? strlen(file) : 0, fmtlen = fmt ? strlen(fmt) : 0;
    uint32_t hlen = s->version < 3 ? QCOW2_V2_HEADER_LEN
                                   : MAX(s->header_length, 112);
    uint64_t need = hlen + (fmt ? 8 + ALIGN_UP(fmtlen, 8) : 0) +
                    (s->nb_bitmaps ? 32 : 0) + s->unknown_exts->len + 8 +
                    flen;
    uint8_t *h;
    uint64_t p;
    bool ok;

    if (flen > QCOW2_MAX_BACKING_NAME || fmtlen > QCOW2_MAX_BACKING_NAME ||
        need > s->cluster_size) {
        error_setg(errp, "'%s': the backing file name does not fit in the "
                   "header cluster", s->name);
        return false;
    }
    h = g_malloc0(s->cluster_size);
    if (!bdrv_pread(bs->file, 0, MIN(s->header_length, hlen), h, errp)) {
        g_free(h);
        return false;
    }
    stl_be(h + 4, s->version);
    stq_be(h + 24, bs->size);
    stl_be(h + 36, s->l1_size);
    stq_be(h + 40, s->l1_offset);
    stq_be(h + 48, s->rt_offset);
    stl_be(h + 56, s->rt_clusters);
    stl_be(h + 60, s->nb_snapshots);
    stq_be(h + 64, s->snapshots_offset);
    if (s->version >= 3) {
        stq_be(h + 72, s->incompat);
        stq_be(h + 80, s->compat);
        stq_be(h + 88, s->autoclear);
        stl_be(h + 96, s->refcount_order);
        stl_be(h + 100, hlen);
        h[104] = s->compression_type;
    }
    p = hlen;
    if (fmt) {
        p = put_ext(h, p, QCOW2_EXT_BACKING_FMT, fmt, fmtlen);
    }
    p = qcow2_put_bitmaps_ext(s, h, p);
    if (s->unknown_exts->len) {     /* data is NULL when empty */
        memcpy(h + p, s->unknown_exts->data, s->unknown_exts->len);
    }
    p += s->unknown_exts->len + 8;      /* and the end marker */
    stq_be(h + 8, file ? p : 0);
    stl_be(h + 16, flen);
    memcpy(h + p, file ? file : "", flen);
    ok = qcow2_write_meta(bs, QCOW2_OL_HEADER, 0, h, s->cluster_size, errp) &&
         bdrv_flush(bs->file, errp);
    g_free(h);
    if (ok) {
        s->header_length = hlen;
        s->backing_file_offset = file ? p : 0;
        s->backing_file_size = flen;
    }
    return ok;
}

/* A new backing file name and format in the header (rebase). */
static bool change_backing_locked(BlockDriverState *bs, const char *file,
                                  const char *fmt, GError **errp)
{
    Qcow2State *s = bs->opaque;
    char *old_file = s->backing_file, *old_fmt = s->backing_fmt;

    s->backing_file = g_strdup(file);
    s->backing_fmt = g_strdup(fmt);
    if (!qcow2_write_header(bs, errp)) {
        g_free(s->backing_file);
        g_free(s->backing_fmt);
        s->backing_file = old_file;
        s->backing_fmt = old_fmt;
        return false;
    }
    g_free(old_file);
    g_free(old_fmt);
    return true;
}

/* The extensions changed (the bitmap directory moved): the header again. */
bool qcow2_rewrite_header_exts(BlockDriverState *bs, GError **errp)
{
    return qcow2_write_header(bs, errp);
}

static bool qcow2_change_backing_file(BlockDriverState *bs, const char *file,
                                      const char *fmt, GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok;

    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    ok = writable(bs, errp) && qcow2_flush_caches(bs, errp) &&
         change_backing_locked(bs, file, fmt, errp);
    g_mutex_unlock(&s->lock);
    return ok;
}

/* ---- create ---------------------------------------------------------- */

typedef struct Qcow2CreateOpts {
    uint64_t cluster_size;
    uint32_t version;
    uint32_t refcount_order;
    uint8_t compression_type;
    const char *backing_file, *backing_fmt;
} Qcow2CreateOpts;

static bool parse_create_opts(const char *filename, GHashTable *opts,
                              Qcow2CreateOpts *o, GError **errp)
{
    GHashTableIter it;
    gpointer k, v;

    *o = (Qcow2CreateOpts){ .cluster_size = 64 * KiB, .version = 3,
                            .refcount_order = 4 };
    if (!opts) {
        return true;
    }
    g_hash_table_iter_init(&it, opts);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *key = k, *val = v;
        uint64_t n;

        if (!strcmp(key, "cluster_size")) {
            if (!parse_size(val, 1, &n, errp)) {
                return false;
            }
            if (n < 512 || n > 2 * MiB || (n & (n - 1))) {
                error_setg(errp, "'%s': cluster size must be a power of two "
                           "between 512 and 2M", filename);
                return false;
            }
            o->cluster_size = n;
        } else if (!strcmp(key, "compat")) {
            if (!strcmp(val, "0.10") || !strcmp(val, "v2")) {
                o->version = 2;
            } else if (!strcmp(val, "1.1") || !strcmp(val, "v3")) {
                o->version = 3;
            } else {
                error_setg(errp, "'%s': invalid compat '%s' (0.10, 1.1)",
                           filename, val);
                return false;
            }
        } else if (!strcmp(key, "compression_type")) {
            if (!strcmp(val, "zlib")) {
                o->compression_type = QCOW2_COMPRESSION_ZLIB;
            } else if (!strcmp(val, "zstd")) {
#ifndef CONFIG_ZSTD
                error_setg(errp, "'%s': compression_type=zstd needs a kvmpc "
                           "built with libzstd", filename);
                return false;
#endif
                o->compression_type = QCOW2_COMPRESSION_ZSTD;
            } else {
                error_setg(errp, "'%s': invalid compression_type '%s' (zlib, "
                           "zstd)", filename, val);
                return false;
            }
        } else if (!strcmp(key, "refcount_bits")) {
            if (!parse_uint(val, &n, errp)) {
                return false;
            }
            if (n < 1 || n > 64 || (n & (n - 1))) {
                error_setg(errp, "'%s': refcount_bits must be a power of two "
                           "from 1 to 64", filename);
                return false;
            }
            o->refcount_order = __builtin_ctzll(n);
        } else if (!strcmp(key, "backing_file")) {
            o->backing_file = val;
        } else if (!strcmp(key, "backing_fmt")) {
            o->backing_fmt = val;
        } else {
            error_setg(errp, "'%s': qcow2 does not support option '%s'",
                       filename, key);
            return false;
        }
    }
    if (o->version == 2 && (o->compression_type || o->refcount_order != 4)) {
        error_setg(errp, "'%s': compat=0.10 supports neither "
                   "compression_type=zstd nor refcount_bits other than 16",
                   filename);
        return false;
    }
    if (o->backing_file && strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME) {
        error_setg(errp, "'%s': backing file name too long", filename);
        return false;
    }
    return true;
}

/* Build the first cluster: header, extensions, backing file name. */
static uint64_t build_header(uint8_t *h, const Qcow2CreateOpts *o,
                             uint32_t cluster_bits, uint64_t size,
                             uint32_t l1_size, uint64_t l1_off,
                             uint64_t rt_off, uint32_t rt_clusters)
{
    uint32_t hlen = o->version == 3 ? 112 : QCOW2_V2_HEADER_LEN;
    uint64_t p = hlen;

    stl_be(h, QCOW2_MAGIC);
    stl_be(h + 4, o->version);
    stl_be(h + 20, cluster_bits);
    stq_be(h + 24, size);
    stl_be(h + 36, l1_size);
    stq_be(h + 40, l1_off);
    stq_be(h + 48, rt_off);
    stl_be(h + 56, rt_clusters);
    if (o->version == 3) {
        stq_be(h + 72, o->compression_type ? QCOW2_INCOMPAT_COMPRESSION : 0);
        stl_be(h + 96, o->refcount_order);
        stl_be(h + 100, hlen);
        h[104] = o->compression_type;
    }
    if (o->backing_fmt) {
        uint32_t n = strlen(o->backing_fmt);

        stl_be(h + p, QCOW2_EXT_BACKING_FMT);
        stl_be(h + p + 4, n);
        memcpy(h + p + 8, o->backing_fmt, n);
        p += 8 + ALIGN_UP(n, 8);
    }
    p += 8;     /* end-of-extensions marker (zeroes) */
    if (o->backing_file) {
        stq_be(h + 8, p);
        stl_be(h + 16, strlen(o->backing_file));
        memcpy(h + p, o->backing_file, strlen(o->backing_file));
        p += strlen(o->backing_file);
    }
    return p;
}

static bool qcow2_create(const char *filename, uint64_t size,
                         GHashTable *opts, GError **errp)
{
    Qcow2CreateOpts o;
    uint32_t cb;
    uint64_t cs, l2_span, l1_size, l1c, rb_entries, nb_rt = 1, nb_rb = 1;
    uint64_t total, bytes;
    uint8_t *buf;
    BlockDriverState *file;
    Qcow2State rs = { 0 };
    bool ok;

    if (!parse_create_opts(filename, opts, &o, errp)) {
        return false;
    }
    cs = o.cluster_size;
    cb = __builtin_ctzll(cs);
    l2_span = cs * (cs / 8);
    if (size > INT64_MAX - l2_span) {
        error_setg(errp, "'%s': size %" PRIu64 " is too large", filename,
                   size);
        return false;
    }
    l1_size = (size + l2_span - 1) / l2_span;
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        error_setg(errp, "'%s': size %" PRIu64 " is too large for %" PRIu64
                   "-byte clusters", filename, size, cs);
        return false;
    }
    /* Header, refcount table, refcount blocks, L1 table, in that order
     * (QEMU's layout); count blocks and table to a fixed point. */
    l1c = (l1_size * 8 + cs - 1) / cs;
    rb_entries = cs * 8 >> o.refcount_order;
    for (;;) {
        uint64_t rb, rt;

        total = 1 + nb_rt + nb_rb + l1c;
        rb = (total + rb_entries - 1) / rb_entries;
        rt = (rb * 8 + cs - 1) / cs;
        if (rb == nb_rb && rt == nb_rt) {
            break;
        }
        nb_rb = rb;
        nb_rt = rt;
    }
    if (!bdrv_file_driver.create(filename, 0, NULL, errp)) {
        return false;
    }
    file = bdrv_open_file(filename, BDRV_O_RDWR, errp);
    if (!file) {
        return false;
    }
    bytes = total * cs;
    buf = g_malloc0(bytes);
    build_header(buf, &o, cb, size, l1_size, (1 + nb_rt + nb_rb) * cs, cs,
                 nb_rt);
    for (uint64_t i = 0; i < nb_rb; i++) {
        stq_be(buf + cs + 8 * i, (1 + nb_rt + i) * cs);
    }
    rs.refcount_bits = 1U << o.refcount_order;
    for (uint64_t c = 0; c < total; c++) {
        qcow2_refblock_set(&rs, buf + (1 + nb_rt) * cs, c, 1);
    }
    /* The L1 table is the last part: a short file would still be
     * complete, but write it all so the image is `total` clusters. */
    ok = bdrv_pwrite(file, 0, bytes, buf, errp) && bdrv_flush(file, errp);
    g_free(buf);
    bdrv_unref(file);
    return ok;
}

static int64_t qcow2_allocated_size(BlockDriverState *bs)
{
    return bdrv_allocated_size(bs->file);
}

static const BlockOptionDesc qcow2_options[] = {
    { "file", BOPT_CHILD_FILE, true },
    { "backing", BOPT_CHILD_BACKING },
    { NULL },
};

/* ---- measure (qemu-img measure) --------------------------------------- */

/*
 * Refcount blocks and table clusters that cover @clusters clusters plus
 * themselves: the fixed point of "blocks for everything counted so far,
 * table clusters for the blocks" (every cluster, metadata included, has a
 * refcount; qcow2 spec, "Host cluster management").
 */
static uint64_t refcount_clusters_for(uint64_t clusters, uint64_t cs,
                                      unsigned refcount_order)
{
    uint64_t per_block = cs * 8 >> refcount_order, per_table = cs / 8;
    uint64_t blocks = 0, table = 0, total = 0, last;

    do {
        last = total;
        blocks = DIV_ROUND_UP(clusters + table + blocks, per_block);
        table = DIV_ROUND_UP(blocks, per_table);
        total = clusters + blocks + table;
    } while (total != last);
    return blocks + table;
}

/*
 * An image of @aligned guest bytes with every cluster allocated: the
 * header cluster, L2 tables for every guest cluster (whole tables), the
 * L1 table (whole clusters of entries), the refcount structures for all
 * of it, and the data -- the arithmetic qemu-img measure does, so the
 * answers are the same.
 */
static uint64_t qcow2_fully_allocated(uint64_t aligned, uint64_t cs,
                                      unsigned refcount_order)
{
    uint64_t l2_entries = ALIGN_UP(aligned / cs, cs / 8);
    uint64_t l1_entries = ALIGN_UP(l2_entries * 8 / cs, cs / 8);
    uint64_t meta = cs + l2_entries * 8 + l1_entries * 8;

    meta += refcount_clusters_for((meta + aligned) / cs, cs,
                                  refcount_order) * cs;
    return meta + aligned;
}

/*
 * What @in's persistent bitmaps take in a copy with @cs-byte clusters
 * (each bitmap's data clusters, its table's clusters, the directory), as
 * qemu-img counts them; stale bitmaps (autoclear bit cleared) are not
 * loaded and count nothing.
 */
static bool bitmaps_measure(BlockDriverState *in, uint64_t cs,
                            uint64_t *size, GError **errp)
{
    *size = qcow2_bitmaps_measure(in->opaque, in->size, cs);
    return true;
}

/* Guest bytes of @in a copy must hold: the clusters with data in the
 * chain (zeroes and holes need none). */
static bool data_to_copy(BlockDriverState *in, uint64_t cs,
                         uint64_t *required, GError **errp)
{
    uint64_t size = bdrv_getlength(in), pnum;

    *required = 0;
    for (uint64_t off = 0; off < size; off += pnum) {
        uint64_t map;
        BlockDriverState *file;
        int depth;
        int st = bdrv_block_status_above(in, off, size - off, &pnum, &map,
                                         &file, &depth, errp);

        if (st < 0) {
            return false;
        }
        if (!(st & BDRV_BLOCK_ZERO) && (st & BDRV_BLOCK_DATA) &&
            (st & BDRV_BLOCK_ALLOCATED)) {
            /* whole clusters: on to the end of the last one touched */
            pnum = ALIGN_UP(off + pnum, cs) - off;
            *required += off % cs + pnum;
        }
    }
    return true;
}

static bool qcow2_measure(GHashTable *opts, uint64_t size,
                          BlockDriverState *in_bs, BlockMeasureInfo *out,
                          GError **errp)
{
    Qcow2CreateOpts o;
    uint64_t cs, aligned, required = 0;

    if (!parse_create_opts("qcow2", opts, &o, errp)) {
        return false;
    }
    cs = o.cluster_size;
    aligned = ALIGN_UP(in_bs ? bdrv_getlength(in_bs) : size, cs);
    if (in_bs && o.backing_file) {
        /* what the new backing file shares with @in_bs is unknown */
        required = aligned;
    } else if (in_bs && !data_to_copy(in_bs, cs, &required, errp)) {
        return false;
    }
    out->fully_allocated = qcow2_fully_allocated(aligned, cs,
                                                 o.refcount_order);
    out->required = out->fully_allocated - aligned + required;
    out->has_bitmaps = o.version >= 3 && in_bs &&
                       in_bs->drv == &bdrv_qcow2_driver &&
                       ((Qcow2State *)in_bs->opaque)->version >= 3;
    if (out->has_bitmaps &&
        !bitmaps_measure(in_bs, cs, &out->bitmaps, errp)) {
        return false;
    }
    return true;
}

const BlockDriver bdrv_qcow2_driver = {
    .options = qcow2_options,
    .format_name = "qcow2",
    .instance_size = sizeof(Qcow2State),
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .create = qcow2_create,
    .measure = qcow2_measure,
    .amend_options = qcow2_amend_options,
    .create_only_options = qcow2_create_only_options,
    .amend = qcow2_amend,
    .pread = qcow2_pread,
    .pwrite = qcow2_pwrite,
    .pwrite_zeroes = qcow2_pwrite_zeroes,
    .pdiscard = qcow2_pdiscard,
    .pwrite_compressed = qcow2_pwrite_compressed,
    .flush = qcow2_flush,
    .block_status = qcow2_block_status,
    .allocated_size = qcow2_allocated_size,
    .get_info = qcow2_get_info,
    .check = qcow2_check,
    .truncate = qcow2_truncate,
    .make_empty = qcow2_make_empty,
    .change_backing_file = qcow2_change_backing_file,
    .snapshot_create = qcow2_snapshot_create,
    .save_vmstate = qcow2_save_vmstate,
    .load_vmstate = qcow2_load_vmstate,
    .snapshot_delete = qcow2_snapshot_delete,
    .snapshot_goto = qcow2_snapshot_goto,
    .reopen = qcow2_reopen,
    .supports_persistent_bitmaps = qcow2_supports_persistent_bitmaps,
    .can_store_bitmap = qcow2_can_store_bitmap,
    .remove_bitmap = qcow2_remove_bitmap,
    .set_bitmaps_inactive = qcow2_set_bitmaps_inactive,
};
