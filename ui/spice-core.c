/*
 * The SPICE server (Debian's libspice-server): -spice options, the
 * SpiceCoreInterface on kvmpc's main loop, channel events (QMP events and
 * query-spice's channel list), tickets (set_password / expire_password).
 *
 * libspice-server calls the core interface from the main thread only
 * (its display worker has an event loop of its own); channel events that
 * its worker threads raise are forwarded to the main thread by the
 * library, and posted here too should one arrive elsewhere.  Timers are
 * REALTIME timers, watches GLib fd sources of the default context, both
 * dispatched by the main loop with the big lock held.
 *
 * Not done (refused by name): TLS (tls-port, x509-*, tls-channel,
 * plaintext-channel, tls-ciphers), SASL, OpenGL (gl, rendernode).
 */
#define UI_SPICE_INTERNAL
#include "qemu/osdep.h"
#include "ui/spice.h"
#include "ui/console.h"
#include "crypto/secret.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "system/main-loop.h"
#include "system/timer.h"
#include <glib-unix.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <limits.h>

#define TIME_MAX_VALUE ((time_t)(sizeof(time_t) == 8 ? INT64_MAX : INT32_MAX))

static SpiceServer *server;
static pthread_t main_thread;

/* what query-spice reports */
static char *listen_addr;       /* NULL: every address */
static int listen_port;         /* 0: none (unix=on) */
static bool listen_unix;
static const char *auth_name;   /* "spice" (tickets) or "none" */

/* the ticket, re-applied when its expiry changes (as QEMU) */
static char *ticket;
static time_t ticket_expires = TIME_MAX_VALUE;

/* channels past their handshake, for query-spice */
static GPtrArray *channels;     /* SpiceChannel * */
static int nr_display_channels;

SpiceServer *qemu_spice_server(void)
{
    return server;
}

bool qemu_spice_enabled(void)
{
    return server != NULL;
}

bool qemu_spice_add_interface(SpiceBaseInstance *sin, GError **errp)
{
    if (!server) {
        error_setg(errp, "spice is not enabled (no -spice option)");
        return false;
    }
    if (spice_server_add_interface(server, sin)) {
        error_setg(errp, "spice: cannot add the %s interface",
                   sin->sif->type);
        return false;
    }
    return true;
}

/* ---- timers ------------------------------------------------------------- */

struct SpiceTimer {
    QEMUTimer *timer;
};

static SpiceTimer *core_timer_add(SpiceTimerFunc func, void *opaque)
{
    SpiceTimer *t = g_new0(SpiceTimer, 1);

    t->timer = timer_new_ns(QEMU_CLOCK_REALTIME, func, opaque);
    return t;
}

static void core_timer_start(SpiceTimer *t, uint32_t ms)
{
    timer_mod(t->timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
              (int64_t)ms * 1000000);
}

static void core_timer_cancel(SpiceTimer *t)
{
    timer_del(t->timer);
}

static void core_timer_remove(SpiceTimer *t)
{
    timer_free(t->timer);
    g_free(t);
}

/* ---- watches ------------------------------------------------------------ */

struct SpiceWatch {
    int fd;
    guint source;
    SpiceWatchFunc func;
    void *opaque;
};

static gboolean watch_dispatch(gint fd, GIOCondition cond, gpointer data)
{
    SpiceWatch *w = data;
    int ev = 0;

    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
        ev |= SPICE_WATCH_EVENT_READ;
    }
    if (cond & G_IO_OUT) {
        ev |= SPICE_WATCH_EVENT_WRITE;
    }
    /* the callback may remove (and free) the watch: do not touch w after */
    w->func(fd, ev, w->opaque);
    return G_SOURCE_CONTINUE;
}

static void core_watch_update_mask(SpiceWatch *w, int mask)
{
    GIOCondition cond = 0;

    if (w->source) {
        g_source_remove(w->source);
        w->source = 0;
    }
    if (mask & SPICE_WATCH_EVENT_READ) {
        cond |= G_IO_IN | G_IO_HUP | G_IO_ERR;
    }
    if (mask & SPICE_WATCH_EVENT_WRITE) {
        cond |= G_IO_OUT;
    }
    if (cond) {
        w->source = g_unix_fd_add(w->fd, cond, watch_dispatch, w);
    }
}

