/*
 * qcow2 internal snapshots (qcow2.txt, "Snapshots"): reading and
 * validating the snapshot table.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

void qcow2_free_snapshots(Qcow2State *s)
{
    for (uint32_t i = 0; s->snapshots && i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id);
        g_free(s->snapshots[i].name);
        g_free(s->snapshots[i].extra);
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
}

static bool snapshot_error(Qcow2State *s, uint32_t i, const char *what,
                           GError **errp)
{
    error_setg(errp, "'%s': invalid snapshot table: snapshot %u: %s",
               s->name, i, what);
    return false;
}

/* Parse entry @i at @p (@avail bytes left in the table); returns its
 * length or 0 on error. */
static uint64_t parse_snapshot(Qcow2State *s, uint32_t i, const uint8_t *p,
                               uint64_t avail, uint64_t file_size,
                               Qcow2Snapshot *sn, GError **errp)
{
    uint32_t id_len, name_len, extra;
    uint64_t len;

    if (avail < 40) {
        snapshot_error(s, i, "truncated", errp);
        return 0;
    }
    sn->l1_offset = ldq_be(p);
    sn->l1_size = ldl_be(p + 8);
    id_len = ldw_be(p + 12);
    name_len = ldw_be(p + 14);
    sn->date_sec = ldl_be(p + 16);
    sn->date_nsec = ldl_be(p + 20);
    sn->vm_clock_nsec = ldq_be(p + 24);
    sn->vm_state_size = ldl_be(p + 32);
    extra = ldl_be(p + 36);
    sn->icount = UINT64_MAX;
    if (extra > QCOW2_MAX_SNAPSHOT_EXTRA) {
        snapshot_error(s, i, "too much extra data", errp);
        return 0;
    }
    len = ALIGN_UP(40ULL + extra + id_len + name_len, 8);
    if (len > avail) {
        snapshot_error(s, i, "runs past the end of the table", errp);
        return 0;
    }
    if (extra >= 8) {
        sn->vm_state_size = ldq_be(p + 40);
    }
    if (extra >= 16) {
        sn->disk_size = ldq_be(p + 48);
    }
    if (extra >= 24) {
        sn->icount = ldq_be(p + 56);
    }
    sn->extra_size = extra;
    sn->extra = g_malloc(MAX(extra, 1));
    memcpy(sn->extra, p + 40, extra);
    sn->id = g_strndup((const char *)p + 40 + extra, id_len);
    sn->name = g_strndup((const char *)p + 40 + extra + id_len, name_len);
    if (offset_into_cluster(s, sn->l1_offset) ||
        (sn->l1_size && sn->l1_offset < s->cluster_size)) {
        snapshot_error(s, i, "L1 table offset is invalid", errp);
        return 0;
    }
    if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8 ||
        !range_within(sn->l1_offset, sn->l1_size * 8ULL, file_size)) {
        snapshot_error(s, i, "L1 table is too large or past the end of the "
                       "file", errp);
        return 0;
    }
    return len;
}

bool qcow2_read_snapshots(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t file_size = bdrv_getlength(bs->file);
    uint64_t avail, pos = 0;
    uint8_t *table;
    bool ok = true;

    s->snapshots_size = 0;
    if (!s->nb_snapshots) {
        return true;
    }
    /* Read what can hold the table (bounded), then walk it.  The last
     * entry's padding may lie past the end of the file (QEMU writes the
     * table unpadded); those bytes read as zeroes. */
    if (s->snapshots_offset >= file_size) {
        error_setg(errp, "'%s': snapshot table lies past the end of the "
                   "file: truncated image?", s->name);
        return false;
    }
    avail = MIN(QCOW2_MAX_SNAPSHOT_TABLE,
                file_size - s->snapshots_offset + 8);
    avail = MIN(avail, (uint64_t)s->nb_snapshots *
                       ALIGN_UP(40 + QCOW2_MAX_SNAPSHOT_EXTRA + 2 * 65535, 8));
    table = g_malloc(MAX(avail, 1));
    if (!bdrv_pread(bs->file, s->snapshots_offset, avail, table, errp)) {
        g_free(table);
        return false;
    }
    s->snapshots = g_new0(Qcow2Snapshot, s->nb_snapshots);
    for (uint32_t i = 0; ok && i < s->nb_snapshots; i++) {
        uint64_t len = parse_snapshot(s, i, table + pos, avail - pos,
                                      file_size, &s->snapshots[i], errp);

        ok = len > 0;
        pos += len;
    }
    g_free(table);
    s->snapshots_size = pos;
    return ok;
}

