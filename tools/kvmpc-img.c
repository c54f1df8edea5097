/*
 * kvmpc-img: disk image tool with qemu-img's command line (create, info,
 * check, convert, map, resize, snapshot, commit, rebase, compare, measure,
 * amend, dd, bench), on kvmpc's block layer.  docs/kvmpc-img.md is
 * the reference.  Every failure is one line, "kvmpc-img: <what>", and a
 * non-zero exit status.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "qapi/qapi-commands.h"
#include "qemu/keyval.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "system/blockdev.h"
#include "system/object.h"

#include <getopt.h>
#include <sys/stat.h>
#include <math.h>
#include <time.h>

static const char *prog = "kvmpc-img";

/* The exit status of a failure: 1, but 2 for compare, whose 1 means the
 * images differ (as qemu-img). */
static int die_status = 1;

static G_NORETURN G_GNUC_PRINTF(1, 2) void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(die_status);
}

static G_NORETURN void die_err(GError *err)
{
    die("%s", err->message);
}

/* ---- helpers --------------------------------------------------------- */

/* "1 GiB", "196 KiB", "1.5 MiB": qemu-img's human sizes. */
static char *size_to_str(uint64_t v)
{
    static const char *const sfx[] = { "B", "KiB", "MiB", "GiB", "TiB",
                                       "PiB", "EiB" };
    int e, i;

    frexp(v / (1000.0 / 1024.0), &e);
    i = (e - 1) / 10;
    i = MAX(0, MIN(i, 6));
    return g_strdup_printf("%0.3g %s", (double)v / (double)(1ULL << (i * 10)),
                           sfx[i]);
}

static void json_str(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (; *s; s++) {
        unsigned char c = *s;

        if (c == '"' || c == '\\') {
            g_string_append_printf(out, "\\%c", c);
        } else if (c < 0x20) {
            g_string_append_printf(out, "\\u%04x", c);
        } else {
            g_string_append_c(out, c);
        }
    }
    g_string_append_c(out, '"');
}

static GHashTable *parse_o(GHashTable *opts, const char *arg)
{
    char **kv = g_strsplit(arg, ",", -1);

    for (char **p = kv; *p; p++) {
        char *eq = strchr(*p, '=');

        if (!**p) {
            continue;
        }
        if (!eq) {
            die("invalid option '%s' in -o (expected name=value)", *p);
        }
        g_hash_table_insert(opts, g_strndup(*p, eq - *p), g_strdup(eq + 1));
    }
    g_strfreev(kv);
    return opts;
}

