/*
 * Whole-buffer reads and writes on a stream socket: retried on EINTR and
 * short transfers, false at EOF or on an error (errno says which; 0 at
 * EOF).  Writes use MSG_NOSIGNAL, so a peer that went away is an error,
 * not a SIGPIPE.  For the blocking sockets of the NBD server and of
 * postcopy's return path.
 */
#ifndef QEMU_SOCKETS_IO_H
#define QEMU_SOCKETS_IO_H
#include "qemu/osdep.h"

bool sock_read_full(int fd, void *buf, size_t len);
bool sock_write_full(int fd, const void *buf, size_t len);

/* The same loops over any stream's read or write (a TLS session's):
 * @rd / @wr return what recv()/send() would, errno set on -1. */
typedef ssize_t IoReadFn(void *opaque, void *buf, size_t len);
typedef ssize_t IoWriteFn(void *opaque, const void *buf, size_t len);
bool io_read_full(IoReadFn *rd, void *opaque, void *buf, size_t len);
bool io_write_full(IoWriteFn *wr, void *opaque, const void *buf, size_t len);

#endif
