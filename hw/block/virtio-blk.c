/*
 * virtio-blk-pci: a disk on the virtio core and a BlockBackend.
 *
 * Spec: OASIS VIRTIO 1.2, 5.2 "Block Device" (5.2.3 feature bits, 5.2.4
 * struct virtio_blk_config, 5.2.5 initialization, 5.2.6 device operation:
 * struct virtio_blk_req with its 16-byte header first and the status byte
 * last, VIRTIO_BLK_T_IN/OUT/FLUSH/GET_ID/DISCARD/WRITE_ZEROES, struct
 * virtio_blk_discard_write_zeroes).  Device names, properties and PCI
 * identity are QEMU's: "virtio-blk-pci" (alias "virtio-blk"),
 * transitional 1af4:1001 / modern 1af4:1042, class 0x0100 (SCSI storage,
 * as QEMU), subsystem 1af4:0002.
 *
 * The data path:
 * - each queue owns queue-size preallocated requests (VirtIOBlockReq); a
 *   run pops chains only while one is free, so nothing is allocated per
 *   request;
 * - reads and writes go to the block layer straight from the guest's
 *   buffers (blk_aio_preadv/pwritev on the chain's iovecs, trimmed in
 *   place), asynchronously; with aio=io_uring they reach the ring without
 *   a copy or a worker thread;
 * - completions push the chain and mark the queue; one interrupt per
 *   queue per batch (end of a queue run, or a completion "bottom half"
 *   that runs once after the completions of a main-loop iteration);
 * - with iothread= the queues and the drive's node (its AioContext) live
 *   in that I/O thread, completions included; interrupts leave through
 *   irqfds or the core's main-loop fallback;
 * - a failed request goes through the drive's werror/rerror policy: report
 *   (IOERR), ignore (OK), stop (the request is held, the VM stops, `cont`
 *   resubmits it through BlockDevOps.retry_cb);
 * - a reset bumps each queue's generation: requests still in flight then
 *   complete into nothing (their slot is freed, the new rings untouched).
 *
 * Guest input is hostile: the header, the status byte, every sector range
 * and every discard/write-zeroes segment is checked; malformed framing
 * (no 16-byte header, no status byte) breaks the device (NEEDS_RESET) as
 * QEMU does, everything else answers IOERR or UNSUPP.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-blk.h"
#include "hw/virtio/guest-ram.h"
#include "hw/nvram/fw_cfg.h"
#include "system/blockdev.h"
#include "system/main-loop.h"

#define VIRTIO_BLK_DEFAULT_QUEUE_SIZE   256
/* QEMU's BDRV_REQUEST_MAX_SECTORS, the default discard/zeroes limits. */
#define VIRTIO_BLK_MAX_REQ_SECTORS      ((uint32_t)(INT32_MAX >> 9))

typedef struct VirtIOBlockPCI {
    VirtIOPCIProxy proxy;
    VirtIOBlock blk;
} VirtIOBlockPCI;

static void vblk_handle_output(VirtIODevice *vdev, VirtQueue *vq);