static GHashTable *new_opts(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

/* -U / --force-share: read images other processes have open for
 * writing (it applies to what is opened read-only, as in qemu-img). */
static bool force_share;

/* --image-opts: the subcommand's image arguments are option strings
 * (driver=qcow2,file.filename=x); --target-image-opts: convert's
 * destination is (docs/kvmpc-img.md). */
static bool image_opts, target_image_opts;

/* Our own permissions on an image: read, write when writing; others may
 * do anything the image's format allows (docs/block.md), as qemu-img. */
static bool set_tool_perm(BlockDriverState *bs, bool rw, GError **errp)
{
    if (!bdrv_set_user_perm(bs, BLK_PERM_CONSISTENT_READ |
                                (rw ? BLK_PERM_WRITE : 0),
                            BLK_PERM_ALL, errp)) {
        bdrv_unref(bs);
        return false;
    }
    return true;
}

/* open_image, but failing with an error rather than exiting. */
static BlockDriverState *try_open_image(const char *file, const char *fmt,
                                        int flags, GError **errp)
{
    BlockDriverState *bs;
    bool rw = flags & BDRV_O_RDWR;

    if (force_share && !rw) {
        flags |= BDRV_O_FORCE_SHARE;
    }
    /* Like qemu-img, discards and zero writes may punch holes. */
    bs = bdrv_open(file, fmt, flags | BDRV_O_UNMAP, errp);
    return bs && set_tool_perm(bs, rw, errp) ? bs : NULL;
}

static BlockDriverState *open_image(const char *file, const char *fmt,
                                    int flags)
{
    GError *err = NULL;
    BlockDriverState *bs = try_open_image(file, fmt, flags, &err);

    if (!bs) {
        die_err(err);
    }
    return bs;
}

/* Is @key absent or on (keyval text, or JSON's true)? */
static bool options_say_on(QDict *opts, const char *key)
{
    QObject *v = qdict_get(opts, key);

    return !v || (qobject_to(QBool, v) && qbool_get_bool(qobject_to(QBool, v)))
           || !g_strcmp0(qdict_get_try_str(opts, key), "on");
}

/* An image given as an option string, opened as qemu-img's
 * --image-opts does: through the options path -blockdev takes, with
 * QEMU's bdrv_open() defaults (the format probed when "driver" is left
 * out); the tool's flags are the defaults of the generic keys. */
static BlockDriverState *open_image_opts(const char *optstr, int flags)
{
    GError *err = NULL;
    QDict *opts = blockdev_parse_spec(optstr, &err);
    BlockDriverState *bs = NULL;
    bool rw = flags & BDRV_O_RDWR;

    if (opts && force_share && !rw) {
        if (!options_say_on(opts, "force-share")) {
            die("--force-share/-U conflicts with image options");
        }
        flags |= BDRV_O_FORCE_SHARE;
    }
    if (opts) {
        bs = bdrv_open_image_options(opts, NULL, flags | BDRV_O_UNMAP, &err);
        qobject_unref(opts);
    }
    if (!bs || !set_tool_perm(bs, rw, &err)) {
        die("Could not open '%s': %s", optstr, err->message);
    }
    return bs;
}

/* One of the subcommand's image arguments: a filename, or an option
 * string with --image-opts (which -f cannot go with, as in qemu-img). */
static BlockDriverState *open_arg_image(const char *arg, const char *fmt,
                                        int flags)
{
    if (!image_opts) {
        return open_image(arg, fmt, flags);
    }
    if (fmt) {
        die("--image-opts and --format are mutually exclusive");
    }
    return open_image_opts(arg, flags);
}

/* Do two paths name the same file? */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static uint64_t parse_size_arg(const char *s)
{
    uint64_t v;
    GError *err = NULL;

    if (!parse_size(s, 1, &v, &err)) {
        die("invalid size '%s': %s", s, err->message);
    }
    return v;
}

static bool is_zero(const uint8_t *p, size_t len)
{
    const uint64_t *q = (const uint64_t *)p;
    size_t i;

    /* Buffers here are 8-byte aligned and sized in 512-byte units. */
    for (i = 0; i + 4 <= len / 8; i += 4) {
        if (q[i] | q[i + 1] | q[i + 2] | q[i + 3]) {
            return false;
        }
    }
    for (i *= 8; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

enum { OPT_OUTPUT = 256, OPT_BACKING_CHAIN };

static const char *output_format(const char *arg)
{
    if (strcmp(arg, "human") && strcmp(arg, "json")) {
        die("--output must be 'human' or 'json'");
    }
    return arg;
}

/* ---- create ---------------------------------------------------------- */

static void print_formatting(const char *file, const char *fmt,
                             GHashTable *opts, uint64_t size)
{
    GString *line = g_string_new(NULL);
    GList *keys = g_list_sort(g_hash_table_get_keys(opts),
                              (GCompareFunc)strcmp);

    g_string_printf(line, "Formatting '%s', fmt=%s", file, fmt);
    for (GList *k = keys; k; k = k->next) {
        g_string_append_printf(line, " %s=%s", (char *)k->data,
                               (char *)g_hash_table_lookup(opts, k->data));
    }
    g_string_append_printf(line, " size=%" PRIu64, size);
    puts(line->str);
    g_list_free(keys);
    g_string_free(line, true);
}

static int img_create(int argc, char **argv)
{
    const char *fmt = "raw", *file;
    GHashTable *opts = new_opts();
    bool quiet = false, unsafe = false, have_size;
    uint64_t size = 0;
    GError *err = NULL;
    int c;

    while ((c = getopt(argc, argv, "hf:o:b:F:uq")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o': parse_o(opts, optarg); break;
        case 'b': g_hash_table_insert(opts, g_strdup("backing_file"),
                                      g_strdup(optarg)); break;
        case 'F': g_hash_table_insert(opts, g_strdup("backing_fmt"),
                                      g_strdup(optarg)); break;
        case 'u': unsafe = true; break;
        case 'q': quiet = true; break;
        default: die("usage: create [-f fmt] [-o opts] [-b backing] "
                     "[-F backing_fmt] [-u] [-q] filename [size]");
        }
    }
    if (optind >= argc) {
        die("create: expecting a filename");
    }
    file = argv[optind];
    have_size = optind + 1 < argc;
    if (have_size) {
        size = parse_size_arg(argv[optind + 1]);
    }
    const char *backing = g_hash_table_lookup(opts, "backing_file");
    if (backing && !unsafe) {
        /* The backing file must open; it also gives the default size. */
        char *path = bdrv_backing_path(file, backing);
        BlockDriverState *b = open_image(path, g_hash_table_lookup(opts,
                                         "backing_fmt"), BDRV_O_NO_BACKING);

        if (!g_hash_table_lookup(opts, "backing_fmt")) {
            g_hash_table_insert(opts, g_strdup("backing_fmt"),
                                g_strdup(bdrv_format_name(b)));
        }
        if (!have_size) {
            size = bdrv_getlength(b);
            have_size = true;
        }
        bdrv_unref(b);
        g_free(path);
    }
    if (!have_size) {
        die("create: image size is missing for '%s'", file);
    }
    if (!quiet) {
        print_formatting(file, fmt, opts, size);
    }
    if (!bdrv_create(fmt, file, size, opts, &err)) {
        die_err(err);
    }
    g_hash_table_unref(opts);
    return 0;
}

/* ---- info ------------------------------------------------------------ */

/* The snapshot table, in qemu-img's layout (info and snapshot -l). */
static void print_snapshots(const BlockImageInfo *info)
{
    if (info->snapshots && info->snapshots->len) {
        printf("Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG",
               "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
        for (guint i = 0; i < info->snapshots->len; i++) {
            BlockSnapshotInfo *sn = info->snapshots->pdata[i];
            char *vm = size_to_str(sn->vm_state_size), date[32], icount[32];
            time_t t = sn->date_sec;
            struct tm tm;
            uint64_t ms = sn->vm_clock_nsec / 1000000;

            localtime_r(&t, &tm);
            strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
            snprintf(icount, sizeof(icount), "%" PRIu64,
                     sn->has_icount ? sn->icount : 0);
            printf("%-9s %-16s %8s %19s %02" PRIu64 ":%02" PRIu64 ":%02"
                   PRIu64 ".%03" PRIu64 " %10s\n", sn->id, sn->name, vm,
                   date, ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                   ms % 1000, sn->has_icount ? icount : "");
            g_free(vm);
        }
    }
}

/* qemu-img info's "bitmaps:" list (qcow2), in-use before auto. */
static void print_bitmaps_human(const BlockImageInfo *info)
{
    if (!info->bitmaps || !info->bitmaps->len) {
        return;
    }
    printf("    bitmaps:\n");
    for (guint i = 0; i < info->bitmaps->len; i++) {
        BlockBitmapInfo *b = info->bitmaps->pdata[i];
        int n = 0;

        printf("        [%u]:\n            flags:\n", i);
        if (b->in_use) {
            printf("                [%d]: in-use\n", n++);
        }
        if (b->auto_) {
            printf("                [%d]: auto\n", n++);
        }
        printf("            name: %s\n            granularity: %u\n",
               b->name, b->granularity);
    }
}

static void print_bitmaps_json(const BlockImageInfo *info, GString *o)
{
    if (!info->bitmaps || !info->bitmaps->len) {
        return;
    }
    g_string_append(o, "            \"bitmaps\": [\n");
    for (guint i = 0; i < info->bitmaps->len; i++) {
        BlockBitmapInfo *b = info->bitmaps->pdata[i];

        g_string_append(o, "                {\n"
                           "                    \"flags\": [\n");
        if (b->in_use) {
            g_string_append_printf(o, "                        \"in-use\"%s\n",
                                   b->auto_ ? "," : "");
        }
        if (b->auto_) {
            g_string_append(o, "                        \"auto\"\n");
        }
        g_string_append(o, "                    ],\n"
                           "                    \"name\": ");
        json_str(o, b->name);
        g_string_append_printf(o, ",\n                    \"granularity\": "
                               "%u\n                }%s\n", b->granularity,
                               i + 1 < info->bitmaps->len ? "," : "");
    }
    g_string_append(o, "            ],\n");
}

static void info_human(BlockDriverState *bs, const BlockImageInfo *info)
{
    int64_t disk = bdrv_allocated_size(bs);
    char *vs = size_to_str(bdrv_getlength(bs));

    printf("image: %s\nfile format: %s\n", bdrv_filename(bs),
           bdrv_format_name(bs));
    printf("virtual size: %s (%" PRIu64 " bytes)\n", vs, bdrv_getlength(bs));
    g_free(vs);
    if (disk >= 0) {
        char *ds = size_to_str(disk);

        printf("disk size: %s\n", ds);
        g_free(ds);
    }
    if (info->cluster_size) {
        printf("cluster_size: %u\n", info->cluster_size);
    }
    if (info->backing_file) {
        printf("backing file: %s\n", info->backing_file);
        if (info->backing_fmt) {
            printf("backing file format: %s\n", info->backing_fmt);
        }
    }
    print_snapshots(info);
    if (info->has_format_specific) {
        printf("Format specific information:\n"
               "    compat: %s\n", info->compat);
        if (strcmp(info->compat, "0.10")) {
            printf("    compression type: %s\n"
                   "    lazy refcounts: %s\n", info->compression_type,
                   info->lazy_refcounts ? "true" : "false");
            print_bitmaps_human(info);
            printf("    refcount bits: %u\n"
                   "    corrupt: %s\n"
                   "    extended l2: %s\n",
                   info->refcount_bits, info->corrupt ? "true" : "false",
                   info->extended_l2 ? "true" : "false");
        } else {
            printf("    compression type: %s\n"
                   "    refcount bits: %u\n", info->compression_type,
                   info->refcount_bits);
        }
    }
}

static void info_json(BlockDriverState *bs, const BlockImageInfo *info,
                      GString *o)
{
    int64_t disk = bdrv_allocated_size(bs);
    const char *b = info->backing_file;

    g_string_append(o, "{\n");
    if (info->snapshots && info->snapshots->len) {
        g_string_append(o, "    \"snapshots\": [\n");
        for (guint i = 0; i < info->snapshots->len; i++) {
            BlockSnapshotInfo *sn = info->snapshots->pdata[i];

            g_string_append(o, "        {\n");
            if (sn->has_icount) {
                g_string_append_printf(o, "            \"icount\": %" PRIu64
                                       ",\n", sn->icount);
            }
            g_string_append_printf(o,
                "            \"vm-clock-nsec\": %" PRIu64 ",\n"
                "            \"name\": ", sn->vm_clock_nsec % 1000000000);
            json_str(o, sn->name);
            g_string_append_printf(o, ",\n"
                "            \"date-sec\": %" PRIu64 ",\n"
                "            \"date-nsec\": %" PRIu64 ",\n"
                "            \"vm-clock-sec\": %" PRIu64 ",\n"
                "            \"id\": ", sn->date_sec, sn->date_nsec,
                sn->vm_clock_nsec / 1000000000);
            json_str(o, sn->id);
            g_string_append_printf(o, ",\n            \"vm-state-size\": %"
                                   PRIu64 "\n        }%s\n",
                                   sn->vm_state_size,
                                   i + 1 < info->snapshots->len ? "," : "");
        }
        g_string_append(o, "    ],\n");
    }
    if (b && info->backing_fmt) {
        g_string_append(o, "    \"backing-filename-format\": ");
        json_str(o, info->backing_fmt);
        g_string_append(o, ",\n");
    }
    g_string_append_printf(o, "    \"virtual-size\": %" PRIu64 ",\n"
                           "    \"filename\": ", bdrv_getlength(bs));
    json_str(o, bdrv_filename(bs));
    g_string_append(o, ",\n");
    if (info->cluster_size) {
        g_string_append_printf(o, "    \"cluster-size\": %u,\n",
                               info->cluster_size);
    }
    g_string_append(o, "    \"format\": ");
    json_str(o, bdrv_format_name(bs));
    g_string_append(o, ",\n");
    if (disk >= 0) {
        g_string_append_printf(o, "    \"actual-size\": %" PRId64 ",\n", disk);
    }
    if (info->has_format_specific) {
        g_string_append_printf(o, "    \"format-specific\": {\n"
            "        \"type\": \"qcow2\",\n        \"data\": {\n"
            "            \"compat\": \"%s\",\n"
            "            \"compression-type\": \"%s\",\n", info->compat,
            info->compression_type);
        if (strcmp(info->compat, "0.10")) {
            g_string_append_printf(o, "            \"lazy-refcounts\": %s,\n",
                info->lazy_refcounts ? "true" : "false");
            print_bitmaps_json(info, o);
            g_string_append_printf(o,
                "            \"refcount-bits\": %u,\n"
                "            \"corrupt\": %s,\n"
                "            \"extended-l2\": %s\n",
                info->refcount_bits,
                info->corrupt ? "true" : "false",
                info->extended_l2 ? "true" : "false");
        } else {
            g_string_append_printf(o, "            \"refcount-bits\": %u\n",
                                   info->refcount_bits);
        }
        g_string_append(o, "        }\n    },\n");
    }
    if (b) {
        char *full = bdrv_backing_path(bdrv_filename(bs), b);

        g_string_append(o, "    \"full-backing-filename\": ");
        json_str(o, full);
        g_string_append(o, ",\n    \"backing-filename\": ");
        json_str(o, b);
        g_string_append(o, ",\n");
        g_free(full);
    }
    g_string_append_printf(o, "    \"dirty-flag\": %s\n}",
                           info->dirty ? "true" : "false");
}

static int img_info(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *output = "human";
    bool chain = false;
    GString *json = g_string_new(NULL);
    BlockDriverState *top, *bs;
    int c;

    while ((c = getopt_long(argc, argv, "hf:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': force_share = true; break;
        case OPT_OUTPUT: output = output_format(optarg); break;
        case OPT_BACKING_CHAIN: chain = true; break;
        default: die("usage: info [-f fmt] [--output=human|json] "
                     "[--backing-chain] [-U] filename");
        }
    }
    if (optind >= argc) {
        die("info: expecting a filename");
    }
    /* The chain is opened only to be listed; info never needs it
     * otherwise (qemu-img shows a broken chain's top image too). */
    top = open_arg_image(argv[optind], fmt, chain ? 0 : BDRV_O_NO_BACKING);
    if (chain && !strcmp(output, "json")) {
        g_string_append(json, "[\n");
    }
    for (bs = top; bs; bs = chain ? bdrv_backing(bs) : NULL) {
        BlockImageInfo info;
        GError *err = NULL;

        if (!bdrv_get_info(bs, &info, &err)) {
            die_err(err);
        }
        if (!strcmp(output, "json")) {
            info_json(bs, &info, json);
            g_string_append(json, chain && bdrv_backing(bs) ? ",\n" : "\n");
        } else {
            if (bs != top) {
                puts("");
            }
            info_human(bs, &info);
        }
        bdrv_image_info_clear(&info);
    }
    if (chain && !strcmp(output, "json")) {
        g_string_append(json, "]\n");
    }
    fputs(json->str, stdout);
    g_string_free(json, true);
    bdrv_unref(top);
    return 0;
}

/* ---- check ----------------------------------------------------------- */

static void check_human(const BlockCheckResult *r)
{
    if (!r->corruptions && !r->leaks && !r->check_errors) {
        printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            printf("\n%" PRIu64 " errors were found on the image.\n"
                   "Data may be corrupted, or further writes to the image "
                   "may corrupt it.\n", r->corruptions);
        }
        if (r->leaks) {
            printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
                   "This means waste of disk space, but no harm to data.\n",
                   r->leaks);
        }
        if (r->check_errors) {
            printf("\n%" PRIu64 " internal errors have occurred during the "
                   "check.\n", r->check_errors);
        }
    }
    if (r->total_clusters && r->allocated_clusters) {
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% "
               "fragmented, %0.2f%% compressed clusters\n",
               r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters,
               r->fragmented_clusters * 100.0 / r->allocated_clusters,
               r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset) {
        printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
    }
}

static void check_json(BlockDriverState *bs, const BlockCheckResult *r)
{
    GString *o = g_string_new("{\n");

    g_string_append_printf(o, "    \"image-end-offset\": %" PRIu64 ",\n"
        "    \"total-clusters\": %" PRIu64 ",\n"
        "    \"check-errors\": %" PRIu64 ",\n", r->image_end_offset,
        r->total_clusters, r->check_errors);
    if (r->leaks) {
        g_string_append_printf(o, "    \"leaks\": %" PRIu64 ",\n", r->leaks);
    }
    if (r->corruptions) {
        g_string_append_printf(o, "    \"corruptions\": %" PRIu64 ",\n",
                               r->corruptions);
    }
    if (r->leaks_fixed) {
        g_string_append_printf(o, "    \"leaks-fixed\": %" PRIu64 ",\n",
                               r->leaks_fixed);
    }
    if (r->corruptions_fixed) {
        g_string_append_printf(o, "    \"corruptions-fixed\": %" PRIu64 ",\n",
                               r->corruptions_fixed);
    }
    g_string_append_printf(o, "    \"allocated-clusters\": %" PRIu64 ",\n"
        "    \"fragmented-clusters\": %" PRIu64 ",\n"
        "    \"compressed-clusters\": %" PRIu64 ",\n    \"filename\": ",
        r->allocated_clusters, r->fragmented_clusters,
        r->compressed_clusters);
    json_str(o, bdrv_filename(bs));
    g_string_append(o, ",\n    \"format\": ");
    json_str(o, bdrv_format_name(bs));
    g_string_append(o, "\n}\n");
    fputs(o->str, stdout);
    g_string_free(o, true);
}

static bool run_check(BlockDriverState *bs, int fix, BlockCheckResult *r,
                      bool quiet)
{
    GError *err = NULL;

    memset(r, 0, sizeof(*r));
    r->log = g_string_new(NULL);
    if (!bdrv_check(bs, r, fix, &err)) {
        fprintf(stderr, "%s: %s\n", prog, err->message);
        g_error_free(err);
        g_string_free(r->log, true);
        return false;
    }
    if (!quiet) {
        fputs(r->log->str, stderr);
    }
    g_string_free(r->log, true);
    r->log = NULL;
    return true;
}

static int img_check(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "repair", required_argument, NULL, 'r' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *output = "human";
    int fix = 0, c;
    bool quiet = false;
    BlockCheckResult r;
    BlockDriverState *bs;

    while ((c = getopt_long(argc, argv, "hf:r:qU", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'U': force_share = true; break;
        case OPT_OUTPUT: output = output_format(optarg); break;
        case 'r':
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                die("unknown option value for -r (expecting 'leaks' or "
                    "'all'): %s", optarg);
            }
            break;
        default: die("usage: check [-f fmt] [--output=human|json] "
                     "[-r leaks|all] [-q] filename");
        }
    }
    if (optind >= argc) {
        die("check: expecting a filename");
    }
    bs = open_arg_image(argv[optind], fmt, BDRV_O_CHECK | BDRV_O_NO_BACKING |
                    (fix ? BDRV_O_RDWR : 0));
    if (!run_check(bs, fix, &r, quiet)) {
        bdrv_unref(bs);
        return 1;
    }
    if (fix && (r.leaks_fixed || r.corruptions_fixed)) {
        if (!strcmp(output, "human") && !quiet) {
            printf("The following inconsistencies were found and repaired:"
                   "\n\n    %" PRIu64 " leaked clusters\n    %" PRIu64
                   " corruptions\n\nDouble checking the fixed image now...\n",
                   r.leaks_fixed, r.corruptions_fixed);
        }
        if (!run_check(bs, 0, &r, quiet)) {
            bdrv_unref(bs);
            return 1;
        }
    }
    if (!quiet || !strcmp(output, "json")) {
        if (!strcmp(output, "json")) {
            check_json(bs, &r);
        } else {
            check_human(&r);
        }
    }
    bdrv_unref(bs);
    if (r.check_errors) {
        return 1;
    }
    return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

/* ---- convert --------------------------------------------------------- */

/*
 * Convert keeps several requests in flight, as qemu-img does: each slot
 * reads a chunk of the source asynchronously, and its completion (on the
 * main context, this thread) issues the chunk's data writes
 * asynchronously.  The qcow2 driver writes new clusters' data outside
 * its lock, so the slots' writes overlap on the worker threads.
 */
#define CONVERT_SLOTS_DEFAULT 8     /* qemu-img's default for -m */
#define CONVERT_SLOTS_MAX 16        /* qemu-img's limit for -m */

struct Convert;

typedef struct ConvertSlot {
    struct Convert *cv;
    uint8_t *buf;
    uint64_t off, len;
    int pending;        /* requests of this slot not yet completed */
} ConvertSlot;

typedef struct Convert {
    BlockDriverState *src, *dst;
    uint64_t size, chunk, granule;
    bool compress, progress, fresh;
    ConvertSlot *slots;
    int nslots;         /* -m: requests in flight */
    GError *err;        /* the first failed asynchronous request */
} Convert;

static void show_progress(Convert *cv, uint64_t pos)
{
    if (cv->progress) {
        printf("    (%.2f/100%%)\r", cv->size ? pos * 100.0 / cv->size
                                              : 100.0);
        fflush(stdout);
    }
}

static void request_done(ConvertSlot *slot, GError *err)
{
    if (err && !slot->cv->err) {
        slot->cv->err = g_error_copy(err);
    }
    slot->pending--;
}

static void write_done(void *opaque, GError *err)
{
    request_done(opaque, err);
}

/* Write one run of data: compressed writes stay synchronous (the driver
 * packs them one after another), plain ones go asynchronous. */
static void convert_write(ConvertSlot *slot, uint64_t pos, uint64_t run)
{
    Convert *cv = slot->cv;
    GError *err = NULL;

    if (cv->compress) {
        if (!bdrv_pwrite_compressed(cv->dst, slot->off + pos, run,
                                    slot->buf + pos, &err)) {
            die_err(err);
        }
        return;
    }
    slot->pending++;
    bdrv_aio_pwrite(cv->dst, slot->off + pos, run, slot->buf + pos,
                    write_done, slot);
}

/* Write the data part of the slot's chunk, skipping granules of zeroes
 * (the target reads zeroes there already). */
static void convert_data(ConvertSlot *slot)
{
    Convert *cv = slot->cv;
    uint64_t off = slot->off, len = slot->len, pos = 0;
    GError *err = NULL;

    while (pos < len) {
        uint64_t n = MIN(cv->granule - (off + pos) % cv->granule, len - pos);
        uint64_t run = 0;
        bool zero = is_zero(slot->buf + pos, n);

        /* Extend the run over granules of the same kind. */
        while (pos + run + n <= len && n) {
            run += n;
            if (pos + run >= len) {
                break;
            }
            n = MIN(cv->granule, len - pos - run);
            if (is_zero(slot->buf + pos + run, n) != zero) {
                break;
            }
        }
        if (zero && !cv->fresh &&
            !bdrv_pwrite_zeroes(cv->dst, off + pos, run, BDRV_REQ_MAY_UNMAP,
                                &err)) {
            die_err(err);
        } else if (!zero) {
            convert_write(slot, pos, run);
        }
        pos += run;
    }
}

static void read_done(void *opaque, GError *err)
{
    ConvertSlot *slot = opaque;

    if (!err && !slot->cv->err) {
        convert_data(slot);
    }
    request_done(slot, err);
}

static void check_async_error(Convert *cv)
{
    if (cv->err) {
        die_err(cv->err);
    }
}

/* A slot with nothing in flight, waiting for completions if need be. */
static ConvertSlot *free_slot(Convert *cv)
{
    for (;;) {
        check_async_error(cv);
        for (int i = 0; i < cv->nslots; i++) {
            if (!cv->slots[i].pending) {
                return &cv->slots[i];
            }
        }
        g_main_context_iteration(NULL, TRUE);
    }
}

static void convert_drain(Convert *cv)
{
    for (int i = 0; i < cv->nslots; i++) {
        while (cv->slots[i].pending) {
            g_main_context_iteration(NULL, TRUE);
        }
    }
    check_async_error(cv);
}

static int parse_slots(const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);

    if (*end || end == arg || n < 1 || n > CONVERT_SLOTS_MAX) {
        die("convert: -m takes 1 to %d requests in flight, not '%s'",
            CONVERT_SLOTS_MAX, arg);
    }
    return n;
}

static void convert_run(Convert *cv)
{
    GError *err = NULL;
    uint64_t off = 0;

    while (off < cv->size) {
        uint64_t n = MIN(cv->chunk - off % cv->chunk, cv->size - off);
        uint64_t pnum, map;
        BlockDriverState *file;
        ConvertSlot *slot;
        int depth;
        int st = bdrv_block_status_above(cv->src, off, n, &pnum, &map, &file,
                                         &depth, &err);

        if (st < 0) {
            die_err(err);
        }
        /* Compressed writes take whole clusters: read the chunk whole
         * unless it is all zero, and let zero detection do the rest. */
        if (!cv->compress || pnum >= n) {
            n = MIN(n, pnum);
        } else {
            st = BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
        }
        if ((st & BDRV_BLOCK_ZERO) || !(st & BDRV_BLOCK_ALLOCATED)) {
            if (!cv->fresh && !bdrv_pwrite_zeroes(cv->dst, off, n,
                                                  BDRV_REQ_MAY_UNMAP, &err)) {
                die_err(err);
            }
        } else {
            slot = free_slot(cv);
            slot->off = off;
            slot->len = n;
            slot->pending = 1;
            bdrv_aio_pread(cv->src, off, n, slot->buf, read_done, slot);
        }
        off += n;
        show_progress(cv, off);
    }
    convert_drain(cv);
}

/* --bitmaps: may the source's bitmaps be copied (before the target is
 * created, as qemu-img checks)? */
static void convert_check_bitmaps(BlockDriverState *src, bool skip_broken)
{
    if (!bdrv_supports_persistent_bitmaps(src)) {
        die("Source lacks bitmap support");
    }
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(src, NULL); bm;
         bm = bdrv_dirty_bitmap_next(src, bm)) {
        if (bdrv_dirty_bitmap_persistent(bm) && !skip_broken &&
            bdrv_dirty_bitmap_inconsistent(bm)) {
            die("Cannot copy inconsistent bitmap '%s'\nTry "
                "--skip-broken-bitmaps, or use 'qemu-img bitmap --remove' "
                "to delete it", bdrv_dirty_bitmap_name(bm));
        }
    }
}

/* Every persistent bitmap of @src, with its granularity, recording state
 * and bits, becomes one of @dst (through the QMP commands, as qemu-img). */
static void convert_copy_bitmaps(BlockDriverState *src, BlockDriverState *dst,
                                 bool skip_broken)
{
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(src, NULL); bm;
         bm = bdrv_dirty_bitmap_next(src, bm)) {
        const char *name = bdrv_dirty_bitmap_name(bm);
        BlockDirtyBitmap ext = { .node = (char *)bdrv_node_name(src),
                                 .name = (char *)name };
        BlockDirtyBitmapOrStr one = { .type = QTYPE_QDICT,
                                      .u.external = &ext };
        BlockDirtyBitmapOrStrList l = { .value = &one };
        GError *err = NULL;

        if (!bdrv_dirty_bitmap_persistent(bm)) {
            continue;
        }
        if (skip_broken && bdrv_dirty_bitmap_inconsistent(bm)) {
            fprintf(stderr, "%s: warning: Skipping inconsistent bitmap "
                    "'%s'\n", prog, name);
            continue;
        }
        qmp_block_dirty_bitmap_add(bdrv_node_name(dst), name, true,
                                   bdrv_dirty_bitmap_granularity(bm), true,
                                   true, true, !bdrv_dirty_bitmap_enabled(bm),
                                   &err);
        if (err) {
            die("Failed to create bitmap %s: %s", name, err->message);
        }
        qmp_block_dirty_bitmap_merge(bdrv_node_name(dst), name, &l, &err);
        if (err) {
            die("Failed to populate bitmap %s: %s", name, err->message);
        }
    }
}

static int img_convert(int argc, char **argv)
{
    enum { OPT_BITMAPS = 340, OPT_SKIP_BROKEN };
    static const struct option lopts[] = {
        { "bitmaps", no_argument, NULL, OPT_BITMAPS },
        { "skip-broken-bitmaps", no_argument, NULL, OPT_SKIP_BROKEN },
        { NULL, 0, NULL, 0 },
    };
    bool bitmaps = false, skip_broken = false;
    const char *fmt = NULL, *out_fmt = NULL, *out;
    const char *cache = "unsafe", *src_cache = "writeback";
    GHashTable *opts = new_opts();
    Convert cv = { 0 };
    uint64_t sparse = 4096;
    bool quiet = false, no_create = false;
    int flags = BDRV_O_RDWR, src_flags = 0, c;
    GError *err = NULL;

    cv.nslots = CONVERT_SLOTS_DEFAULT;
    while ((c = getopt_long(argc, argv, "hf:O:o:cpqnS:t:T:Um:", lopts,
                            NULL)) != -1) {
        switch (c) {
        case OPT_BITMAPS: bitmaps = true; break;
        case OPT_SKIP_BROKEN: skip_broken = true; break;
        case 'f': fmt = optarg; break;
        case 'm': cv.nslots = parse_slots(optarg); break;
        case 'O': out_fmt = optarg; break;
        case 'o': parse_o(opts, optarg); break;
        case 'c': cv.compress = true; break;
        case 'p': cv.progress = true; break;
        case 'q': quiet = true; break;
        case 'n': no_create = true; break;
        case 'S': sparse = parse_size_arg(optarg); break;
        case 't': cache = optarg; break;
        case 'T': src_cache = optarg; break;
        case 'U': force_share = true; break;
        default: die("usage: convert [-f fmt] [-O output_fmt] [-o opts] [-c] "
                     "[-p] [-q] [-n] [-m num] [-S size] [-t cache] "
                     "[-T src_cache] [--bitmaps [--skip-broken-bitmaps]] "
                     "src dst");
        }
    }
    if (skip_broken && !bitmaps) {
        die("Use of --skip-broken-bitmaps requires --bitmaps");
    }
    if (argc - optind != 2) {
        die("convert: expecting one source and one destination");
    }
    /* qemu-img's checks: the target's options name its format, and a
     * target given by options is one that exists */
    if (target_image_opts && out_fmt) {
        die("--image-opts and --format are mutually exclusive");
    }
    if (target_image_opts && !no_create) {
        die("--target-image-opts requires use of -n flag");
    }
    if (!out_fmt) {
        out_fmt = "raw";
    }
    cv.progress &= !quiet;
    out = argv[optind + 1];
    if (!bdrv_parse_cache_mode(cache, &flags, &err) ||
        !bdrv_parse_cache_mode(src_cache, &src_flags, &err)) {
        die_err(err);
    }
    cv.src = open_arg_image(argv[optind], fmt, src_flags);
    if (bitmaps) {
        convert_check_bitmaps(cv.src, skip_broken);
    }
    cv.size = bdrv_getlength(cv.src);
    if (!no_create && !bdrv_create(out_fmt, out, cv.size, opts, &err)) {
        die_err(err);
    }
    cv.fresh = !no_create;
    cv.dst = target_image_opts ? open_image_opts(out, flags)
                               : open_image(out, out_fmt, flags);
    if (bitmaps && !bdrv_supports_persistent_bitmaps(cv.dst)) {
        die("Format driver '%s' does not support bitmaps",
            bdrv_format_name(cv.dst));
    }
    if (bdrv_getlength(cv.dst) < cv.size) {
        die("'%s' is smaller than the source (%" PRIu64 " < %" PRIu64 ")",
            out, bdrv_getlength(cv.dst), cv.size);
    }
    cv.granule = MAX(MAX(sparse, bdrv_cluster_size(cv.dst)), 512);
    if (cv.compress && !bdrv_cluster_size(cv.dst)) {
        die("'%s': format '%s' does not support compression", out, out_fmt);
    }
    cv.chunk = MAX(2 * MiB, ALIGN_UP(2 * MiB, cv.granule));
    cv.slots = g_new0(ConvertSlot, cv.nslots);
    for (int i = 0; i < cv.nslots; i++) {
        cv.slots[i].cv = &cv;
        cv.slots[i].buf = g_malloc(cv.chunk);
    }
    show_progress(&cv, 0);
    convert_run(&cv);
    if (bitmaps) {
        convert_copy_bitmaps(cv.src, cv.dst, skip_broken);
    }
    if (!bdrv_flush(cv.dst, &err)) {
        die_err(err);
    }
    if (cv.progress) {
        printf("    (100.00/100%%)\n");
    }
    for (int i = 0; i < cv.nslots; i++) {
        g_free(cv.slots[i].buf);
    }
    g_free(cv.slots);
    bdrv_unref(cv.dst);
    bdrv_unref(cv.src);
    g_hash_table_unref(opts);
    return 0;
}

/* ---- map ------------------------------------------------------------- */

typedef struct MapEntry {
    uint64_t start, length, offset;
    int depth;
    bool present, zero, data, has_offset;
    BlockDriverState *file;
} MapEntry;

static bool map_mergeable(const MapEntry *a, const MapEntry *b)
{
    return a->depth == b->depth && a->present == b->present &&
           a->zero == b->zero && a->data == b->data &&
           a->has_offset == b->has_offset && a->file == b->file &&
           (!a->has_offset || a->offset + a->length == b->offset);
}

static void map_print(const MapEntry *e, bool json, bool first)
{
    if (json) {
        printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", "
               "\"depth\": %d, \"present\": %s, \"zero\": %s, \"data\": %s",
               first ? "[" : ",\n", e->start, e->length, e->depth,
               e->present ? "true" : "false", e->zero ? "true" : "false",
               e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRIu64, e->offset);
        }
        printf("}");
    } else if (e->data && e->has_offset) {
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
               e->start, e->length, e->offset, bdrv_filename(e->file));
    }
}

