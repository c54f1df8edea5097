/*
 * BlockBackend: the layer between a device model and its root node.
 * See include/block/block-backend.h and docs/block.md ("Backends").
 */
#include "qemu/osdep.h"
#include "block/block-backend.h"
#include "block/block-int.h"
#include "block/throttle.h"
#include "hw/qdev.h"
#include "system/iothread.h"
#include "qapi/qapi-events.h"
#include "system/main-loop.h"
#include "system/runstate.h"

#include <time.h>

struct BlockBackend {
    char *name;                     /* "" when anonymous */
    BlockDriverState *root;
    int open_flags;                 /* for the next medium ("retain") */

    bool attached;                  /* a device model uses it */
    /* Permissions (docs/block.md "Image locking"): a device's, from
     * blk_set_dev_perm, follow the medium's read-only flag; otherwise
     * perm/shared_perm as blk_set_perm left them. */
    bool dev_perm, dev_resizable, dev_share_rw;
    unsigned perm, shared_perm;
    DeviceState *dev;               /* that device (NULL: machine-made) */
    /* The child object of dev that QEMU's object model attaches the disk
     * to ("virtio-backend" under a virtio proxy), NULL for dev itself;
     * and its QOM path, made when first asked (dev's path comes only
     * after realize). */
    const char *dev_child;
    char *dev_child_path;
    const BlockDevOps *dev_ops;
    void *dev_opaque;

    BlockdevOnError on_read_error, on_write_error;
    bool iostatus_enabled;
    BlockDeviceIoStatus iostatus;
    bool retry_pending;             /* stopped on an error; retry on resume */

    BlockAcctStats stats;           /* atomics */
    GMainContext *aio_ctx;          /* where completions run (NULL: main) */

    /* I/O limits (docs/block.md "I/O limits"): the group whose buckets
     * this backend uses, its waiting requests and the timer that lets
     * them go, all under throttle_lock (then the group's lock). */
    GMutex throttle_lock;
    struct ThrottleGroup *tg;       /* NULL: no limits */
    GQueue throttled;               /* BlkThrottled, oldest first */
    GSource *throttle_timer;        /* armed, or NULL */

    /* Asynchronous requests from their submission (the I/O limits may
     * hold them first) until their caller's completion has returned
     * (atomic).  A completion that issues the next step of a chain keeps
     * this above 0, so a drain cannot end between two steps, as it could
     * by the node's count alone, which drops before the completion. */
    gint in_flight;
};

/*
 * A throttle group: the buckets its backends share (QEMU's throttle
 * groups; a backend without a group= is alone in one named after it).
 */
typedef struct ThrottleGroup {
    char *name;
    unsigned members;               /* big lock */
    GMutex lock;
    ThrottleConfig cfg;
    ThrottleState st;
} ThrottleGroup;

/* Every group ever named (big lock).  A group is never freed: an I/O
 * thread may still hold it while the monitor moves its backend. */
static GPtrArray *throttle_groups;
static void throttle_flush(BlockBackend *blk);
/* While blk_drain_all runs, limits are not applied (as QEMU's drain):
 * the queued requests go at once and so do new ones. */
static int throttle_bypass;

static GPtrArray *backends;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

GPtrArray *blk_list(void)
{
    if (!backends) {
        backends = g_ptr_array_new();
    }
    return backends;
}

/* ---- resuming after an error stop ------------------------------------ */

static void blk_retry_all(void *opaque)
{
    GPtrArray *l = blk_list();

    /* Only while running: a 'stop' right after 'cont' keeps them. */
    if (!runstate_is_running()) {
        return;
    }
    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        if (blk->retry_pending) {
            blk->retry_pending = false;
            if (blk->dev_ops && blk->dev_ops->retry_cb) {
                blk->dev_ops->retry_cb(blk->dev_opaque);
            }
        }
    }
}

static void blk_on_system_event(SystemEvent ev, ShutdownCause cause,
                                void *opaque)
{
    /* After the RESUME event and the 'cont' reply, as QEMU's restart
     * bottom half runs. */
    if (ev == SYSTEM_EVENT_RESUME) {
        main_loop_call(blk_retry_all, NULL);
    }
}

/* ---- quiescing for vm_stop ------------------------------------------- */

static bool blk_any_in_flight(void)
{
    GPtrArray *l = blk_list();

    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        if (g_atomic_int_get(&blk->in_flight) ||
            (blk->root && bdrv_aio_in_flight(blk->root))) {
            return true;
        }
    }
    return false;
}

void blk_drain_all(void)
{
    GMainContext *ctx = g_main_context_default();
    GPtrArray *l = blk_list();

    /* What the I/O limits hold goes now, and nothing waits meanwhile. */
    g_atomic_int_inc(&throttle_bypass);
    for (unsigned i = 0; i < l->len; i++) {
        throttle_flush(g_ptr_array_index(l, i));
    }
    while (blk_any_in_flight()) {
        /* a vCPU's exit draining: reads it did in place complete first */
        exit_tail_run();
        if (!blk_any_in_flight()) {
            break;
        }
        if (g_main_context_acquire(ctx)) {
            /* Main-loop backends complete here (this may be a dispatch
             * already: acquiring is recursive); I/O threads complete
             * theirs meanwhile. */
            bool dispatched = g_main_context_iteration(ctx, FALSE);
            g_main_context_release(ctx);
            if (!dispatched) {
                g_usleep(50);
            }
        } else if (bql_locked()) {
            /* The migration thread while the main loop polls: the main
             * loop needs the big lock to run the completions. */
            bql_unlock();
            g_usleep(100);
            bql_lock();
        } else {
            g_usleep(100);
        }
    }
    g_atomic_int_add(&throttle_bypass, -1);
}

int blk_flush_all(void)
{
    GPtrArray *l = blk_list();
    int ret = 0;

    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        int r;

        if (!blk->root || blk_is_read_only(blk)) {
            continue;
        }
        r = blk_flush(blk);
        if (r < 0 && !ret) {
            ret = r;
        }
    }
    return ret;
}

