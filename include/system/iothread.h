/*
 * I/O threads: "-object iothread,id=ID[,poll-max-ns=N][,poll-grow=N]
 * [,poll-shrink=N]" (QEMU's names).  Each runs its own GMainContext
 * without the big lock; devices that take iothread= (virtio queues)
 * attach their event sources to it.
 *
 * Adaptive polling: before the thread sleeps in poll(), it spins for up
 * to poll_ns calling the registered pollers (a virtqueue's "is the avail
 * ring non-empty?"), and runs the handler of one that has work without a
 * kick.  poll_ns grows (x poll-grow, default 2, from 4 us) while events
 * keep arriving within poll-max-ns (default 32768 ns, 0 disables polling)
 * and shrinks (/ poll-shrink, default 2; 0 means reset to 0) when a sleep
 * lasts longer than poll-max-ns.
 *
 * Everything that changes what the thread runs goes through
 * iothread_run_sync(), so device state a handler uses is never changed
 * under it.  The thread never takes the big lock (a device that must
 * touch lock-protected state from it defers to main_loop_call()).
 */
#ifndef SYSTEM_IOTHREAD_H
#define SYSTEM_IOTHREAD_H
#include "qemu/osdep.h"

typedef struct IOThread IOThread;

#define TYPE_IOTHREAD "iothread"

IOThread *iothread_find(const char *id);

/*
 * Attach @src to @ctx (NULL: the main loop's).  On an I/O thread's
 * context the source may recurse: GLib otherwise blocks a source around
 * each dispatch by removing and re-adding its file descriptors, which
 * signals the context's wakeup eventfd twice (two writes, then a read and
 * one more poll) per dispatch, the largest cost of a busy virtqueue.
 * Nothing iterates an I/O thread's context from inside a dispatch, so
 * nothing can recurse there; the main loop's context does nest
 * (blk_drain_all) and keeps GLib's protection.
 */
void context_attach_source(GSource *src, GMainContext *ctx);
GMainContext *iothread_get_context(IOThread *iothread);
/* The I/O thread whose context @ctx is, or NULL (the main loop's, or a
 * context no I/O thread runs). */
IOThread *iothread_of_context(GMainContext *ctx);
const char *iothread_get_id(IOThread *iothread);
/* The calling thread is @iothread's. */
bool iothread_is_current(IOThread *iothread);

/*
 * Run @fn(@opaque) in @iothread and wait for it (directly when called
 * from the thread itself).  Call with the big lock held.
 */
void iothread_run_sync(IOThread *iothread, void (*fn)(void *opaque),
                       void *opaque);

/*
 * Busy-poll hooks (call from the thread, e.g. inside iothread_run_sync):
 * @ready says whether there is work, @run does it.  @poll_begin and
 * @poll_end (both optional) bracket a spell of spinning: a poller whose
 * work arrives with a notification (a guest's kick) turns that off while
 * the thread is watching anyway, so the guest does not exit to send it.
 * After @poll_end the thread checks @ready once more before it sleeps,
 * so work published while notifications were off is not left waiting.
 */
typedef struct IOThreadPoller {
    bool (*ready)(void *opaque);
    void (*run)(void *opaque);
    void (*poll_begin)(void *opaque);
    void (*poll_end)(void *opaque);
    void *opaque;
} IOThreadPoller;
void iothread_add_poller(IOThread *iothread, IOThreadPoller *p);
void iothread_remove_poller(IOThread *iothread, IOThreadPoller *p);
/* Ends a spell of spinning now (from the thread): poll_end on each. */
void iothread_end_polling(IOThread *iothread);
/* How many pollers the thread has (for tests; big lock held). */
guint iothread_poller_count(IOThread *iothread);

/* aio-max-batch (0: the engine's default): the most requests a plugged
 * aio=native queue on this thread's context holds before it is sent.
 * Any thread; qom-set may change it at any time. */
int64_t iothread_aio_max_batch(IOThread *iothread);

/* Current adaptive poll time (for tests and "info iothreads"). */
int64_t iothread_poll_ns(IOThread *iothread);

/* "info iothreads" / query-iothreads data. */
typedef struct IOThreadDesc {
    const char *id;
    int thread_id;
    int64_t poll_max_ns, poll_grow, poll_shrink, aio_max_batch;
} IOThreadDesc;
/* Calls @fn for each I/O thread in creation order. */
void iothread_for_each(void (*fn)(const IOThreadDesc *info, void *opaque),
                       void *opaque);

#endif
