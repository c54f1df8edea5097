/*
 * The block layer's generic part: the driver registry, opening nodes and
 * their backing chains, and the one request path every user goes
 * through (bounds checks, alignment bounces for O_DIRECT, write-through
 * flushes, statistics).  See docs/block.md.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qjson.h"
#include "qobject/qstring.h"

#include <limits.h>

/* A chain deeper than this is almost certainly a loop we could not see
 * by name (hard links, bind mounts); refuse it rather than recurse. */
#define BDRV_MAX_BACKING_DEPTH 64

static const BlockDriver *const drivers[] = {
    &bdrv_qcow2_driver, &bdrv_raw_driver, &bdrv_file_driver,
    &bdrv_blkdebug_driver, &bdrv_null_co_driver, &bdrv_null_aio_driver,
    &bdrv_nbd_driver, &bdrv_cbw_driver, &bdrv_snapshot_access_driver,
#ifdef CONFIG_LIBISCSI
    &bdrv_iscsi_driver,
#endif
};

/* Every node, in creation order (main thread only: opens and closes
 * happen there). */
static GPtrArray *all_nodes;
static unsigned auto_node_counter;

GQuark bdrv_errno_error_quark(void)
{
    return g_quark_from_static_string("bdrv-errno-error");
}

int bdrv_error_errno(const GError *err)
{
    if (err && err->domain == BDRV_ERRNO_ERROR && err->code > 0) {
        return err->code;
    }
    return EIO;
}

GPtrArray *bdrv_all_nodes(void)
{
    if (!all_nodes) {
        all_nodes = g_ptr_array_new();
    }
    return all_nodes;
}

void bdrv_flush_all_nodes(void)
{
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);
        GError *err = NULL;

        if ((bs->flags & BDRV_O_RDWR) && !bdrv_flush(bs, &err)) {
            error_report("warning: flushing node '%s' failed: %s",
                         bdrv_node_name(bs), err->message);
            g_error_free(err);
        }
    }
}

BlockDriverState *bdrv_find_node(const char *node_name)
{
    GPtrArray *l = bdrv_all_nodes();

    for (unsigned i = 0; i < l->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(l, i);
        if (!strcmp(bs->node_name, node_name)) {
            return bs;
        }
    }
    return NULL;
}

const char *bdrv_node_name(BlockDriverState *bs) { return bs->node_name; }
void bdrv_ref(BlockDriverState *bs) { bs->refcnt++; }
int bdrv_refcnt(BlockDriverState *bs) { return bs->refcnt; }
int bdrv_open_flags(BlockDriverState *bs) { return bs->flags; }

const char *bdrv_detect_zeroes_name(BlockDriverState *bs)
{
    static const char *const names[] = { "off", "on", "unmap" };

    return names[!(bs->flags & BDRV_O_DETECT_ZEROES) ? 0 :
                 (bs->flags & BDRV_O_DETECT_ZEROES_UNMAP) ? 2 : 1];
}


/* "proto://..." names a protocol driver rather than a host path. */
static bool path_has_protocol(const char *path)
{
    const char *p = path;

    while (g_ascii_isalnum(*p) || *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    return p > path && g_str_has_prefix(p, "://");
}

/* The protocol driver for @filename: by URL scheme, else "file". */
const BlockDriver *bdrv_protocol_for_filename(const char *filename,
                                              GError **errp)
{
    size_t n;

    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        if (drivers[i]->claims_filename &&
            drivers[i]->claims_filename(filename)) {
            return drivers[i];
        }
    }
    if (!path_has_protocol(filename)) {
        return &bdrv_file_driver;
    }
    n = strstr(filename, "://") - filename;
    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        const char *name = drivers[i]->protocol_name;

        if (name && strlen(name) == n && !strncmp(filename, name, n)) {
            return drivers[i];
        }
    }
    error_setg(errp, "'%s': unknown protocol '%.*s'%s", filename, (int)n,
               filename,
               n == 5 && !strncmp(filename, "iscsi", 5)
                   ? " (this kvmpc was built without libiscsi)" : "");
    return NULL;
}

const BlockDriver *bdrv_find_format(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        if (!strcmp(drivers[i]->format_name, name)) {
            return drivers[i];
        }
    }
    return NULL;
}

bool bdrv_parse_cache_mode(const char *mode, int *flags, GError **errp)
{
    static const struct { const char *name; int set; } modes[] = {
        { "writeback", 0 },
        { "none", BDRV_O_NOCACHE },
        { "writethrough", BDRV_O_WRITETHROUGH },
        { "directsync", BDRV_O_NOCACHE | BDRV_O_WRITETHROUGH },
        { "unsafe", BDRV_O_NO_FLUSH },
    };

    for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
        if (!strcmp(mode, modes[i].name)) {
            *flags &= ~(BDRV_O_NOCACHE | BDRV_O_WRITETHROUGH |
                        BDRV_O_NO_FLUSH);
            *flags |= modes[i].set;
            return true;
        }
    }
    error_setg(errp, "invalid cache mode '%s' (none, writeback, "
               "writethrough, directsync, unsafe)", mode);
    return false;
}

bool bdrv_aio_mode_available(const char *mode)
{
    if (!strcmp(mode, "io_uring")) {
#ifdef CONFIG_LINUX_IO_URING
        return true;
#else
        return false;
#endif
    }
    return !strcmp(mode, "threads") || !strcmp(mode, "native");
}

bool bdrv_parse_aio_mode(const char *mode, int *flags, GError **errp)
{
    int set;

    if (!strcmp(mode, "threads")) {
        set = 0;
    } else if (!strcmp(mode, "native")) {
        set = BDRV_O_AIO_NATIVE;
    } else if (!strcmp(mode, "io_uring")) {
        if (!bdrv_aio_mode_available(mode)) {
            error_setg(errp, "aio=io_uring: this kvmpc was built without "
                       "liburing; use aio=threads");
            return false;
        }
        set = BDRV_O_AIO_IO_URING;
    } else {
        error_setg(errp, "invalid aio mode '%s' (threads, native, io_uring)",
                   mode);
        return false;
    }
    *flags = (*flags & ~BDRV_O_AIO_MASK) | set;
    return true;
}

bool bdrv_parse_locking(const char *mode, int *flags, GError **errp)
{
    *flags &= ~(BDRV_O_LOCK_OFF | BDRV_O_LOCK_ON);
    if (!strcmp(mode, "off")) {
        *flags |= BDRV_O_LOCK_OFF;
    } else if (!strcmp(mode, "on")) {
        *flags |= BDRV_O_LOCK_ON;
    } else if (strcmp(mode, "auto")) {
        error_setg(errp, "Parameter 'locking' does not accept value '%s'",
                   mode);
        return false;
    }
    return true;
}

bool bdrv_parse_discard_mode(const char *mode, int *flags, GError **errp)
{
    if (!strcmp(mode, "ignore") || !strcmp(mode, "off")) {
        *flags &= ~BDRV_O_UNMAP;
    } else if (!strcmp(mode, "unmap") || !strcmp(mode, "on")) {
        *flags |= BDRV_O_UNMAP;
    } else {
        error_setg(errp, "invalid discard option '%s' (ignore, unmap)", mode);
        return false;
    }
    return true;
}

