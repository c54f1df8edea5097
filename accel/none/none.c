/*
 * The accelerator of a machine that runs no guest code.
 *
 * Management tools probe an emulator with `-machine none,accel=kvm:tcg`
 * (libvirt, then once more with accel=tcg when KVM answered): the "none"
 * machine has no CPU, so nothing is ever executed and any accelerator will
 * do.  kvmpc has no TCG, so "tcg" is accepted only for machines without
 * CPUs (system/main.c refuses it elsewhere with a clear error) and this is
 * what runs then: no VM, no vCPUs, interrupt lines go nowhere because
 * nothing is there to receive them.  query-kvm then answers
 * enabled=false, as it should.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "system/accel.h"

static bool cpuless_init(MachineState *ms, GError **errp)
{
    if (ms && ms->type && !ms->type->no_cpus) {
        error_setg(errp, "invalid accelerator tcg: kvmpc has no TCG; it runs "
                   "guests with KVM only (accel=tcg is accepted only for "
                   "-machine none, which runs no guest code)");
        return false;
    }
    return true;
}

static void cpuless_set_irq(int gsi, int level)
{
    /* No interrupt controller and no CPU to deliver to. */
}

static const AccelOps cpuless_accel_ops = {
    .name = "tcg",
    .init = cpuless_init,
    .set_irq = cpuless_set_irq,
};

static void __attribute__((constructor)) cpuless_accel_register(void)
{
    accel_register(&cpuless_accel_ops);
}
