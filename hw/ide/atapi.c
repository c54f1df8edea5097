/*
 * ATAPI CD/DVD-ROM: the PACKET protocol and the packet commands.
 *
 * Specs: ATA/ATAPI-6 chapter 9.10 (PACKET protocol: interrupt reason,
 * byte count limit), MMC-3 (READ(10/12), READ CAPACITY, READ TOC/PMA/ATIP,
 * GET CONFIGURATION, GET EVENT STATUS NOTIFICATION, MODE SENSE(10) pages
 * 01h and 2Ah, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL) and SPC-3
 * (INQUIRY, REQUEST SENSE, TEST UNIT READY; sense keys and ASC/ASCQ).
 *
 * The commands are the ones firmware (SeaBIOS), boot loaders (GRUB) and
 * OS installers (Linux, Windows) send.  Any other opcode gets CHECK
 * CONDITION, ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE, as a
 * drive that lacks it would answer.  A media change (the tray closing
 * on a medium) raises UNIT ATTENTION / MEDIUM MAY HAVE CHANGED once, and
 * a NewMedia event for GET EVENT STATUS NOTIFICATION.
 *
 * The monitor changes media through the backend (atapi_dev_ops): the
 * tray moves, and a new medium is reported as QEMU's drives report it
 * (NOT READY / medium not present once, then UNIT ATTENTION / medium may
 * have changed once, and NewMedia); an eject request the guest locked
 * out shows as EjectRequest in GET EVENT STATUS NOTIFICATION.  Read
 * errors always fail the command (MEDIUM ERROR): QEMU applies no
 * rerror policy to ATAPI either.
 */
#include "qemu/osdep.h"
#include "hw/ide/ide.h"

