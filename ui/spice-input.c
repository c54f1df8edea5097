/*
 * SPICE inputs channel: keyboard, mouse and tablet interfaces of
 * libspice-server, into the console layer's input routing.
 *
 * Keyboard: the client sends PC scancode set 1 bytes (0xe0 prefixes,
 * the 0xe1 Pause sequence); each key becomes a QKeyCode event, so the
 * guest's keyboard (PS/2 set 2 or set 1 through the i8042's translation,
 * virtio-keyboard) gets what it expects whatever the client's layout.
 * The keyboard LEDs the guest sets go back to the client.
 *
 * Pointer: the mouse interface gives relative motion (server mouse mode);
 * the tablet interface, offered only while the guest's current pointer
 * takes absolute positions, gives positions in the client's window
 * (client mouse mode without an agent).  With an agent (vdagent over
 * virtio-serial, agent-mouse=on) libspice-server sends positions to the
 * agent itself.  Button states use libspice-server's local order (left 1,
 * right 2, middle 4, wheel up 0x10, wheel down 0x20, side 0x40, extra
 * 0x80).
 */
#define UI_SPICE_INTERNAL
#include "qemu/osdep.h"
#include "ui/spice.h"
#include "ui/input.h"

/* ---- keyboard ------------------------------------------------------------- */

typedef struct SpiceKbd {
    SpiceKbdInstance sin;
    bool emul0;             /* 0xe0 seen */
    int pauseseq;           /* position in e1 1d 45 (e1 9d c5) */
    uint8_t leds;
} SpiceKbd;

static SpiceKbd kbd;

static void kbd_push_key(SpiceKbdInstance *sin, uint8_t frag)
{
    SpiceKbd *k = container_of(sin, SpiceKbd, sin);
    bool up = frag & 0x80;
    unsigned code = frag & 0x7f;
    QKeyCode q;

    if (frag == 0xe0) {
        k->emul0 = true;
        return;
    }
    if (frag == 0xe1) {
        k->pauseseq = 1;
        return;
    }
    if (k->pauseseq == 1) {
        k->pauseseq = code == 0x1d ? 2 : 0;
        return;
    }
    if (k->pauseseq == 2) {
        k->pauseseq = 0;
        if (code == 0x45) {
            qemu_input_event_send_key_qcode(NULL, Q_KEY_CODE_PAUSE, !up);
        }
        return;
    }
    if (k->emul0) {
        code |= 0x80;
        k->emul0 = false;
    }
    q = qemu_input_number_to_qcode(code);
    if (q != Q_KEY_CODE_UNMAPPED) {
        qemu_input_event_send_key_qcode(NULL, q, !up);
    }
}

static uint8_t kbd_get_leds(SpiceKbdInstance *sin)
{
    return container_of(sin, SpiceKbd, sin)->leds;
}

static const SpiceKbdInterface kbd_interface = {
    .base.type = SPICE_INTERFACE_KEYBOARD,
    .base.description = "kvmpc keyboard",
    .base.major_version = SPICE_INTERFACE_KEYBOARD_MAJOR,
    .base.minor_version = SPICE_INTERFACE_KEYBOARD_MINOR,
    .push_scan_freg = kbd_push_key,
    .get_leds = kbd_get_leds,
};

/* The PS/2 LED bits (scroll 1, num 2, caps 4) are SPICE's modifier flags. */
static void kbd_leds_changed(void *opaque, unsigned leds)
{
    kbd.leds = leds & 7;
    spice_server_kbd_leds(&kbd.sin, kbd.leds);
}

/* ---- pointer --------------------------------------------------------------- */

typedef struct SpicePointer {
    SpiceMouseInstance mouse;
    SpiceTabletInstance tablet;
    bool tablet_added;
    int width, height;      /* the client's logical size (tablet) */
    uint32_t buttons;       /* InputButton bits last sent */
} SpicePointer;

static SpicePointer pointer;

static uint32_t spice_buttons(int wheel, uint32_t state)
{
    uint32_t b = 0;

    if (state & 0x01) {
        b |= 1u << INPUT_BUTTON_LEFT;
    }
    if (state & 0x02) {
        b |= 1u << INPUT_BUTTON_RIGHT;
    }
    if (state & 0x04) {
        b |= 1u << INPUT_BUTTON_MIDDLE;
    }
    if ((state & 0x10) || wheel < 0) {
        b |= 1u << INPUT_BUTTON_WHEEL_UP;
    }
    if ((state & 0x20) || wheel > 0) {
        b |= 1u << INPUT_BUTTON_WHEEL_DOWN;
    }
    if (state & 0x40) {
        b |= 1u << INPUT_BUTTON_SIDE;
    }
    if (state & 0x80) {
        b |= 1u << INPUT_BUTTON_EXTRA;
    }
    return b;
}

