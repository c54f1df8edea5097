/*
 * Socket backends, QEMU 7.2's three spellings of one idea:
 *
 *   -netdev socket,id=ID,listen=[HOST]:PORT | connect=HOST:PORT | fd=N
 *   -netdev socket,id=ID,mcast=MADDR:PORT[,localaddr=ADDR]
 *   -netdev socket,id=ID,udp=HOST:PORT,localaddr=HOST:PORT
 *   -netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=H,
 *           addr.port=P | addr.type=unix,addr.path=PATH | addr.type=fd,
 *           addr.str=N
 *   -netdev dgram,id=ID,local.type=inet,local.host=H,local.port=P
 *           [,remote.type=inet,remote.host=H,remote.port=P]
 *           | local.type=unix,local.path=P[,remote.type=unix,
 *           remote.path=P] | local.type=fd,local.str=N
 *
 * Stream sockets carry each frame behind a 4-byte big-endian length (the
 * QEMU wire format, so kvmpc and QEMU interoperate); datagram sockets
 * carry one frame per datagram.  Datagram transmit sends the guest's
 * iovecs with sendmsg (no copy).  Stream transmit copies each frame, behind
 * its length, into a staging buffer (tx_stage, 256 KiB) and a bottom half
 * writes what gathered with one send() per main-loop pass: a NIC sending
 * a burst of frames costs one system call, not one each.  When the socket
 * would block, the unwritten part stays staged; frames keep being staged
 * while they fit, and the first that does not is held by the core
 * (back-pressure on the NIC) until the socket is writable and the stage
 * drained.  Receive stops reading the socket
 * while the NIC cannot take frames (the core's completion callback
 * resumes it), so a guest without receive buffers makes the kernel's
 * socket buffer, not kvmpc, fill up.
 *
 * A stream socket is read in large pieces into a fixed buffer (rbuf), and
 * every complete frame in it is handed to the NIC in the same pass: one
 * recv() for dozens of frames, not two per frame.  The buffer is the only
 * read-ahead: when the NIC holds a frame, reading stops and the frames
 * still in the buffer wait there (a bottom half resumes them once the
 * frame is taken), the rest stays in the kernel.
 *
 * The fd watches may recurse (g_source_set_can_recurse): GLib otherwise
 * takes a source's fds out of the poll set around each dispatch and puts
 * them back, signalling the context's wakeup eventfd twice every time;
 * the callbacks never iterate the main context themselves.
 */
#include "qemu/osdep.h"
#include "net/net.h"
#include "system/bh.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A largest frame with its length, and as much again of read-ahead. */
#define SOCK_RBUF_SIZE  (2 * (4 + NET_BUFSIZE))
/* Stream transmit staging: several largest frames, a few hundred MTU ones. */
#define SOCK_TX_STAGE   (256 * 1024)

typedef struct NetSocketState {
    NetClientState nc;
    int fd;                     /* the data socket, -1 while none */
    int listen_fd;              /* stream server: -1 when not listening */
    bool stream;
    bool read_enabled;          /* not waiting for the peer */
    bool write_wait;            /* the socket would block: waiting */
    guint read_watch, write_watch, listen_watch;
    /* stream transmit: tx_stage[tx_off..tx_len) not yet written */
    uint8_t *tx_stage;
    size_t tx_off, tx_len;
    BH *tx_bh;
    struct sockaddr_storage dst;    /* datagram: where frames go */
    socklen_t dst_len;
    char *unlink_path;          /* unix listener to remove at cleanup */
    bool frame_ready;           /* handed over, waiting for the peer */
    /* stream receive: frames behind their lengths, rbuf[rpos..rlen) */
    size_t rpos, rlen;
    BH *resume_bh;              /* deliver what rbuf holds after a wait */
    uint8_t rbuf[SOCK_RBUF_SIZE];
    uint8_t buf[NET_BUFSIZE];   /* datagram receive */
} NetSocketState;

static void sock_update_read(NetSocketState *s);

/* g_unix_fd_add, but a source GLib does not block around its dispatch. */
static guint sock_watch(int fd, GIOCondition cond, GUnixFDSourceFunc fn,
                        gpointer opaque)
{
    GSource *src = g_unix_fd_source_new(fd, cond);
    guint id;

    g_source_set_can_recurse(src, TRUE);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))fn, opaque,
                          NULL);
    id = g_source_attach(src, NULL);
    g_source_unref(src);
    return id;
}

