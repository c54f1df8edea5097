/*
 * usb-uas: a USB Attached SCSI host adapter (46f4:0003, "USB Attached SCSI
 * HBA", as QEMU 7.2's), high speed and SuperSpeed.  Its SCSI bus `ID.0`
 * takes scsi-hd/scsi-cd devices at LUNs 0-255 (target 0); every command
 * runs through hw/scsi (scsi_req_*) as for virtio-scsi.
 *
 * Specs: USB Attached SCSI Protocol (UASP) 1.0 and T10 UAS-r04 (the same
 * protocol; UAS-2 for the high-speed rules): 4.2 the interface (alternate
 * setting 0 Bulk-Only, alternate setting 1 class 08h subclass 06h protocol
 * 62h with four bulk pipes), 5.3.3.1 Pipe Usage descriptor (type 24h, pipe
 * IDs 1 command, 2 status, 3 data-in, 4 data-out), 6.2 information units
 * (IU ID 01h COMMAND, 03h SENSE, 04h RESPONSE, 05h TASK MANAGEMENT, 06h
 * READ READY, 07h WRITE READY; every IU: IU ID, reserved, TAG (big
 * endian)), 6.2.2 COMMAND IU (task attribute, ADDITIONAL CDB LENGTH in
 * dwords in bits 7:2 of byte 6, LUN, CDB), 6.2.5 SENSE IU (STATUS
 * QUALIFIER, STATUS, LENGTH, sense data), 6.2.6 RESPONSE IU (ADDITIONAL
 * RESPONSE INFORMATION, RESPONSE CODE: 00h TASK MANAGEMENT FUNCTION
 * COMPLETE, 02h INVALID INFORMATION UNIT, 04h TASK MANAGEMENT FUNCTION NOT
 * SUPPORTED, 05h TASK MANAGEMENT FUNCTION FAILED, 08h TASK MANAGEMENT
 * FUNCTION SUCCEEDED, 09h INCORRECT LOGICAL UNIT NUMBER, 0Ah OVERLAPPED TAG
 * ATTEMPTED), 6.2.7 TASK MANAGEMENT IU (function, TAG OF MANAGED TASK,
 * LUN; SAM-5 7: ABORT TASK 01h, ABORT TASK SET 02h, CLEAR TASK SET 04h,
 * LOGICAL UNIT RESET 08h, I_T NEXUS RESET 10h, QUERY TASK 80h, QUERY TASK
 * SET 81h), 8.2 the SuperSpeed rules (bulk streams: the tag of a command is
 * the Stream ID its status and data use) and the high-speed rules (no
 * streams: READ READY / WRITE READY on the status pipe before each data
 * phase, one data phase per direction at a time); SAM-5 5.10 (overlapped
 * tags); USB 3.2 9.6.7 (MaxStreams in the endpoint companion).
 *
 * Endpoints: alternate setting 0 is usb-bot's Bulk-Only pair (bulk IN 1,
 * bulk OUT 2; the engine of hw/usb/dev-storage.c), alternate setting 1
 * the UAS pipes: command OUT 1, status IN 2, data-in IN 3, data-out OUT 4.
 * At SuperSpeed the status and data pipes have MaxStreams 4: 16 streams,
 * tags 1-16.
 *
 * Tasks: at most UAS_MAX_TASKS commands at a time (Linux's queue depth at
 * high speed is 32); one more gets TASK SET FULL.  A command's data goes
 * through a buffer of the device (at most UAS_MAX_XFER bytes: a longer
 * command fails ILLEGAL REQUEST, INVALID FIELD IN CDB): data-out is
 * collected, then the command runs; data-in is read whole, then sent.
 * Each finished command's SENSE IU, autosense included, waits in the
 * status queue until the host reads it (at SuperSpeed on the stream of
 * its tag, at high speed in order), and the task's tag stays in use
 * until then.  Packets that find nothing to move get NAK; the device
 * wakes the stream (or endpoint) when there is.
 *
 * Guest input is hostile: an IU of the wrong length or type, a tag out of
 * the stream range (SuperSpeed), a second task with a tag in use
 * (overlapped: the first is aborted, SAM-5 5.10) or a LUN field the bus
 * cannot have all get a RESPONSE IU with the error under the IU's tag;
 * such error responses hold at most UAS_MAX_ERRORS places in the status
 * queue (the oldest makes room), so a host that never reads them cannot
 * grow it.  A status-pipe buffer shorter than the IU gets its first bytes
 * (the rest is dropped, where a real device would babble).
 *
 * Task management: ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL
 * UNIT RESET (the device is reset: unit attention), I_T NEXUS RESET,
 * QUERY TASK and QUERY TASK SET; the response waits until the aborted
 * commands' I/O has ended.  Others answer TASK MANAGEMENT FUNCTION NOT
 * SUPPORTED.  A change of alternate setting or a USB reset aborts every
 * task silently.
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"
#include "hw/usb/msd.h"
#include "hw/scsi/scsi.h"
#include "system/main-loop.h"

/* IU IDs */
#define UAS_IU_COMMAND          0x01
#define UAS_IU_SENSE            0x03
#define UAS_IU_RESPONSE         0x04
#define UAS_IU_TASK_MGMT        0x05
#define UAS_IU_READ_READY       0x06
#define UAS_IU_WRITE_READY      0x07
/* RESPONSE CODE */
#define UAS_RC_TMF_COMPLETE     0x00
#define UAS_RC_INVALID_IU       0x02
#define UAS_RC_TMF_NOT_SUPPORTED 0x04
#define UAS_RC_TMF_FAILED       0x05
#define UAS_RC_TMF_SUCCEEDED    0x08
#define UAS_RC_INCORRECT_LUN    0x09
#define UAS_RC_OVERLAPPED_TAG   0x0a
/* task management functions */
#define UAS_TMF_ABORT_TASK      0x01
#define UAS_TMF_ABORT_TASK_SET  0x02
#define UAS_TMF_CLEAR_TASK_SET  0x04
#define UAS_TMF_LU_RESET        0x08
#define UAS_TMF_IT_NEXUS_RESET  0x10
#define UAS_TMF_QUERY_TASK      0x80
#define UAS_TMF_QUERY_TASK_SET  0x81
/* IU sizes */
#define UAS_COMMAND_IU_LEN      32      /* with a 16-byte CDB */
#define UAS_TMF_IU_LEN          16
#define UAS_SENSE_IU_HDR        16
#define UAS_RESPONSE_IU_LEN     8
#define UAS_READY_IU_LEN        4
#define UAS_IU_MAX              (UAS_SENSE_IU_HDR + SCSI_SENSE_LEN)

