/*
 * Local APICs in userspace, the APIC bus between them and the I/O APIC,
 * and the CPU side of the interrupt pins.  Used when KVM's in-kernel
 * LAPIC is absent (kernel_irqchip=off, -accel qtest).
 *
 * Spec: Intel SDM vol. 3A, chapter 11 "Advanced Programmable Interrupt
 * Controller (APIC)": 11.4 IA32_APIC_BASE (BSP flag, x2APIC enable EXTD,
 * global enable), the xAPIC register page at 0xfee00000 (Table 11-1):
 * ID 0x20, version 0x30, TPR 0x80, APR 0x90, PPR 0xa0, EOI 0xb0, LDR
 * 0xd0, DFR 0xe0, SVR 0xf0, ISR 0x100-0x170, TMR 0x180-0x1f0, IRR
 * 0x200-0x270, ESR 0x280, ICR 0x300/0x310, LVT timer/thermal/performance
 * counter/LINT0/LINT1/error 0x320-0x370, initial count 0x380, current
 * count 0x390, divide configuration 0x3e0; 11.5 the LVT, 11.5.3 error
 * handling (ESR is latched by a write), 11.5.4 the timer (one-shot,
 * periodic, TSC-deadline through IA32_TSC_DEADLINE); 11.6 IPIs through
 * the ICR (fixed, lowest priority, SMI, NMI, INIT, INIT level de-assert,
 * start-up; physical and logical destinations, flat and cluster models;
 * shorthands self / all / all but self); 11.8 handling: IRR, ISR, TMR,
 * TPR/PPR, EOI (and the EOI broadcast of level-triggered vectors to the
 * I/O APIC), 11.9 the spurious vector; 11.11 MSI address and data
 * format; 11.12 x2APIC: the MSRs 0x800-0x8ff (32-bit ID, LDR derived
 * from it, 64-bit ICR at 0x830, SELF IPI 0x83f; #GP for reads of
 * write-only, writes of read-only and accesses of absent registers).
 *
 * Model, where the spec leaves room (as QEMU's model, which guests and
 * firmware are used to):
 *   - Version 0x14 with 6 LVT entries (0x50014); no EOI-broadcast
 *     suppression, no CMCI LVT.
 *   - The timer runs on the virtual clock at a 1 GHz bus clock divided by
 *     the divide configuration; a count of N expires after N + 1 ticks
 *     (periodic: every N + 1 ticks).  The TSC-deadline timer compares
 *     with a TSC read through apic_tsc_read_hook (default: a 1 GHz TSC
 *     equal to the virtual clock in ns).
 *   - The BSP's LINT0 comes out of reset as ExtINT, unmasked, so the PIC
 *     reaches CPU 0 (virtual wire mode, as firmware sets it up); a
 *     globally disabled APIC passes the PIC's INT straight to the CPU.
 *   - The xAPIC page is the page of the CPU doing the access: a vCPU
 *     thread's own, CPU 0 elsewhere (qtest).  Writes to its offset 0 and
 *     anywhere above 0xfff are MSI messages (devices write there); the
 *     page cannot be moved by IA32_APIC_BASE (the base reads back, the
 *     page stays at 0xfee00000).
 *   - An IPI or MSI vector below 16 is refused and latched in the ESR
 *     (send/receive illegal vector).  Lowest priority delivery picks the
 *     destination with the lowest TPR (the first of equals).
 *   - INIT resets the APIC's registers except the ID and IA32_APIC_BASE,
 *     as the SDM says the processor's INIT does.
 */
#include "qemu/osdep.h"
#include "hw/intc/apic.h"
#include "accel/kvm.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "system/memory.h"
#include "system/timer.h"

#define APIC_VERSION            0x14
#define APIC_LVT_NB             6
#define APIC_LVT_TIMER          0
#define APIC_LVT_THERMAL        1
#define APIC_LVT_PERF           2
#define APIC_LVT_LINT0          3
#define APIC_LVT_LINT1          4
#define APIC_LVT_ERROR          5

/* Register indices: xAPIC offset >> 4, x2APIC MSR - 0x800. */
#define REG_ID                  0x02
#define REG_VERSION             0x03
#define REG_TPR                 0x08
#define REG_APR                 0x09
#define REG_PPR                 0x0a
#define REG_EOI                 0x0b
#define REG_RRD                 0x0c
#define REG_LDR                 0x0d
#define REG_DFR                 0x0e
#define REG_SVR                 0x0f
#define REG_ISR                 0x10
#define REG_TMR                 0x18
#define REG_IRR                 0x20
#define REG_ESR                 0x28
#define REG_ICR_LO              0x30
#define REG_ICR_HI              0x31
#define REG_LVT                 0x32
#define REG_INITIAL_COUNT       0x38
#define REG_CURRENT_COUNT       0x39
#define REG_DIVIDE              0x3e
#define REG_SELF_IPI            0x3f

#define SVR_ENABLE              (1u << 8)
#define SVR_WRITABLE            0x3ffu      /* vector, enable, focus */
#define LVT_MASKED              (1u << 16)
#define LVT_LEVEL               (1u << 15)
#define LVT_REMOTE_IRR          (1u << 14)
#define LVT_DELIVERY_STATUS     (1u << 12)
#define LVT_TIMER_MODE_SHIFT    17
#define LVT_TIMER_ONESHOT       0
#define LVT_TIMER_PERIODIC      1
#define LVT_TIMER_TSC_DEADLINE  2

#define DM_FIXED                0
#define DM_LOWEST               1
#define DM_SMI                  2
#define DM_NMI                  4
#define DM_INIT                 5
#define DM_SIPI                 6
#define DM_EXTINT               7

