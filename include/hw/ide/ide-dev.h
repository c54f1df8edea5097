/*
 * The pc machine's IDE: create the PIIX3 IDE function (01.1) and attach
 * every if=ide drive to it (hw/ide/ide-dev.c).
 */
#ifndef HW_IDE_IDE_DEV_H
#define HW_IDE_IDE_DEV_H

#include "qemu/osdep.h"

bool pc_ide_init(GError **errp);

#endif
