/*
 * Copy-before-write: the filter node of driver "copy-before-write" and the
 * copying it does (QEMU 7.2's BlockdevOptionsCbw, its block-copy, and
 * docs/interop/live-block-operations.rst, "image fleecing").
 *
 * The node is thin: every request passes to the filtered node (its file
 * child) unchanged (block/filter-node.c's pass-through).  The copying is a
 * before-write hook on the filtered node (bdrv_add_before_write,
 * include/block/block-int.h), so writers that reach it without passing
 * the filter (a device on the node, an export of it) are caught too:
 * every write that would change a cluster still to copy first copies that
 * cluster's old data to the target, on the request's own thread.  A
 * cluster is copied once; later writes to it go straight on.
 *
 * Two users:
 *  - a backup job (block/backup.c) puts one above its source (named its
 *    filter-node-name, else "#blockN", not implicit) and copies the
 *    clusters the hook has not taken in the background through
 *    bdrv_cbw_copy; its sync mode says which are to copy;
 *  - blockdev-add driver=copy-before-write makes one over @file with its
 *    own @target; every cluster is to copy, or those @bitmap marks.  A
 *    snapshot-access node on top reads the point in time: a cluster
 *    already copied from the target, one still to copy is copied first
 *    (so the target holds every cluster read; QEMU reads such a cluster
 *    from the source under a lock instead, and its target grows only
 *    with guest writes).
 *
 * The "pending" bits (to copy, one per cluster) and the "busy" bits (being
 * copied) are under the state's lock.  A copier (hook, snapshot read or a
 * backup worker) claims pending clusters (pending -> busy) under the lock
 * and copies them without it; a hook that meets a busy cluster of its
 * range waits (condition variable) before it goes on, so no copier waits
 * while it holds a claim, and a guest write never passes a copy of the
 * same cluster still reading the old data.
 *
 * on-cbw-error: break-guest-write (default, and always a backup's): a
 * failed copy fails the guest's write, whose old data is not in the
 * target.  break-snapshot: the write goes on, nothing is copied any more
 * and snapshot-access reads fail (EACCES), as in QEMU.  cbw-timeout other
 * than 0 is refused: a copy is one synchronous request here, not timed.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/copy-before-write.h"
#include "block/filter-node.h"
#include "qobject/qdict.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

#define CBW_MIN_CLUSTER     (64 * KiB)  /* QEMU's block-copy minimum */
#define CBW_CHUNK           (1 * MiB)   /* one hook copy request */
#define BITS_PER_WORD       (sizeof(unsigned long) * 8)
#define MAX_RUNS            16

struct BdrvCbw {
    BlockDriverState *bs;           /* the filter node */
    /* The filtered node as it was when the filter was made (referenced):
     * where the hook is and what is copied from, even once another
     * filter comes between (a second backup of the source). */
    BlockDriverState *source;
    BlockDriverState *target;       /* referenced */
    uint64_t cluster, len, nclusters;
    uint64_t chunk_clusters;        /* per copy request */
    bool compress;
    bool break_snapshot;            /* on-cbw-error=break-snapshot */
    BdrvBeforeWrite hook;
    gint hooked;                    /* atomic: snapshot reads look at it */
    bool initialized;               /* lock, cond and bits exist */

    /* Shared with the hook (workers): under lock. */
    GMutex lock;
    GCond cond;
    unsigned long *pending, *busy;
    unsigned long *readable;        /* snapshot-access may read it */
    uint64_t pending_count;         /* clusters */
    unsigned busy_count;            /* clusters */
    uint64_t copied;                /* bytes */
    char *write_error;              /* a guest write's copy failed */
    gint broken;                    /* break-snapshot happened */
};

/* ---- cluster bits --------------------------------------------------------- */

static bool bit_test(const unsigned long *map, uint64_t n)
{
    return map[n / BITS_PER_WORD] & (1UL << (n % BITS_PER_WORD));
}

