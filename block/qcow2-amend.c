/*
 * qcow2 option amendment (qemu-img amend, BlockDriver.amend): version
 * upgrade and downgrade, refcount width, lazy refcounts, virtual size.
 *
 * Format: QEMU's docs/interop/qcow2.txt ("qcow2 image format"): the
 * version 3 header fields (incompatible, compatible and autoclear
 * features, refcount_order, header_length, compression type), the zero
 * flag of L2 entries (bit 0, version 3 only), refcount blocks of
 * 2^refcount_order bits.  Behaviour and messages follow QEMU 7.2's
 * qcow2 amend (checked against Debian's qemu-img 7.2), in its order:
 * upgrade first, then the refcount width, the backing file (which 7.2
 * no longer changes), lazy refcounts, the size, and a downgrade last.
 *
 * Every step keeps the image valid after a crash: new structures are
 * written and flushed before the header points at them, and what they
 * replace is freed after.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

/* In QEMU's order (its QemuOptsList for qcow2 amend). */
const BlockAmendOptDesc qcow2_amend_options[] = {
    { "size", BLOCK_AMEND_SIZE, "Virtual disk size" },
    { "compat", BLOCK_AMEND_STRING,
      "Compatibility level (v2 [0.10] or v3 [1.1])" },
    { "backing_file", BLOCK_AMEND_STRING, "File name of a base image" },
    { "backing_fmt", BLOCK_AMEND_STRING, "Image format of the base image" },
    { "data_file", BLOCK_AMEND_STRING, "File name of an external data file" },
    { "data_file_raw", BLOCK_AMEND_BOOL,
      "The external data file must stay valid as a raw image" },
    { "lazy_refcounts", BLOCK_AMEND_BOOL, "Postpone refcount updates" },
    { "refcount_bits", BLOCK_AMEND_NUMBER,
      "Width of a reference count entry in bits" },
    { "encrypt.state", BLOCK_AMEND_STRING,
      "Select new state of affected keyslots (active/inactive)" },
    { "encrypt.keyslot", BLOCK_AMEND_NUMBER,
      "Select a single keyslot to modify explicitly" },
    { "encrypt.old-secret", BLOCK_AMEND_STRING,
      "Select all keyslots that match this password" },
    { "encrypt.new-secret", BLOCK_AMEND_STRING,
      "New secret to set in the matching keyslots. Empty string to erase" },
    { "encrypt.iter-time", BLOCK_AMEND_NUMBER,
      "Time to spend in PBKDF in milliseconds" },
    { NULL },
};

/* What `create` takes and amend cannot change. */
const char *const qcow2_create_only_options[] = {
    "cluster_size", "preallocation", "compression_type", "extended_l2",
    "encryption", "encrypt.format", "encrypt.key-secret",
    "encrypt.cipher-alg", "encrypt.cipher-mode", "encrypt.ivgen-alg",
    "encrypt.ivgen-hash-alg", "encrypt.hash-alg", NULL,
};

typedef struct AmendRequest {
    uint64_t size;              /* 0: unchanged (as QEMU) */
    uint32_t version;
    uint32_t refcount_bits;
    bool lazy_refcounts;
    bool backing_given;
    const char *backing_file, *backing_fmt;
    BlockAmendProgress *progress;
    void *opaque;
} AmendRequest;

static void report(const AmendRequest *r, uint64_t done, uint64_t total)
{
    if (r->progress) {
        r->progress(r->opaque, done, total);
    }
}

