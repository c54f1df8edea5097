/*
 * virtio-balloon-pci: the traditional memory balloon.
 *
 * Spec: OASIS VIRTIO 1.2, 5.5 "Traditional Memory Balloon Device":
 * device ID 5; queues inflateq, deflateq, statsq (VIRTIO_BALLOON_F_STATS_VQ),
 * free_page_vq (VIRTIO_BALLOON_F_FREE_PAGE_HINT) and reporting_vq
 * (VIRTIO_BALLOON_F_PAGE_REPORTING), numbered in that order among those
 * present (5.5.2); configuration num_pages (le32, the device's target),
 * actual (le32, the driver's count), free_page_hint_cmd_id (le32, the
 * device's) and poison_val (le32, the driver's) (5.5.4); page frame
 * numbers are 4096-byte pages (5.5.6).
 *
 * Free page hinting (5.5.6.3, free-page-hint=on): during a live migration
 * each precopy round (docs/migration.md "Free page hints") gets a new
 * command id (QEMU's: from 0x80000001 up, wrapping to 0x80000000) in
 * free_page_hint_cmd_id; the driver answers with a device-readable buffer
 * holding that id, then device-writable buffers that are free guest
 * pages, and may end with the id STOP.  The device hands the pages to
 * the migration (ram_discard_hinted_range), which leaves them out of the
 * round unless they are written again; STOP (0) ends a round, DONE (1)
 * the migration, after which the driver reuses its pages.  A stale id
 * or a round that has ended makes hints no-ops (the device may ignore
 * hints, 5.5.6.3); a cmd id shorter than 4 bytes is a driver error.
 * As in QEMU 7.2 the property needs iothread=; kvmpc runs the queue on
 * the main loop in bounded batches instead (docs/virtio.md says why).
 *
 * Page poisoning (5.5.6.4, page-poison=on, QEMU's default): the driver
 * writes the value its free pages hold to poison_val.  A page that is
 * discarded (reported) or not migrated (hinted) reads zero afterwards,
 * which breaks a guest that checks a nonzero poison, so with a nonzero
 * poison_val reports are not discarded and hints are not used (the pages
 * are migrated): the device leaves the page contents as they were.
 *
 * Inflated and reported pages are given back to the host with
 * madvise(MADV_DONTNEED) on their RAM (found through the guest RAM table:
 * never ROM, never MMIO), so they read as zero afterwards.  Host pages
 * larger than 4 KiB (not used for kvmpc's anonymous RAM) are left alone.
 *
 * Monitor: QMP balloon / query-balloon / BALLOON_CHANGE, HMP balloon and
 * info balloon, qom-get of "guest-stats" (the statsq's last report) with
 * "guest-stats-polling-interval" seconds between requests, as QEMU.
 * "-device virtio-balloon" resolves to this type.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "hw/boards.h"
#include "hw/virtio/guest-ram.h"
#include "hw/virtio/virtio-pci.h"
#include "migration/migration.h"
#include "system/bh.h"
#include "system/runstate.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "qobject/qdict.h"
#include "qobject/qnum.h"
#include "system/timer.h"

#define TYPE_VIRTIO_BALLOON_PCI         "virtio-balloon-pci"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON    4
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
#define VIRTIO_BALLOON_CMD_ID_STOP      0
#define VIRTIO_BALLOON_CMD_ID_DONE      1
#define BALLOON_HINT_CMD_ID_MIN         0x80000000u     /* QEMU's ids */
#define BALLOON_HINT_QUEUE_SIZE         1024            /* QEMU's */
#define BALLOON_HINT_BATCH              64      /* elements per main loop turn */
#define VIRTIO_BALLOON_PFN_SHIFT        12
#define VIRTIO_BALLOON_PAGE_SIZE        (1u << VIRTIO_BALLOON_PFN_SHIFT)
#define VIRTIO_BALLOON_QUEUE_SIZE       128
/* num_pages, actual; + free_page_hint_cmd_id; + poison_val (QEMU's
 * sizes: the fields up to the last feature offered) */