bool bdrv_parse_detect_zeroes(const char *mode, int *flags, GError **errp)
{
    *flags &= ~(BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP);
    if (!strcmp(mode, "on")) {
        *flags |= BDRV_O_DETECT_ZEROES;
    } else if (!strcmp(mode, "unmap")) {
        *flags |= BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP;
    } else if (strcmp(mode, "off")) {
        error_setg(errp, "invalid detect-zeroes option '%s' (off, on, unmap)",
                   mode);
        return false;
    }
    return true;
}

/*
 * Word-wide: the unaligned head byte by byte, then eight words at a time
 * ORed together (one branch per 64 bytes), then the tail.  Disk sectors
 * are mostly aligned and sized in 512 bytes, so the loop does the work.
 */
bool buffer_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    const uint64_t *w;

    while (len && ((uintptr_t)p & 7)) {
        if (*p++) {
            return false;
        }
        len--;
    }
    for (w = (const uint64_t *)p; len >= 64; w += 8, len -= 64) {
        if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) {
            return false;
        }
    }
    for (; len >= 8; w++, len -= 8) {
        if (*w) {
            return false;
        }
    }
    for (p = (const uint8_t *)w; len; len--) {
        if (*p++) {
            return false;
        }
    }
    return true;
}

BlockDriverState *bdrv_new(const BlockDriver *drv, const char *filename,
                           int flags)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->drv = drv;
    bs->opaque = drv->instance_size ? g_malloc0(drv->instance_size) : NULL;
    bs->filename = g_strdup(filename);
    bs->flags = flags;
    bs->refcnt = 1;
    bs->request_alignment = 1;
    bs->buf_alignment = 1;
    bs->user_shared = BLK_PERM_ALL;
    bs->shared_perm = BLK_PERM_ALL;
    g_mutex_init(&bs->rmw_lock);
    g_mutex_init(&bs->dirty_lock);
    /* QEMU names every node; unnamed ones get a generated name that
     * cannot clash with a user's (user names start with a letter). */
    bs->node_name = g_strdup_printf("#block%u", auto_node_counter++);
    g_ptr_array_add(bdrv_all_nodes(), bs);
    return bs;
}

static void bdrv_free(BlockDriverState *bs)
{
    g_ptr_array_remove(bdrv_all_nodes(), bs);
    g_free(bs->node_name);
    g_mutex_clear(&bs->rmw_lock);
    g_assert(!bs->dirty_bitmaps);
    g_mutex_clear(&bs->dirty_lock);
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs);
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs || --bs->refcnt > 0) {
        return;
    }
    g_assert(g_atomic_int_get(&bs->in_flight) == 0);
    bdrv_perm_hold();
    if (bs->drv->close) {
        bs->drv->close(bs);     /* a file node's locks go with its fd */
    }
    /* the format stored its persistent ones in close */
    bdrv_release_named_dirty_bitmaps(bs);
    bdrv_unref(bs->backing);
    bdrv_unref(bs->file);
    bdrv_free(bs);
    /* children other parents still use may need less now; needing
     * less never conflicts */
    bdrv_perm_release(NULL);
}

/* A protocol driver's open with the "file." options of a -drive (nbd's
 * reconnect-delay): its options dictionary, the name as "filename". */
static bool open_protocol_with_opts(BlockDriverState *bs, const char *filename,
                                    int flags, QDict *file_opts,
                                    GError **errp)
{
    QDict *opts;
    bool ok;

    if (!bs->drv->open_options) {
        error_setg(errp, "'%s': protocol '%s' takes no 'file.%s'", filename,
                   bs->drv->format_name,
                   qdict_entry_key(qdict_first(file_opts)));
        return false;
    }
    opts = qdict_clone_shallow(file_opts);
    qdict_put_str(opts, "filename", filename);
    ok = bs->drv->open_options(bs, opts, flags, errp);
    qobject_unref(opts);
    return ok;
}

static BlockDriverState *open_protocol(const char *filename, int flags,
                                       QDict *file_opts, GError **errp)
{
    const BlockDriver *drv = bdrv_protocol_for_filename(filename, errp);
    BlockDriverState *bs;
    bool ok;

    if (!drv) {
        return NULL;
    }
    /* What only the top node does stays there. */
    flags &= ~(BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP |
               BDRV_O_SNAPSHOT);
    bs = bdrv_new(drv, filename, flags);
    ok = file_opts && qdict_size(file_opts)
         ? open_protocol_with_opts(bs, filename, flags, file_opts, errp)
         : drv->open(bs, filename, flags, errp);
    if (!ok) {
        bdrv_free_failed_node(bs);
        return NULL;
    }
    return bs;
}

BlockDriverState *bdrv_open_file(const char *filename, int flags,
                                 GError **errp)
{
    return open_protocol(filename, flags, NULL, errp);
}

#ifndef CONFIG_LIBISCSI
BlockDriverState *bdrv_iscsi_open(const BlockIscsiOptions *opts, int flags,
                                  GError **errp)
{
    error_setg(errp, "iscsi: this kvmpc was built without libiscsi");
    return NULL;
}
#endif

BlockDriverState *bdrv_new_protocol_node(const BlockDriver *drv,
                                         const char *filename, int flags)
{
    return bdrv_new(drv, filename, flags);
}

/* close is optional (drivers that hold nothing, like null-co). */
void bdrv_free_failed_node(BlockDriverState *bs)
{
    if (bs->drv->close) {
        bs->drv->close(bs);
    }
    bdrv_free(bs);
}

const BlockDriver *bdrv_probe_format(BlockDriverState *file, GError **errp)
{
    uint8_t buf[512] = { 0 };
    uint64_t len = MIN(file->size, sizeof(buf));
    const BlockDriver *best = &bdrv_raw_driver;
    int best_score = 0;

    if (len && !bdrv_pread(file, 0, len, buf, errp)) {
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        int score = drivers[i]->probe ? drivers[i]->probe(buf, len) : 0;

        if (score > best_score) {
            best_score = score;
            best = drivers[i];
        }
    }
    return best;
}

/*
 * The chain being opened on this thread, as canonical paths: a backing
 * file that is already on it is a loop.
 */
static __thread GPtrArray *open_stack;

static bool open_stack_push(const char *filename, GError **errp)
{
    char *canon = realpath(filename, NULL);

    if (!canon) {
        canon = g_strdup(filename);  /* the open itself will say why */
    }
    if (!open_stack) {
        open_stack = g_ptr_array_new_with_free_func(free);
    }
    for (guint i = 0; i < open_stack->len; i++) {
        if (!strcmp(open_stack->pdata[i], canon)) {
            error_setg(errp, "'%s': backing file loop (the chain comes back "
                       "to this image)", filename);
            free(canon);
            return false;
        }
    }
    if (open_stack->len >= BDRV_MAX_BACKING_DEPTH) {
        error_setg(errp, "'%s': backing chain deeper than %d images",
                   filename, BDRV_MAX_BACKING_DEPTH);
        free(canon);
        return false;
    }
    g_ptr_array_add(open_stack, canon);
    return true;
}

