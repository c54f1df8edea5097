/*
 * Block layer internals: the driver interface and the node structure.
 * Only block/ includes this.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include "block/block.h"

/* Big-endian helpers for on-disk structures (qcow2 is big-endian). */
static inline uint16_t ldw_be(const void *p)
{ const uint8_t *b = p; return (uint16_t)(b[0] << 8 | b[1]); }
static inline uint32_t ldl_be(const void *p)
{ const uint8_t *b = p; return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }
static inline uint64_t ldq_be(const void *p)
{ return (uint64_t)ldl_be(p) << 32 | ldl_be((const uint8_t *)p + 4); }
static inline void stw_be(void *p, uint16_t v)
{ uint8_t *b = p; b[0] = v >> 8; b[1] = v; }
static inline void stl_be(void *p, uint32_t v)
{ uint8_t *b = p; b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v; }
static inline void stq_be(void *p, uint64_t v)
{ stl_be(p, v >> 32); stl_be((uint8_t *)p + 4, v); }

/* a + b <= limit without overflow */
static inline bool range_within(uint64_t a, uint64_t b, uint64_t limit)
{ return a <= limit && b <= limit - a; }
static inline bool ranges_overlap(uint64_t a, uint64_t alen,
                                  uint64_t b, uint64_t blen)
{ return alen && blen && a < b + blen && b < a + alen; }

/*
 * The keys a driver takes in an options dictionary (bdrv_open_options),
 * on top of the generic ones.  Child keys are opened (or looked up) by the
 * generic layer before the driver's open: BOPT_CHILD_FILE becomes
 * bs->file, BOPT_CHILD_BACKING bs->backing.  Other keys reach the
 * driver's open_options() as they were given (checked for type only).
 */
typedef enum BlockOptionType {
    BOPT_STRING,
    BOPT_BOOL,
    BOPT_INT,
    BOPT_ANY,               /* the driver checks it (lists, dicts) */
    BOPT_CHILD_FILE,
    BOPT_CHILD_BACKING,
} BlockOptionType;

typedef struct BlockOptionDesc {
    const char *name;
    BlockOptionType type;
    bool required;
} BlockOptionDesc;

/* Requests a host AIO engine (io_uring, Linux AIO) takes straight from
 * bdrv_aio_*, without a worker thread. */
typedef enum BdrvAioOp { BDRV_AIO_READ, BDRV_AIO_WRITE, BDRV_AIO_FLUSH } BdrvAioOp;

typedef struct BdrvAioRequest {
    BlockDriverState *top;          /* the node the caller submitted to */
    BlockDriverState *bs;           /* the protocol node doing the I/O */
    BdrvAioOp op;
    uint64_t offset, bytes;
    void *buf;
    bool fua;                       /* write-through: RWF_DSYNC on the write */
    BlockCompletionFunc *cb;
    void *opaque;
} BdrvAioRequest;

/* An option `amend` takes, typed as QEMU's QemuOptDesc (-o help). */
typedef enum BlockAmendOptType {
    BLOCK_AMEND_STRING,
    BLOCK_AMEND_BOOL,           /* on/off, handed to the driver as such */
    BLOCK_AMEND_NUMBER,         /* decimal string after parsing */
    BLOCK_AMEND_SIZE,           /* bytes, decimal string after parsing */
} BlockAmendOptType;

typedef struct BlockAmendOptDesc {
    const char *name;
    BlockAmendOptType type;
    const char *help;
} BlockAmendOptDesc;

