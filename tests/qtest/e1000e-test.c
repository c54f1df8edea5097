/*
 * e1000e (82574L) with the test as both the driver (registers, rings and
 * the MSI-X table in guest memory over qtest) and the network peer (a
 * stream netdev on a UNIX socket the test holds).  Register names from
 * Intel's 82574 datasheet, as in hw/net/e1000e.c.
 */
#include "libqvirtio.h"
#include "libqnet.h"

#define PCI_DEVFN(s, f) (((s) << 3) | (f))
#define DEVFN           PCI_DEVFN(3, 0)
#define PIIX3           PCI_DEVFN(1, 0)
#define IRQ             11
#define BAR0            0xe0000000ULL
#define BAR1            0xe0020000ULL
#define BAR3            0xe0040000ULL
#define IOBASE          0xc000
#define ROMADDR         0xe0100000ULL
#define TX_RING         0x200000ULL
#define TX_RING1        0x202000ULL
#define RX_RING         0x201000ULL
#define RX_RING1        0x203000ULL
#define MSG_ADDR        0x300000ULL     /* MSI/MSI-X messages land here */
#define TX_BUF          0x210000ULL
#define RX_BUF          0x240000ULL     /* + i * 0x1000 */
#define RX_BUF1         0x280000ULL

#define CTRL            0x00000
#define STATUS          0x00008
#define EECD            0x00010
#define EERD            0x00014
#define CTRL_EXT        0x00018
#define MDIC            0x00020
#define ICR             0x000c0
#define ITR             0x000c4
#define ICS             0x000c8
#define IMS             0x000d0
#define IMC             0x000d8
#define EIAC            0x000dc
#define IAM             0x000e0
#define IVAR            0x000e4
#define RCTL            0x00100
#define TCTL            0x00400
#define EEWR            0x0102c
#define EITR            0x01680
#define RDBAL(q)        (0x02800 + 0x100 * (q))
#define RDBAH(q)        (0x02804 + 0x100 * (q))
#define RDLEN(q)        (0x02808 + 0x100 * (q))
#define RDH(q)          (0x02810 + 0x100 * (q))
#define RDT(q)          (0x02818 + 0x100 * (q))
#define TDBAL(q)        (0x03800 + 0x100 * (q))
#define TDBAH(q)        (0x03804 + 0x100 * (q))
#define TDLEN(q)        (0x03808 + 0x100 * (q))
#define TDH(q)          (0x03810 + 0x100 * (q))
#define TDT(q)          (0x03818 + 0x100 * (q))
#define MPC             0x04010
#define GPRC            0x04074
#define GPTC            0x04080
#define TPT             0x040d4
#define RXCSUM          0x05000
#define RFCTL           0x05008
#define RA              0x05400
#define MRQC            0x05818
#define RETA            0x05c00
#define RSSRK           0x05c80

#define CTRL_RST        (1u << 26)
#define CTRL_VME        (1u << 30)
#define CTRL_EXT_IAME   (1u << 27)
#define CTRL_EXT_EIAME  (1u << 24)
#define STATUS_LU       0x2
#define ICR_TXDW        0x1
#define ICR_TXQE        0x2
#define ICR_LSC         0x4
#define ICR_RXO         0x40
#define ICR_RXT0        0x80
#define ICR_MDAC        0x200
#define ICR_RXQ0        (1u << 20)
#define ICR_RXQ1        (1u << 21)
#define ICR_TXQ0        (1u << 22)
#define ICR_TXQ1        (1u << 23)
#define ICR_OTHER       (1u << 24)
#define ICR_ASSERTED    0x80000000u
#define RCTL_EN         0x2
#define RCTL_UPE        0x8
#define RCTL_BAM        0x8000
#define E1000E_RCTL_LPE 0x20
#define RCTL_DTYP_PS    (1u << 10)
#define RCTL_SECRC      (1u << 26)
#define RFCTL_EXTEN     (1u << 15)
#define RXCSUM_PCSD     (1u << 13)
#define TCTL_EN         0x2
#define TXD_EOP         (1u << 24)
#define TXD_IFCS        (1u << 25)
#define TXD_TSE         (1u << 26)
#define TXD_RS          (1u << 27)
#define TXD_DEXT        (1u << 29)
#define TXD_DTYP_D      (1u << 20)
#define TXD_TCP         (1u << 24)
#define TXD_IP          (1u << 25)
#define POPTS_IXSM      1
#define POPTS_TXSM      2
#define MDIC_READ       (2u << 26)
#define MDIC_WRITE      (1u << 26)
#define MDIC_READY      (1u << 28)
#define MDIC_INT_EN     (1u << 29)
#define MDIC_ERROR      (1u << 30)
#define MSIX_CAP        0xa0
#define MSI_CAP         0xd0

static const uint8_t dev_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x99 };

typedef struct Env {
    QTestState *qts;
    QNetPeer peer;
    QMPConn *qmp;
} Env;

static uint32_t rd(Env *e, uint32_t off)
{
    return qtest_readl(e->qts, BAR0 + off);
}

static void wr(Env *e, uint32_t off, uint32_t val)
{
    qtest_writel(e->qts, BAR0 + off, val);
}

static void pci_setup(QTestState *qts)
{
    qpci_cfg_writel(qts, DEVFN, 0x10, (uint32_t)BAR0);
    qpci_cfg_writel(qts, DEVFN, 0x14, (uint32_t)BAR1);
    qpci_cfg_writel(qts, DEVFN, 0x18, IOBASE);
    qpci_cfg_writel(qts, DEVFN, 0x1c, (uint32_t)BAR3);
    qpci_cfg_writew(qts, DEVFN, 0x04, 0x7);
    /* 03.0 INTA -> PIRQC, routed to IRQ 11 */
    qpci_cfg_writeb(qts, PIIX3, 0x62, IRQ);
    qtest_irq_intercept_in(qts, "ioapic");
}

