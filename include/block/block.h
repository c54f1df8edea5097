/*
 * The block layer: a small graph of block nodes.
 *
 * A node (BlockDriverState) is one driver instance: a protocol driver
 * ("file") on a host file or block device, or a format driver ("raw",
 * "qcow2") on top of a protocol node, optionally with a backing node.
 * Every user (device models, QMP, kvmpc-img, tests) goes through the same
 * bdrv_* calls below; see docs/block.md for the request path and threads.
 *
 * The synchronous calls may be made from any thread; a node serialises
 * what needs serialising itself.  The asynchronous calls (bdrv_aio_*) run
 * the same synchronous path on a worker (thread pool or io_uring) and
 * deliver the completion on a GMainContext: the main loop's by default,
 * an I/O thread's after bdrv_set_aio_context().
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include "qemu/osdep.h"
#include <sys/uio.h>

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;

/* Open flags */
#define BDRV_O_RDWR         0x0001
#define BDRV_O_NOCACHE      0x0002  /* O_DIRECT on the host file */
#define BDRV_O_NO_FLUSH     0x0004  /* cache=unsafe: flushes do nothing */
#define BDRV_O_WRITETHROUGH 0x0008  /* every write is followed by a flush */
#define BDRV_O_NO_BACKING   0x0010  /* do not open the backing chain */
#define BDRV_O_CHECK        0x0020  /* opened by check: allow corrupt images */
#define BDRV_O_AIO_IO_URING 0x0040  /* aio=io_uring: requests go to a ring */
#define BDRV_O_AIO_NATIVE   0x0080  /* aio=native: Linux AIO (needs O_DIRECT) */
#define BDRV_O_UNMAP        0x0100  /* discard=unmap: discards reach the host */
#define BDRV_O_SNAPSHOT     0x0200  /* snapshot=on: writes go to a temporary
                                     * overlay, the image is never written */
#define BDRV_O_DETECT_ZEROES 0x0400 /* detect-zeroes=on: zero writes become
                                     * write-zeroes requests */
#define BDRV_O_DETECT_ZEROES_UNMAP 0x0800 /* detect-zeroes=unmap (with
                                     * discard=unmap they may unmap) */
#define BDRV_O_FORCE_SHARE  0x1000  /* force-share=on (read-only only): let
                                     * others write and resize the image */
#define BDRV_O_LOCK_OFF     0x2000  /* file locking=off: take no image locks */
#define BDRV_O_LOCK_ON      0x4000  /* file locking=on: fail where the file
                                     * system has no OFD locks */
#define BDRV_O_AIO_MASK     (BDRV_O_AIO_IO_URING | BDRV_O_AIO_NATIVE)

/*
 * Permissions (block/permissions.c, docs/block.md "Image locking"): what
 * a node's users do with it, and what they let others do (the "shared"
 * set).  QEMU's BLK_PERM_* bits in QEMU's order: a file node holding bit
 * i takes the image lock byte 100 + i, and one not sharing bit i takes
 * byte 200 + i, so kvmpc, QEMU and qemu-img see each other's locks.
 */
#define BLK_PERM_CONSISTENT_READ 0x01
#define BLK_PERM_WRITE           0x02
#define BLK_PERM_WRITE_UNCHANGED 0x04
#define BLK_PERM_RESIZE          0x08
#define BLK_PERM_ALL             0x0f
#define BLK_PERM_COUNT           4
/* QEMU's names for them, as its lock errors print them. */
const char *bdrv_perm_name(unsigned bit_index);

/* Block status flags (bdrv_block_status) */
#define BDRV_BLOCK_DATA         0x01  /* reads come from this node or below */
#define BDRV_BLOCK_ZERO         0x02  /* reads as zeroes */
#define BDRV_BLOCK_OFFSET_VALID 0x04  /* *map is an offset in *file */
#define BDRV_BLOCK_ALLOCATED    0x08  /* this layer decides the content */
#define BDRV_BLOCK_COMPRESSED   0x10

/* bdrv_pwrite_zeroes flags */
#define BDRV_REQ_MAY_UNMAP 0x1

typedef enum {
    BLOCK_CACHE_WRITEBACK,
    BLOCK_CACHE_NONE,
    BLOCK_CACHE_WRITETHROUGH,
    BLOCK_CACHE_DIRECTSYNC,
    BLOCK_CACHE_UNSAFE,
} BlockCacheMode;

