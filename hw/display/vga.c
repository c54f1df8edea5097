/*
 * The VGA core: registers, the legacy memory window, Bochs VBE (dispi)
 * and the renderer.
 *
 * Spec: IBM VGA Technical Reference (Personal System/2 Hardware Interface
 * Technical Reference, "Video Subsystem"), register names as in FreeVGA
 * (http://www.osdever.net/FreeVGA/vga/vga.htm): SR (sequencer), GR
 * (graphics controller), CR (CRT controller), AR (attribute controller),
 * DAC, MSR (miscellaneous output), FCR (feature control), ST00/ST01
 * (input status).  Bochs VBE: Bochs' vbe.h and QEMU's
 * docs/specs/standard-vga.rst.
 *
 * What is modelled: every register with read-back; the window at
 * 0xa0000-0xbffff decoded per GR06 memory map select; read modes 0/1 and
 * write modes 0-3 with latches, data rotate, logical operations,
 * set/reset, bit mask and the map mask; odd/even and chain-4 addressing;
 * text modes (font in plane 2, 8/9-dot cells and the line-graphics rule,
 * blink, cursor), 16-colour planar, CGA 4-colour and chained 256-colour
 * graphics, line compare and the CGA address substitution of CR17; VBE
 * modes of 8/15/16/24/32 bits with virtual width, offsets and banks.
 * ST01 toggles its retrace and display-enable bits on every read, so
 * guests polling for retrace never hang.  Not modelled: pel panning,
 * horizontal timing, VBE 4-bit modes (a 4-bit request becomes 8 bits).
 *
 * Guest input is hostile: every index is masked to its register file,
 * every VRAM access is bounded by the VRAM size, VBE geometry is clamped
 * to what fits the VRAM before anything is drawn.
 */
#include "qemu/osdep.h"
#include "hw/display/vga.h"
#include "system/timer.h"

/* Register indices (FreeVGA names) */
#define SR_CLOCKING_MODE    0x01
#define SR_MAP_MASK         0x02
#define SR_CHAR_MAP         0x03
#define SR_MEMORY_MODE      0x04
#define SR01_8DOT           0x01
#define SR01_DOT_CLOCK_DIV2 0x08
#define SR01_SCREEN_OFF     0x20
#define SR04_ODD_EVEN_DIS   0x04
#define SR04_CHAIN4         0x08

#define GR_SET_RESET        0x00
#define GR_ENABLE_SET_RESET 0x01
#define GR_COLOR_COMPARE    0x02
#define GR_DATA_ROTATE      0x03
#define GR_READ_MAP_SELECT  0x04
#define GR_MODE             0x05
#define GR_MISC             0x06
#define GR_COLOR_DONT_CARE  0x07
#define GR_BIT_MASK         0x08
#define GR05_READ_MODE1     0x08
#define GR05_HOST_ODD_EVEN  0x10
#define GR06_GRAPHICS       0x01

#define CR_H_DISP_END       0x01
#define CR_OVERFLOW         0x07
#define CR_MAX_SCAN         0x09
#define CR_CURSOR_START     0x0a
#define CR_CURSOR_END       0x0b
#define CR_START_HI         0x0c
#define CR_START_LO         0x0d
#define CR_CURSOR_HI        0x0e
#define CR_CURSOR_LO        0x0f
#define CR_V_SYNC_END       0x11
#define CR_V_DISP_END       0x12
#define CR_OFFSET           0x13
#define CR_MODE             0x17
#define CR_LINE_COMPARE     0x18
#define CR11_PROTECT        0x80
#define CR0A_CURSOR_OFF     0x20

#define AR_MODE             0x10
#define AR_OVERSCAN         0x11
#define AR_PLANE_ENABLE     0x12
#define AR_HPEL             0x13
#define AR_COLOR_SELECT     0x14
#define AR10_GRAPHICS       0x01
#define AR10_LINE_GRAPHICS  0x04
#define AR10_BLINK          0x08
#define AR10_P54S           0x80
#define AR_INDEX_PAS        0x20

#define MSR_COLOR           0x01    /* I/O address select: 0x3dx */
#define ST01_DISP_ENABLE    0x01
#define ST01_V_RETRACE      0x08

#define BLINK_PERIOD_NS     (266 * 1000000LL)   /* half a text blink cycle */

enum {
    MODE_NONE, MODE_BLANK, MODE_TEXT, MODE_GRAPHIC,
};

/* Writable bits (reserved bits read back as zero). */
static const uint8_t sr_mask[8] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0, 0, 0 };
static const uint8_t gr_mask[16] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b,
                                     0x0f, 0x0f, 0xff };

