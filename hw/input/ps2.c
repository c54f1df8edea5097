/*
 * PS/2 keyboard (MF2, scan code sets 1 and 2) and PS/2 mouse (standard,
 * IntelliMouse and IntelliMouse Explorer), the devices behind the i8042.
 *
 * Specs:
 *   - IBM "Keyboard and Auxiliary Device Controller" / "Keyboard/Auxiliary
 *     Device Interface" in the IBM PS/2 Hardware Interface Technical
 *     Reference: keyboard commands (ED set LEDs, EE echo, F0 select scan
 *     code set, F2 read ID = AB 83, F3 typematic, F4 enable, F5 default
 *     disable, F6 set default, FE resend, FF reset -> FA AA) and mouse
 *     commands (E6/E7 scaling, E8 resolution, E9 status request -> 3
 *     bytes, EA stream, EB read data, EC/EE wrap mode, F0 remote, F2 read
 *     ID, F3 sample rate, F4/F5 enable/disable, F6 defaults, FF reset ->
 *     FA AA 00), the 3-byte movement packet and 2:1 scaling;
 *   - Microsoft "Keyboard Scan Code Specification" (set 2 make/break
 *     codes, E0 extended keys, Print Screen and Pause sequences, the
 *     8042's set 2 -> set 1 translation);
 *   - Microsoft IntelliMouse: sample rates 200, 100, 80 switch the mouse
 *     to id 3 (4-byte packets with a wheel byte), 200, 200, 80 to id 4
 *     (wheel nibble plus buttons 4 and 5).
 *
 * Keys come in as Linux input keycodes (see ps2.h).  Scan code set 3 is
 * not offered: F0 03 is acknowledged and the keyboard stays in its set,
 * which reads back through F0 00, the way Linux's atkbd probes it.  There
 * is no typematic repeat of our own: a UI repeats by sending key downs.
 * "Fake shift" prefixes real keyboards add around E0 keys are not sent
 * (QEMU sends none either).  A key event that would overfill the 16-byte
 * keyboard buffer is dropped; mouse movement that does not fit is kept
 * and reported once the host has read the queued packets.
 */
#include "qemu/osdep.h"
#include "hw/input/ps2.h"
#include "ui/input.h"
#include <linux/input-event-codes.h>

/* Keyboard commands and replies. */
#define KBD_CMD_SET_LEDS        0xed
#define KBD_CMD_ECHO            0xee
#define KBD_CMD_SCANCODE        0xf0
#define KBD_CMD_GET_ID          0xf2
#define KBD_CMD_SET_RATE        0xf3
#define KBD_CMD_ENABLE          0xf4
#define KBD_CMD_DEFAULT_DISABLE 0xf5
#define KBD_CMD_SET_DEFAULT     0xf6
#define KBD_CMD_SET3_FIRST      0xf7    /* F7-FD: set 3 key types */
#define KBD_CMD_SET3_LAST       0xfd
#define KBD_CMD_RESEND          0xfe
#define KBD_CMD_RESET           0xff
#define KBD_CMD_FIRST           KBD_CMD_SET_LEDS

#define PS2_REPLY_ACK           0xfa
#define PS2_REPLY_RESEND        0xfe
#define PS2_REPLY_BAT_OK        0xaa
#define KBD_ID_MF2_1            0xab
#define KBD_ID_MF2_2            0x83
#define KBD_DEFAULT_TYPEMATIC   0x2b    /* 10.9 cps, 500 ms */
#define KBD_LED_MASK            0x07
#define KBD_TYPEMATIC_MASK      0x7f

/* Scan code set 2 prefixes. */
#define SC_EXTENDED             0xe0
#define SC_PAUSE_PREFIX         0xe1
#define SC_BREAK                0xf0
#define SC_SET1_BREAK_BIT       0x80
#define SC_E0                   0x100   /* table flag: E0-prefixed key */

/* Mouse commands. */
#define MOUSE_CMD_SET_SCALE11   0xe6
#define MOUSE_CMD_SET_SCALE21   0xe7
#define MOUSE_CMD_SET_RES       0xe8
#define MOUSE_CMD_GET_STATUS    0xe9
#define MOUSE_CMD_SET_STREAM    0xea
#define MOUSE_CMD_READ_DATA     0xeb
#define MOUSE_CMD_RESET_WRAP    0xec
#define MOUSE_CMD_SET_WRAP      0xee
#define MOUSE_CMD_SET_REMOTE    0xf0
#define MOUSE_CMD_GET_ID        0xf2
#define MOUSE_CMD_SET_RATE      0xf3
#define MOUSE_CMD_ENABLE        0xf4
#define MOUSE_CMD_DISABLE       0xf5
#define MOUSE_CMD_SET_DEFAULTS  0xf6
#define MOUSE_CMD_RESEND        0xfe
#define MOUSE_CMD_RESET         0xff

/* Status byte 1 of E9, kept in PS2MouseState.mode. */
#define MOUSE_MODE_REMOTE       0x40
#define MOUSE_MODE_ENABLED      0x20
#define MOUSE_MODE_SCALE21      0x10
#define MOUSE_STATUS_LEFT       0x04
#define MOUSE_STATUS_MIDDLE     0x02
#define MOUSE_STATUS_RIGHT      0x01