/* ---- addresses --------------------------------------------------------- */

/* "HOST:PORT" (HOST may be empty: any/loopback) into @ss. */
static bool parse_host_port(const char *str, bool passive,
                            struct sockaddr_storage *ss, socklen_t *len,
                            GError **errp)
{
    const char *colon = strrchr(str, ':');
    g_autofree char *host = NULL;
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = 0 };
    struct addrinfo *res = NULL;
    int rc;

    if (!colon) {
        error_setg(errp, "host address '%s' doesn't contain ':' "
                   "separating host from port", str);
        return false;
    }
    host = g_strndup(str, colon - str);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        char *h = g_strndup(host + 1, strlen(host) - 2);
        g_free(host);
        host = h;
        hints.ai_family = AF_INET6;
    }
    if (passive) {
        hints.ai_flags = AI_PASSIVE;
    }
    rc = getaddrinfo(*host ? host : (passive ? NULL : "127.0.0.1"),
                     colon + 1, &hints, &res);
    if (rc || !res) {
        error_setg(errp, "address resolution failed for %s: %s", str,
                   gai_strerror(rc));
        return false;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static bool parse_unix(const char *path, struct sockaddr_storage *ss,
                       socklen_t *len, GError **errp)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)ss;

    if (strlen(path) >= sizeof(sun->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    strcpy(sun->sun_path, path);
    *len = sizeof(*sun);
    return true;
}

static char *addr_str(const struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN] = "";

    if (ss->ss_family == AF_UNIX) {
        return g_strdup(((const struct sockaddr_un *)ss)->sun_path);
    }
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        return g_strdup_printf("%s:%d", host, ntohs(in->sin_port));
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
        return g_strdup_printf("[%s]:%d", host, ntohs(in->sin6_port));
    }
    return g_strdup("?");
}

/* A monitor fd name or a number (QEMU's monitor_fd_param). */
static int parse_fd(const char *str, GError **errp)
{
    uint64_t fd;

    if (!parse_uint(str, &fd, NULL) || fd > INT_MAX ||
        fcntl((int)fd, F_GETFD) < 0) {
        error_setg(errp, "Invalid file descriptor number '%s'", str);
        return -1;
    }
    return fd;
}

/* ---- transmit (frames from the NIC) ---------------------------------------- */

static gboolean sock_writable(gint fd, GIOCondition cond, gpointer opaque);

static void sock_wait_writable(NetSocketState *s)
{
    s->write_wait = true;
    if (!s->write_watch) {
        s->write_watch = sock_watch(s->fd, G_IO_OUT, sock_writable, s);
    }
}

/* Write what is staged; false when the socket would block (a watch for
 * writability is set).  A broken connection loses what was staged. */
static bool sock_tx_flush(NetSocketState *s)
{
    while (s->tx_off < s->tx_len && s->fd >= 0) {
        ssize_t n = send(s->fd, s->tx_stage + s->tx_off,
                         s->tx_len - s->tx_off, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sock_wait_writable(s);
            return false;
        }
        if (n <= 0) {
            break;
        }
        s->tx_off += n;
    }
    s->tx_off = s->tx_len = 0;
    return true;
}

static void sock_tx_bh(void *opaque)
{
    NetSocketState *s = opaque;

    if (!s->write_wait) {
        sock_tx_flush(s);
    }
}

static gboolean sock_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    NetSocketState *s = opaque;

    s->write_watch = 0;
    if (s->stream && !sock_tx_flush(s)) {
        return G_SOURCE_REMOVE;     /* a new watch waits for the rest */
    }
    s->write_wait = false;
    qemu_flush_queued_packets(&s->nc);   /* re-delivers the held frame */
    return G_SOURCE_REMOVE;
}

static ssize_t sock_receive_stream(NetSocketState *s, const struct iovec *iov,
                                   int iovcnt, size_t size)
{
    uint32_t be = htonl(size);

    if (size > NET_BUFSIZE) {
        return size;            /* too large for any peer: dropped */
    }
    if (s->tx_len + 4 + size > SOCK_TX_STAGE) {
        /* full: write what is staged now, or hold the frame */
        if (s->write_wait || !sock_tx_flush(s)) {
            return 0;
        }
    }
    memcpy(s->tx_stage + s->tx_len, &be, 4);
    net_iov_to_buf(iov, iovcnt, 0, s->tx_stage + s->tx_len + 4, size);
    s->tx_len += 4 + size;
    if (!s->write_wait) {
        bh_schedule(s->tx_bh);
    }
    return size;
}

