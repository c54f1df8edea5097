/*
 * virtio-net: a virtio-net-pci driver run inside a guest at CPL 3 (OASIS
 * VIRTIO 1.2, 5.1 over the modern transport of 4.1), polled, with a tiny
 * IPv4 stack of its own, against "-netdev user" (libslirp).
 *
 *   - PCI: the first 1af4:1000 (or 1041) function, BAR4 (modern) mapped,
 *     the vendor capabilities walked; VERSION_1, MAC and STATUS; receive
 *     queue 0 and transmit queue 1 (split rings, no interrupts: MSI-X
 *     vectors NO_VECTOR, VRING_AVAIL_F_NO_INTERRUPT), the 12-byte header;
 *   - test mode: DHCP DISCOVER/OFFER/REQUEST/ACK (10.0.2.15, router
 *     10.0.2.2, DNS 10.0.2.3, the server id); ARP of 10.0.2.2
 *     (52:55:0a:00:02:02); ICMP echo to 10.0.2.2 answered byte for byte;
 *     with "dns=1" a DNS query for "localhost" through 10.0.2.3 answered
 *     (the runner passes dns=0 with its reason when the host's resolver
 *     does not answer: then SKIP); a TCP server on "tcpport=N" (default
 *     8080): it prints "virtio-net: listening on tcp port N", the runner
 *     connects through hostfwd, sends bytes and closes its side; the guest
 *     answers SYN with SYN-ACK, acknowledges and echoes every segment in
 *     order (retransmitting what is not acknowledged within 500 ms),
 *     acknowledges the FIN, sends its own and waits for its ACK.  Every
 *     received IPv4 header and UDP/TCP/ICMP checksum is verified;
 *   - bench mode ("bench=tx|rx size=N secs=N", for bench/net.py): tx keeps
 *     the transmit ring full of SIZE-byte frames (Ethernet header
 *     included, a sequence number in each) for SECS seconds, one kick per
 *     batch and only when the device asks for kicks (VRING_USED_F_NO_NOTIFY
 *     clear); rx counts the frames from the first one on for SECS seconds
 *     (TSC) and prints "virtio-net-bench: mode=rx size=N frames=N us=N
 *     mbps=N fps=N lost=N bad=N" (lost: gaps in the sequence numbers; bad:
 *     frames of another length).  With "tso=1" (bench/net.py --tap) the
 *     driver also negotiates CSUM, GUEST_CSUM, HOST_TSO4 and GUEST_TSO4
 *     and posts 64 receive buffers of 68 KiB (big packets, 5.1.6.3.1): tx
 *     sends SIZE-byte TCP/IPv4 frames (up to 64 KiB) with a GSO header
 *     (gso_size 1448, the checksum left to the device), rx counts their
 *     bytes, whole or however the host segmented them ("segments=N").
 * Buffers live at 64 MiB (the kit maps the first 4 GiB user-accessible).
 */
#include "guest.h"

#define MODERN_BAR_ADDR 0xfe100000u
#define QMAX            256
#define BUF_SIZE        2048
#define RXBUF_BASE      0x4000000ul         /* 64 MiB: QMAX buffers */
#define TXBUF_BASE      0x4100000ul         /* 65 MiB: QMAX buffers */
#define HDR_LEN         12                  /* virtio_net_hdr_v1 */


#define F_CSUM          0
#define F_GUEST_CSUM    1
#define F_GUEST_TSO4    7
#define F_HOST_TSO4     11
#define F_MAC           5
#define F_STATUS        16

/* tso=1: big packets (5.1.6.3.1: a buffer takes a whole 64 KiB frame) */
#define TSO_BUF_SIZE    (68 * 1024)
#define TSO_QMAX        64
#define TSO_TXBUF_BASE  0x4800000ul         /* 72 MiB */
#define GSO_MSS         1448

#define ETH_ARP         0x0806
#define ETH_IP          0x0800
#define ETH_BENCH       0x88b5

#define IP(a, b, c, d)  ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define GUEST_IP        IP(10, 0, 2, 15)
#define GW_IP           IP(10, 0, 2, 2)
#define DNS_IP          IP(10, 0, 2, 3)

struct vq {
    unsigned index, size;
    uintptr_t notify;
    struct vring_desc *desc;
    volatile uint16_t *avail;       /* flags, idx, ring[size], used_event */
    volatile uint32_t *used;        /* flags | idx << 16, {id, len}[size] */
    uint16_t avail_idx, used_seen;
};

static struct vring_desc rx_desc[QMAX] __attribute__((aligned(16)));
static volatile uint16_t rx_avail[2 + QMAX + 1] __attribute__((aligned(2)));
static volatile uint32_t rx_used[1 + 2 * QMAX + 1] __attribute__((aligned(4)));
static struct vring_desc tx_desc[QMAX] __attribute__((aligned(16)));
static volatile uint16_t tx_avail[2 + QMAX + 1] __attribute__((aligned(2)));
static volatile uint32_t tx_used[1 + 2 * QMAX + 1] __attribute__((aligned(4)));

static struct vq rxq = { 0, 0, 0, rx_desc, rx_avail, rx_used, 0, 0 };
static struct vq txq = { 1, 0, 0, tx_desc, tx_avail, tx_used, 0, 0 };

