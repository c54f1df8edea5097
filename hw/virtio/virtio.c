/*
 * The virtio device core: features, status, configuration space and the
 * split and packed virtqueues.  Spec and threading: include/hw/virtio/
 * virtio.h and docs/virtio.md.
 *
 * Every ring access goes through the guest RAM table (guest-ram.h): a ring
 * or a buffer outside RAM is a driver error, never an MMIO access.  Every
 * value the driver controls (indices, descriptor fields, table lengths) is
 * checked before use; a driver error marks the device NEEDS_RESET and
 * stops its queues (virtio_error), it never stops kvmpc.
 */
#include "qemu/osdep.h"
#include <stdarg.h>
#include <sys/eventfd.h>
#include "system/main-loop.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/guest-ram.h"
#include "system/iothread.h"
#include "system/runstate.h"

/* Split ring layout (2.7). */
#define VRING_DESC_SIZE         16
#define VRING_AVAIL_HDR         4       /* flags, idx */
#define VRING_USED_HDR          4
#define VRING_USED_ELEM_SIZE    8
/* Packed: one descriptor is 16 bytes, the event structure 4 (2.8.10). */
#define VRING_PACKED_DESC_SIZE  16

typedef struct VRingDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;          /* split: next index; packed: buffer id */
} VRingDesc;

static inline void smp_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static inline void smp_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
static inline void smp_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/* ---- ring memory ------------------------------------------------------ */

static bool ring_load16(uint64_t gpa, uint16_t *val)
{
    uint16_t *p = guest_ram_ptr(gpa, 2, false);

    if (!p) {
        return false;
    }
    /* Rings are little-endian; kvmpc runs on x86-64 hosts only. */
    *val = __atomic_load_n(p, __ATOMIC_RELAXED);
    return true;
}

/*
 * Ring writes are logged for migration again after the store: an I/O
 * thread writes without the big lock, so the log taken before the store
 * (guest_ram_ptr) may already have been consumed by a migration pass
 * that copied the page before the store landed.
 */
static bool ring_store16(uint64_t gpa, uint16_t val)
{
    uint16_t *p = guest_ram_ptr(gpa, 2, true);

    if (!p) {
        return false;
    }
    __atomic_store_n(p, val, __ATOMIC_RELAXED);
    guest_ram_mark_written(gpa, 2);
    return true;
}

/*
 * The handler asked for kicks and no I/O thread is spinning on the ring
 * (poll_notify_off): only then does the ring tell the driver to kick.
 */
static bool kicks_wanted(const VirtQueue *vq)
{
    return vq->notification && !vq->poll_notify_off;
}

static bool ring_store32(uint64_t gpa, uint32_t val)
{
    uint32_t *p = guest_ram_ptr(gpa, 4, true);

    if (!p) {
        return false;
    }
    __atomic_store_n(p, val, __ATOMIC_RELAXED);
    guest_ram_mark_written(gpa, 4);
    return true;
}

static bool ring_read_desc(uint64_t gpa, VRingDesc *d)
{
    const uint8_t *p = guest_ram_ptr(gpa, VRING_DESC_SIZE, false);

    if (!p) {
        return false;
    }
    d->addr = ldq_le_p(p);
    d->len = ldl_le_p(p + 8);
    d->flags = lduw_le_p(p + 12);
    d->next = lduw_le_p(p + 14);
    return true;
}

/* Packed descriptors keep the buffer id at 12 and the flags at 14. */
static bool ring_read_packed_desc(uint64_t gpa, VRingDesc *d)
{
    uint16_t t;

    if (!ring_read_desc(gpa, d)) {
        return false;
    }
    t = d->flags;
    d->flags = d->next;
    d->next = t;
    return true;
}

/* ---- errors ----------------------------------------------------------- */

