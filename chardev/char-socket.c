/*
 * "socket" backend: unix or TCP, server or client.
 *
 *   -chardev socket,id=ID,path=PATH[,server=on][,wait=off][,reconnect=N]
 *   -chardev socket,id=ID,host=H,port=P[,server=on][,wait=off][,telnet=on]
 *   (short forms: unix:PATH,server=on,wait=off  tcp:H:P,server=on  telnet:H:P)
 *
 * A server serves one client at a time, as QEMU does: while a client is
 * connected the listening socket is not watched, so further clients wait
 * in the backlog until the current one leaves.  wait=on (the default for
 * servers) blocks start-up until the first client connects.  A client
 * with reconnect=N retries every N seconds after a failed connect or a
 * disconnect.
 *
 * Output is non-blocking: what the peer does not take at once is queued
 * and sent when the socket is writable, so a slow client never stalls the
 * main loop.  A client that lets more than SOCKET_OUTBUF_MAX pile up is
 * dropped.  Frontends with flow control (virtio-serial ports) use
 * write_nb instead, which queues at most SOCKET_NB_HIGH and tells them
 * (qemu_chr_be_writable) when the queue has drained below half of it.  Disconnects are deferred to an idle callback so a frontend is
 * never told CLOSED from inside its own read or write call.
 *
 * A QMP monitor moves its socket to the monitor I/O thread's context
 * (set_gcontext): every source below is then created in chr->gcontext
 * and runs in that thread, which owns the connection; other threads only
 * write.  Output and the connection state it uses (fd, outbuf, out_watch,
 * close_idle) are guarded by chr->write_lock, which every source callback
 * here takes too.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "chardev/char-fd.h"
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define SOCKET_OUTBUF_MAX (16 * MiB)
/* write_nb (flow-controlled frontends) queues at most this much, and
 * calls the frontend back once less than half of it is left. */
#define SOCKET_NB_HIGH (64 * KiB)
#define SOCKET_CLOSE_FLUSH_MS 1000

/* Telnet (RFC 854) bytes we send or parse. */
#define IAC  255
#define DONT 254
#define DO   253
#define WONT 252
#define WILL 251
#define SB   250
#define SE   240
#define TN_BREAK 243

typedef enum TelnetState {
    TN_DATA, TN_IAC, TN_OPT, TN_SUB, TN_SUB_IAC,
} TelnetState;

typedef struct SocketState {
    Chardev *chr;
    /* configuration */
    bool is_unix, is_listen, is_telnet, nodelay;
    int family;                 /* AF_UNSPEC, or AF_INET/6 for ipv4/ipv6=on */
    char *path, *host, *port;
    int inherited_fd;           /* fd=N: a socket kvmpc was handed, or -1 */
    unsigned reconnect_s;
    /* listening */
    int listen_fd;
    guint listen_watch;
    /* the connection */
    int fd;
    ChrFdReader reader;
    GByteArray *outbuf;         /* queued output; sent from out_pos on */
    guint out_pos;
    guint out_watch;
    guint close_idle;           /* deferred disconnect pending */
    guint connect_watch;        /* non-blocking connect in progress */
    int connecting_fd;
    guint reconnect_timer;
    TelnetState tn_state;
} SocketState;

static void sock_listen_watch_start(SocketState *s);
static void sock_schedule_reconnect(SocketState *s);
static void sock_request_close(SocketState *s);

/* ---- names for query-chardev ---------------------------------------- */

static char *sock_addr_str(const struct sockaddr_storage *ss, socklen_t len)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    bool v6 = ss->ss_family == AF_INET6;

    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host),
                    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV)) {
        return g_strdup("unknown");
    }
    return g_strdup_printf("%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
                           serv);
}

/* QEMU's forms: "disconnected:unix:P,server=on", "unix:P,server=on",
 * "tcp:L:LP,server=on <-> R:RP". */
