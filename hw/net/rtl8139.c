/*
 * rtl8139: Realtek RTL8139C+ 10/100 Ethernet.
 *
 * Spec: Realtek "RTL8139C(L)+ Single-Chip Multi-Function 10/100Mbps
 * Ethernet Controller with Power Management" datasheet (rev 1.6):
 * register names from its section 6 (IDR0-5, MAR0-7, TSD0-3, TSAD0-3,
 * RBSTART, CR, CAPR, CBR, IMR, ISR, TCR, RCR, TCTR, MPC, 9346CR,
 * CONFIG0-5, TSAD, BMCR, BMSR, ANAR, ANLPAR, ANER, TPPoll, CPCR,
 * RDSAR, TNPDS, THPDS, RxMaxSize), section 7 (C mode: four transmit
 * descriptors, the receive ring with its 4-byte packet headers, wrap)
 * and section 9 (C+ mode: 16-byte transmit and receive descriptors
 * with OWN/EOR/FS/LS, checksum offload, large send, VLAN tags); the
 * 93C46 EEPROM protocol from Microchip's 93C46 datasheet.
 *
 * Identity as QEMU 7.2's: 10ec:8139 revision 0x20, class 0x0200, BAR0
 * 256 I/O ports, BAR1 256 bytes MMIO, INTA, option ROM efi-rtl8139.rom
 * (Debian's ipxe-qemu), bootindex; TCR's hardware version says
 * RTL8139C+ (0x74800000).
 *
 * Simplified as QEMU does: the timer interrupt (TimerInt) and the
 * interrupt mitigation register are stored, not acted on; EEPROM
 * writes are ignored (reads, EWEN/EWDS work).
 *
 * Guest input is hostile: the C-mode ring offsets are reduced modulo the
 * ring size, transmit sizes are bounded by the 13-bit size field, a C+
 * descriptor ring is walked at most 64 descriptors per kick (one lap of
 * the largest ring the chip has), and DMA goes through pci_dma_read/
 * pci_dma_write only.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/nvram/fw_cfg.h"
#include "system/timer.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "net/eth.h"

#define TYPE_RTL8139            "rtl8139"

/* ---- registers (datasheet section 6) --------------------------------- */

#define IDR0            0x00
#define MAR0            0x08
#define TSD0            0x10    /* C mode; C+ mode: DTCCR 0x10-0x17 */
#define TSAD0           0x20    /* C mode; C+ mode: TNPDS 0x20, THPDS 0x28 */
#define TNPDS           0x20
#define THPDS           0x28
#define RBSTART         0x30
#define ERBCR           0x34
#define ERSR            0x36
#define CR              0x37
#define CAPR            0x38
#define CBR             0x3a
#define IMR             0x3c
#define ISR             0x3e
#define TCR             0x40
#define RCR             0x44
#define TCTR            0x48
#define MPC             0x4c
#define CR9346          0x50
#define CONFIG0         0x51
#define CONFIG1         0x52
#define TIMERINT        0x54
#define MSR             0x58
#define CONFIG3         0x59
#define CONFIG4         0x5a
#define MULINT          0x5c
#define RERID           0x5e
#define TSAD            0x60    /* transmit status of all descriptors */
#define BMCR            0x62
#define BMSR            0x64
#define ANAR            0x66
#define ANLPAR          0x68
#define ANER            0x6a
#define DIS             0x6c
#define FCSC            0x6e
#define NWAYTR          0x70
#define REC             0x72
#define CSCR            0x74
#define PHY1_PARM       0x78
#define TW_PARM         0x7c
#define PHY2_PARM       0x80
#define CONFIG5         0xd8
#define TPPOLL          0xd9
#define RXMAXSIZE       0xda
#define CPCR            0xe0
#define INTRMITIGATE    0xe2
#define RDSAR           0xe4
#define ETTHR           0xec
#define REG_SIZE        0x100

/* CR */
#define CR_BUFE         0x01
#define CR_TE           0x04
#define CR_RE           0x08
#define CR_RST          0x10
/* ISR / IMR */
#define INT_ROK         0x0001
#define INT_RER         0x0002
#define INT_TOK         0x0004
#define INT_TER         0x0008
#define INT_RXOVW       0x0010
#define INT_LINKCHG     0x0020
#define INT_FOVW        0x0040
#define INT_TDU         0x0080
#define INT_SWINT       0x0100
#define INT_TIMEOUT     0x4000
#define INT_SERR        0x8000
/* TSD */
#define TSD_SIZE        0x00001fff
#define TSD_OWN         0x00002000
#define TSD_TUN         0x00004000
#define TSD_TOK         0x00008000
#define TSD_TABT        0x40000000
/* RCR */
#define RCR_AAP         0x01
#define RCR_APM         0x02
#define RCR_AM          0x04
#define RCR_AB          0x08
#define RCR_AR          0x10
#define RCR_AER         0x20
#define RCR_WRAP        0x80
#define RCR_RBLEN_SHIFT 11
/* receive packet header status (7.x) */
#define RX_ROK          0x0001
#define RX_BAR          0x2000
#define RX_PAM          0x4000
#define RX_MAR          0x8000
/* 9346CR */
#define EE_EEM_SHIFT    6
#define EE_MODE_NORMAL  0
#define EE_MODE_AUTOLOAD 1
#define EE_MODE_PROGRAM 2
#define EE_MODE_CFGWE   3
#define EE_CS           0x08
#define EE_SK           0x04
#define EE_DI           0x02
#define EE_DO           0x01
/* MSR */
#define MSR_LINKB       0x04    /* 1: link fail */
/* BMCR / BMSR */
#define BMCR_RESET      0x8000
#define BMCR_SPEED100   0x2000
#define BMCR_ANE        0x1000
#define BMCR_RESTART_AN 0x0200
#define BMCR_DUPLEX     0x0100
#define BMSR_LINK       0x0004
#define BMSR_AN_DONE    0x0020
/* TPPoll */
#define TPPOLL_HPQ      0x80
#define TPPOLL_NPQ      0x40
#define TPPOLL_FSWINT   0x01
/* CPCR */
#define CPCR_CPTX       0x0001
#define CPCR_CPRX       0x0002
#define CPCR_RXCHKSUM   0x0020
#define CPCR_RXVLAN     0x0040