static int img_map(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *output = "human";
    BlockDriverState *bs;
    MapEntry cur = { 0 };
    bool json, first = true, have = false;
    uint64_t off = 0, size;
    GError *err = NULL;
    int c;

    while ((c = getopt_long(argc, argv, "hf:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': force_share = true; break;
        case OPT_OUTPUT: output = output_format(optarg); break;
        default: die("usage: map [-f fmt] [--output=human|json] filename");
        }
    }
    if (optind >= argc) {
        die("map: expecting a filename");
    }
    json = !strcmp(output, "json");
    bs = open_arg_image(argv[optind], fmt, 0);
    size = bdrv_getlength(bs);
    if (!json) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    while (off < size) {
        uint64_t pnum, map;
        BlockDriverState *file;
        int depth, st;
        MapEntry e = { 0 };

        st = bdrv_block_status_above(bs, off, MIN(size - off, 1 * GiB),
                                     &pnum, &map, &file, &depth, &err);
        if (st < 0) {
            die_err(err);
        }
        e.start = off;
        e.length = pnum;
        e.depth = depth;
        e.present = st & BDRV_BLOCK_ALLOCATED;
        e.zero = (st & BDRV_BLOCK_ZERO) || !e.present;
        e.data = st & BDRV_BLOCK_DATA;
        e.has_offset = st & BDRV_BLOCK_OFFSET_VALID;
        e.offset = map;
        e.file = file;
        if (have && map_mergeable(&cur, &e)) {
            cur.length += e.length;
        } else {
            if (have) {
                map_print(&cur, json, first);
                first = false;
            }
            cur = e;
            have = true;
        }
        off += pnum;
    }
    if (have) {
        map_print(&cur, json, first);
    }
    if (json) {
        printf(have ? "]\n" : "[]\n");
    }
    bdrv_unref(bs);
    return 0;
}

/* ---- resize ---------------------------------------------------------- */

enum { OPT_SHRINK = 300 };

/* "+N", "-N" (relative) or "N"; the result must be >= 0. */
static uint64_t resize_target(const char *arg, uint64_t cur)
{
    uint64_t v = parse_size_arg(arg[0] == '+' || arg[0] == '-' ? arg + 1
                                                               : arg);

    if (arg[0] == '+') {
        if (v > INT64_MAX - cur) {
            die("resize: size '%s' is too large", arg);
        }
        return cur + v;
    }
    if (arg[0] == '-') {
        if (v > cur) {
            die("resize: image would have a negative size");
        }
        return cur - v;
    }
    return v;
}

static int img_resize(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "shrink", no_argument, NULL, OPT_SHRINK },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *size_arg;
    bool quiet = false, shrink = false;
    BlockDriverState *bs;
    GError *err = NULL;
    uint64_t size;
    int c;

    /* "-1G" is a size, not an option: take it before getopt sees it. */
    if (argc < 3) {
        die("usage: resize [-f fmt] [-q] [--shrink] filename [+|-]size");
    }
    size_arg = argv[argc - 1];
    argc--;
    while ((c = getopt_long(argc, argv, "hf:q", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case OPT_SHRINK: shrink = true; break;
        default: die("usage: resize [-f fmt] [-q] [--shrink] filename "
                     "[+|-]size");
        }
    }
    if (argc - optind != 1) {
        die("resize: expecting a filename and a size");
    }
    bs = open_arg_image(argv[optind], fmt, BDRV_O_RDWR);
    size = resize_target(size_arg, bdrv_getlength(bs));
    if (size < bdrv_getlength(bs) && !shrink) {
        bdrv_unref(bs);
        die("'%s': use the --shrink option to perform a shrink operation",
            argv[optind]);
    }
    if (!bdrv_truncate(bs, size, &err) || !bdrv_flush(bs, &err)) {
        die_err(err);
    }
    bdrv_unref(bs);
    if (!quiet) {
        printf("Image resized.\n");
    }
    return 0;
}

/* ---- snapshot -------------------------------------------------------- */

static int img_snapshot(int argc, char **argv)
{
    const char *fmt = NULL, *name = NULL;
    char action = 0;
    bool quiet = false;
    BlockDriverState *bs;
    GError *err = NULL;
    bool ok = true;
    int c;

    while ((c = getopt(argc, argv, "hf:lc:d:a:qU")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'U': force_share = true; break;
        case 'l': case 'c': case 'd': case 'a':
            if (action) {
                die("snapshot: give only one of -l, -a, -c, -d");
            }
            action = c;
            name = optarg;
            break;
        default: die("usage: snapshot [-f fmt] [-q] [-l | -a name | "
                     "-c name | -d name] filename");
        }
    }
    if (argc - optind != 1 || !action) {
        die("usage: snapshot [-f fmt] [-q] [-l | -a name | -c name | "
            "-d name] filename");
    }
    (void)quiet;    /* nothing but errors is printed */
    bs = open_arg_image(argv[optind], fmt, action == 'l' ? 0 : BDRV_O_RDWR);
    switch (action) {
    case 'l': {
        BlockImageInfo info = { 0 };

        ok = bdrv_get_info(bs, &info, &err);
        if (ok) {
            print_snapshots(&info);
        }
        bdrv_image_info_clear(&info);
        break;
    }
    case 'c': ok = bdrv_snapshot_create(bs, name, &err); break;
    case 'd': ok = bdrv_snapshot_delete(bs, name, &err); break;
    case 'a': ok = bdrv_snapshot_goto(bs, name, &err); break;
    }
    ok = ok && bdrv_flush(bs, &err);
    if (!ok) {
        die_err(err);
    }
    bdrv_unref(bs);
    return 0;
}

/* ---- commit ---------------------------------------------------------- */

/* Copy what @top itself holds (not its backing chain) into @base. */
static void commit_data(BlockDriverState *top, BlockDriverState *base)
{
    uint64_t size = bdrv_getlength(top), off = 0, chunk = 2 * MiB;
    uint8_t *buf = g_malloc(chunk);
    GError *err = NULL;

    while (off < size) {
        uint64_t pnum, map;
        BlockDriverState *file;
        int st = bdrv_block_status(top, off, MIN(chunk, size - off), &pnum,
                                   &map, &file, &err);
        bool ok = true;

        if (st < 0) {
            die_err(err);
        }
        pnum = MIN(pnum, MIN(chunk, size - off));
        if ((st & BDRV_BLOCK_ALLOCATED) && (st & BDRV_BLOCK_ZERO)) {
            ok = bdrv_pwrite_zeroes(base, off, pnum, 0, &err);
        } else if (st & BDRV_BLOCK_ALLOCATED) {
            ok = bdrv_pread(top, off, pnum, buf, &err) &&
                 bdrv_pwrite(base, off, pnum, buf, &err);
        }
        if (!ok) {
            die_err(err);
        }
        off += pnum;
    }
    g_free(buf);
}

static int img_commit(int argc, char **argv)
{
    const char *fmt = NULL, *cache = "writeback", *base_arg = NULL;
    bool quiet = false, keep = false;
    BlockDriverState *top, *base;
    BlockImageInfo info = { 0 };
    int flags = BDRV_O_RDWR, c;
    GError *err = NULL;
    char *base_path;

    while ((c = getopt(argc, argv, "hf:t:b:dpq")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'b': base_arg = optarg; break;
        case 'd': keep = true; break;
        case 'p': break;
        case 'q': quiet = true; break;
        default: die("usage: commit [-f fmt] [-t cache] [-b base] [-d] [-q] "
                     "filename");
        }
    }
    if (argc - optind != 1) {
        die("commit: expecting one filename");
    }
    if (!bdrv_parse_cache_mode(cache, &flags, &err)) {
        die_err(err);
    }
    /* Without its chain: commit reads only what the top holds, and the
     * base is opened for writing below, which the chain's read-only
     * node would refuse (its image lock lets nobody write). */
    top = open_arg_image(argv[optind], fmt, flags | BDRV_O_NO_BACKING);
    if (!bdrv_get_info(top, &info, &err)) {
        die_err(err);
    }
    if (!info.backing_file) {
        die("'%s': image has no backing file", argv[optind]);
    }
    base_path = bdrv_backing_path(bdrv_filename(top), info.backing_file);
    if (base_arg && !same_file(base_arg, base_path)) {
        die("'%s': only the immediate backing file '%s' can be the commit "
            "base", argv[optind], info.backing_file);
    }
    base = open_image(base_path, info.backing_fmt,
                      flags | BDRV_O_NO_BACKING);
    if (bdrv_getlength(base) < bdrv_getlength(top) &&
        !bdrv_truncate(base, bdrv_getlength(top), &err)) {
        die_err(err);
    }
    commit_data(top, base);
    if (!bdrv_flush(base, &err) || (!keep && !bdrv_make_empty(top, &err)) ||
        !bdrv_flush(top, &err)) {
        die_err(err);
    }
    bdrv_unref(base);
    bdrv_unref(top);
    bdrv_image_info_clear(&info);
    g_free(base_path);
    if (!quiet) {
        printf("Image committed.\n");
    }
    return 0;
}

/* ---- rebase ---------------------------------------------------------- */

/* Where the unallocated parts of @top read differently through @nb (the
 * new backing, NULL: none) than through the old chain, write the old
 * content into @top, a cluster at a time. */
static void rebase_data(BlockDriverState *top, BlockDriverState *nb)
{
    uint64_t size = bdrv_getlength(top), off = 0;
    uint64_t cs = MAX(bdrv_cluster_size(top), 65536);
    uint64_t nsize = nb ? bdrv_getlength(nb) : 0;
    uint8_t *old = g_malloc(cs), *new = g_malloc(cs);
    GError *err = NULL;

    while (off < size) {
        uint64_t n = MIN(cs - off % cs, size - off), pnum, map;
        BlockDriverState *file;
        int st = bdrv_block_status(top, off, n, &pnum, &map, &file, &err);

        if (st < 0) {
            die_err(err);
        }
        n = MIN(n, pnum);
        if (!(st & BDRV_BLOCK_ALLOCATED)) {
            uint64_t in_new = off < nsize ? MIN(n, nsize - off) : 0;

            memset(new, 0, n);
            if (!bdrv_pread(top, off, n, old, &err) ||
                (in_new && !bdrv_pread(nb, off, in_new, new, &err)) ||
                (memcmp(old, new, n) &&
                 !bdrv_pwrite(top, off, n, old, &err))) {
                die_err(err);
            }
        }
        off += n;
    }
    g_free(old);
    g_free(new);
}

static int img_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *bfmt = NULL, *backing = NULL;
    const char *cache = "writeback", *src_cache = "writeback";
    bool unsafe = false, quiet = false;
    BlockDriverState *top, *nb = NULL;
    int flags = BDRV_O_RDWR, bflags = 0, c;
    GError *err = NULL;
    char *path = NULL;

    while ((c = getopt(argc, argv, "hf:F:b:t:T:upqU")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'F': bfmt = optarg; break;
        case 'b': backing = optarg; break;
        case 't': cache = optarg; break;
        case 'T': src_cache = optarg; break;
        case 'u': unsafe = true; break;
        case 'p': break;
        case 'U': force_share = true; break;
        case 'q': quiet = true; break;
        default: die("usage: rebase [-f fmt] [-t cache] [-T src_cache] [-u] "
                     "[-q] -b backing_file [-F backing_fmt] filename");
        }
    }
    if (argc - optind != 1 || !backing) {
        die("rebase: expecting -b backing_file and one filename");
    }
    (void)quiet;
    if (!bdrv_parse_cache_mode(cache, &flags, &err) ||
        !bdrv_parse_cache_mode(src_cache, &bflags, &err)) {
        die_err(err);
    }
    if (!*backing) {
        backing = NULL;     /* -b "": no backing file any more */
    }
    top = open_arg_image(argv[optind], fmt, flags | (unsafe ? BDRV_O_NO_BACKING
                                                        : 0));
    if (backing) {
        path = bdrv_backing_path(bdrv_filename(top), backing);
        nb = unsafe ? bdrv_open(path, bfmt, bflags, NULL)
                    : open_image(path, bfmt, bflags);
        if (nb && !bfmt) {
            bfmt = bdrv_format_name(nb);
        }
    }
    if (!unsafe) {
        rebase_data(top, nb);
    }
    if (!bdrv_change_backing_file(top, backing, backing ? bfmt : NULL,
                                  &err) ||
        !bdrv_flush(top, &err)) {
        die_err(err);
    }
    if (nb) {
        bdrv_unref(nb);
    }
    bdrv_unref(top);
    g_free(path);
    return 0;
}

