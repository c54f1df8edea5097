/*
 * kvmpc-io: a tiny qemu-io for the tests: applies requests to an image
 * through the block layer, so a test can do the same with qemu-io and
 * compare.  Usage: kvmpc-io [-f FMT] IMAGE OP...   where OP is
 *   write OFF LEN BYTE | zero OFF LEN | discard OFF LEN |
 *   compress OFF LEN BYTE | verify OFF LEN BYTE
 * Numbers take size suffixes (64k, 1M).  Exit 0, or 1 with one line.
 */
#include "qemu/osdep.h"
#include "block/block.h"

static uint64_t num(const char *s)
{
    uint64_t v;
    GError *err = NULL;

    if (!parse_size(s, 1, &v, &err)) {
        fprintf(stderr, "kvmpc-io: %s\n", err->message);
        exit(1);
    }
    return v;
}

static bool run_op(BlockDriverState *bs, char **a, int *used, GError **errp)
{
    uint64_t off = num(a[1]), len = num(a[2]);
    uint8_t *buf = g_malloc(MAX(len, 1));
    bool ok;

    *used = 3;
    if (!strcmp(a[0], "write") || !strcmp(a[0], "compress") ||
        !strcmp(a[0], "verify")) {
        memset(buf, num(a[3]), len);
        *used = 4;
    }
    if (!strcmp(a[0], "write")) {
        ok = bdrv_pwrite(bs, off, len, buf, errp);
    } else if (!strcmp(a[0], "compress")) {
        ok = bdrv_pwrite_compressed(bs, off, len, buf, errp);
    } else if (!strcmp(a[0], "zero")) {
        ok = bdrv_pwrite_zeroes(bs, off, len, BDRV_REQ_MAY_UNMAP, errp);
    } else if (!strcmp(a[0], "discard")) {
        ok = bdrv_pdiscard(bs, off, len, errp);
    } else if (!strcmp(a[0], "verify")) {
        uint8_t *got = g_malloc(MAX(len, 1));

        ok = bdrv_pread(bs, off, len, got, errp);
        if (ok && memcmp(got, buf, len)) {
            error_setg(errp, "verify %s+%s: content differs", a[1], a[2]);
            ok = false;
        }
        g_free(got);
    } else {
        error_setg(errp, "unknown operation '%s'", a[0]);
        ok = false;
    }
    g_free(buf);
    return ok;
}

/* aioread: [off, off+len) in chunk-sized bdrv_aio_pread requests, depth
 * of them in flight, completions on the main context (bench/aio-read.py). */
typedef struct AioRead {
    BlockDriverState *bs;
    uint64_t next, end, chunk;
    unsigned in_flight;
    GError *err;
} AioRead;

static void aio_read_next(AioRead *r, uint8_t *buf);

static void aio_read_done(void *opaque, GError *err)
{
    uint8_t **slot = opaque;
    AioRead *r = (AioRead *)slot[1];

    r->in_flight--;
    if (err && !r->err) {
        r->err = g_error_copy(err);
    }
    if (!r->err) {
        aio_read_next(r, slot[0]);
    }
}

static void aio_read_next(AioRead *r, uint8_t *buf)
{
    uint8_t **slot = (uint8_t **)(buf + r->chunk);
    uint64_t n = MIN(r->chunk, r->end - r->next);

    if (!n) {
        return;
    }
    slot[0] = buf;
    slot[1] = (uint8_t *)r;
    r->in_flight++;
    bdrv_aio_pread(r->bs, r->next, n, buf, aio_read_done, slot);
    r->next += n;
}

static bool aio_read(BlockDriverState *bs, char **a, GError **errp)
{
    AioRead r = { .bs = bs, .next = num(a[1]), .chunk = num(a[3]) };
    unsigned depth = num(a[4]);
    uint8_t *bufs;

    r.end = r.next + num(a[2]);
    if (!r.chunk || !depth || depth > 1024 ||
        posix_memalign((void **)&bufs, 4096,
                       (r.chunk + 4096) * depth)) {
        error_setg(errp, "aioread: bad chunk or depth");
        return false;
    }
    for (unsigned i = 0; i < depth; i++) {
        aio_read_next(&r, bufs + i * (r.chunk + 4096));
    }
    while (r.in_flight) {
        g_main_context_iteration(NULL, TRUE);
    }
    free(bufs);
    if (r.err) {
        g_propagate_error(errp, r.err);
        return false;
    }
    return true;
}

