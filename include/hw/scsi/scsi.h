/*
 * The SCSI bus: host adapters (virtio-scsi-pci) own a bus, devices
 * (scsi-hd, scsi-cd) sit on it at channel/scsi-id/lun, and a command
 * travels as a SCSIRequest the adapter embeds in its own request (no
 * allocation per command).
 *
 * Specs: SAM-5 (addressing, status, unit attention), SPC-4 (REPORT LUNS
 * 6.33, REQUEST SENSE 6.39, INQUIRY 6.6 for a LUN that does not exist,
 * sense data 4.5), SBC-3/MMC-6 for the devices' commands.
 *
 * A request's life: the adapter fills cdb, the address and its data
 * buffers (an iovec it owns: data-in or data-out, never both), calls
 * scsi_req_init() and scsi_req_parse() to learn the transfer the CDB asks for (direction and
 * length: the adapter checks its buffers against it), then
 * scsi_req_submit().  The device (or the bus, for a LUN that does not
 * exist, REPORT LUNS and a pending unit attention) finishes it with a
 * status and maybe sense, now or later from an I/O completion, and the
 * bus calls the adapter's complete() once.  Data moves straight between
 * the adapter's iovec and the block layer (reads and writes) or through
 * the request's small buffer (emulated commands).
 *
 * Threads: with an I/O thread (the adapter's iothread=), requests are
 * submitted and completed in that thread without the big lock.  What the
 * monitor changes (media, tray) runs there too, through
 * scsi_bus_run_sync().
 */
#ifndef HW_SCSI_SCSI_H
#define HW_SCSI_SCSI_H

#include "qemu/osdep.h"
#include <sys/uio.h>
#include "hw/qdev.h"
#include "hw/scsi/scsi-defs.h"
#include "block/block-backend.h"
#include "system/iothread.h"

#define TYPE_SCSI_DEVICE        "scsi-device"
#define SCSI_TYPE_DISK          0x00
#define SCSI_TYPE_ROM           0x05

#define SCSI_CMD_BUF_SIZE       16      /* the longest CDB parsed */
#define SCSI_SENSE_LEN          18      /* fixed-format sense data */
/* An emulated command's reply or parameter list: enough for every page
 * the devices build and for REPORT LUNS of SCSI_MAX_LUNS_REPORTED LUNs. */
#define SCSI_REQ_BUF_SIZE       4096
#define SCSI_MAX_LUNS_REPORTED  ((SCSI_REQ_BUF_SIZE - 8) / 8)

typedef struct SCSIBus SCSIBus;
typedef struct SCSIDevice SCSIDevice;
typedef struct SCSIRequest SCSIRequest;

typedef struct SCSISense {
    uint8_t key, asc, ascq;
} SCSISense;

#define SCSI_SENSE(k, a, q)     ((SCSISense){ (k), (a), (q) })
#define SENSE_CODE_NO_SENSE     SCSI_SENSE(SENSE_NONE, 0, 0)
#define SENSE_CODE_INVALID_OPCODE \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_INV_OPCODE, 0)
#define SENSE_CODE_INVALID_FIELD \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB, 0)
#define SENSE_CODE_INVALID_PARAM \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_PARAM, 0)
#define SENSE_CODE_INVALID_PARAM_LEN \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH, 0)
#define SENSE_CODE_LBA_OUT_OF_RANGE \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0)
#define SENSE_CODE_LUN_NOT_SUPPORTED \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED, 0)
#define SENSE_CODE_SAVING_NOT_SUPPORTED \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0)
#define SENSE_CODE_ILLEGAL_REQ_REMOVAL_PREVENTED \
    SCSI_SENSE(SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 2)
#define SENSE_CODE_NO_MEDIUM \
    SCSI_SENSE(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0)
#define SENSE_CODE_NO_MEDIUM_TRAY_CLOSED \
    SCSI_SENSE(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 1)
#define SENSE_CODE_NO_MEDIUM_TRAY_OPEN \
    SCSI_SENSE(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 2)
