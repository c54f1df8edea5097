/*
 * Two cascaded 8259A programmable interrupt controllers, as the PC/AT
 * wires them: the master at 0x20/0x21 drives the CPU's INTR, the slave at
 * 0xa0/0xa1 drives the master's IR2; the PIIX edge/level control
 * registers ELCR1/ELCR2 sit at 0x4d0/0x4d1.  Used only when KVM's
 * in-kernel PIC is absent (kernel_irqchip=split|off, -accel qtest).
 *
 * Spec: Intel 8259A datasheet (order 231468-003), "Programming the
 * 8259A": ICW1 (IC4, SNGL, LTIM; starts initialisation), ICW2 (vector
 * base T7-T3), ICW3 (cascade, only with SNGL=0), ICW4 (uPM, AEOI, SFNM;
 * only with IC4=1); OCW1 (interrupt mask register, IMR), OCW2 (R, SL,
 * EOI: non-specific / specific EOI, rotate on EOI, rotate in automatic
 * EOI mode set/clear, set priority), OCW3 (ESMM/SMM special mask mode,
 * P poll command, RR/RIS read IRR or ISR).  Intel 82371SB (PIIX3)
 * datasheet, ELCR1/ELCR2: a set bit makes that IRQ level sensitive;
 * IRQ 0, 1, 2, 8 and 13 cannot be (their bits read 0).
 *
 * Model:
 *   - Edge mode latches a request on a rising edge (the edge sense latch
 *     is the remembered line level); level mode (ELCR bit or ICW1 LTIM)
 *     follows the line.  INTA clears an edge request, never a level one.
 *   - Priority is fully nested with rotation (priority_add names the
 *     highest priority IR); special mask mode lets masked in-service
 *     levels stop blocking lower ones; special fully nested mode lets
 *     the slave interrupt while one of its own IRs is in service.
 *   - Poll mode: the next read of either port is the poll word (bit 7
 *     set when a request is pending, bits 2-0 its level) and acknowledges
 *     that request as INTA would.
 *   - An acknowledge with nothing requested gives IR7 (spurious: no ISR
 *     bit); a slave with nothing to give gives its IR7 (IRQ 15).
 *   - ICW1 resets as the datasheet says (IMR, ISR, edge latches, special
 *     mask, priority, read register = IRR) and, as QEMU does, keeps level
 *     requests in IRR.  8080/85 mode (uPM=0) and buffered mode are
 *     accepted and behave as 8086 mode.
 */
#include "qemu/osdep.h"
#include "hw/intc/i8259.h"
#include "hw/isa.h"

#define ICW1_IC4            0x01
#define ICW1_SNGL           0x02
#define ICW1_LTIM           0x08
#define ICW1_SELECT         0x10
#define OCW3_SELECT         0x08
#define OCW3_RIS            0x01
#define OCW3_RR             0x02
#define OCW3_POLL           0x04
#define OCW3_SMM            0x20
#define OCW3_ESMM           0x40
#define ICW4_AEOI           0x02
#define ICW4_SFNM           0x10

#define OCW2_ROTATE_AEOI_CLEAR  0
#define OCW2_NONSPECIFIC_EOI    1
#define OCW2_SPECIFIC_EOI       3
#define OCW2_ROTATE_AEOI_SET    4
#define OCW2_ROTATE_NS_EOI      5
#define OCW2_SET_PRIORITY       6
#define OCW2_ROTATE_SPEC_EOI    7

#define CASCADE_IRQ         2
#define SPURIOUS_IRQ        7
#define NO_PRIORITY         8
#define ELCR_MASK_MASTER    0xf8
#define ELCR_MASK_SLAVE     0xde

enum { INIT_READY, INIT_ICW2, INIT_ICW3, INIT_ICW4 };

