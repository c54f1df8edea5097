/*
 * e1000: Intel 8254x gigabit Ethernet (82540EM, alias e1000-82540em;
 * 82544GC and 82545EM as e1000-82544gc / e1000-82545em).
 *
 * Spec: "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual" (8254x, Intel 317453): register names and offsets
 * from its chapter 13 (CTRL, STATUS, EECD, EERD, MDIC, ICR/ITR/ICS/IMS/
 * IMC, RCTL, RDBAL..RDT, TCTL, TDBAL..TDT, RA, MTA, VFTA, statistics),
 * 3.2 receive descriptors (legacy), 3.3 transmit descriptors (legacy,
 * context, data; checksum offload and TCP segmentation), 5 EEPROM
 * (Microwire, checksum word 0x3f so the 64 words sum to 0xBABA), 8 the
 * PHY (Marvell 88E1011 registers through MDIC), 13.4.17 the I/O BAR's
 * IOADDR/IODATA window.
 *
 * Identity as QEMU 7.2's: 8086:100e rev 3 (100c, 100f for the others),
 * class 0x0200, BAR0 128 KiB MMIO, BAR1 64 I/O ports, INTA, option ROM
 * efi-e1000.rom (Debian's ipxe-qemu) through the ROM BAR, bootindex.
 *
 * What is simplified (as QEMU does): checksum offload and TSO are done
 * in software on a copy of the frame; interrupt throttling is one rule:
 * with ITR != 0 the line rises at most once per ITR * 256 ns.  With
 * mitigation=on (the default, as QEMU's property) the delay timers of
 * 3.2.7 and 3.4 run on the virtual clock: RXT0 waits for RDTR (restarted
 * by each frame) or RADV (from the first frame), TXDW of descriptors with
 * IDE for TIDV or TADV, in 1.024 us units; FPD in RDTR/TIDV flushes.
 * Receive checksums are not computed (descriptors say IXSM).
 *
 * Guest input is hostile: ring sizes come from RDLEN/TDLEN, indexes
 * outside the ring stop the ring, one transmit pass handles at most one
 * lap of the ring and then yields to the main loop, every offset a
 * context descriptor gives is checked against the frame, and all DMA
 * goes through pci_dma_read/pci_dma_write (stopping on a master abort).
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/nvram/fw_cfg.h"
#include "system/timer.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "net/eth.h"
#include "e1000-common.h"

#define TYPE_E1000              "e1000"

/* ---- registers (13.4) ----------------------------------------------- */

#define CTRL            0x00000
#define STATUS          0x00008
#define EECD            0x00010
#define EERD            0x00014
#define CTRL_EXT        0x00018
#define FLA             0x0001c
#define MDIC            0x00020
#define FCAL            0x00028
#define FCAH            0x0002c
#define FCT             0x00030
#define VET             0x00038
#define ICR             0x000c0
#define ITR             0x000c4
#define ICS             0x000c8
#define IMS             0x000d0
#define IMC             0x000d8
#define RCTL            0x00100
#define FCTTV           0x00170
#define TXCW            0x00178
#define RXCW            0x00180
#define TCTL            0x00400
#define TIPG            0x00410
#define AIT             0x00458
#define LEDCTL          0x00e00
#define PBA             0x01000
#define FCRTL           0x02160
#define FCRTH           0x02168
#define RDBAL           0x02800
#define RDBAH           0x02804
#define RDLEN           0x02808
#define RDH             0x02810
#define RDT             0x02818
#define RDTR            0x02820
#define RADV            0x0282c
#define RSRPD           0x02c00
#define TDBAL           0x03800
#define TDBAH           0x03804
#define TDLEN           0x03808
#define TDH             0x03810
#define TDT             0x03818
#define TIDV            0x03820
#define TXDCTL          0x03828
#define TADV            0x0382c
#define STATS_FIRST     0x04000
#define STATS_LAST      0x040fc
#define RXCSUM          0x05000
#define MTA             0x05200         /* 128 entries */
#define RA              0x05400         /* 16 RAL/RAH pairs */
#define VFTA            0x05600         /* 128 entries */
#define WUC             0x05800
#define WUFC            0x05808
#define WUS             0x05810
#define MANC            0x05820
#define REG_SPACE       0x06000         /* registers kept (0x20000 decoded) */
#define NREGS           (REG_SPACE >> 2)
#define MMIO_SIZE       0x20000
#define IO_SIZE         0x40

/* statistics (13.7), read to clear */
#define MPC             0x04010
#define GPRC            0x04074
#define BPRC            0x04078
#define MPRC            0x0407c
#define GPTC            0x04080
#define GORCL           0x04088
#define GORCH           0x0408c
#define GOTCL           0x04090
#define GOTCH           0x04094
#define RNBC            0x040a0
#define RUC             0x040a4
#define ROC             0x040ac
#define TORL            0x040c0
#define TORH            0x040c4
#define TOTL            0x040c8
#define TOTH            0x040cc
#define TPR             0x040d0
#define TPT             0x040d4
#define PRC64           0x0405c
#define PTC64           0x040d8
#define MPTC            0x040f0
#define BPTC            0x040f4
#define TSCTC           0x040f8

#define R(off)          ((off) >> 2)

