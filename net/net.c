/*
 * The network core: clients and peers, delivery with bounded queues and
 * back-pressure, NICs, and the -netdev / -nic / -net options with QEMU
 * 7.2's spellings and messages.  The model is described in
 * include/net/net.h; the user-facing side in docs/net.md.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "net/net.h"
#include "hw/qdev.h"
#include "hw/boards.h"
#include "qapi/qapi-commands.h"
#include "qobject/qdict.h"
#include "qobject/qbool.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

static NetClientState *clients;         /* creation order */

const char *net_client_driver_name(NetClientDriver d)
{
    return d < NET_CLIENT_DRIVER__MAX ? NetClientDriver_str[d] : "?";
}

NetClientState *net_client_first(void)
{
    return clients;
}

/* ---- iovec helpers ------------------------------------------------------ */

size_t net_iov_size(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;

    for (int i = 0; i < iovcnt; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

static size_t iov_copy(const struct iovec *iov, int iovcnt, size_t offset,
                       void *buf, size_t len, bool to_buf)
{
    size_t done = 0;

    for (int i = 0; i < iovcnt && done < len; i++) {
        size_t n;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        n = MIN(iov[i].iov_len - offset, len - done);
        if (to_buf) {
            memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset,
                   n);
        } else {
            memcpy((uint8_t *)iov[i].iov_base + offset,
                   (const uint8_t *)buf + done, n);
        }
        done += n;
        offset = 0;
    }
    return done;
}

size_t net_iov_to_buf(const struct iovec *iov, int iovcnt, size_t offset,
                      void *buf, size_t len)
{
    return iov_copy(iov, iovcnt, offset, buf, len, true);
}

size_t net_iov_from_buf(const struct iovec *iov, int iovcnt, size_t offset,
                        const void *buf, size_t len)
{
    return iov_copy(iov, iovcnt, offset, (void *)buf, len, false);
}

size_t net_iov_copy(const struct iovec *dst, int dcnt, size_t doff,
                    const struct iovec *src, int scnt, size_t soff,
                    size_t len)
{
    int di = 0, si = 0;
    size_t done = 0;

    while (di < dcnt && doff >= dst[di].iov_len) {
        doff -= dst[di++].iov_len;
    }
    while (si < scnt && soff >= src[si].iov_len) {
        soff -= src[si++].iov_len;
    }
    while (done < len && di < dcnt && si < scnt) {
        size_t n = MIN(MIN(dst[di].iov_len - doff, src[si].iov_len - soff),
                       len - done);
        memcpy((uint8_t *)dst[di].iov_base + doff,
               (const uint8_t *)src[si].iov_base + soff, n);
        done += n;
        doff += n;
        soff += n;
        if (doff == dst[di].iov_len) {
            di++;
            doff = 0;
        }
        if (soff == src[si].iov_len) {
            si++;
            soff = 0;
        }
    }
    return done;
}

/* ---- option tables -------------------------------------------------------- */

char *net_opt_take(GHashTable *opts, const char *key)
{
    gpointer k, v;

    if (!g_hash_table_steal_extended(opts, key, &k, &v)) {
        return NULL;
    }
    g_free(k);
    return v;
}

bool net_opt_take_bool(GHashTable *opts, const char *key, bool dflt,
                       bool *out, GError **errp)
{
    g_autofree char *v = net_opt_take(opts, key);
    GError *err = NULL;

    *out = dflt;
    if (v && !parse_bool(v, out, &err)) {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        g_error_free(err);
        return false;
    }
    return true;
}

bool net_opts_check_empty(GHashTable *opts, GError **errp)
{
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, opts);
    if (g_hash_table_iter_next(&it, &k, NULL)) {
        error_setg(errp, "Invalid parameter '%s'", (const char *)k);
        return false;
    }
    return true;
}

/* ---- clients -------------------------------------------------------------- */

NetClientState *qemu_new_net_client(const NetClientInfo *info,
                                    NetClientState *peer, const char *model,
                                    const char *name)
{
    NetClientState *nc = g_malloc0(MAX(info->size, sizeof(NetClientState)));
    NetClientState **p = &clients;

    nc->info = info;
    nc->model = g_strdup(model);
    nc->hub_id = -1;
    if (name) {
        nc->name = g_strdup(name);
    } else {
        /* QEMU's assign_name: MODEL.N, N counting clients of that model. */
        unsigned n = 0;
        for (NetClientState *c = clients; c; c = c->next) {
            if (c->model && !strcmp(c->model, model) && c->queue_index == 0 &&
                c->peer && c->peer->info->type == NET_CLIENT_DRIVER_HUBPORT) {
                n++;
            }
        }
        nc->name = g_strdup_printf("%s.%u", model, n);
    }
    if (peer) {
        nc->peer = peer;
        peer->peer = nc;
    }
    while (*p) {
        p = &(*p)->next;
    }
    *p = nc;
    return nc;
}

