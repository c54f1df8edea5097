/*
 * The SCSI bus (include/hw/scsi/scsi.h): adapters' buses by name, the
 * "scsi-device" level every SCSI device type derives from (bus=,
 * channel=, scsi-id=, lun=, the unit attention), command parsing (the
 * transfer a CDB asks for), and the answers the target gives itself:
 * REPORT LUNS, a pending unit attention, and everything addressed to a
 * LUN that does not exist.
 *
 * Specs: SAM-5 5.14 (unit attention conditions), SPC-4 4.5 (fixed
 * sense data), 6.6.2 (INQUIRY for an unsupported LUN: peripheral
 * qualifier), 6.33 (REPORT LUNS), 6.39 (REQUEST SENSE), SAM-5 4.6 (LUN
 * formats: peripheral and flat space addressing).  The answers for
 * absent LUNs are QEMU's (peripheral qualifier 1, type 1Fh), which
 * Linux's scan reads as "no device here".
 */
#include "qemu/osdep.h"
#include "hw/scsi/scsi.h"
#include "system/main-loop.h"

static GPtrArray *scsi_buses;

/* ---- iovec copies -------------------------------------------------------- */

static size_t iov_copy(const struct iovec *iov, int niov, size_t offset,
                       void *buf, size_t len, bool to_iov)
{
    size_t done = 0;

    for (int i = 0; i < niov && done < len; i++) {
        size_t n;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        n = MIN(iov[i].iov_len - offset, len - done);
        if (to_iov) {
            memcpy((uint8_t *)iov[i].iov_base + offset, (uint8_t *)buf + done,
                   n);
        } else {
            memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset,
                   n);
        }
        done += n;
        offset = 0;
    }
    return done;
}

/* ---- buses ---------------------------------------------------------------- */

void scsi_bus_init(SCSIBus *bus, const SCSIBusInfo *info, void *hba,
                   const char *name, const char *fw_path)
{
    bus->info = info;
    bus->hba = hba;
    bus->name = g_strdup(name);
    bus->fw_path = g_strdup(fw_path);
    bus->devices = g_ptr_array_new();
    if (!scsi_buses) {
        scsi_buses = g_ptr_array_new();
    }
    g_ptr_array_add(scsi_buses, bus);
}

void scsi_bus_cleanup(SCSIBus *bus)
{
    if (scsi_buses) {
        g_ptr_array_remove(scsi_buses, bus);
    }
    /* devices still on it (an adapter removed before them) lose their bus
     * rather than keep a pointer into the adapter */
    for (unsigned i = 0; i < bus->devices->len; i++) {
        ((SCSIDevice *)g_ptr_array_index(bus->devices, i))->bus = NULL;
    }
    g_ptr_array_free(bus->devices, true);
    g_free(bus->name);
    g_free(bus->fw_path);
    bus->devices = NULL;
    bus->name = bus->fw_path = NULL;
}

SCSIBus *scsi_bus_find(const char *name)
{
    for (unsigned i = 0; scsi_buses && i < scsi_buses->len; i++) {
        SCSIBus *bus = g_ptr_array_index(scsi_buses, i);
        if (!strcmp(bus->name, name)) {
            return bus;
        }
    }
    return NULL;
}

SCSIDevice *scsi_device_find(SCSIBus *bus, unsigned id, unsigned lun)
{
    for (unsigned i = 0; i < bus->devices->len; i++) {
        SCSIDevice *d = g_ptr_array_index(bus->devices, i);
        if (d->channel == 0 && (unsigned)d->id == id &&
            (unsigned)d->lun == lun) {
            return d;
        }
    }
    return NULL;
}

bool scsi_target_exists(SCSIBus *bus, unsigned id)
{
    for (unsigned i = 0; i < bus->devices->len; i++) {
        SCSIDevice *d = g_ptr_array_index(bus->devices, i);
        if (d->channel == 0 && (unsigned)d->id == id) {
            return true;
        }
    }
    return false;
}

