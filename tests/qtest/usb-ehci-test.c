/*
 * ich9-usb-ehci1 with its companion ich9-usb-uhci1..3 (hw/usb/hcd-ehci.c,
 * hw/usb/hcd-uhci.c) driven from a qtest: the test is the EHCI driver
 * (its plumbing: libqusb.c).
 * It programs BAR0, builds QHs and qTDs in guest memory and runs frames
 * with the virtual clock.
 *
 * Covered: PCI identities of the multifunction 1d.x set, capability and
 * operational register reset values and masks, FRINDEX, HCRESET, port
 * routing (CONFIGFLAG, PORT_OWNER; a full-speed usb-kbd and a usb-tablet
 * handed to the companion UHCI and enumerated there, the tablet back on
 * EHCI at high speed), enumeration of a high-speed usb-storage through
 * the async schedule, INQUIRY, WRITE(10)/READ(10) checked against the
 * image, interrupt-in tablet reports through the periodic schedule,
 * the async advance doorbell, and hostile schedules: an async QH loop
 * that misses the head and a periodic QH loop (Host System Error, bounded
 * time), a qTD and a buffer outside RAM (HSE), an oversize qTD and a
 * reserved PID (halted qTD, USBERRINT); isochronous iTDs and siTDs in the
 * periodic list (status and lengths written back, a buffer crossing a
 * page, errors: page select and buffer bounds, a stall, no device; an
 * iTD or its buffer outside RAM and iTD/siTD loops: HSE); bad command
 * lines; usb-redir against a usbredirparser peer (control, bulk, filter
 * rules) and its isochronous endpoints through iTDs (IN: nothing before
 * the ring's target fill level, then packets in order, filling again
 * after an underrun; OUT packets at the peer, ring overflow, a
 * hostile peer, streams stopped by SET_INTERFACE), and at full speed
 * through the companion UHCI's isochronous TDs.
 */
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef CONFIG_USBREDIR
#include <usbredirparser.h>
#include <usbredirfilter.h>
#endif
#include "libqtest.h"
#include "libqusb.h"
#include "libqvirtio.h"

#define EHCI_DEVFN      ((0x1d << 3) | 7)
#define UHCI_DEVFN(n)   ((0x1d << 3) | (n))
#define BAR             QUSB_BAR
#define OP              QEHCI_OP
#define UHCI_IO         0xc000

#define QH_INT          0x101100
#define QH_X(i)         (0x101200 + 0x40 * (i))
#define DATA            QEHCI_DATA
#define UHCI_FL         0x200000

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir, *img;
    QEhci h;
    QUhci u;                    /* the companion being driven */
} Env;

static void env_start(Env *e, const char *devices)
{
    g_autofree char *qmp = NULL, *args = NULL;

    qusb_make_disk(1 << 20, &e->dir, &e->img);
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf(
        "-nodefaults -drive if=none,id=d0,format=raw,file=%s "
        "-device ich9-usb-ehci1,id=ehci,addr=1d.7,multifunction=on "
        "-device ich9-usb-uhci1,masterbus=ehci.0,firstport=0,addr=1d.0,"
        "multifunction=on "
        "-device ich9-usb-uhci2,masterbus=ehci.0,firstport=2,addr=1d.1 "
        "-device ich9-usb-uhci3,masterbus=ehci.0,firstport=4,addr=1d.2 "
        "%s -qmp unix:%s,server=on,wait=off", e->img, devices, qmp);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(qmp);
    qehci_init(&e->h, e->qts, EHCI_DEVFN);
}

static void env_stop(Env *e)
{
    g_autofree char *qmp = g_build_filename(e->dir, "qmp.sock", NULL);

    qmp_close(e->qmp);
    qtest_quit(e->qts);
    unlink(qmp);
    unlink(e->img);
    rmdir(e->dir);
    g_free(e->img);
    g_free(e->dir);
}

/* The companion at function @fn: its schedule running, structures at
 * UHCI_FL (apart from the EHCI's). */
static void uhci_start(Env *e, unsigned fn)
{
    quhci_init(&e->u, e->qts, UHCI_DEVFN(fn), UHCI_IO, UHCI_FL);
    quhci_schedule_start(&e->u);
}

/* ---- tests ------------------------------------------------------------ */

static void test_pci_and_regs(void)
{
    Env e;

    env_start(&e, "");
    g_assert_cmphex(qpci_cfg_readl(e.qts, EHCI_DEVFN, 0), ==, 0x293a8086);
    g_assert_cmphex(qpci_cfg_readl(e.qts, EHCI_DEVFN, 8), ==, 0x0c032003);
    g_assert_cmphex(qpci_cfg_readb(e.qts, EHCI_DEVFN, 0x60), ==, 0x20);
    g_assert_cmphex(qpci_cfg_readb(e.qts, EHCI_DEVFN, 0x3d), ==, 4);
    g_assert_cmphex(qpci_cfg_readl(e.qts, UHCI_DEVFN(0), 0), ==, 0x29348086);
    g_assert_cmphex(qpci_cfg_readl(e.qts, UHCI_DEVFN(1), 0), ==, 0x29358086);
    g_assert_cmphex(qpci_cfg_readl(e.qts, UHCI_DEVFN(2), 0), ==, 0x29368086);
    g_assert_cmphex(qpci_cfg_readb(e.qts, UHCI_DEVFN(0), 0x0e), ==, 0x80);
    g_assert_cmphex(qpci_cfg_readb(e.qts, UHCI_DEVFN(1), 0x3d), ==, 2);
    /* capabilities */
    g_assert_cmphex(qtest_readb(e.qts, BAR), ==, 0x20);
    g_assert_cmphex(qtest_readw(e.qts, BAR + 2), ==, 0x0100);
    g_assert_cmphex(qtest_readl(e.qts, BAR), ==, 0x01000020);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 4), ==, 6);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 8), ==, 0x80);
    qtest_writel(e.qts, BAR + 4, 0xffffffff);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 4), ==, 6);
    /* operational reset values */
    g_assert_cmphex(qehci_rd(&e.h, USBCMD), ==, 0x80000);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS), ==, STS_HALTED);
    g_assert_cmphex(qehci_rd(&e.h, CONFIGFLAG), ==, 0);
    for (unsigned i = 0; i < 6; i++) {
        g_assert_cmphex(qehci_rd(&e.h, PORTSC(i)), ==, PORT_PP | PORT_OWNER);
    }
    qehci_wr(&e.h, USBINTR, 0xffffffff);
    g_assert_cmphex(qehci_rd(&e.h, USBINTR), ==, 0x3f);
    qehci_wr(&e.h, PERIODICLISTBASE, 0x12345678);
    g_assert_cmphex(qehci_rd(&e.h, PERIODICLISTBASE), ==, 0x12345000);
    qehci_wr(&e.h, ASYNCLISTADDR, 0x12345678);
    g_assert_cmphex(qehci_rd(&e.h, ASYNCLISTADDR), ==, 0x12345660);
    qehci_wr(&e.h, FRINDEX, 0x123);
    g_assert_cmphex(qehci_rd(&e.h, FRINDEX), ==, 0x120);
    qehci_wr(&e.h, CONFIGFLAG, 1);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(0)), ==, PORT_PP);
    /* running: FRINDEX counts micro-frames (8 a millisecond) */
    qehci_wr(&e.h, FRINDEX, 0);
    qehci_wr(&e.h, USBCMD, CMD_RS);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_HALTED, ==, 0);
    qtest_clock_step(e.qts, 5 * 1000000);
    g_assert_cmpuint(qehci_rd(&e.h, FRINDEX), >=, 32);
    g_assert_cmpuint(qehci_rd(&e.h, FRINDEX) & 7, ==, 0);
    /* the doorbell with no async schedule answers at once */
    qehci_wr(&e.h, USBSTS, 0x3f);
    qehci_wr(&e.h, USBCMD, CMD_RS | CMD_IAAD);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_IAA, ==, STS_IAA);
    g_assert_cmphex(qehci_rd(&e.h, USBCMD) & CMD_IAAD, ==, 0);
    /* HCRESET: back to the defaults, ports to the companions */
    qehci_wr(&e.h, USBCMD, CMD_HCRESET);
    g_assert_cmphex(qehci_rd(&e.h, USBCMD), ==, 0x80000);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS), ==, STS_HALTED);
    g_assert_cmphex(qehci_rd(&e.h, USBINTR), ==, 0);
    g_assert_cmphex(qehci_rd(&e.h, CONFIGFLAG), ==, 0);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(3)), ==, PORT_PP | PORT_OWNER);
    env_stop(&e);
}

/* CONFIGFLAG and PORT_OWNER move devices between EHCI and the UHCIs. */
static void test_port_routing(void)
{
    Env e;
    uint8_t buf[64];

    env_start(&e, "-device usb-tablet,bus=ehci.0,port=1,id=tab "
                  "-device usb-kbd,bus=ehci.0,port=3,id=kbd");
    /* CONFIGFLAG clear: the companions own both; the tablet is full
     * speed on UHCI1 port 1 and enumerates there */
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(0)) & PORT_CCS, ==, 0);
    uhci_start(&e, 0);
    g_assert_cmphex(qtest_inw(e.qts, UHCI_IO + 0x10) & 1, ==, 1);
    quhci_port_reset(&e.u, 0);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 18, buf), ==,
                    18);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x0627);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0100);    /* full speed */
    qtest_outw(e.qts, UHCI_IO, 0);

    /* CONFIGFLAG set: EHCI owns the ports, connect changes show */
    qehci_hc_start(&e.h, 0);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(0)), ==,
                    PORT_PP | PORT_CSC | PORT_CCS);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(2)), ==,
                    PORT_PP | PORT_CSC | PORT_CCS);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(1)), ==, PORT_PP);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_PCD, ==, STS_PCD);
    g_assert_cmphex(qtest_inw(e.qts, UHCI_IO + 0x10) & 1, ==, 0);
    /* the tablet is high speed on EHCI: enabled after reset */
    g_assert_true(qehci_port_reset(&e.h, 0));
    g_assert_cmpint(qehci_control(&e.h, 0, 0x80, 6, 0x100, 0, 18, buf), ==, 18);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0200);
    /* the keyboard is full speed: not enabled, so the driver hands the
     * port to the companion (UHCI2 port 1) */
    g_assert_false(qehci_port_reset(&e.h, 2));
    qehci_wr(&e.h, PORTSC(2), qehci_rd(&e.h, PORTSC(2)) | PORT_OWNER);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(2)) & (PORT_OWNER | PORT_CCS), ==,
                    PORT_OWNER);
    uhci_start(&e, 1);
    g_assert_cmphex(qtest_inw(e.qts, UHCI_IO + 0x10) & 3, ==, 3);
    quhci_port_reset(&e.u, 0);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x80, 6, 0x100, 0, 18, buf), ==,
                    18);
    g_assert_cmphex(buf[10] | buf[11] << 8, ==, 0x0001);  /* kbd 0627:0001 */
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": "
            "\"human-monitor-command\", \"arguments\": {\"command-line\": "
            "\"info usb\"}}");
        g_assert_nonnull(strstr(r, "Port 1, Speed 480 Mb/s, Product QEMU "
                                   "USB Tablet, ID: tab"));
        g_assert_nonnull(strstr(r, "Port 3, Speed 12 Mb/s, Product QEMU "
                                   "USB Keyboard, ID: kbd"));
    }
    /* giving it back: EHCI sees the connect again */
    qehci_wr(&e.h, PORTSC(2), PORT_PP);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(2)) & (PORT_OWNER | PORT_CCS), ==,
                    PORT_CCS);
    g_assert_cmphex(qtest_inw(e.qts, UHCI_IO + 0x10) & 1, ==, 0);
    env_stop(&e);
}

