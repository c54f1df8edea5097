/*
 * ICH9 AHCI controller (8086:2922, class 01.06.01): QEMU's "ahci" /
 * "ich9-ahci" device.
 *
 * Specs: Serial ATA AHCI 1.3.1 (3.1 generic host control: CAP, GHC, IS,
 * PI, VS, CCC_CTL, CAP2, BOHC; 3.3 port registers PxCLB ... PxSNTF; 4.2
 * command list, command table, PRDT and received FIS area; 5 and 6 the
 * command processing and error model), Serial ATA 2.6 chapter 10 (FIS
 * layouts) and 13.6 (NCQ), Intel ICH9 datasheet chapter 14 (PCI side).
 * Names of registers and bits follow the AHCI spec (include/hw/ide/ahci.h).
 *
 * The drive on a port is an ATA disk or ATAPI CD-ROM of hw/ide/ide-core.c
 * on an IDEBus of its own.  The HBA feeds the drive's task file from the
 * Register H2D FIS as a PATA host would, then carries the drive's PIO
 * blocks (ide_bus_pio_block) and DMA (IDEBusOps.dma_rw) through the
 * command's PRD table, and reports the outcome with the FISes a SATA
 * device would send: PIO Setup per PIO block, a D2H Register FIS at the
 * end of every non-queued command (as QEMU posts one), a Set Device Bits
 * FIS for finished queued commands.
 *
 * A command starts in the vCPU exit that issues it (the write to PxCI,
 * or PxCMD.ST with commands waiting); when its drive has to wait for the
 * disk (a request in flight, asynchronous, docs/ide.md "I/O and threads")
 * the command stays in its slot (PxCI bit set, PxTFD BSY) and the drive's
 * completion, on the main loop, carries it on (ahci_drive_ready), then the
 * rest of the list.  One command runs at a time per port, queued ones too.
 * Guest memory is only touched with pci_dma_read/pci_dma_write: a command
 * header, command table, PRD or FIS area outside RAM (or bus mastering
 * off) is a host bus fatal error (PxIS.HBFS) that stops the port's list
 * until software clears PxCMD.ST.  A PRD table too short for the data is
 * an overflow (PxIS.OFS) and the command fails (TFES); a longer one is
 * fine (PRDBC says what moved).  A command FIS that is not a Register H2D
 * FIS, or shorter than one, is an interface fatal error (PxIS.IFS).  The
 * drive's own errors (unknown command ABRT, LBA off the medium IDNF)
 * arrive with ERR in the FIS status: PxIS.TFES, and the list stops with
 * the failed slot's PxCI bit still set (PxCMD.CCS names it).
 */
#include "qemu/osdep.h"
#include "hw/ide/ahci.h"
#include "hw/pci/msi.h"
#include "hw/virtio/guest-ram.h"
#include "system/bh.h"

#define AHCI_MSI_CAP_OFFSET     0x80
#define AHCI_SATA_CAP_OFFSET    0xa8
#define PCI_CAP_ID_SATA         0x12
#define ICH9_SATA_MAP           0x90        /* address map: AHCI mode */

/* ATA commands the HBA itself looks at */
#define ATA_READ_FPDMA_QUEUED   0x60
#define ATA_WRITE_FPDMA_QUEUED  0x61

/* A command never moves more PIO blocks than this (an ATAPI READ(12) of
 * 4 GiB in 2-byte chunks would otherwise hold the vCPU for minutes). */
#define AHCI_MAX_PIO_BLOCKS     (4u << 20)

/* What kind of command a port is running (AHCIPort.cur_kind). */
typedef enum AHCICmdKind {
    AHCI_CMD_CONTROL,       /* a Register H2D FIS with C clear */
    AHCI_CMD_ATA,           /* one non-queued ATA or ATAPI command */
} AHCICmdKind;

/* What fetching a command from a slot led to. */
typedef enum AHCISlotResult {
    AHCI_SLOT_DONE,         /* over (or failed), or handed to the queue */
    AHCI_SLOT_WAITING,      /* runs, waiting for its drive */
    AHCI_SLOT_BLOCKED,      /* non-queued: waits for the queue to drain */
} AHCISlotResult;

static const uint32_t ahci_cap =
    (AHCI_NUM_PORTS - 1) << AHCI_CAP_NP_SHIFT |
    (AHCI_NUM_SLOTS - 1) << AHCI_CAP_NCS_SHIFT |
    1u << AHCI_CAP_ISS_SHIFT |              /* Gen1, as QEMU */
    AHCI_CAP_SAM | AHCI_CAP_SCLO | AHCI_CAP_SSNTF | AHCI_CAP_SNCQ |
    AHCI_CAP_S64A;

static uint64_t hi_lo(uint32_t hi, uint32_t lo)
{
    return (uint64_t)hi << 32 | lo;
}

IDEState *ahci_drive(AHCIPort *p)
{
    return &p->bus.ifs[0];
}

static bool ahci_has_drive(AHCIPort *p)
{
    return ahci_drive(p)->kind != IDE_KIND_NONE;
}

/* ---- interrupts (AHCI 1.3.1 10.7) ----------------------------------- */

static uint32_t ahci_pending_ports(AHCIState *s)
{
    uint32_t mask = 0;

    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        if (s->port[i].is & s->port[i].ie) {
            mask |= 1u << i;
        }
    }
    return mask;
}

/*
 * IS.IPS[x] is set while port x has an enabled PxIS bit (writing 1 clears
 * it only once the port's own bits are clear).  INTx follows IS and
 * GHC.IE as a level; with MSI a message goes out for each new event.
 */
static void ahci_update_irq(AHCIState *s, bool new_event)
{
    PCIDevice *pci = &s->parent;
    bool level;

    s->is |= ahci_pending_ports(s);
    level = (s->ghc & AHCI_GHC_IE) && s->is;
    if (msi_enabled(pci)) {
        pci_set_irq(pci, 0);
        if (level && new_event) {
            msi_notify(pci, 0);
        }
    } else {
        pci_set_irq(pci, level);
    }
}

static void ahci_port_raise(AHCIPort *p, uint32_t bits)
{
    bool new_event = bits & ~p->is & p->ie;

    p->is |= bits;
    ahci_update_irq(p->hba, new_event);
}

/* ---- FIS receive area -------------------------------------------------- */

static void ahci_fatal(AHCIPort *p, uint32_t bit)
{
    p->events |= bit;
    p->stopped = true;
}

