/*
 * virtio-keyboard-pci, virtio-mouse-pci and virtio-tablet-pci: virtio-input
 * devices fed by the console layer's input routing (ui/input.c), with
 * QEMU 7.2's names, IDs and configuration answers.
 *
 * Spec: OASIS VIRTIO 1.2, 5.8 "Input Device"; the answers follow QEMU's
 * hw/input/virtio-input-hid.c behaviour: ID_NAME "QEMU Virtio Keyboard" /
 * "QEMU Virtio Mouse" / "QEMU Virtio Tablet", ID_DEVIDS BUS_VIRTUAL, vendor
 * 0x0627, products 1 / 2 / 3, version 1; EV_BITS for EV_KEY (the keys or
 * buttons the device can send), EV_REP and EV_LED (keyboard), EV_REL x/y
 * and the wheel (mouse), EV_ABS x/y (tablet) with ABS_INFO 0..0x7fff;
 * ID_SERIAL from the serial property.  PCI: 1af4:1052 rev 1 (modern only),
 * class 0980.
 *
 * Keys arrive as QKeyCodes and go out as Linux KEY_* codes (value 1
 * press, 0 release), buttons as BTN_*, the wheel as REL_WHEEL +1/-1,
 * each report closed by EV_SYN/SYN_REPORT.  The statusq carries EV_LED
 * from the driver: the LED state is kept (and migrated).
 *
 * Each device registers an input handler at realize but stays behind the
 * PS/2 devices until its driver sets DRIVER_OK, as QEMU (a guest without
 * the driver keeps its PS/2 keyboard); the handler names are what
 * query-mice shows.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-input.h"
#include "migration/vmstate.h"

#define VIRTIO_INPUT_VENDOR_QEMU    0x0627
#define PCI_CLASS_INPUT_OTHER       0x0980

typedef enum HIDKind {
    HID_KEYBOARD,
    HID_MOUSE,
    HID_TABLET,
} HIDKind;

typedef struct VirtIOInputHID {
    VirtIOInput input;          /* first */
    HIDKind kind;
    QemuInputHandlerState *hs;
} VirtIOInputHID;

typedef struct VirtIOInputHIDPCI {
    VirtIOPCIProxy proxy;
    VirtIOInputHID hid;
} VirtIOInputHIDPCI;

static const struct {
    const char *name;
    uint16_t product;
} hid_ids[] = {
    [HID_KEYBOARD] = { "QEMU Virtio Keyboard", 0x0001 },
    [HID_MOUSE] = { "QEMU Virtio Mouse", 0x0002 },
    [HID_TABLET] = { "QEMU Virtio Tablet", 0x0003 },
};

static unsigned button_code(InputButton b)
{
    switch (b) {
    case INPUT_BUTTON_LEFT: return BTN_LEFT;
    case INPUT_BUTTON_RIGHT: return BTN_RIGHT;
    case INPUT_BUTTON_MIDDLE: return BTN_MIDDLE;
    case INPUT_BUTTON_SIDE: return BTN_SIDE;
    case INPUT_BUTTON_EXTRA: return BTN_EXTRA;
    default: return 0;
    }
}

/* ---- input handlers ----------------------------------------------------- */

static void hid_event(void *opaque, QemuConsole *src, InputEvent *evt)
{
    VirtIOInputHID *h = opaque;
    VirtIOInput *vi = &h->input;

    switch (evt->type) {
    case INPUT_EVENT_KIND_KEY: {
        InputKeyEvent *key = evt->u.key.data;
        unsigned code = qemu_input_qcode_to_linux(
            qemu_input_key_value_to_qcode(key->key));

        if (code) {
            virtio_input_send(vi, EV_KEY, code, key->down ? 1 : 0);
        }
        break;
    }
    case INPUT_EVENT_KIND_BTN: {
        InputBtnEvent *b = evt->u.btn.data;
        unsigned code = button_code(b->button);

        if (code) {
            virtio_input_send(vi, EV_KEY, code, b->down ? 1 : 0);
        } else if (b->down && b->button == INPUT_BUTTON_WHEEL_UP) {
            virtio_input_send(vi, EV_REL, REL_WHEEL, 1);
        } else if (b->down && b->button == INPUT_BUTTON_WHEEL_DOWN) {
            virtio_input_send(vi, EV_REL, REL_WHEEL, (uint32_t)-1);
        }
        break;
    }
    case INPUT_EVENT_KIND_REL: {
        InputMoveEvent *m = evt->u.rel.data;

        virtio_input_send(vi, EV_REL, m->axis == INPUT_AXIS_X ? REL_X : REL_Y,
                          (uint32_t)m->value);
        break;
    }
    case INPUT_EVENT_KIND_ABS: {
        InputMoveEvent *m = evt->u.abs.data;

        virtio_input_send(vi, EV_ABS, m->axis == INPUT_AXIS_X ? ABS_X : ABS_Y,
                          (uint32_t)m->value);
        break;
    }
    default:
        break;
    }
}