#define SENSE_CODE_MEDIUM_CHANGED \
    SCSI_SENSE(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED, 0)
#define SENSE_CODE_RESET \
    SCSI_SENSE(SENSE_UNIT_ATTENTION, ASC_POWER_ON_RESET, 0)
#define SENSE_CODE_CAPACITY_CHANGED \
    SCSI_SENSE(SENSE_UNIT_ATTENTION, ASC_PARAMETERS_CHANGED, 9)
#define SENSE_CODE_REPORTED_LUNS_CHANGED \
    SCSI_SENSE(SENSE_UNIT_ATTENTION, ASC_TARGET_CHANGED, 0x0e)
#define SENSE_CODE_WRITE_PROTECTED \
    SCSI_SENSE(SENSE_DATA_PROTECT, ASC_WRITE_PROTECTED, 0)
#define SENSE_CODE_SPACE_ALLOC_FAILED \
    SCSI_SENSE(SENSE_DATA_PROTECT, ASC_WRITE_PROTECTED, 7)
/* QEMU's answer to a failed read or write: I/O process terminated */
#define SENSE_CODE_IO_ERROR     SCSI_SENSE(SENSE_ABORTED_COMMAND, 0, 6)
#define SENSE_CODE_TARGET_FAILURE \
    SCSI_SENSE(SENSE_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE, 0)

typedef enum SCSIXferMode {
    SCSI_XFER_NONE,
    SCSI_XFER_FROM_DEV,         /* data-in: the device writes the buffers */
    SCSI_XFER_TO_DEV,           /* data-out: the device reads them */
} SCSIXferMode;

/* ---- requests ---------------------------------------------------------- */

struct SCSIRequest {
    SCSIBus *bus;
    SCSIDevice *dev;            /* NULL: the LUN does not exist */
    uint32_t target, lun;
    uint64_t tag;
    uint8_t cdb[SCSI_CMD_BUF_SIZE];
    unsigned cdb_len;           /* from the opcode's group */

    /* The adapter's data buffers (valid until complete() returns). */
    struct iovec *iov;
    int niov;
    size_t iov_size;
    SCSIXferMode iov_mode;

    /* What the CDB asks for (scsi_req_parse). */
    SCSIXferMode mode;
    uint64_t xfer;              /* bytes */

    /* Result. */
    uint8_t status;
    uint8_t sense[SCSI_SENSE_LEN];
    unsigned sense_len;
    size_t xferred;             /* bytes moved to or from the buffers */

    /* Device-side state of a command in progress. */
    bool in_flight;             /* an I/O runs; complete() comes later */
    bool on_device;             /* the device has it (counted in
                                 * dev->requests) until it completes */
    bool stopped;               /* held after an error (werror=stop) */
    BlkAioVec aio;              /* the block request's storage */
    uint64_t io_offset;         /* the block I/O of a read or write */
    bool io_write;
    bool io_fua;
    /* UNMAP and WRITE SAME (hw/scsi/scsi-disk.c): a chain of block
     * requests, one out at a time; the step out and where it stands. */
    uint8_t io_step;
    uint16_t io_desc;           /* UNMAP: the descriptor being done */
    int io_flags;               /* write-zeroes flags */
    uint64_t io_end;            /* WRITE SAME: the range's end (bytes) */
    uint8_t *io_bounce;         /* WRITE SAME: one chunk of the pattern */
    bool io_canceled;           /* aborted or orphaned by the adapter
                                 * while its I/O runs: the device issues
                                 * nothing more and applies no error
                                 * policy, and completes it when its I/O
                                 * is back */
    SCSIRequest *next_stopped;
    uint8_t buf[SCSI_REQ_BUF_SIZE];
};

/*
 * Set up @req for a command to @lun of @target on @bus (channel 0).
 * Returns false when no device answers @target at all (the adapter says
 * "bad target"); otherwise req->dev is the LUN's device, or NULL when
 * the target exists but the LUN does not (the bus answers then).
 * @cdb_size bytes of @cdb are available.
 */
