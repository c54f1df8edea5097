/*
 * Block commands of QMP and HMP: queries (query-block, -named-block-nodes,
 * -blockstats; info block, info blockstats), node management (blockdev-add,
 * blockdev-del), removable media (eject, blockdev-open/close-tray,
 * -remove/-insert-medium, blockdev-change-medium; HMP eject and change)
 * and block_resize.  Arguments, results and error texts are QEMU 7.2's;
 * the HMP output is what QEMU 7.2 prints.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "block/throttle.h"
#include "block/blockjob.h"
#include "hw/qdev.h"
#include "system/blockdev.h"
#include "qapi/qapi-commands.h"
#include "monitor-internal.h"
#include "hmp.h"
#include "qobject/qdict.h"

/* ---- queries ----------------------------------------------------------- */

/* The layer below @bs as a query shows it: QEMU's filter-or-cow child;
 * query-block (@device) looks through the jobs' implicit filters. */
static BlockDriverState *next_layer(BlockDriverState *bs, bool device)
{
    BlockDriverState *next = bdrv_filtered_or_backing(bs);

    return device && next ? bdrv_skip_implicit_filters(next) : next;
}

/* QEMU's backing_file_depth: the layers below @bs, a filter's filtered
 * node counting as one; 0 in flat output. */
static int backing_depth(BlockDriverState *bs, bool flat, bool device)
{
    int n = 0;

    if (flat) {
        return 0;
    }
    for (BlockDriverState *b = next_layer(bs, device); b && n < 64;
         b = next_layer(b, device)) {
        n++;
    }
    return n;
}

static ImageInfo *image_info(BlockDriverState *bs, bool flat, bool device,
                             int depth)
{
    ImageInfo *img = g_new0(ImageInfo, 1);
    BlockImageInfo bi = { 0 };
    int64_t actual = bdrv_allocated_size(bdrv_file(bs) ? bdrv_file(bs) : bs);

    img->filename = g_strdup(bdrv_filename(bs));
    img->format = g_strdup(bdrv_format_name(bs));
    img->virtual_size = bdrv_getlength(bs);
    if (actual >= 0) {
        img->has_actual_size = true;
        img->actual_size = actual;
    }
    if (bdrv_get_info(bs, &bi, NULL)) {
        if (bi.cluster_size) {
            img->has_cluster_size = true;
            img->cluster_size = bi.cluster_size;
        }
        if (bi.has_format_specific) {
            img->has_dirty_flag = true;
            img->dirty_flag = bi.dirty;
        }
        img->backing_filename = g_strdup(bi.backing_file);
        img->backing_filename_format = g_strdup(bi.backing_fmt);
        bdrv_image_info_clear(&bi);
    }
    if (!flat && next_layer(bs, device) && depth < 64) {
        img->backing_image = image_info(next_layer(bs, device), false,
                                        device, depth + 1);
    }
    return img;
}

/* The named bitmaps, newest first, as QEMU lists them (NULL: none). */
static BlockDirtyInfoList *dirty_bitmaps_info(BlockDriverState *bs)
{
    BlockDirtyInfoList *head = NULL, **tail = &head;

    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        BlockDirtyInfo *i = g_new0(BlockDirtyInfo, 1);

        i->name = g_strdup(bdrv_dirty_bitmap_name(bm));
        i->count = bdrv_get_dirty_count(bm);
        i->granularity = bdrv_dirty_bitmap_granularity(bm);
        i->recording = bdrv_dirty_bitmap_enabled(bm);
        i->busy = bdrv_dirty_bitmap_busy(bm);
        i->persistent = bdrv_dirty_bitmap_persistent(bm);
        i->has_inconsistent = i->inconsistent =
            bdrv_dirty_bitmap_inconsistent(bm);
        *tail = g_new0(BlockDirtyInfoList, 1);
        (*tail)->value = i;
        tail = &(*tail)->next;
    }
    return head;
}

/* @device: query-block's "inserted" (QEMU hides the implicit filters
 * there, not in query-named-block-nodes). */
static BlockDeviceInfo *node_info(BlockDriverState *bs, bool flat,
                                  bool device)
{
    BlockDeviceInfo *info = g_new0(BlockDeviceInfo, 1);
    BlockDriverState *back = bdrv_backing(bs);
    int flags = bdrv_open_flags(bs);

    info->file = g_strdup(bdrv_filename(bs));
    info->node_name = g_strdup(bdrv_node_name(bs));
    info->ro = bdrv_is_read_only(bs);
    info->drv = g_strdup(bdrv_format_name(bs));
    info->backing_file = back ? g_strdup(bdrv_filename(back)) : NULL;
    info->backing_file_depth = backing_depth(bs, flat, device);
    info->detect_zeroes =
        qapi_enum_parse(&BlockdevDetectZeroesOptions_lookup,
                        bdrv_detect_zeroes_name(bs), 0, NULL);
    info->image = image_info(bs, flat, device, 0);
    info->dirty_bitmaps = dirty_bitmaps_info(bs);
    info->cache = g_new0(BlockdevCacheInfo, 1);
    info->cache->writeback = !(flags & BDRV_O_WRITETHROUGH);
    info->cache->direct = flags & BDRV_O_NOCACHE;
    info->cache->no_flush = flags & BDRV_O_NO_FLUSH;
    return info;
}

/* The backend's I/O limits in query-block's names (the bursts, size and
 * group only when there are limits, as QEMU). */
