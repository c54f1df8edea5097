/*
 * Character device core: the driver registry, option parsing with QEMU's
 * spellings, and frontend plumbing with flow control.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "chardev/char.h"
#include "qom/object-type.h"
#include "chardev/char-fd.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

static GPtrArray *drivers;
static GPtrArray *chardevs;

void chardev_driver_register(const ChardevDriver *drv)
{
    if (!drivers) {
        drivers = g_ptr_array_new();
    }
    g_ptr_array_add(drivers, (gpointer)drv);
    g_autofree char *qom = g_strdup_printf("chardev-%s", drv->name);
    object_type_register_copy(qom, "chardev", false, NULL);
}

static const ChardevDriver *driver_find(const char *name)
{
    for (unsigned i = 0; drivers && i < drivers->len; i++) {
        const ChardevDriver *d = g_ptr_array_index(drivers, i);
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

Chardev *qemu_chr_find(const char *id)
{
    for (unsigned i = 0; chardevs && i < chardevs->len; i++) {
        Chardev *c = g_ptr_array_index(chardevs, i);
        if (!strcmp(c->id, id)) {
            return c;
        }
    }
    return NULL;
}

GPtrArray *qemu_chr_list(void)
{
    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    return chardevs;
}

bool qemu_chr_is_mux(const Chardev *chr)
{
    return chr && chr->driver->fe_set_handlers != NULL;
}

static void chr_drop_msgfds(Chardev *chr);

static void chr_free(Chardev *chr)
{
    chr_remove_source(chr, chr->accept_input_idle);
    g_rec_mutex_clear(&chr->write_lock);
    if (chr->logfd >= 0) {
        close(chr->logfd);
    }
    g_byte_array_unref(chr->pending_in);
    chr_drop_msgfds(chr);
    g_free(chr->state);
    g_free(chr->filename);
    g_free(chr->id);
    g_free(chr);
}

static bool chr_check_opts(const ChardevDriver *drv, GHashTable *opts,
                           GError **errp)
{
    static const char *const common[] = {
        "id", "backend", "mux", "logfile", "logappend", NULL,
    };
    GHashTableIter it;
    gpointer key;

    if (!drv->opts) {
        return true;
    }
    g_hash_table_iter_init(&it, opts);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!g_strv_contains(common, key) &&
            !g_strv_contains((const char *const *)drv->opts, key)) {
            error_setg(errp, "Invalid parameter '%s'", (const char *)key);
            return false;
        }
    }
    return true;
}

/* logfile=PATH[,logappend=on]: everything written is copied there. */
static bool chr_open_logfile(Chardev *chr, GHashTable *opts, GError **errp)
{
    const char *path = g_hash_table_lookup(opts, "logfile");
    const char *append_str = g_hash_table_lookup(opts, "logappend");
    bool append = false;

    chr->logfd = -1;
    if (!path) {
        return true;
    }
    if (append_str && !parse_bool(append_str, &append, errp)) {
        return false;
    }
    chr->logfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
                      (append ? O_APPEND : O_TRUNC), 0666);
    if (chr->logfd < 0) {
        error_setg(errp, "Could not open '%s': %s", path, g_strerror(errno));
        return false;
    }
    return true;
}

static Chardev *chr_open(const char *id, const char *backend,
                         GHashTable *opts, GError **errp)
{
    const ChardevDriver *drv = driver_find(backend);
    Chardev *chr;

    if (!drv) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    if (!chr_check_opts(drv, opts, errp)) {
        return NULL;
    }
    if (qemu_chr_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return NULL;
    }
    chr = g_new0(Chardev, 1);
    chr->logfd = -1;
    chr->id = g_strdup(id);
    chr->driver = drv;
    chr->pending_in = g_byte_array_new();
    g_rec_mutex_init(&chr->write_lock);
    if (drv->state_size) {
        chr->state = g_malloc0(drv->state_size);
    }
    if (!chr_open_logfile(chr, opts, errp) || !drv->open(chr, opts, errp)) {
        chr_free(chr);
        return NULL;
    }
    if (!chr->filename) {
        chr->filename = g_strdup(backend);
    }
    g_ptr_array_add(qemu_chr_list(), chr);
    return chr;
}

