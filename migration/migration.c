/*
 * Live migration: the outgoing state machine (a migration thread doing
 * precopy on the dirty log), the incoming side (-incoming, a loading
 * thread), blockers, parameters, capabilities and the QMP commands.
 * Stream format: include/migration/savevm.h.  User docs:
 * docs/migration.md.
 *
 * Threads.  The outgoing thread sends RAM without the big lock (guest
 * pages are read while vCPUs run; a page written meanwhile is dirty
 * again and goes out in a later pass).  It takes the lock to take the
 * dirty log (so a device that writes RAM under the lock is either before
 * or after the snapshot), to send events, and for the whole switchover:
 * stop, last pass, device and CPU state, end.  The incoming thread reads
 * RAM straight into guest memory (the VM is not running) and keeps the
 * device sections; the main loop applies them at the end.
 */
#include "qemu/osdep.h"
#include <poll.h>
#include "migration/migration.h"
#include "block/dirty-bitmap-migration.h"
#include "migration/channel.h"
#include "migration/savevm.h"
#include "migration/xbzrle.h"
#include "migration/multifd.h"
#include "migration/postcopy.h"
#include "migration/auto-converge.h"
#include "migration/tls.h"
#include "system/cpu-throttle.h"
#include "hw/qdev.h"
#include "block/block.h"
#include "system/main-loop.h"
#include "system/runstate.h"
#include "system/timer.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "net/net.h"
#include <sys/socket.h>
#include <sys/stat.h>

#define DEFAULT_DOWNTIME_LIMIT_MS   300
#define DEFAULT_MAX_BANDWIDTH       (128 * MiB)     /* QEMU 7.2's */
#define RATE_WINDOW_MS              100
#define MAX_DOWNTIME_LIMIT_MS       2000000

/* ---- blockers and state handlers ------------------------------------ */

static GPtrArray *blockers;      /* char * */
static GPtrArray *state_handlers;

void migrate_add_blocker(const char *reason)
{
    if (!blockers) {
        blockers = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(blockers, g_strdup(reason));
}

void migrate_del_blocker(const char *reason)
{
    for (unsigned i = 0; blockers && i < blockers->len; i++) {
        if (!strcmp(g_ptr_array_index(blockers, i), reason)) {
            g_ptr_array_remove_index(blockers, i);
            return;
        }
    }
}

char **migration_blocker_reasons(void)
{
    GPtrArray *out = g_ptr_array_new();
    GPtrArray *devs = device_list();

    for (unsigned i = 0; blockers && i < blockers->len; i++) {
        g_ptr_array_add(out, g_strdup(g_ptr_array_index(blockers, i)));
    }
    for (unsigned i = 0; i < devs->len; i++) {
        DeviceState *d = g_ptr_array_index(devs, i);
        if (d->migration_blocker) {
            g_ptr_array_add(out, g_strdup(d->migration_blocker));
        }
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool migration_check_blockers(GError **errp)
{
    g_auto(GStrv) reasons = migration_blocker_reasons();

    if (reasons[0]) {
        error_setg(errp, "%s", reasons[0]);
        return false;
    }
    return true;
}

void migration_register_state(const MigrationStateHandler *h)
{
    g_ptr_array_add(migration_state_handlers(), (gpointer)h);
}

GPtrArray *migration_state_handlers(void)
{
    if (!state_handlers) {
        state_handlers = g_ptr_array_new();
        /* every kvmpc has it, first: the config section compares lists */
        g_ptr_array_add(state_handlers,
                        (gpointer)dirty_bitmap_mig_handler());
    }
    return state_handlers;
}

/* ---- parameters and capabilities ------------------------------------ */

static MigrationParameters params = {
    .has_announce_initial = true, .announce_initial = 50,
    .has_announce_max = true, .announce_max = 550,
    .has_announce_rounds = true, .announce_rounds = 5,
    .has_announce_step = true, .announce_step = 100,
    .has_throttle_trigger_threshold = true, .throttle_trigger_threshold = 50,
    .has_cpu_throttle_initial = true, .cpu_throttle_initial = 20,
    .has_cpu_throttle_increment = true, .cpu_throttle_increment = 10,
    .has_cpu_throttle_tailslow = true, .cpu_throttle_tailslow = false,
    .has_max_bandwidth = true, .max_bandwidth = DEFAULT_MAX_BANDWIDTH,
    .has_downtime_limit = true, .downtime_limit = DEFAULT_DOWNTIME_LIMIT_MS,
    .has_x_checkpoint_delay = true, .x_checkpoint_delay = 20000,
    .has_block_incremental = true, .block_incremental = false,
    .has_multifd_channels = true, .multifd_channels = 2,
    .has_xbzrle_cache_size = true, .xbzrle_cache_size = 64 * MiB,
    .has_max_postcopy_bandwidth = true, .max_postcopy_bandwidth = 0,
    .has_max_cpu_throttle = true, .max_cpu_throttle = 99,
    .has_multifd_compression = true,
    .multifd_compression = MULTI_FD_COMPRESSION_NONE,
    .has_multifd_zlib_level = true, .multifd_zlib_level = 1,
    .has_multifd_zstd_level = true, .multifd_zstd_level = 1,
};

static bool caps[MIGRATION_CAPABILITY__MAX];

/*
 * migrate-pause and migrate-recover may run in the monitor I/O thread
 * (exec-oob) while the main thread waits on a page fault: the migration
 * sockets they touch are closed, and the recovery listener set up, under
 * this lock instead of the big lock.  The TLS parameters' pointers
 * are swapped under it too, since migrate-recover takes a copy.
 */
static GMutex postcopy_fd_lock;

/* tls-creds, tls-hostname, tls-authz: NULL when unset ("" to QMP).  Set
 * under the big lock; a migration takes copies when it starts. */
static char *tls_creds_id, *tls_hostname, *tls_authz_id;

char *migrate_tls_creds(void)
{
    return g_strdup(tls_creds_id);
}

char *migrate_tls_hostname(void)
{
    return g_strdup(tls_hostname);
}

char *migrate_tls_authz(void)
{
    return g_strdup(tls_authz_id);
}

/* migrate-set-parameters' StrOrNull: null and "" both clear. */
static void set_tls_param(char **where, const StrOrNull *v)
{
    g_mutex_lock(&postcopy_fd_lock);
    g_free(*where);
    *where = v->type == QTYPE_QSTRING && *v->u.s ? g_strdup(v->u.s) : NULL;
    g_mutex_unlock(&postcopy_fd_lock);
}

/* What kvmpc implements; the rest are refused, never silently taken. */
static bool capability_supported(MigrationCapability c)
{
    return c == MIGRATION_CAPABILITY_EVENTS ||
           c == MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER ||
           c == MIGRATION_CAPABILITY_XBZRLE ||
           c == MIGRATION_CAPABILITY_AUTO_CONVERGE ||
           c == MIGRATION_CAPABILITY_MULTIFD ||
           c == MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE ||
           c == MIGRATION_CAPABILITY_POSTCOPY_RAM ||
           c == MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME ||
           c == MIGRATION_CAPABILITY_X_IGNORE_SHARED ||
           c == MIGRATION_CAPABILITY_DIRTY_BITMAPS ||
           /* what tcp: and unix: streams always have: the destination
            * answers END (docs/migration.md); libvirt sets it */
           c == MIGRATION_CAPABILITY_RETURN_PATH;
}

/* ---- the outgoing migration ----------------------------------------- */

typedef struct MigrationState {
    MigrationStatus status;         /* written under the big lock */
    GThread *thread;
    MigFile *f;
    int fd;
    GPid child;
    GPtrArray *blocks;
    GByteArray *config;
    char *error_desc;
    gint cancel;                    /* atomic */
    GMutex lock;                    /* pre-switchover wait */
    GCond cond;
    bool continue_requested;
    RunState runstate_before;
    bool vm_was_running;
    bool want_answer;               /* tcp:, unix: (see savevm.h) */
    /* tls-creds and co. when the migration started; NULL: no TLS.  The
     * thread runs each connection's handshake: @fd is the network
     * socket until then, the relay's end after (include/migration/tls.h) */
    MigrationTLS *tls;
    /* statistics (written by the thread, read by query-migrate) */
    int64_t start_ms, setup_time, total_time, downtime, expected_downtime;
    uint64_t ram_total, remaining, dirty_sync_count, dirty_pages_rate;
    uint64_t transferred, precopy_bytes, downtime_bytes;
    double mbps, bandwidth;         /* bandwidth in bytes per ms */
    RamStats st;
    /* rate limiting */
    int64_t window_start;
    uint64_t window_bytes;
    /* multifd: the channels (NULL without the capability; set and
     * freed under the big lock), and what finished channels did */
    char *uri;
    MultifdSend *mfd;
    uint32_t mfd_seq;
    uint64_t mfd_bytes, mfd_zero, mfd_normal;
    /* xbzrle: the page cache (NULL without the capability) */
    XbzrleCache *xbzrle;
    /* auto-converge: the decision state and the current period */
    ThrottleState throttle;
    int64_t period_start;
    uint64_t period_xfer0, period_dirty;
    /* postcopy: asked for (migrate-start-postcopy, atomic), the return
     * path's reader once switched, a resumed connection handed over by
     * migrate with "resume" (under @lock), and what it did */
    gint start_postcopy;
    PostcopyReturnPath *rp;
    int resume_fd;
    char *resume_uri;               /* its URI (TLS's host name) */
    GPid resume_child;
    int64_t stop_ms;
    uint64_t postcopy_requests, postcopy_bytes0;
    uint64_t postcopy_requests0;    /* on the connections before this one */
} MigrationState;

static MigrationState mig = {
    .status = MIGRATION_STATUS_NONE, .fd = -1, .resume_fd = -1,
};

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

static bool status_is_postcopy(MigrationStatus s)
{
    return s == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
           s == MIGRATION_STATUS_POSTCOPY_PAUSED ||
           s == MIGRATION_STATUS_POSTCOPY_RECOVER;
}

static bool status_is_active(MigrationStatus s)
{
    return s == MIGRATION_STATUS_SETUP || s == MIGRATION_STATUS_ACTIVE ||
           s == MIGRATION_STATUS_PRE_SWITCHOVER ||
           s == MIGRATION_STATUS_DEVICE ||
           s == MIGRATION_STATUS_CANCELLING || status_is_postcopy(s);
}

bool migration_is_active(void)
{
    return status_is_active(mig.status);
}

/* Big lock held. */
static void set_status(MigrationStatus *where, MigrationStatus s)
{
    if (*where == s) {
        return;
    }
    __atomic_store_n(where, s, __ATOMIC_RELEASE);
    if (caps[MIGRATION_CAPABILITY_EVENTS]) {
        qapi_event_send_migration(s);
    }
}

static bool cancelled(MigrationState *s)
{
    return g_atomic_int_get(&s->cancel) != 0;
}

static uint64_t file_bytes(MigFile *f)
{
    return f->transferred + f->pending;
}

/* Main stream and multifd channels together. */
static uint64_t total_bytes(MigrationState *s)
{
    return file_bytes(s->f) + s->mfd_bytes + multifd_send_bytes(s->mfd);
}

/* ---- free page hints (docs/migration.md "Free page hints") --------- */

/*
 * The device hints on the main thread (big lock held); the migration
 * thread owns the bitmaps it sends from and clears them without the lock,
 * so a hint only sets bits in its block's @hinted map (under @lock), and
 * the thread takes them out of @bmap between two batches, or at the close
 * of the round.  A map per block bounds the memory a driver that hints
 * without end can make kvmpc use (a list of ranges would grow while the
 * thread waits on a slow destination).
 */
static struct {
    MigrationHintNotify notify;
    void *opaque;
    GMutex lock;
    bool open;                      /* a round takes hints (under @lock) */
    gint pending;                   /* atomic: some @hinted bit is set */
} hints;

void migration_set_hint_notifier(MigrationHintNotify fn, void *opaque)
{
    hints.notify = fn;
    hints.opaque = opaque;
}

/* Set bits [@first, @end) of @map, a word at a time. */
static void bits_set(unsigned long *map, uint64_t first, uint64_t end)
{
    const unsigned bits = 8 * sizeof(unsigned long);

    while (first < end) {
        unsigned sh = first % bits;
        uint64_t n = MIN(end - first, (uint64_t)bits - sh);
        unsigned long mask = n == bits ? ~0UL : ((1UL << n) - 1) << sh;

        map[first / bits] |= mask;
        first += n;
    }
}

/* Mark the whole pages of [@host, @host + @len) in the block holding it
 * (a range the guest RAM table gave is inside one block; cut anyway). */
static void hint_mark(MigrationState *s, uint8_t *host, uint64_t len)
{
    const unsigned bits = 8 * sizeof(unsigned long);

    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        uint8_t *ram = b->mr->ram;
        uint64_t off, first, end;

        if (!ram || b->ignored || host < ram || host >= ram + b->mr->size) {
            continue;
        }
        off = host - ram;
        end = off + MIN(b->mr->size - off, len);
        /* partial pages at the edges hold live data: kept */
        first = (off + MIG_PAGE_SIZE - 1) / MIG_PAGE_SIZE;
        end = MIN(end / MIG_PAGE_SIZE, b->pages);
        if (first >= end) {
            return;
        }
        if (!b->hinted) {
            b->hinted = g_new0(unsigned long, (b->pages + bits - 1) / bits);
        }
        bits_set(b->hinted, first, end);
        if (b->hint_lo == b->hint_hi) {
            b->hint_lo = first / bits;
            b->hint_hi = (end + bits - 1) / bits;
        } else {
            b->hint_lo = MIN(b->hint_lo, first / bits);
            b->hint_hi = MAX(b->hint_hi, (end + bits - 1) / bits);
        }
        g_atomic_int_set(&hints.pending, 1);
        return;
    }
}

bool ram_discard_hinted_range(void *host, uint64_t len)
{
    bool taken;

    g_mutex_lock(&hints.lock);
    taken = hints.open && len;
    if (taken) {
        hint_mark(&mig, host, len);
    }
    g_mutex_unlock(&hints.lock);
    return taken;
}

/* Migration thread: take the hints received so far out of the bitmaps
 * (the pages this round has not sent yet are then not sent). */
static void hints_apply(MigrationState *s)
{
    if (!g_atomic_int_get(&hints.pending)) {
        return;
    }
    g_mutex_lock(&hints.lock);
    g_atomic_int_set(&hints.pending, 0);
    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);

        for (uint64_t w = b->hint_lo; w < b->hint_hi; w++) {
            unsigned long v = b->hinted[w];
            uint64_t n = __builtin_popcountl(b->bmap[w] & v);

            b->bmap[w] &= ~v;
            b->hinted[w] = 0;
            s->remaining -= MIN(s->remaining, n);
        }
        b->hint_lo = b->hint_hi = 0;
    }
    g_mutex_unlock(&hints.lock);
}