typedef struct PICChip {
    uint8_t irr;            /* interrupt request register */
    uint8_t imr;            /* interrupt mask register (OCW1) */
    uint8_t isr;            /* in-service register */
    uint8_t line;           /* input levels (the edge sense latches) */
    uint8_t elcr;
    uint8_t priority_add;   /* IR with the highest priority */
    uint8_t irq_base;       /* ICW2 */
    uint8_t init_state;     /* next initialisation word expected */
    bool read_isr;          /* OCW3 RIS */
    bool poll;
    bool special_mask;
    bool auto_eoi;
    bool rotate_on_aeoi;
    bool sfnm;              /* special fully nested mode */
    bool init4;             /* ICW4 expected */
    bool single;            /* no ICW3 */
    bool ltim;              /* level triggered (ICW1) */
    /* not state */
    uint8_t elcr_mask;
    bool master;
    MemoryRegion io;
} PICChip;

typedef struct I8259State {
    ISADevice parent;
    PICChip chip[2];        /* master, slave */
    MemoryRegion elcr_io;
    qemu_irq inputs[I8259_NUM_IRQS];
    qemu_irq int_out;
    bool int_level;
} I8259State;

static I8259State *i8259_cast(DeviceState *dev)
{
    g_assert(dev && device_type_is_a(dev->type, TYPE_I8259));
    return (I8259State *)dev;
}

/* ---- priority resolution ---- */

/* Priority (0 highest) of the best bit in @mask, or NO_PRIORITY. */
static int chip_priority(const PICChip *c, uint8_t mask)
{
    int p = 0;

    if (!mask) {
        return NO_PRIORITY;
    }
    while (!(mask & (1u << ((p + c->priority_add) & 7)))) {
        p++;
    }
    return p;
}

/* The IR this chip would present to INTA now, or -1. */
static int chip_pending_irq(const PICChip *c)
{
    int req = chip_priority(c, c->irr & ~c->imr);
    uint8_t in_service = c->isr;

    if (req == NO_PRIORITY) {
        return -1;
    }
    if (c->special_mask) {
        in_service &= ~c->imr;
    }
    if (c->sfnm && c->master) {
        /* The slave may interrupt while it is in service itself. */
        in_service &= ~(1u << CASCADE_IRQ);
    }
    if (req < chip_priority(c, in_service)) {
        return (req + c->priority_add) & 7;
    }
    return -1;
}

/*
 * The master's cascade input follows the slave's INT, which stays high
 * until the slave's request is acknowledged or withdrawn.
 */
static bool chip_level_mode(const PICChip *c, unsigned irq)
{
    return c->ltim || (c->elcr & (1u << irq)) ||
           (c->master && irq == CASCADE_IRQ);
}

/* ---- line changes ---- */

static void chip_set_line(PICChip *c, unsigned irq, bool level)
{
    uint8_t bit = 1u << irq;

    if (chip_level_mode(c, irq)) {
        c->irr = level ? c->irr | bit : c->irr & ~bit;
    } else if (level && !(c->line & bit)) {
        c->irr |= bit;
    }
    c->line = level ? c->line | bit : c->line & ~bit;
}

/* Re-evaluate the cascade and the INT output after any change. */
static void i8259_update(I8259State *s)
{
    PICChip *m = &s->chip[0];
    bool level;

    chip_set_line(m, CASCADE_IRQ, chip_pending_irq(&s->chip[1]) >= 0);
    level = chip_pending_irq(m) >= 0;
    if (level != s->int_level) {
        s->int_level = level;
        qemu_set_irq(s->int_out, level);
    }
}

static void i8259_set_irq(void *opaque, int n, int level)
{
    I8259State *s = opaque;

    if (n < 0 || n >= I8259_NUM_IRQS || n == CASCADE_IRQ) {
        return;
    }
    chip_set_line(&s->chip[n >> 3], n & 7, level != 0);
    i8259_update(s);
}

/* ---- acknowledge ---- */

