/*
 * Human monitor commands of the display and input: screendump, sendkey,
 * mouse_move, mouse_button, set_password, expire_password, info mice,
 * info vnc.  Texts follow QEMU's, since people and tools read them.
 */
#include "qemu/osdep.h"
#include "qapi/qapi-commands.h"
#include "monitor/hmp.h"
#include "ui/console.h"
#include "ui/input.h"
#ifdef CONFIG_SPICE
#include <spice/enums.h>
#endif

static void hmp_error(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

static GStrv hmp_words(const char *args)
{
    g_auto(GStrv) raw = g_strsplit_set(args, " \t", -1);
    GPtrArray *out = g_ptr_array_new();

    for (unsigned i = 0; raw[i]; i++) {
        if (*raw[i]) {
            g_ptr_array_add(out, g_strdup(raw[i]));
        }
    }
    g_ptr_array_add(out, NULL);
    return (GStrv)g_ptr_array_free(out, false);
}

/* screendump filename [-f format] [device [head]] */
void hmp_screendump(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = hmp_words(args);
    const char *pos[3] = { NULL };
    const char *format = NULL;
    unsigned npos = 0;
    bool has_head = false;
    uint64_t head = 0;
    ImageFormat fmt = IMAGE_FORMAT_PPM;
    GError *err = NULL;

    for (unsigned i = 0; w[i]; i++) {
        if (!strcmp(w[i], "-f") && w[i + 1]) {
            format = w[++i];
        } else if (npos < 3) {
            pos[npos++] = w[i];
        } else {
            monitor_printf(mon, "screendump: too many arguments\n");
            return;
        }
    }
    if (!pos[0]) {
        monitor_printf(mon, "screendump: filename is missing\n");
        return;
    }
    if (format) {
        int f = qapi_enum_parse(&ImageFormat_lookup, format, -1, NULL);
        if (f < 0) {
            monitor_printf(mon, "Error: Parameter 'format' does not accept "
                           "value '%s'\n", format);
            return;
        }
        fmt = f;
    }
    if (pos[2]) {
        if (!parse_uint(pos[2], &head, NULL) || head > 1024) {
            monitor_printf(mon, "screendump: invalid head '%s'\n", pos[2]);
            return;
        }
        has_head = true;
    }
    qmp_screendump(pos[0], pos[1], has_head, head, true, fmt, &err);
    if (err) {
        hmp_error(mon, err);
    }
}

/* sendkey keys [hold_ms]: keys like "ctrl-alt-delete" or "0x1d-0x38" */
void hmp_sendkey(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = hmp_words(args);
    g_auto(GStrv) names = NULL;
    KeyValueList *keys = NULL, **tail = &keys;
    uint64_t hold = 100;
    GError *err = NULL;

    if (!w[0]) {
        monitor_printf(mon, "sendkey: keys are missing\n");
        return;
    }
    if (w[1] && (!parse_uint(w[1], &hold, NULL) || hold > 60000)) {
        monitor_printf(mon, "sendkey: invalid hold time '%s'\n", w[1]);
        return;
    }
    names = g_strsplit(w[0], "-", -1);
    for (unsigned i = 0; names[i]; i++) {
        KeyValue *kv = g_new0(KeyValue, 1);
        uint64_t num;
        int q;

        if (g_str_has_prefix(names[i], "0x") &&
            parse_uint(names[i], &num, NULL) && num <= 0xff) {
            kv->type = KEY_VALUE_KIND_NUMBER;
            kv->u.number.data = num;
        } else if ((q = qapi_enum_parse(&QKeyCode_lookup, names[i], -1,
                                        NULL)) > 0) {
            kv->type = KEY_VALUE_KIND_QCODE;
            kv->u.qcode.data = q;
        } else {
            monitor_printf(mon, "invalid parameter: %s\n", names[i]);
            g_free(kv);
            qapi_free_KeyValueList(keys);
            return;
        }
        *tail = g_new0(KeyValueList, 1);
        (*tail)->value = kv;
        tail = &(*tail)->next;
    }
    qmp_send_key(keys, true, hold, &err);
    qapi_free_KeyValueList(keys);
    if (err) {
        hmp_error(mon, err);
    }
}

static bool parse_int_arg(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 0);
    if (errno || end == s || *end || v < -0x10000 || v > 0x10000) {
        return false;
    }
    *out = v;
    return true;
}