void scsi_bus_run_sync(SCSIBus *bus, void (*fn)(void *opaque), void *opaque)
{
    if (bus && bus->iothread && !iothread_is_current(bus->iothread)) {
        iothread_run_sync(bus->iothread, fn, opaque);
    } else {
        fn(opaque);
    }
}

void scsi_run_on_main(void (*fn)(void *opaque), void *opaque)
{
    if (bql_locked()) {
        fn(opaque);
    } else {
        main_loop_call(fn, opaque);
    }
}

/* ---- sense ---------------------------------------------------------------- */

void scsi_build_sense(uint8_t *buf, SCSISense sense)
{
    memset(buf, 0, SCSI_SENSE_LEN);
    buf[0] = 0x70;                      /* current error, fixed format */
    buf[2] = sense.key;
    buf[7] = SCSI_SENSE_LEN - 8;        /* additional sense length */
    buf[12] = sense.asc;
    buf[13] = sense.ascq;
}

SCSISense scsi_sense_from_errno(int err)
{
    switch (err) {
    case EINVAL:
        return SENSE_CODE_INVALID_FIELD;
    case ENOMEDIUM:
        return SENSE_CODE_NO_MEDIUM;
    case ENOMEM:
        return SENSE_CODE_TARGET_FAILURE;
    case ENOSPC:
        return SENSE_CODE_SPACE_ALLOC_FAILED;
    case EROFS:
    case EPERM:
    case EACCES:
        return SENSE_CODE_WRITE_PROTECTED;
    default:
        return SENSE_CODE_IO_ERROR;
    }
}

/* ---- devices ---------------------------------------------------------------- */

/* A reset outranks everything; otherwise the newest condition wins. */
void scsi_device_set_ua(SCSIDevice *dev, SCSISense sense)
{
    if (sense.key != SENSE_UNIT_ATTENTION) {
        return;
    }
    if (dev->unit_attention.key == SENSE_UNIT_ATTENTION &&
        dev->unit_attention.asc == ASC_POWER_ON_RESET &&
        sense.asc != ASC_POWER_ON_RESET) {
        /* keep the reset; the change still goes to the adapter */
    } else {
        dev->unit_attention = sense;
    }
}

void scsi_device_report_change(SCSIDevice *dev, SCSISense sense)
{
    if (dev->bus && dev->bus->info->change) {
        dev->bus->info->change(dev->bus, dev, sense);
    }
}

static bool scsi_address_free(SCSIBus *bus, int id, int lun)
{
    return !scsi_device_find(bus, id, lun);
}

/* Pick scsi-id/lun where they were left at -1, as QEMU does. */
static bool scsi_pick_address(SCSIBus *bus, SCSIDevice *d, GError **errp)
{
    const SCSIBusInfo *info = bus->info;

    if (d->channel > info->max_channel) {
        error_setg(errp, "bad scsi channel id: %u", d->channel);
        return false;
    }
    if (d->id != -1 && (d->id < 0 || (unsigned)d->id > info->max_target)) {
        error_setg(errp, "bad scsi device id: %d", d->id);
        return false;
    }
    if (d->lun != -1 && (d->lun < 0 || (unsigned)d->lun > info->max_lun)) {
        error_setg(errp, "bad scsi device lun: %d", d->lun);
        return false;
    }
    if (d->id == -1) {
        int lun = d->lun == -1 ? 0 : d->lun;
        for (unsigned id = 0; id <= info->max_target; id++) {
            if (scsi_address_free(bus, id, lun)) {
                d->id = id;
                d->lun = lun;
                return true;
            }
        }
        error_setg(errp, "no free target");
        return false;
    }
    if (d->lun == -1) {
        for (unsigned lun = 0; lun <= info->max_lun; lun++) {
            if (scsi_address_free(bus, d->id, lun)) {
                d->lun = lun;
                return true;
            }
        }
        error_setg(errp, "no free lun");
        return false;
    }
    if (!scsi_address_free(bus, d->id, d->lun)) {
        error_setg(errp, "lun already used by '%s'",
                   scsi_device_find(bus, d->id, d->lun)->parent.id ?:
                   scsi_device_find(bus, d->id, d->lun)->parent.type->name);
        return false;
    }
    return true;
}

