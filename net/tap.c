/*
 * tap and bridge backends (Linux TUN/TAP, Documentation/networking/
 * tuntap.rst):
 *
 *   -netdev tap,id=ID[,ifname=NAME][,script=FILE|no][,downscript=FILE|no]
 *              [,fd=N|fds=N:M...][,vnet_hdr=on|off][,queues=N][,vhost=off]
 *   -netdev bridge,id=ID[,br=BRIDGE]
 *
 * vnet_hdr=on opens the tap with IFF_VNET_HDR: frames carry a virtio-net
 * header, which virtio-net then passes straight through (offloads with no
 * work in kvmpc); a NIC that does not use the header gets it stripped on
 * receive and a zero one on transmit.  queues=N opens N IFF_MULTI_QUEUE
 * fds, one client per queue, for virtio-net mq=on.  Transmit is one
 * writev() of the guest's iovecs; a full tap holds the frame in the core
 * (the NIC stops) until the fd is writable.  Receive stops reading while
 * the NIC cannot take frames.
 *
 * bridge: kvmpc has no setuid helper (qemu-bridge-helper); it creates the
 * tap and adds it to the bridge itself, which needs CAP_NET_ADMIN, and
 * says so clearly when the bridge does not exist.  vhost=on is refused:
 * kvmpc has no vhost-net support.
 */
#include "qemu/osdep.h"
#include "net/net.h"
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define DEFAULT_NETWORK_SCRIPT      "/etc/qemu-ifup"
#define DEFAULT_NETWORK_DOWN_SCRIPT "/etc/qemu-ifdown"
#define TAP_READ_BATCH              64

typedef struct TAPState {
    NetClientState nc;
    int fd;
    char ifname[IFNAMSIZ];
    char *down_script;
    bool has_vnet_hdr;          /* the fd carries headers */
    bool using_vnet_hdr;        /* the NIC wants them */
    int host_vnet_hdr_len;
    bool read_enabled;
    bool write_wait;
    guint read_watch, write_watch;
    uint8_t buf[NET_BUFSIZE];
    uint8_t txbuf[NET_BUFSIZE];     /* transmit bounce (many iovecs) */
    struct iovec txiov;
} TAPState;

static void tap_update_read(TAPState *s);

static gboolean tap_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    TAPState *s = opaque;

    s->write_watch = 0;
    s->write_wait = false;
    qemu_flush_queued_packets(&s->nc);
    return G_SOURCE_REMOVE;
}

static ssize_t tap_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    TAPState *s = (TAPState *)nc;
    size_t size = net_iov_size(iov, iovcnt);
    uint8_t zero_hdr[12] = { 0 };
    struct iovec v[65];
    int n = 0;
    ssize_t ret;

    if (iovcnt > 64) {
        /* Rare (a guest chain of many small buffers): one bounce copy. */
        if (size > sizeof(s->txbuf)) {
            return size;
        }
        net_iov_to_buf(iov, iovcnt, 0, s->txbuf, size);
        s->txiov = (struct iovec){ s->txbuf, size };
        iov = &s->txiov;
        iovcnt = 1;
    }
    if (s->has_vnet_hdr && !s->using_vnet_hdr) {
        v[n++] = (struct iovec){ zero_hdr, s->host_vnet_hdr_len };
    }
    memcpy(v + n, iov, iovcnt * sizeof(*iov));
    n += iovcnt;
    do {
        ret = writev(s->fd, v, n);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0 && errno == EAGAIN) {
        s->write_wait = true;
        if (!s->write_watch) {
            s->write_watch = g_unix_fd_add(s->fd, G_IO_OUT, tap_writable, s);
        }
        return 0;
    }
    return size;
}

static void tap_sent(NetClientState *nc, ssize_t len)
{
    TAPState *s = (TAPState *)nc;

    s->read_enabled = true;
    tap_update_read(s);
}

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    TAPState *s = opaque;

    for (int i = 0; i < TAP_READ_BATCH && s->read_enabled; i++) {
        ssize_t n = read(s->fd, s->buf, sizeof(s->buf));
        uint8_t *p = s->buf;

        if (n <= 0) {
            break;
        }
        if (s->has_vnet_hdr && !s->using_vnet_hdr) {
            if (n <= s->host_vnet_hdr_len) {
                continue;
            }
            p += s->host_vnet_hdr_len;
            n -= s->host_vnet_hdr_len;
        }
        if (qemu_send_packet_async(&s->nc, p, n, tap_sent) == 0) {
            s->read_enabled = false;
            tap_update_read(s);
        }
    }
    return s->read_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void tap_update_read(TAPState *s)
{
    if (s->read_enabled && !s->read_watch) {
        s->read_watch = g_unix_fd_add(s->fd, G_IO_IN, tap_readable, s);
    } else if (!s->read_enabled && s->read_watch) {
        GSource *src = g_main_context_find_source_by_id(NULL, s->read_watch);
        if (src && g_main_current_source() != src) {
            g_source_destroy(src);
        }
        s->read_watch = 0;
    }
}

