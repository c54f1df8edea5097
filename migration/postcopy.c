/*
 * Postcopy live migration, the destination's half: see
 * include/migration/postcopy.h.
 */
#include "qemu/osdep.h"
#include "migration/postcopy.h"
#include "migration/savevm.h"
#include "migration/migration.h"
#include "qemu/sockets-io.h"
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define BITS_PER_WORD (8 * sizeof(unsigned long))

struct PostcopyIncoming {
    int uffd;
    int quit_fd;                /* eventfd: the fault thread stops */
    GThread *fault_thread;
    GPtrArray *blocks;          /* RamBlock * (not ours) */
    unsigned long **missing;    /* per block: not here yet (atomic bits) */
    unsigned long **asked;      /* per block: a fault asked the source */
    uint64_t missing_pages;     /* atomic */
    uint64_t requests;          /* atomic */
    GMutex rp_lock;
    int rp_fd;                  /* -1 while the connection is broken */
    PostcopyBlocktime *blocktime;   /* postcopy-blocktime, or NULL */
};

/* @features: UFFD_FEATURE_* the caller needs (the faulting thread's id
 * for postcopy-blocktime). */
static int userfaultfd_open(uint64_t features, GError **errp)
{
    int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    struct uffdio_api api = { .api = UFFD_API, .features = features };

    if (fd < 0) {
        error_setg(errp, "postcopy needs userfaultfd, which this host "
                   "refuses: %s", g_strerror(errno));
        return -1;
    }
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        error_setg(errp, "postcopy: userfaultfd API handshake failed: %s",
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    if (!(api.ioctls & (1ULL << _UFFDIO_REGISTER))) {
        error_setg(errp, "postcopy: this host's userfaultfd cannot "
                   "register memory");
        close(fd);
        return -1;
    }
    return fd;
}

bool postcopy_incoming_supported(GError **errp)
{
    int fd = userfaultfd_open(0, errp);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static inline bool test_bit_atomic(const unsigned long *map, uint64_t i)
{
    return __atomic_load_n(&map[i / BITS_PER_WORD], __ATOMIC_ACQUIRE) &
           (1UL << (i % BITS_PER_WORD));
}

/* Clear bit @i; true if it was set. */
static inline bool clear_bit_atomic(unsigned long *map, uint64_t i)
{
    unsigned long bit = 1UL << (i % BITS_PER_WORD);

    return __atomic_fetch_and(&map[i / BITS_PER_WORD], ~bit,
                              __ATOMIC_ACQ_REL) & bit;
}

/* Set bit @i; true if it was clear. */
static inline bool set_bit_atomic(unsigned long *map, uint64_t i)
{
    unsigned long bit = 1UL << (i % BITS_PER_WORD);

    return !(__atomic_fetch_or(&map[i / BITS_PER_WORD], bit,
                               __ATOMIC_ACQ_REL) & bit);
}

static uint64_t region_span(const RamBlock *b)
{
    return ALIGN_UP(b->mr->size, MIG_PAGE_SIZE);
}

/*
 * Drop the stale pages so that the next access faults: MADV_REMOVE frees
 * shared memory (memfd, share=on backends), where MADV_DONTNEED would
 * only unmap it; private anonymous memory takes MADV_DONTNEED.
 */
static bool discard_range(uint8_t *p, uint64_t len, GError **errp)
{
    if (madvise(p, len, MADV_REMOVE) == 0) {
        return true;
    }
    if (madvise(p, len, MADV_DONTNEED) == 0) {
        return true;
    }
    error_setg(errp, "postcopy: cannot drop stale guest pages: %s",
               g_strerror(errno));
    return false;
}

static bool discard_block(RamBlock *b, const unsigned long *map,
                          GError **errp)
{
    uint64_t p = 0;

    while (p < b->pages) {
        uint64_t n = 0;

        if (!test_bit_atomic(map, p)) {
            p++;
            continue;
        }
        while (p + n < b->pages && test_bit_atomic(map, p + n)) {
            n++;
        }
        if (!discard_range(b->mr->ram + p * MIG_PAGE_SIZE,
                           MIN(n * MIG_PAGE_SIZE,
                               region_span(b) - p * MIG_PAGE_SIZE), errp)) {
            return false;
        }
        p += n;
    }
    return true;
}

static bool register_block(int uffd, RamBlock *b, GError **errp)
{
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)b->mr->ram, .len = region_span(b) },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };

    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
        error_setg(errp, "postcopy: guest RAM '%s' cannot be registered "
                   "with userfaultfd (%s); hugetlbfs and file-backed "
                   "private memory are not supported", b->idstr,
                   g_strerror(errno));
        return false;
    }
    if (!(reg.ioctls & (1ULL << _UFFDIO_COPY)) ||
        !(reg.ioctls & (1ULL << _UFFDIO_ZEROPAGE))) {
        error_setg(errp, "postcopy: userfaultfd cannot fill guest RAM "
                   "'%s'", b->idstr);
        return false;
    }
    return true;
}