void virtio_error(VirtIODevice *vdev, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (vdev->broken) {
        return;     /* one report per reset: a guest cannot flood the log */
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("%s: %s (device needs reset)", vdev->name, msg);
    vdev->broken = true;
    if (!vdev->legacy) {
        vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
        virtio_notify_config(vdev);
    }
}

/* ---- element helpers -------------------------------------------------- */

static size_t iov_size(const struct iovec *iov, unsigned n)
{
    size_t s = 0;

    for (unsigned i = 0; i < n; i++) {
        s += iov[i].iov_len;
    }
    return s;
}

size_t virtqueue_elem_out_size(const VirtQueueElement *e)
{
    return iov_size(e->sg, e->out_num);
}

size_t virtqueue_elem_in_size(const VirtQueueElement *e)
{
    return iov_size(e->sg + e->out_num, e->in_num);
}

static size_t iov_copy(const struct iovec *iov, unsigned n, size_t offset,
                       void *buf, size_t len, bool to_iov)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t chunk;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        chunk = MIN(iov[i].iov_len - offset, len - done);
        if (to_iov) {
            memcpy((uint8_t *)iov[i].iov_base + offset,
                   (uint8_t *)buf + done, chunk);
        } else {
            memcpy((uint8_t *)buf + done,
                   (uint8_t *)iov[i].iov_base + offset, chunk);
        }
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t virtqueue_elem_to_buf(const VirtQueueElement *e, size_t offset,
                             void *buf, size_t len)
{
    return iov_copy(e->sg, e->out_num, offset, buf, len, false);
}

size_t virtqueue_elem_from_buf(VirtQueueElement *e, size_t offset,
                               const void *buf, size_t len)
{
    return iov_copy(e->sg + e->out_num, e->in_num, offset, (void *)buf, len,
                    true);
}

/* ---- the descriptor-chain walker (shared by split and packed) -------- */

typedef struct ChainWalk {
    VirtQueue *vq;
    VirtQueueElement *elem;
    unsigned descs;         /* descriptors seen (loop/length bound) */
    unsigned max_descs;
} ChainWalk;

/*
 * Map one buffer onto host iovecs.  It must be non-empty, inside RAM (ROM
 * is fine for a device-readable buffer), and writable buffers come after
 * every readable one (2.7.4.2 / 2.8.4).
 */
static bool walk_map_buffer(ChainWalk *w, const VRingDesc *d)
{
    VirtIODevice *vdev = w->vq->vdev;
    VirtQueueElement *e = w->elem;
    bool write = d->flags & VRING_DESC_F_WRITE;
    uint64_t addr = d->addr, left = d->len;

    if (!d->len) {
        virtio_error(vdev, "queue %u: zero-length buffer", w->vq->index);
        return false;
    }
    if (!write && e->in_num) {
        virtio_error(vdev, "queue %u: device-readable buffer after a "
                     "device-writable one", w->vq->index);
        return false;
    }
    if (addr + left < addr) {
        virtio_error(vdev, "queue %u: buffer wraps the address space",
                     w->vq->index);
        return false;
    }
    while (left) {
        uint64_t len = left;
        void *host = write && w->vq->in_unwritten
                     ? guest_ram_lookup_unlogged(addr, &len, write)
                     : guest_ram_lookup(addr, &len, write);
        unsigned n = e->out_num + e->in_num;

        if (!host) {
            virtio_error(vdev, "queue %u: buffer at 0x%" PRIx64
                         " is not in guest RAM", w->vq->index, addr);
            return false;
        }
        if (n >= VIRTQUEUE_MAX_SG) {
            virtio_error(vdev, "queue %u: chain maps to too many pieces",
                         w->vq->index);
            return false;
        }
        e->sg[n].iov_base = host;
        e->sg[n].iov_len = len;
        e->addr[n] = addr;
        e->mapped_len[n] = len;
        if (write) {
            e->in_num++;
        } else {
            e->out_num++;
        }
        addr += len;
        left -= len;
    }
    return true;
}

static bool walk_count(ChainWalk *w)
{
    if (++w->descs > w->max_descs) {
        virtio_error(w->vq->vdev, "queue %u: descriptor chain loops or is "
                     "longer than its table", w->vq->index);
        return false;
    }
    return true;
}

/* An indirect table (2.7.5.3.1): sane length, in RAM, one level only. */
static bool walk_check_indirect(ChainWalk *w, const VRingDesc *d,
                                bool nested, unsigned *entries)
{
    VirtIODevice *vdev = w->vq->vdev;

    if (!virtio_vdev_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC)) {
        virtio_error(vdev, "queue %u: indirect descriptor without "
                     "VIRTIO_F_INDIRECT_DESC", w->vq->index);
        return false;
    }
    if (nested) {
        virtio_error(vdev, "queue %u: indirect table inside an indirect "
                     "table", w->vq->index);
        return false;
    }
    if (d->flags & VRING_DESC_F_NEXT) {
        virtio_error(vdev, "queue %u: indirect descriptor with NEXT",
                     w->vq->index);
        return false;
    }
    if (!d->len || d->len % VRING_DESC_SIZE ||
        d->len / VRING_DESC_SIZE > VIRTQUEUE_MAX_SIZE) {
        virtio_error(vdev, "queue %u: bad indirect table length %u",
                     w->vq->index, d->len);
        return false;
    }
    if (!guest_ram_ptr(d->addr, d->len, false)) {
        virtio_error(vdev, "queue %u: indirect table at 0x%" PRIx64
                     " is not in guest RAM", w->vq->index, d->addr);
        return false;
    }
    *entries = d->len / VRING_DESC_SIZE;
    return true;
}

/*
 * Walk a split-ring style chain (explicit NEXT indices) in the table at
 * @table with @size entries, starting at @head.  Used for the split ring's
 * descriptor table and for any indirect table.
 */
static bool walk_split_table(ChainWalk *w, uint64_t table, unsigned size,
                             unsigned head, bool nested)
{
    unsigned i = head;

    for (;;) {
        VRingDesc d;

        if (i >= size) {
            virtio_error(w->vq->vdev, "queue %u: descriptor index %u out "
                         "of range", w->vq->index, i);
            return false;
        }
        if (!walk_count(w)) {
            return false;
        }
        if (!ring_read_desc(table + (uint64_t)i * VRING_DESC_SIZE, &d)) {
            virtio_error(w->vq->vdev, "queue %u: descriptor table not in "
                         "RAM", w->vq->index);
            return false;
        }
        if (d.flags & VRING_DESC_F_INDIRECT) {
            unsigned entries;

            if (!walk_check_indirect(w, &d, nested, &entries)) {
                return false;
            }
            w->max_descs += entries;
            return walk_split_table(w, d.addr, entries, 0, true);
        }
        if (!walk_map_buffer(w, &d)) {
            return false;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        i = d.next;
    }
}

static void elem_clear(VirtQueueElement *e)
{
    e->out_num = e->in_num = 0;
    e->ndescs = 0;
    e->index = 0;
}

/* ---- split rings ------------------------------------------------------ */

static uint64_t split_avail_idx_addr(const VirtQueue *vq)
{
    return vq->avail + 2;
}

static uint64_t split_avail_ring_addr(const VirtQueue *vq, unsigned i)
{
    return vq->avail + VRING_AVAIL_HDR + 2ULL * i;
}

static uint64_t split_used_elem_addr(const VirtQueue *vq, unsigned i)
{
    return vq->used + VRING_USED_HDR + (uint64_t)VRING_USED_ELEM_SIZE * i;
}

/* How many new chains the driver made available; -1 on a broken index. */
static int split_avail_count(VirtQueue *vq)
{
    uint16_t idx, n;

    if (!ring_load16(split_avail_idx_addr(vq), &idx)) {
        virtio_error(vq->vdev, "queue %u: available ring not in RAM",
                     vq->index);
        return -1;
    }
    n = idx - vq->last_avail_idx;
    if (n > vq->num) {
        virtio_error(vq->vdev, "queue %u: available index moved by %u, "
                     "more than the queue size %u", vq->index, n, vq->num);
        return -1;
    }
    return n;
}

static bool split_pop(VirtQueue *vq, VirtQueueElement *elem)
{
    int avail = split_avail_count(vq);
    ChainWalk w = { .vq = vq, .elem = elem, .max_descs = vq->num };
    uint16_t head;

    if (avail <= 0) {
        return false;
    }
    smp_rmb();      /* the ring entry after the index (2.7.13.3) */
    if (!ring_load16(split_avail_ring_addr(vq, vq->last_avail_idx % vq->num),
                     &head)) {
        virtio_error(vq->vdev, "queue %u: available ring not in RAM",
                     vq->index);
        return false;
    }
    elem_clear(elem);
    if (!walk_split_table(&w, vq->desc, vq->num, head, false)) {
        return false;
    }
    elem->index = head;
    elem->ndescs = 1;
    vq->last_avail_idx++;
    if (virtio_vdev_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX) &&
        kicks_wanted(vq)) {
        /* avail_event: kick me once the driver passes this index. */
        ring_store16(split_used_elem_addr(vq, vq->num), vq->last_avail_idx);
    }
    return true;
}