static bool hints_wanted(void)
{
    return hints.notify && !caps[MIGRATION_CAPABILITY_POSTCOPY_RAM];
}

/*
 * Big lock held, right after a sync: a new round while the guest runs
 * (a stopped guest cannot answer; its hinted pages go back at DONE).
 */
static void hints_round_start(void)
{
    if (!hints_wanted()) {
        return;
    }
    if (!runstate_is_running()) {
        hints.notify(hints.opaque, MIGRATION_HINT_DONE);
        return;
    }
    g_mutex_lock(&hints.lock);
    hints.open = true;
    g_mutex_unlock(&hints.lock);
    hints.notify(hints.opaque, MIGRATION_HINT_ROUND_START);
}

/* Big lock held, before a sync: what the round got is applied to the
 * bitmap it was about, before the sync adds the log to it. */
static void hints_round_close(MigrationState *s)
{
    bool was_open;

    g_mutex_lock(&hints.lock);
    was_open = hints.open;
    hints.open = false;
    g_mutex_unlock(&hints.lock);
    hints_apply(s);
    if (was_open && hints.notify) {
        hints.notify(hints.opaque, MIGRATION_HINT_ROUND_STOP);
    }
}

/* Big lock held: the guest may reuse every page it hinted. */
static void hints_done(MigrationState *s)
{
    hints_round_close(s);
    if (hints_wanted()) {
        hints.notify(hints.opaque, MIGRATION_HINT_DONE);
    }
}

/*
 * Take the dirty log of every block into its private bitmap (big lock
 * held); returns the pages now waiting to be sent.
 */
static uint64_t sync_dirty(MigrationState *s)
{
    const unsigned bits = 8 * sizeof(unsigned long);
    uint64_t total = 0;

    hints_round_close(s);
    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        uint64_t words = (b->pages + bits - 1) / bits;
        unsigned long *log = b->mr->mig_dirty;

        if (b->ignored) {
            continue;           /* x-ignore-shared: the file carries it */
        }
        memory_region_sync_dirty(b->mr);
        for (uint64_t w = 0; w < words; w++) {
            unsigned long v = __atomic_exchange_n(&log[w], 0,
                                                  __ATOMIC_RELAXED);
            if (w == words - 1 && b->pages % bits) {
                v &= (1UL << (b->pages % bits)) - 1;
            }
            b->bmap[w] |= v;
            total += __builtin_popcountl(b->bmap[w]);
        }
    }
    return total;
}

/* Keep to @max bytes a second (0: no limit) in windows of RATE_WINDOW_MS. */
static void rate_limit(MigrationState *s, uint64_t max)
{
    uint64_t used;
    int64_t now = now_ms();

    if (!max) {
        return;
    }
    if (now - s->window_start >= RATE_WINDOW_MS) {
        s->window_start = now;
        s->window_bytes = total_bytes(s);
        return;
    }
    used = total_bytes(s) - s->window_bytes;
    if (used < max / (1000 / RATE_WINDOW_MS)) {
        return;
    }
    mig_file_flush(s->f);
    while (!cancelled(s) && now_ms() - s->window_start < RATE_WINDOW_MS) {
        g_usleep(1000);
    }
    s->window_start = now_ms();
    s->window_bytes = total_bytes(s);
}

static void fail(MigrationState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * The destination acknowledges each MULTIFD_SYNC (and, without multifd,
 * each PASS_ACK) with one byte on the main connection once every page
 * before it is loaded: a pass ends (and its bandwidth is measured) when
 * the pages are in, not when they sit in socket buffers, so the
 * switchover decision holds even when the destination (decompressing,
 * filling in sparse pages) is the slow side.
 */
static bool wait_ack(MigrationState *s, const char *what)
{
    uint8_t ack = 0;
    bool locked = bql_locked();
    ssize_t n;

    if (locked) {
        bql_unlock();
    }
    do {
        n = read(s->fd, &ack, 1);
    } while (n < 0 && errno == EINTR);
    if (locked) {
        bql_lock();
    }
    if (n != 1 || ack != MIG_ANSWER_LOADED) {
        if (!cancelled(s)) {
            fail(s, "the destination did not acknowledge %s (its log "
                 "says why)", what);
        }
        return false;
    }
    return true;
}

/* End of a pass on the channels: MULTIFD_SYNC, then wait until every
 * channel wrote its SYNC and the destination loaded the pages. */
static bool multifd_sync(MigrationState *s)
{
    GError *err = NULL;

    if (!s->mfd) {
        return true;
    }
    mig_put_u8(s->f, MIG_SEC_MULTIFD_SYNC);
    mig_put_u32(s->f, ++s->mfd_seq);
    if (!mig_file_flush(s->f)) {
        return false;
    }
    if (!multifd_send_sync(s->mfd, s->mfd_seq, &err)) {
        if (!cancelled(s)) {
            fail(s, "%s", err->message);
        }
        g_error_free(err);
        return false;
    }
    return wait_ack(s, "the multifd pages");
}

/* Keep the channels' counters, then close them (big lock held). */
static bool multifd_close(MigrationState *s, bool ok)
{
    GError *err = NULL;
    uint64_t zero, normal;

    if (!s->mfd) {
        return true;
    }
    multifd_send_page_counts(s->mfd, &zero, &normal);
    s->mfd_zero += zero;
    s->mfd_normal += normal;
    s->mfd_bytes += multifd_send_bytes(s->mfd);
    ok = multifd_send_finish(s->mfd, ok, &err) && ok;
    s->mfd = NULL;
    if (err && !cancelled(s)) {
        fail(s, "%s", err->message);
    }
    g_clear_error(&err);
    return ok;
}

/* migrate-start-postcopy was given (postcopy excludes multifd). */
static bool postcopy_requested(MigrationState *s)
{
    return g_atomic_int_get(&s->start_postcopy) != 0;
}

/* Send every page marked in the private bitmaps, in batches of runs;
 * a precopy pass (@limited) stops early when postcopy is asked for. */
static bool send_dirty(MigrationState *s, bool limited)
{
    const unsigned bits = 8 * sizeof(unsigned long);

    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        uint64_t p = 0;

        while (p < b->pages) {
            unsigned n = 0;
            unsigned long word;

            hints_apply(s);
            word = b->bmap[p / bits];

            if (!word && p % bits == 0) {
                p += bits;                      /* a clean word */
                continue;
            }
            if (!(word & (1UL << (p % bits)))) {
                p++;
                continue;
            }
            while (p + n < b->pages && n < MIG_BATCH_PAGES &&
                   (b->bmap[(p + n) / bits] & (1UL << ((p + n) % bits)))) {
                b->bmap[(p + n) / bits] &= ~(1UL << ((p + n) % bits));
                n++;
            }
            if (s->mfd) {
                multifd_send_pages(s->mfd, i, p, n);
            } else {
                mig_save_ram_batch(s->f, i, b, p, n, &s->st, s->xbzrle);
            }
            p += n;
            s->remaining = s->remaining > n ? s->remaining - n : 0;
            s->transferred = total_bytes(s);
            if (mig_file_error(s->f) || cancelled(s)) {
                return false;
            }
            if (limited) {
                rate_limit(s, params.max_bandwidth);
                if (postcopy_requested(s)) {
                    /* the rest goes after the switch */
                    return mig_file_flush(s->f);
                }
            }
        }
    }
    return mig_file_flush(s->f) && multifd_sync(s);
}