struct BlockDriver {
    const char *format_name;
    /* Keys for bdrv_open_options, NULL-name terminated (NULL: none). */
    const BlockOptionDesc *options;
    /* Open from an options dictionary (drivers whose keys are more than
     * a file name); without it, open() is called with the file name
     * ("filename" key for protocols, the file child's for formats). */
    bool (*open_options)(BlockDriverState *bs, QDict *opts, int flags,
                         GError **errp);
    size_t instance_size;
    bool is_protocol;           /* opened on a host path, not on a child */
    /* The file child serves the parents' requests unchanged (raw,
     * blkdebug): it gets their permissions, not a format's own. */
    bool perm_passthrough;
    /* A filter (block/filter-node.c): the file child is the node it
     * filters, and queries show it as the next layer of the chain
     * (QEMU's filtered child: backing_file_depth, backing-image); chain
     * walks (bdrv_chain_contains, block status above) pass through it. */
    bool is_filter;
    /* Protocol drivers named by a URL prefix ("iscsi" for iscsi://...). */
    const char *protocol_name;
    /* Protocol drivers whose names are not all "scheme://..." (QEMU's
     * legacy nbd:host:port): true when the driver takes @filename. */
    bool (*claims_filename)(const char *filename);
    /* Content probe: score 0 (no) .. 100 (certain). */
    int (*probe)(const uint8_t *buf, size_t len);

    /* Protocol drivers open @filename; format drivers open bs->file. */
    bool (*open)(BlockDriverState *bs, const char *filename, int flags,
                 GError **errp);
    void (*close)(BlockDriverState *bs);
    bool (*create)(const char *filename, uint64_t size, GHashTable *opts,
                   GError **errp);
    /* bdrv_measure() for this format (NULL: it cannot say). */
    bool (*measure)(GHashTable *opts, uint64_t size, BlockDriverState *in_bs,
                    BlockMeasureInfo *out, GError **errp);

    /*
     * bdrv_amend() for this format: the options it can change (NULL name
     * terminated; NULL: none, amend is refused), those only create takes
     * (named in the error), and the change, with @opts mapping each given
     * name to its value, already checked against its type.
     */
    const BlockAmendOptDesc *amend_options;
    const char *const *create_only_options;
    bool (*amend)(BlockDriverState *bs, GHashTable *opts,
                  BlockAmendProgress *progress, void *opaque, GError **errp);

    /* Requests arrive bounds-checked against bs->size. */
    bool (*pread)(BlockDriverState *bs, uint64_t off, uint64_t len,
                  void *buf, GError **errp);
    bool (*pwrite)(BlockDriverState *bs, uint64_t off, uint64_t len,
                   const void *buf, GError **errp);
    bool (*pwrite_zeroes)(BlockDriverState *bs, uint64_t off, uint64_t len,
                          int flags, GError **errp);
    bool (*pdiscard)(BlockDriverState *bs, uint64_t off, uint64_t len,
                     GError **errp);
    bool (*pwrite_compressed)(BlockDriverState *bs, uint64_t off,
                              uint64_t len, const void *buf, GError **errp);
    bool (*flush)(BlockDriverState *bs, GError **errp);
    bool (*truncate)(BlockDriverState *bs, uint64_t size, GError **errp);
    /* Drop everything this layer holds (commit empties the top image). */
    bool (*make_empty)(BlockDriverState *bs, GError **errp);
    /* Record a new backing file name and format (NULL: none). */
    bool (*change_backing_file)(BlockDriverState *bs, const char *file,
                                const char *fmt, GError **errp);
    /* Internal snapshots, by id or name. */
    /* @vm_state_size bytes of VM state were written with save_vmstate
     * (0: a disk-only snapshot); @vm_clock_nsec is the guest's clock. */
    bool (*snapshot_create)(BlockDriverState *bs, const char *name,
                            uint64_t vm_state_size, uint64_t vm_clock_nsec,
                            GError **errp);
    bool (*snapshot_delete)(BlockDriverState *bs, const char *name,
                            GError **errp);
    bool (*snapshot_goto)(BlockDriverState *bs, const char *name,
                          GError **errp);
    /* The VM state area (savevm): bytes past the end of the virtual
     * disk, where the next snapshot_create picks them up; after a
     * snapshot_goto it holds the snapshot's VM state. */
    bool (*save_vmstate)(BlockDriverState *bs, uint64_t pos, uint64_t len,
                         const void *buf, GError **errp);
    bool (*load_vmstate)(BlockDriverState *bs, uint64_t pos, uint64_t len,
                         void *buf, GError **errp);
    int (*block_status)(BlockDriverState *bs, uint64_t off, uint64_t len,
                        uint64_t *pnum, uint64_t *map,
                        BlockDriverState **file, GError **errp);
    int64_t (*allocated_size)(BlockDriverState *bs);

