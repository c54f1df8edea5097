/*
 * The 8254 programmable interval timer at 0x40-0x43 and port 0x61 (the
 * PC/AT's channel 2 gate and speaker control), in userspace: used when
 * KVM's in-kernel PIT is absent (kernel_irqchip=split|off, -accel qtest).
 *
 * Spec: Intel 82C54 CHMOS Programmable Interval Timer datasheet
 * (231244-006): the control word (SC1-SC0 counter select, RW1-RW0
 * latch / LSB / MSB / LSB then MSB, M2-M0 mode 0-5 with 6 and 7 meaning
 * 2 and 3, BCD), the counter latch command, the read-back command
 * (COUNT/STATUS latch for any set of counters), the status byte (OUTPUT,
 * NULL COUNT, RW, mode, BCD), modes 0 (interrupt on terminal count),
 * 1 (hardware retriggerable one-shot), 2 (rate generator), 3 (square
 * wave), 4 (software triggered strobe), 5 (hardware triggered strobe),
 * and the gate's effect in each.  IBM PC/AT Technical Reference, port
 * 0x61: bit 0 timer 2 gate, bit 1 speaker data, bit 4 refresh detect
 * (toggles), bit 5 timer 2 OUT.
 *
 * Model:
 *   - 1.193182 MHz on the virtual clock; a count of 0 is 65536 (10000 in
 *     BCD).  OUT follows the datasheet's waveforms: mode 2 goes low for
 *     the last clock of each period, mode 3 is high for the first
 *     (N + 1) / 2 clocks, modes 4 and 5 strobe low for one clock at
 *     terminal count.
 *   - Channel 0's OUT drives ISA IRQ 0 (the level follows OUT; the PIC
 *     latches its rising edges).  While the HPET is in legacy
 *     replacement mode it does not (i8254_set_hpet_legacy).
 *   - Reset leaves every channel stopped (see pit_reset).
 *   - The gate: channels 0 and 1 have it tied high; channel 2's is port
 *     0x61 bit 0.  A rising edge starts modes 1 and 5 and restarts 2
 *     and 3; a low gate holds OUT high in modes 2 and 3.  In modes 0 and
 *     4 a low gate does not pause the count (as QEMU's model).
 *   - The refresh detect bit toggles on every read of port 0x61, so a
 *     delay loop waiting for toggles ends (as QEMU does).
 *   - The speaker's sound is hw/audio/pcspk.c's: it listens for changes
 *     of channel 2 and port 0x61 (i8254_set_speaker_listener) and reads
 *     them (i8254_get_speaker).
 */
#include "qemu/osdep.h"
#include "hw/timer/i8254.h"
#include "hw/isa.h"
#include "system/timer.h"

#define PIT_CHANNELS        3
#define RW_LATCH            0
#define RW_LSB              1
#define RW_MSB              2
#define RW_WORD             3
/* Read/write sequence states beyond RW_*: the second byte of a word. */
#define RW_WORD_MSB         4

#define CTRL_READBACK       3
#define READBACK_NO_COUNT   0x20
#define READBACK_NO_STATUS  0x10

#define SPK_GATE            0x01
#define SPK_DATA            0x02
#define SPK_REFRESH         0x10
#define SPK_OUT2            0x20

typedef struct PITChannel {
    uint32_t count;         /* loaded count in binary, 1-65536 */
    int64_t load_time;      /* virtual ns counting (re)started */
    uint16_t latched_count;
    uint8_t count_latched;  /* RW_* of the latched bytes still unread */
    uint8_t status;
    bool status_latched;
    uint8_t read_state;
    uint8_t write_state;
    uint8_t write_latch;
    uint8_t rw_mode;
    uint8_t mode;
    bool bcd;
    bool gate;
    bool null_count;
    bool running;           /* a count is loaded (and triggered: 1, 5) */
    bool irq_level;         /* channel 0: what IRQ 0 was last driven to */
} PITChannel;

typedef struct PITState {
    ISADevice parent;
    PITChannel ch[PIT_CHANNELS];
    bool speaker_data;
    bool refresh;
    bool hpet_legacy;
    QEMUTimer *irq_timer;
    int64_t irq_deadline;   /* the OUT transition irq_timer is set for */
    qemu_irq irq;
    MemoryRegion io, speaker_io;
} PITState;

