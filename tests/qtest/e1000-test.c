/*
 * e1000 (82540EM) with the test as both the driver (register accesses
 * and descriptor rings in guest memory over qtest) and the network peer
 * (a stream netdev on a UNIX socket the test holds).  Register names
 * from Intel's 8254x Software Developer's Manual, as in hw/net/e1000.c.
 */
#include "libqvirtio.h"
#include "libqnet.h"

#define DEVFN           PCI_DEVFN(3, 0)
#define PIIX3           PCI_DEVFN(1, 0)
#define IRQ             11
#define BAR0            0xe0000000ULL
#define IOBASE          0xc000
#define ROMADDR         0xe0100000ULL
#define TX_RING         0x200000ULL
#define RX_RING         0x201000ULL
#define TX_BUF          0x210000ULL
#define RX_BUF          0x240000ULL     /* + i * 0x1000 */

#define PCI_DEVFN(s, f) (((s) << 3) | (f))

#define CTRL            0x00000
#define STATUS          0x00008
#define EECD            0x00010
#define EERD            0x00014
#define MDIC            0x00020
#define ICR             0x000c0
#define ITR             0x000c4
#define ICS             0x000c8
#define IMS             0x000d0
#define IMC             0x000d8
#define RCTL            0x00100
#define TCTL            0x00400
#define RDBAL           0x02800
#define RDBAH           0x02804
#define RDLEN           0x02808
#define RDH             0x02810
#define RDT             0x02818
#define TDBAL           0x03800
#define TDBAH           0x03804
#define TDLEN           0x03808
#define TDH             0x03810
#define TDT             0x03818
#define MPC             0x04010
#define GPRC            0x04074
#define GPTC            0x04080
#define TPT             0x040d4
#define MTA             0x05200
#define RA              0x05400
#define VFTA            0x05600

#define CTRL_RST        (1u << 26)
#define CTRL_VME        (1u << 30)
#define STATUS_LU       0x2
#define EECD_SK         0x1
#define EECD_CS         0x2
#define EECD_DI         0x4
#define EECD_DO         0x8
#define EECD_REQ        0x40
#define EECD_GNT        0x80
#define ICR_TXDW        0x1
#define ICR_TXQE        0x2
#define ICR_LSC         0x4
#define ICR_RXDMT0      0x10
#define ICR_RXO         0x40
#define ICR_RXT0        0x80
#define ICR_MDAC        0x200
#define ICR_ASSERTED    0x80000000u
#define RCTL_EN         0x2
#define RCTL_UPE        0x8
#define RCTL_MPE        0x10
#define RCTL_BAM        0x8000
#define RCTL_BSIZE_256  (3u << 16)
#define RCTL_VFE        (1u << 18)
#define RCTL_SECRC      (1u << 26)
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

static const uint8_t dev_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t other_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

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
    qpci_cfg_writel(qts, DEVFN, 0x14, IOBASE);
    qpci_cfg_writew(qts, DEVFN, 0x04, 0x7);
    /* 03.0 INTA -> PIRQC ((pin + slot - 1) & 3), routed to IRQ 11. */
    qpci_cfg_writeb(qts, PIIX3, 0x62, IRQ);
    qtest_irq_intercept_in(qts, "ioapic");
}