static void bit_set(unsigned long *map, uint64_t n)
{
    map[n / BITS_PER_WORD] |= 1UL << (n % BITS_PER_WORD);
}

static void bit_clear(unsigned long *map, uint64_t n)
{
    map[n / BITS_PER_WORD] &= ~(1UL << (n % BITS_PER_WORD));
}

/* The clusters [*first, *end) that [offset, offset + bytes) touches. */
static void cluster_range(BdrvCbw *cbw, uint64_t offset, uint64_t bytes,
                          uint64_t *first, uint64_t *end)
{
    *first = offset / cbw->cluster;
    *end = MIN(DIV_ROUND_UP(offset + bytes, cbw->cluster), cbw->nclusters);
}

void bdrv_cbw_mark(BdrvCbw *cbw, uint64_t offset, uint64_t bytes)
{
    uint64_t c, end;

    cluster_range(cbw, offset, bytes, &c, &end);
    g_mutex_lock(&cbw->lock);
    for (; c < end; c++) {
        bit_set(cbw->readable, c);
        if (!bit_test(cbw->pending, c)) {
            bit_set(cbw->pending, c);
            cbw->pending_count++;
        }
    }
    g_mutex_unlock(&cbw->lock);
}

/* ---- copying ---------------------------------------------------------------- */

static bool reads_as_zero(int status)
{
    return (status & BDRV_BLOCK_ZERO) || !(status & BDRV_BLOCK_DATA);
}

/* One piece of a copy: zeroes as write-zeroes unless compressing (a
 * compressed target takes whole clusters only). */
static bool copy_piece(BdrvCbw *cbw, uint64_t off, uint64_t bytes, void *p,
                       bool zero, bool *read_failed, GError **errp)
{
    if (zero && !cbw->compress) {
        return bdrv_pwrite_zeroes(cbw->target, off, bytes, 0, errp);
    }
    if (!bdrv_pread(cbw->source, off, bytes, p, errp)) {
        *read_failed = true;
        return false;
    }
    return cbw->compress
           ? bdrv_pwrite_compressed(cbw->target, off, bytes, p, errp)
           : bdrv_pwrite(cbw->target, off, bytes, p, errp);
}

/* Copy the clusters [c, c + n) (no lock held: the caller claimed them). */
static bool copy_clusters(BdrvCbw *cbw, uint64_t c, uint64_t n, void *buf,
                          bool *read_failed, GError **errp)
{
    BlockDriverState *src = cbw->source;
    uint64_t off = c * cbw->cluster;
    uint64_t end = MIN((c + n) * cbw->cluster, cbw->len);

    while (off < end) {
        uint64_t pnum = 0, map;
        BlockDriverState *file;
        int depth;
        int st = bdrv_block_status_above(src, off, end - off, &pnum, &map,
                                         &file, &depth, errp);

        if (st < 0) {
            *read_failed = true;
            return false;
        }
        pnum = MIN(MAX(pnum, 1), end - off);
        if (cbw->compress) {
            /* whole clusters: the rest of this one, at least */
            pnum = MIN(ALIGN_UP(off + 1, cbw->cluster), end) - off;
        }
        if (!copy_piece(cbw, off, pnum,
                        (uint8_t *)buf + (off - c * cbw->cluster),
                        reads_as_zero(st), read_failed, errp)) {
            return false;
        }
        off += pnum;
    }
    return true;
}

/*
 * Claim what is still to copy in [first, first + count): busy runs are
 * another copier's.  Returns the claimed runs' bounds through @runs
 * (pairs of first cluster, count; at most @max pairs) and their number.
 * Lock held.
 */
static unsigned claim_clusters(BdrvCbw *cbw, uint64_t first, uint64_t count,
                               uint64_t *runs, unsigned max)
{
    unsigned nruns = 0;

    for (uint64_t c = first; c < first + count; c++) {
        if (!bit_test(cbw->pending, c)) {
            continue;
        }
        if (nruns && runs[2 * (nruns - 1)] + runs[2 * (nruns - 1) + 1] == c) {
            runs[2 * (nruns - 1) + 1]++;
        } else if (nruns < max) {
            runs[2 * nruns] = c;
            runs[2 * nruns + 1] = 1;
            nruns++;
        } else {
            break;              /* no room: the rest is for later */
        }
        bit_clear(cbw->pending, c);
        bit_set(cbw->busy, c);
        cbw->pending_count--;
        cbw->busy_count++;
    }
    return nruns;
}