static PITState *the_pit;
static void (*speaker_listener)(void *opaque);
static void *speaker_listener_opaque;

static void speaker_changed(void)
{
    if (speaker_listener) {
        speaker_listener(speaker_listener_opaque);
    }
}

static int64_t vclock_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

/* ---- counting ---- */

/* Clocks since the count started. */
static uint64_t pit_ticks(const PITChannel *c, int64_t now)
{
    if (now <= c->load_time) {
        return 0;
    }
    return (unsigned __int128)((uint64_t)now - (uint64_t)c->load_time) *
           PIT_FREQ /
           NANOSECONDS_PER_SECOND;
}

/* The virtual time the count reaches @ticks clocks. */
static int64_t pit_time_of(const PITChannel *c, uint64_t ticks)
{
    return c->load_time +
           (int64_t)(((unsigned __int128)ticks * NANOSECONDS_PER_SECOND +
                      PIT_FREQ - 1) / PIT_FREQ);
}

/* The counting element now (binary). */
static uint32_t pit_count_now(const PITChannel *c, int64_t now)
{
    uint64_t d = pit_ticks(c, now);

    if (!c->running) {
        return c->count & 0xffff;
    }
    switch (c->mode) {
    case 2:
        return (c->count - d % c->count) & 0xffff;
    case 3:
        return (c->count - (2 * d) % c->count) & 0xfffe;
    default:
        return (c->count - d) & 0xffff;
    }
}

bool i8254_out(uint8_t mode, uint32_t count, bool gate, bool running,
               uint64_t d)
{
    if (!running) {
        return mode != 0;       /* mode 0 goes low when programmed */
    }
    switch (mode) {
    case 0:
    case 1:
        return d >= count;
    case 2:
        return !gate || d % count != count - 1;
    case 3:
        return !gate || d % count < (count + 1) / 2;
    default:                    /* 4, 5 */
        return d != count;
    }
}

static bool pit_out(const PITChannel *c, int64_t now)
{
    return i8254_out(c->mode, c->count, c->gate, c->running,
                     c->running ? pit_ticks(c, now) : 0);
}

/* Clocks until OUT next changes, from @d; 0: it never does. */
static uint64_t pit_next_transition(const PITChannel *c, uint64_t d)
{
    uint64_t r;

    if (!c->running) {
        return 0;
    }
    switch (c->mode) {
    case 0:
    case 1:
        return d < c->count ? c->count : 0;
    case 2:
        if (!c->gate || c->count < 2) {
            return 0;
        }
        r = d % c->count;
        return d - r + (r < c->count - 1 ? c->count - 1 : c->count);
    case 3:
        if (!c->gate) {
            return 0;
        }
        r = d % c->count;
        return d - r + (r < (c->count + 1) / 2 ? (c->count + 1) / 2
                                                : c->count);
    default:
        return d < c->count ? c->count : d == c->count ? c->count + 1 : 0;
    }
}

/* Channel 0: drive IRQ 0 from OUT and arm for the next change. */
static void pit_irq_update(PITState *s, int64_t now)
{
    PITChannel *c = &s->ch[0];
    uint64_t next;
    bool out;

    if (s->hpet_legacy) {
        timer_del(s->irq_timer);
        return;
    }
    out = pit_out(c, now);
    if (out != c->irq_level) {
        c->irq_level = out;
        qemu_set_irq(s->irq, out);
    }
    next = pit_next_transition(c, pit_ticks(c, now));
    if (next) {
        s->irq_deadline = pit_time_of(c, next);
        timer_mod(s->irq_timer, s->irq_deadline);
    } else {
        timer_del(s->irq_timer);
    }
}

/*
 * OUT is evaluated at the transition the timer was set for, not when the
 * callback runs: mode 2's low pulse lasts one clock (838 ns), far less
 * than a timer's latency on a real clock, so sampling "now" would miss
 * the rising edge that is IRQ 0.  Transitions already due fire one after
 * the other; a backlog older than PIT_MAX_CATCHUP_NS (a loaded host) is
 * dropped rather than replayed.
 */