/* ---- compare --------------------------------------------------------- */

#define COMPARE_CHUNK   (1 * MiB)
#define SECTOR          512

typedef struct CompareSide {
    BlockDriverState *bs;
    uint64_t size;
    uint8_t *buf;
} CompareSide;

/* The block status bits strict mode compares: where the data lives and
 * whether it reads as zeroes, not the host offsets, which differ by
 * format. */
#define STRICT_STATUS_MASK (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_ZERO | \
                            BDRV_BLOCK_DATA)

static int compare_status(CompareSide *c, uint64_t off, uint64_t len,
                          uint64_t *pnum)
{
    GError *err = NULL;
    uint64_t map;
    BlockDriverState *file;
    int depth;
    int st = bdrv_block_status_above(c->bs, off, len, pnum, &map, &file,
                                     &depth, &err);

    if (st < 0) {
        die_err(err);
    }
    return st;
}

static void compare_read(CompareSide *c, uint64_t off, uint64_t len)
{
    GError *err = NULL;

    if (!bdrv_pread(c->bs, off, len, c->buf, &err)) {
        die("error while reading offset %" PRIu64 ": %s", off, err->message);
    }
}

/* The offset of the first 512-byte sector where @a and @b differ (or
 * where @a is not zero when @b is NULL), or @len. */
