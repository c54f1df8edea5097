/*
 * The virtio device core: feature negotiation, device status, the device
 * configuration space and the virtqueues (split and packed), independent
 * of the transport (hw/virtio/virtio-pci.c is the one kvmpc has).
 *
 * Spec: OASIS Virtual I/O Device (VIRTIO) Version 1.2:
 *   2.1 Device Status Field, 2.2 Feature Bits, 2.4 Device Reset,
 *   2.5 Device Configuration Space (config generation),
 *   2.7 Split Virtqueues (descriptor table, available ring, used ring,
 *       2.7.5.3 indirect descriptors, 2.7.7/2.7.10 notification
 *       suppression, VIRTIO_F_EVENT_IDX),
 *   2.8 Packed Virtqueues (2.8.10 event suppression structure,
 *       2.8.21 driver/device ring wrap counters),
 *   6 Reserved Feature Bits.
 *
 * Threads: a device's queue handlers run on the main thread (big lock
 * held) or, for a device given iothread=, in that I/O thread without the
 * big lock.  Everything else (configuration, status, reset) runs with the
 * big lock held; a transport stops a queue's I/O thread handling before it
 * changes that queue (virtio_queue_host_notifier_*).  See docs/virtio.md.
 */
#ifndef HW_VIRTIO_VIRTIO_H
#define HW_VIRTIO_VIRTIO_H
#include "qemu/osdep.h"
#include <sys/uio.h>
#include "hw/qdev.h"
#include "system/iothread.h"

/* ---- spec constants ------------------------------------------------ */

/* Device status bits (2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE     1
#define VIRTIO_CONFIG_S_DRIVER          2
#define VIRTIO_CONFIG_S_DRIVER_OK       4
#define VIRTIO_CONFIG_S_FEATURES_OK     8
#define VIRTIO_CONFIG_S_NEEDS_RESET     0x40
#define VIRTIO_CONFIG_S_FAILED          0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_NOTIFY_ON_EMPTY        24      /* legacy */
#define VIRTIO_F_ANY_LAYOUT             27      /* legacy */
#define VIRTIO_RING_F_INDIRECT_DESC     28
#define VIRTIO_RING_F_EVENT_IDX         29
#define VIRTIO_F_BAD_FEATURE            30      /* legacy: never offered */
#define VIRTIO_F_VERSION_1              32
#define VIRTIO_F_ACCESS_PLATFORM        33
#define VIRTIO_F_RING_PACKED            34
#define VIRTIO_F_IN_ORDER               35
#define VIRTIO_F_NOTIFICATION_DATA      38
#define VIRTIO_F_RING_RESET             40

/* Device IDs (5). */
#define VIRTIO_ID_NET                   1
#define VIRTIO_ID_BLOCK                 2
#define VIRTIO_ID_CONSOLE               3
#define VIRTIO_ID_RNG                   4
#define VIRTIO_ID_BALLOON               5
#define VIRTIO_ID_SCSI                  8

/* Split ring descriptor flags (2.7.5); packed ones share the low three. */
#define VRING_DESC_F_NEXT               1
#define VRING_DESC_F_WRITE              2
#define VRING_DESC_F_INDIRECT           4
/* Packed descriptor flags (2.8.1). */
#define VRING_PACKED_DESC_F_AVAIL       (1u << 7)
#define VRING_PACKED_DESC_F_USED        (1u << 15)
/* Split rings: avail.flags / used.flags (2.7.7, 2.7.10). */
#define VRING_AVAIL_F_NO_INTERRUPT      1
#define VRING_USED_F_NO_NOTIFY          1
/* Packed event suppression flags (2.8.10). */
#define VRING_PACKED_EVENT_FLAG_ENABLE  0
#define VRING_PACKED_EVENT_FLAG_DISABLE 1
#define VRING_PACKED_EVENT_FLAG_DESC    2

#define VIRTIO_NO_VECTOR                0xffff

/* ---- limits -------------------------------------------------------- */

