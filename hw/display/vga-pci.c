/*
 * "VGA": QEMU's standard VGA on PCI (1234:1111 rev 02, class 0300).
 *
 * Spec: QEMU docs/specs/standard-vga.rst.  BAR0 is the video memory
 * (prefetchable, vgamem_mb MiB), BAR2 4 KiB of MMIO: the EDID blob at
 * 0x000, the VGA registers 0x3c0-0x3df at 0x400, the Bochs dispi
 * registers at 0x500 (index * 2, 16 bits each) and QEMU's extended
 * registers at 0x600 (size, framebuffer byte order).  The legacy ports
 * 0x3b0-0x3df, 0x1ce-0x1d0 and the window at 0xa0000 are decoded too; the
 * expansion ROM is SeaBIOS's vgabios-stdvga.bin, which the firmware runs
 * from the ROM BAR.  The VGA core is hw/display/vga.c.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/display/vga.h"

#define TYPE_PCI_VGA "VGA"

typedef struct PCIVGAState {
    PCIDevice parent;
    VGACommonState vga;
    MemoryRegion mmio;
    bool mmio_enabled;          /* property "mmio" */
    bool edid_enabled;          /* property "edid" */
    uint32_t xres, yres;        /* EDID preferred mode */
    uint8_t edid[PCI_VGA_EDID_SIZE];
} PCIVGAState;

/* ---- BAR2: EDID, VGA ports, dispi, QEMU extended registers ---------- */

static uint64_t pci_vga_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIVGAState *d = opaque;
    VGACommonState *s = &d->vga;

    if (addr < PCI_VGA_EDID_SIZE) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && addr + i < PCI_VGA_EDID_SIZE; i++) {
            v |= (uint64_t)d->edid[addr + i] << (8 * i);
        }
        return d->edid_enabled ? v : 0;
    }
    if (addr >= PCI_VGA_IOPORT_OFFSET &&
        addr < PCI_VGA_IOPORT_OFFSET + PCI_VGA_IOPORT_SIZE) {
        uint32_t port = 0x3c0 + addr - PCI_VGA_IOPORT_OFFSET;
        uint64_t v = vga_ioport_read(s, port);
        if (size == 2) {
            v |= (uint64_t)vga_ioport_read(s, port + 1) << 8;
        }
        return v;
    }
    if (addr >= PCI_VGA_BOCHS_OFFSET &&
        addr < PCI_VGA_BOCHS_OFFSET + PCI_VGA_BOCHS_SIZE) {
        return vbe_read_reg(s, (addr - PCI_VGA_BOCHS_OFFSET) >> 1);
    }
    if (addr >= PCI_VGA_QEXT_OFFSET &&
        addr < PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_SIZE) {
        switch (addr - PCI_VGA_QEXT_OFFSET) {
        case PCI_VGA_QEXT_REG_SIZE:
            return PCI_VGA_QEXT_SIZE;
        case PCI_VGA_QEXT_REG_BYTEORDER:
            return s->big_endian_fb ? PCI_VGA_QEXT_BIG_ENDIAN
                                    : PCI_VGA_QEXT_LITTLE_ENDIAN;
        }
    }
    return 0;
}

static void pci_vga_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                               unsigned size)
{
    PCIVGAState *d = opaque;
    VGACommonState *s = &d->vga;

    if (addr >= PCI_VGA_IOPORT_OFFSET &&
        addr < PCI_VGA_IOPORT_OFFSET + PCI_VGA_IOPORT_SIZE) {
        uint32_t port = 0x3c0 + addr - PCI_VGA_IOPORT_OFFSET;
        vga_ioport_write(s, port, val & 0xff);
        if (size == 2) {
            vga_ioport_write(s, port + 1, (val >> 8) & 0xff);
        }
        return;
    }
    if (addr >= PCI_VGA_BOCHS_OFFSET &&
        addr < PCI_VGA_BOCHS_OFFSET + PCI_VGA_BOCHS_SIZE) {
        vbe_write_reg(s, (addr - PCI_VGA_BOCHS_OFFSET) >> 1, val);
        return;
    }
    if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER && size == 4) {
        /*
         * Only little-endian framebuffers are drawn; the big-endian
         * setting is kept and read back (a big-endian guest's problem).
         */
        if (val == PCI_VGA_QEXT_BIG_ENDIAN) {
            s->big_endian_fb = true;
        } else if (val == PCI_VGA_QEXT_LITTLE_ENDIAN) {
            s->big_endian_fb = false;
        }
    }
}