static ssize_t sock_receive_iov(NetClientState *nc, const struct iovec *iov,
                                int iovcnt)
{
    NetSocketState *s = (NetSocketState *)nc;
    size_t size = net_iov_size(iov, iovcnt);
    struct msghdr msg = { 0 };
    ssize_t ret;

    if (s->fd < 0) {
        return size;            /* nobody connected: the frame is lost */
    }
    if (s->stream) {
        return sock_receive_stream(s, iov, iovcnt, size);
    }
    if (s->dst_len) {
        msg.msg_name = &s->dst;
        msg.msg_namelen = s->dst_len;
    }
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = iovcnt;
    do {
        ret = sendmsg(s->fd, &msg, MSG_DONTWAIT);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        sock_wait_writable(s);
        return 0;
    }
    return size;                /* sent, or lost (no such peer) */
}

/* ---- receive (frames to the NIC) ------------------------------------------- */

static void sock_sent(NetClientState *nc, ssize_t len)
{
    NetSocketState *s = (NetSocketState *)nc;

    s->frame_ready = false;
    if (s->stream && s->rpos < s->rlen) {
        bh_schedule(s->resume_bh);  /* frames in rbuf first */
        return;
    }
    s->read_enabled = true;
    sock_update_read(s);
}

/* Hand a complete frame to the peer; false: wait for sock_sent. */
static bool sock_deliver(NetSocketState *s, const uint8_t *buf, size_t len)
{
    if (qemu_send_packet_async(&s->nc, buf, len, sock_sent) == 0) {
        s->frame_ready = true;
        s->read_enabled = false;
        sock_update_read(s);
        return false;
    }
    return true;
}

static void sock_disconnect(NetSocketState *s);

/*
 * Deliver the complete frames in rbuf.  False when the stream is bad (a
 * length beyond NET_BUFSIZE) and was disconnected.  Stops at a frame the
 * NIC holds (the core has a copy of it): the rest waits for sock_sent.
 */
static bool sock_deliver_buffered(NetSocketState *s)
{
    while (s->rlen - s->rpos >= 4 && !s->frame_ready) {
        uint32_t be, len;

        memcpy(&be, s->rbuf + s->rpos, 4);
        len = ntohl(be);
        if (len > NET_BUFSIZE) {
            error_report("netdev %s: a frame of %u bytes from the socket is "
                         "too large; disconnecting", s->nc.name, len);
            sock_disconnect(s);
            return false;
        }
        if (s->rlen - s->rpos - 4 < len) {
            break;              /* not all here yet */
        }
        s->rpos += 4 + len;
        if (len) {              /* an empty frame: nothing to deliver */
            sock_deliver(s, s->rbuf + s->rpos - len, len);
        }
    }
    if (s->rpos == s->rlen) {
        s->rpos = s->rlen = 0;
    }
    return true;
}

static void sock_resume(void *opaque)
{
    NetSocketState *s = opaque;

    if (s->frame_ready || s->fd < 0) {
        return;
    }
    if (sock_deliver_buffered(s) && !s->frame_ready) {
        s->read_enabled = true;
        sock_update_read(s);
    }
}

/*
 * Stream: fill rbuf behind what it holds (a partial frame is moved to
 * the front first, so a largest frame always fits), then deliver every
 * complete frame.
 */