/* vm_stop: devices took no new request (they stopped first); finish the
 * ones in flight and flush, so what a migration or savevm saves next has
 * every request completed and on disk (QEMU's vm_stop does the same). */
static void blk_vm_state_changed(void *opaque, bool running)
{
    int r;

    if (running) {
        return;
    }
    blk_drain_all();
    r = blk_flush_all();
    if (r < 0) {
        error_report("warning: flushing the disks when the VM stopped "
                     "failed: %s", g_strerror(-r));
    }
}

/* ---- I/O limits ------------------------------------------------------ */

typedef struct ThrottleTimer {
    GSource src;
    BlockBackend *blk;
} ThrottleTimer;

static void throttle_release(BlockBackend *blk, GSource *fired);

static gboolean throttle_timer_dispatch(GSource *src, GSourceFunc cb,
                                        gpointer data)
{
    throttle_release(((ThrottleTimer *)src)->blk, src);
    return G_SOURCE_REMOVE;
}

static GSourceFuncs throttle_timer_funcs = {
    .dispatch = throttle_timer_dispatch,
};

/* Let the queue go on in @wait_ns, in the backend's context (its I/O
 * thread's, or the main loop's).  throttle_lock held. */
static void throttle_timer_arm(BlockBackend *blk, int64_t wait_ns)
{
    GMainContext *ctx = blk->aio_ctx ? blk->aio_ctx
                                     : g_main_context_default();
    GSource *src;

    if (blk->throttle_timer) {
        return;
    }
    src = g_source_new(&throttle_timer_funcs, sizeof(ThrottleTimer));
    ((ThrottleTimer *)src)->blk = blk;
    g_source_set_ready_time(src, g_get_monotonic_time() + wait_ns / 1000 + 1);
    blk->throttle_timer = src;          /* our reference */
    context_attach_source(src, ctx);
    g_main_context_wakeup(ctx);         /* it may sleep on a later time */
}

static void throttle_timer_cancel(BlockBackend *blk)
{
    if (blk->throttle_timer) {
        g_source_destroy(blk->throttle_timer);
        g_source_unref(blk->throttle_timer);
        blk->throttle_timer = NULL;
    }
}

/* Submit the requests that left the queue, outside every lock. */
static void throttle_submit_all(GQueue *go)
{
    GList *link;

    while ((link = g_queue_pop_head_link(go))) {
        BlkThrottled *t = link->data;
        t->submit(t);
    }
}

/* Move what may go now (everything, with @all) from the queue to @go;
 * arm the timer for the rest.  throttle_lock held. */
static void throttle_take_ready(BlockBackend *blk, bool all, GQueue *go)
{
    ThrottleGroup *tg = blk->tg;

    g_mutex_lock(&tg->lock);
    throttle_leak(&tg->st, &tg->cfg, now_ns());
    while (!g_queue_is_empty(&blk->throttled)) {
        BlkThrottled *t = g_queue_peek_head(&blk->throttled);
        int64_t wait = all ? 0 : throttle_wait_ns(&tg->st, &tg->cfg,
                                                  t->write);

        if (wait) {
            throttle_timer_arm(blk, wait);
            break;
        }
        throttle_account(&tg->st, &tg->cfg, t->write, t->bytes);
        g_queue_push_tail_link(go, g_queue_pop_head_link(&blk->throttled));
    }
    g_mutex_unlock(&tg->lock);
}

/* The timer: in the backend's context. */
static void throttle_release(BlockBackend *blk, GSource *fired)
{
    GQueue go = G_QUEUE_INIT;

    g_mutex_lock(&blk->throttle_lock);
    if (fired && blk->throttle_timer == fired) {
        g_source_unref(fired);          /* GLib holds one while it runs */
        blk->throttle_timer = NULL;
    }
    if (blk->tg) {
        throttle_take_ready(blk, g_atomic_int_get(&throttle_bypass), &go);
    }
    g_mutex_unlock(&blk->throttle_lock);
    throttle_submit_all(&go);
}

/*
 * A read or write about to be submitted (any thread): true if it may go
 * now (it is charged to the buckets), false if it was queued (its
 * submit() runs when the buckets let it, from the backend's context).
 * Requests of one backend leave in their order.
 */
static bool throttle_admit(BlockBackend *blk, BlkThrottled *t)
{
    bool go;

    if (!__atomic_load_n(&blk->tg, __ATOMIC_ACQUIRE)) {
        return true;
    }
    g_mutex_lock(&blk->throttle_lock);
    go = !blk->tg;
    if (!go) {
        ThrottleGroup *tg = blk->tg;

        g_mutex_lock(&tg->lock);
        throttle_leak(&tg->st, &tg->cfg, now_ns());
        go = g_atomic_int_get(&throttle_bypass) ||
             (g_queue_is_empty(&blk->throttled) &&
              !throttle_wait_ns(&tg->st, &tg->cfg, t->write));
        if (go) {
            throttle_account(&tg->st, &tg->cfg, t->write, t->bytes);
        }
        g_mutex_unlock(&tg->lock);
        if (!go) {
            t->link.data = t;
            g_queue_push_tail_link(&blk->throttled, &t->link);
            throttle_timer_arm(blk, 0);
        }
    }
    g_mutex_unlock(&blk->throttle_lock);
    return go;
}

/* Everything queued goes now (drain, a new configuration, detach). */
static void throttle_flush(BlockBackend *blk)
{
    GQueue go = G_QUEUE_INIT;

    g_mutex_lock(&blk->throttle_lock);
    if (blk->tg) {
        throttle_take_ready(blk, true, &go);
    }
    throttle_timer_cancel(blk);
    g_mutex_unlock(&blk->throttle_lock);
    throttle_submit_all(&go);
}

