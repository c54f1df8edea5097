/*
 * The console layer: graphic consoles of display devices, the listeners
 * of front ends, the refresh timer and screendump.  See include/ui/console.h
 * and docs/display.md.
 */
#include "qemu/osdep.h"
#include "ui/console.h"
#include "system/timer.h"
#include <errno.h>
#ifdef CONFIG_PNG
#include <png.h>
#endif

#define SURFACE_MAX_DIM     16384
#define DEFAULT_WIDTH       640
#define DEFAULT_HEIGHT      480

struct QemuConsole {
    unsigned index;
    DeviceState *dev;
    unsigned head;
    const GraphicHwOps *ops;
    void *opaque;
    pixman_image_t *surface;
    bool text;                  /* a vc chardev's console */
    char *label;                /* text: the chardev id */
    /* the hardware cursor channel */
    QEMUCursor *cursor;         /* NULL: the device has none (yet) */
    int mouse_x, mouse_y;
    bool mouse_visible;
};

static GPtrArray *consoles;         /* QemuConsole *, by index */
static GPtrArray *listeners;        /* DisplayChangeListener * */
static QEMUTimer *refresh_timer;
static uint64_t refresh_interval;   /* ms, of the running timer */
static int64_t last_tick_ns;        /* REALTIME, when the last tick began */
static char *display_type;

static QemuConsole *listener_console(DisplayChangeListener *dcl)
{
    return dcl->con ? dcl->con : qemu_console_lookup_by_index(0);
}

static pixman_image_t *new_surface(int width, int height)
{
    width = CLAMP(width, 1, SURFACE_MAX_DIM);
    height = CLAMP(height, 1, SURFACE_MAX_DIM);
    /* pixman allocates zeroed bits when given none */
    return pixman_image_create_bits(PIXMAN_x8r8g8b8, width, height, NULL, 0);
}

/* ---- cursors ----------------------------------------------------------- */

QEMUCursor *cursor_alloc(uint16_t width, uint16_t height)
{
    QEMUCursor *c = g_malloc0(sizeof(*c) + (size_t)width * height * 4);

    c->width = width;
    c->height = height;
    c->refcount = 1;
    return c;
}

QEMUCursor *cursor_ref(QEMUCursor *c)
{
    if (c) {
        c->refcount++;
    }
    return c;
}

void cursor_unref(QEMUCursor *c)
{
    if (c && --c->refcount == 0) {
        g_free(c);
    }
}

bool cursor_has_pixels(const QEMUCursor *c)
{
    for (size_t i = 0; c && i < (size_t)c->width * c->height; i++) {
        if (c->data[i] >> 24) {
            return true;
        }
    }
    return false;
}

/* Give @dcl the cursor state of @con (after a switch to it). */
static void listener_send_cursor(DisplayChangeListener *dcl, QemuConsole *con)
{
    if (!con || !con->cursor) {
        return;
    }
    if (dcl->ops->dpy_cursor_define) {
        dcl->ops->dpy_cursor_define(dcl, con->cursor);
    }
    if (dcl->ops->dpy_mouse_set) {
        dcl->ops->dpy_mouse_set(dcl, con->mouse_x, con->mouse_y,
                                con->mouse_visible);
    }
}

/* ---- the refresh timer ------------------------------------------------ */

/* The shortest interval a listener asks for; 0: none wants ticks. */
static uint64_t wanted_interval(void)
{
    uint64_t best = 0;

    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        uint64_t iv = dcl->update_interval ? dcl->update_interval
                                           : GUI_REFRESH_INTERVAL_DEFAULT;
        if (iv == GUI_REFRESH_NONE) {
            continue;
        }
        if (!best || iv < best) {
            best = iv;
        }
    }
    return best;
}

static void refresh_tick(void *opaque)
{
    last_tick_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    for (unsigned i = 0; consoles && i < consoles->len; i++) {
        QemuConsole *con = g_ptr_array_index(consoles, i);
        if (con && qemu_console_has_listeners(con)) {
            graphic_hw_update(con);
        }
    }
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (dcl->ops->dpy_refresh) {
            dcl->ops->dpy_refresh(dcl);
        }
    }
    if (refresh_interval) {
        timer_mod(refresh_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                  refresh_interval * 1000000);
    }
}

/* Start, stop or re-pace the timer after listeners or intervals changed. */
static void refresh_timer_update(void)
{
    uint64_t iv = wanted_interval();

    if (!refresh_timer) {
        refresh_timer = timer_new_ns(QEMU_CLOCK_REALTIME, refresh_tick, NULL);
    }
    if (iv == refresh_interval) {
        return;
    }
    refresh_interval = iv;
    if (!iv) {
        timer_del(refresh_timer);
        return;
    }
    timer_mod(refresh_timer, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
              iv * 1000000);
}

