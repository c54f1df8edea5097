/*
 * e1000e: Intel 82574L gigabit Ethernet (8086:10d3), as QEMU 7.2 models it.
 *
 * Spec: "Intel 82574 Family GbE Controller Datasheet" (rev 3.x): register
 * names and offsets from chapter 10 (CTRL, STATUS, EECD, EERD, EEWR,
 * CTRL_EXT, MDIC, ICR/ICS/IMS/IMC/IAM, EIAC, IVAR, ITR, EITR0-4, RCTL,
 * RFCTL, RXCSUM, MRQC, RSSRK, RETA, RDBAL0/1 .. RDT0/1, TCTL, TIPG,
 * TDBAL0/1 .. TDT0/1, TXDCTL, TARC, RA, MTA, VFTA, statistics), 7.1.4-7.1.5
 * receive descriptors (legacy, extended and packet split with PSRCTL's
 * four buffers and the header split of 7.1.5.3),
 * 7.1.9 receive checksum offload, 7.1.10 RSS (Toeplitz hash over RSSRK,
 * the 128-entry RETA whose bit 7 picks queue 0 or 1), 7.2 transmit
 * (legacy, context and data descriptors, checksum and TSO: the shared
 * engine in hw/net/e1000-common.c), 7.4 interrupts (INTx, MSI, MSI-X with
 * five vectors mapped through IVAR: RxQ0, RxQ1, TxQ0, TxQ1, Other; EIAC
 * auto-clear, IAM auto-mask with CTRL_EXT.EIAME), 6.1 the NVM (64 words,
 * checksum word 0x3f so they sum to 0xBABA), 10.2.2.x the PHY through
 * MDIC at address 1 with its page register (22) and pages 0, 2 and 3.
 *
 * Identity and layout as QEMU 7.2's e1000e: revision 0, class 0x0200,
 * subsystem 8086:0000, a PCI Express endpoint (PM at 0xc8, MSI at 0xd0,
 * PCIe at 0xe0, MSI-X at 0xa0, AER at 0x100), BAR0 128 KiB registers,
 * BAR1 128 KiB flash (reads 0, as QEMU's empty flash region), BAR2 32 I/O
 * ports (IOADDR/IODATA), BAR3 16 KiB MSI-X (table at 0, PBA at 0x2000),
 * INTA, efi-e1000e.rom (Debian's ipxe-qemu) through the ROM BAR.
 *
 * Simplified (as QEMU): checksums and TSO in software on a copy.  The
 * interrupt delay timers of 7.4.4 (RDTR/RADV for RXT0, TIDV/TADV for the
 * transmit causes of descriptors with IDE; FPD flushes) run on the virtual
 * clock as QEMU 7.2's e1000e runs them: for INTx and MSI only (with MSI-X
 * the causes go at once and EITR alone moderates), one set of waiting
 * causes that any other cause or either timer releases; ITR/EITR then
 * throttle in 256 ns units.
 *
 * Guest input is hostile: ring sizes come from RDLEN/TDLEN, a head or
 * tail outside its ring stops that ring, a transmit pass handles at most
 * one lap of the ring and 256 KiB before it yields to the main loop,
 * every context offset is checked against the frame (e1000-common.c), the
 * PHY page and register, the NVM word and the MSI-X vector are bounded,
 * and all DMA goes through pci_dma_read/pci_dma_write.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_bridge.h"
#include "hw/pci/msi.h"
#include "hw/nvram/fw_cfg.h"
#include "system/timer.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "net/eth.h"
#include "e1000-common.h"

#define TYPE_E1000E     "e1000e"

/* ---- registers (10.2) ------------------------------------------------- */

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
#define EIAC            0x000dc
#define IMC             0x000d8
#define IAM             0x000e0
#define IVAR            0x000e4
#define RCTL            0x00100
#define FCTTV           0x00170
#define TXCW            0x00178
#define RXCW            0x00180
#define TCTL            0x00400
#define TIPG            0x00410
#define AIT             0x00458
#define LEDCTL          0x00e00
#define EXTCNF_CTRL     0x00f00
#define EXTCNF_SIZE     0x00f08
#define PHY_CTRL_REG    0x00f10
#define PBA             0x01000
#define PBS             0x01008
#define EEMNGCTL        0x01010
#define EEWR            0x0102c
#define FLOP            0x0103c
#define EITR            0x01680         /* 5 registers */
#define FCRTL           0x02160
#define FCRTH           0x02168
#define PSRCTL          0x02170
#define RDBAL(q)        (0x02800 + 0x100 * (q))
#define RDBAH(q)        (0x02804 + 0x100 * (q))
#define RDLEN(q)        (0x02808 + 0x100 * (q))
#define RDH(q)          (0x02810 + 0x100 * (q))
#define RDT(q)          (0x02818 + 0x100 * (q))
#define RDTR            0x02820
#define RXDCTL(q)       (0x02828 + 0x100 * (q))
#define RADV            0x0282c
#define RSRPD           0x02c00
#define RAID            0x02c08
#define TDBAL(q)        (0x03800 + 0x100 * (q))
#define TDBAH(q)        (0x03804 + 0x100 * (q))
#define TDLEN(q)        (0x03808 + 0x100 * (q))
#define TDH(q)          (0x03810 + 0x100 * (q))
#define TDT(q)          (0x03818 + 0x100 * (q))
#define TIDV            0x03820
#define TXDCTL(q)       (0x03828 + 0x100 * (q))
#define TADV            0x0382c
#define TARC(q)         (0x03840 + 0x100 * (q))
#define RXCSUM          0x05000
#define RFCTL           0x05008
#define WUC             0x05800
#define WUFC            0x05808
#define WUS             0x05810
#define MRQC            0x05818
#define MANC            0x05820
#define MANC2H          0x05860
#define GCR             0x05b00
#define GSCL1           0x05b10         /* .. GSCN_3 0x05b3c */
#define SWSM            0x05b50
#define FWSM            0x05b54
#define RETA            0x05c00         /* 32 registers, 128 bytes */
#define RSSRK           0x05c80         /* 10 registers, 40 bytes */
#define REG_SPACE       0x08000         /* registers kept (0x20000 decoded) */
#define NREGS           (REG_SPACE >> 2)
#define MMIO_SIZE       0x20000
#define FLASH_SIZE      0x20000
#define IO_SIZE         0x20
#define MSIX_SIZE       0x4000
#define MSIX_TABLE      0x0000
#define MSIX_PBA        0x2000
#define MSIX_VECTORS    5

#define R(off)          ((off) >> 2)
#define NUM_QUEUES      2

/* CTRL */
#define CTRL_FD         0x00000001
#define CTRL_SLU        0x00000040
#define CTRL_SPD_1000   0x00000200
#define CTRL_RST        0x04000000
#define CTRL_VME        0x40000000
#define CTRL_PHY_RST    0x80000000
/* STATUS */
#define STATUS_FD       0x00000001
#define STATUS_LU       0x00000002
#define STATUS_SPEED_1000 0x00000080
#define STATUS_ASDV_1000 0x00000200
#define STATUS_PHYRA    0x00000400
#define STATUS_GIO_MASTER 0x00080000
/* EECD (10.2.2.3): an NVM that auto-loaded and is present */
#define EECD_PRES       0x00000100
#define EECD_AUTO_RD    0x00000200
#define EECD_SIZE_EX_4K 0x00001000      /* 64 words... as QEMU reports */
/* EERD / EEWR (10.2.2.4): START, DONE, word address 2.., data 16.. */
#define EERW_START      0x00000001
#define EERW_DONE       0x00000002
#define EERW_ADDR_SHIFT 2
#define EERW_ADDR_MASK  0x3fff
#define EERW_DATA_SHIFT 16
/* CTRL_EXT */
#define CTRL_EXT_IAME   0x08000000      /* ICR read auto-masks IAM */
#define CTRL_EXT_EIAME  0x01000000      /* MSI-X firing auto-masks IAM */
/* MDIC */
#define MDIC_DATA_MASK  0x0000ffff
#define MDIC_REG_SHIFT  16
#define MDIC_PHY_SHIFT  21
#define MDIC_OP_WRITE   0x04000000
#define MDIC_OP_READ    0x08000000
#define MDIC_READY      0x10000000
#define MDIC_INT_EN     0x20000000
#define MDIC_ERROR      0x40000000
/* ICR causes (10.2.4.1) */
#define ICR_TXDW        0x00000001
#define ICR_TXQE        0x00000002
#define ICR_LSC         0x00000004
#define ICR_RXDMT0      0x00000010
#define ICR_RXO         0x00000040
#define ICR_RXT0        0x00000080
#define ICR_MDAC        0x00000200
#define ICR_SRPD        0x00010000      /* small receive packet detected */
#define ICR_RXQ0        0x00100000
#define ICR_RXQ1        0x00200000
#define ICR_TXQ0        0x00400000
#define ICR_TXQ1        0x00800000
#define ICR_OTHER       0x01000000
#define ICR_INT_ASSERTED 0x80000000
#define ICR_OTHER_CAUSES (ICR_LSC | ICR_RXO | ICR_MDAC)
/* IVAR: 4-bit entries, bit 3 of each valid; bit 31 TX on every WB */
#define IVAR_VALID      0x8
/* RCTL */
#define RCTL_DTYP_SHIFT 10
#define RCTL_DTYP_PS    1
/* RFCTL (10.2.5.x) */
#define RFCTL_IPV6_DIS  0x00000400      /* no IPv6 processing */
#define RFCTL_IPFRSP_DIS 0x00004000     /* no header split of IP fragments */
#define RFCTL_EXTEN     0x00008000
#define RFCTL_IPV6_EX_DIS 0x00010000
/* PSRCTL: buffer 0 in 128-byte units, buffers 1-3 in KiB (0: unused) */
#define PSRCTL_BSIZE0_MASK 0x7f
#define PSRCTL_BSIZE_MASK  0x3f
#define PS_BUFFERS      4
#define PS_DESC_LEN     32
#define PS_HDRSTAT_HS   0x8000          /* header split (7.1.5.3) */
/* RXCSUM */
#define RXCSUM_PCSS_MASK 0x000000ff
#define RXCSUM_IPOFLD   0x00000100
#define RXCSUM_TUOFLD   0x00000200
#define RXCSUM_PCSD     0x00002000
/* MRQC */
#define MRQC_EN_MASK    0x3
#define MRQC_EN_RSS     0x1
#define MRQC_TCPIPV4    0x00010000
#define MRQC_IPV4       0x00020000
#define MRQC_IPV6       0x00100000
#define MRQC_TCPIPV6    0x00200000
/* RSS types written back (7.1.10.2) */
#define RSS_TYPE_TCPV4  1
#define RSS_TYPE_IPV4   2
#define RSS_TYPE_TCPV6  3
#define RSS_TYPE_IPV6   5
/* TCTL */
#define TCTL_EN         0x00000002
/* RAH */
#define RAH_AV          0x80000000

