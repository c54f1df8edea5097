/*
 * The "file" protocol driver: a host file or block device, accessed with
 * pread/pwrite (POSIX), fdatasync, fallocate (Linux fallocate(2): hole
 * punching and zero ranges), the BLKDISCARD/BLKZEROOUT ioctls on block
 * devices and lseek SEEK_DATA/SEEK_HOLE for sparseness.
 *
 * cache=none/directsync open with O_DIRECT; the generic layer then
 * bounces requests that are not aligned to request_alignment.
 *
 * aio=io_uring and aio=native (include/block/host-aio.h) replace
 * pread/pwrite (and, for io_uring, fdatasync) with the host engine, for
 * synchronous requests and for bdrv_aio_* requests taken without a
 * worker thread.
 *
 * Image locking (block/permissions.c decides what a node holds): Linux
 * open file description locks (fcntl(2) F_OFD_SETLK/F_OFD_GETLK), shared
 * read locks on byte 100 + i for each permission bit i the node holds
 * and on byte 200 + i for each it does not share, QEMU's layout.  A
 * conflicting lock is one another open file description holds: another
 * process, or another node on the same file in this one (QEMU refuses
 * that too).  locking=auto (default) goes without where the file system
 * has no OFD locks; locking=on fails there; locking=off takes none.
 */
#include "qemu/osdep.h"
#include "qemu/fdset.h"
#include "block/block-int.h"
#include "block/host-aio.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

typedef struct FileState {
    int fd;
    bool is_blockdev;
#ifdef CONFIG_LINUX_IO_URING
    LuringState *luring;        /* aio=io_uring */
#endif
    LinuxAioState *laio;        /* aio=native */
    bool use_locks;             /* locking=auto|on and the fs has them */
    bool locks_required;        /* locking=on */
    unsigned locked_perm;       /* bytes 100 + i held */
    unsigned locked_unshared;   /* bytes 200 + i held */
    bool nowait_refused;        /* preadv2 said RWF_NOWAIT is not here */
} FileState;

#define LOCK_PERM_BASE   100
#define LOCK_SHARED_BASE 200

static bool file_error(BlockDriverState *bs, int err, const char *what,
                       GError **errp)
{
    /* The errno travels with the error (werror=enospc needs it). */
    bdrv_error_setg_errno(errp, err, "'%s': %s: %s", bs->filename, what,
                          g_strerror(err));
    return false;
}

static uint32_t direct_io_alignment(int fd, bool is_blockdev)
{
    int ssize = 0;

    if (is_blockdev && ioctl(fd, BLKSSZGET, &ssize) == 0 && ssize > 0) {
        return ssize;
    }
    /* Regular files: 4 KiB satisfies every Linux file system's O_DIRECT
     * rules (some accept 512, none need more than the page size). */
    return 4096;
}

static bool file_open_aio(BlockDriverState *bs, int flags, GError **errp)
{
    FileState *s = bs->opaque;

    if (flags & BDRV_O_AIO_NATIVE) {
        if (!(flags & BDRV_O_NOCACHE)) {
            error_setg(errp, "'%s': aio=native needs cache.direct=on "
                       "(cache=none or cache=directsync)", bs->filename);
            return false;
        }
        s->laio = laio_init(bs->filename, bdrv_get_aio_context(bs), errp);
        return s->laio != NULL;
    }
    if (flags & BDRV_O_AIO_IO_URING) {
#ifdef CONFIG_LINUX_IO_URING
        s->luring = luring_init(bs->filename, bdrv_get_aio_context(bs),
                                errp);
        return s->luring != NULL;
#else
        error_setg(errp, "'%s': aio=io_uring: this kvmpc was built without "
                   "liburing", bs->filename);
        return false;
#endif
    }
    return true;
}