/* ---- refcounts of everything one L1 table references ------------------ */

/*
 * qcow2.txt counts references per L1 table: a snapshot adds one to every
 * L2 table its L1 names and to every cluster those L2 tables name, even
 * when an L2 table is shared with another L1 (that is also what check
 * recounts).  So taking or dropping a snapshot walks its whole L1.
 */

/* The host extent an L2 entry holds a reference to (*len 0: none). */
static void entry_extent(Qcow2State *s, uint64_t e, uint64_t *off,
                         uint64_t *len)
{
    *off = *len = 0;
    switch (qcow2_entry_type(s, e)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        *off = e & L2E_OFFSET_MASK;
        *len = s->cluster_size;
        break;
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_compressed_extent(s, e, off, len);
        break;
    default:
        break;
    }
}

/* A referenced extent must lie inside the image file: a hostile entry
 * must not make us create refcount blocks far beyond it. */
static bool extent_in_file(BlockDriverState *bs, uint64_t off, uint64_t len,
                           GError **errp)
{
    if (!range_within(off, len, bdrv_getlength(bs->file))) {
        return qcow2_corrupt(bs, errp, "cluster at %#" PRIx64 " (%" PRIu64
                             " bytes) lies past the end of the file", off,
                             len);
    }
    return true;
}

/* L1 entry @i of @l1: its L2 table's offset (0: none), validated. */
static bool l2_table_of(BlockDriverState *bs, const uint64_t *l1, uint64_t i,
                        uint64_t *l2_off, GError **errp)
{
    Qcow2State *s = bs->opaque;

    *l2_off = l1[i] & L1E_OFFSET_MASK;
    if (!*l2_off) {
        return true;
    }
    return qcow2_check_l1_entry(bs, i, l1[i], errp) &&
           extent_in_file(bs, *l2_off, s->cluster_size, errp);
}

/* Entry @j of the L2 table at @l2_off (re-fetched each time: refcount
 * updates may evict cache entries). */
static bool l2_entry_at(BlockDriverState *bs, uint64_t l2_off, uint64_t j,
                        uint64_t guest, uint64_t *e, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint8_t *l2 = qcow2_cache_get(bs, s->l2_cache, l2_off, true, errp);

    if (!l2) {
        return false;
    }
    *e = ldq_be(l2 + 8 * j);
    return qcow2_check_l2_entry(bs, *e, guest, errp);
}

static void count_inc(GHashTable *inc, Qcow2State *s, uint64_t off,
                      uint64_t len)
{
    for (uint64_t ci = off >> s->cluster_bits;
         len && ci <= (off + len - 1) >> s->cluster_bits; ci++) {
        gpointer k = GSIZE_TO_POINTER(ci + 1);

        g_hash_table_insert(inc, k, GSIZE_TO_POINTER(
            GPOINTER_TO_SIZE(g_hash_table_lookup(inc, k)) + 1));
    }
}

/* Collect the extents @l1 references, one count per reference. */
static bool collect_refs(BlockDriverState *bs, const uint64_t *l1,
                         uint32_t l1_size, GHashTable *inc, GError **errp)
{
    Qcow2State *s = bs->opaque;

    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t l2_off, e, off, len;

        if (!l2_table_of(bs, l1, i, &l2_off, errp)) {
            return false;
        }
        if (!l2_off) {
            continue;
        }
        count_inc(inc, s, l2_off, s->cluster_size);
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t guest = (i << (s->cluster_bits + s->l2_bits)) +
                             (j << s->cluster_bits);

            if (!l2_entry_at(bs, l2_off, j, guest, &e, errp)) {
                return false;
            }
            entry_extent(s, e, &off, &len);
            if (len && !extent_in_file(bs, off, len, errp)) {
                return false;
            }
            count_inc(inc, s, off, len);
        }
    }
    return true;
}

