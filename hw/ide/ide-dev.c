/*
 * The drives' front ends: "-device ide-hd,drive=ID" and "ide-cd", and the
 * machine's own attachment of if=ide drives (-hda, -cdrom, -drive if=ide)
 * to the PIIX3 IDE function it always has (as QEMU's pc machine, even with
 * -nodefaults).
 *
 * The device types carry no guest state of their own: the drive's
 * registers live in the controller's channel (hw/ide/ide-core.c), whose
 * state table covers them.  Properties follow QEMU: drive (a -drive id,
 * or a node name: the device then gets an anonymous backend), bus
 * ("ide.0" or "ide.1" for the PIIX3 channels, "ID.PORT" for the ports of
 * "-device ahci,id=ID"; default: the first bus with a free unit), unit
 * (0 master, 1 slave; a SATA port has unit 0 only; default: the first
 * free one), werror and rerror (override the drive's policy).  An ide-cd
 * without a drive gets an empty anonymous backend, so media can be
 * inserted by id later.
 */
#include "qemu/osdep.h"
#include "hw/ide/ide.h"
#include "hw/ide/ide-dev.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/pci/pci.h"
#include "hw/rtc/mc146818rtc.h"
#include "system/runstate.h"
#include "system/blockdev.h"

typedef struct IDEDevice {
    DeviceState parent;
    char *drive;
    char *bus;
    int32_t unit;
    int32_t bootindex;
    char *werror, *rerror;
    bool share_rw;
} IDEDevice;

static bool ide_unit_free(IDEBus *bus, int unit)
{
    return unit < bus->nb_units && bus->ifs[unit].kind == IDE_KIND_NONE;
}

/* @unit on @bus, or its first free unit when @unit is -1. */
static bool ide_dev_unit_on_bus(IDEBus *bus, int *unit, GError **errp)
{
    if (*unit >= bus->nb_units) {
        error_setg(errp, "unit %d does not exist on bus '%s' (%s)", *unit,
                   bus->name, bus->nb_units == 1 ? "only 0" : "0 or 1");
        return false;
    }
    if (*unit >= 0) {
        if (!ide_unit_free(bus, *unit)) {
            error_setg(errp, "IDE unit %d on %s is in use", *unit, bus->name);
            return false;
        }
        return true;
    }
    for (int u = 0; u < bus->nb_units; u++) {
        if (ide_unit_free(bus, u)) {
            *unit = u;
            return true;
        }
    }
    error_setg(errp, "no free IDE unit on bus '%s'", bus->name);
    return false;
}

/*
 * The bus named @name ("ide.1", "ahci0.3"), or without a name the first
 * registered bus (PIIX3's channels before any AHCI port, as QEMU's pc
 * orders them) with @unit, or any unit, free.
 */
static IDEBus *ide_dev_find_bus(const char *name, int *unit, GError **errp)
{
    if (name) {
        IDEBus *bus = ide_bus_find(name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", name);
            return NULL;
        }
        return ide_dev_unit_on_bus(bus, unit, errp) ? bus : NULL;
    }
    for (unsigned b = 0; b < ide_bus_count(); b++) {
        IDEBus *bus = ide_bus_nth(b);
        for (int u = *unit < 0 ? 0 : *unit; u < bus->nb_units; u++) {
            if (ide_unit_free(bus, u)) {
                *unit = u;
                return bus;
            }
            if (*unit >= 0) {
                break;
            }
        }
    }
    error_setg(errp, ide_bus_count() ? "no free IDE unit for the drive"
                                     : "no IDE controller to attach to");
    return NULL;
}

/* werror=/rerror= on the device override the drive's ("auto": keep). */
static bool ide_dev_apply_on_error(IDEDevice *d, BlockBackend *blk,
                                   GError **errp)
{
    BlockdevOnError r = blk_get_on_error(blk, true);
    BlockdevOnError w = blk_get_on_error(blk, false);
    BlockdevOnError v;

    if (d->rerror && strcmp(d->rerror, "auto")) {
        if (!blk_parse_on_error(d->rerror, true, &v, errp)) {
            return false;
        }
        r = v;
    }
    if (d->werror && strcmp(d->werror, "auto")) {
        if (!blk_parse_on_error(d->werror, false, &v, errp)) {
            return false;
        }
        w = v;
    }
    blk_set_on_error(blk, r, w);
    return true;
}