static void env_start(Env *e, const char *devopts)
{
    g_autofree char *nd = NULL, *args = NULL;

    qnet_listen(&e->peer);
    nd = qnet_netdev_arg(&e->peer, "n0");
    args = g_strdup_printf("%s -device e1000e,netdev=n0,id=nic0,addr=03.0,"
                           "mac=52:54:00:aa:bb:cc%s -qmp unix:%s,server=on,"
                           "wait=off", nd, devopts ? devopts : "",
                           e->peer.qmp_path);
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

static bool irq(Env *e)
{
    return qtest_get_irq(e->qts, IRQ);
}

/* ---- rings ---------------------------------------------------------------- */

static uint64_t tx_ring(unsigned q)
{
    return q ? TX_RING1 : TX_RING;
}

static void tx_ring_init(Env *e, unsigned q, unsigned n)
{
    qtest_memset(e->qts, tx_ring(q), 0, 16 * n);
    wr(e, TDBAL(q), (uint32_t)tx_ring(q));
    wr(e, TDBAH(q), 0);
    wr(e, TDLEN(q), 16 * n);
    wr(e, TDH(q), 0);
    wr(e, TDT(q), 0);
    wr(e, TCTL, TCTL_EN);
}

static void tx_desc(Env *e, unsigned q, unsigned i, uint64_t addr,
                    uint32_t lower, uint32_t upper)
{
    uint64_t d = tx_ring(q) + 16 * i;

    qtest_writeq(e->qts, d, addr);
    qtest_writel(e->qts, d + 8, lower);
    qtest_writel(e->qts, d + 12, upper);
}

static uint64_t rx_ring(unsigned q)
{
    return q ? RX_RING1 : RX_RING;
}

static uint64_t rx_buf(unsigned q, unsigned i)
{
    return (q ? RX_BUF1 : RX_BUF) + i * 0x1000;
}

static void rx_ring_init(Env *e, unsigned q, unsigned n, uint32_t rctl)
{
    qtest_memset(e->qts, rx_ring(q), 0, 16 * n);
    for (unsigned i = 0; i < n; i++) {
        qtest_writeq(e->qts, rx_ring(q) + 16 * i, rx_buf(q, i));
    }
    wr(e, RDBAL(q), (uint32_t)rx_ring(q));
    wr(e, RDBAH(q), 0);
    wr(e, RDLEN(q), 16 * n);
    wr(e, RDH(q), 0);
    wr(e, RDT(q), n - 1);
    wr(e, RCTL, rctl | RCTL_EN);
}

/* Wait for DD on legacy (status at byte 12) or extended (byte 8) @i. */
static bool rx_wait(Env *e, unsigned q, unsigned i, bool ext)
{
    uint64_t d = rx_ring(q) + 16 * i + (ext ? 8 : 12);

    for (int t = 0; t < 5000; t++) {
        if (qtest_readb(e->qts, d) & 1) {
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

/* An IPv4 header at @ip (20 bytes, header checksum filled). */
static uint32_t make_ipv4(uint8_t *ip, uint8_t proto, uint16_t total,
                          const uint8_t *src, const uint8_t *dst)
{
    uint16_t c;

    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = total >> 8;
    ip[3] = total;
    ip[4] = 0x12;
    ip[5] = 0x34;
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    c = ~qnet_csum(ip, 20, 0);
    ip[10] = c >> 8;
    ip[11] = c;
    return qnet_csum(ip + 12, 8, proto);
}

static const uint8_t ip_a[4] = { 10, 0, 2, 15 }, ip_b[4] = { 10, 0, 2, 2 };

/* A UDP/IPv4 frame to the device with a correct checksum; its length. */
static size_t make_udp(uint8_t *f, const uint8_t *dst, unsigned payload)
{
    uint32_t ph;
    uint16_t c;

    memcpy(f, dst, 6);
    memcpy(f + 6, other_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    ph = make_ipv4(f + 14, 17, 28 + payload, ip_a, ip_b);
    memset(f + 34, 0, 8);
    f[35] = 99;
    f[37] = 53;
    f[38] = (8 + payload) >> 8;
    f[39] = 8 + payload;
    for (unsigned i = 0; i < payload; i++) {
        f[42 + i] = i * 3;
    }
    c = ~qnet_csum(f + 34, 8 + payload, ph + 8 + payload);
    f[40] = c >> 8;
    f[41] = c;
    return 42 + payload;
}

/* ---- identity, BARs, capabilities, ROM ------------------------------------ */

static uint32_t bar_size(QTestState *q, unsigned off)
{
    uint32_t old = qpci_cfg_readl(q, DEVFN, off), v;

    qpci_cfg_writel(q, DEVFN, off, 0xffffffff);
    v = qpci_cfg_readl(q, DEVFN, off);
    qpci_cfg_writel(q, DEVFN, off, old);
    return v & 1 ? (~(v & ~3u) + 1) & 0xffff : ~(v & ~15u) + 1;
}

static void test_ids(void)
{
    Env e;
    uint8_t sig[2], caps[8] = { 0 };
    unsigned ncaps = 0, pos;

    env_start(&e, NULL);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0), ==, 0x8086);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 2), ==, 0x10d3);
    g_assert_cmphex(qpci_cfg_readb(e.qts, DEVFN, 8), ==, 0);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0x0a), ==, 0x0200);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0x2c), ==, 0x8086);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0x2e), ==, 0);
    g_assert_cmphex(qpci_cfg_readb(e.qts, DEVFN, 0x3d), ==, 1);
    g_assert_cmphex(bar_size(e.qts, 0x10), ==, 0x20000);
    g_assert_cmphex(bar_size(e.qts, 0x14), ==, 0x20000);
    g_assert_cmphex(bar_size(e.qts, 0x18), ==, 0x20);
    g_assert_cmphex(bar_size(e.qts, 0x1c), ==, 0x4000);
    /* capabilities: MSI-X (0xa0, 5 vectors in BAR3), PM, MSI, PCIe */
    for (pos = qpci_cfg_readb(e.qts, DEVFN, 0x34); pos && ncaps < 8;
         pos = qpci_cfg_readb(e.qts, DEVFN, pos + 1)) {
        caps[ncaps++] = qpci_cfg_readb(e.qts, DEVFN, pos);
        if (caps[ncaps - 1] == 0x11) {
            g_assert_cmphex(pos, ==, MSIX_CAP);
            g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, pos + 2) & 0x7ff,
                            ==, 4);
            g_assert_cmphex(qpci_cfg_readl(e.qts, DEVFN, pos + 4), ==, 3);
            g_assert_cmphex(qpci_cfg_readl(e.qts, DEVFN, pos + 8), ==,
                            0x2003);
        }
        if (caps[ncaps - 1] == 0x10) {
            g_assert_cmphex(pos, ==, 0xe0);
        }
    }
    g_assert_cmpuint(ncaps, ==, 4);
    g_assert_nonnull(memchr(caps, 0x01, ncaps));
    g_assert_nonnull(memchr(caps, 0x05, ncaps));
    g_assert_nonnull(memchr(caps, 0x10, ncaps));
    g_assert_nonnull(memchr(caps, 0x11, ncaps));
    /* the ROM BAR holds efi-e1000e.rom */
    qpci_cfg_writel(e.qts, DEVFN, 0x30, (uint32_t)ROMADDR | 1);
    qtest_memread(e.qts, ROMADDR, sig, 2);
    g_assert_cmphex(sig[0], ==, 0x55);
    g_assert_cmphex(sig[1], ==, 0xaa);
    /* link up; the I/O window reads the same registers; flash reads 0 */
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    qtest_outl(e.qts, IOBASE, STATUS);
    g_assert_cmphex(qtest_inl(e.qts, IOBASE + 4), ==, rd(&e, STATUS));
    qtest_outl(e.qts, IOBASE, IMS);
    qtest_outl(e.qts, IOBASE + 4, ICR_RXT0);
    g_assert_cmphex(rd(&e, IMS), ==, ICR_RXT0);
    g_assert_cmphex(qtest_readl(e.qts, BAR1 + 0x100), ==, 0);
    g_assert_cmphex(rd(&e, RA), ==, 0xaa005452);
    g_assert_cmphex(rd(&e, RA + 4), ==, 0x8000ccbb);
    g_assert_cmphex(rd(&e, EECD) & 0x300, ==, 0x300);
    /* CTRL.RST brings the registers back */
    wr(&e, RCTL, RCTL_EN);
    wr(&e, CTRL, rd(&e, CTRL) | CTRL_RST);
    g_assert_cmphex(rd(&e, RCTL), ==, 0);
    g_assert_cmphex(rd(&e, IMS), ==, 0);
    env_end(&e);
}

/* ---- NVM ------------------------------------------------------------------ */

static uint16_t eerd(Env *e, unsigned addr)
{
    uint32_t v;

    wr(e, EERD, (addr << 2) | 1);
    v = rd(e, EERD);
    g_assert_cmphex(v & 2, ==, 2);
    return v >> 16;
}

static void test_nvm(void)
{
    Env e;
    uint16_t sum = 0;

    env_start(&e, NULL);
    for (unsigned i = 0; i < 64; i++) {
        sum += eerd(&e, i);
    }
    g_assert_cmphex(sum, ==, 0xbaba);
    g_assert_cmphex(eerd(&e, 0), ==, 0x5452);
    g_assert_cmphex(eerd(&e, 1), ==, 0xaa00);
    g_assert_cmphex(eerd(&e, 2), ==, 0xccbb);
    g_assert_cmphex(eerd(&e, 0x0d), ==, 0x10d3);
    g_assert_cmphex(eerd(&e, 0x0e), ==, 0x8086);
    /* EEWR writes a word */
    wr(&e, EEWR, (0x30 << 2) | 1 | (0x1234u << 16));
    g_assert_cmphex(rd(&e, EEWR) & 1, ==, 1);
    g_assert_cmphex(eerd(&e, 0x30), ==, 0x1234);
    /* without START or past the NVM: no DONE */
    wr(&e, EERD, 3 << 2);
    g_assert_cmphex(rd(&e, EERD) & 2, ==, 0);
    wr(&e, EERD, (0x3fff << 2) | 1);
    g_assert_cmphex(rd(&e, EERD) & 2, ==, 0);
    env_end(&e);
}

/* ---- PHY and link ---------------------------------------------------------- */

static uint32_t mdic(Env *e, uint32_t op, unsigned phy, unsigned regn,
                     uint16_t data)
{
    wr(e, MDIC, op | (phy << 21) | (regn << 16) | data);
    return rd(e, MDIC);
}

