/*
 * piix3-usb-uhci (hw/usb/hcd-uhci.c) driven from a qtest: the test is the
 * host controller driver (its plumbing: libqusb.c).  It programs BAR4,
 * builds a frame list, a QH and TDs in guest memory, and runs frames with
 * the virtual clock.
 *
 * Covered: PCI identity, register reset values and write masks, the
 * port status of an attached usb-tablet and usb-kbd, port reset and
 * enable, enumeration (GET_DESCRIPTOR device/config/string/report,
 * SET_ADDRESS, SET_CONFIGURATION), interrupt IN reports after QMP
 * input-send-event (absolute tablet) and send-key (keyboard), IOC and
 * NAK, and hostile schedules: a TD loop (HC Process Error, bounded
 * time), a frame list outside RAM (Host System Error), an invalid
 * MaxLen; a usb-hub with a tablet behind it; usb-serial on a socket
 * chardev; -usb, -usbdevice, -machine usb= and bad command lines.
 */
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "libqtest.h"
#include "libqusb.h"
#include "libqvirtio.h"

#define UHCI_DEVFN      (8 << 3)
#define UHCI_IO         0xc000
#define FL_BASE         0x100000
#define QH_ADDR         (FL_BASE + 0x1000)
#define TD_BASE         (FL_BASE + 0x2000)
#define DATA_BASE       (FL_BASE + 0x10000)

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
    QUhci u;
} Env;

static void env_start(Env *e, const char *devices)
{
    g_autofree char *qmp = NULL, *args = NULL;

    e->dir = g_dir_make_tmp(NULL, NULL);
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-nodefaults -device piix3-usb-uhci,addr=08.0,"
                           "id=uhci %s -qmp unix:%s,server=on,wait=off",
                           devices, qmp);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(qmp);
    quhci_init(&e->u, e->qts, UHCI_DEVFN, UHCI_IO, FL_BASE);
}

static void env_stop(Env *e)
{
    g_autofree char *qmp = g_build_filename(e->dir, "qmp.sock", NULL);

    qmp_close(e->qmp);
    qtest_quit(e->qts);
    unlink(qmp);
    rmdir(e->dir);
    g_free(e->dir);
}

/* ---- tests ---------------------------------------------------------- */

static void test_pci_and_regs(void)
{
    Env e;

    env_start(&e, "");
    g_assert_cmphex(qpci_cfg_readl(e.qts, UHCI_DEVFN, 0), ==, 0x70208086);
    g_assert_cmphex(qpci_cfg_readl(e.qts, UHCI_DEVFN, 8) >> 8, ==, 0x0c0300);
    g_assert_cmphex(qpci_cfg_readb(e.qts, UHCI_DEVFN, 0x60), ==, 0x10);
    g_assert_cmphex(qpci_cfg_readb(e.qts, UHCI_DEVFN, 0x3d), ==, 4);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBCMD), ==, 0);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS), ==, 0x20);     /* halted */
    g_assert_cmphex(qtest_inb(e.qts, UHCI_IO + UHCI_SOFMOD), ==, 64);
    /* nothing attached */
    g_assert_cmphex(quhci_rd(&e.u, UHCI_PORTSC1), ==, 0x80);
    quhci_wr(&e.u, UHCI_USBINTR, 0xffff);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBINTR), ==, 0xf);
    quhci_wr(&e.u, UHCI_FLBASEADD, 0x1234);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_FLBASEADD), ==, 0x1000);
    quhci_wr(&e.u, UHCI_FRNUM, 0x7ff);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_FRNUM), ==, 0x7ff);
    /* running: frames count up each millisecond */
    quhci_schedule_start(&e.u);
    quhci_wr(&e.u, UHCI_FRNUM, 0);
    qtest_clock_step(e.qts, 5 * 1000000);
    g_assert_cmpuint(quhci_rd(&e.u, UHCI_FRNUM), >=, 4);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 0x20, ==, 0);
    /* HCRESET */
    quhci_wr(&e.u, UHCI_USBCMD, 2);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBCMD), ==, 0);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBINTR), ==, 0);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS), ==, 0x20);
    env_stop(&e);
}