static void queue_free_all(NetClientState *nc, bool notify);

void qemu_del_net_client(NetClientState *nc)
{
    NetClientState **p;

    qemu_purge_queued_packets(nc);
    queue_free_all(nc, true);
    if (nc->peer) {
        nc->peer->peer = NULL;
        nc->peer = NULL;
    }
    for (p = &clients; *p; p = &(*p)->next) {
        if (*p == nc) {
            *p = nc->next;
            break;
        }
    }
    if (nc->info->cleanup) {
        nc->info->cleanup(nc);
    }
    g_free(nc->model);
    g_free(nc->name);
    g_free(nc);
}

NetClientState *qemu_find_netdev(const char *id)
{
    for (NetClientState *nc = clients; nc; nc = nc->next) {
        if (nc->info->type != NET_CLIENT_DRIVER_NIC &&
            !strcmp(nc->name, id)) {
            return nc;
        }
    }
    return NULL;
}

int qemu_find_net_clients_except(const char *id, NetClientState **ncs,
                                 NetClientDriver except, int max)
{
    int n = 0;

    for (NetClientState *nc = clients; nc; nc = nc->next) {
        if (nc->info->type == except || strcmp(nc->name, id)) {
            continue;
        }
        if (n < max) {
            ncs[n] = nc;
        }
        n++;
    }
    return n;
}

/* ---- queues ---------------------------------------------------------------- */

unsigned qemu_net_queue_len(NetClientState *nc)
{
    return nc->incoming.count;
}

/*
 * Keep a frame for @nc.  Frames with a completion callback are always
 * kept (their sender stops until the callback, so each sender adds at
 * most one); others are dropped once NET_QUEUE_MAX wait.
 */
static void queue_append(NetClientState *nc, NetClientState *sender,
                         const struct iovec *iov, int iovcnt,
                         NetPacketSent *sent_cb)
{
    NetQueue *q = &nc->incoming;
    size_t size = net_iov_size(iov, iovcnt);
    NetPacket *pkt;

    if (q->count >= NET_QUEUE_MAX && !sent_cb) {
        return;
    }
    pkt = g_malloc(sizeof(*pkt) + size);
    pkt->next = NULL;
    pkt->sender = sender;
    pkt->sent_cb = sent_cb;
    pkt->size = size;
    net_iov_to_buf(iov, iovcnt, 0, pkt->data, size);
    if (q->tail) {
        q->tail->next = pkt;
    } else {
        q->head = pkt;
    }
    q->tail = pkt;
    q->count++;
}

static NetPacket *queue_pop(NetQueue *q)
{
    NetPacket *pkt = q->head;

    if (pkt) {
        q->head = pkt->next;
        if (!q->head) {
            q->tail = NULL;
        }
        q->count--;
    }
    return pkt;
}

static void queue_push_front(NetQueue *q, NetPacket *pkt)
{
    pkt->next = q->head;
    q->head = pkt;
    if (!q->tail) {
        q->tail = pkt;
    }
    q->count++;
}

/* Drop everything queued for @nc; @notify: let senders resume. */
static void queue_free_all(NetClientState *nc, bool notify)
{
    NetPacket *pkt;

    while ((pkt = queue_pop(&nc->incoming))) {
        if (notify && pkt->sent_cb) {
            pkt->sent_cb(pkt->sender, 0);
        }
        g_free(pkt);
    }
}

void qemu_purge_queued_packets(NetClientState *nc)
{
    NetQueue *q;
    NetPacket **pp;

    if (!nc->peer) {
        return;
    }
    q = &nc->peer->incoming;
    q->tail = NULL;
    for (pp = &q->head; *pp;) {
        NetPacket *pkt = *pp;
        if (pkt->sender == nc) {
            *pp = pkt->next;
            q->count--;
            if (pkt->sent_cb) {
                pkt->sent_cb(nc, 0);
            }
            g_free(pkt);
        } else {
            q->tail = pkt;
            pp = &pkt->next;
        }
    }
}

/* ---- delivery -------------------------------------------------------------- */

static bool client_can_receive(NetClientState *nc)
{
    if (nc->receive_disabled) {
        return false;
    }
    return !nc->info->can_receive || nc->info->can_receive(nc);
}

bool qemu_can_send_packet(NetClientState *sender)
{
    if (!sender->peer) {
        return true;
    }
    return client_can_receive(sender->peer);
}

