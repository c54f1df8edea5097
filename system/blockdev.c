/*
 * -drive: parse QEMU's drive options, open the image, remember where the
 * drive goes.  Options (QEMU's names): file, format, if (ide, floppy,
 * virtio, none), media (disk, cdrom), index, bus, unit, id, readonly, cache, aio,
 * cache.direct, cache.no-flush, discard, detect-zeroes, snapshot, werror,
 * rerror, file.locking (auto, on, off) and force-share (image locks:
 * docs/block.md "Image locking").
 * For if=ide, index n means bus n / 2, unit n % 2; for if=floppy bus 0,
 * unit n; for if=virtio index n (or bus n) is the n-th virtio disk, a
 * virtio-blk-pci the machine adds after the -device ones, as QEMU does;
 * without index, bus or unit the first free slot is used, as
 * QEMU does.  Drive ids default to QEMU's "ide<bus>-hd<unit>" /
 * "ide<bus>-cd<unit>", "floppy<unit>" and "none<n>".  A floppy drive may
 * be empty (no file=), like a CD-ROM drive.
 */
#include "qemu/osdep.h"
#include "block/throttle.h"
#include "qemu/keyval.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "system/blockdev.h"
#include "block/blockjob.h"

static GPtrArray *drives;

GPtrArray *drive_list(void)
{
    if (!drives) {
        drives = g_ptr_array_new();
    }
    return drives;
}