static void test_port_detect(void)
{
    Env e;

    env_start(&e, "-device usb-tablet,bus=uhci.0,port=1");
    /* connected, connect change, full speed */
    g_assert_cmphex(quhci_rd(&e.u, UHCI_PORTSC1), ==, 0x83);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_PORTSC1 + 2), ==, 0x80);
    quhci_wr(&e.u, UHCI_PORTSC1, 2);                            /* W1C CSC */
    g_assert_cmphex(quhci_rd(&e.u, UHCI_PORTSC1), ==, 0x81);
    quhci_port_reset(&e.u, 0);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_PORTSC1) & 0x5, ==, 0x5);
    env_stop(&e);
}

static void test_enumerate_tablet(void)
{
    Env e;
    uint8_t buf[256];
    int n;

    env_start(&e, "-device usb-tablet,bus=uhci.0,port=1,id=tab");
    quhci_schedule_start(&e.u);
    quhci_port_reset(&e.u, 0);
    n = quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 18, buf);
    g_assert_cmpint(n, ==, 18);
    g_assert_cmphex(buf[1], ==, 1);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0100);     /* full speed */
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x0627);
    g_assert_cmphex(buf[10] | buf[11] << 8, ==, 0x0001);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x00, 5, 3, 0, 0, NULL), ==, 0);
    /* the old address is gone */
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 8, buf), ==, -1);
    n = quhci_control(&e.u, 3, 0x80, 6, 0x200, 0, 255, buf);
    g_assert_cmpint(n, ==, 34);                    /* config+if+hid+ep */
    g_assert_cmphex(buf[9 + 5], ==, 3);            /* HID class */
    g_assert_cmphex(buf[18 + 7], ==, 74);          /* report desc len */
    g_assert_cmphex(buf[27 + 2], ==, 0x81);        /* EP1 IN */
    /* strings: language, then "QEMU USB Tablet" in UTF-16LE */
    n = quhci_control(&e.u, 3, 0x80, 6, 0x300, 0, 255, buf);
    g_assert_cmpint(n, ==, 4);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0409);
    n = quhci_control(&e.u, 3, 0x80, 6, 0x303, 0x409, 255, buf);  /* iProduct */
    g_assert_cmpint(n, ==, 2 + 2 * 15);
    g_assert_cmpint(buf[2], ==, 'Q');
    g_assert_cmpint(buf[2 + 2 * 9], ==, 'T');
    /* a string that does not exist stalls */
    g_assert_cmpint(quhci_control(&e.u, 3, 0x80, 6, 0x3ee, 0x409, 255, buf),
                    ==, -1);
    /* report descriptor through the interface */
    n = quhci_control(&e.u, 3, 0x81, 6, 0x2200, 0, 255, buf);
    g_assert_cmpint(n, ==, 74);
    g_assert_cmphex(buf[0], ==, 0x05);
    g_assert_cmpint(quhci_control(&e.u, 3, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    n = quhci_control(&e.u, 3, 0x80, 8, 0, 0, 1, buf);
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpint(buf[0], ==, 1);
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": "
            "\"human-monitor-command\", \"arguments\": {\"command-line\": "
            "\"info usb\"}}");
        g_assert_nonnull(strstr(r, "Device 0.3, Port 1, Speed 12 Mb/s, "
                                   "Product QEMU USB Tablet, ID: tab"));
    }
    env_stop(&e);
}

static void test_tablet_reports(void)
{
    Env e;
    uint8_t r[8];

    env_start(&e, "-device usb-tablet,bus=uhci.0,port=1");
    quhci_schedule_start(&e.u);
    quhci_wr(&e.u, UHCI_USBINTR, 0x4);                          /* IOC */
    quhci_enumerate(&e.u, 0, 2);
    /* nothing to report: NAK, the TD stays active */
    quhci_write_td(&e.u, 0, 1, TD_IOC, UHCI_PID_IN, 2, 1, 8, DATA_BASE);
    quhci_run_tds(&e.u, 1);
    g_assert_cmphex(quhci_td_ctrl(&e.u, 0) & (TD_ACTIVE | TD_NAK), ==,
                    TD_ACTIVE | TD_NAK);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"input-send-event\", "
        "\"arguments\": {\"events\": ["
        "{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 10000}},"
        "{\"type\": \"abs\", \"data\": {\"axis\": \"y\", \"value\": 20000}},"
        "{\"type\": \"btn\", \"data\": {\"button\": \"left\", "
        "\"down\": true}}]}}"));
    quhci_run_tds(&e.u, 1);
    g_assert_cmphex(quhci_td_ctrl(&e.u, 0) & TD_ACTIVE, ==, 0);
    g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, 0)), ==, 6);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 1, ==, 1);    /* USBINT */
    qtest_memread(e.qts, DATA_BASE, r, 6);
    g_assert_cmphex(r[0], ==, 1);
    g_assert_cmpuint(r[1] | r[2] << 8, ==, 10000);
    g_assert_cmpuint(r[3] | r[4] << 8, ==, 20000);
    quhci_wr(&e.u, UHCI_USBSTS, 1);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 1, ==, 0);
    {
        g_autofree char *m = qmp_cmd(e.qmp,
                                     "{\"execute\": \"query-mice\"}");
        g_assert_nonnull(strstr(m, "QEMU HID Tablet"));
    }
    env_stop(&e);
}

