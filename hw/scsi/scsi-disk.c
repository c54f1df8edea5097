/*
 * scsi-hd and scsi-cd: a direct-access block device and a CD/DVD-ROM on
 * the SCSI bus (hw/scsi/scsi-bus.c), on a block backend.
 *
 * Specs: SPC-4 (T10/1731-D r37): TEST UNIT READY 6.47, INQUIRY 6.6 with
 * the vital product data pages of 7.8 (00h supported pages, 80h unit
 * serial number, 83h device identification), REQUEST SENSE 6.39, MODE
 * SENSE(6/10)/MODE SELECT(6/10) 6.11-6.14 with the control mode page
 * (7.5.8); SBC-3 (T10/1799-D r35): READ/WRITE(6/10/12/16) 5.8-5.33,
 * WRITE AND VERIFY, VERIFY, READ CAPACITY(10/16) 5.15/5.16, UNMAP 5.28,
 * WRITE SAME(10/16) 5.41/5.42, SYNCHRONIZE CACHE(10/16) 5.22/5.23, START
 * STOP UNIT 5.20, the block limits (B0h), block device characteristics
 * (B1h) and logical block provisioning (B2h) VPD pages (6.5), the caching
 * mode page (6.4.5); MMC-6 (T10/1836-D r2g) for scsi-cd: READ TOC, GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION, READ DISC INFORMATION,
 * the CD capabilities page, PREVENT ALLOW MEDIUM REMOVAL and the tray
 * (include/hw/scsi/mmc.h, shared with the ATAPI drive).
 *
 * Properties as QEMU's: drive, serial, wwn, vendor, product, ver,
 * removable (scsi-hd), logical_block_size, physical_block_size,
 * bootindex, werror/rerror (scsi-hd); plus the bus's channel, scsi-id,
 * lun and bus.  Identity strings as QEMU's ("QEMU", "QEMU HARDDISK",
 * "QEMU CD-ROM", "2.5+").
 *
 * Reads and writes go straight between the adapter's iovec and the
 * block layer (blk_aio_preadv/pwritev); UNMAP and WRITE SAME are chains of
 * asynchronous requests, one out at a time (write-zeroes with
 * BDRV_REQ_MAY_UNMAP, so unmapped blocks read zero, as LBPRZ promises; a
 * pattern a 256 KiB chunk at a time), so no command waits for the block
 * layer on the queue's thread; everything else builds its reply in the
 * request's buffer.  The monitor's media commands reach scsi-cd
 * through BlockDevOps and are reported as QEMU's scsi-cd reports them: a
 * unit attention "medium not present", then "medium may have changed",
 * and a NewMedia event for GET EVENT STATUS NOTIFICATION.
 */
#include "qemu/osdep.h"
#include "hw/scsi/scsi.h"
#include "hw/scsi/mmc.h"
#include "hw/nvram/fw_cfg.h"
#include "system/blockdev.h"

#define TYPE_SCSI_HD            "scsi-hd"
#define TYPE_SCSI_CD            "scsi-cd"

/* Block limits (VPD B0h): what one UNMAP or WRITE SAME may cover. */
#define SCSI_MAX_UNMAP_BYTES    (1 * GiB)
#define SCSI_MAX_UNMAP_DESCS    255
#define SCSI_WRITE_SAME_CHUNK   (256 * KiB)

typedef struct SCSIDiskState {
    SCSIDevice qdev;

    /* properties */
    char *drive;
    char *serial;
    uint64_t wwn;
    char *vendor, *product, *version;
    bool removable, share_rw;
    uint32_t logical_block_size, physical_block_size;
    int32_t bootindex;
    char *werror, *rerror;

    bool is_cd;
    BlockBackend *blk;
    bool blk_made;              /* an anonymous backend we created */
    char *device_id;            /* VPD 83h's vendor-specific designator */
    char *device_id_prop;       /* device_id=: that designator as given */

    /* guest-visible state (vmstate_scsi_disk) */
    bool write_cache;           /* WCE of the caching page */
    bool tray_open;
    bool locked;
    bool media_changed;         /* "medium may have changed" follows */
    bool media_event;           /* NewMedia for GESN */
    bool eject_request;         /* EjectRequest for GESN */

    SCSIRequest *stopped;       /* requests held by werror/rerror=stop */
} SCSIDiskState;

static SCSIDiskState *disk_of(SCSIRequest *req)
{
    return (SCSIDiskState *)req->dev;
}

static uint32_t scsi_disk_block_size(SCSIDevice *dev)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    return s->is_cd ? MMC_BLOCK_SIZE : s->logical_block_size;
}

static bool scsi_disk_medium_present(SCSIDiskState *s)
{
    return blk_is_inserted(s->blk) && !s->tray_open;
}

/* Logical blocks on the medium (0 without one). */
static uint64_t scsi_disk_blocks(SCSIDiskState *s)
{
    if (!scsi_disk_medium_present(s)) {
        return 0;
    }
    return blk_getlength(s->blk) / scsi_disk_block_size(&s->qdev);
}

static bool scsi_disk_read_only(SCSIDiskState *s)
{
    return s->is_cd || blk_is_read_only(s->blk);
}

/* ---- INQUIRY ------------------------------------------------------------- */

static void put_padded(uint8_t *p, const char *str, size_t n)
{
    size_t l = MIN(strlen(str), n);

    memset(p, ' ', n);
    memcpy(p, str, l);
}

static void scsi_disk_inquiry_std(SCSIRequest *req, SCSIDiskState *s)
{
    uint8_t *buf = req->buf;

    memset(buf, 0, 36);
    buf[0] = s->is_cd ? 5 : 0;          /* CD/DVD or direct access */
    buf[1] = s->removable || s->is_cd ? 0x80 : 0;
    buf[2] = 5;                         /* SPC-3 */
    buf[3] = 2 | 0x10;                  /* response format 2, HiSup */
    buf[4] = 36 - 5;
    buf[7] = 0x10 | 0x02;               /* SYNC, CmdQue */
    put_padded(buf + 8, s->vendor, 8);
    put_padded(buf + 16, s->product ? s->product :
               s->is_cd ? "QEMU CD-ROM" : "QEMU HARDDISK", 16);
    put_padded(buf + 32, s->version, 4);
    scsi_req_reply(req, 36, lduw_be_p(req->cdb + 3));
}

/* Page 83h: an ASCII vendor-specific designator and the NAA WWN. */
static size_t vpd_device_identification(SCSIDiskState *s, uint8_t *p)
{
    size_t len = 0;

    if (s->device_id) {
        size_t n = MIN(strlen(s->device_id), 255 - 8);
        p[len++] = 0x2;                 /* code set ASCII */
        p[len++] = 0;                   /* vendor specific, LUN */
        p[len++] = 0;
        p[len++] = n;
        memcpy(p + len, s->device_id, n);
        len += n;
    }
    if (s->wwn) {
        p[len++] = 0x1;                 /* binary */
        p[len++] = 0x3;                 /* NAA, LUN */
        p[len++] = 0;
        p[len++] = 8;
        stq_be_p(p + len, s->wwn);
        len += 8;
    }
    return len;
}