static ThrottleGroup *throttle_group_find(const char *name, bool create)
{
    ThrottleGroup *tg;

    if (!throttle_groups) {
        throttle_groups = g_ptr_array_new();
    }
    for (unsigned i = 0; i < throttle_groups->len; i++) {
        tg = g_ptr_array_index(throttle_groups, i);
        if (!strcmp(tg->name, name)) {
            return tg;
        }
    }
    if (!create) {
        return NULL;
    }
    tg = g_new0(ThrottleGroup, 1);
    tg->name = g_strdup(name);
    g_mutex_init(&tg->lock);
    throttle_config_init(&tg->cfg);
    throttle_state_init(&tg->st, now_ns());
    g_ptr_array_add(throttle_groups, tg);
    return tg;
}

/* Big lock held. */
static void throttle_leave_group(BlockBackend *blk)
{
    ThrottleGroup *tg;

    throttle_flush(blk);
    g_mutex_lock(&blk->throttle_lock);
    tg = blk->tg;
    __atomic_store_n(&blk->tg, NULL, __ATOMIC_RELEASE);
    g_mutex_unlock(&blk->throttle_lock);
    if (tg) {
        tg->members--;
    }
}

bool blk_set_io_limits(BlockBackend *blk, const ThrottleConfig *cfg,
                       const char *group, GError **errp)
{
    ThrottleGroup *tg;

    if (!throttle_config_check(cfg, errp)) {
        return false;
    }
    if (!throttle_enabled(cfg)) {
        throttle_leave_group(blk);
        return true;
    }
    tg = throttle_group_find(group && *group ? group : blk->name, true);
    if (tg != blk->tg) {
        throttle_leave_group(blk);
        tg->members++;
        g_mutex_lock(&blk->throttle_lock);
        __atomic_store_n(&blk->tg, tg, __ATOMIC_RELEASE);
        g_mutex_unlock(&blk->throttle_lock);
    }
    /* As QEMU's: a new configuration starts from empty buckets, for
     * every member of the group. */
    g_mutex_lock(&tg->lock);
    tg->cfg = *cfg;
    throttle_state_init(&tg->st, now_ns());
    g_mutex_unlock(&tg->lock);
    throttle_release(blk, NULL);        /* what waited may go sooner */
    return true;
}

bool blk_get_io_limits(BlockBackend *blk, ThrottleConfig *cfg,
                       const char **group)
{
    ThrottleGroup *tg = blk->tg;

    if (!tg) {
        throttle_config_init(cfg);
        *group = NULL;
        return false;
    }
    g_mutex_lock(&tg->lock);
    *cfg = tg->cfg;
    g_mutex_unlock(&tg->lock);
    *group = tg->name;
    return true;
}

BlockBackend *blk_new(const char *name)
{
    static bool hooked;
    BlockBackend *blk = g_new0(BlockBackend, 1);

    if (!hooked) {
        system_event_add_hook(blk_on_system_event, NULL);
        vm_change_state_add_handler(blk_vm_state_changed, NULL,
                                    VM_CHANGE_PRIO_BLOCK);
        hooked = true;
    }
    blk->name = g_strdup(name ? name : "");
    blk->open_flags = BDRV_O_RDWR;
    /* QEMU's -drive without a device: read, let others do anything */
    blk->perm = BLK_PERM_CONSISTENT_READ;
    blk->shared_perm = BLK_PERM_ALL;
    blk->on_read_error = BLOCKDEV_ON_ERROR_REPORT;
    blk->on_write_error = BLOCKDEV_ON_ERROR_ENOSPC;
    blk->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    g_mutex_init(&blk->throttle_lock);
    g_queue_init(&blk->throttled);
    g_ptr_array_add(blk_list(), blk);
    return blk;
}

/*
 * The device that used @blk saw its last request complete, but an I/O
 * thread may still be returning from that completion: @blk stays until
 * it has.
 */
static void blk_wait_completions(BlockBackend *blk)
{
    while (g_atomic_int_get(&blk->in_flight)) {
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(50);
        }
    }
}

void blk_delete(BlockBackend *blk)
{
    if (!blk) {
        return;
    }
    g_assert(!blk->attached);
    throttle_leave_group(blk);
    blk_remove_bs(blk);
    blk_wait_completions(blk);
    g_mutex_clear(&blk->throttle_lock);
    g_ptr_array_remove(blk_list(), blk);
    g_free(blk->dev_child_path);
    g_free(blk->name);
    g_free(blk);
}

const char *blk_name(const BlockBackend *blk)
{
    return blk->name;
}

BlockBackend *blk_by_name(const char *name)
{
    GPtrArray *l = blk_list();

    for (unsigned i = 0; name && *name && i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        if (!strcmp(blk->name, name)) {
            return blk;
        }
    }
    return NULL;
}

static const char *dev_child_path(BlockBackend *blk);

BlockBackend *blk_by_dev_id(const char *id)
{
    GPtrArray *l = blk_list();

    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        const char *child;

        if (!blk->dev) {
            continue;
        }
        if ((blk->dev->id && !strcmp(blk->dev->id, id)) ||
            (blk->dev->path && !strcmp(blk->dev->path, id))) {
            return blk;
        }
        child = blk->dev_child ? dev_child_path(blk) : NULL;
        if (child && !strcmp(child, id)) {
            return blk;
        }
    }
    return NULL;
}

/* ---- the medium ------------------------------------------------------ */

bool blk_insert_bs(BlockBackend *blk, BlockDriverState *bs, GError **errp)
{
    g_assert(!blk->root);
    bdrv_ref(bs);
    blk->root = bs;
    if (!bdrv_refresh_perms(errp)) {
        blk->root = NULL;
        bdrv_unref(bs);
        return false;
    }
    blk->open_flags = bdrv_open_flags(bs);
    if (blk->aio_ctx) {
        bdrv_set_aio_context(bs, blk->aio_ctx);
    }
    return true;
}