/* CTRL */
#define CTRL_FD         0x00000001
#define CTRL_SLU        0x00000040
#define CTRL_SPD_1000   0x00000200
#define CTRL_SWDPIN0    0x00040000
#define CTRL_SWDPIN2    0x00100000
#define CTRL_RST        0x04000000
#define CTRL_VME        0x40000000
#define CTRL_PHY_RST    0x80000000
/* STATUS */
#define STATUS_FD       0x00000001
#define STATUS_LU       0x00000002
#define STATUS_SPEED_1000 0x00000080
#define STATUS_ASDV_100 0x00000100
#define STATUS_ASDV_1000 0x00000200
#define STATUS_GIO_MASTER 0x00080000
/* EECD: Microwire bit-bang */
#define EECD_SK         0x00000001
#define EECD_CS         0x00000002
#define EECD_DI         0x00000004
#define EECD_DO         0x00000008
#define EECD_FWE_MASK   0x00000030
#define EECD_REQ        0x00000040
#define EECD_GNT        0x00000080
#define EECD_PRES       0x00000100
#define EEPROM_READ_OPCODE 0x6          /* start bit + "10" */
/* EERD */
#define EERD_START      0x00000001
#define EERD_DONE       0x00000010
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16
/* MDIC */
#define MDIC_DATA_MASK  0x0000ffff
#define MDIC_REG_SHIFT  16
#define MDIC_PHY_SHIFT  21
#define MDIC_OP_WRITE   0x04000000
#define MDIC_OP_READ    0x08000000
#define MDIC_READY      0x10000000
#define MDIC_INT_EN     0x20000000
#define MDIC_ERROR      0x40000000
/* ICR causes */
#define ICR_TXDW        0x00000001
#define ICR_TXQE        0x00000002
#define ICR_LSC         0x00000004
#define ICR_RXDMT0      0x00000010
#define ICR_RXO         0x00000040
#define ICR_RXT0        0x00000080
#define ICR_MDAC        0x00000200
#define ICR_INT_ASSERTED 0x80000000
/* RCTL */
#define RCTL_EN         0x00000002
#define RCTL_SBP        0x00000004
#define RCTL_UPE        0x00000008
#define RCTL_MPE        0x00000010
#define RCTL_LPE        0x00000020
#define RCTL_RDMTS_SHIFT 8
#define RCTL_MO_SHIFT   12
#define RCTL_BAM        0x00008000
#define RCTL_BSIZE_SHIFT 16
#define RCTL_VFE        0x00040000
#define RCTL_BSEX       0x02000000
#define RCTL_SECRC      0x04000000
/* TCTL */
#define TCTL_EN         0x00000002
/* RAH */
#define RAH_AV          0x80000000

/* receive descriptor (3.2.3): addr, length, csum, status, errors, special */
#define RXD_STAT_DD     0x01
#define RXD_STAT_EOP    0x02
#define RXD_STAT_IXSM   0x04
#define RXD_STAT_VP     0x08

/* transmit descriptors (3.3) */
#define TXD_CMD_EOP     0x01000000
#define TXD_CMD_IFCS    0x02000000
#define TXD_CMD_IC      0x04000000      /* legacy: insert checksum */
#define TXD_CMD_TSE     0x04000000      /* extended: TCP segmentation */
#define TXD_CMD_RS      0x08000000
#define TXD_CMD_RPS     0x10000000
#define TXD_CMD_DEXT    0x20000000
#define TXD_CMD_VLE     0x40000000
#define TXD_CMD_IDE     0x80000000
#define TXD_DTYP_MASK   0x00f00000
#define TXD_DTYP_C      0x00000000
#define TXD_DTYP_D      0x00100000
#define TXD_CMD_TCP     0x01000000      /* context TUCMD */
#define TXD_CMD_IP      0x02000000
#define TXD_STAT_DD     0x00000001
#define TXD_POPTS_IXSM  0x01
#define TXD_POPTS_TXSM  0x02

/* PHY (Marvell 88E1011, 8.x) */
#define PHY_CTRL        0x00
#define PHY_STATUS      0x01
#define PHY_ID1         0x02
#define PHY_ID2         0x03
#define PHY_AUTONEG_ADV 0x04
#define PHY_LP_ABILITY  0x05
#define PHY_AUTONEG_EXP 0x06
#define PHY_NEXT_PAGE_TX 0x07
#define PHY_LP_NEXT_PAGE 0x08
#define PHY_1000T_CTRL  0x09
#define PHY_1000T_STATUS 0x0a
#define PHY_EXT_STATUS  0x0f
#define M88_SPEC_CTRL   0x10
#define M88_SPEC_STATUS 0x11
#define M88_INT_ENABLE  0x12
#define M88_EXT_SPEC_CTRL 0x14
#define M88_RX_ERR_CNTR 0x15
#define M88_LED_CTRL    0x18
#define M88_EXT_SPEC_STATUS 0x1b
#define PHY_REGS        0x20
#define MII_CR_RESTART_AUTO_NEG 0x0200
#define MII_CR_AUTO_NEG_EN 0x1000
#define MII_CR_RESET    0x8000
#define MII_SR_LINK_STATUS 0x0004
#define MII_SR_AUTONEG_COMPLETE 0x0020
#define MII_LPAR_LPACK  0x4000
#define M88_PSSR_LINK   0x0400
#define AUTONEG_NS      (500 * 1000 * 1000LL)   /* the PHY's autoneg time */

#define PHY_R           1
#define PHY_W           2

#define EEPROM_WORDS    64
#define EEPROM_SUM      0xBABA
#define EEPROM_CKSUM_WORD 0x3f

#define RX_BUF_SIZE     (16384 + 4)
#define MIN_FRAME       ETH_ZLEN
#define MAX_FRAME_STD   1522            /* with a VLAN tag, no FCS */
#define TX_PASS_BYTES   (256 * 1024)
#define ETH_ALEN        6

typedef struct E1000Class {
    PCIDeviceClass pci;
    uint16_t phy_id2;
    uint16_t eeprom_cfg1;       /* Initialization Control Word 1 */
} E1000Class;

typedef struct E1000State {
    PCIDevice parent;

    /* properties */
    char *netdev;
    char *mac_str;
    int32_t bootindex;
    bool autoneg;
    bool mitigation;

    NICConf conf;
    NICState *nic;
    char *boot_path;
    MemoryRegion mmio, io;
    QEMUTimer *autoneg_timer;
    QEMUTimer *mit_timer;
    E1000DelayPair rx_delay;    /* RDTR/RADV (e1000-common) */
    E1000DelayPair tx_delay;    /* TIDV/TADV */
    uint32_t delayed;           /* RXT0/TXDW waiting for a delay timer */
    guint tx_idle;
    bool tx_waiting;            /* the backend holds a frame */
    bool irq_level;
    int64_t mit_next;           /* the line may rise again from here */

    /* guest-visible state */
    uint32_t mac_reg[NREGS];
    uint16_t phy_reg[PHY_REGS];
    uint16_t eeprom[EEPROM_WORDS];
    uint32_t io_addr;
    struct {
        uint32_t old_eecd;
        uint32_t val_in;
        uint16_t bitnum_in;
        int32_t bitnum_out;     /* -1: the dummy zero before data */
        uint8_t reading;
    } ee;
    E1000Tx tx;                 /* the transmit engine (e1000-common) */

    uint8_t rx_buf[RX_BUF_SIZE + 4];
} E1000State;

static const E1000Class *e1000_class(E1000State *s)
{
    return (const E1000Class *)s->parent.pc;
}

static uint32_t *reg(E1000State *s, uint32_t off)
{
    return &s->mac_reg[R(off)];
}

/* ---- interrupts (13.4.17-13.4.21) -------------------------------------- */