/* Page B0h (SBC-3 6.5.3). */
static size_t vpd_block_limits(SCSIDiskState *s, uint8_t *p)
{
    uint32_t bs = scsi_disk_block_size(&s->qdev);
    uint32_t per_phys = s->physical_block_size / bs;
    uint32_t max_unmap = SCSI_MAX_UNMAP_BYTES / bs;

    memset(p, 0, 0x3c);
    stw_be_p(p + 2, per_phys);          /* optimal transfer granularity */
    stl_be_p(p + 4, 0);                 /* maximum transfer: no limit */
    stl_be_p(p + 16, max_unmap);        /* maximum unmap LBA count */
    stl_be_p(p + 20, SCSI_MAX_UNMAP_DESCS);
    stl_be_p(p + 24, per_phys);         /* optimal unmap granularity */
    stq_be_p(p + 32, max_unmap);        /* maximum write same length */
    return 0x3c;
}

/* Page B2h (SBC-3 6.5.4): UNMAP, WRITE SAME(16/10) with UNMAP; unmapped
 * blocks read zero.  Thin provisioned when discards reach the image. */
static size_t vpd_provisioning(SCSIDiskState *s, uint8_t *p)
{
    memset(p, 0, 4);
    p[1] = 0xe0 | 0x04;                 /* LBPU, LBPWS, LBPWS10, LBPRZ */
    p[2] = blk_get_open_flags(s->blk) & BDRV_O_UNMAP ? 2 : 0;
    return 4;
}

static void scsi_disk_inquiry_vpd(SCSIRequest *req, SCSIDiskState *s)
{
    uint8_t *buf = req->buf;
    uint8_t page = req->cdb[2];
    uint8_t *p = buf + 4;
    size_t len = 0;

    switch (page) {
    case 0x00:
        p[len++] = 0x00;
        if (s->serial) {
            p[len++] = 0x80;
        }
        p[len++] = 0x83;
        if (!s->is_cd) {
            p[len++] = 0xb0;
            p[len++] = 0xb1;
            p[len++] = 0xb2;
        }
        break;
    case 0x80:
        if (!s->serial) {
            goto invalid;
        }
        len = MIN(strlen(s->serial), 36);
        memcpy(p, s->serial, len);
        break;
    case 0x83:
        len = vpd_device_identification(s, p);
        break;
    case 0xb0:
        if (s->is_cd) {
            goto invalid;
        }
        len = vpd_block_limits(s, p);
        break;
    case 0xb1:
        if (s->is_cd) {
            goto invalid;
        }
        memset(p, 0, 0x3c);
        stw_be_p(p, 1);                 /* non-rotating medium */
        len = 0x3c;
        break;
    case 0xb2:
        if (s->is_cd) {
            goto invalid;
        }
        len = vpd_provisioning(s, p);
        break;
    default:
        goto invalid;
    }
    buf[0] = s->is_cd ? 5 : 0;
    buf[1] = page;
    stw_be_p(buf + 2, len);
    scsi_req_reply(req, 4 + len, lduw_be_p(req->cdb + 3));
    return;
invalid:
    scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
}

static void scsi_disk_inquiry(SCSIRequest *req, SCSIDiskState *s)
{
    if (req->cdb[1] & 1) {
        scsi_disk_inquiry_vpd(req, s);
    } else if (req->cdb[2] || (req->cdb[1] & 2)) {
        /* a page code without EVPD, or the obsolete CmdDt */
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
    } else {
        scsi_disk_inquiry_std(req, s);
    }
}

/* ---- capacity -------------------------------------------------------------- */

static void scsi_disk_read_capacity10(SCSIRequest *req, SCSIDiskState *s)
{
    uint64_t blocks = scsi_disk_blocks(s);

    stl_be_p(req->buf, blocks ? MIN(blocks - 1, UINT32_MAX) : 0);
    stl_be_p(req->buf + 4, scsi_disk_block_size(&s->qdev));
    scsi_req_reply(req, 8, 8);
}

static void scsi_disk_read_capacity16(SCSIRequest *req, SCSIDiskState *s)
{
    uint64_t blocks = scsi_disk_blocks(s);
    uint32_t bs = scsi_disk_block_size(&s->qdev);
    uint8_t *buf = req->buf;

    if ((req->cdb[1] & 0x1f) != SAI_READ_CAPACITY_16) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_OPCODE);
        return;
    }
    memset(buf, 0, 32);
    stq_be_p(buf, blocks ? blocks - 1 : 0);
    stl_be_p(buf + 8, bs);
    buf[13] = __builtin_ctz(s->physical_block_size / bs);
    if (!s->is_cd) {
        buf[14] = 0x80 | 0x40;          /* LBPME, LBPRZ */
    }
    scsi_req_reply(req, 32, ldl_be_p(req->cdb + 10));
}

/* ---- mode pages ------------------------------------------------------------ */

/* Page @page for page control @pc (0 current, 1 changeable, 2 default);
 * its length, or -1 when the device has no such page. */
static int scsi_disk_mode_page(SCSIDiskState *s, uint8_t page, int pc,
                               uint8_t *p)
{
    switch (page) {
    case MODE_PAGE_R_W_ERROR:
        memset(p, 0, 12);
        p[0] = MODE_PAGE_R_W_ERROR;
        p[1] = 10;
        if (pc != 1) {
            p[2] = 0x80;                /* AWRE */
            p[3] = s->is_cd ? 5 : 0;    /* read retry count */
        }
        return 12;
    case MODE_PAGE_CACHING:
        if (s->is_cd) {
            return -1;
        }
        memset(p, 0, 20);
        p[0] = MODE_PAGE_CACHING;
        p[1] = 18;
        /* WCE: changeable; default on; current as the guest set it */
        p[2] = pc == 1 ? 0x04 : (pc == 2 || s->write_cache) ? 0x04 : 0;
        return 20;
    case MODE_PAGE_CONTROL:
        memset(p, 0, 12);
        p[0] = MODE_PAGE_CONTROL;
        p[1] = 10;
        if (pc != 1) {
            stw_be_p(p + 8, 0xffff);    /* busy timeout: unlimited */
        }
        return 12;
    case MODE_PAGE_CAPABILITIES:
        if (!s->is_cd) {
            return -1;
        }
        mmc_capabilities_page(s->locked, p);
        if (pc == 1) {
            memset(p + 2, 0, 20);
        }
        return 22;
    }
    return -1;
}

static const uint8_t mode_pages_all[] = {
    MODE_PAGE_R_W_ERROR, MODE_PAGE_CACHING, MODE_PAGE_CONTROL,
    MODE_PAGE_CAPABILITIES,
};

