/*
 * Motorola MC146818A real-time clock with 114 bytes of CMOS RAM, as the
 * ISA device at ports 0x70 (index) / 0x71 (data), IRQ 8.
 *
 * Spec: Motorola "MC146818A Real-Time Clock Plus RAM (RTC)" datasheet:
 *   - "Address Map": clock bytes 0x00-0x09, registers A-D at 0x0a-0x0d,
 *     user RAM 0x0e-0x3f (the PC's chipset extends it to 0x7f);
 *   - "Time, Calendar and Alarm Data Modes": BCD or binary (register B
 *     DM), 12-hour (bit 7 of the hours byte = PM) or 24-hour (B 24/12);
 *     alarm bytes with the two high bits set (0xc0-0xff) are "don't care";
 *   - "Update Cycle": UIP (register A bit 7) is high for 244 µs before an
 *     update; SET (register B bit 7) stops updates so software can set
 *     the time, and clears UIE;
 *   - "Interrupts": PF, AF, UF in register C, IRQF = PF·PIE + AF·AIE +
 *     UF·UIE; reading register C clears all of them and releases IRQ;
 *   - "Divider Stages" (register A DV2-0: 010 runs with a 32.768 kHz
 *     crystal, 11x holds the divider in reset and the first update comes
 *     500 ms after it is released) and the "Periodic Interrupt Rate" table
 *     (RS3-0; RS 1 and 2 alias 8 and 9 with a 32.768 kHz time base);
 *   - register D: VRT (valid RAM and time) always reads 1 here.
 *
 * Time keeping.  The clock is a mapping "guest second @base_sec began at
 * @base_clock_ns on the RTC clock", so reading the time is arithmetic and
 * nothing ticks while nobody looks.  The RTC clock is -rtc clock=: host
 * (wall time, QEMU's default: the guest keeps the right time across a
 * pause), rt (host monotonic) or vm (the virtual clock: stops with the
 * VM and under qtest moves only with clock_step; the machine makes it the
 * default under -accel qtest).  -rtc base= picks the
 * start: utc (default), localtime, or a date ("2006-06-17T16:01:21" or
 * "2006-06-17"); a date with clock=vm/rt starts exactly at a second
 * boundary, so tests are deterministic.  Calendar arithmetic is done
 * here (proleptic Gregorian, no host time zone involved).
 *
 * Interrupts.  The periodic rate runs on the virtual clock whatever the
 * RTC clock is (guests measure it against the PIT/TSC, which stop with the
 * VM too).  The flags are kept lazily: PF, UF and AF are worked out from
 * the clocks when register C is read or a register they depend on is
 * written (UF: an update cycle ended since; AF: one of those seconds
 * matched the alarm, at most a day of them examined).  Timers exist only
 * while an enabled interrupt waits for its flag: the periodic one (PIE)
 * on the virtual clock, one at each second boundary (UIE, AIE) on the
 * RTC clock.  An idle RTC arms no timer at all.  IRQ 8 is an ISA edge
 * interrupt: the line goes high with IRQF and low when register C is
 * read, as QEMU does.
 *
 * The NMI mask: bit 7 of the byte written to port 0x70 is the PC's
 * NMI-disable bit.  It is kept (and migrated) but goes nowhere: KVM's NMI
 * sources (watchdogs, "nmi" monitor command) are not gated by it, as in
 * QEMU.  Port 0x70 reads return 0xff (write-only on the PC).
 *
 * Lost ticks (lost_tick_policy=slew, what -rtc driftfix=slew and libvirt's
 * <timer name='rtc' tickpolicy='catchup'/> ask for, as QEMU): a periodic
 * edge that passes while PF is still set (the guest has not read
 * register C since the last one, e.g. its vCPU was not running) is a tick
 * the guest never saw.  With PIE on they are counted, and given back as
 * QEMU gives them: on the read of register C that acknowledges an
 * interrupt, PF and IRQ 8 rise again at once (at most 20 times in a row
 * between two real edges), and a catch-up timer at 2-8 times the periodic
 * rate raises PF whenever the guest has acknowledged the last one.  QEMU
 * counts the interrupts its interrupt controllers found coalesced; with
 * an edge-triggered IRQ 8 that stays high until register C is read, that
 * is the same set of ticks.  QMP rtc-reset-reinjection drops the backlog
 * (libvirt sends it after setting the guest's time through its agent).
 * The default, discard, forgets them.
 *
 * Not modelled: daylight-saving (DSE) and the square-wave pin (SQWE).
 */
#include "qemu/osdep.h"
#include "hw/rtc/mc146818rtc.h"
#include "system/timer.h"
#include <time.h>

#define NS_PER_SEC          NANOSECONDS_PER_SECOND

