/*
 * rtl8139 (RTL8139C+) with the test as the driver (registers through the
 * I/O BAR, rings in guest memory) and as the network peer (a stream
 * netdev on a UNIX socket the test holds).  Register names from the
 * RTL8139C(L)+ datasheet, as in hw/net/rtl8139.c.
 */
#include "libqvirtio.h"
#include "libqnet.h"

#define PCI_DEVFN(s, f) (((s) << 3) | (f))
#define DEVFN           PCI_DEVFN(3, 0)
#define PIIX3           PCI_DEVFN(1, 0)
#define IRQ             11
#define IOBASE          0xc100
#define MMIO            0xe0000000ULL
#define ROMADDR         0xe0100000ULL
#define RING            0x200000ULL     /* C-mode receive ring */
#define TXBUF           0x220000ULL
#define CP_RX_RING      0x230000ULL
#define CP_TX_RING      0x231000ULL
#define CP_RX_BUF       0x240000ULL     /* + i * 0x1000 */

#define IDR0            0x00
#define MAR0            0x08
#define TSD0            0x10
#define TSAD0           0x20
#define TNPDS           0x20
#define RBSTART         0x30
#define CR              0x37
#define CAPR            0x38
#define CBR             0x3a
#define IMR             0x3c
#define ISR             0x3e
#define TCR             0x40
#define RCR             0x44
#define MPC             0x4c
#define CR9346          0x50
#define MSR             0x58
#define TSAD            0x60
#define BMCR            0x62
#define BMSR            0x64
#define TPPOLL          0xd9
#define CPCR            0xe0
#define RDSAR           0xe4

#define CR_BUFE         0x01
#define CR_TE           0x04
#define CR_RE           0x08
#define CR_RST          0x10
#define INT_ROK         0x01
#define INT_TOK         0x04
#define INT_TER         0x08
#define INT_RXOVW       0x10
#define INT_LINKCHG     0x20
#define TSD_OWN         0x2000
#define TSD_TOK         0x8000
#define TSD_TABT        0x40000000u
#define RCR_AAP         0x01
#define RCR_APM         0x02
#define RCR_AM          0x04
#define RCR_AB          0x08
#define RCR_WRAP        0x80
#define CP_OWN          (1u << 31)
#define CP_EOR          (1u << 30)
#define CP_FS           (1u << 29)
#define CP_LS           (1u << 28)
#define CP_LGSEN        (1u << 27)
#define CP_IPCS         (1u << 18)
#define CP_UDPCS        (1u << 17)
#define CP_TCPCS        (1u << 16)

static const uint8_t dev_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99 };
static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x77 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

typedef struct Env {
    QTestState *qts;
    QNetPeer peer;
    QMPConn *qmp;
} Env;

static uint8_t rb(Env *e, unsigned r) { return qtest_inb(e->qts, IOBASE + r); }
static uint16_t rw(Env *e, unsigned r) { return qtest_inw(e->qts, IOBASE + r); }
static uint32_t rl(Env *e, unsigned r) { return qtest_inl(e->qts, IOBASE + r); }
static void wb(Env *e, unsigned r, uint8_t v)
{
    qtest_outb(e->qts, IOBASE + r, v);
}
static void ww(Env *e, unsigned r, uint16_t v)
{
    qtest_outw(e->qts, IOBASE + r, v);
}
static void wl(Env *e, unsigned r, uint32_t v)
{
    qtest_outl(e->qts, IOBASE + r, v);
}

static bool irq(Env *e)
{
    return qtest_get_irq(e->qts, IRQ);
}

static void pci_setup(QTestState *qts)
{
    qpci_cfg_writel(qts, DEVFN, 0x10, IOBASE);
    qpci_cfg_writel(qts, DEVFN, 0x14, (uint32_t)MMIO);
    qpci_cfg_writew(qts, DEVFN, 0x04, 0x7);
    qpci_cfg_writeb(qts, PIIX3, 0x62, IRQ);     /* 03.0 INTA -> PIRQC */
    qtest_irq_intercept_in(qts, "ioapic");
}

