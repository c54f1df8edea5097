/*
 * ACPI tables for the "pc" machine (i440FX + PIIX3/PIIX4).
 *
 * Spec: ACPI 6.4 (tables written to the revision each table names):
 *   5.2.5   RSDP, revision 0 (ACPI 1.0 layout), pointing to the RSDT —
 *           what QEMU's pc machine hands out, so every guest (old Windows
 *           included) finds the tables where it expects.
 *   5.2.7   RSDT (32-bit entries)
 *   5.2.9   FADT, revision 3 (ACPI 2.0 layout, 244 bytes): the PIIX4 PM
 *           blocks (pc-layout.h), SCI 9, SMI_CMD 0xb2 with ACPI_ENABLE
 *           0xf1 / ACPI_DISABLE 0xf0, the 0xcf9 reset register (value 6),
 *           X_ addresses equal to the 32-bit ones (FACS: 32-bit only).
 *   5.2.10  FACS, 5.2.11.1 DSDT (revision 1, AML built by aml-build.c)
 *   5.2.12  MADT (Local APIC / x2APIC per CPU, I/O APIC, interrupt source
 *           overrides as QEMU's pc: IRQ0 -> GSI2, IRQ 5/9/10/11 level
 *           active-high; Local APIC NMI on LINT1)
 *   5.2.16  SRAT, revision 1, with -numa: a Processor Local APIC (or
 *           x2APIC, 5.2.16.3) Affinity entry per possible CPU, Memory
 *           Affinity entries per node's RAM cut around the 640K-1M and
 *           32-bit PCI holes as QEMU lays them, disabled padding entries
 *           up to nodes + 2, and the pc-dimm area (hot-pluggable, on the
 *           last node) when maxmem > size
 *   5.2.17  SLIT, revision 1, when -numa dist gave distances
 *   IA-PC HPET spec 1.0a, 3.2.4 "The ACPI 2.0 HPET Description Table"
 *   Microsoft "Windows ACPI Emulated Devices Table" (WAET)
 * The DSDT follows the structure of QEMU's pc DSDT: \_SB.PCI0 with its
 * _CRS windows and a static _PRT that routes INTA-D of each slot to the
 * PIIX3 links LNKA-LNKD ((slot + pin - 1) mod 4, slot 1 INTA -> LNKS, the
 * SCI), link devices that read and write the PIRQ route registers (PCI
 * config 00:01.0 offset 0x60) through an OperationRegion, the ISA devices
 * under \_SB.PCI0.ISA, the fw_cfg device (QEMU0002), the HPET, one
 * Processor object per CPU and \_S5.  With ACPI PCI hotplug (the default;
 * hw/acpi/pcihp.c) \_SB.PCI0 has QEMU 7.2's hotplug AML: the PCIU/PCID,
 * B0EJ and BNUM/PIDX fields over 0xae00, the BLCK mutex, PCEJ, AIDX and
 * PDSM (acpi-index: PCI Firmware spec 3.3, 4.6.7, _DSM function 7), BSEL
 * 0, one Device (Sxx) per function-0 slot (xx = devfn; _ADR, ASUN, _DSM
 * -> PDSM, and _SUN, _EJ0 -> PCEJ (BSEL, _SUN) when it may be ejected),
 * DVNT/PCNT notifying the slots in PCIU (device check, 1) and PCID (eject
 * request, 3), and \_GPE._E01 -> PCNT.
 * Each cold-plugged pci-bridge with hotplug behind it is a Device (Sxx)
 * there with its own BSEL, slots, DVNT and PCNT, which its parent's PCNT
 * calls (build_pcihp_bus).
 *
 * On q35 (cfg->q35) the same tables describe the MCH/ICH9 machine as
 * QEMU's q35: \_SB.PCI0 is a PCI Express root (_HID PNP0A08, _CID
 * PNP0A03), its ISA bridge is the ICH9 LPC at 1F.0, _PRT returns PRTA
 * (GSI links GSIA-GSIH: IOAPIC inputs 16-23) once the OS called \_PIC(1),
 * else PRTP (LNKA-LNKH over the PIRQx_ROUT registers at LPC 60h-63h and
 * 68h-6Bh), from the ICH9 routing of each slot; the FADT names the ICH9
 * PM blocks (PMBASE 0x600, GPE0 at +20h, 16 bytes; ACPI enable/disable
 * 02h/03h) and an MCFG table lists the ECAM window (PCI Firmware spec
 * 3.0, 4.1.2).  PCI0 has QEMU 7.2's q35 _OSC, and with the ICH9's ACPI
 * PCI hotplug (its default) the same hotplug AML over 0x0cc0, without a
 * BSEL on pcie.0: the root ports' links (slot 0 only), switches' buses
 * and bridges' buses are the Device (Sxx) scopes with selectors.
 *
 * Blob layout (etc/acpi/tables, 64-byte aligned, high zone): FACS first
 * (it must be 64-byte aligned), then DSDT, FACP, APIC, the vmgenid SSDT
 * (with -device vmgenid: QEMU 7.2's, hw/acpi/vmgenid.c, whose GUID blob
 * etc/vmgenid_guid is a second allocation), HPET, SRAT, SLIT, MCFG, WAET,
 * RSDT.
 * Checksums and pointers are left to the firmware's linker (table-loader).
 */
#include "qemu/osdep.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/pc-layout.h"
#include "hw/i386/x86.h"
#include "hw/acpi/aml-build.h"
#include "hw/acpi/piix4-pm.h"
#include "hw/acpi/pcihp.h"
#include "hw/pci/pci_bridge.h"
#include "hw/acpi/memory_hotplug.h"
#include "hw/i386/pc.h"
#include "hw/acpi/cpu-hotplug.h"
#include "hw/i386/x86-cpu-hotplug.h"
#include "hw/pci/pci.h"
#include "hw/pci-host/q35.h"
#include "hw/char/serial.h"
#include "hw/input/i8042.h"
#include "hw/qdev.h"
#include "system/memory.h"
#include "target/i386/cpu.h"
#include "system/numa.h"
#include "hw/acpi/vmgenid.h"

/* Table revisions. */
#define ACPI_DSDT_REV       1
#define ACPI_FADT_REV       3
#define ACPI_MADT_REV       1
#define ACPI_MADT_REV_X2APIC 3
#define ACPI_HPET_REV       1
#define ACPI_WAET_REV       1
#define ACPI_RSDT_REV       1
#define ACPI_MCFG_REV       1

#define ACPI_FACS_SIZE      64
#define ACPI_FADT_SIZE      244
#define ACPI_RSDP_SIZE      20
#define ACPI_TABLES_ALIGN   64
#define ACPI_RSDP_ALIGN     16

/* FADT fields (5.2.9, Table 5.34): offsets of what the linker patches. */
#define FADT_FIRMWARE_CTRL  36
#define FADT_DSDT           40
#define FADT_X_DSDT         140
#define FADT_INT_MODEL_APIC 1
#define FADT_C2_C3_NONE     0x0fff      /* latency > 100/1000: no C2/C3 */
#define FADT_RTC_CENTURY    0x32        /* CMOS century register */
#define FADT_RESET_VALUE    0x06        /* PIIX RCR: SRST | RCPU */

/* FADT Fixed Feature Flags (Table 5.35). */
#define FADT_F_WBINVD               (1u << 0)
#define FADT_F_PROC_C1              (1u << 2)
#define FADT_F_SLP_BUTTON           (1u << 5)   /* no fixed sleep button */
#define FADT_F_RTC_S4               (1u << 7)
#define FADT_F_RESET_REG_SUP        (1u << 10)
#define FADT_F_USE_PLATFORM_CLOCK   (1u << 15)
#define FADT_F_APIC_CLUSTER         (1u << 18)
/* IA-PC Boot Architecture Flags (Table 5.36). */
#define FADT_ARCH_LEGACY_DEVICES    (1u << 0)
#define FADT_ARCH_8042              (1u << 1)

/* Generic Address Structure address space IDs. */
#define GAS_SYSTEM_MEMORY   0
#define GAS_SYSTEM_IO       1

/* SRAT (5.2.16) and SLIT (5.2.17). */
#define ACPI_SRAT_REV               1
#define ACPI_SLIT_REV               1
#define SRAT_TYPE_LAPIC             0
#define SRAT_TYPE_MEMORY            1
#define SRAT_TYPE_X2APIC            2
#define SRAT_ENABLED                1
#define SRAT_HOTPLUGGABLE           2
#define SRAT_HOLE_640K_START        (640 * KiB)
#define SRAT_HOLE_640K_END          (1 * MiB)

/* MADT (5.2.12). */
#define MADT_FLAG_PCAT_COMPAT       1
#define MADT_TYPE_LAPIC             0
#define MADT_TYPE_IOAPIC            1
#define MADT_TYPE_ISO               2
#define MADT_TYPE_LAPIC_NMI         4
#define MADT_TYPE_X2APIC            9
#define MADT_TYPE_X2APIC_NMI        10
#define MADT_LAPIC_ENABLED          1
#define MADT_ISO_LEVEL_HIGH         0x000d  /* active high, level */
#define MADT_NMI_ALL_CPUS           0xff
#define MADT_X2APIC_NMI_ALL_CPUS    0xffffffffu
#define MADT_LINT1                  1
#define MADT_XAPIC_MAX_ID           0xfe
#define PC_IRQ0_GSI                 2
/* ISA IRQs that are level-triggered, active high: PCI links and the SCI. */
static const uint8_t madt_level_irqs[] = { 5, 9, 10, 11 };

/* WAET: the PM timer is reliable (no need to read it twice). */
#define WAET_PM_TIMER_GOOD          (1u << 1)

/* DSDT facts. */
#define PCI_SLOTS               32
#define PCI_PINS                4
#define PIIX3_PIRQRC_OFFSET     0x60    /* PIRQ[A-D] route control */
#define PIIX3_PIRQ_DISABLED     0x80
#define PCI_LINK_IRQS           { 5, 10, 11 }
#define ACPI_STA_PRESENT_ON     0x0b    /* present, enabled, functioning */
#define ACPI_STA_PRESENT_OFF    0x09    /* present, functioning, disabled */
#define ACPI_STA_ALL            0x0f
#define PC_VGA_MEM_START        0x000a0000
#define PC_VGA_MEM_END          0x000bffff
#define FW_CFG_ACPI_IO_LEN      0x0c