static void unregister_blocks(PostcopyIncoming *pc)
{
    for (unsigned i = 0; i < pc->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(pc->blocks, i);
        struct uffdio_range r = {
            .start = (uintptr_t)b->mr->ram, .len = region_span(b),
        };
        ioctl(pc->uffd, UFFDIO_UNREGISTER, &r);
    }
}

bool postcopy_rp_send(PostcopyIncoming *pc, const void *msg, size_t len)
{
    bool ok;

    g_mutex_lock(&pc->rp_lock);
    ok = pc->rp_fd >= 0 && sock_write_full(pc->rp_fd, msg, len);
    g_mutex_unlock(&pc->rp_lock);
    return ok;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, v >> 32);
    put_be32(p + 4, v);
}

static bool request_page(PostcopyIncoming *pc, unsigned block, uint64_t page)
{
    uint8_t msg[13];

    msg[0] = MIG_RP_REQ_PAGE;
    put_be32(msg + 1, block);
    put_be64(msg + 5, page * MIG_PAGE_SIZE);
    return postcopy_rp_send(pc, msg, sizeof(msg));
}

/* A fault at @addr: ask for its page once (a broken connection keeps the
 * request in @asked; postcopy_rp_attach sends it again). */
static void handle_fault(PostcopyIncoming *pc, uint64_t addr, int tid)
{
    for (unsigned i = 0; i < pc->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(pc->blocks, i);
        uint64_t start = (uintptr_t)b->mr->ram, page, page_addr;

        if (addr < start || addr >= start + region_span(b)) {
            continue;
        }
        page = (addr - start) / MIG_PAGE_SIZE;
        page_addr = start + page * MIG_PAGE_SIZE;
        if (pc->blocktime) {
            /* waiting from now; counted before the bit is looked at */
            postcopy_blocktime_fault(pc->blocktime, tid, page_addr);
        }
        if (page >= b->pages || !test_bit_atomic(pc->missing[i], page)) {
            /* placed meanwhile: UFFDIO_COPY woke the thread */
            if (pc->blocktime) {
                postcopy_blocktime_placed(pc->blocktime, page_addr);
            }
            return;
        }
        if (set_bit_atomic(pc->asked[i], page)) {
            __atomic_fetch_add(&pc->requests, 1, __ATOMIC_RELAXED);
            request_page(pc, i, page);
        }
        return;
    }
}

static gpointer fault_thread(gpointer opaque)
{
    PostcopyIncoming *pc = opaque;
    struct pollfd fds[2] = {
        { .fd = pc->uffd, .events = POLLIN },
        { .fd = pc->quit_fd, .events = POLLIN },
    };

    for (;;) {
        struct uffd_msg msg[16];
        ssize_t n;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fds[1].revents) {
            break;
        }
        n = read(pc->uffd, msg, sizeof(msg));
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            break;
        }
        for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
            if (msg[i].event == UFFD_EVENT_PAGEFAULT) {
                handle_fault(pc, msg[i].arg.pagefault.address,
                             msg[i].arg.pagefault.feat.ptid);
            }
        }
    }
    return NULL;
}

static uint64_t count_bits(const unsigned long *map, uint64_t pages)
{
    uint64_t n = 0;

    for (uint64_t w = 0; w < DIV_ROUND_UP(pages, BITS_PER_WORD); w++) {
        n += __builtin_popcountl(map[w]);
    }
    return n;
}