static void test_phy(void)
{
    Env e;
    uint32_t v;

    env_start(&e, NULL);
    v = mdic(&e, MDIC_READ, 1, 2, 0);
    g_assert_cmphex(v & MDIC_READY, ==, MDIC_READY);
    g_assert_cmphex(v & 0xffff, ==, 0x0141);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 3, 0) & 0xffff, ==, 0x0cb1);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 1, 0) & 0x24, ==, 0x24);
    g_assert_cmphex(mdic(&e, MDIC_READ, 2, 1, 0) & MDIC_ERROR, ==,
                    MDIC_ERROR);
    /* pages through register 22: page 2 has MAC spec control (21),
     * page 3 the LED registers; page 0's ID is not in page 2 */
    mdic(&e, MDIC_WRITE, 1, 22, 2);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 22, 0) & 0xffff, ==, 2);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 2, 0) & MDIC_ERROR, ==,
                    MDIC_ERROR);
    mdic(&e, MDIC_WRITE, 1, 21, 0x1234);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 21, 0) & 0xffff, ==, 0x1234);
    mdic(&e, MDIC_WRITE, 1, 22, 3);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 16, 0) & MDIC_ERROR, ==, 0);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 21, 0) & MDIC_ERROR, ==,
                    MDIC_ERROR);
    mdic(&e, MDIC_WRITE, 1, 22, 0);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 21, 0) & 0xffff, !=, 0x1234);
    /* MDIC interrupt */
    rd(&e, ICR);
    mdic(&e, MDIC_READ | MDIC_INT_EN, 1, 0, 0);
    g_assert_cmphex(rd(&e, ICR) & ICR_MDAC, ==, ICR_MDAC);
    /* restart autonegotiation: link down, up 500 ms later with LSC */
    wr(&e, IMS, ICR_LSC);
    mdic(&e, MDIC_WRITE, 1, 0, 0x1340);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 400 * 1000 * 1000);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    qtest_clock_step(e.qts, 200 * 1000 * 1000);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    /* set_link */
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":false}}");
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":true}}");
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    env_end(&e);
}

/* ---- transmit -------------------------------------------------------------- */

static void test_tx(void)
{
    Env e;
    uint8_t f[1500], got[2048];
    ssize_t n;

    env_start(&e, NULL);
    tx_ring_init(&e, 0, 8);
    tx_ring_init(&e, 1, 8);
    rd(&e, ICR);
    wr(&e, IMS, ICR_TXDW);
    /* one legacy descriptor on queue 0 */
    qnet_make_frame(f, other_mac, 1, 100);
    qtest_memwrite(e.qts, TX_BUF, f, 100);
    tx_desc(&e, 0, 0, TX_BUF, 100 | TXD_EOP | TXD_IFCS | TXD_RS, 0);
    wr(&e, TDT(0), 1);
    g_assert_cmpuint(rd(&e, TDH(0)), ==, 1);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 100);
    g_assert_cmpmem(got, 100, f, 100);
    g_assert_cmphex(qtest_readb(e.qts, TX_RING + 12) & 1, ==, 1);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_TXDW | ICR_TXQE);
    g_assert_false(irq(&e));
    /* queue 1: a frame over two descriptors */
    qnet_make_frame(f, other_mac, 2, 1500);
    qtest_memwrite(e.qts, TX_BUF + 0x1000, f, 1500);
    tx_desc(&e, 1, 0, TX_BUF + 0x1000, 600, 0);
    tx_desc(&e, 1, 1, TX_BUF + 0x1000 + 600, 900 | TXD_EOP | TXD_RS, 0);
    wr(&e, TDT(1), 2);
    g_assert_cmpuint(rd(&e, TDH(1)), ==, 2);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 1500);
    g_assert_cmpmem(got, 1500, f, 1500);
    g_assert_cmphex(qtest_readb(e.qts, TX_RING1 + 16 + 12) & 1, ==, 1);
    g_assert_cmpuint(rd(&e, TPT), ==, 2);
    g_assert_cmpuint(rd(&e, TPT), ==, 0);
    g_assert_cmpuint(rd(&e, GPTC), ==, 2);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 100), ==, -1);
    env_end(&e);
}

static void check_l4_sum(const uint8_t *f, size_t len, uint8_t proto)
{
    size_t l4len = len - 34;
    uint32_t pseudo = qnet_csum(f + 26, 8, proto) + l4len;

    g_assert_cmphex(qnet_csum(f + 14, 20, 0), ==, 0xffff);
    g_assert_cmphex(qnet_csum(f + 34, l4len, pseudo), ==, 0xffff);
}

static void test_tx_offload(void)
{
    Env e;
    uint8_t f[4096], got[2048];
    uint32_t ph;
    uint16_t psum;
    ssize_t n;

    env_start(&e, NULL);
    tx_ring_init(&e, 0, 16);
    /* UDP with both sums left to the NIC: context, then data */
    make_udp(f, other_mac, 32);
    f[24] = f[25] = 0;                  /* IP sum: the NIC's */
    ph = qnet_csum(f + 26, 8, 17) + 40;
    psum = qnet_csum((uint8_t[]){ 0, 0 }, 2, ph);
    f[40] = psum >> 8;
    f[41] = psum;
    qtest_memwrite(e.qts, TX_BUF, f, 74);
    qtest_writel(e.qts, TX_RING + 0, 14 | (24 << 8) | (33u << 16));
    qtest_writel(e.qts, TX_RING + 4, 34 | (40 << 8));
    qtest_writel(e.qts, TX_RING + 8, TXD_DEXT | TXD_IP);
    tx_desc(&e, 0, 1, TX_BUF, 74 | TXD_DEXT | TXD_DTYP_D | TXD_EOP | TXD_RS,
            (POPTS_IXSM | POPTS_TXSM) << 8);
    wr(&e, TDT(0), 2);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 74);
    check_l4_sum(got, n, 17);
    /* TSO: 54-byte IPv4/TCP header, 2500 bytes at MSS 1000 */
    memcpy(f, other_mac, 6);
    memcpy(f + 6, dev_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    make_ipv4(f + 14, 6, 0, ip_a, ip_b);
    f[24] = f[25] = 0;
    memset(f + 34, 0, 20);
    f[37] = 80;
    f[41] = 1;                          /* sequence 1 */
    f[46] = 0x50;
    f[47] = 0x19;                       /* ACK, PSH, FIN */
    psum = qnet_csum((uint8_t[]){ 0, 0 }, 2, qnet_csum(f + 26, 8, 6));
    f[50] = psum >> 8;
    f[51] = psum;
    for (unsigned i = 54; i < 54 + 2500; i++) {
        f[i] = i;
    }
    qtest_memwrite(e.qts, TX_BUF + 0x1000, f, 54 + 2500);
    qtest_writel(e.qts, TX_RING + 32, 14 | (24 << 8) | (33u << 16));
    qtest_writel(e.qts, TX_RING + 36, 34 | (50 << 8));
    qtest_writel(e.qts, TX_RING + 40, 2500 | TXD_DEXT | TXD_IP | TXD_TCP |
                 TXD_TSE);
    qtest_writel(e.qts, TX_RING + 44, (54 << 8) | (1000u << 16));
    tx_desc(&e, 0, 3, TX_BUF + 0x1000, (54 + 2500) | TXD_DEXT | TXD_DTYP_D |
            TXD_TSE | TXD_EOP | TXD_RS, (POPTS_IXSM | POPTS_TXSM) << 8);
    wr(&e, TDT(0), 4);
    for (unsigned i = 0; i < 3; i++) {
        size_t pay = i < 2 ? 1000 : 500;

        n = qnet_recv(&e.peer, got, sizeof(got), 5000);
        g_assert_cmpint(n, ==, 54 + pay);
        g_assert_cmpuint((got[16] << 8) | got[17], ==, 40 + pay);
        g_assert_cmpuint((got[18] << 8) | got[19], ==, 0x1234 + i);
        g_assert_cmpuint(got[41] | got[40] << 8, ==, 1 + 1000 * i);
        g_assert_cmphex(got[47], ==, i < 2 ? 0x10 : 0x19);
        check_l4_sum(got, n, 6);
        g_assert_cmpmem(got + 54, pay, f + 54 + 1000 * i, pay);
    }
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 100), ==, -1);
    env_end(&e);
}

/* ---- receive ---------------------------------------------------------------- */

