/*
 * HD Audio codecs on the HDA bus: "hda-duplex" (line out, line in),
 * "hda-output" (line out), "hda-micro" (speaker, microphone), with the
 * widget graph of QEMU's codecs, feeding audio voices.
 *
 * Spec: Intel High Definition Audio Specification 1.0a, section 7.3
 * (verbs: Get Parameter F00 with the parameters 00 vendor ID, 02
 * revision, 04 subordinate node count, 05 function group type, 08 audio
 * FG capabilities, 09 audio widget capabilities, 0A supported PCM sizes
 * and rates, 0B supported stream formats, 0C pin capabilities, 0D input
 * amp capabilities, 0E connection list length, 0F supported power
 * states, 11 GPIO count, 12 output amp capabilities; connection select
 * F01/701, connection list entry F02, power state F05/705, converter
 * stream and channel F06/706, converter format A/2, amplifier gain/mute
 * B/3, pin widget control F07/707, unsolicited response F08/708, pin
 * sense F09, EAPD/BTL F0C/70C, configuration default F1C/71C-71F,
 * subsystem ID F20, function reset 7FF).
 *
 * Nodes: 0 root, 1 audio function group, then per codec
 *   hda-duplex  2 DAC "dac", 3 pin "out" (line out, from 2),
 *               4 ADC "adc" (from 5), 5 pin "in" (line in)
 *   hda-output  2 DAC, 3 pin "out"
 *   hda-micro   as duplex with a speaker and a microphone pin.
 * Converters take a stream tag and a format; when the controller runs a
 * stream with that tag, the converter's voice (audiodev=) plays or
 * records it, with the converter's amplifier as the voice's volume
 * (74 steps of 1 dB, 0 dB at the top, as QEMU's mixer).  Pins have
 * presence detect and always report a jack present; enabling unsolicited
 * responses on a pin (708) sends one with the tag and the present state,
 * as a jack that was plugged in all along announces itself.  Not
 * modelled: pin widget control gating the sound (QEMU ignores it too),
 * EAPD effects, processing widgets, mixer=off's passthrough volume.
 */
#include "qemu/osdep.h"
#include <math.h>
#include "hw/audio/hda.h"
#include "audio/audio.h"

#define HDA_MAX_NODES       6

/* widget types and capability bits (audio widget capabilities) */
#define WID_AUD_OUT         0x0
#define WID_AUD_IN          0x1
#define WID_PIN             0x4
#define WCAP_STEREO         (1u << 0)
#define WCAP_IN_AMP         (1u << 1)
#define WCAP_OUT_AMP        (1u << 2)
#define WCAP_AMP_OVRD       (1u << 3)
#define WCAP_FORMAT_OVRD    (1u << 4)
#define WCAP_UNSOL_CAP      (1u << 7)
#define WCAP_CONN_LIST      (1u << 8)
#define PINCAP_PRES_DETECT  (1u << 2)
#define PINCAP_OUT          (1u << 4)
#define PINCAP_IN           (1u << 5)

/* parameters */
#define PARAM_VENDOR_ID     0x00
#define PARAM_REV_ID        0x02
#define PARAM_NODE_COUNT    0x04
#define PARAM_FG_TYPE       0x05
#define PARAM_AUDIO_FG_CAP  0x08
#define PARAM_AUDIO_WCAP    0x09
#define PARAM_PCM           0x0a
#define PARAM_STREAM_FMTS   0x0b
#define PARAM_PIN_CAP       0x0c
#define PARAM_AMP_IN_CAP    0x0d
#define PARAM_CONN_LEN      0x0e
#define PARAM_POWER_STATES  0x0f
#define PARAM_GPIO_CAP      0x11
#define PARAM_AMP_OUT_CAP   0x12

/* 44.1 and 48 kHz (and 8 to 192 kHz), 8/16/20/24/32 bit */
#define PCM_RATES           0x7ff
#define PCM_BITS            (0x1fu << 16)
#define AMP_STEPS           0x4a
#define AMP_CAPS            ((1u << 31) | (3u << 16) | (AMP_STEPS << 8) | \
                             AMP_STEPS)
#define HDA_REV_ID          0x00100101
#define HDA_SUBSYSTEM_ID    0x1af40100