/* ---- configuration from the machine ------------------------------------ */

static bool device_prop_u32(DeviceState *dev, const char *name,
                            uint32_t *out)
{
    const Property *p = device_type_find_prop(dev->type, name);
    g_autofree char *v = NULL;
    uint64_t n;

    if (!p) {
        return false;
    }
    v = device_get_prop_str(dev, p);
    if (!parse_uint(v, &n, NULL) || n > UINT32_MAX) {
        return false;
    }
    *out = n;
    return true;
}

static void acpi_find_devices(AcpiPcConfig *cfg)
{
    GPtrArray *devs = device_list();

    for (unsigned i = 0; devs && i < devs->len; i++) {
        DeviceState *dev = g_ptr_array_index(devs, i);
        uint32_t iobase, irq;

        if (!strcmp(dev->type->name, TYPE_I8042)) {
            cfg->i8042 = true;
        }
        if (!strcmp(dev->type->name, TYPE_ISA_SERIAL) &&
            cfg->nr_serials < ACPI_MAX_SERIAL_PORTS &&
            device_prop_u32(dev, "iobase", &iobase) && iobase <= 0xfff8 &&
            device_prop_u32(dev, "irq", &irq) && irq < 16) {
            cfg->serials[cfg->nr_serials++] =
                (AcpiSerialPort){ .iobase = iobase, .irq = irq };
        }
    }
}

static void acpi_pcihp_collect_child(PCIBus *child, void *opaque)
{
    if (pci_bus_acpi_bsel(child) >= 0) {
        g_ptr_array_add(opaque, child);
    }
}

/*
 * QEMU 7.2 stops describing a served PCI Express bus (a link, a switch's
 * internal bus) at its first empty slot after slot 0: a link gets slot 0
 * only, a switch's bus its ports up to the first gap.
 */
static uint8_t acpi_pcihp_end_slot(PCIBus *bus, int bsel)
{
    PCIEBusKind kind = pcie_bus_kind(bus);

    if (bsel < 0 || (kind != PCIE_BUS_LINK && kind != PCIE_BUS_SWITCH)) {
        return PCI_SLOT_MAX;
    }
    for (unsigned slot = 1; slot < PCI_SLOT_MAX; slot++) {
        if (!pci_find_device(bus, PCI_DEVFN(slot, 0))) {
            return slot;
        }
    }
    return PCI_SLOT_MAX;
}

/* What the functions 0 of @bus are (AcpiPciHpBus.present and the rest). */
static void acpi_pcihp_slots_fill(AcpiPciHpBus *b, PCIBus *bus)
{
    b->present = b->removable = b->vga = b->isa_bridge = 0;
    for (unsigned slot = 0; slot < PCI_SLOT_MAX; slot++) {
        PCIDevice *d = pci_find_device(bus, PCI_DEVFN(slot, 0));
        uint16_t class_id;
        uint32_t bit = 1u << slot;

        if (!d) {
            continue;
        }
        class_id = pci_get_word(d->config + PCI_CLASS_DEVICE);
        b->present |= bit;
        if (class_id == PCI_CLASS_DISPLAY_VGA) {
            b->vga |= bit;
        } else if (class_id == PCI_CLASS_BRIDGE_ISA) {
            b->isa_bridge |= bit;
        }
        if (!pci_device_no_hotplug(d)) {
            b->removable |= bit;
        }
    }
}

/* A served bus: what its slots hold and the served buses behind its
 * bridges, in QEMU's child order. */
static void acpi_pcihp_bus_fill(AcpiPciHpBus *b, PCIBus *bus)
{
    g_autoptr(GPtrArray) kids = g_ptr_array_new();

    b->bsel = pci_bus_acpi_bsel(bus);
    b->end_slot = acpi_pcihp_end_slot(bus, b->bsel);
    acpi_pcihp_slots_fill(b, bus);
    pci_for_each_child_bus(bus, acpi_pcihp_collect_child, kids);
    b->nr_bridges = kids->len;
    b->bridges = kids->len ? g_new0(AcpiPciHpBus, kids->len) : NULL;
    for (unsigned i = 0; i < kids->len; i++) {
        PCIBus *kid = g_ptr_array_index(kids, i);
        b->bridges[i].devfn = pci_bus_bridge(kid)->devfn;
        acpi_pcihp_bus_fill(&b->bridges[i], kid);
    }
}

static void acpi_pcihp_bus_free(AcpiPciHpBus *b)
{
    for (unsigned i = 0; i < b->nr_bridges; i++) {
        acpi_pcihp_bus_free(&b->bridges[i]);
    }
    g_clear_pointer(&b->bridges, g_free);
    b->nr_bridges = 0;
}

/* ACPI PCI hotplug's block (PIIX4 PM or ICH9 LPC) and the buses it
 * serves. */
static void acpi_find_pcihp(AcpiPcConfig *cfg)
{
    PCIBus *bus = pci_root_bus();
    const AcpiPciHpState *hp = acpi_pcihp_current();

    if (!bus || !hp || !hp->ready) {
        return;
    }
    cfg->pci_hotplug = true;
    cfg->pcihp_io_base = hp->io_base;
    acpi_pcihp_bus_fill(&cfg->pcihp_root, bus);
}

/* The HPET's capabilities register: vendor 0 or all-ones = no HPET. */
static void acpi_find_hpet(MachineState *ms, AcpiPcConfig *cfg)
{
    uint64_t cap = 0;
    uint32_t vendor;

    if (!ms->enable_hpet ||
        address_space_read_val(&address_space_memory, PC_HPET_BASE, &cap,
                               4) != MEMTX_OK) {
        return;
    }
    vendor = (uint32_t)cap >> 16;
    if (vendor != 0 && vendor != 0xffff) {
        cfg->hpet = true;
        cfg->hpet_block_id = cap;
    }
}

/* With the PM function's CPU hotplug block: every possible CPU. */
static void acpi_find_cpu_slots(AcpiPcConfig *cfg)
{
    if (!acpi_cpuhp_controller() ||
        x86_cpu_hotplug_slot_count() != cfg->max_cpus) {
        return;
    }
    cfg->cpu_hotplug = true;
    cfg->cpuhp_base = q35_machine_active() ? ACPI_CPUHP_ICH9_BASE
                                           : ACPI_CPUHP_PIIX4_BASE;
    cfg->slot_apic_ids = g_new(uint32_t, cfg->max_cpus);
    cfg->slot_present = g_new(bool, cfg->max_cpus);
    for (unsigned i = 0; i < cfg->max_cpus; i++) {
        cfg->slot_apic_ids[i] = x86_cpu_hotplug_slot_apic_id(i);
        cfg->slot_present[i] = x86_cpu_hotplug_slot_present(i);
    }
}

/* -numa: each node's RAM, each possible CPU's node, the distances. */
static void acpi_find_numa(MachineState *ms, AcpiPcConfig *cfg,
                           const X86CPUTopoInfo *topo)
{
    unsigned n = numa_node_count(ms);

    cfg->below_4g_mem_size = ms->below_4g_mem_size;
    cfg->hotplug_mem_base = ms->device_memory_base;
    cfg->hotplug_mem_size = ms->device_memory_size;
    if (!n) {
        return;
    }
    cfg->numa_nodes = n;
    cfg->numa_node_mem = g_new(uint64_t, n);
    for (unsigned i = 0; i < n; i++) {
        cfg->numa_node_mem[i] = ms->numa->nodes[i].node_mem;
    }
    cfg->numa_cpu_apic_ids = g_new(uint32_t, cfg->max_cpus);
    cfg->numa_cpu_nodes = g_new(uint32_t, cfg->max_cpus);
    for (unsigned i = 0; i < cfg->max_cpus; i++) {
        cfg->numa_cpu_apic_ids[i] = x86_apicid_from_cpu_idx(topo, i);
        cfg->numa_cpu_nodes[i] = MAX(numa_cpu_node(ms, i), 0);
    }
    if (ms->numa->have_numa_distance) {
        cfg->numa_distance = g_new(uint8_t, n * n);
        for (unsigned s = 0; s < n; s++) {
            for (unsigned d = 0; d < n; d++) {
                cfg->numa_distance[s * n + d] =
                    ms->numa->nodes[s].distance[d];
            }
        }
    }
}

void acpi_pc_config(MachineState *ms, AcpiPcConfig *cfg)
{
    X86CPUTopoInfo topo;

    *cfg = (AcpiPcConfig){ 0 };
    x86_topo_info_from_smp(&ms->smp, &topo);
    cfg->nr_cpus = MAX(ms->smp.cpus, 1);
    cfg->max_cpus = MAX(ms->smp.max_cpus, cfg->nr_cpus);
    cfg->apic_ids = g_new(uint32_t, cfg->nr_cpus);
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        cfg->apic_ids[i] = x86_apicid_from_cpu_idx(&topo, i);
    }
    acpi_find_cpu_slots(cfg);
    acpi_find_numa(ms, cfg, &topo);
    acpi_find_hpet(ms, cfg);
    acpi_find_devices(cfg);
    acpi_find_pcihp(cfg);
    if (acpi_memory_hotplug_current()) {
        cfg->mem_slots = acpi_memory_hotplug_current()->dev_count;
    }
    cfg->vmgenid = vmgenid_current_guid(cfg->vmgenid_guid);
    cfg->pci_hole_start = ms->below_4g_mem_size;
    cfg->pci_hole_end = PC_IOAPIC_BASE - 1;
    cfg->pci_hole64_start = pc_pci_hole64_start(ms);
    cfg->pci_hole64_size = PC_PCI_HOLE64_SIZE;
    cfg->s4 = piix4_pm_s4_offered();
    cfg->pm_base = PC_ACPI_PM_BASE;
    cfg->gpe0_base = PC_ACPI_GPE0_BASE;
    cfg->gpe0_len = PC_ACPI_GPE0_LEN;
    cfg->acpi_enable = PC_ACPI_ENABLE;
    cfg->acpi_disable = PC_ACPI_DISABLE;
    if (q35_machine_active()) {
        acpi_q35_config(cfg);
    }
}

