/*
 * ICH9 AHCI: a Serial ATA host bus adapter (hw/ide/ahci.c).
 *
 * Spec: Serial ATA AHCI 1.3.1 (register and bit names below are its own:
 * 3.1 generic host control, 3.3 port registers, 4.2 system memory
 * structures: command list, command table, PRDT, received FIS area),
 * Serial ATA 2.6 / 3.x chapter 10 for the FIS layouts (Register H2D
 * 27h, Register D2H 34h, PIO Setup 5Fh, Set Device Bits A1h) and 13.6
 * for native command queuing; Intel ICH9 datasheet (82801IR, 8086:2922)
 * chapter 14 for the PCI function (BAR4 index/data pair, BAR5 ABAR, MSI
 * and SATA capabilities).
 *
 * Each of the six ports is one IDEBus (hw/ide/ide-core.c) with one drive:
 * the ATA and ATAPI command logic is the PIIX3 IDE's, the HBA only moves
 * FISes, PIO blocks and DMA between the drive and guest memory.
 */
#ifndef HW_IDE_AHCI_H
#define HW_IDE_AHCI_H

#include "hw/ide/ide.h"
#include "hw/pci/pci.h"
#include "system/exit-tail.h"

#define TYPE_AHCI               "ich9-ahci"
#define TYPE_AHCI_ALIAS         "ahci"      /* QEMU's short name */

#define PCI_DEVICE_ID_INTEL_82801IR 0x2922  /* ICH9 6-port SATA, AHCI */

#define AHCI_NUM_PORTS          6
#define AHCI_NUM_SLOTS          32
#define AHCI_ABAR_SIZE          0x1000      /* BAR5, as QEMU sizes it */
#define AHCI_IDP_SIZE           0x20        /* BAR4, I/O */
#define AHCI_IDP_INDEX          0x10        /* index/data pair in BAR4 */
#define AHCI_IDP_DATA           0x14

/* Generic host control (AHCI 1.3.1 3.1) */
#define AHCI_CAP                0x00
#define AHCI_GHC                0x04
#define AHCI_IS                 0x08
#define AHCI_PI                 0x0c
#define AHCI_VS                 0x10
#define AHCI_CCC_CTL            0x14
#define AHCI_CCC_PORTS          0x18
#define AHCI_EM_LOC             0x1c
#define AHCI_EM_CTL             0x20
#define AHCI_CAP2               0x24
#define AHCI_BOHC               0x28

#define AHCI_CAP_NP_SHIFT       0           /* ports - 1 */
#define AHCI_CAP_NCS_SHIFT      8           /* command slots - 1 */
#define AHCI_CAP_ISS_SHIFT      20          /* interface speed */
#define AHCI_CAP_SAM            (1u << 18)  /* AHCI mode only */
#define AHCI_CAP_SCLO           (1u << 24)  /* command list override */
#define AHCI_CAP_SSNTF          (1u << 29)  /* SNotification register */
#define AHCI_CAP_SNCQ           (1u << 30)  /* native command queuing */
#define AHCI_CAP_S64A           (1u << 31)  /* 64-bit addressing */
#define AHCI_CAP2_BOH           (1u << 0)   /* BIOS/OS handoff */

#define AHCI_GHC_HR             (1u << 0)   /* HBA reset */
#define AHCI_GHC_IE             (1u << 1)   /* interrupt enable */
#define AHCI_GHC_MRSM           (1u << 2)   /* MSI revert to single message */
#define AHCI_GHC_AE             (1u << 31)  /* AHCI enable */

#define AHCI_BOHC_BOS           (1u << 0)   /* BIOS owned semaphore */
#define AHCI_BOHC_OOS           (1u << 1)   /* OS owned semaphore */
#define AHCI_BOHC_SOOE          (1u << 2)   /* SMI on OS ownership change */
#define AHCI_BOHC_OOC           (1u << 3)   /* OS ownership change */
#define AHCI_BOHC_BB            (1u << 4)   /* BIOS busy */

#define AHCI_VERSION_1_3_1      0x00010301

