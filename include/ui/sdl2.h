/*
 * The SDL2 window (ui/sdl2.c): -display sdl[,...] and -sdl.  Present only
 * with CONFIG_SDL.
 */
#ifndef UI_SDL2_H
#define UI_SDL2_H
#include "qemu/osdep.h"

/* Check the -display sdl options ("gl=off,grab-mod=rctrl,..."). */
bool sdl_display_parse(const char *opts, GError **errp);
/* query-display-options: full-screen, window-close, show-cursor. */
struct DisplayOptions;
void sdl_display_query(struct DisplayOptions *opts);
/* Open a window per graphic console (after the devices exist). */
bool sdl_display_init(GError **errp);

#endif
