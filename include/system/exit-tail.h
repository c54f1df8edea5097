/*
 * The tail of a vCPU's I/O exit: work that runs after the exit's PIO or
 * MMIO access was dispatched and before the vCPU goes back into the
 * guest, with the big lock still held.
 *
 * Why: on a host where an exit costs tens of microseconds (PVM) a
 * polling guest driver pays one exit per look at a status register, so
 * a command that completes before the vCPU re-enters is seen done by the
 * driver's first poll, and one that completes a moment later costs two or
 * three more exits.  A request the host can serve at once (a read the
 * page cache holds, block/block-backend.c) completes on the tail of the
 * exit that started it: the device model sees an asynchronous completion
 * as always (never from inside its submission), only earlier.
 *
 * The head of an exit (exit_tail_set_head) runs before the access: the
 * main loop's completions that workers finished meanwhile run there.
 *
 * Only a vCPU thread inside an I/O exit has a tail (exit_tail_open);
 * anywhere else callers take their usual asynchronous path.  The tail
 * runs its entries in the order they were queued, entries queued by
 * entries included, until none is left.  See docs/design.md ("The tail of
 * an I/O exit").
 */
#ifndef SYSTEM_EXIT_TAIL_H
#define SYSTEM_EXIT_TAIL_H
#include "qemu/osdep.h"

typedef struct ExitTail ExitTail;
struct ExitTail {
    void (*fn)(void *opaque);
    void *opaque;
    ExitTail *next;
    bool queued;
};

/*
 * Bytes of host I/O one exit may do in place (its own and its tail's):
 * the big lock is held meanwhile, so this bounds how long a guest's
 * command keeps the main loop, QMP and the other vCPUs waiting (1 MiB
 * from the page cache: about 0.1-0.3 ms here).
 */
#define EXIT_TAIL_IO_BUDGET     (1 * MiB)

/* Accelerators: around the dispatch of one I/O exit (big lock held). */
void exit_tail_begin(void);
void exit_tail_end(void);

/*
 * The head of every exit: @fn runs first in exit_tail_begin, before the
 * access (the block layer's thread pool runs the main loop's
 * completions that are ready, block/thread-pool.c).  One, set once.
 */
void exit_tail_set_head(void (*fn)(void));

/* Run what is queued so far, now (nothing outside an exit): for a drain
 * that waits, inside an exit, for requests whose completions are queued
 * on its tail (blk_drain_all). */
void exit_tail_run(void);

/* True on a vCPU thread inside an I/O exit (big lock held). */
bool exit_tail_open(void);
/* Queue @t (its fn and opaque set) to run on this exit's tail: false,
 * nothing queued, outside an exit.  Queued already: true, once. */
bool exit_tail_queue(ExitTail *t);
/* Take @bytes of this exit's in-place I/O budget: false when outside an
 * exit or when they do not fit (the caller goes the asynchronous way). */
bool exit_tail_claim_io(uint64_t bytes);

#endif
