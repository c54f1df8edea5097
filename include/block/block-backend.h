/*
 * BlockBackend: what a device model attaches to.
 *
 * A backend has a name (the -drive id; "" for the anonymous backend a
 * "-device ...,drive=<node-name>" or an empty ide-cd gets), a root node
 * that may be absent (no medium), at most one attached device with its
 * callbacks (BlockDevOps), the device's error policy (werror/rerror) and
 * I/O status, and I/O counters for query-blockstats.  Devices never call
 * bdrv_* themselves: the data path below forwards to the root node,
 * counts, and hands the device a negative errno on failure, which the
 * device passes to blk_get_error_action()/blk_error_action() to learn
 * whether to report the error, ignore it, or stop the VM and retry the
 * request when it resumes (BlockDevOps.retry).  See docs/block.md.
 *
 * Threads: the data path may be called from vCPU threads and thread-pool
 * completions; the counters are atomics (no lock on the data path).
 * Everything else (attach, media, queries) runs under the big lock.
 */
#ifndef BLOCK_BLOCK_BACKEND_H
#define BLOCK_BLOCK_BACKEND_H

#include "qemu/osdep.h"
#include <sys/uio.h>
#include "block/block.h"
#include "system/exit-tail.h"
#include "qapi/qapi-types.h"

typedef struct BlockBackend BlockBackend;
typedef struct DeviceState DeviceState;

/* What the attached device tells (and is told by) its backend. */
typedef struct BlockDevOps {
    /* A medium was inserted (@load) or removed, by a monitor command.
     * Devices with removable media have it. */
    void (*change_media_cb)(void *opaque, bool load);
    /* The monitor asks for the medium; @force also unlocks the tray. */
    void (*eject_request_cb)(void *opaque, bool force);
    /* Devices with a tray have it. */
    bool (*is_tray_open)(void *opaque);
    bool (*is_medium_locked)(void *opaque);
    /* The root node's size changed (block_resize). */
    void (*resize_cb)(void *opaque);
    /* The VM resumed after an error stopped it: run the failed request
     * again (werror/rerror=stop). */
    void (*retry_cb)(void *opaque);
} BlockDevOps;

/* I/O counters (QEMU's BlockDeviceStats names). */
typedef enum BlockAcctType {
    BLOCK_ACCT_READ,
    BLOCK_ACCT_WRITE,
    BLOCK_ACCT_FLUSH,
    BLOCK_ACCT_UNMAP,
    BLOCK_ACCT__MAX,
} BlockAcctType;

typedef struct BlockAcctStats {
    uint64_t bytes[BLOCK_ACCT__MAX];
    uint64_t ops[BLOCK_ACCT__MAX];
    uint64_t failed_ops[BLOCK_ACCT__MAX];
    uint64_t invalid_ops[BLOCK_ACCT__MAX];
    uint64_t total_time_ns[BLOCK_ACCT__MAX];
    uint64_t wr_highest_offset;
    int64_t last_access_ns;         /* monotonic; 0 = no request yet */
} BlockAcctStats;

/* ---- life cycle and lookup ----------------------------------------- */

/* @name NULL or "" makes an anonymous backend.  Named ones must be
 * unique (the caller checks, with its own message). */
BlockBackend *blk_new(const char *name);
/* Drop the root and detach; the device must be gone. */
void blk_delete(BlockBackend *blk);
const char *blk_name(const BlockBackend *blk);
BlockBackend *blk_by_name(const char *name);
/* The backend of the device with this id or QOM path. */
BlockBackend *blk_by_dev_id(const char *id);
/* Every backend, in creation order (do not modify). */
GPtrArray *blk_list(void);

/* ---- the medium ---------------------------------------------------- */

/* Insert @bs (takes a reference of its own); fails, inserting nothing,
 * when the backend's permissions cannot be had (an image lock). */
bool blk_insert_bs(BlockBackend *blk, BlockDriverState *bs, GError **errp);
void blk_remove_bs(BlockBackend *blk);
/* Swap the medium for @bs without telling the device (a mirror's pivot:
 * same size, same content); nothing may be in flight on the old one.
 * Fails, changing nothing, when @bs cannot have the device's image locks. */
bool blk_replace_bs(BlockBackend *blk, BlockDriverState *bs, GError **errp);
/* Make @bs the root without a drain: @bs is a filter over the root, or
 * the root a filter over @bs (the same data), in the root's AioContext;
 * requests out finish on the node they started on.  The caller
 * refreshes permissions. */
void blk_swap_root(BlockBackend *blk, BlockDriverState *bs);
BlockDriverState *blk_bs(BlockBackend *blk);
/* A medium is in (tray open or not). */
bool blk_is_inserted(BlockBackend *blk);
/* A medium is in and the tray, if any, is closed. */
bool blk_is_available(BlockBackend *blk);
bool blk_is_read_only(BlockBackend *blk);
uint64_t blk_getlength(BlockBackend *blk);
/* Resize the root node and tell the device. */
bool blk_truncate(BlockBackend *blk, uint64_t size, GError **errp);
/* A backend with no node keeps the open options its next medium gets
 * (blockdev-change-medium's "retain"). */
