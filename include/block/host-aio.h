/*
 * Host AIO engines for the file protocol driver (block/file-posix.c):
 *
 * - io_uring (block/io-uring.c, liburing): aio=io_uring;
 * - Linux native AIO (block/linux-aio.c, the io_setup/io_submit/
 *   io_getevents system calls): aio=native, O_DIRECT only.
 *
 * Each node opened with one of them owns an engine: a fixed number of
 * preallocated request slots (no allocation per request on the data path)
 * and a file descriptor that polls readable on completion (io_uring: the
 * ring's own; Linux AIO: an eventfd), watched by the node's AioContext (a
 * GMainContext), where the completions run.  Submitters may
 * be on any thread.  Short reads and writes are resubmitted for the rest.
 *
 * Synchronous requests (bdrv_pread/pwrite/flush from a device model)
 * go through a small engine private to the calling thread, created on
 * first use, so they need no lock and never wait behind a context.
 */
#ifndef BLOCK_HOST_AIO_H
#define BLOCK_HOST_AIO_H

#include "block/block-int.h"

#define HOST_AIO_SLOTS 128      /* requests in flight per node */

#include <fcntl.h>

/*
 * A short read: resubmit the rest, or is it the end of the file?  With
 * O_DIRECT the rest would start unaligned (EINVAL), and a regular file or
 * block device only reads short at its end, so then it is the end.
 * Short reads are rare: one fcntl for them is fine.
 */
static inline bool short_read_is_eof(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl >= 0 && (fl & O_DIRECT);
}

typedef struct LuringState LuringState;
typedef struct LinuxAioState LinuxAioState;

/* NULL with one line (why the kernel refused, what to use instead). */
LuringState *luring_init(const char *filename, GMainContext *ctx,
                         GError **errp);
void luring_cleanup(LuringState *s);
void luring_attach_aio_context(LuringState *s, GMainContext *ctx);
/* false: no free slot now (the caller uses the thread pool). */
bool luring_submit(LuringState *s, int fd, const BdrvAioRequest *req);
/* Between these, submissions are queued and sent together at the end. */
void luring_plug(LuringState *s);
void luring_unplug(LuringState *s);
/* One request through this thread's ring; 0 or -errno.  Reads past the
 * end of the file give zeroes; a write that makes no progress is
 * -ENOSPC. */
int luring_sync(int fd, BdrvAioOp op, uint64_t off, uint64_t len, void *buf,
                bool fua);

LinuxAioState *laio_init(const char *filename, GMainContext *ctx,
                         GError **errp);
void laio_cleanup(LinuxAioState *s);
void laio_attach_aio_context(LinuxAioState *s, GMainContext *ctx);
/* Reads and writes only (flushes go to the thread pool, as in QEMU). */
bool laio_submit(LinuxAioState *s, int fd, const BdrvAioRequest *req);
/* Between these, submissions are queued and sent together at the end. */
void laio_plug(LinuxAioState *s);
void laio_unplug(LinuxAioState *s);
int laio_sync(int fd, BdrvAioOp op, uint64_t off, uint64_t len, void *buf,
              bool fua);

#endif
