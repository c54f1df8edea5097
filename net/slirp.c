/*
 * The user backend: a NAT'd network inside kvmpc, by libslirp (Debian's
 * libslirp0).  Options as QEMU 7.2's -netdev user:
 *
 *   net=ADDR[/MASK] host=ADDR dhcpstart=ADDR dns=ADDR restrict=on|off
 *   ipv4=on|off ipv6=on|off ipv6-net=ADDR/LEN ipv6-host=ADDR
 *   ipv6-dns=ADDR hostname=NAME domainname=NAME dnssearch=DOMAIN
 *   tftp=DIR tftp-server-name=NAME bootfile=FILE
 *   hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (repeatable)
 *   guestfwd=[tcp]:SERVER:PORT-cmd:COMMAND | -CHARDEV-SPEC (repeatable)
 *
 * Defaults: 10.0.2.0/24, gateway 10.0.2.2, DNS 10.0.2.3, DHCP from
 * 10.0.2.15.  Monitor: HMP hostfwd_add / hostfwd_remove.
 *
 * slirp's sockets join the main loop through one GSource whose prepare
 * asks slirp which fds to watch (slirp_pollfds_fill) and whose dispatch
 * lets slirp handle them (slirp_pollfds_poll).  slirp's timers run on the
 * virtual clock, as QEMU's.
 *
 * slirp's own timeout (fast and slow TCP timers, UDP/ICMP expiry) runs
 * the dispatch too when no fd is ready.  With nothing of that pending
 * slirp still asks for a pass a second: its only remaining timed work is
 * dropping frames that waited a second for the guest's ARP/NDP answer,
 * and those exist only after traffic.  So after two quiet passes (nothing
 * polled ready, no frame either way) the source stops asking, and an idle
 * guest costs no wake-ups; the next frame or fd event starts it again.  Frames from slirp go to the NIC without a
 * completion callback: when the NIC has no room they wait in the core's
 * bounded queue or are dropped, and slirp's TCP retransmits (QEMU's
 * behaviour, what libslirp asks for).
 */
#include "qemu/osdep.h"
#include "net/net.h"
#include "chardev/char.h"
#include "system/timer.h"
#include "system/main-loop.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <slirp/libslirp.h>

typedef struct SlirpState SlirpState;

typedef struct GuestFwd {
    SlirpState *s;
    Chardev *chr;
    struct in_addr server;
    int port;
} GuestFwd;

typedef struct SlirpSource {
    GSource source;
    SlirpState *s;
} SlirpSource;

struct SlirpState {
    NetClientState nc;
    Slirp *slirp;
    GSource *src;
    GArray *pollfds;            /* GPollFD registered with the source */
    GArray *wanted;             /* GPollFD slirp asked for in this prepare */
    GPtrArray *guestfwds;       /* GuestFwd * */
    uint8_t buf[NET_BUFSIZE];   /* a guest frame flattened for slirp */
    int64_t due_us;             /* monotonic time of slirp's timeout, or -1 */
    unsigned quiet_passes;      /* timed passes since the last traffic */
};

/* slirp's timeout when none of its timers is pending (libslirp: 1 s) */
#define SLIRP_NOTHING_TIMED_MS  1000
/* quiet timed passes after which slirp needs none (ARP/NDP expiry: 1 s) */
#define SLIRP_QUIET_PASSES      2

/* Traffic: slirp may have queued frames or sockets; time it again. */
static void slirp_traffic(SlirpState *s)
{
    s->quiet_passes = 0;
}

/* ---- callbacks from slirp ------------------------------------------------- */

static ssize_t slirp_send_packet(const void *pkt, size_t len, void *opaque)
{
    SlirpState *s = opaque;

    slirp_traffic(s);
    return qemu_send_packet(&s->nc, pkt, len);
}

static void slirp_guest_error(const char *msg, void *opaque)
{
    error_report("slirp: %s", msg);
}

static int64_t slirp_clock_ns(void *opaque)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

typedef struct SlirpTimer {
    QEMUTimer *t;
    SlirpTimerCb cb;
    void *cb_opaque;
} SlirpTimer;

static void slirp_timer_fire(void *opaque)
{
    SlirpTimer *t = opaque;

    t->cb(t->cb_opaque);
}

