/*
 * qcow2 driver internals, shared by block/qcow2*.c.
 *
 * Format: QEMU's docs/interop/qcow2.txt ("qcow2 image format"), versions
 * 2 and 3.  All on-disk numbers are big-endian.
 */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include "block/block-int.h"

#define QCOW2_MAGIC 0x514649fbU             /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104             /* minimum */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21           /* 2 MiB, QEMU's limit too */
#define QCOW2_MAX_BACKING_NAME 1023
/* Limits QEMU applies, so an image kvmpc accepts opens in QEMU too and a
 * hostile header cannot make us allocate without bound. */
#define QCOW2_MAX_L1_BYTES (32 * MiB)
#define QCOW2_MAX_REFTABLE_BYTES (8 * MiB)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_SNAPSHOT_TABLE (64 * MiB)
/* Host offsets have 56 bits (L1/L2 entry bits 9-55). */
#define QCOW2_MAX_HOST_OFFSET ((1ULL << 56) - 1)

#define QCOW2_INCOMPAT_DIRTY       (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ULL << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)

#define QCOW2_EXT_END          0x00000000U
#define QCOW2_EXT_BACKING_FMT  0xe2792acaU
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857U
#define QCOW2_EXT_BITMAPS      0x23852875U
#define QCOW2_EXT_CRYPTO       0x0537be77U
#define QCOW2_EXT_DATA_FILE    0x44415441U

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

#define QCOW_OFLAG_COPIED     (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO       (1ULL << 0)
#define L1E_OFFSET_MASK       0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK     0x7f000000000001ffULL
#define L2E_OFFSET_MASK       0x00fffffffffffe00ULL
#define L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define REFT_OFFSET_MASK      0xfffffffffffffe00ULL
#define REFT_RESERVED_MASK    0x00000000000001ffULL

typedef enum {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,       /* zero flag, no host cluster */
    QCOW2_CLUSTER_ZERO_ALLOC,       /* zero flag, preallocated host cluster */
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} Qcow2ClusterType;

/* Metadata structures, for the overlap checks before every write. */
enum {
    QCOW2_OL_HEADER       = 1 << 0,
    QCOW2_OL_ACTIVE_L1    = 1 << 1,
    QCOW2_OL_ACTIVE_L2    = 1 << 2,
    QCOW2_OL_REFT         = 1 << 3,
    QCOW2_OL_REFB         = 1 << 4,
    QCOW2_OL_SNAP_TABLE   = 1 << 5,
    QCOW2_OL_INACTIVE_L1  = 1 << 6,
    QCOW2_OL_BITMAP_DIR   = 1 << 7,
    QCOW2_OL_ALL          = 0xff,
};

/* A write-back cache of whole-cluster tables (L2 tables or refcount
 * blocks), kept in their on-disk (big-endian) form. */
typedef struct Qcow2CacheEntry {
    uint64_t offset;            /* 0: empty */
    uint8_t *data;
    bool dirty;
    uint64_t lru;
} Qcow2CacheEntry;

typedef struct Qcow2Cache {
    Qcow2CacheEntry *entries;
    int size;
    uint64_t lru_clock;
    int ol_kind;                /* QCOW2_OL_* of what it holds */
    /* Must be on disk (and flushed) before this cache writes anything. */
    struct Qcow2Cache *depends;
} Qcow2Cache;

typedef struct Qcow2Snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id, *name;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint64_t icount;            /* -1: not recorded */
    uint8_t *extra;             /* extra data beyond what we know, kept */
    uint32_t extra_size;
} Qcow2Snapshot;

/* A bitmap directory entry as on disk (block/qcow2-bitmap.c). */
typedef struct Qcow2BitmapEntry {
    uint64_t table_offset;
    uint32_t table_size;        /* entries */
    uint32_t flags;
    uint8_t type, gbits;        /* granularity is 1 << gbits */
    char *name;
} Qcow2BitmapEntry;