DriveInfo *drive_find_by_id(const char *id)
{
    GPtrArray *l = drive_list();

    for (unsigned i = 0; i < l->len; i++) {
        DriveInfo *d = g_ptr_array_index(l, i);
        if (!strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit)
{
    GPtrArray *l = drive_list();

    for (unsigned i = 0; i < l->len; i++) {
        DriveInfo *d = g_ptr_array_index(l, i);
        if (d->type == type && d->bus == bus && d->unit == unit) {
            return d;
        }
    }
    return NULL;
}

const char *drive_if_name(BlockInterfaceType type)
{
    return type == IF_IDE ? "ide" : type == IF_FLOPPY ? "floppy" :
           type == IF_VIRTIO ? "virtio" : "none";
}

static bool drive_parse_int(GHashTable *kv, const char *key, int max,
                            int *out, GError **errp)
{
    const char *v = g_hash_table_lookup(kv, key);
    char *end;
    long n;

    *out = -1;
    if (!v) {
        return true;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0 || n > max) {
        error_setg(errp, "invalid %s '%s' (0 to %d)", key, v, max);
        return false;
    }
    *out = n;
    return true;
}

static const char *const drive_keys[] = {
    "file", "format", "if", "media", "index", "bus", "unit", "id",
    "readonly", "cache", "aio", "cache.direct", "cache.no-flush",
    "discard", "detect-zeroes", "snapshot", "werror", "rerror",
    "file.locking", "force-share", "node-name", NULL,
};

/* -drive keys for the protocol node's driver (block/nbd.c), passed on
 * without "file.". */
static const char *const drive_file_keys[] = {
    "file.reconnect-delay", "file.open-timeout", NULL,
};

/*
 * -drive I/O limits: QEMU's throttling.* keys, and its older names
 * (bps=, iops_rd=, ...), for the six buckets of block/throttle.h.
 */
static const char *const throttle_bucket_keys[THROTTLE_BUCKETS][2] = {
    [THROTTLE_BPS_TOTAL] = { "throttling.bps-total", "bps" },
    [THROTTLE_BPS_READ] = { "throttling.bps-read", "bps_rd" },
    [THROTTLE_BPS_WRITE] = { "throttling.bps-write", "bps_wr" },
    [THROTTLE_OPS_TOTAL] = { "throttling.iops-total", "iops" },
    [THROTTLE_OPS_READ] = { "throttling.iops-read", "iops_rd" },
    [THROTTLE_OPS_WRITE] = { "throttling.iops-write", "iops_wr" },
};

/* A throttling key of -drive?  (NAME, NAME-max, NAME-max-length, in
 * both spellings, and the size and the group.) */
static bool is_drive_throttle_key(const char *key)
{
    if (!strcmp(key, "throttling.iops-size") || !strcmp(key, "iops_size") ||
        !strcmp(key, "throttling.group") || !strcmp(key, "group")) {
        return true;
    }
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        for (unsigned j = 0; j < 2; j++) {
            const char *k = throttle_bucket_keys[i][j];
            size_t n = strlen(k);

            if (!strncmp(key, k, n) &&
                (!key[n] || !strcmp(key + n, j ? "_max" : "-max") ||
                 !strcmp(key + n, j ? "_max_length" : "-max-length"))) {
                return true;
            }
        }
    }
    return false;
}

/* The value of NAME+@suffix in either spelling (0 when absent). */
static bool drive_throttle_value(GHashTable *kv, unsigned bucket,
                                 const char *new_suffix,
                                 const char *old_suffix, uint64_t dflt,
                                 uint64_t *out, GError **errp)
{
    for (unsigned j = 0; j < 2; j++) {
        g_autofree char *key = g_strconcat(throttle_bucket_keys[bucket][j],
                                           j ? old_suffix : new_suffix,
                                           NULL);
        const char *v = g_hash_table_lookup(kv, key);
        char *end;

        if (!v) {
            continue;
        }
        errno = 0;
        *out = g_ascii_strtoull(v, &end, 10);
        if (!*v || *end || errno || *v == '-') {
            error_setg(errp, "Parameter '%s' expects a number", key);
            return false;
        }
        return true;
    }
    *out = dflt;
    return true;
}

static bool drive_parse_throttle(GHashTable *kv, BlockBackend *blk,
                                 GError **errp)
{
    const char *size = g_hash_table_lookup(kv, "throttling.iops-size");
    const char *group = g_hash_table_lookup(kv, "throttling.group");
    ThrottleConfig cfg;

    throttle_config_init(&cfg);
    for (unsigned i = 0; i < THROTTLE_BUCKETS; i++) {
        ThrottleBucketConfig *b = &cfg.b[i];

        if (!drive_throttle_value(kv, i, "", "", 0, &b->avg, errp) ||
            !drive_throttle_value(kv, i, "-max", "_max", 0, &b->max, errp) ||
            !drive_throttle_value(kv, i, "-max-length", "_max_length", 1,
                                  &b->burst_length, errp)) {
            return false;
        }
    }
    size = size ? size : g_hash_table_lookup(kv, "iops_size");
    if (size && !parse_uint(size, &cfg.op_size, NULL)) {
        error_setg(errp, "Parameter 'throttling.iops-size' expects a number");
        return false;
    }
    group = group ? group : g_hash_table_lookup(kv, "group");
    if (!throttle_enabled(&cfg)) {
        return throttle_config_check(&cfg, errp);
    }
    return blk_set_io_limits(blk, &cfg, group, errp);
}

static QDict *drive_file_opts(GHashTable *kv)
{
    QDict *opts = qdict_new();

    for (const char *const *k = drive_file_keys; *k; k++) {
        const char *v = g_hash_table_lookup(kv, *k);

        if (v) {
            qdict_put_str(opts, *k + strlen("file."), v);
        }
    }
    return opts;
}

static bool drive_check_keys(GHashTable *kv, GError **errp)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_strv_contains(drive_keys, key) &&
            !g_strv_contains(drive_file_keys, key) &&
            !is_drive_throttle_key(key)) {
            error_setg(errp, "Invalid parameter '%s'", (char *)key);
            return false;
        }
    }
    return true;
}