static void scsi_disk_mode_sense(SCSIRequest *req, SCSIDiskState *s)
{
    bool ten = req->cdb[0] == MODE_SENSE_10;
    bool dbd = req->cdb[1] & 8;
    uint8_t page = req->cdb[2] & 0x3f;
    int pc = req->cdb[2] >> 6;
    uint8_t subpage = req->cdb[3];
    uint8_t *buf = req->buf;
    int hdr = ten ? 8 : 4;
    int len, n;
    uint64_t blocks = scsi_disk_blocks(s);

    if (pc == 3) {
        scsi_req_check_condition(req, SENSE_CODE_SAVING_NOT_SUPPORTED);
        return;
    }
    if (subpage != 0 && !(page == MODE_PAGE_ALL && subpage == 0xff)) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    memset(buf, 0, hdr + 8);
    len = hdr;
    /* A block descriptor for disks (CD-ROMs send none, as QEMU's). */
    if (!dbd && !s->is_cd) {
        uint32_t bs = scsi_disk_block_size(&s->qdev);
        uint8_t *bd = buf + hdr;
        stl_be_p(bd, MIN(blocks, 0xffffff));
        bd[0] = 0;                      /* density code */
        stl_be_p(bd + 4, bs & 0xffffff);
        if (ten) {
            buf[7] = 8;
        } else {
            buf[3] = 8;
        }
        len += 8;
    }
    if (page == MODE_PAGE_ALL) {
        for (unsigned i = 0; i < G_N_ELEMENTS(mode_pages_all); i++) {
            n = scsi_disk_mode_page(s, mode_pages_all[i], pc, buf + len);
            if (n > 0) {
                len += n;
            }
        }
    } else {
        n = scsi_disk_mode_page(s, page, pc, buf + len);
        if (n < 0) {
            scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
            return;
        }
        len += n;
    }
    /* device-specific parameter: write protect, DPOFUA */
    if (ten) {
        stw_be_p(buf, len - 2);
        buf[3] = s->is_cd ? 0 : (scsi_disk_read_only(s) ? 0x80 : 0) | 0x10;
        scsi_req_reply(req, len, lduw_be_p(req->cdb + 7));
    } else {
        buf[0] = len - 1;
        buf[2] = s->is_cd ? 0 : (scsi_disk_read_only(s) ? 0x80 : 0) | 0x10;
        scsi_req_reply(req, len, req->cdb[4]);
    }
}

/*
 * MODE SELECT: the caching page's WCE is the one changeable field; other
 * pages the device has are accepted as long as they are well formed.
 */
static void scsi_disk_mode_select(SCSIRequest *req, SCSIDiskState *s)
{
    bool ten = req->cdb[0] == MODE_SELECT_10;
    size_t want = ten ? lduw_be_p(req->cdb + 7) : req->cdb[4];
    size_t len = scsi_req_fetch(req, want);
    const uint8_t *p = req->buf;
    size_t hdr = ten ? 8 : 4, bdlen, pos;
    bool wce = s->write_cache;

    if (req->cdb[1] & 1) {              /* SP: save pages */
        scsi_req_check_condition(req, SENSE_CODE_SAVING_NOT_SUPPORTED);
        return;
    }
    if (len == 0) {
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    if (len < hdr) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM_LEN);
        return;
    }
    bdlen = ten ? lduw_be_p(p + 6) : p[3];
    if (bdlen != 0 && bdlen != 8) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM);
        return;
    }
    if (hdr + bdlen > len) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM_LEN);
        return;
    }
    if (bdlen && (ldl_be_p(p + hdr + 4) & 0xffffff) &&
        (ldl_be_p(p + hdr + 4) & 0xffffff) !=
        scsi_disk_block_size(&s->qdev)) {
        /* the block size cannot change */
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM);
        return;
    }
    for (pos = hdr + bdlen; pos < len;) {
        uint8_t page = p[pos] & 0x3f;
        uint8_t tmp[32];
        size_t plen;
        int n;

        if (p[pos] & 0x40 || pos + 2 > len) {   /* subpage format */
            scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM);
            return;
        }
        plen = p[pos + 1] + 2;
        n = scsi_disk_mode_page(s, page, 0, tmp);
        if (n < 0 || (size_t)n != plen) {
            scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM);
            return;
        }
        if (pos + plen > len) {
            scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM_LEN);
            return;
        }
        if (page == MODE_PAGE_CACHING) {
            wce = p[pos + 2] & 0x04;
        }
        pos += plen;
    }
    s->write_cache = wce;
    scsi_req_complete(req, SCSI_STATUS_GOOD);
}

/* ---- errors and the block I/O ------------------------------------------- */

typedef struct ErrorEvent {
    BlockBackend *blk;
    BlockErrorAction action;
    bool is_read;
    int error;
} ErrorEvent;

static void error_event_main(void *opaque)
{
    ErrorEvent *e = opaque;

    blk_error_action(e->blk, e->action, e->is_read, e->error);
    g_free(e);
}

/* The policy for a failed I/O; true when the request was held (stop). */
static bool scsi_disk_io_error(SCSIRequest *req, int ret, bool is_read)
{
    SCSIDiskState *s = disk_of(req);
    BlockErrorAction action = s->is_cd ? BLOCK_ERROR_ACTION_REPORT :
                              blk_get_error_action(s->blk, is_read, -ret);
    ErrorEvent *e = g_new(ErrorEvent, 1);

    *e = (ErrorEvent){ s->blk, action, is_read, -ret };
    if (action == BLOCK_ERROR_ACTION_STOP) {
        req->in_flight = false;         /* held: no I/O runs for it */
        req->stopped = true;
        req->next_stopped = s->stopped;
        s->stopped = req;
    }
    /* Events and the VM stop belong to the main loop. */
    scsi_run_on_main(error_event_main, e);
    if (action == BLOCK_ERROR_ACTION_STOP) {
        return true;
    }
    g_free(req->io_bounce);             /* WRITE SAME's pattern, if any */
    req->io_bounce = NULL;
    if (action == BLOCK_ERROR_ACTION_IGNORE) {
        req->xferred = req->xfer;
        scsi_req_complete(req, SCSI_STATUS_GOOD);
    } else {
        scsi_req_check_condition(req, scsi_sense_from_errno(-ret));
    }
    return false;
}

static void scsi_disk_flush_done(void *opaque, int ret)
{
    SCSIRequest *req = opaque;

    if (ret < 0 && !req->io_canceled) {
        scsi_disk_io_error(req, ret, false);
        return;
    }
    scsi_req_complete(req, SCSI_STATUS_GOOD);
}