static inline bool vbe_enabled(const VGACommonState *s)
{
    return s->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

static inline uint32_t plane_words(const VGACommonState *s)
{
    return s->vram_size / 4;
}

static void vram_set_dirty(VGACommonState *s, uint64_t off, uint64_t len)
{
    memory_region_set_dirty(&s->vram, off, len);
}

/* ---- VBE ------------------------------------------------------------- */

static unsigned vbe_bytes_pp(const VGACommonState *s)
{
    return (s->vbe_regs[VBE_DISPI_INDEX_BPP] + 7) / 8;
}

/*
 * Make the dispi registers describe a mode that fits the VRAM (as the
 * Bochs BIOS expects: the registers read back what is in effect).
 */
static void vbe_fixup_regs(VGACommonState *s)
{
    uint16_t *r = s->vbe_regs;
    uint32_t bpp, line, maxy, offset;

    if (!vbe_enabled(s)) {
        return;
    }
    switch (r[VBE_DISPI_INDEX_BPP]) {
    case 8: case 15: case 16: case 24: case 32:
        break;
    default:
        r[VBE_DISPI_INDEX_BPP] = 8;
    }
    bpp = vbe_bytes_pp(s);
    r[VBE_DISPI_INDEX_XRES] &= ~7u;
    if (r[VBE_DISPI_INDEX_XRES] == 0) {
        r[VBE_DISPI_INDEX_XRES] = 8;
    }
    r[VBE_DISPI_INDEX_XRES] = MIN(r[VBE_DISPI_INDEX_XRES], VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_VIRT_WIDTH] &= ~7u;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = MIN(r[VBE_DISPI_INDEX_VIRT_WIDTH],
                                        VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = MAX(r[VBE_DISPI_INDEX_VIRT_WIDTH],
                                        r[VBE_DISPI_INDEX_XRES]);
    line = r[VBE_DISPI_INDEX_VIRT_WIDTH] * bpp;
    /* the virtual width alone may not fit a small VRAM */
    if (line > s->vram_size) {
        r[VBE_DISPI_INDEX_VIRT_WIDTH] = r[VBE_DISPI_INDEX_XRES] =
            MAX(8u, (uint32_t)(s->vram_size / bpp) & ~7u);
        line = r[VBE_DISPI_INDEX_VIRT_WIDTH] * bpp;
    }
    maxy = MIN(s->vram_size / line, 0xffffu);
    if (r[VBE_DISPI_INDEX_YRES] == 0) {
        r[VBE_DISPI_INDEX_YRES] = 1;
    }
    r[VBE_DISPI_INDEX_YRES] = MIN(r[VBE_DISPI_INDEX_YRES], VBE_DISPI_MAX_YRES);
    r[VBE_DISPI_INDEX_YRES] = MIN(r[VBE_DISPI_INDEX_YRES], maxy);
    r[VBE_DISPI_INDEX_X_OFFSET] = MIN(r[VBE_DISPI_INDEX_X_OFFSET],
                                      VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_Y_OFFSET] = MIN(r[VBE_DISPI_INDEX_Y_OFFSET],
                                      VBE_DISPI_MAX_YRES);
    offset = r[VBE_DISPI_INDEX_X_OFFSET] * bpp +
             r[VBE_DISPI_INDEX_Y_OFFSET] * line;
    if ((uint64_t)offset + (uint64_t)r[VBE_DISPI_INDEX_YRES] * line >
        s->vram_size) {
        r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
        offset = r[VBE_DISPI_INDEX_X_OFFSET] * bpp;
        if ((uint64_t)offset + (uint64_t)r[VBE_DISPI_INDEX_YRES] * line >
            s->vram_size) {
            r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            offset = 0;
        }
    }
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = maxy;
    s->vbe_line_offset = line;
    s->vbe_start_addr = offset;
}

/* Make the VGA registers agree with the VBE mode (VGA-aware readers). */
static void vbe_update_vgaregs(VGACommonState *s)
{
    unsigned h;

    if (!vbe_enabled(s)) {
        return;
    }
    s->gr[GR_MISC] = (s->gr[GR_MISC] & ~0x0c) | 0x04 | GR06_GRAPHICS;
    s->cr[CR_MODE] |= 3;
    s->cr[CR_OFFSET] = s->vbe_line_offset >> 3;
    s->cr[CR_H_DISP_END] = (s->vbe_regs[VBE_DISPI_INDEX_XRES] >> 3) - 1;
    h = s->vbe_regs[VBE_DISPI_INDEX_YRES] - 1;
    s->cr[CR_V_DISP_END] = h;
    s->cr[CR_OVERFLOW] = (s->cr[CR_OVERFLOW] & ~0x42) | ((h >> 7) & 0x02) |
                         ((h >> 3) & 0x40);
    s->cr[CR_LINE_COMPARE] = 0xff;
    s->cr[CR_OVERFLOW] |= 0x10;
    s->cr[CR_MAX_SCAN] = (s->cr[CR_MAX_SCAN] | 0x40) & ~0x9f;
    s->gr[GR_MODE] = (s->gr[GR_MODE] & ~0x60) | (2 << 5);
}

uint16_t vbe_read_reg(VGACommonState *s, unsigned index)
{
    if (index < VBE_DISPI_INDEX_NB) {
        if (s->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
            switch (index) {
            case VBE_DISPI_INDEX_XRES:
                return VBE_DISPI_MAX_XRES;
            case VBE_DISPI_INDEX_YRES:
                return VBE_DISPI_MAX_YRES;
            case VBE_DISPI_INDEX_BPP:
                return VBE_DISPI_MAX_BPP;
            }
        }
        return s->vbe_regs[index];
    }
    if (index == VBE_DISPI_INDEX_VIDEO_MEMORY_64K) {
        return MIN(s->vram_size / (64 * KiB), 0xffffu);
    }
    return 0;
}

void vbe_write_reg(VGACommonState *s, unsigned index, uint16_t val)
{
    uint16_t *r = s->vbe_regs;

    switch (index) {
    case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5) {
            r[index] = val;
        }
        break;
    case VBE_DISPI_INDEX_XRES:
    case VBE_DISPI_INDEX_YRES:
    case VBE_DISPI_INDEX_BPP:
    case VBE_DISPI_INDEX_VIRT_WIDTH:
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        r[index] = val;
        vbe_fixup_regs(s);
        vbe_update_vgaregs(s);
        s->full_update = true;
        break;
    case VBE_DISPI_INDEX_BANK:
        val &= (s->vram_size >> 16) - 1;
        r[index] = val;
        s->bank_offset = (uint32_t)val << 16;
        break;
    case VBE_DISPI_INDEX_ENABLE:
        if ((val & VBE_DISPI_ENABLED) && !vbe_enabled(s)) {
            r[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
            r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
            r[VBE_DISPI_INDEX_ENABLE] |= VBE_DISPI_ENABLED;
            vbe_fixup_regs(s);
            vbe_update_vgaregs(s);
            if (!(val & VBE_DISPI_NOCLEARMEM)) {
                uint64_t len = MIN((uint64_t)r[VBE_DISPI_INDEX_YRES] *
                                   s->vbe_line_offset, s->vram_size);
                memset(s->vram_ptr, 0, len);
                vram_set_dirty(s, 0, len);
            }
        } else if (!(val & VBE_DISPI_ENABLED)) {
            s->bank_offset = 0;
        }
        s->dac_8bit = !!(val & VBE_DISPI_8BIT_DAC);
        r[index] = val;
        s->full_update = true;
        break;
    default:
        /* VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only */
        break;
    }
}

static uint64_t vbe_ports_read(void *opaque, uint64_t addr, unsigned size)
{
    VGACommonState *s = opaque;

    if (addr == 0) {
        return s->vbe_index;
    }
    return vbe_read_reg(s, s->vbe_index);
}

static void vbe_ports_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    VGACommonState *s = opaque;

    if (addr == 0) {
        s->vbe_index = val;
    } else {
        vbe_write_reg(s, s->vbe_index, val);
    }
}

static const MemoryRegionOps vbe_ports_ops = {
    .read = vbe_ports_read,
    .write = vbe_ports_write,
    .min_access_size = 2,
    .max_access_size = 2,
};

/* ---- VGA ports ------------------------------------------------------- */

/* A port of the other (mono/colour) block than MSR selects: not decoded. */
static bool vga_port_inactive(const VGACommonState *s, uint32_t port)
{
    if (s->misc_output & MSR_COLOR) {
        return (port & 0xfff0) == 0x3b0;
    }
    return (port & 0xfff0) == 0x3d0;
}

uint32_t vga_ioport_read(VGACommonState *s, uint32_t port)
{
    uint32_t val;

    if (vga_port_inactive(s, port)) {
        return 0xff;
    }
    switch (port) {
    case 0x3c0:
        return s->ar_flip_flop ? 0 : s->ar_index;
    case 0x3c1:
        return (s->ar_index & 0x1f) < ARRAY_SIZE(s->ar) ?
               s->ar[s->ar_index & 0x1f] : 0;
    case 0x3c2:
        return 0;                       /* ST00: no switch sense, no IRQ */
    case 0x3c4:
        return s->sr_index;
    case 0x3c5:
        return s->sr[s->sr_index & 7];
    case 0x3c6:
        return s->pel_mask;
    case 0x3c7:
        return s->dac_state;
    case 0x3c8:
        return s->dac_write_index;
    case 0x3c9:
        val = s->palette[s->dac_read_index * 3 + s->dac_sub_index];
        if (++s->dac_sub_index == 3) {
            s->dac_sub_index = 0;
            s->dac_read_index++;
        }
        return val;
    case 0x3ca:
        return s->feature_ctrl;
    case 0x3cc:
        return s->misc_output;
    case 0x3ce:
        return s->gr_index;
    case 0x3cf:
        return s->gr[s->gr_index & 0x0f];
    case 0x3b4:
    case 0x3d4:
        return s->cr_index;
    case 0x3b5:
    case 0x3d5:
        return s->cr[s->cr_index];
    case 0x3ba:
    case 0x3da:
        /* toggling retrace: a guest waiting for either edge sees it */
        s->st01 ^= ST01_V_RETRACE | ST01_DISP_ENABLE;
        s->ar_flip_flop = false;
        return s->st01;
    default:
        return 0;
    }
}

static void vga_ar_write(VGACommonState *s, uint8_t val)
{
    unsigned idx;

    if (!s->ar_flip_flop) {
        val &= 0x3f;
        if ((val ^ s->ar_index) & AR_INDEX_PAS) {
            s->full_update = true;
        }
        s->ar_index = val;
    } else {
        idx = s->ar_index & 0x1f;
        switch (idx) {
        case 0x00 ... 0x0f:
            s->ar[idx] = val & 0x3f;
            break;
        case AR_MODE:
            s->ar[idx] = val & ~0x10;
            break;
        case AR_OVERSCAN:
            s->ar[idx] = val;
            break;
        case AR_PLANE_ENABLE:
            s->ar[idx] = val & 0x3f;
            break;
        case AR_HPEL:
        case AR_COLOR_SELECT:
            s->ar[idx] = val & 0x0f;
            break;
        default:
            break;
        }
        s->full_update = true;
    }
    s->ar_flip_flop = !s->ar_flip_flop;
}

static void vga_cr_write(VGACommonState *s, uint8_t val)
{
    uint8_t idx = s->cr_index;

    /* CR11 bit 7 protects CR0-CR7, except the line compare bit of CR7 */
    if ((s->cr[CR_V_SYNC_END] & CR11_PROTECT) && idx <= CR_OVERFLOW) {
        if (idx == CR_OVERFLOW) {
            s->cr[idx] = (s->cr[idx] & ~0x10) | (val & 0x10);
        }
        return;
    }
    s->cr[idx] = val;
    s->full_update = true;
}

void vga_ioport_write(VGACommonState *s, uint32_t port, uint32_t val)
{
    val &= 0xff;
    if (vga_port_inactive(s, port)) {
        return;
    }
    switch (port) {
    case 0x3c0:
        vga_ar_write(s, val);
        break;
    case 0x3c2:
        s->misc_output = val & ~0x10;
        s->full_update = true;
        break;
    case 0x3c4:
        s->sr_index = val & 7;
        break;
    case 0x3c5:
        s->sr[s->sr_index & 7] = val & sr_mask[s->sr_index & 7];
        s->full_update = true;
        break;
    case 0x3c6:
        s->pel_mask = val;
        s->full_update = true;
        break;
    case 0x3c7:
        s->dac_read_index = val;
        s->dac_sub_index = 0;
        s->dac_state = 3;
        break;
    case 0x3c8:
        s->dac_write_index = val;
        s->dac_sub_index = 0;
        s->dac_state = 0;
        break;
    case 0x3c9:
        s->dac_cache[s->dac_sub_index] = val;
        if (++s->dac_sub_index == 3) {
            memcpy(&s->palette[s->dac_write_index * 3], s->dac_cache, 3);
            s->dac_sub_index = 0;
            s->dac_write_index++;
        }
        break;
    case 0x3ce:
        s->gr_index = val & 0x0f;
        break;
    case 0x3cf:
        s->gr[s->gr_index & 0x0f] = val & gr_mask[s->gr_index & 0x0f];
        s->full_update = true;
        break;
    case 0x3b4:
    case 0x3d4:
        s->cr_index = val;
        break;
    case 0x3b5:
    case 0x3d5:
        vga_cr_write(s, val);
        break;
    case 0x3ba:
    case 0x3da:
        s->feature_ctrl = val & 0x10;
        break;
    default:
        break;
    }
}

static uint64_t vga_ports_read(void *opaque, uint64_t addr, unsigned size)
{
    return vga_ioport_read(opaque, 0x3b0 + addr);
}

static void vga_ports_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    vga_ioport_write(opaque, 0x3b0 + addr, val);
}

