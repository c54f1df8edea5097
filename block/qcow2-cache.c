/*
 * qcow2 metadata caches: L2 tables and refcount blocks, one cluster per
 * entry, write-back with least-recently-used eviction.
 *
 * Ordering (crash consistency, docs/block.md): the L2 cache depends on
 * the refcount cache.  Before any L2 table is written, dirty refcount
 * blocks are written and the file flushed, so an L2 entry on disk never
 * points at a cluster whose refcount is still 0 on disk.
 */
#include "qemu/osdep.h"
#include "qcow2.h"

Qcow2Cache *qcow2_cache_new(Qcow2State *s, int size, int ol_kind)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);

    c->size = size;
    c->ol_kind = ol_kind;
    c->entries = g_new0(Qcow2CacheEntry, size);
    for (int i = 0; i < size; i++) {
        c->entries[i].data = g_malloc(s->cluster_size);
    }
    return c;
}

void qcow2_cache_free(Qcow2Cache *c)
{
    if (!c) {
        return;
    }
    for (int i = 0; i < c->size; i++) {
        g_free(c->entries[i].data);
    }
    g_free(c->entries);
    g_free(c);
}

bool qcow2_cache_is_dirty(Qcow2Cache *c)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].dirty) {
            return true;
        }
    }
    return false;
}

/* Write what this cache's tables depend on first (see the top). */
static bool flush_dependency(BlockDriverState *bs, Qcow2Cache *c,
                             GError **errp)
{
    if (!c->depends || !qcow2_cache_is_dirty(c->depends)) {
        return true;
    }
    return qcow2_cache_flush(bs, c->depends, errp) &&
           bdrv_flush(bs->file, errp);
}

static bool write_entry(BlockDriverState *bs, Qcow2Cache *c,
                        Qcow2CacheEntry *e, GError **errp)
{
    Qcow2State *s = bs->opaque;

    if (!e->dirty) {
        return true;
    }
    if (!flush_dependency(bs, c, errp) ||
        !qcow2_write_meta(bs, c->ol_kind, e->offset, e->data,
                          s->cluster_size, errp)) {
        return false;
    }
    e->dirty = false;
    return true;
}

bool qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c, GError **errp)
{
    for (int i = 0; i < c->size; i++) {
        if (!write_entry(bs, c, &c->entries[i], errp)) {
            return false;
        }
    }
    return true;
}

/*
 * The table at @offset.  With @read false the entry is zero-filled (a
 * table just allocated).  The pointer is valid until the next get on
 * this cache.
 */
uint8_t *qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                         uint64_t offset, bool read, GError **errp)
{
    Qcow2State *s = bs->opaque;
    Qcow2CacheEntry *victim = &c->entries[0];

    for (int i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];

        if (e->offset == offset) {
            e->lru = ++c->lru_clock;
            if (!read) {
                memset(e->data, 0, s->cluster_size);
            }
            return e->data;
        }
        if (e->lru < victim->lru) {
            victim = e;
        }
    }
    if (!write_entry(bs, c, victim, errp)) {
        return NULL;
    }
    victim->offset = 0;
    if (read) {
        if (!bdrv_pread(bs->file, offset, s->cluster_size, victim->data,
                        errp)) {
            return NULL;
        }
    } else {
        memset(victim->data, 0, s->cluster_size);
    }
    victim->offset = offset;
    victim->lru = ++c->lru_clock;
    return victim->data;
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, const uint8_t *data)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].data == data) {
            c->entries[i].dirty = true;
            return;
        }
    }
    g_assert_not_reached();
}

/* The cluster was freed: its cached copy must never be written back. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].offset == offset) {
            c->entries[i].offset = 0;
            c->entries[i].dirty = false;
            c->entries[i].lru = 0;
        }
    }
}

/* Everything cached to disk, in dependency order, then a file flush. */
bool qcow2_flush_caches(BlockDriverState *bs, GError **errp)
{
    Qcow2State *s = bs->opaque;

    return qcow2_cache_flush(bs, s->l2_cache, errp) &&
           qcow2_cache_flush(bs, s->rb_cache, errp) &&
           bdrv_flush(bs->file, errp);
}