/* Post a received FIS, if FIS receive is on (4.2.1). */
static void ahci_post_fis(AHCIPort *p, unsigned offset, const uint8_t *fis,
                          unsigned len)
{
    uint64_t base = hi_lo(p->fbu, p->fb);

    if (!(p->cmd & AHCI_PxCMD_FR)) {
        return;
    }
    if (pci_dma_write(&p->hba->parent, base + offset, fis, len) !=
        MEMTX_OK) {
        ahci_fatal(p, AHCI_PxIS_HBFS);
    }
}

/* The task file fields of a Register FIS (SATA 10.3.5), from the drive. */
static void ahci_fill_taskfile(uint8_t *fis, const IDEState *d)
{
    fis[2] = d->status;
    fis[3] = d->error;
    fis[4] = d->sector;
    fis[5] = d->lcyl;
    fis[6] = d->hcyl;
    fis[7] = d->select;
    fis[8] = d->hob_sector;
    fis[9] = d->hob_lcyl;
    fis[10] = d->hob_hcyl;
    fis[12] = d->nsector;
    fis[13] = d->hob_nsector;
}

void ahci_update_tfd(AHCIPort *p, uint8_t status, uint8_t error)
{
    p->tfd = (uint32_t)error << 8 | status;
}

/* Register D2H FIS: the drive's task file, into RFIS and PxTFD. */
static void ahci_post_d2h(AHCIPort *p, bool irq)
{
    IDEState *d = ahci_drive(p);
    uint8_t fis[20] = { FIS_REG_D2H, irq ? 0x40 : 0 };

    ahci_fill_taskfile(fis, d);
    ahci_update_tfd(p, d->status, d->error);
    ahci_post_fis(p, AHCI_RFIS_RFIS, fis, sizeof(fis));
    if (irq) {
        p->events |= AHCI_PxIS_DHRS;
    }
    if (d->status & IDE_STAT_ERR) {
        p->events |= AHCI_PxIS_TFES;
        p->stopped = true;
    }
}

/* The signature FIS a device sends after a reset (SATA 11.?: D2H with the
 * ATA/ATAPI signature): PxSIG and PxTFD take it at once, the FIS area when
 * FIS receive is (or gets) enabled. */
static void ahci_device_signature(AHCIPort *p)
{
    IDEState *d = ahci_drive(p);

    if (!ahci_has_drive(p)) {
        p->sig = 0xffffffff;
        p->tfd = 0x7f;
        p->sig_pending = false;
        return;
    }
    if (ahci_port_busy(p)) {
        /* the drive stays busy (PxTFD BSY) until what is out is back */
        d->status |= IDE_STAT_BSY;
    }
    p->sig = (uint32_t)d->hcyl << 24 | d->lcyl << 16 | d->sector << 8 |
             d->nsector;
    ahci_update_tfd(p, d->status, d->error);
    p->sig_pending = true;
    if (ahci_port_busy(p)) {
        /* A request the reset left in flight: the drive sends its
         * signature once it is back (PxTFD shows BSY until then). */
        p->sig_after_busy = true;
        return;
    }
    if (p->cmd & AHCI_PxCMD_FR) {
        uint8_t fis[20] = { FIS_REG_D2H };
        ahci_fill_taskfile(fis, d);
        ahci_post_fis(p, AHCI_RFIS_RFIS, fis, sizeof(fis));
        p->sig_pending = false;
    }
}

/* PIO Setup FIS (SATA 10.3.11) for one DRQ block of @len bytes. */
static void ahci_post_pio_setup(AHCIPort *p, uint8_t status, bool to_host,
                                uint32_t len)
{
    IDEState *d = ahci_drive(p);
    uint8_t fis[20] = { FIS_PIO_SETUP, 0x40 | (to_host ? 0x20 : 0) };

    ahci_fill_taskfile(fis, d);
    fis[2] = status;                    /* the status at DRQ */
    fis[15] = d->status;                /* E_Status: after the block */
    stw_le_p(fis + 16, len);
    ahci_update_tfd(p, d->status, d->error);
    ahci_post_fis(p, AHCI_RFIS_PSFIS, fis, sizeof(fis));
    p->events |= AHCI_PxIS_PSS;
}

/* Set Device Bits FIS (SATA 10.3.6): queued commands done (or failed). */
void ahci_post_sdb(AHCIPort *p, uint8_t status, uint8_t error)
{
    uint8_t fis[8] = { FIS_SET_DEVICE_BITS, 0x40, status & 0x77, error };

    stl_le_p(fis + 4, p->sdb_done);
    /* SDB updates PxTFD.STS bits 6:4 and 2:0 only (AHCI 1.3.1 5.3.8.4) */
    p->tfd = (uint32_t)error << 8 | (p->tfd & 0x88) | (status & 0x77);
    ahci_post_fis(p, AHCI_RFIS_SDBFIS, fis, sizeof(fis));
    p->sact &= ~p->sdb_done;
    p->sdb_done = 0;
    p->events |= AHCI_PxIS_SDBS;
    if (status & IDE_STAT_ERR) {
        p->events |= AHCI_PxIS_TFES;
        p->stopped = true;
    }
}

/* ---- the PRD walk (4.2.3.3) ------------------------------------------ */

void ahci_prd_walk_start(AHCIPRDWalk *w, uint64_t ctba, uint32_t prdtl)
{
    *w = (AHCIPRDWalk) { .ctba = ctba, .prdtl = prdtl };
}

typedef enum { PRD_LOADED, PRD_TABLE_END, PRD_UNREADABLE } PRDLoad;

/* Load the walk's next PRD (nothing raised). */
static PRDLoad ahci_load_prd(AHCIPort *p, AHCIPRDWalk *w)
{
    uint8_t e[AHCI_PRD_SIZE];
    uint32_t dw3;

    if (w->index >= w->prdtl) {
        return PRD_TABLE_END;
    }
    if (pci_dma_read(&p->hba->parent,
                     w->ctba + AHCI_CT_PRDT +
                     (uint64_t)w->index * AHCI_PRD_SIZE,
                     e, sizeof(e)) != MEMTX_OK) {
        return PRD_UNREADABLE;
    }
    w->index++;
    w->addr = ldq_le_p(e) & ~1ull;      /* DBA bit 0 is reserved */
    dw3 = ldl_le_p(e + 12);
    /* DBC bit 0 must be 1 (even counts); the HBA treats it so. */
    w->left = ((dw3 & AHCI_PRD_DBC_MASK) | 1) + 1;
    w->irq = dw3 & AHCI_PRD_I;
    return PRD_LOADED;
}

/* Load the next PRD: false at the table's end (OFS) or when it cannot be
 * read (HBFS, which the caller reports). */
