/*
 * The I/O APIC at 0xfec00000, in userspace: used when KVM's in-kernel
 * IOAPIC is absent (kernel_irqchip=split|off, -accel qtest).
 *
 * Spec: Intel 82093AA I/O Advanced Programmable Interrupt Controller
 * datasheet (290566-001): IOREGSEL (+0x00) selects a register, IOWIN
 * (+0x10) reads/writes it; IOAPICID (0x00, ID in bits 27:24), IOAPICVER
 * (0x01: version, maximum redirection entry in bits 23:16), IOAPICARB
 * (0x02), IOREDTBL0-23 (0x10-0x3f, two words each): vector 7:0, delivery
 * mode 10:8 (fixed, lowest priority, SMI, NMI, INIT, ExtINT), destination
 * mode 11, delivery status 12 (RO), polarity 13, remote IRR 14 (RO),
 * trigger mode 15, mask 16, destination 63:56.  Intel I/O Controller Hub
 * (ICH) datasheets: version 0x20 adds the EOI register (+0x40): writing a
 * vector ends the level-triggered interrupts with that vector, as a
 * local APIC's EOI broadcast does.
 *
 * Model:
 *   - Edge-triggered pins latch a request on a rising edge; a masked pin
 *     ignores edges (82093AA, "Interrupt Mask").  Level-triggered pins
 *     request while the line is high; one is delivered once, sets remote
 *     IRR, and is delivered again only after an EOI for its vector finds
 *     the line still high.
 *   - Delivery is an MSI-format message to the APIC bus (apic_msi_send:
 *     the userspace LAPICs, or KVM's in split mode), built from the
 *     entry as Intel SDM vol. 3, 11.11 lays out MSI address and data.
 *   - Delivery status always reads idle: the APIC bus takes a message at
 *     once.  Polarity is stored but the inputs are active high, as the
 *     machine drives them (QEMU's model does the same).
 *   - With 24 pins, entries above 23 do not exist: their words read as
 *     all-ones and ignore writes; so do undefined registers.
 */
#include "qemu/osdep.h"
#include "hw/intc/ioapic.h"
#include "hw/intc/apic.h"
#include "hw/i386/pc-layout.h"
#include "system/memory.h"

#define IOAPIC_MMIO_SIZE        0x1000
#define IOAPIC_REG_SELECT       0x00
#define IOAPIC_REG_WINDOW       0x10
#define IOAPIC_REG_EOI          0x40

#define IOAPIC_INDEX_ID         0x00
#define IOAPIC_INDEX_VERSION    0x01
#define IOAPIC_INDEX_ARB        0x02
#define IOAPIC_INDEX_REDTBL     0x10

#define IOAPIC_VERSION          0x20
#define IOAPIC_ID_SHIFT         24
#define IOAPIC_ID_MASK          0x0f

#define RTE_VECTOR_MASK         0xffULL
#define RTE_DELMODE_SHIFT       8
#define RTE_DELMODE_MASK        (7ULL << RTE_DELMODE_SHIFT)
#define RTE_DESTMODE            (1ULL << 11)
#define RTE_DELIVERY_STATUS     (1ULL << 12)
#define RTE_POLARITY            (1ULL << 13)
#define RTE_REMOTE_IRR          (1ULL << 14)
#define RTE_TRIGGER_LEVEL       (1ULL << 15)
#define RTE_MASKED              (1ULL << 16)
#define RTE_DEST_SHIFT          56
#define RTE_RO_BITS             (RTE_DELIVERY_STATUS | RTE_REMOTE_IRR)
#define RTE_WRITABLE            (RTE_VECTOR_MASK | RTE_DELMODE_MASK | \
                                 RTE_DESTMODE | RTE_POLARITY | \
                                 RTE_TRIGGER_LEVEL | RTE_MASKED | \
                                 (0xffULL << RTE_DEST_SHIFT))

/* MSI format (SDM 11.11.1/11.11.2). */
#define MSI_ADDR_DEST_SHIFT     12
#define MSI_ADDR_DEST_LOGICAL   (1u << 2)
#define MSI_DATA_LEVEL_ASSERT   (1u << 14)
#define MSI_DATA_TRIGGER_LEVEL  (1u << 15)

typedef struct IOAPICState {
    DeviceState parent;
    uint8_t id;
    uint8_t ioregsel;
    uint32_t irr;           /* requests not yet delivered */
    uint32_t lines;         /* input levels */
    uint64_t redtbl[IOAPIC_NUM_PINS];
    MemoryRegion mmio;
    qemu_irq inputs[IOAPIC_NUM_PINS];
} IOAPICState;