static bool drive_parse_if(GHashTable *kv, DriveInfo *d, GError **errp)
{
    const char *v = g_hash_table_lookup(kv, "if");
    const char *media = g_hash_table_lookup(kv, "media");

    if (!v || !strcmp(v, "ide")) {
        d->type = IF_IDE;
    } else if (!strcmp(v, "floppy")) {
        d->type = IF_FLOPPY;
    } else if (!strcmp(v, "virtio")) {
        d->type = IF_VIRTIO;
    } else if (!strcmp(v, "none")) {
        d->type = IF_NONE;
    } else {
        error_setg(errp, "unsupported bus type '%s' (this kvmpc has ide, "
                   "floppy, virtio and none)", v);
        return false;
    }
    if (media && strcmp(media, "disk") && strcmp(media, "cdrom")) {
        error_setg(errp, "'%s' invalid media", media);
        return false;
    }
    d->is_cdrom = media && !strcmp(media, "cdrom");
    if (d->is_cdrom && d->type == IF_FLOPPY) {
        error_setg(errp, "media=cdrom is not possible on a floppy drive");
        return false;
    }
    if (d->is_cdrom && d->type == IF_VIRTIO) {
        error_setg(errp, "media=cdrom is not possible on a virtio disk");
        return false;
    }
    return true;
}

/* Where an if=floppy drive goes: index or unit (bus 0), or the first free. */
static bool drive_place_floppy(GHashTable *kv, DriveInfo *d, GError **errp)
{
    int index, bus, unit;

    if (!drive_parse_int(kv, "index", FLOPPY_MAX_DRIVES - 1, &index, errp) ||
        !drive_parse_int(kv, "bus", 0, &bus, errp) ||
        !drive_parse_int(kv, "unit", FLOPPY_MAX_DRIVES - 1, &unit, errp)) {
        return false;
    }
    if (index >= 0 && unit >= 0) {
        error_setg(errp, "index cannot be used with bus and unit");
        return false;
    }
    if (index >= 0) {
        unit = index;
    }
    if (unit < 0) {
        unit = 0;
        while (unit < FLOPPY_MAX_DRIVES && drive_get(IF_FLOPPY, 0, unit)) {
            unit++;
        }
        if (unit >= FLOPPY_MAX_DRIVES) {
            error_setg(errp, "no free floppy slot for another drive");
            return false;
        }
    }
    if (drive_get(IF_FLOPPY, 0, unit)) {
        error_setg(errp, "drive with bus=0, unit=%d (index=%d) exists",
                   unit, unit);
        return false;
    }
    d->bus = 0;
    d->unit = unit;
    return true;
}

/* The n-th virtio disk: index or bus (unit 0), or the first free one. */
static bool drive_place_virtio(GHashTable *kv, DriveInfo *d, GError **errp)
{
    int index, bus, unit;

    if (!drive_parse_int(kv, "index", VIRTIO_MAX_DRIVES - 1, &index, errp) ||
        !drive_parse_int(kv, "bus", VIRTIO_MAX_DRIVES - 1, &bus, errp) ||
        !drive_parse_int(kv, "unit", 0, &unit, errp)) {
        return false;
    }
    if (index >= 0 && bus >= 0) {
        error_setg(errp, "index cannot be used with bus and unit");
        return false;
    }
    if (index >= 0) {
        bus = index;
    }
    if (bus < 0) {
        bus = 0;
        while (bus < VIRTIO_MAX_DRIVES && drive_get(IF_VIRTIO, bus, 0)) {
            bus++;
        }
        if (bus >= VIRTIO_MAX_DRIVES) {
            error_setg(errp, "no free virtio slot for another drive");
            return false;
        }
    }
    if (drive_get(IF_VIRTIO, bus, 0)) {
        error_setg(errp, "drive with bus=%d, unit=0 (index=%d) exists", bus,
                   bus);
        return false;
    }
    d->bus = bus;
    d->unit = 0;
    return true;
}

