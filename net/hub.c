/*
 * Hubs: QEMU's replacement for the old "vlan" of -net.  A hub forwards
 * every frame one port receives to all its other ports' peers.  "-net nic
 * -net user" puts both on hub 0; "-netdev hubport,id=ID,hubid=N[,netdev=
 * ND]" makes a port by hand.  A hub port's peer is a NIC or a backend.
 */
#include "qemu/osdep.h"
#include "net/net.h"

#define HUB_MAX 1024

static unsigned port_counter[HUB_MAX];

static ssize_t hub_port_receive_iov(NetClientState *nc,
                                    const struct iovec *iov, int iovcnt)
{
    size_t len = net_iov_size(iov, iovcnt);

    for (NetClientState *p = net_client_first(); p; p = p->next) {
        if (p == nc || p->info->type != NET_CLIENT_DRIVER_HUBPORT ||
            p->hub_id != nc->hub_id) {
            continue;
        }
        /* No completion callback: a full port drops, as a hub does. */
        qemu_sendv_packet(p, iov, iovcnt);
    }
    return len;
}

/* Take a frame when some other port's peer can (QEMU's rule). */
static bool hub_port_can_receive(NetClientState *nc)
{
    for (NetClientState *p = net_client_first(); p; p = p->next) {
        if (p == nc || p->info->type != NET_CLIENT_DRIVER_HUBPORT ||
            p->hub_id != nc->hub_id) {
            continue;
        }
        if (qemu_can_send_packet(p)) {
            return true;
        }
    }
    return false;
}

static const NetClientInfo hub_port_info = {
    .type = NET_CLIENT_DRIVER_HUBPORT,
    .size = sizeof(NetClientState),
    .receive_iov = hub_port_receive_iov,
    .can_receive = hub_port_can_receive,
};

NetClientState *net_hub_add_port(int hub_id, const char *name,
                                 NetClientState *peer)
{
    g_autofree char *def = NULL;
    NetClientState *nc;

    if (!name) {
        def = g_strdup_printf("hub%dport%u", hub_id, port_counter[hub_id]);
        name = def;
    }
    port_counter[hub_id]++;
    nc = qemu_new_net_client(&hub_port_info, peer, "hub", name);
    nc->hub_id = hub_id;
    snprintf(nc->info_str, sizeof(nc->info_str), "hub=%d", hub_id);
    return nc;
}

int net_hub_id_of(NetClientState *port)
{
    return port->info->type == NET_CLIENT_DRIVER_HUBPORT ? port->hub_id : -1;
}

/* A port's peer can take frames again: deliver what the other ports hold. */
void net_hub_flush(NetClientState *port)
{
    for (NetClientState *p = net_client_first(); p; p = p->next) {
        if (p != port && p->info->type == NET_CLIENT_DRIVER_HUBPORT &&
            p->hub_id == port->hub_id && qemu_net_queue_len(p)) {
            qemu_flush_queued_packets(p);
        }
    }
}

/* -netdev hubport,id=ID,hubid=N[,netdev=ND] */
bool net_hub_port_init(GHashTable *opts, const char *name,
                       NetClientState *peer, GError **errp)
{
    g_autofree char *hubid = net_opt_take(opts, "hubid");
    g_autofree char *netdev = net_opt_take(opts, "netdev");
    NetClientState *nd = NULL;
    uint64_t id;

    if (!hubid) {
        error_setg(errp, "Parameter 'hubid' is missing");
        return false;
    }
    if (!parse_uint(hubid, &id, NULL) || id >= HUB_MAX) {
        error_setg(errp, "Parameter 'hubid' expects an integer below %d",
                   HUB_MAX);
        return false;
    }
    if (netdev) {
        nd = qemu_find_netdev(netdev);
        if (!nd) {
            error_setg(errp, "netdev '%s' not found", netdev);
            return false;
        }
        if (nd->peer) {
            error_setg(errp, "netdev '%s' is already in use", netdev);
            return false;
        }
    }
    net_hub_add_port(id, name, nd);
    return true;
}