static bool run_script(const char *script, const char *ifname, GError **errp)
{
    g_autofree char *out = NULL, *err_out = NULL;
    const char *argv[] = { script, ifname, NULL };
    GError *err = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                      &out, &err_out, &status, &err)) {
        error_setg(errp, "network script %s failed: %s", script,
                   err->message);
        g_error_free(err);
        return false;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        error_setg(errp, "network script %s failed with status %d", script,
                   status);
        return false;
    }
    return true;
}

static void tap_cleanup(NetClientState *nc)
{
    TAPState *s = (TAPState *)nc;

    if (s->read_watch) {
        g_source_remove(s->read_watch);
    }
    if (s->write_watch) {
        g_source_remove(s->write_watch);
    }
    if (s->down_script && nc->queue_index == 0) {
        GError *err = NULL;
        if (!run_script(s->down_script, s->ifname, &err)) {
            error_report_err(err);
        }
    }
    g_free(s->down_script);
    close(s->fd);
}

static bool tap_has_vnet_hdr(NetClientState *nc)
{
    return ((TAPState *)nc)->has_vnet_hdr;
}

static bool tap_has_ufo(NetClientState *nc)
{
    TAPState *s = (TAPState *)nc;

    return s->has_vnet_hdr &&
           ioctl(s->fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_UFO) == 0;
}

static void tap_set_vnet_hdr_len(NetClientState *nc, int len)
{
    TAPState *s = (TAPState *)nc;

    if (!s->has_vnet_hdr) {
        return;
    }
    if (ioctl(s->fd, TUNSETVNETHDRSZ, &len) == 0) {
        s->host_vnet_hdr_len = len;
    }
    s->using_vnet_hdr = true;
}

static void tap_set_offload(NetClientState *nc, int csum, int tso4, int tso6,
                            int ecn, int ufo)
{
    TAPState *s = (TAPState *)nc;
    unsigned off = 0;

    if (!s->has_vnet_hdr) {
        return;
    }
    if (csum) {
        off |= TUN_F_CSUM;
        off |= tso4 ? TUN_F_TSO4 : 0;
        off |= tso6 ? TUN_F_TSO6 : 0;
        off |= ecn ? TUN_F_TSO_ECN : 0;
        off |= ufo ? TUN_F_UFO : 0;
    }
    if (ioctl(s->fd, TUNSETOFFLOAD, off) != 0) {
        off &= ~TUN_F_UFO;
        ioctl(s->fd, TUNSETOFFLOAD, off);
    }
}

static const NetClientInfo tap_info = {
    .type = NET_CLIENT_DRIVER_TAP,
    .size = sizeof(TAPState),
    .receive_iov = tap_receive_iov,
    .cleanup = tap_cleanup,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .has_ufo = tap_has_ufo,
    .set_vnet_hdr_len = tap_set_vnet_hdr_len,
    .set_offload = tap_set_offload,
};

static const NetClientInfo bridge_info = {
    .type = NET_CLIENT_DRIVER_BRIDGE,
    .size = sizeof(TAPState),
    .receive_iov = tap_receive_iov,
    .cleanup = tap_cleanup,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .has_ufo = tap_has_ufo,
    .set_vnet_hdr_len = tap_set_vnet_hdr_len,
    .set_offload = tap_set_offload,
};

/* Open one tap queue; @ifname in/out. */
static int tap_open(char *ifname, bool *vnet_hdr, bool vnet_required,
                    bool mq, GError **errp)
{
    struct ifreq ifr = { 0 };
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    unsigned features = 0;

    if (fd < 0) {
        error_setg(errp, "could not open /dev/net/tun: %s",
                   g_strerror(errno));
        return -1;
    }
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNGETFEATURES, &features) < 0) {
        features = 0;
    }
    if (*vnet_hdr && (features & IFF_VNET_HDR)) {
        ifr.ifr_flags |= IFF_VNET_HDR;
    } else {
        if (vnet_required) {
            error_setg(errp, "vnet_hdr=1 requested, but no kernel support "
                       "for IFF_VNET_HDR available");
            close(fd);
            return -1;
        }
        *vnet_hdr = false;
    }
    if (mq) {
        if (!(features & IFF_MULTI_QUEUE)) {
            error_setg(errp, "multiqueue is not supported by the kernel");
            close(fd);
            return -1;
        }
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    }
    if (ifname[0]) {
        g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    } else {
        g_strlcpy(ifr.ifr_name, "tap%d", IFNAMSIZ);
    }
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        if (ifname[0]) {
            error_setg(errp, "could not configure /dev/net/tun (%s): %s",
                       ifname, g_strerror(errno));
        } else {
            error_setg(errp, "could not configure /dev/net/tun: %s",
                       g_strerror(errno));
        }
        close(fd);
        return -1;
    }
    g_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    return fd;
}

