/*
 * "isa-pcspk": the PC speaker's sound.  The machine creates it for
 * -machine pcspk-audiodev=ID (or -audio DRIVER,model=pcspk).
 *
 * Spec: IBM PC/AT Technical Reference, port 0x61 (bit 0 timer 2 gate,
 * bit 1 speaker data) and the 8254's channel 2 (hw/timer/i8254.c, which
 * owns port 0x61 and tells this device when it or channel 2 changes).
 *
 * The speaker sounds while the gate and the data bit are both set and
 * channel 2 runs in mode 3 (square wave), at PIT_FREQ / count, as QEMU's;
 * other modes and states are silence.  The square wave is made on the
 * audio timer at the audiodev's out.frequency, mono s16, half amplitude,
 * with a phase accumulator, so its pitch is exact on average.
 *
 * With KVM's in-kernel PIT (kernel_irqchip=on) channel 2 lives in the
 * kernel: KVM then makes the PIT without its dummy speaker, so port 0x61
 * exits to kvmpc and this device serves it, as QEMU's does (bit 0 sets
 * channel 2's gate through KVM_SET_PIT2, bit 1 is latched here, bit 4
 * toggles on each read, bit 5 is channel 2's OUT from KVM_GET_PIT2).
 * The guest programs channel 2 (0x42, 0x43) in the kernel unseen, so
 * while a tone plays each audio period reads channel 2 again and follows
 * a new count or mode within that period (docs/audio.md).
 */
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "hw/timer/i8254.h"
#include "accel/kvm.h"
#include "system/memory.h"
#include "audio/audio.h"

#define TYPE_PCSPK          "isa-pcspk"
#define PCSPK_AMPLITUDE     16384

typedef struct PCSpkState {
    DeviceState parent;
    char *audiodev;

    AudioState *audio;
    SWVoiceOut *voice;
    uint32_t rate;
    uint64_t phase;             /* 32.32 fraction of a period */
    uint64_t step;              /* per output sample */
    bool on;

    /* Port 0x61 beside KVM's in-kernel PIT (kvm_pit_speaker_port()) */
    bool kvm_port;
    MemoryRegion port61;
    bool data;                  /* bit 1, speaker data */
    bool refresh;               /* bit 4, refresh detect */
} PCSpkState;

#define SPK_GATE        0x01
#define SPK_DATA        0x02
#define SPK_REFRESH     0x10
#define SPK_OUT2        0x20

/* Channel 2 and port 0x61 now, from whichever PIT the machine has. */
static bool pcspk_read_state(PCSpkState *s, I8254Speaker *sp)
{
    KvmPitChannel2 c;

    if (!s->kvm_port) {
        return i8254_get_speaker(sp);
    }
    if (!kvm_pit_get_channel2(&c)) {
        return false;
    }
    *sp = (I8254Speaker) { .gate = c.gate, .data = s->data,
                           .running = c.running, .mode = c.mode,
                           .count = c.count };
    return true;
}

/* The tone channel 2 and port 0x61 make: on or off, and its step. */
static bool pcspk_tone(PCSpkState *s, uint64_t *step)
{
    I8254Speaker sp;

    if (!pcspk_read_state(s, &sp) || !sp.gate || !sp.data ||
        !sp.running || (sp.mode & 3) != 3 || sp.count < 2) {
        return false;
    }
    /* frequency PIT_FREQ / count, in periods per output sample */
    *step = ((uint64_t)PIT_FREQ << 32) / ((uint64_t)sp.count * s->rate);
    return true;
}

static void pcspk_cb(void *opaque, int avail)
{
    PCSpkState *s = opaque;
    int16_t buf[512];
    bool sounding = true;

    if (s->kvm_port) {
        /* channel 2 may have been reprogrammed in the kernel */
        sounding = pcspk_tone(s, &s->step);
    }
    while (avail >= 2) {
        unsigned n = MIN((unsigned)avail / 2, G_N_ELEMENTS(buf));

        for (unsigned i = 0; i < n; i++) {
            buf[i] = !sounding ? 0 :
                     (s->phase & (1ull << 31)) ? -PCSPK_AMPLITUDE
                                               : PCSPK_AMPLITUDE;
            s->phase = (s->phase + s->step) & 0xffffffffull;
        }
        AUD_write(s->voice, buf, n * 2);
        avail -= n * 2;
    }
}