static void env_start(Env *e)
{
    g_autofree char *nd = NULL, *args = NULL;

    qnet_listen(&e->peer);
    nd = qnet_netdev_arg(&e->peer, "n0");
    args = g_strdup_printf("%s -device rtl8139,netdev=n0,id=nic0,addr=03.0,"
                           "mac=52:54:00:12:34:99 -qmp unix:%s,server=on,"
                           "wait=off", nd, e->peer.qmp_path);
    e->qts = qtest_init(args);
    qnet_accept(&e->peer);
    e->qmp = qmp_connect(e->peer.qmp_path);
    pci_setup(e->qts);
}

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    qnet_close(&e->peer);
}

/* ---- identity ---------------------------------------------------------- */

static void test_ids(void)
{
    Env e;
    uint8_t sig[2];

    env_start(&e);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0), ==, 0x10ec);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 2), ==, 0x8139);
    g_assert_cmphex(qpci_cfg_readb(e.qts, DEVFN, 8), ==, 0x20);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0x0a), ==, 0x0200);
    g_assert_cmphex(qpci_cfg_readb(e.qts, DEVFN, 0x3d), ==, 1);
    qpci_cfg_writel(e.qts, DEVFN, 0x10, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(e.qts, DEVFN, 0x10) & 0xffff, ==,
                    0xff01);
    qpci_cfg_writel(e.qts, DEVFN, 0x14, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(e.qts, DEVFN, 0x14), ==, 0xffffff00);
    pci_setup(e.qts);
    qpci_cfg_writel(e.qts, DEVFN, 0x30, (uint32_t)ROMADDR | 1);
    qtest_memread(e.qts, ROMADDR, sig, 2);
    g_assert_cmphex(sig[0], ==, 0x55);
    g_assert_cmphex(sig[1], ==, 0xaa);
    /* the MAC, the chip version (RTL8139C+), MMIO = I/O */
    for (unsigned i = 0; i < 6; i++) {
        g_assert_cmphex(rb(&e, IDR0 + i), ==, dev_mac[i]);
    }
    g_assert_cmphex(rl(&e, TCR) & 0x7cc00000, ==, 0x74800000);
    g_assert_cmphex(qtest_readl(e.qts, MMIO + IDR0), ==, rl(&e, IDR0));
    qtest_writel(e.qts, MMIO + RBSTART, 0x12345678);
    g_assert_cmphex(rl(&e, RBSTART), ==, 0x12345678);
    /* link up: BMSR link, MSR LINKB clear */
    g_assert_cmphex(rw(&e, BMSR) & 4, ==, 4);
    g_assert_cmphex(rb(&e, MSR) & 4, ==, 0);
    /* every TSD owned by the host after reset */
    g_assert_cmphex(rw(&e, TSAD) & 0xf, ==, 0xf);
    env_end(&e);
}

/* ---- EEPROM ----------------------------------------------------------------- */

#define EE_ENB          (0x80 | 0x08)
#define EE_SK           0x04
#define EE_DI           0x02
#define EE_DO           0x01

/* 8139too's read_eeprom(), 6 address bits. */
static uint16_t ee_read(Env *e, unsigned loc, unsigned addr_len)
{
    unsigned cmd = loc | (6u << addr_len);
    uint16_t v = 0;

    wb(e, CR9346, EE_ENB & ~0x08);
    wb(e, CR9346, EE_ENB);
    for (int i = 4 + addr_len; i >= 0; i--) {
        uint8_t d = (cmd & (1u << i)) ? EE_DI : 0;
        wb(e, CR9346, EE_ENB | d);
        wb(e, CR9346, EE_ENB | d | EE_SK);
    }
    wb(e, CR9346, EE_ENB);
    for (int i = 16; i > 0; i--) {
        wb(e, CR9346, EE_ENB | EE_SK);
        v = (v << 1) | (rb(e, CR9346) & EE_DO);
        wb(e, CR9346, EE_ENB);
    }
    wb(e, CR9346, 0);
    return v;
}

