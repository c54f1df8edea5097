/*
 * device_add / device_del (QMP and HMP), QEMU 7.2's commands and texts.
 * The work is in hw/core/qdev.c (device_hotplug_add/_del); see
 * docs/hotplug.md.
 */
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qapi/qapi-commands.h"
#include "monitor-internal.h"
#include "hmp.h"

/* Hand-written ('gen': false): the arguments are the device's properties,
 * parsed exactly as -device's JSON form. */
void qmp_marshal_device_add(QDict *args, QObject **ret, GError **errp)
{
    g_autoptr(GString) json = NULL;
    QDict *empty = qdict_new();

    json = qobject_to_json(QOBJECT(args ? args : empty));
    qobject_unref(empty);
    if (!args || !qdict_haskey(args, "driver")) {
        error_setg(errp, "Parameter 'driver' is missing");
        return;
    }
    if (!device_hotplug_add(json->str, errp)) {
        return;
    }
    *ret = QOBJECT(qdict_new());
}

void qmp_device_del(const char *id, GError **errp)
{
    device_hotplug_del(id, errp);
}

void hmp_device_add(Monitor *mon, const char *args)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    if (!*a) {
        monitor_printf(mon, "device_add: expects driver[,prop=value][,...]\n");
        return;
    }
    if (!strcmp(a, "help") || g_str_has_suffix(a, ",help")) {
        g_autofree char *help = NULL;
        if (!strcmp(a, "help")) {
            help = device_help_all();
        } else {
            g_autofree char *name = g_strndup(a, strlen(a) - 5);
            const DeviceType *t = device_type_find(name);
            if (!t) {
                monitor_printf(mon, "Error: '%s' is not a valid device "
                               "model name\n", name);
                return;
            }
            help = device_type_help(t);
        }
        monitor_printf(mon, "%s", help);
        return;
    }
    if (!device_hotplug_add(a, &err)) {
        monitor_printf(mon, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

void hmp_device_del(Monitor *mon, const char *args)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    if (!*a) {
        monitor_printf(mon, "device_del: expects id\n");
        return;
    }
    if (!device_hotplug_del(a, &err)) {
        monitor_printf(mon, "Error: %s\n", err->message);
        g_error_free(err);
    }
}