/*
 * QEMU's "mux=on" and "mon:" forms: the backend is opened as "ID-base" and
 * a mux chardev named ID sits on top of it, so that several frontends
 * (serial port and monitor) can share it.
 */
static Chardev *chr_open_muxed(const char *id, const char *backend,
                               GHashTable *opts, GError **errp)
{
    g_autofree char *base_id = g_strdup_printf("%s-base", id);
    g_autoptr(GHashTable) mux_opts = NULL;
    Chardev *base, *mux;

    if (qemu_chr_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return NULL;
    }
    base = chr_open(base_id, backend, opts, errp);
    if (!base) {
        return NULL;
    }
    mux_opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     g_free);
    g_hash_table_insert(mux_opts, g_strdup("chardev"), g_strdup(base_id));
    mux = chr_open(id, "mux", mux_opts, errp);
    if (!mux) {
        qemu_chr_delete(base);
    }
    return mux;
}

Chardev *qemu_chr_new_from_opts(const char *str, GError **errp)
{
    g_autoptr(GHashTable) opts = keyval_parse(str, "backend", errp);
    const char *id, *backend, *mux_str;
    bool mux = false;

    if (!opts) {
        return NULL;
    }
    id = g_hash_table_lookup(opts, "id");
    backend = g_hash_table_lookup(opts, "backend");
    mux_str = g_hash_table_lookup(opts, "mux");
    if (!backend) {
        error_setg(errp, "chardev: \"%s\" missing backend", str);
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (mux_str && !parse_bool(mux_str, &mux, errp)) {
        return NULL;
    }
    return mux ? chr_open_muxed(id, backend, opts, errp)
               : chr_open(id, backend, opts, errp);
}

/* Split "host:port" (tcp spec tail) into opts; the port may be empty. */
static void spec_tcp_to_opts(GHashTable *opts, const char *hostport)
{
    const char *colon = strrchr(hostport, ':');

    if (colon) {
        g_hash_table_insert(opts, g_strdup("host"),
                            g_strndup(hostport, colon - hostport));
        g_hash_table_insert(opts, g_strdup("port"), g_strdup(colon + 1));
    } else {
        g_hash_table_insert(opts, g_strdup("port"), g_strdup(hostport));
    }
}

/*
 * Turn a -serial style spec ("unix:/p,server=on") into a backend name and
 * -chardev options.  Returns the backend, or NULL with @errp set.
 */
static const char *spec_to_opts(const char *spec, GHashTable **optsp,
                                GError **errp)
{
    const char *colon = strchr(spec, ':');
    g_autofree char *head = colon ? g_strndup(spec, colon - spec)
                                  : g_strdup(spec);
    const char *rest = colon ? colon + 1 : "";
    const char *comma = strchr(rest, ',');
    g_autofree char *target = comma ? g_strndup(rest, comma - rest)
                                    : g_strdup(rest);
    GHashTable *opts = keyval_parse(comma ? comma + 1 : "", NULL, errp);
    const char *backend = NULL;

    if (!opts) {
        return NULL;
    }
    if (!strcmp(head, "file") || !strcmp(head, "pipe")) {
        backend = !strcmp(head, "file") ? "file" : "pipe";
        g_hash_table_insert(opts, g_strdup("path"), g_strdup(target));
    } else if (!strcmp(head, "unix")) {
        backend = "socket";
        g_hash_table_insert(opts, g_strdup("path"), g_strdup(target));
    } else if (!strcmp(head, "tcp") || !strcmp(head, "telnet")) {
        backend = "socket";
        spec_tcp_to_opts(opts, target);
        if (!strcmp(head, "telnet")) {
            g_hash_table_insert(opts, g_strdup("telnet"), g_strdup("on"));
        }
    } else if (!strcmp(head, "vc")) {
        /* a text console (ui/console-vc.c); "vc:WxH" pixels, "vc:CCxRRC" */
        unsigned a, b;
        char ca = 0, cb = 0;
        backend = "vc";
        if (*target && (sscanf(target, "%u%cx%u%c", &a, &ca, &b, &cb) == 4 ||
                        sscanf(target, "%ux%u", &a, &b) == 2)) {
            g_hash_table_insert(opts, g_strdup(ca == 'C' ? "cols" : "width"),
                                g_strdup_printf("%u", a));
            g_hash_table_insert(opts, g_strdup(cb == 'C' ? "rows" : "height"),
                                g_strdup_printf("%u", b));
        } else if (*target) {
            error_setg(errp, "vc: size '%s' should be WxH or COLSCxROWSC",
                       target);
            g_hash_table_unref(opts);
            return NULL;
        }
    } else if (!colon && (!strcmp(head, "stdio") || !strcmp(head, "null") ||
                          !strcmp(head, "pty"))) {
        backend = g_intern_string(head);
    } else {
        error_setg(errp, "'%s' is not a valid char driver name", head);
        g_hash_table_unref(opts);
        return NULL;
    }
    *optsp = opts;
    return backend;
}

Chardev *qemu_chr_new_from_spec(const char *id, const char *spec,
                                GError **errp)
{
    g_autoptr(GHashTable) opts = NULL;
    const char *backend;
    bool mux = false;
    Chardev *chr;

    if (!strcmp(spec, "none")) {
        return NULL;
    }
    if (g_str_has_prefix(spec, "chardev:")) {
        chr = qemu_chr_find(spec + 8);
        if (!chr) {
            error_setg(errp, "chardev '%s' not found", spec + 8);
        }
        return chr;
    }
    if (g_str_has_prefix(spec, "mon:")) {
        /* Serial port and monitor share the backend through a mux. */
        spec += 4;
        mux = true;
    }
    backend = spec_to_opts(spec, &opts, errp);
    if (!backend) {
        return NULL;
    }
    return mux ? chr_open_muxed(id, backend, opts, errp)
               : chr_open(id, backend, opts, errp);
}

void qemu_chr_delete(Chardev *chr)
{
    if (!chr) {
        return;
    }
    if (chr->driver->close) {
        chr->driver->close(chr);
    }
    g_ptr_array_remove(qemu_chr_list(), chr);
    chr_free(chr);
}

void qemu_chr_delete_all(void)
{
    /* Newest first, so a mux goes before the backend under it. */
    while (chardevs && chardevs->len) {
        qemu_chr_delete(g_ptr_array_index(chardevs, chardevs->len - 1));
    }
}

/* ---- frontend ------------------------------------------------------- */

static void deliver_pending(Chardev *chr)
{
    while (chr->pending_in->len && chr->fe_read) {
        int n = chr->fe_can_read ? chr->fe_can_read(chr->fe_opaque)
                                 : (int)chr->pending_in->len;
        if (n <= 0) {
            return;
        }
        n = MIN((guint)n, chr->pending_in->len);
        /* Copy out first: the handler may feed more input re-entrantly. */
        g_autofree uint8_t *tmp = g_memdup2(chr->pending_in->data, n);
        g_byte_array_remove_range(chr->pending_in, 0, n);
        chr->fe_read(chr->fe_opaque, tmp, n);
    }
}

static void set_single_frontend(Chardev *chr, ChrCanReadHandler *can_read,
                                ChrReadHandler *read, ChrEventHandler *event,
                                void *opaque)
{
    chr->fe_can_read = can_read;
    chr->fe_read = read;
    chr->fe_event = event;
    chr->fe_opaque = opaque;
    chr->fe_open = read != NULL || event != NULL;
    chr->fe_closed = false;
    if (!chr->fe_open) {
        chr->fe_writable = NULL;    /* a detached frontend waits no more */
    }
    if (chr->be_open && event) {
        event(opaque, CHR_EVENT_OPENED);
    }
    qemu_chr_fe_accept_input(chr);
}

void qemu_chr_fe_set_handlers(Chardev *chr, ChrCanReadHandler *can_read,
                              ChrReadHandler *read, ChrEventHandler *event,
                              void *opaque)
{
    GError *err = NULL;

    if (chr->driver->fe_set_handlers) {
        if (!chr->driver->fe_set_handlers(chr, can_read, read, event, opaque,
                                          &err)) {
            /* Callers of this form cannot fail; say why input is lost. */
            error_report("chardev '%s': %s", chr->id, err->message);
            g_error_free(err);
        }
        return;
    }
    set_single_frontend(chr, can_read, read, event, opaque);
}

bool qemu_chr_fe_attach(Chardev *chr, ChrCanReadHandler *can_read,
                        ChrReadHandler *read, ChrEventHandler *event,
                        void *opaque, GError **errp)
{
    if (chr->driver->fe_set_handlers) {
        return chr->driver->fe_set_handlers(chr, can_read, read, event,
                                            opaque, errp);
    }
    if (chr->fe_open && chr->fe_opaque != opaque) {
        error_setg(errp, "Device '%s' is in use", chr->id);
        return false;
    }
    set_single_frontend(chr, can_read, read, event, opaque);
    return true;
}

bool qemu_chr_fe_is_open(Chardev *chr)
{
    if (chr->driver->fe_is_open) {
        return chr->driver->fe_is_open(chr);
    }
    return chr->fe_open && !chr->fe_closed;
}

void qemu_chr_fe_set_open(Chardev *chr, bool open)
{
    bool changed = chr->fe_closed == open;

    chr->fe_closed = !open;
    if (changed && chr->driver->fe_open_changed) {
        chr->driver->fe_open_changed(chr, open);
    }
}

bool qemu_chr_fe_disconnect(Chardev *chr)
{
    return chr && chr->driver->disconnect && chr->driver->disconnect(chr);
}

int qemu_chr_write_all(Chardev *chr, const uint8_t *buf, int len)
{
    int ret;

    if (!chr) {
        return len;
    }
    g_rec_mutex_lock(&chr->write_lock);
    ret = chr->driver->write ? chr->driver->write(chr, buf, len) : len;
    if (chr->logfd >= 0 && ret > 0) {
        chr_fd_write_all(chr->logfd, buf, ret);
    }
    g_rec_mutex_unlock(&chr->write_lock);
    return ret;
}

int qemu_chr_fe_write_nb(Chardev *chr, const uint8_t *buf, int len)
{
    int ret;

    if (!chr || !chr->driver->write_nb) {
        ret = qemu_chr_write_all(chr, buf, len);
        return ret < 0 ? len : ret;     /* a failed backend drops them */
    }
    g_rec_mutex_lock(&chr->write_lock);
    ret = chr->driver->write_nb(chr, buf, len);
    ret = MAX(0, MIN(ret, len));
    if (chr->logfd >= 0 && ret > 0) {
        chr_fd_write_all(chr->logfd, buf, ret);
    }
    g_rec_mutex_unlock(&chr->write_lock);
    return ret;
}

void qemu_chr_fe_wait_writable(Chardev *chr, ChrWritableHandler *fn,
                               void *opaque)
{
    chr->fe_writable = fn;
    chr->fe_writable_opaque = opaque;
}

static void chr_accept_input_here(Chardev *chr)
{
    deliver_pending(chr);
    if (!chr->pending_in->len && chr->driver->accept_input) {
        chr->driver->accept_input(chr);
    }
}

static gboolean chr_accept_input_idle(gpointer opaque)
{
    Chardev *chr = opaque;

    g_rec_mutex_lock(&chr->write_lock);
    chr->accept_input_idle = 0;
    g_rec_mutex_unlock(&chr->write_lock);
    chr_accept_input_here(chr);
    return G_SOURCE_REMOVE;
}

void qemu_chr_fe_accept_input(Chardev *chr)
{
    /* Input state belongs to the thread running the chardev's context. */
    if (chr->gcontext && !g_main_context_is_owner(chr->gcontext)) {
        g_rec_mutex_lock(&chr->write_lock);
        if (!chr->accept_input_idle) {
            chr->accept_input_idle = chr_add_idle(chr, chr_accept_input_idle,
                                                  chr);
        }
        g_rec_mutex_unlock(&chr->write_lock);
        return;
    }
    chr_accept_input_here(chr);
}

/* ---- sources in the chardev's context ------------------------------- */

static guint chr_attach_source(Chardev *chr, GSource *src)
{
    guint id = g_source_attach(src, chr->gcontext);

    g_source_unref(src);
    return id;
}

guint chr_add_fd_watch(Chardev *chr, int fd, GIOCondition cond,
                       GUnixFDSourceFunc fn, gpointer data,
                       GDestroyNotify destroy)
{
    GSource *src = g_unix_fd_source_new(fd, cond);

    g_source_set_callback(src, (GSourceFunc)(void (*)(void))fn, data,
                          destroy);
    return chr_attach_source(chr, src);
}

guint chr_add_idle(Chardev *chr, GSourceFunc fn, gpointer data)
{
    GSource *src = g_idle_source_new();

    g_source_set_callback(src, fn, data, NULL);
    return chr_attach_source(chr, src);
}

guint chr_add_timeout_seconds(Chardev *chr, guint secs, GSourceFunc fn,
                              gpointer data)
{
    GSource *src = g_timeout_source_new_seconds(secs);

    g_source_set_callback(src, fn, data, NULL);
    return chr_attach_source(chr, src);
}

void chr_remove_source(Chardev *chr, guint id)
{
    GSource *src;

    if (!id) {
        return;
    }
    /* g_source_remove() only looks in the default context. */
    src = g_main_context_find_source_by_id(chr->gcontext, id);
    if (src) {
        g_source_destroy(src);
    }
}

bool qemu_chr_set_gcontext(Chardev *chr, GMainContext *ctx)
{
    if (!chr->driver->set_gcontext) {
        return false;
    }
    g_rec_mutex_lock(&chr->write_lock);
    chr->driver->set_gcontext(chr, ctx);
    g_rec_mutex_unlock(&chr->write_lock);
    return true;
}

/* ---- backend -------------------------------------------------------- */

void qemu_chr_be_write(Chardev *chr, const uint8_t *buf, int len)
{
    g_byte_array_append(chr->pending_in, buf, len);
    deliver_pending(chr);
}

void qemu_chr_be_event(Chardev *chr, ChrEvent event)
{
    if (event == CHR_EVENT_OPENED) {
        chr->be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        chr->be_open = false;
        /* Input of a connection that is gone must not reach the next. */
        g_byte_array_set_size(chr->pending_in, 0);
    }
    if (chr->fe_event) {
        chr->fe_event(chr->fe_opaque, event);
    }
    if (event == CHR_EVENT_CLOSED) {
        /* A writer waiting for room finds its bytes dropped now. */
        qemu_chr_be_writable(chr);
    }
}

void qemu_chr_be_writable(Chardev *chr)
{
    ChrWritableHandler *fn = chr->fe_writable;

    if (fn) {
        chr->fe_writable = NULL;
        fn(chr->fe_writable_opaque);
    }
}

/* ---- fd plumbing ---------------------------------------------------- */

typedef struct FdWatchCtx {
    Chardev *chr;
    ChrFdReader *r;
} FdWatchCtx;

/* Big enough that a fast client (a QMP script) costs few wakeups. */
#define FD_READ_CHUNK (64 * 1024)

/*
 * Descriptors a client passed with SCM_RIGHTS (QMP getfd): only the
 * latest batch is kept, as QEMU does; the rest are closed.
 */
#define CHR_MAX_MSGFDS 16

static void chr_drop_msgfds(Chardev *chr)
{
    for (unsigned i = 0; i < chr->nr_msgfds; i++) {
        close(chr->msgfds[i]);
    }
    chr->nr_msgfds = 0;
}

static void chr_take_msgfds(Chardev *chr, struct msghdr *msg)
{
    bool first = true;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        unsigned n;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        if (first) {
            chr_drop_msgfds(chr);
            first = false;
        }
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (unsigned i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (chr->nr_msgfds < G_N_ELEMENTS(chr->msgfds)) {
                chr->msgfds[chr->nr_msgfds++] = fd;
            } else {
                close(fd);
            }
        }
    }
}