/* The options as QEMU's qcow2_amend_options() reads them, its errors. */
static bool parse_request(Qcow2State *s, GHashTable *opts, AmendRequest *r,
                          GError **errp)
{
    const char *v;

    r->version = s->version;
    r->refcount_bits = s->refcount_bits;
    r->lazy_refcounts = s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
    for (const BlockAmendOptDesc *d = qcow2_amend_options; d->name; d++) {
        v = g_hash_table_lookup(opts, d->name);
        if (!v) {
            continue;
        }
        if (!strcmp(d->name, "size")) {
            r->size = g_ascii_strtoull(v, NULL, 10);
        } else if (!strcmp(d->name, "compat")) {
            if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
                r->version = 2;
            } else if (!strcmp(v, "1.1") || !strcmp(v, "v3")) {
                r->version = 3;
            } else {
                error_setg(errp, "Unknown compatibility level %s", v);
                return false;
            }
        } else if (!strcmp(d->name, "backing_file")) {
            r->backing_file = v;
            r->backing_given = true;
        } else if (!strcmp(d->name, "backing_fmt")) {
            r->backing_fmt = v;
            r->backing_given = true;
        } else if (!strcmp(d->name, "data_file")) {
            /* images with a data file do not open here */
            error_setg(errp, "data-file can only be set for images that use "
                       "an external data file");
            return false;
        } else if (!strcmp(d->name, "data_file_raw")) {
            if (!strcmp(v, "on")) {
                error_setg(errp, "data-file-raw cannot be set on existing "
                           "images");
                return false;
            }
        } else if (!strcmp(d->name, "lazy_refcounts")) {
            r->lazy_refcounts = !strcmp(v, "on");
        } else if (!strcmp(d->name, "refcount_bits")) {
            uint64_t n = g_ascii_strtoull(v, NULL, 10);

            if (!n || n > 64 || (n & (n - 1))) {
                error_setg(errp, "Refcount width must be a power of two and "
                           "may not exceed 64 bits");
                return false;
            }
            r->refcount_bits = n;
        } else {
            /* encrypt.*: encrypted images do not open here */
            error_setg(errp, "Can't amend encryption options - encryption "
                       "not present");
            return false;
        }
    }
    return true;
}

/* ---- upgrade to version 3 -------------------------------------------- */

static bool upgrade(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (!qcow2_snapshots_upgrade(bs, errp)) {
        return false;
    }
    s->version = 3;
    s->header_length = 112;
    s->incompat = s->compat = s->autoclear = 0;
    s->refcount_order = 4;
    s->compression_type = QCOW2_COMPRESSION_ZLIB;
    if (!qcow2_write_header(bs, errp)) {
        s->version = 2;
        s->header_length = QCOW2_V2_HEADER_LEN;
        return false;
    }
    return true;
}

/* ---- refcount width --------------------------------------------------- */

/* Refcount blocks and table clusters for @n clusters plus themselves. */
static void refcount_layout(uint64_t n, uint64_t cs, uint64_t rb_entries,
                            uint64_t *nrb, uint64_t *nrt)
{
    *nrb = *nrt = 1;
    for (;;) {
        uint64_t total = n + *nrb + *nrt;
        uint64_t rb = DIV_ROUND_UP(total, rb_entries);
        uint64_t rt = DIV_ROUND_UP(rb * 8, cs);

        if (rb == *nrb && rt == *nrt) {
            return;
        }
        *nrb = rb;
        *nrt = rt;
    }
}

/* Do all refcounts fit @new_bits?  (Before anything is written.) */
static bool refcounts_fit(BlockDriverState *bs, uint64_t n, uint32_t new_bits,
                          const AmendRequest *r, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t max = new_bits == 64 ? UINT64_MAX : (1ULL << new_bits) - 1;

    for (uint64_t ci = 0; ci < n; ci++) {
        uint64_t rc;

        if (!qcow2_get_refcount(bs, ci, &rc, errp)) {
            return false;
        }
        if (rc > max) {
            error_setg(errp, "Cannot decrease refcount entry width to %u "
                       "bits: Cluster at offset %#" PRIx64 " has a refcount "
                       "of %" PRIu64, new_bits, ci << s->cluster_bits, rc);
            return false;
        }
        if (ci % 4096 == 0) {
            report(r, ci, 2 * n);
        }
    }
    return true;
}

/* The clusters of the old refcount structures, which the new ones
 * replace (they count 0 in the new blocks). */
static GHashTable *old_refcount_clusters(Qcow2State *s)
{
    GHashTable *old = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                            g_free, NULL);

    for (uint64_t i = 0; i < s->rt_clusters; i++) {
        uint64_t ci = (s->rt_offset >> s->cluster_bits) + i;

        g_hash_table_add(old, g_memdup2(&ci, sizeof(ci)));
    }
    for (uint64_t i = 0; i < s->rt_size; i++) {
        uint64_t ci = (s->rt[i] & REFT_OFFSET_MASK) >> s->cluster_bits;

        if (s->rt[i]) {
            g_hash_table_add(old, g_memdup2(&ci, sizeof(ci)));
        }
    }
    return old;
}