/* A Bulk-Only command: CBW out, data, CSW in; returns the CSW status. */
static int bot_command_lun(Env *e, unsigned lun, const uint8_t *cdb,
                           unsigned cdb_len, bool in, unsigned len,
                           uint32_t buf)
{
    uint8_t cbw[31] = { 'U', 'S', 'B', 'C', 0x42, 0, 0, 0 };
    uint8_t csw[13];

    cbw[13] = lun;

    cbw[8] = len;
    cbw[9] = len >> 8;
    cbw[10] = len >> 16;
    cbw[12] = in ? 0x80 : 0;
    cbw[14] = cdb_len;
    memcpy(cbw + 15, cdb, cdb_len);
    qtest_memwrite(e->qts, DATA + 0x800, cbw, 31);
    g_assert_cmpint(qehci_bulk(&e->h, 2, 2, false, DATA + 0x800, 31, true),
                    ==, 31);
    if (len) {
        g_assert_cmpint(qehci_bulk(&e->h, 2, in ? 1 : 2, in, buf, len, true),
                        ==, len);
    }
    g_assert_cmpint(qehci_bulk(&e->h, 2, 1, true, DATA + 0x900, 13, true),
                    ==, 13);
    qtest_memread(e->qts, DATA + 0x900, csw, 13);
    g_assert_cmphex(csw[0] | csw[1] << 8 | csw[2] << 16 |
                    (uint32_t)csw[3] << 24, ==, 0x53425355);
    return csw[12];
}

static int bot_command(Env *e, const uint8_t *cdb, unsigned cdb_len,
                       bool in, unsigned len, uint32_t buf)
{
    return bot_command_lun(e, 0, cdb, cdb_len, in, len, buf);
}

static void test_storage(void)
{
    Env e;
    uint8_t buf[256], cdb[16], sectors[1024];
    g_autofree uint8_t *file = NULL;
    int n;

    env_start(&e, "-device usb-storage,bus=ehci.0,port=2,drive=d0");
    qehci_hc_start(&e.h, 0);
    qehci_wr(&e.h, USBINTR, 0x3f);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(1)) & PORT_CCS, ==, PORT_CCS);
    g_assert_true(qehci_port_reset(&e.h, 1));
    n = qehci_control(&e.h, 0, 0x80, 6, 0x100, 0, 18, buf);
    g_assert_cmpint(n, ==, 18);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0200);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x46f4);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_USBINT, ==,
                    STS_USBINT);  /* IOC */
    qehci_wr(&e.h, USBSTS, STS_USBINT);
    g_assert_cmpint(qehci_control(&e.h, 0, 0x00, 5, 2, 0, 0, NULL), ==, 0);
    n = qehci_control(&e.h, 2, 0x80, 6, 0x200, 0, 255, buf);
    g_assert_cmpint(n, ==, 32);
    g_assert_cmpuint(buf[18 + 4] | buf[18 + 5] << 8, ==, 512);  /* bulk */
    g_assert_cmpint(qehci_control(&e.h, 2, 0x00, 9, 1, 0, 0, NULL), ==, 0);

    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x12;                                 /* INQUIRY */
    cdb[4] = 36;
    g_assert_cmpint(bot_command(&e, cdb, 6, true, 36, DATA + 0x1000), ==, 0);
    qtest_memread(e.qts, DATA + 0x1000, buf, 36);
    g_assert_cmphex(buf[0], ==, 0);
    g_assert_cmpmem(buf + 8, 4, "QEMU", 4);
    memset(cdb, 0, sizeof(cdb));                   /* unit attention */
    g_assert_cmpint(bot_command(&e, cdb, 6, false, 0, 0), ==, 1);
    cdb[0] = 0x03;
    cdb[4] = 18;
    g_assert_cmpint(bot_command(&e, cdb, 6, true, 18, DATA + 0x1000), ==, 0);
    /* WRITE (10) two sectors at LBA 4 straddling a page of the qTD */
    for (unsigned i = 0; i < sizeof(sectors); i++) {
        sectors[i] = i * 7 + 3;
    }
    qtest_memwrite(e.qts, DATA + 0x2e00, sectors, sizeof(sectors));
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x2a;
    cdb[5] = 4;
    cdb[8] = 2;
    g_assert_cmpint(bot_command(&e, cdb, 10, false, 1024, DATA + 0x2e00),
                    ==, 0);
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x35;                                 /* SYNCHRONIZE CACHE */
    g_assert_cmpint(bot_command(&e, cdb, 10, false, 0, 0), ==, 0);
    file = qtest_file_range(e.img, 4 * 512, 1024);
    g_assert_cmpmem(file, 1024, sectors, 1024);
    qtest_memset(e.qts, DATA + 0x4f00, 0, 1024);
    cdb[0] = 0x28;                                 /* READ (10) */
    cdb[5] = 4;
    cdb[8] = 2;
    g_assert_cmpint(bot_command(&e, cdb, 10, true, 1024, DATA + 0x4f00),
                    ==, 0);
    {
        uint8_t back[1024];
        qtest_memread(e.qts, DATA + 0x4f00, back, 1024);
        g_assert_cmpmem(back, 1024, sectors, 1024);
    }
    env_stop(&e);
}

/* usb-bot: two scsi-hd LUNs on its bus; each CBW reaches its own disk. */
static void test_bot_luns(void)
{
    Env e;
    g_autofree char *img1 = g_strdup_printf("%s/kvmpc-bot-%d.img",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *devs = NULL;
    g_autofree uint8_t *f0 = NULL, *f1 = NULL;
    uint8_t buf[64], cdb[16], sec[512];
    int fd = open(img1, O_CREAT | O_WRONLY | O_TRUNC, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    devs = g_strdup_printf("-drive if=none,id=d1,format=raw,file=%s "
                           "-device usb-bot,id=bot,bus=ehci.0,port=3 "
                           "-device scsi-hd,bus=bot.0,lun=0,drive=d0 "
                           "-device scsi-hd,bus=bot.0,lun=1,drive=d1", img1);
    env_start(&e, devs);
    qehci_hc_start(&e.h, 0);
    qehci_enumerate(&e.h, 2, 2);
    g_assert_cmpint(qehci_control(&e.h, 2, 0xa1, 0xfe, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 1);                /* max LUN */
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x12;                                  /* INQUIRY */
    cdb[4] = 36;
    g_assert_cmpint(bot_command_lun(&e, 1, cdb, 6, true, 36, DATA + 0x1000),
                    ==, 0);
    memset(cdb, 0, sizeof(cdb));                    /* unit attention */
    g_assert_cmpint(bot_command_lun(&e, 1, cdb, 6, false, 0, 0), ==, 1);
    g_assert_cmpint(bot_command_lun(&e, 1, cdb, 6, false, 0, 0), ==, 0);
    for (unsigned i = 0; i < sizeof(sec); i++) {
        sec[i] = i ^ 0xa5;
    }
    qtest_memwrite(e.qts, DATA + 0x2000, sec, sizeof(sec));
    cdb[0] = 0x2a;                                  /* WRITE (10) LBA 3 */
    cdb[5] = 3;
    cdb[8] = 1;
    g_assert_cmpint(bot_command_lun(&e, 1, cdb, 10, false, 512,
                                    DATA + 0x2000), ==, 0);
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x35;                                  /* SYNCHRONIZE CACHE */
    g_assert_cmpint(bot_command_lun(&e, 1, cdb, 10, false, 0, 0), ==, 0);
    f1 = qtest_file_range(img1, 3 * 512, 512);
    g_assert_cmpmem(f1, 512, sec, 512);
    f0 = qtest_file_range(e.img, 3 * 512, 512);     /* LUN 0 untouched */
    memset(sec, 0, sizeof(sec));
    g_assert_cmpmem(f0, 512, sec, 512);
    env_stop(&e);
    unlink(img1);
}

/* Interrupt IN reports of a high-speed tablet through the periodic list. */
static void test_tablet_periodic(void)
{
    Env e;
    uint8_t r[8];

    env_start(&e, "-device usb-tablet,bus=ehci.0,port=4");
    for (unsigned i = 0; i < 1024; i++) {
        qtest_writel(e.qts, QEHCI_FRAMELIST + 4 * i, QH_INT | 2);
    }
    qehci_wr(&e.h, PERIODICLISTBASE, QEHCI_FRAMELIST);
    qehci_set_qh(&e.h, QH_INT, 1, 0, 0, 8, 0);      /* idle until enumerated */
    qehci_hc_start(&e.h, CMD_PSE);
    qehci_enumerate(&e.h, 3, 7);
    qehci_set_qh(&e.h, QH_INT, 1, 7, 1, 8, 0x01);
    qehci_write_qtd(&e.h, 8, 1, PID_IN, 8, DATA + 0x3000, TOK_IOC);
    qehci_wr(&e.h, USBSTS, 0x3f);
    qtest_writel(e.qts, QH_INT + 16, QEHCI_QTD(8));
    qtest_clock_step(e.qts, 3 * 1000000);
    /* nothing to report yet: NAKed, still active */
    g_assert_cmphex(qehci_qtd_token(&e.h, 8) & TOK_ACTIVE, ==, TOK_ACTIVE);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_USBINT, ==, 0);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"input-send-event\", "
        "\"arguments\": {\"events\": ["
        "{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 10000}},"
        "{\"type\": \"abs\", \"data\": {\"axis\": \"y\", \"value\": 20000}},"
        "{\"type\": \"btn\", \"data\": {\"button\": \"left\", "
        "\"down\": true}}]}}"));
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(qehci_qtd_token(&e.h, 8) & (TOK_ACTIVE | TOK_HALT), ==, 0);
    g_assert_cmpuint(8 - ((qehci_qtd_token(&e.h, 8) >> 16) & 0x7fff), ==, 6);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_USBINT, ==, STS_USBINT);
    qtest_memread(e.qts, DATA + 0x3000, r, 6);
    g_assert_cmphex(r[0], ==, 1);
    g_assert_cmpuint(r[1] | r[2] << 8, ==, 10000);
    g_assert_cmpuint(r[3] | r[4] << 8, ==, 20000);
    env_stop(&e);
}

