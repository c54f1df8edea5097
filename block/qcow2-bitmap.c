/*
 * qcow2 persistent dirty bitmaps.
 *
 * Format: QEMU's docs/interop/qcow2.txt, "Bitmaps extension" (header
 * extension 0x23852875: nb_bitmaps, reserved, bitmap_directory_size,
 * bitmap_directory_offset), autoclear feature bit 0 ("the bitmaps
 * extension is consistent"), the bitmap directory (entries of 24 bytes,
 * extra data, the name, padded to 8), bitmap tables (one 64-bit entry per
 * data cluster: offset in bits 9-55, bit 0 "all ones" when the offset is
 * 0) and the flags in_use (bit 0), auto (bit 1), extra_data_compatible
 * (bit 2).  The bits of a bitmap are stored in order, bit i of the
 * bitmap in byte i / 8 at bit i % 8.
 *
 * Life of a bitmap, as QEMU 7.2 does it:
 * - open: with the autoclear bit set, every directory entry becomes a
 *   named, persistent BdrvDirtyBitmap (recording when "auto"); one that
 *   is "in_use" on disk was not stored cleanly and is loaded
 *   inconsistent, without its data.  Without the autoclear bit, another
 *   program changed the image: the bitmaps are stale and dropped (their
 *   clusters become leaks, which check -r leaks reclaims).
 * - read-write open: every bitmap is marked in_use on disk (the
 *   directory rewritten in place) before the first write.
 * - close (and the end of an outgoing migration): every persistent
 *   bitmap is written to new clusters with a new directory, in_use
 *   cleared and auto set when it records; then the header points at the
 *   new directory and the old clusters are freed.  An inconsistent
 *   bitmap keeps its old entry and clusters.
 * - block-dirty-bitmap-remove of a persistent bitmap rewrites the
 *   directory without it and frees its clusters at once.
 *
 * Every number read from the image is checked (alignment, bounds, QEMU's
 * limits) before use; a bad directory fails the open with one error, as
 * in QEMU, except for check (BDRV_O_CHECK), which reports it.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

#define BME_FLAG_IN_USE        (1U << 0)
#define BME_FLAG_AUTO          (1U << 1)
#define BME_FLAG_EXTRA_COMPAT  (1U << 2)
#define BME_RESERVED_FLAGS     (~7U)
#define BME_TYPE_DIRTY         1
#define BME_MIN_GRAN_BITS      9
#define BME_MAX_GRAN_BITS      31
#define BME_MAX_NAME           1023
#define BME_MAX_TABLE_SIZE     0x8000000ULL        /* QEMU's limits */
#define BME_MAX_PHYS_SIZE      0x20000000ULL
#define BME_ENTRY_FIXED        24
#define BME_TE_OFFSET_MASK     0x00fffffffffffe00ULL
#define BME_TE_RESERVED_MASK   0xff000000000001feULL
#define BME_TE_ALL_ONES        1ULL
#define QCOW2_MAX_BITMAPS      65535
#define QCOW2_MAX_BITMAP_DIR   (1024ULL * QCOW2_MAX_BITMAPS)
#define AUTOCLEAR_BITMAPS      (1ULL << 0)

static bool bitmap_error(Qcow2State *s, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool bitmap_error(Qcow2State *s, GError **errp, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "'%s': invalid bitmaps extension: %s", s->name, msg);
    return false;
}

static uint64_t entry_size(uint32_t name_len, uint32_t extra)
{
    return ALIGN_UP(BME_ENTRY_FIXED + (uint64_t)extra + name_len, 8);
}

/* Bytes of bitmap data for a bitmap of 2^@gbits granularity on @s. */
static uint64_t data_bytes(uint64_t disk_size, uint32_t gbits)
{
    return DIV_ROUND_UP(DIV_ROUND_UP(disk_size, 1ULL << gbits), 8);
}

/* ---- the header extension ------------------------------------------ */

