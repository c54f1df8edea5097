/*
 * QMP command implementations (the qmp_*() functions the generated
 * marshallers in qapi-commands.c call), and the command tables.
 *
 * Replies follow QEMU 7.2's for the same commands; where kvmpc has no
 * equivalent of a QEMU member the value QEMU gives for a pc machine with
 * KVM is used (see docs/qmp.md).
 */
#include "qemu/osdep.h"
#include "target/i386/cpu.h"
#include "system/runstate.h"
#include "hw/pci/pci.h"
#include "qemu/version.h"
#include "accel/kvm.h"
#include "chardev/char.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "hw/i386/x86-cpu-hotplug.h"
#include "qapi/qapi-commands.h"
#include "audio/audio.h"
#include "monitor-internal.h"
#include "system/numa.h"

/* Append @obj to a generated FooList through its tail pointer. */
#define LIST_APPEND(tail, obj) do {                         \
        *(tail) = g_new0(__typeof__(**(tail)), 1);          \
        (*(tail))->value = (obj);                           \
        (tail) = &(*(tail))->next;                          \
    } while (0)


/* ---- the command tables --------------------------------------------- */

void monitor_qmp_commands_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    qmp_init_marshal(&qmp_commands);
    /* Before negotiation only qmp_capabilities exists (as in QEMU). */
    qmp_register_command(&qmp_cap_negotiation_commands, "qmp_capabilities",
                         qmp_marshal_qmp_capabilities, QCO_ALLOW_PRECONFIG);
}

/* ---- protocol ------------------------------------------------------- */

void qmp_qmp_capabilities(QMPCapabilityList *enable, GError **errp)
{
    bool oob = false;

    for (QMPCapabilityList *c = enable; c; c = c->next) {
        oob |= c->value == QMP_CAPABILITY_OOB;
    }
    monitor_qmp_negotiate(monitor_cur(), oob, errp);
}

VersionInfo *qmp_query_version(GError **errp)
{
    VersionInfo *info = g_new0(VersionInfo, 1);

    info->qemu = g_new0(VersionTriple, 1);
    info->qemu->major = QEMU_COMPAT_VERSION_MAJOR;
    info->qemu->minor = QEMU_COMPAT_VERSION_MINOR;
    info->qemu->micro = QEMU_COMPAT_VERSION_MICRO;
    info->package = g_strdup("kvmpc-" KVMPC_VERSION);
    return info;
}

static void add_command_info(const QmpCommand *cmd, void *opaque)
{
    CommandInfoList ***tail = opaque;
    CommandInfo *info;

    if (!cmd->enabled) {
        return;
    }
    info = g_new0(CommandInfo, 1);
    info->name = g_strdup(cmd->name);
    LIST_APPEND(*tail, info);
}

CommandInfoList *qmp_query_commands(GError **errp)
{
    CommandInfoList *list = NULL, **tail = &list;

    qmp_for_each_command(&qmp_commands, add_command_info, &tail);
    return list;
}

/* ---- run state ------------------------------------------------------ */

StatusInfo *qmp_query_status(GError **errp)
{
    StatusInfo *info = g_new0(StatusInfo, 1);

    info->running = monitor_vm_running();
    info->singlestep = false;
    info->status = runstate_get();
    return info;
}

void qmp_stop(GError **errp)
{
    monitor_do_stop();
}

void qmp_cont(GError **errp)
{
    monitor_do_cont(errp);
}

void qmp_system_reset(GError **errp)
{
    monitor_do_system_reset();
}

void qmp_system_powerdown(GError **errp)
{
    monitor_do_system_powerdown();
}

void qmp_quit(GError **errp)
{
    monitor_do_quit();
}

/* ---- machine -------------------------------------------------------- */

NameInfo *qmp_query_name(GError **errp)
{
    NameInfo *info = g_new0(NameInfo, 1);

    if (current_machine && current_machine->name) {
        info->name = g_strdup(current_machine->name);
    }
    return info;
}

UuidInfo *qmp_query_uuid(GError **errp)
{
    UuidInfo *info = g_new0(UuidInfo, 1);

    info->UUID = monitor_machine_uuid();
    return info;
}

KvmInfo *qmp_query_kvm(GError **errp)
{
    KvmInfo *info = g_new0(KvmInfo, 1);

    info->enabled = kvm_enabled();
    info->present = kvm_available();
    return info;
}