static SpiceWatch *core_watch_add(int fd, int mask, SpiceWatchFunc func,
                                  void *opaque)
{
    SpiceWatch *w = g_new0(SpiceWatch, 1);

    w->fd = fd;
    w->func = func;
    w->opaque = opaque;
    core_watch_update_mask(w, mask);
    return w;
}

static void core_watch_remove(SpiceWatch *w)
{
    if (w->source) {
        g_source_remove(w->source);
    }
    g_free(w);
}

/* ---- channel events ------------------------------------------------------ */

static NetworkAddressFamily family_of(int af)
{
    switch (af) {
    case AF_INET:
        return NETWORK_ADDRESS_FAMILY_IPV4;
    case AF_INET6:
        return NETWORK_ADDRESS_FAMILY_IPV6;
    case AF_UNIX:
        return NETWORK_ADDRESS_FAMILY_UNIX;
    default:
        return NETWORK_ADDRESS_FAMILY_UNKNOWN;
    }
}

static void address_of(const struct sockaddr_storage *ss, socklen_t len,
                       char **host, char **port, NetworkAddressFamily *fam)
{
    char h[NI_MAXHOST] = "", p[NI_MAXSERV] = "";

    *fam = family_of(ss->ss_family);
    if (ss->ss_family == AF_UNIX) {
        *host = g_strdup(listen_unix && listen_addr ? listen_addr : "");
        *port = g_strdup("");
        return;
    }
    if (len && getnameinfo((const struct sockaddr *)ss, len, h, sizeof(h),
                           p, sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV)) {
        h[0] = p[0] = 0;
    }
    *host = g_strdup(h);
    *port = g_strdup(p);
}

static SpiceBasicInfo *basic_info(const struct sockaddr_storage *ss,
                                  socklen_t len)
{
    SpiceBasicInfo *b = g_new0(SpiceBasicInfo, 1);

    address_of(ss, len, &b->host, &b->port, &b->family);
    return b;
}

static bool same_channel(SpiceChannel *c, const SpiceChannelEventInfo *info)
{
    return c->connection_id == info->connection_id &&
           c->channel_type == info->type && c->channel_id == info->id;
}

static void channel_list_del(const SpiceChannelEventInfo *info)
{
    for (unsigned i = 0; i < channels->len; i++) {
        SpiceChannel *c = g_ptr_array_index(channels, i);
        if (same_channel(c, info)) {
            if (c->channel_type == SPICE_CHANNEL_DISPLAY) {
                nr_display_channels--;
            }
            g_ptr_array_remove_index(channels, i);
            return;
        }
    }
}

static void channel_event_main(int event, SpiceChannelEventInfo *info)
{
    g_autoptr(SpiceBasicInfo) srv = NULL;
    g_autoptr(SpiceBasicInfo) cli = NULL;
    SpiceServerInfo *sinfo;
    SpiceChannel *ch;
    int before = nr_display_channels;

    if (!(info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT)) {
        /* libspice-server >= 0.12 always sets it */
        return;
    }
    srv = basic_info(&info->laddr_ext, info->llen_ext);
    cli = basic_info(&info->paddr_ext, info->plen_ext);
    switch (event) {
    case SPICE_CHANNEL_EVENT_CONNECTED:
        qapi_event_send_spice_connected(srv, cli);
        break;
    case SPICE_CHANNEL_EVENT_INITIALIZED:
        sinfo = g_new0(SpiceServerInfo, 1);
        address_of(&info->laddr_ext, info->llen_ext, &sinfo->host,
                   &sinfo->port, &sinfo->family);
        sinfo->auth = g_strdup(auth_name);
        ch = g_new0(SpiceChannel, 1);
        address_of(&info->paddr_ext, info->plen_ext, &ch->host, &ch->port,
                   &ch->family);
        ch->connection_id = info->connection_id;
        ch->channel_type = info->type;
        ch->channel_id = info->id;
        ch->tls = !!(info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS);
        channel_list_del(info);     /* a reused triple replaces the old */
        g_ptr_array_add(channels, ch);
        if (info->type == SPICE_CHANNEL_DISPLAY) {
            nr_display_channels++;
        }
        qapi_event_send_spice_initialized(sinfo, ch);
        qapi_free_SpiceServerInfo(sinfo);
        break;
    case SPICE_CHANNEL_EVENT_DISCONNECTED:
        channel_list_del(info);
        qapi_event_send_spice_disconnected(srv, cli);
        break;
    }
    if (nr_display_channels != before) {
        qemu_spice_display_clients_changed(nr_display_channels);
    }
}

