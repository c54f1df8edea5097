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
 * With KVM's in-kernel PIT (kernel_irqchip=on) port 0x61 and channel 2
 * live in the kernel and never reach kvmpc: the machine refuses
 * pcspk-audiodev there with a clear error (docs/audio.md).
 */
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "hw/timer/i8254.h"
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
} PCSpkState;

static void pcspk_cb(void *opaque, int avail)
{
    PCSpkState *s = opaque;
    int16_t buf[512];

    while (avail >= 2) {
        unsigned n = MIN((unsigned)avail / 2, G_N_ELEMENTS(buf));

        for (unsigned i = 0; i < n; i++) {
            buf[i] = (s->phase & (1ull << 31)) ? -PCSPK_AMPLITUDE
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
    I8254Speaker sp;
    bool on;

    if (!i8254_get_speaker(&sp)) {
        return;
    }
    on = sp.gate && sp.data && sp.running && (sp.mode & 3) == 3 &&
         sp.count >= 2;
    if (on) {
        /* frequency PIT_FREQ / count, in periods per output sample */
        s->step = ((uint64_t)PIT_FREQ << 32) / ((uint64_t)sp.count * s->rate);
    }
    if (on != s->on) {
        s->on = on;
        if (on) {
            s->phase = 0;       /* each tone starts on a rising edge */
        }
        AUD_set_active_out(s->voice, on);
    }
}

static bool pcspk_realize(DeviceState *dev, GError **errp)
{
    PCSpkState *s = (PCSpkState *)dev;
    I8254Speaker sp;
    AudioSettings as;

    if (!i8254_get_speaker(&sp)) {
        error_setg(errp, "pcspk-audiodev needs kvmpc's PIT: KVM's "
                   "in-kernel PIT keeps port 0x61 to itself (use "
                   "-machine kernel_irqchip=split)");
        return false;
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
    i8254_set_speaker_listener(pcspk_changed, s);
    return true;
}

static void pcspk_unrealize(DeviceState *dev)
{
    PCSpkState *s = (PCSpkState *)dev;

    i8254_set_speaker_listener(NULL, NULL);
    AUD_close_out(s->audio, s->voice);
}

static void pcspk_reset(DeviceState *dev)
{
    PCSpkState *s = (PCSpkState *)dev;

    s->on = false;
    AUD_set_active_out(s->voice, false);
}

static int pcspk_post_load(void *opaque, int version_id)
{
    pcspk_changed(opaque);
    return 0;
}

static const VMStateDescription vmstate_pcspk = {
    .name = "pcspk",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = pcspk_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(phase, PCSpkState),
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