static void chip_intack(PICChip *c, unsigned irq)
{
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi) {
            c->priority_add = (irq + 1) & 7;
        }
    } else {
        c->isr |= 1u << irq;
    }
    if (!chip_level_mode(c, irq)) {
        c->irr &= ~(1u << irq);
    }
}

int i8259_read_irq(DeviceState *dev)
{
    I8259State *s = i8259_cast(dev);
    PICChip *m = &s->chip[0], *sl = &s->chip[1];
    int irq = chip_pending_irq(m), vector;

    if (irq < 0) {
        vector = m->irq_base + SPURIOUS_IRQ;
    } else if (irq == CASCADE_IRQ) {
        int irq2 = chip_pending_irq(sl);

        chip_intack(m, irq);
        if (irq2 >= 0) {
            chip_intack(sl, irq2);
        } else {
            irq2 = SPURIOUS_IRQ;
        }
        vector = sl->irq_base + irq2;
    } else {
        chip_intack(m, irq);
        vector = m->irq_base + irq;
    }
    i8259_update(s);
    return vector;
}

bool i8259_int_level(DeviceState *dev)
{
    return i8259_cast(dev)->int_level;
}

/* ---- registers ---- */

/* ICW1 (and device reset, which also clears ELCR): see the header. */
static void chip_init_reset(PICChip *c)
{
    c->irr &= c->elcr;
    c->line = 0;
    c->imr = 0;
    c->isr = 0;
    c->priority_add = 0;
    c->irq_base = 0;
    c->init_state = INIT_READY;
    c->read_isr = false;
    c->poll = false;
    c->special_mask = false;
    c->auto_eoi = false;
    c->rotate_on_aeoi = false;
    c->sfnm = false;
    c->init4 = false;
    c->single = false;
    c->ltim = false;
}

static void chip_write_ocw2(PICChip *c, uint8_t val)
{
    unsigned cmd = val >> 5;
    int p;

    switch (cmd) {
    case OCW2_ROTATE_AEOI_CLEAR:
    case OCW2_ROTATE_AEOI_SET:
        c->rotate_on_aeoi = cmd == OCW2_ROTATE_AEOI_SET;
        break;
    case OCW2_NONSPECIFIC_EOI:
    case OCW2_ROTATE_NS_EOI:
        p = chip_priority(c, c->isr);
        if (p != NO_PRIORITY) {
            unsigned irq = (p + c->priority_add) & 7;
            c->isr &= ~(1u << irq);
            if (cmd == OCW2_ROTATE_NS_EOI) {
                c->priority_add = (irq + 1) & 7;
            }
        }
        break;
    case OCW2_SPECIFIC_EOI:
        c->isr &= ~(1u << (val & 7));
        break;
    case OCW2_SET_PRIORITY:
        c->priority_add = (val + 1) & 7;
        break;
    case OCW2_ROTATE_SPEC_EOI:
        c->isr &= ~(1u << (val & 7));
        c->priority_add = ((val & 7) + 1) & 7;
        break;
    default:                /* 2: no operation */
        break;
    }
}

static void chip_write_cmd(PICChip *c, uint8_t val)
{
    if (val & ICW1_SELECT) {
        chip_init_reset(c);
        c->init_state = INIT_ICW2;
        c->init4 = val & ICW1_IC4;
        c->single = val & ICW1_SNGL;
        c->ltim = val & ICW1_LTIM;
    } else if (val & OCW3_SELECT) {
        if (val & OCW3_POLL) {
            c->poll = true;
        }
        if (val & OCW3_RR) {
            c->read_isr = val & OCW3_RIS;
        }
        if (val & OCW3_ESMM) {
            c->special_mask = val & OCW3_SMM;
        }
    } else {
        chip_write_ocw2(c, val);
    }
}

