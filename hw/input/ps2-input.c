/*
 * The PS/2 keyboard and mouse as input handlers of the console layer:
 * key events become Linux keycodes for ps2_keyboard_event() (which makes
 * scan code set 2 or 1 of them), button and relative motion events are
 * collected into one ps2_mouse_event() per report.  The names are QEMU's,
 * as query-mice / info mice show them.
 */
#include "qemu/osdep.h"
#include "hw/input/ps2-input.h"
#include "ui/input.h"

typedef struct PS2MouseInput {
    PS2MouseState *mouse;
    int dx, dy, dz;
    unsigned buttons;
    bool pending;
} PS2MouseInput;

typedef struct PS2Input {
    PS2KbdState *kbd;
    PS2MouseInput m;
    QemuInputHandlerState *kbd_handler;
    QemuInputHandlerState *mouse_handler;
} PS2Input;

static GHashTable *connections;     /* PS2KbdState * -> PS2Input * */

static void ps2_input_key(void *opaque, QemuConsole *src, InputEvent *evt)
{
    PS2Input *in = opaque;
    InputKeyEvent *key = evt->u.key.data;
    unsigned code = qemu_input_qcode_to_linux(
        qemu_input_key_value_to_qcode(key->key));

    if (code) {
        ps2_keyboard_event(in->kbd, code, key->down);
    }
}

static unsigned ps2_button_bit(InputButton b)
{
    switch (b) {
    case INPUT_BUTTON_LEFT:
        return PS2_MOUSE_BUTTON_LEFT;
    case INPUT_BUTTON_RIGHT:
        return PS2_MOUSE_BUTTON_RIGHT;
    case INPUT_BUTTON_MIDDLE:
        return PS2_MOUSE_BUTTON_MIDDLE;
    case INPUT_BUTTON_SIDE:
        return PS2_MOUSE_BUTTON_SIDE;
    case INPUT_BUTTON_EXTRA:
        return PS2_MOUSE_BUTTON_EXTRA;
    default:
        return 0;
    }
}

static void ps2_input_mouse(void *opaque, QemuConsole *src, InputEvent *evt)
{
    PS2MouseInput *m = &((PS2Input *)opaque)->m;

    switch (evt->type) {
    case INPUT_EVENT_KIND_BTN: {
        InputBtnEvent *b = evt->u.btn.data;
        unsigned bit = ps2_button_bit(b->button);

        if (b->button == INPUT_BUTTON_WHEEL_UP && b->down) {
            m->dz++;
        } else if (b->button == INPUT_BUTTON_WHEEL_DOWN && b->down) {
            m->dz--;
        } else if (bit) {
            m->buttons = b->down ? m->buttons | bit : m->buttons & ~bit;
        }
        break;
    }
    case INPUT_EVENT_KIND_REL: {
        InputMoveEvent *mv = evt->u.rel.data;
        /* clamp: a huge value must not overflow the sum */
        int64_t v = CLAMP(mv->value, -0x10000, 0x10000);

        if (mv->axis == INPUT_AXIS_X) {
            m->dx = CLAMP(m->dx + v, -0x100000, 0x100000);
        } else {
            m->dy = CLAMP(m->dy + v, -0x100000, 0x100000);
        }
        break;
    }
    default:
        return;
    }
    m->pending = true;
}

static void ps2_input_mouse_sync(void *opaque)
{
    PS2MouseInput *m = &((PS2Input *)opaque)->m;

    if (!m->pending) {
        return;
    }
    ps2_mouse_event(m->mouse, m->dx, m->dy, m->dz, m->buttons);
    m->dx = m->dy = m->dz = 0;
    m->pending = false;
}

static const QemuInputHandler ps2_kbd_handler = {
    .name = "QEMU PS/2 Keyboard",
    .mask = INPUT_EVENT_MASK_KEY,
    .event = ps2_input_key,
};

static const QemuInputHandler ps2_mouse_handler = {
    .name = "QEMU PS/2 Mouse",
    .mask = INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_REL,
    .event = ps2_input_mouse,
    .sync = ps2_input_mouse_sync,
};

void ps2_input_connect(PS2KbdState *kbd, PS2MouseState *mouse)
{
    PS2Input *in = g_new0(PS2Input, 1);

    if (!connections) {
        connections = g_hash_table_new(NULL, NULL);
    }
    in->kbd = kbd;
    in->m.mouse = mouse;
    in->kbd_handler = qemu_input_handler_register(in, &ps2_kbd_handler);
    in->mouse_handler = qemu_input_handler_register(in, &ps2_mouse_handler);
    g_hash_table_insert(connections, kbd, in);
}

void ps2_input_disconnect(PS2KbdState *kbd, PS2MouseState *mouse)
{
    PS2Input *in = connections ? g_hash_table_lookup(connections, kbd) : NULL;

    if (!in) {
        return;
    }
    g_hash_table_remove(connections, kbd);
    qemu_input_handler_unregister(in->kbd_handler);
    qemu_input_handler_unregister(in->mouse_handler);
    g_free(in);
}
