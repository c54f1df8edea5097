/*
 * The "qtest" accelerator: runs no guest code.  A test drives the devices
 * over the qtest protocol (system/qtest.c) instead, so this accelerator
 * only has to
 *   - make the virtual clock manual: it moves when the test says so, which
 *     is what makes device timers (UART timeouts, PIT, RTC) deterministic;
 *   - stand in for the interrupt controller: the machine's GSI lines end in
 *     set_irq(), which records each line's level and tells the protocol
 *     server about changes (it forwards them to an intercepting client).
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "system/accel.h"
#include "system/qtest.h"
#include "system/timer.h"

static int gsi_level[GSI_NUM_PINS];

static bool qtest_accel_init(MachineState *ms, GError **errp)
{
    qemu_clock_virtual_set_manual();
    memset(gsi_level, 0, sizeof(gsi_level));
    return true;
}

static void qtest_accel_set_irq(int gsi, int level)
{
    if (gsi < 0 || gsi >= GSI_NUM_PINS) {
        return;
    }
    /* An irqchip pin is a wire: any non-zero level means asserted. */
    level = level != 0;
    if (gsi_level[gsi] == level) {
        return;
    }
    gsi_level[gsi] = level;
    qtest_server_irq_changed(gsi, level);
}

int qtest_accel_irq_level(int gsi)
{
    return gsi >= 0 && gsi < GSI_NUM_PINS ? gsi_level[gsi] : 0;
}

/* No vCPUs: create/resume/pause/reset/shutdown hooks stay NULL. */
static const AccelOps qtest_accel_ops = {
    .name = "qtest",
    .init = qtest_accel_init,
    .set_irq = qtest_accel_set_irq,
};

static void __attribute__((constructor)) qtest_accel_register(void)
{
    accel_register(&qtest_accel_ops);
}