/* Packet byte 0. */
#define MOUSE_PKT_ALWAYS1       0x08
#define MOUSE_PKT_X_SIGN        0x10
#define MOUSE_PKT_Y_SIGN        0x20
#define MOUSE_PKT_BUTTONS       0x07    /* left, right, middle */
#define MOUSE_PKT_MAX           255     /* 9-bit two's complement */
#define MOUSE_ACCUM_MAX         65536
#define MOUSE_ID_STANDARD       0
#define MOUSE_ID_WHEEL          3
#define MOUSE_ID_5BUTTON        4
#define MOUSE_DEFAULT_RATE      100
#define MOUSE_DEFAULT_RES       2       /* 4 counts/mm */
#define MOUSE_RES_MASK          0x03

/* Modifier bits for the keys whose codes depend on them. */
#define MOD_SHIFT_L             0x01
#define MOD_SHIFT_R             0x02
#define MOD_CTRL_L              0x04
#define MOD_CTRL_R              0x08
#define MOD_ALT_L               0x10
#define MOD_ALT_R               0x20
#define MOD_SHIFT               (MOD_SHIFT_L | MOD_SHIFT_R)
#define MOD_CTRL                (MOD_CTRL_L | MOD_CTRL_R)
#define MOD_ALT                 (MOD_ALT_L | MOD_ALT_R)

#define MAX_KEY_SEQ             8

static PS2KbdState *default_kbd;
static PS2MouseState *default_mouse;

/*
 * Scan code set 2 make codes by Linux keycode (SC_E0: extended key).
 * KEY_SYSRQ (Print Screen) and KEY_PAUSE have sequences of their own.
 */