#define PIT_MAX_CATCHUP_NS  (100 * 1000 * 1000)

static void pit_irq_timer(void *opaque)
{
    PITState *s = opaque;
    int64_t now = vclock_now();

    pit_irq_update(s, MAX(s->irq_deadline, now - PIT_MAX_CATCHUP_NS));
}

static void pit_channel_changed(PITState *s, PITChannel *c, int64_t now)
{
    if (c == &s->ch[0]) {
        pit_irq_update(s, now);
    } else if (c == &s->ch[2]) {
        speaker_changed();
    }
}

static uint32_t bcd_to_bin(uint16_t v)
{
    return (v >> 12) * 1000 + ((v >> 8) & 0xf) * 100 +
           ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

static uint16_t bin_to_bcd(uint32_t v)
{
    v %= 10000;
    return (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
           v % 10;
}

static void pit_load_count(PITState *s, PITChannel *c, uint16_t val)
{
    int64_t now = vclock_now();
    uint32_t n = c->bcd ? bcd_to_bin(val) : val;

    if (n == 0) {
        n = c->bcd ? 10000 : 0x10000;
    }
    c->count = n;
    c->null_count = false;
    c->load_time = now;
    /* Modes 1 and 5 wait for a gate trigger; the others start now. */
    if (c->mode != 1 && c->mode != 5) {
        c->running = true;
    }
    pit_channel_changed(s, c, now);
}

static void pit_set_gate(PITState *s, PITChannel *c, bool gate)
{
    int64_t now = vclock_now();
    bool rise = gate && !c->gate;

    c->gate = gate;
    if (rise && !c->null_count && c->mode >= 1 && c->mode <= 5 &&
        c->mode != 4) {
        c->load_time = now;     /* trigger (1, 5) or restart (2, 3) */
        c->running = true;
    }
    pit_channel_changed(s, c, now);
}

/* ---- ports ---- */

static void pit_latch_count(PITChannel *c)
{
    if (!c->count_latched) {
        uint32_t v = pit_count_now(c, vclock_now());
        c->latched_count = c->bcd ? bin_to_bcd(v) : v;
        c->count_latched = c->rw_mode;
    }
}

static void pit_latch_status(PITChannel *c)
{
    if (!c->status_latched) {
        c->status = (pit_out(c, vclock_now()) << 7) | (c->null_count << 6) |
                    (c->rw_mode << 4) | (c->mode << 1) | c->bcd;
        c->status_latched = true;
    }
}

static void pit_write_control(PITState *s, uint8_t val)
{
    unsigned sel = val >> 6;
    PITChannel *c;

    if (sel == CTRL_READBACK) {
        for (unsigned i = 0; i < PIT_CHANNELS; i++) {
            if (!(val & (2u << i))) {
                continue;
            }
            if (!(val & READBACK_NO_COUNT)) {
                pit_latch_count(&s->ch[i]);
            }
            if (!(val & READBACK_NO_STATUS)) {
                pit_latch_status(&s->ch[i]);
            }
        }
        return;
    }
    c = &s->ch[sel];
    if (((val >> 4) & 3) == RW_LATCH) {
        pit_latch_count(c);
        return;
    }
    c->rw_mode = (val >> 4) & 3;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5) {
        c->mode -= 4;       /* 6, 7 are 2, 3 */
    }
    c->bcd = val & 1;
    c->read_state = c->write_state = c->rw_mode;
    c->null_count = true;
    c->running = false;
    c->count_latched = 0;
    pit_channel_changed(s, c, vclock_now());
}

static void pit_write_counter(PITState *s, PITChannel *c, uint8_t val)
{
    switch (c->write_state) {
    case RW_LSB:
        pit_load_count(s, c, val);
        break;
    case RW_MSB:
        pit_load_count(s, c, val << 8);
        break;
    case RW_WORD:
        /* Mode 0 stops counting when the first byte is written. */
        if (c->mode == 0) {
            c->running = false;
            pit_channel_changed(s, c, vclock_now());
        }
        c->write_latch = val;
        c->write_state = RW_WORD_MSB;
        break;
    case RW_WORD_MSB:
        pit_load_count(s, c, c->write_latch | val << 8);
        c->write_state = RW_WORD;
        break;
    default:
        break;              /* not programmed yet */
    }
}

static uint8_t pit_read_counter(PITChannel *c)
{
    uint32_t v;

    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        switch (c->count_latched) {
        case RW_MSB:
            c->count_latched = 0;
            return c->latched_count >> 8;
        case RW_WORD:
            c->count_latched = RW_MSB;
            return c->latched_count & 0xff;
        default:
            c->count_latched = 0;
            return c->latched_count & 0xff;
        }
    }
    v = pit_count_now(c, vclock_now());
    if (c->bcd) {
        v = bin_to_bcd(v);
    }
    switch (c->read_state) {
    case RW_MSB:
        return v >> 8;
    case RW_WORD:
        c->read_state = RW_WORD_MSB;
        return v & 0xff;
    case RW_WORD_MSB:
        c->read_state = RW_WORD;
        return v >> 8;
    default:
        return v & 0xff;
    }
}

