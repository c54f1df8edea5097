/*
 * HMP qemu-io [-d] device "command": a qemu-io command on a disk of the
 * running machine, as QEMU 7.2's (block/monitor/block-hmp-cmds.c and
 * qemu-io-cmds.c there): how QEMU's iotests, and the libvirt test here,
 * write to a guest's disk from outside the guest while jobs run.
 *
 * The disk: with -d, the backend of the device with that id or QOM path
 * (a virtio disk is the proxy's "virtio-backend" child:
 * /machine/peripheral/ID/virtio-backend, as QEMU wants it); without, a
 * drive (backend) name, else a node name, for which a backend of its own
 * is made for the command and takes the permissions the command needs
 * (a write to a node a device does not share fails, as in QEMU).  The
 * request goes through the backend like a guest's: copy-before-write
 * hooks, dirty bitmaps, mirror and I/O accounting see it.
 *
 * Commands: read [-P pattern] off len, write [-P pattern | -z] off len,
 * flush.  Numbers take qemu-io's suffixes (k, M, G, T, P, E, binary).
 * As in QEMU, the command's report ("wrote N/N bytes at offset O" and the
 * rate line) and its errors go to kvmpc's stdout (an unknown command and
 * a wrong argument count to stderr), not to the monitor; the monitor gets
 * "Error: ..." when the disk cannot be found.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "hmp.h"

#define QEMU_IO_MAX_LEN     (1u << 30)  /* one request, as qemu-io's limit */

/* qemu-io's cvtnum: a byte count with an optional binary suffix. */
static bool parse_num(const char *s, uint64_t *out)
{
    static const char suffixes[] = "kmgtpe";
    char *end;
    uint64_t v;

    if (!*s || *s == '-') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s) {
        return false;
    }
    if (*end) {
        const char *p = strchr(suffixes, g_ascii_tolower(*end));
        unsigned shift;

        if (!p || end[1]) {
            return false;
        }
        shift = 10 * (unsigned)(p - suffixes + 1);
        if (v > (UINT64_MAX >> shift)) {
            return false;
        }
        v <<= shift;
    }
    *out = v;
    return true;
}

/* qemu-io's cvtstr: "64 KiB", "1.258 GiB", "16 bytes". */
static void size_text(double value, char *buf, size_t size)
{
    static const char *const units[] = { " KiB", " MiB", " GiB", " TiB",
                                         " PiB", " EiB" };
    const char *unit = " bytes";
    char *trim;

    for (int i = 5; i >= 0; i--) {
        double scale = (double)(1ull << (10 * (i + 1)));

        if (value >= scale) {
            value /= scale;
            unit = units[i];
            break;
        }
    }
    snprintf(buf, size - 8, "%.3f", value);
    trim = strstr(buf, ".000");
    if (trim) {
        *trim = '\0';
    }
    g_strlcat(buf, unit, size);
}

/* The two report lines of a read or write that moved @bytes. */
static void print_report(const char *verb, uint64_t bytes, uint64_t offset,
                         int64_t ns)
{
    double secs = ns > 0 ? ns / 1e9 : 1e-9;
    char total[32], rate[32];
    unsigned whole = (unsigned)secs, hundredths;

    hundredths = (unsigned)((secs - whole) * 100);
    size_text((double)bytes, total, sizeof(total));
    size_text(bytes / secs, rate, sizeof(rate));
    printf("%s %" PRIu64 "/%" PRIu64 " bytes at offset %" PRIu64 "\n",
           verb, bytes, bytes, offset);
    printf("%s, 1 ops; %02u.%02u sec (%s/sec and %.4f ops/sec)\n", total,
           whole, hundredths, rate, 1 / secs);
    fflush(stdout);
}

typedef struct IoArgs {
    bool has_pattern, zero;
    int pattern;
    uint64_t offset, len;
} IoArgs;

/* qemu-io's usage line of read or write. */
static void print_usage(const char *cmd)
{
    if (!strcmp(cmd, "read")) {
        printf("read [-P pattern] off len -- reads a number of bytes at a "
               "specified offset\n");
    } else {
        printf("write [-z] [-P pattern] off len -- writes a number of bytes "
               "at a specified offset\n");
    }
}

/* "[-P pattern] [-z] off len" (-z for write only); false with qemu-io's
 * message printed (its argument count check and getopt's complaints on
 * stderr, the rest on stdout). */
static bool parse_io_args(const char *cmd, char **argv, bool allow_zero,
                          IoArgs *a)
{
    const char *pos[2];
    int n = 0, argc = g_strv_length(argv);

    memset(a, 0, sizeof(*a));
    if (argc - 1 < 2) {
        fprintf(stderr, "bad argument count %d to %s, expected at least 2 "
                "arguments\n", argc - 1, cmd);
        return false;
    }
    for (int i = 1; argv[i]; i++) {
        if (!strcmp(argv[i], "-P") && argv[i + 1]) {
            uint64_t p;

            if (!parse_num(argv[i + 1], &p) || p > 0xff) {
                printf("non-numeric pattern -- %s\n", argv[i + 1]);
                return false;
            }
            a->has_pattern = true;
            a->pattern = (int)p;
            i++;
        } else if (allow_zero && !strcmp(argv[i], "-z")) {
            a->zero = true;
        } else if (argv[i][0] == '-' && argv[i][1] && n == 0) {
            fprintf(stderr, "kvmpc: invalid option -- '%c'\n", argv[i][1]);
            print_usage(cmd);
            return false;
        } else if (n < 2) {
            pos[n++] = argv[i];
        } else {
            n = 3;
            break;
        }
    }
    if (n != 2) {
        print_usage(cmd);
        return false;
    }
    if (a->zero && a->has_pattern) {
        printf("-z and -P cannot be specified at the same time\n");
        return false;
    }
    for (int i = 0; i < 2; i++) {
        if (!parse_num(pos[i], i ? &a->len : &a->offset)) {
            printf("Parsing error: non-numeric argument, or "
                   "extraneous/unrecognized suffix -- %s\n", pos[i]);
            return false;
        }
    }
    if (a->len > QEMU_IO_MAX_LEN) {
        printf("length cannot exceed %u, given %s\n", QEMU_IO_MAX_LEN,
               pos[1]);
        return false;
    }
    return true;
}