/* ---- consoles --------------------------------------------------------- */

QemuConsole *graphic_console_init(DeviceState *dev, unsigned head,
                                  const GraphicHwOps *ops, void *opaque)
{
    QemuConsole *con = g_new0(QemuConsole, 1);
    unsigned slot;

    if (!consoles) {
        consoles = g_ptr_array_new();
    }
    /*
     * Reuse the lowest free index, so a re-created device keeps its
     * number; graphic consoles go before the text consoles (QEMU's order).
     */
    for (slot = 0; slot < consoles->len; slot++) {
        QemuConsole *other = g_ptr_array_index(consoles, slot);
        if (!other) {
            break;
        }
        if (other->text) {
            g_ptr_array_insert(consoles, slot, NULL);
            for (unsigned i = slot + 1; i < consoles->len; i++) {
                QemuConsole *c = g_ptr_array_index(consoles, i);
                if (c) {
                    c->index = i;
                }
            }
            break;
        }
    }
    if (slot == consoles->len) {
        g_ptr_array_add(consoles, NULL);
    }
    con->index = slot;
    con->dev = dev;
    con->head = head;
    con->ops = ops;
    con->opaque = opaque;
    con->surface = new_surface(DEFAULT_WIDTH, DEFAULT_HEIGHT);
    consoles->pdata[slot] = con;
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (listener_console(dcl) == con && dcl->ops->dpy_gfx_switch) {
            dcl->ops->dpy_gfx_switch(dcl, con->surface);
        }
    }
    return con;
}

QemuConsole *text_console_init(const char *label, const GraphicHwOps *ops,
                               void *opaque)
{
    QemuConsole *con = g_new0(QemuConsole, 1);

    if (!consoles) {
        consoles = g_ptr_array_new();
    }
    con->index = consoles->len;
    con->ops = ops;
    con->opaque = opaque;
    con->text = true;
    con->label = g_strdup(label);
    con->surface = new_surface(DEFAULT_WIDTH, DEFAULT_HEIGHT);
    g_ptr_array_add(consoles, con);
    return con;
}

void graphic_console_close(QemuConsole *con)
{
    g_autoptr(GPtrArray) moved = g_ptr_array_new();

    if (!con) {
        return;
    }
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (dcl->con == con) {
            dcl->con = NULL;
            g_ptr_array_add(moved, dcl);
        }
    }
    consoles->pdata[con->index] = NULL;
    /* listeners that showed it fall back to console 0 */
    for (unsigned i = 0; i < moved->len; i++) {
        dpy_set_console(g_ptr_array_index(moved, i), NULL);
    }
    pixman_image_unref(con->surface);
    cursor_unref(con->cursor);
    g_free(con->label);
    g_free(con);
}

void graphic_console_set_hwops(QemuConsole *con, const GraphicHwOps *ops,
                               void *opaque)
{
    con->ops = ops;
    con->opaque = opaque;
}

pixman_image_t *dpy_gfx_resize(QemuConsole *con, int width, int height)
{
    pixman_image_t *old = con->surface;

    con->surface = new_surface(width, height);
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (listener_console(dcl) == con && dcl->ops->dpy_gfx_switch) {
            dcl->ops->dpy_gfx_switch(dcl, con->surface);
        }
    }
    pixman_image_unref(old);
    return con->surface;
}

void dpy_gfx_update(QemuConsole *con, int x, int y, int w, int h)
{
    int sw = pixman_image_get_width(con->surface);
    int sh = pixman_image_get_height(con->surface);
    int x2 = MIN(x + w, sw), y2 = MIN(y + h, sh);

    x = MAX(x, 0);
    y = MAX(y, 0);
    if (x2 <= x || y2 <= y) {
        return;
    }
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (listener_console(dcl) == con && dcl->ops->dpy_gfx_update) {
            dcl->ops->dpy_gfx_update(dcl, x, y, x2 - x, y2 - y);
        }
    }
}

void dpy_cursor_define(QemuConsole *con, QEMUCursor *cursor)
{
    QEMUCursor *old = con->cursor;

    con->cursor = cursor_ref(cursor);
    if (!cursor) {
        con->mouse_visible = false;
    }
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (listener_console(dcl) != con) {
            continue;
        }
        if (dcl->ops->dpy_cursor_define) {
            dcl->ops->dpy_cursor_define(dcl, cursor);
        }
    }
    cursor_unref(old);
}

