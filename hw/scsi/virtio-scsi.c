/*
 * virtio-scsi-pci: the virtio SCSI host adapter, with a SCSI bus
 * (hw/scsi/scsi-bus.c) for scsi-hd and scsi-cd.
 *
 * Spec: OASIS VIRTIO 1.2, 5.6 "SCSI Host Device": device ID 8, queues
 * controlq (0), eventq (1) and num_queues request queues (2...); the
 * configuration layout of 5.6.4 (num_queues, seg_max, max_sectors,
 * cmd_per_lun, event_info_size, sense_size and cdb_size, which the
 * driver may set, max_channel, max_target, max_lun); the request header
 * of 5.6.6.1 (8-byte LUN: 1, target, flat LUN; tag; task attribute;
 * cdb[cdb_size]) and its response (sense_len, resid, status qualifier,
 * status, response, sense[sense_size]); task management functions and
 * asynchronous notification queries/subscriptions on the control queue
 * (5.6.6.2); events (5.6.6.3): VIRTIO_SCSI_T_PARAM_CHANGE with
 * VIRTIO_SCSI_F_CHANGE, VIRTIO_SCSI_T_ASYNC_NOTIFY for subscribed media
 * changes, VIRTIO_SCSI_T_TRANSPORT_RESET with VIRTIO_SCSI_F_HOTPLUG for
 * a scsi-hd/scsi-cd added (EVT_RESET_RESCAN) or removed
 * (EVT_RESET_REMOVED) by device_add/device_del, with the unit attention
 * REPORTED LUNS DATA HAS CHANGED on the other LUNs, as QEMU 7.2;
 * VIRTIO_SCSI_T_EVENTS_MISSED when the driver left no buffer.
 *
 * IDs (4.1.2): transitional 1af4:1004, modern 1af4:1048, class 0100
 * (SCSI storage controller), subsystem 0008.  Properties as QEMU's:
 * num_queues, virtqueue_size, max_sectors, cmd_per_lun, seg_max_adjust,
 * hotplug, param_change, iothread, vectors.  "-device virtio-scsi" is this type.
 *
 * Guest input is hostile: a request or response header that does not
 * fit the buffers, or an event buffer of the wrong shape, breaks the
 * device (NEEDS_RESET, as QEMU's "wrong size for virtio-scsi headers");
 * data buffers shorter than the CDB's transfer, or in the other
 * direction, get VIRTIO_SCSI_S_OVERRUN; data in both directions
 * (VIRTIO_SCSI_F_INOUT is not offered) VIRTIO_SCSI_S_FAILURE.
 *
 * Requests come from a pool that grows to what the driver keeps in
 * flight (at most the queue sizes) and is never freed while the device
 * exists: nothing is allocated per command once it is warm.  Data moves
 * between the guest's buffers (mapped by the virtio core) and the block
 * layer without a copy.  A task management function that aborts
 * commands with I/O in flight completes after those commands, each of
 * which completes with VIRTIO_SCSI_S_ABORTED.  A device reset with I/O in
 * flight lets the I/O finish but returns nothing to the driver.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/scsi/scsi.h"
#include "hw/virtio/guest-ram.h"
#include "system/main-loop.h"

#define TYPE_VIRTIO_SCSI_PCI    "virtio-scsi-pci"

/* Limits (QEMU's values). */
#define VIRTIO_SCSI_CTRL_VQ_SIZE    128
#define VIRTIO_SCSI_MAX_CHANNEL     0
#define VIRTIO_SCSI_MAX_TARGET      255
#define VIRTIO_SCSI_MAX_LUN         16383
#define VIRTIO_SCSI_CDB_DEFAULT     32
#define VIRTIO_SCSI_SENSE_DEFAULT   96
#define VIRTIO_SCSI_CDB_MAX         255     /* cdb_size must be < 256 */
#define VIRTIO_SCSI_MAX_QUEUES      (VIRTIO_QUEUE_MAX - 2)

/* Feature bits (5.6.3). */
#define VIRTIO_SCSI_F_INOUT         0
#define VIRTIO_SCSI_F_HOTPLUG       1
#define VIRTIO_SCSI_F_CHANGE        2

/* Configuration (5.6.4), little-endian. */
#define VSC_NUM_QUEUES      0
#define VSC_SEG_MAX         4
#define VSC_MAX_SECTORS     8
#define VSC_CMD_PER_LUN     12
#define VSC_EVENT_INFO_SIZE 16
#define VSC_SENSE_SIZE      20
#define VSC_CDB_SIZE        24
#define VSC_MAX_CHANNEL     28
#define VSC_MAX_TARGET      30
#define VSC_MAX_LUN         32
#define VSC_CONFIG_SIZE     36

/* Request and response headers (5.6.6.1). */
#define VS_REQ_HDR          19      /* lun 8, id 8, attr, prio, crn */
#define VS_RESP_HDR         12      /* sense_len, resid, qualifier, status,
                                       response */
/* Response codes. */
#define VIRTIO_SCSI_S_OK                0
#define VIRTIO_SCSI_S_FUNCTION_COMPLETE 0
#define VIRTIO_SCSI_S_OVERRUN           1
#define VIRTIO_SCSI_S_ABORTED           2
#define VIRTIO_SCSI_S_BAD_TARGET        3
#define VIRTIO_SCSI_S_RESET             4
#define VIRTIO_SCSI_S_BUSY              5
#define VIRTIO_SCSI_S_TRANSPORT_FAILURE 6
#define VIRTIO_SCSI_S_TARGET_FAILURE    7
#define VIRTIO_SCSI_S_NEXUS_FAILURE     8
#define VIRTIO_SCSI_S_FAILURE           9
#define VIRTIO_SCSI_S_FUNCTION_SUCCEEDED 10
#define VIRTIO_SCSI_S_FUNCTION_REJECTED 11
#define VIRTIO_SCSI_S_INCORRECT_LUN     12