/* receive descriptor status / errors (7.1.4, 7.1.5) */
#define RXD_STAT_DD     0x01
#define RXD_STAT_EOP    0x02
#define RXD_STAT_IXSM   0x04
#define RXD_STAT_VP     0x08
#define RXD_STAT_UDPCS  0x10
#define RXD_STAT_TCPCS  0x20
#define RXD_STAT_IPCS   0x40
#define RXD_STAT_IPIDV  0x200           /* extended: IP ID valid */
#define RXD_ERR_TCPE    0x20
#define RXD_ERR_IPE     0x40
#define RXDEXT_ERR_SHIFT 24             /* errors in bits 31:24 of ext */

/* PHY (10.2.2.x; QEMU's ID 0141:0cb1) */
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
#define PHY_SPEC_CTRL   0x10
#define PHY_SPEC_STATUS 0x11
#define PHY_INT_ENABLE  0x12
#define PHY_INT_STATUS  0x13
#define PHY_EXT_SPEC_CTRL 0x14
#define PHY_RX_ERR_CNTR 0x15
#define PHY_PAGE        0x16            /* page select, in every page */
#define PHY_OEM_BITS    0x19
#define PHY_BIAS1       0x1d
#define PHY_BIAS2       0x1e
#define PHY_MAC_SPEC_CTRL 0x15          /* page 2 */
#define PHY_COPPER_CTRL3 0x1a           /* page 2 */
#define PHY_LED_CTRL1   0x10            /* page 3 */
#define PHY_LED_POL     0x11            /* page 3 */
#define PHY_LED_TIMER   0x12            /* page 3 */
#define PHY_PAGES       7
#define PHY_REGS        0x20
#define MII_CR_RESTART_AUTO_NEG 0x0200
#define MII_CR_AUTO_NEG_EN 0x1000
#define MII_CR_RESET    0x8000
#define MII_SR_LINK_STATUS 0x0004
#define MII_SR_AUTONEG_COMPLETE 0x0020
#define MII_LPAR_LPACK  0x4000
#define PHY_SSR_LINK    0x0400
#define AUTONEG_NS      (500 * 1000 * 1000LL)

#define PHY_R           1
#define PHY_W           2

#define EEPROM_WORDS    64
#define EEPROM_CKSUM_WORD 0x3f

#define RX_BUF_SIZE     (16384 + 4)
#define MIN_FRAME       ETH_ZLEN
#define TX_PASS_BYTES   (256 * 1024)

/* Throttled interrupt sources: 0-4 the MSI-X vectors, 5 INTx/MSI. */
#define NUM_THROTTLES   (MSIX_VECTORS + 1)
#define THROTTLE_LEGACY MSIX_VECTORS

typedef struct E1000EState E1000EState;

typedef struct E1000EThrottle {
    E1000EState *s;
    unsigned idx;
    QEMUTimer *timer;
    int64_t next;               /* may fire again from here (virtual ns) */
    bool pending;
} E1000EThrottle;

struct E1000EState {
    PCIDevice parent;

    /* properties */
    char *netdev;
    char *mac_str;
    int32_t bootindex;
    uint16_t subsys_ven, subsys;

    NICConf conf;
    NICState *nic;
    char *boot_path;
    MemoryRegion mmio, flash, io, msix;
    QEMUTimer *autoneg_timer;
    E1000EThrottle throttle[NUM_THROTTLES];
    E1000DelayPair rx_delay;    /* RDTR/RADV (e1000-common) */
    E1000DelayPair tx_delay;    /* TIDV/TADV */
    uint32_t delayed;           /* causes (and their RxQn/TxQn) waiting */
    guint tx_idle;
    bool tx_waiting;            /* the backend holds a frame */
    bool irq_level;

    /* guest-visible state */
    uint32_t mac_reg[NREGS];
    uint16_t phy_reg[PHY_PAGES][PHY_REGS];
    uint16_t eeprom[EEPROM_WORDS];
    uint32_t io_addr;
    E1000Tx tx[NUM_QUEUES];

    uint8_t rx_buf[RX_BUF_SIZE + 4];
};

static uint32_t *reg(E1000EState *s, uint32_t off)
{
    return &s->mac_reg[R(off)];
}

/* ---- interrupts (7.4) -------------------------------------------------- */

static uint32_t throttle_interval(E1000EState *s, unsigned idx)
{
    uint32_t v = idx == THROTTLE_LEGACY ? *reg(s, ITR)
                                        : *reg(s, EITR + 4 * idx);
    return v & 0xffff;
}

/* Whether source @idx may signal now; if not, it fires from its timer. */
static bool throttle_allow(E1000EState *s, unsigned idx)
{
    E1000EThrottle *t = &s->throttle[idx];
    uint32_t interval = throttle_interval(s, idx);
    int64_t now;

    if (!interval) {
        return true;
    }
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    if (now < t->next) {
        t->pending = true;
        if (!timer_pending(t->timer)) {
            timer_mod(t->timer, t->next);
        }
        return false;
    }
    t->next = now + (int64_t)interval * 256;
    return true;
}

static void msix_fire(E1000EState *s, unsigned vector)
{
    if (vector >= MSIX_VECTORS || !throttle_allow(s, vector)) {
        return;
    }
    msix_notify(&s->parent, vector);
}

static void set_line(E1000EState *s, bool level)
{
    s->irq_level = level;
    pci_set_irq(&s->parent, level);
}

/* INTx and MSI: the line follows ICR & IMS; MSI is sent on new causes. */
static void update_legacy(E1000EState *s, bool new_causes)
{
    bool want = (*reg(s, ICR) & *reg(s, IMS)) != 0;

    if (want) {
        *reg(s, ICR) |= ICR_INT_ASSERTED;
    }
    if (msix_enabled(&s->parent)) {
        set_line(s, false);
        return;
    }
    if (msi_enabled(&s->parent)) {
        set_line(s, false);
        if (want && new_causes && throttle_allow(s, THROTTLE_LEGACY)) {
            msi_notify(&s->parent, 0);
        }
        return;
    }
    if (!want) {
        set_line(s, false);
    } else if (!s->irq_level && throttle_allow(s, THROTTLE_LEGACY)) {
        set_line(s, true);
    }
}

/* The IVAR entry (0 RxQ0, 1 RxQ1, 2 TxQ0, 3 TxQ1, 4 Other) of @cause. */
static int ivar_vector(E1000EState *s, unsigned entry)
{
    uint32_t v = (*reg(s, IVAR) >> (4 * entry)) & 0xf;

    return (v & IVAR_VALID) ? (int)(v & 7) : -1;
}

static void msix_causes(E1000EState *s, uint32_t qcauses)
{
    static const uint32_t bits[5] = { ICR_RXQ0, ICR_RXQ1, ICR_TXQ0,
                                      ICR_TXQ1, ICR_OTHER };

    for (unsigned i = 0; i < 5; i++) {
        int vec;
        if (!(qcauses & bits[i] & *reg(s, IMS))) {
            continue;
        }
        vec = ivar_vector(s, i);
        if (vec < 0) {
            continue;
        }
        msix_fire(s, vec);
        /* EIAC: auto-clear on firing; EIAME: auto-mask through IAM. */
        *reg(s, ICR) &= ~(*reg(s, EIAC) & bits[i]);
        if (*reg(s, CTRL_EXT) & CTRL_EXT_EIAME) {
            *reg(s, IMS) &= ~(*reg(s, IAM) & bits[i]);
        }
    }
}

/*
 * Raise @causes; @qcauses the MSI-X queue causes they stand for (RXQn,
 * TXQn; OTHER is added for the other causes).
 */
#define QUEUE_CAUSES    (ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1)

static void raise_causes(E1000EState *s, uint32_t causes, uint32_t qcauses)
{
    /* Causes waiting for a delay timer go with any other (QEMU's e1000e
     * keeps one set of them); the delay timers stop. */
    if (s->delayed) {
        causes |= s->delayed & ~QUEUE_CAUSES;
        qcauses |= s->delayed & QUEUE_CAUSES;
        s->delayed = 0;
        e1000x_delay_stop(&s->rx_delay);
        e1000x_delay_stop(&s->tx_delay);
    }
    if (!causes && !qcauses) {
        return;
    }
    if (causes & ICR_OTHER_CAUSES) {
        qcauses |= ICR_OTHER;
    }
    *reg(s, ICR) |= causes;
    if (msix_enabled(&s->parent)) {
        *reg(s, ICR) |= qcauses;
        msix_causes(s, qcauses);
        return;
    }
    update_legacy(s, (causes & *reg(s, IMS)) != 0);
}