/*
 * q35: the ECAM window as firmware programs it (the tables are built at
 * reset, before SeaBIOS enables PCIEXBAR at its default address), the
 * 32-bit hole above the largest window, the ICH9 blocks and routing.
 */
void acpi_q35_config(AcpiPcConfig *cfg)
{
    uint64_t base = MCH_PCIEXBAR_DEFAULT, size = MCH_PCIEXBAR_MAX;

    cfg->q35 = true;
    cfg->s4 = ich9_lpc_s4_offered();
    q35_ecam_window(&base, &size);
    cfg->mcfg_base = base;
    cfg->mcfg_size = size;
    if (base + MCH_PCIEXBAR_MAX > cfg->pci_hole_start &&
        base + MCH_PCIEXBAR_MAX <= cfg->pci_hole_end) {
        cfg->pci_hole_start = base + MCH_PCIEXBAR_MAX;
    }
    cfg->pci_hole64_size = Q35_PCI_HOLE64_SIZE;
    cfg->pm_base = Q35_ACPI_PM_BASE;
    cfg->gpe0_base = Q35_ACPI_PM_BASE + ICH9_PMIO_GPE0_STS;
    cfg->gpe0_len = ICH9_PMIO_GPE0_LEN;
    cfg->acpi_enable = ICH9_APM_ACPI_ENABLE;
    cfg->acpi_disable = ICH9_APM_ACPI_DISABLE;
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < PCI_PINS; pin++) {
            cfg->pirq_of[slot][pin] = ich9_lpc_route(slot, pin) & 7;
        }
    }
}

void acpi_pc_config_cleanup(AcpiPcConfig *cfg)
{
    g_free(cfg->apic_ids);
    cfg->apic_ids = NULL;
    g_clear_pointer(&cfg->slot_apic_ids, g_free);
    g_clear_pointer(&cfg->slot_present, g_free);
    g_clear_pointer(&cfg->numa_node_mem, g_free);
    g_clear_pointer(&cfg->numa_cpu_apic_ids, g_free);
    g_clear_pointer(&cfg->numa_cpu_nodes, g_free);
    g_clear_pointer(&cfg->numa_distance, g_free);
    acpi_pcihp_bus_free(&cfg->pcihp_root);
}

/* ---- DSDT ---------------------------------------------------------------- */

static Aml *named_int(const char *name, uint64_t v)
{
    return aml_name_decl(name, aml_int(v));
}

static Aml *build_pci0_crs(const AcpiPcConfig *cfg)
{
    Aml *crs = aml_resource_template();

    aml_append(crs, aml_word_bus_number(0x00, 0xff));
    aml_append(crs, aml_io(AML_DEC16, PC_PCI_CONFIG_ADDR, PC_PCI_CONFIG_ADDR,
                           0x01, 0x08));
    aml_append(crs, aml_word_io(0x0000, PC_PCI_CONFIG_ADDR - 1));
    aml_append(crs, aml_word_io(0x0d00, 0xffff));
    aml_append(crs, aml_dword_memory(AML_CACHEABLE, PC_VGA_MEM_START,
                                     PC_VGA_MEM_END));
    if (cfg->pci_hole_start < cfg->pci_hole_end) {
        aml_append(crs, aml_dword_memory(AML_NON_CACHEABLE,
                                         cfg->pci_hole_start,
                                         cfg->pci_hole_end));
    }
    if (cfg->pci_hole64_size) {
        aml_append(crs, aml_qword_memory(AML_CACHEABLE, cfg->pci_hole64_start,
                                         cfg->pci_hole64_start +
                                         cfg->pci_hole64_size - 1));
    }
    return crs;
}

/* PIIX3 routing: slot s pin p -> link (s + p - 1) mod 4; 01.0 INTA: SCI. */
static const char *prt_link(unsigned slot, unsigned pin)
{
    static const char *const links[] = { "LNKA", "LNKB", "LNKC", "LNKD" };

    if (slot == 1 && pin == 0) {
        return "LNKS";
    }
    return links[(slot + pin + PCI_PINS - 1) % PCI_PINS];
}

static Aml *build_prt(void)
{
    Aml *prt = aml_package(PCI_SLOTS * PCI_PINS);

    for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < PCI_PINS; pin++) {
            Aml *e = aml_package(4);
            aml_append(e, aml_int((slot << 16) | 0xffff));
            aml_append(e, aml_int(pin));
            aml_append(e, aml_name("%s", prt_link(slot, pin)));
            aml_append(e, aml_int(0));
            aml_append(prt, e);
        }
    }
    return prt;
}