static void io_limits_info(BlockBackend *blk, BlockDeviceInfo *info)
{
    ThrottleConfig cfg;
    const char *group;

    if (!blk_get_io_limits(blk, &cfg, &group)) {
        return;
    }
    info->bps = cfg.b[THROTTLE_BPS_TOTAL].avg;
    info->bps_rd = cfg.b[THROTTLE_BPS_READ].avg;
    info->bps_wr = cfg.b[THROTTLE_BPS_WRITE].avg;
    info->iops = cfg.b[THROTTLE_OPS_TOTAL].avg;
    info->iops_rd = cfg.b[THROTTLE_OPS_READ].avg;
    info->iops_wr = cfg.b[THROTTLE_OPS_WRITE].avg;
    info->has_bps_max = info->has_bps_rd_max = info->has_bps_wr_max = true;
    info->has_iops_max = info->has_iops_rd_max = info->has_iops_wr_max = true;
    info->bps_max = cfg.b[THROTTLE_BPS_TOTAL].max;
    info->bps_rd_max = cfg.b[THROTTLE_BPS_READ].max;
    info->bps_wr_max = cfg.b[THROTTLE_BPS_WRITE].max;
    info->iops_max = cfg.b[THROTTLE_OPS_TOTAL].max;
    info->iops_rd_max = cfg.b[THROTTLE_OPS_READ].max;
    info->iops_wr_max = cfg.b[THROTTLE_OPS_WRITE].max;
    info->has_bps_max_length = info->has_bps_rd_max_length = true;
    info->has_bps_wr_max_length = info->has_iops_max_length = true;
    info->has_iops_rd_max_length = info->has_iops_wr_max_length = true;
    info->bps_max_length = cfg.b[THROTTLE_BPS_TOTAL].burst_length;
    info->bps_rd_max_length = cfg.b[THROTTLE_BPS_READ].burst_length;
    info->bps_wr_max_length = cfg.b[THROTTLE_BPS_WRITE].burst_length;
    info->iops_max_length = cfg.b[THROTTLE_OPS_TOTAL].burst_length;
    info->iops_rd_max_length = cfg.b[THROTTLE_OPS_READ].burst_length;
    info->iops_wr_max_length = cfg.b[THROTTLE_OPS_WRITE].burst_length;
    info->has_iops_size = true;
    info->iops_size = cfg.op_size;
    info->group = g_strdup(group);
}

/* Anonymous backends without a device are internal (QEMU hides them). */
static bool blk_is_listed(BlockBackend *blk)
{
    return *blk_name(blk) || blk_is_attached(blk);
}

static BlockInfo *block_info(BlockBackend *blk)
{
    BlockInfo *info = g_new0(BlockInfo, 1);

    info->device = g_strdup(blk_name(blk));
    if (blk_get_attached_dev(blk)) {
        info->qdev = g_strdup(blk_get_attached_dev_id(blk));
    }
    info->type = g_strdup("unknown");
    info->removable = blk_dev_has_removable_media(blk);
    info->locked = blk_dev_is_medium_locked(blk);
    if (blk_dev_has_tray(blk)) {
        info->has_tray_open = true;
        info->tray_open = blk_dev_is_tray_open(blk);
    }
    if (blk_iostatus_is_enabled(blk)) {
        info->has_io_status = true;
        info->io_status = blk_iostatus(blk);
    }
    /* As QEMU: the medium shows while it is in, tray open or not. */
    if (blk_bs(blk)) {
        info->inserted = node_info(bdrv_skip_implicit_filters(blk_bs(blk)),
                                   false, true);
        io_limits_info(blk, info->inserted);
    }
    return info;
}

BlockInfoList *qmp_query_block(GError **errp)
{
    BlockInfoList *list = NULL, **tail = &list;
    GPtrArray *l = blk_list();

    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        BlockInfoList *e;

        if (!blk_is_listed(blk)) {
            continue;
        }
        e = g_new0(BlockInfoList, 1);
        e->value = block_info(blk);
        *tail = e;
        tail = &e->next;
    }
    return list;
}

BlockDeviceInfoList *qmp_query_named_block_nodes(bool has_flat, bool flat,
                                                 GError **errp)
{
    BlockDeviceInfoList *list = NULL, **tail = &list;
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDeviceInfoList *e = g_new0(BlockDeviceInfoList, 1);

        e->value = node_info(g_ptr_array_index(nodes, i), has_flat && flat,
                             false);
        *tail = e;
        tail = &e->next;
    }
    return list;
}

static BlockDeviceStats *device_stats(BlockBackend *blk)
{
    BlockDeviceStats *ds = g_new0(BlockDeviceStats, 1);
    BlockAcctStats st = { 0 };

    if (blk) {
        blk_get_stats(blk, &st);
    }
    ds->rd_bytes = st.bytes[BLOCK_ACCT_READ];
    ds->wr_bytes = st.bytes[BLOCK_ACCT_WRITE];
    ds->unmap_bytes = st.bytes[BLOCK_ACCT_UNMAP];
    ds->rd_operations = st.ops[BLOCK_ACCT_READ];
    ds->wr_operations = st.ops[BLOCK_ACCT_WRITE];
    ds->flush_operations = st.ops[BLOCK_ACCT_FLUSH];
    ds->unmap_operations = st.ops[BLOCK_ACCT_UNMAP];
    ds->rd_total_time_ns = st.total_time_ns[BLOCK_ACCT_READ];
    ds->wr_total_time_ns = st.total_time_ns[BLOCK_ACCT_WRITE];
    ds->flush_total_time_ns = st.total_time_ns[BLOCK_ACCT_FLUSH];
    ds->unmap_total_time_ns = st.total_time_ns[BLOCK_ACCT_UNMAP];
    ds->wr_highest_offset = st.wr_highest_offset;
    ds->failed_rd_operations = st.failed_ops[BLOCK_ACCT_READ];
    ds->failed_wr_operations = st.failed_ops[BLOCK_ACCT_WRITE];
    ds->failed_flush_operations = st.failed_ops[BLOCK_ACCT_FLUSH];
    ds->failed_unmap_operations = st.failed_ops[BLOCK_ACCT_UNMAP];
    ds->invalid_rd_operations = st.invalid_ops[BLOCK_ACCT_READ];
    ds->invalid_wr_operations = st.invalid_ops[BLOCK_ACCT_WRITE];
    ds->invalid_flush_operations = st.invalid_ops[BLOCK_ACCT_FLUSH];
    ds->invalid_unmap_operations = st.invalid_ops[BLOCK_ACCT_UNMAP];
    ds->account_invalid = true;
    ds->account_failed = true;
    if (st.last_access_ns) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ds->has_idle_time_ns = true;
        ds->idle_time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec -
                           st.last_access_ns;
    }
    return ds;
}