static uint64_t first_mismatch(const uint8_t *a, const uint8_t *b,
                               uint64_t len)
{
    static const uint8_t zero[SECTOR];

    for (uint64_t i = 0; i < len; i += SECTOR) {
        uint64_t n = MIN(SECTOR, len - i);
        if (memcmp(a + i, b ? b + i : zero, n)) {
            return i;
        }
    }
    return len;
}

/* Whether [off, off + len) of @c reads as zeroes; prints qemu-img's
 * mismatch line if not. */
static bool compare_is_zero(CompareSide *c, uint64_t off, uint64_t len,
                            bool quiet)
{
    for (uint64_t done = 0; done < len;) {
        uint64_t n = MIN(COMPARE_CHUNK, len - done), pnum, at;
        int st = compare_status(c, off + done, n, &pnum);

        n = MIN(n, pnum);
        if (!(st & BDRV_BLOCK_ZERO) && (st & BDRV_BLOCK_ALLOCATED)) {
            compare_read(c, off + done, n);
            at = first_mismatch(c->buf, NULL, n);
            if (at < n) {
                if (!quiet) {
                    printf("Content mismatch at offset %" PRIu64 "!\n",
                           off + done + at);
                }
                return false;
            }
        }
        done += n;
    }
    return true;
}

/* 0 identical, 1 different: the common part, then the longer image's
 * tail, which must read as zeroes. */