/* Write used element @idx past used_idx (published by split_flush). */
static void split_fill(VirtQueue *vq, const VirtQueueElement *elem,
                       uint32_t len, unsigned idx)
{
    uint64_t e = split_used_elem_addr(vq, (uint16_t)(vq->used_idx + idx) %
                                          vq->num);

    if (!ring_store32(e, elem->index) || !ring_store32(e + 4, len)) {
        virtio_error(vq->vdev, "queue %u: used ring not in RAM", vq->index);
    }
}

static void split_flush(VirtQueue *vq, unsigned count)
{
    smp_wmb();      /* the elements before the index (2.7.8.2) */
    vq->used_idx += count;
    ring_store16(vq->used + 2, vq->used_idx);
}

static bool vring_need_event(uint16_t event_idx, uint16_t new_idx,
                             uint16_t old_idx)
{
    /* 2.7.10: the driver wants an interrupt once used passes event_idx. */
    return (uint16_t)(new_idx - event_idx - 1) <
           (uint16_t)(new_idx - old_idx);
}

static bool split_should_notify(VirtQueue *vq)
{
    uint16_t flags, event, old = vq->signalled_used;
    bool valid = vq->signalled_used_valid;

    smp_mb();       /* used.idx is visible before we read the driver's flags */
    if (!virtio_vdev_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX)) {
        if (virtio_vdev_has_feature(vq->vdev, VIRTIO_F_NOTIFY_ON_EMPTY) &&
            !vq->inuse && virtio_queue_empty(vq)) {
            return true;
        }
        return !ring_load16(vq->avail, &flags) ||
               !(flags & VRING_AVAIL_F_NO_INTERRUPT);
    }
    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    if (!ring_load16(split_avail_ring_addr(vq, vq->num), &event)) {
        return true;
    }
    return !valid || vring_need_event(event, vq->used_idx, old);
}

static void split_set_notification(VirtQueue *vq, bool enable)
{
    if (virtio_vdev_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX)) {
        if (enable) {
            uint16_t idx;
            if (ring_load16(split_avail_idx_addr(vq), &idx)) {
                ring_store16(split_used_elem_addr(vq, vq->num), idx);
            }
        }
    } else {
        uint16_t flags = enable ? 0 : VRING_USED_F_NO_NOTIFY;
        ring_store16(vq->used, flags);
    }
    if (enable) {
        smp_mb();   /* publish before the caller re-checks the ring */
    }
}

static bool split_empty(VirtQueue *vq)
{
    uint16_t idx;

    return !ring_load16(split_avail_idx_addr(vq), &idx) ||
           idx == vq->last_avail_idx;
}

/* ---- packed rings ----------------------------------------------------- */

static uint64_t packed_desc_addr(const VirtQueue *vq, unsigned i)
{
    return vq->desc + (uint64_t)i * VRING_PACKED_DESC_SIZE;
}

static bool packed_desc_is_avail(uint16_t flags, bool wrap)
{
    bool avail = flags & VRING_PACKED_DESC_F_AVAIL;
    bool used = flags & VRING_PACKED_DESC_F_USED;

    return avail != used && avail == wrap;
}

static bool packed_head_available(VirtQueue *vq, bool *broken)
{
    uint16_t flags;

    *broken = false;
    if (!ring_load16(packed_desc_addr(vq, vq->last_avail_idx) + 14,
                     &flags)) {
        virtio_error(vq->vdev, "queue %u: descriptor ring not in RAM",
                     vq->index);
        *broken = true;
        return false;
    }
    return packed_desc_is_avail(flags, vq->last_avail_wrap);
}

/* An indirect table of packed descriptors: consecutive, no NEXT (2.8.7). */
static bool walk_packed_indirect(ChainWalk *w, const VRingDesc *d)
{
    unsigned entries;

    if (!walk_check_indirect(w, d, false, &entries)) {
        return false;
    }
    w->max_descs += entries;
    for (unsigned i = 0; i < entries; i++) {
        VRingDesc id;

        if (!walk_count(w)) {
            return false;
        }
        if (!ring_read_packed_desc(d->addr + (uint64_t)i * VRING_DESC_SIZE,
                                   &id)) {
            virtio_error(w->vq->vdev, "queue %u: indirect table not in RAM",
                         w->vq->index);
            return false;
        }
        if (id.flags & VRING_DESC_F_INDIRECT) {
            virtio_error(w->vq->vdev, "queue %u: indirect table inside an "
                         "indirect table", w->vq->index);
            return false;
        }
        if (!walk_map_buffer(w, &id)) {
            return false;
        }
    }
    return true;
}

