/*
 * Opening nodes from an options dictionary: the one path behind
 * -blockdev and QMP blockdev-add (QEMU's BlockdevOptions).
 *
 * The generic keys (driver, node-name, read-only, auto-read-only,
 * cache.direct, cache.no-flush, discard, detect-zeroes) are handled here
 * for every driver; a driver lists its own keys in BlockDriver.options.
 * Children ("file", "backing", blkdebug's "image") are a node-name, a
 * nested dictionary (opened recursively, read-only when the parent is),
 * or for "backing" null.  Every key is checked before anything opens, so
 * a typo costs one clear error and no half-built graph.  Error texts are
 * QEMU's QMP ones ("Parameter 'file.foo' is unexpected", ...), naming the
 * key by its dotted path.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "qobject/qbool.h"
#include "qobject/json-parser.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

#define NODE_NAME_MAX 31        /* QEMU's limit: 32 bytes with the NUL */

static const BlockOptionDesc generic_options[] = {
    { "driver", BOPT_STRING, true },
    { "node-name", BOPT_STRING },
    { "read-only", BOPT_BOOL },
    { "auto-read-only", BOPT_BOOL },
    { "cache", BOPT_ANY },
    { "discard", BOPT_STRING },
    { "detect-zeroes", BOPT_STRING },
    { "force-share", BOPT_BOOL },
    { NULL },
};

typedef struct OpenCtx {
    const char *prefix;         /* "" or "file." ... for messages */
    QDict *opts;
    const BlockDriver *drv;
    int flags;
    bool auto_read_only;
    bool parent_read_only;
    int parent_flags;           /* the parent's INHERITED_FLAGS: defaults
                                 * of the node's own options */
    int root_flags;             /* the caller's ROOT_FLAGS: the root node
                                 * only (bdrv_open_options_flags) */
    bool legacy;                /* QEMU's bdrv_open() words for unknown
                                 * keys and drivers (--image-opts, json:) */
} OpenCtx;

/* What a child takes from its parent, as QEMU's children inherit
 * discard, force-share and the cache and aio settings. */
#define INHERITED_FLAGS (BDRV_O_UNMAP | BDRV_O_FORCE_SHARE | BDRV_O_NOCACHE | \
                         BDRV_O_NO_FLUSH | BDRV_O_AIO_MASK)
/* What only the node a tool opens gets (kvmpc-img's check, info without
 * the chain, its -t writethrough). */
#define ROOT_FLAGS (BDRV_O_CHECK | BDRV_O_NO_BACKING | BDRV_O_WRITETHROUGH | \
                    BDRV_O_DETECT_ZEROES | BDRV_O_DETECT_ZEROES_UNMAP)

static BlockDriverState *open_dict(QDict *opts, OpenCtx *parent,
                                   const char *prefix, bool parent_read_only,
                                   GError **errp);

static const BlockOptionDesc *find_desc(const BlockOptionDesc *table,
                                        const char *name)
{
    for (; table && table->name; table++) {
        if (!strcmp(table->name, name)) {
            return table;
        }
    }
    return NULL;
}

static const BlockOptionDesc *ctx_desc(OpenCtx *c, const char *name)
{
    const BlockOptionDesc *d = find_desc(generic_options, name);

    return d ? d : find_desc(c->drv->options, name);
}

static void type_error(OpenCtx *c, const char *key, const char *want,
                       GError **errp)
{
    error_setg(errp, "Invalid parameter type for '%s%s', expected: %s",
               c->prefix, key, want);
}

/* A bool as JSON or as keyval text (on/off, as QEMU's keyval reads it). */
static bool value_bool(OpenCtx *c, const char *key, QObject *v, bool *out,
                       GError **errp)
{
    QString *qs = qobject_to(QString, v);
    QBool *qb = qobject_to(QBool, v);

    if (qb) {
        *out = qbool_get_bool(qb);
        return true;
    }
    if (qs) {
        const char *t = qstring_get_str(qs);
        if (!strcmp(t, "on") || !strcmp(t, "true") || !strcmp(t, "yes")) {
            *out = true;
            return true;
        }
        if (!strcmp(t, "off") || !strcmp(t, "false") || !strcmp(t, "no")) {
            *out = false;
            return true;
        }
        error_setg(errp, "Parameter '%s%s' expects 'on' or 'off'", c->prefix,
                   key);
        return false;
    }
    type_error(c, key, "boolean", errp);
    return false;
}

bool bdrv_opt_get_bool(QDict *opts, const char *key, bool def, bool *out,
                       const char *prefix, GError **errp)
{
    OpenCtx c = { .prefix = prefix };
    QObject *v = qdict_get(opts, key);

    *out = def;
    return !v || value_bool(&c, key, v, out, errp);
}