static void assert_hse(Env *e)
{
    g_assert_cmphex(qehci_rd(&e->h, USBSTS) & (STS_HSE | STS_HALTED), ==,
                    STS_HSE | STS_HALTED);
    g_assert_cmphex(qehci_rd(&e->h, USBCMD) & CMD_RS, ==, 0);
}

static void test_hostile(void)
{
    Env e;
    gint64 t0 = g_get_monotonic_time();

    /* an async list looping past the head: B -> C -> B */
    env_start(&e, "-device usb-tablet,bus=ehci.0,port=1");
    qehci_hc_start(&e.h, 0);
    qehci_set_qh(&e.h, QEHCI_QH_ASYNC, QH_X(0) | 2, 0, 0, 64, 0);
    qehci_set_qh(&e.h, QH_X(0), QH_X(1) | 2, 0, 0, 64, 0);
    qehci_set_qh(&e.h, QH_X(1), QH_X(0) | 2, 0, 0, 64, 0);
    qtest_clock_step(e.qts, 3 * 1000000);
    assert_hse(&e);
    env_stop(&e);

    /* a periodic QH linked to itself */
    env_start(&e, "");
    for (unsigned i = 0; i < 1024; i++) {
        qtest_writel(e.qts, QEHCI_FRAMELIST + 4 * i, QH_INT | 2);
    }
    qehci_set_qh(&e.h, QH_INT, QH_INT | 2, 0, 0, 8, 1);
    qehci_wr(&e.h, PERIODICLISTBASE, QEHCI_FRAMELIST);
    qehci_hc_start(&e.h, CMD_PSE);
    qtest_clock_step(e.qts, 3 * 1000000);
    assert_hse(&e);
    env_stop(&e);

    /* a qTD outside RAM; then a data buffer outside RAM */
    env_start(&e, "-device usb-tablet,bus=ehci.0,port=1");
    qehci_hc_start(&e.h, 0);
    qtest_writel(e.qts, QEHCI_QH_ASYNC + 16, 0xf0000000u);
    qtest_clock_step(e.qts, 2 * 1000000);
    assert_hse(&e);
    env_stop(&e);
    env_start(&e, "-device usb-tablet,bus=ehci.0,port=1");
    qehci_hc_start(&e.h, 0);
    g_assert_true(qehci_port_reset(&e.h, 0));
    qehci_write_qtd(&e.h, 0, 1, PID_SETUP, 8, 0xf0000000u, 0);
    qehci_run_queue(&e.h, QEHCI_QH_ASYNC, 0, 0, true);
    assert_hse(&e);
    env_stop(&e);

    /* an oversize qTD and a reserved PID: the qTD halts, USBERRINT, the
     * controller runs on and the async doorbell still rings */
    env_start(&e, "-device usb-tablet,bus=ehci.0,port=1");
    qehci_hc_start(&e.h, 0);
    g_assert_true(qehci_port_reset(&e.h, 0));
    qehci_wr(&e.h, USBINTR, 0x3f);
    qehci_write_qtd(&e.h, 0, 1, PID_IN, 0x6000, DATA, 0);
    qehci_run_queue(&e.h, QEHCI_QH_ASYNC, 0, 0, true);
    g_assert_cmphex(qehci_qtd_token(&e.h, 0) &
                    (TOK_ACTIVE | TOK_HALT | TOK_DBERR),
                    ==, TOK_HALT | TOK_DBERR);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_ERRINT, ==, STS_ERRINT);
    qehci_wr(&e.h, USBSTS, STS_ERRINT);
    qehci_write_qtd(&e.h, 1, 1, 3, 8, DATA, 0);
    qehci_run_queue(&e.h, QEHCI_QH_ASYNC, 1, 1, true);
    g_assert_cmphex(qehci_qtd_token(&e.h, 1) &
                    (TOK_ACTIVE | TOK_HALT | TOK_XACTERR),
                    ==, TOK_HALT | TOK_XACTERR);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & (STS_ERRINT | STS_HALTED), ==,
                    STS_ERRINT);
    /* the halted QH stays put until the driver clears it */
    qehci_write_qtd(&e.h, 2, 1, PID_IN, 8, DATA, 0);
    qtest_writel(e.qts, QEHCI_QH_ASYNC + 16, QEHCI_QTD(2));
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(qehci_qtd_token(&e.h, 2) & TOK_ACTIVE, ==, TOK_ACTIVE);
    qehci_wr(&e.h, USBSTS, 0x3f);
    qehci_wr(&e.h, USBCMD, qehci_rd(&e.h, USBCMD) | CMD_IAAD);
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & STS_IAA, ==, STS_IAA);
    g_assert_cmphex(qehci_rd(&e.h, USBCMD) & CMD_IAAD, ==, 0);
    env_stop(&e);
    /* all of it in bounded time */
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

/* ---- isochronous: iTD and siTD (EHCI 3.3, 3.4, 4.7) -------------------- */

#define ITD(i)          (0x103000 + 0x100 * (i))
#define SITD(i)         (0x103800 + 0x40 * (i))
#define ISO_BUF         0x120000

/* iTD status and control (3.3.2), buffer page fields (3.3.3) */
#define ITD_ACTIVE      (1u << 31)
#define ITD_DBERR       (1u << 30)
#define ITD_BABBLE      (1u << 29)
#define ITD_XACTERR     (1u << 28)
#define ITD_IOC         (1u << 15)
#define ITD_IN          (1u << 11)
/* siTD transfer state (3.4.3) */
#define SITD_IOC        (1u << 31)
#define SITD_P          (1u << 30)
#define SITD_ACTIVE     (1u << 7)
#define SITD_DBERR      (1u << 5)
#define SITD_XACTERR    (1u << 3)

static uint32_t itd_trans(unsigned len, unsigned pg, unsigned offset,
                          uint32_t flags)
{
    return ITD_ACTIVE | (len << 16) | (pg << 12) | offset | flags;
}

/* An iTD for endpoint @ep of device @addr; its seven pages are
 * ISO_BUF + 0x1000 * (@page0 + n); transactions all inactive. */
static void write_itd(Env *e, uint32_t a, uint32_t next, unsigned addr,
                      unsigned ep, bool in, unsigned page0)
{
    qtest_writel(e->qts, a, next);
    for (unsigned uf = 0; uf < 8; uf++) {
        qtest_writel(e->qts, a + 4 + 4 * uf, 0);
    }
    for (unsigned pg = 0; pg < 7; pg++) {
        uint32_t v = ISO_BUF + 0x1000 * (page0 + pg);

        v |= pg == 0 ? (ep << 8) | addr : pg == 1 ? (in ? ITD_IN : 0) | 64
           : pg == 2 ? 1 : 0;                       /* Mult 1 */
        qtest_writel(e->qts, a + 36 + 4 * pg, v);
    }
}

static uint32_t itd_status(Env *e, uint32_t a, unsigned uf)
{
    return qtest_readl(e->qts, a + 4 + 4 * uf);
}

/* An siTD moving @len bytes from page @p at @offset (pages ISO_BUF +
 * 0x1000 * page0 and the one after), S-mask @smask. */
static void write_sitd(Env *e, uint32_t a, uint32_t next, unsigned addr,
                       unsigned ep, bool in, unsigned len, bool p,
                       unsigned offset, unsigned page0, uint8_t smask)
{
    qtest_writel(e->qts, a, next);
    qtest_writel(e->qts, a + 4, (in ? 1u << 31 : 0) | (ep << 8) | addr);
    qtest_writel(e->qts, a + 8, smask);
    qtest_writel(e->qts, a + 12, SITD_IOC | (p ? SITD_P : 0) | (len << 16) |
                 SITD_ACTIVE);
    qtest_writel(e->qts, a + 16, (ISO_BUF + 0x1000 * page0) | offset);
    qtest_writel(e->qts, a + 20, ISO_BUF + 0x1000 * (page0 + 1));
    qtest_writel(e->qts, a + 24, 1);                /* back pointer: T */
}

static void tablet_event(Env *e, unsigned x, unsigned y, bool down)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
        "{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": %u}},"
        "{\"type\": \"abs\", \"data\": {\"axis\": \"y\", \"value\": %u}},"
        "{\"type\": \"btn\", \"data\": {\"button\": \"left\", "
        "\"down\": %s}}]}}", x, y, down ? "true" : "false");

    g_free(qmp_cmd(e->qmp, cmd));
}

/* Every entry of the periodic frame list: @first. */
static void isoch_link(Env *e, uint32_t first)
{
    for (unsigned i = 0; i < 1024; i++) {
        qtest_writel(e->qts, QEHCI_FRAMELIST + 4 * i, first);
    }
}

/* A usb-tablet at address 7 (high speed, port 4), the periodic schedule
 * running an empty frame list. */
static void isoch_start(Env *e)
{
    env_start(e, "-device usb-tablet,bus=ehci.0,port=4");
    isoch_link(e, 1);
    qehci_wr(&e->h, PERIODICLISTBASE, QEHCI_FRAMELIST);
    qehci_hc_start(&e->h, CMD_PSE);
    qehci_enumerate(&e->h, 3, 7);
    qehci_wr(&e->h, USBSTS, 0x3f);
}

/*
 * The tablet's interrupt endpoint stands in for an isochronous one (kvmpc
 * has no device with isochronous endpoints): its reports are the IN
 * data, its "nothing new" a zero-length packet, its stall of an OUT a
 * transaction error.
 */