#define ICR_DEST_LOGICAL        (1u << 11)
#define ICR_LEVEL_ASSERT        (1u << 14)
#define ICR_TRIGGER_LEVEL       (1u << 15)
#define ICR_SHORTHAND_SHIFT     18
#define ICR_LO_WRITABLE         0xccfffu    /* all but delivery status */
#define SHORTHAND_NONE          0
#define SHORTHAND_SELF          1
#define SHORTHAND_ALL           2
#define SHORTHAND_OTHERS        3

#define ESR_SEND_ILLEGAL        (1u << 5)
#define ESR_RECV_ILLEGAL        (1u << 6)
#define ESR_ILLEGAL_REGISTER    (1u << 7)

#define MSI_ADDR_DEST_SHIFT     12
#define MSI_ADDR_DEST_LOGICAL   (1u << 2)
#define MSI_DATA_TRIGGER_LEVEL  (1u << 15)

#define DFR_FLAT                0xfu
#define XAPIC_BROADCAST         0xffu
#define X2APIC_BROADCAST        0xffffffffu

/* Writable bits of each LVT entry (timer, thermal, perf, LINT0/1, error). */
static const uint32_t lvt_writable[APIC_LVT_NB] = {
    0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff,
};

typedef struct APICState {
    DeviceState parent;
    /* properties */
    uint32_t id;            /* initial APIC ID (x2APIC: all 32 bits) */
    uint32_t cpu_index;

    uint64_t apicbase;
    uint32_t xapic_id;      /* xAPIC ID register (writable, bits 7:0) */
    uint8_t tpr;
    uint32_t svr;
    uint32_t ldr;           /* xAPIC logical destination (bits 31:24) */
    uint32_t dfr;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t lvt[APIC_LVT_NB];
    uint32_t esr, esr_pending;
    uint32_t icr_lo, icr_hi;
    uint32_t divide_conf;
    uint32_t initial_count;
    int64_t count_load_time;    /* virtual ns of the initial count write */
    uint64_t tsc_deadline;
    bool timer_expired;     /* one-shot count reached zero */
    bool lint0_level;       /* the PIC's INT as LINT0 saw it last */
    bool extint_msg;        /* an ExtINT message waits for INTA */

    /* the CPU's event pins (not APIC registers, but per CPU) */
    uint32_t events;
    uint8_t sipi_vector;

    QEMUTimer *timer;
} APICState;

typedef struct APICBus {
    APICState *cpus[APIC_MAX_CPUS];
    unsigned ncpus;
    DeviceState *pic;
    qemu_irq pic_int;
    MemoryRegion window;
    bool active;
} APICBus;

static APICBus apic_bus;
static __thread int apic_current_cpu;

void (*x86_cpu_notify_hook)(unsigned cpu);
uint64_t (*apic_tsc_read_hook)(unsigned cpu);
uint32_t apic_tsc_khz = 1000000;

static void apic_update(APICState *s);
static void apic_timer_arm(APICState *s, int64_t now);

/* ---- small helpers ---- */

static int64_t vclock_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static bool apic_hw_enabled(const APICState *s)
{
    return s->apicbase & APICBASE_ENABLE;
}

static bool apic_sw_enabled(const APICState *s)
{
    return s->svr & SVR_ENABLE;
}

static bool apic_x2apic(const APICState *s)
{
    return (s->apicbase & (APICBASE_EXTD | APICBASE_ENABLE)) ==
           (APICBASE_EXTD | APICBASE_ENABLE);
}

static bool bit_test(const uint32_t *tab, unsigned vector)
{
    return tab[vector >> 5] & (1u << (vector & 31));
}

static void bit_set(uint32_t *tab, unsigned vector)
{
    tab[vector >> 5] |= 1u << (vector & 31);
}

static void bit_clear(uint32_t *tab, unsigned vector)
{
    tab[vector >> 5] &= ~(1u << (vector & 31));
}

/* The highest set vector in a 256-bit register, or -1. */
static int highest_bit(const uint32_t *tab)
{
    for (int i = 7; i >= 0; i--) {
        if (tab[i]) {
            return i * 32 + 31 - __builtin_clz(tab[i]);
        }
    }
    return -1;
}

static unsigned lvt_mode(uint32_t lvt)
{
    return (lvt >> 8) & 7;
}

static unsigned timer_mode(const APICState *s)
{
    return (s->lvt[APIC_LVT_TIMER] >> LVT_TIMER_MODE_SHIFT) & 3;
}

static void apic_notify(APICState *s)
{
    if (x86_cpu_notify_hook) {
        x86_cpu_notify_hook(s->cpu_index);
    }
}

/* ---- priorities ---- */

static uint8_t apic_ppr(const APICState *s)
{
    int isrv = highest_bit(s->isr);
    uint8_t isr_class = isrv < 0 ? 0 : (isrv & 0xf0);

    return (s->tpr & 0xf0) >= isr_class ? s->tpr : isr_class;
}

/* The vector the APIC would hand the CPU now, or -1. */
static int apic_pending_vector(const APICState *s)
{
    int irrv;

    if (!apic_hw_enabled(s) || !apic_sw_enabled(s)) {
        return -1;
    }
    irrv = highest_bit(s->irr);
    if (irrv < 0 || (irrv & 0xf0) <= (apic_ppr(s) & 0xf0)) {
        return -1;
    }
    return irrv;
}

static void apic_update(APICState *s)
{
    apic_notify(s);
}

/* ---- accepting interrupts ---- */

static void apic_set_error(APICState *s, uint32_t bits);