static bool file_open(BlockDriverState *bs, const char *filename, int flags,
                      GError **errp)
{
    FileState *s = bs->opaque;
    int oflags = O_CLOEXEC | ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY);
    struct stat st;
    off_t end;

    if (flags & BDRV_O_NOCACHE) {
        oflags |= O_DIRECT;
    }
    /* On failure the caller runs file_close, which closes what is open. */
    s->fd = qemu_open(filename, oflags, 0);    /* also /dev/fdset/N */
    if (s->fd < 0) {
        int err = errno;

        if (err == EINVAL && (flags & BDRV_O_NOCACHE)) {
            error_setg(errp, "'%s': the file system does not support "
                       "O_DIRECT (cache=none/directsync)", filename);
            return false;
        }
        return file_error(bs, err, "cannot open", errp);
    }
    if (fstat(s->fd, &st) < 0) {
        return file_error(bs, errno, "cannot stat", errp);
    }
    if (S_ISDIR(st.st_mode)) {
        return file_error(bs, EISDIR, "cannot open", errp);
    }
    s->is_blockdev = S_ISBLK(st.st_mode);
    end = lseek(s->fd, 0, SEEK_END);    /* block devices have st_size 0 */
    if (end < 0) {
        return file_error(bs, errno, "cannot find the size", errp);
    }
    bs->size = end;
    if (flags & BDRV_O_NOCACHE) {
        bs->request_alignment = direct_io_alignment(s->fd, s->is_blockdev);
        bs->buf_alignment = bs->request_alignment;
    }
    s->use_locks = !(flags & BDRV_O_LOCK_OFF);
    s->locks_required = flags & BDRV_O_LOCK_ON;
    return file_open_aio(bs, flags, errp);
}

/* ---- image locking --------------------------------------------------- */

static int lock_byte(int fd, int cmd, short type, off_t byte)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
                        .l_start = byte, .l_len = 1 };

    return fcntl(fd, cmd, &fl) < 0 ? -errno : fl.l_type;
}

