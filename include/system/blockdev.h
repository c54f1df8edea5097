/*
 * Drives: -drive / -hda..-hdd / -cdrom / -fda / -fdb as QEMU spells them.
 * A drive is a block node (or none: an empty CD-ROM or floppy drive) plus
 * where the machine should attach it (if=ide with bus/unit, if=floppy
 * with unit) or an id for -device ... ,drive=ID (if=none).  Opened before the machine is built (system/main.c).
 */
#ifndef SYSTEM_BLOCKDEV_H
#define SYSTEM_BLOCKDEV_H

#include "qemu/osdep.h"
#include "block/block.h"

typedef enum BlockInterfaceType {
    IF_NONE,
    IF_IDE,
    IF_FLOPPY,
} BlockInterfaceType;

typedef struct DriveInfo {
    char *id;
    BlockInterfaceType type;
    int bus, unit;              /* IF_IDE: channel 0-1, unit 0-1;
                                 * IF_FLOPPY: bus 0, unit 0-1 */
    bool is_cdrom;
    bool read_only;
    char *filename;             /* NULL: no medium */
    char *format;
    int open_flags;
    BlockDriverState *bs;       /* NULL: no medium */
    bool claimed;               /* a device model uses it */
    char *qdev_id;              /* the -device id= of that model, or NULL */
} DriveInfo;

#define IDE_MAX_DRIVES 4        /* two channels, two units each */
#define FLOPPY_MAX_DRIVES 2     /* A: and B: */

/* Parse one -drive option string and open its image. */
DriveInfo *drive_new(const char *opts, GError **errp);
DriveInfo *drive_find_by_id(const char *id);
DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit);
/* All drives in creation order (do not modify). */
GPtrArray *drive_list(void);
/* "ide", "floppy" or "none", as QEMU names the interfaces. */
const char *drive_if_name(BlockInterfaceType type);

#endif
