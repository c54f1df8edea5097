/*
 * HPET: the IA-PC High Precision Event Timer, memory-mapped at
 * 0xfed00000 (1 KiB) on the pc machine.
 *
 * Spec: Intel "IA-PC HPET (High Precision Event Timers) Specification",
 * revision 1.0a:
 *   - 2.3.4 General Capabilities and ID (revision 1, NUM_TIM_CAP = timers
 *     - 1, COUNT_SIZE_CAP 64-bit, LEG_RT_CAP, vendor 0x8086,
 *     COUNTER_CLK_PERIOD 0x989680 fs = 10 ns, i.e. 100 MHz as QEMU);
 *   - 2.3.5 General Configuration (ENABLE_CNF halts/runs the main
 *     counter and all timer interrupts; LEG_RT_CNF legacy replacement:
 *     timer 0 -> IRQ 0 (IOAPIC input 2), timer 1 -> IRQ 8);
 *   - 2.3.6 General Interrupt Status (level-triggered timers set their
 *     bit; software clears it by writing 1);
 *   - 2.3.7 Main Counter (writable while halted);
 *   - 2.3.8 Timer N Configuration and Capabilities (INT_TYPE level,
 *     INT_ENB, TYPE periodic, PER_INT_CAP, SIZE_CAP, VAL_SET, 32MODE,
 *     INT_ROUTE with INT_ROUTE_CAP), 2.3.9 comparators, 2.3.9.2.1
 *     one-shot and 2.3.9.2.2 periodic mode (the comparator accumulates
 *     the period; with VAL_SET a write sets the comparator itself, and
 *     VAL_SET clears after each comparator write).
 *
 * Choices, most of them QEMU's behaviour guests are written against:
 *   - 3 timers by default ("timers" property, 3-32), all periodic- and
 *     64-bit-capable.  FSB (MSI) delivery is not offered (FSB_INT_DEL_CAP
 *     clear, Tn_FSB_EN_CNF reads 0).
 *   - INT_ROUTE_CAP is QEMU's i440FX value, 0x4: IOAPIC input 2 only
 *     ("hpet-intcap" property).  IOAPIC input 2 is where KVM's GSI 0
 *     arrives (the PIT's ISA IRQ 0, MADT override), so a timer routed
 *     to input 2 drives machine line 0; other inputs n drive line n.
 *     (QEMU drives its GSI 2, which KVM routes nowhere.)  A route the
 *     capability does not allow is not taken: the old one reads back.
 *   - A comparator matches when the counter counts up to it, with the
 *     timer's wrap-around (2.3.9.2): a comparator just written equal to
 *     the counter fires at once, one behind it fires after the counter
 *     wraps (2^32 ticks in 32-bit mode, centuries in 64-bit mode: never
 *     armed).  A periodic timer's next match is one period after the
 *     last, whatever the period: a period of more than half the counter's
 *     range is a long wait, not a match already passed.  In 64-bit mode
 *     the reset value all-ones means "not programmed".
 *   - A 32-bit one-shot timer also interrupts when the counter's low 32
 *     bits wrap before the match; after the match it stays quiet.
 *   - Timers with INT_ENB clear do not run (no status bits), as in QEMU.
 *   - Writes to the main counter while it runs are ignored.
 *   - Legacy replacement: the RTC's interrupt comes in through
 *     hpet_rtc_irq_input() and reaches IRQ 8 only while legacy routing
 *     is off; the in-kernel PIT is told to stop through
 *     hpet_pit_legacy_hook (connected by the accelerator).
 * The counter runs on the virtual clock (stops with the VM; under qtest
 * moves with clock_step).
 */
#include "qemu/osdep.h"
#include "hw/timer/hpet.h"
#include "hw/boards.h"
#include "hw/i386/pc-layout.h"
#include "system/memory.h"
#include "system/timer.h"

