/*
 * Input routing from front ends and the monitor to the guest's input
 * devices; see include/ui/input.h.
 */
#include "qemu/osdep.h"
#include "ui/input.h"
#include "system/timer.h"

struct QemuInputHandlerState {
    const QemuInputHandler *handler;
    void *opaque;
    int id;
    uint64_t activated;         /* activation stamp: newest wins */
};

static GPtrArray *handlers;     /* QemuInputHandlerState * */
static int next_id;
static uint64_t activation_clock;

/* Keys of a send-key waiting for their release. */
typedef struct PendingRelease {
    QKeyCode *keys;             /* release order */
    unsigned n;
    QemuConsole *src;
    QEMUTimer *timer;
} PendingRelease;

QemuInputHandlerState *qemu_input_handler_register(void *opaque,
                                                   const QemuInputHandler *h)
{
    QemuInputHandlerState *s = g_new0(QemuInputHandlerState, 1);

    if (!handlers) {
        handlers = g_ptr_array_new();
    }
    s->handler = h;
    s->opaque = opaque;
    s->id = next_id++;
    g_ptr_array_add(handlers, s);
    qemu_input_handler_activate(s);
    return s;
}

void qemu_input_handler_activate(QemuInputHandlerState *s)
{
    s->activated = ++activation_clock;
}

void qemu_input_handler_deactivate(QemuInputHandlerState *s)
{
    s->activated = 0;
}

void qemu_input_handler_unregister(QemuInputHandlerState *s)
{
    if (s && handlers) {
        g_ptr_array_remove(handlers, s);
        g_free(s);
    }
}

/* The active handler for events of kind @kind, or NULL. */
static QemuInputHandlerState *find_handler(InputEventKind kind)
{
    QemuInputHandlerState *best = NULL;

    for (unsigned i = 0; handlers && i < handlers->len; i++) {
        QemuInputHandlerState *s = g_ptr_array_index(handlers, i);
        if ((s->handler->mask & (1u << kind)) &&
            (!best || s->activated > best->activated)) {
            best = s;
        }
    }
    return best;
}

void qemu_input_event_send(QemuConsole *src, InputEvent *evt)
{
    QemuInputHandlerState *s = find_handler(evt->type);

    if (s) {
        s->handler->event(s->opaque, src, evt);
    }
}

void qemu_input_event_sync(void)
{
    /* every handler that may have queued something ends its report */
    for (unsigned i = 0; handlers && i < handlers->len; i++) {
        QemuInputHandlerState *s = g_ptr_array_index(handlers, i);
        if (s->handler->sync) {
            s->handler->sync(s->opaque);
        }
    }
}

void qemu_input_event_send_key_qcode(QemuConsole *src, QKeyCode q, bool down)
{
    KeyValue key = { .type = KEY_VALUE_KIND_QCODE, .u.qcode.data = q };
    InputKeyEvent ke = { .key = &key, .down = down };
    InputEvent evt = { .type = INPUT_EVENT_KIND_KEY, .u.key.data = &ke };

    qemu_input_event_send(src, &evt);
    qemu_input_event_sync();
}

void qemu_input_queue_btn(QemuConsole *src, InputButton btn, bool down)
{
    InputBtnEvent be = { .button = btn, .down = down };
    InputEvent evt = { .type = INPUT_EVENT_KIND_BTN, .u.btn.data = &be };

    qemu_input_event_send(src, &evt);
}

void qemu_input_queue_rel(QemuConsole *src, InputAxis axis, int value)
{
    InputMoveEvent me = { .axis = axis, .value = value };
    InputEvent evt = { .type = INPUT_EVENT_KIND_REL, .u.rel.data = &me };

    qemu_input_event_send(src, &evt);
}

void qemu_input_queue_abs(QemuConsole *src, InputAxis axis, int value,
                          int min, int max)
{
    InputMoveEvent me = { .axis = axis };
    InputEvent evt = { .type = INPUT_EVENT_KIND_ABS, .u.abs.data = &me };
    int64_t range = (int64_t)max - min;

    value = CLAMP(value, min, max);
    me.value = range > 0 ? (int64_t)(value - min) * INPUT_EVENT_ABS_MAX / range
                         : 0;
    qemu_input_event_send(src, &evt);
}

