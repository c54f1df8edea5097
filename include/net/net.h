/*
 * The network core: clients (NICs, backends, hub ports) joined in pairs
 * of peers, packet delivery with bounded queues and back-pressure, and
 * the -netdev / -nic / -net options.  See docs/net.md.
 *
 * Model (QEMU's): every endpoint is a NetClientState.  A NIC queue and a
 * backend queue are each other's peer; a frame one side sends goes to its
 * peer's receive_iov.  When the peer cannot take it (can_receive false,
 * or receive_iov returned 0) the frame waits in the peer's incoming queue
 * (NET_QUEUE_MAX frames; further frames without a completion callback are
 * dropped, as on a real wire).  A sender that passes a completion
 * callback (qemu_sendv_packet_async) gets 0 back when its frame was
 * queued and must send nothing more until the callback runs: that is how
 * a backend stops reading its fd, and a NIC stops taking transmit
 * descriptors, while the other side is full.  The receiving side calls
 * qemu_flush_queued_packets() when it can take frames again (a NIC: when
 * the guest posts receive buffers).
 *
 * The NIC-facing API (for hw/net/ devices) is the NIC section below:
 * qemu_new_nic() with a NICConf filled from the device's netdev= and mac=
 * properties (net_nic_conf_resolve), receive_iov/can_receive callbacks,
 * qemu_sendv_packet_async() for transmit, qemu_flush_queued_packets()
 * when receive buffers appear, qemu_format_nic_info_str() and
 * qemu_del_nic() at unrealize.
 *
 * Everything here runs on the main thread with the big lock held.
 */
#ifndef NET_NET_H
#define NET_NET_H
#include "qemu/osdep.h"
#include <sys/uio.h>
#include "qapi/qapi-types.h"

#define MAX_QUEUE_NUM           64      /* queues of one NIC or tap */
#define NET_QUEUE_MAX           256     /* frames waiting for one client */
#define NET_BUFSIZE             (4096 + 65536)  /* largest frame + vnet hdr */

typedef struct NetClientState NetClientState;
typedef struct NICState NICState;

/* NetClientDriver (NET_CLIENT_DRIVER_USER, ...) is the QAPI enum. */

/* The driver's name as -netdev spells it ("user", "tap", "nic", ...). */
const char *net_client_driver_name(NetClientDriver d);

typedef void NetPacketSent(NetClientState *sender, ssize_t ret);

typedef struct NetClientInfo {
    NetClientDriver type;
    size_t size;                /* instance size (NetClientState first) */
    /*
     * Take one frame.  Return its size when it was taken (or dropped on
     * purpose: filtered, no room for it ever), 0 when the client cannot
     * take it now (it stays queued until qemu_flush_queued_packets()).
     */
    ssize_t (*receive_iov)(NetClientState *nc, const struct iovec *iov,
                           int iovcnt);
    bool (*can_receive)(NetClientState *nc);
    void (*cleanup)(NetClientState *nc);
    void (*link_status_changed)(NetClientState *nc);
    RxFilterInfo *(*query_rx_filter)(NetClientState *nc);
    /* announce-self: ask the guest to announce itself (virtio-net's
     * GUEST_ANNOUNCE); false sends the RARP frame instead. */
    bool (*announce)(NetClientState *nc);
    /* virtio-net header support (tap with vnet_hdr=on). */
    bool (*has_vnet_hdr)(NetClientState *nc);
    bool (*has_ufo)(NetClientState *nc);
    void (*set_vnet_hdr_len)(NetClientState *nc, int len);
    void (*set_offload)(NetClientState *nc, int csum, int tso4, int tso6,
                        int ecn, int ufo);
} NetClientInfo;

typedef struct NetPacket NetPacket;

typedef struct NetQueue {
    NetPacket *head, *tail;
    unsigned count;
    bool delivering;
} NetQueue;

