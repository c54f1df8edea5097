/*
 * ISA floppy disk controller ("isa-fdc", as QEMU names it) and its drives
 * ("floppy"): ports 0x3f0-0x3f5 and 0x3f7 (0x3f6 is the IDE channel's),
 * ISA IRQ 6, DMA channel 2.
 *
 * Spec: Intel 82078 44-pin CHMOS single-chip floppy disk controller
 * datasheet (and the 82077AA's, which it extends), PC-AT mode:
 *   SRA (0x3f0, status A, PS/2 layout: INT PENDING, nDRV2, STEP, nTRK0,
 *   HDSEL, nINDX, nWP, DIR), SRB (0x3f1, status B: MOT EN0/1, WE, RDDATA
 *   and WRDATA toggles, DRIVE SEL0), DOR (0x3f2, digital output: drive
 *   select, nRESET, DMAEN which in AT mode also gates INT and DRQ, motor
 *   enables), TDR (0x3f3, tape drive), MSR (0x3f4 read, main status: RQM,
 *   DIO, NON-DMA, CMD BSY, DRV x BUSY), DSR (0x3f4 write, data rate
 *   select: S/W RESET, POWER DOWN, PRECOMP, DRATE SEL), FIFO (0x3f5,
 *   commands, data in non-DMA mode, results), DIR (0x3f7 read, digital
 *   input: DSKCHG in bit 7), CCR (0x3f7 write, configuration control: the
 *   data rate).
 * Commands: SPECIFY, SENSE DRIVE STATUS, RECALIBRATE, SENSE INTERRUPT
 * STATUS, SEEK and RELATIVE SEEK, READ DATA and WRITE DATA (MT,
 * multi-sector, end of track), READ ID, FORMAT TRACK, VERIFY (EC),
 * VERSION (90h: enhanced controller), CONFIGURE, DUMPREG, PERPENDICULAR
 * MODE, LOCK, PART ID (41h); anything else is an invalid command: a
 * one-byte result phase of ST0 = 80h, no interrupt.  (READ TRACK, the
 * deleted-data and SCAN commands, SAVE/RESTORE and POWERDOWN MODE are
 * among them here.)
 *
 * The medium: the image's size names its geometry (160 KiB .. 2.88 MiB,
 * 512-byte sectors, N = 2), and with it the data rate its sectors were
 * written at.  A command finds a sector only where a real drive would:
 * the medium is in, the data rate (DSR/CCR) is the medium's, the head is
 * on a recorded track and side (else ST1 MA, missing address mark), and
 * the command's C, H, R and N equal the sector's ID (C is the physical
 * track, H the side, R 1..sectors per track, N 2; else ST1 ND, no data,
 * with ST2 WC when only C differs).  So every offset into the image is
 * computed from a checked C/H/R and lies inside the geometry; sectors of
 * the geometry past the end of a short image read as zeroes and refuse
 * writes (ST1 NW).  Writes to a read-only image: ST1 NW.
 *
 * Transfers end as on the chip: at terminal count from the 8237 (normal
 * termination, IC = 00; a TC in the middle of a sector written fills the
 * rest of the sector with zeroes), or at the sector EOT without TC
 * (abnormal termination with ST1 EN, as in non-DMA mode where no TC
 * exists).  MT continues from side 0's EOT on side 1.  The result's
 * C/H/R/N are the datasheet's table ("the next sector").  The 8237 moves
 * the data (hw/dma/i8257.c); a masked channel or DOR.DMAEN clear pauses
 * the transfer until it is granted again (real hardware would report an
 * overrun, ST1 OR).  In non-DMA mode (SPECIFY ND) the host moves each
 * byte through the FIFO; INT is pulsed for every byte the FIFO wants,
 * as the 82078 raises it while RQM is set in the execution phase.
 *
 * Sectors move to and from the image asynchronously (blk_aio_pread /
 * blk_aio_pwrite, one 512-byte sector out at a time), so a slow image
 * never holds a vCPU or the main loop: while a sector's host I/O is out
 * the execution phase waits with CB and no RQM (non-DMA) or no DREQ
 * (DMA), as the chip does while its FIFO fills from the disk, and the
 * completion goes on (DMA, the next sector, the result phase and its
 * interrupt).  A reset meanwhile orphans the request (it owns its buffer
 * and finds no controller when it comes back).  Everything else runs to
 * completion inside the port access that starts it: seeks and
 * recalibrates finish at once (their interrupt is pending until SENSE
 * INTERRUPT STATUS), as QEMU's.  After a reset (DOR nRESET low then
 * high, or DSR S/W RESET) with drive polling enabled (CONFIGURE POLL = 0)
 * INT is raised and four SENSE INTERRUPT STATUS commands return ST0 =
 * C0h..C3h ("ready changed", drives 0-3); a new interrupt cause (a seek
 * ending, a result phase) drops the ones not yet sensed.  LOCK keeps
 * EIS, EFIFO, POLL, FIFOTHR and PRETRK across software resets.  The FIFO's threshold and
 * the timing values (SRT, HUT, HLT, PRETRK) are stored and reported
 * (DUMPREG) but nothing waits for them.
 *
 * The disk-change line (DIR bit 7) is active at power-on and while no
 * medium is in; a SEEK or RECALIBRATE with a medium in clears it (QEMU
 * does the same, even for a seek that moves no step).  Absent drives:
 * RECALIBRATE ends with ST0 EC (no track 0 signal), data commands with ST1
 * MA, DIR bit 7 reads 0.
 */
#include "qemu/osdep.h"
#include "hw/block/fdc.h"
#include "hw/dma/i8257.h"
#include "hw/irq.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/rtc/mc146818rtc.h"
#include "system/memory.h"
#include "system/blockdev.h"
#include "system/runstate.h"

#define FDC_DS_DRIVES       4       /* drive select reaches 4 drives */
#define FDC_FIFO_SIZE       16
#define FD_SECTOR_SIZE      512
#define FD_SECTOR_N         2       /* 128 << 2 = 512 */
#define FD_FORMAT_ID_SIZE   4       /* C, H, R, N per sector */

/* Registers (offset from the I/O base) */
#define FD_REG_SRA          0
#define FD_REG_SRB          1
#define FD_REG_DOR          2
#define FD_REG_TDR          3
#define FD_REG_MSR          4       /* read */
#define FD_REG_DSR          4       /* write */
#define FD_REG_FIFO         5
#define FD_REG_DIR          7       /* read */
#define FD_REG_CCR          7       /* write */

#define FD_DOR_SELMASK      0x03
#define FD_DOR_nRESET       0x04
#define FD_DOR_DMAEN        0x08
#define FD_DOR_MOTEN0       0x10

#define FD_MSR_DRV_BUSY     0x0f
#define FD_MSR_CMDBUSY      0x10
#define FD_MSR_NONDMA       0x20
#define FD_MSR_DIO          0x40
#define FD_MSR_RQM          0x80

#define FD_DSR_RATE         0x03
#define FD_DSR_PWRDOWN      0x40
#define FD_DSR_SWRESET      0x80

#define FD_DIR_DSKCHG       0x80

#define FD_SRA_nWP          0x02
#define FD_SRA_nINDX        0x04
#define FD_SRA_HDSEL        0x08
#define FD_SRA_nTRK0        0x10
#define FD_SRA_nDRV2        0x40
#define FD_SRA_INTPEND      0x80
#define FD_SRB_PS2          0xc0
#define FD_SRB_DR0          0x20

/* Status registers */
#define FD_SR0_DS           0x03
#define FD_SR0_HEAD         0x04
#define FD_SR0_EQPMT        0x10
#define FD_SR0_SEEK         0x20
#define FD_SR0_ABNTERM      0x40
#define FD_SR0_INVCMD       0x80
#define FD_SR0_RDYCHG       0xc0
#define FD_SR1_MA           0x01    /* missing address mark */
#define FD_SR1_NW           0x02    /* not writable */
#define FD_SR1_ND           0x04    /* no data */
#define FD_SR1_DE           0x20    /* data error (CRC) */
#define FD_SR1_EN           0x80    /* end of cylinder */
#define FD_SR2_WC           0x10    /* wrong cylinder */
#define FD_SR2_DD           0x20    /* data error in the data field */
#define FD_SR3_DS           0x03
#define FD_SR3_HEAD         0x04
#define FD_SR3_ONE          0x08    /* reads 1 on the 82077AA/82078 */
#define FD_SR3_TRK0         0x10
#define FD_SR3_RDY          0x20    /* reads 1 */
#define FD_SR3_WP           0x40

/* Command byte flags */
#define FD_CMD_MT           0x80
#define FD_CMD_LOCK         0x80
#define FD_CMD_RELATIVE     0x80
#define FD_CMD_SEEK_IN      0x40
#define FD_HDS              0x04    /* head select in the drive byte */
#define FD_VERIFY_EC        0x80
#define FD_SPECIFY_ND       0x01
#define FD_PERP_OW          0x80
#define FD_PERP_DRIVES      0x3c
#define FD_PERP_GAP_WGATE   0x03
#define FD_CONFIG_EIS       0x40
#define FD_CONFIG_EFIFO     0x20
#define FD_CONFIG_POLL      0x10    /* 1: drive polling disabled */