static void set_line(E1000State *s, bool level)
{
    s->irq_level = level;
    pci_set_irq(&s->parent, level);
}

static void update_irq(E1000State *s)
{
    bool want = (*reg(s, ICR) & *reg(s, IMS)) != 0;
    uint32_t itr = *reg(s, ITR) & 0xffff;

    if (!want) {
        set_line(s, false);
        return;
    }
    if (s->irq_level) {
        return;
    }
    if (s->mitigation && itr) {
        /* ITR: at most one interrupt per ITR * 256 ns. */
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        if (now < s->mit_next) {
            if (!timer_pending(s->mit_timer)) {
                timer_mod(s->mit_timer, s->mit_next);
            }
            return;
        }
        s->mit_next = now + (int64_t)itr * 256;
    }
    set_line(s, true);
}

static void mit_timer_cb(void *opaque)
{
    update_irq(opaque);
}

static void set_ics(E1000State *s, uint32_t causes)
{
    if (!causes) {
        return;
    }
    *reg(s, ICR) |= causes | ICR_INT_ASSERTED;
    update_irq(s);
}

/* ---- interrupt delay timers (3.2.7, 3.4) ------------------------------- */

static void delay_fire(E1000State *s, uint32_t cause)
{
    e1000x_delay_stop(cause == ICR_RXT0 ? &s->rx_delay : &s->tx_delay);
    if (s->delayed & cause) {
        s->delayed &= ~cause;
        set_ics(s, cause);
    }
}

static void rx_delay_cb(void *opaque)
{
    delay_fire(opaque, ICR_RXT0);
}

static void tx_delay_cb(void *opaque)
{
    delay_fire(opaque, ICR_TXDW);
}

/*
 * Raise @cause after the packet timer (RDTR/TIDV, restarted by every
 * event) or the absolute timer (RADV/TADV, started by the first event of
 * a burst), whichever ends first; at once without mitigation or with a
 * packet delay of 0 (the spec's "no delay").
 */
static void delay_cause(E1000State *s, uint32_t cause, E1000DelayPair *d)
{
    if (!s->mitigation || !e1000x_delay_arm(d, s->mac_reg)) {
        set_ics(s, cause);
        return;
    }
    s->delayed |= cause;
}

/* ---- link and PHY ------------------------------------------------------ */

static void link_down(E1000State *s)
{
    *reg(s, STATUS) &= ~STATUS_LU;
    s->phy_reg[PHY_STATUS] &= ~MII_SR_LINK_STATUS;
    s->phy_reg[PHY_LP_ABILITY] &= ~MII_LPAR_LPACK;
    s->phy_reg[M88_SPEC_STATUS] &= ~M88_PSSR_LINK;
}

static void link_up(E1000State *s)
{
    *reg(s, STATUS) |= STATUS_LU;
    s->phy_reg[PHY_STATUS] |= MII_SR_LINK_STATUS | MII_SR_AUTONEG_COMPLETE;
    s->phy_reg[PHY_LP_ABILITY] |= MII_LPAR_LPACK;
    s->phy_reg[M88_SPEC_STATUS] |= M88_PSSR_LINK;
    /* Frames held while the link was down may go now. */
    qemu_flush_queued_packets(qemu_get_queue(s->nic));
}

static bool have_autoneg(E1000State *s)
{
    return s->autoneg && (s->phy_reg[PHY_CTRL] & MII_CR_AUTO_NEG_EN);
}

/* Restarting autonegotiation takes the link down for a while (8.2.1). */
static void restart_autoneg(E1000State *s)
{
    if (!have_autoneg(s)) {
        return;
    }
    link_down(s);
    s->phy_reg[PHY_STATUS] &= ~MII_SR_AUTONEG_COMPLETE;
    timer_mod(s->autoneg_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + AUTONEG_NS);
}

static void autoneg_done(void *opaque)
{
    E1000State *s = opaque;

    if (qemu_get_queue(s->nic)->link_down) {
        s->phy_reg[PHY_STATUS] |= MII_SR_AUTONEG_COMPLETE;
        return;
    }
    link_up(s);
    set_ics(s, ICR_LSC);
}

static void link_status_changed(NetClientState *nc)
{
    E1000State *s = qemu_get_nic_opaque(nc);
    uint32_t old = *reg(s, STATUS);

    if (nc->link_down) {
        timer_del(s->autoneg_timer);
        link_down(s);
    } else if (have_autoneg(s) &&
               !(s->phy_reg[PHY_STATUS] & MII_SR_AUTONEG_COMPLETE)) {
        restart_autoneg(s);
    } else {
        link_up(s);
    }
    if (*reg(s, STATUS) != old) {
        set_ics(s, ICR_LSC);
    }
}

static const uint8_t phy_access[PHY_REGS] = {
    [PHY_CTRL] = PHY_R | PHY_W, [PHY_STATUS] = PHY_R, [PHY_ID1] = PHY_R,
    [PHY_ID2] = PHY_R, [PHY_AUTONEG_ADV] = PHY_R | PHY_W,
    [PHY_LP_ABILITY] = PHY_R, [PHY_AUTONEG_EXP] = PHY_R,
    [PHY_NEXT_PAGE_TX] = PHY_R | PHY_W, [PHY_LP_NEXT_PAGE] = PHY_R,
    [PHY_1000T_CTRL] = PHY_R | PHY_W, [PHY_1000T_STATUS] = PHY_R,
    [PHY_EXT_STATUS] = PHY_R, [M88_SPEC_CTRL] = PHY_R | PHY_W,
    [M88_SPEC_STATUS] = PHY_R, [M88_INT_ENABLE] = PHY_R | PHY_W,
    [M88_EXT_SPEC_CTRL] = PHY_R | PHY_W, [M88_RX_ERR_CNTR] = PHY_R,
    [M88_LED_CTRL] = PHY_R | PHY_W, [M88_EXT_SPEC_STATUS] = PHY_R,
    [0x1d] = PHY_R | PHY_W, [0x1e] = PHY_R | PHY_W,
};