/* C+ descriptors (9.x): dword0 command/status, dword1 VLAN, 2-3 address */
#define CP_OWN          (1u << 31)
#define CP_EOR          (1u << 30)
#define CP_FS           (1u << 29)
#define CP_LS           (1u << 28)
#define CP_TX_LGSEN     (1u << 27)
#define CP_TX_IPCS      (1u << 18)
#define CP_TX_UDPCS     (1u << 17)
#define CP_TX_TCPCS     (1u << 16)
#define CP_TX_LEN_MASK  0xffff
#define CP_TX_MSS_SHIFT 16
#define CP_TX_MSS_MASK  0x7ff
#define CP_TX_TAGC      (1u << 17)
#define CP_RX_BUF_MASK  0x1fff
#define CP_RX_MAR       (1u << 26)
#define CP_RX_PAM       (1u << 25)
#define CP_RX_BAR       (1u << 24)
#define CP_RX_TAVA      (1u << 16)
#define CP_RING_MAX     64

#define TX_BUF_SIZE     0x10000         /* a C+ large-send frame */
#define RX_MAX          (16384 + 4)
#define EEPROM_WORDS    64

typedef struct RTL8139State {
    PCIDevice parent;

    /* properties */
    char *netdev;
    char *mac_str;
    int32_t bootindex;

    NICConf conf;
    NICState *nic;
    char *boot_path;
    MemoryRegion io, mmio;
    bool tx_waiting;            /* the backend holds a frame */

    /* guest-visible registers */
    uint8_t phys[6];
    uint8_t mult[8];
    uint32_t tsd[4];
    uint32_t tsad[4];
    uint64_t dtccr;
    uint64_t tnpds, thpds;
    uint32_t rbstart;
    uint16_t erbcr;
    uint8_t ersr;
    uint8_t cr;
    uint16_t capr;
    uint16_t cbr;
    uint16_t imr, isr;
    uint32_t tcr, rcr;
    int64_t tctr_base;
    uint32_t mpc;
    uint8_t cr9346;
    uint8_t config0, config1, config3, config4, config5;
    uint32_t timerint;
    uint8_t msr;
    uint16_t mulint;
    uint16_t bmcr, bmsr, anar, anlpar, aner;
    uint16_t dis, fcsc, nwaytr, rec, cscr;
    uint32_t phy1_parm, tw_parm;
    uint8_t phy2_parm;
    uint16_t rxmaxsize;
    uint16_t cpcr;
    uint16_t intrmitigate;
    uint64_t rdsar;
    uint8_t etthr;

    /* internal */
    uint8_t cplus;              /* CPCR was written: C+ register layout */
    uint32_t tx_next;           /* C mode: the next TSD in turn */
    uint32_t cp_tx_desc, cp_rx_desc;
    struct {
        uint8_t mode;           /* 0 idle, 1 command, 2 reading */
        uint8_t tick;           /* bits taken in command mode */
        uint16_t in;
        uint8_t out_bit;        /* 0-15 within the word */
        uint8_t addr;
        uint8_t dout;
        uint8_t ewen;
        uint8_t old;
    } ee;
    uint16_t eeprom[EEPROM_WORDS];

    uint32_t cp_tx_size;        /* C+ frame being gathered */
    uint8_t cp_tx_buf[TX_BUF_SIZE];
    uint8_t buf[RX_MAX + 8];
} RTL8139State;

/* ---- interrupts ---------------------------------------------------------- */

static void update_irq(RTL8139State *s)
{
    pci_set_irq(&s->parent, (s->isr & s->imr) != 0);
}

static void raise_isr(RTL8139State *s, uint16_t bits)
{
    s->isr |= bits;
    update_irq(s);
}

/* ---- link ------------------------------------------------------------------ */

static void set_link(RTL8139State *s, bool up)
{
    if (up) {
        s->bmsr |= BMSR_LINK | BMSR_AN_DONE;
        s->msr &= ~MSR_LINKB;
    } else {
        s->bmsr &= ~BMSR_LINK;
        s->msr |= MSR_LINKB;
    }
}

static void link_status_changed(NetClientState *nc)
{
    RTL8139State *s = qemu_get_nic_opaque(nc);

    set_link(s, !nc->link_down);
    raise_isr(s, INT_LINKCHG);
}

/* ---- 93C46 EEPROM ---------------------------------------------------------- */

static void eeprom_init(RTL8139State *s)
{
    memset(s->eeprom, 0, sizeof(s->eeprom));
    s->eeprom[0] = 0x8129;              /* RTL8139 EEPROM signature */
    s->eeprom[1] = 0x10ec;
    s->eeprom[2] = 0x8139;
    s->eeprom[3] = 0x10ec;              /* subsystem vendor */
    s->eeprom[4] = 0x8139;              /* subsystem */
    s->eeprom[5] = 0x4020;              /* min grant, max latency */
    s->eeprom[6] = 0xe112;
    for (unsigned i = 0; i < 3; i++) {
        s->eeprom[7 + i] = s->conf.macaddr.a[2 * i] |
                           (s->conf.macaddr.a[2 * i + 1] << 8);
    }
    s->eeprom[10] = 0x4d10;             /* CONFIG3 / CONFIG4 defaults */
}

/*
 * Microwire: with CS high, on each rising SK take DI.  A 1 starts a
 * command: 2 opcode bits and 6 address bits follow.  READ (10) then
 * gives a dummy 0 and the words from the address on, D15 first.
 */
static void eeprom_clock(RTL8139State *s, uint8_t v)
{
    uint8_t old = s->ee.old;

    s->ee.old = v;
    if (!(v & EE_CS)) {
        s->ee.mode = 0;
        s->ee.dout = 0;
        return;
    }
    if (!(v & EE_SK) || (old & EE_SK)) {
        return;
    }
    switch (s->ee.mode) {
    case 0:
        if (v & EE_DI) {
            s->ee.mode = 1;
            s->ee.tick = 0;
            s->ee.in = 0;
        }
        break;
    case 1:
        s->ee.in = (s->ee.in << 1) | !!(v & EE_DI);
        if (++s->ee.tick < 8) {
            break;
        }
        s->ee.addr = s->ee.in & 0x3f;
        switch (s->ee.in >> 6) {
        case 2:                         /* READ */
            s->ee.mode = 2;
            s->ee.out_bit = 0;
            s->ee.dout = 0;             /* the dummy zero */
            return;
        case 0:                         /* EWEN 11xxxx, EWDS 00xxxx */
            if ((s->ee.addr >> 4) == 3) {
                s->ee.ewen = 1;
            } else if ((s->ee.addr >> 4) == 0) {
                s->ee.ewen = 0;
            }
            break;
        }
        s->ee.mode = 0;                 /* WRITE/ERASE: not modelled */
        s->ee.dout = 1;                 /* ready */
        break;
    case 2:
        s->ee.dout = (s->eeprom[s->ee.addr] >> (15 - s->ee.out_bit)) & 1;
        if (++s->ee.out_bit == 16) {
            s->ee.out_bit = 0;
            s->ee.addr = (s->ee.addr + 1) & (EEPROM_WORDS - 1);
        }
        break;
    }
}