/* Write new refcount block @i (clusters [i * entries, +entries) of the
 * @total the new layout covers; the first @n are the file's). */
static bool write_new_refblock(BlockDriverState *bs, uint64_t i,
                               uint64_t n, uint64_t total, uint32_t bits,
                               GHashTable *old, uint8_t *buf, GError **errp)
{
    Qcow2State *s = bs->opaque;
    Qcow2State layout = { .refcount_bits = bits };
    uint64_t entries = s->cluster_size * 8 / bits;
    uint64_t first = i * entries, end = MIN(first + entries, total);

    memset(buf, 0, s->cluster_size);
    for (uint64_t ci = first; ci < end; ci++) {
        uint64_t v = 1;

        if (ci < n) {
            if (g_hash_table_contains(old, &ci)) {
                continue;
            }
            if (!qcow2_get_refcount(bs, ci, &v, errp)) {
                return false;
            }
        }
        qcow2_refblock_set(&layout, buf, ci - first, v);
    }
    return qcow2_write_meta(bs, 0, (n + i) << s->cluster_bits, buf,
                            s->cluster_size, errp);
}

/* Point the state (and the header) at the new table; on failure the
 * state is the old one again. */
static bool switch_refcounts(BlockDriverState *bs, uint32_t order,
                             uint64_t rt_offset, uint64_t nrt,
                             uint64_t *rt, GError **errp)
{
    Qcow2State *s = bs->opaque;
    Qcow2State old = *s;

    s->refcount_order = order;
    s->refcount_bits = 1U << order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX
                      : (1ULL << s->refcount_bits) - 1;
    s->rb_entries = s->cluster_size * 8 / s->refcount_bits;
    s->rt_offset = rt_offset;
    s->rt_clusters = nrt;
    s->rt_size = (nrt << s->cluster_bits) / 8;
    s->rt = rt;
    if (!qcow2_write_header(bs, errp)) {
        s->refcount_order = old.refcount_order;
        s->refcount_bits = old.refcount_bits;
        s->refcount_max = old.refcount_max;
        s->rb_entries = old.rb_entries;
        s->rt_offset = old.rt_offset;
        s->rt_clusters = old.rt_clusters;
        s->rt_size = old.rt_size;
        s->rt = old.rt;
        g_free(rt);
        return false;
    }
    for (uint64_t i = 0; i < old.rt_size; i++) {
        if (old.rt[i]) {
            qcow2_cache_discard(s->rb_cache, old.rt[i] & REFT_OFFSET_MASK);
        }
    }
    g_free(old.rt);
    s->free_cluster_hint = 1;
    return true;
}

/*
 * A new refcount table and blocks of the new width, after the end of the
 * file, holding every cluster's refcount (the new structures count 1,
 * the old ones 0), then the header switches to them (QEMU's
 * qcow2_change_refcount_order does the same, in place where it can).
 * One block at a time: memory stays at a cluster plus the new table.
 */
static bool change_refcount_order(BlockDriverState *bs, uint32_t bits,
                                  const AmendRequest *r, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t n = DIV_ROUND_UP(bdrv_getlength(bs->file), cs);
    uint64_t nrb, nrt, *rt;
    GHashTable *old;
    uint8_t *buf;
    bool ok;

    refcount_layout(n, cs, cs * 8 / bits, &nrb, &nrt);
    if (nrt * cs > QCOW2_MAX_REFTABLE_BYTES) {
        error_setg(errp, "'%s': a refcount table of %" PRIu64 " clusters "
                   "is too large", s->name, nrt);
        return false;
    }
    if (!refcounts_fit(bs, n, bits, r, errp)) {
        return false;
    }
    old = old_refcount_clusters(s);
    buf = g_malloc(nrt * cs);
    rt = g_new0(uint64_t, nrt * cs / 8);
    ok = true;
    for (uint64_t i = 0; ok && i < nrb; i++) {
        ok = write_new_refblock(bs, i, n, n + nrb + nrt, bits, old, buf,
                                errp);
        rt[i] = (n + i) * cs;
        if (i % 64 == 0) {
            report(r, n + i * (n / nrb + 1), 2 * n);
        }
    }
    g_hash_table_unref(old);
    memset(buf, 0, nrt * cs);
    for (uint64_t i = 0; i < nrb; i++) {
        stq_be(buf + 8 * i, rt[i]);
    }
    ok = ok && qcow2_write_meta(bs, 0, (n + nrb) * cs, buf, nrt * cs, errp) &&
         bdrv_flush(bs->file, errp);
    g_free(buf);
    if (!ok) {
        g_free(rt);
        return false;
    }
    return switch_refcounts(bs, __builtin_ctz(bits), (n + nrb) * cs, nrt, rt,
                            errp);
}

