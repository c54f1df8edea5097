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

int main(int argc, char **argv)
{
    const char *fmt = NULL;
    GError *err = NULL;
    BlockDriverState *bs;
    int i = 1;

    if (argc > 2 && !strcmp(argv[1], "-f")) {
        fmt = argv[2];
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: kvmpc-io [-f FMT] IMAGE OP...\n");
        return 1;
    }
    bs = bdrv_open(argv[i++], fmt, BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    while (bs && i < argc) {
        int used = 0;

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
