/*
 * The SDL2 window (-display sdl[,gl=off][,grab-mod=lshift-lctrl-lalt|rctrl]
 * [,show-cursor=on|off][,window-close=on|off], -sdl): a front end of the
 * console layer (include/ui/console.h) and an input source.
 *
 * One window per graphic console, each a DisplayChangeListener.  The
 * console's surface (x8r8g8b8) is streamed into an SDL texture of the
 * same format: a dpy_gfx_update copies only the changed rectangle
 * (SDL_UpdateTexture), and the window is presented once per refresh tick
 * if anything changed, scaled to the window's size (the user may resize
 * it; a guest mode change resizes it to the mode).
 *
 * SDL is not thread safe, so everything here runs on the main thread: the
 * console layer's refresh timer (30 ms, GUI_REFRESH_INTERVAL_DEFAULT)
 * calls dpy_refresh, which drains SDL's event queue.  An idle window
 * costs that tick and nothing else; no thread of SDL's polls.
 *
 * Input: SDL scancodes (USB HID usages) -> QKeyCode, so the host's layout
 * does not matter; the grab modifiers (Ctrl-Alt, or what grab-mod says)
 * with G toggle the grab, F full screen, 1..9 show console N (graphic or
 * text; a text console gets typed text as keysyms).  The mouse is
 * absolute when an absolute pointer device exists, else relative while
 * grabbed (a click in the window grabs).  The close button asks the
 * guest to power down (system_powerdown), unless window-close=off.
 *
 * The guest's hardware cursor (virtio-gpu's cursor queue, through the
 * console layer's cursor channel) becomes an SDL colour cursor of the
 * same ARGB image and hot spot; the guest hiding it hides the pointer
 * over the window.  A user's window resize is passed to the device as a
 * size wish (dpy_set_ui_info), which virtio-gpu turns into a display
 * change event for its guest, as QEMU does.
 *
 * Not done: gl=on (OpenGL scanouts; refused), several windows' hotkeys
 * acting on the others.
 */
#include "qemu/osdep.h"
#include "ui/console.h"
#include "ui/input.h"
#include "ui/sdl2.h"
#include "hw/boards.h"
#include "system/runstate.h"
#include <SDL.h>

#define SDL_MAX_WINDOWS     8

typedef struct SdlWindow {
    DisplayChangeListener dcl;
    SDL_Window *window;
    SDL_Renderer *renderer;
    SDL_Texture *texture;
    pixman_image_t *surface;
    int w, h;                       /* surface size */
    bool dirty;                     /* present at the next refresh */
    uint32_t buttons;
} SdlWindow;

static SdlWindow windows[SDL_MAX_WINDOWS];
static unsigned nr_windows;
static bool grab;
static bool fullscreen;
static bool window_close = true;
static bool show_cursor;
static unsigned grab_mods;          /* KMOD_* all of which must be held */
/* the guest's cursor (SDL has one pointer for all windows) */
static SDL_Cursor *guest_sprite;    /* NULL: SDL's default arrow */
static bool guest_cursor_hidden;
static bool hotkey_used;            /* swallow the modifiers' releases */

/* ---- keys ---------------------------------------------------------------- */

