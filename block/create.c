/*
 * QMP blockdev-create: create an image as a job (job type "create"),
 * QEMU 7.2's BlockdevCreateOptions for the drivers "file" and "qcow2".
 * libvirt creates every external snapshot overlay this way: a file of
 * size 0, blockdev-add of it, then a qcow2 image on that file node.
 *
 * The arguments are checked when the command runs; the image is written
 * when the job runs (on the main loop, after the command returned), so
 * errors in the image itself end the job with its error, as in QEMU.
 * See docs/block.md, "Block jobs".
 */
#include "qemu/osdep.h"
#include "qemu/job.h"
#include "block/block-int.h"
#include "qapi/qapi-commands.h"
#include "qobject/qdict.h"
#include "qobject/qstring.h"
#include "qobject/qnum.h"
#include "qobject/qbool.h"
#include "qemu/fdset.h"
#include <fcntl.h>

typedef enum CreatePrealloc {
    PREALLOC_OFF, PREALLOC_METADATA, PREALLOC_FALLOC, PREALLOC_FULL,
} CreatePrealloc;

typedef struct CreateJob {
    char *driver;
    /* file */
    char *filename;
    CreatePrealloc prealloc;
    /* qcow2 */
    BlockDriverState *file_bs;      /* the file node it is written on */
    GHashTable *opts;               /* bdrv_create's options (owned keys) */
    uint64_t size;
} CreateJob;

static void create_job_free(void *opaque)
{
    CreateJob *c = opaque;

    if (c->file_bs) {
        bdrv_unref(c->file_bs);
    }
    if (c->opts) {
        g_hash_table_unref(c->opts);
    }
    g_free(c->driver);
    g_free(c->filename);
    g_free(c);
}

/* ---- argument reading (the marshaller is hand-written) ------------------ */

static bool arg_unexpected(QDict *d, const char *const *known,
                           const char *prefix, GError **errp)
{
    for (const QDictEntry *e = qdict_first(d); e; e = qdict_next(d, e)) {
        bool ok = false;

        for (unsigned i = 0; known[i]; i++) {
            ok = ok || !strcmp(known[i], e->key);
        }
        if (!ok) {
            error_setg(errp, "Parameter '%s%s' is unexpected", prefix,
                       e->key);
            return true;
        }
    }
    return false;
}

static const char *arg_str(QDict *d, const char *key, bool required,
                           const char *prefix, GError **errp)
{
    QObject *o = qdict_get(d, key);

    if (!o) {
        if (required) {
            error_setg(errp, "Parameter '%s%s' is missing", prefix, key);
        }
        return NULL;
    }
    if (qobject_type(o) != QTYPE_QSTRING) {
        error_setg(errp, "Invalid parameter type for '%s%s', expected: "
                   "string", prefix, key);
        return NULL;
    }
    return qstring_get_str(qobject_to(QString, o));
}

/* An integer argument; false with @errp only when present and wrong. */
static bool arg_int(QDict *d, const char *key, bool required, int64_t def,
                    int64_t *out, const char *prefix, GError **errp)
{
    QObject *o = qdict_get(d, key);

    *out = def;
    if (!o) {
        if (required) {
            error_setg(errp, "Parameter '%s%s' is missing", prefix, key);
            return false;
        }
        return true;
    }
    if (qobject_type(o) != QTYPE_QNUM ||
        !qnum_get_try_int(qobject_to(QNum, o), out) || *out < 0) {
        error_setg(errp, "Invalid parameter type for '%s%s', expected: "
                   "integer", prefix, key);
        return false;
    }
    return true;
}

static bool arg_bool(QDict *d, const char *key, bool def, bool *out,
                     const char *prefix, GError **errp)
{
    QObject *o = qdict_get(d, key);

    *out = def;
    if (!o) {
        return true;
    }
    if (qobject_type(o) != QTYPE_QBOOL) {
        error_setg(errp, "Invalid parameter type for '%s%s', expected: "
                   "boolean", prefix, key);
        return false;
    }
    *out = qbool_get_bool(qobject_to(QBool, o));
    return true;
}

