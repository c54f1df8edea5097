/*
 * IDE (ATA/ATAPI) channels and the drives on them.
 *
 * Specs: ANSI INCITS 361-2002 (ATA/ATAPI-6) and ATA/ATAPI-7 for the task
 * file, the commands and IDENTIFY; SFF-8038i rev 1.0 for the bus master
 * (hw/ide/piix-ide.c); MMC-3 and SPC-3 for the ATAPI packet commands
 * (hw/ide/atapi.c).
 *
 * An IDEBus is one channel: two drive slots (master, slave) sharing the
 * command block (task file) and control block registers and one interrupt
 * line.  The controller that owns the channel (PIIX3 IDE) gives it an
 * IDEBusOps: the interrupt line and, optionally, a bus master.  A drive
 * holds no pointer the guest can steer: every transfer's length and
 * position are checked against the drive's buffer and medium first.
 *
 * The same channel logic serves a SATA port of the AHCI controller
 * (hw/ide/ahci.c): one IDEBus per port, one drive (unit 0), the HBA
 * feeding the task file from the command FIS and carrying PIO blocks and
 * DMA through the PRD table with the ide_bus_pio_* calls and IDEBusOps.
 * Native command queuing (READ/WRITE FPDMA QUEUED) is the HBA's
 * (hw/ide/ahci-ncq.c: up to 32 tags in flight); the drive keeps its error
 * log, READ LOG EXT page 10h (ide_ncq_log_error).
 *
 * Sector I/O is asynchronous (blk_aio_*, completions on the backend's
 * context, the main loop): a drive has at most one request in flight,
 * shows BSY meanwhile and takes no command, and its completion moves the
 * command on (the next PIO block, the next DMA chunk, the end with its
 * interrupt).  docs/ide.md "I/O and threads".
 */
#ifndef HW_IDE_IDE_H
#define HW_IDE_IDE_H

#include "qemu/osdep.h"
#include "block/block-backend.h"
#include "migration/vmstate.h"

#define IDE_SECTOR_SIZE     512
#define ATAPI_SECTOR_SIZE   2048
#define IDE_BUF_SIZE        (64 * KiB)  /* PIO/DMA bounce buffer per drive */
#define IDE_MAX_MULT        16          /* READ/WRITE MULTIPLE block, sectors */

/* Status register (ATA-6 7.15) */
#define IDE_STAT_BSY    0x80
#define IDE_STAT_DRDY   0x40
#define IDE_STAT_DF     0x20
#define IDE_STAT_DSC    0x10
#define IDE_STAT_DRQ    0x08
#define IDE_STAT_ERR    0x01

/* Error register (ATA-6 7.9) */
#define IDE_ERR_UNC     0x40
#define IDE_ERR_IDNF    0x10
#define IDE_ERR_ABRT    0x04

/* Device control register (ATA-6 7.8) */
#define IDE_CTL_HOB     0x80
#define IDE_CTL_SRST    0x04
#define IDE_CTL_NIEN    0x02

/* Device/head register */
#define IDE_SEL_LBA     0x40
#define IDE_SEL_DEV     0x10

/* ATAPI interrupt reason (the sector count register, ATA-6 8.23) */
#define ATAPI_IREASON_COD   0x01
#define ATAPI_IREASON_IO    0x02

typedef enum IDEDriveKind {
    IDE_KIND_NONE,
    IDE_KIND_HD,
    IDE_KIND_CD,
} IDEDriveKind;

/* What finishing the current data-port block leads to (a value, so it
 * can be saved). */
typedef enum IDEXfer {
    IDE_XFER_NONE,
    IDE_XFER_PIO_IN_ONCE,   /* IDENTIFY and friends: one block, then done */
    IDE_XFER_READ,          /* READ SECTORS / MULTIPLE */
    IDE_XFER_WRITE,         /* WRITE SECTORS / MULTIPLE */
    IDE_XFER_PACKET,        /* the 12-byte ATAPI command packet */
    IDE_XFER_ATAPI_IN,      /* ATAPI data-in */
} IDEXfer;

/* What a bus master transfer ended with. */
typedef enum IDEDMAResult {
    IDE_DMA_OK,
    IDE_DMA_SHORT,          /* the PRD table ended before the data did */
    IDE_DMA_ERROR,          /* a PRD or a buffer outside RAM, a bad table */
} IDEDMAResult;