PostcopyIncoming *postcopy_incoming_listen(GPtrArray *blocks,
                                           unsigned long **discard,
                                           int rp_fd, GError **errp)
{
    PostcopyIncoming *pc = g_new0(PostcopyIncoming, 1);

    pc->blocks = blocks;
    pc->missing = discard;
    pc->asked = g_new0(unsigned long *, blocks->len);
    pc->rp_fd = rp_fd;
    pc->quit_fd = -1;
    g_mutex_init(&pc->rp_lock);
    if (migration_capability_enabled(MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME)) {
        pc->blocktime = postcopy_blocktime_start();
    }
    pc->uffd = userfaultfd_open(pc->blocktime ? UFFD_FEATURE_THREAD_ID : 0,
                                errp);
    if (pc->uffd < 0) {
        goto fail;
    }
    for (unsigned i = 0; i < blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(blocks, i);

        pc->asked[i] = g_new0(unsigned long,
                              DIV_ROUND_UP(b->pages, BITS_PER_WORD));
        pc->missing_pages += count_bits(discard[i], b->pages);
        /* register first: a page dropped before that could be touched
         * (by an I/O thread) and come back as a fresh zero page */
        if (!register_block(pc->uffd, b, errp) ||
            !discard_block(b, discard[i], errp)) {
            goto fail;
        }
    }
    pc->quit_fd = eventfd(0, EFD_CLOEXEC);
    if (pc->quit_fd < 0) {
        error_setg(errp, "postcopy: eventfd: %s", g_strerror(errno));
        goto fail;
    }
    pc->fault_thread = g_thread_new("postcopy-fault", fault_thread, pc);
    return pc;

fail:
    pc->missing = NULL;         /* the caller still owns @discard */
    postcopy_incoming_free(pc);
    return NULL;
}

bool postcopy_place_page(PostcopyIncoming *pc, unsigned block,
                         uint64_t offset, const void *data, GError **errp)
{
    RamBlock *b = g_ptr_array_index(pc->blocks, block);
    uint64_t page = offset / MIG_PAGE_SIZE;
    uint64_t dst = (uintptr_t)b->mr->ram + page * MIG_PAGE_SIZE;
    int ret;

    if (!test_bit_atomic(pc->missing[block], page)) {
        return true;            /* here already (a resumed connection) */
    }
    if (data) {
        struct uffdio_copy c = {
            .dst = dst, .src = (uintptr_t)data, .len = MIG_PAGE_SIZE,
        };
        ret = ioctl(pc->uffd, UFFDIO_COPY, &c);
    } else {
        struct uffdio_zeropage z = {
            .range = { .start = dst, .len = MIG_PAGE_SIZE },
        };
        ret = ioctl(pc->uffd, UFFDIO_ZEROPAGE, &z);
    }
    if (ret < 0 && errno != EEXIST) {
        error_setg(errp, "postcopy: placing page 0x%" PRIx64 " of '%s' "
                   "failed: %s", offset, b->idstr, g_strerror(errno));
        return false;
    }
    if (clear_bit_atomic(pc->missing[block], page)) {
        __atomic_fetch_sub(&pc->missing_pages, 1, __ATOMIC_RELAXED);
    }
    if (pc->blocktime) {
        postcopy_blocktime_placed(pc->blocktime, dst);
    }
    return true;
}

uint64_t postcopy_missing_pages(PostcopyIncoming *pc)
{
    return __atomic_load_n(&pc->missing_pages, __ATOMIC_RELAXED);
}

uint64_t postcopy_requests(PostcopyIncoming *pc)
{
    return __atomic_load_n(&pc->requests, __ATOMIC_RELAXED);
}

void postcopy_rp_detach(PostcopyIncoming *pc)
{
    g_mutex_lock(&pc->rp_lock);
    pc->rp_fd = -1;
    g_mutex_unlock(&pc->rp_lock);
}

void postcopy_put_bitmap(GByteArray *out, const unsigned long *bmap,
                         uint64_t pages)
{
    uint8_t w[8];

    put_be64(w, pages);
    g_byte_array_append(out, w, 8);
    for (uint64_t i = 0; i < DIV_ROUND_UP(pages, 64); i++) {
        uint64_t v = __atomic_load_n(&bmap[i], __ATOMIC_ACQUIRE);

        if (i == DIV_ROUND_UP(pages, 64) - 1 && pages % 64) {
            v &= (1ULL << (pages % 64)) - 1;
        }
        put_be64(w, v);
        g_byte_array_append(out, w, 8);
    }
}

