/*
 * 16550A UART with 16-byte FIFOs, as an ISA device.
 *
 * Spec: National Semiconductor / TI "PC16550D Universal Asynchronous
 * Receiver/Transmitter with FIFOs" datasheet, section 8 (Registers).
 *
 * Transmission is immediate: a byte written to THR goes to the chardev at
 * once and THR/TSR are empty again (no baud-rate timing), which is what
 * guests polling LSR expect and what QEMU does.  The receive FIFO honours
 * the trigger level and the character-timeout interrupt (4 character times
 * at the programmed rate, on the virtual clock).
 *
 * The interrupt line is not gated by MCR.OUT2: real PCs gate it on the
 * board, but QEMU does not, and guests written against QEMU rely on that.
 */
#include "qemu/osdep.h"
#include "hw/char/serial.h"
#include "chardev/char.h"
#include "system/timer.h"

#define UART_RBR 0   /* receive buffer (read, DLAB=0) */
#define UART_THR 0   /* transmit holding (write, DLAB=0) */
#define UART_DLL 0   /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1   /* divisor latch high (DLAB=1) */
#define UART_IIR 2   /* read */
#define UART_FCR 2   /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01  /* received data available */
#define UART_IER_THRI 0x02  /* THR empty */
#define UART_IER_RLSI 0x04  /* receiver line status */
#define UART_IER_MSI  0x08  /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_CTI    0x0c  /* character timeout */
#define UART_IIR_FE     0xc0  /* FIFOs enabled */

#define UART_FCR_FE     0x01
#define UART_FCR_RFR    0x02  /* clear receive FIFO */
#define UART_FCR_XFR    0x04  /* clear transmit FIFO */
#define UART_FCR_ITL_SHIFT 6

#define UART_LCR_DLAB   0x80
#define UART_LCR_BREAK  0x40

#define UART_MCR_DTR    0x01
#define UART_MCR_RTS    0x02
#define UART_MCR_OUT1   0x04
#define UART_MCR_OUT2   0x08
#define UART_MCR_LOOP   0x10

#define UART_LSR_DR     0x01
#define UART_LSR_OE     0x02
#define UART_LSR_PE     0x04
#define UART_LSR_FE     0x08
#define UART_LSR_BI     0x10
#define UART_LSR_THRE   0x20
#define UART_LSR_TEMT   0x40
#define UART_LSR_ERR_IN_FIFO 0x80
#define UART_LSR_INT_ANY (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS   0x01
#define UART_MSR_DDSR   0x02
#define UART_MSR_TERI   0x04
#define UART_MSR_DDCD   0x08
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80
#define UART_MSR_DELTAS 0x0f

#define UART_FIFO_SIZE  16
#define UART_CLOCK_HZ   115200   /* divisor 1 = 115200 baud */

typedef struct SerialState {
    ISADevice parent;

    /* properties */
    uint32_t index;
    uint32_t iobase;
    uint32_t irq_num;
    Chardev *chr;

    /* registers */
    uint16_t divider;
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
    bool thr_ipending;          /* THRE interrupt armed until IIR read */
    bool timeout_ipending;
    uint8_t rx_fifo[UART_FIFO_SIZE];
    uint32_t rx_head, rx_count;

    QEMUTimer *timeout_timer;
    MemoryRegion io;
    qemu_irq irq;
} SerialState;

static bool fifo_enabled(const SerialState *s)
{
    return s->fcr & UART_FCR_FE;
}

static unsigned rx_trigger_level(const SerialState *s)
{
    static const unsigned levels[] = { 1, 4, 8, 14 };
    return levels[s->fcr >> UART_FCR_ITL_SHIFT];
}

/* One character (start + data + parity + stop bits) at the current rate. */
static int64_t char_time_ns(const SerialState *s)
{
    unsigned bits = 1 + 5 + (s->lcr & 3) + ((s->lcr & 0x08) ? 1 : 0) +
                    ((s->lcr & 0x04) ? 2 : 1);
    unsigned div = s->divider ? s->divider : 1;
    return (int64_t)bits * div * NANOSECONDS_PER_SECOND / UART_CLOCK_HZ;
}