/* The request an I/O error stopped, to run again on resume. */
typedef enum IDERetryOp {
    IDE_RETRY_NONE,
    IDE_RETRY_PIO_READ,
    IDE_RETRY_PIO_WRITE,
    IDE_RETRY_DMA,
    IDE_RETRY_FLUSH,
} IDERetryOp;

typedef struct IDEBus IDEBus;
typedef struct IDEState IDEState;

/* What a drive does when its request in flight comes back: 0 or a
 * negative errno. */
typedef void IDEAioDone(IDEState *s, int ret);

struct IDEState {
    IDEBus *bus;
    /* configuration (from the drive, not guest state) */
    IDEDriveKind kind;
    BlockBackend *blk;          /* NULL: no drive; its root: the medium */
    char *drive_id;
    bool read_only;
    uint64_t nb_sectors;        /* 512-byte sectors of the medium */
    char serial[21];
    char model[41];
    uint16_t cyls, heads, secs;

    /* task file (ATA-6 7.x); hob_* are the "previous content" halves */
    uint8_t feature, error, nsector, sector, lcyl, hcyl, select, status;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t command;
    bool lba48;                 /* the current command is a 48-bit one */
    uint8_t mult_sectors;       /* SET MULTIPLE MODE; 0 = disabled */
    bool wce;                   /* volatile write cache enabled */
    uint8_t mdma_mode, udma_mode;   /* SET FEATURES transfer mode; 0xff none */
    bool irq_pending;

    /* the transfer in progress */
    uint8_t xfer;               /* IDEXfer */
    bool dma_pending;           /* waiting for the bus master's start bit */
    bool dma_to_disk;
    uint64_t cur_lba;
    uint32_t sectors_left;      /* ATA: sectors still to transfer */
    uint32_t block_sectors;     /* ATA: sectors in the current PIO block */
    uint32_t data_pos, data_end, buf_fill;
    uint8_t retry_op;           /* IDERetryOp: stopped on an I/O error */
    uint32_t dma_staged;        /* DMA write: sectors in io_buffer, not
                                 * yet on the medium (a retry writes them) */
    uint8_t io_buffer[IDE_BUF_SIZE];

    /* ATAPI */
    uint8_t packet[12];
    uint8_t sense_key, asc, ascq;
    bool tray_open, locked;
    bool unit_attention;        /* media changed, not yet reported */
    /* A monitor command changed the medium: the next command gets NOT
     * READY / medium not present (1), the one after UNIT ATTENTION (2),
     * so guests see the old medium go and the new one come (QEMU). */
    uint8_t media_changed;
    bool event_new_media;       /* GET EVENT STATUS NOTIFICATION pending */
    bool event_eject_request;   /* the monitor asked for the medium */
    bool atapi_dma;
    bool atapi_reading;         /* data-in comes from the medium */
    uint32_t atapi_left;        /* bytes of data-in still to send */
    uint32_t atapi_lba;         /* next 2048-byte sector to read */

    /* NCQ (SATA 2.6 13.7.5): a queued command failed and its log (READ
     * LOG EXT page 10h) has not been read; queued commands abort meanwhile */
    bool ncq_error;
    uint8_t ncq_err_tag, ncq_err_status, ncq_err_error;
    uint16_t ncq_err_count;
    uint64_t ncq_err_lba;

    /*
     * The backend request in flight.  Never saved: vm_stop drains every
     * backend before a state is saved, and the completion carries the
     * command on (to its end, or to the next request, which the drain
     * waits for too), so a saved drive has nothing in flight.
     */
    bool aio_busy;              /* a blk_aio_* request is out */
    bool aio_orphaned;          /* a reset came meanwhile: drop its result */
    bool aio_flush_next;        /* a write with the cache off: flush next */
    IDEAioDone *aio_done;       /* what the completion continues with */
    struct iovec aio_iov;       /* into io_buffer */
    BlkAioVec aio_vec;          /* request storage: nothing is allocated */
};