static unsigned devfn;
static uintptr_t common, notify_base, devcfg;
static uint32_t notify_mult;
static uint8_t my_mac[6];
static unsigned tx_free;            /* transmit descriptors not in flight */
static uint16_t tx_next;            /* next transmit descriptor to use */
static unsigned bad_csum;           /* received frames with a bad sum */
static bool tso;                    /* tso=1 (bench) */
static unsigned buf_size = BUF_SIZE, qlimit = QMAX;
static uintptr_t txbuf_base = TXBUF_BASE;

static uint8_t *rxbuf(unsigned i) { return (uint8_t *)(RXBUF_BASE + i * buf_size); }
static uint8_t *txbuf(unsigned i) { return (uint8_t *)(txbuf_base + i * buf_size); }

/* ---- byte order and checksums ---- */

static uint16_t get16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t sum_add(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        s += p[i] << 8 | p[i + 1];
    }
    if (n & 1) {
        s += p[n - 1] << 8;
    }
    return s;
}

static uint16_t sum_fold(uint32_t s)
{
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return ~s & 0xffff;
}

/* The sum of the TCP/UDP pseudo-header (RFC 793, 768). */
static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto,
                           uint16_t len)
{
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
           proto + len;
}

/* ---- PCI and the device ---- */




static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10001af4, 0x10411af4 };
    int d = pci_find_id(ids, ARRAY_SIZE(ids));

    devfn = d;
    return d >= 0;
}

static bool map_device(void)
{
    struct virtio_pci_caps c;

    virtio_pci_map(devfn, MODERN_BAR_ADDR, &c);
    common = c.common;
    notify_base = c.notify;
    notify_mult = c.notify_mult;
    devcfg = c.device;
    return common && notify_base && devcfg;
}

static bool setup_queue(struct vq *q)
{
    unsigned max;

    mmio_write16(common + C_Q_SELECT, q->index);
    max = mmio_read16(common + C_Q_SIZE);
    if (!max) {
        return false;
    }
    q->size = max < qlimit ? max : qlimit;
    mmio_write16(common + C_Q_SIZE, q->size);
    q->notify = notify_base + mmio_read16(common + C_Q_NOFF) * notify_mult;
    mmio_write64(common + C_Q_DESC, (uintptr_t)q->desc);
    mmio_write64(common + C_Q_AVAIL, (uintptr_t)q->avail);
    mmio_write64(common + C_Q_USED, (uintptr_t)q->used);
    q->avail[0] = 1;                    /* VRING_AVAIL_F_NO_INTERRUPT */
    mmio_write16(common + C_Q_MSIX, 0xffff);
    mmio_write16(common + C_Q_ENABLE, 1);
    return true;
}

static bool init_device(void)
{
    uint32_t lo;

    mmio_write8(common + C_STATUS, 0);
    mmio_write8(common + C_STATUS, 1);
    mmio_write8(common + C_STATUS, 3);
    mmio_write32(common + C_DFSELECT, 0);
    lo = mmio_read32(common + C_DF);
    if (!(lo & (1u << F_MAC))) {
        return false;
    }
    mmio_write32(common + C_GFSELECT, 0);
    mmio_write32(common + C_GF, lo & (1u << F_MAC | 1u << F_STATUS |
                                      (tso ? 1u << F_CSUM |
                                       1u << F_GUEST_CSUM |
                                       1u << F_HOST_TSO4 |
                                       1u << F_GUEST_TSO4 : 0)));
    if (tso && (~lo & (1u << F_CSUM | 1u << F_GUEST_CSUM |
                       1u << F_HOST_TSO4 | 1u << F_GUEST_TSO4))) {
        report(false, "tso=1: the device does not offer CSUM, GUEST_CSUM, "
               "HOST_TSO4 and GUEST_TSO4 (features 0x%x)", lo);
        return false;
    }
    mmio_write32(common + C_GFSELECT, 1);
    mmio_write32(common + C_GF, 1);     /* VERSION_1 */
    mmio_write8(common + C_STATUS, 0xb);
    if (!(mmio_read8(common + C_STATUS) & 8)) {
        return false;
    }
    if (!setup_queue(&rxq) || !setup_queue(&txq)) {
        return false;
    }
    for (unsigned i = 0; i < 6; i++) {
        my_mac[i] = mmio_read8(devcfg + i);
    }
    /* every receive buffer posted, descriptor i = buffer i */
    for (unsigned i = 0; i < rxq.size; i++) {
        rx_desc[i] = (struct vring_desc){ (uintptr_t)rxbuf(i), buf_size, 2,
                                          0 };
        rx_avail[2 + i] = i;
    }
    rxq.avail_idx = rxq.size;
    barrier();
    rx_avail[1] = rxq.avail_idx;
    tx_free = txq.size;
    mmio_write8(common + C_STATUS, 0xf);
    return mmio_read8(common + C_STATUS) == 0xf;
}

/* Kick q unless the device said it does not need one. */
static void kick(struct vq *q)
{
    barrier();
    if (!(q->used[0] & 1)) {            /* VRING_USED_F_NO_NOTIFY */
        mmio_write16(q->notify, q->index);
    }
}

/* ---- transmit ---- */

static void tx_reclaim(void)
{
    while ((uint16_t)(txq.used[0] >> 16) != txq.used_seen) {
        txq.used_seen++;
        tx_free++;
    }
}