#define FD_VERSION_ENHANCED 0x90
#define FD_PART_ID_82078    0x41
#define FD_RESET_SENSEI     4       /* one polling status per drive */
#define FD_RECAL_STEPS      80      /* more than any medium has tracks */
#define FD_RATE_500K        0
#define FD_RATE_300K        1
#define FD_RATE_250K        2
#define FD_RATE_1M          3

typedef enum FDPhase {
    FD_PHASE_COMMAND,
    FD_PHASE_EXEC,
    FD_PHASE_RESULT,
} FDPhase;

typedef enum FDXfer {
    FD_XFER_NONE,
    FD_XFER_READ,
    FD_XFER_WRITE,
    FD_XFER_FORMAT,
} FDXfer;

/* Drive types, as QEMU's "drive-type" property and the CMOS code. */
typedef enum FDriveType {
    FDRIVE_144,
    FDRIVE_288,
    FDRIVE_120,
    FDRIVE_NONE,
    FDRIVE_AUTO,
} FDriveType;

static const struct {
    const char *name;
    uint8_t cmos;
} fdrive_types[] = {
    [FDRIVE_144] = { "144", 4 },
    [FDRIVE_288] = { "288", 5 },
    [FDRIVE_120] = { "120", 2 },
    [FDRIVE_NONE] = { "none", 0 },
    [FDRIVE_AUTO] = { "auto", 0 },
};

typedef struct FDGeometry {
    uint8_t tracks, heads, sectors;
    uint8_t rate;               /* DSR/CCR data rate the medium needs */
    FDriveType drive;           /* the drive type "auto" picks */
} FDGeometry;

#define FD_GEOMETRY_BYTES(g) \
    ((uint64_t)(g)->tracks * (g)->heads * (g)->sectors * FD_SECTOR_SIZE)

/* Known formats by size; the first that holds an image of another size. */
static const FDGeometry fd_geometries[] = {
    { 40, 1, 8, FD_RATE_300K, FDRIVE_120 },     /* 160 KiB */
    { 40, 1, 9, FD_RATE_300K, FDRIVE_120 },     /* 180 KiB */
    { 40, 2, 8, FD_RATE_300K, FDRIVE_120 },     /* 320 KiB */
    { 40, 2, 9, FD_RATE_300K, FDRIVE_120 },     /* 360 KiB */
    { 80, 2, 9, FD_RATE_250K, FDRIVE_144 },     /* 720 KiB */
    { 80, 2, 15, FD_RATE_500K, FDRIVE_120 },    /* 1.2 MiB */
    { 80, 2, 18, FD_RATE_500K, FDRIVE_144 },    /* 1.44 MiB */
    { 80, 2, 21, FD_RATE_500K, FDRIVE_144 },    /* 1.68 MiB (DMF) */
    { 80, 2, 36, FD_RATE_1M, FDRIVE_288 },      /* 2.88 MiB */
};
#define FD_GEOMETRY_144     6
#define FD_GEOMETRY_288     8

typedef struct FDrive {
    /* configuration (not state): what is attached */
    bool attached;
    BlockBackend *blk;          /* NULL: an empty drive with no backend */
    bool read_only;
    uint64_t image_size;
    const FDGeometry *geo;      /* the medium's, NULL without one */
    FDriveType type;            /* for the CMOS */
    char *drive_id;
    /* state */
    uint8_t track;              /* present cylinder (PCN) */
    uint8_t id_sector;          /* the last ID READ ID passed (0: none) */
    bool media_changed;         /* the disk-change line */
} FDrive;

typedef struct FDCtrl {
    ISADevice parent;

    /* properties */
    uint32_t iobase, irq, dma;
    char *drive_a, *drive_b;
    int32_t bootindex_a, bootindex_b;

    FDrive drives[FDC_MAX_DRIVES];
    qemu_irq irq_line;
    MemoryRegion io, io_dir;

    /* registers */
    uint8_t dor, tdr, dsr;
    uint8_t phase;              /* FDPhase */
    uint8_t fifo[FDC_FIFO_SIZE];
    uint8_t fifo_pos, fifo_len;
    /* interrupts */
    bool int_pending;           /* result phase or reset polling */
    uint8_t reset_sensei;       /* polling statuses still to report */
    uint8_t seek_pending;       /* drives whose seek ended, unsensed */
    uint8_t seek_st0[FDC_DS_DRIVES];
    uint8_t pcn[FDC_DS_DRIVES];
    /* SPECIFY, CONFIGURE, PERPENDICULAR MODE, LOCK, last EOT */
    uint8_t srt_hut, hlt_nd, config, pretrk, perpendicular, eot_last;
    bool lock;
    /* the transfer of the execution phase */
    uint8_t xfer;               /* FDXfer */
    bool xfer_dma;
    uint8_t drv, head;          /* drive and physical head (side) */
    uint8_t c, h, r, n, eot;
    bool mt;
    uint8_t st0, st1, st2;
    uint8_t sectors_left;       /* FORMAT: IDs still to come */
    uint8_t filler;             /* FORMAT: the data byte */
    uint16_t buf_pos;
    uint8_t buf[FD_SECTOR_SIZE];
    /* the sector read or written on the host meanwhile (not in the state
     * table: vm_stop drains the block layer, so none is out then) */
    struct FDIoReq *sector_io;  /* NULL: none */
    bool io_tc;                 /* the unit written ended with TC */
} FDCtrl;

/*
 * One sector on its way to or from the image.  It owns its buffer, so a
 * reset (or the controller's removal) while it is out just orphans it
 * (s = NULL): the block layer cannot take it back, and when it completes
 * it touches nothing of the controller, which may have begun another.
 */
typedef struct FDIoReq {
    FDCtrl *s;                  /* NULL: orphaned */
    uint8_t buf[FD_SECTOR_SIZE];
} FDIoReq;

/* The machine's controller (the one floppy devices attach to). */
static FDCtrl *fdc_instance;

static void fdc_update_dreq(FDCtrl *s);

/* ---- interrupt and status ------------------------------------------------- */

static bool fdc_in_reset(const FDCtrl *s)
{
    return !(s->dor & FD_DOR_nRESET);
}

/* INT: a pending interrupt, gated by DOR.DMAEN in PC-AT mode. */
static void fdc_update_irq(FDCtrl *s)
{
    bool level = (s->int_pending || s->seek_pending) &&
                 (s->dor & FD_DOR_DMAEN) && !fdc_in_reset(s);

    qemu_set_irq(s->irq_line, level);
}

/*
 * A new interrupt cause discards the reset's polling statuses not yet
 * sensed (as QEMU does): SeaBIOS senses one and then recalibrates, and
 * the recalibrate's SENSE INTERRUPT STATUS must see its own status.
 */
static void fdc_raise_int(FDCtrl *s)
{
    s->int_pending = true;
    s->reset_sensei = 0;
    fdc_update_irq(s);
}

/* A new edge for the next byte of a non-DMA transfer. */
static void fdc_pulse_int(FDCtrl *s)
{
    s->int_pending = false;
    fdc_update_irq(s);
    fdc_raise_int(s);
}

/* A medium is in (its geometry is known only then). */
static bool fdrive_has_medium(const FDrive *d)
{
    return d->geo != NULL;
}

static FDrive *fdc_drive(FDCtrl *s, unsigned ds)
{
    return ds < FDC_MAX_DRIVES && s->drives[ds].attached ? &s->drives[ds]
                                                          : NULL;
}

static uint8_t fdc_rate(const FDCtrl *s)
{
    return s->dsr & FD_DSR_RATE;
}

static bool fdc_non_dma(const FDCtrl *s)
{
    return s->hlt_nd & FD_SPECIFY_ND;
}

static uint8_t fdc_read_msr(FDCtrl *s)
{
    uint8_t msr = s->seek_pending & FD_MSR_DRV_BUSY;

    if (fdc_in_reset(s)) {
        return 0;
    }
    switch (s->phase) {
    case FD_PHASE_COMMAND:
        msr |= FD_MSR_RQM | (s->fifo_pos ? FD_MSR_CMDBUSY : 0);
        break;
    case FD_PHASE_EXEC:
        msr |= FD_MSR_CMDBUSY;
        if (!s->xfer_dma && !s->sector_io) {
            msr |= FD_MSR_RQM | FD_MSR_NONDMA |
                   (s->xfer == FD_XFER_READ ? FD_MSR_DIO : 0);
        }
        break;
    case FD_PHASE_RESULT:
        msr |= FD_MSR_RQM | FD_MSR_DIO | FD_MSR_CMDBUSY;
        break;
    }
    return msr;
}

