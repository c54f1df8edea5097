/*
 * usb-storage: a USB mass storage device (Bulk-Only Transport) in front
 * of a scsi-hd on a SCSI bus of its own, as QEMU 7.2's (46f4:0001,
 * "QEMU USB HARDDRIVE"; full, high and SuperSpeed descriptors).
 *
 * Spec: USB Mass Storage Class Bulk-Only Transport 1.0: 5.1 CBW, 5.2
 * CSW, 3.1 Bulk-Only Mass Storage Reset, 3.2 Get Max LUN, 6.7 the host
 * and device expectations (residue, phase error).
 *
 * Bulk OUT (endpoint 2) takes a 31-byte CBW, then the data-out stage;
 * bulk IN (endpoint 1) gives the data-in stage and the 13-byte CSW.  The
 * SCSI command runs through hw/scsi (scsi_req_*) on a buffer of at most
 * MSD_MAX_XFER bytes that the device owns; while it runs, IN packets get
 * NAK, and its completion wakes the endpoint up (usb_wakeup).  A command
 * whose data does not fit, or whose direction or length disagrees with
 * the CBW, answers a phase error (status 2), which hosts recover from
 * with a reset.  An invalid CBW stalls.
 *
 * `usb-bot` is the same Bulk-Only device without a disk of its own: its
 * SCSI bus `ID.0` takes `scsi-hd`/`scsi-cd` devices at LUNs 0-15
 * (`-device scsi-hd,bus=ID.0,lun=N,drive=...`); Get Max LUN answers the
 * highest LUN present and each CBW's bCBWLUN picks the device.
 *
 * The Bulk-Only engine (MSDBot, include/hw/usb/msd.h) is shared with
 * usb-uas, whose alternate setting 0 is Bulk-Only.
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"
#include "hw/usb/msd.h"
#include "hw/scsi/scsi.h"

#define MSD_CBW_SIG     0x43425355
#define MSD_CSW_SIG     0x53425355

enum { MSD_CBW, MSD_DATA_OUT, MSD_DATA_IN, MSD_CSW };

/* The request and its data: freed by its completion if the device went. */
struct MSDReq {
    SCSIRequest sreq;
    MSDBot *owner;              /* NULL: orphaned */
    struct iovec iov;
    uint8_t data[MSD_MAX_XFER];
};

typedef struct MSDState {
    USBDevice dev;
    /* properties */
    char *drive;
    /* the SCSI side */
    SCSIBus bus;
    DeviceState *disk;
    MSDBot bot;
} MSDState;

enum {
    STR_MANUFACTURER = 1, STR_PRODUCT, STR_SERIALNUMBER, STR_CONFIG_FULL,
    STR_CONFIG_HIGH, STR_CONFIG_SUPER,
};

static const char *const msd_strings[] = {
    "QEMU", "QEMU USB HARDDRIVE", "1", "Full speed config (usb 1.1)",
    "High speed config (usb 2.0)", "Super speed config (usb 3.0)", NULL,
};

static const USBDescEndpoint msd_eps_full[] = {
    { USB_DIR_IN | 1, USB_ENDPOINT_XFER_BULK, 64, 0, 0 },
    { USB_DIR_OUT | 2, USB_ENDPOINT_XFER_BULK, 64, 0, 0 },
};
static const USBDescEndpoint msd_eps_high[] = {
    { USB_DIR_IN | 1, USB_ENDPOINT_XFER_BULK, 512, 0, 0 },
    { USB_DIR_OUT | 2, USB_ENDPOINT_XFER_BULK, 512, 0, 0 },
};
static const USBDescEndpoint msd_eps_super[] = {
    { USB_DIR_IN | 1, USB_ENDPOINT_XFER_BULK, 1024, 0, 15 },
    { USB_DIR_OUT | 2, USB_ENDPOINT_XFER_BULK, 1024, 0, 15 },
};
/* class 8 (mass storage), SCSI transparent (6), bulk-only (0x50) */
static const USBDescIface msd_iface_full = { 8, 6, 0x50, NULL, 0, 2,
                                             msd_eps_full };
