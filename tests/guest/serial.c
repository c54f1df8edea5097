/*
 * serial: the COM1 16550A UART.
 *
 *   - output lines (run-guest-test.py --expect checks that they arrived)
 *   - registers: scratch, LCR, divisor latch, IER, FCR/IIR FIFO bits, MCR
 *   - loopback (MCR bit 4): THR -> RBR, LSR DR/THRE/TEMT/OE, the FIFO,
 *     MSR mirroring MCR, receive-data interrupt identification
 *   - interrupts: THRE interrupt (IER bit 1) on IRQ 4, once through the
 *     I/O APIC (GSI 4) and once through the 8259 PIC, each driving an
 *     interrupt-driven transmit of one line
 */
#include "guest.h"

#define RBR 0
#define THR 0
#define IER 1
#define DLL 0
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define VEC_IOAPIC 0x34
#define VEC_PIC    (PIC_VECTOR_BASE + 4)

static inline uint8_t rd(int reg) { return inb(COM1 + reg); }
static inline void wr(int reg, uint8_t v) { outb(COM1 + reg, v); }

static volatile uint32_t irq_count;

static void irq_ioapic(int vec)
{
    irq_count++;
    lapic_eoi();
}

static void irq_pic(int vec)
{
    irq_count++;
    pic_eoi(4);
}

static void drain(void)
{
    for (int i = 0; i < 64 && (rd(LSR) & LSR_DR); i++)
        rd(RBR);
}

static bool wait_lsr(uint8_t bits, uint8_t *seen)
{
    uint8_t l = 0;
    bool ok = wait_until(((l = rd(LSR)) & bits) == bits, 200000);
    if (seen)
        *seen = l;
    return ok;
}

static void test_output(void)
{
    printf("serial-test: line 1\n");
    printf("serial-test: line 2 with numbers %d %u 0x%08x %ld\n", -12345, 4000000000u, 0xdeadbeef, -9876543210L);
    char all[96];
    for (int i = 0; i < 95; i++)
        all[i] = (char)(' ' + i);
    all[95] = 0;
    printf("serial-test: printable [%s]\n", all);
    char longline[301];
    for (int i = 0; i < 300; i++)
        longline[i] = (char)('a' + i % 26);
    longline[300] = 0;
    printf("serial-test: long %s end\n", longline);
    report(true, "output lines written");
}

static void test_registers(void)
{
    static const uint8_t pat[] = { 0x00, 0x55, 0xaa, 0xff, 0x5a, 0x01, 0x80 };
    bool ok = true;
    for (size_t i = 0; i < sizeof(pat); i++) {
        wr(SCR, pat[i]);
        uint8_t v = rd(SCR);
        if (v != pat[i]) {
            report(false, "scratch register: wrote 0x%02x, read 0x%02x", pat[i], v);
            ok = false;
        }
    }
    if (ok)
        report(true, "scratch register holds %zu patterns", sizeof(pat));

    wr(LCR, 0x1b);                                  /* 8 bits, even parity */
    uint8_t lcr = rd(LCR);
    wr(LCR, 0x03);
    report(lcr == 0x1b, "LCR read-back (0x%02x)", lcr);

    wr(LCR, 0x83);
    wr(DLL, 0x34);
    wr(DLM, 0x12);
    uint8_t dll = rd(DLL), dlm = rd(DLM);
    wr(DLL, 0x01);
    wr(DLM, 0x00);
    uint8_t dll1 = rd(DLL), dlm1 = rd(DLM);
    wr(LCR, 0x03);
    report(dll == 0x34 && dlm == 0x12 && dll1 == 0x01 && dlm1 == 0x00,
           "divisor latch read-back (0x%02x%02x, 0x%02x%02x)", dlm, dll, dlm1, dll1);
    uint8_t ier = rd(IER);
    report(ier == 0x00, "DLAB=0 selects IER again at offset 1 (0x%02x)", ier);

    wr(IER, 0x0f);
    uint8_t ier_f = rd(IER);
    wr(IER, 0x00);
    uint8_t ier_0 = rd(IER);
    report(ier_f == 0x0f && ier_0 == 0x00, "IER read-back (0x%02x, 0x%02x)", ier_f, ier_0);

    wr(FCR, 0x07);
    uint8_t iir_fifo = rd(IIR);
    wr(FCR, 0x00);
    uint8_t iir_nofifo = rd(IIR);
    wr(FCR, 0xc7);
    report((iir_fifo & 0xc0) == 0xc0, "FIFOs enabled: IIR bits 7:6 = 11 (IIR 0x%02x)", iir_fifo);
    report((iir_nofifo & 0xc0) == 0x00, "FIFOs disabled: IIR bits 7:6 = 00 (IIR 0x%02x)", iir_nofifo);
    report((iir_fifo & 0x0f) == 0x01 && (iir_nofifo & 0x0f) == 0x01,
           "no interrupt pending with IER 0 (IIR bit 0 set)");

    uint8_t lsr = rd(LSR);
    report((lsr & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT) || wait_lsr(LSR_THRE | LSR_TEMT, &lsr),
           "LSR THRE and TEMT set when idle (LSR 0x%02x)", lsr);
}