static uint8_t fdc_read_sra(FDCtrl *s)
{
    FDrive *d = fdc_drive(s, s->dor & FD_DOR_SELMASK);
    uint8_t v = FD_SRA_nINDX | FD_SRA_nTRK0 | FD_SRA_nWP;

    if (!s->drives[1].attached) {
        v |= FD_SRA_nDRV2;
    }
    if (s->int_pending || s->seek_pending) {
        v |= FD_SRA_INTPEND;
    }
    if (s->head) {
        v |= FD_SRA_HDSEL;
    }
    if (d && d->track == 0) {
        v &= ~FD_SRA_nTRK0;
    }
    if (d && fdrive_has_medium(d) && d->read_only) {
        v &= ~FD_SRA_nWP;
    }
    return v;
}

static uint8_t fdc_read_srb(FDCtrl *s)
{
    /* Motor enables 0/1 from the DOR, drive select 0. */
    return FD_SRB_PS2 | ((s->dor >> 4) & 0x03) |
           ((s->dor & 1) ? FD_SRB_DR0 : 0);
}

static uint8_t fdc_read_dir(FDCtrl *s)
{
    FDrive *d = fdc_drive(s, s->dor & FD_DOR_SELMASK);

    return d && (d->media_changed || !fdrive_has_medium(d)) ?
           FD_DIR_DSKCHG : 0;
}

/* ---- phases --------------------------------------------------------------- */

static void fdc_to_command_phase(FDCtrl *s)
{
    s->phase = FD_PHASE_COMMAND;
    s->fifo_pos = s->fifo_len = 0;
    s->xfer = FD_XFER_NONE;
    fdc_update_dreq(s);
}

/* Result bytes already in fifo[0..len-1]; @irq: the command interrupts. */
static void fdc_to_result_phase(FDCtrl *s, unsigned len, bool irq)
{
    s->phase = FD_PHASE_RESULT;
    s->fifo_pos = 0;
    s->fifo_len = len;
    s->xfer = FD_XFER_NONE;
    fdc_update_dreq(s);
    if (irq) {
        fdc_raise_int(s);
    }
}

static void fdc_invalid_command(FDCtrl *s)
{
    s->fifo[0] = FD_SR0_INVCMD;
    fdc_to_result_phase(s, 1, false);
}

/* The seven result bytes of a data command, and its interrupt. */
static void fdc_end_data_command(FDCtrl *s, uint8_t c, uint8_t h, uint8_t r)
{
    s->fifo[0] = s->st0 | (s->head ? FD_SR0_HEAD : 0) | s->drv;
    s->fifo[1] = s->st1;
    s->fifo[2] = s->st2;
    s->fifo[3] = c;
    s->fifo[4] = h;
    s->fifo[5] = r;
    s->fifo[6] = s->n;
    fdc_to_result_phase(s, 7, true);
}

/* Abnormal termination at the current sector (its C/H/R reported). */
static void fdc_fail(FDCtrl *s, uint8_t st1, uint8_t st2)
{
    s->st0 |= FD_SR0_ABNTERM;
    s->st1 |= st1;
    s->st2 |= st2;
    fdc_end_data_command(s, s->c, s->h, s->r);
}

/*
 * End after the current sector, reporting the sector that would come
 * next (the datasheet's result table): R + 1 before EOT; at EOT the next
 * cylinder, or with MT side 0's EOT goes on to side 1 of the same one.
 */
static void fdc_end_after_sector(FDCtrl *s, uint8_t st0, uint8_t st1)
{
    uint8_t c = s->c, h = s->h, r = s->r + 1;

    if (s->r == s->eot) {
        r = 1;
        if (s->mt) {
            if (h & 1) {
                c++;
            }
            h ^= 1;
        } else {
            c++;
        }
    }
    s->st0 |= st0;
    s->st1 |= st1;
    fdc_end_data_command(s, c, h, r);
}

/* ---- the medium ----------------------------------------------------------- */

static const FDGeometry *fd_geometry_for_size(uint64_t size)
{
    for (unsigned i = 0; i < ARRAY_SIZE(fd_geometries); i++) {
        if (FD_GEOMETRY_BYTES(&fd_geometries[i]) == size) {
            return &fd_geometries[i];
        }
    }
    if (size <= FD_GEOMETRY_BYTES(&fd_geometries[FD_GEOMETRY_144])) {
        return &fd_geometries[FD_GEOMETRY_144];
    }
    if (size <= FD_GEOMETRY_BYTES(&fd_geometries[FD_GEOMETRY_288])) {
        return &fd_geometries[FD_GEOMETRY_288];
    }
    return NULL;
}

/* Can the head read IDs where it is: medium in, right rate, recorded? */
static bool fdc_track_readable(FDCtrl *s, FDrive *d)
{
    return d && d->geo && fdc_rate(s) == d->geo->rate &&
           d->track < d->geo->tracks && s->head < d->geo->heads;
}

/*
 * Find sector C/H/R/N under the head; on success *offset is its place in
 * the image.  Failure ends the command with the chip's status.
 */
static bool fdc_find_sector(FDCtrl *s, uint64_t *offset)
{
    FDrive *d = fdc_drive(s, s->drv);
    const FDGeometry *g;

    if (!fdc_track_readable(s, d)) {
        fdc_fail(s, FD_SR1_MA, 0);
        return false;
    }
    g = d->geo;
    if (s->c != d->track) {
        fdc_fail(s, FD_SR1_ND, FD_SR2_WC);
        return false;
    }
    if (s->h != s->head || s->n != FD_SECTOR_N || s->r == 0 ||
        s->r > g->sectors) {
        fdc_fail(s, FD_SR1_ND, 0);
        return false;
    }
    *offset = (((uint64_t)d->track * g->heads + s->head) * g->sectors +
               s->r - 1) * FD_SECTOR_SIZE;
    return true;
}

/* ---- the sector I/O: asynchronous, one out at a time ------------------- */

static void fdc_io_done(void *opaque, int ret);

/* Start the host I/O of one sector; the controller waits for it (no RQM,
 * no DREQ) until fdc_io_done.  The caller fills and submits the request. */
static FDIoReq *fdc_io_begin(FDCtrl *s)
{
    FDIoReq *req = g_new(FDIoReq, 1);

    req->s = s;
    s->sector_io = req;
    fdc_update_dreq(s);
    return req;
}

/* A reset or the controller's removal: the sector out is forgotten. */
static void fdc_orphan_io(FDCtrl *s)
{
    if (s->sector_io) {
        s->sector_io->s = NULL;
        s->sector_io = NULL;
    }
}

/* Read sector C/H/R into buf: at once (zeroes) past a short image's end,
 * else from the image, the transfer going on when it is in. */
static bool fdc_load_sector(FDCtrl *s)
{
    FDrive *d = fdc_drive(s, s->drv);
    uint64_t off;
    FDIoReq *req;

    if (!fdc_find_sector(s, &off)) {
        return false;
    }
    s->buf_pos = 0;
    if (off + FD_SECTOR_SIZE > d->image_size) {
        memset(s->buf, 0, FD_SECTOR_SIZE);
        return true;
    }
    req = fdc_io_begin(s);
    blk_aio_pread(d->blk, off, FD_SECTOR_SIZE, req->buf, fdc_io_done, req);
    return true;
}

/* Write @data to sector C/R of the head's side (the transfer goes on when
 * it is on the image); false at once past a short image's end. */
static bool fdc_store_sector(FDCtrl *s, uint8_t c, uint8_t r,
                             const uint8_t *data, bool tc)
{
    FDrive *d = fdc_drive(s, s->drv);
    const FDGeometry *g = d->geo;
    uint64_t off = (((uint64_t)c * g->heads + s->head) * g->sectors +
                    r - 1) * FD_SECTOR_SIZE;
    FDIoReq *req;

    if (off + FD_SECTOR_SIZE > d->image_size) {
        return false;
    }
    req = fdc_io_begin(s);
    memcpy(req->buf, data, FD_SECTOR_SIZE);
    s->io_tc = tc;
    blk_aio_pwrite(d->blk, off, FD_SECTOR_SIZE, req->buf, fdc_io_done, req);
    return true;
}

/* ---- data commands: READ DATA, WRITE DATA, FORMAT TRACK, VERIFY ------- */

static void fdc_select(FDCtrl *s, uint8_t drive_byte)
{
    s->drv = drive_byte & FD_SR0_DS;
    s->head = (drive_byte & FD_HDS) ? 1 : 0;
    s->st0 = s->st1 = s->st2 = 0;
}

/* Implied seek (CONFIGURE EIS): the head moves to C first. */
static void fdc_implied_seek(FDCtrl *s)
{
    FDrive *d = fdc_drive(s, s->drv);

    if ((s->config & FD_CONFIG_EIS) && d) {
        d->track = s->c;
        s->pcn[s->drv] = s->c;
    }
}

/* Enter the execution phase of a transfer (its first unit follows). */
static void fdc_start_exec(FDCtrl *s, FDXfer xfer)
{
    s->xfer = xfer;
    s->xfer_dma = !fdc_non_dma(s);
    s->buf_pos = 0;
    s->phase = FD_PHASE_EXEC;
}

