/*
 * virtio-net-pci: the virtio network device (alias virtio-net).
 *
 * Spec: OASIS VIRTIO 1.2, 5.1 "Network Device": device ID 1; queues
 * receiveq1, transmitq1, ..., receiveqN, transmitqN, controlq (at 2N,
 * N = 1 unless VIRTIO_NET_F_MQ was negotiated); 5.1.3 feature bits;
 * 5.1.4 configuration (mac, status, max_virtqueue_pairs, mtu, speed,
 * duplex); 5.1.6 "Device Operation": the virtio_net_hdr (5.1.6.1),
 * transmit (5.1.6.2), receive with VIRTIO_NET_F_MRG_RXBUF num_buffers
 * (5.1.6.3, 5.1.6.4), the control virtqueue (5.1.6.5: rx mode, MAC
 * table, VLAN filter, announce, multiqueue, guest offloads).
 *
 * Identity as QEMU's: transitional 1af4:1000 (subsystem 1af4:0001),
 * modern 1af4:1041, class 0x0200, option ROM efi-virtio.rom from
 * Debian's ipxe-qemu through the ROM BAR (romfile=, rombar=), bootindex.
 *
 * Backends with vnet headers (tap vnet_hdr=on) get the guest's header
 * as it is and the checksum/TSO/UFO offloads are offered; with any other
 * backend the header is stripped on transmit, a zero one is written on
 * receive, and the offloads are not offered (QEMU's behaviour).
 *
 * Transmit sends the guest's buffers as iovecs (no copy unless the
 * backend has to queue the frame); when the backend cannot take a frame
 * the queue stops until the core's completion callback.  Receive without
 * buffers makes the core hold the frame (bounded) and the backend stop;
 * posting buffers (a kick on a receive queue) flushes them.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/nvram/fw_cfg.h"
#include "net/net.h"
#include "qapi/qapi-events.h"
#include "system/bh.h"
#include "system/runstate.h"

#define TYPE_VIRTIO_NET_PCI     "virtio-net-pci"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM               0
#define VIRTIO_NET_F_GUEST_CSUM         1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU                3
#define VIRTIO_NET_F_MAC                5
#define VIRTIO_NET_F_GSO                6
#define VIRTIO_NET_F_GUEST_TSO4         7
#define VIRTIO_NET_F_GUEST_TSO6         8
#define VIRTIO_NET_F_GUEST_ECN          9
#define VIRTIO_NET_F_GUEST_UFO          10
#define VIRTIO_NET_F_HOST_TSO4          11
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13
#define VIRTIO_NET_F_HOST_UFO           14
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16
#define VIRTIO_NET_F_CTRL_VQ            17
#define VIRTIO_NET_F_CTRL_RX            18
#define VIRTIO_NET_F_CTRL_VLAN          19
#define VIRTIO_NET_F_CTRL_RX_EXTRA      20
#define VIRTIO_NET_F_GUEST_ANNOUNCE     21
#define VIRTIO_NET_F_MQ                 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR      23
#define VIRTIO_NET_F_SPEED_DUPLEX       63

/* Configuration layout (5.1.4). */
#define VIRTIO_NET_CFG_MAC              0
#define VIRTIO_NET_CFG_STATUS           6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS     8
#define VIRTIO_NET_CFG_MTU              10
#define VIRTIO_NET_CFG_SPEED            12
#define VIRTIO_NET_CFG_DUPLEX           16
#define VIRTIO_NET_CFG_SIZE             17      /* endof(duplex): the most */
#define VIRTIO_NET_S_LINK_UP            1
#define VIRTIO_NET_S_ANNOUNCE           2

/* Control virtqueue (5.1.6.5). */
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1
#define VIRTIO_NET_CTRL_RX              0
#define  VIRTIO_NET_CTRL_RX_PROMISC     0
#define  VIRTIO_NET_CTRL_RX_ALLMULTI    1
#define  VIRTIO_NET_CTRL_RX_ALLUNI      2
#define  VIRTIO_NET_CTRL_RX_NOMULTI     3
#define  VIRTIO_NET_CTRL_RX_NOUNI       4
#define  VIRTIO_NET_CTRL_RX_NOBCAST     5
#define VIRTIO_NET_CTRL_MAC             1
#define  VIRTIO_NET_CTRL_MAC_TABLE_SET  0
#define  VIRTIO_NET_CTRL_MAC_ADDR_SET   1
#define VIRTIO_NET_CTRL_VLAN            2
#define  VIRTIO_NET_CTRL_VLAN_ADD       0
#define  VIRTIO_NET_CTRL_VLAN_DEL       1
#define VIRTIO_NET_CTRL_ANNOUNCE        3
#define  VIRTIO_NET_CTRL_ANNOUNCE_ACK   0
#define VIRTIO_NET_CTRL_MQ              4
#define  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS  5
#define  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

/* The virtio_net_hdr (5.1.6): 10 bytes, 12 with num_buffers. */
#define VNET_HDR_LEN                    10
#define VNET_HDR_MRG_LEN                12
#define VNET_HDR_NUM_BUFFERS            10

#define MAC_TABLE_ENTRIES               64
#define MAX_VLAN                        4096
#define ETH_ALEN                        6
#define CTRL_BUF_MAX                    8192
#define TX_BURST                        256

typedef struct VirtIONet VirtIONet;

typedef struct VirtIONetQueue {
    VirtIONet *n;
    VirtQueue *rx_vq, *tx_vq;
    bool tx_waiting;            /* a frame is held by the backend */
    bool tx_scheduled;          /* tx_bh is due: notifications are off */
    bool rx_notify;             /* rx notifications on (we asked a kick) */
    BH *tx_bh;                  /* transmit runs here, after a kick */
    VirtQueueElement tx_elem;
    struct iovec tx_sg[VIRTQUEUE_MAX_SG];
} VirtIONetQueue;

struct VirtIONet {
    VirtIODevice vdev;

    /* properties */
    char *netdev;
    char *mac_str;
    bool f_csum, f_guest_csum, f_gso, f_guest_tso4, f_guest_tso6,
         f_guest_ecn, f_guest_ufo, f_host_tso4, f_host_tso6, f_host_ecn,
         f_host_ufo, f_mrg_rxbuf, f_status, f_ctrl_vq, f_ctrl_rx,
         f_ctrl_vlan, f_ctrl_rx_extra, f_ctrl_mac_addr,
         f_ctrl_guest_offloads, f_guest_announce, f_mq;
    uint16_t rx_queue_size, tx_queue_size, host_mtu;
    int32_t speed;
    char *duplex_str;
    int32_t bootindex;
    uint32_t tx_burst;

    NICConf conf;
    NICState *nic;
    uint16_t max_queue_pairs;
    uint16_t curr_queue_pairs;
    VirtIONetQueue *vqs;
    VirtQueue *ctrl_vq;
    bool has_vnet_hdr;          /* the peer carries vnet headers */
    size_t guest_hdr_len;
    size_t host_hdr_len;
    bool mergeable;
    uint64_t curr_guest_offloads;
    uint8_t duplex;
    char *boot_path;