/* General registers. */
#define HPET_REG_CAP            0x000
#define HPET_REG_CFG            0x010
#define HPET_REG_ISR            0x020
#define HPET_REG_COUNTER        0x0f0
#define HPET_TIMER_FIRST        0x100
#define HPET_TIMER_STRIDE       0x20
#define HPET_TN_CFG             0x00
#define HPET_TN_CMP             0x08
#define HPET_TN_FSB             0x10

#define CAP_REV_ID              0x01
#define CAP_NUM_TIM_SHIFT       8
#define CAP_COUNT_SIZE          (1ULL << 13)
#define CAP_LEG_RT              (1ULL << 15)
#define CAP_VENDOR_SHIFT        16
#define CAP_VENDOR_INTEL        0x8086ULL
#define CAP_PERIOD_SHIFT        32

#define CFG_ENABLE              0x01ULL
#define CFG_LEGACY              0x02ULL
#define CFG_WRITABLE            (CFG_ENABLE | CFG_LEGACY)

#define TN_INT_LEVEL            (1ULL << 1)
#define TN_INT_ENB              (1ULL << 2)
#define TN_PERIODIC             (1ULL << 3)
#define TN_PER_CAP              (1ULL << 4)
#define TN_SIZE_CAP             (1ULL << 5)
#define TN_VAL_SET              (1ULL << 6)
#define TN_32BIT                (1ULL << 8)
#define TN_ROUTE_SHIFT          9
#define TN_ROUTE_MASK           (0x1fULL << TN_ROUTE_SHIFT)
#define TN_ROUTE_CAP_SHIFT      32
#define TN_WRITABLE             (TN_INT_LEVEL | TN_INT_ENB | TN_PERIODIC | \
                                 TN_VAL_SET | TN_32BIT | TN_ROUTE_MASK)
#define TN_CAPS                 (TN_PER_CAP | TN_SIZE_CAP)

#define HPET_NS_PER_TICK        10
/* Further than this is centuries away: never armed. */
#define HPET_MAX_DELTA_TICKS    ((uint64_t)INT64_MAX / (2 * HPET_NS_PER_TICK))

/* Where interrupts go (machine GSI lines; see the header comment). */
#define LEGACY_TIMER0_LINE      0       /* ISA IRQ 0 = IOAPIC input 2 */
#define LEGACY_TIMER1_LINE      8       /* ISA IRQ 8 */
#define RTC_LINE                8
#define IOAPIC_INPUT_PIT        2
#define IOAPIC_INPUT_PIT_LINE   0

void (*hpet_pit_legacy_hook)(bool enable);

typedef struct HPETState HPETState;

typedef struct HPETTimer {
    HPETState *hpet;
    uint32_t tn;
    uint64_t config;
    uint64_t cmp;
    uint64_t period;
    bool wrap_pending;      /* armed for the 32-bit wrap, not the match */
    QEMUTimer *qtimer;
} HPETTimer;

struct HPETState {
    DeviceState parent;

    /* properties */
    uint8_t num_timers;
    uint32_t intcap;

    uint64_t config;
    uint64_t isr;
    uint64_t counter_base;  /* counter at @ns_base; the value while halted */
    int64_t ns_base;
    uint64_t saved_counter; /* migration only */
    bool rtc_level;
    uint32_t line_levels;   /* lines this device drives high */
    HPETTimer timers[HPET_MAX_TIMERS];

    qemu_irq lines[GSI_NUM_PINS];
    qemu_irq rtc_in;
    MemoryRegion mmio;
};

/* ---- counter ---- */

static bool hpet_enabled(const HPETState *s)
{
    return s->config & CFG_ENABLE;
}

static bool hpet_legacy(const HPETState *s)
{
    return s->config & CFG_LEGACY;
}

static int64_t vclock_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static uint64_t hpet_counter_at(const HPETState *s, int64_t now)
{
    int64_t elapsed = now - s->ns_base;

    if (!hpet_enabled(s) || elapsed < 0) {
        return s->counter_base;
    }
    return s->counter_base + elapsed / HPET_NS_PER_TICK;
}

