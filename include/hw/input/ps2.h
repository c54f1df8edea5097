/*
 * PS/2 keyboard and mouse (hw/input/ps2.c): the devices behind an i8042
 * controller.  They are plain state embedded in the controller, not
 * device types of their own; the controller feeds them host-to-device
 * bytes and takes their output bytes.
 *
 * Key and mouse injection (UI front ends, QMP send-key / input-send-event):
 *   - keys are Linux input keycodes (<linux/input-event-codes.h>: KEY_A,
 *     KEY_LEFTCTRL, KEY_KP1, ...); the keyboard turns them into the scan
 *     code set the guest selected (set 2 by default, E0-prefixed extended
 *     keys, F0 break prefix), and the controller may translate to set 1;
 *   - mouse motion is relative, screen convention (dx > 0 right,
 *     dy > 0 down), wheel dz > 0 = away from the user (Linux REL_WHEEL);
 *     buttons are a PS2_MOUSE_BUTTON_* mask.
 * ps2_kbd_get_default() / ps2_mouse_get_default() name the machine's
 * keyboard and mouse (the last one set up), for callers without a device.
 */
#ifndef HW_INPUT_PS2_H
#define HW_INPUT_PS2_H
#include "qemu/osdep.h"
#include "migration/vmstate.h"

#define PS2_BUFFER_SIZE     256     /* ring: command replies always fit */
#define PS2_KBD_EVENT_LIMIT 16      /* a keyboard's 16-byte buffer */
#define PS2_MOUSE_EVENT_LIMIT 16    /* at most 4 packets waiting */

#define PS2_MOUSE_BUTTON_LEFT   0x01
#define PS2_MOUSE_BUTTON_RIGHT  0x02
#define PS2_MOUSE_BUTTON_MIDDLE 0x04
#define PS2_MOUSE_BUTTON_SIDE   0x08    /* 4th button (id 4 mice) */
#define PS2_MOUSE_BUTTON_EXTRA  0x10    /* 5th button (id 4 mice) */

typedef struct PS2Queue {
    uint8_t data[PS2_BUFFER_SIZE];
    uint32_t rptr;
    uint32_t count;
} PS2Queue;

/* Told when the device has new output; the controller then takes it. */
typedef void PS2NotifyFn(void *opaque);

typedef struct PS2KbdState {
    PS2Queue queue;
    uint8_t pending_cmd;    /* command waiting for its parameter, or 0 */
    uint8_t scancode_set;   /* 1 or 2 */
    uint8_t leds;
    uint8_t typematic;
    bool scanning;          /* F4/F5 */
    uint8_t last_byte;      /* for FE (resend) */
    uint32_t modifiers;     /* held shift/ctrl/alt keys (PrtSc, Pause) */

    PS2NotifyFn *notify;
    void *opaque;
} PS2KbdState;

typedef struct PS2MouseState {
    PS2Queue queue;
    uint8_t pending_cmd;
    uint8_t mode;           /* PS2_MOUSE_MODE_* bits (status byte 1) */
    uint8_t resolution;     /* 0-3: 1, 2, 4, 8 counts/mm */
    uint8_t sample_rate;
    uint8_t id;             /* 0 standard, 3 IntelliMouse, 4 Explorer */
    uint8_t rate_history[3];
    bool wrap;              /* echo mode (EE) */
    uint8_t buttons;
    int32_t dx, dy, dz;     /* movement not yet reported (PS/2 axes) */
    uint8_t last_byte;

    PS2NotifyFn *notify;
    void *opaque;
} PS2MouseState;

/* Wire @notify and make this the default keyboard / mouse. */
void ps2_kbd_init(PS2KbdState *s, PS2NotifyFn *notify, void *opaque);
void ps2_mouse_init(PS2MouseState *s, PS2NotifyFn *notify, void *opaque);
/* Forget @s as the default (device going away). */
void ps2_kbd_fini(PS2KbdState *s);
void ps2_mouse_fini(PS2MouseState *s);
/* Power-on state: defaults, empty output queue. */
void ps2_kbd_reset(PS2KbdState *s);
void ps2_mouse_reset(PS2MouseState *s);

/* A byte from the host (the controller's port 0x60 / D4 writes). */
void ps2_kbd_write(PS2KbdState *s, uint8_t val);
void ps2_mouse_write(PS2MouseState *s, uint8_t val);

/* Output queues, read by the controller. */
static inline bool ps2_queue_empty(const PS2Queue *q)
{
    return q->count == 0;
}
uint8_t ps2_queue_pop(PS2Queue *q);
/* Report movement left over from earlier (after the host read a byte). */
void ps2_mouse_flush(PS2MouseState *s);

/* Injection. */
void ps2_keyboard_event(PS2KbdState *s, unsigned keycode, bool down);
void ps2_mouse_event(PS2MouseState *s, int dx, int dy, int dz,
                     unsigned buttons);
/* One count of motion, no button change (the vmmouse's wake-up). */
void ps2_mouse_fake_event(PS2MouseState *s);
PS2KbdState *ps2_kbd_get_default(void);
PS2MouseState *ps2_mouse_get_default(void);

/* LED state the guest set (bit 0 Scroll, 1 Num, 2 Caps Lock). */
static inline uint8_t ps2_kbd_leds(const PS2KbdState *s)
{
    return s->leds;
}

/*
 * The i8042's scan code set 2 to set 1 translation of one byte (break
 * prefixes are the caller's business: F0 xx becomes xlate(xx) | 0x80).
 */
uint8_t ps2_translate_set2(uint8_t code);

extern const VMStateDescription vmstate_ps2_kbd;
extern const VMStateDescription vmstate_ps2_mouse;

#endif
