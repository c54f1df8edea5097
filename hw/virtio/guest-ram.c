/*
 * The guest RAM table behind include/hw/virtio/guest-ram.h.
 */
#include "qemu/osdep.h"
#include "system/memory.h"
#include "system/main-loop.h"
#include "hw/virtio/guest-ram.h"

typedef struct GuestRAMRange {
    uint64_t start;
    uint64_t size;
    uint8_t *host;
    bool readonly;          /* ROM, or RAM made read-only */
    MemoryRegion *mr;       /* for migration's dirty log */
    uint64_t offset;        /* of @start in @mr */
} GuestRAMRange;

typedef struct GuestRAMMap {
    unsigned nr;
    GuestRAMRange *ranges;  /* sorted, non-overlapping (from the flat view) */
} GuestRAMMap;

static GuestRAMMap *ram_map;
static GRWLock ram_map_lock;
static MemoryListener ram_listener;

static GuestRAMMap *build_map(const FlatView *view)
{
    GuestRAMMap *m = g_new0(GuestRAMMap, 1);

    m->ranges = g_new0(GuestRAMRange, view->nr ? view->nr : 1);
    for (unsigned i = 0; i < view->nr; i++) {
        const FlatRange *fr = &view->ranges[i];
        MemoryRegion *mr = fr->mr;

        if ((mr->type != MR_RAM && mr->type != MR_ROM) || !mr->ram) {
            continue;
        }
        m->ranges[m->nr++] = (GuestRAMRange){
            .start = fr->start,
            .size = fr->size,
            .host = mr->ram + fr->offset,
            .readonly = fr->readonly || mr->type == MR_ROM,
            .mr = mr,
            .offset = fr->offset,
        };
    }
    return m;
}

static void map_free(GuestRAMMap *m)
{
    if (m) {
        g_free(m->ranges);
        g_free(m);
    }
}

static void ram_map_commit(MemoryListener *l, AddressSpace *as,
                           const FlatView *old_view,
                           const FlatView *new_view)
{
    GuestRAMMap *new_map = build_map(new_view), *old;

    g_rw_lock_writer_lock(&ram_map_lock);
    old = ram_map;
    ram_map = new_map;
    g_rw_lock_writer_unlock(&ram_map_lock);
    map_free(old);
}

void guest_ram_map_init(void)
{
    if (ram_listener.commit) {
        return;
    }
    ram_listener.commit = ram_map_commit;
    memory_listener_register(&ram_listener, &address_space_memory);
}

static const GuestRAMRange *find_range(const GuestRAMMap *m, uint64_t gpa)
{
    unsigned lo = 0, hi = m ? m->nr : 0;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const GuestRAMRange *r = &m->ranges[mid];

        if (gpa < r->start) {
            hi = mid;
        } else if (gpa - r->start >= r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

static void *lookup(uint64_t gpa, uint64_t *len, bool write, bool log)
{
    const GuestRAMRange *r = find_range(ram_map, gpa);
    uint64_t off;

    if (!r || !*len || (write && r->readonly)) {
        return NULL;
    }
    off = gpa - r->start;
    *len = MIN(*len, r->size - off);
    if (write && log && G_UNLIKELY(r->mr->mig_dirty)) {
        /*
         * A device writes behind the memory map's back: a migration must
         * send these pages again.  Logged before the write, and again by
         * guest_ram_mark_written after it where the write may land later
         * (virtqueue_fill, the ring stores).
         */
        memory_region_set_migration_dirty(r->mr, r->offset + off, *len);
    }
    return r->host + off;
}

void *guest_ram_lookup(uint64_t gpa, uint64_t *len, bool write)
{
    return lookup(gpa, len, write, true);
}

void *guest_ram_lookup_unlogged(uint64_t gpa, uint64_t *len, bool write)
{
    return lookup(gpa, len, write, false);
}

void guest_ram_mark_written(uint64_t gpa, uint64_t len)
{
    while (len) {
        const GuestRAMRange *r = find_range(ram_map, gpa);
        uint64_t off, n;

        if (!r) {
            return;
        }
        off = gpa - r->start;
        n = MIN(len, r->size - off);
        if (G_UNLIKELY(r->mr->mig_dirty)) {
            memory_region_set_migration_dirty(r->mr, r->offset + off, n);
        }
        gpa += n;
        len -= n;
    }
}

void *guest_ram_ptr(uint64_t gpa, uint64_t len, bool write)
{
    uint64_t got = len;
    void *p;

    if (gpa + len < gpa) {
        return NULL;
    }
    p = guest_ram_lookup(gpa, &got, write);
    return p && got == len ? p : NULL;
}

void guest_ram_read_lock(void)
{
    g_rw_lock_reader_lock(&ram_map_lock);
}

void guest_ram_read_unlock(void)
{
    g_rw_lock_reader_unlock(&ram_map_lock);
}
