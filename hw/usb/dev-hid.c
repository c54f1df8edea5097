/*
 * USB HID devices: usb-mouse, usb-tablet and usb-kbd, with QEMU 7.2's
 * descriptors, report descriptors and reports, registered as input
 * handlers (ui/input.c) so the monitor's input-send-event / send-key and
 * the VNC server reach them.
 *
 * Spec: Device Class Definition for HID 1.11 (7.1 GET_DESCRIPTOR of the
 * HID and report descriptors, 7.2 class requests GET/SET_REPORT, _IDLE,
 * _PROTOCOL; appendix B boot protocol reports); HID Usage Tables 1.12,
 * chapter 10 (keyboard usages).
 *
 * Reports: mouse buttons, dx, dy, wheel (4 bytes); tablet buttons, x and
 * y (0..0x7fff, little-endian), wheel (6 bytes); keyboard the 8-byte boot
 * report.  Each input sync (one pointer report) or key change queues a
 * report (16 deep, the newest merged in when full); the interrupt IN
 * endpoint returns the oldest, or NAKs when there is none (idle rate 0,
 * what drivers set; a non-zero idle rate is kept but not timed).
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"
#include "ui/input.h"

#define HID_MOUSE       1
#define HID_TABLET      2
#define HID_KEYBOARD    3

#define HID_QUEUE_LEN   16
#define HID_REPORT_MAX  8

/* HID class requests (bmRequestType << 8 | bRequest) */
#define HID_GET_REPORT   0xa101
#define HID_GET_IDLE     0xa102
#define HID_GET_PROTOCOL 0xa103
#define HID_SET_REPORT   0x2109
#define HID_SET_IDLE     0x210a
#define HID_SET_PROTOCOL 0x210b
#define USB_DT_HID       0x21
#define USB_DT_REPORT    0x22

typedef struct USBHIDState {
    USBDevice dev;
    int kind;
    QemuInputHandlerState *handler;
    /* pointer state collected until the input layer's sync */
    uint32_t buttons;
    int32_t dx, dy, dz;
    int32_t x, y;
    /* keyboard state */
    uint8_t modifiers;
    uint8_t keys[6];
    uint8_t leds;
    /* reports waiting for the guest */
    uint8_t queue[HID_QUEUE_LEN][HID_REPORT_MAX];
    uint32_t head, count;
    uint8_t protocol;           /* 0 boot, 1 report */
    uint8_t idle;
} USBHIDState;

enum {
    STR_MANUFACTURER = 1,
    STR_PRODUCT_MOUSE,
    STR_PRODUCT_TABLET,
    STR_PRODUCT_KEYBOARD,
    STR_SERIALNUMBER,
    STR_CONFIG_MOUSE,
    STR_CONFIG_TABLET,
    STR_CONFIG_KEYBOARD,
};

static const char *const hid_strings[] = {
    "QEMU", "QEMU USB Mouse", "QEMU USB Tablet", "QEMU USB Keyboard",
    "42", "HID Mouse", "HID Tablet", "HID Keyboard", NULL,
};

static const uint8_t mouse_report_desc[] = {
    0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00,
    0x05, 0x09, 0x19, 0x01, 0x29, 0x03, 0x15, 0x00, 0x25, 0x01,
    0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01, 0x75, 0x05,
    0x81, 0x01, 0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x09, 0x38,
    0x15, 0x81, 0x25, 0x7f, 0x75, 0x08, 0x95, 0x03, 0x81, 0x06,
    0xc0, 0xc0,
};

static const uint8_t tablet_report_desc[] = {
    0x05, 0x01, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00,
    0x05, 0x09, 0x19, 0x01, 0x29, 0x03, 0x15, 0x00, 0x25, 0x01,
    0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01, 0x75, 0x05,
    0x81, 0x01, 0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x00,
    0x26, 0xff, 0x7f, 0x35, 0x00, 0x46, 0xff, 0x7f, 0x75, 0x10,
    0x95, 0x02, 0x81, 0x02, 0x05, 0x01, 0x09, 0x38, 0x15, 0x81,
    0x25, 0x7f, 0x35, 0x00, 0x45, 0x00, 0x75, 0x08, 0x95, 0x01,
    0x81, 0x06, 0xc0, 0xc0,
};

