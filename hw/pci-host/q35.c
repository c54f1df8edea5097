/*
 * The q35 host: "q35-pcihost" (bus "pcie.0", configuration mechanism #1
 * and the PCI Express enhanced configuration access mechanism, ECAM) and
 * "mch", the Intel 82G33/Q35 Memory Controller Hub at 00.0 (8086:29c0).
 *
 * Spec: Intel 3 Series Express Chipset Family datasheet (MCH):
 *   5.1.12 PCIEXBAR (60h, 64 bits): bit 0 PCIEXBAREN, bits 2:1 length
 *          (00b 256 MiB / 256 buses, 01b 128 MiB, 10b 64 MiB, 11b
 *          reserved), base address bits 35:28 (35:27, 35:26 for the
 *          shorter windows)
 *   5.1.18 PAM0-PAM6 (90h-96h): as i440FX (RE bit 0/4, WE bit 1/5)
 *   5.1.20 SMRAM (9Dh), 5.1.21 ESMRAMC (9Eh): TSEG size/enable
 *   PCI Express Base 4.0, 7.2.2: ECAM offset = bus << 20 | device << 15 |
 *   function << 12 | register.
 *
 * What QEMU 7.2 does, and kvmpc with it: PCIEXBAR resets to 0xb0000000,
 * disabled (SeaBIOS writes 0xb0000001: 256 buses at 0xb0000000); the
 * 32-bit PCI hole starts after the largest ECAM window (0xc0000000) and
 * ends below the IOAPIC.  PAM as the i440FX (hw/pci-host/i440fx.c): the
 * segments show RAM, read-only RAM or the PCI space (the BIOS).
 *
 * SMRAM/TSEG: this KVM has no SMM, so neither the compatible SMRAM window
 * nor TSEG is ever mapped; 0xa0000-0xbffff always goes to the PCI space
 * (VGA).  The SMRAM and ESMRAMC registers keep what the guest writes
 * (with D_LCK locking both as the datasheet says) and the extended TSEG
 * register (50h) reads 0: no TSEG to negotiate (QEMU with
 * ext-tseg-mbytes=0).  D_OPEN is logged once.
 */
#include "qemu/osdep.h"
#include "hw/pci-host/q35.h"
#include "hw/pci-host/i440fx.h"
#include "hw/pci/pci_host.h"
#include "hw/i386/pc.h"
#include "hw/i386/pc-layout.h"

#define PCI_MEMORY_PRIORITY     (-1)
#define Q35_ECAM_PRIORITY       1
#define Q35_PAM_PRIORITY        1
#define Q35_SMRAM_PRIORITY      1

/* ---- the host bridge ------------------------------------------------ */

typedef struct Q35HostState {
    DeviceState parent;
    PCIHostState host;
    MemoryRegion pci_mem;
    MemoryRegion ecam;
    PCIBus *bus;
    uint64_t ecam_base;
    uint64_t ecam_size;             /* 0: not mapped */
    int32_t irq_count[PCI_BUS_MAX_IRQS];
} Q35HostState;

static Q35HostState *q35_host;

static uint64_t size_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

/* ECAM: bus 31:20 (within the window), devfn 19:12, register 11:0. */
static PCIBus *ecam_decode(Q35HostState *s, uint64_t addr, unsigned *devfn,
                           unsigned *reg)
{
    *devfn = (addr >> 12) & 0xff;
    *reg = addr & 0xfff;
    return pci_bus_find_nr(s->bus, (addr >> 20) & 0xff);
}

static uint64_t ecam_read(void *opaque, uint64_t addr, unsigned size)
{
    Q35HostState *s = opaque;
    unsigned devfn, reg;
    PCIBus *bus;

    if (addr >= s->ecam_size || (addr & (size - 1))) {
        return size_ones(size);
    }
    bus = ecam_decode(s, addr, &devfn, &reg);
    return bus ? pci_bus_config_read(bus, devfn, reg, size)
               : size_ones(size);
}

