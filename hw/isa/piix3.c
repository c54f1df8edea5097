/*
 * Intel 82371SB (PIIX3) function 0: PCI-to-ISA bridge.
 *
 * Spec: Intel 82371FB (PIIX) / 82371SB (PIIX3) PCI ISA IDE Xcelerator
 * datasheet:
 *   2.2.9  PIRQRC[A:D] (60h-63h): bit 7 IRQEN# (1 = routing disabled),
 *          bits 3:0 the ISA IRQ the PCI line PIRQx# is steered to
 *   2.2.x  power-on values of the other function 0 registers (as QEMU)
 *   4.1.x  Reset Control Register (I/O 0CF9h): bit 2 RCPU (reset CPU),
 *          bit 1 SRST (hard/soft)
 *
 * PCI INTx lines reach the bridge swizzled onto PIRQA-D (QEMU's i440FX
 * rule: PIRQ = (pin + slot - 1) & 3) and leave as ISA IRQs, i.e. GSIs
 * 0-15 (the in-kernel PIC and IOAPIC pins).  Several PIRQs routed to one
 * IRQ are OR-ed.  Like QEMU, an RCR write with bit 2 set resets the whole
 * machine whichever of hard/soft bit 1 says.
 *
 * ELCR (I/O 4D0h/4D1h, edge/level control) is not modelled here: KVM's
 * in-kernel PIC implements those ports itself (kernel_irqchip=off is not
 * supported by kvmpc).  The ISA bus itself is hw/isa/isa-bus.c.
 */
#include "qemu/osdep.h"
#include "hw/isa/piix3.h"
#include "hw/isa.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_host.h"
#include "system/runstate.h"

typedef struct PIIX3State {
    PCIDevice parent;
    /* bit (irq * PIIX_NUM_PIRQS + pirq): PIRQ pirq drives ISA IRQ irq high */
    uint64_t pic_levels;
    uint8_t rcr;
    bool irqs_claimed;
} PIIX3State;

/* Power-on values of function 0 (datasheet 2.2, the values QEMU uses). */
static const struct {
    uint8_t reg, val;
} piix3_reset_values[] = {
    { 0x4c, 0x4d },     /* IORT: ISA I/O recovery timer */
    { 0x4e, 0x03 },     /* XBCS: X-bus chip select */
    { 0x60, 0x80 }, { 0x61, 0x80 }, { 0x62, 0x80 }, { 0x63, 0x80 },
    { 0x69, 0x02 },     /* TOM: top of memory */
    { 0x70, 0x80 },     /* MBIRQ0 */
    { 0x76, 0x0c }, { 0x77, 0x0c },     /* MBDMA0/1 */
    { 0x78, 0x02 },     /* PCSC */
    { 0xa0, 0x08 },     /* SMICNTL */
    { 0xa8, 0x0f },     /* SEE: system event enable */
};

static int piix3_pirq_route(const PIIX3State *s, int pirq)
{
    uint8_t r = s->parent.config[PIIX_PIRQCA + pirq];

    return (r & PIIX_PIRQC_DISABLE) ? -1 : (r & PIIX_PIRQC_IRQ_MASK);
}

static uint64_t piix3_irq_bits(int irq)
{
    return ((1ULL << PIIX_NUM_PIRQS) - 1) << (irq * PIIX_NUM_PIRQS);
}

static void piix3_drive_irq(PIIX3State *s, int irq)
{
    qemu_set_irq(isa_get_irq(irq), (s->pic_levels & piix3_irq_bits(irq)) != 0);
}

/* Record a PIRQ level under its current route, without driving lines. */
static void piix3_set_level_internal(PIIX3State *s, int pirq, bool level)
{
    int irq = piix3_pirq_route(s, pirq);
    uint64_t bit;

    if (irq < 0) {
        return;
    }
    bit = 1ULL << (irq * PIIX_NUM_PIRQS + pirq);
    s->pic_levels = level ? s->pic_levels | bit : s->pic_levels & ~bit;
}

static void piix3_set_irq(void *opaque, int pirq, int level)
{
    PIIX3State *s = opaque;
    int irq;

    if (pirq < 0 || pirq >= PIIX_NUM_PIRQS) {
        return;
    }
    irq = piix3_pirq_route(s, pirq);
    if (irq < 0) {
        return;
    }
    piix3_set_level_internal(s, pirq, level);
    piix3_drive_irq(s, irq);
}

/* Rebuild the levels from the bus after the routing changed. */
static void piix3_recompute_levels(PIIX3State *s)
{
    PCIBus *bus = pci_get_bus(&s->parent);

    s->pic_levels = 0;
    for (int pirq = 0; bus && pirq < PIIX_NUM_PIRQS; pirq++) {
        piix3_set_level_internal(s, pirq, pci_bus_get_irq_level(bus, pirq));
    }
}