    /* guest-visible state */
    uint8_t mac[ETH_ALEN];
    uint16_t status;
    uint8_t promisc, allmulti, alluni, nomulti, nouni, nobcast;
    struct {
        uint32_t in_use;
        uint32_t first_multi;
        uint8_t multi_overflow;
        uint8_t uni_overflow;
        uint8_t macs[MAC_TABLE_ENTRIES * ETH_ALEN];
    } mac_table;
    uint32_t vlans[MAX_VLAN >> 5];
    bool rxfilter_notify_enabled;

    VirtQueueElement rx_elem;
    VirtQueueElement ctrl_elem;
    uint8_t ctrl_buf[CTRL_BUF_MAX];
};

typedef struct VirtIONetPCI {
    VirtIOPCIProxy proxy;
    VirtIONet net;
} VirtIONetPCI;

static const uint8_t bcast_mac[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff };

static VirtIONetQueue *queue_of(VirtIONet *n, NetClientState *nc)
{
    return &n->vqs[nc->queue_index];
}

static NetClientState *nc_of(VirtIONet *n, unsigned q)
{
    return qemu_get_subqueue(n->nic, q);
}

static bool driver_ok(VirtIONet *n)
{
    return n->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK;
}

/* controlq is queue 2N, N = 1 unless MQ was negotiated (5.1.2). */
static unsigned ctrl_index(VirtIONet *n)
{
    return virtio_vdev_has_feature(&n->vdev, VIRTIO_NET_F_MQ)
           ? 2u * n->max_queue_pairs : 2u;
}

/* ---- the receive filter ------------------------------------------------ */

static void rxfilter_notify(VirtIONet *n)
{
    DeviceState *dev = n->vdev.dev;

    if (n->rxfilter_notify_enabled) {
        qapi_event_send_nic_rx_filter_changed(dev->id, dev->path);
        /* QEMU's rate limit: once until the filter is queried again. */
        n->rxfilter_notify_enabled = false;
    }
}

static bool vlan_allowed(VirtIONet *n, unsigned vid)
{
    return n->vlans[vid >> 5] & (1u << (vid & 0x1f));
}

/* Does a frame with this start (destination, ethertype, tag) pass? */
static bool receive_filter(VirtIONet *n, const uint8_t *p, size_t len)
{
    if (n->promisc) {
        return true;
    }
    if (len >= 16 && p[12] == 0x81 && p[13] == 0x00) {
        unsigned vid = ((p[14] << 8) | p[15]) & 0xfff;
        if (!vlan_allowed(n, vid)) {
            return false;
        }
    }
    if (len < ETH_ALEN) {
        return false;
    }
    if (p[0] & 1) {
        if (!memcmp(p, bcast_mac, ETH_ALEN)) {
            return !n->nobcast;
        }
        if (n->nomulti) {
            return false;
        }
        if (n->allmulti || n->mac_table.multi_overflow) {
            return true;
        }
        for (unsigned i = n->mac_table.first_multi; i < n->mac_table.in_use;
             i++) {
            if (!memcmp(p, &n->mac_table.macs[i * ETH_ALEN], ETH_ALEN)) {
                return true;
            }
        }
        return false;
    }
    if (n->nouni) {
        return false;
    }
    if (n->alluni || n->mac_table.uni_overflow ||
        !memcmp(p, n->mac, ETH_ALEN)) {
        return true;
    }
    for (unsigned i = 0; i < n->mac_table.first_multi; i++) {
        if (!memcmp(p, &n->mac_table.macs[i * ETH_ALEN], ETH_ALEN)) {
            return true;
        }
    }
    return false;
}

/* ---- receive -------------------------------------------------------------- */

static bool net_can_receive(NetClientState *nc)
{
    VirtIONet *n = qemu_get_nic_opaque(nc);
    VirtIONetQueue *q = queue_of(n, nc);

    if (!driver_ok(n) || n->vdev.broken ||
        nc->queue_index >= n->curr_queue_pairs) {
        return false;
    }
    return q->rx_vq->enabled && virtio_queue_ready(q->rx_vq);
}

/*
 * Any receive buffer?  If not, ask for a kick when one comes.  While
 * there are buffers the guest need not kick (frames arrive through the
 * backend's fd watch, not a kick): notifications are turned off again,
 * which saves the guest an exit per refill.
 */
static bool rx_has_buffers(VirtIONetQueue *q)
{
    if (!virtio_queue_empty(q->rx_vq)) {
        if (q->rx_notify) {
            q->rx_notify = false;
            virtio_queue_set_notification(q->rx_vq, false);
        }
        return true;
    }
    q->rx_notify = true;
    virtio_queue_set_notification(q->rx_vq, true);
    /* A buffer posted between the check and the request counts. */
    if (!virtio_queue_empty(q->rx_vq)) {
        return true;
    }
    return false;
}

/* Where the 2-byte num_buffers of the first buffer lives in host memory. */
typedef struct NumBuffersPtr {
    uint8_t *lo, *hi;
} NumBuffersPtr;

static void locate_num_buffers(VirtQueueElement *e, NumBuffersPtr *p)
{
    struct iovec *in = virtqueue_elem_in(e);
    size_t off = VNET_HDR_NUM_BUFFERS;
    uint8_t **slot = &p->lo;

    p->lo = p->hi = NULL;
    for (unsigned i = 0; i < e->in_num && slot; i++) {
        while (off < in[i].iov_len && slot) {
            *slot = (uint8_t *)in[i].iov_base + off;
            slot = slot == &p->lo ? &p->hi : NULL;
            off++;
        }
        off -= MIN(off, in[i].iov_len);
    }
}

