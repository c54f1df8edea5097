/*
 * Audio backends: -audiodev DRIVER,id=ID[,...] (or its JSON form), the
 * host side sound devices and VNC refer to by id.  Drivers register
 * themselves; today only "none" (sound goes nowhere, input is silence, at
 * the right rate), which libvirt asks for whenever a domain has
 * <audio type='none'/> (its default for VNC graphics).  Other drivers are
 * refused with a clear error until they are built (the sound issue).
 * docs/options.md.
 */
#ifndef AUDIO_AUDIO_H
#define AUDIO_AUDIO_H
#include "qemu/osdep.h"

typedef struct AudioState {
    char *id;
    const char *driver;
    uint32_t timer_period_us;       /* timer-period= (default 10000) */
    uint32_t out_frequency, in_frequency;
    uint32_t out_channels, in_channels;
} AudioState;

typedef struct AudioDriver {
    const char *name;
    /* Check and take the driver's own keys out of @props. */
    bool (*init)(AudioState *s, GHashTable *props, GError **errp);
} AudioDriver;

void audio_driver_register(const AudioDriver *drv);
/* -audiodev: false with @errp on a bad spec or an unbuilt driver. */
bool audio_init_audiodev(const char *spec, GError **errp);
AudioState *audio_state_by_name(const char *id);

#endif