struct NetClientState {
    const NetClientInfo *info;
    NetClientState *peer;
    NetQueue incoming;          /* frames for this client, waiting */
    char *model;                /* "user", "virtio-net-pci", "hub", ... */
    char *name;                 /* id or generated ("user.0") */
    char info_str[256];         /* what "info network" shows */
    bool link_down;
    bool receive_disabled;      /* receive_iov said 0: wait for a flush */
    bool is_netdev;             /* created by -netdev / netdev_add */
    unsigned queue_index;
    unsigned queues;            /* of a multiqueue backend (queue 0 says) */
    NetClientState *next;       /* the list of all clients */
    NICState *nic;              /* a NIC queue's NIC */
    int hub_id;                 /* a hub port's hub (-1: not a port) */
    void (*destructor)(NetClientState *nc);
};

/* ---- clients (backends and NICs) --------------------------------------- */

/* Allocate info->size bytes, link to @peer (may be NULL) and register. */
NetClientState *qemu_new_net_client(const NetClientInfo *info,
                                    NetClientState *peer, const char *model,
                                    const char *name);
/* Unlink from the peer, purge its queued frames, cleanup and free. */
void qemu_del_net_client(NetClientState *nc);
NetClientState *qemu_find_netdev(const char *id);
/* Every client of @id (the queues of a multiqueue netdev); returns count. */
int qemu_find_net_clients_except(const char *id, NetClientState **ncs,
                                 NetClientDriver except, int max);
/* The first client, for iteration with ->next. */
NetClientState *net_client_first(void);

/* ---- sending ----------------------------------------------------------- */

/* Whether @sender's peer can take a frame now (link state included). */
bool qemu_can_send_packet(NetClientState *sender);
/* Send one frame to the peer; dropped if it cannot be queued. */
ssize_t qemu_send_packet(NetClientState *sender, const uint8_t *buf,
                         size_t size);
ssize_t qemu_sendv_packet(NetClientState *sender, const struct iovec *iov,
                          int iovcnt);
/*
 * Send with a completion callback: 0 means the frame is queued at the
 * peer and @sent_cb runs once it is delivered; the sender must wait for
 * that before sending more.  Otherwise the frame's size (taken or
 * dropped).  No copy is made unless the frame has to wait.
 */
ssize_t qemu_sendv_packet_async(NetClientState *sender,
                                const struct iovec *iov, int iovcnt,
                                NetPacketSent *sent_cb);
ssize_t qemu_send_packet_async(NetClientState *sender, const uint8_t *buf,
                               size_t size, NetPacketSent *sent_cb);
/* Deliver the frames waiting for @nc (it can take some again). */
void qemu_flush_queued_packets(NetClientState *nc);
/* Drop frames @nc sent that wait at its peer. */
void qemu_purge_queued_packets(NetClientState *nc);
/* Frames waiting for @nc (tests, info network). */
unsigned qemu_net_queue_len(NetClientState *nc);

/* ---- NICs ---------------------------------------------------------------- */

typedef struct MACAddr {
    uint8_t a[6];
} MACAddr;

typedef struct NICConf {
    MACAddr macaddr;
    NetClientState *peers[MAX_QUEUE_NUM];
    int32_t queues;             /* peers found (1 without a netdev) */
    int32_t bootindex;
} NICConf;

struct NICState {
    NetClientState *ncs[MAX_QUEUE_NUM];
    NICConf *conf;
    void *opaque;
    unsigned queues;
};

/*
 * Fill @conf from a device's "netdev" and "mac" properties: every queue
 * of the netdev (which must exist and be unused), and the MAC (parsed,
 * or QEMU's default 52:54:00:12:34:56 + n when @mac is NULL).
 */
bool net_nic_conf_resolve(NICConf *conf, const char *netdev, const char *mac,
                          GError **errp);
NICState *qemu_new_nic(const NetClientInfo *info, NICConf *conf,
                       const char *model, const char *id, void *opaque);
void qemu_del_nic(NICState *nic);
NetClientState *qemu_get_queue(NICState *nic);
NetClientState *qemu_get_subqueue(NICState *nic, int queue_index);
void *qemu_get_nic_opaque(NetClientState *nc);
NICState *qemu_get_nic(NetClientState *nc);
/* "model=virtio-net-pci,macaddr=52:54:00:12:34:56" into info_str. */
void qemu_format_nic_info_str(NetClientState *nc, const uint8_t mac[6]);
bool net_parse_macaddr(uint8_t mac[6], const char *str);
char *qemu_mac_strdup_printf(const uint8_t *mac);
/* The device type names -nic/-net nic accept (NULL-terminated). */
const char *const *net_nic_models(void);

