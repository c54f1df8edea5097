/*
 * The "none" audio back end: plays nothing and records silence, at the
 * right pace (the audio timer still runs, so devices move their data as
 * with a real back end).  libvirt asks for it with <audio type='none'/>,
 * and devices without audiodev= get one when no -audiodev exists.
 */
#include "qemu/osdep.h"
#include "audio/audio.h"

static bool none_init(AudioState *s, GHashTable *props, GError **errp)
{
    return true;
}

static const AudioDriver none_driver = {
    .name = "none",
    .init = none_init,
};

static void __attribute__((constructor)) audio_none_register(void)
{
    audio_driver_register(&none_driver);
}
