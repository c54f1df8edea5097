/*
 * The memory map: a tree of regions for the guest-physical and I/O-port
 * address spaces, flattened once per change into a sorted list of ranges
 * that every access (vCPU exit, device DMA, qtest) is dispatched through.
 *
 * All functions here are called with the big lock held (see main-loop.h).
 */
#ifndef SYSTEM_MEMORY_H
#define SYSTEM_MEMORY_H

#include "qemu/osdep.h"

typedef struct MemoryRegion MemoryRegion;
typedef struct AddressSpace AddressSpace;
typedef struct FlatView FlatView;

typedef enum MemTxResult {
    MEMTX_OK = 0,
    MEMTX_DECODE_ERROR = 1,  /* nothing mapped there (reads give all-ones) */
    MEMTX_ACCESS_ERROR = 2,  /* refused: the target device is busy with an
                                access already (re-entrancy, see below) */
} MemTxResult;

typedef struct MemoryRegionOps {
    /* @addr is relative to the region start; @size is 1, 2, 4 or 8. */
    uint64_t (*read)(void *opaque, uint64_t addr, unsigned size);
    void (*write)(void *opaque, uint64_t addr, uint64_t val, unsigned size);
    /*
     * Access sizes the callbacks accept.  Wider accesses are split into
     * little-endian pieces of max_access_size; narrower ones are widened to
     * min_access_size (read-modify-write on store).  0 means 1 and 8.
     */
    unsigned min_access_size;
    unsigned max_access_size;
} MemoryRegionOps;

typedef enum MemoryRegionType {
    MR_CONTAINER,
    MR_RAM,      /* host memory, guest-writable (unless readonly is set) */
    MR_ROM,      /* host memory, guest writes are ignored */
    MR_IO,       /* callbacks */
    MR_ALIAS,    /* a window onto part of another region */
} MemoryRegionType;

struct MemoryRegion {
    MemoryRegionType type;
    char *name;
    uint64_t size;
    bool enabled;
    bool readonly;          /* RAM made read-only (PAM, flash lock) */
    int priority;           /* among siblings: higher wins where overlapping */

    /* MR_IO */
    const MemoryRegionOps *ops;
    void *opaque;
    /*
     * The device the callbacks belong to (the opaque unless set otherwise
     * with memory_region_set_owner).  While any region of an owner is
     * handling an access, further accesses into that owner's regions on
     * the same thread are refused: see "Re-entrant accesses" in
     * docs/design.md.
     */
    const void *owner;
    bool reentry_logged;    /* the refusal has been reported once */

    /* MR_RAM / MR_ROM */
    uint8_t *ram;
    bool ram_external;      /* memory_region_init_ram_ptr: the caller's
                               mapping, never unmapped here */
    bool ram_file_shared;   /* a share=on memory-backend-file: another
                               process mapping the same file sees this
                               memory (migration's x-ignore-shared) */

    /* MR_ALIAS */
    MemoryRegion *alias;
    unsigned alias_refs;        /* aliases that point at this region: a
                                   tree reached only through one (a PCI
                                   bridge's secondary space) still
                                   changes views */
    uint64_t alias_offset;

    /* placement */
    MemoryRegion *parent;
    uint64_t addr;          /* offset in parent */
    GPtrArray *subregions;  /* MR_CONTAINER (any region may hold children) */
    AddressSpace *as;       /* set on the root only */
    bool log_dirty;         /* RAM: ask the accelerator for dirty tracking */
    /*
     * With log_dirty: one bit per MEMORY_DIRTY_PAGE_SIZE page of the
     * region, set by writes through the memory map and merged from the
     * accelerator's log by memory_region_sync_dirty().
     */
    unsigned long *dirty;
    /*
     * Migration's own log of the region (a second client, so a display
     * and a migration never clear each other's pages): set by
     * memory_region_set_log_migration, filled by the same writes and
     * syncs as @dirty, read and cleared by the migration code only.
     */
    bool log_migration;
    unsigned long *mig_dirty;
};

/* One contiguous piece of the flattened view. */
typedef struct FlatRange {
    uint64_t start;         /* address in the address space */
    uint64_t size;
    MemoryRegion *mr;       /* the leaf (alias already resolved) */
    uint64_t offset;        /* offset of @start inside @mr */
    bool readonly;          /* ROM, or RAM marked readonly */
} FlatRange;