static void write_9346cr(RTL8139State *s, uint8_t v)
{
    unsigned mode = v >> EE_EEM_SHIFT;

    s->cr9346 = v & 0xcf;
    if (mode == EE_MODE_PROGRAM) {
        eeprom_clock(s, v);
    } else if (mode == EE_MODE_AUTOLOAD) {
        /* Reload the MAC from the EEPROM, then back to normal. */
        for (unsigned i = 0; i < 3; i++) {
            s->phys[2 * i] = s->eeprom[7 + i];
            s->phys[2 * i + 1] = s->eeprom[7 + i] >> 8;
        }
        s->cr9346 &= ~(3 << EE_EEM_SHIFT);
    }
}

static uint8_t read_9346cr(RTL8139State *s)
{
    uint8_t v = s->cr9346;

    if ((v >> EE_EEM_SHIFT) == EE_MODE_PROGRAM) {
        v = (v & ~EE_DO) | (s->ee.dout ? EE_DO : 0);
    }
    return v;
}

/* ---- receive --------------------------------------------------------------- */

static uint32_t rx_ring_size(RTL8139State *s)
{
    return 8192u << ((s->rcr >> RCR_RBLEN_SHIFT) & 3);
}

static bool cp_rx_mode(RTL8139State *s)
{
    return s->cpcr & CPCR_CPRX;
}

/* The driver's read pointer: CAPR lags it by 16 bytes (7.x). */
static uint32_t rx_read_ptr(RTL8139State *s)
{
    return ((uint32_t)s->capr + 16) % rx_ring_size(s);
}

/* Free bytes of the C-mode ring (it is empty when both pointers meet). */
static uint32_t rx_ring_free(RTL8139State *s)
{
    uint32_t n = rx_ring_size(s);
    uint32_t used = (s->cbr % n + n - rx_read_ptr(s)) % n;

    return n - used;
}

