/*
 * Memory devices on the monitor (qapi/mgmt.json): query-memory-devices,
 * query-acpi-ospm-status, object-add / object-del, and HMP's
 * info memory-devices, info memory_size_summary, object_add, object_del,
 * with QEMU 7.2's output.
 */
#include "qemu/osdep.h"
#include "hw/acpi/memory_hotplug.h"
#include "hw/acpi/cpu-hotplug.h"
#include "hw/mem/pc-dimm.h"
#include "qapi/qapi-commands.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "monitor-internal.h"
#include "hmp.h"
#include "system/object.h"
#include "system/numa.h"
#include "hw/boards.h"
#include "hw/i386/x86-cpu-hotplug.h"

MemoryDeviceInfoList *qmp_query_memory_devices(GError **errp)
{
    g_autoptr(GPtrArray) dimms = pc_dimm_list();
    MemoryDeviceInfoList *list = NULL, **tail = &list;

    for (unsigned i = 0; i < dimms->len; i++) {
        PCDIMMDevice *d = g_ptr_array_index(dimms, i);
        MemoryDeviceInfo *info = g_new0(MemoryDeviceInfo, 1);
        PCDIMMDeviceInfo *di = g_new0(PCDIMMDeviceInfo, 1);

        di->id = g_strdup(d->parent.id);
        di->addr = d->addr;
        di->size = d->hostmem->size;
        di->slot = d->slot;
        di->node = d->node;
        di->memdev = g_strdup_printf("/objects/%s", d->hostmem->id);
        di->hotplugged = d->parent.hotplugged;
        di->hotpluggable = true;
        info->type = MEMORY_DEVICE_INFO_KIND_DIMM;
        info->u.dimm.data = di;
        MemoryDeviceInfoList *e = g_new0(MemoryDeviceInfoList, 1);
        e->value = info;
        *tail = e;
        tail = &e->next;
    }
    return list;
}

/* DIMM slots, then CPU slots, as QEMU 7.2 lists them. */
ACPIOSTInfoList *qmp_query_acpi_ospm_status(GError **errp)
{
    ACPIOSTInfoList *list = acpi_memory_ospm_status(), **tail = &list;

    while (*tail) {
        tail = &(*tail)->next;
    }
    acpi_cpu_ospm_status(&tail);
    return list;
}

/*
 * libvirt sends the pre-QAPI form {"qom-type", "id", "props": {...}} to
 * an object-add whose schema does not enumerate the object types (as
 * ours does not): the properties in "props" are taken as if they were at
 * the top level.  A new reference, or NULL with @errp set.
 */
static QDict *object_add_args(QDict *args, GError **errp)
{
    QDict *props = qobject_to(QDict, qdict_get(args, "props"));
    QDict *flat;

    if (!props) {
        if (qdict_haskey(args, "props")) {
            error_setg(errp, "Invalid parameter type for 'props', "
                       "expected: object");
            return NULL;
        }
        return qobject_ref(args);
    }
    flat = qdict_clone_shallow(args);
    qdict_del(flat, "props");
    for (const QDictEntry *e = qdict_first(props); e;
         e = qdict_next(props, e)) {
        if (qdict_haskey(flat, qdict_entry_key(e))) {
            error_setg(errp, "Parameter '%s' is duplicated",
                       qdict_entry_key(e));
            qobject_unref(flat);
            return NULL;
        }
        qdict_put_obj(flat, qdict_entry_key(e),
                      qobject_ref(qdict_entry_value(e)));
    }
    return flat;
}

void qmp_marshal_object_add(QDict *args, QObject **ret, GError **errp)
{
    g_autoptr(GString) json = NULL;
    QDict *flat;

    if (!args || !qdict_haskey(args, "qom-type")) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return;
    }
    if (!qdict_haskey(args, "id")) {
        error_setg(errp, "Parameter 'id' is missing");
        return;
    }
    flat = object_add_args(args, errp);
    if (!flat) {
        return;
    }
    json = qobject_to_json(QOBJECT(flat));
    qobject_unref(flat);
    if (!user_object_create_from_opts(json->str, errp)) {
        return;
    }
    *ret = QOBJECT(qdict_new());
}