/* pipes: the endpoints of alternate setting 1, and their pipe IDs */
#define UAS_EP_COMMAND          1
#define UAS_EP_STATUS           2
#define UAS_EP_DATA_IN          3
#define UAS_EP_DATA_OUT         4
#define UAS_DT_PIPE_USAGE       0x24
/* Bulk-Only endpoints of alternate setting 0 */
#define UAS_BOT_IN              1
#define UAS_BOT_OUT             2

#define UAS_STREAMS_LOG2        4       /* companion MaxStreams */
#define UAS_MAX_STREAMS         (1 << UAS_STREAMS_LOG2)
#define UAS_MAX_TASKS           32
#define UAS_MAX_TMFS            4
#define UAS_SLOTS               (UAS_MAX_TASKS + UAS_MAX_TMFS)
#define UAS_MAX_ERRORS          16
/* every slot's READY and SENSE/RESPONSE, and the error responses */
#define UAS_QUEUE_LEN           (2 * UAS_SLOTS + UAS_MAX_ERRORS)
#define UAS_MAX_XFER            (1 << 20)
#define UAS_NONE                0xff
#define UAS_MAX_LUN             255
#define UAS_ASC_DATA_PHASE_ERROR 0x4b   /* SPC-4 D.2, with ABORTED COMMAND */

/* task states */
enum {
    UAS_T_FREE,
    UAS_T_DATA_OUT,     /* waiting for its data-out */
    UAS_T_RUNNING,      /* the SCSI command runs */
    UAS_T_DATA_IN,      /* its data-in waits for the host */
    UAS_T_STATUS,       /* its SENSE/RESPONSE IU waits in the queue */
    UAS_T_TMF,          /* a TMF waiting for aborted commands */
    UAS_T_MAX = UAS_T_TMF,
};

typedef struct UASState UASState;

typedef struct UASReq {
    SCSIRequest sreq;
    UASState *s;
    unsigned slot;
    struct iovec iov;
} UASReq;

typedef struct UASTask {
    uint8_t state;              /* UAS_T_* */
    bool is_tmf;
    bool aborted;               /* running: its completion is dropped */
    bool ready;                 /* high speed: its READY IU was queued */
    uint16_t tag;
    uint16_t lun;
    uint8_t tmf;                /* aborted: the TMF waiting for it */
    uint8_t waiting;            /* a TMF: aborted commands still running */
    uint8_t response;           /* a TMF: its RESPONSE CODE */
    uint8_t status;             /* the SCSI status, for the SENSE IU */
    uint8_t sense_len;
    uint8_t sense[SCSI_SENSE_LEN];
    uint32_t seq;               /* arrival order */
    uint32_t xfer;              /* the data phase's length */
    uint32_t done;              /* bytes of it so far */
    uint32_t buf_len;
    uint8_t *buf;               /* the data (buf_len bytes) */
} UASTask;

typedef struct UASStatus {
    uint16_t tag;
    uint8_t task;               /* the slot it belongs to, or UAS_NONE */
    uint8_t len;
    uint8_t iu[UAS_IU_MAX];
} UASStatus;

struct UASState {
    USBDevice dev;
    SCSIBus bus;
    MSDBot bot;                 /* alternate setting 0 */
    UASReq *reqs[UAS_SLOTS];    /* a slot's SCSI request, made on first use */
    UASTask tasks[UAS_SLOTS];
    UASStatus queue[UAS_QUEUE_LEN];
    uint32_t queue_len;
    uint32_t seq;
    uint8_t cur_in, cur_out;    /* high speed: the data phases under way */
};

/* ---- descriptors -------------------------------------------------------- */

enum {
    STR_MANUFACTURER = 1, STR_PRODUCT, STR_SERIALNUMBER, STR_CONFIG_HIGH,
    STR_CONFIG_SUPER,
};

static const char *const uas_strings[] = {
    "QEMU", "USB Attached SCSI HBA", "27842", "High speed config (usb 2.0)",
    "Super speed config (usb 3.0)", NULL,
};

static const uint8_t uas_pipe_command[] = { 4, UAS_DT_PIPE_USAGE, 1, 0 };
static const uint8_t uas_pipe_status[] = { 4, UAS_DT_PIPE_USAGE, 2, 0 };
static const uint8_t uas_pipe_data_in[] = { 4, UAS_DT_PIPE_USAGE, 3, 0 };
static const uint8_t uas_pipe_data_out[] = { 4, UAS_DT_PIPE_USAGE, 4, 0 };

#define UAS_EP(addr, mps, burst, streams, pipe) \
    { (addr), USB_ENDPOINT_XFER_BULK, (mps), 0, (burst), (streams), \
      (pipe), sizeof(pipe) }