static ssize_t net_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    VirtIONet *n = qemu_get_nic_opaque(nc);
    VirtIONetQueue *q = queue_of(n, nc);
    VirtQueue *vq = q->rx_vq;
    VirtQueueElement *e = &n->rx_elem;
    size_t size = net_iov_size(iov, iovcnt);
    size_t offset, guest_hdr = n->guest_hdr_len, host_hdr = n->host_hdr_len;
    uint8_t head[16] = { 0 };
    unsigned count = 0, ndescs = 0, avail_before;
    NumBuffersPtr nb = { 0 };

    if (!net_can_receive(nc)) {
        return 0;
    }
    if (size < host_hdr) {
        return size;
    }
    if (!rx_has_buffers(q)) {
        return 0;
    }
    net_iov_to_buf(iov, iovcnt, host_hdr, head, sizeof(head));
    if (!receive_filter(n, head, size - host_hdr)) {
        return size;
    }
    avail_before = vq->inuse;
    offset = host_hdr;
    while (offset < size || count == 0) {
        size_t total = 0, room, copied;

        if (!virtqueue_pop(vq, e)) {
            if (n->vdev.broken) {
                return size;
            }
            /* Out of buffers mid-frame: give the batch back and wait,
             * unless even a ring full of buffers cannot hold it. */
            virtqueue_rewind_batch(vq, count, ndescs);
            q->rx_notify = true;
            virtio_queue_set_notification(vq, true);
            if (count + avail_before >= vq->num) {
                return size;
            }
            return 0;
        }
        room = virtqueue_elem_in_size(e);
        if (room == 0 || (count == 0 && room < guest_hdr)) {
            virtqueue_rewind_batch(vq, count, ndescs);
            virtqueue_unpop(vq, e);
            virtio_error(&n->vdev, "virtio-net receive queue contains no "
                         "in buffers large enough for the header");
            return size;
        }
        if (count == 0) {
            /* The header: the backend's own, or a zero one. */
            uint8_t hdr[VNET_HDR_MRG_LEN] = { 0 };
            if (host_hdr) {
                net_iov_to_buf(iov, iovcnt, 0, hdr, MIN(host_hdr, guest_hdr));
            }
            virtqueue_elem_from_buf(e, 0, hdr, guest_hdr);
            total = guest_hdr;
            if (n->mergeable) {
                locate_num_buffers(e, &nb);
            }
        }
        /* Frame bytes straight into the guest's buffers. */
        copied = net_iov_copy(virtqueue_elem_in(e), e->in_num, total,
                              iov, iovcnt, offset, size - offset);
        offset += copied;
        total += copied;
        if (!n->mergeable && offset < size) {
            /* QEMU drops a frame a single buffer cannot hold. */
            virtqueue_unpop(vq, e);
            virtqueue_rewind_batch(vq, count, ndescs);
            return size;
        }
        virtqueue_fill(vq, e, total, count);
        ndescs += e->ndescs;
        count++;
        if (!n->mergeable) {
            break;
        }
    }
    if (n->mergeable && nb.lo) {
        *nb.lo = count & 0xff;
        if (nb.hi) {
            *nb.hi = count >> 8;
        }
    }
    virtqueue_flush(vq, count);
    virtio_notify(&n->vdev, vq);
    return size;
}

static void handle_rx(VirtIONet *n, unsigned pair)
{
    qemu_flush_queued_packets(nc_of(n, pair));
}

/* ---- transmit --------------------------------------------------------------- */

/*
 * Transmit is driven by a bottom half.  A kick turns the queue's
 * notifications off and schedules it; the bottom half sends what the
 * guest queued, at most tx_burst frames.  When it sent anything it runs
 * again on the next main-loop pass (other sources get their turn) with
 * notifications still off, so a guest that keeps the ring busy does not
 * exit to kick it; a pass that finds the ring empty turns notifications
 * back on and checks the ring once more (a frame queued in between would
 * otherwise wait for a kick that never comes).  While the backend holds
 * a frame (tx_waiting) the queue waits for tx_complete, notifications
 * off.
 */
static unsigned flush_tx(VirtIONetQueue *q);

static void tx_schedule(VirtIONetQueue *q)
{
    if (!q->tx_scheduled) {
        q->tx_scheduled = true;
        virtio_queue_set_notification(q->tx_vq, false);
        bh_schedule(q->tx_bh);
    }
}

static void tx_bh_run(void *opaque)
{
    VirtIONetQueue *q = opaque;
    VirtIONet *n = q->n;

    q->tx_scheduled = false;
    if (!driver_ok(n) || n->vdev.broken || !q->tx_vq->enabled) {
        /* reset, broken or not set up: leave no notification off */
        virtio_queue_set_notification(q->tx_vq, true);
        return;
    }
    if (!runstate_is_running()) {
        /* Stopped VMs send nothing (docs/virtio.md): the core kicks the
         * queue again when the VM runs. */
        __atomic_store_n(&q->tx_vq->kick_deferred, true, __ATOMIC_SEQ_CST);
        return;
    }
    if (flush_tx(q) > 0 && !q->tx_waiting) {
        tx_schedule(q);
        return;
    }
    if (q->tx_waiting) {
        return;         /* tx_complete goes on */
    }
    virtio_queue_set_notification(q->tx_vq, true);
    if (!virtio_queue_empty(q->tx_vq)) {
        tx_schedule(q);
    }
}

static void tx_complete(NetClientState *nc, ssize_t len)
{
    VirtIONet *n = qemu_get_nic_opaque(nc);
    VirtIONetQueue *q = queue_of(n, nc);

    if (!q->tx_waiting) {
        return;         /* the device was reset meanwhile */
    }
    q->tx_waiting = false;
    virtqueue_push(q->tx_vq, &q->tx_elem, 0);
    virtio_notify(&n->vdev, q->tx_vq);
    tx_schedule(q);
}