bool qcow2_parse_bitmaps_ext(Qcow2State *s, const uint8_t *data,
                             uint32_t len, GError **errp)
{
    if (len != 24) {
        return bitmap_error(s, errp, "length %u is not 24", len);
    }
    s->nb_bitmaps = ldl_be(data);
    s->bitmap_dir_size = ldq_be(data + 8);
    s->bitmap_dir_offset = ldq_be(data + 16);
    if (ldl_be(data + 4)) {
        return bitmap_error(s, errp, "reserved field is not zero");
    }
    if (!s->nb_bitmaps || s->nb_bitmaps > QCOW2_MAX_BITMAPS) {
        return bitmap_error(s, errp, "%u bitmaps (1 to %u allowed)",
                            s->nb_bitmaps, QCOW2_MAX_BITMAPS);
    }
    if (s->bitmap_dir_size > QCOW2_MAX_BITMAP_DIR ||
        s->bitmap_dir_size < (uint64_t)s->nb_bitmaps * BME_ENTRY_FIXED) {
        return bitmap_error(s, errp, "directory size %" PRIu64 " for %u "
                            "bitmaps", s->bitmap_dir_size, s->nb_bitmaps);
    }
    if (!s->bitmap_dir_offset ||
        offset_into_cluster(s, s->bitmap_dir_offset)) {
        return bitmap_error(s, errp, "directory offset %#" PRIx64 " is not "
                            "cluster-aligned", s->bitmap_dir_offset);
    }
    s->has_bitmaps_ext = true;
    return true;
}

uint64_t qcow2_put_bitmaps_ext(Qcow2State *s, uint8_t *h, uint64_t p)
{
    if (!s->nb_bitmaps) {
        return p;
    }
    stl_be(h + p, QCOW2_EXT_BITMAPS);
    stl_be(h + p + 4, 24);
    stl_be(h + p + 8, s->nb_bitmaps);
    stl_be(h + p + 12, 0);
    stq_be(h + p + 16, s->bitmap_dir_size);
    stq_be(h + p + 24, s->bitmap_dir_offset);
    return p + 32;
}

/* ---- the directory --------------------------------------------------- */

void qcow2_free_bitmap_dir(Qcow2State *s)
{
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        g_free(s->dir[i].name);
    }
    g_free(s->dir);
    s->dir = NULL;
    s->nb_dir = 0;
}

static bool check_dir_entry(BlockDriverState *bs, const Qcow2BitmapEntry *e,
                            GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t need, file_size = bdrv_getlength(bs->file);

    if (e->type != BME_TYPE_DIRTY) {
        return bitmap_error(s, errp, "bitmap '%s' has type %u", e->name,
                            e->type);
    }
    if (e->gbits < BME_MIN_GRAN_BITS || e->gbits > BME_MAX_GRAN_BITS) {
        return bitmap_error(s, errp, "bitmap '%s' has granularity bits %u "
                            "(9 to 31 allowed)", e->name, e->gbits);
    }
    if (e->flags & BME_RESERVED_FLAGS) {
        return bitmap_error(s, errp, "bitmap '%s' has reserved flags %#x",
                            e->name, e->flags & BME_RESERVED_FLAGS);
    }
    need = data_bytes(bs->size, e->gbits);
    if (need > BME_MAX_PHYS_SIZE) {
        return bitmap_error(s, errp, "bitmap '%s' is too large", e->name);
    }
    if (!e->table_size || e->table_size > BME_MAX_TABLE_SIZE ||
        (uint64_t)e->table_size * s->cluster_size > BME_MAX_PHYS_SIZE ||
        e->table_size < size_to_clusters(s, need)) {
        return bitmap_error(s, errp, "bitmap '%s' has a table of %u entries "
                            "for %" PRIu64 " bytes of bits", e->name,
                            e->table_size, need);
    }
    if (!e->table_offset || offset_into_cluster(s, e->table_offset) ||
        !range_within(e->table_offset, e->table_size * 8ULL, file_size)) {
        return bitmap_error(s, errp, "bitmap '%s' table offset %#" PRIx64
                            " is not aligned or lies past the end of the "
                            "file", e->name, e->table_offset);
    }
    /* the fixed structures only: walking every L2 table and refcount
     * block for each of up to 65535 bitmaps would let an image make the
     * open take hours (check finds the rest, as refcount errors) */
    if (qcow2_check_overlap(bs, QCOW2_OL_ACTIVE_L2 | QCOW2_OL_REFB |
                                QCOW2_OL_INACTIVE_L1,
                            e->table_offset, e->table_size * 8ULL)) {
        return bitmap_error(s, errp, "bitmap '%s' table overlaps other "
                            "metadata", e->name);
    }
    return true;
}