static inline uint16_t ld16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static inline uint32_t ld32(const uint8_t *p)
{
    return ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static inline uint64_t ld64(const uint8_t *p)
{
    return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static inline void st32(uint8_t *p, uint32_t v)
{
    st16(p, v);
    st16(p + 2, v >> 16);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    st32(p, v);
    st32(p + 4, v >> 32);
}

static uint64_t vblk_capacity(VirtIOBlock *s)
{
    return blk_getlength(s->blk) / VIRTIO_BLK_SECTOR;
}

/* Handlers outside the big lock (I/O thread) map guest RAM under the
 * table's read lock; holders of the big lock read it freely. */
static bool ram_lock(void)
{
    if (bql_locked()) {
        return false;
    }
    guest_ram_read_lock();
    return true;
}

static void ram_unlock(bool locked)
{
    if (locked) {
        guest_ram_read_unlock();
    }
}

/* ---- requests: the free lists --------------------------------------- */

static VirtIOBlockReq *req_get(VirtIOBlockQueue *q)
{
    VirtIOBlockReq *req = q->free;

    if (req) {
        q->free = req->next;
        req->next = NULL;
        req->gen = q->gen;
        req->flushing = false;
        q->inflight++;
        __atomic_add_fetch(&q->s->inflight, 1, __ATOMIC_RELAXED);
    }
    return req;
}

static void vblk_schedule_bh(VirtIOBlock *s)
{
    bh_schedule(s->bh);
}

static void req_put(VirtIOBlockReq *req)
{
    VirtIOBlockQueue *q = req->q;

    req->next = q->free;
    q->free = req;
    q->inflight--;
    __atomic_sub_fetch(&q->s->inflight, 1, __ATOMIC_RELAXED);
    if (q->starved) {
        vblk_schedule_bh(q->s);     /* the run that stopped goes on */
    }
}

/*
 * Give the chain back with @status in its status byte.  A request from
 * before a reset (generation changed) only frees its slot: the rings it
 * came from are gone.
 */
static void req_finish(VirtIOBlockReq *req, uint8_t status)
{
    VirtIOBlockQueue *q = req->q;

    if (req->gen == q->gen) {
        *req->status = status;
        virtqueue_push(q->vq, &req->elem, req->in_len);
        q->need_notify = true;
    }
    req_put(req);
}

static void queue_notify_if_needed(VirtIOBlockQueue *q)
{
    if (q->need_notify) {
        q->need_notify = false;
        virtio_notify(&q->s->vdev, q->vq);
    }
}

/*
 * The completion bottom half: once per main-loop (or I/O thread)
 * iteration that completed requests, one interrupt per queue, and
 * queues whose run stopped for want of a free request run again.
 */
static void vblk_bh_run(void *opaque)
{
    VirtIOBlock *s = opaque;
    bool locked = ram_lock();

    for (unsigned i = 0; i < s->num_queues; i++) {
        VirtIOBlockQueue *q = &s->queues[i];

        if (q->starved && q->free) {
            vblk_handle_output(&s->vdev, q->vq);
        }
        queue_notify_if_needed(q);
    }
    ram_unlock(locked);
}

/* ---- errors: werror / rerror ----------------------------------------- */

typedef struct VblkErrorReport {
    BlockBackend *blk;
    BlockErrorAction action;
    bool is_read;
    int error;
} VblkErrorReport;

static void error_report_main(void *opaque)
{
    VblkErrorReport *r = opaque;

    blk_error_action(r->blk, r->action, r->is_read, r->error);
    g_free(r);
}

/* BLOCK_IO_ERROR and, for stop, the VM stop: on the main thread. */
static void vblk_error_action(VirtIOBlock *s, BlockErrorAction action,
                              bool is_read, int error)
{
    VblkErrorReport *r;

    if (bql_locked()) {
        blk_error_action(s->blk, action, is_read, error);
        return;
    }
    r = g_new(VblkErrorReport, 1);      /* error path only */
    *r = (VblkErrorReport){ s->blk, action, is_read, error };
    main_loop_call(error_report_main, r);
}

/* Hold @req until the VM resumes (werror/rerror=stop). */
static void req_hold(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;

    g_mutex_lock(&s->held_lock);
    req->next = s->held;
    s->held = req;
    g_mutex_unlock(&s->held_lock);
}

/* ---- submitting ------------------------------------------------------ */

static void req_io_done(void *opaque, int ret);

static void req_submit(VirtIOBlockReq *req)
{
    BlockBackend *blk = req->s->blk;

    switch (req->type) {
    case VIRTIO_BLK_T_IN:
        blk_aio_preadv(blk, &req->aio, req->offset, req->iov, req->niov,
                       req_io_done, req);
        break;
    case VIRTIO_BLK_T_OUT:
        req->flushing = false;
        blk_aio_pwritev(blk, &req->aio, req->offset, req->iov, req->niov,
                        req_io_done, req);
        break;
    case VIRTIO_BLK_T_FLUSH:
        blk_aio_flush(blk, req_io_done, req);
        break;
    case VIRTIO_BLK_T_DISCARD:
        blk_aio_pdiscard(blk, req->offset, req->bytes, req_io_done, req);
        break;
    case VIRTIO_BLK_T_WRITE_ZEROES:
        blk_aio_pwrite_zeroes(blk, req->offset, req->bytes, req->zero_flags,
                              req_io_done, req);
        break;
    default:
        g_assert_not_reached();
    }
}

/* The guest turned the write cache off (CONFIG_WCE) on a drive that
 * caches: each write is followed by a flush before it completes. */
static bool vblk_needs_flush_after_write(VirtIOBlock *s)
{
    return !s->wce && s->drive_writeback;
}

static void req_io_done(void *opaque, int ret)
{
    VirtIOBlockReq *req = opaque;
    VirtIOBlock *s = req->s;
    bool locked = ram_lock();
    uint8_t status = VIRTIO_BLK_S_OK;

    if (req->gen != req->q->gen) {
        req_put(req);               /* reset meanwhile: drop it */
        goto out;
    }
    if (ret < 0) {
        bool is_read = req->type == VIRTIO_BLK_T_IN;
        BlockErrorAction action = blk_get_error_action(s->blk, is_read,
                                                       -ret);

        if (action == BLOCK_ERROR_ACTION_STOP) {
            req_hold(req);
            vblk_error_action(s, action, is_read, -ret);
            goto out;
        }
        vblk_error_action(s, action, is_read, -ret);
        status = action == BLOCK_ERROR_ACTION_IGNORE ? VIRTIO_BLK_S_OK
                                                     : VIRTIO_BLK_S_IOERR;
    } else if (req->type == VIRTIO_BLK_T_OUT && !req->flushing &&
               vblk_needs_flush_after_write(s)) {
        req->flushing = true;
        blk_aio_flush(s->blk, req_io_done, req);
        goto out;
    }
    req_finish(req, status);
    vblk_schedule_bh(s);
out:
    ram_unlock(locked);
}

/* ---- parsing a request ------------------------------------------------ */

/* Take @n bytes off the front of iov[0..*cnt); returns the new start. */
static struct iovec *iov_skip_front(struct iovec *iov, unsigned *cnt,
                                    size_t n)
{
    while (n && *cnt) {
        if (iov->iov_len <= n) {
            n -= iov->iov_len;
            iov++;
            (*cnt)--;
        } else {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= n;
            n = 0;
        }
    }
    return iov;
}

static uint64_t iov_bytes(const struct iovec *iov, int n)
{
    uint64_t total = 0;

    for (int i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

/* [sector, sector + bytes) inside the disk and on logical blocks. */
static bool vblk_range_ok(VirtIOBlock *s, uint64_t sector, uint64_t bytes)
{
    uint64_t cap = vblk_capacity(s);
    uint64_t lbs = s->logical_block_size;

    if (bytes % lbs || (sector * VIRTIO_BLK_SECTOR) % lbs) {
        return false;
    }
    return sector <= cap && bytes / VIRTIO_BLK_SECTOR <= cap - sector;
}

/* GET_ID: the serial, NUL-padded to 20 bytes, as far as the buffer goes. */
static uint8_t vblk_get_id(VirtIOBlockReq *req)
{
    char id[VIRTIO_BLK_ID_BYTES] = { 0 };
    uint64_t room = iov_bytes(req->iov, req->niov);
    size_t done = 0;

    if (req->s->serial) {
        memcpy(id, req->s->serial,
               MIN(strlen(req->s->serial), sizeof(id)));
    }
    for (int i = 0; i < req->niov && done < MIN(room, sizeof(id)); i++) {
        size_t n = MIN(req->iov[i].iov_len, sizeof(id) - done);
        memcpy(req->iov[i].iov_base, id + done, n);
        done += n;
    }
    return VIRTIO_BLK_S_OK;
}

/*
 * DISCARD / WRITE_ZEROES: one segment (max_*_seg is 1, as QEMU), flags
 * known, inside the disk, within max_*_sectors.  Returns a status, or
 * -1 when the request was submitted.
 */
static int vblk_parse_dwz(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;
    bool zeroes = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint64_t len = iov_bytes(req->iov, req->niov);
    uint8_t seg[VIRTIO_BLK_DWZ_SEG_SIZE];
    uint64_t sector;
    uint32_t num, flags;
    size_t got = 0;

    if (zeroes ? !s->write_zeroes : !s->discard) {
        return VIRTIO_BLK_S_UNSUPP;
    }
    if (len > VIRTIO_BLK_DWZ_SEG_SIZE) {
        return VIRTIO_BLK_S_UNSUPP;     /* more segments than offered */
    }
    for (int i = 0; i < req->niov && got < sizeof(seg); i++) {
        size_t n = MIN(req->iov[i].iov_len, sizeof(seg) - got);
        memcpy(seg + got, req->iov[i].iov_base, n);
        got += n;
    }
    if (got < sizeof(seg)) {
        return VIRTIO_BLK_S_IOERR;      /* a short segment */
    }
    sector = ld64(seg);
    num = ld32(seg + 8);
    flags = ld32(seg + 12);
    if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
        (!zeroes && flags)) {
        return VIRTIO_BLK_S_UNSUPP;
    }
    if (blk_is_read_only(s->blk) ||
        num > (zeroes ? s->max_write_zeroes_sectors
                      : s->max_discard_sectors) ||
        !vblk_range_ok(s, sector, (uint64_t)num * VIRTIO_BLK_SECTOR)) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (!num) {
        return VIRTIO_BLK_S_OK;
    }
    req->offset = sector * VIRTIO_BLK_SECTOR;
    req->bytes = (uint64_t)num * VIRTIO_BLK_SECTOR;
    req->zero_flags = (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
                      ? BDRV_REQ_MAY_UNMAP : 0;
    req_submit(req);
    return -1;
}

/*
 * Parse and start one popped request.  False when its framing is broken
 * (the device is now broken too, and the slot was freed).
 */
static bool vblk_handle_request(VirtIOBlockReq *req)
{
    VirtIOBlock *s = req->s;
    VirtQueueElement *e = &req->elem;
    uint8_t hdr[VIRTIO_BLK_OUTHDR_SIZE];
    struct iovec *out, *in, *last;
    unsigned out_num = e->out_num, in_num = e->in_num;
    uint64_t sector;
    int status;

    if (!in_num || virtqueue_elem_to_buf(e, 0, hdr, sizeof(hdr)) <
                   sizeof(hdr)) {
        virtio_error(&s->vdev, "virtio-blk missing headers");
        req_put(req);
        return false;
    }
    req->in_len = virtqueue_elem_in_size(e);
    /* The status byte: the last byte of the last device-writable buffer. */
    last = &e->sg[out_num + in_num - 1];
    req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    last->iov_len--;
    in = virtqueue_elem_in(e);
    if (!last->iov_len) {
        in_num--;
    }
    out = iov_skip_front(e->sg, &out_num, sizeof(hdr));

    req->type = ld32(hdr) & ~VIRTIO_BLK_T_BARRIER;
    sector = ld64(hdr + 8);
    switch (req->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool write = req->type == VIRTIO_BLK_T_OUT;

        req->iov = write ? out : in;
        req->niov = write ? out_num : in_num;
        req->bytes = iov_bytes(req->iov, req->niov);
        if ((write && blk_is_read_only(s->blk)) ||
            !vblk_range_ok(s, sector, req->bytes)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
        }
        if (!req->bytes) {
            status = VIRTIO_BLK_S_OK;
            break;
        }
        req->offset = sector * VIRTIO_BLK_SECTOR;
        req_submit(req);
        return true;
    }
    case VIRTIO_BLK_T_FLUSH:
        req_submit(req);
        return true;
    case VIRTIO_BLK_T_GET_ID:
        req->iov = in;
        req->niov = in_num;
        status = vblk_get_id(req);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        req->iov = out;
        req->niov = out_num;
        status = vblk_parse_dwz(req);
        if (status < 0) {
            return true;
        }
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    req_finish(req, status);
    return true;
}

/*
 * A queue run: pop while there are chains and free requests, with kicks
 * suppressed meanwhile (and a last look after re-enabling them), then
 * one interrupt for what completed during the run.  Passes that pop
 * nothing end the run after the second one, whatever the ring says, so a
 * ring the chain walker will not take (but does not call broken either)
 * cannot keep the run going.
 */
static void vblk_handle_output(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;
    VirtIOBlockQueue *q = &s->queues[vq->index];
    unsigned idle_passes = 0;
    BlockDriverState *plugged;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) || vdev->broken) {
        return;
    }
    q->starved = false;
    plugged = blk_io_plug(s->blk);
    do {
        bool popped = false;

        virtio_queue_set_notification(vq, false);
        for (;;) {
            VirtIOBlockReq *req = req_get(q);

            if (!req) {
                q->starved = true;  /* a completion resumes the run */
                break;
            }
            if (!virtqueue_pop(vq, &req->elem)) {
                req_put(req);
                break;
            }
            popped = true;
            if (!vblk_handle_request(req)) {
                break;
            }
        }
        virtio_queue_set_notification(vq, true);
        idle_passes = popped ? 0 : idle_passes + 1;
    } while (idle_passes < 2 && !q->starved && !vdev->broken &&
             !virtio_queue_empty(vq));
    blk_io_unplug(plugged);
    queue_notify_if_needed(q);
}

/* ---- BlockDevOps ------------------------------------------------------ */

static void vblk_retry_in_thread(void *opaque)
{
    VirtIOBlock *s = opaque;
    VirtIOBlockReq *list, *next;
    bool locked = ram_lock();

    g_mutex_lock(&s->held_lock);
    list = s->held;
    s->held = NULL;
    g_mutex_unlock(&s->held_lock);
    /* Oldest first: the list was built by pushing at the head. */
    for (VirtIOBlockReq *rev = NULL;; list = next) {
        if (!list) {
            list = rev;
            break;
        }
        next = list->next;
        list->next = rev;
        rev = list;
    }
    for (; list; list = next) {
        next = list->next;
        list->next = NULL;
        if (list->gen != list->q->gen) {
            req_put(list);
        } else {
            req_submit(list);
        }
    }
    ram_unlock(locked);
}

/* cont after werror/rerror=stop: run the held requests again. */
static void vblk_retry_cb(void *opaque)
{
    VirtIOBlock *s = opaque;

    if (s->vdev.iothread) {
        iothread_run_sync(s->vdev.iothread, vblk_retry_in_thread, s);
    } else {
        vblk_retry_in_thread(s);
    }
}

/* block_resize: the new capacity, and a configuration interrupt. */
static void vblk_resize_cb(void *opaque)
{
    VirtIOBlock *s = opaque;

    virtio_notify_config(&s->vdev);
}

static const BlockDevOps vblk_dev_ops = {
    .resize_cb = vblk_resize_cb,
    .retry_cb = vblk_retry_cb,
};

/* ---- the virtio device ------------------------------------------------ */

static uint64_t vblk_get_features(VirtIODevice *vdev, uint64_t f)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;

    /* QEMU 7.2's set: no SIZE_MAX.  SeaBIOS 1.16 divides size_max by the
     * block size into a u16 request count; 1 GiB / 512 wraps to 0 and it
     * then sends zero-length data buffers (GRUB never loaded). */
    f |= 1ULL << VIRTIO_BLK_F_SEG_MAX |
         1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_TOPOLOGY |
         1ULL << VIRTIO_BLK_F_FLUSH;
    if (s->config_wce) {
        f |= 1ULL << VIRTIO_BLK_F_CONFIG_WCE;
    }
    if (s->num_queues > 1 && s->num_queues != UINT16_MAX) {  /* not auto */
        f |= 1ULL << VIRTIO_BLK_F_MQ;
    }
    if (s->discard) {
        f |= 1ULL << VIRTIO_BLK_F_DISCARD;
    }
    if (s->write_zeroes) {
        f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    }
    if (s->blk && blk_is_read_only(s->blk)) {
        f |= 1ULL << VIRTIO_BLK_F_RO;
    }
    return f;
}

/*
 * 5.2.5/5.2.6.3: without CONFIG_WCE the cache mode follows FLUSH: a
 * driver that cannot flush gets a write-through device.
 */
static void vblk_set_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;

    if (!virtio_has_feature(features, VIRTIO_BLK_F_CONFIG_WCE)) {
        s->wce = virtio_has_feature(features, VIRTIO_BLK_F_FLUSH) &&
                 s->drive_writeback;
    }
}