TargetInfo *qmp_query_target(GError **errp)
{
    TargetInfo *info = g_new0(TargetInfo, 1);

    info->arch = SYS_EMU_TARGET_X86_64;
    return info;
}

static MachineInfo *machine_info(const MachineType *mt)
{
    MachineInfo *info = g_new0(MachineInfo, 1);

    info->name = g_strdup(mt->name);
    info->alias = g_strdup(mt->alias);
    /* QEMU sends is-default only for the default machine. */
    info->has_is_default = mt->is_default;
    info->is_default = mt->is_default;
    info->cpu_max = mt->max_cpus;
    info->hotpluggable_cpus = !mt->no_cpus;
    info->numa_mem_supported = false;
    info->deprecated = false;
    /* QEMU's none machine names no CPU type and calls its RAM "ram" */
    info->default_cpu_type = mt->no_cpus ? NULL :
                             g_strdup("qemu64-x86_64-cpu");
    info->default_ram_id = g_strdup(mt->no_cpus ? "ram" : "pc.ram");
    info->acpi = !mt->no_cpus;
    return info;
}

MachineInfoList *qmp_query_machines(GError **errp)
{
    GPtrArray *types = machine_type_list();
    MachineInfoList *list = NULL, **tail = &list;

    for (guint i = 0; i < types->len; i++) {
        LIST_APPEND(tail, machine_info(g_ptr_array_index(types, i)));
    }
    return list;
}

/* Where QOM would put vCPU @idx (see qom-list in qom-cmds.c). */
char *monitor_cpu_qom_path(unsigned idx)
{
    return g_strdup_printf("/machine/cpu[%u]", idx);
}

static CpuInfoFast *cpu_info_fast(const KvmVcpuInfo *vi)
{
    CpuInfoFast *info = g_new0(CpuInfoFast, 1);
    CpuInstanceProperties *props = g_new0(CpuInstanceProperties, 1);

    info->cpu_index = vi->cpu_index;
    info->qom_path = monitor_cpu_qom_path(vi->cpu_index);
    info->thread_id = vi->thread_id;
    info->target = SYS_EMU_TARGET_X86_64;
    if (numa_cpu_node(current_machine, vi->cpu_index) >= 0) {
        props->has_node_id = true;
        props->node_id = numa_cpu_node(current_machine, vi->cpu_index);
    }
    props->has_socket_id = true;
    props->socket_id = vi->socket_id;
    if (current_machine && current_machine->smp.dies > 1) {
        props->has_die_id = true;
        props->die_id = vi->die_id;
    }
    props->has_core_id = true;
    props->core_id = vi->core_id;
    props->has_thread_id = true;
    props->thread_id = vi->thread_id_in_core;
    info->props = props;
    return info;
}

CpuInfoFastList *qmp_query_cpus_fast(GError **errp)
{
    CpuInfoFastList *list = NULL, **tail = &list;
    KvmVcpuInfo vi;

    for (unsigned i = 0; i < kvm_vcpu_count(); i++) {
        if (kvm_vcpu_info(i, &vi)) {    /* else an empty hotplug slot */
            LIST_APPEND(tail, cpu_info_fast(&vi));
        }
    }
    return list;
}

/* The slots -smp maxcpus describes, present or not, with QEMU's
 * properties: node-id (with -numa), socket-id, die-id (with dies > 1), core-id, thread-id. */
HotpluggableCPUList *qmp_query_hotpluggable_cpus(GError **errp)
{
    HotpluggableCPUList *list = NULL, **tail = &list;
    const SmpConfig one = { 1, 1, 1, 1, 1, 1 };
    const SmpConfig *smp = current_machine ? &current_machine->smp : &one;
    X86CPUTopoInfo topo;

    if (current_machine && current_machine->type->no_cpus) {
        error_setg(errp, "machine does not support hot-plugging CPUs");
        return NULL;
    }
    x86_topo_info_from_smp(smp, &topo);
    for (unsigned i = smp->max_cpus; i-- > 0;) {
        HotpluggableCPU *c = g_new0(HotpluggableCPU, 1);
        CpuInstanceProperties *p = g_new0(CpuInstanceProperties, 1);
        X86CPUTopoIDs ids;

        x86_topo_ids_from_idx(&topo, i, &ids);
        c->type = g_strdup_printf("%s-x86_64-cpu",
                                  x86_cpu_current_config()->model);
        c->vcpus_count = 1;
        if (numa_cpu_node(current_machine, i) >= 0) {
            p->has_node_id = true;
            p->node_id = numa_cpu_node(current_machine, i);
        }
        p->has_socket_id = true;
        p->socket_id = ids.pkg_id;
        if (smp->dies > 1) {
            p->has_die_id = true;
            p->die_id = ids.die_id;
        }
        p->has_core_id = true;
        p->core_id = ids.core_id;
        p->has_thread_id = true;
        p->thread_id = ids.smt_id;
        c->props = p;
        if (x86_cpu_hotplug_slot_device(i)) {
            c->qom_path = g_strdup(x86_cpu_hotplug_slot_device(i)->path);
        } else if (i < smp->cpus) {
            c->qom_path = monitor_cpu_qom_path(i);
        }
        LIST_APPEND(tail, c);
    }
    return list;
}