static void phy_reset(E1000State *s)
{
    memset(s->phy_reg, 0, sizeof(s->phy_reg));
    s->phy_reg[PHY_CTRL] = 0x1140;      /* autoneg on, full duplex, 1000 */
    s->phy_reg[PHY_STATUS] = 0x7949;    /* abilities; link set below */
    s->phy_reg[PHY_ID1] = 0x0141;       /* Marvell */
    s->phy_reg[PHY_ID2] = e1000_class(s)->phy_id2;
    s->phy_reg[PHY_AUTONEG_ADV] = 0x0de1;
    s->phy_reg[PHY_LP_ABILITY] = 0x01e0;
    s->phy_reg[PHY_AUTONEG_EXP] = 0x0001;
    s->phy_reg[PHY_NEXT_PAGE_TX] = 0x2001;
    s->phy_reg[PHY_1000T_CTRL] = 0x0e00;
    s->phy_reg[PHY_1000T_STATUS] = 0x3c00;
    s->phy_reg[PHY_EXT_STATUS] = 0x3000;
    s->phy_reg[M88_SPEC_CTRL] = 0x0360;
    s->phy_reg[M88_SPEC_STATUS] = 0xac00;
    s->phy_reg[M88_EXT_SPEC_CTRL] = 0x0d60;
    s->phy_reg[M88_LED_CTRL] = 0x4100;
}

static void write_phy_ctrl(E1000State *s, uint16_t val)
{
    /* Reset and restart are self-clearing. */
    s->phy_reg[PHY_CTRL] = val & ~(MII_CR_RESET | MII_CR_RESTART_AUTO_NEG);
    if ((val & MII_CR_RESTART_AUTO_NEG) && (val & MII_CR_AUTO_NEG_EN)) {
        uint32_t old = *reg(s, STATUS);
        restart_autoneg(s);
        if (*reg(s, STATUS) != old) {
            set_ics(s, ICR_LSC);
        }
    }
}

/* MDIC (13.4.7): one PHY register access, done at once. */
static void write_mdic(E1000State *s, uint32_t val)
{
    uint32_t data = val & MDIC_DATA_MASK;
    unsigned regn = (val >> MDIC_REG_SHIFT) & 0x1f;
    unsigned phy = (val >> MDIC_PHY_SHIFT) & 0x1f;

    if (phy != 1) {                     /* the only PHY is at address 1 */
        val |= MDIC_ERROR;
    } else if (val & MDIC_OP_READ) {
        if (!(phy_access[regn] & PHY_R)) {
            val |= MDIC_ERROR;
        } else {
            val = (val & ~MDIC_DATA_MASK) | s->phy_reg[regn];
        }
    } else if (val & MDIC_OP_WRITE) {
        if (!(phy_access[regn] & PHY_W)) {
            val |= MDIC_ERROR;
        } else if (regn == PHY_CTRL) {
            write_phy_ctrl(s, data);
        } else {
            s->phy_reg[regn] = data;
        }
    }
    *reg(s, MDIC) = val | MDIC_READY;
    if (val & MDIC_INT_EN) {
        set_ics(s, ICR_MDAC);
    }
}

/* ---- EEPROM (5) -------------------------------------------------------- */

static void eeprom_init(E1000State *s)
{
    const E1000Class *c = e1000_class(s);
    uint16_t *w = s->eeprom;

    memset(w, 0, sizeof(s->eeprom));
    for (unsigned i = 0; i < 3; i++) {
        w[i] = s->conf.macaddr.a[2 * i] | (s->conf.macaddr.a[2 * i + 1] << 8);
    }
    w[0x05] = 0x1000;                   /* EEPROM image version */
    w[0x08] = 0xffff;                   /* PBA number */
    w[0x09] = 0xffff;
    w[0x0a] = c->eeprom_cfg1;           /* Initialization Control Word 1 */
    w[0x0b] = c->pci.subsystem_id ? c->pci.subsystem_id : 0x1100;
    w[0x0c] = c->pci.subsystem_vendor_id ? c->pci.subsystem_vendor_id
                                         : 0x1af4;
    w[0x0d] = c->pci.device_id;
    w[0x0e] = c->pci.vendor_id;
    w[0x0f] = 0x3040;                   /* Initialization Control Word 2 */
    for (unsigned i = 0x10; i < EEPROM_CKSUM_WORD; i++) {
        w[i] = 0xffff;
    }
    e1000x_eeprom_checksum(w, EEPROM_CKSUM_WORD);
}

static uint32_t read_eecd(E1000State *s)
{
    uint32_t v = *reg(s, EECD) | EECD_PRES;

    if (v & EECD_REQ) {
        v |= EECD_GNT;
    }
    v &= ~EECD_DO;
    if (s->ee.reading && s->ee.bitnum_out >= 0) {
        unsigned word = (s->ee.bitnum_out >> 4) & (EEPROM_WORDS - 1);
        unsigned bit = 15 - (s->ee.bitnum_out & 15);
        if ((s->eeprom[word] >> bit) & 1) {
            v |= EECD_DO;
        }
    }
    return v;
}

/* Microwire: shift in start + opcode + 6 address bits, then shift out. */
static void write_eecd(E1000State *s, uint32_t val)
{
    uint32_t old = s->ee.old_eecd;

    *reg(s, EECD) = val & (EECD_SK | EECD_CS | EECD_DI | EECD_FWE_MASK |
                           EECD_REQ);
    s->ee.old_eecd = val;
    if (!(val & EECD_CS) || !(old & EECD_CS)) {
        /* Chip select low (or just raised): a new command starts. */
        s->ee.val_in = 0;
        s->ee.bitnum_in = 0;
        s->ee.bitnum_out = -1;
        s->ee.reading = 0;
        return;
    }
    if (!(val & EECD_SK) || (old & EECD_SK)) {
        return;                         /* not a rising clock edge */
    }
    if (s->ee.reading) {
        /* Sequential read: wraps through the 64 words. */
        s->ee.bitnum_out = (s->ee.bitnum_out + 1) & (EEPROM_WORDS * 16 - 1);
        return;
    }
    if (s->ee.bitnum_in >= 9) {
        return;                         /* a command we do not answer */
    }
    s->ee.val_in = (s->ee.val_in << 1) | !!(val & EECD_DI);
    if (++s->ee.bitnum_in == 9 &&
        (s->ee.val_in >> 6) == EEPROM_READ_OPCODE) {
        s->ee.reading = 1;
        /* The next rising edge gives the first data bit (D15). */
        s->ee.bitnum_out = (int32_t)((s->ee.val_in & 0x3f) << 4) - 1;
    }
}

static uint32_t read_eerd(E1000State *s)
{
    uint32_t v = *reg(s, EERD);
    unsigned addr = (v >> EERD_ADDR_SHIFT) & 0xff;

    if (!(v & EERD_START) || addr >= EEPROM_WORDS) {
        return v;
    }
    return (v & 0xff01) | EERD_DONE |
           ((uint32_t)s->eeprom[addr] << EERD_DATA_SHIFT);
}