static const USBDescEndpoint uas_bot_eps_high[] = {
    { USB_DIR_IN | UAS_BOT_IN, USB_ENDPOINT_XFER_BULK, 512, 0, 0 },
    { USB_DIR_OUT | UAS_BOT_OUT, USB_ENDPOINT_XFER_BULK, 512, 0, 0 },
};
static const USBDescEndpoint uas_bot_eps_super[] = {
    { USB_DIR_IN | UAS_BOT_IN, USB_ENDPOINT_XFER_BULK, 1024, 0, 15 },
    { USB_DIR_OUT | UAS_BOT_OUT, USB_ENDPOINT_XFER_BULK, 1024, 0, 15 },
};
static const USBDescEndpoint uas_eps_high[] = {
    UAS_EP(USB_DIR_OUT | UAS_EP_COMMAND, 512, 0, 0, uas_pipe_command),
    UAS_EP(USB_DIR_IN | UAS_EP_STATUS, 512, 0, 0, uas_pipe_status),
    UAS_EP(USB_DIR_IN | UAS_EP_DATA_IN, 512, 0, 0, uas_pipe_data_in),
    UAS_EP(USB_DIR_OUT | UAS_EP_DATA_OUT, 512, 0, 0, uas_pipe_data_out),
};
static const USBDescEndpoint uas_eps_super[] = {
    UAS_EP(USB_DIR_OUT | UAS_EP_COMMAND, 1024, 15, 0, uas_pipe_command),
    UAS_EP(USB_DIR_IN | UAS_EP_STATUS, 1024, 15, UAS_STREAMS_LOG2,
           uas_pipe_status),
    UAS_EP(USB_DIR_IN | UAS_EP_DATA_IN, 1024, 15, UAS_STREAMS_LOG2,
           uas_pipe_data_in),
    UAS_EP(USB_DIR_OUT | UAS_EP_DATA_OUT, 1024, 15, UAS_STREAMS_LOG2,
           uas_pipe_data_out),
};
/* class 8 (mass storage), SCSI transparent (6): bulk-only (50h), UAS (62h) */
static const USBDescIface uas_ifaces_high[] = {
    { 8, 6, 0x50, NULL, 0, 2, uas_bot_eps_high },
    { 8, 6, 0x62, NULL, 0, 4, uas_eps_high },
};
static const USBDescIface uas_ifaces_super[] = {
    { 8, 6, 0x50, NULL, 0, 2, uas_bot_eps_super },
    { 8, 6, 0x62, NULL, 0, 4, uas_eps_super },
};
static const USBDescDevice uas_high = {
    0x0200, 64, STR_CONFIG_HIGH, 0xc0, 50, uas_ifaces_high, 0, 2,
};
static const USBDescDevice uas_super = {
    0x0300, 9, STR_CONFIG_SUPER, 0xc0, 50, uas_ifaces_super, 0, 2,
};
static const USBDesc uas_desc = {
    0x46f4, 0x0003, 0, STR_MANUFACTURER, STR_PRODUCT, STR_SERIALNUMBER,
    NULL, &uas_high, &uas_super, uas_strings,
};

/* ---- the status queue --------------------------------------------------- */

static bool uas_streams(UASState *s)
{
    return s->dev.speed == USB_SPEED_SUPER;
}

static bool uas_is_error(const UASStatus *st)
{
    return st->task == UAS_NONE;
}

static void uas_queue_remove(UASState *s, unsigned i)
{
    memmove(&s->queue[i], &s->queue[i + 1],
            (s->queue_len - i - 1) * sizeof(s->queue[0]));
    s->queue_len--;
}

/* Queue an IU for the status pipe and wake the host's reader. */
static void uas_queue_iu(UASState *s, uint16_t tag, unsigned task,
                         const uint8_t *iu, unsigned len)
{
    UASStatus *st;

    if (task == UAS_NONE) {
        unsigned errors = 0, oldest = UAS_QUEUE_LEN;

        for (unsigned i = 0; i < s->queue_len; i++) {
            if (uas_is_error(&s->queue[i])) {
                errors++;
                oldest = MIN(oldest, i);
            }
        }
        if (errors >= UAS_MAX_ERRORS) {
            uas_queue_remove(s, oldest);
        }
    }
    /* a slot's entries and the error budget always fit */
    g_assert(s->queue_len < UAS_QUEUE_LEN);
    st = &s->queue[s->queue_len++];
    st->tag = tag;
    st->task = task;
    st->len = len;
    memcpy(st->iu, iu, len);
    if (uas_streams(s)) {
        usb_wakeup_stream(&s->dev, UAS_EP_STATUS, tag);
    } else {
        usb_wakeup(&s->dev, UAS_EP_STATUS);
    }
}

static void uas_queue_response(UASState *s, uint16_t tag, unsigned task,
                               uint8_t code)
{
    uint8_t iu[UAS_RESPONSE_IU_LEN] = { UAS_IU_RESPONSE, 0, tag >> 8, tag };

    iu[7] = code;
    uas_queue_iu(s, tag, task, iu, sizeof(iu));
}

static void uas_queue_sense(UASState *s, uint16_t tag, unsigned task,
                            uint8_t status, const uint8_t *sense,
                            unsigned sense_len)
{
    uint8_t iu[UAS_IU_MAX] = { UAS_IU_SENSE, 0, tag >> 8, tag };

    sense_len = MIN(sense_len, (unsigned)SCSI_SENSE_LEN);
    iu[6] = status;
    stw_be_p(iu + 14, sense_len);
    memcpy(iu + UAS_SENSE_IU_HDR, sense, sense_len);
    uas_queue_iu(s, tag, task, iu, UAS_SENSE_IU_HDR + sense_len);
}

/* Drop what a task still has queued (it was aborted). */
static void uas_queue_purge(UASState *s, unsigned slot)
{
    for (unsigned i = 0; i < s->queue_len;) {
        if (s->queue[i].task == slot) {
            uas_queue_remove(s, i);
        } else {
            i++;
        }
    }
}

/* ---- tasks -------------------------------------------------------------- */

