/* Local APIC, I/O APIC and 8259 PIC helpers (usable at CPL 3 and CPL 0). */
#include "guest.h"

void lapic_enable(void)
{
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
}

void lapic_send_ipi(unsigned dest, uint32_t icr_lo)
{
    lapic_write(LAPIC_ICR_HI, dest << 24);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (unsigned i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & (1u << 12)); i++)
        cpu_relax();                            /* delivery status */
}

void lapic_lint0_extint(bool enable)
{
    lapic_write(LAPIC_LVT_LINT0, enable ? LVT_EXTINT : (LVT_EXTINT | LVT_MASKED));
}

uint32_t ioapic_read(unsigned reg)
{
    mmio_write32(IOAPIC_BASE, reg);
    return mmio_read32(IOAPIC_BASE + 0x10);
}

void ioapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(IOAPIC_BASE, reg);
    mmio_write32(IOAPIC_BASE + 0x10, v);
}

unsigned ioapic_max_pin(void)
{
    return (ioapic_read(1) >> 16) & 0xff;
}

void ioapic_route(unsigned pin, unsigned vector, unsigned dest, uint32_t flags)
{
    ioapic_write(0x10 + 2 * pin, IOAPIC_MASKED);
    ioapic_write(0x11 + 2 * pin, dest << 24);
    ioapic_write(0x10 + 2 * pin, (vector & 0xff) | flags);
}

void ioapic_mask(unsigned pin)
{
    ioapic_write(0x10 + 2 * pin, ioapic_read(0x10 + 2 * pin) | IOAPIC_MASKED);
}

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

void pic_init(void)
{
    outb(PIC1_CMD, 0x11);                       /* ICW1: edge, cascade, ICW4 */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, PIC_VECTOR_BASE);           /* ICW2: vector base */
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
    outb(PIC1_DATA, 0x04);                      /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, 0x01);                      /* ICW4: 8086 mode */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xfb);                      /* mask all but the cascade */
    outb(PIC2_DATA, 0xff);
}

void pic_unmask(unsigned irq)
{
    uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
    outb(port, inb(port) & ~(1u << (irq & 7)));
}

void pic_mask(unsigned irq)
{
    uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
    outb(port, inb(port) | (1u << (irq & 7)));
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2_CMD, 0x20);
    outb(PIC1_CMD, 0x20);
}