static void test_itd(void)
{
    Env e;
    uint8_t r[8];

    /* iTD 0 (IN) -> iTD 1 (OUT) -> end; both idle at first */
    isoch_start(&e);
    write_itd(&e, ITD(0), ITD(1) | (0 << 1), 7, 1, true, 0);
    write_itd(&e, ITD(1), 1, 7, 1, false, 8);
    isoch_link(&e, ITD(0) | (0 << 1));
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & (STS_USBINT | STS_HSE), ==, 0);

    tablet_event(&e, 1000, 2000, true);
    tablet_event(&e, 3000, 4000, false);
    qtest_memset(e.qts, ISO_BUF, 0xee, 0x8000);
    /* micro-frame 0: 64 bytes at page 0 + 0x10; micro-frame 3 crosses
     * from page 1 into page 2; micro-frame 5 finds no report */
    qtest_writel(e.qts, ITD(0) + 4 + 4 * 5, itd_trans(64, 3, 0, 0));
    qtest_writel(e.qts, ITD(0) + 4 + 4 * 3, itd_trans(64, 1, 0xffc, 0));
    qtest_writel(e.qts, ITD(0) + 4, itd_trans(64, 0, 0x10, ITD_IOC));
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(itd_status(&e, ITD(0), 0), ==, (6u << 16) | 0x10 |
                    ITD_IOC);
    g_assert_cmphex(itd_status(&e, ITD(0), 3), ==, (6u << 16) | (1 << 12) |
                    0xffc);
    g_assert_cmphex(itd_status(&e, ITD(0), 5), ==, 3 << 12);
    g_assert_cmphex(itd_status(&e, ITD(0), 1), ==, 0);  /* never active */
    qtest_memread(e.qts, ISO_BUF + 0x10, r, 7);
    g_assert_cmphex(r[0], ==, 1);
    g_assert_cmpuint(r[1] | r[2] << 8, ==, 1000);
    g_assert_cmpuint(r[3] | r[4] << 8, ==, 2000);
    g_assert_cmphex(r[6], ==, 0xee);                    /* 6 bytes only */
    qtest_memread(e.qts, ISO_BUF + 0x1ffc, r, 4);
    qtest_memread(e.qts, ISO_BUF + 0x2000, r + 4, 2);
    g_assert_cmphex(r[0], ==, 0);
    g_assert_cmpuint(r[1] | r[2] << 8, ==, 3000);
    g_assert_cmpuint(r[3] | r[4] << 8, ==, 4000);
    g_assert_cmphex(qtest_readb(e.qts, ISO_BUF + 0x3000), ==, 0xee);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & (STS_USBINT | STS_ERRINT), ==,
                    STS_USBINT);
    qehci_wr(&e.h, USBSTS, 0x3f);

    /* iTD 1 (OUT): a page select past the seven pages, a buffer running
     * off page 6, more than 3072 bytes, Mult 1 exceeded, and the stall */
    qtest_writel(e.qts, ITD(1) + 4 + 4 * 0, itd_trans(8, 7, 0, 0));
    qtest_writel(e.qts, ITD(1) + 4 + 4 * 1, itd_trans(0x200, 6, 0xf00, 0));
    qtest_writel(e.qts, ITD(1) + 4 + 4 * 2, itd_trans(3073, 0, 0, 0));
    qtest_writel(e.qts, ITD(1) + 4 + 4 * 3, itd_trans(65, 0, 0, 0));
    qtest_writel(e.qts, ITD(1) + 4 + 4 * 4, itd_trans(8, 0, 0, ITD_IOC));
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(itd_status(&e, ITD(1), 0), ==, ITD_DBERR | (8 << 16) |
                    (7 << 12));
    g_assert_cmphex(itd_status(&e, ITD(1), 1), ==, ITD_DBERR |
                    (0x200 << 16) | (6 << 12) | 0xf00);
    g_assert_cmphex(itd_status(&e, ITD(1), 2), ==, ITD_DBERR | (3073 << 16));
    g_assert_cmphex(itd_status(&e, ITD(1), 3), ==, ITD_XACTERR | (65 << 16));
    g_assert_cmphex(itd_status(&e, ITD(1), 4), ==, ITD_XACTERR | (8 << 16) |
                    ITD_IOC);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & (STS_USBINT | STS_ERRINT |
                    STS_HALTED), ==, STS_USBINT | STS_ERRINT);
    /* an iTD for an address nobody has: transaction error, runs on */
    write_itd(&e, ITD(1), 1, 9, 1, true, 8);
    qtest_writel(e.qts, ITD(1) + 4, itd_trans(8, 0, 0, 0));
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(itd_status(&e, ITD(1), 0), ==, ITD_XACTERR | (8 << 16));
    g_assert_cmphex(qehci_rd(&e.h, USBCMD) & CMD_RS, ==, CMD_RS);
    env_stop(&e);
}

static void test_sitd(void)
{
    Env e;
    uint8_t r[8];
    uint32_t st;

    /* siTD 0 (IN, from 0xffe of page 0 into page 1) -> siTD 1 -> end */
    isoch_start(&e);
    write_sitd(&e, SITD(1), 1, 7, 1, true, 64, false, 0, 4, 0);
    qtest_writel(e.qts, SITD(1) + 12, 0);               /* idle */
    write_sitd(&e, SITD(0), SITD(1) | (2 << 1), 7, 1, true, 64, false,
               0xffe, 0, 0x01);
    qtest_writel(e.qts, SITD(0) + 12, 0);               /* idle */
    isoch_link(&e, SITD(0) | (2 << 1));
    qtest_clock_step(e.qts, 2 * 1000000);
    tablet_event(&e, 5000, 6000, true);
    qtest_memset(e.qts, ISO_BUF, 0xee, 0x8000);
    write_sitd(&e, SITD(0), SITD(1) | (2 << 1), 7, 1, true, 64, false,
               0xffe, 0, 0x01);
    qtest_clock_step(e.qts, 2 * 1000000);
    /* 6 of 64 bytes: Total Bytes 58, the offset on page 1 at 4 */
    st = qtest_readl(e.qts, SITD(0) + 12);
    g_assert_cmphex(st, ==, SITD_IOC | SITD_P | (58 << 16));
    g_assert_cmphex(qtest_readl(e.qts, SITD(0) + 16), ==, ISO_BUF | 4);
    qtest_memread(e.qts, ISO_BUF + 0xffe, r, 6);
    g_assert_cmphex(r[0], ==, 1);
    g_assert_cmpuint(r[1] | r[2] << 8, ==, 5000);
    g_assert_cmpuint(r[3] | r[4] << 8, ==, 6000);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & (STS_USBINT | STS_ERRINT), ==,
                    STS_USBINT);
    qehci_wr(&e.h, USBSTS, 0x3f);

    /* no report now: a zero-length packet, Total Bytes unchanged */
    write_sitd(&e, SITD(0), SITD(1) | (2 << 1), 7, 1, true, 64, true,
               0x10, 0, 0x01);
    /* siTD 1 has no S-mask: never started, stays active */
    write_sitd(&e, SITD(1), 1, 7, 1, true, 64, false, 0, 4, 0);
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(qtest_readl(e.qts, SITD(0) + 12), ==,
                    SITD_IOC | SITD_P | (64 << 16));
    g_assert_cmphex(qtest_readl(e.qts, SITD(1) + 12), ==,
                    SITD_IOC | (64 << 16) | SITD_ACTIVE);

    /* a buffer running past page 1; an OUT the tablet stalls */
    write_sitd(&e, SITD(0), SITD(1) | (2 << 1), 7, 1, true, 0x200, true,
               0xf00, 0, 0x01);
    write_sitd(&e, SITD(1), 1, 7, 1, false, 8, false, 0, 4, 0x01);
    qtest_clock_step(e.qts, 2 * 1000000);
    g_assert_cmphex(qtest_readl(e.qts, SITD(0) + 12), ==,
                    SITD_IOC | SITD_P | (0x200 << 16) | SITD_DBERR);
    g_assert_cmphex(qtest_readl(e.qts, SITD(1) + 12), ==,
                    SITD_IOC | (8 << 16) | SITD_XACTERR);
    g_assert_cmphex(qehci_rd(&e.h, USBSTS) & (STS_USBINT | STS_ERRINT |
                    STS_HALTED), ==, STS_USBINT | STS_ERRINT);
    env_stop(&e);
}

/* Hostile periodic lists: bounded, ending in Host System Error. */
static void test_isoch_hostile(void)
{
    Env e;
    gint64 t0 = g_get_monotonic_time();

    /* an iTD outside RAM */
    isoch_start(&e);
    isoch_link(&e, 0xf0000000u | (0 << 1));
    qtest_clock_step(e.qts, 2 * 1000000);
    assert_hse(&e);
    env_stop(&e);

    /* an iTD's buffer outside RAM */
    isoch_start(&e);
    write_itd(&e, ITD(0), 1, 7, 1, false, 0);
    qtest_writel(e.qts, ITD(0) + 36 + 4 * 2, 0xf0000000u | 1);
    qtest_writel(e.qts, ITD(0) + 4, itd_trans(8, 2, 0, 0));
    isoch_link(&e, ITD(0));
    qtest_clock_step(e.qts, 2 * 1000000);
    assert_hse(&e);
    env_stop(&e);

    /* an iTD linked to itself; then two siTDs linked to each other */
    isoch_start(&e);
    write_itd(&e, ITD(0), ITD(0), 7, 1, true, 0);
    isoch_link(&e, ITD(0));
    qtest_clock_step(e.qts, 2 * 1000000);
    assert_hse(&e);
    env_stop(&e);
    isoch_start(&e);
    write_sitd(&e, SITD(0), SITD(1) | (2 << 1), 7, 1, true, 8, false, 0, 0,
               0x01);
    write_sitd(&e, SITD(1), SITD(0) | (2 << 1), 7, 1, true, 8, false, 0, 2,
               0x01);
    isoch_link(&e, SITD(0) | (2 << 1));
    qtest_clock_step(e.qts, 2 * 1000000);
    assert_hse(&e);
    env_stop(&e);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
}

#ifdef CONFIG_LIBUSB
/* usb-host: this host has no USB devices, so every lookup fails with a
 * clear line; the options are checked first. */
static void test_usb_host_errors(void)
{
    static const char *const cases[][2] = {
        { "usb-host,vendorid=0x1234,productid=0x5678",
          "usb-host: no host USB device matches vendorid=0x1234 "
          "productid=0x5678" },
        { "usb-host,hostbus=3,hostaddr=9",
          "usb-host: no host USB device matches hostbus=3 hostaddr=9" },
        { "usb-host,hostbus=1,hostport=1.4",
          "usb-host: no host USB device matches hostbus=1 hostport=1.4" },
        { "usb-host", "usb-host: give hostbus= and hostaddr=" },
        { "usb-host,hostaddr=200", "usb-host: hostaddr is 1-127" },
        { "usb-host,vendorid=0x12345", "vendorid and productid 16 bits" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *argv[] = { qtest_kvmpc_binary(), "-nodefaults",
                               "-accel", "qtest", "-display", "none",
                               "-device", "usb-ehci,id=ehci",
                               "-device", cases[i][0], NULL };
        g_autofree char *err = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                                   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                   NULL, &err, &status, NULL));
        g_assert_false(g_spawn_check_wait_status(status, NULL));
        if (!strstr(err, cases[i][1]) &&
            strstr(err, "cannot use host USB (libusb_init")) {
            /* a host without USB at all (no usbfs, no sysfs) */
            g_test_message("libusb unusable here: %s", err);
            continue;
        }
        if (!strstr(err, cases[i][1])) {
            g_test_message("case %u: %s", i, err);
        }
        g_assert_nonnull(strstr(err, cases[i][1]));
    }
}
#endif

#ifdef CONFIG_USBREDIR
/*
 * The usbredir peer: the "USB host" side of the protocol, as
 * usbredirserver or a SPICE client would be, announcing a high-speed
 * vendor-class device 1d6b:0104 with bulk EP1 IN and EP2 OUT.
 */
typedef struct Peer {
    struct usbredirparser *p;
    int fd;
    bool got_hello, rejected;
    int got_filter;             /* rules kvmpc sent */
    int config;
    uint8_t bulk_out[4096];
    size_t bulk_out_len;
    uint8_t ctrl_out[64];
    size_t ctrl_out_len;
    /* the audio-like device of /usb-redir/isochronous */
    bool iso_dev;
    bool full_speed;            /* announce it at full speed */
    int alt;                    /* interface 1's alternate setting */
    unsigned iso_starts, iso_stops;
    struct usb_redir_start_iso_stream_header start[8];
    uint8_t stop_ep[8];
    unsigned iso_out_n;         /* iso packets received for EP4 OUT */
    unsigned iso_out_total;     /* ... all of them (iso_out keeps 8) */
    uint8_t iso_out[8][256];
    size_t iso_out_len[8];
} Peer;