typedef struct Qcow2State {
    /* Metadata lock (docs/block.md): held for everything but the data
     * write of newly allocated clusters. */
    GMutex lock;
    /* Guest ranges (Qcow2Range) of writes in progress: an overlapping
     * request waits on alloc_cond, so two requests never allocate the
     * same guest cluster; whole-image operations wait for none. */
    GArray *inflight;
    GCond alloc_cond;
    const char *name;           /* the image, for error messages */

    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint64_t l2_entries;        /* per table */
    uint32_t l2_bits;
    uint32_t header_length;
    uint64_t incompat, compat, autoclear;
    uint8_t compression_type;

    uint64_t l1_offset;
    uint32_t l1_size;
    uint64_t *l1;               /* host-endian copy of the active L1 */

    uint32_t refcount_order, refcount_bits;
    uint64_t refcount_max;
    uint64_t rb_entries;        /* refcounts per block */
    uint64_t rt_offset;
    uint32_t rt_clusters;
    uint64_t rt_size;           /* entries */
    uint64_t *rt;               /* host-endian copy of the refcount table */

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;    /* bytes the table occupies */
    Qcow2Snapshot *snapshots;

    char *backing_file, *backing_fmt;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    /* Header extensions we do not interpret, kept when the header is
     * rewritten (type, length, data). */
    GByteArray *unknown_exts;

    Qcow2Cache *l2_cache, *rb_cache;
    uint64_t free_cluster_hint;     /* cluster index to start searching */
    uint64_t compressed_cursor;     /* next free byte in a packed cluster */
    uint8_t *cluster_buf;           /* decompression scratch */
    uint64_t cached_compressed;     /* L2 entry whose data is in zbuf_out */
    uint8_t *zbuf_out;
    bool read_only;
    /* Allocation exclusions during repair: clusters in use whose
     * refcounts are being fixed must not be handed out. */
    const uint8_t *check_used;
    uint64_t check_used_len;

    /* The bitmaps extension (valid: has_bitmaps_ext) and the directory it
     * points at as loaded or last written (block/qcow2-bitmap.c). */
    bool has_bitmaps_ext;
    uint32_t nb_bitmaps;
    uint64_t bitmap_dir_offset, bitmap_dir_size;
    Qcow2BitmapEntry *dir;
    uint32_t nb_dir;
    /* The node's bitmaps are what the image holds (loaded completely, or
     * none to load): only then may they be stored. */
    bool bitmaps_loaded;
    /* Opened inactive (an incoming migration): the source still writes
     * the bitmaps; they are read when the image is activated. */
    bool bitmaps_deferred;
} Qcow2State;

static inline uint64_t offset_into_cluster(Qcow2State *s, uint64_t off)
{
    return off & (s->cluster_size - 1);
}
static inline uint64_t size_to_clusters(Qcow2State *s, uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}
static inline uint64_t l1_index(Qcow2State *s, uint64_t guest)
{
    return guest >> (s->cluster_bits + s->l2_bits);
}
static inline uint64_t l2_index(Qcow2State *s, uint64_t guest)
{
    return (guest >> s->cluster_bits) & (s->l2_entries - 1);
}

typedef struct Qcow2Range {
    uint64_t start, end;
} Qcow2Range;

/* qcow2.c */
/* With the lock held: wait until no write is in progress (operations on
 * the whole image: resize, snapshots, check, header rewrite). */