void qemu_input_update_buttons(QemuConsole *src, uint32_t old, uint32_t new)
{
    for (unsigned b = 0; b < INPUT_BUTTON__MAX; b++) {
        uint32_t bit = 1u << b;
        if ((old ^ new) & bit) {
            qemu_input_queue_btn(src, b, new & bit);
        }
    }
}

bool qemu_input_is_absolute(void)
{
    QemuInputHandlerState *abs = find_handler(INPUT_EVENT_KIND_ABS);
    QemuInputHandlerState *rel = find_handler(INPUT_EVENT_KIND_REL);

    return abs && (!rel || abs->activated >= rel->activated);
}

/* ---- send-key ---------------------------------------------------------- */

static void release_keys(void *opaque)
{
    PendingRelease *p = opaque;

    for (unsigned i = 0; i < p->n; i++) {
        qemu_input_event_send_key_qcode(p->src, p->keys[i], false);
    }
    timer_free(p->timer);
    g_free(p->keys);
    g_free(p);
}

bool qemu_input_send_keys(QemuConsole *src, KeyValueList *keys,
                          int64_t hold_ms, GError **errp)
{
    PendingRelease *p;
    unsigned n = 0, i;

    for (KeyValueList *k = keys; k; k = k->next) {
        if (qemu_input_key_value_to_qcode(k->value) == Q_KEY_CODE_UNMAPPED) {
            if (k->value->type == KEY_VALUE_KIND_NUMBER) {
                error_setg(errp, "Invalid parameter 'keys': no key with "
                           "number 0x%" PRIx64, k->value->u.number.data);
            } else {
                error_setg(errp, "Invalid parameter 'keys': 'unmapped'");
            }
            return false;
        }
        n++;
    }
    if (!n) {
        return true;
    }
    p = g_new0(PendingRelease, 1);
    p->keys = g_new(QKeyCode, n);
    p->n = n;
    p->src = src;
    i = n;
    for (KeyValueList *k = keys; k; k = k->next) {
        QKeyCode q = qemu_input_key_value_to_qcode(k->value);
        qemu_input_event_send_key_qcode(src, q, true);
        p->keys[--i] = q;
    }
    p->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, release_keys, p);
    timer_mod(p->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
              MAX(hold_ms, 0) * 1000000);
    return true;
}

/* ---- query-mice -------------------------------------------------------- */

MouseInfoList *qemu_input_query_mice(void)
{
    MouseInfoList *head = NULL, **tail = &head;
    QemuInputHandlerState *rel = find_handler(INPUT_EVENT_KIND_REL);
    QemuInputHandlerState *abs = find_handler(INPUT_EVENT_KIND_ABS);
    QemuInputHandlerState *cur = qemu_input_is_absolute() ? abs : rel;

    for (int i = handlers ? (int)handlers->len - 1 : -1; i >= 0; i--) {
        QemuInputHandlerState *s = g_ptr_array_index(handlers, i);
        MouseInfo *info;

        if (!(s->handler->mask & (INPUT_EVENT_MASK_REL |
                                  INPUT_EVENT_MASK_ABS))) {
            continue;
        }
        info = g_new0(MouseInfo, 1);
        info->name = g_strdup(s->handler->name);
        info->index = s->id;
        info->current = s == cur;
        info->absolute = !!(s->handler->mask & INPUT_EVENT_MASK_ABS);
        *tail = g_new0(MouseInfoList, 1);
        (*tail)->value = info;
        tail = &(*tail)->next;
    }
    return head;
}

/* ---- keyboard LEDs ---------------------------------------------------- */

typedef struct LedHandler {
    QemuLedHandler *fn;
    void *opaque;
} LedHandler;

static GArray *led_handlers;    /* LedHandler */
static unsigned led_state;

void qemu_input_add_led_handler(QemuLedHandler *fn, void *opaque)
{
    LedHandler h = { fn, opaque };

    if (!led_handlers) {
        led_handlers = g_array_new(false, false, sizeof(LedHandler));
    }
    g_array_append_val(led_handlers, h);
}

void qemu_input_set_leds(unsigned leds)
{
    if (leds == led_state) {
        return;
    }
    led_state = leds;
    for (unsigned i = 0; led_handlers && i < led_handlers->len; i++) {
        LedHandler *h = &g_array_index(led_handlers, LedHandler, i);
        h->fn(h->opaque, leds);
    }
}

unsigned qemu_input_get_leds(void)
{
    return led_state;
}