static void env_start(Env *e, const char *devopts)
{
    g_autofree char *nd = NULL, *args = NULL;

    qnet_listen(&e->peer);
    nd = qnet_netdev_arg(&e->peer, "n0");
    args = g_strdup_printf("%s -device e1000,netdev=n0,id=nic0,addr=03.0,"
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

/* ---- descriptor helpers ------------------------------------------------ */

static void tx_ring_init(Env *e, unsigned n)
{
    qtest_memset(e->qts, TX_RING, 0, 16 * n);
    wr(e, TDBAL, (uint32_t)TX_RING);
    wr(e, TDBAH, 0);
    wr(e, TDLEN, 16 * n);
    wr(e, TDH, 0);
    wr(e, TDT, 0);
    wr(e, TCTL, TCTL_EN);
}

static void tx_desc(Env *e, unsigned i, uint64_t addr, uint32_t lower,
                    uint32_t upper)
{
    uint64_t d = TX_RING + 16 * i;

    qtest_writeq(e->qts, d, addr);
    qtest_writel(e->qts, d + 8, lower);
    qtest_writel(e->qts, d + 12, upper);
}

static void rx_ring_init(Env *e, unsigned n, uint32_t rctl)
{
    qtest_memset(e->qts, RX_RING, 0, 16 * n);
    for (unsigned i = 0; i < n; i++) {
        qtest_writeq(e->qts, RX_RING + 16 * i, RX_BUF + i * 0x1000);
    }
    wr(e, RDBAL, (uint32_t)RX_RING);
    wr(e, RDBAH, 0);
    wr(e, RDLEN, 16 * n);
    wr(e, RDH, 0);
    wr(e, RDT, 0);
    wr(e, RCTL, rctl | RCTL_EN);
}

/* Wait until descriptor @i says DD; its length and status. */
static bool rx_wait(Env *e, unsigned i, uint16_t *len, uint8_t *status)
{
    uint64_t d = RX_RING + 16 * i;

    for (int t = 0; t < 5000; t++) {
        uint8_t st = qtest_readb(e->qts, d + 12);
        if (st & 1) {
            *len = qtest_readw(e->qts, d + 8);
            *status = st;
            return true;
        }
        g_usleep(1000);
    }
    return false;
}

static bool irq(Env *e)
{
    return qtest_get_irq(e->qts, IRQ);
}

/* ---- identity, BARs, ROM ------------------------------------------------ */

static void test_ids(void)
{
    Env e;
    QTestState *q2;
    uint8_t sig[2];
    uint32_t rom;

    env_start(&e, NULL);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0), ==, 0x8086);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 2), ==, 0x100e);
    g_assert_cmphex(qpci_cfg_readb(e.qts, DEVFN, 8), ==, 3);
    g_assert_cmphex(qpci_cfg_readw(e.qts, DEVFN, 0x0a), ==, 0x0200);
    g_assert_cmphex(qpci_cfg_readb(e.qts, DEVFN, 0x3d), ==, 1);
    /* BAR sizes: 128 KiB memory, 64 I/O ports */
    qpci_cfg_writel(e.qts, DEVFN, 0x10, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(e.qts, DEVFN, 0x10), ==, 0xfffe0000);
    qpci_cfg_writel(e.qts, DEVFN, 0x14, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(e.qts, DEVFN, 0x14) & 0xffff, ==,
                    0xffc1);
    pci_setup(e.qts);
    /* the ROM BAR holds efi-e1000.rom */
    qpci_cfg_writel(e.qts, DEVFN, 0x30, 0xfffff800);
    rom = qpci_cfg_readl(e.qts, DEVFN, 0x30);
    g_assert_cmphex(rom, !=, 0);
    qpci_cfg_writel(e.qts, DEVFN, 0x30, (uint32_t)ROMADDR | 1);
    qtest_memread(e.qts, ROMADDR, sig, 2);
    g_assert_cmphex(sig[0], ==, 0x55);
    g_assert_cmphex(sig[1], ==, 0xaa);
    /* link up at reset; the I/O window reads the same registers */
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    qtest_outl(e.qts, IOBASE, STATUS);
    g_assert_cmphex(qtest_inl(e.qts, IOBASE + 4), ==, rd(&e, STATUS));
    qtest_outl(e.qts, IOBASE, IMS);
    qtest_outl(e.qts, IOBASE + 4, ICR_RXT0);
    g_assert_cmphex(rd(&e, IMS), ==, ICR_RXT0);
    /* receive address 0 is the MAC, valid */
    g_assert_cmphex(rd(&e, RA), ==, 0xaa005452);
    g_assert_cmphex(rd(&e, RA + 4), ==, 0x8000ccbb);
    env_end(&e);

    /* the other models and the alias */
    q2 = qtest_init("-device e1000-82545em,addr=04.0 "
                    "-device e1000-82544gc,addr=05.0 "
                    "-device e1000-82540em,addr=06.0,romfile=");
    g_assert_cmphex(qpci_cfg_readw(q2, PCI_DEVFN(4, 0), 2), ==, 0x100f);
    g_assert_cmphex(qpci_cfg_readw(q2, PCI_DEVFN(5, 0), 2), ==, 0x100c);
    g_assert_cmphex(qpci_cfg_readw(q2, PCI_DEVFN(6, 0), 2), ==, 0x100e);
    qpci_cfg_writel(q2, PCI_DEVFN(6, 0), 0x30, 0xfffff800);
    g_assert_cmphex(qpci_cfg_readl(q2, PCI_DEVFN(6, 0), 0x30), ==, 0);
    g_assert_cmpint(qtest_quit(q2), ==, 0);
}

/* ---- EEPROM ---------------------------------------------------------------- */

static void eecd(Env *e, uint32_t v)
{
    wr(e, EECD, EECD_REQ | v);
}

/* A Microwire READ: start bit, opcode 10, 6 address bits, 16 data bits. */
static uint16_t ee_read(Env *e, unsigned addr)
{
    uint32_t cmd = (0x6u << 6) | addr;
    uint16_t val = 0;

    eecd(e, 0);
    g_assert(rd(e, EECD) & EECD_GNT);
    eecd(e, EECD_CS);
    for (int i = 8; i >= 0; i--) {
        uint32_t di = (cmd >> i) & 1 ? EECD_DI : 0;
        eecd(e, EECD_CS | di);
        eecd(e, EECD_CS | di | EECD_SK);
        eecd(e, EECD_CS | di);
    }
    for (int i = 0; i < 16; i++) {
        eecd(e, EECD_CS | EECD_SK);
        val = (val << 1) | !!(rd(e, EECD) & EECD_DO);
        eecd(e, EECD_CS);
    }
    wr(e, EECD, 0);
    return val;
}

static void test_eeprom(void)
{
    Env e;
    uint16_t words[64], sum = 0;

    env_start(&e, NULL);
    for (unsigned i = 0; i < 64; i++) {
        words[i] = ee_read(&e, i);
        sum += words[i];
    }
    g_assert_cmphex(sum, ==, 0xbaba);
    g_assert_cmphex(words[0], ==, 0x5452);
    g_assert_cmphex(words[1], ==, 0xaa00);
    g_assert_cmphex(words[2], ==, 0xccbb);
    g_assert_cmphex(words[0x0d], ==, 0x100e);
    g_assert_cmphex(words[0x0e], ==, 0x8086);
    /* EERD: the same words through the read register */
    for (unsigned i = 0; i < 64; i += 7) {
        uint32_t v;
        wr(&e, EERD, (i << 8) | 1);
        v = rd(&e, EERD);
        g_assert_cmphex(v & 0x10, ==, 0x10);
        g_assert_cmphex(v >> 16, ==, words[i]);
    }
    /* without START nothing is done */
    wr(&e, EERD, 3 << 8);
    g_assert_cmphex(rd(&e, EERD) & 0x10, ==, 0);
    env_end(&e);
}

/* ---- PHY and link -------------------------------------------------------- */

static uint32_t mdic(Env *e, uint32_t op, unsigned phy, unsigned regn,
                     uint16_t data)
{
    wr(e, MDIC, op | (phy << 21) | (regn << 16) | data);
    return rd(e, MDIC);
}

#define MDIC_READ       (2u << 26)
#define MDIC_WRITE      (1u << 26)
#define MDIC_READY      (1u << 28)
#define MDIC_INT_EN     (1u << 29)
#define MDIC_ERROR      (1u << 30)