/* Drop what the guest queued while the link is down (QEMU does). */
static void drop_tx(VirtIONetQueue *q)
{
    bool pushed = false;

    while (virtqueue_pop(q->tx_vq, &q->tx_elem)) {
        virtqueue_push(q->tx_vq, &q->tx_elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(&q->n->vdev, q->tx_vq);
    }
}

/* Send up to tx_burst frames; returns how many went. */
static unsigned flush_tx(VirtIONetQueue *q)
{
    VirtIONet *n = q->n;
    unsigned pair = q - n->vqs;
    NetClientState *nc = nc_of(n, pair);
    unsigned count = 0;

    if (!driver_ok(n) || q->tx_waiting || n->vdev.broken) {
        return 0;
    }
    if (nc->link_down) {
        drop_tx(q);
        return 0;
    }
    while (count < n->tx_burst && virtqueue_pop(q->tx_vq, &q->tx_elem)) {
        VirtQueueElement *e = &q->tx_elem;
        size_t skip = n->host_hdr_len ? 0 : n->guest_hdr_len;
        unsigned sg = 0;
        ssize_t ret;

        if (e->out_num < 1 ||
            virtqueue_elem_out_size(e) < n->guest_hdr_len) {
            virtqueue_unpop(q->tx_vq, e);
            virtio_error(&n->vdev, "virtio-net header not in first element");
            return count;
        }
        /* The frame without the header (or with it, for a vnet peer),
         * as iovecs into guest memory. */
        for (unsigned i = 0; i < e->out_num; i++) {
            struct iovec v = e->sg[i];
            if (skip >= v.iov_len) {
                skip -= v.iov_len;
                continue;
            }
            v.iov_base = (uint8_t *)v.iov_base + skip;
            v.iov_len -= skip;
            skip = 0;
            q->tx_sg[sg++] = v;
        }
        ret = qemu_sendv_packet_async(nc, q->tx_sg, sg, tx_complete);
        if (ret == 0) {
            /* Held by the core: stop until tx_complete. */
            q->tx_waiting = true;
            virtio_queue_set_notification(q->tx_vq, false);
            break;
        }
        virtqueue_push(q->tx_vq, e, 0);
        count++;
    }
    if (count) {
        virtio_notify(&n->vdev, q->tx_vq);
    }
    return count;
}

/* ---- control queue -------------------------------------------------------------- */

static uint8_t ctrl_rx(VirtIONet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
    uint8_t on;

    if (len != 1) {
        return VIRTIO_NET_ERR;
    }
    on = d[0];
    switch (cmd) {
    case VIRTIO_NET_CTRL_RX_PROMISC:
        n->promisc = on;
        break;
    case VIRTIO_NET_CTRL_RX_ALLMULTI:
        n->allmulti = on;
        break;
    case VIRTIO_NET_CTRL_RX_ALLUNI:
        n->alluni = on;
        break;
    case VIRTIO_NET_CTRL_RX_NOMULTI:
        n->nomulti = on;
        break;
    case VIRTIO_NET_CTRL_RX_NOUNI:
        n->nouni = on;
        break;
    case VIRTIO_NET_CTRL_RX_NOBCAST:
        n->nobcast = on;
        break;
    default:
        return VIRTIO_NET_ERR;
    }
    rxfilter_notify(n);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(VirtIONet *n, uint8_t cmd, const uint8_t *d,
                        size_t len)
{
    uint32_t uni, multi;
    size_t need;

    if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
        if (len != ETH_ALEN) {
            return VIRTIO_NET_ERR;
        }
        memcpy(n->mac, d, ETH_ALEN);
        qemu_format_nic_info_str(nc_of(n, 0), n->mac);
        rxfilter_notify(n);
        return VIRTIO_NET_OK;
    }
    if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET || len < 4) {
        return VIRTIO_NET_ERR;
    }
    /* Two tables: le32 entries + MACs, unicast then multicast. */
    uni = ldl_le_p(d);
    if (uni > (len - 4) / ETH_ALEN) {
        return VIRTIO_NET_ERR;
    }
    need = 4 + (size_t)uni * ETH_ALEN;
    if (len - need < 4) {
        return VIRTIO_NET_ERR;
    }
    multi = ldl_le_p(d + need);
    if (multi > (len - need - 4) / ETH_ALEN ||
        need + 4 + (size_t)multi * ETH_ALEN != len) {
        return VIRTIO_NET_ERR;
    }
    n->mac_table.in_use = 0;
    n->mac_table.first_multi = 0;
    n->mac_table.uni_overflow = n->mac_table.multi_overflow = 0;
    if (uni <= MAC_TABLE_ENTRIES) {
        memcpy(n->mac_table.macs, d + 4, uni * ETH_ALEN);
        n->mac_table.in_use = uni;
    } else {
        n->mac_table.uni_overflow = 1;
    }
    n->mac_table.first_multi = n->mac_table.in_use;
    if (n->mac_table.in_use + multi <= MAC_TABLE_ENTRIES) {
        memcpy(n->mac_table.macs + n->mac_table.in_use * ETH_ALEN,
               d + need + 4, multi * ETH_ALEN);
        n->mac_table.in_use += multi;
    } else {
        n->mac_table.multi_overflow = 1;
    }
    rxfilter_notify(n);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_vlan(VirtIONet *n, uint8_t cmd, const uint8_t *d,
                         size_t len)
{
    uint16_t vid;

    if (len != 2) {
        return VIRTIO_NET_ERR;
    }
    vid = lduw_le_p(d);
    if (vid >= MAX_VLAN) {
        return VIRTIO_NET_ERR;
    }
    if (cmd == VIRTIO_NET_CTRL_VLAN_ADD) {
        n->vlans[vid >> 5] |= 1u << (vid & 0x1f);
    } else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL) {
        n->vlans[vid >> 5] &= ~(1u << (vid & 0x1f));
    } else {
        return VIRTIO_NET_ERR;
    }
    rxfilter_notify(n);
    return VIRTIO_NET_OK;
}

static void apply_offloads(VirtIONet *n)
{
    uint64_t o = n->curr_guest_offloads;

    if (!n->has_vnet_hdr) {
        return;
    }
    for (unsigned i = 0; i < n->nic->queues; i++) {
        qemu_set_offload(nc_of(n, i)->peer,
                         !!(o & (1ULL << VIRTIO_NET_F_GUEST_CSUM)),
                         !!(o & (1ULL << VIRTIO_NET_F_GUEST_TSO4)),
                         !!(o & (1ULL << VIRTIO_NET_F_GUEST_TSO6)),
                         !!(o & (1ULL << VIRTIO_NET_F_GUEST_ECN)),
                         !!(o & (1ULL << VIRTIO_NET_F_GUEST_UFO)));
    }
}