/* Where an if=ide drive goes: index, or bus/unit, or the first free slot. */
static bool drive_place_ide(GHashTable *kv, DriveInfo *d, GError **errp)
{
    int index, bus, unit;

    if (!drive_parse_int(kv, "index", IDE_MAX_DRIVES - 1, &index, errp) ||
        !drive_parse_int(kv, "bus", 1, &bus, errp) ||
        !drive_parse_int(kv, "unit", 1, &unit, errp)) {
        return false;
    }
    if (index >= 0 && (bus >= 0 || unit >= 0)) {
        error_setg(errp, "index cannot be used with bus and unit");
        return false;
    }
    if (index >= 0) {
        bus = index / 2;
        unit = index % 2;
    }
    bus = bus < 0 ? 0 : bus;
    if (unit < 0) {
        int n = bus * 2;
        while (n < IDE_MAX_DRIVES && drive_get(IF_IDE, n / 2, n % 2)) {
            n++;
        }
        if (n >= IDE_MAX_DRIVES) {
            error_setg(errp, "no free IDE slot for another drive");
            return false;
        }
        bus = n / 2;
        unit = n % 2;
    }
    if (drive_get(IF_IDE, bus, unit)) {
        error_setg(errp, "drive with bus=%d, unit=%d (index=%d) exists",
                   bus, unit, bus * 2 + unit);
        return false;
    }
    d->bus = bus;
    d->unit = unit;
    return true;
}

static bool snapshot_default;

void drive_set_snapshot_default(bool on)
{
    snapshot_default = on;
}

static bool drive_parse_flags(GHashTable *kv, DriveInfo *d, GError **errp)
{
    const char *ro = g_hash_table_lookup(kv, "readonly");
    const char *cache = g_hash_table_lookup(kv, "cache");
    const char *aio = g_hash_table_lookup(kv, "aio");
    const char *direct = g_hash_table_lookup(kv, "cache.direct");
    const char *no_flush = g_hash_table_lookup(kv, "cache.no-flush");
    const char *discard = g_hash_table_lookup(kv, "discard");
    const char *dz = g_hash_table_lookup(kv, "detect-zeroes");
    const char *snap = g_hash_table_lookup(kv, "snapshot");
    const char *locking = g_hash_table_lookup(kv, "file.locking");
    const char *force_share = g_hash_table_lookup(kv, "force-share");
    bool on = false;
    int flags = 0;

    if (ro && !parse_bool(ro, &d->read_only, errp)) {
        return false;
    }
    if (cache && !bdrv_parse_cache_mode(cache, &flags, errp)) {
        return false;
    }
    /* cache.direct / cache.no-flush refine cache=, as in QEMU */
    if (direct && !parse_bool(direct, &on, errp)) {
        return false;
    }
    flags = direct ? ((flags & ~BDRV_O_NOCACHE) | (on ? BDRV_O_NOCACHE : 0))
                   : flags;
    if (no_flush && !parse_bool(no_flush, &on, errp)) {
        return false;
    }
    flags = no_flush ? ((flags & ~BDRV_O_NO_FLUSH) |
                        (on ? BDRV_O_NO_FLUSH : 0)) : flags;
    if ((aio && !bdrv_parse_aio_mode(aio, &flags, errp)) ||
        (discard && !bdrv_parse_discard_mode(discard, &flags, errp)) ||
        (dz && !bdrv_parse_detect_zeroes(dz, &flags, errp))) {
        return false;
    }
    if (snap && !parse_bool(snap, &on, errp)) {
        return false;
    }
    flags |= (snap ? on : snapshot_default) ? BDRV_O_SNAPSHOT : 0;
    if (locking && !bdrv_parse_locking(locking, &flags, errp)) {
        return false;
    }
    on = false;
    if (force_share && !parse_bool(force_share, &on, errp)) {
        return false;
    }
    flags |= on ? BDRV_O_FORCE_SHARE : 0;
    /* A CD-ROM is read-only whatever the option says, as in QEMU. */
    if (d->is_cdrom) {
        d->read_only = true;
    }
    d->open_flags = flags | (d->read_only ? 0 : BDRV_O_RDWR);
    return true;
}