/* @device: a device's entry, which looks through the jobs' implicit
 * filters at every level, as QEMU's does (query-nodes lists them). */
static BlockStatsEntry *node_stats(BlockDriverState *bs, int depth,
                                   bool device)
{
    BlockStatsEntry *e = g_new0(BlockStatsEntry, 1);

    if (device) {
        bs = bdrv_skip_implicit_filters(bs);
    }
    e->node_name = g_strdup(bdrv_node_name(bs));
    e->stats = device_stats(NULL);
    if (depth < 64 && bdrv_file(bs)) {
        e->parent = node_stats(bdrv_file(bs), depth + 1, device);
    }
    if (depth < 64 && bdrv_backing(bs)) {
        e->backing = node_stats(bdrv_backing(bs), depth + 1, device);
    }
    return e;
}

BlockStatsEntryList *qmp_query_blockstats(bool has_query_nodes,
                                          bool query_nodes, GError **errp)
{
    BlockStatsEntryList *list = NULL, **tail = &list;

    if (has_query_nodes && query_nodes) {
        GPtrArray *nodes = bdrv_all_nodes();
        for (unsigned i = 0; i < nodes->len; i++) {
            BlockStatsEntryList *e = g_new0(BlockStatsEntryList, 1);
            e->value = node_stats(g_ptr_array_index(nodes, i), 0, false);
            *tail = e;
            tail = &e->next;
        }
        return list;
    }
    for (unsigned i = 0; i < blk_list()->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blk_list(), i);
        BlockStatsEntryList *e;

        if (!blk_is_listed(blk)) {
            continue;
        }
        e = g_new0(BlockStatsEntryList, 1);
        e->value = blk_bs(blk) ? node_stats(blk_bs(blk), 0, true)
                               : g_new0(BlockStatsEntry, 1);
        qapi_free_BlockDeviceStats(e->value->stats);
        e->value->stats = device_stats(blk);
        e->value->device = g_strdup(blk_name(blk));
        if (blk_get_attached_dev(blk)) {
            e->value->qdev = g_strdup(blk_get_attached_dev_id(blk));
        }
        *tail = e;
        tail = &e->next;
    }
    return list;
}

/* ---- nodes --------------------------------------------------------------- */

/* Hand-written ('gen': false): the arguments are the options dictionary
 * the block layer checks and opens, exactly as -blockdev's. */
void qmp_marshal_blockdev_add(QDict *args, QObject **ret, GError **errp)
{
    QDict *empty = qdict_new();

    if (blockdev_add(args ? args : empty, errp)) {
        *ret = QOBJECT(qdict_new());
    }
    qobject_unref(empty);
}

/* Hand-written ('gen': false) as blockdev-add: the options go to the
 * block layer as they are. */
void qmp_marshal_blockdev_reopen(QDict *args, QObject **ret, GError **errp)
{
    QObject *v = args ? qdict_get(args, "options") : NULL;
    QList *list = qobject_to(QList, v);

    if (!v) {
        error_setg(errp, "Parameter 'options' is missing");
        return;
    }
    if (!list) {
        error_setg(errp, "Invalid parameter type for 'options', expected: "
                   "array");
        return;
    }
    for (const QDictEntry *e = qdict_first(args); e; e = qdict_next(args, e)) {
        if (strcmp(qdict_entry_key(e), "options")) {
            error_setg(errp, "Parameter '%s' is unexpected",
                       qdict_entry_key(e));
            return;
        }
    }
    blk_drain_all();
    if (bdrv_reopen_options_list(list, errp)) {
        *ret = QOBJECT(qdict_new());
    }
}

void qmp_blockdev_del(const char *node_name, GError **errp)
{
    blockdev_del(node_name, errp);
}

/* ---- I/O limits ------------------------------------------------------------ */

static BlockBackend *get_blk(const char *device, const char *id,
                             GError **errp);

/* An optional burst value: given, or the default (max 0, length 1). */
static uint64_t opt(bool has, int64_t v, uint64_t dflt)
{
    return has ? (uint64_t)v : dflt;
}