static void test_rx(void)
{
    Env e;
    uint8_t f[2048], got[2048];
    size_t len;

    env_start(&e, NULL);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0);
    /* legacy descriptors, RXCSUM's reset value (IP and L4 checked) */
    rx_ring_init(&e, 0, 8, RCTL_SECRC | RCTL_BAM);
    len = make_udp(f, dev_mac, 100);
    qnet_send(&e.peer, f, len);
    g_assert(rx_wait(&e, 0, 0, false));
    g_assert_cmpuint(qtest_readw(e.qts, RX_RING + 8), ==, len);
    /* DD EOP UDPCS TCPCS IPCS, no errors */
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 12), ==, 0x73);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 13), ==, 0);
    qtest_memread(e.qts, rx_buf(0, 0), got, len);
    g_assert_cmpmem(got, len, f, len);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_RXT0, ==, ICR_RXT0);
    /* a bad UDP checksum: TCPE */
    f[41] ^= 0xff;
    qnet_send(&e.peer, f, len);
    g_assert(rx_wait(&e, 0, 1, false));
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 16 + 13), ==, 0x20);
    /* offloads off: IXSM */
    wr(&e, RXCSUM, 0);
    qnet_send(&e.peer, f, len);
    g_assert(rx_wait(&e, 0, 2, false));
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 32 + 12), ==, 0x07);
    /* extended descriptors: status/errors in dword 2, length in 3 */
    wr(&e, RXCSUM, 0x300);
    wr(&e, RFCTL, RFCTL_EXTEN);
    rx_ring_init(&e, 0, 8, RCTL_SECRC | RCTL_BAM);
    f[41] ^= 0xff;
    f[24] ^= 0x55;                      /* a bad IP header sum */
    qnet_send(&e.peer, f, len);
    g_assert(rx_wait(&e, 0, 0, true));
    {
        uint32_t se = qtest_readl(e.qts, RX_RING + 8);
        g_assert_cmphex(se & 0x73, ==, 0x73);
        g_assert_cmphex(se >> 24, ==, 0x40);    /* IPE */
        g_assert_cmpuint(qtest_readw(e.qts, RX_RING + 12), ==, len);
        /* IP ID in dword 1 without PCSD */
        g_assert_cmphex(qtest_readw(e.qts, RX_RING + 4), ==, 0x1234);
    }
    /* VLAN: the tag is stripped into the descriptor */
    wr(&e, CTRL, rd(&e, CTRL) | CTRL_VME);
    f[24] ^= 0x55;
    memmove(f + 16, f + 12, len - 12);
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = 0x20;
    f[15] = 0x05;
    qnet_send(&e.peer, f, len + 4);
    g_assert(rx_wait(&e, 0, 1, true));
    g_assert_cmphex(qtest_readl(e.qts, RX_RING + 16 + 8) & 0x7b, ==, 0x7b);
    g_assert_cmpuint(qtest_readw(e.qts, RX_RING + 16 + 12), ==, len);
    g_assert_cmphex(qtest_readw(e.qts, RX_RING + 16 + 14), ==, 0x2005);
    g_assert_cmpuint(rd(&e, GPRC), ==, 5);
    /* another unicast address is filtered out, promiscuous takes it */
    make_udp(f, other_mac, 10);
    qnet_send(&e.peer, f, 52);
    g_usleep(100 * 1000);
    g_assert_cmpuint(rd(&e, GPRC), ==, 0);
    wr(&e, RCTL, RCTL_EN | RCTL_SECRC | RCTL_UPE);
    qnet_make_frame(f, other_mac, 9, 64);
    qnet_send(&e.peer, f, 64);
    g_assert(rx_wait(&e, 0, 2, true));
    qtest_memread(e.qts, rx_buf(0, 2), got, 64);
    g_assert_cmpmem(got, 64, f, 64);
    env_end(&e);
}

/* ---- interrupts: INTx, MSI, MSI-X ------------------------------------------ */

static void test_intx_msi(void)
{
    Env e;

    env_start(&e, NULL);
    /* INTx follows ICR & IMS; ICR reads clear; IMC masks */
    rd(&e, ICR);
    wr(&e, ICS, ICR_MDAC);
    g_assert_false(irq(&e));
    wr(&e, IMS, ICR_MDAC);
    g_assert_true(irq(&e));
    wr(&e, IMC, ICR_MDAC);
    g_assert_false(irq(&e));
    wr(&e, IMS, ICR_MDAC);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_MDAC);
    g_assert_false(irq(&e));
    /* CTRL_EXT.IAME: the ICR read masks IAM's causes */
    wr(&e, CTRL_EXT, CTRL_EXT_IAME);
    wr(&e, IAM, ICR_MDAC);
    wr(&e, ICS, ICR_MDAC);
    rd(&e, ICR);
    g_assert_cmphex(rd(&e, IMS), ==, 0);
    wr(&e, CTRL_EXT, 0);
    /* ITR: a second interrupt within ITR * 256 ns waits for the timer */
    wr(&e, ITR, 4000);                  /* 1.024 ms */
    wr(&e, IMS, ICR_MDAC);
    wr(&e, ICS, ICR_MDAC);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    wr(&e, ICS, ICR_MDAC);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 1100 * 1000);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    wr(&e, ITR, 0);
    /* MSI: a message per new cause, no INTx */
    qpci_cfg_writel(e.qts, DEVFN, MSI_CAP + 4, (uint32_t)MSG_ADDR);
    qpci_cfg_writel(e.qts, DEVFN, MSI_CAP + 8, 0);
    qpci_cfg_writew(e.qts, DEVFN, MSI_CAP + 12, 0x4321);
    qpci_cfg_writew(e.qts, DEVFN, MSI_CAP + 2, 1);
    qtest_writel(e.qts, MSG_ADDR, 0);
    wr(&e, ICS, ICR_MDAC);
    g_assert_false(irq(&e));
    g_assert_cmphex(qtest_readl(e.qts, MSG_ADDR), ==, 0x4321);
    env_end(&e);
}

static void msix_entry(Env *e, unsigned v)
{
    uint64_t t = BAR3 + 16 * v;

    qtest_writel(e->qts, t, (uint32_t)(MSG_ADDR + 4 * v));
    qtest_writel(e->qts, t + 4, 0);
    qtest_writel(e->qts, t + 8, 0xa0 + v);
    qtest_writel(e->qts, t + 12, 0);
    qtest_writel(e->qts, MSG_ADDR + 4 * v, 0);
}

static uint32_t msg(Env *e, unsigned v)
{
    uint32_t m = qtest_readl(e->qts, MSG_ADDR + 4 * v);

    qtest_writel(e->qts, MSG_ADDR + 4 * v, 0);
    return m;
}

static void test_msix(void)
{
    Env e;
    uint8_t f[128];

    env_start(&e, NULL);
    qpci_cfg_writew(e.qts, DEVFN, MSIX_CAP + 2, 0x8000);
    for (unsigned v = 0; v < 5; v++) {
        msix_entry(&e, v);
    }
    /* IVAR as Linux sets it: RxQ0 -> 0, RxQ1 -> 1, TxQ0 -> 2, TxQ1 -> 3,
     * Other -> 4, all valid */
    wr(&e, IVAR, 0x8 | (0x9 << 4) | (0xa << 8) | (0xb << 12) |
       (0xc << 16) | (1u << 31));
    wr(&e, EIAC, ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1);
    wr(&e, IMS, ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 | ICR_OTHER |
       ICR_LSC);
    /* receive on queue 0: vector 0, and the queue cause auto-clears */
    rx_ring_init(&e, 0, 8, RCTL_SECRC);
    qnet_make_frame(f, dev_mac, 1, 64);
    qnet_send(&e.peer, f, 64);
    g_assert(rx_wait(&e, 0, 0, false));
    g_assert_cmphex(msg(&e, 0), ==, 0xa0);
    g_assert_false(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & (ICR_RXQ0 | ICR_RXT0), ==, ICR_RXT0);
    /* transmit on queues 0 and 1: vectors 2 and 3 */
    tx_ring_init(&e, 0, 8);
    tx_ring_init(&e, 1, 8);
    qtest_memwrite(e.qts, TX_BUF, f, 64);
    tx_desc(&e, 0, 0, TX_BUF, 64 | TXD_EOP | TXD_RS, 0);
    wr(&e, TDT(0), 1);
    g_assert_cmphex(msg(&e, 2), ==, 0xa2);
    g_assert_cmphex(msg(&e, 3), ==, 0);
    tx_desc(&e, 1, 0, TX_BUF, 64 | TXD_EOP | TXD_RS, 0);
    wr(&e, TDT(1), 1);
    g_assert_cmphex(msg(&e, 3), ==, 0xa3);
    g_assert_cmpint(qnet_recv(&e.peer, f, sizeof(f), 5000), ==, 64);
    g_assert_cmpint(qnet_recv(&e.peer, f, sizeof(f), 5000), ==, 64);
    /* link change: Other (vector 4), not auto-cleared */
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":false}}");
    g_assert_cmphex(msg(&e, 4), ==, 0xa4);
    g_assert_cmphex(rd(&e, ICR) & (ICR_OTHER | ICR_LSC), ==,
                    ICR_OTHER | ICR_LSC);
    /* a masked vector stays pending until unmasked */
    qtest_writel(e.qts, BAR3 + 16 * 4 + 12, 1);
    wr(&e, ICS, ICR_OTHER);
    g_assert_cmphex(msg(&e, 4), ==, 0);
    g_assert_cmphex(qtest_readl(e.qts, BAR3 + 0x2000) & 0x10, ==, 0x10);
    qtest_writel(e.qts, BAR3 + 16 * 4 + 12, 0);
    g_assert_cmphex(msg(&e, 4), ==, 0xa4);
    /* EIAME: firing masks IAM's causes */
    wr(&e, CTRL_EXT, CTRL_EXT_EIAME);
    wr(&e, IAM, ICR_TXQ0);
    wr(&e, ICS, ICR_TXQ0);
    g_assert_cmphex(msg(&e, 2), ==, 0xa2);
    g_assert_cmphex(rd(&e, IMS) & ICR_TXQ0, ==, 0);
    wr(&e, ICS, ICR_TXQ0);
    g_assert_cmphex(msg(&e, 2), ==, 0);
    /* EITR throttles a vector */
    wr(&e, EITR + 4, 4000);
    wr(&e, ICS, ICR_RXQ1);
    g_assert_cmphex(msg(&e, 1), ==, 0xa1);
    wr(&e, ICS, ICR_RXQ1);
    g_assert_cmphex(msg(&e, 1), ==, 0);
    qtest_clock_step(e.qts, 1100 * 1000);
    g_assert_cmphex(msg(&e, 1), ==, 0xa1);
    env_end(&e);
}