/* Word accesses are split into bytes, low port first (index then data). */
static const MemoryRegionOps vga_ports_ops = {
    .read = vga_ports_read,
    .write = vga_ports_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- the legacy window ----------------------------------------------- */

/*
 * Offset in the selected memory map of window address @addr (0-0x1ffff),
 * or -1 when the map does not decode it (GR06 bits 2-3).
 */
static int64_t window_offset(const VGACommonState *s, uint32_t addr)
{
    switch ((s->gr[GR_MISC] >> 2) & 3) {
    case 0:
        return addr;
    case 1:
        return addr < 0x10000 ? (int64_t)addr + s->bank_offset : (int64_t)-1;
    case 2:
        return addr >= 0x10000 && addr < 0x18000 ? (int64_t)addr - 0x10000
                                                 : (int64_t)-1;
    default:
        return addr >= 0x18000 ? (int64_t)addr - 0x18000 : (int64_t)-1;
    }
}

static inline bool chain4_access(const VGACommonState *s)
{
    /* VBE modes use the window as banked linear memory */
    return (vbe_enabled(s) && s->vbe_regs[VBE_DISPI_INDEX_BPP] != 4) ||
           (s->sr[SR_MEMORY_MODE] & SR04_CHAIN4);
}

static inline bool odd_even_access(const VGACommonState *s)
{
    return !(s->sr[SR_MEMORY_MODE] & SR04_ODD_EVEN_DIS) ||
           (s->gr[GR_MODE] & GR05_HOST_ODD_EVEN);
}

static inline uint32_t expand4(unsigned nibble)
{
    /* bit p of @nibble -> 0xff in byte p */
    uint32_t v = 0;

    for (unsigned p = 0; p < 4; p++) {
        if (nibble & (1u << p)) {
            v |= 0xffu << (8 * p);
        }
    }
    return v;
}

static uint8_t vga_mem_readb(VGACommonState *s, uint32_t addr)
{
    int64_t off = window_offset(s, addr);
    uint32_t plane_addr;

    if (off < 0) {
        return 0xff;
    }
    if (chain4_access(s)) {
        return off < (int64_t)s->vram_size ? s->vram_ptr[off] : 0xff;
    }
    if (odd_even_access(s)) {
        unsigned plane = (s->gr[GR_READ_MAP_SELECT] & 2) | (off & 1);
        uint64_t a = (((uint64_t)off & ~1ULL) << 1) | plane;
        return a < s->vram_size ? s->vram_ptr[a] : 0xff;
    }
    plane_addr = off;
    if (plane_addr >= plane_words(s)) {
        return 0xff;
    }
    s->latch = ldl_le_p(s->vram_ptr + (uint64_t)plane_addr * 4);
    if (!(s->gr[GR_MODE] & GR05_READ_MODE1)) {
        return s->latch >> (8 * (s->gr[GR_READ_MAP_SELECT] & 3));
    }
    /* read mode 1: colour compare over the planes that are cared about */
    {
        uint32_t dc = expand4(s->gr[GR_COLOR_DONT_CARE]);
        uint32_t cc = expand4(s->gr[GR_COLOR_COMPARE]);
        uint32_t diff = (s->latch ^ cc) & dc;

        diff |= diff >> 16;
        diff |= diff >> 8;
        return ~diff & 0xff;
    }
}

static inline uint8_t rotate_right(uint8_t v, unsigned n)
{
    n &= 7;
    return (v >> n) | (v << ((8 - n) & 7));
}

static void vga_mem_writeb(VGACommonState *s, uint32_t addr, uint8_t val)
{
    int64_t off = window_offset(s, addr);
    uint32_t plane_mask, bit_mask, v;
    unsigned func;

    if (off < 0) {
        return;
    }
    if (chain4_access(s)) {
        plane_mask = vbe_enabled(s) ? 0xf : s->sr[SR_MAP_MASK];
        if (off < (int64_t)s->vram_size && (plane_mask & (1u << (off & 3)))) {
            s->vram_ptr[off] = val;
            vram_set_dirty(s, off, 1);
        }
        return;
    }
    if (odd_even_access(s)) {
        /* even addresses reach planes 0 and 2, odd ones 1 and 3 */
        unsigned planes = s->sr[SR_MAP_MASK] & ((off & 1) ? 0xa : 0x5);
        uint64_t word = (uint64_t)off >> 1;

        if (word >= plane_words(s)) {
            return;
        }
        for (unsigned p = 0; p < 4; p++) {
            if (planes & (1u << p)) {
                s->vram_ptr[word * 4 + p] = val;
            }
        }
        vram_set_dirty(s, word * 4, 4);
        return;
    }
    if ((uint64_t)off >= plane_words(s)) {
        return;
    }
    /* planar: write modes 0-3 through the latches */
    func = (s->gr[GR_DATA_ROTATE] >> 3) & 3;
    bit_mask = s->gr[GR_BIT_MASK];
    switch (s->gr[GR_MODE] & 3) {
    case 0:
        val = rotate_right(val, s->gr[GR_DATA_ROTATE]);
        v = val * 0x01010101u;
        {
            uint32_t sr_en = expand4(s->gr[GR_ENABLE_SET_RESET]);
            v = (v & ~sr_en) | (expand4(s->gr[GR_SET_RESET]) & sr_en);
        }
        break;
    case 1:
        v = s->latch;
        goto write_planes;
    case 2:
        v = expand4(val & 0x0f);
        break;
    default:
        val = rotate_right(val, s->gr[GR_DATA_ROTATE]);
        bit_mask &= val;
        v = expand4(s->gr[GR_SET_RESET]);
        break;
    }
    switch (func) {
    case 1:
        v &= s->latch;
        break;
    case 2:
        v |= s->latch;
        break;
    case 3:
        v ^= s->latch;
        break;
    }
    bit_mask *= 0x01010101u;
    v = (v & bit_mask) | (s->latch & ~bit_mask);
write_planes:
    plane_mask = expand4(s->sr[SR_MAP_MASK]);
    {
        uint8_t *p = s->vram_ptr + (uint64_t)off * 4;
        uint32_t old = ldl_le_p(p);
        stl_le_p(p, (old & ~plane_mask) | (v & plane_mask));
    }
    vram_set_dirty(s, (uint64_t)off * 4, 4);
}

static uint64_t window_read(void *opaque, uint64_t addr, unsigned size)
{
    return vga_mem_readb(opaque, addr);
}

static void window_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    vga_mem_writeb(opaque, addr, val);
}