/*
 * Would adding one reference for everything @l1 names overflow a
 * refcount?  Checked before anything changes, so that a snapshot that
 * does not fit (1-bit refcounts, say) fails cleanly instead of leaving
 * half-incremented refcounts behind.
 */
static bool check_room(BlockDriverState *bs, const uint64_t *l1,
                       uint32_t l1_size, GError **errp)
{
    Qcow2State *s = bs->opaque;
    GHashTable *inc = g_hash_table_new(g_direct_hash, g_direct_equal);
    GHashTableIter it;
    gpointer k, v;
    bool ok = collect_refs(bs, l1, l1_size, inc, errp);

    g_hash_table_iter_init(&it, inc);
    while (ok && g_hash_table_iter_next(&it, &k, &v)) {
        uint64_t rc;

        ok = qcow2_get_refcount(bs, GPOINTER_TO_SIZE(k) - 1, &rc, errp);
        if (ok && rc + GPOINTER_TO_SIZE(v) > s->refcount_max) {
            error_setg(errp, "'%s': a snapshot would overflow the %u-bit "
                       "refcounts (cluster %#" PRIx64 ")", s->name,
                       s->refcount_bits,
                       (uint64_t)(GPOINTER_TO_SIZE(k) - 1) << s->cluster_bits);
            ok = false;
        }
    }
    g_hash_table_unref(inc);
    return ok;
}

/* COPIED (qcow2.txt) is set exactly when the refcount is 1. */
static bool copied_flag(BlockDriverState *bs, uint64_t off, uint64_t e,
                        uint64_t *new_e, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t rc;

    if (!qcow2_get_refcount(bs, off >> s->cluster_bits, &rc, errp)) {
        return false;
    }
    *new_e = rc == 1 ? e | QCOW_OFLAG_COPIED : e & ~QCOW_OFLAG_COPIED;
    return true;
}

/* Add @delta to everything the L2 table at @l2_off names and fix the
 * COPIED flags of its entries. */
static bool update_l2_refs(BlockDriverState *bs, uint64_t l2_off,
                           uint64_t l1_i, int delta, GError **errp)
{
    Qcow2State *s = bs->opaque;

    for (uint64_t j = 0; j < s->l2_entries; j++) {
        uint64_t guest = (l1_i << (s->cluster_bits + s->l2_bits)) +
                         (j << s->cluster_bits);
        uint64_t e, ne, off, len;
        uint8_t *l2;

        if (!l2_entry_at(bs, l2_off, j, guest, &e, errp)) {
            return false;
        }
        entry_extent(s, e, &off, &len);
        if (!len) {
            continue;
        }
        if (!extent_in_file(bs, off, len, errp) ||
            (delta && !qcow2_update_refcount(bs, off, len, delta, errp))) {
            return false;
        }
        if (qcow2_entry_type(s, e) == QCOW2_CLUSTER_COMPRESSED) {
            continue;       /* never COPIED: compressed data is not rewritten */
        }
        if (!copied_flag(bs, off, e, &ne, errp)) {
            return false;
        }
        if (ne != e) {
            l2 = qcow2_cache_get(bs, s->l2_cache, l2_off, true, errp);
            if (!l2) {
                return false;
            }
            stq_be(l2 + 8 * j, ne);
            qcow2_cache_mark_dirty(s->l2_cache, l2);
        }
    }
    return true;
}