static bool rx_enabled(RTL8139State *s)
{
    return (s->cr & CR_RE) &&
           (s->parent.config[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

static bool rtl_can_receive(NetClientState *nc)
{
    RTL8139State *s = qemu_get_nic_opaque(nc);

    if (!rx_enabled(s) || cp_rx_mode(s)) {
        return true;            /* disabled: lost; C+: no ring to fill */
    }
    /* Wait while the ring cannot hold a full frame (QEMU's rule). */
    return rx_ring_free(s) >= 1514 + 16 || (s->imr & INT_RXOVW);
}

/* Big-endian CRC-32 of the destination: the MAR hash (top 6 bits). */
static unsigned mar_hash(const uint8_t *addr)
{
    uint32_t crc = 0xffffffff;

    for (unsigned i = 0; i < 6; i++) {
        uint8_t b = addr[i];
        for (unsigned k = 0; k < 8; k++, b >>= 1) {
            uint32_t carry = (crc >> 31) ^ (b & 1);
            crc <<= 1;
            if (carry) {
                crc ^= 0x04c11db7;
            }
        }
    }
    return crc >> 26;
}

/* RCR's accept rules; 0 drops, else the header's address bits. */
static uint16_t rx_filter(RTL8139State *s, const uint8_t *p)
{
    if (eth_is_broadcast(p)) {
        return (s->rcr & RCR_AB) ? RX_BAR : 0;
    }
    if (p[0] & 1) {
        unsigned h = mar_hash(p);
        if ((s->rcr & RCR_AAP) ||
            ((s->rcr & RCR_AM) && (s->mult[h >> 3] & (1u << (h & 7))))) {
            return RX_MAR;
        }
        return 0;
    }
    if (s->rcr & RCR_AAP) {
        return RX_PAM;
    }
    if ((s->rcr & RCR_APM) && !memcmp(p, s->phys, 6)) {
        return RX_PAM;
    }
    return 0;
}

/* Write @len bytes at ring offset @off: wrap, or with RCR.WRAP run on. */
static void rx_ring_write(RTL8139State *s, uint32_t off, const uint8_t *data,
                          uint32_t len)
{
    uint32_t n = rx_ring_size(s);

    off %= n;
    if (!(s->rcr & RCR_WRAP) && off + len > n) {
        uint32_t first = n - off;
        pci_dma_write(&s->parent, s->rbstart + off, data, first);
        pci_dma_write(&s->parent, s->rbstart, data + first, len - first);
        return;
    }
    pci_dma_write(&s->parent, (uint64_t)s->rbstart + off, data, len);
}

static void rx_missed(RTL8139State *s)
{
    s->mpc++;
    raise_isr(s, INT_RXOVW);
}

static ssize_t rx_c_mode(RTL8139State *s, size_t size, uint16_t addrbits)
{
    uint32_t n = rx_ring_size(s);
    uint32_t total = size + 4;          /* with the FCS */
    uint32_t need = (4 + total + 3) & ~3u;
    uint8_t hdr[4];

    if (need + 4 > rx_ring_free(s)) {   /* never let CBR reach CAPR */
        rx_missed(s);
        return size;
    }
    stl_le_p(s->buf + size, eth_crc32(s->buf, size));
    stw_le_p(hdr, RX_ROK | addrbits);
    stw_le_p(hdr + 2, total);
    rx_ring_write(s, s->cbr, hdr, 4);
    rx_ring_write(s, s->cbr + 4, s->buf, total);
    s->cbr = (s->cbr + need) % n;
    raise_isr(s, INT_ROK);
    return size;
}

static ssize_t rx_cplus_mode(RTL8139State *s, size_t size, uint16_t addrbits)
{
    uint64_t daddr = s->rdsar + 16ull * s->cp_rx_desc;
    uint8_t d[16];
    uint32_t w0, w1, total, bufsize;
    uint16_t tag = 0;
    bool tagged = false;

    if (pci_dma_read(&s->parent, daddr, d, 16) != MEMTX_OK) {
        rx_missed(s);
        return size;
    }
    w0 = ldl_le_p(d);
    if (!(w0 & CP_OWN)) {
        rx_missed(s);                   /* no buffer: the frame is lost */
        return size;
    }
    if ((s->cpcr & CPCR_RXVLAN) && size >= 18 && eth_ldw(s->buf + 12) ==
        0x8100) {
        tag = eth_ldw(s->buf + 14);
        memmove(s->buf + 12, s->buf + 16, size - 16);
        size -= 4;
        tagged = true;
    }
    total = size + 4;
    bufsize = w0 & CP_RX_BUF_MASK;
    if (total > bufsize) {
        rx_missed(s);                   /* no multi-buffer frames (QEMU) */
        return size;
    }
    stl_le_p(s->buf + size, eth_crc32(s->buf, size));
    pci_dma_write(&s->parent, ldq_le_p(d + 8), s->buf, total);
    w0 = (w0 & CP_EOR) | CP_FS | CP_LS | total |
         (addrbits == RX_BAR ? CP_RX_BAR : addrbits == RX_MAR ? CP_RX_MAR
                                                              : CP_RX_PAM);
    w1 = tagged ? (CP_RX_TAVA | ((tag & 0xff) << 8) | (tag >> 8)) : 0;
    stl_le_p(d, w0);
    stl_le_p(d + 4, w1);
    pci_dma_write(&s->parent, daddr, d, 8);
    if ((w0 & CP_EOR) || ++s->cp_rx_desc >= CP_RING_MAX) {
        s->cp_rx_desc = 0;
    }
    raise_isr(s, INT_ROK);
    return size;
}

static ssize_t rtl_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    RTL8139State *s = qemu_get_nic_opaque(nc);
    size_t size = net_iov_size(iov, iovcnt), orig = size;
    uint16_t addrbits;

    if (!rx_enabled(s) || (s->bmsr & BMSR_LINK) == 0) {
        return orig;
    }
    if (size > RX_MAX - 4) {
        return orig;
    }
    net_iov_to_buf(iov, iovcnt, 0, s->buf, size);
    if (size < ETH_ZLEN) {
        memset(s->buf + size, 0, ETH_ZLEN - size);
        size = ETH_ZLEN;
    }
    addrbits = rx_filter(s, s->buf);
    if (!addrbits) {
        return orig;
    }
    if (cp_rx_mode(s)) {
        rx_cplus_mode(s, size, addrbits);
    } else {
        rx_c_mode(s, size, addrbits);
    }
    return orig;
}

/* ---- transmit --------------------------------------------------------------- */

static void tx_sent(NetClientState *nc, ssize_t len);

static void send_frame(RTL8139State *s, const uint8_t *buf, size_t len,
                       bool tag, uint16_t tci)
{
    NetClientState *nc = qemu_get_queue(s->nic);
    struct iovec iov[3];
    uint8_t vlan[4];
    int n = 0;

    if (tag && len >= 12) {
        eth_stw(vlan, 0x8100);
        eth_stw(vlan + 2, tci);
        iov[n++] = (struct iovec){ (void *)buf, 12 };
        iov[n++] = (struct iovec){ vlan, 4 };
        iov[n++] = (struct iovec){ (void *)buf + 12, len - 12 };
    } else {
        iov[n++] = (struct iovec){ (void *)buf, len };
    }
    if (qemu_sendv_packet_async(nc, iov, n, tx_sent) == 0) {
        s->tx_waiting = true;
    }
}

static bool tx_enabled(RTL8139State *s)
{
    return s->cr & CR_TE;
}

/* C mode: descriptor @i, whose TSD was just written with OWN clear. */
static void tx_c_desc(RTL8139State *s, unsigned i)
{
    uint32_t size = s->tsd[i] & TSD_SIZE;

    if (!tx_enabled(s) || (s->tsd[i] & TSD_OWN)) {
        return;
    }
    if (size && pci_dma_read(&s->parent, s->tsad[i], s->cp_tx_buf, size)
        != MEMTX_OK) {
        s->tsd[i] |= TSD_OWN | TSD_TABT;
        raise_isr(s, INT_TER);
        return;
    }
    if (size) {
        send_frame(s, s->cp_tx_buf, size, false, 0);
    }
    s->tsd[i] |= TSD_OWN | TSD_TOK;
    s->tx_next = (i + 1) & 3;
    raise_isr(s, INT_TOK);
}

/* IPv4 header checksum and TCP/UDP checksum of a frame (C+ offload). */
static void cp_tx_checksum(uint8_t *f, size_t len, uint32_t cmd)
{
    size_t ihl, l4, l4len;
    uint8_t proto;
    uint32_t sum;
    unsigned off;

    if (len < 34 || eth_ldw(f + 12) != 0x0800 || (f[14] >> 4) != 4) {
        return;
    }
    ihl = (f[14] & 0xf) * 4;
    if (ihl < 20 || 14 + ihl > len) {
        return;
    }
    if (cmd & CP_TX_IPCS) {
        eth_stw(f + 24, 0);
        eth_stw(f + 24, eth_csum_finish(eth_csum_add(0, f + 14, ihl)));
    }
    proto = f[23];
    l4 = 14 + ihl;
    l4len = MIN((size_t)eth_ldw(f + 16), len - 14);
    if (l4len < ihl) {
        return;
    }
    l4len -= ihl;
    if (proto == 6 && (cmd & CP_TX_TCPCS) && l4len >= 20) {
        off = 16;
    } else if (proto == 17 && (cmd & CP_TX_UDPCS) && l4len >= 8) {
        off = 6;
    } else {
        return;
    }
    sum = eth_csum_add(0, f + 26, 8) + proto + l4len;
    eth_stw(f + l4 + off, 0);
    sum = eth_csum_add(sum, f + l4, l4len);
    sum = eth_csum_finish(sum);
    if (sum == 0 && proto == 17) {
        sum = 0xffff;                   /* UDP: 0 means "no checksum" */
    }
    eth_stw(f + l4 + off, sum);
}

/* Large send: TCP over IPv4 cut into MSS-sized segments. */
static void cp_tx_large_send(RTL8139State *s, uint8_t *f, size_t len,
                             uint32_t cmd, bool tag, uint16_t tci)
{
    unsigned mss = (cmd >> CP_TX_MSS_SHIFT) & CP_TX_MSS_MASK;
    size_t ihl, hlen, pay;
    uint8_t hdr[14 + 60 + 60];
    uint32_t seq;
    uint16_t id;
    uint8_t flags;

    if (len < 54 || eth_ldw(f + 12) != 0x0800 || f[23] != 6) {
        send_frame(s, f, len, tag, tci);
        return;
    }
    ihl = (f[14] & 0xf) * 4;
    if (ihl < 20 || 14 + ihl + 20 > len) {
        send_frame(s, f, len, tag, tci);
        return;
    }
    hlen = 14 + ihl + (f[14 + ihl + 12] >> 4) * 4;
    if (hlen < 14 + ihl + 20 || hlen > len || hlen > sizeof(hdr)) {
        send_frame(s, f, len, tag, tci);
        return;
    }
    if (mss < 64) {
        mss = 64;                       /* bounded work per frame */
    }
    memcpy(hdr, f, hlen);
    seq = eth_ldl(hdr + 14 + ihl + 4);
    id = eth_ldw(hdr + 18);
    flags = hdr[14 + ihl + 13];
    for (size_t off = hlen, n = 0; off < len; off += pay, n++) {
        uint8_t *seg = f + off - hlen;  /* header goes just before */
        bool last;

        pay = MIN((size_t)mss, len - off);
        last = off + pay >= len;
        memcpy(seg, hdr, hlen);
        eth_stw(seg + 16, ihl + (hlen - 14 - ihl) + pay);
        eth_stw(seg + 18, id + n);
        eth_stl(seg + 14 + ihl + 4, seq + (off - hlen));
        seg[14 + ihl + 13] = last ? flags : (flags & ~0x09);
        cp_tx_checksum(seg, hlen + pay, CP_TX_IPCS | CP_TX_TCPCS);
        send_frame(s, seg, hlen + pay, tag, tci);
    }
}

/*
 * C+ mode: walk the normal-priority ring from the current descriptor
 * while the chip owns them, at most one lap of the largest ring.
 */
static void cp_tx(RTL8139State *s)
{
    uint32_t done = 0;

    if (!tx_enabled(s) || !(s->cpcr & CPCR_CPTX)) {
        return;
    }
    while (!s->tx_waiting && done < CP_RING_MAX) {
        uint64_t daddr = s->tnpds + 16ull * s->cp_tx_desc;
        uint8_t d[16];
        uint32_t w0, w1, len;

        if (pci_dma_read(&s->parent, daddr, d, 16) != MEMTX_OK) {
            break;
        }
        w0 = ldl_le_p(d);
        w1 = ldl_le_p(d + 4);
        if (!(w0 & CP_OWN)) {
            break;
        }
        done++;
        if (w0 & CP_FS) {
            s->cp_tx_size = 0;
        }
        len = w0 & CP_TX_LEN_MASK;
        len = MIN(len, TX_BUF_SIZE - s->cp_tx_size);
        if (len && pci_dma_read(&s->parent, ldq_le_p(d + 8),
                                s->cp_tx_buf + s->cp_tx_size, len)
            == MEMTX_OK) {
            s->cp_tx_size += len;
        }
        /* Hand the descriptor back: OWN clear, the rest as it was. */
        stl_le_p(d, w0 & ~CP_OWN);
        pci_dma_write(&s->parent, daddr, d, 4);
        if ((w0 & CP_EOR) || ++s->cp_tx_desc >= CP_RING_MAX) {
            s->cp_tx_desc = 0;
        }
        if (!(w0 & CP_LS)) {
            continue;
        }
        if (s->cp_tx_size) {
            bool tag = w1 & CP_TX_TAGC;
            uint16_t tci = ((w1 & 0xff) << 8) | ((w1 >> 8) & 0xff);
            if (w0 & CP_TX_LGSEN) {
                cp_tx_large_send(s, s->cp_tx_buf, s->cp_tx_size, w0, tag,
                                 tci);
            } else {
                cp_tx_checksum(s->cp_tx_buf, s->cp_tx_size, w0);
                send_frame(s, s->cp_tx_buf, s->cp_tx_size, tag, tci);
            }
        }
        s->cp_tx_size = 0;
        raise_isr(s, INT_TOK);
    }
}

static void tx_sent(NetClientState *nc, ssize_t len)
{
    RTL8139State *s = qemu_get_nic_opaque(nc);

    if (s->tx_waiting) {
        s->tx_waiting = false;
        cp_tx(s);
    }
}

/* ---- register file ---------------------------------------------------------- */

static uint32_t tsad_summary(RTL8139State *s)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < 4; i++) {
        v |= (s->tsd[i] & TSD_TOK ? 1u << (12 + i) : 0) |
             (s->tsd[i] & TSD_TUN ? 1u << (8 + i) : 0) |
             (s->tsd[i] & TSD_TABT ? 1u << (4 + i) : 0) |
             (s->tsd[i] & TSD_OWN ? 1u << i : 0);
    }
    return v;
}