static void apic_accept_fixed(APICState *s, uint8_t vector, bool level)
{
    if (vector < 16) {
        apic_set_error(s, ESR_RECV_ILLEGAL);
        return;
    }
    bit_set(s->irr, vector);
    if (level) {
        bit_set(s->tmr, vector);
    } else {
        bit_clear(s->tmr, vector);
    }
    apic_update(s);
}

static void apic_init_reset(APICState *s);

static void apic_raise_event(APICState *s, uint32_t event, uint8_t vector)
{
    if (event == X86_EVENT_INIT) {
        apic_init_reset(s);
    }
    if (event == X86_EVENT_SIPI) {
        s->sipi_vector = vector;
    }
    s->events |= event;
    apic_notify(s);
}

/* One interrupt of @mode reaching this APIC from the bus or its LVT. */
static void apic_accept(APICState *s, unsigned mode, uint8_t vector,
                        bool level)
{
    if (!apic_hw_enabled(s)) {
        return;
    }
    switch (mode) {
    case DM_FIXED:
    case DM_LOWEST:
        apic_accept_fixed(s, vector, level);
        break;
    case DM_SMI:
        apic_raise_event(s, X86_EVENT_SMI, 0);
        break;
    case DM_NMI:
        apic_raise_event(s, X86_EVENT_NMI, 0);
        break;
    case DM_INIT:
        apic_raise_event(s, X86_EVENT_INIT, 0);
        break;
    case DM_SIPI:
        apic_raise_event(s, X86_EVENT_SIPI, vector);
        break;
    case DM_EXTINT:
        s->extint_msg = true;
        apic_notify(s);
        break;
    default:
        break;              /* reserved */
    }
}

/* An LVT entry fires (timer, error, LINTn): SDM 11.5.1. */
static void apic_local_deliver(APICState *s, unsigned lvt_index)
{
    uint32_t lvt = s->lvt[lvt_index];
    unsigned mode = lvt_mode(lvt);

    if (lvt & LVT_MASKED) {
        return;
    }
    if (lvt_index == APIC_LVT_TIMER || lvt_index == APIC_LVT_ERROR) {
        mode = DM_FIXED;    /* these have no delivery mode field */
    }
    if (mode == DM_EXTINT) {
        apic_notify(s);     /* INTR follows the PIC (x86_cpu_*) */
        return;
    }
    apic_accept(s, mode, lvt & 0xff,
                (lvt_index == APIC_LVT_LINT0 || lvt_index == APIC_LVT_LINT1) &&
                (lvt & LVT_LEVEL));
}

static void apic_set_error(APICState *s, uint32_t bits)
{
    uint32_t fresh = bits & ~s->esr_pending;

    s->esr_pending |= bits;
    if (fresh) {
        apic_local_deliver(s, APIC_LVT_ERROR);
    }
}

/* ---- destinations ---- */

typedef struct DestMask {
    unsigned long bits[(APIC_MAX_CPUS + 63) / 64];
} DestMask;

static void dest_add(DestMask *m, unsigned cpu)
{
    m->bits[cpu / 64] |= 1UL << (cpu % 64);
}

static bool dest_has(const DestMask *m, unsigned cpu)
{
    return m->bits[cpu / 64] & (1UL << (cpu % 64));
}

static uint32_t x2apic_ldr(uint32_t id)
{
    return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* Does @s answer to @dest (from an x2APIC sender when @wide)? */
static bool apic_match_dest(const APICState *s, uint32_t dest, bool logical,
                            bool wide)
{
    uint32_t broadcast = wide ? X2APIC_BROADCAST : XAPIC_BROADCAST;

    if (dest == broadcast) {
        return true;
    }
    if (!logical) {
        return apic_x2apic(s) ? dest == s->id
                              : (wide ? dest : dest & 0xff) == s->xapic_id;
    }
    if (apic_x2apic(s)) {
        uint32_t ldr = x2apic_ldr(s->id);
        return wide && (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
    }
    if (wide) {
        return false;
    }
    if ((s->dfr >> 28) == DFR_FLAT) {
        return (s->ldr >> 24) & dest;
    }
    /* Cluster model: cluster in the high nibble, members in the low. */
    return (dest >> 4) == (s->ldr >> 28) && (dest & (s->ldr >> 24) & 0xf);
}

static void apic_find_dests(DestMask *m, uint32_t dest, bool logical,
                            bool wide)
{
    memset(m, 0, sizeof(*m));
    for (unsigned i = 0; i < apic_bus.ncpus; i++) {
        APICState *s = apic_bus.cpus[i];
        if (s && apic_hw_enabled(s) &&
            apic_match_dest(s, dest, logical, wide)) {
            dest_add(m, i);
        }
    }
}

/* Lowest priority arbitration: the lowest TPR, the first of equals. */
static void apic_pick_lowest(DestMask *m)
{
    int best = -1;

    for (unsigned i = 0; i < apic_bus.ncpus; i++) {
        if (dest_has(m, i) &&
            (best < 0 || apic_bus.cpus[i]->tpr < apic_bus.cpus[best]->tpr)) {
            best = i;
        }
    }
    memset(m, 0, sizeof(*m));
    if (best >= 0) {
        dest_add(m, best);
    }
}

static void apic_bus_deliver(DestMask *m, unsigned mode, uint8_t vector,
                             bool level)
{
    if (mode == DM_LOWEST) {
        apic_pick_lowest(m);
    }
    for (unsigned i = 0; i < apic_bus.ncpus; i++) {
        if (dest_has(m, i)) {
            apic_accept(apic_bus.cpus[i], mode, vector, level);
        }
    }
}

static void apic_deliver_msi(uint64_t addr, uint32_t data)
{
    DestMask m;
    unsigned mode = (data >> 8) & 7;
    uint8_t vector = data & 0xff;

    apic_find_dests(&m, (addr >> MSI_ADDR_DEST_SHIFT) & 0xff,
                    addr & MSI_ADDR_DEST_LOGICAL, false);
    if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
        for (unsigned i = 0; i < apic_bus.ncpus; i++) {
            if (dest_has(&m, i)) {
                apic_set_error(apic_bus.cpus[i], ESR_RECV_ILLEGAL);
            }
        }
        return;
    }
    apic_bus_deliver(&m, mode, vector, data & MSI_DATA_TRIGGER_LEVEL);
}

/* ---- IPIs ---- */

static void apic_send_ipi(APICState *s)
{
    unsigned shorthand = (s->icr_lo >> ICR_SHORTHAND_SHIFT) & 3;
    unsigned mode = lvt_mode(s->icr_lo);
    uint8_t vector = s->icr_lo & 0xff;
    bool x2 = apic_x2apic(s);
    uint32_t dest = x2 ? s->icr_hi : s->icr_hi >> 24;
    DestMask m;

    if (mode == DM_INIT && !(s->icr_lo & ICR_LEVEL_ASSERT) &&
        (s->icr_lo & ICR_TRIGGER_LEVEL)) {
        return;             /* INIT level de-assert: no effect (P4+) */
    }
    if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
        apic_set_error(s, ESR_SEND_ILLEGAL);
        return;
    }
    switch (shorthand) {
    case SHORTHAND_NONE:
        apic_find_dests(&m, dest, s->icr_lo & ICR_DEST_LOGICAL, x2);
        break;
    case SHORTHAND_SELF:
        memset(&m, 0, sizeof(m));
        dest_add(&m, s->cpu_index);
        break;
    default:
        memset(&m, 0, sizeof(m));
        for (unsigned i = 0; i < apic_bus.ncpus; i++) {
            if (shorthand == SHORTHAND_ALL || i != s->cpu_index) {
                dest_add(&m, i);
            }
        }
        break;
    }
    apic_bus_deliver(&m, mode, vector, false);
}