static Peer *peer;

static int peer_read(void *priv, uint8_t *data, int count)
{
    Peer *pe = priv;
    ssize_t n = recv(pe->fd, data, count, MSG_DONTWAIT);

    return n < 0 ? (errno == EAGAIN ? 0 : -1) : (n ? n : -1);
}

static int peer_write(void *priv, uint8_t *data, int count)
{
    Peer *pe = priv;

    return write(pe->fd, data, count);
}

static void peer_flush(Peer *pe)
{
    while (usbredirparser_has_data_to_write(pe->p)) {
        g_assert_cmpint(usbredirparser_do_write(pe->p), ==, 0);
    }
}

static void peer_announce(Peer *pe)
{
    struct usb_redir_interface_info_header ii = { .interface_count = 1 };
    struct usb_redir_ep_info_header ei;
    struct usb_redir_device_connect_header dc = {
        .speed = usb_redir_speed_high, .vendor_id = 0x1d6b,
        .product_id = 0x0104, .device_version_bcd = 0x0100,
    };

    ii.interface_class[0] = 0xff;
    memset(&ei, 0, sizeof(ei));
    memset(ei.type, usb_redir_type_invalid, sizeof(ei.type));
    ei.type[0] = ei.type[16] = usb_redir_type_control;
    ei.max_packet_size[0] = ei.max_packet_size[16] = 64;
    ei.type[16 + 1] = usb_redir_type_bulk;        /* EP1 IN */
    ei.max_packet_size[16 + 1] = 512;
    ei.type[2] = usb_redir_type_bulk;             /* EP2 OUT */
    ei.max_packet_size[2] = 512;
    usbredirparser_send_interface_info(pe->p, &ii);
    usbredirparser_send_ep_info(pe->p, &ei);
    usbredirparser_send_device_connect(pe->p, &dc);
}

/*
 * The audio-like device, high speed 1d6b:0105: interface 0 (audio
 * control) with bulk EP1 IN standing in for anything not isochronous,
 * interface 1 (audio streaming) whose alternate setting 1 has EP3 IN and
 * EP4 OUT, isochronous, 192 bytes, every micro-frame.  ep_info describes
 * the current alternate setting, as usbredirhost sends it.
 */
#define ISO_MPS         192

static void peer_iso_ep_info(Peer *pe)
{
    struct usb_redir_ep_info_header ei;

    memset(&ei, 0, sizeof(ei));
    memset(ei.type, usb_redir_type_invalid, sizeof(ei.type));
    ei.type[0] = ei.type[16] = usb_redir_type_control;
    ei.max_packet_size[0] = ei.max_packet_size[16] = 64;
    ei.type[16 + 1] = usb_redir_type_bulk;
    ei.max_packet_size[16 + 1] = 512;
    if (pe->alt == 1) {
        ei.type[16 + 3] = ei.type[4] = usb_redir_type_iso;
        ei.max_packet_size[16 + 3] = ei.max_packet_size[4] = ISO_MPS;
        ei.interval[16 + 3] = ei.interval[4] = 1;
        ei.interface[16 + 3] = ei.interface[4] = 1;
    }
    usbredirparser_send_ep_info(pe->p, &ei);
}

static void peer_announce_iso(Peer *pe)
{
    struct usb_redir_interface_info_header ii = { .interface_count = 2 };
    struct usb_redir_device_connect_header dc = {
        .speed = usb_redir_speed_high, .vendor_id = 0x1d6b,
        .product_id = 0x0105, .device_version_bcd = 0x0100,
    };

    if (pe->full_speed) {
        dc.speed = usb_redir_speed_full;
    }
    ii.interface[1] = 1;
    ii.interface_class[0] = ii.interface_class[1] = 1;     /* audio */
    ii.interface_subclass[0] = 1;
    ii.interface_subclass[1] = 2;
    usbredirparser_send_interface_info(pe->p, &ii);
    peer_iso_ep_info(pe);
    usbredirparser_send_device_connect(pe->p, &dc);
}

static void peer_hello(void *priv, struct usb_redir_hello_header *h)
{
    Peer *pe = priv;

    pe->got_hello = true;
    if (pe->iso_dev) {
        peer_announce_iso(pe);
    } else {
        peer_announce(pe);
    }
}

/* usbredirhost's answer to set_alt_setting: the new ep_info, then the
 * status */
static void peer_set_alt(void *priv, uint64_t id,
                         struct usb_redir_set_alt_setting_header *h)
{
    Peer *pe = priv;
    struct usb_redir_alt_setting_status_header st = {
        .status = usb_redir_success, .interface = h->interface,
        .alt = h->alt,
    };

    if (h->interface == 1 && h->alt <= 1) {
        pe->alt = h->alt;
        peer_iso_ep_info(pe);
    } else {
        st.status = usb_redir_inval;
    }
    usbredirparser_send_alt_setting_status(pe->p, id, &st);
}

static void peer_start_iso(void *priv, uint64_t id,
                           struct usb_redir_start_iso_stream_header *h)
{
    Peer *pe = priv;
    struct usb_redir_iso_stream_status_header st = {
        .status = usb_redir_success, .endpoint = h->endpoint,
    };

    pe->start[pe->iso_starts++ % 8] = *h;
    usbredirparser_send_iso_stream_status(pe->p, id, &st);
}

static void peer_stop_iso(void *priv, uint64_t id,
                          struct usb_redir_stop_iso_stream_header *h)
{
    Peer *pe = priv;

    pe->stop_ep[pe->iso_stops++ % 8] = h->endpoint;
}

static void peer_iso_packet(void *priv, uint64_t id,
                            struct usb_redir_iso_packet_header *h,
                            uint8_t *data, int len)
{
    Peer *pe = priv;

    if (h->endpoint == 0x04) {
        pe->iso_out_total++;
    }
    if (h->endpoint == 0x04 && pe->iso_out_n < 8) {
        pe->iso_out_len[pe->iso_out_n] = MIN((size_t)len, 256u);
        memcpy(pe->iso_out[pe->iso_out_n], data,
               pe->iso_out_len[pe->iso_out_n]);
        pe->iso_out_n++;
    }
    usbredirparser_free_packet_data(pe->p, data);
}

static void peer_control(void *priv, uint64_t id,
                         struct usb_redir_control_packet_header *h,
                         uint8_t *data, int len)
{
    static const uint8_t dev_desc[18] = {
        18, 1, 0x00, 0x02, 0xff, 0, 0, 64, 0x6b, 0x1d, 0x04, 0x01,
        0x00, 0x01, 0, 0, 0, 1,
    };
    Peer *pe = priv;
    struct usb_redir_control_packet_header r = *h;
    const uint8_t *reply = NULL;
    int rlen = 0;

    r.status = usb_redir_success;
    if (h->requesttype == 0x80 && h->request == 6 && h->value == 0x100) {
        reply = dev_desc;
        rlen = MIN(18, h->length);
    } else if (h->requesttype == 0xc0 && h->request == 1) {
        reply = (const uint8_t *)"kvmpc-redir";
        rlen = MIN(11, h->length);
    } else if (h->requesttype == 0x02 && h->request == 1 && !h->value) {
        /* CLEAR_FEATURE(ENDPOINT_HALT): accepted */
    } else if (h->requesttype == 0x40 && h->request == 2) {
        pe->ctrl_out_len = MIN((size_t)len, sizeof(pe->ctrl_out));
        memcpy(pe->ctrl_out, data, pe->ctrl_out_len);
    } else {
        r.status = usb_redir_stall;
    }
    r.length = rlen;
    usbredirparser_send_control_packet(pe->p, id, &r, (uint8_t *)reply,
                                       rlen);
    usbredirparser_free_packet_data(pe->p, data);
}

static void peer_set_config(void *priv, uint64_t id,
                            struct usb_redir_set_configuration_header *h)
{
    Peer *pe = priv;
    struct usb_redir_configuration_status_header st = {
        .status = usb_redir_success, .configuration = h->configuration,
    };

    pe->config = h->configuration;
    usbredirparser_send_configuration_status(pe->p, id, &st);
}

static void peer_bulk(void *priv, uint64_t id,
                      struct usb_redir_bulk_packet_header *h,
                      uint8_t *data, int len)
{
    Peer *pe = priv;
    struct usb_redir_bulk_packet_header r = *h;

    r.status = usb_redir_success;
    if (h->endpoint == 0x81) {
        uint8_t buf[100];
        for (unsigned i = 0; i < sizeof(buf); i++) {
            buf[i] = i * 3 + 1;
        }
        r.length = MIN(100, h->length);
        r.length_high = 0;
        usbredirparser_send_bulk_packet(pe->p, id, &r, buf, r.length);
    } else {
        pe->bulk_out_len = MIN((size_t)len, sizeof(pe->bulk_out));
        memcpy(pe->bulk_out, data, pe->bulk_out_len);
        usbredirparser_send_bulk_packet(pe->p, id, &r, NULL, 0);
    }
    usbredirparser_free_packet_data(pe->p, data);
}

static void peer_filter_reject(void *priv)
{
    ((Peer *)priv)->rejected = true;
}

static void peer_log(void *priv, int level, const char *msg)
{
    if (level <= usbredirparser_warning) {
        g_test_message("peer: %s", msg);
    }
}

static void peer_reset(void *priv)
{
}

static void peer_disconnect_ack(void *priv)
{
}

static void peer_cancel(void *priv, uint64_t id)
{
}

static void peer_filter(void *priv, struct usbredirfilter_rule *rules,
                        int count)
{
    ((Peer *)priv)->got_filter = count;
    usbredirfilter_free(rules);
}

static void peer_pump(void)
{
    struct pollfd pfd = { .fd = peer->fd, .events = POLLIN };

    if (poll(&pfd, 1, 1) > 0) {
        g_assert_cmpint(usbredirparser_do_read(peer->p), ==, 0);
    }
    peer_flush(peer);
}

static Peer *peer_connect_dev(const char *path, bool iso_dev)
{
    Peer *pe = g_new0(Peer, 1);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };

    pe->iso_dev = iso_dev;
    pe->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(connect(pe->fd, (struct sockaddr *)&sa, sizeof(sa)),
                    ==, 0);
    pe->p = usbredirparser_create();
    pe->p->priv = pe;
    pe->p->log_func = peer_log;
    pe->p->read_func = peer_read;
    pe->p->write_func = peer_write;
    pe->p->hello_func = peer_hello;
    pe->p->control_packet_func = peer_control;
    pe->p->set_configuration_func = peer_set_config;
    pe->p->bulk_packet_func = peer_bulk;
    pe->p->filter_reject_func = peer_filter_reject;
    pe->p->reset_func = peer_reset;
    pe->p->device_disconnect_ack_func = peer_disconnect_ack;
    pe->p->cancel_data_packet_func = peer_cancel;
    pe->p->filter_filter_func = peer_filter;
    pe->p->set_alt_setting_func = peer_set_alt;
    pe->p->start_iso_stream_func = peer_start_iso;
    pe->p->stop_iso_stream_func = peer_stop_iso;
    pe->p->iso_packet_func = peer_iso_packet;
    usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_filter);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_device_disconnect_ack);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
    usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
    usbredirparser_init(pe->p, "kvmpc-test-peer", caps, USB_REDIR_CAPS_SIZE,
                        usbredirparser_fl_usb_host);
    peer_flush(pe);
    return pe;
}