/* Port registers (3.3), at 100h + port * 80h */
#define AHCI_PORT_BASE          0x100
#define AHCI_PORT_SIZE          0x80
#define AHCI_PxCLB              0x00
#define AHCI_PxCLBU             0x04
#define AHCI_PxFB               0x08
#define AHCI_PxFBU              0x0c
#define AHCI_PxIS               0x10
#define AHCI_PxIE               0x14
#define AHCI_PxCMD              0x18
#define AHCI_PxTFD              0x20
#define AHCI_PxSIG              0x24
#define AHCI_PxSSTS             0x28
#define AHCI_PxSCTL             0x2c
#define AHCI_PxSERR             0x30
#define AHCI_PxSACT             0x34
#define AHCI_PxCI               0x38
#define AHCI_PxSNTF             0x3c
#define AHCI_PxFBS              0x40

/* PxIS / PxIE (3.3.5, 3.3.6) */
#define AHCI_PxIS_DHRS          (1u << 0)   /* D2H Register FIS */
#define AHCI_PxIS_PSS           (1u << 1)   /* PIO Setup FIS */
#define AHCI_PxIS_DSS           (1u << 2)   /* DMA Setup FIS */
#define AHCI_PxIS_SDBS          (1u << 3)   /* Set Device Bits FIS */
#define AHCI_PxIS_UFS           (1u << 4)   /* unknown FIS */
#define AHCI_PxIS_DPS           (1u << 5)   /* descriptor processed */
#define AHCI_PxIS_PCS           (1u << 6)   /* port connect change */
#define AHCI_PxIS_DMPS          (1u << 7)
#define AHCI_PxIS_PRCS          (1u << 22)  /* PhyRdy change */
#define AHCI_PxIS_IPMS          (1u << 23)
#define AHCI_PxIS_OFS           (1u << 24)  /* overflow */
#define AHCI_PxIS_INFS          (1u << 26)  /* interface non-fatal */
#define AHCI_PxIS_IFS           (1u << 27)  /* interface fatal */
#define AHCI_PxIS_HBDS          (1u << 28)  /* host bus data error */
#define AHCI_PxIS_HBFS          (1u << 29)  /* host bus fatal error */
#define AHCI_PxIS_TFES          (1u << 30)  /* task file error */
#define AHCI_PxIS_CPDS          (1u << 31)
#define AHCI_PxIE_MASK          0xfdc000ffu

/* PxCMD (3.3.7) */
#define AHCI_PxCMD_ST           (1u << 0)   /* start */
#define AHCI_PxCMD_SUD          (1u << 1)   /* spin-up device */
#define AHCI_PxCMD_POD          (1u << 2)   /* power on device */
#define AHCI_PxCMD_CLO          (1u << 3)   /* command list override */
#define AHCI_PxCMD_FRE          (1u << 4)   /* FIS receive enable */
#define AHCI_PxCMD_CCS_SHIFT    8           /* current command slot */
#define AHCI_PxCMD_CCS_MASK     (0x1fu << 8)
#define AHCI_PxCMD_FR           (1u << 14)  /* FIS receive running */
#define AHCI_PxCMD_CR           (1u << 15)  /* command list running */
#define AHCI_PxCMD_ATAPI        (1u << 24)
#define AHCI_PxCMD_DLAE         (1u << 25)
#define AHCI_PxCMD_ALPE         (1u << 26)
#define AHCI_PxCMD_ASP          (1u << 27)
#define AHCI_PxCMD_ICC_MASK     (0xfu << 28)

#define AHCI_PxSCTL_DET_MASK    0xfu
#define AHCI_PxSCTL_DET_COMRESET 1
#define AHCI_PxSCTL_DET_OFFLINE 4
#define AHCI_PxSSTS_DEV_UP      0x113       /* DET 3, Gen1, IPM active */

/* Command header (4.2.2), 32 bytes; DW0 bits */
#define AHCI_CMDHDR_CFL_MASK    0x1fu       /* command FIS length, dwords */
#define AHCI_CMDHDR_A           (1u << 5)   /* ATAPI */
#define AHCI_CMDHDR_W           (1u << 6)   /* write */
#define AHCI_CMDHDR_P           (1u << 7)   /* prefetchable */
#define AHCI_CMDHDR_R           (1u << 8)   /* reset */
#define AHCI_CMDHDR_C           (1u << 10)  /* clear busy upon R_OK */
#define AHCI_CMDHDR_PRDTL_SHIFT 16

/* Command table (4.2.3): CFIS at 0, ACMD at 40h, PRDT at 80h */
#define AHCI_CT_ACMD            0x40
#define AHCI_CT_PRDT            0x80
#define AHCI_PRD_SIZE           16
#define AHCI_PRD_DBC_MASK       0x3fffffu   /* byte count - 1 */
#define AHCI_PRD_I              (1u << 31)