/* mouse_move dx dy [dz] */
void hmp_mouse_move(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = hmp_words(args);
    int64_t dx, dy, dz = 0;

    if (!w[0] || !w[1] || !parse_int_arg(w[0], &dx) ||
        !parse_int_arg(w[1], &dy) || (w[2] && !parse_int_arg(w[2], &dz))) {
        monitor_printf(mon, "mouse_move: expects dx dy [dz]\n");
        return;
    }
    if (qemu_input_is_absolute()) {
        /* QEMU moves an absolute pointer to the given position */
        qemu_input_queue_abs(NULL, INPUT_AXIS_X, dx, 0, INPUT_EVENT_ABS_MAX);
        qemu_input_queue_abs(NULL, INPUT_AXIS_Y, dy, 0, INPUT_EVENT_ABS_MAX);
    } else {
        qemu_input_queue_rel(NULL, INPUT_AXIS_X, dx);
        qemu_input_queue_rel(NULL, INPUT_AXIS_Y, dy);
    }
    if (dz) {
        InputButton b = dz < 0 ? INPUT_BUTTON_WHEEL_UP
                               : INPUT_BUTTON_WHEEL_DOWN;
        qemu_input_queue_btn(NULL, b, true);
        qemu_input_event_sync();
        qemu_input_queue_btn(NULL, b, false);
    }
    qemu_input_event_sync();
}

/* mouse_button state: bit 0 left, bit 1 right, bit 2 middle (QEMU's) */
void hmp_mouse_button(Monitor *mon, const char *args)
{
    static uint32_t last;
    g_auto(GStrv) w = hmp_words(args);
    uint64_t state;
    uint32_t b = 0;

    if (!w[0] || !parse_uint(w[0], &state, NULL) || state > 0xff) {
        monitor_printf(mon, "mouse_button: expects a button state\n");
        return;
    }
    if (state & 1) {
        b |= 1u << INPUT_BUTTON_LEFT;
    }
    if (state & 2) {
        b |= 1u << INPUT_BUTTON_RIGHT;
    }
    if (state & 4) {
        b |= 1u << INPUT_BUTTON_MIDDLE;
    }
    qemu_input_update_buttons(NULL, last, b);
    qemu_input_event_sync();
    last = b;
}

/* set_password [vnc|spice] password [action-if-connected] */
void hmp_set_password(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = hmp_words(args);
    SetPasswordOptions opts = { 0 };
    GError *err = NULL;
    int p;

    if (!w[0] || !w[1]) {
        monitor_printf(mon, "set_password: expects protocol password "
                       "[action-if-connected]\n");
        return;
    }
    p = qapi_enum_parse(&DisplayProtocol_lookup, w[0], -1, &err);
    if (p < 0) {
        hmp_error(mon, err);
        return;
    }
    opts.protocol = p;
    opts.password = w[1];
    if (w[2]) {
        int a = qapi_enum_parse(&SetPasswordAction_lookup, w[2], -1, &err);
        if (a < 0) {
            hmp_error(mon, err);
            return;
        }
        opts.has_connected = true;
        opts.connected = a;
    }
    qmp_set_password(&opts, &err);
    if (err) {
        hmp_error(mon, err);
    }
}

/* expire_password [vnc|spice] time */
void hmp_expire_password(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = hmp_words(args);
    ExpirePasswordOptions opts = { 0 };
    GError *err = NULL;
    int p;

    if (!w[0] || !w[1]) {
        monitor_printf(mon, "expire_password: expects protocol time\n");
        return;
    }
    p = qapi_enum_parse(&DisplayProtocol_lookup, w[0], -1, &err);
    if (p < 0) {
        hmp_error(mon, err);
        return;
    }
    opts.protocol = p;
    opts.time = w[1];
    qmp_expire_password(&opts, &err);
    if (err) {
        hmp_error(mon, err);
    }
}

void hmp_info_mice(Monitor *mon, const char *args)
{
    g_autoptr(MouseInfoList) mice = qmp_query_mice(NULL);

    if (!mice) {
        monitor_printf(mon, "No mouse devices connected\n");
        return;
    }
    for (MouseInfoList *m = mice; m; m = m->next) {
        monitor_printf(mon, "%c Mouse #%" PRId64 ": %s%s\n",
                       m->value->current ? '*' : ' ', m->value->index,
                       m->value->name,
                       m->value->absolute ? " (absolute)" : "");
    }
}

