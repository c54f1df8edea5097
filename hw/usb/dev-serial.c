/*
 * usb-serial: an FTDI FT232-style USB serial adapter on a chardev, as
 * QEMU 7.2's (0403:6001, "QEMU USB SERIAL").
 *
 * Spec: there is no public FTDI specification; the vendor requests and
 * the two status bytes in front of every bulk IN packet follow what the
 * Linux ftdi_sio driver and QEMU's model use: RESET (0), SET_MODEM_CTRL
 * (1), SET_FLOW_CTRL (2), SET_BAUD_RATE (3), SET_DATA (4),
 * GET_MODEM_STATUS (5), SET_EVENT_CHAR (6), SET_ERROR_CHAR (7),
 * SET_LATENCY_TIMER (9), GET_LATENCY_TIMER (10).
 *
 * Bulk IN (endpoint 1): the modem status byte, the line status byte, then
 * up to 62 received bytes; bulk OUT (endpoint 2): bytes for the chardev.
 * Received bytes wait in a 384-byte buffer; the chardev is read only as
 * fast as it drains (flow control through can_read).  Line settings
 * (baud rate, data bits, flow control) are kept and not applied: a
 * chardev has no line.
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"
#include "chardev/char.h"

#define RECV_BUF        384

#define FTDI_RESET      0
#define FTDI_SET_MDM_CTRL 1
#define FTDI_SET_FLOW_CTRL 2
#define FTDI_SET_BAUD   3
#define FTDI_SET_DATA   4
#define FTDI_GET_MDM_ST 5
#define FTDI_SET_EVENT_CHR 6
#define FTDI_SET_ERROR_CHR 7
#define FTDI_SET_LATENCY 9
#define FTDI_GET_LATENCY 10

/* modem status byte */
#define FTDI_CTS        0x10
#define FTDI_DSR        0x20
#define FTDI_RI         0x40
#define FTDI_RLSD       0x80
/* line status byte */
#define FTDI_THRE       0x20
#define FTDI_TEMT       0x40

typedef struct USBSerialState {
    USBDevice dev;
    Chardev *chr;
    uint8_t recv_buf[RECV_BUF];
    uint32_t recv_ptr, recv_used;
    uint8_t event_chr, error_chr, latency;
    uint16_t baud_divisor, data_format, flow, modem_ctrl;
} USBSerialState;

static const char *const serial_strings[] = {
    "QEMU", "QEMU USB SERIAL", "1", NULL,
};
static const USBDescEndpoint serial_eps[] = {
    { USB_DIR_IN | 1, USB_ENDPOINT_XFER_BULK, 64, 0, 0 },
    { USB_DIR_OUT | 2, USB_ENDPOINT_XFER_BULK, 64, 0, 0 },
};
static const USBDescIface serial_iface = { 0xff, 0xff, 0xff, NULL, 0, 2,
                                           serial_eps };
static const USBDescDevice serial_full = { 0x0200, 8, 0, 0x80, 50,
                                           &serial_iface };
static const USBDesc serial_desc = {
    0x0403, 0x6001, 0x0400, 1, 2, 3, &serial_full, NULL, NULL,
    serial_strings,
};

static void serial_reset_buf(USBSerialState *s)
{
    s->recv_ptr = s->recv_used = 0;
}

static void serial_handle_reset(USBDevice *dev)
{
    USBSerialState *s = (USBSerialState *)dev;

    serial_reset_buf(s);
    s->event_chr = 0x0d;
    s->error_chr = 0;
    s->latency = 16;
    s->baud_divisor = s->data_format = s->flow = s->modem_ctrl = 0;
    if (s->chr) {
        qemu_chr_fe_accept_input(s->chr);
    }
}

static void serial_handle_control(USBDevice *dev, USBPacket *p, int request,
                                  int value, int index, int length,
                                  uint8_t *data)
{
    USBSerialState *s = (USBSerialState *)dev;

    switch (request) {
    case 0x4000 | FTDI_RESET:
        if (value == 0 || value == 1) {     /* SIO / purge RX */
            serial_reset_buf(s);
            if (s->chr) {
                qemu_chr_fe_accept_input(s->chr);
            }
        }
        return;
    case 0x4000 | FTDI_SET_MDM_CTRL:
        /* high byte: which of DTR (bit 0) and RTS (bit 1) to change */
        s->modem_ctrl = (s->modem_ctrl & ~(value >> 8)) |
                        (value & (value >> 8) & 3);
        return;
    case 0x4000 | FTDI_SET_FLOW_CTRL:
        s->flow = index >> 8;
        return;
    case 0x4000 | FTDI_SET_BAUD:
        s->baud_divisor = value;
        return;
    case 0x4000 | FTDI_SET_DATA:
        s->data_format = value;
        return;
    case 0xc000 | FTDI_GET_MDM_ST:
        data[0] = FTDI_CTS | FTDI_DSR | 1;
        data[1] = FTDI_THRE | FTDI_TEMT;
        p->actual = MIN(2, length);
        return;
    case 0x4000 | FTDI_SET_EVENT_CHR:
        s->event_chr = value;
        return;
    case 0x4000 | FTDI_SET_ERROR_CHR:
        s->error_chr = value;
        return;
    case 0x4000 | FTDI_SET_LATENCY:
        s->latency = value;
        return;
    case 0xc000 | FTDI_GET_LATENCY:
        data[0] = s->latency;
        p->actual = MIN(1, length);
        return;
    }
    p->status = USB_RET_STALL;
}