/* Received FIS area (4.2.1), 256 bytes */
#define AHCI_RFIS_DSFIS         0x00
#define AHCI_RFIS_PSFIS         0x20
#define AHCI_RFIS_RFIS          0x40
#define AHCI_RFIS_SDBFIS        0x58
#define AHCI_RFIS_SIZE          0x100

/* FIS types (SATA 10.3) */
#define FIS_REG_H2D             0x27
#define FIS_REG_D2H             0x34
#define FIS_PIO_SETUP           0x5f
#define FIS_SET_DEVICE_BITS     0xa1

typedef struct AHCIState AHCIState;
typedef struct AHCIPort AHCIPort;
typedef struct BH BH;

/* A walk over one command's PRD table (4.2.3.3): where the next byte
 * goes, and how many moved (PRDBC). */
typedef struct AHCIPRDWalk {
    uint64_t ctba;              /* the command table */
    uint32_t prdtl;
    uint32_t index;             /* next PRD to load */
    uint64_t addr;              /* next byte of the current PRD */
    uint32_t left;              /* bytes left in it */
    bool irq;                   /* its I bit */
    uint32_t prdbc;             /* bytes moved */
} AHCIPRDWalk;

/* Pieces of guest RAM one request may cover (more: the transfer is
 * split into several requests). */
#define AHCI_MAP_PIECES     32

/* A stretch of a PRD walk mapped to host memory (ahci_prd_map). */
typedef struct AHCIPRDMap {
    struct iovec iov[AHCI_MAP_PIECES];
    uint64_t gpa[AHCI_MAP_PIECES];  /* where each piece is in the guest */
    int pieces;
    bool dps;                   /* it used up a PRD with its I bit */
} AHCIPRDMap;

/*
 * One queued command (READ/WRITE FPDMA QUEUED) the drive holds, by tag
 * (hw/ide/ahci-ncq.c).  Each has its own transfer: position, PRD walk,
 * mapping or bounce buffer and block request, so the 32 tags of a port are in flight
 * together.  None of it is state: vm_stop drains the requests, and a
 * completion carries its tag on to the next chunk (which the drain waits
 * for too) or to its end; a tag an I/O error held (werror/rerror=stop) is
 * saved as its tag and slot and runs again from its command on resume.
 */
typedef struct AHCINCQTag {
    AHCIPort *port;
    uint8_t tag, slot;
    bool write;
    bool orphaned;              /* dropped (stop, reset, another tag's
                                 * error) while its request is out */
    bool held;                  /* an I/O error holds it until resume */
    bool reload;                /* held on the VM a state came from: fetch
                                 * the command again from its slot */
    bool staged;                /* write: buf holds the chunk */
    bool flush_next;            /* write cache off: a flush follows */
    bool mapped;                /* the request out is on map, straight
                                 * into guest RAM (no bounce) */
    uint64_t hdr_addr;          /* its command header (PRDBC) */
    uint64_t lba;               /* first sector */
    uint32_t count;             /* sectors */
    uint32_t done;              /* sectors moved */
    uint32_t chunk;             /* sectors of the request out */
    AHCIPRDWalk walk;
    AHCIPRDWalk walk_before;    /* walk before a mapped chunk (a held
                                 * chunk maps again from there) */
    AHCIPRDMap map;
    uint8_t *buf;               /* IDE_BUF_SIZE, allocated at first use */
    struct iovec iov;
    BlkAioVec req;
} AHCINCQTag;

struct AHCIPort {
    AHCIState *hba;
    int index;
    /* AHCI 1.3.1 3.3 */
    uint32_t clb, clbu, fb, fbu, is, ie, cmd, tfd, sig, sctl, serr;
    uint32_t sact, ci, sntf;
    bool sig_pending;           /* the reset D2H FIS waits for FRE */
    bool stopped;               /* an error stopped the list until ST=0 */

    /*
     * The non-queued command being run.  It may wait for its drive (a
     * request in flight, or held by an I/O error): the drive's completion
     * carries it on (ahci_drive_ready).  None of this is state: vm_stop
     * drains the drive's request, which ends the command, before a state
     * is saved; a command an I/O error held keeps its PxCI bit and runs
     * again from its command FIS on a VM that loaded the state.
     */
    bool in_cmd;                /* its PRD walk may move data */
    int cur_slot;               /* -1: none */
    uint8_t cur_kind;           /* AHCICmdKind */
    bool cur_dropped;           /* ST cleared or a reset meanwhile */
    uint64_t cur_hdr;           /* its command header (PRDBC) */
    uint32_t pio_blocks;        /* PIO blocks it moved */
    bool sig_after_busy;        /* a reset's signature waits for the drive */
    AHCIPRDWalk walk;
    uint32_t events;            /* PxIS bits the command raised */

