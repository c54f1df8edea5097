/*
 * The PS/2 keyboard and mouse as handlers of the console layer's input
 * events (ui/input.h): hw/input/ps2-input.c.  The i8042 connects its
 * devices at realize and disconnects them at unrealize.
 */
#ifndef HW_INPUT_PS2_INPUT_H
#define HW_INPUT_PS2_INPUT_H
#include "hw/input/ps2.h"

void ps2_input_connect(PS2KbdState *kbd, PS2MouseState *mouse);
void ps2_input_disconnect(PS2KbdState *kbd, PS2MouseState *mouse);

#endif