bool bdrv_opt_get_int(QDict *opts, const char *key, int64_t def,
                      int64_t *out, const char *prefix, GError **errp)
{
    QObject *v = qdict_get(opts, key);
    QNum *qn = qobject_to(QNum, v);
    QString *qs = qobject_to(QString, v);

    *out = def;
    if (!v) {
        return true;
    }
    if (qn && qnum_get_try_int(qn, out)) {
        return true;
    }
    if (qs) {
        const char *t = qstring_get_str(qs);
        char *end;
        errno = 0;
        *out = strtoll(t, &end, 0);
        if (*t && !*end && !errno) {
            return true;
        }
    }
    error_setg(errp, "Invalid parameter type for '%s%s', expected: integer",
               prefix, key);
    return false;
}

static bool check_value_type(OpenCtx *c, const char *key, QObject *v,
                             const BlockOptionDesc *d, GError **errp)
{
    bool b;
    int64_t i;

    switch (d->type) {
    case BOPT_STRING:
        if (!qobject_to(QString, v)) {
            type_error(c, key, "string", errp);
            return false;
        }
        return true;
    case BOPT_BOOL:
        return value_bool(c, key, v, &b, errp);
    case BOPT_INT:
        return bdrv_opt_get_int(c->opts, key, 0, &i, c->prefix, errp);
    case BOPT_CHILD_FILE:
    case BOPT_CHILD_BACKING:
        if (qobject_type(v) == QTYPE_QNULL && d->type == BOPT_CHILD_BACKING) {
            return true;
        }
        if (!qobject_to(QString, v) && !qobject_to(QDict, v)) {
            type_error(c, key, d->type == BOPT_CHILD_BACKING
                       ? "BlockdevRefOrNull" : "BlockdevRef", errp);
            return false;
        }
        return true;
    case BOPT_ANY:
        return true;
    }
    return true;
}

/* Every key known, every value of the right type, required keys there. */
static bool check_keys(OpenCtx *c, GError **errp)
{
    for (const QDictEntry *e = qdict_first(c->opts); e;
         e = qdict_next(c->opts, e)) {
        const BlockOptionDesc *d = ctx_desc(c, qdict_entry_key(e));

        if (!d && c->legacy) {
            error_setg(errp, c->drv->is_protocol
                       ? "Block protocol '%s' doesn't support the option '%s'"
                       : "Block format '%s' does not support the option '%s'",
                       c->drv->format_name, qdict_entry_key(e));
            return false;
        }
        if (!d) {
            error_setg(errp, "Parameter '%s%s' is unexpected", c->prefix,
                       qdict_entry_key(e));
            return false;
        }
        if (!check_value_type(c, qdict_entry_key(e), qdict_entry_value(e), d,
                              errp)) {
            return false;
        }
    }
    for (const BlockOptionDesc *d = c->drv->options; d && d->name; d++) {
        if (d->required && !qdict_haskey(c->opts, d->name)) {
            if (d->type == BOPT_CHILD_FILE) {
                error_setg(errp, "A block device must be specified for "
                           "\"%s\"", d->name);
            } else {
                error_setg(errp, "Parameter '%s%s' is missing", c->prefix,
                           d->name);
            }
            return false;
        }
    }
    return true;
}

static bool find_driver(OpenCtx *c, GError **errp)
{
    QObject *v = qdict_get(c->opts, "driver");
    QString *qs = qobject_to(QString, v);

    if (!v) {
        error_setg(errp, "Parameter '%sdriver' is missing", c->prefix);
        return false;
    }
    if (!qs) {
        type_error(c, "driver", "string", errp);
        return false;
    }
    c->drv = bdrv_find_format(qstring_get_str(qs));
    if (!c->drv && c->legacy) {
        error_setg(errp, "Unknown driver '%s'", qstring_get_str(qs));
        return false;
    }
    if (!c->drv) {
        error_setg(errp, "Parameter '%sdriver' does not accept value '%s'",
                   c->prefix, qstring_get_str(qs));
        return false;
    }
    return true;
}