static void test_keyboard_report(void)
{
    Env e;
    uint8_t r[8];

    env_start(&e, "-device usb-kbd,bus=uhci.0,port=2");
    quhci_schedule_start(&e.u);
    quhci_enumerate(&e.u, 1, 5);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"send-key\", \"arguments\": "
                   "{\"keys\": [{\"type\": \"qcode\", \"data\": \"shift\"},"
                   "{\"type\": \"qcode\", \"data\": \"a\"}]}}"));
    /* shift down, then shift+a */
    quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_IN, 5, 1, 8, DATA_BASE);
    quhci_run_tds(&e.u, 1);
    qtest_memread(e.qts, DATA_BASE, r, 8);
    g_assert_cmphex(r[0], ==, 0x02);
    quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_IN, 5, 1, 8, DATA_BASE);
    quhci_run_tds(&e.u, 1);
    g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, 0)), ==, 8);
    qtest_memread(e.qts, DATA_BASE, r, 8);
    g_assert_cmphex(r[0], ==, 0x02);
    g_assert_cmphex(r[2], ==, 0x04);               /* usage 'a' */
    env_stop(&e);
}

static void test_td_loop(void)
{
    Env e;

    env_start(&e, "-device usb-tablet,bus=uhci.0,port=1");
    quhci_schedule_start(&e.u);
    quhci_wr(&e.u, UHCI_USBINTR, 0xf);
    qtest_irq_intercept_in(e.qts, "ioapic");
    /* two inactive TDs linked to each other, straight from the list */
    qtest_writel(e.qts, TD_BASE, TD_BASE + 32);
    qtest_writel(e.qts, TD_BASE + 4, 0);
    qtest_writel(e.qts, TD_BASE + 32, TD_BASE);
    qtest_writel(e.qts, TD_BASE + 36, 0);
    for (unsigned i = 0; i < 1024; i++) {
        qtest_writel(e.qts, FL_BASE + 4 * i, TD_BASE);
    }
    qtest_clock_step(e.qts, 3 * 1000000);
    /* HC Process Error, halted, Run/Stop cleared */
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 0x30, ==, 0x30);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBCMD) & 1, ==, 0);
    env_stop(&e);
}

static void test_qh_loop_is_quiet(void)
{
    Env e;

    env_start(&e, "");
    quhci_schedule_start(&e.u);
    /* a QH pointing at itself, empty: the frame ends, nothing breaks */
    qtest_writel(e.qts, QH_ADDR, QH_ADDR | 2);
    qtest_clock_step(e.qts, 5 * 1000000);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 0x38, ==, 0);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBCMD) & 1, ==, 1);
    env_stop(&e);
}

static void test_bad_addresses(void)
{
    Env e;

    env_start(&e, "");
    quhci_schedule_start(&e.u);
    /* the frame list's QH outside RAM (unassigned): Host System Error */
    for (unsigned i = 0; i < 1024; i++) {
        qtest_writel(e.qts, FL_BASE + 4 * i, 0xf0000000u | 2);
    }
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 0x28, ==, 0x28);
    env_stop(&e);

    env_start(&e, "-device usb-tablet,bus=uhci.0,port=1");
    quhci_schedule_start(&e.u);
    quhci_port_reset(&e.u, 0);
    /* MaxLen 0x600 is invalid: HC Process Error */
    quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_IN, 0, 0, 0x601, DATA_BASE);
    quhci_run_tds(&e.u, 1);
    g_assert_cmphex(quhci_rd(&e.u, UHCI_USBSTS) & 0x30, ==, 0x30);
    env_stop(&e);
}

