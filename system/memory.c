/*
 * The memory map: region tree, flattening, and access dispatch.
 *
 * A change to any region marks the views dirty; the outermost transaction
 * commit renders each address space's tree into a FlatView (sorted,
 * non-overlapping ranges pointing at leaf regions) and tells listeners
 * (the accelerator's slot code) the old and new view.  Accesses find their
 * range by binary search.
 */
#include "qemu/osdep.h"
#include "system/memory.h"
#include <sys/mman.h>

AddressSpace address_space_memory;
AddressSpace address_space_io;
static MemoryRegion system_memory;
static MemoryRegion system_io;

static unsigned transaction_depth;
static bool views_dirty;
static bool log_unassigned;

static void address_space_update_view(AddressSpace *as);

void memory_set_log_unassigned(bool on)
{
    log_unassigned = on;
}

/* ---- region tree ---------------------------------------------------- */

static void memory_region_init_common(MemoryRegion *mr, MemoryRegionType type,
                                      const char *name, uint64_t size)
{
    memset(mr, 0, sizeof(*mr));
    mr->type = type;
    mr->name = g_strdup(name ? name : "anonymous");
    mr->size = size;
    mr->enabled = true;
}

void memory_region_init_container(MemoryRegion *mr, const char *name,
                                  uint64_t size)
{
    memory_region_init_common(mr, MR_CONTAINER, name, size);
}

#define GUEST_MEMORY_ALIGN (2 * 1024 * 1024)

/*
 * Anonymous memory, 2 MiB aligned so that transparent huge pages can back
 * it from its first byte (KVM then maps guest RAM with large pages, and
 * the host touches fewer page-table entries).
 */
static uint8_t *alloc_guest_memory(uint64_t size, const char *name)
{
    uint64_t len = ALIGN_UP(size ? size : 1, (uint64_t)getpagesize());
    uint64_t padded = len + GUEST_MEMORY_ALIGN;
    uint8_t *p = mmap(NULL, padded, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uint8_t *aligned;

    if (p == MAP_FAILED) {
        error_report("cannot allocate %" PRIu64 " bytes for '%s': %s",
                     size, name, g_strerror(errno));
        exit(1);
    }
    aligned = (uint8_t *)ALIGN_UP((uintptr_t)p, GUEST_MEMORY_ALIGN);
    if (aligned > p) {
        munmap(p, aligned - p);
    }
    munmap(aligned + len, (p + padded) - (aligned + len));
    if (len >= GUEST_MEMORY_ALIGN) {
        madvise(aligned, len, MADV_HUGEPAGE);   /* a hint; failure is fine */
    }
    return aligned;
}

/* Every RAM and ROM region, in creation order (what migration sends). */
static GPtrArray *ram_regions;

GPtrArray *memory_ram_regions(void)
{
    if (!ram_regions) {
        ram_regions = g_ptr_array_new();
    }
    return ram_regions;
}

void memory_region_init_ram(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_common(mr, MR_RAM, name, size);
    mr->ram = alloc_guest_memory(size, name);
    g_ptr_array_add(memory_ram_regions(), mr);
}

void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name,
                                 uint64_t size, void *host)
{
    memory_region_init_common(mr, MR_RAM, name, size);
    mr->ram = host;
    mr->ram_external = true;
    g_ptr_array_add(memory_ram_regions(), mr);
}

void memory_region_init_rom(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_common(mr, MR_ROM, name, size);
    mr->ram = alloc_guest_memory(size, name);
    g_ptr_array_add(memory_ram_regions(), mr);
}

void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size)
{
    memory_region_init_common(mr, MR_IO, name, size);
    mr->ops = ops;
    mr->opaque = opaque;
    mr->owner = opaque;
}

void memory_region_set_owner(MemoryRegion *mr, const void *owner)
{
    mr->owner = owner;
}