static UASTask *uas_find_tag(UASState *s, uint16_t tag)
{
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        if (s->tasks[i].state != UAS_T_FREE && s->tasks[i].tag == tag) {
            return &s->tasks[i];
        }
    }
    return NULL;
}

static unsigned uas_slot_of(UASState *s, UASTask *t)
{
    return t - s->tasks;
}

static void uas_task_free_buf(UASTask *t)
{
    g_free(t->buf);
    t->buf = NULL;
    t->buf_len = 0;
}

static void uas_task_free(UASState *s, UASTask *t)
{
    unsigned slot = uas_slot_of(s, t);

    uas_task_free_buf(t);
    memset(t, 0, sizeof(*t));
    if (s->cur_in == slot) {
        s->cur_in = UAS_NONE;
    }
    if (s->cur_out == slot) {
        s->cur_out = UAS_NONE;
    }
}

/* High speed: start the next data phase of each direction with a READ
 * READY / WRITE READY IU, in arrival order. */
static void uas_hs_schedule(UASState *s)
{
    for (int dir = 0; dir < 2 && !uas_streams(s); dir++) {
        uint8_t *cur = dir ? &s->cur_out : &s->cur_in;
        unsigned want = dir ? UAS_T_DATA_OUT : UAS_T_DATA_IN;
        UASTask *next = NULL;

        if (*cur != UAS_NONE) {
            continue;
        }
        for (unsigned i = 0; i < UAS_SLOTS; i++) {
            UASTask *t = &s->tasks[i];
            if (t->state == want && !t->ready &&
                (!next || t->seq - s->seq < next->seq - s->seq)) {
                next = t;
            }
        }
        if (next) {
            uint8_t iu[UAS_READY_IU_LEN] = {
                dir ? UAS_IU_WRITE_READY : UAS_IU_READ_READY, 0,
                next->tag >> 8, next->tag,
            };
            next->ready = true;
            *cur = uas_slot_of(s, next);
            uas_queue_iu(s, next->tag, *cur, iu, sizeof(iu));
        }
    }
}

/* The task's SENSE IU goes out; the tag stays in use until it has. */
static void uas_task_finish(UASState *s, UASTask *t)
{
    uas_task_free_buf(t);
    t->state = UAS_T_STATUS;
    uas_queue_sense(s, t->tag, uas_slot_of(s, t), t->status, t->sense,
                    t->sense_len);
}

/* A TMF's aborted commands have all ended: its RESPONSE IU goes out. */
static void uas_tmf_finish(UASState *s, UASTask *tmf)
{
    tmf->state = UAS_T_STATUS;
    uas_queue_response(s, tmf->tag, uas_slot_of(s, tmf), tmf->response);
}

static void uas_tmf_release(UASState *s, unsigned tmf_slot)
{
    UASTask *tmf;

    if (tmf_slot >= UAS_SLOTS) {
        return;
    }
    tmf = &s->tasks[tmf_slot];
    if (tmf->state == UAS_T_TMF && tmf->waiting && !--tmf->waiting) {
        uas_tmf_finish(s, tmf);
    }
}

static void uas_wake_data(UASState *s, UASTask *t, unsigned ep)
{
    if (uas_streams(s)) {
        usb_wakeup_stream(&s->dev, ep, t->tag);
    } else {
        uas_hs_schedule(s);
        usb_wakeup(&s->dev, ep);
    }
}

/* The SCSI layer finished a command. */
static void uas_command_done(UASState *s, UASReq *req)
{
    SCSIRequest *r = &req->sreq;
    UASTask *t = &s->tasks[req->slot];
    uint32_t n;

    if (t->state != UAS_T_RUNNING) {
        return;                     /* cannot happen: nothing else runs */
    }
    if (t->aborted) {
        unsigned tmf = t->tmf;

        uas_task_free(s, t);
        uas_tmf_release(s, tmf);
        uas_hs_schedule(s);
        return;
    }
    t->status = r->status;
    t->sense_len = r->status == SCSI_STATUS_CHECK_CONDITION ?
                   MIN(r->sense_len, (unsigned)SCSI_SENSE_LEN) : 0;
    memcpy(t->sense, r->sense, t->sense_len);
    n = r->mode == SCSI_XFER_FROM_DEV ? MIN(r->xferred, (size_t)t->xfer) : 0;
    if (n) {
        t->xfer = n;
        t->done = 0;
        t->state = UAS_T_DATA_IN;
        uas_wake_data(s, t, UAS_EP_DATA_IN);
        return;
    }
    uas_task_finish(s, t);
}

static void uas_scsi_complete(SCSIRequest *r)
{
    UASState *s = r->bus->hba;

    if (msd_bot_owns(&s->bot, r)) {
        msd_bot_complete(r);
        return;
    }
    uas_command_done(s, container_of(r, UASReq, sreq));
}

static const SCSIBusInfo uas_bus_info = {
    .max_channel = 0, .max_target = 0, .max_lun = UAS_MAX_LUN,
    .complete = uas_scsi_complete,
};

static UASReq *uas_req(UASState *s, unsigned slot)
{
    if (!s->reqs[slot]) {
        s->reqs[slot] = g_new0(UASReq, 1);
        s->reqs[slot]->s = s;
        s->reqs[slot]->slot = slot;
    }
    return s->reqs[slot];
}

static void uas_submit(UASState *s, UASTask *t)
{
    UASReq *req = uas_req(s, uas_slot_of(s, t));
    SCSIRequest *r = &req->sreq;

    req->iov.iov_base = t->buf;
    req->iov.iov_len = t->buf_len;
    r->iov = &req->iov;
    r->niov = t->buf_len ? 1 : 0;
    r->iov_size = t->buf_len;
    r->iov_mode = r->mode;
    t->state = UAS_T_RUNNING;       /* completion may come at once */
    scsi_req_submit(r);
}

