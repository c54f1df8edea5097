/*
 * ACPI tables of the "pc" machine (hw/i386/acpi-build.c), handed to the
 * firmware through fw_cfg: etc/acpi/tables, etc/acpi/rsdp and the
 * etc/table-loader commands that place and link them.
 */
#ifndef HW_I386_ACPI_BUILD_H
#define HW_I386_ACPI_BUILD_H
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/acpi/bios-linker-loader.h"

#define ACPI_BUILD_TABLE_FILE   "etc/acpi/tables"
#define ACPI_BUILD_RSDP_FILE    "etc/acpi/rsdp"
#define ACPI_BUILD_LOADER_FILE  "etc/table-loader"

#define ACPI_MAX_SERIAL_PORTS   4

typedef struct AcpiSerialPort {
    uint16_t iobase;
    uint8_t irq;
} AcpiSerialPort;

/*
 * pc: a bus of ACPI PCI hotplug (hw/acpi/pcihp.c), as the DSDT describes
 * it: pci.0 (\_SB.PCI0) or the bus behind a cold-plugged bridge (a
 * Device (Sxx) in its parent's scope, xx the bridge's devfn).
 */
typedef struct AcpiPciHpBus AcpiPciHpBus;
struct AcpiPciHpBus {
    int bsel;                       /* BSEL; -1: pci.0 is not served */
    uint8_t devfn;                  /* the bridge's, on its parent bus */
    /* By slot, what its function 0 is (QEMU 7.2 describes a served bus's
     * present functions 0 and its empty slots, docs/hotplug.md): */
    uint32_t present;               /* a function 0 is there */
    uint32_t removable;             /* ... and may be hot-removed: _SUN,
                                       _EJ0 (an empty slot has them too) */
    uint32_t vga;                   /* ... a VGA controller: _S1D-_S3D */
    uint32_t isa_bridge;            /* ... the ISA bridge, which is
                                       \_SB.PCI0.ISA here: left out */
    uint8_t end_slot;               /* nothing described from this slot on
                                       (32; a PCIe bus: its first empty
                                       slot after 0, as QEMU 7.2) */
    unsigned nr_bridges;
    AcpiPciHpBus *bridges;          /* served buses behind its bridges, in
                                       QEMU's order (PCNT calls them so) */
};

/* What the tables describe; acpi_pc_config() reads it off the machine. */
typedef struct AcpiPcConfig {
    unsigned nr_cpus;               /* present CPUs */
    unsigned max_cpus;
    uint32_t *apic_ids;             /* nr_cpus entries (g_free) */
    bool hpet;
    uint32_t hpet_block_id;         /* HPET capabilities bits 31..0 */
    bool i8042;                     /* keyboard controller at 0x60/0x64 */
    unsigned nr_serials;
    AcpiSerialPort serials[ACPI_MAX_SERIAL_PORTS];
    uint32_t pci_hole_start;        /* 32-bit PCI window [start, end] */
    uint32_t pci_hole_end;
    uint64_t pci_hole64_start;      /* 64-bit window; size 0 = none */
    uint64_t pci_hole64_size;
    bool s4;                        /* offer \_S4 (PIIX4_PM.disable_s4=0) */
    /* The chipset: PIIX4 PM blocks (pc) or ICH9 (q35). */
    bool q35;                       /* MCH/ICH9: PCIe root, MCFG, LNKA-H */
    uint16_t pm_base;               /* PM1a_EVT; CNT at +4, TMR at +8 */
    uint16_t gpe0_base;
    uint8_t gpe0_len;
    uint8_t acpi_enable, acpi_disable;  /* SMI_CMD values */
    uint64_t mcfg_base;             /* q35: the ECAM window for MCFG */
    uint64_t mcfg_size;
    uint8_t pirq_of[32][4];         /* q35: slot/pin -> PIRQ 0-7 (A-H) */
    /* ACPI PCI hotplug (hw/acpi/pcihp.c): the register block (0xae00 on
     * pc, 0x0cc0 on q35), and the buses it serves from the root bus down
     * (bridges: g_free'd tree). */
    bool pci_hotplug;
    uint16_t pcihp_io_base;
    AcpiPciHpBus pcihp_root;
    uint32_t mem_slots;             /* ACPI memory hotplug (-m slots=) */
    /* ACPI CPU hotplug (hw/acpi/cpu-hotplug.c, hw/i386/acpi-cpuhp.c):
     * \_SB.CPUS with a device per possible CPU and \_GPE._E02; the MADT
     * lists all max_cpus CPUs, the absent ones not enabled. */
    bool cpu_hotplug;
    uint16_t cpuhp_base;
    uint32_t *slot_apic_ids;        /* max_cpus entries (g_free) */
    bool *slot_present;             /* max_cpus entries (g_free) */
    /* Guest NUMA (-numa, system/numa.h): an SRAT, and a SLIT when
     * -numa dist was given; 0 nodes: neither. */
    unsigned numa_nodes;
    uint64_t *numa_node_mem;        /* numa_nodes entries (g_free) */
    uint32_t *numa_cpu_apic_ids;    /* max_cpus entries (g_free) */
    uint32_t *numa_cpu_nodes;       /* max_cpus entries (g_free) */
    uint8_t *numa_distance;         /* [src * numa_nodes + dst]; NULL: none */
    uint64_t below_4g_mem_size;     /* RAM below the 32-bit PCI hole */
    uint64_t hotplug_mem_base;      /* the pc-dimm area; size 0 = none */
    uint64_t hotplug_mem_size;
    /* -device vmgenid (hw/acpi/vmgenid.c): its SSDT and GUID blob */
    bool vmgenid;
    uint8_t vmgenid_guid[16];
} AcpiPcConfig;

typedef struct AcpiBuildTables {
    GByteArray *table_data;         /* etc/acpi/tables */
    GByteArray *rsdp;               /* etc/acpi/rsdp */
    BIOSLinker *linker;             /* etc/table-loader: linker->cmds */
    GByteArray *vmgenid;            /* etc/vmgenid_guid (empty: none) */
} AcpiBuildTables;

void acpi_pc_config(MachineState *ms, AcpiPcConfig *cfg);
void acpi_pc_config_cleanup(AcpiPcConfig *cfg);

/* hw/i386/acpi-cpuhp.c: the CPU hotplug objects of the DSDT. */
typedef struct Aml Aml;
void acpi_build_cpus_hotplug(Aml *sb, const AcpiPcConfig *cfg);
Aml *acpi_build_gpe_e02(void);
/* A MADT processor entry (Local APIC, or Local x2APIC above 254). */
void acpi_madt_cpu_entry(GByteArray *t, unsigned uid, uint32_t apic_id,
                         bool enabled);
/* The q35 part of acpi_pc_config() (hw/pci-host/q35.h is active). */
void acpi_q35_config(AcpiPcConfig *cfg);

/* Pure: builds every table from @cfg. */
void acpi_build(const AcpiPcConfig *cfg, AcpiBuildTables *tables);
void acpi_build_tables_cleanup(AcpiBuildTables *tables);

/* The DSDT's AML body (no header), for tests and debugging. */
GByteArray *acpi_build_dsdt_aml(const AcpiPcConfig *cfg);

#endif