/* ---- EOI ---- */

static void apic_eoi(APICState *s)
{
    int isrv = highest_bit(s->isr);

    if (isrv < 0) {
        return;
    }
    bit_clear(s->isr, isrv);
    if (bit_test(s->tmr, isrv)) {
        ioapic_eoi_broadcast(isrv);
    }
    apic_update(s);
}

/* ---- timer ---- */

static unsigned apic_count_shift(const APICState *s)
{
    unsigned v = (s->divide_conf & 3) | ((s->divide_conf >> 1) & 4);

    return (v + 1) & 7;
}

static uint32_t apic_current_count(const APICState *s, int64_t now)
{
    uint64_t ticks, period = (uint64_t)s->initial_count + 1;

    if (!s->initial_count || timer_mode(s) == LVT_TIMER_TSC_DEADLINE ||
        s->timer_expired) {
        return 0;
    }
    if (now < s->count_load_time) {
        return s->initial_count;
    }
    ticks = (uint64_t)(now - s->count_load_time) >> apic_count_shift(s);
    if (timer_mode(s) == LVT_TIMER_PERIODIC) {
        return s->initial_count - ticks % period;
    }
    return ticks >= s->initial_count ? 0 : s->initial_count - ticks;
}

static uint64_t apic_tsc_now(const APICState *s)
{
    if (apic_tsc_read_hook) {
        return apic_tsc_read_hook(s->cpu_index);
    }
    return (unsigned __int128)vclock_now() * apic_tsc_khz / 1000000;
}

/* Arm the QEMU timer for the next expiry seen from virtual time @now. */
static void apic_timer_arm(APICState *s, int64_t now)
{
    unsigned shift = apic_count_shift(s);
    uint64_t period = ((uint64_t)s->initial_count + 1) << shift;
    uint64_t elapsed;

    if (timer_mode(s) == LVT_TIMER_TSC_DEADLINE) {
        uint64_t tsc = apic_tsc_now(s);
        unsigned __int128 ns;

        if (!s->tsc_deadline || !apic_tsc_khz) {
            timer_del(s->timer);
            return;
        }
        ns = s->tsc_deadline <= tsc ? 0 :
             (unsigned __int128)(s->tsc_deadline - tsc) * 1000000 /
             apic_tsc_khz;
        if (ns > INT64_MAX / 2) {
            timer_del(s->timer);    /* centuries away */
            return;
        }
        timer_mod(s->timer, now + (int64_t)ns);
        return;
    }
    if (!s->initial_count || s->timer_expired || timer_mode(s) > 1) {
        timer_del(s->timer);
        return;
    }
    elapsed = now > s->count_load_time ?
              (uint64_t)now - (uint64_t)s->count_load_time : 0;
    if (timer_mode(s) == LVT_TIMER_PERIODIC) {
        timer_mod(s->timer, s->count_load_time +
                  (int64_t)((elapsed / period + 1) * period));
    } else {
        timer_mod(s->timer, s->count_load_time + (int64_t)period);
    }
}

static void apic_timer_expired(void *opaque)
{
    APICState *s = opaque;

    if (timer_mode(s) == LVT_TIMER_TSC_DEADLINE) {
        s->tsc_deadline = 0;
    } else if (timer_mode(s) == LVT_TIMER_ONESHOT) {
        s->timer_expired = true;
    }
    apic_local_deliver(s, APIC_LVT_TIMER);
    apic_timer_arm(s, vclock_now());
}

static void apic_write_lvt_timer(APICState *s, uint32_t val)
{
    unsigned old_mode = timer_mode(s);

    s->lvt[APIC_LVT_TIMER] = val;
    if (timer_mode(s) != old_mode) {
        /* SDM 11.5.4.1: a mode change disarms the timer. */
        s->tsc_deadline = 0;
        s->initial_count = 0;
        s->timer_expired = false;
    }
    apic_timer_arm(s, vclock_now());
}