/* Hand a frame to @nc; 0: it cannot take it now. */
static ssize_t deliver(NetClientState *nc, const struct iovec *iov,
                       int iovcnt)
{
    ssize_t ret;

    if (nc->link_down) {
        return net_iov_size(iov, iovcnt);      /* lost on a dead link */
    }
    if (nc->receive_disabled) {
        return 0;
    }
    nc->incoming.delivering = true;
    ret = nc->info->receive_iov(nc, iov, iovcnt);
    nc->incoming.delivering = false;
    if (ret == 0) {
        nc->receive_disabled = true;
    }
    return ret;
}

static void queue_flush(NetClientState *nc)
{
    NetPacket *pkt;

    while ((pkt = queue_pop(&nc->incoming))) {
        struct iovec iov = { pkt->data, pkt->size };
        ssize_t ret;

        if (!client_can_receive(nc)) {
            queue_push_front(&nc->incoming, pkt);
            return;
        }
        ret = deliver(nc, &iov, 1);
        if (ret == 0) {
            queue_push_front(&nc->incoming, pkt);
            return;
        }
        if (pkt->sent_cb) {
            pkt->sent_cb(pkt->sender, ret);
        }
        g_free(pkt);
    }
}

void qemu_flush_queued_packets(NetClientState *nc)
{
    nc->receive_disabled = false;
    if (nc->peer && nc->peer->info->type == NET_CLIENT_DRIVER_HUBPORT) {
        net_hub_flush(nc->peer);
    }
    queue_flush(nc);
}

ssize_t qemu_sendv_packet_async(NetClientState *sender,
                                const struct iovec *iov, int iovcnt,
                                NetPacketSent *sent_cb)
{
    NetClientState *peer = sender->peer;
    ssize_t ret;

    if (sender->link_down || !peer) {
        return net_iov_size(iov, iovcnt);
    }
    /* Keep order: nothing overtakes frames already waiting. */
    if (peer->incoming.delivering || peer->incoming.count ||
        !client_can_receive(peer)) {
        queue_append(peer, sender, iov, iovcnt, sent_cb);
        return 0;
    }
    ret = deliver(peer, iov, iovcnt);
    if (ret == 0) {
        queue_append(peer, sender, iov, iovcnt, sent_cb);
        return 0;
    }
    return ret;
}

ssize_t qemu_sendv_packet(NetClientState *sender, const struct iovec *iov,
                          int iovcnt)
{
    return qemu_sendv_packet_async(sender, iov, iovcnt, NULL);
}

ssize_t qemu_send_packet_async(NetClientState *sender, const uint8_t *buf,
                               size_t size, NetPacketSent *sent_cb)
{
    struct iovec iov = { (void *)buf, size };

    return qemu_sendv_packet_async(sender, &iov, 1, sent_cb);
}

ssize_t qemu_send_packet(NetClientState *sender, const uint8_t *buf,
                         size_t size)
{
    return qemu_send_packet_async(sender, buf, size, NULL);
}

/* ---- vnet header ------------------------------------------------------------ */

bool qemu_has_vnet_hdr(NetClientState *nc)
{
    return nc && nc->info->has_vnet_hdr && nc->info->has_vnet_hdr(nc);
}

bool qemu_has_ufo(NetClientState *nc)
{
    return nc && nc->info->has_ufo && nc->info->has_ufo(nc);
}

void qemu_set_vnet_hdr_len(NetClientState *nc, int len)
{
    if (nc && nc->info->set_vnet_hdr_len) {
        nc->info->set_vnet_hdr_len(nc, len);
    }
}

void qemu_set_offload(NetClientState *nc, int csum, int tso4, int tso6,
                      int ecn, int ufo)
{
    if (nc && nc->info->set_offload) {
        nc->info->set_offload(nc, csum, tso4, tso6, ecn, ufo);
    }
}

/* ---- NICs ------------------------------------------------------------------ */

bool net_parse_macaddr(uint8_t mac[6], const char *str)
{
    unsigned v[6];
    char end;

    if (sscanf(str, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &end) != 6 &&
        sscanf(str, "%x-%x-%x-%x-%x-%x%c", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &end) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        if (v[i] > 0xff) {
            return false;
        }
        mac[i] = v[i];
    }
    return strlen(str) <= 17;
}