static bool parse_cache(OpenCtx *c, GError **errp)
{
    QObject *v = qdict_get(c->opts, "cache");
    QDict *cache = qobject_to(QDict, v);
    g_autofree char *prefix = g_strdup_printf("%scache.", c->prefix);
    OpenCtx sub = { .prefix = prefix, .opts = cache };
    bool direct = c->parent_flags & BDRV_O_NOCACHE;
    bool no_flush = c->parent_flags & BDRV_O_NO_FLUSH;

    if (!v) {
        c->flags |= (direct ? BDRV_O_NOCACHE : 0) |
                    (no_flush ? BDRV_O_NO_FLUSH : 0);
        return true;
    }
    if (!cache) {
        type_error(c, "cache", "BlockdevCacheOptions", errp);
        return false;
    }
    for (const QDictEntry *e = qdict_first(cache); e;
         e = qdict_next(cache, e)) {
        const char *k = qdict_entry_key(e);
        if (strcmp(k, "direct") && strcmp(k, "no-flush")) {
            error_setg(errp, "Parameter '%s%s' is unexpected", prefix, k);
            return false;
        }
    }
    if ((qdict_get(cache, "direct") &&
         !value_bool(&sub, "direct", qdict_get(cache, "direct"), &direct,
                     errp)) ||
        (qdict_get(cache, "no-flush") &&
         !value_bool(&sub, "no-flush", qdict_get(cache, "no-flush"),
                     &no_flush, errp))) {
        return false;
    }
    if (direct) {
        c->flags |= BDRV_O_NOCACHE;
    }
    if (no_flush) {
        c->flags |= BDRV_O_NO_FLUSH;
    }
    return true;
}

static bool parse_enum(OpenCtx *c, const char *key,
                       const char *const *values, int *out, GError **errp)
{
    const char *v = qdict_get_try_str(c->opts, key);

    if (!v) {
        return true;
    }
    for (int i = 0; values[i]; i++) {
        if (!strcmp(v, values[i])) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s%s' does not accept value '%s'",
               c->prefix, key, v);
    return false;
}

static bool check_node_name(const char *name, GError **errp)
{
    size_t len = strlen(name);

    if (!len || !g_ascii_isalpha(name[0]) ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789-._") != len) {
        error_setg(errp, "Invalid node-name: '%s'", name);
        return false;
    }
    if (len > NODE_NAME_MAX) {
        error_setg(errp, "Node name too long");
        return false;
    }
    if (bdrv_find_node(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return false;
    }
    return true;
}

bool bdrv_set_node_name(BlockDriverState *bs, const char *name,
                        GError **errp)
{
    if (!check_node_name(name, errp)) {
        return false;
    }
    g_free(bs->node_name);
    bs->node_name = g_strdup(name);
    return true;
}

/* The generic keys that become open flags and node settings. */
static bool parse_generic(OpenCtx *c, GError **errp)
{
    static const char *const discard_values[] = {
        "ignore", "unmap", "off", "on", NULL };
    static const char *const dz_values[] = { "off", "on", "unmap", NULL };
    const char *name = qdict_get_try_str(c->opts, "node-name");
    bool read_only;
    /* discard defaults to the parent's (QEMU passes it down to children
     * opened inline); values index discard_values. */
    int discard = (c->parent_flags & BDRV_O_UNMAP) ? 1 : 0, dz = 0;
    bool force_share;

    if (name && !check_node_name(name, errp)) {
        return false;
    }
    /* A nested child is read-only when its parent is (QEMU inherits it). */
    if (!bdrv_opt_get_bool(c->opts, "read-only", c->parent_read_only,
                           &read_only, c->prefix, errp) ||
        !bdrv_opt_get_bool(c->opts, "auto-read-only", false,
                           &c->auto_read_only, c->prefix, errp) ||
        !bdrv_opt_get_bool(c->opts, "force-share",
                           c->parent_flags & BDRV_O_FORCE_SHARE,
                           &force_share, c->prefix, errp) ||
        !parse_cache(c, errp) ||
        !parse_enum(c, "discard", discard_values, &discard, errp) ||
        !parse_enum(c, "detect-zeroes", dz_values, &dz, errp)) {
        return false;
    }
    if (dz == 2 && discard != 1 && discard != 3) {
        error_setg(errp, "setting detect-zeroes to unmap is not allowed "
                   "without setting discard operation to unmap");
        return false;
    }
    if (force_share && !read_only) {
        error_setg(errp, "force-share=on can only be used with read-only "
                   "images");
        return false;
    }
    c->flags |= read_only ? 0 : BDRV_O_RDWR;
    c->flags |= force_share ? BDRV_O_FORCE_SHARE : 0;
    c->flags |= (discard == 1 || discard == 3) ? BDRV_O_UNMAP : 0;
    c->flags |= dz ? BDRV_O_DETECT_ZEROES : 0;
    c->flags |= dz == 2 ? BDRV_O_DETECT_ZEROES_UNMAP : 0;
    c->flags |= (c->parent_flags & BDRV_O_AIO_MASK) | c->root_flags;
    return true;
}

/*
 * A child: a reference to an existing node (one more reference on it), a
 * dictionary opened here, or NULL for "backing": null.
 */
static bool open_child(OpenCtx *c, const char *key, BlockDriverState **out,
                       GError **errp)
{
    QObject *v = qdict_get(c->opts, key);
    QString *ref = qobject_to(QString, v);
    QDict *def = qobject_to(QDict, v);

    *out = NULL;
    if (!v || qobject_type(v) == QTYPE_QNULL) {
        return true;
    }
    if (ref) {
        BlockDriverState *bs = bdrv_find_node(qstring_get_str(ref));
        if (!bs) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       qstring_get_str(ref), qstring_get_str(ref));
            return false;
        }
        bdrv_ref(bs);
        *out = bs;
        return true;
    }
    {
        g_autofree char *prefix = g_strdup_printf("%s%s.", c->prefix, key);
        bool ro = !(c->flags & BDRV_O_RDWR) ||
                  find_desc(c->drv->options, key)->type == BOPT_CHILD_BACKING;
        *out = open_dict(def, c, prefix, ro, errp);
    }
    return *out != NULL;
}

