/*
 * virtio-vga (-vga virtio): virtio-gpu with a standard VGA core for the
 * firmware and legacy modes, as QEMU 7.2's.
 *
 * PCI: 1af4:1050 rev 1 (modern only), class 0300, expansion ROM
 * vgabios-virtio.bin (Debian's seabios package).  The VGA core
 * (hw/display/vga.c) decodes the legacy ports 0x3b0-0x3df and 0x1ce-0x1d0
 * and the window at 0xa0000; BAR0 is its video memory (prefetchable,
 * vgamem_mb MiB).  BAR2 holds the standard VGA's MMIO registers (VGA
 * ports at 0x400, dispi at 0x500, QEMU extended registers at 0x600; no
 * EDID: the GPU's GET_EDID serves it).  The virtio registers are where
 * every virtio-pci device here has them (MSI-X BAR1, modern BAR4, found
 * through the capabilities); QEMU puts them in BAR2 behind the VGA
 * registers and MSI-X in BAR4 - drivers find both through the
 * capabilities, SeaBIOS's VGA BIOS reads the dispi registers from BAR2.
 *
 * Head 0 shares one console with the VGA core: the VGA draws it until
 * the driver shows a resource on scanout 0 (SET_SCANOUT), and again after
 * a device reset or when the driver disables scanout 0.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-gpu.h"
#include "hw/display/vga.h"
#include "migration/vmstate.h"

#define TYPE_VIRTIO_VGA "virtio-vga"

typedef struct VirtIOVGA {
    VirtIOPCIProxy proxy;
    VirtIOGPU gpu;
    VGACommonState vga;
    MemoryRegion mmio;
} VirtIOVGA;

static VirtIOVGA *vvga_from_vdev(VirtIODevice *vdev)
{
    return (VirtIOVGA *)((uint8_t *)vdev - offsetof(VirtIOVGA, gpu));
}

/* ---- BAR2: the standard VGA's registers --------------------------- */

static uint64_t vvga_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    VGACommonState *s = opaque;

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
    if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_SIZE) {
        return PCI_VGA_QEXT_SIZE;
    }
    if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER) {
        return s->big_endian_fb ? PCI_VGA_QEXT_BIG_ENDIAN
                                : PCI_VGA_QEXT_LITTLE_ENDIAN;
    }
    return 0;
}

static void vvga_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    VGACommonState *s = opaque;

    if (addr >= PCI_VGA_IOPORT_OFFSET &&
        addr < PCI_VGA_IOPORT_OFFSET + PCI_VGA_IOPORT_SIZE) {
        uint32_t port = 0x3c0 + addr - PCI_VGA_IOPORT_OFFSET;

        vga_ioport_write(s, port, val & 0xff);
        if (size == 2) {
            vga_ioport_write(s, port + 1, (val >> 8) & 0xff);
        }
    } else if (addr >= PCI_VGA_BOCHS_OFFSET &&
               addr < PCI_VGA_BOCHS_OFFSET + PCI_VGA_BOCHS_SIZE) {
        vbe_write_reg(s, (addr - PCI_VGA_BOCHS_OFFSET) >> 1, val);
    } else if (addr == PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER &&
               size == 4) {
        if (val == PCI_VGA_QEXT_BIG_ENDIAN) {
            s->big_endian_fb = true;
        } else if (val == PCI_VGA_QEXT_LITTLE_ENDIAN) {
            s->big_endian_fb = false;
        }
    }
}

static const MemoryRegionOps vvga_mmio_ops = {
    .read = vvga_mmio_read,
    .write = vvga_mmio_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- the shared console ------------------------------------------- */

static void vvga_gfx_update(void *opaque)
{
    VirtIOVGA *d = opaque;

    if (d->gpu.scanout0_driven) {
        virtio_gpu_gfx_update(&d->gpu.scanout[0]);
    } else {
        vga_common_hw_ops.gfx_update(&d->vga);
    }
}

static void vvga_invalidate(void *opaque)
{
    VirtIOVGA *d = opaque;

    virtio_gpu_invalidate(&d->gpu.scanout[0]);
    vga_common_hw_ops.invalidate(&d->vga);
}

/* A front end's size wish goes to the GPU's head 0 (the VGA has none). */
static void vvga_ui_info(void *opaque, unsigned head, const QemuUIInfo *info)
{
    VirtIOVGA *d = opaque;

    virtio_gpu_ui_info(&d->gpu.scanout[0], head, info);
}

static const GraphicHwOps vvga_hw_ops = {
    .gfx_update = vvga_gfx_update,
    .invalidate = vvga_invalidate,
    .ui_info = vvga_ui_info,
};

/* The driver took scanout 0 or gave it back: the VGA redraws all. */
static void vvga_scanout0_changed(void *opaque, bool driven)
{
    VirtIOVGA *d = opaque;

    if (!driven) {
        vga_common_hw_ops.invalidate(&d->vga);
        d->vga.mode = -1;
    }
}

/* ---- life cycle ------------------------------------------------------ */

static bool vvga_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIOVGA *d = vvga_from_vdev(vdev);
    DeviceState *dev = vdev->dev;
    PCIBus *bus = pci_get_bus(&d->proxy.pci);

    d->vga.legacy = true;
    if (!vga_common_init(&d->vga, dev, pci_bus_memory(bus), errp)) {
        return false;
    }
    pci_register_bar(&d->proxy.pci, 0, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &d->vga.vram);
    memory_region_init_io(&d->mmio, &vvga_mmio_ops, &d->vga, "virtio-vga.mmio",
                          PCI_VGA_MMIO_SIZE);
    memory_region_set_owner(&d->mmio, dev);
    pci_register_bar(&d->proxy.pci, 2, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &d->mmio);
    graphic_console_set_hwops(d->vga.con, &vvga_hw_ops, d);
    d->gpu.scanout0_changed = vvga_scanout0_changed;
    d->gpu.scanout0_opaque = d;
    if (!virtio_gpu_core_realize(&d->gpu, dev, d->vga.con, errp)) {
        memory_region_destroy(&d->mmio);
        vga_common_fini(&d->vga);
        return false;
    }
    return true;
}