#define VIRTIO_QUEUE_MAX                64      /* queues per device here */
#define VIRTQUEUE_MAX_SIZE              1024    /* descriptors per ring */
/*
 * Host iovec entries one element can carry: a chain has at most
 * VIRTQUEUE_MAX_SIZE descriptors, and a buffer that crosses RAM ranges
 * takes one entry per range; elements needing more are refused (the
 * queue breaks) rather than allocated for.
 */
#define VIRTQUEUE_MAX_SG                1024

typedef struct VirtIODevice VirtIODevice;
typedef struct VirtQueue VirtQueue;

/*
 * One popped buffer chain, mapped onto host memory.  sg[0..out_num) are
 * the device-readable buffers, sg[out_num..out_num+in_num) the
 * device-writable ones, addr[] their guest-physical addresses.  Devices
 * own their elements (embedded or allocated at realize), so popping
 * allocates nothing.
 */
typedef struct VirtQueueElement {
    uint16_t index;         /* head (split) or buffer id (packed) */
    uint16_t ndescs;        /* ring slots the chain used (packed) */
    unsigned out_num;
    unsigned in_num;
    struct iovec sg[VIRTQUEUE_MAX_SG];
    uint64_t addr[VIRTQUEUE_MAX_SG];
    /* each piece's length as mapped: devices may trim sg[] (virtio-blk
     * takes the status byte off), the migration log at fill must not */
    uint32_t mapped_len[VIRTQUEUE_MAX_SG];
} VirtQueueElement;

static inline struct iovec *virtqueue_elem_in(VirtQueueElement *e)
{
    return e->sg + e->out_num;
}

/* Bytes in the device-readable / -writable parts of an element. */
size_t virtqueue_elem_out_size(const VirtQueueElement *e);
size_t virtqueue_elem_in_size(const VirtQueueElement *e);
/* Copy in/out of an element's buffers at @offset; return bytes moved. */
size_t virtqueue_elem_to_buf(const VirtQueueElement *e, size_t offset,
                             void *buf, size_t len);
size_t virtqueue_elem_from_buf(VirtQueueElement *e, size_t offset,
                               const void *buf, size_t len);

typedef void (*VirtIOHandleOutput)(VirtIODevice *vdev, VirtQueue *vq);

/* ---- the virtqueue ------------------------------------------------- */

struct VirtQueue {
    VirtIODevice *vdev;
    uint16_t index;
    uint16_t num_max;       /* the device's maximum (0: queue absent) */
    /* the device never writes this queue's device-writable buffers (the
     * balloon's free page hints: guest pages lent, not filled), so they
     * are mapped without logging them for migration */
    bool in_unwritten;
    uint16_t num;           /* the size the driver chose */
    bool enabled;           /* queue_enable (modern) / PFN set (legacy) */
    bool reset_pending;     /* VIRTIO_F_RING_RESET: reset, not re-enabled */
    uint16_t vector;        /* MSI-X vector or VIRTIO_NO_VECTOR */
    /* split: descriptor table, available ring, used ring;
     * packed: descriptor ring, driver area, device area */
    uint64_t desc, avail, used;

    /* device-side ring state */
    uint16_t last_avail_idx;    /* split: next avail slot; packed: next desc */
    uint16_t used_idx;          /* split: used.idx; packed: next used desc */
    bool last_avail_wrap;       /* packed wrap counters */
    bool used_wrap;
    uint16_t signalled_used;    /* EVENT_IDX: used idx at the last interrupt */
    bool signalled_used_valid;
    uint16_t inuse;             /* popped, not yet pushed */
    /* packed: a virtqueue_fill batch not yet flushed */
    uint16_t pending_used;      /* descriptors it covers */
    uint16_t pending_flags;     /* the first element's flags */
    uint8_t *pending_first;     /* where they go */
    uint64_t pending_first_gpa; /* ... in guest memory (migration's log) */
    bool notification;          /* the device wants kicks (suppression off) */

    VirtIOHandleOutput handle_output;

    /* notifiers (virtio-pci.c): -1 when absent */
    int host_notifier_fd;       /* kick: ioeventfd, or the iothread path */
    GSource *host_notifier_src;
    GMainContext *host_notifier_ctx;
    IOThreadPoller poller;      /* busy polling in an iothread */
    bool poll_stalled;          /* the handler took nothing last time */
    bool poll_notify_off;       /* the iothread spins: kicks stay off */
    uint16_t poll_stall_idx;
    /* A kick that came while the VM was stopped: run at vm_start. */
    bool kick_deferred;         /* atomic */
};