void blk_set_open_flags(BlockBackend *blk, int flags);
int blk_get_open_flags(BlockBackend *blk);

/* ---- permissions (docs/block.md "Image locking") -------------------- */

/* What the backend's user needs of its medium and lets others do (a new
 * backend: read, everything shared, as QEMU's -drive without a device);
 * refreshes the graph's permissions.  On failure nothing changes. */
bool blk_set_perm(BlockBackend *blk, unsigned perm, unsigned shared,
                  GError **errp);
/* A guest device's, as QEMU's devices take them: read, and write unless
 * the medium is read-only; nobody else may write (unless @share_rw, the
 * share-rw=on property) nor resize (unless @resizable: disks are, CD-ROM
 * and floppy drives are not). */
bool blk_set_dev_perm(BlockBackend *blk, bool resizable, bool share_rw,
                      GError **errp);
void blk_get_perm(BlockBackend *blk, unsigned *perm, unsigned *shared);

/* ---- the device ---------------------------------------------------- */

/* @dev may be NULL for a drive the machine attaches itself (if=ide). */
bool blk_attach_dev(BlockBackend *blk, DeviceState *dev, GError **errp);
bool blk_is_attached(BlockBackend *blk);
void blk_detach_dev(BlockBackend *blk);
DeviceState *blk_get_attached_dev(BlockBackend *blk);
/* QMP's "device" argument: a backend's medium, else a node by name
 * (QEMU's words: "Device 'X' has no medium", "Cannot find device='X'
 * nor node-name='X'"). */
BlockDriverState *blk_lookup_device_or_node(const char *device,
                                            GError **errp);
/* A device model uses @blk (attached, or its callbacks installed: the
 * board's legacy -drive if=ide/floppy disks). */
bool blk_has_device(BlockBackend *blk);
/* A device model whose disk QEMU's object model attaches to a child
 * object of the device (virtio proxies: "virtio-backend", a static
 * string) says so after blk_attach_dev: management tools (libvirt's
 * blockstats, block_set_io_throttle) name the disk by that child's path. */
void blk_set_dev_child(BlockBackend *blk, const char *child);
/* The device's id, else its QOM path ("" when none is attached); with a
 * child, the child's QOM path ("/machine/peripheral/ID/virtio-backend"),
 * as QEMU's query-block "qdev" shows it.  blk_by_dev_id takes all three. */
const char *blk_get_attached_dev_id(BlockBackend *blk);
void blk_set_dev_ops(BlockBackend *blk, const BlockDevOps *ops,
                     void *opaque);
bool blk_dev_has_removable_media(BlockBackend *blk);
bool blk_dev_has_tray(BlockBackend *blk);
bool blk_dev_is_tray_open(BlockBackend *blk);
bool blk_dev_is_medium_locked(BlockBackend *blk);
void blk_dev_eject_request(BlockBackend *blk, bool force);
/* Tell the device a medium came or went; sends DEVICE_TRAY_MOVED when
 * its tray moved. */
void blk_dev_change_media_cb(BlockBackend *blk, bool load);
/* The device moved its tray itself (the guest): DEVICE_TRAY_MOVED. */
void blk_tray_moved(BlockBackend *blk, bool open);

/* ---- the data path ------------------------------------------------- */

/* 0 or a negative errno.  Counted in the backend's statistics. */
int blk_pread(BlockBackend *blk, uint64_t offset, uint64_t bytes,
              void *buf);
int blk_pwrite(BlockBackend *blk, uint64_t offset, uint64_t bytes,
               const void *buf);
int blk_flush(BlockBackend *blk);
int blk_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes);
/* Zeroes over [offset, offset + bytes): BDRV_REQ_MAY_UNMAP lets the node
 * deallocate (with discard=unmap) as long as the range reads zero after. */
int blk_pwrite_zeroes(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      int flags);

/* Asynchronous forms: @cb runs on the root node's AioContext with 0 or a
 * negative errno; @buf must stay valid until then. */
typedef void BlockBackendCompletionFunc(void *opaque, int ret);
void blk_aio_pread(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                   void *buf, BlockBackendCompletionFunc *cb, void *opaque);
void blk_aio_pwrite(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                    const void *buf, BlockBackendCompletionFunc *cb,
                    void *opaque);
void blk_aio_flush(BlockBackend *blk, BlockBackendCompletionFunc *cb,
                   void *opaque);
void blk_aio_pwrite_zeroes(BlockBackend *blk, uint64_t offset,
                           uint64_t bytes, int flags,
                           BlockBackendCompletionFunc *cb, void *opaque);
void blk_aio_pdiscard(BlockBackend *blk, uint64_t offset, uint64_t bytes,
                      BlockBackendCompletionFunc *cb, void *opaque);