static int compare_images(CompareSide *a, CompareSide *b, bool strict,
                          bool quiet)
{
    uint64_t common = MIN(a->size, b->size);

    for (uint64_t off = 0; off < common;) {
        uint64_t len = MIN(COMPARE_CHUNK, common - off), pa, pb, at;
        int sa = compare_status(a, off, len, &pa);
        int sb = compare_status(b, off, len, &pb);
        bool zero_a = (sa & BDRV_BLOCK_ZERO) || !(sa & BDRV_BLOCK_ALLOCATED);
        bool zero_b = (sb & BDRV_BLOCK_ZERO) || !(sb & BDRV_BLOCK_ALLOCATED);

        len = MIN(len, MIN(pa, pb));
        if (strict && (sa & STRICT_STATUS_MASK) != (sb & STRICT_STATUS_MASK)) {
            if (!quiet) {
                printf("Strict mode: Offset %" PRIu64 " block status "
                       "mismatch!\n", off);
            }
            return 1;
        }
        if (zero_a && zero_b) {
            /* both read as zeroes */
        } else if (zero_a || zero_b) {
            if (!compare_is_zero(zero_a ? b : a, off, len, quiet)) {
                return 1;
            }
        } else {
            compare_read(a, off, len);
            compare_read(b, off, len);
            at = first_mismatch(a->buf, b->buf, len);
            if (at < len) {
                if (!quiet) {
                    printf("Content mismatch at offset %" PRIu64 "!\n",
                           off + at);
                }
                return 1;
            }
        }
        off += len;
    }
    if (a->size != b->size) {
        CompareSide *longer = a->size > b->size ? a : b;
        if (!compare_is_zero(longer, common, longer->size - common, quiet)) {
            return 1;
        }
    }
    if (!quiet) {
        printf("Images are identical.\n");
    }
    return 0;
}

static int img_compare(int argc, char **argv)
{
    const char *fmt1 = NULL, *fmt2 = NULL, *cache = "writeback";
    bool strict = false, quiet = false;
    CompareSide a = { 0 }, b = { 0 };
    GError *err = NULL;
    int flags = 0, c, ret;

    die_status = 2;
    while ((c = getopt(argc, argv, "hf:F:T:pqsU")) != -1) {
        switch (c) {
        case 'f': fmt1 = optarg; break;
        case 'F': fmt2 = optarg; break;
        case 'T': cache = optarg; break;
        case 'p': break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case 'U': force_share = true; break;
        default: die("usage: compare [-f fmt] [-F fmt] [-T cache] [-p] [-q] "
                     "[-s] [-U] filename1 filename2");
        }
    }
    if (argc - optind != 2) {
        die("compare: expecting two filenames");
    }
    if (!bdrv_parse_cache_mode(cache, &flags, &err)) {
        die_err(err);
    }
    a.bs = open_arg_image(argv[optind], fmt1, flags);
    b.bs = open_arg_image(argv[optind + 1], fmt2 ? fmt2 : fmt1, flags);
    a.size = bdrv_getlength(a.bs);
    b.size = bdrv_getlength(b.bs);
    if (a.size != b.size) {
        if (strict) {
            if (!quiet) {
                printf("Strict mode: Image size mismatch!\n");
            }
            bdrv_unref(a.bs);
            bdrv_unref(b.bs);
            return 1;
        }
        if (!quiet) {
            printf("Warning: Image size mismatch!\n");
        }
    }
    a.buf = g_malloc(COMPARE_CHUNK);
    b.buf = g_malloc(COMPARE_CHUNK);
    ret = compare_images(&a, &b, strict, quiet);
    g_free(a.buf);
    g_free(b.buf);
    bdrv_unref(a.bs);
    bdrv_unref(b.bs);
    return ret;
}

/* ---- measure --------------------------------------------------------- */

enum { OPT_SIZE = 320 };

static void print_measure(const BlockMeasureInfo *m, bool json)
{
    if (json) {
        printf("{\n");
        if (m->has_bitmaps) {
            printf("    \"bitmaps\": %" PRIu64 ",\n", m->bitmaps);
        }
        printf("    \"required\": %" PRIu64 ",\n"
               "    \"fully-allocated\": %" PRIu64 "\n}\n",
               m->required, m->fully_allocated);
        return;
    }
    printf("required size: %" PRIu64 "\nfully allocated size: %" PRIu64
           "\n", m->required, m->fully_allocated);
    if (m->has_bitmaps) {
        printf("bitmaps size: %" PRIu64 "\n", m->bitmaps);
    }
}

static int img_measure(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "size", required_argument, NULL, OPT_SIZE },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw", *output = "human";
    const char *size_arg = NULL;
    GHashTable *opts = new_opts();
    BlockDriverState *in = NULL;
    BlockMeasureInfo m;
    GError *err = NULL;
    uint64_t size = 0;
    int c;

    while ((c = getopt_long(argc, argv, "hf:O:o:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'o': parse_o(opts, optarg); break;
        case 'U': force_share = true; break;
        case OPT_OUTPUT: output = output_format(optarg); break;
        case OPT_SIZE: size_arg = optarg; break;
        default: die("usage: measure [--output=human|json] [-O fmt] "
                     "[-o opts] [--size N | [-f fmt] filename]");
        }
    }
    if (argc - optind > 1) {
        die("measure: at most one filename");
    }
    if (size_arg && optind < argc) {
        die("--size N cannot be used together with a filename.");
    }
    if (!size_arg && optind >= argc) {
        die("Either --size N or one filename must be specified.");
    }
    if (size_arg) {
        size = parse_size_arg(size_arg);
    } else {
        in = open_arg_image(argv[optind], fmt, 0);
    }
    if (!bdrv_measure(out_fmt, opts, size, in, &m, &err)) {
        die_err(err);
    }
    print_measure(&m, !strcmp(output, "json"));
    if (in) {
        bdrv_unref(in);
    }
    g_hash_table_unref(opts);
    return 0;
}

/* ---- amend ----------------------------------------------------------- */

/* qemu-img's usage errors: the line, then where to find help. */
static G_NORETURN G_GNUC_PRINTF(1, 2) void usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information\n", prog);
    exit(1);
}

/* "-o help" or "-o ?" among the options, as qemu-img looks for them. */
static bool has_help_option(char **kv)
{
    for (char **p = kv; *p; p++) {
        if (!strcmp(*p, "help") || !strcmp(*p, "?")) {
            return true;
        }
    }
    return false;
}

static void print_amend_help(const char *fmt)
{
    GString *out = g_string_new(NULL);
    GError *err = NULL;

    if (!bdrv_amend_help(fmt, out, &err)) {
        die_err(err);
    }
    fputs(out->str, stdout);
    g_string_free(out, true);
}

static void amend_progress(void *opaque, uint64_t done, uint64_t total)
{
    if (*(bool *)opaque && total) {
        printf("    (%.2f/100%%)\r", done * 100.0 / total);
        fflush(stdout);
    }
}

enum { OPT_FORCE = 340 };

static int img_amend(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force", no_argument, NULL, OPT_FORCE },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = "writeback", *file;
    GString *options = NULL;
    bool progress = false, quiet = false;
    int flags = BDRV_O_RDWR, c;
    BlockDriverState *bs;
    GError *err = NULL;
    char **kv;

    while ((c = getopt_long(argc, argv, ":ho:f:t:pq", lopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!options) {
                options = g_string_new(optarg);
            } else {
                g_string_append_printf(options, ",%s", optarg);
            }
            break;
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        /* --force overrides LUKS keyslot safety checks in QEMU; no image
         * kvmpc opens is encrypted, so it never has anything to force */
        case OPT_FORCE: break;
        case ':': usage_error("option requires an argument -- '%c'", optopt);
        case 'h':
        default:
            usage_error("amend [-p] [-q] [-f fmt] [-t cache] [--force] "
                        "-o options filename");
        }
    }
    if (!options) {
        usage_error("Must specify options (-o)");
    }
    progress &= !quiet;
    kv = g_strsplit(options->str, ",", -1);
    if (!*kv || (!kv[1] && !**kv)) {
        die("Invalid option list: %s", options->str);
    }
    file = optind == argc - 1 ? argv[optind] : NULL;
    if (fmt && has_help_option(kv)) {
        print_amend_help(fmt);
        g_strfreev(kv);
        g_string_free(options, true);
        return 0;
    }
    if (!file) {
        die("Expecting one image file name");
    }
    if (!bdrv_parse_cache_mode(cache, &flags, NULL)) {
        die("Invalid cache option: %s", cache);
    }
    bs = open_arg_image(file, fmt, flags);
    if (has_help_option(kv)) {
        print_amend_help(bdrv_format_name(bs));
        bdrv_unref(bs);
        g_strfreev(kv);
        g_string_free(options, true);
        return 0;
    }
    amend_progress(&progress, 0, 1);
    if (!bdrv_amend(bs, kv, amend_progress, &progress, &err) ||
        !bdrv_flush(bs, &err)) {
        die_err(err);
    }
    amend_progress(&progress, 1, 1);
    if (progress) {
        printf("\n");
    }
    bdrv_unref(bs);
    g_strfreev(kv);
    g_string_free(options, true);
    return 0;
}

/* ---- dd -------------------------------------------------------------- */

/*
 * qemu-img dd: copy bs-sized blocks from the input's virtual disk into a
 * new image of -O format, as dd(1) does: skip= blocks of the input
 * first, count= blocks at most.  As qemu-img 7.2 does, the output's size
 * is min(input size, count * bs) less skip * bs, and the copy stops at
 * that same input offset; every byte is written (no sparseness).
 */
typedef struct DdArgs {
    uint64_t bs, count, skip;
    bool has_count, has_skip;
    const char *in, *out;
} DdArgs;

/* qemu-img's cvtnum_full(): sizes with suffixes in [min, max]. */
static uint64_t dd_number(const char *name, const char *arg, uint64_t min,
                          uint64_t max)
{
    uint64_t v;

    if (!parse_size(arg, 1, &v, NULL)) {
        fprintf(stderr, "%s: Invalid %s specified. You may use k, M, G, T, "
                "P or E suffixes for\n%s: kilobytes, megabytes, gigabytes, "
                "terabytes, petabytes and exabytes.\n", prog, name, prog);
        exit(1);
    }
    if (v < min || v > max) {
        die("Invalid %s specified. Must be between %" PRIu64 " and %" PRIu64
            ".", name, min, max);
    }
    return v;
}

static void dd_operand(DdArgs *a, const char *arg)
{
    const char *eq = strchr(arg, '=');
    g_autofree char *key = eq ? g_strndup(arg, eq - arg) : NULL;

    if (!key) {
        die("unrecognized operand %s", arg);
    }
    if (!strcmp(key, "bs")) {
        a->bs = dd_number("bs", eq + 1, 1, INT_MAX);
    } else if (!strcmp(key, "count")) {
        a->count = dd_number("count", eq + 1, 0, INT64_MAX);
        a->has_count = true;
    } else if (!strcmp(key, "skip")) {
        a->skip = dd_number("skip", eq + 1, 0, INT64_MAX);
        a->has_skip = true;
    } else if (!strcmp(key, "if")) {
        a->in = eq + 1;
    } else if (!strcmp(key, "of")) {
        a->out = eq + 1;
    } else {
        die("unrecognized operand %s", key);
    }
}