bool scsi_req_init(SCSIRequest *req, SCSIBus *bus, unsigned target,
                   unsigned lun, uint64_t tag, const uint8_t *cdb,
                   size_t cdb_size);
/*
 * The transfer the CDB asks for (req->mode, req->xfer); false when the
 * opcode's CDB is longer than what the adapter carried or the opcode
 * has no defined length (the command then fails INVALID OPCODE when
 * submitted, moving nothing).
 */
bool scsi_req_parse(SCSIRequest *req, size_t cdb_size);
/* Run it; the adapter's complete() follows, maybe before this returns. */
void scsi_req_submit(SCSIRequest *req);

/* For devices: finish a command. */
void scsi_req_complete(SCSIRequest *req, uint8_t status);
void scsi_req_check_condition(SCSIRequest *req, SCSISense sense);
/* Reply with req->buf[0..@len), cut to the allocation length @alloc and
 * the buffers, then GOOD. */
void scsi_req_reply(SCSIRequest *req, size_t len, size_t alloc);
/* Copy the data-out buffers (at most @len bytes) into req->buf; returns
 * the bytes copied. */
size_t scsi_req_fetch(SCSIRequest *req, size_t len);
/* REQUEST SENSE's reply: @sense as data (fixed, or descriptor format
 * when the CDB's DESC bit asks). */
void scsi_req_sense_reply(SCSIRequest *req, SCSISense sense);
/* The sense for an errno from the block layer (QEMU's mapping). */
SCSISense scsi_sense_from_errno(int err);
/* Fixed-format sense data for @sense into @buf (18 bytes). */
void scsi_build_sense(uint8_t *buf, SCSISense sense);

/* ---- buses ------------------------------------------------------------- */

typedef struct SCSIBusInfo {
    unsigned max_channel, max_target, max_lun;
    /* @req finished: status, sense, xferred are set. */
    void (*complete)(SCSIRequest *req);
    /* A device reported a change the adapter may announce on its own
     * (virtio-scsi: an event): a unit attention @sense (capacity or
     * medium changed). */
    void (*change)(SCSIBus *bus, SCSIDevice *dev, SCSISense sense);
} SCSIBusInfo;

/* Backends one plugged pass batches; more devices than this in one
 * pass still work, the extra ones just submit unbatched. */
#define SCSI_BUS_MAX_PLUGGED 8

struct SCSIBus {
    const SCSIBusInfo *info;
    HotplugHandler *hotplug;    /* device_add/del of its devices (NULL:
                                 * "Bus '...' does not support hotplugging") */
    void *hba;                  /* the adapter */
    char *name;                 /* "ID.0" (bus= of -device scsi-hd) */
    char *fw_path;              /* the adapter's firmware path */
    IOThread *iothread;         /* requests run there (NULL: main loop) */
    GPtrArray *devices;         /* SCSIDevice *, in attach order */
    /* scsi_bus_io_plug: the backends this pass has plugged so far */
    unsigned plug_depth;
    unsigned nplugged;
    struct {
        BlockBackend *blk;
        BlockDriverState *node;     /* what blk_io_plug plugged */
    } plugged[SCSI_BUS_MAX_PLUGGED];
};

/* The adapter's bus: name, registry (bus= finds it), no devices yet. */
void scsi_bus_init(SCSIBus *bus, const SCSIBusInfo *info, void *hba,
                   const char *name, const char *fw_path);
void scsi_bus_cleanup(SCSIBus *bus);
SCSIBus *scsi_bus_find(const char *name);
/* The device at @id/@lun (channel 0), or NULL. */
SCSIDevice *scsi_device_find(SCSIBus *bus, unsigned id, unsigned lun);
/* Whether any device has scsi-id @id. */
bool scsi_target_exists(SCSIBus *bus, unsigned id);
/* Run @fn(@opaque) where the bus's requests run (its I/O thread, or here
 * under the big lock) and wait for it. */
