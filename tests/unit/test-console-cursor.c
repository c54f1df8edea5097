/*
 * The console layer's cursor channel and size wishes (ui/console.c):
 * listeners get a console's cursor as it is defined and moved, a listener
 * that registers or switches to a console gets its current cursor at once
 * (and NULL, "your own pointer", on a console without one), the console
 * keeps its own reference, and dpy_set_ui_info reaches the device's
 * ui_info only where it has one.
 */
#include "qemu/osdep.h"
#include "ui/console.h"
#include "system/main-loop.h"

typedef struct Seen {
    DisplayChangeListener dcl;
    int defines, moves;
    QEMUCursor *cursor;         /* a ref of the last one defined */
    bool got_null;
    int x, y;
    bool visible;
} Seen;

static void seen_define(DisplayChangeListener *dcl, QEMUCursor *c)
{
    Seen *s = dcl->opaque;

    s->defines++;
    s->got_null = !c;
    cursor_unref(s->cursor);
    s->cursor = cursor_ref(c);
}

static void seen_mouse(DisplayChangeListener *dcl, int x, int y, bool visible)
{
    Seen *s = dcl->opaque;

    s->moves++;
    s->x = x;
    s->y = y;
    s->visible = visible;
}

static const DisplayChangeListenerOps seen_ops = {
    .name = "test",
    .dpy_cursor_define = seen_define,
    .dpy_mouse_set = seen_mouse,
};

/* a listener without the cursor ops must not be bothered */
static const DisplayChangeListenerOps plain_ops = { .name = "plain" };

static QemuUIInfo last_info;
static unsigned last_head, ui_infos;

static void dev_ui_info(void *opaque, unsigned head, const QemuUIInfo *info)
{
    last_info = *info;
    last_head = head;
    ui_infos++;
}

static const GraphicHwOps with_ui_info = { .ui_info = dev_ui_info };
static const GraphicHwOps without_ui_info = { 0 };

static void test_cursor_channel(void)
{
    QemuConsole *a = graphic_console_init(NULL, 0, &with_ui_info, NULL);
    QemuConsole *b = graphic_console_init(NULL, 1, &without_ui_info, NULL);
    Seen s = { 0 }, late = { 0 };
    DisplayChangeListener plain = { .ops = &plain_ops, .con = a };
    QEMUCursor *c = cursor_alloc(2, 3);

    c->hot_x = 1;
    c->hot_y = 2;
    c->data[0] = 0xff112233;
    g_assert(cursor_has_pixels(c));
    s.dcl.ops = &seen_ops;
    s.dcl.opaque = &s;
    s.dcl.con = a;
    register_displaychangelistener(&s.dcl);
    register_displaychangelistener(&plain);
    g_assert_cmpint(s.defines, ==, 0);      /* no hardware cursor yet */

    dpy_cursor_define(a, c);
    g_assert_cmpint(s.defines, ==, 1);
    g_assert(s.cursor == c);
    g_assert_cmpint(c->refcount, ==, 3);    /* ours, the console's, s */
    dpy_mouse_set(a, 10, 20, true);
    g_assert_cmpint(s.moves, ==, 1);
    g_assert_cmpint(s.x, ==, 10);
    g_assert_cmpint(s.y, ==, 20);
    g_assert(s.visible);
    /* another console's cursor is not ours */
    dpy_mouse_set(b, 1, 1, true);
    g_assert_cmpint(s.moves, ==, 1);

    /* a late listener gets the shape and the position at once */
    late.dcl.ops = &seen_ops;
    late.dcl.opaque = &late;
    late.dcl.con = a;
    register_displaychangelistener(&late.dcl);
    g_assert_cmpint(late.defines, ==, 1);
    g_assert(late.cursor == c);
    g_assert_cmpint(late.moves, ==, 1);
    g_assert_cmpint(late.x, ==, 10);
    g_assert(late.visible);

    /* switching to a console without one: back to the own pointer;
     * and back again: the cursor once more */
    dpy_set_console(&late.dcl, b);
    g_assert(late.got_null);
    dpy_set_console(&late.dcl, a);
    g_assert(!late.got_null && late.cursor == c);

    /* the device drops it: listeners hear NULL, refs are returned */
    cursor_unref(c);
    dpy_cursor_define(a, NULL);
    g_assert(s.got_null && late.got_null);
    g_assert(qemu_console_get_cursor(a) == NULL);
    {
        int x, y;
        bool vis;
        qemu_console_get_mouse(a, &x, &y, &vis);
        g_assert(!vis);
    }

    /* size wishes go to a device that takes them, and nowhere else */
    g_assert(dpy_ui_info_supported(a));
    g_assert(!dpy_ui_info_supported(b));
    g_assert(dpy_set_ui_info(a, &(QemuUIInfo){ 800, 600 }));
    g_assert_cmpint(ui_infos, ==, 1);
    g_assert_cmpint(last_info.width, ==, 800);
    g_assert_cmpint(last_info.height, ==, 600);
    g_assert_cmpint(last_head, ==, 0);
    g_assert(!dpy_set_ui_info(b, &(QemuUIInfo){ 800, 600 }));
    g_assert_cmpint(ui_infos, ==, 1);

    unregister_displaychangelistener(&late.dcl);
    unregister_displaychangelistener(&plain);
    unregister_displaychangelistener(&s.dcl);
    /* the listeners' refs were dropped by the NULL define */
    g_assert(s.cursor == NULL && late.cursor == NULL);
    graphic_console_close(b);
    graphic_console_close(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    g_test_add_func("/console/cursor-channel", test_cursor_channel);
    return g_test_run();
}