/* After a copy: the claims go; a failed run is to copy again. Lock held. */
static void release_clusters(BdrvCbw *cbw, uint64_t first, uint64_t count,
                             bool failed)
{
    for (uint64_t c = first; c < first + count; c++) {
        bit_clear(cbw->busy, c);
        cbw->busy_count--;
        if (failed) {
            bit_set(cbw->pending, c);
            cbw->pending_count++;
        }
    }
    if (!failed) {
        cbw->copied += MIN((first + count) * cbw->cluster, cbw->len) -
                       first * cbw->cluster;
    }
    g_cond_broadcast(&cbw->cond);
}

bool bdrv_cbw_copy(BdrvCbw *cbw, uint64_t first, uint64_t count,
                   bool *read_failed, GError **errp)
{
    uint64_t runs[2 * MAX_RUNS];
    unsigned nruns;
    void *buf = NULL;
    bool ok = true;

    g_mutex_lock(&cbw->lock);
    nruns = claim_clusters(cbw, first, count, runs, MAX_RUNS);
    g_mutex_unlock(&cbw->lock);
    if (!nruns) {
        return true;
    }
    if (posix_memalign(&buf, 4096, count * cbw->cluster)) {
        buf = NULL;
        error_setg(errp, "Cannot allocate memory");
        ok = false;
    }
    for (unsigned i = 0; i < nruns; i++) {
        bool run_ok = ok && copy_clusters(cbw, runs[2 * i], runs[2 * i + 1],
                                          buf, read_failed, errp);

        g_mutex_lock(&cbw->lock);
        release_clusters(cbw, runs[2 * i], runs[2 * i + 1], !run_ok);
        g_mutex_unlock(&cbw->lock);
        ok = run_ok;
    }
    free(buf);
    return ok;
}

/*
 * Wait until no cluster of [first, end) is being copied; true when one
 * of them is to copy again (a copier failed).  Lock held.
 */
static bool wait_range_settled(BdrvCbw *cbw, uint64_t first, uint64_t end)
{
    bool again = false;

    for (uint64_t c = first; c < end; c++) {
        while (bit_test(cbw->busy, c)) {
            g_cond_wait(&cbw->cond, &cbw->lock);
        }
    }
    for (uint64_t c = first; c < end && !again; c++) {
        again = bit_test(cbw->pending, c);
    }
    return again;
}

/*
 * Every cluster [offset, offset + bytes) touches that is still to copy is
 * in the target when this returns true: copy what is pending, then wait
 * for the clusters other copiers claimed meanwhile (one may have claimed
 * a cluster after we looked and not have read it yet).
 */
static bool copy_range_now(BdrvCbw *cbw, uint64_t offset, uint64_t bytes,
                           GError **errp)
{
    uint64_t first, end;
    bool read_failed = false, again;

    cluster_range(cbw, offset, bytes, &first, &end);
    if (first >= end) {
        return true;
    }
    do {
        /* The range is at most a request long: claim it in pieces. */
        for (uint64_t c = first; c < end; c += cbw->chunk_clusters) {
            if (!bdrv_cbw_copy(cbw, c, MIN(end - c, cbw->chunk_clusters),
                               &read_failed, errp)) {
                return false;
            }
        }
        g_mutex_lock(&cbw->lock);
        again = wait_range_settled(cbw, first, end);
        g_mutex_unlock(&cbw->lock);
    } while (again);
    return true;
}