typedef struct IDEBusOps {
    void (*set_irq)(void *opaque, bool level);
    /* Whether the bus master's start bit is set. */
    bool (*dma_active)(void *opaque);
    /* Move @len bytes between @buf and the PRD table's next bytes. */
    IDEDMAResult (*dma_rw)(void *opaque, uint8_t *buf, uint32_t len,
                           bool to_memory);
    /* The drive finished (or gave up on) its part of the transfer. */
    void (*dma_end)(void *opaque, IDEDMAResult res);
    /*
     * Optional: a request of @s that was in flight (or held after an I/O
     * error and retried) came back and the drive moved on: a new data
     * phase, the end of its command, or another request (then
     * ide_drive_busy() is still true).  Runs on the main loop.  The PIIX3
     * needs nothing (the interrupt says it); AHCI carries on its command.
     */
    void (*drive_ready)(void *opaque, IDEState *s);
    /*
     * Optional, for a controller that keeps requests of its own for the
     * drive (AHCI's NCQ tags, each with its blk_aio_* requests):
     * in_flight says whether any is out (ide_bus_quiesce waits for them
     * too); retry_queued runs the ones an I/O error held (werror/rerror
     * stop), when the VM resumes, from the drive's retry callback.
     */
    bool (*in_flight)(void *opaque);
    void (*retry_queued)(void *opaque, IDEState *s);
} IDEBusOps;

struct IDEBus {
    IDEState ifs[2];
    int index;                  /* bus number: serials (QM000nn), messages */
    /* Set by the controller before ide_bus_register(). */
    char *name;                 /* -device's bus=: "ide.0", "ahci0.3" */
    char *fw_path;              /* firmware path up to the drive, e.g.
                                   "/pci@i0cf8/ide@1,1/drive@0" */
    uint8_t nb_units;           /* drives it takes: 2 (PATA), 1 (SATA) */
    uint8_t ncq_depth;          /* 0: no NCQ; else IDENTIFY's queue depth */
    uint8_t unit;               /* selected drive */
    uint8_t ctl;                /* device control register */
    bool irq_level;
    const IDEBusOps *ops;
    void *opaque;
    /* The controller's memory regions' owner (set before the first
     * request): completions run as its callbacks would, for the memory
     * dispatch's re-entrancy guard (a PRD aimed at its own registers). */
    const void *owner;
};

/* ---- the channel (hw/ide/ide-core.c) -------------------------------- */

void ide_bus_init(IDEBus *bus, int index, const IDEBusOps *ops,
                  void *opaque);
/*
 * The machine's IDE buses, in the order their controllers registered them
 * (the pc machine's PIIX3 channels first): -device ide-hd|ide-cd finds its
 * bus here by name, the monitor its drives.  @name, @fw_path and
 * @nb_units must be set; unregister (from the controller's unrealize)
 * frees name and fw_path.
 */
void ide_bus_register(IDEBus *bus);
void ide_bus_unregister(IDEBus *bus);
unsigned ide_bus_count(void);
IDEBus *ide_bus_nth(unsigned n);
IDEBus *ide_bus_find(const char *name);
/* Attach a drive to the backend @blk (whose root may be absent: an
 * empty CD-ROM); the drive registers its callbacks with it.  Fails on a
 * bad combination (a hard disk needs a medium, it must fit 48-bit LBA) or
 * when the image is locked elsewhere (@share_rw: the share-rw property). */
bool ide_drive_attach(IDEBus *bus, int unit, IDEDriveKind kind,
                      BlockBackend *blk, bool share_rw, GError **errp);
void ide_bus_reset(IDEBus *bus);
/*
 * Whether the drive is working on a request (in flight, or held by an I/O
 * error until the VM resumes): BSY, and its command is not over.
 */
bool ide_drive_busy(const IDEState *s);
/*
 * Before the controller goes away (unrealize): reset the bus and wait for
 * what its drives have in flight, whose completions would otherwise reach
 * freed memory.
 */
void ide_bus_quiesce(IDEBus *bus);
/* Wait for what the drives and the controller have in flight (a machine
 * reset: a late completion must not store into reused guest memory). */
void ide_bus_wait_idle(IDEBus *bus);
uint32_t ide_ioport_read(IDEBus *bus, uint32_t reg, unsigned size);
void ide_ioport_write(IDEBus *bus, uint32_t reg, uint32_t val,
                      unsigned size);
uint32_t ide_status_read(IDEBus *bus);          /* alternate status */
void ide_ctl_write(IDEBus *bus, uint32_t val);  /* device control */
/* The bus master's start bit went on: run a DMA command that waits. */
void ide_bus_dma_kick(IDEBus *bus);
/* After loading a saved state: the interrupt line follows the drives. */
void ide_bus_post_load(IDEBus *bus);