bool qcow2_update_l1_refcounts(BlockDriverState *bs, uint64_t *l1,
                               uint32_t l1_size, int delta, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (delta > 0 && !check_room(bs, l1, l1_size, errp)) {
        return false;
    }
    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t l2_off;

        if (!l2_table_of(bs, l1, i, &l2_off, errp)) {
            return false;
        }
        if (!l2_off) {
            continue;
        }
        /* Entries first: a table whose count drops to zero is dropped
         * from the cache, and must not be read after that. */
        if (!update_l2_refs(bs, l2_off, i, delta, errp) ||
            (delta && !qcow2_update_refcount(bs, l2_off, s->cluster_size,
                                             delta, errp)) ||
            !copied_flag(bs, l2_off, l1[i], &l1[i], errp)) {
            return false;
        }
    }
    return true;
}

/* ---- the snapshot table ------------------------------------------------ */

static uint64_t entry_size(const Qcow2Snapshot *sn)
{
    return ALIGN_UP(40ULL + sn->extra_size + strlen(sn->id) +
                    strlen(sn->name), 8);
}

static void serialize_snapshot(const Qcow2Snapshot *sn, uint8_t *p)
{
    size_t id_len = strlen(sn->id), name_len = strlen(sn->name);

    stq_be(p, sn->l1_offset);
    stl_be(p + 8, sn->l1_size);
    stw_be(p + 12, id_len);
    stw_be(p + 14, name_len);
    stl_be(p + 16, sn->date_sec);
    stl_be(p + 20, sn->date_nsec);
    stq_be(p + 24, sn->vm_clock_nsec);
    stl_be(p + 32, MIN(sn->vm_state_size, UINT32_MAX));
    stl_be(p + 36, sn->extra_size);
    memcpy(p + 40, sn->extra, sn->extra_size);
    memcpy(p + 40 + sn->extra_size, sn->id, id_len);
    memcpy(p + 40 + sn->extra_size + id_len, sn->name, name_len);
}

/* Header fields nb_snapshots and snapshots_offset are adjacent: switch
 * both in one write. */
static bool write_header_snapshots(BlockDriverState *bs, uint32_t n,
                                   uint64_t offset, GError **errp)
{
    uint8_t buf[12];

    stl_be(buf, n);
    stq_be(buf + 4, offset);
    return qcow2_write_meta(bs, QCOW2_OL_HEADER, 60, buf, sizeof(buf), errp) &&
           bdrv_flush(bs->file, errp);
}

/*
 * Replace the snapshot table with @sns (@n entries): written to new
 * clusters, everything it depends on flushed, then the header switches,
 * then the old table is freed.  A crash leaves the old or the new table,
 * and at worst a leak.  On success @sns becomes s->snapshots (the old
 * array, not its strings, is freed).
 */
static bool write_snapshot_table(BlockDriverState *bs, Qcow2Snapshot *sns,
                                 uint32_t n, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t size = 0, pos = 0, off = 0;
    uint64_t old_off = s->snapshots_offset, old_size = s->snapshots_size;
    uint8_t *buf;
    bool ok;

    for (uint32_t i = 0; i < n; i++) {
        size += entry_size(&sns[i]);
    }
    if (size > QCOW2_MAX_SNAPSHOT_TABLE) {
        error_setg(errp, "'%s': the snapshot table would be too large",
                   s->name);
        return false;
    }
    buf = g_malloc0(MAX(ALIGN_UP(size, s->cluster_size), 1));
    for (uint32_t i = 0; i < n; i++) {
        serialize_snapshot(&sns[i], buf + pos);
        pos += entry_size(&sns[i]);
    }
    ok = !size ||
         (qcow2_alloc_clusters(bs, size_to_clusters(s, size), &off, errp) &&
          qcow2_write_meta(bs, 0, off, buf, ALIGN_UP(size, s->cluster_size),
                           errp));
    g_free(buf);
    if (!ok || !qcow2_flush_caches(bs, errp) ||
        !write_header_snapshots(bs, n, off, errp)) {
        return false;
    }
    g_free(s->snapshots);
    s->snapshots = sns;
    s->nb_snapshots = n;
    s->snapshots_offset = off;
    s->snapshots_size = size;
    return !old_size ||
           qcow2_update_refcount(bs, old_off, old_size, -1, errp);
}