/* A transmit buffer for a frame: the frame goes at +HDR_LEN.  Waits for
 * a free descriptor (1 s); NULL if none came back. */
static uint8_t *tx_frame(void)
{
    uint64_t dl = deadline_us(1000000);

    tx_reclaim();
    while (!tx_free) {
        if (expired(dl)) {
            return NULL;
        }
        cpu_relax();
        tx_reclaim();
    }
    memset(txbuf(tx_next), 0, HDR_LEN);
    return txbuf(tx_next) + HDR_LEN;
}

/* Queue the frame tx_frame() gave (len bytes) without kicking. */
static void tx_queue(unsigned len)
{
    unsigned d = tx_next;

    tx_desc[d] = (struct vring_desc){ (uintptr_t)txbuf(d), HDR_LEN + len, 0,
                                      0 };
    txq.avail[2 + txq.avail_idx % txq.size] = d;
    txq.avail_idx++;
    tx_next = (d + 1) % txq.size;
    tx_free--;
}

static void tx_publish(void)
{
    barrier();
    txq.avail[1] = txq.avail_idx;
    kick(&txq);
}

static void tx_send(unsigned len)
{
    tx_queue(len);
    tx_publish();
}

/* ---- receive ---- */

/* The next received frame (after the virtio header), or NULL. */
static uint8_t *rx_poll(unsigned *len, unsigned *id)
{
    unsigned slot;

    if ((uint16_t)(rxq.used[0] >> 16) == rxq.used_seen) {
        return NULL;
    }
    barrier();
    slot = rxq.used_seen % rxq.size;
    *id = rxq.used[1 + 2 * slot];
    *len = rxq.used[2 + 2 * slot];
    rxq.used_seen++;
    if (*id >= rxq.size || *len < HDR_LEN || *len > buf_size) {
        report_info("receive: bad used entry id %u len %u", *id, *len);
        *len = 0;
        return rxbuf(*id % rxq.size);
    }
    *len -= HDR_LEN;
    return rxbuf(*id) + HDR_LEN;
}

/* Give buffer id back; publish (and kick when asked) if publish. */
static void rx_recycle(unsigned id, bool publish)
{
    rxq.avail[2 + rxq.avail_idx % rxq.size] = id;
    rxq.avail_idx++;
    if (publish) {
        barrier();
        rxq.avail[1] = rxq.avail_idx;
        kick(&rxq);
    }
}

/* ---- Ethernet, ARP, IPv4 ---- */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint8_t gw_mac[6];
static uint32_t my_ip;
static uint16_t ip_id = 1;

static void eth_hdr(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, my_mac, 6);
    put16(f + 12, type);
}

/* An IPv4 header at f + 14 for a payload of len bytes; returns the frame
 * length. */
static unsigned ip_hdr(uint8_t *f, const uint8_t *dst_mac, uint32_t src,
                       uint32_t dst, uint8_t proto, unsigned len)
{
    uint8_t *ip = f + 14;

    eth_hdr(f, dst_mac, ETH_IP);
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, 20 + len);
    put16(ip + 4, ip_id++);
    put16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, sum_fold(sum_add(0, ip, 20)));
    return 14 + 20 + len;
}

/* Checks an IPv4 frame: header checksum, lengths, and the UDP/TCP/ICMP
 * checksum.  Returns the IP payload length, or -1 (counted in bad_csum
 * when a sum was wrong). */
static int ip_check(const uint8_t *f, unsigned len)
{
    const uint8_t *ip = f + 14;
    unsigned ihl, tot, plen;
    uint32_t s;

    if (len < 34 || get16(f + 12) != ETH_IP || (ip[0] >> 4) != 4) {
        return -1;
    }
    ihl = (ip[0] & 15) * 4;
    tot = get16(ip + 2);
    if (ihl < 20 || tot < ihl || 14 + tot > len) {
        return -1;
    }
    if (sum_fold(sum_add(0, ip, ihl))) {
        bad_csum++;
        return -1;
    }
    plen = tot - ihl;
    if (ip[9] == 1) {
        s = 0;
    } else if (ip[9] == 6 || (ip[9] == 17 && get16(ip + ihl + 6))) {
        s = pseudo_sum(get32(ip + 12), get32(ip + 16), ip[9], plen);
    } else {
        return plen;                    /* UDP without a checksum */
    }
    if (sum_fold(sum_add(s, ip + ihl, plen))) {
        bad_csum++;
        return -1;
    }
    return plen;
}

/* Answer an ARP request for my_ip; true if f was one. */
static bool arp_answer(const uint8_t *f, unsigned len)
{
    uint8_t *r;

    if (len < 42 || get16(f + 12) != ETH_ARP || get16(f + 20) != 1 ||
        !my_ip || get32(f + 38) != my_ip) {
        return false;
    }
    r = tx_frame();
    if (!r) {
        return true;
    }
    eth_hdr(r, f + 22, ETH_ARP);
    put16(r + 14, 1);
    put16(r + 16, ETH_IP);
    r[18] = 6;
    r[19] = 4;
    put16(r + 20, 2);
    memcpy(r + 22, my_mac, 6);
    put32(r + 28, my_ip);
    memcpy(r + 32, f + 22, 10);         /* the asker's MAC and IP */
    tx_send(42);
    return true;
}