void dpy_mouse_set(QemuConsole *con, int x, int y, bool visible)
{
    con->mouse_x = x;
    con->mouse_y = y;
    con->mouse_visible = visible;
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        DisplayChangeListener *dcl = g_ptr_array_index(listeners, i);
        if (listener_console(dcl) == con && dcl->ops->dpy_mouse_set) {
            dcl->ops->dpy_mouse_set(dcl, x, y, visible);
        }
    }
}

QEMUCursor *qemu_console_get_cursor(QemuConsole *con)
{
    return con ? con->cursor : NULL;
}

void qemu_console_get_mouse(QemuConsole *con, int *x, int *y, bool *visible)
{
    *x = con ? con->mouse_x : 0;
    *y = con ? con->mouse_y : 0;
    *visible = con && con->mouse_visible;
}

bool dpy_set_ui_info(QemuConsole *con, const QemuUIInfo *info)
{
    if (!con || !con->ops || !con->ops->ui_info) {
        return false;
    }
    con->ops->ui_info(con->opaque, con->head, info);
    return true;
}

bool dpy_ui_info_supported(QemuConsole *con)
{
    return con && con->ops && con->ops->ui_info;
}

bool qemu_console_has_listeners(QemuConsole *con)
{
    for (unsigned i = 0; listeners && i < listeners->len; i++) {
        if (listener_console(g_ptr_array_index(listeners, i)) == con) {
            return true;
        }
    }
    return false;
}

pixman_image_t *qemu_console_surface(QemuConsole *con)
{
    return con->surface;
}

int qemu_console_get_width(QemuConsole *con)
{
    return pixman_image_get_width(con->surface);
}

int qemu_console_get_height(QemuConsole *con)
{
    return pixman_image_get_height(con->surface);
}

DeviceState *qemu_console_device(QemuConsole *con)
{
    return con->dev;
}

unsigned qemu_console_index(QemuConsole *con)
{
    return con->index;
}

bool qemu_console_is_graphic(QemuConsole *con)
{
    return con && !con->text;
}

const char *qemu_console_label(QemuConsole *con)
{
    if (con->text) {
        return con->label;
    }
    return con->dev && con->dev->id ? con->dev->id : "";
}

void qemu_text_console_put_keysym(QemuConsole *con, uint32_t keysym)
{
    if (con && con->text && con->ops->text_key) {
        con->ops->text_key(con->opaque, keysym);
    }
}

unsigned qemu_console_count(void)
{
    return consoles ? consoles->len : 0;
}

QemuConsole *qemu_console_lookup_by_index(unsigned index)
{
    if (!consoles || index >= consoles->len) {
        return NULL;
    }
    return g_ptr_array_index(consoles, index);
}

QemuConsole *qemu_console_lookup_by_device_name(const char *id,
                                                unsigned head, GError **errp)
{
    DeviceState *dev = device_find_by_id(id);

    if (!dev) {
        dev = device_find_by_path(id);
    }
    /* a text console by its chardev id (head 0) */
    for (unsigned i = 0; !dev && consoles && i < consoles->len; i++) {
        QemuConsole *con = g_ptr_array_index(consoles, i);
        if (con && con->text && !strcmp(con->label, id) && head == 0) {
            return con;
        }
    }
    if (!dev) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", id);
        return NULL;
    }
    for (unsigned i = 0; consoles && i < consoles->len; i++) {
        QemuConsole *con = g_ptr_array_index(consoles, i);
        if (con && con->dev == dev && con->head == head) {
            return con;
        }
    }
    error_setg(errp, "Device '%s' (head %u) is not a graphic console", id,
               head);
    return NULL;
}

void graphic_hw_update(QemuConsole *con)
{
    if (con && con->ops && con->ops->gfx_update) {
        con->ops->gfx_update(con->opaque);
    }
}

void graphic_hw_invalidate(QemuConsole *con)
{
    if (con && con->ops && con->ops->invalidate) {
        con->ops->invalidate(con->opaque);
    }
}

/* ---- listeners -------------------------------------------------------- */

void register_displaychangelistener(DisplayChangeListener *dcl)
{
    QemuConsole *con;

    if (!listeners) {
        listeners = g_ptr_array_new();
    }
    g_ptr_array_add(listeners, dcl);
    con = listener_console(dcl);
    if (con) {
        /* a new viewer needs the whole picture */
        graphic_hw_invalidate(con);
        if (dcl->ops->dpy_gfx_switch) {
            dcl->ops->dpy_gfx_switch(dcl, con->surface);
        }
        listener_send_cursor(dcl, con);
    }
    refresh_timer_update();
}

void unregister_displaychangelistener(DisplayChangeListener *dcl)
{
    if (listeners) {
        g_ptr_array_remove(listeners, dcl);
    }
    refresh_timer_update();
}