/*
 * Version 3 needs every snapshot's disk size (qcow2.txt, "Snapshot table
 * entry", extra data): entries with less than 16 bytes of extra data
 * get QEMU's 24 (vm_state_size, disk_size = the current size, icount
 * unknown) and the table is written anew.  Lock held.
 */
bool qcow2_snapshots_upgrade(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;
    Qcow2Snapshot *sns;
    bool needed = false;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        needed |= s->snapshots[i].extra_size < 16;
    }
    if (!needed) {
        return true;
    }
    sns = g_new(Qcow2Snapshot, s->nb_snapshots);
    memcpy(sns, s->snapshots, s->nb_snapshots * sizeof(*sns));
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &sns[i];

        if (sn->extra_size >= 16) {
            continue;
        }
        sn->disk_size = bs->size;
        sn->icount = UINT64_MAX;
        sn->extra = g_realloc(sn->extra, 24);
        sn->extra_size = 24;
        stq_be(sn->extra, sn->vm_state_size);
        stq_be(sn->extra + 8, sn->disk_size);
        stq_be(sn->extra + 16, sn->icount);
    }
    if (!write_snapshot_table(bs, sns, s->nb_snapshots, errp)) {
        /* the strings and extra buffers are shared with s->snapshots,
         * whose extra pointers may have moved: take the new ones */
        memcpy(s->snapshots, sns, s->nb_snapshots * sizeof(*sns));
        g_free(sns);
        return false;
    }
    return true;
}

static int find_snapshot(Qcow2State *s, const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id, name)) {
            return i;
        }
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].name, name)) {
            return i;
        }
    }
    return -1;
}

static bool snapshot_writable(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (s->read_only) {
        error_setg(errp, "'%s': image is read-only or marked corrupt",
                   s->name);
        return false;
    }
    return true;
}

/* The next free numeric id, as QEMU picks it: one above the highest. */
static char *next_id(Qcow2State *s)
{
    uint64_t max = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        max = MAX(max, g_ascii_strtoull(s->snapshots[i].id, NULL, 10));
    }
    return g_strdup_printf("%" PRIu64, max + 1);
}

/* A new entry: 24 bytes of extra data (vm_state_size, disk_size,
 * icount), as QEMU writes them. */
static void fill_snapshot(BlockDriverState *bs, Qcow2Snapshot *sn,
                          const char *name, uint64_t l1_off,
                          uint64_t vm_state_size, uint64_t vm_clock_nsec)
{
    Qcow2State *s = bs->opaque;
    gint64 now = g_get_real_time();

    memset(sn, 0, sizeof(*sn));
    sn->l1_offset = l1_off;
    sn->l1_size = s->l1_size;
    sn->id = next_id(s);
    sn->name = g_strdup(name);
    sn->date_sec = now / G_USEC_PER_SEC;
    sn->date_nsec = now % G_USEC_PER_SEC * 1000;
    sn->disk_size = bs->size;
    sn->vm_state_size = vm_state_size;
    sn->vm_clock_nsec = vm_clock_nsec;
    /* savevm records no instruction count (QEMU: -1 without replay) */
    sn->icount = vm_state_size ? UINT64_MAX : 0;
    sn->extra_size = 24;
    sn->extra = g_malloc0(24);
    stq_be(sn->extra, vm_state_size);
    stq_be(sn->extra + 8, bs->size);
    stq_be(sn->extra + 16, sn->icount);
}

/* Write a copy of the active L1 table (COPIED flags already cleared by
 * the increment) to new clusters. */
static bool copy_active_l1(BlockDriverState *bs, uint64_t *off, GError **errp)
{
    Qcow2State *s = bs->opaque;
    uint64_t bytes = s->l1_size * 8ULL;
    uint8_t *buf;
    bool ok;

    *off = 0;
    if (!bytes) {
        return true;
    }
    buf = g_malloc0(ALIGN_UP(bytes, s->cluster_size));
    for (uint32_t i = 0; i < s->l1_size; i++) {
        stq_be(buf + 8 * i, s->l1[i]);
    }
    ok = qcow2_alloc_clusters(bs, size_to_clusters(s, bytes), off, errp) &&
         qcow2_write_meta(bs, 0, *off, buf, ALIGN_UP(bytes, s->cluster_size),
                          errp);
    g_free(buf);
    return ok;
}