/* ---- downgrade to version 2 ------------------------------------------ */

/* A zeroed cluster to stand for a zero cluster, counted once for each
 * reference to the L2 table holding it. */
static bool zeroed_cluster(BlockDriverState *bs, uint64_t l2_refs,
                           uint64_t *off, GError **errp)
{
    Qcow2State *s = bs->opaque;

    return qcow2_alloc_clusters(bs, 1, off, errp) &&
           bdrv_pwrite_zeroes(bs->file, *off, s->cluster_size, 0, errp) &&
           (l2_refs == 1 ||
            qcow2_update_refcount(bs, *off, s->cluster_size, l2_refs - 1,
                                  errp));
}

/* The version 2 form of one L2 entry: zero clusters become unallocated
 * (nothing below to show through) or clusters of zeroes. *@drop: a host
 * cluster that loses @l2_refs references once the table is written. */
static bool expand_entry(BlockDriverState *bs, uint64_t e, uint64_t l2_refs,
                         uint64_t *out, uint64_t *drop, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t host = e & L2E_OFFSET_MASK, refs, off;

    *out = e;
    switch (qcow2_entry_type(s, e)) {
    case QCOW2_CLUSTER_ZERO_PLAIN:
        if (!s->backing_file) {
            *out = 0;
            return true;
        }
        break;
    case QCOW2_CLUSTER_ZERO_ALLOC:
        if (!qcow2_get_refcount(bs, host >> s->cluster_bits, &refs, errp)) {
            return false;
        }
        if (qcow2_check_overlap(bs, 0, host, s->cluster_size)) {
            return qcow2_corrupt(bs, errp, "zero cluster at %#" PRIx64
                                 " overlaps metadata", host);
        }
        if (refs <= l2_refs) {
            /* only this table uses it: zero it where it is */
            *out = e & ~QCOW_OFLAG_ZERO;
            return bdrv_pwrite_zeroes(bs->file, host, s->cluster_size, 0,
                                      errp);
        }
        *drop = host;      /* shared with other data: a new cluster */
        break;
    default:
        return true;
    }
    if (!zeroed_cluster(bs, l2_refs, &off, errp)) {
        return false;
    }
    *out = off | (l2_refs == 1 ? QCOW_OFLAG_COPIED : 0);
    return true;
}

/* Expand the zero clusters of the L2 table at @t (read and written
 * directly: it may belong to a snapshot only); count compressed ones. */
static bool expand_table(BlockDriverState *bs, uint64_t t, uint64_t guest0,
                         uint64_t *compressed, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *l2 = g_malloc(s->cluster_size);
    GArray *drops = g_array_new(false, false, sizeof(uint64_t));
    uint64_t l2_refs = 1;
    bool ok, changed = false;

    ok = qcow2_get_refcount(bs, t >> s->cluster_bits, &l2_refs, errp) &&
         bdrv_pread(bs->file, t, s->cluster_size, l2, errp);
    l2_refs = MAX(l2_refs, 1);
    for (uint64_t j = 0; ok && j < s->l2_entries; j++) {
        uint64_t e = ldq_be(l2 + 8 * j), ne, drop = 0;

        *compressed += qcow2_entry_type(s, e) == QCOW2_CLUSTER_COMPRESSED;
        ok = qcow2_check_l2_entry(bs, e, guest0 + (j << s->cluster_bits),
                                  errp) &&
             expand_entry(bs, e, l2_refs, &ne, &drop, errp);
        if (ok && ne != e) {
            stq_be(l2 + 8 * j, ne);
            changed = true;
        }
        if (drop) {
            g_array_append_val(drops, drop);
        }
    }
    /* the zeroed clusters and their refcounts before the table */
    ok = ok && (!changed ||
                (qcow2_flush_caches(bs, errp) &&
                 qcow2_write_meta(bs, QCOW2_OL_ACTIVE_L2, t, l2,
                                  s->cluster_size, errp) &&
                 bdrv_flush(bs->file, errp)));
    qcow2_cache_discard(s->l2_cache, t);
    for (guint i = 0; ok && i < drops->len; i++) {
        ok = qcow2_update_refcount(bs, g_array_index(drops, uint64_t, i),
                                   s->cluster_size, -(int64_t)l2_refs, errp);
    }
    g_array_unref(drops);
    g_free(l2);
    return ok;
}