/* The virtual time the counter reaches (current value + @ticks). */
static int64_t hpet_time_after(const HPETState *s, int64_t now,
                               uint64_t ticks)
{
    int64_t elapsed = MAX(now - s->ns_base, 0);
    int64_t tick_start = s->ns_base +
                         elapsed / HPET_NS_PER_TICK * HPET_NS_PER_TICK;

    return tick_start + (int64_t)ticks * HPET_NS_PER_TICK;
}

/* ---- interrupt lines ---- */

static uint64_t timer_width_mask(const HPETTimer *t)
{
    return (t->config & TN_32BIT) ? UINT32_MAX : UINT64_MAX;
}

/* Machine line a timer interrupts on, or -1. */
static int hpet_timer_line(const HPETTimer *t)
{
    unsigned input = (t->config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT;

    if (hpet_legacy(t->hpet) && t->tn <= 1) {
        return t->tn == 0 ? LEGACY_TIMER0_LINE : LEGACY_TIMER1_LINE;
    }
    if (input == IOAPIC_INPUT_PIT) {
        return IOAPIC_INPUT_PIT_LINE;
    }
    if (input == IOAPIC_INPUT_PIT_LINE || input >= GSI_NUM_PINS) {
        return -1;      /* IOAPIC input 0 has no GSI under KVM */
    }
    return input;
}

static uint32_t hpet_wanted_lines(const HPETState *s)
{
    uint32_t want = 0;

    if (!hpet_legacy(s) && s->rtc_level) {
        want |= 1u << RTC_LINE;
    }
    if (!hpet_enabled(s)) {
        return want;
    }
    for (unsigned i = 0; i < s->num_timers; i++) {
        const HPETTimer *t = &s->timers[i];
        int line = hpet_timer_line(t);

        if ((s->isr & (1ULL << i)) && (t->config & TN_INT_LEVEL) &&
            (t->config & TN_INT_ENB) && line >= 0) {
            want |= 1u << line;
        }
    }
    return want;
}

static void hpet_update_lines(HPETState *s)
{
    uint32_t want = hpet_wanted_lines(s);
    uint32_t changed = want ^ s->line_levels;

    s->line_levels = want;
    for (unsigned i = 0; i < GSI_NUM_PINS; i++) {
        if (changed & (1u << i)) {
            qemu_set_irq(s->lines[i], (want >> i) & 1);
        }
    }
}

static void hpet_deliver(HPETTimer *t)
{
    HPETState *s = t->hpet;
    int line = hpet_timer_line(t);

    if (t->config & TN_INT_LEVEL) {
        s->isr |= 1ULL << t->tn;
        hpet_update_lines(s);
        return;
    }
    s->isr &= ~(1ULL << t->tn);
    if (line >= 0 && !(s->line_levels & (1u << line))) {
        qemu_irq_pulse(s->lines[line]);
    }
}

/* ---- timers ---- */

static bool timer_runs(const HPETTimer *t)
{
    return hpet_enabled(t->hpet) && (t->config & TN_INT_ENB);
}

/*
 * Ticks from counter @c until it equals the comparator (0: matches now).
 * The counter only ever counts up, wrapping at the timer's width.
 */
static uint64_t ticks_to_match(const HPETTimer *t, uint64_t c)
{
    return (t->cmp - c) & timer_width_mask(t);
}

/*
 * Arm @t's QEMU timer for its next match as seen from virtual time @now.
 * Callers that just computed the comparator from the counter at @now pass
 * that same @now: with a short period, a fresh clock reading could already
 * be past the new comparator, and the match would then be a whole counter
 * wrap away.
 */
static void hpet_arm_at(HPETTimer *t, int64_t now)
{
    HPETState *s = t->hpet;
    uint64_t c = hpet_counter_at(s, now);
    uint64_t d;

    t->wrap_pending = false;
    if (!timer_runs(t) ||
        (!(t->config & TN_32BIT) && t->cmp == UINT64_MAX)) {
        timer_del(t->qtimer);
        return;
    }
    d = ticks_to_match(t, c);
    if ((t->config & TN_32BIT) && !(t->config & TN_PERIODIC)) {
        uint64_t to_wrap = (1ULL << 32) - (c & UINT32_MAX);
        if (to_wrap < d) {
            d = to_wrap;
            t->wrap_pending = true;
        }
    }
    if (d > HPET_MAX_DELTA_TICKS) {
        timer_del(t->qtimer);
        return;
    }
    timer_mod(t->qtimer, hpet_time_after(s, now, d));
}

static void hpet_arm(HPETTimer *t)
{
    hpet_arm_at(t, vclock_now());
}

/*
 * Periodic mode, after a match: the comparator moves on by the period
 * (2.3.9.2.2), by as many whole periods as the counter has run past the
 * match since (a late callback delivers one interrupt, not a burst).  The
 * distance is taken modulo the period, so no period, however long, can
 * land the comparator "behind" the counter.
 */
static void hpet_advance_periodic(HPETTimer *t, uint64_t c)
{
    uint64_t mask = timer_width_mask(t);
    uint64_t period = t->period & mask;
    uint64_t since_match = (c - t->cmp) & mask;

    t->cmp = (c + (period - since_match % period)) & mask;
}

static void hpet_timer_expired(void *opaque)
{
    HPETTimer *t = opaque;
    int64_t now = vclock_now();     /* one reading for the whole update */

    if (!timer_runs(t)) {
        return;
    }
    if (t->wrap_pending) {
        hpet_deliver(t);
        hpet_arm_at(t, now);
        return;
    }
    hpet_deliver(t);
    if ((t->config & TN_PERIODIC) && (t->period & timer_width_mask(t))) {
        hpet_advance_periodic(t, hpet_counter_at(t->hpet, now));
        hpet_arm_at(t, now);
    }
}

static void hpet_stop_timers(HPETState *s)
{
    for (unsigned i = 0; i < s->num_timers; i++) {
        timer_del(s->timers[i].qtimer);
        s->timers[i].wrap_pending = false;
    }
}

/* Arm every timer from the counter at virtual time @now. */
static void hpet_arm_timers(HPETState *s, int64_t now)
{
    for (unsigned i = 0; i < s->num_timers; i++) {
        hpet_arm_at(&s->timers[i], now);
    }
}

/* ---- registers ---- */

static uint64_t hpet_capabilities(const HPETState *s)
{
    return CAP_REV_ID |
           ((uint64_t)(s->num_timers - 1) << CAP_NUM_TIM_SHIFT) |
           CAP_COUNT_SIZE | CAP_LEG_RT |
           (CAP_VENDOR_INTEL << CAP_VENDOR_SHIFT) |
           (HPET_CLK_PERIOD_FS << CAP_PERIOD_SHIFT);
}

static uint64_t merge(uint64_t old, uint64_t val, uint64_t mask)
{
    return (old & ~mask) | (val & mask);
}

static void hpet_set_legacy_pit(bool enable)
{
    if (hpet_pit_legacy_hook) {
        hpet_pit_legacy_hook(enable);
    }
}

static void hpet_write_config(HPETState *s, uint64_t val)
{
    uint64_t old = s->config;
    uint64_t changed = (val ^ old) & CFG_WRITABLE;
    int64_t now = vclock_now();

    if (changed & CFG_ENABLE) {
        if (val & CFG_ENABLE) {
            s->ns_base = now;
        } else {
            s->counter_base = hpet_counter_at(s, now);
        }
    }
    s->config = val & CFG_WRITABLE;
    if (changed & CFG_ENABLE) {
        if (hpet_enabled(s)) {
            /* From the instant the counter started: a comparator just
             * ahead of it must not look passed by the time we arm. */
            hpet_arm_timers(s, now);
        } else {
            hpet_stop_timers(s);
        }
    }
    hpet_update_lines(s);
    if (changed & CFG_LEGACY) {
        hpet_set_legacy_pit(hpet_legacy(s));
    }
}

static void hpet_write_counter(HPETState *s, uint64_t val, uint64_t mask)
{
    if (!hpet_enabled(s)) {
        s->counter_base = merge(s->counter_base, val, mask);
    }
}

static bool route_allowed(const HPETTimer *t, uint64_t config)
{
    unsigned input = (config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT;

    return (t->config >> TN_ROUTE_CAP_SHIFT) & (1ULL << input);
}

static void hpet_write_tn_config(HPETTimer *t, uint64_t val)
{
    HPETState *s = t->hpet;
    uint64_t old = t->config;
    uint64_t cfg = (old & ~TN_WRITABLE) | (val & TN_WRITABLE);

    if (!route_allowed(t, cfg)) {
        cfg = (cfg & ~TN_ROUTE_MASK) | (old & TN_ROUTE_MASK);
    }
    t->config = cfg;
    if (cfg & TN_32BIT) {
        t->cmp &= UINT32_MAX;
        t->period &= UINT32_MAX;
    }
    if ((old & TN_INT_LEVEL) && !(cfg & TN_INT_LEVEL)) {
        s->isr &= ~(1ULL << t->tn);
    }
    if (!(old & TN_INT_ENB) && (cfg & TN_INT_ENB)) {
        hpet_arm(t);
    } else if (!(cfg & TN_INT_ENB)) {
        timer_del(t->qtimer);
    }
    hpet_update_lines(s);
}

static void hpet_write_tn_cmp(HPETTimer *t, uint64_t val, uint64_t mask)
{
    uint64_t width = timer_width_mask(t);

    if (!(t->config & TN_PERIODIC) || (t->config & TN_VAL_SET)) {
        t->cmp = merge(t->cmp, val, mask) & width;
    }
    t->period = merge(t->period, val, mask) & width;
    t->config &= ~TN_VAL_SET;
    if (hpet_enabled(t->hpet)) {
        hpet_arm(t);
    }
}

static HPETTimer *hpet_timer_at(HPETState *s, uint64_t reg)
{
    uint64_t tn;

    if (reg < HPET_TIMER_FIRST) {
        return NULL;
    }
    tn = (reg - HPET_TIMER_FIRST) / HPET_TIMER_STRIDE;
    return tn < s->num_timers ? &s->timers[tn] : NULL;
}

/* @reg is 8-byte aligned. */
static uint64_t hpet_read_reg(HPETState *s, uint64_t reg)
{
    HPETTimer *t = hpet_timer_at(s, reg);

    if (t) {
        switch (reg % HPET_TIMER_STRIDE) {
        case HPET_TN_CFG:
            return t->config;
        case HPET_TN_CMP:
            return t->cmp;
        default:
            return 0;   /* FSB route: no FSB delivery */
        }
    }
    switch (reg) {
    case HPET_REG_CAP:
        return hpet_capabilities(s);
    case HPET_REG_CFG:
        return s->config;
    case HPET_REG_ISR:
        return s->isr;
    case HPET_REG_COUNTER:
        return hpet_counter_at(s, vclock_now());
    default:
        return 0;
    }
}

/* @mask selects the bytes written (a 32-bit half or all 64 bits). */
static void hpet_write_reg(HPETState *s, uint64_t reg, uint64_t val,
                           uint64_t mask)
{
    HPETTimer *t = hpet_timer_at(s, reg);

    if (t) {
        switch (reg % HPET_TIMER_STRIDE) {
        case HPET_TN_CFG:
            hpet_write_tn_config(t, merge(t->config, val, mask));
            break;
        case HPET_TN_CMP:
            hpet_write_tn_cmp(t, val, mask);
            break;
        }
        return;
    }
    switch (reg) {
    case HPET_REG_CFG:
        hpet_write_config(s, merge(s->config, val, mask));
        break;
    case HPET_REG_ISR:
        s->isr &= ~(val & mask);
        hpet_update_lines(s);
        break;
    case HPET_REG_COUNTER:
        hpet_write_counter(s, val, mask);
        break;
    }
}

static uint32_t hpet_read32(HPETState *s, uint64_t addr)
{
    uint64_t v = hpet_read_reg(s, addr & ~7ULL);

    return (addr & 4) ? v >> 32 : (uint32_t)v;
}

static void hpet_write32(HPETState *s, uint64_t addr, uint32_t val)
{
    unsigned shift = (addr & 4) * 8;

    hpet_write_reg(s, addr & ~7ULL, (uint64_t)val << shift,
                   (uint64_t)UINT32_MAX << shift);
}

static uint64_t hpet_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    HPETState *s = opaque;

    if (size == 8 && !(addr & 7)) {
        return hpet_read_reg(s, addr);
    }
    if (size == 8) {
        return hpet_read32(s, addr) |
               ((uint64_t)hpet_read32(s, addr + 4) << 32);
    }
    return hpet_read32(s, addr);
}

static void hpet_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    HPETState *s = opaque;

    if (size == 8 && !(addr & 7)) {
        hpet_write_reg(s, addr, val, UINT64_MAX);
    } else if (size == 8) {
        hpet_write32(s, addr, val);
        hpet_write32(s, addr + 4, val >> 32);
    } else {
        hpet_write32(s, addr, val);
    }
}

