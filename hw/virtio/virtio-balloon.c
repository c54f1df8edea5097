/*
 * virtio-balloon-pci: the traditional memory balloon.
 *
 * Spec: OASIS VIRTIO 1.2, 5.5 "Traditional Memory Balloon Device":
 * device ID 5; queues inflateq, deflateq, statsq (VIRTIO_BALLOON_F_STATS_VQ)
 * and reporting_vq (VIRTIO_BALLOON_F_PAGE_REPORTING); configuration
 * num_pages (le32, the device's target) and actual (le32, the driver's
 * count); page frame numbers are 4096-byte pages (5.5.6).
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
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "qobject/qdict.h"
#include "qobject/qnum.h"
#include "system/timer.h"

#define TYPE_VIRTIO_BALLOON_PCI         "virtio-balloon-pci"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
#define VIRTIO_BALLOON_PFN_SHIFT        12
#define VIRTIO_BALLOON_PAGE_SIZE        (1u << VIRTIO_BALLOON_PFN_SHIFT)
#define VIRTIO_BALLOON_QUEUE_SIZE       128
#define VIRTIO_BALLOON_CONFIG_SIZE      8       /* num_pages, actual */
#define VIRTIO_BALLOON_S_NR             10
#define VIRTIO_BALLOON_STAT_SIZE        10      /* le16 tag, le64 value */

typedef struct VirtIOBalloon {
    VirtIODevice vdev;
    VirtQueue *ivq, *dvq, *svq, *rvq;

    /* properties */
    bool deflate_on_oom;
    bool free_page_reporting;
    uint32_t stats_interval;        /* seconds, 0: no polling */

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

/* Free page reporting (5.5.6.7): each device-writable buffer is free. */
static void balloon_handle_report(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;
    bool pushed = false;

    while (virtqueue_pop(vq, &s->elem)) {
        for (unsigned i = 0; i < s->elem.in_num; i++) {
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
}

static void balloon_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    VirtIOBalloon *s = (VirtIOBalloon *)vdev;
    uint32_t old = s->actual;

    /* num_pages is the device's; only actual is the driver's (5.5.4) */
    s->actual = ldl_le_p(config + 4);
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
    s->ivq = virtio_add_queue(vdev, VIRTIO_BALLOON_QUEUE_SIZE,
                              balloon_handle_pfns);
    s->dvq = virtio_add_queue(vdev, VIRTIO_BALLOON_QUEUE_SIZE,
                              balloon_handle_pfns);
    s->svq = virtio_add_queue(vdev, VIRTIO_BALLOON_QUEUE_SIZE,
                              balloon_handle_stats);
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

    if (!virtio_core_post_load(&d->balloon.vdev)) {
        return -1;
    }
    d->balloon.stats_held = false;
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_balloon = {
    .name = "virtio-balloon",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = balloon_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(balloon.vdev, VirtIOBalloonPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_UINT32(balloon.num_pages, VirtIOBalloonPCI),
        VMSTATE_UINT32(balloon.actual, VirtIOBalloonPCI),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass balloon_vdc = {
    .device_id = VIRTIO_ID_BALLOON,
    .legacy_pci_device_id = 0x1002,
    .pci_class_id = PCI_CLASS_OTHERS,
    .config_size = VIRTIO_BALLOON_CONFIG_SIZE,
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