static const uint16_t set2_codes[] = {
    [KEY_ESC] = 0x76,
    [KEY_1] = 0x16, [KEY_2] = 0x1e, [KEY_3] = 0x26, [KEY_4] = 0x25,
    [KEY_5] = 0x2e, [KEY_6] = 0x36, [KEY_7] = 0x3d, [KEY_8] = 0x3e,
    [KEY_9] = 0x46, [KEY_0] = 0x45, [KEY_MINUS] = 0x4e, [KEY_EQUAL] = 0x55,
    [KEY_BACKSPACE] = 0x66, [KEY_TAB] = 0x0d,
    [KEY_Q] = 0x15, [KEY_W] = 0x1d, [KEY_E] = 0x24, [KEY_R] = 0x2d,
    [KEY_T] = 0x2c, [KEY_Y] = 0x35, [KEY_U] = 0x3c, [KEY_I] = 0x43,
    [KEY_O] = 0x44, [KEY_P] = 0x4d, [KEY_LEFTBRACE] = 0x54,
    [KEY_RIGHTBRACE] = 0x5b, [KEY_ENTER] = 0x5a, [KEY_LEFTCTRL] = 0x14,
    [KEY_A] = 0x1c, [KEY_S] = 0x1b, [KEY_D] = 0x23, [KEY_F] = 0x2b,
    [KEY_G] = 0x34, [KEY_H] = 0x33, [KEY_J] = 0x3b, [KEY_K] = 0x42,
    [KEY_L] = 0x4b, [KEY_SEMICOLON] = 0x4c, [KEY_APOSTROPHE] = 0x52,
    [KEY_GRAVE] = 0x0e, [KEY_LEFTSHIFT] = 0x12, [KEY_BACKSLASH] = 0x5d,
    [KEY_Z] = 0x1a, [KEY_X] = 0x22, [KEY_C] = 0x21, [KEY_V] = 0x2a,
    [KEY_B] = 0x32, [KEY_N] = 0x31, [KEY_M] = 0x3a, [KEY_COMMA] = 0x41,
    [KEY_DOT] = 0x49, [KEY_SLASH] = 0x4a, [KEY_RIGHTSHIFT] = 0x59,
    [KEY_KPASTERISK] = 0x7c, [KEY_LEFTALT] = 0x11, [KEY_SPACE] = 0x29,
    [KEY_CAPSLOCK] = 0x58,
    [KEY_F1] = 0x05, [KEY_F2] = 0x06, [KEY_F3] = 0x04, [KEY_F4] = 0x0c,
    [KEY_F5] = 0x03, [KEY_F6] = 0x0b, [KEY_F7] = 0x83, [KEY_F8] = 0x0a,
    [KEY_F9] = 0x01, [KEY_F10] = 0x09, [KEY_F11] = 0x78, [KEY_F12] = 0x07,
    [KEY_NUMLOCK] = 0x77, [KEY_SCROLLLOCK] = 0x7e,
    [KEY_KP7] = 0x6c, [KEY_KP8] = 0x75, [KEY_KP9] = 0x7d,
    [KEY_KPMINUS] = 0x7b, [KEY_KP4] = 0x6b, [KEY_KP5] = 0x73,
    [KEY_KP6] = 0x74, [KEY_KPPLUS] = 0x79, [KEY_KP1] = 0x69,
    [KEY_KP2] = 0x72, [KEY_KP3] = 0x7a, [KEY_KP0] = 0x70, [KEY_KPDOT] = 0x71,
    [KEY_102ND] = 0x61, [KEY_RO] = 0x51, [KEY_HENKAN] = 0x64,
    [KEY_KATAKANAHIRAGANA] = 0x13, [KEY_MUHENKAN] = 0x67,
    [KEY_YEN] = 0x6a, [KEY_KPCOMMA] = 0x6d,
    [KEY_F13] = 0x08, [KEY_F14] = 0x10, [KEY_F15] = 0x18, [KEY_F16] = 0x20,
    [KEY_F17] = 0x28, [KEY_F18] = 0x30, [KEY_F19] = 0x38, [KEY_F20] = 0x40,
    [KEY_F21] = 0x48, [KEY_F22] = 0x50, [KEY_F23] = 0x57, [KEY_F24] = 0x5f,
    [KEY_KPENTER] = SC_E0 | 0x5a, [KEY_RIGHTCTRL] = SC_E0 | 0x14,
    [KEY_KPSLASH] = SC_E0 | 0x4a, [KEY_RIGHTALT] = SC_E0 | 0x11,
    [KEY_HOME] = SC_E0 | 0x6c, [KEY_UP] = SC_E0 | 0x75,
    [KEY_PAGEUP] = SC_E0 | 0x7d, [KEY_LEFT] = SC_E0 | 0x6b,
    [KEY_RIGHT] = SC_E0 | 0x74, [KEY_END] = SC_E0 | 0x69,
    [KEY_DOWN] = SC_E0 | 0x72, [KEY_PAGEDOWN] = SC_E0 | 0x7a,
    [KEY_INSERT] = SC_E0 | 0x70, [KEY_DELETE] = SC_E0 | 0x71,
    [KEY_LEFTMETA] = SC_E0 | 0x1f, [KEY_RIGHTMETA] = SC_E0 | 0x27,
    [KEY_COMPOSE] = SC_E0 | 0x2f,
    [KEY_POWER] = SC_E0 | 0x37, [KEY_SLEEP] = SC_E0 | 0x3f,
    [KEY_WAKEUP] = SC_E0 | 0x5e,
    [KEY_MUTE] = SC_E0 | 0x23, [KEY_VOLUMEDOWN] = SC_E0 | 0x21,
    [KEY_VOLUMEUP] = SC_E0 | 0x32, [KEY_NEXTSONG] = SC_E0 | 0x4d,
    [KEY_PREVIOUSSONG] = SC_E0 | 0x15, [KEY_PLAYPAUSE] = SC_E0 | 0x34,
    [KEY_STOPCD] = SC_E0 | 0x3b, [KEY_MEDIA] = SC_E0 | 0x50,
    [KEY_MAIL] = SC_E0 | 0x48, [KEY_CALC] = SC_E0 | 0x2b,
    [KEY_COMPUTER] = SC_E0 | 0x40, [KEY_SEARCH] = SC_E0 | 0x10,
    [KEY_HOMEPAGE] = SC_E0 | 0x3a, [KEY_BACK] = SC_E0 | 0x38,
    [KEY_FORWARD] = SC_E0 | 0x30, [KEY_STOP] = SC_E0 | 0x28,
    [KEY_REFRESH] = SC_E0 | 0x20, [KEY_BOOKMARKS] = SC_E0 | 0x18,
};

/*
 * The 8042's translation of set 2 codes to set 1 (Microsoft scan code
 * spec, IBM 8042 translation): each key's set 2 code maps to its set 1
 * code; from 0x80 up codes pass unchanged except 0x83 (F7) and 0x84
 * (Alt+SysRq).
 */
static const uint8_t set2_to_set1[0x80] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58,   /* 0x00 */
    0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a,   /* 0x10 */
    0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c,   /* 0x20 */
    0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e,   /* 0x30 */
    0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60,   /* 0x40 */
    0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e,   /* 0x50 */
    0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b,   /* 0x60 */
    0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,   /* 0x70 */
    0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};
#define SET2_F7         0x83
#define SET1_F7         0x41
#define SET2_ALT_SYSRQ  0x84
#define SET1_ALT_SYSRQ  0x54

uint8_t ps2_translate_set2(uint8_t code)
{
    if (code < ARRAY_SIZE(set2_to_set1)) {
        return set2_to_set1[code];
    }
    if (code == SET2_F7) {
        return SET1_F7;
    }
    return code == SET2_ALT_SYSRQ ? SET1_ALT_SYSRQ : code;
}

/* ---- output queue ---- */

static void queue_reset(PS2Queue *q)
{
    q->rptr = 0;
    q->count = 0;
}

static bool queue_has_room(const PS2Queue *q, unsigned n, unsigned limit)
{
    return q->count + n <= limit;
}

static void queue_push(PS2Queue *q, uint8_t b)
{
    if (q->count < PS2_BUFFER_SIZE) {
        q->data[(q->rptr + q->count) % PS2_BUFFER_SIZE] = b;
        q->count++;
    }
}