void qmp_block_set_io_throttle(BlockIOThrottle *a, GError **errp)
{
    BlockBackend *blk = get_blk(a->device, a->id, errp);
    ThrottleConfig cfg;
    ThrottleBucketConfig *b = cfg.b;

    if (!blk) {
        return;
    }
    if (!blk_bs(blk)) {
        error_setg(errp, "Device '%s' is not inserted",
                   a->device ? a->device : a->id);
        return;
    }
    throttle_config_init(&cfg);
    b[THROTTLE_BPS_TOTAL] = (ThrottleBucketConfig) { a->bps,
        opt(a->has_bps_max, a->bps_max, 0),
        opt(a->has_bps_max_length, a->bps_max_length, 1) };
    b[THROTTLE_BPS_READ] = (ThrottleBucketConfig) { a->bps_rd,
        opt(a->has_bps_rd_max, a->bps_rd_max, 0),
        opt(a->has_bps_rd_max_length, a->bps_rd_max_length, 1) };
    b[THROTTLE_BPS_WRITE] = (ThrottleBucketConfig) { a->bps_wr,
        opt(a->has_bps_wr_max, a->bps_wr_max, 0),
        opt(a->has_bps_wr_max_length, a->bps_wr_max_length, 1) };
    b[THROTTLE_OPS_TOTAL] = (ThrottleBucketConfig) { a->iops,
        opt(a->has_iops_max, a->iops_max, 0),
        opt(a->has_iops_max_length, a->iops_max_length, 1) };
    b[THROTTLE_OPS_READ] = (ThrottleBucketConfig) { a->iops_rd,
        opt(a->has_iops_rd_max, a->iops_rd_max, 0),
        opt(a->has_iops_rd_max_length, a->iops_rd_max_length, 1) };
    b[THROTTLE_OPS_WRITE] = (ThrottleBucketConfig) { a->iops_wr,
        opt(a->has_iops_wr_max, a->iops_wr_max, 0),
        opt(a->has_iops_wr_max_length, a->iops_wr_max_length, 1) };
    cfg.op_size = opt(a->has_iops_size, a->iops_size, 0);
    blk_set_io_limits(blk, &cfg, a->group, errp);
}

/* ---- removable media ------------------------------------------------------ */

/* QEMU's qmp_get_blk: by backend name, or by the device's id. */
static BlockBackend *get_blk(const char *device, const char *id,
                             GError **errp)
{
    BlockBackend *blk;

    if (device && id) {
        error_setg(errp, "Cannot specify both 'device' and 'id'");
        return NULL;
    }
    if (device) {
        blk = blk_by_name(device);
        if (!blk) {
            g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                        "Device '%s' not found", device);
        }
        return blk;
    }
    if (!id) {
        error_setg(errp, "Either 'device' or 'id' must be specified");
        return NULL;
    }
    blk = blk_by_dev_id(id);
    if (!blk && (device_find_by_id(id) || device_find_by_path(id))) {
        error_setg(errp, "Device '%s' does not have a block device backend",
                   id);
    } else if (!blk) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", id);
    }
    return blk;
}

typedef enum TrayResult {
    TRAY_OPEN,          /* open now (or was) */
    TRAY_NONE,          /* the device has no tray: nothing to open */
    TRAY_FAILED,
} TrayResult;

/* QEMU's do_open_tray: a locked tray is asked to open (the guest sees
 * an eject request) and only @force opens it anyway. */
static TrayResult open_tray(BlockBackend *blk, const char *name, bool force,
                            GError **errp)
{
    bool locked;

    if (!blk_dev_has_removable_media(blk)) {
        error_setg(errp, "Device '%s' is not removable", name);
        return TRAY_FAILED;
    }
    if (!blk_dev_has_tray(blk)) {
        return TRAY_NONE;
    }
    if (blk_dev_is_tray_open(blk)) {
        return TRAY_OPEN;
    }
    locked = blk_dev_is_medium_locked(blk);
    if (locked) {
        blk_dev_eject_request(blk, force);
    }
    if (!locked || force) {
        blk_dev_change_media_cb(blk, false);
    }
    if (locked && !force) {
        error_setg(errp, "Device '%s' is locked and force was not specified, "
                   "wait for tray to open and try again", name);
        return TRAY_FAILED;
    }
    return TRAY_OPEN;
}

static bool remove_medium(BlockBackend *blk, const char *name, GError **errp)
{
    if (!blk_dev_has_removable_media(blk)) {
        error_setg(errp, "Device '%s' is not removable", name);
        return false;
    }
    if (blk_dev_has_tray(blk) && !blk_dev_is_tray_open(blk)) {
        error_setg(errp, "Tray of device '%s' is not open", name);
        return false;
    }
    if (!blk_bs(blk)) {
        return true;
    }
    if (!block_job_check_busy(blk_bs(blk), errp)) {
        return false;
    }
    blk_remove_bs(blk);
    if (!blk_dev_has_tray(blk)) {
        blk_dev_change_media_cb(blk, false);
    }
    return true;
}

static bool insert_medium(BlockBackend *blk, const char *name,
                          BlockDriverState *bs, GError **errp)
{
    if (!blk_dev_has_removable_media(blk)) {
        error_setg(errp, "Device '%s' is not removable", name);
        return false;
    }
    if (blk_dev_has_tray(blk) && !blk_dev_is_tray_open(blk)) {
        error_setg(errp, "Tray of device '%s' is not open", name);
        return false;
    }
    if (blk_bs(blk)) {
        error_setg(errp, "There already is a medium in device '%s'", name);
        return false;
    }
    if (!blk_insert_bs(blk, bs, errp)) {
        return false;
    }
    if (!blk_dev_has_tray(blk)) {
        blk_dev_change_media_cb(blk, true);
    }
    return true;
}

static void close_tray(BlockBackend *blk, const char *name, GError **errp)
{
    if (!blk_dev_has_removable_media(blk)) {
        error_setg(errp, "Device '%s' is not removable", name);
        return;
    }
    if (blk_dev_has_tray(blk) && blk_dev_is_tray_open(blk)) {
        blk_dev_change_media_cb(blk, true);
    }
}