/* A writable node cannot sit on a read-only file child (QEMU's
 * permission check says the same). */
static bool check_child_writable(OpenCtx *c, BlockDriverState *file,
                                 GError **errp)
{
    if ((c->flags & BDRV_O_RDWR) && file && !(file->flags & BDRV_O_RDWR)) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    return true;
}

static const char *child_key(OpenCtx *c, BlockOptionType type)
{
    for (const BlockOptionDesc *d = c->drv->options; d && d->name; d++) {
        if (d->type == type) {
            return d->name;
        }
    }
    return NULL;
}

static bool driver_open(OpenCtx *c, BlockDriverState *bs, int flags,
                        GError **errp)
{
    const char *filename = qdict_get_try_str(c->opts, "filename");

    if (c->drv->open_options) {
        return c->drv->open_options(bs, c->opts, flags, errp);
    }
    if (c->drv->is_protocol) {
        const char *aio = qdict_get_try_str(c->opts, "aio");
        const char *locking = qdict_get_try_str(c->opts, "locking");
        if ((aio && !bdrv_parse_aio_mode(aio, &flags, errp)) ||
            (locking && !bdrv_parse_locking(locking, &flags, errp))) {
            return false;
        }
        bs->flags = flags;
        return c->drv->open(bs, filename, flags, errp);
    }
    return c->drv->open(bs, bs->file ? bs->file->filename : "", flags, errp);
}

static BlockDriverState *open_node(OpenCtx *c, int flags, GError **errp)
{
    const char *file_key = child_key(c, BOPT_CHILD_FILE);
    const char *backing_key = child_key(c, BOPT_CHILD_BACKING);
    BlockDriverState *file = NULL, *backing = NULL, *bs;
    const char *filename = qdict_get_try_str(c->opts, "filename");

    if ((file_key && !open_child(c, file_key, &file, errp)) ||
        !check_child_writable(c, file, errp) ||
        (backing_key && !open_child(c, backing_key, &backing, errp))) {
        bdrv_unref(file);
        return NULL;
    }
    /* "backing" given (a node or null): the image's own backing file
     * name is not followed. */
    if (backing_key && qdict_haskey(c->opts, backing_key)) {
        flags |= BDRV_O_NO_BACKING;
    }
    bs = bdrv_new(c->drv, file ? file->filename : filename,
                  flags & ~BDRV_O_NO_BACKING);
    bs->file = file;
    if (!driver_open(c, bs, flags, errp)) {
        bdrv_unref(bs);             /* closes the driver, drops the file */
        bdrv_unref(backing);
        return NULL;
    }
    if (backing) {
        bdrv_unref(bs->backing);
        bs->backing = backing;
    }
    return bs;
}

/* @parent: the parent's context (its flags are set), or one made up
 * by the caller for the root (root_flags, the defaults in flags). */
