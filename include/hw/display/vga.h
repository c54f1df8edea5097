/*
 * The VGA core (hw/display/vga.c): IBM VGA registers, the legacy memory
 * window, the Bochs VBE "dispi" extension and the renderer that turns
 * video memory into the console's surface.  Display devices embed a
 * VGACommonState: "VGA" (hw/display/vga-pci.c) with the legacy ports and
 * window, "bochs-display" (hw/display/bochs-display.c) with dispi only.
 *
 * Video memory layout: for VGA modes VRAM is an array of 32-bit words,
 * one per plane address, byte p of a word belonging to plane p (so a
 * chain-4 byte address a is simply VRAM byte a); VBE modes read it as a
 * linear framebuffer.
 */
#ifndef HW_DISPLAY_VGA_H
#define HW_DISPLAY_VGA_H
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "system/memory.h"
#include "ui/console.h"

/* Bochs VBE display interface (Bochs vbe.h / QEMU include/hw/display/bochs-vbe.h) */
#define VBE_DISPI_IOPORT_INDEX          0x01ce
#define VBE_DISPI_IOPORT_DATA           0x01cf
#define VBE_DISPI_INDEX_ID              0x0
#define VBE_DISPI_INDEX_XRES            0x1
#define VBE_DISPI_INDEX_YRES            0x2
#define VBE_DISPI_INDEX_BPP             0x3
#define VBE_DISPI_INDEX_ENABLE          0x4
#define VBE_DISPI_INDEX_BANK            0x5
#define VBE_DISPI_INDEX_VIRT_WIDTH      0x6
#define VBE_DISPI_INDEX_VIRT_HEIGHT     0x7
#define VBE_DISPI_INDEX_X_OFFSET        0x8
#define VBE_DISPI_INDEX_Y_OFFSET        0x9
#define VBE_DISPI_INDEX_NB              0xa     /* registers kept */
#define VBE_DISPI_INDEX_VIDEO_MEMORY_64K 0xa    /* read-only */

#define VBE_DISPI_ID0                   0xb0c0
#define VBE_DISPI_ID5                   0xb0c5
#define VBE_DISPI_MAX_XRES              16000
#define VBE_DISPI_MAX_YRES              12000
#define VBE_DISPI_MAX_BPP               32

#define VBE_DISPI_DISABLED              0x00
#define VBE_DISPI_ENABLED               0x01
#define VBE_DISPI_GETCAPS               0x02
#define VBE_DISPI_8BIT_DAC              0x20
#define VBE_DISPI_LFB_ENABLED           0x40
#define VBE_DISPI_NOCLEARMEM            0x80

/* QEMU's PCI identity of its Bochs-compatible display devices */
#define PCI_VENDOR_ID_QEMU              0x1234
#define PCI_DEVICE_ID_QEMU_VGA          0x1111
#define PCI_CLASS_DISPLAY_OTHER         0x0380

/* The PCI devices' MMIO BAR (QEMU docs/specs/standard-vga.rst) */
#define PCI_VGA_MMIO_SIZE               0x1000
#define PCI_VGA_EDID_OFFSET             0x0000
#define PCI_VGA_EDID_SIZE               0x0100
#define PCI_VGA_IOPORT_OFFSET           0x0400  /* 0x3c0-0x3df */
#define PCI_VGA_IOPORT_SIZE             0x0020
#define PCI_VGA_BOCHS_OFFSET            0x0500  /* dispi index * 2 */
#define PCI_VGA_BOCHS_SIZE              (0x0b * 2)
#define PCI_VGA_QEXT_OFFSET             0x0600
#define PCI_VGA_QEXT_SIZE               0x0008
#define PCI_VGA_QEXT_REG_SIZE           0x0000  /* read: size of the area */
#define PCI_VGA_QEXT_REG_BYTEORDER      0x0004
#define PCI_VGA_QEXT_LITTLE_ENDIAN      0x1e1e1e1e
#define PCI_VGA_QEXT_BIG_ENDIAN         0xbebebebe

#define VGA_TEXT_MAX_COLS               160
#define VGA_TEXT_MAX_ROWS               150

