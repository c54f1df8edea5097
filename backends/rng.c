/*
 * rng-random and rng-builtin (include/system/rng.h).
 */
#include "qemu/osdep.h"
#include <fcntl.h>
#include <sys/random.h>
#include "system/object.h"
#include "system/rng.h"
#include "qobject/qbool.h"
#include "qobject/qstring.h"

struct RngBackend {
    const char *type;
    int fd;                 /* rng-random: the source; -1 for builtin */
    char *filename;
    guint watch;            /* rng_backend_wait's fd watch */
    void (*wait_cb)(void *opaque);
    void *wait_opaque;
};

RngBackend *rng_backend_find(const char *id)
{
    RngBackend *b = user_object_find(id, TYPE_RNG_RANDOM);

    return b ? b : user_object_find(id, TYPE_RNG_BUILTIN);
}

RngBackend *rng_backend_default(void)
{
    static RngBackend builtin = { .type = TYPE_RNG_BUILTIN, .fd = -1 };

    return &builtin;
}

static size_t builtin_read(void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = getrandom((uint8_t *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += n;
    }
    return done;
}

size_t rng_backend_read(RngBackend *b, void *buf, size_t len)
{
    ssize_t n;

    if (b->fd < 0) {
        return builtin_read(buf, len);
    }
    do {
        n = read(b->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n > 0 ? (size_t)n : 0;
}

static gboolean rng_fd_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    RngBackend *b = opaque;
    void (*cb)(void *) = b->wait_cb;

    b->watch = 0;
    b->wait_cb = NULL;
    if (cb) {
        cb(b->wait_opaque);
    }
    return G_SOURCE_REMOVE;
}

static gboolean rng_idle_ready(gpointer opaque)
{
    return rng_fd_ready(-1, G_IO_IN, opaque);
}

void rng_backend_wait(RngBackend *b, void (*cb)(void *opaque), void *opaque)
{
    b->wait_cb = cb;
    b->wait_opaque = opaque;
    if (b->fd < 0) {
        /* getrandom() does not run dry: call back from the main loop. */
        if (!b->watch) {
            b->watch = g_idle_add(rng_idle_ready, b);
        }
        return;
    }
    if (!b->watch) {
        b->watch = g_unix_fd_add(b->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                 rng_fd_ready, b);
    }
}

void rng_backend_cancel_wait(RngBackend *b)
{
    if (b->watch) {
        g_source_remove(b->watch);
        b->watch = 0;
    }
    b->wait_cb = NULL;
}

static void *rng_random_create(const char *id, GHashTable *props,
                               GError **errp)
{
    g_autofree char *filename = user_object_take_str(props, "filename");
    RngBackend *b;
    int fd;

    if (!filename) {
        filename = g_strdup("/dev/urandom");
    }
    if (!*filename) {
        error_setg(errp, "rng-random: filename must not be empty");
        return NULL;
    }
    fd = open(filename, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        error_setg(errp, "Could not open '%s': %s", filename,
                   g_strerror(errno));
        return NULL;
    }
    b = g_new0(RngBackend, 1);
    b->type = TYPE_RNG_RANDOM;
    b->fd = fd;
    b->filename = g_steal_pointer(&filename);
    return b;
}

static void *rng_builtin_create(const char *id, GHashTable *props,
                                GError **errp)
{
    RngBackend *b = g_new0(RngBackend, 1);

    b->type = TYPE_RNG_BUILTIN;
    b->fd = -1;
    return b;
}

/* ---- properties (qom-list / qom-get / qom-set), QEMU 7.2's ---------- */

/* A backend exists only once its source is open. */
static QObject *get_opened(void *obj)
{
    return QOBJECT(qbool_from_bool(true));
}

static QObject *get_filename(void *obj)
{
    return QOBJECT(qstring_from_str(((RngBackend *)obj)->filename));
}

static bool set_filename(void *obj, QObject *value, GError **errp)
{
    error_setg(errp, "Property 'filename' can no longer be set");
    return false;
}

static const UserObjectProp rng_random_props[] = {
    { "opened", "bool", get_opened, NULL },
    { "filename", "string", get_filename, set_filename },
    { NULL }
};

static const UserObjectProp rng_builtin_props[] = {
    { "opened", "bool", get_opened, NULL },
    { NULL }
};

static const UserObjectType rng_random_type = {
    .name = TYPE_RNG_RANDOM,
    .parent = "rng-backend",
    .props = rng_random_props,
    .create = rng_random_create,
};

static const UserObjectType rng_builtin_type = {
    .name = TYPE_RNG_BUILTIN,
    .parent = "rng-backend",
    .props = rng_builtin_props,
    .create = rng_builtin_create,
};

static void __attribute__((constructor)) rng_backends_register(void)
{
    user_object_type_register(&rng_random_type);
    user_object_type_register(&rng_builtin_type);
}