/* ICS: software causes; with MSI-X the queue bits fire their vectors. */
static void write_ics(E1000EState *s, uint32_t val)
{
    raise_causes(s, val & ~(ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 |
                            ICR_OTHER | ICR_INT_ASSERTED),
                 val & (ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 |
                        ICR_OTHER));
}

static void throttle_cb(void *opaque)
{
    E1000EThrottle *t = opaque;
    E1000EState *s = t->s;

    if (!t->pending) {
        return;
    }
    t->pending = false;
    t->next = 0;
    if (t->idx == THROTTLE_LEGACY) {
        update_legacy(s, true);
    } else {
        msix_fire(s, t->idx);
    }
}

static void rx_raise(E1000EState *s, unsigned q, uint32_t causes)
{
    raise_causes(s, causes, q ? ICR_RXQ1 : ICR_RXQ0);
}

/* ---- interrupt delay timers (7.4.4) ------------------------------------ */

/* Either timer of a pair ended: the waiting causes go. */
static void delay_cb(void *opaque)
{
    raise_causes(opaque, 0, 0);
}

/*
 * A frame written back: RXT0 waits for RDTR (restarted by each frame) or
 * RADV (from the first), unless MSI-X is on, RDTR is 0, or a cause that
 * cannot wait (RXDMT0, RXO) comes with it, as QEMU 7.2 decides.
 */
static void rx_raise_delayed(E1000EState *s, unsigned q, uint32_t causes)
{
    if (causes == ICR_RXT0 && !msix_enabled(&s->parent) &&
        e1000x_delay_arm(&s->rx_delay, s->mac_reg)) {
        s->delayed |= ICR_RXT0 | (q ? ICR_RXQ1 : ICR_RXQ0);
        return;
    }
    rx_raise(s, q, causes);
}

/* RDTR/TIDV written with FPD: whatever waits goes now. */
static void write_delay_reg(E1000EState *s, uint32_t off, uint32_t val)
{
    *reg(s, off) = val & E1000_DELAY_MASK;
    if ((val & E1000_DELAY_FPD) && s->delayed) {
        raise_causes(s, 0, 0);
    }
}

static void tx_raise(E1000EState *s, unsigned q, uint32_t causes)
{
    raise_causes(s, causes, q ? ICR_TXQ1 : ICR_TXQ0);
}

/* A transmit pass whose descriptors all had IDE: TXDW/TXQE wait for TIDV
 * or TADV (not with MSI-X, nor with TIDV 0). */
static void tx_raise_delayed(E1000EState *s, unsigned q, uint32_t causes,
                             bool ide)
{
    if (ide && !msix_enabled(&s->parent) &&
        e1000x_delay_arm(&s->tx_delay, s->mac_reg)) {
        s->delayed |= causes | (q ? ICR_TXQ1 : ICR_TXQ0);
        return;
    }
    tx_raise(s, q, causes);
}

/* ---- link and PHY ------------------------------------------------------ */

static void link_down(E1000EState *s)
{
    *reg(s, STATUS) &= ~STATUS_LU;
    s->phy_reg[0][PHY_STATUS] &= ~MII_SR_LINK_STATUS;
    s->phy_reg[0][PHY_LP_ABILITY] &= ~MII_LPAR_LPACK;
    s->phy_reg[0][PHY_SPEC_STATUS] &= ~PHY_SSR_LINK;
}

static void link_up(E1000EState *s)
{
    *reg(s, STATUS) |= STATUS_LU;
    s->phy_reg[0][PHY_STATUS] |= MII_SR_LINK_STATUS |
                                 MII_SR_AUTONEG_COMPLETE;
    s->phy_reg[0][PHY_LP_ABILITY] |= MII_LPAR_LPACK;
    s->phy_reg[0][PHY_SPEC_STATUS] |= PHY_SSR_LINK;
    qemu_flush_queued_packets(qemu_get_queue(s->nic));
}

static void restart_autoneg(E1000EState *s)
{
    if (!(s->phy_reg[0][PHY_CTRL] & MII_CR_AUTO_NEG_EN)) {
        return;
    }
    link_down(s);
    s->phy_reg[0][PHY_STATUS] &= ~MII_SR_AUTONEG_COMPLETE;
    timer_mod(s->autoneg_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + AUTONEG_NS);
}

static void autoneg_done(void *opaque)
{
    E1000EState *s = opaque;

    if (qemu_get_queue(s->nic)->link_down) {
        s->phy_reg[0][PHY_STATUS] |= MII_SR_AUTONEG_COMPLETE;
        return;
    }
    link_up(s);
    raise_causes(s, ICR_LSC, 0);
}

static void link_status_changed(NetClientState *nc)
{
    E1000EState *s = qemu_get_nic_opaque(nc);
    uint32_t old = *reg(s, STATUS);

    if (nc->link_down) {
        timer_del(s->autoneg_timer);
        link_down(s);
    } else if ((s->phy_reg[0][PHY_CTRL] & MII_CR_AUTO_NEG_EN) &&
               !(s->phy_reg[0][PHY_STATUS] & MII_SR_AUTONEG_COMPLETE)) {
        restart_autoneg(s);
    } else {
        link_up(s);
    }
    if (*reg(s, STATUS) != old) {
        raise_causes(s, ICR_LSC, 0);
    }
}

/* Which registers of which page exist (PHY_PAGE is in all of them). */
static uint8_t phy_access(unsigned page, unsigned regn)
{
    static const uint8_t page0[PHY_REGS] = {
        [PHY_CTRL] = PHY_R | PHY_W, [PHY_STATUS] = PHY_R,
        [PHY_ID1] = PHY_R, [PHY_ID2] = PHY_R,
        [PHY_AUTONEG_ADV] = PHY_R | PHY_W, [PHY_LP_ABILITY] = PHY_R,
        [PHY_AUTONEG_EXP] = PHY_R, [PHY_NEXT_PAGE_TX] = PHY_R | PHY_W,
        [PHY_LP_NEXT_PAGE] = PHY_R, [PHY_1000T_CTRL] = PHY_R | PHY_W,
        [PHY_1000T_STATUS] = PHY_R, [PHY_EXT_STATUS] = PHY_R,
        [PHY_SPEC_CTRL] = PHY_R | PHY_W, [PHY_SPEC_STATUS] = PHY_R,
        [PHY_INT_ENABLE] = PHY_R | PHY_W, [PHY_INT_STATUS] = PHY_R,
        [PHY_EXT_SPEC_CTRL] = PHY_R | PHY_W, [PHY_RX_ERR_CNTR] = PHY_R,
        [PHY_OEM_BITS] = PHY_R | PHY_W, [PHY_BIAS1] = PHY_R | PHY_W,
        [PHY_BIAS2] = PHY_R | PHY_W,
    };

    if (regn == PHY_PAGE) {
        return PHY_R | PHY_W;
    }
    switch (page) {
    case 0:
        return page0[regn];
    case 2:
        return (regn == PHY_MAC_SPEC_CTRL || regn == PHY_COPPER_CTRL3)
               ? PHY_R | PHY_W : 0;
    case 3:
        return (regn == PHY_LED_CTRL1 || regn == PHY_LED_POL ||
                regn == PHY_LED_TIMER) ? PHY_R | PHY_W : 0;
    }
    return 0;
}

static void phy_reset(E1000EState *s)
{
    uint16_t *p = s->phy_reg[0];

    memset(s->phy_reg, 0, sizeof(s->phy_reg));
    p[PHY_CTRL] = 0x1140;               /* autoneg, full duplex, 1000 */
    p[PHY_STATUS] = 0x7949;
    p[PHY_ID1] = 0x0141;
    p[PHY_ID2] = 0x0cb1;
    p[PHY_AUTONEG_ADV] = 0x0de1;
    p[PHY_LP_ABILITY] = 0x01e0;
    p[PHY_AUTONEG_EXP] = 0x000f;
    p[PHY_NEXT_PAGE_TX] = 0x2001;
    p[PHY_1000T_CTRL] = 0x0e00;
    p[PHY_1000T_STATUS] = 0x3c00;
    p[PHY_EXT_STATUS] = 0x3000;
    p[PHY_SPEC_CTRL] = 0x0360;
    p[PHY_SPEC_STATUS] = 0xac00;
    p[PHY_EXT_SPEC_CTRL] = 0x0d60;
    s->phy_reg[2][PHY_MAC_SPEC_CTRL] = 0x0046;
    s->phy_reg[3][PHY_LED_CTRL1] = 0x1840;
    s->phy_reg[3][PHY_LED_POL] = 0x0022;
    s->phy_reg[3][PHY_LED_TIMER] = 0x0004;
}

static void write_phy_ctrl(E1000EState *s, uint16_t val)
{
    s->phy_reg[0][PHY_CTRL] = val & ~(MII_CR_RESET | MII_CR_RESTART_AUTO_NEG);
    if ((val & MII_CR_RESTART_AUTO_NEG) && (val & MII_CR_AUTO_NEG_EN)) {
        uint32_t old = *reg(s, STATUS);
        restart_autoneg(s);
        if (*reg(s, STATUS) != old) {
            raise_causes(s, ICR_LSC, 0);
        }
    }
}