static const MemoryRegionOps hpet_ops = {
    .read = hpet_mmio_read,
    .write = hpet_mmio_write,
    .min_access_size = 4,
    .max_access_size = 8,
};

/* ---- device ---- */

static void hpet_rtc_irq(void *opaque, int n, int level)
{
    HPETState *s = opaque;

    s->rtc_level = level;
    hpet_update_lines(s);
}

static uint64_t timer_power_on_config(const HPETState *s)
{
    return TN_CAPS | ((uint64_t)s->intcap << TN_ROUTE_CAP_SHIFT);
}

static bool hpet_realize(DeviceState *dev, GError **errp)
{
    HPETState *s = (HPETState *)dev;

    if (s->num_timers < HPET_MIN_TIMERS || s->num_timers > HPET_MAX_TIMERS) {
        error_setg(errp, "hpet: timers=%u out of range (%d-%d)",
                   s->num_timers, HPET_MIN_TIMERS, HPET_MAX_TIMERS);
        return false;
    }
    if (s->intcap >= (1u << GSI_NUM_PINS)) {
        error_setg(errp, "hpet: hpet-intcap 0x%x names IOAPIC inputs "
                   "above %d", s->intcap, GSI_NUM_PINS - 1);
        return false;
    }
    for (unsigned i = 0; i < GSI_NUM_PINS; i++) {
        s->lines[i] = current_machine ? current_machine->gsi[i] : NULL;
    }
    for (unsigned i = 0; i < s->num_timers; i++) {
        HPETTimer *t = &s->timers[i];
        t->hpet = s;
        t->tn = i;
        t->qtimer = timer_new_ns(QEMU_CLOCK_VIRTUAL, hpet_timer_expired, t);
    }
    s->rtc_in = qemu_allocate_irq(hpet_rtc_irq, s, 0);
    memory_region_init_io(&s->mmio, &hpet_ops, s, "hpet", PC_HPET_SIZE);
    memory_region_add_subregion(get_system_memory(), PC_HPET_BASE, &s->mmio);
    return true;
}