/*
 * Abort task @t (for the TMF in slot @tmf_slot, or UAS_NONE): a running
 * command ends when its I/O does (the TMF waits for it), anything else
 * goes now with whatever it had queued.
 */
static void uas_abort(UASState *s, UASTask *t, unsigned tmf_slot)
{
    unsigned slot = uas_slot_of(s, t);

    if (t->state == UAS_T_RUNNING) {
        SCSIRequest *r = &s->reqs[slot]->sreq;

        if (t->aborted) {
            return;
        }
        if (r->stopped && r->dev && r->dev->ops->purge) {
            /* held after an error stop: no I/O runs */
            r->dev->ops->purge(r->dev, r);
            uas_task_free(s, t);
            return;
        }
        t->aborted = true;
        r->io_canceled = true;      /* a chain of I/Os stops early */
        t->tmf = tmf_slot;
        if (tmf_slot != UAS_NONE) {
            s->tasks[tmf_slot].waiting++;
        }
        return;
    }
    if (t->state == UAS_T_TMF) {
        /* its own waiting commands finish without it */
        for (unsigned i = 0; i < UAS_SLOTS; i++) {
            if (s->tasks[i].tmf == slot && s->tasks[i].aborted) {
                s->tasks[i].tmf = UAS_NONE;
            }
        }
    }
    uas_queue_purge(s, slot);
    uas_task_free(s, t);
}

/* Abort the commands on @lun (every LUN when @all). */
static void uas_abort_lun(UASState *s, unsigned lun, bool all,
                          unsigned tmf_slot)
{
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        UASTask *t = &s->tasks[i];
        if (t->state != UAS_T_FREE && !t->is_tmf && (all || t->lun == lun)) {
            uas_abort(s, t, tmf_slot);
        }
    }
}

/* Alternate setting change, USB reset: every task goes, nothing answers. */
static void uas_abort_all(UASState *s)
{
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        if (s->tasks[i].state != UAS_T_FREE) {
            uas_abort(s, &s->tasks[i], UAS_NONE);
        }
    }
    s->queue_len = 0;
}

static unsigned uas_count_tasks(UASState *s, bool tmf)
{
    unsigned n = 0;

    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        n += s->tasks[i].state != UAS_T_FREE && s->tasks[i].is_tmf == tmf;
    }
    return n;
}

static UASTask *uas_new_task(UASState *s, uint16_t tag, unsigned lun,
                             bool tmf)
{
    unsigned limit = tmf ? UAS_MAX_TMFS : UAS_MAX_TASKS;

    if (uas_count_tasks(s, tmf) >= limit) {
        return NULL;
    }
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        UASTask *t = &s->tasks[i];
        if (t->state == UAS_T_FREE) {
            memset(t, 0, sizeof(*t));
            t->tag = tag;
            t->lun = lun;
            t->is_tmf = tmf;
            t->tmf = UAS_NONE;
            t->seq = s->seq++;
            return t;
        }
    }
    return NULL;
}

/* ---- the command pipe --------------------------------------------------- */

/* The LUN field (SAM-5 4.6: peripheral or flat space addressing of a
 * single level); false when it names nothing this bus can have. */
static bool uas_decode_lun(const uint8_t *l, unsigned *lun)
{
    for (unsigned i = 2; i < 8; i++) {
        if (l[i]) {
            return false;
        }
    }
    switch (l[0] >> 6) {
    case 0:                         /* peripheral, bus 0 */
        if (l[0] & 0x3f) {
            return false;
        }
        *lun = l[1];
        return true;
    case 1:                         /* flat space */
        *lun = ((l[0] & 0x3f) << 8) | l[1];
        return *lun <= UAS_MAX_LUN;
    }
    return false;
}

/* Whether @tag can be a task's tag here (at SuperSpeed: a stream ID). */
static bool uas_tag_valid(UASState *s, uint16_t tag)
{
    return !uas_streams(s) || (tag >= 1 && tag <= UAS_MAX_STREAMS);
}

/* A new IU's tag matches a task in progress: the task is aborted and the
 * IU answered OVERLAPPED TAG ATTEMPTED (SAM-5 5.10). */
static bool uas_overlapped(UASState *s, uint16_t tag)
{
    UASTask *t = uas_find_tag(s, tag);

    if (!t) {
        return false;
    }
    uas_abort(s, t, UAS_NONE);
    uas_queue_response(s, tag, UAS_NONE, UAS_RC_OVERLAPPED_TAG);
    uas_hs_schedule(s);
    return true;
}

static void uas_handle_command(UASState *s, const uint8_t *iu, size_t len)
{
    uint16_t tag = lduw_be_p(iu + 2);
    size_t add = iu[6] & 0xfc, cdb_size = 16 + add;
    unsigned lun;
    UASTask *t;
    SCSIRequest *r;

    if (len != UAS_COMMAND_IU_LEN + add || !uas_tag_valid(s, tag)) {
        uas_queue_response(s, tag, UAS_NONE, UAS_RC_INVALID_IU);
        return;
    }
    if (uas_overlapped(s, tag)) {
        return;
    }
    if (!uas_decode_lun(iu + 8, &lun)) {
        uas_queue_response(s, tag, UAS_NONE, UAS_RC_INCORRECT_LUN);
        return;
    }
    t = uas_new_task(s, tag, lun, false);
    if (!t) {
        uas_queue_sense(s, tag, UAS_NONE, SCSI_STATUS_TASK_SET_FULL, NULL, 0);
        return;
    }
    r = &uas_req(s, uas_slot_of(s, t))->sreq;
    memset(r, 0, offsetof(SCSIRequest, buf));
    if (!scsi_req_init(r, &s->bus, 0, lun, tag, iu + 16, cdb_size)) {
        /* nothing on the bus at all */
        uas_task_free(s, t);
        uas_queue_response(s, tag, UAS_NONE, UAS_RC_INCORRECT_LUN);
        return;
    }
    if (scsi_req_parse(r, cdb_size) && r->xfer > UAS_MAX_XFER) {
        t->status = SCSI_STATUS_CHECK_CONDITION;
        scsi_build_sense(t->sense, SENSE_CODE_INVALID_FIELD);
        t->sense_len = SCSI_SENSE_LEN;
        uas_task_finish(s, t);
        return;
    }
    t->xfer = r->mode == SCSI_XFER_NONE ? 0 : r->xfer;
    if (t->xfer) {
        t->buf_len = t->xfer;
        t->buf = g_malloc0(t->buf_len);
    }
    if (r->mode == SCSI_XFER_TO_DEV) {
        t->state = UAS_T_DATA_OUT;
        uas_wake_data(s, t, UAS_EP_DATA_OUT);
        return;
    }
    uas_submit(s, t);
}