static void chip_write_data(PICChip *c, uint8_t val)
{
    switch (c->init_state) {
    case INIT_ICW2:
        c->irq_base = val & 0xf8;
        c->init_state = !c->single ? INIT_ICW3 :
                        c->init4 ? INIT_ICW4 : INIT_READY;
        break;
    case INIT_ICW3:
        c->init_state = c->init4 ? INIT_ICW4 : INIT_READY;
        break;
    case INIT_ICW4:
        c->sfnm = val & ICW4_SFNM;
        c->auto_eoi = val & ICW4_AEOI;
        c->init_state = INIT_READY;
        break;
    default:
        c->imr = val;       /* OCW1 */
        break;
    }
}

static I8259State *chip_owner(PICChip *c)
{
    return c->master ? container_of(c, I8259State, chip[0])
                     : container_of(c, I8259State, chip[1]);
}

/* Poll command: the next read is the poll word, and acknowledges. */
static uint8_t chip_poll_read(PICChip *c)
{
    int irq = chip_pending_irq(c);

    c->poll = false;
    if (irq < 0) {
        return 0;
    }
    chip_intack(c, irq);
    return 0x80 | irq;
}

static uint64_t pic_io_read(void *opaque, uint64_t addr, unsigned size)
{
    PICChip *c = opaque;
    uint8_t val;

    if (c->poll) {
        val = chip_poll_read(c);
        i8259_update(chip_owner(c));
        return val;
    }
    if (addr == 0) {
        return c->read_isr ? c->isr : c->irr;
    }
    return c->imr;
}

static void pic_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    PICChip *c = opaque;

    if (addr == 0) {
        chip_write_cmd(c, val);
    } else {
        chip_write_data(c, val);
    }
    i8259_update(chip_owner(c));
}