static bool packed_pop(VirtQueue *vq, VirtQueueElement *elem)
{
    ChainWalk w = { .vq = vq, .elem = elem, .max_descs = vq->num };
    unsigned i = vq->last_avail_idx;
    bool wrap = vq->last_avail_wrap, broken;
    uint16_t ndescs = 0, id = 0;

    if (!packed_head_available(vq, &broken)) {
        return false;
    }
    smp_rmb();      /* the descriptor after its flags (2.8.21.1) */
    elem_clear(elem);
    for (;;) {
        VRingDesc d;

        if (!walk_count(&w)) {
            return false;
        }
        if (!ring_read_packed_desc(packed_desc_addr(vq, i), &d)) {
            virtio_error(vq->vdev, "queue %u: descriptor ring not in RAM",
                         vq->index);
            return false;
        }
        ndescs++;
        id = d.next;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (!walk_packed_indirect(&w, &d)) {
                return false;
            }
        } else if (!walk_map_buffer(&w, &d)) {
            return false;
        }
        if (++i >= vq->num) {
            i = 0;
            wrap = !wrap;
        }
        if (!(d.flags & VRING_DESC_F_NEXT) ||
            (d.flags & VRING_DESC_F_INDIRECT)) {
            break;
        }
    }
    elem->index = id;       /* the buffer id is in the last descriptor */
    elem->ndescs = ndescs;
    vq->last_avail_idx = i;
    vq->last_avail_wrap = wrap;
    return true;
}

/*
 * Packed: element @idx of a batch goes @pending_used descriptors past
 * used_idx.  Its flags are written at once, except for the batch's first,
 * whose flags packed_flush writes last: the driver reads used descriptors
 * in order, so it sees none of the batch before all of it is there.
 */
static void packed_fill(VirtQueue *vq, const VirtQueueElement *elem,
                        uint32_t len, unsigned idx)
{
    unsigned pos = vq->used_idx + (idx ? vq->pending_used : 0);
    bool wrap = vq->used_wrap;
    uint16_t flags;
    uint64_t gpa;
    uint8_t *p;

    if (idx == 0) {
        vq->pending_used = 0;
    }
    if (pos >= vq->num) {
        pos -= vq->num;
        wrap = !wrap;
    }
    gpa = packed_desc_addr(vq, pos);
    p = guest_ram_ptr(gpa, VRING_PACKED_DESC_SIZE, true);
    if (!p) {
        virtio_error(vq->vdev, "queue %u: descriptor ring not in RAM",
                     vq->index);
        return;
    }
    flags = wrap ? VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0;
    if (len) {
        flags |= VRING_DESC_F_WRITE;
    }
    stl_le_p(p + 8, len);
    stw_le_p(p + 12, elem->index);
    vq->pending_used += elem->ndescs;
    if (idx == 0) {
        vq->pending_flags = flags;
        vq->pending_first = p;
        vq->pending_first_gpa = gpa;
    } else {
        smp_wmb();      /* id and len before the flags (2.8.21.2) */
        __atomic_store_n((uint16_t *)(p + 14), flags, __ATOMIC_RELAXED);
    }
    guest_ram_mark_written(gpa, VRING_PACKED_DESC_SIZE);  /* see ring_store16 */
}

static void packed_flush(VirtQueue *vq, unsigned count)
{
    if (!count || !vq->pending_first) {
        return;
    }
    smp_wmb();
    __atomic_store_n((uint16_t *)(vq->pending_first + 14), vq->pending_flags,
                     __ATOMIC_RELAXED);
    guest_ram_mark_written(vq->pending_first_gpa + 14, 2);
    vq->pending_first = NULL;
    vq->used_idx += vq->pending_used;
    vq->pending_used = 0;
    if (vq->used_idx >= vq->num) {
        vq->used_idx -= vq->num;
        vq->used_wrap = !vq->used_wrap;
    }
}

static bool packed_should_notify(VirtQueue *vq)
{
    uint16_t off_wrap, flags, old = vq->signalled_used;
    bool valid = vq->signalled_used_valid;
    int off;

    smp_mb();
    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    if (!ring_load16(vq->avail, &off_wrap) ||
        !ring_load16(vq->avail + 2, &flags)) {
        return true;
    }
    if (flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
        return false;
    }
    if (flags != VRING_PACKED_EVENT_FLAG_DESC ||
        !virtio_vdev_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX) ||
        !valid) {
        return true;
    }
    /* Compare in one index space: an event in the other lap is one ring
     * length behind (2.8.10). */
    off = off_wrap & 0x7fff;
    if ((bool)(off_wrap >> 15) != vq->used_wrap) {
        off -= vq->num;
    }
    return vring_need_event(off, vq->used_idx, old);
}

static void packed_set_notification(VirtQueue *vq, bool enable)
{
    uint16_t flags = enable ? VRING_PACKED_EVENT_FLAG_ENABLE
                            : VRING_PACKED_EVENT_FLAG_DISABLE;

    if (enable && virtio_vdev_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX)) {
        ring_store16(vq->used, vq->last_avail_idx |
                     (vq->last_avail_wrap ? 0x8000 : 0));
        flags = VRING_PACKED_EVENT_FLAG_DESC;
    }
    ring_store16(vq->used + 2, flags);
    if (enable) {
        smp_mb();
    }
}

/* ---- queue operations ------------------------------------------------- */

static bool vq_usable(VirtQueue *vq)
{
    VirtIODevice *vdev = vq->vdev;

    if (vdev->broken || !vq->enabled || !vq->num || !vq->desc) {
        return false;
    }
    if (!virtio_queue_ready(vq)) {
        virtio_error(vdev, "queue %u: rings are not in guest RAM or are "
                     "misaligned", vq->index);
        return false;
    }
    return true;
}

bool virtqueue_pop(VirtQueue *vq, VirtQueueElement *elem)
{
    bool ok;

    if (!vq_usable(vq)) {
        return false;
    }
    if (vq->inuse >= vq->num) {
        virtio_error(vq->vdev, "queue %u: more chains in use than the "
                     "queue size", vq->index);
        return false;
    }
    ok = virtio_queue_packed(vq) ? packed_pop(vq, elem) : split_pop(vq, elem);
    if (ok) {
        vq->inuse++;
    }
    return ok;
}

void virtqueue_unpop(VirtQueue *vq, const VirtQueueElement *elem)
{
    if (!vq->inuse) {
        return;
    }
    vq->inuse--;
    if (!virtio_queue_packed(vq)) {
        vq->last_avail_idx--;
        return;
    }
    if (vq->last_avail_idx < elem->ndescs) {
        vq->last_avail_idx += vq->num;
        vq->last_avail_wrap = !vq->last_avail_wrap;
    }
    vq->last_avail_idx -= elem->ndescs;
}