static const QKeyCode scancode_map[SDL_NUM_SCANCODES] = {
    [SDL_SCANCODE_A] = Q_KEY_CODE_A, [SDL_SCANCODE_B] = Q_KEY_CODE_B,
    [SDL_SCANCODE_C] = Q_KEY_CODE_C, [SDL_SCANCODE_D] = Q_KEY_CODE_D,
    [SDL_SCANCODE_E] = Q_KEY_CODE_E, [SDL_SCANCODE_F] = Q_KEY_CODE_F,
    [SDL_SCANCODE_G] = Q_KEY_CODE_G, [SDL_SCANCODE_H] = Q_KEY_CODE_H,
    [SDL_SCANCODE_I] = Q_KEY_CODE_I, [SDL_SCANCODE_J] = Q_KEY_CODE_J,
    [SDL_SCANCODE_K] = Q_KEY_CODE_K, [SDL_SCANCODE_L] = Q_KEY_CODE_L,
    [SDL_SCANCODE_M] = Q_KEY_CODE_M, [SDL_SCANCODE_N] = Q_KEY_CODE_N,
    [SDL_SCANCODE_O] = Q_KEY_CODE_O, [SDL_SCANCODE_P] = Q_KEY_CODE_P,
    [SDL_SCANCODE_Q] = Q_KEY_CODE_Q, [SDL_SCANCODE_R] = Q_KEY_CODE_R,
    [SDL_SCANCODE_S] = Q_KEY_CODE_S, [SDL_SCANCODE_T] = Q_KEY_CODE_T,
    [SDL_SCANCODE_U] = Q_KEY_CODE_U, [SDL_SCANCODE_V] = Q_KEY_CODE_V,
    [SDL_SCANCODE_W] = Q_KEY_CODE_W, [SDL_SCANCODE_X] = Q_KEY_CODE_X,
    [SDL_SCANCODE_Y] = Q_KEY_CODE_Y, [SDL_SCANCODE_Z] = Q_KEY_CODE_Z,
    [SDL_SCANCODE_1] = Q_KEY_CODE_1, [SDL_SCANCODE_2] = Q_KEY_CODE_2,
    [SDL_SCANCODE_3] = Q_KEY_CODE_3, [SDL_SCANCODE_4] = Q_KEY_CODE_4,
    [SDL_SCANCODE_5] = Q_KEY_CODE_5, [SDL_SCANCODE_6] = Q_KEY_CODE_6,
    [SDL_SCANCODE_7] = Q_KEY_CODE_7, [SDL_SCANCODE_8] = Q_KEY_CODE_8,
    [SDL_SCANCODE_9] = Q_KEY_CODE_9, [SDL_SCANCODE_0] = Q_KEY_CODE_0,
    [SDL_SCANCODE_RETURN] = Q_KEY_CODE_RET,
    [SDL_SCANCODE_ESCAPE] = Q_KEY_CODE_ESC,
    [SDL_SCANCODE_BACKSPACE] = Q_KEY_CODE_BACKSPACE,
    [SDL_SCANCODE_TAB] = Q_KEY_CODE_TAB,
    [SDL_SCANCODE_SPACE] = Q_KEY_CODE_SPC,
    [SDL_SCANCODE_MINUS] = Q_KEY_CODE_MINUS,
    [SDL_SCANCODE_EQUALS] = Q_KEY_CODE_EQUAL,
    [SDL_SCANCODE_LEFTBRACKET] = Q_KEY_CODE_BRACKET_LEFT,
    [SDL_SCANCODE_RIGHTBRACKET] = Q_KEY_CODE_BRACKET_RIGHT,
    [SDL_SCANCODE_BACKSLASH] = Q_KEY_CODE_BACKSLASH,
    [SDL_SCANCODE_NONUSHASH] = Q_KEY_CODE_BACKSLASH,
    [SDL_SCANCODE_SEMICOLON] = Q_KEY_CODE_SEMICOLON,
    [SDL_SCANCODE_APOSTROPHE] = Q_KEY_CODE_APOSTROPHE,
    [SDL_SCANCODE_GRAVE] = Q_KEY_CODE_GRAVE_ACCENT,
    [SDL_SCANCODE_COMMA] = Q_KEY_CODE_COMMA,
    [SDL_SCANCODE_PERIOD] = Q_KEY_CODE_DOT,
    [SDL_SCANCODE_SLASH] = Q_KEY_CODE_SLASH,
    [SDL_SCANCODE_CAPSLOCK] = Q_KEY_CODE_CAPS_LOCK,
    [SDL_SCANCODE_F1] = Q_KEY_CODE_F1, [SDL_SCANCODE_F2] = Q_KEY_CODE_F2,
    [SDL_SCANCODE_F3] = Q_KEY_CODE_F3, [SDL_SCANCODE_F4] = Q_KEY_CODE_F4,
    [SDL_SCANCODE_F5] = Q_KEY_CODE_F5, [SDL_SCANCODE_F6] = Q_KEY_CODE_F6,
    [SDL_SCANCODE_F7] = Q_KEY_CODE_F7, [SDL_SCANCODE_F8] = Q_KEY_CODE_F8,
    [SDL_SCANCODE_F9] = Q_KEY_CODE_F9, [SDL_SCANCODE_F10] = Q_KEY_CODE_F10,
    [SDL_SCANCODE_F11] = Q_KEY_CODE_F11, [SDL_SCANCODE_F12] = Q_KEY_CODE_F12,
    [SDL_SCANCODE_PRINTSCREEN] = Q_KEY_CODE_PRINT,
    [SDL_SCANCODE_SCROLLLOCK] = Q_KEY_CODE_SCROLL_LOCK,
    [SDL_SCANCODE_PAUSE] = Q_KEY_CODE_PAUSE,
    [SDL_SCANCODE_INSERT] = Q_KEY_CODE_INSERT,
    [SDL_SCANCODE_HOME] = Q_KEY_CODE_HOME,
    [SDL_SCANCODE_PAGEUP] = Q_KEY_CODE_PGUP,
    [SDL_SCANCODE_DELETE] = Q_KEY_CODE_DELETE,
    [SDL_SCANCODE_END] = Q_KEY_CODE_END,
    [SDL_SCANCODE_PAGEDOWN] = Q_KEY_CODE_PGDN,
    [SDL_SCANCODE_RIGHT] = Q_KEY_CODE_RIGHT,
    [SDL_SCANCODE_LEFT] = Q_KEY_CODE_LEFT,
    [SDL_SCANCODE_DOWN] = Q_KEY_CODE_DOWN,
    [SDL_SCANCODE_UP] = Q_KEY_CODE_UP,
    [SDL_SCANCODE_NUMLOCKCLEAR] = Q_KEY_CODE_NUM_LOCK,
    [SDL_SCANCODE_KP_DIVIDE] = Q_KEY_CODE_KP_DIVIDE,
    [SDL_SCANCODE_KP_MULTIPLY] = Q_KEY_CODE_KP_MULTIPLY,
    [SDL_SCANCODE_KP_MINUS] = Q_KEY_CODE_KP_SUBTRACT,
    [SDL_SCANCODE_KP_PLUS] = Q_KEY_CODE_KP_ADD,
    [SDL_SCANCODE_KP_ENTER] = Q_KEY_CODE_KP_ENTER,
    [SDL_SCANCODE_KP_1] = Q_KEY_CODE_KP_1, [SDL_SCANCODE_KP_2] = Q_KEY_CODE_KP_2,
    [SDL_SCANCODE_KP_3] = Q_KEY_CODE_KP_3, [SDL_SCANCODE_KP_4] = Q_KEY_CODE_KP_4,
    [SDL_SCANCODE_KP_5] = Q_KEY_CODE_KP_5, [SDL_SCANCODE_KP_6] = Q_KEY_CODE_KP_6,
    [SDL_SCANCODE_KP_7] = Q_KEY_CODE_KP_7, [SDL_SCANCODE_KP_8] = Q_KEY_CODE_KP_8,
    [SDL_SCANCODE_KP_9] = Q_KEY_CODE_KP_9, [SDL_SCANCODE_KP_0] = Q_KEY_CODE_KP_0,
    [SDL_SCANCODE_KP_PERIOD] = Q_KEY_CODE_KP_DECIMAL,
    [SDL_SCANCODE_KP_EQUALS] = Q_KEY_CODE_KP_EQUALS,
    [SDL_SCANCODE_KP_COMMA] = Q_KEY_CODE_KP_COMMA,
    [SDL_SCANCODE_NONUSBACKSLASH] = Q_KEY_CODE_LESS,
    [SDL_SCANCODE_APPLICATION] = Q_KEY_CODE_MENU,
    [SDL_SCANCODE_LCTRL] = Q_KEY_CODE_CTRL,
    [SDL_SCANCODE_LSHIFT] = Q_KEY_CODE_SHIFT,
    [SDL_SCANCODE_LALT] = Q_KEY_CODE_ALT,
    [SDL_SCANCODE_LGUI] = Q_KEY_CODE_META_L,
    [SDL_SCANCODE_RCTRL] = Q_KEY_CODE_CTRL_R,
    [SDL_SCANCODE_RSHIFT] = Q_KEY_CODE_SHIFT_R,
    [SDL_SCANCODE_RALT] = Q_KEY_CODE_ALT_R,
    [SDL_SCANCODE_RGUI] = Q_KEY_CODE_META_R,
    [SDL_SCANCODE_INTERNATIONAL1] = Q_KEY_CODE_RO,
    [SDL_SCANCODE_INTERNATIONAL3] = Q_KEY_CODE_YEN,
    [SDL_SCANCODE_LANG1] = Q_KEY_CODE_HIRAGANA,
    [SDL_SCANCODE_LANG2] = Q_KEY_CODE_HENKAN,
};