static void test_phy(void)
{
    Env e;
    uint32_t v;

    env_start(&e, NULL);
    v = mdic(&e, MDIC_READ, 1, 2, 0);
    g_assert_cmphex(v & MDIC_READY, ==, MDIC_READY);
    g_assert_cmphex(v & 0xffff, ==, 0x0141);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 3, 0) & 0xffff, ==, 0x0c20);
    v = mdic(&e, MDIC_READ, 1, 1, 0);
    g_assert_cmphex(v & 0x24, ==, 0x24);        /* link, autoneg done */
    g_assert_cmphex(mdic(&e, MDIC_READ, 2, 1, 0) & MDIC_ERROR, ==,
                    MDIC_ERROR);
    /* MDIC interrupt */
    rd(&e, ICR);
    mdic(&e, MDIC_READ | MDIC_INT_EN, 1, 0, 0);
    g_assert_cmphex(rd(&e, ICR) & ICR_MDAC, ==, ICR_MDAC);
    /* restart autonegotiation: link down, then up 500 ms later, LSC each */
    wr(&e, IMS, ICR_LSC);
    mdic(&e, MDIC_WRITE, 1, 0, 0x1340);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 1, 0) & 0x24, ==, 0);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 400 * 1000 * 1000);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    qtest_clock_step(e.qts, 200 * 1000 * 1000);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 1, 0) & 0x24, ==, 0x24);
    /* the self-clearing bits read back clear */
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 0, 0) & 0x8200, ==, 0);
    env_end(&e);
}

static void test_link(void)
{
    Env e;
    uint8_t f[64];
    uint16_t len;
    uint8_t st;

    env_start(&e, NULL);
    rx_ring_init(&e, 8, RCTL_SECRC);
    wr(&e, RDT, 7);
    rd(&e, ICR);
    wr(&e, IMS, ICR_LSC);
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":false}}");
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    g_assert_cmphex(mdic(&e, MDIC_READ, 1, 1, 0) & 4, ==, 0);
    /* a frame while the link is down is lost */
    qnet_make_frame(f, dev_mac, 1, 64);
    qnet_send(&e.peer, f, 64);
    g_usleep(100 * 1000);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, 0);
    qmp_assert_ok(e.qmp, "{\"execute\":\"set_link\",\"arguments\":"
           "{\"name\":\"nic0\",\"up\":true}}");
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    g_assert_cmphex(rd(&e, ICR) & ICR_LSC, ==, ICR_LSC);
    qnet_make_frame(f, dev_mac, 2, 64);
    qnet_send(&e.peer, f, 64);
    g_assert(rx_wait(&e, 0, &len, &st));
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 14), ==, (uint8_t)(14 * 7 + 2));
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 16 + 12), ==, 0);
    env_end(&e);
}

/* ---- transmit ---------------------------------------------------------- */

static void tx_kick_wait(Env *e, unsigned tdt)
{
    wr(e, TDT, tdt);
    g_assert_cmpuint(rd(e, TDH), ==, tdt);
}

static void test_tx(void)
{
    Env e;
    uint8_t f[1500], got[2048];
    ssize_t n;

    env_start(&e, NULL);
    tx_ring_init(&e, 8);
    rd(&e, ICR);
    wr(&e, IMS, ICR_TXDW);
    /* one legacy descriptor */
    qnet_make_frame(f, other_mac, 1, 100);
    qtest_memwrite(e.qts, TX_BUF, f, 100);
    tx_desc(&e, 0, TX_BUF, 100 | TXD_EOP | TXD_IFCS | TXD_RS, 0);
    tx_kick_wait(&e, 1);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 100);
    g_assert_cmpmem(got, 100, f, 100);
    g_assert_cmphex(qtest_readb(e.qts, TX_RING + 12) & 1, ==, 1);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_TXDW | ICR_TXQE);
    g_assert_false(irq(&e));
    /* a frame over three descriptors, EOP on the last */
    qnet_make_frame(f, other_mac, 2, 1500);
    qtest_memwrite(e.qts, TX_BUF + 0x1000, f, 1500);
    tx_desc(&e, 1, TX_BUF + 0x1000, 500, 0);
    tx_desc(&e, 2, TX_BUF + 0x1000 + 500, 700, 0);
    tx_desc(&e, 3, TX_BUF + 0x1000 + 1200, 300 | TXD_EOP | TXD_RS, 0);
    tx_kick_wait(&e, 4);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 1500);
    g_assert_cmpmem(got, 1500, f, 1500);
    /* no RS: no write-back */
    g_assert_cmphex(qtest_readb(e.qts, TX_RING + 16 + 12), ==, 0);
    g_assert_cmphex(qtest_readb(e.qts, TX_RING + 48 + 12) & 1, ==, 1);
    g_assert_cmpuint(rd(&e, TPT), ==, 2);
    g_assert_cmpuint(rd(&e, TPT), ==, 0);       /* read to clear */
    /* the ring wraps: 4 more from slot 4 to slot 0 */
    for (unsigned i = 0; i < 4; i++) {
        qnet_make_frame(f, other_mac, 10 + i, 80);
        qtest_memwrite(e.qts, TX_BUF + 0x2000 + i * 0x100, f, 80);
        tx_desc(&e, 4 + i, TX_BUF + 0x2000 + i * 0x100,
                80 | TXD_EOP | TXD_RS, 0);
    }
    tx_kick_wait(&e, 0);
    for (unsigned i = 0; i < 4; i++) {
        n = qnet_recv(&e.peer, got, sizeof(got), 5000);
        g_assert_cmpint(n, ==, 80);
        g_assert_cmphex(got[20], ==, (uint8_t)(20 * 7 + 10 + i));
    }
    /* nothing more was sent */
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 100), ==, -1);
    env_end(&e);
}

/* An IPv4 header at @ip (20 bytes) and the pseudo-header sum for @proto. */
static uint32_t make_ipv4(uint8_t *ip, uint8_t proto, uint16_t total)
{
    static const uint8_t src[4] = { 10, 0, 2, 15 }, dst[4] = { 10, 0, 2, 2 };

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
    return (10 << 8) + 0 + (2 << 8) + 15 + (10 << 8) + 0 + (2 << 8) + 2 +
           proto;
}

