/*
 * Intel 8237A DMA controller ("i8257" as QEMU names it), one of the PC's
 * cascaded pair: DMA1 at ports 0x00-0x0f (8-bit channels 0-3), DMA2 at
 * 0xc0-0xdf with registers on even ports (16-bit channels 4-7), and the
 * page registers (74LS612 file) at 0x81-0x8f.
 *
 * Spec: Intel 8237A "High Performance Programmable DMA Controller"
 * datasheet, "Register Description", "Software Commands" and "Transfer
 * Modes":
 *   - per channel: base/current address and word count, 16 bits written
 *     and read a byte at a time through the byte-pointer flip-flop
 *     (writing sets base and current together);
 *   - 0x08 read status (bits 0-3 terminal count, cleared by the read;
 *     bits 4-7 request pending, software or DREQ) / write command (bit 2
 *     controller disable; bit 5 and the priority/polarity bits are kept
 *     and have no effect on a bus without timing);
 *   - 0x09 write request, 0x0a write single mask bit, 0x0b write mode
 *     (bits 3-2 transfer type: 00 verify, 01 write = to memory, 10 read =
 *     from memory; bit 4 auto-initialization; bit 5 address decrement;
 *     bits 7-6 demand/single/block/cascade), 0x0c clear byte pointer
 *     flip-flop, 0x0d read temporary / master clear, 0x0e clear mask
 *     register, 0x0f write all mask bits (reads back the mask here, as the
 *     PC chipsets that latch it do);
 *   - reset / master clear: command, status, request, temporary and the
 *     flip-flop cleared, all four channels masked.
 * Page registers (IBM PC/AT): channel 0 at page base + 7, 1 at + 3, 2 at
 * + 1, 3 at + 2 (DMA1 page base 0x80, DMA2 0x88).  The remaining ports
 * of the file (0x84-0x86, 0x8c-0x8e) keep what is written, as on the AT.
 * Port 0x80 belongs to the POST port (hw/misc/ioport80.c) and 0x88 is
 * not decoded, as in QEMU.
 *
 * Transfers (include/hw/dma/i8257.h has the device side): a channel is
 * granted while its DREQ is held, its mask bit is clear, the controller
 * is enabled and the channel is not in cascade mode; the device's handler
 * then runs at once (from hold_dreq or from the register write that
 * granted it).  Each transfer unit goes to page << 16 | address (8-bit
 * channels) or (page & 0xfe) << 16 | address << 1 (16-bit channels): the
 * 16-bit address counter wraps inside its 64 KiB (128 KiB) page and never
 * carries into the page register, as on the AT.  The count register
 * holds units - 1; when the unit that takes it past zero moves, the
 * channel reaches terminal count: its status bit is set, its software
 * request cleared, and it is reloaded from the base registers
 * (auto-initialization) or masked.  Demand, single and block mode move the
 * same bytes here (they differ only in bus timing).  Memory goes through
 * the memory map (dma_read/dma_write), so unassigned addresses read
 * all-ones and drop writes, and nothing outside guest memory is touched.
 * Not modelled: memory-to-memory transfers (command bit 0; channels 0/1
 * are not wired for it on the PC), DMA1's requests passing through DMA2's
 * cascade channel 4 (as QEMU: a guest need not unmask channel 4), and
 * software requests starting transfers (they stay pending in the status
 * register: no device is attached to answer them).
 */
#include "qemu/osdep.h"
#include "hw/dma/i8257.h"

#define DMA_CHANNELS        4
#define DMA_NUM_REGS        16
#define DMA_PAGE_PORTS      8

#define DMA_REG_STATUS      0x08    /* read */
#define DMA_REG_COMMAND     0x08    /* write */
#define DMA_REG_REQUEST     0x09
#define DMA_REG_SINGLE_MASK 0x0a
#define DMA_REG_MODE        0x0b
#define DMA_REG_CLEAR_FF    0x0c
#define DMA_REG_TEMP        0x0d    /* read */
#define DMA_REG_MASTER_CLR  0x0d    /* write */
#define DMA_REG_CLEAR_MASK  0x0e
#define DMA_REG_ALL_MASK    0x0f