/* Control queue (5.6.6.2). */
#define VIRTIO_SCSI_T_TMF               0
#define VIRTIO_SCSI_T_AN_QUERY          1
#define VIRTIO_SCSI_T_AN_SUBSCRIBE      2
#define VIRTIO_SCSI_T_TMF_ABORT_TASK        0
#define VIRTIO_SCSI_T_TMF_ABORT_TASK_SET    1
#define VIRTIO_SCSI_T_TMF_CLEAR_ACA         2
#define VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET    3
#define VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET   4
#define VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET 5
#define VIRTIO_SCSI_T_TMF_QUERY_TASK        6
#define VIRTIO_SCSI_T_TMF_QUERY_TASK_SET    7
#define VS_TMF_REQ          24      /* type, subtype, lun, id */
#define VS_AN_REQ           16      /* type, lun, event_requested */
#define VS_AN_RESP          5       /* event_actual, response */
#define VIRTIO_SCSI_EVT_ASYNC_MEDIA_CHANGE  16

/* Events (5.6.6.3). */
#define VIRTIO_SCSI_T_NO_EVENT          0
#define VIRTIO_SCSI_T_TRANSPORT_RESET   1
#define VIRTIO_SCSI_T_ASYNC_NOTIFY      2
#define VIRTIO_SCSI_T_PARAM_CHANGE      3
#define VIRTIO_SCSI_T_EVENTS_MISSED     0x80000000u
#define VIRTIO_SCSI_EVT_RESET_RESCAN    1
#define VIRTIO_SCSI_EVT_RESET_REMOVED   2
#define VS_EVENT_SIZE       16      /* event, lun, reason */

typedef struct VirtIOSCSI VirtIOSCSI;

typedef struct VirtIOSCSIReq {
    VirtIOSCSI *s;
    VirtQueue *vq;
    struct VirtIOSCSIReq *next, *prev;  /* in flight; free list: next */
    bool orphaned;          /* the device was reset: never pushed */
    bool aborted;           /* a TMF aborted it: VIRTIO_SCSI_S_ABORTED */
    struct VirtIOSCSIReq *tmf;      /* the TMF waiting for this one */
    unsigned tmf_waiting;   /* (a TMF) aborted commands still running */
    uint8_t tmf_response;
    uint32_t sense_size;    /* as configured when the request came */
    size_t resp_size;
    size_t data_size;       /* the data buffers, for resid */
    /* the element's iovec entries trimmed to the data (restored before
     * the response is written) */
    struct iovec *cut_first, *cut_last;
    struct iovec cut_first_orig, cut_last_orig;
    SCSIRequest sreq;
    VirtQueueElement elem;
} VirtIOSCSIReq;

struct VirtIOSCSI {
    VirtIODevice vdev;

    /* properties */
    uint32_t num_queues;
    uint32_t virtqueue_size;
    uint32_t max_sectors;
    uint32_t cmd_per_lun;
    bool seg_max_adjust;
    bool hotplug;
    bool param_change;
    uint32_t vectors;

    SCSIBus bus;
    HotplugHandler hp;          /* device_add/device_del on the bus */
    VirtQueue *ctrl_vq, *event_vq;

    /* driver-settable configuration (state) */
    uint32_t sense_size;
    uint32_t cdb_size;
    bool events_dropped;
    uint32_t an_subscribed;     /* AN event classes the driver asked for */

    VirtIOSCSIReq *free_reqs;
    VirtIOSCSIReq *inflight;    /* head of the in-flight list */
    unsigned inflight_count;
    GPtrArray *all_reqs;        /* every request allocated (freed at end) */
    bool started;               /* DRIVER_OK seen since the last reset */
    bool in_handler;            /* completions batch their interrupt */
    uint64_t notify_pending;    /* queues to interrupt after the batch */
    VirtQueueElement event_elem;
};

typedef struct VirtIOSCSIPCI {
    VirtIOPCIProxy proxy;
    VirtIOSCSI scsi;
} VirtIOSCSIPCI;

static unsigned next_anonymous_bus;

/* ---- the request pool ------------------------------------------------------ */

static VirtIOSCSIReq *req_get(VirtIOSCSI *s, VirtQueue *vq)
{
    VirtIOSCSIReq *r = s->free_reqs;

    if (r) {
        s->free_reqs = r->next;
    } else {
        /* Only until the pool covers what the driver keeps in flight. */
        r = g_new(VirtIOSCSIReq, 1);
        g_ptr_array_add(s->all_reqs, r);
    }
    r->s = s;
    r->vq = vq;
    r->next = r->prev = NULL;
    r->orphaned = r->aborted = false;
    r->tmf = NULL;
    r->tmf_waiting = 0;
    r->cut_first = r->cut_last = NULL;
    return r;
}

static void req_put(VirtIOSCSIReq *r)
{
    VirtIOSCSI *s = r->s;

    r->next = s->free_reqs;
    s->free_reqs = r;
}

static void inflight_add(VirtIOSCSI *s, VirtIOSCSIReq *r)
{
    r->prev = NULL;
    r->next = s->inflight;
    if (s->inflight) {
        s->inflight->prev = r;
    }
    s->inflight = r;
    s->inflight_count++;
}

static void inflight_remove(VirtIOSCSI *s, VirtIOSCSIReq *r)
{
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        s->inflight = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    r->next = r->prev = NULL;
    s->inflight_count--;
}