/* Copy [pos, end) of @in to @out from offset 0, bs bytes at a time. */
static void dd_copy(BlockDriverState *in, BlockDriverState *out,
                    uint64_t pos, uint64_t end, uint64_t bs)
{
    uint8_t *buf = g_try_malloc(bs);
    GError *err = NULL;

    if (!buf) {
        die("cannot allocate a %" PRIu64 "-byte block", bs);
    }
    for (uint64_t out_pos = 0; pos < end;) {
        uint64_t n = MIN(bs, end - pos);

        if (!bdrv_pread(in, pos, n, buf, &err)) {
            die("error while reading from input image file: %s",
                g_strerror(bdrv_error_errno(err)));
        }
        if (!bdrv_pwrite(out, out_pos, n, buf, &err)) {
            die("error while writing to output image file: %s",
                g_strerror(bdrv_error_errno(err)));
        }
        pos += n;
        out_pos += n;
    }
    g_free(buf);
}

static int img_dd(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw";
    DdArgs a = { .bs = 512 };
    BlockDriverState *in, *out;
    uint64_t size, start;
    bool beyond;
    GError *err = NULL;
    int c;

    while ((c = getopt_long(argc, argv, ":hf:O:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'U': force_share = true; break;
        case ':': usage_error("option requires an argument -- '%c'", optopt);
        default:
            usage_error("dd [-U] [-f fmt] [-O output_fmt] [bs=block_size] "
                        "[count=blocks] [skip=blocks] if=input of=output");
        }
    }
    for (int i = optind; i < argc; i++) {
        dd_operand(&a, argv[i]);
    }
    if (!a.in || !a.out) {
        die("Must specify both input and output files");
    }
    in = open_arg_image(a.in, fmt, 0);
    if (!bdrv_format_known(out_fmt)) {
        die("Unknown file format");
    }
    size = bdrv_getlength(in);
    if (a.has_count && a.count <= INT64_MAX / a.bs && a.count * a.bs < size) {
        size = a.count * a.bs;
    }
    beyond = a.has_skip && (a.skip > INT64_MAX / a.bs ||
                            size < a.skip * a.bs);
    if (!bdrv_create(out_fmt, a.out, beyond ? 0 : size - a.skip * a.bs,
                     NULL, &err)) {
        die("%s: error while creating output image: %s", a.out,
            err->message);
    }
    out = open_image(a.out, out_fmt, BDRV_O_RDWR);
    if (beyond) {
        /* like dd(1): a warning, and an empty output */
        fprintf(stderr, "%s: %s: cannot skip to specified offset\n", prog,
                a.in);
        start = size;
    } else {
        start = a.skip * a.bs;
    }
    dd_copy(in, out, start, size, a.bs);
    if (!bdrv_flush(out, &err)) {
        die_err(err);
    }
    bdrv_unref(out);
    bdrv_unref(in);
    return 0;
}

/* ---- bench ----------------------------------------------------------- */

/*
 * qemu-img bench: @n requests of @bufsize bytes, @depth of them in
 * flight at once through the block layer's asynchronous calls, offsets
 * advancing by @step and wrapping at the image's end; writes may be
 * followed by a flush every @flush_interval requests, after the queue
 * drained (or, --no-drain, alongside the requests in flight).  The
 * scheduling is qemu-img 7.2's bench_cb(), so both tools issue the same
 * request stream.
 */
typedef struct Bench {
    BlockDriverState *bs;
    uint64_t image_size, offset;
    uint64_t bufsize, step;
    int n, depth, in_flight, flush_interval;
    int flushes_pending;        /* --no-drain flushes not yet complete */
    bool write, drain_on_flush, in_flush;
    uint8_t **bufs;             /* one per request in flight */
    int *free_bufs, nfree;
} Bench;

typedef struct BenchReq {
    Bench *b;
    int buf;                    /* index into b->bufs; -1 for a flush */
} BenchReq;

static void bench_failed(GError *err, const char *what)
{
    die("%s: %s", what, g_strerror(bdrv_error_errno(err)));
}

static void bench_cb(void *opaque, GError *err);

static void bench_undrained_flush_cb(void *opaque, GError *err)
{
    Bench *b = opaque;

    if (err) {
        bench_failed(err, "Failed flush request");
    }
    b->flushes_pending--;
}

static void bench_submit(Bench *b)
{
    while (b->n > b->in_flight && b->in_flight < b->depth) {
        BenchReq *r = g_new(BenchReq, 1);
        uint64_t offset = b->offset;

        /* counted before the call: a completion may run inside it */
        b->in_flight++;
        b->offset += b->step;
        if (b->image_size) {
            b->offset %= b->image_size;
        }
        r->b = b;
        r->buf = b->free_bufs[--b->nfree];
        if (b->write) {
            bdrv_aio_pwrite(b->bs, offset, b->bufsize, b->bufs[r->buf],
                            bench_cb, r);
        } else {
            bdrv_aio_pread(b->bs, offset, b->bufsize, b->bufs[r->buf],
                           bench_cb, r);
        }
    }
}

/* A request (or a drained flush) completed: account for it, flush when
 * it is time, and refill the queue. */
static void bench_cb(void *opaque, GError *err)
{
    BenchReq *r = opaque;
    Bench *b = r->b;

    if (err) {
        bench_failed(err, "Failed request");
    }
    if (r->buf >= 0) {
        b->free_bufs[b->nfree++] = r->buf;
    }
    g_free(r);
    if (b->in_flush) {
        b->in_flush = false;        /* the drained flush is done */
    } else if (b->in_flight > 0) {
        int remaining = b->n - b->in_flight;

        b->n--;
        b->in_flight--;
        if (b->flush_interval && remaining % b->flush_interval == 0) {
            if (!b->in_flight || !b->drain_on_flush) {
                if (b->drain_on_flush) {
                    BenchReq *f = g_new(BenchReq, 1);

                    *f = (BenchReq){ .b = b, .buf = -1 };
                    b->in_flush = true;
                    bdrv_aio_flush(b->bs, bench_cb, f);
                } else {
                    b->flushes_pending++;
                    bdrv_aio_flush(b->bs, bench_undrained_flush_cb, b);
                }
            }
            if (b->drain_on_flush) {
                return;
            }
        }
    }
    bench_submit(b);
}

/* qemu-img's unsigned option values: C prefixes, at most @max. */
static unsigned long bench_ulong(const char *arg, unsigned long max,
                                 const char *what)
{
    uint64_t v;

    if (!parse_uint(arg, &v, NULL) || v > max) {
        die("Invalid %s specified", what);
    }
    return v;
}

static uint64_t bench_size(const char *name, const char *arg)
{
    return dd_number(name, arg, 0, INT_MAX);
}

enum { OPT_PATTERN = 360, OPT_FLUSH_INTERVAL, OPT_NO_DRAIN };

static void bench_run(Bench *b)
{
    struct timespec t1, t2;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    bench_submit(b);
    while (b->n > 0 || b->in_flush) {
        g_main_context_iteration(NULL, TRUE);
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    printf("Run completed in %3.3f seconds.\n",
           (t2.tv_sec - t1.tv_sec) + (t2.tv_nsec - t1.tv_nsec) / 1e9);
    while (b->flushes_pending) {
        g_main_context_iteration(NULL, TRUE);
    }
}

static int img_bench(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *file;
    Bench b = { .n = 75000, .depth = 64, .bufsize = 4096,
                .drain_on_flush = true };
    int flags = 0, pattern = 0, nbufs, c;
    uint64_t step = 0;
    GError *err = NULL;

    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", lopts,
                            NULL)) != -1) {
        switch (c) {
        case 'c': b.n = bench_ulong(optarg, INT_MAX, "request count"); break;
        case 'd':
            /* qemu-img takes 0 and then waits forever: refused here */
            b.depth = bench_ulong(optarg, INT_MAX, "queue depth");
            if (!b.depth) {
                die("Invalid queue depth specified");
            }
            break;
        case 'f': fmt = optarg; break;
        case 'n': flags |= BDRV_O_AIO_NATIVE; break;
        case 'i':
            if (!bdrv_parse_aio_mode(optarg, &flags, NULL)) {
                die("Invalid aio option: %s", optarg);
            }
            break;
        case 'o': b.offset = dd_number("offset", optarg, 0, INT64_MAX); break;
        case 'q': break;    /* qemu-img bench prints its lines anyway */
        case 's': b.bufsize = bench_size("buffer size", optarg); break;
        case 'S': step = bench_size("step_size", optarg); break;
        case 't':
            if (!bdrv_parse_cache_mode(optarg, &flags, NULL)) {
                die("Invalid cache mode");
            }
            break;
        case 'w': flags |= BDRV_O_RDWR; b.write = true; break;
        case 'U': force_share = true; break;
        case OPT_PATTERN:
            pattern = bench_ulong(optarg, 0xff, "pattern byte");
            break;
        case OPT_FLUSH_INTERVAL:
            b.flush_interval = bench_ulong(optarg, INT_MAX,
                                           "flush interval");
            break;
        case OPT_NO_DRAIN: b.drain_on_flush = false; break;
        case ':': usage_error("option requires an argument -- '%c'", optopt);
        default:
            usage_error("bench [-c count] [-d depth] [-f fmt] "
                        "[--flush-interval=N] [-i aio] [-n] [--no-drain] "
                        "[-o offset] [--pattern=N] [-q] [-s buffer_size] "
                        "[-S step_size] [-t cache] [-w] [-U] filename");
        }
    }
    if (optind != argc - 1) {
        usage_error("Expecting one image file name");
    }
    file = argv[optind];
    if (!b.write && b.flush_interval) {
        die("--flush-interval is only available in write tests");
    }
    if (b.flush_interval && b.flush_interval < b.depth) {
        die("Flush interval can't be smaller than depth");
    }
    if (force_share && b.write) {
        die("Could not open '%s': force-share=on can only be used with "
            "read-only images", file);
    }
    b.bs = open_arg_image(file, fmt, flags);
    b.image_size = bdrv_getlength(b.bs);
    b.step = step ? step : b.bufsize;
    printf("Sending %d %s requests, %" PRIu64 " bytes each, %d in parallel "
           "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n",
           b.n, b.write ? "write" : "read", b.bufsize, b.depth, b.offset,
           b.step);
    if (b.flush_interval) {
        printf("Sending flush every %d requests\n", b.flush_interval);
    }
    fflush(stdout);
    /* a buffer for each request that can be in flight (O_DIRECT: aligned) */
    nbufs = MAX(MIN(b.depth, b.n), 1);
    b.bufs = g_new(uint8_t *, nbufs);
    b.free_bufs = g_new(int, nbufs);
    for (int i = 0; i < nbufs; i++) {
        if (posix_memalign((void **)&b.bufs[i], 4096, MAX(b.bufsize, 1))) {
            die("cannot allocate %" PRIu64 " bytes", b.bufsize);
        }
        memset(b.bufs[i], pattern, b.bufsize);
        b.free_bufs[b.nfree++] = i;
    }
    bench_run(&b);
    if (b.write && !bdrv_flush(b.bs, &err)) {
        die_err(err);
    }
    for (int i = 0; i < nbufs; i++) {
        free(b.bufs[i]);
    }
    g_free(b.bufs);
    g_free(b.free_bufs);
    bdrv_unref(b.bs);
    return 0;
}

/* ---- bitmap ---------------------------------------------------------- */