/*
 * The controller is ready for the next unit (a sector read is in, a
 * sector written is out): DREQ in DMA mode, else RQM with an interrupt
 * edge.  Nothing while the host I/O of a sector is out.
 */
static void fdc_want_unit(FDCtrl *s)
{
    if (s->phase != FD_PHASE_EXEC || s->sector_io) {
        return;
    }
    if (s->xfer_dma) {
        fdc_update_dreq(s);
    } else {
        fdc_pulse_int(s);
    }
}

/*
 * A sector has moved (or TC came).  Go on with the next one, or end:
 * TC is a normal end; at EOT MT switches from side 0 to side 1, else
 * the command ends with EN.  Returns false when the transfer ended; a
 * read's next sector may still be on its way (s->sector_io).
 */
static bool fdc_next_sector(FDCtrl *s, bool tc)
{
    if (tc) {
        fdc_end_after_sector(s, 0, 0);
        return false;
    }
    if (s->r != s->eot) {
        s->r++;
    } else if (s->mt && !(s->h & 1)) {
        s->h ^= 1;
        s->head ^= 1;
        s->r = 1;
    } else {
        fdc_end_after_sector(s, FD_SR0_ABNTERM, FD_SR1_EN);
        return false;
    }
    return s->xfer == FD_XFER_READ ? fdc_load_sector(s) : true;
}

static void fdc_read_data(FDCtrl *s)
{
    fdc_select(s, s->fifo[1]);
    s->mt = s->fifo[0] & FD_CMD_MT;
    s->c = s->fifo[2];
    s->h = s->fifo[3];
    s->r = s->fifo[4];
    s->n = s->fifo[5];
    s->eot = s->eot_last = s->fifo[6];
    fdc_implied_seek(s);
    fdc_start_exec(s, FD_XFER_READ);
    if (fdc_load_sector(s)) {
        fdc_want_unit(s);
    }
}

static bool fdc_writable(FDCtrl *s)
{
    FDrive *d = fdc_drive(s, s->drv);

    if (!fdc_track_readable(s, d)) {
        fdc_fail(s, FD_SR1_MA, 0);
        return false;
    }
    if (d->read_only) {
        fdc_fail(s, FD_SR1_NW, 0);
        return false;
    }
    return true;
}

static void fdc_write_data(FDCtrl *s)
{
    uint64_t off;

    fdc_select(s, s->fifo[1]);
    s->mt = s->fifo[0] & FD_CMD_MT;
    s->c = s->fifo[2];
    s->h = s->fifo[3];
    s->r = s->fifo[4];
    s->n = s->fifo[5];
    s->eot = s->eot_last = s->fifo[6];
    fdc_implied_seek(s);
    if (fdc_writable(s) && fdc_find_sector(s, &off)) {
        fdc_start_exec(s, FD_XFER_WRITE);
        fdc_want_unit(s);
    }
}

/* A sector's worth of data has arrived (or TC came part-way): it goes
 * to the image, and fdc_sector_stored goes on. */
static bool fdc_write_sector_done(FDCtrl *s, bool tc)
{
    if (!fdc_track_readable(s, fdc_drive(s, s->drv))) {
        /* the monitor took the medium out meanwhile */
        fdc_fail(s, FD_SR1_MA, 0);
        return false;
    }
    if (s->buf_pos < FD_SECTOR_SIZE) {
        memset(s->buf + s->buf_pos, 0, FD_SECTOR_SIZE - s->buf_pos);
    }
    s->buf_pos = 0;
    if (!fdc_store_sector(s, s->c, s->r, s->buf, tc)) {
        fdc_fail(s, FD_SR1_NW, 0);
        return false;
    }
    return true;
}

/* The sector written is on the image (or failed): the next one, if any. */
static void fdc_sector_stored(FDCtrl *s, int ret)
{
    uint64_t off;

    if (ret < 0) {
        fdc_fail(s, FD_SR1_NW, 0);
        return;
    }
    /* The next sector must exist before its data is taken. */
    if (fdc_next_sector(s, s->io_tc) && fdc_find_sector(s, &off)) {
        fdc_want_unit(s);
    }
}

/* A sector read is in (or failed): its data go to the host. */
static void fdc_sector_loaded(FDCtrl *s, int ret, const uint8_t *data)
{
    if (ret < 0) {
        /* An I/O error on the host: the sector's data CRC fails. */
        fdc_fail(s, FD_SR1_DE, FD_SR2_DD);
        return;
    }
    memcpy(s->buf, data, FD_SECTOR_SIZE);
    fdc_want_unit(s);
}

static void fdc_format_track(FDCtrl *s)
{
    fdc_select(s, s->fifo[1]);
    s->n = s->fifo[2];
    s->sectors_left = s->fifo[3];
    s->filler = s->fifo[5];
    s->c = s->h = s->r = 0;
    if (!fdc_writable(s)) {
        return;
    }
    if (!s->sectors_left) {
        fdc_end_data_command(s, s->c, s->h, s->r);
        return;
    }
    fdc_start_exec(s, FD_XFER_FORMAT);
    fdc_want_unit(s);
}

/* One ID of FORMAT TRACK is done: the next, or the end (the last, TC). */
static bool fdc_format_next(FDCtrl *s, bool tc)
{
    if (--s->sectors_left == 0 || tc) {
        fdc_end_data_command(s, s->c, s->h, s->r);
        return false;
    }
    return true;
}

/* The sector an ID formatted is on the image (or failed). */
static void fdc_format_stored(FDCtrl *s, int ret)
{
    if (ret < 0) {
        fdc_fail(s, FD_SR1_NW, 0);
        return;
    }
    if (fdc_format_next(s, s->io_tc)) {
        fdc_want_unit(s);
    }
}

/*
 * One sector ID of FORMAT TRACK: the sector gets the filler byte when the
 * ID names a sector of the medium's layout on this track and side; other
 * IDs would make a layout an image cannot hold and are dropped.
 */
static bool fdc_format_id_done(FDCtrl *s, bool tc)
{
    FDrive *d = fdc_drive(s, s->drv);
    const FDGeometry *g;
    uint8_t sector[FD_SECTOR_SIZE];

    if (!fdc_track_readable(s, d)) {
        /* the monitor took the medium out meanwhile */
        fdc_fail(s, FD_SR1_MA, 0);
        return false;
    }
    g = d->geo;
    s->c = s->buf[0];
    s->h = s->buf[1];
    s->r = s->buf[2];
    s->n = s->buf[3];
    s->buf_pos = 0;
    if (s->c == d->track && s->h == s->head && s->n == FD_SECTOR_N &&
        s->r >= 1 && s->r <= g->sectors) {
        /* fdc_format_stored goes on once it is written */
        memset(sector, s->filler, sizeof(sector));
        if (!fdc_store_sector(s, s->c, s->r, sector, tc)) {
            fdc_fail(s, FD_SR1_NW, 0);
            return false;
        }
        return true;
    }
    return fdc_format_next(s, tc);
}

/*
 * VERIFY: the sectors are looked for but no data moves.  EC = 1: SC
 * (the DTL byte) sectors; EC = 0: up to EOT.  Either ends normally when
 * done; a sector missing on the way ends with its error.
 */
static void fdc_verify(FDCtrl *s)
{
    bool ec = s->fifo[1] & FD_VERIFY_EC;
    unsigned count = ec ? s->fifo[8] : 0;
    uint64_t off;

    fdc_select(s, s->fifo[1]);
    s->mt = s->fifo[0] & FD_CMD_MT;
    s->c = s->fifo[2];
    s->h = s->fifo[3];
    s->r = s->fifo[4];
    s->n = s->fifo[5];
    s->eot = s->eot_last = s->fifo[6];
    fdc_implied_seek(s);
    for (;;) {
        if (!fdc_find_sector(s, &off)) {
            return;
        }
        if (ec && --count == 0) {
            break;
        }
        if (s->r != s->eot) {
            s->r++;
        } else if (s->mt && !(s->h & 1)) {
            s->h ^= 1;
            s->head ^= 1;
            s->r = 1;
        } else if (!ec) {
            break;
        } else {
            s->r++;     /* SC past the track: not found next round */
        }
    }
    fdc_end_after_sector(s, 0, 0);
}

/*
 * The host I/O of a sector came back: the command goes on (its DMA may
 * run from here, on the main loop, as the controller's own work).  An
 * orphaned request only goes.
 */
static void fdc_io_done(void *opaque, int ret)
{
    FDIoReq *req = opaque;
    FDCtrl *s = req->s;

    if (!s) {
        g_free(req);
        return;
    }
    s->sector_io = NULL;
    memory_io_owner_enter(s);
    switch (s->xfer) {
    case FD_XFER_READ:
        fdc_sector_loaded(s, ret, req->buf);
        break;
    case FD_XFER_WRITE:
        fdc_sector_stored(s, ret);
        break;
    case FD_XFER_FORMAT:
        fdc_format_stored(s, ret);
        break;
    default:
        break;
    }
    memory_io_owner_leave();
    g_free(req);
}