static bool parse_dir_entry(BlockDriverState *bs, const uint8_t *dir,
                            uint64_t *off, Qcow2BitmapEntry *e,
                            GError **errp)
{
    Qcow2State *s = bs->opaque;
    const uint8_t *p = dir + *off;
    uint32_t name_len, extra;

    if (s->bitmap_dir_size - *off < BME_ENTRY_FIXED) {
        return bitmap_error(s, errp, "directory truncated");
    }
    e->table_offset = ldq_be(p);
    e->table_size = ldl_be(p + 8);
    e->flags = ldl_be(p + 12);
    e->type = p[16];
    e->gbits = p[17];
    name_len = ldw_be(p + 18);
    extra = ldl_be(p + 20);
    if (!name_len || name_len > BME_MAX_NAME) {
        return bitmap_error(s, errp, "bitmap name of %u bytes", name_len);
    }
    if (extra && !(e->flags & BME_FLAG_EXTRA_COMPAT)) {
        return bitmap_error(s, errp, "bitmap with %u bytes of extra data "
                            "it may not be used without", extra);
    }
    if (entry_size(name_len, extra) > s->bitmap_dir_size - *off) {
        return bitmap_error(s, errp, "directory truncated");
    }
    e->name = g_strndup((const char *)p + BME_ENTRY_FIXED + extra, name_len);
    if (strlen(e->name) != name_len) {
        return bitmap_error(s, errp, "bitmap name contains a NUL byte");
    }
    *off += entry_size(name_len, extra);
    return check_dir_entry(bs, e, errp);
}

/* Read and check the directory the header names into s->dir. */
static bool read_bitmap_dir(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    g_autofree uint8_t *dir = NULL;
    uint64_t off = 0;

    if (!range_within(s->bitmap_dir_offset, s->bitmap_dir_size,
                      bdrv_getlength(bs->file))) {
        return bitmap_error(s, errp, "directory lies past the end of the "
                            "file");
    }
    if (qcow2_check_overlap(bs, QCOW2_OL_BITMAP_DIR, s->bitmap_dir_offset,
                            s->bitmap_dir_size)) {
        return bitmap_error(s, errp, "directory overlaps other metadata");
    }
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);

    dir = g_malloc(s->bitmap_dir_size);
    if (!bdrv_pread(bs->file, s->bitmap_dir_offset, s->bitmap_dir_size, dir,
                    errp)) {
        return false;
    }
    s->dir = g_new0(Qcow2BitmapEntry, s->nb_bitmaps);
    for (uint32_t i = 0; i < s->nb_bitmaps; i++) {
        s->nb_dir = i + 1;
        if (!parse_dir_entry(bs, dir, &off, &s->dir[i], errp)) {
            return false;
        }
        if (!g_hash_table_add(names, s->dir[i].name)) {
            return bitmap_error(s, errp, "two bitmaps named '%s'",
                                s->dir[i].name);
        }
    }
    return true;
}

static bool read_table(BlockDriverState *bs, const Qcow2BitmapEntry *e,
                       uint64_t **table, GError **errp)
{
    Qcow2State *s = bs->opaque;
    g_autofree uint8_t *raw = g_malloc(MAX(e->table_size, 1) * 8ULL);
    uint64_t file_size = bdrv_getlength(bs->file);

    *table = g_new0(uint64_t, MAX(e->table_size, 1));
    if (!bdrv_pread(bs->file, e->table_offset, e->table_size * 8ULL, raw,
                    errp)) {
        return false;
    }
    for (uint32_t i = 0; i < e->table_size; i++) {
        uint64_t t = ldq_be(raw + 8 * i), off = t & BME_TE_OFFSET_MASK;

        (*table)[i] = t;
        if ((t & BME_TE_RESERVED_MASK) ||
            (off && ((t & BME_TE_ALL_ONES) || offset_into_cluster(s, off) ||
                     !range_within(off, s->cluster_size, file_size)))) {
            return bitmap_error(s, errp, "bitmap '%s' table entry %u "
                                "(%#" PRIx64 ") is invalid", e->name, i, t);
        }
    }
    return true;
}