/* ---- pushing back ------------------------------------------------------------ */

/*
 * Pushing maps ring addresses through the guest RAM table: a queue run
 * holds its read lock (or the big lock), but an I/O completion or a
 * monitor change in an I/O thread comes outside one and takes it here.
 */
static bool vs_ram_enter(VirtIOSCSI *s)
{
    if (s->in_handler || bql_locked()) {
        return false;
    }
    guest_ram_read_lock();
    return true;
}

static void vs_ram_exit(bool locked)
{
    if (locked) {
        guest_ram_read_unlock();
    }
}

static void vs_notify(VirtIOSCSI *s, VirtQueue *vq)
{
    if (s->in_handler) {
        s->notify_pending |= 1ULL << vq->index;
    } else {
        virtio_notify(&s->vdev, vq);
    }
}

static void vs_flush_notify(VirtIOSCSI *s)
{
    uint64_t pending = s->notify_pending;

    s->notify_pending = 0;
    for (unsigned i = 0; pending; i++, pending >>= 1) {
        if (pending & 1) {
            virtio_notify(&s->vdev, &s->vdev.vq[i]);
        }
    }
}

static void req_push(VirtIOSCSIReq *r, const void *resp, size_t len,
                     size_t used)
{
    VirtIOSCSI *s = r->s;

    virtqueue_elem_from_buf(&r->elem, 0, resp, len);
    virtqueue_push(r->vq, &r->elem, used);
    vs_notify(s, r->vq);
}

/* ---- the data buffers ---------------------------------------------------------- */

/*
 * Point req->sreq's iovec at @len bytes of @iov[0..@n) from @skip on,
 * in place: the first and last entries are trimmed and their original
 * values kept for vs_data_restore.
 */
static void vs_data_cut(VirtIOSCSIReq *r, struct iovec *iov, unsigned n,
                        size_t skip, size_t len)
{
    SCSIRequest *sreq = &r->sreq;
    unsigned i = 0, first;

    sreq->iov = NULL;
    sreq->niov = 0;
    sreq->iov_size = len;
    if (!len) {
        return;
    }
    while (i < n && skip >= iov[i].iov_len) {
        skip -= iov[i++].iov_len;
    }
    first = i;
    r->cut_first = &iov[first];
    r->cut_first_orig = iov[first];
    iov[first].iov_base = (uint8_t *)iov[first].iov_base + skip;
    iov[first].iov_len -= skip;
    while (i < n && len > iov[i].iov_len) {
        len -= iov[i++].iov_len;
    }
    /* the caller checked the buffers hold @len bytes past @skip */
    r->cut_last = &iov[i];
    r->cut_last_orig = i == first ? r->cut_first_orig : iov[i];
    iov[i].iov_len = len;
    sreq->iov = &iov[first];
    sreq->niov = i - first + 1;
}

static void vs_data_restore(VirtIOSCSIReq *r)
{
    if (r->cut_last) {
        *r->cut_last = r->cut_last_orig;
    }
    if (r->cut_first) {
        *r->cut_first = r->cut_first_orig;
    }
    r->cut_first = r->cut_last = NULL;
}

/* ---- command requests ------------------------------------------------------------ */

static void vs_cmd_respond(VirtIOSCSIReq *r, uint8_t response)
{
    uint8_t resp[VS_RESP_HDR] = { 0 };

    resp[11] = response;
    stl_le_p(resp + 4, r->data_size);       /* resid: nothing moved */
    req_push(r, resp, sizeof(resp), r->resp_size);
    req_put(r);
}

/* The SCSI layer finished a command (now or from an I/O completion). */
static void vs_command_complete(SCSIRequest *sreq)
{
    VirtIOSCSIReq *r = container_of(sreq, VirtIOSCSIReq, sreq);
    VirtIOSCSI *s = r->s;
    uint8_t resp[VS_RESP_HDR + SCSI_SENSE_LEN] = { 0 };
    uint32_t sense_len = MIN(sreq->sense_len, r->sense_size);
    VirtIOSCSIReq *tmf = r->tmf;
    bool locked = vs_ram_enter(s);

    inflight_remove(s, r);
    vs_data_restore(r);
    if (!r->orphaned) {
        stl_le_p(resp, sense_len);
        stl_le_p(resp + 4, r->data_size - MIN(sreq->xferred, r->data_size));
        resp[10] = sreq->status;
        resp[11] = r->aborted ? VIRTIO_SCSI_S_ABORTED : VIRTIO_SCSI_S_OK;
        memcpy(resp + VS_RESP_HDR, sreq->sense, sense_len);
        req_push(r, resp, VS_RESP_HDR + sense_len,
                 r->resp_size + (sreq->mode == SCSI_XFER_FROM_DEV ?
                                 sreq->xferred : 0));
    }
    req_put(r);
    if (tmf && !--tmf->tmf_waiting) {
        uint8_t response = tmf->tmf_response;
        if (tmf->orphaned) {
            req_put(tmf);
        } else {
            req_push(tmf, &response, 1, 1);
            req_put(tmf);
        }
    }
    vs_ram_exit(locked);
}

/* A LUN field (5.6.6.1): 1, target, then a flat-space LUN; false when
 * it names nothing this bus can have. */
static bool vs_decode_lun(const uint8_t *lun, unsigned *target,
                          unsigned *id)
{
    if (lun[0] != 1) {
        return false;
    }
    if (lun[2] != 0 && !(lun[2] >= 0x40 && lun[2] < 0x80)) {
        return false;
    }
    *target = lun[1];
    *id = ((lun[2] << 8) | lun[3]) & 0x3fff;
    return true;
}

