/*
 * Drives and nodes from the command line and the monitor.
 *
 * -drive / -hda..-hdd / -cdrom / -fda / -fdb as QEMU spells them: a drive
 * is a named BlockBackend (its id) holding a root node (or none: an empty
 * CD-ROM or floppy drive), plus where the machine should attach it
 * (if=ide with bus/unit, if=floppy with unit, if=virtio: a virtio-blk-pci
 * added after the -device ones) or an
 * id for -device ...,drive=ID (if=none).  -blockdev and QMP blockdev-add
 * open node graphs the monitor owns until blockdev-del; a device can use
 * a node directly (-device ide-hd,drive=NODE-NAME) through an anonymous
 * backend.  All of it is opened before the machine is built
 * (system/main.c).
 */
#ifndef SYSTEM_BLOCKDEV_H
#define SYSTEM_BLOCKDEV_H

#include "qemu/osdep.h"
#include "block/block.h"
#include "block/block-backend.h"

typedef enum BlockInterfaceType {
    IF_NONE,
    IF_IDE,
    IF_FLOPPY,
    IF_VIRTIO,              /* a virtio-blk-pci the machine creates */
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
    char *node_name;            /* node-name=: the format node's name */
    int open_flags;
    QDict *file_opts;           /* "file.KEY=" options of the protocol
                                 * node (nbd's reconnect-delay), as KEY */
    BlockBackend *blk;          /* named @id; its root is NULL: no medium */
} DriveInfo;

#define IDE_MAX_DRIVES 4        /* two channels, two units each */
#define FLOPPY_MAX_DRIVES 2     /* A: and B: */
#define VIRTIO_MAX_DRIVES 32    /* if=virtio: one PCI function each */

/* -blockdev: dotted keys or a JSON object; the node is monitor-owned. */
bool blockdev_new(const char *spec, GError **errp);
/* QMP blockdev-add: the same, from the arguments dictionary. */
bool blockdev_add(QDict *opts, GError **errp);
/* QMP blockdev-del: only monitor-owned nodes that nothing else uses. */
bool blockdev_del(const char *node_name, GError **errp);
/* Parse -blockdev text (dotted keys, or JSON when it starts with '{')
 * into a dictionary; numbered keys (inject-error.0.event) become lists. */
QDict *blockdev_parse_spec(const char *spec, GError **errp);

/*
 * The backend a device's drive= property names: a drive id (its
 * backend), else a node name (a new anonymous backend holding it).
 * Fails when the drive is missing or the backend already has a device.
 */
BlockBackend *blockdev_backend_for_device(const char *ref, GError **errp);

/* Parse one -drive option string and open its image. */
DriveInfo *drive_new(const char *opts, GError **errp);
/* -snapshot: the -drive options that do not say snapshot= get
 * snapshot=on (QEMU's drive_enable_snapshot); main.c sets it around the
 * command line's drives only, so drive_add later is unaffected. */
void drive_set_snapshot_default(bool on);
DriveInfo *drive_find_by_id(const char *id);
DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit);
/* All drives in creation order (do not modify). */
GPtrArray *drive_list(void);
/* "ide", "floppy", "virtio" or "none", as QEMU names the interfaces. */
const char *drive_if_name(BlockInterfaceType type);

#endif