static Peer *peer_connect(const char *path)
{
    return peer_connect_dev(path, false);
}

static void peer_free(Peer *pe)
{
    usbredirparser_destroy(pe->p);
    close(pe->fd);
    g_free(pe);
}

/* Pump the peer until PORTSC(@port)'s CCS is @ccs (5 s at most). */
static void wait_connect(Env *e, unsigned port, bool ccs)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (!!(qehci_rd(&e->h, PORTSC(port)) & PORT_CCS) != ccs &&
           g_get_monotonic_time() < deadline) {
        peer_pump();
        qtest_clock_step(e->qts, 0);
    }
    g_assert_cmpint(!!(qehci_rd(&e->h, PORTSC(port)) & PORT_CCS), ==, ccs);
}

static void test_redir(void)
{
    Env e;
    g_autofree char *sock = g_strdup_printf("%s/kvmpc-redir-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *devs = g_strdup_printf(
        "-chardev socket,id=r,path=%s,server=on,wait=off "
        "-device usb-redir,chardev=r,bus=ehci.0,port=2,id=redir", sock);
    uint8_t buf[512], pat[300];
    int n;

    env_start(&e, devs);
    qehci_hc_start(&e.h, 0);
    /* nothing announced yet: the port is empty */
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(1)) & PORT_CCS, ==, 0);
    peer = peer_connect(sock);
    e.h.frame_hook = peer_pump;
    wait_connect(&e, 1, true);
    g_assert_true(peer->got_hello);
    g_assert_true(qehci_port_reset(&e.h, 1));               /* high speed */
    n = qehci_control(&e.h, 0, 0x80, 6, 0x100, 0, 18, buf);
    g_assert_cmpint(n, ==, 18);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x1d6b);
    g_assert_cmphex(buf[10] | buf[11] << 8, ==, 0x0104);
    g_assert_cmpint(qehci_control(&e.h, 0, 0x00, 5, 3, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qehci_control(&e.h, 3, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(peer->config, ==, 1);
    /* vendor requests both ways, and a stall */
    g_assert_cmpint(qehci_control(&e.h, 3, 0x40, 2, 0, 0, 5,
                                  (uint8_t *)"ABCDE"),
                    ==, 5);
    g_assert_cmpuint(peer->ctrl_out_len, ==, 5);
    g_assert_cmpmem(peer->ctrl_out, 5, "ABCDE", 5);
    n = qehci_control(&e.h, 3, 0xc0, 1, 0, 0, 32, buf);
    g_assert_cmpint(n, ==, 11);
    g_assert_cmpmem(buf, 11, "kvmpc-redir", 11);
    g_assert_cmpint(qehci_control(&e.h, 3, 0xc0, 7, 0, 0, 4, buf), ==, -1);
    /* bulk OUT: the peer gets the bytes; bulk IN: a short answer */
    for (unsigned i = 0; i < sizeof(pat); i++) {
        pat[i] = i ^ 0x5a;
    }
    qtest_memwrite(e.qts, DATA + 0x1ff0, pat, sizeof(pat));
    g_assert_cmpint(qehci_bulk(&e.h, 3, 2, false, DATA + 0x1ff0, sizeof(pat),
                               true), ==,
                    sizeof(pat));
    g_assert_cmpuint(peer->bulk_out_len, ==, sizeof(pat));
    g_assert_cmpmem(peer->bulk_out, sizeof(pat), pat, sizeof(pat));
    g_assert_cmpint(qehci_bulk(&e.h, 3, 1, true, DATA + 0x3000, 512, true),
                    ==, 100);
    qtest_memread(e.qts, DATA + 0x3000, buf, 100);
    for (unsigned i = 0; i < 100; i++) {
        g_assert_cmpuint(buf[i], ==, (uint8_t)(i * 3 + 1));
    }
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": "
            "\"human-monitor-command\", \"arguments\": {\"command-line\": "
            "\"info usb\"}}");
        g_assert_nonnull(strstr(r, "Port 2, Speed 480 Mb/s, Product USB "
                                   "Redirection Device, ID: redir"));
    }
    /* the peer unplugs: a disconnect on the port */
    usbredirparser_send_device_disconnect(peer->p);
    peer_flush(peer);
    wait_connect(&e, 1, false);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(1)) & PORT_CSC, ==, PORT_CSC);
    e.h.frame_hook = NULL;
    peer_free(peer);
    peer = NULL;
    env_stop(&e);
    unlink(sock);
}

/* filter= lets only vendor 0x1234 through: the peer's device is refused */
static void test_redir_filter(void)
{
    Env e;
    g_autofree char *sock = g_strdup_printf("%s/kvmpc-redirf-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *devs = g_strdup_printf(
        "-chardev socket,id=r,path=%s,server=on,wait=off "
        "-device usb-redir,chardev=r,bus=ehci.0,port=2,"
        "filter=-1:0x1234:-1:-1:1|-1:-1:-1:-1:0", sock);
    gint64 deadline;

    env_start(&e, devs);
    qehci_hc_start(&e.h, 0);
    peer = peer_connect(sock);
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (!peer->rejected && g_get_monotonic_time() < deadline) {
        peer_pump();
    }
    g_assert_true(peer->rejected);
    g_assert_cmpint(peer->got_filter, ==, 2);
    g_assert_cmphex(qehci_rd(&e.h, PORTSC(1)) & PORT_CCS, ==, 0);
    peer_free(peer);
    peer = NULL;
    env_stop(&e);
    unlink(sock);
}
/* ---- usb-redir isochronous ---------------------------------------------- */

/* An iTD for isochronous endpoint @ep of device 3, ISO_MPS bytes, Mult 1 */
static void write_iso_itd(Env *e, uint32_t a, uint32_t next, unsigned ep,
                          bool in, unsigned page0)
{
    write_itd(e, a, next, 3, ep, in, page0);
    qtest_writel(e->qts, a + 36 + 4,
                 (ISO_BUF + 0x1000 * (page0 + 1)) | (in ? ITD_IN : 0) |
                 ISO_MPS);
}

/* Everything the peer sent before has reached usb-redir: a control
 * request's answer comes back on the same ordered stream. */
static void redir_barrier(Env *e)
{
    uint8_t buf[32];

    peer_flush(peer);
    g_assert_cmpint(qehci_control(&e->h, 3, 0xc0, 1, 0, 0, 32, buf), ==, 11);
}

/* The same through the companion UHCI. */
static void redir_barrier_uhci(Env *e)
{
    uint8_t buf[32];

    peer_flush(peer);
    g_assert_cmpint(quhci_control(&e->u, 3, 0xc0, 1, 0, 0, 32, buf), ==, 11);
}

static void peer_send_iso(uint8_t ep, uint8_t status, const uint8_t *data,
                          unsigned len)
{
    struct usb_redir_iso_packet_header h = {
        .endpoint = ep, .status = status, .length = len,
    };

    usbredirparser_send_iso_packet(peer->p, 0, &h, (uint8_t *)data, len);
}

/* Arm IN transactions 0..@n-1 of ITD(0) (ISO_MPS bytes at 0x200 * uf of
 * page 0), run a frame. */
static void run_iso_in(Env *e, unsigned n)
{
    qtest_memset(e->qts, ISO_BUF, 0xee, 0x1000);
    for (unsigned uf = 0; uf < n; uf++) {
        qtest_writel(e->qts, ITD(0) + 4 + 4 * uf,
                     itd_trans(ISO_MPS, 0, 0x200 * uf, 0));
    }
    qtest_clock_step(e->qts, 2 * 1000000);
}

static void pump_until(unsigned *counter, unsigned want)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (*counter < want && g_get_monotonic_time() < deadline) {
        peer_pump();
    }
    g_assert_cmpuint(*counter, ==, want);
}

/* usb-redir holds half the URBs' packets before it delivers: 3 x 32 / 2
 * at high speed, 3 x 8 / 2 at full speed (docs/usb.md) */
#define REDIR_ISO_TARGET_HS     48
#define REDIR_ISO_TARGET_FS     12

/* Packet @seq of the IN tests: 100-180 bytes of a pattern of @seq. */
static unsigned iso_seq_len(unsigned seq)
{
    return 100 + 20 * (seq % 5);
}

static void peer_send_seq(unsigned seq)
{
    uint8_t pkt[ISO_MPS];

    for (unsigned j = 0; j < sizeof(pkt); j++) {
        pkt[j] = seq * 7 + j;
    }
    peer_send_iso(0x83, usb_redir_success, pkt, iso_seq_len(seq));
}

/* Transaction @uf of ITD(0) carried packet @seq, whole. */
static void check_iso_seq(Env *e, unsigned uf, unsigned seq)
{
    unsigned len = iso_seq_len(seq);
    uint8_t buf[ISO_MPS];

    g_assert_cmphex(itd_status(e, ITD(0), uf), ==, (len << 16) | (0x200 * uf));
    qtest_memread(e->qts, ISO_BUF + 0x200 * uf, buf, ISO_MPS);
    for (unsigned j = 0; j < len; j++) {
        g_assert_cmpuint(buf[j], ==, (uint8_t)(seq * 7 + j));
    }
    g_assert_cmphex(buf[len], ==, 0xee);
}

/* Eight IN transactions of ITD(0) that must all be empty packets. */
static void run_iso_in_empty(Env *e)
{
    run_iso_in(e, 8);
    for (unsigned uf = 0; uf < 8; uf++) {
        g_assert_cmphex(itd_status(e, ITD(0), uf), ==, 0x200 * uf);
    }
}

/* IN transactions in frames of eight until packet @last: every one
 * carries the next packet from *@seq, in order; nothing after @last. */
static void run_iso_in_until(Env *e, unsigned *seq, unsigned last)
{
    while (*seq <= last) {
        run_iso_in(e, 8);
        for (unsigned uf = 0; uf < 8; uf++) {
            if (*seq <= last) {
                check_iso_seq(e, uf, (*seq)++);
            } else {
                /* the ring ran dry: an empty packet */
                g_assert_cmphex(itd_status(e, ITD(0), uf), ==, 0x200 * uf);
            }
        }
    }
}

/*
 * IN: nothing is delivered before the ring holds its target; then the
 * peer's packets reach the iTD transactions in order; after the ring ran
 * dry, empty packets until it holds the target again.  OUT: the iTD's
 * data arrive as iso packets.
 */