static bool scsi_device_realize(DeviceState *dev, GError **errp)
{
    SCSIDevice *d = (SCSIDevice *)dev;
    SCSIBus *bus;

    if (d->bus_name) {
        bus = scsi_bus_find(d->bus_name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", d->bus_name);
            return false;
        }
    } else if (scsi_buses && scsi_buses->len) {
        bus = g_ptr_array_index(scsi_buses, 0);
    } else {
        error_setg(errp, "No 'SCSI' bus found for device '%s'",
                   dev->type->name);
        return false;
    }
    if (!scsi_pick_address(bus, d, errp)) {
        return false;
    }
    d->bus = bus;
    if (!dev->hotplugged) {
        /* a device_add'ed one joins once realized, from the bus's
         * hotplug handler, where its commands run */
        g_ptr_array_add(bus->devices, d);
    }
    return true;
}

static void scsi_device_unrealize(DeviceState *dev)
{
    SCSIDevice *d = (SCSIDevice *)dev;

    /* a hot-unplugged device left in its handler's unplug(); at exit
     * nothing runs commands any more */
    if (d->bus && d->bus->devices) {
        g_ptr_array_remove(d->bus->devices, d);
    }
    d->bus = NULL;
}

/* ---- hotplug ------------------------------------------------------------- */

void scsi_bus_set_hotplug_handler(SCSIBus *bus, HotplugHandler *h)
{
    bus->hotplug = h;
}

static void scsi_bus_add_sync(void *opaque)
{
    SCSIDevice *d = opaque;

    if (!g_ptr_array_find(d->bus->devices, d, NULL)) {
        g_ptr_array_add(d->bus->devices, d);
    }
}

void scsi_bus_attach_hotplugged(SCSIDevice *dev)
{
    scsi_bus_run_sync(dev->bus, scsi_bus_add_sync, dev);
}

typedef struct DetachCtx {
    SCSIDevice *dev;
    SCSISense sense;
    SCSIRequest *held;
} DetachCtx;

/* On the bus's thread: no command finds the device any more; the
 * requests it holds after an error stop are taken back. */
static void scsi_bus_remove_sync(void *opaque)
{
    DetachCtx *c = opaque;
    SCSIDevice *d = c->dev;

    g_ptr_array_remove(d->bus->devices, d);
    if (d->ops && d->ops->take_held) {
        c->held = d->ops->take_held(d);
    }
    /* they fail here, where their adapter completes requests */
    while (c->held) {
        SCSIRequest *r = c->held;
        c->held = r->next_stopped;
        r->next_stopped = NULL;
        r->stopped = false;
        scsi_req_check_condition(r, c->sense);
    }
}

void scsi_bus_detach(SCSIDevice *dev, SCSISense sense)
{
    DetachCtx c = { dev, sense, NULL };

    if (!dev->bus || !dev->bus->devices) {
        return;
    }
    scsi_bus_run_sync(dev->bus, scsi_bus_remove_sync, &c);
    /* commands the device still runs complete on the bus's thread (an
     * I/O thread) or through this loop (the main loop's) */
    while (g_atomic_int_get(&dev->requests)) {
        if (dev->bus->iothread) {
            g_usleep(100);
        } else {
            g_main_context_iteration(NULL, TRUE);
        }
    }
}

typedef struct UaCtx {
    SCSIBus *bus;
    SCSIDevice *except;
    SCSISense sense;
} UaCtx;

static void scsi_bus_set_ua_sync(void *opaque)
{
    UaCtx *c = opaque;

    for (unsigned i = 0; i < c->bus->devices->len; i++) {
        SCSIDevice *d = g_ptr_array_index(c->bus->devices, i);
        if (d != c->except) {
            scsi_device_set_ua(d, c->sense);
        }
    }
}