static const MemoryRegionOps pci_vga_mmio_ops = {
    .read = pci_vga_mmio_read,
    .write = pci_vga_mmio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- life cycle ------------------------------------------------------- */

static bool pci_vga_realize(DeviceState *dev, GError **errp)
{
    PCIVGAState *d = (PCIVGAState *)dev;
    PCIBus *bus = pci_get_bus(&d->parent);

    d->vga.legacy = true;
    if (!vga_common_init(&d->vga, dev, pci_bus_memory(bus), errp)) {
        return false;
    }
    pci_register_bar(&d->parent, 0, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &d->vga.vram);
    vga_edid_generate(d->edid, sizeof(d->edid), d->xres, d->yres);
    if (d->mmio_enabled) {
        memory_region_init_io(&d->mmio, &pci_vga_mmio_ops, d, "vga.mmio",
                              PCI_VGA_MMIO_SIZE);
        pci_register_bar(&d->parent, 2, PCI_BASE_ADDRESS_SPACE_MEMORY,
                         &d->mmio);
    }
    return true;
}

static void pci_vga_unrealize(DeviceState *dev)
{
    PCIVGAState *d = (PCIVGAState *)dev;

    if (d->mmio_enabled) {
        memory_region_destroy(&d->mmio);
    }
    vga_common_fini(&d->vga);
}

static void pci_vga_reset(DeviceState *dev)
{
    PCIVGAState *d = (PCIVGAState *)dev;

    vga_common_reset(&d->vga);
}

static const VMStateDescription vmstate_pci_vga = {
    .name = "vga-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vga, PCIVGAState, vmstate_vga_common, VGACommonState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property pci_vga_props[] = {
    DEFINE_PROP("vgamem_mb", PCIVGAState, vga.vram_size_mb, PROP_UINT32,
                "16", "video memory in MiB (a power of two, 1-256)"),
    DEFINE_PROP("mmio", PCIVGAState, mmio_enabled, PROP_BOOL, "on",
                "the MMIO BAR (BAR2) with the registers"),
    DEFINE_PROP("edid", PCIVGAState, edid_enabled, PROP_BOOL, "on",
                "an EDID blob at the start of BAR2"),
    DEFINE_PROP("xres", PCIVGAState, xres, PROP_UINT32, "0",
                "preferred width in the EDID (0: 1280)"),
    DEFINE_PROP("yres", PCIVGAState, yres, PROP_UINT32, "0",
                "preferred height in the EDID (0: 800)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass pci_vga_class = {
    .vendor_id = PCI_VENDOR_ID_QEMU,
    .device_id = PCI_DEVICE_ID_QEMU_VGA,
    .revision = 2,
    .class_id = PCI_CLASS_DISPLAY_VGA,
    .romfile = "vgabios-stdvga.bin",
};

static const DeviceType pci_vga_type = {
    .name = TYPE_PCI_VGA,
    .parent = TYPE_PCI_DEVICE,
    .desc = "standard VGA (1234:1111) with Bochs VBE extensions",
    .instance_size = sizeof(PCIVGAState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_DISPLAY,
    .props = pci_vga_props,
    .realize = pci_vga_realize,
    .unrealize = pci_vga_unrealize,
    .reset = pci_vga_reset,
    .vmsd = &vmstate_pci_vga,
    .class_data = &pci_vga_class,
};

static void pci_vga_register(void)
{
    device_type_register(&pci_vga_type);
}
type_init(pci_vga_register)