#define VIRTIO_BALLOON_CONFIG_SIZE      8
#define VIRTIO_BALLOON_CONFIG_SIZE_HINT 12
#define VIRTIO_BALLOON_CONFIG_SIZE_MAX  16
#define VIRTIO_BALLOON_S_NR             10
#define VIRTIO_BALLOON_STAT_SIZE        10      /* le16 tag, le64 value */

/* Where free page hinting is (QEMU's states, which it migrates too). */
typedef enum HintStatus {
    HINT_S_STOP = 0,                /* config shows CMD_ID_STOP */
    HINT_S_REQUESTED = 1,           /* config shows hint_cmd_id */
    HINT_S_START = 2,               /* the driver echoed it: hints count */
    HINT_S_DONE = 3,                /* config shows CMD_ID_DONE */
} HintStatus;

typedef struct VirtIOBalloon {
    VirtIODevice vdev;
    VirtQueue *ivq, *dvq, *svq, *fvq, *rvq;

    /* properties */
    bool deflate_on_oom;
    bool free_page_reporting;
    bool free_page_hint;
    bool page_poison;
    char *iothread_id;              /* required with free-page-hint */
    uint32_t stats_interval;        /* seconds, 0: no polling */

    /* free page hinting and page poison (migrated) */
    uint32_t hint_status;           /* HintStatus */
    uint32_t hint_cmd_id;           /* the current round's id */
    uint32_t poison_val;            /* the driver's (config) */
    /* qom-get x-free-page-hints (not migrated): bytes handed to a
     * migration, and hint buffers given back unused */
    uint64_t hinted_bytes;
    uint64_t hints_ignored;
    BH *hint_bh;                    /* the next batch of free_page_vq */

    uint32_t num_pages;             /* target (config) */
    uint32_t actual;                /* the driver's count (config) */
    uint64_t stats[VIRTIO_BALLOON_S_NR];
    int64_t stats_last_update;      /* seconds since the epoch */
    bool stats_held;                /* stats_elem awaits the next poll */
    QEMUTimer *stats_timer;
    VirtQueueElement elem;
    VirtQueueElement stats_elem;
} VirtIOBalloon;

typedef struct VirtIOBalloonPCI {
    VirtIOPCIProxy proxy;
    VirtIOBalloon balloon;
} VirtIOBalloonPCI;

static VirtIOBalloon *the_balloon;      /* QEMU allows one */

static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
    "stat-swap-in", "stat-swap-out", "stat-major-faults",
    "stat-minor-faults", "stat-free-memory", "stat-total-memory",
    "stat-available-memory", "stat-disk-caches", "stat-htlb-pgalloc",
    "stat-htlb-pgfail",
};

static uint64_t ram_size(void)
{
    return current_machine ? current_machine->ram_size : 0;
}

/* ---- page discard ----------------------------------------------------- */

static void discard_range(uint64_t gpa, uint64_t len)
{
    static long host_page;
    void *host;

    if (!host_page) {
        host_page = sysconf(_SC_PAGESIZE);
    }
    if (host_page != VIRTIO_BALLOON_PAGE_SIZE ||
        (gpa | len) & (VIRTIO_BALLOON_PAGE_SIZE - 1)) {
        return;     /* a hint only: nothing we can drop exactly */
    }
    host = guest_ram_ptr(gpa, len, true);
    if (host) {
        madvise(host, len, MADV_DONTNEED);
    }
}