static void vblk_get_config(VirtIODevice *vdev, uint8_t *c)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;
    unsigned exp = 0;

    while ((s->logical_block_size << exp) < s->physical_block_size) {
        exp++;
    }
    memset(c, 0, VIRTIO_BLK_CFG_SIZE);
    st64(c + VIRTIO_BLK_CFG_CAPACITY, vblk_capacity(s));
    st32(c + VIRTIO_BLK_CFG_SIZE_MAX, 0);     /* not offered */
    st32(c + VIRTIO_BLK_CFG_SEG_MAX, s->queue_size - 2);
    st32(c + VIRTIO_BLK_CFG_BLK_SIZE, s->logical_block_size);
    c[VIRTIO_BLK_CFG_PHYS_BLOCK_EXP] = exp;
    c[VIRTIO_BLK_CFG_ALIGN_OFFSET] = 0;
    st16(c + VIRTIO_BLK_CFG_MIN_IO_SIZE,
         s->min_io_size / s->logical_block_size);
    st32(c + VIRTIO_BLK_CFG_OPT_IO_SIZE,
         s->opt_io_size / s->logical_block_size);
    c[VIRTIO_BLK_CFG_WRITEBACK] = s->wce;
    st16(c + VIRTIO_BLK_CFG_NUM_QUEUES, s->num_queues);
    st32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, s->max_discard_sectors);
    st32(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
    st32(c + VIRTIO_BLK_CFG_DISCARD_ALIGN,
         s->logical_block_size / VIRTIO_BLK_SECTOR);
    st32(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, s->max_write_zeroes_sectors);
    st32(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
    c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

/* Only the writeback byte is writable, and only with CONFIG_WCE. */
static void vblk_set_config(VirtIODevice *vdev, const uint8_t *c)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;

    if (s->config_wce) {
        s->wce = c[VIRTIO_BLK_CFG_WRITEBACK] != 0;
    }
}

/* Forget what is in flight on queue @n (in the queue's thread). */
static void vblk_queue_forget(VirtIOBlockQueue *q)
{
    q->gen++;
    q->need_notify = false;
}

typedef struct QueueResetArg {
    VirtIOBlock *s;
    int n;                          /* -1: all */
} QueueResetArg;

static void vblk_forget_in_thread(void *opaque)
{
    QueueResetArg *a = opaque;
    VirtIOBlock *s = a->s;
    VirtIOBlockReq *held, *next;

    for (unsigned i = 0; i < s->num_queues; i++) {
        if (a->n < 0 || (unsigned)a->n == i) {
            vblk_queue_forget(&s->queues[i]);
        }
    }
    /* Held requests of forgotten queues give their slots back. */
    g_mutex_lock(&s->held_lock);
    held = s->held;
    s->held = NULL;
    for (; held; held = next) {
        next = held->next;
        if (held->gen != held->q->gen) {
            req_put(held);
        } else {
            held->next = s->held;
            s->held = held;
        }
    }
    g_mutex_unlock(&s->held_lock);
}

static void vblk_forget(VirtIOBlock *s, int n)
{
    QueueResetArg a = { s, n };

    if (s->vdev.iothread) {
        iothread_run_sync(s->vdev.iothread, vblk_forget_in_thread, &a);
    } else {
        vblk_forget_in_thread(&a);
    }
}

static void vblk_reset(VirtIODevice *vdev)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;

    vblk_forget(s, -1);
    s->wce = s->drive_writeback;
}

