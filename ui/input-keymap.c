/*
 * Key tables: QEMU's QKeyCode names to Linux input keycodes (what the PS/2
 * keyboard in hw/input/ps2.c turns into scan code set 2 or 1) and to the
 * "number" form of QMP/HMP (IBM PC scan code set 1, keys sent with an E0
 * prefix + 0x80), and X11 keysyms (RFB KeyEvent, RFC 6143 7.5.4) to
 * QKeyCodes for a US keyboard layout.
 *
 * Set 1 codes: IBM PS/2 Technical Reference, Keyboards; Linux keycodes:
 * <linux/input-event-codes.h>; keysyms: <X11/keysymdef.h>.
 */
#include "qemu/osdep.h"
#include "ui/input.h"
#include <linux/input-event-codes.h>

typedef struct KeyMapEntry {
    uint16_t linux_code;
    uint16_t number;            /* set 1; 0x80 | code for E0 xx */
} KeyMapEntry;

static const KeyMapEntry qcode_map[Q_KEY_CODE__MAX] = {
    [Q_KEY_CODE_SHIFT] = { KEY_LEFTSHIFT, 0x2a },
    [Q_KEY_CODE_SHIFT_R] = { KEY_RIGHTSHIFT, 0x36 },
    [Q_KEY_CODE_ALT] = { KEY_LEFTALT, 0x38 },
    [Q_KEY_CODE_ALT_R] = { KEY_RIGHTALT, 0xb8 },
    [Q_KEY_CODE_CTRL] = { KEY_LEFTCTRL, 0x1d },
    [Q_KEY_CODE_CTRL_R] = { KEY_RIGHTCTRL, 0x9d },
    [Q_KEY_CODE_MENU] = { KEY_COMPOSE, 0xdd },
    [Q_KEY_CODE_ESC] = { KEY_ESC, 0x01 },
    [Q_KEY_CODE_1] = { KEY_1, 0x02 },
    [Q_KEY_CODE_2] = { KEY_2, 0x03 },
    [Q_KEY_CODE_3] = { KEY_3, 0x04 },
    [Q_KEY_CODE_4] = { KEY_4, 0x05 },
    [Q_KEY_CODE_5] = { KEY_5, 0x06 },
    [Q_KEY_CODE_6] = { KEY_6, 0x07 },
    [Q_KEY_CODE_7] = { KEY_7, 0x08 },
    [Q_KEY_CODE_8] = { KEY_8, 0x09 },
    [Q_KEY_CODE_9] = { KEY_9, 0x0a },
    [Q_KEY_CODE_0] = { KEY_0, 0x0b },
    [Q_KEY_CODE_MINUS] = { KEY_MINUS, 0x0c },
    [Q_KEY_CODE_EQUAL] = { KEY_EQUAL, 0x0d },
    [Q_KEY_CODE_BACKSPACE] = { KEY_BACKSPACE, 0x0e },
    [Q_KEY_CODE_TAB] = { KEY_TAB, 0x0f },
    [Q_KEY_CODE_Q] = { KEY_Q, 0x10 },
    [Q_KEY_CODE_W] = { KEY_W, 0x11 },
    [Q_KEY_CODE_E] = { KEY_E, 0x12 },
    [Q_KEY_CODE_R] = { KEY_R, 0x13 },
    [Q_KEY_CODE_T] = { KEY_T, 0x14 },
    [Q_KEY_CODE_Y] = { KEY_Y, 0x15 },
    [Q_KEY_CODE_U] = { KEY_U, 0x16 },
    [Q_KEY_CODE_I] = { KEY_I, 0x17 },
    [Q_KEY_CODE_O] = { KEY_O, 0x18 },
    [Q_KEY_CODE_P] = { KEY_P, 0x19 },
    [Q_KEY_CODE_BRACKET_LEFT] = { KEY_LEFTBRACE, 0x1a },
    [Q_KEY_CODE_BRACKET_RIGHT] = { KEY_RIGHTBRACE, 0x1b },
    [Q_KEY_CODE_RET] = { KEY_ENTER, 0x1c },
    [Q_KEY_CODE_A] = { KEY_A, 0x1e },
    [Q_KEY_CODE_S] = { KEY_S, 0x1f },
    [Q_KEY_CODE_D] = { KEY_D, 0x20 },
    [Q_KEY_CODE_F] = { KEY_F, 0x21 },
    [Q_KEY_CODE_G] = { KEY_G, 0x22 },
    [Q_KEY_CODE_H] = { KEY_H, 0x23 },
    [Q_KEY_CODE_J] = { KEY_J, 0x24 },
    [Q_KEY_CODE_K] = { KEY_K, 0x25 },
    [Q_KEY_CODE_L] = { KEY_L, 0x26 },
    [Q_KEY_CODE_SEMICOLON] = { KEY_SEMICOLON, 0x27 },
    [Q_KEY_CODE_APOSTROPHE] = { KEY_APOSTROPHE, 0x28 },
    [Q_KEY_CODE_GRAVE_ACCENT] = { KEY_GRAVE, 0x29 },
    [Q_KEY_CODE_BACKSLASH] = { KEY_BACKSLASH, 0x2b },
    [Q_KEY_CODE_Z] = { KEY_Z, 0x2c },
    [Q_KEY_CODE_X] = { KEY_X, 0x2d },
    [Q_KEY_CODE_C] = { KEY_C, 0x2e },
    [Q_KEY_CODE_V] = { KEY_V, 0x2f },
    [Q_KEY_CODE_B] = { KEY_B, 0x30 },
    [Q_KEY_CODE_N] = { KEY_N, 0x31 },
    [Q_KEY_CODE_M] = { KEY_M, 0x32 },
    [Q_KEY_CODE_COMMA] = { KEY_COMMA, 0x33 },
    [Q_KEY_CODE_DOT] = { KEY_DOT, 0x34 },
    [Q_KEY_CODE_SLASH] = { KEY_SLASH, 0x35 },
    [Q_KEY_CODE_ASTERISK] = { KEY_KPASTERISK, 0x37 },
    [Q_KEY_CODE_SPC] = { KEY_SPACE, 0x39 },
    [Q_KEY_CODE_CAPS_LOCK] = { KEY_CAPSLOCK, 0x3a },
    [Q_KEY_CODE_F1] = { KEY_F1, 0x3b },
    [Q_KEY_CODE_F2] = { KEY_F2, 0x3c },
    [Q_KEY_CODE_F3] = { KEY_F3, 0x3d },
    [Q_KEY_CODE_F4] = { KEY_F4, 0x3e },
    [Q_KEY_CODE_F5] = { KEY_F5, 0x3f },
    [Q_KEY_CODE_F6] = { KEY_F6, 0x40 },
    [Q_KEY_CODE_F7] = { KEY_F7, 0x41 },
    [Q_KEY_CODE_F8] = { KEY_F8, 0x42 },
    [Q_KEY_CODE_F9] = { KEY_F9, 0x43 },
    [Q_KEY_CODE_F10] = { KEY_F10, 0x44 },
    [Q_KEY_CODE_NUM_LOCK] = { KEY_NUMLOCK, 0x45 },
    [Q_KEY_CODE_SCROLL_LOCK] = { KEY_SCROLLLOCK, 0x46 },
    [Q_KEY_CODE_KP_DIVIDE] = { KEY_KPSLASH, 0xb5 },
    [Q_KEY_CODE_KP_MULTIPLY] = { KEY_KPASTERISK, 0x37 },
    [Q_KEY_CODE_KP_SUBTRACT] = { KEY_KPMINUS, 0x4a },
    [Q_KEY_CODE_KP_ADD] = { KEY_KPPLUS, 0x4e },
    [Q_KEY_CODE_KP_ENTER] = { KEY_KPENTER, 0x9c },
    [Q_KEY_CODE_KP_DECIMAL] = { KEY_KPDOT, 0x53 },
    [Q_KEY_CODE_SYSRQ] = { KEY_SYSRQ, 0x54 },
    [Q_KEY_CODE_KP_0] = { KEY_KP0, 0x52 },
    [Q_KEY_CODE_KP_1] = { KEY_KP1, 0x4f },
    [Q_KEY_CODE_KP_2] = { KEY_KP2, 0x50 },
    [Q_KEY_CODE_KP_3] = { KEY_KP3, 0x51 },
    [Q_KEY_CODE_KP_4] = { KEY_KP4, 0x4b },
    [Q_KEY_CODE_KP_5] = { KEY_KP5, 0x4c },
    [Q_KEY_CODE_KP_6] = { KEY_KP6, 0x4d },
    [Q_KEY_CODE_KP_7] = { KEY_KP7, 0x47 },
    [Q_KEY_CODE_KP_8] = { KEY_KP8, 0x48 },
    [Q_KEY_CODE_KP_9] = { KEY_KP9, 0x49 },
    [Q_KEY_CODE_LESS] = { KEY_102ND, 0x56 },
    [Q_KEY_CODE_F11] = { KEY_F11, 0x57 },
    [Q_KEY_CODE_F12] = { KEY_F12, 0x58 },
    [Q_KEY_CODE_PRINT] = { KEY_SYSRQ, 0xb7 },
    [Q_KEY_CODE_HOME] = { KEY_HOME, 0xc7 },
    [Q_KEY_CODE_PGUP] = { KEY_PAGEUP, 0xc9 },
    [Q_KEY_CODE_PGDN] = { KEY_PAGEDOWN, 0xd1 },
    [Q_KEY_CODE_END] = { KEY_END, 0xcf },
    [Q_KEY_CODE_LEFT] = { KEY_LEFT, 0xcb },
    [Q_KEY_CODE_UP] = { KEY_UP, 0xc8 },
    [Q_KEY_CODE_DOWN] = { KEY_DOWN, 0xd0 },
    [Q_KEY_CODE_RIGHT] = { KEY_RIGHT, 0xcd },
    [Q_KEY_CODE_INSERT] = { KEY_INSERT, 0xd2 },
    [Q_KEY_CODE_DELETE] = { KEY_DELETE, 0xd3 },
    [Q_KEY_CODE_STOP] = { KEY_STOP, 0xe8 },
    [Q_KEY_CODE_AGAIN] = { KEY_AGAIN, 0x85 },
    [Q_KEY_CODE_PROPS] = { KEY_PROPS, 0x86 },
    [Q_KEY_CODE_UNDO] = { KEY_UNDO, 0x87 },
    [Q_KEY_CODE_FRONT] = { KEY_FRONT, 0x8c },
    [Q_KEY_CODE_COPY] = { KEY_COPY, 0xf8 },
    [Q_KEY_CODE_OPEN] = { KEY_OPEN, 0x64 },
    [Q_KEY_CODE_PASTE] = { KEY_PASTE, 0x65 },
    [Q_KEY_CODE_FIND] = { KEY_FIND, 0xc1 },
    [Q_KEY_CODE_CUT] = { KEY_CUT, 0xbc },
    [Q_KEY_CODE_LF] = { KEY_LINEFEED, 0x5b },
    [Q_KEY_CODE_HELP] = { KEY_HELP, 0xf5 },
    [Q_KEY_CODE_META_L] = { KEY_LEFTMETA, 0xdb },
    [Q_KEY_CODE_META_R] = { KEY_RIGHTMETA, 0xdc },
    [Q_KEY_CODE_COMPOSE] = { KEY_COMPOSE, 0xdd },
    [Q_KEY_CODE_PAUSE] = { KEY_PAUSE, 0xc6 },
    [Q_KEY_CODE_RO] = { KEY_RO, 0x73 },
    [Q_KEY_CODE_HIRAGANA] = { KEY_HIRAGANA, 0x77 },
    [Q_KEY_CODE_HENKAN] = { KEY_HENKAN, 0x79 },
    [Q_KEY_CODE_YEN] = { KEY_YEN, 0x7d },
    [Q_KEY_CODE_MUHENKAN] = { KEY_MUHENKAN, 0x7b },
    [Q_KEY_CODE_KATAKANAHIRAGANA] = { KEY_KATAKANAHIRAGANA, 0x70 },
    [Q_KEY_CODE_KP_COMMA] = { KEY_KPCOMMA, 0x7e },
    [Q_KEY_CODE_KP_EQUALS] = { KEY_KPEQUAL, 0x59 },
    [Q_KEY_CODE_POWER] = { KEY_POWER, 0xde },
    [Q_KEY_CODE_SLEEP] = { KEY_SLEEP, 0xdf },
    [Q_KEY_CODE_WAKE] = { KEY_WAKEUP, 0xe3 },
    [Q_KEY_CODE_AUDIONEXT] = { KEY_NEXTSONG, 0x99 },
    [Q_KEY_CODE_AUDIOPREV] = { KEY_PREVIOUSSONG, 0x90 },
    [Q_KEY_CODE_AUDIOSTOP] = { KEY_STOPCD, 0xa4 },
    [Q_KEY_CODE_AUDIOPLAY] = { KEY_PLAYPAUSE, 0xa2 },
    [Q_KEY_CODE_AUDIOMUTE] = { KEY_MUTE, 0xa0 },
    [Q_KEY_CODE_VOLUMEUP] = { KEY_VOLUMEUP, 0xb0 },
    [Q_KEY_CODE_VOLUMEDOWN] = { KEY_VOLUMEDOWN, 0xae },
    [Q_KEY_CODE_MEDIASELECT] = { KEY_MEDIA, 0xed },
    [Q_KEY_CODE_MAIL] = { KEY_MAIL, 0xec },
    [Q_KEY_CODE_CALCULATOR] = { KEY_CALC, 0xa1 },
    [Q_KEY_CODE_COMPUTER] = { KEY_COMPUTER, 0xeb },
    [Q_KEY_CODE_AC_HOME] = { KEY_HOMEPAGE, 0xb2 },
    [Q_KEY_CODE_AC_BACK] = { KEY_BACK, 0xea },
    [Q_KEY_CODE_AC_FORWARD] = { KEY_FORWARD, 0xe9 },
    [Q_KEY_CODE_AC_REFRESH] = { KEY_REFRESH, 0xe7 },
    [Q_KEY_CODE_AC_BOOKMARKS] = { KEY_BOOKMARKS, 0xe6 },
    [Q_KEY_CODE_LANG1] = { KEY_HANGEUL, 0x72 },
    [Q_KEY_CODE_LANG2] = { KEY_HANJA, 0x71 },
    [Q_KEY_CODE_F13] = { KEY_F13, 0x5d },
    [Q_KEY_CODE_F14] = { KEY_F14, 0x5e },
    [Q_KEY_CODE_F15] = { KEY_F15, 0x5f },
    [Q_KEY_CODE_F16] = { KEY_F16, 0x55 },
    [Q_KEY_CODE_F17] = { KEY_F17, 0x83 },
    [Q_KEY_CODE_F18] = { KEY_F18, 0xf7 },
    [Q_KEY_CODE_F19] = { KEY_F19, 0x84 },
    [Q_KEY_CODE_F20] = { KEY_F20, 0x5a },
    [Q_KEY_CODE_F21] = { KEY_F21, 0x74 },
    [Q_KEY_CODE_F22] = { KEY_F22, 0xfb },
    [Q_KEY_CODE_F23] = { KEY_F23, 0x5c },
    [Q_KEY_CODE_F24] = { KEY_F24, 0x69 },
};