static bool load_bitmap_data(BlockDriverState *bs, const Qcow2BitmapEntry *e,
                             BdrvDirtyBitmap *bm, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t need = data_bytes(bs->size, e->gbits);
    g_autofree uint64_t *table = NULL;
    g_autofree uint8_t *buf = g_malloc(s->cluster_size);

    if (!read_table(bs, e, &table, errp)) {
        return false;
    }
    for (uint64_t i = 0; i < size_to_clusters(s, need); i++) {
        uint64_t off = table[i] & BME_TE_OFFSET_MASK;
        uint64_t pos = i * s->cluster_size;

        if (!off) {
            if (table[i] & BME_TE_ALL_ONES) {
                bdrv_dirty_bitmap_deserialize_ones(bm, pos, s->cluster_size);
            }
            continue;
        }
        if (!bdrv_pread(bs->file, off, s->cluster_size, buf, errp)) {
            return false;
        }
        bdrv_dirty_bitmap_deserialize(bm, pos, s->cluster_size, buf);
    }
    return true;
}

/* Write @n entries at @offset (the caller made room, @bytes long). */
static bool write_dir_at(BlockDriverState *bs, const Qcow2BitmapEntry *dirv,
                         uint32_t n, uint64_t offset, uint64_t bytes,
                         GError **errp)
{
    g_autofree uint8_t *dir = g_malloc0(MAX(bytes, 1));
    uint64_t p = 0;

    for (uint32_t i = 0; i < n; i++) {
        const Qcow2BitmapEntry *e = &dirv[i];
        size_t n = strlen(e->name);

        stq_be(dir + p, e->table_offset);
        stl_be(dir + p + 8, e->table_size);
        stl_be(dir + p + 12, e->flags & ~BME_FLAG_EXTRA_COMPAT);
        dir[p + 16] = e->type;
        dir[p + 17] = e->gbits;
        stw_be(dir + p + 18, n);
        stl_be(dir + p + 20, 0);            /* extra data is not kept */
        memcpy(dir + p + BME_ENTRY_FIXED, e->name, n);
        p += entry_size(n, 0);
    }
    return qcow2_write_meta(bs, QCOW2_OL_BITMAP_DIR, offset, dir, bytes,
                            errp);
}

static uint64_t dir_bytes(const Qcow2BitmapEntry *dir, uint32_t n)
{
    uint64_t bytes = 0;

    for (uint32_t i = 0; i < n; i++) {
        bytes += entry_size(strlen(dir[i].name), 0);
    }
    return bytes;
}

static void free_entries(Qcow2BitmapEntry *dir, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        g_free(dir[i].name);
    }
    g_free(dir);
}

/* ---- open ------------------------------------------------------------ */

/* Set in_use on disk for every loaded bitmap, rewriting the directory
 * in place (it keeps its size: only flags change; extra data, which we
 * drop, would change it, so then it moves). */
static bool mark_in_use(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    g_autofree Qcow2BitmapEntry *dir = NULL;

    if (dir_bytes(s->dir, s->nb_dir) != s->bitmap_dir_size) {
        return qcow2_store_bitmaps_locked(bs, true, errp);
    }
    dir = g_memdup2(s->dir, s->nb_dir * sizeof(*dir));
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        dir[i].flags |= BME_FLAG_IN_USE;
    }
    if (!write_dir_at(bs, dir, s->nb_dir, s->bitmap_dir_offset,
                      s->bitmap_dir_size, errp) ||
        !bdrv_flush(bs->file, errp)) {
        return false;
    }
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        s->dir[i].flags |= BME_FLAG_IN_USE;
    }
    return true;
}

bool qcow2_load_bitmaps(BlockDriverState *bs, int flags, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (!s->has_bitmaps_ext) {
        s->bitmaps_loaded = !(flags & BDRV_O_CHECK);
        return true;
    }
    if (flags & BDRV_O_CHECK) {
        /* check counts the clusters of a valid directory; a bad one is
         * reported, not loaded */
        if (!read_bitmap_dir(bs, NULL)) {
            qcow2_free_bitmap_dir(s);
        }
        return true;
    }
    if (!read_bitmap_dir(bs, errp)) {
        return false;
    }
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        Qcow2BitmapEntry *e = &s->dir[i];
        BdrvDirtyBitmap *bm = bdrv_create_named_dirty_bitmap(
                                  bs, 1U << e->gbits, e->name, errp);

        if (!bm) {
            return false;
        }
        bdrv_dirty_bitmap_set_persistent(bm, true);
        bdrv_dirty_bitmap_set_enabled(bm, e->flags & BME_FLAG_AUTO);
        if (e->flags & BME_FLAG_IN_USE) {
            bdrv_dirty_bitmap_set_inconsistent(bm);
        } else if (!load_bitmap_data(bs, e, bm, errp)) {
            return false;
        }
        bdrv_dirty_bitmap_set_readonly(bm, !(flags & BDRV_O_RDWR));
    }
    s->bitmaps_loaded = true;
    if (flags & BDRV_O_RDWR) {
        return mark_in_use(bs, errp);
    }
    return true;
}