static TAPState *tap_new(const NetClientInfo *info, const char *model,
                         const char *name, NetClientState *peer, int fd,
                         bool vnet_hdr, unsigned index)
{
    TAPState *s = (TAPState *)qemu_new_net_client(info, peer, model, name);
    int len = 10;       /* struct virtio_net_hdr */

    s->fd = fd;
    s->nc.queue_index = index;
    s->has_vnet_hdr = vnet_hdr;
    s->host_vnet_hdr_len = vnet_hdr ? len : 0;
    if (vnet_hdr) {
        ioctl(fd, TUNSETVNETHDRSZ, &len);
        /* No offloads until a NIC asks (QEMU: tap_fd_set_offload 0). */
        ioctl(fd, TUNSETOFFLOAD, 0);
    }
    s->read_enabled = true;
    tap_update_read(s);
    return s;
}

static bool vhost_refused(GHashTable *opts, GError **errp)
{
    g_autofree char *vhostfd = net_opt_take(opts, "vhostfd");
    g_autofree char *vhostfds = net_opt_take(opts, "vhostfds");
    bool vhost, force;

    if (!net_opt_take_bool(opts, "vhost", false, &vhost, errp) ||
        !net_opt_take_bool(opts, "vhostforce", false, &force, errp)) {
        return true;
    }
    if (vhost || force || vhostfd || vhostfds) {
        if (access("/dev/vhost-net", F_OK) != 0) {
            error_setg(errp, "tap: open vhost char device failed: %s "
                       "(vhost-net requested but could not be initialized)",
                       g_strerror(errno));
        } else {
            error_setg(errp, "vhost-net requested but kvmpc has no vhost-net "
                       "support; use vhost=off");
        }
        return true;
    }
    return false;
}

