/*
 * libFuzzer target: the qcow2 header and metadata parser.
 *
 * The input is an image file (in a memfd).  It is opened read-only and
 * read through (data, block status, the consistency check), then opened
 * read-write and written to once.  Oracles besides the sanitizers:
 *   - a failed open gives one line naming the image;
 *   - a read-only open, read and check leave the file byte-for-byte as
 *     it was.
 */
#include "qemu/osdep.h"
#include "block/block.h"

#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (4 * MiB)
#define READ_LIMIT (8 * MiB)

static int image_fd(const uint8_t *data, size_t size, char *path,
                    size_t path_len)
{
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

    g_assert(fd >= 0);
    g_assert(write(fd, data, size) == (ssize_t)size);
    snprintf(path, path_len, "/proc/self/fd/%d", fd);
    return fd;
}

static void check_error(GError *err, const char *path)
{
    g_assert(err);
    g_assert(strstr(err->message, path));
    g_assert(!strchr(err->message, '\n'));
    g_error_free(err);
}

static void read_through(BlockDriverState *bs)
{
    uint64_t len = MIN(bdrv_getlength(bs), READ_LIMIT), off = 0;
    uint8_t *buf = g_malloc(64 * KiB);
    BlockCheckResult res = { .log = g_string_new(NULL) };
    GError *err = NULL;

    while (off < len) {
        uint64_t n = MIN(len - off, 64 * KiB), pnum, map;
        BlockDriverState *file;

        if (!bdrv_pread(bs, off, n, buf, &err) ||
            bdrv_block_status(bs, off, n, &pnum, &map, &file, &err) < 0) {
            g_clear_error(&err);
            break;
        }
        off += n;
    }
    if (!bdrv_check(bs, &res, 0, &err)) {
        g_clear_error(&err);
    }
    g_string_free(res.log, true);
    g_free(buf);
}

static void write_once(const char *path)
{
    GError *err = NULL;
    BlockDriverState *bs = bdrv_open(path, "qcow2",
                                     BDRV_O_RDWR | BDRV_O_NO_BACKING | BDRV_O_UNMAP, &err);
    uint8_t buf[4096];

    if (!bs) {
        check_error(err, path);
        return;
    }
    memset(buf, 0x5a, sizeof(buf));
    if (bdrv_getlength(bs) >= 2 * sizeof(buf) &&
        (!bdrv_pwrite(bs, 1000, sizeof(buf), buf, &err) ||
         !bdrv_pwrite_zeroes(bs, 0, sizeof(buf), BDRV_REQ_MAY_UNMAP, &err))) {
        check_error(err, path);
        err = NULL;
    }
    bdrv_flush(bs, NULL);
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    GError *err = NULL;
    BlockDriverState *bs;
    uint8_t *after;
    int fd;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    fd = image_fd(data, size, path, sizeof(path));
    bs = bdrv_open(path, "qcow2", BDRV_O_NO_BACKING, &err);
    if (bs) {
        read_through(bs);
        bdrv_unref(bs);
    } else {
        check_error(err, path);
    }
    /* Read-only use wrote nothing. */
    after = g_malloc(MAX(size, 1));
    g_assert(pread(fd, after, size, 0) == (ssize_t)size);
    g_assert(lseek(fd, 0, SEEK_END) == (off_t)size);
    g_assert(!memcmp(after, data, size));
    g_free(after);
    write_once(path);
    close(fd);
    return 0;
}
