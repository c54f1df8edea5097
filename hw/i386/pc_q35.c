/*
 * The "q35" machine (pc-q35-7.2): the PC board of hw/i386/pc.c on the q35
 * chipset, MCH + ICH9, as QEMU 7.2's pc_q35_init.
 *
 * Memory layout below 4 GiB:
 *   0x00000000 - below_4g       RAM: up to 0xb0000000, or up to 2 GiB when
 *                               the RAM would reach 0xb0000000 (QEMU's
 *                               rule: the rest continues at 4 GiB)
 *   0xb0000000 - 0xbfffffff     ECAM (PCIEXBAR, once firmware enables it)
 *   0xc0000000 - 0xfebfffff     32-bit PCI window
 *   0xfec00000 ...              IOAPIC, HPET, RCBA (0xfed1c000), LAPIC, BIOS
 *
 * Functions: MCH at 00.0, ICH9 LPC 1f.0, ICH9 AHCI 1f.2 (where -drive
 * if=ide, -hda/-cdrom go: index N on port N), ICH9 SMBus 1f.3; the
 * default VGA takes the first free slot, 00:01.0, as on QEMU.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/i386/pc.h"
#include "hw/pci-host/q35.h"
#include "hw/ide/ide.h"
#include "hw/ide/ahci.h"
#include "system/blockdev.h"

static void q35_split_ram(MachineState *ms)
{
    uint64_t lowmem = Q35_LOWMEM_SPLIT;

    if (ms->ram_size >= lowmem) {
        lowmem = Q35_LOWMEM_SPLIT_LARGE;
    }
    ms->below_4g_mem_size = MIN(ms->ram_size, lowmem);
    ms->above_4g_mem_size = ms->ram_size - ms->below_4g_mem_size;
}

/* -drive if=ide: index (bus * 2 + unit) N goes to AHCI port N. */
static bool q35_attach_ide_drives(GError **errp)
{
    GPtrArray *l = drive_list();

    for (unsigned i = 0; i < l->len; i++) {
        DriveInfo *di = g_ptr_array_index(l, i);
        g_autofree char *name = NULL;
        IDEBus *bus;

        if (di->type != IF_IDE) {
            continue;
        }
        name = g_strdup_printf("ide.%d", di->bus * 2 + di->unit);
        bus = ide_bus_find(name);
        if (!bus) {
            error_setg(errp, "drive '%s': no AHCI port %s", di->id, name);
            return false;
        }
        if (!ide_drive_attach(bus, 0, di->is_cdrom ? IDE_KIND_CD
                                                   : IDE_KIND_HD,
                              di->blk, false, errp)) {
            g_prefix_error(errp, "drive '%s': ", di->id);
            return false;
        }
        blk_attach_dev(di->blk, NULL, NULL);
    }
    return true;
}

bool q35_ahci_init(GError **errp)
{
    DeviceState *dev = device_new(TYPE_AHCI, errp);

    if (!dev) {
        return false;
    }
    if (!device_set_prop(dev, "addr", "1f.2", errp) ||
        !device_set_prop(dev, "multifunction", "on", errp) ||
        !device_realize(dev, errp)) {
        device_destroy(dev);
        return false;
    }
    return q35_attach_ide_drives(errp);
}

static const PCMachineVariant q35_variant = {
    .split_ram = q35_split_ram,
    .chipset_init = q35_chipset_init,
};

static bool q35_init(MachineState *ms, GError **errp)
{
    return pc_machine_init_common(ms, &q35_variant, errp);
}

static const MachineType q35_machine = {
    .name = "pc-q35-7.2",
    .alias = "q35",
    .desc = "Standard PC (Q35 + ICH9, 2009)",
    .max_cpus = 288,
    .default_ram_size = 128 * MiB,
    .default_nic = "e1000e",           /* QEMU's q35 default NIC */
    .init = q35_init,
};

static void q35_machine_register(void)
{
    machine_type_register(&q35_machine);
}
type_init(q35_machine_register)