static bool ahci_next_prd(AHCIPort *p, AHCIPRDWalk *w, bool *fault)
{
    switch (ahci_load_prd(p, w)) {
    case PRD_LOADED:
        return true;
    case PRD_TABLE_END:
        p->events |= AHCI_PxIS_OFS;     /* more data than the PRDs hold */
        return false;
    default:
        *fault = true;
        return false;
    }
}

uint32_t ahci_prd_map(AHCIPort *p, AHCIPRDWalk *w, uint32_t len,
                      bool to_memory, AHCIPRDMap *m)
{
    uint32_t mapped = 0;

    m->pieces = 0;
    m->dps = false;
    if (!pci_dma_enabled(&p->hba->parent)) {
        return 0;                       /* pci_dma_* refuse it */
    }
    while (mapped < len && m->pieces < AHCI_MAP_PIECES) {
        uint64_t n;
        void *host;

        if (!w->left && ahci_load_prd(p, w) != PRD_LOADED) {
            break;
        }
        n = MIN(len - mapped, w->left);
        /* Unlogged: the caller logs a read's pieces for migration when
         * the data has landed (guest_ram_mark_written). */
        host = guest_ram_lookup_unlogged(w->addr, &n, to_memory);
        if (!host) {
            break;                      /* MMIO, a hole, ROM */
        }
        m->iov[m->pieces] = (struct iovec) { host, n };
        m->gpa[m->pieces++] = w->addr;
        w->addr += n;
        w->left -= n;
        w->prdbc += n;
        mapped += n;
        if (!w->left && w->irq) {
            m->dps = true;
        }
    }
    return mapped;
}

IDEDMAResult ahci_prd_rw(AHCIPort *p, AHCIPRDWalk *w, uint8_t *buf,
                         uint32_t len, bool to_memory)
{
    PCIDevice *pci = &p->hba->parent;

    while (len) {
        uint32_t n;
        MemTxResult r;
        bool fault = false;

        if (!w->left && !ahci_next_prd(p, w, &fault)) {
            return fault ? IDE_DMA_ERROR : IDE_DMA_SHORT;
        }
        n = MIN(len, w->left);
        r = to_memory ? pci_dma_write(pci, w->addr, buf, n)
                      : pci_dma_read(pci, w->addr, buf, n);
        if (r != MEMTX_OK) {
            return IDE_DMA_ERROR;
        }
        w->addr += n;
        w->left -= n;
        w->prdbc += n;
        buf += n;
        len -= n;
        if (!w->left && w->irq) {
            p->events |= AHCI_PxIS_DPS;
        }
    }
    return IDE_DMA_OK;
}

static bool ahci_dma_active(void *opaque)
{
    AHCIPort *p = opaque;

    return p->in_cmd;
}

/* The non-queued command's DMA and PIO blocks: a PRD or buffer outside
 * RAM is a host bus fatal error. */
static IDEDMAResult ahci_dma_rw(void *opaque, uint8_t *buf, uint32_t len,
                                bool to_memory)
{
    AHCIPort *p = opaque;
    IDEDMAResult res;

    if (!p->in_cmd) {
        return IDE_DMA_ERROR;
    }
    res = ahci_prd_rw(p, &p->walk, buf, len, to_memory);
    if (res == IDE_DMA_ERROR) {
        ahci_fatal(p, AHCI_PxIS_HBFS);
    }
    return res;
}

static void ahci_dma_end(void *opaque, IDEDMAResult res)
{
    /* The outcome is in the drive's status and the port's events. */
}

static void ahci_bus_set_irq(void *opaque, bool level)
{
    /* A SATA drive interrupts with the I bit of its FISes instead. */
}

static void ahci_drive_ready(void *opaque, IDEState *d);

static bool ahci_bus_in_flight(void *opaque)
{
    AHCIPort *p = opaque;

    return p->ncq_busy;
}

static void ahci_bus_retry_queued(void *opaque, IDEState *d)
{
    ahci_ncq_retry_held(opaque);
}

static const IDEBusOps ahci_bus_ops = {
    .set_irq = ahci_bus_set_irq,
    .dma_active = ahci_dma_active,
    .dma_rw = ahci_dma_rw,
    .dma_end = ahci_dma_end,
    .drive_ready = ahci_drive_ready,
    .in_flight = ahci_bus_in_flight,
    .retry_queued = ahci_bus_retry_queued,
};

/* ---- commands (5.3, 5.4) ---------------------------------------------- */

/* The Register H2D FIS into the task file, as a PATA host writes it: each
 * register's "previous content" (HOB) half first. */
static void ahci_load_taskfile(IDEBus *bus, const uint8_t *fis)
{
    static const struct { uint8_t reg, cur, exp; } regs[] = {
        { 1, 3, 11 },                   /* features */
        { 2, 12, 13 },                  /* count */
        { 3, 4, 8 },                    /* LBA low */
        { 4, 5, 9 },                    /* LBA mid */
        { 5, 6, 10 },                   /* LBA high */
    };

    /* The port's only drive is unit 0 whatever the FIS says. */
    ide_ioport_write(bus, 6, fis[7] & ~IDE_SEL_DEV, 1);
    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++) {
        ide_ioport_write(bus, regs[i].reg, fis[regs[i].exp], 1);
        ide_ioport_write(bus, regs[i].reg, fis[regs[i].cur], 1);
    }
}

/*
 * Carry the drive's data phases: true when the command is over (or
 * failed), false while the drive waits for the disk (its completion
 * calls this again).
 */
static bool ahci_run_pio(AHCIPort *p)
{
    IDEBus *bus = &p->bus;
    IDEState *d = ahci_drive(p);
    uint8_t acmd[12];

    while (!ide_drive_busy(d)) {
        uint32_t len;
        uint8_t status = d->status;
        IDEPIOPhase phase = ide_bus_pio_phase(bus, &len);

        if (p->pio_blocks >= AHCI_MAX_PIO_BLOCKS) {
            ide_ioport_write(bus, 7, 0x00, 1);  /* runaway: abort it */
            return true;
        }
        p->pio_blocks++;
        switch (phase) {
        case IDE_PIO_IDLE:
            return true;
        case IDE_PIO_PACKET:
            /* The drive's PIO Setup for the packet: the HBA sends ACMD. */
            if (pci_dma_read(&p->hba->parent, p->walk.ctba + AHCI_CT_ACMD, acmd,
                             sizeof(acmd)) != MEMTX_OK) {
                ahci_fatal(p, AHCI_PxIS_HBFS);
                ide_ioport_write(bus, 7, 0x00, 1);  /* NOP: ends it */
                return true;
            }
            ide_bus_pio_packet(bus, acmd);
            break;
        case IDE_PIO_IN:
        case IDE_PIO_OUT:
            if (ide_bus_pio_block(bus) != IDE_DMA_OK) {
                return true;
            }
            ahci_post_pio_setup(p, status, phase == IDE_PIO_IN, len);
            break;
        }
    }
    return false;
}