static void vs_handle_cmd_req(VirtIOSCSI *s, VirtIOSCSIReq *r)
{
    VirtQueueElement *e = &r->elem;
    size_t out = virtqueue_elem_out_size(e), in = virtqueue_elem_in_size(e);
    size_t req_size = VS_REQ_HDR + s->cdb_size;
    uint8_t hdr[VS_REQ_HDR + VIRTIO_SCSI_CDB_MAX];
    size_t data_out, data_in;
    SCSIRequest *sreq = &r->sreq;
    SCSIXferMode have;
    unsigned target, lun;

    r->sense_size = s->sense_size;
    r->resp_size = VS_RESP_HDR + s->sense_size;
    if (out < req_size || in < r->resp_size) {
        virtio_error(&s->vdev, "wrong size for virtio-scsi headers");
        req_put(r);
        return;
    }
    virtqueue_elem_to_buf(e, 0, hdr, req_size);
    data_out = out - req_size;
    data_in = in - r->resp_size;
    r->data_size = data_out + data_in;
    if (data_out && data_in) {
        vs_cmd_respond(r, VIRTIO_SCSI_S_FAILURE);   /* no F_INOUT */
        return;
    }
    if (!vs_decode_lun(hdr, &target, &lun) ||
        !scsi_req_init(sreq, &s->bus, target, lun, ldq_le_p(hdr + 8),
                       hdr + VS_REQ_HDR, s->cdb_size)) {
        vs_cmd_respond(r, VIRTIO_SCSI_S_BAD_TARGET);
        return;
    }
    have = data_in ? SCSI_XFER_FROM_DEV : data_out ? SCSI_XFER_TO_DEV
                                                   : SCSI_XFER_NONE;
    if (scsi_req_parse(sreq, s->cdb_size) && sreq->mode != SCSI_XFER_NONE &&
        (sreq->mode != have || sreq->xfer > r->data_size)) {
        vs_cmd_respond(r, VIRTIO_SCSI_S_OVERRUN);
        return;
    }
    sreq->iov_mode = sreq->mode;
    if (sreq->mode == SCSI_XFER_FROM_DEV) {
        vs_data_cut(r, virtqueue_elem_in(e), e->in_num, r->resp_size,
                    sreq->xfer);
    } else if (sreq->mode == SCSI_XFER_TO_DEV) {
        vs_data_cut(r, e->sg, e->out_num, req_size, sreq->xfer);
    } else {
        vs_data_cut(r, NULL, 0, 0, 0);
    }
    inflight_add(s, r);
    scsi_req_submit(sreq);
}

static void vs_handle_cmd(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;     /* buffers posted before DRIVER_OK wait for it */
    }
    s->in_handler = true;
    scsi_bus_io_plug(&s->bus);
    for (;;) {
        VirtIOSCSIReq *r = req_get(s, vq);
        if (!virtqueue_pop(vq, &r->elem)) {
            req_put(r);
            break;
        }
        vs_handle_cmd_req(s, r);
        if (vdev->broken) {
            break;
        }
    }
    scsi_bus_io_unplug(&s->bus);
    s->in_handler = false;
    vs_flush_notify(s);
}

/* ---- task management and notifications -------------------------------------- */

/* Abort @r on behalf of @tmf: a request held after an error stop
 * completes now (it has no I/O running), one with I/O in flight when that
 * I/O ends, and the TMF waits for it. */
static void vs_abort(VirtIOSCSIReq *r, VirtIOSCSIReq *tmf)
{
    SCSIDevice *dev = r->sreq.dev;

    r->aborted = true;
    if (r->sreq.stopped) {
        dev->ops->purge(dev, &r->sreq);
        r->sreq.status = SCSI_STATUS_GOOD;
        r->sreq.sense_len = 0;
        vs_command_complete(&r->sreq);
        return;
    }
    if (r->sreq.in_flight) {
        r->sreq.io_canceled = true;     /* a chain of I/Os stops early */
        r->tmf = tmf;
        tmf->tmf_waiting++;
    }
}

static bool vs_req_matches(VirtIOSCSIReq *r, unsigned target, unsigned lun,
                           bool whole_target)
{
    return r->sreq.dev && r->sreq.target == target &&
           (whole_target || r->sreq.lun == lun);
}

static void vs_abort_matching(VirtIOSCSI *s, VirtIOSCSIReq *tmf,
                              unsigned target, unsigned lun,
                              bool whole_target, bool by_tag, uint64_t tag)
{
    for (VirtIOSCSIReq *r = s->inflight, *next; r; r = next) {
        next = r->next;     /* vs_abort may complete (unlink) @r */
        if (r->aborted || !vs_req_matches(r, target, lun, whole_target) ||
            (by_tag && r->sreq.tag != tag)) {
            continue;
        }
        vs_abort(r, tmf);
    }
}

static bool vs_any_matching(VirtIOSCSI *s, unsigned target, unsigned lun,
                            bool by_tag, uint64_t tag)
{
    for (VirtIOSCSIReq *r = s->inflight; r; r = r->next) {
        if (!r->aborted && vs_req_matches(r, target, lun, false) &&
            (!by_tag || r->sreq.tag == tag)) {
            return true;
        }
    }
    return false;
}

static void vs_reset_devices(VirtIOSCSI *s, unsigned target, unsigned lun,
                             bool whole_target)
{
    for (unsigned i = 0; i < s->bus.devices->len; i++) {
        SCSIDevice *d = g_ptr_array_index(s->bus.devices, i);
        if ((unsigned)d->id == target &&
            (whole_target || (unsigned)d->lun == lun)) {
            device_reset(DEVICE(d));
        }
    }
}