static void redir_iso_in_out(Env *e)
{
    uint8_t pkt[ISO_MPS];
    unsigned sent = 0, seq = 0;

    /* the first IN transaction starts the stream and finds nothing */
    run_iso_in(e, 1);
    g_assert_cmphex(itd_status(e, ITD(0), 0), ==, 0);
    pump_until(&peer->iso_starts, 1);
    g_assert_cmphex(peer->start[0].endpoint, ==, 0x83);
    g_assert_cmpuint(peer->start[0].pkts_per_urb, ==, 32);
    g_assert_cmpuint(peer->start[0].no_urbs, ==, 3);

    /* one packet short of the target: still filling */
    while (sent < REDIR_ISO_TARGET_HS - 1) {
        peer_send_seq(sent++);
    }
    redir_barrier(e);
    run_iso_in_empty(e);
    /* the target reached: all of them, in order, then empty packets */
    peer_send_seq(sent++);
    redir_barrier(e);
    run_iso_in_until(e, &seq, sent - 1);
    run_iso_in_empty(e);

    /* after the underrun the ring fills to the target again */
    while (sent < 2 * REDIR_ISO_TARGET_HS - 10) {
        peer_send_seq(sent++);
    }
    redir_barrier(e);
    run_iso_in_empty(e);
    while (sent < 2 * REDIR_ISO_TARGET_HS) {
        peer_send_seq(sent++);
    }
    redir_barrier(e);
    run_iso_in_until(e, &seq, sent - 1);
    g_assert_cmpuint(seq, ==, 2 * REDIR_ISO_TARGET_HS);

    /* OUT: three transactions of EP4 (page 8 on), the first starts it */
    for (unsigned uf = 0; uf < 3; uf++) {
        for (unsigned j = 0; j < sizeof(pkt); j++) {
            pkt[j] = uf * 31 + j * 5;
        }
        qtest_memwrite(e->qts, ISO_BUF + 0x8000 + 0x100 * uf, pkt, ISO_MPS);
        qtest_writel(e->qts, ITD(1) + 4 + 4 * uf,
                     itd_trans(50 + 60 * uf, 0, 0x100 * uf, 0));
    }
    qtest_clock_step(e->qts, 2 * 1000000);
    for (unsigned uf = 0; uf < 3; uf++) {
        g_assert_cmphex(itd_status(e, ITD(1), uf), ==,
                        ((50 + 60 * uf) << 16) | (0x100 * uf));
    }
    pump_until(&peer->iso_out_n, 3);
    g_assert_cmpuint(peer->iso_starts, ==, 2);
    g_assert_cmphex(peer->start[1].endpoint, ==, 0x04);
    for (unsigned uf = 0; uf < 3; uf++) {
        g_assert_cmpuint(peer->iso_out_len[uf], ==, 50 + 60 * uf);
        for (unsigned j = 0; j < peer->iso_out_len[uf]; j++) {
            g_assert_cmpuint(peer->iso_out[uf][j], ==,
                             (uint8_t)(uf * 31 + j * 5));
        }
    }
}

/* A peer faster than the guest: the ring keeps the newest 128 packets
 * (4 URBs of 32), in order; the older ones are dropped. */
static void redir_iso_overflow(Env *e)
{
    unsigned got = 0, next = 200 - 128;

    for (uint32_t i = 0; i < 200; i++) {
        uint8_t b[4] = { i, i >> 8, 0x5a, 0xa5 };
        peer_send_iso(0x83, usb_redir_success, b, 4);
    }
    redir_barrier(e);
    for (unsigned f = 0; f < 17; f++) {
        run_iso_in(e, 8);
        for (unsigned uf = 0; uf < 8; uf++) {
            uint32_t st = itd_status(e, ITD(0), uf);
            uint8_t b[4];

            if (!(st >> 16)) {
                continue;
            }
            g_assert_cmphex(st, ==, (4u << 16) | (0x200 * uf));
            qtest_memread(e->qts, ISO_BUF + 0x200 * uf, b, 4);
            g_assert_cmpuint(b[0] | b[1] << 8, ==, next);
            g_assert_cmphex(b[2], ==, 0x5a);
            next++;
            got++;
        }
    }
    g_assert_cmpuint(got, ==, 128);
    g_assert_cmpuint(next, ==, 200);
}

/* A hostile peer: an iso packet longer than the endpoint allows (babble
 * for its transaction, nothing written), one for a bulk endpoint and
 * stream statuses for endpoints without streams (ignored), a stream
 * failure (one transaction error, then the stream starts again). */
/*
 * A peer that stops reading while the guest streams isochronous OUT
 * data: kvmpc neither blocks nor drops the connection (the socket
 * chardev gives up on a peer 16 MiB behind), and what it holds for the
 * peer stays bounded: the packets past the parser's queue are dropped.
 * Once the peer reads again, everything queued reaches it and new
 * packets flow.
 */
static void redir_iso_slow_peer(Env *e)
{
    enum { FRAMES = 500 };      /* 4000 OUT packets, 768 KiB of data */
    unsigned before = peer->iso_out_total, got;
    gint64 deadline;

    for (unsigned f = 0; f < FRAMES; f++) {
        for (unsigned uf = 0; uf < 8; uf++) {
            qtest_writel(e->qts, ITD(1) + 4 + 4 * uf,
                         itd_trans(ISO_MPS, 0, 0x100 * uf, 0));
        }
        qtest_clock_step(e->qts, 1000000);
    }
    /* every transaction completed: the guest saw no error */
    for (unsigned uf = 0; uf < 8; uf++) {
        g_assert_cmphex(itd_status(e, ITD(1), uf), ==,
                        (ISO_MPS << 16) | (0x100 * uf));
    }
    /* still connected: the barrier's control request is answered after
     * everything queued before it */
    g_assert_cmphex(qehci_rd(&e->h, PORTSC(1)) & PORT_CCS, ==, PORT_CCS);
    redir_barrier(e);
    got = peer->iso_out_total - before;
    g_test_message("slow peer: %u of %u iso OUT packets arrived", got,
                   FRAMES * 8);
    /* The socket's buffers, the chardev's 64 KiB and the parser's 128
     * messages hold well under half of them; the rest were dropped. */
    g_assert_cmpuint(got, >=, 128);
    g_assert_cmpuint(got, <, FRAMES * 8 / 2);
    /* and the stream goes on */
    before = peer->iso_out_total;
    qtest_writel(e->qts, ITD(1) + 4, itd_trans(ISO_MPS, 0, 0, 0));
    qtest_clock_step(e->qts, 1000000);
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (peer->iso_out_total == before &&
           g_get_monotonic_time() < deadline) {
        peer_pump();
    }
    g_assert_cmpuint(peer->iso_out_total, ==, before + 1);
}

static void redir_iso_hostile(Env *e)
{
    uint8_t big[ISO_MPS + 1], buf[16];

    unsigned seq = 0;

    memset(big, 0x77, sizeof(big));
    peer_send_iso(0x83, usb_redir_success, big, sizeof(big));
    peer_send_iso(0x81, usb_redir_success, big, 8);
    peer_send_iso(0x83, usb_redir_success, (const uint8_t *)"after-big", 9);
    /* the rest of the target fill level */
    while (seq < REDIR_ISO_TARGET_HS - 2) {
        peer_send_seq(seq++);
    }
    {
        struct usb_redir_iso_stream_status_header st = {
            .status = usb_redir_stall, .endpoint = 0x8f,
        };
        usbredirparser_send_iso_stream_status(peer->p, 0, &st);
        st.endpoint = 0x81;
        usbredirparser_send_iso_stream_status(peer->p, 0, &st);
        st.endpoint = 0xf3;             /* reserved address bits */
        usbredirparser_send_iso_stream_status(peer->p, 0, &st);
    }
    redir_barrier(e);
    run_iso_in(e, 3);
    g_assert_cmphex(itd_status(e, ITD(0), 0), ==,
                    ITD_BABBLE | (ISO_MPS << 16));
    g_assert_cmphex(qtest_readb(e->qts, ISO_BUF), ==, 0xee);
    g_assert_cmphex(itd_status(e, ITD(0), 1), ==, (9u << 16) | 0x200);
    qtest_memread(e->qts, ISO_BUF + 0x200, buf, 9);
    g_assert_cmpmem(buf, 9, "after-big", 9);
    check_iso_seq(e, 2, 0);
    g_assert_cmphex(qehci_rd(&e->h, USBSTS) & STS_ERRINT, ==, STS_ERRINT);
    qehci_wr(&e->h, USBSTS, 0x3f);
    seq = 1;
    run_iso_in_until(e, &seq, REDIR_ISO_TARGET_HS - 3);
    run_iso_in_empty(e);

    /* the peer lost EP3's stream */
    {
        struct usb_redir_iso_stream_status_header st = {
            .status = usb_redir_ioerror, .endpoint = 0x83,
        };
        usbredirparser_send_iso_stream_status(peer->p, 0, &st);
    }
    redir_barrier(e);
    run_iso_in(e, 2);
    g_assert_cmphex(itd_status(e, ITD(0), 0), ==,
                    ITD_XACTERR | (ISO_MPS << 16));
    g_assert_cmphex(itd_status(e, ITD(0), 1), ==, 0x200);
    pump_until(&peer->iso_starts, 3);
    g_assert_cmphex(peer->start[2].endpoint, ==, 0x83);
    qehci_wr(&e->h, USBSTS, 0x3f);

    /* the device still answers, its bulk endpoint too */
    g_assert_cmphex(qehci_rd(&e->h, PORTSC(1)) & PORT_CCS, ==, PORT_CCS);
    g_assert_cmpint(qehci_bulk(&e->h, 3, 1, true, DATA + 0x3000, 512, true),
                    ==, 100);
}