static void *slirp_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    SlirpTimer *t = g_new0(SlirpTimer, 1);

    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->t = timer_new_ns(QEMU_CLOCK_VIRTUAL, slirp_timer_fire, t);
    return t;
}

static void slirp_timer_free(void *timer, void *opaque)
{
    SlirpTimer *t = timer;

    timer_free(t->t);
    g_free(t);
}

static void slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    SlirpTimer *t = timer;

    timer_mod(t->t, expire_ms * 1000000);
}

static void slirp_register_poll_fd(int fd, void *opaque)
{
}

static void slirp_unregister_poll_fd(int fd, void *opaque)
{
}

static void slirp_notify(void *opaque)
{
    g_main_context_wakeup(NULL);
}

static const SlirpCb slirp_cb = {
    .send_packet = slirp_send_packet,
    .guest_error = slirp_guest_error,
    .clock_get_ns = slirp_clock_ns,
    .timer_new = slirp_timer_new,
    .timer_free = slirp_timer_free,
    .timer_mod = slirp_timer_mod,
    .register_poll_fd = slirp_register_poll_fd,
    .unregister_poll_fd = slirp_unregister_poll_fd,
    .notify = slirp_notify,
};

/* ---- the main-loop source ---------------------------------------------------- */

static int slirp_add_poll(int fd, int events, void *opaque)
{
    SlirpState *s = opaque;
    GPollFD pfd = { .fd = fd };

    if (events & SLIRP_POLL_IN) {
        pfd.events |= G_IO_IN;
    }
    if (events & SLIRP_POLL_OUT) {
        pfd.events |= G_IO_OUT;
    }
    if (events & SLIRP_POLL_PRI) {
        pfd.events |= G_IO_PRI;
    }
    if (events & SLIRP_POLL_ERR) {
        pfd.events |= G_IO_ERR;
    }
    if (events & SLIRP_POLL_HUP) {
        pfd.events |= G_IO_HUP;
    }
    g_array_append_val(s->wanted, pfd);
    return s->wanted->len - 1;
}

static int slirp_get_revents(int idx, void *opaque)
{
    SlirpState *s = opaque;
    GPollFD *pfd;
    int ev = 0;

    if (idx < 0 || (unsigned)idx >= s->pollfds->len) {
        return 0;
    }
    pfd = &g_array_index(s->pollfds, GPollFD, idx);
    if (pfd->revents & G_IO_IN) {
        ev |= SLIRP_POLL_IN;
    }
    if (pfd->revents & G_IO_OUT) {
        ev |= SLIRP_POLL_OUT;
    }
    if (pfd->revents & G_IO_PRI) {
        ev |= SLIRP_POLL_PRI;
    }
    if (pfd->revents & G_IO_ERR) {
        ev |= SLIRP_POLL_ERR;
    }
    if (pfd->revents & G_IO_HUP) {
        ev |= SLIRP_POLL_HUP;
    }
    return ev;
}

/*
 * Whether slirp wants the fds already registered, with the same events.
 * GLib writes the main loop's wakeup eventfd on every g_source_add_poll
 * and g_source_remove_poll, so re-registering an unchanged set in each
 * prepare made the poll return at once: the main loop spun while slirp
 * had any socket (a hostfwd listener is enough).
 */
static bool same_polls(GArray *a, GArray *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (unsigned i = 0; i < a->len; i++) {
        GPollFD *x = &g_array_index(a, GPollFD, i);
        GPollFD *y = &g_array_index(b, GPollFD, i);

        if (x->fd != y->fd || x->events != y->events) {
            return false;
        }
    }
    return true;
}