static void scsi_disk_rw_done(void *opaque, int ret)
{
    SCSIRequest *req = opaque;
    SCSIDiskState *s = disk_of(req);

    if (req->io_canceled) {
        /* aborted or dropped by its adapter meanwhile: no error policy,
         * no flush, for what nobody waits for (as QEMU) */
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    if (ret < 0) {
        scsi_disk_io_error(req, ret, !req->io_write);
        return;
    }
    req->xferred = req->xfer;
    if (req->io_write && req->io_fua) {
        blk_aio_flush(s->blk, scsi_disk_flush_done, req);
        return;
    }
    scsi_req_complete(req, SCSI_STATUS_GOOD);
}

static void scsi_disk_issue_rw(SCSIRequest *req)
{
    SCSIDiskState *s = disk_of(req);

    req->in_flight = true;
    if (req->io_write) {
        blk_aio_pwritev(s->blk, &req->aio, req->io_offset, req->iov,
                        req->niov, scsi_disk_rw_done, req);
    } else {
        blk_aio_preadv(s->blk, &req->aio, req->io_offset, req->iov,
                       req->niov, scsi_disk_rw_done, req);
    }
}

/* The LBA and block count of READ/WRITE/VERIFY/WRITE SAME CDBs. */
static void scsi_cdb_lba(const uint8_t *cdb, uint64_t *lba, uint64_t *n)
{
    switch (cdb[0] >> 5) {
    case 0:
        *lba = ld24_be_p(cdb + 1) & 0x1fffff;
        *n = cdb[4] ? cdb[4] : 256;
        break;
    case 1:
    case 2:
        *lba = ldl_be_p(cdb + 2);
        *n = lduw_be_p(cdb + 7);
        break;
    case 4:
        *lba = ldq_be_p(cdb + 2);
        *n = ldl_be_p(cdb + 10);
        break;
    default:
        *lba = ldl_be_p(cdb + 2);
        *n = ldl_be_p(cdb + 6);
        break;
    }
}

static bool scsi_disk_check_range(SCSIRequest *req, SCSIDiskState *s,
                                  uint64_t lba, uint64_t n)
{
    uint64_t blocks = scsi_disk_blocks(s);

    if (lba > blocks || n > blocks - lba) {
        scsi_req_check_condition(req, SENSE_CODE_LBA_OUT_OF_RANGE);
        return false;
    }
    return true;
}

static void scsi_disk_rw(SCSIRequest *req, SCSIDiskState *s, bool write)
{
    uint64_t lba, n;

    scsi_cdb_lba(req->cdb, &lba, &n);
    if (!scsi_disk_check_range(req, s, lba, n)) {
        return;
    }
    if (write && scsi_disk_read_only(s)) {
        scsi_req_check_condition(req, SENSE_CODE_WRITE_PROTECTED);
        return;
    }
    if (n == 0 || req->xfer == 0) {
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    req->io_offset = lba * scsi_disk_block_size(&s->qdev);
    req->io_write = write;
    /* FUA (not in the 6-byte forms) or the write cache off: flush */
    req->io_fua = write && (!s->write_cache ||
                            ((req->cdb[0] >> 5) != 0 && (req->cdb[1] & 8)));
    scsi_disk_issue_rw(req);
}

static void scsi_disk_synchronize_cache(SCSIRequest *req, SCSIDiskState *s)
{
    req->in_flight = true;
    req->io_write = true;
    blk_aio_flush(s->blk, scsi_disk_flush_done, req);
}

/* ---- UNMAP and WRITE SAME: chains of block requests ----------------------- */

/*
 * One UNMAP descriptor or one WRITE SAME may cover 1 GiB, so these never
 * wait for the block layer on the queue's thread: each step is one
 * asynchronous request and the next is issued from its completion.  The
 * request is in_flight all along, as a read's is, so the adapter's aborts
 * and resets and device_del wait for the step out (the block layer cannot
 * take one back) and an aborted chain issues nothing more.  req->io_step
 * names the step out, so werror=stop holds the request and `cont` issues
 * that same step again.
 */
typedef enum ScsiDiskStep {
    SCSI_DISK_STEP_UNMAP,       /* descriptor io_desc of the list in buf */
    SCSI_DISK_STEP_ZEROES,      /* write-zeroes over [io_offset, io_end) */
    SCSI_DISK_STEP_PATTERN,     /* the chunk at io_offset from io_bounce */
    SCSI_DISK_STEP_FLUSH,       /* write cache off: the flush at the end */
} ScsiDiskStep;

static void scsi_disk_step_issue(SCSIRequest *req);

/* The pattern's chunk goes with the request's end (and with a held
 * request the adapter drops). */
static void scsi_disk_drop_bounce(SCSIRequest *req)
{
    g_free(req->io_bounce);
    req->io_bounce = NULL;
}

/* The LBA and block count of UNMAP descriptor @i (checked at the start). */
static void scsi_unmap_desc(SCSIRequest *req, unsigned i, uint64_t *lba,
                            uint64_t *n)
{
    const uint8_t *d = req->buf + 8 + 16 * i;

    *lba = ldq_be_p(d);
    *n = ldl_be_p(d + 8);
}

/* The first descriptor from io_desc that unmaps something; false: none. */
static bool scsi_unmap_find_desc(SCSIRequest *req)
{
    unsigned ndesc = lduw_be_p(req->buf + 2) / 16;
    uint64_t lba, n;

    for (; req->io_desc < ndesc; req->io_desc++) {
        scsi_unmap_desc(req, req->io_desc, &lba, &n);
        if (n) {
            return true;
        }
    }
    return false;
}

/* The data are changed: flush them with the write cache off, then GOOD. */
static void scsi_disk_step_flush_or_end(SCSIRequest *req)
{
    SCSIDiskState *s = disk_of(req);

    scsi_disk_drop_bounce(req);
    if (!s->write_cache && !req->io_canceled) {
        req->io_step = SCSI_DISK_STEP_FLUSH;
        scsi_disk_step_issue(req);
        return;
    }
    scsi_req_complete(req, SCSI_STATUS_GOOD);
}

static void scsi_disk_step_done(void *opaque, int ret)
{
    SCSIRequest *req = opaque;

    if (req->io_canceled) {
        /* its adapter reports it aborted (or drops it): stop here, with
         * no error policy for what nobody waits for (as QEMU) */
        scsi_disk_drop_bounce(req);
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    if (ret < 0) {
        scsi_disk_io_error(req, ret, false);
        return;
    }
    switch (req->io_step) {
    case SCSI_DISK_STEP_UNMAP:
        req->io_desc++;
        if (scsi_unmap_find_desc(req)) {
            scsi_disk_step_issue(req);
        } else {
            scsi_req_complete(req, SCSI_STATUS_GOOD);
        }
        break;
    case SCSI_DISK_STEP_PATTERN:
        req->io_offset += MIN(SCSI_WRITE_SAME_CHUNK,
                              req->io_end - req->io_offset);
        if (req->io_offset < req->io_end) {
            scsi_disk_step_issue(req);
        } else {
            scsi_disk_step_flush_or_end(req);
        }
        break;
    case SCSI_DISK_STEP_ZEROES:
        scsi_disk_step_flush_or_end(req);
        break;
    default:
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        break;
    }
}

/* Issue the step req->io_step names (again, after a stop and `cont`). */
static void scsi_disk_step_issue(SCSIRequest *req)
{
    SCSIDiskState *s = disk_of(req);
    uint32_t bs = scsi_disk_block_size(&s->qdev);
    uint64_t lba, n;

    req->in_flight = true;
    switch (req->io_step) {
    case SCSI_DISK_STEP_UNMAP:
        scsi_unmap_desc(req, req->io_desc, &lba, &n);
        blk_aio_pwrite_zeroes(s->blk, lba * bs, n * bs, BDRV_REQ_MAY_UNMAP,
                              scsi_disk_step_done, req);
        break;
    case SCSI_DISK_STEP_ZEROES:
        blk_aio_pwrite_zeroes(s->blk, req->io_offset,
                              req->io_end - req->io_offset, req->io_flags,
                              scsi_disk_step_done, req);
        break;
    case SCSI_DISK_STEP_PATTERN:
        blk_aio_pwrite(s->blk, req->io_offset,
                       MIN(SCSI_WRITE_SAME_CHUNK,
                           req->io_end - req->io_offset),
                       req->io_bounce, scsi_disk_step_done, req);
        break;
    default:
        blk_aio_flush(s->blk, scsi_disk_step_done, req);
        break;
    }
}

static bool scsi_disk_is_chain(const SCSIRequest *req)
{
    return req->cdb[0] == UNMAP || req->cdb[0] == WRITE_SAME_10 ||
           req->cdb[0] == WRITE_SAME_16;
}

static void scsi_disk_unmap(SCSIRequest *req, SCSIDiskState *s)
{
    size_t len = scsi_req_fetch(req, lduw_be_p(req->cdb + 7));
    const uint8_t *p = req->buf;
    uint32_t bs = scsi_disk_block_size(&s->qdev);
    uint64_t blocks = scsi_disk_blocks(s);
    size_t ndesc;

    if (req->cdb[1] & 1) {              /* ANCHOR: no anchored state */
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    if (scsi_disk_read_only(s)) {
        scsi_req_check_condition(req, SENSE_CODE_WRITE_PROTECTED);
        return;
    }
    if (len == 0) {
        scsi_req_complete(req, SCSI_STATUS_GOOD);     /* nothing to do */
        return;
    }
    if (len < 8 || (size_t)lduw_be_p(p) + 2 < len ||
        (size_t)lduw_be_p(p + 2) + 8 > len || (lduw_be_p(p + 2) & 15)) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM_LEN);
        return;
    }
    ndesc = lduw_be_p(p + 2) / 16;
    if (ndesc > SCSI_MAX_UNMAP_DESCS) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM);
        return;
    }
    /* All descriptors are checked before anything is unmapped. */
    for (size_t i = 0; i < ndesc; i++) {
        uint64_t lba, n;

        scsi_unmap_desc(req, i, &lba, &n);
        if (lba > blocks || n > blocks - lba) {
            scsi_req_check_condition(req, SENSE_CODE_LBA_OUT_OF_RANGE);
            return;
        }
        if (n * bs > SCSI_MAX_UNMAP_BYTES) {
            scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM);
            return;
        }
    }
    /* The list stays in req->buf while the descriptors are done. */
    req->io_write = true;
    req->io_step = SCSI_DISK_STEP_UNMAP;
    req->io_desc = 0;
    if (!scsi_unmap_find_desc(req)) {
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    scsi_disk_step_issue(req);
}