int qemu_chr_fe_get_msgfd(Chardev *chr)
{
    int fd = -1;

    if (!chr) {
        return -1;
    }
    /* The reader may run in another thread (a monitor I/O thread). */
    g_rec_mutex_lock(&chr->write_lock);
    if (chr->nr_msgfds) {
        fd = chr->msgfds[--chr->nr_msgfds];
    }
    g_rec_mutex_unlock(&chr->write_lock);
    return fd;
}

/* read(), or recvmsg() keeping passed descriptors on a socket. */
static ssize_t fd_read_input(Chardev *chr, ChrFdReader *r, int fd,
                             uint8_t *buf, size_t len)
{
    if (!r->not_socket) {
        union {
            char buf[CMSG_SPACE(sizeof(int) * CHR_MAX_MSGFDS)];
            struct cmsghdr align;
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = len };
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control.buf, .msg_controllen = sizeof(control),
        };
        ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

        if (n >= 0 || errno != ENOTSOCK) {
            if (n > 0 && msg.msg_controllen) {
                g_rec_mutex_lock(&chr->write_lock);
                chr_take_msgfds(chr, &msg);
                g_rec_mutex_unlock(&chr->write_lock);
            }
            return n;
        }
        r->not_socket = true;
    }
    return read(fd, buf, len);
}