static gboolean sock_read_stream(NetSocketState *s)
{
    ssize_t n;

    if (s->rpos) {
        memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
        s->rlen -= s->rpos;
        s->rpos = 0;
    }
    n = recv(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen,
             MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        s->read_watch = 0;
        sock_disconnect(s);
        return G_SOURCE_REMOVE;
    }
    s->rlen += n;
    if (!sock_deliver_buffered(s)) {
        return G_SOURCE_REMOVE;     /* disconnected */
    }
    return s->read_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean sock_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    NetSocketState *s = opaque;
    ssize_t n;

    if (s->stream) {
        return sock_read_stream(s);
    }
    n = recv(s->fd, s->buf, sizeof(s->buf), MSG_DONTWAIT);
    if (n >= 0) {
        sock_deliver(s, s->buf, n);
    }
    return s->read_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void sock_update_read(NetSocketState *s)
{
    bool want = s->fd >= 0 && s->read_enabled;

    if (want && !s->read_watch) {
        s->read_watch = sock_watch(s->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                   sock_readable, s);
    } else if (!want && s->read_watch) {
        GSource *src = g_main_context_find_source_by_id(NULL, s->read_watch);
        /* Inside the watch's own callback: it returns REMOVE itself. */
        if (src && !g_source_is_destroyed(src) &&
            g_main_current_source() != src) {
            g_source_destroy(src);
        }
        s->read_watch = 0;
    }
}

static gboolean sock_accept(gint fd, GIOCondition cond, gpointer opaque);

static void sock_listen_watch(NetSocketState *s)
{
    if (s->listen_fd >= 0 && !s->listen_watch) {
        s->listen_watch = g_unix_fd_add(s->listen_fd, G_IO_IN, sock_accept, s);
    }
}

static void sock_disconnect(NetSocketState *s)
{
    if (s->read_watch) {
        g_source_remove(s->read_watch);
        s->read_watch = 0;
    }
    if (s->write_watch) {
        g_source_remove(s->write_watch);
        s->write_watch = 0;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->rpos = s->rlen = 0;     /* a partial stream is worth nothing */
    s->tx_off = s->tx_len = 0;  /* nor is what was staged for it */
    if (s->write_wait) {
        s->write_wait = false;
        qemu_flush_queued_packets(&s->nc);  /* held frame: now dropped */
    }
    if (s->listen_fd >= 0) {
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "socket: waiting for a connection");
        sock_listen_watch(s);
    }
}

static void sock_connected(NetSocketState *s, int fd)
{
    s->fd = fd;
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    s->read_enabled = !s->frame_ready;
    sock_update_read(s);
}

static gboolean sock_accept(gint lfd, GIOCondition cond, gpointer opaque)
{
    NetSocketState *s = opaque;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    g_autofree char *from = NULL;

    if (fd < 0) {
        return G_SOURCE_CONTINUE;
    }
    from = addr_str(&ss);
    snprintf(s->nc.info_str, sizeof(s->nc.info_str),
             "socket: connection from %s", from);
    sock_connected(s, fd);
    /* One connection at a time, as QEMU: stop accepting. */
    s->listen_watch = 0;
    return G_SOURCE_REMOVE;
}

/* ---- client state -------------------------------------------------------------- */

static void sock_cleanup(NetClientState *nc)
{
    NetSocketState *s = (NetSocketState *)nc;

    if (s->listen_watch) {
        g_source_remove(s->listen_watch);
    }
    if (s->read_watch) {
        g_source_remove(s->read_watch);
    }
    if (s->write_watch) {
        g_source_remove(s->write_watch);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    if (s->unlink_path) {
        unlink(s->unlink_path);
        g_free(s->unlink_path);
    }
    bh_free(s->resume_bh);
    bh_free(s->tx_bh);
    g_free(s->tx_stage);
}

static const NetClientInfo socket_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .size = sizeof(NetSocketState),
    .receive_iov = sock_receive_iov,
    .cleanup = sock_cleanup,
};

static const NetClientInfo stream_info = {
    .type = NET_CLIENT_DRIVER_STREAM,
    .size = sizeof(NetSocketState),
    .receive_iov = sock_receive_iov,
    .cleanup = sock_cleanup,
};

static const NetClientInfo dgram_info = {
    .type = NET_CLIENT_DRIVER_DGRAM,
    .size = sizeof(NetSocketState),
    .receive_iov = sock_receive_iov,
    .cleanup = sock_cleanup,
};

static NetSocketState *sock_new(const NetClientInfo *info, const char *model,
                                const char *name, NetClientState *peer,
                                bool stream)
{
    NetSocketState *s = (NetSocketState *)qemu_new_net_client(info, peer,
                                                              model, name);
    s->fd = s->listen_fd = -1;
    s->stream = stream;
    s->read_enabled = true;
    s->resume_bh = bh_new(NULL, sock_resume, s);
    if (stream) {
        s->tx_stage = g_malloc(SOCK_TX_STAGE);
        s->tx_bh = bh_new(NULL, sock_tx_bh, s);
    }
    return s;
}

/* ---- setup -------------------------------------------------------------------- */

static int sock_listen(const struct sockaddr_storage *ss, socklen_t len,
                       GError **errp)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    g_autofree char *a = addr_str(ss);

    if (fd < 0) {
        error_setg(errp, "can't create stream socket: %s", g_strerror(errno));
        return -1;
    }
    if (ss->ss_family == AF_UNIX) {
        unlink(((const struct sockaddr_un *)ss)->sun_path);
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
        listen(fd, 1) < 0) {
        error_setg(errp, "can't bind ip=%s to socket: %s", a,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    return fd;
}

static int sock_connect(const struct sockaddr_storage *ss, socklen_t len,
                        GError **errp)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_autofree char *a = addr_str(ss);
    int rc;

    if (fd < 0) {
        error_setg(errp, "can't create stream socket: %s", g_strerror(errno));
        return -1;
    }
    do {
        rc = connect(fd, (const struct sockaddr *)ss, len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        error_setg(errp, "can't connect socket to %s: %s", a,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static bool stream_server(NetSocketState *s, const struct sockaddr_storage *ss,
                          socklen_t len, GError **errp)
{
    g_autofree char *a = addr_str(ss);

    s->listen_fd = sock_listen(ss, len, errp);
    if (s->listen_fd < 0) {
        return false;
    }
    if (ss->ss_family == AF_UNIX) {
        s->unlink_path = g_strdup(a);
    }
    snprintf(s->nc.info_str, sizeof(s->nc.info_str),
             "socket: wait from %s", a);
    sock_listen_watch(s);
    return true;
}

static bool dgram_open(NetSocketState *s, const struct sockaddr_storage *local,
                       socklen_t llen, GError **errp)
{
    int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    g_autofree char *a = addr_str(local);

    if (fd < 0) {
        error_setg(errp, "can't create datagram socket: %s",
                   g_strerror(errno));
        return false;
    }
    if (local->ss_family == AF_UNIX) {
        unlink(((const struct sockaddr_un *)local)->sun_path);
        s->unlink_path = g_strdup(a);
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)local, llen) < 0) {
        error_setg(errp, "can't bind ip=%s to socket: %s", a,
                   g_strerror(errno));
        close(fd);
        return false;
    }
    sock_connected(s, fd);
    return true;
}

static bool sock_from_fd(NetSocketState **sp, const NetClientInfo *info,
                         const char *model, const char *name,
                         NetClientState *peer, const char *fdstr,
                         GError **errp)
{
    int fd = parse_fd(fdstr, errp);
    int type = 0;
    socklen_t tl = sizeof(type);

    if (fd < 0) {
        return false;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) {
        error_setg(errp, "qemu: error: getsockopt(SO_TYPE) for fd=%d failed",
                   fd);
        return false;
    }
    if (type != SOCK_STREAM && type != SOCK_DGRAM) {
        error_setg(errp, "socket type=%d for fd=%d must be either "
                   "SOCK_DGRAM or SOCK_STREAM", type, fd);
        return false;
    }
    *sp = sock_new(info, model, name, peer, type == SOCK_STREAM);
    snprintf((*sp)->nc.info_str, sizeof((*sp)->nc.info_str),
             "socket: fd=%d", fd);
    sock_connected(*sp, fd);
    return true;
}

/* -netdev socket */
bool net_init_socket(GHashTable *opts, const char *name,
                     NetClientState *peer, GError **errp)
{
    g_autofree char *listen = net_opt_take(opts, "listen");
    g_autofree char *conn = net_opt_take(opts, "connect");
    g_autofree char *mcast = net_opt_take(opts, "mcast");
    g_autofree char *udp = net_opt_take(opts, "udp");
    g_autofree char *fdstr = net_opt_take(opts, "fd");
    g_autofree char *localaddr = net_opt_take(opts, "localaddr");
    struct sockaddr_storage ss, ls;
    socklen_t len, llen;
    NetSocketState *s;
    int n = !!listen + !!conn + !!mcast + !!udp + !!fdstr;

    if (n != 1) {
        error_setg(errp, "exactly one of listen=, connect=, mcast= or udp= "
                   "is required");
        return false;
    }
    if (localaddr && !mcast && !udp) {
        error_setg(errp, "localaddr= is only valid with mcast= or udp=");
        return false;
    }
    if (udp && !localaddr) {
        error_setg(errp, "localaddr= is mandatory with udp=");
        return false;
    }
    if (fdstr) {
        return sock_from_fd(&s, &socket_info, "socket", name, peer, fdstr,
                            errp);
    }
    if (listen) {
        if (!parse_host_port(listen, true, &ss, &len, errp)) {
            return false;
        }
        s = sock_new(&socket_info, "socket", name, peer, true);
        if (!stream_server(s, &ss, len, errp)) {
            qemu_del_net_client(&s->nc);
            return false;
        }
        return true;
    }
    if (conn) {
        int fd;
        if (!parse_host_port(conn, false, &ss, &len, errp)) {
            return false;
        }
        fd = sock_connect(&ss, len, errp);
        if (fd < 0) {
            return false;
        }
        s = sock_new(&socket_info, "socket", name, peer, true);
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "socket: connect to %s", conn);
        sock_connected(s, fd);
        return true;
    }
    if (udp) {
        if (!parse_host_port(udp, false, &ss, &len, errp) ||
            !parse_host_port(localaddr, true, &ls, &llen, errp)) {
            return false;
        }
        s = sock_new(&socket_info, "socket", name, peer, false);
        if (!dgram_open(s, &ls, llen, errp)) {
            qemu_del_net_client(&s->nc);
            return false;
        }
        s->dst = ss;
        s->dst_len = len;
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "socket: udp=%s", udp);
        return true;
    }
    /* mcast=GROUP:PORT: bind the port, join the group, loop back. */
    {
        struct sockaddr_in *grp = (struct sockaddr_in *)&ss;
        struct sockaddr_in any = { .sin_family = AF_INET };
        struct ip_mreq mreq = { 0 };
        int loop = 1;

        if (!parse_host_port(mcast, false, &ss, &len, errp)) {
            return false;
        }
        if (ss.ss_family != AF_INET || !IN_MULTICAST(ntohl(grp->sin_addr.s_addr))) {
            error_setg(errp, "specified mcastaddr %s (0x%08x) does not "
                       "contain a multicast address", mcast,
                       ss.ss_family == AF_INET ? ntohl(grp->sin_addr.s_addr)
                                               : 0);
            return false;
        }
        any.sin_port = grp->sin_port;
        s = sock_new(&socket_info, "socket", name, peer, false);
        if (!dgram_open(s, (struct sockaddr_storage *)&any, sizeof(any),
                        errp)) {
            qemu_del_net_client(&s->nc);
            return false;
        }
        mreq.imr_multiaddr = grp->sin_addr;
        if (localaddr && inet_pton(AF_INET, localaddr,
                                   &mreq.imr_interface) != 1) {
            error_setg(errp, "localaddr '%s' is not an IPv4 address",
                       localaddr);
            qemu_del_net_client(&s->nc);
            return false;
        }
        if (!localaddr) {
            mreq.imr_interface.s_addr = htonl(INADDR_ANY);
        }
        if (setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                       sizeof(mreq)) < 0 ||
            setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
                       sizeof(loop)) < 0) {
            error_setg(errp, "can't join multicast group %s: %s", mcast,
                       g_strerror(errno));
            qemu_del_net_client(&s->nc);
            return false;
        }
        if (localaddr) {
            setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF,
                       &mreq.imr_interface, sizeof(mreq.imr_interface));
        }
        s->dst = ss;
        s->dst_len = len;
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "socket: mcast=%s", mcast);
        return true;
    }
}