typedef struct HDANodeDesc {
    const char *name;
    uint8_t type;               /* WID_* */
    uint32_t wcaps;             /* capability bits besides the type */
    uint32_t pincaps;
    uint32_t config;            /* configuration default */
    uint8_t conn;               /* the one connection, 0 = none */
} HDANodeDesc;

typedef struct HDACodecDesc {
    const char *type;
    uint32_t vendor_id;
    unsigned nnodes;            /* widgets, from NID 2 */
    HDANodeDesc nodes[HDA_MAX_NODES - 2];
} HDACodecDesc;

#define DAC_CAPS    (WCAP_FORMAT_OVRD | WCAP_AMP_OVRD | WCAP_OUT_AMP | \
                     WCAP_STEREO)
#define ADC_CAPS    (WCAP_FORMAT_OVRD | WCAP_AMP_OVRD | WCAP_IN_AMP | \
                     WCAP_CONN_LIST | WCAP_STEREO)
#define OUTPIN_CAPS (WCAP_CONN_LIST | WCAP_UNSOL_CAP | WCAP_STEREO)
#define INPIN_CAPS  (WCAP_UNSOL_CAP | WCAP_STEREO)

static const HDACodecDesc duplex_desc = {
    "hda-duplex", 0x1af40022, 4, {
        { "dac", WID_AUD_OUT, DAC_CAPS, 0, 0, 0 },
        { "out", WID_PIN, OUTPIN_CAPS, PINCAP_OUT | PINCAP_PRES_DETECT,
          0x01014010, 2 },                  /* line out, green, rear */
        { "adc", WID_AUD_IN, ADC_CAPS, 0, 0, 5 },
        { "in", WID_PIN, INPIN_CAPS, PINCAP_IN | PINCAP_PRES_DETECT,
          0x01813020, 0 },                  /* line in, blue, rear */
    },
};

static const HDACodecDesc output_desc = {
    "hda-output", 0x1af40012, 2, {
        { "dac", WID_AUD_OUT, DAC_CAPS, 0, 0, 0 },
        { "out", WID_PIN, OUTPIN_CAPS, PINCAP_OUT | PINCAP_PRES_DETECT,
          0x01014010, 2 },
    },
};

static const HDACodecDesc micro_desc = {
    "hda-micro", 0x1af40032, 4, {
        { "dac", WID_AUD_OUT, DAC_CAPS, 0, 0, 0 },
        { "out", WID_PIN, OUTPIN_CAPS, PINCAP_OUT | PINCAP_PRES_DETECT,
          0x01011110, 2 },                  /* speaker, black, rear */
        { "adc", WID_AUD_IN, ADC_CAPS, 0, 0, 5 },
        { "in", WID_PIN, INPIN_CAPS, PINCAP_IN | PINCAP_PRES_DETECT,
          0x01a19030, 0 },                  /* microphone, pink, rear */
    },
};

typedef struct HDAAudioState {
    HDACodecDevice parent;
    /* properties */
    char *audiodev;
    bool mixer;
    bool use_timer;

    const HDACodecDesc *desc;
    AudioState *audio;
    /* per node (index = NID) */
    uint32_t stream_ch[HDA_MAX_NODES];  /* 706: stream tag << 4 | channel */
    uint32_t format[HDA_MAX_NODES];     /* 2 */
    uint32_t amp[HDA_MAX_NODES][2];     /* 3: [left, right] mute|gain */
    uint32_t pinctl[HDA_MAX_NODES];
    uint32_t unsol[HDA_MAX_NODES];
    uint32_t eapd[HDA_MAX_NODES];
    uint32_t config[HDA_MAX_NODES];
    uint32_t power[HDA_MAX_NODES];
    uint8_t running[HDA_MAX_NODES];     /* the converter's stream runs */
    SWVoiceOut *voice_out;              /* the DAC's */
    SWVoiceIn *voice_in;                /* the ADC's */
    uint8_t dac_nid, adc_nid;
    uint32_t pending_unsol;             /* sent after the verb's answer */
    bool has_pending_unsol;
} HDAAudioState;

static const HDANodeDesc *node_desc(HDAAudioState *a, uint32_t nid)
{
    if (nid < 2 || nid >= 2 + a->desc->nnodes) {
        return NULL;
    }
    return &a->desc->nodes[nid - 2];
}