/* ---- CPU models ----------------------------------------------------- */

static CpuDefinitionInfo *cpu_definition(const char *name, const char *alias,
                                         bool safe)
{
    CpuDefinitionInfo *d = g_new0(CpuDefinitionInfo, 1);
    g_autoptr(GPtrArray) missing =
        x86_cpu_model_unavailable(alias ? alias : name,
                                  x86_cpu_supported_cpuid());
    strList **tail = &d->unavailable_features;

    d->name = g_strdup(name);
    d->typename = g_strdup_printf("%s-x86_64-cpu", name);
    d->has_migration_safe = true;
    d->migration_safe = safe;
    d->alias_of = g_strdup(alias);
    for (unsigned i = 0; i < missing->len; i++) {
        LIST_APPEND(tail, g_strdup(g_ptr_array_index(missing, i)));
    }
    return d;
}

/* As QEMU 7.2: every NAME-vN, its aliases (NAME is NAME-v1's), max;
 * host only where KVM runs. */
CpuDefinitionInfoList *qmp_query_cpu_definitions(GError **errp)
{
    CpuDefinitionInfoList *list = NULL, **tail = &list;
    X86CPUModelInfo m;

    for (unsigned i = 0; x86_cpu_model_get(i, &m); i++) {
        if (m.from_host && !strcmp(m.name, "host") && !kvm_enabled()) {
            continue;
        }
        LIST_APPEND(tail, cpu_definition(m.name, m.alias_of, !m.from_host));
    }
    return list;
}

CpuModelExpansionInfo *qmp_query_cpu_model_expansion(
    CpuModelExpansionType type, CpuModelInfo *model, GError **errp)
{
    QDict *props_in = NULL;
    QDict *props;
    CpuModelExpansionInfo *info;

    if (model->props) {
        props_in = qobject_to(QDict, model->props);
        if (!props_in) {
            error_setg(errp, "Invalid parameter type for 'props', expected: "
                       "dict");
            return NULL;
        }
    }
    props = x86_cpu_model_expand(model->name, props_in,
                                 type == CPU_MODEL_EXPANSION_TYPE_FULL, errp);
    if (!props) {
        return NULL;
    }
    info = g_new0(CpuModelExpansionInfo, 1);
    info->model = g_new0(CpuModelInfo, 1);
    info->model->name = g_strdup(type == CPU_MODEL_EXPANSION_TYPE_FULL ?
                                 model->name : "base");
    info->model->props = QOBJECT(props);
    return info;
}

/* ---- devices -------------------------------------------------------- */

ChardevInfoList *qmp_query_chardev(GError **errp)
{
    GPtrArray *chrs = qemu_chr_list();
    ChardevInfoList *list = NULL, **tail = &list;

    for (guint i = 0; i < chrs->len; i++) {
        Chardev *chr = g_ptr_array_index(chrs, i);
        ChardevInfo *info = g_new0(ChardevInfo, 1);

        info->label = g_strdup(chr->id);
        /* A socket in the monitor I/O thread renames itself on connect. */
        g_rec_mutex_lock(&chr->write_lock);
        info->filename = g_strdup(chr->filename);
        g_rec_mutex_unlock(&chr->write_lock);
        info->frontend_open = qemu_chr_fe_is_open(chr);
        LIST_APPEND(tail, info);
    }
    return list;
}