static Aml *build_rtc(void)
{
    Aml *dev = aml_device("RTC");
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0B00")));
    aml_append(crs, aml_io(AML_DEC16, PC_RTC_BASE, PC_RTC_BASE, 0x01, 0x08));
    aml_append(crs, aml_irq_no_flags(PC_RTC_IRQ));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static Aml *build_kbd(void)
{
    Aml *dev = aml_device("KBD");
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0303")));
    aml_append(dev, named_int("_STA", ACPI_STA_ALL));
    aml_append(crs, aml_io(AML_DEC16, PC_I8042_DATA, PC_I8042_DATA, 0x01,
                           0x01));
    aml_append(crs, aml_io(AML_DEC16, PC_I8042_CMD, PC_I8042_CMD, 0x01, 0x01));
    aml_append(crs, aml_irq_no_flags(PC_KBD_IRQ));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static Aml *build_mouse(void)
{
    Aml *dev = aml_device("MOU");
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0F13")));
    aml_append(dev, named_int("_STA", ACPI_STA_ALL));
    aml_append(crs, aml_irq_no_flags(PC_MOUSE_IRQ));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static Aml *build_com(unsigned uid, const AcpiSerialPort *port)
{
    Aml *dev = aml_device("COM%u", uid);
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0501")));
    aml_append(dev, named_int("_UID", uid));
    aml_append(dev, named_int("_STA", ACPI_STA_ALL));
    aml_append(crs, aml_io(AML_DEC16, port->iobase, port->iobase, 0x00,
                           0x08));
    aml_append(crs, aml_irq_no_flags(port->irq));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

/* PIIX3 (00:01.0) or ICH9 LPC (00:1f.0) and the ISA devices behind it. */
static Aml *build_isa(const AcpiPcConfig *cfg)
{
    Aml *isa = aml_device("ISA");

    if (cfg->q35) {
        aml_append(isa, named_int("_ADR", (ICH9_LPC_DEVFN >> 3) << 16 |
                                          (ICH9_LPC_DEVFN & 7)));
        /* PIRQA-D_ROUT, 4 reserved bytes, PIRQE-H_ROUT */
        aml_append(isa, aml_operation_region("PIRQ", AML_PCI_CONFIG,
                                             aml_int(ICH9_LPC_PIRQA_ROUT),
                                             0x0c));
    } else {
        aml_append(isa, named_int("_ADR", (PC_DEVFN_PIIX3 >> 3) << 16 |
                                          (PC_DEVFN_PIIX3 & 7)));
        aml_append(isa, aml_operation_region("P40C", AML_PCI_CONFIG,
                                             aml_int(PIIX3_PIRQRC_OFFSET),
                                             4));
    }
    aml_append(isa, build_rtc());
    if (cfg->i8042) {
        aml_append(isa, build_kbd());
        aml_append(isa, build_mouse());
    }
    for (unsigned i = 0; i < cfg->nr_serials; i++) {
        aml_append(isa, build_com(i + 1, &cfg->serials[i]));
    }
    return isa;
}

static Aml *build_fw_cfg_dev(void)
{
    Aml *dev = aml_device("FWCF");
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_string("QEMU0002")));
    aml_append(dev, named_int("_STA", ACPI_STA_PRESENT_ON));
    aml_append(crs, aml_io(AML_DEC16, PC_FW_CFG_IO_BASE, PC_FW_CFG_IO_BASE,
                           0x01, FW_CFG_ACPI_IO_LEN));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

/* q35: slot/pin -> "LNKx" (PIC mode) or "GSIx" (APIC mode). */
static Aml *build_q35_prt(const AcpiPcConfig *cfg, const char *prefix)
{
    Aml *prt = aml_package(PCI_SLOTS * PCI_PINS);

    for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < PCI_PINS; pin++) {
            Aml *e = aml_package(4);
            aml_append(e, aml_int((slot << 16) | 0xffff));
            aml_append(e, aml_int(pin));
            aml_append(e, aml_name("%s%c", prefix,
                                   'A' + (cfg->pirq_of[slot][pin] & 7)));
            aml_append(e, aml_int(0));
            aml_append(prt, e);
        }
    }
    return prt;
}

static void build_q35_pci0_prt(Aml *pci, const AcpiPcConfig *cfg)
{
    Aml *m = aml_method("_PRT", 0, false);
    Aml *if_apic = aml_if(aml_name("PICF"));
    Aml *else_pic = aml_else();

    aml_append(pci, aml_name_decl("PRTP", build_q35_prt(cfg, "LNK")));
    aml_append(pci, aml_name_decl("PRTA", build_q35_prt(cfg, "GSI")));
    aml_append(if_apic, aml_return(aml_name("PRTA")));
    aml_append(else_pic, aml_return(aml_name("PRTP")));
    aml_append(m, if_apic);
    aml_append(m, else_pic);
    aml_append(pci, m);
}

/* ---- ACPI PCI hotplug (pc and q35) --------------------------------------- */

static void pcihp_field(Aml *scope, const char *region, uint16_t base,
                        unsigned len, const char *f1, const char *f2)
{
    Aml *field = aml_field(region, AML_DWORD_ACC, AML_NOLOCK,
                           AML_WRITE_AS_ZEROS);

    aml_append(scope, aml_operation_region(region, AML_SYSTEM_IO,
                                           aml_int(base), len));
    aml_append(field, aml_named_field(f1, 32));
    if (f2) {
        aml_append(field, aml_named_field(f2, 32));
    }
    aml_append(scope, field);
}

/* PCEJ (bus, slot): select the bus, eject the slot (_EJ0). */
static Aml *build_pcihp_pcej(void)
{
    Aml *m = aml_method("PCEJ", 2, false);

    aml_append(m, aml_acquire(aml_name("BLCK"), 0xffff));
    aml_append(m, aml_store(aml_arg(0), aml_name("BNUM")));
    aml_append(m, aml_store(aml_shiftleft(aml_int(1), aml_arg(1), NULL),
                            aml_name("B0EJ")));
    aml_append(m, aml_release(aml_name("BLCK")));
    aml_append(m, aml_return(aml_int(0)));
    return m;
}

/* AIDX (bus, slot): the acpi-index of the device in the slot, through
 * PCI_AIDX (PIDX): write the slot bit under the selector, read it back. */
static Aml *build_pcihp_aidx(void)
{
    Aml *m = aml_method("AIDX", 2, false);

    aml_append(m, aml_acquire(aml_name("BLCK"), 0xffff));
    aml_append(m, aml_store(aml_arg(0), aml_name("BNUM")));
    aml_append(m, aml_store(aml_shiftleft(aml_int(1), aml_arg(1), NULL),
                            aml_name("PIDX")));
    aml_append(m, aml_store(aml_name("PIDX"), aml_local(0)));
    aml_append(m, aml_release(aml_name("BLCK")));
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* AIDX of the {BSEL, slot} package PDSM was given (Arg4), into Local2. */
static Aml *pdsm_fetch_acpi_index(void)
{
    return aml_store(aml_call2("AIDX",
                               aml_derefof(aml_index(aml_arg(4), aml_int(0))),
                               aml_derefof(aml_index(aml_arg(4), aml_int(1)))),
                     aml_local(2));
}

/* "Local2 is an index": neither 0 (none) nor all-ones (what an older
 * block without PCI_AIDX would read).  @bitwise: QEMU 7.2's function 0
 * tests with Or, its function 7 with LOr (same truth, other bytes). */
static Aml *pdsm_has_acpi_index(bool bitwise)
{
    Aml *none = aml_equal(aml_local(2), aml_int(0));
    Aml *old = aml_equal(aml_local(2), aml_int(0xffffffff));

    return aml_lnot(bitwise ? aml_or(none, old, NULL) : aml_lor(none, old));
}

/* PDSM function 0: the supported-functions bitmap (bit 0: any; bit 7:
 * function 7, only when the slot's device has an acpi-index and the
 * caller speaks revision 2 or later of the Device Labeling UUID). */
static Aml *build_pdsm_function0(void)
{
    /* E5C937D0-3553-4D7A-9117-EA4D19C3434D (PCI Firmware 3.3, 4.6) */
    static const uint8_t pci_dsm_uuid[16] = {
        0xd0, 0x37, 0xc9, 0xe5, 0x53, 0x35, 0x7a, 0x4d,
        0x91, 0x17, 0xea, 0x4d, 0x19, 0xc3, 0x43, 0x4d,
    };
    static const uint8_t no_functions[1] = { 0 };
    Aml *f0 = aml_if(aml_equal(aml_arg(2), aml_int(0)));
    Aml *bad_uuid = aml_if(aml_lnot(aml_equal(aml_arg(0),
                                              aml_buffer(16, pci_dsm_uuid))));
    Aml *old_rev = aml_if(aml_lless(aml_arg(1), aml_int(2)));
    Aml *has = aml_if(pdsm_has_acpi_index(true));

    aml_append(f0, aml_store(aml_buffer(1, no_functions), aml_local(0)));
    aml_append(f0, aml_store(aml_int(0), aml_local(1)));
    aml_append(bad_uuid, aml_return(aml_local(0)));
    aml_append(f0, bad_uuid);
    aml_append(old_rev, aml_return(aml_local(0)));
    aml_append(f0, old_rev);
    aml_append(f0, pdsm_fetch_acpi_index());
    aml_append(has, aml_or(aml_local(1), aml_int(1), aml_local(1)));
    aml_append(has, aml_or(aml_local(1),
                           aml_shiftleft(aml_int(1), aml_int(7), NULL),
                           aml_local(1)));
    aml_append(f0, has);
    aml_append(f0, aml_store(aml_local(1), aml_index(aml_local(0),
                                                     aml_int(0))));
    aml_append(f0, aml_return(aml_local(0)));
    return f0;
}

/* PDSM function 7 (PCI Firmware 3.3, 4.6.7, "DSM for Naming a PCI or PCI
 * Express Device Under Operating Systems"): Package {instance number,
 * label}; the label is left empty, as QEMU does. */
static Aml *build_pdsm_function7(void)
{
    Aml *f7 = aml_if(aml_equal(aml_arg(2), aml_int(7)));
    Aml *has = aml_if(pdsm_has_acpi_index(false));

    aml_append(f7, pdsm_fetch_acpi_index());
    aml_append(f7, aml_store(aml_package(2), aml_local(0)));
    aml_append(has, aml_store(aml_local(2), aml_index(aml_local(0),
                                                      aml_int(0))));
    aml_append(has, aml_store(aml_string("%s", ""),
                              aml_index(aml_local(0), aml_int(1))));
    aml_append(f7, has);
    aml_append(f7, aml_return(aml_local(0)));
    return f7;
}

/* PDSM (UUID, revision, function, arguments, {BSEL, slot}): every slot
 * object's _DSM calls it (QEMU 7.2's AML, byte for byte). */
static Aml *build_pcihp_pdsm(void)
{
    Aml *m = aml_method("PDSM", 5, true);

    aml_append(m, build_pdsm_function0());
    aml_append(m, build_pdsm_function7());
    return m;
}

/* The registers at @base, the lock, PCEJ, AIDX and PDSM (QEMU's
 * build_x86_acpi_pci_hotplug). */
static void build_pcihp_registers(Aml *pci, uint16_t base)
{
    pcihp_field(pci, "PCST", base + ACPI_PCIHP_UP, 8, "PCIU", "PCID");
    pcihp_field(pci, "SEJ", base + ACPI_PCIHP_EJ, 4, "B0EJ", NULL);
    pcihp_field(pci, "BNMR", base + ACPI_PCIHP_SEL, 8, "BNUM", "PIDX");
    aml_append(pci, aml_mutex("BLCK", 0));
    aml_append(pci, build_pcihp_pcej());
    aml_append(pci, build_pcihp_aidx());
    aml_append(pci, build_pcihp_pdsm());
}

/* A slot object's _DSM: PDSM with {BSEL, ASUN} (ASUN, not _SUN, which
 * would change the order Linux enumerates slots in; QEMU's reason). */
static Aml *build_pcihp_slot_dsm(void)
{
    Aml *m = aml_method("_DSM", 4, true);
    Aml *params = aml_package(2);

    aml_append(params, aml_name("BSEL"));
    aml_append(params, aml_name("ASUN"));
    aml_append(m, aml_store(params, aml_local(0)));
    aml_append(m, aml_return(aml_call5("PDSM", aml_arg(0), aml_arg(1),
                                       aml_arg(2), aml_arg(3),
                                       aml_local(0))));
    return m;
}

/* A display controller's _S1D-_S3D: D0 is the deepest state it may enter
 * while the system sleeps (QEMU 7.2's VGA; 3 for qxl-vga, absent here). */
static void build_pcihp_vga_methods(Aml *dev)
{
    static const char *const names[] = { "_S1D", "_S2D", "_S3D" };

    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        Aml *m = aml_method(names[i], 0, false);
        aml_append(m, aml_return(aml_int(0)));
        aml_append(dev, m);
    }
}

/* _SUN and _EJ0 -> PCEJ (BSEL, _SUN): the slot may be ejected. */
static void build_pcihp_eject(Aml *dev, unsigned slot)
{
    Aml *ej0 = aml_method("_EJ0", 1, false);

    aml_append(dev, named_int("_SUN", slot));
    aml_append(ej0, aml_call2("PCEJ", aml_name("BSEL"), aml_name("_SUN")));
    aml_append(dev, ej0);
}

typedef enum PcihpSlotKind {
    PCIHP_SLOT_FIXED,       /* a present device that stays */
    PCIHP_SLOT_EJECTABLE,   /* empty, or a removable device: _SUN, _EJ0 */
    PCIHP_SLOT_VGA,         /* a VGA controller: _S1D-_S3D */
} PcihpSlotKind;

/*
 * Device (Sxx) of @devfn on a bus with a selector, as QEMU 7.2: _ADR, ASUN
 * and _DSM (the device's acpi-index, docs/hotplug.md), then what its kind
 * adds.  The caller appends a bridge's bus.
 */
static Aml *build_pcihp_slot(unsigned devfn, PcihpSlotKind kind)
{
    Aml *dev = aml_device("S%02X", devfn);
    unsigned slot = PCI_SLOT(devfn);

    aml_append(dev, named_int("_ADR", (uint64_t)slot << 16 |
                                      PCI_FUNC(devfn)));
    aml_append(dev, named_int("ASUN", slot));
    aml_append(dev, build_pcihp_slot_dsm());
    if (kind == PCIHP_SLOT_VGA) {
        build_pcihp_vga_methods(dev);
    } else if (kind == PCIHP_SLOT_EJECTABLE) {
        build_pcihp_eject(dev, slot);
    }
    return dev;
}

static PcihpSlotKind pcihp_slot_kind(const AcpiPciHpBus *b, unsigned slot)
{
    uint32_t bit = 1u << slot;

    if (b->vga & bit) {
        return PCIHP_SLOT_VGA;
    }
    if (!(b->present & bit) || (b->removable & bit)) {
        return PCIHP_SLOT_EJECTABLE;
    }
    return PCIHP_SLOT_FIXED;
}

/* The served bridge at @devfn of @b, or NULL. */
static const AcpiPciHpBus *pcihp_bridge_at(const AcpiPciHpBus *b,
                                           unsigned devfn)
{
    for (unsigned i = 0; i < b->nr_bridges; i++) {
        if (b->bridges[i].devfn == devfn) {
            return &b->bridges[i];
        }
    }
    return NULL;
}

static void build_pcihp_bus(Aml *scope, const AcpiPciHpBus *b);

/*
 * The object of @devfn on bus @b, or NULL for none; an ejectable slot is
 * added to DVNT's bitmap.  With a selector (QEMU 7.2's rules): every
 * function 0 slot, empty or not, but the ISA bridge (kvmpc's
 * \_SB.PCI0.ISA), and a served bridge at any function.  Without one
 * (pci.0 with acpi-root-pci-hotplug=off): the served bridges, with _ADR.
 */
static Aml *build_pcihp_devfn(const AcpiPciHpBus *b, unsigned devfn,
                              Aml *dvnt)
{
    const AcpiPciHpBus *bridge = pcihp_bridge_at(b, devfn);
    unsigned slot = PCI_SLOT(devfn);
    PcihpSlotKind kind = pcihp_slot_kind(b, slot);
    Aml *dev;

    if (b->bsel < 0) {
        if (!bridge) {
            return NULL;
        }
        dev = aml_device("S%02X", devfn);
        aml_append(dev, named_int("_ADR", (uint64_t)slot << 16 |
                                          PCI_FUNC(devfn)));
    } else if (bridge || (!PCI_FUNC(devfn) &&
                          !(b->isa_bridge & (1u << slot)))) {
        if (bridge && PCI_FUNC(devfn)) {
            kind = PCIHP_SLOT_FIXED;    /* function 0 says what the slot is */
        }
        dev = build_pcihp_slot(devfn, kind);
        if (kind == PCIHP_SLOT_EJECTABLE) {
            Aml *cond = aml_if(aml_and(aml_arg(0), aml_int(1u << slot),
                                       NULL));
            aml_append(cond, aml_notify(aml_name("S%02X", devfn),
                                        aml_arg(1)));
            aml_append(dvnt, cond);
        }
    } else {
        return NULL;
    }
    if (bridge) {
        build_pcihp_bus(dev, bridge);
    }
    return dev;
}

/*
 * The objects of one hotplug bus in @scope (\_SB.PCI0, or a bridge's
 * Device (Sxx)), as QEMU 7.2's build_append_pci_bus_devices: BSEL, in
 * devfn order the slot objects (build_pcihp_devfn; a cold-plugged bridge
 * with a served bus has its own BSEL, slots, DVNT and PCNT inside), then
 * DVNT (notify the ejectable slots in a bitmap) and PCNT: select this
 * bus, device check (1) for PCIU, eject request (3) for PCID, then each
 * bridge's PCNT (^Sxx.PCNT, in QEMU's child order).  pci.0 without a
 * selector (acpi-root-pci-hotplug=off) keeps only the bridges and a PCNT
 * that calls theirs.
 */
static void build_pcihp_bus(Aml *scope, const AcpiPciHpBus *b)
{
    Aml *dvnt = aml_method("DVNT", 2, false);
    Aml *pcnt = aml_method("PCNT", 0, false);

    if (b->bsel >= 0) {
        aml_append(scope, named_int("BSEL", b->bsel));
    }
    for (unsigned devfn = 0; devfn < b->end_slot * PCI_FUNC_MAX; devfn++) {
        Aml *dev = build_pcihp_devfn(b, devfn, dvnt);
        if (dev) {
            aml_append(scope, dev);
        }
    }
    if (b->bsel >= 0) {
        aml_append(scope, dvnt);
        aml_append(pcnt, aml_store(aml_int(b->bsel), aml_name("BNUM")));
        aml_append(pcnt, aml_call2("DVNT", aml_name("PCIU"), aml_int(1)));
        aml_append(pcnt, aml_call2("DVNT", aml_name("PCID"), aml_int(3)));
    }
    for (unsigned i = 0; i < b->nr_bridges; i++) {
        g_autofree char *child = NULL;

        if (PCI_SLOT(b->bridges[i].devfn) >= b->end_slot) {
            continue;       /* not described (acpi_pcihp_end_slot) */
        }
        child = g_strdup_printf("^S%02X.PCNT", b->bridges[i].devfn);
        aml_append(pcnt, aml_call0(child));
    }
    aml_append(scope, pcnt);
}

static Aml *build_gpe_e01(void)
{
    Aml *m = aml_method("_E01", 0, false);

    aml_append(m, aml_acquire(aml_name("\\_SB.PCI0.BLCK"), 0xffff));
    aml_append(m, aml_call0("\\_SB.PCI0.PCNT"));
    aml_append(m, aml_release(aml_name("\\_SB.PCI0.BLCK")));
    return m;
}

/*
 * q35's _OSC (ACPI 6.4 6.2.11; PCI Firmware spec 3.3 4.5.1): grant what
 * the OS asks of the first five control bits (native hotplug, SHPC, PME,
 * AER, PCIe capability), except native PCIe hotplug (bit 0) while ACPI
 * PCI hotplug serves the root ports, as QEMU 7.2's q35.  A revision other
 * than 1 sets "unrecognised revision", a masked request "capabilities
 * masked", another UUID "unrecognised UUID" (CDW1 bits 3, 4, 2).
 */
static Aml *build_q35_osc(bool native_hotplug)
{
    static const uint8_t pci_host_uuid[16] = {   /* 33DB4D5B-1FF7-401C- */
        0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,  /* 9657-7441C03DD766 */
        0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
    };
    Aml *m = aml_method("_OSC", 4, false);
    Aml *ok = aml_if(aml_equal(aml_arg(0),
                               aml_buffer(sizeof(pci_host_uuid),
                                          pci_host_uuid)));
    Aml *rev = aml_if(aml_lnot(aml_equal(aml_arg(1), aml_int(1))));
    Aml *masked = aml_if(aml_lnot(aml_equal(aml_name("CDW3"),
                                            aml_local(0))));
    Aml *other = aml_else();

    aml_append(m, aml_create_dword_field(aml_arg(3), aml_int(0), "CDW1"));
    aml_append(ok, aml_create_dword_field(aml_arg(3), aml_int(4), "CDW2"));
    aml_append(ok, aml_create_dword_field(aml_arg(3), aml_int(8), "CDW3"));
    aml_append(ok, aml_store(aml_name("CDW3"), aml_local(0)));
    aml_append(ok, aml_and(aml_local(0), aml_int(native_hotplug ? 0x1f : 0x1e),
                           aml_local(0)));
    aml_append(rev, aml_or(aml_name("CDW1"), aml_int(0x08), aml_name("CDW1")));
    aml_append(ok, rev);
    aml_append(masked, aml_or(aml_name("CDW1"), aml_int(0x10),
                              aml_name("CDW1")));
    aml_append(ok, masked);
    aml_append(ok, aml_store(aml_local(0), aml_name("CDW3")));
    aml_append(m, ok);
    aml_append(other, aml_or(aml_name("CDW1"), aml_int(0x04),
                             aml_name("CDW1")));
    aml_append(m, other);
    aml_append(m, aml_return(aml_arg(3)));
    return m;
}

static Aml *build_pci0(const AcpiPcConfig *cfg)
{
    Aml *pci = aml_device("PCI0");

    if (cfg->q35) {
        aml_append(pci, aml_name_decl("_HID", aml_eisaid("PNP0A08")));
        aml_append(pci, aml_name_decl("_CID", aml_eisaid("PNP0A03")));
    } else {
        aml_append(pci, aml_name_decl("_HID", aml_eisaid("PNP0A03")));
    }
    aml_append(pci, named_int("_ADR", 0));
    aml_append(pci, named_int("_UID", 0));
    aml_append(pci, aml_name_decl("_CRS", build_pci0_crs(cfg)));
    if (cfg->q35) {
        build_q35_pci0_prt(pci, cfg);
    } else {
        aml_append(pci, aml_name_decl("_PRT", build_prt()));
    }
    aml_append(pci, build_isa(cfg));
    aml_append(pci, build_fw_cfg_dev());
    if (cfg->q35) {
        aml_append(pci, build_q35_osc(!cfg->pci_hotplug));
    }
    if (cfg->pci_hotplug) {
        build_pcihp_registers(pci, cfg->pcihp_io_base);
        build_pcihp_bus(pci, &cfg->pcihp_root);
    }
    return pci;
}

/* q35: PRQ0-PRQ7 over PIRQA-D_ROUT, (4 bytes), PIRQE-H_ROUT. */
static Aml *build_q35_prq_field(void)
{
    Aml *field = aml_field("PCI0.ISA.PIRQ", AML_BYTE_ACC, AML_NOLOCK,
                           AML_PRESERVE);

    for (unsigned i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("PRQ%u", i);
        if (i == 4) {
            aml_append(field, aml_reserved_field(32));
        }
        aml_append(field, aml_named_field(name, 8));
    }
    return field;
}

/* Field PRQ0-PRQ3 over the PIIX3 PIRQ route registers, in \_SB. */
static Aml *build_prq_field(void)
{
    Aml *field = aml_field("PCI0.ISA.P40C", AML_BYTE_ACC, AML_NOLOCK,
                           AML_PRESERVE);

    for (unsigned i = 0; i < PCI_PINS; i++) {
        g_autofree char *name = g_strdup_printf("PRQ%u", i);
        aml_append(field, aml_named_field(name, 8));
    }
    return field;
}

static Aml *link_irq_template(const uint32_t *irqs, unsigned n)
{
    Aml *rt = aml_resource_template();

    aml_append(rt, aml_interrupt(AML_LEVEL, AML_ACTIVE_HIGH, true, irqs, n));
    return rt;
}

/* q35 APIC mode: GSIA-GSIH, IOAPIC inputs 16-23, fixed. */
static Aml *build_gsi_link(unsigned n)
{
    const uint32_t gsi[] = { 16 + n };
    Aml *dev = aml_device("GSI%c", 'A' + n);
    Aml *m;

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C0F")));
    aml_append(dev, named_int("_UID", n));
    aml_append(dev, aml_name_decl("_PRS", link_irq_template(gsi, 1)));
    aml_append(dev, aml_name_decl("_CRS", link_irq_template(gsi, 1)));
    m = aml_method("_SRS", 1, false);
    aml_append(dev, m);
    return dev;
}

/* IQST(route): _STA of a link from its PIRQ register. */
static Aml *build_iqst(void)
{
    Aml *m = aml_method("IQST", 1, false);
    Aml *if_off = aml_if(aml_and(aml_int(PIIX3_PIRQ_DISABLED), aml_arg(0),
                                 NULL));

    aml_append(if_off, aml_return(aml_int(ACPI_STA_PRESENT_OFF)));
    aml_append(m, if_off);
    aml_append(m, aml_return(aml_int(ACPI_STA_PRESENT_ON)));
    return m;
}

/* IQCR(route): _CRS of a link (interrupt 0 when routing is disabled). */
static Aml *build_iqcr(void)
{
    static const uint32_t none[] = { 0 };
    Aml *m = aml_method("IQCR", 1, true);
    Aml *if_on = aml_if(aml_lless(aml_arg(0), aml_int(PIIX3_PIRQ_DISABLED)));

    aml_append(m, aml_name_decl("PRR0", link_irq_template(none, 1)));
    aml_append(m, aml_create_dword_field(aml_name("PRR0"), aml_int(5),
                                         "PRRI"));
    aml_append(if_on, aml_store(aml_arg(0), aml_name("PRRI")));
    aml_append(m, if_on);
    aml_append(m, aml_return(aml_name("PRR0")));
    return m;
}

/* LNKA-LNKD: PCI interrupt links routed by PIIX3 PIRQ register @prq. */
static Aml *build_link(unsigned uid)
{
    static const uint32_t irqs[] = PCI_LINK_IRQS;
    g_autofree char *prq = g_strdup_printf("PRQ%u", uid);
    Aml *dev = aml_device("LNK%c", 'A' + uid);
    Aml *m;

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C0F")));
    aml_append(dev, named_int("_UID", uid));
    aml_append(dev, aml_name_decl("_PRS", link_irq_template(
                                      irqs, ARRAY_SIZE(irqs))));
    m = aml_method("_STA", 0, false);
    aml_append(m, aml_return(aml_call1("IQST", aml_name("%s", prq))));
    aml_append(dev, m);
    m = aml_method("_DIS", 0, false);
    aml_append(m, aml_or(aml_name("%s", prq), aml_int(PIIX3_PIRQ_DISABLED),
                         aml_name("%s", prq)));
    aml_append(dev, m);
    m = aml_method("_CRS", 0, false);
    aml_append(m, aml_return(aml_call1("IQCR", aml_name("%s", prq))));
    aml_append(dev, m);
    m = aml_method("_SRS", 1, false);
    aml_append(m, aml_create_dword_field(aml_arg(0), aml_int(5), "PRRI"));
    aml_append(m, aml_store(aml_name("PRRI"), aml_name("%s", prq)));
    aml_append(dev, m);
    return dev;
}

/* LNKS: the SCI, hardwired to IRQ 9. */
static Aml *build_link_sci(void)
{
    static const uint32_t sci[] = { PC_ACPI_SCI_IRQ };
    Aml *dev = aml_device("LNKS");
    Aml *m;

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C0F")));
    aml_append(dev, named_int("_UID", 4));
    aml_append(dev, aml_name_decl("_PRS", link_irq_template(sci, 1)));
    m = aml_method("_STA", 0, false);
    aml_append(m, aml_return(aml_int(ACPI_STA_PRESENT_ON)));
    aml_append(dev, m);
    aml_append(dev, aml_method("_DIS", 0, false));
    m = aml_method("_CRS", 0, false);
    aml_append(m, aml_return(aml_name("_PRS")));
    aml_append(dev, m);
    aml_append(dev, aml_method("_SRS", 1, false));
    return dev;
}

static Aml *build_hpet_dev(void)
{
    Aml *dev = aml_device("HPET");
    Aml *crs = aml_resource_template();

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0103")));
    aml_append(dev, named_int("_UID", 0));
    aml_append(dev, named_int("_STA", ACPI_STA_ALL));
    aml_append(crs, aml_memory32_fixed(PC_HPET_BASE, PC_HPET_SIZE, false));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static void build_cpus(Aml *sb, const AcpiPcConfig *cfg)
{
    if (cfg->cpu_hotplug) {
        acpi_build_cpus_hotplug(sb, cfg);     /* hw/i386/acpi-cpuhp.c */
        return;
    }
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        aml_append(sb, aml_processor(i, 0, 0, "C%03X", i));
    }
}

static Aml *sleep_state(const char *name, unsigned slp_typ)
{
    Aml *pkg = aml_package(4);

    aml_append(pkg, aml_int(slp_typ));
    aml_append(pkg, aml_int(slp_typ));
    aml_append(pkg, aml_int(0));
    aml_append(pkg, aml_int(0));
    return aml_name_decl(name, pkg);
}

/* PIIX4 SLP_TYP 0 is soft-off, 2 is S4 (offered on request: the guest
 * hibernates and powers off); S1-S3 are not offered. */
static void build_sleep_states(Aml *dsdt, const AcpiPcConfig *cfg)
{
    if (cfg->s4) {
        aml_append(dsdt, sleep_state("\\_S4", 2));
    }
    aml_append(dsdt, sleep_state("\\_S5", 0));
}

static void build_dsdt_body(Aml *dsdt, const AcpiPcConfig *cfg)
{
    Aml *sb = aml_scope("\\_SB");
    Aml *gpe = aml_scope("\\_GPE");

    if (cfg->q35) {
        /* \_PIC(1): the OS uses the IOAPIC, _PRT gives the GSI links. */
        Aml *pic = aml_method("\\_PIC", 1, false);
        aml_append(dsdt, aml_name_decl("PICF", aml_int(0)));
        aml_append(pic, aml_store(aml_arg(0), aml_name("PICF")));
        aml_append(dsdt, pic);
    }
    aml_append(sb, build_pci0(cfg));
    aml_append(sb, cfg->q35 ? build_q35_prq_field() : build_prq_field());
    aml_append(sb, build_iqst());
    aml_append(sb, build_iqcr());
    for (unsigned i = 0; i < (cfg->q35 ? 8 : PCI_PINS); i++) {
        aml_append(sb, build_link(i));
    }
    if (cfg->q35) {
        for (unsigned i = 0; i < 8; i++) {
            aml_append(sb, build_gsi_link(i));
        }
    } else {
        aml_append(sb, build_link_sci());
    }
    if (cfg->hpet) {
        aml_append(sb, build_hpet_dev());
    }
    build_cpus(sb, cfg);
    aml_append(dsdt, sb);
    if (cfg->mem_slots) {
        build_memory_hotplug_aml(dsdt, cfg->mem_slots,
                                 ACPI_MEMORY_HOTPLUG_BASE);
    }

    aml_append(gpe, aml_name_decl("_HID", aml_string("ACPI0006")));
    if (cfg->pci_hotplug) {
        aml_append(gpe, build_gpe_e01());
    }
    if (cfg->cpu_hotplug) {
        aml_append(gpe, acpi_build_gpe_e02());
    }
    aml_append(dsdt, gpe);
    build_sleep_states(dsdt, cfg);
}

GByteArray *acpi_build_dsdt_aml(const AcpiPcConfig *cfg)
{
    GByteArray *out = g_byte_array_new();
    Aml *dsdt;

    aml_pool_begin();
    dsdt = aml_block_new();
    build_dsdt_body(dsdt, cfg);
    g_byte_array_append(out, aml_bytes(dsdt)->data, aml_bytes(dsdt)->len);
    aml_pool_end();
    return out;
}

/* ---- the tables ---------------------------------------------------------- */

typedef struct AcpiBuildState {
    const AcpiPcConfig *cfg;
    GByteArray *t;          /* etc/acpi/tables */
    BIOSLinker *linker;
    GArray *rsdt_entries;   /* uint32_t offsets of tables the RSDT lists */
} AcpiBuildState;

/* Close a table: fill its header and ask the firmware for its checksum. */
static void acpi_table_finish(AcpiBuildState *st, size_t off, const char *sig,
                              uint8_t rev)
{
    acpi_table_end(st->t, off, sig, rev);
    bios_linker_loader_add_checksum(st->linker, ACPI_BUILD_TABLE_FILE, off,
                                    st->t->len - off, off + 9);
}

static void rsdt_add(AcpiBuildState *st, size_t off)
{
    uint32_t o = off;

    g_array_append_val(st->rsdt_entries, o);
}

/* 5.2.10 FACS: no header checksum, 64 bytes, version 1 (ACPI 2.0+). */
static size_t build_facs(AcpiBuildState *st)
{
    size_t off = st->t->len;

    g_assert(off % ACPI_TABLES_ALIGN == 0);
    g_byte_array_set_size(st->t, off + ACPI_FACS_SIZE);
    memset(st->t->data + off, 0, ACPI_FACS_SIZE);
    memcpy(st->t->data + off, "FACS", 4);
    stl_le_p(st->t->data + off + 4, ACPI_FACS_SIZE);
    st->t->data[off + 32] = 1;          /* Version */
    return off;
}

static size_t build_dsdt(AcpiBuildState *st)
{
    g_autoptr(GByteArray) aml = acpi_build_dsdt_aml(st->cfg);
    size_t off = acpi_table_begin(st->t);

    g_byte_array_append(st->t, aml->data, aml->len);
    acpi_table_finish(st, off, "DSDT", ACPI_DSDT_REV);
    return off;
}

static void fadt_pm_blocks(GByteArray *t, const AcpiPcConfig *cfg)
{
    build_append_int_noprefix(t, cfg->pm_base, 4);      /* PM1a_EVT_BLK */
    build_append_int_noprefix(t, 0, 4);                 /* PM1b_EVT_BLK */
    build_append_int_noprefix(t, cfg->pm_base + 4, 4);  /* PM1a_CNT_BLK */
    build_append_int_noprefix(t, 0, 4);                 /* PM1b_CNT_BLK */
    build_append_int_noprefix(t, 0, 4);                 /* PM2_CNT_BLK */
    build_append_int_noprefix(t, cfg->pm_base + 8, 4);  /* PM_TMR_BLK */
    build_append_int_noprefix(t, cfg->gpe0_base, 4);    /* GPE0_BLK */
    build_append_int_noprefix(t, 0, 4);                 /* GPE1_BLK */
    build_append_int_noprefix(t, 4, 1);                 /* PM1_EVT_LEN */
    build_append_int_noprefix(t, 2, 1);                 /* PM1_CNT_LEN */
    build_append_int_noprefix(t, 0, 1);                 /* PM2_CNT_LEN */
    build_append_int_noprefix(t, 4, 1);                 /* PM_TMR_LEN */
    build_append_int_noprefix(t, cfg->gpe0_len, 1);     /* GPE0_BLK_LEN */
    build_append_int_noprefix(t, 0, 1);                 /* GPE1_BLK_LEN */
    build_append_int_noprefix(t, 0, 1);                 /* GPE1_BASE */
}

static void fadt_x_blocks(GByteArray *t, const AcpiPcConfig *cfg)
{
    build_append_gas(t, GAS_SYSTEM_IO, 32, 0, 0, cfg->pm_base);
    build_append_gas(t, GAS_SYSTEM_IO, 0, 0, 0, 0);         /* PM1b_EVT */
    build_append_gas(t, GAS_SYSTEM_IO, 16, 0, 0, cfg->pm_base + 4);
    build_append_gas(t, GAS_SYSTEM_IO, 0, 0, 0, 0);         /* PM1b_CNT */
    build_append_gas(t, GAS_SYSTEM_IO, 0, 0, 0, 0);         /* PM2_CNT */
    build_append_gas(t, GAS_SYSTEM_IO, 32, 0, 0, cfg->pm_base + 8);
    build_append_gas(t, GAS_SYSTEM_IO, cfg->gpe0_len * 8, 0, 0,
                     cfg->gpe0_base);
    build_append_gas(t, GAS_SYSTEM_IO, 0, 0, 0, 0);         /* GPE1 */
}

static uint32_t fadt_flags(const AcpiPcConfig *cfg)
{
    uint32_t f = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
                 FADT_F_RTC_S4 | FADT_F_RESET_REG_SUP |
                 FADT_F_USE_PLATFORM_CLOCK;

    /* Flat logical destination mode only addresses 8 CPUs. */
    if (cfg->max_cpus > 8) {
        f |= FADT_F_APIC_CLUSTER;
    }
    return f;
}

/* 5.2.9 FADT, revision 3 layout. */
static size_t build_fadt(AcpiBuildState *st, size_t facs, size_t dsdt)
{
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t);
    uint16_t boot_arch = FADT_ARCH_LEGACY_DEVICES |
                         (st->cfg->i8042 ? FADT_ARCH_8042 : 0);

    build_append_int_noprefix(t, 0, 4);         /* FIRMWARE_CTRL (linked) */
    build_append_int_noprefix(t, 0, 4);         /* DSDT (linked) */
    build_append_int_noprefix(t, FADT_INT_MODEL_APIC, 1);
    build_append_int_noprefix(t, 0, 1);         /* Preferred_PM_Profile */
    build_append_int_noprefix(t, PC_ACPI_SCI_IRQ, 2);
    build_append_int_noprefix(t, PC_ACPI_SMI_CMD, 4);
    build_append_int_noprefix(t, st->cfg->acpi_enable, 1);
    build_append_int_noprefix(t, st->cfg->acpi_disable, 1);
    build_append_int_noprefix(t, 0, 1);         /* S4BIOS_REQ */
    build_append_int_noprefix(t, 0, 1);         /* PSTATE_CNT */
    fadt_pm_blocks(t, st->cfg);
    build_append_int_noprefix(t, 0, 1);         /* CST_CNT */
    build_append_int_noprefix(t, FADT_C2_C3_NONE, 2);   /* P_LVL2_LAT */
    build_append_int_noprefix(t, FADT_C2_C3_NONE, 2);   /* P_LVL3_LAT */
    build_append_int_noprefix(t, 0, 2);         /* FLUSH_SIZE */
    build_append_int_noprefix(t, 0, 2);         /* FLUSH_STRIDE */
    build_append_int_noprefix(t, 0, 1);         /* DUTY_OFFSET */
    build_append_int_noprefix(t, 0, 1);         /* DUTY_WIDTH */
    build_append_int_noprefix(t, 0, 1);         /* DAY_ALRM */
    build_append_int_noprefix(t, 0, 1);         /* MON_ALRM */
    build_append_int_noprefix(t, FADT_RTC_CENTURY, 1);
    build_append_int_noprefix(t, boot_arch, 2); /* IAPC_BOOT_ARCH */
    build_append_int_noprefix(t, 0, 1);         /* reserved */
    build_append_int_noprefix(t, fadt_flags(st->cfg), 4);
    build_append_gas(t, GAS_SYSTEM_IO, 8, 0, 0, PC_RESET_CONTROL);
    build_append_int_noprefix(t, FADT_RESET_VALUE, 1);
    build_append_int_noprefix(t, 0, 3);         /* reserved */
    build_append_int_noprefix(t, 0, 8);         /* X_FIRMWARE_CTRL: 32-bit */
    build_append_int_noprefix(t, 0, 8);         /* X_DSDT (linked) */
    fadt_x_blocks(t, st->cfg);
    g_assert(t->len - off == ACPI_FADT_SIZE);

    bios_linker_loader_add_pointer(st->linker, ACPI_BUILD_TABLE_FILE,
                                   off + FADT_FIRMWARE_CTRL, 4,
                                   ACPI_BUILD_TABLE_FILE, facs);
    bios_linker_loader_add_pointer(st->linker, ACPI_BUILD_TABLE_FILE,
                                   off + FADT_DSDT, 4,
                                   ACPI_BUILD_TABLE_FILE, dsdt);
    bios_linker_loader_add_pointer(st->linker, ACPI_BUILD_TABLE_FILE,
                                   off + FADT_X_DSDT, 8,
                                   ACPI_BUILD_TABLE_FILE, dsdt);
    acpi_table_finish(st, off, "FACP", ACPI_FADT_REV);
    return off;
}