/* What snapshot_op passes to snapshot_create_locked besides the name. */
typedef struct SnapshotVmInfo {
    uint64_t vm_state_size, vm_clock_nsec;
} SnapshotVmInfo;

static bool snapshot_create_locked(BlockDriverState *bs, const char *name,
                                   const void *opaque, GError **errp)
{
    const SnapshotVmInfo *vm = opaque;

    Qcow2State *s = bs->opaque;
    Qcow2Snapshot *sns;
    uint64_t l1_off;

    if (find_snapshot(s, name) >= 0) {
        error_setg(errp, "'%s': a snapshot named '%s' already exists",
                   s->name, name);
        return false;
    }
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "'%s': too many snapshots", s->name);
        return false;
    }
    /* References first (a crash leaks them at worst), then the L1 copy,
     * then the table that names it. */
    if (!qcow2_update_l1_refcounts(bs, s->l1, s->l1_size, 1, errp) ||
        !qcow2_write_l1(bs, errp) ||
        !copy_active_l1(bs, &l1_off, errp)) {
        return false;
    }
    sns = g_new0(Qcow2Snapshot, s->nb_snapshots + 1);
    if (s->nb_snapshots) {      /* s->snapshots is NULL without any */
        memcpy(sns, s->snapshots, s->nb_snapshots * sizeof(*sns));
    }
    fill_snapshot(bs, &sns[s->nb_snapshots], name, l1_off,
                  vm->vm_state_size, vm->vm_clock_nsec);
    if (!write_snapshot_table(bs, sns, s->nb_snapshots + 1, errp)) {
        Qcow2Snapshot *sn = &sns[s->nb_snapshots];

        g_free(sn->id);
        g_free(sn->name);
        g_free(sn->extra);
        g_free(sns);
        return false;
    }
    /* the snapshot holds the VM state now; the active layer lets go */
    return qcow2_drop_vmstate_locked(bs, vm->vm_state_size, errp);
}

typedef bool SnapshotOpLocked(BlockDriverState *bs, const char *name,
                              const void *opaque, GError **errp);

/*
 * Every snapshot operation: under the image lock with nothing in flight,
 * caches written out before (the operation reads tables from the file)
 * and after (so it is on disk when the call returns).
 */
static bool snapshot_op(BlockDriverState *bs, const char *name,
                        SnapshotOpLocked *op, const void *opaque,
                        GError **errp)
{
    Qcow2State *s = bs->opaque;
    bool ok;

    g_mutex_lock(&s->lock);
    qcow2_drain(s);
    ok = snapshot_writable(bs, errp) &&
         qcow2_flush_caches(bs, errp) &&
         op(bs, name, opaque, errp) &&
         qcow2_flush_caches(bs, errp);
    s->cached_compressed = 0;   /* a revert may have changed any cluster */
    g_mutex_unlock(&s->lock);
    return ok;
}

bool qcow2_snapshot_create(BlockDriverState *bs, const char *name,
                           uint64_t vm_state_size, uint64_t vm_clock_nsec,
                           GError **errp)
{
    SnapshotVmInfo vm = { vm_state_size, vm_clock_nsec };

    return snapshot_op(bs, name, snapshot_create_locked, &vm, errp);
}

static bool load_l1(BlockDriverState *bs, const Qcow2Snapshot *sn,
                    uint64_t **l1, GError **errp)
{
    uint8_t *raw = g_malloc(MAX(sn->l1_size, 1) * 8ULL);
    bool ok = !sn->l1_size ||
              bdrv_pread(bs->file, sn->l1_offset, sn->l1_size * 8ULL, raw,
                         errp);

    *l1 = g_new0(uint64_t, MAX(sn->l1_size, 1));
    for (uint32_t i = 0; ok && i < sn->l1_size; i++) {
        (*l1)[i] = ldq_be(raw + 8 * i);
    }
    g_free(raw);
    return ok;
}