typedef struct VGACommonState {
    /* configuration */
    uint32_t vram_size_mb;          /* property vgamem_mb */
    uint64_t vram_size;
    bool legacy;                    /* VGA ports, window and modes */

    MemoryRegion vram;              /* RAM, dirty-logged */
    uint8_t *vram_ptr;
    MemoryRegion legacy_window;     /* 0xa0000-0xbffff */
    MemoryRegion vga_ports;         /* 0x3b0-0x3df */
    MemoryRegion vbe_ports;         /* 0x1ce-0x1d0 */
    QemuConsole *con;

    /* general registers */
    uint8_t misc_output;            /* MSR, 0x3c2 write / 0x3cc read */
    uint8_t feature_ctrl;           /* FCR, 0x3da write / 0x3ca read */
    uint8_t st01;                   /* input status 1 (retrace toggles) */
    /* sequencer, graphics controller, CRT controller */
    uint8_t sr_index;
    uint8_t sr[8];
    uint8_t gr_index;
    uint8_t gr[16];
    uint8_t cr_index;
    uint8_t cr[256];
    /* attribute controller */
    uint8_t ar_index;
    bool ar_flip_flop;              /* false: next 0x3c0 write is an index */
    uint8_t ar[21];
    /* DAC */
    uint8_t dac_state;              /* 0 write mode, 3 read mode */
    uint8_t dac_sub_index;
    uint8_t dac_read_index;
    uint8_t dac_write_index;
    uint8_t dac_cache[3];
    uint8_t pel_mask;
    bool dac_8bit;
    uint8_t palette[768];
    uint32_t latch;                 /* the four plane latches */

    /* Bochs VBE */
    uint16_t vbe_index;
    uint16_t vbe_regs[VBE_DISPI_INDEX_NB];
    uint32_t vbe_start_addr;        /* bytes */
    uint32_t vbe_line_offset;       /* bytes */
    uint32_t bank_offset;           /* bytes */
    bool big_endian_fb;             /* QEXT byte order (kept, little only) */

    /* renderer (not guest state) */
    bool full_update;
    int mode;                       /* what was drawn last */
    int last_width, last_height;
    uint32_t last_pal[256];
    uint16_t text_shadow[VGA_TEXT_MAX_COLS * VGA_TEXT_MAX_ROWS];
    int last_cursor_cell;           /* -1: none drawn */
    bool cursor_phase, blink_phase;
    uint32_t *line_buf;             /* one rendered line */
    /*
     * VBE: the guest redraws (nearly) the whole screen between refreshes,
     * so the refresh compares every line instead of fetching the dirty
     * log (docs/display.md, "Dirty tracking"); vbe_busy counts refreshes
     * in a row that found most lines dirty.
     */
    bool vbe_compare;
    unsigned vbe_busy;
} VGACommonState;

/*
 * Create VRAM (vram_size_mb MiB, a power of two from 1 to 256) and, with
 * @s->legacy, the ISA ports and the legacy window in @window_parent (the
 * PCI memory container); register the console of @dev.
 */
bool vga_common_init(VGACommonState *s, DeviceState *dev,
                     MemoryRegion *window_parent, GError **errp);
void vga_common_fini(VGACommonState *s);
void vga_common_reset(VGACommonState *s);

/* Register access for the PCI devices' MMIO BAR. */
uint32_t vga_ioport_read(VGACommonState *s, uint32_t port);
void vga_ioport_write(VGACommonState *s, uint32_t port, uint32_t val);
uint16_t vbe_read_reg(VGACommonState *s, unsigned index);
void vbe_write_reg(VGACommonState *s, unsigned index, uint16_t val);

/* A 128-byte EDID 1.4 block preferring @xres x @yres (0: 1280x800). */
void vga_edid_generate(uint8_t *edid, size_t size, uint32_t xres,
                       uint32_t yres);

extern const VMStateDescription vmstate_vga_common;
/* The VGA core's console callbacks (opaque: the VGACommonState). */
extern const GraphicHwOps vga_common_hw_ops;

#endif