/* The before-write hook, on the guest request's thread. */
static bool cbw_before_write(void *opaque, uint64_t offset, uint64_t bytes,
                             GError **errp)
{
    BdrvCbw *cbw = opaque;
    GError *err = NULL;

    if (g_atomic_int_get(&cbw->broken)) {
        return true;            /* break-snapshot: nothing to keep */
    }
    if (copy_range_now(cbw, offset, bytes, &err)) {
        return true;
    }
    g_mutex_lock(&cbw->lock);
    if (!cbw->write_error) {
        cbw->write_error = g_strdup(err->message);
    }
    g_mutex_unlock(&cbw->lock);
    if (cbw->break_snapshot) {
        g_atomic_int_set(&cbw->broken, true);
        g_error_free(err);
        return true;
    }
    /* The old data is not in the target: the guest's write must not
     * destroy it (break-guest-write). */
    g_propagate_error(errp, err);
    return false;
}

void bdrv_cbw_start(BdrvCbw *cbw)
{
    if (!cbw->hooked) {
        bdrv_add_before_write(cbw->source, &cbw->hook);
        g_atomic_int_set(&cbw->hooked, true);
    }
}

void bdrv_cbw_stop(BdrvCbw *cbw)
{
    if (cbw->hooked) {
        g_atomic_int_set(&cbw->hooked, false);
        bdrv_remove_before_write(cbw->source, &cbw->hook);
    }
}

/* ---- what a backup job asks ------------------------------------------------- */

int64_t bdrv_cbw_next_pending(BdrvCbw *cbw, uint64_t from)
{
    int64_t found = -1;

    g_mutex_lock(&cbw->lock);
    for (uint64_t i = 0; i < cbw->nclusters && cbw->pending_count; i++) {
        uint64_t c = (from + i) % cbw->nclusters;

        if (bit_test(cbw->pending, c)) {
            found = c;
            break;
        }
    }
    g_mutex_unlock(&cbw->lock);
    return found;
}

void bdrv_cbw_progress(BdrvCbw *cbw, uint64_t *copied, uint64_t *left)
{
    g_mutex_lock(&cbw->lock);
    *copied = cbw->copied;
    *left = (cbw->pending_count + cbw->busy_count) * cbw->cluster;
    g_mutex_unlock(&cbw->lock);
}

bool bdrv_cbw_to_copy(BdrvCbw *cbw, uint64_t cluster)
{
    bool r;

    g_mutex_lock(&cbw->lock);
    r = bit_test(cbw->pending, cluster) || bit_test(cbw->busy, cluster);
    g_mutex_unlock(&cbw->lock);
    return r;
}

char *bdrv_cbw_write_error(BdrvCbw *cbw)
{
    char *e;

    g_mutex_lock(&cbw->lock);
    e = g_strdup(cbw->write_error);
    g_mutex_unlock(&cbw->lock);
    return e;
}

uint64_t bdrv_cbw_cluster_size(BdrvCbw *cbw)
{
    return cbw->cluster;
}

uint64_t bdrv_cbw_clusters(BdrvCbw *cbw)
{
    return cbw->nclusters;
}

BdrvCbw *bdrv_cbw_state(BlockDriverState *filter)
{
    return filter->drv == &bdrv_cbw_driver ? filter->opaque : NULL;
}

/* ---- the node ------------------------------------------------------------------ */

uint64_t bdrv_cbw_cluster_for(BlockDriverState *target)
{
    return MAX(bdrv_cluster_size(target), CBW_MIN_CLUSTER);
}

/* The state of the node @bs (its file child set), copying to @target
 * (a reference of its own), nothing to copy yet. */