/* ---- register access ---- */

static void apic_init_reset(APICState *s)
{
    s->tpr = 0;
    s->svr = 0xff;
    s->ldr = 0;
    s->dfr = 0xffffffff;
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    memset(s->irr, 0, sizeof(s->irr));
    for (unsigned i = 0; i < APIC_LVT_NB; i++) {
        s->lvt[i] = LVT_MASKED;
    }
    s->esr = s->esr_pending = 0;
    s->icr_lo = s->icr_hi = 0;
    s->divide_conf = 0;
    s->initial_count = 0;
    s->count_load_time = 0;
    s->tsc_deadline = 0;
    s->timer_expired = false;
    s->extint_msg = false;
    if (s->timer) {
        timer_del(s->timer);
    }
}

/* Read register @index; false: no such register (x2APIC #GP). */
static bool apic_reg_read(APICState *s, unsigned index, uint64_t *val)
{
    bool x2 = apic_x2apic(s);

    switch (index) {
    case REG_ID:
        *val = x2 ? s->id : s->xapic_id << 24;
        return true;
    case REG_VERSION:
        *val = APIC_VERSION | ((APIC_LVT_NB - 1) << 16);
        return true;
    case REG_TPR:
        *val = s->tpr;
        return true;
    case REG_APR:
        *val = 0;
        return !x2;
    case REG_PPR:
        *val = apic_ppr(s);
        return true;
    case REG_LDR:
        *val = x2 ? x2apic_ldr(s->id) : s->ldr;
        return true;
    case REG_DFR:
        *val = s->dfr;
        return !x2;
    case REG_SVR:
        *val = s->svr;
        return true;
    case REG_ISR ... REG_ISR + 7:
        *val = s->isr[index - REG_ISR];
        return true;
    case REG_TMR ... REG_TMR + 7:
        *val = s->tmr[index - REG_TMR];
        return true;
    case REG_IRR ... REG_IRR + 7:
        *val = s->irr[index - REG_IRR];
        return true;
    case REG_ESR:
        *val = s->esr;
        return true;
    case REG_ICR_LO:
        *val = x2 ? (uint64_t)s->icr_hi << 32 | s->icr_lo : s->icr_lo;
        return true;
    case REG_ICR_HI:
        *val = s->icr_hi;
        return !x2;
    case REG_LVT ... REG_LVT + APIC_LVT_NB - 1:
        *val = s->lvt[index - REG_LVT];
        return true;
    case REG_INITIAL_COUNT:
        *val = s->initial_count;
        return true;
    case REG_CURRENT_COUNT:
        *val = apic_current_count(s, vclock_now());
        return true;
    case REG_DIVIDE:
        *val = s->divide_conf;
        return true;
    default:
        *val = 0;
        return false;
    }
}

static void apic_write_svr(APICState *s, uint32_t val)
{
    s->svr = val & SVR_WRITABLE;
    if (!apic_sw_enabled(s)) {
        /* SDM 11.4.7.2: software disable masks every LVT entry. */
        for (unsigned i = 0; i < APIC_LVT_NB; i++) {
            s->lvt[i] |= LVT_MASKED;
        }
    }
    apic_update(s);
}

static void apic_write_lvt(APICState *s, unsigned n, uint32_t val)
{
    uint32_t old = s->lvt[n];

    val &= lvt_writable[n];
    if (!apic_sw_enabled(s)) {
        val |= LVT_MASKED;
    }
    if (n == APIC_LVT_TIMER) {
        apic_write_lvt_timer(s, val);
        return;
    }
    s->lvt[n] = val | (old & LVT_REMOTE_IRR);
    if (n == APIC_LVT_LINT0 && s->lint0_level && (old & LVT_MASKED) &&
        !(val & LVT_MASKED)) {
        /* Unmasking an asserted LINT0 (level, or ExtINT) delivers. */
        if (lvt_mode(val) == DM_EXTINT || (val & LVT_LEVEL)) {
            apic_local_deliver(s, n);
        }
    }
    apic_update(s);
}

