/*
 * The 8254 programmable interval timer in userspace (hw/timer/i8254.c),
 * with port 0x61 (channel 2 gate, speaker data, OUT2 readback).  Used
 * when KVM's in-kernel PIT is absent (kernel_irqchip=split|off, -accel
 * qtest).
 */
#ifndef HW_TIMER_I8254_H
#define HW_TIMER_I8254_H
#include "hw/qdev.h"

#define TYPE_I8254          "isa-pit"
#define PIT_FREQ            1193182
#define PIT_IOBASE          0x40
#define PIT_SPEAKER_PORT    0x61

/* HPET legacy replacement on: channel 0 stops driving IRQ 0. */
void i8254_set_hpet_legacy(bool enable);

#endif