/* An enumeration's value: its index in @names, -1 with @errp. */
static int arg_enum(QDict *d, const char *key, int def,
                    const char *const *names, const char *prefix,
                    GError **errp)
{
    GError *err = NULL;
    const char *v = arg_str(d, key, false, prefix, &err);

    if (err) {
        g_propagate_error(errp, err);
        return -1;
    }
    if (!v) {
        return def;
    }
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], v)) {
            return i;
        }
    }
    error_setg(errp, "Parameter '%s%s' does not accept value '%s'", prefix,
               key, v);
    return -1;
}

static const char *const prealloc_names[] = {
    "off", "metadata", "falloc", "full", NULL,
};

/* ---- driver "file" --------------------------------------------------------- */

static bool create_file_image(CreateJob *c, GError **errp)
{
    int fd;

    if (!bdrv_file_driver.create(c->filename, c->size, NULL, errp)) {
        return false;
    }
    if (c->prealloc == PREALLOC_OFF || !c->size) {
        return true;
    }
    /* falloc and full both leave every block allocated and reading as
     * zeroes (full writes them in QEMU; the content is the same). */
    fd = qemu_open(c->filename, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        error_setg(errp, "Could not open '%s': %s", c->filename,
                   g_strerror(errno));
        return false;
    }
    errno = posix_fallocate(fd, 0, c->size);
    close(fd);
    if (errno) {
        error_setg(errp, "Could not preallocate data for the new file: %s",
                   g_strerror(errno));
        return false;
    }
    return true;
}

static bool parse_file_options(QDict *o, CreateJob *c, GError **errp)
{
    static const char *const known[] = {
        "driver", "filename", "size", "preallocation", "nocow",
        "extent-size-hint", NULL,
    };
    const char *filename;
    int64_t size, hint;
    bool nocow;
    int pa;

    if (arg_unexpected(o, known, "options.", errp)) {
        return false;
    }
    filename = arg_str(o, "filename", true, "options.", errp);
    if (!filename ||
        !arg_int(o, "size", true, 0, &size, "options.", errp) ||
        !arg_bool(o, "nocow", false, &nocow, "options.", errp) ||
        !arg_int(o, "extent-size-hint", false, 0, &hint, "options.", errp)) {
        return false;
    }
    pa = arg_enum(o, "preallocation", PREALLOC_OFF, prealloc_names,
                  "options.", errp);
    if (pa < 0) {
        return false;
    }
    if (pa == PREALLOC_METADATA) {
        error_setg(errp, "Unsupported preallocation mode 'metadata'");
        return false;
    }
    c->filename = g_strdup(filename);
    c->size = size;
    c->prealloc = pa;
    return true;
}

/* ---- driver "qcow2" -------------------------------------------------------- */

static bool create_qcow2_image(CreateJob *c, GError **errp)
{
    const char *filename = bdrv_filename(c->file_bs);

    /* The image is written through its own file description; the open
     * file node then learns the new size, so blockdev-add can read it. */
    return bdrv_create("qcow2", filename, c->size, c->opts, errp) &&
           bdrv_refresh_size(c->file_bs, errp);
}

/* Another node reads the file node as its image: writing a new image
 * under it would corrupt it (QEMU's permission conflict). */
static bool file_node_in_use(BlockDriverState *file, GError **errp)
{
    GPtrArray *nodes = bdrv_all_nodes();

    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);

        if (bdrv_file(bs) == file) {
            error_setg(errp, "Conflicts with use by %s as 'file', which "
                       "does not allow 'write' on %s", bdrv_node_name(bs),
                       bdrv_node_name(file));
            return true;
        }
    }
    return false;
}