static void test_eeprom(void)
{
    Env e;

    env_start(&e);
    /* 8139too probes a 93C56 with 8 address bits: not this one */
    g_assert_cmphex(ee_read(&e, 0, 8), !=, 0x8129);
    g_assert_cmphex(ee_read(&e, 0, 6), ==, 0x8129);
    g_assert_cmphex(ee_read(&e, 1, 6), ==, 0x10ec);
    g_assert_cmphex(ee_read(&e, 2, 6), ==, 0x8139);
    g_assert_cmphex(ee_read(&e, 7, 6), ==, 0x5452);
    g_assert_cmphex(ee_read(&e, 8, 6), ==, 0x1200);
    g_assert_cmphex(ee_read(&e, 9, 6), ==, 0x9934);
    /* auto-load puts the EEPROM's MAC back into IDR */
    wl(&e, IDR0, 0xffffffff);
    g_assert_cmphex(rb(&e, IDR0), ==, 0xff);
    wb(&e, CR9346, 0x40);
    g_assert_cmphex(rb(&e, IDR0), ==, 0x52);
    g_assert_cmphex(rb(&e, IDR0 + 3), ==, 0x12);
    g_assert_cmphex(rb(&e, CR9346) & 0xc0, ==, 0);
    env_end(&e);
}

/* ---- C mode transmit ----------------------------------------------------- */

static void test_tx(void)
{
    Env e;
    uint8_t f[1600], got[2048];
    ssize_t n;

    env_start(&e);
    wb(&e, CR, CR_TE);
    ww(&e, IMR, INT_TOK);
    for (unsigned i = 0; i < 6; i++) {
        unsigned d = i & 3;
        size_t len = 60 + i * 200;
        qnet_make_frame(f, other_mac, i, len);
        qtest_memwrite(e.qts, TXBUF + d * 0x800, f, len);
        wl(&e, TSAD0 + 4 * d, (uint32_t)(TXBUF + d * 0x800));
        wl(&e, TSD0 + 4 * d, len);
        n = qnet_recv(&e.peer, got, sizeof(got), 5000);
        g_assert_cmpint(n, ==, len);
        g_assert_cmpmem(got, len, f, len);
        g_assert_cmphex(rl(&e, TSD0 + 4 * d) & (TSD_OWN | TSD_TOK), ==,
                        TSD_OWN | TSD_TOK);
        g_assert_cmphex(rw(&e, TSAD) & (0x1000u << d), ==, 0x1000u << d);
        g_assert_true(irq(&e));
        g_assert_cmphex(rw(&e, ISR) & INT_TOK, ==, INT_TOK);
        ww(&e, ISR, INT_TOK);           /* write 1 to clear */
        g_assert_cmphex(rw(&e, ISR) & INT_TOK, ==, 0);
        g_assert_false(irq(&e));
    }
    /* transmitter off: the descriptor stays with the driver */
    wb(&e, CR, 0);
    wl(&e, TSD0, 100);
    g_assert_cmphex(rl(&e, TSD0) & TSD_OWN, ==, 0);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 100), ==, -1);
    env_end(&e);
}

/* ---- C mode receive -------------------------------------------------------- */

/* Wait for CBR to move off @old. */
static uint16_t wait_cbr(Env *e, uint16_t old)
{
    for (int t = 0; t < 5000; t++) {
        uint16_t c = rw(e, CBR);
        if (c != old) {
            return c;
        }
        g_usleep(1000);
    }
    g_assert_not_reached();
}