static void sock_update_filename(SocketState *s)
{
    const char *server = s->is_listen ? ",server=on" : "";
    const char *proto = s->is_telnet ? "telnet" : "tcp";
    Chardev *chr = s->chr;

    g_free(chr->filename);
    if (s->fd < 0) {
        chr->filename = s->is_unix
            ? g_strdup_printf("disconnected:unix:%s%s", s->path, server)
            : g_strdup_printf("disconnected:%s:%s:%s%s", proto, s->host,
                              s->port, server);
    } else if (s->is_unix) {
        chr->filename = g_strdup_printf("unix:%s%s", s->path, server);
    } else {
        struct sockaddr_storage local, peer;
        socklen_t llen = sizeof(local), plen = sizeof(peer);
        getsockname(s->fd, (struct sockaddr *)&local, &llen);
        getpeername(s->fd, (struct sockaddr *)&peer, &plen);
        g_autofree char *l = sock_addr_str(&local, llen);
        g_autofree char *p = sock_addr_str(&peer, plen);
        chr->filename = g_strdup_printf("%s:%s%s <-> %s", proto, l, server,
                                        p);
    }
}

/* ---- telnet --------------------------------------------------------- */

static void telnet_send_init(SocketState *s)
{
    /* Character mode with local echo off, 8-bit clean (as QEMU). */
    static const uint8_t init[] = {
        IAC, WILL, 1,       /* echo */
        IAC, WILL, 3,       /* suppress go-ahead */
        IAC, WILL, 0,       /* binary */
        IAC, DO, 0,         /* binary */
    };
    qemu_chr_write_all(s->chr, init, sizeof(init));
}

/* Strip telnet commands; IAC BREAK becomes a break event. */
static void telnet_filter(Chardev *chr, const uint8_t *buf, int len)
{
    SocketState *s = chr->state;
    g_autoptr(GByteArray) out = g_byte_array_sized_new(len);

    for (int i = 0; i < len; i++) {
        uint8_t c = buf[i];
        switch (s->tn_state) {
        case TN_DATA:
            if (c == IAC) {
                s->tn_state = TN_IAC;
            } else {
                g_byte_array_append(out, &c, 1);
            }
            break;
        case TN_IAC:
            s->tn_state = TN_DATA;
            if (c == IAC) {
                g_byte_array_append(out, &c, 1);
            } else if (c >= WILL && c <= DONT) {
                s->tn_state = TN_OPT;
            } else if (c == SB) {
                s->tn_state = TN_SUB;
            } else if (c == TN_BREAK) {
                if (out->len) {
                    qemu_chr_be_write(chr, out->data, out->len);
                    g_byte_array_set_size(out, 0);
                }
                qemu_chr_be_event(chr, CHR_EVENT_BREAK);
            }
            break;
        case TN_OPT:
            s->tn_state = TN_DATA;
            break;
        case TN_SUB:
            s->tn_state = c == IAC ? TN_SUB_IAC : TN_SUB;
            break;
        case TN_SUB_IAC:
            s->tn_state = c == SE ? TN_DATA : TN_SUB;
            break;
        }
    }
    if (out->len) {
        qemu_chr_be_write(chr, out->data, out->len);
    }
}

/* ---- the connection ------------------------------------------------- */

static void sock_hangup(Chardev *chr)
{
    g_rec_mutex_lock(&chr->write_lock);
    sock_request_close(chr->state);
    g_rec_mutex_unlock(&chr->write_lock);
}

static void sock_connected(SocketState *s, int fd)
{
    int one = 1;

    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    if (!s->is_unix && s->nodelay) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    s->fd = fd;
    s->tn_state = TN_DATA;
    sock_update_filename(s);
    if (s->listen_watch) {
        /* One client at a time: the next waits in the backlog. */
        chr_remove_source(s->chr, s->listen_watch);
        s->listen_watch = 0;
    }
    if (s->is_telnet && s->is_listen) {
        telnet_send_init(s);
    }
    s->reader.on_hangup = sock_hangup;
    s->reader.on_data = s->is_telnet ? telnet_filter : NULL;
    chr_fd_reader_start(s->chr, &s->reader, fd);
    qemu_chr_be_event(s->chr, CHR_EVENT_OPENED);
}

static void sock_out_watch_stop(SocketState *s)
{
    if (s->out_watch) {
        chr_remove_source(s->chr, s->out_watch);
        s->out_watch = 0;
    }
}

static guint sock_out_pending(SocketState *s)
{
    return s->outbuf->len - s->out_pos;
}

static void sock_out_clear(SocketState *s)
{
    g_byte_array_set_size(s->outbuf, 0);
    s->out_pos = 0;
}