uint8_t ps2_queue_pop(PS2Queue *q)
{
    uint8_t b;

    if (!q->count) {
        return 0;
    }
    b = q->data[q->rptr];
    q->rptr = (q->rptr + 1) % PS2_BUFFER_SIZE;
    q->count--;
    return b;
}

/* ---- keyboard ---- */

static void kbd_notify(PS2KbdState *s)
{
    if (s->notify) {
        s->notify(s->opaque);
    }
}

static void kbd_reply(PS2KbdState *s, const uint8_t *bytes, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        queue_push(&s->queue, bytes[i]);
        s->last_byte = bytes[i];
    }
    kbd_notify(s);
}

static void kbd_reply1(PS2KbdState *s, uint8_t b)
{
    kbd_reply(s, &b, 1);
}

static void kbd_set_defaults(PS2KbdState *s)
{
    s->scancode_set = 2;
    s->typematic = KBD_DEFAULT_TYPEMATIC;
    s->pending_cmd = 0;
}

void ps2_kbd_reset(PS2KbdState *s)
{
    queue_reset(&s->queue);
    kbd_set_defaults(s);
    s->leds = 0;
    qemu_input_set_leds(0);
    s->scanning = true;
    s->last_byte = 0;
    s->modifiers = 0;
}

static void kbd_param(PS2KbdState *s, uint8_t cmd, uint8_t val)
{
    switch (cmd) {
    case KBD_CMD_SET_LEDS:
        s->leds = val & KBD_LED_MASK;
        qemu_input_set_leds(s->leds);   /* front ends show them */
        break;
    case KBD_CMD_SET_RATE:
        s->typematic = val & KBD_TYPEMATIC_MASK;
        break;
    case KBD_CMD_SCANCODE:
        if (val > 3) {
            kbd_reply1(s, PS2_REPLY_RESEND);
            return;
        }
        if (val == 0) {
            uint8_t reply[] = { PS2_REPLY_ACK, s->scancode_set };
            kbd_reply(s, reply, sizeof(reply));
            return;
        }
        if (val != 3) {
            s->scancode_set = val;
        }
        break;
    }
    kbd_reply1(s, PS2_REPLY_ACK);
}

static void kbd_command(PS2KbdState *s, uint8_t cmd)
{
    static const uint8_t id_reply[] = {
        PS2_REPLY_ACK, KBD_ID_MF2_1, KBD_ID_MF2_2
    };
    static const uint8_t reset_reply[] = { PS2_REPLY_ACK, PS2_REPLY_BAT_OK };

    switch (cmd) {
    case KBD_CMD_SET_LEDS:
    case KBD_CMD_SET_RATE:
    case KBD_CMD_SCANCODE:
        s->pending_cmd = cmd;
        kbd_reply1(s, PS2_REPLY_ACK);
        return;
    case KBD_CMD_ECHO:
        kbd_reply1(s, KBD_CMD_ECHO);
        return;
    case KBD_CMD_GET_ID:
        kbd_reply(s, id_reply, sizeof(id_reply));
        return;
    case KBD_CMD_ENABLE:
        queue_reset(&s->queue);
        s->scanning = true;
        kbd_reply1(s, PS2_REPLY_ACK);
        return;
    case KBD_CMD_DEFAULT_DISABLE:
    case KBD_CMD_SET_DEFAULT:
        queue_reset(&s->queue);
        kbd_set_defaults(s);
        s->scanning = cmd == KBD_CMD_SET_DEFAULT;
        kbd_reply1(s, PS2_REPLY_ACK);
        return;
    case KBD_CMD_SET3_FIRST ... KBD_CMD_SET3_LAST:
        kbd_reply1(s, PS2_REPLY_ACK);
        return;
    case KBD_CMD_RESEND:
        kbd_reply1(s, s->last_byte);
        return;
    case KBD_CMD_RESET:
        ps2_kbd_reset(s);
        kbd_reply(s, reset_reply, sizeof(reset_reply));
        return;
    default:
        kbd_reply1(s, PS2_REPLY_RESEND);
        return;
    }
}

void ps2_kbd_write(PS2KbdState *s, uint8_t val)
{
    uint8_t cmd = s->pending_cmd;

    s->pending_cmd = 0;
    /* A command byte where a parameter was due starts a new command. */
    if (cmd && val < KBD_CMD_FIRST) {
        kbd_param(s, cmd, val);
    } else {
        kbd_command(s, val);
    }
}

static uint32_t modifier_bit(unsigned keycode)
{
    switch (keycode) {
    case KEY_LEFTSHIFT:  return MOD_SHIFT_L;
    case KEY_RIGHTSHIFT: return MOD_SHIFT_R;
    case KEY_LEFTCTRL:   return MOD_CTRL_L;
    case KEY_RIGHTCTRL:  return MOD_CTRL_R;
    case KEY_LEFTALT:    return MOD_ALT_L;
    case KEY_RIGHTALT:   return MOD_ALT_R;
    default:             return 0;
    }
}

