/*
 * Guest RAM as host memory, for device data paths that map guest buffers
 * (virtqueues) instead of copying them through the memory dispatch.
 *
 * A memory listener keeps a table of the RAM and ROM ranges of
 * guest-physical memory (the flat view without I/O regions), so a lookup
 * never reaches an MMIO callback: a buffer in MMIO, or in a hole, is not
 * found, and the caller refuses it.  RAM backing is never unmapped while
 * the machine runs, so a host pointer stays valid after a map change.
 *
 * Threads: the main thread and vCPU threads look up with the big lock
 * held, which excludes a map change.  An I/O thread holds the read lock
 * (guest_ram_read_lock) around a queue run; the listener swaps the table
 * under the write lock.  See docs/virtio.md.
 */
#ifndef HW_VIRTIO_GUEST_RAM_H
#define HW_VIRTIO_GUEST_RAM_H
#include "qemu/osdep.h"

/* Start tracking (idempotent; call from a realize, big lock held). */
void guest_ram_map_init(void);

/*
 * Host address of [@gpa, @gpa + *@len) where it is RAM (ROM too when
 * !@write); *@len is cut to the end of that RAM range.  NULL when @gpa
 * is not RAM (or ROM for a write), or *@len is 0.
 */
void *guest_ram_lookup(uint64_t gpa, uint64_t *len, bool write);

/*
 * guest_ram_lookup without logging a writable range for migration: for
 * buffers the device may write by the spec but never does (free page
 * hints), whose pages a migration must not send again for the mapping.
 */
void *guest_ram_lookup_unlogged(uint64_t gpa, uint64_t *len, bool write);

/* The whole range in one RAM range, or NULL. */
void *guest_ram_ptr(uint64_t gpa, uint64_t len, bool write);

/*
 * Log [@gpa, @gpa + @len) as written for a migration in progress (no-op
 * without one, and for what is not RAM).  Writers that store through a
 * pointer from the lookups above call it after the store: the lookup's
 * own log may be consumed before the data lands (I/O threads, async I/O).
 */
void guest_ram_mark_written(uint64_t gpa, uint64_t len);

/* For threads without the big lock. */
void guest_ram_read_lock(void);
void guest_ram_read_unlock(void);

#endif