    /*
     * Asynchronous requests without a worker thread: take @req (already
     * bounds-checked and aligned; the engine copies it) and complete it
     * later with bdrv_aio_complete() on the node's AioContext.  Returns
     * false when it cannot take it now (no engine, no free slot); the
     * thread pool then runs the synchronous path.  Format drivers that
     * pass requests through unchanged (raw) forward to their file.
     */
    bool (*aio_submit)(BlockDriverState *bs, const BdrvAioRequest *req);
    /*
     * Read @bytes at @off into @iov now, in the caller's thread, only if
     * that cannot block (a buffered file whose page cache holds the
     * range): true when every byte was read.  False, with the buffers
     * possibly written in part, sends the caller the asynchronous way.
     * The request arrives bounds-checked.  Formats that map offsets
     * one to one (raw) forward to their file; the others leave it NULL.
     */
    bool (*try_preadv_nowait)(BlockDriverState *bs, uint64_t off,
                              const struct iovec *iov, int niov,
                              uint64_t bytes);
    /* Hold back (@plug) or send the aio_submit requests queued since:
     * the engine batches them into one system call (bdrv_io_plug). */
    void (*io_plug)(BlockDriverState *bs, bool plug);
    /* The node moves to another AioContext (no request in flight). */
    void (*attach_aio_context)(BlockDriverState *bs, GMainContext *ctx);
    bool (*check)(BlockDriverState *bs, BlockCheckResult *res, int fix,
                  GError **errp);
    bool (*get_info)(BlockDriverState *bs, BlockImageInfo *info,
                     GError **errp);

    /*
     * Image locking (protocol drivers that have it; block/permissions.c
     * calls these): check_perm takes what @perm and @shared need on top
     * of what the node holds and checks nobody else conflicts, releasing
     * nothing; then set_perm settles on exactly @perm/@shared, or
     * abort_perm goes back to what was held before check_perm.
     */
    bool (*check_perm)(BlockDriverState *bs, unsigned perm, unsigned shared,
                       GError **errp);
    void (*set_perm)(BlockDriverState *bs, unsigned perm, unsigned shared);
    void (*abort_perm)(BlockDriverState *bs);

    /*
     * Switch the open node between read-only and read-write (@flags: the
     * node's flags with BDRV_O_RDWR set or clear), no request in flight.
     * Protocol drivers without it cannot change; format drivers without
     * it keep no state that depends on the mode (raw).
     */
    bool (*reopen)(BlockDriverState *bs, int flags, GError **errp);
    /* The host file changed size behind the node (blockdev-create wrote
     * an image into an open file node): read the size again. */
    bool (*refresh_size)(BlockDriverState *bs, GError **errp);

    /*
     * Persistent dirty bitmaps (qcow2; docs/block.md "Dirty bitmaps").
     * The driver loads them at open and stores every persistent bitmap
     * of the node in close.  supports_persistent_bitmaps: can this image
     * store any (qcow2 v3)?  can_store_bitmap: could a new bitmap @name
     * of @granularity be made persistent (the error is prefixed by the
     * caller)?  remove_bitmap: drop @name's stored copy from the image
     * now.  set_bitmaps_inactive: @inactive, write them all and mark
     * them not in use (the end of an outgoing migration; the node stays
     * open); !@inactive, mark them in use again (the VM runs on).
     */
    bool (*supports_persistent_bitmaps)(BlockDriverState *bs);
    bool (*can_store_bitmap)(BlockDriverState *bs, const char *name,
                             uint32_t granularity, GError **errp);
    bool (*remove_bitmap)(BlockDriverState *bs, const char *name,
                          GError **errp);
    bool (*set_bitmaps_inactive)(BlockDriverState *bs, bool inactive,
                                 GError **errp);
};