/* The frame at ring offset @off: header, data (wrapping at 8 KiB). */
static void check_ring_frame(Env *e, uint32_t off, const uint8_t *f,
                             size_t len, uint16_t status)
{
    uint8_t got[2048];
    uint32_t crc;
    size_t total = len + 4;

    for (size_t i = 0; i < 4 + total; i++) {
        got[i] = qtest_readb(e->qts, RING + (off + i) % 8192);
    }
    g_assert_cmphex(got[0] | got[1] << 8, ==, status);
    g_assert_cmpuint(got[2] | got[3] << 8, ==, total);
    g_assert_cmpmem(got + 4, len, f, len);
    crc = got[4 + len] | got[5 + len] << 8 | got[6 + len] << 16 |
          (uint32_t)got[7 + len] << 24;
    g_assert_cmphex(crc, ==, qnet_crc32(f, len));
}

static void rx_setup(Env *e, uint32_t rcr)
{
    qtest_memset(e->qts, RING, 0, 8192 + 16 + 1536);
    wl(e, RBSTART, (uint32_t)RING);
    wl(e, RCR, rcr);
    wb(e, CR, CR_RE | CR_TE);
}

static void test_rx(void)
{
    Env e;
    uint8_t f[2048];
    uint32_t off = 0;
    uint16_t cbr;

    env_start(&e);
    rx_setup(&e, RCR_APM | RCR_AB);
    ww(&e, IMR, INT_ROK);
    g_assert_cmphex(rb(&e, CR) & CR_BUFE, ==, CR_BUFE);
    /* other unicast, multicast without the hash bit: dropped */
    qnet_make_frame(f, other_mac, 1, 100);
    qnet_send(&e.peer, f, 100);
    qnet_make_frame(f, mcast, 2, 100);
    qnet_send(&e.peer, f, 100);
    qnet_make_frame(f, dev_mac, 3, 100);
    qnet_send(&e.peer, f, 100);
    cbr = wait_cbr(&e, 0);
    g_assert_cmpuint(cbr, ==, (4 + 104 + 3) & ~3);
    check_ring_frame(&e, 0, f, 100, 0x4001);    /* ROK, PAM */
    g_assert_true(irq(&e));
    g_assert_cmphex(rb(&e, CR) & CR_BUFE, ==, 0);
    ww(&e, ISR, INT_ROK);
    g_assert_false(irq(&e));
    /* the driver consumed it: CAPR = read pointer - 16 */
    ww(&e, CAPR, cbr - 16);
    g_assert_cmphex(rb(&e, CR) & CR_BUFE, ==, CR_BUFE);
    off = cbr;
    /* broadcast (BAR), then multicast through the MAR hash */
    qnet_make_frame(f, bcast, 4, 64);
    qnet_send(&e.peer, f, 64);
    cbr = wait_cbr(&e, off);
    check_ring_frame(&e, off, f, 64, 0x2001);
    off = cbr;
    wl(&e, RCR, RCR_APM | RCR_AB | RCR_AM);
    {
        /* ether_crc() >> 26, as 8139too computes it */
        uint32_t crc = 0xffffffff;
        unsigned h;
        for (unsigned i = 0; i < 6; i++) {
            uint8_t b = mcast[i];
            for (unsigned k = 0; k < 8; k++, b >>= 1) {
                uint32_t c = (crc >> 31) ^ (b & 1);
                crc <<= 1;
                if (c) {
                    crc ^= 0x04c11db7;
                }
            }
        }
        h = crc >> 26;
        wb(&e, MAR0 + (h >> 3), 1u << (h & 7));
    }
    qnet_make_frame(f, mcast, 5, 64);
    qnet_send(&e.peer, f, 64);
    cbr = wait_cbr(&e, off);
    check_ring_frame(&e, off, f, 64, 0x8001);
    off = cbr;
    /* short frames are padded to 60 bytes */
    qnet_make_frame(f, dev_mac, 6, 20);
    memset(f + 20, 0, 40);
    qnet_send(&e.peer, f, 20);
    cbr = wait_cbr(&e, off);
    check_ring_frame(&e, off, f, 60, 0x4001);
    off = cbr;
    /* fill the 8 KiB ring until a frame wraps past its end */
    while (off < 8192 - 1100) {
        ww(&e, CAPR, off - 16);
        qnet_make_frame(f, dev_mac, off, 1000);
        qnet_send(&e.peer, f, 1000);
        cbr = wait_cbr(&e, off);
        check_ring_frame(&e, off, f, 1000, 0x4001);
        off = cbr;
    }
    ww(&e, CAPR, off - 16);
    qnet_make_frame(f, dev_mac, 77, 1500);
    qnet_send(&e.peer, f, 1500);
    cbr = wait_cbr(&e, off);
    g_assert_cmpuint(cbr, <, off);              /* wrapped */
    check_ring_frame(&e, off, f, 1500, 0x4001);
    g_assert_cmpuint(cbr, ==, (off + ((4 + 1504 + 3) & ~3)) % 8192);
    env_end(&e);
}