/* Write register @index; false: the write faults (x2APIC #GP). */
static bool apic_reg_write(APICState *s, unsigned index, uint64_t val)
{
    bool x2 = apic_x2apic(s);

    switch (index) {
    case REG_ID:
        if (x2) {
            return false;
        }
        s->xapic_id = (val >> 24) & 0xff;
        return true;
    case REG_TPR:
        s->tpr = val & 0xff;
        apic_update(s);
        return true;
    case REG_EOI:
        if (x2 && val) {
            return false;
        }
        apic_eoi(s);
        return true;
    case REG_LDR:
        if (x2) {
            return false;
        }
        s->ldr = val & 0xff000000u;
        return true;
    case REG_DFR:
        if (x2) {
            return false;
        }
        s->dfr = (uint32_t)val | 0x0fffffffu;
        return true;
    case REG_SVR:
        apic_write_svr(s, val);
        return true;
    case REG_ESR:
        if (x2 && val) {
            return false;
        }
        s->esr = s->esr_pending;
        s->esr_pending = 0;
        return true;
    case REG_ICR_LO:
        if (x2) {
            s->icr_hi = val >> 32;
        }
        s->icr_lo = val & ICR_LO_WRITABLE;
        apic_send_ipi(s);
        return true;
    case REG_ICR_HI:
        if (x2) {
            return false;
        }
        s->icr_hi = val & 0xff000000u;
        return true;
    case REG_LVT ... REG_LVT + APIC_LVT_NB - 1:
        apic_write_lvt(s, index - REG_LVT, val);
        return true;
    case REG_INITIAL_COUNT:
        if (timer_mode(s) == LVT_TIMER_TSC_DEADLINE) {
            return true;    /* ignored in TSC-deadline mode */
        }
        s->initial_count = val;
        s->count_load_time = vclock_now();
        s->timer_expired = false;
        apic_timer_arm(s, s->count_load_time);
        return true;
    case REG_DIVIDE: {
        int64_t now = vclock_now();
        uint32_t count = apic_current_count(s, now);

        s->divide_conf = val & 0xb;
        /* The count goes on from where it is, at the new rate. */
        if (s->initial_count && !s->timer_expired &&
            timer_mode(s) != LVT_TIMER_TSC_DEADLINE) {
            s->count_load_time = now - ((int64_t)(s->initial_count - count)
                                        << apic_count_shift(s));
        }
        apic_timer_arm(s, now);
        return true;
    }
    case REG_SELF_IPI:
        if (!x2) {
            return false;
        }
        if ((val & 0xff) < 16) {
            apic_set_error(s, ESR_SEND_ILLEGAL);
        } else {
            apic_accept_fixed(s, val & 0xff, false);
        }
        return true;
    case REG_VERSION:
    case REG_APR:
    case REG_PPR:
    case REG_RRD:
    case REG_ISR ... REG_ISR + 7:
    case REG_TMR ... REG_TMR + 7:
    case REG_IRR ... REG_IRR + 7:
    case REG_CURRENT_COUNT:
        return !x2;         /* read-only: ignored, or #GP in x2APIC mode */
    default:
        return false;
    }
}

/* ---- the xAPIC page and MSI window ---- */

static APICState *apic_for_thread(void)
{
    unsigned cpu = apic_current_cpu;

    return cpu < apic_bus.ncpus ? apic_bus.cpus[cpu] : NULL;
}

static uint64_t apic_window_read(void *opaque, uint64_t addr, unsigned size)
{
    APICState *s = apic_for_thread();
    uint64_t val;

    if (!s || addr >= 0x1000 || apic_x2apic(s)) {
        return 0;
    }
    if (!apic_reg_read(s, addr >> 4, &val)) {
        apic_set_error(s, ESR_ILLEGAL_REGISTER);
        return 0;
    }
    return (uint32_t)val;
}

static void apic_window_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    APICState *s = apic_for_thread();
    unsigned index = addr >> 4;

    if (addr >= 0x1000 || index == 0) {
        /* Not the CPU's register page: an MSI written by a device. */
        apic_deliver_msi(APIC_DEFAULT_ADDRESS + addr, val);
        return;
    }
    if (!s || apic_x2apic(s) || index == REG_SELF_IPI) {
        return;
    }
    if (!apic_reg_write(s, index, (uint32_t)val)) {
        apic_set_error(s, ESR_ILLEGAL_REGISTER);
    }
}

static const MemoryRegionOps apic_window_ops = {
    .read = apic_window_read,
    .write = apic_window_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

/* ---- MSRs ---- */

static APICState *apic_of(unsigned cpu)
{
    return cpu < apic_bus.ncpus ? apic_bus.cpus[cpu] : NULL;
}

static bool apic_write_base(APICState *s, uint64_t val)
{
    uint64_t old = s->apicbase;
    uint64_t allowed = 0xfffff000ULL | APICBASE_BSP | APICBASE_EXTD |
                       APICBASE_ENABLE;

    if (val & ~allowed) {
        return false;
    }
    /* SDM 11.12.5: EXTD without EN, and x2APIC to xAPIC directly, #GP. */
    if ((val & APICBASE_EXTD) && !(val & APICBASE_ENABLE)) {
        return false;
    }
    if (apic_x2apic(s) && (val & APICBASE_ENABLE) &&
        !(val & APICBASE_EXTD)) {
        return false;
    }
    s->apicbase = (val & ~APICBASE_BSP) | (old & APICBASE_BSP);
    if ((old & APICBASE_ENABLE) && !(val & APICBASE_ENABLE)) {
        /* Global disable: as after a reset, but the ID stays. */
        apic_init_reset(s);
    }
    apic_update(s);
    return true;
}

bool apic_msr_read(unsigned cpu, uint32_t msr, uint64_t *val)
{
    APICState *s = apic_of(cpu);

    *val = 0;
    if (!s) {
        return false;
    }
    if (msr == MSR_IA32_APICBASE) {
        *val = s->apicbase;
        return true;
    }
    if (msr == MSR_IA32_TSC_DEADLINE) {
        *val = s->tsc_deadline;
        return true;
    }
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !apic_x2apic(s) ||
        msr - MSR_X2APIC_FIRST == REG_EOI ||
        msr - MSR_X2APIC_FIRST == REG_SELF_IPI) {
        return false;
    }
    return apic_reg_read(s, msr - MSR_X2APIC_FIRST, val);
}

bool apic_msr_write(unsigned cpu, uint32_t msr, uint64_t val)
{
    APICState *s = apic_of(cpu);
    unsigned index = msr - MSR_X2APIC_FIRST;

    if (!s) {
        return false;
    }
    if (msr == MSR_IA32_APICBASE) {
        return apic_write_base(s, val);
    }
    if (msr == MSR_IA32_TSC_DEADLINE) {
        if (timer_mode(s) == LVT_TIMER_TSC_DEADLINE) {
            s->tsc_deadline = val;
            apic_timer_arm(s, vclock_now());
        }
        return true;
    }
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !apic_x2apic(s)) {
        return false;
    }
    /* Only the ICR is 64 bits wide; reserved upper halves fault. */
    if (index != REG_ICR_LO && (val >> 32)) {
        return false;
    }
    return apic_reg_write(s, index, val);
}