/*
 * Vectored forms, zero-copy from and into the caller's iovecs (guest
 * memory): the caller owns @req (embed it in the device's preallocated
 * request) and @iov until @cb runs, so on the host engines (io_uring,
 * Linux AIO) nothing is allocated per request.  A backend without a
 * medium completes with -ENOMEDIUM on the main loop.  Fields private.
 *
 * A read submitted from a vCPU's I/O exit that the host can serve at
 * once (raw over a buffered file whose page cache holds it) is read in
 * place and completes on the exit's tail, before the vCPU re-enters the
 * guest (include/system/exit-tail.h); @cb still never runs from inside
 * blk_aio_preadv.
 */
/* A request held back by the backend's I/O limits (private). */
typedef struct BlkThrottled {
    GList link;                 /* in the backend's queue */
    bool write;
    uint64_t bytes;
    void (*submit)(struct BlkThrottled *t);
} BlkThrottled;

typedef struct BlkAioVec {
    BlockBackend *blk;
    BlockAcctType type;
    uint64_t offset, bytes;
    int64_t start_ns;
    BlockBackendCompletionFunc *cb;
    void *opaque;
    BdrvAioVec bv;
    const struct iovec *iov;    /* kept while the I/O limits hold it */
    int niov;
    BlkThrottled thr;
    ExitTail tail;              /* a read done in place completes here */
} BlkAioVec;
/*
 * I/O limits (QMP block_set_io_throttle, -drive throttling.*; docs/block.md
 * "I/O limits"): @cfg for the throttle group @group (NULL or "": the
 * backend's own, named after it), which backends of the same group share.
 * A configuration with no limit takes the backend out of its group.
 * Reads and writes from blk_aio_* wait in the backend's queue until the
 * group's buckets let them go; the synchronous calls are not limited.
 */
struct ThrottleConfig;
bool blk_set_io_limits(BlockBackend *blk, const struct ThrottleConfig *cfg,
                       const char *group, GError **errp);
/* The limits in force and the group's name (false: none). */
bool blk_get_io_limits(BlockBackend *blk, struct ThrottleConfig *cfg,
                       const char **group);
void blk_aio_preadv(BlockBackend *blk, BlkAioVec *req, uint64_t offset,
                    const struct iovec *iov, int niov,
                    BlockBackendCompletionFunc *cb, void *opaque);
void blk_aio_pwritev(BlockBackend *blk, BlkAioVec *req, uint64_t offset,
                     const struct iovec *iov, int niov,
                     BlockBackendCompletionFunc *cb, void *opaque);
/*
 * One pass of a device over its queue: the host requests it submits
 * between these go to the kernel together (io_uring: one
 * io_uring_enter).  blk_io_plug returns the node it plugged (NULL: no
 * medium), which blk_io_unplug takes, so a root replaced meanwhile
 * cannot leave a node plugged.
 */
BlockDriverState *blk_io_plug(BlockBackend *blk);
void blk_io_unplug(BlockDriverState *plugged);

/*
 * Where completions run: the root node's AioContext.  A device with an
 * I/O thread moves its node there at realize and back (NULL: the main
 * loop) when it goes; nothing may be in flight (the device drains).
 * Every medium inserted later (a CD change) moves there too.
 */
void blk_set_aio_context(BlockBackend *blk, GMainContext *ctx);

/* Wait until no backend has a request in flight (big lock held: main
 * thread, or another thread that lets the main loop run completions). */
void blk_drain_all(void);
/* Flush every writable backend with a medium; the first error, or 0. */
int blk_flush_all(void);
GMainContext *blk_get_aio_context(BlockBackend *blk);

void blk_get_stats(BlockBackend *blk, BlockAcctStats *out);

/* ---- errors: werror / rerror and the I/O status --------------------- */

void blk_set_on_error(BlockBackend *blk, BlockdevOnError on_read_error,
                      BlockdevOnError on_write_error);
BlockdevOnError blk_get_on_error(BlockBackend *blk, bool is_read);
/* Parse "report", "ignore", "enospc" (writes only), "stop", "auto". */
bool blk_parse_on_error(const char *value, bool is_read,
                        BlockdevOnError *out, GError **errp);
/* What the policy says for @error (a positive errno). */
BlockErrorAction blk_get_error_action(BlockBackend *blk, bool is_read,
                                      int error);
/* Carry it out: BLOCK_IO_ERROR, the I/O status, and for stop a request
 * to stop the VM (run state io-error) and a retry when it resumes. */
void blk_error_action(BlockBackend *blk, BlockErrorAction action,
                      bool is_read, int error);
/* The device holds a request an error stopped (a loaded state says so):
 * call its retry_cb after the next resume, as after blk_error_action. */
void blk_retry_on_resume(BlockBackend *blk);

void blk_iostatus_enable(BlockBackend *blk);
bool blk_iostatus_is_enabled(BlockBackend *blk);
BlockDeviceIoStatus blk_iostatus(BlockBackend *blk);
/* 'cont' starts over with "ok" everywhere, as QEMU's does. */
void blk_iostatus_reset_all(void);

#endif
