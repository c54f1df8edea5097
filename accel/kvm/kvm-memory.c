/*
 * KVM memory slots kept equal to the RAM and ROM ranges of the guest's
 * physical address space (Linux Documentation/virt/kvm/api.rst,
 * KVM_SET_USER_MEMORY_REGION and KVM_GET_DIRTY_LOG).
 *
 * Every flat-view change is diffed against the slots we hold: slots whose
 * range, host memory or read-only state changed are deleted first (KVM
 * refuses overlapping slots and refuses to flip READONLY in place), then
 * the new ones are added.  A change of the dirty-logging flag alone is done
 * in place.  Runs with the big lock held; KVM allows slot changes while
 * vCPUs run.
 *
 * Dirty logging fills the regions' bitmaps (docs/design.md, "Dirty
 * logging") from one of two sources: KVM_GET_DIRTY_LOG per slot, or with
 * -accel kvm,dirty-ring-size=N the vCPUs' dirty rings (kvm-dirty-ring.c),
 * whose entries name a slot and a page in it: each slot remembers its
 * region and where in the region it starts for that.
 */
#include "qemu/osdep.h"
#include "system/memory.h"
#include "accel/kvm.h"
#include "kvm-internal.h"

#define KVM_PAGE_SIZE 4096ULL

typedef struct KvmSlot {
    bool used;
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;
    uint32_t flags;     /* KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES */
    MemoryRegion *mr;   /* the RAM/ROM region behind it ... */
    uint64_t mr_offset; /* ... and the offset of @gpa in it (hva - mr->ram) */
} KvmSlot;

static KvmSlot *slots;
static unsigned nr_slots;
static bool warned_readonly_as_rw;
static bool warned_out_of_slots;

static int set_user_memory_region(unsigned id, const KvmSlot *s,
                                  uint64_t size)
{
    struct kvm_userspace_memory_region r = {
        .slot = id,
        .flags = s->flags,
        .guest_phys_addr = s->gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)s->hva,
    };

    return kvm_vm_ioctl(KVM_SET_USER_MEMORY_REGION, &r);
}

static void delete_slot(unsigned id)
{
    int ret = set_user_memory_region(id, &slots[id], 0);

    if (ret < 0) {
        error_report("kvm: removing memory slot %u at 0x%" PRIx64
                     " failed: %s", id, slots[id].gpa, strerror(-ret));
    }
    slots[id].used = false;
}

static void add_slot(const KvmSlot *want)
{
    int ret;

    for (unsigned id = 0; id < nr_slots; id++) {
        if (!slots[id].used) {
            ret = set_user_memory_region(id, want, want->size);
            if (ret < 0) {
                error_report("kvm: adding memory slot at 0x%" PRIx64
                             " size 0x%" PRIx64 " failed: %s",
                             want->gpa, want->size, strerror(-ret));
                return;
            }
            slots[id] = *want;
            slots[id].used = true;
            return;
        }
    }
    if (!warned_out_of_slots) {
        warned_out_of_slots = true;
        error_report("kvm: out of memory slots (%u); guest RAM at 0x%" PRIx64
                     " is reached through exits", nr_slots, want->gpa);
    }
}

/* The slot a RAM/ROM flat range becomes, or false if it is not one. */
static bool slot_for_range(const FlatRange *fr, KvmSlot *out)
{
    MemoryRegion *mr = fr->mr;
    uint64_t start, end;
    uint8_t *hva;

    if ((mr->type != MR_RAM && mr->type != MR_ROM) || !mr->ram) {
        return false;
    }
    /* KVM maps whole pages; a partial page stays on the exit path */
    start = ALIGN_UP(fr->start, KVM_PAGE_SIZE);
    end = ALIGN_DOWN(fr->start + fr->size, KVM_PAGE_SIZE);
    if (end <= start) {
        return false;
    }
    hva = mr->ram + fr->offset + (start - fr->start);
    if ((uintptr_t)hva % KVM_PAGE_SIZE) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->gpa = start;
    out->size = end - start;
    out->hva = hva;
    out->mr = mr;
    out->mr_offset = hva - mr->ram;
    if (fr->readonly) {
        if (kvm_state.readonly_mem) {
            out->flags |= KVM_MEM_READONLY;
        } else if (!warned_readonly_as_rw) {
            warned_readonly_as_rw = true;
            g_debug("kvm: no KVM_CAP_READONLY_MEM, ROM is mapped writable");
        }
    }
    if (memory_region_logs_writes(mr)) {
        out->flags |= KVM_MEM_LOG_DIRTY_PAGES;
    }
    return true;
}