uint8_t apic_get_cr8(unsigned cpu)
{
    APICState *s = apic_of(cpu);

    return s ? s->tpr >> 4 : 0;
}

void apic_set_cr8(unsigned cpu, uint8_t cr8)
{
    APICState *s = apic_of(cpu);

    if (s) {
        s->tpr = (cr8 & 0xf) << 4;
        apic_update(s);
    }
}

void apic_set_current_cpu(int cpu)
{
    apic_current_cpu = cpu;
}

/* ---- the PIC on LINT0, and the CPU side ---- */

/* The PIC's INT reaches CPU @s through LINT0 as ExtINT (or directly). */
static bool apic_takes_pic(const APICState *s)
{
    uint32_t lint0 = s->lvt[APIC_LVT_LINT0];

    return !apic_hw_enabled(s) ||
           (!(lint0 & LVT_MASKED) && lvt_mode(lint0) == DM_EXTINT);
}

static void apic_pic_int(void *opaque, int n, int level)
{
    for (unsigned i = 0; i < apic_bus.ncpus; i++) {
        APICState *s = apic_bus.cpus[i];
        uint32_t lint0 = s->lvt[APIC_LVT_LINT0];
        bool rise = level && !s->lint0_level;

        s->lint0_level = level;
        if (apic_hw_enabled(s) && !(lint0 & LVT_MASKED) &&
            lvt_mode(lint0) != DM_EXTINT) {
            if (rise) {
                apic_local_deliver(s, APIC_LVT_LINT0);
            } else if (!level && lvt_mode(lint0) == DM_FIXED &&
                       (lint0 & LVT_LEVEL)) {
                bit_clear(s->irr, lint0 & 0xff);
            }
        }
        apic_notify(s);
    }
}

static bool pic_asserts(const APICState *s)
{
    return apic_bus.pic && i8259_int_level(apic_bus.pic) && apic_takes_pic(s);
}

/* Split irqchip: the PIC's INT is CPU 0's ExtINT, injected by kvmpc. */
static bool pic_only_pending(unsigned cpu)
{
    return !apic_bus.active && cpu == 0 && apic_bus.pic &&
           i8259_int_level(apic_bus.pic);
}

bool x86_cpu_intr_pending(unsigned cpu)
{
    APICState *s = apic_of(cpu);

    if (pic_only_pending(cpu)) {
        return true;
    }
    return s && (apic_pending_vector(s) >= 0 || s->extint_msg ||
                 pic_asserts(s));
}

int x86_cpu_ack_interrupt(unsigned cpu)
{
    APICState *s = apic_of(cpu);
    int vector;

    if (pic_only_pending(cpu)) {
        return i8259_read_irq(apic_bus.pic);
    }
    if (!s) {
        return -1;
    }
    vector = apic_pending_vector(s);
    if (vector >= 0) {
        bit_clear(s->irr, vector);
        bit_set(s->isr, vector);
        apic_update(s);
        return vector;
    }
    if (apic_bus.pic && (s->extint_msg || pic_asserts(s))) {
        s->extint_msg = false;
        vector = i8259_read_irq(apic_bus.pic);
        apic_notify(s);
        return vector;
    }
    return -1;
}

unsigned x86_cpu_take_events(unsigned cpu, uint8_t *sipi_vector)
{
    APICState *s = apic_of(cpu);
    unsigned events;

    if (!s) {
        return 0;
    }
    events = s->events;
    s->events = 0;
    if (sipi_vector) {
        *sipi_vector = s->sipi_vector;
    }
    return events;
}

/* ---- the bus ---- */

bool apic_bus_active(void)
{
    return apic_bus.active;
}

unsigned apic_cpu_count(void)
{
    return apic_bus.ncpus;
}

void apic_msi_send(uint64_t addr, uint32_t data)
{
    if (apic_bus.active) {
        apic_deliver_msi(addr, data);
        return;
    }
    if (kvm_enabled()) {
        /* Split irqchip: the LAPICs are KVM's. */
        kvm_irqchip_send_msi(addr, data);
    }
}

static void apic_pic_int_split(void *opaque, int n, int level)
{
    if (x86_cpu_notify_hook) {
        x86_cpu_notify_hook(0);
    }
}

void apic_bus_init_pic_only(DeviceState *pic)
{
    apic_bus.pic = pic;
    apic_bus.pic_int = qemu_allocate_irq(apic_pic_int_split, NULL, 0);
    i8259_set_int_output(pic, apic_bus.pic_int);
}

bool apic_bus_init(unsigned ncpus, const uint32_t *apic_ids,
                   DeviceState *pic, GError **errp)
{
    if (apic_bus.active) {
        error_setg(errp, "apic: the local APICs exist already");
        return false;
    }
    if (ncpus == 0 || ncpus > APIC_MAX_CPUS) {
        error_setg(errp, "apic: %u CPUs (1-%d supported)", ncpus,
                   APIC_MAX_CPUS);
        return false;
    }
    for (unsigned i = 0; i < ncpus; i++) {
        DeviceState *dev = device_new(TYPE_APIC, errp);
        g_autofree char *id = g_strdup_printf("%u", apic_ids[i]);
        g_autofree char *idx = g_strdup_printf("%u", i);

        if (!dev) {
            return false;
        }
        if (!device_set_prop(dev, "apic-id", id, errp) ||
            !device_set_prop(dev, "cpu-index", idx, errp) ||
            !device_realize(dev, errp)) {
            device_destroy(dev);
            return false;
        }
    }
    apic_bus.pic = pic;
    if (pic) {
        apic_bus.pic_int = qemu_allocate_irq(apic_pic_int, NULL, 0);
        i8259_set_int_output(pic, apic_bus.pic_int);
    }
    memory_region_init_io(&apic_bus.window, &apic_window_ops, &apic_bus,
                          "apic-msi", APIC_MSI_WINDOW_SIZE);
    memory_region_add_subregion(get_system_memory(), APIC_DEFAULT_ADDRESS,
                                &apic_bus.window);
    apic_bus.active = true;
    return true;
}