static uint32_t tctr_now(RTL8139State *s)
{
    /* TCTR counts the 33 MHz PCI clock. */
    int64_t ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - s->tctr_base;
    return (uint32_t)((uint64_t)ns * 33 / 1000);
}

static uint8_t byte_of(uint64_t v, unsigned i)
{
    return v >> (8 * i);
}

static uint8_t read8(RTL8139State *s, unsigned a)
{
    if (a < 6) {
        return s->phys[a];
    }
    if (a >= MAR0 && a < MAR0 + 8) {
        return s->mult[a - MAR0];
    }
    if (a >= TSD0 && a < TSD0 + 16) {
        return s->cplus ? (a < TSD0 + 8 ? byte_of(s->dtccr, a - TSD0) : 0)
                        : byte_of(s->tsd[(a - TSD0) / 4], a & 3);
    }
    if (a >= TSAD0 && a < TSAD0 + 16) {
        if (s->cplus) {
            return a < THPDS ? byte_of(s->tnpds, a - TNPDS)
                             : byte_of(s->thpds, a - THPDS);
        }
        return byte_of(s->tsad[(a - TSAD0) / 4], a & 3);
    }
    if (a >= RDSAR && a < RDSAR + 8) {
        return byte_of(s->rdsar, a - RDSAR);
    }
    switch (a) {
    case RBSTART ... RBSTART + 3: return byte_of(s->rbstart, a - RBSTART);
    case ERBCR ... ERBCR + 1:     return byte_of(s->erbcr, a - ERBCR);
    case ERSR:                    return s->ersr;
    case CR:
        return s->cr | (rx_read_ptr(s) == s->cbr % rx_ring_size(s)
                        ? CR_BUFE : 0);
    case CAPR ... CAPR + 1:       return byte_of(s->capr, a - CAPR);
    case CBR ... CBR + 1:         return byte_of(s->cbr, a - CBR);
    case IMR ... IMR + 1:         return byte_of(s->imr, a - IMR);
    case ISR ... ISR + 1:         return byte_of(s->isr, a - ISR);
    case TCR ... TCR + 3:
        return byte_of(s->tcr | 0x74800000, a - TCR);   /* RTL8139C+ */
    case RCR ... RCR + 3:         return byte_of(s->rcr, a - RCR);
    case TCTR ... TCTR + 3:       return byte_of(tctr_now(s), a - TCTR);
    case MPC ... MPC + 3:         return byte_of(s->mpc, a - MPC);
    case CR9346:                  return read_9346cr(s);
    case CONFIG0:                 return s->config0;
    case CONFIG1:                 return s->config1;
    case TIMERINT ... TIMERINT + 3: return byte_of(s->timerint, a - TIMERINT);
    case MSR:                     return s->msr;
    case CONFIG3:                 return s->config3;
    case CONFIG4:                 return s->config4;
    case MULINT ... MULINT + 1:   return byte_of(s->mulint, a - MULINT);
    case RERID:                   return 0x10;  /* revision: C+ */
    case TSAD ... TSAD + 1:       return byte_of(tsad_summary(s), a - TSAD);
    case BMCR ... BMCR + 1:       return byte_of(s->bmcr, a - BMCR);
    case BMSR ... BMSR + 1:       return byte_of(s->bmsr, a - BMSR);
    case ANAR ... ANAR + 1:       return byte_of(s->anar, a - ANAR);
    case ANLPAR ... ANLPAR + 1:   return byte_of(s->anlpar, a - ANLPAR);
    case ANER ... ANER + 1:       return byte_of(s->aner, a - ANER);
    case DIS ... DIS + 1:         return byte_of(s->dis, a - DIS);
    case FCSC ... FCSC + 1:       return byte_of(s->fcsc, a - FCSC);
    case NWAYTR ... NWAYTR + 1:   return byte_of(s->nwaytr, a - NWAYTR);
    case REC ... REC + 1:         return byte_of(s->rec, a - REC);
    case CSCR ... CSCR + 1:       return byte_of(s->cscr, a - CSCR);
    case PHY1_PARM ... PHY1_PARM + 3: return byte_of(s->phy1_parm,
                                                     a - PHY1_PARM);
    case TW_PARM ... TW_PARM + 3: return byte_of(s->tw_parm, a - TW_PARM);
    case PHY2_PARM:               return s->phy2_parm;
    case CONFIG5:                 return s->config5;
    case RXMAXSIZE ... RXMAXSIZE + 1: return byte_of(s->rxmaxsize,
                                                     a - RXMAXSIZE);
    case CPCR ... CPCR + 1:       return byte_of(s->cpcr, a - CPCR);
    case INTRMITIGATE ... INTRMITIGATE + 1:
        return byte_of(s->intrmitigate, a - INTRMITIGATE);
    case ETTHR:                   return s->etthr;
    }
    return 0;
}

