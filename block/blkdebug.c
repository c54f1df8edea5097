/*
 * The "blkdebug" filter driver: passes every request to its child
 * ("image") and fails the ones that match an injected-error rule, so
 * tests can drive a device's error paths (werror/rerror, BLOCK_IO_ERROR).
 *
 * The subset of QEMU's blkdebug options kvmpc takes:
 *
 *   driver=blkdebug,image=NODE-OR-DICT,
 *   inject-error.N.event=read_aio|write_aio|flush_to_disk,
 *   inject-error.N.errno=E        (default 5, EIO)
 *   inject-error.N.sector=S       (default -1: any request; else requests
 *                                  whose range holds byte S * 512)
 *   inject-error.N.once=on|off    (default off: fire on every match)
 *   inject-error.N.immediately=on|off (accepted; rules always act at once)
 *
 * QEMU raises read_aio/write_aio when a format driver above reads or
 * writes its file; here they name a read or a write through this node,
 * whoever issues it, and flush_to_disk a flush.  Other QEMU events
 * (l1_update, refblock_alloc, ...), states, set-state rules and config=
 * files are not supported (an unknown event is refused).
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"

typedef enum BlkdebugEvent {
    BLKDBG_READ_AIO,
    BLKDBG_WRITE_AIO,
    BLKDBG_FLUSH_TO_DISK,
} BlkdebugEvent;

static const char *const event_names[] = {
    "read_aio", "write_aio", "flush_to_disk", NULL,
};

typedef struct BlkdebugRule {
    BlkdebugEvent event;
    int error;
    int64_t sector;             /* -1: any */
    bool once;
} BlkdebugRule;

typedef struct BlkdebugState {
    GMutex lock;                /* requests may come from pool workers */
    GArray *rules;              /* BlkdebugRule */
} BlkdebugState;

static const BlockOptionDesc blkdebug_options[] = {
    { "image", BOPT_CHILD_FILE, true },
    { "inject-error", BOPT_ANY },
    { NULL },
};

static bool parse_event(QDict *d, const char *path, BlkdebugRule *r,
                        GError **errp)
{
    const char *ev = qdict_get_try_str(d, "event");

    if (!qdict_haskey(d, "event")) {
        error_setg(errp, "Parameter '%s.event' is missing", path);
        return false;
    }
    for (int i = 0; ev && event_names[i]; i++) {
        if (!strcmp(ev, event_names[i])) {
            r->event = i;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s.event' does not accept value '%s'", path,
               ev ? ev : "");
    return false;
}

static bool parse_rule(QObject *o, const char *path, BlkdebugRule *r,
                       GError **errp)
{
    static const char *const keys[] = {
        "event", "errno", "sector", "once", "immediately", NULL };
    QDict *d = qobject_to(QDict, o);
    int64_t err, sector;
    bool imm;

    if (!d) {
        error_setg(errp, "Invalid parameter type for '%s', expected: object",
                   path);
        return false;
    }
    for (const QDictEntry *e = qdict_first(d); e; e = qdict_next(d, e)) {
        if (!g_strv_contains(keys, qdict_entry_key(e))) {
            error_setg(errp, "Parameter '%s.%s' is unexpected", path,
                       qdict_entry_key(e));
            return false;
        }
    }
    {
        g_autofree char *prefix = g_strdup_printf("%s.", path);
        if (!parse_event(d, path, r, errp) ||
            !bdrv_opt_get_int(d, "errno", EIO, &err, prefix, errp) ||
            !bdrv_opt_get_int(d, "sector", -1, &sector, prefix, errp) ||
            !bdrv_opt_get_bool(d, "once", false, &r->once, prefix, errp) ||
            !bdrv_opt_get_bool(d, "immediately", false, &imm, prefix,
                               errp)) {
            return false;
        }
    }
    if (err <= 0 || err > 4095 || sector < -1) {
        error_setg(errp, "'%s': errno must be 1..4095 and sector -1 or more",
                   path);
        return false;
    }
    r->error = err;
    r->sector = sector;
    return true;
}

static bool blkdebug_open_options(BlockDriverState *bs, QDict *opts,
                                  int flags, GError **errp)
{
    BlkdebugState *s = bs->opaque;
    QObject *inj = qdict_get(opts, "inject-error");
    QList *list = qobject_to(QList, inj);
    unsigned n = 0;

    g_mutex_init(&s->lock);
    s->rules = g_array_new(FALSE, TRUE, sizeof(BlkdebugRule));
    if (inj && !list) {
        error_setg(errp, "Invalid parameter type for 'inject-error', "
                   "expected: array");
        return false;
    }
    for (const QListEntry *e = list ? qlist_first(list) : NULL; e;
         e = qlist_next(e), n++) {
        g_autofree char *path = g_strdup_printf("inject-error[%u]", n);
        BlkdebugRule r = { 0 };
        if (!parse_rule(qlist_entry_obj(e), path, &r, errp)) {
            return false;
        }
        g_array_append_val(s->rules, r);
    }
    bs->size = bs->file->size;
    return true;
}

static void blkdebug_close(BlockDriverState *bs)
{
    BlkdebugState *s = bs->opaque;

    if (s->rules) {
        g_array_free(s->rules, TRUE);
        g_mutex_clear(&s->lock);
    }
}

/* The errno of the first rule matching this request, or 0. */
static int blkdebug_check(BlockDriverState *bs, BlkdebugEvent ev,
                          uint64_t off, uint64_t len)
{
    BlkdebugState *s = bs->opaque;
    int err = 0;

    g_mutex_lock(&s->lock);
    for (guint i = 0; i < s->rules->len; i++) {
        BlkdebugRule *r = &g_array_index(s->rules, BlkdebugRule, i);
        uint64_t at = (uint64_t)r->sector * 512;

        if (r->event != ev ||
            (r->sector >= 0 && (at < off || at - off >= len))) {
            continue;
        }
        err = r->error;
        if (r->once) {
            g_array_remove_index(s->rules, i);
        }
        break;
    }
    g_mutex_unlock(&s->lock);
    return err;
}

static bool inject(BlockDriverState *bs, BlkdebugEvent ev, uint64_t off,
                   uint64_t len, GError **errp)
{
    int err = blkdebug_check(bs, ev, off, len);

    if (err) {
        bdrv_error_setg_errno(errp, err, "'%s': injected %s error: %s",
                              bs->filename, event_names[ev],
                              g_strerror(err));
        return false;
    }
    return true;
}

static bool blkdebug_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                           void *buf, GError **errp)
{
    return inject(bs, BLKDBG_READ_AIO, off, len, errp) &&
           bdrv_pread(bs->file, off, len, buf, errp);
}