unsigned qemu_input_qcode_to_linux(QKeyCode q)
{
    return (unsigned)q < Q_KEY_CODE__MAX ? qcode_map[q].linux_code : 0;
}

unsigned qemu_input_qcode_to_number(QKeyCode q)
{
    return (unsigned)q < Q_KEY_CODE__MAX ? qcode_map[q].number : 0;
}

QKeyCode qemu_input_number_to_qcode(unsigned num)
{
    /* first match wins: 0x37 is asterisk before kp_multiply, as QEMU */
    for (unsigned q = 1; num && q < Q_KEY_CODE__MAX; q++) {
        if (qcode_map[q].number == num) {
            return q;
        }
    }
    return Q_KEY_CODE_UNMAPPED;
}

QKeyCode qemu_input_key_value_to_qcode(const KeyValue *key)
{
    if (key->type == KEY_VALUE_KIND_QCODE) {
        return key->u.qcode.data;
    }
    if (key->u.number.data < 0 || key->u.number.data > 0xff) {
        return Q_KEY_CODE_UNMAPPED;
    }
    return qemu_input_number_to_qcode(key->u.number.data);
}

/* ---- X11 keysyms (US layout) ----------------------------------------- */

typedef struct KeysymEntry {
    uint32_t keysym;
    QKeyCode qcode;
} KeysymEntry;