void scsi_bus_set_ua(SCSIBus *bus, SCSIDevice *except, SCSISense sense)
{
    UaCtx c = { bus, except, sense };

    scsi_bus_run_sync(bus, scsi_bus_set_ua_sync, &c);
}

static HotplugHandler *scsi_get_hotplug_handler(DeviceState *dev,
                                                const char **bus_name)
{
    SCSIDevice *d = (SCSIDevice *)dev;

    if (!d->bus) {
        return NULL;
    }
    *bus_name = d->bus->name;
    return d->bus->hotplug;
}

/* Power-on and every reset: the driver learns of it once. */
static void scsi_device_reset(DeviceState *dev)
{
    SCSIDevice *d = (SCSIDevice *)dev;

    d->unit_attention = SENSE_CODE_RESET;
}

const VMStateDescription vmstate_scsi_device = {
    .name = "scsi-device",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(unit_attention.key, SCSIDevice),
        VMSTATE_UINT8(unit_attention.asc, SCSIDevice),
        VMSTATE_UINT8(unit_attention.ascq, SCSIDevice),
        VMSTATE_END_OF_LIST()
    },
};

static const Property scsi_device_props[] = {
    DEFINE_PROP("bus", SCSIDevice, bus_name, PROP_STRING, NULL,
                "SCSI bus: ID.0 of the adapter (default: the first one)"),
    DEFINE_PROP("channel", SCSIDevice, channel, PROP_UINT32, "0",
                "channel (0 on virtio-scsi)"),
    DEFINE_PROP("scsi-id", SCSIDevice, id, PROP_INT32, "-1",
                "target id (-1: the first free one)"),
    DEFINE_PROP("lun", SCSIDevice, lun, PROP_INT32, "-1",
                "logical unit number (-1: 0, or the first free one of the "
                "target)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType scsi_device_type = {
    .name = TYPE_SCSI_DEVICE,
    .parent = TYPE_DEVICE,
    .desc = "SCSI device",
    .instance_size = sizeof(SCSIDevice),
    .abstract = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = scsi_device_props,
    .get_hotplug_handler = scsi_get_hotplug_handler,
    .realize = scsi_device_realize,
    .unrealize = scsi_device_unrealize,
    .reset = scsi_device_reset,
    .vmsd = &vmstate_scsi_device,
};

static void scsi_bus_register_types(void)
{
    device_type_register(&scsi_device_type);
}
type_init(scsi_bus_register_types)

/* ---- requests --------------------------------------------------------------- */

bool scsi_req_init(SCSIRequest *req, SCSIBus *bus, unsigned target,
                   unsigned lun, uint64_t tag, const uint8_t *cdb,
                   size_t cdb_size)
{
    req->bus = bus;
    req->target = target;
    req->lun = lun;
    req->tag = tag;
    req->dev = scsi_device_find(bus, target, lun);
    memset(req->cdb, 0, sizeof(req->cdb));
    memcpy(req->cdb, cdb, MIN(cdb_size, sizeof(req->cdb)));
    req->cdb_len = 0;
    req->mode = SCSI_XFER_NONE;
    req->xfer = 0;
    req->status = SCSI_STATUS_GOOD;
    req->sense_len = 0;
    req->xferred = 0;
    req->in_flight = false;
    req->on_device = false;
    req->stopped = false;
    req->next_stopped = NULL;
    req->io_bounce = NULL;
    req->io_canceled = false;
    return req->dev || scsi_target_exists(bus, target);
}

/* The CDB length of an opcode's group (SPC-4 4.2.5.1); 0: none defined. */
static unsigned scsi_cdb_length(uint8_t op)
{
    switch (op >> 5) {
    case 0:
        return 6;
    case 1:
    case 2:
        return 10;
    case 4:
        return 16;
    case 5:
        return 12;
    default:
        return 0;       /* 3: variable length; 6, 7: vendor specific */
    }
}

static uint64_t scsi_block_size(SCSIRequest *req)
{
    if (req->dev && req->dev->ops->block_size) {
        return req->dev->ops->block_size(req->dev);
    }
    return 512;
}

/* Blocks a READ/WRITE/VERIFY CDB names (READ(6): 0 means 256). */
static uint64_t scsi_rw_blocks(const uint8_t *cdb)
{
    switch (cdb[0] >> 5) {
    case 0:
        return cdb[4] ? cdb[4] : 256;
    case 1:
    case 2:
        return lduw_be_p(cdb + 7);
    case 4:
        return ldl_be_p(cdb + 10);
    case 5:
        return ldl_be_p(cdb + 6);
    }
    return 0;
}

bool scsi_req_parse(SCSIRequest *req, size_t cdb_size)
{
    const uint8_t *cdb = req->cdb;
    uint64_t bs = scsi_block_size(req);
    unsigned len = scsi_cdb_length(cdb[0]);

    if (!len || len > cdb_size) {
        return false;
    }
    req->cdb_len = len;
    req->mode = SCSI_XFER_FROM_DEV;
    switch (cdb[0]) {
    case REQUEST_SENSE:
    case MODE_SENSE_6:
        req->xfer = cdb[4];
        break;
    case INQUIRY:
        req->xfer = lduw_be_p(cdb + 3);
        break;
    case MODE_SENSE_10:
    case READ_TOC:
    case GET_CONFIGURATION:
    case GET_EVENT_STATUS_NOTIFICATION:
    case READ_DISC_INFORMATION:
        req->xfer = lduw_be_p(cdb + 7);
        break;
    case READ_CAPACITY_10:
        req->xfer = 8;
        break;
    case SERVICE_ACTION_IN_16:
        req->xfer = ldl_be_p(cdb + 10);
        break;
    case REPORT_LUNS:
        req->xfer = ldl_be_p(cdb + 6);
        break;
    case READ_6:
    case READ_10:
    case READ_12:
    case READ_16:
        req->xfer = scsi_rw_blocks(cdb) * bs;
        break;
    case WRITE_6:
    case WRITE_10:
    case WRITE_12:
    case WRITE_16:
    case WRITE_VERIFY_10:
    case WRITE_VERIFY_12:
    case WRITE_VERIFY_16:
        req->mode = SCSI_XFER_TO_DEV;
        req->xfer = scsi_rw_blocks(cdb) * bs;
        break;
    case VERIFY_10:
    case VERIFY_12:
    case VERIFY_16:
        /* BYTCHK 01b compares data-out with the medium */
        req->mode = (cdb[1] & 6) ? SCSI_XFER_TO_DEV : SCSI_XFER_NONE;
        req->xfer = (cdb[1] & 6) ? scsi_rw_blocks(cdb) * bs : 0;
        break;
    case MODE_SELECT_6:
        req->mode = SCSI_XFER_TO_DEV;
        req->xfer = cdb[4];
        break;
    case MODE_SELECT_10:
    case UNMAP:
        req->mode = SCSI_XFER_TO_DEV;
        req->xfer = lduw_be_p(cdb + 7);
        break;
    case WRITE_SAME_10:
    case WRITE_SAME_16:
        /* one block of data, unless NDOB (no data-out buffer, 16 only) */
        if (cdb[0] == WRITE_SAME_16 && (cdb[1] & 1)) {
            req->mode = SCSI_XFER_NONE;
            req->xfer = 0;
        } else {
            req->mode = SCSI_XFER_TO_DEV;
            req->xfer = bs;
        }
        break;
    default:
        /* no data: TEST UNIT READY, START STOP UNIT, SYNCHRONIZE CACHE,
         * PREVENT ALLOW MEDIUM REMOVAL, SEEK, SET CD SPEED, and opcodes
         * the devices reject */
        req->mode = SCSI_XFER_NONE;
        req->xfer = 0;
        break;
    }
    if (req->xfer == 0) {
        req->mode = SCSI_XFER_NONE;
    }
    return true;
}

void scsi_req_complete(SCSIRequest *req, uint8_t status)
{
    SCSIDevice *dev = req->on_device ? req->dev : NULL;

    req->status = status;
    req->in_flight = false;
    req->on_device = false;
    req->bus->info->complete(req);      /* the adapter may reuse @req */
    if (dev) {
        g_atomic_int_dec_and_test(&dev->requests);
    }
}

void scsi_req_check_condition(SCSIRequest *req, SCSISense sense)
{
    scsi_build_sense(req->sense, sense);
    req->sense_len = SCSI_SENSE_LEN;
    scsi_req_complete(req, SCSI_STATUS_CHECK_CONDITION);
}

void scsi_req_reply(SCSIRequest *req, size_t len, size_t alloc)
{
    len = MIN(MIN(len, alloc), SCSI_REQ_BUF_SIZE);
    if (req->iov_mode == SCSI_XFER_FROM_DEV) {
        req->xferred = iov_copy(req->iov, req->niov, 0, req->buf, len, true);
    }
    scsi_req_complete(req, SCSI_STATUS_GOOD);
}

size_t scsi_req_fetch(SCSIRequest *req, size_t len)
{
    len = MIN(MIN(len, req->xfer), SCSI_REQ_BUF_SIZE);
    if (req->iov_mode != SCSI_XFER_TO_DEV) {
        return 0;
    }
    req->xferred = iov_copy(req->iov, req->niov, 0, req->buf, len, false);
    return req->xferred;
}

/* ---- what the target answers itself -------------------------------------- */

/* A LUN as REPORT LUNS lists it (SAM-5 4.6: peripheral or flat space). */
static void scsi_put_lun(uint8_t *p, unsigned lun)
{
    memset(p, 0, 8);
    if (lun < 256) {
        p[1] = lun;
    } else {
        p[0] = 0x40 | (lun >> 8);
        p[1] = lun;
    }
}

static void scsi_target_report_luns(SCSIRequest *req, unsigned target)
{
    uint8_t *buf = req->buf;
    unsigned n = 1, total = 1;

    if (req->cdb[2] > 2) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    if (ldl_be_p(req->cdb + 6) < 16) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    memset(buf, 0, 8);
    scsi_put_lun(buf + 8, 0);           /* LUN 0 answers for the target */
    for (unsigned i = 0; i < req->bus->devices->len; i++) {
        SCSIDevice *d = g_ptr_array_index(req->bus->devices, i);
        if (d->channel != 0 || (unsigned)d->id != target || d->lun == 0) {
            continue;
        }
        total++;
        if (n < SCSI_MAX_LUNS_REPORTED) {
            scsi_put_lun(buf + 8 + 8 * n++, d->lun);
        }
    }
    stl_be_p(buf, total * 8);
    scsi_req_reply(req, 8 + 8 * n, req->xfer);
}

/* INQUIRY of a LUN that is not there (SPC-4 6.6.2). */
static void scsi_absent_lun_inquiry(SCSIRequest *req)
{
    uint8_t *buf = req->buf;

    if (req->cdb[1] & 1) {
        /* vital product data: only the list of pages, which is empty */
        if (req->cdb[2] != 0) {
            scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
            return;
        }
        memset(buf, 0, 5);
        buf[0] = 0x3f;
        buf[3] = 1;
        scsi_req_reply(req, 5, req->xfer);
        return;
    }
    if (req->cdb[2] != 0) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_FIELD);
        return;
    }
    memset(buf, 0, 36);
    buf[0] = 0x3f;          /* not connected, no device type (as QEMU) */
    buf[2] = 5;             /* SPC-3 */
    buf[3] = 2 | 0x10;      /* response data format 2, HiSup */
    buf[4] = 31;
    buf[7] = 0x10 | 0x02;   /* SYNC, CmdQue */
    memcpy(buf + 8, "QEMU    ", 8);
    memcpy(buf + 16, "QEMU TARGET     ", 16);
    memcpy(buf + 32, "2.5+", 4);
    scsi_req_reply(req, 36, req->xfer);
}