void qcow2_drain(Qcow2State *s);
bool qcow2_corrupt(BlockDriverState *bs, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
bool qcow2_write_meta(BlockDriverState *bs, int ign, uint64_t offset,
                      const void *buf, uint64_t len, GError **errp);
int qcow2_check_overlap(BlockDriverState *bs, int ign, uint64_t offset,
                        uint64_t len);
bool qcow2_write_l1_entry(BlockDriverState *bs, uint64_t index,
                          GError **errp);
/* Write the whole active L1 table (from s->l1). */
bool qcow2_write_l1(BlockDriverState *bs, GError **errp);
/* L1 entries a virtual size of @size needs. */
uint64_t qcow2_l1_size_for(Qcow2State *s, uint64_t size);
/* Move the active L1 to a larger table of @l1_size entries (no-op when it
 * is that large already). */
bool qcow2_grow_l1(BlockDriverState *bs, uint64_t l1_size, GError **errp);
/* The header's virtual size (the L1 must already cover it). */
bool qcow2_set_virtual_size(BlockDriverState *bs, uint64_t size,
                            GError **errp);
bool qcow2_mark_corrupt(BlockDriverState *bs);
/* Rewrite the header cluster from the state (version, features, tables,
 * extensions, backing file); lock held, caches flushed. */
bool qcow2_write_header(BlockDriverState *bs, GError **errp);
/* Shrink or grow the virtual disk (lock held, no write in flight). */
bool qcow2_truncate_locked(BlockDriverState *bs, uint64_t size,
                           GError **errp);

/* qcow2-cache.c */
Qcow2Cache *qcow2_cache_new(Qcow2State *s, int size, int ol_kind);
void qcow2_cache_free(Qcow2Cache *c);
uint8_t *qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                         uint64_t offset, bool read, GError **errp);
void qcow2_cache_mark_dirty(Qcow2Cache *c, const uint8_t *data);
bool qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c, GError **errp);
bool qcow2_cache_is_dirty(Qcow2Cache *c);
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
bool qcow2_flush_caches(BlockDriverState *bs, GError **errp);

/* qcow2-refcount.c */
bool qcow2_get_refcount(BlockDriverState *bs, uint64_t cluster_index,
                        uint64_t *refcount, GError **errp);
bool qcow2_update_refcount(BlockDriverState *bs, uint64_t offset,
                           uint64_t len, int64_t delta, GError **errp);
/* Allocate @n contiguous clusters (refcount 1); returns the offset. */
bool qcow2_alloc_clusters(BlockDriverState *bs, uint64_t n,
                          uint64_t *offset, GError **errp);
/* Allocate @len bytes for compressed data, packed. */
bool qcow2_alloc_bytes(BlockDriverState *bs, uint64_t len,
                       uint64_t *offset, GError **errp);
/* Drop one reference of the host clusters an L2 entry points to, after
 * the L2 change that dropped it is on disk. */
bool qcow2_free_entry(BlockDriverState *bs, uint64_t l2_entry,
                      GError **errp);
uint64_t qcow2_refblock_get(Qcow2State *s, const uint8_t *rb, uint64_t i);
void qcow2_refblock_set(Qcow2State *s, uint8_t *rb, uint64_t i, uint64_t v);

/* qcow2-cluster.c */
Qcow2ClusterType qcow2_entry_type(Qcow2State *s, uint64_t l2e);
void qcow2_compressed_extent(Qcow2State *s, uint64_t l2e,
                             uint64_t *offset, uint64_t *len);
bool qcow2_check_l2_entry(BlockDriverState *bs, uint64_t l2e, uint64_t guest,
                          GError **errp);
bool qcow2_check_l1_entry(BlockDriverState *bs, uint64_t index,
                          uint64_t l1e, GError **errp);
/* The L2 entry for @guest (0 when no L2 table); validated. */
bool qcow2_get_l2_entry(BlockDriverState *bs, uint64_t guest,
                        uint64_t *entry, GError **errp);
/* Make the L2 table for @guest writable (allocate or copy-on-write it)
 * and set its entry. */
bool qcow2_set_l2_entry(BlockDriverState *bs, uint64_t guest,
                        uint64_t entry, GError **errp);
bool qcow2_read_compressed(BlockDriverState *bs, uint64_t l2e,
                           uint8_t **data, GError **errp);
/* Compress one cluster; returns the compressed length, or 0 when it does
 * not get smaller. */
bool qcow2_compress(BlockDriverState *bs, const uint8_t *in, uint8_t *out,
                    uint64_t *out_len, GError **errp);