static void fail(MigrationState *s, const char *fmt, ...)
{
    va_list ap;

    if (s->error_desc) {
        return;
    }
    va_start(ap, fmt);
    s->error_desc = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static const char *stream_error_text(MigrationState *s)
{
    const GError *e = mig_file_error(s->f);

    return e ? e->message : "unknown error";
}

/*
 * After a dirty sync: @dirty pages were dirtied since the last one.  As
 * QEMU, the decision is taken on periods of at least a second.
 */
static void auto_converge_check(MigrationState *s, uint64_t dirty)
{
    ThrottleParams p = {
        .trigger_threshold = params.throttle_trigger_threshold,
        .initial = params.cpu_throttle_initial,
        .increment = params.cpu_throttle_increment,
        .tailslow = params.cpu_throttle_tailslow,
        .max = params.max_cpu_throttle,
    };
    int64_t now = now_ms();

    s->period_dirty += dirty * MIG_PAGE_SIZE;
    if (!caps[MIGRATION_CAPABILITY_AUTO_CONVERGE] ||
        now - s->period_start < 1000) {
        return;
    }
    auto_converge_period(&s->throttle, &p,
                         total_bytes(s) - s->period_xfer0, s->period_dirty);
    if (s->throttle.pct != (unsigned)cpu_throttle_get_percentage()) {
        cpu_throttle_set(s->throttle.pct);
    }
    s->period_start = now;
    s->period_xfer0 = total_bytes(s);
    s->period_dirty = 0;
}

/*
 * End a pass on a connection that answers (tcp:, unix:): PASS_ACK, and
 * wait until the destination has loaded everything sent so far.  Without
 * it a pass would end when its bytes sit in socket buffers, and pages that
 * are cheap to send but not to load (sparse ones: a few bytes each) could
 * leave the destination seconds behind when the source stops the VM.
 */
static bool pass_ack(MigrationState *s, unsigned pass)
{
    mig_put_u8(s->f, MIG_SEC_PASS_ACK);
    mig_put_u32(s->f, pass);
    if (!mig_file_flush(s->f)) {
        return false;
    }
    return wait_ack(s, "a precopy pass");
}

typedef enum PrecopyEnd {
    PRECOPY_FAILED, PRECOPY_CONVERGED, PRECOPY_POSTCOPY,
} PrecopyEnd;

/*
 * Precopy passes until the rest fits in downtime-limit (or postcopy is
 * asked for: the destination then takes the rest).  The estimate is
 * the dirty pages over the rate the last pass moved the pages that were
 * not zero (normal, sparse or XBZRLE: each kind costs something else on
 * the wire, the rate in pages covers them all; zero pages are left out,
 * which errs on the long side).
 *
 * Under the limit, a pass that still shrank the dirty set by a third or
 * more earns another one (at most CONVERGE_EXTRA_PASSES, and not once
 * the estimate is down to CONVERGE_FLOOR_MS): when the guest dirties
 * slower than the link drains, each pass is shorter than the last, so a
 * few milliseconds of total time buy a downtime several times shorter
 * (a guest rewriting whole pages at 300 MB/s stopped with 56 ms of pages
 * left without this; bench/README.md).
 */
#define CONVERGE_EXTRA_PASSES   3
#define CONVERGE_FLOOR_MS       10

static PrecopyEnd precopy(MigrationState *s)
{
    double pages_per_ms = 0;
    uint64_t prev_dirty = 0;
    unsigned extra = 0;

    for (unsigned pass = 0; ; pass++) {
        int64_t t0 = now_ms(), elapsed;
        uint64_t bytes0 = total_bytes(s), zero0 = s->st.zero_pages, dirty;

        bql_lock();
        dirty = sync_dirty(s);
        s->dirty_sync_count++;
        if (caps[MIGRATION_CAPABILITY_EVENTS]) {
            qapi_event_send_migration_pass(s->dirty_sync_count);
        }
        hints_round_start();
        bql_unlock();
        s->remaining = dirty;
        if (pass > 0) {
            auto_converge_check(s, dirty);
        }
        mig_put_u8(s->f, MIG_SEC_PASS);
        mig_put_u32(s->f, s->dirty_sync_count);
        if (postcopy_requested(s)) {
            return PRECOPY_POSTCOPY;
        }
        if (pass > 0) {
            s->expected_downtime = (int64_t)(dirty /
                                             MAX(pages_per_ms, 0.001));
            if (s->expected_downtime <= (int64_t)params.downtime_limit) {
                bool shrinking = dirty * 3 <= prev_dirty * 2;

                if (!shrinking || extra == CONVERGE_EXTRA_PASSES ||
                    s->expected_downtime <= CONVERGE_FLOOR_MS) {
                    return PRECOPY_CONVERGED;
                }
                extra++;
            }
        }
        prev_dirty = dirty;
        if (!send_dirty(s, true)) {
            return PRECOPY_FAILED;
        }
        if (postcopy_requested(s)) {
            return PRECOPY_POSTCOPY;
        }
        if (s->want_answer && !s->mfd && !pass_ack(s, pass)) {
            return PRECOPY_FAILED;
        }
        elapsed = MAX(now_ms() - t0, 1);
        if (dirty) {
            uint64_t moved = dirty - MIN(dirty, s->st.zero_pages - zero0);

            /* a pass of zero pages only: their own (fast) rate */
            pages_per_ms = (double)(moved ? moved : dirty) / elapsed;
        }
        s->bandwidth = (double)(total_bytes(s) - bytes0) / elapsed;
        s->mbps = s->bandwidth * 8 / 1000.0;
        s->dirty_pages_rate = dirty * 1000 / elapsed;
        s->precopy_bytes = total_bytes(s);
    }
}

/* Wait for migrate-continue (big lock released meanwhile). */
static void pause_before_switchover(MigrationState *s)
{
    set_status(&s->status, MIGRATION_STATUS_PRE_SWITCHOVER);
    bql_unlock();
    g_mutex_lock(&s->lock);
    while (!s->continue_requested && !cancelled(s)) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
    bql_lock();
    if (!cancelled(s)) {
        set_status(&s->status, MIGRATION_STATUS_DEVICE);
    }
}

/*
 * On a socket the destination says whether it loaded the state; until
 * it does the source could still resume.  The big lock is released for
 * the wait, so the monitor (migrate_cancel) stays usable.
 */
static bool wait_answer(MigrationState *s)
{
    uint8_t answer = MIG_ANSWER_REFUSED;
    ssize_t n;

    bql_unlock();
    do {
        n = read(s->fd, &answer, 1);
    } while (n < 0 && errno == EINTR);
    bql_lock();
    if (n == 1 && answer == MIG_ANSWER_LOADED) {
        return true;
    }
    fail(s, n == 1 ? "the destination refused the migration stream "
                     "(its log says why)"
                   : "the destination closed the connection before it "
                     "loaded the machine's state");
    return false;
}

/* The migration failed after the images went to the destination: take
 * them back (the locks), unless the destination has them now. */
static void source_reactivate_images(void)
{
    GError *err = NULL;

    if (!bdrv_activate_all(&err)) {
        error_report("migration failed and the images cannot be taken "
                     "back: %s", err->message);
        g_error_free(err);
    }
}

static void stop_logging(MigrationState *s)
{
    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        memory_region_set_log_migration(b->mr, false);
    }
}

/*
 * Stop the guest for the switch (precopy's or postcopy's), and with
 * pause-before-switchover wait for migrate-continue; s->stop_ms is when
 * downtime starts (after that wait: it is the user's).  False when
 * cancelled meanwhile.  Big lock held.
 */
static bool stop_for_switchover(MigrationState *s)
{
    s->runstate_before = runstate_get();
    s->vm_was_running = runstate_is_running();
    s->stop_ms = now_ms();
    if (s->vm_was_running) {
        vm_stop(RUN_STATE_FINISH_MIGRATE);
    } else {
        runstate_set(RUN_STATE_FINISH_MIGRATE);
    }
    if (caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER]) {
        pause_before_switchover(s);
        if (cancelled(s)) {
            return false;
        }
        s->stop_ms = now_ms();
    }
    return true;
}