static void ahci_exec_ata(AHCIPort *p, const uint8_t *fis)
{
    ahci_load_taskfile(&p->bus, fis);
    ide_ioport_write(&p->bus, 7, fis[2], 1);
}

/* A Register H2D FIS with C clear updates the device control register
 * (SATA 10.3.4): the software reset protocol.  The header's C bit lets
 * the HBA clear PxCI without waiting for the drive. */
static void ahci_exec_control(AHCIPort *p, unsigned slot, const uint8_t *fis)
{
    IDEState *d = ahci_drive(p);
    bool was_srst = p->bus.ctl & IDE_CTL_SRST;

    ide_ctl_write(&p->bus, fis[15]);
    if (!was_srst && (p->bus.ctl & IDE_CTL_SRST)) {
        ahci_ncq_drop_all(p);           /* the drive forgets its queue */
    }
    if (was_srst && !(p->bus.ctl & IDE_CTL_SRST)) {
        ahci_device_signature(p);       /* the drive's reset is done */
    } else {
        ahci_update_tfd(p, d->status, d->error);
    }
    p->ci &= ~(1u << slot);
}

static bool ahci_is_ncq(const uint8_t *fis)
{
    return fis[2] == ATA_READ_FPDMA_QUEUED ||
           fis[2] == ATA_WRITE_FPDMA_QUEUED;
}

/* The port's command is over: PRDBC (4.2.2 DW1) says what moved, unless
 * it was dropped (software stopped the port or reset it meanwhile). */
static void ahci_end_cmd(AHCIPort *p)
{
    uint8_t prdbc[4];

    if (!p->cur_dropped) {
        stl_le_p(prdbc, p->walk.prdbc);
        if (pci_dma_write(&p->hba->parent, p->cur_hdr + 4, prdbc, 4) !=
            MEMTX_OK) {
            ahci_fatal(p, AHCI_PxIS_HBFS);
        }
    }
    p->in_cmd = false;
    p->cur_slot = -1;
    p->cur_dropped = false;
    if (!(p->cmd & AHCI_PxCMD_ST) && !p->ncq_orphans) {
        p->cmd &= ~AHCI_PxCMD_CR;       /* the list engine has stopped */
    }
}

/* Carry the port's command on; true when it is over, false while its
 * drive waits for the disk. */
static bool ahci_cmd_progress(AHCIPort *p)
{
    IDEState *d = ahci_drive(p);
    unsigned slot = p->cur_slot;

    if (p->cur_dropped) {
        if (ide_drive_busy(d)) {
            return false;
        }
        ahci_end_cmd(p);
        return true;
    }
    switch (p->cur_kind) {
    case AHCI_CMD_ATA:
        if (!ahci_run_pio(p)) {
            /* The command FIS went out: BSY until the drive answers. */
            ahci_update_tfd(p, d->status | IDE_STAT_BSY, d->error);
            return false;
        }
        ahci_post_d2h(p, true);
        if (!p->stopped) {
            p->ci &= ~(1u << slot);
        }
        break;
    default:
        break;                          /* a control FIS is done at once */
    }
    ahci_end_cmd(p);
    return true;
}

/*
 * Fetch and start the command in @slot (5.3.2 - 5.3.5).  A queued command
 * goes to the drive's queue (ahci-ncq.c) and the list goes on; a
 * non-queued one waits while tags are outstanding, as QEMU's HBA leaves
 * it in PxCI until the drive is no longer busy (SATA 13.6.1: a host must
 * not mix them; the drive would abort the queue).
 */
static AHCISlotResult ahci_run_slot(AHCIPort *p, unsigned slot)
{
    PCIDevice *pci = &p->hba->parent;
    uint64_t hdr_addr = hi_lo(p->clbu, p->clb) + slot * 32u;
    uint8_t hdr[32], fis[20];
    uint32_t dw0, cfl;
    uint64_t ctba;

    if (pci_dma_read(pci, hdr_addr, hdr, sizeof(hdr)) != MEMTX_OK) {
        p->cmd = (p->cmd & ~AHCI_PxCMD_CCS_MASK) |
                 slot << AHCI_PxCMD_CCS_SHIFT;
        ahci_fatal(p, AHCI_PxIS_HBFS);
        return AHCI_SLOT_DONE;
    }
    dw0 = ldl_le_p(hdr);
    cfl = dw0 & AHCI_CMDHDR_CFL_MASK;
    ctba = ldq_le_p(hdr + 8) & ~0x7full;
    if (pci_dma_read(pci, ctba, fis, sizeof(fis)) != MEMTX_OK) {
        p->cmd = (p->cmd & ~AHCI_PxCMD_CCS_MASK) |
                 slot << AHCI_PxCMD_CCS_SHIFT;
        ahci_fatal(p, AHCI_PxIS_HBFS);
        return AHCI_SLOT_DONE;
    }
    if ((fis[1] & 0x80) && !ahci_is_ncq(fis) && p->ncq_used) {
        return AHCI_SLOT_BLOCKED;
    }
    p->cmd = (p->cmd & ~AHCI_PxCMD_CCS_MASK) | slot << AHCI_PxCMD_CCS_SHIFT;
    if (cfl < sizeof(fis) / 4 || fis[0] != FIS_REG_H2D) {
        /* Not a command the drive can take: it would answer R_ERR. */
        ahci_fatal(p, AHCI_PxIS_IFS);
        p->serr |= 1u << 11;            /* SERR.ERR.E: internal error */
        return AHCI_SLOT_DONE;
    }
    if ((fis[1] & 0x80) && ahci_is_ncq(fis)) {
        ahci_ncq_issue(p, slot, hdr_addr, ctba,
                       dw0 >> AHCI_CMDHDR_PRDTL_SHIFT, fis);
        return AHCI_SLOT_DONE;
    }
    ahci_prd_walk_start(&p->walk, ctba, dw0 >> AHCI_CMDHDR_PRDTL_SHIFT);
    p->in_cmd = true;
    p->cur_slot = slot;
    p->cur_hdr = hdr_addr;
    p->cur_dropped = false;
    p->pio_blocks = 0;
    if (!(fis[1] & 0x80)) {
        p->cur_kind = AHCI_CMD_CONTROL;
        ahci_exec_control(p, slot, fis);
    } else {
        p->cur_kind = AHCI_CMD_ATA;
        ahci_exec_ata(p, fis);
    }
    return ahci_cmd_progress(p) ? AHCI_SLOT_DONE : AHCI_SLOT_WAITING;
}