/* @file: a node name, or a definition to open for the job. */
static BlockDriverState *qcow2_file_node(QDict *o, GError **errp)
{
    QObject *ref = qdict_get(o, "file");
    BlockDriverState *bs;

    if (!ref) {
        error_setg(errp, "Parameter 'options.file' is missing");
        return NULL;
    }
    if (qobject_type(ref) == QTYPE_QDICT) {
        QDict *def = qdict_clone_shallow(qobject_to(QDict, ref));

        bs = bdrv_open_options(def, errp);
        qobject_unref(def);
    } else if (qobject_type(ref) == QTYPE_QSTRING) {
        const char *name = qstring_get_str(qobject_to(QString, ref));

        bs = bdrv_find_node(name);
        if (!bs) {
            error_setg(errp, "Cannot find device='' nor node-name='%s'",
                       name);
            return NULL;
        }
        bdrv_ref(bs);
    } else {
        error_setg(errp, "Invalid parameter type for 'options.file', "
                   "expected: BlockdevRef");
        return NULL;
    }
    if (!bs) {
        return NULL;
    }
    if (strcmp(bdrv_format_name(bs), "file") || file_node_in_use(bs, errp)) {
        if (strcmp(bdrv_format_name(bs), "file")) {
            error_setg(errp, "kvmpc creates qcow2 images on 'file' nodes "
                       "only (node '%s' is '%s')", bdrv_node_name(bs),
                       bdrv_format_name(bs));
        }
        bdrv_unref(bs);
        return NULL;
    }
    if (bdrv_is_read_only(bs)) {
        error_setg(errp, "Block node is read-only");
        bdrv_unref(bs);
        return NULL;
    }
    return bs;
}

static void opt_set(CreateJob *c, const char *key, char *value)
{
    g_hash_table_insert(c->opts, g_strdup(key), value);
}

/* QEMU's checks of the qcow2 options, in its order and wording. */
static bool check_qcow2_options(int version, int64_t size, int64_t cluster,
                                const char *backing_file,
                                const char *backing_fmt, bool lazy,
                                int64_t refcount_bits, int prealloc,
                                bool extended_l2, GError **errp)
{
    if (size % 512) {
        error_setg(errp, "Image size must be a multiple of 512 bytes");
    } else if (cluster < 512 || cluster > (int64_t)(2 * MiB) ||
               (cluster & (cluster - 1))) {
        error_setg(errp, "Cluster size must be a power of two between 512 "
                   "and 2048k");
    } else if (lazy && version == 0) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
    } else if (refcount_bits > 64 || !refcount_bits ||
               (refcount_bits & (refcount_bits - 1))) {
        error_setg(errp, "Refcount width must be a power of two and may be "
                   "at most 64 bits");
    } else if (version == 0 && refcount_bits != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use version=v3 or "
                   "greater)");
    } else if (backing_fmt && !backing_file) {
        error_setg(errp, "Backing format cannot be used without backing "
                   "file");
    } else if (lazy) {
        error_setg(errp, "Lazy refcounts are not supported by kvmpc");
    } else if (extended_l2) {
        error_setg(errp, "Extended L2 entries are not supported by kvmpc");
    } else if (prealloc != PREALLOC_OFF) {
        error_setg(errp, "Preallocation mode '%s' is not supported by kvmpc "
                   "for qcow2", prealloc_names[prealloc]);
    } else {
        return true;
    }
    return false;
}