/* Parse cache=... / aio=... / discard=... / detect-zeroes=... values
 * into open flags (QEMU's names and values). */
bool bdrv_parse_cache_mode(const char *mode, int *flags, GError **errp);
bool bdrv_parse_aio_mode(const char *mode, int *flags, GError **errp);
bool bdrv_parse_discard_mode(const char *mode, int *flags, GError **errp);
bool bdrv_parse_detect_zeroes(const char *mode, int *flags, GError **errp);
/* The file driver's locking=auto|on|off (BDRV_O_LOCK_OFF, BDRV_O_LOCK_ON). */
bool bdrv_parse_locking(const char *mode, int *flags, GError **errp);
/* Is aio=io_uring / aio=native built in (liburing; Linux AIO)? */
bool bdrv_aio_mode_available(const char *mode);

/* True when all @len bytes at @buf are zero (word-wide, no allocation). */
bool buffer_is_zero(const void *buf, size_t len);

/*
 * Open @filename with format @format ("raw", "qcow2"; NULL probes the
 * content).  @filename is a host path, or an iscsi:// URL
 * (iscsi://[user[%password]@]host[:port]/target-iqn/lun).  Formats with a
 * backing file open their chain unless BDRV_O_NO_BACKING is given.  With
 * BDRV_O_SNAPSHOT the image is opened read-only under a temporary qcow2
 * overlay in $TMPDIR (unlinked once open) that takes every write.
 * Errors name the image.
 */
BlockDriverState *bdrv_open(const char *filename, const char *format,
                            int flags, GError **errp);

/*
 * Open format @format (NULL: probe) on an open protocol node @file (from
 * bdrv_iscsi_open, say); takes over the reference to @file, also when it
 * fails.  A protocol @format ("file", "iscsi") returns @file itself.
 */
BlockDriverState *bdrv_open_on_file(BlockDriverState *file,
                                    const char *format, int flags,
                                    GError **errp);

/*
 * iSCSI from separate options, for -blockdev driver=iscsi / blockdev-add
 * (QEMU's option names: portal, target, lun, transport, user, password,
 * initiator-name).  @portal is "host[:port]" (port 3260 by default);
 * @transport must be NULL or "tcp"; @user and @password are both NULL
 * (no CHAP) or both set; @initiator_name NULL takes
 * "iqn.2008-11.org.linux-kvm" plus ":" and the host name, as QEMU's does.
 * Returns a protocol node (format "iscsi") to open a format on, or NULL
 * with one line naming the portal and target.  Without libiscsi built
 * in, every call fails saying so.
 */
typedef struct BlockIscsiOptions {
    const char *portal;
    const char *target;
    int lun;
    const char *transport;
    const char *user, *password;
    const char *initiator_name;
} BlockIscsiOptions;
BlockDriverState *bdrv_iscsi_open(const BlockIscsiOptions *opts, int flags,
                                  GError **errp);
void bdrv_unref(BlockDriverState *bs);

/*
 * Recompute every node's permissions from its users (backends with
 * their devices, tools, parent nodes) and apply them: file nodes take
 * and drop their image locks.  Either everything changes or nothing
 * does; the error names the lock another process holds.  Opens, device
 * attachment and node removal call it themselves.
 */
bool bdrv_refresh_perms(GError **errp);
/* Opens nest (a qcow2 opens its backing file): between hold and release
 * nothing is recomputed; the outermost release does it. */
void bdrv_perm_hold(void);
bool bdrv_perm_release(GError **errp);
/*
 * A user of @bs as its root, beside the backends (an NBD export): what it
 * needs and lets others do, and how a conflict names it ("an unnamed
 * block device", as QEMU names an export's).  Adding refreshes and fails,
 * adding nothing, with QEMU's "Permission conflict on node" error when
 * it and a backend of @bs (a guest disk) need what the other does not
 * share; the caller keeps @u until it removes it.
 */
typedef struct BdrvRootUser {
    BlockDriverState *bs;
    unsigned perm, shared;
    const char *desc;
} BdrvRootUser;
bool bdrv_root_user_add(BdrvRootUser *u, GError **errp);
void bdrv_root_user_remove(BdrvRootUser *u);
/* The users of @bs as its root (backends and the above) allow each other
 * what they need; false with QEMU's error when not.  Checked when a user
 * comes or changes what it needs, not when images are activated. */
