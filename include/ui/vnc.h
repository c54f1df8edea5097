/*
 * The VNC server (ui/vnc.c, on LibVNCServer): -vnc / -display vnc=, the
 * password commands and the VNC queries.  Present only with CONFIG_VNC.
 */
#ifndef UI_VNC_H
#define UI_VNC_H
#include "qemu/osdep.h"
#include <time.h>

/*
 * Start a VNC server from a QEMU -vnc option string ("[HOST]:N[,opts]",
 * "unix:PATH[,opts]", "none").  @id names it for the password commands
 * ("default" when the options give no id=).
 */
bool vnc_display_open(const char *opts, GError **errp);
/* The display @id (NULL: the first) exists. */
bool vnc_display_exists(const char *id);
bool vnc_display_password(const char *id, const char *password,
                          GError **errp);
/* Refuse password logins from @when on (TIME_MAX: never). */
bool vnc_display_pw_expire(const char *id, time_t when, GError **errp);
/* "host:port" (or the socket path) of the first listening socket. */
char *vnc_display_local_addr(const char *id);

#endif