#define SET_BYTE(field, i, v) \
    ((field) = ((field) & ~((__typeof__(field))0xff << (8 * (i)))) | \
               ((__typeof__(field))(v) << (8 * (i))))

static bool config_writable(RTL8139State *s)
{
    return (s->cr9346 >> EE_EEM_SHIFT) == EE_MODE_CFGWE;
}

/* Store one byte; side effects that need the whole register come after. */
static void write8(RTL8139State *s, unsigned a, uint8_t v)
{
    if (a < 6) {
        s->phys[a] = v;
        return;
    }
    if (a >= MAR0 && a < MAR0 + 8) {
        s->mult[a - MAR0] = v;
        return;
    }
    if (a >= TSD0 && a < TSD0 + 16) {
        if (s->cplus) {
            if (a < TSD0 + 8) {
                SET_BYTE(s->dtccr, a - TSD0, v);
            }
        } else {
            SET_BYTE(s->tsd[(a - TSD0) / 4], a & 3, v);
        }
        return;
    }
    if (a >= TSAD0 && a < TSAD0 + 16) {
        if (!s->cplus) {
            SET_BYTE(s->tsad[(a - TSAD0) / 4], a & 3, v);
        } else if (a < THPDS) {
            SET_BYTE(s->tnpds, a - TNPDS, v);
        } else {
            SET_BYTE(s->thpds, a - THPDS, v);
        }
        return;
    }
    if (a >= RDSAR && a < RDSAR + 8) {
        SET_BYTE(s->rdsar, a - RDSAR, v);
        return;
    }
    switch (a) {
    case RBSTART ... RBSTART + 3: SET_BYTE(s->rbstart, a - RBSTART, v); break;
    case CR:                      s->cr = v & (CR_RE | CR_TE | CR_RST); break;
    case CAPR ... CAPR + 1:       SET_BYTE(s->capr, a - CAPR, v); break;
    case IMR ... IMR + 1:         SET_BYTE(s->imr, a - IMR, v); break;
    case ISR:                     s->isr &= ~v; break;       /* write 1 */
    case ISR + 1:                 s->isr &= ~(v << 8); break;
    case TCR ... TCR + 3:
        SET_BYTE(s->tcr, a - TCR, v);
        s->tcr &= ~0x7cc00000u;         /* the hardware version bits */
        break;
    case RCR ... RCR + 3:         SET_BYTE(s->rcr, a - RCR, v); break;
    case TCTR ... TCTR + 3:
        s->tctr_base = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        break;
    case MPC ... MPC + 3:         s->mpc = 0; break;
    case CR9346:                  write_9346cr(s, v); break;
    case CONFIG0:
        if (config_writable(s)) {
            s->config0 = v;
        }
        break;
    case CONFIG1:
        if (config_writable(s)) {
            s->config1 = v;
        }
        break;
    case CONFIG3:
        if (config_writable(s)) {
            s->config3 = v;
        }
        break;
    case CONFIG4:
        if (config_writable(s)) {
            s->config4 = v;
        }
        break;
    case CONFIG5:                 s->config5 = v; break;
    case TIMERINT ... TIMERINT + 3: SET_BYTE(s->timerint, a - TIMERINT, v);
        break;
    case MULINT ... MULINT + 1:   SET_BYTE(s->mulint, a - MULINT, v); break;
    case BMCR ... BMCR + 1:       SET_BYTE(s->bmcr, a - BMCR, v); break;
    case ANAR ... ANAR + 1:       SET_BYTE(s->anar, a - ANAR, v); break;
    case CSCR ... CSCR + 1:       SET_BYTE(s->cscr, a - CSCR, v); break;
    case PHY1_PARM ... PHY1_PARM + 3:
        SET_BYTE(s->phy1_parm, a - PHY1_PARM, v);
        break;
    case TW_PARM ... TW_PARM + 3: SET_BYTE(s->tw_parm, a - TW_PARM, v); break;
    case PHY2_PARM:               s->phy2_parm = v; break;
    case TPPOLL:
        break;                          /* acted on after the access */
    case RXMAXSIZE ... RXMAXSIZE + 1:
        SET_BYTE(s->rxmaxsize, a - RXMAXSIZE, v);
        break;
    case CPCR ... CPCR + 1:
        SET_BYTE(s->cpcr, a - CPCR, v);
        s->cplus = 1;
        break;
    case INTRMITIGATE ... INTRMITIGATE + 1:
        SET_BYTE(s->intrmitigate, a - INTRMITIGATE, v);
        break;
    case ETTHR:                   s->etthr = v; break;
    }
}