/* ---- moving the data: the DMA handler and the FIFO ---------------------- */

static unsigned fdc_unit_size(const FDCtrl *s)
{
    return s->xfer == FD_XFER_FORMAT ? FD_FORMAT_ID_SIZE : FD_SECTOR_SIZE;
}

/* The current unit is complete (or TC came); false when it all ended.
 * The next unit may wait for the host I/O of a sector (s->sector_io). */
static bool fdc_unit_done(FDCtrl *s, bool tc)
{
    switch (s->xfer) {
    case FD_XFER_READ:
        return fdc_next_sector(s, tc);
    case FD_XFER_WRITE:
        return fdc_write_sector_done(s, tc);
    case FD_XFER_FORMAT:
        return fdc_format_id_done(s, tc);
    default:
        return false;
    }
}

static void fdc_dma_transfer(void *opaque, unsigned nchan)
{
    FDCtrl *s = opaque;

    while (s->phase == FD_PHASE_EXEC && s->xfer_dma && !s->sector_io) {
        unsigned unit = fdc_unit_size(s);
        uint8_t *p = s->buf + s->buf_pos;
        size_t want = unit - s->buf_pos;
        bool tc = false;
        size_t n;

        n = s->xfer == FD_XFER_READ
            ? i8257_dma_write_memory(nchan, p, want, &tc)
            : i8257_dma_read_memory(nchan, p, want, &tc);
        s->buf_pos += n;
        if (s->buf_pos < unit && !tc) {
            return;     /* the channel stopped: wait until granted again */
        }
        fdc_unit_done(s, tc);
    }
}

/* DREQ follows the execution phase of a DMA transfer, gated by DMAEN;
 * it drops while a sector's host I/O is out. */
static void fdc_update_dreq(FDCtrl *s)
{
    if (s->phase == FD_PHASE_EXEC && s->xfer_dma && !s->sector_io &&
        (s->dor & FD_DOR_DMAEN) && !fdc_in_reset(s)) {
        i8257_hold_dreq(s->dma);
    } else {
        i8257_release_dreq(s->dma);
    }
}

/* Non-DMA execution phase: one byte through the FIFO. */
static uint8_t fdc_pio_read(FDCtrl *s)
{
    uint8_t v;

    if (s->xfer != FD_XFER_READ || s->sector_io) {
        return 0;       /* no RQM: nothing to read yet */
    }
    v = s->buf[s->buf_pos++];
    if (s->buf_pos < FD_SECTOR_SIZE) {
        fdc_pulse_int(s);
    } else if (fdc_unit_done(s, false)) {
        fdc_want_unit(s);
    }
    return v;
}

static void fdc_pio_write(FDCtrl *s, uint8_t val)
{
    if ((s->xfer != FD_XFER_WRITE && s->xfer != FD_XFER_FORMAT) ||
        s->sector_io) {
        return;         /* no RQM: the byte is lost */
    }
    s->buf[s->buf_pos++] = val;
    if (s->buf_pos < fdc_unit_size(s)) {
        fdc_pulse_int(s);
    } else if (fdc_unit_done(s, false)) {
        fdc_want_unit(s);
    }
}

/* ---- other commands ------------------------------------------------------- */

static void fdc_specify(FDCtrl *s)
{
    s->srt_hut = s->fifo[1];
    s->hlt_nd = s->fifo[2];
    fdc_to_command_phase(s);
}

static void fdc_sense_drive_status(FDCtrl *s)
{
    uint8_t ds = s->fifo[1] & FD_SR3_DS;
    FDrive *d = fdc_drive(s, ds);
    uint8_t st3 = ds | FD_SR3_RDY | FD_SR3_ONE |
                  ((s->fifo[1] & FD_HDS) ? FD_SR3_HEAD : 0);

    if (d && d->track == 0) {
        st3 |= FD_SR3_TRK0;
    }
    if (d && fdrive_has_medium(d) && d->read_only) {
        st3 |= FD_SR3_WP;
    }
    s->fifo[0] = st3;
    fdc_to_result_phase(s, 1, false);
}

/* A seek ended on drive @ds: its interrupt waits for SENSE INTERRUPT. */
static void fdc_seek_done(FDCtrl *s, uint8_t ds, uint8_t st0)
{
    s->seek_st0[ds] = st0 | ds;
    s->seek_pending |= 1u << ds;
    if (s->reset_sensei) {
        s->reset_sensei = 0;
        s->int_pending = false;
    }
    fdc_to_command_phase(s);
    fdc_update_irq(s);
}

/* A step pulse with a medium in clears the disk-change line. */
static void fdc_move_head(FDrive *d, uint8_t track)
{
    d->track = track;
    if (fdrive_has_medium(d)) {
        d->media_changed = false;
    }
}

static void fdc_recalibrate(FDCtrl *s)
{
    uint8_t ds = s->fifo[1] & FD_SR0_DS;
    FDrive *d = fdc_drive(s, ds);

    s->head = 0;
    if (!d) {
        /* No track 0 signal after the steps: equipment check. */
        s->pcn[ds] = (uint8_t)(s->pcn[ds] - FD_RECAL_STEPS);
        fdc_seek_done(s, ds, FD_SR0_SEEK | FD_SR0_EQPMT | FD_SR0_ABNTERM);
        return;
    }
    fdc_move_head(d, 0);
    s->pcn[ds] = 0;
    fdc_seek_done(s, ds, FD_SR0_SEEK);
}

static void fdc_seek(FDCtrl *s)
{
    uint8_t ds = s->fifo[1] & FD_SR0_DS;
    uint8_t hd = (s->fifo[1] & FD_HDS) ? FD_SR0_HEAD : 0;
    FDrive *d = fdc_drive(s, ds);
    int target = s->fifo[2];

    if (s->fifo[0] & FD_CMD_RELATIVE) {
        int delta = (s->fifo[0] & FD_CMD_SEEK_IN) ? s->fifo[2] : -s->fifo[2];
        target = (d ? d->track : s->pcn[ds]) + delta;
        /* The head stops at track 0 and at the last step the PCN holds. */
        target = MAX(0, MIN(target, 255));
    }
    s->head = hd ? 1 : 0;
    s->pcn[ds] = target;
    if (d) {
        fdc_move_head(d, target);
    }
    fdc_seek_done(s, ds, FD_SR0_SEEK | hd);
}

static void fdc_sense_interrupt(FDCtrl *s)
{
    if (s->reset_sensei) {
        unsigned ds = FD_RESET_SENSEI - s->reset_sensei--;
        s->fifo[0] = FD_SR0_RDYCHG | ds;
        s->fifo[1] = s->pcn[ds];
        s->int_pending = false;
    } else if (s->seek_pending) {
        unsigned ds = __builtin_ctz(s->seek_pending);
        s->fifo[0] = s->seek_st0[ds];
        s->fifo[1] = s->pcn[ds];
        s->seek_pending &= ~(1u << ds);
    } else {
        fdc_invalid_command(s);
        return;
    }
    fdc_update_irq(s);
    fdc_to_result_phase(s, 2, false);
}

static void fdc_read_id(FDCtrl *s)
{
    FDrive *d;

    fdc_select(s, s->fifo[1]);
    d = fdc_drive(s, s->drv);
    s->n = FD_SECTOR_N;
    if (!fdc_track_readable(s, d)) {
        s->c = d ? d->track : s->pcn[s->drv];
        s->h = s->head;
        s->r = 0;
        fdc_fail(s, FD_SR1_MA, 0);
        return;
    }
    /* The next ID that passes under the head. */
    d->id_sector = d->id_sector % d->geo->sectors + 1;
    fdc_end_data_command(s, d->track, s->head, d->id_sector);
}

static void fdc_version(FDCtrl *s)
{
    s->fifo[0] = FD_VERSION_ENHANCED;
    fdc_to_result_phase(s, 1, false);
}

static void fdc_part_id(FDCtrl *s)
{
    s->fifo[0] = FD_PART_ID_82078;
    fdc_to_result_phase(s, 1, false);
}

static void fdc_configure(FDCtrl *s)
{
    s->config = s->fifo[2];
    s->pretrk = s->fifo[3];
    fdc_to_command_phase(s);
}

static void fdc_dumpreg(FDCtrl *s)
{
    memcpy(s->fifo, s->pcn, FDC_DS_DRIVES);
    s->fifo[4] = s->srt_hut;
    s->fifo[5] = s->hlt_nd;
    s->fifo[6] = s->eot_last;
    s->fifo[7] = (s->lock ? 0x80 : 0) | (s->perpendicular & 0x3f);
    s->fifo[8] = s->config;
    s->fifo[9] = s->pretrk;
    fdc_to_result_phase(s, 10, false);
}

static void fdc_perpendicular(FDCtrl *s)
{
    uint8_t v = s->fifo[1];
    uint8_t drives = (v & FD_PERP_OW) ? v & FD_PERP_DRIVES
                                      : s->perpendicular & FD_PERP_DRIVES;

    s->perpendicular = drives | (v & FD_PERP_GAP_WGATE);
    fdc_to_command_phase(s);
}

