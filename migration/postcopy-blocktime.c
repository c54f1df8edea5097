/*
 * The postcopy-blocktime capability (QEMU's, docs/migration.md
 * "Postcopy"): on the destination, how long each vCPU waited for pages
 * that had not arrived yet, and how long all of them waited at once (the
 * guest made no progress then).  query-migrate on the destination reports
 * both, in milliseconds, as `postcopy-vcpu-blocktime` and
 * `postcopy-blocktime`.
 *
 * userfaultfd's UFFD_FEATURE_THREAD_ID gives each fault the id of the
 * thread that took it; faults of threads that are not vCPUs (the main
 * loop, I/O threads) are not counted, as in QEMU.  A vCPU waits from its
 * fault until the loading thread places that page.
 *
 * Threads: the fault thread records faults, the loading thread places
 * pages, the main loop reads the totals; a mutex serialises them.  The
 * loading thread's per-page cost while nothing waits is one atomic load.
 * A fault read after its page was placed is seen by one side or the
 * other: the fault thread counts the vCPU as waiting before it checks the
 * missing bit (postcopy.c ends the wait itself when the bit is already
 * clear), the loading thread clears the bit before it looks for waiters.
 */
#include "qemu/osdep.h"
#include "migration/postcopy.h"
#include "accel/kvm.h"

typedef struct PostcopyBlocktime {
    GMutex lock;
    unsigned nr_vcpus;          /* slots */
    unsigned nr_present;        /* vCPUs that exist (a thread id) */
    int *tid;                   /* per slot */
    uint64_t *waits_for;        /* per slot: page address; 0 = running */
    int64_t *since_us;          /* per slot: when it started waiting */
    uint64_t *total_us;         /* per slot */
    unsigned waiting;           /* atomic for the loading thread's check */
    int64_t all_since_us;       /* when the last running vCPU stopped */
    uint64_t all_us;
} PostcopyBlocktime;

/* The latest context: reported until the next postcopy starts. */
static PostcopyBlocktime *last;
static GMutex last_lock;

static void blocktime_free(PostcopyBlocktime *bt)
{
    if (!bt) {
        return;
    }
    g_mutex_clear(&bt->lock);
    g_free(bt->tid);
    g_free(bt->waits_for);
    g_free(bt->since_us);
    g_free(bt->total_us);
    g_free(bt);
}

PostcopyBlocktime *postcopy_blocktime_start(void)
{
    PostcopyBlocktime *bt = g_new0(PostcopyBlocktime, 1);
    KvmVcpuInfo info;

    g_mutex_init(&bt->lock);
    bt->nr_vcpus = kvm_vcpu_count();
    bt->tid = g_new0(int, bt->nr_vcpus);
    bt->waits_for = g_new0(uint64_t, bt->nr_vcpus);
    bt->since_us = g_new0(int64_t, bt->nr_vcpus);
    bt->total_us = g_new0(uint64_t, bt->nr_vcpus);
    for (unsigned i = 0; i < bt->nr_vcpus; i++) {
        if (kvm_vcpu_info(i, &info) && info.thread_id > 0) {
            bt->tid[i] = info.thread_id;
            bt->nr_present++;
        }
    }
    g_mutex_lock(&last_lock);
    blocktime_free(last);
    last = bt;
    g_mutex_unlock(&last_lock);
    return bt;
}

static int vcpu_of_thread(PostcopyBlocktime *bt, int tid)
{
    for (unsigned i = 0; i < bt->nr_vcpus; i++) {
        if (bt->tid[i] == tid) {
            return i;
        }
    }
    return -1;
}

void postcopy_blocktime_fault(PostcopyBlocktime *bt, int tid,
                              uint64_t page_addr)
{
    int v = vcpu_of_thread(bt, tid);
    int64_t now = g_get_monotonic_time();

    if (v < 0) {
        return;
    }
    g_mutex_lock(&bt->lock);
    if (!bt->waits_for[v]) {
        bt->waits_for[v] = page_addr;
        bt->since_us[v] = now;
        if (__atomic_add_fetch(&bt->waiting, 1, __ATOMIC_SEQ_CST) ==
            bt->nr_present) {
            bt->all_since_us = now;
        }
    }
    g_mutex_unlock(&bt->lock);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void postcopy_blocktime_placed(PostcopyBlocktime *bt, uint64_t page_addr)
{
    int64_t now;

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&bt->waiting, __ATOMIC_SEQ_CST)) {
        return;
    }
    now = g_get_monotonic_time();
    g_mutex_lock(&bt->lock);
    for (unsigned v = 0; v < bt->nr_vcpus; v++) {
        if (bt->waits_for[v] != page_addr) {
            continue;
        }
        if (bt->waiting == bt->nr_present) {
            bt->all_us += now - bt->all_since_us;
        }
        bt->total_us[v] += now - bt->since_us[v];
        bt->waits_for[v] = 0;
        __atomic_sub_fetch(&bt->waiting, 1, __ATOMIC_SEQ_CST);
    }
    g_mutex_unlock(&bt->lock);
}

static uint32_t us_to_ms(uint64_t us)
{
    return MIN(us / 1000, (uint64_t)UINT32_MAX);
}

bool postcopy_blocktime_report(uint32_t *all_ms, uint32_t **per_vcpu_ms,
                               unsigned *nr)
{
    PostcopyBlocktime *bt;

    g_mutex_lock(&last_lock);
    bt = last;
    if (!bt) {
        g_mutex_unlock(&last_lock);
        return false;
    }
    g_mutex_lock(&bt->lock);
    *all_ms = us_to_ms(bt->all_us);
    *nr = bt->nr_present;
    *per_vcpu_ms = g_new0(uint32_t, MAX(bt->nr_present, 1));
    for (unsigned v = 0, n = 0; v < bt->nr_vcpus; v++) {
        if (bt->tid[v]) {
            (*per_vcpu_ms)[n++] = us_to_ms(bt->total_us[v]);
        }
    }
    g_mutex_unlock(&bt->lock);
    g_mutex_unlock(&last_lock);
    return true;
}