static gboolean slirp_src_prepare(GSource *source, gint *timeout)
{
    SlirpState *s = ((SlirpSource *)source)->s;
    uint32_t t = UINT32_MAX;

    g_array_set_size(s->wanted, 0);
    slirp_pollfds_fill(s->slirp, &t, slirp_add_poll, s);
    if (!same_polls(s->pollfds, s->wanted)) {
        GArray *old = s->pollfds;

        for (unsigned i = 0; i < old->len; i++) {
            g_source_remove_poll(source, &g_array_index(old, GPollFD, i));
        }
        s->pollfds = s->wanted;
        s->wanted = old;
        for (unsigned i = 0; i < s->pollfds->len; i++) {
            g_source_add_poll(source, &g_array_index(s->pollfds, GPollFD, i));
        }
    }
    if (t == UINT32_MAX ||
        (t >= SLIRP_NOTHING_TIMED_MS &&
         s->quiet_passes >= SLIRP_QUIET_PASSES)) {
        s->due_us = -1;
        *timeout = -1;
    } else {
        s->due_us = g_source_get_time(source) + (int64_t)t * 1000;
        *timeout = (gint)MIN(t, (uint32_t)G_MAXINT);
    }
    return FALSE;
}

static bool slirp_fd_ready(SlirpState *s)
{
    for (unsigned i = 0; i < s->pollfds->len; i++) {
        if (g_array_index(s->pollfds, GPollFD, i).revents) {
            return true;
        }
    }
    return false;
}

/* Ready on an fd event, or when slirp's timeout has passed. */
static gboolean slirp_src_check(GSource *source)
{
    SlirpState *s = ((SlirpSource *)source)->s;

    return slirp_fd_ready(s) ||
           (s->due_us >= 0 && g_source_get_time(source) >= s->due_us);
}