void qmp_eject(const char *device, const char *id, bool has_force,
               bool force, GError **errp)
{
    BlockBackend *blk = get_blk(device, id, errp);
    const char *name = device ? device : id;

    if (blk && open_tray(blk, name, has_force && force, errp) != TRAY_FAILED) {
        remove_medium(blk, name, errp);
    }
}

void qmp_blockdev_open_tray(const char *device, const char *id,
                            bool has_force, bool force, GError **errp)
{
    BlockBackend *blk = get_blk(device, id, errp);

    if (blk) {
        open_tray(blk, device ? device : id, has_force && force, errp);
    }
}

void qmp_blockdev_close_tray(const char *device, const char *id,
                             GError **errp)
{
    BlockBackend *blk = get_blk(device, id, errp);

    if (blk) {
        close_tray(blk, device ? device : id, errp);
    }
}

void qmp_blockdev_remove_medium(const char *id, GError **errp)
{
    BlockBackend *blk = get_blk(NULL, id, errp);

    if (blk) {
        remove_medium(blk, id, errp);
    }
}

void qmp_blockdev_insert_medium(const char *id, const char *node_name,
                                GError **errp)
{
    BlockBackend *blk = get_blk(NULL, id, errp);
    BlockDriverState *bs;

    if (!blk) {
        return;
    }
    bs = bdrv_find_node(node_name);
    if (!bs) {
        error_setg(errp, "Node '%s' not found", node_name);
        return;
    }
    for (unsigned i = 0; i < blk_list()->len; i++) {
        if (blk_bs(g_ptr_array_index(blk_list(), i)) == bs) {
            error_setg(errp, "Node '%s' is already in use", node_name);
            return;
        }
    }
    insert_medium(blk, id, bs, errp);
}

void qmp_blockdev_change_medium(const char *device, const char *id,
                                const char *filename, const char *format,
                                bool has_force, bool force,
                                bool has_read_only_mode,
                                BlockdevChangeReadOnlyMode read_only_mode,
                                GError **errp)
{
    BlockBackend *blk = get_blk(device, id, errp);
    const char *name = device ? device : id;
    BlockDriverState *medium;
    int flags;

    if (!blk) {
        return;
    }
    flags = blk_get_open_flags(blk) & ~BDRV_O_NO_BACKING;
    if (has_read_only_mode && read_only_mode ==
        BLOCKDEV_CHANGE_READ_ONLY_MODE_READ_ONLY) {
        flags &= ~BDRV_O_RDWR;
    } else if (has_read_only_mode && read_only_mode ==
               BLOCKDEV_CHANGE_READ_ONLY_MODE_READ_WRITE) {
        flags |= BDRV_O_RDWR;
    }
    /* Open first: a bad file leaves the drive as it was. */
    medium = bdrv_open(filename, format, flags, errp);
    if (!medium) {
        return;
    }
    if (open_tray(blk, name, has_force && force, errp) != TRAY_FAILED &&
        remove_medium(blk, name, errp) &&
        insert_medium(blk, name, medium, errp)) {
        close_tray(blk, name, errp);
    }
    bdrv_unref(medium);         /* the backend holds it, or it goes */
}

/* ---- resize ---------------------------------------------------------------- */

void qmp_block_resize(const char *device, const char *node_name,
                      int64_t size, GError **errp)
{
    BlockBackend *blk = device ? blk_by_name(device) : NULL;
    BlockDriverState *bs = NULL;

    if (blk) {
        bs = blk_bs(blk);
        if (!bs) {
            error_setg(errp, "Device '%s' has no medium", device);
            return;
        }
    } else if (node_name && !device) {
        bs = bdrv_find_node(node_name);
    }
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device ? device : "", node_name ? node_name : "");
        return;
    }
    if (size < 0) {
        error_setg(errp, "Parameter 'size' expects a >0 size");
        return;
    }
    if (!block_job_check_busy(bs, errp)) {
        return;
    }
    /* Every device on this node learns the new size. */
    for (unsigned i = 0; i < blk_list()->len; i++) {
        BlockBackend *b = g_ptr_array_index(blk_list(), i);
        if (blk_bs(b) == bs) {
            blk_truncate(b, size, errp);
            return;
        }
    }
    bdrv_truncate(bs, size, errp);
}

/* ---- HMP ------------------------------------------------------------------ */

static void print_block(GString *out, const BlockInfo *info)
{
    const char *name = *info->device ? info->device
                                     : (info->qdev ? info->qdev : "");

    if (info->inserted) {
        g_string_append_printf(out, "%s (%s): %s (%s%s)\n", name,
                               info->inserted->node_name,
                               info->inserted->file, info->inserted->drv,
                               info->inserted->ro ? ", read-only" : "");
    } else {
        g_string_append_printf(out, "%s: [not inserted]\n", name);
    }
    if (info->qdev) {
        g_string_append_printf(out, "    Attached to:      %s\n", info->qdev);
    }
    if (info->removable) {
        g_string_append_printf(out, "    Removable device: %slocked, tray %s\n",
                               info->locked ? "" : "not ",
                               info->tray_open ? "open" : "closed");
    }
    if (info->has_io_status && info->io_status != BLOCK_DEVICE_IO_STATUS_OK) {
        g_string_append_printf(out, "    I/O status:       %s\n",
                               BlockDeviceIoStatus_str[info->io_status]);
    }
    if (info->inserted) {
        BlockdevCacheInfo *c = info->inserted->cache;
        g_string_append_printf(out, "    Cache mode:       %s%s%s\n",
                               c->writeback ? "writeback" : "writethrough",
                               c->direct ? ", direct" : "",
                               c->no_flush ? ", ignore flushes" : "");
        if (info->inserted->backing_file) {
            g_string_append_printf(out, "    Backing file:     %s "
                                   "(chain depth: %" PRId64 ")\n",
                                   info->inserted->backing_file,
                                   info->inserted->backing_file_depth);
        }
        if (info->inserted->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OPTIONS_OFF) {
            g_string_append_printf(out, "    Detect zeroes:    %s\n",
                BlockdevDetectZeroesOptions_str[info->inserted->detect_zeroes]);
        }
    }
}