/* Stop, last pass, device and CPU state, end.  Big lock held. */
static bool switchover(MigrationState *s)
{
    uint64_t bytes0;
    GError *err = NULL;

    if (!stop_for_switchover(s)) {
        return false;
    }
    bytes0 = total_bytes(s);
    s->remaining = sync_dirty(s);
    s->dirty_sync_count++;
    /* the device state below carries DONE to the destination's driver */
    hints_done(s);
    if (!send_dirty(s, false) || !multifd_close(s, true)) {
        return false;
    }
    if (!mig_save_devices(s->f, &err)) {
        fail(s, "%s", err->message);
        g_error_free(err);
        return false;
    }
    /* shared storage: the images are the destination's from here (it
     * locks them once loaded); flushed by the stop above */
    bdrv_inactivate_all();
    mig_save_end(s->f, s->vm_was_running, s->want_answer);
    if (!mig_file_flush(s->f)) {
        return false;
    }
    if (s->want_answer && !wait_answer(s)) {
        return false;
    }
    s->downtime_bytes = total_bytes(s) - bytes0;
    s->transferred = total_bytes(s);
    s->downtime = now_ms() - s->stop_ms;
    return true;
}

/* ---- postcopy, the source's side (docs/migration.md "Postcopy") ------ */

typedef enum PostcopyEnd {
    POSTCOPY_DONE, POSTCOPY_REFUSED, POSTCOPY_BROKEN,
} PostcopyEnd;

/* Big lock not held: takes it for the status. */
static void set_status_locked(MigrationStatus *where, MigrationStatus st)
{
    bql_lock();
    set_status(where, st);
    bql_unlock();
}

/*
 * Stop the guest, tell the destination which pages it has are stale
 * (POSTCOPY_LISTEN), send the devices, then POSTCOPY_RUN.  Big lock held.
 * False before RUN went out (the destination never runs the guest: the
 * caller resumes it here); once RUN is written the guest belongs to the
 * destination whatever happens to the connection.
 */
static bool postcopy_switchover(MigrationState *s, bool *sent_run)
{
    g_autoptr(GByteArray) listen = g_byte_array_new();
    GError *err = NULL;
    uint8_t head[5] = { MIG_SEC_POSTCOPY_LISTEN };

    *sent_run = false;
    if (!stop_for_switchover(s)) {
        return false;
    }
    s->remaining = sync_dirty(s);
    s->dirty_sync_count++;
    stop_logging(s);            /* the guest is stopped for good here */
    head[1] = s->blocks->len >> 24;
    head[2] = s->blocks->len >> 16;
    head[3] = s->blocks->len >> 8;
    head[4] = s->blocks->len;
    g_byte_array_append(listen, head, sizeof(head));
    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        postcopy_put_bitmap(listen, b->bmap, b->pages);
    }
    mig_put_buffer(s->f, listen->data, listen->len);
    if (!mig_save_devices(s->f, &err)) {
        fail(s, "%s", err->message);
        g_error_free(err);
        return false;
    }
    if (!mig_file_flush(s->f)) {
        return false;
    }
    bdrv_inactivate_all();
    s->postcopy_bytes0 = total_bytes(s);
    s->rp = postcopy_rp_start(s->fd, s->blocks);
    *sent_run = true;
    mig_put_u8(s->f, MIG_SEC_POSTCOPY_RUN);
    mig_put_u8(s->f, s->vm_was_running);
    mig_file_flush(s->f);
    set_status(&s->status, MIGRATION_STATUS_POSTCOPY_ACTIVE);
    return true;
}

/* Send the run of marked pages at @page of block @i (at most @max). */
static void postcopy_send_run(MigrationState *s, unsigned i, uint64_t page,
                              unsigned max)
{
    const unsigned bits = 8 * sizeof(unsigned long);
    RamBlock *b = g_ptr_array_index(s->blocks, i);
    unsigned n = 0;

    while (page + n < b->pages && n < max &&
           (b->bmap[(page + n) / bits] & (1UL << ((page + n) % bits)))) {
        b->bmap[(page + n) / bits] &= ~(1UL << ((page + n) % bits));
        n++;
    }
    if (n) {
        mig_save_ram_batch(s->f, i, b, page, n, &s->st, NULL);
        s->remaining = s->remaining > n ? s->remaining - n : 0;
        s->transferred = total_bytes(s);
    }
}

/* The next marked page at or after (*block, *page), wrapping once. */
static bool postcopy_next_marked(MigrationState *s, unsigned *block,
                                 uint64_t *page)
{
    const unsigned bits = 8 * sizeof(unsigned long);

    for (unsigned k = 0; k <= s->blocks->len; k++) {
        unsigned i = (*block + k) % s->blocks->len;
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        uint64_t p = k == 0 ? *page : 0;

        while (p < b->pages) {
            unsigned long w = b->bmap[p / bits] >> (p % bits);
            if (w) {
                p += __builtin_ctzl(w);
                if (p < b->pages) {
                    *block = i;
                    *page = p;
                    return true;
                }
                break;
            }
            p = (p / bits + 1) * bits;
        }
    }
    return false;
}

/*
 * Pages until the destination has all of them: the ones its faults ask
 * for first, each flushed at once, the rest in order from the last one
 * asked for (a guest touches what is near), within
 * max-postcopy-bandwidth.  Big lock not held.
 */
static PostcopyEnd postcopy_send(MigrationState *s)
{
    unsigned block = 0, rblock;
    uint64_t page = 0, rpage;
    bool end_sent = false;

    for (;;) {
        PostcopyRpStatus st;

        postcopy_rp_status(s->rp, &st);
        s->postcopy_requests = s->postcopy_requests0 + st.requests;
        if (st.answer == MIG_RP_REFUSED) {
            return POSTCOPY_REFUSED;
        }
        if (st.answer == MIG_RP_LOADED && !s->downtime) {
            s->downtime = MAX(now_ms() - s->stop_ms, 1);
        }
        if (st.done) {
            return POSTCOPY_DONE;
        }
        if (st.broken || mig_file_error(s->f)) {
            return POSTCOPY_BROKEN;
        }
        if (postcopy_rp_next_request(s->rp, &rblock, &rpage)) {
            postcopy_send_run(s, rblock, rpage, 1);
            mig_file_flush(s->f);
            block = rblock;
            page = rpage + 1;
        } else if (postcopy_next_marked(s, &block, &page)) {
            postcopy_send_run(s, block, page, 64);
            mig_file_flush(s->f);
            rate_limit(s, params.max_postcopy_bandwidth);
        } else if (!end_sent) {
            mig_save_end(s->f, s->vm_was_running, true);
            mig_file_flush(s->f);
            end_sent = true;
        } else {
            postcopy_rp_wait(s->rp, 100);
        }
    }
}

/* The connection broke: postcopy-paused until migrate with "resume"
 * brings a new one; false if that one fails before it is usable. */
static bool postcopy_pause_and_resume(MigrationState *s)
{
    g_autofree char *uri = NULL;
    GError *err = NULL;
    int fd;

    if (s->fd >= 0) {
        shutdown(s->fd, SHUT_RDWR);
    }
    postcopy_rp_stop(s->rp);
    s->rp = NULL;
    s->postcopy_requests0 = s->postcopy_requests;
    mig_file_free(s->f);
    s->f = NULL;
    g_mutex_lock(&postcopy_fd_lock);    /* migrate-pause may be out of band */
    close(s->fd);
    s->fd = -1;
    g_mutex_unlock(&postcopy_fd_lock);
    bql_lock();
    set_status(&s->status, MIGRATION_STATUS_POSTCOPY_PAUSED);
    error_report("postcopy: the connection to the destination broke; the "
                "guest runs there and waits for its pages: run "
                "migrate-recover on the destination, then migrate with "
                "\"resume\": true here");
    bql_unlock();
    g_mutex_lock(&s->lock);
    while (s->resume_fd < 0) {
        g_cond_wait(&s->cond, &s->lock);
    }
    fd = s->resume_fd;
    s->resume_fd = -1;
    uri = g_steal_pointer(&s->resume_uri);
    g_mutex_unlock(&s->lock);
    if (s->tls) {
        fd = migration_tls_client(s->tls, fd, uri, &err);
        if (fd < 0) {
            error_report("postcopy resume: %s", err->message);
            g_error_free(err);
            return false;
        }
    }

    set_status_locked(&s->status, MIGRATION_STATUS_POSTCOPY_RECOVER);
    s->fd = fd;
    s->f = mig_file_new_fd(fd, true);
    mig_save_header(s->f);
    mig_put_u8(s->f, MIG_SEC_POSTCOPY_RESUME);
    if (!mig_file_flush(s->f) ||
        !postcopy_read_missing(fd, s->blocks, &err)) {
        if (err) {
            error_report("postcopy resume: %s", err->message);
            g_error_free(err);
        }
        return false;
    }
    s->remaining = 0;
    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        for (uint64_t w = 0; w < DIV_ROUND_UP(b->pages, 64); w++) {
            s->remaining += __builtin_popcountl(b->bmap[w]);
        }
    }
    s->rp = postcopy_rp_start(fd, s->blocks);
    set_status_locked(&s->status, MIGRATION_STATUS_POSTCOPY_ACTIVE);
    return true;
}

/*
 * Postcopy from the switch to the end.  Big lock held on entry and
 * exit.  False only while the source may still take the guest back (the
 * switch failed before RUN went out, or the destination refused the
 * state); a broken connection pauses instead, for as long as it takes.
 */
static bool postcopy(MigrationState *s)
{
    bool sent_run, ok = false;

    if (!postcopy_switchover(s, &sent_run)) {
        if (!sent_run) {
            return false;
        }
    }
    bql_unlock();
    for (;;) {
        PostcopyEnd end = s->rp ? postcopy_send(s) : POSTCOPY_BROKEN;

        if (end == POSTCOPY_DONE) {
            ok = true;
            break;
        }
        if (end == POSTCOPY_REFUSED) {
            fail(s, "the destination refused the machine's state (its log "
                 "says why)");
            break;
        }
        while (!postcopy_pause_and_resume(s)) {
        }
    }
    if (s->rp) {
        PostcopyRpStatus st;

        postcopy_rp_status(s->rp, &st);
        if (!st.done) {
            shutdown(s->fd, SHUT_RDWR); /* its reader may still wait */
        }
    }
    postcopy_rp_stop(s->rp);
    s->rp = NULL;
    bql_lock();
    s->downtime_bytes = 0;
    s->transferred = total_bytes(s);
    return ok;
}

