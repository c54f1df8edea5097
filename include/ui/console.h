/*
 * The console layer: the one place between display devices and display
 * front ends (VNC, SPICE; SDL2 and the browser console later).
 *
 * A display device registers a graphic console with two callbacks:
 * gfx_update brings the console's surface up to date (the device looks at
 * its dirty pages and registers, draws what changed and reports the
 * changed rectangles with dpy_gfx_update), invalidate asks for a full
 * redraw next time.  A surface is a pixman image, always x8r8g8b8 (32 bits
 * a pixel, host byte order), owned by the console; the device replaces it
 * with dpy_gfx_resize when its mode changes.
 *
 * A front end registers a DisplayChangeListener: it is told of surface
 * switches (resize) and of changed rectangles, and gets a refresh call on
 * every tick of the console's refresh timer.  The timer runs only while a
 * listener that wants ticks exists, at the shortest interval any listener
 * asks for (GUI_REFRESH_INTERVAL_DEFAULT, 30 ms, as QEMU), and each tick
 * first runs the device's gfx_update.  A VNC or SPICE server without
 * clients asks for none (GUI_REFRESH_NONE): the dirty log keeps what the
 * guest wrote meanwhile, and the server brings its picture up to date when
 * a client comes.  With no ticking listener nothing runs, and an idle
 * screen costs one dirty-bitmap scan per tick.  A front end whose client
 * has taken the last picture and will want the next asks for an early
 * tick with dpy_refresh_soon (no sooner than GUI_REFRESH_INTERVAL_MIN
 * after the previous one), so a fast client is not held to the interval.
 *
 * All functions run on the main thread with the big lock held.
 */
#ifndef UI_CONSOLE_H
#define UI_CONSOLE_H
#include "qemu/osdep.h"
#include <pixman.h>
#include "hw/qdev.h"

#define GUI_REFRESH_INTERVAL_DEFAULT    30      /* ms */
/*
 * A listener with nobody to show the screen to: no ticks for it, so a
 * display server without clients costs an idle machine no wake-ups.
 */
#define GUI_REFRESH_NONE                UINT64_MAX
/* The earliest tick dpy_refresh_soon gives: a frame of a 60 Hz display. */
#define GUI_REFRESH_INTERVAL_MIN        16      /* ms */

typedef struct QemuConsole QemuConsole;
typedef struct DisplayChangeListener DisplayChangeListener;

/*
 * A hardware cursor image: @width x @height ARGB pixels (a8r8g8b8, host
 * byte order, not premultiplied), the hot spot inside it.  Refcounted: a
 * front end that keeps the image past dpy_cursor_define takes a ref.
 */
typedef struct QEMUCursor {
    uint16_t width, height;
    int hot_x, hot_y;
    int refcount;
    uint32_t data[];
} QEMUCursor;

QEMUCursor *cursor_alloc(uint16_t width, uint16_t height);
QEMUCursor *cursor_ref(QEMUCursor *c);
void cursor_unref(QEMUCursor *c);
/* Whether any pixel of @c is visible (alpha != 0). */
bool cursor_has_pixels(const QEMUCursor *c);

/*
 * What a front end tells the device about the window it shows a head in
 * (SDL window size, a VNC client's SetDesktopSize, SPICE monitors config).
 */
typedef struct QemuUIInfo {
    uint32_t width, height;
} QemuUIInfo;

typedef struct GraphicHwOps {
    /* Bring the surface up to date, reporting changes with dpy_gfx_update. */
    void (*gfx_update)(void *opaque);
    /* Redraw everything at the next gfx_update. */
    void (*invalidate)(void *opaque);
    /*
     * Text consoles only (a vc chardev): a key typed while a front end
     * shows this console, as an X11 keysym (control characters as
     * their ASCII code).  Non-NULL makes the console a text console.
     */
    void (*text_key)(void *opaque, uint32_t keysym);
    /*
     * A front end would like the head to be @info's size (a device that
     * can, like virtio-gpu, tells its guest); NULL: the device ignores it.
     */
    void (*ui_info)(void *opaque, unsigned head, const QemuUIInfo *info);
} GraphicHwOps;

typedef struct DisplayChangeListenerOps {
    const char *name;
    /* Each refresh tick, after the device's update. */
    void (*dpy_refresh)(DisplayChangeListener *dcl);
    /* Pixels in the rectangle changed (already clipped to the surface). */
    void (*dpy_gfx_update)(DisplayChangeListener *dcl, int x, int y, int w,
                           int h);
    /* The console has a new surface (size or device change). */
    void (*dpy_gfx_switch)(DisplayChangeListener *dcl,
                           pixman_image_t *surface);
    /*
     * The cursor channel (optional).  A console whose device has a
     * hardware cursor defines its image here (the listener refs it to
     * keep it) and moves it with dpy_mouse_set (surface coordinates of
     * the hot spot; visible false hides it).  A listener switched to a
     * console gets that console's current cursor at once.  A NULL
     * cursor means the console has no hardware cursor (any more): the
     * front end goes back to its own default pointer, which is all a
     * console without a hardware cursor ever shows (today's behaviour).
     */
    void (*dpy_cursor_define)(DisplayChangeListener *dcl, QEMUCursor *cursor);
    void (*dpy_mouse_set)(DisplayChangeListener *dcl, int x, int y,
                          bool visible);
} DisplayChangeListenerOps;

struct DisplayChangeListener {
    const DisplayChangeListenerOps *ops;
    QemuConsole *con;           /* NULL: follow console 0 */
    uint64_t update_interval;   /* ms; 0: GUI_REFRESH_INTERVAL_DEFAULT;
                                   GUI_REFRESH_NONE: no ticks */
    void *opaque;
};