/* The machine has one I/O APIC; LAPIC EOIs reach it here. */
static IOAPICState *the_ioapic;

void (*ioapic_route_hook)(unsigned pin, uint64_t addr, uint32_t data);

static bool rte_level(uint64_t rte)
{
    return rte & RTE_TRIGGER_LEVEL;
}

/* The MSI-format message an entry sends (SDM 11.11). */
static void rte_message(uint64_t rte, uint64_t *addr, uint32_t *data)
{
    uint8_t dest = rte >> RTE_DEST_SHIFT;

    *addr = APIC_DEFAULT_ADDRESS | ((uint64_t)dest << MSI_ADDR_DEST_SHIFT) |
            ((rte & RTE_DESTMODE) ? MSI_ADDR_DEST_LOGICAL : 0);
    *data = (rte & RTE_VECTOR_MASK) | (rte & RTE_DELMODE_MASK);
    if (rte_level(rte)) {
        *data |= MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT;
    }
}

static void ioapic_send(uint64_t rte)
{
    uint64_t addr;
    uint32_t data;

    rte_message(rte, &addr, &data);
    apic_msi_send(addr, data);
}

static void ioapic_update_route(IOAPICState *s, unsigned pin)
{
    uint64_t addr;
    uint32_t data;

    if (ioapic_route_hook) {
        rte_message(s->redtbl[pin], &addr, &data);
        ioapic_route_hook(pin, addr, data);
    }
}

/* Deliver every pending, unmasked, not-blocked request. */
static void ioapic_service(IOAPICState *s)
{
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint32_t bit = 1u << pin;
        uint64_t *rte = &s->redtbl[pin];

        if (!(s->irr & bit) || (*rte & RTE_MASKED)) {
            continue;
        }
        if (rte_level(*rte)) {
            if (*rte & RTE_REMOTE_IRR) {
                continue;
            }
            *rte |= RTE_REMOTE_IRR;
        } else {
            s->irr &= ~bit;
        }
        ioapic_send(*rte);
    }
}

static void ioapic_set_irq(void *opaque, int pin, int level)
{
    IOAPICState *s = opaque;
    uint32_t bit;
    bool was_high;

    if (pin < 0 || pin >= IOAPIC_NUM_PINS) {
        return;
    }
    bit = 1u << pin;
    was_high = s->lines & bit;
    s->lines = level ? s->lines | bit : s->lines & ~bit;
    if (rte_level(s->redtbl[pin])) {
        s->irr = level ? s->irr | bit : s->irr & ~bit;
    } else if (level && !was_high && !(s->redtbl[pin] & RTE_MASKED)) {
        s->irr |= bit;
    }
    ioapic_service(s);
}

static void ioapic_eoi(IOAPICState *s, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t *rte = &s->redtbl[pin];

        if ((*rte & RTE_VECTOR_MASK) == vector && rte_level(*rte)) {
            *rte &= ~RTE_REMOTE_IRR;
        }
    }
    ioapic_service(s);
}

void ioapic_eoi_broadcast(uint8_t vector)
{
    if (the_ioapic) {
        ioapic_eoi(the_ioapic, vector);
    }
}

/* ---- registers ---- */

static uint32_t ioapic_read_reg(IOAPICState *s, uint8_t index)
{
    switch (index) {
    case IOAPIC_INDEX_ID:
    case IOAPIC_INDEX_ARB:
        return (uint32_t)s->id << IOAPIC_ID_SHIFT;
    case IOAPIC_INDEX_VERSION:
        return IOAPIC_VERSION | ((IOAPIC_NUM_PINS - 1) << 16);
    default:
        break;
    }
    if (index >= IOAPIC_INDEX_REDTBL &&
        index < IOAPIC_INDEX_REDTBL + 2 * IOAPIC_NUM_PINS) {
        unsigned pin = (index - IOAPIC_INDEX_REDTBL) / 2;
        return (index & 1) ? s->redtbl[pin] >> 32 : (uint32_t)s->redtbl[pin];
    }
    return UINT32_MAX;
}

static void ioapic_write_rte(IOAPICState *s, unsigned pin, bool high,
                             uint32_t val)
{
    uint64_t old = s->redtbl[pin], rte;

    rte = high ? (old & 0xffffffffULL) | ((uint64_t)val << 32)
               : (old & ~0xffffffffULL) | val;
    rte = (rte & RTE_WRITABLE) | (old & RTE_RO_BITS);
    if (!rte_level(rte)) {
        /* Remote IRR means nothing for an edge pin (and stale would
         * block it after a switch back to level). */
        rte &= ~RTE_REMOTE_IRR;
        s->irr &= ~(1u << pin);
    } else if (s->lines & (1u << pin)) {
        s->irr |= 1u << pin;
    }
    s->redtbl[pin] = rte;
    ioapic_update_route(s, pin);
    ioapic_service(s);
}