#ifdef CONFIG_VNC
static const char *family_name(NetworkAddressFamily f)
{
    return NetworkAddressFamily_str[f];
}

void hmp_info_vnc(Monitor *mon, const char *args)
{
    g_autoptr(VncInfo2List) servers = qmp_query_vnc_servers(NULL);

    if (!servers) {
        monitor_printf(mon, "None\n");
        return;
    }
    for (VncInfo2List *i = servers; i; i = i->next) {
        VncInfo2 *info = i->value;

        monitor_printf(mon, "%s:\n", info->id);
        for (VncServerInfo2List *s = info->server; s; s = s->next) {
            monitor_printf(mon, "  Server: %s:%s (%s)%s\n", s->value->host,
                           s->value->service, family_name(s->value->family),
                           s->value->websocket ? " (Websocket)" : "");
            monitor_printf(mon, "    Auth: %s (Sub: none)\n",
                           VncPrimaryAuth_str[s->value->auth]);
        }
        for (VncClientInfoList *c = info->clients; c; c = c->next) {
            monitor_printf(mon, "  Client: %s:%s (%s)%s\n", c->value->host,
                           c->value->service, family_name(c->value->family),
                           c->value->websocket ? " (Websocket)" : "");
            monitor_printf(mon, "    x509_dname: none\n");
            monitor_printf(mon, "    sasl_username: none\n");
        }
    }
}
#else
void hmp_info_vnc(Monitor *mon, const char *args)
{
    monitor_printf(mon, "VNC support is not available in this build\n");
}
#endif

#ifdef CONFIG_SPICE
static const char *spice_channel_name(int64_t type)
{
    static const char *const names[] = {
        [SPICE_CHANNEL_MAIN] = "main", [SPICE_CHANNEL_DISPLAY] = "display",
        [SPICE_CHANNEL_INPUTS] = "inputs", [SPICE_CHANNEL_CURSOR] = "cursor",
        [SPICE_CHANNEL_PLAYBACK] = "playback",
        [SPICE_CHANNEL_RECORD] = "record",
        [SPICE_CHANNEL_TUNNEL] = "tunnel",
        [SPICE_CHANNEL_SMARTCARD] = "smartcard",
        [SPICE_CHANNEL_USBREDIR] = "usbredir", [SPICE_CHANNEL_PORT] = "port",
        [SPICE_CHANNEL_WEBDAV] = "webdav",
    };

    if (type >= 0 && type < (int64_t)G_N_ELEMENTS(names) && names[type]) {
        return names[type];
    }
    return "unknown";
}

/* The text of QEMU's "info spice". */
void hmp_info_spice(Monitor *mon, const char *args)
{
    g_autoptr(SpiceInfo) info = qmp_query_spice(NULL);

    if (!info->enabled) {
        monitor_printf(mon, "Server: disabled\n");
        return;
    }
    monitor_printf(mon, "Server:\n");
    if (info->has_port) {
        monitor_printf(mon, "     address: %s:%" PRId64 "\n", info->host,
                       info->port);
    } else {
        monitor_printf(mon, "     address: %s [unix]\n", info->host);
    }
    monitor_printf(mon, "     migrated: %s\n",
                   info->migrated ? "true" : "false");
    monitor_printf(mon, "        auth: %s\n", info->auth);
    monitor_printf(mon, "    compiled: %s\n", info->compiled_version);
    monitor_printf(mon, "  mouse-mode: %s\n",
                   SpiceQueryMouseMode_str[info->mouse_mode]);
    if (!info->channels) {
        monitor_printf(mon, "Channels: none\n");
        return;
    }
    for (SpiceChannelList *c = info->channels; c; c = c->next) {
        monitor_printf(mon, "Channel:\n");
        monitor_printf(mon, "     address: %s:%s%s\n", c->value->host,
                       c->value->port, c->value->tls ? " [tls]" : "");
        monitor_printf(mon, "     session: %" PRId64 "\n",
                       c->value->connection_id);
        monitor_printf(mon, "     channel: %" PRId64 ":%" PRId64 " (%s)\n",
                       c->value->channel_type, c->value->channel_id,
                       spice_channel_name(c->value->channel_type));
    }
}
#else
void hmp_info_spice(Monitor *mon, const char *args)
{
    monitor_printf(mon, "SPICE support is not available in this build\n");
}
#endif