static void cbw_init(BlockDriverState *bs, BlockDriverState *target,
                     uint64_t cluster, uint64_t chunk_clusters, bool compress)
{
    BdrvCbw *cbw = bs->opaque;
    uint64_t words;

    cbw->bs = bs;
    bdrv_ref(bs->file);
    cbw->source = bs->file;
    bdrv_ref(target);
    cbw->target = target;
    cbw->cluster = cluster;
    cbw->len = bdrv_getlength(cbw->source);
    cbw->nclusters = DIV_ROUND_UP(cbw->len, cluster);
    cbw->chunk_clusters = MAX(chunk_clusters, 1);
    cbw->compress = compress;
    words = DIV_ROUND_UP(cbw->nclusters, BITS_PER_WORD) + 1;
    cbw->pending = g_new0(unsigned long, words);
    cbw->busy = g_new0(unsigned long, words);
    cbw->readable = g_new0(unsigned long, words);
    g_mutex_init(&cbw->lock);
    g_cond_init(&cbw->cond);
    cbw->hook.fn = cbw_before_write;
    cbw->hook.opaque = cbw;
    cbw->initialized = true;
    bs->cluster_size = cluster;
}

static void cbw_close(BlockDriverState *bs)
{
    BdrvCbw *cbw = bs->opaque;

    if (!cbw->initialized) {
        return;
    }
    bdrv_cbw_stop(cbw);
    bdrv_unref(cbw->target);
    bdrv_unref(cbw->source);
    g_free(cbw->pending);
    g_free(cbw->busy);
    g_free(cbw->readable);
    g_free(cbw->write_error);
    g_mutex_clear(&cbw->lock);
    g_cond_clear(&cbw->cond);
}

BlockDriverState *bdrv_cbw_new(BlockDriverState *src, const char *node_name,
                               BlockDriverState *target,
                               uint32_t cluster_size, uint64_t chunk_clusters,
                               bool compress, GError **errp)
{
    BlockDriverState *bs = bdrv_filter_node_new(&bdrv_cbw_driver, src,
                                                node_name, false, errp);

    if (!bs) {
        g_prefix_error(errp, "Could not create node: ");
        return NULL;
    }
    cbw_init(bs, target, cluster_size, chunk_clusters, compress);
    return bs;
}

/* ---- blockdev-add driver=copy-before-write ------------------------------------ */

static const BlockOptionDesc cbw_options[] = {
    { "file", BOPT_CHILD_FILE, true },
    { "target", BOPT_ANY, true },
    { "bitmap", BOPT_ANY },
    { "on-cbw-error", BOPT_STRING },
    { "cbw-timeout", BOPT_INT },
    { NULL },
};

/* @target: a node name or a node's options (a node of its own). */
static BlockDriverState *cbw_open_target(QDict *opts, GError **errp)
{
    QObject *v = qdict_get(opts, "target");
    QString *ref = qobject_to(QString, v);
    QDict *def = qobject_to(QDict, v);
    BlockDriverState *bs;

    if (ref) {
        bs = bdrv_find_node(qstring_get_str(ref));
        if (!bs) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       qstring_get_str(ref), qstring_get_str(ref));
            return NULL;
        }
        bdrv_ref(bs);
        return bs;
    }
    if (!def) {
        error_setg(errp, "Invalid parameter type for 'target', expected: "
                   "BlockdevRef");
        return NULL;
    }
    return bdrv_open_options(def, errp);
}

/* @bitmap ({ "node", "name" }): only the clusters it marks are to copy
 * (its bits now: later changes to it do not count, as in QEMU). */
static bool cbw_mark_bitmap(BdrvCbw *cbw, QObject *v, GError **errp)
{
    QDict *d = qobject_to(QDict, v);
    const char *node = d ? qdict_get_try_str(d, "node") : NULL;
    const char *name = d ? qdict_get_try_str(d, "name") : NULL;
    BdrvDirtyBitmap *bm;
    uint64_t off = 0, bytes;
    int64_t at;

    if (!node || !name) {
        error_setg(errp, "Parameter 'bitmap.%s' is missing",
                   node ? "name" : "node");
        return false;
    }
    bm = block_dirty_bitmap_lookup(node, name, errp);
    if (!bm) {
        return false;
    }
    while ((at = bdrv_dirty_bitmap_next_dirty(bm, off, cbw->len,
                                              &bytes)) >= 0) {
        bdrv_cbw_mark(cbw, at, bytes);
        off = at + bytes;
    }
    return true;
}