static uint64_t pit_io_read(void *opaque, uint64_t addr, unsigned size)
{
    PITState *s = opaque;

    if (addr == 3) {
        return 0xff;        /* the control word is write-only */
    }
    return pit_read_counter(&s->ch[addr]);
}

static void pit_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    PITState *s = opaque;

    if (addr == 3) {
        pit_write_control(s, val);
    } else {
        pit_write_counter(s, &s->ch[addr], val);
    }
}

static const MemoryRegionOps pit_io_ops = {
    .read = pit_io_read,
    .write = pit_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static uint64_t speaker_read(void *opaque, uint64_t addr, unsigned size)
{
    PITState *s = opaque;
    PITChannel *c2 = &s->ch[2];

    s->refresh = !s->refresh;
    return (c2->gate ? SPK_GATE : 0) | (s->speaker_data ? SPK_DATA : 0) |
           (s->refresh ? SPK_REFRESH : 0) |
           (pit_out(c2, vclock_now()) ? SPK_OUT2 : 0);
}

static void speaker_write(void *opaque, uint64_t addr, uint64_t val,
                          unsigned size)
{
    PITState *s = opaque;

    s->speaker_data = val & SPK_DATA;
    pit_set_gate(s, &s->ch[2], val & SPK_GATE);
    speaker_changed();
}

static const MemoryRegionOps speaker_ops = {
    .read = speaker_read,
    .write = speaker_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- machine interface ---- */

void i8254_set_speaker_listener(void (*fn)(void *opaque), void *opaque)
{
    speaker_listener = fn;
    speaker_listener_opaque = opaque;
}

bool i8254_get_speaker(I8254Speaker *sp)
{
    PITState *s = the_pit;

    if (!s) {
        return false;
    }
    sp->gate = s->ch[2].gate;
    sp->data = s->speaker_data;
    sp->running = s->ch[2].running;
    sp->mode = s->ch[2].mode;
    sp->count = s->ch[2].count;
    return true;
}

void i8254_set_hpet_legacy(bool enable)
{
    PITState *s = the_pit;

    if (!s) {
        return;
    }
    s->hpet_legacy = enable;
    if (enable && s->ch[0].irq_level) {
        s->ch[0].irq_level = false;
        qemu_irq_lower(s->irq);
    }
    pit_irq_update(s, vclock_now());
}

/* ---- device ---- */

static bool pit_realize(DeviceState *dev, GError **errp)
{
    PITState *s = (PITState *)dev;

    if (the_pit) {
        error_setg(errp, "isa-pit: the machine has a PIT already");
        return false;
    }
    memory_region_init_io(&s->io, &pit_io_ops, s, "pit", 4);
    isa_register_ioport(&s->parent, &s->io, PIT_IOBASE);
    memory_region_init_io(&s->speaker_io, &speaker_ops, s, "pcspk", 1);
    isa_register_ioport(&s->parent, &s->speaker_io, PIT_SPEAKER_PORT);
    s->irq = isa_get_irq(0);
    s->irq_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, pit_irq_timer, s);
    the_pit = s;
    return true;
}

static void pit_unrealize(DeviceState *dev)
{
    PITState *s = (PITState *)dev;

    memory_region_destroy(&s->io);
    memory_region_destroy(&s->speaker_io);
    timer_free(s->irq_timer);
    if (the_pit == s) {
        the_pit = NULL;
    }
}

/*
 * As KVM's in-kernel PIT resets (the PIT kvmpc uses by default), not
 * QEMU's: every channel unprogrammed and stopped, OUT low, gates 0 and 1
 * high, 2 low.  Nothing ticks until the guest programs a channel (the
 * datasheet leaves the power-on state undefined; firmware programs
 * channel 0 before it unmasks IRQ 0).
 */
static void pit_reset(DeviceState *dev)
{
    PITState *s = (PITState *)dev;
    int64_t now = vclock_now();

    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        PITChannel *c = &s->ch[i];
        memset(c, 0, sizeof(*c));
        c->rw_mode = c->read_state = c->write_state = RW_WORD;
        c->gate = i != 2;
        c->count = 0x10000;
        c->load_time = now;
        c->null_count = true;
    }
    s->speaker_data = false;
    s->refresh = false;
    s->hpet_legacy = false;
    qemu_irq_lower(s->irq);
    pit_irq_update(s, now);
}