static unsigned seq_append(uint8_t *seq, unsigned n, const uint8_t *add,
                           unsigned len)
{
    memcpy(seq + n, add, len);
    return n + len;
}

/* Print Screen: its code depends on the modifiers held. */
static unsigned seq_print_screen(const PS2KbdState *s, bool down,
                                 uint8_t *seq)
{
    static const uint8_t sysrq_make[] = { 0x84 };
    static const uint8_t sysrq_break[] = { SC_BREAK, 0x84 };
    static const uint8_t mod_make[] = { SC_EXTENDED, 0x7c };
    static const uint8_t mod_break[] = { SC_EXTENDED, SC_BREAK, 0x7c };
    static const uint8_t plain_make[] = {
        SC_EXTENDED, 0x12, SC_EXTENDED, 0x7c
    };
    static const uint8_t plain_break[] = {
        SC_EXTENDED, SC_BREAK, 0x7c, SC_EXTENDED, SC_BREAK, 0x12
    };

    if (s->modifiers & MOD_ALT) {
        return down ? seq_append(seq, 0, sysrq_make, sizeof(sysrq_make))
                    : seq_append(seq, 0, sysrq_break, sizeof(sysrq_break));
    }
    if (s->modifiers & (MOD_CTRL | MOD_SHIFT)) {
        return down ? seq_append(seq, 0, mod_make, sizeof(mod_make))
                    : seq_append(seq, 0, mod_break, sizeof(mod_break));
    }
    return down ? seq_append(seq, 0, plain_make, sizeof(plain_make))
                : seq_append(seq, 0, plain_break, sizeof(plain_break));
}

/* Pause has no break code; with Ctrl it is Break. */
static unsigned seq_pause(const PS2KbdState *s, bool down, uint8_t *seq)
{
    static const uint8_t brk[] = {
        SC_EXTENDED, 0x7e, SC_EXTENDED, SC_BREAK, 0x7e
    };
    static const uint8_t pause[] = {
        SC_PAUSE_PREFIX, 0x14, 0x77, SC_PAUSE_PREFIX, SC_BREAK, 0x14,
        SC_BREAK, 0x77
    };

    if (!down) {
        return 0;
    }
    if (s->modifiers & MOD_CTRL) {
        return seq_append(seq, 0, brk, sizeof(brk));
    }
    return seq_append(seq, 0, pause, sizeof(pause));
}

/* The set 2 sequence for a key; 0 when the key has no code. */
static unsigned key_sequence(const PS2KbdState *s, unsigned keycode,
                             bool down, uint8_t *seq)
{
    unsigned n = 0;
    uint16_t code;

    if (keycode == KEY_SYSRQ) {
        return seq_print_screen(s, down, seq);
    }
    if (keycode == KEY_PAUSE) {
        return seq_pause(s, down, seq);
    }
    if (keycode >= ARRAY_SIZE(set2_codes) || !set2_codes[keycode]) {
        return 0;
    }
    code = set2_codes[keycode];
    if (code & SC_E0) {
        seq[n++] = SC_EXTENDED;
    }
    if (!down) {
        seq[n++] = SC_BREAK;
    }
    seq[n++] = code & 0xff;
    return n;
}

/* Set 2 to set 1 (the keyboard's own set 1, not the controller's). */
static unsigned sequence_to_set1(const uint8_t *in, unsigned n, uint8_t *out)
{
    unsigned o = 0;
    bool brk = false;

    for (unsigned i = 0; i < n; i++) {
        if (in[i] == SC_BREAK) {
            brk = true;
        } else if (in[i] == SC_EXTENDED || in[i] == SC_PAUSE_PREFIX) {
            out[o++] = in[i];
        } else {
            out[o++] = ps2_translate_set2(in[i]) |
                       (brk ? SC_SET1_BREAK_BIT : 0);
            brk = false;
        }
    }
    return o;
}

void ps2_keyboard_event(PS2KbdState *s, unsigned keycode, bool down)
{
    uint8_t seq[MAX_KEY_SEQ], set1[MAX_KEY_SEQ];
    unsigned n;
    uint32_t mod = modifier_bit(keycode);

    if (down) {
        s->modifiers |= mod;
    } else {
        s->modifiers &= ~mod;
    }
    if (!s->scanning) {
        return;
    }
    n = key_sequence(s, keycode, down, seq);
    if (s->scancode_set == 1) {
        n = sequence_to_set1(seq, n, set1);
        memcpy(seq, set1, n);
    }
    if (!n || !queue_has_room(&s->queue, n, PS2_KBD_EVENT_LIMIT)) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        queue_push(&s->queue, seq[i]);
    }
    kbd_notify(s);
}

void ps2_kbd_init(PS2KbdState *s, PS2NotifyFn *notify, void *opaque)
{
    s->notify = notify;
    s->opaque = opaque;
    default_kbd = s;
}

void ps2_kbd_fini(PS2KbdState *s)
{
    if (default_kbd == s) {
        default_kbd = NULL;
    }
}

PS2KbdState *ps2_kbd_get_default(void)
{
    return default_kbd;
}

/* ---- mouse ---- */