static void ecam_write(void *opaque, uint64_t addr, uint64_t val,
                       unsigned size)
{
    Q35HostState *s = opaque;
    unsigned devfn, reg;
    PCIBus *bus;

    if (addr >= s->ecam_size || (addr & (size - 1))) {
        return;
    }
    bus = ecam_decode(s, addr, &devfn, &reg);
    if (bus) {
        pci_bus_config_write(bus, devfn, reg, val, size);
    }
}

static const MemoryRegionOps ecam_ops = {
    .read = ecam_read,
    .write = ecam_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static void q35_host_map_ecam(Q35HostState *s, bool enable, uint64_t base,
                              uint64_t size)
{
    memory_region_transaction_begin();
    if (s->ecam_size) {
        memory_region_del_subregion(get_system_memory(), &s->ecam);
        s->ecam_size = 0;
    }
    if (enable) {
        s->ecam_base = base;
        s->ecam_size = size;
        memory_region_set_size(&s->ecam, size);
        memory_region_add_subregion_overlap(get_system_memory(), base,
                                            &s->ecam, Q35_ECAM_PRIORITY);
    }
    memory_region_transaction_commit();
}

bool q35_machine_active(void)
{
    return q35_host != NULL;
}

bool q35_ecam_window(uint64_t *base, uint64_t *size)
{
    if (!q35_host || !q35_host->ecam_size) {
        return false;
    }
    *base = q35_host->ecam_base;
    *size = q35_host->ecam_size;
    return true;
}

static bool q35_host_realize(DeviceState *dev, GError **errp)
{
    Q35HostState *s = (Q35HostState *)dev;

    memory_region_init_container(&s->pci_mem, "pci", UINT64_MAX);
    s->bus = pci_root_bus_create(&s->pci_mem, get_system_io(), errp);
    if (!s->bus) {
        memory_region_destroy(&s->pci_mem);
        return false;
    }
    pci_bus_set_name(s->bus, "pcie.0");
    pci_root_bus_set_express(s->bus, true);
    memory_region_init_io(&s->ecam, &ecam_ops, s, "pcie-mmcfg-mmio",
                          MCH_PCIEXBAR_MAX);
    memory_region_transaction_begin();
    memory_region_add_subregion_overlap(get_system_memory(), 0, &s->pci_mem,
                                        PCI_MEMORY_PRIORITY);
    pci_host_init(&s->host, s->bus, get_system_io(), PC_PCI_CONFIG_ADDR,
                  PC_PCI_CONFIG_DATA);
    memory_region_transaction_commit();
    q35_host = s;
    return true;
}

static void q35_host_unrealize(DeviceState *dev)
{
    Q35HostState *s = (Q35HostState *)dev;

    memory_region_transaction_begin();
    q35_host_map_ecam(s, false, 0, 0);
    memory_region_destroy(&s->ecam);
    pci_host_uninit(&s->host);
    memory_region_destroy(&s->pci_mem);
    memory_region_transaction_commit();
    pci_root_bus_destroy(s->bus);
    s->bus = NULL;
    if (q35_host == s) {
        q35_host = NULL;
    }
}

static void q35_host_reset(DeviceState *dev)
{
    Q35HostState *s = (Q35HostState *)dev;

    s->host.config_reg = 0;
}

static int q35_host_pre_save(void *opaque)
{
    Q35HostState *s = opaque;
    unsigned n;
    int32_t *counts;

    if (!s->bus) {
        return -1;
    }
    counts = pci_bus_irq_counts(s->bus, &n);
    memcpy(s->irq_count, counts, MIN(n, PCI_BUS_MAX_IRQS) * sizeof(*counts));
    return 0;
}

static int q35_host_post_load(void *opaque, int version_id)
{
    Q35HostState *s = opaque;
    unsigned n;
    int32_t *counts;

    if (!s->bus) {
        return -1;
    }
    for (unsigned i = 0; i < PCI_BUS_MAX_IRQS; i++) {
        if (s->irq_count[i] < 0 || s->irq_count[i] > PCI_DEVFN_MAX) {
            return -1;
        }
    }
    counts = pci_bus_irq_counts(s->bus, &n);
    memcpy(counts, s->irq_count, MIN(n, PCI_BUS_MAX_IRQS) * sizeof(*counts));
    return 0;
}

static const VMStateDescription vmstate_q35_host = {
    .name = "q35-pcihost",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = q35_host_pre_save,
    .post_load = q35_host_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(host.config_reg, Q35HostState),
        VMSTATE_FIELD_("irq_count", Q35HostState, irq_count, VMS_I32, 4,
                       PCI_BUS_MAX_IRQS, 0),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType q35_host_type = {
    .name = TYPE_Q35_HOST_DEVICE,
    .parent = TYPE_DEVICE,
    .desc = "Q35 PCI Express host bridge (bus pcie.0, CF8/CFC and ECAM)",
    .instance_size = sizeof(Q35HostState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .realize = q35_host_realize,
    .unrealize = q35_host_unrealize,
    .reset = q35_host_reset,
    .vmsd = &vmstate_q35_host,
};

/* ---- MCH (00.0): PCIEXBAR, PAM, SMRAM ----------------------------------- */

typedef struct MCHPAMSegment {
    MemoryRegion ram;       /* RE|WE */
    MemoryRegion rom;       /* RE: read-only RAM */
    MemoryRegion pci;       /* otherwise: the PCI space */
} MCHPAMSegment;

typedef struct MCHState {
    PCIDevice parent;
    MCHPAMSegment pam[I440FX_PAM_SEGMENTS];
    MemoryRegion smram_region;
    bool mapped;
    bool preset_pciexbar;   /* x-pciexbar: direct boot, no firmware */
} MCHState;

static uint64_t mch_pam_base(unsigned seg)
{
    return seg == 0 ? I440FX_PAM_BIOS_BASE
                    : I440FX_PAM_EXPAN_BASE + (seg - 1) * I440FX_PAM_EXPAN_SIZE;
}

static uint64_t mch_pam_size(unsigned seg)
{
    return seg == 0 ? I440FX_PAM_BIOS_SIZE : I440FX_PAM_EXPAN_SIZE;
}

/* Same nibble layout as the i440FX: PAM0[7:4] = 0xf0000, then pairs. */
static unsigned mch_pam_mode(const MCHState *s, unsigned seg)
{
    const uint8_t *c = s->parent.config;

    if (seg == 0) {
        return (c[MCH_PAM0] >> 4) & I440FX_PAM_MODE_MASK;
    }
    return (c[MCH_PAM0 + 1 + (seg - 1) / 2] >> (((seg - 1) & 1) * 4)) &
           I440FX_PAM_MODE_MASK;
}

static void mch_update_pam(MCHState *s)
{
    if (!s->mapped) {
        return;
    }
    memory_region_transaction_begin();
    for (unsigned seg = 0; seg < I440FX_PAM_SEGMENTS; seg++) {
        unsigned mode = mch_pam_mode(s, seg);
        MCHPAMSegment *p = &s->pam[seg];
        memory_region_set_enabled(&p->ram,
                                  mode == (I440FX_PAM_RE | I440FX_PAM_WE));
        memory_region_set_enabled(&p->rom, mode == I440FX_PAM_RE);
        memory_region_set_enabled(&p->pci, !(mode & I440FX_PAM_RE));
    }
    memory_region_transaction_commit();
}

static void mch_update_pciexbar(MCHState *s)
{
    uint64_t bar = pci_get_quad(s->parent.config + MCH_PCIEXBAR);
    uint64_t base, size;

    if (!q35_host) {
        return;
    }
    switch (bar & MCH_PCIEXBAR_LENGTH_MASK) {
    case MCH_PCIEXBAR_LENGTH_256M:
        size = 256ULL << 20;
        base = bar & MCH_PCIEXBAR_ADMSK;
        break;
    case MCH_PCIEXBAR_LENGTH_128M:
        size = 128ULL << 20;
        base = bar & (MCH_PCIEXBAR_ADMSK | MCH_PCIEXBAR_128ADMSK);
        break;
    case MCH_PCIEXBAR_LENGTH_64M:
        size = 64ULL << 20;
        base = bar & (MCH_PCIEXBAR_ADMSK | MCH_PCIEXBAR_128ADMSK |
                      MCH_PCIEXBAR_64ADMSK);
        break;
    default:
        /* Reserved length: decode nothing (QEMU aborts here). */
        q35_host_map_ecam(q35_host, false, 0, 0);
        return;
    }
    q35_host_map_ecam(q35_host, bar & MCH_PCIEXBAREN, base, size);
}

/* D_LCK freezes SMRAM (but D_CLS) and ESMRAMC until reset (5.1.20). */
static void mch_update_smram_masks(MCHState *s)
{
    uint8_t *c = s->parent.config, *w = s->parent.wmask;
    static bool warned;

    if (c[MCH_SMRAM] & MCH_SMRAM_D_LCK) {
        c[MCH_SMRAM] &= ~MCH_SMRAM_D_OPEN;
        w[MCH_SMRAM] = MCH_SMRAM_D_CLS;
        w[MCH_ESMRAMC] = 0;
    } else {
        w[MCH_SMRAM] = MCH_SMRAM_WMASK;
        w[MCH_ESMRAMC] = MCH_ESMRAMC_WMASK;
    }
    if ((c[MCH_SMRAM] & MCH_SMRAM_D_OPEN) && !warned) {
        warned = true;
        error_report("mch: the guest opened SMRAM (D_OPEN), but there is no "
                     "SMM on this machine: SMRAM stays unmapped and "
                     "0xa0000-0xbffff keeps going to PCI");
    }
}

static bool overlaps(uint32_t addr, uint32_t len, uint32_t reg, uint32_t n)
{
    return addr < reg + n && reg < addr + len;
}

static void mch_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len)
{
    MCHState *s = (MCHState *)d;

    pci_default_write_config(d, addr, val, len);
    if (overlaps(addr, len, MCH_PCIEXBAR, 8)) {
        mch_update_pciexbar(s);
    }
    if (overlaps(addr, len, MCH_PAM0, MCH_PAM_SIZE)) {
        mch_update_pam(s);
    }
    if (overlaps(addr, len, MCH_SMRAM, 2)) {
        mch_update_smram_masks(s);
    }
}

static void mch_pam_segment_init(MCHPAMSegment *p, MemoryRegion *ram,
                                 MemoryRegion *pci, uint64_t base,
                                 uint64_t size)
{
    MemoryRegion *sysmem = get_system_memory();

    memory_region_init_alias(&p->ram, "pam-ram", ram, base, size);
    memory_region_init_alias(&p->rom, "pam-rom", ram, base, size);
    memory_region_set_readonly(&p->rom, true);
    memory_region_init_alias(&p->pci, "pam-pci", pci, base, size);
    memory_region_set_enabled(&p->ram, false);
    memory_region_set_enabled(&p->rom, false);
    memory_region_add_subregion_overlap(sysmem, base, &p->ram,
                                        Q35_PAM_PRIORITY);
    memory_region_add_subregion_overlap(sysmem, base, &p->rom,
                                        Q35_PAM_PRIORITY);
    memory_region_add_subregion_overlap(sysmem, base, &p->pci,
                                        Q35_PAM_PRIORITY);
}

static bool mch_realize(DeviceState *dev, GError **errp)
{
    MCHState *s = (MCHState *)dev;
    MachineState *ms = current_machine;
    MemoryRegion *pci_mem = pci_bus_memory(pci_get_bus(&s->parent));
    uint8_t *w = s->parent.wmask;

    if (!ms || ms->ram.type != MR_RAM || !ms->ram.size) {
        error_setg(errp, "mch: the machine's RAM is not set up (the PAM "
                   "registers shadow it)");
        return false;
    }
    if (!q35_host) {
        error_setg(errp, "mch: needs the q35-pcihost host bridge");
        return false;
    }
    pci_set_quad(w + MCH_PCIEXBAR, MCH_PCIEXBAR_ADMSK |
                 MCH_PCIEXBAR_128ADMSK | MCH_PCIEXBAR_64ADMSK |
                 MCH_PCIEXBAR_LENGTH_MASK | MCH_PCIEXBAREN);
    /* No TSEG to size: the extended TSEG register stays 0. */
    pci_set_word(w + MCH_EXT_TSEG_MBYTES, 0);
    memory_region_transaction_begin();
    for (unsigned seg = 0; seg < I440FX_PAM_SEGMENTS; seg++) {
        mch_pam_segment_init(&s->pam[seg], &ms->ram, pci_mem,
                             mch_pam_base(seg), mch_pam_size(seg));
    }
    memory_region_init_alias(&s->smram_region, "smram-region", pci_mem,
                             I440FX_SMRAM_BASE, I440FX_SMRAM_SIZE);
    memory_region_add_subregion_overlap(get_system_memory(), I440FX_SMRAM_BASE,
                                        &s->smram_region, Q35_SMRAM_PRIORITY);
    s->mapped = true;
    mch_update_pam(s);
    memory_region_transaction_commit();
    return true;
}

static void mch_unrealize(DeviceState *dev)
{
    MCHState *s = (MCHState *)dev;

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

static void mch_reset(DeviceState *dev)
{
    MCHState *s = (MCHState *)dev;
    uint8_t *c = s->parent.config;

    memset(c + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    pci_set_quad(c + MCH_PCIEXBAR, MCH_PCIEXBAR_DEFAULT |
                 (s->preset_pciexbar ? MCH_PCIEXBAREN : 0));
    c[MCH_SMRAM] = MCH_SMRAM_DEFAULT;
    c[MCH_ESMRAMC] = MCH_ESMRAMC_DEFAULT;
    mch_update_smram_masks(s);
    mch_update_pciexbar(s);
    mch_update_pam(s);
}

static int mch_post_load(void *opaque, int version_id)
{
    MCHState *s = opaque;

    mch_update_smram_masks(s);
    mch_update_pciexbar(s);
    mch_update_pam(s);
    return 0;
}

static const VMStateDescription vmstate_mch = {
    .name = "mch",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = mch_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_END_OF_LIST()
    },
};

static const Property mch_props[] = {
    DEFINE_PROP("x-pciexbar", MCHState, preset_pciexbar, PROP_BOOL, "off",
                "enable the ECAM window at reset, as firmware would"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass mch_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_Q35_MCH,
    .revision = MCH_HOST_BRIDGE_REVISION,
    .class_id = PCI_CLASS_BRIDGE_HOST,
    .config_write = mch_config_write,
};

static const DeviceType mch_type = {
    .name = TYPE_MCH_PCI_DEVICE,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "Host bridge",
    .instance_size = sizeof(MCHState),
    .category = DEVICE_CATEGORY_BRIDGE,
    .props = mch_props,
    .realize = mch_realize,
    .unrealize = mch_unrealize,
    .reset = mch_reset,
    .vmsd = &vmstate_mch,
    .class_data = &mch_class,
};

/* ---- the chipset of the q35 machine ---------------------------------- */

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

bool q35_chipset_init(MachineState *ms, bool direct_boot, GError **errp)
{
    const ChipsetProp mch_props_set[] = {
        { "addr", "00.0" }, { direct_boot ? "x-pciexbar" : NULL, "on" },
        { NULL, NULL },
    };
    g_autofree char *pm_base = g_strdup_printf("0x%x", Q35_ACPI_PM_BASE);
    /* Without firmware nobody programs PMBASE: do it at reset instead. */
    const ChipsetProp lpc_props[] = {
        { "addr", "1f.0" }, { "multifunction", "on" },
        { direct_boot ? "x-pm-io-base" : NULL, pm_base }, { NULL, NULL },
    };
    const ChipsetProp smb_props[] = {
        { "addr", "1f.3" }, { "multifunction", "on" }, { NULL, NULL },
    };

    return chipset_create(TYPE_Q35_HOST_DEVICE, NULL, errp) &&
           chipset_create(TYPE_MCH_PCI_DEVICE, mch_props_set, errp) &&
           chipset_create(TYPE_ICH9_LPC_DEVICE, lpc_props, errp) &&
           q35_ahci_init(errp) &&
           chipset_create(TYPE_ICH9_SMB_DEVICE, smb_props, errp);
}

static void q35_register_types(void)
{
    device_type_register(&q35_host_type);
    device_type_register(&mch_type);
}
type_init(q35_register_types)
