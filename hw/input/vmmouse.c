/*
 * vmmouse: the absolute pointer of VMware's backdoor, which QEMU's pc and
 * q35 machines create next to the vmport (when the machine has an i8042
 * and vmport is on).  Xorg's vmmouse driver (xf86-input-vmmouse) and
 * VMware tools use it for a pointer that follows the host's without
 * grabbing.
 *
 * Protocol (VMware's backdoor interface, as open-vm-tools' backdoor
 * headers and xf86-input-vmmouse's vmmouse_proto.h describe it; behaviour
 * as QEMU 7.2's vmmouse, checked against it with tests/guest/vmmouse.c):
 * three commands through the vmport (hw/i386/vmport.c, port 0x5658):
 *   DATA (39)     EBX = n (1..6): the first n words of the queue in EAX,
 *                 EBX, ECX, EDX, ESI, EDI; asking for 0, more than 6 or
 *                 more than are queued is an error (status 0xffff, the
 *                 pointer goes back to the PS/2 mouse)
 *   STATUS (40)   EAX = status << 16 | words queued; status is 0 once
 *                 READ_ID ran, 0xffff after reset, DISABLE or an error
 *   COMMAND (41)  EBX = READ_ID (0x45414552): queue the version word
 *                 0x3442554a and set status 0 (the driver's enable);
 *                 DISABLE (0xf5): status 0xffff, stop taking events;
 *                 REQUEST_ABSOLUTE (0x53424152) / REQUEST_RELATIVE
 *                 (0x4c455252): take the host's pointer, absolute or
 *                 relative (only while status is 0)
 * Each pointer report queues one 4-word packet: buttons (left 0x20,
 * right 0x10, middle 0x08), x, y (absolute: 0..0xffff; relative: the
 * deltas, y down positive) and z (wheel: -1 up, +1 down; a wheel step
 * is a packet of its own, before the report's).  The queue
 * holds 1024 words; a report that does not fit is dropped.  After each
 * packet the PS/2 mouse sends one byte's worth of motion so a driver
 * that sleeps on the aux IRQ (IRQ 12) wakes up and reads the queue.
 *
 * The pointer events come from the input layer (ui/input.c): while the
 * guest asked for a mode, this device is the most recently activated
 * handler for buttons and absolute (or relative) motion, which takes them
 * from the PS/2 mouse, as QEMU's legacy mouse handler does.
 */
#include "qemu/osdep.h"
#include "hw/i386/vmport.h"
#include "hw/input/ps2.h"
#include "hw/isa.h"
#include "ui/input.h"

#define VMMOUSE_QUEUE_SIZE      1024    /* words */
#define VMMOUSE_PACKET_WORDS    4
#define VMMOUSE_DATA_MAX        6       /* EAX..EDI */

#define VMMOUSE_READ_ID         0x45414552u
#define VMMOUSE_DISABLE         0x000000f5u
#define VMMOUSE_REQUEST_RELATIVE 0x4c455252u
#define VMMOUSE_REQUEST_ABSOLUTE 0x53424152u

#define VMMOUSE_VERSION         0x3442554au
#define VMMOUSE_STATUS_OFF      0xffffu

#define VMMOUSE_LEFT_BUTTON     0x20
#define VMMOUSE_RIGHT_BUTTON    0x10
#define VMMOUSE_MIDDLE_BUTTON   0x08

typedef struct VmmouseState {
    ISADevice parent;
    /* guest-visible, migrated */
    uint32_t queue[VMMOUSE_QUEUE_SIZE];
    uint16_t nb_queue;
    uint16_t status;
    uint8_t absolute;
    /* the pointer as the host last reported it (the input layer reports
     * changes only); migrated so a report after migration is complete */
    uint32_t buttons;           /* VMMOUSE_*_BUTTON */
    int32_t x, y;
    /* relative motion since the last report */
    int32_t dx, dy;
    /* an event came since the last report: the input layer syncs every
     * handler, and a report without pointer events (a key) is no packet */
    bool pending;
    QemuInputHandlerState *handler;     /* NULL: the PS/2 mouse has it */
} VmmouseState;

/* ---- input side ----------------------------------------------------- */

/* One packet if it fits (else dropped, as QEMU), then the PS/2 doorbell. */
static void vmmouse_queue_packet(VmmouseState *s, int32_t dz)
{
    PS2MouseState *ps2 = ps2_mouse_get_default();
    uint32_t *p;

    if (s->nb_queue > VMMOUSE_QUEUE_SIZE - VMMOUSE_PACKET_WORDS) {
        return;
    }
    p = &s->queue[s->nb_queue];
    p[0] = s->buttons;
    /* the input layer's 0..0x7fff become the protocol's 0..0xffff */
    p[1] = s->absolute ? (uint32_t)s->x << 1 : (uint32_t)s->dx;
    p[2] = s->absolute ? (uint32_t)s->y << 1 : (uint32_t)s->dy;
    p[3] = (uint32_t)dz;
    s->nb_queue += VMMOUSE_PACKET_WORDS;
    if (ps2) {
        ps2_mouse_fake_event(ps2);
    }
}