/* Hold exactly the lock bytes of @perm and @unshared. */
static int apply_lock_bytes(int fd, unsigned perm, unsigned unshared)
{
    for (unsigned i = 0; i < BLK_PERM_COUNT; i++) {
        int r = lock_byte(fd, F_OFD_SETLK,
                          (perm & (1u << i)) ? F_RDLCK : F_UNLCK,
                          LOCK_PERM_BASE + i);
        if (r >= 0) {
            r = lock_byte(fd, F_OFD_SETLK,
                          (unshared & (1u << i)) ? F_RDLCK : F_UNLCK,
                          LOCK_SHARED_BASE + i);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* Does another open file description hold @byte? */
static bool byte_taken(int fd, off_t byte)
{
    return lock_byte(fd, F_OFD_GETLK, F_WRLCK, byte) != F_UNLCK;
}

/* Nobody else forbids what we do, nor does what we forbid (QEMU's order
 * and words). */
static bool check_lock_bytes(BlockDriverState *bs, int fd, unsigned perm,
                             unsigned unshared, GError **errp)
{
    for (unsigned i = 0; i < BLK_PERM_COUNT; i++) {
        if ((perm & (1u << i)) && byte_taken(fd, LOCK_SHARED_BASE + i)) {
            error_setg(errp, "Failed to get \"%s\" lock\nIs another "
                       "process using the image [%s]?", bdrv_perm_name(i),
                       bs->filename);
            return false;
        }
    }
    for (unsigned i = 0; i < BLK_PERM_COUNT; i++) {
        if ((unshared & (1u << i)) && byte_taken(fd, LOCK_PERM_BASE + i)) {
            error_setg(errp, "Failed to get shared \"%s\" lock\nIs another "
                       "process using the image [%s]?", bdrv_perm_name(i),
                       bs->filename);
            return false;
        }
    }
    return true;
}

/* The file system refused OFD locks: locking=auto goes on without. */
static bool locks_unsupported(BlockDriverState *bs, int err, GError **errp)
{
    FileState *s = bs->opaque;

    if (s->locks_required) {
        error_setg(errp, "'%s': locking=on: the file system has no OFD "
                   "locks: %s", bs->filename, g_strerror(-err));
        return false;
    }
    s->use_locks = false;
    apply_lock_bytes(s->fd, 0, 0);
    s->locked_perm = s->locked_unshared = 0;
    return true;
}

static bool file_check_perm(BlockDriverState *bs, unsigned perm,
                            unsigned shared, GError **errp)
{
    FileState *s = bs->opaque;
    unsigned unshared = BLK_PERM_ALL & ~shared;
    int r;

    if (!s->use_locks) {
        return true;
    }
    /* take the union first: nobody can slip in between check and set */
    r = apply_lock_bytes(s->fd, s->locked_perm | perm,
                         s->locked_unshared | unshared);
    if (r < 0) {
        if (r == -EINVAL || r == -ENOLCK || r == -EOPNOTSUPP) {
            return locks_unsupported(bs, r, errp);
        }
        apply_lock_bytes(s->fd, s->locked_perm, s->locked_unshared);
        return file_error(bs, -r, "cannot lock", errp);
    }
    if (!check_lock_bytes(bs, s->fd, perm, unshared, errp)) {
        apply_lock_bytes(s->fd, s->locked_perm, s->locked_unshared);
        return false;
    }
    return true;
}

static void file_set_perm(BlockDriverState *bs, unsigned perm,
                          unsigned shared)
{
    FileState *s = bs->opaque;

    if (!s->use_locks) {
        return;
    }
    s->locked_perm = perm;
    s->locked_unshared = BLK_PERM_ALL & ~shared;
    /* only releases bytes check_perm took: cannot fail */
    apply_lock_bytes(s->fd, s->locked_perm, s->locked_unshared);
}

static void file_abort_perm(BlockDriverState *bs)
{
    FileState *s = bs->opaque;

    if (s->use_locks) {
        apply_lock_bytes(s->fd, s->locked_perm, s->locked_unshared);
    }
}

/* A new file description in the new mode, holding the same lock bytes
 * (OFD read locks of one process's two descriptions do not conflict),
 * then the old one goes. */
static bool file_reopen(BlockDriverState *bs, int flags, GError **errp)
{
    FileState *s = bs->opaque;
    int oflags = O_CLOEXEC | ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY);
    int fd;

    if (flags & BDRV_O_NOCACHE) {
        oflags |= O_DIRECT;
    }
    fd = qemu_open(bs->filename, oflags, 0);
    if (fd < 0) {
        return file_error(bs, errno, "cannot reopen", errp);
    }
    if (s->use_locks) {
        int r = apply_lock_bytes(fd, s->locked_perm, s->locked_unshared);

        if (r < 0) {
            close(fd);
            return file_error(bs, -r, "cannot lock", errp);
        }
    }
    close(s->fd);
    s->fd = fd;
    return true;
}

static bool file_refresh_size(BlockDriverState *bs, GError **errp)
{
    FileState *s = bs->opaque;
    off_t end = lseek(s->fd, 0, SEEK_END);

    if (end < 0) {
        return file_error(bs, errno, "cannot find the size", errp);
    }
    bs->size = end;
    return true;
}

static void file_close(BlockDriverState *bs)
{
    FileState *s = bs->opaque;

#ifdef CONFIG_LINUX_IO_URING
    luring_cleanup(s->luring);
#endif
    laio_cleanup(s->laio);
    if (s->fd >= 0) {
        close(s->fd);
    }
}

/* A read, write or flush through the node's host engine, if it has one;
 * -ENOSYS when it has none. */
static int engine_sync(BlockDriverState *bs, BdrvAioOp op, uint64_t off,
                       uint64_t len, void *buf)
{
    FileState *s = bs->opaque;

#ifdef CONFIG_LINUX_IO_URING
    if (s->luring) {
        return luring_sync(s->fd, op, off, len, buf, false);
    }
#endif
    if (s->laio && op != BDRV_AIO_FLUSH) {
        return laio_sync(s->fd, op, off, len, buf, false);
    }
    return -ENOSYS;
}

static bool file_aio_submit(BlockDriverState *bs, const BdrvAioRequest *req)
{
    FileState *s = bs->opaque;

#ifdef CONFIG_LINUX_IO_URING
    if (s->luring) {
        return luring_submit(s->luring, s->fd, req);
    }
#endif
    return s->laio && laio_submit(s->laio, s->fd, req);
}

static void file_io_plug(BlockDriverState *bs, bool plug)
{
    FileState *s = bs->opaque;

#ifdef CONFIG_LINUX_IO_URING
    if (s->luring) {
        (plug ? luring_plug : luring_unplug)(s->luring);
    }
#endif
    if (s->laio) {
        (plug ? laio_plug : laio_unplug)(s->laio);
    }
}

static void file_attach_aio_context(BlockDriverState *bs, GMainContext *ctx)
{
    FileState *s = bs->opaque;

#ifdef CONFIG_LINUX_IO_URING
    if (s->luring) {
        luring_attach_aio_context(s->luring, ctx);
    }
#endif
    if (s->laio) {
        laio_attach_aio_context(s->laio, ctx);
    }
}

/*
 * A read the page cache can serve at once (RWF_NOWAIT: EAGAIN where the
 * kernel would have to wait for the disk), whatever the aio= engine.
 * O_DIRECT files never get here (bdrv_try_preadv_nowait: their requests
 * are aligned for the device, which is always a wait).  A short read (the
 * end of the file, a range cached in part) sends the request the usual
 * way, which reads it whole or gives the zeroes past the end.
 */
static bool file_try_preadv_nowait(BlockDriverState *bs, uint64_t off,
                                   const struct iovec *iov, int niov,
                                   uint64_t bytes)
{
    FileState *s = bs->opaque;
    ssize_t n;

    if (niov > IOV_MAX || (bs->flags & BDRV_O_NOCACHE) ||
        __atomic_load_n(&s->nowait_refused, __ATOMIC_RELAXED)) {
        return false;
    }
    do {
        n = preadv2(s->fd, iov, niov, off, RWF_NOWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EOPNOTSUPP) {
        __atomic_store_n(&s->nowait_refused, true, __ATOMIC_RELAXED);
    }
    return n >= 0 && (uint64_t)n == bytes;
}

static bool file_pread(BlockDriverState *bs, uint64_t off, uint64_t len,
                       void *buf, GError **errp)
{
    FileState *s = bs->opaque;
    uint8_t *p = buf;
    int ret = engine_sync(bs, BDRV_AIO_READ, off, len, buf);

    if (ret != -ENOSYS) {
        return ret == 0 || file_error(bs, -ret, "read failed", errp);
    }
    while (len) {
        ssize_t n = pread(s->fd, p, MIN(len, 1 * GiB), off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return file_error(bs, errno, "read failed", errp);
        }
        if (n == 0 || ((uint64_t)n < MIN(len, 1 * GiB) &&
                       (bs->flags & BDRV_O_NOCACHE))) {
            /* past the end of the file: zeroes (with O_DIRECT a short read
             * is the end: the rest would start unaligned) */
            memset(p + n, 0, len - n);
            break;
        }
        p += n;
        off += n;
        len -= n;
    }
    return true;
}

static bool file_pwrite(BlockDriverState *bs, uint64_t off, uint64_t len,
                        const void *buf, GError **errp)
{
    FileState *s = bs->opaque;
    const uint8_t *p = buf;
    uint64_t end = off + len;
    int ret = engine_sync(bs, BDRV_AIO_WRITE, off, len, (void *)buf);

    if (ret != -ENOSYS) {
        if (ret < 0) {
            return file_error(bs, -ret, "write failed", errp);
        }
        bdrv_grow_size(bs, end);
        return true;
    }
    while (len) {
        ssize_t n = pwrite(s->fd, p, MIN(len, 1 * GiB), off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return file_error(bs, n < 0 ? errno : ENOSPC, "write failed",
                              errp);
        }
        p += n;
        off += n;
        len -= n;
    }
    bdrv_grow_size(bs, end);
    return true;
}

static bool file_pwrite_zeroes(BlockDriverState *bs, uint64_t off,
                               uint64_t len, int flags, GError **errp)
{
    FileState *s = bs->opaque;
    uint64_t size = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);

    if (s->is_blockdev) {
        uint64_t range[2] = { off, len };

        /* The device zeroes (and may unmap) the range itself. */
        if (ioctl(s->fd, BLKZEROOUT, range) == 0) {
            return true;
        }
    } else {
        /* Punching a hole leaves the file's size alone, so only use it
         * inside the file; past the end, grow it with a zero range. */
        if ((flags & BDRV_REQ_MAY_UNMAP) && off + len <= size &&
            fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      off, len) == 0) {
            return true;
        }
        if (fallocate(s->fd, FALLOC_FL_ZERO_RANGE, off, len) == 0) {
            bdrv_grow_size(bs, off + len);
            return true;
        }
    }
    /* No support in this file system or device: write zero buffers. */
    void *zero = g_malloc0(MIN(len, 1 * MiB));
    bool ok = true;

    while (ok && len) {
        uint64_t n = MIN(len, 1 * MiB);

        ok = file_pwrite(bs, off, n, zero, errp);
        off += n;
        len -= n;
    }
    g_free(zero);
    return ok;
}

static bool file_pdiscard(BlockDriverState *bs, uint64_t off, uint64_t len,
                          GError **errp)
{
    FileState *s = bs->opaque;
    uint64_t size = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);

    if (off >= size) {
        return true;    /* a hint; nothing to give back */
    }
    len = MIN(len, size - off);
    if (s->is_blockdev) {
        /* BLKDISCARD wants whole logical blocks. */
        int ssize = 512;
        uint64_t range[2];

        ioctl(s->fd, BLKSSZGET, &ssize);
        range[0] = ALIGN_UP(off, (uint64_t)ssize);
        range[1] = ALIGN_DOWN(off + len, (uint64_t)ssize);
        if (range[1] <= range[0]) {
            return true;
        }
        range[1] -= range[0];
        if (ioctl(s->fd, BLKDISCARD, range) < 0 && errno != EOPNOTSUPP &&
            errno != ENOTTY) {
            return file_error(bs, errno, "discard failed", errp);
        }
        return true;
    }
    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  off, len) < 0 && errno != EOPNOTSUPP) {
        return file_error(bs, errno, "discard failed", errp);
    }
    return true;
}