static void vblk_queue_reset(VirtIODevice *vdev, unsigned n)
{
    vblk_forget((VirtIOBlock *)vdev, n);
}

/* werror=/rerror= on the device override the drive's ("auto": keep). */
static bool vblk_apply_on_error(VirtIOBlock *s, GError **errp)
{
    BlockdevOnError r = blk_get_on_error(s->blk, true);
    BlockdevOnError w = blk_get_on_error(s->blk, false);

    if (s->rerror && strcmp(s->rerror, "auto") &&
        !blk_parse_on_error(s->rerror, true, &r, errp)) {
        return false;
    }
    if (s->werror && strcmp(s->werror, "auto") &&
        !blk_parse_on_error(s->werror, false, &w, errp)) {
        return false;
    }
    blk_set_on_error(s->blk, r, w);
    return true;
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static bool vblk_check_props(VirtIOBlock *s, GError **errp)
{
    if (!s->drive_id) {
        error_setg(errp, "drive property not set");
        return false;
    }
    if (s->num_queues == UINT16_MAX) {
        s->num_queues = 1;              /* "auto": one queue */
    }
    if (!s->num_queues || s->num_queues > VIRTIO_QUEUE_MAX) {
        error_setg(errp, "num-queues property must be larger than 0 and "
                   "not larger than %d", VIRTIO_QUEUE_MAX);
        return false;
    }
    if (s->queue_size <= 2 || !is_pow2(s->queue_size) ||
        s->queue_size > VIRTQUEUE_MAX_SIZE) {
        error_setg(errp, "invalid queue-size property (%" PRIu16 "), must "
                   "be a power of 2 (> 2) and not larger than %d",
                   s->queue_size, VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (s->logical_block_size < 512 || s->logical_block_size > 32768 ||
        !is_pow2(s->logical_block_size)) {
        error_setg(errp, "Property 'logical_block_size' must be a power of "
                   "2 between 512 and 32768");
        return false;
    }
    if (!s->physical_block_size) {
        s->physical_block_size = s->logical_block_size;
    }
    if (!is_pow2(s->physical_block_size) ||
        s->physical_block_size < s->logical_block_size ||
        s->physical_block_size > 32768 * 4) {
        error_setg(errp, "physical_block_size must be a power of 2 not "
                   "smaller than logical_block_size");
        return false;
    }
    if (s->min_io_size % s->logical_block_size ||
        s->min_io_size / s->logical_block_size > UINT16_MAX ||
        s->opt_io_size % s->logical_block_size ||
        s->opt_io_size / s->logical_block_size > UINT32_MAX) {
        error_setg(errp, "min_io_size and opt_io_size must be multiples of "
                   "logical_block_size");
        return false;
    }
    if (!s->max_discard_sectors || !s->max_write_zeroes_sectors ||
        s->max_discard_sectors > VIRTIO_BLK_MAX_REQ_SECTORS ||
        s->max_write_zeroes_sectors > VIRTIO_BLK_MAX_REQ_SECTORS) {
        error_setg(errp, "max-discard-sectors and max-write-zeroes-sectors "
                   "must be between 1 and %u", VIRTIO_BLK_MAX_REQ_SECTORS);
        return false;
    }
    return true;
}

static bool vblk_attach_backend(VirtIOBlock *s, GError **errp)
{
    s->blk = blockdev_backend_for_device(s->drive_id, errp);
    if (!s->blk) {
        return false;
    }
    s->blk_made = !*blk_name(s->blk);
    if (!blk_is_inserted(s->blk)) {
        error_setg(errp, "Device needs media, but drive is empty");
        goto fail;
    }
    if (!vblk_apply_on_error(s, errp)) {
        goto fail;
    }
    /* Attached first: a permission conflict names this device. */
    blk_attach_dev(s->blk, s->vdev.dev, NULL);
    blk_set_dev_child(s->blk, "virtio-backend");
    if (!blk_set_dev_perm(s->blk, true, s->share_rw, errp)) {
        blk_detach_dev(s->blk);
        goto fail;
    }
    blk_set_dev_ops(s->blk, &vblk_dev_ops, s);
    blk_iostatus_enable(s->blk);
    return true;
fail:
    if (s->blk_made) {
        blk_delete(s->blk);
    }
    s->blk = NULL;
    return false;
}

static void vblk_init_queues(VirtIOBlock *s)
{
    s->queues = g_new0(VirtIOBlockQueue, s->num_queues);
    for (unsigned i = 0; i < s->num_queues; i++) {
        VirtIOBlockQueue *q = &s->queues[i];

        q->s = s;
        q->vq = virtio_add_queue(&s->vdev, s->queue_size, vblk_handle_output);
        /* Zeroed pages are only touched once a slot is used. */
        q->reqs = g_malloc0_n(s->queue_size, sizeof(VirtIOBlockReq));
        for (int j = s->queue_size - 1; j >= 0; j--) {
            q->reqs[j].s = s;
            q->reqs[j].q = q;
            q->reqs[j].next = q->free;
            q->free = &q->reqs[j];
        }
    }
}

static bool vblk_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;
    VirtIOPCIProxy *p = virtio_pci_proxy(vdev);
    int devfn = p->pci.devfn;

    if (!vblk_check_props(s, errp) || !vblk_attach_backend(s, errp)) {
        return false;
    }
    /* Read-only drives add VIRTIO_BLK_F_RO, known only now. */
    vdev->host_features = vblk_get_features(vdev, vdev->host_features);
    s->drive_writeback = !(blk_get_open_flags(s->blk) & BDRV_O_WRITETHROUGH);
    s->wce = s->drive_writeback;
    if (p->nvectors == VIRTIO_PCI_NVECTORS_UNSPECIFIED) {
        p->nvectors = s->num_queues + 1;    /* QEMU's default */
    }
    g_mutex_init(&s->held_lock);
    vblk_init_queues(s);
    /* The node's completions run where the queues do. */
    if (vdev->iothread) {
        blk_set_aio_context(s->blk, iothread_get_context(vdev->iothread));
    }
    s->bh = bh_new(vdev->iothread ? iothread_get_context(vdev->iothread)
                                  : g_main_context_default(),
                   vblk_bh_run, s);
    if (s->bootindex >= 0) {
        /* SeaBIOS matches its virtio-blk by the PCI path ("scsi" is the
         * class's name, as QEMU writes it). */
        s->boot_path = PCI_FUNC(devfn)
            ? g_strdup_printf("/pci@i0cf8/scsi@%x,%x/disk@0,0",
                              PCI_SLOT(devfn), PCI_FUNC(devfn))
            : g_strdup_printf("/pci@i0cf8/scsi@%x/disk@0,0",
                              PCI_SLOT(devfn));
        fw_boot_order_add(s->bootindex, s->boot_path);
    }
    return true;
}

/*
 * Wait for every request to come back (unplug), after vblk_forget():
 * held requests were released then, and the rest complete into nothing.
 */
static void vblk_drain(VirtIOBlock *s)
{
    while (__atomic_load_n(&s->inflight, __ATOMIC_RELAXED) > 0) {
        if (s->vdev.iothread) {
            g_usleep(100);          /* the I/O thread completes them */
        } else {
            g_main_context_iteration(NULL, TRUE);
        }
    }
}

static void vblk_bh_destroy(void *opaque)
{
    VirtIOBlock *s = opaque;

    bh_free(s->bh);
    s->bh = NULL;
}

static void vblk_unrealize(VirtIODevice *vdev)
{
    VirtIOBlock *s = (VirtIOBlock *)vdev;

    vblk_forget(s, -1);
    vblk_drain(s);
    if (s->boot_path) {
        fw_boot_order_remove(s->boot_path);
        g_free(s->boot_path);
        s->boot_path = NULL;
    }
    if (vdev->iothread) {
        iothread_run_sync(vdev->iothread, vblk_bh_destroy, s);
    } else {
        vblk_bh_destroy(s);
    }
    if (vdev->iothread) {
        blk_set_aio_context(s->blk, NULL);
    }
    blk_set_dev_ops(s->blk, NULL, NULL);
    blk_detach_dev(s->blk);
    if (s->blk_made) {
        blk_delete(s->blk);
    }
    s->blk = NULL;
    for (unsigned i = 0; i < s->num_queues; i++) {
        g_free(s->queues[i].reqs);
    }
    g_free(s->queues);
    s->queues = NULL;
    g_mutex_clear(&s->held_lock);
}

static int vblk_post_load(void *opaque, int version_id)
{
    VirtIOBlockPCI *d = opaque;

    if (!virtio_core_post_load(&d->blk.vdev)) {
        return -1;
    }
    d->blk.wce = d->blk.wce != 0;
    virtio_pci_post_load(&d->proxy);
    return 0;
}

/* Requests in flight are not part of the state (a loaded device has
 * none); see docs/virtio.md. */
static const VMStateDescription vmstate_virtio_blk = {
    .name = "virtio-blk",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vblk_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(blk.vdev, VirtIOBlockPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_UINT8(blk.wce, VirtIOBlockPCI),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass vblk_vdc = {
    .device_id = VIRTIO_ID_BLOCK,
    .legacy_pci_device_id = 0x1001,
    .pci_class_id = PCI_CLASS_STORAGE_SCSI,
    .config_size = VIRTIO_BLK_CFG_SIZE,
    .get_features = vblk_get_features,
    .set_features = vblk_set_features,
    .get_config = vblk_get_config,
    .set_config = vblk_set_config,
    .reset = vblk_reset,
    .queue_reset = vblk_queue_reset,
};

static const VirtioPCIClass vblk_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1001,
        .class_id = PCI_CLASS_STORAGE_SCSI,
        .interrupt_pin = 1,
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &vblk_vdc,
    .vdev_offset = offsetof(VirtIOBlockPCI, blk),
    .realize = vblk_realize,
    .unrealize = vblk_unrealize,
};

static const Property vblk_pci_props[] = {
    DEFINE_PROP("drive", VirtIOBlockPCI, blk.drive_id, PROP_STRING, NULL,
                "a -drive id or a -blockdev node name"),
    DEFINE_PROP("share-rw", VirtIOBlockPCI, blk.share_rw, PROP_BOOL, "off",
                "let other processes write the image too (image locks)"),
    DEFINE_PROP("iothread", VirtIOBlockPCI, proxy.iothread_id, PROP_STRING,
                NULL, "ID of an -object iothread to run the queues and the "
                "drive's I/O in"),
    DEFINE_PROP("num-queues", VirtIOBlockPCI, blk.num_queues, PROP_UINT16,
                "65535", "request queues (65535: auto, one)"),
    DEFINE_PROP("queue-size", VirtIOBlockPCI, blk.queue_size, PROP_UINT16,
                "256", "descriptors per queue (power of 2, at most 1024)"),
    DEFINE_PROP("serial", VirtIOBlockPCI, blk.serial, PROP_STRING, NULL,
                "disk serial number (GET_ID, 20 bytes)"),
    DEFINE_PROP("logical_block_size", VirtIOBlockPCI, blk.logical_block_size,
                PROP_SIZE, "512", "logical block size (blk_size)"),
    DEFINE_PROP("physical_block_size", VirtIOBlockPCI,
                blk.physical_block_size, PROP_SIZE, "512",
                "physical block size (topology)"),
    DEFINE_PROP("min_io_size", VirtIOBlockPCI, blk.min_io_size, PROP_SIZE,
                "0", "minimum I/O size (topology)"),
    DEFINE_PROP("opt_io_size", VirtIOBlockPCI, blk.opt_io_size, PROP_SIZE,
                "0", "optimal I/O size (topology)"),
    DEFINE_PROP("discard", VirtIOBlockPCI, blk.discard, PROP_BOOL, "on",
                "offer VIRTIO_BLK_F_DISCARD"),
    DEFINE_PROP("write-zeroes", VirtIOBlockPCI, blk.write_zeroes, PROP_BOOL,
                "on", "offer VIRTIO_BLK_F_WRITE_ZEROES"),
    DEFINE_PROP("max-discard-sectors", VirtIOBlockPCI,
                blk.max_discard_sectors, PROP_UINT32, "4194303",
                "max_discard_sectors in the configuration"),
    DEFINE_PROP("max-write-zeroes-sectors", VirtIOBlockPCI,
                blk.max_write_zeroes_sectors, PROP_UINT32, "4194303",
                "max_write_zeroes_sectors in the configuration"),
    DEFINE_PROP("config-wce", VirtIOBlockPCI, blk.config_wce, PROP_BOOL, "on",
                "offer VIRTIO_BLK_F_CONFIG_WCE (writeback byte writable)"),
    DEFINE_PROP("bootindex", VirtIOBlockPCI, blk.bootindex, PROP_INT32, "-1",
                "boot order for the firmware (lower first); -1: none"),
    DEFINE_PROP("werror", VirtIOBlockPCI, blk.werror, PROP_STRING, "auto",
                "write errors: auto, report, ignore, enospc, stop"),
    DEFINE_PROP("rerror", VirtIOBlockPCI, blk.rerror, PROP_STRING, "auto",
                "read errors: auto, report, ignore, stop"),
    DEFINE_PROP("vectors", VirtIOBlockPCI, proxy.nvectors, PROP_UINT32,
                "4294967295", "MSI-X vectors (0: INTx only; default "
                "num-queues + 1)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_blk_pci_type = {
    .name = TYPE_VIRTIO_BLK_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-blk-pci",
    .instance_size = sizeof(VirtIOBlockPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = vblk_pci_props,
    .vmsd = &vmstate_virtio_blk,
    .class_data = &vblk_pci_class,
};

static void virtio_blk_register(void)
{
    device_type_register(&virtio_blk_pci_type);
    device_type_register_alias("virtio-blk", TYPE_VIRTIO_BLK_PCI);
}
type_init(virtio_blk_register)