bool bdrv_check_root_users(BlockDriverState *bs, GError **errp);
/* What a user outside the graph (kvmpc-img, a job) needs of @bs and lets
 * others do; refreshes.  On failure nothing changes. */
bool bdrv_set_user_perm(BlockDriverState *bs, unsigned perm,
                        unsigned shared, GError **errp);
/*
 * Migration on shared storage (QEMU's inactive images): an incoming VM
 * opens its images inactive, holding no locks, and activates them once
 * the stream is loaded; the source inactivates after its last flush, so
 * the destination can lock, and activates again if it runs on.
 */
void bdrv_inactivate_all(void);
bool bdrv_activate_all(GError **errp);
bool bdrv_is_inactive(void);

/*
 * Open a node graph from an options dictionary: what -blockdev and QMP
 * blockdev-add give (QEMU's BlockdevOptions).  Generic keys: driver,
 * node-name, read-only, auto-read-only, cache.direct, cache.no-flush,
 * discard, detect-zeroes; every driver adds its own (BlockDriver.options).
 * A child ("file", "backing", "image") is a node-name string, a nested
 * dictionary opened the same way, or (backing only) null.  Values may be
 * JSON typed or strings (dotted -blockdev keys).  Errors use QEMU's QMP
 * texts, with the full dotted path of the key.  The new node is named
 * (node-name or an automatic "#blockN") and holds one reference for its
 * creator.
 */
typedef struct QDict QDict;
typedef struct QList QList;
BlockDriverState *bdrv_open_options(QDict *opts, GError **errp);
/* The same, with @flags (BDRV_O_*) as the defaults of the generic keys
 * (read-only unless BDRV_O_RDWR; discard, force-share, cache and aio
 * settings, which children inherit); BDRV_O_CHECK, BDRV_O_NO_BACKING,
 * BDRV_O_WRITETHROUGH and detect-zeroes apply to the root only. */
BlockDriverState *bdrv_open_options_flags(QDict *opts, int flags,
                                          GError **errp);
/*
 * QEMU's bdrv_open() with options (kvmpc-img --image-opts, json:
 * filenames): keys may be nested or dotted ("file.filename"), "driver"
 * may be left out (the format probed on the "file" child, a protocol
 * taken from "filename"; the root needs one of "driver" and "file"),
 * @format (-f; NULL: none) is the root's driver (over the options' one,
 * as in qemu-img), and unknown keys get
 * QEMU's bdrv_open() words ("Block format 'qcow2' does not support the
 * option 'foo'").  @opts is not changed.
 */
BlockDriverState *bdrv_open_image_options(QDict *opts, const char *format,
                                          int flags, GError **errp);
/* Nested dictionaries into one of dotted keys ({"file": {"filename": x}}
 * becomes {"file.filename": x}), and back: the one place where options
 * change between the two forms (-blockdev's dotted keys, json:). */
QDict *bdrv_options_flatten(QDict *nested);
/* Numbered keys ("inject-error.0.event") become lists. */
QDict *bdrv_options_crumple(QDict *flat, GError **errp);
/*
 * blockdev-reopen: each dictionary of @list (QEMU's BlockdevOptions)
 * names an open node and gives its generic options anew (read-only,
 * discard, detect-zeroes, cache.no-flush; omitted: the default) and
 * optionally a new backing node or null; its other children and driver
 * options must be what the node has.  All or nothing; the caller has
 * drained the guest's requests.
 */
bool bdrv_reopen_options_list(QList *list, GError **errp);
/* Name @bs @name (-drive node-name=): QEMU's syntax and uniqueness
 * checks and words ("Invalid node-name: 'X'", "Duplicate nodes with
 * node-name='X'"). */
bool bdrv_set_node_name(BlockDriverState *bs, const char *name,
                        GError **errp);
/* bdrv_open with options for the protocol node (a -drive's "file.KEY"
 * keys, as KEY; NULL or empty: none), which its driver's open_options
 * takes along with the name as "filename". */
BlockDriverState *bdrv_open_with_file_opts(const char *filename,
                                           const char *format, int flags,
                                           QDict *file_opts, GError **errp);