static uint32_t node_wcaps(HDAAudioState *a, const HDANodeDesc *n)
{
    uint32_t caps = n->wcaps;

    if (!a->mixer) {
        caps &= ~(WCAP_IN_AMP | WCAP_OUT_AMP | WCAP_AMP_OVRD);
    }
    return (uint32_t)n->type << 20 | caps;
}

/* ---- formats and voices ------------------------------------------------ */

/* SDnFMT / converter format -> voice settings; false for non-PCM. */
static bool hda_format_to_settings(uint32_t fmt, AudioSettings *as)
{
    uint32_t base = fmt & (1u << 14) ? 44100 : 48000;
    uint32_t mult = MIN(((fmt >> 11) & 7) + 1, 4);
    uint32_t div = ((fmt >> 8) & 7) + 1;

    if (fmt & (1u << 15)) {
        return false;           /* non-PCM */
    }
    as->freq = base * mult / div;
    as->nchannels = MIN((fmt & 0xf) + 1, AUDIO_MAX_CHANNELS);
    switch ((fmt >> 4) & 7) {
    case 0:
        as->fmt = AUDIO_FORMAT_U8;
        break;
    case 1:
        as->fmt = AUDIO_FORMAT_S16;
        break;
    default:
        /* 20, 24 and 32 bits live in 32-bit containers, MSB aligned */
        as->fmt = AUDIO_FORMAT_S32;
        break;
    }
    return true;
}

/* Amplifier setting (mute bit 7, gain 6:0) -> linear gain. */
static float amp_gain(uint32_t v)
{
    int g = MIN(v & 0x7f, AMP_STEPS);

    if (v & 0x80) {
        return 0.0f;
    }
    return g == AMP_STEPS ? 1.0f : powf(10.0f, (g - AMP_STEPS) / 20.0f);
}

static void hda_update_volume(HDAAudioState *a)
{
    uint8_t n = a->dac_nid;

    AUD_set_volume_out(a->voice_out, false, amp_gain(a->amp[n][0]),
                       amp_gain(a->amp[n][1]));
}

static void hda_out_cb(void *opaque, int avail)
{
    HDAAudioState *a = opaque;
    uint8_t buf[4096];
    AudioSettings as;
    unsigned fb;
    uint32_t stnr = a->stream_ch[a->dac_nid] >> 4 & 0xf;

    if (!hda_format_to_settings(a->format[a->dac_nid], &as)) {
        return;
    }
    fb = audio_frame_bytes(&as);
    while (avail >= (int)fb && a->running[a->dac_nid]) {
        uint32_t n = MIN((uint32_t)avail, sizeof(buf));

        n -= n % fb;
        if (!hda_codec_xfer(&a->parent, stnr, true, buf, n)) {
            break;
        }
        AUD_write(a->voice_out, buf, n);
        avail -= n;
    }
}

static void hda_in_cb(void *opaque, int avail)
{
    HDAAudioState *a = opaque;
    uint8_t buf[4096];
    uint32_t stnr = a->stream_ch[a->adc_nid] >> 4 & 0xf;

    while (avail > 0 && a->running[a->adc_nid]) {
        size_t n = AUD_read(a->voice_in, buf, MIN((size_t)avail,
                                                  sizeof(buf)));

        if (!n || !hda_codec_xfer(&a->parent, stnr, false, buf, n)) {
            break;
        }
        avail -= n;
    }
}

/* (Re)open converter @nid's voice for its format; run it if @on. */
static void hda_converter_run(HDAAudioState *a, uint32_t nid, bool on)
{
    const HDANodeDesc *n = node_desc(a, nid);
    AudioSettings as;
    g_autofree char *name = NULL;

    if (!n || (n->type != WID_AUD_OUT && n->type != WID_AUD_IN)) {
        return;
    }
    a->running[nid] = on;
    if (!hda_format_to_settings(a->format[nid], &as)) {
        on = false;
    }
    name = g_strdup_printf("%s.%s", a->desc->type, n->name);
    if (n->type == WID_AUD_OUT) {
        if (on) {
            a->voice_out = AUD_open_out(a->audio, a->voice_out, name, a,
                                        hda_out_cb, &as);
            hda_update_volume(a);
        }
        AUD_set_active_out(a->voice_out, on);
    } else {
        if (on) {
            a->voice_in = AUD_open_in(a->audio, a->voice_in, name, a,
                                      hda_in_cb, &as);
        }
        AUD_set_active_in(a->voice_in, on);
    }
}