/*
 * Frames until want() takes one (copied to out, length returned) or
 * timeout_us passes (0 returned).  ARP requests for us are answered on
 * the way; other frames are dropped.
 */
static uint8_t frame[BUF_SIZE];

static unsigned wait_frame(bool (*want)(const uint8_t *f, unsigned len),
                           uint64_t timeout_us)
{
    uint64_t dl = deadline_us(timeout_us);

    while (!expired(dl)) {
        unsigned len, id;
        uint8_t *f = rx_poll(&len, &id);
        bool took;

        if (!f) {
            cpu_relax();
            continue;
        }
        took = !arp_answer(f, len) && want(f, len);
        if (took) {
            memcpy(frame, f, len);
        }
        rx_recycle(id, true);
        if (took) {
            return len;
        }
    }
    return 0;
}

/* ---- UDP and DHCP (RFC 2131, 2132) ---- */

#define DHCP_XID        0x4b564e54u

static unsigned udp_frame(uint8_t *f, const uint8_t *dst_mac, uint32_t src,
                          uint32_t dst, uint16_t sport, uint16_t dport,
                          const uint8_t *data, unsigned n)
{
    uint8_t *u = f + 34;
    unsigned len = ip_hdr(f, dst_mac, src, dst, 17, 8 + n);
    uint16_t s;

    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, 8 + n);
    put16(u + 6, 0);
    memcpy(u + 8, data, n);
    s = sum_fold(sum_add(pseudo_sum(src, dst, 17, 8 + n), u, 8 + n));
    put16(u + 6, s ? s : 0xffff);
    return len;
}

static bool want_dhcp(const uint8_t *f, unsigned len)
{
    int plen = ip_check(f, len);

    return plen >= 8 + 240 && f[23] == 17 && get16(f + 36) == 68 &&
           f[42] == 2 && get32(f + 46) == DHCP_XID;
}

/* Option code's data in the DHCP message at m (len bytes), or NULL. */
static const uint8_t *dhcp_opt(const uint8_t *m, unsigned len, uint8_t code,
                               unsigned *olen)
{
    unsigned i = 240;

    while (i < len && m[i] != 255) {
        if (m[i] == 0) {
            i++;
            continue;
        }
        if (i + 2 > len || i + 2 + m[i + 1] > len) {
            return NULL;
        }
        if (m[i] == code) {
            *olen = m[i + 1];
            return m + i + 2;
        }
        i += 2 + m[i + 1];
    }
    return NULL;
}

static unsigned dhcp_build(uint8_t *m, uint8_t type, uint32_t req_ip,
                           uint32_t server)
{
    unsigned o = 240;

    memset(m, 0, 300);
    m[0] = 1;                           /* BOOTREQUEST */
    m[1] = 1;
    m[2] = 6;
    put32(m + 4, DHCP_XID);
    put16(m + 10, 0x8000);              /* broadcast */
    memcpy(m + 28, my_mac, 6);
    put32(m + 236, 0x63825363);
    m[o++] = 53; m[o++] = 1; m[o++] = type;
    if (req_ip) {
        m[o++] = 50; m[o++] = 4; put32(m + o, req_ip); o += 4;
        m[o++] = 54; m[o++] = 4; put32(m + o, server); o += 4;
    }
    m[o++] = 55; m[o++] = 3; m[o++] = 1; m[o++] = 3; m[o++] = 6;
    m[o++] = 255;
    return o < 300 ? 300 : o;
}

/* One DHCP exchange: send type, wait for the answer (retrying 3 times).
 * Returns the BOOTP message length in frame + 42, or 0. */
static unsigned dhcp_exchange(uint8_t type, uint32_t req_ip, uint32_t server)
{
    static uint8_t m[400];
    unsigned n = dhcp_build(m, type, req_ip, server), len = 0;

    for (unsigned tries = 0; tries < 3 && !len; tries++) {
        uint8_t *f = tx_frame();

        if (!f) {
            return 0;
        }
        tx_send(udp_frame(f, bcast, 0, 0xffffffffu, 68, 67, m, n));
        len = wait_frame(want_dhcp, 2000000);
    }
    return len ? get16(frame + 38) - 8 : 0;
}

static bool dhcp(void)
{
    const uint8_t *m = frame + 42, *o;
    unsigned n, olen;
    uint32_t offered, server = 0;
    bool ok;

    n = dhcp_exchange(1, 0, 0);                 /* DISCOVER */
    o = n ? dhcp_opt(m, n, 53, &olen) : NULL;
    ok = o && olen == 1 && o[0] == 2;
    report(ok, "DHCPOFFER received");
    if (!ok) {
        return false;
    }
    offered = get32(m + 16);
    o = dhcp_opt(m, n, 54, &olen);
    if (o && olen == 4) {
        server = get32(o);
    }
    report(offered == GUEST_IP, "offered 10.0.2.15 (%x)", offered);
    report(server == GW_IP, "server identifier 10.0.2.2 (%x)", server);
    n = dhcp_exchange(3, offered, server);      /* REQUEST */
    o = n ? dhcp_opt(m, n, 53, &olen) : NULL;
    ok = o && olen == 1 && o[0] == 5;
    report(ok, "DHCPACK received");
    if (!ok) {
        return false;
    }
    report(get32(m + 16) == GUEST_IP, "ACK for 10.0.2.15");
    o = dhcp_opt(m, n, 1, &olen);
    report(o && olen == 4 && get32(o) == 0xffffff00u, "netmask 255.255.255.0");
    o = dhcp_opt(m, n, 3, &olen);
    report(o && olen >= 4 && get32(o) == GW_IP, "router 10.0.2.2");
    o = dhcp_opt(m, n, 6, &olen);
    report(o && olen >= 4 && get32(o) == DNS_IP, "DNS server 10.0.2.3");
    o = dhcp_opt(m, n, 51, &olen);
    report(o && olen == 4 && get32(o) > 0, "lease time %u s",
           o && olen == 4 ? get32(o) : 0);
    my_ip = get32(m + 16);
    return true;
}