void memory_region_init_alias(MemoryRegion *mr, const char *name,
                              MemoryRegion *orig, uint64_t offset,
                              uint64_t size)
{
    memory_region_init_common(mr, MR_ALIAS, name, size);
    mr->alias = orig;
    mr->alias_offset = offset;
    orig->alias_refs++;
}

static void mark_views_dirty(void)
{
    views_dirty = true;
    if (transaction_depth == 0) {
        memory_region_transaction_begin();
        memory_region_transaction_commit();
    }
}

/*
 * Only changes to regions reachable from a root can change a view; a tree
 * whose top is the target of an alias may be reachable through it.
 */
static bool memory_region_is_visible(const MemoryRegion *mr)
{
    while (mr->parent) {
        mr = mr->parent;
    }
    return mr->as != NULL || mr->alias_refs > 0;
}

void memory_region_destroy(MemoryRegion *mr)
{
    /* The target may be gone already (zeroed): never wrap the count. */
    if (mr->type == MR_ALIAS && mr->alias && mr->alias->alias_refs) {
        mr->alias->alias_refs--;
    }
    if (mr->parent) {
        memory_region_del_subregion(mr->parent, mr);
    }
    if (mr->subregions) {
        while (mr->subregions->len) {
            memory_region_del_subregion(mr,
                                        g_ptr_array_index(mr->subregions, 0));
        }
        g_ptr_array_unref(mr->subregions);
    }
    if (mr->ram) {
        if (!mr->ram_external) {
            munmap(mr->ram, mr->size ? mr->size : 1);
        }
        g_ptr_array_remove(memory_ram_regions(), mr);
    }
    g_free(mr->dirty);
    g_free(mr->mig_dirty);
    g_free(mr->name);
    memset(mr, 0, sizeof(*mr));
}

void memory_region_add_subregion_overlap(MemoryRegion *parent,
                                         uint64_t offset, MemoryRegion *sub,
                                         int priority)
{
    unsigned i;

    g_assert(!sub->parent);
    if (!parent->subregions) {
        parent->subregions = g_ptr_array_new();
    }
    sub->parent = parent;
    sub->addr = offset;
    sub->priority = priority;
    /*
     * Keep children sorted by descending priority; among equals the newest
     * comes first and so wins, which lets a later mapping shadow an older
     * one of the same rank.
     */
    for (i = 0; i < parent->subregions->len; i++) {
        MemoryRegion *other = g_ptr_array_index(parent->subregions, i);
        if (priority >= other->priority) {
            break;
        }
    }
    g_ptr_array_insert(parent->subregions, i, sub);
    if (memory_region_is_visible(parent)) {
        mark_views_dirty();
    }
}

void memory_region_add_subregion(MemoryRegion *parent, uint64_t offset,
                                 MemoryRegion *sub)
{
    memory_region_add_subregion_overlap(parent, offset, sub, 0);
}

void memory_region_del_subregion(MemoryRegion *parent, MemoryRegion *sub)
{
    bool visible = memory_region_is_visible(parent);

    g_assert(sub->parent == parent);
    g_ptr_array_remove(parent->subregions, sub);
    sub->parent = NULL;
    if (visible) {
        mark_views_dirty();
    }
}

static void region_changed(MemoryRegion *mr)
{
    if (memory_region_is_visible(mr)) {
        mark_views_dirty();
    } else {
        /* An alias elsewhere may point at it; re-render to be safe. */
        mark_views_dirty();
    }
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    if (mr->enabled != enabled) {
        mr->enabled = enabled;
        region_changed(mr);
    }
}

void memory_region_set_address(MemoryRegion *mr, uint64_t addr)
{
    MemoryRegion *parent = mr->parent;
    int prio = mr->priority;

    if (mr->addr == addr) {
        return;
    }
    if (!parent) {
        mr->addr = addr;
        return;
    }
    memory_region_transaction_begin();
    memory_region_del_subregion(parent, mr);
    memory_region_add_subregion_overlap(parent, addr, mr, prio);
    memory_region_transaction_commit();
}