size_t virtqueue_peek_in_bytes(VirtQueue *vq, VirtQueueElement *scratch,
                               size_t limit)
{
    uint16_t idx = vq->last_avail_idx, inuse = vq->inuse;
    bool wrap = vq->last_avail_wrap;
    size_t total = 0;

    /* Walk as pops do (every check included), then put the ring back. */
    while (total < limit && vq->inuse < vq->num &&
           virtqueue_pop(vq, scratch)) {
        total += virtqueue_elem_in_size(scratch);
    }
    vq->last_avail_idx = idx;
    vq->last_avail_wrap = wrap;
    vq->inuse = inuse;
    if (!vq->vdev->broken && !virtio_queue_packed(vq) &&
        virtio_vdev_has_feature(vq->vdev, VIRTIO_RING_F_EVENT_IDX) &&
        kicks_wanted(vq)) {
        /* split_pop moved avail_event on; the device has taken nothing. */
        ring_store16(split_used_elem_addr(vq, vq->num), idx);
    }
    return MIN(total, limit);
}

/*
 * The device wrote (up to) @len bytes of @elem's device-writable buffers:
 * log them for migration now that the data is there.  The log taken when
 * the element was mapped is not enough: an asynchronous read (io_uring,
 * a worker thread) or an I/O thread may land its data after a migration
 * pass consumed that log and copied the page (as QEMU logs at unmap).
 */
static void mark_elem_written(const VirtQueueElement *elem, uint32_t len)
{
    for (unsigned i = 0; i < elem->in_num && len; i++) {
        unsigned n = elem->out_num + i;
        uint32_t piece = MIN(len, elem->mapped_len[n]);

        guest_ram_mark_written(elem->addr[n], piece);
        len -= piece;
    }
}

void virtqueue_fill(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len, unsigned idx)
{
    if (vq->vdev->broken || !vq->num) {
        return;
    }
    mark_elem_written(elem, len);
    if (virtio_queue_packed(vq)) {
        packed_fill(vq, elem, len, idx);
    } else {
        split_fill(vq, elem, len, idx);
    }
    if (vq->inuse) {
        vq->inuse--;
    }
}

void virtqueue_flush(VirtQueue *vq, unsigned count)
{
    if (vq->vdev->broken || !vq->num) {
        return;
    }
    if (virtio_queue_packed(vq)) {
        packed_flush(vq, count);
    } else {
        split_flush(vq, count);
    }
}

void virtqueue_rewind_batch(VirtQueue *vq, unsigned count, unsigned ndescs)
{
    if (!virtio_queue_packed(vq)) {
        vq->last_avail_idx -= count;
        return;
    }
    vq->pending_first = NULL;
    vq->pending_used = 0;
    while (ndescs) {
        unsigned step = MIN(ndescs, vq->num);
        if (vq->last_avail_idx < step) {
            vq->last_avail_idx += vq->num;
            vq->last_avail_wrap = !vq->last_avail_wrap;
        }
        vq->last_avail_idx -= step;
        ndescs -= step;
    }
}

void virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len)
{
    virtqueue_fill(vq, elem, len, 0);
    virtqueue_flush(vq, 1);
}

bool virtio_queue_empty(VirtQueue *vq)
{
    bool broken;

    /* As virtqueue_pop sees it: a queue without a descriptor table
     * (address 0) has nothing to pop. */
    if (!vq->enabled || !vq->num || !vq->desc || !virtio_queue_ready(vq)) {
        return true;
    }
    if (virtio_queue_packed(vq)) {
        return !packed_head_available(vq, &broken);
    }
    return split_empty(vq);
}

/* Publish kicks_wanted(vq) in the ring's suppression fields. */
static void write_notification(VirtQueue *vq)
{
    if (!vq->enabled || !vq->num || !virtio_queue_ready(vq)) {
        return;
    }
    if (virtio_queue_packed(vq)) {
        packed_set_notification(vq, kicks_wanted(vq));
    } else {
        split_set_notification(vq, kicks_wanted(vq));
    }
}

void virtio_queue_set_notification(VirtQueue *vq, bool enable)
{
    vq->notification = enable;
    write_notification(vq);
}

void virtio_notify(VirtIODevice *vdev, VirtQueue *vq)
{
    bool notify;

    if (vdev->broken || !vq->enabled || !virtio_queue_ready(vq)) {
        return;
    }
    notify = virtio_queue_packed(vq) ? packed_should_notify(vq)
                                     : split_should_notify(vq);
    if (!notify) {
        return;
    }
    __atomic_or_fetch(&vdev->isr, 1, __ATOMIC_SEQ_CST);
    vdev->transport->notify(vdev, vq->vector);
}

void virtio_notify_config(VirtIODevice *vdev)
{
    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    vdev->generation++;
    __atomic_or_fetch(&vdev->isr, 2, __ATOMIC_SEQ_CST);
    vdev->transport->notify(vdev, vdev->config_vector);
}

/* ---- stopping with the VM ------------------------------------------- */

/*
 * Between vm_stop and vm_start no queue handler runs from a host notifier
 * (ioeventfd, I/O thread kick or polling), as QEMU stops its ioeventfds
 * and dataplane: such a kick is remembered and replayed at vm_start.  With
 * the block layer's drain after it, a stopped VM has no request in flight,
 * so what migration or savevm saves is complete.  Completions of requests
 * already started still run.  A notify register write handled directly
 * (no host notifier) still runs, as in QEMU: with the vCPUs stopped only
 * the qtest protocol can make one (tests play a driver of a stopped VM).
 */
static gint queues_stopped;         /* atomic */
static GPtrArray *all_vdevs;        /* VirtIODevice *, big lock */

/* A handler run that began before the stop has ended; kicks are back on. */
static void iothread_stop_polling(void *opaque)
{
    iothread_end_polling(opaque);
}