/* ---- RSS --------------------------------------------------------------------- */

static void test_rss(void)
{
    /* The Microsoft RSS verification key and its first IPv4 example:
     * 66.9.149.187:2794 -> 161.142.100.80:1766, TCP hash 0x51ccc178. */
    static const uint8_t key[40] = {
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
        0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
        0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
        0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    };
    static const uint8_t src[4] = { 66, 9, 149, 187 };
    static const uint8_t dst[4] = { 161, 142, 100, 80 };
    Env e;
    uint8_t f[128];
    uint32_t ph;
    uint16_t c;

    env_start(&e, NULL);
    for (unsigned i = 0; i < 10; i++) {
        wr(&e, RSSRK + 4 * i, key[4 * i] | key[4 * i + 1] << 8 |
           key[4 * i + 2] << 16 | (uint32_t)key[4 * i + 3] << 24);
    }
    for (unsigned i = 0; i < 32; i++) {
        wr(&e, RETA + 4 * i, 0x80808080);        /* every entry: queue 1 */
    }
    wr(&e, MRQC, 1 | (1u << 16) | (1u << 17));  /* RSS, TCP/IPv4, IPv4 */
    wr(&e, RXCSUM, 0x300 | RXCSUM_PCSD);
    wr(&e, RFCTL, RFCTL_EXTEN);
    rx_ring_init(&e, 1, 8, RCTL_SECRC);
    rx_ring_init(&e, 0, 8, RCTL_SECRC);
    memcpy(f, dev_mac, 6);
    memcpy(f + 6, other_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    ph = make_ipv4(f + 14, 6, 40, src, dst);
    memset(f + 34, 0, 20);
    f[34] = 2794 >> 8;
    f[35] = 2794 & 0xff;
    f[36] = 1766 >> 8;
    f[37] = 1766 & 0xff;
    f[46] = 0x50;
    c = ~qnet_csum(f + 34, 20, ph + 20);
    f[50] = c >> 8;
    f[51] = c;
    qnet_send(&e.peer, f, 54);
    g_assert(rx_wait(&e, 1, 0, true));
    g_assert_cmphex(qtest_readl(e.qts, RX_RING1), ==, 1 | (1 << 8));
    g_assert_cmphex(qtest_readl(e.qts, RX_RING1 + 4), ==, 0x51ccc178);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 8), ==, 0);
    g_assert_cmpuint(rd(&e, RDH(1)), ==, 1);
    /* RETA entry hash & 0x7f = 0x78 to queue 0 */
    wr(&e, RETA + 0x78, 0);
    qnet_send(&e.peer, f, 54);
    g_assert(rx_wait(&e, 0, 0, true));
    g_assert_cmphex(qtest_readl(e.qts, RX_RING + 4), ==, 0x51ccc178);
    /* IPv4 only (no TCP hash type): 0x323e8fc2 */
    wr(&e, MRQC, 1 | (1u << 17));
    wr(&e, RETA + 0x40, 0);
    qnet_send(&e.peer, f, 54);
    g_assert(rx_wait(&e, 0, 1, true));
    g_assert_cmphex(qtest_readl(e.qts, RX_RING + 16), ==, 2);
    g_assert_cmphex(qtest_readl(e.qts, RX_RING + 16 + 4), ==, 0x323e8fc2);
    /* not IP: no hash, queue 0 */
    qnet_make_frame(f, dev_mac, 1, 64);
    qnet_send(&e.peer, f, 64);
    g_assert(rx_wait(&e, 0, 2, true));
    g_assert_cmphex(qtest_readl(e.qts, RX_RING + 32), ==, 0);
    env_end(&e);
}

/* ---- announce-self over a dgram netdev -------------------------------------- */

/*
 * The test holds the remote end of a unix "dgram" netdev: every RARP
 * frame of every round is one datagram, from the e1000e's MAC.
 */
static void test_announce_dgram(void)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    g_autofree char *dir = g_dir_make_tmp("kvmpc-e1000e-XXXXXX", NULL);
    g_autofree char *peer = g_build_filename(dir, "peer.sock", NULL);
    g_autofree char *local = g_build_filename(dir, "nic.sock", NULL);
    g_autofree char *qmp = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *args = NULL;
    QTestState *q;
    QMPConn *c;
    uint8_t got[128];
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    unsigned frames = 0;

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sun.sun_path, peer, sizeof(sun.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    args = g_strdup_printf("-netdev dgram,id=d0,local.type=unix,"
                           "local.path=%s,remote.type=unix,remote.path=%s "
                           "-device e1000e,netdev=d0,id=nic1,addr=03.0,"
                           "mac=52:54:00:aa:bb:cc -qmp unix:%s,server=on,"
                           "wait=off", local, peer, qmp);
    q = qtest_init(args);
    c = qmp_connect(qmp);
    {
        g_autofree char *r = qmp_cmd(c, "{\"execute\":\"announce-self\","
            "\"arguments\":{\"initial\":20,\"max\":40,\"rounds\":4,"
            "\"step\":10,\"interfaces\":[\"nic1\"]}}");
        g_assert_nonnull(strstr(r, "\"return\""));
    }
    for (;;) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&pf, 1, frames < 4 ? 5000 : 300) <= 0) {
            break;
        }
        n = recv(fd, got, sizeof(got), 0);
        g_assert_cmpint(n, ==, 60);
        g_assert_cmphex(got[12] << 8 | got[13], ==, 0x8035);
        g_assert_cmpmem(got + 6, 6, dev_mac, 6);
        g_assert_cmpmem(got + 22, 6, dev_mac, 6);
        frames++;
    }
    g_assert_cmpuint(frames, ==, 4);
    qmp_close(c);
    g_assert_cmpint(qtest_quit(q), ==, 0);
    close(fd);
    unlink(peer);
    unlink(local);
    unlink(qmp);
    rmdir(dir);
}

/* ---- interrupt delay timers (7.4.4) ---------------------------------------- */

#define RDTR            0x02820
#define RADV            0x0282c
#define TIDV            0x03820
#define TADV            0x0382c
#define ICR_RXDMT0      0x10
#define ICR_SRPD        0x10000
#define RSRPD           0x02c00
#define TXD_IDE         (1u << 31)
#define DELAY_FPD       0x80000000u
#define US              1000

/* Send a 64-byte frame to the device and wait for descriptor @i. */
static void rx_one(Env *e, unsigned i, uint32_t seq, bool ext)
{
    uint8_t f[64];

    qnet_make_frame(f, dev_mac, seq, 64);
    qnet_send(&e->peer, f, 64);
    g_assert(rx_wait(e, 0, i, ext));
}