/* ---- store ----------------------------------------------------------- */

/* Each of @e's clusters (table, data) to @fn; the table is read again. */
static bool for_each_bitmap_cluster(BlockDriverState *bs,
                                    const Qcow2BitmapEntry *e,
                                    void (*fn)(void *, uint64_t, uint64_t),
                                    void *opaque, GError **errp)
{
    g_autofree uint64_t *table = NULL;

    if (!read_table(bs, e, &table, errp)) {
        return false;
    }
    fn(opaque, e->table_offset, e->table_size * 8ULL);
    for (uint32_t i = 0; i < e->table_size; i++) {
        if (table[i] & BME_TE_OFFSET_MASK) {
            fn(opaque, table[i] & BME_TE_OFFSET_MASK,
               ((Qcow2State *)bs->opaque)->cluster_size);
        }
    }
    return true;
}

typedef struct FreeList {
    BlockDriverState *bs;
    GArray *ranges;                 /* Qcow2Range: offset, length */
} FreeList;

static void add_free(void *opaque, uint64_t off, uint64_t len)
{
    FreeList *f = opaque;
    Qcow2Range r = { off, len };

    g_array_append_val(f->ranges, r);
}

static bool free_ranges(BlockDriverState *bs, GArray *ranges, GError **errp)
{
    Qcow2State *s = bs->opaque;

    for (guint i = 0; i < ranges->len; i++) {
        Qcow2Range *r = &g_array_index(ranges, Qcow2Range, i);

        if (!qcow2_update_refcount(bs, r->start,
                                   ALIGN_UP(r->end, s->cluster_size), -1,
                                   errp)) {
            return false;
        }
    }
    return true;
}

/* Allocate @bytes of whole clusters in one run. */
static bool alloc_run(BlockDriverState *bs, uint64_t bytes, uint64_t *off,
                      GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t n = size_to_clusters(s, MAX(bytes, 1));

    if (n > s->rb_entries / 2) {
        error_setg(errp, "'%s': a bitmap structure of %" PRIu64 " bytes is "
                   "too large for this cluster size", s->name, bytes);
        return false;
    }
    return qcow2_alloc_clusters(bs, n, off, errp);
}

/* Write @bm's bits to new clusters: a table and the non-zero data
 * clusters.  Fills @e's table fields. */
static bool write_bitmap(BlockDriverState *bs, BdrvDirtyBitmap *bm,
                         Qcow2BitmapEntry *e, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t need = data_bytes(bs->size, e->gbits);
    uint64_t n = size_to_clusters(s, need);
    g_autofree uint8_t *table = g_malloc0(MAX(n, 1) * 8);
    g_autofree uint8_t *buf = g_malloc(s->cluster_size);

    for (uint64_t i = 0; i < n; i++) {
        uint64_t off;

        bdrv_dirty_bitmap_serialize(bm, i * s->cluster_size, s->cluster_size,
                                    buf);
        if (i * s->cluster_size + s->cluster_size > need) {
            /* past the last bit: zero, whatever the padding held */
            memset(buf + need - i * s->cluster_size, 0,
                   (i + 1) * s->cluster_size - need);
        }
        if (buffer_is_zero(buf, s->cluster_size)) {
            continue;
        }
        if (!qcow2_alloc_clusters(bs, 1, &off, errp) ||
            !qcow2_write_meta(bs, 0, off, buf, s->cluster_size, errp)) {
            return false;
        }
        stq_be(table + 8 * i, off);
    }
    e->table_size = n;
    if (!alloc_run(bs, n * 8, &e->table_offset, errp)) {
        return false;
    }
    return qcow2_write_meta(bs, 0, e->table_offset, table, n * 8, errp);
}

static bool write_header_bitmaps(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t buf[8];

    if (s->nb_bitmaps) {
        s->autoclear |= AUTOCLEAR_BITMAPS;
    } else {
        s->autoclear &= ~AUTOCLEAR_BITMAPS;
    }
    stq_be(buf, s->autoclear);
    return qcow2_rewrite_header_exts(bs, errp) &&
           qcow2_write_meta(bs, QCOW2_OL_HEADER, 88, buf, 8, errp) &&
           bdrv_flush(bs->file, errp);
}