static bool same_mapping(const KvmSlot *a, const KvmSlot *b)
{
    return a->gpa == b->gpa && a->size == b->size && a->hva == b->hva &&
           !((a->flags ^ b->flags) & KVM_MEM_READONLY);
}

static void update_slot_flags(unsigned id, uint32_t flags)
{
    KvmSlot s = slots[id];
    int ret;

    s.flags = flags;
    ret = set_user_memory_region(id, &s, s.size);
    if (ret < 0) {
        error_report("kvm: changing memory slot %u flags failed: %s", id,
                     strerror(-ret));
        return;
    }
    slots[id].flags = flags;
}

static void sync_slots(const FlatView *view)
{
    unsigned nr = view ? view->nr : 0;
    g_autofree KvmSlot *want = g_new0(KvmSlot, nr ? nr : 1);
    g_autofree bool *kept = g_new0(bool, nr ? nr : 1);
    unsigned nwant = 0;

    for (unsigned i = 0; i < nr; i++) {
        if (slot_for_range(&view->ranges[i], &want[nwant])) {
            nwant++;
        }
    }
    if (kvm_dirty_ring_enabled()) {
        /* the rings' entries name slot ids: take them while the ids still
         * mean what they meant when KVM logged them */
        kvm_dirty_ring_harvest();
    }
    /* keep identical slots, update flag-only changes, delete the rest */
    for (unsigned id = 0; id < nr_slots; id++) {
        bool found = false;

        for (unsigned w = 0; slots[id].used && w < nwant && !found; w++) {
            if (!kept[w] && same_mapping(&slots[id], &want[w])) {
                if (slots[id].flags != want[w].flags) {
                    update_slot_flags(id, want[w].flags);
                }
                slots[id].mr = want[w].mr;
                slots[id].mr_offset = want[w].mr_offset;
                kept[w] = found = true;
            }
        }
        if (slots[id].used && !found) {
            delete_slot(id);
        }
    }
    for (unsigned w = 0; w < nwant; w++) {
        if (!kept[w]) {
            add_slot(&want[w]);
        }
    }
}

static void kvm_memory_commit(MemoryListener *l, AddressSpace *as,
                              const FlatView *old_view,
                              const FlatView *new_view)
{
    sync_slots(new_view);
}

static void kvm_memory_log_sync(MemoryListener *l, AddressSpace *as,
                                const FlatRange *fr);

static MemoryListener kvm_memory_listener = {
    .commit = kvm_memory_commit,
    .log_sync = kvm_memory_log_sync,
};

void kvm_memory_init(void)
{
    /* slot ids are 16 bits wide (the upper half selects the address space) */
    nr_slots = MIN(kvm_state.nr_slots, 32767u);
    slots = g_new0(KvmSlot, nr_slots);
    memory_init();
    memory_listener_register(&kvm_memory_listener, &address_space_memory);
    if (address_space_memory.view) {
        sync_slots(address_space_memory.view);
    }
}

static void or_slot_dirty_bits(const KvmSlot *s, const unsigned long *slot_bm,
                               uint64_t start, uint64_t size,
                               unsigned long *bitmap)
{
    const unsigned bits = 8 * sizeof(long);
    uint64_t from = MAX(s->gpa, start), to = MIN(s->gpa + s->size,
                                                 start + size);

    for (uint64_t a = from; a < to; a += KVM_PAGE_SIZE) {
        uint64_t sp = (a - s->gpa) / KVM_PAGE_SIZE;
        uint64_t dp = (a - start) / KVM_PAGE_SIZE;

        if (slot_bm[sp / bits] & (1UL << (sp % bits))) {
            bitmap[dp / bits] |= 1UL << (dp % bits);
        }
    }
}