/* ---- ARP, ping, DNS ---- */

static bool want_arp_reply(const uint8_t *f, unsigned len)
{
    return len >= 42 && get16(f + 12) == ETH_ARP && get16(f + 20) == 2 &&
           get32(f + 28) == GW_IP && !memcmp(f, my_mac, 6);
}

static bool arp_gateway(void)
{
    unsigned len = 0;

    for (unsigned tries = 0; tries < 3 && !len; tries++) {
        uint8_t *r = tx_frame();

        if (!r) {
            return false;
        }
        eth_hdr(r, bcast, ETH_ARP);
        put16(r + 14, 1);
        put16(r + 16, ETH_IP);
        r[18] = 6;
        r[19] = 4;
        put16(r + 20, 1);
        memcpy(r + 22, my_mac, 6);
        put32(r + 28, my_ip);
        memset(r + 32, 0, 6);
        put32(r + 38, GW_IP);
        tx_send(42);
        len = wait_frame(want_arp_reply, 1000000);
    }
    if (!len) {
        return false;
    }
    memcpy(gw_mac, frame + 22, 6);
    return true;
}

static bool want_echo_reply(const uint8_t *f, unsigned len)
{
    int plen = ip_check(f, len);

    return plen >= 8 && f[23] == 1 && get32(f + 26) == GW_IP &&
           f[34] == 0 && get16(f + 38) == 0x4b56;
}

static bool ping_gateway(void)
{
    uint8_t data[56];
    unsigned len = 0;

    for (unsigned i = 0; i < sizeof(data); i++) {
        data[i] = i * 3 + 1;
    }
    for (unsigned seq = 1; seq <= 3 && !len; seq++) {
        uint8_t *f = tx_frame(), *icmp;

        if (!f) {
            return false;
        }
        icmp = f + 34;
        ip_hdr(f, gw_mac, my_ip, GW_IP, 1, 8 + sizeof(data));
        icmp[0] = 8;
        icmp[1] = 0;
        put16(icmp + 2, 0);
        put16(icmp + 4, 0x4b56);
        put16(icmp + 6, seq);
        memcpy(icmp + 8, data, sizeof(data));
        put16(icmp + 2, sum_fold(sum_add(0, icmp, 8 + sizeof(data))));
        tx_send(34 + 8 + sizeof(data));
        len = wait_frame(want_echo_reply, 1000000);
    }
    return len && get16(frame + 16) == 20 + 8 + sizeof(data) &&
           !memcmp(frame + 42, data, sizeof(data));
}

static bool want_dns(const uint8_t *f, unsigned len)
{
    int plen = ip_check(f, len);

    return plen >= 8 + 12 && f[23] == 17 && get32(f + 26) == DNS_IP &&
           get16(f + 34) == 53 && get16(f + 36) == 5353;
}

static void dns_query(void)
{
    static const uint8_t q[] = {
        0x4b, 0x56, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
        9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0, 0, 1, 0, 1,
    };
    unsigned len = 0;

    for (unsigned tries = 0; tries < 3 && !len; tries++) {
        uint8_t *f = tx_frame();

        if (!f) {
            break;
        }
        tx_send(udp_frame(f, gw_mac, my_ip, DNS_IP, 5353, 53, q, sizeof(q)));
        len = wait_frame(want_dns, 3000000);
    }
    report(len && get16(frame + 42) == 0x4b56 && (frame[44] & 0x80),
           "DNS query for localhost answered through 10.0.2.3 (rcode %u)",
           len ? frame[45] & 15 : 99);
}

/* ---- TCP: one connection, server side (RFC 793, 9293) ---- */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_MSS 1460
#define ECHO_MAX 65536

static struct {
    uint16_t port, peer_port;
    uint32_t peer_ip;
    uint8_t peer_mac[6];
    uint32_t iss, snd_una, snd_nxt, rcv_nxt;
    bool fin_rcvd, fin_sent, closed;
    unsigned echoed, segments;
} tcp;
static uint8_t echo_buf[ECHO_MAX];          /* byte i of the stream at i */

static void tcp_send(uint32_t seq, uint8_t flags, const uint8_t *data,
                     unsigned n)
{
    uint8_t *f = tx_frame(), *t;
    unsigned hl = flags & TCP_SYN ? 24 : 20;

    if (!f) {
        return;
    }
    t = f + 34;
    ip_hdr(f, tcp.peer_mac, my_ip, tcp.peer_ip, 6, hl + n);
    put16(t, tcp.port);
    put16(t + 2, tcp.peer_port);
    put32(t + 4, seq);
    put32(t + 8, tcp.rcv_nxt);
    t[12] = (hl / 4) << 4;
    t[13] = flags | TCP_ACK;
    put16(t + 14, 65535);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (hl == 24) {
        t[20] = 2; t[21] = 4; put16(t + 22, TCP_MSS);
    }
    memcpy(t + hl, data, n);
    put16(t + 16, sum_fold(sum_add(pseudo_sum(my_ip, tcp.peer_ip, 6, hl + n),
                                   t, hl + n)));
    tx_send(34 + hl + n);
}