/* ---- receive (3.2) ----------------------------------------------------- */

static uint32_t rx_ring_size(E1000State *s)
{
    return *reg(s, RDLEN) / 16;
}

/* Free descriptors, or 0 when the ring registers are unusable. */
static uint32_t rx_free_descs(E1000State *s)
{
    uint32_t n = rx_ring_size(s), h = *reg(s, RDH), t = *reg(s, RDT);

    if (n == 0 || h >= n || t >= n) {
        return 0;
    }
    return (t + n - h) % n;
}

static bool rx_enabled(E1000State *s)
{
    return (*reg(s, RCTL) & RCTL_EN) &&
           (s->parent.config[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

static bool link_is_up(E1000State *s)
{
    return *reg(s, STATUS) & STATUS_LU;
}

/*
 * Frames wait (bounded, in the core) while receive is off or the ring is
 * full, as QEMU's e1000 does; with the link down they are taken and lost,
 * as on a wire.
 */
static bool e1000_can_receive(NetClientState *nc)
{
    E1000State *s = qemu_get_nic_opaque(nc);

    if (!link_is_up(s)) {
        return true;
    }
    return rx_enabled(s) && rx_free_descs(s) > 0;
}

static void rx_overrun(E1000State *s)
{
    e1000x_rx_missed(s->mac_reg);
    set_ics(s, ICR_RXO);
}

static ssize_t e1000_receive_iov(NetClientState *nc, const struct iovec *iov,
                                 int iovcnt)
{
    E1000State *s = qemu_get_nic_opaque(nc);
    size_t size = net_iov_size(iov, iovcnt);
    size_t orig = size, total, done = 0;
    uint8_t *buf = s->rx_buf;
    uint32_t rctl = *reg(s, RCTL);
    uint32_t bufsize = e1000x_rx_buf_size(*reg(s, RCTL)), ring = rx_ring_size(s);
    uint32_t free_descs, needed, n = 0, thresh;
    uint16_t special = 0;
    uint8_t vp = 0;

    if (!link_is_up(s)) {
        return orig;                    /* lost on a dead link */
    }
    if (!rx_enabled(s)) {
        return 0;                       /* held until RCTL.EN */
    }
    if (size > RX_BUF_SIZE - 4) {
        e1000x_stat_inc(s->mac_reg, ROC);
        return orig;
    }
    net_iov_to_buf(iov, iovcnt, 0, buf, size);
    if (size < MIN_FRAME) {
        memset(buf + size, 0, MIN_FRAME - size);   /* pad as the MAC does */
        size = MIN_FRAME;
    }
    if (size > MAX_FRAME_STD &&
        !(rctl & (RCTL_LPE | RCTL_SBP))) {
        e1000x_stat_inc(s->mac_reg, ROC);
        return orig;
    }
    if (!e1000x_rx_filter(s->mac_reg, buf)) {
        return orig;
    }
    if ((*reg(s, CTRL) & CTRL_VME) && e1000x_is_vlan_frame(s->mac_reg, buf)) {
        /* Strip the tag into the descriptor's special field. */
        special = eth_ldw(buf + 14);
        memmove(buf + 12, buf + 16, size - 16);
        size -= 4;
        vp = RXD_STAT_VP;
    }
    total = size;
    if (!(rctl & RCTL_SECRC)) {
        stl_le_p(buf + size, eth_crc32(buf, size));
        total += 4;
    }
    free_descs = rx_free_descs(s);
    needed = (total + bufsize - 1) / bufsize;
    if (free_descs < needed) {
        rx_overrun(s);
        return orig;
    }
    while (done < total) {
        uint64_t base = ((uint64_t)*reg(s, RDBAH) << 32) | *reg(s, RDBAL);
        uint64_t daddr = base + (uint64_t)*reg(s, RDH) * 16;
        uint8_t desc[16];
        uint32_t chunk = MIN(bufsize, total - done);
        bool last = done + chunk == total;

        if (pci_dma_read(&s->parent, daddr, desc, sizeof(desc)) != MEMTX_OK) {
            break;                      /* master abort: the ring stops */
        }
        pci_dma_write(&s->parent, ldq_le_p(desc), buf + done, chunk);
        stw_le_p(desc + 8, chunk);
        stw_le_p(desc + 10, 0);
        desc[12] = RXD_STAT_DD | RXD_STAT_IXSM | vp |
                   (last ? RXD_STAT_EOP : 0);
        desc[13] = 0;
        stw_le_p(desc + 14, special);
        pci_dma_write(&s->parent, daddr + 8, desc + 8, 8);
        done += chunk;
        n++;
        *reg(s, RDH) = (*reg(s, RDH) + 1) % ring;
    }
    e1000x_rx_stats(s->mac_reg, buf, size, total);
    /* RXDMT0: free descriptors fell to the RDMTS fraction of the ring. */
    thresh = ring >> (1 + ((rctl >> RCTL_RDMTS_SHIFT) & 3));
    set_ics(s, rx_free_descs(s) <= thresh ? ICR_RXDMT0 : 0);
    delay_cause(s, ICR_RXT0, &s->rx_delay);
    (void)n;
    return orig;
}

/* ---- transmit (3.3) ---------------------------------------------------- */

static void start_xmit(E1000State *s);

static void tx_sent(NetClientState *nc, ssize_t len)
{
    E1000State *s = qemu_get_nic_opaque(nc);

    if (!s->tx_waiting) {
        return;
    }
    s->tx_waiting = false;
    start_xmit(s);
}

/* The engine's frames go to the backend; a held one stops transmit. */
static void tx_send(void *opaque, const struct iovec *iov, int iovcnt,
                    size_t len)
{
    E1000State *s = opaque;

    if (qemu_sendv_packet_async(qemu_get_queue(s->nic), iov, iovcnt,
                                tx_sent) == 0) {
        s->tx_waiting = true;
    }
}

static gboolean tx_idle_run(gpointer opaque)
{
    E1000State *s = opaque;

    s->tx_idle = 0;
    start_xmit(s);
    return G_SOURCE_REMOVE;
}

/*
 * Process descriptors from TDH to TDT.  A pass takes at most one lap of
 * the ring and TX_PASS_BYTES of data; more work goes to the main loop
 * (so a TDT outside the ring, which TDH never meets, ends each pass).
 */
static void start_xmit(E1000State *s)
{
    uint32_t n = *reg(s, TDLEN) / 16;
    uint32_t causes = 0, count = 0;
    uint64_t bytes = 0;
    const E1000TxEnv env = {
        .pci = &s->parent, .regs = s->mac_reg, .send = tx_send, .opaque = s,
    };

    if (!(*reg(s, TCTL) & TCTL_EN) || s->tx_waiting || n == 0) {
        return;
    }
    while (*reg(s, TDH) != *reg(s, TDT)) {
        uint64_t base = ((uint64_t)*reg(s, TDBAH) << 32) | *reg(s, TDBAL);
        uint32_t h = *reg(s, TDH);
        uint8_t desc[16];
        uint32_t lower;

        if (h >= n || *reg(s, TDT) >= n) {
            break;                      /* indexes outside the ring: stop */
        }
        if (count >= n || bytes >= TX_PASS_BYTES) {
            if (!s->tx_idle) {
                s->tx_idle = g_idle_add(tx_idle_run, s);
            }
            break;
        }
        if (pci_dma_read(&s->parent, base + (uint64_t)h * 16, desc, 16)
            != MEMTX_OK) {
            break;                      /* master abort */
        }
        bytes += e1000x_tx_descriptor(&s->tx, &env, desc) + 16;
        lower = ldl_le_p(desc + 8);
        if (lower & (TXD_CMD_RS | TXD_CMD_RPS)) {
            uint8_t sta = desc[12] | TXD_STAT_DD;
            pci_dma_write(&s->parent, base + (uint64_t)h * 16 + 12, &sta, 1);
        }
        *reg(s, TDH) = (h + 1) % n;
        /* IDE: this descriptor's TXDW may wait for TIDV/TADV */
        causes |= (lower & TXD_CMD_IDE) ? ICR_TXDW << 16 : ICR_TXDW;
        count++;
        if (s->tx_waiting) {
            break;
        }
    }
    if (*reg(s, TDH) == *reg(s, TDT)) {
        causes |= ICR_TXQE;
    }
    if ((causes & (ICR_TXDW << 16)) && !(causes & ICR_TXDW)) {
        delay_cause(s, ICR_TXDW, &s->tx_delay);
    } else if (causes & ICR_TXDW) {
        delay_fire(s, ICR_TXDW);        /* a delayed one goes with it */
    }
    set_ics(s, causes & 0xffff);
}

/* ---- register file ------------------------------------------------------- */

static bool is_stat(uint32_t off)
{
    return off >= STATS_FIRST && off <= STATS_LAST;
}

/* Registers kept as plain storage (read back what was written). */
static bool is_plain(uint32_t off)
{
    switch (off) {
    case CTRL_EXT: case FLA: case FCAL: case FCAH: case FCT: case VET:
    case FCTTV: case TXCW: case RXCW: case TIPG: case AIT: case LEDCTL:
    case PBA: case FCRTL: case FCRTH: case RDBAL: case RDBAH: case RDTR:
    case RADV: case RSRPD: case TDBAL: case TDBAH: case TIDV: case TXDCTL:
    case TADV: case RXCSUM: case WUC: case WUFC: case WUS: case MANC:
        return true;
    }
    return (off >= MTA && off < MTA + 512) || (off >= RA && off < RA + 128) ||
           (off >= VFTA && off < VFTA + 512);
}

static uint32_t mac_read(E1000State *s, uint32_t off)
{
    uint32_t v;

    off &= ~3u;
    if (off >= REG_SPACE) {
        return 0;
    }
    switch (off) {
    case CTRL: case STATUS: case MDIC: case RCTL: case TCTL: case RDLEN:
    case RDH: case RDT: case TDLEN: case TDH: case TDT: case IMS: case ITR:
        return *reg(s, off);
    case EECD:
        return read_eecd(s);
    case EERD:
        return read_eerd(s);
    case ICR:
        /* Read to clear (13.4.17); the line drops. */
        v = *reg(s, ICR);
        *reg(s, ICR) = 0;
        update_irq(s);
        return v;
    }
    if (is_stat(off)) {
        return e1000x_stat_read(s->mac_reg, off);
    }
    return is_plain(off) ? *reg(s, off) : 0;
}

static void e1000_reset_regs(E1000State *s);

static void mac_write(E1000State *s, uint32_t off, uint32_t val)
{
    NetClientState *nc = qemu_get_queue(s->nic);

    off &= ~3u;
    if (off >= REG_SPACE) {
        return;
    }
    switch (off) {
    case CTRL:
        if (val & CTRL_RST) {
            e1000_reset_regs(s);
            return;
        }
        *reg(s, CTRL) = val & ~(CTRL_RST | CTRL_PHY_RST);
        return;
    case EECD:
        write_eecd(s, val);
        return;
    case EERD:
        *reg(s, EERD) = val & 0xff01;
        return;
    case MDIC:
        write_mdic(s, val);
        return;
    case ICR:
        *reg(s, ICR) &= ~val;           /* write 1 to clear */
        update_irq(s);
        return;
    case ICS:
        set_ics(s, val);
        return;
    case IMS:
        *reg(s, IMS) |= val;
        update_irq(s);
        return;
    case IMC:
        *reg(s, IMS) &= ~val;
        update_irq(s);
        return;
    case ITR:
        *reg(s, ITR) = val & 0xffff;
        return;
    case RDTR:
    case TIDV:
        *reg(s, off) = val & 0xffff;
        if (val & E1000_DELAY_FPD) {
            delay_fire(s, off == RDTR ? ICR_RXT0 : ICR_TXDW);
        }
        return;
    case RCTL:
        *reg(s, RCTL) = val;
        qemu_flush_queued_packets(nc);
        return;
    case RDLEN:
    case TDLEN:
        *reg(s, off) = val & 0xfff80;   /* 128-byte multiples (13.4.27) */
        return;
    case RDH:
    case TDH:
        *reg(s, off) = val & 0xffff;
        return;
    case RDT:
        *reg(s, RDT) = val & 0xffff;
        qemu_flush_queued_packets(nc);
        return;
    case TDT:
        *reg(s, TDT) = val & 0xffff;
        start_xmit(s);
        return;
    case TCTL:
        *reg(s, TCTL) = val;
        start_xmit(s);
        return;
    }
    if (is_stat(off)) {
        return;                         /* read only */
    }
    if (is_plain(off)) {
        *reg(s, off) = val;
    }
}

static uint64_t mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    return mac_read(opaque, addr);
}

static void mmio_write(void *opaque, uint64_t addr, uint64_t val,
                       unsigned size)
{
    mac_write(opaque, addr, val);
}

static const MemoryRegionOps mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

/* I/O BAR: IOADDR at 0 selects a register, IODATA at 4 accesses it. */
static uint64_t io_read(void *opaque, uint64_t addr, unsigned size)
{
    E1000State *s = opaque;

    switch (addr) {
    case 0:
        return s->io_addr;
    case 4:
        return mac_read(s, s->io_addr & (MMIO_SIZE - 1));
    }
    return 0;
}

static void io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    E1000State *s = opaque;

    switch (addr) {
    case 0:
        s->io_addr = val & (MMIO_SIZE - 1);
        break;
    case 4:
        mac_write(s, s->io_addr, val);
        break;
    }
}

static const MemoryRegionOps io_ops = {
    .read = io_read,
    .write = io_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

/* ---- life cycle -------------------------------------------------------- */

static void e1000_reset_regs(E1000State *s)
{
    const uint8_t *mac = s->conf.macaddr.a;

    timer_del(s->autoneg_timer);
    timer_del(s->mit_timer);
    e1000x_delay_stop(&s->rx_delay);
    e1000x_delay_stop(&s->tx_delay);
    s->delayed = 0;
    if (s->tx_idle) {
        g_source_remove(s->tx_idle);
        s->tx_idle = 0;
    }
    s->tx_waiting = false;
    s->mit_next = 0;
    qemu_purge_queued_packets(qemu_get_queue(s->nic));
    memset(s->mac_reg, 0, sizeof(s->mac_reg));
    memset(&s->ee, 0, sizeof(s->ee));
    s->ee.bitnum_out = -1;
    memset(s->tx.ctx, 0, sizeof(s->tx.ctx));
    e1000x_tx_reset_packet(&s->tx);
    phy_reset(s);
    *reg(s, CTRL) = CTRL_SWDPIN2 | CTRL_SWDPIN0 | CTRL_SPD_1000 | CTRL_SLU |
                    CTRL_FD;
    *reg(s, STATUS) = 0x80000000 | STATUS_GIO_MASTER | STATUS_ASDV_100 |
                      STATUS_ASDV_1000 | STATUS_SPEED_1000 | STATUS_FD;
    *reg(s, PBA) = 0x00100030;
    *reg(s, LEDCTL) = 0x00000602;
    *reg(s, VET) = 0x8100;
    *reg(s, MANC) = 0x00060000;
    *reg(s, EECD) = 0;
    s->mac_reg[R(RA)] = ldl_le_p(mac);
    s->mac_reg[R(RA) + 1] = lduw_le_p(mac + 4) | RAH_AV;
    s->io_addr = 0;
    if (qemu_get_queue(s->nic)->link_down) {
        link_down(s);
    } else {
        link_up(s);
    }
    set_line(s, false);
}

static void e1000_reset(DeviceState *dev)
{
    e1000_reset_regs((E1000State *)dev);
}

static const NetClientInfo e1000_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NetClientState),
    .can_receive = e1000_can_receive,
    .receive_iov = e1000_receive_iov,
    .link_status_changed = link_status_changed,
};

