/*
 * qcow2 consistency check and repair (what `qemu-img check` does for
 * qcow2): recount every reference from the header, the active and
 * snapshot L1/L2 tables, the snapshot table and the refcount structures,
 * compare with the stored refcounts, and check the COPIED flags
 * (qcow2.txt: bit 63 of L1/L2 entries is 1 exactly when refcount is 1).
 *
 * Leaks (stored > counted) waste space; errors (stored < counted) can
 * corrupt data on the next allocation.  Repairs go through the normal
 * refcount update path, with the counted clusters kept out of reach of
 * the allocator while refcount blocks are created.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

/* A check works on an array of counts, one per cluster of the file. */
#define CHECK_MAX_CLUSTERS (1ULL << 28)

typedef struct Check {
    BlockDriverState *bs;
    Qcow2State *s;
    BlockCheckResult *res;
    int fix;
    uint64_t nb;            /* clusters in the file */
    uint64_t *refs;
    uint64_t file_size;
    uint64_t last_data;     /* host offset of the previous data cluster */
} Check;

static void logf_(Check *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void logf_(Check *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_append_vprintf(c->res->log, fmt, ap);
    va_end(ap);
    g_string_append_c(c->res->log, '\n');
}

/* Count one reference to each cluster [off, off+len) touches. */
static void inc_refs(Check *c, uint64_t off, uint64_t len)
{
    uint64_t first, last;

    if (!len) {
        return;
    }
    first = off >> c->s->cluster_bits;
    last = (off + len - 1) >> c->s->cluster_bits;
    for (uint64_t ci = first; ci <= last; ci++) {
        if (ci >= c->nb) {
            logf_(c, "ERROR: cluster %" PRIu64 " (offset %#" PRIx64 ") is "
                  "referenced but lies past the end of the image file", ci,
                  ci << c->s->cluster_bits);
            c->res->corruptions++;
            return;
        }
        c->refs[ci]++;
    }
}

static void check_l2_entry(Check *c, uint64_t e, bool active)
{
    Qcow2State *s = c->s;
    uint64_t off = e & L2E_OFFSET_MASK, len;

    switch (qcow2_entry_type(s, e)) {
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_compressed_extent(s, e, &off, &len);
        if (e & QCOW_OFLAG_COPIED) {
            logf_(c, "ERROR: coffset=%#" PRIx64 ": copied flag must never "
                  "be set for compressed clusters", off);
            c->res->corruptions++;
        }
        if (active) {
            c->res->allocated_clusters++;
            c->res->compressed_clusters++;
        }
        inc_refs(c, off, len);
        return;
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        if (offset_into_cluster(s, off)) {
            logf_(c, "ERROR offset=%" PRIx64 ": Cluster is not properly "
                  "aligned; L2 entry corrupted", off);
            c->res->corruptions++;
            return;
        }
        if (active) {
            c->res->allocated_clusters++;
            if (c->last_data && off != c->last_data + s->cluster_size) {
                c->res->fragmented_clusters++;
            }
            c->last_data = off;
        }
        inc_refs(c, off, s->cluster_size);
        return;
    default:
        return;
    }
}

static bool walk_l1(Check *c, const uint64_t *l1, uint32_t n, bool active)
{
    Qcow2State *s = c->s;
    uint8_t *l2 = g_malloc(s->cluster_size);

    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = l1[i] & L1E_OFFSET_MASK;

        if (!off) {
            continue;
        }
        if (offset_into_cluster(s, off)) {
            logf_(c, "ERROR l2_offset=%" PRIx64 ": Table is not cluster "
                  "aligned; L1 entry corrupted", off);
            c->res->corruptions++;
            continue;
        }
        if (off >= c->file_size) {
            logf_(c, "ERROR l2_offset=%" PRIx64 ": Table is outside the "
                  "image file", off);
            c->res->corruptions++;
            continue;
        }
        inc_refs(c, off, s->cluster_size);
        if (!bdrv_pread(c->bs->file, off, s->cluster_size, l2, NULL)) {
            c->res->check_errors++;
            continue;
        }
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            check_l2_entry(c, ldq_be(l2 + 8 * j), active);
        }
    }
    g_free(l2);
    return true;
}