static void hda_codec_stream(HDACodecDevice *dev, uint32_t stnr, bool running,
                             bool output)
{
    HDAAudioState *a = (HDAAudioState *)dev;
    uint32_t nid = output ? a->dac_nid : a->adc_nid;

    if (!nid || (a->stream_ch[nid] >> 4 & 0xf) != stnr) {
        return;
    }
    hda_converter_run(a, nid, running);
}

/* ---- verbs ------------------------------------------------------------- */

static uint32_t get_parameter(HDAAudioState *a, uint32_t nid, uint32_t p)
{
    const HDANodeDesc *n = node_desc(a, nid);

    if (nid == 0) {
        switch (p) {
        case PARAM_VENDOR_ID:
            return a->desc->vendor_id;
        case PARAM_REV_ID:
            return HDA_REV_ID;
        case PARAM_NODE_COUNT:
            return 1u << 16 | 1;        /* the AFG, NID 1 */
        }
        return 0;
    }
    if (nid == 1) {
        switch (p) {
        case PARAM_NODE_COUNT:
            return 2u << 16 | a->desc->nnodes;
        case PARAM_FG_TYPE:
            return 1u << 8 | 0x01;      /* audio, unsolicited capable */
        case PARAM_AUDIO_FG_CAP:
            return 0;
        case PARAM_PCM:
            return PCM_BITS | PCM_RATES;
        case PARAM_STREAM_FMTS:
            return 1;                   /* PCM */
        case PARAM_AMP_OUT_CAP:
        case PARAM_AMP_IN_CAP:
            return a->mixer ? AMP_CAPS : 0;
        case PARAM_POWER_STATES:
            return 0xf;
        case PARAM_GPIO_CAP:
            return 0;
        }
        return 0;
    }
    if (!n) {
        return 0;
    }
    switch (p) {
    case PARAM_AUDIO_WCAP:
        return node_wcaps(a, n);
    case PARAM_PCM:
        return n->type == WID_PIN ? 0 : PCM_BITS | PCM_RATES;
    case PARAM_STREAM_FMTS:
        return n->type == WID_PIN ? 0 : 1;
    case PARAM_PIN_CAP:
        return n->pincaps;
    case PARAM_AMP_IN_CAP:
        return a->mixer && (n->wcaps & WCAP_IN_AMP) ? AMP_CAPS : 0;
    case PARAM_AMP_OUT_CAP:
        return a->mixer && (n->wcaps & WCAP_OUT_AMP) ? AMP_CAPS : 0;
    case PARAM_CONN_LEN:
        return n->conn ? 1 : 0;
    case PARAM_POWER_STATES:
        return 0xf;
    }
    return 0;
}

/* 3: set amplifier gain/mute (payload bits: 15 out, 14 in, 13 left,
 * 12 right, 11:8 index, 7 mute, 6:0 gain). */
static void set_amp(HDAAudioState *a, uint32_t nid, uint32_t payload)
{
    const HDANodeDesc *n = node_desc(a, nid);
    bool out = payload & (1u << 15), in = payload & (1u << 14);
    uint32_t v = payload & 0xff;

    if (!n || !a->mixer || ((payload >> 8) & 0xf)) {
        return;                         /* one amp per widget, index 0 */
    }
    if ((out && (n->wcaps & WCAP_OUT_AMP)) ||
        (in && (n->wcaps & WCAP_IN_AMP))) {
        if ((v & 0x7f) > AMP_STEPS) {
            v = (v & 0x80) | AMP_STEPS;
        }
        if (payload & (1u << 13)) {
            a->amp[nid][0] = v;
        }
        if (payload & (1u << 12)) {
            a->amp[nid][1] = v;
        }
        if (nid == a->dac_nid) {
            hda_update_volume(a);
        }
    }
}

static void hda_node_defaults(HDAAudioState *a)
{
    for (uint32_t nid = 0; nid < HDA_MAX_NODES; nid++) {
        const HDANodeDesc *n = node_desc(a, nid);

        a->stream_ch[nid] = 0;
        a->format[nid] = 0x11;          /* 48 kHz, 16 bit, stereo */
        a->amp[nid][0] = a->amp[nid][1] = AMP_STEPS;
        a->pinctl[nid] = n && n->type == WID_PIN ?
                         (n->pincaps & PINCAP_OUT ? 0x40 : 0x20) : 0;
        a->unsol[nid] = 0;
        a->eapd[nid] = 0;
        a->config[nid] = n ? n->config : 0;
        a->power[nid] = 0;
    }
}

