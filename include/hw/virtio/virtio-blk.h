/*
 * virtio-blk: the block device on the virtio core (hw/block/virtio-blk.c).
 *
 * Spec: OASIS VIRTIO 1.2, 5.2 "Block Device": device ID 2, feature bits
 * (5.2.3), the configuration layout struct virtio_blk_config (5.2.4),
 * requests struct virtio_blk_req / virtio_blk_discard_write_zeroes and
 * their types and status values (5.2.6).  Names follow the spec's
 * (VIRTIO_BLK_F_*, VIRTIO_BLK_T_*, VIRTIO_BLK_S_*).
 */
#ifndef HW_VIRTIO_VIRTIO_BLK_H
#define HW_VIRTIO_VIRTIO_BLK_H
#include "qemu/osdep.h"
#include "block/block-backend.h"
#include "hw/virtio/virtio-pci.h"
#include "system/bh.h"

#define TYPE_VIRTIO_BLK_PCI             "virtio-blk-pci"

/* Feature bits (5.2.3; 0 BARRIER and 7 SCSI are legacy, not offered). */
#define VIRTIO_BLK_F_SIZE_MAX           1
#define VIRTIO_BLK_F_SEG_MAX            2
#define VIRTIO_BLK_F_GEOMETRY           4
#define VIRTIO_BLK_F_RO                 5
#define VIRTIO_BLK_F_BLK_SIZE           6
#define VIRTIO_BLK_F_FLUSH              9
#define VIRTIO_BLK_F_TOPOLOGY           10
#define VIRTIO_BLK_F_CONFIG_WCE         11
#define VIRTIO_BLK_F_MQ                 12
#define VIRTIO_BLK_F_DISCARD            13
#define VIRTIO_BLK_F_WRITE_ZEROES       14

/* Request types (5.2.6). */
#define VIRTIO_BLK_T_IN                 0
#define VIRTIO_BLK_T_OUT                1
#define VIRTIO_BLK_T_FLUSH              4
#define VIRTIO_BLK_T_GET_ID             8
#define VIRTIO_BLK_T_DISCARD            11
#define VIRTIO_BLK_T_WRITE_ZEROES       13
#define VIRTIO_BLK_T_BARRIER            0x80000000u     /* legacy flag */

/* Status byte values (5.2.6). */
#define VIRTIO_BLK_S_OK                 0
#define VIRTIO_BLK_S_IOERR              1
#define VIRTIO_BLK_S_UNSUPP             2

/* struct virtio_blk_discard_write_zeroes.flags */
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

#define VIRTIO_BLK_ID_BYTES             20      /* GET_ID answer */
#define VIRTIO_BLK_SECTOR               512     /* capacity/sector unit */
#define VIRTIO_BLK_OUTHDR_SIZE          16      /* type, ioprio, sector */
#define VIRTIO_BLK_DWZ_SEG_SIZE         16      /* sector, num, flags */

/* struct virtio_blk_config (5.2.4), offsets in the device config space. */
#define VIRTIO_BLK_CFG_CAPACITY         0       /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX         8       /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX          12      /* le32 */
#define VIRTIO_BLK_CFG_GEOMETRY         16      /* le16 cyl, u8 heads, secs */
#define VIRTIO_BLK_CFG_BLK_SIZE         20      /* le32 */
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP   24      /* u8 */
#define VIRTIO_BLK_CFG_ALIGN_OFFSET     25      /* u8 */
#define VIRTIO_BLK_CFG_MIN_IO_SIZE      26      /* le16 */
#define VIRTIO_BLK_CFG_OPT_IO_SIZE      28      /* le32 */
#define VIRTIO_BLK_CFG_WRITEBACK        32      /* u8 */
#define VIRTIO_BLK_CFG_NUM_QUEUES       34      /* le16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36   /* le32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG  40      /* le32 */
#define VIRTIO_BLK_CFG_DISCARD_ALIGN    44      /* le32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS   48      /* le32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SEG       52      /* le32 */
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP     56      /* u8, then 3 unused */
#define VIRTIO_BLK_CFG_SIZE             60      /* QEMU 7.2's (no secure erase) */

typedef struct VirtIOBlock VirtIOBlock;
typedef struct VirtIOBlockQueue VirtIOBlockQueue;

/*
 * One request, preallocated (queue-size of them per queue): the popped
 * chain, what was parsed from it and the block layer's storage.  The data
 * iovecs point into elem.sg, trimmed in place (header and status byte
 * taken off), so guest memory goes to the block layer without a copy.
 */
typedef struct VirtIOBlockReq {
    VirtIOBlock *s;
    VirtIOBlockQueue *q;
    struct VirtIOBlockReq *next;    /* free list, or held after an error */
    uint32_t gen;                   /* the queue's generation at pop */
    uint32_t type;                  /* VIRTIO_BLK_T_*, barrier bit off */
    uint8_t *status;                /* the status byte, in guest RAM */
    uint32_t in_len;                /* device-writable bytes (used len) */
    struct iovec *iov;              /* the data part */
    int niov;
    uint64_t offset, bytes;         /* byte range on the disk */
    int zero_flags;                 /* WRITE_ZEROES: BDRV_REQ_MAY_UNMAP */
    bool flushing;                  /* write-through: the write's flush */
    BlkAioVec aio;
    VirtQueueElement elem;          /* last: it is large */
} VirtIOBlockReq;

struct VirtIOBlockQueue {
    VirtIOBlock *s;
    VirtQueue *vq;
    VirtIOBlockReq *reqs;           /* queue-size requests */
    VirtIOBlockReq *free;
    uint32_t gen;                   /* bumped by resets: stale completions
                                     * are dropped, not pushed */
    unsigned inflight;
    bool starved;                   /* a run stopped without a free req */
    bool need_notify;               /* pushed since the last interrupt */
};

struct VirtIOBlock {
    VirtIODevice vdev;

    /* properties (QEMU's names) */
    char *drive_id;
    char *serial;
    char *werror, *rerror;
    uint16_t num_queues;
    uint16_t queue_size;
    uint64_t logical_block_size, physical_block_size;
    uint64_t min_io_size, opt_io_size;
    uint32_t max_discard_sectors, max_write_zeroes_sectors;
    bool discard, write_zeroes, config_wce;
    bool share_rw;
    int32_t bootindex;

    BlockBackend *blk;
    bool blk_made;                  /* an anonymous backend for a node */
    char *boot_path;
    uint8_t wce;                    /* the writeback config byte */
    bool drive_writeback;           /* the drive's cache mode */

    VirtIOBlockQueue *queues;
    BH *bh;                         /* batched interrupts, on the queues'
                                     * context (main loop or I/O thread) */
    GMutex held_lock;
    VirtIOBlockReq *held;           /* stopped by an error, retried on cont */
    int inflight;                   /* atomic: every queue's, for draining */
};

#endif