/* qcow2-snapshot.c */
bool qcow2_read_snapshots(BlockDriverState *bs, GError **errp);
void qcow2_free_snapshots(Qcow2State *s);
/* Add @delta (-1, 0, +1) to the refcount of every L2 table and cluster
 * @l1 references and recompute the COPIED flags of its entries (in @l1
 * itself and in the L2 tables, through the L2 cache). */
bool qcow2_update_l1_refcounts(BlockDriverState *bs, uint64_t *l1,
                               uint32_t l1_size, int delta, GError **errp);
bool qcow2_snapshot_create(BlockDriverState *bs, const char *name,
                           uint64_t vm_state_size, uint64_t vm_clock_nsec,
                           GError **errp);
/* Where the VM state area starts for a disk of @disk_size (qcow2.c). */
uint64_t qcow2_vm_state_offset(Qcow2State *s, uint64_t disk_size);
/* Unmap the first @len bytes of the active layer's VM state area. */
bool qcow2_drop_vmstate_locked(BlockDriverState *bs, uint64_t len,
                               GError **errp);
bool qcow2_snapshot_delete(BlockDriverState *bs, const char *name,
                           GError **errp);
bool qcow2_snapshot_goto(BlockDriverState *bs, const char *name,
                         GError **errp);

/* Give every snapshot the extra data version 3 requires (amend's
 * upgrade); lock held. */
bool qcow2_snapshots_upgrade(BlockDriverState *bs, GError **errp);

/* qcow2-amend.c */
bool qcow2_amend(BlockDriverState *bs, GHashTable *opts,
                 BlockAmendProgress *progress, void *opaque, GError **errp);
extern const BlockAmendOptDesc qcow2_amend_options[];
extern const char *const qcow2_create_only_options[];

/* qcow2.c: rewrite the header's extensions (backing format, bitmaps,
 * kept unknown ones) and the backing file name. */
bool qcow2_rewrite_header_exts(BlockDriverState *bs, GError **errp);

/* qcow2-bitmap.c */
bool qcow2_parse_bitmaps_ext(Qcow2State *s, const uint8_t *data,
                             uint32_t len, GError **errp);
/* Append the bitmaps extension at @p of header @h; the new end. */
uint64_t qcow2_put_bitmaps_ext(Qcow2State *s, uint8_t *h, uint64_t p);
/* At open (after the autoclear bits are settled). */
bool qcow2_load_bitmaps(BlockDriverState *bs, int flags, GError **errp);
bool qcow2_store_bitmaps_locked(BlockDriverState *bs, bool in_use,
                                GError **errp);
/* Are there bitmaps to store (in the image, or named ones in memory)? */
bool qcow2_has_bitmaps(BlockDriverState *bs);
void qcow2_free_bitmap_dir(Qcow2State *s);
bool qcow2_supports_persistent_bitmaps(BlockDriverState *bs);
bool qcow2_can_store_bitmap(BlockDriverState *bs, const char *name,
                            uint32_t granularity, GError **errp);
bool qcow2_remove_bitmap(BlockDriverState *bs, const char *name,
                         GError **errp);
bool qcow2_set_bitmaps_inactive(BlockDriverState *bs, bool inactive,
                                GError **errp);
/* Every cluster the bitmaps use (directory, tables, data) to @fn. */
bool qcow2_bitmap_clusters(BlockDriverState *bs,
                           void (*fn)(void *, uint64_t, uint64_t),
                           void *opaque, GError **errp);
void qcow2_bitmaps_info(Qcow2State *s, GPtrArray *out);
/* Bytes the bitmaps take in a copy with @cs-byte clusters (measure). */
uint64_t qcow2_bitmaps_measure(Qcow2State *s, uint64_t disk_size,
                               uint64_t cs);

/* qcow2-check.c */
bool qcow2_check(BlockDriverState *bs, BlockCheckResult *res, int fix,
                 GError **errp);

#endif