static void balloon_handle_pfns(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;
    bool inflate = vq == s->ivq, pushed = false;

    while (virtqueue_pop(vq, &s->elem)) {
        size_t size = virtqueue_elem_out_size(&s->elem);

        for (size_t off = 0; off + 4 <= size; off += 4) {
            uint8_t le[4];
            uint32_t pfn;

            virtqueue_elem_to_buf(&s->elem, off, le, 4);
            pfn = ldl_le_p(le);
            if (inflate) {
                discard_range((uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT,
                              VIRTIO_BALLOON_PAGE_SIZE);
            }
            /* deflate: the pages come back on the guest's next touch */
        }
        virtqueue_push(vq, &s->elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

/*
 * Free pages read zero once discarded (reported) or left behind by a
 * migration (hinted): wrong for a driver that fills them with a nonzero
 * poison (5.5.6.4), so then they keep their contents.
 */
static bool free_pages_may_read_zero(VirtIOBalloon *s)
{
    return !virtio_vdev_has_feature(&s->vdev, VIRTIO_BALLOON_F_PAGE_POISON) ||
           !s->poison_val;
}

/* Free page reporting (5.5.6.7): each device-writable buffer is free. */
static void balloon_handle_report(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;
    bool pushed = false;

    while (virtqueue_pop(vq, &s->elem)) {
        for (unsigned i = 0; i < s->elem.in_num &&
                             free_pages_may_read_zero(s); i++) {
            unsigned n = s->elem.out_num + i;
            discard_range(s->elem.addr[n], s->elem.sg[n].iov_len);
        }
        virtqueue_push(vq, &s->elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

/* ---- free page hinting (5.5.6.3) ---------------------------------------- */

static bool hint_negotiated(VirtIOBalloon *s)
{
    return virtio_vdev_has_feature(&s->vdev, VIRTIO_BALLOON_F_FREE_PAGE_HINT);
}

static void hint_set_status(VirtIOBalloon *s, HintStatus st)
{
    if (s->hint_status == st) {
        return;
    }
    s->hint_status = st;
    virtio_notify_config(&s->vdev);
}

/* The driver's cmd id (a device-readable buffer): a round starts when it
 * echoes the id asked for, and stops at any other id once started (the
 * driver's STOP; a stale id is not a stop for the round it missed). */
static bool hint_take_cmd_id(VirtIOBalloon *s, VirtQueueElement *e)
{
    uint8_t le[4];
    uint32_t id;

    if (virtqueue_elem_to_buf(e, 0, le, 4) < 4) {
        virtio_error(&s->vdev, "virtio-balloon: free page hint cmd id "
                     "shorter than 4 bytes");
        return false;
    }
    id = ldl_le_p(le);
    if (s->hint_status == HINT_S_REQUESTED && id == s->hint_cmd_id) {
        s->hint_status = HINT_S_START;
    } else if (s->hint_status == HINT_S_START) {
        s->hint_status = HINT_S_STOP;
    }
    return true;
}

/* Device-writable buffers: free guest pages, already mapped (and so
 * checked to be RAM) by virtqueue_pop.  Whole 4 KiB pages only count. */
static void hint_take_pages(VirtIOBalloon *s, VirtQueueElement *e)
{
    struct iovec *in = virtqueue_elem_in(e);
    bool usable = s->hint_status == HINT_S_START &&
                  free_pages_may_read_zero(s);

    for (unsigned i = 0; i < e->in_num; i++) {
        if (usable && ram_discard_hinted_range(in[i].iov_base,
                                               in[i].iov_len)) {
            s->hinted_bytes += in[i].iov_len;
        } else {
            s->hints_ignored++;
        }
    }
}

/*
 * At most BALLOON_HINT_BATCH elements per main loop turn: each costs a
 * few appends under the hint lock (the migration thread clears the
 * bitmap), so a driver that keeps the queue full never holds the main
 * loop for long; the rest waits for the next turn (hint_bh).
 */
static void balloon_hint_batch(VirtIOBalloon *s)
{
    bool pushed = false;
    unsigned n;

    for (n = 0; n < BALLOON_HINT_BATCH; n++) {
        if (!virtqueue_pop(s->fvq, &s->elem)) {
            break;
        }
        if (s->elem.out_num && !hint_take_cmd_id(s, &s->elem)) {
            break;              /* broken: the queue stops */
        }
        hint_take_pages(s, &s->elem);
        virtqueue_push(s->fvq, &s->elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(&s->vdev, s->fvq);
    }
    if (n == BALLOON_HINT_BATCH && !s->vdev.broken) {
        bh_schedule(s->hint_bh);
    }
}

static void balloon_handle_hints(VirtIODevice *vdev, VirtQueue *vq)
{
    balloon_hint_batch((VirtIOBalloon *)vdev);
}

static void balloon_hint_bh(void *opaque)
{
    VirtIOBalloon *s = opaque;

    if (s->fvq && !s->vdev.broken &&
        (s->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        balloon_hint_batch(s);
    }
}

/* The migration's rounds (big lock held, migration thread). */
static void balloon_hint_event(void *opaque, MigrationHintEvent ev)
{
    VirtIOBalloon *s = opaque;

    if (!hint_negotiated(s)) {
        return;
    }
    switch (ev) {
    case MIGRATION_HINT_ROUND_START:
        s->hint_cmd_id = s->hint_cmd_id == UINT32_MAX
                         ? BALLOON_HINT_CMD_ID_MIN : s->hint_cmd_id + 1;
        s->hint_status = HINT_S_REQUESTED;
        virtio_notify_config(&s->vdev);
        break;
    case MIGRATION_HINT_ROUND_STOP:
        if (s->hint_status == HINT_S_REQUESTED ||
            s->hint_status == HINT_S_START) {
            hint_set_status(s, HINT_S_STOP);
        }
        break;
    case MIGRATION_HINT_DONE:
        hint_set_status(s, HINT_S_DONE);
        break;
    }
}

static uint32_t hint_config_cmd_id(VirtIOBalloon *s)
{
    switch (s->hint_status) {
    case HINT_S_REQUESTED:
    case HINT_S_START:
        return s->hint_cmd_id;
    case HINT_S_DONE:
        return VIRTIO_BALLOON_CMD_ID_DONE;
    default:
        return VIRTIO_BALLOON_CMD_ID_STOP;
    }
}

/* ---- statistics ------------------------------------------------------- */

static void stats_reset(VirtIOBalloon *s)
{
    for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
        s->stats[i] = UINT64_MAX;
    }
}

static void stats_arm_timer(VirtIOBalloon *s)
{
    if (s->stats_interval && s->stats_timer) {
        timer_mod(s->stats_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                  (int64_t)s->stats_interval * 1000000000LL);
    }
}

/* Give the held buffer back: the driver refills it with fresh numbers. */
static void stats_request(VirtIOBalloon *s)
{
    if (!s->stats_held) {
        return;
    }
    s->stats_held = false;
    virtqueue_push(s->svq, &s->stats_elem, 0);
    virtio_notify(&s->vdev, s->svq);
}

static void balloon_handle_stats(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;

    if (s->stats_held) {
        stats_request(s);   /* a second buffer: answer the first one */
    }
    if (!virtqueue_pop(vq, &s->stats_elem)) {
        return;
    }
    for (size_t off = 0;; off += VIRTIO_BALLOON_STAT_SIZE) {
        uint8_t st[VIRTIO_BALLOON_STAT_SIZE];
        uint16_t tag;

        if (virtqueue_elem_to_buf(&s->stats_elem, off, st, sizeof(st)) <
            sizeof(st)) {
            break;
        }
        tag = lduw_le_p(st);
        if (tag < VIRTIO_BALLOON_S_NR) {
            s->stats[tag] = ldq_le_p(st + 2);
        }
    }
    s->stats_last_update = g_get_real_time() / G_USEC_PER_SEC;
    s->stats_held = true;
    if (s->stats_timer && !timer_pending(s->stats_timer)) {
        stats_arm_timer(s);
    }
}

static void stats_poll(void *opaque)
{
    VirtIOBalloon *s = opaque;

    if (!s->stats_interval) {
        return;
    }
    stats_request(s);
    stats_arm_timer(s);
}

/* ---- virtio device ---------------------------------------------------- */

static uint64_t balloon_get_features(VirtIODevice *vdev, uint64_t f)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;

    f |= 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
    if (s->deflate_on_oom) {
        f |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
    }
    if (s->free_page_hint) {
        f |= 1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT;
    }
    if (s->page_poison) {
        f |= 1ULL << VIRTIO_BALLOON_F_PAGE_POISON;
    }
    if (s->free_page_reporting) {
        f |= 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
    }
    return f;
}

static void balloon_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;

    stl_le_p(config, s->num_pages);
    stl_le_p(config + 4, s->actual);
    stl_le_p(config + 8, hint_config_cmd_id(s));
    stl_le_p(config + 12, s->poison_val);
}

static void balloon_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;
    uint32_t old = s->actual;

    /* num_pages and free_page_hint_cmd_id are the device's; actual and
     * poison_val the driver's (5.5.4) */
    s->actual = ldl_le_p(config + 4);
    if (s->vdev.config_len >= VIRTIO_BALLOON_CONFIG_SIZE_MAX) {
        s->poison_val = ldl_le_p(config + 12);
    }
    if (s->actual != old && ram_size()) {
        qapi_event_send_balloon_change(ram_size() -
            ((uint64_t)s->actual << VIRTIO_BALLOON_PFN_SHIFT));
    }
}

static void balloon_reset(VirtIODevice *vdev)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;

    s->stats_held = false;
    s->actual = 0;
    s->poison_val = 0;
    /* the driver holds no hinted page after a reset; the id goes on */
    s->hint_status = HINT_S_STOP;
    stats_reset(s);
    if (s->stats_timer) {
        timer_del(s->stats_timer);
    }
}

static bool balloon_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;

    if (the_balloon) {
        error_setg(errp, "Only one balloon device is supported");
        return false;
    }
    if (s->free_page_hint && !s->iothread_id) {
        error_setg(errp, "'free-page-hint' requires 'iothread' to be set");
        return false;
    }
    if (s->iothread_id && !iothread_find(s->iothread_id)) {
        error_setg(errp, "Invalid parameter 'iothread': no I/O thread '%s'",
                   s->iothread_id);
        return false;
    }
    /* QEMU's layout: the fields up to the last one a feature offered */
    vdev->config_len = s->page_poison ? VIRTIO_BALLOON_CONFIG_SIZE_MAX
                       : s->free_page_hint ? VIRTIO_BALLOON_CONFIG_SIZE_HINT
                       : VIRTIO_BALLOON_CONFIG_SIZE;
    s->ivq = virtio_add_queue(vdev, VIRTIO_BALLOON_QUEUE_SIZE,
                              balloon_handle_pfns);
    s->dvq = virtio_add_queue(vdev, VIRTIO_BALLOON_QUEUE_SIZE,
                              balloon_handle_pfns);
    s->svq = virtio_add_queue(vdev, VIRTIO_BALLOON_QUEUE_SIZE,
                              balloon_handle_stats);
    if (s->free_page_hint) {
        s->fvq = virtio_add_queue(vdev, BALLOON_HINT_QUEUE_SIZE,
                                  balloon_handle_hints);
        /* mapping a hint must not make its pages dirty again */
        s->fvq->in_unwritten = true;
        s->hint_bh = bh_new(NULL, balloon_hint_bh, s);
        s->hint_cmd_id = BALLOON_HINT_CMD_ID_MIN;
        migration_set_hint_notifier(balloon_hint_event, s);
    }
    if (s->free_page_reporting) {
        s->rvq = virtio_add_queue(vdev, 32, balloon_handle_report);
    }
    s->stats_timer = timer_new_ns(QEMU_CLOCK_REALTIME, stats_poll, s);
    stats_reset(s);
    the_balloon = s;
    return true;
}

static void balloon_unrealize(VirtIODevice *vdev)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;

    timer_free(s->stats_timer);
    s->stats_timer = NULL;
    if (s->hint_bh) {
        migration_set_hint_notifier(NULL, NULL);
        bh_free(s->hint_bh);
        s->hint_bh = NULL;
    }
    if (the_balloon == s) {
        the_balloon = NULL;
    }
}

/* ---- monitor ---------------------------------------------------------- */

static VirtIOBalloon *balloon_active(GError **errp)
{
    if (!the_balloon) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_ACTIVE,
                    "No balloon device has been activated");
    }
    return the_balloon;
}