static bool buffer_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* WRITE SAME(10/16): one block repeated; zeroes (with UNMAP: may be
 * unmapped) become one write-zeroes request, a pattern goes a chunk at a
 * time. */
static void scsi_disk_write_same(SCSIRequest *req, SCSIDiskState *s)
{
    uint32_t bs = scsi_disk_block_size(&s->qdev);
    bool unmap = req->cdb[1] & 0x08;
    bool ndob = req->cdb[0] == WRITE_SAME_16 && (req->cdb[1] & 1);
    uint64_t lba, n;

    scsi_cdb_lba(req->cdb, &lba, &n);
    if (req->cdb[1] & 0x16) {           /* ANCHOR, PBDATA, LBDATA */
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    if (n == 0 || n * bs > SCSI_MAX_UNMAP_BYTES) {
        /* 0 would mean "to the end"; we state a maximum in B0h */
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    if (!scsi_disk_check_range(req, s, lba, n)) {
        return;
    }
    if (scsi_disk_read_only(s)) {
        scsi_req_check_condition(req, SENSE_CODE_WRITE_PROTECTED);
        return;
    }
    if (ndob) {
        memset(req->buf, 0, bs);
    } else if (scsi_req_fetch(req, bs) < bs) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_PARAM_LEN);
        return;
    }
    req->io_write = true;
    req->io_offset = lba * bs;
    req->io_end = (lba + n) * bs;
    if (buffer_all_zero(req->buf, bs)) {
        req->io_step = SCSI_DISK_STEP_ZEROES;
        req->io_flags = unmap ? BDRV_REQ_MAY_UNMAP : 0;
    } else {
        /* One chunk of the pattern, written again and again (a rare
         * command: the buffer is allocated for it, not kept). */
        size_t chunk = MIN(n * bs, SCSI_WRITE_SAME_CHUNK);

        req->io_step = SCSI_DISK_STEP_PATTERN;
        req->io_bounce = g_malloc(chunk);
        for (size_t i = 0; i < chunk; i += bs) {
            memcpy(req->io_bounce + i, req->buf, bs);
        }
    }
    scsi_disk_step_issue(req);
}