static void fdc_lock(FDCtrl *s)
{
    s->lock = s->fifo[0] & FD_CMD_LOCK;
    s->fifo[0] = s->lock ? 0x10 : 0x00;
    fdc_to_result_phase(s, 1, false);
}

typedef struct FDCommand {
    uint8_t value, mask;        /* (byte & mask) == value */
    uint8_t len;                /* command bytes, the first included */
    void (*run)(FDCtrl *s);
} FDCommand;

static const FDCommand fd_commands[] = {
    { 0x06, 0x1f, 9, fdc_read_data },           /* MT MFM SK 00110 */
    { 0x05, 0x3f, 9, fdc_write_data },          /* MT MFM 000101 */
    { 0x16, 0x1f, 9, fdc_verify },              /* MT MFM SK 10110 */
    { 0x0a, 0xbf, 2, fdc_read_id },             /* 0 MFM 001010 */
    { 0x0d, 0xbf, 6, fdc_format_track },        /* 0 MFM 001101 */
    { 0x03, 0xff, 3, fdc_specify },
    { 0x04, 0xff, 2, fdc_sense_drive_status },
    { 0x07, 0xff, 2, fdc_recalibrate },
    { 0x08, 0xff, 1, fdc_sense_interrupt },
    { 0x0f, 0x3f, 3, fdc_seek },                /* RS DIR 001111 */
    { 0x10, 0xff, 1, fdc_version },
    { 0x13, 0xff, 4, fdc_configure },
    { 0x0e, 0xff, 1, fdc_dumpreg },
    { 0x12, 0xff, 2, fdc_perpendicular },
    { 0x14, 0x7f, 1, fdc_lock },                /* LOCK 0010100 */
    { 0x18, 0xff, 1, fdc_part_id },
};

static const FDCommand *fdc_decode(uint8_t byte)
{
    for (unsigned i = 0; i < ARRAY_SIZE(fd_commands); i++) {
        if ((byte & fd_commands[i].mask) == fd_commands[i].value) {
            return &fd_commands[i];
        }
    }
    return NULL;
}

/* A byte written to the FIFO in the command phase. */
static void fdc_command_byte(FDCtrl *s, uint8_t val)
{
    const FDCommand *cmd;

    if (s->fifo_pos == 0) {
        cmd = fdc_decode(val);
        if (!cmd) {
            fdc_invalid_command(s);
            return;
        }
        s->fifo_len = cmd->len;
    }
    s->fifo[s->fifo_pos++] = val;
    if (s->fifo_pos >= s->fifo_len) {
        cmd = fdc_decode(s->fifo[0]);
        cmd->run(s);
    }
}

/* ---- resets --------------------------------------------------------------- */

/* What a software reset (DOR or DSR) clears; LOCK keeps the FIFO set-up. */
static void fdc_soft_reset(FDCtrl *s, bool polling_irq)
{
    fdc_orphan_io(s);
    if (!s->lock) {
        s->config = FD_CONFIG_EFIFO;
        s->pretrk = 0;
    }
    s->perpendicular &= FD_PERP_DRIVES;
    s->seek_pending = 0;
    s->int_pending = false;
    s->reset_sensei = 0;
    s->head = 0;
    s->dsr &= ~FD_DSR_SWRESET;
    fdc_to_command_phase(s);
    if (polling_irq && !(s->config & FD_CONFIG_POLL)) {
        s->reset_sensei = FD_RESET_SENSEI;
        s->int_pending = true;
    }
    fdc_update_irq(s);
}

static void fdc_write_dor(FDCtrl *s, uint8_t val)
{
    bool was_reset = fdc_in_reset(s);

    s->dor = val;
    if (!was_reset && fdc_in_reset(s)) {
        fdc_soft_reset(s, false);
    } else if (was_reset && !fdc_in_reset(s)) {
        fdc_soft_reset(s, true);
    }
    fdc_update_dreq(s);
    fdc_update_irq(s);
}

static void fdc_write_dsr(FDCtrl *s, uint8_t val)
{
    s->dsr = val & ~FD_DSR_SWRESET;
    if (val & FD_DSR_SWRESET) {
        fdc_soft_reset(s, true);
    }
}

/* ---- port access ---------------------------------------------------------- */

static uint8_t fdc_read_fifo(FDCtrl *s)
{
    uint8_t v;

    if (fdc_in_reset(s)) {
        return 0;
    }
    if (s->phase == FD_PHASE_EXEC) {
        return s->xfer_dma ? 0 : fdc_pio_read(s);
    }
    if (s->phase != FD_PHASE_RESULT) {
        return 0;
    }
    if (s->fifo_pos == 0 && s->int_pending) {
        /* Reading the first result byte clears the interrupt. */
        s->int_pending = false;
        fdc_update_irq(s);
    }
    v = s->fifo[s->fifo_pos++];
    if (s->fifo_pos >= s->fifo_len) {
        fdc_to_command_phase(s);
    }
    return v;
}

static void fdc_write_fifo(FDCtrl *s, uint8_t val)
{
    if (fdc_in_reset(s)) {
        return;
    }
    if (s->phase == FD_PHASE_COMMAND) {
        fdc_command_byte(s, val);
    } else if (s->phase == FD_PHASE_EXEC && !s->xfer_dma) {
        fdc_pio_write(s, val);
    }
}

static uint64_t fdc_io_read(void *opaque, uint64_t addr, unsigned size)
{
    FDCtrl *s = opaque;

    switch (addr) {
    case FD_REG_SRA:
        return fdc_read_sra(s);
    case FD_REG_SRB:
        return fdc_read_srb(s);
    case FD_REG_DOR:
        return s->dor;
    case FD_REG_TDR:
        return s->tdr;
    case FD_REG_MSR:
        return fdc_read_msr(s);
    case FD_REG_FIFO:
        return fdc_read_fifo(s);
    default:
        return 0xff;
    }
}

static void fdc_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    FDCtrl *s = opaque;

    switch (addr) {
    case FD_REG_DOR:
        fdc_write_dor(s, val);
        break;
    case FD_REG_TDR:
        s->tdr = val & 0x03;
        break;
    case FD_REG_DSR:
        fdc_write_dsr(s, val);
        break;
    case FD_REG_FIFO:
        fdc_write_fifo(s, val);
        break;
    default:
        break;          /* SRA and SRB are read-only */
    }
}

