/*
 * Intel 8042 keyboard controller as the PC/AT and PS/2 use it: port 0x60
 * (data, both directions), port 0x64 (status on read, command on write),
 * a PS/2 keyboard on IRQ 1 and a PS/2 mouse (auxiliary device) on IRQ 12.
 *
 * Spec: IBM PS/2 Hardware Interface Technical Reference, "Keyboard and
 * Auxiliary Device Controller": status register (OBF, IBF, system flag,
 * command/data, inhibit switch, auxiliary OBF, timeout, parity), the
 * controller command byte (RAM byte 0: keyboard/aux interrupt enables,
 * system flag, keyboard/aux disable, scan code translation), commands
 * 20-3F/60-7F (read/write RAM), A4 password test, A7/A8/A9 auxiliary
 * disable/enable/test, AA self test (-> 55), AB keyboard interface test,
 * AD/AE keyboard disable/enable, C0 read input port, D0/D1 read/write
 * output port (bit 0 system reset, bit 1 gate A20, bits 4/5 output
 * buffer full), D2/D3 write keyboard/aux output buffer, D4 write to the
 * auxiliary device, E0 read test inputs, F0-FF pulse output port bits
 * 0-3 (a 0 bit pulses; FE pulses reset).  The translation of scan code
 * set 2 to set 1 is the controller's, done as bytes leave the keyboard.
 *
 * The output buffer holds one byte with its source latched (controller,
 * keyboard or mouse); the next byte is taken when the host has read it:
 * a controller reply first, then the keyboard, then the mouse, each only
 * while its interface is enabled in the command byte.  Host writes are
 * handled at once, so IBF always reads 0.  Writing a byte to the
 * keyboard (port 0x60) or the mouse (D4) enables its interface again, as
 * QEMU does.
 *
 * A20: KVM has no A20 masking, so the output port's gate-A20 bit (and
 * the DD/DF commands) is kept and reads back but does not wrap memory;
 * every guest that needs A20 enables it, which is what it already is.
 * Resets (D1 with bit 0 clear, or a pulse of bit 0) go through
 * qemu_system_reset_request (guest-reset cause; -no-reboot makes it exit).
 */
#include "qemu/osdep.h"
#include "hw/input/i8042.h"
#include "hw/input/ps2-input.h"
#include "system/runstate.h"

/* Status register. */
#define STAT_OBF            0x01
#define STAT_IBF            0x02
#define STAT_SYS            0x04
#define STAT_CMD            0x08    /* last write went to port 0x64 */
#define STAT_UNLOCKED       0x10    /* keyboard not inhibited */
#define STAT_AUX_OBF        0x20
#define STAT_POWER_ON       (STAT_CMD | STAT_UNLOCKED)

/* Command byte (controller RAM byte 0). */
#define CB_INT_KBD          0x01
#define CB_INT_AUX          0x02
#define CB_SYS              0x04
#define CB_DISABLE_KBD      0x10
#define CB_DISABLE_AUX      0x20
#define CB_XLATE            0x40
#define CB_POWER_ON         (CB_INT_KBD | CB_INT_AUX)

/* Output port. */
#define OUT_RESET           0x01    /* 0 holds the CPU in reset */
#define OUT_A20             0x02
#define OUT_KBD_OBF         0x10
#define OUT_AUX_OBF         0x20
#define OUT_LIVE_BITS       (OUT_KBD_OBF | OUT_AUX_OBF)
#define OUT_POWER_ON        0xcf    /* reset, A20 and the idle-high lines */

/* Controller commands. */
#define CCMD_READ_RAM       0x20    /* 20-3F */
#define CCMD_WRITE_RAM      0x60    /* 60-7F */
#define CCMD_RAM_MASK       0x1f
#define CCMD_RAM_RANGE_MASK 0xe0
#define CCMD_PASSWORD_TEST  0xa4
#define CCMD_AUX_DISABLE    0xa7
#define CCMD_AUX_ENABLE     0xa8
#define CCMD_AUX_TEST       0xa9
#define CCMD_SELF_TEST      0xaa
#define CCMD_KBD_TEST       0xab
#define CCMD_KBD_DISABLE    0xad
#define CCMD_KBD_ENABLE     0xae
#define CCMD_READ_INPUT     0xc0
#define CCMD_READ_OUTPUT    0xd0
#define CCMD_WRITE_OUTPUT   0xd1
#define CCMD_WRITE_KBD_OBUF 0xd2
#define CCMD_WRITE_AUX_OBUF 0xd3
#define CCMD_WRITE_AUX      0xd4
#define CCMD_DISABLE_A20    0xdd
#define CCMD_ENABLE_A20     0xdf
#define CCMD_READ_TEST_IN   0xe0
#define CCMD_PULSE_FIRST    0xf0    /* F0-FF */
#define PULSE_RESET_LINE    0x01

