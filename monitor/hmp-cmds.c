/*
 * Human monitor commands other than the memory dumps.  The texts follow
 * QEMU's, since people and tools read them.
 */
#include "qemu/osdep.h"
#include "qemu/version.h"
#include "accel/kvm.h"
#include "chardev/char.h"
#include "hw/boards.h"
#include "target/i386/cpu.h"
#include "hw/qdev.h"
#include "hw/usb/usb.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "qapi/qapi-commands.h"
#include "hmp.h"

static void hmp_report_error(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

void hmp_stop(Monitor *mon, const char *args)
{
    monitor_do_stop();
}

void hmp_cont(Monitor *mon, const char *args)
{
    GError *err = NULL;

    if (!monitor_do_cont(&err)) {
        hmp_report_error(mon, err);
    }
}

void hmp_system_reset(Monitor *mon, const char *args)
{
    monitor_do_system_reset();
}

void hmp_system_powerdown(Monitor *mon, const char *args)
{
    monitor_do_system_powerdown();
}

void hmp_quit(Monitor *mon, const char *args)
{
    monitor_do_quit();
}

void hmp_cpu(Monitor *mon, const char *args)
{
    uint64_t idx;

    g_autofree char *arg = g_strstrip(g_strdup(args));
    if (!parse_uint(arg, &idx, NULL) || idx >= kvm_vcpu_count()) {
        monitor_printf(mon, "invalid CPU index\n");
        return;
    }
    mon->cpu_index = idx;
}

void hmp_info_status(Monitor *mon, const char *args)
{
    RunState s = runstate_get();

    monitor_printf(mon, "VM status: %s", runstate_is_running() ? "running"
                                                               : "paused");
    if (!runstate_is_running() && s != RUN_STATE_PAUSED) {
        monitor_printf(mon, " (%s)", runstate_name(s));
    }
    monitor_printf(mon, "\n");
}

void hmp_info_version(Monitor *mon, const char *args)
{
    monitor_printf(mon, "%s (kvmpc-%s)\n", QEMU_COMPAT_VERSION,
                   KVMPC_VERSION);
}

void hmp_info_name(Monitor *mon, const char *args)
{
    if (current_machine && current_machine->name) {
        monitor_printf(mon, "%s\n", current_machine->name);
    }
}

/* info usb: one line per attached device (hw/usb/bus.c) */
void hmp_info_usb(Monitor *mon, const char *args)
{
    g_autofree char *text = usb_info_text();
    monitor_printf(mon, "%s", text);
}

void hmp_info_uuid(Monitor *mon, const char *args)
{
    g_autofree char *uuid = monitor_machine_uuid();
    monitor_printf(mon, "%s\n", uuid);
}

void hmp_info_vm_generation_id(Monitor *mon, const char *args)
{
    GError *err = NULL;
    GuidInfo *info = qmp_query_vm_generation_id(&err);

    if (!info) {
        hmp_report_error(mon, err);
        return;
    }
    monitor_printf(mon, "%s\n", info->guid);
    qapi_free_GuidInfo(info);
}

void hmp_info_kvm(Monitor *mon, const char *args)
{
    monitor_printf(mon, "kvm support: %s\n",
                   kvm_enabled() ? "enabled" : "disabled");
}

void hmp_info_cpus(Monitor *mon, const char *args)
{
    KvmVcpuInfo info;

    for (unsigned i = 0; i < kvm_vcpu_count(); i++) {
        if (!kvm_vcpu_info(i, &info)) {
            continue;           /* an empty CPU hotplug slot */
        }
        monitor_printf(mon, "%c CPU #%u: thread_id=%d\n",
                       i == mon->cpu_index ? '*' : ' ', info.cpu_index,
                       info.thread_id);
    }
}

/* QEMU 7.2's hmp_hotpluggable_cpus layout. */
void hmp_info_hotpluggable_cpus(Monitor *mon, const char *args)
{
    GError *err = NULL;
    HotpluggableCPUList *list = qmp_query_hotpluggable_cpus(&err);

    if (err) {
        monitor_printf(mon, "Error: %s\n", err->message);
        g_error_free(err);
        return;
    }
    monitor_printf(mon, "Hotpluggable CPUs:\n");
    for (HotpluggableCPUList *l = list; l; l = l->next) {
        const CpuInstanceProperties *c = l->value->props;

        monitor_printf(mon, "  type: \"%s\"\n", l->value->type);
        monitor_printf(mon, "  vcpus_count: \"%" PRIi64 "\"\n",
                       l->value->vcpus_count);
        if (l->value->qom_path) {
            monitor_printf(mon, "  qom_path: \"%s\"\n", l->value->qom_path);
        }
        monitor_printf(mon, "  CPUInstance Properties:\n");
        if (c->has_node_id) {
            monitor_printf(mon, "    node-id: \"%" PRIi64 "\"\n", c->node_id);
        }
        if (c->has_socket_id) {
            monitor_printf(mon, "    socket-id: \"%" PRIi64 "\"\n",
                           c->socket_id);
        }
        if (c->has_die_id) {
            monitor_printf(mon, "    die-id: \"%" PRIi64 "\"\n", c->die_id);
        }
        if (c->has_core_id) {
            monitor_printf(mon, "    core-id: \"%" PRIi64 "\"\n", c->core_id);
        }
        if (c->has_thread_id) {
            monitor_printf(mon, "    thread-id: \"%" PRIi64 "\"\n",
                           c->thread_id);
        }
    }
    qapi_free_HotpluggableCPUList(list);
}

static int cpuid_entry_cmp(const void *a, const void *b)
{
    const struct kvm_cpuid_entry2 *x = a, *y = b;

    if (x->function != y->function) {
        return x->function < y->function ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * kvmpc's own: the CPUID table vCPU N gets (the current -cpu and -smp
 * against KVM's supported CPUID, or the qtest stand-in host), one
 * "0xFUNCTION 0xINDEX: eax=... ebx=... ecx=... edx=..." line per leaf,
 * then the feature MSRs.  Under qtest this is how tests see the leaves.
 */
void hmp_info_cpuid(Monitor *mon, const char *args)
{
    g_autofree char *arg = g_strstrip(g_strdup(args));
    g_autofree X86CPUIDTable *t = g_new0(X86CPUIDTable, 1);
    unsigned ncpus = current_machine ? current_machine->smp.cpus : 1;
    uint64_t idx = mon->cpu_index;
    GError *err = NULL;

    if (arg[0] && (!parse_uint(arg, &idx, &err) || idx >= ncpus)) {
        g_clear_error(&err);
        monitor_printf(mon, "invalid CPU index '%s' (0..%u)\n", arg,
                       ncpus - 1);
        return;
    }
    if (!x86_cpu_build_for_index(idx, t, &err)) {
        monitor_printf(mon, "%s\n", err->message);
        g_error_free(err);
        return;
    }
    qsort(t->entries, t->nent, sizeof(t->entries[0]), cpuid_entry_cmp);
    for (unsigned i = 0; i < t->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &t->entries[i];
        monitor_printf(mon, "0x%08x 0x%02x: eax=0x%08x ebx=0x%08x "
                       "ecx=0x%08x edx=0x%08x\n", e->function, e->index,
                       e->eax, e->ebx, e->ecx, e->edx);
    }
    for (unsigned w = FEAT_FIRST_MSR; w < FEATURE_WORDS; w++) {
        monitor_printf(mon, "MSR 0x%03x: 0x%08x\n", x86_feature_msr_index(w),
                       t->feature_msrs[w - FEAT_FIRST_MSR]);
    }
}

void hmp_info_registers(Monitor *mon, const char *args)
{
    g_autofree char *arg = g_strstrip(g_strdup(args));
    bool all = !strcmp(arg, "-a");
    unsigned n = kvm_vcpu_count();

    if (!n) {
        monitor_printf(mon, "No CPU available\n");
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!all && i != mon->cpu_index) {
            continue;
        }
        g_autofree char *dump = kvm_vcpu_dump_registers(i);
        if (all) {
            monitor_printf(mon, "\nCPU#%u\n", i);
        }
        monitor_puts(mon, dump ? dump : "No CPU available\n");
    }
}

void hmp_info_pci(Monitor *mon, const char *args)
{
    g_autofree char *text = monitor_pci_info_text();
    monitor_puts(mon, text);
}

static void print_prop(Monitor *mon, DeviceState *dev, const Property *p)
{
    g_autofree char *val = device_get_prop_str(dev, p);
    uint64_t n;

    switch (p->type) {
    case PROP_STRING:
    case PROP_CHARDEV:
        monitor_printf(mon, "    %s = \"%s\"\n", p->name, val ? val : "");
        break;
    case PROP_BOOL:
        monitor_printf(mon, "    %s = %s\n", p->name,
                       val && !strcmp(val, "on") ? "true" : "false");
        break;
    case PROP_PCI_DEVFN:
        monitor_printf(mon, "    %s = %s\n", p->name, val ? val : "");
        break;
    default:
        if (val && parse_uint(val, &n, NULL)) {
            monitor_printf(mon, "    %s = %s (0x%" PRIx64 ")\n", p->name,
                           val, n);
        } else {
            monitor_printf(mon, "    %s = %s\n", p->name, val ? val : "");
        }
        break;
    }
}

void hmp_info_qtree(Monitor *mon, const char *args)
{
    GPtrArray *devs = device_list();

    monitor_printf(mon, "bus: main-system-bus\n  type System\n");
    for (guint i = 0; i < devs->len; i++) {
        DeviceState *dev = g_ptr_array_index(devs, i);
        monitor_printf(mon, "  dev: %s, id \"%s\"\n", dev->type->name,
                       dev->id ? dev->id : "");
        for (const DeviceType *t = dev->type; t;
             t = t->parent ? device_type_find(t->parent) : NULL) {
            for (const Property *p = t->props; p && p->name; p++) {
                print_prop(mon, dev, p);
            }
        }
    }
}

void hmp_info_mtree(Monitor *mon, const char *args)
{
    g_autofree char *text = memory_mtree_to_string();
    monitor_puts(mon, text);
}

void hmp_info_chardev(Monitor *mon, const char *args)
{
    GPtrArray *list = qemu_chr_list();

    for (guint i = 0; i < list->len; i++) {
        Chardev *chr = g_ptr_array_index(list, i);
        g_autofree char *filename = NULL;

        g_rec_mutex_lock(&chr->write_lock);
        filename = g_strdup(chr->filename);
        g_rec_mutex_unlock(&chr->write_lock);
        monitor_printf(mon, "%s: filename=%s\n", chr->id, filename);
    }
}

void hmp_info_history(Monitor *mon, const char *args)
{
    Monitor *term = mon->rs ? mon : NULL;

    if (!term) {
        return;     /* human-monitor-command has no history */
    }
    for (unsigned i = 0; i < readline_history_len(term->rs); i++) {
        monitor_printf(mon, "%d: '%s'\n", i,
                       readline_history_get(term->rs, i));
    }
}

/* balloon TARGET (MiB), as QEMU's HMP. */
void hmp_balloon(Monitor *mon, const char *args)
{
    g_autofree char *arg = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;
    uint64_t mib;

    if (!parse_uint(arg, &mib, NULL) || mib > INT64_MAX / MiB) {
        monitor_printf(mon, "balloon: expects a size in MiB\n");
        return;
    }
    qmp_balloon(mib * MiB, &err);
    if (err) {
        hmp_report_error(mon, err);
    }
}

void hmp_info_balloon(Monitor *mon, const char *args)
{
    GError *err = NULL;
    BalloonInfo *info = qmp_query_balloon(&err);

    if (!info) {
        hmp_report_error(mon, err);
        return;
    }
    monitor_printf(mon, "balloon: actual=%" PRId64 "\n", info->actual / (int64_t)MiB);
    qapi_free_BalloonInfo(info);
}