static void open_stack_pop(void)
{
    g_ptr_array_remove_index(open_stack, open_stack->len - 1);
    if (!open_stack->len) {
        g_ptr_array_unref(open_stack);
        open_stack = NULL;
    }
}

BlockDriverState *bdrv_open_on_file(BlockDriverState *file,
                                    const char *format, int flags,
                                    GError **errp)
{
    const BlockDriver *drv = NULL;
    BlockDriverState *bs;

    if (format && !(drv = bdrv_find_format(format))) {
        error_setg(errp, "'%s': unknown format '%s'", file->filename, format);
        bdrv_unref(file);
        return NULL;
    }
    if (drv && drv->is_protocol) {
        if (drv != file->drv) {
            error_setg(errp, "'%s': is not a '%s' node", file->filename,
                       format);
            bdrv_unref(file);
            return NULL;
        }
        return file;
    }
    if (!drv && !(drv = bdrv_probe_format(file, errp))) {
        bdrv_unref(file);
        return NULL;
    }
    bs = bdrv_new(drv, file->filename, flags & ~BDRV_O_SNAPSHOT);
    bs->file = file;
    bs->aio_ctx = file->aio_ctx;
    if (!drv->open(bs, file->filename, bs->flags, errp)) {
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static BlockDriverState *bdrv_open_format(const char *filename,
                                          const char *format, int flags,
                                          QDict *file_opts, GError **errp)
{
    const BlockDriver *drv = NULL;
    BlockDriverState *file;

    if (format && !(drv = bdrv_find_format(format))) {
        error_setg(errp, "'%s': unknown format '%s'", filename, format);
        return NULL;
    }
    if (drv && !drv->is_protocol && !drv->open) {
        error_setg(errp, "'%s': format '%s' is opened with -blockdev or "
                   "blockdev-add options only", filename, format);
        return NULL;
    }
    /* Write-through is the top node's job: one flush per write, not one
     * per layer. */
    file = open_protocol(filename, (drv && drv->is_protocol) ? flags :
                         flags & ~BDRV_O_WRITETHROUGH, file_opts, errp);
    if (!file) {
        return NULL;
    }
    if (drv && drv->is_protocol) {
        /* the protocol node is the top node: it detects zeroes */
        file->flags |= flags & (BDRV_O_DETECT_ZEROES |
                                BDRV_O_DETECT_ZEROES_UNMAP);
    }
    return bdrv_open_on_file(file, format, flags, errp);
}

/* Combinations QEMU refuses, refused here with the same meaning. */
static bool check_open_flags(const char *filename, int flags, GError **errp)
{
    if ((flags & BDRV_O_AIO_NATIVE) && !(flags & BDRV_O_NOCACHE) &&
        !path_has_protocol(filename)) {
        error_setg(errp, "'%s': aio=native needs cache.direct=on "
                   "(cache=none or cache=directsync): Linux AIO is only "
                   "asynchronous with O_DIRECT", filename);
        return false;
    }
    if ((flags & BDRV_O_FORCE_SHARE) && (flags & BDRV_O_RDWR)) {
        error_setg(errp, "force-share=on can only be used with read-only "
                   "images");
        return false;
    }
    if ((flags & BDRV_O_DETECT_ZEROES_UNMAP) && !(flags & BDRV_O_UNMAP)) {
        error_setg(errp, "'%s': detect-zeroes=unmap needs discard=unmap",
                   filename);
        return false;
    }
    return true;
}

/*
 * snapshot=on: the image opened read-only under a new qcow2 overlay in
 * $TMPDIR (/var/tmp without it, as QEMU) that takes every write.  The overlay is unlinked as soon as it
 * is open, so nothing is left behind however kvmpc ends (SIGKILL too).
 * As in QEMU the overlay runs with cache=unsafe (its content dies with
 * the process, so flushing it buys nothing) and without aio=native
 * (which would need O_DIRECT); it is read-only when the drive is.
 */
static BlockDriverState *open_temp_snapshot(const char *filename,
                                            const char *format, int flags,
                                            QDict *file_opts, GError **errp)
{
    int base_flags = flags & ~(BDRV_O_SNAPSHOT | BDRV_O_RDWR |
                               BDRV_O_WRITETHROUGH | BDRV_O_DETECT_ZEROES |
                               BDRV_O_DETECT_ZEROES_UNMAP);
    int top_flags = (flags & ~(BDRV_O_SNAPSHOT | BDRV_O_NOCACHE |
                               BDRV_O_AIO_NATIVE | BDRV_O_WRITETHROUGH)) |
                    BDRV_O_NO_FLUSH | BDRV_O_NO_BACKING;
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR")
                      ? getenv("TMPDIR") : "/var/tmp";   /* as QEMU */
    g_autofree char *tmp = g_build_filename(dir, "kvmpc-snapshot-XXXXXX",
                                            NULL);
    g_autofree char *backing = NULL;
    GHashTable *opts;
    BlockDriverState *base, *top;
    bool ok;
    int fd;

    base = bdrv_open_with_file_opts(filename, format, base_flags, file_opts,
                                    errp);
    if (!base) {
        return NULL;
    }
    fd = g_mkstemp(tmp);
    if (fd < 0) {
        error_setg(errp, "'%s': snapshot=on: cannot create a temporary "
                   "overlay in %s: %s", filename, dir,
                   g_strerror(errno));
        bdrv_unref(base);
        return NULL;
    }
    close(fd);
    /* The overlay names its backing file (for `info` and query-block);
     * the node itself is attached below, not reopened by that name. */
    backing = path_has_protocol(filename) ? g_strdup(filename)
                                          : realpath(filename, NULL);
    opts = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(opts, "backing_file",
                        backing ? backing : (char *)filename);
    g_hash_table_insert(opts, "backing_fmt", (char *)bdrv_format_name(base));
    ok = bdrv_create("qcow2", tmp, bdrv_getlength(base), opts, errp);
    g_hash_table_unref(opts);
    top = ok ? bdrv_open(tmp, "qcow2", top_flags, errp) : NULL;
    unlink(tmp);
    if (!top) {
        g_prefix_error(errp, "'%s': snapshot=on: ", filename);
        bdrv_unref(base);
        return NULL;
    }
    top->backing = base;
    top->flags &= ~BDRV_O_NO_BACKING;
    return top;
}

static bool is_json_filename(const char *filename)
{
    return g_str_has_prefix(filename, "json:");
}

/*
 * QEMU's json: pseudo-filename: "json:" and a JSON object of the options
 * QEMU's bdrv_open takes (nested or dotted keys, "driver" optional),
 * opened as kvmpc-img --image-opts opens its options.  Errors in QEMU's
 * words, after "Could not open 'json:...': ".
 */
static BlockDriverState *open_json(const char *filename, const char *format,
                                   int flags, QDict *file_opts,
                                   GError **errp)
{
    GError *err = NULL;
    QObject *obj = qobject_from_json(filename + strlen("json:"), &err);
    QDict *opts = qobject_to(QDict, obj);
    BlockDriverState *bs = NULL;

    if (!obj) {
        error_setg(errp, "Could not parse the JSON options: %s",
                   err->message);
        g_error_free(err);
    } else if (!opts) {
        error_setg(errp, "Invalid JSON object given");
    } else if (file_opts && qdict_size(file_opts)) {
        /* the JSON object holds the file node's options itself */
        error_setg(errp, "'file.%s' cannot be combined with a json: "
                   "filename: put it in the JSON object",
                   qdict_entry_key(qdict_first(file_opts)));
    } else {
        bs = bdrv_open_image_options(opts, format, flags, errp);
    }
    qobject_unref(obj);
    if (!bs) {
        g_prefix_error(errp, "Could not open '%s': ", filename);
    }
    return bs;
}

static BlockDriverState *open_any(const char *filename, const char *format,
                                  int flags, QDict *file_opts, GError **errp)
{
    BlockDriverState *bs;

    if (!check_open_flags(filename, flags, errp)) {
        return NULL;
    }
    if (flags & BDRV_O_SNAPSHOT) {
        return open_temp_snapshot(filename, format, flags, file_opts, errp);
    }
    if (!open_stack_push(filename, errp)) {
        return NULL;
    }
    bs = is_json_filename(filename)
         ? open_json(filename, format, flags, file_opts, errp)
         : bdrv_open_format(filename, format, flags, file_opts, errp);
    open_stack_pop();
    return bs;
}

BlockDriverState *bdrv_open(const char *filename, const char *format,
                            int flags, GError **errp)
{
    return bdrv_open_with_file_opts(filename, format, flags, NULL, errp);
}

BlockDriverState *bdrv_open_with_file_opts(const char *filename,
                                           const char *format, int flags,
                                           QDict *file_opts, GError **errp)
{
    BlockDriverState *bs;
    GError *err = NULL;

    /* the whole chain is open before anything locks */
    bdrv_perm_hold();
    bs = open_any(filename, format, flags, file_opts, errp);
    if (!bdrv_perm_release(bs ? &err : NULL) && bs) {
        g_propagate_error(errp, err);
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

bool bdrv_format_known(const char *format)
{
    return bdrv_find_format(format) != NULL;
}

bool bdrv_create(const char *format, const char *filename, uint64_t size,
                 GHashTable *opts, GError **errp)
{
    const BlockDriver *drv = bdrv_find_format(format);

    if (!drv || !drv->create) {
        error_setg(errp, "'%s': cannot create images of format '%s'",
                   filename, format);
        return false;
    }
    return drv->create(filename, size, opts, errp);
}

bool bdrv_measure(const char *format, GHashTable *opts, uint64_t size,
                  BlockDriverState *in_bs, BlockMeasureInfo *out,
                  GError **errp)
{
    const BlockDriver *drv = bdrv_find_format(format);

    memset(out, 0, sizeof(*out));
    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", format);
        return false;
    }
    if (!drv->measure) {
        error_setg(errp, "Format driver '%s' does not support size "
                   "measurement", format);
        return false;
    }
    return drv->measure(opts, size, in_bs, out, errp);
}

/* ---- amend (qemu-img amend) ------------------------------------------ */

static const BlockAmendOptDesc *amend_desc(const BlockDriver *drv,
                                           const char *name)
{
    for (const BlockAmendOptDesc *d = drv->amend_options; d->name; d++) {
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

static bool is_create_only(const BlockDriver *drv, const char *name)
{
    for (const char *const *p = drv->create_only_options; p && *p; p++) {
        if (!strcmp(*p, name)) {
            return true;
        }
    }
    return false;
}

/* The value in the form the driver gets it (QemuOpts' checks, QEMU's
 * messages: sizes take k/M/G/T/P/E suffixes, booleans on/off). */
static char *amend_value(const BlockAmendOptDesc *d, const char *val,
                         GError **errp)
{
    uint64_t n;
    bool b;

    switch (d->type) {
    case BLOCK_AMEND_BOOL:
        if (!parse_bool(val, &b, NULL)) {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", d->name);
            return NULL;
        }
        return g_strdup(b ? "on" : "off");
    case BLOCK_AMEND_NUMBER:
        if (!parse_uint(val, &n, NULL)) {
            error_setg(errp, "Parameter '%s' expects a number", d->name);
            return NULL;
        }
        return g_strdup_printf("%" PRIu64, n);
    case BLOCK_AMEND_SIZE:
        if (!parse_size(val, 1, &n, NULL)) {
            error_setg(errp, "Parameter '%s' expects a non-negative number "
                       "below 2^64\nOptional suffix k, M, G, T, P or E means "
                       "kilo-, mega-, giga-, tera-, peta-\nand exabytes, "
                       "respectively.", d->name);
            return NULL;
        }
        return g_strdup_printf("%" PRIu64, n);
    default:
        return g_strdup(val);
    }
}

bool bdrv_amend(BlockDriverState *bs, char **opts,
                BlockAmendProgress *progress, void *opaque, GError **errp)
{
    const BlockDriver *drv = bs->drv;
    GHashTable *given;
    bool ok;

    if (!drv->amend_options || !drv->amend) {
        error_setg(errp, "Format driver '%s' does not support option "
                   "amendment", drv->format_name);
        return false;
    }
    given = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (char **p = opts; *p; p++) {
        const char *eq = strchr(*p, '=');
        char *name = eq ? g_strndup(*p, eq - *p) : g_strdup(*p);
        const BlockAmendOptDesc *d = amend_desc(drv, name);
        char *val = NULL;

        if (!d) {
            error_setg(errp, "Invalid parameter '%s'%s", name,
                       is_create_only(drv, name)
                       ? "\nThis option is only supported for image creation"
                       : "");
        } else {
            /* a bare name means "name=on", as in QemuOpts */
            val = amend_value(d, eq ? eq + 1 : "on", errp);
        }
        if (!val) {
            g_free(name);
            g_hash_table_unref(given);
            return false;
        }
        g_hash_table_replace(given, name, val);
    }
    ok = drv->amend(bs, given, progress, opaque, errp);
    g_hash_table_unref(given);
    return ok;
}

static const char *const amend_type_names[] = {
    [BLOCK_AMEND_STRING] = "str", [BLOCK_AMEND_BOOL] = "bool (on/off)",
    [BLOCK_AMEND_NUMBER] = "num", [BLOCK_AMEND_SIZE] = "size",
};

static gint amend_desc_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const BlockAmendOptDesc *const *)a)->name,
                  (*(const BlockAmendOptDesc *const *)b)->name);
}

bool bdrv_amend_help(const char *format, GString *out, GError **errp)
{
    const BlockDriver *drv = bdrv_find_format(format);
    GPtrArray *sorted;

    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", format);
        return false;
    }
    if (!drv->amend_options) {
        error_setg(errp, "Format driver '%s' does not support option "
                   "amendment", format);
        return false;
    }
    /* As QEMU prints option lists: sorted by name, the help text at
     * column 24 where the name and type leave room. */
    sorted = g_ptr_array_new();
    for (const BlockAmendOptDesc *d = drv->amend_options; d->name; d++) {
        g_ptr_array_add(sorted, (gpointer)d);
    }
    g_ptr_array_sort(sorted, amend_desc_cmp);
    g_string_append_printf(out, "Amend options for '%s':\n", format);
    for (guint i = 0; i < sorted->len; i++) {
        const BlockAmendOptDesc *d = g_ptr_array_index(sorted, i);
        g_autofree char *opt = g_strdup_printf("%s=<%s>", d->name,
                                               amend_type_names[d->type]);

        g_string_append_printf(out, "  %-22s - %s\n", opt, d->help);
    }
    g_ptr_array_unref(sorted);
    return true;
}