static bool file_flush(BlockDriverState *bs, GError **errp)
{
    FileState *s = bs->opaque;

    int ret;

    if (bs->flags & BDRV_O_NO_FLUSH) {
        return true;    /* cache=unsafe */
    }
    ret = engine_sync(bs, BDRV_AIO_FLUSH, 0, 0, NULL);
    if (ret != -ENOSYS) {
        return ret == 0 || file_error(bs, -ret, "flush failed", errp);
    }
    if (fdatasync(s->fd) < 0) {
        return file_error(bs, errno, "flush failed", errp);
    }
    return true;
}

static bool file_truncate(BlockDriverState *bs, uint64_t size, GError **errp)
{
    FileState *s = bs->opaque;

    if (s->is_blockdev) {
        if (size > bs->size) {
            error_setg(errp, "'%s': a block device cannot grow",
                       bs->filename);
            return false;
        }
        return true;
    }
    if (size > INT64_MAX || ftruncate(s->fd, size) < 0) {
        return file_error(bs, size > INT64_MAX ? EFBIG : errno,
                          "cannot resize", errp);
    }
    __atomic_store_n(&bs->size, size, __ATOMIC_RELAXED);
    return true;
}

/* Sparseness from SEEK_DATA/SEEK_HOLE: holes read as zeroes. */
static int file_block_status(BlockDriverState *bs, uint64_t off,
                             uint64_t len, uint64_t *pnum, uint64_t *map,
                             BlockDriverState **file, GError **errp)
{
    FileState *s = bs->opaque;
    uint64_t size = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);
    int ret = BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID;
    off_t data, hole;

    *map = off;
    *file = bs;
    if (off >= size) {
        *pnum = len;
        return ret | BDRV_BLOCK_ZERO;
    }
    len = MIN(len, size - off);
    data = lseek(s->fd, off, SEEK_DATA);
    if (data < 0 && errno == ENXIO) {       /* a hole up to the end */
        *pnum = len;
        return ret | BDRV_BLOCK_ZERO;
    }
    if (data < 0) {                         /* no SEEK_DATA: all data */
        *pnum = len;
        return ret | BDRV_BLOCK_DATA;
    }
    if ((uint64_t)data > off) {
        *pnum = MIN(len, (uint64_t)data - off);
        return ret | BDRV_BLOCK_ZERO;
    }
    hole = lseek(s->fd, off, SEEK_HOLE);
    *pnum = (hole < 0 || (uint64_t)hole <= off) ? len
                                               : MIN(len, (uint64_t)hole - off);
    return ret | BDRV_BLOCK_DATA;
}