/* One byte at a time: the latches and plane logic work on bytes. */
static const MemoryRegionOps window_ops = {
    .read = window_read,
    .write = window_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- palette --------------------------------------------------------- */

static inline uint32_t rgb(unsigned r, unsigned g, unsigned b)
{
    return (r << 16) | (g << 8) | b;
}

static inline unsigned c6_to_8(unsigned v)
{
    v &= 0x3f;
    return (v << 2) | (v >> 4);
}

static uint32_t dac_color(const VGACommonState *s, unsigned idx)
{
    const uint8_t *p = &s->palette[(idx & s->pel_mask & 0xff) * 3];

    if (s->dac_8bit) {
        return rgb(p[0], p[1], p[2]);
    }
    return rgb(c6_to_8(p[0]), c6_to_8(p[1]), c6_to_8(p[2]));
}

/* The DAC index of 4-bit attribute colour @v (AR palette, AR10/AR14). */
static unsigned ar_color_index(const VGACommonState *s, unsigned v)
{
    unsigned idx = s->ar[v & 0x0f];

    if (s->ar[AR_MODE] & AR10_P54S) {
        idx = (idx & 0x0f) | ((s->ar[AR_COLOR_SELECT] & 3) << 4);
    }
    return idx | ((s->ar[AR_COLOR_SELECT] & 0x0c) << 4);
}

/* Build the 256 colours in use; true when they differ from last time. */
static bool update_palette(VGACommonState *s, uint32_t *pal, bool ar_map)
{
    for (unsigned i = 0; i < 256; i++) {
        pal[i] = dac_color(s, ar_map && i < 16 ? ar_color_index(s, i) : i);
    }
    if (memcmp(pal, s->last_pal, sizeof(s->last_pal))) {
        memcpy(s->last_pal, pal, sizeof(s->last_pal));
        return true;
    }
    return false;
}

/* ---- renderer helpers ------------------------------------------------ */

static pixman_image_t *ensure_surface(VGACommonState *s, int w, int h,
                                      int mode)
{
    pixman_image_t *img = qemu_console_surface(s->con);

    if (pixman_image_get_width(img) != w ||
        pixman_image_get_height(img) != h) {
        img = dpy_gfx_resize(s->con, w, h);
        s->full_update = true;
    }
    if (s->mode != mode) {
        s->full_update = true;
        s->mode = mode;
    }
    return img;
}

static inline uint32_t *surface_row(pixman_image_t *img, int y)
{
    return (uint32_t *)((uint8_t *)pixman_image_get_data(img) +
                        (size_t)y * pixman_image_get_stride(img));
}

/* Whether any page of VRAM [addr, addr + len) (wrapping) changed. */
static bool vram_dirty(const VGACommonState *s, uint64_t addr, uint64_t len)
{
    addr &= s->vram_size - 1;
    if (addr + len <= s->vram_size) {
        return memory_region_get_dirty(&s->vram, addr, len);
    }
    return memory_region_get_dirty(&s->vram, addr, s->vram_size - addr) ||
           memory_region_get_dirty(&s->vram, 0, addr + len - s->vram_size);
}

/* Collects changed lines into rectangles for the listeners. */
typedef struct DirtyRect {
    int x0, x1, y0, y1;     /* x1/y1 exclusive; y1 == 0: empty */
} DirtyRect;

static void dirty_flush(VGACommonState *s, DirtyRect *r)
{
    if (r->y1 > r->y0) {
        dpy_gfx_update(s->con, r->x0, r->y0, r->x1 - r->x0, r->y1 - r->y0);
    }
    r->y0 = r->y1 = 0;
}

static void dirty_add(VGACommonState *s, DirtyRect *r, int x0, int x1, int y)
{
    if (r->y1 > r->y0 && r->y1 == y) {
        r->x0 = MIN(r->x0, x0);
        r->x1 = MAX(r->x1, x1);
        r->y1 = y + 1;
        return;
    }
    dirty_flush(s, r);
    r->x0 = x0;
    r->x1 = x1;
    r->y0 = y;
    r->y1 = y + 1;
}

/*
 * Copy a rendered line into the surface; report the pixels that differ.
 * Returns whether any did.
 */
static bool commit_line(VGACommonState *s, pixman_image_t *img, int y,
                        const uint32_t *line, int w, DirtyRect *r)
{
    uint32_t *dst = surface_row(img, y);
    int x0 = 0, x1 = w;

    if (!s->full_update) {
        while (x0 < w && dst[x0] == line[x0]) {
            x0++;
        }
        if (x0 == w) {
            return false;
        }
        while (x1 > x0 && dst[x1 - 1] == line[x1 - 1]) {
            x1--;
        }
    }
    memcpy(dst + x0, line + x0, (x1 - x0) * sizeof(uint32_t));
    dirty_add(s, r, x0, x1, y);
    return true;
}

/* ---- blank ------------------------------------------------------------ */

static void draw_blank(VGACommonState *s)
{
    pixman_image_t *img = qemu_console_surface(s->con);
    int w = pixman_image_get_width(img), h = pixman_image_get_height(img);

    if (s->mode == MODE_BLANK && !s->full_update) {
        return;
    }
    s->mode = MODE_BLANK;
    for (int y = 0; y < h; y++) {
        memset(surface_row(img, y), 0, w * sizeof(uint32_t));
    }
    dpy_gfx_update(s->con, 0, 0, w, h);
}

/* ---- text modes ------------------------------------------------------- */

static uint32_t vga_vde(const VGACommonState *s)
{
    return (s->cr[CR_V_DISP_END] | ((s->cr[CR_OVERFLOW] & 0x02) << 7) |
            ((s->cr[CR_OVERFLOW] & 0x40) << 3)) + 1;
}

static uint32_t vga_line_compare(const VGACommonState *s)
{
    return s->cr[CR_LINE_COMPARE] | ((s->cr[CR_OVERFLOW] & 0x10) << 4) |
           ((s->cr[CR_MAX_SCAN] & 0x40) << 3);
}

static uint32_t vga_start_addr(const VGACommonState *s)
{
    return (s->cr[CR_START_HI] << 8) | s->cr[CR_START_LO];
}

/* Plane-2 offset of character map @sel (SR03 field: bits 0-1 and 4). */
static uint32_t font_base(unsigned sel)
{
    return ((sel & 3) * 2 + ((sel >> 2) & 1)) * 8192;
}

static void draw_text(VGACommonState *s)
{
    unsigned cw = (s->sr[SR_CLOCKING_MODE] & SR01_8DOT) ? 8 : 9;
    unsigned cheight = (s->cr[CR_MAX_SCAN] & 0x1f) + 1;
    unsigned cols = s->cr[CR_H_DISP_END] + 1;
    unsigned rows = vga_vde(s) / cheight;
    unsigned cwidth = cw;
    uint32_t start = vga_start_addr(s);
    uint32_t stride = s->cr[CR_OFFSET] * 2;         /* plane addresses */
    uint32_t words = plane_words(s);
    uint8_t cmap = s->sr[SR_CHAR_MAP];
    uint32_t font_a = font_base(((cmap >> 2) & 3) | ((cmap >> 3) & 4));
    uint32_t font_b = font_base((cmap & 3) | ((cmap >> 2) & 4));
    uint32_t cursor = (s->cr[CR_CURSOR_HI] << 8) | s->cr[CR_CURSOR_LO];
    unsigned cur_start = s->cr[CR_CURSOR_START] & 0x1f;
    unsigned cur_end = s->cr[CR_CURSOR_END] & 0x1f;
    bool cursor_on = !(s->cr[CR_CURSOR_START] & CR0A_CURSOR_OFF) &&
                     cur_start <= cur_end && cur_start < cheight;
    bool line_graphics = s->ar[AR_MODE] & AR10_LINE_GRAPHICS;
    bool blink_enable = s->ar[AR_MODE] & AR10_BLINK;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    bool phase = (now / BLINK_PERIOD_NS) & 1;
    bool font_dirty, any_dirty;
    int cursor_cell = -1;
    uint32_t pal[256];
    pixman_image_t *img;
    int w, h;

    if (s->sr[SR_CLOCKING_MODE] & SR01_DOT_CLOCK_DIV2) {
        cwidth *= 2;                                /* 40-column modes */
    }
    if (cols > VGA_TEXT_MAX_COLS || rows == 0 || rows > VGA_TEXT_MAX_ROWS) {
        draw_blank(s);
        return;
    }
    w = cols * cwidth;
    h = rows * cheight;
    img = ensure_surface(s, w, h, MODE_TEXT);
    if (update_palette(s, pal, true)) {
        s->full_update = true;
    }
    if (s->last_width != (int)cw || s->last_height != (int)cheight) {
        s->last_width = cw;
        s->last_height = cheight;
        s->full_update = true;
    }
    font_dirty = vram_dirty(s, (uint64_t)font_a * 4, 8192 * 4) ||
                 vram_dirty(s, (uint64_t)font_b * 4, 8192 * 4);
    any_dirty = s->full_update || font_dirty ||
                vram_dirty(s, (uint64_t)start * 4,
                           (uint64_t)rows * MAX(stride, cols) * 4);
    if (cursor_on && cursor >= start) {
        uint32_t rel = cursor - start;
        unsigned crow = stride ? rel / stride : 0;
        unsigned ccol = stride ? rel % stride : rel;
        if (crow < rows && ccol < cols) {
            cursor_cell = crow * cols + ccol;
        }
    }
    if (!any_dirty && cursor_cell == s->last_cursor_cell &&
        (cursor_cell < 0 || phase == s->cursor_phase) &&
        (!blink_enable || phase == s->blink_phase)) {
        return;
    }

    for (unsigned row = 0; row < rows; row++) {
        int x0 = -1, x1 = -1;

        for (unsigned col = 0; col < cols; col++) {
            uint32_t a = (start + row * stride + col) & (words - 1);
            const uint8_t *cell = s->vram_ptr + (uint64_t)a * 4;
            uint8_t ch = cell[0], attr = cell[1];
            unsigned idx = row * cols + col;
            uint16_t chattr = ch | (attr << 8);
            bool is_cursor = (int)idx == cursor_cell;
            bool was_cursor = (int)idx == s->last_cursor_cell;
            unsigned fg = attr & 0x0f, bg = attr >> 4;
            uint32_t glyph_base;

            if (!s->full_update && !font_dirty &&
                s->text_shadow[idx] == chattr && !is_cursor && !was_cursor &&
                !(blink_enable && (attr & 0x80))) {
                continue;
            }
            s->text_shadow[idx] = chattr;
            if (blink_enable) {
                bg &= 7;
                if ((attr & 0x80) && !phase) {
                    fg = bg;
                }
            }
            glyph_base = (attr & 0x08) ? font_a : font_b;
            for (unsigned l = 0; l < cheight; l++) {
                uint32_t *dst = surface_row(img, row * cheight + l) +
                                col * cwidth;
                uint32_t fa = (glyph_base + ch * 32 + l) & (words - 1);
                uint8_t bits = s->vram_ptr[(uint64_t)fa * 4 + 2];
                bool ninth;

                if (is_cursor && phase && l >= cur_start && l <= cur_end) {
                    bits = 0xff;
                    ninth = true;
                } else {
                    ninth = line_graphics && ch >= 0xc0 && ch <= 0xdf &&
                            (bits & 1);
                }
                for (unsigned x = 0; x < cw; x++) {
                    bool on = x < 8 ? (bits >> (7 - x)) & 1 : ninth;
                    uint32_t c = pal[on ? fg : bg];
                    dst[x * cwidth / cw] = c;
                    if (cwidth != cw) {
                        dst[x * cwidth / cw + 1] = c;
                    }
                }
            }
            if (x0 < 0) {
                x0 = col;
            }
            x1 = col + 1;
        }
        if (x0 >= 0) {
            dpy_gfx_update(s->con, x0 * cwidth, row * cheight,
                           (x1 - x0) * cwidth, cheight);
        }
    }
    s->last_cursor_cell = cursor_cell;
    s->cursor_phase = phase;
    s->blink_phase = phase;
}

/* ---- graphics modes -------------------------------------------------- */

typedef enum LineKind {
    LINE_PLANAR4,       /* 16 colours from 4 planes */
    LINE_CGA2,          /* 4 colours, planes 0/1 interleaved */
    LINE_CHAIN8,        /* 256 colours, one byte a pixel */
    LINE_VBE8, LINE_VBE15, LINE_VBE16, LINE_VBE24, LINE_VBE32,
} LineKind;

static inline uint8_t vram_byte(const VGACommonState *s, uint64_t a)
{
    return s->vram_ptr[a & (s->vram_size - 1)];
}

/* Render @n source pixels from VRAM byte @addr into @out (pixel doubling
 * by @dup); returns the VRAM bytes the line spans. */
static uint64_t render_line(VGACommonState *s, LineKind kind, uint64_t addr,
                            uint32_t *out, int n, int dup,
                            const uint32_t *pal)
{
    int x = 0;

    switch (kind) {
    case LINE_PLANAR4: {
        uint8_t enable = s->ar[AR_PLANE_ENABLE] & 0x0f;
        for (int i = 0; x < n; i++) {
            uint64_t a = addr + (uint64_t)i * 4;
            uint8_t p[4];
            for (unsigned k = 0; k < 4; k++) {
                p[k] = vram_byte(s, a + k);
            }
            for (int b = 7; b >= 0 && x < n; b--, x++) {
                unsigned v = ((p[0] >> b) & 1) | (((p[1] >> b) & 1) << 1) |
                             (((p[2] >> b) & 1) << 2) |
                             (((p[3] >> b) & 1) << 3);
                for (int d = 0; d < dup; d++) {
                    out[x * dup + d] = pal[v & enable];
                }
            }
        }
        return (uint64_t)(n + 7) / 8 * 4;
    }
    case LINE_CGA2:
        for (int i = 0; x < n; i++) {
            uint64_t a = addr + (uint64_t)i * 4;
            for (unsigned k = 0; k < 2; k++) {
                uint8_t byte = vram_byte(s, a + k);
                for (int b = 6; b >= 0 && x < n; b -= 2, x++) {
                    for (int d = 0; d < dup; d++) {
                        out[x * dup + d] = pal[(byte >> b) & 3];
                    }
                }
            }
        }
        return (uint64_t)(n + 7) / 8 * 4;
    case LINE_CHAIN8:
    case LINE_VBE8:
        for (; x < n; x++) {
            uint32_t c = pal[vram_byte(s, addr + x)];
            for (int d = 0; d < dup; d++) {
                out[x * dup + d] = c;
            }
        }
        return n;
    case LINE_VBE15:
    case LINE_VBE16:
        for (; x < n; x++) {
            unsigned v = vram_byte(s, addr + 2 * x) |
                         (vram_byte(s, addr + 2 * x + 1) << 8);
            unsigned r, g, b;
            if (kind == LINE_VBE15) {
                r = (v >> 10) & 0x1f; g = (v >> 5) & 0x1f; b = v & 0x1f;
                out[x] = rgb((r << 3) | (r >> 2), (g << 3) | (g >> 2),
                             (b << 3) | (b >> 2));
            } else {
                r = (v >> 11) & 0x1f; g = (v >> 5) & 0x3f; b = v & 0x1f;
                out[x] = rgb((r << 3) | (r >> 2), (g << 2) | (g >> 4),
                             (b << 3) | (b >> 2));
            }
        }
        return (uint64_t)n * 2;
    case LINE_VBE24:
        for (; x < n; x++) {
            uint64_t a = addr + (uint64_t)x * 3;
            out[x] = rgb(vram_byte(s, a + 2), vram_byte(s, a + 1),
                         vram_byte(s, a));
        }
        return (uint64_t)n * 3;
    case LINE_VBE32:
        if (addr + (uint64_t)n * 4 <= s->vram_size) {
            const uint8_t *p = s->vram_ptr + addr;
            for (; x < n; x++) {
                out[x] = ldl_le_p(p + x * 4) & 0xffffff;
            }
        } else {
            for (; x < n; x++) {
                uint64_t a = addr + (uint64_t)x * 4;
                out[x] = rgb(vram_byte(s, a + 2), vram_byte(s, a + 1),
                             vram_byte(s, a));
            }
        }
        return (uint64_t)n * 4;
    }
    return 0;
}

static void draw_vbe(VGACommonState *s)
{
    static const LineKind kinds[5] = { LINE_VBE8, LINE_VBE15, LINE_VBE16,
                                       LINE_VBE24, LINE_VBE32 };
    unsigned bpp = s->vbe_regs[VBE_DISPI_INDEX_BPP];
    int w = s->vbe_regs[VBE_DISPI_INDEX_XRES];
    int h = s->vbe_regs[VBE_DISPI_INDEX_YRES];
    LineKind kind = kinds[bpp == 8 ? 0 : bpp == 15 ? 1 : bpp == 16 ? 2 :
                          bpp == 24 ? 3 : 4];
    pixman_image_t *img;
    uint32_t pal[256];
    DirtyRect r = { 0 };
    uint64_t addr = s->vbe_start_addr;
    int mode = MODE_GRAPHIC + 1 + kind;
    int dirty = 0, changed = 0;

    img = ensure_surface(s, w, h, mode);
    if (kind == LINE_VBE8 && update_palette(s, pal, false)) {
        s->full_update = true;
    }
    s->line_buf = g_renew(uint32_t, s->line_buf, w);
    for (int y = 0; y < h; y++, addr += s->vbe_line_offset) {
        uint64_t span = (uint64_t)w * vbe_bytes_pp(s);
        if (!s->full_update && !s->vbe_compare && !vram_dirty(s, addr, span)) {
            continue;
        }
        dirty++;
        render_line(s, kind, addr, s->line_buf, w, 1, pal);
        changed += commit_line(s, img, y, s->line_buf, w, &r);
    }
    dirty_flush(s, &r);

    /*
     * Each KVM_GET_DIRTY_LOG write-protects the pages it reports, so the
     * guest's next store to each of them faults into the host kernel (on
     * the PVM development hosts about 8 us a page, 768 pages for
     * 1024x768x32): at 60 refreshes a second a guest redrawing the whole
     * screen loses most of its CPU to them.  When two refreshes in a row
     * found three quarters of the lines dirty, stop fetching the log and
     * compare every line with the surface instead (about 0.5 us a page,
     * on the host); when a refresh finds under a quarter of the lines
     * changed, go back to the log, whose next fetch reports every page
     * written meanwhile.
     */
    if (s->vbe_compare) {
        if (changed * 4 < h) {
            s->vbe_compare = false;
            s->vbe_busy = 0;
        }
    } else if (!s->full_update) {
        s->vbe_busy = dirty * 4 >= h * 3 ? s->vbe_busy + 1 : 0;
        s->vbe_compare = s->vbe_busy >= 2;
    }
}

static void draw_vga_graphic(VGACommonState *s)
{
    unsigned shift = (s->gr[GR_MODE] >> 5) & 3;
    unsigned width = (s->cr[CR_H_DISP_END] + 1) * 8;
    unsigned height = vga_vde(s);
    bool dbl_scan = s->cr[CR_MAX_SCAN] & 0x80;
    unsigned multi_scan, multi_run, y1 = 0;
    uint32_t line_offset = s->cr[CR_OFFSET] << 3;
    uint32_t line_compare = vga_line_compare(s);
    uint64_t addr1 = (uint64_t)vga_start_addr(s) * 4;
    LineKind kind;
    int src_w, dup, disp_w, mode;
    pixman_image_t *img;
    uint32_t pal[256];
    DirtyRect r = { 0 };

    if (shift == 0 || shift == 1) {
        kind = shift ? LINE_CGA2 : LINE_PLANAR4;
        src_w = width;
        dup = (s->sr[SR_CLOCKING_MODE] & SR01_DOT_CLOCK_DIV2) ? 2 : 1;
    } else {
        kind = LINE_CHAIN8;
        src_w = width / 2;              /* two dot clocks a pixel */
        dup = 2;
    }
    if (shift == 1) {
        multi_scan = dbl_scan;
    } else {
        multi_scan = (((s->cr[CR_MAX_SCAN] & 0x1f) + 1) << dbl_scan) - 1;
    }
    disp_w = src_w * dup;
    if (disp_w <= 0 || disp_w > 4096 || height == 0 || height > 4096) {
        draw_blank(s);
        return;
    }
    mode = MODE_GRAPHIC + 1 + kind;
    img = ensure_surface(s, disp_w, height, mode);
    if (update_palette(s, pal, kind != LINE_CHAIN8)) {
        s->full_update = true;
    }
    s->line_buf = g_renew(uint32_t, s->line_buf, disp_w);
    multi_run = multi_scan;
    for (unsigned y = 0; y < height; y++) {
        uint64_t addr = addr1;
        uint64_t span = kind == LINE_CHAIN8 ? (uint64_t)src_w
                                            : (uint64_t)(src_w + 7) / 8 * 4;

        if (!(s->cr[CR_MODE] & 1)) {
            /* CGA compatibility: scan line bit 0 replaces address bit 13 */
            unsigned sh = 14 + ((s->cr[CR_MODE] >> 6) & 1);
            addr = (addr & ~(1ULL << sh)) | ((uint64_t)(y1 & 1) << sh);
        }
        if (!(s->cr[CR_MODE] & 2)) {
            addr = (addr & ~0x8000ULL) | ((uint64_t)(y1 & 2) << 14);
        }
        addr &= s->vram_size - 1;
        if (s->full_update || vram_dirty(s, addr, span)) {
            render_line(s, kind, addr, s->line_buf, src_w, dup, pal);
            commit_line(s, img, y, s->line_buf, disp_w, &r);
        }
        if (!multi_run) {
            unsigned m = (s->cr[CR_MODE] & 3) ^ 3;
            if ((y1 & m) == m) {
                addr1 += line_offset;
            }
            y1++;
            multi_run = multi_scan;
        } else {
            multi_run--;
        }
        if (y == line_compare) {
            addr1 = 0;
        }
    }
    dirty_flush(s, &r);
}

static void vga_update_display(void *opaque)
{
    VGACommonState *s = opaque;

    if (!vbe_enabled(s)) {
        s->vbe_compare = false;
        s->vbe_busy = 0;
    }
    if (!s->vbe_compare) {
        memory_region_sync_dirty(&s->vram);
    }
    if (vbe_enabled(s)) {
        draw_vbe(s);
    } else if (!s->legacy || !(s->ar_index & AR_INDEX_PAS) ||
               (s->sr[SR_CLOCKING_MODE] & SR01_SCREEN_OFF)) {
        draw_blank(s);
    } else if (s->gr[GR_MISC] & GR06_GRAPHICS) {
        draw_vga_graphic(s);
    } else {
        draw_text(s);
    }
    s->full_update = false;
    memory_region_reset_dirty(&s->vram, 0, s->vram_size);
}

static void vga_invalidate_display(void *opaque)
{
    VGACommonState *s = opaque;

    s->full_update = true;
}

const GraphicHwOps vga_common_hw_ops = {
    .gfx_update = vga_update_display,
    .invalidate = vga_invalidate_display,
};

/* ---- life cycle ------------------------------------------------------ */

void vga_common_reset(VGACommonState *s)
{
    s->misc_output = s->feature_ctrl = s->st01 = 0;
    s->sr_index = s->gr_index = s->cr_index = s->ar_index = 0;
    memset(s->sr, 0, sizeof(s->sr));
    memset(s->gr, 0, sizeof(s->gr));
    memset(s->cr, 0, sizeof(s->cr));
    memset(s->ar, 0, sizeof(s->ar));
    s->ar_flip_flop = false;
    s->dac_state = s->dac_sub_index = 0;
    s->dac_read_index = s->dac_write_index = 0;
    memset(s->dac_cache, 0, sizeof(s->dac_cache));
    memset(s->palette, 0, sizeof(s->palette));
    s->pel_mask = 0xff;
    s->dac_8bit = false;
    s->latch = 0;
    s->vbe_index = 0;
    memset(s->vbe_regs, 0, sizeof(s->vbe_regs));
    s->vbe_regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    s->vbe_start_addr = s->vbe_line_offset = s->bank_offset = 0;
    s->big_endian_fb = false;
    s->full_update = true;
    s->last_cursor_cell = -1;
}

bool vga_common_init(VGACommonState *s, DeviceState *dev,
                     MemoryRegion *window_parent, GError **errp)
{
    uint32_t mb = s->vram_size_mb;

    if (mb < 1 || mb > 256 || (mb & (mb - 1))) {
        error_setg(errp, "vgamem_mb must be a power of two from 1 to 256 "
                   "(got %u)", mb);
        return false;
    }
    s->vram_size = (uint64_t)mb * MiB;
    memory_region_init_ram(&s->vram, "vga.vram", s->vram_size);
    s->vram_ptr = memory_region_get_ram_ptr(&s->vram);
    memory_region_set_log(&s->vram, true);
    if (s->legacy) {
        memory_region_init_io(&s->legacy_window, &window_ops, s, "vga-lowmem",
                              0x20000);
        memory_region_set_owner(&s->legacy_window, dev);
        memory_region_add_subregion_overlap(window_parent, 0xa0000,
                                            &s->legacy_window, 1);
        memory_region_init_io(&s->vga_ports, &vga_ports_ops, s, "vga",
                              0x30);
        memory_region_set_owner(&s->vga_ports, dev);
        memory_region_add_subregion(get_system_io(), 0x3b0, &s->vga_ports);
        memory_region_init_io(&s->vbe_ports, &vbe_ports_ops, s, "vbe", 3);
        memory_region_set_owner(&s->vbe_ports, dev);
        memory_region_add_subregion(get_system_io(), VBE_DISPI_IOPORT_INDEX,
                                    &s->vbe_ports);
    }
    s->con = graphic_console_init(dev, 0, &vga_common_hw_ops, s);
    vga_common_reset(s);
    return true;
}

void vga_common_fini(VGACommonState *s)
{
    graphic_console_close(s->con);
    s->con = NULL;
    if (s->legacy) {
        memory_region_destroy(&s->legacy_window);
        memory_region_destroy(&s->vga_ports);
        memory_region_destroy(&s->vbe_ports);
    }
    memory_region_destroy(&s->vram);
    g_clear_pointer(&s->line_buf, g_free);
}

static int vga_common_post_load(void *opaque, int version_id)
{
    VGACommonState *s = opaque;

    /* indices are masked where used; re-derive what VBE computes */
    s->sr_index &= 7;
    s->gr_index &= 0x0f;
    s->ar_index &= 0x3f;
    s->dac_sub_index %= 3;
    if (s->dac_state != 0 && s->dac_state != 3) {
        s->dac_state = 0;
    }
    s->vbe_regs[VBE_DISPI_INDEX_BANK] &= (s->vram_size >> 16) - 1;
    s->bank_offset = (uint32_t)s->vbe_regs[VBE_DISPI_INDEX_BANK] << 16;
    s->vbe_start_addr = s->vbe_line_offset = 0;
    vbe_fixup_regs(s);
    s->full_update = true;
    return 0;
}

const VMStateDescription vmstate_vga_common = {
    .name = "vga",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vga_common_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(misc_output, VGACommonState),
        VMSTATE_UINT8(feature_ctrl, VGACommonState),
        VMSTATE_UINT8(st01, VGACommonState),
        VMSTATE_UINT8(sr_index, VGACommonState),
        VMSTATE_UINT8_ARRAY(sr, VGACommonState, 8),
        VMSTATE_UINT8(gr_index, VGACommonState),
        VMSTATE_UINT8_ARRAY(gr, VGACommonState, 16),
        VMSTATE_UINT8(cr_index, VGACommonState),
        VMSTATE_UINT8_ARRAY(cr, VGACommonState, 256),
        VMSTATE_UINT8(ar_index, VGACommonState),
        VMSTATE_BOOL(ar_flip_flop, VGACommonState),
        VMSTATE_UINT8_ARRAY(ar, VGACommonState, 21),
        VMSTATE_UINT8(dac_state, VGACommonState),
        VMSTATE_UINT8(dac_sub_index, VGACommonState),
        VMSTATE_UINT8(dac_read_index, VGACommonState),
        VMSTATE_UINT8(dac_write_index, VGACommonState),
        VMSTATE_UINT8_ARRAY(dac_cache, VGACommonState, 3),
        VMSTATE_UINT8(pel_mask, VGACommonState),
        VMSTATE_BOOL(dac_8bit, VGACommonState),
        VMSTATE_UINT8_ARRAY(palette, VGACommonState, 768),
        VMSTATE_UINT32(latch, VGACommonState),
        VMSTATE_UINT16(vbe_index, VGACommonState),
        VMSTATE_UINT16_ARRAY(vbe_regs, VGACommonState, VBE_DISPI_INDEX_NB),
        VMSTATE_BOOL(big_endian_fb, VGACommonState),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- EDID ------------------------------------------------------------ */

/* A detailed timing descriptor (EDID 1.4 section 3.10.2), 60 Hz with
 * reduced blanking (CVT-RB style: 160 pixels, >= 460 us of lines). */
static void edid_dtd(uint8_t *d, uint32_t xres, uint32_t yres)
{
    uint32_t hblank = 160, hfront = 48, hsync = 32;
    uint32_t vfront = 3, vsync = 6, vblank = MAX(yres / 20, 23u);
    uint32_t clock = (xres + hblank) * (yres + vblank) * 60 / 10000;
    uint32_t wmm = xres * 254 / 1000, hmm = yres * 254 / 1000; /* 100 dpi */

    stw_le_p(d, clock);
    d[2] = xres & 0xff;
    d[3] = hblank & 0xff;
    d[4] = ((xres >> 8) << 4) | (hblank >> 8);
    d[5] = yres & 0xff;
    d[6] = vblank & 0xff;
    d[7] = ((yres >> 8) << 4) | (vblank >> 8);
    d[8] = hfront & 0xff;
    d[9] = hsync & 0xff;
    d[10] = ((vfront & 0xf) << 4) | (vsync & 0xf);
    d[11] = ((hfront >> 8) << 6) | ((hsync >> 8) << 4) |
            ((vfront >> 4) << 2) | (vsync >> 4);
    d[12] = wmm & 0xff;
    d[13] = hmm & 0xff;
    d[14] = ((wmm >> 8) << 4) | (hmm >> 8);
    d[17] = 0x18;                   /* digital separate sync, +h -v */
}

static void edid_text(uint8_t *d, uint8_t tag, const char *text)
{
    size_t n = MIN(strlen(text), 13);

    d[3] = tag;
    memset(d + 5, ' ', 13);
    memcpy(d + 5, text, n);
    if (n < 13) {
        d[5 + n] = '\n';
    }
}

void vga_edid_generate(uint8_t *edid, size_t size, uint32_t xres,
                       uint32_t yres)
{
    static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0 };
    uint8_t *e = edid;
    uint8_t sum = 0;

    memset(edid, 0, size);
    if (size < 128) {
        return;
    }
    xres = xres ? MIN(xres, 4095u) : 1280;
    yres = yres ? MIN(yres, 4095u) : 800;
    memcpy(e, header, 8);
    /* manufacturer "RHT" in 5-bit letters, product 0x1234 (QEMU's) */
    {
        unsigned id = (('R' - '@') << 10) | (('H' - '@') << 5) | ('T' - '@');
        e[8] = id >> 8;             /* big-endian, unlike the rest */
        e[9] = id & 0xff;
    }
    stw_le_p(e + 10, 0x1234);
    e[16] = 42;                     /* week */
    e[17] = 2014 - 1990;            /* year */
    e[18] = 1;                      /* EDID 1.4 */
    e[19] = 4;
    e[20] = 0xa5;                   /* digital, 8 bits, DisplayPort */
    e[21] = xres * 254 / 10000;     /* cm at 100 dpi */
    e[22] = yres * 254 / 10000;
    e[23] = 220 - 100;              /* gamma 2.2 */
    e[24] = 0x06;                   /* RGB 4:4:4, sRGB default, preferred */
    /* sRGB chromaticity */
    e[25] = 0xee; e[26] = 0x91; e[27] = 0xa3; e[28] = 0x54;
    e[29] = 0x4c; e[30] = 0x99; e[31] = 0x26; e[32] = 0x0f;
    e[33] = 0x50; e[34] = 0x54;
    /* established timings: 640x480, 800x600, 1024x768 at 60 Hz */
    e[35] = 0x21;
    e[36] = 0x08;
    for (unsigned i = 0; i < 8; i++) {
        e[38 + i * 2] = e[39 + i * 2] = 0x01;   /* standard timings unused */
    }
    edid_dtd(e + 54, xres, yres);
    edid_text(e + 72, 0xfc, "QEMU Monitor");
    /* range limits: 50-125 Hz vertical, 30-160 kHz, 600 MHz */
    e[90 + 3] = 0xfd;
    e[90 + 5] = 50; e[90 + 6] = 125; e[90 + 7] = 30; e[90 + 8] = 160;
    e[90 + 9] = 60; e[90 + 10] = 0x01; e[90 + 11] = 0x0a;
    memset(e + 90 + 12, ' ', 6);
    e[108 + 3] = 0x10;              /* dummy descriptor */
    for (unsigned i = 0; i < 127; i++) {
        sum += e[i];
    }
    e[127] = -sum;
}