static void join_thread(void *opaque)
{
    MigrationState *s = opaque;

    if (s->thread) {
        g_thread_join(s->thread);
        s->thread = NULL;
    }
}

/* Why a migration ended before its stream: text for error-desc. */
static void note_stream_failure(MigrationState *s)
{
    if (s->f && mig_file_error(s->f) && !cancelled(s)) {
        fail(s, "%s", stream_error_text(s));
    }
}

/* x-ignore-shared: which blocks the stream leaves to the file. */
static void save_ignored_blocks(MigrationState *s)
{
    uint32_t n = 0;

    for (unsigned i = 0; i < s->blocks->len; i++) {
        n += ((RamBlock *)g_ptr_array_index(s->blocks, i))->ignored;
    }
    if (!n) {
        return;
    }
    mig_put_u8(s->f, MIG_SEC_IGNORE_SHARED);
    mig_put_u32(s->f, n);
    for (unsigned i = 0; i < s->blocks->len; i++) {
        if (((RamBlock *)g_ptr_array_index(s->blocks, i))->ignored) {
            mig_put_u32(s->f, i);
        }
    }
}

/*
 * With TLS: the handshake on the new connection (the migration thread,
 * the big lock not held).  The stream then goes to the relay's end; a
 * failure ends the migration with QEMU's text in error-desc.
 */
static bool secure_connection(MigrationState *s)
{
    GError *err = NULL;
    int fd;

    if (!s->tls) {
        return true;
    }
    fd = migration_tls_client(s->tls, s->fd, s->uri, &err);
    bql_lock();
    s->fd = fd;     /* migrate_cancel shuts down what is there now */
    s->f->fd = fd;
    if (fd < 0) {
        fail(s, "%s", err->message);
        mig_file_set_error(s->f, "%s", err->message);
        g_error_free(err);
    }
    bql_unlock();
    return fd >= 0;
}

static gpointer migration_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    bool ok, closed_ok;
    GError *err = NULL;
    PrecopyEnd end;

    secure_connection(s);
    mig_save_header(s->f);
    mig_save_config(s->f, s->config);
    if (caps[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        mig_put_u8(s->f, MIG_SEC_POSTCOPY_ADVISE);
    }
    save_ignored_blocks(s);
    if (caps[MIGRATION_CAPABILITY_MULTIFD]) {
        MultifdSend *m;

        mig_put_u8(s->f, MIG_SEC_MULTIFD);
        mig_put_u32(s->f, params.multifd_channels);
        mig_put_u8(s->f, params.multifd_compression);
        /* the main connection first: the destination takes the
         * channels after it */
        mig_file_flush(s->f);
        m = mig_file_error(s->f) ? NULL
            : multifd_send_new(s->uri, params.multifd_channels,
                               params.multifd_compression,
                               params.multifd_compression ==
                               MULTI_FD_COMPRESSION_ZLIB
                               ? params.multifd_zlib_level
                               : params.multifd_zstd_level,
                               s->blocks, s->tls, &err);
        if (!m && err) {
            fail(s, "%s", err->message);
            g_clear_error(&err);
            mig_file_set_error(s->f, "multifd setup failed");
        }
        bql_lock();
        s->mfd = m;
        bql_unlock();
    }
    mig_file_flush(s->f);
    bql_lock();
    s->setup_time = now_ms() - s->start_ms;
    if (!cancelled(s)) {
        set_status(&s->status, MIGRATION_STATUS_ACTIVE);
    }
    bql_unlock();

    end = mig_file_error(s->f) || cancelled(s) ? PRECOPY_FAILED
                                                : precopy(s);
    bql_lock();
    if (end == PRECOPY_POSTCOPY && !cancelled(s)) {
        ok = postcopy(s);
    } else if (end == PRECOPY_CONVERGED && !cancelled(s)) {
        ok = switchover(s);
    } else {
        ok = false;
    }
    if (!multifd_close(s, ok)) {
        ok = false;
    }
    if (!ok) {
        note_stream_failure(s);
        source_reactivate_images();
        /* nothing is lost: the source runs on as it was */
        if (s->runstate_before == RUN_STATE_RUNNING || s->vm_was_running) {
            vm_start();
        } else if (runstate_get() == RUN_STATE_FINISH_MIGRATE) {
            runstate_set(s->runstate_before);
        }
    }
    /* closing waits for an exec: child that reads what we wrote */
    closed_ok = mig_file_close(s->f, &err);
    s->f = NULL;
    migration_channel_reap(s->child);
    s->child = 0;
    if (ok && !closed_ok) {
        ok = false;
        fail(s, "%s", err->message);
        source_reactivate_images();
        if (s->vm_was_running) {
            vm_start();
        }
    }
    g_clear_error(&err);
    s->total_time = now_ms() - s->start_ms;
    hints_done(s);
    stop_logging(s);
    cpu_throttle_stop();
    s->throttle = (ThrottleState){ 0 };
    if (ok) {
        runstate_set(RUN_STATE_POSTMIGRATE);
        set_status(&s->status, MIGRATION_STATUS_COMPLETED);
    } else if (cancelled(s)) {
        set_status(&s->status, MIGRATION_STATUS_CANCELLED);
    } else {
        set_status(&s->status, MIGRATION_STATUS_FAILED);
    }
    main_loop_call(join_thread, s);
    bql_unlock();
    return NULL;
}

static void migration_reset_stats(MigrationState *s)
{
    g_clear_pointer(&s->error_desc, g_free);
    s->cancel = 0;
    s->continue_requested = false;
    s->setup_time = s->total_time = s->downtime = s->expected_downtime = 0;
    s->ram_total = s->remaining = s->dirty_sync_count = 0;
    s->dirty_pages_rate = s->transferred = 0;
    s->precopy_bytes = s->downtime_bytes = 0;
    s->mbps = s->bandwidth = 0;
    s->st = (RamStats){ 0 };
    s->vm_was_running = false;
    s->mfd_seq = 0;
    s->mfd_bytes = s->mfd_zero = s->mfd_normal = 0;
    s->throttle = (ThrottleState){ 0 };
    s->period_start = now_ms();
    s->period_xfer0 = s->period_dirty = 0;
    g_clear_pointer(&s->xbzrle, xbzrle_cache_free);
    s->start_postcopy = 0;
    s->postcopy_requests = s->postcopy_bytes0 = s->postcopy_requests0 = 0;
    s->stop_ms = 0;
}

/* Can the destination answer on this connection (postcopy's pages)? */
static bool channel_has_return_path(const char *uri, int fd)
{
    struct stat st;

    if (migration_channel_is_listener(uri)) {
        return true;
    }
    return g_str_has_prefix(uri, "fd:") && fstat(fd, &st) == 0 &&
           S_ISSOCK(st.st_mode);
}