static void check_l4_sum(const uint8_t *f, size_t len, uint8_t proto)
{
    const uint8_t *ip = f + 14;
    size_t l4len = len - 34;
    uint32_t pseudo = (10 << 8) + (2 << 8) + 15 + (10 << 8) + (2 << 8) + 2 +
                      proto + l4len;

    g_assert_cmphex(qnet_csum(ip, 20, 0), ==, 0xffff);
    g_assert_cmphex(qnet_csum(f + 34, l4len, pseudo), ==, 0xffff);
}

static void test_tx_offload(void)
{
    Env e;
    uint8_t f[4096], got[2048];
    uint32_t ph;
    uint16_t psum;
    ssize_t n;
    uint32_t seq0 = 0x01020304;

    env_start(&e, NULL);
    tx_ring_init(&e, 16);
    /* UDP: context (IP + UDP sums) then one data descriptor */
    qnet_make_frame(f, other_mac, 3, 14 + 20 + 8 + 32);
    f[12] = 0x08;
    f[13] = 0x00;
    ph = make_ipv4(f + 14, 17, 20 + 8 + 32);
    memset(f + 34, 0, 8);
    f[34] = 0x12;
    f[35] = 0x34;
    f[37] = 53;
    f[38] = 0;
    f[39] = 40;
    /* the driver seeds the L4 field with the pseudo-header sum */
    psum = qnet_csum((uint8_t[]){ 0, 0 }, 2, ph + 40);
    f[40] = psum >> 8;
    f[41] = psum;
    qtest_memwrite(e.qts, TX_BUF, f, 74);
    qtest_writel(e.qts, TX_RING + 0, 14 | (24 << 8) | (33u << 16));
    qtest_writel(e.qts, TX_RING + 4, 34 | (40 << 8));
    qtest_writel(e.qts, TX_RING + 8, TXD_DEXT | TXD_IP | TXD_RS);
    qtest_writel(e.qts, TX_RING + 12, 0);
    tx_desc(&e, 1, TX_BUF, 74 | TXD_DEXT | TXD_DTYP_D | TXD_EOP | TXD_RS,
            (POPTS_IXSM | POPTS_TXSM) << 8);
    tx_kick_wait(&e, 2);
    n = qnet_recv(&e.peer, got, sizeof(got), 5000);
    g_assert_cmpint(n, ==, 74);
    check_l4_sum(got, n, 17);
    g_assert_cmpmem(got + 42, 32, f + 42, 32);

    /* TSO: 54-byte IPv4/TCP header, 2500 bytes, MSS 1000 */
    qnet_make_frame(f, other_mac, 4, 54 + 2500);
    f[12] = 0x08;
    f[13] = 0x00;
    ph = make_ipv4(f + 14, 6, 0);
    memset(f + 34, 0, 20);
    f[34] = 0x04;
    f[36] = 0x00;
    f[37] = 80;
    f[38] = seq0 >> 24;
    f[39] = seq0 >> 16;
    f[40] = seq0 >> 8;
    f[41] = seq0;
    f[46] = 0x50;                       /* data offset 5 */
    f[47] = 0x18 | 0x01;                /* ACK, PSH, FIN */
    psum = qnet_csum((uint8_t[]){ 0, 0 }, 2, ph);
    f[50] = psum >> 8;
    f[51] = psum;
    qtest_memwrite(e.qts, TX_BUF + 0x1000, f, 54 + 2500);
    qtest_writel(e.qts, TX_RING + 32, 14 | (24 << 8) | (33u << 16));
    qtest_writel(e.qts, TX_RING + 36, 34 | (50 << 8));
    qtest_writel(e.qts, TX_RING + 40, 2500 | TXD_DEXT | TXD_IP | TXD_TCP |
                 TXD_TSE);
    qtest_writel(e.qts, TX_RING + 44, (54 << 8) | (1000u << 16));
    /* header and payload split over two data descriptors */
    tx_desc(&e, 3, TX_BUF + 0x1000, 54 | TXD_DEXT | TXD_DTYP_D | TXD_TSE,
            (POPTS_IXSM | POPTS_TXSM) << 8);
    tx_desc(&e, 4, TX_BUF + 0x1000 + 54, 2500 | TXD_DEXT | TXD_DTYP_D |
            TXD_TSE | TXD_EOP | TXD_RS, 0);
    tx_kick_wait(&e, 5);
    for (unsigned i = 0; i < 3; i++) {
        size_t pay = i < 2 ? 1000 : 500;
        uint32_t seq;

        n = qnet_recv(&e.peer, got, sizeof(got), 5000);
        g_assert_cmpint(n, ==, 54 + pay);
        g_assert_cmpuint((got[16] << 8) | got[17], ==, 40 + pay);
        g_assert_cmpuint((got[18] << 8) | got[19], ==, 0x1234 + i);
        seq = (uint32_t)got[38] << 24 | got[39] << 16 | got[40] << 8 |
              got[41];
        g_assert_cmphex(seq, ==, seq0 + 1000 * i);
        g_assert_cmphex(got[47], ==, i < 2 ? 0x10 : 0x19);
        check_l4_sum(got, n, 6);
        g_assert_cmpmem(got + 54, pay, f + 54 + 1000 * i, pay);
    }
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 100), ==, -1);
    env_end(&e);
}

/* ---- receive ----------------------------------------------------------- */

static void peer_frame(Env *e, const uint8_t *dst, uint32_t seq, size_t len)
{
    uint8_t f[2048];

    qnet_make_frame(f, dst, seq, len);
    qnet_send(&e->peer, f, len);
}

static void expect_rx(Env *e, unsigned slot, uint32_t seq, size_t len,
                      size_t dlen)
{
    uint8_t want[2048], got[2048];
    uint16_t l;
    uint8_t st;

    g_assert(rx_wait(e, slot, &l, &st));
    g_assert_cmpuint(l, ==, dlen);
    g_assert_cmphex(st & 3, ==, 3);
    qnet_make_frame(want, dev_mac, seq, len);
    qtest_memread(e->qts, RX_BUF + slot * 0x1000 + 6, got, len - 6);
    g_assert_cmpmem(got, len - 6, want + 6, len - 6);
}