/*
 * A hook run by every request that changes what a range of a node reads
 * (write, write-zeroes, discard, compressed write), on the thread that
 * runs the request, before the request reaches the driver: the range
 * still reads its old data.  False (with @errp) fails the request.  The
 * backup job copies the old data to its target here (block/backup.c).
 */
typedef bool BdrvBeforeWriteFunc(void *opaque, uint64_t offset,
                                 uint64_t bytes, GError **errp);
typedef struct BdrvBeforeWrite BdrvBeforeWrite;
struct BdrvBeforeWrite {
    BdrvBeforeWriteFunc *fn;
    void *opaque;
    BdrvBeforeWrite *next;          /* the node's list (block.c) */
};

/*
 * The after-write hook has the same shape: run on the request's thread
 * once the driver ran the request successfully and the write hook
 * (bdrv_set_dirty) marked it; the range reads its new data.  False
 * (with @errp) fails the request.  The mirror's write-blocking mode
 * copies the range to its target here (block/mirror.c).
 */
typedef BdrvBeforeWrite BdrvAfterWrite;

/* A node's list of write hooks, walked by requests without a lock (the
 * users count in two halves: block.c, run_write_hooks). */
typedef struct BdrvWriteHooks {
    BdrvBeforeWrite *head;          /* atomic */
    gint users[2];
    gint phase;
} BdrvWriteHooks;

struct BlockDriverState {
    const BlockDriver *drv;
    char *node_name;                /* user-given or "#blockN" */
    /* A job's unnamed filter (QEMU's implicit node): query-block looks
     * through it. */
    bool implicit;
    void *opaque;                   /* drv->instance_size bytes */
    char *filename;
    int flags;
    int refcnt;
    uint64_t size;                  /* virtual length in bytes */
    /* Offsets, lengths (and, with O_DIRECT, buffer addresses) must be
     * multiples of this; the generic layer bounces what is not. */
    uint32_t request_alignment;
    /* Buffer addresses must be multiples of this (O_DIRECT); 1: any. */
    uint32_t buf_alignment;
    uint32_t cluster_size;
    BlockDriverState *file;         /* protocol child of a format node */
    BlockDriverState *backing;

    /* Permissions (block/permissions.c): a user outside the graph
     * (kvmpc-img), what the node holds now, and a refresh's scratch. */
    unsigned user_perm, user_shared;
    unsigned perm, shared_perm;
    unsigned new_perm, new_shared;

    GMutex rmw_lock;                /* serialises read-modify-write bounces */
    GMainContext *aio_ctx;          /* where completions run (NULL: default) */
    gint in_flight;                 /* atomic */
    BlockStats stats;               /* atomic counters */
    /* BdrvDirtyBitmap * the write path marks (block/dirty-bitmap.c) */
    GMutex dirty_lock;
    GSList *dirty_bitmaps;
    /* Called before a write changes the node (the backup jobs' copy-
     * before-write); see bdrv_add_before_write(). */
    BdrvWriteHooks before_write;
    /* Called after a write changed the node; see bdrv_set_after_write(). */
    BdrvWriteHooks after_write;
};

/* Drivers */
extern const BlockDriver bdrv_file_driver;
extern const BlockDriver bdrv_raw_driver;
extern const BlockDriver bdrv_qcow2_driver;
extern const BlockDriver bdrv_blkdebug_driver;
extern const BlockDriver bdrv_null_co_driver;
extern const BlockDriver bdrv_null_aio_driver;
extern const BlockDriver bdrv_nbd_driver;
/* Jobs' filters (block/filter-node.c), not opened by name */
extern const BlockDriver bdrv_cbw_driver;
extern const BlockDriver bdrv_snapshot_access_driver;
extern const BlockDriver bdrv_mirror_top_driver;
extern const BlockDriver bdrv_commit_top_driver;
extern const BlockDriver bdrv_cor_driver;

#ifdef CONFIG_LIBISCSI
extern const BlockDriver bdrv_iscsi_driver;
#endif

const BlockDriver *bdrv_find_format(const char *name);
/* A new node of @drv, not opened yet (one reference, an automatic name). */
BlockDriverState *bdrv_new(const BlockDriver *drv, const char *filename,
                           int flags);