void blk_set_aio_context(BlockBackend *blk, GMainContext *ctx)
{
    bool armed;

    /* the limits' timer follows the backend to its new context */
    g_mutex_lock(&blk->throttle_lock);
    armed = blk->throttle_timer != NULL;
    throttle_timer_cancel(blk);
    blk->aio_ctx = ctx;
    if (armed) {
        throttle_timer_arm(blk, 0);
    }
    g_mutex_unlock(&blk->throttle_lock);
    if (blk->root) {
        bdrv_set_aio_context(blk->root, ctx);
    }
}

void blk_remove_bs(BlockBackend *blk)
{
    BlockDriverState *bs = blk->root;

    if (!bs) {
        return;
    }
    blk->root = NULL;
    /* Nothing reaches a medium that left: finish what is in flight.  In
     * an I/O thread's context that thread completes it; wait for it. */
    while (bdrv_aio_in_flight(bs)) {
        if (bdrv_get_aio_context(bs) == g_main_context_default()) {
            g_main_context_iteration(NULL, TRUE);
        } else {
            g_usleep(100);
        }
    }
    if (blk->aio_ctx) {
        bdrv_set_aio_context(bs, NULL);     /* it may be used elsewhere */
    }
    bdrv_unref(bs);
    bdrv_refresh_perms(NULL);   /* needing less cannot fail */
}

bool blk_replace_bs(BlockBackend *blk, BlockDriverState *bs, GError **errp)
{
    BlockDriverState *old = blk->root;

    g_assert(!old || !bdrv_aio_in_flight(old));
    bdrv_ref(bs);
    blk->root = bs;
    /* the device's permissions (image locks) move to the new node */
    if (!bdrv_refresh_perms(errp)) {
        blk->root = old;
        bdrv_unref(bs);
        return false;
    }
    if (blk->aio_ctx) {
        bdrv_set_aio_context(bs, blk->aio_ctx);
    }
    if (old) {
        if (blk->aio_ctx) {
            bdrv_set_aio_context(old, NULL);
        }
        bdrv_unref(old);
    }
    return true;
}

void blk_swap_root(BlockBackend *blk, BlockDriverState *bs)
{
    BlockDriverState *old = blk->root;

    bdrv_ref(bs);
    /* an I/O thread may be reading it to submit a request */
    g_atomic_pointer_set(&blk->root, bs);
    bdrv_unref(old);
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->root;
}

bool blk_is_inserted(BlockBackend *blk)
{
    return blk->root != NULL;
}

bool blk_is_available(BlockBackend *blk)
{
    return blk->root && !blk_dev_is_tray_open(blk);
}

bool blk_is_read_only(BlockBackend *blk)
{
    return blk->root ? bdrv_is_read_only(blk->root)
                     : !(blk->open_flags & BDRV_O_RDWR);
}

uint64_t blk_getlength(BlockBackend *blk)
{
    return blk->root ? bdrv_getlength(blk->root) : 0;
}

void blk_set_open_flags(BlockBackend *blk, int flags)
{
    blk->open_flags = flags;
}

int blk_get_open_flags(BlockBackend *blk)
{
    return blk->root ? bdrv_open_flags(blk->root) : blk->open_flags;
}

bool blk_truncate(BlockBackend *blk, uint64_t size, GError **errp)
{
    if (!blk->root) {
        error_setg(errp, "Device '%s' has no medium", blk->name);
        return false;
    }
    if (!bdrv_truncate(blk->root, size, errp)) {
        return false;
    }
    if (blk->dev_ops && blk->dev_ops->resize_cb) {
        blk->dev_ops->resize_cb(blk->dev_opaque);
    }
    return true;
}

/* ---- permissions ----------------------------------------------------- */

void blk_get_perm(BlockBackend *blk, unsigned *perm, unsigned *shared)
{
    if (!blk->dev_perm) {
        *perm = blk->perm;
        *shared = blk->shared_perm;
        return;
    }
    *perm = BLK_PERM_CONSISTENT_READ |
            (blk->root && !bdrv_is_read_only(blk->root) ? BLK_PERM_WRITE : 0);
    *shared = BLK_PERM_ALL & ~(blk->dev_share_rw ? 0 : BLK_PERM_WRITE)
                           & ~(blk->dev_resizable ? 0 : BLK_PERM_RESIZE);
}

typedef struct BlkPermState {
    bool dev_perm, dev_resizable, dev_share_rw;
    unsigned perm, shared_perm;
} BlkPermState;

static BlkPermState blk_perm_state(BlockBackend *blk)
{
    return (BlkPermState){ blk->dev_perm, blk->dev_resizable,
                           blk->dev_share_rw, blk->perm, blk->shared_perm };
}

/* Apply @next to the graph; on failure @blk keeps what it had. */
static bool blk_change_perm(BlockBackend *blk, BlkPermState next,
                            GError **errp)
{
    BlkPermState old = blk_perm_state(blk);

    blk->dev_perm = next.dev_perm;
    blk->dev_resizable = next.dev_resizable;
    blk->dev_share_rw = next.dev_share_rw;
    blk->perm = next.perm;
    blk->shared_perm = next.shared_perm;
    if ((blk->root && !bdrv_check_root_users(blk->root, errp)) ||
        !bdrv_refresh_perms(errp)) {
        blk->dev_perm = old.dev_perm;
        blk->dev_resizable = old.dev_resizable;
        blk->dev_share_rw = old.dev_share_rw;
        blk->perm = old.perm;
        blk->shared_perm = old.shared_perm;
        return false;
    }
    return true;
}

bool blk_set_perm(BlockBackend *blk, unsigned perm, unsigned shared,
                  GError **errp)
{
    BlkPermState next = blk_perm_state(blk);

    next.dev_perm = false;
    next.perm = perm;
    next.shared_perm = shared;
    return blk_change_perm(blk, next, errp);
}

bool blk_set_dev_perm(BlockBackend *blk, bool resizable, bool share_rw,
                      GError **errp)
{
    BlkPermState next = blk_perm_state(blk);

    next.dev_perm = true;
    next.dev_resizable = resizable;
    next.dev_share_rw = share_rw;
    return blk_change_perm(blk, next, errp);
}