static void madt_lapic(GByteArray *t, unsigned uid, uint32_t apic_id)
{
    acpi_madt_cpu_entry(t, uid, apic_id, true);
}

static void madt_iso(GByteArray *t, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    build_append_int_noprefix(t, MADT_TYPE_ISO, 1);
    build_append_int_noprefix(t, 10, 1);
    build_append_int_noprefix(t, 0, 1);         /* bus: ISA */
    build_append_int_noprefix(t, irq, 1);
    build_append_int_noprefix(t, gsi, 4);
    build_append_int_noprefix(t, flags, 2);
}

static bool madt_needs_x2apic(const AcpiPcConfig *cfg)
{
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        if (cfg->apic_ids[i] > MADT_XAPIC_MAX_ID) {
            return true;
        }
    }
    for (unsigned i = 0; cfg->cpu_hotplug && i < cfg->max_cpus; i++) {
        if (cfg->slot_apic_ids[i] > MADT_XAPIC_MAX_ID) {
            return true;
        }
    }
    return false;
}

static size_t build_madt(AcpiBuildState *st)
{
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t);
    bool x2apic = madt_needs_x2apic(st->cfg);

    build_append_int_noprefix(t, PC_LAPIC_BASE, 4);
    build_append_int_noprefix(t, MADT_FLAG_PCAT_COMPAT, 4);
    if (st->cfg->cpu_hotplug) {
        /* as QEMU: every possible CPU, the absent ones not enabled */
        for (unsigned i = 0; i < st->cfg->max_cpus; i++) {
            acpi_madt_cpu_entry(t, i, st->cfg->slot_apic_ids[i],
                                st->cfg->slot_present[i]);
        }
    } else {
        for (unsigned i = 0; i < st->cfg->nr_cpus; i++) {
            madt_lapic(t, i, st->cfg->apic_ids[i]);
        }
    }
    build_append_int_noprefix(t, MADT_TYPE_IOAPIC, 1);
    build_append_int_noprefix(t, 12, 1);
    build_append_int_noprefix(t, PC_IOAPIC_ID, 1);
    build_append_int_noprefix(t, 0, 1);
    build_append_int_noprefix(t, PC_IOAPIC_BASE, 4);
    build_append_int_noprefix(t, 0, 4);         /* GSI base */
    madt_iso(t, PC_PIT_IRQ, PC_IRQ0_GSI, 0);
    for (unsigned i = 0; i < ARRAY_SIZE(madt_level_irqs); i++) {
        madt_iso(t, madt_level_irqs[i], madt_level_irqs[i],
                 MADT_ISO_LEVEL_HIGH);
    }
    build_append_int_noprefix(t, MADT_TYPE_LAPIC_NMI, 1);
    build_append_int_noprefix(t, 6, 1);
    build_append_int_noprefix(t, MADT_NMI_ALL_CPUS, 1);
    build_append_int_noprefix(t, 0, 2);         /* flags: conforming */
    build_append_int_noprefix(t, MADT_LINT1, 1);
    if (x2apic) {
        build_append_int_noprefix(t, MADT_TYPE_X2APIC_NMI, 1);
        build_append_int_noprefix(t, 12, 1);
        build_append_int_noprefix(t, 0, 2);
        build_append_int_noprefix(t, MADT_X2APIC_NMI_ALL_CPUS, 4);
        build_append_int_noprefix(t, MADT_LINT1, 1);
        build_append_int_noprefix(t, 0, 3);
    }
    acpi_table_finish(st, off, "APIC",
                      x2apic ? ACPI_MADT_REV_X2APIC : ACPI_MADT_REV);
    return off;
}