bool ahci_port_busy(AHCIPort *p)
{
    return ide_drive_busy(ahci_drive(p)) || p->ncq_orphans;
}

/* Whether the port may start a command: running, no error holds it, a
 * drive that is not busy, no dropped tag still out and no command of its
 * own in progress. */
static bool ahci_port_can_run(AHCIPort *p)
{
    return (p->cmd & AHCI_PxCMD_ST) && !p->stopped && ahci_has_drive(p) &&
           p->cur_slot < 0 && !ahci_port_busy(p);
}

/* Run what PxCI holds, lowest slot first, until it is empty, an error
 * stops the list, a command waits for the disk (its completion comes back
 * here) or for the queue to drain (the last tag's end comes back here).
 * Each command clears its bit or stops the list, so the loop ends.  The
 * requests of the queued commands go to the host together (plugged). */
void ahci_port_process(AHCIPort *p)
{
    BlockDriverState *plugged;

    if (!ahci_port_can_run(p)) {
        return;
    }
    plugged = blk_io_plug(ahci_drive(p)->blk);
    while (p->ci && !p->stopped) {
        if (ahci_run_slot(p, __builtin_ctz(p->ci)) != AHCI_SLOT_DONE) {
            break;
        }
    }
    blk_io_unplug(plugged);
}

/* The PxIS bits a register write led to, raised together (one MSI). */
void ahci_port_flush_events(AHCIPort *p)
{
    if (p->events) {
        uint32_t bits = p->events;
        p->events = 0;
        ahci_port_raise(p, bits);
    }
}

/* The drive's request came back (main loop): carry the command on, then
 * the rest of the list, and raise what that led to. */
static void ahci_drive_ready(void *opaque, IDEState *d)
{
    AHCIPort *p = opaque;

    if (ide_drive_busy(d)) {
        return;
    }
    if (p->ncq_orphans) {
        return;                         /* ahci_port_idle carries on */
    }
    if (p->sig_after_busy) {
        p->sig_after_busy = false;
        ahci_device_signature(p);
    }
    if (p->cur_slot < 0 || ahci_cmd_progress(p)) {
        ahci_port_process(p);
    }
    ahci_port_flush_events(p);
}

/* The last dropped tag came back (ahci-ncq.c): the list engine stops if
 * ST is clear, a reset's signature goes out, waiting commands run. */
void ahci_port_idle(AHCIPort *p)
{
    IDEState *d = ahci_drive(p);

    if (!ide_drive_busy(d) && !(p->bus.ctl & IDE_CTL_SRST)) {
        d->status &= ~IDE_STAT_BSY;     /* a reset waited for the tags */
    }
    if (!(p->cmd & AHCI_PxCMD_ST) && p->cur_slot < 0) {
        p->cmd &= ~AHCI_PxCMD_CR;
    }
    ahci_drive_ready(p, ahci_drive(p));
}

/*
 * Software stopped the port or reset it while a command runs: it moves no
 * more data (its PRD walk is closed), and ends quietly when its drive is
 * back; until then PxCMD.CR stays set, as the list engine has not stopped.
 */
static void ahci_drop_cmd(AHCIPort *p)
{
    ahci_ncq_drop_all(p);
    if (p->cur_slot >= 0) {
        p->cur_dropped = true;
        p->in_cmd = false;
        if (!ide_drive_busy(ahci_drive(p))) {
            ahci_end_cmd(p);
        }
    }
}

/* ---- resets ---------------------------------------------------------- */

/* COMRESET (SCTL.DET 1 -> 0) or an HBA reset: the drive powers up again
 * and sends its signature. */
static void ahci_port_comreset(AHCIPort *p)
{
    ahci_drop_cmd(p);
    ide_bus_reset(&p->bus);
    if (p->cur_slot >= 0 && !ide_drive_busy(ahci_drive(p))) {
        ahci_end_cmd(p);                /* the reset let a held one go */
    }
    ahci_device_signature(p);
}

static void ahci_port_reset(AHCIPort *p)
{
    p->is = p->ie = 0;
    p->cmd = AHCI_PxCMD_SUD | AHCI_PxCMD_POD;
    p->sctl = p->serr = p->sact = p->ci = p->sntf = 0;
    p->stopped = false;
    p->sdb_done = 0;
    ahci_port_comreset(p);
}

/* GHC.HR (10.4.3): everything but the pointers software set up. */
static void ahci_hba_reset(AHCIState *s)
{
    s->ghc = AHCI_GHC_AE;
    s->is = 0;
    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        ahci_port_reset(&s->port[i]);
    }
    ahci_update_irq(s, false);
}

/* ---- port registers ------------------------------------------------------ */

static uint32_t ahci_port_ssts(AHCIPort *p)
{
    uint32_t det = p->sctl & AHCI_PxSCTL_DET_MASK;

    if (!ahci_has_drive(p)) {
        return 0;
    }
    if (det == AHCI_PxSCTL_DET_COMRESET) {
        return 1;                       /* present, no communication yet */
    }
    if (det == AHCI_PxSCTL_DET_OFFLINE) {
        return 4;
    }
    return AHCI_PxSSTS_DEV_UP;
}

static uint32_t ahci_port_read(AHCIPort *p, unsigned reg)
{
    switch (reg) {
    case AHCI_PxCLB:  return p->clb;
    case AHCI_PxCLBU: return p->clbu;
    case AHCI_PxFB:   return p->fb;
    case AHCI_PxFBU:  return p->fbu;
    case AHCI_PxIS:   return p->is;
    case AHCI_PxIE:   return p->ie;
    case AHCI_PxCMD:  return p->cmd;
    case AHCI_PxTFD:  return p->tfd;
    case AHCI_PxSIG:  return p->sig;
    case AHCI_PxSSTS: return ahci_port_ssts(p);
    case AHCI_PxSCTL: return p->sctl;
    case AHCI_PxSERR: return p->serr;
    case AHCI_PxSACT: return p->sact;
    case AHCI_PxCI:   return p->ci;
    case AHCI_PxSNTF: return p->sntf;
    }
    return 0;                           /* FBS, DEVSLP, reserved, vendor */
}

