/*
 * Intel 82441FX (i440FX) PCI and memory controller.
 *
 * Spec: Intel 82440FX PCIset datasheet, 82441FX PMC:
 *   3.2.16 PAM[6:0] (59h-5Fh): per segment, RE (reads from DRAM) and WE
 *          (writes to DRAM); 0 = both go to PCI
 *   3.2.21 SMRAM (72h): D_OPEN, D_CLS, D_LCK, G_SMRAME, C_BASE_SEG = 010b
 *   PCI Local Bus Specification 3.0, 3.2.2.3.2 for the configuration
 *   mechanism (hw/pci/pci_host.c)
 *
 * Two device types, as in QEMU:
 *   "i440FX-pcihost" creates bus 0, the "pci" memory container (QEMU's PCI
 *       address space: where memory BARs, the BIOS and ISA memory live; it
 *       sits under all of guest-physical memory at priority -1, so RAM and
 *       other system devices win) and decodes 0xcf8/0xcfc.
 *   "i440FX" is function 00.0: PAM and SMRAM.
 *
 * PAM: each segment (0xf0000 64 KiB; 0xc0000-0xeffff in 16 KiB pieces)
 * has three aliases in guest-physical memory at priority 1, one enabled:
 *   mode 3 (RE|WE)  machine RAM
 *   mode 1 (RE)     machine RAM, read-only (writes are dropped)
 *   mode 0 / 2      the PCI container (the isa-bios alias for 0xe0000-
 *                   0xfffff; elsewhere empty, so RAM shows through, as on
 *                   QEMU).  Write-only mode is treated as PCI, as QEMU does.
 * SeaBIOS shadows itself with modes 3 then 1.
 *
 * SMRAM: this KVM has no SMM, so SMRAM is never mapped: the window
 * 0xa0000-0xbffff always goes to the PCI container (the VGA window).
 * Writes to the register are kept (D_LCK locks it as the datasheet says);
 * setting D_OPEN is logged once and has no effect.
 *
 * Reset puts PAM back to 0 (firmware ROM visible) and SMRAM to 02h, the
 * datasheet defaults (QEMU keeps PAM across a reset; SeaBIOS copes with
 * either, and a cold start is the simpler state to reason about).
 */
#include "qemu/osdep.h"
#include "hw/pci-host/i440fx.h"
#include "hw/pci/pci_host.h"
#include "hw/isa/piix3.h"
#include "hw/acpi/piix4-pm.h"
#include "hw/i386/pc.h"
#include "hw/i386/pc-layout.h"
#include "hw/boards.h"

#define I440FX_REVISION         0x02
#define I440FX_PAM_PRIORITY     1
#define I440FX_SMRAM_PRIORITY   1
#define PCI_MEMORY_PRIORITY     (-1)

/* ---- the host bridge ------------------------------------------------ */

typedef struct I440FXHostState {
    DeviceState parent;
    PCIHostState host;
    MemoryRegion pci_mem;
    PCIBus *bus;
    int32_t irq_count[PCI_NUM_PINS];    /* bus line counts, for the state */
} I440FXHostState;

static bool i440fx_host_realize(DeviceState *dev, GError **errp)
{
    I440FXHostState *s = (I440FXHostState *)dev;

    memory_region_init_container(&s->pci_mem, "pci", UINT64_MAX);
    s->bus = pci_root_bus_create(&s->pci_mem, get_system_io(), errp);
    if (!s->bus) {
        memory_region_destroy(&s->pci_mem);
        return false;
    }
    memory_region_transaction_begin();
    memory_region_add_subregion_overlap(get_system_memory(), 0, &s->pci_mem,
                                        PCI_MEMORY_PRIORITY);
    pci_host_init(&s->host, s->bus, get_system_io(), PC_PCI_CONFIG_ADDR,
                  PC_PCI_CONFIG_DATA);
    memory_region_transaction_commit();
    return true;
}