static void vvga_unrealize(VirtIODevice *vdev)
{
    VirtIOVGA *d = vvga_from_vdev(vdev);

    virtio_gpu_core_unrealize(&d->gpu);
    memory_region_destroy(&d->mmio);
    vga_common_fini(&d->vga);
}

/* After the virtio-pci reset (which gave scanout 0 back to the VGA). */
static void vvga_reset(DeviceState *dev)
{
    VirtIOVGA *d = (VirtIOVGA *)dev;

    vga_common_reset(&d->vga);
}

static int vvga_post_load(void *opaque, int version_id)
{
    VirtIOVGA *d = opaque;

    if (!virtio_core_post_load(&d->gpu.vdev)) {
        return -1;
    }
    /* the VGA draws until the resources' state gives scanout 0 back */
    d->gpu.scanout0_driven = false;
    vga_common_hw_ops.invalidate(&d->vga);
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_vga = {
    .name = "virtio-vga",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vvga_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(gpu, VirtIOVGA, vmstate_virtio_gpu, VirtIOGPU),
        VMSTATE_STRUCT(vga, VirtIOVGA, vmstate_vga_common, VGACommonState),
        VMSTATE_END_OF_LIST()
    },
};

static VirtioDeviceClass vvga_vdc;     /* virtio_gpu_vdc, class 0300 */

static const VirtioPCIClass vvga_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1040 + VIRTIO_ID_GPU,
        .revision = 1,                  /* modern only (4.1.2.1) */
        .class_id = PCI_CLASS_DISPLAY_VGA,
        .interrupt_pin = 1,
        .romfile = "vgabios-virtio.bin",
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &vvga_vdc,
    .vdev_offset = offsetof(VirtIOVGA, gpu),
    .modern_only = true,
    .realize = vvga_realize,
    .unrealize = vvga_unrealize,
};

static const Property vvga_props[] = {
    DEFINE_PROP("max_outputs", VirtIOVGA, gpu.max_outputs, PROP_UINT32, "1",
                "heads (1-16), one graphic console each"),
    DEFINE_PROP("xres", VirtIOVGA, gpu.xres, PROP_UINT32, "1280",
                "preferred width reported to the guest"),
    DEFINE_PROP("yres", VirtIOVGA, gpu.yres, PROP_UINT32, "800",
                "preferred height reported to the guest"),
    DEFINE_PROP("edid", VirtIOVGA, gpu.edid, PROP_BOOL, "on",
                "offer VIRTIO_GPU_F_EDID (GET_EDID)"),
    DEFINE_PROP("max_hostmem", VirtIOVGA, gpu.max_hostmem, PROP_SIZE, "256M",
                "host memory the guest's resources may take"),
    DEFINE_PROP("vgamem_mb", VirtIOVGA, vga.vram_size_mb, PROP_UINT32, "16",
                "VGA video memory in MiB (a power of two, 1-256)"),
    DEFINE_PROP("vectors", VirtIOVGA, proxy.nvectors, PROP_UINT32, "3",
                "MSI-X vectors (0: INTx only)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_vga_type = {
    .name = TYPE_VIRTIO_VGA,
    .parent = "virtio-pci",
    .desc = "virtio-vga",
    .instance_size = sizeof(VirtIOVGA),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_DISPLAY,
    .props = vvga_props,
    .reset = vvga_reset,
    .vmsd = &vmstate_virtio_vga,
    .class_data = &vvga_pci_class,
};

static void virtio_vga_register(void)
{
    vvga_vdc = virtio_gpu_vdc;
    vvga_vdc.pci_class_id = PCI_CLASS_DISPLAY_VGA;
    device_type_register(&virtio_vga_type);
}
type_init(virtio_vga_register)