/* PxCMD (3.3.7): ST, FRE and CLO start things; CR and FR follow. */
static void ahci_port_cmd_write(AHCIPort *p, uint32_t val)
{
    const uint32_t rw = AHCI_PxCMD_ST | AHCI_PxCMD_FRE | AHCI_PxCMD_ATAPI |
                        AHCI_PxCMD_DLAE | AHCI_PxCMD_ALPE | AHCI_PxCMD_ASP;
    uint32_t old = p->cmd;

    /* ICC requests complete at once (and read back 0). */
    p->cmd = (old & ~rw) | (val & rw);
    if (val & AHCI_PxCMD_CLO) {
        p->tfd &= ~(IDE_STAT_BSY | IDE_STAT_DRQ);
    }
    if ((p->cmd & AHCI_PxCMD_FRE) && !(old & AHCI_PxCMD_FRE)) {
        p->cmd |= AHCI_PxCMD_FR;
        if (p->sig_pending && ahci_has_drive(p)) {
            ahci_device_signature(p);
        }
    } else if (!(p->cmd & AHCI_PxCMD_FRE)) {
        p->cmd &= ~AHCI_PxCMD_FR;
    }
    if ((p->cmd & AHCI_PxCMD_ST) && !(old & AHCI_PxCMD_ST)) {
        p->cmd |= AHCI_PxCMD_CR;
        p->stopped = false;
    } else if (!(p->cmd & AHCI_PxCMD_ST) && (old & AHCI_PxCMD_ST)) {
        /* 3.3.14/3.3.13: stopping clears PxCI, PxSACT and CCS; CR when
         * no command is left running. */
        p->cmd &= ~AHCI_PxCMD_CCS_MASK;
        ahci_drop_cmd(p);
        if (p->cur_slot < 0 && !p->ncq_orphans) {
            p->cmd &= ~AHCI_PxCMD_CR;
        }
        p->ci = p->sact = 0;
        p->sdb_done = 0;
        p->stopped = false;
    }
}

static void ahci_port_sctl_write(AHCIPort *p, uint32_t val)
{
    uint32_t old_det = p->sctl & AHCI_PxSCTL_DET_MASK;

    p->sctl = val & 0xfffu;             /* IPM, SPD, DET */
    if (old_det == AHCI_PxSCTL_DET_COMRESET &&
        (val & AHCI_PxSCTL_DET_MASK) != AHCI_PxSCTL_DET_COMRESET) {
        ahci_port_comreset(p);
    } else if ((val & AHCI_PxSCTL_DET_MASK) == AHCI_PxSCTL_DET_COMRESET &&
               ahci_has_drive(p)) {
        p->tfd = 0x80 | (p->tfd & 0xff00);  /* BSY until the signature */
    }
}

static void ahci_port_write(AHCIPort *p, unsigned reg, uint32_t val)
{
    AHCIState *s = p->hba;
    uint32_t old;

    switch (reg) {
    case AHCI_PxCLB:
        p->clb = val & ~0x3ffu;         /* 1 KiB aligned */
        break;
    case AHCI_PxCLBU:
        p->clbu = val;
        break;
    case AHCI_PxFB:
        p->fb = val & ~0xffu;           /* 256-byte aligned */
        break;
    case AHCI_PxFBU:
        p->fbu = val;
        break;
    case AHCI_PxIS:
        /* PCS and PRCS mirror PxSERR.DIAG bits: not cleared here. */
        p->is &= ~(val & ~(AHCI_PxIS_PCS | AHCI_PxIS_PRCS));
        ahci_update_irq(s, false);
        break;
    case AHCI_PxIE:
        old = p->ie;
        p->ie = val & AHCI_PxIE_MASK;
        ahci_update_irq(s, p->is & p->ie & ~old);
        break;
    case AHCI_PxCMD:
        ahci_port_cmd_write(p, val);
        ahci_port_process(p);
        break;
    case AHCI_PxSCTL:
        ahci_port_sctl_write(p, val);
        break;
    case AHCI_PxSERR:
        p->serr &= ~val;
        break;
    case AHCI_PxSACT:
        if (p->cmd & AHCI_PxCMD_ST) {
            p->sact |= val;
        }
        break;
    case AHCI_PxCI:
        /* Software may only issue while ST is set (3.3.14): ignored else. */
        if (p->cmd & AHCI_PxCMD_ST) {
            p->ci |= val;
            ahci_port_process(p);
        }
        break;
    case AHCI_PxSNTF:
        p->sntf &= ~(val & 0xffffu);
        break;
    }
    ahci_port_flush_events(p);
}

/* ---- generic host control ------------------------------------------------- */

static void ahci_bohc_write(AHCIState *s, uint32_t val)
{
    uint32_t rw = AHCI_BOHC_BOS | AHCI_BOHC_OOS | AHCI_BOHC_SOOE |
                  AHCI_BOHC_BB;
    uint32_t ooc = s->bohc & AHCI_BOHC_OOC & ~val;  /* write 1 to clear */

    /* No SMM BIOS owns the HBA: a request by the OS is granted at once. */
    if ((val & AHCI_BOHC_OOS) && !(s->bohc & AHCI_BOHC_OOS)) {
        ooc = AHCI_BOHC_OOC;
    }
    s->bohc = (val & rw) | ooc;
}

static uint32_t ahci_reg_read(AHCIState *s, uint32_t addr)
{
    if (addr >= AHCI_PORT_BASE) {
        unsigned n = (addr - AHCI_PORT_BASE) / AHCI_PORT_SIZE;
        if (n >= AHCI_NUM_PORTS) {
            return 0;
        }
        return ahci_port_read(&s->port[n], addr % AHCI_PORT_SIZE);
    }
    switch (addr) {
    case AHCI_CAP:  return ahci_cap;
    case AHCI_GHC:  return s->ghc;
    case AHCI_IS:   return s->is;
    case AHCI_PI:   return (1u << AHCI_NUM_PORTS) - 1;
    case AHCI_VS:   return AHCI_VERSION_1_3_1;
    case AHCI_CAP2: return AHCI_CAP2_BOH;
    case AHCI_BOHC: return s->bohc;
    }
    return 0;   /* CCC_CTL, CCC_PORTS: no coalescing (CAP.CCCS 0); EM */
}

