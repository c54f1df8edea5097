/*
 * The -audiodev registry (include/audio/audio.h) and the "none" driver.
 *
 * Keys every driver takes, as QEMU's Audiodev: id, driver, timer-period
 * (microseconds), in.* / out.* with frequency, channels, format,
 * fixed-settings, voices, buffer-length, mixing-engine.  Frequencies and
 * channels are kept (the sound devices use them); anything else under
 * in./out. that QEMU knows is accepted only where it cannot change what
 * the guest hears ("none" plays nothing).
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "audio/audio.h"

static GPtrArray *drivers;
static GHashTable *audiodevs;       /* id -> AudioState */

static const char *const builtin_names[] = {
    "alsa", "coreaudio", "dbus", "dsound", "jack", "oss", "pa", "pipewire",
    "sdl", "sndio", "spice", "wav", NULL,
};

void audio_driver_register(const AudioDriver *drv)
{
    if (!drivers) {
        drivers = g_ptr_array_new();
    }
    g_ptr_array_add(drivers, (gpointer)drv);
}

static const AudioDriver *audio_driver_find(const char *name)
{
    for (guint i = 0; drivers && i < drivers->len; i++) {
        const AudioDriver *d = g_ptr_array_index(drivers, i);
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

AudioState *audio_state_by_name(const char *id)
{
    return audiodevs && id ? g_hash_table_lookup(audiodevs, id) : NULL;
}

static bool take_u32(GHashTable *props, const char *key, uint32_t *out,
                     GError **errp)
{
    const char *v = g_hash_table_lookup(props, key);
    uint64_t n;

    if (!v) {
        return true;
    }
    if (!parse_uint(v, &n, NULL) || n > UINT32_MAX) {
        error_setg(errp, "Parameter '%s' expects an unsigned 32-bit number",
                   key);
        return false;
    }
    *out = n;
    g_hash_table_remove(props, key);
    return true;
}

/* in./out. keys that only tune buffering or mixing. */
static bool is_direction_tuning_key(const char *key)
{
    static const char *const tuning[] = {
        "fixed-settings", "voices", "buffer-length", "mixing-engine",
        "format", NULL,
    };

    for (const char *const *t = tuning; *t; t++) {
        if ((g_str_has_prefix(key, "in.") && !strcmp(key + 3, *t)) ||
            (g_str_has_prefix(key, "out.") && !strcmp(key + 4, *t))) {
            return true;
        }
    }
    return false;
}

bool audio_init_audiodev(const char *spec, GError **errp)
{
    g_autoptr(GHashTable) props = keyval_parse(spec, "driver", errp);
    g_autofree char *id = NULL, *driver = NULL;
    const AudioDriver *drv;
    AudioState *s;
    GHashTableIter it;
    gpointer key;

    if (!props) {
        return false;
    }
    id = g_strdup(g_hash_table_lookup(props, "id"));
    driver = g_strdup(g_hash_table_lookup(props, "driver"));
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    if (audio_state_by_name(id)) {
        error_setg(errp, "audiodev '%s' already exists", id);
        return false;
    }
    drv = audio_driver_find(driver);
    if (!drv) {
        error_setg(errp, g_strv_contains(builtin_names, driver) ?
                   "audio driver '%s' is not built into kvmpc (available: "
                   "none)" : "Parameter 'driver' does not accept value '%s'",
                   driver);
        return false;
    }
    g_hash_table_remove(props, "id");
    g_hash_table_remove(props, "driver");
    s = g_new0(AudioState, 1);
    s->id = g_steal_pointer(&id);
    s->driver = drv->name;
    s->timer_period_us = 10000;
    s->out_frequency = s->in_frequency = 44100;
    s->out_channels = s->in_channels = 2;
    if (!take_u32(props, "timer-period", &s->timer_period_us, errp) ||
        !take_u32(props, "out.frequency", &s->out_frequency, errp) ||
        !take_u32(props, "in.frequency", &s->in_frequency, errp) ||
        !take_u32(props, "out.channels", &s->out_channels, errp) ||
        !take_u32(props, "in.channels", &s->in_channels, errp) ||
        !drv->init(s, props, errp)) {
        goto fail;
    }
    g_hash_table_iter_init(&it, props);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (!is_direction_tuning_key(key)) {
            error_setg(errp, "Invalid parameter '%s'", (char *)key);
            goto fail;
        }
    }
    if (!audiodevs) {
        audiodevs = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(audiodevs, s->id, s);
    return true;
fail:
    g_free(s->id);
    g_free(s);
    return false;
}

/* ---- none: plays nothing, records silence ------------------------------ */

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