#define REG_A_UIP           0x80
#define REG_A_DV_MASK       0x70
#define REG_A_DV_32KHZ      0x20    /* DV2-0 = 010: normal operation */
#define REG_A_DV_RESET      0x60    /* DV2-1 = 11: divider held in reset */
#define REG_A_RS_MASK       0x0f
#define REG_A_WRITABLE      0x7f    /* UIP is read-only */
#define REG_A_POWER_ON      (REG_A_DV_32KHZ | 0x06)   /* 1024 Hz rate */

#define REG_B_SET           0x80
#define REG_B_PIE           0x40
#define REG_B_AIE           0x20
#define REG_B_UIE           0x10
#define REG_B_SQWE          0x08
#define REG_B_DM_BINARY     0x04
#define REG_B_24H           0x02
#define REG_B_DSE           0x01
#define REG_B_POWER_ON      REG_B_24H

#define REG_C_IRQF          0x80
#define REG_C_PF            0x40    /* flags line up with their enables */
#define REG_C_AF            0x20
#define REG_C_UF            0x10
#define REG_C_FLAGS         (REG_C_PF | REG_C_AF | REG_C_UF)

#define REG_D_VRT           0x80

#define HOURS_PM            0x80
#define ALARM_DONT_CARE     0xc0

#define RTC_INDEX_MASK      0x7f
#define RTC_PORT_INDEX      0
#define RTC_PORT_DATA       1
#define RTC_NUM_PORTS       2
#define RTC_FIRST_USER_BYTE 0x0e

#define RTC_XTAL_HZ         32768
/* At most this many re-raises on acknowledgements between two real
 * periodic edges (QEMU's RTC_REINJECT_ON_ACK_COUNT). */
#define REINJECT_ON_ACK_MAX 20

/* UIP rises 244 µs (8 cycles of the 32.768 kHz base) before an update. */
#define UIP_HOLD_NS         (8 * NS_PER_SEC / RTC_XTAL_HZ)

#define SECS_PER_DAY        86400
#define RTC_MIN_SECONDS     (-62167219200LL)    /* 0000-01-01 */
#define RTC_MAX_SECONDS     253402300799LL      /* 9999-12-31 23:59:59 */
#define RTC_MAX_CLOCK_NS    (1LL << 62)
#define DAYS_0000_TO_1970   719468  /* days from 0000-03-01 to 1970-01-01 */
#define DAYS_PER_ERA        146097  /* 400 Gregorian years */

typedef struct RTCState {
    ISADevice parent;

    /* properties */
    uint32_t iobase;
    uint32_t irq_num;
    char *base;             /* utc | localtime | DATE */
    char *clock_name;       /* host | rt | vm */
    char *lost_tick_policy; /* discard | slew */

    /* guest-visible state */
    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;          /* last write to port 0x70, NMI-disable bit too */
    int64_t base_sec;       /* guest calendar seconds (since 1970) ... */
    int64_t base_clock_ns;  /* ... that began at this RTC-clock time */
    int64_t pf_tick;        /* 32.768 kHz tick of the last PF evaluation */
    int64_t update_checked_ns;  /* RTC-clock time UF/AF are worked out to */
    bool irq_level;
    uint32_t ticks_lost;        /* slew: periodic ticks still owed */
    uint32_t reinjected_on_ack; /* re-raises since the last real edge */

    bool slew;
    QEMUClockType clock_type;
    QEMUTimer *periodic_timer;  /* virtual clock, only while PIE */
    QEMUTimer *update_timer;    /* RTC clock, while UF or AF can change */
    QEMUTimer *catchup_timer;   /* virtual clock, while ticks are owed */
    MemoryRegion io;
    qemu_irq irq;
} RTCState;