/* Port 0x61 or channel 2 changed: start, retune or stop the tone. */
static void pcspk_changed(void *opaque)
{
    PCSpkState *s = opaque;
    bool on = pcspk_tone(s, &s->step);

    if (on != s->on) {
        s->on = on;
        if (on) {
            s->phase = 0;       /* each tone starts on a rising edge */
        }
        AUD_set_active_out(s->voice, on);
    }
}

/* ---- port 0x61 beside KVM's in-kernel PIT ---- */

static uint64_t port61_read(void *opaque, uint64_t addr, unsigned size)
{
    PCSpkState *s = opaque;
    KvmPitChannel2 c;
    uint8_t v;

    s->refresh = !s->refresh;
    v = (s->data ? SPK_DATA : 0) | (s->refresh ? SPK_REFRESH : 0);
    if (kvm_pit_get_channel2(&c)) {
        v |= (c.gate ? SPK_GATE : 0) |
             (i8254_out(c.mode, c.count, c.gate, c.running, c.ticks) ?
              SPK_OUT2 : 0);
    }
    return v;
}

static void port61_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    PCSpkState *s = opaque;

    s->data = val & SPK_DATA;
    kvm_pit_set_channel2_gate(val & SPK_GATE);
    pcspk_changed(s);
}

static const MemoryRegionOps port61_ops = {
    .read = port61_read,
    .write = port61_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool pcspk_realize(DeviceState *dev, GError **errp)
{
    PCSpkState *s = (PCSpkState *)dev;
    I8254Speaker sp;
    AudioSettings as;

    /* kvmpc's 8254 owns port 0x61; beside KVM's PIT this device does */
    if (!i8254_get_speaker(&sp)) {
        s->kvm_port = kvm_pit_speaker_port();
        if (!s->kvm_port) {
            error_setg(errp, "pcspk: the machine's PIT leaves port 0x61 "
                       "to nobody");
            return false;
        }
    }
    s->audio = audio_state_for_device(s->audiodev, TYPE_PCSPK, errp);
    if (!s->audio) {
        return false;
    }
    s->rate = s->audio->out.freq;
    as = (AudioSettings){ s->rate, 1, AUDIO_FORMAT_S16 };
    s->voice = AUD_open_out(s->audio, NULL, "pcspk", s, pcspk_cb, &as);
    if (!s->voice) {
        error_setg(errp, "pcspk: cannot open a voice on '%s'",
                   s->audio->id);
        return false;
    }
    if (s->kvm_port) {
        memory_region_init_io(&s->port61, &port61_ops, s, "pcspk", 1);
        memory_region_add_subregion(get_system_io(), PIT_SPEAKER_PORT,
                                    &s->port61);
    } else {
        i8254_set_speaker_listener(pcspk_changed, s);
    }
    return true;
}

static void pcspk_unrealize(DeviceState *dev)
{
    PCSpkState *s = (PCSpkState *)dev;

    if (s->kvm_port) {
        memory_region_del_subregion(get_system_io(), &s->port61);
        memory_region_destroy(&s->port61);
    } else {
        i8254_set_speaker_listener(NULL, NULL);
    }
    AUD_close_out(s->audio, s->voice);
}

static void pcspk_reset(DeviceState *dev)
{
    PCSpkState *s = (PCSpkState *)dev;

    s->on = false;
    s->data = false;            /* the in-kernel PIT resets its gate */
    AUD_set_active_out(s->voice, false);
}

static int pcspk_post_load(void *opaque, int version_id)
{
    pcspk_changed(opaque);
    return 0;
}

static const VMStateDescription vmstate_pcspk = {
    .name = "pcspk",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = pcspk_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(phase, PCSpkState),
        VMSTATE_BOOL_V(data, PCSpkState, 2),    /* port 0x61 bit 1 (KVM) */
        VMSTATE_END_OF_LIST()
    },
};

static const Property pcspk_props[] = {
    DEFINE_PROP("audiodev", PCSpkState, audiodev, PROP_STRING, NULL,
                "audiodev id (-machine pcspk-audiodev= sets it)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType pcspk_type = {
    .name = TYPE_PCSPK,
    .parent = TYPE_DEVICE,
    .desc = "PC speaker",
    .instance_size = sizeof(PCSpkState),
    .category = DEVICE_CATEGORY_SOUND,
    .props = pcspk_props,
    .realize = pcspk_realize,
    .unrealize = pcspk_unrealize,
    .reset = pcspk_reset,
    .vmsd = &vmstate_pcspk,
};

static void pcspk_register_types(void)
{
    device_type_register(&pcspk_type);
}
type_init(pcspk_register_types)