static bool e1000_realize(DeviceState *dev, GError **errp)
{
    E1000State *s = (E1000State *)dev;
    PCIDevice *pd = &s->parent;

    if (!net_nic_conf_resolve(&s->conf, s->netdev, s->mac_str, errp)) {
        return false;
    }
    pd->config[PCI_CACHE_LINE_SIZE] = 0x10;
    memory_region_init_io(&s->mmio, &mmio_ops, s, "e1000-mmio", MMIO_SIZE);
    memory_region_init_io(&s->io, &io_ops, s, "e1000-io", IO_SIZE);
    pci_register_bar(pd, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);
    pci_register_bar(pd, 1, PCI_BASE_ADDRESS_SPACE_IO, &s->io);
    s->autoneg_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, autoneg_done, s);
    s->mit_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, mit_timer_cb, s);
    e1000x_delay_init(&s->rx_delay, RDTR, RADV, rx_delay_cb, s);
    e1000x_delay_init(&s->tx_delay, TIDV, TADV, tx_delay_cb, s);
    s->nic = qemu_new_nic(&e1000_net_info, &s->conf, dev->type->name,
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
    e1000_reset_regs(s);
    return true;
}

static void e1000_unrealize(DeviceState *dev)
{
    E1000State *s = (E1000State *)dev;

    if (s->tx_idle) {
        g_source_remove(s->tx_idle);
        s->tx_idle = 0;
    }
    if (s->boot_path) {
        fw_boot_order_remove(s->boot_path);
        g_free(s->boot_path);
        s->boot_path = NULL;
    }
    if (s->nic) {
        qemu_del_nic(s->nic);
        s->nic = NULL;
    }
    timer_free(s->autoneg_timer);
    timer_free(s->mit_timer);
    e1000x_delay_free(&s->rx_delay);
    e1000x_delay_free(&s->tx_delay);
    memory_region_destroy(&s->mmio);
    memory_region_destroy(&s->io);
}