typedef struct RTCDate {
    int64_t year;
    unsigned mon, mday, wday;   /* 1-12, 1-31, 0 = Sunday */
    unsigned hour, min, sec;
} RTCDate;

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* Days since 1970-01-01; March-based years make leap days come last. */
static int64_t days_from_date(int64_t year, int64_t mon, int64_t mday)
{
    int64_t y = year - (mon <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + mday - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * DAYS_PER_ERA + doe - DAYS_0000_TO_1970;
}

static void date_from_seconds(int64_t t, RTCDate *dt)
{
    int64_t days = floor_div(t, SECS_PER_DAY);
    int64_t secs = t - days * SECS_PER_DAY;
    int64_t z = days + DAYS_0000_TO_1970;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t doe = z - era * DAYS_PER_ERA;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    dt->mday = doy - (153 * mp + 2) / 5 + 1;
    dt->mon = mp < 10 ? mp + 3 : mp - 9;
    dt->year = yoe + era * 400 + (dt->mon <= 2);
    dt->wday = floor_mod(days + 4, 7);      /* 1970-01-01 was a Thursday */
    dt->hour = secs / 3600;
    dt->min = secs / 60 % 60;
    dt->sec = secs % 60;
}

static int64_t seconds_from_date(const RTCDate *dt)
{
    return days_from_date(dt->year, dt->mon, dt->mday) * SECS_PER_DAY +
           dt->hour * 3600 + dt->min * 60 + dt->sec;
}

/* ---- register encodings ---- */

static bool rtc_binary(const RTCState *s)
{
    return s->cmos[RTC_REG_B] & REG_B_DM_BINARY;
}

static uint8_t rtc_encode(const RTCState *s, unsigned v)
{
    v %= 100;
    return rtc_binary(s) ? v : ((v / 10) << 4) | (v % 10);
}

static unsigned rtc_decode(const RTCState *s, uint8_t v)
{
    return rtc_binary(s) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hour(const RTCState *s, unsigned hour)
{
    unsigned h12 = hour % 12 ? hour % 12 : 12;

    if (s->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_encode(s, hour);
    }
    return rtc_encode(s, h12) | (hour >= 12 ? HOURS_PM : 0);
}

static unsigned rtc_decode_hour(const RTCState *s, uint8_t v)
{
    unsigned h = rtc_decode(s, v & ~HOURS_PM);

    if (s->cmos[RTC_REG_B] & REG_B_24H) {
        return h;
    }
    return h % 12 + ((v & HOURS_PM) ? 12 : 0);
}

/* ---- the running clock ---- */

static bool divider_running(const RTCState *s)
{
    return (s->cmos[RTC_REG_A] & REG_A_DV_MASK) <= REG_A_DV_32KHZ;
}

static bool divider_in_reset(uint8_t reg_a)
{
    return (reg_a & REG_A_DV_RESET) == REG_A_DV_RESET;
}

/* The time advances: divider running and SET clear. */
static bool rtc_counting(const RTCState *s)
{
    return divider_running(s) && !(s->cmos[RTC_REG_B] & REG_B_SET);
}

static int64_t rtc_clock_now(const RTCState *s)
{
    return qemu_clock_get_ns(s->clock_type);
}

/* Nanoseconds into the current guest second (divider phase). */
static int64_t rtc_phase(const RTCState *s, int64_t now)
{
    return floor_mod(now - s->base_clock_ns, NS_PER_SEC);
}

static int64_t rtc_guest_seconds(const RTCState *s, int64_t now)
{
    return s->base_sec + floor_div(now - s->base_clock_ns, NS_PER_SEC);
}

static void rtc_store_time(RTCState *s, int64_t t)
{
    RTCDate dt;
    uint64_t year;

    date_from_seconds(t, &dt);
    year = dt.year < 0 ? 0 : dt.year;
    s->cmos[RTC_SECONDS] = rtc_encode(s, dt.sec);
    s->cmos[RTC_MINUTES] = rtc_encode(s, dt.min);
    s->cmos[RTC_HOURS] = rtc_encode_hour(s, dt.hour);
    s->cmos[RTC_DAY_OF_WEEK] = rtc_encode(s, dt.wday + 1);
    s->cmos[RTC_DAY_OF_MONTH] = rtc_encode(s, dt.mday);
    s->cmos[RTC_MONTH] = rtc_encode(s, dt.mon);
    s->cmos[RTC_YEAR] = rtc_encode(s, year % 100);
    s->cmos[RTC_CENTURY] = rtc_encode(s, year / 100);
}

/* The time the clock bytes say; nonsense values just wrap arithmetically. */
static int64_t rtc_load_time(const RTCState *s)
{
    RTCDate dt = {
        .year = rtc_decode(s, s->cmos[RTC_YEAR]) +
                100 * (int64_t)rtc_decode(s, s->cmos[RTC_CENTURY]),
        .mon = CLAMP(rtc_decode(s, s->cmos[RTC_MONTH]), 1, 12),
        .mday = rtc_decode(s, s->cmos[RTC_DAY_OF_MONTH]),
        .hour = rtc_decode_hour(s, s->cmos[RTC_HOURS]),
        .min = rtc_decode(s, s->cmos[RTC_MINUTES]),
        .sec = rtc_decode(s, s->cmos[RTC_SECONDS]),
    };
    return seconds_from_date(&dt);
}

/* Bring the clock bytes up to date (while counting). */
static void rtc_refresh_time(RTCState *s, int64_t now)
{
    if (rtc_counting(s)) {
        rtc_store_time(s, rtc_guest_seconds(s, now));
    }
}

/* Start counting from the clock bytes, @phase_ns into the second. */
static void rtc_start_counting(RTCState *s, int64_t now, int64_t phase_ns)
{
    s->base_sec = rtc_load_time(s);
    s->base_clock_ns = now - phase_ns;
}

static bool rtc_update_in_progress(const RTCState *s)
{
    return rtc_counting(s) &&
           rtc_phase(s, rtc_clock_now(s)) >= NS_PER_SEC - UIP_HOLD_NS;
}

static bool alarm_byte_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

/* Does guest second @t (its time of day) match the alarm bytes? */
static bool rtc_alarm_matches(const RTCState *s, int64_t t)
{
    int64_t tod = floor_mod(t, SECS_PER_DAY);

    return alarm_byte_matches(s->cmos[RTC_SECONDS_ALARM],
                              rtc_encode(s, tod % 60)) &&
           alarm_byte_matches(s->cmos[RTC_MINUTES_ALARM],
                              rtc_encode(s, tod / 60 % 60)) &&
           alarm_byte_matches(s->cmos[RTC_HOURS_ALARM],
                              rtc_encode_hour(s, tod / 3600));
}

/* Any alarm match among guest seconds @first..@last (at most a day). */
static bool rtc_alarm_between(const RTCState *s, int64_t first, int64_t last)
{
    first = MAX(first, last - (SECS_PER_DAY - 1));
    for (int64_t t = first; t <= last; t++) {
        if (rtc_alarm_matches(s, t)) {
            return true;
        }
    }
    return false;
}

/* ---- interrupts ---- */

static uint8_t rtc_irqf(const RTCState *s)
{
    return (s->cmos[RTC_REG_C] & s->cmos[RTC_REG_B] & REG_C_FLAGS) ?
           REG_C_IRQF : 0;
}

static void rtc_update_irq(RTCState *s)
{
    uint8_t irqf = rtc_irqf(s);
    bool level = irqf != 0;

    s->cmos[RTC_REG_C] = (s->cmos[RTC_REG_C] & REG_C_FLAGS) | irqf;
    if (level != s->irq_level) {
        s->irq_level = level;
        qemu_set_irq(s->irq, level);
    }
}

/* Periodic interrupt period in 32.768 kHz cycles; 0 = off. */
static unsigned rtc_periodic_cycles(const RTCState *s)
{
    unsigned rs = s->cmos[RTC_REG_A] & REG_A_RS_MASK;

    if (rs == 0 || !divider_running(s)) {
        return 0;
    }
    if (rs <= 2) {
        rs += 7;
    }
    return 1u << (rs - 1);
}

static int64_t ns_to_xtal(int64_t ns)
{
    return (int64_t)((__int128)ns * RTC_XTAL_HZ / NS_PER_SEC);
}

static int64_t xtal_to_ns_ceil(int64_t ticks)
{
    return (int64_t)(((__int128)ticks * NS_PER_SEC + RTC_XTAL_HZ - 1) /
                     RTC_XTAL_HZ);
}

/* slew: @edges periodic edges passed, the first of them onto a PF that
 * was already set if @pf_was_set; all but the one PF now shows are lost. */
static void rtc_count_lost_ticks(RTCState *s, int64_t edges, bool pf_was_set)
{
    int64_t lost = pf_was_set ? edges : edges - 1;

    if (!s->slew || !(s->cmos[RTC_REG_B] & REG_B_PIE)) {
        return;
    }
    s->reinjected_on_ack = 0;
    s->ticks_lost = MIN((int64_t)s->ticks_lost + lost, (int64_t)UINT32_MAX);
}

/* Set PF if a periodic edge passed since the last evaluation. */
static void rtc_sync_pf(RTCState *s)
{
    int64_t tick = ns_to_xtal(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    unsigned cycles = rtc_periodic_cycles(s);
    int64_t edges = cycles ? floor_div(tick, cycles) -
                             floor_div(s->pf_tick, cycles) : 0;

    if (edges > 0) {
        rtc_count_lost_ticks(s, edges, s->cmos[RTC_REG_C] & REG_C_PF);
        s->cmos[RTC_REG_C] |= REG_C_PF;
    }
    s->pf_tick = tick;
}

/*
 * Set UF (and AF on an alarm match) for the update cycles that ended
 * since the last evaluation.  Call before anything that moves the time
 * base or changes the alarm, so old cycles are judged by old settings.
 */
static void rtc_sync_update_flags(RTCState *s)
{
    int64_t now = rtc_clock_now(s);
    int64_t first = floor_div(s->update_checked_ns - s->base_clock_ns,
                              NS_PER_SEC) + 1;
    int64_t last = floor_div(now - s->base_clock_ns, NS_PER_SEC);

    if (rtc_counting(s) && last >= first) {
        s->cmos[RTC_REG_C] |= REG_C_UF;
        if (!(s->cmos[RTC_REG_C] & REG_C_AF) &&
            rtc_alarm_between(s, s->base_sec + first, s->base_sec + last)) {
            s->cmos[RTC_REG_C] |= REG_C_AF;
        }
    }
    s->update_checked_ns = now;
}

static void rtc_sync_flags(RTCState *s)
{
    rtc_sync_pf(s);
    rtc_sync_update_flags(s);
}

/* A timer at the next periodic edge only while PIE waits for PF. */
static void rtc_rearm_periodic(RTCState *s)
{
    unsigned cycles = rtc_periodic_cycles(s);
    int64_t tick;

    if (!cycles || !(s->cmos[RTC_REG_B] & REG_B_PIE) ||
        (s->cmos[RTC_REG_C] & REG_C_PF)) {
        timer_del(s->periodic_timer);
        return;
    }
    tick = ns_to_xtal(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    timer_mod(s->periodic_timer,
              xtal_to_ns_ceil((floor_div(tick, cycles) + 1) * cycles));
}

/* A timer at the next update only while UIE or AIE waits for its flag. */
static void rtc_rearm_update(RTCState *s)
{
    uint8_t b = s->cmos[RTC_REG_B], c = s->cmos[RTC_REG_C];
    int64_t now;

    if (!rtc_counting(s) ||
        !(((b & REG_B_UIE) && !(c & REG_C_UF)) ||
          ((b & REG_B_AIE) && !(c & REG_C_AF)))) {
        timer_del(s->update_timer);
        return;
    }
    now = rtc_clock_now(s);
    timer_mod(s->update_timer, now - rtc_phase(s, now) + NS_PER_SEC);
}

/* slew: the catch-up timer runs while ticks are owed and PIE is on, at
 * the periodic period divided by 2-8 (the more owed, the faster). */
static void rtc_rearm_catchup(RTCState *s)
{
    unsigned cycles = rtc_periodic_cycles(s);
    unsigned parts = MIN(s->ticks_lost, 7u) + 1;

    if (!s->slew || !s->ticks_lost || !cycles ||
        !(s->cmos[RTC_REG_B] & REG_B_PIE)) {
        timer_del(s->catchup_timer);
        return;
    }
    timer_mod(s->catchup_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
              MAX(xtal_to_ns_ceil(cycles) / parts, 1));
}

static void rtc_rearm(RTCState *s)
{
    rtc_rearm_periodic(s);
    rtc_rearm_update(s);
    rtc_rearm_catchup(s);
}

/* Give one owed tick back: PF (and with PIE, IRQF and IRQ 8) rises. */
static bool rtc_reinject_tick(RTCState *s)
{
    if (!s->ticks_lost || (s->cmos[RTC_REG_C] & REG_C_PF) ||
        !(s->cmos[RTC_REG_B] & REG_B_PIE)) {
        return false;
    }
    s->ticks_lost--;
    s->cmos[RTC_REG_C] |= REG_C_PF;
    rtc_update_irq(s);
    return true;
}

static void rtc_catchup_expired(void *opaque)
{
    RTCState *s = opaque;

    rtc_sync_flags(s);
    rtc_reinject_tick(s);
    rtc_update_irq(s);
    rtc_rearm(s);
}

static void rtc_periodic_expired(void *opaque)
{
    RTCState *s = opaque;

    rtc_sync_pf(s);
    rtc_update_irq(s);
    rtc_rearm_periodic(s);
}

static void rtc_update_expired(void *opaque)
{
    RTCState *s = opaque;

    rtc_sync_update_flags(s);
    rtc_update_irq(s);
    rtc_rearm_update(s);
}

/* ---- register access ---- */

static void rtc_write_time_byte(RTCState *s, unsigned idx, uint8_t val)
{
    int64_t now = rtc_clock_now(s);
    bool counting = rtc_counting(s);

    /* Set one field of the current time, keeping the divider phase. */
    rtc_sync_flags(s);
    rtc_refresh_time(s, now);
    s->cmos[idx] = val;
    if (counting) {
        rtc_start_counting(s, now, rtc_phase(s, now));
    }
    rtc_rearm_update(s);
}

static void rtc_write_reg_a(RTCState *s, uint8_t val)
{
    int64_t now = rtc_clock_now(s);
    bool was_counting = rtc_counting(s);
    bool was_reset = divider_in_reset(s->cmos[RTC_REG_A]);

    rtc_sync_flags(s);
    rtc_refresh_time(s, now);
    s->cmos[RTC_REG_A] = val & REG_A_WRITABLE;
    if (was_reset && !divider_in_reset(val)) {
        /* The first update comes half a second after the reset ends. */
        s->base_clock_ns = now - NS_PER_SEC / 2;
    }
    if (!was_counting && rtc_counting(s)) {
        rtc_start_counting(s, now, rtc_phase(s, now));
    }
    rtc_update_irq(s);
    rtc_rearm(s);
}

static void rtc_write_reg_b(RTCState *s, uint8_t val)
{
    int64_t now = rtc_clock_now(s);
    bool was_counting = rtc_counting(s);

    rtc_sync_flags(s);
    rtc_refresh_time(s, now);
    if (val & REG_B_SET) {
        val &= ~REG_B_UIE;
    }
    s->cmos[RTC_REG_B] = val;
    if (!was_counting && rtc_counting(s)) {
        rtc_start_counting(s, now, rtc_phase(s, now));
    }
    rtc_update_irq(s);
    rtc_rearm(s);
}

static uint8_t rtc_read_reg_c(RTCState *s)
{
    uint8_t val;

    rtc_sync_flags(s);
    val = (s->cmos[RTC_REG_C] & REG_C_FLAGS) | rtc_irqf(s);
    s->cmos[RTC_REG_C] = 0;
    rtc_update_irq(s);      /* IRQ 8 falls: a reinjection is a new edge */
    if (s->slew && (val & REG_C_PF) &&
        s->reinjected_on_ack < REINJECT_ON_ACK_MAX &&
        rtc_reinject_tick(s)) {
        s->reinjected_on_ack++;
    }
    rtc_rearm(s);
    return val;
}

static bool is_clock_byte(unsigned idx)
{
    return idx <= RTC_YEAR || idx == RTC_CENTURY;
}

static bool is_alarm_byte(unsigned idx)
{
    return idx == RTC_SECONDS_ALARM || idx == RTC_MINUTES_ALARM ||
           idx == RTC_HOURS_ALARM;
}

static uint8_t rtc_read_data(RTCState *s)
{
    unsigned idx = s->index & RTC_INDEX_MASK;

    if (is_clock_byte(idx) && !is_alarm_byte(idx)) {
        rtc_refresh_time(s, rtc_clock_now(s));
        return s->cmos[idx];
    }
    switch (idx) {
    case RTC_REG_A:
        return (s->cmos[RTC_REG_A] & ~REG_A_UIP) |
               (rtc_update_in_progress(s) ? REG_A_UIP : 0);
    case RTC_REG_C:
        return rtc_read_reg_c(s);
    case RTC_REG_D:
        return REG_D_VRT;
    default:
        return s->cmos[idx];
    }
}

static void rtc_write_data(RTCState *s, uint8_t val)
{
    unsigned idx = s->index & RTC_INDEX_MASK;

    if (is_clock_byte(idx) && !is_alarm_byte(idx)) {
        rtc_write_time_byte(s, idx, val);
        return;
    }
    switch (idx) {
    case RTC_REG_A:
        rtc_write_reg_a(s, val);
        return;
    case RTC_REG_B:
        rtc_write_reg_b(s, val);
        return;
    case RTC_REG_C:
    case RTC_REG_D:
        return;     /* read-only */
    case RTC_SECONDS_ALARM:
    case RTC_MINUTES_ALARM:
    case RTC_HOURS_ALARM:
        rtc_sync_update_flags(s);   /* past seconds met the old alarm */
        s->cmos[idx] = val;
        rtc_rearm_update(s);
        return;
    default:
        s->cmos[idx] = val;
        return;
    }
}

static uint64_t rtc_io_read(void *opaque, uint64_t addr, unsigned size)
{
    RTCState *s = opaque;

    return addr == RTC_PORT_DATA ? rtc_read_data(s) : 0xff;
}

static void rtc_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    RTCState *s = opaque;

    if (addr == RTC_PORT_INDEX) {
        s->index = val;
    } else {
        rtc_write_data(s, val);
    }
}

static const MemoryRegionOps rtc_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- configuration ---- */

static bool rtc_parse_clock(RTCState *s, GError **errp)
{
    static const struct {
        const char *name;
        QEMUClockType type;
    } clocks[] = {
        { "host", QEMU_CLOCK_HOST },
        { "rt", QEMU_CLOCK_REALTIME },
        { "vm", QEMU_CLOCK_VIRTUAL },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(clocks); i++) {
        if (!strcmp(s->clock_name, clocks[i].name)) {
            s->clock_type = clocks[i].type;
            return true;
        }
    }
    error_setg(errp, "invalid -rtc clock=%s (expected host, rt or vm)",
               s->clock_name);
    return false;
}

/* "2006-06-17T16:01:21" or "2006-06-17", a valid calendar date. */
static bool rtc_parse_date(const char *str, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    char extra;
    RTCDate dt, check;

    if (sscanf(str, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &sec,
               &extra) != 6 &&
        sscanf(str, "%d-%d-%d%c", &y, &mo, &d, &extra) != 3) {
        return false;
    }
    if (y < 0 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
        return false;
    }
    dt = (RTCDate){ .year = y, .mon = mo, .mday = d,
                    .hour = h, .min = mi, .sec = sec };
    *out = seconds_from_date(&dt);
    date_from_seconds(*out, &check);
    return check.mday == dt.mday;   /* rejects 2006-02-30 */
}

/*
 * Start time and divider phase.  utc/localtime follow the host's seconds;
 * a date on a non-host clock starts exactly on a second boundary.
 */
static bool rtc_init_time(RTCState *s, GError **errp)
{
    int64_t host_ns = qemu_clock_get_ns(QEMU_CLOCK_HOST);
    int64_t host_sec = floor_div(host_ns, NS_PER_SEC);
    int64_t phase = floor_mod(host_ns, NS_PER_SEC);
    int64_t start;

    if (!strcmp(s->base, "utc")) {
        start = host_sec;
    } else if (!strcmp(s->base, "localtime")) {
        time_t t = host_sec;
        struct tm tm;
        localtime_r(&t, &tm);
        start = host_sec + tm.tm_gmtoff;
    } else if (rtc_parse_date(s->base, &start)) {
        if (s->clock_type != QEMU_CLOCK_HOST) {
            phase = 0;
        }
    } else {
        error_setg(errp, "invalid -rtc base=%s (valid: utc, localtime, "
                   "'2006-06-17T16:01:21' or '2006-06-17')", s->base);
        return false;
    }
    s->base_sec = start;
    s->base_clock_ns = rtc_clock_now(s) - phase;
    rtc_store_time(s, start);
    return true;
}

/* ---- device ---- */

/* QEMU's LostTickPolicy values; the RTC knows discard and slew. */
static bool rtc_parse_lost_tick_policy(RTCState *s, GError **errp)
{
    const char *p = s->lost_tick_policy ? s->lost_tick_policy : "discard";

    if (!strcmp(p, "discard") || !strcmp(p, "slew")) {
        s->slew = !strcmp(p, "slew");
        return true;
    }
    if (!strcmp(p, "delay")) {
        error_setg(errp, "Invalid lost tick policy.");
    } else {
        error_setg(errp, "Property 'mc146818rtc.lost_tick_policy' doesn't "
                   "take value '%s'", p);
    }
    return false;
}

/* QMP rtc-reset-reinjection: forget the owed ticks (the guest's time was
 * set another way, e.g. through its agent). */
void mc146818rtc_reset_reinjection(DeviceState *rtc)
{
    RTCState *s = (RTCState *)rtc;

    rtc_sync_flags(s);          /* count what was missed up to now first */
    s->ticks_lost = 0;
    s->reinjected_on_ack = 0;
    timer_del(s->catchup_timer);
}

static bool rtc_realize(DeviceState *dev, GError **errp)
{
    RTCState *s = (RTCState *)dev;

    if (s->irq_num >= 16 || s->iobase > 0xffff - (RTC_NUM_PORTS - 1)) {
        error_setg(errp, "mc146818rtc: iobase 0x%x or irq %u out of range",
                   s->iobase, s->irq_num);
        return false;
    }
    if (!s->base || !s->clock_name) {
        error_setg(errp, "mc146818rtc: base and clock must be set");
        return false;
    }
    if (!rtc_parse_clock(s, errp) || !rtc_parse_lost_tick_policy(s, errp)) {
        return false;
    }
    memset(s->cmos, 0, sizeof(s->cmos));
    s->cmos[RTC_REG_A] = REG_A_POWER_ON;
    s->cmos[RTC_REG_B] = REG_B_POWER_ON;
    s->cmos[RTC_REG_D] = REG_D_VRT;
    if (!rtc_init_time(s, errp)) {
        return false;
    }
    s->pf_tick = ns_to_xtal(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    s->update_checked_ns = rtc_clock_now(s);
    s->irq = isa_get_irq(s->irq_num);
    s->periodic_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                     rtc_periodic_expired, s);
    s->update_timer = timer_new_ns(s->clock_type, rtc_update_expired, s);
    s->catchup_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, rtc_catchup_expired,
                                    s);
    memory_region_init_io(&s->io, &rtc_ops, s, "rtc", RTC_NUM_PORTS);
    isa_register_ioport(&s->parent, &s->io, s->iobase);
    rtc_rearm(s);
    return true;
}

static void rtc_unrealize(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    memory_region_destroy(&s->io);
    timer_free(s->periodic_timer);
    timer_free(s->update_timer);
    timer_free(s->catchup_timer);
}

/* RESET pin: interrupt enables and flags clear; time and RAM stay. */
static void rtc_reset(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    rtc_sync_flags(s);
    s->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    s->ticks_lost = s->reinjected_on_ack = 0;
    rtc_update_irq(s);
    rtc_rearm(s);
}

static int rtc_post_load(void *opaque, int version_id)
{
    RTCState *s = opaque;

    /* Keep the clock arithmetic far from overflow (years 0-9999). */
    s->base_sec = CLAMP(s->base_sec, RTC_MIN_SECONDS, RTC_MAX_SECONDS);
    s->base_clock_ns = CLAMP(s->base_clock_ns, -RTC_MAX_CLOCK_NS,
                             RTC_MAX_CLOCK_NS);
    s->pf_tick = CLAMP(s->pf_tick, -RTC_MAX_CLOCK_NS, RTC_MAX_CLOCK_NS);
    s->update_checked_ns = CLAMP(s->update_checked_ns, -RTC_MAX_CLOCK_NS,
                                 RTC_MAX_CLOCK_NS);
    s->cmos[RTC_REG_A] &= REG_A_WRITABLE;
    s->cmos[RTC_REG_D] = REG_D_VRT;
    s->irq_level = rtc_irqf(s) != 0;
    qemu_set_irq(s->irq, s->irq_level);
    rtc_rearm(s);
    return 0;
}

static const VMStateDescription vmstate_rtc = {
    .name = "mc146818rtc",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = rtc_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(cmos, RTCState, RTC_CMOS_SIZE),
        VMSTATE_UINT8(index, RTCState),
        VMSTATE_INT64(base_sec, RTCState),
        VMSTATE_INT64(base_clock_ns, RTCState),
        VMSTATE_INT64(pf_tick, RTCState),
        VMSTATE_INT64(update_checked_ns, RTCState),
        VMSTATE_BOOL(irq_level, RTCState),
        VMSTATE_UINT32_V(ticks_lost, RTCState, 2),
        VMSTATE_UINT32_V(reinjected_on_ack, RTCState, 2),
        VMSTATE_END_OF_LIST()
    },
};

static const Property rtc_props[] = {
    DEFINE_PROP("iobase", RTCState, iobase, PROP_UINT32, "0x70",
                "I/O port of the index register (data at +1)"),
    DEFINE_PROP("irq", RTCState, irq_num, PROP_UINT32, "8", "ISA IRQ"),
    DEFINE_PROP("base", RTCState, base, PROP_STRING, "utc",
                "start time: utc, localtime or a date "
                "(2006-06-17T16:01:21 or 2006-06-17)"),
    DEFINE_PROP("clock", RTCState, clock_name, PROP_STRING, "host",
                "clock the time follows: host, rt or vm"),
    DEFINE_PROP("lost_tick_policy", RTCState, lost_tick_policy, PROP_STRING,
                "discard", "periodic ticks the guest missed: discard or "
                "slew (given back later, -rtc driftfix=slew)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType rtc_type = {
    .name = TYPE_MC146818_RTC,
    .parent = TYPE_ISA_DEVICE,
    .desc = "MC146818A real-time clock and CMOS RAM",
    .instance_size = sizeof(RTCState),
    .props = rtc_props,
    .realize = rtc_realize,
    .unrealize = rtc_unrealize,
    .reset = rtc_reset,
    .vmsd = &vmstate_rtc,
};

/* ---- host-side API ---- */

static RTCState *rtc_cast(DeviceState *dev)
{
    g_assert(dev && device_type_is_a(dev->type, TYPE_MC146818_RTC));
    return (RTCState *)dev;
}

static void rtc_update_checksum(RTCState *s)
{
    unsigned sum = 0;

    for (unsigned i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) {
        sum += s->cmos[i];
    }
    s->cmos[CMOS_CHECKSUM_HI] = sum >> 8;
    s->cmos[CMOS_CHECKSUM_LO] = sum & 0xff;
}

void mc146818rtc_set_cmos_data(DeviceState *rtc, unsigned addr, uint8_t val)
{
    RTCState *s = rtc_cast(rtc);

    if (addr < RTC_FIRST_USER_BYTE || addr >= RTC_CMOS_SIZE ||
        addr == RTC_CENTURY) {
        return;     /* the clock is the guest's business */
    }
    s->cmos[addr] = val;
    if (addr >= CMOS_CHECKSUM_FIRST && addr <= CMOS_CHECKSUM_LAST) {
        rtc_update_checksum(s);
    }
}

uint8_t mc146818rtc_get_cmos_data(DeviceState *rtc, unsigned addr)
{
    RTCState *s = rtc_cast(rtc);

    return addr < RTC_CMOS_SIZE ? s->cmos[addr] : 0;
}

void mc146818rtc_set_irq_output(DeviceState *rtc, qemu_irq irq)
{
    RTCState *s = rtc_cast(rtc);

    if (irq == s->irq) {
        return;
    }
    if (s->irq_level) {
        qemu_irq_lower(s->irq);
    }
    s->irq = irq;
    qemu_set_irq(s->irq, s->irq_level);
}

DeviceState *mc146818rtc_find(void)
{
    GPtrArray *devs = device_list();

    for (unsigned i = 0; devs && i < devs->len; i++) {
        DeviceState *dev = g_ptr_array_index(devs, i);
        if (device_type_is_a(dev->type, TYPE_MC146818_RTC)) {
            return dev;
        }
    }
    return NULL;
}

static void rtc_register(void)
{
    device_type_register(&rtc_type);
}
type_init(rtc_register)