void qmp_balloon(int64_t target, GError **errp)
{
    VirtIOBalloon *s = balloon_active(errp);
    uint64_t ram = ram_size();

    if (!s) {
        return;
    }
    if (target <= 0) {
        error_setg(errp, "Parameter 'target' expects a size");
        return;
    }
    if ((uint64_t)target > ram) {
        target = ram;
    }
    s->num_pages = (ram - target) >> VIRTIO_BALLOON_PFN_SHIFT;
    virtio_notify_config(&s->vdev);
}

BalloonInfo *qmp_query_balloon(GError **errp)
{
    VirtIOBalloon *s = balloon_active(errp);
    BalloonInfo *info;

    if (!s) {
        return NULL;
    }
    info = g_new0(BalloonInfo, 1);
    info->actual = ram_size() -
                   ((uint64_t)s->actual << VIRTIO_BALLOON_PFN_SHIFT);
    return info;
}

static QObject *balloon_qom_get(DeviceState *dev, const char *name,
                                GError **errp)
{
    VirtIOBalloon *s = &((VirtIOBalloonPCI *)dev)->balloon;
    QDict *ret, *stats;

    if (!strcmp(name, "x-free-page-hints")) {
        /* kvmpc's own: what the hints did (QEMU has no such counter) */
        ret = qdict_new();
        qdict_put_uint(ret, "hinted-bytes", s->hinted_bytes);
        qdict_put_uint(ret, "ignored", s->hints_ignored);
        return QOBJECT(ret);
    }
    if (strcmp(name, "guest-stats")) {
        return NULL;
    }
    if (!s->stats_last_update) {
        error_setg(errp, "guest hasn't updated any stats yet");
        return NULL;
    }
    stats = qdict_new();
    for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++) {
        qdict_put_uint(stats, stat_names[i], s->stats[i]);
    }
    ret = qdict_new();
    qdict_put_obj(ret, "stats", QOBJECT(stats));
    qdict_put_int(ret, "last-update", s->stats_last_update);
    return QOBJECT(ret);
}