static void test_rx(void)
{
    Env e;
    uint8_t f[2048], got[2048];
    uint16_t len;
    uint8_t st;

    env_start(&e, NULL);
    rx_ring_init(&e, 8, RCTL_SECRC | RCTL_BAM);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0);
    /* no buffers yet: the frame waits (back-pressure), then arrives */
    peer_frame(&e, dev_mac, 1, 200);
    g_usleep(50 * 1000);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 12), ==, 0);
    wr(&e, RDT, 7);
    expect_rx(&e, 0, 1, 200, 200);
    g_assert_cmpuint(rd(&e, RDH), ==, 1);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_RXT0, ==, ICR_RXT0);
    /* a short frame is padded to 60 bytes */
    peer_frame(&e, dev_mac, 2, 20);
    expect_rx(&e, 1, 2, 20, 60);
    /* FCS kept without SECRC */
    wr(&e, RCTL, RCTL_EN | RCTL_BAM);
    qnet_make_frame(f, dev_mac, 3, 100);
    qnet_send(&e.peer, f, 100);
    g_assert(rx_wait(&e, 2, &len, &st));
    g_assert_cmpuint(len, ==, 104);
    qtest_memread(e.qts, RX_BUF + 2 * 0x1000, got, 104);
    g_assert_cmpmem(got, 100, f, 100);
    g_assert_cmphex(got[100] | got[101] << 8 | got[102] << 16 |
                    (uint32_t)got[103] << 24, ==, qnet_crc32(f, 100));
    wr(&e, RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
    /* filters: another unicast address, multicast, then broadcast */
    peer_frame(&e, other_mac, 4, 64);
    peer_frame(&e, mcast, 5, 64);
    peer_frame(&e, bcast, 6, 64);
    g_assert(rx_wait(&e, 3, &len, &st));
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 3 * 0x1000), ==, 0xff);
    /* MTA: the multicast hash bit (MO = 0: bits 47:36) */
    {
        unsigned h = ((mcast[5] << 8 | mcast[4]) >> 4) & 0xfff;
        wr(&e, MTA + 4 * (h >> 5), 1u << (h & 31));
    }
    peer_frame(&e, mcast, 7, 64);
    g_assert(rx_wait(&e, 4, &len, &st));
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 4 * 0x1000), ==, 0x01);
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 4 * 0x1000 + 14), ==,
                    (uint8_t)(14 * 7 + 7));
    /* promiscuous unicast */
    wr(&e, RCTL, RCTL_EN | RCTL_SECRC | RCTL_UPE);
    peer_frame(&e, bcast, 8, 64);       /* BAM now off: dropped */
    peer_frame(&e, other_mac, 9, 64);
    g_assert(rx_wait(&e, 5, &len, &st));
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 5 * 0x1000 + 5), ==, 0x99);
    /* a second RA entry */
    wr(&e, RCTL, RCTL_EN | RCTL_SECRC);
    wr(&e, RA + 8, 0x00005452);
    wr(&e, RA + 12, 0x80009900);
    peer_frame(&e, other_mac, 10, 64);
    g_assert(rx_wait(&e, 6, &len, &st));
    g_assert_cmpuint(rd(&e, RDH), ==, 7);
    /* ring full (RDH == RDT): the frame waits until RDT moves (wrap) */
    peer_frame(&e, dev_mac, 11, 300);
    g_usleep(50 * 1000);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 7 * 16 + 12), ==, 0);
    qtest_memset(e.qts, RX_RING, 0, 128);
    for (unsigned i = 0; i < 8; i++) {
        qtest_writeq(e.qts, RX_RING + 16 * i, RX_BUF + i * 0x1000);
    }
    wr(&e, RDT, 2);
    expect_rx(&e, 7, 11, 300, 300);
    peer_frame(&e, dev_mac, 12, 300);
    expect_rx(&e, 0, 12, 300, 300);
    g_assert_cmpuint(rd(&e, RDH), ==, 1);
    g_assert_cmpuint(rd(&e, GPRC), >=, 9);
    env_end(&e);
}

static void test_rx_small_buffers(void)
{
    Env e;
    uint8_t f[700], got[700];
    uint16_t len;
    uint8_t st;

    env_start(&e, NULL);
    rx_ring_init(&e, 8, RCTL_SECRC | RCTL_BSIZE_256);
    wr(&e, RDT, 4);
    /* 600 bytes over 256 + 256 + 88, EOP on the last only */
    qnet_make_frame(f, dev_mac, 1, 600);
    qnet_send(&e.peer, f, 600);
    g_assert(rx_wait(&e, 2, &len, &st));
    g_assert_cmpuint(len, ==, 88);
    g_assert_cmphex(st & 3, ==, 3);
    g_assert_cmpuint(qtest_readw(e.qts, RX_RING + 8), ==, 256);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 12) & 3, ==, 1);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 16 + 12) & 3, ==, 1);
    for (unsigned i = 0; i < 3; i++) {
        qtest_memread(e.qts, RX_BUF + i * 0x1000, got + 256 * i,
                      i < 2 ? 256 : 88);
    }
    g_assert_cmpmem(got, 600, f, 600);
    /* one descriptor left, the frame needs three: overrun, dropped */
    rd(&e, ICR);
    rd(&e, MPC);
    qnet_send(&e.peer, f, 600);
    for (int t = 0; t < 5000 && !(rd(&e, ICR) & ICR_RXO); t++) {
        g_usleep(1000);
    }
    g_assert_cmpuint(rd(&e, MPC), ==, 1);
    g_assert_cmpuint(rd(&e, RDH), ==, 3);
    env_end(&e);
}