static void drive_default_id(DriveInfo *d)
{
    if (d->type == IF_IDE) {
        d->id = g_strdup_printf("ide%d-%s%d", d->bus,
                                d->is_cdrom ? "cd" : "hd", d->unit);
    } else if (d->type == IF_FLOPPY) {
        d->id = g_strdup_printf("floppy%d", d->unit);
    } else if (d->type == IF_VIRTIO) {
        d->id = g_strdup_printf("virtio%d", d->bus);
    } else {
        unsigned n = 0;
        char *id;
        while (drive_find_by_id(id = g_strdup_printf("none%u", n))) {
            g_free(id);
            n++;
        }
        d->id = id;
    }
}

static void drive_free(DriveInfo *d)
{
    blk_delete(d->blk);
    g_free(d->id);
    g_free(d->filename);
    g_free(d->format);
    g_free(d->node_name);
    qobject_unref(d->file_opts);
    g_free(d);
}

static bool drive_parse_on_error(GHashTable *kv, BlockBackend *blk,
                                 GError **errp)
{
    const char *w = g_hash_table_lookup(kv, "werror");
    const char *r = g_hash_table_lookup(kv, "rerror");
    BlockdevOnError on_write = BLOCKDEV_ON_ERROR_AUTO;
    BlockdevOnError on_read = BLOCKDEV_ON_ERROR_AUTO;

    if ((w && !blk_parse_on_error(w, false, &on_write, errp)) ||
        (r && !blk_parse_on_error(r, true, &on_read, errp))) {
        return false;
    }
    blk_set_on_error(blk, on_read, on_write);
    return true;
}

static bool drive_open(DriveInfo *d, GError **errp)
{
    BlockDriverState *bs;

    if (blk_by_name(d->id) || bdrv_find_node(d->id)) {
        error_setg(errp, "Duplicate ID '%s' for drive", d->id);
        return false;
    }
    d->blk = blk_new(d->id);
    blk_set_open_flags(d->blk, d->open_flags);
    if (!d->filename || !*d->filename) {
        g_free(d->filename);
        d->filename = NULL;
        if (!d->is_cdrom && d->type != IF_FLOPPY) {
            error_setg(errp, "drive '%s': a disk needs file=", d->id);
            return false;
        }
        return true;            /* an empty CD-ROM or floppy drive */
    }
    bs = bdrv_open_with_file_opts(d->filename, d->format, d->open_flags,
                                  d->file_opts, errp);
    if (!bs) {
        return false;
    }
    if (d->node_name && !bdrv_set_node_name(bs, d->node_name, errp)) {
        bdrv_unref(bs);
        return false;
    }
    if (!blk_insert_bs(d->blk, bs, errp)) {
        bdrv_unref(bs);
        return false;
    }
    bdrv_unref(bs);             /* the backend holds it now */
    return true;
}

DriveInfo *drive_new(const char *opts, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(opts, NULL, errp);
    DriveInfo *d;
    const char *id;

    if (!kv || !drive_check_keys(kv, errp)) {
        return NULL;
    }
    d = g_new0(DriveInfo, 1);
    d->bus = d->unit = -1;
    d->filename = g_strdup(g_hash_table_lookup(kv, "file"));
    d->format = g_strdup(g_hash_table_lookup(kv, "format"));
    d->node_name = g_strdup(g_hash_table_lookup(kv, "node-name"));
    d->file_opts = drive_file_opts(kv);
    id = g_hash_table_lookup(kv, "id");
    if (!drive_parse_if(kv, d, errp) ||
        (d->type == IF_IDE && !drive_place_ide(kv, d, errp)) ||
        (d->type == IF_FLOPPY && !drive_place_floppy(kv, d, errp)) ||
        (d->type == IF_VIRTIO && !drive_place_virtio(kv, d, errp)) ||
        !drive_parse_flags(kv, d, errp)) {
        drive_free(d);
        return NULL;
    }
    if (id && drive_find_by_id(id)) {
        error_setg(errp, "Duplicate ID '%s' for drive", id);
        drive_free(d);
        return NULL;
    }
    if (id) {
        d->id = g_strdup(id);
    } else {
        drive_default_id(d);
    }
    if (!drive_open(d, errp) || !drive_parse_on_error(kv, d->blk, errp) ||
        !drive_parse_throttle(kv, d->blk, errp)) {
        drive_free(d);
        return NULL;
    }
    g_ptr_array_add(drive_list(), d);
    return d;
}