/* Send (or resend) everything from snd_una: data, then our FIN. */
static void tcp_output_from(uint32_t seq)
{
    uint32_t end = tcp.iss + 1 + tcp.echoed;

    while ((int32_t)(end - seq) > 0) {
        uint32_t off = seq - (tcp.iss + 1);
        unsigned n = end - seq > TCP_MSS ? TCP_MSS : end - seq;

        tcp_send(seq, TCP_PSH, echo_buf + off, n);
        seq += n;
    }
    if (tcp.fin_rcvd) {
        tcp_send(end, TCP_FIN, NULL, 0);
        tcp.fin_sent = true;
    }
    tcp.snd_nxt = end + (tcp.fin_sent ? 1 : 0);
}

/* One segment for our port; returns false on a fatal problem (RST). */
static bool tcp_input(const uint8_t *f, unsigned len)
{
    const uint8_t *ip = f + 14, *t;
    unsigned ihl = (ip[0] & 15) * 4, hl, n;
    int plen = ip_check(f, len);
    uint32_t seq, ack;
    uint8_t flags;

    if (plen < 20 || ip[9] != 6) {
        return true;
    }
    t = ip + ihl;
    if (get16(t + 2) != tcp.port) {
        return true;
    }
    hl = (t[12] >> 4) * 4;
    if (hl < 20 || hl > (unsigned)plen) {
        return true;
    }
    n = plen - hl;
    seq = get32(t + 4);
    ack = get32(t + 8);
    flags = t[13];
    tcp.segments++;
    if (flags & TCP_RST) {
        report_info("tcp: RST from the peer");
        return false;
    }
    if (flags & TCP_SYN) {
        if (tcp.peer_port && (get16(t) != tcp.peer_port ||
                              seq + 1 != tcp.rcv_nxt)) {
            return true;                /* one connection only */
        }
        /* a new connection, or the peer's SYN again: SYN-ACK (again) */
        tcp.peer_port = get16(t);
        tcp.peer_ip = get32(ip + 12);
        memcpy(tcp.peer_mac, f + 6, 6);
        tcp.rcv_nxt = seq + 1;
        tcp.snd_una = tcp.iss;
        tcp.snd_nxt = tcp.iss + 1;
        tcp_send(tcp.iss, TCP_SYN, NULL, 0);
        return true;
    }
    if (!tcp.peer_port || get16(t) != tcp.peer_port) {
        return true;
    }
    if ((flags & TCP_ACK) && (int32_t)(ack - tcp.snd_una) > 0 &&
        (int32_t)(ack - tcp.snd_nxt) <= 0) {
        tcp.snd_una = ack;
        if (tcp.fin_sent && ack == tcp.snd_nxt) {
            tcp.closed = true;
        }
    }
    if (!n && !(flags & TCP_FIN)) {
        return true;
    }
    if (seq != tcp.rcv_nxt) {
        tcp_send(tcp.snd_nxt, 0, NULL, 0);  /* out of order: ACK again */
        return true;
    }
    if (n) {
        uint32_t off = tcp.echoed;

        if (off + n > ECHO_MAX) {
            report_info("tcp: more than %u bytes", ECHO_MAX);
            return false;
        }
        memcpy(echo_buf + off, t + hl, n);
        tcp.echoed += n;
        tcp.rcv_nxt += n;
    }
    if (flags & TCP_FIN) {
        tcp.rcv_nxt++;
        tcp.fin_rcvd = true;
    }
    /* echo the new bytes (and our FIN after the peer's) with the ACK */
    tcp_output_from(tcp.snd_nxt - (tcp.fin_sent ? 1 : 0));
    return true;
}

static void tcp_echo_server(uint16_t port)
{
    uint64_t dl = deadline_us(30000000), rto = 0;
    uint32_t last_una = 0;

    memset(&tcp, 0, sizeof(tcp));
    tcp.port = port;
    tcp.iss = 0x4b560000u + (uint32_t)(rdtsc() & 0xffff);
    printf("virtio-net: listening on tcp port %u\n", port);
    while (!tcp.closed && !expired(dl)) {
        unsigned len, id;
        uint8_t *f = rx_poll(&len, &id);

        if (f) {
            bool ok = arp_answer(f, len) || tcp_input(f, len);

            rx_recycle(id, true);
            if (!ok) {
                break;
            }
            continue;
        }
        /* retransmit what is not acknowledged after 500 ms */
        if (tcp.peer_port && tcp.snd_una != tcp.snd_nxt) {
            if (tcp.snd_una != last_una || !rto) {
                last_una = tcp.snd_una;
                rto = deadline_us(500000);
            } else if (expired(rto)) {
                report_info("tcp: retransmitting from %u",
                            tcp.snd_una - tcp.iss);
                if (tcp.snd_una == tcp.iss) {
                    tcp_send(tcp.iss, TCP_SYN, NULL, 0);
                } else {
                    tcp.fin_sent = false;
                    tcp_output_from(tcp.snd_una);
                }
                rto = 0;
            }
        }
        cpu_relax();
    }
    report(tcp.peer_port != 0, "TCP connection from %u.%u.%u.%u:%u",
           tcp.peer_ip >> 24, (tcp.peer_ip >> 16) & 255,
           (tcp.peer_ip >> 8) & 255, tcp.peer_ip & 255, tcp.peer_port);
    report(tcp.fin_rcvd, "the peer's data and FIN received (%u bytes, %u "
           "segments)", tcp.echoed, tcp.segments);
    report(tcp.closed, "everything echoed and acknowledged, our FIN too");
    /* the checksum of the bytes, for the runner to compare */
    {
        uint32_t h = 2166136261u;

        for (unsigned i = 0; i < tcp.echoed; i++) {
            h = (h ^ echo_buf[i]) * 16777619u;
        }
        printf("virtio-net: echoed %u bytes fnv1a %08x\n", tcp.echoed, h);
    }
}