static void count_snapshots(Check *c)
{
    Qcow2State *s = c->s;

    inc_refs(c, s->snapshots_offset, s->snapshots_size);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        uint8_t *raw = g_malloc(MAX(sn->l1_size, 1) * 8ULL);
        uint64_t *l1 = g_new0(uint64_t, MAX(sn->l1_size, 1));

        inc_refs(c, sn->l1_offset, sn->l1_size * 8ULL);
        if (bdrv_pread(c->bs->file, sn->l1_offset, sn->l1_size * 8ULL, raw,
                       NULL)) {
            for (uint32_t j = 0; j < sn->l1_size; j++) {
                l1[j] = ldq_be(raw + 8 * j);
            }
            walk_l1(c, l1, sn->l1_size, false);
        } else {
            c->res->check_errors++;
        }
        g_free(raw);
        g_free(l1);
    }
}

static void count_refcount_structures(Check *c)
{
    Qcow2State *s = c->s;

    inc_refs(c, s->rt_offset, (uint64_t)s->rt_clusters << s->cluster_bits);
    for (uint64_t i = 0; i < s->rt_size; i++) {
        uint64_t off = s->rt[i] & REFT_OFFSET_MASK;

        if (!off) {
            continue;
        }
        if (offset_into_cluster(s, s->rt[i])) {
            logf_(c, "ERROR refcount block %" PRIu64 " is not cluster "
                  "aligned; refcount table entry corrupted", i);
            c->res->corruptions++;
        } else if (off >= c->file_size) {
            logf_(c, "ERROR refcount block %" PRIu64 " is outside image", i);
            c->res->corruptions++;
        } else {
            inc_refs(c, off, s->cluster_size);
        }
    }
}

static void count_bitmap_cluster(void *opaque, uint64_t off, uint64_t len)
{
    inc_refs(opaque, off, len);
}

/* The persistent bitmaps' directory, tables and data (when the bitmaps
 * extension is valid; stale bitmaps are leaks, as in qemu-img check). */
static void count_bitmaps(Check *c)
{
    GError *err = NULL;

    if (!qcow2_bitmap_clusters(c->bs, count_bitmap_cluster, c, &err)) {
        logf_(c, "ERROR %s", err->message);
        c->res->corruptions++;
        g_error_free(err);
    }
}

/* Compare one cluster's stored and counted refcounts; repair if asked. */
static void compare_one(Check *c, uint64_t ci)
{
    uint64_t counted = ci < c->nb ? c->refs[ci] : 0, stored;
    bool leak;
    GError *err = NULL;

    if (!qcow2_get_refcount(c->bs, ci, &stored, &err)) {
        logf_(c, "ERROR: cannot get the refcount of cluster %" PRIu64 ": %s",
              ci, err->message);
        g_error_free(err);
        c->res->check_errors++;
        return;
    }
    if (stored == counted) {
        return;
    }
    leak = stored > counted;
    if (c->fix & (leak ? BDRV_FIX_LEAKS : BDRV_FIX_ERRORS)) {
        if (qcow2_update_refcount(c->bs, ci << c->s->cluster_bits, 1,
                                  (int64_t)(counted - stored), &err)) {
            logf_(c, "Repairing cluster %" PRIu64 " refcount=%" PRIu64
                  " reference=%" PRIu64, ci, stored, counted);
            if (leak) {
                c->res->leaks_fixed++;
            } else {
                c->res->corruptions_fixed++;
            }
        } else {
            logf_(c, "ERROR: could not repair cluster %" PRIu64 ": %s", ci,
                  err->message);
            g_clear_error(&err);
            c->res->check_errors++;
        }
    } else {
        logf_(c, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%"
              PRIu64, leak ? "Leaked" : "ERROR", ci, stored, counted);
    }
    if (leak) {
        c->res->leaks++;
    } else {
        c->res->corruptions++;
    }
}

/* Clusters of the file; stored refcounts past its end are not looked at
 * (qemu-img does the same). */
static void compare_refcounts(Check *c)
{
    for (uint64_t ci = 0; ci < c->nb; ci++) {
        compare_one(c, ci);
    }
}

/* -r all: give an entry the COPIED flag its refcount says (the
 * refcounts themselves were repaired just before). */
static bool repair_copied(Check *c, uint64_t rc)
{
    return (c->fix & BDRV_FIX_ERRORS) && !c->s->read_only && rc;
}

static void fix_l1_copied(Check *c, uint32_t i, uint64_t rc)
{
    Qcow2State *s = c->s;
    GError *err = NULL;

    s->l1[i] = rc == 1 ? s->l1[i] | QCOW_OFLAG_COPIED
                       : s->l1[i] & ~QCOW_OFLAG_COPIED;
    if (qcow2_write_l1_entry(c->bs, i, &err)) {
        c->res->corruptions_fixed++;
    } else {
        logf_(c, "ERROR fixing OFLAG_COPIED: %s", err->message);
        g_clear_error(&err);
        c->res->check_errors++;
    }
}