/* ---- windows --------------------------------------------------------------- */

static SdlWindow *window_by_id(uint32_t id)
{
    for (unsigned i = 0; i < nr_windows; i++) {
        if (windows[i].window && SDL_GetWindowID(windows[i].window) == id) {
            return &windows[i];
        }
    }
    return NULL;
}

static void update_title(SdlWindow *sw)
{
    const char *name = current_machine ? current_machine->name : NULL;
    g_autofree char *base = name ? g_strdup_printf("%s - kvmpc", name)
                                 : g_strdup("kvmpc");
    QemuConsole *con = dpy_get_console(&sw->dcl);
    g_autofree char *title = NULL;

    if (con && !qemu_console_is_graphic(con)) {
        title = g_strdup_printf("%s: %s", base, qemu_console_label(con));
    } else {
        title = g_strdup(base);
    }
    if (grab) {
        char *t = g_strdup_printf("%s (Press %s + g to release grab)", title,
                                  grab_mods == KMOD_RCTRL ? "rctrl"
                                  : grab_mods == (KMOD_LSHIFT | KMOD_LCTRL |
                                                  KMOD_LALT)
                                  ? "lshift + lctrl + lalt"
                                  : "ctrl + alt");
        g_free(title);
        title = t;
    }
    SDL_SetWindowTitle(sw->window, title);
}