/* ---- bench mode ---------------------------------------------------------- */

#define BENCH_SPORT     5001
#define BENCH_DPORT     5201
#define BENCH_SEQ_OFF   (14 + 20 + 20)     /* our number: the TCP payload's */

/*
 * tso=1: a SIZE-byte TCP/IPv4 frame for the device to segment (5.1.6.2:
 * VIRTIO_NET_HDR_F_NEEDS_CSUM, GSO_TCPV4, the checksum field holding the
 * pseudo-header sum as Linux's TSO expects it).
 */
static void tso_frame(uint8_t *buf, unsigned size)
{
    uint8_t *f = buf + HDR_LEN, *ip = f + 14, *tcp = ip + 20;
    uint32_t src = IP(10, 9, 0, 1), dst = IP(10, 9, 0, 2);

    memset(buf, 0, HDR_LEN + 54);
    buf[0] = 1;                                 /* NEEDS_CSUM */
    buf[1] = 1;                                 /* GSO_TCPV4 */
    buf[2] = 54; buf[3] = 0;                    /* hdr_len */
    buf[4] = GSO_MSS & 0xff; buf[5] = GSO_MSS >> 8;
    buf[6] = 34; buf[7] = 0;                    /* csum_start */
    buf[8] = 16; buf[9] = 0;                    /* csum_offset */
    eth_hdr(f, bcast, ETH_IP);
    ip[0] = 0x45;
    put16(ip + 2, size - 14);
    put16(ip + 6, 0x4000);                      /* DF */
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, sum_fold(sum_add(0, ip, 20)));
    put16(tcp, BENCH_SPORT);
    put16(tcp + 2, BENCH_DPORT);
    tcp[12] = 5 << 4;
    tcp[13] = 0x18;                             /* ACK, PSH */
    put16(tcp + 14, 0xffff);
    put16(tcp + 16, ~sum_fold(pseudo_sum(src, dst, 6, size - 34)) & 0xffff);
    for (unsigned j = 54; j < size; j++) {
        f[j] = (uint8_t)(j * 7);
    }
}

static void bench_tx(unsigned size, unsigned secs)
{
    uint64_t end = deadline_us((uint64_t)secs * 1000000), n = 0, t0;
    unsigned seq_off = tso ? BENCH_SEQ_OFF : 14;
    uint32_t seq = 0;

    for (unsigned i = 0; i < txq.size; i++) {
        uint8_t *f = txbuf(i) + HDR_LEN;

        if (tso) {
            tso_frame(txbuf(i), size);
        } else {
            memset(txbuf(i), 0, HDR_LEN);
            eth_hdr(f, bcast, ETH_BENCH);
            for (unsigned j = 18; j < size; j++) {
                f[j] = (uint8_t)(j * 7);
            }
        }
        tx_desc[i] = (struct vring_desc){ (uintptr_t)txbuf(i),
                                          HDR_LEN + size, 0, 0 };
    }
    t0 = rdtsc();
    while (!expired(end)) {
        bool more = false;

        tx_reclaim();
        while (tx_free) {
            unsigned d = tx_next;

            put32(txbuf(d) + HDR_LEN + seq_off, seq++);
            txq.avail[2 + txq.avail_idx % txq.size] = d;
            txq.avail_idx++;
            tx_next = (d + 1) % txq.size;
            tx_free--;
            more = true;
            n++;
        }
        if (more) {
            tx_publish();
        } else {
            cpu_relax();
        }
    }
    printf("virtio-net-bench: mode=tx size=%u frames=%lu us=%lu\n", size,
           (unsigned long)n, (unsigned long)tsc_to_us(rdtsc() - t0));
}

/* A frame of the bench: ours (tso: our TCP ports), whole or a segment. */
static bool bench_frame(const uint8_t *f, unsigned len)
{
    if (!tso) {
        return len >= 18 && get16(f + 12) == ETH_BENCH;
    }
    return len >= BENCH_SEQ_OFF && get16(f + 12) == ETH_IP && f[23] == 6 &&
           get16(f + 34) == BENCH_SPORT && get16(f + 36) == BENCH_DPORT;
}