static int pit_post_load(void *opaque, int version_id)
{
    PITState *s = opaque;

    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        PITChannel *c = &s->ch[i];
        if (c->count == 0 || c->count > 0x10000) {
            c->count = 0x10000;
        }
        c->mode %= 6;
        c->rw_mode &= 3;
        if (c->read_state > RW_WORD_MSB) {
            c->read_state = c->rw_mode;
        }
        if (c->write_state > RW_WORD_MSB) {
            c->write_state = c->rw_mode;
        }
        if (c->count_latched > RW_WORD) {
            c->count_latched = 0;
        }
        if (i < 2) {
            c->gate = true;
        }
        /* counting started in this clock's past, never before it began:
         * anything else is a corrupt stream */
        if (c->load_time < 0 || c->load_time > vclock_now()) {
            c->load_time = vclock_now();
        }
    }
    qemu_set_irq(s->irq, s->ch[0].irq_level && !s->hpet_legacy);
    pit_irq_update(s, vclock_now());
    return 0;
}

static const VMStateDescription vmstate_pit_channel = {
    .name = "pit-channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(count, PITChannel),
        VMSTATE_INT64(load_time, PITChannel),
        VMSTATE_UINT16(latched_count, PITChannel),
        VMSTATE_UINT8(count_latched, PITChannel),
        VMSTATE_UINT8(status, PITChannel),
        VMSTATE_BOOL(status_latched, PITChannel),
        VMSTATE_UINT8(read_state, PITChannel),
        VMSTATE_UINT8(write_state, PITChannel),
        VMSTATE_UINT8(write_latch, PITChannel),
        VMSTATE_UINT8(rw_mode, PITChannel),
        VMSTATE_UINT8(mode, PITChannel),
        VMSTATE_BOOL(bcd, PITChannel),
        VMSTATE_BOOL(gate, PITChannel),
        VMSTATE_BOOL(null_count, PITChannel),
        VMSTATE_BOOL(running, PITChannel),
        VMSTATE_BOOL(irq_level, PITChannel),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_pit = {
    .name = "isa-pit",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = pit_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(ch, PITState, PIT_CHANNELS, vmstate_pit_channel,
                             PITChannel),
        VMSTATE_BOOL(speaker_data, PITState),
        VMSTATE_BOOL(refresh, PITState),
        VMSTATE_BOOL(hpet_legacy, PITState),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType pit_type = {
    .name = TYPE_I8254,
    .parent = TYPE_ISA_DEVICE,
    .desc = "8254 PIT with the PC speaker port 0x61 (userspace)",
    .instance_size = sizeof(PITState),
    .realize = pit_realize,
    .unrealize = pit_unrealize,
    .reset = pit_reset,
    .vmsd = &vmstate_pit,
};

static void pit_register(void)
{
    device_type_register(&pit_type);
}
type_init(pit_register)