char *qemu_mac_strdup_printf(const uint8_t *mac)
{
    return g_strdup_printf("%.2x:%.2x:%.2x:%.2x:%.2x:%.2x",
                           mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

bool net_nic_conf_resolve(NICConf *conf, const char *netdev, const char *mac,
                          GError **errp)
{
    static unsigned mac_index;

    memset(conf->peers, 0, sizeof(conf->peers));
    conf->queues = 1;
    if (mac) {
        if (!net_parse_macaddr(conf->macaddr.a, mac)) {
            error_setg(errp, "Property 'mac' doesn't take value '%s'", mac);
            return false;
        }
    } else {
        /* QEMU's qemu_macaddr_default_if_unset. */
        static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
        memcpy(conf->macaddr.a, base, 6);
        conf->macaddr.a[5] += mac_index++;
    }
    if (netdev) {
        NetClientState *ncs[MAX_QUEUE_NUM];
        int n = qemu_find_net_clients_except(netdev, ncs,
                                             NET_CLIENT_DRIVER_NIC,
                                             MAX_QUEUE_NUM);
        if (n == 0) {
            error_setg(errp, "Property 'netdev' can't find value '%s'",
                       netdev);
            return false;
        }
        if (n > MAX_QUEUE_NUM) {
            error_setg(errp, "netdev '%s' has too many queues", netdev);
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (ncs[i]->peer) {
                error_setg(errp, "Property 'netdev' can't use value '%s', "
                           "it's in use", netdev);
                return false;
            }
            conf->peers[i] = ncs[i];
        }
        conf->queues = n;
    }
    return true;
}

NICState *qemu_new_nic(const NetClientInfo *info, NICConf *conf,
                       const char *model, const char *id, void *opaque)
{
    NICState *nic = g_new0(NICState, 1);

    nic->conf = conf;
    nic->opaque = opaque;
    nic->queues = MAX(conf->queues, 1);
    for (unsigned i = 0; i < nic->queues; i++) {
        NetClientState *nc = qemu_new_net_client(info, conf->peers[i], model,
                                                 id);
        nc->queue_index = i;
        nc->nic = nic;
        nic->ncs[i] = nc;
    }
    return nic;
}

void qemu_del_nic(NICState *nic)
{
    for (unsigned i = 0; i < nic->queues; i++) {
        NetClientState *nc = nic->ncs[i];
        NetClientState *peer = nc->peer;

        qemu_del_net_client(nc);
        if (peer) {
            /* QEMU keeps the netdev, free for another NIC. */
            peer->receive_disabled = false;
        }
    }
    g_free(nic);
}

NetClientState *qemu_get_queue(NICState *nic)
{
    return nic->ncs[0];
}

NetClientState *qemu_get_subqueue(NICState *nic, int queue_index)
{
    return nic->ncs[queue_index];
}

void *qemu_get_nic_opaque(NetClientState *nc)
{
    return nc->nic ? nc->nic->opaque : NULL;
}

NICState *qemu_get_nic(NetClientState *nc)
{
    return nc->nic;
}

void qemu_format_nic_info_str(NetClientState *nc, const uint8_t mac[6])
{
    snprintf(nc->info_str, sizeof(nc->info_str),
             "model=%s,macaddr=%02x:%02x:%02x:%02x:%02x:%02x", nc->model,
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

const char *const *net_nic_models(void)
{
    static const char *models[16];
    static const char *const known[] = {
        "e1000", "e1000-82544gc", "e1000-82545em", "e1000e", "rtl8139",
        "virtio-net-pci", NULL
    };
    unsigned n = 0;

    for (unsigned i = 0; known[i]; i++) {
        if (device_type_find(known[i])) {
            models[n++] = known[i];
        }
    }
    models[n] = NULL;
    return models;
}

/* ---- backends by name -------------------------------------------------------- */

static bool net_init_none(GHashTable *opts, const char *name,
                          NetClientState *peer, GError **errp)
{
    return true;
}

typedef struct NetBackend {
    NetClientDriver type;
    NetInitFn *init;
} NetBackend;

static const NetBackend backends[] = {
    { NET_CLIENT_DRIVER_NONE, net_init_none },
#ifdef CONFIG_SLIRP
    { NET_CLIENT_DRIVER_USER, net_init_user },
#endif
    { NET_CLIENT_DRIVER_TAP, net_init_tap },
    { NET_CLIENT_DRIVER_SOCKET, net_init_socket },
    { NET_CLIENT_DRIVER_STREAM, net_init_stream },
    { NET_CLIENT_DRIVER_DGRAM, net_init_dgram },
    { NET_CLIENT_DRIVER_BRIDGE, net_init_bridge },
    { NET_CLIENT_DRIVER_HUBPORT, net_hub_port_init },
};

static const NetBackend *backend_find(const char *type)
{
    for (unsigned i = 0; i < ARRAY_SIZE(backends); i++) {
        if (!strcmp(NetClientDriver_str[backends[i].type], type)) {
            return &backends[i];
        }
    }
    return NULL;
}

/*
 * Option list to table: repeatable keys (hostfwd, guestfwd) are kept,
 * joined by newlines, as the user backend splits them again.
 */
static GHashTable *opts_table(GPtrArray *kv)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          g_free);

    for (unsigned i = 0; i < kv->len; i++) {
        KeyValPair *p = g_ptr_array_index(kv, i);
        const char *old = g_hash_table_lookup(t, p->key);

        if (old && (!strcmp(p->key, "hostfwd") ||
                    !strcmp(p->key, "guestfwd"))) {
            g_hash_table_insert(t, g_strdup(p->key),
                                g_strdup_printf("%s\n%s", old, p->value));
        } else {
            g_hash_table_insert(t, g_strdup(p->key), g_strdup(p->value));
        }
    }
    return t;
}

static bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/*
 * Create backend @type named @name; @peer is a hub port for -net.  The
 * table's keys are consumed; what is left is an error.
 */
static bool netdev_create(const char *type, const char *name,
                          NetClientState *peer, GHashTable *opts,
                          bool is_netdev, GError **errp)
{
    const NetBackend *b = backend_find(type);
    NetClientState *before = clients, *last;

    if (!b || (b->type == NET_CLIENT_DRIVER_NONE && is_netdev)) {
        if (!strcmp(type, "user")) {
            error_setg(errp, "Parameter 'type' expects a netdev backend type "
                       "(user networking was not built in: no libslirp)");
        } else if (!strcmp(type, "vhost-user") || !strcmp(type, "vde") ||
                   !strcmp(type, "l2tpv3") || !strcmp(type, "netmap") ||
                   !strcmp(type, "vhost-vdpa")) {
            error_setg(errp, "network backend '%s' is not compiled into "
                       "this binary", type);
        } else {
            error_setg(errp, "Parameter 'type' expects a netdev backend "
                       "type");
        }
        return false;
    }
    (void)before;
    if (!b->init(opts, name, peer, errp)) {
        return false;
    }
    if (!net_opts_check_empty(opts, errp)) {
        /* undo: the backend's clients are the newest ones */
        for (NetClientState *nc = clients; nc;) {
            NetClientState *next = nc->next;
            if (!strcmp(nc->name, name) && nc->info->type == b->type) {
                qemu_del_net_client(nc);
            }
            nc = next;
        }
        return false;
    }
    for (last = clients; last; last = last->next) {
        if (!strcmp(last->name, name) && last->info->type != NET_CLIENT_DRIVER_NIC) {
            last->is_netdev = is_netdev;
        }
    }
    return true;
}

bool net_client_netdev_add_table(GPtrArray *kv, GError **errp)
{
    g_autoptr(GHashTable) opts = opts_table(kv);
    g_autofree char *type = net_opt_take(opts, "type");
    g_autofree char *id = net_opt_take(opts, "id");

    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (qemu_find_netdev(id)) {
        error_setg(errp, "Duplicate ID '%s' for netdev", id);
        return false;
    }
    if (!strcmp(type, "nic")) {
        error_setg(errp, "Parameter 'type' expects a netdev backend type");
        return false;
    }
    return netdev_create(type, id, NULL, opts, true, errp);
}

bool net_client_netdev_add(const char *str, GError **errp)
{
    g_autoptr(GPtrArray) kv = keyval_parse_list(str, "type", errp);

    if (!kv) {
        return false;
    }
    return net_client_netdev_add_table(kv, errp);
}

bool net_client_netdev_del(const char *id, GError **errp)
{
    NetClientState *ncs[MAX_QUEUE_NUM];
    NetClientState *nc = qemu_find_netdev(id);
    int n;

    if (!nc) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", id);
        return false;
    }
    if (!nc->is_netdev) {
        error_setg(errp, "Device '%s' is not a netdev", id);
        return false;
    }
    n = qemu_find_net_clients_except(id, ncs, NET_CLIENT_DRIVER_NIC,
                                     MAX_QUEUE_NUM);
    for (int i = 0; i < MIN(n, MAX_QUEUE_NUM); i++) {
        qemu_del_net_client(ncs[i]);
    }
    return true;
}

/* ---- command line --------------------------------------------------------- */

static GPtrArray *opt_netdevs, *opt_nics, *opt_nets;
/* NIC devices to create once the machine exists: -device option strings. */
static GPtrArray *pending_nics;

static void opt_add(GPtrArray **arr, const char *s)
{
    if (!*arr) {
        *arr = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(*arr, g_strdup(s));
}

void net_option_netdev(const char *opts)
{
    opt_add(&opt_netdevs, opts);
}

static G_NORETURN void show_nic_models(void);

/* "model=help" is answered at once, before the machine exists (QEMU). */
static void check_model_help(const char *opts, const char *key)
{
    g_autoptr(GHashTable) kv = keyval_parse(opts, "type", NULL);
    const char *m = kv ? g_hash_table_lookup(kv, key) : NULL;

    if (m && (!strcmp(m, "help") || !strcmp(m, "?"))) {
        show_nic_models();
    }
}

void net_option_nic(const char *opts)
{
    check_model_help(opts, "model");
    opt_add(&opt_nics, opts);
}

void net_option_net(const char *opts)
{
    check_model_help(opts, "model");
    opt_add(&opt_nets, opts);
}

/*
 * QEMU 7.2's default network (vl.c): a machine with default devices and
 * no -netdev, -nic or -net option gets "-net nic -net user": the
 * machine's default NIC model (e1000 on pc) on hub 0 with the user
 * backend; without libslirp only the NIC.
 */
bool net_add_default_nic(void)
{
    if ((opt_netdevs && opt_netdevs->len) || (opt_nics && opt_nics->len) ||
        (opt_nets && opt_nets->len)) {
        return false;
    }
    opt_add(&opt_nets, "nic");
#ifdef CONFIG_SLIRP
    opt_add(&opt_nets, "user");
#endif
    return true;
}

static G_NORETURN void show_nic_models(void)
{
    const char *const *m = net_nic_models();

    printf("Available NIC models:\n");
    for (; *m; m++) {
        printf("%s\n", *m);
    }
    exit(0);
}

static const char *default_nic_model(void)
{
    /* The machine's choice (q35: e1000e), else QEMU's pc default e1000;
     * kvmpc falls back to virtio-net-pci in a build without e1000. */
    if (current_machine && current_machine->type->default_nic &&
        device_type_find(current_machine->type->default_nic)) {
        return current_machine->type->default_nic;
    }
    return device_type_find("e1000") ? "e1000" : "virtio-net-pci";
}

static bool model_known(const char *model)
{
    for (const char *const *m = net_nic_models(); *m; m++) {
        if (!strcmp(*m, model)) {
            return true;
        }
    }
    return false;
}

/* A NIC device for -nic/-net nic: queued until the machine exists. */
static bool queue_nic(const char *model, const char *netdev, const char *mac,
                      const char *extra, GError **errp)
{
    GString *s;

    if (!model) {
        model = default_nic_model();
    }
    if (!strcmp(model, "help") || !strcmp(model, "?")) {
        show_nic_models();
    }
    if (!model_known(model)) {
        error_setg(errp, "Unsupported NIC model: %s", model);
        return false;
    }
    s = g_string_new(model);
    if (netdev) {
        g_string_append_printf(s, ",netdev=%s", netdev);
    }
    if (mac) {
        g_string_append_printf(s, ",mac=%s", mac);
    }
    if (extra) {
        g_string_append_printf(s, ",%s", extra);
    }
    if (!pending_nics) {
        pending_nics = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(pending_nics, g_string_free(s, false));
    return true;
}

/* -nic TYPE[,model=M][,mac=MAC][,backend options] */
static bool nic_option(const char *str, unsigned idx, GError **errp)
{
    g_autoptr(GPtrArray) kv = keyval_parse_list(str, "type", errp);
    g_autoptr(GHashTable) opts = NULL;
    g_autofree char *type = NULL, *model = NULL, *mac = NULL, *id = NULL;

    if (!kv) {
        return false;
    }
    opts = opts_table(kv);
    type = net_opt_take(opts, "type");
    model = net_opt_take(opts, "model");
    mac = net_opt_take(opts, "mac");
    if (model && (!strcmp(model, "help") || !strcmp(model, "?"))) {
        show_nic_models();
    }
    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    if (!strcmp(type, "none")) {
        return true;
    }
    id = g_strdup_printf("__org.qemu.nic%u", idx);
    if (!netdev_create(type, id, NULL, opts, true, errp)) {
        return false;
    }
    return queue_nic(model, id, mac, NULL, errp);
}

/*
 * -net nic[,model=M][,macaddr=MAC][,netdev=ID][,name=N][,addr=A] and
 * -net TYPE[,name=N][,backend options]: legacy hub 0.
 */
static bool net_option(const char *str, GError **errp)
{
    g_autoptr(GPtrArray) kv = keyval_parse_list(str, "type", errp);
    g_autoptr(GHashTable) opts = NULL;
    g_autofree char *type = NULL, *name = NULL;

    if (!kv) {
        return false;
    }
    opts = opts_table(kv);
    type = net_opt_take(opts, "type");
    name = net_opt_take(opts, "name");
    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    if (!strcmp(type, "none")) {
        return true;
    }
    if (g_hash_table_contains(opts, "vlan")) {
        error_setg(errp, "Invalid parameter 'vlan'");
        return false;
    }
    if (!strcmp(type, "nic")) {
        g_autofree char *model = net_opt_take(opts, "model");
        g_autofree char *mac = net_opt_take(opts, "macaddr");
        g_autofree char *netdev = net_opt_take(opts, "netdev");
        g_autofree char *addr = net_opt_take(opts, "addr");
        g_autofree char *extra = addr ? g_strdup_printf("addr=%s", addr)
                                      : NULL;
        g_autofree char *portname = NULL;

        if (model && (!strcmp(model, "help") || !strcmp(model, "?"))) {
            show_nic_models();
        }
        if (!net_opts_check_empty(opts, errp)) {
            return false;
        }
        if (!netdev) {
            NetClientState *port = net_hub_add_port(0, NULL, NULL);
            portname = g_strdup(port->name);
        }
        if (name) {
            g_autofree char *e2 = g_strdup_printf("%s%sid=%s",
                                                  extra ? extra : "",
                                                  extra ? "," : "", name);
            return queue_nic(model, netdev ? netdev : portname, mac, e2,
                             errp);
        }
        return queue_nic(model, netdev ? netdev : portname, mac, extra, errp);
    }
    if (!strcmp(type, "hubport")) {
        error_setg(errp, "Parameter 'type' expects a net backend type "
                   "(is the option only valid with -netdev?)");
        return false;
    }
    {
        NetClientState *port;
        g_autofree char *cname = NULL;

        if (!backend_find(type)) {
            return netdev_create(type, "x", NULL, opts, false, errp);
        }
        port = net_hub_add_port(0, NULL, NULL);
        if (!name) {
            /* QEMU's assign_name: TYPE.N */
            unsigned n = 0;
            for (NetClientState *c = clients; c; c = c->next) {
                if (c->model && !strcmp(c->model, type) && c->peer &&
                    c->peer->info->type == NET_CLIENT_DRIVER_HUBPORT) {
                    n++;
                }
            }
            cname = g_strdup_printf("%s.%u", type, n);
        } else {
            cname = g_strdup(name);
        }
        if (!netdev_create(type, cname, port, opts, false, errp)) {
            qemu_del_net_client(port);
            return false;
        }
        return true;
    }
}

bool net_init_clients(GError **errp)
{
    for (unsigned i = 0; opt_netdevs && i < opt_netdevs->len; i++) {
        const char *s = g_ptr_array_index(opt_netdevs, i);
        GError *err = NULL;

        if (!net_client_netdev_add(s, &err)) {
            g_propagate_prefixed_error(errp, err, "-netdev %s: ", s);
            return false;
        }
    }
    for (unsigned i = 0; opt_nics && i < opt_nics->len; i++) {
        const char *s = g_ptr_array_index(opt_nics, i);
        GError *err = NULL;

        if (!nic_option(s, i, &err)) {
            g_propagate_prefixed_error(errp, err, "-nic %s: ", s);
            return false;
        }
    }
    for (unsigned i = 0; opt_nets && i < opt_nets->len; i++) {
        const char *s = g_ptr_array_index(opt_nets, i);
        GError *err = NULL;

        if (!net_option(s, &err)) {
            g_propagate_prefixed_error(errp, err, "-net %s: ", s);
            return false;
        }
    }
    return true;
}

bool net_create_nics(GError **errp)
{
    for (unsigned i = 0; pending_nics && i < pending_nics->len; i++) {
        const char *s = g_ptr_array_index(pending_nics, i);
        if (!device_create_from_opts(s, errp)) {
            return false;
        }
    }
    return true;
}

/* ---- link state, info network --------------------------------------------- */

bool net_set_link(const char *name, bool up, GError **errp)
{
    NetClientState *ncs[MAX_QUEUE_NUM];
    int n = qemu_find_net_clients_except(name, ncs, NET_CLIENT_DRIVER__MAX,
                                         MAX_QUEUE_NUM);
    NetClientState *nc;

    if (n == 0) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", name);
        return false;
    }
    n = MIN(n, MAX_QUEUE_NUM);
    nc = ncs[0];
    for (int i = 0; i < n; i++) {
        ncs[i]->link_down = !up;
    }
    if (nc->info->link_status_changed) {
        nc->info->link_status_changed(nc);
    }
    if (nc->peer) {
        /* A NIC peer follows its backend (QEMU); a backend or hub port
         * behind a NIC keeps its own state. */
        if (nc->peer->info->type == NET_CLIENT_DRIVER_NIC) {
            for (int i = 0; i < n; i++) {
                if (ncs[i]->peer) {
                    ncs[i]->peer->link_down = !up;
                }
            }
        }
        if (nc->peer->info->link_status_changed) {
            nc->peer->info->link_status_changed(nc->peer);
        }
    }
    return true;
}

static void print_client(GString *s, NetClientState *nc)
{
    g_string_append_printf(s, "%s: index=%u,type=%s,%s\n", nc->name,
                           nc->queue_index,
                           net_client_driver_name(nc->info->type),
                           nc->info_str);
}

char *net_info_network(void)
{
    GString *s = g_string_new("");

    /* Hubs first, each with its ports and what hangs on them. */
    for (int hub = 0; hub < 1024; hub++) {
        bool seen = false;
        for (NetClientState *nc = clients; nc; nc = nc->next) {
            if (nc->info->type != NET_CLIENT_DRIVER_HUBPORT ||
                nc->hub_id != hub) {
                continue;
            }
            if (!seen) {
                g_string_append_printf(s, "hub %d\n", hub);
                seen = true;
            }
            g_string_append_printf(s, " \\ %s", nc->name);
            if (nc->peer) {
                g_string_append(s, ": ");
                print_client(s, nc->peer);
            } else {
                g_string_append(s, "\n");
            }
        }
    }
    for (NetClientState *nc = clients; nc; nc = nc->next) {
        NetClientState *peer = nc->peer;
        NetClientDriver type = nc->info->type;

        if (type == NET_CLIENT_DRIVER_HUBPORT ||
            (peer && peer->info->type == NET_CLIENT_DRIVER_HUBPORT)) {
            continue;       /* shown with its hub */
        }
        if (!peer || type == NET_CLIENT_DRIVER_NIC) {
            print_client(s, nc);
        }
        if (peer && type == NET_CLIENT_DRIVER_NIC) {
            g_string_append(s, " \\ ");
            print_client(s, peer);
        }
    }
    return g_string_free(s, false);
}

/* ---- QMP -------------------------------------------------------------------- */

void qmp_set_link(const char *name, bool up, GError **errp)
{
    net_set_link(name, up, errp);
}

/* Hand-written ('gen': false): the arguments are -netdev's options. */
void qmp_marshal_netdev_add(QDict *args, QObject **ret, GError **errp)
{
    g_autoptr(GPtrArray) kv = g_ptr_array_new();
    GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
    bool ok = true;

    for (const QDictEntry *e = args ? qdict_first(args) : NULL; e;
         e = qdict_next(args, e)) {
        QObject *v = qdict_entry_value(e);
        KeyValPair *p = g_new0(KeyValPair, 1);
        char *val = NULL;

        switch (qobject_type(v)) {
        case QTYPE_QSTRING:
            val = g_strdup(qstring_get_str(qobject_to(QString, v)));
            break;
        case QTYPE_QBOOL:
            val = g_strdup(qbool_get_bool(qobject_to(QBool, v)) ? "on"
                                                                 : "off");
            break;
        case QTYPE_QNUM: {
            int64_t i;
            if (qnum_get_try_int(qobject_to(QNum, v), &i)) {
                val = g_strdup_printf("%" PRId64, i);
            }
            break;
        }
        default:
            break;
        }
        if (!val) {
            error_setg(errp, "Parameter '%s' has an unsupported type",
                       qdict_entry_key(e));
            g_free(p);
            ok = false;
            break;
        }
        p->key = g_strdup(qdict_entry_key(e));
        p->value = val;
        g_ptr_array_add(owned, p->key);
        g_ptr_array_add(owned, p->value);
        g_ptr_array_add(owned, p);
        g_ptr_array_add(kv, p);
    }
    if (ok && net_client_netdev_add_table(kv, errp)) {
        *ret = QOBJECT(qdict_new());
    }
    g_ptr_array_unref(owned);
}

void qmp_netdev_del(const char *id, GError **errp)
{
    net_client_netdev_del(id, errp);
}

RxFilterInfoList *qmp_query_rx_filter(const char *name, GError **errp)
{
    RxFilterInfoList *list = NULL, **tail = &list;

    for (NetClientState *nc = clients; nc; nc = nc->next) {
        RxFilterInfoList *e;

        if (nc->info->type != NET_CLIENT_DRIVER_NIC || nc->queue_index) {
            continue;
        }
        if (name && strcmp(nc->name, name)) {
            continue;
        }
        if (!nc->info->query_rx_filter) {
            if (name) {
                error_setg(errp, "net client(%s) doesn't support rx-filter "
                           "querying", name);
                return NULL;
            }
            continue;
        }
        e = g_new0(RxFilterInfoList, 1);
        e->value = nc->info->query_rx_filter(nc);
        *tail = e;
        tail = &e->next;
        if (name) {
            break;
        }
    }
    if (name && !list) {
        if (errp && !*errp) {
            error_setg(errp, "invalid net client name: %s", name);
        }
    }
    return list;
}