/* ---- the device ------------------------------------------------------ */

bool blk_attach_dev(BlockBackend *blk, DeviceState *dev, GError **errp)
{
    if (blk->attached) {
        error_setg(errp, "Drive '%s' is already in use by another device",
                   blk->name);
        return false;
    }
    blk->attached = true;
    blk->dev = dev;
    return true;
}

bool blk_is_attached(BlockBackend *blk)
{
    return blk->attached;
}

void blk_detach_dev(BlockBackend *blk)
{
    if (blk->dev_perm) {
        /* back to a device-less backend's; needing less cannot fail */
        blk->dev_perm = false;
        bdrv_refresh_perms(NULL);
    }
    blk->attached = false;
    blk->dev = NULL;
    blk->dev_child = NULL;
    g_clear_pointer(&blk->dev_child_path, g_free);
    blk->dev_ops = NULL;
    blk->dev_opaque = NULL;
    blk->iostatus_enabled = false;
    blk->retry_pending = false;
}

DeviceState *blk_get_attached_dev(BlockBackend *blk)
{
    return blk->dev;
}

BlockDriverState *blk_lookup_device_or_node(const char *device,
                                            GError **errp)
{
    BlockBackend *blk = blk_by_name(device);
    BlockDriverState *bs = blk ? blk_bs(blk) : bdrv_find_node(device);

    if (blk && !bs) {
        error_setg(errp, "Device '%s' has no medium", device);
    } else if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device, device);
    }
    return bs;
}

bool blk_has_device(BlockBackend *blk)
{
    return blk->dev || blk->dev_ops;
}

void blk_set_dev_child(BlockBackend *blk, const char *child)
{
    blk->dev_child = child;
    g_clear_pointer(&blk->dev_child_path, g_free);
}

/* The child has no id of its own: QEMU names it by its path. */
static const char *dev_child_path(BlockBackend *blk)
{
    if (!blk->dev->path) {
        return NULL;
    }
    if (!blk->dev_child_path) {
        blk->dev_child_path = g_strdup_printf("%s/%s", blk->dev->path,
                                              blk->dev_child);
    }
    return blk->dev_child_path;
}

const char *blk_get_attached_dev_id(BlockBackend *blk)
{
    const char *path;

    if (!blk->dev) {
        return "";
    }
    if (blk->dev_child) {
        path = dev_child_path(blk);
        return path ? path : "";
    }
    return blk->dev->id ? blk->dev->id : blk->dev->path ? blk->dev->path : "";
}

void blk_set_dev_ops(BlockBackend *blk, const BlockDevOps *ops, void *opaque)
{
    blk->dev_ops = ops;
    blk->dev_opaque = opaque;
}

bool blk_dev_has_removable_media(BlockBackend *blk)
{
    return !blk->attached || (blk->dev_ops && blk->dev_ops->change_media_cb);
}

bool blk_dev_has_tray(BlockBackend *blk)
{
    return blk->dev_ops && blk->dev_ops->is_tray_open;
}

bool blk_dev_is_tray_open(BlockBackend *blk)
{
    return blk_dev_has_tray(blk) && blk->dev_ops->is_tray_open(blk->dev_opaque);
}

bool blk_dev_is_medium_locked(BlockBackend *blk)
{
    return blk->dev_ops && blk->dev_ops->is_medium_locked &&
           blk->dev_ops->is_medium_locked(blk->dev_opaque);
}

void blk_dev_eject_request(BlockBackend *blk, bool force)
{
    if (blk->dev_ops && blk->dev_ops->eject_request_cb) {
        blk->dev_ops->eject_request_cb(blk->dev_opaque, force);
    }
}

void blk_tray_moved(BlockBackend *blk, bool open)
{
    qapi_event_send_device_tray_moved(blk->name,
                                      blk_get_attached_dev_id(blk), open);
}

void blk_dev_change_media_cb(BlockBackend *blk, bool load)
{
    bool was_open, is_open;

    if (!blk->dev_ops || !blk->dev_ops->change_media_cb) {
        return;
    }
    was_open = blk_dev_is_tray_open(blk);
    blk->dev_ops->change_media_cb(blk->dev_opaque, load);
    is_open = blk_dev_is_tray_open(blk);
    if (blk_dev_has_tray(blk) && was_open != is_open) {
        blk_tray_moved(blk, is_open);
    }
}

/* ---- accounting ------------------------------------------------------ */

static void acct_add(uint64_t *p, uint64_t v)
{
    __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}

static void acct_done(BlockBackend *blk, BlockAcctType type, uint64_t bytes,
                      int64_t start_ns, int ret)
{
    BlockAcctStats *st = &blk->stats;
    int64_t end = now_ns();

    if (ret == -ENOMEDIUM) {
        acct_add(&st->invalid_ops[type], 1);
    } else if (ret < 0) {
        acct_add(&st->failed_ops[type], 1);
    } else {
        acct_add(&st->ops[type], 1);
        acct_add(&st->bytes[type], bytes);
        acct_add(&st->total_time_ns[type], end - start_ns);
    }
    __atomic_store_n(&st->last_access_ns, end, __ATOMIC_RELAXED);
}