static size_t build_hpet(AcpiBuildState *st)
{
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t);

    build_append_int_noprefix(t, st->cfg->hpet_block_id, 4);
    build_append_gas(t, GAS_SYSTEM_MEMORY, 0, 0, 0, PC_HPET_BASE);
    build_append_int_noprefix(t, 0, 1);         /* HPET number */
    build_append_int_noprefix(t, 0, 2);         /* minimum clock tick */
    build_append_int_noprefix(t, 0, 1);         /* page protection */
    acpi_table_finish(st, off, "HPET", ACPI_HPET_REV);
    return off;
}

/* 5.2.16.4 Memory Affinity Structure (40 bytes). */
static void srat_memory(GByteArray *t, uint64_t base, uint64_t len,
                        uint32_t node, uint32_t flags)
{
    build_append_int_noprefix(t, SRAT_TYPE_MEMORY, 1);
    build_append_int_noprefix(t, 40, 1);
    build_append_int_noprefix(t, node, 4);      /* proximity domain */
    build_append_int_noprefix(t, 0, 2);         /* reserved */
    build_append_int_noprefix(t, base, 8);
    build_append_int_noprefix(t, len, 8);
    build_append_int_noprefix(t, 0, 4);         /* reserved */
    build_append_int_noprefix(t, flags, 4);
    build_append_int_noprefix(t, 0, 8);         /* reserved */
}