#define REPLY_SELF_TEST_OK  0x55
#define REPLY_IFACE_OK      0x00
#define REPLY_NO_PASSWORD   0xf1
#define INPUT_PORT_VALUE    0x80    /* keyboard not inhibited */
#define TEST_INPUTS_VALUE   0x00

#define SET2_BREAK_PREFIX   0xf0
#define SET1_BREAK_BIT      0x80
#define I8042_RAM_SIZE      32

enum { SRC_NONE, SRC_KBD, SRC_AUX };

typedef struct I8042State {
    ISADevice parent;

    uint8_t status;
    uint8_t ram[I8042_RAM_SIZE];    /* ram[0] is the command byte */
    uint8_t outport;
    uint8_t obdata;
    uint8_t ctrl_pending;           /* SRC_*: a controller reply waits */
    uint8_t ctrl_data;
    uint8_t write_cmd;              /* command waiting for its data byte */
    bool xlate_break;               /* translation saw F0 */
    PS2KbdState kbd;
    PS2MouseState mouse;

    bool kbd_irq_level, aux_irq_level;
    qemu_irq kbd_irq, aux_irq;
    MemoryRegion data_io, cmd_io;
} I8042State;

static void set_line(qemu_irq irq, bool *cached, bool level)
{
    if (*cached != level) {
        *cached = level;
        qemu_set_irq(irq, level);
    }
}

static void i8042_update_irq(I8042State *s)
{
    bool obf = s->status & STAT_OBF;
    bool aux = s->status & STAT_AUX_OBF;

    set_line(s->kbd_irq, &s->kbd_irq_level,
             obf && !aux && (s->ram[0] & CB_INT_KBD));
    set_line(s->aux_irq, &s->aux_irq_level,
             obf && aux && (s->ram[0] & CB_INT_AUX));
}

/* Next keyboard byte, translated to set 1 when the command byte says. */
static bool take_kbd_byte(I8042State *s, uint8_t *out)
{
    while (!ps2_queue_empty(&s->kbd.queue)) {
        uint8_t b = ps2_queue_pop(&s->kbd.queue);

        if (!(s->ram[0] & CB_XLATE)) {
            *out = b;
            return true;
        }
        if (b == SET2_BREAK_PREFIX) {
            s->xlate_break = true;
            continue;
        }
        *out = ps2_translate_set2(b) | (s->xlate_break ? SET1_BREAK_BIT : 0);
        s->xlate_break = false;
        return true;
    }
    return false;
}

static bool take_next_byte(I8042State *s, uint8_t *out, bool *aux)
{
    if (s->ctrl_pending != SRC_NONE) {
        *aux = s->ctrl_pending == SRC_AUX;
        *out = s->ctrl_data;
        s->ctrl_pending = SRC_NONE;
        return true;
    }
    *aux = false;
    if (!(s->ram[0] & CB_DISABLE_KBD) && take_kbd_byte(s, out)) {
        return true;
    }
    if (!(s->ram[0] & CB_DISABLE_AUX) && !ps2_queue_empty(&s->mouse.queue)) {
        *aux = true;
        *out = ps2_queue_pop(&s->mouse.queue);
        return true;
    }
    return false;
}

/* Load the output buffer if it is empty and something waits. */
static void i8042_fill_output(I8042State *s)
{
    uint8_t b;
    bool aux;

    if (!(s->status & STAT_OBF) && take_next_byte(s, &b, &aux)) {
        s->obdata = b;
        s->status |= STAT_OBF | (aux ? STAT_AUX_OBF : 0);
    }
    i8042_update_irq(s);
}

static void i8042_device_notify(void *opaque)
{
    i8042_fill_output(opaque);
}

static void ctrl_reply(I8042State *s, uint8_t val, bool aux)
{
    s->ctrl_data = val;
    s->ctrl_pending = aux ? SRC_AUX : SRC_KBD;
    i8042_fill_output(s);
}

static uint8_t outport_value(const I8042State *s)
{
    uint8_t v = s->outport & ~OUT_LIVE_BITS;

    if (s->status & STAT_OBF) {
        v |= (s->status & STAT_AUX_OBF) ? OUT_AUX_OBF : OUT_KBD_OBF;
    }
    return v;
}

static void i8042_reset_request(void)
{
    qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
}

static void write_outport(I8042State *s, uint8_t val)
{
    s->outport = val & ~OUT_LIVE_BITS;
    if (!(val & OUT_RESET)) {
        i8042_reset_request();
    }
}