static void present(SdlWindow *sw)
{
    if (!sw->texture) {
        return;
    }
    SDL_RenderClear(sw->renderer);
    /* the logical size keeps the aspect and scales to the window */
    SDL_RenderCopy(sw->renderer, sw->texture, NULL, NULL);
    SDL_RenderPresent(sw->renderer);
    sw->dirty = false;
}

static void sdl_gfx_switch(DisplayChangeListener *dcl,
                           pixman_image_t *surface)
{
    SdlWindow *sw = dcl->opaque;
    int w = pixman_image_get_width(surface);
    int h = pixman_image_get_height(surface);

    sw->surface = surface;
    if (!sw->texture || w != sw->w || h != sw->h) {
        if (sw->texture) {
            SDL_DestroyTexture(sw->texture);
        }
        /* x8r8g8b8 in host order is SDL's ARGB8888/RGB888 packed format */
        sw->texture = SDL_CreateTexture(sw->renderer, SDL_PIXELFORMAT_RGB888,
                                        SDL_TEXTUREACCESS_STREAMING, w, h);
        SDL_RenderSetLogicalSize(sw->renderer, w, h);
        if (!fullscreen) {
            /* the window follows the guest's mode */
            SDL_SetWindowSize(sw->window, w, h);
        }
        sw->w = w;
        sw->h = h;
    }
    if (sw->texture) {
        SDL_UpdateTexture(sw->texture, NULL, pixman_image_get_data(surface),
                          pixman_image_get_stride(surface));
    }
    sw->dirty = true;
    update_title(sw);
}

static void sdl_gfx_update(DisplayChangeListener *dcl, int x, int y, int w,
                           int h)
{
    SdlWindow *sw = dcl->opaque;
    SDL_Rect r = { x, y, w, h };
    const uint8_t *bits;
    int stride;

    if (!sw->texture || !sw->surface || x + w > sw->w || y + h > sw->h) {
        return;
    }
    bits = (const uint8_t *)pixman_image_get_data(sw->surface);
    stride = pixman_image_get_stride(sw->surface);
    SDL_UpdateTexture(sw->texture, &r, bits + (size_t)y * stride + x * 4,
                      stride);
    sw->dirty = true;
}

/*
 * The pointer over the windows: the guest's sprite if it defined one,
 * hidden while grabbed (unless show-cursor=on) or while the guest hides
 * its cursor.
 */
static void update_cursor(void)
{
    bool hide = (grab && !show_cursor) || (guest_sprite && guest_cursor_hidden);

    SDL_SetCursor(guest_sprite ? guest_sprite : SDL_GetDefaultCursor());
    SDL_ShowCursor(hide ? SDL_DISABLE : SDL_ENABLE);
}

static void set_grab(SdlWindow *sw, bool on)
{
    grab = on;
    SDL_SetWindowGrab(sw->window, on);
    if (!qemu_input_is_absolute()) {
        SDL_SetRelativeMouseMode(on);
    }
    update_cursor();
    for (unsigned i = 0; i < nr_windows; i++) {
        update_title(&windows[i]);
    }
}