/*
 * OR into @bitmap (bit n = page @start + n * 4 KiB) the pages written since
 * the previous call, for memory slots that have dirty logging on.  The
 * bitmap must hold size / 4 KiB bits.  Not with the dirty ring (KVM
 * refuses KVM_GET_DIRTY_LOG then).
 */
static bool get_dirty_log(uint64_t start, uint64_t size, unsigned long *bitmap,
                          GError **errp)
{
    const unsigned bits = 8 * sizeof(long);

    for (unsigned id = 0; id < nr_slots; id++) {
        const KvmSlot *s = &slots[id];
        uint64_t pages = s->size / KVM_PAGE_SIZE;
        g_autofree unsigned long *bm = NULL;
        struct kvm_dirty_log log = { .slot = id };
        int ret;

        if (!s->used || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES) ||
            s->gpa >= start + size || s->gpa + s->size <= start) {
            continue;
        }
        /* KVM writes whole 64-bit words */
        bm = g_new0(unsigned long, ALIGN_UP(pages, 64) / bits);
        log.dirty_bitmap = bm;
        ret = kvm_vm_ioctl(KVM_GET_DIRTY_LOG, &log);
        if (ret < 0) {
            error_setg(errp, "kvm: KVM_GET_DIRTY_LOG on slot %u failed: %s",
                       id, strerror(-ret));
            return false;
        }
        or_slot_dirty_bits(s, bm, start, size, bitmap);
    }
    return true;
}

void kvm_memory_mark_dirty_gfn(uint32_t slot, uint64_t offset)
{
    const KvmSlot *s;

    /* slot ids above 16 bits are other address spaces (SMM): none here */
    if (slot >= nr_slots) {
        return;
    }
    s = &slots[slot];
    /* a slot deleted or no longer logged since: its pages were taken
     * before it changed (sync_slots), this entry is stale; a region
     * destroyed meanwhile no longer owns the slot's memory */
    if (!s->used || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES) ||
        offset >= s->size / KVM_PAGE_SIZE ||
        (uintptr_t)s->mr->ram + s->mr_offset != (uintptr_t)s->hva) {
        return;
    }
    memory_region_set_dirty(s->mr, s->mr_offset + offset * KVM_PAGE_SIZE,
                            KVM_PAGE_SIZE);
}

/*
 * The memory map's dirty-log hook: fetch (and clear) KVM's log of the
 * slot behind @fr and mark the written pages in the region's bitmap.
 * Only page-aligned mappings have slots; the rest are written through
 * exits, which the memory map logs itself.  With the dirty ring, every
 * ring is harvested instead: its entries go to whichever region they
 * belong to (this one included).
 */
static void kvm_memory_log_sync(MemoryListener *l, AddressSpace *as,
                                const FlatRange *fr)
{
    const unsigned bits = 8 * sizeof(long);
    uint64_t start = ALIGN_UP(fr->start, KVM_PAGE_SIZE);
    uint64_t end = ALIGN_DOWN(fr->start + fr->size, KVM_PAGE_SIZE);
    uint64_t pages;
    g_autofree unsigned long *bm = NULL;
    GError *err = NULL;

    if (end <= start || (!fr->mr->dirty && !fr->mr->mig_dirty)) {
        return;
    }
    if (kvm_dirty_ring_enabled()) {
        kvm_dirty_ring_harvest();
        return;
    }
    pages = (end - start) / KVM_PAGE_SIZE;
    bm = g_new0(unsigned long, (pages + bits - 1) / bits);
    if (!get_dirty_log(start, end - start, bm, &err)) {
        error_report("%s", err->message);
        g_error_free(err);
        return;
    }
    for (uint64_t p = 0; p < pages; p++) {
        if (bm[p / bits] & (1UL << (p % bits))) {
            memory_region_set_dirty(fr->mr, fr->offset + (start - fr->start) +
                                    p * KVM_PAGE_SIZE, KVM_PAGE_SIZE);
        }
    }
}