/* 5.2.16.1 / 5.2.16.3: a CPU's proximity domain, by its APIC ID. */
static void srat_cpu(GByteArray *t, uint32_t apic_id, uint32_t node)
{
    if (apic_id <= MADT_XAPIC_MAX_ID) {
        build_append_int_noprefix(t, SRAT_TYPE_LAPIC, 1);
        build_append_int_noprefix(t, 16, 1);
        build_append_int_noprefix(t, node & 0xff, 1);   /* domain [7:0] */
        build_append_int_noprefix(t, apic_id, 1);
        build_append_int_noprefix(t, SRAT_ENABLED, 4);
        build_append_int_noprefix(t, 0, 1);             /* SAPIC EID */
        build_append_int_noprefix(t, node >> 8, 3);     /* domain [31:8] */
        build_append_int_noprefix(t, 0, 4);             /* clock domain */
    } else {
        build_append_int_noprefix(t, SRAT_TYPE_X2APIC, 1);
        build_append_int_noprefix(t, 24, 1);
        build_append_int_noprefix(t, 0, 2);             /* reserved */
        build_append_int_noprefix(t, node, 4);
        build_append_int_noprefix(t, apic_id, 4);
        build_append_int_noprefix(t, SRAT_ENABLED, 4);
        build_append_int_noprefix(t, 0, 4);             /* clock domain */
        build_append_int_noprefix(t, 0, 4);             /* reserved */
    }
}