static void test_rx_overflow(void)
{
    Env e;
    uint8_t f[2048];
    uint16_t cbr = 0;

    env_start(&e);
    rx_setup(&e, RCR_APM);
    /* the driver never reads: with RXOVW unmasked the ring overflows */
    ww(&e, IMR, INT_RXOVW);
    wl(&e, MPC, 0);
    for (unsigned i = 0; i < 12; i++) {
        qnet_make_frame(f, dev_mac, i, 1000);
        qnet_send(&e.peer, f, 1000);
    }
    for (int t = 0; t < 5000 && !(rw(&e, ISR) & INT_RXOVW); t++) {
        g_usleep(1000);
    }
    g_assert_cmphex(rw(&e, ISR) & INT_RXOVW, ==, INT_RXOVW);
    g_assert_true(irq(&e));
    for (int t = 0; t < 5000 && rl(&e, MPC) < 4; t++) {
        g_usleep(1000);
    }
    cbr = rw(&e, CBR);
    /* 8 frames of 1008 bytes fit (CBR never reaches CAPR), 4 are lost */
    g_assert_cmpuint(cbr, ==, 8 * 1008);
    g_assert_cmpuint(rl(&e, MPC), ==, 4);
    env_end(&e);
}

/* ---- C+ mode ------------------------------------------------------------------ */

static void cp_start(Env *e, unsigned nrx)
{
    qtest_memset(e->qts, CP_RX_RING, 0, 0x1000);
    for (unsigned i = 0; i < nrx; i++) {
        uint64_t d = CP_RX_RING + 16 * i;
        qtest_writel(e->qts, d, CP_OWN | 2048 | (i == nrx - 1 ? CP_EOR : 0));
        qtest_writeq(e->qts, d + 8, CP_RX_BUF + i * 0x1000);
    }
    ww(e, CPCR, 0x0003);                /* C+ transmit and receive */
    wl(e, RDSAR, (uint32_t)CP_RX_RING);
    wl(e, RDSAR + 4, 0);
    wl(e, TNPDS, (uint32_t)CP_TX_RING);
    wl(e, TNPDS + 4, 0);
    wl(e, RCR, RCR_APM | RCR_AB);
    wb(e, CR, CR_RE | CR_TE);
}

static void cp_tx_desc(Env *e, unsigned i, uint32_t w0, uint32_t w1,
                       uint64_t buf)
{
    uint64_t d = CP_TX_RING + 16 * i;

    qtest_writel(e->qts, d, w0);
    qtest_writel(e->qts, d + 4, w1);
    qtest_writeq(e->qts, d + 8, buf);
}

static uint32_t cp_rx_wait(Env *e, unsigned i)
{
    for (int t = 0; t < 5000; t++) {
        uint32_t w0 = qtest_readl(e->qts, CP_RX_RING + 16 * i);
        if (!(w0 & CP_OWN)) {
            return w0;
        }
        g_usleep(1000);
    }
    g_assert_not_reached();
}