typedef struct PostedEvent {
    int event;
    SpiceChannelEventInfo info;
} PostedEvent;

static void channel_event_posted(void *opaque)
{
    PostedEvent *p = opaque;

    channel_event_main(p->event, &p->info);
    g_free(p);
}

static void core_channel_event(int event, SpiceChannelEventInfo *info)
{
    if (pthread_equal(pthread_self(), main_thread)) {
        channel_event_main(event, info);
    } else {
        PostedEvent *p = g_new(PostedEvent, 1);
        p->event = event;
        p->info = *info;
        main_loop_call(channel_event_posted, p);
    }
}

static SpiceCoreInterface core_interface = {
    .base.type = SPICE_INTERFACE_CORE,
    .base.description = "kvmpc core services",
    .base.major_version = SPICE_INTERFACE_CORE_MAJOR,
    .base.minor_version = SPICE_INTERFACE_CORE_MINOR,
    .timer_add = core_timer_add,
    .timer_start = core_timer_start,
    .timer_cancel = core_timer_cancel,
    .timer_remove = core_timer_remove,
    .watch_add = core_watch_add,
    .watch_update_mask = core_watch_update_mask,
    .watch_remove = core_watch_remove,
    .channel_event = core_channel_event,
};

/* ---- tickets ------------------------------------------------------------- */

static int apply_ticket(bool fail_if_connected, bool disconnect_if_connected)
{
    time_t now = time(NULL);
    time_t lifetime;
    const char *pw;

    if (now < ticket_expires) {
        pw = ticket;
        lifetime = ticket_expires == TIME_MAX_VALUE ? 0
                                                    : ticket_expires - now;
        if (lifetime > INT_MAX) {
            lifetime = INT_MAX;
        }
    } else {
        /* expired: no password matches (libspice treats 1 s as already
         * over once it passed; QEMU does the same) */
        pw = NULL;
        lifetime = 1;
    }
    return spice_server_set_ticket(server, pw, lifetime, fail_if_connected,
                                   disconnect_if_connected);
}

bool qemu_spice_set_password(const char *password, SetPasswordAction action,
                             GError **errp)
{
    if (!server) {
        error_setg(errp, "Could not set password: spice is not enabled");
        return false;
    }
    g_free(ticket);
    ticket = g_strdup(password);
    if (apply_ticket(action == SET_PASSWORD_ACTION_FAIL,
                     action == SET_PASSWORD_ACTION_DISCONNECT)) {
        error_setg(errp, "Could not set password");
        return false;
    }
    auth_name = "spice";
    return true;
}

bool qemu_spice_expire_password(time_t when, GError **errp)
{
    if (!server) {
        error_setg(errp, "Could not set password expire time: spice is not "
                   "enabled");
        return false;
    }
    ticket_expires = when;
    if (apply_ticket(false, false)) {
        error_setg(errp, "Could not set password expire time");
        return false;
    }
    return true;
}

/* ---- options ------------------------------------------------------------- */