/* Returns the response; the TMF may have to wait for aborted commands. */
static uint8_t vs_do_tmf(VirtIOSCSI *s, VirtIOSCSIReq *tmf,
                         const uint8_t *hdr)
{
    uint32_t subtype = ldl_le_p(hdr + 4);
    uint64_t tag = ldq_le_p(hdr + 16);
    unsigned target, lun;

    if (!vs_decode_lun(hdr + 8, &target, &lun) ||
        !scsi_target_exists(&s->bus, target)) {
        return VIRTIO_SCSI_S_BAD_TARGET;
    }
    switch (subtype) {
    case VIRTIO_SCSI_T_TMF_ABORT_TASK:
    case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
    case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
        if (!scsi_device_find(&s->bus, target, lun)) {
            return VIRTIO_SCSI_S_INCORRECT_LUN;
        }
        vs_abort_matching(s, tmf, target, lun, false,
                          subtype == VIRTIO_SCSI_T_TMF_ABORT_TASK, tag);
        return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
    case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
        if (!scsi_device_find(&s->bus, target, lun)) {
            return VIRTIO_SCSI_S_INCORRECT_LUN;
        }
        vs_abort_matching(s, tmf, target, lun, false, false, 0);
        vs_reset_devices(s, target, lun, false);
        return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
    case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
        vs_abort_matching(s, tmf, target, lun, true, false, 0);
        vs_reset_devices(s, target, lun, true);
        return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
    case VIRTIO_SCSI_T_TMF_CLEAR_ACA:
        return VIRTIO_SCSI_S_FUNCTION_COMPLETE;     /* no ACA here */
    case VIRTIO_SCSI_T_TMF_QUERY_TASK:
    case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
        if (!scsi_device_find(&s->bus, target, lun)) {
            return VIRTIO_SCSI_S_INCORRECT_LUN;
        }
        return vs_any_matching(s, target, lun,
                               subtype == VIRTIO_SCSI_T_TMF_QUERY_TASK, tag)
               ? VIRTIO_SCSI_S_FUNCTION_SUCCEEDED
               : VIRTIO_SCSI_S_FUNCTION_COMPLETE;
    default:
        return VIRTIO_SCSI_S_FUNCTION_REJECTED;
    }
}

/* Asynchronous notification: media change, for CD-ROM LUNs. */
static void vs_do_an(VirtIOSCSI *s, VirtIOSCSIReq *r, const uint8_t *hdr,
                     bool subscribe)
{
    uint8_t resp[VS_AN_RESP] = { 0 };
    uint32_t requested = ldl_le_p(hdr + 12);
    uint32_t actual = 0;
    unsigned target, lun;
    SCSIDevice *d = NULL;

    if (!vs_decode_lun(hdr + 4, &target, &lun) ||
        !scsi_target_exists(&s->bus, target)) {
        resp[4] = VIRTIO_SCSI_S_BAD_TARGET;
    } else {
        d = scsi_device_find(&s->bus, target, lun);
        if (d && d->type == SCSI_TYPE_ROM) {
            actual = requested & VIRTIO_SCSI_EVT_ASYNC_MEDIA_CHANGE;
        }
        if (subscribe) {
            s->an_subscribed |= actual;
        }
        resp[4] = VIRTIO_SCSI_S_OK;
    }
    stl_le_p(resp, actual);
    req_push(r, resp, sizeof(resp), sizeof(resp));
    req_put(r);
}

static void vs_handle_ctrl_req(VirtIOSCSI *s, VirtIOSCSIReq *r)
{
    VirtQueueElement *e = &r->elem;
    size_t out = virtqueue_elem_out_size(e), in = virtqueue_elem_in_size(e);
    uint8_t hdr[VS_TMF_REQ];
    uint32_t type;

    if (out < 4 || in < 1) {
        goto bad;
    }
    virtqueue_elem_to_buf(e, 0, hdr, MIN(out, sizeof(hdr)));
    type = ldl_le_p(hdr);
    switch (type) {
    case VIRTIO_SCSI_T_TMF: {
        uint8_t response;
        if (out < VS_TMF_REQ) {
            goto bad;
        }
        r->tmf_waiting = 0;
        response = vs_do_tmf(s, r, hdr);
        if (r->tmf_waiting) {
            /* pushed by the last aborted command's completion */
            r->tmf_response = response;
            return;
        }
        req_push(r, &response, 1, 1);
        req_put(r);
        return;
    }
    case VIRTIO_SCSI_T_AN_QUERY:
    case VIRTIO_SCSI_T_AN_SUBSCRIBE:
        if (out < VS_AN_REQ || in < VS_AN_RESP) {
            goto bad;
        }
        vs_do_an(s, r, hdr, type == VIRTIO_SCSI_T_AN_SUBSCRIBE);
        return;
    default: {
        uint8_t response = VIRTIO_SCSI_S_FAILURE;
        req_push(r, &response, 1, 1);
        req_put(r);
        return;
    }
    }
bad:
    virtio_error(&s->vdev, "wrong size for virtio-scsi headers");
    req_put(r);
}

static void vs_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    s->in_handler = true;
    for (;;) {
        VirtIOSCSIReq *r = req_get(s, vq);
        if (!virtqueue_pop(vq, &r->elem)) {
            req_put(r);
            break;
        }
        vs_handle_ctrl_req(s, r);
        if (vdev->broken) {
            break;
        }
    }
    s->in_handler = false;
    vs_flush_notify(s);
}

/* ---- events ------------------------------------------------------------------- */

/* Put an event in the driver's next event buffer; without one, remember
 * that one was lost (VIRTIO_SCSI_T_EVENTS_MISSED on the next). */