struct FlatView {
    FlatRange *ranges;      /* sorted by start, non-overlapping */
    unsigned nr;
};

/*
 * Told about every new flat view of an address space.  The accelerator uses
 * it to keep its memory slots equal to the RAM/ROM ranges.
 */
typedef struct MemoryListener {
    void (*commit)(struct MemoryListener *l, AddressSpace *as,
                   const FlatView *old_view, const FlatView *new_view);
    /*
     * Optional: merge what the accelerator logged as written in @fr (a
     * range of a region with log_dirty) into fr->mr->dirty, and clear the
     * accelerator's log for it.  Called by memory_region_sync_dirty().
     */
    void (*log_sync)(struct MemoryListener *l, AddressSpace *as,
                     const FlatRange *fr);
    void *opaque;
} MemoryListener;

struct AddressSpace {
    char *name;
    MemoryRegion *root;
    FlatView *view;
    GPtrArray *listeners;
    bool is_io;             /* I/O ports: 16-bit, no RAM */
};

/* The machine's two address spaces and their root containers. */
extern AddressSpace address_space_memory;
extern AddressSpace address_space_io;
MemoryRegion *get_system_memory(void);
MemoryRegion *get_system_io(void);
/* Create both address spaces (idempotent). */
void memory_init(void);

void memory_region_init_container(MemoryRegion *mr, const char *name,
                                  uint64_t size);
/* Allocates page-aligned, zeroed host memory (anonymous mmap). */
void memory_region_init_ram(MemoryRegion *mr, const char *name,
                            uint64_t size);
/* RAM on memory the caller mapped and keeps mapped (a memory backend);
 * migrated like any RAM region, under @name. */
void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name,
                                 uint64_t size, void *host);
void memory_region_init_rom(MemoryRegion *mr, const char *name,
                            uint64_t size);
void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size);
/*
 * Name the device behind an I/O region when its opaque is not the device
 * itself (a sub-object), so the re-entrancy guard sees one owner for all of
 * the device's regions.
 */
void memory_region_set_owner(MemoryRegion *mr, const void *owner);
void memory_region_init_alias(MemoryRegion *mr, const char *name,
                              MemoryRegion *orig, uint64_t offset,
                              uint64_t size);
/*
 * Every RAM and ROM region that exists (mapped or not), in creation order:
 * the blocks a migration sends.  Do not modify.
 */
GPtrArray *memory_ram_regions(void);
/* Detach from its parent if any and free name, RAM and child list. */
void memory_region_destroy(MemoryRegion *mr);

void memory_region_add_subregion(MemoryRegion *parent, uint64_t offset,
                                 MemoryRegion *sub);
void memory_region_add_subregion_overlap(MemoryRegion *parent,
                                         uint64_t offset, MemoryRegion *sub,
                                         int priority);
void memory_region_del_subregion(MemoryRegion *parent, MemoryRegion *sub);
void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
void memory_region_set_address(MemoryRegion *mr, uint64_t addr);
void memory_region_set_size(MemoryRegion *mr, uint64_t size);
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
void memory_region_set_alias_offset(MemoryRegion *mr, uint64_t offset);
/*
 * Dirty logging of a RAM region (framebuffers, and later migration).
 * Turning it on marks the whole region dirty and asks the accelerator to
 * log guest writes (KVM_MEM_LOG_DIRTY_PAGES on the region's slots); writes
 * through this memory map (qtest, DMA, loaders) are logged here.  A
 * consumer syncs, tests and resets page ranges:
 *
 *   memory_region_sync_dirty(mr);
 *   if (memory_region_get_dirty(mr, off, len)) { ...redraw... }
 *   memory_region_reset_dirty(mr, 0, mr->size);
 */
#define MEMORY_DIRTY_PAGE_SIZE 4096ULL
void memory_region_set_log(MemoryRegion *mr, bool log);
void memory_region_set_dirty(MemoryRegion *mr, uint64_t offset,
                             uint64_t len);
bool memory_region_get_dirty(const MemoryRegion *mr, uint64_t offset,
                             uint64_t len);
void memory_region_reset_dirty(MemoryRegion *mr, uint64_t offset,
                               uint64_t len);
/* Merge the accelerator's log of every mapping of @mr into its bitmaps
 * (both clients': the display's and migration's). */