#define DMA_CHAN_MASK       0x03    /* channel select in request/mask/mode */
#define DMA_SET_BIT         0x04    /* request / single mask: set */
#define DMA_ALL_CHANNELS    0x0f
#define DMA_STATUS_TC       0x0f
#define DMA_STATUS_REQ_SHIFT 4

#define DMA_CMD_DISABLE     0x04

#define DMA_MODE_TYPE       0x0c
#define DMA_MODE_VERIFY     0x00
#define DMA_MODE_WRITE      0x04    /* device to memory */
#define DMA_MODE_READ       0x08    /* memory to device */
#define DMA_MODE_AUTOINIT   0x10
#define DMA_MODE_DECREMENT  0x20
#define DMA_MODE_SELECT     0xc0
#define DMA_MODE_CASCADE    0xc0

#define DMA_PAGE_SPAN       0x10000u    /* address counter: 16 bits */
#define DMA_UNDRIVEN_BUS    0xff

typedef struct DMAChannel {
    uint16_t base_addr, base_count;
    uint16_t cur_addr, cur_count;
    uint8_t mode;
} DMAChannel;

typedef struct I8257State {
    ISADevice parent;

    /* properties */
    uint32_t base;
    uint32_t page_base;
    uint32_t dshift;

    DMAChannel chan[DMA_CHANNELS];
    uint8_t command;
    uint8_t status;         /* terminal count bits */
    uint8_t request;        /* software requests, one bit per channel */
    uint8_t dreq;           /* device requests (DREQ lines) */
    uint8_t mask;
    uint8_t temp;
    bool flip_flop;         /* false: next byte is the low one */
    uint8_t pages[DMA_PAGE_PORTS];

    uint8_t running;        /* handlers being called (not state) */
    MemoryRegion io, page_io;
} I8257State;

/* The page register of each channel, as an offset in the page file. */
static const uint8_t dma_page_offset[DMA_CHANNELS] = { 7, 3, 1, 2 };

/* DMA1 (dshift 0) serves channels 0-3, DMA2 (dshift 1) channels 4-7. */
static I8257State *dma_controllers[2];

typedef struct DMAHandler {
    I8257TransferHandler fn;
    void *opaque;
} DMAHandler;

static DMAHandler dma_handlers[I8257_NUM_CHANNELS];

static I8257State *dma_controller_of(unsigned nchan)
{
    return nchan < I8257_NUM_CHANNELS ? dma_controllers[nchan / DMA_CHANNELS]
                                      : NULL;
}

static void dma_master_clear(I8257State *s)
{
    s->command = 0;
    s->status = 0;
    s->request = 0;
    s->temp = 0;
    s->flip_flop = false;
    s->mask = DMA_ALL_CHANNELS;
}

/* ---- transfers ---------------------------------------------------------- */

static bool dma_granted(const I8257State *s, unsigned ch)
{
    return !(s->mask & (1u << ch)) && !(s->command & DMA_CMD_DISABLE) &&
           (s->chan[ch].mode & DMA_MODE_SELECT) != DMA_MODE_CASCADE;
}

/* Call the device of channel @ch if it asks and may transfer now. */
static void dma_run_channel(I8257State *s, unsigned ch)
{
    unsigned nchan = ch + (s->dshift ? DMA_CHANNELS : 0);
    DMAHandler *h = &dma_handlers[nchan];
    uint8_t bit = 1u << ch;

    if (!(s->dreq & bit) || !dma_granted(s, ch) || !h->fn ||
        (s->running & bit)) {
        return;
    }
    s->running |= bit;
    h->fn(h->opaque, nchan);
    s->running &= ~bit;
}

static void dma_run_all(I8257State *s)
{
    for (unsigned ch = 0; ch < DMA_CHANNELS; ch++) {
        dma_run_channel(s, ch);
    }
}

void i8257_register_channel(unsigned nchan, I8257TransferHandler fn,
                            void *opaque)
{
    if (nchan < I8257_NUM_CHANNELS) {
        dma_handlers[nchan] = (DMAHandler){ fn, opaque };
    }
}

void i8257_hold_dreq(unsigned nchan)
{
    I8257State *s = dma_controller_of(nchan);

    if (s) {
        s->dreq |= 1u << (nchan % DMA_CHANNELS);
        dma_run_channel(s, nchan % DMA_CHANNELS);
    }
}