void hmp_info_block(Monitor *mon, const char *args)
{
    g_autoptr(BlockInfoList) list = qmp_query_block(NULL);
    g_autoptr(GString) out = g_string_new(NULL);

    for (BlockInfoList *e = list; e; e = e->next) {
        if (e != list) {
            g_string_append_c(out, '\n');
        }
        print_block(out, e->value);
    }
    monitor_puts(mon, out->str);
}

void hmp_info_blockstats(Monitor *mon, const char *args)
{
    g_autoptr(BlockStatsEntryList) list = qmp_query_blockstats(false, false,
                                                               NULL);

    for (BlockStatsEntryList *e = list; e; e = e->next) {
        BlockStatsEntry *b = e->value;
        BlockDeviceStats *s = b->stats;

        monitor_printf(mon, "%s:", *b->device ? b->device
                                              : (b->qdev ? b->qdev : ""));
        monitor_printf(mon, " rd_bytes=%" PRId64 " wr_bytes=%" PRId64
                       " rd_operations=%" PRId64 " wr_operations=%" PRId64
                       " flush_operations=%" PRId64
                       " wr_total_time_ns=%" PRId64
                       " rd_total_time_ns=%" PRId64
                       " flush_total_time_ns=%" PRId64
                       " rd_merged=%" PRId64 " wr_merged=%" PRId64
                       " idle_time_ns=%" PRId64 "\n",
                       s->rd_bytes, s->wr_bytes, s->rd_operations,
                       s->wr_operations, s->flush_operations,
                       s->wr_total_time_ns, s->rd_total_time_ns,
                       s->flush_total_time_ns, s->rd_merged, s->wr_merged,
                       s->idle_time_ns);
    }
}

static void hmp_error(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

/* The device: a backend name, else a device id (anonymous backends). */
static bool hmp_is_backend_name(const char *name)
{
    return blk_by_name(name) || !blk_by_dev_id(name);
}

/* eject [-f] device */
void hmp_eject(Monitor *mon, const char *args)
{
    GError *err = NULL;
    g_auto(GStrv) argv = hmp_split_args(args, &err);
    const char *dev = NULL;
    bool force = false;

    if (!argv) {
        hmp_error(mon, err);
        return;
    }
    for (int i = 0; argv[i]; i++) {
        if (!strcmp(argv[i], "-f")) {
            force = true;
        } else if (!dev) {
            dev = argv[i];
        }
    }
    if (!dev) {
        monitor_printf(mon, "eject: missing argument 'device'\n");
        return;
    }
    if (hmp_is_backend_name(dev)) {
        qmp_eject(dev, NULL, true, force, &err);
    } else {
        qmp_eject(NULL, dev, true, force, &err);
    }
    if (err) {
        hmp_error(mon, err);
    }
}

/* change device filename [format [read-only-mode]] */
void hmp_change(Monitor *mon, const char *args)
{
    g_auto(GStrv) argv = NULL;
    const char *words[4] = { NULL };
    BlockdevChangeReadOnlyMode mode = BLOCKDEV_CHANGE_READ_ONLY_MODE_RETAIN;
    GError *err = NULL;
    int n = 0;

    argv = hmp_split_args(args, &err);
    if (!argv) {
        hmp_error(mon, err);
        return;
    }
    for (int i = 0; argv[i] && n < 4; i++) {
        words[n++] = argv[i];
    }
    if (n < 2) {
        monitor_printf(mon, "change: missing argument '%s'\n",
                       n ? "target" : "device");
        return;
    }
    if (words[3]) {
        int v = qapi_enum_parse(&BlockdevChangeReadOnlyMode_lookup, words[3],
                                -1, &err);
        if (v < 0) {
            hmp_error(mon, err);
            return;
        }
        mode = v;
    }
    if (hmp_is_backend_name(words[0])) {
        qmp_blockdev_change_medium(words[0], NULL, words[1], words[2], false,
                                   false, true, mode, &err);
    } else {
        qmp_blockdev_change_medium(NULL, words[0], words[1], words[2], false,
                                   false, true, mode, &err);
    }
    if (err) {
        hmp_error(mon, err);
    }
}

/* ---- NBD server (nbd/server.c), QEMU's HMP forms ------------------------- */

/* The words of @args after its leading "-x" flags, as QEMU's HMP takes
 * them: each flag is one letter of @flags (seen[index] is set).  NULL,
 * with the reason printed, for a flag @cmd does not take. */
static GPtrArray *hmp_args(Monitor *mon, const char *cmd, const char *args,
                           const char *flags, bool *seen)
{
    GError *err = NULL;
    g_auto(GStrv) argv = hmp_split_args(args, &err);
    GPtrArray *words;

    if (!argv) {
        monitor_printf(mon, "%s: %s\n", cmd, err->message);
        g_error_free(err);
        return NULL;
    }
    words = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; argv[i]; i++) {
        const char *f;

        if (argv[i][0] == '-' && argv[i][1] && words->len == 0) {
            f = argv[i][2] ? NULL : strchr(flags, argv[i][1]);
            if (!f) {
                monitor_printf(mon, "%s: unsupported option %s\n", cmd,
                               argv[i]);
                g_ptr_array_free(words, true);
                return NULL;
            }
            seen[f - flags] = true;
            continue;
        }
        g_ptr_array_add(words, g_strdup(argv[i]));
    }
    return words;
}