/* portal=HOST[:PORT],target=IQN,lun=N[,user=U,password=P]
 * [,initiator-name=IQN]: the options -blockdev driver=iscsi takes. */
static BlockDriverState *open_iscsi_opts(const char *spec, const char *fmt,
                                         int flags, GError **errp)
{
    g_auto(GStrv) kv = g_strsplit(spec, ",", -1);
    BlockIscsiOptions o = { .lun = 0 };
    BlockDriverState *file;

    for (char **p = kv; *p; p++) {
        char *eq = strchr(*p, '=');

        if (!eq) {
            error_setg(errp, "bad iSCSI option '%s'", *p);
            return NULL;
        }
        *eq++ = 0;
        if (!strcmp(*p, "portal")) {
            o.portal = eq;
        } else if (!strcmp(*p, "target")) {
            o.target = eq;
        } else if (!strcmp(*p, "lun")) {
            o.lun = atoi(eq);
        } else if (!strcmp(*p, "transport")) {
            o.transport = eq;
        } else if (!strcmp(*p, "user")) {
            o.user = eq;
        } else if (!strcmp(*p, "password")) {
            o.password = eq;
        } else if (!strcmp(*p, "initiator-name")) {
            o.initiator_name = eq;
        } else {
            error_setg(errp, "unknown iSCSI option '%s'", *p);
            return NULL;
        }
    }
    file = bdrv_iscsi_open(&o, flags, errp);
    return file ? bdrv_open_on_file(file, fmt ? fmt : "raw", flags, errp)
                : NULL;
}

static const char usage[] =
    "usage: kvmpc-io [-f FMT] [-t CACHE] [-a AIO] IMAGE OP...\n"
    "       kvmpc-io [-f FMT] --iscsi portal=..,target=..,lun=.. OP...\n";

int main(int argc, char **argv)
{
    const char *fmt = NULL, *iscsi = NULL;
    GError *err = NULL;
    BlockDriverState *bs = NULL;
    int flags = BDRV_O_RDWR | BDRV_O_UNMAP;
    int i = 1;

    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (!strcmp(argv[i], "-f")) {
            fmt = argv[i + 1];
        } else if (!strcmp(argv[i], "-t")) {
            bdrv_parse_cache_mode(argv[i + 1], &flags, &err);
        } else if (!strcmp(argv[i], "-a")) {
            bdrv_parse_aio_mode(argv[i + 1], &flags, &err);
        } else if (!strcmp(argv[i], "--iscsi")) {
            iscsi = argv[i + 1];
            break;
        } else {
            fputs(usage, stderr);
            return 1;
        }
    }
    if (iscsi) {
        i += 2;
        bs = err ? NULL : open_iscsi_opts(iscsi, fmt, flags, &err);
    } else if (i >= argc) {
        fputs(usage, stderr);
        return 1;
    } else {
        const char *image = argv[i++];

        bs = err ? NULL : bdrv_open(image, fmt, flags, &err);
    }
    while (bs && i < argc) {
        int used = 0;

        if (!strcmp(argv[i], "flush")) {
            if (!bdrv_flush(bs, &err)) {
                break;
            }
            i++;
            continue;
        }
        if (!strcmp(argv[i], "aioread") && argc - i >= 5) {
            if (!aio_read(bs, argv + i, &err)) {
                break;
            }
            i += 5;
            continue;
        }
        if (!strcmp(argv[i], "wait")) {
            /* The test changes something (stops the target...) and says
             * when to go on with a line on stdin. */
            char line[64];

            printf("waiting\n");
            fflush(stdout);
            if (!fgets(line, sizeof(line), stdin)) {
                break;
            }
            i++;
            continue;
        }
        if (argc - i < 3 || !run_op(bs, argv + i, &used, &err)) {
            if (!err) {
                error_setg(&err, "'%s': incomplete operation", argv[i]);
            }
            break;
        }
        i += used;
    }
    if (bs && !err) {
        bdrv_flush(bs, &err);
    }
    bdrv_unref(bs);
    if (err) {
        fprintf(stderr, "kvmpc-io: %s\n", err->message);
        return 1;
    }
    return 0;
}