/* The L2 tables of @l1 not seen yet. */
static bool expand_l1(BlockDriverState *bs, const uint64_t *l1, uint32_t n,
                      GHashTable *seen, uint64_t *compressed, GError **errp)
{
    Qcow2State *s = bs->opaque;

    for (uint32_t i = 0; i < n; i++) {
        uint64_t t = l1[i] & L1E_OFFSET_MASK;

        if (!t || g_hash_table_contains(seen, &t)) {
            continue;
        }
        g_hash_table_add(seen, g_memdup2(&t, sizeof(t)));
        if (!qcow2_check_l1_entry(bs, i, l1[i], errp) ||
            !expand_table(bs, t, (uint64_t)i << (s->cluster_bits + s->l2_bits),
                          compressed, errp)) {
            return false;
        }
    }
    return true;
}

static bool load_snapshot_l1(BlockDriverState *bs, const Qcow2Snapshot *sn,
                             uint64_t **l1, GError **errp)
{
    uint8_t *raw = g_malloc(MAX(sn->l1_size, 1) * 8ULL);
    bool ok = bdrv_pread(bs->file, sn->l1_offset, sn->l1_size * 8ULL, raw,
                         errp);

    *l1 = g_new0(uint64_t, MAX(sn->l1_size, 1));
    for (uint32_t i = 0; ok && i < sn->l1_size; i++) {
        (*l1)[i] = ldq_be(raw + 8 * i);
    }
    g_free(raw);
    return ok;
}

/* Every L2 table of the active layer and of the snapshots, each once. */
static bool expand_zero_clusters(BlockDriverState *bs, const AmendRequest *r,
                                 uint64_t *compressed, GError **errp)
{
    Qcow2State *s = bs->opaque;
    GHashTable *seen = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                             g_free, NULL);
    bool ok = qcow2_flush_caches(bs, errp) &&
              expand_l1(bs, s->l1, s->l1_size, seen, compressed, errp);

    for (uint32_t i = 0; ok && i < s->nb_snapshots; i++) {
        uint64_t *l1;

        report(r, i + 1, s->nb_snapshots + 1);
        ok = load_snapshot_l1(bs, &s->snapshots[i], &l1, errp) &&
             expand_l1(bs, l1, s->snapshots[i].l1_size, seen, compressed,
                       errp);
        g_free(l1);
    }
    g_hash_table_unref(seen);
    return ok;
}

static bool has_ext(Qcow2State *s, uint32_t type)
{
    for (guint p = 0; p + 8 <= s->unknown_exts->len;) {
        const uint8_t *e = s->unknown_exts->data + p;

        if (ldl_be(e) == type) {
            return true;
        }
        p += 8 + ALIGN_UP(ldl_be(e + 4), 8);
    }
    return false;
}

/* What version 2 cannot hold stops the downgrade (QEMU's checks, in its
 * order; persistent bitmaps too, which QEMU 7.2 leaves behind as leaked,
 * unusable clusters). */