static const USBDescIface msd_iface_high = { 8, 6, 0x50, NULL, 0, 2,
                                             msd_eps_high };
static const USBDescIface msd_iface_super = { 8, 6, 0x50, NULL, 0, 2,
                                              msd_eps_super };
static const USBDescDevice msd_full = { 0x0200, 8, STR_CONFIG_FULL, 0xc0, 50,
                                        &msd_iface_full };
static const USBDescDevice msd_high = { 0x0200, 64, STR_CONFIG_HIGH, 0xc0, 50,
                                        &msd_iface_high };
static const USBDescDevice msd_super = { 0x0300, 9, STR_CONFIG_SUPER, 0xc0,
                                         50, &msd_iface_super };
static const USBDesc msd_desc = {
    0x46f4, 0x0001, 0, STR_MANUFACTURER, STR_PRODUCT, STR_SERIALNUMBER,
    &msd_full, &msd_high, &msd_super, msd_strings,
};

static void msd_finish(MSDBot *s)
{
    SCSIRequest *r = &s->req->sreq;

    s->busy = false;
    s->status = r->status == SCSI_STATUS_GOOD ? 0 : 1;
    if (r->status == SCSI_STATUS_CHECK_CONDITION && r->sense_len) {
        memset(s->sense, 0, sizeof(s->sense));
        memcpy(s->sense, r->sense, MIN(r->sense_len, sizeof(s->sense)));
        s->sense_valid = true;
        s->sense_lun = r->lun;
    }
    if (s->mode == MSD_DATA_IN) {
        s->xfer = MIN(s->xfer, (uint32_t)r->xferred);
    }
}

void msd_bot_complete(SCSIRequest *r)
{
    MSDReq *req = container_of(r, MSDReq, sreq);
    MSDBot *s = req->owner;

    if (!s) {
        g_free(req);            /* the device is gone */
        return;
    }
    msd_finish(s);
    usb_wakeup(s->dev, s->in_ep);
    if (s->mode == MSD_CBW) {
        /* a reset abandoned it: the next CBW may have been NAKed */
        usb_wakeup(s->dev, s->out_ep);
    }
}

bool msd_bot_owns(MSDBot *b, SCSIRequest *r)
{
    return b->req && r == &b->req->sreq;
}

static const SCSIBusInfo msd_bus_info = {
    .max_channel = 0, .max_target = 0, .max_lun = 15,
    .complete = msd_bot_complete,
};

/* The running command is abandoned: a chain of I/Os (UNMAP, WRITE SAME)
 * stops at the step out, and its completion only frees the engine. */
static void msd_cancel_running(MSDBot *s)
{
    if (s->busy) {
        s->req->sreq.io_canceled = true;
    }
}

static void msd_submit(MSDBot *s)
{
    s->submitted = true;
    s->busy = true;
    scsi_req_submit(&s->req->sreq);
}