static bool parse_qcow2_options(QDict *o, CreateJob *c, GError **errp)
{
    static const char *const known[] = {
        "driver", "file", "size", "version", "backing-file", "backing-fmt",
        "cluster-size", "preallocation", "lazy-refcounts", "refcount-bits",
        "compression-type", "extended-l2", "data-file", "data-file-raw",
        "encrypt", NULL,
    };
    static const char *const versions[] = { "v2", "v3", NULL };
    static const char *const compressions[] = { "zlib", "zstd", NULL };
    const char *backing_file, *backing_fmt;
    int64_t size, cluster, refcount_bits;
    bool lazy, extended_l2;
    int version, prealloc, compression;
    GError *err = NULL;

    if (arg_unexpected(o, known, "options.", errp)) {
        return false;
    }
    if (qdict_haskey(o, "data-file") || qdict_haskey(o, "encrypt")) {
        error_setg(errp, "External data files and encryption are not "
                   "supported by kvmpc");
        return false;
    }
    backing_file = arg_str(o, "backing-file", false, "options.", &err);
    backing_fmt = err ? NULL : arg_str(o, "backing-fmt", false, "options.",
                                       &err);
    if (err) {
        g_propagate_error(errp, err);
        return false;
    }
    if (!arg_int(o, "size", true, 0, &size, "options.", errp) ||
        !arg_int(o, "cluster-size", false, 64 * KiB, &cluster, "options.",
                 errp) ||
        !arg_int(o, "refcount-bits", false, 16, &refcount_bits, "options.",
                 errp) ||
        !arg_bool(o, "lazy-refcounts", false, &lazy, "options.", errp) ||
        !arg_bool(o, "extended-l2", false, &extended_l2, "options.", errp)) {
        return false;
    }
    if ((version = arg_enum(o, "version", 1, versions, "options.",
                            errp)) < 0 ||
        (prealloc = arg_enum(o, "preallocation", PREALLOC_OFF,
                             prealloc_names, "options.", errp)) < 0 ||
        (compression = arg_enum(o, "compression-type", 0, compressions,
                                "options.", errp)) < 0) {
        return false;
    }
    if (!check_qcow2_options(version, size, cluster, backing_file,
                             backing_fmt, lazy, refcount_bits, prealloc,
                             extended_l2, errp)) {
        return false;
    }
    c->size = size;
    c->opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    opt_set(c, "compat", g_strdup(version ? "1.1" : "0.10"));
    opt_set(c, "cluster_size", g_strdup_printf("%" PRId64, cluster));
    if (version) {
        opt_set(c, "refcount_bits", g_strdup_printf("%" PRId64,
                                                    refcount_bits));
        opt_set(c, "compression_type", g_strdup(compressions[compression]));
    } else if (compression) {
        error_setg(errp, "Compression type '%s' requires version 3",
                   compressions[compression]);
        return false;
    }
    if (backing_file) {
        opt_set(c, "backing_file", g_strdup(backing_file));
    }
    if (backing_fmt) {
        opt_set(c, "backing_fmt", g_strdup(backing_fmt));
    }
    c->file_bs = qcow2_file_node(o, errp);
    return c->file_bs != NULL;
}

/* ---- the job and the command ----------------------------------------------- */

static bool create_job_run(Job *job, void *opaque, GError **errp)
{
    CreateJob *c = opaque;

    return !strcmp(c->driver, "file") ? create_file_image(c, errp)
                                      : create_qcow2_image(c, errp);
}

static CreateJob *parse_create_options(QDict *o, GError **errp)
{
    CreateJob *c = g_new0(CreateJob, 1);
    const char *driver = arg_str(o, "driver", true, "options.", errp);
    bool ok = false;

    if (!driver) {
        /* errp is set */
    } else if (!strcmp(driver, "file")) {
        ok = parse_file_options(o, c, errp);
    } else if (!strcmp(driver, "qcow2")) {
        ok = parse_qcow2_options(o, c, errp);
    } else if (bdrv_find_format(driver)) {
        error_setg(errp, "Driver does not support blockdev-create");
    } else {
        error_setg(errp, "Parameter 'options.driver' does not accept value "
                   "'%s'", driver);
    }
    c->driver = g_strdup(driver);
    if (!ok) {
        create_job_free(c);
        return NULL;
    }
    return c;
}

/* Hand-written ('gen': false): the options are a union of dictionaries
 * whose members depend on the driver, checked here. */
void qmp_marshal_blockdev_create(QDict *args, QObject **ret, GError **errp)
{
    static const char *const known[] = { "job-id", "options", NULL };
    QDict *empty = qdict_new();
    QDict *a = args ? args : empty;
    const char *job_id;
    QObject *options;
    CreateJob *c = NULL;

    if (arg_unexpected(a, known, "", errp) ||
        !(job_id = arg_str(a, "job-id", true, "", errp))) {
        goto out;
    }
    options = qdict_get(a, "options");
    if (!options) {
        error_setg(errp, "Parameter 'options' is missing");
        goto out;
    }
    if (qobject_type(options) != QTYPE_QDICT) {
        error_setg(errp, "Invalid parameter type for 'options', expected: "
                   "object");
        goto out;
    }
    c = parse_create_options(qobject_to(QDict, options), errp);
    if (!c) {
        goto out;
    }
    if (!job_start(job_id, JOB_TYPE_CREATE, create_job_run, c,
                   create_job_free, errp)) {
        create_job_free(c);
        goto out;
    }
    *ret = QOBJECT(qdict_new());
out:
    qobject_unref(empty);
}
