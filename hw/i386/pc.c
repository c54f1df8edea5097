/*
 * The "pc" machine: RAM split around the 32-bit PCI hole, the GSI lines,
 * the firmware ROM, the legacy ISA devices and direct kernel boot.
 *
 * Memory layout below 4 GiB (as QEMU's i440FX machine):
 *   0x00000000 - below_4g        RAM (0xa0000-0xfffff shadowed, see PAM)
 *   0xc0000000/0xe0000000 - 4G   PCI hole, IOAPIC, HPET, LAPIC, BIOS ROM
 * RAM beyond below_4g continues at 4 GiB.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/i386/acpi-direct.h"
#include "hw/pci-host/q35.h"
#include "hw/i386/bios-direct.h"
#include "hw/i386/x86-boot.h"
#include "hw/i386/pc.h"
#include "hw/isa.h"
#include "hw/char/serial.h"
#include "hw/ide/ide-dev.h"
#include "hw/pci/pci.h"
#include "system/accel.h"
#include "system/runstate.h"

#define BIOS_ISA_WINDOW  (128 * KiB)   /* top of the BIOS seen at 0xe0000 */
#define KVM_TSS_AREA     0xfeffc000ULL /* identity map + TSS pages for KVM */
#define KVM_TSS_AREA_LEN 0x4000

PCMachineConfig pc_config;

static MemoryRegion bios_rom, isa_bios_alias;

/*
 * A GSI goes to kvmpc's own PIC/IOAPIC when it has them, and to the
 * accelerator (KVM's in-kernel irqchip; qtest records the level).
 */
static void pc_gsi_handler(void *opaque, int n, int level)
{
    pc_irqchip_set_gsi(n, level);
    if (current_accel && current_accel->set_irq) {
        current_accel->set_irq(n, level);
    }
}

/*
 * QEMU's rule for i440FX: with gigabyte alignment, RAM that would reach
 * into the hole above 3.5 GiB is split at 3 GiB instead.
 */
static void pc_split_ram(MachineState *ms)
{
    uint64_t lowmem = PC_PCI_HOLE_START;

    if (ms->ram_size >= lowmem) {
        lowmem = 0xc0000000ULL;
    }
    ms->below_4g_mem_size = MIN(ms->ram_size, lowmem);
    ms->above_4g_mem_size = ms->ram_size - ms->below_4g_mem_size;
}

static bool pc_map_ram(MachineState *ms, GError **errp)
{
    MemoryRegion *sysmem = get_system_memory();

    if (!machine_init_ram(ms, "pc.ram", errp)) {
        return false;
    }
    memory_region_init_alias(&ms->ram_below_4g, "ram-below-4g", &ms->ram, 0,
                             ms->below_4g_mem_size);
    memory_region_add_subregion(sysmem, 0, &ms->ram_below_4g);
    if (ms->above_4g_mem_size) {
        memory_region_init_alias(&ms->ram_above_4g, "ram-above-4g", &ms->ram,
                                 ms->below_4g_mem_size,
                                 ms->above_4g_mem_size);
        memory_region_add_subregion(sysmem, PC_HIGHMEM_START,
                                    &ms->ram_above_4g);
    }
    return true;
}

/*
 * QEMU 7.2's pc machines: the device memory (pc-dimms) starts at the
 * first GiB boundary after the high RAM, and is maxmem - size plus 1 GiB
 * per slot long (room for each DIMM's alignment); PCI's 64-bit window
 * and etc/reserved-memory-end start at the GiB after it.
 */
uint64_t pc_device_memory_base(const MachineState *ms)
{
    return ALIGN_UP(PC_HIGHMEM_START + ms->above_4g_mem_size, GiB);
}

uint64_t pc_pci_hole64_start(const MachineState *ms)
{
    if (ms->device_memory_size) {
        return ALIGN_UP(ms->device_memory_base + ms->device_memory_size, GiB);
    }
    return pc_device_memory_base(ms);
}