void memory_region_set_size(MemoryRegion *mr, uint64_t size)
{
    if (mr->size != size) {
        g_assert(mr->type != MR_RAM && mr->type != MR_ROM);
        mr->size = size;
        region_changed(mr);
    }
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    if (mr->readonly != readonly) {
        mr->readonly = readonly;
        region_changed(mr);
    }
}

void memory_region_set_alias_offset(MemoryRegion *mr, uint64_t offset)
{
    if (mr->alias_offset != offset) {
        mr->alias_offset = offset;
        region_changed(mr);
    }
}

/* ---- dirty logging -------------------------------------------------- */

#define DIRTY_BITS_PER_LONG (8 * sizeof(unsigned long))

static uint64_t dirty_pages(const MemoryRegion *mr)
{
    return ((mr->size + MEMORY_DIRTY_PAGE_SIZE - 1) / MEMORY_DIRTY_PAGE_SIZE);
}

static bool page_span(const MemoryRegion *mr, uint64_t offset,
                      uint64_t len, uint64_t *first, uint64_t *last);
static unsigned long *new_dirty_bitmap(const MemoryRegion *mr);

/* Pages [first, last] of the region touched by [offset, offset + len). */
static bool dirty_page_span(const MemoryRegion *mr, uint64_t offset,
                            uint64_t len, uint64_t *first, uint64_t *last)
{
    if (!mr->dirty || !len || offset >= mr->size) {
        return false;
    }
    return page_span(mr, offset, len, first, last);
}

static bool page_span(const MemoryRegion *mr, uint64_t offset,
                      uint64_t len, uint64_t *first, uint64_t *last)
{
    if (!len || offset >= mr->size) {
        return false;
    }
    len = MIN(len, mr->size - offset);
    *first = offset / MEMORY_DIRTY_PAGE_SIZE;
    *last = (offset + len - 1) / MEMORY_DIRTY_PAGE_SIZE;
    return true;
}

void memory_region_set_log(MemoryRegion *mr, bool log)
{
    if (mr->log_dirty == log) {
        return;
    }
    mr->log_dirty = log;
    if (log && !mr->dirty) {
        mr->dirty = new_dirty_bitmap(mr);
    } else if (!log) {
        g_clear_pointer(&mr->dirty, g_free);
    }
    region_changed(mr);
}

static unsigned long *new_dirty_bitmap(const MemoryRegion *mr)
{
    uint64_t n = (dirty_pages(mr) + DIRTY_BITS_PER_LONG - 1) /
                 DIRTY_BITS_PER_LONG;
    unsigned long *bm = g_new(unsigned long, n ? n : 1);

    memset(bm, 0xff, (n ? n : 1) * sizeof(unsigned long));
    return bm;
}

void memory_region_set_log_migration(MemoryRegion *mr, bool log)
{
    if (mr->log_migration == log) {
        return;
    }
    mr->log_migration = log;
    if (log) {
        g_free(mr->mig_dirty);
        mr->mig_dirty = new_dirty_bitmap(mr);   /* the first pass: all */
    } else {
        g_clear_pointer(&mr->mig_dirty, g_free);
    }
    region_changed(mr);
}

uint64_t memory_region_dirty_pages(const MemoryRegion *mr)
{
    return dirty_pages(mr);
}

void memory_region_set_migration_dirty(MemoryRegion *mr, uint64_t offset,
                                       uint64_t len)
{
    uint64_t first, last;

    if (!mr->mig_dirty || !page_span(mr, offset, len, &first, &last)) {
        return;
    }
    for (uint64_t p = first; p <= last; p++) {
        __atomic_fetch_or(&mr->mig_dirty[p / DIRTY_BITS_PER_LONG],
                          1UL << (p % DIRTY_BITS_PER_LONG), __ATOMIC_RELAXED);
    }
}

