/*
 * The "spice" audio back end (-audiodev spice,id=ID, needs -spice):
 * playback and capture through libspice-server's playback and record
 * channels (spice-audio.h: SpicePlaybackInterface, SpiceRecordInterface),
 * as QEMU's audio/spiceaudio.c.
 *
 * The server carries 16-bit stereo at the rate it prefers
 * (spice_server_get_best_playback_rate: 44100 Hz, or 48000 with Opus), so
 * the audiodev runs at that rate whatever out.* / in.* say; the mixing
 * layer converts each voice to it.  Each audio tick's frames are copied
 * into the buffers the server lends (spice_server_playback_get_buffer)
 * and handed back full (put_samples); with no client connected the server
 * lends none and the frames are dropped, as a sound card without speakers.
 * The channel is started when the first voice plays and stopped when the
 * last one stops (the client sees PLAYBACK_START / PLAYBACK_STOP).
 * Capture reads what the client recorded (record_get_samples); what it
 * did not send is silence.
 */
#define UI_SPICE_INTERNAL
#include "qemu/osdep.h"
#include "audio/audio.h"
#include "ui/spice.h"

typedef struct SpiceAudio {
    SpicePlaybackInstance play;
    SpiceRecordInstance rec;
    uint32_t *frame;            /* the buffer the server lent, or NULL */
    uint32_t frame_len, frame_pos;  /* in stereo s16 frames */
    bool playing, recording;
} SpiceAudio;

/*
 * The instances libspice-server holds until it goes (at exit): kept
 * reachable here, since an interface cannot be taken back from it.
 */
static GSList *spice_audio_instances;

static const SpicePlaybackInterface playback_sif = {
    .base.type = SPICE_INTERFACE_PLAYBACK,
    .base.description = "playback",
    .base.major_version = SPICE_INTERFACE_PLAYBACK_MAJOR,
    .base.minor_version = SPICE_INTERFACE_PLAYBACK_MINOR,
};

static const SpiceRecordInterface record_sif = {
    .base.type = SPICE_INTERFACE_RECORD,
    .base.description = "record",
    .base.major_version = SPICE_INTERFACE_RECORD_MAJOR,
    .base.minor_version = SPICE_INTERFACE_RECORD_MINOR,
};

static bool spice_audio_init(AudioState *s, GHashTable *props, GError **errp)
{
    SpiceAudio *sa;
    uint32_t rate;

    if (!qemu_spice_server()) {
        error_setg(errp, "spice: -audiodev spice needs -spice");
        return false;
    }
    sa = g_new0(SpiceAudio, 1);
    sa->play.base.sif = &playback_sif.base;
    sa->rec.base.sif = &record_sif.base;
    /* never freed: the server may hold it even when an add failed */
    spice_audio_instances = g_slist_prepend(spice_audio_instances, sa);
    if (!qemu_spice_add_interface(&sa->play.base, errp) ||
        !qemu_spice_add_interface(&sa->rec.base, errp)) {
        return false;
    }
    rate = spice_server_get_best_playback_rate(&sa->play);
    spice_server_set_playback_rate(&sa->play, rate);
    spice_server_set_record_rate(&sa->rec,
                                 spice_server_get_best_record_rate(&sa->rec));
    /* what the channels carry, whatever was asked */
    s->out = (AudioSettings){ rate, SPICE_INTERFACE_PLAYBACK_CHAN,
                              AUDIO_FORMAT_S16 };
    s->in = (AudioSettings){ spice_server_get_best_record_rate(&sa->rec),
                             SPICE_INTERFACE_RECORD_CHAN, AUDIO_FORMAT_S16 };
    s->drv_opaque = sa;
    return true;
}

static size_t spice_audio_write(AudioState *s, const void *buf, size_t n)
{
    SpiceAudio *sa = s->drv_opaque;
    const uint32_t *src = buf;      /* one stereo s16 frame each */
    size_t left = n;

    while (left) {
        size_t chunk;

        if (!sa->frame) {
            spice_server_playback_get_buffer(&sa->play, &sa->frame,
                                             &sa->frame_len);
            sa->frame_pos = 0;
            if (!sa->frame || !sa->frame_len) {
                sa->frame = NULL;
                break;      /* no client: nowhere to play */
            }
        }
        chunk = MIN(left, (size_t)(sa->frame_len - sa->frame_pos));
        memcpy(sa->frame + sa->frame_pos, src, chunk * 4);
        sa->frame_pos += chunk;
        src += chunk;
        left -= chunk;
        if (sa->frame_pos == sa->frame_len) {
            spice_server_playback_put_samples(&sa->play, sa->frame);
            sa->frame = NULL;
        }
    }
    return n;
}

static size_t spice_audio_read(AudioState *s, void *buf, size_t n)
{
    SpiceAudio *sa = s->drv_opaque;

    if (!sa->recording) {
        return 0;
    }
    return spice_server_record_get_samples(&sa->rec, buf, n);
}

static void spice_audio_enable_out(AudioState *s, bool on)
{
    SpiceAudio *sa = s->drv_opaque;

    if (on == sa->playing) {
        return;
    }
    sa->playing = on;
    if (on) {
        spice_server_playback_start(&sa->play);
        return;
    }
    /* a partly filled buffer goes out padded with silence */
    if (sa->frame) {
        memset(sa->frame + sa->frame_pos, 0,
               (sa->frame_len - sa->frame_pos) * 4);
        spice_server_playback_put_samples(&sa->play, sa->frame);
        sa->frame = NULL;
    }
    spice_server_playback_stop(&sa->play);
}

static void spice_audio_enable_in(AudioState *s, bool on)
{
    SpiceAudio *sa = s->drv_opaque;

    if (on == sa->recording) {
        return;
    }
    sa->recording = on;
    if (on) {
        spice_server_record_start(&sa->rec);
    } else {
        spice_server_record_stop(&sa->rec);
    }
}

static void spice_audio_fini(AudioState *s)
{
    SpiceAudio *sa = s->drv_opaque;

    if (!sa) {
        return;
    }
    spice_audio_enable_out(s, false);
    spice_audio_enable_in(s, false);
    /* the interfaces stay with the server until it goes: so does sa
     * (spice_audio_instances) */
    s->drv_opaque = NULL;
}

static const AudioDriver spice_audio_driver = {
    .name = "spice",
    .init = spice_audio_init,
    .write = spice_audio_write,
    .read = spice_audio_read,
    .enable_out = spice_audio_enable_out,
    .enable_in = spice_audio_enable_in,
    .fini = spice_audio_fini,
};

static void __attribute__((constructor)) audio_spice_register(void)
{
    audio_driver_register(&spice_audio_driver);
}