/* Do @target's writes reach @source (through file children)?  Its copy
 * would then run the hook again and wait for itself; QEMU's filter, whose
 * copying is in the filter and not on the node, takes such a target. */
static bool target_writes_source(BlockDriverState *target,
                                 BlockDriverState *source)
{
    for (int depth = 0; target && depth < 64; depth++) {
        if (target == source) {
            return true;
        }
        target = target->file;
    }
    return false;
}

static bool cbw_parse_on_error(QDict *opts, bool *break_snapshot,
                               GError **errp)
{
    const char *v = qdict_get_try_str(opts, "on-cbw-error");

    *break_snapshot = v && !strcmp(v, "break-snapshot");
    if (v && !*break_snapshot && strcmp(v, "break-guest-write")) {
        error_setg(errp, "Parameter 'on-cbw-error' does not accept value "
                   "'%s'", v);
        return false;
    }
    return true;
}

static bool cbw_open_options(BlockDriverState *bs, QDict *opts, int flags,
                             GError **errp)
{
    BdrvCbw *cbw = bs->opaque;
    BlockDriverState *target;
    bool break_snapshot;
    int64_t timeout;
    uint64_t cluster;

    if (!cbw_parse_on_error(opts, &break_snapshot, errp) ||
        !bdrv_opt_get_int(opts, "cbw-timeout", 0, &timeout, "", errp)) {
        return false;
    }
    if (timeout < 0 || timeout > UINT32_MAX) {
        error_setg(errp, "Parameter 'cbw-timeout' expects uint32_t");
        return false;
    }
    if (timeout) {
        error_setg(errp, "cbw-timeout is not supported by kvmpc (a copy "
                   "before write is not timed out); leave it 0");
        return false;
    }
    target = cbw_open_target(opts, errp);
    if (!target) {
        return false;
    }
    if (bdrv_is_read_only(target)) {
        error_setg(errp, "Block node is read-only");
        bdrv_unref(target);
        return false;
    }
    if (target_writes_source(target, bs->file)) {
        error_setg(errp, "The copy-before-write target '%s' writes the "
                   "node it filters: not supported by kvmpc",
                   bdrv_node_name(target));
        bdrv_unref(target);
        return false;
    }
    bs->size = bs->file->size;
    cluster = bdrv_cbw_cluster_for(target);
    cbw_init(bs, target, cluster, MAX(CBW_CHUNK / cluster, 1), false);
    bdrv_unref(target);             /* cbw_init took its own */
    cbw->break_snapshot = break_snapshot;
    if (qdict_haskey(opts, "bitmap")) {
        if (!cbw_mark_bitmap(cbw, qdict_get(opts, "bitmap"), errp)) {
            return false;
        }
    } else {
        bdrv_cbw_mark(cbw, 0, cbw->len);
    }
    /* The point in time is now. */
    bdrv_cbw_start(cbw);
    return true;
}

const BlockDriver bdrv_cbw_driver = {
    .format_name = "copy-before-write",
    .instance_size = sizeof(BdrvCbw),
    .options = cbw_options,
    .open_options = cbw_open_options,
    .close = cbw_close,
    BDRV_FILTER_PASSTHROUGH_OPS,
};

/* ---- snapshot-access: the point in time a copy-before-write node keeps ------- */

static const BlockOptionDesc snapshot_access_options[] = {
    { "file", BOPT_CHILD_FILE, true },
    { NULL },
};

static bool snapshot_access_open(BlockDriverState *bs, QDict *opts,
                                 int flags, GError **errp)
{
    bs->size = bs->file->size;
    return true;
}

/* The copy-before-write node under @bs, or an error as QEMU's (a file
 * child of another driver has no snapshot to read). */
static BdrvCbw *snapshot_cbw(BlockDriverState *bs, GError **errp)
{
    BdrvCbw *cbw = bdrv_cbw_state(bs->file);

    if (!cbw) {
        bdrv_error_setg_errno(errp, ENOTSUP, "Operation not supported");
    }
    return cbw;
}