/* Send what the socket takes now; false if the connection broke. */
static bool sock_flush_some(SocketState *s)
{
    while (sock_out_pending(s)) {
        ssize_t n = send(s->fd, s->outbuf->data + s->out_pos,
                         sock_out_pending(s), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            return false;
        }
        s->out_pos += n;
    }
    /* Advance by an offset and compact rarely: no quadratic memmove. */
    if (!sock_out_pending(s)) {
        sock_out_clear(s);
    } else if (s->out_pos > s->outbuf->len / 2) {
        g_byte_array_remove_range(s->outbuf, 0, s->out_pos);
        s->out_pos = 0;
    }
    return true;
}

/* Best effort before closing: the last reply (an error) should arrive. */
static void sock_flush_before_close(SocketState *s)
{
    gint64 deadline = g_get_monotonic_time() + SOCKET_CLOSE_FLUSH_MS * 1000;

    while (sock_out_pending(s) && sock_flush_some(s) &&
           sock_out_pending(s)) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            break;
        }
    }
}

static void sock_close_now(SocketState *s)
{
    if (s->fd < 0) {
        return;
    }
    chr_fd_reader_stop(&s->reader);
    sock_out_watch_stop(s);
    sock_flush_before_close(s);
    close(s->fd);
    s->fd = -1;
    s->reader.fd = -1;
    sock_out_clear(s);
    sock_update_filename(s);
    qemu_chr_be_event(s->chr, CHR_EVENT_CLOSED);
    if (s->is_listen) {
        sock_listen_watch_start(s);
    } else if (s->reconnect_s) {
        sock_schedule_reconnect(s);
    }
}

static gboolean sock_close_idle(gpointer opaque)
{
    SocketState *s = opaque;

    g_rec_mutex_lock(&s->chr->write_lock);
    s->close_idle = 0;
    sock_close_now(s);
    g_rec_mutex_unlock(&s->chr->write_lock);
    return G_SOURCE_REMOVE;
}

/* Stop input now; close (and tell the frontend) from the main loop. */
static void sock_request_close(SocketState *s)
{
    if (s->fd < 0 || s->close_idle) {
        return;
    }
    chr_fd_reader_stop(&s->reader);
    s->close_idle = chr_add_idle(s->chr, sock_close_idle, s);
}

static gboolean sock_writable_locked(SocketState *s)
{
    if (!sock_flush_some(s)) {
        s->out_watch = 0;
        sock_out_clear(s);
        sock_request_close(s);
        return G_SOURCE_REMOVE;
    }
    if (sock_out_pending(s) <= SOCKET_NB_HIGH / 2) {
        /* A flow-controlled frontend may write more (out_watch is still
         * set, so sock_write does not add a second watch). */
        qemu_chr_be_writable(s->chr);
    }
    if (!sock_out_pending(s) || s->fd < 0) {
        s->out_watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean sock_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketState *s = opaque;
    gboolean ret;

    g_rec_mutex_lock(&s->chr->write_lock);
    ret = sock_writable_locked(s);
    g_rec_mutex_unlock(&s->chr->write_lock);
    return ret;
}

static int sock_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketState *s = chr->state;

    if (s->fd < 0 || s->close_idle) {
        return len;     /* not connected: dropped, as in QEMU */
    }
    if (sock_out_pending(s) + len > SOCKET_OUTBUF_MAX) {
        /* The peer stopped reading long ago: give up on it. */
        sock_out_clear(s);
        sock_request_close(s);
        return len;
    }
    g_byte_array_append(s->outbuf, buf, len);
    if (!sock_flush_some(s)) {
        sock_out_clear(s);
        sock_request_close(s);
    } else if (sock_out_pending(s) && !s->out_watch) {
        s->out_watch = chr_add_fd_watch(chr, s->fd,
                                        G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                        sock_writable, s, NULL);
    }
    return len;
}

/*
 * Take what fits under SOCKET_NB_HIGH.  When that is short of @len the
 * queue is full and out_watch runs (sock_write armed it), so
 * sock_writable calls the frontend back.
 */
static int sock_write_nb(Chardev *chr, const uint8_t *buf, int len)
{
    SocketState *s = chr->state;
    int done = 0;

    if (s->fd < 0 || s->close_idle) {
        return len;     /* not connected: dropped, as sock_write */
    }
    while (done < len && sock_out_pending(s) < SOCKET_NB_HIGH &&
           s->fd >= 0 && !s->close_idle) {
        int n = MIN(len - done, (int)(SOCKET_NB_HIGH - sock_out_pending(s)));
        sock_write(chr, buf + done, n);
        done += n;
    }
    return s->fd < 0 || s->close_idle ? len : done;
}