void i8257_release_dreq(unsigned nchan)
{
    I8257State *s = dma_controller_of(nchan);

    if (s) {
        s->dreq &= ~(1u << (nchan % DMA_CHANNELS));
    }
}

/* Guest-physical address of the channel's current transfer unit. */
static uint64_t dma_unit_address(const I8257State *s, unsigned ch)
{
    uint64_t page = s->pages[dma_page_offset[ch]];

    if (s->dshift) {
        return (page & 0xfe) << 16 | (uint64_t)s->chan[ch].cur_addr << 1;
    }
    return page << 16 | s->chan[ch].cur_addr;
}

static void dma_terminal_count(I8257State *s, unsigned ch)
{
    DMAChannel *c = &s->chan[ch];
    uint8_t bit = 1u << ch;

    s->status |= bit;
    s->request &= ~bit;
    if (c->mode & DMA_MODE_AUTOINIT) {
        c->cur_addr = c->base_addr;
        c->cur_count = c->base_count;
    } else {
        c->cur_count = 0xffff;
        s->mask |= bit;
    }
}

/*
 * Units the next memory access may cover: up to the buffer's end, the
 * count's end and, counting up, the end of the address counter's page;
 * counting down one unit at a time (memory order is then reversed).
 */
static uint32_t dma_run_length(const DMAChannel *c, size_t units_wanted)
{
    uint32_t n = MIN(units_wanted, (size_t)DMA_PAGE_SPAN);

    n = MIN(n, (uint32_t)c->cur_count + 1);
    if (c->mode & DMA_MODE_DECREMENT) {
        return 1;
    }
    return MIN(n, DMA_PAGE_SPAN - c->cur_addr);
}

static size_t dma_transfer(unsigned nchan, uint8_t *buf, size_t len,
                           bool to_memory, bool *tc)
{
    I8257State *s = dma_controller_of(nchan);
    unsigned ch = nchan % DMA_CHANNELS;
    DMAChannel *c;
    unsigned unit;
    bool touch;
    size_t done = 0;

    *tc = false;
    if (!s || !dma_granted(s, ch)) {
        return 0;
    }
    c = &s->chan[ch];
    unit = 1u << s->dshift;
    touch = (c->mode & DMA_MODE_TYPE) ==
            (to_memory ? DMA_MODE_WRITE : DMA_MODE_READ);
    while (len - done >= unit && !*tc) {
        uint32_t n = dma_run_length(c, (len - done) / unit);
        uint64_t addr = dma_unit_address(s, ch);
        uint32_t bytes = n * unit;

        if (touch && to_memory) {
            dma_write(addr, buf + done, bytes);
        } else if (touch) {
            dma_read(addr, buf + done, bytes);
        } else if (!to_memory) {
            memset(buf + done, DMA_UNDRIVEN_BUS, bytes);
        }
        done += bytes;
        if (c->mode & DMA_MODE_DECREMENT) {
            c->cur_addr -= n;
        } else {
            c->cur_addr += n;
        }
        if (n == (uint32_t)c->cur_count + 1) {
            dma_terminal_count(s, ch);
            *tc = true;
        } else {
            c->cur_count -= n;
        }
    }
    return done;
}

size_t i8257_dma_read_memory(unsigned nchan, void *buf, size_t len,
                             bool *tc)
{
    return dma_transfer(nchan, buf, len, false, tc);
}

size_t i8257_dma_write_memory(unsigned nchan, const void *buf, size_t len,
                              bool *tc)
{
    /* Only read from @buf: the to-memory path never writes it. */
    return dma_transfer(nchan, (uint8_t *)buf, len, true, tc);
}

/* ---- registers ---------------------------------------------------------- */

/* One byte of a 16-bit register through the flip-flop. */
static uint8_t ff_read(I8257State *s, uint16_t reg)
{
    uint8_t v = s->flip_flop ? reg >> 8 : reg & 0xff;

    s->flip_flop = !s->flip_flop;
    return v;
}

static uint16_t ff_write(I8257State *s, uint16_t reg, uint8_t val)
{
    uint16_t v = s->flip_flop ? (reg & 0x00ff) | (val << 8)
                              : (reg & 0xff00) | val;

    s->flip_flop = !s->flip_flop;
    return v;
}