/*
 * Write @dir (@n entries, taken over) to new clusters and point the
 * header at it (no extension when empty); then it is s->dir, and @old
 * (the clusters nothing refers to any more) is freed.  On a failure
 * before the header changed, s->dir and the image are as they were
 * (at worst new clusters leak).
 */
static bool commit_dir(BlockDriverState *bs, Qcow2BitmapEntry *dir,
                       uint32_t n, GArray *old, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t bytes = dir_bytes(dir, n), off = 0;
    Qcow2State saved = *s;

    if (s->has_bitmaps_ext) {
        Qcow2Range r = { s->bitmap_dir_offset, s->bitmap_dir_size };

        g_array_append_val(old, r);
    }
    if (bytes > QCOW2_MAX_BITMAP_DIR) {
        error_setg(errp, "'%s': the bitmap directory would be too large",
                   s->name);
        goto fail;
    }
    if (n && (!alloc_run(bs, bytes, &off, errp) ||
              !write_dir_at(bs, dir, n, off, bytes, errp))) {
        goto fail;
    }
    if (!qcow2_flush_caches(bs, errp) || !bdrv_flush(bs->file, errp)) {
        goto fail;
    }
    s->nb_bitmaps = n;
    s->bitmap_dir_offset = off;
    s->bitmap_dir_size = n ? bytes : 0;
    s->has_bitmaps_ext = n > 0;
    if (!write_header_bitmaps(bs, errp)) {
        s->nb_bitmaps = saved.nb_bitmaps;
        s->bitmap_dir_offset = saved.bitmap_dir_offset;
        s->bitmap_dir_size = saved.bitmap_dir_size;
        s->has_bitmaps_ext = saved.has_bitmaps_ext;
        s->autoclear = saved.autoclear;
        goto fail;
    }
    qcow2_free_bitmap_dir(s);
    s->dir = dir;
    s->nb_dir = n;
    return free_ranges(bs, old, errp) && qcow2_flush_caches(bs, errp);
fail:
    free_entries(dir, n);
    return false;
}

static Qcow2BitmapEntry *dir_find(Qcow2State *s, const char *name)
{
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        if (!strcmp(s->dir[i].name, name)) {
            return &s->dir[i];
        }
    }
    return NULL;
}

bool qcow2_has_bitmaps(BlockDriverState *bs)
{
    Qcow2State *s = bs->opaque;

    return s->nb_dir || bdrv_dirty_bitmap_next(bs, NULL);
}

static bool has_persistent(BlockDriverState *bs)
{
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (bdrv_dirty_bitmap_persistent(bm)) {
            return true;
        }
    }
    return false;
}

/* QEMU's directory order: the bitmaps already in it where they are, then
 * the new ones, newest first. */
static GSList *store_order(BlockDriverState *bs)
{
    Qcow2State *s = bs->opaque;
    GSList *order = NULL;

    for (uint32_t i = 0; i < s->nb_dir; i++) {
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, s->dir[i].name);

        if (bm && bdrv_dirty_bitmap_persistent(bm)) {
            order = g_slist_prepend(order, bm);
        }
    }
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (bdrv_dirty_bitmap_persistent(bm) &&
            !g_slist_find(order, bm)) {
            order = g_slist_prepend(order, bm);
        }
    }
    return g_slist_reverse(order);
}

/*
 * Write every persistent bitmap of @bs and a new directory; @in_use: as
 * still in use (after a read-write open) or clean (close, inactivate).
 * Inconsistent bitmaps keep their old entry and clusters.
 */