static void piix3_update_routing(PIIX3State *s)
{
    uint64_t old = s->pic_levels;

    piix3_recompute_levels(s);
    for (int irq = 0; irq < PIIX_NUM_PIC_IRQS; irq++) {
        if ((old | s->pic_levels) & piix3_irq_bits(irq)) {
            piix3_drive_irq(s, irq);
        }
    }
}

static void piix3_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                               unsigned len)
{
    pci_default_write_config(d, addr, val, len);
    if (addr < PIIX_PIRQCA + PIIX_NUM_PIRQS && addr + len > PIIX_PIRQCA) {
        piix3_update_routing((PIIX3State *)d);
    }
}

/* ---- reset control register (0xcf9) ---------------------------------- */

static uint8_t piix3_rcr_read(void *opaque)
{
    PIIX3State *s = opaque;

    return s->rcr;
}

static void piix3_rcr_write(void *opaque, uint8_t val)
{
    PIIX3State *s = opaque;

    if (val & PIIX_RCR_RESET_CPU) {
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return;
    }
    s->rcr = val & PIIX_RCR_SYS_RST;
}

/* ---- life cycle ----------------------------------------------------- */

static bool piix3_realize(DeviceState *dev, GError **errp)
{
    PIIX3State *s = (PIIX3State *)dev;
    PCIBus *bus = pci_get_bus(&s->parent);
    PCIHostState *host = pci_bus_get_host(bus);

    if (pci_bus_irqs_claimed(bus)) {
        error_setg(errp, "PIIX3: another ISA bridge routes the PCI "
                   "interrupts already");
        return false;
    }
    pci_bus_irqs(bus, piix3_set_irq, pci_slot_get_pirq, s, PIIX_NUM_PIRQS);
    s->irqs_claimed = true;
    if (host) {
        pci_host_set_cf9_handler(host, piix3_rcr_read, piix3_rcr_write, s);
    }
    return true;
}

static void piix3_unrealize(DeviceState *dev)
{
    PIIX3State *s = (PIIX3State *)dev;
    PCIBus *bus = pci_get_bus(&s->parent);
    PCIHostState *host = pci_bus_get_host(bus);

    if (host && host->cf9_opaque == s) {
        pci_host_set_cf9_handler(host, NULL, NULL, NULL);
    }
    if (bus && s->irqs_claimed) {
        for (int irq = 0; irq < PIIX_NUM_PIC_IRQS; irq++) {
            if (s->pic_levels & piix3_irq_bits(irq)) {
                qemu_set_irq(isa_get_irq(irq), 0);
            }
        }
        pci_bus_irqs(bus, NULL, NULL, NULL, 0);
    }
    s->irqs_claimed = false;
}

static void piix3_reset(DeviceState *dev)
{
    PIIX3State *s = (PIIX3State *)dev;
    uint8_t *c = s->parent.config;

    memset(c + PCI_CONFIG_HEADER_SIZE, 0,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    for (unsigned i = 0; i < ARRAY_SIZE(piix3_reset_values); i++) {
        c[piix3_reset_values[i].reg] = piix3_reset_values[i].val;
    }
    s->rcr = 0;
    piix3_update_routing(s);
}

/*
 * The line levels follow from the loaded routing and bus state; the
 * interrupt controllers restore their own inputs, so nothing is driven
 * here (a raise before the PIC state is back could fire early).
 */
static int piix3_post_load(void *opaque, int version_id)
{
    PIIX3State *s = opaque;

    s->rcr &= PIIX_RCR_SYS_RST;
    piix3_recompute_levels(s);
    return 0;
}

static const VMStateDescription vmstate_piix3 = {
    .name = "PIIX3",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = piix3_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(rcr, PIIX3State),
        VMSTATE_END_OF_LIST()
    },
};

static const PCIDeviceClass piix3_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = PCI_DEVICE_ID_INTEL_82371SB_0,
    .class_id = PCI_CLASS_BRIDGE_ISA,
    .status = PCI_STATUS_DEVSEL_MEDIUM,
    .config_write = piix3_config_write,
};

static const DeviceType piix3_type = {
    .name = TYPE_PIIX3_DEVICE,
    .not_hotpluggable = true,
    .parent = TYPE_PCI_DEVICE,
    .desc = "ISA bridge",
    .instance_size = sizeof(PIIX3State),
    .category = DEVICE_CATEGORY_BRIDGE,
    .realize = piix3_realize,
    .unrealize = piix3_unrealize,
    .reset = piix3_reset,
    .vmsd = &vmstate_piix3,
    .class_data = &piix3_class,
};

static void piix3_register_types(void)
{
    device_type_register(&piix3_type);
}
type_init(piix3_register_types)