static const uint8_t kbd_report_desc[] = {
    0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x75, 0x01, 0x95, 0x08,
    0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0x15, 0x00, 0x25, 0x01,
    0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05,
    0x75, 0x01, 0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02,
    0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06, 0x75, 0x08,
    0x15, 0x00, 0x25, 0xff, 0x05, 0x07, 0x19, 0x00, 0x29, 0xff,
    0x81, 0x00, 0xc0,
};

#define HID_DESC(ver_lo, ver_hi, len) \
    (const uint8_t[]){ 9, USB_DT_HID, ver_lo, ver_hi, 0, 1, USB_DT_REPORT, \
                       (len) & 0xff, (len) >> 8 }

static const USBDescEndpoint ep_mouse = {
    USB_DIR_IN | 1, USB_ENDPOINT_XFER_INT, 4, 10, 0 };
static const USBDescEndpoint ep_8 = {
    USB_DIR_IN | 1, USB_ENDPOINT_XFER_INT, 8, 10, 0 };
static const USBDescEndpoint ep_tablet_hs = {
    USB_DIR_IN | 1, USB_ENDPOINT_XFER_INT, 8, 4, 0 };

static const USBDescIface iface_mouse = {
    3, 1, 2, HID_DESC(0x01, 0x00, sizeof(mouse_report_desc)), 9, 1, &ep_mouse,
};
static const USBDescIface iface_tablet = {
    3, 0, 2, HID_DESC(0x01, 0x00, sizeof(tablet_report_desc)), 9, 1, &ep_8,
};
static const USBDescIface iface_tablet_hs = {
    3, 0, 2, HID_DESC(0x01, 0x00, sizeof(tablet_report_desc)), 9, 1,
    &ep_tablet_hs,
};
static const USBDescIface iface_kbd = {
    3, 1, 1, HID_DESC(0x11, 0x01, sizeof(kbd_report_desc)), 9, 1, &ep_8,
};

static const USBDescDevice dev_mouse = { 0x0100, 8, STR_CONFIG_MOUSE, 0xa0, 50,
                                         &iface_mouse };
static const USBDescDevice dev_tablet = { 0x0100, 8, STR_CONFIG_TABLET, 0xa0,
                                          50, &iface_tablet };
static const USBDescDevice dev_tablet_hs = { 0x0200, 64, STR_CONFIG_TABLET,
                                             0xa0, 50, &iface_tablet_hs };
static const USBDescDevice dev_kbd = { 0x0100, 8, STR_CONFIG_KEYBOARD, 0xa0,
                                       50, &iface_kbd };

static const USBDesc desc_mouse = {
    0x0627, 0x0001, 0, STR_MANUFACTURER, STR_PRODUCT_MOUSE, STR_SERIALNUMBER,
    &dev_mouse, NULL, NULL, hid_strings,
};
static const USBDesc desc_tablet = {
    0x0627, 0x0001, 0, STR_MANUFACTURER, STR_PRODUCT_TABLET, STR_SERIALNUMBER,
    &dev_tablet, &dev_tablet_hs, NULL, hid_strings,
};
static const USBDesc desc_kbd = {
    0x0627, 0x0001, 0, STR_MANUFACTURER, STR_PRODUCT_KEYBOARD,
    STR_SERIALNUMBER, &dev_kbd, NULL, NULL, hid_strings,
};

/* ---- key codes: PC set 1 numbers (extended + 0x80) to HID usages ---- */