static void write_ram(I8042State *s, unsigned idx, uint8_t val)
{
    s->ram[idx] = val;
    if (idx == 0) {
        s->status = (s->status & ~STAT_SYS) | ((val & CB_SYS) ? STAT_SYS : 0);
        if (!(val & CB_XLATE)) {
            s->xlate_break = false;
        }
    }
    i8042_fill_output(s);
}

static void set_command_bits(I8042State *s, uint8_t clear, uint8_t set)
{
    s->ram[0] = (s->ram[0] & ~clear) | set;
    i8042_fill_output(s);
}

/* Commands with no data byte that only reply or toggle a bit. */
static bool simple_command(I8042State *s, uint8_t cmd)
{
    switch (cmd) {
    case CCMD_PASSWORD_TEST:
        ctrl_reply(s, REPLY_NO_PASSWORD, false);
        return true;
    case CCMD_AUX_DISABLE:
        set_command_bits(s, 0, CB_DISABLE_AUX);
        return true;
    case CCMD_AUX_ENABLE:
        set_command_bits(s, CB_DISABLE_AUX, 0);
        return true;
    case CCMD_AUX_TEST:
    case CCMD_KBD_TEST:
        ctrl_reply(s, REPLY_IFACE_OK, false);
        return true;
    case CCMD_SELF_TEST:
        s->status |= STAT_SYS;
        ctrl_reply(s, REPLY_SELF_TEST_OK, false);
        return true;
    case CCMD_KBD_DISABLE:
        set_command_bits(s, 0, CB_DISABLE_KBD);
        return true;
    case CCMD_KBD_ENABLE:
        set_command_bits(s, CB_DISABLE_KBD, 0);
        return true;
    case CCMD_READ_INPUT:
        ctrl_reply(s, INPUT_PORT_VALUE, false);
        return true;
    case CCMD_READ_OUTPUT:
        ctrl_reply(s, outport_value(s), false);
        return true;
    case CCMD_DISABLE_A20:
        s->outport &= ~OUT_A20;
        return true;
    case CCMD_ENABLE_A20:
        s->outport |= OUT_A20;
        return true;
    case CCMD_READ_TEST_IN:
        ctrl_reply(s, TEST_INPUTS_VALUE, false);
        return true;
    default:
        return false;
    }
}

static void i8042_command(I8042State *s, uint8_t cmd)
{
    s->write_cmd = 0;
    if (simple_command(s, cmd)) {
        return;
    }
    if ((cmd & CCMD_RAM_RANGE_MASK) == CCMD_READ_RAM) {
        ctrl_reply(s, s->ram[cmd & CCMD_RAM_MASK], false);
    } else if ((cmd & CCMD_RAM_RANGE_MASK) == CCMD_WRITE_RAM ||
               cmd == CCMD_WRITE_OUTPUT || cmd == CCMD_WRITE_KBD_OBUF ||
               cmd == CCMD_WRITE_AUX_OBUF || cmd == CCMD_WRITE_AUX) {
        s->write_cmd = cmd;
    } else if (cmd >= CCMD_PULSE_FIRST) {
        if (!(cmd & PULSE_RESET_LINE)) {
            i8042_reset_request();
        }
    }
    /* Anything else is not implemented by this controller: ignored. */
}

static void i8042_command_data(I8042State *s, uint8_t cmd, uint8_t val)
{
    if ((cmd & CCMD_RAM_RANGE_MASK) == CCMD_WRITE_RAM) {
        write_ram(s, cmd & CCMD_RAM_MASK, val);
        return;
    }
    switch (cmd) {
    case CCMD_WRITE_OUTPUT:
        write_outport(s, val);
        break;
    case CCMD_WRITE_KBD_OBUF:
        ctrl_reply(s, val, false);
        break;
    case CCMD_WRITE_AUX_OBUF:
        ctrl_reply(s, val, true);
        break;
    case CCMD_WRITE_AUX:
        s->ram[0] &= ~CB_DISABLE_AUX;
        ps2_mouse_write(&s->mouse, val);
        i8042_fill_output(s);
        break;
    }
}

static void i8042_write_data(I8042State *s, uint8_t val)
{
    uint8_t cmd = s->write_cmd;

    s->status &= ~STAT_CMD;
    s->write_cmd = 0;
    if (cmd) {
        i8042_command_data(s, cmd, val);
        return;
    }
    s->ram[0] &= ~CB_DISABLE_KBD;
    ps2_kbd_write(&s->kbd, val);
    i8042_fill_output(s);
}

static uint8_t i8042_read_data(I8042State *s)
{
    uint8_t val = s->obdata;
    bool was_aux = s->status & STAT_AUX_OBF;

    if (!(s->status & STAT_OBF)) {
        return val;     /* the last byte again, as hardware does */
    }
    s->status &= ~(STAT_OBF | STAT_AUX_OBF);
    i8042_update_irq(s);
    if (was_aux) {
        ps2_mouse_flush(&s->mouse);
    }
    i8042_fill_output(s);
    return val;
}