static const KeysymEntry keysym_special[] = {
    { 0xff08, Q_KEY_CODE_BACKSPACE }, { 0xff09, Q_KEY_CODE_TAB },
    { 0xff0a, Q_KEY_CODE_LF }, { 0xff0d, Q_KEY_CODE_RET },
    { 0xff13, Q_KEY_CODE_PAUSE }, { 0xff14, Q_KEY_CODE_SCROLL_LOCK },
    { 0xff15, Q_KEY_CODE_SYSRQ }, { 0xff1b, Q_KEY_CODE_ESC },
    { 0xff50, Q_KEY_CODE_HOME }, { 0xff51, Q_KEY_CODE_LEFT },
    { 0xff52, Q_KEY_CODE_UP }, { 0xff53, Q_KEY_CODE_RIGHT },
    { 0xff54, Q_KEY_CODE_DOWN }, { 0xff55, Q_KEY_CODE_PGUP },
    { 0xff56, Q_KEY_CODE_PGDN }, { 0xff57, Q_KEY_CODE_END },
    { 0xff61, Q_KEY_CODE_PRINT }, { 0xff63, Q_KEY_CODE_INSERT },
    { 0xff67, Q_KEY_CODE_MENU }, { 0xff6a, Q_KEY_CODE_HELP },
    { 0xff7f, Q_KEY_CODE_NUM_LOCK },
    { 0xff8d, Q_KEY_CODE_KP_ENTER }, { 0xffaa, Q_KEY_CODE_KP_MULTIPLY },
    { 0xffab, Q_KEY_CODE_KP_ADD }, { 0xffac, Q_KEY_CODE_KP_COMMA },
    { 0xffad, Q_KEY_CODE_KP_SUBTRACT }, { 0xffae, Q_KEY_CODE_KP_DECIMAL },
    { 0xffaf, Q_KEY_CODE_KP_DIVIDE },
    { 0xff95, Q_KEY_CODE_KP_7 }, { 0xff96, Q_KEY_CODE_KP_4 },
    { 0xff97, Q_KEY_CODE_KP_8 }, { 0xff98, Q_KEY_CODE_KP_6 },
    { 0xff99, Q_KEY_CODE_KP_2 }, { 0xff9a, Q_KEY_CODE_KP_9 },
    { 0xff9b, Q_KEY_CODE_KP_3 }, { 0xff9c, Q_KEY_CODE_KP_1 },
    { 0xff9d, Q_KEY_CODE_KP_5 }, { 0xff9e, Q_KEY_CODE_KP_0 },
    { 0xff9f, Q_KEY_CODE_KP_DECIMAL },
    { 0xffbd, Q_KEY_CODE_KP_EQUALS },
    { 0xffe1, Q_KEY_CODE_SHIFT }, { 0xffe2, Q_KEY_CODE_SHIFT_R },
    { 0xffe3, Q_KEY_CODE_CTRL }, { 0xffe4, Q_KEY_CODE_CTRL_R },
    { 0xffe5, Q_KEY_CODE_CAPS_LOCK },
    { 0xffe7, Q_KEY_CODE_META_L }, { 0xffe8, Q_KEY_CODE_META_R },
    { 0xffe9, Q_KEY_CODE_ALT }, { 0xffea, Q_KEY_CODE_ALT_R },
    { 0xfe03, Q_KEY_CODE_ALT_R },       /* ISO_Level3_Shift (AltGr) */
    { 0xffeb, Q_KEY_CODE_META_L }, { 0xffec, Q_KEY_CODE_META_R },
    { 0xffff, Q_KEY_CODE_DELETE },
};