static void scsi_disk_verify(SCSIRequest *req, SCSIDiskState *s)
{
    uint64_t lba, n;

    if (req->cdb[1] & 6) {              /* BYTCHK: no comparison here */
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    scsi_cdb_lba(req->cdb, &lba, &n);
    if (scsi_disk_check_range(req, s, lba, n)) {
        scsi_req_complete(req, SCSI_STATUS_GOOD);
    }
}

/* ---- the tray and media (scsi-cd) ------------------------------------------- */

typedef struct TrayEvent {
    BlockBackend *blk;
    bool open;
} TrayEvent;

static void tray_event_main(void *opaque)
{
    TrayEvent *t = opaque;

    blk_tray_moved(t->blk, t->open);
    g_free(t);
}

static void scsi_disk_tray_moved(SCSIDiskState *s, bool open)
{
    TrayEvent *t = g_new(TrayEvent, 1);

    *t = (TrayEvent){ s->blk, open };
    scsi_run_on_main(tray_event_main, t);
}

/* START STOP UNIT (SBC-3 5.20, MMC-6 6.40): LoEj moves the tray. */
static void scsi_disk_start_stop(SCSIRequest *req, SCSIDiskState *s)
{
    bool start = req->cdb[4] & 1;
    bool loej = req->cdb[4] & 2;

    if ((req->cdb[4] >> 4) || !loej || !(s->is_cd || s->removable)) {
        /* power conditions, start/stop the motor: nothing to do */
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    if (!s->is_cd) {
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return;
    }
    if (!start) {
        if (s->locked) {
            scsi_req_check_condition(req,
                                     SENSE_CODE_ILLEGAL_REQ_REMOVAL_PREVENTED);
            return;
        }
        if (!s->tray_open) {
            s->tray_open = true;
            scsi_disk_tray_moved(s, true);
        }
    } else if (s->tray_open) {
        s->tray_open = false;
        scsi_disk_tray_moved(s, false);
        if (blk_is_inserted(s->blk)) {
            /* the medium may be another one now */
            scsi_device_set_ua(&s->qdev, SENSE_CODE_MEDIUM_CHANGED);
            s->media_event = true;
            scsi_device_report_change(&s->qdev, SENSE_CODE_MEDIUM_CHANGED);
        }
    }
    scsi_req_complete(req, SCSI_STATUS_GOOD);
}

static void scsi_cd_get_event_status(SCSIRequest *req, SCSIDiskState *s)
{
    unsigned event = s->eject_request ? 1 : s->media_event ? 2 : 0;
    int len = mmc_get_event_status(req->cdb, event,
                                   scsi_disk_medium_present(s), s->tray_open,
                                   req->buf);

    if (len < 0) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    if (req->cdb[4] & (1 << 4)) {
        s->eject_request = false;
        s->media_event = false;
    }
    scsi_req_reply(req, len, lduw_be_p(req->cdb + 7));
}

/* Commands a CD-ROM needs its medium for (the rest answer without). */
static bool scsi_disk_needs_medium(uint8_t op)
{
    switch (op) {
    case TEST_UNIT_READY:
    case READ_CAPACITY_10:
    case SERVICE_ACTION_IN_16:
    case READ_6:
    case READ_10:
    case READ_12:
    case READ_16:
    case WRITE_6:
    case WRITE_10:
    case WRITE_12:
    case WRITE_16:
    case WRITE_VERIFY_10:
    case WRITE_VERIFY_12:
    case WRITE_VERIFY_16:
    case VERIFY_10:
    case VERIFY_12:
    case VERIFY_16:
    case SEEK_10:
    case READ_TOC:
    case READ_DISC_INFORMATION:
    case SYNCHRONIZE_CACHE_10:
    case SYNCHRONIZE_CACHE_16:
    case UNMAP:
    case WRITE_SAME_10:
    case WRITE_SAME_16:
        return true;
    }
    return false;
}

static bool scsi_disk_mmc_command(SCSIRequest *req, SCSIDiskState *s)
{
    int len;

    switch (req->cdb[0]) {
    case READ_TOC:
        len = mmc_read_toc(req->cdb, scsi_disk_blocks(s), req->buf);
        break;
    case GET_CONFIGURATION:
        /* Core feature: physical interface 1, SCSI */
        len = mmc_get_configuration(req->cdb,
                                    mmc_current_profile(
                                        scsi_disk_medium_present(s),
                                        scsi_disk_blocks(s)), 1, req->buf);
        break;
    case GET_EVENT_STATUS_NOTIFICATION:
        scsi_cd_get_event_status(req, s);
        return true;
    case READ_DISC_INFORMATION:
        len = mmc_read_disc_information(req->cdb, req->buf);
        break;
    case SET_CD_SPEED:
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        return true;
    default:
        return false;
    }
    if (len < 0) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
    } else {
        scsi_req_reply(req, len, req->xfer);
    }
    return true;
}

/* ---- dispatch ---------------------------------------------------------------- */

static void scsi_disk_exec(SCSIRequest *req)
{
    SCSIDiskState *s = disk_of(req);
    uint8_t op = req->cdb[0];

    if (scsi_disk_needs_medium(op) && !scsi_disk_medium_present(s)) {
        scsi_req_check_condition(req, s->tray_open ?
                                 SENSE_CODE_NO_MEDIUM_TRAY_OPEN :
                                 SENSE_CODE_NO_MEDIUM);
        return;
    }
    if (s->is_cd && scsi_disk_mmc_command(req, s)) {
        return;
    }
    switch (op) {
    case TEST_UNIT_READY:
    case SEEK_10:
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        break;
    case REQUEST_SENSE:
        scsi_req_sense_reply(req, blk_is_inserted(s->blk) ?
                             SENSE_CODE_NO_SENSE : SENSE_CODE_NO_MEDIUM);
        break;
    case INQUIRY:
        scsi_disk_inquiry(req, s);
        break;
    case READ_CAPACITY_10:
        scsi_disk_read_capacity10(req, s);
        break;
    case SERVICE_ACTION_IN_16:
        scsi_disk_read_capacity16(req, s);
        break;
    case READ_6:
    case READ_10:
    case READ_12:
    case READ_16:
        scsi_disk_rw(req, s, false);
        break;
    case WRITE_6:
    case WRITE_10:
    case WRITE_12:
    case WRITE_16:
    case WRITE_VERIFY_10:
    case WRITE_VERIFY_12:
    case WRITE_VERIFY_16:
        scsi_disk_rw(req, s, true);
        break;
    case VERIFY_10:
    case VERIFY_12:
    case VERIFY_16:
        scsi_disk_verify(req, s);
        break;
    case SYNCHRONIZE_CACHE_10:
    case SYNCHRONIZE_CACHE_16:
        scsi_disk_synchronize_cache(req, s);
        break;
    case UNMAP:
        if (s->is_cd) {
            goto invalid;
        }
        scsi_disk_unmap(req, s);
        break;
    case WRITE_SAME_10:
    case WRITE_SAME_16:
        if (s->is_cd) {
            goto invalid;
        }
        scsi_disk_write_same(req, s);
        break;
    case MODE_SENSE_6:
    case MODE_SENSE_10:
        scsi_disk_mode_sense(req, s);
        break;
    case MODE_SELECT_6:
    case MODE_SELECT_10:
        scsi_disk_mode_select(req, s);
        break;
    case START_STOP_UNIT:
        scsi_disk_start_stop(req, s);
        break;
    case PREVENT_ALLOW_MEDIUM_REMOVAL:
        if (s->is_cd) {
            s->locked = req->cdb[4] & 1;
        }
        scsi_req_complete(req, SCSI_STATUS_GOOD);
        break;
    default:
    invalid:
        scsi_req_check_condition(req, SENSE_CODE_INVALID_OPCODE);
        break;
    }
}

/* MMC-6 4.1.6.1: these run while a unit attention is pending. */
static bool scsi_disk_allowed_with_ua(SCSIDevice *dev, uint8_t op)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    return s->is_cd && (op == GET_CONFIGURATION ||
                        op == GET_EVENT_STATUS_NOTIFICATION);
}

/* After "medium not present" was reported: "medium may have changed". */
static void scsi_disk_ua_reported(SCSIDevice *dev, SCSISense ua)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    if (s->media_changed && ua.asc == ASC_MEDIUM_NOT_PRESENT) {
        s->media_changed = false;
        dev->unit_attention = SENSE_CODE_MEDIUM_CHANGED;
    }
}

/* Drop held requests (their adapter aborts them or is resetting). */
static void scsi_disk_purge(SCSIDevice *dev, SCSIRequest *req)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    for (SCSIRequest **p = &s->stopped; *p;) {
        if (!req || *p == req) {
            SCSIRequest *r = *p;
            *p = r->next_stopped;
            r->next_stopped = NULL;
            r->stopped = false;
            scsi_disk_drop_bounce(r);
        } else {
            p = &(*p)->next_stopped;
        }
    }
}

static SCSIRequest *scsi_disk_take_held(SCSIDevice *dev)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;
    SCSIRequest *held = s->stopped;

    s->stopped = NULL;
    for (SCSIRequest *r = held; r; r = r->next_stopped) {
        scsi_disk_drop_bounce(r);       /* they fail, nothing is retried */
    }
    return held;
}