/* "PREFIX.type=inet|unix|fd" with host/port, path or str. */
static bool parse_socket_address(GHashTable *opts, const char *prefix,
                                 bool passive, struct sockaddr_storage *ss,
                                 socklen_t *len, int *fd, bool *present,
                                 GError **errp)
{
    g_autofree char *kt = g_strdup_printf("%s.type", prefix);
    g_autofree char *kh = g_strdup_printf("%s.host", prefix);
    g_autofree char *kp = g_strdup_printf("%s.port", prefix);
    g_autofree char *kpath = g_strdup_printf("%s.path", prefix);
    g_autofree char *ks = g_strdup_printf("%s.str", prefix);
    g_autofree char *type = net_opt_take(opts, kt);
    g_autofree char *host = net_opt_take(opts, kh);
    g_autofree char *port = net_opt_take(opts, kp);
    g_autofree char *path = net_opt_take(opts, kpath);
    g_autofree char *str = net_opt_take(opts, ks);

    *fd = -1;
    *present = type != NULL;
    if (!type) {
        return true;
    }
    if (!strcmp(type, "inet")) {
        g_autofree char *hp = NULL;
        if (!host || !port) {
            error_setg(errp, "Parameter '%s' is missing", host ? kp : kh);
            return false;
        }
        hp = g_strdup_printf("%s:%s", host, port);
        return parse_host_port(hp, passive, ss, len, errp);
    }
    if (!strcmp(type, "unix")) {
        if (!path) {
            error_setg(errp, "Parameter '%s' is missing", kpath);
            return false;
        }
        return parse_unix(path, ss, len, errp);
    }
    if (!strcmp(type, "fd")) {
        if (!str) {
            error_setg(errp, "Parameter '%s' is missing", ks);
            return false;
        }
        *fd = parse_fd(str, errp);
        return *fd >= 0;
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", kt, type);
    return false;
}

/* -netdev stream */
bool net_init_stream(GHashTable *opts, const char *name,
                     NetClientState *peer, GError **errp)
{
    struct sockaddr_storage ss;
    socklen_t len;
    bool server, present;
    int fd;
    NetSocketState *s;

    if (!net_opt_take_bool(opts, "server", false, &server, errp) ||
        !parse_socket_address(opts, "addr", server, &ss, &len, &fd,
                              &present, errp)) {
        return false;
    }
    if (!present) {
        error_setg(errp, "Parameter 'addr' is missing");
        return false;
    }
    s = sock_new(&stream_info, "stream", name, peer, true);
    if (fd >= 0) {
        if (server) {
            s->listen_fd = fd;
            g_unix_set_fd_nonblocking(fd, TRUE, NULL);
            snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                     "listening on fd %d", fd);
            sock_listen_watch(s);
        } else {
            snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                     "connected to fd %d", fd);
            sock_connected(s, fd);
        }
        return true;
    }
    if (server) {
        if (!stream_server(s, &ss, len, errp)) {
            qemu_del_net_client(&s->nc);
            return false;
        }
        return true;
    }
    fd = sock_connect(&ss, len, errp);
    if (fd < 0) {
        qemu_del_net_client(&s->nc);
        return false;
    }
    {
        g_autofree char *a = addr_str(&ss);
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "connected to %s", a);
    }
    sock_connected(s, fd);
    return true;
}