/* MDIC: one PHY register access at the page PHY_PAGE selects. */
static void write_mdic(E1000EState *s, uint32_t val)
{
    uint32_t data = val & MDIC_DATA_MASK;
    unsigned regn = (val >> MDIC_REG_SHIFT) & 0x1f;
    unsigned phy = (val >> MDIC_PHY_SHIFT) & 0x1f;
    unsigned page = s->phy_reg[0][PHY_PAGE];
    uint8_t acc;

    if (page >= PHY_PAGES) {
        page = PHY_PAGES - 1;           /* an empty page: all errors */
    }
    acc = phy_access(page, regn);
    if (phy != 1) {
        val |= MDIC_ERROR;
    } else if (val & MDIC_OP_READ) {
        if (!(acc & PHY_R)) {
            val |= MDIC_ERROR;
        } else {
            uint16_t v = regn == PHY_PAGE ? s->phy_reg[0][PHY_PAGE]
                                          : s->phy_reg[page][regn];
            val = (val & ~MDIC_DATA_MASK) | v;
        }
    } else if (val & MDIC_OP_WRITE) {
        if (!(acc & PHY_W)) {
            val |= MDIC_ERROR;
        } else if (regn == PHY_PAGE) {
            s->phy_reg[0][PHY_PAGE] = data;
        } else if (page == 0 && regn == PHY_CTRL) {
            write_phy_ctrl(s, data);
        } else {
            s->phy_reg[page][regn] = data;
        }
    }
    *reg(s, MDIC) = val | MDIC_READY;
    if (val & MDIC_INT_EN) {
        raise_causes(s, ICR_MDAC, 0);
    }
}

/* ---- NVM (6.1) ---------------------------------------------------------- */

static void eeprom_init(E1000EState *s)
{
    uint16_t *w = s->eeprom;

    memset(w, 0, sizeof(s->eeprom));
    for (unsigned i = 0; i < 3; i++) {
        w[i] = s->conf.macaddr.a[2 * i] | (s->conf.macaddr.a[2 * i + 1] << 8);
    }
    w[0x03] = 0x0420;                   /* compatibility */
    w[0x04] = 0xf746;
    w[0x05] = 0x2010;                   /* image version */
    w[0x06] = 0xffff;
    w[0x07] = 0xffff;
    w[0x0a] = 0x026b;                   /* Initialization Control Word 1 */
    w[0x0b] = s->subsys;
    w[0x0c] = s->subsys_ven;
    w[0x0d] = 0x10d3;                   /* device ID */
    w[0x0e] = PCI_VENDOR_ID_INTEL;
    w[0x0f] = 0x8058;                   /* Initialization Control Word 2 */
    w[0x11] = 0x2001;
    w[0x12] = 0x7e7c;
    w[0x13] = 0xffff;
    w[0x14] = 0x1000;
    w[0x15] = 0x00c8;
    w[0x17] = 0x2704;
    for (unsigned i = 0x30; i < EEPROM_CKSUM_WORD; i++) {
        w[i] = 0xffff;
    }
    e1000x_eeprom_checksum(w, EEPROM_CKSUM_WORD);
}