/* REQUEST SENSE answering @sense as data (SPC-4 6.39; DESC: descriptor
 * format 72h). */
void scsi_req_sense_reply(SCSIRequest *req, SCSISense sense)
{
    uint8_t *buf = req->buf;

    if (req->cdb[1] & 1) {
        memset(buf, 0, 8);
        buf[0] = 0x72;
        buf[1] = sense.key;
        buf[2] = sense.asc;
        buf[3] = sense.ascq;
        scsi_req_reply(req, 8, req->cdb[4]);
        return;
    }
    scsi_build_sense(buf, sense);
    scsi_req_reply(req, SCSI_SENSE_LEN, req->cdb[4]);
}

static void scsi_absent_lun_command(SCSIRequest *req)
{
    switch (req->cdb[0]) {
    case INQUIRY:
        scsi_absent_lun_inquiry(req);
        break;
    case REQUEST_SENSE:
        scsi_req_sense_reply(req, SENSE_CODE_LUN_NOT_SUPPORTED);
        break;
    default:
        scsi_req_check_condition(req, SENSE_CODE_LUN_NOT_SUPPORTED);
        break;
    }
}

static bool scsi_runs_through_ua(SCSIRequest *req)
{
    uint8_t op = req->cdb[0];

    if (op == INQUIRY || op == REPORT_LUNS || op == REQUEST_SENSE) {
        return true;
    }
    return req->dev->ops->allowed_with_ua &&
           req->dev->ops->allowed_with_ua(req->dev, op);
}

