/*
 * PS/2 keyboard and mouse output for injected input (hw/input/ps2.c):
 * scan code set 2 and set 1 sequences for Linux keycodes, the special
 * Print Screen / Pause sequences, the keyboard buffer limit, and mouse
 * packets (3- and 4-byte, sign bits, splitting, 2:1 scaling, remote
 * mode).
 */
#include "qemu/osdep.h"
#include "hw/input/ps2.h"
#include <linux/input-event-codes.h>

static void drain_expect(PS2Queue *q, const uint8_t *bytes, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_assert_false(ps2_queue_empty(q));
        g_assert_cmphex(ps2_queue_pop(q), ==, bytes[i]);
    }
    g_assert_true(ps2_queue_empty(q));
}

#define EXPECT(q, ...) do { \
        static const uint8_t exp_[] = { __VA_ARGS__ }; \
        drain_expect(q, exp_, sizeof(exp_)); \
    } while (0)

static void kbd_setup(PS2KbdState *k)
{
    memset(k, 0, sizeof(*k));
    ps2_kbd_init(k, NULL, NULL);
    ps2_kbd_reset(k);
}

static void key(PS2KbdState *k, unsigned code, bool down)
{
    ps2_keyboard_event(k, code, down);
}

static void test_set2(void)
{
    PS2KbdState k;

    kbd_setup(&k);
    g_assert_true(ps2_kbd_get_default() == &k);
    key(&k, KEY_A, true);
    key(&k, KEY_A, false);
    EXPECT(&k.queue, 0x1c, 0xf0, 0x1c);
    key(&k, KEY_RIGHTCTRL, true);
    key(&k, KEY_RIGHTCTRL, false);
    EXPECT(&k.queue, 0xe0, 0x14, 0xe0, 0xf0, 0x14);
    key(&k, KEY_F7, true);
    EXPECT(&k.queue, 0x83);
    key(&k, KEY_KPENTER, true);
    EXPECT(&k.queue, 0xe0, 0x5a);
    key(&k, KEY_SYSRQ, true);
    key(&k, KEY_SYSRQ, false);
    EXPECT(&k.queue, 0xe0, 0x12, 0xe0, 0x7c, 0xe0, 0xf0, 0x7c, 0xe0, 0xf0,
           0x12);
    key(&k, KEY_LEFTALT, true);
    key(&k, KEY_SYSRQ, true);
    key(&k, KEY_SYSRQ, false);
    key(&k, KEY_LEFTALT, false);
    EXPECT(&k.queue, 0x11, 0x84, 0xf0, 0x84, 0xf0, 0x11);
    key(&k, KEY_PAUSE, true);
    key(&k, KEY_PAUSE, false);
    EXPECT(&k.queue, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
    key(&k, KEY_RIGHTCTRL, true);
    key(&k, KEY_PAUSE, true);
    EXPECT(&k.queue, 0xe0, 0x14, 0xe0, 0x7e, 0xe0, 0xf0, 0x7e);
    /* Keys without a code produce nothing. */
    key(&k, KEY_MAX, true);
    key(&k, 10000, true);
    EXPECT(&k.queue);
    ps2_kbd_fini(&k);
    g_assert_null(ps2_kbd_get_default());
}

static void test_set1(void)
{
    PS2KbdState k;

    kbd_setup(&k);
    ps2_kbd_write(&k, 0xf0);
    ps2_kbd_write(&k, 0x01);
    EXPECT(&k.queue, 0xfa, 0xfa);
    key(&k, KEY_A, true);
    key(&k, KEY_A, false);
    key(&k, KEY_UP, true);
    key(&k, KEY_UP, false);
    EXPECT(&k.queue, 0x1e, 0x9e, 0xe0, 0x48, 0xe0, 0xc8);
    key(&k, KEY_PAUSE, true);
    EXPECT(&k.queue, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
    /* Linux keycodes 1-88 are the set 1 codes of those keys. */
    for (unsigned code = KEY_ESC; code <= KEY_F12; code++) {
        if (code == 84 || code == KEY_ZENKAKUHANKAKU) {
            continue;
        }
        key(&k, code, true);
        g_assert_cmpuint(k.queue.count, ==, 1);
        g_assert_cmphex(ps2_queue_pop(&k.queue), ==, code);
    }
    ps2_kbd_fini(&k);
}

static void test_kbd_limits(void)
{
    PS2KbdState k;

    kbd_setup(&k);
    for (unsigned i = 0; i < 20; i++) {
        key(&k, KEY_B, true);
    }
    g_assert_cmpuint(k.queue.count, ==, PS2_KBD_EVENT_LIMIT);
    /* Command replies still fit. */
    ps2_kbd_write(&k, 0xee);
    g_assert_cmpuint(k.queue.count, ==, PS2_KBD_EVENT_LIMIT + 1);
    /* F5 disables scanning (and clears the buffer). */
    ps2_kbd_write(&k, 0xf5);
    EXPECT(&k.queue, 0xfa);
    key(&k, KEY_B, true);
    EXPECT(&k.queue);
    ps2_kbd_write(&k, 0xf4);
    key(&k, KEY_B, true);
    EXPECT(&k.queue, 0xfa, 0x32);
    /* LEDs. */
    ps2_kbd_write(&k, 0xed);
    ps2_kbd_write(&k, 0x05);
    EXPECT(&k.queue, 0xfa, 0xfa);
    g_assert_cmphex(ps2_kbd_leds(&k), ==, 0x05);
    ps2_kbd_fini(&k);
}

static void mouse_setup(PS2MouseState *m)
{
    memset(m, 0, sizeof(*m));
    ps2_mouse_init(m, NULL, NULL);
    ps2_mouse_reset(m);
}

static void mouse_cmd(PS2MouseState *m, uint8_t cmd)
{
    ps2_mouse_write(m, cmd);
}

static void test_mouse_packets(void)
{
    PS2MouseState m;

    mouse_setup(&m);
    /* Disabled: motion is ignored. */
    ps2_mouse_event(&m, 5, 5, 0, 0);
    EXPECT(&m.queue);
    mouse_cmd(&m, 0xf4);
    EXPECT(&m.queue, 0xfa);
    ps2_mouse_event(&m, 10, -5, 0, PS2_MOUSE_BUTTON_LEFT);
    EXPECT(&m.queue, 0x09, 0x0a, 0x05);
    ps2_mouse_event(&m, -3, 4, 0, PS2_MOUSE_BUTTON_LEFT);
    EXPECT(&m.queue, 0x39, 0xfd, 0xfc);
    /* Button change alone still reports. */
    ps2_mouse_event(&m, 0, 0, 0, PS2_MOUSE_BUTTON_RIGHT |
                    PS2_MOUSE_BUTTON_MIDDLE);
    EXPECT(&m.queue, 0x0e, 0x00, 0x00);
    /* Large motion is split into 9-bit packets. */
    ps2_mouse_event(&m, -300, 0, 0, 0);
    EXPECT(&m.queue, 0x18, 0x01, 0x00, 0x18, 0xd3, 0x00);
    /* 2:1 scaling. */
    mouse_cmd(&m, 0xe7);
    EXPECT(&m.queue, 0xfa);
    ps2_mouse_event(&m, 4, 0, 0, 0);
    EXPECT(&m.queue, 0x08, 0x06, 0x00);
    mouse_cmd(&m, 0xe6);
    EXPECT(&m.queue, 0xfa);
    ps2_mouse_fini(&m);
}

static void test_mouse_wheel_and_limits(void)
{
    static const uint8_t magic[] = { 200, 100, 80 };
    PS2MouseState m;

    mouse_setup(&m);
    for (unsigned i = 0; i < 3; i++) {
        mouse_cmd(&m, 0xf3);
        mouse_cmd(&m, magic[i]);
    }
    mouse_cmd(&m, 0xf2);
    mouse_cmd(&m, 0xf4);
    EXPECT(&m.queue, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03, 0xfa);
    ps2_mouse_event(&m, 0, 0, 1, 0);         /* wheel away: -1 */
    EXPECT(&m.queue, 0x08, 0x00, 0x00, 0xff);

    /* At most 16 bytes of packets wait; the rest follows on flush. */
    for (unsigned i = 0; i < 6; i++) {
        ps2_mouse_event(&m, 1, 0, 0, i & 1);
    }
    g_assert_cmpuint(m.queue.count, ==, 16);
    g_assert_cmpuint(m.queue.count, <=, PS2_MOUSE_EVENT_LIMIT);
    while (!ps2_queue_empty(&m.queue)) {
        ps2_queue_pop(&m.queue);
    }
    ps2_mouse_flush(&m);
    g_assert_cmpuint(m.queue.count, ==, 4);

    /* Remote mode: motion accumulates until read data (EB). */
    while (!ps2_queue_empty(&m.queue)) {
        ps2_queue_pop(&m.queue);
    }
    mouse_cmd(&m, 0xf0);
    EXPECT(&m.queue, 0xfa);
    ps2_mouse_event(&m, 2, 0, 0, 0);
    ps2_mouse_event(&m, 3, 0, 0, 0);
    EXPECT(&m.queue);
    mouse_cmd(&m, 0xeb);
    EXPECT(&m.queue, 0xfa, 0x08, 0x05, 0x00, 0x00);
    ps2_mouse_fini(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ps2/keyboard/set2", test_set2);
    g_test_add_func("/ps2/keyboard/set1", test_set1);
    g_test_add_func("/ps2/keyboard/limits", test_kbd_limits);
    g_test_add_func("/ps2/mouse/packets", test_mouse_packets);
    g_test_add_func("/ps2/mouse/wheel-limits", test_mouse_wheel_and_limits);
    return g_test_run();
}
