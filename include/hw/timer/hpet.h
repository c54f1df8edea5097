/*
 * HPET, IA-PC High Precision Event Timer (hw/timer/hpet.c), at
 * 0xfed00000 on the pc machine.
 */
#ifndef HW_TIMER_HPET_H
#define HW_TIMER_HPET_H
#include "hw/qdev.h"

#define TYPE_HPET               "hpet"
#define HPET_MIN_TIMERS         3
#define HPET_MAX_TIMERS         32
#define HPET_CLK_PERIOD_FS      10000000ULL     /* 10 ns: 100 MHz */
/* INT_ROUTE_CAP of QEMU's pc (i440FX) machine: IOAPIC input 2 only. */
#define HPET_PC_INTCAP          0x00000004

/*
 * Called with true when the guest turns legacy replacement routing on
 * (timer 0 takes IRQ 0 from the PIT) and false when it turns it off or
 * the HPET resets.  The in-kernel PIT must stop (resume) raising IRQ 0:
 * KVM_SET_PIT2 with KVM_PIT_FLAGS_HPET_LEGACY set (clear).  The
 * accelerator connects this; NULL means nobody listens.
 */
extern void (*hpet_pit_legacy_hook)(bool enable);

/*
 * The input the RTC's interrupt output should drive: the HPET passes it
 * on to ISA IRQ 8 except while legacy replacement gives IRQ 8 to timer 1.
 */
qemu_irq hpet_rtc_irq_input(DeviceState *hpet);

/* True while the guest has legacy replacement routing on. */
bool hpet_legacy_mode(DeviceState *hpet);

#endif