typedef enum {
    BITMAP_ADD, BITMAP_REMOVE, BITMAP_CLEAR, BITMAP_ENABLE, BITMAP_DISABLE,
    BITMAP_MERGE,
} BitmapOp;

static const char *const bitmap_op_name[] = {
    "add", "remove", "clear", "enable", "disable", "merge",
};

typedef struct BitmapAction {
    BitmapOp op;
    const char *src;                /* merge: the source bitmap */
} BitmapAction;

/* One action through the QMP command that does it, as qemu-img does
 * (the same checks and words); a new bitmap is persistent. */
static bool bitmap_action(BlockDriverState *bs, const char *name,
                          const BitmapAction *a, uint64_t granularity,
                          BlockDriverState *src_bs, GError **errp)
{
    const char *node = bdrv_node_name(bs);

    switch (a->op) {
    case BITMAP_ADD:
        qmp_block_dirty_bitmap_add(node, name, granularity != 0, granularity,
                                   true, true, false, false, errp);
        break;
    case BITMAP_REMOVE:
        qmp_block_dirty_bitmap_remove(node, name, errp);
        break;
    case BITMAP_CLEAR:
        qmp_block_dirty_bitmap_clear(node, name, errp);
        break;
    case BITMAP_ENABLE:
        qmp_block_dirty_bitmap_enable(node, name, errp);
        break;
    case BITMAP_DISABLE:
        qmp_block_dirty_bitmap_disable(node, name, errp);
        break;
    case BITMAP_MERGE: {
        BlockDirtyBitmap ext = { .node = (char *)bdrv_node_name(src_bs),
                                 .name = (char *)a->src };
        BlockDirtyBitmapOrStr src = { .type = QTYPE_QDICT,
                                      .u.external = &ext };
        BlockDirtyBitmapOrStrList l = { .value = &src };

        qmp_block_dirty_bitmap_merge(node, name, &l, errp);
        break;
    }
    }
    return !*errp;
}

static int img_bitmap(int argc, char **argv)
{
    enum { OPT_ADD = 256, OPT_REMOVE, OPT_CLEAR, OPT_ENABLE, OPT_DISABLE,
           OPT_MERGE };
    static const struct option lopts[] = {
        { "add", no_argument, NULL, OPT_ADD },
        { "remove", no_argument, NULL, OPT_REMOVE },
        { "clear", no_argument, NULL, OPT_CLEAR },
        { "enable", no_argument, NULL, OPT_ENABLE },
        { "disable", no_argument, NULL, OPT_DISABLE },
        { "merge", required_argument, NULL, OPT_MERGE },
        { "granularity", required_argument, NULL, 'g' },
        { "source-file", required_argument, NULL, 'b' },
        { "source-format", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GArray) acts = g_array_new(false, false, sizeof(BitmapAction));
    const char *fmt = NULL, *src_file = NULL, *src_fmt = NULL, *name;
    BlockDriverState *bs, *src_bs = NULL;
    uint64_t granularity = 0;
    bool add = false, merge = false;
    GError *err = NULL;
    int c, ret = 0;

    while ((c = getopt_long(argc, argv, "hf:g:b:F:", lopts, NULL)) != -1) {
        BitmapAction a = { 0 };

        switch (c) {
        case 'f': fmt = optarg; continue;
        case 'g': granularity = parse_size_arg(optarg); continue;
        case 'b': src_file = optarg; continue;
        case 'F': src_fmt = optarg; continue;
        case OPT_ADD: a.op = BITMAP_ADD; add = true; break;
        case OPT_REMOVE: a.op = BITMAP_REMOVE; break;
        case OPT_CLEAR: a.op = BITMAP_CLEAR; break;
        case OPT_ENABLE: a.op = BITMAP_ENABLE; break;
        case OPT_DISABLE: a.op = BITMAP_DISABLE; break;
        case OPT_MERGE: a.op = BITMAP_MERGE; a.src = optarg; merge = true;
                        break;
        default: die("usage: bitmap (--merge SOURCE | --add | --remove | "
                     "--clear | --enable | --disable)... [-b source_file "
                     "[-F source_fmt]] [-g granularity] [-f fmt] filename "
                     "bitmap");
        }
        g_array_append_val(acts, a);
    }
    /* qemu-img's checks, in its order and words */
    if (!acts->len) {
        die("Need at least one of --add, --remove, --clear, --enable, "
            "--disable, or --merge");
    }
    if (granularity && !add) {
        die("granularity only supported with --add");
    }
    if (src_fmt && !src_file) {
        die("-F only supported with -b");
    }
    if (src_file && !merge) {
        die("Merge bitmap source file only supported with --merge");
    }
    if (granularity > UINT32_MAX) {
        die("Parameter 'granularity' expects uint32_t");
    }
    if (optind != argc - 2) {
        die("Expecting filename and bitmap name");
    }
    name = argv[optind + 1];
    bs = open_arg_image(argv[optind], fmt, BDRV_O_RDWR);
    src_bs = src_file ? try_open_image(src_file, src_fmt, 0, &err) : bs;
    if (!src_bs) {
        /* the image is closed properly: its bitmaps are not left in use */
        bdrv_unref(bs);
        die_err(err);
    }
    for (guint i = 0; i < acts->len; i++) {
        BitmapAction *a = &g_array_index(acts, BitmapAction, i);

        if (!bitmap_action(bs, name, a, granularity, src_bs, &err)) {
            fprintf(stderr, "%s: Operation %s on bitmap %s failed: %s\n",
                    prog, bitmap_op_name[a->op], name, err->message);
            g_clear_error(&err);
            ret = 1;
            break;
        }
    }
    if (src_bs != bs) {
        bdrv_unref(src_bs);
    }
    bdrv_unref(bs);             /* stores the bitmaps */
    return ret;
}

/* ---- main ------------------------------------------------------------ */

/*
 * The options every subcommand takes alike, where qemu-img 7.2 takes
 * them (COMMON_*): --object, --image-opts, --target-image-opts.  They
 * are taken out of argv before the subcommand's own getopt runs; where
 * qemu-img does not take one, it stays and getopt refuses it.
 */
enum {
    COMMON_OBJECT = 1,
    COMMON_IMAGE_OPTS = 2,
    COMMON_TARGET_IMAGE_OPTS = 4,
};

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    int common;
} commands[] = {
    { "create", img_create, COMMON_OBJECT },
    { "info", img_info, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "check", img_check, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "convert", img_convert, COMMON_OBJECT | COMMON_IMAGE_OPTS |
                              COMMON_TARGET_IMAGE_OPTS },
    { "map", img_map, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "resize", img_resize, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "snapshot", img_snapshot, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "commit", img_commit, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "rebase", img_rebase, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "compare", img_compare, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "measure", img_measure, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "amend", img_amend, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "dd", img_dd, COMMON_OBJECT | COMMON_IMAGE_OPTS },
    { "bench", img_bench, COMMON_IMAGE_OPTS },
    { "bitmap", img_bitmap, COMMON_OBJECT | COMMON_IMAGE_OPTS },
};

/*
 * The object types qemu-img 7.2 can create (its "--object help" list);
 * those kvmpc has are created by the machinery -object uses.  Devices'
 * backends (iothread, rng-*, memory-backend-*) mean nothing to an image
 * tool: qemu-img does not know them.
 */
static const char *const tool_object_types[] = {
    "authz-list", "authz-list-file", "authz-pam", "authz-simple",
    "main-loop", "pr-manager-helper", "secret", "secret_keyring",
    "thread-context", "throttle-group", "tls-cipher-suites",
    "tls-creds-anon", "tls-creds-psk", "tls-creds-x509",
};

static bool is_tool_object_type(const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(tool_object_types); i++) {
        if (!strcmp(tool_object_types[i], type)) {
            return true;
        }
    }
    return false;
}

static G_NORETURN void print_object_types(void)
{
    printf("List of user creatable objects:\n");
    for (size_t i = 0; i < ARRAY_SIZE(tool_object_types); i++) {
        if (user_object_type_find(tool_object_types[i])) {
            printf("  %s\n", tool_object_types[i]);
        }
    }
    exit(0);
}

/* The object's type: the implied first key or qom-type=, as -object. */
static char *object_type_of(const char *def)
{
    g_autoptr(GHashTable) kv = keyval_parse(def, "qom-type", NULL);
    const char *type = kv ? g_hash_table_lookup(kv, "qom-type") : NULL;

    return g_strdup(type);
}

/* --object DEF: created at once, as qemu-img does while it reads its
 * options (an image option naming it comes after). */
static void create_object(const char *def)
{
    g_autofree char *type = object_type_of(def);
    GError *err = NULL;

    if (type && (!strcmp(type, "help") || !strcmp(type, "?"))) {
        print_object_types();
    }
    if (type && !is_tool_object_type(type)) {
        if (user_object_type_find(type)) {
            die("invalid object type: %s", type);
        }
        die("Parameter 'qom-type' does not accept value '%s'", type);
    }
    if (!user_object_create_from_opts(def, &err)) {
        die_err(err);
    }
}

/* Which common option @a is (0: none of them). */
static int common_option(const char *a)
{
    if (!strcmp(a, "--object") || g_str_has_prefix(a, "--object=")) {
        return COMMON_OBJECT;
    }
    if (!strcmp(a, "--image-opts")) {
        return COMMON_IMAGE_OPTS;
    }
    if (!strcmp(a, "--target-image-opts")) {
        return COMMON_TARGET_IMAGE_OPTS;
    }
    return 0;
}

/* Take the common options out of argv (up to a "--"); those the
 * subcommand does not take (@common) are refused in qemu-img's words. */
static int take_common_options(int argc, char **argv, int common)
{
    int out = 1, i;

    for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];
        int which = common_option(a);

        if (which && !(common & which)) {
            g_autofree char *name = g_strndup(a, strcspn(a, "="));
            usage_error("unrecognized option '%s'", name);
        }
        switch (which) {
        case COMMON_OBJECT:
            if (a[strlen("--object")] == '=') {
                create_object(a + strlen("--object="));
            } else if (i + 1 == argc) {
                usage_error("missing argument for option '--object'");
            } else {
                create_object(argv[++i]);
            }
            break;
        case COMMON_IMAGE_OPTS:
            image_opts = true;
            break;
        case COMMON_TARGET_IMAGE_OPTS:
            target_image_opts = true;
            break;
        default:
            argv[out++] = argv[i];
        }
    }
    while (i < argc) {
        argv[out++] = argv[i++];
    }
    argv[out] = NULL;
    return out;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        printf("usage: kvmpc-img COMMAND [options]\ncommands:");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
            printf(" %s", commands[i].name);
        }
        printf("\nSee docs/kvmpc-img.md.\n");
        return argc < 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("kvmpc-img (kvmpc) 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            int n = take_common_options(argc - 1, argv + 1,
                                        commands[i].common);
            return commands[i].fn(n, argv + 1);
        }
    }
    die("unknown command '%s'", argv[1]);
}