static void ahci_reg_write(AHCIState *s, uint32_t addr, uint32_t val)
{
    if (addr >= AHCI_PORT_BASE) {
        unsigned n = (addr - AHCI_PORT_BASE) / AHCI_PORT_SIZE;
        if (n < AHCI_NUM_PORTS) {
            ahci_port_write(&s->port[n], addr % AHCI_PORT_SIZE, val);
        }
        return;
    }
    switch (addr) {
    case AHCI_GHC: {
        bool was_ie = s->ghc & AHCI_GHC_IE;
        if (val & AHCI_GHC_HR) {
            ahci_hba_reset(s);          /* HR reads 0 again when done */
            break;
        }
        /* AE is read-only 1 (CAP.SAM), MRSM 0: one MSI message. */
        s->ghc = AHCI_GHC_AE | (val & AHCI_GHC_IE);
        ahci_update_irq(s, !was_ie && (val & AHCI_GHC_IE));
        break;
    }
    case AHCI_IS:
        s->is &= ~val;
        ahci_update_irq(s, false);
        break;
    case AHCI_BOHC:
        ahci_bohc_write(s, val);
        break;
    }
}

/*
 * The registers are dwords (AHCI 1.3.1 3: accesses shall be DWORD
 * aligned and sized): narrower reads return their bytes of the dword,
 * narrower writes are ignored (a byte of a write-1-to-clear register
 * must not clear the other three).
 */
static uint64_t ahci_abar_read(void *opaque, uint64_t addr, unsigned size)
{
    uint32_t val = ahci_reg_read(opaque, addr & ~3u);

    return (val >> (8 * (addr & 3))) & (size >= 4 ? 0xffffffffu :
                                        (1u << (8 * size)) - 1);
}

static void ahci_abar_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    if (size == 4 && !(addr & 3)) {
        ahci_reg_write(opaque, addr, val);
    }
}

static const MemoryRegionOps ahci_abar_ops = {
    .read = ahci_abar_read,
    .write = ahci_abar_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* BAR4: the ICH9 index/data pair, the ABAR through two I/O ports. */
static uint32_t ahci_idp_target(AHCIState *s)
{
    return s->idp_index & (AHCI_ABAR_SIZE - 1) & ~3u;
}

static uint64_t ahci_idp_read(void *opaque, uint64_t addr, unsigned size)
{
    AHCIState *s = opaque;

    if (addr == AHCI_IDP_INDEX) {
        return s->idp_index;
    }
    if (addr == AHCI_IDP_DATA && size == 4) {
        return ahci_reg_read(s, ahci_idp_target(s));
    }
    return 0;
}

static void ahci_idp_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    AHCIState *s = opaque;

    if (size != 4) {
        return;
    }
    if (addr == AHCI_IDP_INDEX) {
        s->idp_index = val & (AHCI_ABAR_SIZE - 1) & ~3u;
    } else if (addr == AHCI_IDP_DATA) {
        ahci_reg_write(s, ahci_idp_target(s), val);
    }
}

static const MemoryRegionOps ahci_idp_ops = {
    .read = ahci_idp_read,
    .write = ahci_idp_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- life cycle ------------------------------------------------------ */

/* QEMU names the ports of "-device ahci,id=X" X.0 ... X.5; without an id
 * they continue the machine's ide.N numbering. */
static char *ahci_port_bus_name(AHCIState *s, int port)
{
    const char *id = DEVICE(s)->id;

    if (id && *id) {
        return g_strdup_printf("%s.%d", id, port);
    }
    return g_strdup_printf("ide.%u", ide_bus_count());
}

/* The path QEMU 7.2 gives SeaBIOS for a drive on port N (seen in its
 * bootorder): the function by its IDs, "pci8086,2922@SLOT[,FN]", the port
 * "drive@N", the disk "disk@0".  SeaBIOS matches "*@SLOT/drive@N/disk@0". */
static char *ahci_port_fw_path(AHCIState *s, int port)
{
    int devfn = s->parent.devfn;

    if (PCI_FUNC(devfn)) {
        return g_strdup_printf("/pci@i0cf8/pci%04x,%04x@%x,%x/drive@%x",
                               PCI_VENDOR_ID_INTEL,
                               PCI_DEVICE_ID_INTEL_82801IR, PCI_SLOT(devfn),
                               PCI_FUNC(devfn), port);
    }
    return g_strdup_printf("/pci@i0cf8/pci%04x,%04x@%x/drive@%x",
                           PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_82801IR,
                           PCI_SLOT(devfn), port);
}

static bool ahci_add_sata_cap(AHCIState *s, GError **errp)
{
    uint8_t *cfg = s->parent.config;
    uint8_t off = pci_add_capability(&s->parent, PCI_CAP_ID_SATA,
                                     AHCI_SATA_CAP_OFFSET, 8, errp);

    if (!off) {
        return false;
    }
    cfg[off + 2] = 0x10;                /* revision 1.0 */
    /* BARLOC 8: BAR4 (offset 20h); BAROFST: the pair at 10h (4 dwords) */
    pci_set_long(cfg + off + 4, 0x8 | (AHCI_IDP_INDEX / 4) << 4);
    return true;
}

static bool ahci_realize(DeviceState *dev, GError **errp)
{
    AHCIState *s = (AHCIState *)dev;

    s->parent.config[ICH9_SATA_MAP] = 0x40;     /* SMS: AHCI */
    guest_ram_map_init();               /* NCQ maps its PRDs (ahci-ncq.c) */
    memory_region_init_io(&s->abar, &ahci_abar_ops, s, "ahci",
                          AHCI_ABAR_SIZE);
    memory_region_init_io(&s->idp, &ahci_idp_ops, s, "ahci-idp",
                          AHCI_IDP_SIZE);
    pci_register_bar(&s->parent, 4, PCI_BASE_ADDRESS_SPACE_IO, &s->idp);
    pci_register_bar(&s->parent, 5, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->abar);
    if (!msi_init(&s->parent, AHCI_MSI_CAP_OFFSET, 1, true, false, errp) ||
        !ahci_add_sata_cap(s, errp)) {
        memory_region_destroy(&s->abar);
        memory_region_destroy(&s->idp);
        return false;
    }
    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        AHCIPort *p = &s->port[i];
        p->hba = s;
        p->index = i;
        ide_bus_init(&p->bus, ide_bus_count(), &ahci_bus_ops, p);
        p->bus.name = ahci_port_bus_name(s, i);
        p->bus.fw_path = ahci_port_fw_path(s, i);
        p->bus.nb_units = 1;
        p->bus.ncq_depth = AHCI_NUM_SLOTS;
        p->bus.owner = s;               /* the ABAR's and the pair's owner */
        p->cur_slot = -1;
        ahci_ncq_init(p);
        ide_bus_register(&p->bus);
    }
    return true;
}