static const MemoryRegionOps pic_io_ops = {
    .read = pic_io_read,
    .write = pic_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static uint64_t elcr_read(void *opaque, uint64_t addr, unsigned size)
{
    I8259State *s = opaque;

    return s->chip[addr & 1].elcr;
}

static void elcr_write(void *opaque, uint64_t addr, uint64_t val,
                       unsigned size)
{
    I8259State *s = opaque;
    PICChip *c = &s->chip[addr & 1];

    c->elcr = val & c->elcr_mask;
    /* A pin turned level sensitive requests while it is high. */
    for (unsigned irq = 0; irq < 8; irq++) {
        if (chip_level_mode(c, irq)) {
            chip_set_line(c, irq, c->line & (1u << irq));
        }
    }
    i8259_update(s);
}

static const MemoryRegionOps elcr_ops = {
    .read = elcr_read,
    .write = elcr_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- machine interface ---- */

qemu_irq i8259_input(DeviceState *dev, unsigned n)
{
    I8259State *s = i8259_cast(dev);

    return n < I8259_NUM_IRQS ? s->inputs[n] : NULL;
}

void i8259_set_int_output(DeviceState *dev, qemu_irq out)
{
    i8259_cast(dev)->int_out = out;
}

static void chip_set_initialized(PICChip *c, uint8_t base, uint8_t imr,
                                 uint8_t elcr)
{
    chip_init_reset(c);
    c->irq_base = base & 0xf8;
    c->init4 = true;
    c->imr = imr;
    c->elcr = elcr & c->elcr_mask;
}

void i8259_set_initialized(DeviceState *dev, uint8_t master_base,
                           uint8_t slave_base, uint16_t imr, uint16_t elcr)
{
    I8259State *s = i8259_cast(dev);

    chip_set_initialized(&s->chip[0], master_base, imr, elcr);
    chip_set_initialized(&s->chip[1], slave_base, imr >> 8, elcr >> 8);
    i8259_update(s);
}

/* ---- device ---- */

static bool i8259_realize(DeviceState *dev, GError **errp)
{
    I8259State *s = (I8259State *)dev;
    static const uint16_t bases[2] = { I8259_MASTER_BASE, I8259_SLAVE_BASE };

    for (unsigned i = 0; i < 2; i++) {
        PICChip *c = &s->chip[i];
        c->master = i == 0;
        c->elcr_mask = i == 0 ? ELCR_MASK_MASTER : ELCR_MASK_SLAVE;
        memory_region_init_io(&c->io, &pic_io_ops, c,
                              i == 0 ? "pic-master" : "pic-slave", 2);
        memory_region_set_owner(&c->io, s);
        isa_register_ioport(&s->parent, &c->io, bases[i]);
    }
    memory_region_init_io(&s->elcr_io, &elcr_ops, s, "elcr", 2);
    isa_register_ioport(&s->parent, &s->elcr_io, I8259_ELCR_BASE);
    for (unsigned i = 0; i < I8259_NUM_IRQS; i++) {
        s->inputs[i] = qemu_allocate_irq(i8259_set_irq, s, i);
    }
    return true;
}

static void i8259_unrealize(DeviceState *dev)
{
    I8259State *s = (I8259State *)dev;

    for (unsigned i = 0; i < 2; i++) {
        memory_region_destroy(&s->chip[i].io);
    }
    memory_region_destroy(&s->elcr_io);
    for (unsigned i = 0; i < I8259_NUM_IRQS; i++) {
        qemu_free_irq(s->inputs[i]);
    }
}

/* Power-on: every chip as after ICW1, ELCR cleared (QEMU's pic_reset). */
static void i8259_reset(DeviceState *dev)
{
    I8259State *s = (I8259State *)dev;

    for (unsigned i = 0; i < 2; i++) {
        s->chip[i].elcr = 0;
        s->chip[i].irr = 0;
        chip_init_reset(&s->chip[i]);
    }
    i8259_update(s);
}

static int i8259_post_load(void *opaque, int version_id)
{
    I8259State *s = opaque;

    for (unsigned i = 0; i < 2; i++) {
        PICChip *c = &s->chip[i];
        c->elcr &= c->elcr_mask;
        c->priority_add &= 7;
        c->irq_base &= 0xf8;
        if (c->init_state > INIT_ICW4) {
            c->init_state = INIT_READY;
        }
    }
    /* The output follows the state; tell the CPU side. */
    s->int_level = chip_pending_irq(&s->chip[0]) >= 0;
    qemu_set_irq(s->int_out, s->int_level);
    return 0;
}

static const VMStateDescription vmstate_pic_chip = {
    .name = "i8259-chip",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(irr, PICChip),
        VMSTATE_UINT8(imr, PICChip),
        VMSTATE_UINT8(isr, PICChip),
        VMSTATE_UINT8(line, PICChip),
        VMSTATE_UINT8(elcr, PICChip),
        VMSTATE_UINT8(priority_add, PICChip),
        VMSTATE_UINT8(irq_base, PICChip),
        VMSTATE_UINT8(init_state, PICChip),
        VMSTATE_BOOL(read_isr, PICChip),
        VMSTATE_BOOL(poll, PICChip),
        VMSTATE_BOOL(special_mask, PICChip),
        VMSTATE_BOOL(auto_eoi, PICChip),
        VMSTATE_BOOL(rotate_on_aeoi, PICChip),
        VMSTATE_BOOL(sfnm, PICChip),
        VMSTATE_BOOL(init4, PICChip),
        VMSTATE_BOOL(single, PICChip),
        VMSTATE_BOOL(ltim, PICChip),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_i8259 = {
    .name = "i8259",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = i8259_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(chip, I8259State, 2, vmstate_pic_chip, PICChip),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType i8259_type = {
    .name = TYPE_I8259,
    .parent = TYPE_ISA_DEVICE,
    .desc = "Two cascaded 8259A PICs with the PIIX ELCR (userspace irqchip)",
    .instance_size = sizeof(I8259State),
    .realize = i8259_realize,
    .unrealize = i8259_unrealize,
    .reset = i8259_reset,
    .vmsd = &vmstate_i8259,
};

static void i8259_register(void)
{
    device_type_register(&i8259_type);
}
type_init(i8259_register)