/* Parse a CBW and start the command (or the data-out stage). */
static void msd_handle_cbw(MSDBot *s, USBPacket *p)
{
    const uint8_t *cbw = p->buf;
    SCSIRequest *r = &s->req->sreq;
    bool in;
    uint8_t cblen, lun;

    if (p->len != 31 || ldl_le_p(cbw) != MSD_CBW_SIG) {
        p->status = USB_RET_STALL;
        return;
    }
    s->tag = ldl_le_p(cbw + 4);
    s->data_len = ldl_le_p(cbw + 8);
    in = cbw[12] & 0x80;
    lun = cbw[13] & 0x0f;
    cblen = cbw[14] & 0x1f;
    if (cblen < 1 || cblen > 16) {
        p->status = USB_RET_STALL;
        return;
    }
    p->actual = 31;
    s->done = 0;
    s->status = 0;
    s->phase_error = false;
    s->submitted = false;
    s->xfer = 0;
    memset(r, 0, offsetof(SCSIRequest, buf));
    if (!scsi_req_init(r, s->bus, 0, lun, s->tag, cbw + 15, cblen)) {
        s->phase_error = true;
    } else if (scsi_req_parse(r, cblen) && r->mode != SCSI_XFER_NONE &&
               (r->xfer > s->data_len || r->xfer > MSD_MAX_XFER ||
                (r->mode == SCSI_XFER_FROM_DEV) != in)) {
        /* the host expects less, or the other direction: case 7/8/10/13 */
        s->phase_error = true;
    }
    if (s->phase_error) {
        s->mode = s->data_len ? (in ? MSD_DATA_IN : MSD_DATA_OUT) : MSD_CSW;
        return;
    }
    if (r->cdb[0] == REQUEST_SENSE && s->sense_valid && in &&
        lun == s->sense_lun) {
        /* the retained sense of the last failed command */
        s->xfer = MIN((uint32_t)r->cdb[4], (uint32_t)SCSI_SENSE_LEN);
        s->xfer = MIN(s->xfer, s->data_len);
        memcpy(s->req->data, s->sense, s->xfer);
        s->sense_valid = false;
        s->submitted = true;
        s->mode = s->data_len ? MSD_DATA_IN : MSD_CSW;
        return;
    }
    s->sense_valid = false;
    s->xfer = r->mode == SCSI_XFER_NONE ? 0 : r->xfer;
    s->req->iov.iov_base = s->req->data;
    s->req->iov.iov_len = s->xfer;
    r->iov = &s->req->iov;
    r->niov = s->xfer ? 1 : 0;
    r->iov_size = s->xfer;
    r->iov_mode = r->mode;
    if (!s->data_len) {
        s->mode = MSD_CSW;
        msd_submit(s);
    } else if (in) {
        s->mode = MSD_DATA_IN;
        msd_submit(s);
    } else {
        s->mode = MSD_DATA_OUT;
        if (!s->xfer) {
            msd_submit(s);
        }
    }
}

static void msd_send_csw(MSDBot *s, USBPacket *p)
{
    uint8_t *csw = p->buf;

    if (p->len < 13) {
        p->status = USB_RET_STALL;
        return;
    }
    stl_le_p(csw, MSD_CSW_SIG);
    stl_le_p(csw + 4, s->tag);
    stl_le_p(csw + 8, s->data_len - MIN(s->done, s->data_len));
    csw[12] = s->phase_error ? 2 : s->status;
    p->actual = 13;
    s->mode = MSD_CBW;
}

void msd_bot_handle_data(MSDBot *s, USBPacket *p)
{
    uint32_t n;

    if (p->pid == USB_TOKEN_OUT && p->ep == s->out_ep) {
        switch (s->mode) {
        case MSD_CBW:
            if (s->busy) {
                p->status = USB_RET_NAK;    /* the last one still runs */
                return;
            }
            msd_handle_cbw(s, p);
            return;
        case MSD_DATA_OUT:
            n = MIN((uint32_t)p->len, s->data_len - s->done);
            if (!s->phase_error && s->done < s->xfer) {
                memcpy(s->req->data + s->done, p->buf,
                       MIN(n, s->xfer - s->done));
            }
            s->done += n;
            p->actual = n;
            if (s->done >= s->data_len || p->len < 1) {
                s->mode = MSD_CSW;
                if (!s->phase_error && !s->submitted) {
                    msd_submit(s);
                }
            }
            return;
        default:
            p->status = USB_RET_STALL;
            return;
        }
    }
    if (p->pid == USB_TOKEN_IN && p->ep == s->in_ep) {
        switch (s->mode) {
        case MSD_DATA_IN:
            if (s->busy) {
                p->status = USB_RET_NAK;
                return;
            }
            n = s->phase_error || s->done >= s->xfer ? 0 :
                MIN((uint32_t)p->len, s->xfer - s->done);
            if (n) {
                memcpy(p->buf, s->req->data + s->done, n);
            }
            s->done += n;
            p->actual = n;
            if (n < p->len || s->done >= s->data_len) {
                s->mode = MSD_CSW;      /* short packet ends the stage */
            }
            return;
        case MSD_CSW:
            if (s->busy) {
                p->status = USB_RET_NAK;
                return;
            }
            msd_send_csw(s, p);
            return;
        default:
            p->status = USB_RET_STALL;
            return;
        }
    }
    p->status = USB_RET_STALL;
}

