/*
 * vmmouse: QEMU's absolute pointer behind the VMware backdoor (vmport
 * commands DATA 39, STATUS 40, COMMAND 41), as Xorg's vmmouse driver
 * drives it.  Protocol: xf86-input-vmmouse's vmmouse_proto.h; behaviour
 * as QEMU 7.2's hw/i386/vmmouse.c (this payload runs under both).
 *
 * Steps, with the host side in run-vmmouse-test.py:
 *   - STATUS before READ_ID: 0xffff0000 (disabled, nothing queued);
 *   - READ_ID queues the version 0x3442554a and enables; DATA(1) reads it;
 *     DATA with nothing queued is an error (status 0xffff again);
 *   - the PS/2 mouse streams (aux enabled, 0xf4), REQUEST_ABSOLUTE;
 *     "vmmouse: ready for events": the host presses a key (no packet: a
 *     report without pointer events is none), then sends three reports with
 *     input-send-event (abs x/y, left button, wheel down, its release);
 *     the guest reads four 4-word packets (x and y in 0..0xffff; the wheel
 *     step is a packet of its own before its report's, as QEMU's) and
 *     finds the PS/2 wake-up bytes on the aux port;
 *   - "vmmouse: ready for flood": the host sends 300 reports and a byte on
 *     COM1; the queue holds 1024 words (256 packets), the rest dropped;
 *   - DISABLE: status 0xffff, queue kept;
 *   - drained, READ_ID, REQUEST_RELATIVE, "vmmouse: ready for relative":
 *     the host sends a relative report (x +5, y -3, right button); the
 *     packet has the deltas as they are and no relative flag.
 */
#include "guest.h"

#define VMPORT_PORT     0x5658
#define VMPORT_MAGIC    0x564d5868u

#define CMD_DATA        39
#define CMD_STATUS      40
#define CMD_COMMAND     41

#define VMMOUSE_READ_ID         0x45414552u
#define VMMOUSE_DISABLE         0x000000f5u
#define VMMOUSE_REQUEST_ABSOLUTE 0x53424152u
#define VMMOUSE_REQUEST_RELATIVE 0x4c455252u
#define VMMOUSE_VERSION         0x3442554au

#define KBD_DATA        0x60
#define KBD_STATUS      0x64
#define KBD_STAT_OBF    0x01
#define KBD_STAT_IBF    0x02
#define KBD_STAT_AUX    0x20

typedef struct BdRegs {
    uint32_t eax, ebx, ecx, edx, esi, edi;
} BdRegs;

static BdRegs backdoor(uint32_t cmd, uint32_t ebx)
{
    BdRegs r = { VMPORT_MAGIC, ebx, cmd, VMPORT_PORT, 0x5151, 0xd1d1 };

    asm volatile("inl %%dx, %%eax"
                 : "+a"(r.eax), "+b"(r.ebx), "+c"(r.ecx), "+d"(r.edx),
                   "+S"(r.esi), "+D"(r.edi));
    return r;
}

static uint32_t status(void)
{
    return backdoor(CMD_STATUS, 0).eax;
}

static void kbd_wait_write(uint16_t port, uint8_t v)
{
    wait_until(!(inb(KBD_STATUS) & KBD_STAT_IBF), 100000);
    outb(port, v);
}

static int kbd_read(uint64_t timeout_us)
{
    if (!wait_until(inb(KBD_STATUS) & KBD_STAT_OBF, timeout_us)) {
        return -1;
    }
    return inb(KBD_DATA);
}

/* Keyboard port off (the host's keys stay in the keyboard), aux port on,
 * mouse streaming (0xd4 0xf4: the mouse ACKs 0xfa). */
static bool ps2_mouse_stream(void)
{
    kbd_wait_write(KBD_STATUS, 0xad);
    while (inb(KBD_STATUS) & KBD_STAT_OBF) {
        inb(KBD_DATA);
    }
    kbd_wait_write(KBD_STATUS, 0xa8);
    kbd_wait_write(KBD_STATUS, 0xd4);
    kbd_wait_write(KBD_DATA, 0xf4);
    return kbd_read(100000) == 0xfa;
}