static PciMemoryRegionList *pci_regions_to_qapi(const PCIDeviceInfo *pi)
{
    PciMemoryRegionList *list = NULL, **tail = &list;

    for (unsigned i = 0; i < pi->nr_regions; i++) {
        const PCIRegionInfo *r = &pi->regions[i];
        PciMemoryRegion *m = g_new0(PciMemoryRegion, 1);

        m->bar = r->bar;
        m->type = g_strdup(r->is_io ? "io" : "memory");
        /* QEMU reports an unmapped BAR at address -1. */
        m->address = r->address == PCI_BAR_UNMAPPED ? -1 : (int64_t)r->address;
        m->size = r->size;
        if (!r->is_io) {
            m->has_prefetch = m->has_mem_type_64 = true;
            m->prefetch = r->prefetch;
            m->mem_type_64 = r->mem_type_64;
        }
        LIST_APPEND(tail, m);
    }
    return list;
}

static void pci_device_to_qapi(PCIBus *bus, PCIDevice *dev, void *opaque);

static PciMemoryRange *pci_range(uint64_t base, uint64_t limit)
{
    PciMemoryRange *r = g_new0(PciMemoryRange, 1);

    r->base = base;
    r->limit = limit;
    return r;
}

/* What QEMU's qmp_query_pci_bridge reports: bus numbers, the windows as
 * the type 1 registers say (a closed window has base > limit), and the
 * devices behind. */
static PciBridgeInfo *pci_bridge_to_qapi(PCIDevice *dev, PCIBus *sec)
{
    PciBridgeInfo *info = g_new0(PciBridgeInfo, 1);
    const uint8_t *c = dev->config;
    uint64_t base, limit;
    PciDeviceInfoList **tail = &info->devices;

    info->bus = g_new0(PciBusInfo, 1);
    info->bus->number = c[PCI_PRIMARY_BUS];
    info->bus->secondary = c[PCI_SECONDARY_BUS];
    info->bus->subordinate = c[PCI_SUBORDINATE_BUS];
    base = (uint64_t)(c[PCI_IO_BASE] & 0xf0) << 8;
    limit = (uint64_t)(c[PCI_IO_LIMIT] & 0xf0) << 8 | 0xfff;
    if ((c[PCI_IO_BASE] & 0x0f) == 0x01) {
        base |= (uint64_t)pci_get_word(c + PCI_IO_BASE_UPPER16) << 16;
        limit |= (uint64_t)pci_get_word(c + PCI_IO_LIMIT_UPPER16) << 16;
    }
    info->bus->io_range = pci_range(base, limit);
    base = (uint64_t)(pci_get_word(c + PCI_MEMORY_BASE) & 0xfff0) << 16;
    limit = (uint64_t)(pci_get_word(c + PCI_MEMORY_LIMIT) & 0xfff0) << 16 |
            0xfffff;
    info->bus->memory_range = pci_range(base, limit);
    base = (uint64_t)(pci_get_word(c + PCI_PREF_MEMORY_BASE) & 0xfff0) << 16;
    limit = (uint64_t)(pci_get_word(c + PCI_PREF_MEMORY_LIMIT) & 0xfff0)
            << 16 | 0xfffff;
    if (pci_get_word(c + PCI_PREF_MEMORY_BASE) & 0x1) {
        base |= (uint64_t)pci_get_long(c + PCI_PREF_BASE_UPPER32) << 32;
        limit |= (uint64_t)pci_get_long(c + PCI_PREF_LIMIT_UPPER32) << 32;
    }
    info->bus->prefetchable_range = pci_range(base, limit);
    pci_for_each_device(sec, pci_device_to_qapi, &tail);
    return info;
}

static void pci_device_to_qapi(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    PciDeviceInfoList ***tail = opaque;
    PciDeviceInfo *info = g_new0(PciDeviceInfo, 1);
    PCIDeviceInfo pi;

    pci_device_get_info(dev, &pi);
    info->bus = pi.bus;
    info->slot = pi.slot;
    info->function = pi.function;
    info->class_info = g_new0(PciDeviceClass, 1);
    info->class_info->class = pi.class_id;
    info->class_info->desc = g_strdup(pi.class_desc);
    info->id = g_new0(PciDeviceId, 1);
    info->id->vendor = pi.vendor_id;
    info->id->device = pi.device_id;
    info->id->has_subsystem = info->id->has_subsystem_vendor = true;
    info->id->subsystem = pi.subsystem_id;
    info->id->subsystem_vendor = pi.subsystem_vendor_id;
    if (pi.has_irq) {
        info->has_irq = true;
        info->irq = pi.irq;
    }
    info->irq_pin = pi.irq_pin;
    info->qdev_id = g_strdup(pi.qdev_id ? pi.qdev_id : "");
    info->regions = pci_regions_to_qapi(&pi);
    if (pci_device_get_secondary_bus(dev)) {
        info->pci_bridge = pci_bridge_to_qapi(dev,
                                              pci_device_get_secondary_bus(dev));
    }
    LIST_APPEND(*tail, info);
}