static void toggle_fullscreen(SdlWindow *sw)
{
    fullscreen = !fullscreen;
    SDL_SetWindowFullscreen(sw->window, fullscreen
                            ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    if (!fullscreen) {
        SDL_SetWindowSize(sw->window, sw->w, sw->h);
    }
    sw->dirty = true;
}

static void switch_console(SdlWindow *sw, unsigned index)
{
    QemuConsole *con = qemu_console_lookup_by_index(index);

    if (!con) {
        return;
    }
    if (!qemu_console_is_graphic(con)) {
        SDL_StartTextInput();
    }
    dpy_set_console(&sw->dcl, con);
    update_title(sw);
}

/* ---- events ---------------------------------------------------------------- */

/*
 * The modifiers held, from the key events themselves: SDL's own mod state
 * is re-read from the X server, which may not map Alt (Xvfb) and then
 * reports none.
 */
static unsigned held_mods;

static void track_mods(SDL_Scancode sc, bool down)
{
    unsigned bit = 0;

    switch (sc) {
    case SDL_SCANCODE_LCTRL:
        bit = KMOD_LCTRL;
        break;
    case SDL_SCANCODE_RCTRL:
        bit = KMOD_RCTRL;
        break;
    case SDL_SCANCODE_LALT:
        bit = KMOD_LALT;
        break;
    case SDL_SCANCODE_RALT:
        bit = KMOD_RALT;
        break;
    case SDL_SCANCODE_LSHIFT:
        bit = KMOD_LSHIFT;
        break;
    case SDL_SCANCODE_RSHIFT:
        bit = KMOD_RSHIFT;
        break;
    default:
        return;
    }
    held_mods = down ? held_mods | bit : held_mods & ~bit;
}

static bool mods_held(void)
{
    unsigned m = held_mods;

    if (grab_mods == (KMOD_LCTRL | KMOD_LALT)) {
        /* either Ctrl and either Alt, as QEMU */
        return (m & KMOD_CTRL) && (m & KMOD_ALT);
    }
    return (m & grab_mods) == grab_mods;
}

static bool hotkey(SdlWindow *sw, SDL_Scancode sc)
{
    switch (sc) {
    case SDL_SCANCODE_G:
        set_grab(sw, !grab);
        return true;
    case SDL_SCANCODE_F:
        toggle_fullscreen(sw);
        return true;
    case SDL_SCANCODE_1 ... SDL_SCANCODE_9:
        switch_console(sw, sc - SDL_SCANCODE_1);
        return true;
    default:
        return false;
    }
}

/* A key for a text console: the few that make no SDL_TEXTINPUT. */
static void text_console_key(QemuConsole *con, const SDL_KeyboardEvent *ev)
{
    static const struct { SDL_Keycode sym; uint32_t keysym; } keys[] = {
        { SDLK_RETURN, 0xff0d }, { SDLK_KP_ENTER, 0xff8d },
        { SDLK_BACKSPACE, 0xff08 }, { SDLK_TAB, 0xff09 },
        { SDLK_ESCAPE, 0xff1b }, { SDLK_UP, 0xff52 }, { SDLK_DOWN, 0xff54 },
        { SDLK_LEFT, 0xff51 }, { SDLK_RIGHT, 0xff53 },
        { SDLK_HOME, 0xff50 }, { SDLK_END, 0xff57 },
        { SDLK_INSERT, 0xff63 }, { SDLK_DELETE, 0xffff },
        { SDLK_PAGEUP, 0xff55 }, { SDLK_PAGEDOWN, 0xff56 },
    };
    SDL_Keycode sym = ev->keysym.sym;

    if ((held_mods & KMOD_CTRL) && sym >= 'a' && sym <= 'z') {
        qemu_text_console_put_keysym(con, sym - 'a' + 1);
        return;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
        if (keys[i].sym == sym) {
            /* Shift/Ctrl-PageUp etc. scroll the console's history */
            qemu_text_console_put_keysym(con, keys[i].keysym |
                ((held_mods & KMOD_SHIFT) ? TEXT_KEY_MOD_SHIFT : 0) |
                ((held_mods & KMOD_CTRL) ? TEXT_KEY_MOD_CTRL : 0));
            return;
        }
    }
}

static void handle_key(SdlWindow *sw, const SDL_KeyboardEvent *ev)
{
    bool down = ev->type == SDL_KEYDOWN;
    SDL_Scancode sc = ev->keysym.scancode;
    QemuConsole *con = dpy_get_console(&sw->dcl);
    QKeyCode q;

    track_mods(sc, down);
    if (down && mods_held() && hotkey(sw, sc)) {
        hotkey_used = true;
        return;
    }
    if (!down && hotkey_used && !mods_held()) {
        hotkey_used = false;
    }
    if (con && !qemu_console_is_graphic(con)) {
        if (down) {
            text_console_key(con, ev);
        }
        return;
    }
    if ((unsigned)sc >= SDL_NUM_SCANCODES) {
        return;
    }
    q = scancode_map[sc];
    if (q != Q_KEY_CODE_UNMAPPED) {
        /* auto-repeat comes as more presses, as a PC keyboard's typematic */
        qemu_input_event_send_key_qcode(con, q, down);
    }
}

static void handle_text(SdlWindow *sw, const SDL_TextInputEvent *ev)
{
    QemuConsole *con = dpy_get_console(&sw->dcl);
    const char *p = ev->text;

    if (!con || qemu_console_is_graphic(con) || mods_held()) {
        return;
    }
    while (*p) {
        gunichar u = g_utf8_get_char_validated(p, -1);
        if (u == (gunichar)-1 || u == (gunichar)-2) {
            break;
        }
        qemu_text_console_put_keysym(con, u < 0x100 ? u : 0x01000000 | u);
        p = g_utf8_next_char(p);
    }
}

static uint32_t sdl_button_bit(uint8_t b)
{
    switch (b) {
    case SDL_BUTTON_LEFT:
        return 1u << INPUT_BUTTON_LEFT;
    case SDL_BUTTON_MIDDLE:
        return 1u << INPUT_BUTTON_MIDDLE;
    case SDL_BUTTON_RIGHT:
        return 1u << INPUT_BUTTON_RIGHT;
    case SDL_BUTTON_X1:
        return 1u << INPUT_BUTTON_SIDE;
    case SDL_BUTTON_X2:
        return 1u << INPUT_BUTTON_EXTRA;
    }
    return 0;
}

/* Window coordinates (already mapped by the logical size) to the guest. */
static void send_abs(SdlWindow *sw, int x, int y)
{
    QemuConsole *con = dpy_get_console(&sw->dcl);

    qemu_input_queue_abs(con, INPUT_AXIS_X, CLAMP(x, 0, sw->w - 1), 0,
                         MAX(sw->w - 1, 1));
    qemu_input_queue_abs(con, INPUT_AXIS_Y, CLAMP(y, 0, sw->h - 1), 0,
                         MAX(sw->h - 1, 1));
}

static bool pointer_live(SdlWindow *sw)
{
    QemuConsole *con = dpy_get_console(&sw->dcl);

    return qemu_console_is_graphic(con) &&
           (grab || qemu_input_is_absolute());
}

static void handle_motion(SdlWindow *sw, const SDL_MouseMotionEvent *ev)
{
    if (!pointer_live(sw)) {
        return;
    }
    if (qemu_input_is_absolute()) {
        send_abs(sw, ev->x, ev->y);
    } else {
        qemu_input_queue_rel(NULL, INPUT_AXIS_X, ev->xrel);
        qemu_input_queue_rel(NULL, INPUT_AXIS_Y, ev->yrel);
    }
    qemu_input_event_sync();
}

static void handle_button(SdlWindow *sw, const SDL_MouseButtonEvent *ev)
{
    uint32_t bit = sdl_button_bit(ev->button);
    uint32_t buttons;

    if (!grab && !qemu_input_is_absolute()) {
        /* a click into the window takes the relative mouse, as QEMU */
        if (ev->type == SDL_MOUSEBUTTONUP && ev->button == SDL_BUTTON_LEFT &&
            qemu_console_is_graphic(dpy_get_console(&sw->dcl))) {
            set_grab(sw, true);
        }
        return;
    }
    if (!pointer_live(sw)) {
        return;
    }
    buttons = ev->type == SDL_MOUSEBUTTONDOWN ? sw->buttons | bit
                                              : sw->buttons & ~bit;
    if (qemu_input_is_absolute()) {
        send_abs(sw, ev->x, ev->y);
    }
    qemu_input_update_buttons(NULL, sw->buttons, buttons);
    sw->buttons = buttons;
    qemu_input_event_sync();
}

static void handle_wheel(SdlWindow *sw, const SDL_MouseWheelEvent *ev)
{
    InputButton b;

    if (!pointer_live(sw) || !ev->y) {
        return;
    }
    b = ev->y > 0 ? INPUT_BUTTON_WHEEL_UP : INPUT_BUTTON_WHEEL_DOWN;
    qemu_input_queue_btn(NULL, b, true);
    qemu_input_event_sync();
    qemu_input_queue_btn(NULL, b, false);
    qemu_input_event_sync();
}

static void handle_window(SdlWindow *sw, const SDL_WindowEvent *ev)
{
    switch (ev->event) {
    case SDL_WINDOWEVENT_CLOSE:
        if (window_close) {
            /* as QEMU's close button: ask the guest to power down */
            qemu_system_powerdown_request();
        }
        break;
    case SDL_WINDOWEVENT_FOCUS_LOST:
        held_mods = 0;
        if (grab) {
            set_grab(sw, false);
        }
        break;
    case SDL_WINDOWEVENT_RESIZED: {
        /* the user (or the window manager) resized it: tell the device */
        QemuUIInfo info = { .width = ev->data1, .height = ev->data2 };
        if (!fullscreen) {
            dpy_set_ui_info(dpy_get_console(&sw->dcl), &info);
        }
        sw->dirty = true;
        break;
    }
    case SDL_WINDOWEVENT_SIZE_CHANGED:
    case SDL_WINDOWEVENT_EXPOSED:
    case SDL_WINDOWEVENT_RESTORED:
        sw->dirty = true;
        break;
    }
}

static void sdl_refresh(DisplayChangeListener *dcl)
{
    SdlWindow *self = dcl->opaque;
    SDL_Event ev;

    /* the first window's tick drains the queue for all of them */
    if (self == &windows[0]) {
        while (SDL_PollEvent(&ev)) {
            SdlWindow *sw;
            switch (ev.type) {
            case SDL_KEYDOWN:
            case SDL_KEYUP:
                sw = window_by_id(ev.key.windowID);
                if (sw) {
                    handle_key(sw, &ev.key);
                }
                break;
            case SDL_TEXTINPUT:
                sw = window_by_id(ev.text.windowID);
                if (sw) {
                    handle_text(sw, &ev.text);
                }
                break;
            case SDL_MOUSEMOTION:
                sw = window_by_id(ev.motion.windowID);
                if (sw) {
                    handle_motion(sw, &ev.motion);
                }
                break;
            case SDL_MOUSEBUTTONDOWN:
            case SDL_MOUSEBUTTONUP:
                sw = window_by_id(ev.button.windowID);
                if (sw) {
                    handle_button(sw, &ev.button);
                }
                break;
            case SDL_MOUSEWHEEL:
                sw = window_by_id(ev.wheel.windowID);
                if (sw) {
                    handle_wheel(sw, &ev.wheel);
                }
                break;
            case SDL_WINDOWEVENT:
                sw = window_by_id(ev.window.windowID);
                if (sw) {
                    handle_window(sw, &ev.window);
                }
                break;
            case SDL_QUIT:
                /* the last window closed: handled by its CLOSE event */
                break;
            }
        }
    }
    if (self->dirty) {
        present(self);
    }
}

static void sdl_cursor_define(DisplayChangeListener *dcl, QEMUCursor *c)
{
    SDL_Surface *img = NULL;
    SDL_Cursor *sprite = NULL;

    (void)dcl;
    if (c) {
        /* SDL copies the pixels: the console's cursor need not live on */
        img = SDL_CreateRGBSurfaceFrom(c->data, c->width, c->height, 32,
                                       c->width * 4, 0x00ff0000, 0x0000ff00,
                                       0x000000ff, 0xff000000);
        if (img) {
            sprite = SDL_CreateColorCursor(img, c->hot_x, c->hot_y);
            SDL_FreeSurface(img);
        }
    }
    if (guest_sprite) {
        SDL_SetCursor(SDL_GetDefaultCursor());
        SDL_FreeCursor(guest_sprite);
    }
    guest_sprite = sprite;
    update_cursor();
}

static void sdl_mouse_set(DisplayChangeListener *dcl, int x, int y,
                          bool visible)
{
    (void)dcl;
    (void)x;
    (void)y;    /* the host pointer is where the user put it */
    if (guest_cursor_hidden != !visible) {
        guest_cursor_hidden = !visible;
        update_cursor();
    }
}

static const DisplayChangeListenerOps sdl_dcl_ops = {
    .name = "sdl",
    .dpy_refresh = sdl_refresh,
    .dpy_gfx_update = sdl_gfx_update,
    .dpy_gfx_switch = sdl_gfx_switch,
    .dpy_cursor_define = sdl_cursor_define,
    .dpy_mouse_set = sdl_mouse_set,
};

/* ---- options and start ----------------------------------------------------- */

static bool parse_onoff(const char *key, const char *val, bool *out,
                        GError **errp)
{
    if (!val || !strcmp(val, "on") || !strcmp(val, "yes") ||
        !strcmp(val, "true")) {
        *out = true;
    } else if (!strcmp(val, "off") || !strcmp(val, "no") ||
               !strcmp(val, "false")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

bool sdl_display_parse(const char *opts, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(opts ? opts : "", ",", -1);

    grab_mods = KMOD_LCTRL | KMOD_LALT;
    for (unsigned i = 0; parts[i]; i++) {
        char *eq = strchr(parts[i], '=');
        g_autofree char *key = eq ? g_strndup(parts[i], eq - parts[i])
                                  : g_strdup(parts[i]);
        const char *val = eq ? eq + 1 : NULL;
        bool b;

        if (!*key) {
            continue;
        }
        if (!strcmp(key, "gl")) {
            if (val && strcmp(val, "off") && strcmp(val, "no") &&
                strcmp(val, "false")) {
                error_setg(errp, "-display sdl: gl=%s is not supported by "
                           "kvmpc (no OpenGL scanouts); use gl=off", val);
                return false;
            }
        } else if (!strcmp(key, "grab-mod")) {
            if (val && !strcmp(val, "lshift-lctrl-lalt")) {
                grab_mods = KMOD_LSHIFT | KMOD_LCTRL | KMOD_LALT;
            } else if (val && !strcmp(val, "rctrl")) {
                grab_mods = KMOD_RCTRL;
            } else {
                error_setg(errp, "-display sdl: grab-mod expects "
                           "lshift-lctrl-lalt or rctrl");
                return false;
            }
        } else if (!strcmp(key, "show-cursor")) {
            if (!parse_onoff(key, val, &show_cursor, errp)) {
                return false;
            }
        } else if (!strcmp(key, "window-close")) {
            if (!parse_onoff(key, val, &b, errp)) {
                return false;
            }
            window_close = b;
        } else if (!strcmp(key, "full-screen")) {
            if (!parse_onoff(key, val, &fullscreen, errp)) {
                return false;
            }
        } else {
            error_setg(errp, "-display sdl: invalid parameter '%s'", key);
            return false;
        }
    }
    return true;
}

void sdl_display_query(DisplayOptions *opts)
{
    opts->has_full_screen = true;
    opts->full_screen = fullscreen;
    opts->has_window_close = true;
    opts->window_close = window_close;
    opts->has_show_cursor = true;
    opts->show_cursor = show_cursor;
}

static bool open_window(SdlWindow *sw, QemuConsole *con, GError **errp)
{
    int w = qemu_console_get_width(con), h = qemu_console_get_height(con);

    sw->window = SDL_CreateWindow("kvmpc", SDL_WINDOWPOS_UNDEFINED,
                                  SDL_WINDOWPOS_UNDEFINED, w, h,
                                  SDL_WINDOW_RESIZABLE |
                                  (fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP
                                              : 0));
    if (!sw->window) {
        error_setg(errp, "SDL window: %s", SDL_GetError());
        return false;
    }
    /* gl=off: SDL's software renderer, as QEMU without OpenGL */
    sw->renderer = SDL_CreateRenderer(sw->window, -1,
                                      SDL_RENDERER_SOFTWARE);
    if (!sw->renderer) {
        error_setg(errp, "SDL renderer: %s", SDL_GetError());
        return false;
    }
    SDL_SetRenderDrawColor(sw->renderer, 0, 0, 0, 255);
    sw->dcl.ops = &sdl_dcl_ops;
    sw->dcl.opaque = sw;
    sw->dcl.con = con;
    register_displaychangelistener(&sw->dcl);
    return true;
}

bool sdl_display_init(GError **errp)
{
    unsigned n = 0;

    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
    SDL_SetHint(SDL_HINT_GRAB_KEYBOARD, "1");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    /*
     * The software renderer draws into the window's surface.  Unless told
     * otherwise, SDL may back that surface with a hidden OpenGL renderer
     * (a "texture framebuffer": on X11 it recreates the window for GL, and
     * under Mesa's llvmpipe it does so even without a GPU).  That path
     * keeps the GL drawable's old size for the first frames after
     * SDL_SetWindowSize when the window has not been presented yet: a
     * guest mode change before the first refresh tick (640x480 ->
     * 1024x768) then showed the bottom 480 rows of the new picture at the
     * top of the window and black below, and nothing repainted it until
     * the guest drew again (issue 10: test_sdl_window's "pixel (0,0) is
     * 0020a0" for 30 s).  The native framebuffer (MIT-SHM on X11) has no
     * such state, costs no GL round trip, and is what gl=off means here.
     * Where a video driver has no native framebuffer SDL ignores this.
     */
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
        error_setg(errp, "Could not initialize SDL (%s) - exiting",
                   SDL_GetError());
        return false;
    }
    SDL_StopTextInput();
    for (unsigned i = 0; i < qemu_console_count() && n < SDL_MAX_WINDOWS;
         i++) {
        QemuConsole *con = qemu_console_lookup_by_index(i);
        if (con && qemu_console_is_graphic(con)) {
            if (!open_window(&windows[n++], con, errp)) {
                return false;
            }
            nr_windows = n;
        }
    }
    if (!n) {
        /* no display device: one window for the first text console, or none */
        QemuConsole *con = qemu_console_lookup_by_index(0);
        if (con) {
            if (!open_window(&windows[0], con, errp)) {
                return false;
            }
            nr_windows = 1;
            SDL_StartTextInput();
        }
    }
    return true;
}
