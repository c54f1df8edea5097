/*
 * Shared plumbing for chardev backends built on file descriptors: a read
 * watch that honours the frontend's can_read, and a blocking write loop.
 */
#ifndef CHARDEV_CHAR_FD_H
#define CHARDEV_CHAR_FD_H
#include "chardev/char.h"

typedef struct ChrFdReader {
    Chardev *chr;              /* set by chr_fd_reader_start */
    int fd;
    guint watch;               /* GSource id, 0 when not watching */
    /* Called when the fd reports EOF or an error. */
    void (*on_hangup)(Chardev *chr);
    /* Optional: gets the bytes read instead of qemu_chr_be_write (for
     * backends that filter their input, e.g. telnet). */
    void (*on_data)(Chardev *chr, const uint8_t *buf, int len);
    bool not_socket;           /* recvmsg said ENOTSOCK: plain read() */
} ChrFdReader;

/* Start feeding bytes read from @fd to the frontend. */
void chr_fd_reader_start(Chardev *chr, ChrFdReader *r, int fd);
void chr_fd_reader_stop(ChrFdReader *r);
/* The frontend can take input again (from ChardevDriver.accept_input). */
void chr_fd_reader_resume(Chardev *chr, ChrFdReader *r);
/* Write everything, waiting on a non-blocking fd; -1 on error. */
int chr_fd_write_all(int fd, const uint8_t *buf, int len);

#endif