static void test_redir_iso(void)
{
    Env e;
    g_autofree char *sock = g_strdup_printf("%s/kvmpc-redir-iso-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *devs = g_strdup_printf(
        "-chardev socket,id=r,path=%s,server=on,wait=off "
        "-device usb-redir,chardev=r,bus=ehci.0,port=2,id=redir", sock);
    gint64 t0 = g_get_monotonic_time();

    env_start(&e, devs);
    isoch_link(&e, 1);
    qehci_wr(&e.h, PERIODICLISTBASE, QEHCI_FRAMELIST);
    qehci_hc_start(&e.h, CMD_PSE);
    peer = peer_connect_dev(sock, true);
    e.h.frame_hook = peer_pump;
    wait_connect(&e, 1, true);
    g_assert_true(qehci_port_reset(&e.h, 1));
    g_assert_cmpint(qehci_control(&e.h, 0, 0x00, 5, 3, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qehci_control(&e.h, 3, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    /* SET_INTERFACE 1, alternate setting 1: the iso endpoints appear */
    g_assert_cmpint(qehci_control(&e.h, 3, 0x01, 11, 1, 1, 0, NULL), ==, 0);
    g_assert_cmpint(peer->alt, ==, 1);
    /* ITD(0): EP3 IN -> ITD(1): EP4 OUT -> end, in every frame */
    write_iso_itd(&e, ITD(0), ITD(1), 3, true, 0);
    write_iso_itd(&e, ITD(1), 1, 4, false, 8);
    isoch_link(&e, ITD(0));

    redir_iso_in_out(&e);
    redir_iso_overflow(&e);
    redir_iso_hostile(&e);
    redir_iso_slow_peer(&e);

    /* an endpoint reset (CLEAR_FEATURE(ENDPOINT_HALT), Linux's
     * usb_clear_halt) stops EP3's stream; its next transaction starts it */
    g_assert_cmpint(qehci_control(&e.h, 3, 0x02, 1, 0, 0x83, 0, NULL), ==, 0);
    pump_until(&peer->iso_stops, 1);
    g_assert_cmphex(peer->stop_ep[0], ==, 0x83);
    run_iso_in(&e, 1);
    g_assert_cmphex(itd_status(&e, ITD(0), 0), ==, 0);
    pump_until(&peer->iso_starts, 4);
    g_assert_cmphex(peer->start[3].endpoint, ==, 0x83);

    /* back to alternate setting 0: both streams stop first */
    g_assert_cmpint(qehci_control(&e.h, 3, 0x01, 11, 0, 1, 0, NULL), ==, 0);
    g_assert_cmpint(peer->alt, ==, 0);
    g_assert_cmpuint(peer->iso_stops, ==, 3);
    g_assert_cmphex(peer->stop_ep[1] ^ peer->stop_ep[2], ==, 0x83 ^ 0x04);
    /* a late packet is dropped; EP3 is no endpoint now: a stall, which
     * an iTD reports as a transaction error */
    peer_send_iso(0x83, usb_redir_success, (const uint8_t *)"late", 4);
    redir_barrier(&e);
    run_iso_in(&e, 1);
    g_assert_cmphex(itd_status(&e, ITD(0), 0), ==,
                    ITD_XACTERR | (ISO_MPS << 16));

    /* the peer unplugs */
    usbredirparser_send_device_disconnect(peer->p);
    peer_flush(peer);
    wait_connect(&e, 1, false);
    e.h.frame_hook = NULL;
    peer_free(peer);
    peer = NULL;
    env_stop(&e);
    unlink(sock);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 60 * G_USEC_PER_SEC);
}
#define UHCI_TD_ISO     (1u << 25)

/* @n isochronous TDs of EP@ep (device 3), each @len bytes at 0x200
 * apart from the UHCI's data + 0x1000, run in one go. */
static void run_uhci_iso(Env *e, unsigned n, bool in, unsigned ep,
                         unsigned len)
{
    uint32_t buf = e->u.data + 0x1000;

    if (in) {
        qtest_memset(e->qts, buf, 0xee, 0x200 * n);
    }
    for (unsigned i = 0; i < n; i++) {
        quhci_write_td(&e->u, i,
                       i + 1 < n ? e->u.td + 32 * (i + 1) + 4 : 1,
                       UHCI_TD_ISO, in ? UHCI_PID_IN : UHCI_PID_OUT, 3, ep,
                       len, buf + 0x200 * i);
    }
    quhci_run_tds(&e->u, n);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(quhci_td_ctrl(&e->u, i) & (TD_ACTIVE | TD_STALL),
                        ==, 0);
    }
}

/* The audio-like device at full speed, on the companion UHCI (kvmpc's
 * UHCI runs isochronous TDs as plain ones): 8 packets a URB, a ring of
 * 32. */
static void test_redir_iso_uhci(void)
{
    Env e;
    g_autofree char *sock = g_strdup_printf("%s/kvmpc-redir-isou-%d.sock",
                                            g_get_tmp_dir(), getpid());
    g_autofree char *devs = g_strdup_printf(
        "-chardev socket,id=r,path=%s,server=on,wait=off "
        "-device usb-redir,chardev=r,bus=ehci.0,port=2,id=redir", sock);
    uint32_t buf;
    uint8_t pkt[ISO_MPS];
    gint64 deadline;
    unsigned got = 0, next = 8;

    env_start(&e, devs);
    uhci_start(&e, 0);
    buf = e.u.data + 0x1000;
    peer = peer_connect_dev(sock, true);
    peer->full_speed = true;
    e.u.frame_hook = peer_pump;
    deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (!(qtest_inw(e.qts, UHCI_IO + 0x12) & 1) &&
           g_get_monotonic_time() < deadline) {
        peer_pump();
        qtest_clock_step(e.qts, 0);
    }
    g_assert_cmphex(qtest_inw(e.qts, UHCI_IO + 0x12) & 1, ==, 1);
    quhci_port_reset(&e.u, 1);
    g_assert_cmpint(quhci_control(&e.u, 0, 0x00, 5, 3, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 3, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(quhci_control(&e.u, 3, 0x01, 11, 1, 1, 0, NULL), ==, 0);

    /* the first IN starts the stream: 8 packets a URB at full speed */
    run_uhci_iso(&e, 1, true, 3, ISO_MPS);
    g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, 0)), ==, 0);
    pump_until(&peer->iso_starts, 1);
    g_assert_cmphex(peer->start[0].endpoint, ==, 0x83);
    g_assert_cmpuint(peer->start[0].pkts_per_urb, ==, 8);
    g_assert_cmpuint(peer->start[0].no_urbs, ==, 3);
    /* below the target fill level (12): nothing delivered */
    for (unsigned i = 0; i < REDIR_ISO_TARGET_FS; i++) {
        for (unsigned j = 0; j < sizeof(pkt); j++) {
            pkt[j] = i * 11 + j;
        }
        peer_send_iso(0x83, usb_redir_success, pkt, 50 + i);
        if (i == 2) {
            redir_barrier_uhci(&e);
            run_uhci_iso(&e, 4, true, 3, ISO_MPS);
            for (unsigned k = 0; k < 4; k++) {
                g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, k)), ==,
                                 0);
            }
        }
    }
    /* at the target: all twelve in order, then empty packets */
    redir_barrier_uhci(&e);
    for (unsigned r = 0; r < 2; r++) {
        run_uhci_iso(&e, 8, true, 3, ISO_MPS);
        for (unsigned k = 0; k < 8; k++) {
            unsigned i = r * 8 + k;

            if (i >= REDIR_ISO_TARGET_FS) {
                g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, k)), ==,
                                 0);
                continue;
            }
            g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, k)), ==,
                             50 + i);
            qtest_memread(e.qts, buf + 0x200 * k, pkt, 51 + i);
            for (unsigned j = 0; j < 50 + i; j++) {
                g_assert_cmpuint(pkt[j], ==, (uint8_t)(i * 11 + j));
            }
            g_assert_cmphex(pkt[50 + i], ==, 0xee);
        }
    }

    /* 40 packets into a ring of 32: the first 8 are dropped */
    for (uint32_t i = 0; i < 40; i++) {
        uint8_t b[4] = { i, 0x11, 0x22, 0x33 };
        peer_send_iso(0x83, usb_redir_success, b, 4);
    }
    redir_barrier_uhci(&e);
    for (unsigned r = 0; r < 5; r++) {
        run_uhci_iso(&e, 8, true, 3, ISO_MPS);
        for (unsigned i = 0; i < 8; i++) {
            if (quhci_actlen(quhci_td_ctrl(&e.u, i)) == 4) {
                g_assert_cmpuint(qtest_readb(e.qts, buf + 0x200 * i), ==,
                                 next);
                next++;
                got++;
            } else {
                g_assert_cmpuint(quhci_actlen(quhci_td_ctrl(&e.u, i)), ==,
                                 0);
            }
        }
    }
    g_assert_cmpuint(got, ==, 32);
    g_assert_cmpuint(next, ==, 40);

    /* OUT: one TD, one iso packet at the peer */
    for (unsigned j = 0; j < sizeof(pkt); j++) {
        pkt[j] = j ^ 0x3c;
    }
    qtest_memwrite(e.qts, buf, pkt, 100);
    run_uhci_iso(&e, 1, false, 4, 100);
    pump_until(&peer->iso_out_n, 1);
    g_assert_cmphex(peer->start[1].endpoint, ==, 0x04);
    g_assert_cmpuint(peer->start[1].pkts_per_urb, ==, 8);
    g_assert_cmpuint(peer->iso_out_len[0], ==, 100);
    g_assert_cmpmem(peer->iso_out[0], 100, pkt, 100);

    e.u.frame_hook = NULL;
    peer_free(peer);
    peer = NULL;
    env_stop(&e);
    unlink(sock);
}
#endif

/* Bad command lines: one clear line, exit status 1. */
static void test_bad_options(void)
{
    /* two -device arguments (the second may be NULL), the error */
    static const char *const cases[][3] = {
        { "ich9-usb-uhci1,masterbus=nonexistent.0", NULL,
          "USB bus 'nonexistent.0' not found" },
        { "ich9-usb-uhci1,masterbus=ehci.0,firstport=5", NULL,
          "firstport must be between 0 and 4" },
        { "ich9-usb-uhci1,masterbus=ehci.0,firstport=0",
          "ich9-usb-uhci2,masterbus=ehci.0,firstport=1",
          "already has a companion" },
        { "usb-kbd,bus=ehci.0,port=1", NULL, "speed mismatch" },
        { "piix3-usb-uhci,id=u", "ich9-usb-uhci1,masterbus=u.0",
          "does not allow companion controllers" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *argv[] = { qtest_kvmpc_binary(), "-nodefaults",
                               "-accel", "qtest", "-display", "none",
                               "-device", "usb-ehci,id=ehci",
                               "-device", cases[i][0],
                               cases[i][1] ? "-device" : NULL, cases[i][1],
                               NULL };
        g_autofree char *err = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                                   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                   NULL, &err, &status, NULL));
        g_assert_false(g_spawn_check_wait_status(status, NULL));
        if (!strstr(err, cases[i][2])) {
            g_test_message("case %u: %s", i, err);
        }
        g_assert_nonnull(strstr(err, cases[i][2]));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ehci/pci-and-registers", test_pci_and_regs);
    g_test_add_func("/ehci/port-routing", test_port_routing);
    g_test_add_func("/ehci/storage", test_storage);
    g_test_add_func("/ehci/tablet-periodic", test_tablet_periodic);
    g_test_add_func("/ehci/usb-bot-luns", test_bot_luns);
    g_test_add_func("/ehci/hostile", test_hostile);
    g_test_add_func("/ehci/isochronous/itd", test_itd);
    g_test_add_func("/ehci/isochronous/sitd", test_sitd);
    g_test_add_func("/ehci/isochronous/hostile", test_isoch_hostile);
    g_test_add_func("/ehci/bad-options", test_bad_options);
#ifdef CONFIG_LIBUSB
    g_test_add_func("/usb-host/errors", test_usb_host_errors);
#endif
#ifdef CONFIG_USBREDIR
    g_test_add_func("/usb-redir/ehci", test_redir);
    g_test_add_func("/usb-redir/filter", test_redir_filter);
    g_test_add_func("/usb-redir/isochronous", test_redir_iso);
    g_test_add_func("/usb-redir/isochronous-uhci", test_redir_iso_uhci);
#endif
    return g_test_run();
}
