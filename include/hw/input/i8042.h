/*
 * i8042 keyboard controller with its PS/2 keyboard and mouse
 * (hw/input/i8042.c): ports 0x60 (data) and 0x64 (status/command),
 * ISA IRQ 1 (keyboard) and 12 (mouse).
 */
#ifndef HW_INPUT_I8042_H
#define HW_INPUT_I8042_H
#include "hw/isa.h"
#include "hw/input/ps2.h"

#define TYPE_I8042          "i8042"
#define I8042_DATA_PORT     0x60
#define I8042_CMD_PORT      0x64
#define I8042_KBD_IRQ       1
#define I8042_AUX_IRQ       12

/* The controller's keyboard and mouse, for input injection. */
PS2KbdState *i8042_keyboard(DeviceState *dev);
PS2MouseState *i8042_mouse(DeviceState *dev);

#endif