static void acct_write_end(BlockBackend *blk, uint64_t end)
{
    uint64_t cur = __atomic_load_n(&blk->stats.wr_highest_offset,
                                   __ATOMIC_RELAXED);

    while (end > cur &&
           !__atomic_compare_exchange_n(&blk->stats.wr_highest_offset, &cur,
                                        end, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
}

void blk_get_stats(BlockBackend *blk, BlockAcctStats *out)
{
    const uint64_t *src = (const uint64_t *)&blk->stats;
    uint64_t *dst = (uint64_t *)out;

    /* Field by field: each counter is read atomically, the set is not
     * a snapshot (nor is QEMU's). */
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++) {
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    }
}

/* ---- the data path ----------------------------------------------------- */

static int take_error(GError *err)
{
    int e = bdrv_error_errno(err);

    g_error_free(err);
    return -e;
}

int blk_pread(BlockBackend *blk, uint64_t offset, uint64_t bytes, void *buf)
{
    int64_t start = now_ns();
    GError *err = NULL;
    int ret = 0;

    if (!blk->root) {
        ret = -ENOMEDIUM;
    } else if (!bdrv_pread(blk->root, offset, bytes, buf, &err)) {
        ret = take_error(err);
    }
    acct_done(blk, BLOCK_ACCT_READ, bytes, start, ret);
    return ret;
}

int blk_pwrite(BlockBackend *blk, uint64_t offset, uint64_t bytes,
               const void *buf)
{
    int64_t start = now_ns();
    GError *err = NULL;
    int ret = 0;

    if (!blk->root) {
        ret = -ENOMEDIUM;
    } else if (!bdrv_pwrite(blk->root, offset, bytes, buf, &err)) {
        ret = take_error(err);
    } else {
        acct_write_end(blk, offset + bytes);
    }
    acct_done(blk, BLOCK_ACCT_WRITE, bytes, start, ret);
    return ret;
}

int blk_flush(BlockBackend *blk)
{
    int64_t start = now_ns();
    GError *err = NULL;
    int ret = 0;

    if (blk->root && !bdrv_flush(blk->root, &err)) {
        ret = take_error(err);
    }
    /* A flush without a medium has nothing to do (as QEMU's). */
    acct_done(blk, BLOCK_ACCT_FLUSH, 0, start, ret);
    return ret;
}

int blk_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes)
{
    int64_t start = now_ns();
    GError *err = NULL;
    int ret = 0;

    if (!blk->root) {
        ret = -ENOMEDIUM;
    } else if (!bdrv_pdiscard(blk->root, offset, bytes, &err)) {
        ret = take_error(err);
    }
    acct_done(blk, BLOCK_ACCT_UNMAP, bytes, start, ret);
    return ret;
}

int blk_pwrite_zeroes(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      int flags)
{
    int64_t start = now_ns();
    GError *err = NULL;
    int ret = 0;

    if (!blk->root) {
        ret = -ENOMEDIUM;
    } else if (!bdrv_pwrite_zeroes(blk->root, offset, bytes, flags, &err)) {
        ret = take_error(err);
    } else {
        acct_write_end(blk, offset + bytes);
    }
    acct_done(blk, BLOCK_ACCT_WRITE, bytes, start, ret);
    return ret;
}

/*
 * On a vCPU's I/O exit, a read the host can serve without waiting is
 * read here, and the caller completes it on the exit's tail
 * (include/system/exit-tail.h): a polling guest driver then finds its
 * command done at its first look, with no worker thread or main-loop
 * wakeup on the way.  Only on the main loop's backends (an I/O thread's
 * node is its thread's alone) and within the exit's budget.  True: the
 * data is in and the node counts the request in flight, until the
 * caller's completion drops it, as for any other request.
 */
static bool blk_read_now(BlockBackend *blk, uint64_t offset,
                         const struct iovec *iov, int niov, uint64_t bytes)
{
    if (!exit_tail_open() ||
        bdrv_get_aio_context(blk->root) != g_main_context_default() ||
        !exit_tail_claim_io(bytes) ||
        !bdrv_try_preadv_nowait(blk->root, offset, iov, niov, bytes)) {
        return false;
    }
    g_atomic_int_inc(&blk->root->in_flight);
    return true;
}

typedef struct BlkAioReq {
    BlockBackend *blk;
    BlockAcctType type;
    uint64_t offset, bytes;
    int64_t start_ns;
    BlockBackendCompletionFunc *cb;
    void *opaque;
    void *buf;                  /* pread/pwrite, while the limits hold it */
    int flags;                  /* pwrite_zeroes */
    BlkThrottled thr;
    BlockDriverState *read_now; /* read in place: the node it read */
    ExitTail tail;              /* ... completes here */
} BlkAioReq;

static BlkAioReq *aio_req(BlockBackend *blk, BlockAcctType type,
                          uint64_t offset, uint64_t bytes,
                          BlockBackendCompletionFunc *cb, void *opaque)
{
    BlkAioReq *r = g_new(BlkAioReq, 1);

    *r = (BlkAioReq) { blk, type, offset, bytes, now_ns(), cb, opaque };
    g_atomic_int_inc(&blk->in_flight);
    return r;
}

static void aio_complete(void *opaque, GError *err)
{
    BlkAioReq *r = opaque;
    int ret = err ? -bdrv_error_errno(err) : 0;

    if (!ret && r->type == BLOCK_ACCT_WRITE) {
        acct_write_end(r->blk, r->offset + r->bytes);
    }
    acct_done(r->blk, r->type, r->bytes, r->start_ns, ret);
    r->cb(r->opaque, ret);
    g_atomic_int_dec_and_test(&r->blk->in_flight);
    g_free(r);
}

/* No medium: complete on the main loop, never inside the submitter. */
static void aio_no_medium(void *opaque)
{
    BlkAioReq *r = opaque;

    acct_done(r->blk, r->type, r->bytes, r->start_ns, -ENOMEDIUM);
    r->cb(r->opaque, -ENOMEDIUM);
    g_atomic_int_dec_and_test(&r->blk->in_flight);
    g_free(r);
}

/* Submit a pread/pwrite/pwrite_zeroes request (now, or when the I/O
 * limits let it go; the medium may have gone meanwhile). */
static void aio_read_now_done(void *opaque)
{
    BlkAioReq *r = opaque;

    g_atomic_int_dec_and_test(&r->read_now->in_flight);
    aio_complete(r, NULL);
}