/* Printable ASCII: the key that types it on a US keyboard. */
static QKeyCode ascii_to_qcode(uint32_t c)
{
    static const char row_digits[] = "1234567890";
    static const char shifted_digits[] = "!@#$%^&*()";
    static const struct { char c, shifted; QKeyCode q; } punct[] = {
        { '-', '_', Q_KEY_CODE_MINUS }, { '=', '+', Q_KEY_CODE_EQUAL },
        { '[', '{', Q_KEY_CODE_BRACKET_LEFT },
        { ']', '}', Q_KEY_CODE_BRACKET_RIGHT },
        { ';', ':', Q_KEY_CODE_SEMICOLON },
        { '\'', '"', Q_KEY_CODE_APOSTROPHE },
        { '`', '~', Q_KEY_CODE_GRAVE_ACCENT },
        { '\\', '|', Q_KEY_CODE_BACKSLASH },
        { ',', '<', Q_KEY_CODE_COMMA }, { '.', '>', Q_KEY_CODE_DOT },
        { '/', '?', Q_KEY_CODE_SLASH },
    };
    static const QKeyCode letters[26] = {
        Q_KEY_CODE_A, Q_KEY_CODE_B, Q_KEY_CODE_C, Q_KEY_CODE_D,
        Q_KEY_CODE_E, Q_KEY_CODE_F, Q_KEY_CODE_G, Q_KEY_CODE_H,
        Q_KEY_CODE_I, Q_KEY_CODE_J, Q_KEY_CODE_K, Q_KEY_CODE_L,
        Q_KEY_CODE_M, Q_KEY_CODE_N, Q_KEY_CODE_O, Q_KEY_CODE_P,
        Q_KEY_CODE_Q, Q_KEY_CODE_R, Q_KEY_CODE_S, Q_KEY_CODE_T,
        Q_KEY_CODE_U, Q_KEY_CODE_V, Q_KEY_CODE_W, Q_KEY_CODE_X,
        Q_KEY_CODE_Y, Q_KEY_CODE_Z,
    };
    static const QKeyCode digits[10] = {
        Q_KEY_CODE_1, Q_KEY_CODE_2, Q_KEY_CODE_3, Q_KEY_CODE_4,
        Q_KEY_CODE_5, Q_KEY_CODE_6, Q_KEY_CODE_7, Q_KEY_CODE_8,
        Q_KEY_CODE_9, Q_KEY_CODE_0,
    };
    const char *p;

    if (c >= 'a' && c <= 'z') {
        return letters[c - 'a'];
    }
    if (c >= 'A' && c <= 'Z') {
        return letters[c - 'A'];
    }
    if (c == ' ') {
        return Q_KEY_CODE_SPC;
    }
    if (c && (p = strchr(row_digits, (int)c))) {
        return digits[p - row_digits];
    }
    if (c && (p = strchr(shifted_digits, (int)c))) {
        return digits[p - shifted_digits];
    }
    for (unsigned i = 0; i < ARRAY_SIZE(punct); i++) {
        if (punct[i].c == (char)c || punct[i].shifted == (char)c) {
            return punct[i].q;
        }
    }
    return Q_KEY_CODE_UNMAPPED;
}