bool msd_bot_handle_control(MSDBot *s, USBPacket *p, int request,
                            int length, uint8_t *data)
{
    switch (request) {
    case ClassInterfaceOutRequest | 0xff:   /* Bulk-Only Mass Storage Reset */
        /* BOT 3.1: ready for the next CBW; a running command is
         * abandoned (the CBW waits, NAKed, until its step out ends) */
        msd_cancel_running(s);
        s->mode = MSD_CBW;
        return true;
    case ClassInterfaceRequest | 0xfe:      /* Get Max LUN */
        data[0] = 0;
        for (unsigned lun = 0; s->multi_lun && lun < 16; lun++) {
            if (scsi_device_find(s->bus, 0, lun)) {
                data[0] = lun;
            }
        }
        p->actual = MIN(1, length);
        return true;
    }
    return false;
}

void msd_bot_reset(MSDBot *s)
{
    msd_cancel_running(s);
    s->mode = MSD_CBW;
    s->done = s->data_len = s->xfer = 0;
    s->phase_error = false;
}

void msd_bot_init(MSDBot *b, USBDevice *dev, SCSIBus *bus, unsigned in_ep,
                  unsigned out_ep, bool multi_lun)
{
    b->dev = dev;
    b->bus = bus;
    b->in_ep = in_ep;
    b->out_ep = out_ep;
    b->multi_lun = multi_lun;
    b->req = g_new0(MSDReq, 1);
    b->req->owner = b;
    b->mode = MSD_CBW;
}

void msd_bot_cleanup(MSDBot *b)
{
    if (b->req) {
        if (b->busy) {
            msd_cancel_running(b);
            b->req->owner = NULL;   /* its completion frees it */
        } else {
            g_free(b->req);
        }
        b->req = NULL;
    }
}

static void msd_handle_data(USBDevice *dev, USBPacket *p)
{
    msd_bot_handle_data(&((MSDState *)dev)->bot, p);
}

static void msd_handle_control(USBDevice *dev, USBPacket *p, int request,
                               int value, int index, int length,
                               uint8_t *data)
{
    if (!msd_bot_handle_control(&((MSDState *)dev)->bot, p, request, length,
                                data)) {
        p->status = USB_RET_STALL;
    }
}

static void msd_handle_reset(USBDevice *dev)
{
    msd_bot_reset(&((MSDState *)dev)->bot);
}

static bool msd_realize(DeviceState *d, GError **errp)
{
    MSDState *s = (MSDState *)d;
    static unsigned anon;
    g_autofree char *name = NULL;
    DeviceState *disk;

    if (!s->drive) {
        error_setg(errp, "drive property not set");
        return false;
    }
    name = d->id ? g_strdup_printf("%s.0", d->id)
                 : g_strdup_printf("usb-storage%u.0", anon++);
    scsi_bus_init(&s->bus, &msd_bus_info, s, name, "/usb-storage");
    msd_bot_init(&s->bot, &s->dev, &s->bus, 1, 2, false);
    disk = device_new("scsi-hd", errp);
    if (!disk || !device_set_prop(disk, "drive", s->drive, errp) ||
        !device_set_prop(disk, "bus", name, errp) ||
        !device_set_prop(disk, "removable", "on", NULL) ||
        !device_realize(disk, errp)) {
        if (disk && !disk->realized) {
            device_destroy(disk);
        }
        scsi_bus_cleanup(&s->bus);
        msd_bot_cleanup(&s->bot);
        return false;
    }
    s->disk = disk;
    return true;
}

