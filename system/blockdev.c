/*
 * -drive: parse QEMU's drive options, open the image, remember where the
 * drive goes.  Options (QEMU's names): file, format, if (ide, none),
 * media (disk, cdrom), index, bus, unit, id, readonly, cache, aio,
 * cache.direct, cache.no-flush, discard, detect-zeroes, snapshot.
 * For if=ide, index n means bus n / 2, unit n % 2; without index, bus or
 * unit the first free slot is used, as QEMU does.  Drive ids default to
 * QEMU's "ide<bus>-hd<unit>" / "ide<bus>-cd<unit>", and "none<n>".
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "system/blockdev.h"

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
    return type == IF_IDE ? "ide" : "none";
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
    "discard", "detect-zeroes", "snapshot", NULL,
};

static bool drive_check_keys(GHashTable *kv, GError **errp)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, kv);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_strv_contains(drive_keys, key)) {
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
    } else if (!strcmp(v, "none")) {
        d->type = IF_NONE;
    } else {
        error_setg(errp, "unsupported bus type '%s' (this kvmpc has ide "
                   "and none)", v);
        return false;
    }
    if (media && strcmp(media, "disk") && strcmp(media, "cdrom")) {
        error_setg(errp, "'%s' invalid media", media);
        return false;
    }
    d->is_cdrom = media && !strcmp(media, "cdrom");
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
    flags |= snap && on ? BDRV_O_SNAPSHOT : 0;
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
    g_free(d->id);
    g_free(d->filename);
    g_free(d->format);
    g_free(d);
}

static bool drive_open(DriveInfo *d, GError **errp)
{
    if (!d->filename || !*d->filename) {
        g_free(d->filename);
        d->filename = NULL;
        if (!d->is_cdrom) {
            error_setg(errp, "drive '%s': a disk needs file=", d->id);
            return false;
        }
        return true;            /* an empty CD-ROM drive */
    }
    d->bs = bdrv_open(d->filename, d->format, d->open_flags, errp);
    return d->bs != NULL;
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
    id = g_hash_table_lookup(kv, "id");
    if (!drive_parse_if(kv, d, errp) ||
        (d->type == IF_IDE && !drive_place_ide(kv, d, errp)) ||
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
    if (!drive_open(d, errp)) {
        drive_free(d);
        return NULL;
    }
    g_ptr_array_add(drive_list(), d);
    return d;
}