/* A usb-hub on port 1 with a tablet behind it on hub port 3. */
static void test_hub(void)
{
    Env e;
    uint8_t buf[64];

    env_start(&e, "-device usb-hub,bus=uhci.0,port=1 "
              "-device usb-tablet,bus=uhci.0,port=1.3,id=tab");
    quhci_schedule_start(&e.u);
    quhci_port_reset(&e.u, 0);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 18, buf), ==, 18);
    g_assert_cmpuint(buf[4], ==, 9);                   /* hub class */
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x0409);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x00, 5, 2, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 2, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    /* the hub descriptor: 8 ports */
    g_assert_cmpint(quhci_control(&e.u, 2, 0xa0, 6, 0x2900, 0, 64, buf), ==,
                    11);
    g_assert_cmpuint(buf[1], ==, 0x29);
    g_assert_cmpuint(buf[2], ==, 8);
    /* the status change endpoint: port 3 changed */
    quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_IN, 2, 1, 2, DATA_BASE + 0x800);
    quhci_run_tds(&e.u, 1);
    g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, 0)), ==, 2);
    g_assert_cmphex(qtest_readb(e.qts, DATA_BASE + 0x800), ==, 1 << 3);
    /* port 3: connected, powered, connection changed */
    g_assert_cmpint(quhci_control(&e.u, 2, 0xa3, 0, 0, 3, 4, buf), ==, 4);
    g_assert_cmphex(buf[0] | buf[1] << 8, ==, 0x0101);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0001);
    /* the tablet does not answer before its port is enabled */
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 8, buf), ==, -1);
    g_assert_cmpint(quhci_control(&e.u, 2, 0x23, 3, 4, 3, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 2, 0xa3, 0, 0, 3, 4, buf), ==, 4);
    g_assert_cmphex(buf[0] | buf[1] << 8, ==, 0x0103);   /* enabled */
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0011);   /* C_RESET */
    g_assert_cmpint(quhci_control(&e.u, 2, 0x23, 1, 16, 3, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 2, 0x23, 1, 20, 3, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 2, 0xa3, 0, 0, 3, 4, buf), ==, 4);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0);
    /* a bad port number stalls */
    g_assert_cmpint(quhci_control(&e.u, 2, 0xa3, 0, 0, 9, 4, buf), ==, -1);
    /* now the tablet, through the hub */
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 18, buf), ==, 18);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x0627);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x00, 5, 3, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 3, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"input-send-event\", "
        "\"arguments\": {\"events\": ["
        "{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 77}}]}}"));
    quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_IN, 3, 1, 8, DATA_BASE);
    quhci_run_tds(&e.u, 1);
    g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, 0)), ==, 6);
    g_assert_cmpuint(qtest_readw(e.qts, DATA_BASE + 1), ==, 77);
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": "
            "\"human-monitor-command\", \"arguments\": {\"command-line\": "
            "\"info usb\"}}");
        g_assert_nonnull(strstr(r, "Port 1, Speed 12 Mb/s, Product QEMU "
                                   "USB Hub"));
        g_assert_nonnull(strstr(r, "Device 0.3, Port 1.3, Speed 12 Mb/s, "
                                   "Product QEMU USB Tablet, ID: tab"));
    }
    env_stop(&e);
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
        g_assert_cmpint(i, <, 500);
        g_usleep(10000);
    }
    return fd;
}

/* usb-serial on a socket chardev: bytes both ways, vendor requests. */
static void test_serial(void)
{
    Env e;
    uint8_t buf[64];
    g_autofree char *dir = g_dir_make_tmp(NULL, NULL);
    g_autofree char *sock = g_build_filename(dir, "ser.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "-chardev socket,id=ser,path=%s,server=on,wait=off "
        "-device usb-serial,bus=uhci.0,port=2,chardev=ser", sock);
    int fd, got = 0;

    env_start(&e, args);
    fd = unix_connect(sock);
    quhci_schedule_start(&e.u);
    quhci_port_reset(&e.u, 1);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 18, buf), ==, 18);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x0403);
    g_assert_cmphex(buf[10] | buf[11] << 8, ==, 0x6001);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x00, 5, 4, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 4, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 4, 0x40, 9, 5, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 4, 0xc0, 10, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 5);                    /* latency */
    g_assert_cmpint(quhci_control(&e.u, 4, 0x40, 3, 0x4138, 0, 0, NULL), ==, 0);
    /* guest to host */
    qtest_memwrite(e.qts, DATA_BASE + 0x400, "hello", 5);
    quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_OUT, 4, 2, 5, DATA_BASE + 0x400);
    quhci_run_tds(&e.u, 1);
    g_assert_cmphex(quhci_td_ctrl(&e.u, 0) & TD_ACTIVE, ==, 0);
    while (got < 5) {
        ssize_t n = read(fd, buf + got, 5 - got);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
    g_assert_cmpmem(buf, 5, "hello", 5);
    /* host to guest: two status bytes, then the data */
    g_assert_cmpint(write(fd, "world", 5), ==, 5);
    for (int i = 0; i < 200; i++) {
        quhci_write_td(&e.u, 0, 1, 0, UHCI_PID_IN, 4, 1, 64, DATA_BASE + 0x500);
        quhci_run_tds(&e.u, 1);
        if (quhci_actlen(quhci_td_ctrl(&e.u, 0)) > 2) {
            break;
        }
        g_usleep(5000);
    }
    g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, 0)), ==, 7);
    qtest_memread(e.qts, DATA_BASE + 0x500, buf, 7);
    g_assert_cmphex(buf[0], ==, 0x31);
    g_assert_cmphex(buf[1], ==, 0x60);
    g_assert_cmpmem(buf + 2, 5, "world", 5);
    close(fd);
    env_stop(&e);
    unlink(sock);
    rmdir(dir);
}