static void serial_update_irq(SerialState *s)
{
    uint8_t iir = UART_IIR_NO_INT;

    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY)) {
        iir = UART_IIR_RLSI;
    } else if ((s->ier & UART_IER_RDI) && s->timeout_ipending) {
        iir = UART_IIR_CTI;
    } else if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR) &&
               (!fifo_enabled(s) || s->rx_count >= rx_trigger_level(s))) {
        iir = UART_IIR_RDI;
    } else if ((s->ier & UART_IER_THRI) && s->thr_ipending) {
        iir = UART_IIR_THRI;
    } else if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTAS)) {
        iir = UART_IIR_MSI;
    }
    s->iir = iir | (fifo_enabled(s) ? UART_IIR_FE : 0);
    qemu_set_irq(s->irq, iir != UART_IIR_NO_INT);
}

static void rx_timeout_rearm(SerialState *s)
{
    if (fifo_enabled(s) && s->rx_count) {
        timer_mod(s->timeout_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  4 * char_time_ns(s));
    } else {
        timer_del(s->timeout_timer);
    }
}

static void rx_timeout_expired(void *opaque)
{
    SerialState *s = opaque;

    if (s->rx_count) {
        s->timeout_ipending = true;
        serial_update_irq(s);
    }
}

static void rx_push(SerialState *s, uint8_t byte)
{
    unsigned cap = fifo_enabled(s) ? UART_FIFO_SIZE : 1;

    if (s->rx_count >= cap) {
        s->lsr |= UART_LSR_OE;   /* the new byte is lost */
    } else {
        s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = byte;
        s->rx_count++;
    }
    s->lsr |= UART_LSR_DR;
    s->timeout_ipending = false;
    rx_timeout_rearm(s);
    serial_update_irq(s);
}

static uint8_t rx_pop(SerialState *s)
{
    uint8_t byte = 0;

    if (s->rx_count) {
        byte = s->rx_fifo[s->rx_head];
        s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
        s->rx_count--;
    }
    if (!s->rx_count) {
        s->lsr &= ~(UART_LSR_DR | UART_LSR_ERR_IN_FIFO);
    }
    s->timeout_ipending = false;
    rx_timeout_rearm(s);
    return byte;
}

static void rx_clear(SerialState *s)
{
    s->rx_head = s->rx_count = 0;
    s->lsr &= ~(UART_LSR_DR | UART_LSR_ERR_IN_FIFO);
    s->timeout_ipending = false;
    timer_del(s->timeout_timer);
}

static void transmit(SerialState *s, uint8_t byte)
{
    if (s->mcr & UART_MCR_LOOP) {
        rx_push(s, byte);
    } else if (s->chr) {
        qemu_chr_write_all(s->chr, &byte, 1);
    }
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = true;
    serial_update_irq(s);
}

