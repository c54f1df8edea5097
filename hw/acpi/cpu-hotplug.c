/*
 * ACPI CPU hotplug: the modern register block (QEMU's "acpi-cpu-hotplug",
 * docs/specs/acpi_cpu_hotplug.rst there) through which the DSDT's
 * \_SB.CPUS methods learn which CPU slots changed, read a CPU's APIC ID,
 * report _OST and eject a CPU.  Register list in
 * include/hw/acpi/cpu-hotplug.h.
 *
 * Spec: ACPI 6.4, 5.6.4 (GPE, _Exx), 5.6.6 (Notify: 1 device check,
 * 3 eject request), 6.3.3 (_EJx), 6.3.5 (_OST); the register block is
 * QEMU's own interface, followed as QEMU 7.2 has it.
 *
 * Flow: device_add of a CPU realizes it (hw/i386/x86-cpu-hotplug.c) and
 * calls acpi_cpuhp_plug(): the slot is enabled, has an insert event, and
 * GPE0 bit 2 raises the SCI.  The guest's CSCN loops "command 0" to find
 * each slot with an event, notifies it and clears the event.  device_del
 * sets the remove event; the guest's _EJ0 writes the eject bit and only
 * then the CPU goes (x86_cpu_hotplug_eject) and DEVICE_DELETED is sent.
 * Boot CPUs can be ejected too, as in QEMU, but for CPU 0 the guest
 * never does so.
 *
 * Guest input: the selector is any 32-bit value; a selector past the last
 * slot reads 0 and makes flag/data writes no-ops, so no index reaches
 * the slot array unchecked.
 */
#include "qemu/osdep.h"
#include "hw/acpi/cpu-hotplug.h"
#include "hw/i386/x86-cpu-hotplug.h"
#include "qapi/qapi-events.h"

static AcpiCpuHpState *controller;

AcpiCpuHpState *acpi_cpuhp_controller(void)
{
    return controller;
}

static AcpiCpuHpSlot *selected_slot(AcpiCpuHpState *s)
{
    return s->selector < s->nr_slots ? &s->slots[s->selector] : NULL;
}

static void cpuhp_send_gpe(AcpiCpuHpState *s)
{
    if (s->send_event) {
        s->send_event(s->opaque, ACPI_CPU_HOTPLUG_STATUS);
    }
}

/* Command 0: the first slot from the selector on with an event. */
static void cpuhp_select_next_event(AcpiCpuHpState *s)
{
    for (uint32_t i = 0; i < s->nr_slots; i++) {
        uint32_t n = (s->selector + i) % s->nr_slots;

        if (s->slots[n].inserting || s->slots[n].removing) {
            s->selector = n;
            return;
        }
    }
}

static uint8_t cpuhp_flags(const AcpiCpuHpState *s, const AcpiCpuHpSlot *c)
{
    bool present = x86_cpu_hotplug_slot_present(c - s->slots);

    return (present ? ACPI_CPUHP_FLAG_ENABLED : 0) |
           (c->inserting ? ACPI_CPUHP_FLAG_INSERT : 0) |
           (c->removing ? ACPI_CPUHP_FLAG_REMOVE : 0);
}

static uint64_t cpuhp_read(void *opaque, uint64_t addr, unsigned size)
{
    AcpiCpuHpState *s = opaque;
    AcpiCpuHpSlot *c = selected_slot(s);

    if (!c) {
        return 0;
    }
    switch (addr) {
    case ACPI_CPUHP_DATA2:
        return s->command == ACPI_CPUHP_CMD_GET_CPU_ID ? c->arch_id >> 32 : 0;
    case ACPI_CPUHP_FLAGS:
        return cpuhp_flags(s, c);
    case ACPI_CPUHP_DATA:
        if (s->command == ACPI_CPUHP_CMD_GET_NEXT) {
            return s->selector;
        }
        if (s->command == ACPI_CPUHP_CMD_GET_CPU_ID) {
            return (uint32_t)c->arch_id;
        }
        return 0;
    default:
        return 0;
    }
}

/* query-acpi-ospm-status: every CPU slot's last _OST codes (QEMU lists
 * them after the DIMM slots). */
void acpi_cpu_ospm_status(ACPIOSTInfoList ***tail)
{
    AcpiCpuHpState *s = controller;

    for (unsigned i = 0; s && i < s->nr_slots; i++) {
        ACPIOSTInfo *info = g_new0(ACPIOSTInfo, 1);
        ACPIOSTInfoList *e = g_new0(ACPIOSTInfoList, 1);
        info->device = x86_cpu_hotplug_slot_id(i);    /* NULL: none */
        info->slot = g_strdup_printf("%u", i);
        info->slot_type = ACPI_SLOT_TYPE_CPU;
        info->source = s->slots[i].ost_event;
        info->status = s->slots[i].ost_status;
        e->value = info;
        **tail = e;
        *tail = &e->next;
    }
}

static void cpuhp_send_ost(AcpiCpuHpState *s, AcpiCpuHpSlot *c)
{
    ACPIOSTInfo info = {
        .device = x86_cpu_hotplug_slot_id(s->selector),
        .slot = g_strdup_printf("%u", s->selector),
        .slot_type = ACPI_SLOT_TYPE_CPU,
        .source = c->ost_event,
        .status = c->ost_status,
    };

    qapi_event_send_acpi_device_ost(&info);
    g_free(info.device);
    g_free(info.slot);
}

