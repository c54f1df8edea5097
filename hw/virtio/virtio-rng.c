/*
 * virtio-rng-pci: the entropy device.
 *
 * Spec: OASIS VIRTIO 1.2, 5.4 "Entropy Device": device ID 4, one queue
 * (requestq), no feature bits, no configuration; the driver posts
 * device-writable buffers and the device fills them with random bytes
 * (it MAY fill fewer than offered).
 *
 * Properties as QEMU's: rng=ID (an rng-random/rng-builtin object; default
 * a built-in getrandom() source), max-bytes and period (ms): at most
 * max-bytes per period, measured on the virtual clock as QEMU does.
 * "-device virtio-rng" resolves to this type (QEMU's alias on pc).
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "system/rng.h"
#include "system/timer.h"

#define TYPE_VIRTIO_RNG_PCI     "virtio-rng-pci"
#define VIRTIO_RNG_QUEUE_SIZE   8
#define VIRTIO_RNG_CHUNK        4096    /* bytes read from the source at once */

typedef struct VirtIORNG {
    VirtIODevice vdev;
    VirtQueue *vq;

    /* properties */
    char *rng_id;
    uint64_t max_bytes;
    uint32_t period_ms;

    RngBackend *backend;
    QEMUTimer *rate_timer;
    int64_t quota;              /* bytes left in this period */
    bool waiting;               /* for the backend to have more */
    VirtQueueElement elem;      /* one element at a time, no allocation */
} VirtIORNG;

typedef struct VirtIORNGPCI {
    VirtIOPCIProxy proxy;
    VirtIORNG rng;
} VirtIORNGPCI;

static void rng_handle(VirtIODevice *vdev, VirtQueue *vq);

static void rng_backend_ready(void *opaque)
{
    VirtIORNG *s = opaque;

    s->waiting = false;
    rng_handle(&s->vdev, s->vq);
}

/* Fill one element; false when the source ran dry (element given back). */
static bool rng_fill(VirtIORNG *s, VirtQueueElement *e, size_t *filled)
{
    size_t want = MIN(virtqueue_elem_in_size(e), (size_t)s->quota);
    uint8_t buf[VIRTIO_RNG_CHUNK];
    size_t done = 0;

    while (done < want) {
        size_t n = rng_backend_read(s->backend, buf,
                                    MIN(sizeof(buf), want - done));
        if (!n) {
            break;
        }
        virtqueue_elem_from_buf(e, done, buf, n);
        done += n;
    }
    *filled = done;
    return done > 0 || want == 0;
}

/*
 * Serve every posted buffer while quota and entropy last, then send one
 * interrupt for the run.
 */
static void rng_handle(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIORNG *s = (VirtIORNG *)vdev;
    bool pushed = false;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) || s->waiting) {
        return;
    }
    while (s->quota > 0 && virtqueue_pop(vq, &s->elem)) {
        size_t filled;

        if (!virtqueue_elem_in_size(&s->elem)) {
            virtqueue_push(vq, &s->elem, 0);   /* nothing to fill */
            pushed = true;
            continue;
        }
        if (!rng_fill(s, &s->elem, &filled)) {
            virtqueue_unpop(vq, &s->elem);
            s->waiting = true;
            rng_backend_wait(s->backend, rng_backend_ready, s);
            break;
        }
        s->quota -= filled;
        virtqueue_push(vq, &s->elem, filled);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
    if (s->quota <= 0 && !timer_pending(s->rate_timer)) {
        /* Out of quota: the next period starts when the timer fires. */
        timer_mod(s->rate_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  (int64_t)s->period_ms * 1000000);
    }
}

static void rng_period_expired(void *opaque)
{
    VirtIORNG *s = opaque;

    s->quota = MIN(s->max_bytes, (uint64_t)INT64_MAX);
    rng_handle(&s->vdev, s->vq);
}

