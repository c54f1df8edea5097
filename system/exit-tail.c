/*
 * The tail of a vCPU's I/O exit (include/system/exit-tail.h): a
 * per-thread queue with no allocation and no lock of its own (the big
 * lock is held from the exit's dispatch to the end of its tail).
 */
#include "qemu/osdep.h"
#include "system/exit-tail.h"

typedef struct ExitTailState {
    bool open;
    ExitTail *head;
    ExitTail **last;
    uint64_t io_bytes;              /* in-place I/O of this exit so far */
} ExitTailState;

static __thread ExitTailState tail_state;
static void (*head_fn)(void);

void exit_tail_set_head(void (*fn)(void))
{
    __atomic_store_n(&head_fn, fn, __ATOMIC_RELEASE);
}

void exit_tail_begin(void)
{
    ExitTailState *st = &tail_state;
    void (*head)(void) = __atomic_load_n(&head_fn, __ATOMIC_ACQUIRE);

    st->open = true;
    st->head = NULL;
    st->last = &st->head;
    st->io_bytes = 0;
    if (head) {
        head();
    }
}

void exit_tail_end(void)
{
    exit_tail_run();
    tail_state.open = false;
}

void exit_tail_run(void)
{
    ExitTailState *st = &tail_state;

    /* Entries may queue more (a completion starting the next request);
     * the budget bounds how much of that is I/O done in place. */
    while (st->open && st->head) {
        ExitTail *t = st->head;

        st->head = t->next;
        if (!st->head) {
            st->last = &st->head;
        }
        t->next = NULL;
        t->queued = false;
        t->fn(t->opaque);
    }
}

bool exit_tail_open(void)
{
    return tail_state.open;
}

bool exit_tail_queue(ExitTail *t)
{
    ExitTailState *st = &tail_state;

    if (!st->open) {
        return false;
    }
    if (t->queued) {
        return true;
    }
    t->queued = true;
    t->next = NULL;
    *st->last = t;
    st->last = &t->next;
    return true;
}

bool exit_tail_claim_io(uint64_t bytes)
{
    ExitTailState *st = &tail_state;

    if (!st->open || bytes > EXIT_TAIL_IO_BUDGET - st->io_bytes) {
        return false;
    }
    st->io_bytes += bytes;
    return true;
}
