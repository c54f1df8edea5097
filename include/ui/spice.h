/*
 * The SPICE server (libspice-server): -spice, the display and inputs
 * channels, the spicevmc/spiceport chardevs and the monitor commands.
 * Present only with CONFIG_SPICE.  See docs/display.md.
 *
 *   ui/spice-core.c     options, the server, the SpiceCoreInterface on the
 *                       main loop, channel events, passwords, query-spice
 *   ui/spice-display.c  the display channel: a QXL instance fed from the
 *                       console layer ("simple display", no QXL device)
 *   ui/spice-input.c    keyboard, mouse and tablet interfaces
 *   chardev/spice.c     -chardev spicevmc / spiceport
 *
 * All functions run on the main thread with the big lock held.
 */
#ifndef UI_SPICE_H
#define UI_SPICE_H
#include "qemu/osdep.h"
#include <time.h>
#include "qapi/qapi-types.h"

/*
 * Parse a -spice option string, create the server and start listening.
 * Called before chardevs are created, so spicevmc/spiceport find it.
 */
bool qemu_spice_init(const char *opts, GError **errp);
/* After the devices exist: the display channel and the inputs. */
void qemu_spice_display_init(void);
/* -spice was given and the server runs. */
bool qemu_spice_enabled(void);

bool qemu_spice_set_password(const char *password, SetPasswordAction action,
                             GError **errp);
/* Refuse logins from @when on (TIME_MAX: never, 0: now). */
bool qemu_spice_expire_password(time_t when, GError **errp);

#ifdef UI_SPICE_INTERNAL
#include <spice.h>

/* The server, or NULL without -spice. */
SpiceServer *qemu_spice_server(void);
/* spice_server_add_interface, with an error when -spice was not given. */
bool qemu_spice_add_interface(SpiceBaseInstance *sin, GError **errp);

/* ui/spice-display.c */
void qemu_spice_display_attach(void);
/* Display channel clients changed (from the channel events). */
void qemu_spice_display_clients_changed(int nr_display_channels);

/* ui/spice-input.c */
void qemu_spice_input_init(void);
/* Re-check whether the guest has an absolute pointer (refresh tick). */
void qemu_spice_input_check_mouse_mode(void);
#endif

#endif