void dpy_refresh_soon(DisplayChangeListener *dcl)
{
    int64_t at = last_tick_ns + GUI_REFRESH_INTERVAL_MIN * 1000000LL;

    (void)dcl;          /* one timer serves every listener */
    if (!refresh_interval) {
        return;
    }
    at = MAX(at, qemu_clock_get_ns(QEMU_CLOCK_REALTIME));
    if (!timer_pending(refresh_timer) ||
        at < timer_expire_time_ns(refresh_timer)) {
        timer_mod(refresh_timer, at);
    }
}

void dpy_set_ui_interval(DisplayChangeListener *dcl, uint64_t interval_ms)
{
    if (dcl->update_interval != interval_ms) {
        dcl->update_interval = interval_ms;
        refresh_timer_update();
    }
}

void dpy_set_console(DisplayChangeListener *dcl, QemuConsole *con)
{
    dcl->con = con;
    con = listener_console(dcl);
    if (con) {
        graphic_hw_invalidate(con);
        if (dcl->ops->dpy_gfx_switch) {
            dcl->ops->dpy_gfx_switch(dcl, con->surface);
        }
        if (con->cursor) {
            listener_send_cursor(dcl, con);
        } else if (dcl->ops->dpy_cursor_define) {
            /* the new console has no hardware cursor: the default one */
            dcl->ops->dpy_cursor_define(dcl, NULL);
        }
        graphic_hw_update(con);
    }
}

QemuConsole *dpy_get_console(DisplayChangeListener *dcl)
{
    return listener_console(dcl);
}

/* ---- screendump ------------------------------------------------------- */

static inline void pixel_rgb(uint32_t px, uint8_t *rgb)
{
    rgb[0] = px >> 16;
    rgb[1] = px >> 8;
    rgb[2] = px;
}

static bool write_ppm(FILE *f, pixman_image_t *img)
{
    int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
    int stride = pixman_image_get_stride(img);
    const uint8_t *bits = (const uint8_t *)pixman_image_get_data(img);
    g_autofree uint8_t *row = g_malloc(w * 3);

    if (fprintf(f, "P6\n%d %d\n255\n", w, h) < 0) {
        return false;
    }
    for (int y = 0; y < h; y++) {
        const uint32_t *src = (const uint32_t *)(bits + (size_t)y * stride);
        for (int x = 0; x < w; x++) {
            pixel_rgb(src[x], row + x * 3);
        }
        if (fwrite(row, 3, w, f) != (size_t)w) {
            return false;
        }
    }
    return true;
}

#ifdef CONFIG_PNG
static bool write_png(FILE *f, pixman_image_t *img, GError **errp)
{
    int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
    int stride = pixman_image_get_stride(img);
    const uint8_t *bits = (const uint8_t *)pixman_image_get_data(img);
    g_autofree uint8_t *row = g_malloc(w * 3);
    png_structp png;
    png_infop info;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) {
        error_setg(errp, "PNG creation failed");
        return false;
    }
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        error_setg(errp, "PNG creation failed");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        error_setg(errp, "PNG write failed");
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const uint32_t *src = (const uint32_t *)(bits + (size_t)y * stride);
        for (int x = 0; x < w; x++) {
            pixel_rgb(src[x], row + x * 3);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return true;
}
#endif

bool qemu_console_screendump(QemuConsole *con, const char *filename,
                             ScreendumpFormat format, GError **errp)
{
    FILE *f;
    bool ok;

    if (!con) {
        error_setg(errp, "There is no console to take a screendump from");
        return false;
    }
#ifndef CONFIG_PNG
    if (format == SCREENDUMP_PNG) {
        error_setg(errp, "Enable PNG support with libpng for screendump");
        return false;
    }
#endif
    graphic_hw_update(con);
    f = fopen(filename, "wb");
    if (!f) {
        error_setg(errp, "failed to open file '%s': %s", filename,
                   g_strerror(errno));
        return false;
    }
#ifdef CONFIG_PNG
    if (format == SCREENDUMP_PNG) {
        ok = write_png(f, con->surface, errp);
    } else
#endif
    {
        ok = write_ppm(f, con->surface);
        if (!ok) {
            error_setg(errp, "failed to write to file '%s': %s", filename,
                       g_strerror(errno));
        }
    }
    if (fclose(f) != 0 && ok) {
        error_setg(errp, "failed to write to file '%s': %s", filename,
                   g_strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(filename);
    }
    return ok;
}

/* ---- display options --------------------------------------------------- */

void qemu_display_set_type(const char *type)
{
    g_free(display_type);
    display_type = g_strdup(type);
}

const char *qemu_display_get_type(void)
{
    return display_type ? display_type : "none";
}