static BlockDriverState *open_dict(QDict *opts, OpenCtx *parent,
                                   const char *prefix, bool parent_read_only,
                                   GError **errp)
{
    OpenCtx c = { .prefix = prefix, .opts = opts,
                  .parent_read_only = parent_read_only,
                  .parent_flags = parent->flags & INHERITED_FLAGS,
                  .root_flags = parent->drv ? 0 : parent->root_flags,
                  .legacy = parent->legacy };
    const char *name;
    BlockDriverState *bs;
    GError *err = NULL;

    if (!find_driver(&c, errp) || !check_keys(&c, errp) ||
        !parse_generic(&c, errp)) {
        return NULL;
    }
    bs = open_node(&c, c.flags, &err);
    /* auto-read-only: a protocol node that cannot be opened for writing
     * opens read-only instead (QEMU's rule for read-only images). */
    if (!bs && c.auto_read_only && c.drv->is_protocol &&
        (c.flags & BDRV_O_RDWR)) {
        int e = bdrv_error_errno(err);
        if (e == EACCES || e == EROFS || e == EPERM) {
            g_clear_error(&err);
            bs = open_node(&c, c.flags & ~BDRV_O_RDWR, &err);
        }
    }
    if (!bs) {
        g_propagate_error(errp, err);
        return NULL;
    }
    name = qdict_get_try_str(opts, "node-name");
    /* A nested child may have taken the name meanwhile. */
    if (name && bdrv_find_node(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        bdrv_unref(bs);
        return NULL;
    }
    if (name) {
        g_free(bs->node_name);
        bs->node_name = g_strdup(name);
    }
    return bs;
}

/* The root's made-up parent: the caller's flags as defaults. */
static BlockDriverState *open_root(QDict *opts, int flags, bool legacy,
                                   GError **errp)
{
    OpenCtx parent = { .flags = flags & INHERITED_FLAGS,
                       .root_flags = flags & ROOT_FLAGS,
                       .legacy = legacy };

    return open_dict(opts, &parent, "", !(flags & BDRV_O_RDWR), errp);
}

BlockDriverState *bdrv_open_options(QDict *opts, GError **errp)
{
    return bdrv_open_options_flags(opts, BDRV_O_RDWR, errp);
}

BlockDriverState *bdrv_open_options_flags(QDict *opts, int flags,
                                          GError **errp)
{
    BlockDriverState *bs;
    GError *err = NULL;

    /* the whole graph is open before anything locks */
    bdrv_perm_hold();
    bs = open_root(opts, flags, false, errp);
    if (!bdrv_perm_release(bs ? &err : NULL) && bs) {
        g_propagate_error(errp, err);
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

/* ---- Dotted keys and nested dictionaries ------------------------------- */

/* Nested dictionaries become dotted keys; other values stay as they are. */
static void flatten_into(QDict *flat, const char *prefix, QDict *nested)
{
    for (const QDictEntry *e = qdict_first(nested); e;
         e = qdict_next(nested, e)) {
        QObject *v = qdict_entry_value(e);
        QDict *sub = qobject_to(QDict, v);
        g_autofree char *key = *prefix
            ? g_strdup_printf("%s.%s", prefix, qdict_entry_key(e))
            : g_strdup(qdict_entry_key(e));

        if (sub) {
            flatten_into(flat, key, sub);
        } else {
            qdict_put_obj(flat, key, qobject_ref(v));
        }
    }
}

QDict *bdrv_options_flatten(QDict *nested)
{
    QDict *flat = qdict_new();

    flatten_into(flat, "", nested);
    return flat;
}

/* Set @path (dotted) to @value in @root, making the dicts on the way. */
static bool put_dotted(QDict *root, const char *path, QObject *value,
                       GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    QDict *d = root;
    guint n = g_strv_length(parts);

    /* as deep as JSON may nest: opening recurses on it */
    if (n > JSON_PARSER_DEFAULT_MAX_DEPTH) {
        error_setg(errp, "Parameter '%.32s...' nests deeper than %d levels",
                   path, JSON_PARSER_DEFAULT_MAX_DEPTH);
        return false;
    }
    for (guint i = 0; i + 1 < n; i++) {
        QObject *o = qdict_get(d, parts[i]);
        if (!*parts[i]) {
            error_setg(errp, "Invalid parameter '%s'", path);
            return false;
        }
        if (!o) {
            QDict *sub = qdict_new();
            qdict_put_obj(d, parts[i], QOBJECT(sub));
            d = sub;
        } else if (qobject_to(QDict, o)) {
            d = qobject_to(QDict, o);
        } else {
            g_autoptr(GString) pre = g_string_new(parts[0]);
            for (guint j = 1; j <= i; j++) {
                g_string_append_printf(pre, ".%s", parts[j]);
            }
            error_setg(errp, "Parameter '%s' used inconsistently", pre->str);
            return false;
        }
    }
    if (!*parts[n - 1]) {
        error_setg(errp, "Invalid parameter '%s'", path);
        return false;
    }
    if (qobject_to(QDict, qdict_get(d, parts[n - 1]))) {
        error_setg(errp, "Parameter '%s' used inconsistently", path);
        return false;
    }
    qdict_put_obj(d, parts[n - 1], qobject_ref(value));
    return true;
}

static bool all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* {"0": a, "1": b} becomes [a, b] (QEMU's keyval lists), recursively. */
static QObject *numbered_to_lists(QObject *o, GError **errp)
{
    QDict *d = qobject_to(QDict, o);
    QList *l;
    size_t n;
    bool numeric = true;

    if (!d) {
        qobject_ref(o);
        return o;
    }
    n = qdict_size(d);
    for (const QDictEntry *e = qdict_first(d); e; e = qdict_next(d, e)) {
        numeric = numeric && all_digits(qdict_entry_key(e));
    }
    if (!numeric || !n) {
        QDict *out = qdict_new();
        for (const QDictEntry *e = qdict_first(d); e; e = qdict_next(d, e)) {
            QObject *v = numbered_to_lists(qdict_entry_value(e), errp);
            if (!v) {
                qobject_unref(out);
                return NULL;
            }
            qdict_put_obj(out, qdict_entry_key(e), v);
        }
        return QOBJECT(out);
    }
    l = qlist_new();
    for (size_t i = 0; i < n; i++) {
        g_autofree char *key = g_strdup_printf("%zu", i);
        QObject *v = qdict_get(d, key);
        if (!v) {
            error_setg(errp, "Parameter '%s' missing", key);
            qobject_unref(l);
            return NULL;
        }
        v = numbered_to_lists(v, errp);
        if (!v) {
            qobject_unref(l);
            return NULL;
        }
        qlist_append_obj(l, v);
    }
    return QOBJECT(l);
}

QDict *bdrv_options_crumple(QDict *flat, GError **errp)
{
    QDict *nested = qdict_new();
    QObject *out;

    for (const QDictEntry *e = qdict_first(flat); e; e = qdict_next(flat, e)) {
        if (!put_dotted(nested, qdict_entry_key(e), qdict_entry_value(e),
                        errp)) {
            qobject_unref(nested);
            return NULL;
        }
    }
    out = numbered_to_lists(QOBJECT(nested), errp);
    qobject_unref(nested);
    return out ? qobject_to(QDict, out) : NULL;
}

/* ---- QEMU's bdrv_open() options: --image-opts, json: filenames ---------- */

/* The format in the file child @file (a dictionary or a node name),
 * probed as a filename's is: the child is opened read-only on its own
 * and closed again. */
static bool probe_driver(QDict *opts, int flags, GError **errp)
{
    QObject *file = qdict_get(opts, "file");
    QDict *fopts = qobject_to(QDict, file);
    QString *ref = qobject_to(QString, file);
    BlockDriverState *fbs = NULL;
    const BlockDriver *drv;

    if (fopts) {
        QDict *probe = qdict_clone_shallow(fopts);
        /* Probing reads one sector; it must not fail on another
         * process's write lock that the real open may share. */
        qdict_del(probe, "read-only");
        qdict_del(probe, "force-share");
        fbs = open_root(probe, (flags & ~(BDRV_O_RDWR | ROOT_FLAGS)) |
                        BDRV_O_FORCE_SHARE, true, errp);
        qobject_unref(probe);
    } else if (ref) {
        fbs = bdrv_find_node(qstring_get_str(ref));
        if (!fbs) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       qstring_get_str(ref), qstring_get_str(ref));
        } else {
            bdrv_ref(fbs);
        }
    } else {
        type_error(&(OpenCtx){ .prefix = "" }, "file", "BlockdevRef", errp);
    }
    if (!fbs) {
        return false;
    }
    drv = bdrv_probe_format(fbs, errp);
    bdrv_unref(fbs);
    if (!drv) {
        return false;
    }
    qdict_put_str(opts, "driver", drv->format_name);
    return true;
}

/*
 * QEMU's bdrv_open() lets "driver" out where it can find it: a node
 * with a "filename" and no "file" child is the protocol its name says
 * ("file" for a path), one with a "file" child has its format probed
 * there.  The root must name a driver or a file.  Children first.
 */
static bool fill_drivers(QDict *opts, bool root, int flags, GError **errp)
{
    QDict *file = qobject_to(QDict, qdict_get(opts, "file"));
    QDict *backing = qobject_to(QDict, qdict_get(opts, "backing"));
    const char *filename = qdict_get_try_str(opts, "filename");
    const BlockDriver *drv;

    if ((file && !fill_drivers(file, false, flags, errp)) ||
        (backing && !fill_drivers(backing, false, flags, errp))) {
        return false;
    }
    if (qdict_haskey(opts, "driver")) {
        return true;
    }
    if (qdict_haskey(opts, "file")) {
        return probe_driver(opts, flags, errp);
    }
    if (root) {
        error_setg(errp, "Must specify either driver or file");
        return false;
    }
    if (filename) {
        drv = bdrv_protocol_for_filename(filename, errp);
        if (!drv) {
            return false;
        }
        qdict_put_str(opts, "driver", drv->format_name);
    }
    return true;            /* open_dict says "driver" is missing */
}

BlockDriverState *bdrv_open_image_options(QDict *opts, const char *format,
                                          int flags, GError **errp)
{
    QDict *flat = bdrv_options_flatten(opts);
    QDict *nested = bdrv_options_crumple(flat, errp);
    BlockDriverState *bs = NULL;
    GError *err = NULL;

    qobject_unref(flat);
    if (!nested) {
        return NULL;
    }
    /* -f wins over the options' driver, as in qemu-img 7.2 */
    if (format) {
        qdict_put_str(nested, "driver", format);
    }
    /* the whole graph is open before anything locks */
    bdrv_perm_hold();
    if (fill_drivers(nested, true, flags, errp)) {
        bs = open_root(nested, flags, true, errp);
    }
    if (!bdrv_perm_release(bs ? &err : NULL) && bs) {
        g_propagate_error(errp, err);
        bdrv_unref(bs);
        bs = NULL;
    }
    qobject_unref(nested);
    return bs;
}

/* ---- blockdev-reopen ------------------------------------------------------- */

/*
 * One node's new options, checked (QEMU 7.2's rules and words): the
 * generic keys set the node's flags (omitted: their defaults), "backing"
 * may name another node or null (omitted: unchanged), the other children
 * and the driver's own keys must stay what they are: kvmpc changes no
 * driver option of an open node.
 */
typedef struct ReopenEntry {
    BlockDriverState *bs;
    int flags;                      /* the generic flags wanted */
    bool set_backing;
    BlockDriverState *backing;      /* referenced */
    int old_flags;
    BlockDriverState *old_backing;  /* after commit: referenced */
    bool committed;
} ReopenEntry;

/* Flags blockdev-reopen changes; the rest stay as the node was opened. */
#define REOPEN_FLAGS (BDRV_O_RDWR | BDRV_O_UNMAP | BDRV_O_DETECT_ZEROES | \
                      BDRV_O_DETECT_ZEROES_UNMAP | BDRV_O_NO_FLUSH)

static bool reopen_check_child(OpenCtx *c, BlockDriverState *bs,
                               const char *key, BlockOptionType type,
                               ReopenEntry *e, GError **errp)
{
    QObject *v = qdict_get(c->opts, key);
    QString *ref = qobject_to(QString, v);
    BlockDriverState *child = type == BOPT_CHILD_FILE ? bs->file : bs->backing;
    BlockDriverState *want = NULL;

    if (!v) {
        return true;                /* omitted: unchanged */
    }
    if (qobject_to(QDict, v)) {
        /* QEMU names the first key of the inline definition */
        error_setg(errp, "Cannot change the option '%s.driver'", key);
        return false;
    }
    if (ref) {
        want = bdrv_find_node(qstring_get_str(ref));
        if (!want) {
            error_setg(errp, "Cannot find device='' nor node-name='%s'",
                       qstring_get_str(ref));
            return false;
        }
    }
    if (want == child) {
        return true;
    }
    if (type == BOPT_CHILD_FILE) {
        error_setg(errp, "Cannot change the option '%s'", key);
        return false;
    }
    if (want && bdrv_chain_contains(want, bs)) {
        error_setg(errp, "Making '%s' a backing child of '%s' would create "
                   "a cycle", bdrv_node_name(want), bdrv_node_name(bs));
        return false;
    }
    e->set_backing = true;
    e->backing = want;
    if (want) {
        bdrv_ref(want);
    }
    return true;
}

/* The driver's own keys: only what the node has already ("filename"). */
static bool reopen_check_driver_keys(OpenCtx *c, BlockDriverState *bs,
                                     GError **errp)
{
    for (const QDictEntry *ent = qdict_first(c->opts); ent;
         ent = qdict_next(c->opts, ent)) {
        const char *k = qdict_entry_key(ent);
        const BlockOptionDesc *d = find_desc(c->drv->options, k);

        if (!d || d->type == BOPT_CHILD_FILE ||
            d->type == BOPT_CHILD_BACKING || find_desc(generic_options, k)) {
            continue;
        }
        if (!strcmp(k, "filename") && bs->filename &&
            !g_strcmp0(qdict_get_try_str(c->opts, k), bs->filename)) {
            continue;
        }
        error_setg(errp, "Cannot change the option '%s'", k);
        return false;
    }
    return true;
}

static bool reopen_check(OpenCtx *c, BlockDriverState *bs, ReopenEntry *e,
                         GError **errp);

/* A device writes through @bs (it follows the medium's read-only flag:
 * turning the node read-only under it is refused, as QEMU refuses it). */
static bool has_writing_device(BlockDriverState *bs)
{
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == bs && blk_has_device(blk) &&
            !bdrv_is_read_only(bs)) {
            return true;
        }
    }
    return false;
}