bool postcopy_rp_attach(PostcopyIncoming *pc, int rp_fd)
{
    g_autoptr(GByteArray) msg = g_byte_array_new();
    uint8_t head[5] = { MIG_RP_MISSING };
    bool ok;

    put_be32(head + 1, pc->blocks->len);
    g_byte_array_append(msg, head, sizeof(head));
    g_mutex_lock(&pc->rp_lock);
    for (unsigned i = 0; i < pc->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(pc->blocks, i);
        postcopy_put_bitmap(msg, pc->missing[i], b->pages);
    }
    pc->rp_fd = rp_fd;
    ok = sock_write_full(rp_fd, msg->data, msg->len);
    g_mutex_unlock(&pc->rp_lock);
    /* the faults that wait: the source may not have their pages queued
     * any more (they were lost with the connection), ask again */
    for (unsigned i = 0; ok && i < pc->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(pc->blocks, i);

        for (uint64_t p = 0; ok && p < b->pages; p++) {
            if (test_bit_atomic(pc->asked[i], p) &&
                test_bit_atomic(pc->missing[i], p)) {
                ok = request_page(pc, i, p);
            }
        }
    }
    return ok;
}

void postcopy_incoming_abandon(PostcopyIncoming *pc)
{
    if (pc->uffd >= 0) {
        unregister_blocks(pc);
    }
}

void postcopy_incoming_free(PostcopyIncoming *pc)
{
    if (!pc) {
        return;
    }
    if (pc->fault_thread) {
        uint64_t one = 1;
        if (write(pc->quit_fd, &one, sizeof(one)) != sizeof(one)) {
            /* an eventfd write of 1 does not fail */
        }
        g_thread_join(pc->fault_thread);
    }
    if (pc->uffd >= 0) {
        unregister_blocks(pc);
        close(pc->uffd);        /* wakes any thread still waiting */
    }
    if (pc->quit_fd >= 0) {
        close(pc->quit_fd);
    }
    for (unsigned i = 0; pc->asked && i < pc->blocks->len; i++) {
        g_free(pc->asked[i]);
        if (pc->missing) {
            g_free(pc->missing[i]);
        }
    }
    g_free(pc->asked);
    g_free(pc->missing);
    g_mutex_clear(&pc->rp_lock);
    g_free(pc);
}

/* ---- the source's half ---------------------------------------------- */

#define RP_QUEUE 1024               /* requests the thread keeps */

struct PostcopyReturnPath {
    int fd;
    GPtrArray *blocks;
    GThread *thread;
    GMutex lock;
    GCond cond;
    uint64_t queue[RP_QUEUE];       /* block << 52 | page */
    unsigned head, len;
    int answer;
    bool done, broken;
    uint64_t requests;
};

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* A request for a page that exists; queued (waiting while the queue is
 * full: the destination waits for its pages anyway). */
static bool rp_queue_request(PostcopyReturnPath *rp, const uint8_t *f)
{
    uint32_t block = get_be32(f);
    uint64_t off = get_be64(f + 4);
    RamBlock *b;

    if (block >= rp->blocks->len) {
        return false;
    }
    b = g_ptr_array_index(rp->blocks, block);
    if (off >= b->mr->size) {
        return false;
    }
    g_mutex_lock(&rp->lock);
    while (rp->len == RP_QUEUE && !rp->broken) {
        g_cond_wait(&rp->cond, &rp->lock);
    }
    rp->queue[(rp->head + rp->len++) % RP_QUEUE] =
        (uint64_t)block << 52 | off / MIG_PAGE_SIZE;
    rp->requests++;
    g_cond_broadcast(&rp->cond);
    g_mutex_unlock(&rp->lock);
    return true;
}

static void rp_set(PostcopyReturnPath *rp, int answer, bool done,
                   bool broken)
{
    g_mutex_lock(&rp->lock);
    if (answer >= 0) {
        rp->answer = answer;
    }
    rp->done |= done;
    rp->broken |= broken;
    g_cond_broadcast(&rp->cond);
    g_mutex_unlock(&rp->lock);
}