static int e1000_post_load(void *opaque, int version_id)
{
    E1000State *s = opaque;
    NetClientState *nc = qemu_get_queue(s->nic);

    if (!e1000x_tx_state_valid(&s->tx) || s->ee.bitnum_in > 9 ||
        s->ee.bitnum_out < -1 || s->ee.bitnum_out >= EEPROM_WORDS * 16) {
        return -1;
    }
    /* Ring lengths as a guest write leaves them (13.4.27). */
    *reg(s, RDLEN) &= 0xfff80;
    *reg(s, TDLEN) &= 0xfff80;
    s->tx_waiting = false;
    s->mit_next = 0;
    /* The link follows the backend, not the saved bits (QEMU). */
    if (nc->link_down) {
        link_down(s);
    } else if (!timer_pending(s->autoneg_timer)) {
        *reg(s, STATUS) |= STATUS_LU;
        s->phy_reg[PHY_STATUS] |= MII_SR_LINK_STATUS;
    }
    s->irq_level = false;
    update_irq(s);
    /* A cause waiting for a delay timer that is not running (a version 2
     * stream has no timers) goes now: early is allowed, lost is not. */
    s->delayed &= ICR_RXT0 | ICR_TXDW;
    if ((s->delayed & ICR_RXT0) && !e1000x_delay_running(&s->rx_delay)) {
        delay_fire(s, ICR_RXT0);
    }
    if ((s->delayed & ICR_TXDW) && !e1000x_delay_running(&s->tx_delay)) {
        delay_fire(s, ICR_TXDW);
    }
    return 0;
}