char *bdrv_backing_path(const char *image, const char *backing)
{
    char *dir;
    char *path;

    if (g_path_is_absolute(backing) || path_has_protocol(backing) ||
        is_json_filename(backing)) {
        return g_strdup(backing);
    }
    /* Relative names are relative to the image naming them, as in QEMU. */
    dir = g_path_get_dirname(image);
    path = strcmp(dir, ".") ? g_build_filename(dir, backing, NULL)
                            : g_strdup(backing);
    g_free(dir);
    return path;
}

const char *bdrv_format_name(BlockDriverState *bs) { return bs->drv->format_name; }
const char *bdrv_filename(BlockDriverState *bs) { return bs->filename; }
BlockDriverState *bdrv_file(BlockDriverState *bs) { return bs->file; }
BlockDriverState *bdrv_backing(BlockDriverState *bs) { return bs->backing; }

BlockDriverState *bdrv_filtered_or_backing(BlockDriverState *bs)
{
    return bs->drv->is_filter ? bs->file : bs->backing;
}

BlockDriverState *bdrv_skip_implicit_filters(BlockDriverState *bs)
{
    while (bs && bs->implicit && bs->drv->is_filter && bs->file) {
        bs = bs->file;
    }
    return bs;
}

bool bdrv_is_read_only(BlockDriverState *bs) { return !(bs->flags & BDRV_O_RDWR); }
uint64_t bdrv_getlength(BlockDriverState *bs) { return bs->size; }
uint32_t bdrv_cluster_size(BlockDriverState *bs) { return bs->cluster_size; }

