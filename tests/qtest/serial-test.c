/*
 * isa-serial (16550A): every register, interrupt priorities and the IRQ
 * line, FIFOs and their trigger levels, the character timeout on the
 * virtual clock, overrun, loopback with its MSR wiring, and data to and
 * from the host side.
 *
 * Register reference: PC16550D datasheet, section 8.
 */
#include "libqtest.h"
#include <string.h>
#include <unistd.h>

#define COM1 0x3f8
#define COM2 0x2f8
#define COM1_IRQ 4
#define COM2_IRQ 3

enum {
    RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2,
    LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7,
};

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08

#define IIR_NONE 0x01
#define IIR_MSI  0x00
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_RLSI 0x06
#define IIR_CTI  0x0c
#define IIR_FIFO 0xc0

#define FCR_FE   0x01
#define FCR_RFR  0x02
#define FCR_XFR  0x04

#define LCR_8N1  0x03
#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

/* One COM1 with nothing behind it, interrupts intercepted. */
static QTestState *start(void)
{
    QTestState *s = qtest_init("-serial null");

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static uint8_t rd(QTestState *s, unsigned reg)
{
    return qtest_inb(s, COM1 + reg);
}

static void wr(QTestState *s, unsigned reg, uint8_t val)
{
    qtest_outb(s, COM1 + reg, val);
}

static bool irq(QTestState *s)
{
    return qtest_get_irq(s, COM1_IRQ);
}

static void loopback_on(QTestState *s)
{
    wr(s, MCR, MCR_LOOP | MCR_OUT2);
}

static void drain(QTestState *s)
{
    for (int i = 0; i < 32 && (rd(s, LSR) & LSR_DR); i++) {
        rd(s, RBR);
    }
    g_assert(!(rd(s, LSR) & LSR_DR));
}

static void test_reset_values(void)
{
    QTestState *s = start();

    g_assert_cmphex(rd(s, IER), ==, 0);
    g_assert_cmphex(rd(s, IIR), ==, IIR_NONE);
    g_assert_cmphex(rd(s, LCR), ==, 0);
    g_assert_cmphex(rd(s, MCR), ==, MCR_OUT2);
    g_assert_cmphex(rd(s, LSR), ==, LSR_THRE | LSR_TEMT);
    /* Not in loopback the modem inputs read as a connected, ready peer. */
    g_assert_cmphex(rd(s, MSR), ==, MSR_DCD | MSR_DSR | MSR_CTS);
    g_assert_cmphex(rd(s, SCR), ==, 0);
    g_assert_cmphex(rd(s, RBR), ==, 0);
    g_assert(!irq(s));
    /* The power-on divisor is 12 (9600 baud). */
    wr(s, LCR, LCR_DLAB);
    g_assert_cmphex(rd(s, DLL), ==, 12);
    g_assert_cmphex(rd(s, DLM), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_scratch(void)
{
    QTestState *s = start();
    static const uint8_t vals[] = { 0x00, 0xff, 0x55, 0xaa, 0x01, 0x80 };

    for (unsigned i = 0; i < sizeof(vals); i++) {
        wr(s, SCR, vals[i]);
        g_assert_cmphex(rd(s, SCR), ==, vals[i]);
    }
    /* DLAB does not hide the scratch register. */
    wr(s, LCR, LCR_DLAB);
    wr(s, SCR, 0x3c);
    g_assert_cmphex(rd(s, SCR), ==, 0x3c);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_lcr(void)
{
    QTestState *s = start();

    for (unsigned v = 0; v < 0x80; v += 0x0b) {
        wr(s, LCR, v);
        g_assert_cmphex(rd(s, LCR), ==, v);
    }
    wr(s, LCR, 0xff);
    g_assert_cmphex(rd(s, LCR), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_divisor_latch(void)
{
    QTestState *s = start();

    wr(s, IER, IER_MSI);
    wr(s, LCR, LCR_DLAB | LCR_8N1);
    wr(s, DLL, 0x34);
    wr(s, DLM, 0x12);
    g_assert_cmphex(rd(s, DLL), ==, 0x34);
    g_assert_cmphex(rd(s, DLM), ==, 0x12);
    /* With DLAB set, writes to offsets 0/1 reach neither THR nor IER. */
    g_assert_cmphex(rd(s, LSR), ==, LSR_THRE | LSR_TEMT);
    wr(s, LCR, LCR_8N1);
    g_assert_cmphex(rd(s, IER), ==, IER_MSI);
    g_assert_cmphex(rd(s, RBR), ==, 0);
    /* And back: the latch kept its value. */
    wr(s, LCR, LCR_DLAB);
    g_assert_cmphex(rd(s, DLL), ==, 0x34);
    g_assert_cmphex(rd(s, DLM), ==, 0x12);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_ier_mask(void)
{
    QTestState *s = start();

    wr(s, IER, 0xff);
    g_assert_cmphex(rd(s, IER), ==, 0x0f);
    wr(s, IER, 0x05);
    g_assert_cmphex(rd(s, IER), ==, 0x05);
    wr(s, IER, 0);
    g_assert_cmphex(rd(s, IER), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* THRE interrupt: raised on enable and after each byte, cleared by IIR. */
static void test_thre_interrupt(void)
{
    QTestState *s = start();

    g_assert(!irq(s));
    wr(s, IER, IER_THRI);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_THRI);   /* this read clears it */
    g_assert(!irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_NONE);

    wr(s, THR, 'x');
    g_assert(irq(s));
    g_assert_cmphex(rd(s, LSR), ==, LSR_THRE | LSR_TEMT);
    /* Writing THR also acknowledges the old THRE condition first. */
    wr(s, THR, 'y');
    g_assert(irq(s));
    /* Disabling the source drops the line, re-enabling raises it again. */
    wr(s, IER, 0);
    g_assert(!irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_NONE);
    wr(s, IER, IER_THRI);
    g_assert(irq(s));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * All four sources pending at once: IIR reports them in priority order
 * (line status > received data > THR empty > modem status) and each is
 * cleared by its own action.
 */
static void test_iir_priorities(void)
{
    QTestState *s = start();

    /* Loopback with RTS only: DSR and DCD drop, which sets DDSR, DDCD. */
    wr(s, MCR, MCR_LOOP | MCR_RTS);
    wr(s, THR, 'a');
    wr(s, THR, 'b');        /* no FIFO: 'b' overruns the holding register */
    g_assert(!irq(s));
    wr(s, IER, IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
    g_assert(irq(s));

    g_assert_cmphex(rd(s, IIR), ==, IIR_RLSI);
    g_assert_cmphex(rd(s, LSR), ==, LSR_TEMT | LSR_THRE | LSR_OE | LSR_DR);
    g_assert_cmphex(rd(s, IIR), ==, IIR_RDI);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, RBR), ==, 'a');       /* the first byte survived */
    g_assert_cmphex(rd(s, IIR), ==, IIR_THRI);  /* ... and clears THRE */
    g_assert_cmphex(rd(s, IIR), ==, IIR_MSI);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, MSR), ==, MSR_CTS | MSR_DDSR | MSR_DDCD);
    g_assert_cmphex(rd(s, IIR), ==, IIR_NONE);
    g_assert(!irq(s));
    g_assert_cmphex(rd(s, LSR), ==, LSR_TEMT | LSR_THRE);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Sources masked in IER never show in IIR nor raise the line. */
static void test_masked_sources(void)
{
    QTestState *s = start();

    loopback_on(s);
    wr(s, THR, 1);
    wr(s, THR, 2);          /* overrun */
    wr(s, MCR, MCR_LOOP | MCR_DTR);
    wr(s, IER, IER_MSI);
    g_assert_cmphex(rd(s, IIR), ==, IIR_MSI);
    wr(s, IER, IER_RDI);
    g_assert_cmphex(rd(s, IIR), ==, IIR_RDI);
    wr(s, IER, IER_RLSI);
    g_assert_cmphex(rd(s, IIR), ==, IIR_RLSI);
    wr(s, IER, 0);
    g_assert_cmphex(rd(s, IIR), ==, IIR_NONE);
    g_assert(!irq(s));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (MCR bit 4). */
static void test_loopback_msr(void)
{
    static const struct {
        uint8_t mcr, msr;
    } wiring[] = {
        { 0, 0 },
        { MCR_DTR, MSR_DSR },
        { MCR_RTS, MSR_CTS },
        { MCR_OUT1, MSR_RI },
        { MCR_OUT2, MSR_DCD },
        { MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2,
          MSR_DSR | MSR_CTS | MSR_RI | MSR_DCD },
    };
    QTestState *s = start();

    wr(s, MCR, MCR_LOOP);
    rd(s, MSR);             /* clear the deltas of entering loopback */
    for (unsigned i = 0; i < G_N_ELEMENTS(wiring); i++) {
        wr(s, MCR, MCR_LOOP | wiring[i].mcr);
        rd(s, MSR);
        g_assert_cmphex(rd(s, MSR), ==, wiring[i].msr);
        g_assert_cmphex(rd(s, MCR), ==, MCR_LOOP | wiring[i].mcr);
    }
    /* MCR keeps its low five bits only. */
    wr(s, MCR, 0xff);
    g_assert_cmphex(rd(s, MCR), ==, 0x1f);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Delta bits: set on change, cleared by reading MSR; TERI on RI's fall. */
static void test_msr_deltas(void)
{
    QTestState *s = start();

    wr(s, MCR, MCR_LOOP);
    rd(s, MSR);
    g_assert_cmphex(rd(s, MSR), ==, 0);

    wr(s, MCR, MCR_LOOP | MCR_RTS);
    g_assert_cmphex(rd(s, MSR), ==, MSR_CTS | MSR_DCTS);
    g_assert_cmphex(rd(s, MSR), ==, MSR_CTS);
    wr(s, MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT2);
    g_assert_cmphex(rd(s, MSR), ==,
                    MSR_CTS | MSR_DSR | MSR_DCD | MSR_DDSR | MSR_DDCD);
    /* RI rising sets nothing, falling sets TERI. */
    wr(s, MCR, MCR_LOOP | MCR_OUT1);
    g_assert_cmphex(rd(s, MSR), ==,
                    MSR_RI | MSR_DCTS | MSR_DDSR | MSR_DDCD);
    wr(s, MCR, MCR_LOOP);
    g_assert_cmphex(rd(s, MSR), ==, MSR_TERI);
    g_assert_cmphex(rd(s, MSR), ==, 0);

    /* A modem status interrupt while a delta is pending. */
    wr(s, IER, IER_MSI);
    g_assert(!irq(s));
    wr(s, MCR, MCR_LOOP | MCR_DTR);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_MSI);
    rd(s, MSR);
    g_assert(!irq(s));
    /* Leaving loopback: back to the idle peer's DCD/DSR/CTS. */
    wr(s, MCR, MCR_OUT2);
    g_assert_cmphex(rd(s, MSR) & 0xf0, ==, MSR_DCD | MSR_DSR | MSR_CTS);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Loopback data: what goes out comes back in, one byte deep without FIFO. */
static void test_loopback_data(void)
{
    QTestState *s = start();

    loopback_on(s);
    for (unsigned v = 0; v < 0x100; v += 0x33) {
        wr(s, THR, v);
        g_assert_cmphex(rd(s, LSR), ==, LSR_TEMT | LSR_THRE | LSR_DR);
        g_assert_cmphex(rd(s, RBR), ==, v);
        g_assert_cmphex(rd(s, LSR), ==, LSR_TEMT | LSR_THRE);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Overrun: the new byte is lost, OE is set until LSR is read. */
static void test_overrun(void)
{
    QTestState *s = start();

    loopback_on(s);
    wr(s, IER, IER_RLSI);
    wr(s, THR, 0x11);
    g_assert(!irq(s));
    wr(s, THR, 0x22);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_RLSI);
    g_assert_cmphex(rd(s, LSR) & (LSR_OE | LSR_DR), ==, LSR_OE | LSR_DR);
    g_assert(!irq(s));
    g_assert_cmphex(rd(s, LSR) & LSR_OE, ==, 0);
    g_assert_cmphex(rd(s, RBR), ==, 0x11);
    g_assert_cmphex(rd(s, LSR) & LSR_DR, ==, 0);

    /* With the FIFO the 17th byte overruns. */
    wr(s, FCR, FCR_FE);
    for (unsigned i = 0; i < 16; i++) {
        wr(s, THR, 0x40 + i);
    }
    g_assert(!(rd(s, LSR) & LSR_OE));
    wr(s, THR, 0x99);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, LSR) & LSR_OE, ==, LSR_OE);
    for (unsigned i = 0; i < 16; i++) {
        g_assert_cmphex(rd(s, RBR), ==, 0x40 + i);
    }
    g_assert_cmphex(rd(s, LSR) & LSR_DR, ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* FCR: FIFO enable shows in IIR bits 7:6; RFR and toggling FE clear RX. */
static void test_fifo_control(void)
{
    QTestState *s = start();

    wr(s, FCR, FCR_FE);
    g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_NONE);
    wr(s, FCR, 0);
    g_assert_cmphex(rd(s, IIR), ==, IIR_NONE);

    loopback_on(s);
    wr(s, FCR, FCR_FE);
    for (unsigned i = 0; i < 5; i++) {
        wr(s, THR, i);
    }
    g_assert(rd(s, LSR) & LSR_DR);
    /* Clearing the transmit FIFO leaves received data alone. */
    wr(s, FCR, FCR_FE | FCR_XFR);
    g_assert(rd(s, LSR) & LSR_DR);
    g_assert_cmphex(rd(s, RBR), ==, 0);
    wr(s, FCR, FCR_FE | FCR_RFR);
    g_assert_cmphex(rd(s, LSR), ==, LSR_TEMT | LSR_THRE);
    /* The reset bits are self-clearing: the FIFO keeps working. */
    wr(s, THR, 0x77);
    g_assert_cmphex(rd(s, RBR), ==, 0x77);

    wr(s, THR, 1);
    wr(s, THR, 2);
    wr(s, FCR, 0);          /* leaving FIFO mode clears both FIFOs */
    g_assert_cmphex(rd(s, LSR) & LSR_DR, ==, 0);
    wr(s, THR, 3);
    wr(s, FCR, FCR_FE);     /* ... and so does entering it */
    g_assert_cmphex(rd(s, LSR) & LSR_DR, ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The received-data interrupt waits for the trigger level (1/4/8/14). */
static void test_trigger_levels(void)
{
    static const unsigned levels[] = { 1, 4, 8, 14 };
    QTestState *s = start();

    loopback_on(s);
    wr(s, IER, IER_RDI);
    for (unsigned i = 0; i < G_N_ELEMENTS(levels); i++) {
        wr(s, FCR, FCR_FE | FCR_RFR | (i << 6));
        for (unsigned n = 1; n < levels[i]; n++) {
            wr(s, THR, n);
            g_assert(!irq(s));
            g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_NONE);
        }
        wr(s, THR, 0xee);
        g_assert(irq(s));
        g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_RDI);
        /* One byte fewer than the level: the interrupt goes away. */
        rd(s, RBR);
        if (levels[i] > 1) {
            g_assert(!irq(s));
        }
        drain(s);
        g_assert(!irq(s));
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * Character timeout: data below the trigger level that nobody reads for
 * four character times raises IIR 0xc (datasheet 8.4).  At 9600 baud
 * (divisor 12) and 8N1, one character is 10 bits = 1041666 ns.
 */
static void test_character_timeout(void)
{
    const int64_t char_ns = 10LL * 12 * 1000000000LL / 115200;
    QTestState *s = start();
    int64_t t0;

    wr(s, LCR, LCR_8N1);
    loopback_on(s);
    wr(s, FCR, FCR_FE | 0xc0);      /* trigger level 14 */
    wr(s, IER, IER_RDI);
    t0 = qtest_clock_step(s, 0);
    wr(s, THR, 'a');
    wr(s, THR, 'b');
    wr(s, THR, 'c');
    g_assert(!irq(s));

    g_assert_cmpint(qtest_clock_step(s, 4 * char_ns - 1), ==,
                    t0 + 4 * char_ns - 1);
    g_assert(!irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_NONE);
    g_assert_cmpint(qtest_clock_step(s, 1), ==, t0 + 4 * char_ns);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_CTI);

    /* Reading a byte acknowledges it and restarts the timer. */
    g_assert_cmphex(rd(s, RBR), ==, 'a');
    g_assert(!irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_NONE);
    t0 = qtest_clock_step(s, 0);
    g_assert_cmpint(qtest_clock_step_next(s), ==, t0 + 4 * char_ns);
    g_assert(irq(s));
    g_assert_cmphex(rd(s, IIR), ==, IIR_FIFO | IIR_CTI);

    /* Once the FIFO is empty no timeout is pending. */
    g_assert_cmphex(rd(s, RBR), ==, 'b');
    g_assert_cmphex(rd(s, RBR), ==, 'c');
    g_assert(!irq(s));
    t0 = qtest_clock_step(s, 0);
    g_assert_cmpint(qtest_clock_step(s, 100 * char_ns), ==,
                    t0 + 100 * char_ns);
    g_assert(!irq(s));
    g_assert_cmpint(qtest_clock_step_next(s), ==, t0 + 100 * char_ns);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The timeout scales with the programmed rate and frame. */
static void test_timeout_follows_baud_rate(void)
{
    QTestState *s = start();
    int64_t t0, want;

    wr(s, LCR, LCR_DLAB);
    wr(s, DLL, 1);          /* 115200 baud */
    wr(s, DLM, 0);
    wr(s, LCR, 0x07);       /* 8 data bits, 2 stop bits: 11 bits */
    loopback_on(s);
    wr(s, FCR, FCR_FE | 0xc0);
    wr(s, IER, IER_RDI);
    t0 = qtest_clock_step(s, 0);
    wr(s, THR, 'z');
    want = t0 + 4 * (11LL * 1000000000LL / 115200);
    g_assert_cmpint(qtest_clock_step_next(s), ==, want);
    g_assert(irq(s));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Bytes written to THR outside loopback reach the chardev, in order. */
static void test_transmit_to_host(void)
{
    g_autofree char *out = NULL;
    g_autofree char *text = NULL;
    int fd = g_file_open_tmp("kvmpc-serial-out-XXXXXX", &out, NULL);
    QTestState *s;
    const char *msg = "Hello, UART\r\n";

    g_assert(fd >= 0);
    close(fd);
    s = qtest_initf("-chardev file,id=c0,path=%s -serial chardev:c0", out);
    for (const char *p = msg; *p; p++) {
        wr(s, THR, *p);
    }
    /* In loopback nothing goes out. */
    loopback_on(s);
    wr(s, THR, '!');
    wr(s, MCR, MCR_OUT2);
    g_assert(g_file_get_contents(out, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, msg);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    unlink(out);
}

/* Read one byte from the host side, polling LSR.DR (it arrives async). */
static uint8_t receive_byte(QTestState *s)
{
    for (int i = 0; i < 10000; i++) {
        if (rd(s, LSR) & LSR_DR) {
            return rd(s, RBR);
        }
        g_usleep(100);
    }
    g_error("no byte from the host side");
}

/* Bytes from the chardev: flow-controlled, nothing lost without FIFO. */
static void test_receive_from_host(void)
{
    const char *msg = "The quick brown fox jumps over the lazy dog";
    g_autofree char *in = NULL;
    int fd = g_file_open_tmp("kvmpc-serial-in-XXXXXX", &in, NULL);
    QTestState *s;

    g_assert(fd >= 0);
    g_assert(write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg));
    close(fd);
    s = qtest_initf("-chardev file,id=c0,path=/dev/null,in=%s "
                    "-serial chardev:c0", in);
    wr(s, IER, IER_RDI);
    for (const char *p = msg; *p; p++) {
        g_assert_cmphex(receive_byte(s), ==, (uint8_t)*p);
    }
    g_assert(!(rd(s, LSR) & LSR_OE));
    g_assert(!irq(s));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    unlink(in);
}

/* COM2 sits at 0x2f8 on IRQ 3. */
static void test_second_port(void)
{
    QTestState *s = qtest_init("-serial null -serial null");

    qtest_irq_intercept_in(s, "ioapic");
    qtest_outb(s, COM2 + SCR, 0x42);
    g_assert_cmphex(qtest_inb(s, COM2 + SCR), ==, 0x42);
    g_assert_cmphex(qtest_inb(s, COM1 + SCR), ==, 0);
    qtest_outb(s, COM2 + IER, IER_THRI);
    g_assert(qtest_get_irq(s, COM2_IRQ));
    g_assert(!qtest_get_irq(s, COM1_IRQ));
    qtest_outb(s, COM2 + IER, 0);
    g_assert(!qtest_get_irq(s, COM2_IRQ));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* -nodefaults and no -serial: no UART at all. */
static void test_absent(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(qtest_inb(s, COM1 + LSR), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/isa-serial/reset-values", test_reset_values);
    g_test_add_func("/isa-serial/scratch", test_scratch);
    g_test_add_func("/isa-serial/lcr", test_lcr);
    g_test_add_func("/isa-serial/divisor-latch", test_divisor_latch);
    g_test_add_func("/isa-serial/ier-mask", test_ier_mask);
    g_test_add_func("/isa-serial/thre-interrupt", test_thre_interrupt);
    g_test_add_func("/isa-serial/iir-priorities", test_iir_priorities);
    g_test_add_func("/isa-serial/masked-sources", test_masked_sources);
    g_test_add_func("/isa-serial/loopback-msr", test_loopback_msr);
    g_test_add_func("/isa-serial/msr-deltas", test_msr_deltas);
    g_test_add_func("/isa-serial/loopback-data", test_loopback_data);
    g_test_add_func("/isa-serial/overrun", test_overrun);
    g_test_add_func("/isa-serial/fifo-control", test_fifo_control);
    g_test_add_func("/isa-serial/trigger-levels", test_trigger_levels);
    g_test_add_func("/isa-serial/character-timeout", test_character_timeout);
    g_test_add_func("/isa-serial/timeout-follows-baud-rate",
                    test_timeout_follows_baud_rate);
    g_test_add_func("/isa-serial/transmit-to-host", test_transmit_to_host);
    g_test_add_func("/isa-serial/receive-from-host", test_receive_from_host);
    g_test_add_func("/isa-serial/second-port", test_second_port);
    g_test_add_func("/isa-serial/absent", test_absent);
    return g_test_run();
}