void scsi_bus_run_sync(SCSIBus *bus, void (*fn)(void *opaque), void *opaque);
/*
 * Batch the block I/O of the commands submitted between these (one pass
 * of the adapter over its queue): the backend of each device a command
 * goes to is plugged on its first command (blk_io_plug) and all are
 * unplugged at the end, so each sends its pass's requests with one
 * system call.  Called where the bus's requests run; they nest.
 */
void scsi_bus_io_plug(SCSIBus *bus);
void scsi_bus_io_unplug(SCSIBus *bus);
/* Run @fn(@opaque) on the main loop under the big lock: now if the
 * caller holds it, else soon (QMP events, VM stop). */
void scsi_run_on_main(void (*fn)(void *opaque), void *opaque);

/* ---- devices ----------------------------------------------------------- */

typedef struct SCSIDeviceOps {
    /* Execute @req (req->dev is this device; no unit attention is
     * pending, or the command runs through one). */
    void (*exec)(SCSIRequest *req);
    /* The block size, for the transfer length of READ/WRITE CDBs. */
    uint32_t (*block_size)(SCSIDevice *dev);
    /* Commands that run while a unit attention is pending (besides
     * INQUIRY, REPORT LUNS, REQUEST SENSE). */
    bool (*allowed_with_ua)(SCSIDevice *dev, uint8_t opcode);
    /* The bus reported unit attention @ua to the driver (it is clear
     * now; a device may queue the next one). */
    void (*ua_reported)(SCSIDevice *dev, SCSISense ua);
    /* Forget a request the device holds after an error stop (@req, or
     * all of them when NULL): the adapter aborts it or is resetting, and
     * takes it back. */
    void (*purge)(SCSIDevice *dev, SCSIRequest *req);
    /* Hand over every request held after an error stop, linked by
     * next_stopped (oldest last), and hold none: the device is going. */
    SCSIRequest *(*take_held)(SCSIDevice *dev);
    /* The backend its commands read and write (NULL: none), which
     * scsi_bus_io_plug batches. */
    BlockBackend *(*blk)(SCSIDevice *dev);
} SCSIDeviceOps;

struct SCSIDevice {
    DeviceState parent;
    /* properties */
    char *bus_name;
    uint32_t channel;
    int32_t id, lun;            /* -1: the first free one */
    /* set by the type's realize before the bus level sees it */
    const SCSIDeviceOps *ops;
    uint8_t type;               /* peripheral device type: 0 disk, 5 CD */
    SCSIBus *bus;
    SCSISense unit_attention;   /* pending (key 0: none) */
    int requests;               /* commands it runs or holds (atomic: the
                                 * bus's thread counts, an unplug waits) */
};

/*
 * Hotplug of SCSI devices (docs/scsi.md "Hotplug"): an adapter whose bus
 * takes device_add/device_del gives its handler here; its plug() then
 * calls scsi_bus_attach_hotplugged() and tells the guest, and its
 * unplug() tells the guest and calls scsi_bus_detach() before the device
 * is unrealized.
 */
void scsi_bus_set_hotplug_handler(SCSIBus *bus, HotplugHandler *h);
/* A device_add'ed device joins the bus (on the bus's thread: commands
 * find it from then on). */
void scsi_bus_attach_hotplugged(SCSIDevice *dev);
/* A device leaves the bus: commands stop finding it, held ones fail
 * (@sense), and this waits until none it runs is left. */
void scsi_bus_detach(SCSIDevice *dev, SCSISense sense);
/* A unit attention for every device on @bus but @except. */
void scsi_bus_set_ua(SCSIBus *bus, SCSIDevice *except, SCSISense sense);

/* Raise a unit attention (a reset one is not replaced by a lesser one). */
void scsi_device_set_ua(SCSIDevice *dev, SCSISense sense);
/* Tell the adapter of a change it may announce itself (virtio-scsi
 * events): @sense names it (capacity changed, medium changed). */
void scsi_device_report_change(SCSIDevice *dev, SCSISense sense);

extern const VMStateDescription vmstate_scsi_device;

#endif