/* -usb and -usbdevice: the UHCI at 01.2 with the tablet on port 1 */
static void test_usb_option(void)
{
    QTestState *qts = qtest_init("-nodefaults -usb -usbdevice tablet "
                                 "-usbdevice keyboard");
    unsigned devfn = (1 << 3) | 2;

    g_assert_cmphex(qpci_cfg_readl(qts, devfn, 0), ==, 0x70208086);
    qpci_cfg_writel(qts, devfn, 0x20, UHCI_IO | 1);
    qpci_cfg_writew(qts, devfn, 0x04, 0x5);
    g_assert_cmphex(qtest_inw(qts, UHCI_IO + UHCI_PORTSC1) & 1, ==, 1);
    g_assert_cmphex(qtest_inw(qts, UHCI_IO + UHCI_PORTSC1 + 2) & 1, ==, 1);
    qtest_quit(qts);

    qts = qtest_init("-nodefaults -machine pc,usb=on");
    g_assert_cmphex(qpci_cfg_readl(qts, devfn, 0), ==, 0x70208086);
    qtest_quit(qts);
    qts = qtest_init("-nodefaults -machine pc,usb=off");
    g_assert_cmphex(qpci_cfg_readl(qts, devfn, 0), ==, 0xffffffff);
    qtest_quit(qts);
}

/* Bad command lines: one clear line, exit status 1. */
static void test_bad_options(void)
{
    static const char *const cases[][4] = {
        { "-usb", "-device", "usb-storage", "drive property not set" },
        { "-usb", "-device", "usb-tablet,port=9", "usb port 9" },
        { "-usb", "-usbdevice", "joystick",
          "could not add USB device 'joystick'" },
        { "-S", "-device", "usb-tablet", "No 'usb-bus' bus found" },
        { "-usb", "-device", "usb-storage,bus=nonexistent.0",
          "Bus 'nonexistent.0' not found" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *argv[] = { qtest_kvmpc_binary(), "-nodefaults",
                               "-accel", "qtest", "-display", "none",
                               cases[i][0], cases[i][1], cases[i][2],
                               NULL };

        g_autofree char *err = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                                   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                   NULL, &err, &status, NULL));
        g_assert_false(g_spawn_check_wait_status(status, NULL));
        g_assert_nonnull(strstr(err, cases[i][3]));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/uhci/pci-and-registers", test_pci_and_regs);
    g_test_add_func("/uhci/port-detect", test_port_detect);
    g_test_add_func("/uhci/enumerate-tablet", test_enumerate_tablet);
    g_test_add_func("/uhci/tablet-reports", test_tablet_reports);
    g_test_add_func("/uhci/keyboard-report", test_keyboard_report);
    g_test_add_func("/uhci/td-loop", test_td_loop);
    g_test_add_func("/uhci/qh-loop-quiet", test_qh_loop_is_quiet);
    g_test_add_func("/uhci/bad-addresses", test_bad_addresses);
    g_test_add_func("/uhci/usb-option", test_usb_option);
    g_test_add_func("/uhci/hub", test_hub);
    g_test_add_func("/uhci/serial", test_serial);
    g_test_add_func("/uhci/bad-options", test_bad_options);
    return g_test_run();
}