static bool reopen_prepare(QDict *opts, size_t index, ReopenEntry *e,
                           GError **errp)
{
    const char *name = qdict_get_try_str(opts, "node-name");
    OpenCtx c = { .prefix = "" };
    g_autofree char *prefix = NULL;
    BlockDriverState *bs;
    bool ok;

    if (!name) {
        error_setg(errp, "node-name not specified");
        return false;
    }
    bs = bdrv_find_node(name);
    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'", name);
        return false;
    }
    e->bs = bs;
    prefix = g_strdup_printf("options[%zu].", index);
    c.prefix = prefix;
    c.opts = qdict_clone_shallow(opts);
    qdict_del(c.opts, "node-name");
    ok = reopen_check(&c, bs, e, errp);
    qobject_unref(c.opts);
    return ok;
}

static bool reopen_check(OpenCtx *c, BlockDriverState *bs, ReopenEntry *e,
                         GError **errp)
{
    if (!find_driver(c, errp)) {
        return false;
    }
    if (c->drv != bs->drv) {
        error_setg(errp, "Cannot change the option 'driver'");
        return false;
    }
    if (!check_keys(c, errp) || !parse_generic(c, errp) ||
        !reopen_check_driver_keys(c, bs, errp)) {
        return false;
    }
    if ((c->flags ^ bs->flags) & BDRV_O_NOCACHE) {
        error_setg(errp, "Cannot change the option 'cache.direct'");
        return false;
    }
    if ((c->flags ^ bs->flags) & BDRV_O_FORCE_SHARE) {
        error_setg(errp, "Cannot change the option 'force-share'");
        return false;
    }
    for (const BlockOptionDesc *d = c->drv->options; d && d->name; d++) {
        if ((d->type == BOPT_CHILD_FILE || d->type == BOPT_CHILD_BACKING) &&
            !reopen_check_child(c, bs, d->name, d->type, e, errp)) {
            return false;
        }
    }
    e->flags = c->flags & REOPEN_FLAGS;
    if (!(e->flags & BDRV_O_RDWR) && has_writing_device(bs)) {
        error_setg(errp, "Read-only block node '%s' cannot support "
                   "read-write users", bdrv_node_name(bs));
        return false;
    }
    return true;
}

