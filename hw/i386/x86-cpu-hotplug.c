/*
 * CPU devices and slots for CPU hotplug (include/hw/i386/x86-cpu-hotplug.h).
 *
 * Each named CPU model is a device type "MODEL-x86_64-cpu" below the
 * abstract "x86_64-cpu", with QEMU's topology properties socket-id,
 * die-id, core-id and thread-id.  Realize checks what QEMU 7.2's
 * pc_cpu_pre_plug checks, with its words: the model is the machine's
 * -cpu model, every id is set and in range, the slot exists (below
 * maxcpus) and is free.  Plug (device_add) creates the vCPU through the
 * accelerator and tells the guest through the ACPI CPU hotplug block
 * (hw/acpi/cpu-hotplug.c); a -device CPU is cold-plugged and the
 * accelerator creates its vCPU with the boot CPUs.  device_del asks the
 * guest; its _EJ0 write ends the vCPU and unrealizes the device.
 */
#include "qemu/osdep.h"
#include "hw/i386/x86-cpu-hotplug.h"
#include "hw/acpi/cpu-hotplug.h"
#include "system/accel.h"
#include "system/numa.h"
#include "target/i386/cpu.h"

typedef struct CpuSlot {
    uint32_t apic_id;
    X86CPUTopoIDs ids;
    bool boot;                  /* a -smp cpus CPU */
    X86CPUDevice *dev;
} CpuSlot;

static CpuSlot *slots;
static unsigned nr_slots;
static const MachineState *slots_machine;

/* Built on first use from the machine's -smp. */
static void slots_init(void)
{
    X86CPUTopoInfo topo;

    if (slots_machine == current_machine) {
        return;
    }
    g_clear_pointer(&slots, g_free);
    nr_slots = 0;
    slots_machine = current_machine;
    if (!current_machine || !current_machine->type ||
        current_machine->type->no_cpus) {
        return;
    }
    x86_topo_info_from_smp(&current_machine->smp, &topo);
    nr_slots = MAX(current_machine->smp.max_cpus, 1u);
    slots = g_new0(CpuSlot, nr_slots);
    for (unsigned i = 0; i < nr_slots; i++) {
        slots[i].apic_id = x86_apicid_from_cpu_idx(&topo, i);
        x86_topo_ids_from_idx(&topo, i, &slots[i].ids);
        slots[i].boot = i < MAX(current_machine->smp.cpus, 1u);
    }
}

unsigned x86_cpu_hotplug_slot_count(void)
{
    slots_init();
    return nr_slots;
}

uint32_t x86_cpu_hotplug_slot_apic_id(unsigned slot)
{
    slots_init();
    return slot < nr_slots ? slots[slot].apic_id : 0;
}

bool x86_cpu_hotplug_slot_present(unsigned slot)
{
    slots_init();
    return slot < nr_slots && (slots[slot].boot || slots[slot].dev);
}

DeviceState *x86_cpu_hotplug_slot_device(unsigned slot)
{
    slots_init();
    return slot < nr_slots && slots[slot].dev ?
           &slots[slot].dev->parent : NULL;
}

char *x86_cpu_hotplug_slot_id(unsigned slot)
{
    DeviceState *d = x86_cpu_hotplug_slot_device(slot);

    return d ? g_strdup(d->id) : NULL;
}

void x86_cpu_hotplug_eject(unsigned slot)
{
    DeviceState *d = x86_cpu_hotplug_slot_device(slot);

    if (d) {
        device_unplug_complete(d);
    }
}

/* ---- realize: QEMU's pc_cpu_pre_plug checks -------------------------- */

static bool check_id(const char *what, int32_t val, unsigned count,
                     GError **errp)
{
    if (val < 0) {
        error_setg(errp, "CPU %s is not set", what);
        return false;
    }
    if ((unsigned)val > count - 1) {
        error_setg(errp, "Invalid CPU %s: %u must be in range 0:%u", what,
                   (unsigned)val, count - 1);
        return false;
    }
    return true;
}

/* QEMU's numa_cpu_pre_plug: node-id, when given, is the slot's node
 * (node 0 without -numa); left out, the CPU takes the slot's node. */
static bool check_node_id(X86CPUDevice *c, GError **errp)
{
    int node = MAX(numa_cpu_node(current_machine, c->slot), 0);

    if (c->node_id < 0) {
        c->node_id = numa_cpu_node(current_machine, c->slot);
        return true;
    }
    if (c->node_id != node) {
        error_setg(errp, "invalid node-id, must be %d", node);
        return false;
    }
    return true;
}

static bool find_slot(X86CPUDevice *c, GError **errp)
{
    const SmpConfig *smp = &current_machine->smp;
    unsigned max_socket = (smp->max_cpus - 1) / MAX(smp->threads, 1u) /
                          MAX(smp->cores, 1u) / MAX(smp->dies, 1u);
    X86CPUTopoInfo topo;
    X86CPUTopoIDs ids;
    uint32_t apic_id;

    if (c->die_id < 0 && MAX(smp->dies, 1u) == 1) {
        c->die_id = 0;
    }
    if (!check_id("socket-id", c->socket_id, max_socket + 1, errp) ||
        !check_id("die-id", c->die_id, MAX(smp->dies, 1u), errp) ||
        !check_id("core-id", c->core_id, MAX(smp->cores, 1u), errp) ||
        !check_id("thread-id", c->thread_id, MAX(smp->threads, 1u), errp)) {
        return false;
    }
    x86_topo_info_from_smp(smp, &topo);
    ids = (X86CPUTopoIDs){ c->socket_id, c->die_id, c->core_id,
                           c->thread_id };
    apic_id = x86_apicid_from_topo_ids(&topo, &ids);
    for (unsigned i = 0; i < nr_slots; i++) {
        if (slots[i].apic_id != apic_id) {
            continue;
        }
        if (slots[i].boot || slots[i].dev) {
            error_setg(errp, "CPU[%u] with APIC ID %u exists", i, apic_id);
            return false;
        }
        c->slot = i;
        return check_node_id(c, errp);
    }
    error_setg(errp, "Invalid CPU [socket: %u, die: %u, core: %u, thread: "
               "%u] with APIC ID %u, valid index range 0:%u",
               ids.pkg_id, ids.die_id, ids.core_id, ids.smt_id, apic_id,
               nr_slots - 1);
    return false;
}