static void uas_handle_tmf(UASState *s, const uint8_t *iu, size_t len)
{
    uint16_t tag = lduw_be_p(iu + 2), managed = lduw_be_p(iu + 6);
    uint8_t function = iu[4];
    unsigned lun = 0, slot;
    bool lun_ok;
    UASTask *tmf, *t;

    if (len != UAS_TMF_IU_LEN || !uas_tag_valid(s, tag)) {
        uas_queue_response(s, tag, UAS_NONE, UAS_RC_INVALID_IU);
        return;
    }
    if (uas_overlapped(s, tag)) {
        return;
    }
    lun_ok = uas_decode_lun(iu + 8, &lun) &&
             scsi_device_find(&s->bus, 0, lun);
    tmf = uas_new_task(s, tag, lun, true);
    if (!tmf) {
        uas_queue_response(s, tag, UAS_NONE, UAS_RC_TMF_FAILED);
        return;
    }
    slot = uas_slot_of(s, tmf);
    tmf->state = UAS_T_TMF;
    tmf->response = UAS_RC_TMF_COMPLETE;
    switch (function) {
    case UAS_TMF_ABORT_TASK:
    case UAS_TMF_ABORT_TASK_SET:
    case UAS_TMF_CLEAR_TASK_SET:
    case UAS_TMF_LU_RESET:
    case UAS_TMF_QUERY_TASK:
    case UAS_TMF_QUERY_TASK_SET:
        if (!lun_ok) {
            tmf->response = UAS_RC_INCORRECT_LUN;
            break;
        }
        if (function == UAS_TMF_ABORT_TASK) {
            t = uas_find_tag(s, managed);
            if (t && t != tmf && !t->is_tmf && t->lun == lun) {
                uas_abort(s, t, slot);
            }
        } else if (function == UAS_TMF_QUERY_TASK ||
                   function == UAS_TMF_QUERY_TASK_SET) {
            for (unsigned i = 0; i < UAS_SLOTS; i++) {
                t = &s->tasks[i];
                if (t->state != UAS_T_FREE && !t->is_tmf && !t->aborted &&
                    t->lun == lun && (function == UAS_TMF_QUERY_TASK_SET ||
                                      t->tag == managed)) {
                    tmf->response = UAS_RC_TMF_SUCCEEDED;
                }
            }
        } else {
            uas_abort_lun(s, lun, false, slot);
            if (function == UAS_TMF_LU_RESET) {
                device_reset(DEVICE(scsi_device_find(&s->bus, 0, lun)));
            }
        }
        break;
    case UAS_TMF_IT_NEXUS_RESET:
        uas_abort_lun(s, 0, true, slot);
        break;
    default:
        tmf->response = UAS_RC_TMF_NOT_SUPPORTED;
        break;
    }
    if (!tmf->waiting) {
        uas_tmf_finish(s, tmf);
    }
    uas_hs_schedule(s);
}

static void uas_command_pipe(UASState *s, USBPacket *p)
{
    p->actual = p->len;
    if (p->len < 4) {
        /* not even a tag: answered under tag 0 */
        uas_queue_response(s, 0, UAS_NONE, UAS_RC_INVALID_IU);
        return;
    }
    switch (p->buf[0]) {
    case UAS_IU_COMMAND:
        uas_handle_command(s, p->buf, p->len);
        break;
    case UAS_IU_TASK_MGMT:
        uas_handle_tmf(s, p->buf, p->len);
        break;
    default:
        uas_queue_response(s, lduw_be_p(p->buf + 2), UAS_NONE,
                           UAS_RC_INVALID_IU);
        break;
    }
}

/* ---- the status and data pipes ------------------------------------------ */

static void uas_status_pipe(UASState *s, USBPacket *p)
{
    UASStatus *st = NULL;
    unsigned i, n;

    for (i = 0; i < s->queue_len; i++) {
        if (!uas_streams(s) || s->queue[i].tag == p->stream) {
            st = &s->queue[i];
            break;
        }
    }
    if (!st) {
        p->status = USB_RET_NAK;
        return;
    }
    n = MIN((size_t)st->len, p->len);
    memcpy(p->buf, st->iu, n);
    p->actual = n;
    if (st->task != UAS_NONE && st->iu[0] != UAS_IU_READ_READY &&
        st->iu[0] != UAS_IU_WRITE_READY &&
        s->tasks[st->task].state == UAS_T_STATUS) {
        /* delivered: the task is over, its tag free again */
        uas_task_free(s, &s->tasks[st->task]);
    }
    uas_queue_remove(s, i);
}

/* The task whose data phase a data-pipe packet belongs to. */
static UASTask *uas_data_task(UASState *s, USBPacket *p, unsigned state)
{
    UASTask *t;

    if (uas_streams(s)) {
        t = uas_find_tag(s, p->stream);
    } else {
        uint8_t cur = state == UAS_T_DATA_IN ? s->cur_in : s->cur_out;
        t = cur == UAS_NONE ? NULL : &s->tasks[cur];
    }
    return t && t->state == state && !t->aborted ? t : NULL;
}