static const char *hmp_word(GPtrArray *words, unsigned i)
{
    return i < words->len ? g_ptr_array_index(words, i) : NULL;
}

/* nbd_server_start [-a] [-w] host:port (or unix:path) */
void hmp_nbd_server_start(Monitor *mon, const char *args)
{
    g_autoptr(GPtrArray) words = NULL;
    bool seen[2] = { false, false };
    g_autofree char *host = NULL, *port = NULL;
    SocketAddressLegacy addr = { 0 };
    InetSocketAddress inet = { 0 };
    UnixSocketAddress unx = { 0 };
    GError *err = NULL;
    const char *a, *colon;
    GPtrArray *l;

    words = hmp_args(mon, "nbd_server_start", args, "aw", seen);
    if (!words) {
        return;
    }
    if (words->len != 1) {
        monitor_printf(mon, "nbd_server_start: URI expected\n"
                       "Try \"help nbd_server_start\" for more "
                       "information\n");
        return;
    }
    a = g_ptr_array_index(words, 0);
    if (g_str_has_prefix(a, "unix:")) {
        addr.type = SOCKET_ADDRESS_TYPE_UNIX;
        unx.path = (char *)a + 5;
        addr.u.q_unix.data = &unx;
    } else {
        colon = a[0] == '[' ? strstr(a, "]:") : strrchr(a, ':');
        if (!colon) {
            monitor_printf(mon, "Error: host:port or unix:path expected, "
                           "not '%s'\n", a);
            return;
        }
        host = a[0] == '[' ? g_strndup(a + 1, colon - a - 1)
                           : g_strndup(a, colon - a);
        port = g_strdup(colon + (a[0] == '[' ? 2 : 1));
        addr.type = SOCKET_ADDRESS_TYPE_INET;
        inet.host = host;
        inet.port = port;
        addr.u.inet.data = &inet;
    }
    qmp_nbd_server_start(&addr, NULL, NULL, false, 0, &err);
    if (err) {
        hmp_error(mon, err);
        return;
    }
    if (!seen[0]) {
        return;
    }
    /* -a: every named drive with a medium (-w: writable), as QEMU */
    l = blk_list();
    for (unsigned i = 0; i < l->len; i++) {
        BlockBackend *blk = g_ptr_array_index(l, i);
        NbdServerAddOptions o = {
            .device = (char *)blk_name(blk),
            .has_writable = true, .writable = seen[1],
        };

        if (!*blk_name(blk) || !blk_is_inserted(blk)) {
            continue;
        }
        qmp_nbd_server_add(&o, &err);
        if (err) {
            hmp_error(mon, err);
            qmp_nbd_server_stop(NULL);
            return;
        }
    }
}

/* nbd_server_add [-w] device [name] */
void hmp_nbd_server_add(Monitor *mon, const char *args)
{
    g_autoptr(GPtrArray) words = NULL;
    bool seen[1] = { false };
    GError *err = NULL;
    NbdServerAddOptions o = { .has_writable = true };

    words = hmp_args(mon, "nbd_server_add", args, "w", seen);
    if (!words) {
        return;
    }
    if (words->len < 1 || words->len > 2) {
        monitor_printf(mon, "nbd_server_add: block device name expected\n"
                       "Try \"help nbd_server_add\" for more information\n");
        return;
    }
    o.device = g_ptr_array_index(words, 0);
    o.name = words->len > 1 ? g_ptr_array_index(words, 1) : NULL;
    o.writable = seen[0];
    qmp_nbd_server_add(&o, &err);
    if (err) {
        hmp_error(mon, err);
    }
}

/* nbd_server_remove [-f] name (-f: disconnect the clients) */
void hmp_nbd_server_remove(Monitor *mon, const char *args)
{
    g_autoptr(GPtrArray) words = NULL;
    bool seen[1] = { false };
    GError *err = NULL;

    words = hmp_args(mon, "nbd_server_remove", args, "f", seen);
    if (!words) {
        return;
    }
    if (words->len != 1) {
        monitor_printf(mon, "nbd_server_remove: block device name "
                       "expected\nTry \"help nbd_server_remove\" for more "
                       "information\n");
        return;
    }
    qmp_nbd_server_remove(g_ptr_array_index(words, 0), true,
                          seen[0] ? BLOCK_EXPORT_REMOVE_MODE_HARD
                                  : BLOCK_EXPORT_REMOVE_MODE_SAFE, &err);
    if (err) {
        hmp_error(mon, err);
    }
}

void hmp_nbd_server_stop(Monitor *mon, const char *args)
{
    GError *err = NULL;

    (void)args;
    qmp_nbd_server_stop(&err);
    if (err) {
        hmp_error(mon, err);
    }
}

/* ---- HMP: block jobs ------------------------------------------------------- */

static void hmp_report(Monitor *mon, GError *err)
{
    if (err) {
        hmp_error(mon, err);
    }
}

/* @cmd's words, between @min and @max of them ("device", "target", ...
 * in @names name the missing one); NULL with the reason printed. */
static GPtrArray *hmp_block_job_args(Monitor *mon, const char *cmd,
                                     const char *args, const char *flags,
                                     bool *seen, const char *const *names,
                                     unsigned min, unsigned max)
{
    GPtrArray *words = hmp_args(mon, cmd, args, flags, seen);

    if (words && words->len < min) {
        monitor_printf(mon, "%s: missing argument '%s'\n", cmd,
                       names[words->len]);
    } else if (words && words->len > max) {
        monitor_printf(mon, "%s: too many arguments\n", cmd);
    } else {
        return words;
    }
    g_ptr_array_free(words, true);
    return NULL;
}