/*
 * Node i's RAM follows node i-1's in guest-physical order; QEMU cuts the
 * 640K-1M hole out of the first range and moves what would reach the
 * 32-bit PCI hole above 4 GiB.
 */
static void srat_node_memory(GByteArray *t, const AcpiPcConfig *cfg)
{
    uint64_t next = 0, base, len;

    for (unsigned i = 0; i < cfg->numa_nodes; i++) {
        base = next;
        len = cfg->numa_node_mem[i];
        next = base + len;
        if (base <= SRAT_HOLE_640K_START && next > SRAT_HOLE_640K_START) {
            len -= next - SRAT_HOLE_640K_START;
            if (len) {
                srat_memory(t, base, len, i, SRAT_ENABLED);
            }
            if (next <= SRAT_HOLE_640K_END) {
                next = SRAT_HOLE_640K_END;
                continue;
            }
            base = SRAT_HOLE_640K_END;
            len = next - SRAT_HOLE_640K_END;
        }
        if (base <= cfg->below_4g_mem_size &&
            next > cfg->below_4g_mem_size) {
            len -= next - cfg->below_4g_mem_size;
            if (len) {
                srat_memory(t, base, len, i, SRAT_ENABLED);
            }
            base = PC_HIGHMEM_START;
            len = next - cfg->below_4g_mem_size;
            next = base + len;
        }
        if (len) {
            srat_memory(t, base, len, i, SRAT_ENABLED);
        }
    }
}

static size_t build_srat(AcpiBuildState *st)
{
    const AcpiPcConfig *cfg = st->cfg;
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t), mem_start;
    unsigned entries;

    build_append_int_noprefix(t, 1, 4);         /* reserved, 1 (legacy) */
    build_append_int_noprefix(t, 0, 8);         /* reserved */
    for (unsigned i = 0; i < cfg->max_cpus; i++) {
        srat_cpu(t, cfg->numa_cpu_apic_ids[i], cfg->numa_cpu_nodes[i]);
    }
    mem_start = t->len;
    srat_node_memory(t, cfg);
    /* QEMU pads with disabled entries to nodes + 2 memory entries */
    entries = (t->len - mem_start) / 40;
    for (; entries < cfg->numa_nodes + 2; entries++) {
        srat_memory(t, 0, 0, 0, 0);
    }
    if (cfg->hotplug_mem_size) {
        srat_memory(t, cfg->hotplug_mem_base, cfg->hotplug_mem_size,
                    cfg->numa_nodes - 1, SRAT_ENABLED | SRAT_HOTPLUGGABLE);
    }
    acpi_table_finish(st, off, "SRAT", ACPI_SRAT_REV);
    return off;
}

/* 5.2.17: the node count, then the distance matrix row by row. */
static size_t build_slit(AcpiBuildState *st)
{
    const AcpiPcConfig *cfg = st->cfg;
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t);
    unsigned n = cfg->numa_nodes;

    build_append_int_noprefix(t, n, 8);
    for (unsigned i = 0; i < n * n; i++) {
        build_append_int_noprefix(t, cfg->numa_distance[i], 1);
    }
    acpi_table_finish(st, off, "SLIT", ACPI_SLIT_REV);
    return off;
}

/* PCI Firmware spec 3.0, 4.1.2: MCFG with one allocation (segment 0). */
static size_t build_mcfg(AcpiBuildState *st)
{
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t);
    uint64_t buses = st->cfg->mcfg_size >> 20;

    build_append_int_noprefix(t, 0, 8);         /* reserved */
    build_append_int_noprefix(t, st->cfg->mcfg_base, 8);
    build_append_int_noprefix(t, 0, 2);         /* PCI segment group */
    build_append_int_noprefix(t, 0, 1);         /* start bus */
    build_append_int_noprefix(t, buses ? buses - 1 : 0, 1);
    build_append_int_noprefix(t, 0, 4);         /* reserved */
    acpi_table_finish(st, off, "MCFG", ACPI_MCFG_REV);
    return off;
}

static size_t build_waet(AcpiBuildState *st)
{
    size_t off = acpi_table_begin(st->t);

    build_append_int_noprefix(st->t, WAET_PM_TIMER_GOOD, 4);
    acpi_table_finish(st, off, "WAET", ACPI_WAET_REV);
    return off;
}

/* QEMU 7.2's VMGENID SSDT (hw/acpi/vmgenid.c builds it). */
static size_t build_vmgenid_ssdt(AcpiBuildState *st, GByteArray *guid_blob)
{
    size_t off = vmgenid_build_acpi(st->t, ACPI_BUILD_TABLE_FILE, guid_blob,
                                    st->linker, st->cfg->vmgenid_guid);

    bios_linker_loader_add_checksum(st->linker, ACPI_BUILD_TABLE_FILE, off,
                                    st->t->len - off, off + 9);
    return off;
}

static size_t build_rsdt(AcpiBuildState *st)
{
    GByteArray *t = st->t;
    size_t off = acpi_table_begin(t);

    for (unsigned i = 0; i < st->rsdt_entries->len; i++) {
        uint32_t target = g_array_index(st->rsdt_entries, uint32_t, i);
        size_t field = t->len;

        build_append_int_noprefix(t, 0, 4);
        bios_linker_loader_add_pointer(st->linker, ACPI_BUILD_TABLE_FILE,
                                       field, 4, ACPI_BUILD_TABLE_FILE,
                                       target);
    }
    acpi_table_finish(st, off, "RSDT", ACPI_RSDT_REV);
    return off;
}

/* 5.2.5.3 RSDP, revision 0 (20 bytes, ACPI 1.0). */
static void build_rsdp(AcpiBuildTables *tables, size_t rsdt)
{
    GByteArray *r = tables->rsdp;

    g_byte_array_append(r, (const uint8_t *)"RSD PTR ", 8);
    build_append_int_noprefix(r, 0, 1);         /* checksum */
    g_byte_array_append(r, (const uint8_t *)ACPI_OEM_ID, 6);
    build_append_int_noprefix(r, 0, 1);         /* revision 0 */
    build_append_int_noprefix(r, 0, 4);         /* RSDT address (linked) */
    g_assert(r->len == ACPI_RSDP_SIZE);
    bios_linker_loader_add_pointer(tables->linker, ACPI_BUILD_RSDP_FILE, 16,
                                   4, ACPI_BUILD_TABLE_FILE, rsdt);
    bios_linker_loader_add_checksum(tables->linker, ACPI_BUILD_RSDP_FILE, 0,
                                    ACPI_RSDP_SIZE, 8);
}

void acpi_build(const AcpiPcConfig *cfg, AcpiBuildTables *tables)
{
    AcpiBuildState st = { .cfg = cfg };
    size_t facs, dsdt, rsdt;

    tables->table_data = g_byte_array_new();
    tables->rsdp = g_byte_array_new();
    tables->linker = bios_linker_loader_new();
    tables->vmgenid = g_byte_array_new();
    st.t = tables->table_data;
    st.linker = tables->linker;
    st.rsdt_entries = g_array_new(FALSE, FALSE, sizeof(uint32_t));

    bios_linker_loader_alloc(st.linker, ACPI_BUILD_RSDP_FILE, tables->rsdp,
                             ACPI_RSDP_ALIGN, true);
    bios_linker_loader_alloc(st.linker, ACPI_BUILD_TABLE_FILE, st.t,
                             ACPI_TABLES_ALIGN, false);
    facs = build_facs(&st);
    dsdt = build_dsdt(&st);
    rsdt_add(&st, build_fadt(&st, facs, dsdt));
    rsdt_add(&st, build_madt(&st));
    if (cfg->vmgenid) {
        rsdt_add(&st, build_vmgenid_ssdt(&st, tables->vmgenid));
    }
    if (cfg->hpet) {
        rsdt_add(&st, build_hpet(&st));
    }
    if (cfg->numa_nodes) {
        rsdt_add(&st, build_srat(&st));
    }
    if (cfg->numa_distance) {
        rsdt_add(&st, build_slit(&st));
    }
    if (cfg->q35 && cfg->mcfg_size) {
        rsdt_add(&st, build_mcfg(&st));
    }
    rsdt_add(&st, build_waet(&st));
    rsdt = build_rsdt(&st);
    build_rsdp(tables, rsdt);
    g_array_free(st.rsdt_entries, TRUE);
}

void acpi_build_tables_cleanup(AcpiBuildTables *tables)
{
    if (tables->table_data) {
        g_byte_array_unref(tables->table_data);
    }
    if (tables->rsdp) {
        g_byte_array_unref(tables->rsdp);
    }
    if (tables->vmgenid) {
        g_byte_array_unref(tables->vmgenid);
    }
    bios_linker_loader_free(tables->linker);
    *tables = (AcpiBuildTables){ 0 };
}
