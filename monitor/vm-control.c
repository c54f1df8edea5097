/*
 * VM control shared by QMP and HMP commands, with QEMU's rules.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "system/runstate.h"
#include "monitor-internal.h"

G_STATIC_ASSERT(RUN_STATE__MAX == MONITOR_RUN_STATE_COUNT);

int monitor_runstate(void)
{
    return runstate_get();
}

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

char *monitor_pci_info_text(void)
{
    /* TODO(lead): fill from hw/pci once the PCI framework exists. */
    return g_strdup("");
}