int64_t bdrv_allocated_size(BlockDriverState *bs)
{
    if (bs->drv->allocated_size) {
        return bs->drv->allocated_size(bs);
    }
    return bs->file ? bdrv_allocated_size(bs->file) : -1;
}

void bdrv_get_stats(BlockDriverState *bs, BlockStats *st)
{
    st->reads = __atomic_load_n(&bs->stats.reads, __ATOMIC_RELAXED);
    st->writes = __atomic_load_n(&bs->stats.writes, __ATOMIC_RELAXED);
    st->flushes = __atomic_load_n(&bs->stats.flushes, __ATOMIC_RELAXED);
    st->bounced = __atomic_load_n(&bs->stats.bounced, __ATOMIC_RELAXED);
}

static void stat_inc(uint64_t *counter)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static bool check_request(BlockDriverState *bs, uint64_t offset,
                          uint64_t bytes, GError **errp)
{
    /* A protocol node is a host file: a format driver grows it by writing
     * past its end, and reads past the end give zeroes, as a sparse file's
     * would. */
    uint64_t limit = bs->drv->is_protocol ? INT64_MAX : bs->size;

    if (!range_within(offset, bytes, limit)) {
        error_setg(errp, "'%s': request at %" PRIu64 "+%" PRIu64
                   " is past the end (%" PRIu64 " bytes)",
                   bs->filename, offset, bytes, bs->size);
        return false;
    }
    return true;
}

