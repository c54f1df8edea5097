/*
 * The byte stream a migration travels on: a file descriptor (socket,
 * pipe, file) or, for the fuzz target and tests, a buffer in memory.
 *
 * Writing: small items are copied into a fixed buffer; guest pages are
 * queued by reference (mig_put_page) and go out with the buffered bytes in
 * one writev of up to MIG_IOV_MAX pieces, so RAM is never copied or
 * allocated per page.  Reading: buffered small reads; big ones go
 * straight into the caller's memory (guest RAM) once the buffer is empty.
 *
 * Errors are sticky: after the first one every call is a no-op and
 * mig_file_error() says what happened.  Integers are big-endian.
 */
#ifndef MIGRATION_MIG_FILE_H
#define MIGRATION_MIG_FILE_H
#include "qemu/osdep.h"
#include <sys/uio.h>

#define MIG_IOV_MAX 512
#define MIG_WBUF_SIZE (64 * 1024)
#define MIG_RBUF_SIZE (64 * 1024)

typedef struct MigFile {
    int fd;                     /* -1: a memory stream */
    bool writing;
    /* memory reader (mig_file_new_mem) / memory writer (out != NULL) */
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    GByteArray *out;
    /* sink / source (mig_file_new_sink/_source): the block layer's VM
     * state area for savevm/loadvm */
    bool (*sink)(void *opaque, const struct iovec *iov, unsigned n,
                 GError **errp);
    ssize_t (*source)(void *opaque, void *buf, size_t len, GError **errp);
    void *opaque;
    /* write side */
    uint8_t *wbuf;
    size_t wlen;                /* bytes used in wbuf */
    struct iovec iov[MIG_IOV_MAX];
    unsigned niov;
    size_t pending;             /* bytes queued in iov */
    /* read side */
    uint8_t *rbuf;
    size_t rpos, rlen;
    uint64_t transferred;       /* bytes written (or read) so far */
    GError *error;              /* the first error, or NULL */
} MigFile;

MigFile *mig_file_new_fd(int fd, bool writing);
MigFile *mig_file_new_mem(const uint8_t *buf, size_t len);
MigFile *mig_file_new_membuf(GByteArray *out);   /* writes append to @out */
/* Writes go to @sink (all of @iov, or false with @errp set). */
MigFile *mig_file_new_sink(bool (*sink)(void *opaque, const struct iovec *iov,
                                        unsigned n, GError **errp),
                           void *opaque);
/* Reads come from @source: up to @len bytes, 0 at the end, -1 on error. */
MigFile *mig_file_new_source(ssize_t (*source)(void *opaque, void *buf,
                                               size_t len, GError **errp),
                             void *opaque);
/* Flushes (when writing) and closes the fd; returns false on error. */
bool mig_file_close(MigFile *f, GError **errp);
/* Only frees (the fd stays open); for a file whose fd someone else owns. */
void mig_file_free(MigFile *f);

const GError *mig_file_error(const MigFile *f);
void mig_file_set_error(MigFile *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

void mig_put_buffer(MigFile *f, const void *buf, size_t len);
/* Queue @len bytes of guest memory by reference until the next flush. */
void mig_put_page(MigFile *f, const void *p, size_t len);
void mig_put_u8(MigFile *f, uint8_t v);
void mig_put_u16(MigFile *f, uint16_t v);
void mig_put_u32(MigFile *f, uint32_t v);
void mig_put_u64(MigFile *f, uint64_t v);
void mig_put_str(MigFile *f, const char *s);    /* u16 length, bytes */
/* Write out everything queued. */
bool mig_file_flush(MigFile *f);

/* All-or-error reads; on error the destination is zero-filled. */
bool mig_get_buffer(MigFile *f, void *buf, size_t len);
uint8_t mig_get_u8(MigFile *f);
uint16_t mig_get_u16(MigFile *f);
uint32_t mig_get_u32(MigFile *f);
uint64_t mig_get_u64(MigFile *f);
/* A string of at most @max bytes (NUL-terminated copy), NULL on error. */
char *mig_get_str(MigFile *f, size_t max);

#endif