static void virtio_vm_state_changed(void *opaque, bool running)
{
    if (!running) {
        __atomic_store_n(&queues_stopped, 1, __ATOMIC_SEQ_CST);
        /* a handler run that began before the flag ends before we go on */
        for (guint i = 0; i < all_vdevs->len; i++) {
            VirtIODevice *vdev = g_ptr_array_index(all_vdevs, i);
            if (vdev->iothread) {
                iothread_run_sync(vdev->iothread, iothread_stop_polling,
                                  vdev->iothread);
            }
        }
        return;
    }
    __atomic_store_n(&queues_stopped, 0, __ATOMIC_SEQ_CST);
    for (guint i = 0; i < all_vdevs->len; i++) {
        VirtIODevice *vdev = g_ptr_array_index(all_vdevs, i);
        for (unsigned n = 0; n < vdev->nvqs; n++) {
            bool deferred = __atomic_exchange_n(&vdev->vq[n].kick_deferred,
                                                false, __ATOMIC_SEQ_CST);
            /*
             * Entries an I/O thread's polling would have taken (the
             * driver adds them without a kick while notifications are
             * off) may still wait in the ring when the VM stopped: here
             * after a failed migration or `stop`, and on a destination,
             * whose state says nothing of a kick.  Look at every ring
             * once, as QEMU's dataplane start kicks its queues.
             */
            if (deferred ||
                (!vdev->broken && !virtio_queue_empty(&vdev->vq[n]))) {
                virtio_queue_kick(vdev, n);
            }
        }
    }
}

void virtio_queue_notify(VirtIODevice *vdev, unsigned n)
{
    VirtQueue *vq;

    if (n >= vdev->nvqs) {
        return;
    }
    vq = &vdev->vq[n];
    if (!vq->handle_output || vdev->broken || !vq->enabled) {
        return;
    }
    vq->handle_output(vdev, vq);
}

void virtio_queue_kick(VirtIODevice *vdev, unsigned n)
{
    uint64_t one = 1;

    if (n >= vdev->nvqs) {
        return;
    }
    if (vdev->vq[n].host_notifier_fd >= 0) {
        if (write(vdev->vq[n].host_notifier_fd, &one, sizeof(one)) < 0) {
            /* EAGAIN: the counter is saturated, a run is due anyway */
        }
        return;
    }
    virtio_queue_notify(vdev, n);
}

/* ---- host notifiers --------------------------------------------------- */

/* Run the handler; outside the big lock the RAM table needs its lock. */
static void run_queue(VirtQueue *vq)
{
    bool locked = bql_locked();
    uint16_t before = vq->last_avail_idx;
    bool had_work;

    if (__atomic_load_n(&queues_stopped, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&vq->kick_deferred, true, __ATOMIC_SEQ_CST);
        return;
    }
    if (!locked) {
        guest_ram_read_lock();
    }
    had_work = !virtio_queue_empty(vq);
    virtio_queue_notify(vq->vdev, vq->index);
    /* Stuck: it had work and took none of it (its completion or a kick
     * resumes it).  A run that found the ring empty (a kick for entries
     * polling took already) is not stuck, even if entries came since:
     * while the thread spins they come without a kick. */
    vq->poll_stalled = had_work && vq->last_avail_idx == before;
    vq->poll_stall_idx = before;
    if (!locked) {
        guest_ram_read_unlock();
    }
}

static gboolean host_notifier_ready(gint fd, GIOCondition cond,
                                    gpointer opaque)
{
    VirtQueue *vq = opaque;
    uint64_t count;

    if (read(fd, &count, sizeof(count)) < 0) {
        return G_SOURCE_CONTINUE;   /* EAGAIN: spurious wake-up */
    }
    vq->poll_stalled = false;
    run_queue(vq);
    return G_SOURCE_CONTINUE;
}

/* Busy polling: new avail entries, unless the handler is stuck on them. */
static bool queue_poll_ready(void *opaque)
{
    VirtQueue *vq = opaque;
    bool ready;

    if (vq->vdev->broken || !vq->enabled ||
        __atomic_load_n(&queues_stopped, __ATOMIC_RELAXED)) {
        return false;
    }
    guest_ram_read_lock();
    ready = !virtio_queue_empty(vq) &&
            !(vq->poll_stalled && vq->poll_stall_idx == vq->last_avail_idx);
    guest_ram_read_unlock();
    return ready;
}

static void queue_poll_run(void *opaque)
{
    run_queue(opaque);
}

/*
 * The I/O thread spins on the ring: the driver need not kick (QEMU turns
 * notifications off for its poll handlers the same way).  Not while the
 * VM is stopped: what migration and savevm save must ask for kicks, for
 * a destination that may not poll.
 */
static void set_poll_notify_off(VirtQueue *vq, bool off)
{
    guest_ram_read_lock();
    vq->poll_notify_off = off;
    write_notification(vq);
    guest_ram_read_unlock();
}

static void queue_poll_begin(void *opaque)
{
    VirtQueue *vq = opaque;

    if (!vq->poll_notify_off &&
        !__atomic_load_n(&queues_stopped, __ATOMIC_SEQ_CST)) {
        set_poll_notify_off(vq, true);
    }
}

static void queue_poll_end(void *opaque)
{
    VirtQueue *vq = opaque;

    if (vq->poll_notify_off) {
        set_poll_notify_off(vq, false);
    }
}

static void host_notifier_attach(void *opaque)
{
    VirtQueue *vq = opaque;
    IOThread *t = vq->vdev->iothread;

    vq->host_notifier_src = g_unix_fd_source_new(vq->host_notifier_fd,
                                                 G_IO_IN);
    /* Not blocked around its dispatch: GLib would take the fd out of the
     * poll set and put it back, writing the context's wakeup eventfd
     * twice per kick.  host_notifier_ready never iterates the context. */
    g_source_set_can_recurse(vq->host_notifier_src, TRUE);
    g_source_set_callback(vq->host_notifier_src,
                          (GSourceFunc)(void (*)(void))host_notifier_ready,
                          vq, NULL);
    context_attach_source(vq->host_notifier_src, vq->host_notifier_ctx);
    if (t) {
        vq->poller = (IOThreadPoller){
            .ready = queue_poll_ready, .run = queue_poll_run,
            .poll_begin = queue_poll_begin, .poll_end = queue_poll_end,
            .opaque = vq,
        };
        vq->poll_stalled = false;
        iothread_add_poller(t, &vq->poller);
    }
}