static void update_buttons(SpicePointer *p, int wheel, uint32_t state)
{
    uint32_t b = spice_buttons(wheel, state);

    qemu_input_update_buttons(NULL, p->buttons, b);
    p->buttons = b;
}

static void mouse_motion(SpiceMouseInstance *sin, int dx, int dy, int dz,
                         uint32_t state)
{
    SpicePointer *p = container_of(sin, SpicePointer, mouse);

    update_buttons(p, dz, state);
    qemu_input_queue_rel(NULL, INPUT_AXIS_X, dx);
    qemu_input_queue_rel(NULL, INPUT_AXIS_Y, dy);
    qemu_input_event_sync();
}

static void mouse_buttons(SpiceMouseInstance *sin, uint32_t state)
{
    SpicePointer *p = container_of(sin, SpicePointer, mouse);

    update_buttons(p, 0, state);
    qemu_input_event_sync();
}

static const SpiceMouseInterface mouse_interface = {
    .base.type = SPICE_INTERFACE_MOUSE,
    .base.description = "kvmpc mouse",
    .base.major_version = SPICE_INTERFACE_MOUSE_MAJOR,
    .base.minor_version = SPICE_INTERFACE_MOUSE_MINOR,
    .motion = mouse_motion,
    .buttons = mouse_buttons,
};

static void tablet_set_logical_size(SpiceTabletInstance *sin, int w, int h)
{
    SpicePointer *p = container_of(sin, SpicePointer, tablet);

    /* the position's range; keep it sane whatever the client says */
    p->width = w > 1 && w <= 65536 ? w : 0;
    p->height = h > 1 && h <= 65536 ? h : 0;
}

static void tablet_position(SpiceTabletInstance *sin, int x, int y,
                            uint32_t state)
{
    SpicePointer *p = container_of(sin, SpicePointer, tablet);

    if (!p->width || !p->height) {
        return;
    }
    update_buttons(p, 0, state);
    qemu_input_queue_abs(NULL, INPUT_AXIS_X, CLAMP(x, 0, p->width - 1), 0,
                         p->width - 1);
    qemu_input_queue_abs(NULL, INPUT_AXIS_Y, CLAMP(y, 0, p->height - 1), 0,
                         p->height - 1);
    qemu_input_event_sync();
}

static void tablet_wheel(SpiceTabletInstance *sin, int wheel, uint32_t state)
{
    SpicePointer *p = container_of(sin, SpicePointer, tablet);

    update_buttons(p, wheel, state);
    qemu_input_event_sync();
}

static void tablet_buttons(SpiceTabletInstance *sin, uint32_t state)
{
    SpicePointer *p = container_of(sin, SpicePointer, tablet);

    update_buttons(p, 0, state);
    qemu_input_event_sync();
}

static const SpiceTabletInterface tablet_interface = {
    .base.type = SPICE_INTERFACE_TABLET,
    .base.description = "kvmpc tablet",
    .base.major_version = SPICE_INTERFACE_TABLET_MAJOR,
    .base.minor_version = SPICE_INTERFACE_TABLET_MINOR,
    .set_logical_size = tablet_set_logical_size,
    .position = tablet_position,
    .wheel = tablet_wheel,
    .buttons = tablet_buttons,
};

/*
 * Offer the tablet only while the guest has an absolute pointer, so that
 * libspice-server picks client mouse mode exactly then (or with an agent).
 */
void qemu_spice_input_check_mouse_mode(void)
{
    bool abs = qemu_input_is_absolute();

    if (abs == pointer.tablet_added || !qemu_spice_server()) {
        return;
    }
    if (abs) {
        pointer.tablet.base.sif = &tablet_interface.base;
        pointer.tablet_added = qemu_spice_add_interface(&pointer.tablet.base,
                                                        NULL);
    } else {
        spice_server_remove_interface(&pointer.tablet.base);
        pointer.tablet_added = false;
    }
}

void qemu_spice_input_init(void)
{
    kbd.sin.base.sif = &kbd_interface.base;
    qemu_spice_add_interface(&kbd.sin.base, NULL);
    qemu_input_add_led_handler(kbd_leds_changed, &kbd);
    kbd.leds = qemu_input_get_leds() & 7;

    pointer.mouse.base.sif = &mouse_interface.base;
    qemu_spice_add_interface(&pointer.mouse.base, NULL);
    qemu_spice_input_check_mouse_mode();
}