static void hpet_unrealize(DeviceState *dev)
{
    HPETState *s = (HPETState *)dev;

    if (hpet_legacy(s)) {
        hpet_set_legacy_pit(false);
    }
    memory_region_destroy(&s->mmio);
    for (unsigned i = 0; i < s->num_timers; i++) {
        timer_free(s->timers[i].qtimer);
    }
    qemu_free_irq(s->rtc_in);
}

static void hpet_reset(DeviceState *dev)
{
    HPETState *s = (HPETState *)dev;
    bool was_legacy = hpet_legacy(s);

    hpet_stop_timers(s);
    for (unsigned i = 0; i < s->num_timers; i++) {
        HPETTimer *t = &s->timers[i];
        t->config = timer_power_on_config(s);
        t->cmp = UINT64_MAX;
        t->period = 0;
    }
    s->config = 0;
    s->isr = 0;
    s->counter_base = 0;
    s->ns_base = 0;
    hpet_update_lines(s);
    if (was_legacy) {
        hpet_set_legacy_pit(false);
    }
}

static int hpet_pre_save(void *opaque)
{
    HPETState *s = opaque;

    s->saved_counter = hpet_counter_at(s, vclock_now());
    return 0;
}

static int hpet_post_load(void *opaque, int version_id)
{
    HPETState *s = opaque;

    s->config &= CFG_WRITABLE;
    s->isr &= (1ULL << s->num_timers) - 1;
    s->counter_base = s->saved_counter;
    s->ns_base = vclock_now();
    for (unsigned i = 0; i < HPET_MAX_TIMERS; i++) {
        HPETTimer *t = &s->timers[i];
        if (i >= s->num_timers) {
            t->config = t->cmp = t->period = 0;
            continue;
        }
        t->config = (t->config & TN_WRITABLE) | timer_power_on_config(s);
        if (t->config & TN_32BIT) {
            t->cmp &= UINT32_MAX;
            t->period &= UINT32_MAX;
        }
    }
    hpet_stop_timers(s);
    if (hpet_enabled(s)) {
        hpet_arm_timers(s, vclock_now());
    }
    hpet_update_lines(s);
    hpet_set_legacy_pit(hpet_legacy(s));
    return 0;
}