static bool snapshot_delete_locked(BlockDriverState *bs, const char *name,
                                   const void *opaque, GError **errp)
{
    Qcow2State *s = bs->opaque;
    int i = find_snapshot(s, name);
    Qcow2Snapshot sn, *sns;
    uint64_t *l1 = NULL;
    bool ok;

    if (i < 0) {
        error_setg(errp, "'%s': no snapshot '%s'", s->name, name);
        return false;
    }
    sn = s->snapshots[i];
    if (!load_l1(bs, &sn, &l1, errp)) {
        g_free(l1);
        return false;
    }
    /* Unlink the entry first: from then on nothing names its L1, and a
     * crash in what follows only leaks. */
    sns = g_new0(Qcow2Snapshot, MAX(s->nb_snapshots - 1, 1));
    memcpy(sns, s->snapshots, i * sizeof(*sns));
    memcpy(sns + i, s->snapshots + i + 1,
           (s->nb_snapshots - i - 1) * sizeof(*sns));
    if (!write_snapshot_table(bs, sns, s->nb_snapshots - 1, errp)) {
        g_free(sns);
        g_free(l1);
        return false;
    }
    ok = qcow2_update_l1_refcounts(bs, l1, sn.l1_size, -1, errp) &&
         qcow2_update_refcount(bs, sn.l1_offset, sn.l1_size * 8ULL, -1,
                               errp) &&
         qcow2_update_l1_refcounts(bs, s->l1, s->l1_size, 0, errp) &&
         qcow2_write_l1(bs, errp);
    g_free(sn.id);
    g_free(sn.name);
    g_free(sn.extra);
    g_free(l1);
    return ok;
}

bool qcow2_snapshot_delete(BlockDriverState *bs, const char *name,
                           GError **errp)
{
    return snapshot_op(bs, name, snapshot_delete_locked, NULL, errp);
}

/*
 * Revert: the snapshot's tables gain a reference, the active L1 becomes
 * a copy of the snapshot's (on disk before the old tables lose theirs),
 * then COPIED flags are recomputed and the virtual size becomes the
 * snapshot's.
 */
static bool snapshot_goto_locked(BlockDriverState *bs, const char *name,
                                 const void *opaque, GError **errp)
{
    Qcow2State *s = bs->opaque;
    int i = find_snapshot(s, name);
    uint64_t *sn_l1 = NULL, *old = NULL, size;
    const Qcow2Snapshot *sn;
    bool ok = false;

    if (i < 0) {
        error_setg(errp, "'%s': no snapshot '%s'", s->name, name);
        return false;
    }
    sn = &s->snapshots[i];
    size = sn->extra_size >= 16 ? sn->disk_size : bs->size;
    if (!qcow2_grow_l1(bs, MAX(sn->l1_size, qcow2_l1_size_for(s, size)),
                       errp) ||
        !load_l1(bs, sn, &sn_l1, errp) ||
        !qcow2_update_l1_refcounts(bs, sn_l1, sn->l1_size, 1, errp) ||
        !qcow2_flush_caches(bs, errp)) {
        goto out;
    }
    old = s->l1;
    s->l1 = g_new0(uint64_t, MAX(s->l1_size, 1));
    memcpy(s->l1, sn_l1, sn->l1_size * 8ULL);
    if (!qcow2_write_l1(bs, errp) || !bdrv_flush(bs->file, errp) ||
        !qcow2_update_l1_refcounts(bs, old, s->l1_size, -1, errp) ||
        !qcow2_update_l1_refcounts(bs, s->l1, s->l1_size, 0, errp) ||
        !qcow2_write_l1(bs, errp)) {
        goto out;
    }
    ok = qcow2_set_virtual_size(bs, size, errp);
out:
    g_free(sn_l1);
    g_free(old);
    return ok;
}

bool qcow2_snapshot_goto(BlockDriverState *bs, const char *name,
                         GError **errp)
{
    return snapshot_op(bs, name, snapshot_goto_locked, NULL, errp);
}