bool qcow2_store_bitmaps_locked(BlockDriverState *bs, bool in_use,
                                GError **errp)
{
    Qcow2State *s = bs->opaque;
    g_autoptr(GArray) old = g_array_new(false, false, sizeof(Qcow2Range));
    FreeList fl = { bs, old };
    GArray *entries;
    GSList *order = NULL;
    uint32_t n;
    bool ok = false;

    if (!s->bitmaps_loaded) {
        return true;        /* check, or a failed open: leave them be */
    }
    if (!s->has_bitmaps_ext && !s->nb_dir && !has_persistent(bs)) {
        return true;        /* nothing stored, nothing to store */
    }
    entries = g_array_new(false, true, sizeof(Qcow2BitmapEntry));
    /* what the old directory has and the new one will not reuse */
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, s->dir[i].name);

        if (!bm || !bdrv_dirty_bitmap_persistent(bm) ||
            !bdrv_dirty_bitmap_inconsistent(bm)) {
            if (!for_each_bitmap_cluster(bs, &s->dir[i], add_free, &fl,
                                         errp)) {
                goto out;
            }
        }
    }
    order = store_order(bs);
    for (GSList *l = order; l; l = l->next) {
        BdrvDirtyBitmap *bm = l->data;
        const char *name = bdrv_dirty_bitmap_name(bm);
        Qcow2BitmapEntry e = { 0 }, *was = dir_find(s, name);

        if (bdrv_dirty_bitmap_inconsistent(bm) && was) {
            e = *was;
            e.name = g_strdup(was->name);
            g_array_append_val(entries, e);
            continue;
        }
        if (!bs->size) {
            /* a table of no entries, which QEMU refuses (and cannot
             * write either) */
            error_report("warning: bitmap '%s' of an empty disk is not "
                         "stored", name);
            continue;
        }
        e.name = g_strdup(name);
        e.type = BME_TYPE_DIRTY;
        e.gbits = __builtin_ctz(bdrv_dirty_bitmap_granularity(bm));
        e.flags = (bdrv_dirty_bitmap_enabled(bm) ? BME_FLAG_AUTO : 0) |
                  (in_use ? BME_FLAG_IN_USE : 0);
        g_array_append_val(entries, e);
        if (!write_bitmap(bs, bm,
                          &g_array_index(entries, Qcow2BitmapEntry,
                                         entries->len - 1), errp)) {
            goto out;
        }
    }
    n = entries->len;
    ok = commit_dir(bs, (Qcow2BitmapEntry *)g_array_free(entries, false), n,
                    old, errp);
    entries = NULL;
out:
    g_slist_free(order);
    if (entries) {
        for (guint i = 0; i < entries->len; i++) {
            g_free(g_array_index(entries, Qcow2BitmapEntry, i).name);
        }
        g_array_free(entries, true);
    }
    return ok;
}

/* ---- driver hooks ----------------------------------------------------- */

bool qcow2_supports_persistent_bitmaps(BlockDriverState *bs)
{
    return ((Qcow2State *)bs->opaque)->version >= 3;
}

bool qcow2_can_store_bitmap(BlockDriverState *bs, const char *name,
                            uint32_t granularity, GError **errp)
{
    Qcow2State *s = bs->opaque;
    unsigned gbits = __builtin_ctz(granularity);
    uint32_t persistent = 0;
    uint64_t bytes = entry_size(strlen(name), 0);

    if (s->version < 3) {
        error_setg(errp, "Cannot store dirty bitmaps in qcow2 v2 files");
        return false;
    }
    if (gbits > BME_MAX_GRAN_BITS) {
        error_setg(errp, "Granularity exceeds maximum (%llu bytes)",
                   1ULL << BME_MAX_GRAN_BITS);
        return false;
    }
    if (gbits < BME_MIN_GRAN_BITS) {
        error_setg(errp, "Granularity is under minimum (%llu bytes)",
                   1ULL << BME_MIN_GRAN_BITS);
        return false;
    }
    if (data_bytes(bs->size, gbits) > BME_MAX_PHYS_SIZE ||
        size_to_clusters(s, data_bytes(bs->size, gbits)) >
        BME_MAX_TABLE_SIZE) {
        error_setg(errp, "Too much space will be occupied by the bitmap. "
                   "Use larger granularity");
        return false;
    }
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (bdrv_dirty_bitmap_persistent(bm)) {
            persistent++;
            bytes += entry_size(strlen(bdrv_dirty_bitmap_name(bm)), 0);
        }
    }
    if (persistent >= QCOW2_MAX_BITMAPS) {
        error_setg(errp, "Maximum number of persistent bitmaps is already "
                   "reached");
        return false;
    }
    if (bytes > QCOW2_MAX_BITMAP_DIR) {
        error_setg(errp, "Not enough space in the bitmap directory");
        return false;
    }
    return true;
}