/* Nodes by name, and all nodes (in creation order; do not modify). */
BlockDriverState *bdrv_find_node(const char *node_name);
GPtrArray *bdrv_all_nodes(void);
const char *bdrv_node_name(BlockDriverState *bs);
void bdrv_ref(BlockDriverState *bs);
/* References held on @bs (a user, a parent, the monitor). */
int bdrv_refcnt(BlockDriverState *bs);
int bdrv_open_flags(BlockDriverState *bs);
/* detect-zeroes and discard as opened ("off", "on", "unmap"; "ignore") */
const char *bdrv_detect_zeroes_name(BlockDriverState *bs);

/*
 * I/O errors carry the errno that caused them: drivers report with
 * bdrv_error_setg_errno (domain BDRV_ERRNO_ERROR, code = errno), and
 * bdrv_error_errno() gives it back (EIO for any other error), which the
 * device-facing layer (block-backend) needs for werror=enospc.
 */
#define BDRV_ERRNO_ERROR bdrv_errno_error_quark()
GQuark bdrv_errno_error_quark(void);
#define bdrv_error_setg_errno(errp, err, ...) \
    g_set_error((errp), BDRV_ERRNO_ERROR, (err), __VA_ARGS__)
int bdrv_error_errno(const GError *err);

/* Is @format a format (or protocol) driver kvmpc has? */
bool bdrv_format_known(const char *format);

/* Create an image.  @opts maps option names (cluster_size, backing_file,
 * backing_fmt, compat, compression_type, ...) to strings. */
bool bdrv_create(const char *format, const char *filename, uint64_t size,
                 GHashTable *opts, GError **errp);

/*
 * qemu-img measure: the bytes an image of @format (created with @opts)
 * needs to hold @in_bs's data (NULL: an empty image of @size bytes), and
 * fully allocated; @has_bitmaps with the persistent bitmaps' share (a
 * qcow2 v3 copy of a qcow2 v3 image).
 */
typedef struct BlockMeasureInfo {
    uint64_t required;
    uint64_t fully_allocated;
    bool has_bitmaps;
    uint64_t bitmaps;
} BlockMeasureInfo;
bool bdrv_measure(const char *format, GHashTable *opts, uint64_t size,
                  BlockDriverState *in_bs, BlockMeasureInfo *out,
                  GError **errp);

/*
 * qemu-img amend: change the format options of an image open read-write
 * (BlockDriver.amend).  @opts: the -o options in the order given,
 * "name=value" each; a later one overrides an earlier one.  Names the
 * format cannot amend fail with QEMU's "Invalid parameter" (and its
 * hint for options only create takes), values are checked against the
 * option's type first.  @progress (NULL: none) hears how far the
 * longer steps (refcount rebuild, zero cluster expansion) are.
 */
typedef void BlockAmendProgress(void *opaque, uint64_t done, uint64_t total);
bool bdrv_amend(BlockDriverState *bs, char **opts,
                BlockAmendProgress *progress, void *opaque, GError **errp);
/* `amend -o help`: QEMU's "Amend options for 'FMT':" list. */
bool bdrv_amend_help(const char *format, GString *out, GError **errp);

/*
 * Make an open node (and its file child) writable or read-only, as block
 * jobs need: a commit writes into a backing node, a snapshot makes the
 * old active layer read-only.  No request may be in flight on it (drain
 * first).  The caller refreshes permissions (bdrv_refresh_perms).
 */
bool bdrv_reopen_rw(BlockDriverState *bs, bool rw, GError **errp);
/* Read a protocol node's size again after its file changed behind it. */
bool bdrv_refresh_size(BlockDriverState *bs, GError **errp);
/* Is [offset, offset + bytes) allocated in a layer from @top down to,
 * not including, @base (NULL: the whole chain)?  *@pnum: how far the
 * answer holds (at least 1 byte). */
int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            uint64_t offset, uint64_t bytes, uint64_t *pnum,
                            GError **errp);
/* Is @base in @top's backing chain (or @top itself)? */
bool bdrv_chain_contains(BlockDriverState *top, BlockDriverState *base);

/* Resolve a backing file name relative to the image that names it. */
char *bdrv_backing_path(const char *image, const char *backing);