void memory_region_sync_dirty(MemoryRegion *mr);
/*
 * Migration's client: turning it on gives the region a second bitmap
 * (mr->mig_dirty, all dirty at first) and turns on the accelerator's log
 * as memory_region_set_log does; memory_region_set_dirty and syncs fill
 * both bitmaps.  Bits of mig_dirty are set atomically, so the migration
 * thread can test-and-clear words of it with atomic exchanges.
 */
void memory_region_set_log_migration(MemoryRegion *mr, bool log);
/* Only migration's bitmap, atomically: for any thread (guest-ram.c). */
void memory_region_set_migration_dirty(MemoryRegion *mr, uint64_t offset,
                                       uint64_t len);
/* Pages (of MEMORY_DIRTY_PAGE_SIZE) in the region's bitmaps. */
uint64_t memory_region_dirty_pages(const MemoryRegion *mr);
static inline bool memory_region_logs_writes(const MemoryRegion *mr)
{ return mr->log_dirty || mr->log_migration; }
static inline bool memory_region_is_mapped(const MemoryRegion *mr)
{ return mr->parent != NULL; }
static inline void *memory_region_get_ram_ptr(MemoryRegion *mr)
{ return mr->ram; }

/*
 * Group several changes so the views are flattened (and KVM slots updated)
 * once, at the outermost commit.
 */
void memory_region_transaction_begin(void);
void memory_region_transaction_commit(void);

void memory_listener_register(MemoryListener *l, AddressSpace *as);
void memory_listener_unregister(MemoryListener *l, AddressSpace *as);

/* Binary search of the current flat view; NULL where nothing is mapped. */
const FlatRange *address_space_lookup(AddressSpace *as, uint64_t addr);
/*
 * [addr, addr + len) is guest memory throughout, with no device register,
 * hole or wrap in it: RAM (or, for reads, ROM too; writable RAM only for
 * writes).  For code that touches guest memory at an address the guest
 * chose and must not reach a device's callbacks (vmgenid's GUID, the
 * vmcoreinfo note a dump copies).
 */
bool address_space_is_ram(AddressSpace *as, uint64_t addr, uint64_t len,
                          bool is_write);

/*
 * Accesses of 1/2/4/8 bytes, little-endian, at any alignment.  Unassigned
 * reads return all-ones and writes are dropped (logged with
 * memory_set_log_unassigned(true)).  An access into a device whose
 * callbacks are already running on this thread (its own DMA or MSI aimed
 * back at itself, directly or through other devices), or nested deeper
 * than MEMORY_MAX_NESTED_IO devices, is refused the same way and returns
 * MEMTX_ACCESS_ERROR.
 */
#define MEMORY_MAX_NESTED_IO 8
/*
 * Device work that runs outside the device's callbacks but is its own (a
 * disk request's completion on the main loop moving the data by DMA):
 * between these the device counts as handling an access, so its DMA
 * aimed at its own registers is refused as from inside a callback.
 */
void memory_io_owner_enter(const void *owner);
void memory_io_owner_leave(void);
MemTxResult address_space_read_val(AddressSpace *as, uint64_t addr,
                                   uint64_t *val, unsigned size);
MemTxResult address_space_write_val(AddressSpace *as, uint64_t addr,
                                    uint64_t val, unsigned size);
/* Buffers of any length, split at region boundaries. */
MemTxResult address_space_read(AddressSpace *as, uint64_t addr,
                               void *buf, uint64_t len);
MemTxResult address_space_write(AddressSpace *as, uint64_t addr,
                                const void *buf, uint64_t len);
/* Writes that also land in ROM (firmware/kernel loaders). */
MemTxResult address_space_write_rom(AddressSpace *as, uint64_t addr,
                                    const void *buf, uint64_t len);

/* Convenience wrappers on guest-physical memory, for device DMA. */
static inline MemTxResult dma_read(uint64_t addr, void *buf, uint64_t len)
{ return address_space_read(&address_space_memory, addr, buf, len); }
static inline MemTxResult dma_write(uint64_t addr, const void *buf,
                                    uint64_t len)
{ return address_space_write(&address_space_memory, addr, buf, len); }

void memory_set_log_unassigned(bool on);

/* "info mtree": the region tree as text. */
char *memory_mtree_to_string(void);

#endif