static bool blkdebug_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                            const void *buf, GError **errp)
{
    return inject(bs, BLKDBG_WRITE_AIO, off, len, errp) &&
           bdrv_pwrite(bs->file, off, len, buf, errp);
}

static bool blkdebug_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                                   uint64_t len, int flags, GError **errp)
{
    return inject(bs, BLKDBG_WRITE_AIO, off, len, errp) &&
           bdrv_pwrite_zeroes(bs->file, off, len, flags, errp);
}

static bool blkdebug_pdiscard(BlockDriverState *bs, uint64_t off,
                              uint64_t len, GError **errp)
{
    return bdrv_pdiscard(bs->file, off, len, errp);
}

static bool blkdebug_flush(BlockDriverState *bs, GError **errp)
{
    return inject(bs, BLKDBG_FLUSH_TO_DISK, 0, 0, errp) &&
           bdrv_flush(bs->file, errp);
}

static bool blkdebug_truncate(BlockDriverState *bs, uint64_t size,
                              GError **errp)
{
    if (!bdrv_truncate(bs->file, size, errp)) {
        return false;
    }
    bs->size = size;
    return true;
}

static int blkdebug_block_status(BlockDriverState *bs, uint64_t off,
                                 uint64_t len, uint64_t *pnum, uint64_t *map,
                                 BlockDriverState **file, GError **errp)
{
    return bdrv_block_status(bs->file, off, len, pnum, map, file, errp);
}

const BlockDriver bdrv_blkdebug_driver = {
    .perm_passthrough = true,
    .format_name = "blkdebug",
    .instance_size = sizeof(BlkdebugState),
    .options = blkdebug_options,
    .open_options = blkdebug_open_options,
    .close = blkdebug_close,
    .pread = blkdebug_pread,
    .pwrite = blkdebug_pwrite,
    .pwrite_zeroes = blkdebug_pwrite_zeroes,
    .pdiscard = blkdebug_pdiscard,
    .flush = blkdebug_flush,
    .truncate = blkdebug_truncate,
    .block_status = blkdebug_block_status,
};