/* End of a report: one SYN if anything was collected. */
static void hid_sync(void *opaque)
{
    VirtIOInputHID *h = opaque;

    if (h->input.npending) {
        virtio_input_send(&h->input, EV_SYN, SYN_REPORT, 0);
    }
}

static const QemuInputHandler hid_handlers[] = {
    [HID_KEYBOARD] = {
        .name = "QEMU Virtio Keyboard",
        .mask = INPUT_EVENT_MASK_KEY,
        .event = hid_event,
        .sync = hid_sync,
    },
    [HID_MOUSE] = {
        .name = "QEMU Virtio Mouse",
        .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_REL,
        .event = hid_event,
        .sync = hid_sync,
    },
    [HID_TABLET] = {
        .name = "QEMU Virtio Tablet",
        .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_ABS,
        .event = hid_event,
        .sync = hid_sync,
    },
};

/* The statusq: LED updates from the driver's keyboard. */
static void hid_status(VirtIOInput *vi, const VirtIOInputEvent *ev)
{
    if (ev->type == EV_LED && ev->code <= LED_SCROLLL) {
        if (ev->value) {
            vi->ledstate |= 1u << ev->code;
        } else {
            vi->ledstate &= ~(1u << ev->code);
        }
    }
}

/* ---- configuration answers ------------------------------------------ */

static void set_bit_in(uint8_t *bm, unsigned bit, uint8_t *size)
{
    bm[bit / 8] |= 1u << (bit % 8);
    *size = MAX(*size, bit / 8 + 1);
}

static void add_buttons(VirtIOInput *vi)
{
    uint8_t bm[VIRTIO_INPUT_CFG_PAYLOAD] = { 0 }, size = 0;

    for (unsigned c = BTN_LEFT; c <= BTN_EXTRA; c++) {
        set_bit_in(bm, c, &size);
    }
    virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, bm, size);
}

static void hid_build_config(VirtIOInputHID *h)
{
    VirtIOInput *vi = &h->input;
    const char *name = hid_ids[h->kind].name;
    uint8_t ids[8], bm[VIRTIO_INPUT_CFG_PAYLOAD] = { 0 }, size = 0;

    virtio_input_add_config(vi, VIRTIO_INPUT_CFG_ID_NAME, 0, name,
                            strlen(name));
    stw_le_p(ids, BUS_VIRTUAL);
    stw_le_p(ids + 2, VIRTIO_INPUT_VENDOR_QEMU);
    stw_le_p(ids + 4, hid_ids[h->kind].product);
    stw_le_p(ids + 6, 0x0001);
    virtio_input_add_config(vi, VIRTIO_INPUT_CFG_ID_DEVIDS, 0, ids,
                            sizeof(ids));
    switch (h->kind) {
    case HID_KEYBOARD:
        for (unsigned q = 0; q < Q_KEY_CODE__MAX; q++) {
            unsigned code = qemu_input_qcode_to_linux(q);
            if (code && code < VIRTIO_INPUT_CFG_PAYLOAD * 8) {
                set_bit_in(bm, code, &size);
            }
        }
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, bm,
                                size);
        memset(bm, 0, sizeof(bm));
        /* EV_REP: present, no codes (the guest's own autorepeat) */
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_REP, bm, 1);
        bm[0] = 1u << LED_NUML | 1u << LED_CAPSL | 1u << LED_SCROLLL;
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_LED, bm, 1);
        break;
    case HID_MOUSE:
        add_buttons(vi);
        bm[0] = 1u << REL_X | 1u << REL_Y;
        bm[1] = 1u << (REL_WHEEL - 8);
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_REL, bm, 2);
        break;
    case HID_TABLET: {
        uint8_t abs[20] = { 0 };

        add_buttons(vi);
        bm[1] = 1u << (REL_WHEEL - 8);
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_REL, bm, 2);
        memset(bm, 0, sizeof(bm));
        bm[0] = 1u << ABS_X | 1u << ABS_Y;
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_EV_BITS, EV_ABS, bm, 1);
        /* struct virtio_input_absinfo: min, max, fuzz, flat, res */
        stl_le_p(abs, INPUT_EVENT_ABS_MIN);
        stl_le_p(abs + 4, INPUT_EVENT_ABS_MAX);
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_ABS_INFO, ABS_X, abs,
                                sizeof(abs));
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y, abs,
                                sizeof(abs));
        break;
    }
    }
}

/* ---- life cycle ------------------------------------------------------- */

static void hid_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOInputHID *h = (VirtIOInputHID *)vdev;

    /* the driver is ready: events come here from now on */
    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        qemu_input_handler_activate(h->hs);
    }
}