static void sock_accept_input(Chardev *chr)
{
    SocketState *s = chr->state;

    g_rec_mutex_lock(&chr->write_lock);
    if (s->fd >= 0 && !s->close_idle) {
        chr_fd_reader_resume(chr, &s->reader);
    }
    g_rec_mutex_unlock(&chr->write_lock);
}

static bool sock_disconnect(Chardev *chr)
{
    SocketState *s = chr->state;
    bool connected;

    g_rec_mutex_lock(&chr->write_lock);
    connected = s->fd >= 0;
    if (connected) {
        sock_request_close(s);
    }
    g_rec_mutex_unlock(&chr->write_lock);
    return connected;
}

/* ---- addresses ------------------------------------------------------ */

static bool sock_unix_addr(SocketState *s, struct sockaddr_un *sun,
                           GError **errp)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(s->path) >= sizeof(sun->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", s->path);
        return false;
    }
    strcpy(sun->sun_path, s->path);
    return true;
}

static struct addrinfo *sock_resolve(SocketState *s, bool passive,
                                     GError **errp)
{
    struct addrinfo hints = {
        .ai_family = s->family,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE : 0,
    };
    struct addrinfo *res = NULL;
    const char *host = s->host;
    g_autofree char *unbracketed = NULL;
    int rc;

    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        unbracketed = g_strndup(host + 1, strlen(host) - 2);
        host = unbracketed;
    }
    if (!*host) {
        host = passive ? NULL : "localhost";
    }
    rc = getaddrinfo(host, s->port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   s->host, s->port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

/* ---- server --------------------------------------------------------- */

static int sock_listen_unix(SocketState *s, GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (!sock_unix_addr(s, &sun, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg(errp, "Failed to create socket: %s", g_strerror(errno));
        return -1;
    }
    /* A stale socket file from an earlier run would make bind fail. */
    if (unlink(s->path) < 0 && errno != ENOENT) {
        error_setg(errp, "Failed to unlink socket %s: %s", s->path,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(fd, 1) < 0) {
        error_setg(errp, "Failed to bind socket to %s: %s", s->path,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int sock_listen_tcp(SocketState *s, GError **errp)
{
    struct addrinfo *res = sock_resolve(s, true, errp);
    int err = 0, fd = -1, one = 1;

    if (!res) {
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 1) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg(errp, "Failed to bind socket on %s:%s: %s", s->host,
                   s->port, g_strerror(err));
    }
    return fd;
}

static gboolean sock_accept_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketState *s = opaque;
    int cfd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (cfd < 0) {
        return G_SOURCE_CONTINUE;   /* EAGAIN, or the client gave up */
    }
    g_rec_mutex_lock(&s->chr->write_lock);
    s->listen_watch = 0;
    sock_connected(s, cfd);
    g_rec_mutex_unlock(&s->chr->write_lock);
    return G_SOURCE_REMOVE;
}

static void sock_listen_watch_start(SocketState *s)
{
    if (!s->listen_watch && s->listen_fd >= 0) {
        s->listen_watch = chr_add_fd_watch(s->chr, s->listen_fd, G_IO_IN,
                                           sock_accept_ready, s, NULL);
    }
}

/* wait=on: QEMU blocks start-up until the first client is there. */
static bool sock_wait_for_client(SocketState *s, GError **errp)
{
    int cfd;

    fprintf(stderr, "kvmpc: info: QEMU waiting for connection on: %s\n",
            s->chr->filename);
    do {
        cfd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    } while (cfd < 0 && errno == EINTR);
    if (cfd < 0) {
        error_setg(errp, "Failed to accept a connection: %s",
                   g_strerror(errno));
        return false;
    }
    sock_connected(s, cfd);
    return true;
}

static bool sock_open_server(SocketState *s, bool wait, GError **errp)
{
    s->listen_fd = s->inherited_fd >= 0 ? s->inherited_fd :
                   s->is_unix ? sock_listen_unix(s, errp)
                              : sock_listen_tcp(s, errp);
    if (s->listen_fd < 0) {
        return false;
    }
    if (!s->is_unix && !strcmp(s->port, "0")) {
        /* Show the port the kernel picked. */
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char serv[NI_MAXSERV];
        if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) == 0 &&
            getnameinfo((struct sockaddr *)&ss, len, NULL, 0, serv,
                        sizeof(serv), NI_NUMERICSERV) == 0) {
            g_free(s->port);
            s->port = g_strdup(serv);
        }
    }
    g_unix_set_fd_nonblocking(s->listen_fd, TRUE, NULL);
    sock_update_filename(s);
    if (wait) {
        g_unix_set_fd_nonblocking(s->listen_fd, FALSE, NULL);
        bool ok = sock_wait_for_client(s, errp);
        g_unix_set_fd_nonblocking(s->listen_fd, TRUE, NULL);
        return ok;
    }
    sock_listen_watch_start(s);
    return true;
}

/* ---- client --------------------------------------------------------- */

/*
 * Start connecting.  Returns the connected fd (>= 0), or -1 with *pending
 * set when a non-blocking connect is under way on *pending_fd, or -1 with
 * @errp set on failure.
 */
static int sock_connect(SocketState *s, bool blocking, int *pending_fd,
                        GError **errp)
{
    struct sockaddr_un sun;
    struct addrinfo *res = NULL;
    const struct sockaddr *addr;
    socklen_t addrlen;
    int fd, err;

    *pending_fd = -1;
    if (s->is_unix) {
        if (!sock_unix_addr(s, &sun, errp)) {
            return -1;
        }
        addr = (struct sockaddr *)&sun;
        addrlen = sizeof(sun);
    } else {
        res = sock_resolve(s, false, errp);
        if (!res) {
            return -1;
        }
        addr = res->ai_addr;
        addrlen = res->ai_addrlen;
    }
    fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC |
                (blocking ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0) {
        err = errno;
    } else if (connect(fd, addr, addrlen) == 0) {
        err = 0;
    } else {
        err = errno;
    }
    if (res) {
        freeaddrinfo(res);
    }
    if (fd >= 0 && err == EINPROGRESS) {
        *pending_fd = fd;
        return -1;
    }
    if (err) {
        if (fd >= 0) {
            close(fd);
        }
        if (s->is_unix) {
            error_setg(errp, "Failed to connect to '%s': %s", s->path,
                       g_strerror(err));
        } else {
            error_setg(errp, "Failed to connect to '%s:%s': %s", s->host,
                       s->port, g_strerror(err));
        }
        return -1;
    }
    return fd;
}

static gboolean sock_connect_done(gint fd, GIOCondition cond, gpointer opaque)
{
    SocketState *s = opaque;
    int err = 0;
    socklen_t len = sizeof(err);

    g_rec_mutex_lock(&s->chr->write_lock);
    s->connect_watch = 0;
    s->connecting_fd = -1;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        close(fd);
        sock_schedule_reconnect(s);
    } else {
        sock_connected(s, fd);
    }
    g_rec_mutex_unlock(&s->chr->write_lock);
    return G_SOURCE_REMOVE;
}

/* One reconnect attempt, never blocking the main loop. */
static void sock_try_connect_async(SocketState *s)
{
    int pending, fd = sock_connect(s, false, &pending, NULL);

    if (fd >= 0) {
        sock_connected(s, fd);
    } else if (pending >= 0) {
        s->connecting_fd = pending;
        s->connect_watch = chr_add_fd_watch(s->chr, pending,
                                            G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                            sock_connect_done, s, NULL);
    } else {
        sock_schedule_reconnect(s);
    }
}

static gboolean sock_reconnect_timer(gpointer opaque)
{
    SocketState *s = opaque;

    g_rec_mutex_lock(&s->chr->write_lock);
    s->reconnect_timer = 0;
    sock_try_connect_async(s);
    g_rec_mutex_unlock(&s->chr->write_lock);
    return G_SOURCE_REMOVE;
}

static void sock_schedule_reconnect(SocketState *s)
{
    if (!s->reconnect_timer) {
        s->reconnect_timer = chr_add_timeout_seconds(s->chr, s->reconnect_s,
                                                     sock_reconnect_timer, s);
    }
}

static bool sock_open_client(SocketState *s, GError **errp)
{
    int pending, fd;

    sock_update_filename(s);
    if (s->inherited_fd >= 0) {
        /* an already connected socket */
        sock_connected(s, s->inherited_fd);
        return true;
    }
    if (s->reconnect_s) {
        /* QEMU: with reconnect, a first failure is not fatal. */
        sock_try_connect_async(s);
        return true;
    }
    fd = sock_connect(s, true, &pending, errp);
    if (fd < 0) {
        return false;
    }
    sock_connected(s, fd);
    return true;
}

/* ---- options -------------------------------------------------------- */

static bool opt_bool(GHashTable *opts, const char *key, bool def, bool *out,
                     GError **errp)
{
    const char *v = g_hash_table_lookup(opts, key);

    *out = def;
    return !v || parse_bool(v, out, errp);
}

/*
 * fd=N: a socket opened by whoever started kvmpc (libvirt hands over the
 * QMP monitor this way: a listening unix socket with server=on).  Its
 * address only names it in query-chardev; kvmpc never binds, unlinks or
 * connects it.
 */
static bool sock_parse_fd(SocketState *s, const char *v, GError **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    uint64_t n;
    struct stat st;

    if (!parse_uint(v, &n, NULL) || n > INT_MAX || fstat((int)n, &st) < 0 ||
        !S_ISSOCK(st.st_mode)) {
        error_setg(errp, "chardev: socket: fd=%s is not an open socket", v);
        return false;
    }
    s->inherited_fd = (int)n;
    if (getsockname(s->inherited_fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg(errp, "chardev: socket: fd=%s: %s", v, g_strerror(errno));
        return false;
    }
    fcntl(s->inherited_fd, F_SETFD, FD_CLOEXEC);
    if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        s->is_unix = true;
        s->path = g_strndup(sun->sun_path,
                            len > offsetof(struct sockaddr_un, sun_path) ?
                            len - offsetof(struct sockaddr_un, sun_path) : 0);
        return true;
    }
    s->host = sock_addr_str(&ss, len);
    s->port = g_strdup("");
    return true;
}

static bool sock_parse_addr(SocketState *s, GHashTable *opts, GError **errp)
{
    const char *path = g_hash_table_lookup(opts, "path");
    const char *host = g_hash_table_lookup(opts, "host");
    const char *port = g_hash_table_lookup(opts, "port");
    const char *fd = g_hash_table_lookup(opts, "fd");
    bool v4, v6;

    if (fd) {
        if (path || host || port) {
            error_setg(errp, "chardev: socket: 'fd' and 'path'/'host'/'port' "
                       "are mutually exclusive");
            return false;
        }
        return sock_parse_fd(s, fd, errp);
    }
    if (path && (host || port)) {
        error_setg(errp, "chardev: socket: 'path' and 'host'/'port' are "
                   "mutually exclusive");
        return false;
    }
    if (path) {
        s->is_unix = true;
        s->path = g_strdup(path);
        return true;
    }
    if (!port || !*port) {
        error_setg(errp, "chardev: socket: no port given");
        return false;
    }
    if (!opt_bool(opts, "ipv4", false, &v4, errp) ||
        !opt_bool(opts, "ipv6", false, &v6, errp)) {
        return false;
    }
    s->family = v4 && !v6 ? AF_INET : v6 && !v4 ? AF_INET6 : AF_UNSPEC;
    s->host = g_strdup(host ? host : "");
    s->port = g_strdup(port);
    return true;
}

static bool sock_parse_reconnect(SocketState *s, GHashTable *opts,
                                 GError **errp)
{
    const char *v = g_hash_table_lookup(opts, "reconnect");
    uint64_t n = 0;

    if (v && !parse_uint(v, &n, errp)) {
        return false;
    }
    if (n > G_MAXUINT / 1000) {
        /* g_timeout_add_seconds takes a guint */
        error_setg(errp, "reconnect: '%s' is out of range", v);
        return false;
    }
    s->reconnect_s = n;
    return true;
}

static bool sock_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    SocketState *s = chr->state;
    bool wait, nowait;

    s->chr = chr;
    s->fd = s->listen_fd = s->connecting_fd = s->inherited_fd = -1;
    s->reader.fd = -1;
    s->outbuf = g_byte_array_new();
    if (!sock_parse_addr(s, opts, errp) ||
        !opt_bool(opts, "server", false, &s->is_listen, errp) ||
        !opt_bool(opts, "wait", true, &wait, errp) ||
        !opt_bool(opts, "nowait", false, &nowait, errp) ||
        !opt_bool(opts, "telnet", false, &s->is_telnet, errp) ||
        !opt_bool(opts, "nodelay", false, &s->nodelay, errp) ||
        !sock_parse_reconnect(s, opts, errp)) {
        goto fail;
    }
    if (s->inherited_fd >= 0) {
        int listening = 0;
        socklen_t len = sizeof(listening);

        getsockopt(s->inherited_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
                   &len);
        if (!!listening != s->is_listen) {
            error_setg(errp, "chardev: socket: fd=%d is %s socket but "
                       "server=%s", s->inherited_fd,
                       listening ? "a listening" : "a connected",
                       s->is_listen ? "on" : "off");
            goto fail;
        }
        if (s->reconnect_s) {
            error_setg(errp, "'reconnect' option is incompatible with 'fd'");
            goto fail;
        }
    }
    if (s->is_listen && s->reconnect_s) {
        error_setg(errp, "'reconnect' option is incompatible with "
                   "'server' option");
        goto fail;
    }
    if (s->is_listen ? sock_open_server(s, wait && !nowait, errp)
                     : sock_open_client(s, errp)) {
        return true;
    }
fail:
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    if (s->listen_watch) {
        chr_remove_source(chr, s->listen_watch);
    }
    g_byte_array_unref(s->outbuf);
    g_free(s->path);
    g_free(s->host);
    g_free(s->port);
    g_free(chr->filename);
    chr->filename = NULL;
    return false;
}