void bdrv_grow_size(BlockDriverState *bs, uint64_t end)
{
    uint64_t cur = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);

    while (end > cur &&
           !__atomic_compare_exchange_n(&bs->size, &cur, end, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

static bool check_writable(BlockDriverState *bs, GError **errp)
{
    if (!(bs->flags & BDRV_O_RDWR)) {
        error_setg(errp, "'%s': image is read-only", bs->filename);
        return false;
    }
    return true;
}

/* Does this request need a bounce buffer to meet the node's alignment? */
static bool needs_bounce(BlockDriverState *bs, uint64_t offset,
                         uint64_t bytes, const void *buf)
{
    uint32_t a = bs->request_alignment;

    return (a > 1 && ((offset | bytes) & (a - 1))) ||
           (bs->buf_alignment > 1 &&
            ((uintptr_t)buf & (bs->buf_alignment - 1)));
}

/*
 * O_DIRECT needs aligned offsets, lengths and buffers: read the aligned
 * span into an aligned buffer, and for writes merge and write it back
 * (under rmw_lock, so two bounced writes sharing a block cannot lose
 * each other's bytes).
 */
static bool bounce_io(BlockDriverState *bs, bool write, uint64_t offset,
                      uint64_t bytes, void *rbuf, const void *wbuf,
                      GError **errp)
{
    uint32_t a = bs->request_alignment;
    uint64_t start = ALIGN_DOWN(offset, a);
    uint64_t end = ALIGN_UP(offset + bytes, a);
    uint64_t tail;
    void *bounce = NULL;
    bool ok;

    stat_inc(&bs->stats.bounced);
    if (posix_memalign(&bounce, MAX(MAX(a, bs->buf_alignment), 4096),
                       end - start)) {
        error_setg(errp, "'%s': out of memory for a %" PRIu64
                   "-byte bounce buffer", bs->filename, end - start);
        return false;
    }
    memset(bounce, 0, end - start);
    if (write) {
        g_mutex_lock(&bs->rmw_lock);
    }
    /* The host file may end inside the last aligned block (the driver
     * reads zeroes there) or before @start: a write of new qcow2 clusters
     * past the end while another is still growing the file. */
    tail = MIN(end, ALIGN_UP(__atomic_load_n(&bs->size, __ATOMIC_RELAXED),
                             a));
    ok = tail <= start || bs->drv->pread(bs, start, tail - start, bounce,
                                         errp);
    if (ok && write) {
        memcpy((uint8_t *)bounce + (offset - start), wbuf, bytes);
        ok = bs->drv->pwrite(bs, start, end - start, bounce, errp);
    } else if (ok) {
        memcpy(rbuf, (uint8_t *)bounce + (offset - start), bytes);
    }
    if (write) {
        g_mutex_unlock(&bs->rmw_lock);
    }
    free(bounce);
    return ok;
}

bool bdrv_pread(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                void *buf, GError **errp)
{
    if (!check_request(bs, offset, bytes, errp)) {
        return false;
    }
    if (!bytes) {
        return true;
    }
    stat_inc(&bs->stats.reads);
    if (needs_bounce(bs, offset, bytes, buf)) {
        return bounce_io(bs, false, offset, bytes, buf, NULL, errp);
    }
    return bs->drv->pread(bs, offset, bytes, buf, errp);
}

bool bdrv_try_preadv_nowait(BlockDriverState *bs, uint64_t offset,
                            const struct iovec *iov, int niov,
                            uint64_t bytes)
{
    uint64_t limit = bs->drv->is_protocol ? INT64_MAX : bs->size;

    /* Bounced requests (O_DIRECT's alignment) always go the usual way. */
    if (!bs->drv->try_preadv_nowait || !bytes ||
        !range_within(offset, bytes, limit) || bs->request_alignment > 1 ||
        bs->buf_alignment > 1 ||
        !bs->drv->try_preadv_nowait(bs, offset, iov, niov, bytes)) {
        return false;
    }
    stat_inc(&bs->stats.reads);
    return true;
}

/*
 * The write hooks of a node (before- and after-write): a list, so that
 * several owners may watch one node (two backups of one source).
 * Requests walk it without a lock; a removal unlinks its hook and then
 * waits for the requests that may still run it.  Those are counted in
 * two halves: a request counts itself in the half @phase names when it
 * starts; a removal, after unlinking, flips @phase and waits for the
 * half it left, twice (both halves), so a steady stream of new requests,
 * which count in the half just flipped to, cannot hold it up.
 */
static BdrvWriteHooks *write_hooks(BlockDriverState *bs, bool after)
{
    return after ? &bs->after_write : &bs->before_write;
}

static void add_write_hook(BdrvWriteHooks *h, BdrvBeforeWrite *hook)
{
    hook->next = g_atomic_pointer_get(&h->head);
    g_atomic_pointer_set(&h->head, hook);
}

static void remove_write_hook(BdrvWriteHooks *h, BdrvBeforeWrite *hook)
{
    BdrvBeforeWrite **pp = &h->head;
    int old;

    while (*pp && *pp != hook) {
        pp = &(*pp)->next;
    }
    if (!*pp) {
        return;
    }
    /* hook->next stays: a request standing on it walks on. */
    g_atomic_pointer_set(pp, hook->next);
    /* A request that may still run @hook counted itself before the
     * unlink, in one half or the other (the phase it read may be older
     * than the last flip): wait for each half in turn, each after a
     * flip, so only requests that started before the flip are awaited. */
    for (int round = 0; round < 2; round++) {
        old = g_atomic_int_add(&h->phase, 1) & 1;
        while (g_atomic_int_get(&h->users[old])) {
            g_usleep(50);
        }
    }
}

void bdrv_add_before_write(BlockDriverState *bs, BdrvBeforeWrite *hook)
{
    add_write_hook(write_hooks(bs, false), hook);
}

void bdrv_remove_before_write(BlockDriverState *bs, BdrvBeforeWrite *hook)
{
    remove_write_hook(write_hooks(bs, false), hook);
}

bool bdrv_set_after_write(BlockDriverState *bs, BdrvAfterWrite *hook)
{
    BdrvWriteHooks *h = write_hooks(bs, true);
    BdrvAfterWrite *cur = g_atomic_pointer_get(&h->head);

    if (!hook) {
        if (cur) {
            remove_write_hook(h, cur);
        }
        return true;
    }
    if (cur) {
        return false;           /* one after-write hook per node */
    }
    add_write_hook(h, hook);
    return true;
}

static bool has_write_hook(BlockDriverState *bs, bool after)
{
    return g_atomic_pointer_get(&write_hooks(bs, after)->head) != NULL;
}

/*
 * Run the hooks of @h for a request that changes (before) or changed
 * (after) [offset, offset + bytes), until one fails.  No hook: one
 * atomic load.  The request counts itself before it loads the list, so
 * a remover that saw its half empty after unlinking may free the hook.
 */
static bool run_write_hooks(BdrvWriteHooks *h, uint64_t offset,
                            uint64_t bytes, GError **errp)
{
    bool ok = true;
    int half;

    if (!g_atomic_pointer_get(&h->head)) {
        return true;
    }
    half = g_atomic_int_get(&h->phase) & 1;
    g_atomic_int_inc(&h->users[half]);
    for (BdrvBeforeWrite *hook = g_atomic_pointer_get(&h->head);
         hook && ok; hook = g_atomic_pointer_get(&hook->next)) {
        ok = hook->fn(hook->opaque, offset, bytes, errp);
    }
    g_atomic_int_dec_and_test(&h->users[half]);
    return ok;
}

static bool run_before_write(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, GError **errp)
{
    return run_write_hooks(&bs->before_write, offset, bytes, errp);
}

/* After a request changed the range and bdrv_set_dirty marked it; a
 * failed request runs no hook. */
static bool run_after_write(BlockDriverState *bs, bool ok, uint64_t offset,
                            uint64_t bytes, GError **errp)
{
    return ok && run_write_hooks(&bs->after_write, offset, bytes, errp);
}

static bool write_through(BlockDriverState *bs, GError **errp)
{
    return !(bs->flags & BDRV_O_WRITETHROUGH) || bdrv_flush(bs, errp);
}

/* A checked, non-empty write, without zero detection. */
static bool do_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                      const void *buf, GError **errp)
{
    bool ok;

    stat_inc(&bs->stats.writes);
    if (needs_bounce(bs, offset, bytes, buf)) {
        ok = bounce_io(bs, true, offset, bytes, NULL, buf, errp);
    } else {
        ok = bs->drv->pwrite(bs, offset, bytes, buf, errp);
    }
    return ok && write_through(bs, errp);
}

static bool do_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, int flags, GError **errp);

/* detect-zeroes: does this write become a write-zeroes request? */
static bool detect_zeroes(BlockDriverState *bs, uint64_t bytes,
                          const void *buf)
{
    return (bs->flags & BDRV_O_DETECT_ZEROES) && buffer_is_zero(buf, bytes);
}

bool bdrv_pwrite(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                 const void *buf, GError **errp)
{
    bool ok;

    if (!check_writable(bs, errp) || !check_request(bs, offset, bytes, errp)) {
        return false;
    }
    if (!bytes) {
        return true;
    }
    if (!run_before_write(bs, offset, bytes, errp)) {
        return false;
    }
    if (detect_zeroes(bs, bytes, buf)) {
        /* With detect-zeroes=unmap the zeroes may become holes, but only
         * where discard=unmap allows it (do_pwrite_zeroes checks). */
        ok = do_pwrite_zeroes(bs, offset, bytes,
                              (bs->flags & BDRV_O_DETECT_ZEROES_UNMAP) ?
                              BDRV_REQ_MAY_UNMAP : 0, errp);
    } else {
        ok = do_pwrite(bs, offset, bytes, buf, errp);
    }
    /* Failed or not, the range may have changed. */
    bdrv_set_dirty(bs, offset, bytes);
    return run_after_write(bs, ok, offset, bytes, errp);
}

