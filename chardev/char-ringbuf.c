/*
 * "ringbuf" / "memory" backend: output goes into a ring buffer that QMP
 * can read (ringbuf-read).  QMP ringbuf-write appends to the same ring, as
 * in QEMU (it does not reach the frontend).
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "chardev/char-ringbuf.h"

#define RINGBUF_DEFAULT_SIZE (64 * KiB)

typedef struct RingBufState {
    uint8_t *data;
    size_t size;        /* power of two */
    size_t prod, cons;  /* free-running; prod - cons <= size */
} RingBufState;

static bool ringbuf_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    RingBufState *s = chr->state;
    const char *size_str = g_hash_table_lookup(opts, "size");
    uint64_t size = RINGBUF_DEFAULT_SIZE;

    if (size_str && !parse_size(size_str, 1, &size, errp)) {
        return false;
    }
    if (size == 0 || (size & (size - 1)) || size > 1 * GiB) {
        error_setg(errp, "size of ringbuf chardev must be power of two");
        return false;
    }
    s->size = size;
    s->data = g_malloc0(size);
    chr->be_open = true;
    return true;
}

static int ringbuf_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    RingBufState *s = chr->state;

    for (int i = 0; i < len; i++) {
        s->data[s->prod++ & (s->size - 1)] = buf[i];
        if (s->prod - s->cons > s->size) {
            s->cons = s->prod - s->size;    /* overwrite the oldest */
        }
    }
    return len;
}

static void ringbuf_close(Chardev *chr)
{
    RingBufState *s = chr->state;
    g_free(s->data);
}

static const char *const ringbuf_opts[] = {
    "size", NULL,
};

static const ChardevDriver ringbuf_driver = {
    .name = "ringbuf",
    .opts = ringbuf_opts,
    .open = ringbuf_open,
    .write = ringbuf_chr_write,
    .close = ringbuf_close,
    .state_size = sizeof(RingBufState),
};

/* QEMU's older name for the same thing. */
static const ChardevDriver memory_driver = {
    .name = "memory",
    .opts = ringbuf_opts,
    .open = ringbuf_open,
    .write = ringbuf_chr_write,
    .close = ringbuf_close,
    .state_size = sizeof(RingBufState),
};

bool qemu_chr_is_ringbuf(const Chardev *chr)
{
    return chr->driver == &ringbuf_driver || chr->driver == &memory_driver;
}

uint8_t *ringbuf_read(Chardev *chr, size_t size, size_t *len_out)
{
    RingBufState *s = chr->state;
    size_t n = MIN(size, s->prod - s->cons);
    uint8_t *out = g_malloc(n + 1);

    for (size_t i = 0; i < n; i++) {
        out[i] = s->data[s->cons++ & (s->size - 1)];
    }
    out[n] = 0;
    *len_out = n;
    return out;
}

void ringbuf_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    ringbuf_chr_write(chr, buf, len);
}

static void ringbuf_register(void)
{
    chardev_driver_register(&ringbuf_driver);
    chardev_driver_register(&memory_driver);
}
chardev_init(ringbuf_register)