static void soft_reset(RTL8139State *s);

static bool touches(unsigned a, unsigned size, unsigned reg, unsigned rsize)
{
    return a < reg + rsize && reg < a + size;
}

/* What a completed register access sets off. */
static void after_write(RTL8139State *s, unsigned a, unsigned size,
                        uint64_t val)
{
    NetClientState *nc = qemu_get_queue(s->nic);

    if (touches(a, size, CR, 1)) {
        if (s->cr & CR_RST) {
            soft_reset(s);
            return;
        }
        qemu_flush_queued_packets(nc);
    }
    if (touches(a, size, BMCR, 2)) {
        s->bmcr &= ~(BMCR_RESET | BMCR_RESTART_AN);   /* self-clearing */
    }
    if (!s->cplus && a >= TSD0 && a < TSD0 + 16 && ((a + size - 1) & 3) == 3) {
        tx_c_desc(s, (a - TSD0) / 4);   /* the TSD's top byte was written */
    }
    if (touches(a, size, TPPOLL, 1)) {
        uint8_t poll = byte_of(val, TPPOLL - a);
        if (poll & TPPOLL_FSWINT) {
            raise_isr(s, INT_SWINT);
        }
        if (poll & (TPPOLL_NPQ | TPPOLL_HPQ)) {
            cp_tx(s);
        }
    }
    if (touches(a, size, CAPR, 2) || touches(a, size, RCR, 4) ||
        touches(a, size, CPCR, 2)) {
        qemu_flush_queued_packets(nc);
    }
    update_irq(s);
}

static uint64_t rtl_read(void *opaque, uint64_t addr, unsigned size)
{
    RTL8139State *s = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size && addr + i < REG_SIZE; i++) {
        v |= (uint64_t)read8(s, addr + i) << (8 * i);
    }
    return v;
}

static void rtl_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    RTL8139State *s = opaque;

    for (unsigned i = 0; i < size && addr + i < REG_SIZE; i++) {
        write8(s, addr + i, val >> (8 * i));
    }
    after_write(s, addr, size, val);
}

static const MemoryRegionOps rtl_ops = {
    .read = rtl_read,
    .write = rtl_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- life cycle ------------------------------------------------------------ */

/* CR.RST: the registers a software reset clears (datasheet 6). */
static void soft_reset(RTL8139State *s)
{
    NetClientState *nc = qemu_get_queue(s->nic);

    s->cr = 0;
    s->isr = 0;
    s->imr = 0;
    s->capr = 0xfff0;                   /* read pointer 0 */
    s->cbr = 0;
    s->tcr = 0;
    s->rcr = 0;
    s->cpcr = 0;
    s->cplus = 0;
    s->cp_tx_desc = s->cp_rx_desc = 0;
    s->cp_tx_size = 0;
    s->tx_next = 0;
    s->tx_waiting = false;
    for (unsigned i = 0; i < 4; i++) {
        s->tsd[i] = TSD_OWN;            /* the host owns every buffer */
    }
    qemu_purge_queued_packets(nc);
    update_irq(s);
}

static void rtl_reset(DeviceState *dev)
{
    RTL8139State *s = (RTL8139State *)dev;

    memcpy(s->phys, s->conf.macaddr.a, 6);
    memset(s->mult, 0, sizeof(s->mult));
    memset(s->tsad, 0, sizeof(s->tsad));
    s->dtccr = s->tnpds = s->thpds = s->rdsar = 0;
    s->rbstart = 0;
    s->erbcr = 0;
    s->ersr = 0;
    s->mpc = 0;
    s->cr9346 = 0;
    s->config0 = 0;
    s->config1 = 0x0d;                  /* LED0, DVRLOAD, IOMAP/MEMMAP */
    s->config3 = 0x01;
    s->config4 = 0x40;
    s->config5 = 0;
    s->timerint = 0;
    s->mulint = 0;
    s->bmcr = BMCR_ANE | BMCR_SPEED100 | BMCR_DUPLEX;
    s->bmsr = 0x7809;                   /* 100/10 full/half, AN able */
    s->anar = 0x01e1;
    s->anlpar = 0x05e1;
    s->aner = 0x0001;
    s->dis = s->fcsc = s->nwaytr = s->rec = 0;
    s->cscr = 0x0720;
    s->phy1_parm = 0;
    s->tw_parm = 0;
    s->phy2_parm = 0;
    s->rxmaxsize = 0x0600;
    s->intrmitigate = 0;
    s->etthr = 0x3f;
    s->msr = 0;
    s->tctr_base = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    memset(&s->ee, 0, sizeof(s->ee));
    set_link(s, !qemu_get_queue(s->nic)->link_down);
    soft_reset(s);
}

static const NetClientInfo rtl_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NetClientState),
    .can_receive = rtl_can_receive,
    .receive_iov = rtl_receive_iov,
    .link_status_changed = link_status_changed,
};

static bool rtl_realize(DeviceState *dev, GError **errp)
{
    RTL8139State *s = (RTL8139State *)dev;
    PCIDevice *pd = &s->parent;

    if (!net_nic_conf_resolve(&s->conf, s->netdev, s->mac_str, errp)) {
        return false;
    }
    pd->config[PCI_INTERRUPT_PIN] = 1;
    memory_region_init_io(&s->io, &rtl_ops, s, "rtl8139-io", REG_SIZE);
    memory_region_init_io(&s->mmio, &rtl_ops, s, "rtl8139-mmio", REG_SIZE);
    pci_register_bar(pd, 0, PCI_BASE_ADDRESS_SPACE_IO, &s->io);
    pci_register_bar(pd, 1, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);
    s->nic = qemu_new_nic(&rtl_net_info, &s->conf, dev->type->name,
                          dev->id, s);
    qemu_format_nic_info_str(qemu_get_queue(s->nic), s->conf.macaddr.a);
    eeprom_init(s);
    if (s->bootindex >= 0) {
        int devfn = pd->devfn;
        s->boot_path = PCI_FUNC(devfn)
            ? g_strdup_printf("/pci@i0cf8/ethernet@%x,%x/ethernet-phy@0",
                              PCI_SLOT(devfn), PCI_FUNC(devfn))
            : g_strdup_printf("/pci@i0cf8/ethernet@%x/ethernet-phy@0",
                              PCI_SLOT(devfn));
        fw_boot_order_add(s->bootindex, s->boot_path);
    }
    rtl_reset(dev);
    return true;
}