/* Each client that logs the region gets the pages in its bitmap. */
void memory_region_set_dirty(MemoryRegion *mr, uint64_t offset, uint64_t len)
{
    uint64_t first, last;

    if (!page_span(mr, offset, len, &first, &last)) {
        return;
    }
    for (uint64_t p = first; p <= last; p++) {
        unsigned long bit = 1UL << (p % DIRTY_BITS_PER_LONG);
        if (mr->dirty) {
            mr->dirty[p / DIRTY_BITS_PER_LONG] |= bit;
        }
        if (mr->mig_dirty) {
            __atomic_fetch_or(&mr->mig_dirty[p / DIRTY_BITS_PER_LONG], bit,
                              __ATOMIC_RELAXED);
        }
    }
}

bool memory_region_get_dirty(const MemoryRegion *mr, uint64_t offset,
                             uint64_t len)
{
    uint64_t first, last;

    if (!dirty_page_span(mr, offset, len, &first, &last)) {
        return false;
    }
    for (uint64_t p = first; p <= last; p++) {
        if (mr->dirty[p / DIRTY_BITS_PER_LONG] &
            (1UL << (p % DIRTY_BITS_PER_LONG))) {
            return true;
        }
    }
    return false;
}

void memory_region_reset_dirty(MemoryRegion *mr, uint64_t offset,
                               uint64_t len)
{
    uint64_t first, last;

    if (!dirty_page_span(mr, offset, len, &first, &last)) {
        return;
    }
    for (uint64_t p = first; p <= last; p++) {
        mr->dirty[p / DIRTY_BITS_PER_LONG] &=
            ~(1UL << (p % DIRTY_BITS_PER_LONG));
    }
}

static void sync_dirty_in(AddressSpace *as, MemoryRegion *mr)
{
    if (!as->view || !as->listeners) {
        return;
    }
    for (unsigned i = 0; i < as->view->nr; i++) {
        const FlatRange *fr = &as->view->ranges[i];

        if (fr->mr != mr) {
            continue;
        }
        for (unsigned l = 0; l < as->listeners->len; l++) {
            MemoryListener *ml = g_ptr_array_index(as->listeners, l);
            if (ml->log_sync) {
                ml->log_sync(ml, as, fr);
            }
        }
    }
}

void memory_region_sync_dirty(MemoryRegion *mr)
{
    if (mr->dirty || mr->mig_dirty) {
        sync_dirty_in(&address_space_memory, mr);
    }
}

/* A write through the memory map into RAM: log it for the region. */
static inline void log_ram_write(MemoryRegion *mr, uint64_t off, uint64_t len)
{
    if (G_UNLIKELY(mr->dirty || mr->mig_dirty)) {
        memory_region_set_dirty(mr, off, len);
    }
}

/* ---- flattening ----------------------------------------------------- */

typedef struct ViewBuilder {
    GArray *ranges;     /* FlatRange, sorted, non-overlapping */
} ViewBuilder;

/* Insert [start, end) of @mr into the gaps the builder still has. */
static void view_fill_gaps(ViewBuilder *vb, uint64_t start, uint64_t end,
                           MemoryRegion *mr, __int128 mr_base, bool readonly)
{
    unsigned i = 0;

    while (start < end) {
        /* Skip ranges that end at or before @start. */
        while (i < vb->ranges->len) {
            FlatRange *r = &g_array_index(vb->ranges, FlatRange, i);
            if (r->start + r->size > start) {
                break;
            }
            i++;
        }
        if (i < vb->ranges->len) {
            FlatRange *r = &g_array_index(vb->ranges, FlatRange, i);
            if (r->start <= start) {
                start = r->start + r->size;     /* covered: skip past it */
                continue;
            }
            uint64_t gap_end = MIN(end, r->start);
            FlatRange nr = { start, gap_end - start, mr, (uint64_t)(start - mr_base),
                             readonly };
            g_array_insert_val(vb->ranges, i, nr);
            start = gap_end;
            i++;
        } else {
            FlatRange nr = { start, end - start, mr, (uint64_t)(start - mr_base),
                             readonly };
            g_array_append_val(vb->ranges, nr);
            start = end;
        }
    }
}