/* ---- keyboard layouts (-k) ------------------------------------------ */

typedef struct LayoutEntry {
    uint32_t keysym;
    uint16_t linux_code;
    uint8_t level;              /* 0 plain, 1 shift, 2 AltGr, 3 both */
} LayoutEntry;

typedef struct LayoutTable {
    const char *name;
    const LayoutEntry *entries;
    size_t count;
} LayoutTable;

#include "keymaps-data.h"

static const LayoutTable *current_layout;   /* NULL: the built-in US map */

bool qemu_input_set_keymap(const char *name, GError **errp)
{
    g_autoptr(GString) names = g_string_new("");

    for (unsigned i = 0; i < ARRAY_SIZE(keymap_layouts); i++) {
        if (!strcmp(keymap_layouts[i].name, name)) {
            current_layout = &keymap_layouts[i];
            return true;
        }
        g_string_append_printf(names, "%s%s", i ? " " : "",
                               keymap_layouts[i].name);
    }
    error_setg(errp, "unknown keyboard layout '%s' (known: %s)", name,
               names->str);
    return false;
}

const char *qemu_input_get_keymap(void)
{
    return current_layout ? current_layout->name : "en-us";
}

QKeyCode qemu_input_linux_to_qcode(unsigned linux_code)
{
    for (unsigned q = 1; linux_code && q < Q_KEY_CODE__MAX; q++) {
        if (qcode_map[q].linux_code == linux_code) {
            return q;
        }
    }
    return Q_KEY_CODE_UNMAPPED;
}

