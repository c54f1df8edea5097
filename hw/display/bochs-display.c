/*
 * "bochs-display": QEMU's display without VGA (1234:1111, class 0380).
 *
 * Spec: QEMU docs/specs/standard-vga.rst (the MMIO BAR layout it shares
 * with "VGA").  BAR0 is the framebuffer, BAR2 4 KiB of MMIO with the EDID
 * blob at 0x000, the Bochs dispi registers at 0x500 and QEMU's extended
 * registers at 0x600.  There are no VGA ports, no legacy window and no
 * text mode: until a dispi mode is enabled the screen is blank.  The
 * dispi logic and the renderer are the VGA core's (hw/display/vga.c).
 * The expansion ROM is SeaBIOS's vgabios-bochs-display.bin.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/display/vga.h"

#define TYPE_BOCHS_DISPLAY "bochs-display"

typedef struct BochsDisplayState {
    PCIDevice parent;
    VGACommonState vga;
    MemoryRegion mmio;
    bool edid_enabled;
    uint32_t xres, yres;
    uint8_t edid[PCI_VGA_EDID_SIZE];
} BochsDisplayState;

static uint64_t bochs_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    BochsDisplayState *d = opaque;

    if (addr < PCI_VGA_EDID_SIZE) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && addr + i < PCI_VGA_EDID_SIZE; i++) {
            v |= (uint64_t)d->edid[addr + i] << (8 * i);
        }
        return d->edid_enabled ? v : 0;
    }
    if (addr >= PCI_VGA_BOCHS_OFFSET &&
        addr < PCI_VGA_BOCHS_OFFSET + PCI_VGA_BOCHS_SIZE) {
        return vbe_read_reg(&d->vga, (addr - PCI_VGA_BOCHS_OFFSET) >> 1);
    }
    if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_SIZE) {
        return PCI_VGA_QEXT_SIZE;
    }
    if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER) {
        return d->vga.big_endian_fb ? PCI_VGA_QEXT_BIG_ENDIAN
                                    : PCI_VGA_QEXT_LITTLE_ENDIAN;
    }
    return 0;
}

static void bochs_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    BochsDisplayState *d = opaque;

    if (addr >= PCI_VGA_BOCHS_OFFSET &&
        addr < PCI_VGA_BOCHS_OFFSET + PCI_VGA_BOCHS_SIZE) {
        vbe_write_reg(&d->vga, (addr - PCI_VGA_BOCHS_OFFSET) >> 1, val);
    } else if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER) {
        if (val == PCI_VGA_QEXT_BIG_ENDIAN) {
            d->vga.big_endian_fb = true;
        } else if (val == PCI_VGA_QEXT_LITTLE_ENDIAN) {
            d->vga.big_endian_fb = false;
        }
    }
}

static const MemoryRegionOps bochs_mmio_ops = {
    .read = bochs_mmio_read,
    .write = bochs_mmio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static bool bochs_display_realize(DeviceState *dev, GError **errp)
{
    BochsDisplayState *d = (BochsDisplayState *)dev;

    d->vga.legacy = false;
    if (!vga_common_init(&d->vga, dev, NULL, errp)) {
        return false;
    }
    vga_edid_generate(d->edid, sizeof(d->edid), d->xres, d->yres);
    pci_register_bar(&d->parent, 0, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &d->vga.vram);
    memory_region_init_io(&d->mmio, &bochs_mmio_ops, d, "bochs-display.mmio",
                          PCI_VGA_MMIO_SIZE);
    pci_register_bar(&d->parent, 2, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->mmio);
    return true;
}

static void bochs_display_unrealize(DeviceState *dev)
{
    BochsDisplayState *d = (BochsDisplayState *)dev;

    memory_region_destroy(&d->mmio);
    vga_common_fini(&d->vga);
}

static void bochs_display_reset(DeviceState *dev)
{
    vga_common_reset(&((BochsDisplayState *)dev)->vga);
}

static const VMStateDescription vmstate_bochs_display = {
    .name = "bochs-display",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vga, BochsDisplayState, vmstate_vga_common,
                       VGACommonState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property bochs_display_props[] = {
    DEFINE_PROP("vgamem", BochsDisplayState, vga.vram_size_mb, PROP_UINT32,
                "16", "video memory in MiB (a power of two, 1-256)"),
    DEFINE_PROP("edid", BochsDisplayState, edid_enabled, PROP_BOOL, "on",
                "an EDID blob at the start of BAR2"),
    DEFINE_PROP("xres", BochsDisplayState, xres, PROP_UINT32, "0",
                "preferred width in the EDID (0: 1280)"),
    DEFINE_PROP("yres", BochsDisplayState, yres, PROP_UINT32, "0",
                "preferred height in the EDID (0: 800)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass bochs_display_class = {
    .vendor_id = PCI_VENDOR_ID_QEMU,
    .device_id = PCI_DEVICE_ID_QEMU_VGA,
    .class_id = PCI_CLASS_DISPLAY_OTHER,
    .romfile = "vgabios-bochs-display.bin",
};

static const DeviceType bochs_display_type = {
    .name = TYPE_BOCHS_DISPLAY,
    .parent = TYPE_PCI_DEVICE,
    .desc = "bochs display (no VGA)",
    .instance_size = sizeof(BochsDisplayState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_DISPLAY,
    .props = bochs_display_props,
    .realize = bochs_display_realize,
    .unrealize = bochs_display_unrealize,
    .reset = bochs_display_reset,
    .vmsd = &vmstate_bochs_display,
    .class_data = &bochs_display_class,
};

static void bochs_display_register(void)
{
    device_type_register(&bochs_display_type);
}
type_init(bochs_display_register)