/*
 * Render @mr whose offset 0 sits at @base, clipped to [clip_start,
 * clip_end).  Children go first so they shadow their parent's contents.
 */
typedef __int128 Addr128;  /* an alias may place a region's start below 0 */

static void render_region(ViewBuilder *vb, MemoryRegion *mr, Addr128 base,
                          uint64_t clip_start, uint64_t clip_end,
                          bool readonly, unsigned depth)
{
    Addr128 lo, hi;
    uint64_t start, end;

    if (!mr->enabled || depth > 64) {
        return;
    }
    lo = MAX(base, (Addr128)clip_start);
    hi = MIN(base + (Addr128)mr->size, (Addr128)clip_end);
    if (lo >= hi) {
        return;
    }
    start = (uint64_t)lo;
    end = (uint64_t)hi;
    readonly |= mr->readonly;

    if (mr->type == MR_ALIAS) {
        if (mr->alias) {
            render_region(vb, mr->alias, base - (Addr128)mr->alias_offset, start, end,
                          readonly, depth + 1);
        }
        return;
    }
    if (mr->subregions) {
        for (unsigned i = 0; i < mr->subregions->len; i++) {
            MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);
            render_region(vb, sub, base + (Addr128)sub->addr, start, end, readonly,
                          depth + 1);
        }
    }
    if (mr->type != MR_CONTAINER) {
        view_fill_gaps(vb, start, end, mr, base,
                       readonly || mr->type == MR_ROM);
    }
}

static FlatView *generate_view(AddressSpace *as)
{
    ViewBuilder vb = { g_array_new(FALSE, FALSE, sizeof(FlatRange)) };
    FlatView *view = g_new0(FlatView, 1);
    uint64_t limit = as->is_io ? 0x10000 : UINT64_MAX;

    render_region(&vb, as->root, 0, 0, limit, false, 0);
    view->nr = vb.ranges->len;
    view->ranges = (FlatRange *)g_array_free(vb.ranges, FALSE);
    return view;
}

static void flatview_free(FlatView *view)
{
    if (view) {
        g_free(view->ranges);
        g_free(view);
    }
}

static void address_space_update_view(AddressSpace *as)
{
    FlatView *old = as->view;
    FlatView *new = generate_view(as);

    as->view = new;
    for (unsigned i = 0; as->listeners && i < as->listeners->len; i++) {
        MemoryListener *l = g_ptr_array_index(as->listeners, i);
        l->commit(l, as, old, new);
    }
    flatview_free(old);
}

void memory_region_transaction_begin(void)
{
    transaction_depth++;
}

void memory_region_transaction_commit(void)
{
    g_assert(transaction_depth > 0);
    if (--transaction_depth == 0 && views_dirty) {
        views_dirty = false;
        if (address_space_memory.root) {
            address_space_update_view(&address_space_memory);
        }
        if (address_space_io.root) {
            address_space_update_view(&address_space_io);
        }
    }
}

void memory_listener_register(MemoryListener *l, AddressSpace *as)
{
    static const FlatView empty;

    if (!as->listeners) {
        as->listeners = g_ptr_array_new();
    }
    g_ptr_array_add(as->listeners, l);
    l->commit(l, as, &empty, as->view);
}

void memory_listener_unregister(MemoryListener *l, AddressSpace *as)
{
    if (as->listeners) {
        g_ptr_array_remove(as->listeners, l);
    }
}

static void address_space_init(AddressSpace *as, MemoryRegion *root,
                               const char *name, bool is_io)
{
    as->name = g_strdup(name);
    as->root = root;
    as->is_io = is_io;
    root->as = as;
    as->view = generate_view(as);
}