static void test_delay_timers(void)
{
    Env e;
    uint8_t f[128], got[128];

    env_start(&e, NULL);
    rx_ring_init(&e, 0, 32, RCTL_SECRC);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0 | ICR_TXDW | ICR_RXDMT0);
    /* RDTR 100 (102.4 us), no RADV: RXT0 102.4 us after the frame */
    wr(&e, RDTR, 100);
    g_assert_cmphex(rd(&e, RDTR), ==, 100);
    rx_one(&e, 0, 1, false);
    g_assert_false(irq(&e));
    g_assert_cmphex(rd(&e, ICS), ==, 0);
    qtest_clock_step(e.qts, 90 * US);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 20 * US);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_RXT0);
    g_assert_false(irq(&e));
    /* each frame restarts RDTR; RADV 150 (153.6 us) bounds the wait */
    wr(&e, RADV, 150);
    rx_one(&e, 1, 2, false);
    qtest_clock_step(e.qts, 80 * US);
    rx_one(&e, 2, 3, false);
    qtest_clock_step(e.qts, 60 * US);   /* 140 us: RDTR restarted at 80 */
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 20 * US);   /* 160 us: RADV ended at 153.6 */
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_RXT0, ==, ICR_RXT0);
    /* without RADV the restarted RDTR alone decides: 80 + 102.4 us */
    wr(&e, RADV, 0);
    rx_one(&e, 3, 4, false);
    qtest_clock_step(e.qts, 80 * US);
    rx_one(&e, 4, 5, false);
    qtest_clock_step(e.qts, 90 * US);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 20 * US);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* FPD flushes the wait */
    rx_one(&e, 5, 6, false);
    g_assert_false(irq(&e));
    wr(&e, RDTR, 100 | DELAY_FPD);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_RXT0, ==, ICR_RXT0);
    g_assert_cmphex(rd(&e, RDTR), ==, 100);
    /* any other cause takes the waiting ones with it (QEMU's rule) */
    rx_one(&e, 6, 7, false);
    g_assert_false(irq(&e));
    wr(&e, ICS, ICR_MDAC);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_RXT0 | ICR_MDAC);
    qtest_clock_step(e.qts, 200 * US);  /* the timers were stopped */
    g_assert_false(irq(&e));
    /* RXDMT0 cannot wait: the last free descriptor used (RDMTS 1/2) */
    wr(&e, RDT(0), 8);
    rx_one(&e, 7, 8, false);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_RXT0 | ICR_RXDMT0);
    /* RSRPD: a frame shorter than it raises SRPD, which does not wait */
    wr(&e, RDT(0), 31);
    wr(&e, RSRPD, 0xf000 | 65);
    g_assert_cmphex(rd(&e, RSRPD), ==, 65);
    wr(&e, IMS, ICR_SRPD);
    rx_one(&e, 8, 9, false);            /* 64 bytes */
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_RXT0 | ICR_SRPD);
    wr(&e, RSRPD, 64);
    rx_one(&e, 9, 10, false);
    g_assert_false(irq(&e));
    wr(&e, RDTR, 100 | DELAY_FPD);
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_RXT0);
    wr(&e, IMC, ICR_SRPD);
    wr(&e, RDTR, 0);

    /* TIDV 50 (51.2 us) for descriptors with IDE; TADV 80 bounds it */
    tx_ring_init(&e, 0, 8);
    rd(&e, ICR);
    wr(&e, TIDV, 50);
    wr(&e, TADV, 80);
    qnet_make_frame(f, other_mac, 1, 100);
    qtest_memwrite(e.qts, TX_BUF, f, 100);
    tx_desc(&e, 0, 0, TX_BUF, 100 | TXD_EOP | TXD_RS | TXD_IDE, 0);
    wr(&e, TDT(0), 1);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 100);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 40 * US);
    tx_desc(&e, 0, 1, TX_BUF, 100 | TXD_EOP | TXD_RS | TXD_IDE, 0);
    wr(&e, TDT(0), 2);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 100);
    qtest_clock_step(e.qts, 30 * US);   /* 70 us: TIDV restarted at 40 */
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 15 * US);   /* 85 us: TADV ended at 81.9 */
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_TXDW | ICR_TXQE);
    /* a descriptor without IDE: at once */
    tx_desc(&e, 0, 2, TX_BUF, 100 | TXD_EOP | TXD_RS, 0);
    wr(&e, TDT(0), 3);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 100);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* TIDV's FPD flushes */
    tx_desc(&e, 0, 3, TX_BUF, 100 | TXD_EOP | TXD_RS | TXD_IDE, 0);
    wr(&e, TDT(0), 4);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 100);
    g_assert_false(irq(&e));
    wr(&e, TIDV, 50 | DELAY_FPD);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* TIDV 0: no delay even with IDE */
    wr(&e, TIDV, 0);
    tx_desc(&e, 0, 4, TX_BUF, 100 | TXD_EOP | TXD_RS | TXD_IDE, 0);
    wr(&e, TDT(0), 5);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 100);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* ITR still throttles what the delay releases */
    wr(&e, TIDV, 10);
    wr(&e, ITR, 4000);                  /* 1.024 ms */
    wr(&e, ICS, ICR_MDAC);
    wr(&e, IMS, ICR_MDAC);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    tx_desc(&e, 0, 5, TX_BUF, 100 | TXD_EOP | TXD_RS | TXD_IDE, 0);
    wr(&e, TDT(0), 6);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 100);
    qtest_clock_step(e.qts, 20 * US);   /* TIDV ended, ITR holds it */
    g_assert_false(irq(&e));
    g_assert_cmphex(rd(&e, ICS) & ICR_TXDW, ==, ICR_TXDW);
    qtest_clock_step(e.qts, 1100 * US);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    wr(&e, ITR, 0);

    /* MSI-X: no delay (EITR moderates), as QEMU */
    wr(&e, RDTR, 100);
    msix_entry(&e, 0);
    qpci_cfg_writew(e.qts, DEVFN, MSIX_CAP + 2, 0x8000);
    wr(&e, IVAR, 0x8);                  /* RxQ0 -> vector 0 */
    wr(&e, IMS, ICR_RXQ0);
    qtest_writel(e.qts, MSG_ADDR, 0);
    rx_ring_init(&e, 0, 16, RCTL_SECRC);
    rx_one(&e, 0, 9, false);
    for (int t = 0; t < 1000 && !qtest_readl(e.qts, MSG_ADDR); t++) {
        g_usleep(1000);
    }
    g_assert_cmphex(qtest_readl(e.qts, MSG_ADDR), ==, 0xa0);
    env_end(&e);
}

/* Causes waiting for a delay timer, and the timer, survive migration. */
static void test_delay_migration(void)
{
    g_autofree char *mig = NULL, *cmd = NULL, *args = NULL, *nd = NULL;
    Env e, d;

    env_start(&e, NULL);
    rx_ring_init(&e, 0, 8, RCTL_SECRC);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0);
    wr(&e, RDTR, 1000);                 /* 1.024 ms */
    rx_one(&e, 0, 1, false);
    qtest_clock_step(e.qts, 500 * US);
    g_assert_false(irq(&e));
    mig = g_build_filename(e.peer.dir, "mig", NULL);
    cmd = g_strdup_printf("{\"execute\":\"migrate\",\"arguments\":"
                          "{\"uri\":\"file:%s\"}}", mig);
    qmp_assert_ok(e.qmp, cmd);
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\":\"query-migrate\"}");
        if (strstr(r, "\"completed\"")) {
            break;
        }
        g_usleep(10000);
    }
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    qnet_listen(&d.peer);
    nd = qnet_netdev_arg(&d.peer, "n0");
    args = g_strdup_printf("%s -device e1000e,netdev=n0,id=nic0,addr=03.0,"
                           "mac=52:54:00:aa:bb:cc -incoming file:%s", nd,
                           mig);
    d.qts = qtest_init(args);
    qnet_accept(&d.peer);
    for (int t = 0; t < 2000; t++) {
        if (qtest_readl(d.qts, BAR0 + RDTR) == 1000) {
            break;
        }
        g_usleep(1000);
    }
    g_assert_cmphex(qtest_readl(d.qts, BAR0 + RDTR), ==, 1000);
    qtest_irq_intercept_in(d.qts, "ioapic");
    /* still waiting: nothing raised early, the rest of the delay runs */
    g_assert_cmphex(qtest_readl(d.qts, BAR0 + ICS) & ICR_RXT0, ==, 0);
    qtest_clock_step(d.qts, 400 * US);
    g_assert_cmphex(qtest_readl(d.qts, BAR0 + ICS) & ICR_RXT0, ==, 0);
    qtest_clock_step(d.qts, 200 * US);
    g_assert_cmphex(qtest_readl(d.qts, BAR0 + ICS) & ICR_RXT0, ==, ICR_RXT0);
    g_assert_true(qtest_get_irq(d.qts, IRQ));
    g_assert_cmpint(qtest_quit(d.qts), ==, 0);
    unlink(mig);
    qnet_close(&d.peer);
    qnet_close(&e.peer);
}

