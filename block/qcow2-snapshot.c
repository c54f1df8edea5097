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