static bool aio_read_now(BlkAioReq *r)
{
    struct iovec iov = { r->buf, r->bytes };

    if (!blk_read_now(r->blk, r->offset, &iov, 1, r->bytes)) {
        return false;
    }
    r->read_now = r->blk->root;
    r->tail = (ExitTail) { .fn = aio_read_now_done, .opaque = r };
    exit_tail_queue(&r->tail);
    return true;
}

static void aio_rw_submit(BlkThrottled *t)
{
    BlkAioReq *r = container_of(t, BlkAioReq, thr);
    BlockBackend *blk = r->blk;

    if (!blk->root) {
        main_loop_call(aio_no_medium, r);
    } else if (r->type == BLOCK_ACCT_READ && aio_read_now(r)) {
        return;
    } else if (r->type == BLOCK_ACCT_READ) {
        bdrv_aio_pread(blk->root, r->offset, r->bytes, r->buf, aio_complete,
                       r);
    } else if (r->buf) {
        bdrv_aio_pwrite(blk->root, r->offset, r->bytes, r->buf,
                        aio_complete, r);
    } else {
        bdrv_aio_pwrite_zeroes(blk->root, r->offset, r->bytes, r->flags,
                               aio_complete, r);
    }
}

static void aio_rw(BlkAioReq *r)
{
    r->thr = (BlkThrottled) { .write = r->type != BLOCK_ACCT_READ,
                              .bytes = r->bytes, .submit = aio_rw_submit };
    if (throttle_admit(r->blk, &r->thr)) {
        aio_rw_submit(&r->thr);
    }
}

void blk_aio_pread(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                   void *buf, BlockBackendCompletionFunc *cb, void *opaque)
{
    BlkAioReq *r = aio_req(blk, BLOCK_ACCT_READ, offset, bytes, cb, opaque);

    r->buf = buf;
    aio_rw(r);
}

void blk_aio_pwrite(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                    const void *buf, BlockBackendCompletionFunc *cb,
                    void *opaque)
{
    BlkAioReq *r = aio_req(blk, BLOCK_ACCT_WRITE, offset, bytes, cb, opaque);

    r->buf = (void *)buf;
    aio_rw(r);
}

void blk_aio_flush(BlockBackend *blk, BlockBackendCompletionFunc *cb,
                   void *opaque)
{
    BlkAioReq *r = aio_req(blk, BLOCK_ACCT_FLUSH, 0, 0, cb, opaque);

    if (!blk->root) {
        main_loop_call(aio_no_medium, r);
        return;
    }
    bdrv_aio_flush(blk->root, aio_complete, r);
}

static void blk_aio_pool_op(BlockBackend *blk, BlockAcctType type,
                            uint64_t offset, uint64_t bytes, int flags,
                            BlockBackendCompletionFunc *cb, void *opaque)
{
    BlkAioReq *r = aio_req(blk, type, offset, bytes, cb, opaque);

    if (type != BLOCK_ACCT_UNMAP) {
        r->flags = flags;       /* writing zeroes is a write, limited */
        aio_rw(r);
    } else if (!blk->root) {
        main_loop_call(aio_no_medium, r);
    } else {
        /* discards are not limited, as QEMU's */
        bdrv_aio_pdiscard(blk->root, offset, bytes, aio_complete, r);
    }
}

void blk_aio_pwrite_zeroes(BlockBackend *blk, uint64_t offset,
                           uint64_t bytes, int flags,
                           BlockBackendCompletionFunc *cb, void *opaque)
{
    blk_aio_pool_op(blk, BLOCK_ACCT_WRITE, offset, bytes, flags, cb, opaque);
}

void blk_aio_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      BlockBackendCompletionFunc *cb, void *opaque)
{
    blk_aio_pool_op(blk, BLOCK_ACCT_UNMAP, offset, bytes, 0, cb, opaque);
}

static void aio_vec_complete(void *opaque, GError *err)
{
    BlkAioVec *r = opaque;
    BlockBackend *blk = r->blk;
    int ret = err ? -bdrv_error_errno(err) : 0;

    if (!ret && r->type == BLOCK_ACCT_WRITE) {
        acct_write_end(blk, r->offset + r->bytes);
    }
    acct_done(blk, r->type, r->bytes, r->start_ns, ret);
    r->cb(r->opaque, ret);      /* may reuse @r */
    g_atomic_int_dec_and_test(&blk->in_flight);
}

static void aio_vec_no_medium(void *opaque)
{
    BlkAioVec *r = opaque;
    BlockBackend *blk = r->blk;

    acct_done(blk, r->type, r->bytes, r->start_ns, -ENOMEDIUM);
    r->cb(r->opaque, -ENOMEDIUM);       /* may reuse @r */
    g_atomic_int_dec_and_test(&blk->in_flight);
}

static void aio_vec_read_now_done(void *opaque)
{
    BlkAioVec *r = opaque;

    g_atomic_int_dec_and_test(&r->bv.bs->in_flight);   /* the node read */
    aio_vec_complete(r, NULL);
}

static bool aio_vec_read_now(BlkAioVec *r)
{
    if (!blk_read_now(r->blk, r->offset, r->iov, r->niov, r->bytes)) {
        return false;
    }
    r->bv.bs = r->blk->root;
    r->tail = (ExitTail) { .fn = aio_vec_read_now_done, .opaque = r };
    exit_tail_queue(&r->tail);
    return true;
}

/* Submit a vectored request (now, or when the I/O limits let it go). */
static void aio_vec_submit(BlkThrottled *t)
{
    BlkAioVec *r = container_of(t, BlkAioVec, thr);
    BlockBackend *blk = r->blk;

    if (!blk->root) {
        main_loop_call(aio_vec_no_medium, r);
    } else if (r->type == BLOCK_ACCT_READ && aio_vec_read_now(r)) {
        return;
    } else if (r->type == BLOCK_ACCT_WRITE) {
        bdrv_aio_pwritev(blk->root, &r->bv, r->offset, r->iov, r->niov,
                         aio_vec_complete, r);
    } else {
        bdrv_aio_preadv(blk->root, &r->bv, r->offset, r->iov, r->niov,
                        aio_vec_complete, r);
    }
}

