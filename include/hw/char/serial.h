/*
 * 16550A UART model (hw/char/serial.c).
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H
#include "hw/isa.h"

#define TYPE_ISA_SERIAL "isa-serial"
#define SERIAL_MAX_ISA_PORTS 4

/* Create COM<index+1> at its standard port and IRQ on @chr. */
DeviceState *serial_isa_create(unsigned index, Chardev *chr, GError **errp);

#endif