static void mouse_notify(PS2MouseState *s)
{
    if (s->notify) {
        s->notify(s->opaque);
    }
}

static void mouse_reply(PS2MouseState *s, const uint8_t *bytes, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        queue_push(&s->queue, bytes[i]);
        s->last_byte = bytes[i];
    }
    mouse_notify(s);
}

static void mouse_reply1(PS2MouseState *s, uint8_t b)
{
    mouse_reply(s, &b, 1);
}

static void mouse_clear_motion(PS2MouseState *s)
{
    s->dx = s->dy = s->dz = 0;
}

static void mouse_set_defaults(PS2MouseState *s)
{
    s->mode = 0;        /* stream mode, reporting off, 1:1 scaling */
    s->resolution = MOUSE_DEFAULT_RES;
    s->sample_rate = MOUSE_DEFAULT_RATE;
    s->pending_cmd = 0;
    mouse_clear_motion(s);
}

void ps2_mouse_reset(PS2MouseState *s)
{
    queue_reset(&s->queue);
    mouse_set_defaults(s);
    s->id = MOUSE_ID_STANDARD;
    memset(s->rate_history, 0, sizeof(s->rate_history));
    s->wrap = false;
    s->buttons = 0;
    s->last_byte = 0;
}

static unsigned packet_size(const PS2MouseState *s)
{
    return s->id == MOUSE_ID_STANDARD ? 3 : 4;
}

/* 2:1 scaling (IBM table: 1->1, 2->1, 3->3, 4->6, 5->9, n->2n). */
static int scale21(int v)
{
    static const int small[] = { 0, 1, 1, 3, 6, 9 };
    int mag = abs(v);
    int out = mag < (int)ARRAY_SIZE(small) ? small[mag] : 2 * mag;

    out = MIN(out, MOUSE_PKT_MAX);
    return v < 0 ? -out : out;
}

static int take_motion(int32_t *acc, int limit)
{
    int v = CLAMP(*acc, -limit, limit);

    *acc -= v;
    return v;
}

static uint8_t wheel_byte(PS2MouseState *s)
{
    int z;

    if (s->id == MOUSE_ID_WHEEL) {
        return (uint8_t)take_motion(&s->dz, 127);
    }
    z = CLAMP(s->dz, -8, 7);
    s->dz -= z;
    return (z & 0x0f) |
           ((s->buttons & PS2_MOUSE_BUTTON_SIDE) ? 0x10 : 0) |
           ((s->buttons & PS2_MOUSE_BUTTON_EXTRA) ? 0x20 : 0);
}

static void mouse_send_packet(PS2MouseState *s)
{
    uint8_t pkt[4];
    int dx = take_motion(&s->dx, MOUSE_PKT_MAX);
    int dy = take_motion(&s->dy, MOUSE_PKT_MAX);

    if ((s->mode & MOUSE_MODE_SCALE21) && !(s->mode & MOUSE_MODE_REMOTE)) {
        dx = scale21(dx);
        dy = scale21(dy);
    }
    pkt[0] = MOUSE_PKT_ALWAYS1 | (s->buttons & MOUSE_PKT_BUTTONS) |
             (dx < 0 ? MOUSE_PKT_X_SIGN : 0) |
             (dy < 0 ? MOUSE_PKT_Y_SIGN : 0);
    pkt[1] = (uint8_t)dx;
    pkt[2] = (uint8_t)dy;
    if (packet_size(s) == 4) {
        pkt[3] = wheel_byte(s);
    } else {
        s->dz = 0;
    }
    for (unsigned i = 0; i < packet_size(s); i++) {
        queue_push(&s->queue, pkt[i]);
    }
}

static bool mouse_streaming(const PS2MouseState *s)
{
    return (s->mode & MOUSE_MODE_ENABLED) && !(s->mode & MOUSE_MODE_REMOTE) &&
           !s->wrap;
}

/* Report what is pending, as far as the queue allows. */
static void mouse_sync(PS2MouseState *s, bool buttons_changed)
{
    bool sent = false;

    while (queue_has_room(&s->queue, packet_size(s), PS2_MOUSE_EVENT_LIMIT) &&
           (buttons_changed || s->dx || s->dy || s->dz)) {
        mouse_send_packet(s);
        buttons_changed = false;
        sent = true;
    }
    if (sent) {
        mouse_notify(s);
    }
}

void ps2_mouse_flush(PS2MouseState *s)
{
    if (mouse_streaming(s)) {
        mouse_sync(s, false);
    }
}

