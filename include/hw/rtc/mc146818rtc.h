/*
 * MC146818A real-time clock and the PC's CMOS RAM (hw/rtc/mc146818rtc.c).
 *
 * The machine creates one at ports 0x70/0x71 with ISA IRQ 8 and fills the
 * CMOS bytes firmware reads (memory sizes, boot order; hw/i386/pc-isa.c).
 */
#ifndef HW_RTC_MC146818RTC_H
#define HW_RTC_MC146818RTC_H
#include "hw/isa.h"

#define TYPE_MC146818_RTC   "mc146818rtc"

#define RTC_CMOS_SIZE       128
#define RTC_ISA_BASE        0x70
#define RTC_ISA_IRQ         8

/* Clock and control registers (MC146818A datasheet, "Address Map"). */
#define RTC_SECONDS         0x00
#define RTC_SECONDS_ALARM   0x01
#define RTC_MINUTES         0x02
#define RTC_MINUTES_ALARM   0x03
#define RTC_HOURS           0x04
#define RTC_HOURS_ALARM     0x05
#define RTC_DAY_OF_WEEK     0x06
#define RTC_DAY_OF_MONTH    0x07
#define RTC_MONTH           0x08
#define RTC_YEAR            0x09
#define RTC_REG_A           0x0a
#define RTC_REG_B           0x0b
#define RTC_REG_C           0x0c
#define RTC_REG_D           0x0d
/* The century byte (BCD/binary as the clock), where QEMU's FADT says. */
#define RTC_CENTURY         0x32

/* IBM PC/AT CMOS layout as QEMU's pc machine fills it (pc-isa.c). */
#define CMOS_FLOPPY_TYPES       0x10
#define CMOS_DISK_TYPES         0x12
#define CMOS_EQUIPMENT          0x14
#define CMOS_BASE_MEM_LO        0x15    /* KiB below 640 KiB */
#define CMOS_BASE_MEM_HI        0x16
#define CMOS_EXT_MEM_LO         0x17    /* KiB from 1 MiB, capped 0xffff */
#define CMOS_EXT_MEM_HI         0x18
#define CMOS_CHECKSUM_FIRST     0x10    /* checksum covers 0x10-0x2d */
#define CMOS_CHECKSUM_LAST      0x2d
#define CMOS_CHECKSUM_HI        0x2e
#define CMOS_CHECKSUM_LO        0x2f
#define CMOS_EXT_MEM2_LO        0x30    /* copy of 0x17/0x18 */
#define CMOS_EXT_MEM2_HI        0x31
#define CMOS_MEM_16M_LO         0x34    /* 64 KiB units from 16 MiB */
#define CMOS_MEM_16M_HI         0x35
#define CMOS_BOOT_ORDER_3       0x38    /* bits 7:4 third device, bit 0 */
#define CMOS_BOOT_ORDER_12      0x3d    /* low nibble first, high second */
#define CMOS_MEM_4G_0           0x5b    /* 64 KiB units above 4 GiB */
#define CMOS_MEM_4G_1           0x5c
#define CMOS_MEM_4G_2           0x5d
#define CMOS_CPU_COUNT_M1       0x5f    /* number of CPUs - 1 */

/*
 * Host-side CMOS access (the machine's table filling, later IDE/floppy
 * geometry).  @addr is 0..127; values out of range are ignored / read 0.
 * A store into 0x10-0x2d updates the checksum at 0x2e/0x2f; the clock
 * bytes (0x00-0x0d and the century) are not touched through this path.
 */
void mc146818rtc_set_cmos_data(DeviceState *rtc, unsigned addr, uint8_t val);
uint8_t mc146818rtc_get_cmos_data(DeviceState *rtc, unsigned addr);

/*
 * Re-point the interrupt output (default: ISA IRQ from the "irq"
 * property).  The machine routes it through the HPET, which holds it off
 * while legacy replacement routing gives IRQ 8 to HPET timer 1.
 */
void mc146818rtc_set_irq_output(DeviceState *rtc, qemu_irq irq);

/* The first realized RTC, or NULL. */
DeviceState *mc146818rtc_find(void);
/* Drop the periodic ticks a lost_tick_policy=slew RTC still owes. */
void mc146818rtc_reset_reinjection(DeviceState *rtc);

#endif