static void host_notifier_detach(void *opaque)
{
    VirtQueue *vq = opaque;

    if (vq->vdev->iothread) {
        iothread_remove_poller(vq->vdev->iothread, &vq->poller);
    }
    g_source_destroy(vq->host_notifier_src);
    g_source_unref(vq->host_notifier_src);
    vq->host_notifier_src = NULL;
}

bool virtio_queue_host_notifier_start(VirtQueue *vq, GError **errp)
{
    IOThread *t = vq->vdev->iothread;

    if (vq->host_notifier_fd >= 0) {
        return true;
    }
    vq->host_notifier_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (vq->host_notifier_fd < 0) {
        error_setg(errp, "%s: eventfd: %s", vq->vdev->name,
                   g_strerror(errno));
        return false;
    }
    vq->host_notifier_ctx = t ? iothread_get_context(t)
                              : g_main_context_default();
    if (t) {
        iothread_run_sync(t, host_notifier_attach, vq);
    } else {
        host_notifier_attach(vq);
    }
    return true;
}

void virtio_queue_host_notifier_stop(VirtQueue *vq)
{
    IOThread *t = vq->vdev->iothread;

    if (vq->host_notifier_fd < 0) {
        return;
    }
    if (t) {
        iothread_run_sync(t, host_notifier_detach, vq);
    } else {
        host_notifier_detach(vq);
    }
    close(vq->host_notifier_fd);
    vq->host_notifier_fd = -1;
    vq->host_notifier_ctx = NULL;
}

/* ---- queue set-up ----------------------------------------------------- */

static uint64_t split_avail_size(unsigned num)
{
    return VRING_AVAIL_HDR + 2ULL * num + 2;    /* + used_event */
}

static uint64_t split_used_size(unsigned num)
{
    return VRING_USED_HDR + (uint64_t)VRING_USED_ELEM_SIZE * num + 2;
}

bool virtio_queue_ready(const VirtQueue *vq)
{
    if (!vq->num || vq->num > vq->num_max) {
        return false;
    }
    if (virtio_queue_packed(vq)) {
        return !(vq->desc & 15) && !(vq->avail & 3) && !(vq->used & 3) &&
               guest_ram_ptr(vq->desc, (uint64_t)vq->num *
                             VRING_PACKED_DESC_SIZE, true) &&
               guest_ram_ptr(vq->avail, 4, false) &&
               guest_ram_ptr(vq->used, 4, true);
    }
    /* 2.7: descriptor table 16-, available ring 2-, used ring 4-aligned. */
    return !(vq->desc & 15) && !(vq->avail & 1) && !(vq->used & 3) &&
           guest_ram_ptr(vq->desc, (uint64_t)vq->num * VRING_DESC_SIZE,
                         false) &&
           guest_ram_ptr(vq->avail, split_avail_size(vq->num), false) &&
           guest_ram_ptr(vq->used, split_used_size(vq->num), true);
}

void virtio_queue_set_legacy_pfn(VirtQueue *vq, uint32_t pfn)
{
    uint64_t base = (uint64_t)pfn << 12;

    /* Legacy layout (2.7.2 "Legacy Interfaces"): 4096-byte alignment. */
    vq->num = vq->num_max;
    vq->desc = base;
    vq->avail = base + (uint64_t)vq->num * VRING_DESC_SIZE;
    vq->used = ALIGN_UP(vq->avail + split_avail_size(vq->num), 4096);
    vq->enabled = pfn != 0;
}

static void queue_reset_state(VirtQueue *vq)
{
    vq->num = vq->num_max;
    vq->enabled = false;
    vq->reset_pending = false;
    vq->vector = VIRTIO_NO_VECTOR;
    vq->desc = vq->avail = vq->used = 0;
    vq->last_avail_idx = vq->used_idx = 0;
    vq->last_avail_wrap = vq->used_wrap = true;     /* 2.8.1: start at 1 */
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->inuse = 0;
    vq->pending_used = 0;
    vq->pending_first = NULL;
    vq->notification = true;
}

void virtio_queue_reset(VirtIODevice *vdev, unsigned n)
{
    if (n < vdev->nvqs) {
        if (vdev->vdc->queue_reset) {
            vdev->vdc->queue_reset(vdev, n);
        }
        queue_reset_state(&vdev->vq[n]);
    }
}

VirtQueue *virtio_add_queue(VirtIODevice *vdev, uint16_t num_max,
                            VirtIOHandleOutput handler)
{
    VirtQueue *vq;

    g_assert(vdev->nvqs < VIRTIO_QUEUE_MAX);
    g_assert(num_max && num_max <= VIRTQUEUE_MAX_SIZE);
    vq = &vdev->vq[vdev->nvqs];
    vq->vdev = vdev;
    vq->index = vdev->nvqs++;
    vq->num_max = num_max;
    vq->handle_output = handler;
    vq->host_notifier_fd = -1;
    queue_reset_state(vq);
    return vq;
}

/* ---- features and status ---------------------------------------------- */

bool virtio_set_features(VirtIODevice *vdev, uint64_t features)
{
    bool ok = !(features & ~vdev->host_features);

    if (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
        return false;   /* 3.1.1: features are fixed once accepted */
    }
    if (!vdev->legacy && !virtio_has_feature(features, VIRTIO_F_VERSION_1)) {
        ok = false;     /* the modern interface needs VERSION_1 (6.1) */
    }
    vdev->guest_features = features & vdev->host_features;
    if (ok && vdev->vdc->validate_features &&
        !vdev->vdc->validate_features(vdev)) {
        ok = false;
    }
    if (vdev->vdc->set_features) {
        vdev->vdc->set_features(vdev, vdev->guest_features);
    }
    return ok;
}