void memory_init(void)
{
    if (address_space_memory.root) {
        return;
    }
    memory_region_init_container(&system_memory, "system", UINT64_MAX);
    memory_region_init_container(&system_io, "io", 0x10000);
    address_space_init(&address_space_memory, &system_memory, "memory",
                       false);
    address_space_init(&address_space_io, &system_io, "I/O", true);
}

MemoryRegion *get_system_memory(void)
{
    memory_init();
    return &system_memory;
}

MemoryRegion *get_system_io(void)
{
    memory_init();
    return &system_io;
}

/* ---- dispatch ------------------------------------------------------- */

const FlatRange *address_space_lookup(AddressSpace *as, uint64_t addr)
{
    const FlatView *v = as->view;
    unsigned lo = 0, hi = v ? v->nr : 0;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const FlatRange *r = &v->ranges[mid];
        if (addr < r->start) {
            hi = mid;
        } else if (addr - r->start >= r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

bool address_space_is_ram(AddressSpace *as, uint64_t addr, uint64_t len,
                          bool is_write)
{
    if (len > UINT64_MAX - addr) {
        return false;
    }
    while (len) {
        const FlatRange *r = address_space_lookup(as, addr);
        uint64_t n;

        if (!r || (r->mr->type != MR_RAM && r->mr->type != MR_ROM) ||
            (is_write && r->readonly)) {
            return false;
        }
        n = MIN(len, r->start + r->size - addr);
        addr += n;
        len -= n;
    }
    return true;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static void io_limits(const MemoryRegionOps *ops, unsigned *min, unsigned *max)
{
    *min = ops->min_access_size ? ops->min_access_size : 1;
    *max = ops->max_access_size ? ops->max_access_size : 8;
}

/* A naturally sized piece within one IO region. */
static uint64_t io_read_piece(MemoryRegion *mr, uint64_t off, unsigned size)
{
    unsigned min, max;

    io_limits(mr->ops, &min, &max);
    if (!mr->ops->read) {
        return size_mask(size);
    }
    if (size < min) {
        uint64_t base = ALIGN_DOWN(off, min);
        uint64_t wide = mr->ops->read(mr->opaque, base, min);
        return (wide >> ((off - base) * 8)) & size_mask(size);
    }
    if (size > max) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i += max) {
            v |= io_read_piece(mr, off + i, max) << (i * 8);
        }
        return v;
    }
    return mr->ops->read(mr->opaque, off, size) & size_mask(size);
}

static void io_write_piece(MemoryRegion *mr, uint64_t off, uint64_t val,
                           unsigned size)
{
    unsigned min, max;

    io_limits(mr->ops, &min, &max);
    if (!mr->ops->write) {
        return;
    }
    if (size < min) {
        uint64_t base = ALIGN_DOWN(off, min);
        unsigned shift = (off - base) * 8;
        uint64_t wide = mr->ops->read ? mr->ops->read(mr->opaque, base, min)
                                      : 0;
        wide &= ~(size_mask(size) << shift);
        wide |= (val & size_mask(size)) << shift;
        mr->ops->write(mr->opaque, base, wide, min);
        return;
    }
    if (size > max) {
        for (unsigned i = 0; i < size; i += max) {
            io_write_piece(mr, off + i, val >> (i * 8), max);
        }
        return;
    }
    mr->ops->write(mr->opaque, off, val & size_mask(size), size);
}

static void log_unassigned_access(AddressSpace *as, uint64_t addr,
                                  unsigned size, bool write, uint64_t val)
{
    if (log_unassigned) {
        fprintf(stderr, "kvmpc: unassigned %s %s 0x%" PRIx64 " size %u"
                " value 0x%" PRIx64 "\n", as->name, write ? "write" : "read",
                addr, size, val);
    }
}

/*
 * The re-entrancy guard.  Device callbacks may start DMA or send MSIs, and
 * those go through this dispatch again; a guest can aim them at the
 * device's own registers (or at a device that aims back), which would
 * recurse without end.  A real bus never loops like that: a device cannot
 * be both the master and the target of one transaction.  So each thread
 * keeps the owners whose callbacks it is running, innermost last, and an
 * access into one of them, or one nested deeper than the stack, is dropped
 * (reads give all-ones) and reported once per region.  The stack lives on
 * the thread: no allocation and no lock on the dispatch path.
 */
static __thread const void *io_owners[MEMORY_MAX_NESTED_IO];
static __thread unsigned io_depth;

static bool io_owner_busy(const void *owner)
{
    for (unsigned i = 0; i < io_depth; i++) {
        if (io_owners[i] == owner) {
            return true;
        }
    }
    return false;
}

static bool io_enter(AddressSpace *as, MemoryRegion *mr, uint64_t addr,
                     bool write)
{
    bool busy = io_owner_busy(mr->owner);

    if (!busy && io_depth < MEMORY_MAX_NESTED_IO) {
        io_owners[io_depth++] = mr->owner;
        return true;
    }
    if (!mr->reentry_logged) {
        mr->reentry_logged = true;
        error_report("%s of %s 0x%" PRIx64 " (%s) dropped: %s",
                     write ? "write" : "read", as->name, addr, mr->name,
                     busy ? "re-entrant access into a device that is "
                            "handling one already"
                          : "device accesses nested too deep");
    }
    return false;
}

static void io_leave(void)
{
    io_depth--;
}

void memory_io_owner_enter(const void *owner)
{
    /* Called from a main-loop source, outside every callback. */
    g_assert(io_depth < MEMORY_MAX_NESTED_IO);
    io_owners[io_depth++] = owner;
}

void memory_io_owner_leave(void)
{
    io_leave();
}

MemTxResult address_space_read_val(AddressSpace *as, uint64_t addr,
                                   uint64_t *val, unsigned size)
{
    const FlatRange *r = address_space_lookup(as, addr);

    if (r && addr - r->start + size > r->size) {
        /* Crosses into another range: assemble byte by byte. */
        uint64_t v = 0, b;
        MemTxResult res = MEMTX_OK;
        for (unsigned i = 0; i < size; i++) {
            res |= address_space_read_val(as, addr + i, &b, 1);
            v |= b << (i * 8);
        }
        *val = v;
        return res;
    }
    if (!r) {
        *val = size_mask(size);
        log_unassigned_access(as, addr, size, false, 0);
        return MEMTX_DECODE_ERROR;
    }
    uint64_t off = addr - r->start + r->offset;
    if (r->mr->type == MR_IO) {
        if (!io_enter(as, r->mr, addr, false)) {
            *val = size_mask(size);
            return MEMTX_ACCESS_ERROR;
        }
        *val = io_read_piece(r->mr, off, size);
        io_leave();
    } else {
        uint8_t buf[8] = { 0 };
        memcpy(buf, r->mr->ram + off, size);
        *val = ldq_le_p(buf) & size_mask(size);
    }
    return MEMTX_OK;
}

MemTxResult address_space_write_val(AddressSpace *as, uint64_t addr,
                                    uint64_t val, unsigned size)
{
    const FlatRange *r = address_space_lookup(as, addr);

    if (r && addr - r->start + size > r->size) {
        MemTxResult res = MEMTX_OK;
        for (unsigned i = 0; i < size; i++) {
            res |= address_space_write_val(as, addr + i, val >> (i * 8), 1);
        }
        return res;
    }
    if (!r) {
        log_unassigned_access(as, addr, size, true, val);
        return MEMTX_DECODE_ERROR;
    }
    uint64_t off = addr - r->start + r->offset;
    if (r->mr->type == MR_IO) {
        if (!io_enter(as, r->mr, addr, true)) {
            return MEMTX_ACCESS_ERROR;
        }
        io_write_piece(r->mr, off, val, size);
        io_leave();
    } else if (!r->readonly) {
        uint8_t buf[8];
        stq_le_p(buf, val);
        memcpy(r->mr->ram + off, buf, size);
        log_ram_write(r->mr, off, size);
    }
    return MEMTX_OK;
}

/* Largest access (<= 8, power of two, aligned) that fits at @addr. */
static unsigned io_chunk(uint64_t addr, uint64_t len)
{
    unsigned n = 8;

    while (n > 1 && (n > len || (addr & (n - 1)))) {
        n >>= 1;
    }
    return n;
}

static MemTxResult address_space_rw(AddressSpace *as, uint64_t addr,
                                    uint8_t *buf, uint64_t len, bool write,
                                    bool force_rom)
{
    MemTxResult res = MEMTX_OK;

    while (len) {
        const FlatRange *r = address_space_lookup(as, addr);
        uint64_t n;

        if (r && r->mr->type != MR_IO) {
            uint64_t off = addr - r->start;
            n = MIN(len, r->size - off);
            uint8_t *host = r->mr->ram + r->offset + off;
            if (!write) {
                memcpy(buf, host, n);
            } else if (!r->readonly || force_rom) {
                memcpy(host, buf, n);
                log_ram_write(r->mr, r->offset + off, n);
            }
        } else {
            uint64_t v;
            n = io_chunk(addr, len);
            if (write) {
                uint8_t tmp[8] = { 0 };
                memcpy(tmp, buf, n);
                res |= address_space_write_val(as, addr, ldq_le_p(tmp), n);
            } else {
                uint8_t tmp[8];
                res |= address_space_read_val(as, addr, &v, n);
                stq_le_p(tmp, v);
                memcpy(buf, tmp, n);
            }
        }
        addr += n;
        buf += n;
        len -= n;
    }
    return res;
}

MemTxResult address_space_read(AddressSpace *as, uint64_t addr, void *buf,
                               uint64_t len)
{
    return address_space_rw(as, addr, buf, len, false, false);
}

MemTxResult address_space_write(AddressSpace *as, uint64_t addr,
                                const void *buf, uint64_t len)
{
    return address_space_rw(as, addr, (uint8_t *)buf, len, true, false);
}

MemTxResult address_space_write_rom(AddressSpace *as, uint64_t addr,
                                    const void *buf, uint64_t len)
{
    return address_space_rw(as, addr, (uint8_t *)buf, len, true, true);
}

/* ---- info mtree ----------------------------------------------------- */

static const char *region_type_name(const MemoryRegion *mr)
{
    static const char *const names[] = {
        [MR_CONTAINER] = "container", [MR_RAM] = "ram", [MR_ROM] = "rom",
        [MR_IO] = "i/o", [MR_ALIAS] = "alias",
    };
    if (mr->type == MR_RAM && mr->readonly) {
        return "ram (readonly)";
    }
    return names[mr->type];
}

static void mtree_print(GString *s, const MemoryRegion *mr, uint64_t base,
                        int level)
{
    uint64_t end = mr->size ? base + mr->size - 1 : base;

    g_string_append_printf(s, "%*s%016" PRIx64 "-%016" PRIx64
                           " (prio %d, %s): %s%s", level * 2, "", base, end,
                           mr->priority, region_type_name(mr), mr->name,
                           mr->enabled ? "" : " [disabled]");
    if (mr->type == MR_ALIAS && mr->alias) {
        g_string_append_printf(s, " @%s %016" PRIx64, mr->alias->name,
                               mr->alias_offset);
    }
    g_string_append_c(s, '\n');
    for (unsigned i = 0; mr->subregions && i < mr->subregions->len; i++) {
        const MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);
        mtree_print(s, sub, base + sub->addr, level + 1);
    }
}

char *memory_mtree_to_string(void)
{
    GString *s = g_string_new(NULL);

    memory_init();
    g_string_append(s, "address-space: memory\n");
    mtree_print(s, &system_memory, 0, 1);
    g_string_append(s, "\naddress-space: I/O\n");
    mtree_print(s, &system_io, 0, 1);
    return g_string_free(s, FALSE);
}