/* The backend: the drive= one, or for a CD-ROM without one a new empty
 * anonymous backend (*made set: the caller deletes it on failure). */
static BlockBackend *ide_dev_backend(IDEDevice *d, IDEDriveKind kind,
                                     bool *made, GError **errp)
{
    BlockBackend *blk;

    *made = false;
    if (d->drive) {
        blk = blockdev_backend_for_device(d->drive, errp);
        /* A node named by drive= got a new anonymous backend. */
        *made = blk && !*blk_name(blk);
        return blk;
    }
    if (kind == IDE_KIND_HD) {
        error_setg(errp, "ide-hd: drive property not set");
        return NULL;
    }
    blk = blk_new(NULL);
    blk_set_open_flags(blk, 0);         /* media open read-only */
    *made = true;
    return blk;
}

static bool ide_dev_realize_kind(IDEDevice *d, IDEDriveKind kind,
                                 GError **errp)
{
    int unit = d->unit;
    IDEBus *bus;
    bool made;
    BlockBackend *blk;

    if (unit > 1) {
        error_setg(errp, "unit %d is not 0 or 1", unit);
        return false;
    }
    blk = ide_dev_backend(d, kind, &made, errp);
    if (!blk) {
        return false;
    }
    if (!ide_dev_apply_on_error(d, blk, errp) ||
        !(bus = ide_dev_find_bus(d->bus, &unit, errp)) ||
        !ide_drive_attach(bus, unit, kind, blk, d->share_rw, errp)) {
        if (made) {
            blk_delete(blk);
        }
        return false;
    }
    blk_attach_dev(blk, DEVICE(d), NULL);
    if (d->bootindex >= 0) {
        /* The bus's path and the unit: what SeaBIOS matches, e.g.
         * /pci@i0cf8/ide@1,1/drive@1/disk@0 or .../pci8086,2922@4/drive@2/disk@0 */
        g_autofree char *path = g_strdup_printf("%s/disk@%x", bus->fw_path,
                                                unit);
        fw_boot_order_add(d->bootindex, path);
    }
    return true;
}

static bool ide_hd_realize(DeviceState *dev, GError **errp)
{
    return ide_dev_realize_kind((IDEDevice *)dev, IDE_KIND_HD, errp);
}

static bool ide_cd_realize(DeviceState *dev, GError **errp)
{
    return ide_dev_realize_kind((IDEDevice *)dev, IDE_KIND_CD, errp);
}