/* -netdev dgram */
bool net_init_dgram(GHashTable *opts, const char *name,
                    NetClientState *peer, GError **errp)
{
    struct sockaddr_storage local, remote;
    socklen_t llen = 0, rlen = 0;
    bool lp, rp;
    int lfd, rfd;
    NetSocketState *s;

    if (!parse_socket_address(opts, "local", true, &local, &llen, &lfd, &lp,
                              errp) ||
        !parse_socket_address(opts, "remote", false, &remote, &rlen, &rfd,
                              &rp, errp)) {
        return false;
    }
    if (!lp) {
        error_setg(errp, "dgram requires local= parameter");
        return false;
    }
    if (rfd >= 0) {
        error_setg(errp, "type=fd is not supported for remote=");
        return false;
    }
    if (lfd >= 0) {
        if (rp) {
            error_setg(errp, "don't set remote with local.fd");
            return false;
        }
        s = sock_new(&dgram_info, "dgram", name, peer, false);
        snprintf(s->nc.info_str, sizeof(s->nc.info_str), "fd=%d", lfd);
        sock_connected(s, lfd);
        return true;
    }
    if (rp && remote.ss_family != local.ss_family) {
        error_setg(errp, "local and remote addresses must be of the same "
                   "type");
        return false;
    }
    s = sock_new(&dgram_info, "dgram", name, peer, false);
    if (!dgram_open(s, &local, llen, errp)) {
        qemu_del_net_client(&s->nc);
        return false;
    }
    if (rp) {
        g_autofree char *l = addr_str(&local), *r = addr_str(&remote);
        s->dst = remote;
        s->dst_len = rlen;
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "udp=%s:%s", l, r);
    }
    return true;
}
