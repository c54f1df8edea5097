/*
 * KVM's dirty ring as the source of guest-write dirty tracking (Linux
 * Documentation/virt/kvm/api.rst: 8.29 KVM_CAP_DIRTY_LOG_RING /
 * KVM_CAP_DIRTY_LOG_RING_ACQ_REL, 4.124 KVM_RESET_DIRTY_RINGS, struct
 * kvm_dirty_gfn, KVM_EXIT_DIRTY_RING_FULL), chosen with
 * -accel kvm,dirty-ring-size=N (entries per vCPU; 0, the default as in
 * QEMU, keeps KVM_GET_DIRTY_LOG's bitmaps: kvm-memory.c).
 *
 * With the ring on, KVM pushes the (slot, page offset) of every first write
 * to a logged page into a ring of the vCPU that wrote it, mapped from the
 * vCPU fd at KVM_DIRTY_LOG_PAGE_OFFSET, and KVM_GET_DIRTY_LOG is refused.
 * A harvest walks every vCPU's ring from where the last one stopped: an
 * entry whose flags say DIRTY (read with acquire: KVM writes slot and
 * offset before it publishes the flag with release) marks its page in the
 * regions' bitmaps through the slot table (kvm_memory_mark_dirty_gfn),
 * and is handed back with RESET (a release store); one
 * KVM_RESET_DIRTY_RINGS then re-protects the harvested pages, before
 * anyone reads them (api.rst's order).  KVM publishes and we take entries
 * while vCPUs run; the fetch indexes are ours and guarded by the big
 * lock, which every harvest holds: memory_region_sync_dirty (migration's
 * passes, display refreshes), slot changes (kvm-memory.c harvests before
 * it deletes a logged slot, so no entry outlives the slot it names) and a
 * vCPU whose ring is full (KVM_EXIT_DIRTY_RING_FULL: it harvests every
 * ring and enters KVM_RUN again).  Nothing here allocates after start-up.
 *
 * Unlike the bitmap, KVM may hold a dirty page in a per-CPU hardware log
 * (Intel's PML) until the vCPU exits; migration's last pass runs with the
 * vCPUs stopped, so nothing is missed there, and an earlier pass that
 * misses a page sends it in the next one.
 */
#include "qemu/osdep.h"
#include "accel/kvm.h"
#include "kvm-internal.h"
#include <sys/mman.h>

typedef struct KvmDirtyRing {
    struct kvm_dirty_gfn *gfns;     /* the vCPU's ring; NULL: not mapped */
    uint32_t fetch;                 /* next entry to look at */
} KvmDirtyRing;

static KvmDirtyRing *rings;         /* one per vCPU slot */
static unsigned nr_rings;

static size_t ring_bytes(void)
{
    return (size_t)kvm_state.dirty_ring_size * sizeof(struct kvm_dirty_gfn);
}

/*
 * Which of the two capabilities the host has, preferring ACQ_REL (the
 * same ring; with it userspace promises the acquire/release accesses it
 * does anyway, and it is the only one weakly ordered hosts offer).
 * Returns its value, the largest ring in bytes, or 0 without either.
 */
static int ring_capability(unsigned *cap)
{
    int max = kvm_check_extension(KVM_CAP_DIRTY_LOG_RING_ACQ_REL);

    *cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
    if (max <= 0) {
        max = kvm_check_extension(KVM_CAP_DIRTY_LOG_RING);
        *cap = KVM_CAP_DIRTY_LOG_RING;
    }
    return max > 0 ? max : 0;
}