/* ---- vnet header helpers (tap) ------------------------------------------ */

bool qemu_has_vnet_hdr(NetClientState *nc);
bool qemu_has_ufo(NetClientState *nc);
void qemu_set_vnet_hdr_len(NetClientState *nc, int len);
void qemu_set_offload(NetClientState *nc, int csum, int tso4, int tso6,
                      int ecn, int ufo);

/* ---- options and monitor ------------------------------------------------- */

/* "-netdev TYPE,id=ID,..."; also netdev_add (keys in a table). */
bool net_client_netdev_add(const char *opts, GError **errp);
bool net_client_netdev_add_table(GPtrArray *kv, GError **errp);
bool net_client_netdev_del(const char *id, GError **errp);
/* Queue command-line options for net_init_clients(). */
void net_option_netdev(const char *opts);
void net_option_nic(const char *opts);
void net_option_net(const char *opts);
/* Without any network option: QEMU's default "-net nic -net user"
 * (call before net_init_clients unless -nodefaults); true if added. */
bool net_add_default_nic(void);
/* After -object/-chardev, before -device: create netdevs, -nic, -net. */
bool net_init_clients(GError **errp);
/* The NIC devices -nic / -net nic asked for (after the machine). */
bool net_create_nics(GError **errp);
/* QMP set_link: the link of every client named @name (and a NIC peer). */
bool net_set_link(const char *name, bool up, GError **errp);
/* After an incoming migration: announce-self with the migration
 * parameters' announce-initial/max/rounds/step (net/announce.c). */
void net_announce_after_migration(int64_t initial, int64_t max,
                                  int64_t rounds, int64_t step);
/* "info network" text. */
char *net_info_network(void);

/* Internal: each backend's init function. */
typedef bool NetInitFn(GHashTable *opts, const char *name,
                       NetClientState *peer, GError **errp);

/* A frame in a queue (net/queue.c). */
struct NetPacket {
    NetPacket *next;
    NetClientState *sender;
    NetPacketSent *sent_cb;
    size_t size;
    uint8_t data[];
};

/* Helpers shared by the backends. */
size_t net_iov_size(const struct iovec *iov, int iovcnt);
size_t net_iov_to_buf(const struct iovec *iov, int iovcnt, size_t offset,
                      void *buf, size_t len);
size_t net_iov_from_buf(const struct iovec *iov, int iovcnt, size_t offset,
                        const void *buf, size_t len);
/* Copy @len bytes from @src at @soff to @dst at @doff; returns bytes. */
size_t net_iov_copy(const struct iovec *dst, int dcnt, size_t doff,
                    const struct iovec *src, int scnt, size_t soff,
                    size_t len);
/* Take (and remove) option @key from @opts; NULL when absent. */
char *net_opt_take(GHashTable *opts, const char *key);
bool net_opt_take_bool(GHashTable *opts, const char *key, bool dflt,
                       bool *out, GError **errp);
/* The options left over are an error ("Invalid parameter 'x'"). */
bool net_opts_check_empty(GHashTable *opts, GError **errp);

/* Hubs (net/hub.c): -net TYPE puts a backend on hub 0. */
NetClientState *net_hub_add_port(int hub_id, const char *name,
                                 NetClientState *peer);
bool net_hub_port_init(GHashTable *opts, const char *name,
                       NetClientState *peer, GError **errp);
void net_hub_flush(NetClientState *port);
int net_hub_id_of(NetClientState *port);

/* Backends (net/socket.c, net/stream.c, net/tap.c, net/slirp.c). */
/* HMP hostfwd_add / hostfwd_remove (net/slirp.c; false without slirp). */
bool net_slirp_hostfwd_add(const char *id, const char *rule, GError **errp);
bool net_slirp_hostfwd_remove(const char *id, const char *rule,
                              GError **errp);

NetInitFn net_init_socket, net_init_stream, net_init_dgram, net_init_tap,
          net_init_bridge, net_init_user;

#endif