static gboolean fd_readable(gint fd, GIOCondition cond, gpointer data)
{
    FdWatchCtx *ctx = data;
    Chardev *chr = ctx->chr;
    ChrFdReader *r = ctx->r;
    g_autofree uint8_t *buf = NULL;
    ssize_t n;

    if (!chr->fe_read && !r->on_hangup) {
        /*
         * Nobody takes input (a debugcon, or no frontend yet): leave the
         * bytes where they are, as QEMU does.  Reading them anyway would
         * steal our own output from a single bidirectional FIFO.
         * qemu_chr_fe_set_handlers resumes the reader.
         */
        r->watch = 0;
        return G_SOURCE_REMOVE;
    }
    if (chr->gcontext && chr->fe_can_read &&
        chr->fe_can_read(chr->fe_opaque) <= 0) {
        /*
         * A QMP monitor in the I/O thread with its queue full: leave the
         * bytes, and any descriptors passed with them, in the socket, so
         * that a queued getfd still finds its own descriptor when it runs.
         * accept_input resumes the reader.
         */
        r->watch = 0;
        return G_SOURCE_REMOVE;
    }
    buf = g_malloc(FD_READ_CHUNK);
    n = fd_read_input(chr, r, fd, buf, FD_READ_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        r->watch = 0;
        if (r->on_hangup) {
            r->on_hangup(chr);
        }
        return G_SOURCE_REMOVE;
    }
    if (r->on_data) {
        r->on_data(chr, buf, n);
    } else {
        qemu_chr_be_write(chr, buf, n);
    }
    if (g_source_is_destroyed(g_main_current_source())) {
        /* A handler stopped this reader (disconnect); @r may be reused. */
        return G_SOURCE_REMOVE;
    }
    if (chr->pending_in->len) {
        /* The frontend is full: stop reading until it asks for more. */
        r->watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

void chr_fd_reader_start(Chardev *chr, ChrFdReader *r, int fd)
{
    FdWatchCtx *ctx;

    r->chr = chr;
    r->fd = fd;
    if (r->watch || fd < 0) {
        return;
    }
    ctx = g_new(FdWatchCtx, 1);
    ctx->chr = chr;
    ctx->r = r;
    r->watch = chr_add_fd_watch(chr, fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                fd_readable, ctx, g_free);
}

void chr_fd_reader_stop(ChrFdReader *r)
{
    if (r->watch) {
        chr_remove_source(r->chr, r->watch);
        r->watch = 0;
    }
}

void chr_fd_reader_resume(Chardev *chr, ChrFdReader *r)
{
    if (!r->watch && r->fd >= 0) {
        chr_fd_reader_start(chr, r, r->fd);
    }
}

int chr_fd_write_all(int fd, const uint8_t *buf, int len)
{
    int done = 0;

    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                poll(&pfd, 1, 1000);
                continue;
            }
            return done ? done : -1;
        }
        done += n;
    }
    return done;
}