static const char *const hmp_device_arg[] = { "device" };

/* drive_mirror [-n] [-f] device target [format]: -n reuses an existing
 * target, -f copies the whole chain (sync full; else top), as QEMU's. */
void hmp_drive_mirror(Monitor *mon, const char *args)
{
    static const char *const names[] = { "device", "target" };
    bool seen[2] = { false, false };            /* -n, -f */
    g_autoptr(GPtrArray) w = hmp_block_job_args(mon, "drive_mirror", args,
                                                "nf", seen, names, 2, 3);
    GError *err = NULL;

    if (!w) {
        return;
    }
    qmp_drive_mirror(NULL, hmp_word(w, 0), hmp_word(w, 1), hmp_word(w, 2),
                     seen[1] ? MIRROR_SYNC_MODE_FULL : MIRROR_SYNC_MODE_TOP,
                     true, seen[0] ? NEW_IMAGE_MODE_EXISTING
                                   : NEW_IMAGE_MODE_ABSOLUTE_PATHS,
                     false, 0, false, 0, false, 0, false, 0, false, 0,
                     false, false, false, 0, false, false, false, false,
                     &err);
    hmp_report(mon, err);
}

/* drive_backup [-n] [-f] [-c] device target [format]: -n reuses an
 * existing target, -f copies the whole chain (sync full; else top), -c
 * compresses, as QEMU's. */
void hmp_drive_backup(Monitor *mon, const char *args)
{
    static const char *const names[] = { "device", "target" };
    bool seen[3] = { false, false, false };     /* -n, -f, -c */
    g_autoptr(GPtrArray) w = hmp_block_job_args(mon, "drive_backup", args,
                                                "nfc", seen, names, 2, 3);
    DriveBackup arg = { 0 };
    GError *err = NULL;

    if (!w) {
        return;
    }
    arg.device = (char *)hmp_word(w, 0);
    arg.target = (char *)hmp_word(w, 1);
    arg.format = (char *)hmp_word(w, 2);
    arg.sync = seen[1] ? MIRROR_SYNC_MODE_FULL : MIRROR_SYNC_MODE_TOP;
    arg.has_mode = true;
    arg.mode = seen[0] ? NEW_IMAGE_MODE_EXISTING
                       : NEW_IMAGE_MODE_ABSOLUTE_PATHS;
    arg.has_compress = seen[2];
    arg.compress = seen[2];
    qmp_drive_backup(&arg, &err);
    hmp_report(mon, err);
}

/* block_job_cancel [-f] device */
void hmp_block_job_cancel(Monitor *mon, const char *args)
{
    bool force = false;
    g_autoptr(GPtrArray) w = hmp_block_job_args(mon, "block_job_cancel", args,
                                                "f", &force, hmp_device_arg,
                                                1, 1);
    GError *err = NULL;

    if (w) {
        qmp_block_job_cancel(hmp_word(w, 0), true, force, &err);
        hmp_report(mon, err);
    }
}

/* block_job_complete / _pause / _resume device */
static void hmp_block_job_on_device(Monitor *mon, const char *cmd,
                                    const char *args,
                                    void (*qmp)(const char *, GError **))
{
    g_autoptr(GPtrArray) w = hmp_block_job_args(mon, cmd, args, "", NULL,
                                                hmp_device_arg, 1, 1);
    GError *err = NULL;

    if (w) {
        qmp(hmp_word(w, 0), &err);
        hmp_report(mon, err);
    }
}

void hmp_block_job_complete(Monitor *mon, const char *args)
{
    hmp_block_job_on_device(mon, "block_job_complete", args,
                            qmp_block_job_complete);
}

void hmp_block_job_pause(Monitor *mon, const char *args)
{
    hmp_block_job_on_device(mon, "block_job_pause", args,
                            qmp_block_job_pause);
}

void hmp_block_job_resume(Monitor *mon, const char *args)
{
    hmp_block_job_on_device(mon, "block_job_resume", args,
                            qmp_block_job_resume);
}

/* block_job_set_speed device speed (bytes/s; k, M, G suffixes) */
void hmp_block_job_set_speed(Monitor *mon, const char *args)
{
    static const char *const names[] = { "device", "speed" };
    g_autoptr(GPtrArray) w = hmp_block_job_args(mon, "block_job_set_speed",
                                                args, "", NULL, names, 2, 2);
    GError *err = NULL;
    uint64_t speed;

    if (!w) {
        return;
    }
    if (!parse_size(hmp_word(w, 1), 1, &speed, &err) || speed > INT64_MAX) {
        if (!err) {
            error_setg(&err, "Parameter 'speed' expects a non-negative "
                       "value");
        }
        hmp_error(mon, err);
        return;
    }
    qmp_block_job_set_speed(hmp_word(w, 0), speed, &err);
    hmp_report(mon, err);
}

/* info block-jobs: QEMU's lines */
void hmp_info_block_jobs(Monitor *mon, const char *args)
{
    g_autoptr(BlockJobInfoList) list = qmp_query_block_jobs(NULL);

    if (!list) {
        monitor_printf(mon, "No active jobs\n");
        return;
    }
    for (BlockJobInfoList *e = list; e; e = e->next) {
        BlockJobInfo *j = e->value;

        monitor_printf(mon, "Type %s, device %s: Completed %" PRId64 " of %"
                       PRId64 " bytes, speed limit %" PRId64 " bytes/s\n",
                       j->type, j->device, j->offset, j->len, j->speed);
    }
}
