/*
 * Configuration the "pc" machine takes from the command line beyond
 * MachineState (main.c fills it before machine init).
 */
#ifndef HW_I386_PC_H
#define HW_I386_PC_H
#include "hw/boards.h"
#include "chardev/char.h"

#define PC_DEFAULT_FIRMWARE_DIR "/usr/share/seabios"
#define PC_DEFAULT_FIRMWARE     "bios-256k.bin"

typedef struct PCMachineConfig {
    GPtrArray *serials;        /* Chardev * per COM port (NULL = none) */
    Chardev *debugcon;         /* -debugcon */
    bool firmware_boot;        /* -kernel through the firmware (option ROM) */
    char **firmware_dirs;      /* -L, searched for -bios and ROM names */
} PCMachineConfig;

extern PCMachineConfig pc_config;

/*
 * What differs between the pc (i440FX) and q35 machines; the rest of the
 * board (RAM, firmware, ISA devices, fw_cfg, direct boot) is common
 * (hw/i386/pc.c).  @split_ram sets below/above_4g_mem_size; @chipset_init
 * creates the host bridge and chipset functions; @ide_init (optional) the
 * IDE controller of -drive if=ide.
 */
typedef struct PCMachineVariant {
    void (*split_ram)(MachineState *ms);
    bool (*chipset_init)(MachineState *ms, bool direct_boot, GError **errp);
    bool (*ide_init)(GError **errp);
} PCMachineVariant;

bool pc_machine_init_common(MachineState *ms, const PCMachineVariant *v,
                            GError **errp);

/*
 * The i440FX/PIIX chipset (hw/pci-host/i440fx.c): PCI host bridge and bus
 * 0 (with the "pci" memory container the BIOS is mapped into), i440FX at
 * 00.0, PIIX3 at 01.0, PIIX4 PM at 01.3.  Call after RAM and the GSIs.
 */
bool pc_chipset_init(MachineState *ms, GError **errp);
/* Where the pc-dimm region starts, and the 64-bit PCI window after it. */
uint64_t pc_device_memory_base(const MachineState *ms);
uint64_t pc_pci_hole64_start(const MachineState *ms);

/*
 * The legacy ISA devices (hw/i386/pc-isa.c): HPET (unless -no-hpet), RTC
 * and the CMOS bytes firmware reads, i8042, port 0x92, the 8237 DMA pair
 * and the 0xed delay port.  Call after the serial ports.
 */
bool pc_isa_devices_init(MachineState *ms, GError **errp);

/*
 * The firmware interface (hw/i386/fw-cfg-pc.c): the fw_cfg device with
 * the boot options, e820, ACPI and SMBIOS tables, option ROMs, -fw_cfg
 * files and, with firmware-boot=on, the kernel for the linuxboot option
 * ROM.  Call after the chipset and the ISA devices.
 */
bool pc_firmware_init(MachineState *ms, GError **errp);

/*
 * kvmpc's own interrupt controllers (hw/i386/pc-irqchip.c) when KVM does
 * not model them: PIC and IOAPIC, and the LAPICs with kernel_irqchip=off
 * or qtest.  Call after the GSIs, before the devices.
 */
bool pc_irqchip_init(MachineState *ms, GError **errp);
/* Drive GSI @gsi into the userspace PIC/IOAPIC (nothing if absent). */
void pc_irqchip_set_gsi(int gsi, int level);
/* Program the userspace 8259 pair as firmware leaves it; false: none. */
bool pc_irqchip_pic_initialized(uint8_t master_base, uint8_t slave_base,
                                uint16_t imr, uint16_t elcr);

#endif