/* -netdev tap */
bool net_init_tap(GHashTable *opts, const char *name, NetClientState *peer,
                  GError **errp)
{
    g_autofree char *ifname_opt = net_opt_take(opts, "ifname");
    g_autofree char *script = net_opt_take(opts, "script");
    g_autofree char *downscript = net_opt_take(opts, "downscript");
    g_autofree char *fdstr = net_opt_take(opts, "fd");
    g_autofree char *fdsstr = net_opt_take(opts, "fds");
    g_autofree char *queues_str = net_opt_take(opts, "queues");
    g_autofree char *helper = net_opt_take(opts, "helper");
    g_autofree char *vnet_str = net_opt_take(opts, "vnet_hdr");
    g_autofree char *sndbuf = net_opt_take(opts, "sndbuf");
    char ifname[IFNAMSIZ] = "";
    bool vnet_hdr = true, vnet_required = false;
    uint64_t queues = 1;
    int fds[MAX_QUEUE_NUM];
    int nfds = 0;

    (void)sndbuf;
    if (vhost_refused(opts, errp)) {
        return false;
    }
    if (helper) {
        error_setg(errp, "helper= is not supported: kvmpc has no "
                   "qemu-bridge-helper (use -netdev bridge as root, or a tap "
                   "made beforehand)");
        return false;
    }
    if (vnet_str) {
        if (!parse_bool(vnet_str, &vnet_hdr, NULL)) {
            error_setg(errp, "Parameter 'vnet_hdr' expects 'on' or 'off'");
            return false;
        }
        vnet_required = vnet_hdr;
    }
    if (queues_str && (!parse_uint(queues_str, &queues, NULL) ||
                       queues == 0 || queues > MAX_QUEUE_NUM)) {
        error_setg(errp, "Parameter 'queues' expects a number from 1 to %d",
                   MAX_QUEUE_NUM);
        return false;
    }
    if (peer && queues > 1) {
        error_setg(errp, "Multiqueue tap cannot be used with hubs");
        return false;
    }
    if (fdstr || fdsstr) {
        g_auto(GStrv) parts = g_strsplit(fdstr ? fdstr : fdsstr, ":", -1);

        if (ifname_opt || script || downscript || queues_str) {
            error_setg(errp, "ifname=, script=, downscript=, queues= are "
                       "invalid with fd=");
            return false;
        }
        if (fdstr && strchr(fdstr, ':')) {
            error_setg(errp, "Parameter 'fd' expects a single descriptor "
                       "(use fds=)");
            return false;
        }
        for (unsigned i = 0; parts[i]; i++) {
            uint64_t fd;
            struct ifreq ifr = { 0 };

            if (nfds == MAX_QUEUE_NUM || !parse_uint(parts[i], &fd, NULL) ||
                fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) {
                error_setg(errp, "Invalid file descriptor number '%s'",
                           parts[i]);
                return false;
            }
            fds[nfds++] = fd;
            /* The fd's own flags say whether it carries headers. */
            if (ioctl((int)fd, TUNGETIFF, &ifr) == 0) {
                vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
                g_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
            } else {
                vnet_hdr = false;
            }
            g_unix_set_fd_nonblocking(fd, TRUE, NULL);
        }
        for (int i = 0; i < nfds; i++) {
            TAPState *s = tap_new(&tap_info, "tap", name, peer, fds[i],
                                  vnet_hdr, i);
            snprintf(s->nc.info_str, sizeof(s->nc.info_str), "fd=%d",
                     fds[i]);
        }
        return true;
    }
    if (ifname_opt) {
        if (strlen(ifname_opt) >= IFNAMSIZ) {
            error_setg(errp, "ifname '%s' is too long", ifname_opt);
            return false;
        }
        g_strlcpy(ifname, ifname_opt, IFNAMSIZ);
    }
    for (unsigned i = 0; i < queues; i++) {
        fds[i] = tap_open(ifname, &vnet_hdr, vnet_required, queues > 1, errp);
        if (fds[i] < 0) {
            for (unsigned j = 0; j < i; j++) {
                close(fds[j]);
            }
            return false;
        }
        nfds++;
    }
    if (!script) {
        script = g_strdup(DEFAULT_NETWORK_SCRIPT);
    }
    if (!downscript) {
        downscript = g_strdup(DEFAULT_NETWORK_DOWN_SCRIPT);
    }
    if (strcmp(script, "no") && *script &&
        !run_script(script, ifname, errp)) {
        for (int j = 0; j < nfds; j++) {
            close(fds[j]);
        }
        return false;
    }
    for (int i = 0; i < nfds; i++) {
        TAPState *s = tap_new(&tap_info, "tap", name, peer, fds[i], vnet_hdr,
                              i);
        g_strlcpy(s->ifname, ifname, IFNAMSIZ);
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "ifname=%s,script=%s,downscript=%s", ifname, script,
                 downscript);
        if (i == 0 && strcmp(downscript, "no") && *downscript) {
            s->down_script = g_strdup(downscript);
        }
    }
    return true;
}

/* -netdev bridge,br=BR: a tap of our own, added to the bridge. */
bool net_init_bridge(GHashTable *opts, const char *name,
                     NetClientState *peer, GError **errp)
{
    g_autofree char *br = net_opt_take(opts, "br");
    g_autofree char *helper = net_opt_take(opts, "helper");
    g_autofree char *sysfs = NULL;
    char ifname[IFNAMSIZ] = "";
    bool vnet_hdr = true;
    struct ifreq ifr = { 0 };
    TAPState *s;
    int fd, sock;

    if (!br) {
        br = g_strdup("br0");
    }
    if (helper) {
        error_setg(errp, "helper= is not supported: kvmpc attaches the tap "
                   "to the bridge itself (no qemu-bridge-helper)");
        return false;
    }
    if (strlen(br) >= IFNAMSIZ) {
        error_setg(errp, "bridge name '%s' is too long", br);
        return false;
    }
    sysfs = g_strdup_printf("/sys/class/net/%s/bridge", br);
    if (access(sysfs, F_OK) != 0) {
        error_setg(errp, "bridge '%s' does not exist (create it with "
                   "'ip link add %s type bridge'; kvmpc has no bridge "
                   "helper)", br, br);
        return false;
    }
    fd = tap_open(ifname, &vnet_hdr, false, false, errp);
    if (fd < 0) {
        return false;
    }
    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
        goto fail;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
        goto fail;
    }
    if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0) {
        goto fail;
    }
    g_strlcpy(ifr.ifr_name, br, IFNAMSIZ);
    if (ioctl(sock, SIOCBRADDIF, &ifr) < 0) {
        goto fail;
    }
    close(sock);
    s = tap_new(&bridge_info, "bridge", name, peer, fd, vnet_hdr, 0);
    g_strlcpy(s->ifname, ifname, IFNAMSIZ);
    snprintf(s->nc.info_str, sizeof(s->nc.info_str), "helper=none,br=%s",
             br);
    return true;
fail:
    error_setg(errp, "failed to add %s to bridge %s: %s", ifname, br,
               g_strerror(errno));
    if (sock >= 0) {
        close(sock);
    }
    close(fd);
    return false;
}