/* A wheel press is a packet of its own, right away, with the position and
 * buttons as they are so far (QEMU's legacy mouse handlers get wheel
 * steps that way); the report's sync then sends another with z 0. */
static void vmmouse_button(VmmouseState *s, const InputBtnEvent *b)
{
    static const uint32_t bits[] = {
        [INPUT_BUTTON_LEFT] = VMMOUSE_LEFT_BUTTON,
        [INPUT_BUTTON_RIGHT] = VMMOUSE_RIGHT_BUTTON,
        [INPUT_BUTTON_MIDDLE] = VMMOUSE_MIDDLE_BUTTON,
    };

    if (b->button == INPUT_BUTTON_WHEEL_UP && b->down) {
        vmmouse_queue_packet(s, -1);
    } else if (b->button == INPUT_BUTTON_WHEEL_DOWN && b->down) {
        vmmouse_queue_packet(s, 1);
    } else if ((unsigned)b->button < G_N_ELEMENTS(bits)) {
        uint32_t bit = bits[b->button];
        s->buttons = b->down ? s->buttons | bit : s->buttons & ~bit;
    }
}

static void vmmouse_input_event(void *opaque, QemuConsole *src,
                                InputEvent *evt)
{
    VmmouseState *s = opaque;
    InputMoveEvent *mv;

    s->pending = true;
    switch (evt->type) {
    case INPUT_EVENT_KIND_BTN:
        vmmouse_button(s, evt->u.btn.data);
        break;
    case INPUT_EVENT_KIND_ABS:
        mv = evt->u.abs.data;
        if (mv->axis == INPUT_AXIS_X) {
            s->x = CLAMP(mv->value, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
        } else if (mv->axis == INPUT_AXIS_Y) {
            s->y = CLAMP(mv->value, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
        }
        break;
    case INPUT_EVENT_KIND_REL:
        mv = evt->u.rel.data;
        if (mv->axis == INPUT_AXIS_X) {
            s->dx = CLAMP((int64_t)s->dx + mv->value, -0x10000, 0x10000);
        } else if (mv->axis == INPUT_AXIS_Y) {
            s->dy = CLAMP((int64_t)s->dy + mv->value, -0x10000, 0x10000);
        }
        break;
    default:
        break;
    }
}

/* The end of one report: its packet. */
static void vmmouse_input_sync(void *opaque)
{
    VmmouseState *s = opaque;

    if (!s->pending) {
        return;
    }
    vmmouse_queue_packet(s, 0);
    s->dx = s->dy = 0;
    s->pending = false;
}

static const QemuInputHandler vmmouse_abs_handler = {
    .name = "vmmouse",
    .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_ABS,
    .event = vmmouse_input_event,
    .sync = vmmouse_input_sync,
};

static const QemuInputHandler vmmouse_rel_handler = {
    .name = "vmmouse",
    .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_REL,
    .event = vmmouse_input_event,
    .sync = vmmouse_input_sync,
};

/* Give the pointer back to the PS/2 mouse. */
static void vmmouse_remove_handler(VmmouseState *s)
{
    if (s->handler) {
        qemu_input_handler_unregister(s->handler);
        s->handler = NULL;
    }
}

/* A new handler starts from position 0 and no buttons, as QEMU's new
 * legacy mouse entry does after a mode change or DISABLE. */
static void vmmouse_forget_pointer(VmmouseState *s)
{
    s->buttons = 0;
    s->x = s->y = 0;
    s->dx = s->dy = 0;
    s->pending = false;
}

/* Take the pointer in @absolute mode; only an enabled (READ_ID) device
 * does, as QEMU's. */
static void vmmouse_update_handler(VmmouseState *s, bool absolute)
{
    if (s->status != 0) {
        return;
    }
    if (s->absolute != absolute) {
        s->absolute = absolute;
        vmmouse_remove_handler(s);
        vmmouse_forget_pointer(s);
    }
    if (!s->handler) {
        s->handler = qemu_input_handler_register(
            s, s->absolute ? &vmmouse_abs_handler : &vmmouse_rel_handler);
    }
}

/* ---- backdoor commands ---------------------------------------------- */

static void vmmouse_disable(VmmouseState *s)
{
    s->status = VMMOUSE_STATUS_OFF;
    vmmouse_remove_handler(s);
    vmmouse_forget_pointer(s);
}

static void vmmouse_status(void *opaque, VmportRegs *r)
{
    VmmouseState *s = opaque;

    r->eax = (uint32_t)s->status << 16 | s->nb_queue;
}

static void vmmouse_command(void *opaque, VmportRegs *r)
{
    VmmouseState *s = opaque;

    switch (r->ebx) {
    case VMMOUSE_READ_ID:
        if (s->nb_queue < VMMOUSE_QUEUE_SIZE) {
            s->queue[s->nb_queue++] = VMMOUSE_VERSION;
            s->status = 0;
        }
        break;
    case VMMOUSE_DISABLE:
        vmmouse_disable(s);
        break;
    case VMMOUSE_REQUEST_RELATIVE:
        vmmouse_update_handler(s, false);
        break;
    case VMMOUSE_REQUEST_ABSOLUTE:
        vmmouse_update_handler(s, true);
        break;
    default:
        break;          /* unknown: ignored, the registers unchanged */
    }
}

static void vmmouse_data(void *opaque, VmportRegs *r)
{
    VmmouseState *s = opaque;
    uint32_t *out[VMMOUSE_DATA_MAX] = {
        &r->eax, &r->ebx, &r->ecx, &r->edx, &r->esi, &r->edi,
    };
    uint32_t n = r->ebx;

    if (n == 0 || n > VMMOUSE_DATA_MAX || n > s->nb_queue) {
        vmmouse_disable(s);     /* a confused driver: as QEMU */
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        *out[i] = s->queue[i];
    }
    s->nb_queue -= n;
    memmove(s->queue, s->queue + n, s->nb_queue * sizeof(s->queue[0]));
}

/* ---- device ----------------------------------------------------------- */

static const struct {
    unsigned cmd;
    VmportCommandFn *fn;
} vmmouse_commands[] = {
    { VMPORT_CMD_VMMOUSE_DATA, vmmouse_data },
    { VMPORT_CMD_VMMOUSE_STATUS, vmmouse_status },
    { VMPORT_CMD_VMMOUSE_COMMAND, vmmouse_command },
};

static void vmmouse_unregister_commands(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vmport_unregister_command(vmmouse_commands[i].cmd);
    }
}

static bool vmmouse_realize(DeviceState *dev, GError **errp)
{
    VmmouseState *s = (VmmouseState *)dev;

    if (!ps2_mouse_get_default()) {
        error_setg(errp, "vmmouse needs the machine's i8042 (PS/2 mouse)");
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(vmmouse_commands); i++) {
        if (!vmport_register_command(vmmouse_commands[i].cmd,
                                     vmmouse_commands[i].fn, s)) {
            vmmouse_unregister_commands(i);
            error_setg(errp, "vmmouse needs the machine's vmport "
                       "(-machine vmport=on), and only one vmmouse");
            return false;
        }
    }
    s->status = VMMOUSE_STATUS_OFF;
    return true;
}

static void vmmouse_unrealize(DeviceState *dev)
{
    VmmouseState *s = (VmmouseState *)dev;

    vmmouse_remove_handler(s);
    vmmouse_unregister_commands(G_N_ELEMENTS(vmmouse_commands));
}

static void vmmouse_reset(DeviceState *dev)
{
    VmmouseState *s = (VmmouseState *)dev;

    s->status = VMMOUSE_STATUS_OFF;
    s->nb_queue = 0;
    s->absolute = 0;
    vmmouse_remove_handler(s);
    vmmouse_forget_pointer(s);
}

/* A stream from elsewhere is checked before it is used: the queue length
 * bounds every later index. */
static int vmmouse_post_load(void *opaque, int version_id)
{
    VmmouseState *s = opaque;

    if (s->nb_queue > VMMOUSE_QUEUE_SIZE ||
        (s->status != 0 && s->status != VMMOUSE_STATUS_OFF) ||
        s->absolute > 1) {
        return -1;
    }
    s->x = CLAMP(s->x, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
    s->y = CLAMP(s->y, INPUT_EVENT_ABS_MIN, INPUT_EVENT_ABS_MAX);
    s->buttons &= VMMOUSE_LEFT_BUTTON | VMMOUSE_RIGHT_BUTTON |
                  VMMOUSE_MIDDLE_BUTTON;
    s->dx = s->dy = 0;
    s->pending = false;
    vmmouse_remove_handler(s);
    vmmouse_update_handler(s, s->absolute);
    return 0;
}

static const VMStateDescription vmstate_vmmouse = {
    .name = "vmmouse",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vmmouse_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(queue, VmmouseState, VMMOUSE_QUEUE_SIZE),
        VMSTATE_UINT16(nb_queue, VmmouseState),
        VMSTATE_UINT16(status, VmmouseState),
        VMSTATE_UINT8(absolute, VmmouseState),
        VMSTATE_UINT32(buttons, VmmouseState),
        VMSTATE_INT32(x, VmmouseState),
        VMSTATE_INT32(y, VmmouseState),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType vmmouse_type = {
    .name = "vmmouse",
    .parent = TYPE_ISA_DEVICE,
    .desc = "VMware absolute pointer (vmport commands 39-41)",
    .instance_size = sizeof(VmmouseState),
    .user_creatable = false,    /* the machine makes it, as QEMU's */
    .category = DEVICE_CATEGORY_INPUT,
    .realize = vmmouse_realize,
    .unrealize = vmmouse_unrealize,
    .reset = vmmouse_reset,
    .vmsd = &vmstate_vmmouse,
};

static void vmmouse_register(void)
{
    device_type_register(&vmmouse_type);
}
type_init(vmmouse_register)