/* Entry @j of the cached L2 table @l2 (written back with the cache). */
static void fix_l2_copied(Check *c, uint8_t *l2, uint64_t j, uint64_t rc)
{
    uint64_t e = ldq_be(l2 + 8 * j);

    stq_be(l2 + 8 * j, rc == 1 ? e | QCOW_OFLAG_COPIED
                               : e & ~QCOW_OFLAG_COPIED);
    qcow2_cache_mark_dirty(c->s->l2_cache, l2);
    c->res->corruptions_fixed++;
}

/* COPIED must be set exactly where the stored refcount is 1. */
static void check_copied(Check *c)
{
    Qcow2State *s = c->s;
    GError *err = NULL;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t l2_off = s->l1[i] & L1E_OFFSET_MASK, rc;
        uint8_t *l2;

        if (!l2_off || offset_into_cluster(s, l2_off) ||
            l2_off >= c->file_size) {
            continue;
        }
        if (qcow2_get_refcount(c->bs, l2_off >> s->cluster_bits, &rc, &err) &&
            (rc == 1) != !!(s->l1[i] & QCOW_OFLAG_COPIED)) {
            logf_(c, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%"
                  PRIx64 " refcount=%" PRIu64,
                  repair_copied(c, rc) ? "Repairing" : "ERROR", i, s->l1[i],
                  rc);
            c->res->corruptions++;
            if (repair_copied(c, rc)) {
                fix_l1_copied(c, i, rc);
            }
        }
        g_clear_error(&err);
        l2 = qcow2_cache_get(c->bs, s->l2_cache, l2_off, true, &err);
        if (!l2) {
            g_clear_error(&err);
            c->res->check_errors++;
            continue;
        }
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t e = ldq_be(l2 + 8 * j);
            Qcow2ClusterType t = qcow2_entry_type(s, e);

            if ((t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) ||
                offset_into_cluster(s, e & L2E_OFFSET_MASK)) {
                continue;
            }
            /* (Refcounts come from the other cache: @l2 stays valid.) */
            if (!qcow2_get_refcount(c->bs, (e & L2E_OFFSET_MASK) >>
                                    s->cluster_bits, &rc, &err)) {
                g_clear_error(&err);
                continue;
            }
            if ((rc == 1) != !!(e & QCOW_OFLAG_COPIED)) {
                logf_(c, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                      " refcount=%" PRIu64,
                      repair_copied(c, rc) ? "Repairing" : "ERROR", e, rc);
                c->res->corruptions++;
                if (repair_copied(c, rc)) {
                    fix_l2_copied(c, l2, j, rc);
                }
            }
        }
    }
}

bool qcow2_check(BlockDriverState *bs, BlockCheckResult *res, int fix,
                 GError **errp)
{
    Qcow2State *s = bs->opaque;
    Check c = { .bs = bs, .s = s, .res = res, .fix = fix };
    uint8_t *used = NULL;
    bool ok = false;

    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    if (!s->read_only && !qcow2_flush_caches(bs, errp)) {
        goto out;
    }
    c.file_size = bdrv_getlength(bs->file);
    c.nb = size_to_clusters(s, c.file_size);
    if (c.nb > CHECK_MAX_CLUSTERS) {
        error_setg(errp, "'%s': image file too large to check", s->name);
        goto out;
    }
    c.refs = g_try_new0(uint64_t, MAX(c.nb, 1));
    if (!c.refs) {
        error_setg(errp, "'%s': out of memory for the check", s->name);
        goto out;
    }
    res->total_clusters = size_to_clusters(s, bs->size);
    inc_refs(&c, 0, s->cluster_size);
    inc_refs(&c, s->l1_offset, s->l1_size * 8ULL);
    walk_l1(&c, s->l1, s->l1_size, true);
    count_snapshots(&c);
    count_refcount_structures(&c);
    count_bitmaps(&c);

    if (fix) {
        used = g_malloc0(MAX(c.nb, 1));
        for (uint64_t i = 0; i < c.nb; i++) {
            used[i] = c.refs[i] != 0;
        }
        s->check_used = used;
        s->check_used_len = c.nb;
        s->free_cluster_hint = 1;
    }
    compare_refcounts(&c);
    check_copied(&c);
    for (uint64_t i = c.nb; i > 0; i--) {
        if (c.refs[i - 1]) {
            res->image_end_offset = i << s->cluster_bits;
            break;
        }
    }
    ok = !fix || s->read_only || qcow2_flush_caches(bs, errp);
out:
    s->check_used = NULL;
    g_free(used);
    g_free(c.refs);
    g_mutex_unlock(&s->lock);
    return ok;
}