static uint64_t supported_guest_offloads(VirtIONet *n)
{
    return n->vdev.guest_features &
           ((1ULL << VIRTIO_NET_F_GUEST_CSUM) |
            (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
            (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
            (1ULL << VIRTIO_NET_F_GUEST_ECN) |
            (1ULL << VIRTIO_NET_F_GUEST_UFO));
}

static uint8_t ctrl_offloads(VirtIONet *n, uint8_t cmd, const uint8_t *d,
                             size_t len)
{
    uint64_t o;

    if (!virtio_vdev_has_feature(&n->vdev,
                                 VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
        cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || len != 8) {
        return VIRTIO_NET_ERR;
    }
    o = ldq_le_p(d);
    if (o & ~supported_guest_offloads(n)) {
        return VIRTIO_NET_ERR;
    }
    n->curr_guest_offloads = o;
    apply_offloads(n);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(VirtIONet *n, uint8_t cmd, const uint8_t *d,
                       size_t len)
{
    uint16_t pairs;

    if (!virtio_vdev_has_feature(&n->vdev, VIRTIO_NET_F_MQ) ||
        cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2) {
        return VIRTIO_NET_ERR;
    }
    pairs = lduw_le_p(d);
    if (pairs < 1 || pairs > n->max_queue_pairs) {
        return VIRTIO_NET_ERR;
    }
    n->curr_queue_pairs = pairs;
    for (unsigned i = 0; i < pairs; i++) {
        qemu_flush_queued_packets(nc_of(n, i));
    }
    return VIRTIO_NET_OK;
}

static void handle_ctrl(VirtIONet *n)
{
    VirtQueue *vq = &n->vdev.vq[ctrl_index(n)];
    VirtQueueElement *e = &n->ctrl_elem;
    bool pushed = false;

    while (virtqueue_pop(vq, e)) {
        size_t out = virtqueue_elem_out_size(e);
        uint8_t status = VIRTIO_NET_ERR;

        if (out < 2 || virtqueue_elem_in_size(e) < 1) {
            virtqueue_unpop(vq, e);
            virtio_error(&n->vdev, "virtio-net ctrl missing headers");
            return;
        }
        if (out <= CTRL_BUF_MAX) {
            const uint8_t *d = n->ctrl_buf + 2;
            size_t len = out - 2;

            virtqueue_elem_to_buf(e, 0, n->ctrl_buf, out);
            switch (n->ctrl_buf[0]) {
            case VIRTIO_NET_CTRL_RX:
                status = ctrl_rx(n, n->ctrl_buf[1], d, len);
                break;
            case VIRTIO_NET_CTRL_MAC:
                status = ctrl_mac(n, n->ctrl_buf[1], d, len);
                break;
            case VIRTIO_NET_CTRL_VLAN:
                status = ctrl_vlan(n, n->ctrl_buf[1], d, len);
                break;
            case VIRTIO_NET_CTRL_ANNOUNCE:
                if (n->ctrl_buf[1] == VIRTIO_NET_CTRL_ANNOUNCE_ACK &&
                    (n->status & VIRTIO_NET_S_ANNOUNCE)) {
                    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
                    status = VIRTIO_NET_OK;
                }
                break;
            case VIRTIO_NET_CTRL_MQ:
                status = ctrl_mq(n, n->ctrl_buf[1], d, len);
                break;
            case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
                status = ctrl_offloads(n, n->ctrl_buf[1], d, len);
                break;
            default:
                break;
            }
        }
        virtqueue_elem_from_buf(e, 0, &status, 1);
        virtqueue_push(vq, e, 1);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(&n->vdev, vq);
    }
}

/* ---- queue dispatch ------------------------------------------------------------ */

static void net_handle_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIONet *n = (VirtIONet *)vdev;
    unsigned idx = vq->index;

    if (!driver_ok(n)) {
        return;
    }
    if (n->f_ctrl_vq && idx == ctrl_index(n)) {
        handle_ctrl(n);
        return;
    }
    if (idx / 2 >= n->max_queue_pairs) {
        return;
    }
    if (idx & 1) {
        tx_schedule(&n->vqs[idx / 2]);
    } else {
        handle_rx(n, idx / 2);
    }
}

/* ---- virtio device hooks -------------------------------------------------------- */

static uint64_t net_host_features(VirtIONet *n)
{
    uint64_t f = 0;

#define F(cond, bit) do { if (cond) { f |= 1ULL << (bit); } } while (0)
    F(true, VIRTIO_NET_F_MAC);
    F(n->f_csum, VIRTIO_NET_F_CSUM);
    F(n->f_guest_csum, VIRTIO_NET_F_GUEST_CSUM);
    F(n->f_gso && n->f_csum, VIRTIO_NET_F_GSO);
    F(n->f_guest_tso4, VIRTIO_NET_F_GUEST_TSO4);
    F(n->f_guest_tso6, VIRTIO_NET_F_GUEST_TSO6);
    F(n->f_guest_ecn, VIRTIO_NET_F_GUEST_ECN);
    F(n->f_guest_ufo, VIRTIO_NET_F_GUEST_UFO);
    F(n->f_host_tso4, VIRTIO_NET_F_HOST_TSO4);
    F(n->f_host_tso6, VIRTIO_NET_F_HOST_TSO6);
    F(n->f_host_ecn, VIRTIO_NET_F_HOST_ECN);
    F(n->f_host_ufo, VIRTIO_NET_F_HOST_UFO);
    F(n->f_mrg_rxbuf, VIRTIO_NET_F_MRG_RXBUF);
    F(n->f_status, VIRTIO_NET_F_STATUS);
    F(n->f_ctrl_vq, VIRTIO_NET_F_CTRL_VQ);
    F(n->f_ctrl_vq && n->f_ctrl_rx, VIRTIO_NET_F_CTRL_RX);
    F(n->f_ctrl_vq && n->f_ctrl_vlan, VIRTIO_NET_F_CTRL_VLAN);
    F(n->f_ctrl_vq && n->f_ctrl_rx_extra, VIRTIO_NET_F_CTRL_RX_EXTRA);
    F(n->f_ctrl_vq && n->f_ctrl_mac_addr, VIRTIO_NET_F_CTRL_MAC_ADDR);
    F(n->f_ctrl_vq && n->f_ctrl_guest_offloads,
      VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
    F(n->f_ctrl_vq && n->f_guest_announce, VIRTIO_NET_F_GUEST_ANNOUNCE);
    /* As QEMU 7.2: mq=on offers MQ even with one pair, and speed/duplex
     * are offered only when the user gave one of them. */
    F(n->f_ctrl_vq && n->f_mq, VIRTIO_NET_F_MQ);
    F(n->host_mtu, VIRTIO_NET_F_MTU);
    F(n->speed != -1 || (n->duplex_str && *n->duplex_str),
      VIRTIO_NET_F_SPEED_DUPLEX);
#undef F
    if (!n->has_vnet_hdr) {
        /* Without headers at the backend no offload can be honoured. */
        f &= ~((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GSO) |
               (1ULL << VIRTIO_NET_F_HOST_TSO4) |
               (1ULL << VIRTIO_NET_F_HOST_TSO6) |
               (1ULL << VIRTIO_NET_F_HOST_ECN) |
               (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
               (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
               (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
               (1ULL << VIRTIO_NET_F_GUEST_ECN) |
               (1ULL << VIRTIO_NET_F_HOST_UFO) |
               (1ULL << VIRTIO_NET_F_GUEST_UFO));
    }
    if (!n->has_vnet_hdr || !qemu_has_ufo(nc_of(n, 0)->peer)) {
        f &= ~((1ULL << VIRTIO_NET_F_HOST_UFO) |
               (1ULL << VIRTIO_NET_F_GUEST_UFO));
    }
    return f;
}

/* What follows from the negotiated features (also after a load). */
static void net_apply_features(VirtIONet *n, uint64_t features)
{
    n->mergeable = virtio_has_feature(features, VIRTIO_NET_F_MRG_RXBUF);
    n->guest_hdr_len = n->mergeable ||
                       virtio_has_feature(features, VIRTIO_F_VERSION_1)
                       ? VNET_HDR_MRG_LEN : VNET_HDR_LEN;
    if (n->has_vnet_hdr) {
        for (unsigned i = 0; i < n->nic->queues; i++) {
            qemu_set_vnet_hdr_len(nc_of(n, i)->peer, n->guest_hdr_len);
        }
        n->host_hdr_len = n->guest_hdr_len;
    }
}

static void net_set_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIONet *n = (VirtIONet *)vdev;

    net_apply_features(n, features);
    n->curr_guest_offloads = features & supported_guest_offloads(n);
    apply_offloads(n);
    if (virtio_has_feature(features, VIRTIO_NET_F_CTRL_VLAN)) {
        memset(n->vlans, 0, sizeof(n->vlans));
    } else {
        memset(n->vlans, 0xff, sizeof(n->vlans));
    }
}

static bool net_validate_features(VirtIODevice *vdev)
{
    return true;
}

/* QEMU's layout (and so its legacy BAR size): the configuration ends
 * with the last field a feature offered; mac is always there. */
static size_t net_config_len(uint64_t features)
{
    static const struct { unsigned bit; size_t end; } field_ends[] = {
        { VIRTIO_NET_F_SPEED_DUPLEX, VIRTIO_NET_CFG_DUPLEX + 1 },
        { VIRTIO_NET_F_MTU, VIRTIO_NET_CFG_MTU + 2 },
        { VIRTIO_NET_F_MQ, VIRTIO_NET_CFG_MAX_VQ_PAIRS + 2 },
        { VIRTIO_NET_F_STATUS, VIRTIO_NET_CFG_STATUS + 2 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(field_ends); i++) {
        if (features & (1ULL << field_ends[i].bit)) {
            return field_ends[i].end;
        }
    }
    return VIRTIO_NET_CFG_MAC + ETH_ALEN;
}

static void net_get_config(VirtIODevice *vdev, uint8_t *c)
{
    VirtIONet *n = (VirtIONet *)vdev;

    memcpy(c + VIRTIO_NET_CFG_MAC, n->mac, ETH_ALEN);
    stw_le_p(c + VIRTIO_NET_CFG_STATUS, n->status);
    stw_le_p(c + VIRTIO_NET_CFG_MAX_VQ_PAIRS, n->max_queue_pairs);
    stw_le_p(c + VIRTIO_NET_CFG_MTU, n->host_mtu);
    stl_le_p(c + VIRTIO_NET_CFG_SPEED, (uint32_t)n->speed);
    c[VIRTIO_NET_CFG_DUPLEX] = n->duplex;
}

static void net_set_config(VirtIODevice *vdev, const uint8_t *c)
{
    VirtIONet *n = (VirtIONet *)vdev;

    /* Legacy drivers without CTRL_MAC_ADDR set the MAC here (QEMU). */
    if (!virtio_vdev_has_feature(vdev, VIRTIO_NET_F_CTRL_MAC_ADDR) &&
        !virtio_vdev_has_feature(vdev, VIRTIO_F_VERSION_1) &&
        memcmp(c, n->mac, ETH_ALEN)) {
        memcpy(n->mac, c, ETH_ALEN);
        qemu_format_nic_info_str(nc_of(n, 0), n->mac);
    }
}

static void net_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIONet *n = (VirtIONet *)vdev;

    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        /* Buffers posted before DRIVER_OK; frames held meanwhile. */
        for (unsigned i = 0; i < n->curr_queue_pairs; i++) {
            qemu_flush_queued_packets(nc_of(n, i));
            tx_schedule(&n->vqs[i]);
        }
    }
}

static void net_reset(VirtIODevice *vdev)
{
    VirtIONet *n = (VirtIONet *)vdev;

    for (unsigned i = 0; i < n->max_queue_pairs; i++) {
        VirtIONetQueue *q = &n->vqs[i];

        q->tx_waiting = false;
        /* A due tx_bh finds the device reset and does nothing. */
        q->tx_scheduled = false;
        q->rx_notify = true;    /* a new ring starts with them on */
        qemu_purge_queued_packets(nc_of(n, i));
    }
    /* QEMU's reset state: promiscuous (for old drivers), no tables. */
    n->promisc = 1;
    n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = 0;
    memset(&n->mac_table, 0, sizeof(n->mac_table));
    memcpy(n->mac, n->conf.macaddr.a, ETH_ALEN);
    qemu_format_nic_info_str(nc_of(n, 0), n->mac);
    memset(n->vlans, 0, sizeof(n->vlans));
    n->curr_queue_pairs = 1;
    n->status &= ~VIRTIO_NET_S_ANNOUNCE;
    n->mergeable = false;
    n->guest_hdr_len = VNET_HDR_LEN;
    n->host_hdr_len = 0;
    n->curr_guest_offloads = 0;
    if (n->has_vnet_hdr) {
        for (unsigned i = 0; i < n->nic->queues; i++) {
            qemu_set_vnet_hdr_len(nc_of(n, i)->peer, VNET_HDR_LEN);
        }
        n->host_hdr_len = VNET_HDR_LEN;
    }
}

/* ---- NIC callbacks -------------------------------------------------------------- */

static void net_link_status_changed(NetClientState *nc)
{
    VirtIONet *n = qemu_get_nic_opaque(nc);
    uint16_t old = n->status;

    if (nc->link_down) {
        n->status &= ~VIRTIO_NET_S_LINK_UP;
    } else {
        n->status |= VIRTIO_NET_S_LINK_UP;
    }
    if (n->status != old && n->f_status) {
        virtio_notify_config(&n->vdev);
    }
}

/* announce-self: the driver sends the announcements (5.1.6.5.4). */
static bool net_announce(NetClientState *nc)
{
    VirtIONet *n = qemu_get_nic_opaque(nc);

    if (!virtio_vdev_has_feature(&n->vdev, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
        !virtio_vdev_has_feature(&n->vdev, VIRTIO_NET_F_CTRL_VQ)) {
        return false;
    }
    n->status |= VIRTIO_NET_S_ANNOUNCE;
    virtio_notify_config(&n->vdev);
    return true;
}

static strList *mac_list(const uint8_t *macs, unsigned from, unsigned to)
{
    strList *head = NULL, **tail = &head;

    for (unsigned i = from; i < to; i++) {
        strList *e = g_new0(strList, 1);
        e->value = qemu_mac_strdup_printf(macs + i * ETH_ALEN);
        *tail = e;
        tail = &e->next;
    }
    return head;
}

static RxFilterInfo *net_query_rx_filter(NetClientState *nc)
{
    VirtIONet *n = qemu_get_nic_opaque(nc);
    RxFilterInfo *info = g_new0(RxFilterInfo, 1);
    intList **vt = &info->vlan_table;

    info->name = g_strdup(nc->name);
    info->promiscuous = n->promisc;
    info->unicast = n->nouni ? RX_STATE_NONE
                    : n->alluni ? RX_STATE_ALL : RX_STATE_NORMAL;
    info->unicast_overflow = n->mac_table.uni_overflow;
    info->multicast = n->nomulti ? RX_STATE_NONE
                      : n->allmulti ? RX_STATE_ALL : RX_STATE_NORMAL;
    info->multicast_overflow = n->mac_table.multi_overflow;
    info->broadcast_allowed = !n->nobcast;
    info->main_mac = qemu_mac_strdup_printf(n->mac);
    info->unicast_table = mac_list(n->mac_table.macs, 0,
                                   n->mac_table.first_multi);
    info->multicast_table = mac_list(n->mac_table.macs,
                                     n->mac_table.first_multi,
                                     n->mac_table.in_use);
    if (virtio_vdev_has_feature(&n->vdev, VIRTIO_NET_F_CTRL_VLAN)) {
        info->vlan = RX_STATE_NORMAL;
        for (unsigned v = 0; v < MAX_VLAN; v++) {
            if (vlan_allowed(n, v)) {
                intList *e = g_new0(intList, 1);
                e->value = v;
                *vt = e;
                vt = &e->next;
            }
        }
    } else {
        info->vlan = RX_STATE_ALL;
    }
    /* Events again after the next change (QEMU). */
    n->rxfilter_notify_enabled = true;
    return info;
}

static const NetClientInfo net_virtio_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NetClientState),
    .can_receive = net_can_receive,
    .receive_iov = net_receive_iov,
    .link_status_changed = net_link_status_changed,
    .query_rx_filter = net_query_rx_filter,
    .announce = net_announce,
};

/* ---- realize ---------------------------------------------------------------------- */

static bool net_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIONet *n = (VirtIONet *)vdev;
    VirtIONetPCI *d = container_of(n, VirtIONetPCI, net);
    DeviceState *dev = vdev->dev;

    if (!net_nic_conf_resolve(&n->conf, n->netdev, n->mac_str, errp)) {
        return false;
    }
    if (n->rx_queue_size < 256 || n->rx_queue_size > VIRTQUEUE_MAX_SIZE ||
        (n->rx_queue_size & (n->rx_queue_size - 1))) {
        error_setg(errp, "Invalid rx_queue_size (= %u), must be a power of 2 "
                   "between 256 and %d", n->rx_queue_size,
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (n->tx_queue_size < 256 || n->tx_queue_size > VIRTQUEUE_MAX_SIZE ||
        (n->tx_queue_size & (n->tx_queue_size - 1))) {
        error_setg(errp, "Invalid tx_queue_size (= %u), must be a power of 2 "
                   "between 256 and %d", n->tx_queue_size,
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (n->tx_burst == 0) {
        n->tx_burst = TX_BURST;
    }
    n->max_queue_pairs = MAX(n->conf.queues, 1);
    if (2 * n->max_queue_pairs + 1 > VIRTIO_QUEUE_MAX) {
        error_setg(errp, "Invalid number of queue pairs (= %u). Must be a "
                   "positive integer less than %d.", n->max_queue_pairs,
                   (VIRTIO_QUEUE_MAX - 1) / 2);
        return false;
    }
    if (!n->duplex_str || !strcmp(n->duplex_str, "")) {
        n->duplex = 0xff;       /* DUPLEX_UNKNOWN */
    } else if (!strcmp(n->duplex_str, "half")) {
        n->duplex = 0;
    } else if (!strcmp(n->duplex_str, "full")) {
        n->duplex = 1;
    } else {
        error_setg(errp, "'duplex' must be 'half' or 'full'");
        return false;
    }
    if (n->speed < -1) {
        error_setg(errp, "'speed' must be between 0 and INT_MAX");
        return false;
    }
    n->vqs = g_new0(VirtIONetQueue, n->max_queue_pairs);
    for (unsigned i = 0; i < n->max_queue_pairs; i++) {
        n->vqs[i].n = n;
        n->vqs[i].tx_bh = bh_new(NULL, tx_bh_run, &n->vqs[i]);
        n->vqs[i].rx_notify = true;
        n->vqs[i].rx_vq = virtio_add_queue(vdev, n->rx_queue_size,
                                           net_handle_queue);
        n->vqs[i].tx_vq = virtio_add_queue(vdev, n->tx_queue_size,
                                           net_handle_queue);
    }
    if (n->f_ctrl_vq) {
        n->ctrl_vq = virtio_add_queue(vdev, 64, net_handle_queue);
    }
    n->nic = qemu_new_nic(&net_virtio_info, &n->conf, dev->type->name,
                          dev->id, n);
    memcpy(n->mac, n->conf.macaddr.a, ETH_ALEN);
    qemu_format_nic_info_str(nc_of(n, 0), n->mac);
    n->has_vnet_hdr = n->conf.peers[0] != NULL;
    for (unsigned i = 0; i < n->nic->queues; i++) {
        if (!qemu_has_vnet_hdr(n->conf.peers[i])) {
            n->has_vnet_hdr = false;
        }
    }
    n->status = VIRTIO_NET_S_LINK_UP;
    n->promisc = 1;
    n->curr_queue_pairs = 1;
    n->guest_hdr_len = VNET_HDR_LEN;
    n->host_hdr_len = n->has_vnet_hdr ? VNET_HDR_LEN : 0;
    n->rxfilter_notify_enabled = true;
    vdev->host_features |= net_host_features(n);
    vdev->config_len = net_config_len(vdev->host_features);
    if (d->proxy.nvectors == VIRTIO_PCI_NVECTORS_UNSPECIFIED) {
        /* QEMU: a vector per queue plus config and control. */
        d->proxy.nvectors = 2 * n->max_queue_pairs + 2;
    }
    if (n->bootindex >= 0) {
        int devfn = d->proxy.pci.devfn;
        n->boot_path = PCI_FUNC(devfn)
            ? g_strdup_printf("/pci@i0cf8/ethernet@%x,%x/ethernet-phy@0",
                              PCI_SLOT(devfn), PCI_FUNC(devfn))
            : g_strdup_printf("/pci@i0cf8/ethernet@%x/ethernet-phy@0",
                              PCI_SLOT(devfn));
        fw_boot_order_add(n->bootindex, n->boot_path);
    }
    return true;
}

static void net_unrealize(VirtIODevice *vdev)
{
    VirtIONet *n = (VirtIONet *)vdev;

    if (!n->vqs) {
        return;
    }
    for (unsigned i = 0; i < n->max_queue_pairs; i++) {
        bh_free(n->vqs[i].tx_bh);
        n->vqs[i].tx_bh = NULL;
    }
    if (n->boot_path) {
        fw_boot_order_remove(n->boot_path);
        g_free(n->boot_path);
        n->boot_path = NULL;
    }
    if (n->nic) {
        qemu_del_nic(n->nic);
        n->nic = NULL;
    }
    g_free(n->vqs);
    n->vqs = NULL;
}

static int net_post_load(void *opaque, int version_id)
{
    VirtIONetPCI *d = opaque;
    VirtIONet *n = &d->net;

    if (!virtio_core_post_load(&n->vdev)) {
        return -1;
    }
    if (n->curr_queue_pairs < 1 || n->curr_queue_pairs > n->max_queue_pairs ||
        n->mac_table.in_use > MAC_TABLE_ENTRIES ||
        n->mac_table.first_multi > n->mac_table.in_use) {
        return -1;
    }
    net_apply_features(n, n->vdev.guest_features);
    apply_offloads(n);
    qemu_format_nic_info_str(nc_of(n, 0), n->mac);
    /* The link follows the backend, not the saved bit (QEMU). */
    net_link_status_changed(nc_of(n, 0));
    virtio_pci_post_load(&d->proxy);
    /* The source may have left a transmit queue's notifications off
     * (VRING_USED_F_NO_NOTIFY is in guest memory): one pass when the VM
     * runs turns them back on, or sends what waits. */
    for (unsigned i = 0; i < n->curr_queue_pairs; i++) {
        __atomic_store_n(&n->vqs[i].tx_vq->kick_deferred, true,
                         __ATOMIC_SEQ_CST);
        n->vqs[i].rx_notify = true;     /* unknown: as if on */
    }
    return 0;
}

static const VMStateDescription vmstate_virtio_net = {
    .name = "virtio-net",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = net_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(net.vdev, VirtIONetPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_UINT8_ARRAY(net.mac, VirtIONetPCI, ETH_ALEN),
        VMSTATE_UINT16(net.status, VirtIONetPCI),
        VMSTATE_UINT8(net.promisc, VirtIONetPCI),
        VMSTATE_UINT8(net.allmulti, VirtIONetPCI),
        VMSTATE_UINT8(net.alluni, VirtIONetPCI),
        VMSTATE_UINT8(net.nomulti, VirtIONetPCI),
        VMSTATE_UINT8(net.nouni, VirtIONetPCI),
        VMSTATE_UINT8(net.nobcast, VirtIONetPCI),
        VMSTATE_UINT32(net.mac_table.in_use, VirtIONetPCI),
        VMSTATE_UINT32(net.mac_table.first_multi, VirtIONetPCI),
        VMSTATE_UINT8(net.mac_table.multi_overflow, VirtIONetPCI),
        VMSTATE_UINT8(net.mac_table.uni_overflow, VirtIONetPCI),
        VMSTATE_UINT8_ARRAY(net.mac_table.macs, VirtIONetPCI,
                            MAC_TABLE_ENTRIES * ETH_ALEN),
        VMSTATE_UINT32_ARRAY(net.vlans, VirtIONetPCI, MAX_VLAN >> 5),
        VMSTATE_UINT16(net.curr_queue_pairs, VirtIONetPCI),
        VMSTATE_UINT64(net.curr_guest_offloads, VirtIONetPCI),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass net_vdc = {
    .device_id = VIRTIO_ID_NET,
    .legacy_pci_device_id = 0x1000,
    .pci_class_id = PCI_CLASS_NETWORK_ETHERNET,
    .config_size = VIRTIO_NET_CFG_SIZE,
    .validate_features = net_validate_features,
    .set_features = net_set_features,
    .get_config = net_get_config,
    .set_config = net_set_config,
    .set_status = net_set_status,
    .reset = net_reset,
};

static const VirtioPCIClass net_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1000,
        .class_id = PCI_CLASS_NETWORK_ETHERNET,
        .interrupt_pin = 1,
        .romfile = "efi-virtio.rom",
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &net_vdc,
    .vdev_offset = offsetof(VirtIONetPCI, net),
    .realize = net_realize,
    .unrealize = net_unrealize,
};

#define NET_BIT(name, field, def, help) \
    DEFINE_PROP(name, VirtIONetPCI, net.field, PROP_BOOL, def, help)

static const Property net_pci_props[] = {
    DEFINE_PROP("netdev", VirtIONetPCI, net.netdev, PROP_STRING, NULL,
                "ID of a netdev to use as a backend"),
    DEFINE_PROP("mac", VirtIONetPCI, net.mac_str, PROP_STRING, NULL,
                "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"),
    DEFINE_PROP("bootindex", VirtIONetPCI, net.bootindex, PROP_INT32, "-1",
                "boot priority (network boot through the option ROM)"),
    NET_BIT("csum", f_csum, "on", "host checksum offload (vnet peers)"),
    NET_BIT("guest_csum", f_guest_csum, "on", "guest checksum offload"),
    NET_BIT("gso", f_gso, "on", "legacy GSO"),
    NET_BIT("guest_tso4", f_guest_tso4, "on", "guest TSOv4"),
    NET_BIT("guest_tso6", f_guest_tso6, "on", "guest TSOv6"),
    NET_BIT("guest_ecn", f_guest_ecn, "on", "guest TSO with ECN"),
    NET_BIT("guest_ufo", f_guest_ufo, "on", "guest UFO"),
    NET_BIT("host_tso4", f_host_tso4, "on", "host TSOv4"),
    NET_BIT("host_tso6", f_host_tso6, "on", "host TSOv6"),
    NET_BIT("host_ecn", f_host_ecn, "on", "host TSO with ECN"),
    NET_BIT("host_ufo", f_host_ufo, "on", "host UFO"),
    NET_BIT("mrg_rxbuf", f_mrg_rxbuf, "on", "mergeable receive buffers"),
    NET_BIT("status", f_status, "on", "link status in the configuration"),
    NET_BIT("ctrl_vq", f_ctrl_vq, "on", "control virtqueue"),
    NET_BIT("ctrl_rx", f_ctrl_rx, "on", "control rx mode"),
    NET_BIT("ctrl_vlan", f_ctrl_vlan, "on", "control VLAN filter"),
    NET_BIT("ctrl_rx_extra", f_ctrl_rx_extra, "on", "extra rx modes"),
    NET_BIT("ctrl_mac_addr", f_ctrl_mac_addr, "on", "set the MAC address"),
    NET_BIT("ctrl_guest_offloads", f_ctrl_guest_offloads, "on",
            "control guest offloads"),
    NET_BIT("guest_announce", f_guest_announce, "on", "guest announce"),
    NET_BIT("mq", f_mq, "off", "multiqueue (queues from the netdev)"),
    DEFINE_PROP("rx_queue_size", VirtIONetPCI, net.rx_queue_size,
                PROP_UINT16, "256", "receive queue size"),
    DEFINE_PROP("tx_queue_size", VirtIONetPCI, net.tx_queue_size,
                PROP_UINT16, "256", "transmit queue size"),
    DEFINE_PROP("host_mtu", VirtIONetPCI, net.host_mtu, PROP_UINT16, "0",
                "MTU advertised to the guest (0: none)"),
    DEFINE_PROP("speed", VirtIONetPCI, net.speed, PROP_INT32, "-1",
                "link speed in Mbit/s (-1: unknown)"),
    DEFINE_PROP("duplex", VirtIONetPCI, net.duplex_str, PROP_STRING, NULL,
                "half or full"),
    DEFINE_PROP("x-txburst", VirtIONetPCI, net.tx_burst, PROP_UINT32, "256",
                "frames sent per transmit run"),
    DEFINE_PROP("vectors", VirtIONetPCI, proxy.nvectors, PROP_UINT32,
                "4294967295", "MSI-X vectors (default 2 * queues + 2)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_net_pci_type = {
    .name = TYPE_VIRTIO_NET_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-net-pci",
    .instance_size = sizeof(VirtIONetPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_NETWORK,
    .props = net_pci_props,
    .vmsd = &vmstate_virtio_net,
    .class_data = &net_pci_class,
};

static void virtio_net_register(void)
{
    device_type_register(&virtio_net_pci_type);
    device_type_register_alias("virtio-net", TYPE_VIRTIO_NET_PCI);
}
type_init(virtio_net_register)