/* Typed reads of an options dictionary for drivers' open_options (values
 * may be JSON typed or keyval strings); @prefix names the dict in errors. */
bool bdrv_opt_get_bool(QDict *opts, const char *key, bool def, bool *out,
                       const char *prefix, GError **errp);
bool bdrv_opt_get_int(QDict *opts, const char *key, int64_t def,
                      int64_t *out, const char *prefix, GError **errp);

/* Open a protocol node for @filename under a format node: the driver
 * its URL scheme names (iscsi://), else "file". */
BlockDriverState *bdrv_open_file(const char *filename, int flags,
                                 GError **errp);
/* The protocol driver a filename names (its URL scheme, else "file"),
 * and the format a protocol node holds, probed (raw when no format
 * claims it): what bdrv_open does for a filename, for option
 * dictionaries that leave "driver" out. */
const BlockDriver *bdrv_protocol_for_filename(const char *filename,
                                              GError **errp);
const BlockDriver *bdrv_probe_format(BlockDriverState *file, GError **errp);
/* For protocol drivers opened from options (bdrv_iscsi_open): a bare
 * node to call drv->open on, and its disposal when that fails. */
BlockDriverState *bdrv_new_protocol_node(const BlockDriver *drv,
                                         const char *filename, int flags);
void bdrv_free_failed_node(BlockDriverState *bs);


/* The write hook: every request that changes what [offset, offset+bytes)
 * reads calls this once it has reached the driver (block/dirty-bitmap.c). */
void bdrv_set_dirty(BlockDriverState *bs, uint64_t offset, uint64_t bytes);

/*
 * Add @hook to @bs's before-write hooks, or remove it, big lock held.
 * A node may have several (each request runs them all, newest first,
 * until one fails).  While any is installed the host AIO engines take
 * no write to the node (the worker path runs the hooks).  Removal
 * returns once no request still runs @hook, so its owner may free it.
 */
void bdrv_add_before_write(BlockDriverState *bs, BdrvBeforeWrite *hook);
void bdrv_remove_before_write(BlockDriverState *bs, BdrvBeforeWrite *hook);
/* Install the node's after-write hook (NULL: remove it), as above but
 * one per node: false if another is installed. */
bool bdrv_set_after_write(BlockDriverState *bs, BdrvAfterWrite *hook);

/* The node's AioContext (never NULL: the default main context). */
GMainContext *bdrv_get_aio_context(BlockDriverState *bs);
/* Finish a request an engine took: @ret is 0 or -errno (the error names
 * @req->bs and @what); runs @req->cb and drops the in-flight count. */
void bdrv_aio_complete(const BdrvAioRequest *req, int ret, const char *what);
/* Hand @req to the host AIO engine under @bs when there is one and the
 * request needs nothing the generic path does (bounce, zero detection,
 * an error to report); false: run it on the thread pool instead.  The
 * caller has counted @req->top in flight. */
bool bdrv_aio_try_host(BlockDriverState *bs, const BdrvAioRequest *req);
/* Batch the host requests submitted until the matching bdrv_io_unplug
 * (on @bs and the file nodes under it); they nest. */
void bdrv_io_plug(BlockDriverState *bs);
void bdrv_io_unplug(BlockDriverState *bs);
/* A protocol node grew to @end by a write past its end. */
void bdrv_grow_size(BlockDriverState *bs, uint64_t end);

/* A GSource on @ctx that calls @fn(@opaque) when @fd (an eventfd) is
 * readable; the host AIO engines deliver completions through it. */
GSource *bdrv_fd_source_new(int fd, void (*fn)(void *opaque), void *opaque,
                            GMainContext *ctx);

/* Thread pool (block/thread-pool.c): run @work on a worker thread, then
 * @done on @ctx (NULL: the default main context). */
typedef void ThreadPoolFunc(void *opaque);
void thread_pool_submit(ThreadPoolFunc *work, ThreadPoolFunc *done,
                        void *opaque, GMainContext *ctx);

#endif