static void ioapic_write_reg(IOAPICState *s, uint8_t index, uint32_t val)
{
    if (index == IOAPIC_INDEX_ID) {
        s->id = (val >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
        return;
    }
    if (index >= IOAPIC_INDEX_REDTBL &&
        index < IOAPIC_INDEX_REDTBL + 2 * IOAPIC_NUM_PINS) {
        ioapic_write_rte(s, (index - IOAPIC_INDEX_REDTBL) / 2, index & 1, val);
    }
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr) {
    case IOAPIC_REG_SELECT:
        return s->ioregsel;
    case IOAPIC_REG_WINDOW:
        return ioapic_read_reg(s, s->ioregsel);
    default:
        return 0;       /* the EOI register and holes read 0 */
    }
}

static void ioapic_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr) {
    case IOAPIC_REG_SELECT:
        s->ioregsel = val;
        break;
    case IOAPIC_REG_WINDOW:
        ioapic_write_reg(s, s->ioregsel, val);
        break;
    case IOAPIC_REG_EOI:
        ioapic_eoi(s, val);
        break;
    default:
        break;
    }
}

static const MemoryRegionOps ioapic_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

/* ---- device ---- */

qemu_irq ioapic_input(DeviceState *dev, unsigned n)
{
    g_assert(dev && device_type_is_a(dev->type, TYPE_IOAPIC));
    return n < IOAPIC_NUM_PINS ? ((IOAPICState *)dev)->inputs[n] : NULL;
}

static bool ioapic_realize(DeviceState *dev, GError **errp)
{
    IOAPICState *s = (IOAPICState *)dev;

    if (the_ioapic) {
        error_setg(errp, "ioapic: the machine has one I/O APIC already");
        return false;
    }
    memory_region_init_io(&s->mmio, &ioapic_ops, s, "ioapic",
                          IOAPIC_MMIO_SIZE);
    memory_region_add_subregion(get_system_memory(), PC_IOAPIC_BASE,
                                &s->mmio);
    for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++) {
        s->inputs[i] = qemu_allocate_irq(ioapic_set_irq, s, i);
    }
    the_ioapic = s;
    return true;
}

static void ioapic_unrealize(DeviceState *dev)
{
    IOAPICState *s = (IOAPICState *)dev;

    memory_region_destroy(&s->mmio);
    for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++) {
        qemu_free_irq(s->inputs[i]);
    }
    if (the_ioapic == s) {
        the_ioapic = NULL;
    }
}

/* Every entry masked, edge, vector 0 (82093AA reset); ID as the MADT. */
static void ioapic_reset(DeviceState *dev)
{
    IOAPICState *s = (IOAPICState *)dev;

    s->id = PC_IOAPIC_ID;
    s->ioregsel = 0;
    s->irr = 0;
    for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++) {
        s->redtbl[i] = RTE_MASKED;
        ioapic_update_route(s, i);
    }
}

static int ioapic_post_load(void *opaque, int version_id)
{
    IOAPICState *s = opaque;
    uint32_t pins = (1u << IOAPIC_NUM_PINS) - 1;

    s->id &= IOAPIC_ID_MASK;
    s->irr &= pins;
    s->lines &= pins;
    for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++) {
        s->redtbl[i] &= RTE_WRITABLE | RTE_REMOTE_IRR;
        ioapic_update_route(s, i);
    }
    return 0;
}

static const VMStateDescription vmstate_ioapic = {
    .name = "ioapic",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ioapic_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(id, IOAPICState),
        VMSTATE_UINT8(ioregsel, IOAPICState),
        VMSTATE_UINT32(irr, IOAPICState),
        VMSTATE_UINT32(lines, IOAPICState),
        VMSTATE_UINT64_ARRAY(redtbl, IOAPICState, IOAPIC_NUM_PINS),
        VMSTATE_END_OF_LIST()
    },
};

static const DeviceType ioapic_type = {
    .name = TYPE_IOAPIC,
    .parent = TYPE_DEVICE,
    .desc = "I/O APIC (82093AA registers, ICH version 0x20; userspace "
            "irqchip)",
    .instance_size = sizeof(IOAPICState),
    .realize = ioapic_realize,
    .unrealize = ioapic_unrealize,
    .reset = ioapic_reset,
    .vmsd = &vmstate_ioapic,
};

static void ioapic_register(void)
{
    device_type_register(&ioapic_type);
}
type_init(ioapic_register)
