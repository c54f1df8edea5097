/*
 * What Intel's e1000 family has in common, shared by hw/net/e1000.c
 * (8254x) and hw/net/e1000e.c (82574L): the register offsets both
 * datasheets give the same (8254x SDM 13.4, 82574 datasheet 10.2), the
 * receive filters (RA exact, MTA hash, VFTA, broadcast, promiscuous), the
 * statistics counters, the EEPROM checksum rule, and the transmit engine
 * for legacy, context and data descriptors with checksum offload and TCP
 * segmentation done in software (8254x SDM 3.3, 82574 7.2).
 *
 * The register file of either device is an array of 32-bit words indexed
 * by offset / 4 (E1000_R()); the helpers take that array.
 */
#ifndef HW_NET_E1000_COMMON_H
#define HW_NET_E1000_COMMON_H
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "net/net.h"
#include "net/eth.h"
#include "system/timer.h"

#define E1000_R(off)    ((off) >> 2)

/* ---- registers both families place alike ----------------------------- */

#define E1000_CTRL      0x00000
#define E1000_STATUS    0x00008
#define E1000_EECD      0x00010
#define E1000_EERD      0x00014
#define E1000_CTRL_EXT  0x00018
#define E1000_MDIC      0x00020
#define E1000_VET       0x00038
#define E1000_ICR       0x000c0
#define E1000_ITR       0x000c4
#define E1000_ICS       0x000c8
#define E1000_IMS       0x000d0
#define E1000_IMC       0x000d8
#define E1000_RCTL      0x00100
#define E1000_TCTL      0x00400
#define E1000_STATS_FIRST 0x04000
#define E1000_STATS_LAST  0x040fc
#define E1000_MTA       0x05200         /* 128 entries */
#define E1000_RA        0x05400         /* 16 RAL/RAH pairs */
#define E1000_VFTA      0x05600         /* 128 entries */

/* statistics (8254x 13.7, 82574 10.2.7), read to clear */
#define E1000_MPC       0x04010
#define E1000_PRC64     0x0405c
#define E1000_GPRC      0x04074
#define E1000_BPRC      0x04078
#define E1000_MPRC      0x0407c
#define E1000_GPTC      0x04080
#define E1000_GORCL     0x04088
#define E1000_GORCH     0x0408c
#define E1000_GOTCL     0x04090
#define E1000_GOTCH     0x04094
#define E1000_RNBC      0x040a0
#define E1000_RUC       0x040a4
#define E1000_ROC       0x040ac
#define E1000_TORL      0x040c0
#define E1000_TORH      0x040c4
#define E1000_TOTL      0x040c8
#define E1000_TOTH      0x040cc
#define E1000_TPR       0x040d0
#define E1000_TPT       0x040d4
#define E1000_PTC64     0x040d8
#define E1000_MPTC      0x040f0
#define E1000_BPTC      0x040f4
#define E1000_TSCTC     0x040f8

/* CTRL */
#define E1000_CTRL_VME  0x40000000
/* RCTL */
#define E1000_RCTL_EN   0x00000002
#define E1000_RCTL_SBP  0x00000004
#define E1000_RCTL_UPE  0x00000008
#define E1000_RCTL_MPE  0x00000010
#define E1000_RCTL_LPE  0x00000020
#define E1000_RCTL_RDMTS_SHIFT 8
#define E1000_RCTL_MO_SHIFT 12
#define E1000_RCTL_BAM  0x00008000
#define E1000_RCTL_BSIZE_SHIFT 16
#define E1000_RCTL_VFE  0x00040000
#define E1000_RCTL_BSEX 0x02000000
#define E1000_RCTL_SECRC 0x04000000
/* RAH */
#define E1000_RAH_AV    0x80000000

/* transmit descriptors (8254x 3.3, 82574 7.2.10) */
#define E1000_TXD_CMD_EOP  0x01000000
#define E1000_TXD_CMD_IFCS 0x02000000
#define E1000_TXD_CMD_IC   0x04000000   /* legacy: insert checksum */
#define E1000_TXD_CMD_TSE  0x04000000   /* extended: TCP segmentation */
#define E1000_TXD_CMD_RS   0x08000000
#define E1000_TXD_CMD_RPS  0x10000000
#define E1000_TXD_CMD_DEXT 0x20000000
#define E1000_TXD_CMD_VLE  0x40000000
#define E1000_TXD_CMD_IDE  0x80000000
#define E1000_TXD_DTYP_MASK 0x00f00000
#define E1000_TXD_DTYP_C   0x00000000
#define E1000_TXD_DTYP_D   0x00100000
#define E1000_TXD_CMD_TCP  0x01000000   /* context TUCMD */
#define E1000_TXD_CMD_IP   0x02000000
#define E1000_TXD_STAT_DD  0x00000001
#define E1000_TXD_POPTS_IXSM 0x01
#define E1000_TXD_POPTS_TXSM 0x02

#define E1000_TX_BUF_SIZE  0x10000
#define E1000_MAX_FRAME_STD 1522        /* with a VLAN tag, no FCS */
#define E1000_EEPROM_SUM   0xBABA

/* ---- EEPROM ------------------------------------------------------------ */