/* Apply one entry (no request in flight); false leaves it as it was. */
static bool reopen_commit(ReopenEntry *e, GError **errp)
{
    BlockDriverState *bs = e->bs;

    e->old_flags = bs->flags;
    if (!bdrv_reopen_rw(bs, e->flags & BDRV_O_RDWR, errp)) {
        return false;
    }
    bs->flags = (bs->flags & ~REOPEN_FLAGS) | e->flags;
    if (e->set_backing) {
        e->old_backing = bs->backing;
        bs->backing = e->backing;
        e->backing = NULL;          /* the node's reference now */
        if (bs->backing) {
            bs->flags &= ~BDRV_O_NO_BACKING;
        }
    }
    e->committed = true;
    return true;
}

static void reopen_undo(ReopenEntry *e)
{
    BlockDriverState *bs = e->bs;

    if (!e->committed) {
        return;
    }
    if (e->set_backing) {
        BlockDriverState *now = bs->backing;

        bs->backing = e->old_backing;
        e->old_backing = now;       /* dropped by reopen_free */
    }
    bdrv_reopen_rw(bs, e->old_flags & BDRV_O_RDWR, NULL);
    bs->flags = e->old_flags;
    e->committed = false;
}

static void reopen_free(ReopenEntry *e)
{
    if (e->backing) {
        bdrv_unref(e->backing);
    }
    if (e->old_backing) {
        bdrv_unref(e->old_backing);
    }
}