static gboolean slirp_src_dispatch(GSource *source, GSourceFunc cb,
                                   gpointer data)
{
    SlirpState *s = ((SlirpSource *)source)->s;

    if (slirp_fd_ready(s)) {
        slirp_traffic(s);
    } else {
        s->quiet_passes++;
    }
    slirp_pollfds_poll(s->slirp, 0, slirp_get_revents, s);
    for (unsigned i = 0; i < s->pollfds->len; i++) {
        g_array_index(s->pollfds, GPollFD, i).revents = 0;
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs slirp_src_funcs = {
    .prepare = slirp_src_prepare,
    .check = slirp_src_check,
    .dispatch = slirp_src_dispatch,
};

/* ---- the client ---------------------------------------------------------------- */

static ssize_t net_slirp_receive_iov(NetClientState *nc,
                                     const struct iovec *iov, int iovcnt)
{
    SlirpState *s = (SlirpState *)nc;
    size_t len = net_iov_size(iov, iovcnt);

    if (len > sizeof(s->buf)) {
        return len;
    }
    if (iovcnt == 1) {
        slirp_input(s->slirp, iov[0].iov_base, len);
    } else {
        net_iov_to_buf(iov, iovcnt, 0, s->buf, len);
        slirp_input(s->slirp, s->buf, len);
    }
    slirp_traffic(s);
    /*
     * The frame may have opened a socket (a guest's TCP connect) that the
     * main loop must poll: from a vCPU thread, make it look now.
     */
    if (!main_loop_is_current_thread()) {
        main_loop_wakeup();
    }
    return len;
}

static void net_slirp_cleanup(NetClientState *nc)
{
    SlirpState *s = (SlirpState *)nc;

    if (s->src) {
        for (unsigned i = 0; i < s->pollfds->len; i++) {
            g_source_remove_poll(s->src,
                                 &g_array_index(s->pollfds, GPollFD, i));
        }
        g_source_destroy(s->src);
        g_source_unref(s->src);
    }
    if (s->slirp) {
        slirp_cleanup(s->slirp);
    }
    for (unsigned i = 0; s->guestfwds && i < s->guestfwds->len; i++) {
        GuestFwd *f = g_ptr_array_index(s->guestfwds, i);
        if (f->chr) {
            qemu_chr_fe_set_handlers(f->chr, NULL, NULL, NULL, f);
        }
        g_free(f);
    }
    if (s->guestfwds) {
        g_ptr_array_unref(s->guestfwds);
    }
    if (s->pollfds) {
        g_array_unref(s->pollfds);
    }
    if (s->wanted) {
        g_array_unref(s->wanted);
    }
}

static const NetClientInfo net_slirp_info = {
    .type = NET_CLIENT_DRIVER_USER,
    .size = sizeof(SlirpState),
    .receive_iov = net_slirp_receive_iov,
    .cleanup = net_slirp_cleanup,
};

/* ---- forwarding ---------------------------------------------------------------- */

/* "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" */
static bool parse_hostfwd(const char *str, bool want_guest, int *is_udp,
                          struct in_addr *haddr, int *hport,
                          struct in_addr *gaddr, int *gport)
{
    g_auto(GStrv) parts = NULL;
    g_autofree char *rest = NULL;
    const char *p = str, *dash;
    char *end;
    long v;

    *is_udp = 0;
    if (g_str_has_prefix(p, "tcp:")) {
        p += 4;
    } else if (g_str_has_prefix(p, "udp:")) {
        p += 4;
        *is_udp = 1;
    } else if (*p == ':') {
        p++;
    } else {
        return false;
    }
    dash = strchr(p, '-');
    if (!!dash != want_guest) {
        return false;
    }
    rest = dash ? g_strndup(p, dash - p) : g_strdup(p);
    parts = g_strsplit(rest, ":", 2);
    if (g_strv_length(parts) != 2) {
        return false;
    }
    haddr->s_addr = INADDR_ANY;
    if (parts[0][0] && !inet_aton(parts[0], haddr)) {
        return false;
    }
    v = strtol(parts[1], &end, 10);
    if (!parts[1][0] || *end || v < 0 || v > 65535) {
        return false;
    }
    *hport = v;
    if (!want_guest) {
        return true;
    }
    g_strfreev(parts);
    parts = g_strsplit(dash + 1, ":", 2);
    if (g_strv_length(parts) != 2) {
        return false;
    }
    gaddr->s_addr = 0;
    if (parts[0][0] && !inet_aton(parts[0], gaddr)) {
        return false;
    }
    v = strtol(parts[1], &end, 10);
    if (!parts[1][0] || *end || v < 1 || v > 65535) {
        return false;
    }
    *gport = v;
    return true;
}

static bool slirp_hostfwd(SlirpState *s, const char *str, GError **errp)
{
    struct in_addr haddr, gaddr;
    int is_udp, hport, gport;

    if (!parse_hostfwd(str, true, &is_udp, &haddr, &hport, &gaddr, &gport)) {
        error_setg(errp, "Invalid host forwarding rule '%s' (bad format)",
                   str);
        return false;
    }
    if (slirp_add_hostfwd(s->slirp, is_udp, haddr, hport, gaddr, gport) < 0) {
        error_setg(errp, "Could not set up host forwarding rule '%s'", str);
        return false;
    }
    return true;
}

static ssize_t guestfwd_write(const void *buf, size_t len, void *opaque)
{
    GuestFwd *f = opaque;

    return qemu_chr_write_all(f->chr, buf, len);
}

static int guestfwd_can_read(void *opaque)
{
    GuestFwd *f = opaque;

    return slirp_socket_can_recv(f->s->slirp, f->server, f->port);
}

static void guestfwd_read(void *opaque, const uint8_t *buf, int size)
{
    GuestFwd *f = opaque;

    slirp_socket_recv(f->s->slirp, f->server, f->port, buf, size);
}

/* "[tcp]:SERVER:PORT-cmd:COMMAND" or "...-CHARDEV-SPEC" */
static bool slirp_guestfwd(SlirpState *s, const char *str, GError **errp)
{
    const char *p = str, *dash;
    g_autofree char *addr = NULL;
    g_auto(GStrv) parts = NULL;
    GuestFwd *f;
    long port;
    char *end;

    if (g_str_has_prefix(p, "tcp:")) {
        p += 4;
    } else if (*p == ':') {
        p++;
    } else {
        goto bad;
    }
    dash = strchr(p, '-');
    if (!dash) {
        goto bad;
    }
    addr = g_strndup(p, dash - p);
    parts = g_strsplit(addr, ":", 2);
    if (g_strv_length(parts) != 2) {
        goto bad;
    }
    f = g_new0(GuestFwd, 1);
    f->s = s;
    if (!inet_aton(parts[0], &f->server)) {
        g_free(f);
        goto bad;
    }
    port = strtol(parts[1], &end, 10);
    if (*end || port < 1 || port > 65535) {
        g_free(f);
        goto bad;
    }
    f->port = port;
    dash++;
    if (g_str_has_prefix(dash, "cmd:")) {
        if (slirp_add_exec(s->slirp, dash + 4, &f->server, f->port) < 0) {
            error_setg(errp, "conflicting/invalid host:port in guest "
                       "forwarding rule '%s'", str);
            g_free(f);
            return false;
        }
        g_free(f);
        return true;
    }
    {
        g_autofree char *id = g_strdup_printf("%s-guestfwd%u", s->nc.name,
                                              s->guestfwds->len);
        f->chr = qemu_chr_new_from_spec(id, dash, errp);
        if (!f->chr) {
            if (errp && !*errp) {
                error_setg(errp, "could not open guest forwarding device "
                           "'%s'", dash);
            }
            g_free(f);
            return false;
        }
        if (slirp_add_guestfwd(s->slirp, guestfwd_write, f, &f->server,
                               f->port) < 0) {
            error_setg(errp, "conflicting/invalid host:port in guest "
                       "forwarding rule '%s'", str);
            g_free(f);
            return false;
        }
        qemu_chr_fe_set_handlers(f->chr, guestfwd_can_read, guestfwd_read,
                                 NULL, f);
        g_ptr_array_add(s->guestfwds, f);
    }
    return true;
bad:
    error_setg(errp, "invalid guest forwarding rule '%s'", str);
    return false;
}

/* ---- setup ---------------------------------------------------------------------- */

static bool take_in_addr(GHashTable *opts, const char *key,
                         struct in_addr *out, bool *given, GError **errp)
{
    g_autofree char *v = net_opt_take(opts, key);

    if (given) {
        *given = v != NULL;
    }
    if (v && !inet_aton(v, out)) {
        error_setg(errp, "Parameter '%s' expects an IPv4 address", key);
        return false;
    }
    return true;
}

/* "A.B.C.D[/MASK|/BITS]" */
static bool parse_net(const char *v, struct in_addr *net, struct in_addr *mask,
                      GError **errp)
{
    g_autofree char *addr = g_strdup(v);
    char *slash = strchr(addr, '/');

    mask->s_addr = htonl(0xffffff00);
    if (slash) {
        char *end;
        long bits;

        *slash++ = 0;
        bits = strtol(slash, &end, 10);
        if (!*end) {
            if (bits < 0 || bits > 32) {
                goto bad;
            }
            mask->s_addr = htonl(bits ? 0xffffffffu << (32 - bits) : 0);
        } else if (!inet_aton(slash, mask)) {
            goto bad;
        }
    }
    if (!inet_aton(addr, net)) {
        goto bad;
    }
    net->s_addr &= mask->s_addr;
    return true;
bad:
    error_setg(errp, "Option 'net' expects an IPv4 network");
    return false;
}

bool net_init_user(GHashTable *opts, const char *name, NetClientState *peer,
                   GError **errp)
{
    g_autofree char *netstr = net_opt_take(opts, "net");
    g_autofree char *hostname = net_opt_take(opts, "hostname");
    g_autofree char *tftp = net_opt_take(opts, "tftp");
    g_autofree char *bootfile = net_opt_take(opts, "bootfile");
    g_autofree char *tftp_name = net_opt_take(opts, "tftp-server-name");
    g_autofree char *domainname = net_opt_take(opts, "domainname");
    g_autofree char *dnssearch = net_opt_take(opts, "dnssearch");
    g_autofree char *hostfwd = net_opt_take(opts, "hostfwd");
    g_autofree char *guestfwd = net_opt_take(opts, "guestfwd");
    g_autofree char *v6net = net_opt_take(opts, "ipv6-net");
    g_autofree char *v6prefix = net_opt_take(opts, "ipv6-prefix");
    g_autofree char *v6len = net_opt_take(opts, "ipv6-prefixlen");
    g_autofree char *v6host = net_opt_take(opts, "ipv6-host");
    g_autofree char *v6dns = net_opt_take(opts, "ipv6-dns");
    g_autofree char *smb = net_opt_take(opts, "smb");
    g_autofree char *restrict_str = net_opt_take(opts, "restrict");
    g_auto(GStrv) search = NULL;
    struct in_addr net = { htonl(0x0a000200) }, mask = { htonl(0xffffff00) };
    struct in_addr host = { 0 }, dns = { 0 }, dhcp = { 0 };
    bool host_given, dns_given, dhcp_given, ipv4, ipv6, restricted = false;
    struct in6_addr prefix6, host6, dns6;
    int prefix_len = 64;
    SlirpConfig cfg = { .version = 3 };
    SlirpState *s;
    SlirpSource *ss;

    if (smb) {
        error_setg(errp, "smb= is not supported (kvmpc has no smbd "
                   "integration)");
        return false;
    }
    if (restrict_str) {
        /* QEMU takes on/off and also y/yes/n/no here. */
        if (!strcmp(restrict_str, "y") || !strcmp(restrict_str, "yes")) {
            restricted = true;
        } else if (!strcmp(restrict_str, "n") || !strcmp(restrict_str, "no")) {
            restricted = false;
        } else if (!parse_bool(restrict_str, &restricted, NULL)) {
            error_setg(errp, "Parameter 'restrict' expects 'on' or 'off'");
            return false;
        }
    }
    if (!net_opt_take_bool(opts, "ipv4", true, &ipv4, errp) ||
        !net_opt_take_bool(opts, "ipv6", true, &ipv6, errp)) {
        return false;
    }
    if (!ipv4 && !ipv6) {
        error_setg(errp, "IPv4 and IPv6 disabled simultaneously");
        return false;
    }
    if (netstr && !parse_net(netstr, &net, &mask, errp)) {
        return false;
    }
    if (!take_in_addr(opts, "host", &host, &host_given, errp) ||
        !take_in_addr(opts, "dns", &dns, &dns_given, errp) ||
        !take_in_addr(opts, "dhcpstart", &dhcp, &dhcp_given, errp)) {
        return false;
    }
    if (!host_given) {
        host.s_addr = net.s_addr | htonl(2);
    }
    if (!dns_given) {
        dns.s_addr = net.s_addr | htonl(3);
    }
    if (!dhcp_given) {
        dhcp.s_addr = net.s_addr | htonl(15);
    }
    if ((host.s_addr & mask.s_addr) != net.s_addr) {
        error_setg(errp, "The host address must be within the network");
        return false;
    }
    if ((dns.s_addr & mask.s_addr) != net.s_addr) {
        error_setg(errp, "DNS server address must be within the network");
        return false;
    }
    if ((dhcp.s_addr & mask.s_addr) != net.s_addr) {
        error_setg(errp, "DHCP must start within the network");
        return false;
    }
    if (host.s_addr == dns.s_addr || host.s_addr == dhcp.s_addr ||
        dns.s_addr == dhcp.s_addr) {
        error_setg(errp, "host, DNS and DHCP addresses must differ");
        return false;
    }
    /* IPv6: fec0::/64, host ::2, DNS ::3, as QEMU. */
    inet_pton(AF_INET6, "fec0::", &prefix6);
    if (v6net) {
        g_autofree char *a = g_strdup(v6net);
        char *slash = strchr(a, '/');
        if (slash) {
            *slash++ = 0;
            prefix_len = atoi(slash);
        }
        if (inet_pton(AF_INET6, a, &prefix6) != 1 || prefix_len < 0 ||
            prefix_len > 126) {
            error_setg(errp, "Parameter 'ipv6-net' expects an IPv6 prefix");
            return false;
        }
    } else if (v6prefix) {
        if (inet_pton(AF_INET6, v6prefix, &prefix6) != 1) {
            error_setg(errp, "Parameter 'ipv6-prefix' expects an IPv6 "
                       "address");
            return false;
        }
    }
    if (v6len) {
        prefix_len = atoi(v6len);
        if (prefix_len < 0 || prefix_len > 126) {
            error_setg(errp, "Invalid IPv6 prefix provided");
            return false;
        }
    }
    host6 = prefix6;
    host6.s6_addr[15] |= 2;
    dns6 = prefix6;
    dns6.s6_addr[15] |= 3;
    if ((v6host && inet_pton(AF_INET6, v6host, &host6) != 1) ||
        (v6dns && inet_pton(AF_INET6, v6dns, &dns6) != 1)) {
        error_setg(errp, "Parameter 'ipv6-host'/'ipv6-dns' expects an IPv6 "
                   "address");
        return false;
    }
    if (dnssearch) {
        search = g_strsplit(dnssearch, ":", -1);
    }
    if (tftp && !g_file_test(tftp, G_FILE_TEST_IS_DIR)) {
        error_setg(errp, "tftp directory '%s' does not exist", tftp);
        return false;
    }

    cfg.restricted = restricted;
    cfg.in_enabled = ipv4;
    cfg.vnetwork = net;
    cfg.vnetmask = mask;
    cfg.vhost = host;
    cfg.in6_enabled = ipv6;
    cfg.vprefix_addr6 = prefix6;
    cfg.vprefix_len = prefix_len;
    cfg.vhost6 = host6;
    cfg.vhostname = hostname;
    cfg.tftp_server_name = tftp_name;
    cfg.tftp_path = tftp;
    cfg.bootfile = bootfile;
    cfg.vdhcp_start = dhcp;
    cfg.vnameserver = dns;
    cfg.vnameserver6 = dns6;
    cfg.vdnssearch = (const char **)search;
    cfg.vdomainname = domainname;

    s = (SlirpState *)qemu_new_net_client(&net_slirp_info, peer, "user",
                                          name);
    s->pollfds = g_array_new(FALSE, TRUE, sizeof(GPollFD));
    s->wanted = g_array_new(FALSE, TRUE, sizeof(GPollFD));
    s->due_us = -1;
    s->guestfwds = g_ptr_array_new();
    {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &net, a, sizeof(a));
        snprintf(s->nc.info_str, sizeof(s->nc.info_str),
                 "net=%s,restrict=%s", a, restricted ? "on" : "off");
    }
    s->slirp = slirp_new(&cfg, &slirp_cb, s);
    if (!s->slirp) {
        error_setg(errp, "libslirp could not start the user network");
        qemu_del_net_client(&s->nc);
        return false;
    }
    ss = (SlirpSource *)g_source_new(&slirp_src_funcs, sizeof(SlirpSource));
    ss->s = s;
    s->src = &ss->source;
    g_source_attach(s->src, NULL);

    if (hostfwd) {
        g_auto(GStrv) rules = g_strsplit(hostfwd, "\n", -1);
        for (unsigned i = 0; rules[i]; i++) {
            if (!slirp_hostfwd(s, rules[i], errp)) {
                qemu_del_net_client(&s->nc);
                return false;
            }
        }
    }
    if (guestfwd) {
        g_auto(GStrv) rules = g_strsplit(guestfwd, "\n", -1);
        for (unsigned i = 0; rules[i]; i++) {
            if (!slirp_guestfwd(s, rules[i], errp)) {
                qemu_del_net_client(&s->nc);
                return false;
            }
        }
    }
    return true;
}

/* ---- monitor: hostfwd_add / hostfwd_remove ------------------------------------ */

static SlirpState *slirp_lookup(const char *id, GError **errp)
{
    for (NetClientState *nc = net_client_first(); nc; nc = nc->next) {
        if (nc->info->type != NET_CLIENT_DRIVER_USER) {
            continue;
        }
        if (!id || !strcmp(nc->name, id)) {
            return (SlirpState *)nc;
        }
    }
    if (id) {
        error_setg(errp, "unrecognized (vlan-id, stackname) pair");
    } else {
        error_setg(errp, "user mode network stack not in use");
    }
    return NULL;
}

/* HMP: "hostfwd_add [netdev_id] RULE"; false with @errp on failure. */
bool net_slirp_hostfwd_add(const char *id, const char *rule, GError **errp)
{
    SlirpState *s = slirp_lookup(id, errp);

    return s && slirp_hostfwd(s, rule, errp);
}

bool net_slirp_hostfwd_remove(const char *id, const char *rule,
                              GError **errp)
{
    SlirpState *s = slirp_lookup(id, errp);
    struct in_addr haddr, gaddr;
    int is_udp, hport, gport;

    if (!s) {
        return false;
    }
    if (!parse_hostfwd(rule, false, &is_udp, &haddr, &hport, &gaddr,
                       &gport)) {
        error_setg(errp, "invalid format");
        return false;
    }
    if (slirp_remove_hostfwd(s->slirp, is_udp, haddr, hport) < 0) {
        error_setg(errp, "host forwarding rule for %s not found", rule);
        return false;
    }
    return true;
}