/* usb-bot: the bus only; scsi-hd/scsi-cd devices come with bus=ID.0. */
static bool bot_realize(DeviceState *d, GError **errp)
{
    MSDState *s = (MSDState *)d;
    static unsigned anon;
    g_autofree char *name = d->id ? g_strdup_printf("%s.0", d->id)
                                  : g_strdup_printf("usb-bot%u.0", anon++);

    scsi_bus_init(&s->bus, &msd_bus_info, s, name, "/usb-bot");
    msd_bot_init(&s->bot, &s->dev, &s->bus, 1, 2, true);
    return true;
}

static void msd_unrealize(DeviceState *d)
{
    MSDState *s = (MSDState *)d;

    if (s->disk) {
        device_destroy(s->disk);
        s->disk = NULL;
    }
    msd_bot_cleanup(&s->bot);
    if (s->bus.devices) {
        scsi_bus_cleanup(&s->bus);
    }
}

static int msd_post_load(void *opaque, int version_id)
{
    MSDBot *s = opaque;

    if (s->mode > MSD_CSW || s->xfer > MSD_MAX_XFER || s->busy) {
        return -1;
    }
    return 0;
}

static int msd_pre_save(void *opaque)
{
    MSDBot *s = opaque;

    /* a command in flight is finished first by the block layer's drain;
     * what is left is the BOT stage and the data buffer */
    return s->busy ? -1 : 0;
}

const VMStateDescription vmstate_msd_bot = {
    .name = "usb-bot-transport",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = msd_pre_save,
    .post_load = msd_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(mode, MSDBot),
        VMSTATE_UINT32(tag, MSDBot),
        VMSTATE_UINT32(data_len, MSDBot),
        VMSTATE_UINT32(xfer, MSDBot),
        VMSTATE_UINT32(done, MSDBot),
        VMSTATE_UINT8(status, MSDBot),
        VMSTATE_BOOL(submitted, MSDBot),
        VMSTATE_BOOL(phase_error, MSDBot),
        VMSTATE_BOOL(busy, MSDBot),
        VMSTATE_UINT8_ARRAY(sense, MSDBot, SCSI_SENSE_LEN),
        VMSTATE_BOOL(sense_valid, MSDBot),
        VMSTATE_END_OF_LIST()
    },
};

/* The same bytes as before the engine was shared: a nested table has
 * no header of its own. */
static const VMStateDescription vmstate_msd = {
    .name = "usb-storage",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(bot, MSDState, vmstate_msd_bot, MSDBot),
        VMSTATE_END_OF_LIST()
    },
};

static const Property msd_props[] = {
    DEFINE_PROP("drive", MSDState, drive, PROP_STRING, NULL,
                "the -drive/-blockdev id of the disk"),
    DEFINE_PROP_END_OF_LIST(),
};

static const USBDeviceClass msd_class = {
    .product_desc = "QEMU USB MSD",
    .desc = &msd_desc,
    .handle_reset = msd_handle_reset,
    .handle_control = msd_handle_control,
    .handle_data = msd_handle_data,
};

static const DeviceType msd_type = {
    .name = "usb-storage",
    .parent = TYPE_USB_DEVICE,
    .desc = "QEMU USB MSD",
    .instance_size = sizeof(MSDState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = msd_props,
    .realize = msd_realize,
    .unrealize = msd_unrealize,
    .vmsd = &vmstate_msd,
    .class_data = &msd_class,
};

static const DeviceType bot_type = {
    .name = "usb-bot",
    .parent = TYPE_USB_DEVICE,
    .desc = "QEMU USB MSD (Bulk-Only, SCSI devices on its bus)",
    .instance_size = sizeof(MSDState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .realize = bot_realize,
    .unrealize = msd_unrealize,
    .vmsd = &vmstate_msd,
    .class_data = &msd_class,
};

static void msd_register_types(void)
{
    device_type_register(&msd_type);
    device_type_register(&bot_type);
}
type_init(msd_register_types)