static BlockBackend *scsi_disk_blk(SCSIDevice *dev)
{
    return ((SCSIDiskState *)dev)->blk;
}

static const SCSIDeviceOps scsi_disk_ops = {
    .exec = scsi_disk_exec,
    .block_size = scsi_disk_block_size,
    .allowed_with_ua = scsi_disk_allowed_with_ua,
    .ua_reported = scsi_disk_ua_reported,
    .purge = scsi_disk_purge,
    .take_held = scsi_disk_take_held,
    .blk = scsi_disk_blk,
};

/* ---- the backend's callbacks ------------------------------------------------- */

typedef struct MediaChange {
    SCSIDiskState *s;
    bool load;
    bool force;
} MediaChange;

static void scsi_cd_change_media_sync(void *opaque)
{
    MediaChange *c = opaque;
    SCSIDiskState *s = c->s;

    /* As QEMU's scsi-cd: "medium not present" first, then "medium may
     * have changed" once that was reported; NewMedia for GESN. */
    s->tray_open = !c->load;
    s->media_changed = c->load;
    s->media_event = true;
    s->eject_request = false;
    scsi_device_set_ua(&s->qdev, SCSI_SENSE(SENSE_UNIT_ATTENTION,
                                            ASC_MEDIUM_NOT_PRESENT, 0));
    scsi_device_report_change(&s->qdev, SENSE_CODE_MEDIUM_CHANGED);
}

static void scsi_cd_change_media_cb(void *opaque, bool load)
{
    MediaChange c = { opaque, load, false };

    scsi_bus_run_sync(((SCSIDevice *)opaque)->bus, scsi_cd_change_media_sync,
                      &c);
}

static void scsi_cd_eject_request_sync(void *opaque)
{
    MediaChange *c = opaque;

    c->s->eject_request = true;
    if (c->force) {
        c->s->locked = false;
    }
    scsi_device_report_change(&c->s->qdev, SCSI_SENSE(SENSE_NONE, 0, 0));
}

static void scsi_cd_eject_request_cb(void *opaque, bool force)
{
    MediaChange c = { opaque, false, force };

    scsi_bus_run_sync(((SCSIDevice *)opaque)->bus,
                      scsi_cd_eject_request_sync, &c);
}

static bool scsi_cd_is_tray_open(void *opaque)
{
    return ((SCSIDiskState *)opaque)->tray_open;
}

static bool scsi_cd_is_medium_locked(void *opaque)
{
    return ((SCSIDiskState *)opaque)->locked;
}

static void scsi_disk_resize_sync(void *opaque)
{
    SCSIDiskState *s = opaque;

    scsi_device_set_ua(&s->qdev, SENSE_CODE_CAPACITY_CHANGED);
    scsi_device_report_change(&s->qdev, SENSE_CODE_CAPACITY_CHANGED);
}

static void scsi_disk_resize_cb(void *opaque)
{
    scsi_bus_run_sync(((SCSIDevice *)opaque)->bus, scsi_disk_resize_sync,
                      opaque);
}

/* After an error stop: run every held request again, oldest first. */
static void scsi_disk_retry_sync(void *opaque)
{
    SCSIDiskState *s = opaque;
    SCSIRequest *list = s->stopped, *rev = NULL;

    s->stopped = NULL;
    while (list) {
        SCSIRequest *next = list->next_stopped;
        list->next_stopped = rev;
        rev = list;
        list = next;
    }
    while (rev) {
        SCSIRequest *next = rev->next_stopped;
        rev->stopped = false;
        rev->next_stopped = NULL;
        if (scsi_disk_is_chain(rev)) {
            scsi_disk_step_issue(rev);  /* the step that failed */
        } else if (rev->cdb[0] == SYNCHRONIZE_CACHE_10 ||
            rev->cdb[0] == SYNCHRONIZE_CACHE_16 ||
            (rev->io_write && rev->xferred == rev->xfer && rev->io_fua &&
             rev->xfer)) {
            scsi_disk_synchronize_cache(rev, s);
        } else {
            scsi_disk_issue_rw(rev);
        }
        rev = next;
    }
}

static void scsi_disk_retry_cb(void *opaque)
{
    scsi_bus_run_sync(((SCSIDevice *)opaque)->bus, scsi_disk_retry_sync,
                      opaque);
}

static const BlockDevOps scsi_cd_dev_ops = {
    .change_media_cb = scsi_cd_change_media_cb,
    .eject_request_cb = scsi_cd_eject_request_cb,
    .is_tray_open = scsi_cd_is_tray_open,
    .is_medium_locked = scsi_cd_is_medium_locked,
    .resize_cb = scsi_disk_resize_cb,
};

static const BlockDevOps scsi_hd_dev_ops = {
    .resize_cb = scsi_disk_resize_cb,
    .retry_cb = scsi_disk_retry_cb,
};

/* ---- life cycle ---------------------------------------------------------------- */

/* werror=/rerror= override the drive's ("auto": keep). */
static bool scsi_disk_apply_on_error(SCSIDiskState *s, GError **errp)
{
    BlockdevOnError r = blk_get_on_error(s->blk, true);
    BlockdevOnError w = blk_get_on_error(s->blk, false);

    if (s->rerror && strcmp(s->rerror, "auto") &&
        !blk_parse_on_error(s->rerror, true, &r, errp)) {
        return false;
    }
    if (s->werror && strcmp(s->werror, "auto") &&
        !blk_parse_on_error(s->werror, false, &w, errp)) {
        return false;
    }
    blk_set_on_error(s->blk, r, w);
    return true;
}

static bool scsi_disk_check_block_sizes(SCSIDiskState *s, GError **errp)
{
    uint32_t l = s->logical_block_size, p;

    if (s->is_cd) {
        l = MMC_BLOCK_SIZE;
    }
    if (l < 512 || l > 4096 || (l & (l - 1))) {
        error_setg(errp, "logical_block_size must be a power of 2 between "
                   "512 and 4096");
        return false;
    }
    if (!s->physical_block_size) {
        s->physical_block_size = l;
    }
    p = s->physical_block_size;
    if (p < l || p > 32768 || (p & (p - 1))) {
        error_setg(errp, "physical_block_size must be a power of 2, at "
                   "least logical_block_size and at most 32768");
        return false;
    }
    return true;
}

