/*
 * The "raw" format driver: the virtual disk is the protocol node's
 * content, byte for byte.  Every request passes straight down.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"

static int raw_probe(const uint8_t *buf, size_t len)
{
    return 1;   /* anything can be raw; any real format wins */
}

static bool raw_open(BlockDriverState *bs, const char *filename, int flags,
                     GError **errp)
{
    bs->size = bs->file->size;
    return true;
}

static bool raw_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                      void *buf, GError **errp)
{
    return bdrv_pread(bs->file, off, len, buf, errp);
}

static bool raw_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                       const void *buf, GError **errp)
{
    return bdrv_pwrite(bs->file, off, len, buf, errp);
}

static bool raw_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                              uint64_t len, int flags, GError **errp)
{
    return bdrv_pwrite_zeroes(bs->file, off, len, flags, errp);
}

static bool raw_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                         GError **errp)
{
    return bdrv_pdiscard(bs->file, off, len, errp);
}

static bool raw_flush(BlockDriverState *bs, GError **errp)
{
    return bdrv_flush(bs->file, errp);
}

static bool raw_truncate(BlockDriverState *bs, uint64_t size, GError **errp)
{
    if (!bdrv_truncate(bs->file, size, errp)) {
        return false;
    }
    bs->size = size;
    return true;
}

static int raw_block_status(BlockDriverState *bs, uint64_t off, uint64_t len,
                            uint64_t *pnum, uint64_t *map,
                            BlockDriverState **file, GError **errp)
{
    return bdrv_block_status(bs->file, off, len, pnum, map, file, errp);
}

/* The same offsets on the file: hand the request down as it is. */
static bool raw_aio_submit(BlockDriverState *bs, const BdrvAioRequest *req)
{
    BdrvAioRequest down = *req;

    down.bs = bs->file;
    return bdrv_aio_try_host(bs->file, &down);
}

static bool raw_try_preadv_nowait(BlockDriverState *bs, uint64_t off,
                                  const struct iovec *iov, int niov,
                                  uint64_t bytes)
{
    return bdrv_try_preadv_nowait(bs->file, off, iov, niov, bytes);
}

static bool raw_create(const char *filename, uint64_t size, GHashTable *opts,
                       GError **errp)
{
    return bdrv_file_driver.create(filename, size, opts, errp);
}

static const BlockOptionDesc raw_options[] = {
    { "file", BOPT_CHILD_FILE, true },
    { NULL },
};

/* A raw copy holds every byte, written or not (qemu-img's answer). */
static bool raw_measure(GHashTable *opts, uint64_t size,
                        BlockDriverState *in_bs, BlockMeasureInfo *out,
                        GError **errp)
{
    if (opts && g_hash_table_size(opts)) {
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init(&it, opts);
        g_hash_table_iter_next(&it, &k, NULL);
        error_setg(errp, "raw does not support option '%s'",
                   (const char *)k);
        return false;
    }
    out->required = in_bs ? bdrv_getlength(in_bs) : ALIGN_UP(size, 512);
    out->fully_allocated = out->required;
    return true;
}

const BlockDriver bdrv_raw_driver = {
    .perm_passthrough = true,
    .options = raw_options,
    .format_name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .create = raw_create,
    .measure = raw_measure,
    .pread = raw_pread,
    .pwrite = raw_pwrite,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .pdiscard = raw_pdiscard,
    .flush = raw_flush,
    .truncate = raw_truncate,
    .block_status = raw_block_status,
    .aio_submit = raw_aio_submit,
    .try_preadv_nowait = raw_try_preadv_nowait,
};