/* ---- packet split (7.1.4.2, 7.1.5.3) ---------------------------------------- */

#define PSRCTL          0x02170
#define RFCTL_IPFRSP_DIS (1u << 14)
#define PS_RING         0x204000ULL
#define PS_BUF          0x400000ULL     /* + desc * 0x20000 + buf * 0x8000 */

static uint64_t ps_buf(unsigned i, unsigned b)
{
    return PS_BUF + i * 0x20000 + b * 0x8000;
}

static void ps_ring_init(Env *e, unsigned n, uint32_t psrctl)
{
    qtest_memset(e->qts, PS_RING, 0, 32 * n);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned b = 0; b < 4; b++) {
            qtest_writeq(e->qts, PS_RING + 32 * i + 8 * b, ps_buf(i, b));
            qtest_memset(e->qts, ps_buf(i, b), 0xee, 0x8000);
        }
    }
    wr(e, RFCTL, RFCTL_EXTEN);
    wr(e, PSRCTL, psrctl);
    wr(e, RDBAL(0), (uint32_t)PS_RING);
    wr(e, RDBAH(0), 0);
    wr(e, RDLEN(0), 32 * n);
    wr(e, RDH(0), 0);
    wr(e, RDT(0), n - 1);
    wr(e, RCTL, RCTL_EN | RCTL_SECRC | RCTL_DTYP_PS | RCTL_BAM);
}

static bool ps_wait(Env *e, unsigned i)
{
    for (int t = 0; t < 5000; t++) {
        if (qtest_readb(e->qts, PS_RING + 32 * i + 8) & 1) {
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

/* A TCP/IPv4 frame: a 32-byte TCP header (12 bytes of options). */
static size_t make_tcp(uint8_t *f, unsigned payload)
{
    uint32_t ph;
    uint16_t c;

    memcpy(f, dev_mac, 6);
    memcpy(f + 6, other_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    ph = make_ipv4(f + 14, 6, 20 + 32 + payload, ip_a, ip_b);
    memset(f + 34, 0, 32);
    f[35] = 80;
    f[37] = 81;
    f[46] = 8 << 4;                     /* data offset: 32 bytes */
    f[47] = 0x18;
    f[54] = 1;                          /* NOP options */
    memset(f + 54, 1, 12);
    for (unsigned i = 0; i < payload; i++) {
        f[66 + i] = i * 5 + 1;
    }
    c = ~qnet_csum(f + 34, 32 + payload, ph + 32 + payload);
    f[50] = c >> 8;
    f[51] = c;
    return 66 + payload;
}

/* Check descriptor @i: buffer lengths, header status, the bytes. */
static void ps_check(Env *e, unsigned i, const uint8_t *f, const uint16_t *len,
                     uint16_t hdrstat, bool eop)
{
    uint64_t d = PS_RING + 32 * i;
    uint8_t got[0x8000];
    size_t off = 0;

    g_assert_cmphex(qtest_readl(e->qts, d + 8) & 3, ==, eop ? 3 : 1);
    g_assert_cmpuint(qtest_readw(e->qts, d + 12), ==, len[0]);
    g_assert_cmphex(qtest_readw(e->qts, d + 16), ==, hdrstat);
    for (unsigned b = 1; b < 4; b++) {
        g_assert_cmpuint(qtest_readw(e->qts, d + 16 + 2 * b), ==, len[b]);
    }
    g_assert_cmphex(qtest_readq(e->qts, d + 24), ==, 0);
    for (unsigned b = 0; b < 4; b++) {
        qtest_memread(e->qts, ps_buf(i, b), got, len[b] + 1);
        g_assert_cmpmem(got, len[b], f + off, len[b]);
        g_assert_cmphex(got[len[b]], ==, 0xee);     /* nothing past it */
        off += len[b];
    }
}

static void test_packet_split(void)
{
    Env e;
    static uint8_t f[9100];
    size_t len;

    env_start(&e, NULL);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0);
    /* Linux's layout: 128-byte header buffer, 4 KiB pages */
    ps_ring_init(&e, 8, 1 | 4 << 8 | 4 << 16 | 4 << 24);
    /* TCP: 14 + 20 + 32 = 66 header bytes alone in buffer 0 */
    len = make_tcp(f, 1000);
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 0));
    ps_check(&e, 0, f, (uint16_t[]){ 66, 1000, 0, 0 }, 66 | 0x8000, true);
    /* the extended fields: TCPCS IPCS, no errors, IP ID */
    g_assert_cmphex(qtest_readl(e.qts, PS_RING + 8) & 0x60, ==, 0x60);
    g_assert_cmphex(qtest_readl(e.qts, PS_RING + 8) >> 24, ==, 0);
    g_assert_cmphex(qtest_readw(e.qts, PS_RING + 4), ==, 0x1234);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_RXT0, ==, ICR_RXT0);
    g_assert_cmpuint(rd(&e, GPRC), ==, 1);
    /* a jumbo TCP frame over the three pages */
    wr(&e, RCTL, rd(&e, RCTL) | E1000E_RCTL_LPE);
    len = make_tcp(f, 9000);
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 1));
    ps_check(&e, 1, f, (uint16_t[]){ 66, 4096, 4096, 808 }, 66 | 0x8000,
             true);
    /* UDP: 42 header bytes */
    len = make_udp(f, dev_mac, 300);
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 2));
    ps_check(&e, 2, f, (uint16_t[]){ 42, 300, 0, 0 }, 42 | 0x8000, true);
    /* not IP: no split, buffer 0 filled first, no HS */
    qnet_make_frame(f, dev_mac, 3, 1000);
    qnet_send(&e.peer, f, 1000);
    g_assert(ps_wait(&e, 3));
    ps_check(&e, 3, f, (uint16_t[]){ 128, 872, 0, 0 }, 0, true);
    /* an IPv4 fragment: split after the IP header; with IPFRSP_DIS not */
    len = make_udp(f, dev_mac, 300);
    f[20] = 0x20;                       /* more fragments */
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 4));
    ps_check(&e, 4, f, (uint16_t[]){ 34, len - 34, 0, 0 }, 34 | 0x8000,
             true);
    wr(&e, RFCTL, RFCTL_EXTEN | RFCTL_IPFRSP_DIS);
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 5));
    ps_check(&e, 5, f, (uint16_t[]){ 128, len - 128, 0, 0 }, 0, true);

    /* other sizes: 256-byte buffer 0, 1 KiB, 2 KiB, 1 KiB; with FCS */
    ps_ring_init(&e, 8, 2 | 1 << 8 | 2 << 16 | 1 << 24);
    wr(&e, RCTL, (rd(&e, RCTL) & ~RCTL_SECRC) | E1000E_RCTL_LPE);
    len = make_tcp(f, 3000);
    {
        uint32_t fcs = qnet_crc32(f, len);
        memcpy(f + len, &fcs, 4);
    }
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 0));
    ps_check(&e, 0, f, (uint16_t[]){ 66, 1024, 1980, 0 }, 66 | 0x8000,
             true);
    g_assert_cmphex(qtest_readb(e.qts, PS_RING + 32 + 8), ==, 0);
    /* a frame larger than one descriptor spans two (EOP on the second,
     * whose buffer 0 takes data: the header went with the first) */
    len = make_tcp(f, 5000);
    {
        uint32_t fcs = qnet_crc32(f, len);
        memcpy(f + len, &fcs, 4);
    }
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 2));
    ps_check(&e, 1, f, (uint16_t[]){ 66, 1024, 2048, 1024 }, 66 | 0x8000,
             false);
    ps_check(&e, 2, f + 66 + 4096, (uint16_t[]){ 256, len + 4 - 4162 - 256,
             0, 0 }, 0, true);
    env_end(&e);
}