bool qcow2_remove_bitmap(BlockDriverState *bs, const char *name,
                         GError **errp)
{
    Qcow2State *s = bs->opaque;
    g_autoptr(GArray) old = g_array_new(false, false, sizeof(Qcow2Range));
    FreeList fl = { bs, old };
    Qcow2BitmapEntry *e;
    bool ok = false;

    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    e = dir_find(s, name);
    if (!e) {
        ok = true;                  /* never stored */
        goto out;
    }
    if (!for_each_bitmap_cluster(bs, e, add_free, &fl, errp)) {
        goto out;
    }
    /* the directory without it */
    Qcow2BitmapEntry *dir = g_new0(Qcow2BitmapEntry, MAX(s->nb_dir, 1));
    uint32_t n = 0;

    for (uint32_t i = 0; i < s->nb_dir; i++) {
        if (&s->dir[i] != e) {
            dir[n] = s->dir[i];
            dir[n++].name = g_strdup(s->dir[i].name);
        }
    }
    ok = commit_dir(bs, dir, n, old, errp);
out:
    g_mutex_unlock(&s->lock);
    return ok;
}

/* The bitmaps extension as the header says now (the source of an
 * incoming migration stored its bitmaps after we opened the image). */
static bool reread_bitmaps_ext(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    g_autofree uint8_t *hdr = g_malloc(s->cluster_size);
    uint64_t off = s->header_length;

    s->has_bitmaps_ext = false;
    s->nb_bitmaps = 0;
    if (s->version < 3) {
        return true;
    }
    /* the file grew while the source wrote it */
    if (!bdrv_refresh_size(bs->file, errp) ||
        !bdrv_pread(bs->file, 0, s->cluster_size, hdr, errp)) {
        return false;
    }
    s->autoclear = ldq_be(hdr + 88);
    while (off + 8 <= s->cluster_size) {
        uint32_t type = ldl_be(hdr + off), len = ldl_be(hdr + off + 4);

        if (type == QCOW2_EXT_END || len > s->cluster_size - off - 8) {
            break;
        }
        if (type == QCOW2_EXT_BITMAPS && (s->autoclear & AUTOCLEAR_BITMAPS)) {
            return qcow2_parse_bitmaps_ext(s, hdr + off + 8, len, errp);
        }
        off += 8 + ALIGN_UP(len, 8);
    }
    return true;
}

bool qcow2_set_bitmaps_inactive(BlockDriverState *bs, bool inactive,
                                GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok;

    if (s->bitmaps_deferred && !inactive) {
        s->bitmaps_deferred = false;
        return reread_bitmaps_ext(bs, errp) &&
               qcow2_load_bitmaps(bs, bs->flags, errp);
    }
    if (s->bitmaps_deferred) {
        return true;
    }

    if (s->read_only || !qcow2_has_bitmaps(bs)) {
        return true;
    }
    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    ok = qcow2_store_bitmaps_locked(bs, !inactive, errp);
    g_mutex_unlock(&s->lock);
    return ok;
}

/* ---- check and measure ------------------------------------------------ */

bool qcow2_bitmap_clusters(BlockDriverState *bs,
                           void (*fn)(void *, uint64_t, uint64_t),
                           void *opaque, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (!s->has_bitmaps_ext || !s->dir) {
        return true;
    }
    fn(opaque, s->bitmap_dir_offset, s->bitmap_dir_size);
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        if (!for_each_bitmap_cluster(bs, &s->dir[i], fn, opaque, errp)) {
            return false;
        }
    }
    return true;
}

void qcow2_bitmaps_info(Qcow2State *s, GPtrArray *out)
{
    for (uint32_t i = 0; i < s->nb_dir; i++) {
        BlockBitmapInfo *b = g_new0(BlockBitmapInfo, 1);

        b->name = g_strdup(s->dir[i].name);
        b->granularity = 1U << s->dir[i].gbits;
        b->in_use = s->dir[i].flags & BME_FLAG_IN_USE;
        b->auto_ = s->dir[i].flags & BME_FLAG_AUTO;
        g_ptr_array_add(out, b);
    }
}

uint64_t qcow2_bitmaps_measure(Qcow2State *s, uint64_t disk_size,
                               uint64_t cs)
{
    uint64_t total = 0, dir = 0;

    for (uint32_t i = 0; i < s->nb_dir; i++) {
        uint64_t clusters = DIV_ROUND_UP(data_bytes(disk_size,
                                                    s->dir[i].gbits), cs);

        total += clusters * cs + ALIGN_UP(clusters * 8, cs);
        dir += entry_size(strlen(s->dir[i].name), 0);
    }
    return total + ALIGN_UP(dir, cs);
}