const char *bdrv_format_name(BlockDriverState *bs);
const char *bdrv_filename(BlockDriverState *bs);
BlockDriverState *bdrv_file(BlockDriverState *bs);      /* protocol child */
BlockDriverState *bdrv_backing(BlockDriverState *bs);
/* The next layer of the chain as queries show it: a filter's filtered
 * node (copy-before-write's file child), else the backing node. */
BlockDriverState *bdrv_filtered_or_backing(BlockDriverState *bs);
/* @bs, or below the implicit filters (jobs' unnamed ones) above it. */
BlockDriverState *bdrv_skip_implicit_filters(BlockDriverState *bs);
bool bdrv_is_read_only(BlockDriverState *bs);
uint64_t bdrv_getlength(BlockDriverState *bs);
/* Bytes the node's host file occupies (allocated), or -1 if unknown. */
int64_t bdrv_allocated_size(BlockDriverState *bs);
/* Cluster size or similar allocation granularity (0 if none). */
uint32_t bdrv_cluster_size(BlockDriverState *bs);

/* Data path.  Requests past the end of the node fail. */
bool bdrv_pread(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                void *buf, GError **errp);
bool bdrv_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                 const void *buf, GError **errp);
bool bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                        uint64_t bytes, int flags, GError **errp);
bool bdrv_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                   GError **errp);
/* Write compressed (whole clusters only; formats that support it). */
bool bdrv_pwrite_compressed(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, const void *buf, GError **errp);
bool bdrv_flush(BlockDriverState *bs, GError **errp);
/* Change the virtual size (qcow2: grows the L1 table; shrinking drops
 * the clusters past the new end). */
bool bdrv_truncate(BlockDriverState *bs, uint64_t size, GError **errp);
/* Make every cluster of this layer unallocated (reads fall through to
 * the backing file); qcow2 only. */
bool bdrv_make_empty(BlockDriverState *bs, GError **errp);
/* Record a new backing file (NULL: none) and its format in the image;
 * the open node keeps reading its old backing node until reopened. */
bool bdrv_change_backing_file(BlockDriverState *bs, const char *file,
                              const char *fmt, GError **errp);
/* Internal snapshots (qcow2): create, delete or revert to the snapshot
 * with this id or name; list them with bdrv_get_info. */
bool bdrv_snapshot_create(BlockDriverState *bs, const char *name,
                          GError **errp);
bool bdrv_snapshot_delete(BlockDriverState *bs, const char *name,
                          GError **errp);
bool bdrv_snapshot_goto(BlockDriverState *bs, const char *name,
                        GError **errp);
/* savevm's snapshot: the VM state (@vm_state_size bytes) is already in the
 * node's VM state area (bdrv_save_vmstate). */
bool bdrv_snapshot_create_vm(BlockDriverState *bs, const char *name,
                             uint64_t vm_state_size, uint64_t vm_clock_nsec,
                             GError **errp);
/* Does the node take internal snapshots (qcow2)? */
bool bdrv_can_snapshot(BlockDriverState *bs);
/* The VM state area of the active layer (qcow2: past the virtual disk's
 * end, as QEMU keeps it), @pos from its start. */
bool bdrv_save_vmstate(BlockDriverState *bs, uint64_t pos, uint64_t len,
                       const void *buf, GError **errp);
bool bdrv_load_vmstate(BlockDriverState *bs, uint64_t pos, uint64_t len,
                       void *buf, GError **errp);

/*
 * Status of [offset, offset+bytes): returns BDRV_BLOCK_* flags for the
 * first *pnum bytes (at least 1), or -1 with *errp set.  With
 * BDRV_BLOCK_OFFSET_VALID, *map is the offset in *file (a protocol node).
 */
int bdrv_block_status(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                      uint64_t *pnum, uint64_t *map, BlockDriverState **file,
                      GError **errp);
/* Like bdrv_block_status, but follows the backing chain: the first
 * layer that decides the content answers (ALLOCATED set there), and
 * *depth says how many backing links down it was. */
int bdrv_block_status_above(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, uint64_t *pnum, uint64_t *map,
                            BlockDriverState **file, int *depth,
                            GError **errp);

/*
 * Dirty bitmaps (block/dirty-bitmap.c): one bit per @granularity bytes
 * (a power of two), set by every write to the node that completes while
 * the bitmap exists, from any thread.  Create, query and release under
 * the big lock; release before the last reference to the node goes.
 */
typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;
BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity);
void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bm);
uint32_t bdrv_dirty_bitmap_granularity(BdrvDirtyBitmap *bm);
void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bm, uint64_t offset,
                           uint64_t bytes);
/* Clears the granules wholly inside the range (the last, short one too). */
void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bm, uint64_t offset,
                             uint64_t bytes);
/* The first dirty run at or after @offset, at most @max_bytes long (at
 * least one granule): its offset, and its length in *@bytes; -1: none. */
int64_t bdrv_dirty_bitmap_next_dirty(BdrvDirtyBitmap *bm, uint64_t offset,
                                     uint64_t max_bytes, uint64_t *bytes);
/* Dirty bytes. */
uint64_t bdrv_get_dirty_count(BdrvDirtyBitmap *bm);

/*
 * Named bitmaps (QMP block-dirty-bitmap-*; docs/block.md "Dirty
 * bitmaps").  Names are unique per node, at most 1023 bytes; the
 * granularity is a power of two from 512 B to 2 GiB (the caller checks
 * it, with QEMU's words).  Anonymous bitmaps have no name and are not
 * listed by bdrv_dirty_bitmap_next().
 */
#define BDRV_BITMAP_MAX_NAME_SIZE 1023
#define BDRV_BITMAP_MIN_GRANULARITY 512u
#define BDRV_BITMAP_MAX_GRANULARITY (2u << 30)
/* "Bitmap already exists: NAME", "Bitmap name too long: NAME" */
BdrvDirtyBitmap *bdrv_create_named_dirty_bitmap(BlockDriverState *bs,
                                                uint32_t granularity,
                                                const char *name,
                                                GError **errp);
/* Can the node's image store persistent bitmaps (qcow2 v3)? */
bool bdrv_supports_persistent_bitmaps(BlockDriverState *bs);
/* QEMU's default: the cluster size clamped to [4 KiB, 64 KiB], or 64 KiB. */
uint32_t bdrv_default_bitmap_granularity(BlockDriverState *bs);
/* A bitmap by its node (a backend or node name) and name, QEMU's errors
 * ("Node 'X' not found", "Dirty bitmap 'X' not found"). */
BdrvDirtyBitmap *block_dirty_bitmap_lookup(const char *node, const char *name,
                                           GError **errp);
BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name);
/* The named bitmap after @prev (NULL: the first), newest first. */
BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BlockDriverState *bs,
                                        BdrvDirtyBitmap *prev);
/*
 * Persistent bitmaps of every node: @inactive, stored in their images and
 * marked not in use (the end of an outgoing migration, and exit: kvmpc
 * does not close its nodes when it exits); !@inactive, marked in use
 * again (the VM runs on after a failed migration).
 */
void bdrv_store_bitmaps_all(bool inactive);
/* At exit: what a node caches (qcow2's metadata) reaches its image, for
 * every writable node, those no device uses too (a copy-before-write
 * target, a node only the monitor holds), as QEMU's closing of its nodes
 * at exit does. */