static uint16_t ipv4_udp(uint8_t *f, size_t paylen)
{
    size_t len = 14 + 20 + 8 + paylen;

    qnet_make_frame(f, other_mac, 9, len);
    f[12] = 0x08;
    f[13] = 0x00;
    memset(f + 14, 0, 28);
    f[14] = 0x45;
    f[16] = (20 + 8 + paylen) >> 8;
    f[17] = 20 + 8 + paylen;
    f[22] = 64;
    f[23] = 17;
    memcpy(f + 26, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
    f[34] = 0x30;
    f[35] = 0x39;
    f[37] = 53;
    f[38] = (8 + paylen) >> 8;
    f[39] = 8 + paylen;
    return len;
}

static void check_sums(const uint8_t *f, size_t len)
{
    size_t l4len = len - 34;
    uint32_t pseudo = qnet_csum(f + 26, 8, 0) + f[23] + l4len;

    g_assert_cmphex(qnet_csum(f + 14, 20, 0), ==, 0xffff);
    g_assert_cmphex(qnet_csum(f + 34, l4len, pseudo), ==, 0xffff);
}

static void test_cplus(void)
{
    Env e;
    uint8_t f[4096], got[2048];
    ssize_t n;
    uint32_t w0;
    size_t len;

    env_start(&e);
    cp_start(&e, 4);
    ww(&e, IMR, INT_ROK | INT_TOK);
    /* C+ layout: 0x20 is TNPDS now */
    g_assert_cmphex(rl(&e, TNPDS), ==, (uint32_t)CP_TX_RING);
    /* transmit: one frame over two descriptors, then one with offloads */
    qnet_make_frame(f, other_mac, 1, 300);
    qtest_memwrite(e.qts, TXBUF, f, 300);
    cp_tx_desc(&e, 0, CP_OWN | CP_FS | 100, 0, TXBUF);
    cp_tx_desc(&e, 1, CP_OWN | CP_LS | 200, 0, TXBUF + 100);
    len = ipv4_udp(f + 1024, 100);
    qtest_memwrite(e.qts, TXBUF + 1024, f + 1024, len);
    cp_tx_desc(&e, 2, CP_OWN | CP_FS | CP_LS | CP_EOR | CP_IPCS | CP_UDPCS |
               len, 0, TXBUF + 1024);
    wb(&e, TPPOLL, 0x40);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 300);
    g_assert_cmpmem(got, 300, f, 300);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, len);
    check_sums(got, n);
    g_assert_cmpmem(got + 42, 100, f + 1024 + 42, 100);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmphex(qtest_readl(e.qts, CP_TX_RING + 16 * i) & CP_OWN, ==,
                        0);
    }
    g_assert_cmphex(rw(&e, ISR) & INT_TOK, ==, INT_TOK);
    /* EOR took the ring back to descriptor 0 */
    cp_tx_desc(&e, 0, CP_OWN | CP_FS | CP_LS | 60, 0x0000, TXBUF);
    cp_tx_desc(&e, 1, 0, 0, 0);
    wb(&e, TPPOLL, 0x40);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 60);

    /* receive into the descriptors; EOR wraps */
    for (unsigned i = 0; i < 5; i++) {
        unsigned slot = i % 4;
        qnet_make_frame(f, dev_mac, i, 200 + i);
        if (i == 4) {
            qtest_writel(e.qts, CP_RX_RING, CP_OWN | 2048);
        }
        qnet_send(&e.peer, f, 200 + i);
        w0 = cp_rx_wait(&e, slot);
        g_assert_cmphex(w0 & (CP_FS | CP_LS), ==, CP_FS | CP_LS);
        g_assert_cmpuint(w0 & 0x1fff, ==, 200 + i + 4);
        g_assert_cmphex(w0 & CP_EOR, ==, slot == 3 ? CP_EOR : 0);
        qtest_memread(e.qts, CP_RX_BUF + slot * 0x1000, got, 200 + i);
        g_assert_cmpmem(got, 200 + i, f, 200 + i);
    }
    g_assert_cmphex(rw(&e, ISR) & INT_ROK, ==, INT_ROK);
    /* descriptor 1 is not owned by the chip: lost, RXOVW */
    wl(&e, MPC, 0);
    ww(&e, ISR, 0xffff);
    qnet_make_frame(f, dev_mac, 9, 100);
    qnet_send(&e.peer, f, 100);
    for (int t = 0; t < 5000 && !(rw(&e, ISR) & INT_RXOVW); t++) {
        g_usleep(1000);
    }
    g_assert_cmpuint(rl(&e, MPC), ==, 1);
    /* a buffer too small: lost as well */
    qtest_writel(e.qts, CP_RX_RING + 16, CP_OWN | 64);
    qnet_send(&e.peer, f, 100);
    for (int t = 0; t < 5000 && rl(&e, MPC) < 2; t++) {
        g_usleep(1000);
    }
    g_assert_cmpuint(rl(&e, MPC), ==, 2);
    env_end(&e);
}