static const MemoryRegionOps fdc_ops = {
    .read = fdc_io_read,
    .write = fdc_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static uint64_t fdc_dir_read(void *opaque, uint64_t addr, unsigned size)
{
    return fdc_read_dir(opaque);
}

static void fdc_ccr_write(void *opaque, uint64_t addr, uint64_t val,
                          unsigned size)
{
    FDCtrl *s = opaque;

    s->dsr = (s->dsr & ~FD_DSR_RATE) | (val & FD_DSR_RATE);
}

static const MemoryRegionOps fdc_dir_ops = {
    .read = fdc_dir_read,
    .write = fdc_ccr_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- drives --------------------------------------------------------------- */

static bool fdrive_parse_type(const char *name, FDriveType *type,
                              GError **errp)
{
    for (unsigned i = 0; i < ARRAY_SIZE(fdrive_types); i++) {
        if (!strcmp(name, fdrive_types[i].name)) {
            *type = i;
            return true;
        }
    }
    error_setg(errp, "Property 'drive-type' does not accept value '%s' "
               "(auto, 144, 288, 120, none)", name);
    return false;
}

/*
 * Put drive @di (NULL: an empty drive) on @unit.  "auto" takes the type
 * from the medium, or 2.88 MB for an empty drive (QEMU's fallback).
 */
/*
 * Take the geometry, size and write protection from the backend's medium;
 * without one (or with an image no floppy holds) the drive is empty.
 */
static bool fdrive_load_medium(FDrive *d, GError **errp)
{
    uint64_t size;

    d->geo = NULL;
    d->image_size = 0;
    d->read_only = false;
    if (!d->blk || !blk_is_inserted(d->blk)) {
        return true;
    }
    size = blk_getlength(d->blk);
    if (!fd_geometry_for_size(size)) {
        error_setg(errp, "floppy image '%s' is %" PRIu64 " bytes, larger "
                   "than any floppy (2.88 MB at most)",
                   bdrv_filename(blk_bs(d->blk)), size);
        return false;
    }
    d->geo = fd_geometry_for_size(size);
    d->image_size = size;
    d->read_only = blk_is_read_only(d->blk);
    return true;
}

/* The monitor changed or ejected the disk (change, eject,
 * blockdev-change-medium): the disk-change line goes up. */
static void fdrive_change_media_cb(void *opaque, bool load)
{
    FDrive *d = opaque;
    g_autoptr(GError) err = NULL;

    if (!fdrive_load_medium(d, &err)) {
        /* The drive cannot read it: to the guest the drive stays empty. */
        error_report("%s", err->message);
    }
    d->media_changed = true;
}

static void fdrive_resize_cb(void *opaque)
{
    fdrive_change_media_cb(opaque, true);
}

static const BlockDevOps fdrive_dev_ops = {
    .change_media_cb = fdrive_change_media_cb,
    .resize_cb = fdrive_resize_cb,
};

/*
 * Put backend @blk (NULL: an empty drive without one) on @unit for device
 * @dev (NULL: the machine's own -drive if=floppy).  "auto" takes the type
 * from the medium, or 2.88 MB for an empty drive (QEMU's fallback).
 */
static bool fdc_attach(FDCtrl *s, int unit, BlockBackend *blk,
                       DeviceState *dev, const char *type_name,
                       GError **errp)
{
    FDrive *d = &s->drives[unit];
    FDriveType type;

    if (!fdrive_parse_type(type_name ? type_name : "auto", &type, errp)) {
        return false;
    }
    if (d->attached) {
        error_setg(errp, "Floppy unit %d is in use", unit);
        return false;
    }
    if (blk && blk_is_attached(blk)) {
        error_setg(errp, "Drive '%s' is already in use by another device",
                   blk_name(blk));
        return false;
    }
    /* QEMU's floppy drive cannot be resized */
    if (blk && !blk_set_dev_perm(blk, false, false, errp)) {
        return false;
    }
    d->blk = blk;
    if (!fdrive_load_medium(d, errp)) {
        d->blk = NULL;
        if (blk) {
            blk_detach_dev(blk);    /* drops the device's permissions */
        }
        return false;
    }
    if (type == FDRIVE_AUTO) {
        type = d->geo ? d->geo->drive : FDRIVE_288;
    }
    d->type = type;
    d->attached = true;
    d->media_changed = true;
    d->drive_id = g_strdup(blk ? blk_name(blk) : "");
    if (blk) {
        blk_attach_dev(blk, dev, NULL);
        blk_set_dev_ops(blk, &fdrive_dev_ops, d);
    }
    return true;
}

static void fdc_detach_all(FDCtrl *s)
{
    for (int i = 0; i < FDC_MAX_DRIVES; i++) {
        if (s->drives[i].blk) {
            blk_set_dev_ops(s->drives[i].blk, NULL, NULL);
            blk_detach_dev(s->drives[i].blk);
        }
        g_free(s->drives[i].drive_id);
        memset(&s->drives[i], 0, sizeof(s->drives[i]));
    }
}

static void fdc_add_boot_path(int32_t bootindex, int unit)
{
    /* The path SeaBIOS builds for the PIIX3's floppy controller. */
    g_autofree char *path = g_strdup_printf(
        "/pci@i0cf8/isa@1/fdc@%04x/floppy@%x", FDC_ISA_IOBASE, unit);

    if (bootindex >= 0) {
        fw_boot_order_add(bootindex, path);
    }
}

/* isa-fdc.driveA / driveB: drives named on the controller itself. */
static bool fdc_attach_named(FDCtrl *s, int unit, const char *id,
                             int32_t bootindex, GError **errp)
{
    DriveInfo *di;

    if (!id) {
        return true;
    }
    di = drive_find_by_id(id);
    if (!di) {
        error_setg(errp, "Property 'drive%c': drive '%s' not found",
                   'A' + unit, id);
        return false;
    }
    if (!fdc_attach(s, unit, di->blk, NULL, NULL, errp)) {
        return false;
    }
    fdc_add_boot_path(bootindex, unit);
    return true;
}

/* ---- the device ----------------------------------------------------------- */

static bool fdc_realize(DeviceState *dev, GError **errp)
{
    FDCtrl *s = (FDCtrl *)dev;

    if (fdc_instance) {
        error_setg(errp, "isa-fdc: the machine has a floppy controller "
                   "already");
        return false;
    }
    if (s->iobase > 0x10000 - 8 || s->irq > 15 ||
        s->dma >= I8257_NUM_CHANNELS || s->dma == 4) {
        error_setg(errp, "isa-fdc: iobase 0x%x, irq %u or dma %u out of "
                   "range", s->iobase, s->irq, s->dma);
        return false;
    }
    if (!fdc_attach_named(s, 0, s->drive_a, s->bootindex_a, errp) ||
        !fdc_attach_named(s, 1, s->drive_b, s->bootindex_b, errp)) {
        fdc_detach_all(s);
        return false;
    }
    s->irq_line = isa_get_irq(s->irq);
    /* 0x3f6 is the IDE channel's device control register. */
    memory_region_init_io(&s->io, &fdc_ops, s, "fdc", 6);
    memory_region_init_io(&s->io_dir, &fdc_dir_ops, s, "fdc-dir", 1);
    isa_register_ioport(&s->parent, &s->io, s->iobase);
    isa_register_ioport(&s->parent, &s->io_dir, s->iobase + FD_REG_DIR);
    i8257_register_channel(s->dma, fdc_dma_transfer, s);
    fdc_instance = s;
    return true;
}

static void fdc_unrealize(DeviceState *dev)
{
    FDCtrl *s = (FDCtrl *)dev;

    fdc_orphan_io(s);
    i8257_release_dreq(s->dma);
    i8257_register_channel(s->dma, NULL, NULL);
    memory_region_destroy(&s->io);
    memory_region_destroy(&s->io_dir);
    fdc_detach_all(s);
    if (fdc_instance == s) {
        fdc_instance = NULL;
    }
}

/* Power-on: out of reset with DMA/INT enabled, as QEMU leaves it. */
static void fdc_reset(DeviceState *dev)
{
    FDCtrl *s = (FDCtrl *)dev;

    s->dor = FD_DOR_nRESET | FD_DOR_DMAEN;
    s->tdr = 0;
    s->dsr = FD_RATE_500K;
    s->lock = false;
    s->srt_hut = s->hlt_nd = s->eot_last = 0;
    s->perpendicular = 0;
    memset(s->pcn, 0, sizeof(s->pcn));
    memset(s->seek_st0, 0, sizeof(s->seek_st0));
    s->c = s->h = s->r = s->n = s->eot = 0;
    s->drv = 0;
    s->mt = false;
    for (int i = 0; i < FDC_MAX_DRIVES; i++) {
        s->drives[i].track = 0;
        s->drives[i].id_sector = 0;
        s->drives[i].media_changed = true;
    }
    fdc_soft_reset(s, false);
}

static const VMStateDescription vmstate_fdrive = {
    .name = "fdrive",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(track, FDrive),
        VMSTATE_UINT8(id_sector, FDrive),
        VMSTATE_BOOL(media_changed, FDrive),
        VMSTATE_END_OF_LIST()
    },
};

/* A loaded state is made consistent with what is attached. */
static int fdc_post_load(void *opaque, int version_id)
{
    FDCtrl *s = opaque;

    /* vm_stop drained the sector I/O; none belongs to the loaded state */
    fdc_orphan_io(s);
    s->fifo_len = MIN(s->fifo_len, FDC_FIFO_SIZE);
    s->fifo_pos = MIN(s->fifo_pos, s->fifo_len);
    s->reset_sensei = MIN(s->reset_sensei, FD_RESET_SENSEI);
    s->seek_pending &= FD_MSR_DRV_BUSY;
    s->drv &= FD_SR0_DS;
    s->head &= 1;
    s->buf_pos = MIN(s->buf_pos, FD_SECTOR_SIZE - 1);
    if (s->phase > FD_PHASE_RESULT) {
        s->phase = FD_PHASE_COMMAND;
    }
    if (s->phase == FD_PHASE_COMMAND && s->fifo_pos &&
        !fdc_decode(s->fifo[0])) {
        s->fifo_pos = 0;
    }
    if (s->phase == FD_PHASE_EXEC) {
        FDrive *d = fdc_drive(s, s->drv);
        /* The sector being moved must exist (no status is raised here). */
        bool sector_ok = fdc_track_readable(s, d) && s->c == d->track &&
                         s->h == s->head && s->n == FD_SECTOR_N &&
                         s->r >= 1 && s->r <= d->geo->sectors;
        if (s->xfer == FD_XFER_NONE || s->xfer > FD_XFER_FORMAT || !d ||
            !d->geo || (s->xfer == FD_XFER_FORMAT &&
                        s->buf_pos >= FD_FORMAT_ID_SIZE) ||
            (s->xfer != FD_XFER_FORMAT && !sector_ok)) {
            fdc_to_command_phase(s);
        }
    } else {
        s->xfer = FD_XFER_NONE;
    }
    for (int i = 0; i < FDC_MAX_DRIVES; i++) {
        if (!fdrive_has_medium(&s->drives[i])) {
            s->drives[i].media_changed = true;
        }
    }
    fdc_update_dreq(s);
    fdc_update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_fdc = {
    .name = "fdc",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = fdc_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(drives, FDCtrl, FDC_MAX_DRIVES, vmstate_fdrive,
                             FDrive),
        VMSTATE_UINT8(dor, FDCtrl),
        VMSTATE_UINT8(tdr, FDCtrl),
        VMSTATE_UINT8(dsr, FDCtrl),
        VMSTATE_UINT8(phase, FDCtrl),
        VMSTATE_UINT8_ARRAY(fifo, FDCtrl, FDC_FIFO_SIZE),
        VMSTATE_UINT8(fifo_pos, FDCtrl),
        VMSTATE_UINT8(fifo_len, FDCtrl),
        VMSTATE_BOOL(int_pending, FDCtrl),
        VMSTATE_UINT8(reset_sensei, FDCtrl),
        VMSTATE_UINT8(seek_pending, FDCtrl),
        VMSTATE_UINT8_ARRAY(seek_st0, FDCtrl, FDC_DS_DRIVES),
        VMSTATE_UINT8_ARRAY(pcn, FDCtrl, FDC_DS_DRIVES),
        VMSTATE_UINT8(srt_hut, FDCtrl),
        VMSTATE_UINT8(hlt_nd, FDCtrl),
        VMSTATE_UINT8(config, FDCtrl),
        VMSTATE_UINT8(pretrk, FDCtrl),
        VMSTATE_UINT8(perpendicular, FDCtrl),
        VMSTATE_UINT8(eot_last, FDCtrl),
        VMSTATE_BOOL(lock, FDCtrl),
        VMSTATE_UINT8(xfer, FDCtrl),
        VMSTATE_BOOL(xfer_dma, FDCtrl),
        VMSTATE_UINT8(drv, FDCtrl),
        VMSTATE_UINT8(head, FDCtrl),
        VMSTATE_UINT8(c, FDCtrl),
        VMSTATE_UINT8(h, FDCtrl),
        VMSTATE_UINT8(r, FDCtrl),
        VMSTATE_UINT8(n, FDCtrl),
        VMSTATE_UINT8(eot, FDCtrl),
        VMSTATE_BOOL(mt, FDCtrl),
        VMSTATE_UINT8(st0, FDCtrl),
        VMSTATE_UINT8(st1, FDCtrl),
        VMSTATE_UINT8(st2, FDCtrl),
        VMSTATE_UINT8(sectors_left, FDCtrl),
        VMSTATE_UINT8(filler, FDCtrl),
        VMSTATE_UINT16(buf_pos, FDCtrl),
        VMSTATE_UINT8_ARRAY(buf, FDCtrl, FD_SECTOR_SIZE),
        VMSTATE_END_OF_LIST()
    },
};

static const Property fdc_props[] = {
    DEFINE_PROP("iobase", FDCtrl, iobase, PROP_UINT32, "0x3f0",
                "I/O base (SRA); the controller decodes base+0..5 and +7"),
    DEFINE_PROP("irq", FDCtrl, irq, PROP_UINT32, "6", "ISA interrupt"),
    DEFINE_PROP("dma", FDCtrl, dma, PROP_UINT32, "2",
                "8237 DMA channel (0-3 8-bit, 5-7 16-bit)"),
    DEFINE_PROP("driveA", FDCtrl, drive_a, PROP_STRING, NULL,
                "the -drive id for unit 0"),
    DEFINE_PROP("driveB", FDCtrl, drive_b, PROP_STRING, NULL,
                "the -drive id for unit 1"),
    DEFINE_PROP("bootindexA", FDCtrl, bootindex_a, PROP_INT32, "-1",
                "boot order of driveA; -1: none"),
    DEFINE_PROP("bootindexB", FDCtrl, bootindex_b, PROP_INT32, "-1",
                "boot order of driveB; -1: none"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType fdc_type = {
    .name = TYPE_ISA_FDC,
    .parent = TYPE_ISA_DEVICE,
    .desc = "ISA floppy disk controller (Intel 82078)",
    .instance_size = sizeof(FDCtrl),
    .category = DEVICE_CATEGORY_STORAGE,
    .props = fdc_props,
    .realize = fdc_realize,
    .unrealize = fdc_unrealize,
    .reset = fdc_reset,
    .vmsd = &vmstate_fdc,
};

/* ---- -device floppy ------------------------------------------------------- */

typedef struct FloppyDrive {
    DeviceState parent;
    char *drive;
    int32_t unit;
    char *drive_type;
    int32_t bootindex;
} FloppyDrive;

/* The drive= backend (a drive id or a node name), or a new empty
 * anonymous one so the monitor can insert a disk later by the device's
 * id (*made set: the caller deletes it on failure). */
static BlockBackend *floppy_backend(FloppyDrive *f, bool *made,
                                    GError **errp)
{
    BlockBackend *blk;

    *made = false;
    if (f->drive) {
        blk = blockdev_backend_for_device(f->drive, errp);
        *made = blk && !*blk_name(blk);
        return blk;
    }
    blk = blk_new(NULL);
    blk_set_open_flags(blk, BDRV_O_RDWR);
    *made = true;
    return blk;
}

static bool floppy_realize(DeviceState *dev, GError **errp)
{
    FloppyDrive *f = (FloppyDrive *)dev;
    BlockBackend *blk;
    int unit = f->unit;
    bool made;

    if (!fdc_instance) {
        error_setg(errp, "no floppy controller to attach to");
        return false;
    }
    if (unit > FDC_MAX_DRIVES - 1 || unit < -1) {
        error_setg(errp, "unit %d is not 0 or 1", unit);
        return false;
    }
    if (unit < 0) {
        for (unit = 0; unit < FDC_MAX_DRIVES &&
                       fdc_instance->drives[unit].attached; unit++) {
        }
        if (unit == FDC_MAX_DRIVES) {
            error_setg(errp, "no free floppy unit for the drive");
            return false;
        }
    }
    blk = floppy_backend(f, &made, errp);
    if (!blk) {
        return false;
    }
    if (!fdc_attach(fdc_instance, unit, blk, dev, f->drive_type, errp)) {
        if (made) {
            blk_delete(blk);
        }
        return false;
    }
    fdc_add_boot_path(f->bootindex, unit);
    return true;
}

static const Property floppy_props[] = {
    DEFINE_PROP("drive", FloppyDrive, drive, PROP_STRING, NULL,
                "the -drive id or node name of the image (none: an "
                "empty drive)"),
    DEFINE_PROP("unit", FloppyDrive, unit, PROP_INT32, "-1",
                "0 (A:) or 1 (B:); -1: the first free one"),
    DEFINE_PROP("drive-type", FloppyDrive, drive_type, PROP_STRING, "auto",
                "auto, 144, 288, 120 or none (the CMOS drive type)"),
    DEFINE_PROP("bootindex", FloppyDrive, bootindex, PROP_INT32, "-1",
                "boot order for the firmware (lower first); -1: none"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType floppy_type = {
    .name = TYPE_FLOPPY,
    .parent = TYPE_DEVICE,
    .desc = "virtual floppy drive",
    .instance_size = sizeof(FloppyDrive),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = floppy_props,
    .realize = floppy_realize,
};

/* ---- the pc machine ------------------------------------------------------- */

/*
 * CMOS 10h: drive A's type in the high nibble, B's in the low one; 14h
 * (equipment) bit 0 "floppy drives installed" and bits 7-6 the number of
 * drives - 1, as QEMU's pc fills them.  At every reset, after the
 * devices, so -device floppy counts.
 */
static void fdc_cmos_update(void *opaque)
{
    DeviceState *rtc = device_find_by_type(TYPE_MC146818_RTC);
    uint8_t types = 0, equip;
    unsigned n = 0;

    if (!rtc) {
        return;
    }
    for (int i = 0; fdc_instance && i < FDC_MAX_DRIVES; i++) {
        FDrive *d = &fdc_instance->drives[i];
        if (d->attached && d->type != FDRIVE_NONE) {
            types |= fdrive_types[d->type].cmos << (i ? 0 : 4);
            n++;
        }
    }
    equip = mc146818rtc_get_cmos_data(rtc, CMOS_EQUIPMENT) & ~0xc1;
    if (n) {
        equip |= 0x01 | (n - 1) << 6;
    }
    mc146818rtc_set_cmos_data(rtc, CMOS_FLOPPY_TYPES, types);
    mc146818rtc_set_cmos_data(rtc, CMOS_EQUIPMENT, equip);
}

static bool pc_fdc_attach_if_floppy(GError **errp)
{
    GPtrArray *l = drive_list();

    for (unsigned i = 0; i < l->len; i++) {
        DriveInfo *di = g_ptr_array_index(l, i);
        if (di->type != IF_FLOPPY) {
            continue;
        }
        if (!fdc_attach(fdc_instance, di->unit, di->blk, NULL, NULL, errp)) {
            g_prefix_error(errp, "drive '%s': ", di->id);
            return false;
        }
    }
    return true;
}

bool pc_fdc_init(GError **errp)
{
    DeviceState *dev = device_new(TYPE_ISA_FDC, errp);

    if (!dev) {
        return false;
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return false;
    }
    qemu_register_reset(fdc_cmos_update, NULL);
    return pc_fdc_attach_if_floppy(errp);
}

static void fdc_register_types(void)
{
    device_type_register(&fdc_type);
    device_type_register(&floppy_type);
}
type_init(fdc_register_types)