void bdrv_flush_all_nodes(void);
/* The node's size changed: named bitmaps cover the new size. */
void bdrv_dirty_bitmaps_truncate(BlockDriverState *bs);
/* Drops every named bitmap of @bs (closing the node). */
void bdrv_release_named_dirty_bitmaps(BlockDriverState *bs);
const char *bdrv_dirty_bitmap_name(BdrvDirtyBitmap *bm);     /* NULL: anon */
BlockDriverState *bdrv_dirty_bitmap_bs(BdrvDirtyBitmap *bm);
uint64_t bdrv_dirty_bitmap_size(BdrvDirtyBitmap *bm);         /* bytes */
/* Recording: writes mark it (QMP "recording"; disable/enable). */
bool bdrv_dirty_bitmap_enabled(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_enabled(BdrvDirtyBitmap *bm, bool enabled);
/* In use by a job (backup): QMP cannot change or remove it. */
bool bdrv_dirty_bitmap_busy(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_busy(BdrvDirtyBitmap *bm, bool busy);
/* Stored in the image when the node closes (qcow2 v3). */
bool bdrv_dirty_bitmap_persistent(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_persistent(BdrvDirtyBitmap *bm, bool persistent);
/* Loaded from an image that says it was not stored cleanly: its content
 * is unknown, it records nothing and can only be removed. */
bool bdrv_dirty_bitmap_inconsistent(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_inconsistent(BdrvDirtyBitmap *bm);
/* Loaded from a read-only image: cannot be changed. */
bool bdrv_dirty_bitmap_readonly(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_set_readonly(BdrvDirtyBitmap *bm, bool readonly);
/* Can the bitmap be used as @flags say?  QEMU's errors: "Bitmap 'NAME' is
 * currently in use by another operation and cannot be used", "... is
 * readonly and cannot be modified", "... is inconsistent and cannot be
 * used". */
#define BDRV_BITMAP_BUSY         0x1
#define BDRV_BITMAP_RO           0x2
#define BDRV_BITMAP_INCONSISTENT 0x4
#define BDRV_BITMAP_DEFAULT      (BDRV_BITMAP_BUSY | BDRV_BITMAP_RO | \
                                  BDRV_BITMAP_INCONSISTENT)
#define BDRV_BITMAP_ALLOW_RO     (BDRV_BITMAP_BUSY | BDRV_BITMAP_INCONSISTENT)
bool bdrv_dirty_bitmap_check(BdrvDirtyBitmap *bm, unsigned flags,
                             GError **errp);
void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bm);
/* OR @src into @dest (same node size; granularities may differ): every
 * granule of @dest overlapping a dirty granule of @src becomes dirty. */
bool bdrv_merge_dirty_bitmap(BdrvDirtyBitmap *dest, BdrvDirtyBitmap *src,
                             GError **errp);
/* A new anonymous bitmap on the same node with @src's granularity and
 * bits (a job's snapshot at its start); @recording: writes mark it. */
BdrvDirtyBitmap *bdrv_dirty_bitmap_copy(BdrvDirtyBitmap *src,
                                        bool recording);
/* The bits, to put back with restore (which frees them): an undo. */
unsigned long *bdrv_dirty_bitmap_save(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_restore(BdrvDirtyBitmap *bm, unsigned long *saved);
/* The bits as bytes, bit i in byte i / 8 at bit i % 8 (qcow2's order),
 * padded to whole 64-bit words (at least one); bytes past the end read
 * as zero. */
uint64_t bdrv_dirty_bitmap_serialized_size(BdrvDirtyBitmap *bm);
void bdrv_dirty_bitmap_serialize(BdrvDirtyBitmap *bm, uint64_t offset,
                                 uint64_t len, uint8_t *buf);
void bdrv_dirty_bitmap_deserialize(BdrvDirtyBitmap *bm, uint64_t offset,
                                   uint64_t len, const uint8_t *buf);
void bdrv_dirty_bitmap_deserialize_ones(BdrvDirtyBitmap *bm, uint64_t offset,
                                        uint64_t len);
/* SHA-256 of the serialized bits, in hex (QEMU's
 * x-debug-block-dirty-bitmap-sha256 gives the same for the same bits). */
char *bdrv_dirty_bitmap_sha256(BdrvDirtyBitmap *bm);

/* Counters, for tests and `info`. */
typedef struct BlockStats {
    uint64_t reads, writes, flushes, bounced;
} BlockStats;
void bdrv_get_stats(BlockDriverState *bs, BlockStats *st);

/*
 * Asynchronous requests.  @cb runs on the node's AioContext (a
 * GMainContext; the default context unless changed) with @err NULL on
 * success; the layer frees @err after @cb returns.  @buf must stay
 * valid until then.
 */
typedef void BlockCompletionFunc(void *opaque, GError *err);
void bdrv_set_aio_context(BlockDriverState *bs, GMainContext *ctx);
void bdrv_aio_pread(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                    void *buf, BlockCompletionFunc *cb, void *opaque);
void bdrv_aio_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                     const void *buf, BlockCompletionFunc *cb, void *opaque);
void bdrv_aio_flush(BlockDriverState *bs, BlockCompletionFunc *cb,
                    void *opaque);
/* Write zeroes (BDRV_REQ_MAY_UNMAP allowed) / discard, on a worker. */
void bdrv_aio_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, int flags,
                            BlockCompletionFunc *cb, void *opaque);
void bdrv_aio_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                       BlockCompletionFunc *cb, void *opaque);

/*
 * Vectored requests: the bytes of @iov[0..niov) in order, from/to
 * [offset, offset + their total).  The caller owns the request storage
 * (@v, embedded in its own request) and the iovec array, both valid until
 * @cb runs; the layer allocates nothing for a request that goes to a host
 * AIO engine (io_uring, Linux AIO: one engine request per element, no
 * copy).  Elements the engine cannot take as they are (unaligned for
 * O_DIRECT: bounced; qcow2; aio=threads) run together on one worker.
 * The fields of BdrvAioVec are the layer's.
 */
typedef struct BdrvAioVec {
    BlockDriverState *bs;
    bool write;
    uint64_t offset;                /* of iov[first] */
    const struct iovec *iov;
    int first, niov;                /* the part a worker runs */
    int pending;                    /* atomic: parts not yet complete */
    GError *err;                    /* the first failure */
    GError *work_err;               /* the worker's part's */
    BlockCompletionFunc *cb;
    void *opaque;
} BdrvAioVec;
void bdrv_aio_preadv(BlockDriverState *bs, BdrvAioVec *v, uint64_t offset,
                     const struct iovec *iov, int niov,
                     BlockCompletionFunc *cb, void *opaque);
void bdrv_aio_pwritev(BlockDriverState *bs, BdrvAioVec *v, uint64_t offset,
                      const struct iovec *iov, int niov,
                      BlockCompletionFunc *cb, void *opaque);

/*
 * Read @bytes at @offset into @iov now, in the caller's thread, only if
 * that cannot block: true when all of it is in.  Only nodes whose driver
 * can say so at once (raw over a buffered host file: the page cache)
 * ever say true; a false leaves the buffers possibly written in part and
 * the caller submits the request as usual.  blk_aio_preadv uses it on an
 * I/O exit's tail (include/system/exit-tail.h).
 */
bool bdrv_try_preadv_nowait(BlockDriverState *bs, uint64_t offset,
                            const struct iovec *iov, int niov,
                            uint64_t bytes);

/* Requests submitted and not yet completed. */
unsigned bdrv_aio_in_flight(BlockDriverState *bs);

/* Image information for `kvmpc-img info` (format-specific part). */
typedef struct BlockImageInfo {
    uint32_t cluster_size;          /* 0: none */
    char *backing_file;             /* as recorded in the image */
    char *backing_fmt;
    bool has_format_specific;
    /* qcow2 */
    const char *compat;             /* "0.10" or "1.1" */
    const char *compression_type;   /* "zlib" or "zstd" */
    bool lazy_refcounts, corrupt, extended_l2, dirty;
    uint32_t refcount_bits;
    GPtrArray *snapshots;           /* of BlockSnapshotInfo * */
    GPtrArray *bitmaps;             /* of BlockBitmapInfo * (NULL: none) */
} BlockImageInfo;

/* A persistent bitmap as the image describes it (qemu-img info). */
typedef struct BlockBitmapInfo {
    char *name;
    uint32_t granularity;
    bool in_use, auto_;
} BlockBitmapInfo;

typedef struct BlockSnapshotInfo {
    char *id, *name;
    uint64_t vm_state_size, date_sec, date_nsec, vm_clock_nsec, icount;
    bool has_icount;
} BlockSnapshotInfo;

/* Consistency check (kvmpc-img check): counts as qemu-img reports them. */
typedef struct BlockCheckResult {
    uint64_t corruptions, leaks, check_errors;
    uint64_t corruptions_fixed, leaks_fixed;
    uint64_t image_end_offset;
    uint64_t total_clusters, allocated_clusters;
    uint64_t fragmented_clusters, compressed_clusters;
    GString *log;               /* one line per finding, as qemu-img's */
} BlockCheckResult;

#define BDRV_FIX_LEAKS  1
#define BDRV_FIX_ERRORS 2
/* Open @bs with BDRV_O_CHECK (and BDRV_O_RDWR to repair). */
bool bdrv_check(BlockDriverState *bs, BlockCheckResult *res, int fix,
                GError **errp);

bool bdrv_get_info(BlockDriverState *bs, BlockImageInfo *info, GError **errp);
void bdrv_image_info_clear(BlockImageInfo *info);

#endif