void scsi_bus_io_plug(SCSIBus *bus)
{
    bus->plug_depth++;
}

void scsi_bus_io_unplug(SCSIBus *bus)
{
    g_assert(bus->plug_depth);
    if (--bus->plug_depth) {
        return;
    }
    for (unsigned i = 0; i < bus->nplugged; i++) {
        blk_io_unplug(bus->plugged[i].node);
    }
    bus->nplugged = 0;
}

/* In a plugged pass, plug @dev's backend on its first command. */
static void scsi_bus_plug_device(SCSIBus *bus, SCSIDevice *dev)
{
    BlockBackend *blk;

    if (!bus->plug_depth || !dev->ops->blk ||
        bus->nplugged == SCSI_BUS_MAX_PLUGGED) {
        return;
    }
    blk = dev->ops->blk(dev);
    if (!blk) {
        return;
    }
    for (unsigned i = 0; i < bus->nplugged; i++) {
        if (bus->plugged[i].blk == blk) {
            return;
        }
    }
    bus->plugged[bus->nplugged].blk = blk;
    bus->plugged[bus->nplugged].node = blk_io_plug(blk);
    bus->nplugged++;
}

void scsi_req_submit(SCSIRequest *req)
{
    SCSIDevice *dev = req->dev;

    if (!req->cdb_len) {
        scsi_req_check_condition(req, SENSE_CODE_INVALID_OPCODE);
        return;
    }
    if (req->cdb[0] == REPORT_LUNS) {
        scsi_target_report_luns(req, req->target);
        return;
    }
    if (!dev) {
        scsi_absent_lun_command(req);
        return;
    }
    if (dev->unit_attention.key && (!scsi_runs_through_ua(req) ||
                                    req->cdb[0] == REQUEST_SENSE)) {
        SCSISense ua = dev->unit_attention;
        dev->unit_attention = SENSE_CODE_NO_SENSE;
        if (dev->ops->ua_reported) {
            dev->ops->ua_reported(dev, ua);
        }
        if (req->cdb[0] == REQUEST_SENSE) {
            scsi_req_sense_reply(req, ua);
        } else {
            scsi_req_check_condition(req, ua);
        }
        return;
    }
    scsi_bus_plug_device(req->bus, dev);
    req->on_device = true;
    g_atomic_int_inc(&dev->requests);
    dev->ops->exec(req);
}