/* Loopback wires MCR outputs to MSR inputs (datasheet 8.6.3, bit 4). */
static uint8_t modem_inputs(const SerialState *s)
{
    if (s->mcr & UART_MCR_LOOP) {
        return ((s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
               ((s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
               ((s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
               ((s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0);
    }
    return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
}

static void update_msr(SerialState *s)
{
    uint8_t old = s->msr, now = modem_inputs(s);
    uint8_t delta = 0;

    if ((old ^ now) & UART_MSR_CTS) {
        delta |= UART_MSR_DCTS;
    }
    if ((old ^ now) & UART_MSR_DSR) {
        delta |= UART_MSR_DDSR;
    }
    if ((old & UART_MSR_RI) && !(now & UART_MSR_RI)) {
        delta |= UART_MSR_TERI;
    }
    if ((old ^ now) & UART_MSR_DCD) {
        delta |= UART_MSR_DDCD;
    }
    s->msr = now | (old & UART_MSR_DELTAS) | delta;
    serial_update_irq(s);
}

static void write_fcr(SerialState *s, uint8_t val)
{
    bool was_enabled = fifo_enabled(s);

    if ((val & UART_FCR_FE) != was_enabled) {
        /* Toggling FIFO mode clears both FIFOs (datasheet 8.4). */
        val |= UART_FCR_RFR | UART_FCR_XFR;
    }
    if (val & UART_FCR_RFR) {
        rx_clear(s);
    }
    s->fcr = val & 0xc1;
    serial_update_irq(s);
    if (s->chr) {
        qemu_chr_fe_accept_input(s->chr);
    }
}

static uint64_t serial_read(void *opaque, uint64_t addr, unsigned size)
{
    SerialState *s = opaque;
    uint8_t ret;

    switch (addr & 7) {
    case UART_RBR:
        if (s->lcr & UART_LCR_DLAB) {
            return s->divider & 0xff;
        }
        ret = rx_pop(s);
        serial_update_irq(s);
        if (s->chr && !(s->mcr & UART_MCR_LOOP)) {
            qemu_chr_fe_accept_input(s->chr);
        }
        return ret;
    case UART_IER:
        return (s->lcr & UART_LCR_DLAB) ? s->divider >> 8 : s->ier;
    case UART_IIR:
        ret = s->iir;
        if ((ret & 0x0f) == UART_IIR_THRI) {
            s->thr_ipending = false;   /* reading IIR clears THRE source */
            serial_update_irq(s);
        }
        return ret;
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        ret = s->lsr;
        s->lsr &= ~(UART_LSR_INT_ANY);
        serial_update_irq(s);
        return ret;
    case UART_MSR:
        ret = s->msr;
        s->msr &= ~UART_MSR_DELTAS;
        serial_update_irq(s);
        return ret;
    default:
        return s->scr;
    }
}

static void serial_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    SerialState *s = opaque;

    switch (addr & 7) {
    case UART_THR:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | (val & 0xff);
            return;
        }
        /*
         * Writing THR clears the THRE interrupt; drop the line before the
         * (instant) transmission raises it again, so edge-triggered
         * interrupt controllers see a new edge for every byte.
         */
        s->thr_ipending = false;
        s->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
        serial_update_irq(s);
        transmit(s, val);
        return;
    case UART_IER:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | ((val & 0xff) << 8);
            return;
        }
        /* Enabling THRI while THR is empty raises it at once. */
        if (!(s->ier & UART_IER_THRI) && (val & UART_IER_THRI) &&
            (s->lsr & UART_LSR_THRE)) {
            s->thr_ipending = true;
        }
        s->ier = val & 0x0f;
        serial_update_irq(s);
        return;
    case UART_FCR:
        write_fcr(s, val);
        return;
    case UART_LCR:
        s->lcr = val;
        return;
    case UART_MCR:
        s->mcr = val & 0x1f;
        update_msr(s);
        return;
    case UART_LSR:
    case UART_MSR:
        return;   /* read-only (factory test only) */
    default:
        s->scr = val;
        return;
    }
}

static const MemoryRegionOps serial_ops = {
    .read = serial_read,
    .write = serial_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static int serial_can_receive(void *opaque)
{
    SerialState *s = opaque;

    if (s->mcr & UART_MCR_LOOP) {
        return 0;
    }
    if (fifo_enabled(s)) {
        return UART_FIFO_SIZE - s->rx_count;
    }
    return s->rx_count ? 0 : 1;
}

static void serial_receive(void *opaque, const uint8_t *buf, int len)
{
    SerialState *s = opaque;

    for (int i = 0; i < len; i++) {
        rx_push(s, buf[i]);
    }
}

static void serial_event(void *opaque, ChrEvent event)
{
    SerialState *s = opaque;

    if (event == CHR_EVENT_BREAK) {
        s->lsr |= UART_LSR_BI | UART_LSR_DR;
        serial_update_irq(s);
    }
}

static const uint16_t isa_serial_iobase[SERIAL_MAX_ISA_PORTS] = {
    0x3f8, 0x2f8, 0x3e8, 0x2e8,
};
static const uint8_t isa_serial_irq[SERIAL_MAX_ISA_PORTS] = { 4, 3, 4, 3 };

static bool serial_realize(DeviceState *dev, GError **errp)
{
    SerialState *s = (SerialState *)dev;

    if (s->index >= SERIAL_MAX_ISA_PORTS) {
        error_setg(errp, "Max. supported number of ISA serial ports is %d",
                   SERIAL_MAX_ISA_PORTS);
        return false;
    }
    if (s->iobase == UINT32_MAX) {
        s->iobase = isa_serial_iobase[s->index];
    }
    if (s->irq_num == UINT32_MAX) {
        s->irq_num = isa_serial_irq[s->index];
    }
    if (s->irq_num >= 16 || s->iobase > 0xfff8) {
        error_setg(errp, "isa-serial: iobase 0x%x or irq %u out of range",
                   s->iobase, s->irq_num);
        return false;
    }
    s->irq = isa_get_irq(s->irq_num);
    s->timeout_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, rx_timeout_expired, s);
    memory_region_init_io(&s->io, &serial_ops, s, "serial", 8);
    isa_register_ioport(&s->parent, &s->io, s->iobase);
    if (s->chr) {
        qemu_chr_fe_set_handlers(s->chr, serial_can_receive, serial_receive,
                                 serial_event, s);
    }
    return true;
}

static void serial_unrealize(DeviceState *dev)
{
    SerialState *s = (SerialState *)dev;

    if (s->chr) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL, s);
    }
    memory_region_destroy(&s->io);
    timer_free(s->timeout_timer);
}

static void serial_reset(DeviceState *dev)
{
    SerialState *s = (SerialState *)dev;

    s->divider = 12;   /* 9600 baud, a common power-on value */
    s->ier = 0;
    s->lcr = 0;
    s->mcr = UART_MCR_OUT2;
    s->lsr = UART_LSR_TEMT | UART_LSR_THRE;
    s->msr = modem_inputs(s);
    s->scr = 0;
    s->fcr = 0;
    s->thr_ipending = false;
    rx_clear(s);
    serial_update_irq(s);
}

static int serial_post_load(void *opaque, int version_id)
{
    SerialState *s = opaque;

    if (s->rx_head >= UART_FIFO_SIZE || s->rx_count > UART_FIFO_SIZE) {
        return -1;
    }
    serial_update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = serial_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, SerialState),
        VMSTATE_UINT8(ier, SerialState),
        VMSTATE_UINT8(iir, SerialState),
        VMSTATE_UINT8(lcr, SerialState),
        VMSTATE_UINT8(mcr, SerialState),
        VMSTATE_UINT8(lsr, SerialState),
        VMSTATE_UINT8(msr, SerialState),
        VMSTATE_UINT8(scr, SerialState),
        VMSTATE_UINT8(fcr, SerialState),
        VMSTATE_BOOL(thr_ipending, SerialState),
        VMSTATE_BOOL(timeout_ipending, SerialState),
        VMSTATE_UINT8_ARRAY(rx_fifo, SerialState, UART_FIFO_SIZE),
        VMSTATE_UINT32(rx_head, SerialState),
        VMSTATE_UINT32(rx_count, SerialState),
        VMSTATE_TIMER_PTR(timeout_timer, SerialState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property serial_props[] = {
    DEFINE_PROP("index", SerialState, index, PROP_UINT32, "0",
                "COM port number - 1 (sets default iobase/irq)"),
    DEFINE_PROP("iobase", SerialState, iobase, PROP_UINT32, "0xffffffff",
                "I/O port base (default from index)"),
    DEFINE_PROP("irq", SerialState, irq_num, PROP_UINT32, "0xffffffff",
                "ISA IRQ (default from index)"),
    DEFINE_PROP("chardev", SerialState, chr, PROP_CHARDEV, NULL,
                "ID of a chardev to use as a backend"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType isa_serial_type = {
    .name = TYPE_ISA_SERIAL,
    .parent = TYPE_ISA_DEVICE,
    .desc = "16550A UART",
    .instance_size = sizeof(SerialState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_INPUT,
    .props = serial_props,
    .realize = serial_realize,
    .unrealize = serial_unrealize,
    .reset = serial_reset,
    .vmsd = &vmstate_serial,
};

DeviceState *serial_isa_create(unsigned index, Chardev *chr, GError **errp)
{
    DeviceState *dev = device_new(TYPE_ISA_SERIAL, errp);
    g_autofree char *idx = g_strdup_printf("%u", index);

    if (!dev) {
        return NULL;
    }
    device_set_prop(dev, "index", idx, NULL);
    if (chr) {
        device_set_prop(dev, "chardev", chr->id, NULL);
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

static void serial_register(void)
{
    device_type_register(&isa_serial_type);
}
type_init(serial_register)