/* The map a direct-booted kernel sees (firmware builds its own). */
static void pc_build_e820(MachineState *ms)
{
    e820_reset_table();
    e820_add_entry(0, ACPI_DIRECT_TABLES_BASE, E820_RAM);
    e820_add_entry(ACPI_DIRECT_TABLES_BASE, ACPI_DIRECT_TABLES_SIZE,
                   E820_ACPI);                          /* acpi-direct.c */
    e820_add_entry(0x9fc00, 0x400, E820_RESERVED);      /* EBDA */
    e820_add_entry(0xf0000, 0x10000, E820_RESERVED);    /* BIOS area */
    if (ms->below_4g_mem_size > 1 * MiB) {
        e820_add_entry(1 * MiB, ms->below_4g_mem_size - 1 * MiB, E820_RAM);
    }
    e820_add_entry(KVM_TSS_AREA, KVM_TSS_AREA_LEN, E820_RESERVED);
    e820_add_entry(0xfffc0000ULL, 0x40000, E820_RESERVED);
    if (q35_machine_active()) {
        /* the ECAM window the MCH opens at reset without firmware
         * (x-pciexbar), reserved as SeaBIOS reserves it when it opens it */
        e820_add_entry(MCH_PCIEXBAR_DEFAULT, MCH_PCIEXBAR_MAX,
                       E820_RESERVED);
    }
    if (ms->above_4g_mem_size) {
        e820_add_entry(PC_HIGHMEM_START, ms->above_4g_mem_size, E820_RAM);
    }
}

static char *find_firmware(const char *name)
{
    if (strchr(name, '/')) {
        return g_strdup(name);
    }
    for (unsigned i = 0; pc_config.firmware_dirs && pc_config.firmware_dirs[i];
         i++) {
        char *path = g_build_filename(pc_config.firmware_dirs[i], name, NULL);
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            return path;
        }
        g_free(path);
    }
    return g_build_filename(PC_DEFAULT_FIRMWARE_DIR, name, NULL);
}

/*
 * Map the BIOS image just below 4 GiB and, unless @direct_boot, its top
 * 128 KiB at 0xe0000; a direct boot gets kvmpc's own F-segment ROM there
 * instead (hw/i386/bios-rom.c).
 */
static bool pc_load_firmware(MachineState *ms, bool direct_boot,
                             GError **errp)
{
    const char *name = ms->firmware ? ms->firmware : PC_DEFAULT_FIRMWARE;
    g_autofree char *path = find_firmware(name);
    g_autofree char *data = NULL;
    gsize size;
    uint64_t isa_size;
    /* QEMU's rom_memory: the PCI space, so PAM decides what 0xe0000 shows */
    MemoryRegion *rom_memory = pci_bus_memory(pci_root_bus());

    if (!g_file_get_contents(path, &data, &size, NULL)) {
        error_setg(errp, "could not load PC BIOS '%s'", path);
        return false;
    }
    if (size == 0 || size > 16 * MiB || size % 65536) {
        error_setg(errp, "qemu: could not load PC BIOS '%s': size %zu is "
                   "not a multiple of 64 KiB up to 16 MiB", path, (size_t)size);
        return false;
    }
    memory_region_init_rom(&bios_rom, "pc.bios", size);
    memcpy(memory_region_get_ram_ptr(&bios_rom), data, size);
    memory_region_add_subregion(rom_memory, (uint32_t)(-size), &bios_rom);
    if (direct_boot) {
        return true;
    }

    isa_size = MIN(size, BIOS_ISA_WINDOW);
    memory_region_init_alias(&isa_bios_alias, "isa-bios", &bios_rom,
                             size - isa_size, isa_size);
    memory_region_add_subregion_overlap(rom_memory, 1 * MiB - isa_size,
                                        &isa_bios_alias, 1);
    return true;
}

static bool pc_create_device(const char *type, GError **errp)
{
    DeviceState *dev = device_new(type, errp);

    if (!dev) {
        return false;
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return false;
    }
    return true;
}