typedef struct SpiceOpts {
    int64_t port;               /* -1: not given */
    char *addr;
    bool ipv4, ipv6, unix_sock;
    char *password;
    char *password_secret;
    bool disable_ticketing;
    int image_compression;      /* -1: default */
    int jpeg_wan, zlib_wan;     /* -1: default */
    int streaming_video;        /* -1: default */
    bool agent_mouse;
    bool playback_compression;
    bool seamless_migration;
    bool disable_copy_paste;
    bool disable_agent_file_xfer;
    char *name;
} SpiceOpts;

static bool parse_onoff(const char *key, const char *val, bool *out,
                       GError **errp)
{
    if (!val || !strcmp(val, "on") || !strcmp(val, "yes") ||
        !strcmp(val, "true")) {
        *out = true;
    } else if (!strcmp(val, "off") || !strcmp(val, "no") ||
               !strcmp(val, "false")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

typedef struct NameValue {
    const char *name;
    int value;
} NameValue;

static const NameValue image_compression_names[] = {
    { "off", SPICE_IMAGE_COMPRESSION_OFF },
    { "auto_glz", SPICE_IMAGE_COMPRESSION_AUTO_GLZ },
    { "auto_lz", SPICE_IMAGE_COMPRESSION_AUTO_LZ },
    { "quic", SPICE_IMAGE_COMPRESSION_QUIC },
    { "glz", SPICE_IMAGE_COMPRESSION_GLZ },
    { "lz", SPICE_IMAGE_COMPRESSION_LZ },
    { NULL, 0 }
};

static const NameValue wan_compression_names[] = {
    { "auto", SPICE_WAN_COMPRESSION_AUTO },
    { "never", SPICE_WAN_COMPRESSION_NEVER },
    { "always", SPICE_WAN_COMPRESSION_ALWAYS },
    { NULL, 0 }
};

static const NameValue streaming_video_names[] = {
    { "off", SPICE_STREAM_VIDEO_OFF },
    { "all", SPICE_STREAM_VIDEO_ALL },
    { "filter", SPICE_STREAM_VIDEO_FILTER },
    { NULL, 0 }
};

static bool parse_name(const char *key, const char *val,
                       const NameValue *names, int *out, GError **errp)
{
    for (const NameValue *n = names; val && n->name; n++) {
        if (!strcmp(n->name, val)) {
            *out = n->value;
            return true;
        }
    }
    error_setg(errp, "spice: invalid %s: %s", key, val ? val : "");
    return false;
}

static void spice_opts_free(SpiceOpts *o)
{
    g_free(o->addr);
    g_free(o->password);
    g_free(o->password_secret);
    g_free(o->name);
}

static const char *const refused_opts[] = {
    "tls-port", "x509-dir", "x509-key-file", "x509-key-password",
    "x509-cert-file", "x509-cacert-file", "x509-dh-key-file", "tls-ciphers",
    "tls-channel", "plaintext-channel", "sasl", "gl", "rendernode", NULL
};

static bool parse_spice_opts(const char *str, SpiceOpts *o, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(str, ",", -1);

    memset(o, 0, sizeof(*o));
    o->port = -1;
    o->image_compression = o->jpeg_wan = o->zlib_wan = -1;
    o->streaming_video = -1;
    o->agent_mouse = true;
    o->playback_compression = true;
    for (unsigned i = 0; parts[i]; i++) {
        char *eq = strchr(parts[i], '=');
        g_autofree char *key = eq ? g_strndup(parts[i], eq - parts[i])
                                  : g_strdup(parts[i]);
        const char *val = eq ? eq + 1 : NULL;
        uint64_t n;

        if (!*parts[i]) {
            continue;
        }
        if (!strcmp(key, "port")) {
            if (!val || !parse_uint(val, &n, NULL) || n > 65535) {
                error_setg(errp, "spice port is out of range");
                return false;
            }
            o->port = n;
        } else if (!strcmp(key, "addr")) {
            g_free(o->addr);
            o->addr = g_strdup(val ? val : "");
        } else if (!strcmp(key, "ipv4")) {
            if (!parse_onoff(key, val, &o->ipv4, errp)) {
                return false;
            }
        } else if (!strcmp(key, "ipv6")) {
            if (!parse_onoff(key, val, &o->ipv6, errp)) {
                return false;
            }
        } else if (!strcmp(key, "unix")) {
            if (!parse_onoff(key, val, &o->unix_sock, errp)) {
                return false;
            }
        } else if (!strcmp(key, "password")) {
            g_free(o->password);
            o->password = g_strdup(val ? val : "");
        } else if (!strcmp(key, "password-secret")) {
            g_free(o->password_secret);
            o->password_secret = g_strdup(val ? val : "");
        } else if (!strcmp(key, "disable-ticketing")) {
            if (!parse_onoff(key, val, &o->disable_ticketing, errp)) {
                return false;
            }
        } else if (!strcmp(key, "image-compression")) {
            if (!parse_name(key, val, image_compression_names,
                            &o->image_compression, errp)) {
                return false;
            }
        } else if (!strcmp(key, "jpeg-wan-compression")) {
            if (!parse_name(key, val, wan_compression_names, &o->jpeg_wan,
                            errp)) {
                return false;
            }
        } else if (!strcmp(key, "zlib-glz-wan-compression")) {
            if (!parse_name(key, val, wan_compression_names, &o->zlib_wan,
                            errp)) {
                return false;
            }
        } else if (!strcmp(key, "streaming-video")) {
            if (!parse_name(key, val, streaming_video_names,
                            &o->streaming_video, errp)) {
                return false;
            }
        } else if (!strcmp(key, "agent-mouse")) {
            if (!parse_onoff(key, val, &o->agent_mouse, errp)) {
                return false;
            }
        } else if (!strcmp(key, "playback-compression")) {
            if (!parse_onoff(key, val, &o->playback_compression, errp)) {
                return false;
            }
        } else if (!strcmp(key, "seamless-migration")) {
            if (!parse_onoff(key, val, &o->seamless_migration, errp)) {
                return false;
            }
        } else if (!strcmp(key, "disable-copy-paste")) {
            if (!parse_onoff(key, val, &o->disable_copy_paste, errp)) {
                return false;
            }
        } else if (!strcmp(key, "disable-agent-file-xfer")) {
            if (!parse_onoff(key, val, &o->disable_agent_file_xfer, errp)) {
                return false;
            }
        } else if (g_strv_contains(refused_opts, key)) {
            error_setg(errp, "spice option '%s' is not supported by kvmpc "
                       "(no TLS, SASL or OpenGL)", key);
            return false;
        } else {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
    }
    if (o->port < 0 && !o->unix_sock) {
        error_setg(errp, "neither port nor tls-port specified for spice");
        return false;
    }
    if (o->unix_sock && (!o->addr || !*o->addr)) {
        error_setg(errp, "spice: unix=on needs addr=PATH");
        return false;
    }
    if (o->password && o->password_secret) {
        error_setg(errp, "spice: password and password-secret are mutually "
                   "exclusive");
        return false;
    }
    return true;
}

bool qemu_spice_init(const char *optstr, GError **errp)
{
    SpiceOpts o;
    int addr_flags = 0;

    if (server) {
        error_setg(errp, "spice: only one -spice option is supported");
        return false;
    }
    if (!parse_spice_opts(optstr, &o, errp)) {
        spice_opts_free(&o);
        return false;
    }
    if (o.password_secret) {
        o.password = qcrypto_secret_lookup_as_utf8(o.password_secret, errp);
        if (!o.password) {
            spice_opts_free(&o);
            return false;
        }
    }
    main_thread = pthread_self();
    channels = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qapi_free_SpiceChannel);
    server = spice_server_new();
    if (o.port >= 0) {
        spice_server_set_port(server, o.port);
    }
    if (o.ipv4) {
        addr_flags |= SPICE_ADDR_FLAG_IPV4_ONLY;
    } else if (o.ipv6) {
        addr_flags |= SPICE_ADDR_FLAG_IPV6_ONLY;
    } else if (o.unix_sock) {
        addr_flags |= SPICE_ADDR_FLAG_UNIX_ONLY;
    }
    spice_server_set_addr(server, o.addr ? o.addr : "", addr_flags);
    if (o.image_compression >= 0) {
        spice_server_set_image_compression(server, o.image_compression);
    }
    if (o.jpeg_wan >= 0) {
        spice_server_set_jpeg_compression(server, o.jpeg_wan);
    }
    if (o.zlib_wan >= 0) {
        spice_server_set_zlib_glz_compression(server, o.zlib_wan);
    }
    if (o.streaming_video >= 0) {
        spice_server_set_streaming_video(server, o.streaming_video);
    } else {
        spice_server_set_streaming_video(server, SPICE_STREAM_VIDEO_OFF);
    }
    spice_server_set_agent_mouse(server, o.agent_mouse);
    spice_server_set_playback_compression(server, o.playback_compression);
    spice_server_set_seamless_migration(server, o.seamless_migration);
    spice_server_set_agent_copypaste(server, !o.disable_copy_paste);
    spice_server_set_agent_file_xfer(server, !o.disable_agent_file_xfer);
    spice_server_set_name(server, "kvmpc");

    if (o.disable_ticketing) {
        spice_server_set_noauth(server);
        auth_name = "none";
    } else {
        auth_name = "spice";
    }
    if (spice_server_init(server, &core_interface)) {
        error_setg(errp, "failed to initialize spice server (cannot listen "
                   "on %s%s%" PRId64 "?)", o.addr ? o.addr : "*",
                   o.unix_sock ? "" : ":", o.unix_sock ? (int64_t)0 : o.port);
        spice_server_destroy(server);
        server = NULL;
        spice_opts_free(&o);
        return false;
    }
    if (o.password && !o.disable_ticketing) {
        ticket = g_strdup(o.password);
        apply_ticket(false, false);
    }
    listen_addr = g_strdup(o.addr && *o.addr ? o.addr : NULL);
    listen_port = o.unix_sock ? 0 : o.port;
    listen_unix = o.unix_sock;
    spice_opts_free(&o);
    return true;
}

void qemu_spice_display_init(void)
{
    if (!server) {
        return;
    }
    qemu_spice_input_init();
    qemu_spice_display_attach();
    /* the display worker runs from now on; kvmpc does not stop it while
     * the guest is paused, so a paused guest's screen stays visible */
    spice_server_vm_start(server);
}

/* ---- query-spice ----------------------------------------------------------- */

SpiceInfo *qmp_query_spice(GError **errp)
{
    SpiceInfo *info = g_new0(SpiceInfo, 1);
    SpiceChannelList **tail = &info->channels;

    if (!server) {
        info->enabled = false;
        info->mouse_mode = SPICE_QUERY_MOUSE_MODE_UNKNOWN;
        return info;
    }
    info->enabled = true;
    info->migrated = false;
    info->host = g_strdup(listen_addr ? listen_addr : "*");
    if (!listen_unix) {
        info->has_port = true;
        info->port = listen_port;
    }
    info->auth = g_strdup(auth_name);
    info->compiled_version = g_strdup_printf("%d.%d.%d",
        (SPICE_SERVER_VERSION >> 16) & 0xff,
        (SPICE_SERVER_VERSION >> 8) & 0xff, SPICE_SERVER_VERSION & 0xff);
    info->mouse_mode = spice_server_is_server_mouse(server)
                       ? SPICE_QUERY_MOUSE_MODE_SERVER
                       : SPICE_QUERY_MOUSE_MODE_CLIENT;
    for (unsigned i = 0; i < channels->len; i++) {
        SpiceChannel *c = g_ptr_array_index(channels, i);
        SpiceChannel *copy = g_new0(SpiceChannel, 1);

        *copy = *c;
        copy->host = g_strdup(c->host);
        copy->port = g_strdup(c->port);
        *tail = g_new0(SpiceChannelList, 1);
        (*tail)->value = copy;
        tail = &(*tail)->next;
    }
    return info;
}