static bool scsi_disk_realize_common(SCSIDiskState *s, GError **errp)
{
    SCSIDevice *d = &s->qdev;

    d->ops = &scsi_disk_ops;
    d->type = s->is_cd ? SCSI_TYPE_ROM : SCSI_TYPE_DISK;
    if (!scsi_disk_check_block_sizes(s, errp)) {
        return false;
    }
    if (s->drive) {
        s->blk = blockdev_backend_for_device(s->drive, errp);
        if (!s->blk) {
            return false;
        }
        s->blk_made = !*blk_name(s->blk);
    } else if (s->is_cd) {
        s->blk = blk_new(NULL);
        blk_set_open_flags(s->blk, 0);  /* media open read-only */
        s->blk_made = true;
    } else {
        error_setg(errp, "drive property not set");
        return false;
    }
    if (!s->is_cd) {
        if (!blk_is_inserted(s->blk)) {
            error_setg(errp, "Device needs media, but drive is empty");
            goto fail;
        }
        if (!scsi_disk_apply_on_error(s, errp)) {
            goto fail;
        }
    }
    if (!blk_attach_dev(s->blk, DEVICE(s), errp)) {
        goto fail;
    }
    if (!blk_set_dev_perm(s->blk, !s->is_cd, s->share_rw, errp)) {
        blk_detach_dev(s->blk);
        goto fail;
    }
    blk_set_dev_ops(s->blk, s->is_cd ? &scsi_cd_dev_ops : &scsi_hd_dev_ops,
                    s);
    blk_iostatus_enable(s->blk);
    if (d->bus->iothread) {
        blk_set_aio_context(s->blk, iothread_get_context(d->bus->iothread));
    }
    if (s->device_id_prop) {
        /* libvirt gives it (drive-scsi0-0-0-1) so that the designator
         * stays what -drive's backend name made it */
        s->device_id = g_strdup(s->device_id_prop);
    } else if (s->serial) {
        s->device_id = g_strdup_printf("%.20s", s->serial);
    } else if (*blk_name(s->blk)) {
        s->device_id = g_strdup(blk_name(s->blk));
    }
    if (s->bootindex >= 0) {
        /* What SeaBIOS matches: ".../scsi@SLOT/channel@0/disk@ID,LUN" */
        g_autofree char *path = g_strdup_printf("%s/channel@%x/disk@%x,%x",
                                                d->bus->fw_path, d->channel,
                                                d->id, d->lun);
        fw_boot_order_add(s->bootindex, path);
    }
    return true;
fail:
    if (s->blk_made) {
        blk_delete(s->blk);
    }
    s->blk = NULL;
    return false;
}

static bool scsi_hd_realize(DeviceState *dev, GError **errp)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    s->is_cd = false;
    return scsi_disk_realize_common(s, errp);
}

static bool scsi_cd_realize(DeviceState *dev, GError **errp)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    s->is_cd = true;
    return scsi_disk_realize_common(s, errp);
}

static void scsi_disk_unrealize(DeviceState *dev)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    if (!s->blk) {
        return;
    }
    blk_set_aio_context(s->blk, NULL);
    blk_set_dev_ops(s->blk, NULL, NULL);
    blk_detach_dev(s->blk);
    if (s->blk_made) {
        blk_delete(s->blk);
    }
    s->blk = NULL;
    g_free(s->device_id);
    s->device_id = NULL;
}

static void scsi_disk_reset(DeviceState *dev)
{
    SCSIDiskState *s = (SCSIDiskState *)dev;

    s->write_cache = true;
    s->locked = false;
    s->stopped = NULL;
}

static const VMStateDescription vmstate_scsi_disk = {
    .name = "scsi-disk",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(write_cache, SCSIDiskState),
        VMSTATE_BOOL(tray_open, SCSIDiskState),
        VMSTATE_BOOL(locked, SCSIDiskState),
        VMSTATE_BOOL(media_changed, SCSIDiskState),
        VMSTATE_BOOL(media_event, SCSIDiskState),
        VMSTATE_BOOL(eject_request, SCSIDiskState),
        VMSTATE_END_OF_LIST()
    },
};

#define SCSI_DISK_COMMON_PROPS(logical_default)                              \
    DEFINE_PROP("drive", SCSIDiskState, drive, PROP_STRING, NULL,            \
                "the -drive id (or node name) of the image"),                \
    DEFINE_PROP("serial", SCSIDiskState, serial, PROP_STRING, NULL,          \
                "unit serial number (VPD page 80h)"),                        \
    DEFINE_PROP("device_id", SCSIDiskState, device_id_prop, PROP_STRING,     \
                NULL, "VPD page 83h's vendor-specific designator (default: " \
                "the serial, else the drive's name)"),                       \
    DEFINE_PROP("wwn", SCSIDiskState, wwn, PROP_UINT64, "0",                 \
                "NAA world wide name (VPD page 83h)"),                       \
    DEFINE_PROP("vendor", SCSIDiskState, vendor, PROP_STRING, "QEMU",        \
                "INQUIRY vendor identification (8 characters)"),             \
    DEFINE_PROP("product", SCSIDiskState, product, PROP_STRING, NULL,        \
                "INQUIRY product identification (16 characters)"),          \
    DEFINE_PROP("ver", SCSIDiskState, version, PROP_STRING, "2.5+",          \
                "INQUIRY product revision (4 characters)"),                  \
    DEFINE_PROP("logical_block_size", SCSIDiskState, logical_block_size,     \
                PROP_UINT32, logical_default,                                  \
                "logical block size: 512, 1024, 2048 or 4096"),              \
    DEFINE_PROP("physical_block_size", SCSIDiskState, physical_block_size,   \
                PROP_UINT32, "0",                                              \
                "physical block size (0: the logical one)"),                 \
    DEFINE_PROP("bootindex", SCSIDiskState, bootindex, PROP_INT32, "-1",     \
                "boot order for the firmware (lower first); -1: none"),      \
    DEFINE_PROP("share-rw", SCSIDiskState, share_rw, PROP_BOOL, "off",       \
                "let other processes write the image too (image locks)")

static const Property scsi_hd_props[] = {
    SCSI_DISK_COMMON_PROPS("512"),
    DEFINE_PROP("removable", SCSIDiskState, removable, PROP_BOOL, "off",
                "report a removable medium in INQUIRY"),
    DEFINE_PROP("werror", SCSIDiskState, werror, PROP_STRING, "auto",
                "write errors: auto, report, ignore, enospc, stop"),
    DEFINE_PROP("rerror", SCSIDiskState, rerror, PROP_STRING, "auto",
                "read errors: auto, report, ignore, stop"),
    DEFINE_PROP_END_OF_LIST(),
};

static const Property scsi_cd_props[] = {
    SCSI_DISK_COMMON_PROPS("2048"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType scsi_hd_type = {
    .name = TYPE_SCSI_HD,
    .parent = TYPE_SCSI_DEVICE,
    .desc = "virtual SCSI disk",
    .instance_size = sizeof(SCSIDiskState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = scsi_hd_props,
    .realize = scsi_hd_realize,
    .unrealize = scsi_disk_unrealize,
    .reset = scsi_disk_reset,
    .vmsd = &vmstate_scsi_disk,
};

static const DeviceType scsi_cd_type = {
    .name = TYPE_SCSI_CD,
    .parent = TYPE_SCSI_DEVICE,
    .desc = "virtual SCSI CD-ROM",
    .instance_size = sizeof(SCSIDiskState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = scsi_cd_props,
    .realize = scsi_cd_realize,
    .unrealize = scsi_disk_unrealize,
    .reset = scsi_disk_reset,
    .vmsd = &vmstate_scsi_disk,
};

static void scsi_disk_register_types(void)
{
    device_type_register(&scsi_hd_type);
    device_type_register(&scsi_cd_type);
}
type_init(scsi_disk_register_types)