static bool hid_realize_kind(VirtIODevice *vdev, HIDKind kind,
                             GError **errp)
{
    VirtIOInputHID *h = (VirtIOInputHID *)vdev;

    h->kind = kind;
    h->input.status = hid_status;
    hid_build_config(h);
    if (!virtio_input_realize(&h->input, errp)) {
        return false;
    }
    h->hs = qemu_input_handler_register(h, &hid_handlers[kind]);
    qemu_input_handler_deactivate(h->hs);
    return true;
}

static bool kbd_realize(VirtIODevice *vdev, GError **errp)
{
    return hid_realize_kind(vdev, HID_KEYBOARD, errp);
}

static bool mouse_realize(VirtIODevice *vdev, GError **errp)
{
    return hid_realize_kind(vdev, HID_MOUSE, errp);
}

static bool tablet_realize(VirtIODevice *vdev, GError **errp)
{
    return hid_realize_kind(vdev, HID_TABLET, errp);
}

static void hid_unrealize(VirtIODevice *vdev)
{
    VirtIOInputHID *h = (VirtIOInputHID *)vdev;

    qemu_input_handler_unregister(h->hs);
    h->hs = NULL;
    virtio_input_unrealize(&h->input);
}

static int hid_post_load(void *opaque, int version_id)
{
    VirtIOInputHIDPCI *d = opaque;

    if (!virtio_core_post_load(&d->hid.input.vdev)) {
        return -1;
    }
    if (d->hid.input.vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) {
        qemu_input_handler_activate(d->hid.hs);
    }
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_input_hid_pci = {
    .name = "virtio-input-hid-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hid_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(hid.input, VirtIOInputHIDPCI, vmstate_virtio_input,
                       VirtIOInput),
        VMSTATE_END_OF_LIST()
    },
};

/* virtio_input_vdc plus the HID's status hook, filled at start-up */
static VirtioDeviceClass hid_vdc_full;

#define HID_PCI_CLASS(var, realize_fn)                                      \
    static const VirtioPCIClass var = {                                     \
        .pci = {                                                            \
            .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,                  \
            .device_id = 0x1040 + VIRTIO_ID_INPUT,                          \
            .revision = 1,                                                  \
            .class_id = PCI_CLASS_INPUT_OTHER,                              \
            .interrupt_pin = 1,                                             \
            .config_read = virtio_pci_config_read,                          \
            .config_write = virtio_pci_config_write,                        \
        },                                                                  \
        .vdc = &hid_vdc_full,                                               \
        .vdev_offset = offsetof(VirtIOInputHIDPCI, hid),                    \
        .modern_only = true,                                                \
        .realize = realize_fn,                                              \
        .unrealize = hid_unrealize,                                         \
    }

HID_PCI_CLASS(kbd_pci_class, kbd_realize);
HID_PCI_CLASS(mouse_pci_class, mouse_realize);
HID_PCI_CLASS(tablet_pci_class, tablet_realize);

static const Property hid_pci_props[] = {
    DEFINE_PROP("serial", VirtIOInputHIDPCI, hid.input.serial, PROP_STRING,
                NULL, "ID_SERIAL answer (none when unset)"),
    DEFINE_PROP("vectors", VirtIOInputHIDPCI, proxy.nvectors, PROP_UINT32,
                "2", "MSI-X vectors (0: INTx only)"),
    DEFINE_PROP_END_OF_LIST(),
};

#define HID_PCI_TYPE(var, tname, cls)                                       \
    static const DeviceType var = {                                         \
        .name = tname,                                                      \
        .parent = "virtio-pci",                                             \
        .desc = tname,                                                      \
        .instance_size = sizeof(VirtIOInputHIDPCI),                         \
        .user_creatable = true,                                             \
        .category = DEVICE_CATEGORY_INPUT,                                  \
        .props = hid_pci_props,                                             \
        .vmsd = &vmstate_virtio_input_hid_pci,                              \
        .class_data = &cls,                                                 \
    }

HID_PCI_TYPE(kbd_pci_type, "virtio-keyboard-pci", kbd_pci_class);
HID_PCI_TYPE(mouse_pci_type, "virtio-mouse-pci", mouse_pci_class);
HID_PCI_TYPE(tablet_pci_type, "virtio-tablet-pci", tablet_pci_class);

static void virtio_input_hid_register(void)
{
    /* the core's hooks plus the HID status hook */
    hid_vdc_full = virtio_input_vdc;
    hid_vdc_full.set_status = hid_set_status;
    device_type_register(&kbd_pci_type);
    device_type_register(&mouse_pci_type);
    device_type_register(&tablet_pci_type);
    device_type_register_alias("virtio-keyboard", "virtio-keyboard-pci");
    device_type_register_alias("virtio-mouse", "virtio-mouse-pci");
    device_type_register_alias("virtio-tablet", "virtio-tablet-pci");
}
type_init(virtio_input_hid_register)
