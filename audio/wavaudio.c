/*
 * The "wav" audio back end: playback goes to a RIFF/WAVE file
 * (-audiodev wav,id=ID,path=FILE, default "qemu.wav"), recording is
 * silence.  The file has the audiodev's out.frequency / out.channels /
 * out.format: u8, s16 and s32 as PCM (format tag 1), f32 as IEEE float
 * (tag 3); the other formats have no WAVE form and are refused.
 *
 * The header's two sizes are rewritten after every write, not only when
 * the back end closes, so the file is a valid WAVE file whenever the
 * emulator stops writing, even if it is killed (a few bytes more per
 * audio tick).  Spec: Microsoft "Multimedia Programming Interface and
 * Data Specifications 1.0" (RIFF, the WAVE fmt and data chunks).
 */
#include "qemu/osdep.h"
#include "audio/audio.h"

#define WAV_HEADER_SIZE     44
#define WAV_FORMAT_PCM      1
#define WAV_FORMAT_FLOAT    3
/* A RIFF file's sizes are 32 bits: stop before they overflow. */
#define WAV_MAX_DATA        (UINT32_MAX - WAV_HEADER_SIZE)

typedef struct WavState {
    char *path;
    int fd;
    uint64_t data_bytes;
    bool full_warned;
} WavState;

static void wav_header(const AudioSettings *as, uint32_t data_bytes,
                       uint8_t *h)
{
    unsigned bytes = audio_format_bytes(as->fmt);

    memcpy(h, "RIFF", 4);
    stl_le_p(h + 4, data_bytes + WAV_HEADER_SIZE - 8);
    memcpy(h + 8, "WAVEfmt ", 8);
    stl_le_p(h + 16, 16);
    stw_le_p(h + 20, as->fmt == AUDIO_FORMAT_F32 ? WAV_FORMAT_FLOAT
                                                 : WAV_FORMAT_PCM);
    stw_le_p(h + 22, as->nchannels);
    stl_le_p(h + 24, as->freq);
    stl_le_p(h + 28, as->freq * bytes * as->nchannels);
    stw_le_p(h + 32, bytes * as->nchannels);
    stw_le_p(h + 34, bytes * 8);
    memcpy(h + 36, "data", 4);
    stl_le_p(h + 40, data_bytes);
}

static bool wav_write_header(AudioState *s)
{
    WavState *w = s->drv_opaque;
    uint8_t h[WAV_HEADER_SIZE];

    wav_header(&s->out, w->data_bytes, h);
    return pwrite(w->fd, h, sizeof(h), 0) == sizeof(h);
}

static bool wav_init(AudioState *s, GHashTable *props, GError **errp)
{
    const char *path = g_hash_table_lookup(props, "path");
    WavState *w;

    if (s->out.fmt != AUDIO_FORMAT_U8 && s->out.fmt != AUDIO_FORMAT_S16 &&
        s->out.fmt != AUDIO_FORMAT_S32 && s->out.fmt != AUDIO_FORMAT_F32) {
        error_setg(errp, "wav: out.format=%s has no WAVE form (u8, s16, "
                   "s32, f32)", audio_format_name(s->out.fmt));
        return false;
    }
    w = g_new0(WavState, 1);
    w->path = g_strdup(path ? path : "qemu.wav");
    g_hash_table_remove(props, "path");
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        error_setg(errp, "wav: could not open '%s': %s", w->path,
                   strerror(errno));
        g_free(w->path);
        g_free(w);
        return false;
    }
    s->drv_opaque = w;
    if (!wav_write_header(s)) {
        error_setg(errp, "wav: could not write '%s': %s", w->path,
                   strerror(errno));
        close(w->fd);
        g_free(w->path);
        g_free(w);
        s->drv_opaque = NULL;
        return false;
    }
    return true;
}

static size_t wav_write(AudioState *s, const void *buf, size_t n)
{
    WavState *w = s->drv_opaque;
    size_t bytes = n * audio_frame_bytes(&s->out);
    ssize_t r;

    if (!w || w->fd < 0) {
        return n;
    }
    if (w->data_bytes + bytes > WAV_MAX_DATA) {
        if (!w->full_warned) {
            g_printerr("kvmpc: wav: '%s' reached the 4 GiB WAVE limit; "
                       "the rest is dropped\n", w->path);
            w->full_warned = true;
        }
        return n;
    }
    r = pwrite(w->fd, buf, bytes, WAV_HEADER_SIZE + w->data_bytes);
    if (r > 0) {
        /* whole frames only, so the header never counts half a frame */
        w->data_bytes += r - r % audio_frame_bytes(&s->out);
        wav_write_header(s);
    }
    return n;
}

static void wav_fini(AudioState *s)
{
    WavState *w = s->drv_opaque;

    if (!w) {
        return;
    }
    wav_write_header(s);
    close(w->fd);
    g_free(w->path);
    g_free(w);
    s->drv_opaque = NULL;
}

static char *wav_describe(AudioState *s)
{
    WavState *w = s->drv_opaque;

    return w ? g_strdup(w->path) : NULL;
}

static const AudioDriver wav_driver = {
    .describe = wav_describe,
    .name = "wav",
    .init = wav_init,
    .write = wav_write,
    .fini = wav_fini,
};

static void __attribute__((constructor)) audio_wav_register(void)
{
    audio_driver_register(&wav_driver);
}