static void ahci_unrealize(DeviceState *dev)
{
    AHCIState *s = (AHCIState *)dev;

    /* Requests in flight complete into the ports: wait for them. */
    ahci_hba_reset(s);
    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        ide_bus_quiesce(&s->port[i].bus);
        ahci_ncq_cleanup(&s->port[i]);
        ide_bus_unregister(&s->port[i].bus);
    }
    memory_region_destroy(&s->abar);
    memory_region_destroy(&s->idp);
}

static void ahci_reset(DeviceState *dev)
{
    AHCIState *s = (AHCIState *)dev;

    s->bohc = 0;
    s->idp_index = 0;
    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        AHCIPort *p = &s->port[i];
        p->clb = p->clbu = p->fb = p->fbu = 0;
    }
    ahci_hba_reset(s);
    /* The dropped tags read straight into guest RAM (ahci-ncq.c): the
     * next boot's memory must not get their data, so wait (QEMU drains
     * the drives on reset too). */
    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        ide_bus_wait_idle(&s->port[i].bus);
    }
}

/* A loaded state is checked like guest input: nothing in it can make the
 * HBA walk past its structures. */
static int ahci_post_load(void *opaque, int version_id)
{
    AHCIState *s = opaque;

    s->ghc = AHCI_GHC_AE | (s->ghc & AHCI_GHC_IE);
    s->is &= (1u << AHCI_NUM_PORTS) - 1;
    s->idp_index &= (AHCI_ABAR_SIZE - 1) & ~3u;
    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        AHCIPort *p = &s->port[i];
        p->clb &= ~0x3ffu;
        p->fb &= ~0xffu;
        p->ie &= AHCI_PxIE_MASK;
        p->in_cmd = false;
        p->cur_slot = -1;
        p->cur_dropped = false;
        p->sig_after_busy = false;
        p->events = 0;
        ide_bus_post_load(&p->bus);
        if (version_id < 2) {
            s->saved_ncq_held[i] = s->saved_sdb_done[i] = 0;
        }
        ahci_ncq_post_load(p, s->saved_ncq_held[i] & p->sact,
                           s->saved_ncq_slot + i * AHCI_NUM_SLOTS);
        /* finished tags whose SDB FIS the source had not posted yet */
        p->sdb_done = s->saved_sdb_done[i] & p->sact & ~p->ncq_used;
        if (p->sdb_done) {
            bh_schedule(p->sdb_bh);
        }
    }
    ahci_update_irq(s, false);
    return 0;
}

static const VMStateDescription vmstate_ahci_port = {
    .name = "ahci-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(clb, AHCIPort),
        VMSTATE_UINT32(clbu, AHCIPort),
        VMSTATE_UINT32(fb, AHCIPort),
        VMSTATE_UINT32(fbu, AHCIPort),
        VMSTATE_UINT32(is, AHCIPort),
        VMSTATE_UINT32(ie, AHCIPort),
        VMSTATE_UINT32(cmd, AHCIPort),
        VMSTATE_UINT32(tfd, AHCIPort),
        VMSTATE_UINT32(sig, AHCIPort),
        VMSTATE_UINT32(sctl, AHCIPort),
        VMSTATE_UINT32(serr, AHCIPort),
        VMSTATE_UINT32(sact, AHCIPort),
        VMSTATE_UINT32(ci, AHCIPort),
        VMSTATE_UINT32(sntf, AHCIPort),
        VMSTATE_BOOL(sig_pending, AHCIPort),
        VMSTATE_BOOL(stopped, AHCIPort),
        VMSTATE_STRUCT(bus, AHCIPort, vmstate_ide_bus, IDEBus),
        VMSTATE_END_OF_LIST()
    },
};

static int ahci_pre_save(void *opaque)
{
    AHCIState *s = opaque;

    for (int i = 0; i < AHCI_NUM_PORTS; i++) {
        ahci_ncq_pre_save(&s->port[i], &s->saved_ncq_held[i],
                          s->saved_ncq_slot + i * AHCI_NUM_SLOTS);
        s->saved_sdb_done[i] = s->port[i].sdb_done;
    }
    return 0;
}

static const VMStateDescription vmstate_ahci = {
    .name = "ich9-ahci",
    .version_id = 2,
    .minimum_version_id = 1,
    .pre_save = ahci_pre_save,
    .post_load = ahci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(ghc, AHCIState),
        VMSTATE_UINT32(is, AHCIState),
        VMSTATE_UINT32(bohc, AHCIState),
        VMSTATE_UINT32(idp_index, AHCIState),
        VMSTATE_STRUCT_ARRAY(port, AHCIState, AHCI_NUM_PORTS,
                             vmstate_ahci_port, AHCIPort),
        VMSTATE_FIELD_("saved_ncq_held", AHCIState, saved_ncq_held, VMS_U32,
                       4, AHCI_NUM_PORTS, 2),
        VMSTATE_FIELD_("saved_sdb_done", AHCIState, saved_sdb_done, VMS_U32,
                       4, AHCI_NUM_PORTS, 2),
        VMSTATE_FIELD_("saved_ncq_slot", AHCIState, saved_ncq_slot, VMS_U8,
                       1, AHCI_NUM_PORTS * AHCI_NUM_SLOTS, 2),
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass ahci_pci_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82801IR,
    .revision = 0x02,
    .class_id = 0x0106,                 /* mass storage, SATA */
    .prog_if = 0x01,                    /* AHCI 1.0 */
    .interrupt_pin = 1,
};

static const DeviceType ahci_type = {
    .name = TYPE_AHCI,
    .parent = TYPE_PCI_DEVICE,
    .desc = "ICH9 AHCI SATA controller (six ports)",
    .instance_size = sizeof(AHCIState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .realize = ahci_realize,
    .unrealize = ahci_unrealize,
    .reset = ahci_reset,
    .vmsd = &vmstate_ahci,
    .class_data = &ahci_pci_class,
};

/* QEMU's "ahci" is another name for the same device. */
static const DeviceType ahci_alias_type = {
    .name = TYPE_AHCI_ALIAS,
    .parent = TYPE_PCI_DEVICE,
    .desc = "ICH9 AHCI SATA controller (the name ich9-ahci also works)",
    .instance_size = sizeof(AHCIState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .realize = ahci_realize,
    .unrealize = ahci_unrealize,
    .reset = ahci_reset,
    .vmsd = &vmstate_ahci,
    .class_data = &ahci_pci_class,
};

static void ahci_register_types(void)
{
    device_type_register(&ahci_type);
    device_type_register(&ahci_alias_type);
}
type_init(ahci_register_types)
