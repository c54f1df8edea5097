/*
 * QMP commands of the display and input (qapi/ui.json): screendump,
 * send-key, input-send-event, query-mice, query-display-options and the
 * password commands (the VNC queries are in ui/vnc.c).
 */
#include "qemu/osdep.h"
#include "qapi/qapi-commands.h"
#include "ui/console.h"
#include "ui/input.h"
#ifdef CONFIG_SDL
#include "ui/sdl2.h"
#endif
#ifdef CONFIG_VNC
#include "ui/vnc.h"
#endif
#ifdef CONFIG_SPICE
#include "ui/spice.h"
#endif
#include <limits.h>

#define TIME_MAX_VALUE ((time_t)(sizeof(time_t) == 8 ? INT64_MAX : INT32_MAX))

void qmp_screendump(const char *filename, const char *device, bool has_head,
                    int64_t head, bool has_format, ImageFormat format,
                    GError **errp)
{
    QemuConsole *con;

    if (device) {
        if (head < 0 || head > INT_MAX) {
            error_setg(errp, "Invalid head %" PRId64, head);
            return;
        }
        con = qemu_console_lookup_by_device_name(device, has_head ? head : 0,
                                                 errp);
        if (!con) {
            return;
        }
    } else {
        if (has_head) {
            error_setg(errp, "'head' must be specified together with "
                       "'device'");
            return;
        }
        con = qemu_console_lookup_by_index(0);
        if (!con) {
            error_setg(errp, "There is no console to take a screendump from");
            return;
        }
    }
    qemu_console_screendump(con, filename,
                            has_format && format == IMAGE_FORMAT_PNG
                                ? SCREENDUMP_PNG : SCREENDUMP_PPM, errp);
}

void qmp_send_key(KeyValueList *keys, bool has_hold_time, int64_t hold_time,
                  GError **errp)
{
    qemu_input_send_keys(NULL, keys, has_hold_time ? hold_time : 100, errp);
}

static bool check_input_event(InputEvent *evt, GError **errp)
{
    switch (evt->type) {
    case INPUT_EVENT_KIND_KEY:
        if (qemu_input_key_value_to_qcode(evt->u.key.data->key) ==
            Q_KEY_CODE_UNMAPPED) {
            error_setg(errp, "Input event of type 'key' has an unknown key");
            return false;
        }
        return true;
    default:
        return true;
    }
}

void qmp_input_send_event(const char *device, bool has_head, int64_t head,
                          InputEventList *events, GError **errp)
{
    QemuConsole *con = NULL;

    if (device) {
        if (head < 0 || head > INT_MAX) {
            error_setg(errp, "Invalid head %" PRId64, head);
            return;
        }
        con = qemu_console_lookup_by_device_name(device, has_head ? head : 0,
                                                 errp);
        if (!con) {
            return;
        }
    }
    for (InputEventList *e = events; e; e = e->next) {
        if (!check_input_event(e->value, errp)) {
            return;
        }
    }
    for (InputEventList *e = events; e; e = e->next) {
        qemu_input_event_send(con, e->value);
    }
    qemu_input_event_sync();
}

MouseInfoList *qmp_query_mice(GError **errp)
{
    return qemu_input_query_mice();
}

DisplayOptions *qmp_query_display_options(GError **errp)
{
    DisplayOptions *opts = g_new0(DisplayOptions, 1);
    GError *err = NULL;
    int t = qapi_enum_parse(&DisplayType_lookup, qemu_display_get_type(),
                            DISPLAY_TYPE_NONE, &err);

    g_clear_error(&err);
    opts->type = t;
#ifdef CONFIG_SDL
    if (t == DISPLAY_TYPE_SDL) {
        sdl_display_query(opts);
    }
#endif
    return opts;
}

void qmp_set_password(SetPasswordOptions *arg, GError **errp)
{
    if (arg->protocol == DISPLAY_PROTOCOL_SPICE) {
#ifdef CONFIG_SPICE
        qemu_spice_set_password(arg->password,
                                arg->has_connected ? arg->connected
                                                   : SET_PASSWORD_ACTION_KEEP,
                                errp);
#else
        error_setg(errp, "spice is not available in this build");
#endif
        return;
    }
    if (arg->has_connected && arg->connected != SET_PASSWORD_ACTION_KEEP) {
        error_setg(errp, "VNC protocol doesn't support 'connected'");
        return;
    }
#ifdef CONFIG_VNC
    vnc_display_password(arg->u.vnc.display, arg->password, errp);
#else
    error_setg(errp, "VNC is not available in this build");
#endif
}

/* "now", "never", "+SECONDS" or "SECONDS" since the epoch, as QEMU. */
static bool parse_expire_time(const char *s, time_t *when, GError **errp)
{
    uint64_t v;

    if (!strcmp(s, "now")) {
        *when = 0;
        return true;
    }
    if (!strcmp(s, "never")) {
        *when = TIME_MAX_VALUE;
        return true;
    }
    if (!parse_uint(s[0] == '+' ? s + 1 : s, &v, NULL) ||
        v > (uint64_t)TIME_MAX_VALUE / 2) {
        error_setg(errp, "Parameter 'time' expects now, never, +seconds or "
                   "seconds since the epoch");
        return false;
    }
    *when = s[0] == '+' ? time(NULL) + (time_t)v : (time_t)v;
    return true;
}

void qmp_expire_password(ExpirePasswordOptions *arg, GError **errp)
{
    time_t when;

    if (!parse_expire_time(arg->time, &when, errp)) {
        return;
    }
    if (arg->protocol == DISPLAY_PROTOCOL_SPICE) {
#ifdef CONFIG_SPICE
        qemu_spice_expire_password(when, errp);
#else
        error_setg(errp, "spice is not available in this build");
#endif
        return;
    }
#ifdef CONFIG_VNC
    vnc_display_pw_expire(arg->u.vnc.display, when, errp);
#else
    error_setg(errp, "VNC is not available in this build");
#endif
}

#ifdef CONFIG_VNC
void qmp_change_vnc_password(const char *password, GError **errp)
{
    vnc_display_password(NULL, password, errp);
}
#endif