static void check_packet(const char *what, uint32_t buttons, uint32_t x,
                         uint32_t y, uint32_t z)
{
    BdRegs r = backdoor(CMD_DATA, 4);

    report_info("%s: %08x %08x %08x %08x", what, r.eax, r.ebx, r.ecx, r.edx);
    report(r.eax == buttons && r.ebx == x && r.ecx == y && r.edx == z,
           "%s: buttons %x, x %x, y %x, z %x", what, buttons, x, y, z);
}

static void test_enable(void)
{
    BdRegs r;

    report(status() == 0xffff0000u, "STATUS before READ_ID: 0xffff0000");
    backdoor(CMD_COMMAND, VMMOUSE_READ_ID);
    report(status() == 1, "READ_ID: enabled, one word queued");
    r = backdoor(CMD_DATA, 1);
    report(r.eax == VMMOUSE_VERSION, "DATA(1): the version 0x%08x", r.eax);
    report(status() == 0, "queue empty after reading it");
    backdoor(CMD_DATA, 1);
    report(status() == 0xffff0000u, "DATA with nothing queued: error");
    backdoor(CMD_COMMAND, VMMOUSE_READ_ID);
    backdoor(CMD_DATA, 1);
    report(status() == 0, "READ_ID enables again");
}

static void test_events(void)
{
    int b0, b1, b2;

    report(ps2_mouse_stream(), "PS/2 mouse streaming");
    backdoor(CMD_COMMAND, VMMOUSE_REQUEST_ABSOLUTE);
    printf("vmmouse: ready for events\n");
    /* one packet per report, the wheel's release too, and one more for
     * the wheel step (before its report's) */
    bool queued = wait_until((status() & 0xffff) >= 16, 10000000);
    report(queued, "four packets queued (status %08x)", status());
    check_packet("packet 1", 0x20, 0x8000, 0x4000, 0);
    check_packet("wheel step", 0, 0xfffe, 0, 1);
    check_packet("packet 2", 0, 0xfffe, 0, 0);
    check_packet("packet 3", 0, 0xfffe, 0, 0);
    uint32_t st = status();
    report_info("status after the packets: %08x", st);
    report(st == 0, "queue empty");
    report((inb(KBD_STATUS) & (KBD_STAT_OBF | KBD_STAT_AUX)) ==
           (KBD_STAT_OBF | KBD_STAT_AUX), "a PS/2 byte on the aux port");
    b0 = kbd_read(100000);
    b1 = kbd_read(100000);
    b2 = kbd_read(100000);
    report_info("PS/2 packet %02x %02x %02x", b0, b1, b2);
    report(b0 == 0x08 && b1 == 1 && b2 == 0,
           "PS/2 wake-up: one count right, no buttons");
}

static void test_flood(void)
{
    printf("vmmouse: ready for flood\n");
    report(serial_getc(30000000) >= 0, "the host sent its reports");
    report(status() == 1024, "queue full at 1024 words (status %08x)",
           status());
    backdoor(CMD_COMMAND, VMMOUSE_DISABLE);
    report(status() == 0xffff0400u, "DISABLE: status 0xffff, queue kept");
}

/* Relative mode: the report's deltas as they are (y down positive). */
static void test_relative(void)
{
    uint32_t n;

    while ((n = status() & 0xffff) != 0) {
        backdoor(CMD_DATA, n < 4 ? n : 4);
    }
    backdoor(CMD_COMMAND, VMMOUSE_READ_ID);
    backdoor(CMD_DATA, 1);
    backdoor(CMD_COMMAND, VMMOUSE_REQUEST_RELATIVE);
    report(status() == 0, "relative mode: enabled, queue drained");
    printf("vmmouse: ready for relative\n");
    bool queued = wait_until((status() & 0xffff) >= 4, 10000000);
    report(queued, "a relative packet queued");
    check_packet("relative", 0x10, 5, (uint32_t)-3, 0);
    backdoor(CMD_COMMAND, VMMOUSE_DISABLE);
}

int main(void)
{
    report_prefix("vmmouse");
    test_enable();
    test_events();
    test_flood();
    test_relative();
    report_summary();
}