static void vs_push_event(VirtIOSCSI *s, SCSIDevice *dev, uint32_t event,
                          uint32_t reason)
{
    VirtIODevice *vdev = &s->vdev;
    VirtQueueElement *e = &s->event_elem;
    uint8_t evt[VS_EVENT_SIZE] = { 0 };
    bool locked;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) || vdev->broken) {
        return;
    }
    locked = vs_ram_enter(s);
    if (!virtqueue_pop(s->event_vq, e)) {
        s->events_dropped = true;
        vs_ram_exit(locked);
        return;
    }
    if (e->out_num || virtqueue_elem_in_size(e) < VS_EVENT_SIZE) {
        virtio_error(vdev, "wrong size for virtio-scsi event buffer");
        vs_ram_exit(locked);
        return;
    }
    if (s->events_dropped) {
        event |= VIRTIO_SCSI_T_EVENTS_MISSED;
        s->events_dropped = false;
    }
    stl_le_p(evt, event);
    if (dev) {
        evt[4] = 1;
        evt[5] = dev->id;
        evt[6] = (dev->lun >> 8) | 0x40;
        evt[7] = dev->lun & 0xff;
    }
    stl_le_p(evt + 12, reason);
    virtqueue_elem_from_buf(e, 0, evt, sizeof(evt));
    virtqueue_push(s->event_vq, e, sizeof(evt));
    vs_notify(s, s->event_vq);
    vs_ram_exit(locked);
}

static void vs_handle_event(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && s->events_dropped) {
        s->in_handler = true;
        vs_push_event(s, NULL, VIRTIO_SCSI_T_NO_EVENT, 0);
        s->in_handler = false;
        vs_flush_notify(s);
    }
}

/* A device reported a change (scsi_device_report_change). */
static void vs_change(SCSIBus *bus, SCSIDevice *dev, SCSISense sense)
{
    VirtIOSCSI *s = bus->hba;

    if (dev->type == SCSI_TYPE_ROM) {
        if (s->an_subscribed & VIRTIO_SCSI_EVT_ASYNC_MEDIA_CHANGE) {
            vs_push_event(s, dev, VIRTIO_SCSI_T_ASYNC_NOTIFY,
                          VIRTIO_SCSI_EVT_ASYNC_MEDIA_CHANGE);
        }
        return;
    }
    if (virtio_vdev_has_feature(&s->vdev, VIRTIO_SCSI_F_CHANGE) &&
        sense.key == SENSE_UNIT_ATTENTION) {
        vs_push_event(s, dev, VIRTIO_SCSI_T_PARAM_CHANGE,
                      sense.asc | (sense.ascq << 8));
    }
}

/* ---- hotplug of SCSI devices ------------------------------------------------ */

typedef struct HotplugEvent {
    VirtIOSCSI *s;
    SCSIDevice *dev;
    uint32_t reason;
} HotplugEvent;

static void vs_hotplug_event_sync(void *opaque)
{
    HotplugEvent *e = opaque;

    vs_push_event(e->s, e->dev, VIRTIO_SCSI_T_TRANSPORT_RESET, e->reason);
}

/* With VIRTIO_SCSI_F_HOTPLUG: the transport reset event for @dev, and
 * the other LUNs report that the LUN inventory changed (QEMU 7.2). */
static void vs_announce_hotplug(VirtIOSCSI *s, SCSIDevice *dev,
                                uint32_t reason)
{
    HotplugEvent e = { s, dev, reason };

    if (!virtio_vdev_has_feature(&s->vdev, VIRTIO_SCSI_F_HOTPLUG)) {
        return;
    }
    scsi_bus_run_sync(&s->bus, vs_hotplug_event_sync, &e);
    scsi_bus_set_ua(&s->bus, dev, SENSE_CODE_REPORTED_LUNS_CHANGED);
}

static bool vs_hotplug_plug(HotplugHandler *h, DeviceState *d, GError **errp)
{
    VirtIOSCSI *s = h->opaque;
    SCSIDevice *dev = (SCSIDevice *)d;

    (void)errp;
    scsi_bus_attach_hotplugged(dev);
    vs_announce_hotplug(s, dev, VIRTIO_SCSI_EVT_RESET_RESCAN);
    return true;
}

/* Synchronous, as QEMU's: the LUN is gone when device_del returns (and
 * DEVICE_DELETED is sent); commands it was running finish first, those
 * held by an error stop fail. */
static void vs_hotplug_unplug(HotplugHandler *h, DeviceState *d)
{
    VirtIOSCSI *s = h->opaque;
    SCSIDevice *dev = (SCSIDevice *)d;

    vs_announce_hotplug(s, dev, VIRTIO_SCSI_EVT_RESET_REMOVED);
    scsi_bus_detach(dev, SENSE_CODE_LUN_NOT_SUPPORTED);
}

static const SCSIBusInfo vs_bus_info = {
    .max_channel = VIRTIO_SCSI_MAX_CHANNEL,
    .max_target = VIRTIO_SCSI_MAX_TARGET,
    .max_lun = VIRTIO_SCSI_MAX_LUN,
    .complete = vs_command_complete,
    .change = vs_change,
};

/* ---- configuration, features, reset ------------------------------------------ */