static void sock_remove_source(SocketState *s, guint *id)
{
    chr_remove_source(s->chr, *id);
    *id = 0;
}

/* Every GLib source the socket has, in whatever context, gone. */
static void sock_remove_all_sources(SocketState *s)
{
    sock_remove_source(s, &s->close_idle);
    sock_remove_source(s, &s->reconnect_timer);
    sock_remove_source(s, &s->connect_watch);
    sock_remove_source(s, &s->listen_watch);
    chr_fd_reader_stop(&s->reader);
    sock_out_watch_stop(s);
}

/*
 * Move every source to @ctx (a QMP monitor's I/O thread).  The main
 * thread calls this with write_lock held before that thread owns any of
 * them; each source that was active is made again in the new context.
 */
static void sock_set_gcontext(Chardev *chr, GMainContext *ctx)
{
    SocketState *s = chr->state;
    bool closing = s->close_idle, reconnecting = s->reconnect_timer;
    bool connecting = s->connect_watch, listening = s->listen_watch;
    bool reading = s->reader.watch, writing = s->out_watch;

    sock_remove_all_sources(s);
    chr->gcontext = ctx;
    if (closing) {
        s->close_idle = chr_add_idle(chr, sock_close_idle, s);
    }
    if (reconnecting) {
        sock_schedule_reconnect(s);
    }
    if (connecting) {
        s->connect_watch = chr_add_fd_watch(chr, s->connecting_fd,
                                            G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                            sock_connect_done, s, NULL);
    }
    if (listening) {
        sock_listen_watch_start(s);
    }
    if (reading) {
        chr_fd_reader_start(chr, &s->reader, s->reader.fd);
    }
    if (writing) {
        s->out_watch = chr_add_fd_watch(chr, s->fd,
                                        G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                        sock_writable, s, NULL);
    }
}

static void sock_close(Chardev *chr)
{
    SocketState *s = chr->state;

    sock_remove_all_sources(s);
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->connecting_fd >= 0) {
        close(s->connecting_fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        if (s->is_unix && s->inherited_fd < 0) {
            unlink(s->path);        /* only a socket kvmpc made itself */
        }
    }
    g_byte_array_unref(s->outbuf);
    g_free(s->path);
    g_free(s->host);
    g_free(s->port);
}

static const char *const socket_opts[] = {
    "path", "host", "port", "fd", "server", "wait", "nowait", "reconnect",
    "telnet", "nodelay", "ipv4", "ipv6", NULL,
};

static const ChardevDriver socket_driver = {
    .name = "socket",
    .opts = socket_opts,
    .open = sock_open,
    .write = sock_write,
    .write_nb = sock_write_nb,
    .accept_input = sock_accept_input,
    .close = sock_close,
    .disconnect = sock_disconnect,
    .set_gcontext = sock_set_gcontext,
    .state_size = sizeof(SocketState),
};

static void socket_register(void)
{
    chardev_driver_register(&socket_driver);
}
chardev_init(socket_register)