static void i440fx_host_unrealize(DeviceState *dev)
{
    I440FXHostState *s = (I440FXHostState *)dev;

    memory_region_transaction_begin();
    pci_host_uninit(&s->host);
    memory_region_destroy(&s->pci_mem);
    memory_region_transaction_commit();
    pci_root_bus_destroy(s->bus);
    s->bus = NULL;
}

static void i440fx_host_reset(DeviceState *dev)
{
    I440FXHostState *s = (I440FXHostState *)dev;

    s->host.config_reg = 0;
}

static int i440fx_host_pre_save(void *opaque)
{
    I440FXHostState *s = opaque;
    unsigned n;
    int32_t *counts;

    if (!s->bus) {
        return -1;
    }
    counts = pci_bus_irq_counts(s->bus, &n);
    memcpy(s->irq_count, counts, MIN(n, PCI_NUM_PINS) * sizeof(*counts));
    return 0;
}

static int i440fx_host_post_load(void *opaque, int version_id)
{
    I440FXHostState *s = opaque;
    unsigned n;
    int32_t *counts;

    if (!s->bus) {
        return -1;
    }
    counts = pci_bus_irq_counts(s->bus, &n);
    for (unsigned i = 0; i < PCI_NUM_PINS; i++) {
        if (s->irq_count[i] < 0 || s->irq_count[i] > PCI_DEVFN_MAX) {
            return -1;
        }
    }
    memcpy(counts, s->irq_count, MIN(n, PCI_NUM_PINS) * sizeof(*counts));
    return 0;
}