/* qom-set guest-stats-polling-interval (virsh dommemstat --period): the
 * timer follows at once, as QEMU's. */
static bool balloon_qom_set(DeviceState *dev, const char *name,
                            QObject *value, GError **errp)
{
    VirtIOBalloon *s = &((VirtIOBalloonPCI *)dev)->balloon;
    QNum *n = qobject_to(QNum, value);
    int64_t secs;

    if (strcmp(name, "guest-stats-polling-interval")) {
        return false;
    }
    if (!n || !qnum_get_try_int(n, &secs)) {
        error_setg(errp, "Invalid parameter type for 'value', expected: "
                   "integer");
        return true;
    }
    if (secs < 0) {
        error_setg(errp, "timer value must be greater than zero");
        return true;
    }
    if (secs > UINT32_MAX) {
        error_setg(errp, "timer value is too big");
        return true;
    }
    s->stats_interval = secs;
    if (!secs) {
        timer_del(s->stats_timer);
    } else {
        stats_arm_timer(s);
    }
    return true;
}

/* ---- type ------------------------------------------------------------- */

static int balloon_post_load(void *opaque, int version_id)
{
    VirtIOBalloonPCI *d = opaque;

    if (!virtio_core_post_load(&d->balloon.vdev) ||
        d->balloon.hint_status > HINT_S_DONE) {
        return -1;
    }
    /* a round is the source's migration's: here none runs, so the driver
     * may take its hinted pages back (the source sends DONE anyway) */
    if (d->balloon.hint_status == HINT_S_REQUESTED ||
        d->balloon.hint_status == HINT_S_START) {
        d->balloon.hint_status = HINT_S_DONE;
    }
    d->balloon.stats_held = false;
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_balloon = {
    .name = "virtio-balloon",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = balloon_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(balloon.vdev, VirtIOBalloonPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_UINT32(balloon.num_pages, VirtIOBalloonPCI),
        VMSTATE_UINT32(balloon.actual, VirtIOBalloonPCI),
        /* 2: free page hinting and page poison */
        VMSTATE_UINT32_V(balloon.hint_status, VirtIOBalloonPCI, 2),
        VMSTATE_UINT32_V(balloon.hint_cmd_id, VirtIOBalloonPCI, 2),
        VMSTATE_UINT32_V(balloon.poison_val, VirtIOBalloonPCI, 2),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass balloon_vdc = {
    .device_id = VIRTIO_ID_BALLOON,
    .legacy_pci_device_id = 0x1002,
    .pci_class_id = PCI_CLASS_OTHERS,
    .config_size = VIRTIO_BALLOON_CONFIG_SIZE_MAX,  /* realize cuts it */
    .get_features = balloon_get_features,
    .get_config = balloon_get_config,
    .set_config = balloon_set_config,
    .reset = balloon_reset,
};

static const VirtioPCIClass balloon_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1002,
        .class_id = PCI_CLASS_OTHERS,
        .interrupt_pin = 1,
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &balloon_vdc,
    .vdev_offset = offsetof(VirtIOBalloonPCI, balloon),
    .realize = balloon_realize,
    .unrealize = balloon_unrealize,
};

static const Property balloon_pci_props[] = {
    DEFINE_PROP("deflate-on-oom", VirtIOBalloonPCI, balloon.deflate_on_oom,
                PROP_BOOL, "off", "offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM"),
    DEFINE_PROP("free-page-reporting", VirtIOBalloonPCI,
                balloon.free_page_reporting, PROP_BOOL, "off",
                "offer VIRTIO_BALLOON_F_PAGE_REPORTING (reporting queue)"),
    DEFINE_PROP("free-page-hint", VirtIOBalloonPCI, balloon.free_page_hint,
                PROP_BOOL, "off", "offer VIRTIO_BALLOON_F_FREE_PAGE_HINT "
                "(free page hints during migration; needs iothread)"),
    DEFINE_PROP("page-poison", VirtIOBalloonPCI, balloon.page_poison,
                PROP_BOOL, "on", "offer VIRTIO_BALLOON_F_PAGE_POISON "
                "(the driver's poison_val)"),
    DEFINE_PROP("iothread", VirtIOBalloonPCI, balloon.iothread_id,
                PROP_STRING, NULL, "ID of an -object iothread (QEMU "
                "requires one for free-page-hint)"),
    DEFINE_PROP("guest-stats-polling-interval", VirtIOBalloonPCI,
                balloon.stats_interval, PROP_UINT32, "0",
                "seconds between guest statistics requests (0: off)"),
    DEFINE_PROP("vectors", VirtIOBalloonPCI, proxy.nvectors, PROP_UINT32,
                "4", "MSI-X vectors (0: INTx only)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_balloon_pci_type = {
    .name = TYPE_VIRTIO_BALLOON_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-balloon-pci",
    .instance_size = sizeof(VirtIOBalloonPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = balloon_pci_props,
    .vmsd = &vmstate_virtio_balloon,
    .class_data = &balloon_pci_class,
    .qom_get = balloon_qom_get,
    .qom_set = balloon_qom_set,
};

static void virtio_balloon_register(void)
{
    device_type_register(&virtio_balloon_pci_type);
    device_type_register_alias("virtio-balloon", TYPE_VIRTIO_BALLOON_PCI);
}
type_init(virtio_balloon_register)