/* ---- device classes ------------------------------------------------ */

typedef struct VirtioDeviceClass {
    uint16_t device_id;         /* VIRTIO_ID_* */
    uint16_t legacy_pci_device_id;   /* 0x1000 + n, for transitional */
    uint16_t pci_class_id;
    size_t config_size;
    /* Features the device offers (device-specific bits and ring bits). */
    uint64_t (*get_features)(VirtIODevice *vdev, uint64_t features);
    /* FEATURES_OK: refuse a combination (return false) or accept. */
    bool (*validate_features)(VirtIODevice *vdev);
    void (*set_features)(VirtIODevice *vdev, uint64_t features);
    void (*get_config)(VirtIODevice *vdev, uint8_t *config);
    void (*set_config)(VirtIODevice *vdev, const uint8_t *config);
    void (*set_status)(VirtIODevice *vdev, uint8_t status);
    void (*reset)(VirtIODevice *vdev);
    /* One queue is reset (VIRTIO_F_RING_RESET, legacy PFN 0), before its
     * state is cleared: drop what is in flight on it. */
    void (*queue_reset)(VirtIODevice *vdev, unsigned n);
} VirtioDeviceClass;

/* What the transport provides to the core. */
typedef struct VirtioTransportOps {
    /* Raise the interrupt of @vector (MSI-X) or the INTx line (ISR). */
    void (*notify)(VirtIODevice *vdev, uint16_t vector);
    /* The core reset the device (status 0 or NEEDS_RESET paths). */
    void (*reset)(VirtIODevice *vdev);
} VirtioTransportOps;

struct VirtIODevice {
    DeviceState *dev;           /* the device (transport proxy) */
    const VirtioDeviceClass *vdc;
    const char *name;
    const VirtioTransportOps *transport;

    uint8_t status;
    uint8_t isr;                /* bit 0 queue, bit 1 config (4.1.4.5) */
    uint16_t config_vector;
    uint8_t generation;         /* config_generation */
    bool broken;                /* NEEDS_RESET raised */
    bool legacy;                /* the driver uses the legacy interface */
    uint64_t host_features;
    uint64_t guest_features;

    size_t config_len;
    uint8_t *config;

    uint16_t nvqs;
    VirtQueue vq[VIRTIO_QUEUE_MAX];

    IOThread *iothread;         /* NULL: queues run on the main thread */
};

/* ---- life cycle (transport and device code) ----------------------- */

/*
 * Set up @vdev for device @vdc inside @dev.  @host_features are the
 * transport's bits (VERSION_1, packed, ...); the class adds its own.
 */
void virtio_init(VirtIODevice *vdev, DeviceState *dev,
                 const VirtioDeviceClass *vdc, const char *name,
                 const VirtioTransportOps *transport,
                 uint64_t host_features);
void virtio_cleanup(VirtIODevice *vdev);
VirtQueue *virtio_add_queue(VirtIODevice *vdev, uint16_t num_max,
                            VirtIOHandleOutput handler);
/* Device reset (status write of 0, transport reset). */
void virtio_reset(VirtIODevice *vdev);
/* Reset one queue (VIRTIO_F_RING_RESET, legacy PFN 0). */
void virtio_queue_reset(VirtIODevice *vdev, unsigned n);

static inline bool virtio_has_feature(uint64_t features, unsigned bit)
{
    return features & (1ULL << bit);
}
static inline bool virtio_vdev_has_feature(const VirtIODevice *vdev,
                                           unsigned bit)
{
    return virtio_has_feature(vdev->guest_features, bit);
}
static inline bool virtio_queue_packed(const VirtQueue *vq)
{
    return virtio_vdev_has_feature(vq->vdev, VIRTIO_F_RING_PACKED);
}

/* The driver wrote its features (legacy: directly; modern: they apply at
 * FEATURES_OK).  False when they include bits the device did not offer. */