/*
 * For a host adapter that carries PIO data itself (AHCI: each DRQ block
 * goes between the drive's buffer and the PRD table).  The phase of the
 * selected drive and, for IN/OUT, the bytes of its current block.
 */
typedef enum IDEPIOPhase {
    IDE_PIO_IDLE,               /* no DRQ: the command is over (or DMA) */
    IDE_PIO_IN,                 /* data-in block ready */
    IDE_PIO_OUT,                /* waiting for a data-out block */
    IDE_PIO_PACKET,             /* waiting for the ATAPI command packet */
} IDEPIOPhase;
IDEPIOPhase ide_bus_pio_phase(IDEBus *bus, uint32_t *len);
/* Move the current block through ops->dma_rw, then go on as after the
 * data port's last word (next block, or the end of the command).  On a
 * failure the drive aborts the command (ABRT) and the result says why. */
IDEDMAResult ide_bus_pio_block(IDEBus *bus);
/* Hand the waiting drive its 12-byte ATAPI command packet. */
void ide_bus_pio_packet(IDEBus *bus, const uint8_t *packet);

/*
 * A queued command (READ/WRITE FPDMA QUEUED, ATA8-ACS 7.23/7.69) failed:
 * the drive's status shows ERR with @error (IDNF for a range off the
 * medium, ABRT otherwise) and, unless an earlier failure is still unread,
 * the NCQ command error log (READ LOG EXT page 10h, SATA 2.6 13.7.5) names
 * @tag.  While the log is unread the drive aborts every queued command
 * (ncq_error).  The queued transfers themselves belong to the host adapter
 * (hw/ide/ahci-ncq.c), which has a PRD table per command.
 */
void ide_ncq_log_error(IDEState *s, unsigned tag, uint64_t lba,
                       uint32_t count, uint8_t error);

extern const VMStateDescription vmstate_ide_drive;
extern const VMStateDescription vmstate_ide_bus;

/* ---- shared between ide-core.c and atapi.c -------------------------- */

void ide_set_irq(IDEState *s);
void ide_abort(IDEState *s);
void ide_set_signature(IDEState *s);
/* Run the drive's DMA transfer (bus master started and command waiting). */
void ide_dma_run(IDEState *s);
/* Start PIO data-in of io_buffer[0..len). */
void ide_pio_in(IDEState *s, uint32_t len, IDEXfer xfer);
/* Read @len bytes at @offset of the medium into io_buffer, asynchronously:
 * the drive is busy until @done runs (on the main loop). */
void ide_aio_read(IDEState *s, uint64_t offset, uint32_t len,
                  IDEAioDone *done);

/* hw/ide/atapi.c */
void atapi_identify(IDEState *s, uint16_t *w);
void atapi_packet_cmd(IDEState *s);       /* ATA PACKET (A0h) */
void atapi_execute(IDEState *s);          /* the packet has arrived */
void atapi_pio_next(IDEState *s);         /* one data-in chunk is done */
void atapi_dma_run(IDEState *s);
void atapi_reset(IDEState *s);
bool atapi_medium_present(const IDEState *s);
/* BlockDevOps of a CD-ROM drive (atapi.c). */
extern const BlockDevOps atapi_dev_ops;
/* Retry the request an I/O error stopped (ide-core.c). */
void ide_retry_request(void *opaque);

/* ---- PIIX3 IDE (hw/ide/piix-ide.c) ----------------------------------- */

#define TYPE_PIIX3_IDE "piix3-ide"
#define IDE_NUM_BUSES 2

/* The machine's PIIX3 IDE function's channel @n, or NULL without one. */
IDEBus *piix_ide_get_bus(int n);
/* Used by the monitor (any IDE bus, PIIX3 or AHCI): the tray of the drive
 * backed by -drive @drive_id; false if no IDE drive uses it. */
bool ide_drive_tray_state(const char *drive_id, bool *tray_open,
                          bool *locked);
/* Call @fn for every attached drive; @bus is its bus's registry index. */
void ide_for_each_drive(void (*fn)(IDEState *s, int bus, int unit,
                                   void *opaque), void *opaque);

#endif