static void rng_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIORNG *s = (VirtIORNG *)vdev;

    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        rng_handle(vdev, s->vq);    /* buffers posted before DRIVER_OK */
    }
}

static void rng_reset(VirtIODevice *vdev)
{
    VirtIORNG *s = (VirtIORNG *)vdev;

    rng_backend_cancel_wait(s->backend);
    s->waiting = false;
    timer_del(s->rate_timer);
    s->quota = MIN(s->max_bytes, (uint64_t)INT64_MAX);
}

static bool rng_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIORNG *s = (VirtIORNG *)vdev;

    if (s->period_ms == 0) {
        error_setg(errp, "'period' parameter expects a positive integer");
        return false;
    }
    if (s->max_bytes > INT64_MAX) {
        error_setg(errp, "'max-bytes' parameter must be non-negative, and "
                   "less than 2^63");
        return false;
    }
    if (s->rng_id) {
        s->backend = rng_backend_find(s->rng_id);
        if (!s->backend) {
            error_setg(errp, "Property 'virtio-rng-device.rng' can't find "
                       "value '%s'", s->rng_id);
            return false;
        }
    } else {
        s->backend = rng_backend_default();
    }
    s->vq = virtio_add_queue(vdev, VIRTIO_RNG_QUEUE_SIZE, rng_handle);
    s->rate_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, rng_period_expired, s);
    s->quota = s->max_bytes;
    return true;
}

static void rng_unrealize(VirtIODevice *vdev)
{
    VirtIORNG *s = (VirtIORNG *)vdev;

    rng_backend_cancel_wait(s->backend);
    timer_free(s->rate_timer);
    s->rate_timer = NULL;
}

static int rng_post_load(void *opaque, int version_id)
{
    VirtIORNGPCI *d = opaque;

    if (!virtio_core_post_load(&d->rng.vdev)) {
        return -1;
    }
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_rng = {
    .name = "virtio-rng",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = rng_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(rng.vdev, VirtIORNGPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_INT64(rng.quota, VirtIORNGPCI),
        VMSTATE_TIMER_PTR(rng.rate_timer, VirtIORNGPCI),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass rng_vdc = {
    .device_id = VIRTIO_ID_RNG,
    .legacy_pci_device_id = 0x1005,
    .pci_class_id = PCI_CLASS_OTHERS,
    .config_size = 0,
    .set_status = rng_set_status,
    .reset = rng_reset,
};

static const VirtioPCIClass rng_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1005,
        .class_id = PCI_CLASS_OTHERS,
        .interrupt_pin = 1,
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &rng_vdc,
    .vdev_offset = offsetof(VirtIORNGPCI, rng),
    .realize = rng_realize,
    .unrealize = rng_unrealize,
};

static const Property rng_pci_props[] = {
    DEFINE_PROP("rng", VirtIORNGPCI, rng.rng_id, PROP_STRING, NULL,
                "ID of an rng-random or rng-builtin object (default: the "
                "host's getrandom())"),
    DEFINE_PROP("max-bytes", VirtIORNGPCI, rng.max_bytes, PROP_UINT64,
                "9223372036854775807", "bytes the guest may get per period"),
    DEFINE_PROP("period", VirtIORNGPCI, rng.period_ms, PROP_UINT32, "65536",
                "rate limit period in milliseconds (virtual clock)"),
    DEFINE_PROP("vectors", VirtIORNGPCI, proxy.nvectors, PROP_UINT32, "2",
                "MSI-X vectors (0: INTx only)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_rng_pci_type = {
    .name = TYPE_VIRTIO_RNG_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-rng-pci",
    .instance_size = sizeof(VirtIORNGPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = rng_pci_props,
    .vmsd = &vmstate_virtio_rng,
    .class_data = &rng_pci_class,
};

static void virtio_rng_register(void)
{
    device_type_register(&virtio_rng_pci_type);
    device_type_register_alias("virtio-rng", TYPE_VIRTIO_RNG_PCI);
}
type_init(virtio_rng_register)