/* May the snapshot of [off, off + len) be read: still kept (a backup's
 * filter stops keeping it when its job ends), not broken, every cluster
 * one the node keeps (QEMU's EACCES otherwise). */
static bool snapshot_readable(BdrvCbw *cbw, uint64_t off, uint64_t len,
                              GError **errp)
{
    uint64_t c, end;
    bool ok;

    cluster_range(cbw, off, len, &c, &end);
    g_mutex_lock(&cbw->lock);
    ok = g_atomic_int_get(&cbw->hooked) && !g_atomic_int_get(&cbw->broken);
    for (; ok && c < end; c++) {
        ok = bit_test(cbw->readable, c);
    }
    g_mutex_unlock(&cbw->lock);
    if (!ok) {
        bdrv_error_setg_errno(errp, EACCES, "Permission denied");
    }
    return ok;
}

static bool snapshot_access_pread(BlockDriverState *bs, uint64_t off,
                                  uint64_t len, void *buf, GError **errp)
{
    BdrvCbw *cbw = snapshot_cbw(bs, errp);

    return cbw && snapshot_readable(cbw, off, len, errp) &&
           copy_range_now(cbw, off, len, errp) &&
           bdrv_pread(cbw->target, off, len, buf, errp);
}

static bool snapshot_access_pwrite(BlockDriverState *bs, uint64_t off,
                                   uint64_t len, const void *buf,
                                   GError **errp)
{
    bdrv_error_setg_errno(errp, ENOTSUP, "Operation not supported");
    return false;
}

static bool snapshot_access_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                                          uint64_t len, int flags,
                                          GError **errp)
{
    return snapshot_access_pwrite(bs, off, len, NULL, errp);
}

/*
 * The clusters wholly inside the range are not needed any more (QEMU's
 * fleecing client says it has read them): they are not copied nor
 * readable from now on, and the target lets their space go.
 */
static bool snapshot_access_pdiscard(BlockDriverState *bs, uint64_t off,
                                     uint64_t len, GError **errp)
{
    BdrvCbw *cbw = snapshot_cbw(bs, errp);
    uint64_t first, end;

    if (!cbw) {
        return false;
    }
    first = DIV_ROUND_UP(off, cbw->cluster);
    end = off + len >= cbw->len ? cbw->nclusters
                                : (off + len) / cbw->cluster;
    if (first >= end) {
        return true;
    }
    g_mutex_lock(&cbw->lock);
    wait_range_settled(cbw, first, end);
    for (uint64_t c = first; c < end; c++) {
        bit_clear(cbw->readable, c);
        if (bit_test(cbw->pending, c)) {
            bit_clear(cbw->pending, c);
            cbw->pending_count--;
        }
    }
    g_mutex_unlock(&cbw->lock);
    return bdrv_pdiscard(cbw->target, first * cbw->cluster,
                         MIN(end * cbw->cluster, cbw->len) -
                         first * cbw->cluster, errp);
}

static bool snapshot_access_flush(BlockDriverState *bs, GError **errp)
{
    return true;                /* nothing is written through it */
}

static int snapshot_access_block_status(BlockDriverState *bs, uint64_t off,
                                        uint64_t len, uint64_t *pnum,
                                        uint64_t *map,
                                        BlockDriverState **file,
                                        GError **errp)
{
    *pnum = len;
    *map = off;
    *file = bs;
    return BDRV_BLOCK_DATA;
}

const BlockDriver bdrv_snapshot_access_driver = {
    .format_name = "snapshot-access",
    .options = snapshot_access_options,
    .open_options = snapshot_access_open,
    .perm_passthrough = true,
    .pread = snapshot_access_pread,
    .pwrite = snapshot_access_pwrite,
    .pwrite_zeroes = snapshot_access_pwrite_zeroes,
    .pdiscard = snapshot_access_pdiscard,
    .flush = snapshot_access_flush,
    .block_status = snapshot_access_block_status,
};