static uint8_t dma_read_channel(I8257State *s, unsigned reg)
{
    DMAChannel *c = &s->chan[reg >> 1];

    return ff_read(s, (reg & 1) ? c->cur_count : c->cur_addr);
}

static void dma_write_channel(I8257State *s, unsigned reg, uint8_t val)
{
    DMAChannel *c = &s->chan[reg >> 1];

    if (reg & 1) {
        c->base_count = c->cur_count = ff_write(s, c->base_count, val);
    } else {
        c->base_addr = c->cur_addr = ff_write(s, c->base_addr, val);
    }
}

static uint8_t dma_read_control(I8257State *s, unsigned reg)
{
    uint8_t v;

    switch (reg) {
    case DMA_REG_STATUS:
        v = (s->status & DMA_STATUS_TC) |
            ((s->request | s->dreq) << DMA_STATUS_REQ_SHIFT);
        s->status &= ~DMA_STATUS_TC;
        return v;
    case DMA_REG_TEMP:
        return s->temp;
    case DMA_REG_ALL_MASK:
        return s->mask;
    default:
        return 0;       /* write-only registers */
    }
}

static void set_channel_bit(uint8_t *reg, uint8_t val)
{
    uint8_t bit = 1u << (val & DMA_CHAN_MASK);

    *reg = (val & DMA_SET_BIT) ? (*reg | bit) : (*reg & ~bit);
}

static void dma_write_control(I8257State *s, unsigned reg, uint8_t val)
{
    switch (reg) {
    case DMA_REG_COMMAND:
        s->command = val;
        break;
    case DMA_REG_REQUEST:
        set_channel_bit(&s->request, val);
        break;
    case DMA_REG_SINGLE_MASK:
        set_channel_bit(&s->mask, val);
        break;
    case DMA_REG_MODE:
        s->chan[val & DMA_CHAN_MASK].mode = val;
        break;
    case DMA_REG_CLEAR_FF:
        s->flip_flop = false;
        break;
    case DMA_REG_MASTER_CLR:
        dma_master_clear(s);
        break;
    case DMA_REG_CLEAR_MASK:
        s->mask = 0;
        break;
    case DMA_REG_ALL_MASK:
        s->mask = val & DMA_ALL_CHANNELS;
        break;
    }
    /* A channel may have just been granted (unmasked, enabled, mode). */
    dma_run_all(s);
}

/* Register number of a port, or -1 for the odd ports of DMA2. */
static int dma_reg(const I8257State *s, uint64_t addr)
{
    if (addr & ((1u << s->dshift) - 1)) {
        return -1;
    }
    return (addr >> s->dshift) & (DMA_NUM_REGS - 1);
}

static uint64_t dma_io_read(void *opaque, uint64_t addr, unsigned size)
{
    I8257State *s = opaque;
    int reg = dma_reg(s, addr);

    if (reg < 0) {
        return 0xff;
    }
    return reg < DMA_REG_STATUS ? dma_read_channel(s, reg)
                                : dma_read_control(s, reg);
}

static void dma_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    I8257State *s = opaque;
    int reg = dma_reg(s, addr);

    if (reg < 0) {
        return;
    }
    if (reg < DMA_REG_COMMAND) {
        dma_write_channel(s, reg, val);
    } else {
        dma_write_control(s, reg, val);
    }
}

static const MemoryRegionOps dma_ops = {
    .read = dma_io_read,
    .write = dma_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* The page region starts at page base + 1 (see the header comment). */
static uint64_t dma_page_read(void *opaque, uint64_t addr, unsigned size)
{
    I8257State *s = opaque;

    return s->pages[(addr + 1) % DMA_PAGE_PORTS];
}

static void dma_page_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    I8257State *s = opaque;

    s->pages[(addr + 1) % DMA_PAGE_PORTS] = val;
}