static uint32_t hda_verb(HDAAudioState *a, uint32_t nid, uint32_t verb20)
{
    const HDANodeDesc *n = node_desc(a, nid);
    uint32_t v4 = verb20 >> 16, payload16 = verb20 & 0xffff;
    uint32_t v12 = verb20 >> 8, payload = verb20 & 0xff;

    if (nid >= HDA_MAX_NODES) {
        return 0;
    }
    /* the four verbs with a 16-bit payload */
    switch (v4) {
    case 0x2:                           /* set converter format */
        if (n && n->type != WID_PIN) {
            a->format[nid] = payload16;
            if (a->running[nid]) {
                hda_converter_run(a, nid, true);
            }
        }
        return 0;
    case 0xa:                           /* get converter format */
        return n && n->type != WID_PIN ? a->format[nid] : 0;
    case 0x3:
        set_amp(a, nid, payload16);
        return 0;
    case 0xb: {                         /* get amplifier gain/mute */
        bool out = payload16 & (1u << 15), left = payload16 & (1u << 13);

        if (!n || !a->mixer ||
            !(n->wcaps & (out ? WCAP_OUT_AMP : WCAP_IN_AMP))) {
            return 0;
        }
        return a->amp[nid][left ? 0 : 1];
    }
    }
    switch (v12) {
    case 0xf00:
        return get_parameter(a, nid, payload);
    case 0xf01:
    case 0x701:
        return 0;                       /* one connection: index 0 */
    case 0xf02:                         /* connection list entries */
        return n && n->conn && payload == 0 ? n->conn : 0;
    case 0xf05:
        return a->power[nid] << 4 | a->power[nid];
    case 0x705:
        a->power[nid] = payload & 0xf;
        return 0;
    case 0xf06:
        return a->stream_ch[nid];
    case 0x706:
        if (n && n->type != WID_PIN) {
            a->stream_ch[nid] = payload;
        }
        return 0;
    case 0xf07:
        return a->pinctl[nid];
    case 0x707:
        if (n && n->type == WID_PIN) {
            a->pinctl[nid] = payload;
        }
        return 0;
    case 0xf08:
        return a->unsol[nid];
    case 0x708:
        if (n && n->type == WID_PIN) {
            bool was = a->unsol[nid] & 0x80;

            a->unsol[nid] = payload & 0xbf;
            if (!was && (payload & 0x80) &&
                (n->pincaps & PINCAP_PRES_DETECT)) {
                /* after the answer: the jack is present (tag 31:26) */
                a->pending_unsol = (payload & 0x3f) << 26 | 1u;
                a->has_pending_unsol = true;
            }
        }
        return 0;
    case 0xf09:                         /* pin sense: presence detect */
        return n && (n->pincaps & PINCAP_PRES_DETECT) ? 1u << 31 : 0;
    case 0xf0c:
        return a->eapd[nid];
    case 0x70c:
        a->eapd[nid] = payload & 0x7;
        return 0;
    case 0xf1c:
        return a->config[nid];
    case 0x71c:
    case 0x71d:
    case 0x71e:
    case 0x71f:
        if (n && n->type == WID_PIN) {
            unsigned sh = (v12 - 0x71c) * 8;

            a->config[nid] = (a->config[nid] & ~(0xffu << sh)) |
                             payload << sh;
        }
        return 0;
    case 0xf20:
        return nid == 1 ? HDA_SUBSYSTEM_ID : 0;
    case 0x7ff:                         /* function group reset */
        if (nid == 1) {
            for (uint32_t i = 0; i < HDA_MAX_NODES; i++) {
                hda_converter_run(a, i, false);
            }
            hda_node_defaults(a);
        }
        return 0;
    }
    return 0;                           /* unsupported: 0, as codecs do */
}