static void vs_get_config(VirtIODevice *vdev, uint8_t *c)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    memset(c, 0, VSC_CONFIG_SIZE);
    stl_le_p(c + VSC_NUM_QUEUES, s->num_queues);
    stl_le_p(c + VSC_SEG_MAX, s->seg_max_adjust ? s->virtqueue_size - 2
                                                : 128 - 2);
    stl_le_p(c + VSC_MAX_SECTORS, s->max_sectors);
    stl_le_p(c + VSC_CMD_PER_LUN, s->cmd_per_lun);
    stl_le_p(c + VSC_EVENT_INFO_SIZE, VS_EVENT_SIZE);
    stl_le_p(c + VSC_SENSE_SIZE, s->sense_size);
    stl_le_p(c + VSC_CDB_SIZE, s->cdb_size);
    stw_le_p(c + VSC_MAX_CHANNEL, VIRTIO_SCSI_MAX_CHANNEL);
    stw_le_p(c + VSC_MAX_TARGET, VIRTIO_SCSI_MAX_TARGET);
    stl_le_p(c + VSC_MAX_LUN, VIRTIO_SCSI_MAX_LUN);
}

/* The driver may set sense_size and cdb_size (5.6.4). */
static void vs_set_config(VirtIODevice *vdev, const uint8_t *c)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;
    uint32_t sense = ldl_le_p(c + VSC_SENSE_SIZE);
    uint32_t cdb = ldl_le_p(c + VSC_CDB_SIZE);

    if (sense >= 65536 || cdb > VIRTIO_SCSI_CDB_MAX) {
        virtio_error(vdev, "bad data written to virtio-scsi configuration "
                     "space");
        return;
    }
    s->sense_size = sense;
    s->cdb_size = cdb;
}

static uint64_t vs_get_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    if (s->param_change) {
        features |= 1ULL << VIRTIO_SCSI_F_CHANGE;
    }
    if (s->hotplug) {
        features |= 1ULL << VIRTIO_SCSI_F_HOTPLUG;
    }
    return features;
}

static void vs_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    /*
     * Buffers posted before DRIVER_OK, once: the transport starts the
     * queues' notifiers (and an I/O thread's handling) only after this,
     * so running the handlers here cannot race that thread.
     */
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !s->started) {
        s->started = true;
        vs_handle_ctrl(vdev, s->ctrl_vq);
        for (unsigned i = 0; i < s->num_queues; i++) {
            vs_handle_cmd(vdev, &vdev->vq[2 + i]);
        }
    }
}

/*
 * In the thread requests run in: nothing in flight is returned to the
 * driver any more (its I/O still finishes into the buffers the core
 * mapped; RAM stays mapped while the machine runs), held requests are
 * dropped, the SCSI devices are reset (unit attention), as QEMU's bus
 * reset.
 */
static void vs_reset_sync(void *opaque)
{
    VirtIOSCSI *s = opaque;

    for (unsigned i = 0; i < s->bus.devices->len; i++) {
        SCSIDevice *d = g_ptr_array_index(s->bus.devices, i);
        if (d->ops->purge) {
            d->ops->purge(d, NULL);
        }
    }
    for (VirtIOSCSIReq *r = s->inflight, *next; r; r = next) {
        next = r->next;
        r->orphaned = true;
        r->sreq.io_canceled = true;
        if (r->tmf) {
            r->tmf->orphaned = true;
        }
        if (!r->sreq.in_flight) {
            /* held after an error stop (purged above): no I/O runs */
            inflight_remove(s, r);
            vs_data_restore(r);
            req_put(r);
        }
    }
    for (unsigned i = 0; i < s->bus.devices->len; i++) {
        device_reset(DEVICE(g_ptr_array_index(s->bus.devices, i)));
    }
    s->sense_size = VIRTIO_SCSI_SENSE_DEFAULT;
    s->cdb_size = VIRTIO_SCSI_CDB_DEFAULT;
    s->events_dropped = false;
    s->an_subscribed = 0;
    s->notify_pending = 0;
    s->started = false;
}

static void vs_reset(VirtIODevice *vdev)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    scsi_bus_run_sync(&s->bus, vs_reset_sync, s);
}