/* ---- device ---- */

static bool apic_realize(DeviceState *dev, GError **errp)
{
    APICState *s = (APICState *)dev;

    if (s->cpu_index >= APIC_MAX_CPUS || apic_bus.cpus[s->cpu_index]) {
        error_setg(errp, "apic: cpu-index %u is out of range or taken",
                   s->cpu_index);
        return false;
    }
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, apic_timer_expired, s);
    apic_bus.cpus[s->cpu_index] = s;
    apic_bus.ncpus = MAX(apic_bus.ncpus, s->cpu_index + 1);
    return true;
}

static void apic_unrealize(DeviceState *dev)
{
    APICState *s = (APICState *)dev;

    timer_free(s->timer);
    s->timer = NULL;
    apic_bus.cpus[s->cpu_index] = NULL;
    while (apic_bus.ncpus && !apic_bus.cpus[apic_bus.ncpus - 1]) {
        apic_bus.ncpus--;
    }
}

static void apic_reset(DeviceState *dev)
{
    APICState *s = (APICState *)dev;
    bool bsp = s->cpu_index == 0;

    s->apicbase = APIC_DEFAULT_ADDRESS | APICBASE_ENABLE |
                  (bsp ? APICBASE_BSP : 0);
    s->xapic_id = s->id & 0xff;
    apic_init_reset(s);
    if (bsp) {
        s->lvt[APIC_LVT_LINT0] = DM_EXTINT << 8;   /* virtual wire */
    }
    s->events = 0;
    s->sipi_vector = 0;
    s->lint0_level = apic_bus.pic && i8259_int_level(apic_bus.pic);
    apic_notify(s);
}

static int apic_post_load(void *opaque, int version_id)
{
    APICState *s = opaque;

    s->apicbase &= 0xfffff000ULL | APICBASE_EXTD | APICBASE_ENABLE;
    s->apicbase |= s->cpu_index == 0 ? APICBASE_BSP : 0;
    if ((s->apicbase & APICBASE_EXTD) && !(s->apicbase & APICBASE_ENABLE)) {
        s->apicbase &= ~APICBASE_EXTD;
    }
    s->xapic_id &= 0xff;
    s->svr &= SVR_WRITABLE;
    for (unsigned i = 0; i < APIC_LVT_NB; i++) {
        s->lvt[i] &= lvt_writable[i] | LVT_REMOTE_IRR;
    }
    s->divide_conf &= 0xb;
    s->icr_lo &= ICR_LO_WRITABLE;
    s->events &= X86_EVENT_NMI | X86_EVENT_SMI | X86_EVENT_INIT |
                 X86_EVENT_SIPI;
    /* the count was loaded in the past of this virtual clock, never
     * before it started: anything else is a corrupt stream */
    if (s->count_load_time < 0 || s->count_load_time > vclock_now()) {
        s->count_load_time = vclock_now();
    }
    apic_timer_arm(s, vclock_now());
    apic_update(s);
    return 0;
}

static const VMStateDescription vmstate_apic = {
    .name = "apic",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = apic_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(apicbase, APICState),
        VMSTATE_UINT32(xapic_id, APICState),
        VMSTATE_UINT8(tpr, APICState),
        VMSTATE_UINT32(svr, APICState),
        VMSTATE_UINT32(ldr, APICState),
        VMSTATE_UINT32(dfr, APICState),
        VMSTATE_UINT32_ARRAY(isr, APICState, 8),
        VMSTATE_UINT32_ARRAY(tmr, APICState, 8),
        VMSTATE_UINT32_ARRAY(irr, APICState, 8),
        VMSTATE_UINT32_ARRAY(lvt, APICState, APIC_LVT_NB),
        VMSTATE_UINT32(esr, APICState),
        VMSTATE_UINT32(esr_pending, APICState),
        VMSTATE_UINT32(icr_lo, APICState),
        VMSTATE_UINT32(icr_hi, APICState),
        VMSTATE_UINT32(divide_conf, APICState),
        VMSTATE_UINT32(initial_count, APICState),
        VMSTATE_INT64(count_load_time, APICState),
        VMSTATE_UINT64(tsc_deadline, APICState),
        VMSTATE_BOOL(timer_expired, APICState),
        VMSTATE_BOOL(lint0_level, APICState),
        VMSTATE_BOOL(extint_msg, APICState),
        VMSTATE_UINT32(events, APICState),
        VMSTATE_UINT8(sipi_vector, APICState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property apic_props[] = {
    DEFINE_PROP("apic-id", APICState, id, PROP_UINT32, "0",
                "initial APIC ID (x2APIC ID)"),
    DEFINE_PROP("cpu-index", APICState, cpu_index, PROP_UINT32, "0",
                "the CPU this LAPIC belongs to (0 is the BSP)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType apic_type = {
    .name = TYPE_APIC,
    .parent = TYPE_DEVICE,
    .desc = "Local APIC (xAPIC and x2APIC; userspace irqchip)",
    .instance_size = sizeof(APICState),
    .props = apic_props,
    .realize = apic_realize,
    .unrealize = apic_unrealize,
    .reset = apic_reset,
    .vmsd = &vmstate_apic,
};

static void apic_register(void)
{
    device_type_register(&apic_type);
}
type_init(apic_register)