static const uint8_t set1_to_hid[256] = {
    [0x01] = 0x29, [0x02] = 0x1e, [0x03] = 0x1f, [0x04] = 0x20,
    [0x05] = 0x21, [0x06] = 0x22, [0x07] = 0x23, [0x08] = 0x24,
    [0x09] = 0x25, [0x0a] = 0x26, [0x0b] = 0x27, [0x0c] = 0x2d,
    [0x0d] = 0x2e, [0x0e] = 0x2a, [0x0f] = 0x2b, [0x10] = 0x14,
    [0x11] = 0x1a, [0x12] = 0x08, [0x13] = 0x15, [0x14] = 0x17,
    [0x15] = 0x1c, [0x16] = 0x18, [0x17] = 0x0c, [0x18] = 0x12,
    [0x19] = 0x13, [0x1a] = 0x2f, [0x1b] = 0x30, [0x1c] = 0x28,
    [0x1d] = 0xe0, [0x1e] = 0x04, [0x1f] = 0x16, [0x20] = 0x07,
    [0x21] = 0x09, [0x22] = 0x0a, [0x23] = 0x0b, [0x24] = 0x0d,
    [0x25] = 0x0e, [0x26] = 0x0f, [0x27] = 0x33, [0x28] = 0x34,
    [0x29] = 0x35, [0x2a] = 0xe1, [0x2b] = 0x31, [0x2c] = 0x1d,
    [0x2d] = 0x1b, [0x2e] = 0x06, [0x2f] = 0x19, [0x30] = 0x05,
    [0x31] = 0x11, [0x32] = 0x10, [0x33] = 0x36, [0x34] = 0x37,
    [0x35] = 0x38, [0x36] = 0xe5, [0x37] = 0x55, [0x38] = 0xe2,
    [0x39] = 0x2c, [0x3a] = 0x39, [0x3b] = 0x3a, [0x3c] = 0x3b,
    [0x3d] = 0x3c, [0x3e] = 0x3d, [0x3f] = 0x3e, [0x40] = 0x3f,
    [0x41] = 0x40, [0x42] = 0x41, [0x43] = 0x42, [0x44] = 0x43,
    [0x45] = 0x53, [0x46] = 0x47, [0x47] = 0x5f, [0x48] = 0x60,
    [0x49] = 0x61, [0x4a] = 0x56, [0x4b] = 0x5c, [0x4c] = 0x5d,
    [0x4d] = 0x5e, [0x4e] = 0x57, [0x4f] = 0x59, [0x50] = 0x5a,
    [0x51] = 0x5b, [0x52] = 0x62, [0x53] = 0x63, [0x56] = 0x64,
    [0x57] = 0x44, [0x58] = 0x45,
    [0x9c] = 0x58, [0x9d] = 0xe4, [0xb5] = 0x54, [0xb7] = 0x46,
    [0xb8] = 0xe6, [0xc6] = 0x48, [0xc7] = 0x4a, [0xc8] = 0x52,
    [0xc9] = 0x4b, [0xcb] = 0x50, [0xcd] = 0x4f, [0xcf] = 0x4d,
    [0xd0] = 0x51, [0xd1] = 0x4e, [0xd2] = 0x49, [0xd3] = 0x4c,
    [0xdb] = 0xe3, [0xdc] = 0xe7, [0xdd] = 0x65,
};

/* ---- the report queue ----------------------------------------------- */

static void hid_queue_report(USBHIDState *s, const uint8_t *report)
{
    unsigned slot;

    if (s->count == HID_QUEUE_LEN) {
        /* full: the newest state replaces the last queued one */
        slot = (s->head + s->count - 1) % HID_QUEUE_LEN;
    } else {
        slot = (s->head + s->count) % HID_QUEUE_LEN;
        s->count++;
    }
    memcpy(s->queue[slot], report, HID_REPORT_MAX);
    usb_wakeup(&s->dev, 1);
}

static unsigned hid_report_len(USBHIDState *s)
{
    return s->kind == HID_MOUSE ? 4 : s->kind == HID_TABLET ? 6 : 8;
}

/* ---- pointer -------------------------------------------------------- */

