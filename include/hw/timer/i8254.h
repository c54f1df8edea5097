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

/* Channel 2 and port 0x61 as the PC speaker sees them. */
typedef struct I8254Speaker {
    bool gate;              /* port 0x61 bit 0 */
    bool data;              /* port 0x61 bit 1 */
    bool running;           /* a count is loaded */
    uint8_t mode;           /* 0-5 */
    uint32_t count;         /* 1-65536 */
} I8254Speaker;
/* false when the PIT is not kvmpc's (KVM's in-kernel PIT). */
bool i8254_get_speaker(I8254Speaker *sp);
/* A channel's OUT pin, @d clocks after its count was loaded (8254 data
 * sheet, "Mode definitions"); @count 1-65536.  Also for KVM's PIT, whose
 * channel state hw/audio/pcspk.c reads for port 0x61's bit 5. */
bool i8254_out(uint8_t mode, uint32_t count, bool gate, bool running,
               uint64_t d);
/* @fn runs after port 0x61 or channel 2's programming changes. */
void i8254_set_speaker_listener(void (*fn)(void *opaque), void *opaque);

#endif
