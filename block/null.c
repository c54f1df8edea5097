/*
 * The "null-co" and "null-aio" protocol drivers: a disk of @size bytes
 * that stores nothing, as QEMU's block/null.c behaves (its documented
 * options in qapi/block-core.json, BlockdevOptionsNull):
 *
 *   driver=null-co|null-aio[,size=BYTES][,latency-ns=NS][,read-zeroes=on]
 *   file=null-co:// (or null-aio://) with -drive
 *
 * size        the virtual size (default 1 GiB)
 * latency-ns  every request takes this long (default 0)
 * read-zeroes reads fill the buffer with zeroes (default off: the buffer
 *             is left as it was, as QEMU's default, for benchmarks)
 *
 * Writes, discards and write-zeroes succeed and are dropped; flushes
 * complete at once.
 * Requests run on the block layer's worker threads, so a request with a
 * latency is genuinely in flight meanwhile: tests use that to hold one
 * across a 'stop' or a migration.  The two names behave the same here
 * (QEMU's differ only in using coroutines or AIO callbacks inside).
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "qobject/qdict.h"

#define NULL_DEFAULT_SIZE   (1ULL << 30)
/* A latency above this is surely a typo for a unit (a minute). */
#define NULL_MAX_LATENCY_NS (60ULL * 1000000000ULL)

typedef struct NullState {
    uint64_t latency_ns;
    bool read_zeroes;
} NullState;

static const BlockOptionDesc null_options[] = {
    { "size", BOPT_INT },
    { "latency-ns", BOPT_INT },
    { "read-zeroes", BOPT_BOOL },
    { NULL },
};

static bool null_open_options(BlockDriverState *bs, QDict *opts, int flags,
                              GError **errp)
{
    NullState *s = bs->opaque;
    int64_t size, latency;

    if (!bdrv_opt_get_int(opts, "size", NULL_DEFAULT_SIZE, &size,
                          bs->drv->format_name, errp) ||
        !bdrv_opt_get_int(opts, "latency-ns", 0, &latency,
                          bs->drv->format_name, errp) ||
        !bdrv_opt_get_bool(opts, "read-zeroes", false, &s->read_zeroes,
                           bs->drv->format_name, errp)) {
        return false;
    }
    if (size < 0) {
        error_setg(errp, "%s: 'size' must not be negative",
                   bs->drv->format_name);
        return false;
    }
    if (latency < 0 || (uint64_t)latency > NULL_MAX_LATENCY_NS) {
        error_setg(errp, "%s: latency-ns is invalid (0 to %llu)",
                   bs->drv->format_name, NULL_MAX_LATENCY_NS);
        return false;
    }
    bs->size = size;
    s->latency_ns = latency;
    return true;
}

/* -drive file=null-co://: the defaults. */
static bool null_open(BlockDriverState *bs, const char *filename, int flags,
                      GError **errp)
{
    NullState *s = bs->opaque;
    size_t plen = strlen(bs->drv->protocol_name);

    if (strncmp(filename, bs->drv->protocol_name, plen) ||
        strcmp(filename + plen, "://")) {
        error_setg(errp, "%s: the file name must be '%s://' (options go in "
                   "-blockdev keys)", bs->drv->format_name,
                   bs->drv->protocol_name);
        return false;
    }
    bs->size = NULL_DEFAULT_SIZE;
    s->latency_ns = 0;
    s->read_zeroes = false;
    return true;
}

static void null_wait(BlockDriverState *bs)
{
    NullState *s = bs->opaque;

    if (s->latency_ns) {
        struct timespec ts = {
            .tv_sec = s->latency_ns / 1000000000ULL,
            .tv_nsec = s->latency_ns % 1000000000ULL,
        };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            /* the rest of it */
        }
    }
}

static bool null_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                       void *buf, GError **errp)
{
    NullState *s = bs->opaque;

    null_wait(bs);
    if (s->read_zeroes) {
        memset(buf, 0, len);
    }
    return true;
}

static bool null_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                        const void *buf, GError **errp)
{
    null_wait(bs);
    return true;
}

static bool null_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                               uint64_t len, int flags, GError **errp)
{
    null_wait(bs);
    return true;
}

static bool null_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                          GError **errp)
{
    null_wait(bs);
    return true;
}

/* Nothing is ever cached: a flush is done at once, latency or not. */
static bool null_flush(BlockDriverState *bs, GError **errp)
{
    return true;
}

/* Reads are zeroes only with read-zeroes; otherwise "data" (QEMU). */
static int null_block_status(BlockDriverState *bs, uint64_t off,
                             uint64_t len, uint64_t *pnum, uint64_t *map,
                             BlockDriverState **file, GError **errp)
{
    NullState *s = bs->opaque;

    *pnum = len;
    *map = off;
    *file = bs;
    return BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID |
           (s->read_zeroes ? BDRV_BLOCK_ZERO : BDRV_BLOCK_DATA);
}

#define NULL_DRIVER(NAME)                           \
    {                                               \
        .format_name = NAME,                        \
        .protocol_name = NAME,                      \
        .instance_size = sizeof(NullState),         \
        .is_protocol = true,                        \
        .options = null_options,                    \
        .open_options = null_open_options,          \
        .open = null_open,                          \
        .pread = null_pread,                        \
        .pwrite = null_pwrite,                      \
        .pwrite_zeroes = null_pwrite_zeroes,        \
        .pdiscard = null_pdiscard,                  \
        .flush = null_flush,                        \
        .block_status = null_block_status,          \
    }

const BlockDriver bdrv_null_co_driver = NULL_DRIVER("null-co");
const BlockDriver bdrv_null_aio_driver = NULL_DRIVER("null-aio");