void ps2_mouse_event(PS2MouseState *s, int dx, int dy, int dz,
                     unsigned buttons)
{
    bool changed = (buttons & 0x1f) != s->buttons;

    if (!mouse_streaming(s) && !(s->mode & MOUSE_MODE_REMOTE)) {
        return;     /* reporting disabled: the mouse ignores motion */
    }
    /* PS/2 axes: y up, wheel towards the user positive. */
    s->dx = CLAMP((int64_t)s->dx + dx, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
    s->dy = CLAMP((int64_t)s->dy - dy, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
    s->dz = CLAMP((int64_t)s->dz - dz, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
    s->buttons = buttons & 0x1f;
    if (mouse_streaming(s)) {
        mouse_sync(s, changed);
    }
}

/* A one-count motion to the right: the vmmouse's doorbell, so a guest
 * driver that waits on the aux IRQ goes to read the backdoor queue (as
 * QEMU's ps2_mouse_fake_event). */
void ps2_mouse_fake_event(PS2MouseState *s)
{
    if (!mouse_streaming(s)) {
        return;
    }
    s->dx = MIN(s->dx + 1, MOUSE_ACCUM_MAX);
    mouse_sync(s, false);
}

static void mouse_note_rate(PS2MouseState *s, uint8_t rate)
{
    static const uint8_t wheel_magic[] = { 200, 100, 80 };
    static const uint8_t five_button_magic[] = { 200, 200, 80 };

    s->rate_history[0] = s->rate_history[1];
    s->rate_history[1] = s->rate_history[2];
    s->rate_history[2] = rate;
    if (!memcmp(s->rate_history, wheel_magic, sizeof(wheel_magic))) {
        s->id = MOUSE_ID_WHEEL;
    } else if (!memcmp(s->rate_history, five_button_magic,
                       sizeof(five_button_magic))) {
        s->id = MOUSE_ID_5BUTTON;
    }
}

static void mouse_param(PS2MouseState *s, uint8_t cmd, uint8_t val)
{
    if (cmd == MOUSE_CMD_SET_RES) {
        if (val > MOUSE_RES_MASK) {
            mouse_reply1(s, PS2_REPLY_RESEND);
            return;
        }
        s->resolution = val;
    } else {
        if (val == 0) {
            mouse_reply1(s, PS2_REPLY_RESEND);
            return;
        }
        s->sample_rate = val;
        mouse_note_rate(s, val);
    }
    mouse_reply1(s, PS2_REPLY_ACK);
}

static void mouse_send_status(PS2MouseState *s)
{
    uint8_t reply[4] = {
        PS2_REPLY_ACK,
        s->mode |
        ((s->buttons & PS2_MOUSE_BUTTON_LEFT) ? MOUSE_STATUS_LEFT : 0) |
        ((s->buttons & PS2_MOUSE_BUTTON_MIDDLE) ? MOUSE_STATUS_MIDDLE : 0) |
        ((s->buttons & PS2_MOUSE_BUTTON_RIGHT) ? MOUSE_STATUS_RIGHT : 0),
        s->resolution,
        s->sample_rate,
    };
    mouse_reply(s, reply, sizeof(reply));
}

/* Commands that only change a mode bit, then ACK. */
static bool mouse_mode_command(PS2MouseState *s, uint8_t cmd)
{
    switch (cmd) {
    case MOUSE_CMD_SET_SCALE11:
        s->mode &= ~MOUSE_MODE_SCALE21;
        break;
    case MOUSE_CMD_SET_SCALE21:
        s->mode |= MOUSE_MODE_SCALE21;
        break;
    case MOUSE_CMD_SET_STREAM:
        s->mode &= ~MOUSE_MODE_REMOTE;
        break;
    case MOUSE_CMD_SET_REMOTE:
        s->mode |= MOUSE_MODE_REMOTE;
        break;
    case MOUSE_CMD_ENABLE:
        s->mode |= MOUSE_MODE_ENABLED;
        break;
    case MOUSE_CMD_DISABLE:
        s->mode &= ~MOUSE_MODE_ENABLED;
        break;
    case MOUSE_CMD_RESET_WRAP:
        break;
    case MOUSE_CMD_SET_WRAP:
        s->wrap = true;
        break;
    case MOUSE_CMD_SET_DEFAULTS:
        mouse_set_defaults(s);
        break;
    default:
        return false;
    }
    mouse_reply1(s, PS2_REPLY_ACK);
    return true;
}

static void mouse_command(PS2MouseState *s, uint8_t cmd)
{
    static const uint8_t reset_reply[] = {
        PS2_REPLY_ACK, PS2_REPLY_BAT_OK, MOUSE_ID_STANDARD
    };

    if (cmd != MOUSE_CMD_RESEND && cmd != MOUSE_CMD_READ_DATA) {
        mouse_clear_motion(s);  /* commands restart the counters */
    }
    if (mouse_mode_command(s, cmd)) {
        return;
    }
    switch (cmd) {
    case MOUSE_CMD_SET_RES:
    case MOUSE_CMD_SET_RATE:
        s->pending_cmd = cmd;
        mouse_reply1(s, PS2_REPLY_ACK);
        return;
    case MOUSE_CMD_GET_STATUS:
        mouse_send_status(s);
        return;
    case MOUSE_CMD_READ_DATA:
        queue_push(&s->queue, PS2_REPLY_ACK);
        mouse_send_packet(s);
        mouse_notify(s);
        return;
    case MOUSE_CMD_GET_ID: {
        uint8_t reply[] = { PS2_REPLY_ACK, s->id };
        mouse_reply(s, reply, sizeof(reply));
        return;
    }
    case MOUSE_CMD_RESEND:
        mouse_reply1(s, s->last_byte);
        return;
    case MOUSE_CMD_RESET:
        ps2_mouse_reset(s);
        mouse_reply(s, reset_reply, sizeof(reset_reply));
        return;
    default:
        mouse_reply1(s, PS2_REPLY_RESEND);
        return;
    }
}

void ps2_mouse_write(PS2MouseState *s, uint8_t val)
{
    uint8_t cmd = s->pending_cmd;

    s->pending_cmd = 0;
    if (cmd) {
        mouse_param(s, cmd, val);
    } else if (s->wrap && val != MOUSE_CMD_RESET_WRAP &&
               val != MOUSE_CMD_RESET) {
        mouse_reply1(s, val);   /* wrap mode echoes */
    } else {
        if (val == MOUSE_CMD_RESET_WRAP) {
            s->wrap = false;
        }
        mouse_command(s, val);
    }
}

void ps2_mouse_init(PS2MouseState *s, PS2NotifyFn *notify, void *opaque)
{
    s->notify = notify;
    s->opaque = opaque;
    default_mouse = s;
}

void ps2_mouse_fini(PS2MouseState *s)
{
    if (default_mouse == s) {
        default_mouse = NULL;
    }
}

PS2MouseState *ps2_mouse_get_default(void)
{
    return default_mouse;
}

/* ---- state ---- */

static const VMStateDescription vmstate_ps2_queue = {
    .name = "ps2-queue",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(data, PS2Queue, PS2_BUFFER_SIZE),
        VMSTATE_UINT32(rptr, PS2Queue),
        VMSTATE_UINT32(count, PS2Queue),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Loaded values out of range are refused, and made safe as well: the
 * fields are already in place when a check fails.
 */
static bool queue_sanitize(PS2Queue *q)
{
    bool ok = q->rptr < PS2_BUFFER_SIZE && q->count <= PS2_BUFFER_SIZE;

    q->rptr %= PS2_BUFFER_SIZE;
    q->count = MIN(q->count, PS2_BUFFER_SIZE);
    return ok;
}

static int ps2_kbd_post_load(void *opaque, int version_id)
{
    PS2KbdState *s = opaque;
    bool ok = queue_sanitize(&s->queue);

    if (s->scancode_set != 1 && s->scancode_set != 2) {
        s->scancode_set = 2;
        ok = false;
    }
    s->leds &= KBD_LED_MASK;
    qemu_input_set_leds(s->leds);   /* the migrated LEDs, to front ends */
    return ok ? 0 : -1;
}

const VMStateDescription vmstate_ps2_kbd = {
    .name = "ps2-keyboard",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ps2_kbd_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(queue, PS2KbdState, vmstate_ps2_queue, PS2Queue),
        VMSTATE_UINT8(pending_cmd, PS2KbdState),
        VMSTATE_UINT8(scancode_set, PS2KbdState),
        VMSTATE_UINT8(leds, PS2KbdState),
        VMSTATE_UINT8(typematic, PS2KbdState),
        VMSTATE_BOOL(scanning, PS2KbdState),
        VMSTATE_UINT8(last_byte, PS2KbdState),
        VMSTATE_UINT32(modifiers, PS2KbdState),
        VMSTATE_END_OF_LIST()
    },
};

static int ps2_mouse_post_load(void *opaque, int version_id)
{
    PS2MouseState *s = opaque;
    bool ok = queue_sanitize(&s->queue);

    if (s->id != MOUSE_ID_STANDARD && s->id != MOUSE_ID_WHEEL &&
        s->id != MOUSE_ID_5BUTTON) {
        s->id = MOUSE_ID_STANDARD;
        ok = false;
    }
    s->dx = CLAMP(s->dx, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
    s->dy = CLAMP(s->dy, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
    s->dz = CLAMP(s->dz, -MOUSE_ACCUM_MAX, MOUSE_ACCUM_MAX);
    s->resolution &= MOUSE_RES_MASK;
    s->buttons &= 0x1f;
    return ok ? 0 : -1;
}

const VMStateDescription vmstate_ps2_mouse = {
    .name = "ps2-mouse",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ps2_mouse_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(queue, PS2MouseState, vmstate_ps2_queue, PS2Queue),
        VMSTATE_UINT8(pending_cmd, PS2MouseState),
        VMSTATE_UINT8(mode, PS2MouseState),
        VMSTATE_UINT8(resolution, PS2MouseState),
        VMSTATE_UINT8(sample_rate, PS2MouseState),
        VMSTATE_UINT8(id, PS2MouseState),
        VMSTATE_UINT8_ARRAY(rate_history, PS2MouseState, 3),
        VMSTATE_BOOL(wrap, PS2MouseState),
        VMSTATE_UINT8(buttons, PS2MouseState),
        VMSTATE_INT32(dx, PS2MouseState),
        VMSTATE_INT32(dy, PS2MouseState),
        VMSTATE_INT32(dz, PS2MouseState),
        VMSTATE_UINT8(last_byte, PS2MouseState),
        VMSTATE_END_OF_LIST()
    },
};