static void rtl_unrealize(DeviceState *dev)
{
    RTL8139State *s = (RTL8139State *)dev;

    if (s->boot_path) {
        fw_boot_order_remove(s->boot_path);
        g_free(s->boot_path);
        s->boot_path = NULL;
    }
    if (s->nic) {
        qemu_del_nic(s->nic);
        s->nic = NULL;
    }
    memory_region_destroy(&s->io);
    memory_region_destroy(&s->mmio);
}

static int rtl_post_load(void *opaque, int version_id)
{
    RTL8139State *s = opaque;
    NetClientState *nc = qemu_get_queue(s->nic);

    if (s->cp_tx_desc >= CP_RING_MAX || s->cp_rx_desc >= CP_RING_MAX ||
        s->cp_tx_size > TX_BUF_SIZE || s->ee.addr >= EEPROM_WORDS ||
        s->ee.out_bit >= 16 || s->ee.mode > 2) {
        return -1;
    }
    s->tx_waiting = false;
    s->tx_next &= 3;
    set_link(s, !nc->link_down);
    update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_rtl8139 = {
    .name = "rtl8139",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = rtl_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(phys, RTL8139State, 6),
        VMSTATE_UINT8_ARRAY(mult, RTL8139State, 8),
        VMSTATE_UINT32_ARRAY(tsd, RTL8139State, 4),
        VMSTATE_UINT32_ARRAY(tsad, RTL8139State, 4),
        VMSTATE_UINT64(dtccr, RTL8139State),
        VMSTATE_UINT64(tnpds, RTL8139State),
        VMSTATE_UINT64(thpds, RTL8139State),
        VMSTATE_UINT32(rbstart, RTL8139State),
        VMSTATE_UINT16(erbcr, RTL8139State),
        VMSTATE_UINT8(ersr, RTL8139State),
        VMSTATE_UINT8(cr, RTL8139State),
        VMSTATE_UINT16(capr, RTL8139State),
        VMSTATE_UINT16(cbr, RTL8139State),
        VMSTATE_UINT16(imr, RTL8139State),
        VMSTATE_UINT16(isr, RTL8139State),
        VMSTATE_UINT32(tcr, RTL8139State),
        VMSTATE_UINT32(rcr, RTL8139State),
        VMSTATE_INT64(tctr_base, RTL8139State),
        VMSTATE_UINT32(mpc, RTL8139State),
        VMSTATE_UINT8(cr9346, RTL8139State),
        VMSTATE_UINT8(config0, RTL8139State),
        VMSTATE_UINT8(config1, RTL8139State),
        VMSTATE_UINT8(config3, RTL8139State),
        VMSTATE_UINT8(config4, RTL8139State),
        VMSTATE_UINT8(config5, RTL8139State),
        VMSTATE_UINT32(timerint, RTL8139State),
        VMSTATE_UINT8(msr, RTL8139State),
        VMSTATE_UINT16(mulint, RTL8139State),
        VMSTATE_UINT16(bmcr, RTL8139State),
        VMSTATE_UINT16(bmsr, RTL8139State),
        VMSTATE_UINT16(anar, RTL8139State),
        VMSTATE_UINT16(anlpar, RTL8139State),
        VMSTATE_UINT16(aner, RTL8139State),
        VMSTATE_UINT16(cscr, RTL8139State),
        VMSTATE_UINT32(phy1_parm, RTL8139State),
        VMSTATE_UINT32(tw_parm, RTL8139State),
        VMSTATE_UINT8(phy2_parm, RTL8139State),
        VMSTATE_UINT16(rxmaxsize, RTL8139State),
        VMSTATE_UINT16(cpcr, RTL8139State),
        VMSTATE_UINT16(intrmitigate, RTL8139State),
        VMSTATE_UINT64(rdsar, RTL8139State),
        VMSTATE_UINT8(etthr, RTL8139State),
        VMSTATE_UINT8(cplus, RTL8139State),
        VMSTATE_UINT32(tx_next, RTL8139State),
        VMSTATE_UINT32(cp_tx_desc, RTL8139State),
        VMSTATE_UINT32(cp_rx_desc, RTL8139State),
        VMSTATE_UINT8(ee.mode, RTL8139State),
        VMSTATE_UINT8(ee.tick, RTL8139State),
        VMSTATE_UINT16(ee.in, RTL8139State),
        VMSTATE_UINT8(ee.out_bit, RTL8139State),
        VMSTATE_UINT8(ee.addr, RTL8139State),
        VMSTATE_UINT8(ee.dout, RTL8139State),
        VMSTATE_UINT8(ee.ewen, RTL8139State),
        VMSTATE_UINT8(ee.old, RTL8139State),
        VMSTATE_UINT16_ARRAY(eeprom, RTL8139State, EEPROM_WORDS),
        VMSTATE_UINT32(cp_tx_size, RTL8139State),
        VMSTATE_BUFFER(cp_tx_buf, RTL8139State),
        VMSTATE_END_OF_LIST()
    },
};

static const Property rtl_props[] = {
    DEFINE_PROP("netdev", RTL8139State, netdev, PROP_STRING, NULL,
                "ID of a netdev to use as a backend"),
    DEFINE_PROP("mac", RTL8139State, mac_str, PROP_STRING, NULL,
                "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"),
    DEFINE_PROP("bootindex", RTL8139State, bootindex, PROP_INT32, "-1",
                "boot priority (network boot through the option ROM)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass rtl_class = {
    .vendor_id = 0x10ec,
    .device_id = 0x8139,
    .revision = 0x20,
    .class_id = PCI_CLASS_NETWORK_ETHERNET,
    .interrupt_pin = 1,
    .romfile = "efi-rtl8139.rom",
};

static const DeviceType rtl8139_type = {
    .name = TYPE_RTL8139,
    .parent = TYPE_PCI_DEVICE,
    .desc = "Realtek RTL8139C+ Fast Ethernet",
    .instance_size = sizeof(RTL8139State),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_NETWORK,
    .props = rtl_props,
    .realize = rtl_realize,
    .unrealize = rtl_unrealize,
    .reset = rtl_reset,
    .vmsd = &vmstate_rtl8139,
    .class_data = &rtl_class,
};

static void rtl8139_register(void)
{
    device_type_register(&rtl8139_type);
}
type_init(rtl8139_register)