/* Version 3 added the delay timers themselves. */
#define VMSTATE_TIMER_PTR_V(f, st, v) \
    VMSTATE_FIELD_(#f, st, f, VMS_TIMER, sizeof(void *), 0, v)

#define CTX_FIELDS(i) \
    VMSTATE_UINT8(tx.ctx[i].ipcss, E1000State), \
    VMSTATE_UINT8(tx.ctx[i].ipcso, E1000State), \
    VMSTATE_UINT16(tx.ctx[i].ipcse, E1000State), \
    VMSTATE_UINT8(tx.ctx[i].tucss, E1000State), \
    VMSTATE_UINT8(tx.ctx[i].tucso, E1000State), \
    VMSTATE_UINT16(tx.ctx[i].tucse, E1000State), \
    VMSTATE_UINT8(tx.ctx[i].hdr_len, E1000State), \
    VMSTATE_UINT16(tx.ctx[i].mss, E1000State), \
    VMSTATE_UINT32(tx.ctx[i].paylen, E1000State), \
    VMSTATE_UINT8(tx.ctx[i].ip, E1000State), \
    VMSTATE_UINT8(tx.ctx[i].tcp, E1000State)

static const VMStateDescription vmstate_e1000 = {
    .name = "e1000",
    .version_id = 3,
    .minimum_version_id = 1,
    .post_load = e1000_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(mac_reg, E1000State, NREGS),
        VMSTATE_UINT16_ARRAY(phy_reg, E1000State, PHY_REGS),
        VMSTATE_UINT16_ARRAY(eeprom, E1000State, EEPROM_WORDS),
        VMSTATE_UINT32(io_addr, E1000State),
        VMSTATE_UINT32(ee.old_eecd, E1000State),
        VMSTATE_UINT32(ee.val_in, E1000State),
        VMSTATE_UINT16(ee.bitnum_in, E1000State),
        VMSTATE_INT32(ee.bitnum_out, E1000State),
        VMSTATE_UINT8(ee.reading, E1000State),
        CTX_FIELDS(0),
        CTX_FIELDS(1),
        VMSTATE_UINT8(tx.in_packet, E1000State),
        VMSTATE_UINT8(tx.sum_needed, E1000State),
        VMSTATE_UINT8(tx.cptse, E1000State),
        VMSTATE_UINT8(tx.legacy_ic, E1000State),
        VMSTATE_UINT8(tx.legacy_css, E1000State),
        VMSTATE_UINT8(tx.legacy_cso, E1000State),
        VMSTATE_UINT8(tx.vlan_needed, E1000State),
        VMSTATE_UINT16(tx.vlan_tci, E1000State),
        VMSTATE_UINT32(tx.size, E1000State),
        VMSTATE_UINT32(tx.tso_frames, E1000State),
        VMSTATE_UINT32(tx.tso_sent, E1000State),
        VMSTATE_BUFFER(tx.buf, E1000State),
        VMSTATE_TIMER_PTR(autoneg_timer, E1000State),
        VMSTATE_UINT32_V(delayed, E1000State, 2),
        VMSTATE_TIMER_PTR_V(rx_delay.pkt, E1000State, 3),
        VMSTATE_TIMER_PTR_V(rx_delay.abs, E1000State, 3),
        VMSTATE_TIMER_PTR_V(tx_delay.pkt, E1000State, 3),
        VMSTATE_TIMER_PTR_V(tx_delay.abs, E1000State, 3),
        VMSTATE_END_OF_LIST()
    },
};

static const Property e1000_props[] = {
    DEFINE_PROP("netdev", E1000State, netdev, PROP_STRING, NULL,
                "ID of a netdev to use as a backend"),
    DEFINE_PROP("mac", E1000State, mac_str, PROP_STRING, NULL,
                "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"),
    DEFINE_PROP("bootindex", E1000State, bootindex, PROP_INT32, "-1",
                "boot priority (network boot through the option ROM)"),
    DEFINE_PROP("autonegotiation", E1000State, autoneg, PROP_BOOL, "on",
                "PHY autonegotiation (link comes up 500 ms after restart)"),
    DEFINE_PROP("mitigation", E1000State, mitigation, PROP_BOOL, "on",
                "interrupt mitigation: ITR and the RDTR/RADV/TIDV/TADV "
                "delay timers"),
    DEFINE_PROP_END_OF_LIST(),
};

#define E1000_CLASS(dev, phy2) { \
    .pci = { \
        .vendor_id = PCI_VENDOR_ID_INTEL, \
        .device_id = (dev), \
        .revision = 3, \
        .class_id = PCI_CLASS_NETWORK_ETHERNET, \
        .interrupt_pin = 1, \
        .romfile = "efi-e1000.rom", \
    }, \
    .phy_id2 = (phy2), \
    .eeprom_cfg1 = 0x640a, \
}

static const E1000Class e1000_82540em = E1000_CLASS(0x100e, 0x0c20);
static const E1000Class e1000_82544gc = E1000_CLASS(0x100c, 0x0c30);
static const E1000Class e1000_82545em = E1000_CLASS(0x100f, 0x0c20);

#define E1000_TYPE(tname, desc_, cls) { \
    .name = (tname), \
    .parent = TYPE_PCI_DEVICE, \
    .desc = (desc_), \
    .instance_size = sizeof(E1000State), \
    .user_creatable = true, \
    .category = DEVICE_CATEGORY_NETWORK, \
    .props = e1000_props, \
    .realize = e1000_realize, \
    .unrealize = e1000_unrealize, \
    .reset = e1000_reset, \
    .vmsd = &vmstate_e1000, \
    .class_data = &(cls), \
}

static const DeviceType e1000_types[] = {
    E1000_TYPE(TYPE_E1000, "Intel Gigabit Ethernet", e1000_82540em),
    E1000_TYPE("e1000-82544gc", "Intel Gigabit Ethernet", e1000_82544gc),
    E1000_TYPE("e1000-82545em", "Intel Gigabit Ethernet", e1000_82545em),
};

static void e1000_register(void)
{
    for (unsigned i = 0; i < ARRAY_SIZE(e1000_types); i++) {
        device_type_register(&e1000_types[i]);
    }
    device_type_register_alias("e1000-82540em", TYPE_E1000);
}
type_init(e1000_register)
