/*
 * VM control shared by QMP and HMP commands, with QEMU's rules.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/boards.h"
#include "system/runstate.h"
#include "migration/migration.h"
#include "block/block-backend.h"
#include "monitor-internal.h"

bool monitor_vm_running(void)
{
    return runstate_is_running();
}

void monitor_do_system_reset(void)
{
    qemu_system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
}

void monitor_do_system_powerdown(void)
{
    qemu_system_powerdown_request();
}

void monitor_do_quit(void)
{
    /* Exits even with -no-shutdown (runstate.c knows this cause). */
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}

void monitor_do_stop(void)
{
    /* QEMU: stop only acts on a running VM (prelaunch stays prelaunch,
     * and no STOP event is sent then). */
    if (runstate_is_running()) {
        vm_stop(RUN_STATE_PAUSED);
    }
}

bool monitor_do_cont(GError **errp)
{
    RunState s = runstate_get();

    if (s == RUN_STATE_INTERNAL_ERROR || s == RUN_STATE_SHUTDOWN) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return false;
    }
    if (s == RUN_STATE_SUSPENDED) {
        return true;    /* only a guest wakeup resumes a suspended VM */
    }
    if (s == RUN_STATE_FINISH_MIGRATE) {
        error_setg(errp, "Migration is not finalized yet");
        return false;
    }
    if (s == RUN_STATE_INMIGRATE) {
        /* QEMU: start once the incoming stream is loaded */
        migration_incoming_set_autostart(true);
        return true;
    }
    /* after a completed outgoing migration the images are inactive: take
     * them back, unless the destination holds them (QEMU's cont) */
    if (!bdrv_activate_all(errp)) {
        return false;
    }
    /* A disk error's status lasts until the guest runs again (QEMU). */
    blk_iostatus_reset_all();
    vm_start();
    return true;
}

char *monitor_machine_uuid(void)
{
    static const uint8_t zero[16];
    const uint8_t *u = current_machine && current_machine->uuid_set
                       ? current_machine->uuid : zero;

    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                           u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                           u[15]);
}

static void pci_region_text(GString *s, const PCIRegionInfo *r)
{
    uint64_t end = r->address + r->size - 1;

    if (r->bar == PCI_ROM_SLOT) {
        g_string_append(s, "      ROM:");
    } else {
        g_string_append_printf(s, "      BAR%d:", r->bar);
    }
    if (r->is_io) {
        g_string_append(s, " I/O");
    } else {
        g_string_append_printf(s, " %s bit%s memory",
                               r->mem_type_64 ? "64" : "32",
                               r->prefetch ? " prefetchable" : "");
    }
    if (r->address == PCI_BAR_UNMAPPED) {
        g_string_append_printf(s, " at 0x%" PRIx64 " [0x%" PRIx64 "].\n",
                               (uint64_t)-1, r->size - 1);
    } else {
        g_string_append_printf(s, " at 0x%" PRIx64 " [0x%" PRIx64 "].\n",
                               r->address, end);
    }
}

/* The "info pci" layout of QEMU's HMP. */
static void pci_device_text(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    GString *s = opaque;
    PCIDeviceInfo pi;

    pci_device_get_info(dev, &pi);
    g_string_append_printf(s, "  Bus %2d, device %3d, function %d:\n",
                           pi.bus, pi.slot, pi.function);
    if (pi.class_desc) {
        g_string_append_printf(s, "    %s", pi.class_desc);
    } else {
        /* QEMU prints an undescribed class in decimal ("Class 0255") */
        g_string_append_printf(s, "    Class %04u", (unsigned)pi.class_id);
    }
    g_string_append_printf(s, ": PCI device %04x:%04x\n", pi.vendor_id,
                           pi.device_id);
    g_string_append_printf(s, "      PCI subsystem %04x:%04x\n",
                           pi.subsystem_vendor_id, pi.subsystem_id);
    if (pi.has_irq) {
        g_string_append_printf(s, "      IRQ %u, pin %c\n", pi.irq,
                               'A' + pi.irq_pin - 1);
    }
    for (unsigned i = 0; i < pi.nr_regions; i++) {
        pci_region_text(s, &pi.regions[i]);
    }
    g_string_append_printf(s, "      id \"%s\"\n",
                           pi.qdev_id ? pi.qdev_id : "");
}

char *monitor_pci_info_text(void)
{
    GString *s = g_string_new(NULL);
    PCIBus *bus = pci_root_bus();

    if (bus) {
        pci_for_each_device(bus, pci_device_text, s);
    }
    return g_string_free(s, FALSE);
}
