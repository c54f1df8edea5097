/*
 * Console on COM1 (16550A at 0x3f8): 115200 8N1, polled transmit.
 *
 * Every port access is a VM exit, so transmit fills the 16-byte FIFO
 * after each THRE instead of polling LSR for every byte.
 */
#include "guest.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LSR_THRE 0x20

static bool uart_fifo;
static bool uart_ready;
static volatile int console_lock;
static bool held;
static char hold_buf[16384];
static size_t hold_len;
static size_t hold_dropped;

void serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x80);        /* DLAB */
    outb(COM1 + UART_DLL, 0x01);        /* 115200 */
    outb(COM1 + UART_DLM, 0x00);
    outb(COM1 + UART_LCR, 0x03);        /* 8N1 */
    outb(COM1 + UART_FCR, 0xc7);        /* FIFO on, clear, 14-byte trigger */
    outb(COM1 + UART_MCR, 0x03);        /* DTR, RTS; OUT2 off: no IRQ */
    uart_fifo = (inb(COM1 + UART_IIR) & 0xc0) == 0xc0;
    uart_ready = true;
}

bool serial_has_fifo(void)
{
    return uart_fifo;
}

static void uart_write(const char *s, size_t len)
{
    while (len) {
        /* bounded wait: a missing UART must not hang the payload */
        for (unsigned spin = 0; !(inb(COM1 + UART_LSR) & LSR_THRE) && spin < 10000; spin++)
            cpu_relax();
        size_t n = uart_fifo ? 16 : 1;
        if (n > len)
            n = len;
        for (size_t i = 0; i < n; i++)
            outb(COM1 + UART_THR, (uint8_t)s[i]);
        s += n;
        len -= n;
    }
}

static void lock(void)
{
    while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
        cpu_relax();
}

static void unlock(void)
{
    __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void console_write(const char *s, size_t len)
{
    if (!uart_ready)
        serial_init();
    lock();
    if (held) {
        size_t room = sizeof(hold_buf) - hold_len;
        size_t n = len < room ? len : room;
        memcpy(hold_buf + hold_len, s, n);
        hold_len += n;
        hold_dropped += len - n;
    } else {
        uart_write(s, len);
    }
    unlock();
}

void console_hold(void)
{
    lock();
    held = true;
    unlock();
}

void console_release(void)
{
    if (!held)
        return;
    serial_init();
    lock();
    held = false;
    uart_write(hold_buf, hold_len);
    hold_len = 0;
    unlock();
    if (hold_dropped) {
        printf("(console: %lu bytes of held output dropped)\n", (unsigned long)hold_dropped);
        hold_dropped = 0;
    }
}

/* From the exception path: take the UART back whatever state it is in. */
void console_emergency(void)
{
    __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
    console_release();
    if (!uart_ready)
        serial_init();
}

/* A byte from COM1's receiver (polled: LSR Data Ready), or -1 when none
 * came within @timeout_us.  Runners that drive the guest over QMP send
 * one on the serial line to say "go on" (guesthost.py's tell()). */
int serial_getc(uint64_t timeout_us)
{
    if (!wait_until(inb(COM1 + UART_LSR) & 1, timeout_us))
        return -1;
    return inb(COM1 + UART_THR);        /* RBR: the same offset */
}