static uint64_t i8042_data_read(void *opaque, uint64_t addr, unsigned size)
{
    return i8042_read_data(opaque);
}

static void i8042_data_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    i8042_write_data(opaque, val);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t addr, unsigned size)
{
    I8042State *s = opaque;

    return s->status;
}

static void i8042_cmd_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    I8042State *s = opaque;

    s->status |= STAT_CMD;
    i8042_command(s, val);
}

static const MemoryRegionOps i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static const MemoryRegionOps i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool i8042_realize(DeviceState *dev, GError **errp)
{
    I8042State *s = (I8042State *)dev;

    s->kbd_irq = isa_get_irq(I8042_KBD_IRQ);
    s->aux_irq = isa_get_irq(I8042_AUX_IRQ);
    ps2_kbd_init(&s->kbd, i8042_device_notify, s);
    ps2_mouse_init(&s->mouse, i8042_device_notify, s);
    ps2_input_connect(&s->kbd, &s->mouse);
    memory_region_init_io(&s->data_io, &i8042_data_ops, s, "i8042-data", 1);
    memory_region_init_io(&s->cmd_io, &i8042_cmd_ops, s, "i8042-cmd", 1);
    isa_register_ioport(&s->parent, &s->data_io, I8042_DATA_PORT);
    isa_register_ioport(&s->parent, &s->cmd_io, I8042_CMD_PORT);
    return true;
}

static void i8042_unrealize(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    ps2_input_disconnect(&s->kbd, &s->mouse);
    ps2_kbd_fini(&s->kbd);
    ps2_mouse_fini(&s->mouse);
    memory_region_destroy(&s->data_io);
    memory_region_destroy(&s->cmd_io);
}

static void i8042_reset(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    s->status = STAT_POWER_ON;
    memset(s->ram, 0, sizeof(s->ram));
    s->ram[0] = CB_POWER_ON;
    s->outport = OUT_POWER_ON;
    s->obdata = 0;
    s->ctrl_pending = SRC_NONE;
    s->ctrl_data = 0;
    s->write_cmd = 0;
    s->xlate_break = false;
    ps2_kbd_reset(&s->kbd);
    ps2_mouse_reset(&s->mouse);
    i8042_update_irq(s);
}

static int i8042_post_load(void *opaque, int version_id)
{
    I8042State *s = opaque;

    bool ok = s->ctrl_pending <= SRC_AUX;

    if (!ok) {
        s->ctrl_pending = SRC_NONE;
    }
    s->status &= ~STAT_IBF;
    if (!(s->status & STAT_OBF)) {
        s->status &= ~STAT_AUX_OBF;
    }
    /* Drive both lines from the loaded state. */
    s->kbd_irq_level = !s->kbd_irq_level;
    s->aux_irq_level = !s->aux_irq_level;
    i8042_update_irq(s);
    return ok ? 0 : -1;
}

static const VMStateDescription vmstate_i8042 = {
    .name = "i8042",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = i8042_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(status, I8042State),
        VMSTATE_UINT8_ARRAY(ram, I8042State, I8042_RAM_SIZE),
        VMSTATE_UINT8(outport, I8042State),
        VMSTATE_UINT8(obdata, I8042State),
        VMSTATE_UINT8(ctrl_pending, I8042State),
        VMSTATE_UINT8(ctrl_data, I8042State),
        VMSTATE_UINT8(write_cmd, I8042State),
        VMSTATE_BOOL(xlate_break, I8042State),
        VMSTATE_STRUCT(kbd, I8042State, vmstate_ps2_kbd, PS2KbdState),
        VMSTATE_STRUCT(mouse, I8042State, vmstate_ps2_mouse, PS2MouseState),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType i8042_type = {
    .name = TYPE_I8042,
    .parent = TYPE_ISA_DEVICE,
    .desc = "i8042 PS/2 keyboard and mouse controller",
    .instance_size = sizeof(I8042State),
    .category = DEVICE_CATEGORY_INPUT,
    .realize = i8042_realize,
    .unrealize = i8042_unrealize,
    .reset = i8042_reset,
    .vmsd = &vmstate_i8042,
};

static I8042State *i8042_cast(DeviceState *dev)
{
    g_assert(dev && device_type_is_a(dev->type, TYPE_I8042));
    return (I8042State *)dev;
}

PS2KbdState *i8042_keyboard(DeviceState *dev)
{
    return &i8042_cast(dev)->kbd;
}

PS2MouseState *i8042_mouse(DeviceState *dev)
{
    return &i8042_cast(dev)->mouse;
}

static void i8042_register(void)
{
    device_type_register(&i8042_type);
}
type_init(i8042_register)
