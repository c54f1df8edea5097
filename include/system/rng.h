/*
 * Random number generator backends for virtio-rng: "-object rng-random,
 * id=ID[,filename=PATH]" (default /dev/urandom) and "-object rng-builtin,
 * id=ID" (the host's getrandom()), QEMU's object types.
 *
 * Reads never block: rng_backend_read() gives what is there now, and
 * rng_backend_wait() calls back on the main loop once a source that ran
 * dry (a /dev/random or a FIFO) has more.  Big lock held.
 */
#ifndef SYSTEM_RNG_H
#define SYSTEM_RNG_H
#include "qemu/osdep.h"

typedef struct RngBackend RngBackend;

#define TYPE_RNG_RANDOM  "rng-random"
#define TYPE_RNG_BUILTIN "rng-builtin"

/* An rng backend object by id, or NULL (also for other object types). */
RngBackend *rng_backend_find(const char *id);
/* The default backend a device without rng= uses (rng-builtin). */
RngBackend *rng_backend_default(void);

/* Up to @len bytes into @buf; 0 when none are available now. */
size_t rng_backend_read(RngBackend *b, void *buf, size_t len);
/* Call @cb(@opaque) once when more bytes can be read (one waiter). */
void rng_backend_wait(RngBackend *b, void (*cb)(void *opaque), void *opaque);
void rng_backend_cancel_wait(RngBackend *b);

#endif