static const VMStateDescription vmstate_i440fx_host = {
    .name = "i440FX-pcihost",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = i440fx_host_pre_save,
    .post_load = i440fx_host_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(host.config_reg, I440FXHostState),
        VMSTATE_FIELD_("irq_count", I440FXHostState, irq_count, VMS_I32, 4,
                       PCI_NUM_PINS, 0),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType i440fx_host_type = {
    .name = TYPE_I440FX_PCI_HOST,
    .parent = TYPE_DEVICE,
    .desc = "i440FX PCI host bridge (configuration mechanism #1, bus 0)",
    .instance_size = sizeof(I440FXHostState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .realize = i440fx_host_realize,
    .unrealize = i440fx_host_unrealize,
    .reset = i440fx_host_reset,
    .vmsd = &vmstate_i440fx_host,
};

/* ---- function 00.0: PAM and SMRAM ----------------------------------- */

typedef struct PAMSegment {
    MemoryRegion ram;       /* mode 3 */
    MemoryRegion rom;       /* mode 1: RAM, read-only */
    MemoryRegion pci;       /* modes 0 and 2 */
} PAMSegment;

typedef struct I440FXState {
    PCIDevice parent;
    PAMSegment pam[I440FX_PAM_SEGMENTS];
    MemoryRegion smram_region;  /* 0xa0000-0xbffff to the PCI container */
    bool mapped;
} I440FXState;

static uint64_t pam_segment_base(unsigned seg)
{
    return seg == 0 ? I440FX_PAM_BIOS_BASE
                    : I440FX_PAM_EXPAN_BASE + (seg - 1) * I440FX_PAM_EXPAN_SIZE;
}

static uint64_t pam_segment_size(unsigned seg)
{
    return seg == 0 ? I440FX_PAM_BIOS_SIZE : I440FX_PAM_EXPAN_SIZE;
}

/* Segment 0 is PAM0[7:4]; segment n >= 1 is PAM(1+(n-1)/2), low nibble
 * first. */
static unsigned pam_segment_mode(const I440FXState *s, unsigned seg)
{
    const uint8_t *c = s->parent.config;

    if (seg == 0) {
        return (c[I440FX_PAM] >> 4) & I440FX_PAM_MODE_MASK;
    }
    return (c[I440FX_PAM + 1 + (seg - 1) / 2] >> (((seg - 1) & 1) * 4)) &
           I440FX_PAM_MODE_MASK;
}

static void i440fx_update_memory_mappings(I440FXState *s)
{
    if (!s->mapped) {
        return;
    }
    memory_region_transaction_begin();
    for (unsigned seg = 0; seg < I440FX_PAM_SEGMENTS; seg++) {
        unsigned mode = pam_segment_mode(s, seg);
        PAMSegment *p = &s->pam[seg];
        memory_region_set_enabled(&p->ram,
                                  mode == (I440FX_PAM_RE | I440FX_PAM_WE));
        memory_region_set_enabled(&p->rom, mode == I440FX_PAM_RE);
        memory_region_set_enabled(&p->pci, !(mode & I440FX_PAM_RE));
    }
    memory_region_set_enabled(&s->smram_region, true);
    memory_region_transaction_commit();
}

static void pam_segment_init(PAMSegment *p, MemoryRegion *ram,
                             MemoryRegion *pci, uint64_t base, uint64_t size)
{
    MemoryRegion *sysmem = get_system_memory();

    memory_region_init_alias(&p->ram, "pam-ram", ram, base, size);
    memory_region_init_alias(&p->rom, "pam-rom", ram, base, size);
    memory_region_set_readonly(&p->rom, true);
    memory_region_init_alias(&p->pci, "pam-pci", pci, base, size);
    memory_region_set_enabled(&p->ram, false);
    memory_region_set_enabled(&p->rom, false);
    memory_region_add_subregion_overlap(sysmem, base, &p->ram,
                                        I440FX_PAM_PRIORITY);
    memory_region_add_subregion_overlap(sysmem, base, &p->rom,
                                        I440FX_PAM_PRIORITY);
    memory_region_add_subregion_overlap(sysmem, base, &p->pci,
                                        I440FX_PAM_PRIORITY);
}

/* SMRAM writes: D_LCK freezes the register except D_CLS (3.2.21). */
static void i440fx_write_smram(I440FXState *s, uint8_t old)
{
    static bool warned;
    uint8_t *reg = &s->parent.config[I440FX_SMRAM];

    if (old & I440FX_SMRAM_D_LCK) {
        *reg = (old & ~I440FX_SMRAM_D_CLS) | (*reg & I440FX_SMRAM_D_CLS);
    } else if (*reg & I440FX_SMRAM_D_LCK) {
        *reg &= ~I440FX_SMRAM_D_OPEN;
    }
    if ((*reg & I440FX_SMRAM_D_OPEN) && !warned) {
        warned = true;
        error_report("i440FX: the guest opened SMRAM (D_OPEN), but there is "
                     "no SMM on this machine: SMRAM stays unmapped and "
                     "0xa0000-0xbffff keeps going to PCI");
    }
}

static void i440fx_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                                unsigned len)
{
    I440FXState *s = (I440FXState *)d;
    uint8_t old_smram = d->config[I440FX_SMRAM];

    pci_default_write_config(d, addr, val, len);
    if (addr <= I440FX_SMRAM && addr + len > I440FX_SMRAM) {
        i440fx_write_smram(s, old_smram);
    }
    if (addr < I440FX_PAM + I440FX_PAM_SIZE && addr + len > I440FX_PAM) {
        i440fx_update_memory_mappings(s);
    }
}

static bool i440fx_realize(DeviceState *dev, GError **errp)
{
    I440FXState *s = (I440FXState *)dev;
    MachineState *ms = current_machine;
    MemoryRegion *pci_mem = pci_bus_memory(pci_get_bus(&s->parent));

    if (!ms || ms->ram.type != MR_RAM || !ms->ram.size) {
        error_setg(errp, "i440FX: the machine's RAM is not set up (the PAM "
                   "registers shadow it)");
        return false;
    }
    memory_region_transaction_begin();
    for (unsigned seg = 0; seg < I440FX_PAM_SEGMENTS; seg++) {
        pam_segment_init(&s->pam[seg], &ms->ram, pci_mem,
                         pam_segment_base(seg), pam_segment_size(seg));
    }
    memory_region_init_alias(&s->smram_region, "smram-region", pci_mem,
                             I440FX_SMRAM_BASE, I440FX_SMRAM_SIZE);
    memory_region_add_subregion_overlap(get_system_memory(), I440FX_SMRAM_BASE,
                                        &s->smram_region,
                                        I440FX_SMRAM_PRIORITY);
    s->parent.wmask[I440FX_SMRAM] = I440FX_SMRAM_WMASK;
    s->mapped = true;
    i440fx_update_memory_mappings(s);
    memory_region_transaction_commit();
    return true;
}

static void i440fx_unrealize(DeviceState *dev)
{
    I440FXState *s = (I440FXState *)dev;

    if (!s->mapped) {
        return;
    }
    memory_region_transaction_begin();
    for (unsigned seg = 0; seg < I440FX_PAM_SEGMENTS; seg++) {
        memory_region_destroy(&s->pam[seg].ram);
        memory_region_destroy(&s->pam[seg].rom);
        memory_region_destroy(&s->pam[seg].pci);
    }
    memory_region_destroy(&s->smram_region);
    memory_region_transaction_commit();
    s->mapped = false;
}

static void i440fx_reset(DeviceState *dev)
{
    I440FXState *s = (I440FXState *)dev;
    uint8_t *c = s->parent.config;

    memset(c + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    c[I440FX_SMRAM] = I440FX_SMRAM_DEFAULT;
    i440fx_update_memory_mappings(s);
}

static int i440fx_post_load(void *opaque, int version_id)
{
    i440fx_update_memory_mappings(opaque);
    return 0;
}

static const VMStateDescription vmstate_i440fx = {
    .name = "I440FX",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = i440fx_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass i440fx_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82441,
    .revision = I440FX_REVISION,
    .class_id = PCI_CLASS_BRIDGE_HOST,
    .config_write = i440fx_config_write,
};

static const DeviceType i440fx_type = {
    .name = TYPE_I440FX_PCI_DEVICE,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "Host bridge",
    .instance_size = sizeof(I440FXState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .realize = i440fx_realize,
    .unrealize = i440fx_unrealize,
    .reset = i440fx_reset,
    .vmsd = &vmstate_i440fx,
    .class_data = &i440fx_class,
};

/* ---- the chipset of the "pc" machine -------------------------------- */

typedef struct ChipsetProp {
    const char *name, *value;
} ChipsetProp;

static bool chipset_create(const char *type, const ChipsetProp *props,
                           GError **errp)
{
    DeviceState *dev = device_new(type, errp);

    if (!dev) {
        return false;
    }
    for (; props && props->name; props++) {
        if (!device_set_prop(dev, props->name, props->value, errp)) {
            device_destroy(dev);
            return false;
        }
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return false;
    }
    return true;
}

bool pc_chipset_init(MachineState *ms, GError **errp)
{
    bool direct_boot = ms->kernel_filename && !pc_config.firmware_boot;
    g_autofree char *pm_base = g_strdup_printf("0x%x", PC_ACPI_PM_BASE);
    const ChipsetProp host_props[] = { { "addr", "00.0" }, { NULL, NULL } };
    const ChipsetProp isa_props[] = {
        { "addr", "01.0" }, { "multifunction", "on" }, { NULL, NULL },
    };
    /* Without firmware nobody programs PMBA: do it at reset instead. */
    const ChipsetProp pm_props[] = {
        { "addr", "01.3" }, { direct_boot ? "x-pm-io-base" : NULL, pm_base },
        { NULL, NULL },
    };

    return chipset_create(TYPE_I440FX_PCI_HOST, NULL, errp) &&
           chipset_create(TYPE_I440FX_PCI_DEVICE, host_props, errp) &&
           chipset_create(TYPE_PIIX3_DEVICE, isa_props, errp) &&
           /* As QEMU: acpi=off means no PIIX4 PM function (00:01.3) */
           (!ms->acpi || chipset_create(TYPE_PIIX4_PM, pm_props, errp));
}

static void i440fx_register_types(void)
{
    device_type_register(&i440fx_host_type);
    device_type_register(&i440fx_type);
}
type_init(i440fx_register_types)
