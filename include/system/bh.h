/*
 * Bottom halves: a callback that runs once on a GLib main context (the
 * main loop or an I/O thread) after being scheduled, however many times
 * it was scheduled meanwhile.
 *
 * Why not g_source_set_ready_time(src, 0): GLib signals the context's
 * wakeup eventfd on every such change, from the owning thread too, which
 * costs a write and a read system call each time a device batches its
 * completions.  A bottom half scheduled by the thread that runs the
 * context only sets a flag the source's prepare/check see; another
 * thread also wakes the context.  See docs/design.md ("Bottom halves").
 */
#ifndef SYSTEM_BH_H
#define SYSTEM_BH_H
#include "qemu/osdep.h"

typedef struct BH BH;

/* Attached to @ctx (NULL: the main loop's); not scheduled. */
BH *bh_new(GMainContext *ctx, void (*cb)(void *opaque), void *opaque);
/* Run the callback once, soon, on the context (any thread). */
void bh_schedule(BH *bh);
/* Detach and free; call it on the context's own thread, so that no run
 * is in progress (virtio-blk does it through iothread_run_sync). */
void bh_free(BH *bh);

#endif