static gpointer rp_thread(gpointer opaque)
{
    PostcopyReturnPath *rp = opaque;
    uint8_t type, req[12];

    while (sock_read_full(rp->fd, &type, 1)) {
        if (type == MIG_RP_REQ_PAGE) {
            if (!sock_read_full(rp->fd, req, sizeof(req)) ||
                !rp_queue_request(rp, req)) {
                break;
            }
        } else if (type == MIG_RP_LOADED || type == MIG_RP_REFUSED) {
            rp_set(rp, type, false, false);
        } else if (type == MIG_RP_DONE) {
            rp_set(rp, -1, true, false);
            return NULL;
        } else {
            break;              /* nothing else comes on this path */
        }
    }
    rp_set(rp, -1, false, true);
    return NULL;
}

PostcopyReturnPath *postcopy_rp_start(int fd, GPtrArray *blocks)
{
    PostcopyReturnPath *rp = g_new0(PostcopyReturnPath, 1);

    rp->fd = fd;
    rp->blocks = blocks;
    rp->answer = -1;
    g_mutex_init(&rp->lock);
    g_cond_init(&rp->cond);
    rp->thread = g_thread_new("postcopy-rp", rp_thread, rp);
    return rp;
}

bool postcopy_rp_next_request(PostcopyReturnPath *rp, unsigned *block,
                              uint64_t *page)
{
    bool any;

    g_mutex_lock(&rp->lock);
    any = rp->len > 0;
    if (any) {
        uint64_t v = rp->queue[rp->head];
        rp->head = (rp->head + 1) % RP_QUEUE;
        rp->len--;
        *block = v >> 52;
        *page = v & ((1ULL << 52) - 1);
        g_cond_broadcast(&rp->cond);
    }
    g_mutex_unlock(&rp->lock);
    return any;
}

void postcopy_rp_wait(PostcopyReturnPath *rp, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;

    g_mutex_lock(&rp->lock);
    while (!rp->len && !rp->done && !rp->broken && rp->answer < 0 &&
           g_cond_wait_until(&rp->cond, &rp->lock, end)) {
    }
    g_mutex_unlock(&rp->lock);
}

void postcopy_rp_status(PostcopyReturnPath *rp, PostcopyRpStatus *st)
{
    g_mutex_lock(&rp->lock);
    st->answer = rp->answer;
    st->done = rp->done;
    st->broken = rp->broken;
    st->requests = rp->requests;
    g_mutex_unlock(&rp->lock);
}

void postcopy_rp_stop(PostcopyReturnPath *rp)
{
    if (!rp) {
        return;
    }
    rp_set(rp, -1, false, true);    /* a full queue lets go */
    g_thread_join(rp->thread);
    g_mutex_clear(&rp->lock);
    g_cond_clear(&rp->cond);
    g_free(rp);
}

bool postcopy_read_missing(int fd, GPtrArray *blocks, GError **errp)
{
    uint8_t head[5], w[8];

    if (!sock_read_full(fd, head, sizeof(head)) || head[0] != MIG_RP_MISSING) {
        error_setg(errp, "the destination did not answer the resumed "
                   "postcopy (is it in postcopy-recover?)");
        return false;
    }
    if (get_be32(head + 1) != blocks->len) {
        error_setg(errp, "the destination has %u RAM blocks, the source "
                   "%u", get_be32(head + 1), blocks->len);
        return false;
    }
    for (unsigned i = 0; i < blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(blocks, i);
        uint64_t words = DIV_ROUND_UP(b->pages, 64);

        if (!sock_read_full(fd, w, 8) || get_be64(w) != b->pages) {
            error_setg(errp, "the destination's missing pages of '%s' do "
                       "not match", b->idstr);
            return false;
        }
        for (uint64_t j = 0; j < words; j++) {
            if (!sock_read_full(fd, w, 8)) {
                error_setg(errp, "the connection broke while the "
                           "destination listed its missing pages");
                return false;
            }
            b->bmap[j] = get_be64(w);
        }
        if (b->pages % 64) {
            b->bmap[words - 1] &= (1UL << (b->pages % 64)) - 1;
        }
    }
    return true;
}