static void uas_data_in_pipe(UASState *s, USBPacket *p)
{
    UASTask *t = uas_data_task(s, p, UAS_T_DATA_IN);
    uint32_t n;

    if (!t) {
        p->status = USB_RET_NAK;
        return;
    }
    n = MIN((uint32_t)MIN(p->len, (size_t)UINT32_MAX), t->xfer - t->done);
    memcpy(p->buf, t->buf + t->done, n);
    t->done += n;
    p->actual = n;
    if (t->done >= t->xfer || n < p->len) {
        if (!uas_streams(s)) {
            s->cur_in = UAS_NONE;
        }
        uas_task_finish(s, t);
        uas_hs_schedule(s);
    }
}

static void uas_data_out_pipe(UASState *s, USBPacket *p)
{
    UASTask *t = uas_data_task(s, p, UAS_T_DATA_OUT);
    uint32_t n;

    if (!t) {
        p->status = USB_RET_NAK;
        return;
    }
    n = MIN((uint32_t)MIN(p->len, (size_t)UINT32_MAX), t->xfer - t->done);
    memcpy(t->buf + t->done, p->buf, n);
    t->done += n;
    p->actual = n;
    if (t->done < t->xfer && p->len) {
        return;
    }
    if (!uas_streams(s)) {
        s->cur_out = UAS_NONE;
    }
    if (t->done < t->xfer) {
        /* a zero-length packet ended the phase short: the command does
         * not run on data the host never sent */
        t->status = SCSI_STATUS_CHECK_CONDITION;
        scsi_build_sense(t->sense, SCSI_SENSE(SENSE_ABORTED_COMMAND,
                                              UAS_ASC_DATA_PHASE_ERROR, 0));
        t->sense_len = SCSI_SENSE_LEN;
        uas_task_finish(s, t);
    } else {
        uas_submit(s, t);
    }
    uas_hs_schedule(s);
}

static void uas_handle_data(USBDevice *dev, USBPacket *p)
{
    UASState *s = (UASState *)dev;
    bool in = p->pid == USB_TOKEN_IN;

    if (dev->altsetting == 0) {
        msd_bot_handle_data(&s->bot, p);
        return;
    }
    /* SuperSpeed: the status and data pipes go by stream, the command
     * pipe has none */
    if (uas_streams(s) && (p->ep == UAS_EP_COMMAND) != !p->stream) {
        p->status = USB_RET_STALL;
        return;
    }
    switch (p->ep) {
    case UAS_EP_COMMAND:
        if (!in) {
            uas_command_pipe(s, p);
            return;
        }
        break;
    case UAS_EP_STATUS:
        if (in) {
            uas_status_pipe(s, p);
            return;
        }
        break;
    case UAS_EP_DATA_IN:
        if (in) {
            uas_data_in_pipe(s, p);
            return;
        }
        break;
    case UAS_EP_DATA_OUT:
        if (!in) {
            uas_data_out_pipe(s, p);
            return;
        }
        break;
    }
    p->status = USB_RET_STALL;
}

static void uas_handle_control(USBDevice *dev, USBPacket *p, int request,
                               int value, int index, int length,
                               uint8_t *data)
{
    UASState *s = (UASState *)dev;

    if (dev->altsetting == 0 &&
        msd_bot_handle_control(&s->bot, p, request, length, data)) {
        return;
    }
    p->status = USB_RET_STALL;
}

static void uas_set_interface(USBDevice *dev, int alt)
{
    UASState *s = (UASState *)dev;

    uas_abort_all(s);
    msd_bot_reset(&s->bot);
}

static void uas_handle_reset(USBDevice *dev)
{
    uas_set_interface(dev, 0);
}

/* ---- device ------------------------------------------------------------- */

static bool uas_realize(DeviceState *d, GError **errp)
{
    UASState *s = (UASState *)d;
    static unsigned anon;
    g_autofree char *name = d->id ? g_strdup_printf("%s.0", d->id)
                                  : g_strdup_printf("usb-uas%u.0", anon++);

    scsi_bus_init(&s->bus, &uas_bus_info, s, name, "/usb-uas");
    msd_bot_init(&s->bot, &s->dev, &s->bus, UAS_BOT_IN, UAS_BOT_OUT, true);
    s->cur_in = s->cur_out = UAS_NONE;
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        s->tasks[i].tmf = UAS_NONE;
    }
    return true;
}

static bool uas_busy(UASState *s)
{
    if (s->bot.busy) {
        return true;
    }
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        if (s->tasks[i].state == UAS_T_RUNNING) {
            return true;
        }
    }
    return false;
}

static void uas_unrealize(DeviceState *d)
{
    UASState *s = (UASState *)d;

    /* commands with I/O in flight write into our buffers: let them end
     * (held ones are purged by the abort) */
    uas_abort_all(s);
    while (uas_busy(s)) {
        g_main_context_iteration(NULL, TRUE);
    }
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        uas_task_free_buf(&s->tasks[i]);
        g_free(s->reqs[i]);
        s->reqs[i] = NULL;
    }
    msd_bot_cleanup(&s->bot);
    if (s->bus.devices) {
        scsi_bus_cleanup(&s->bus);
    }
}

static int uas_pre_save(void *opaque)
{
    UASState *s = opaque;

    /* the block layer drains before a migration saves devices: a command
     * still running (or held after an error stop) cannot be saved */
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        if (s->tasks[i].state == UAS_T_RUNNING) {
            return -1;
        }
    }
    return 0;
}

/*
 * A loaded task: nothing runs in a saved state, so no task is running or
 * aborted and no TMF waits; a task in a data phase has its buffer.
 */