bool virtio_set_features(VirtIODevice *vdev, uint64_t features);
/*
 * A status write.  Returns the status the device keeps: FEATURES_OK is
 * dropped when the features are refused; 0 resets the device.
 */
void virtio_set_status(VirtIODevice *vdev, uint8_t status);

/* Device configuration space access (little-endian fields). */
uint32_t virtio_config_read(VirtIODevice *vdev, uint32_t addr, unsigned size);
void virtio_config_write(VirtIODevice *vdev, uint32_t addr, uint32_t val,
                         unsigned size);
/* The device changed its configuration: new generation, interrupt. */
void virtio_notify_config(VirtIODevice *vdev);

/* A ring address / size set is usable: in RAM, the right alignment. */
bool virtio_queue_ready(const VirtQueue *vq);
/* Legacy (4096-aligned contiguous layout) from a page frame number. */
void virtio_queue_set_legacy_pfn(VirtQueue *vq, uint32_t pfn);

/* ---- data path (device code) -------------------------------------- */

/*
 * Take the next available chain into @elem.  False when the queue is
 * empty, disabled or broken; a malformed chain breaks the device
 * (virtio_error) and returns false.
 */
bool virtqueue_pop(VirtQueue *vq, VirtQueueElement *elem);
/* Give a chain back unused (the next pop sees it again). */
void virtqueue_unpop(VirtQueue *vq, const VirtQueueElement *elem);
/*
 * A batch of used elements published at once (virtio-net's mergeable
 * receive buffers, whose first buffer's header counts the others):
 * fill elements 0..n-1 in order, then flush n.  Nothing of the batch is
 * visible to the driver before the flush.
 */
void virtqueue_fill(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len, unsigned idx);
void virtqueue_flush(VirtQueue *vq, unsigned count);
/*
 * Give back an unflushed batch: @count filled elements covering @ndescs
 * ring slots (packed) become available again, as if never popped.
 */
void virtqueue_rewind_batch(VirtQueue *vq, unsigned count, unsigned ndescs);
/*
 * Device-writable bytes in the chains available now, counted up to
 * @limit, without taking any (a receive path's "how much can I take",
 * as chardev flow control asks).  @scratch is an element of the device's
 * that this overwrites.  A malformed chain breaks the device, as
 * virtqueue_pop would.
 */
size_t virtqueue_peek_in_bytes(VirtQueue *vq, VirtQueueElement *scratch,
                               size_t limit);
/* Return @elem to the driver with @len bytes written into it. */
void virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len);
/* Interrupt the driver for @vq unless it suppressed that (batch: call
 * once after the pushes of a queue run). */
void virtio_notify(VirtIODevice *vdev, VirtQueue *vq);
/* Ask for / suppress kicks of @vq. */
void virtio_queue_set_notification(VirtQueue *vq, bool enable);
/* Whether the avail ring holds entries the device has not taken. */
bool virtio_queue_empty(VirtQueue *vq);
/* Run queue @n's handler now (the thread that calls owns the queue). */
void virtio_queue_notify(VirtIODevice *vdev, unsigned n);
/*
 * The driver kicked queue @n through a register write (no ioeventfd):
 * signal the host notifier when one runs the queue (I/O thread), else
 * run the handler here.
 */
void virtio_queue_kick(VirtIODevice *vdev, unsigned n);

/*
 * Host notifiers: an eventfd per queue whose readiness runs the handler,
 * on the main loop or in the device's I/O thread.  The transport
 * registers the fd as an ioeventfd with KVM between start and stop.
 */
bool virtio_queue_host_notifier_start(VirtQueue *vq, GError **errp);
void virtio_queue_host_notifier_stop(VirtQueue *vq);

/*
 * The device found a guest error: log once, set NEEDS_RESET, stop every
 * queue until the driver resets the device, and tell the driver (config
 * interrupt) when it uses the modern interface.
 */
void virtio_error(VirtIODevice *vdev, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/* ---- state --------------------------------------------------------- */

extern const VMStateDescription vmstate_virtio_core;
/* Check loaded core state against the device (queue sizes, indices). */
bool virtio_core_post_load(VirtIODevice *vdev);

#endif