static void test_loopback(void)
{
    uint8_t lsr = 0, v;

    console_hold();                                 /* nothing reaches the host now */
    wr(FCR, 0x07);
    wr(MCR, 0x10);
    uint8_t mcr = rd(MCR);
    drain();
    report(mcr == 0x10, "MCR read-back, loopback on (0x%02x)", mcr);

    /* one byte */
    wr(THR, 0xa5);
    bool dr = wait_lsr(LSR_DR, &lsr);
    v = rd(RBR);
    report(dr, "loopback: LSR DR set after a THR write (LSR 0x%02x)", lsr);
    report(v == 0xa5, "loopback: RBR returns the byte written (0x%02x)", v);
    lsr = rd(LSR);
    report(!(lsr & LSR_DR), "loopback: DR clear after reading RBR (LSR 0x%02x)", lsr);
    report(wait_lsr(LSR_THRE | LSR_TEMT, &lsr), "loopback: THRE and TEMT set again (LSR 0x%02x)", lsr);

    /* a full FIFO, in order */
    wait_lsr(LSR_THRE, NULL);
    for (int i = 0; i < 16; i++)
        wr(THR, (uint8_t)(0x30 + i * 7));
    wait_lsr(LSR_TEMT, NULL);
    int good = 0;
    for (int i = 0; i < 16; i++) {
        if (!wait_lsr(LSR_DR, NULL))
            break;
        if (rd(RBR) == (uint8_t)(0x30 + i * 7))
            good++;
    }
    lsr = rd(LSR);
    report(good == 16, "loopback: 16 bytes through the FIFO in order (%d good)", good);
    report(!(lsr & LSR_DR), "loopback: FIFO empty after 16 reads (LSR 0x%02x)", lsr);

    /* receive-data interrupt identification */
    wr(IER, 0x01);
    wr(THR, 0x42);
    wait_lsr(LSR_DR, NULL);
    uint8_t iir = rd(IIR);
    v = rd(RBR);
    uint8_t iir2 = rd(IIR);
    wr(IER, 0x00);
    /* 0x04 received data; 0x0c character timeout, which a FIFO UART
     * reports instead once the byte sat unread for 4 character times */
    report(((iir & 0x0f) == 0x04 || (iir & 0x0f) == 0x0c) && v == 0x42,
           "loopback: IIR reports received data (IIR 0x%02x)", iir);
    report((iir2 & 0x0f) == 0x01, "loopback: IIR clear after reading RBR (IIR 0x%02x)", iir2);

    /* overrun without FIFO */
    wr(FCR, 0x00);
    drain();
    wr(THR, 0x11);
    wait_lsr(LSR_THRE, NULL);
    wr(THR, 0x22);
    uint8_t oe_lsr = 0;
    bool oe = wait_until((oe_lsr = rd(LSR)) & LSR_OE, 200000);
    uint8_t lsr_after = rd(LSR);
    drain();
    report(oe, "loopback: LSR OE on overrun with FIFOs off (LSR 0x%02x)", oe_lsr);
    report(!(lsr_after & LSR_OE), "loopback: reading LSR clears OE (LSR 0x%02x)", lsr_after);
    wr(FCR, 0x07);

    /* modem control lines looped to modem status */
    static const struct { uint8_t mcr, msr; } lines[] = {
        { 0x10, 0x00 }, { 0x11, 0x20 }, { 0x12, 0x10 }, { 0x14, 0x40 }, { 0x18, 0x80 }, { 0x1f, 0xf0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        wr(MCR, lines[i].mcr);
        uint8_t msr = rd(MSR);
        report((msr & 0xf0) == lines[i].msr, "loopback: MCR 0x%02x gives MSR 0x%02x (got 0x%02x)",
               lines[i].mcr, lines[i].msr, msr & 0xf0);
    }
    wr(MCR, 0x10);
    drain();

    console_release();                              /* serial_init(): normal mode */
}

/* Interrupt-driven transmit: one byte per THRE interrupt. */
static bool irq_transmit(const char *s, int *sent)
{
    *sent = 0;
    for (; *s; s++) {
        uint32_t before = irq_count;
        wr(THR, (uint8_t)*s);
        if (!wait_until(irq_count != before, 1000000))
            return false;
        (*sent)++;
    }
    return true;
}

static void test_irq(const char *via, int vector, const char *line)
{
    irq_count = 0;
    wr(MCR, 0x0b);                                  /* DTR, RTS, OUT2 (IRQ enable on PCs) */
    wr(FCR, 0xc7);
    irq_enable();
    wr(IER, 0x02);                                  /* THRE interrupt: THR is empty */
    bool got = wait_until(irq_count >= 1, 1000000);
    uint8_t iir = rd(IIR);
    uint8_t iir2 = rd(IIR);
    int sent = 0;
    bool tx = got && irq_transmit(line, &sent);
    wr(IER, 0x00);
    irq_disable();
    serial_init();

    report(got, "THRE interrupt on IRQ 4 through the %s (vector 0x%x)", via, vector);
    report((iir & 0x0f) == 0x02, "%s: IIR identifies THRE (IIR 0x%02x)", via, iir);
    report((iir2 & 0x0f) == 0x01, "%s: reading IIR cleared the THRE interrupt (IIR 0x%02x)", via, iir2);
    report(tx, "%s: interrupt-driven transmit of %d bytes (%d sent, %u interrupts)",
           via, (int)strlen(line), sent, irq_count);
}

int main(void)
{
    report_prefix("serial");
    test_output();
    test_registers();
    test_loopback();

    lapic_enable();

    irq_set_handler(VEC_IOAPIC, irq_ioapic);
    ioapic_route(4, VEC_IOAPIC, lapic_id(), 0);
    test_irq("I/O APIC", VEC_IOAPIC, "serial-test: interrupt-driven transmit via I/O APIC\n");
    ioapic_mask(4);

    irq_set_handler(VEC_PIC, irq_pic);
    lapic_lint0_extint(true);
    pic_unmask(4);
    test_irq("8259 PIC", VEC_PIC, "serial-test: interrupt-driven transmit via 8259 PIC\n");
    pic_mask(4);

    report_summary();
}