static bool can_downgrade(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (s->refcount_order != 4) {
        error_setg(errp, "compat=0.10 requires refcount_bits=16");
        return false;
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        const Qcow2Snapshot *sn = &s->snapshots[i];

        if (sn->vm_state_size > UINT32_MAX ||
            (sn->extra_size >= 16 && sn->disk_size != bs->size)) {
            error_setg(errp, "Internal snapshots prevent downgrade of image");
            return false;
        }
    }
    if (s->incompat & ~QCOW2_INCOMPAT_COMPRESSION) {
        error_setg(errp, "Cannot downgrade an image with incompatible "
                   "features 0x%" PRIx64 " set",
                   (uint64_t)(s->incompat & ~QCOW2_INCOMPAT_COMPRESSION));
        return false;
    }
    if (has_ext(s, QCOW2_EXT_BITMAPS)) {
        error_setg(errp, "Cannot downgrade an image with persistent "
                   "bitmaps (compat=0.10 cannot hold them)");
        return false;
    }
    return true;
}

static bool downgrade(BlockDriverState *bs, const AmendRequest *r,
                      GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t compressed = 0;

    if (!can_downgrade(bs, errp) ||
        !expand_zero_clusters(bs, r, &compressed, errp)) {
        return false;
    }
    if (s->compression_type != QCOW2_COMPRESSION_ZLIB && compressed) {
        error_setg(errp, "Cannot downgrade an image with zstd compression "
                   "type and existing compressed clusters");
        return false;
    }
    s->version = 2;
    s->incompat = s->compat = s->autoclear = 0;
    s->compression_type = QCOW2_COMPRESSION_ZLIB;
    if (!qcow2_write_header(bs, errp)) {
        s->version = 3;
        return false;
    }
    return true;
}

/* ---- the hook --------------------------------------------------------- */

static bool set_lazy_refcounts(BlockDriverState *bs, bool on,
                               const AmendRequest *r, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t old = s->compat;

    if (on == !!(s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS)) {
        return true;
    }
    if (on && r->version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use compat=1.1 or greater)");
        return false;
    }
    /* kvmpc keeps refcounts up to date either way: the image is clean */
    s->compat = on ? s->compat | QCOW2_COMPAT_LAZY_REFCOUNTS
                   : s->compat & ~QCOW2_COMPAT_LAZY_REFCOUNTS;
    if (!qcow2_write_header(bs, errp)) {
        s->compat = old;
        return false;
    }
    return true;
}

static bool amend_locked(BlockDriverState *bs, AmendRequest *r,
                         GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (r->version > s->version && !upgrade(bs, errp)) {
        return false;
    }
    if (r->refcount_bits != s->refcount_bits) {
        if (r->version < 3 && r->refcount_bits != 16) {
            error_setg(errp, "Refcount widths other than 16 bits require "
                       "compatibility level 1.1 or above (use compat=1.1 or "
                       "greater)");
            return false;
        }
        if (!change_refcount_order(bs, r->refcount_bits, r, errp)) {
            return false;
        }
    }
    if (r->backing_given &&
        (g_strcmp0(r->backing_file, s->backing_file) ||
         g_strcmp0(r->backing_fmt, s->backing_fmt))) {
        error_setg(errp, "Cannot amend the backing file\nYou can use "
                   "'kvmpc-img rebase' instead.");
        return false;
    }
    if (!set_lazy_refcounts(bs, r->lazy_refcounts, r, errp)) {
        return false;
    }
    if (r->size && !(qcow2_truncate_locked(bs, r->size, errp) &&
                     qcow2_flush_caches(bs, errp))) {
        return false;
    }
    return r->version >= s->version || downgrade(bs, r, errp);
}

bool qcow2_amend(BlockDriverState *bs, GHashTable *opts,
                 BlockAmendProgress *progress, void *opaque, GError **errp)
{
    Qcow2State *s = bs->opaque;
    AmendRequest r = { .progress = progress, .opaque = opaque };
    bool ok;

    if (!parse_request(s, opts, &r, errp)) {
        return false;
    }
    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    ok = !s->read_only && qcow2_flush_caches(bs, errp) &&
         amend_locked(bs, &r, errp) && qcow2_flush_caches(bs, errp);
    if (!ok && s->read_only && errp && !*errp) {
        error_setg(errp, "'%s': the image is not open for writing", s->name);
    }
    s->cached_compressed = 0;
    g_mutex_unlock(&s->lock);
    return ok;
}
