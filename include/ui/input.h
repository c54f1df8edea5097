/*
 * Input routing: keyboard and pointer events from front ends (VNC) and the
 * monitor (send-key, input-send-event, mouse_move...) to the guest's input
 * devices (the PS/2 keyboard and mouse today; virtio-input and a USB
 * tablet later register the same way).
 *
 * Events use QMP's InputEvent (qapi/ui.json): keys as QKeyCode or numbers
 * (PC scancode set 1, extended keys + 0x80), buttons, relative motion and
 * absolute positions scaled to 0..INPUT_EVENT_ABS_MAX.  Each kind goes to
 * the most recently activated handler that takes it; pointer events are
 * collected until qemu_input_event_sync(), which ends one report.
 *
 * All functions run on the main thread with the big lock held.
 */
#ifndef UI_INPUT_H
#define UI_INPUT_H
#include "qemu/osdep.h"
#include "qapi/qapi-types.h"
#include "ui/console.h"

#define INPUT_EVENT_MASK_KEY    (1u << INPUT_EVENT_KIND_KEY)
#define INPUT_EVENT_MASK_BTN    (1u << INPUT_EVENT_KIND_BTN)
#define INPUT_EVENT_MASK_REL    (1u << INPUT_EVENT_KIND_REL)
#define INPUT_EVENT_MASK_ABS    (1u << INPUT_EVENT_KIND_ABS)
#define INPUT_EVENT_ABS_MIN     0x0000
#define INPUT_EVENT_ABS_MAX     0x7fff

typedef struct QemuInputHandler {
    const char *name;           /* query-mice / info mice */
    uint32_t mask;              /* INPUT_EVENT_MASK_* */
    void (*event)(void *opaque, QemuConsole *src, InputEvent *evt);
    void (*sync)(void *opaque); /* end of one report (may be NULL) */
} QemuInputHandler;

typedef struct QemuInputHandlerState QemuInputHandlerState;

/* Register and activate (the newest handler of a kind gets its events). */
QemuInputHandlerState *qemu_input_handler_register(void *opaque,
                                                   const QemuInputHandler *h);
void qemu_input_handler_activate(QemuInputHandlerState *s);
/* Behind every activated handler (a device whose driver is not ready). */
void qemu_input_handler_deactivate(QemuInputHandlerState *s);
void qemu_input_handler_unregister(QemuInputHandlerState *s);

void qemu_input_event_send(QemuConsole *src, InputEvent *evt);
void qemu_input_event_sync(void);
void qemu_input_event_send_key_qcode(QemuConsole *src, QKeyCode q, bool down);
void qemu_input_queue_btn(QemuConsole *src, InputButton btn, bool down);
void qemu_input_queue_rel(QemuConsole *src, InputAxis axis, int value);
/* @value in [@min, @max] is scaled to 0..INPUT_EVENT_ABS_MAX. */
void qemu_input_queue_abs(QemuConsole *src, InputAxis axis, int value,
                          int min, int max);
/* Buttons whose bit changed between @old and @new (bit i = button i). */
void qemu_input_update_buttons(QemuConsole *src, uint32_t old, uint32_t new);
/* Whether the current pointer handler takes absolute positions. */
bool qemu_input_is_absolute(void);

/*
 * send-key: press @keys in order now, release them in reverse order
 * @hold_ms later (on the virtual clock, as QEMU).
 */
bool qemu_input_send_keys(QemuConsole *src, KeyValueList *keys,
                          int64_t hold_ms, GError **errp);

/*
 * Keyboard LEDs as the guest's keyboard last set them (bit 0 scroll lock,
 * 1 num lock, 2 caps lock: the PS/2 order); front ends that show them
 * (SPICE) register a handler, called on every change.
 */
typedef void QemuLedHandler(void *opaque, unsigned leds);
void qemu_input_add_led_handler(QemuLedHandler *fn, void *opaque);
void qemu_input_set_leds(unsigned leds);
unsigned qemu_input_get_leds(void);

/* query-mice: the pointer handlers, newest first. */
MouseInfoList *qemu_input_query_mice(void);

/* ---- key tables (ui/input-keymap.c) ---------------------------------- */

/* Linux input keycode (KEY_*) of @q, 0 when none. */
unsigned qemu_input_qcode_to_linux(QKeyCode q);
/* Set 1 scancode of @q (extended keys + 0x80), 0 when none. */
unsigned qemu_input_qcode_to_number(QKeyCode q);
/* The qcode of set 1 number @num, Q_KEY_CODE_UNMAPPED when none. */
QKeyCode qemu_input_number_to_qcode(unsigned num);
/* A KeyValue as a qcode (numbers through the table above). */
QKeyCode qemu_input_key_value_to_qcode(const KeyValue *key);
/* An X11 keysym (RFB KeyEvent) as a qcode on a US layout, or UNMAPPED. */
/*
 * An X11 keysym (RFB KeyEvent) as a qcode: through the -k layout's table
 * (ui/keymaps-data.h, generated from X.Org's xkb data), else on a US
 * layout; UNMAPPED when no key types it.
 */
QKeyCode qemu_input_keysym_to_qcode(uint32_t keysym);
QKeyCode qemu_input_keysym_to_qcode_us(uint32_t keysym);
/* -k LANG (QEMU's names: en-us, de, fr, ...); false if unknown. */
bool qemu_input_set_keymap(const char *name, GError **errp);
const char *qemu_input_get_keymap(void);
/* The qcode of Linux keycode @linux_code, UNMAPPED when none. */
QKeyCode qemu_input_linux_to_qcode(unsigned linux_code);
/*
 * The keysym key @q types at shift level @level (0 plain, 1 shift, 2
 * AltGr) in the current layout (the plain one if the level has none);
 * 0 when none.  Text consoles use it for raw key codes.
 */
uint32_t qemu_input_qcode_to_keysym(QKeyCode q, unsigned level);

#endif