static uint32_t read_eerd(E1000EState *s, uint32_t off)
{
    uint32_t v = *reg(s, off);
    unsigned addr = (v >> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;

    if (!(v & EERW_START) || addr >= EEPROM_WORDS) {
        return v;
    }
    if (off == EERD) {
        v = (v & 0xffff) | ((uint32_t)s->eeprom[addr] << EERW_DATA_SHIFT);
    }
    return v | EERW_DONE;
}

static void write_eewr(E1000EState *s, uint32_t val)
{
    unsigned addr = (val >> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;

    *reg(s, EEWR) = val;
    if ((val & EERW_START) && addr < EEPROM_WORDS) {
        s->eeprom[addr] = val >> EERW_DATA_SHIFT;
    }
}

/* ---- receive (7.1) ------------------------------------------------------ */

static bool use_extended(E1000EState *s)
{
    return *reg(s, RFCTL) & RFCTL_EXTEN;
}

/* RCTL.DTYP 01 (and the reserved 11) with RFCTL.EXTEN: packet split
 * descriptors; without EXTEN the ring holds legacy ones (as QEMU 7.2). */
static bool use_packet_split(E1000EState *s)
{
    return use_extended(s) &&
           (*reg(s, RCTL) & (RCTL_DTYP_PS << RCTL_DTYP_SHIFT));
}

static uint32_t rx_desc_len(E1000EState *s)
{
    return use_packet_split(s) ? PS_DESC_LEN : 16;
}

static uint32_t rx_ring_size(E1000EState *s, unsigned q)
{
    return *reg(s, RDLEN(q)) / rx_desc_len(s);
}

static uint32_t rx_free_descs(E1000EState *s, unsigned q)
{
    uint32_t n = rx_ring_size(s, q), h = *reg(s, RDH(q)), t = *reg(s, RDT(q));

    if (n == 0 || h >= n || t >= n) {
        return 0;
    }
    return (t + n - h) % n;
}

static bool rss_enabled(E1000EState *s)
{
    return (*reg(s, MRQC) & MRQC_EN_MASK) == MRQC_EN_RSS;
}

static bool rx_enabled(E1000EState *s)
{
    return (*reg(s, RCTL) & E1000_RCTL_EN) &&
           (s->parent.config[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

static bool link_is_up(E1000EState *s)
{
    return *reg(s, STATUS) & STATUS_LU;
}

/* Frames wait (bounded, in the core) while receive is off or a ring in
 * use is full; with the link down they are lost, as on a wire. */
static bool e1000e_can_receive(NetClientState *nc)
{
    E1000EState *s = qemu_get_nic_opaque(nc);

    if (!link_is_up(s)) {
        return true;
    }
    if (!rx_enabled(s) || rx_free_descs(s, 0) == 0) {
        return false;
    }
    return !rss_enabled(s) || rx_free_descs(s, 1) > 0;
}

/* What receive offloads and RSS need of a frame's headers. */
typedef struct RxInfo {
    unsigned l3;                /* offset of the IP header, 0: not IP */
    unsigned l4;                /* offset of TCP/UDP, 0: none */
    bool v4, v6, tcp, udp;
    uint16_t ip_id;
} RxInfo;

static void rx_parse(const uint8_t *p, size_t size, const uint32_t *regs,
                     RxInfo *ri)
{
    unsigned off = 12;
    uint16_t type;

    memset(ri, 0, sizeof(*ri));
    if (size < ETH_HLEN) {
        return;
    }
    type = eth_ldw(p + off);
    if (type == (regs[E1000_R(E1000_VET)] & 0xffff) && size >= 18) {
        off += 4;
        type = eth_ldw(p + off);
    }
    off += 2;
    if (type == 0x0800 && size >= off + 20u) {
        unsigned ihl = (p[off] & 0xf) * 4;
        uint16_t frag = eth_ldw(p + off + 6);
        if ((p[off] >> 4) != 4 || ihl < 20 || size < off + ihl) {
            return;
        }
        ri->v4 = true;
        ri->l3 = off;
        ri->ip_id = eth_ldw(p + off + 4);
        if (frag & 0x3fff) {
            return;                     /* a fragment: no L4 */
        }
        ri->l4 = off + ihl;
        ri->tcp = p[off + 9] == 6 && size >= ri->l4 + 20u;
        ri->udp = p[off + 9] == 17 && size >= ri->l4 + 8u;
        if (!ri->tcp && !ri->udp) {
            ri->l4 = 0;
        }
    } else if (type == 0x86dd && size >= off + 40u) {
        if ((p[off] >> 4) != 6) {
            return;
        }
        ri->v6 = true;
        ri->l3 = off;
        ri->l4 = off + 40;
        ri->tcp = p[off + 6] == 6 && size >= ri->l4 + 20u;
        ri->udp = p[off + 6] == 17 && size >= ri->l4 + 8u;
        if (!ri->tcp && !ri->udp) {
            ri->l4 = 0;
        }
    }
}

/* The Toeplitz hash (7.1.10.1) of @len bytes with the 40-byte RSSRK. */
static uint32_t toeplitz(E1000EState *s, const uint8_t *in, unsigned len)
{
    uint8_t key[40];
    uint32_t hash = 0, v;

    for (unsigned i = 0; i < 10; i++) {
        stl_le_p(key + 4 * i, *reg(s, RSSRK + 4 * i));
    }
    v = eth_ldl(key);
    for (unsigned i = 0; i < len && i + 4 < sizeof(key); i++) {
        for (int b = 7; b >= 0; b--) {
            if (in[i] & (1u << b)) {
                hash ^= v;
            }
            v = (v << 1) | ((key[i + 4] >> b) & 1);
        }
    }
    return hash;
}

/* RSS: the hash, its type (0: none) and the queue RETA gives it. */
static unsigned rss_select(E1000EState *s, const uint8_t *p,
                           const RxInfo *ri, uint32_t *hash, unsigned *type)
{
    uint32_t mrqc = *reg(s, MRQC);
    uint8_t in[36];
    unsigned len = 0;
    uint8_t reta;

    *hash = 0;
    *type = 0;
    if (!rss_enabled(s)) {
        return 0;
    }
    if (ri->v4 && ri->tcp && (mrqc & MRQC_TCPIPV4)) {
        *type = RSS_TYPE_TCPV4;
    } else if (ri->v4 && (mrqc & MRQC_IPV4)) {
        *type = RSS_TYPE_IPV4;
    } else if (ri->v6 && ri->tcp && (mrqc & MRQC_TCPIPV6)) {
        *type = RSS_TYPE_TCPV6;
    } else if (ri->v6 && (mrqc & MRQC_IPV6)) {
        *type = RSS_TYPE_IPV6;
    } else {
        return 0;
    }
    if (ri->v4) {
        memcpy(in, p + ri->l3 + 12, 8);
        len = 8;
    } else {
        memcpy(in, p + ri->l3 + 8, 32);
        len = 32;
    }
    if (*type == RSS_TYPE_TCPV4 || *type == RSS_TYPE_TCPV6) {
        memcpy(in + len, p + ri->l4, 4);
        len += 4;
    }
    *hash = toeplitz(s, in, len);
    reta = ((const uint8_t *)&s->mac_reg[R(RETA)])[*hash & 0x7f];
    return reta >> 7;
}

/* The L4 checksum over the pseudo header; true when it verifies. */
static bool l4_sum_ok(const uint8_t *p, size_t size, const RxInfo *ri)
{
    uint32_t sum;
    size_t l4len;

    if (ri->v4) {
        size_t tot = eth_ldw(p + ri->l3 + 2);
        if (ri->l3 + tot > size || tot < ri->l4 - ri->l3) {
            return false;
        }
        l4len = tot - (ri->l4 - ri->l3);
        sum = eth_csum_add(0, p + ri->l3 + 12, 8);
    } else {
        l4len = eth_ldw(p + ri->l3 + 4);
        if (ri->l4 + l4len > size) {
            return false;
        }
        sum = eth_csum_add(0, p + ri->l3 + 8, 32);
    }
    if (ri->udp && eth_ldw(p + ri->l4 + 6) == 0 && ri->v4) {
        return true;                    /* no UDP checksum */
    }
    sum += (ri->tcp ? 6 : 17) + (uint32_t)l4len;
    sum = eth_csum_add(sum, p + ri->l4, l4len);
    return eth_csum_finish(sum) == 0;
}

/* RXCSUM: status and error bits of a frame (7.1.9). */
static void rx_checksum(E1000EState *s, const uint8_t *p, size_t size,
                        const RxInfo *ri, uint32_t *status, uint32_t *errors)
{
    uint32_t rxcsum = *reg(s, RXCSUM);

    if (!(rxcsum & (RXCSUM_IPOFLD | RXCSUM_TUOFLD))) {
        *status |= RXD_STAT_IXSM;
        return;
    }
    if (ri->v4 && (rxcsum & RXCSUM_IPOFLD)) {
        unsigned ihl = (p[ri->l3] & 0xf) * 4;
        *status |= RXD_STAT_IPCS;
        if (eth_csum_finish(eth_csum_add(0, p + ri->l3, ihl)) != 0) {
            *errors |= RXD_ERR_IPE;
        }
    }
    if (ri->l4 && (rxcsum & RXCSUM_TUOFLD)) {
        *status |= ri->tcp ? RXD_STAT_TCPCS : RXD_STAT_TCPCS | RXD_STAT_UDPCS;
        if (!l4_sum_ok(p, size, ri)) {
            *errors |= RXD_ERR_TCPE;
        }
    }
}

static void rx_overrun(E1000EState *s, unsigned q)
{
    e1000x_rx_missed(s->mac_reg);
    rx_raise(s, q, ICR_RXO);
}

/* What the write-back of a frame's descriptors says about it. */
typedef struct RxMeta {
    RxInfo ri;
    uint32_t status, errors, hash;
    unsigned q, rss_type;
    uint16_t psum, special;
} RxMeta;

/*
 * The first 16 bytes of an extended (7.1.5.2) or packet split (7.1.5.3)
 * write-back: MRQ, the RSS hash or IP ID + packet checksum, extended
 * status/errors, the length (of buffer 0 for packet split), VLAN.
 */
static void ext_writeback(E1000EState *s, uint8_t *d, const RxMeta *m,
                          bool last, uint16_t len)
{
    uint32_t st = RXD_STAT_DD | (last ? RXD_STAT_EOP | m->status : 0);

    stl_le_p(d, m->rss_type | (m->q << 8));
    if (*reg(s, RXCSUM) & RXCSUM_PCSD) {
        stl_le_p(d + 4, m->hash);
    } else {
        stw_le_p(d + 4, m->ri.ip_id);
        stw_le_p(d + 6, m->psum);
        if (m->ri.v4 && last) {
            st |= RXD_STAT_IPIDV;
        }
    }
    stl_le_p(d + 8, (st & ~RXD_STAT_IXSM & 0xfffff) |
             (last ? m->errors << RXDEXT_ERR_SHIFT : 0));
    stw_le_p(d + 12, len);
    stw_le_p(d + 14, last ? m->special : 0);
}

static uint64_t rx_desc_addr(E1000EState *s, unsigned q)
{
    uint64_t base = ((uint64_t)*reg(s, RDBAH(q)) << 32) | *reg(s, RDBAL(q));

    return base + (uint64_t)*reg(s, RDH(q)) * rx_desc_len(s);
}

static void rx_advance(E1000EState *s, unsigned q)
{
    *reg(s, RDH(q)) = (*reg(s, RDH(q)) + 1) % rx_ring_size(s, q);
}

/* Legacy or extended descriptors: @total bytes in RCTL.BSIZE buffers. */
static void rx_write_plain(E1000EState *s, const uint8_t *buf, size_t total,
                           uint32_t bufsize, const RxMeta *m)
{
    bool ext = use_extended(s);
    size_t done = 0;

    while (done < total) {
        uint64_t daddr = rx_desc_addr(s, m->q);
        uint8_t desc[16];
        uint32_t chunk = MIN(bufsize, total - done);
        bool last = done + chunk == total;

        if (pci_dma_read(&s->parent, daddr, desc, sizeof(desc)) != MEMTX_OK) {
            break;                      /* master abort: the ring stops */
        }
        pci_dma_write(&s->parent, ldq_le_p(desc), buf + done, chunk);
        if (ext) {
            ext_writeback(s, desc, m, last, chunk);
            pci_dma_write(&s->parent, daddr, desc, 16);
        } else {
            stw_le_p(desc + 8, chunk);
            stw_le_p(desc + 10, m->psum);
            desc[12] = RXD_STAT_DD | (last ? RXD_STAT_EOP | m->status : 0);
            desc[13] = last ? m->errors : 0;
            stw_le_p(desc + 14, m->special);
            pci_dma_write(&s->parent, daddr + 8, desc + 8, 8);
        }
        done += chunk;
        rx_advance(s, m->q);
    }
}

/* PSRCTL: the sizes of a packet split descriptor's four buffers. */
static void ps_buf_sizes(E1000EState *s, uint32_t sz[PS_BUFFERS])
{
    uint32_t v = *reg(s, PSRCTL);

    sz[0] = (v & PSRCTL_BSIZE0_MASK) * 128;
    for (unsigned i = 1; i < PS_BUFFERS; i++) {
        sz[i] = ((v >> (8 * i)) & PSRCTL_BSIZE_MASK) * 1024;
    }
}

static bool ipv6_ext_header(uint8_t nh)
{
    switch (nh) {
    case 0: case 43: case 44: case 50: case 51: case 60: case 135:
    case 139: case 140: case 253: case 254:
        return true;
    }
    return false;
}

/*
 * The header that goes alone into buffer 0 (7.1.5.3): the Ethernet, IP
 * and TCP (with options) or UDP headers; of other IP frames, and of IPv4
 * fragments unless RFCTL.IPFRSP_DIS, the headers up to the IP payload.
 * 0: no split (not IP, IPv6 with extension headers or with RFCTL.IPV6_DIS,
 * a header larger than buffer 0).
 */
static size_t ps_header_len(E1000EState *s, const uint8_t *p, size_t size,
                            uint32_t bsize0)
{
    uint32_t rfctl = *reg(s, RFCTL);
    size_t hdr;
    RxInfo ri;

    rx_parse(p, size, s->mac_reg, &ri);
    if (ri.v4) {
        unsigned ihl = (p[ri.l3] & 0xf) * 4;
        bool frag = eth_ldw(p + ri.l3 + 6) & 0x3fff;
        if (frag && (rfctl & RFCTL_IPFRSP_DIS)) {
            return 0;
        }
        hdr = ri.l3 + ihl;
    } else if (ri.v6) {
        if ((rfctl & RFCTL_IPV6_DIS) || ipv6_ext_header(p[ri.l3 + 6])) {
            return 0;
        }
        hdr = ri.l3 + 40;
    } else {
        return 0;
    }
    if (ri.tcp) {
        unsigned doff = (p[ri.l4 + 12] >> 4) * 4;
        if (doff >= 20 && ri.l4 + doff <= size) {
            hdr = ri.l4 + doff;
        }
    } else if (ri.udp) {
        hdr = ri.l4 + 8;
    }
    return hdr <= bsize0 && hdr <= size ? hdr : 0;
}

/* Descriptors a packet split frame of @total bytes takes (0: none can
 * hold it: every PSRCTL size is 0). */
static uint32_t ps_descs_needed(const uint32_t sz[PS_BUFFERS], size_t hdr,
                                size_t total)
{
    size_t cap = sz[0] + sz[1] + sz[2] + sz[3];
    size_t first = hdr ? hdr + sz[1] + sz[2] + sz[3] : cap;

    if (!cap || !first) {
        return 0;
    }
    if (total <= first) {
        return 1;
    }
    return 1 + (total - first + cap - 1) / cap;
}

/*
 * Packet split descriptors (7.1.4.2 read format: four buffer addresses;
 * 7.1.5.3 write-back: the extended fields with buffer 0's length, then
 * the header status (HDR_LEN, HS) and the lengths of buffers 1-3).  The
 * header (@hdr bytes, 0: not split) fills the first descriptor's buffer 0
 * alone; the rest fills buffers 1-3, then the next descriptors' 0-3.
 */
static void rx_write_split(E1000EState *s, const uint8_t *buf, size_t total,
                           const uint32_t sz[PS_BUFFERS], size_t hdr,
                           const RxMeta *m)
{
    size_t done = 0;
    bool first = true;

    while (done < total) {
        uint64_t daddr = rx_desc_addr(s, m->q);
        uint8_t desc[PS_DESC_LEN];
        uint16_t len[PS_BUFFERS] = { 0 };

        if (pci_dma_read(&s->parent, daddr, desc, sizeof(desc)) != MEMTX_OK) {
            break;                      /* master abort: the ring stops */
        }
        for (unsigned b = 0; b < PS_BUFFERS && done < total; b++) {
            size_t room = (first && hdr && b == 0) ? hdr : sz[b];
            size_t chunk = MIN(room, total - done);
            if (!chunk) {
                continue;
            }
            pci_dma_write(&s->parent, ldq_le_p(desc + 8 * b), buf + done,
                          chunk);
            len[b] = chunk;
            done += chunk;
        }
        memset(desc, 0, sizeof(desc));
        ext_writeback(s, desc, m, done == total, len[0]);
        stw_le_p(desc + 16, first && hdr ? hdr | PS_HDRSTAT_HS : 0);
        for (unsigned b = 1; b < PS_BUFFERS; b++) {
            stw_le_p(desc + 16 + 2 * b, len[b]);
        }
        pci_dma_write(&s->parent, daddr, desc, sizeof(desc));
        first = false;
        rx_advance(s, m->q);
    }
}

static ssize_t e1000e_receive_iov(NetClientState *nc, const struct iovec *iov,
                                  int iovcnt)
{
    E1000EState *s = qemu_get_nic_opaque(nc);
    size_t size = net_iov_size(iov, iovcnt);
    size_t orig = size, total, hdr = 0;
    uint8_t *buf = s->rx_buf;
    uint32_t rctl = *reg(s, RCTL);
    uint32_t bufsize = e1000x_rx_buf_size(rctl);
    uint32_t ring, needed, thresh, causes, ps_sz[PS_BUFFERS];
    bool split = use_packet_split(s);
    RxMeta m = { 0 };

    if (!link_is_up(s)) {
        return orig;
    }
    if (!rx_enabled(s)) {
        return 0;
    }
    if (size > RX_BUF_SIZE - 4) {
        e1000x_stat_inc(s->mac_reg, E1000_ROC);
        return orig;
    }
    net_iov_to_buf(iov, iovcnt, 0, buf, size);
    if (size < MIN_FRAME) {
        memset(buf + size, 0, MIN_FRAME - size);
        size = MIN_FRAME;
    }
    if (size > E1000_MAX_FRAME_STD &&
        !(rctl & (E1000_RCTL_LPE | E1000_RCTL_SBP))) {
        e1000x_stat_inc(s->mac_reg, E1000_ROC);
        return orig;
    }
    if (!e1000x_rx_filter(s->mac_reg, buf)) {
        return orig;
    }
    rx_parse(buf, size, s->mac_reg, &m.ri);
    m.q = rss_select(s, buf, &m.ri, &m.hash, &m.rss_type);
    ring = rx_ring_size(s, m.q);
    if (rx_free_descs(s, m.q) == 0) {
        return 0;                       /* held until RDT moves */
    }
    rx_checksum(s, buf, size, &m.ri, &m.status, &m.errors);
    {
        uint32_t pcss = *reg(s, RXCSUM) & RXCSUM_PCSS_MASK;
        if (pcss < size) {
            uint32_t sum = eth_csum_add(0, buf + pcss, size - pcss);
            while (sum >> 16) {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            m.psum = sum;
        }
    }
    if ((*reg(s, CTRL) & CTRL_VME) && e1000x_is_vlan_frame(s->mac_reg, buf)) {
        m.special = eth_ldw(buf + 14);
        memmove(buf + 12, buf + 16, size - 16);
        size -= 4;
        m.status |= RXD_STAT_VP;
    }
    total = size;
    if (!(rctl & E1000_RCTL_SECRC)) {
        stl_le_p(buf + size, eth_crc32(buf, size));
        total += 4;
    }
    if (split) {
        ps_buf_sizes(s, ps_sz);
        hdr = ps_header_len(s, buf, size, ps_sz[0]);
        needed = ps_descs_needed(ps_sz, hdr, total);
    } else {
        needed = (total + bufsize - 1) / bufsize;
    }
    if (!needed || rx_free_descs(s, m.q) < needed) {
        rx_overrun(s, m.q);
        return orig;
    }
    if (split) {
        rx_write_split(s, buf, total, ps_sz, hdr, &m);
    } else {
        rx_write_plain(s, buf, total, bufsize, &m);
    }
    e1000x_rx_stats(s->mac_reg, buf, size, total);
    thresh = ring >> (1 + ((rctl >> E1000_RCTL_RDMTS_SHIFT) & 3));
    causes = ICR_RXT0;
    if (rx_free_descs(s, m.q) <= thresh) {
        causes |= ICR_RXDMT0;
    }
    /* RSRPD (12 bits): frames shorter than it raise SRPD (not delayed) */
    if (total < (*reg(s, RSRPD) & 0xfff)) {
        causes |= ICR_SRPD;
    }
    rx_raise_delayed(s, m.q, causes);
    return orig;
}

/* ---- transmit (7.2) ----------------------------------------------------- */

static void start_xmit(E1000EState *s, unsigned q);

static void tx_restart(E1000EState *s)
{
    for (unsigned q = 0; q < NUM_QUEUES && !s->tx_waiting; q++) {
        start_xmit(s, q);
    }
}

static void tx_sent(NetClientState *nc, ssize_t len)
{
    E1000EState *s = qemu_get_nic_opaque(nc);

    if (!s->tx_waiting) {
        return;
    }
    s->tx_waiting = false;
    tx_restart(s);
}

static void tx_send(void *opaque, const struct iovec *iov, int iovcnt,
                    size_t len)
{
    E1000EState *s = opaque;

    if (qemu_sendv_packet_async(qemu_get_queue(s->nic), iov, iovcnt,
                                tx_sent) == 0) {
        s->tx_waiting = true;
    }
}

static gboolean tx_idle_run(gpointer opaque)
{
    E1000EState *s = opaque;

    s->tx_idle = 0;
    tx_restart(s);
    return G_SOURCE_REMOVE;
}

/*
 * Descriptors of queue @q from TDH to TDT.  One pass takes at most one
 * lap of the ring and TX_PASS_BYTES, then the rest runs from the main
 * loop (a TDT the head never meets costs one lap per kick).
 */
static void start_xmit(E1000EState *s, unsigned q)
{
    uint32_t n = *reg(s, TDLEN(q)) / 16;
    uint32_t causes = 0, count = 0;
    uint64_t bytes = 0;
    bool ide = true;            /* every descriptor of the pass had IDE */
    const E1000TxEnv env = {
        .pci = &s->parent, .regs = s->mac_reg, .send = tx_send, .opaque = s,
    };

    if (!(*reg(s, TCTL) & TCTL_EN) || s->tx_waiting || n == 0) {
        return;
    }
    while (*reg(s, TDH(q)) != *reg(s, TDT(q))) {
        uint64_t base = ((uint64_t)*reg(s, TDBAH(q)) << 32) |
                        *reg(s, TDBAL(q));
        uint32_t h = *reg(s, TDH(q));
        uint8_t desc[16];
        uint32_t lower;

        if (h >= n || *reg(s, TDT(q)) >= n) {
            break;
        }
        if (count >= n || bytes >= TX_PASS_BYTES) {
            if (!s->tx_idle) {
                s->tx_idle = g_idle_add(tx_idle_run, s);
            }
            break;
        }
        if (pci_dma_read(&s->parent, base + (uint64_t)h * 16, desc, 16)
            != MEMTX_OK) {
            break;
        }
        bytes += e1000x_tx_descriptor(&s->tx[q], &env, desc) + 16;
        lower = ldl_le_p(desc + 8);
        if (lower & (E1000_TXD_CMD_RS | E1000_TXD_CMD_RPS)) {
            uint8_t sta = desc[12] | E1000_TXD_STAT_DD;
            pci_dma_write(&s->parent, base + (uint64_t)h * 16 + 12, &sta, 1);
        }
        *reg(s, TDH(q)) = (h + 1) % n;
        causes |= ICR_TXDW;
        ide = ide && (lower & E1000_TXD_CMD_IDE);
        count++;
        if (s->tx_waiting) {
            break;
        }
    }
    if (count && *reg(s, TDH(q)) == *reg(s, TDT(q))) {
        causes |= ICR_TXQE;             /* the queue ran empty just now */
    }
    if (causes) {
        tx_raise_delayed(s, q, causes, ide);
    }
}

/* ---- register file ------------------------------------------------------- */

static bool in_range(uint32_t off, uint32_t base, uint32_t n)
{
    return off >= base && off < base + 4 * n;
}

/* Registers kept as plain storage (read back what was written). */
static bool is_plain(uint32_t off)
{
    switch (off) {
    case CTRL_EXT: case FLA: case FCAL: case FCAH: case FCT: case VET:
    case FCTTV: case TXCW: case RXCW: case TIPG: case AIT: case LEDCTL:
    case EXTCNF_CTRL: case EXTCNF_SIZE: case PHY_CTRL_REG: case PBA:
    case PBS: case EEMNGCTL: case FLOP: case FCRTL: case FCRTH:
    case PSRCTL: case RDTR: case RADV: case RSRPD: case RAID: case TIDV:
    case TADV: case RXCSUM: case RFCTL: case WUC: case WUFC: case WUS:
    case MRQC: case MANC: case MANC2H: case GCR: case SWSM: case FWSM:
    case IAM: case EIAC: case IVAR:
        return true;
    }
    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        if (off == RDBAL(q) || off == RDBAH(q) || off == RXDCTL(q) ||
            off == TDBAL(q) || off == TDBAH(q) || off == TXDCTL(q) ||
            off == TARC(q)) {
            return true;
        }
    }
    return in_range(off, E1000_MTA, 128) || in_range(off, E1000_RA, 32) ||
           in_range(off, E1000_VFTA, 128) || in_range(off, RETA, 32) ||
           in_range(off, RSSRK, 10) || in_range(off, EITR, MSIX_VECTORS) ||
           in_range(off, GSCL1, 12);
}

static uint32_t read_icr(E1000EState *s)
{
    uint32_t v = *reg(s, ICR);

    /* 10.2.4.1: cleared by the read when IMS is 0 or INT_ASSERTED is
     * set; with CTRL_EXT.IAME the read also masks IAM. */
    if (!*reg(s, IMS) || (v & ICR_INT_ASSERTED)) {
        if (*reg(s, CTRL_EXT) & CTRL_EXT_IAME) {
            *reg(s, IMS) &= ~*reg(s, IAM);
        }
        *reg(s, ICR) = 0;
    }
    update_legacy(s, false);
    return v;
}

static uint32_t mac_read(E1000EState *s, uint32_t off)
{
    off &= ~3u;
    if (off >= REG_SPACE) {
        return 0;
    }
    switch (off) {
    case CTRL: case STATUS: case MDIC: case RCTL: case TCTL: case IMS:
    case ITR: case EEWR:
        return *reg(s, off);
    case EECD:
        return *reg(s, EECD) | EECD_PRES | EECD_AUTO_RD;
    case EERD:
        return read_eerd(s, EERD);
    case ICR:
        return read_icr(s);
    case ICS:
        return *reg(s, ICR);            /* reads the causes, no clear */
    }
    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        if (off == RDLEN(q) || off == RDH(q) || off == RDT(q) ||
            off == TDLEN(q) || off == TDH(q) || off == TDT(q)) {
            return *reg(s, off);
        }
    }
    if (off >= E1000_STATS_FIRST && off <= E1000_STATS_LAST) {
        return e1000x_stat_read(s->mac_reg, off);
    }
    return is_plain(off) ? *reg(s, off) : 0;
}

static void e1000e_reset_regs(E1000EState *s);

static bool write_queue_reg(E1000EState *s, uint32_t off, uint32_t val)
{
    NetClientState *nc = qemu_get_queue(s->nic);

    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        if (off == RDLEN(q) || off == TDLEN(q)) {
            *reg(s, off) = val & 0xfff80;   /* 128-byte multiples */
            return true;
        }
        if (off == RDH(q) || off == TDH(q)) {
            *reg(s, off) = val & 0xffff;
            return true;
        }
        if (off == RDT(q)) {
            *reg(s, off) = val & 0xffff;
            qemu_flush_queued_packets(nc);
            return true;
        }
        if (off == TDT(q)) {
            *reg(s, off) = val & 0xffff;
            start_xmit(s, q);
            return true;
        }
    }
    return false;
}

static void mac_write(E1000EState *s, uint32_t off, uint32_t val)
{
    off &= ~3u;
    if (off >= REG_SPACE) {
        return;
    }
    switch (off) {
    case CTRL:
        if (val & CTRL_RST) {
            e1000e_reset_regs(s);
            return;
        }
        *reg(s, CTRL) = val & ~(CTRL_RST | CTRL_PHY_RST);
        return;
    case EECD:
        *reg(s, EECD) = val & 0x7f;     /* SK, CS, DI, FWE, REQ: stored */
        return;
    case EERD:
        *reg(s, EERD) = val & 0xfffd;
        return;
    case EEWR:
        write_eewr(s, val);
        return;
    case MDIC:
        write_mdic(s, val);
        return;
    case ICR:
        *reg(s, ICR) &= ~val;
        update_legacy(s, false);
        return;
    case ICS:
        write_ics(s, val);
        return;
    case IMS:
        *reg(s, IMS) |= val & 0x01ffffff;
        if (msix_enabled(&s->parent)) {
            /* Causes pending behind the mask fire now (7.4.3.1). */
            msix_causes(s, *reg(s, ICR) & val &
                        (ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 |
                         ICR_OTHER));
        } else {
            update_legacy(s, (*reg(s, ICR) & val) != 0);
        }
        return;
    case IMC:
        *reg(s, IMS) &= ~val;
        update_legacy(s, false);
        return;
    case ITR:
        *reg(s, ITR) = val & 0xffff;
        return;
    case RDTR:
    case TIDV:
        write_delay_reg(s, off, val);
        return;
    case RADV:
    case TADV:
        *reg(s, off) = val & E1000_DELAY_MASK;
        return;
    case RSRPD:
        *reg(s, RSRPD) = val & 0xfff;
        return;
    case RCTL:
        *reg(s, RCTL) = val;
        qemu_flush_queued_packets(qemu_get_queue(s->nic));
        return;
    case TCTL:
        *reg(s, TCTL) = val;
        tx_restart(s);
        return;
    case CTRL_EXT:
        *reg(s, CTRL_EXT) = val;
        return;
    }
    if (write_queue_reg(s, off, val)) {
        return;
    }
    if (off >= E1000_STATS_FIRST && off <= E1000_STATS_LAST) {
        return;
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

/* The flash BAR: QEMU backs it with nothing (reads 0, writes dropped). */
static uint64_t flash_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void flash_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
}

static const MemoryRegionOps flash_ops = {
    .read = flash_read,
    .write = flash_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* I/O BAR: IOADDR at 0 selects a register, IODATA at 4 accesses it. */
static uint64_t io_read(void *opaque, uint64_t addr, unsigned size)
{
    E1000EState *s = opaque;

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
    E1000EState *s = opaque;

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

static void e1000e_reset_regs(E1000EState *s)
{
    const uint8_t *mac = s->conf.macaddr.a;

    timer_del(s->autoneg_timer);
    for (unsigned i = 0; i < NUM_THROTTLES; i++) {
        timer_del(s->throttle[i].timer);
        s->throttle[i].next = 0;
        s->throttle[i].pending = false;
    }
    e1000x_delay_stop(&s->rx_delay);
    e1000x_delay_stop(&s->tx_delay);
    s->delayed = 0;
    if (s->tx_idle) {
        g_source_remove(s->tx_idle);
        s->tx_idle = 0;
    }
    s->tx_waiting = false;
    qemu_purge_queued_packets(qemu_get_queue(s->nic));
    memset(s->mac_reg, 0, sizeof(s->mac_reg));
    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        memset(s->tx[q].ctx, 0, sizeof(s->tx[q].ctx));
        e1000x_tx_reset_packet(&s->tx[q]);
    }
    phy_reset(s);
    *reg(s, CTRL) = CTRL_SPD_1000 | CTRL_SLU | CTRL_FD;
    *reg(s, STATUS) = STATUS_GIO_MASTER | STATUS_ASDV_1000 |
                      STATUS_SPEED_1000 | STATUS_FD | STATUS_PHYRA;
    *reg(s, PBA) = 0x00140014;
    *reg(s, PBS) = 0x00000028;
    *reg(s, LEDCTL) = 0x07068302;
    *reg(s, VET) = 0x8100;
    *reg(s, MANC) = 0x00060000;
    *reg(s, RXCSUM) = 0x00000300;   /* IPOFLD | TUOFLD */
    *reg(s, TIPG) = 0x00000008;
    *reg(s, TXDCTL(0)) = *reg(s, TXDCTL(1)) = 0x00010000;
    *reg(s, RXDCTL(0)) = *reg(s, RXDCTL(1)) = 0x00010000;
    *reg(s, TARC(0)) = *reg(s, TARC(1)) = 0x00000403;
    *reg(s, GCR) = 0x00000001;
    *reg(s, EXTCNF_SIZE) = 0x00000000;
    s->mac_reg[R(E1000_RA)] = ldl_le_p(mac);
    s->mac_reg[R(E1000_RA) + 1] = lduw_le_p(mac + 4) | RAH_AV;
    s->io_addr = 0;
    if (qemu_get_queue(s->nic)->link_down) {
        link_down(s);
    } else {
        link_up(s);
    }
    set_line(s, false);
}

static void e1000e_reset(DeviceState *dev)
{
    e1000e_reset_regs((E1000EState *)dev);
}

static const NetClientInfo e1000e_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NetClientState),
    .can_receive = e1000e_can_receive,
    .receive_iov = e1000e_receive_iov,
    .link_status_changed = link_status_changed,
};

/* PCI power management (v3, D0 only), as QEMU's e1000e at 0xc8. */
static bool add_pm_capability(PCIDevice *pd, GError **errp)
{
    uint8_t pos = pci_add_capability(pd, PCI_CAP_ID_PM, 0xc8, 8, errp);

    if (!pos) {
        return false;
    }
    pci_set_word(pd->config + pos + 2, 0x0003);      /* PMC: version 3 */
    pci_set_word(pd->wmask + pos + 4, 0x0003);       /* PMCSR power state */
    return true;
}

static bool e1000e_realize(DeviceState *dev, GError **errp)
{
    E1000EState *s = (E1000EState *)dev;
    PCIDevice *pd = &s->parent;

    if (!net_nic_conf_resolve(&s->conf, s->netdev, s->mac_str, errp)) {
        return false;
    }
    pd->config[PCI_CACHE_LINE_SIZE] = 0x10;
    pci_set_word(pd->config + PCI_SUBSYSTEM_VENDOR_ID, s->subsys_ven);
    pci_set_word(pd->config + PCI_SUBSYSTEM_ID, s->subsys);
    memory_region_init_io(&s->mmio, &mmio_ops, s, "e1000e-mmio", MMIO_SIZE);
    memory_region_init_io(&s->flash, &flash_ops, s, "e1000e-flash",
                          FLASH_SIZE);
    memory_region_init_io(&s->io, &io_ops, s, "e1000e-io", IO_SIZE);
    memory_region_init_container(&s->msix, "e1000e-msix", MSIX_SIZE);
    pci_register_bar(pd, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);
    pci_register_bar(pd, 1, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->flash);
    pci_register_bar(pd, 2, PCI_BASE_ADDRESS_SPACE_IO, &s->io);
    pci_register_bar(pd, 3, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->msix);
    if (!add_pm_capability(pd, errp) ||
        !msi_init(pd, 0xd0, 1, true, false, errp) ||
        !pcie_endpoint_cap_v1_init(pd, 0xe0, errp) ||
        !msix_init(pd, MSIX_VECTORS, &s->msix, 3, MSIX_TABLE, &s->msix, 3,
                   MSIX_PBA, 0xa0, errp) ||
        !pcie_aer_init(pd, 0x100, false, errp)) {
        return false;
    }
    s->autoneg_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, autoneg_done, s);
    for (unsigned i = 0; i < NUM_THROTTLES; i++) {
        s->throttle[i].s = s;
        s->throttle[i].idx = i;
        s->throttle[i].timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, throttle_cb,
                                            &s->throttle[i]);
    }
    e1000x_delay_init(&s->rx_delay, RDTR, RADV, delay_cb, s);
    e1000x_delay_init(&s->tx_delay, TIDV, TADV, delay_cb, s);
    s->nic = qemu_new_nic(&e1000e_net_info, &s->conf, dev->type->name,
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
    e1000e_reset_regs(s);
    return true;
}

static void e1000e_unrealize(DeviceState *dev)
{
    E1000EState *s = (E1000EState *)dev;

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
    for (unsigned i = 0; i < NUM_THROTTLES; i++) {
        timer_free(s->throttle[i].timer);
    }
    e1000x_delay_free(&s->rx_delay);
    e1000x_delay_free(&s->tx_delay);
    msix_uninit(&s->parent);
    memory_region_destroy(&s->mmio);
    memory_region_destroy(&s->flash);
    memory_region_destroy(&s->io);
    memory_region_destroy(&s->msix);
}

static int e1000e_post_load(void *opaque, int version_id)
{
    E1000EState *s = opaque;
    NetClientState *nc = qemu_get_queue(s->nic);

    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        if (!e1000x_tx_state_valid(&s->tx[q])) {
            return -1;
        }
        *reg(s, RDLEN(q)) &= 0xfff80;
        *reg(s, TDLEN(q)) &= 0xfff80;
    }
    s->tx_waiting = false;
    for (unsigned i = 0; i < NUM_THROTTLES; i++) {
        s->throttle[i].next = 0;
        s->throttle[i].pending = false;
    }
    if (nc->link_down) {
        link_down(s);
    } else if (!timer_pending(s->autoneg_timer)) {
        *reg(s, STATUS) |= STATUS_LU;
        s->phy_reg[0][PHY_STATUS] |= MII_SR_LINK_STATUS;
    }
    s->irq_level = false;
    update_legacy(s, false);
    /* Waiting causes with neither timer running (an impossible stream)
     * go now: early is allowed, lost is not. */
    s->delayed &= ICR_RXT0 | ICR_TXDW | ICR_TXQE | QUEUE_CAUSES;
    if (s->delayed && !e1000x_delay_running(&s->rx_delay) &&
        !e1000x_delay_running(&s->tx_delay)) {
        raise_causes(s, 0, 0);
    }
    return 0;
}

/* Version 2 added the delay timers and the causes waiting for them. */
#define VMSTATE_TIMER_PTR_V(f, st, v) \
    VMSTATE_FIELD_(#f, st, f, VMS_TIMER, sizeof(void *), 0, v)

#define CTX_FIELDS(q, i) \
    VMSTATE_UINT8(tx[q].ctx[i].ipcss, E1000EState), \
    VMSTATE_UINT8(tx[q].ctx[i].ipcso, E1000EState), \
    VMSTATE_UINT16(tx[q].ctx[i].ipcse, E1000EState), \
    VMSTATE_UINT8(tx[q].ctx[i].tucss, E1000EState), \
    VMSTATE_UINT8(tx[q].ctx[i].tucso, E1000EState), \
    VMSTATE_UINT16(tx[q].ctx[i].tucse, E1000EState), \
    VMSTATE_UINT8(tx[q].ctx[i].hdr_len, E1000EState), \
    VMSTATE_UINT16(tx[q].ctx[i].mss, E1000EState), \
    VMSTATE_UINT32(tx[q].ctx[i].paylen, E1000EState), \
    VMSTATE_UINT8(tx[q].ctx[i].ip, E1000EState), \
    VMSTATE_UINT8(tx[q].ctx[i].tcp, E1000EState)

#define TXQ_FIELDS(q) \
    CTX_FIELDS(q, 0), \
    CTX_FIELDS(q, 1), \
    VMSTATE_UINT8(tx[q].in_packet, E1000EState), \
    VMSTATE_UINT8(tx[q].sum_needed, E1000EState), \
    VMSTATE_UINT8(tx[q].cptse, E1000EState), \
    VMSTATE_UINT8(tx[q].legacy_ic, E1000EState), \
    VMSTATE_UINT8(tx[q].legacy_css, E1000EState), \
    VMSTATE_UINT8(tx[q].legacy_cso, E1000EState), \
    VMSTATE_UINT8(tx[q].vlan_needed, E1000EState), \
    VMSTATE_UINT16(tx[q].vlan_tci, E1000EState), \
    VMSTATE_UINT32(tx[q].size, E1000EState), \
    VMSTATE_UINT32(tx[q].tso_frames, E1000EState), \
    VMSTATE_UINT32(tx[q].tso_sent, E1000EState), \
    VMSTATE_BUFFER(tx[q].buf, E1000EState)

static const VMStateDescription vmstate_e1000e = {
    .name = "e1000e",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = e1000e_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(mac_reg, E1000EState, NREGS),
        VMSTATE_UINT16_ARRAY(phy_reg, E1000EState, PHY_PAGES * PHY_REGS),
        VMSTATE_UINT16_ARRAY(eeprom, E1000EState, EEPROM_WORDS),
        VMSTATE_UINT32(io_addr, E1000EState),
        TXQ_FIELDS(0),
        TXQ_FIELDS(1),
        VMSTATE_TIMER_PTR(autoneg_timer, E1000EState),
        VMSTATE_UINT32_V(delayed, E1000EState, 2),
        VMSTATE_TIMER_PTR_V(rx_delay.pkt, E1000EState, 2),
        VMSTATE_TIMER_PTR_V(rx_delay.abs, E1000EState, 2),
        VMSTATE_TIMER_PTR_V(tx_delay.pkt, E1000EState, 2),
        VMSTATE_TIMER_PTR_V(tx_delay.abs, E1000EState, 2),
        VMSTATE_END_OF_LIST()
    },
};

static const Property e1000e_props[] = {
    DEFINE_PROP("netdev", E1000EState, netdev, PROP_STRING, NULL,
                "ID of a netdev to use as a backend"),
    DEFINE_PROP("mac", E1000EState, mac_str, PROP_STRING, NULL,
                "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"),
    DEFINE_PROP("bootindex", E1000EState, bootindex, PROP_INT32, "-1",
                "boot priority (network boot through the option ROM)"),
    DEFINE_PROP("subsys_ven", E1000EState, subsys_ven, PROP_UINT16, "32902",
                "PCI subsystem vendor ID (default 0x8086)"),
    DEFINE_PROP("subsys", E1000EState, subsys, PROP_UINT16, "0",
                "PCI subsystem ID"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass e1000e_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = 0x10d3,
    .revision = 0,
    .class_id = PCI_CLASS_NETWORK_ETHERNET,
    .is_express = true,
    .interrupt_pin = 1,
    .subsystem_vendor_id = PCI_VENDOR_ID_INTEL,
    .romfile = "efi-e1000e.rom",
};

static const DeviceType e1000e_type = {
    .name = TYPE_E1000E,
    .parent = TYPE_PCI_DEVICE,
    .desc = "Intel 82574L GbE Controller",
    .instance_size = sizeof(E1000EState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_NETWORK,
    .props = e1000e_props,
    .realize = e1000e_realize,
    .unrealize = e1000e_unrealize,
    .reset = e1000e_reset,
    .vmsd = &vmstate_e1000e,
    .class_data = &e1000e_class,
};

static void e1000e_register(void)
{
    device_type_register(&e1000e_type);
}
type_init(e1000e_register)
