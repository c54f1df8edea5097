/*
 * Interrupt lines.  A device raises or lowers a line; whoever owns the other
 * end (the in-kernel irqchip through GSI routing, a PCI bridge's PIRQ
 * router, a qtest interceptor) gets the callback.
 */
#ifndef HW_IRQ_H
#define HW_IRQ_H
#include "qemu/osdep.h"

typedef void (*IRQHandler)(void *opaque, int n, int level);

typedef struct IRQState {
    IRQHandler handler;
    void *opaque;
    int n;
} IRQState;
typedef IRQState *qemu_irq;

qemu_irq qemu_allocate_irq(IRQHandler handler, void *opaque, int n);
void qemu_free_irq(qemu_irq irq);
/* Re-point an existing line (qtest interception). */
void qemu_irq_intercept(qemu_irq irq, IRQHandler handler, void *opaque);

static inline void qemu_set_irq(qemu_irq irq, int level)
{
    if (irq && irq->handler) {
        irq->handler(irq->opaque, irq->n, level);
    }
}
static inline void qemu_irq_raise(qemu_irq irq) { qemu_set_irq(irq, 1); }
static inline void qemu_irq_lower(qemu_irq irq) { qemu_set_irq(irq, 0); }
static inline void qemu_irq_pulse(qemu_irq irq)
{ qemu_set_irq(irq, 1); qemu_set_irq(irq, 0); }

#endif