static bool in_range(BlockBackend *blk, const IoArgs *a)
{
    uint64_t size = blk_getlength(blk);

    return a->offset <= size && a->len <= size - a->offset;
}

static void io_read(BlockBackend *blk, char **argv)
{
    g_autofree uint8_t *buf = NULL;
    int64_t start = g_get_monotonic_time();
    IoArgs a;
    int ret;

    if (!parse_io_args("read", argv, false, &a)) {
        return;
    }
    buf = g_malloc(a.len ? a.len : 1);
    ret = in_range(blk, &a) ? blk_pread(blk, a.offset, a.len, buf) : -EIO;
    if (ret < 0) {
        printf("read failed: %s\n", strerror(-ret));
        fflush(stdout);
        return;
    }
    if (a.has_pattern) {
        for (uint64_t i = 0; i < a.len; i++) {
            if (buf[i] != a.pattern) {
                printf("Pattern verification failed at offset %" PRIu64
                       ", %" PRIu64 " bytes\n", a.offset, a.len);
                break;
            }
        }
    }
    print_report("read", a.len, a.offset,
                 (g_get_monotonic_time() - start) * 1000);
}

static void io_write(BlockBackend *blk, char **argv)
{
    g_autofree uint8_t *buf = NULL;
    int64_t start = g_get_monotonic_time();
    IoArgs a;
    int ret;

    if (!parse_io_args("write", argv, true, &a)) {
        return;
    }
    if (!in_range(blk, &a)) {
        ret = -EIO;
    } else if (a.zero) {
        ret = blk_pwrite_zeroes(blk, a.offset, a.len, 0);
    } else {
        buf = g_malloc(a.len ? a.len : 1);
        memset(buf, a.has_pattern ? a.pattern : 0xcd, a.len);
        ret = blk_pwrite(blk, a.offset, a.len, buf);
    }
    if (ret < 0) {
        printf("write failed: %s\n", strerror(-ret));
        fflush(stdout);
        return;
    }
    print_report("wrote", a.len, a.offset,
                 (g_get_monotonic_time() - start) * 1000);
}

/* Runs the split command @argv on @blk. */
static void run_command(BlockBackend *blk, char **argv)
{
    if (!strcmp(argv[0], "read")) {
        io_read(blk, argv);
    } else if (!strcmp(argv[0], "write")) {
        io_write(blk, argv);
    } else if (!strcmp(argv[0], "flush")) {
        int ret = blk_flush(blk);

        if (ret < 0) {
            printf("flush failed: %s\n", strerror(-ret));
        }
    } else {
        fprintf(stderr, "command \"%s\" not found\n", argv[0]);
    }
    fflush(stdout);
}

/* A backend of its own over node @name, with the permission a write
 * needs when @write; NULL with the error. */
static BlockBackend *node_backend(const char *name, bool write,
                                  GError **errp)
{
    BlockDriverState *bs = bdrv_find_node(name);
    BlockBackend *blk;

    if (!bs) {
        error_setg(errp, "Cannot find device='' nor node-name='%s'", name);
        return NULL;
    }
    blk = blk_new(NULL);
    if (!blk_insert_bs(blk, bs, errp) ||
        (write && !blk_set_perm(blk, BLK_PERM_CONSISTENT_READ |
                                BLK_PERM_WRITE, BLK_PERM_ALL, errp))) {
        blk_delete(blk);
        return NULL;
    }
    return blk;
}

/* qemu-io [-d] device "command" */
void hmp_qemu_io(Monitor *mon, const char *args)
{
    GError *err = NULL;
    g_auto(GStrv) words = hmp_split_args(args, &err);
    g_auto(GStrv) cmd = NULL;
    BlockBackend *blk, *own = NULL;
    const char *device, *line;
    bool by_dev;
    int i = 0;

    if (!words) {
        monitor_printf(mon, "qemu-io: %s\n", err->message);
        g_error_free(err);
        return;
    }
    by_dev = words[0] && !strcmp(words[0], "-d");
    i = by_dev;
    device = words[i];
    line = device ? words[i + 1] : NULL;
    if (!device || !line || words[i + 2]) {
        monitor_printf(mon, "qemu-io: %s expected\n"
                       "Try \"help qemu-io\" for more information\n",
                       device ? "string" : "block device name");
        return;
    }
    cmd = hmp_split_args(line, &err);
    if (!cmd || !cmd[0]) {
        if (err) {
            printf("%s\n", err->message);
            g_error_free(err);
        }
        return;
    }
    if (by_dev) {
        blk = blk_by_dev_id(device);
        if (!blk) {
            monitor_printf(mon, "Error: Device '%s' not found\n", device);
            return;
        }
    } else {
        blk = blk_by_name(device);
        if (!blk) {
            own = node_backend(device, !strcmp(cmd[0], "write"), &err);
            if (!own) {
                monitor_printf(mon, "Error: %s\n", err->message);
                g_error_free(err);
                return;
            }
            blk = own;
        }
    }
    if (!blk_is_available(blk)) {
        monitor_printf(mon, "Error: Device '%s' has no medium\n", device);
    } else {
        run_command(blk, cmd);
    }
    if (own) {
        blk_delete(own);
    }
}