bool kvm_dirty_ring_enable(uint32_t entries, GError **errp)
{
    struct kvm_enable_cap ec = { 0 };
    uint64_t bytes = (uint64_t)entries * sizeof(struct kvm_dirty_gfn);
    unsigned cap;
    int max, ret;

    kvm_state.dirty_ring_size = 0;
    if (!entries) {
        return true;
    }
    max = ring_capability(&cap);
    if (!max) {
        /* QEMU's behaviour: the option is a preference, not a need */
        error_report("warning: KVM dirty ring not available, using bitmap "
                     "method");
        return true;
    }
    if (bytes > (uint64_t)max) {
        error_setg(errp, "KVM dirty ring size %" PRIu32 " too big (maximum "
                   "is %zu).  Please use a smaller value.", entries,
                   (size_t)max / sizeof(struct kvm_dirty_gfn));
        return false;
    }
    /* api.rst: only before the first vCPU exists (kvm_init calls us) */
    ec.cap = cap;
    ec.args[0] = bytes;
    ret = kvm_vm_ioctl(KVM_ENABLE_CAP, &ec);
    if (ret < 0) {
        error_setg(errp, "Enabling of KVM dirty ring failed: %s. Suggested "
                   "minimum value is 1024.", strerror(-ret));
        return false;
    }
    kvm_state.dirty_ring_size = entries;
    return true;
}

bool kvm_dirty_ring_enabled(void)
{
    return kvm_state.dirty_ring_size != 0;
}

void kvm_dirty_ring_setup_vcpus(unsigned slots)
{
    if (kvm_dirty_ring_enabled()) {
        rings = g_new0(KvmDirtyRing, slots);
        nr_rings = slots;
    }
}

bool kvm_dirty_ring_map_vcpu(unsigned index, int vcpu_fd, GError **errp)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p;

    if (!kvm_dirty_ring_enabled() || index >= nr_rings) {
        return true;
    }
    p = mmap(NULL, ring_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED,
             vcpu_fd, (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * page);
    if (p == MAP_FAILED) {
        error_setg(errp, "kvm: mapping the dirty ring of CPU %u failed: %s",
                   index, strerror(errno));
        return false;
    }
    rings[index].gfns = p;
    rings[index].fetch = 0;
    return true;
}

void kvm_dirty_ring_unmap_all(void)
{
    for (unsigned i = 0; i < nr_rings; i++) {
        if (rings[i].gfns) {
            munmap(rings[i].gfns, ring_bytes());
        }
    }
    g_clear_pointer(&rings, g_free);
    nr_rings = 0;
}

uint32_t kvm_dirty_ring_collect(struct kvm_dirty_gfn *gfns, uint32_t size,
                                uint32_t *fetch, KvmDirtyGfnFn *mark,
                                void *opaque)
{
    uint32_t n;

    /* KVM never has more than @size entries out: stop there regardless */
    for (n = 0; n < size; n++) {
        struct kvm_dirty_gfn *e = &gfns[*fetch & (size - 1)];

        if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
              KVM_DIRTY_GFN_F_DIRTY)) {
            break;
        }
        mark(opaque, e->slot, e->offset);
        __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        ++*fetch;
    }
    return n;
}

static void mark_gfn(void *opaque, uint32_t slot, uint64_t offset)
{
    kvm_memory_mark_dirty_gfn(slot, offset);
}

/* Re-protect the pages of every entry set to RESET, in every ring. */
static bool reset_rings(void)
{
    int ret = kvm_vm_ioctl(KVM_RESET_DIRTY_RINGS, NULL);

    if (ret < 0) {
        error_report("kvm: KVM_RESET_DIRTY_RINGS failed: %s", strerror(-ret));
        return false;
    }
    return true;
}

static uint64_t collect_all(void)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < nr_rings; i++) {
        if (rings[i].gfns) {
            total += kvm_dirty_ring_collect(rings[i].gfns,
                                            kvm_state.dirty_ring_size,
                                            &rings[i].fetch, mark_gfn, NULL);
        }
    }
    return total;
}

uint64_t kvm_dirty_ring_harvest(void)
{
    uint64_t total = collect_all();

    if (total) {
        reset_rings();
    }
    return total;
}

bool kvm_dirty_ring_full_exit(void)
{
    collect_all();
    /* even with nothing new: the reset is what gives the ring room */
    return reset_rings();
}