static void test_large_send(void)
{
    Env e;
    uint8_t f[4096], got[2048];
    uint32_t seq0 = 0xfffffc00;        /* the sequence number wraps */
    ssize_t n;

    env_start(&e);
    cp_start(&e, 4);
    qnet_make_frame(f, other_mac, 4, 54 + 2500);
    f[12] = 0x08;
    f[13] = 0x00;
    memset(f + 14, 0, 40);
    f[14] = 0x45;
    f[18] = 0x11;
    f[19] = 0x22;
    f[22] = 64;
    f[23] = 6;
    memcpy(f + 26, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
    f[38] = seq0 >> 24;
    f[39] = seq0 >> 16;
    f[40] = seq0 >> 8;
    f[41] = seq0;
    f[46] = 0x50;
    f[47] = 0x19;                       /* ACK PSH FIN */
    qtest_memwrite(e.qts, TXBUF, f, 2554);
    cp_tx_desc(&e, 0, CP_OWN | CP_FS | CP_LS | CP_EOR | CP_LGSEN |
               (1000u << 16) | 2554, 0, TXBUF);
    wb(&e, TPPOLL, 0x40);
    for (unsigned i = 0; i < 3; i++) {
        size_t pay = i < 2 ? 1000 : 500;
        uint32_t seq;
        n = qnet_recv(&e.peer, got, sizeof(got), 5000);
        g_assert_cmpint(n, ==, 54 + pay);
        g_assert_cmpuint(got[16] << 8 | got[17], ==, 40 + pay);
        g_assert_cmpuint(got[18] << 8 | got[19], ==, 0x1122 + i);
        seq = (uint32_t)got[38] << 24 | got[39] << 16 | got[40] << 8 |
              got[41];
        g_assert_cmphex(seq, ==, seq0 + 1000 * i);
        g_assert_cmphex(got[47], ==, i < 2 ? 0x10 : 0x19);
        check_sums(got, n);
        g_assert_cmpmem(got + 54, pay, f + 54 + 1000 * i, pay);
    }
    env_end(&e);
}

/* ---- link, reset ------------------------------------------------------------- */

static void test_link(void)
{
    Env e;

    env_start(&e);
    ww(&e, IMR, INT_LINKCHG);
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":false}}");
    g_assert_cmphex(rw(&e, BMSR) & 4, ==, 0);
    g_assert_cmphex(rb(&e, MSR) & 4, ==, 4);
    g_assert_true(irq(&e));
    ww(&e, ISR, INT_LINKCHG);
    g_assert_false(irq(&e));
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":true}}");
    g_assert_cmphex(rw(&e, BMSR) & 4, ==, 4);
    g_assert_cmphex(rb(&e, MSR) & 4, ==, 0);
    g_assert_cmphex(rw(&e, ISR) & INT_LINKCHG, ==, INT_LINKCHG);
    /* CR.RST clears the interrupt state */
    wb(&e, CR, CR_RST);
    g_assert_cmphex(rw(&e, ISR), ==, 0);
    g_assert_cmphex(rw(&e, IMR), ==, 0);
    g_assert_false(irq(&e));
    g_assert_cmphex(rb(&e, CR) & (CR_RST | CR_RE | CR_TE), ==, 0);
    /* BMCR reset is self-clearing */
    ww(&e, BMCR, 0x8000 | 0x1000);
    g_assert_cmphex(rw(&e, BMCR) & 0x8000, ==, 0);
    env_end(&e);
}