/* Fallback for drivers without a zeroing operation: write zero buffers. */
static bool write_zero_buffers(BlockDriverState *bs, uint64_t offset,
                               uint64_t bytes, GError **errp)
{
    uint64_t chunk = MIN(bytes, 1 * MiB);
    void *zero = NULL;
    bool ok = true;

    if (posix_memalign(&zero, 4096, chunk)) {
        error_setg(errp, "'%s': out of memory", bs->filename);
        return false;
    }
    memset(zero, 0, chunk);
    while (ok && bytes) {
        uint64_t n = MIN(bytes, chunk);

        ok = do_pwrite(bs, offset, n, zero, errp);
        offset += n;
        bytes -= n;
    }
    free(zero);
    return ok;
}

bool bdrv_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                        uint64_t bytes, int flags, GError **errp)
{
    bool ok;

    if (!check_writable(bs, errp) || !check_request(bs, offset, bytes, errp)) {
        return false;
    }
    if (!bytes) {
        return true;
    }
    if (!run_before_write(bs, offset, bytes, errp)) {
        return false;
    }
    ok = do_pwrite_zeroes(bs, offset, bytes, flags, errp);
    bdrv_set_dirty(bs, offset, bytes);
    return run_after_write(bs, ok, offset, bytes, errp);
}

