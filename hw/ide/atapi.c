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
#include "hw/scsi/mmc.h"

/* Operation codes (SCSI's, include/hw/scsi/scsi-defs.h, under MMC names) */
enum {
    GPCMD_TEST_UNIT_READY = TEST_UNIT_READY, GPCMD_REQUEST_SENSE = REQUEST_SENSE,
    GPCMD_INQUIRY = INQUIRY, GPCMD_MODE_SENSE_6 = MODE_SENSE_6,
    GPCMD_START_STOP_UNIT = START_STOP_UNIT,
    GPCMD_PREVENT_ALLOW = PREVENT_ALLOW_MEDIUM_REMOVAL,
    GPCMD_READ_CAPACITY = READ_CAPACITY_10, GPCMD_READ_10 = READ_10,
    GPCMD_SEEK_10 = SEEK_10, GPCMD_READ_TOC = READ_TOC,
    GPCMD_GET_CONFIGURATION = GET_CONFIGURATION,
    GPCMD_GET_EVENT_STATUS = GET_EVENT_STATUS_NOTIFICATION,
    GPCMD_MODE_SENSE_10 = MODE_SENSE_10, GPCMD_READ_12 = READ_12,
    GPCMD_SET_SPEED = SET_CD_SPEED,
};

#define MODE_PAGE_ERROR_RECOVERY MODE_PAGE_R_W_ERROR

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

/* Whether the data-in can take more sectors from the medium (a loaded
 * state may claim a read in progress on an empty drive). */
static bool atapi_can_refill(const IDEState *s)
{
    return s->atapi_reading && atapi_medium_present(s);
}

/* Sectors the next refill reads: what is left, up to a buffer's worth. */
static uint32_t atapi_refill_sectors(const IDEState *s)
{
    uint64_t blocks = ALIGN_UP(s->atapi_left, ATAPI_SECTOR_SIZE) /
                      ATAPI_SECTOR_SIZE;

    return MIN(blocks, IDE_BUF_SIZE / ATAPI_SECTOR_SIZE);
}

/* Read the next sectors into io_buffer; the drive is busy until @done. */
static void atapi_refill(IDEState *s, IDEAioDone *done)
{
    ide_aio_read(s, (uint64_t)s->atapi_lba * ATAPI_SECTOR_SIZE,
                 atapi_refill_sectors(s) * ATAPI_SECTOR_SIZE, done);
}

/* The sectors came (atapi_left has not moved meanwhile). */
static void atapi_take_refill(IDEState *s)
{
    uint32_t n = atapi_refill_sectors(s);

    s->atapi_lba += n;
    s->buf_fill = n * ATAPI_SECTOR_SIZE;
    s->data_pos = 0;
}

/* Offer the host the next chunk of io_buffer. */
static void atapi_pio_chunk(IDEState *s)
{
    uint32_t chunk = MIN(atapi_byte_count_limit(s), s->buf_fill - s->data_pos);

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

/* ATAPI reads have no error policy (QEMU has none): MEDIUM ERROR. */
static void atapi_pio_refilled(IDEState *s, int ret)
{
    if (ret < 0) {
        atapi_cmd_error(s, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
        return;
    }
    atapi_take_refill(s);
    atapi_pio_chunk(s);
}

/* Offer the host the next chunk (reading it from the medium first when
 * the buffer is used up), or end the command. */
void atapi_pio_next(IDEState *s)
{
    if (s->atapi_left == 0) {
        atapi_cmd_ok(s);
        return;
    }
    if (s->data_pos >= s->buf_fill) {
        if (!atapi_can_refill(s)) {
            atapi_cmd_error(s, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
            return;
        }
        atapi_refill(s, atapi_pio_refilled);
        return;
    }
    atapi_pio_chunk(s);
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

static void atapi_dma_end(IDEState *s, IDEDMAResult res, uint8_t key,
                          uint8_t asc)
{
    s->bus->ops->dma_end(s->bus->opaque, res);
    s->dma_pending = false;
    if (res == IDE_DMA_OK) {
        atapi_cmd_ok(s);
    } else {
        atapi_cmd_error(s, key, asc);
    }
}

static void atapi_dma_refilled(IDEState *s, int ret)
{
    if (ret < 0) {
        atapi_dma_end(s, IDE_DMA_ERROR, SENSE_MEDIUM_ERROR,
                      ASC_UNRECOVERED_READ);
        return;
    }
    atapi_take_refill(s);
    atapi_dma_run(s);
}

/* Move the data-in through the bus master, reading the medium a buffer
 * at a time (the drive is busy while it reads; this goes on after). */
void atapi_dma_run(IDEState *s)
{
    const IDEBusOps *ops = s->bus->ops;
    IDEDMAResult res = IDE_DMA_OK;

    while (s->atapi_left && res == IDE_DMA_OK) {
        uint32_t len;
        if (s->data_pos >= s->buf_fill) {
            if (!atapi_can_refill(s)) {
                res = IDE_DMA_ERROR;
                break;
            }
            atapi_refill(s, atapi_dma_refilled);
            return;
        }
        len = MIN(s->buf_fill - s->data_pos, s->atapi_left);
        res = ops->dma_rw(s->bus->opaque, s->io_buffer + s->data_pos, len,
                          true);
        s->data_pos += len;
        s->atapi_left -= len;
    }
    atapi_dma_end(s, res, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
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

static void atapi_read_toc(IDEState *s, uint8_t *buf)
{
    int len = mmc_read_toc(s->packet, atapi_blocks(s), buf);

    if (len < 0) {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    atapi_reply(s, len, lduw_be_p(s->packet + 7));
}

static uint16_t atapi_current_profile(const IDEState *s)
{
    return mmc_current_profile(atapi_medium_present(s), atapi_blocks(s));
}

static void atapi_get_configuration(IDEState *s, uint8_t *buf)
{
    /* Core feature: physical interface 2, ATAPI */
    int len = mmc_get_configuration(s->packet, atapi_current_profile(s), 2,
                                    buf);

    if (len < 0) {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    atapi_reply(s, len, lduw_be_p(s->packet + 7));
}

/* Polled GET EVENT STATUS NOTIFICATION, media class only (MMC-3 6.5). */
static void atapi_get_event_status(IDEState *s, uint8_t *buf)
{
    /* EjectRequest / NewMedia / no change */
    unsigned event = s->event_eject_request ? 1 : s->event_new_media ? 2 : 0;
    int len = mmc_get_event_status(s->packet, event, atapi_medium_present(s),
                                   s->tray_open, buf);

    if (len < 0) {
        atapi_cmd_error(s, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    if (s->packet[4] & (1 << 4)) {      /* the media class was read */
        s->event_new_media = false;
        s->event_eject_request = false;
    }
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
        return mmc_capabilities_page(s->locked, p);
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