/* Hostile PSRCTL values: zero sizes, a header larger than buffer 0. */
static void test_packet_split_hostile(void)
{
    Env e;
    static uint8_t f[2048];
    size_t len;

    env_start(&e, NULL);
    /* every size 0: the frame is missed (RXO, MPC), nothing written */
    ps_ring_init(&e, 8, 0);
    len = make_tcp(f, 100);
    qnet_send(&e.peer, f, len);
    for (int t = 0; t < 2000 && !(rd(&e, ICS) & ICR_RXO); t++) {
        g_usleep(1000);
    }
    g_assert_cmpuint(rd(&e, MPC), ==, 1);
    g_assert_cmpuint(rd(&e, RDH(0)), ==, 0);
    g_assert_cmphex(qtest_readb(e.qts, PS_RING + 8), ==, 0);
    /* buffer 0 of 0 bytes: no split, the frame in buffers 1-3 */
    ps_ring_init(&e, 8, 0 | 1 << 8 | 1 << 16);
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 0));
    ps_check(&e, 0, f, (uint16_t[]){ 0, len, 0, 0 }, 0, true);
    /* the largest sizes (127 * 128 bytes, 63 KiB) */
    ps_ring_init(&e, 8, 0x3f3f3f7f);
    len = make_udp(f, dev_mac, 1400);
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 0));
    ps_check(&e, 0, f, (uint16_t[]){ 42, 1400, 0, 0 }, 42 | 0x8000, true);
    /* IP options: 14 + 60 + 32 = 106 header bytes fit a 128-byte buffer
     * 0; with a 60-byte TCP header (134 bytes) the frame is not split */
    ps_ring_init(&e, 8, 1 | 2 << 8);
    len = make_tcp(f, 200);
    memmove(f + 14 + 60, f + 14 + 20, len - 34);
    f[14] = 0x4f;                       /* IHL 15: 60 bytes of IP header */
    memset(f + 34, 1, 40);
    f[16] = (len + 40 - 14) >> 8;
    f[17] = (len + 40 - 14);
    len += 40;                          /* 14 + 60 + 32 = 106 <= 128 */
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 0));
    ps_check(&e, 0, f, (uint16_t[]){ 106, len - 106, 0, 0 }, 106 | 0x8000,
             true);
    f[46 + 40] = 15 << 4;               /* TCP header 60 > what is there */
    memset(f + 66 + 40, 1, 28);
    qnet_send(&e.peer, f, len);         /* 14 + 60 + 60 = 134 > 128 */
    g_assert(ps_wait(&e, 1));
    ps_check(&e, 1, f, (uint16_t[]){ 128, len - 128, 0, 0 }, 0, true);
    /* a ring of 32-byte descriptors whose buffers lie outside RAM */
    ps_ring_init(&e, 4, 1 | 1 << 8);
    for (unsigned b = 0; b < 4; b++) {
        qtest_writeq(e.qts, PS_RING + 8 * b, 0xfffffffffff000ULL);
    }
    qnet_send(&e.peer, f, len);
    g_assert(ps_wait(&e, 0));
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    env_end(&e);
}

/* ---- hostile guests ---------------------------------------------------------- */

static void test_hostile(void)
{
    Env e;
    uint8_t f[128];
    int64_t t0 = g_get_monotonic_time();

    env_start(&e, NULL);
    /* TX: zero-length ring, TDT beyond the ring, ring outside RAM */
    wr(&e, TCTL, TCTL_EN);
    wr(&e, TDLEN(1), 0);
    wr(&e, TDT(1), 5);
    g_assert_cmpuint(rd(&e, TDH(1)), ==, 0);
    tx_ring_init(&e, 0, 8);
    for (unsigned i = 0; i < 8; i++) {
        tx_desc(&e, 0, i, TX_BUF, 0, 0);
    }
    wr(&e, TDT(0), 100);
    g_assert_cmpuint(rd(&e, TDH(0)), <, 8);
    wr(&e, TDBAL(0), 0xfffff000);
    wr(&e, TDBAH(0), 0xffff);
    wr(&e, TDH(0), 0);
    wr(&e, TDT(0), 3);
    g_assert_cmpuint(rd(&e, TDH(0)), ==, 0);
    /* TSO with MSS 0 and a 1 MiB descriptor; a buffer outside RAM */
    tx_ring_init(&e, 0, 8);
    qtest_writel(e.qts, TX_RING + 8, 0xfffff | TXD_DEXT | TXD_IP | TXD_TCP |
                 TXD_TSE);
    qtest_writel(e.qts, TX_RING + 12, 54 << 8);
    tx_desc(&e, 0, 1, 0x100000, 0xfffff | TXD_DEXT | TXD_DTYP_D | TXD_TSE |
            TXD_EOP, (POPTS_IXSM | POPTS_TXSM) << 8);
    tx_desc(&e, 0, 2, 0xfffffffffff0ULL, 1000 | TXD_EOP, 0);
    wr(&e, TDT(0), 3);
    /* the segments (MSS raised to 64) flow while the test reads them */
    while (qnet_recv(&e.peer, f, sizeof(f), 500) >= 0) {
    }
    g_assert_cmpuint(rd(&e, TDH(0)), ==, 3);
    /* RX: DTYP 01 without RFCTL.EXTEN is a legacy ring (as QEMU) */
    rx_ring_init(&e, 0, 8, RCTL_SECRC | RCTL_DTYP_PS);
    qnet_make_frame(f, dev_mac, 1, 64);
    qnet_send(&e.peer, f, 64);
    g_assert(rx_wait(&e, 0, 0, false));
    g_assert_cmpuint(qtest_readw(e.qts, RX_RING + 8), ==, 64);
    g_assert_cmpuint(rd(&e, MPC), ==, 0);
    /* RX: RDH outside the ring: the frame waits, nothing is written */
    rx_ring_init(&e, 0, 8, RCTL_SECRC);
    wr(&e, RDH(0), 50);
    qnet_send(&e.peer, f, 64);
    g_usleep(50 * 1000);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 12), ==, 0);
    wr(&e, RDH(0), 0);
    wr(&e, RDT(0), 7);
    g_assert(rx_wait(&e, 0, 0, false));
    /* PHY page past the last, MDIC to every register */
    mdic(&e, MDIC_WRITE, 1, 22, 0xffff);
    for (unsigned r = 0; r < 32; r++) {
        mdic(&e, MDIC_WRITE, 1, r, 0xffff);
        mdic(&e, MDIC_READ, 1, r, 0);
    }
    mdic(&e, MDIC_WRITE, 1, 22, 0);
    /* IVAR naming vectors 5-7 (there are 5): nothing is sent */
    qpci_cfg_writew(e.qts, DEVFN, MSIX_CAP + 2, 0x8000);
    wr(&e, IVAR, 0xffffffff);
    wr(&e, IMS, 0xffffffff);
    wr(&e, ICS, 0xffffffff);
    /* register space edges and the BARs' odd corners */
    g_assert_cmphex(qtest_readl(e.qts, BAR0 + 0x1fffc), ==, 0);
    qtest_writel(e.qts, BAR0 + 0x1fffc, 0xffffffff);
    qtest_writel(e.qts, BAR1 + 0x1fffc, 0xffffffff);
    qtest_writel(e.qts, BAR3 + 0x3ffc, 0xffffffff);
    qtest_outl(e.qts, IOBASE, 0xffffffff);
    qtest_outl(e.qts, IOBASE + 4, 0x12345678);
    qtest_outl(e.qts, IOBASE + 0x1c, 1);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    env_end(&e);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/e1000e/ids", test_ids);
    g_test_add_func("/e1000e/nvm", test_nvm);
    g_test_add_func("/e1000e/phy", test_phy);
    g_test_add_func("/e1000e/tx", test_tx);
    g_test_add_func("/e1000e/tx-offload", test_tx_offload);
    g_test_add_func("/e1000e/rx", test_rx);
    g_test_add_func("/e1000e/intx-msi", test_intx_msi);
    g_test_add_func("/e1000e/msix", test_msix);
    g_test_add_func("/e1000e/rss", test_rss);
    g_test_add_func("/e1000e/announce-dgram", test_announce_dgram);
    g_test_add_func("/e1000e/hostile", test_hostile);
    g_test_add_func("/e1000e/delay-timers", test_delay_timers);
    g_test_add_func("/e1000e/delay-migration", test_delay_migration);
    g_test_add_func("/e1000e/packet-split", test_packet_split);
    g_test_add_func("/e1000e/packet-split-hostile", test_packet_split_hostile);
    return g_test_run();
}