static bool pc_create_serials(GError **errp)
{
    for (unsigned i = 0; pc_config.serials && i < pc_config.serials->len;
         i++) {
        Chardev *chr = g_ptr_array_index(pc_config.serials, i);
        if (chr && !serial_isa_create(i, chr, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * The machine as firmware would leave it, then the kernel: ACPI tables
 * first (the loaders hand the kernel their RSDP address), the F-segment
 * copy of the RSDP, the IVT, the BIOS data area and the 8259s.
 */
static bool pc_direct_boot(MachineState *ms, GError **errp)
{
    uint64_t fseg_rsdp;

    x86_boot_acpi_rsdp = 0;     /* acpi=off: the kernel finds none */
    return (!ms->acpi || acpi_direct_install(ms, errp)) &&
           bios_rom_install(x86_boot_acpi_rsdp, &fseg_rsdp, errp) &&
           bios_data_area_install(ms, errp) &&
           bios_pic_install(ms, errp) &&
           x86_load_kernel(ms, errp);
}

static void pc_reload_kernel(void *opaque)
{
    MachineState *ms = opaque;
    GError *err = NULL;

    /* The guest may have overwritten the image and the tables: load them
     * afresh. */
    if (!pc_direct_boot(ms, &err)) {
        error_report_err(err);
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_ERROR);
    }
}

/* The i440FX machine's chipset hooks. */
static bool pc_i440fx_chipset_init(MachineState *ms, bool direct_boot,
                                   GError **errp)
{
    return pc_chipset_init(ms, errp);
}

static const PCMachineVariant pc_i440fx_variant = {
    .split_ram = pc_split_ram,
    .chipset_init = pc_i440fx_chipset_init,
    /* QEMU's pc has its PIIX3 IDE function even with -nodefaults. */
    .ide_init = pc_ide_init,
};

static bool pc_init(MachineState *ms, GError **errp)
{
    return pc_machine_init_common(ms, &pc_i440fx_variant, errp);
}

bool pc_machine_init_common(MachineState *ms, const PCMachineVariant *v,
                            GError **errp)
{
    bool direct_boot = ms->kernel_filename && !pc_config.firmware_boot;

    v->split_ram(ms);
    memory_region_transaction_begin();
    if (!pc_map_ram(ms, errp) ||
        !machine_init_device_memory(ms, pc_device_memory_base(ms),
                                    GiB * ms->ram_slots, errp)) {
        memory_region_transaction_commit();
        return false;
    }
    for (unsigned i = 0; i < GSI_NUM_PINS; i++) {
        ms->gsi[i] = qemu_allocate_irq(pc_gsi_handler, NULL, i);
    }
    if (!pc_irqchip_init(ms, errp) ||
        !v->chipset_init(ms, direct_boot, errp)) {
        memory_region_transaction_commit();
        return false;
    }
    pc_build_e820(ms);

    x86_boot_entry = (X86BootEntry){ .mode = X86_BOOT_RESET_VECTOR };
    if (!pc_load_firmware(ms, direct_boot, direct_boot ? NULL : errp) &&
        !direct_boot) {
        memory_region_transaction_commit();
        return false;
    }
    if (direct_boot) {
        bios_rom_init(pci_bus_memory(pci_root_bus()));
    }
    memory_region_transaction_commit();

    if (v->ide_init && !v->ide_init(errp)) {
        return false;
    }
    if (!pc_create_device("ioport80", errp) || !pc_create_serials(errp)) {
        return false;
    }
    if (!pc_isa_devices_init(ms, errp)) {
        return false;
    }
    if (!pc_firmware_init(ms, errp)) {
        return false;
    }
    if (pc_config.debugcon) {
        DeviceState *dev = device_new("isa-debugcon", errp);
        if (!dev || !device_set_prop(dev, "chardev", pc_config.debugcon->id,
                                     errp) ||
            !device_realize(dev, errp)) {
            if (dev) {
                device_destroy(dev);
            }
            return false;
        }
    }
    if (direct_boot) {
        if (!pc_direct_boot(ms, errp)) {
            return false;
        }
        qemu_register_reset(pc_reload_kernel, ms);
    }
    return true;
}

static const MachineType pc_machine = {
    .name = "pc-i440fx-7.2",
    .alias = "pc",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .is_default = true,
    .max_cpus = 255,
    .default_ram_size = 128 * MiB,
    .init = pc_init,
};

static void pc_machine_register(void)
{
    machine_type_register(&pc_machine);
}
type_init(pc_machine_register)