/* Packet commands and their data are big-endian (SCSI byte order). */
static uint16_t lduw_be_p(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static uint32_t ldl_be_p(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void stw_be_p(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void stl_be_p(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* Operation codes */
enum {
    GPCMD_TEST_UNIT_READY = 0x00, GPCMD_REQUEST_SENSE = 0x03,
    GPCMD_INQUIRY = 0x12, GPCMD_MODE_SENSE_6 = 0x1a,
    GPCMD_START_STOP_UNIT = 0x1b, GPCMD_PREVENT_ALLOW = 0x1e,
    GPCMD_READ_CAPACITY = 0x25, GPCMD_READ_10 = 0x28, GPCMD_SEEK_10 = 0x2b,
    GPCMD_READ_TOC = 0x43, GPCMD_GET_CONFIGURATION = 0x46,
    GPCMD_GET_EVENT_STATUS = 0x4a, GPCMD_MODE_SENSE_10 = 0x5a,
    GPCMD_READ_12 = 0xa8, GPCMD_SET_SPEED = 0xbb,
};

/* Sense keys and additional sense codes (SPC-3 4.5.6, annex D) */
#define SENSE_NONE              0x00
#define SENSE_NOT_READY         0x02
#define SENSE_MEDIUM_ERROR      0x03
#define SENSE_ILLEGAL_REQUEST   0x05
#define SENSE_UNIT_ATTENTION    0x06
#define ASC_INV_OPCODE          0x20
#define ASC_LBA_OUT_OF_RANGE    0x21
#define ASC_INV_FIELD_IN_CDB    0x24
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT  0x3a
#define ASC_REMOVAL_PREVENTED   0x53
#define ASC_UNRECOVERED_READ    0x11

/* MMC-3 profiles (5.3.1) */
#define MMC_PROFILE_CD_ROM      0x0008
#define MMC_PROFILE_DVD_ROM     0x0010
/* Larger media are DVDs: a CD holds at most 99:59:74 of 2048-byte blocks. */
#define CD_MAX_BLOCKS           (100 * 60 * 75)

#define MODE_PAGE_ERROR_RECOVERY 0x01
#define MODE_PAGE_CAPABILITIES   0x2a
#define MODE_PAGE_ALL            0x3f

/* Commands that run while a UNIT ATTENTION is pending (MMC-3 4.1.6.1). */
static bool atapi_allowed_with_ua(uint8_t op)
{
    return op == GPCMD_INQUIRY || op == GPCMD_REQUEST_SENSE ||
           op == GPCMD_GET_CONFIGURATION || op == GPCMD_GET_EVENT_STATUS;
}

/* Commands that need a medium (others answer with or without one). */
static bool atapi_needs_medium(uint8_t op)
{
    return op == GPCMD_TEST_UNIT_READY || op == GPCMD_READ_CAPACITY ||
           op == GPCMD_READ_10 || op == GPCMD_READ_12 ||
           op == GPCMD_READ_TOC || op == GPCMD_SEEK_10;
}

bool atapi_medium_present(const IDEState *s)
{
    return s->blk && blk_is_inserted(s->blk) && !s->tray_open;
}

static uint32_t atapi_blocks(const IDEState *s)
{
    return s->nb_sectors / (ATAPI_SECTOR_SIZE / IDE_SECTOR_SIZE);
}

void atapi_reset(IDEState *s)
{
    s->sense_key = SENSE_NONE;
    s->asc = s->ascq = 0;
    s->locked = false;
    s->atapi_left = 0;
    s->atapi_reading = false;
}

/* IDENTIFY PACKET DEVICE (ATA-6 8.16), the ATAPI-specific words. */
void atapi_identify(IDEState *s, uint16_t *w)
{
    /* ATAPI, CD-ROM device type, removable, 50us DRQ, 12-byte packets */
    w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
    w[48] = 1;
    w[49] = (1 << 9) | (1 << 8);        /* LBA, DMA */
    w[53] = 7;
    w[62] = 7;
    w[64] = 3;
    w[65] = w[66] = w[67] = w[68] = 0xb4;
    w[71] = 30;                         /* PACKET to bus release, ns */
    w[72] = 30;
    w[80] = 0x1e;                       /* ATAPI-1 to 4 */
}

/* ---- completion ------------------------------------------------------- */

static void atapi_set_sense(IDEState *s, uint8_t key, uint8_t asc,
                            uint8_t ascq)
{
    s->sense_key = key;
    s->asc = asc;
    s->ascq = ascq;
}

static void atapi_cmd_ok(IDEState *s)
{
    s->xfer = IDE_XFER_NONE;
    s->data_pos = s->data_end = 0;
    s->error = 0;
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC;
    s->nsector = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
    atapi_set_sense(s, SENSE_NONE, 0, 0);
    ide_set_irq(s);
}

/* CHECK CONDITION: the sense key goes to the error register's top. */
static void atapi_cmd_error(IDEState *s, uint8_t key, uint8_t asc)
{
    s->xfer = IDE_XFER_NONE;
    s->data_pos = s->data_end = 0;
    s->atapi_left = 0;
    s->error = key << 4;
    s->status = IDE_STAT_DRDY | IDE_STAT_ERR;
    s->nsector = ATAPI_IREASON_IO | ATAPI_IREASON_COD;
    atapi_set_sense(s, key, asc, 0);
    ide_set_irq(s);
}

static void atapi_not_ready(IDEState *s)
{
    atapi_cmd_error(s, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
    s->ascq = s->tray_open ? 2 : 1;     /* tray open / closed */
}

/* ---- data-in ---------------------------------------------------------- */

/* The byte count limit of this command (ATA-6 9.10): even, never 0. */
static uint32_t atapi_byte_count_limit(IDEState *s)
{
    uint32_t bcl = s->lcyl | s->hcyl << 8;

    if (bcl == 0 || bcl == 0xffff) {
        bcl = 0xfffe;
    }
    return bcl & ~1u;
}

static bool atapi_refill(IDEState *s)
{
    uint64_t blocks = ALIGN_UP(s->atapi_left, ATAPI_SECTOR_SIZE) /
                      ATAPI_SECTOR_SIZE;
    uint32_t n = MIN(blocks, IDE_BUF_SIZE / ATAPI_SECTOR_SIZE);

    /* A loaded state may claim a read in progress on an empty drive. */
    if (!atapi_medium_present(s)) {
        return false;
    }
    if (blk_pread(s->blk, (uint64_t)s->atapi_lba * ATAPI_SECTOR_SIZE,
                  (uint64_t)n * ATAPI_SECTOR_SIZE, s->io_buffer) < 0) {
        return false;
    }
    s->atapi_lba += n;
    s->buf_fill = n * ATAPI_SECTOR_SIZE;
    s->data_pos = 0;
    return true;
}

/* Offer the host the next chunk, or end the command. */
void atapi_pio_next(IDEState *s)
{
    uint32_t chunk;

    if (s->atapi_left == 0) {
        atapi_cmd_ok(s);
        return;
    }
    if (s->data_pos >= s->buf_fill) {
        if (!s->atapi_reading || !atapi_refill(s)) {
            atapi_cmd_error(s, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
            return;
        }
    }
    chunk = MIN(atapi_byte_count_limit(s), s->buf_fill - s->data_pos);
    chunk = MIN(chunk, s->atapi_left);
    /* An odd last byte still takes a whole word of the data port. */
    s->data_end = s->data_pos + (uint32_t)ALIGN_UP(chunk, 2);
    s->lcyl = chunk;
    s->hcyl = chunk >> 8;
    s->nsector = ATAPI_IREASON_IO;
    s->xfer = IDE_XFER_ATAPI_IN;
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
    ide_set_irq(s);
}

static void atapi_start_data(IDEState *s)
{
    s->data_pos = 0;
    if (s->atapi_dma) {
        s->dma_to_disk = false;
        s->dma_pending = true;
        s->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
        if (s->bus->ops->dma_active &&
            s->bus->ops->dma_active(s->bus->opaque)) {
            ide_dma_run(s);
        }
        return;
    }
    atapi_pio_next(s);
}

/* Reply with io_buffer[0..len), cut to the allocation length. */
static void atapi_reply(IDEState *s, uint32_t len, uint32_t alloc)
{
    len = MIN(len, alloc);
    if (len == 0) {
        atapi_cmd_ok(s);
        return;
    }
    s->atapi_reading = false;
    s->atapi_left = len;
    s->buf_fill = len;
    atapi_start_data(s);
}

void atapi_dma_run(IDEState *s)
{
    const IDEBusOps *ops = s->bus->ops;
    IDEDMAResult res = IDE_DMA_OK;

    while (s->atapi_left && res == IDE_DMA_OK) {
        uint32_t len;
        if (s->data_pos >= s->buf_fill &&
            (!s->atapi_reading || !atapi_refill(s))) {
            res = IDE_DMA_ERROR;
            break;
        }
        len = MIN(s->buf_fill - s->data_pos, s->atapi_left);
        res = ops->dma_rw(s->bus->opaque, s->io_buffer + s->data_pos, len,
                          true);
        s->data_pos += len;
        s->atapi_left -= len;
    }
    ops->dma_end(s->bus->opaque, res);
    s->dma_pending = false;
    if (res == IDE_DMA_OK) {
        atapi_cmd_ok(s);
    } else {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
    }
}

/* ---- the commands ----------------------------------------------------- */

static void atapi_request_sense(IDEState *s, uint8_t *buf)
{
    uint8_t alloc = s->packet[4];

    memset(buf, 0, 18);
    buf[0] = 0xf0;                      /* valid, current error, fixed */
    buf[2] = s->sense_key;
    buf[7] = 10;                        /* additional sense length */
    buf[12] = s->asc;
    buf[13] = s->ascq;
    /* The sense is cleared when the command completes (atapi_cmd_ok), and
     * a unit attention reported here is reported only once. */
    s->unit_attention = false;
    atapi_reply(s, 18, alloc);
}

static void atapi_inquiry(IDEState *s, uint8_t *buf)
{
    if (s->packet[1] & 1) {             /* no vital product data pages */
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(buf, 0, 36);
    buf[0] = 0x05;                      /* CD/DVD device */
    buf[1] = 0x80;                      /* removable */
    buf[2] = 0x00;                      /* no SPC conformance claimed */
    buf[3] = 0x21;                      /* ATAPI, response data format 1 */
    buf[4] = 31;                        /* additional length */
    memcpy(buf + 8, "QEMU    ", 8);
    memcpy(buf + 16, "QEMU DVD-ROM    ", 16);
    memcpy(buf + 32, "2.5+", 4);
    atapi_reply(s, 36, lduw_be_p(s->packet + 3));
}

static void atapi_read_capacity(IDEState *s, uint8_t *buf)
{
    stl_be_p(buf, atapi_blocks(s) - 1);
    stl_be_p(buf + 4, ATAPI_SECTOR_SIZE);
    atapi_reply(s, 8, 8);
}

static void atapi_read(IDEState *s, uint32_t lba, uint32_t count)
{
    uint32_t blocks = atapi_blocks(s);

    if (lba >= blocks || count > blocks - lba) {
        if (count == 0 && lba <= blocks) {
            atapi_cmd_ok(s);
            return;
        }
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (count == 0) {
        atapi_cmd_ok(s);
        return;
    }
    /* At most 2^32 - 1 bytes per command; longer reads are cut there. */
    s->atapi_left = (uint32_t)MIN((uint64_t)count * ATAPI_SECTOR_SIZE,
                                  UINT32_MAX & ~(ATAPI_SECTOR_SIZE - 1));
    s->atapi_lba = lba;
    s->atapi_reading = true;
    s->buf_fill = 0;
    atapi_start_data(s);
}

/* LBA to minutes/seconds/frames, with the 2-second lead-in (MMC-3 4.2). */
static void atapi_lba_to_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = 0;
    p[1] = lba / (60 * 75);
    p[2] = (lba / 75) % 60;
    p[3] = lba % 75;
}

static void atapi_put_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (msf) {
        atapi_lba_to_msf(p, lba);
    } else {
        stl_be_p(p, lba);
    }
}

/* Format 0: one data track and the lead-out (MMC-3 6.26.2.3). */
static int atapi_toc_format0(IDEState *s, uint8_t *buf, bool msf,
                             uint8_t start)
{
    int len = 4;

    if (start > 1 && start != 0xaa) {
        return -1;
    }
    buf[2] = 1;                         /* first track */
    buf[3] = 1;                         /* last track */
    if (start <= 1) {
        memset(buf + len, 0, 8);
        buf[len + 1] = 0x14;            /* ADR 1, data track */
        buf[len + 2] = 1;
        atapi_put_addr(buf + len + 4, 0, msf);
        len += 8;
    }
    memset(buf + len, 0, 8);
    buf[len + 1] = 0x14;
    buf[len + 2] = 0xaa;                /* lead-out */
    atapi_put_addr(buf + len + 4, atapi_blocks(s), msf);
    len += 8;
    stw_be_p(buf, len - 2);
    return len;
}

/* Format 1: session information, one complete session. */
static int atapi_toc_format1(uint8_t *buf, bool msf)
{
    memset(buf, 0, 12);
    stw_be_p(buf, 10);
    buf[2] = 1;
    buf[3] = 1;
    buf[5] = 0x14;
    buf[6] = 1;
    atapi_put_addr(buf + 8, 0, msf);
    return 12;
}

static void atapi_read_toc(IDEState *s, uint8_t *buf)
{
    bool msf = s->packet[1] & 2;
    uint8_t format = s->packet[2] & 0x0f;
    int len;

    if (format == 0 && (s->packet[9] >> 6)) {
        format = s->packet[9] >> 6;     /* the older SFF-8020 encoding */
    }
    switch (format) {
    case 0:
        len = atapi_toc_format0(s, buf, msf, s->packet[6]);
        break;
    case 1:
        len = atapi_toc_format1(buf, msf);
        break;
    default:
        len = -1;
        break;
    }
    if (len < 0) {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    atapi_reply(s, len, lduw_be_p(s->packet + 7));
}

static uint16_t atapi_current_profile(const IDEState *s)
{
    if (!atapi_medium_present(s)) {
        return 0;
    }
    return atapi_blocks(s) > CD_MAX_BLOCKS ? MMC_PROFILE_DVD_ROM
                                          : MMC_PROFILE_CD_ROM;
}

/* Feature 0 (profile list) and 1 (core: ATAPI) of MMC-3 5.3. */
static int atapi_put_features(IDEState *s, uint8_t *p, uint16_t start,
                              uint8_t rt)
{
    uint16_t cur = atapi_current_profile(s);
    int len = 0;
    /* RT 0 and 1 list the features from @start on (both of ours are
     * always current), RT 2 only the one named @start. */
    bool want0 = start == 0;
    bool want1 = rt == 2 ? start == 1 : start <= 1;

    if (want0) {
        memset(p, 0, 12);
        p[2] = 0x03;                    /* persistent, current */
        p[3] = 8;
        stw_be_p(p + 4, MMC_PROFILE_DVD_ROM);
        p[6] = cur == MMC_PROFILE_DVD_ROM;
        stw_be_p(p + 8, MMC_PROFILE_CD_ROM);
        p[10] = cur == MMC_PROFILE_CD_ROM;
        len += 12;
    }
    if (want1) {
        memset(p + len, 0, 12);
        p[len + 1] = 1;
        p[len + 2] = 0x0b;              /* version 2, persistent, current */
        p[len + 3] = 8;
        stl_be_p(p + len + 4, 2);       /* physical interface: ATAPI */
        p[len + 8] = 1;                 /* DBE */
        len += 12;
    }
    return len;
}

static void atapi_get_configuration(IDEState *s, uint8_t *buf)
{
    uint8_t rt = s->packet[1] & 3;
    int len;

    if (rt == 3) {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(buf, 0, 8);
    stw_be_p(buf + 6, atapi_current_profile(s));
    len = 8 + atapi_put_features(s, buf + 8, lduw_be_p(s->packet + 2), rt);
    stl_be_p(buf, len - 4);
    atapi_reply(s, len, lduw_be_p(s->packet + 7));
}

/* Polled GET EVENT STATUS NOTIFICATION, media class only (MMC-3 6.5). */
static void atapi_get_event_status(IDEState *s, uint8_t *buf)
{
    uint8_t classes = s->packet[4];
    int len = 4;

    if (!(s->packet[1] & 1)) {          /* asynchronous mode: not offered */
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(buf, 0, 8);
    buf[3] = 1 << 4;                    /* supported: media */
    if (classes & (1 << 4)) {
        buf[2] = 4;                     /* media class */
        /* EjectRequest / NewMedia / no change */
        buf[4] = s->event_eject_request ? 1 : s->event_new_media ? 2 : 0;
        buf[5] = (atapi_medium_present(s) ? 2 : 0) | (s->tray_open ? 1 : 0);
        s->event_new_media = false;
        s->event_eject_request = false;
        len = 8;
    } else {
        buf[2] = 0x80;                  /* NEA: no requested class exists */
    }
    stw_be_p(buf, len - 2);
    atapi_reply(s, len, lduw_be_p(s->packet + 7));
}

static int atapi_mode_page(IDEState *s, uint8_t page, uint8_t *p)
{
    switch (page) {
    case MODE_PAGE_ERROR_RECOVERY:
        memset(p, 0, 8);
        p[0] = MODE_PAGE_ERROR_RECOVERY;
        p[1] = 6;
        p[3] = 5;                       /* read retry count */
        return 8;
    case MODE_PAGE_CAPABILITIES:
        /* 22 bytes (MMC-3's 20 plus two reserved ones), as QEMU sends. */
        memset(p, 0, 22);
        p[0] = MODE_PAGE_CAPABILITIES;
        p[1] = 20;
        p[2] = 0x3b;                    /* reads CD-R/RW, DVD-ROM/R/RAM */
        p[4] = 0x71;                    /* audio play, mode 2 form 1/2, multi */
        p[5] = 3 << 5;
        p[6] = (1 << 0) | (1 << 3) | (1 << 5) | (s->locked ? 1 << 1 : 0);
        stw_be_p(p + 8, 704);           /* maximum speed, kB/s (4x) */
        stw_be_p(p + 10, 2);            /* volume levels */
        stw_be_p(p + 12, 512);          /* buffer size, KiB */
        stw_be_p(p + 14, 704);          /* current speed */
        return 22;
    }
    return -1;
}

static void atapi_mode_sense(IDEState *s, uint8_t *buf, bool ten)
{
    uint8_t page = s->packet[2] & 0x3f;
    uint8_t pc = s->packet[2] >> 6;
    int hdr = ten ? 8 : 4;
    int len = hdr, n;

    if (pc == 3) {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
        return;
    }
    memset(buf, 0, hdr);
    if (page == MODE_PAGE_ALL) {
        len += atapi_mode_page(s, MODE_PAGE_ERROR_RECOVERY, buf + len);
        len += atapi_mode_page(s, MODE_PAGE_CAPABILITIES, buf + len);
    } else {
        n = atapi_mode_page(s, page, buf + len);
        if (n < 0) {
            atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
            return;
        }
        len += n;
    }
    if (ten) {
        stw_be_p(buf, len - 2);
        buf[2] = 0x70;                  /* medium type, as QEMU */
        atapi_reply(s, len, lduw_be_p(s->packet + 7));
    } else {
        buf[0] = len - 1;
        buf[1] = 0x70;
        atapi_reply(s, len, s->packet[4]);
    }
}

/* START STOP UNIT (MMC-3 6.39): LoEj opens or closes the tray. */
static void atapi_start_stop(IDEState *s)
{
    bool loej = s->packet[4] & 2;
    bool start = s->packet[4] & 1;

    if (loej && !start) {
        if (s->locked) {
            /* MMC-3 says ILLEGAL REQUEST; QEMU (and so what guests of
             * QEMU have seen) answers NOT READY, with the same ASC. */
            atapi_cmd_error(s, SENSE_NOT_READY, ASC_REMOVAL_PREVENTED);
            s->ascq = 2;
            return;
        }
        if (!s->tray_open) {
            s->tray_open = true;
            blk_tray_moved(s->blk, true);
        }
    } else if (loej && start && s->tray_open) {
        s->tray_open = false;
        blk_tray_moved(s->blk, false);
        if (blk_is_inserted(s->blk)) {
            /* The medium is (maybe) another one now. */
            s->unit_attention = true;
            s->event_new_media = true;
        }
    }
    atapi_cmd_ok(s);
}

static void atapi_dispatch(IDEState *s, uint8_t op)
{
    uint8_t *buf = s->io_buffer;
    const uint8_t *p = s->packet;

    switch (op) {
    case GPCMD_TEST_UNIT_READY:
    case GPCMD_SEEK_10:
    case GPCMD_SET_SPEED:
        atapi_cmd_ok(s);
        break;
    case GPCMD_REQUEST_SENSE:
        atapi_request_sense(s, buf);
        break;
    case GPCMD_INQUIRY:
        atapi_inquiry(s, buf);
        break;
    case GPCMD_READ_CAPACITY:
        atapi_read_capacity(s, buf);
        break;
    case GPCMD_READ_10:
        atapi_read(s, ldl_be_p(p + 2), lduw_be_p(p + 7));
        break;
    case GPCMD_READ_12:
        atapi_read(s, ldl_be_p(p + 2), ldl_be_p(p + 6));
        break;
    case GPCMD_READ_TOC:
        atapi_read_toc(s, buf);
        break;
    case GPCMD_GET_CONFIGURATION:
        atapi_get_configuration(s, buf);
        break;
    case GPCMD_GET_EVENT_STATUS:
        atapi_get_event_status(s, buf);
        break;
    case GPCMD_MODE_SENSE_10:
        atapi_mode_sense(s, buf, true);
        break;
    case GPCMD_MODE_SENSE_6:
        atapi_mode_sense(s, buf, false);
        break;
    case GPCMD_START_STOP_UNIT:
        atapi_start_stop(s);
        break;
    case GPCMD_PREVENT_ALLOW:
        s->locked = p[4] & 1;
        atapi_cmd_ok(s);
        break;
    default:
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_OPCODE);
        break;
    }
}

void atapi_execute(IDEState *s)
{
    uint8_t op = s->packet[0];

    s->atapi_left = 0;
    if (s->unit_attention && !atapi_allowed_with_ua(op)) {
        s->unit_attention = false;
        atapi_cmd_error(s, SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
        return;
    }
    /* After a change from the monitor: first the old medium is gone,
     * then the new one has come (guests that do not poll events see the
     * change this way). */
    if (s->media_changed && !atapi_allowed_with_ua(op) &&
        atapi_medium_present(s)) {
        if (s->media_changed == 1) {
            s->media_changed = 2;
            atapi_cmd_error(s, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
        } else {
            s->media_changed = 0;
            atapi_cmd_error(s, SENSE_UNIT_ATTENTION,
                            ASC_MEDIUM_MAY_HAVE_CHANGED);
        }
        return;
    }
    if (atapi_needs_medium(op) && !atapi_medium_present(s)) {
        atapi_not_ready(s);
        return;
    }
    atapi_dispatch(s, op);
}

/* PACKET (ATA-6 8.21): take 12 command bytes through the data port. */
void atapi_packet_cmd(IDEState *s)
{
    s->atapi_dma = s->feature & 1;
    s->xfer = IDE_XFER_PACKET;
    s->data_pos = 0;
    s->data_end = sizeof(s->packet);
    s->nsector = ATAPI_IREASON_COD;
    s->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
}

/* ---- the backend's callbacks (monitor media commands) ------------------ */

/* A medium came (@load: the tray closes on it) or the tray opened. */
static void atapi_change_media_cb(void *opaque, bool load)
{
    IDEState *s = opaque;

    s->tray_open = !load;
    s->nb_sectors = blk_getlength(s->blk) / IDE_SECTOR_SIZE;
    s->media_changed = 1;
    s->event_new_media = true;
    s->event_eject_request = false;
}

static void atapi_eject_request_cb(void *opaque, bool force)
{
    IDEState *s = opaque;

    s->event_eject_request = true;
    if (force) {
        s->locked = false;
    }
}

static bool atapi_is_tray_open(void *opaque)
{
    return ((IDEState *)opaque)->tray_open;
}

static bool atapi_is_medium_locked(void *opaque)
{
    return ((IDEState *)opaque)->locked;
}

const BlockDevOps atapi_dev_ops = {
    .change_media_cb = atapi_change_media_cb,
    .eject_request_cb = atapi_eject_request_cb,
    .is_tray_open = atapi_is_tray_open,
    .is_medium_locked = atapi_is_medium_locked,
    .retry_cb = ide_retry_request,
};