static void test_vlan(void)
{
    Env e;
    uint8_t f[128];
    uint16_t len;
    uint8_t st;

    env_start(&e, NULL);
    rx_ring_init(&e, 8, RCTL_SECRC | RCTL_VFE);
    wr(&e, RDT, 7);
    wr(&e, CTRL, rd(&e, CTRL) | CTRL_VME);
    /* VLAN 5 not in VFTA: dropped (an untagged frame after it shows it
     * was handled); VLAN 6 in it: the tag goes into the descriptor */
    for (unsigned vid = 5; vid <= 6; vid++) {
        qnet_make_frame(f, dev_mac, vid, 100);
        f[12] = 0x81;
        f[13] = 0x00;
        f[14] = 0x20;
        f[15] = vid;
        f[16] = 0x08;
        f[17] = 0x00;
        qnet_send(&e.peer, f, 100);
        if (vid == 5) {
            peer_frame(&e, dev_mac, 50, 64);
            expect_rx(&e, 0, 50, 64, 64);
            wr(&e, VFTA, 1u << 6);
        }
    }
    g_assert(rx_wait(&e, 1, &len, &st));
    g_assert_cmpuint(len, ==, 96);
    g_assert_cmphex(st & 0x08, ==, 0x08);        /* VP */
    g_assert_cmphex(qtest_readw(e.qts, RX_RING + 16 + 14), ==, 0x2006);
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 0x1000 + 12), ==, 0x08);
    g_assert_cmphex(qtest_readb(e.qts, RX_BUF + 0x1000 + 14), ==, f[18]);
    /* transmit with VLE inserts the tag */
    {
        uint8_t got[256];
        ssize_t n;
        tx_ring_init(&e, 8);
        qnet_make_frame(f, other_mac, 1, 64);
        qtest_memwrite(e.qts, TX_BUF, f, 64);
        tx_desc(&e, 0, TX_BUF, 64 | TXD_EOP | TXD_RS | (1u << 30),
                0x0123u << 16);
        tx_kick_wait(&e, 1);
        n = qnet_recv(&e.peer, got, sizeof(got), 5000);
        g_assert_cmpint(n, ==, 68);
        g_assert_cmphex(got[12], ==, 0x81);
        g_assert_cmphex(got[13], ==, 0x00);
        g_assert_cmphex(got[14], ==, 0x01);
        g_assert_cmphex(got[15], ==, 0x23);
        g_assert_cmpmem(got + 16, 52, f + 12, 52);
    }
    env_end(&e);
}

/* ---- interrupts ------------------------------------------------------- */

static void test_interrupts(void)
{
    Env e;

    env_start(&e, NULL);
    rd(&e, ICR);
    g_assert_false(irq(&e));
    /* ICS sets causes; masked ones do not assert */
    wr(&e, ICS, ICR_RXT0);
    g_assert_false(irq(&e));
    wr(&e, IMS, ICR_RXT0 | ICR_TXDW);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, IMS), ==, ICR_RXT0 | ICR_TXDW);
    wr(&e, IMC, ICR_RXT0);
    g_assert_false(irq(&e));
    wr(&e, IMS, ICR_RXT0);
    g_assert_true(irq(&e));
    /* ICR: read to clear */
    g_assert_cmphex(rd(&e, ICR), ==, ICR_ASSERTED | ICR_RXT0);
    g_assert_false(irq(&e));
    g_assert_cmphex(rd(&e, ICR), ==, 0);
    /* ITR: at most one interrupt per ITR * 256 ns */
    wr(&e, ITR, 1000);                  /* 256 us */
    wr(&e, ICS, ICR_TXDW);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    wr(&e, ICS, ICR_TXDW);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 300 * 1000);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* ITR 0: no throttling */
    wr(&e, ITR, 0);
    wr(&e, ICS, ICR_TXDW);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    wr(&e, ICS, ICR_TXDW);
    g_assert_true(irq(&e));
    /* a device reset drops everything */
    wr(&e, CTRL, CTRL_RST);
    g_assert_false(irq(&e));
    g_assert_cmphex(rd(&e, IMS), ==, 0);
    g_assert_cmphex(rd(&e, RA + 4), ==, 0x8000ccbb);
    env_end(&e);
}

static void test_rx_hostile(void)
{
    Env e;

    env_start(&e, NULL);
    /* RDH outside the ring: no buffers, the frame waits */
    rx_ring_init(&e, 8, RCTL_SECRC);
    wr(&e, RDH, 200);
    wr(&e, RDT, 3);
    peer_frame(&e, dev_mac, 1, 100);
    g_usleep(50 * 1000);
    g_assert_cmpuint(rd(&e, RDH), ==, 200);
    /* a ring outside RAM: the descriptor read fails, nothing written */
    wr(&e, RDBAL, 0xfffff000);
    wr(&e, RDBAH, 0xffffffff);
    wr(&e, RDH, 0);
    wr(&e, RDT, 3);
    g_usleep(50 * 1000);
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    /* a sane ring works afterwards; buffer address 0 and one outside RAM */
    rx_ring_init(&e, 8, RCTL_SECRC);
    qtest_writeq(e.qts, RX_RING, 0xfffffffffff000ULL);
    wr(&e, RDT, 7);
    peer_frame(&e, dev_mac, 2, 100);
    peer_frame(&e, dev_mac, 3, 100);
    expect_rx(&e, 1, 3, 100, 100);
    g_assert_cmphex(qtest_readb(e.qts, RX_RING + 12) & 3, ==, 3);
    env_end(&e);
}