/* Set word @cksum_word so words 0..@cksum_word sum to 0xBABA. */
void e1000x_eeprom_checksum(uint16_t *w, unsigned cksum_word);

/* ---- receive ------------------------------------------------------------ */

/* RCTL.BSIZE/BSEX: the size of every receive buffer. */
uint32_t e1000x_rx_buf_size(uint32_t rctl);
/* The frame's ethertype is VET (an 802.1Q tag follows the addresses). */
bool e1000x_is_vlan_frame(const uint32_t *regs, const uint8_t *p);
/* Accept or drop by the VLAN, unicast, multicast and broadcast filters. */
bool e1000x_rx_filter(const uint32_t *regs, const uint8_t *p);

/* ---- statistics ---------------------------------------------------------- */

void e1000x_stat_inc(uint32_t *regs, uint32_t off);
void e1000x_stat_add64(uint32_t *regs, uint32_t lo, uint64_t n);
/* A received frame: @total bytes written (with the FCS if kept), @size
 * the frame without FCS; @buf its first bytes (for the multicast kind). */
void e1000x_rx_stats(uint32_t *regs, const uint8_t *buf, size_t size,
                     size_t total);
/* A missed frame: no descriptors (MPC, RNBC). */
void e1000x_rx_missed(uint32_t *regs);
/* Read statistics register @off (read to clear; a 64-bit counter
 * clears on reading its high half). */
uint32_t e1000x_stat_read(uint32_t *regs, uint32_t off);

/* ---- interrupt delay timers (8254x SDM 3.2.7/3.4, 82574 7.4.4) ----------- */

/*
 * One pair of delay timers on the virtual clock, in 1.024 us units: the
 * packet timer (RDTR or TIDV, restarted by every event) and the absolute
 * timer (RADV or TADV, started by the first event of a burst and left
 * running by the others).  Either one ending calls the pair's callback;
 * which causes wait, and what firing means, is the device's business.
 */
#define E1000_DELAY_UNIT_NS 1024
#define E1000_DELAY_FPD     0x80000000u /* RDTR/TIDV: flush partial delay */
#define E1000_DELAY_MASK    0xffff

typedef struct E1000DelayPair {
    QEMUTimer *pkt;             /* RDTR / TIDV */
    QEMUTimer *abs;             /* RADV / TADV */
    uint32_t pkt_off, abs_off;  /* their register offsets */
} E1000DelayPair;

void e1000x_delay_init(E1000DelayPair *d, uint32_t pkt_off,
                       uint32_t abs_off, QEMUTimerCB *cb, void *opaque);
void e1000x_delay_free(E1000DelayPair *d);
/* One event: (re)start the packet timer and, if idle, the absolute one.
 * False (nothing armed) when the packet delay is 0: "no delay". */
bool e1000x_delay_arm(E1000DelayPair *d, const uint32_t *regs);
void e1000x_delay_stop(E1000DelayPair *d);
/* Either timer is counting. */
bool e1000x_delay_running(const E1000DelayPair *d);

/* ---- transmit ------------------------------------------------------------ */

/* One offload context (3.3.6): a TSO one and a plain one, as QEMU 7.2. */
typedef struct E1000TxContext {
    uint8_t ipcss, ipcso, tucss, tucso, hdr_len;
    uint16_t ipcse, tucse, mss;
    uint32_t paylen;
    uint8_t ip, tcp;            /* TUCMD.IP (v4), TUCMD.TCP */
} E1000TxContext;

/* A transmit queue's engine state: contexts and the frame being built. */
typedef struct E1000Tx {
    E1000TxContext ctx[2];      /* [0] plain, [1] TSO */
    uint8_t in_packet;          /* a frame is being gathered */
    uint8_t sum_needed;         /* POPTS of its first data descriptor */
    uint8_t cptse;              /* TSE of its first data descriptor */
    uint8_t legacy_ic;          /* legacy descriptor asked for a checksum */
    uint8_t legacy_css, legacy_cso;
    uint8_t vlan_needed;
    uint16_t vlan_tci;
    uint32_t size;              /* bytes in buf */
    uint32_t tso_frames;        /* segments sent of this TSO frame */
    uint32_t tso_sent;          /* payload bytes sent of it */
    uint8_t buf[E1000_TX_BUF_SIZE];
} E1000Tx;

/* Where a transmit engine sends: the device's side of one descriptor. */
typedef struct E1000TxEnv {
    PCIDevice *pci;             /* for DMA */
    uint32_t *regs;             /* register file (statistics, VET, CTRL) */
    /* Hand one finished frame (iovecs, @len bytes) to the backend. */
    void (*send)(void *opaque, const struct iovec *iov, int iovcnt,
                 size_t len);
    void *opaque;
} E1000TxEnv;

void e1000x_tx_reset_packet(E1000Tx *tx);
/* Process one 16-byte descriptor; returns the bytes it moved. */
uint64_t e1000x_tx_descriptor(E1000Tx *tx, const E1000TxEnv *env,
                              const uint8_t *desc);
/* After a state load: false when the saved engine state is impossible. */
bool e1000x_tx_state_valid(const E1000Tx *tx);

#endif