PciInfoList *qmp_query_pci(GError **errp)
{
    PciInfoList *list = NULL, **tail = &list;
    PciInfo *businfo;
    PciDeviceInfoList **dev_tail;
    PCIBus *bus = pci_root_bus();

    if (!bus) {
        return NULL;   /* a machine without PCI: an empty list */
    }
    businfo = g_new0(PciInfo, 1);
    businfo->bus = 0;
    dev_tail = &businfo->devices;
    pci_for_each_device(bus, pci_device_to_qapi, &dev_tail);
    LIST_APPEND(tail, businfo);
    return list;
}

/* ---- human-monitor-command ------------------------------------------ */

char *qmp_human_monitor_command(const char *command_line, bool has_cpu_index,
                                int64_t cpu_index, GError **errp)
{
    if (has_cpu_index &&
        (cpu_index < 0 || cpu_index >= (int64_t)kvm_vcpu_count())) {
        error_setg(errp, "Parameter 'cpu-index' expects a CPU number");
        return NULL;
    }
    return hmp_run_command_on_cpu(command_line,
                                  has_cpu_index ? (int)cpu_index : -1);
}

/* ---- audio (docs/audio.md) ------------------------------------------ */

static AudiodevPerDirectionOptions *audiodev_dir(const AudioSettings *as,
                                                 uint32_t buffer_us,
                                                 const AudioDirStats *st)
{
    AudiodevPerDirectionOptions *d = g_new0(AudiodevPerDirectionOptions, 1);

    d->has_mixing_engine = d->mixing_engine = true;
    d->has_fixed_settings = d->fixed_settings = true;
    d->has_frequency = true;
    d->frequency = as->freq;
    d->has_channels = true;
    d->channels = as->nchannels;
    d->has_format = true;
    d->format = as->fmt;
    d->has_buffer_length = buffer_us != 0;
    d->buffer_length = buffer_us;
    d->has_x_frames = d->has_x_underruns = d->has_x_overruns = true;
    d->x_frames = st->frames;
    d->x_underruns = st->underruns;
    d->x_overruns = st->overruns;
    return d;
}

AudiodevList *qmp_query_audiodevs(GError **errp)
{
    GPtrArray *list = audio_state_list();
    AudiodevList *head = NULL, **tail = &head;

    for (guint i = 0; i < list->len; i++) {
        AudioState *s = g_ptr_array_index(list, i);
        Audiodev *a = g_new0(Audiodev, 1);
        AudiodevPerDirectionOptions *in, *out;
        int drv = -1;

        for (int d = 0; d < AUDIODEV_DRIVER__MAX; d++) {
            if (!strcmp(AudiodevDriver_str[d], s->driver)) {
                drv = d;
            }
        }

        a->id = g_strdup(s->id);
        a->driver = drv < 0 ? AUDIODEV_DRIVER_NONE : drv;
        a->has_timer_period = true;
        a->timer_period = s->timer_period_us;
        in = audiodev_dir(&s->in, s->in_buffer_us, &s->in_stats);
        out = audiodev_dir(&s->out, s->out_buffer_us, &s->out_stats);
        switch (a->driver) {
        case AUDIODEV_DRIVER_WAV:
            a->u.wav.in = in;
            a->u.wav.out = out;
            a->u.wav.path = audio_driver_describe(s);
            break;
        case AUDIODEV_DRIVER_PA:
            a->u.pa.in = in;
            a->u.pa.out = out;
            a->u.pa.server = audio_driver_describe(s);
            break;
        case AUDIODEV_DRIVER_ALSA:
            a->u.alsa.in = in;
            a->u.alsa.out = out;
            break;
        default:
            a->u.none.in = in;
            a->u.none.out = out;
            break;
        }
        LIST_APPEND(tail, a);
    }
    return head;
}