static void serial_handle_data(USBDevice *dev, USBPacket *p)
{
    USBSerialState *s = (USBSerialState *)dev;
    size_t n;

    if (p->pid == USB_TOKEN_OUT && p->ep == 2) {
        if (s->chr && p->len) {
            qemu_chr_write_all(s->chr, p->buf, p->len);
        }
        p->actual = p->len;
        return;
    }
    if (p->pid != USB_TOKEN_IN || p->ep != 1) {
        p->status = USB_RET_STALL;
        return;
    }
    if (p->len < 2) {
        p->status = USB_RET_STALL;
        return;
    }
    p->actual = 0;
    /* each 64-byte packet: two status bytes, then up to 62 data bytes;
     * a short packet ends the transfer */
    for (size_t off = 0; p->len - off >= 2;) {
        size_t room = MIN(p->len - off, (size_t)64) - 2;

        p->buf[off] = FTDI_CTS | FTDI_DSR | 1;
        p->buf[off + 1] = FTDI_THRE | FTDI_TEMT;
        n = 0;
        while (n < room && s->recv_used) {
            p->buf[off + 2 + n++] = s->recv_buf[s->recv_ptr];
            s->recv_ptr = (s->recv_ptr + 1) % RECV_BUF;
            s->recv_used--;
        }
        off += 2 + n;
        p->actual = off;
        if (2 + n < 64 || !s->recv_used) {
            break;
        }
    }
    if (s->chr && s->recv_used < RECV_BUF) {
        qemu_chr_fe_accept_input(s->chr);
    }
}

static int serial_can_read(void *opaque)
{
    USBSerialState *s = opaque;

    return RECV_BUF - s->recv_used;
}

static void serial_read(void *opaque, const uint8_t *buf, int size)
{
    USBSerialState *s = opaque;

    for (int i = 0; i < size && s->recv_used < RECV_BUF; i++) {
        s->recv_buf[(s->recv_ptr + s->recv_used) % RECV_BUF] = buf[i];
        s->recv_used++;
    }
    usb_wakeup(&s->dev, 1);
}

static bool serial_realize(DeviceState *d, GError **errp)
{
    USBSerialState *s = (USBSerialState *)d;

    if (!s->chr) {
        error_setg(errp, "Property chardev is required");
        return false;
    }
    if (!qemu_chr_fe_attach(s->chr, serial_can_read, serial_read, NULL, s,
                            errp)) {
        return false;
    }
    serial_handle_reset(&s->dev);
    return true;
}

static void serial_unrealize(DeviceState *d)
{
    USBSerialState *s = (USBSerialState *)d;

    if (s->chr) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL, s);
    }
}

static int serial_post_load(void *opaque, int version_id)
{
    USBSerialState *s = opaque;

    if (s->recv_ptr >= RECV_BUF || s->recv_used > RECV_BUF) {
        return -1;
    }
    return 0;
}

static const VMStateDescription vmstate_usb_serial = {
    .name = "usb-serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = serial_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_BUFFER(recv_buf, USBSerialState),
        VMSTATE_UINT32(recv_ptr, USBSerialState),
        VMSTATE_UINT32(recv_used, USBSerialState),
        VMSTATE_UINT8(event_chr, USBSerialState),
        VMSTATE_UINT8(error_chr, USBSerialState),
        VMSTATE_UINT8(latency, USBSerialState),
        VMSTATE_UINT16(baud_divisor, USBSerialState),
        VMSTATE_UINT16(data_format, USBSerialState),
        VMSTATE_UINT16(flow, USBSerialState),
        VMSTATE_UINT16(modem_ctrl, USBSerialState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property serial_props[] = {
    DEFINE_PROP("chardev", USBSerialState, chr, PROP_CHARDEV, NULL,
                "the chardev the serial line goes to"),
    DEFINE_PROP_END_OF_LIST(),
};

static const USBDeviceClass serial_class = {
    .product_desc = "QEMU USB Serial",
    .desc = &serial_desc,
    .handle_reset = serial_handle_reset,
    .handle_control = serial_handle_control,
    .handle_data = serial_handle_data,
};

static const DeviceType serial_type = {
    .name = "usb-serial",
    .parent = TYPE_USB_DEVICE,
    .desc = "QEMU USB Serial",
    .instance_size = sizeof(USBSerialState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_INPUT,
    .props = serial_props,
    .realize = serial_realize,
    .unrealize = serial_unrealize,
    .vmsd = &vmstate_usb_serial,
    .class_data = &serial_class,
};

static void serial_register_types(void)
{
    device_type_register(&serial_type);
}
type_init(serial_register_types)