static void blk_aio_vec(BlockBackend *blk, BlkAioVec *r, bool write,
                        uint64_t offset, const struct iovec *iov, int niov,
                        BlockBackendCompletionFunc *cb, void *opaque)
{
    uint64_t bytes = 0;

    for (int i = 0; i < niov; i++) {
        bytes += iov[i].iov_len;
    }
    r->blk = blk;
    r->type = write ? BLOCK_ACCT_WRITE : BLOCK_ACCT_READ;
    r->offset = offset;
    r->bytes = bytes;
    r->start_ns = now_ns();
    r->cb = cb;
    r->opaque = opaque;
    r->iov = iov;
    r->niov = niov;
    r->thr = (BlkThrottled) { .write = write, .bytes = bytes,
                              .submit = aio_vec_submit };
    g_atomic_int_inc(&blk->in_flight);
    if (throttle_admit(blk, &r->thr)) {
        aio_vec_submit(&r->thr);
    }
}

void blk_aio_preadv(BlockBackend *blk, BlkAioVec *req, uint64_t offset,
                    const struct iovec *iov, int niov,
                    BlockBackendCompletionFunc *cb, void *opaque)
{
    blk_aio_vec(blk, req, false, offset, iov, niov, cb, opaque);
}

void blk_aio_pwritev(BlockBackend *blk, BlkAioVec *req, uint64_t offset,
                     const struct iovec *iov, int niov,
                     BlockBackendCompletionFunc *cb, void *opaque)
{
    blk_aio_vec(blk, req, true, offset, iov, niov, cb, opaque);
}

BlockDriverState *blk_io_plug(BlockBackend *blk)
{
    if (blk->root) {
        bdrv_io_plug(blk->root);
    }
    return blk->root;
}

void blk_io_unplug(BlockDriverState *plugged)
{
    if (plugged) {
        bdrv_io_unplug(plugged);
    }
}

GMainContext *blk_get_aio_context(BlockBackend *blk)
{
    return blk->root ? bdrv_get_aio_context(blk->root)
                     : blk->aio_ctx ? blk->aio_ctx : g_main_context_default();
}

/* ---- error policy ------------------------------------------------------ */

bool blk_parse_on_error(const char *value, bool is_read,
                        BlockdevOnError *out, GError **errp)
{
    for (int i = 0; i < BLOCKDEV_ON_ERROR__MAX; i++) {
        if (!strcmp(value, BlockdevOnError_str[i]) &&
            !(is_read && i == BLOCKDEV_ON_ERROR_ENOSPC)) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "'%s' invalid %s error action", value,
               is_read ? "read" : "write");
    return false;
}

void blk_set_on_error(BlockBackend *blk, BlockdevOnError on_read_error,
                      BlockdevOnError on_write_error)
{
    /* "auto": QEMU's defaults, report reads and stop on a full disk. */
    blk->on_read_error = on_read_error == BLOCKDEV_ON_ERROR_AUTO
                         ? BLOCKDEV_ON_ERROR_REPORT : on_read_error;
    blk->on_write_error = on_write_error == BLOCKDEV_ON_ERROR_AUTO
                          ? BLOCKDEV_ON_ERROR_ENOSPC : on_write_error;
}

BlockdevOnError blk_get_on_error(BlockBackend *blk, bool is_read)
{
    return is_read ? blk->on_read_error : blk->on_write_error;
}

BlockErrorAction blk_get_error_action(BlockBackend *blk, bool is_read,
                                      int error)
{
    switch (blk_get_on_error(blk, is_read)) {
    case BLOCKDEV_ON_ERROR_IGNORE:
        return BLOCK_ERROR_ACTION_IGNORE;
    case BLOCKDEV_ON_ERROR_STOP:
        return BLOCK_ERROR_ACTION_STOP;
    case BLOCKDEV_ON_ERROR_ENOSPC:
        return error == ENOSPC ? BLOCK_ERROR_ACTION_STOP
                               : BLOCK_ERROR_ACTION_REPORT;
    default:
        return BLOCK_ERROR_ACTION_REPORT;
    }
}

static void send_io_error_event(BlockBackend *blk, BlockErrorAction action,
                                bool is_read, int error)
{
    qapi_event_send_block_io_error(
        blk->name, blk->root ? bdrv_node_name(blk->root) : NULL,
        is_read ? IO_OPERATION_TYPE_READ : IO_OPERATION_TYPE_WRITE, action,
        blk->iostatus_enabled, error == ENOSPC, g_strerror(error));
}

void blk_error_action(BlockBackend *blk, BlockErrorAction action,
                      bool is_read, int error)
{
    if (action == BLOCK_ERROR_ACTION_STOP) {
        /* The first error since 'cont' decides the status (QEMU's rule). */
        if (blk->iostatus_enabled &&
            blk->iostatus == BLOCK_DEVICE_IO_STATUS_OK) {
            blk->iostatus = error == ENOSPC ? BLOCK_DEVICE_IO_STATUS_NOSPACE
                                            : BLOCK_DEVICE_IO_STATUS_FAILED;
        }
        blk->retry_pending = true;
        send_io_error_event(blk, action, is_read, error);
        qemu_system_vmstop_request(RUN_STATE_IO_ERROR);
    } else {
        send_io_error_event(blk, action, is_read, error);
    }
}

void blk_retry_on_resume(BlockBackend *blk)
{
    blk->retry_pending = true;
}

void blk_iostatus_enable(BlockBackend *blk)
{
    blk->iostatus_enabled = true;
    blk->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
}

bool blk_iostatus_is_enabled(BlockBackend *blk)
{
    return blk->iostatus_enabled;
}

BlockDeviceIoStatus blk_iostatus(BlockBackend *blk)
{
    return blk->iostatus;
}

void blk_iostatus_reset_all(void)
{
    GPtrArray *l = blk_list();

    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        blk->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    }
}