/* ---- -blockdev, blockdev-add, blockdev-del ------------------------------ */

/* Nodes the monitor owns (one reference each): -blockdev, blockdev-add. */
static GPtrArray *monitor_nodes;

QDict *blockdev_parse_spec(const char *spec, GError **errp)
{
    g_autoptr(GPtrArray) pairs = NULL;
    QDict *flat, *out;

    while (g_ascii_isspace(*spec)) {
        spec++;
    }
    if (*spec == '{') {
        return qdict_from_json(spec, errp);
    }
    pairs = keyval_parse_list(spec, NULL, errp);
    if (!pairs) {
        return NULL;
    }
    /* the last of a repeated key wins, as in QEMU's keyval */
    flat = qdict_new();
    for (guint i = 0; i < pairs->len; i++) {
        KeyValPair *p = g_ptr_array_index(pairs, i);
        qdict_put_str(flat, p->key, p->value);
    }
    out = bdrv_options_crumple(flat, errp);
    qobject_unref(flat);
    return out;
}

bool blockdev_add(QDict *opts, GError **errp)
{
    const char *name = qdict_get_try_str(opts, "node-name");
    BlockDriverState *bs;

    /* QEMU: a node the monitor owns needs a name to be found again. */
    if (!name) {
        error_setg(errp, "'node-name' must be specified for the root node");
        return false;
    }
    if (blk_by_name(name)) {
        error_setg(errp, "node-name=%s is conflicting with a device id",
                   name);
        return false;
    }
    bs = bdrv_open_options(opts, errp);
    if (!bs) {
        return false;
    }
    if (!monitor_nodes) {
        monitor_nodes = g_ptr_array_new();
    }
    g_ptr_array_add(monitor_nodes, bs);
    return true;
}

bool blockdev_new(const char *spec, GError **errp)
{
    QDict *opts = blockdev_parse_spec(spec, errp);
    bool ok;

    if (!opts) {
        return false;
    }
    ok = blockdev_add(opts, errp);
    qobject_unref(opts);
    return ok;
}

bool blockdev_del(const char *node_name, GError **errp)
{
    BlockDriverState *bs = bdrv_find_node(node_name);

    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'",
                   node_name);
        return false;
    }
    if (!monitor_nodes || !g_ptr_array_find(monitor_nodes, bs, NULL)) {
        error_setg(errp, "Node %s is not owned by the monitor", node_name);
        return false;
    }
    if (!block_job_check_busy(bs, errp)) {
        return false;
    }
    /* The monitor's reference is the only one left, or someone uses it
     * (a backend, a parent node). */
    if (bdrv_refcnt(bs) > 1) {
        error_setg(errp, "Node %s is in use", node_name);
        return false;
    }
    g_ptr_array_remove(monitor_nodes, bs);
    bdrv_unref(bs);
    return true;
}

BlockBackend *blockdev_backend_for_device(const char *ref, GError **errp)
{
    BlockBackend *blk = blk_by_name(ref);
    BlockDriverState *bs;

    if (blk) {
        if (blk_is_attached(blk)) {
            error_setg(errp, "Drive '%s' is already in use by another device",
                       ref);
            return NULL;
        }
        return blk;
    }
    bs = bdrv_find_node(ref);
    if (!bs) {
        error_setg(errp, "Property 'drive': drive '%s' not found", ref);
        return NULL;
    }
    /* Each device gets a backend of its own, as QEMU's anonymous ones:
     * whether two may share the node is the permission check's when the
     * device declares what it does (blk_set_dev_perm: writers refuse each
     * other unless all of them have share-rw=on). */
    blk = blk_new(NULL);
    if (!blk_insert_bs(blk, bs, errp)) {
        blk_delete(blk);
        return NULL;
    }
    return blk;
}