static const VMStateDescription vmstate_hpet_timer = {
    .name = "hpet-timer",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(config, HPETTimer),
        VMSTATE_UINT64(cmp, HPETTimer),
        VMSTATE_UINT64(period, HPETTimer),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_hpet = {
    .name = "hpet",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = hpet_pre_save,
    .post_load = hpet_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(config, HPETState),
        VMSTATE_UINT64(isr, HPETState),
        VMSTATE_UINT64(saved_counter, HPETState),
        VMSTATE_BOOL(rtc_level, HPETState),
        VMSTATE_STRUCT_ARRAY(timers, HPETState, HPET_MAX_TIMERS,
                             vmstate_hpet_timer, HPETTimer),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hpet_props[] = {
    DEFINE_PROP("timers", HPETState, num_timers, PROP_UINT8, "3",
                "number of comparators (3-32)"),
    DEFINE_PROP("hpet-intcap", HPETState, intcap, PROP_UINT32, "0x4",
                "IOAPIC inputs the timers may route to (bit mask)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType hpet_type = {
    .name = TYPE_HPET,
    .parent = TYPE_DEVICE,
    .desc = "HPET (IA-PC High Precision Event Timer)",
    .instance_size = sizeof(HPETState),
    .props = hpet_props,
    .realize = hpet_realize,
    .unrealize = hpet_unrealize,
    .reset = hpet_reset,
    .vmsd = &vmstate_hpet,
};

static HPETState *hpet_cast(DeviceState *dev)
{
    g_assert(dev && device_type_is_a(dev->type, TYPE_HPET));
    return (HPETState *)dev;
}

qemu_irq hpet_rtc_irq_input(DeviceState *hpet)
{
    return hpet_cast(hpet)->rtc_in;
}

bool hpet_legacy_mode(DeviceState *hpet)
{
    return hpet_legacy(hpet_cast(hpet));
}

static void hpet_register(void)
{
    device_type_register(&hpet_type);
}
type_init(hpet_register)