static bool do_pwrite_zeroes(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, int flags, GError **errp)
{
    uint32_t a = bs->request_alignment;

    /* Unmapping is a discard: only with discard=unmap. */
    if (!(bs->flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    if (!bs->drv->pwrite_zeroes || ((offset | bytes) & (a - 1))) {
        return write_zero_buffers(bs, offset, bytes, errp);
    }
    stat_inc(&bs->stats.writes);
    return bs->drv->pwrite_zeroes(bs, offset, bytes, flags, errp) &&
           write_through(bs, errp);
}

bool bdrv_pdiscard(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                   GError **errp)
{
    bool ok;

    if (!check_writable(bs, errp) || !check_request(bs, offset, bytes, errp)) {
        return false;
    }
    /* Discard is a hint: with discard=ignore, and in drivers that
     * cannot, it does nothing. */
    if (!bytes || !bs->drv->pdiscard || !(bs->flags & BDRV_O_UNMAP)) {
        return true;
    }
    if (!run_before_write(bs, offset, bytes, errp)) {
        return false;
    }
    ok = bs->drv->pdiscard(bs, offset, bytes, errp) &&
         write_through(bs, errp);
    bdrv_set_dirty(bs, offset, bytes);
    return run_after_write(bs, ok, offset, bytes, errp);
}

bool bdrv_pwrite_compressed(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, const void *buf, GError **errp)
{
    bool ok;

    if (!check_writable(bs, errp) || !check_request(bs, offset, bytes, errp)) {
        return false;
    }
    if (!bs->drv->pwrite_compressed) {
        error_setg(errp, "'%s': format '%s' does not support compression",
                   bs->filename, bs->drv->format_name);
        return false;
    }
    if (!run_before_write(bs, offset, bytes, errp)) {
        return false;
    }
    stat_inc(&bs->stats.writes);
    ok = bs->drv->pwrite_compressed(bs, offset, bytes, buf, errp) &&
         write_through(bs, errp);
    bdrv_set_dirty(bs, offset, bytes);
    return run_after_write(bs, ok, offset, bytes, errp);
}

bool bdrv_aio_try_host(BlockDriverState *bs, const BdrvAioRequest *req)
{
    if (!bs->drv->aio_submit) {
        return false;
    }
    if (req->op == BDRV_AIO_FLUSH) {
        /* cache=unsafe flushes and read-only nodes' are no-ops the
         * synchronous path answers. */
        if (!(bs->flags & BDRV_O_RDWR) || (bs->flags & BDRV_O_NO_FLUSH)) {
            return false;
        }
    } else {
        if (!req->bytes || !range_within(req->offset, req->bytes,
                                         bs->drv->is_protocol ? INT64_MAX
                                                              : bs->size) ||
            needs_bounce(bs, req->offset, req->bytes, req->buf)) {
            return false;
        }
        /* Before- and after-write hooks run on the worker path
         * (bdrv_pwrite). */
        if (req->op == BDRV_AIO_WRITE &&
            (!(bs->flags & BDRV_O_RDWR) ||
             detect_zeroes(req->top, req->bytes, req->buf) ||
             has_write_hook(req->top, false) || has_write_hook(bs, false) ||
             has_write_hook(req->top, true) || has_write_hook(bs, true))) {
            return false;
        }
    }
    if (!bs->drv->aio_submit(bs, req)) {
        return false;
    }
    stat_inc(req->op == BDRV_AIO_READ ? &bs->stats.reads :
             req->op == BDRV_AIO_WRITE ? &bs->stats.writes
                                       : &bs->stats.flushes);
    return true;
}

static void bdrv_io_plug_chain(BlockDriverState *bs, bool plug)
{
    for (; bs; bs = bs->file) {
        if (bs->drv->io_plug) {
            bs->drv->io_plug(bs, plug);
        }
    }
}

void bdrv_io_plug(BlockDriverState *bs)
{
    bdrv_io_plug_chain(bs, true);
}

void bdrv_io_unplug(BlockDriverState *bs)
{
    bdrv_io_plug_chain(bs, false);
}

bool bdrv_flush(BlockDriverState *bs, GError **errp)
{
    if (!(bs->flags & BDRV_O_RDWR)) {
        return true;
    }
    stat_inc(&bs->stats.flushes);
    /* The format driver writes its cached metadata and flushes its file
     * itself, in the order its crash consistency needs. */
    if (bs->drv->flush) {
        return bs->drv->flush(bs, errp);
    }
    return !bs->file || bdrv_flush(bs->file, errp);
}

bool bdrv_truncate(BlockDriverState *bs, uint64_t size, GError **errp)
{
    if (!check_writable(bs, errp)) {
        return false;
    }
    if (!bs->drv->truncate) {
        error_setg(errp, "'%s': format '%s' cannot be resized",
                   bs->filename, bs->drv->format_name);
        return false;
    }
    if (!bs->drv->truncate(bs, size, errp)) {
        return false;
    }
    bdrv_dirty_bitmaps_truncate(bs);
    return true;
}

/* The optional driver operations below all need a writable node and a
 * driver that has them. */
static bool check_op(BlockDriverState *bs, bool has_op, const char *what,
                     GError **errp)
{
    if (!check_writable(bs, errp)) {
        return false;
    }
    if (!has_op) {
        error_setg(errp, "'%s': format '%s' does not support %s",
                   bs->filename, bs->drv->format_name, what);
        return false;
    }
    return true;
}

bool bdrv_make_empty(BlockDriverState *bs, GError **errp)
{
    return check_op(bs, bs->drv->make_empty != NULL, "emptying", errp) &&
           bs->drv->make_empty(bs, errp);
}

bool bdrv_reopen_rw(BlockDriverState *bs, bool rw, GError **errp)
{
    int flags = rw ? bs->flags | BDRV_O_RDWR : bs->flags & ~BDRV_O_RDWR;

    if (flags == bs->flags) {
        return true;
    }
    /* A writable format needs a writable file under it; a format going
     * read-only flushes its metadata while it still can. */
    if (rw && bs->file && !bdrv_reopen_rw(bs->file, true, errp)) {
        return false;
    }
    if (bs->drv->reopen) {
        if (!bs->drv->reopen(bs, flags, errp)) {
            return false;
        }
    } else if (bs->drv->is_protocol) {
        error_setg(errp, "'%s': driver '%s' cannot switch between "
                   "read-only and read-write", bs->filename,
                   bs->drv->format_name);
        return false;
    }
    bs->flags = flags;
    if (!rw && bs->file) {
        return bdrv_reopen_rw(bs->file, false, errp);
    }
    return true;
}

bool bdrv_refresh_size(BlockDriverState *bs, GError **errp)
{
    return !bs->drv->refresh_size || bs->drv->refresh_size(bs, errp);
}

bool bdrv_chain_contains(BlockDriverState *top, BlockDriverState *base)
{
    for (BlockDriverState *bs = top; bs; bs = bdrv_filtered_or_backing(bs)) {
        if (bs == base) {
            return true;
        }
    }
    return false;
}

int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            uint64_t offset, uint64_t bytes, uint64_t *pnum,
                            GError **errp)
{
    uint64_t run = bytes;

    for (BlockDriverState *bs = top; bs && bs != base;
         bs = bdrv_filtered_or_backing(bs)) {
        uint64_t n = 0, map;
        BlockDriverState *file;
        int st;

        if (offset >= bs->size) {
            continue;                   /* a shorter layer holds nothing */
        }
        st = bdrv_block_status(bs, offset, MIN(run, bs->size - offset), &n,
                               &map, &file, errp);
        if (st < 0) {
            return st;
        }
        n = MIN(MAX(n, 1), run);
        if (st & BDRV_BLOCK_ALLOCATED) {
            *pnum = n;
            return 1;
        }
        run = n;                        /* unallocated that far here */
    }
    *pnum = run;
    return 0;
}

bool bdrv_change_backing_file(BlockDriverState *bs, const char *file,
                              const char *fmt, GError **errp)
{
    return check_op(bs, bs->drv->change_backing_file != NULL, "backing files",
                    errp) &&
           bs->drv->change_backing_file(bs, file, fmt, errp);
}

bool bdrv_snapshot_create(BlockDriverState *bs, const char *name,
                          GError **errp)
{
    return bdrv_snapshot_create_vm(bs, name, 0, 0, errp);
}

bool bdrv_snapshot_create_vm(BlockDriverState *bs, const char *name,
                             uint64_t vm_state_size, uint64_t vm_clock_nsec,
                             GError **errp)
{
    return check_op(bs, bs->drv->snapshot_create != NULL, "internal snapshots",
                    errp) &&
           bs->drv->snapshot_create(bs, name, vm_state_size, vm_clock_nsec,
                                    errp);
}

bool bdrv_can_snapshot(BlockDriverState *bs)
{
    return bs->drv->snapshot_create && bs->drv->save_vmstate;
}

bool bdrv_save_vmstate(BlockDriverState *bs, uint64_t pos, uint64_t len,
                       const void *buf, GError **errp)
{
    return check_op(bs, bs->drv->save_vmstate != NULL, "VM state", errp) &&
           bs->drv->save_vmstate(bs, pos, len, buf, errp);
}

bool bdrv_load_vmstate(BlockDriverState *bs, uint64_t pos, uint64_t len,
                       void *buf, GError **errp)
{
    return check_op(bs, bs->drv->load_vmstate != NULL, "VM state", errp) &&
           bs->drv->load_vmstate(bs, pos, len, buf, errp);
}

bool bdrv_snapshot_delete(BlockDriverState *bs, const char *name,
                          GError **errp)
{
    return check_op(bs, bs->drv->snapshot_delete != NULL, "internal snapshots",
                    errp) &&
           bs->drv->snapshot_delete(bs, name, errp);
}

bool bdrv_snapshot_goto(BlockDriverState *bs, const char *name,
                        GError **errp)
{
    return check_op(bs, bs->drv->snapshot_goto != NULL, "internal snapshots",
                    errp) &&
           bs->drv->snapshot_goto(bs, name, errp);
}

int bdrv_block_status(BlockDriverState *bs, uint64_t offset, uint64_t bytes,
                      uint64_t *pnum, uint64_t *map, BlockDriverState **file,
                      GError **errp)
{
    if (!check_request(bs, offset, bytes, errp)) {
        return -1;
    }
    *map = 0;
    *file = NULL;
    if (!bytes) {
        *pnum = 0;
        return 0;
    }
    if (!bs->drv->block_status) {
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
    }
    return bs->drv->block_status(bs, offset, bytes, pnum, map, file, errp);
}

int bdrv_block_status_above(BlockDriverState *bs, uint64_t offset,
                            uint64_t bytes, uint64_t *pnum, uint64_t *map,
                            BlockDriverState **file, int *depth,
                            GError **errp)
{
    for (*depth = 0; ; (*depth)++) {
        BlockDriverState *next;
        int ret;

        /* A job's filter is no layer of its own: its node answers. */
        while (bs->drv->is_filter && bs->file) {
            bs = bs->file;
        }
        ret = bdrv_block_status(bs, offset, bytes, pnum, map, file, errp);
        next = bdrv_backing(bs);
        if (ret < 0 || (ret & BDRV_BLOCK_ALLOCATED) || !next) {
            return ret;
        }
        /* Unallocated here: the backing node decides, but only for the
         * bytes this layer reported and only where the backing node
         * exists; past its end the content is zero. */
        bytes = *pnum;
        if (offset >= next->size) {
            *pnum = bytes;
            return BDRV_BLOCK_ZERO;
        }
        bytes = MIN(bytes, next->size - offset);
        bs = next;
    }
}

bool bdrv_check(BlockDriverState *bs, BlockCheckResult *res, int fix,
                GError **errp)
{
    if (!bs->drv->check) {
        error_setg(errp, "'%s': format '%s' does not support checks",
                   bs->filename, bs->drv->format_name);
        return false;
    }
    return bs->drv->check(bs, res, fix, errp);
}

bool bdrv_get_info(BlockDriverState *bs, BlockImageInfo *info, GError **errp)
{
    memset(info, 0, sizeof(*info));
    info->cluster_size = bs->cluster_size;
    if (bs->drv->get_info) {
        return bs->drv->get_info(bs, info, errp);
    }
    return true;
}

void bdrv_image_info_clear(BlockImageInfo *info)
{
    g_free(info->backing_file);
    g_free(info->backing_fmt);
    if (info->snapshots) {
        g_ptr_array_unref(info->snapshots);
    }
    if (info->bitmaps) {
        for (guint i = 0; i < info->bitmaps->len; i++) {
            BlockBitmapInfo *b = g_ptr_array_index(info->bitmaps, i);

            g_free(b->name);
            g_free(b);
        }
        g_ptr_array_unref(info->bitmaps);
    }
    memset(info, 0, sizeof(*info));
}