/* QMP announce-self: RARP frames from the NIC's MAC, round by round. */
static void test_announce(void)
{
    Env e;
    uint8_t got[128], want[60] = { 0 };
    int64_t t0;

    env_start(&e, NULL);
    memset(want, 0xff, 6);
    memcpy(want + 6, dev_mac, 6);
    want[12] = 0x80;
    want[13] = 0x35;
    want[15] = 1;
    want[16] = 0x08;
    want[18] = 6;
    want[19] = 4;
    want[21] = 3;
    memcpy(want + 22, dev_mac, 6);
    memcpy(want + 32, dev_mac, 6);
    /* another NIC's name: nothing; no rounds: nothing */
    qmp_assert_ok(e.qmp, "{\"execute\":\"announce-self\",\"arguments\":"
           "{\"initial\":10,\"max\":50,\"rounds\":2,\"step\":10,"
           "\"interfaces\":[\"nosuchnic\"]}}");
    qmp_assert_ok(e.qmp, "{\"execute\":\"announce-self\",\"arguments\":"
           "{\"initial\":10,\"max\":50,\"rounds\":0,\"step\":10}}");
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 200), ==, -1);
    /* three rounds: at once, after 50 ms, after 50 + 100 ms */
    t0 = g_get_monotonic_time();
    qmp_assert_ok(e.qmp, "{\"execute\":\"announce-self\",\"arguments\":"
           "{\"initial\":50,\"max\":550,\"rounds\":3,\"step\":100,"
           "\"interfaces\":[\"nic0\"],\"id\":\"a1\"}}");
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 60);
        g_assert_cmpmem(got, 60, want, 60);
    }
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 150 * 1000);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 400), ==, -1);
    /* HMP announce_self [interfaces] [id]: the migration parameters'
     * timing (made quick here) */
    qmp_assert_ok(e.qmp, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
           "{\"announce-initial\":10,\"announce-max\":20,"
           "\"announce-rounds\":2,\"announce-step\":10}}");
    qmp_assert_ok(e.qmp, "{\"execute\":\"human-monitor-command\",\"arguments\":"
           "{\"command-line\":\"announce_self nosuchnic,other h1\"}}");
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 200), ==, -1);
    qmp_assert_ok(e.qmp, "{\"execute\":\"human-monitor-command\",\"arguments\":"
           "{\"command-line\":\"announce_self x,nic0 h2\"}}");
    for (unsigned i = 0; i < 2; i++) {
        g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 60);
        g_assert_cmpmem(got, 60, want, 60);
    }
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 200), ==, -1);
    /* negative values are refused */
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\":\"announce-self\","
            "\"arguments\":{\"initial\":-1,\"max\":1,\"rounds\":1,"
            "\"step\":1}}");
        g_assert_nonnull(strstr(r, "\"error\""));
    }
    env_end(&e);
}

/*
 * An incoming migration that completes announces the NICs with the
 * migration parameters (QEMU's defaults: 5 rounds, 50 ms then +100 ms,
 * at most 550 ms apart): the destination's peer gets 5 RARP frames.
 */
static void test_announce_migration(void)
{
    g_autofree char *mig = NULL, *cmd = NULL, *args = NULL, *nd = NULL;
    Env e, d;
    uint8_t got[128];
    int64_t t0;

    env_start(&e, NULL);
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
    /* the source sent nothing on its own */
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 100), ==, -1);
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    qnet_listen(&d.peer);
    nd = qnet_netdev_arg(&d.peer, "n0");
    args = g_strdup_printf("%s -device e1000,netdev=n0,id=nic0,addr=03.0,"
                           "mac=52:54:00:aa:bb:cc -incoming file:%s", nd,
                           mig);
    t0 = g_get_monotonic_time();
    d.qts = qtest_init(args);
    qnet_accept(&d.peer);
    for (unsigned i = 0; i < 5; i++) {
        g_assert_cmpint(qnet_recv(&d.peer, got, sizeof(got), 5000), ==, 60);
        g_assert_cmphex(got[12] << 8 | got[13], ==, 0x8035);
        g_assert_cmpmem(got + 6, 6, dev_mac, 6);
    }
    /* rounds at 0, 50, 200, 450 and 800 ms (50 ms, then +100 ms each) */
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 750 * 1000);
    g_assert_cmpint(qnet_recv(&d.peer, got, sizeof(got), 300), ==, -1);
    g_assert_cmpint(qtest_quit(d.qts), ==, 0);
    unlink(mig);
    qnet_close(&d.peer);
    qnet_close(&e.peer);
}

/* The delay timers (RDTR/RADV, TIDV/TADV) on the virtual clock. */
#define RDTR            0x02820
#define RADV            0x0282c
#define TIDV            0x03820
#define TADV            0x0382c
#define TXD_IDE         (1u << 31)
#define US              1000

static void test_delay_timers(void)
{
    Env e;
    uint8_t got[256];

    env_start(&e, NULL);
    rx_ring_init(&e, 8, RCTL_SECRC);
    wr(&e, RDT, 7);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0 | ICR_TXDW);
    /* RDTR 100 (102.4 us), no RADV: RXT0 102.4 us after the frame */
    wr(&e, RDTR, 100);
    peer_frame(&e, dev_mac, 1, 64);
    expect_rx(&e, 0, 1, 64, 64);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 90 * US);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 20 * US);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_RXT0, ==, ICR_RXT0);
    /* each frame restarts RDTR; RADV 150 (153.6 us) bounds the wait */
    wr(&e, RADV, 150);
    peer_frame(&e, dev_mac, 2, 64);
    expect_rx(&e, 1, 2, 64, 64);
    qtest_clock_step(e.qts, 80 * US);
    peer_frame(&e, dev_mac, 3, 64);
    expect_rx(&e, 2, 3, 64, 64);
    qtest_clock_step(e.qts, 60 * US);   /* 140 us: RDTR restarted at 80 */
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 20 * US);   /* 160 us: RADV ended */
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* FPD flushes the wait */
    peer_frame(&e, dev_mac, 4, 64);
    expect_rx(&e, 3, 4, 64, 64);
    g_assert_false(irq(&e));
    wr(&e, RDTR, 100 | 0x80000000u);
    g_assert_true(irq(&e));
    rd(&e, ICR);
    /* transmit: IDE descriptors wait for TIDV (50: 51.2 us) */
    wr(&e, TIDV, 50);
    wr(&e, TADV, 0);
    tx_ring_init(&e, 8);
    qnet_make_frame(got, other_mac, 5, 64);
    qtest_memwrite(e.qts, TX_BUF, got, 64);
    tx_desc(&e, 0, TX_BUF, 64 | TXD_EOP | TXD_IDE, 0);
    tx_kick_wait(&e, 1);
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 64);
    g_assert_false(irq(&e));
    qtest_clock_step(e.qts, 52 * US);
    g_assert_true(irq(&e));
    g_assert_cmphex(rd(&e, ICR) & ICR_TXDW, ==, ICR_TXDW);
    /* without IDE: at once */
    tx_desc(&e, 1, TX_BUF, 64 | TXD_EOP, 0);
    tx_kick_wait(&e, 2);
    g_assert_true(irq(&e));
    g_assert_cmpint(qnet_recv(&e.peer, got, sizeof(got), 5000), ==, 64);
    env_end(&e);

    /* mitigation=off: no delays (QEMU's property) */
    env_start(&e, ",mitigation=off");
    rx_ring_init(&e, 8, RCTL_SECRC);
    wr(&e, RDT, 7);
    rd(&e, ICR);
    wr(&e, IMS, ICR_RXT0);
    wr(&e, RDTR, 100);
    peer_frame(&e, dev_mac, 6, 64);
    expect_rx(&e, 0, 6, 64, 64);
    g_assert_true(irq(&e));
    env_end(&e);
}

