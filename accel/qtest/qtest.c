/*
 * The "qtest" accelerator: runs no guest code.  A test drives the devices
 * over the qtest protocol (system/qtest.c) instead, so this accelerator
 * only has to
 *   - make the virtual clock manual: it moves when the test says so, which
 *     is what makes device timers (UART timeouts, PIT, RTC) deterministic;
 *   - watch the interrupt lines: the machine's GSI lines end in set_irq()
 *     (besides reaching kvmpc's own PIC and IOAPIC, which the machine
 *     always has under qtest), which records each line's level and tells
 *     the protocol server about changes (it forwards them to an
 *     intercepting client); so does each CPU's INTR pin, as line
 *     QTEST_IRQ_CPU_INTR + cpu, through the LAPICs' notify hook.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "system/accel.h"
#include "system/qtest.h"
#include "system/timer.h"
#include "hw/intc/apic.h"

static int gsi_level[GSI_NUM_PINS];
static bool cpu_intr_level[QTEST_IRQ_CPU_INTR_COUNT];

/* A CPU's pins may have changed: report its INTR line when it did. */
static void qtest_cpu_notify(unsigned cpu)
{
    bool level;

    if (cpu >= QTEST_IRQ_CPU_INTR_COUNT) {
        return;
    }
    level = x86_cpu_intr_pending(cpu);
    if (level != cpu_intr_level[cpu]) {
        cpu_intr_level[cpu] = level;
        qtest_server_irq_changed(QTEST_IRQ_CPU_INTR + cpu, level);
    }
}

static bool qtest_accel_init(MachineState *ms, GError **errp)
{
    qemu_clock_virtual_set_manual();
    memset(gsi_level, 0, sizeof(gsi_level));
    memset(cpu_intr_level, 0, sizeof(cpu_intr_level));
    x86_cpu_notify_hook = qtest_cpu_notify;
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

int qtest_accel_irq_level(int n)
{
    if (n >= QTEST_IRQ_CPU_INTR &&
        n < QTEST_IRQ_CPU_INTR + QTEST_IRQ_CPU_INTR_COUNT) {
        return cpu_intr_level[n - QTEST_IRQ_CPU_INTR];
    }
    return n >= 0 && n < GSI_NUM_PINS ? gsi_level[n] : 0;
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