static void hda_codec_command(HDACodecDevice *dev, uint32_t nid, uint32_t verb)
{
    HDAAudioState *a = (HDAAudioState *)dev;
    uint32_t r = hda_verb(a, nid, verb);

    hda_codec_response(dev, true, r);
    if (a->has_pending_unsol) {
        a->has_pending_unsol = false;
        hda_codec_response(dev, false, a->pending_unsol);
    }
}

static const HDACodecOps hda_audio_ops = {
    .command = hda_codec_command,
    .stream = hda_codec_stream,
};

/* ---- life cycle -------------------------------------------------------- */

static bool hda_audio_realize(DeviceState *dev, GError **errp)
{
    HDAAudioState *a = (HDAAudioState *)dev;
    const char *t = dev->type->name;

    a->desc = !strcmp(t, "hda-output") ? &output_desc :
              !strcmp(t, "hda-micro") ? &micro_desc : &duplex_desc;
    a->audio = audio_state_for_device(a->audiodev, t, errp);
    if (!a->audio) {
        return false;
    }
    a->dac_nid = 2;
    a->adc_nid = a->desc->nnodes > 2 ? 4 : 0;
    a->parent.ops = &hda_audio_ops;
    hda_node_defaults(a);
    return true;
}

static void hda_audio_unrealize(DeviceState *dev)
{
    HDAAudioState *a = (HDAAudioState *)dev;

    AUD_close_out(a->audio, a->voice_out);
    AUD_close_in(a->audio, a->voice_in);
    a->voice_out = NULL;
    a->voice_in = NULL;
}

static void hda_audio_reset(DeviceState *dev)
{
    HDAAudioState *a = (HDAAudioState *)dev;

    for (uint32_t i = 0; i < HDA_MAX_NODES; i++) {
        hda_converter_run(a, i, false);
    }
    hda_node_defaults(a);
}

static int hda_audio_post_load(void *opaque, int version_id)
{
    HDAAudioState *a = opaque;

    for (uint32_t i = 0; i < HDA_MAX_NODES; i++) {
        if (a->running[i] > 1) {
            return -1;
        }
        hda_converter_run(a, i, a->running[i]);
    }
    hda_update_volume(a);
    return 0;
}

static const VMStateDescription vmstate_hda_audio = {
    .name = "hda-audio",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hda_audio_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_ARRAY(stream_ch, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT32_ARRAY(format, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT32_ARRAY(amp, HDAAudioState, HDA_MAX_NODES * 2),
        VMSTATE_UINT32_ARRAY(pinctl, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT32_ARRAY(unsol, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT32_ARRAY(eapd, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT32_ARRAY(config, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT32_ARRAY(power, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_UINT8_ARRAY(running, HDAAudioState, HDA_MAX_NODES),
        VMSTATE_END_OF_LIST()
    },
};

static const Property hda_audio_props[] = {
    DEFINE_PROP("audiodev", HDAAudioState, audiodev, PROP_STRING, NULL,
                "audiodev id (default: the only one, else none)"),
    DEFINE_PROP("mixer", HDAAudioState, mixer, PROP_BOOL, "on",
                "amplifiers the guest controls (off: none exposed)"),
    DEFINE_PROP("use-timer", HDAAudioState, use_timer, PROP_BOOL, "on",
                "accepted for QEMU compatibility: DMA is always paced by "
                "the audio timer"),
    DEFINE_PROP_END_OF_LIST(),
};

#define HDA_AUDIO_TYPE(tname, d) \
    { .name = tname, .parent = TYPE_HDA_CODEC, .desc = d, \
      .instance_size = sizeof(HDAAudioState), .user_creatable = true, \
      .category = DEVICE_CATEGORY_SOUND, .props = hda_audio_props, \
      .realize = hda_audio_realize, .unrealize = hda_audio_unrealize, \
      .reset = hda_audio_reset, .vmsd = &vmstate_hda_audio }

static const DeviceType hda_audio_types[] = {
    HDA_AUDIO_TYPE("hda-duplex", "HDA Audio Codec, duplex (line-out, "
                   "line-in)"),
    HDA_AUDIO_TYPE("hda-output", "HDA Audio Codec, output-only (line-out)"),
    HDA_AUDIO_TYPE("hda-micro", "HDA Audio Codec, duplex (speaker, "
                   "microphone)"),
};

static void hda_audio_register_types(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(hda_audio_types); i++) {
        device_type_register(&hda_audio_types[i]);
    }
}
type_init(hda_audio_register_types)