static bool uas_task_valid(UASState *s, unsigned slot)
{
    UASTask *t = &s->tasks[slot];
    bool data = t->state == UAS_T_DATA_IN || t->state == UAS_T_DATA_OUT;

    if (t->state == UAS_T_FREE) {
        return !t->buf_len;
    }
    if (t->state > UAS_T_MAX || t->state == UAS_T_RUNNING ||
        t->state == UAS_T_TMF || t->aborted || t->waiting ||
        t->tmf != UAS_NONE || t->sense_len > SCSI_SENSE_LEN ||
        t->lun > UAS_MAX_LUN || (t->is_tmf && t->state != UAS_T_STATUS)) {
        return false;
    }
    if (data != (t->buf_len != 0) ||
        (data && (t->xfer != t->buf_len || t->done > t->xfer ||
                  t->xfer > UAS_MAX_XFER))) {
        return false;
    }
    return !uas_streams(s) || uas_tag_valid(s, t->tag);
}

static int uas_post_load(void *opaque, int version_id)
{
    UASState *s = opaque;

    if (s->queue_len > UAS_QUEUE_LEN) {
        return -1;
    }
    for (unsigned i = 0; i < UAS_SLOTS; i++) {
        if (!uas_task_valid(s, i)) {
            return -1;
        }
        for (unsigned j = 0; j < i; j++) {
            if (s->tasks[i].state != UAS_T_FREE &&
                s->tasks[j].state != UAS_T_FREE &&
                s->tasks[i].tag == s->tasks[j].tag) {
                return -1;
            }
        }
    }
    /* what uas_queue_iu() counts on: at most two entries per slot (READY
     * and SENSE/RESPONSE) and UAS_MAX_ERRORS others */
    for (unsigned i = 0, errors = 0; i < s->queue_len; i++) {
        UASStatus *st = &s->queue[i];
        unsigned same = 0;

        if (st->len > UAS_IU_MAX) {
            return -1;
        }
        if (st->task == UAS_NONE) {
            if (++errors > UAS_MAX_ERRORS) {
                return -1;
            }
            continue;
        }
        if (st->task >= UAS_SLOTS ||
            s->tasks[st->task].state == UAS_T_FREE) {
            return -1;
        }
        for (unsigned j = 0; j < s->queue_len; j++) {
            same += s->queue[j].task == st->task;
        }
        if (same > 2) {
            return -1;
        }
    }
    for (int dir = 0; dir < 2; dir++) {
        uint8_t cur = dir ? s->cur_out : s->cur_in;
        if (cur != UAS_NONE &&
            (uas_streams(s) || cur >= UAS_SLOTS || !s->tasks[cur].ready ||
             s->tasks[cur].state !=
             (dir ? UAS_T_DATA_OUT : UAS_T_DATA_IN))) {
            return -1;
        }
    }
    return 0;
}

static const VMStateDescription vmstate_uas_task = {
    .name = "usb-uas-task", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(state, UASTask),
        VMSTATE_BOOL(is_tmf, UASTask),
        VMSTATE_BOOL(aborted, UASTask),
        VMSTATE_BOOL(ready, UASTask),
        VMSTATE_UINT16(tag, UASTask),
        VMSTATE_UINT16(lun, UASTask),
        VMSTATE_UINT8(tmf, UASTask),
        VMSTATE_UINT8(waiting, UASTask),
        VMSTATE_UINT8(response, UASTask),
        VMSTATE_UINT8(status, UASTask),
        VMSTATE_UINT8(sense_len, UASTask),
        VMSTATE_UINT8_ARRAY(sense, UASTask, SCSI_SENSE_LEN),
        VMSTATE_UINT32(seq, UASTask),
        VMSTATE_UINT32(xfer, UASTask),
        VMSTATE_UINT32(done, UASTask),
        VMSTATE_UINT32(buf_len, UASTask),
        VMSTATE_VBUFFER(buf, UASTask, buf_len, UAS_MAX_XFER),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_uas_status = {
    .name = "usb-uas-status", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(tag, UASStatus),
        VMSTATE_UINT8(task, UASStatus),
        VMSTATE_UINT8(len, UASStatus),
        VMSTATE_UINT8_ARRAY(iu, UASStatus, UAS_IU_MAX),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_uas = {
    .name = "usb-uas",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = uas_pre_save,
    .post_load = uas_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(bot, UASState, vmstate_msd_bot, MSDBot),
        VMSTATE_STRUCT_ARRAY(tasks, UASState, UAS_SLOTS, vmstate_uas_task,
                             UASTask),
        VMSTATE_UINT32(queue_len, UASState),
        VMSTATE_STRUCT_ARRAY(queue, UASState, UAS_QUEUE_LEN,
                             vmstate_uas_status, UASStatus),
        VMSTATE_UINT32(seq, UASState),
        VMSTATE_UINT8(cur_in, UASState),
        VMSTATE_UINT8(cur_out, UASState),
        VMSTATE_END_OF_LIST()
    },
};

static const USBDeviceClass uas_class = {
    .product_desc = "USB Attached SCSI HBA",
    .desc = &uas_desc,
    .handle_reset = uas_handle_reset,
    .handle_control = uas_handle_control,
    .handle_data = uas_handle_data,
    .set_interface = uas_set_interface,
};

static const DeviceType uas_type = {
    .name = "usb-uas",
    .parent = TYPE_USB_DEVICE,
    .desc = "USB Attached SCSI HBA (SCSI devices on its bus ID.0)",
    .instance_size = sizeof(UASState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .realize = uas_realize,
    .unrealize = uas_unrealize,
    .vmsd = &vmstate_uas,
    .class_data = &uas_class,
};

static void uas_register_types(void)
{
    device_type_register(&uas_type);
}
type_init(uas_register_types)