static const LayoutEntry *layout_find(const LayoutTable *t, uint32_t keysym)
{
    size_t lo = 0, hi = t->count;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->entries[mid].keysym < keysym) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < t->count && t->entries[lo].keysym == keysym
           ? &t->entries[lo] : NULL;
}

static const LayoutTable *layout_or_us(void)
{
    if (!current_layout) {
        for (unsigned i = 0; i < ARRAY_SIZE(keymap_layouts); i++) {
            if (!strcmp(keymap_layouts[i].name, "en-us")) {
                return &keymap_layouts[i];
            }
        }
    }
    return current_layout;
}

uint32_t qemu_input_qcode_to_keysym(QKeyCode q, unsigned level)
{
    const LayoutTable *t = layout_or_us();
    unsigned lc = q < Q_KEY_CODE__MAX ? qcode_map[q].linux_code : 0;
    uint32_t plain = 0;

    for (size_t i = 0; lc && t && i < t->count; i++) {
        if (t->entries[i].linux_code != lc) {
            continue;
        }
        if (t->entries[i].level == level) {
            return t->entries[i].keysym;
        }
        if (t->entries[i].level == 0 && !plain) {
            plain = t->entries[i].keysym;
        }
    }
    return plain;
}

QKeyCode qemu_input_keysym_to_qcode(uint32_t keysym)
{
    if (current_layout) {
        const LayoutEntry *e = layout_find(current_layout, keysym);
        if (e) {
            QKeyCode q = qemu_input_linux_to_qcode(e->linux_code);
            if (q != Q_KEY_CODE_UNMAPPED) {
                return q;
            }
        }
    }
    return qemu_input_keysym_to_qcode_us(keysym);
}

QKeyCode qemu_input_keysym_to_qcode_us(uint32_t keysym)
{
    if (keysym >= 0x20 && keysym < 0x7f) {
        return ascii_to_qcode(keysym);
    }
    if (keysym >= 0xffbe && keysym <= 0xffc9) {     /* F1-F12 */
        static const QKeyCode f[12] = {
            Q_KEY_CODE_F1, Q_KEY_CODE_F2, Q_KEY_CODE_F3, Q_KEY_CODE_F4,
            Q_KEY_CODE_F5, Q_KEY_CODE_F6, Q_KEY_CODE_F7, Q_KEY_CODE_F8,
            Q_KEY_CODE_F9, Q_KEY_CODE_F10, Q_KEY_CODE_F11, Q_KEY_CODE_F12,
        };
        return f[keysym - 0xffbe];
    }
    for (unsigned i = 0; i < ARRAY_SIZE(keysym_special); i++) {
        if (keysym_special[i].keysym == keysym) {
            return keysym_special[i].qcode;
        }
    }
    return Q_KEY_CODE_UNMAPPED;
}