    /* NCQ (hw/ide/ahci-ncq.c) */
    AHCINCQTag ncq[AHCI_NUM_SLOTS];
    uint32_t ncq_used;          /* tags the drive holds (not yet done) */
    uint32_t ncq_busy;          /* tags with a request out */
    uint32_t ncq_orphans;       /* dropped tags whose request is out */
    uint32_t sdb_done;          /* tags done, for the next SDB FIS */
    BH *sdb_bh;                 /* posts it: what completes together */
    ExitTail sdb_tail;          /* ... or on the tail of the vCPU's exit */

    IDEBus bus;                 /* the drive, unit 0 */
};

struct AHCIState {
    PCIDevice parent;
    uint32_t ghc, is, bohc;
    uint32_t idp_index;
    AHCIPort port[AHCI_NUM_PORTS];
    MemoryRegion abar, idp;
    /* Filled before a save, read after a load (state version 2): per
     * port the tags an I/O error holds and their slots, and the finished
     * tags whose SDB FIS has not gone out yet. */
    uint32_t saved_ncq_held[AHCI_NUM_PORTS];
    uint32_t saved_sdb_done[AHCI_NUM_PORTS];
    uint8_t saved_ncq_slot[AHCI_NUM_PORTS * AHCI_NUM_SLOTS];
};

/* ---- between hw/ide/ahci.c and hw/ide/ahci-ncq.c ------------------- */

IDEState *ahci_drive(AHCIPort *p);
void ahci_update_tfd(AHCIPort *p, uint8_t status, uint8_t error);
/* The Set Device Bits FIS for sdb_done, with @status and @error. */
void ahci_post_sdb(AHCIPort *p, uint8_t status, uint8_t error);
void ahci_prd_walk_start(AHCIPRDWalk *w, uint64_t ctba, uint32_t prdtl);
/* Move @len bytes between @buf and the walk's next bytes of guest
 * memory (pci_dma_read/write); PxIS bits go to p->events (DPS, OFS). */
IDEDMAResult ahci_prd_rw(AHCIPort *p, AHCIPRDWalk *w, uint8_t *buf,
                         uint32_t len, bool to_memory);
/*
 * Map up to @len of the walk's next bytes of guest memory into @m for a
 * request straight into guest RAM (for a read of the disk when
 * @to_memory), advancing @w as ahci_prd_rw would but raising nothing.
 * It stops before what only ahci_prd_rw may do, so that goes through it
 * with today's outcome: bus mastering off, a PRD it cannot read or the
 * table's end, a buffer that is not RAM (or is ROM, @to_memory), more
 * than AHCI_MAP_PIECES pieces.  Returns the bytes mapped.
 */
uint32_t ahci_prd_map(AHCIPort *p, AHCIPRDWalk *w, uint32_t len,
                      bool to_memory, AHCIPRDMap *m);
/* Run what PxCI holds; raise the PxIS bits that led to. */
void ahci_port_process(AHCIPort *p);
void ahci_port_flush_events(AHCIPort *p);
/* The port's drive, or a dropped tag, still has a request out. */
bool ahci_port_busy(AHCIPort *p);
/* The last request of a dropped command or tag came back. */
void ahci_port_idle(AHCIPort *p);

/* hw/ide/ahci-ncq.c */
void ahci_ncq_init(AHCIPort *p);
void ahci_ncq_cleanup(AHCIPort *p);
/* A Register H2D FIS with READ/WRITE FPDMA QUEUED, from @slot. */
void ahci_ncq_issue(AHCIPort *p, unsigned slot, uint64_t hdr_addr,
                    uint64_t ctba, uint32_t prdtl, const uint8_t *fis);
/* ST cleared, a reset, an error: the drive forgets its queue. */
void ahci_ncq_drop_all(AHCIPort *p);
void ahci_ncq_retry_held(AHCIPort *p);
void ahci_ncq_pre_save(AHCIPort *p, uint32_t *held, uint8_t *slots);
void ahci_ncq_post_load(AHCIPort *p, uint32_t held, const uint8_t *slots);

#endif
