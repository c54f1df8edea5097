/*
 * The dirty ring's harvest of one ring (accel/kvm/kvm-dirty-ring.c,
 * kvm_dirty_ring_collect) on rings written the way KVM writes them
 * (Linux Documentation/virt/kvm/api.rst, KVM_CAP_DIRTY_LOG_RING): entries
 * in order, published with DIRTY, handed back with RESET, indexes that
 * wrap.  No /dev/kvm needed.
 */
#include "qemu/osdep.h"
#include "accel/kvm/kvm-internal.h"

#define RING 8

typedef struct Seen {
    unsigned n;
    uint32_t slot[2 * RING];
    uint64_t offset[2 * RING];
} Seen;

static void record(void *opaque, uint32_t slot, uint64_t offset)
{
    Seen *s = opaque;

    g_assert_cmpuint(s->n, <, 2 * RING);
    s->slot[s->n] = slot;
    s->offset[s->n] = offset;
    s->n++;
}

/* What KVM does when it logs a page: entry @idx of the ring. */
static void push(struct kvm_dirty_gfn *ring, uint32_t idx, uint32_t slot,
                 uint64_t offset)
{
    struct kvm_dirty_gfn *e = &ring[idx & (RING - 1)];

    e->slot = slot;
    e->offset = offset;
    __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_DIRTY, __ATOMIC_RELEASE);
}

/* What KVM_RESET_DIRTY_RINGS does to the entries we handed back. */
static void kernel_reset(struct kvm_dirty_gfn *ring)
{
    for (unsigned i = 0; i < RING; i++) {
        if (ring[i].flags & KVM_DIRTY_GFN_F_RESET) {
            ring[i].flags = 0;
        }
    }
}

static void test_in_order_then_empty(void)
{
    struct kvm_dirty_gfn ring[RING] = { { 0 } };
    uint32_t fetch = 0;
    Seen seen = { 0 };

    push(ring, 0, 3, 100);
    push(ring, 1, 3, 101);
    push(ring, 2, (1u << 16) | 4, 7);
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &fetch, record,
                                            &seen), ==, 3);
    g_assert_cmpuint(fetch, ==, 3);
    g_assert_cmpuint(seen.n, ==, 3);
    g_assert_cmpuint(seen.slot[0], ==, 3);
    g_assert_cmpuint(seen.offset[0], ==, 100);
    g_assert_cmpuint(seen.offset[1], ==, 101);
    g_assert_cmpuint(seen.slot[2], ==, (1u << 16) | 4);
    g_assert_cmpuint(seen.offset[2], ==, 7);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpuint(ring[i].flags, ==, KVM_DIRTY_GFN_F_RESET);
    }
    g_assert_cmpuint(ring[3].flags, ==, 0);
    /* nothing new: nothing taken, the index stays */
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &fetch, record,
                                            &seen), ==, 0);
    g_assert_cmpuint(fetch, ==, 3);
}

/* Handed back but not yet reset by KVM: not taken a second time. */
static void test_harvested_not_taken_again(void)
{
    struct kvm_dirty_gfn ring[RING] = { { 0 } };
    uint32_t fetch = 0, again = 0;
    Seen seen = { 0 };

    push(ring, 0, 1, 1);
    kvm_dirty_ring_collect(ring, RING, &fetch, record, &seen);
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &again, record,
                                            &seen), ==, 0);
    g_assert_cmpuint(seen.n, ==, 1);
}

static void test_wraps(void)
{
    struct kvm_dirty_gfn ring[RING] = { { 0 } };
    uint32_t fetch = 0;
    Seen seen = { 0 };

    for (uint32_t i = 0; i < 6; i++) {
        push(ring, i, 0, i);
    }
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &fetch, record,
                                            &seen), ==, 6);
    kernel_reset(ring);
    for (uint32_t i = 6; i < 11; i++) {
        push(ring, i, 0, i);
    }
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &fetch, record,
                                            &seen), ==, 5);
    g_assert_cmpuint(fetch, ==, 11);
    for (unsigned i = 0; i < 11; i++) {
        g_assert_cmpuint(seen.offset[i], ==, i);
    }
}

/* A full ring is taken whole and no further, even with every entry
 * still DIRTY after a lap (which KVM never does). */
static void test_full_ring_bounded(void)
{
    struct kvm_dirty_gfn ring[RING] = { { 0 } };
    uint32_t fetch = 5;
    Seen seen = { 0 };

    for (uint32_t i = 5; i < 5 + RING; i++) {
        push(ring, i, 2, i);
    }
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &fetch, record,
                                            &seen), ==, RING);
    g_assert_cmpuint(fetch, ==, 5 + RING);
    g_assert_cmpuint(seen.offset[0], ==, 5);
    g_assert_cmpuint(seen.offset[RING - 1], ==, 5 + RING - 1);
}

/* The fetch index is a free-running u32: it wraps with the ring. */
static void test_index_wraps_u32(void)
{
    struct kvm_dirty_gfn ring[RING] = { { 0 } };
    uint32_t fetch = UINT32_MAX - 1;
    Seen seen = { 0 };

    push(ring, UINT32_MAX - 1, 0, 1);
    push(ring, UINT32_MAX, 0, 2);
    push(ring, 0, 0, 3);
    g_assert_cmpuint(kvm_dirty_ring_collect(ring, RING, &fetch, record,
                                            &seen), ==, 3);
    g_assert_cmpuint(fetch, ==, 1);
    g_assert_cmpuint(seen.offset[2], ==, 3);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/dirty-ring/in-order", test_in_order_then_empty);
    g_test_add_func("/kvm/dirty-ring/harvested-once",
                    test_harvested_not_taken_again);
    g_test_add_func("/kvm/dirty-ring/wraps", test_wraps);
    g_test_add_func("/kvm/dirty-ring/full-bounded", test_full_ring_bounded);
    g_test_add_func("/kvm/dirty-ring/u32-index", test_index_wraps_u32);
    return g_test_run();
}