static bool x86_cpu_realize(DeviceState *dev, GError **errp)
{
    X86CPUDevice *c = (X86CPUDevice *)dev;
    g_autofree char *want = NULL;

    slots_init();
    if (!nr_slots) {
        error_setg(errp, "machine does not support hot-plugging CPUs");
        return false;
    }
    want = g_strdup_printf("%s-x86_64-cpu", x86_cpu_current_config()->model);
    if (strcmp(dev->type->name, want)) {
        error_setg(errp, "Invalid CPU type, expected cpu type: '%s'", want);
        return false;
    }
    if (!find_slot(c, errp)) {
        return false;
    }
    slots[c->slot].dev = c;
    c->claimed = true;
    return true;
}

static void x86_cpu_unrealize(DeviceState *dev)
{
    X86CPUDevice *c = (X86CPUDevice *)dev;
    AcpiCpuHpState *hp = acpi_cpuhp_controller();

    if (!c->claimed) {
        return;
    }
    if (c->vcpu_created && current_accel && current_accel->unplug_vcpu) {
        current_accel->unplug_vcpu(c->slot);
    }
    c->vcpu_created = false;
    if (c->slot < nr_slots && slots[c->slot].dev == c) {
        slots[c->slot].dev = NULL;
    }
    if (hp) {
        acpi_cpuhp_unplugged(hp, c->slot);
    }
    c->claimed = false;
}

/* ---- hotplug handler: the ACPI CPU hotplug block --------------------- */

static bool x86_cpu_plug(HotplugHandler *h, DeviceState *dev, GError **errp)
{
    X86CPUDevice *c = (X86CPUDevice *)dev;
    AcpiCpuHpState *hp = acpi_cpuhp_controller();

    if (!dev->hotplugged) {
        return true;
    }
    if (current_accel && current_accel->hotplug_vcpu) {
        if (!current_accel->hotplug_vcpu(c->slot, errp)) {
            return false;
        }
        c->vcpu_created = true;
    }
    acpi_cpuhp_plug(hp, c->slot);
    return true;
}

static bool x86_cpu_unplug_request(HotplugHandler *h, DeviceState *dev,
                                   GError **errp)
{
    X86CPUDevice *c = (X86CPUDevice *)dev;

    dev->pending_deletion_event = true;
    acpi_cpuhp_request_unplug(acpi_cpuhp_controller(), c->slot);
    return true;
}

static HotplugHandler cpu_hotplug_handler = {
    .plug = x86_cpu_plug,
    .unplug_request = x86_cpu_unplug_request,
};

/* Without the ACPI block (acpi=off, a machine without PM) CPUs cannot be
 * hot-plugged; cold-plugged ones (-device) need no handler. */
static HotplugHandler *x86_cpu_hotplug_handler(DeviceState *dev,
                                               const char **bus_name)
{
    return acpi_cpuhp_controller() ? &cpu_hotplug_handler : NULL;
}

static const Property x86_cpu_props[] = {
    DEFINE_PROP("socket-id", X86CPUDevice, socket_id, PROP_INT32, "-1",
                "package number"),
    DEFINE_PROP("die-id", X86CPUDevice, die_id, PROP_INT32, "-1",
                "die number in the package"),
    DEFINE_PROP("core-id", X86CPUDevice, core_id, PROP_INT32, "-1",
                "core number in the die"),
    DEFINE_PROP("thread-id", X86CPUDevice, thread_id, PROP_INT32, "-1",
                "thread number in the core"),
    DEFINE_PROP("node-id", X86CPUDevice, node_id, PROP_INT32, "-1",
                "NUMA node (-numa; must be the slot's)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType x86_cpu_type = {
    .name = TYPE_X86_CPU,
    .parent = TYPE_DEVICE,
    .desc = "x86 CPU",
    .instance_size = sizeof(X86CPUDevice),
    .abstract = true,
    .props = x86_cpu_props,
    .realize = x86_cpu_realize,
    .unrealize = x86_cpu_unrealize,
    .get_hotplug_handler = x86_cpu_hotplug_handler,
};

static const Property no_props[] = { DEFINE_PROP_END_OF_LIST() };

/* One concrete type per model, named as QEMU names them. */
static void x86_cpu_device_types_register(void)
{
    X86CPUModelInfo m;

    device_type_register(&x86_cpu_type);
    for (unsigned i = 0; x86_cpu_model_get(i, &m); i++) {
        DeviceType *t = g_new0(DeviceType, 1);

        t->name = g_strdup_printf("%s-x86_64-cpu", m.name);
        t->parent = TYPE_X86_CPU;
        t->desc = m.desc;
        t->instance_size = sizeof(X86CPUDevice);
        t->user_creatable = true;
        t->props = no_props;
        device_type_register(t);
    }
}
type_init(x86_cpu_device_types_register)