/* migrate "resume": hand a new connection to the paused thread. */
static void migrate_resume(MigrationState *s, const char *uri, GError **errp)
{
    GPid pid = 0;
    int fd;

    if (s->status != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return;
    }
    if (!migration_uri_check(uri, errp)) {
        return;
    }
    if (!migration_channel_is_listener(uri) && !g_str_has_prefix(uri, "fd:")) {
        error_setg(errp, "a postcopy resumes on a tcp:, unix: or socket "
                   "fd: URI");
        return;
    }
    fd = migration_channel_open(uri, true, &pid, errp);
    if (fd < 0) {
        return;
    }
    if (!channel_has_return_path(uri, fd)) {
        error_setg(errp, "fd '%s' is not a socket", uri + 3);
        close(fd);
        return;
    }
    g_mutex_lock(&s->lock);
    if (s->resume_fd >= 0) {
        close(s->resume_fd);
    }
    s->resume_fd = fd;
    g_free(s->resume_uri);
    s->resume_uri = g_strdup(uri);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

void qmp_migrate(const char *uri, bool has_blk, bool blk, bool has_inc,
                 bool inc, bool has_detach, bool detach, bool has_resume,
                 bool resume, GError **errp)
{
    MigrationState *s = &mig;
    g_autoptr(MigrationTLS) tls = NULL;
    int fd;
    GPid pid;

    if ((has_blk && blk) || (has_inc && inc)) {
        error_setg(errp, "block migration (blk/inc) is not supported; "
                   "use shared storage");
        return;
    }
    if (has_resume && resume) {
        migrate_resume(s, uri, errp);
        return;
    }
    if (migration_is_active() || s->thread) {
        error_setg(errp, "There's a migration process in progress");
        return;
    }
    if (runstate_get() == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return;
    }
    if (!migration_check_blockers(errp) ||
        !migration_uri_check(uri, errp)) {
        return;
    }
    tls = migration_tls_get();
    if (tls && !migration_tls_uri_ok(uri, errp)) {
        return;
    }
    if (caps[MIGRATION_CAPABILITY_MULTIFD] &&
        !migration_channel_is_listener(uri)) {
        error_setg(errp, "multifd is only supported on tcp: and unix: "
                   "URIs");
        return;
    }
    if (caps[MIGRATION_CAPABILITY_POSTCOPY_RAM] &&
        caps[MIGRATION_CAPABILITY_X_IGNORE_SHARED]) {
        error_setg(errp, "x-ignore-shared with postcopy-ram is not "
                   "supported by kvmpc");
        return;
    }
    if (caps[MIGRATION_CAPABILITY_POSTCOPY_RAM] &&
        caps[MIGRATION_CAPABILITY_MULTIFD]) {
        error_setg(errp, "Postcopy is not yet compatible with multifd");
        return;
    }
    if (caps[MIGRATION_CAPABILITY_POSTCOPY_RAM] &&
        !migration_channel_is_listener(uri) && !g_str_has_prefix(uri, "fd:")) {
        error_setg(errp, "postcopy-ram needs a tcp:, unix: or socket fd: "
                   "URI: the destination asks for pages on the same "
                   "connection");
        return;
    }
    if (caps[MIGRATION_CAPABILITY_MULTIFD] &&
        !multifd_compression_available(params.multifd_compression)) {
        error_setg(errp, "multifd-compression '%s' is not available in this "
                   "build", MultiFDCompression_str[
                       params.multifd_compression]);
        return;
    }
    fd = migration_channel_open(uri, true, &pid, errp);
    if (fd < 0) {
        return;
    }
    if (caps[MIGRATION_CAPABILITY_POSTCOPY_RAM] &&
        !channel_has_return_path(uri, fd)) {
        error_setg(errp, "postcopy-ram needs a connection the destination "
                   "can answer on: fd '%s' is not a socket", uri + 3);
        close(fd);
        return;
    }
    migration_reset_stats(s);
    s->fd = fd;
    s->child = pid;
    migration_tls_free(s->tls);
    s->tls = g_steal_pointer(&tls);
    g_free(s->uri);
    s->uri = g_strdup(uri);
    /* postcopy on an fd: socket (libvirt passes its tcp connection so)
     * asks and answers on it like tcp: */
    s->want_answer = migration_channel_is_listener(uri) ||
                     caps[MIGRATION_CAPABILITY_POSTCOPY_RAM];
    s->start_ms = now_ms();
    s->runstate_before = runstate_get();
    s->window_start = s->start_ms;
    s->window_bytes = 0;
    ram_blocks_free(s->blocks);
    s->blocks = ram_blocks_new();
    for (unsigned i = 0; i < s->blocks->len; i++) {
        RamBlock *b = g_ptr_array_index(s->blocks, i);
        const unsigned bits = 8 * sizeof(unsigned long);
        b->bmap = g_new0(unsigned long, (b->pages + bits - 1) / bits + 1);
        if (caps[MIGRATION_CAPABILITY_X_IGNORE_SHARED] &&
            b->mr->ram_file_shared) {
            b->ignored = true;
            continue;
        }
        s->ram_total += b->pages * MIG_PAGE_SIZE;
        memory_region_set_log_migration(b->mr, true);   /* all dirty */
    }
    if (s->config) {
        g_byte_array_unref(s->config);
    }
    s->config = mig_config_new(s->blocks);
    if (caps[MIGRATION_CAPABILITY_XBZRLE]) {
        s->xbzrle = xbzrle_cache_new(params.xbzrle_cache_size);
    }
    s->f = mig_file_new_fd(fd, true);
    s->status = MIGRATION_STATUS_NONE;
    set_status(&s->status, MIGRATION_STATUS_SETUP);
    s->thread = g_thread_new("migration", migration_thread, s);
}

void qmp_migrate_cancel(GError **errp)
{
    MigrationState *s = &mig;

    if (!migration_is_active()) {
        return;     /* as QEMU: nothing to cancel is not an error */
    }
    if (status_is_postcopy(s->status)) {
        error_setg(errp, "a postcopy migration cannot be cancelled: the "
                   "guest runs on the destination (migrate-pause and "
                   "migrate-recover handle a broken connection)");
        return;
    }
    g_atomic_int_set(&s->cancel, 1);
    set_status(&s->status, MIGRATION_STATUS_CANCELLING);
    if (s->fd >= 0) {
        shutdown(s->fd, SHUT_RDWR);   /* unblocks a write in progress */
    }
    if (s->mfd) {
        multifd_send_shutdown(s->mfd);
    }
    g_mutex_lock(&s->lock);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

void qmp_migrate_start_postcopy(GError **errp)
{
    MigrationState *s = &mig;

    if (!caps[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        error_setg(errp, "Enable postcopy with migrate_set_capability "
                   "before the start of migration");
        return;
    }
    if (!migration_is_active()) {
        error_setg(errp, "Postcopy must be started after migration has "
                   "been started");
        return;
    }
    g_atomic_int_set(&s->start_postcopy, 1);
}

void qmp_migrate_continue(MigrationStatus state, GError **errp)
{
    MigrationState *s = &mig;

    if (s->status != state) {
        error_setg(errp, "Migration not in expected state: %s",
                   MigrationStatus_str[s->status]);
        return;
    }
    g_mutex_lock(&s->lock);
    s->continue_requested = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

/* ---- the incoming side ---------------------------------------------- */

typedef struct IncomingState {
    MigrationStatus status;
    bool pending;                   /* waiting for or reading a stream */
    bool deferred;
    bool autostart;
    int listen_fd;
    guint listen_watch;
    bool recover_listening;     /* migrate-recover waits for the source */
    bool tcp;
    GThread *thread;
    GPid child;
    int fd;
    MigFile *f;
    MigLoad *ld;
    /* the parameters when the connection came (QEMU takes them then);
     * NULL: no TLS */
    MigrationTLS *tls;
    GError *error;
    int64_t start_ms;
    uint64_t transferred;
} IncomingState;

static IncomingState incoming = { .listen_fd = -1, .fd = -1 };

bool migration_incoming_pending(void)
{
    return incoming.pending;
}

void migration_incoming_set_autostart(bool autostart)
{
    incoming.autostart = autostart;
}

/* Tell a source that waits (tcp:, unix:) how the load went. */
static void incoming_answer(IncomingState *in, bool loaded)
{
    uint8_t b = loaded ? MIG_ANSWER_LOADED : MIG_ANSWER_REFUSED;

    /* a source that may have switched to postcopy reads its return
     * path for the refusal, whatever END said */
    if (in->ld && (in->ld->want_answer || in->ld->postcopy_advised) &&
        in->fd >= 0) {
        if (write(in->fd, &b, 1) != 1) {
            /* the source is gone; it resumes on its own */
        }
    }
    if (in->fd >= 0) {
        close(in->fd);
        in->fd = -1;
    }
}

static void incoming_done(void *opaque)
{
    IncomingState *in = opaque;
    GError *err = in->error;

    in->error = NULL;
    g_thread_join(in->thread);
    in->thread = NULL;
    if (in->listen_fd >= 0) {
        close(in->listen_fd);
        in->listen_fd = -1;
    }
    migration_channel_reap(in->child);
    in->child = 0;
    if (!err) {
        mig_load_finish(in->ld, &err);
    }
    /* shared storage: the source let the images go at its switchover.
     * With late-block-activate (libvirt sets it on the destination) a VM
     * that stays paused takes them only at "cont" (monitor_do_cont), so
     * the management tool decides when the destination owns the disks. */
    if (!err && !(caps[MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE] &&
                  !(in->autostart && in->ld->source_running)) &&
        !bdrv_activate_all(&err)) {
        g_prefix_error(&err, "cannot take the images: ");
    }
    incoming_answer(in, !err);
    if (err) {
        set_status(&in->status, MIGRATION_STATUS_FAILED);
        error_report("load of migration failed: %s", err->message);
        g_error_free(err);
        mig_load_free(in->ld);
        in->ld = NULL;
        qemu_system_exit_request(1);
        return;
    }
    in->pending = false;
    set_status(&in->status, MIGRATION_STATUS_COMPLETED);
    /* as QEMU's destination: tell the switches where the NICs are now */
    net_announce_after_migration(params.announce_initial,
                                 params.announce_max, params.announce_rounds,
                                 params.announce_step);
    /* as QEMU: run if the source ran and we were not started with -S */
    if (in->autostart && in->ld->source_running) {
        vm_start();
    } else {
        runstate_set(RUN_STATE_PAUSED);
    }
    mig_load_free(in->ld);
    in->ld = NULL;
}

/* ---- postcopy, the destination's side -------------------------------- */

/*
 * POSTCOPY_RUN came: load the devices, answer, run the guest (which
 * takes its missing pages through userfaultfd while the loading thread
 * goes on).  The main loop, big lock held.
 */
static void incoming_postcopy_run(void *opaque)
{
    IncomingState *in = opaque;
    GError *err = NULL;
    uint8_t answer;

    if (mig_load_finish(in->ld, &err) &&
        !(caps[MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE] &&
          !(in->autostart && in->ld->source_running)) &&
        !bdrv_activate_all(&err)) {
        g_prefix_error(&err, "cannot take the images: ");
    }
    answer = err ? MIG_RP_REFUSED : MIG_RP_LOADED;
    postcopy_rp_send(in->ld->pc, &answer, 1);
    if (err) {
        set_status(&in->status, MIGRATION_STATUS_FAILED);
        error_report("load of migration failed: %s", err->message);
        g_error_free(err);
        qemu_system_exit_request(1);
        return;
    }
    set_status(&in->status, MIGRATION_STATUS_POSTCOPY_ACTIVE);
    net_announce_after_migration(params.announce_initial,
                                 params.announce_max, params.announce_rounds,
                                 params.announce_step);
    if (in->autostart && in->ld->source_running) {
        vm_start();
    } else {
        runstate_set(RUN_STATE_PAUSED);
    }
}

static void incoming_join(IncomingState *in)
{
    if (in->thread) {
        g_thread_join(in->thread);
        in->thread = NULL;
    }
}

/* The connection and the listener closed; the fault thread, which runs
 * on, no longer writes to the connection first (the fd could be reused). */
static void incoming_postcopy_close_fds(IncomingState *in)
{
    postcopy_rp_detach(in->ld->pc);
    close(in->fd);
    in->fd = -1;
    if (in->listen_fd >= 0) {
        close(in->listen_fd);
        in->listen_fd = -1;
    }
}

/* The loading thread is done with the connection: close it. */
static void incoming_postcopy_close(IncomingState *in)
{
    incoming_join(in);
    incoming_postcopy_close_fds(in);
}

/* Every page is here: tell the source, let go of userfaultfd. */
static void incoming_postcopy_done(void *opaque)
{
    IncomingState *in = opaque;
    uint8_t done = MIG_RP_DONE;

    postcopy_rp_send(in->ld->pc, &done, 1);
    incoming_postcopy_close(in);
    mig_load_free(in->ld);      /* unregisters the guest's RAM */
    in->ld = NULL;
    in->pending = false;
    set_status(&in->status, MIGRATION_STATUS_COMPLETED);
}

/*
 * The connection broke after the guest started here.  Runs in the
 * loading thread, not the main loop: the main thread may be the one
 * waiting for a page, and migrate-recover needs postcopy-paused.
 */
static void incoming_postcopy_pause(IncomingState *in)
{
    g_mutex_lock(&postcopy_fd_lock);
    incoming_postcopy_close_fds(in);
    error_report("postcopy: %s; %" PRIu64 " pages are still on the "
                 "source: migrate-recover URI here, then migrate with "
                 "\"resume\": true there", in->error ? in->error->message
                                                   : "the connection broke",
                 postcopy_missing_pages(in->ld->pc));
    g_clear_error(&in->error);
    set_status(&in->status, MIGRATION_STATUS_POSTCOPY_PAUSED);
    g_mutex_unlock(&postcopy_fd_lock);
}

static void incoming_postcopy_active(void *opaque)
{
    IncomingState *in = opaque;

    set_status(&in->status, MIGRATION_STATUS_POSTCOPY_ACTIVE);
}

/* The pages after POSTCOPY_RUN, on the first or a resumed connection. */
static void incoming_postcopy_pages(IncomingState *in, bool resumed)
{
    bool ok = true;

    if (resumed) {
        ok = mig_load_resume_header(in->f, &in->error) &&
             postcopy_rp_attach(in->ld->pc, in->fd);
        if (ok) {
            main_loop_call(incoming_postcopy_active, in);
        }
    }
    ok = ok && mig_load_postcopy(in->f, in->ld, &in->error);
    mig_file_free(in->f);
    in->f = NULL;
    if (ok) {
        main_loop_call(incoming_postcopy_done, in);
    } else {
        incoming_postcopy_pause(in);
    }
}

/* With TLS: the server handshake on the new connection (a loading
 * thread); in->fd becomes the relay's end, or -1 with in->error set. */
static bool incoming_secure(IncomingState *in)
{
    if (!in->tls) {
        return true;
    }
    in->fd = migration_tls_server(in->tls, in->fd, &in->error);
    return in->fd >= 0;
}

/* Wait for the source's resumed connection on migrate-recover's
 * listener, then load the rest of the pages: all in this thread. */
static gpointer incoming_resume_thread(gpointer opaque)
{
    IncomingState *in = opaque;
    struct pollfd pfd = { .fd = in->listen_fd, .events = POLLIN };
    int conn = -1;

    while (conn < 0) {
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
            return NULL;
        }
        conn = migration_channel_accept(in->listen_fd, in->tcp);
    }
    g_mutex_lock(&postcopy_fd_lock);
    close(in->listen_fd);
    in->listen_fd = -1;
    in->recover_listening = false;
    in->fd = conn;
    set_status(&in->status, MIGRATION_STATUS_POSTCOPY_RECOVER);
    g_mutex_unlock(&postcopy_fd_lock);
    if (!incoming_secure(in)) {
        incoming_postcopy_pause(in);
        return NULL;
    }
    in->f = mig_file_new_fd(in->fd, false);
    incoming_postcopy_pages(in, true);
    return NULL;
}

static gboolean incoming_accept(gint fd, GIOCondition cond, gpointer opaque);

/*
 * The main loop: a connection that failed its TLS handshake (a client
 * with the wrong certificate or none, one that authz refuses).  As
 * QEMU, say why and go on waiting on the listener for the real source.
 */
static void incoming_refused(void *opaque)
{
    IncomingState *in = opaque;

    incoming_join(in);
    mig_load_free(in->ld);
    in->ld = NULL;
    error_report("%s", in->error->message);
    g_clear_error(&in->error);
    set_status(&in->status, MIGRATION_STATUS_SETUP);
    in->listen_watch = g_unix_fd_add(in->listen_fd, G_IO_IN, incoming_accept,
                                     in);
}

static gpointer incoming_thread(gpointer opaque)
{
    IncomingState *in = opaque;

    if (!incoming_secure(in)) {
        /* fd: and the like bring nothing else: a broken stream */
        main_loop_call(in->listen_fd >= 0 ? incoming_refused : incoming_done,
                       in);
        return NULL;
    }
    in->f = mig_file_new_fd(in->fd, false);
    mig_load_stream(in->f, in->ld, true, &in->error);
    in->transferred = in->f->transferred;
    if (!in->error && in->ld->postcopy_running) {
        main_loop_call(incoming_postcopy_run, in);
        incoming_postcopy_pages(in, false);
        return NULL;
    }
    mig_file_free(in->f);       /* the fd stays open for the answer */
    in->f = NULL;
    main_loop_call(incoming_done, in);
    return NULL;
}

/* The TLS parameters for a connection that just came (QEMU reads them
 * then, so they may be set after migrate-incoming). */
static void incoming_take_tls(IncomingState *in)
{
    migration_tls_free(in->tls);
    in->tls = migration_tls_get();
    if (in->ld) {
        in->ld->tls = in->tls;
    }
}

static void incoming_start_thread(IncomingState *in, int fd)
{
    set_status(&in->status, MIGRATION_STATUS_ACTIVE);
    in->fd = fd;
    in->ld = mig_load_new();
    in->ld->listen_fd = in->listen_fd;
    in->ld->tcp = in->tcp;
    incoming_take_tls(in);
    in->thread = g_thread_new("migration-in", incoming_thread, in);
}

static gboolean incoming_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    IncomingState *in = opaque;
    int conn = migration_channel_accept(fd, in->tcp);

    if (conn < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* the listener stays open for multifd channels until the end */
    in->listen_watch = 0;
    incoming_start_thread(in, conn);
    return G_SOURCE_REMOVE;
}

static bool incoming_open(IncomingState *in, const char *uri, GError **errp)
{
    g_autoptr(MigrationTLS) tls = migration_tls_get();

    if (!migration_uri_check(uri, errp) ||
        (tls && !migration_tls_uri_ok(uri, errp))) {
        return false;
    }
    in->start_ms = now_ms();
    if (migration_channel_is_listener(uri)) {
        int fd = migration_channel_listen(uri, errp);
        if (fd < 0) {
            return false;
        }
        in->listen_fd = fd;
        in->tcp = g_str_has_prefix(uri, "tcp:");
        in->listen_watch = g_unix_fd_add(fd, G_IO_IN, incoming_accept, in);
        set_status(&in->status, MIGRATION_STATUS_SETUP);
        return true;
    }
    {
        GPid pid;
        int fd = migration_channel_open(uri, false, &pid, errp);
        if (fd < 0) {
            return false;
        }
        in->child = pid;
        incoming_start_thread(in, fd);
    }
    return true;
}

bool migration_incoming_start(const char *uri, bool autostart, GError **errp)
{
    IncomingState *in = &incoming;

    in->autostart = autostart;
    in->pending = true;
    runstate_set(RUN_STATE_INMIGRATE);
    if (!strcmp(uri, "defer")) {
        in->deferred = true;
        return true;
    }
    return incoming_open(in, uri, errp);
}

void qmp_migrate_incoming(const char *uri, GError **errp)
{
    IncomingState *in = &incoming;

    if (!in->deferred) {
        error_setg(errp, "The incoming migration has already been "
                   "started");
        return;
    }
    if (!incoming_open(in, uri, errp)) {
        return;
    }
    in->deferred = false;
}

/*
 * Allowed out of band: runs in the monitor I/O thread or the main thread,
 * never waiting on the main loop (the loading thread accepts).
 */
static bool incoming_recover_listen(IncomingState *in, const char *uri,
                                    GError **errp)
{
    int fd;

    if (in->status != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy "
                   "is paused.");
        return false;
    }
    if (in->recover_listening) {
        error_setg(errp, "migrate-recover is already listening");
        return false;
    }
    if (!migration_uri_check(uri, errp)) {
        return false;
    }
    if (!migration_channel_is_listener(uri)) {
        error_setg(errp, "migrate-recover takes a tcp: or unix: URI");
        return false;
    }
    fd = migration_channel_listen(uri, errp);
    if (fd < 0) {
        return false;
    }
    /* The broken connection's thread set postcopy-paused and is ending. */
    incoming_join(in);
    in->listen_fd = fd;
    in->tcp = g_str_has_prefix(uri, "tcp:");
    in->recover_listening = true;
    /* The TLS parameters now (QEMU: when the connection comes); their
     * setter swaps them under postcopy_fd_lock, held here. */
    incoming_take_tls(in);
    in->thread = g_thread_new("migration-in", incoming_resume_thread, in);
    return true;
}

void qmp_migrate_recover(const char *uri, GError **errp)
{
    g_mutex_lock(&postcopy_fd_lock);
    incoming_recover_listen(&incoming, uri, errp);
    g_mutex_unlock(&postcopy_fd_lock);
}

/* Allowed out of band: the fds are closed under postcopy_fd_lock. */
void qmp_migrate_pause(GError **errp)
{
    bool done = false;

    g_mutex_lock(&postcopy_fd_lock);
    if (mig.status == MIGRATION_STATUS_POSTCOPY_ACTIVE && mig.fd >= 0) {
        shutdown(mig.fd, SHUT_RDWR);
        done = true;
    } else if (incoming.status == MIGRATION_STATUS_POSTCOPY_ACTIVE &&
               incoming.fd >= 0) {
        shutdown(incoming.fd, SHUT_RDWR);
        done = true;
    }
    g_mutex_unlock(&postcopy_fd_lock);
    if (!done) {
        error_setg(errp, "migrate-pause is currently only supported during "
                   "postcopy-active state");
    }
}

void migration_shutdown(void)
{
    if (incoming.ld && incoming.ld->pc) {
        postcopy_incoming_abandon(incoming.ld->pc);
    }
}

/* ---- query-migrate and the parameter commands ----------------------- */

static MigrationStats *ram_stats(MigrationState *s)
{
    MigrationStats *r = g_new0(MigrationStats, 1);

    uint64_t mzero, mnormal;

    multifd_send_page_counts(s->mfd, &mzero, &mnormal);
    mzero += s->mfd_zero;
    mnormal += s->mfd_normal;
    r->transferred = s->transferred;
    r->remaining = s->remaining * MIG_PAGE_SIZE;
    r->total = s->ram_total;
    r->duplicate = s->st.zero_pages + mzero;
    r->normal = s->st.normal_pages + mnormal;
    r->normal_bytes = r->normal * MIG_PAGE_SIZE;
    r->multifd_bytes = s->mfd_bytes + multifd_send_bytes(s->mfd);
    r->dirty_pages_rate = s->dirty_pages_rate;
    r->mbps = s->mbps;
    r->dirty_sync_count = s->dirty_sync_count;
    r->page_size = MIG_PAGE_SIZE;
    r->pages_per_second = s->bandwidth * 1000 / MIG_PAGE_SIZE;
    r->precopy_bytes = s->precopy_bytes;
    r->postcopy_requests = s->postcopy_requests;
    r->postcopy_bytes = s->postcopy_bytes0 &&
                        s->transferred > s->postcopy_bytes0
                        ? s->transferred - s->postcopy_bytes0 : 0;
    r->downtime_bytes = s->downtime_bytes;
    return r;
}

/* The destination's postcopy-blocktime totals, as QEMU reports them
 * while the capability is on. */
static void fill_postcopy_blocktime(MigrationInfo *info)
{
    g_autofree uint32_t *per_vcpu = NULL;
    uint32List **tail = &info->postcopy_vcpu_blocktime;
    uint32_t all;
    unsigned nr;

    if (!caps[MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME] ||
        !postcopy_blocktime_report(&all, &per_vcpu, &nr)) {
        return;
    }
    info->has_postcopy_blocktime = true;
    info->postcopy_blocktime = all;
    info->has_postcopy_vcpu_blocktime = true;
    for (unsigned i = 0; i < nr; i++) {
        uint32List *l = g_new0(uint32List, 1);
        l->value = per_vcpu[i];
        *tail = l;
        tail = &l->next;
    }
}

MigrationInfo *qmp_query_migrate(GError **errp)
{
    MigrationState *s = &mig;
    MigrationInfo *info = g_new0(MigrationInfo, 1);
    MigrationStatus st = __atomic_load_n(&s->status, __ATOMIC_ACQUIRE);
    g_auto(GStrv) reasons = migration_blocker_reasons();

    if (st == MIGRATION_STATUS_NONE && incoming.status) {
        info->has_status = true;
        info->status = incoming.status;
        fill_postcopy_blocktime(info);
        return info;
    }
    if (reasons[0]) {
        strList **tail = &info->blocked_reasons;
        for (unsigned i = 0; reasons[i]; i++) {
            strList *l = g_new0(strList, 1);
            l->value = g_strdup(reasons[i]);
            *tail = l;
            tail = &l->next;
        }
    }
    if (st == MIGRATION_STATUS_NONE) {
        return info;
    }
    info->has_status = true;
    info->status = st;
    info->ram = ram_stats(s);
    info->has_setup_time = true;
    info->setup_time = s->setup_time;
    info->has_total_time = true;
    info->total_time = status_is_active(st) ? now_ms() - s->start_ms
                                            : s->total_time;
    if (status_is_active(st)) {
        info->has_expected_downtime = true;
        info->expected_downtime = s->expected_downtime;
    } else if (st == MIGRATION_STATUS_COMPLETED) {
        info->has_downtime = true;
        info->downtime = s->downtime;
    }
    if (st == MIGRATION_STATUS_FAILED) {
        info->error_desc = g_strdup(s->error_desc ? s->error_desc
                                    : "unknown error");
    }
    if (caps[MIGRATION_CAPABILITY_XBZRLE]) {
        XBZRLECacheStats *x = g_new0(XBZRLECacheStats, 1);
        XbzrleCache *c = s->xbzrle;

        x->cache_size = params.xbzrle_cache_size;
        if (c) {
            x->bytes = c->bytes;
            x->pages = c->pages_sent;
            x->cache_miss = c->cache_miss;
            x->cache_miss_rate = c->cache_miss + c->hits
                ? (double)c->cache_miss / (c->cache_miss + c->hits) : 0;
            x->encoding_rate = c->bytes ? (double)c->encoded_in / c->bytes
                                        : 0;
            x->overflow = c->overflow;
        }
        info->xbzrle_cache = x;
    }
    if (status_is_active(st) && cpu_throttle_active()) {
        info->has_cpu_throttle_percentage = true;
        info->cpu_throttle_percentage = cpu_throttle_get_percentage();
    }
    return info;
}

MigrationCapabilityStatusList *qmp_query_migrate_capabilities(GError **errp)
{
    MigrationCapabilityStatusList *head = NULL, **tail = &head;

    for (int c = 0; c < MIGRATION_CAPABILITY__MAX; c++) {
        MigrationCapabilityStatusList *l = g_new0(
            MigrationCapabilityStatusList, 1);
        l->value = g_new0(MigrationCapabilityStatus, 1);
        l->value->capability = c;
        l->value->state = caps[c];
        *tail = l;
        tail = &l->next;
    }
    return head;
}

void qmp_migrate_set_capabilities(MigrationCapabilityStatusList *list,
                                  GError **errp)
{
    if (migration_is_active()) {
        error_setg(errp, "There's a migration process in progress");
        return;
    }
    for (MigrationCapabilityStatusList *l = list; l; l = l->next) {
        if (l->value->state && !capability_supported(l->value->capability)) {
            error_setg(errp, "Migration capability '%s' is not supported "
                       "by kvmpc%s",
                       MigrationCapability_str[l->value->capability],
                       l->value->capability ==
                       MIGRATION_CAPABILITY_ZERO_BLOCKS
                       ? ": it shapes block migration (blk), which kvmpc "
                         "does not do; disks move with drive-mirror or "
                         "blockdev-mirror to an NBD export" : "");
            return;
        }
    }
    for (MigrationCapabilityStatusList *l = list; l; l = l->next) {
        caps[l->value->capability] = l->value->state;
    }
}

/* block-bitmap-mapping was set (QEMU 7.2 reports it from then on) */
static bool bitmap_mapping_set;

MigrationParameters *qmp_query_migrate_parameters(GError **errp)
{
    MigrationParameters *p = g_memdup2(&params, sizeof(params));

    /* the mapping is kept by the bitmap code: a copy of it, reported
     * once one was set, [] included (as QEMU 7.2) */
    p->has_block_bitmap_mapping = bitmap_mapping_set;
    p->block_bitmap_mapping = dirty_bitmap_mig_get_mapping();
    /* QEMU 7.2 reports the unset ones as "" */
    p->tls_creds = g_strdup(tls_creds_id ?: "");
    p->tls_hostname = g_strdup(tls_hostname ?: "");
    p->tls_authz = g_strdup(tls_authz_id ?: "");
    return p;
}

bool migration_capability_enabled(MigrationCapability c)
{
    return caps[c];
}

#define CHECK_RANGE(field, name, lo, hi) \
    if (p->has_##field && (p->field < (lo) || p->field > (hi))) { \
        error_setg(errp, "Parameter '%s' expects %s", name, \
                   "a value between " #lo " and " #hi); \
        return; \
    }

void qmp_migrate_set_parameters(MigrateSetParameters *p, GError **errp)
{
    CHECK_RANGE(throttle_trigger_threshold, "throttle-trigger-threshold",
                1, 100);
    CHECK_RANGE(cpu_throttle_initial, "cpu_throttle_initial", 1, 99);
    CHECK_RANGE(cpu_throttle_increment, "cpu_throttle_increment", 1, 99);
    CHECK_RANGE(max_cpu_throttle, "max_cpu_throttle", 1, 99);
    if (p->has_downtime_limit && p->downtime_limit > MAX_DOWNTIME_LIMIT_MS) {
        error_setg(errp, "Parameter 'downtime_limit' expects an integer in "
                   "the range of 0 to %d milliseconds", MAX_DOWNTIME_LIMIT_MS);
        return;
    }
    CHECK_RANGE(multifd_channels, "multifd_channels", 1, 255);
    CHECK_RANGE(multifd_zlib_level, "multifd_zlib_level", 0, 9);
    CHECK_RANGE(multifd_zstd_level, "multifd_zstd_level", 0, 20);
    if (p->has_xbzrle_cache_size &&
        (p->xbzrle_cache_size < MIG_PAGE_SIZE ||
         (p->xbzrle_cache_size & (p->xbzrle_cache_size - 1)))) {
        error_setg(errp, "Parameter 'xbzrle_cache_size' expects a power of "
                   "two no less than the target page size");
        return;
    }
    if (p->has_max_bandwidth && p->max_bandwidth > SIZE_MAX) {
        error_setg(errp, "Parameter 'max_bandwidth' expects an integer in "
                   "the range of 0 to %zu bytes/second", (size_t)SIZE_MAX);
        return;
    }
    if (p->has_block_incremental && p->block_incremental) {
        error_setg(errp, "block migration is not supported by kvmpc");
        return;
    }
    /* [] is a mapping too: with it no bitmap migrates */
    if (p->has_block_bitmap_mapping || p->block_bitmap_mapping) {
        if (!dirty_bitmap_mig_set_mapping(p->block_bitmap_mapping, errp)) {
            return;
        }
        bitmap_mapping_set = true;
    }
#define SET(field) if (p->has_##field) { params.field = p->field; }
    SET(announce_initial); SET(announce_max); SET(announce_rounds);
    SET(announce_step); SET(throttle_trigger_threshold);
    SET(cpu_throttle_initial); SET(cpu_throttle_increment);
    SET(cpu_throttle_tailslow); SET(max_bandwidth); SET(downtime_limit);
    SET(x_checkpoint_delay); SET(multifd_channels); SET(xbzrle_cache_size);
    SET(max_postcopy_bandwidth); SET(max_cpu_throttle);
    SET(multifd_compression); SET(multifd_zlib_level);
    SET(multifd_zstd_level);
#undef SET
    /* checked when a migration uses them, as QEMU does */
    if (p->tls_creds) {
        set_tls_param(&tls_creds_id, p->tls_creds);
    }
    if (p->tls_hostname) {
        set_tls_param(&tls_hostname, p->tls_hostname);
    }
    if (p->tls_authz) {
        set_tls_param(&tls_authz_id, p->tls_authz);
    }
}