static bool vs_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;
    VirtIOSCSIPCI *d = container_of(s, VirtIOSCSIPCI, scsi);
    DeviceState *dev = DEVICE(d);
    int devfn = d->proxy.pci.devfn;
    g_autofree char *name = NULL, *fw = NULL;

    if (s->num_queues == 0 || s->num_queues > VIRTIO_SCSI_MAX_QUEUES) {
        error_setg(errp, "Invalid number of queues (= %" PRIu32 "), must "
                   "be a positive integer less than %d.", s->num_queues,
                   VIRTIO_SCSI_MAX_QUEUES + 1);
        return false;
    }
    if (s->virtqueue_size <= 2 || s->virtqueue_size > VIRTQUEUE_MAX_SIZE) {
        error_setg(errp, "Invalid virtqueue_size (= %" PRIu32 "), must be "
                   "greater than 2 and at most %d", s->virtqueue_size,
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    /* the transport checked its own default (0); the device's is
     * num_queues + 3, as QEMU's */
    d->proxy.nvectors = s->vectors == UINT32_MAX ? s->num_queues + 3
                                                 : s->vectors;
    if (d->proxy.nvectors > VIRTIO_PCI_MAX_VECTORS) {
        error_setg(errp, "vectors: at most %u", VIRTIO_PCI_MAX_VECTORS);
        return false;
    }
    s->ctrl_vq = virtio_add_queue(vdev, VIRTIO_SCSI_CTRL_VQ_SIZE,
                                  vs_handle_ctrl);
    s->event_vq = virtio_add_queue(vdev, VIRTIO_SCSI_CTRL_VQ_SIZE,
                                   vs_handle_event);
    for (unsigned i = 0; i < s->num_queues; i++) {
        virtio_add_queue(vdev, s->virtqueue_size, vs_handle_cmd);
    }
    s->all_reqs = g_ptr_array_new_with_free_func(g_free);
    s->sense_size = VIRTIO_SCSI_SENSE_DEFAULT;
    s->cdb_size = VIRTIO_SCSI_CDB_DEFAULT;
    name = dev->id ? g_strdup_printf("%s.0", dev->id)
                   : g_strdup_printf("scsi.%u", next_anonymous_bus++);
    fw = PCI_FUNC(devfn) ? g_strdup_printf("/pci@i0cf8/scsi@%x,%x",
                                           PCI_SLOT(devfn), PCI_FUNC(devfn))
                         : g_strdup_printf("/pci@i0cf8/scsi@%x",
                                           PCI_SLOT(devfn));
    scsi_bus_init(&s->bus, &vs_bus_info, s, name, fw);
    s->bus.iothread = vdev->iothread;
    s->hp = (HotplugHandler){ .opaque = s, .plug = vs_hotplug_plug,
                              .unplug = vs_hotplug_unplug };
    scsi_bus_set_hotplug_handler(&s->bus, &s->hp);
    return true;
}

static void vs_unrealize(VirtIODevice *vdev)
{
    VirtIOSCSI *s = (VirtIOSCSI *)vdev;

    /* Held requests go; I/O still in flight writes into requests: let
     * it finish (orphaned: nothing is pushed any more). */
    scsi_bus_run_sync(&s->bus, vs_reset_sync, s);
    while (s->inflight_count && !s->bus.iothread) {
        g_main_context_iteration(NULL, TRUE);
    }
    while (s->inflight_count) {
        g_usleep(100);
    }
    scsi_bus_cleanup(&s->bus);
    if (s->all_reqs) {
        g_ptr_array_free(s->all_reqs, true);
        s->all_reqs = NULL;
    }
    s->free_reqs = NULL;
}

static int vs_post_load(void *opaque, int version_id)
{
    VirtIOSCSIPCI *d = opaque;
    VirtIOSCSI *s = &d->scsi;

    if (s->sense_size >= 65536 || s->cdb_size > VIRTIO_SCSI_CDB_MAX) {
        return -1;
    }
    if (!virtio_core_post_load(&s->vdev)) {
        return -1;
    }
    s->started = s->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK;
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_scsi = {
    .name = "virtio-scsi",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vs_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(scsi.vdev, VirtIOSCSIPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_UINT32(scsi.sense_size, VirtIOSCSIPCI),
        VMSTATE_UINT32(scsi.cdb_size, VirtIOSCSIPCI),
        VMSTATE_BOOL(scsi.events_dropped, VirtIOSCSIPCI),
        VMSTATE_UINT32(scsi.an_subscribed, VirtIOSCSIPCI),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass vs_vdc = {
    .device_id = VIRTIO_ID_SCSI,
    .legacy_pci_device_id = 0x1004,
    .pci_class_id = 0x0100,         /* SCSI storage controller */
    .config_size = VSC_CONFIG_SIZE,
    .get_features = vs_get_features,
    .get_config = vs_get_config,
    .set_config = vs_set_config,
    .set_status = vs_set_status,
    .reset = vs_reset,
};

static const VirtioPCIClass vs_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1004,
        .class_id = 0x0100,
        .interrupt_pin = 1,
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &vs_vdc,
    .vdev_offset = offsetof(VirtIOSCSIPCI, scsi),
    .realize = vs_realize,
    .unrealize = vs_unrealize,
};

static const Property vs_pci_props[] = {
    DEFINE_PROP("num_queues", VirtIOSCSIPCI, scsi.num_queues, PROP_UINT32,
                "1", "request queues"),
    DEFINE_PROP("virtqueue_size", VirtIOSCSIPCI, scsi.virtqueue_size,
                PROP_UINT32, "256", "request queue size"),
    DEFINE_PROP("max_sectors", VirtIOSCSIPCI, scsi.max_sectors, PROP_UINT32,
                "65535", "largest transfer the driver should send, in "
                "512-byte sectors"),
    DEFINE_PROP("cmd_per_lun", VirtIOSCSIPCI, scsi.cmd_per_lun, PROP_UINT32,
                "128", "commands per LUN the driver may queue"),
    DEFINE_PROP("seg_max_adjust", VirtIOSCSIPCI, scsi.seg_max_adjust,
                PROP_BOOL, "on", "seg_max = virtqueue_size - 2 (off: 126)"),
    DEFINE_PROP("hotplug", VirtIOSCSIPCI, scsi.hotplug, PROP_BOOL, "on",
                "offer VIRTIO_SCSI_F_HOTPLUG (scsi-hd/scsi-cd device_add "
                "and device_del events)"),
    DEFINE_PROP("param_change", VirtIOSCSIPCI, scsi.param_change, PROP_BOOL,
                "on", "offer VIRTIO_SCSI_F_CHANGE (parameter change events)"),
    DEFINE_PROP("iothread", VirtIOSCSIPCI, proxy.iothread_id, PROP_STRING,
                NULL, "run the queues and their I/O in this I/O thread"),
    DEFINE_PROP("vectors", VirtIOSCSIPCI, scsi.vectors, PROP_UINT32,
                "4294967295", "MSI-X vectors (0: INTx only; default "
                "num_queues + 3)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_scsi_pci_type = {
    .name = TYPE_VIRTIO_SCSI_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-scsi-pci",
    .instance_size = sizeof(VirtIOSCSIPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = vs_pci_props,
    .vmsd = &vmstate_virtio_scsi,
    .class_data = &vs_pci_class,
};

static void virtio_scsi_register(void)
{
    device_type_register(&virtio_scsi_pci_type);
    device_type_register_alias("virtio-scsi", TYPE_VIRTIO_SCSI_PCI);
}
type_init(virtio_scsi_register)
