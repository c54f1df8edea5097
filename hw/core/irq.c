/*
 * Interrupt line objects.
 */
#include "qemu/osdep.h"
#include "hw/irq.h"

qemu_irq qemu_allocate_irq(IRQHandler handler, void *opaque, int n)
{
    IRQState *irq = g_new0(IRQState, 1);

    irq->handler = handler;
    irq->opaque = opaque;
    irq->n = n;
    return irq;
}

void qemu_free_irq(qemu_irq irq)
{
    g_free(irq);
}

void qemu_irq_intercept(qemu_irq irq, IRQHandler handler, void *opaque)
{
    irq->handler = handler;
    irq->opaque = opaque;
}