static const MemoryRegionOps dma_page_ops = {
    .read = dma_page_read,
    .write = dma_page_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool i8257_realize(DeviceState *dev, GError **errp)
{
    I8257State *s = (I8257State *)dev;
    uint32_t span;

    if (s->dshift > 1) {
        error_setg(errp, "i8257: dshift must be 0 or 1");
        return false;
    }
    span = DMA_NUM_REGS << s->dshift;
    if (s->base > 0x10000 - span ||
        s->page_base > 0x10000 - DMA_PAGE_PORTS) {
        error_setg(errp, "i8257: base 0x%x or page-base 0x%x out of range",
                   s->base, s->page_base);
        return false;
    }
    memory_region_init_io(&s->io, &dma_ops, s, "dma-cont", span);
    memory_region_init_io(&s->page_io, &dma_page_ops, s, "dma-page",
                          DMA_PAGE_PORTS - 1);
    isa_register_ioport(&s->parent, &s->io, s->base);
    isa_register_ioport(&s->parent, &s->page_io, s->page_base + 1);
    /* The first controller of each width serves its channels. */
    if (!dma_controllers[s->dshift]) {
        dma_controllers[s->dshift] = s;
    }
    return true;
}

static void i8257_unrealize(DeviceState *dev)
{
    I8257State *s = (I8257State *)dev;

    if (dma_controllers[s->dshift] == s) {
        dma_controllers[s->dshift] = NULL;
    }
    memory_region_destroy(&s->io);
    memory_region_destroy(&s->page_io);
}

/* DREQ lines belong to the devices, which reset themselves. */
static void i8257_reset(DeviceState *dev)
{
    I8257State *s = (I8257State *)dev;

    dma_master_clear(s);
    memset(s->chan, 0, sizeof(s->chan));
    memset(s->pages, 0, sizeof(s->pages));
}

static const VMStateDescription vmstate_dma_channel = {
    .name = "dma-channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(base_addr, DMAChannel),
        VMSTATE_UINT16(base_count, DMAChannel),
        VMSTATE_UINT16(cur_addr, DMAChannel),
        VMSTATE_UINT16(cur_count, DMAChannel),
        VMSTATE_UINT8(mode, DMAChannel),
        VMSTATE_END_OF_LIST()
    },
};

static int i8257_post_load(void *opaque, int version_id)
{
    I8257State *s = opaque;

    s->request &= DMA_ALL_CHANNELS;
    s->dreq &= DMA_ALL_CHANNELS;
    s->mask &= DMA_ALL_CHANNELS;
    s->status &= DMA_STATUS_TC;
    return 0;
}

static const VMStateDescription vmstate_i8257 = {
    .name = "dma",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = i8257_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(chan, I8257State, DMA_CHANNELS,
                             vmstate_dma_channel, DMAChannel),
        VMSTATE_UINT8(command, I8257State),
        VMSTATE_UINT8(status, I8257State),
        VMSTATE_UINT8(request, I8257State),
        VMSTATE_UINT8(mask, I8257State),
        VMSTATE_UINT8(temp, I8257State),
        VMSTATE_BOOL(flip_flop, I8257State),
        VMSTATE_UINT8_ARRAY(pages, I8257State, DMA_PAGE_PORTS),
        VMSTATE_FIELD_(
            "dreq", I8257State, dreq, VMS_U8, 1, 0, 2),
        VMSTATE_END_OF_LIST()
    },
};

static const Property i8257_props[] = {
    DEFINE_PROP("base", I8257State, base, PROP_UINT32, "0x00",
                "I/O port of channel 0's address register"),
    DEFINE_PROP("page-base", I8257State, page_base, PROP_UINT32, "0x80",
                "I/O port the page register file starts at (+1 is decoded)"),
    DEFINE_PROP("dshift", I8257State, dshift, PROP_UINT32, "0",
                "register spacing: 0 = every port (DMA1, channels 0-3), "
                "1 = even ports (DMA2, 16-bit channels 4-7)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType i8257_type = {
    .name = TYPE_I8257,
    .parent = TYPE_ISA_DEVICE,
    .desc = "Intel 8237A DMA controller",
    .instance_size = sizeof(I8257State),
    .props = i8257_props,
    .realize = i8257_realize,
    .unrealize = i8257_unrealize,
    .reset = i8257_reset,
    .vmsd = &vmstate_i8257,
};

static void i8257_register(void)
{
    device_type_register(&i8257_type);
}
type_init(i8257_register)