/* ---- hostile guests ------------------------------------------------------------- */

static void test_hostile(void)
{
    QTestState *q;
    Env e = { 0 };
    int64_t t0 = g_get_monotonic_time();

    q = qtest_init("-device rtl8139,addr=03.0");
    e.qts = q;
    pci_setup(q);
    /* every register offset, every width, both BARs */
    for (unsigned a = 0; a < 0x100; a++) {
        if (a == CR) {
            continue;                   /* no resets in the loop */
        }
        rb(&e, a);
        qtest_readw(q, MMIO + a);
        if (a + 4 <= 0x100) {
            rl(&e, a);
        }
    }
    wb(&e, CR, CR_TE | CR_RE);
    /* C mode: a buffer outside RAM aborts that descriptor */
    wl(&e, TSAD0, 0xfffff000);
    wl(&e, TSD0, 0x1fff);
    g_assert_cmphex(rl(&e, TSD0) & TSD_TABT, ==, TSD_TABT);
    g_assert_cmphex(rw(&e, ISR) & INT_TER, ==, INT_TER);
    wl(&e, TSAD0 + 4, 0x100000);
    wl(&e, TSD0 + 4, 0x1fff);           /* the largest size the field has */
    g_assert_cmphex(rl(&e, TSD0 + 4) & TSD_TOK, ==, TSD_TOK);
    /* C+: a ring of 64 owned descriptors that never ends (no EOR, no LS),
     * then one whose ring lies outside RAM */
    ww(&e, CPCR, 3);
    wl(&e, TNPDS, (uint32_t)CP_TX_RING);
    for (unsigned i = 0; i < 64; i++) {
        cp_tx_desc(&e, i, CP_OWN | 0xffff | CP_LGSEN, 0, 0x100000);
    }
    wb(&e, TPPOLL, 0x40);
    wb(&e, TPPOLL, 0x40);
    for (unsigned i = 0; i < 64; i++) {
        cp_tx_desc(&e, i, CP_OWN | CP_FS | CP_LS | CP_LGSEN | 0xffff, 0,
                   0x100000);
    }
    wb(&e, TPPOLL, 0x40);
    wl(&e, TNPDS, 0xfffff000);
    wl(&e, TNPDS + 4, 0xffff);
    wb(&e, TPPOLL, 0xc1);
    /* receive registers pointing nowhere */
    wl(&e, RDSAR, 0xfffff000);
    wl(&e, RDSAR + 4, 0xffffffff);
    wl(&e, RBSTART, 0xfffff000);
    ww(&e, CAPR, 0x1234);
    wl(&e, RCR, 0xffffffff);
    /* the EEPROM clocked forever in every mode */
    for (unsigned i = 0; i < 3000; i++) {
        wb(&e, CR9346, 0x80 | 0x08 | (i & 1 ? EE_SK : 0) | (i & 2 ? 2 : 0));
    }
    wb(&e, CR9346, 0xc0);
    wb(&e, CR9346, 0x40);
    g_assert_cmphex(rw(&e, BMSR) & 4, ==, 4);
    g_assert_cmpint(qtest_quit(q), ==, 0);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtl8139/ids", test_ids);
    g_test_add_func("/rtl8139/eeprom", test_eeprom);
    g_test_add_func("/rtl8139/tx", test_tx);
    g_test_add_func("/rtl8139/rx", test_rx);
    g_test_add_func("/rtl8139/rx-overflow", test_rx_overflow);
    g_test_add_func("/rtl8139/cplus", test_cplus);
    g_test_add_func("/rtl8139/large-send", test_large_send);
    g_test_add_func("/rtl8139/link", test_link);
    g_test_add_func("/rtl8139/hostile", test_hostile);
    return g_test_run();
}