/* ---- devices --------------------------------------------------------- */

/*
 * A new graphic console for head @head of @dev.  It starts with a 640x480
 * black surface, as a device that has not set a mode yet shows.
 */
QemuConsole *graphic_console_init(DeviceState *dev, unsigned head,
                                  const GraphicHwOps *ops, void *opaque);
void graphic_console_close(QemuConsole *con);
/* Replace the device callbacks (a device that wraps another's console,
 * as virtio-vga wraps its VGA core's). */
void graphic_console_set_hwops(QemuConsole *con, const GraphicHwOps *ops,
                               void *opaque);
/*
 * A text console (vc chardev @label): listed after every graphic
 * console, as QEMU numbers them, so console 0 stays the first display
 * device.  @ops must have text_key.
 */
QemuConsole *text_console_init(const char *label, const GraphicHwOps *ops,
                               void *opaque);
/*
 * Replace the surface by a new @width x @height one (cleared to black) and
 * tell the listeners; returns it.  Sizes are clamped to 1..16384.
 */
pixman_image_t *dpy_gfx_resize(QemuConsole *con, int width, int height);
/* Report a changed rectangle to the listeners (clipped to the surface). */
void dpy_gfx_update(QemuConsole *con, int x, int y, int w, int h);
/*
 * The hardware cursor of @con: a new image (NULL: no hardware cursor any
 * more) and its position.  The console keeps a ref of @cursor.
 */
void dpy_cursor_define(QemuConsole *con, QEMUCursor *cursor);
void dpy_mouse_set(QemuConsole *con, int x, int y, bool visible);
/* The console's current cursor (NULL if none) and position. */
QEMUCursor *qemu_console_get_cursor(QemuConsole *con);
void qemu_console_get_mouse(QemuConsole *con, int *x, int *y, bool *visible);
/* Whether any listener looks at @con (a device may skip work if not). */
bool qemu_console_has_listeners(QemuConsole *con);

/* ---- everyone -------------------------------------------------------- */

pixman_image_t *qemu_console_surface(QemuConsole *con);
int qemu_console_get_width(QemuConsole *con);
int qemu_console_get_height(QemuConsole *con);
DeviceState *qemu_console_device(QemuConsole *con);
unsigned qemu_console_index(QemuConsole *con);
/* Whether @con belongs to a display device (not a text console). */
bool qemu_console_is_graphic(QemuConsole *con);
/* The device id or, for a text console, the chardev id ("" if none). */
const char *qemu_console_label(QemuConsole *con);
/*
 * Modifiers a front end ORs into a text console's keysym for the keys
 * that have a meaning of their own with them: Shift- or Ctrl-PageUp /
 * PageDown and Ctrl-Up / Down scroll the console's history.  Keysyms
 * (Unicode ones included) stay below bit 28.
 */
#define TEXT_KEY_MOD_SHIFT      (1u << 28)
#define TEXT_KEY_MOD_CTRL       (1u << 29)
/* Deliver a keysym to a text console (no-op for graphic ones). */
void qemu_text_console_put_keysym(QemuConsole *con, uint32_t keysym);
/* Number of console slots (graphic and text; some may be NULL). */
unsigned qemu_console_count(void);
/* Graphic console number @index, or NULL. */
QemuConsole *qemu_console_lookup_by_index(unsigned index);
/* The console of device @id (qdev id or path) head @head, or an error. */
QemuConsole *qemu_console_lookup_by_device_name(const char *id,
                                                unsigned head, GError **errp);
/*
 * A front end's wish for @con's size (window resized, client asked): passed
 * to the device's ui_info if it has one.  Returns whether it had one.
 */
bool dpy_set_ui_info(QemuConsole *con, const QemuUIInfo *info);
/* Whether @con's device takes size wishes (has ui_info). */
bool dpy_ui_info_supported(QemuConsole *con);
/* Run the device's gfx_update / invalidate. */
void graphic_hw_update(QemuConsole *con);
void graphic_hw_invalidate(QemuConsole *con);

/* ---- front ends ------------------------------------------------------ */

/* The listener gets dpy_gfx_switch with the current surface at once. */
void register_displaychangelistener(DisplayChangeListener *dcl);
void unregister_displaychangelistener(DisplayChangeListener *dcl);
void dpy_set_ui_interval(DisplayChangeListener *dcl, uint64_t interval_ms);
/*
 * A client of @dcl is ready for the next picture: run the next refresh
 * tick GUI_REFRESH_INTERVAL_MIN ms after the previous one began (at once
 * if that has passed) rather than a whole interval after it.  Nothing if
 * the timer is not running or already due sooner.
 */
void dpy_refresh_soon(DisplayChangeListener *dcl);
/*
 * Show @con in @dcl from now on (Ctrl-Alt-N in SDL and VNC): the listener
 * gets dpy_gfx_switch with its surface and a full redraw follows.
 */
void dpy_set_console(DisplayChangeListener *dcl, QemuConsole *con);
/* The console @dcl shows now (its own or console 0). */
QemuConsole *dpy_get_console(DisplayChangeListener *dcl);

/*
 * Write @con's screen (after an update) to @filename as binary PPM (P6) or
 * PNG (8-bit RGB), as QEMU's screendump.
 */
typedef enum ScreendumpFormat {
    SCREENDUMP_PPM,
    SCREENDUMP_PNG,
} ScreendumpFormat;
bool qemu_console_screendump(QemuConsole *con, const char *filename,
                             ScreendumpFormat format, GError **errp);

/* Display options (-display, -vnc), for query-display-options. */
void qemu_display_set_type(const char *type);
const char *qemu_display_get_type(void);

#endif