static void bench_rx(unsigned size, unsigned secs)
{
    uint64_t frames = 0, bytes = 0, lost = 0, bad = 0, t0 = 0, end = 0;
    uint64_t segments = 0, other = 0;
    unsigned seq_off = tso ? BENCH_SEQ_OFF : 14;
    uint64_t idle = deadline_us(60000000), t1;
    uint32_t expect = 0;
    unsigned pending = 0;

    for (;;) {
        unsigned len, id;
        uint8_t *f = rx_poll(&len, &id);

        if (!f) {
            if (pending) {
                barrier();
                rxq.avail[1] = rxq.avail_idx;
                kick(&rxq);
                pending = 0;
            }
            if (t0 ? expired(end) : expired(idle)) {
                break;
            }
            cpu_relax();
            continue;
        }
        if (tso && bench_frame(f, len) && !t0) {
            t0 = rdtsc();               /* whole or segmented: from here */
            end = t0 + (uint64_t)secs * tsc_hz();
        }
        if (bench_frame(f, len) && len == size) {
            uint32_t seq = get32(f + seq_off);

            if (!t0) {
                t0 = rdtsc();
                end = t0 + (uint64_t)secs * tsc_hz();
            } else if (seq != expect && (expect || frames)) {
                lost += (uint32_t)(seq - expect);
            }
            expect = seq + 1;
            frames++;
            bytes += len;
        } else if (tso && bench_frame(f, len)) {
            segments++;                 /* the host segmented it */
            bytes += len;
        } else if (bench_frame(f, len)) {
            bad += t0 != 0;             /* a short frame of ours */
        } else {
            other++;                    /* the host's own (IPv6 ND, ...) */
        }
        rx_recycle(id, false);
        if (++pending >= rxq.size / 4) {
            barrier();
            rxq.avail[1] = rxq.avail_idx;
            kick(&rxq);
            pending = 0;
        }
        if (t0 && (frames & 63) == 0 && expired(end)) {
            break;
        }
    }
    t1 = rdtsc();
    if (!t0) {
        report(false, "bench rx: no frame in 60 s");
        return;
    }
    {
        uint64_t us = tsc_to_us(t1 - t0);

        if (!us) {
            us = 1;
        }
        printf("virtio-net-bench: mode=rx size=%u frames=%lu us=%lu "
               "mbps=%lu fps=%lu lost=%lu bad=%lu segments=%lu "
               "other=%lu\n", size,
               (unsigned long)frames, (unsigned long)us,
               (unsigned long)(bytes * 8 / us),
               (unsigned long)(frames * 1000000 / us), (unsigned long)lost,
               (unsigned long)bad, (unsigned long)segments,
               (unsigned long)other);
    }
    report((frames > 0 || segments > 0) && !bad, "bench rx: %lu frames, "
           "%lu segments", (unsigned long)frames, (unsigned long)segments);
}

int main(void)
{
    char mode[8];
    bool ok;
    bool bench = cmdline_get("bench", mode, sizeof(mode)) != NULL;

    report_prefix("virtio-net");
    if (bench && cmdline_get_int("tso", 0)) {
        tso = true;
        buf_size = TSO_BUF_SIZE;
        qlimit = TSO_QMAX;
        txbuf_base = TSO_TXBUF_BASE;
    }
    if (!find_device()) {
        report(false, "no 1af4:1000 function");
        report_summary();
    }
    report(map_device(), "modern capabilities found");
    if (!init_device()) {
        report(false, "FEATURES_OK, queues and DRIVER_OK");
        report_summary();
    }
    report(true, "FEATURES_OK, queues (rx %u, tx %u) and DRIVER_OK",
           rxq.size, txq.size);
    report_info("MAC %02x:%02x:%02x:%02x:%02x:%02x", my_mac[0], my_mac[1],
                my_mac[2], my_mac[3], my_mac[4], my_mac[5]);
    if (bench) {
        unsigned size = cmdline_get_int("size", 1514);
        unsigned secs = cmdline_get_int("secs", 5);

        unsigned max = tso ? 65536 : BUF_SIZE - HDR_LEN;

        if (size < (tso ? 60u + 54 : 60u) || size > max) {
            report(false, "size %u out of range (60..%u)", size, max);
        } else if (!strcmp(mode, "tx")) {
            bench_tx(size, secs);
        } else if (!strcmp(mode, "rx")) {
            bench_rx(size, secs);
        } else {
            report(false, "bench=%s: tx or rx", mode);
        }
        report_summary();
    }
    report(mmio_read16(devcfg + 6) & 1, "link up (status %x)",
           mmio_read16(devcfg + 6));
    if (!dhcp()) {
        report_summary();
    }
    ok = arp_gateway();
    report(ok, "ARP: 10.0.2.2 is %02x:%02x:%02x:%02x:%02x:%02x", gw_mac[0],
           gw_mac[1], gw_mac[2], gw_mac[3], gw_mac[4], gw_mac[5]);
    report(!memcmp(gw_mac, "\x52\x55\x0a\x00\x02\x02", 6),
           "the gateway's MAC is slirp's");
    report(ping_gateway(), "ping 10.0.2.2: echo reply with our data");
    if (cmdline_get_int("dns", 0)) {
        dns_query();
    } else {
        report_skip("DNS: the runner found the host's resolver not "
                    "answering (dns=0)");
    }
    tcp_echo_server(cmdline_get_int("tcpport", 8080));
    report(bad_csum == 0, "no received frame had a bad checksum (%u)",
           bad_csum);
    report_summary();
}