static const Property ide_dev_props[] = {
    DEFINE_PROP("drive", IDEDevice, drive, PROP_STRING, NULL,
                "the -drive id of the image"),
    DEFINE_PROP("bus", IDEDevice, bus, PROP_STRING, NULL,
                "IDE bus: ide.0, ide.1 or an AHCI port, ID.PORT"),
    DEFINE_PROP("unit", IDEDevice, unit, PROP_INT32, "-1",
                "0 (master) or 1 (slave); -1: the first free one"),
    DEFINE_PROP("bootindex", IDEDevice, bootindex, PROP_INT32, "-1",
                "boot order for the firmware (lower first); -1: none"),
    DEFINE_PROP("werror", IDEDevice, werror, PROP_STRING, "auto",
                "write errors: auto, report, ignore, enospc, stop"),
    DEFINE_PROP("rerror", IDEDevice, rerror, PROP_STRING, "auto",
                "read errors: auto, report, ignore, stop"),
    DEFINE_PROP("share-rw", IDEDevice, share_rw, PROP_BOOL, "off",
                "let other processes write the image too (image locks)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType ide_hd_type = {
    .name = "ide-hd",
    .parent = TYPE_DEVICE,
    .desc = "virtual IDE disk",
    .instance_size = sizeof(IDEDevice),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = ide_dev_props,
    .realize = ide_hd_realize,
};

static const DeviceType ide_cd_type = {
    .name = "ide-cd",
    .parent = TYPE_DEVICE,
    .desc = "virtual IDE CD-ROM",
    .instance_size = sizeof(IDEDevice),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_STORAGE,
    .props = ide_dev_props,
    .realize = ide_cd_realize,
};

/* ---- the machine's controller and its if=ide drives ---------------------- */

static bool ide_attach_if_ide_drives(GError **errp)
{
    GPtrArray *l = drive_list();

    for (unsigned i = 0; i < l->len; i++) {
        DriveInfo *di = g_ptr_array_index(l, i);
        if (di->type != IF_IDE) {
            continue;
        }
        if (!ide_drive_attach(piix_ide_get_bus(di->bus), di->unit,
                              di->is_cdrom ? IDE_KIND_CD : IDE_KIND_HD,
                              di->blk, false, errp)) {
            g_prefix_error(errp, "drive '%s': ", di->id);
            return false;
        }
        blk_attach_dev(di->blk, NULL, NULL);
    }
    return true;
}

/*
 * The CMOS bytes a PC BIOS reads for its IDE hard disks, as QEMU's pc
 * fills them (and SeaBIOS reads the translation hints at 39h on QEMU):
 * 12h disk types (F0h master / 0Fh slave of the primary channel: "type
 * 47, see 19h/1Ah"), 19h/1Ah = 47, the user-defined geometry at 1Bh
 * (master) and 24h (slave): cylinders, heads, write precompensation
 * FFFFh, control byte, landing zone, sectors; 39h two bits per drive
 * (0 none, 1 LBA translation) for all four.  Written at every reset, after
 * the devices (so -device drives count too).
 */
static void ide_cmos_geometry(DeviceState *rtc, unsigned ofs,
                              const IDEState *s)
{
    mc146818rtc_set_cmos_data(rtc, ofs + 0, s->cyls & 0xff);
    mc146818rtc_set_cmos_data(rtc, ofs + 1, s->cyls >> 8);
    mc146818rtc_set_cmos_data(rtc, ofs + 2, s->heads);
    mc146818rtc_set_cmos_data(rtc, ofs + 3, 0xff);
    mc146818rtc_set_cmos_data(rtc, ofs + 4, 0xff);
    mc146818rtc_set_cmos_data(rtc, ofs + 5, 0xc0 | ((s->heads > 8) << 3));
    mc146818rtc_set_cmos_data(rtc, ofs + 6, s->cyls & 0xff);
    mc146818rtc_set_cmos_data(rtc, ofs + 7, s->cyls >> 8);
    mc146818rtc_set_cmos_data(rtc, ofs + 8, s->secs);
}

static void ide_cmos_update(void *opaque)
{
    DeviceState *rtc = device_find_by_type(TYPE_MC146818_RTC);
    uint8_t types = 0, trans = 0;

    if (!rtc) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        IDEBus *bus = piix_ide_get_bus(i / 2);
        const IDEState *s = bus ? &bus->ifs[i % 2] : NULL;
        if (!s || s->kind != IDE_KIND_HD) {
            continue;
        }
        /* QEMU's automatic choice: LBA once the geometry passes what
         * int 13h's CHS can address. */
        if (s->cyls > 1024) {
            trans |= 1 << (i * 2);
        }
        if (i < 2) {
            types |= i == 0 ? 0xf0 : 0x0f;
            mc146818rtc_set_cmos_data(rtc, 0x19 + i, 47);
            ide_cmos_geometry(rtc, i == 0 ? 0x1b : 0x24, s);
        }
    }
    mc146818rtc_set_cmos_data(rtc, 0x12, types);
    mc146818rtc_set_cmos_data(rtc, 0x39, trans);
}

bool pc_ide_init(GError **errp)
{
    DeviceState *dev = device_new(TYPE_PIIX3_IDE, errp);

    if (!dev) {
        return false;
    }
    if (!device_set_prop(dev, "addr", "01.1", errp) ||
        !device_realize(dev, errp)) {
        device_destroy(dev);
        return false;
    }
    qemu_register_reset(ide_cmos_update, NULL);
    return ide_attach_if_ide_drives(errp);
}

static void ide_dev_register_types(void)
{
    device_type_register(&ide_hd_type);
    device_type_register(&ide_cd_type);
}
type_init(ide_dev_register_types)
