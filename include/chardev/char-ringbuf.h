/*
 * "ringbuf" (alias "memory") chardev: output is kept in a power-of-two
 * ring in memory, the oldest bytes overwritten; QMP ringbuf-read takes
 * bytes out, ringbuf-write appends to the ring (QEMU's semantics).
 */
#ifndef CHARDEV_CHAR_RINGBUF_H
#define CHARDEV_CHAR_RINGBUF_H
#include "chardev/char.h"

bool qemu_chr_is_ringbuf(const Chardev *chr);
/* Take up to @size bytes out of the ring (g_free the result). */
uint8_t *ringbuf_read(Chardev *chr, size_t size, size_t *len_out);
/* Append to the ring as if the frontend had written it. */
void ringbuf_write(Chardev *chr, const uint8_t *buf, size_t len);

#endif