static void cpuhp_write_flags(AcpiCpuHpState *s, AcpiCpuHpSlot *c,
                              uint8_t val)
{
    if (val & ACPI_CPUHP_FLAG_INSERT) {
        c->inserting = false;
    }
    if (val & ACPI_CPUHP_FLAG_REMOVE) {
        c->removing = false;
    }
    /* Eject only what is there; the slot's CPU goes, then its device. */
    if ((val & ACPI_CPUHP_FLAG_EJECT) &&
        x86_cpu_hotplug_slot_present(s->selector)) {
        x86_cpu_hotplug_eject(s->selector);
    }
}

static void cpuhp_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    AcpiCpuHpState *s = opaque;
    AcpiCpuHpSlot *c;

    if (addr == ACPI_CPUHP_SELECTOR) {
        s->selector = val;
        return;
    }
    if (addr == ACPI_CPUHP_CMD) {
        s->command = val;
        if (s->command == ACPI_CPUHP_CMD_GET_NEXT) {
            cpuhp_select_next_event(s);
        }
        return;
    }
    c = selected_slot(s);
    if (!c) {
        return;
    }
    if (addr == ACPI_CPUHP_FLAGS) {
        cpuhp_write_flags(s, c, val);
    } else if (addr == ACPI_CPUHP_DATA) {
        if (s->command == ACPI_CPUHP_CMD_OST_EVENT) {
            c->ost_event = val;
        } else if (s->command == ACPI_CPUHP_CMD_OST_STATUS) {
            c->ost_status = val;
            cpuhp_send_ost(s, c);
        }
    }
}

static const MemoryRegionOps cpuhp_ops = {
    .read = cpuhp_read,
    .write = cpuhp_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

void acpi_cpuhp_init(AcpiCpuHpState *s, uint16_t base,
                     void (*send_event)(void *opaque, unsigned mask),
                     void *opaque)
{
    s->send_event = send_event;
    s->opaque = opaque;
    s->nr_slots = MIN(x86_cpu_hotplug_slot_count(), ACPI_CPUHP_MAX_SLOTS);
    for (unsigned i = 0; i < s->nr_slots; i++) {
        s->slots[i].arch_id = x86_cpu_hotplug_slot_apic_id(i);
    }
    memory_region_init_io(&s->io, &cpuhp_ops, s, "acpi-cpu-hotplug",
                          ACPI_CPUHP_SIZE);
    memory_region_add_subregion(get_system_io(), base, &s->io);
    controller = s;
    s->ready = true;
}

void acpi_cpuhp_uninit(AcpiCpuHpState *s)
{
    if (!s->ready) {
        return;
    }
    if (controller == s) {
        controller = NULL;
    }
    memory_region_destroy(&s->io);
    s->ready = false;
}

void acpi_cpuhp_reset(AcpiCpuHpState *s)
{
    for (unsigned i = 0; i < s->nr_slots; i++) {
        /* A removal the guest never acknowledged completes at reset,
         * as PCI's does (the CPU may go: nothing runs it now). */
        if (s->slots[i].removing) {
            x86_cpu_hotplug_eject(i);
        }
        s->slots[i].inserting = false;
        s->slots[i].removing = false;
        s->slots[i].ost_event = s->slots[i].ost_status = 0;
    }
    s->selector = 0;
    s->command = 0;
}

void acpi_cpuhp_plug(AcpiCpuHpState *s, unsigned slot)
{
    if (slot >= s->nr_slots) {
        return;
    }
    s->slots[slot].inserting = true;
    s->slots[slot].removing = false;
    cpuhp_send_gpe(s);
}

void acpi_cpuhp_request_unplug(AcpiCpuHpState *s, unsigned slot)
{
    if (slot >= s->nr_slots) {
        return;
    }
    s->slots[slot].removing = true;
    cpuhp_send_gpe(s);
}

void acpi_cpuhp_unplugged(AcpiCpuHpState *s, unsigned slot)
{
    if (slot >= s->nr_slots) {
        return;
    }
    s->slots[slot].inserting = false;
    s->slots[slot].removing = false;
}

static const VMStateDescription vmstate_acpi_cpuhp_slot = {
    .name = "acpi_cpuhp_slot",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(inserting, AcpiCpuHpSlot),
        VMSTATE_BOOL(removing, AcpiCpuHpSlot),
        VMSTATE_UINT32(ost_event, AcpiCpuHpSlot),
        VMSTATE_UINT32(ost_status, AcpiCpuHpSlot),
        VMSTATE_END_OF_LIST()
    },
};

/* Which CPUs are present is the CPU devices' state (the destination is
 * started with the same -device/device_add CPUs, as with QEMU). */
const VMStateDescription vmstate_acpi_cpuhp = {
    .name = "acpi_cpuhp",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(selector, AcpiCpuHpState),
        VMSTATE_UINT8(command, AcpiCpuHpState),
        VMSTATE_STRUCT_ARRAY(slots, AcpiCpuHpState, ACPI_CPUHP_MAX_SLOTS,
                             vmstate_acpi_cpuhp_slot, AcpiCpuHpSlot),
        VMSTATE_END_OF_LIST()
    },
};