/* ---- hostile guests ------------------------------------------------------ */

static void test_hostile(void)
{
    QTestState *q;
    Env e = { 0 };
    int64_t t0 = g_get_monotonic_time();

    /* no netdev: frames go nowhere, so floods cost nothing to drain */
    q = qtest_init("-device e1000,addr=03.0");
    e.qts = q;
    pci_setup(q);
    wr(&e, TCTL, TCTL_EN);
    /* TDLEN 0: nothing happens */
    wr(&e, TDLEN, 0);
    wr(&e, TDT, 5);
    g_assert_cmpuint(rd(&e, TDH), ==, 0);
    /* TDT beyond the ring: one lap at most per pass, then it stops */
    tx_ring_init(&e, 8);
    for (unsigned i = 0; i < 8; i++) {
        tx_desc(&e, i, TX_BUF, 0, 0);   /* zero length, never EOP */
    }
    wr(&e, TDT, 100);
    g_assert_cmpuint(rd(&e, TDH), <, 8);
    /* a ring outside RAM: DMA fails, the ring stops */
    wr(&e, TDBAL, 0xfffff000);
    wr(&e, TDBAH, 0xffff);
    wr(&e, TDH, 0);
    wr(&e, TDT, 3);
    g_assert_cmpuint(rd(&e, TDH), ==, 0);
    /* TSO with MSS 0 and a 1 MiB descriptor: bounded work */
    tx_ring_init(&e, 8);
    qtest_writel(q, TX_RING + 8, 0xfffff | TXD_DEXT | TXD_IP | TXD_TCP |
                 TXD_TSE);
    qtest_writel(q, TX_RING + 12, 54 << 8);
    tx_desc(&e, 1, 0x100000, 0xfffff | TXD_DEXT | TXD_DTYP_D | TXD_TSE |
            TXD_EOP, (POPTS_IXSM | POPTS_TXSM) << 8);
    /* hdr_len 255, offsets past the frame */
    qtest_writel(q, TX_RING + 32, 250 | (255 << 8) | (0xffffu << 16));
    qtest_writel(q, TX_RING + 36, 254 | (255 << 8));
    qtest_writel(q, TX_RING + 40, TXD_DEXT | TXD_TSE);
    qtest_writel(q, TX_RING + 44, (255 << 8) | (0xffffu << 16));
    tx_desc(&e, 3, 0x100000, 300 | TXD_DEXT | TXD_DTYP_D | TXD_TSE |
            TXD_EOP, (POPTS_IXSM | POPTS_TXSM) << 8);
    /* a buffer address outside RAM */
    tx_desc(&e, 4, 0xfffffffffff0ULL, 1000 | TXD_EOP, 0);
    wr(&e, TDT, 5);
    for (int t = 0; t < 1000 && rd(&e, TDH) != 5; t++) {
        g_usleep(1000);
    }
    g_assert_cmpuint(rd(&e, TDH), ==, 5);
    /* register space edges, odd sizes */
    g_assert_cmphex(qtest_readl(q, BAR0 + 0x1fffc), ==, 0);
    qtest_writel(q, BAR0 + 0x1fffc, 0xffffffff);
    qtest_writeb(q, BAR0 + 0x3, 0xff);
    qtest_outl(q, IOBASE, 0xffffffff);
    qtest_outl(q, IOBASE + 4, 0x12345678);
    qtest_outl(q, IOBASE + 8, 1);
    /* the EEPROM clocked forever */
    for (unsigned i = 0; i < 2000; i++) {
        wr(&e, EECD, EECD_CS | (i & 1 ? EECD_SK : 0) | EECD_DI);
    }
    g_assert_cmphex(rd(&e, STATUS) & STATUS_LU, ==, STATUS_LU);
    g_assert_cmpint(qtest_quit(q), ==, 0);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/e1000/ids", test_ids);
    g_test_add_func("/e1000/eeprom", test_eeprom);
    g_test_add_func("/e1000/phy", test_phy);
    g_test_add_func("/e1000/link", test_link);
    g_test_add_func("/e1000/tx", test_tx);
    g_test_add_func("/e1000/tx-offload", test_tx_offload);
    g_test_add_func("/e1000/rx", test_rx);
    g_test_add_func("/e1000/rx-small-buffers", test_rx_small_buffers);
    g_test_add_func("/e1000/vlan", test_vlan);
    g_test_add_func("/e1000/interrupts", test_interrupts);
    g_test_add_func("/e1000/rx-hostile", test_rx_hostile);
    g_test_add_func("/e1000/delay-timers", test_delay_timers);
    g_test_add_func("/e1000/announce-self", test_announce);
    g_test_add_func("/e1000/announce-migration", test_announce_migration);
    g_test_add_func("/e1000/hostile", test_hostile);
    return g_test_run();
}