void virtio_set_status(VirtIODevice *vdev, uint8_t status)
{
    if (status == 0) {
        virtio_reset(vdev);
        return;
    }
    /* The driver cannot set NEEDS_RESET; it keeps it while we do. */
    status &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
    status |= vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET;
    vdev->status = status;
    if (vdev->vdc->set_status) {
        vdev->vdc->set_status(vdev, status);
    }
}

void virtio_reset(VirtIODevice *vdev)
{
    if (vdev->vdc->reset) {
        vdev->vdc->reset(vdev);
    }
    vdev->status = 0;
    __atomic_store_n(&vdev->isr, 0, __ATOMIC_SEQ_CST);
    vdev->config_vector = VIRTIO_NO_VECTOR;
    vdev->broken = false;
    vdev->guest_features = 0;
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        queue_reset_state(&vdev->vq[i]);
    }
    if (vdev->transport->reset) {
        vdev->transport->reset(vdev);
    }
}

/* ---- configuration space ---------------------------------------------- */

uint32_t virtio_config_read(VirtIODevice *vdev, uint32_t addr, unsigned size)
{
    uint32_t val = 0;

    if (size > 4 || addr > vdev->config_len ||
        size > vdev->config_len - addr) {
        return UINT32_MAX;
    }
    if (vdev->vdc->get_config) {
        vdev->vdc->get_config(vdev, vdev->config);
    }
    for (unsigned i = 0; i < size; i++) {
        val |= (uint32_t)vdev->config[addr + i] << (8 * i);
    }
    return val;
}

void virtio_config_write(VirtIODevice *vdev, uint32_t addr, uint32_t val,
                         unsigned size)
{
    if (size > 4 || addr > vdev->config_len ||
        size > vdev->config_len - addr) {
        return;
    }
    if (vdev->vdc->get_config) {
        vdev->vdc->get_config(vdev, vdev->config);
    }
    for (unsigned i = 0; i < size; i++) {
        vdev->config[addr + i] = val >> (8 * i);
    }
    if (vdev->vdc->set_config) {
        vdev->vdc->set_config(vdev, vdev->config);
    }
}

/* ---- life cycle ------------------------------------------------------- */

void virtio_init(VirtIODevice *vdev, DeviceState *dev,
                 const VirtioDeviceClass *vdc, const char *name,
                 const VirtioTransportOps *transport,
                 uint64_t host_features)
{
    guest_ram_map_init();
    if (!all_vdevs) {
        all_vdevs = g_ptr_array_new();
        vm_change_state_add_handler(virtio_vm_state_changed, NULL,
                                    VM_CHANGE_PRIO_DEVICE);
    }
    g_ptr_array_add(all_vdevs, vdev);
    vdev->dev = dev;
    vdev->vdc = vdc;
    vdev->name = name;
    vdev->transport = transport;
    vdev->config_len = vdc->config_size;
    vdev->config = g_malloc0(MAX(vdc->config_size, 1));
    vdev->config_vector = VIRTIO_NO_VECTOR;
    vdev->nvqs = 0;
    vdev->host_features = host_features;
    if (vdc->get_features) {
        vdev->host_features = vdc->get_features(vdev, host_features);
    }
}

void virtio_cleanup(VirtIODevice *vdev)
{
    g_ptr_array_remove(all_vdevs, vdev);
    g_free(vdev->config);
    vdev->config = NULL;
}

/* ---- state ------------------------------------------------------------ */

static const VMStateDescription vmstate_virtqueue = {
    .name = "virtqueue",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(num, VirtQueue),
        VMSTATE_BOOL(enabled, VirtQueue),
        VMSTATE_BOOL(reset_pending, VirtQueue),
        VMSTATE_UINT16(vector, VirtQueue),
        VMSTATE_UINT64(desc, VirtQueue),
        VMSTATE_UINT64(avail, VirtQueue),
        VMSTATE_UINT64(used, VirtQueue),
        VMSTATE_UINT16(last_avail_idx, VirtQueue),
        VMSTATE_UINT16(used_idx, VirtQueue),
        VMSTATE_BOOL(last_avail_wrap, VirtQueue),
        VMSTATE_BOOL(used_wrap, VirtQueue),
        VMSTATE_UINT16(signalled_used, VirtQueue),
        VMSTATE_BOOL(signalled_used_valid, VirtQueue),
        VMSTATE_BOOL(notification, VirtQueue),
        VMSTATE_END_OF_LIST()
    },
};

const VMStateDescription vmstate_virtio_core = {
    .name = "virtio",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(status, VirtIODevice),
        VMSTATE_UINT8(isr, VirtIODevice),
        VMSTATE_UINT16(config_vector, VirtIODevice),
        VMSTATE_UINT8(generation, VirtIODevice),
        VMSTATE_BOOL(broken, VirtIODevice),
        VMSTATE_BOOL(legacy, VirtIODevice),
        VMSTATE_UINT64(guest_features, VirtIODevice),
        VMSTATE_STRUCT_ARRAY(vq, VirtIODevice, VIRTIO_QUEUE_MAX,
                             vmstate_virtqueue, VirtQueue),
        VMSTATE_END_OF_LIST()
    },
};

bool virtio_core_post_load(VirtIODevice *vdev)
{
    if (vdev->guest_features & ~vdev->host_features) {
        return false;
    }
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        VirtQueue *vq = &vdev->vq[i];

        if (i >= vdev->nvqs) {
            /* Absent queues must stay as reset left them. */
            if (vq->num || vq->enabled) {
                return false;
            }
            continue;
        }
        if (vq->num > vq->num_max || (vq->enabled && !vq->num) ||
            (virtio_queue_packed(vq) && vq->num &&
             (vq->last_avail_idx >= vq->num || vq->used_idx >= vq->num))) {
            return false;
        }
        vq->inuse = 0;
    }
    return true;
}