bool bdrv_reopen_options_list(QList *list, GError **errp)
{
    size_t n = qlist_size(list), i = 0;
    g_autofree ReopenEntry *ents = g_new0(ReopenEntry, n ? n : 1);
    const QListEntry *le;
    bool ok = true;

    /* Every entry is checked before any changes (all or nothing). */
    QLIST_FOREACH_ENTRY(list, le) {
        QDict *opts = qobject_to(QDict, qlist_entry_obj(le));

        if (!opts) {
            error_setg(errp, "Invalid parameter type for 'options[%zu]', "
                       "expected: object", i);
            ok = false;
            break;
        }
        ok = reopen_prepare(opts, i, &ents[i], errp);
        i++;                        /* reopen_free drops what it took */
        if (!ok) {
            break;
        }
    }
    for (size_t j = 0; ok && j < i; j++) {
        for (size_t k = 0; ok && k < j; k++) {
            if (ents[k].bs == ents[j].bs) {
                error_setg(errp, "Block node '%s' appears more than once",
                           bdrv_node_name(ents[j].bs));
                ok = false;
            }
        }
    }
    if (ok) {
        bdrv_perm_hold();
        for (size_t j = 0; ok && j < i; j++) {
            ok = reopen_commit(&ents[j], errp);
        }
        if (!bdrv_perm_release(ok ? errp : NULL) && ok) {
            ok = false;
        }
        if (!ok) {
            for (size_t j = i; j-- > 0;) {
                reopen_undo(&ents[j]);
            }
            bdrv_refresh_perms(NULL);
        }
    }
    for (size_t j = 0; j < i; j++) {
        reopen_free(&ents[j]);
    }
    return ok;
}