static void hid_pointer_event(void *opaque, QemuConsole *src, InputEvent *evt)
{
    USBHIDState *s = opaque;

    switch (evt->type) {
    case INPUT_EVENT_KIND_BTN: {
        InputBtnEvent *b = evt->u.btn.data;
        static const uint32_t bits[] = {
            [INPUT_BUTTON_LEFT] = 1, [INPUT_BUTTON_RIGHT] = 2,
            [INPUT_BUTTON_MIDDLE] = 4,
        };
        if (b->button == INPUT_BUTTON_WHEEL_UP && b->down) {
            s->dz--;
        } else if (b->button == INPUT_BUTTON_WHEEL_DOWN && b->down) {
            s->dz++;
        } else if ((unsigned)b->button < G_N_ELEMENTS(bits)) {
            uint32_t bit = bits[b->button];
            s->buttons = b->down ? s->buttons | bit : s->buttons & ~bit;
        }
        break;
    }
    case INPUT_EVENT_KIND_REL: {
        InputMoveEvent *mv = evt->u.rel.data;
        int64_t v = CLAMP(mv->value, -0x10000, 0x10000);
        if (mv->axis == INPUT_AXIS_X) {
            s->dx = CLAMP(s->dx + v, -0x100000, 0x100000);
        } else if (mv->axis == INPUT_AXIS_Y) {
            s->dy = CLAMP(s->dy + v, -0x100000, 0x100000);
        }
        break;
    }
    case INPUT_EVENT_KIND_ABS: {
        InputMoveEvent *mv = evt->u.abs.data;
        int32_t v = CLAMP(mv->value, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
        if (mv->axis == INPUT_AXIS_X) {
            s->x = v;
        } else if (mv->axis == INPUT_AXIS_Y) {
            s->y = v;
        }
        break;
    }
    default:
        break;
    }
}

/* One report per sync; relative motion beyond +-127 is spread over more. */
static void hid_pointer_sync(void *opaque)
{
    USBHIDState *s = opaque;
    uint8_t r[HID_REPORT_MAX] = { 0 };

    do {
        int dx = CLAMP(s->dx, -127, 127), dy = CLAMP(s->dy, -127, 127);
        int dz = CLAMP(s->dz, -127, 127);

        s->dx -= dx;
        s->dy -= dy;
        s->dz -= dz;
        r[0] = s->buttons;
        if (s->kind == HID_MOUSE) {
            r[1] = dx;
            r[2] = dy;
            r[3] = -dz;
        } else {
            stw_le_p(r + 1, s->x);
            stw_le_p(r + 3, s->y);
            r[5] = -dz;
        }
        hid_queue_report(s, r);
    } while ((s->dx || s->dy || s->dz) && s->count < HID_QUEUE_LEN);
    s->dx = s->dy = s->dz = 0;
}

/* ---- keyboard ------------------------------------------------------- */

static void hid_keyboard_event(void *opaque, QemuConsole *src, InputEvent *evt)
{
    USBHIDState *s = opaque;
    InputKeyEvent *key = evt->u.key.data;
    QKeyCode q = qemu_input_key_value_to_qcode(key->key);
    unsigned num = qemu_input_qcode_to_number(q);
    uint8_t usage = num < 256 ? set1_to_hid[num] : 0;
    uint8_t r[HID_REPORT_MAX] = { 0 };

    if (!usage) {
        return;
    }
    if (usage >= 0xe0) {
        uint8_t bit = 1 << (usage - 0xe0);
        s->modifiers = key->down ? s->modifiers | bit : s->modifiers & ~bit;
    } else if (key->down) {
        unsigned i, free_slot = 6;
        for (i = 0; i < 6; i++) {
            if (s->keys[i] == usage) {
                break;
            }
            if (!s->keys[i] && free_slot == 6) {
                free_slot = i;
            }
        }
        if (i == 6) {
            if (free_slot == 6) {
                /* rollover: a seventh key reports ErrorRollOver */
                memset(r + 2, 0x01, 6);
                r[0] = s->modifiers;
                hid_queue_report(s, r);
                return;
            }
            s->keys[free_slot] = usage;
        }
    } else {
        for (unsigned i = 0; i < 6; i++) {
            if (s->keys[i] == usage) {
                s->keys[i] = 0;
            }
        }
    }
    r[0] = s->modifiers;
    /* pressed keys packed to the front, in press order */
    for (unsigned i = 0, n = 2; i < 6; i++) {
        if (s->keys[i]) {
            r[n++] = s->keys[i];
        }
    }
    hid_queue_report(s, r);
}

static const QemuInputHandler hid_mouse_handler = {
    .name = "QEMU HID Mouse",
    .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_REL,
    .event = hid_pointer_event,
    .sync = hid_pointer_sync,
};

static const QemuInputHandler hid_tablet_handler = {
    .name = "QEMU HID Tablet",
    .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_ABS,
    .event = hid_pointer_event,
    .sync = hid_pointer_sync,
};

static const QemuInputHandler hid_keyboard_handler = {
    .name = "QEMU HID Keyboard",
    .mask = INPUT_EVENT_MASK_KEY,
    .event = hid_keyboard_event,
};

/* ---- USB side ------------------------------------------------------- */

/* The current state as a report (GET_REPORT, and after reset). */
static void hid_current_report(USBHIDState *s, uint8_t *r)
{
    memset(r, 0, HID_REPORT_MAX);
    r[0] = s->kind == HID_KEYBOARD ? s->modifiers : s->buttons;
    if (s->kind == HID_TABLET) {
        stw_le_p(r + 1, s->x);
        stw_le_p(r + 3, s->y);
    } else if (s->kind == HID_KEYBOARD) {
        for (unsigned i = 0, n = 2; i < 6; i++) {
            if (s->keys[i]) {
                r[n++] = s->keys[i];
            }
        }
    }
}

static void hid_handle_control(USBDevice *dev, USBPacket *p, int request,
                               int value, int index, int length,
                               uint8_t *data)
{
    USBHIDState *s = (USBHIDState *)dev;
    const uint8_t *rd;
    size_t n;

    switch (request) {
    case InterfaceRequest | USB_REQ_GET_DESCRIPTOR:
        if ((value >> 8) != USB_DT_REPORT) {
            break;
        }
        rd = s->kind == HID_MOUSE ? mouse_report_desc :
             s->kind == HID_TABLET ? tablet_report_desc : kbd_report_desc;
        n = s->kind == HID_MOUSE ? sizeof(mouse_report_desc) :
            s->kind == HID_TABLET ? sizeof(tablet_report_desc) :
            sizeof(kbd_report_desc);
        memcpy(data, rd, n);
        p->actual = MIN(n, (size_t)length);
        return;
    case HID_GET_REPORT: {
        uint8_t r[HID_REPORT_MAX];
        hid_current_report(s, r);
        n = hid_report_len(s);
        memcpy(data, r, n);
        p->actual = MIN(n, (size_t)length);
        return;
    }
    case HID_SET_REPORT:
        if (s->kind != HID_KEYBOARD || length < 1) {
            break;
        }
        s->leds = data[0];      /* LED state: nothing to light */
        return;
    case HID_GET_PROTOCOL:
        if (s->kind == HID_TABLET) {
            break;
        }
        data[0] = s->protocol;
        p->actual = MIN(1, length);
        return;
    case HID_SET_PROTOCOL:
        if (s->kind == HID_TABLET) {
            break;
        }
        s->protocol = value & 1;
        return;
    case HID_GET_IDLE:
        data[0] = s->idle;
        p->actual = MIN(1, length);
        return;
    case HID_SET_IDLE:
        s->idle = value >> 8;
        return;
    }
    p->status = USB_RET_STALL;
}

static void hid_handle_data(USBDevice *dev, USBPacket *p)
{
    USBHIDState *s = (USBHIDState *)dev;
    unsigned n;

    if (p->pid != USB_TOKEN_IN || p->ep != 1) {
        p->status = USB_RET_STALL;
        return;
    }
    if (s->kind != HID_KEYBOARD && s->handler) {
        /* the guest reads this pointer: it gets the events (as QEMU) */
        qemu_input_handler_activate(s->handler);
    }
    if (!s->count) {
        p->status = USB_RET_NAK;
        return;
    }
    n = MIN(hid_report_len(s), p->len);
    memcpy(p->buf, s->queue[s->head], n);
    s->head = (s->head + 1) % HID_QUEUE_LEN;
    s->count--;
    p->actual = n;
}

static void hid_handle_reset(USBDevice *dev)
{
    USBHIDState *s = (USBHIDState *)dev;

    s->head = s->count = 0;
    s->dx = s->dy = s->dz = 0;
    s->protocol = 1;
    s->idle = 0;
}

static bool hid_realize_common(USBHIDState *s, int kind)
{
    const QemuInputHandler *h = kind == HID_MOUSE ? &hid_mouse_handler :
        kind == HID_TABLET ? &hid_tablet_handler : &hid_keyboard_handler;

    s->kind = kind;
    s->protocol = 1;
    s->handler = qemu_input_handler_register(s, h);
    return true;
}

static bool hid_mouse_realize(DeviceState *d, GError **errp)
{
    return hid_realize_common((USBHIDState *)d, HID_MOUSE);
}

static bool hid_tablet_realize(DeviceState *d, GError **errp)
{
    return hid_realize_common((USBHIDState *)d, HID_TABLET);
}

static bool hid_kbd_realize(DeviceState *d, GError **errp)
{
    return hid_realize_common((USBHIDState *)d, HID_KEYBOARD);
}

static void hid_unrealize(DeviceState *d)
{
    USBHIDState *s = (USBHIDState *)d;

    if (s->handler) {
        qemu_input_handler_unregister(s->handler);
        s->handler = NULL;
    }
}

static int hid_post_load(void *opaque, int version_id)
{
    USBHIDState *s = opaque;

    if (s->head >= HID_QUEUE_LEN || s->count > HID_QUEUE_LEN ||
        s->protocol > 1) {
        return -1;
    }
    s->x = CLAMP(s->x, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
    s->y = CLAMP(s->y, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
    s->dx = CLAMP(s->dx, -0x100000, 0x100000);
    s->dy = CLAMP(s->dy, -0x100000, 0x100000);
    s->dz = CLAMP(s->dz, -0x100000, 0x100000);
    return 0;
}

static const VMStateDescription vmstate_usb_hid = {
    .name = "usb-hid",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hid_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(buttons, USBHIDState),
        VMSTATE_INT32(dx, USBHIDState),
        VMSTATE_INT32(dy, USBHIDState),
        VMSTATE_INT32(dz, USBHIDState),
        VMSTATE_INT32(x, USBHIDState),
        VMSTATE_INT32(y, USBHIDState),
        VMSTATE_UINT8(modifiers, USBHIDState),
        VMSTATE_UINT8_ARRAY(keys, USBHIDState, 6),
        VMSTATE_UINT8(leds, USBHIDState),
        VMSTATE_BUFFER(queue, USBHIDState),
        VMSTATE_UINT32(head, USBHIDState),
        VMSTATE_UINT32(count, USBHIDState),
        VMSTATE_UINT8(protocol, USBHIDState),
        VMSTATE_UINT8(idle, USBHIDState),
        VMSTATE_END_OF_LIST()
    },
};

static const USBDeviceClass mouse_class = {
    .product_desc = "QEMU USB Mouse", .desc = &desc_mouse,
    .handle_reset = hid_handle_reset, .handle_control = hid_handle_control,
    .handle_data = hid_handle_data,
};
static const USBDeviceClass tablet_class = {
    .product_desc = "QEMU USB Tablet", .desc = &desc_tablet,
    .handle_reset = hid_handle_reset, .handle_control = hid_handle_control,
    .handle_data = hid_handle_data,
};
static const USBDeviceClass kbd_class = {
    .product_desc = "QEMU USB Keyboard", .desc = &desc_kbd,
    .handle_reset = hid_handle_reset, .handle_control = hid_handle_control,
    .handle_data = hid_handle_data,
};

#define HID_TYPE(tname, tdesc, rfn, klass) {                    \
        .name = tname, .parent = TYPE_USB_DEVICE, .desc = tdesc, \
        .instance_size = sizeof(USBHIDState),                    \
        .user_creatable = true, .category = DEVICE_CATEGORY_INPUT, \
        .realize = rfn, .unrealize = hid_unrealize,              \
        .vmsd = &vmstate_usb_hid, .class_data = &klass }

static const DeviceType hid_types[] = {
    HID_TYPE("usb-mouse", "QEMU USB Mouse", hid_mouse_realize, mouse_class),
    HID_TYPE("usb-tablet", "QEMU USB Tablet", hid_tablet_realize,
             tablet_class),
    HID_TYPE("usb-kbd", "QEMU USB Keyboard", hid_kbd_realize, kbd_class),
};

static void hid_register_types(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(hid_types); i++) {
        device_type_register(&hid_types[i]);
    }
}
type_init(hid_register_types)