static int64_t file_allocated_size(BlockDriverState *bs)
{
    FileState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -1;
    }
    return (int64_t)st.st_blocks * 512;
}

static bool file_create(const char *filename, uint64_t size,
                        GHashTable *opts, GError **errp)
{
    int fd = qemu_open(filename, O_RDWR | O_CREAT | O_TRUNC, 0644);

    if (fd < 0) {
        error_setg(errp, "'%s': cannot create: %s", filename,
                   g_strerror(errno));
        return false;
    }
    if (size > INT64_MAX || ftruncate(fd, size) < 0) {
        error_setg(errp, "'%s': cannot set the size: %s", filename,
                   g_strerror(size > INT64_MAX ? EFBIG : errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

static const BlockOptionDesc file_options[] = {
    { "filename", BOPT_STRING, true },
    { "aio", BOPT_STRING },
    { "locking", BOPT_STRING },
    { NULL },
};

const BlockDriver bdrv_file_driver = {
    .options = file_options,
    .format_name = "file",
    .instance_size = sizeof(FileState),
    .is_protocol = true,
    .open = file_open,
    .close = file_close,
    .create = file_create,
    .pread = file_pread,
    .pwrite = file_pwrite,
    .pwrite_zeroes = file_pwrite_zeroes,
    .pdiscard = file_pdiscard,
    .flush = file_flush,
    .truncate = file_truncate,
    .block_status = file_block_status,
    .allocated_size = file_allocated_size,
    .aio_submit = file_aio_submit,
    .try_preadv_nowait = file_try_preadv_nowait,
    .io_plug = file_io_plug,
    .attach_aio_context = file_attach_aio_context,
    .check_perm = file_check_perm,
    .set_perm = file_set_perm,
    .abort_perm = file_abort_perm,
    .reopen = file_reopen,
    .refresh_size = file_refresh_size,
};