void qmp_object_del(const char *id, GError **errp)
{
    user_object_del(id, errp);
}

void hmp_info_memory_devices(Monitor *mon, const char *args)
{
    g_autoptr(GPtrArray) dimms = pc_dimm_list();

    for (unsigned i = 0; i < dimms->len; i++) {
        PCDIMMDevice *d = g_ptr_array_index(dimms, i);

        monitor_printf(mon, "Memory device [dimm]: \"%s\"\n",
                       d->parent.id ? d->parent.id : "");
        monitor_printf(mon, "  addr: 0x%" PRIx64 "\n", d->addr);
        monitor_printf(mon, "  slot: %d\n", d->slot);
        monitor_printf(mon, "  node: %u\n", d->node);
        monitor_printf(mon, "  size: %" PRIu64 "\n", d->hostmem->size);
        monitor_printf(mon, "  memdev: /objects/%s\n", d->hostmem->id);
        monitor_printf(mon, "  hotplugged: %s\n",
                       d->parent.hotplugged ? "true" : "false");
        monitor_printf(mon, "  hotpluggable: true\n");
    }
}

/*
 * QEMU 7.2's layout: the node count, then per node the present CPUs (by
 * index), its memory (boot RAM plus its DIMMs) and the DIMMs' part, in MB.
 */
void hmp_info_numa(Monitor *mon, const char *args)
{
    unsigned n = numa_node_count(current_machine);
    g_autoptr(GPtrArray) dimms = pc_dimm_list();
    unsigned slots = x86_cpu_hotplug_slot_count();

    monitor_printf(mon, "%u nodes\n", n);
    for (unsigned i = 0; i < n; i++) {
        uint64_t plugged = 0;

        monitor_printf(mon, "node %u cpus:", i);
        for (unsigned c = 0; c < slots; c++) {
            /* the CPUs there are (boot and plugged), under any accel */
            if (x86_cpu_hotplug_slot_present(c) &&
                numa_cpu_node(current_machine, c) == (int)i) {
                monitor_printf(mon, " %u", c);
            }
        }
        monitor_printf(mon, "\n");
        for (unsigned d = 0; d < dimms->len; d++) {
            PCDIMMDevice *dimm = g_ptr_array_index(dimms, d);
            if (dimm->node == i) {
                plugged += dimm->hostmem->size;
            }
        }
        monitor_printf(mon, "node %u size: %" PRIu64 " MB\n", i,
                       (current_machine->numa->nodes[i].node_mem + plugged)
                       >> 20);
        monitor_printf(mon, "node %u plugged: %" PRIu64 " MB\n", i,
                       plugged >> 20);
    }
}

void hmp_info_memory_size_summary(Monitor *mon, const char *args)
{
    MemoryInfo *info = qmp_query_memory_size_summary(NULL);

    monitor_printf(mon, "base memory: %" PRIu64 "\n", info->base_memory);
    if (info->has_plugged_memory) {
        monitor_printf(mon, "plugged memory: %" PRIu64 "\n",
                       info->plugged_memory);
    }
    qapi_free_MemoryInfo(info);
}

void hmp_object_add(Monitor *mon, const char *args)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    if (!*a) {
        monitor_printf(mon, "object_add: expects [qom-type=]type,id=str"
                       "[,prop=value][,...]\n");
        return;
    }
    if (!user_object_create_from_opts(a, &err)) {
        monitor_printf(mon, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

void hmp_object_del(Monitor *mon, const char *args)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    if (!user_object_del(a, &err)) {
        monitor_printf(mon, "Error: %s\n", err->message);
        g_error_free(err);
    }
}
