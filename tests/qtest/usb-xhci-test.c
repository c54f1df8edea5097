/*
 * qemu-xhci / nec-usb-xhci (hw/usb/hcd-xhci.c) driven from a qtest: the
 * test is the xHCI driver (its plumbing: libqusb.c).  It maps BAR0, sets
 * up the DCBAA, a command ring, one event ring segment and transfer rings
 * in guest memory.
 *
 * Covered: PCI identity and capability registers, the supported protocol
 * capabilities, port status of a usb-tablet (USB 2 port, high speed) and
 * a usb-storage (USB 3 port, SuperSpeed), port reset with its port
 * status change event, Enable Slot / Address Device / Configure Endpoint
 * / Evaluate Context / Stop Endpoint / Set TR Dequeue / Reset Device /
 * Disable Slot / No-op, control transfers (GET_DESCRIPTOR device, config,
 * string, BOS, SET_CONFIGURATION), interrupt IN reports after QMP
 * input-send-event and send-key, usb-storage INQUIRY, READ CAPACITY,
 * WRITE and READ checked against the image file, and hostile input: a
 * command ring and a transfer ring made of Link TRBs only, bad slot ids,
 * a TD longer than the controller takes, a DCBAA outside RAM; INTx
 * through the PIIX3's PIRQ routing and MSI-X; an event ring of two ERST
 * segments filled up (Event Ring Full) and drained.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include "libqtest.h"
#include "libqusb.h"
#include "libqvirtio.h"

#define XHCI_DEVFN      (9 << 3)
#define BAR             QUSB_BAR
#define OPER            QXHCI_OPER
#define PORTS           QXHCI_PORTS
#define RUNTIME         QXHCI_RUNTIME
#define DOORBELL        QXHCI_DOORBELL
#define DATA            QXHCI_DATA

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
    char *img;
    QXhci x;
} Env;

static void env_start_args(Env *e, const char *ctrl, const char *devices)
{
    g_autofree char *qmp = NULL, *args = NULL;

    memset(e, 0, sizeof(*e));
    qusb_make_disk(1 << 20, &e->dir, &e->img);
    qmp = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-nodefaults -device %s,addr=09.0,id=xhci "
                           "-drive if=none,id=d0,format=raw,file=%s %s "
                           "-qmp unix:%s,server=on,wait=off",
                           ctrl, e->img, devices, qmp);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(qmp);
    qxhci_init(&e->x, e->qts, XHCI_DEVFN);
}

static void env_start(Env *e, const char *devices)
{
    env_start_args(e, "qemu-xhci", devices);
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

/* Configure endpoint @dci (type: 2 bulk out, 6 bulk in, 7 interrupt in). */
static void configure_ep(Env *e, unsigned slot, unsigned dci, unsigned type,
                         unsigned mps)
{
    g_assert_cmpuint(qxhci_configure_ep(&e->x, slot, dci, type, mps, 0,
                                        false), ==, CC_SUCCESS);
    g_assert_cmphex(qxhci_ep_state(&e->x, slot, dci), ==, 1);
}

/* One Normal TRB transfer; returns bytes moved or -completion code. */
static int transfer(Env *e, unsigned slot, unsigned dci, uint64_t buf,
                    unsigned len)
{
    QUsbEvent ev;

    qxhci_post(&e->x, slot, dci, 0, buf, len);
    ev = qxhci_event_wait(&e->x, TRB_EV_TRANSFER, 0, QXHCI_EV_ANY);
    g_assert_cmpuint((ev.control >> 16) & 0x1f, ==, dci);
    if (qxhci_cc(ev) == CC_SUCCESS || qxhci_cc(ev) == CC_SHORT) {
        return len - (ev.status & 0xffffff);
    }
    return -(int)qxhci_cc(ev);
}

/* ---- tests ---------------------------------------------------------- */

static void test_pci_and_caps(void)
{
    Env e;

    env_start(&e, "");
    g_assert_cmphex(qpci_cfg_readl(e.qts, XHCI_DEVFN, 0), ==, 0x000d1b36);
    g_assert_cmphex(qpci_cfg_readl(e.qts, XHCI_DEVFN, 8) >> 8, ==, 0x0c0330);
    g_assert_cmphex(qpci_cfg_readb(e.qts, XHCI_DEVFN, 0x60), ==, 0x30);
    g_assert_cmphex(qtest_readl(e.qts, BAR), ==, 0x01000040);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 4), ==, 0x08001040);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x14), ==, 0x2000);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x18), ==, 0x1000);
    /* supported protocols: USB 2.0 ports 1-4, USB 3.0 ports 5-8 */
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x20) >> 24, ==, 0x02);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x24), ==, 0x20425355);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x28), ==, 0x0401);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x30) >> 24, ==, 0x03);
    g_assert_cmphex(qtest_readl(e.qts, BAR + 0x38), ==, 0x0405);
    g_assert_cmphex(qtest_readl(e.qts, OPER + 4), ==, 1);       /* HCH */
    g_assert_cmphex(qtest_readl(e.qts, OPER + 8), ==, 1);       /* 4K */
    /* MSI-X capability with 16 vectors, table in BAR0 at 0x3000 */
    {
        uint8_t off = qpci_cfg_readb(e.qts, XHCI_DEVFN, 0x34);
        int found = 0;
        for (int i = 0; off && i < 16; i++) {
            if (qpci_cfg_readb(e.qts, XHCI_DEVFN, off) == 0x11) {
                g_assert_cmpuint(qpci_cfg_readw(e.qts, XHCI_DEVFN, off + 2)
                                 & 0x7ff, ==, 15);
                g_assert_cmphex(qpci_cfg_readl(e.qts, XHCI_DEVFN, off + 4),
                                ==, 0x3000);
                found = 1;
            }
            off = qpci_cfg_readb(e.qts, XHCI_DEVFN, off + 1);
        }
        g_assert_true(found);
    }
    env_stop(&e);

    env_start_args(&e, "nec-usb-xhci", "");
    g_assert_cmphex(qpci_cfg_readl(e.qts, XHCI_DEVFN, 0), ==, 0x01941033);
    env_stop(&e);
}

static void test_port_detect(void)
{
    Env e;
    QUsbEvent ev;

    env_start(&e, "-device usb-tablet,bus=xhci.0,port=1 "
              "-device usb-storage,bus=xhci.0,port=2,drive=d0");
    /* tablet: USB 2 port 1, high speed, connected, not yet enabled */
    g_assert_cmphex(qxhci_portsc(&e.x, 1) & 3, ==, 1);
    g_assert_cmpuint((qxhci_portsc(&e.x, 1) >> 10) & 0xf, ==, 3);
    g_assert_cmpuint((qxhci_portsc(&e.x, 1) >> 5) & 0xf, ==,
                     7);    /* Polling */
    /* storage: USB 3 port 6, SuperSpeed, enabled in U0 */
    g_assert_cmphex(qxhci_portsc(&e.x, 6) & 3, ==, 3);
    g_assert_cmpuint((qxhci_portsc(&e.x, 6) >> 10) & 0xf, ==, 4);
    g_assert_cmphex(qxhci_portsc(&e.x, 2) & 1, ==, 0);
    g_assert_cmphex(qxhci_portsc(&e.x, 5) & 1, ==, 0);
    qxhci_hc_start(&e.x);
    qtest_writel(e.qts, PORTS, 0x200 | 0x10);               /* PR */
    ev = qxhci_event_wait(&e.x, 34, 0, QXHCI_EV_ANY);
    g_assert_cmpuint(ev.param >> 24, ==, 1);
    g_assert_cmphex(qxhci_portsc(&e.x, 1) & 0x200003, ==, 0x200003);  /* PRC */
    qtest_writel(e.qts, PORTS, 0x200 | 0x220000);          /* ack */
    g_assert_cmphex(qxhci_portsc(&e.x, 1) & 0x220000, ==, 0);
    env_stop(&e);
}

static void test_enumerate_tablet(void)
{
    Env e;
    uint8_t buf[256];
    unsigned slot;
    int n;
    QUsbEvent ev;

    env_start(&e, "-device usb-tablet,bus=xhci.0,port=1 "
              "-device usb-kbd,bus=xhci.0,port=3");
    qxhci_hc_start(&e.x);
    slot = qxhci_address_device(&e.x, 1, 64);
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x100, 0, 18, buf);
    g_assert_cmpint(n, ==, 18);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0200);
    g_assert_cmpuint(buf[7], ==, 64);
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x200, 0, 255, buf);
    g_assert_cmpint(n, ==, 34);
    g_assert_cmpuint(buf[27 + 6], ==, 4);          /* bInterval, HS */
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x303, 0x409, 255, buf);
    g_assert_cmpint(n, ==, 32);
    /* BOS: the USB 2.0 extension */
    n = qxhci_control(&e.x, slot, 0x80, 6, 0xf00, 0, 255, buf);
    g_assert_cmpint(n, ==, 12);
    g_assert_cmpuint(buf[1], ==, 0x0f);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    /* an unknown request stalls: the endpoint halts */
    g_assert_cmpint(qxhci_control(&e.x, slot, 0xc0, 0x77, 0, 0, 4, buf), ==,
                    -6);
    g_assert_cmphex(qtest_readl(e.qts, QXHCI_OUT_CTX(slot) + 32) & 7, ==, 2);
    ev = qxhci_command(&e.x, 0, 0, (14 << 10) | (1 << 16) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);                     /* Reset EP */
    qxhci_ring_init(&e.x, &e.x.rings[slot][1], QXHCI_RING(slot, 1));
    ev = qxhci_command(&e.x, QXHCI_RING(slot, 1) | 1, 0,
                 (16 << 10) | (1 << 16) | (slot << 24));    /* Set TR Deq */
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x80, 8, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 1);

    configure_ep(&e, slot, 3, 7, 8);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"input-send-event\", "
        "\"arguments\": {\"events\": ["
        "{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 300}},"
        "{\"type\": \"abs\", \"data\": {\"axis\": \"y\", \"value\": 32767}},"
        "{\"type\": \"btn\", \"data\": {\"button\": \"right\", "
        "\"down\": true}}]}}"));
    n = transfer(&e, slot, 3, DATA + 0x1000, 8);
    g_assert_cmpint(n, ==, 6);
    qtest_memread(e.qts, DATA + 0x1000, buf, 6);
    g_assert_cmphex(buf[0], ==, 2);
    g_assert_cmpuint(buf[1] | buf[2] << 8, ==, 300);
    g_assert_cmpuint(buf[3] | buf[4] << 8, ==, 32767);
    /* nothing new: the TD waits (no event) until the next report */
    qxhci_ring_push(&e.x, &e.x.rings[slot][3], DATA + 0x1000, 8,
              (TRB_NORMAL << 10) | (1 << 5) | (1 << 2));
    qtest_writel(e.qts, DOORBELL + 4 * slot, 3);
    qtest_clock_step(e.qts, 2000000);
    g_assert_false(qxhci_event_next(&e.x, &ev));
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"input-send-event\", "
        "\"arguments\": {\"events\": ["
        "{\"type\": \"btn\", \"data\": {\"button\": \"right\", "
        "\"down\": false}}]}}"));
    ev = qxhci_event_wait(&e.x, 32, 0, QXHCI_EV_ANY);
    g_assert_cmpuint(qxhci_cc(ev), ==, 13);                    /* 6 of 8 */
    g_assert_cmphex(qtest_readb(e.qts, DATA + 0x1000), ==, 0);
    /* Stop Endpoint writes the dequeue pointer back */
    ev = qxhci_command(&e.x, 0, 0, (15 << 10) | (3 << 16) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    g_assert_cmphex(qtest_readl(e.qts, QXHCI_OUT_CTX(slot) + 32 * 3) & 7, ==,
                    3);

    /* the keyboard on USB 2 port 3 at full speed */
    slot = qxhci_address_device(&e.x, 3, 8);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    configure_ep(&e, slot, 3, 7, 8);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"send-key\", \"arguments\": "
                   "{\"keys\": [{\"type\": \"qcode\", \"data\": \"f1\"}]}}"));
    n = transfer(&e, slot, 3, DATA + 0x2000, 8);
    g_assert_cmpint(n, ==, 8);
    g_assert_cmphex(qtest_readb(e.qts, DATA + 0x2002), ==, 0x3a);  /* F1 */
    /* Reset Device and Disable Slot */
    ev = qxhci_command(&e.x, 0, 0, (17 << 10) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    g_assert_cmphex(qtest_readl(e.qts, QXHCI_OUT_CTX(slot) + 12) >> 27, ==, 1);
    ev = qxhci_command(&e.x, 0, 0, (10 << 10) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    ev = qxhci_command(&e.x, 0, 0, (10 << 10) | (slot << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 11);                    /* not enabled */
    env_stop(&e);
}

/* A Bulk-Only command: CBW out, data, CSW in; returns the CSW status. */
static int bot_command(Env *e, unsigned slot, const uint8_t *cdb,
                       unsigned cdb_len, bool in, unsigned len, uint64_t buf)
{
    uint8_t cbw[31] = { 'U', 'S', 'B', 'C', 0x42, 0, 0, 0 };
    uint8_t csw[13];

    cbw[8] = len;
    cbw[9] = len >> 8;
    cbw[10] = len >> 16;
    cbw[12] = in ? 0x80 : 0;
    cbw[14] = cdb_len;
    memcpy(cbw + 15, cdb, cdb_len);
    qtest_memwrite(e->qts, DATA, cbw, 31);
    g_assert_cmpint(transfer(e, slot, 4, DATA, 31), ==, 31);
    if (len) {
        int n = transfer(e, slot, in ? 3 : 4, buf, len);
        if (n != (int)len) {
            g_test_message("cdb %02x: %d of %u bytes", cdb[0], n, len);
        }
        if (cdb[0] != 0x28 || cdb[5] == 4) {
            g_assert_cmpint(n, ==, len);
        }
    }
    g_assert_cmpint(transfer(e, slot, 3, DATA + 0x100, 13), ==, 13);
    qtest_memread(e->qts, DATA + 0x100, csw, 13);
    g_assert_cmphex(csw[0] | csw[1] << 8 | csw[2] << 16 |
                    (uint32_t)csw[3] << 24, ==, 0x53425355);
    g_assert_cmphex(csw[4], ==, 0x42);
    return csw[12];
}

static void test_storage(void)
{
    Env e;
    uint8_t buf[256], cdb[16];
    uint8_t sectors[1024];
    g_autofree uint8_t *file = NULL;
    unsigned slot;
    int n;

    env_start(&e, "-device usb-storage,bus=xhci.0,port=2,drive=d0");
    qxhci_hc_start(&e.x);
    slot = qxhci_address_device(&e.x, 6, 512);
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x100, 0, 18, buf);
    g_assert_cmpint(n, ==, 18);
    g_assert_cmphex(buf[2] | buf[3] << 8, ==, 0x0300);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x46f4);
    n = qxhci_control(&e.x, slot, 0x80, 6, 0x200, 0, 255, buf);
    g_assert_cmpint(n, ==, 9 + 9 + 2 * (7 + 6));  /* SS companions */
    n = qxhci_control(&e.x, slot, 0x80, 6, 0xf00, 0, 255, buf);
    g_assert_cmpint(n, ==, 22);                    /* USB 2 ext + SS cap */
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0xa1, 0xfe, 0, 0, 1, buf), ==, 1);
    g_assert_cmpuint(buf[0], ==, 0);               /* max LUN */
    configure_ep(&e, slot, 3, 6, 1024);            /* EP1 IN */
    configure_ep(&e, slot, 4, 2, 1024);            /* EP2 OUT */

    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x12;                                 /* INQUIRY */
    cdb[4] = 36;
    g_assert_cmpint(bot_command(&e, slot, cdb, 6, true, 36, DATA + 0x1000),
                    ==, 0);
    qtest_memread(e.qts, DATA + 0x1000, buf, 36);
    g_assert_cmphex(buf[0], ==, 0);                /* disk */
    g_assert_cmphex(buf[1], ==, 0x80);             /* removable */
    g_assert_cmpmem(buf + 8, 4, "QEMU", 4);
    /* the power-on unit attention: TEST UNIT READY fails once, REQUEST
     * SENSE tells why */
    memset(cdb, 0, sizeof(cdb));
    g_assert_cmpint(bot_command(&e, slot, cdb, 6, false, 0, 0), ==, 1);
    cdb[0] = 0x03;
    cdb[4] = 18;
    g_assert_cmpint(bot_command(&e, slot, cdb, 6, true, 18, DATA + 0x1000),
                    ==, 0);
    g_assert_cmphex(qtest_readb(e.qts, DATA + 0x1000 + 2) & 0xf, ==, 6);
    memset(cdb, 0, sizeof(cdb));
    g_assert_cmpint(bot_command(&e, slot, cdb, 6, false, 0, 0), ==, 0);
    cdb[0] = 0x25;                                 /* READ CAPACITY (10) */
    g_assert_cmpint(bot_command(&e, slot, cdb, 10, true, 8, DATA + 0x1000),
                    ==, 0);
    qtest_memread(e.qts, DATA + 0x1000, buf, 8);
    g_assert_cmpuint((uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 |
                     buf[3], ==, 2047);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 512);
    /* WRITE (10) two sectors at LBA 4, then read them back */
    for (unsigned i = 0; i < sizeof(sectors); i++) {
        sectors[i] = i * 7 + 3;
    }
    qtest_memwrite(e.qts, DATA + 0x2000, sectors, sizeof(sectors));
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x2a;
    cdb[5] = 4;
    cdb[8] = 2;
    g_assert_cmpint(bot_command(&e, slot, cdb, 10, false, 1024,
                                DATA + 0x2000), ==, 0);
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x35;                                 /* SYNCHRONIZE CACHE */
    g_assert_cmpint(bot_command(&e, slot, cdb, 10, false, 0, 0), ==, 0);
    file = qtest_file_range(e.img, 4 * 512, 1024);
    g_assert_cmpmem(file, 1024, sectors, 1024);
    qtest_memset(e.qts, DATA + 0x4000, 0, 1024);
    cdb[0] = 0x28;                                 /* READ (10) */
    cdb[5] = 4;
    cdb[8] = 2;
    g_assert_cmpint(bot_command(&e, slot, cdb, 10, true, 1024,
                                DATA + 0x4000), ==, 0);
    qtest_memread(e.qts, DATA + 0x4000, buf, 256);
    g_assert_cmpmem(buf, 256, sectors, 256);
    /* a read past the end fails with CHECK CONDITION: CSW status 1 */
    cdb[5] = 0;
    cdb[4] = 0x10;
    g_assert_cmpint(bot_command(&e, slot, cdb, 10, true, 1024,
                                DATA + 0x4000), ==, 1);
    env_stop(&e);
}

static void test_hostile(void)
{
    Env e;
    QUsbEvent ev;
    unsigned slot;

    env_start(&e, "-device usb-tablet,bus=xhci.0,port=1");
    qxhci_hc_start(&e.x);
    /* bad slot ids: 0 and beyond MaxSlotsEn are TRB errors */
    ev = qxhci_command(&e.x, 0, 0, (10 << 10) | (0u << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 5);
    ev = qxhci_command(&e.x, 0, 0, (10 << 10) | (200u << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 5);
    ev = qxhci_command(&e.x, 0, 0, (17 << 10) | (3u << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 11);
    ev = qxhci_command(&e.x, 0, 0, 23 << 10);                       /* No-op */
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    /* a doorbell for a slot that does not exist: nothing happens */
    qtest_writel(e.qts, DOORBELL + 4 * 60, 1);
    qtest_writel(e.qts, DOORBELL + 4 * 2, 40);

    slot = qxhci_address_device(&e.x, 1, 64);
    g_assert_cmpint(qxhci_control(&e.x, slot, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    /* a TD longer than 1 MiB: TRB error, the endpoint halts */
    configure_ep(&e, slot, 3, 7, 8);
    for (int i = 0; i < 17; i++) {
        qxhci_ring_push(&e.x, &e.x.rings[slot][3], DATA, 0x10000,
                  (TRB_NORMAL << 10) | (i < 16 ? 1 << 4 : 1 << 5));
    }
    qtest_writel(e.qts, DOORBELL + 4 * slot, 3);
    ev = qxhci_event_wait(&e.x, 32, 0, QXHCI_EV_ANY);
    g_assert_cmpuint(qxhci_cc(ev), ==, 5);
    g_assert_cmphex(qtest_readl(e.qts, QXHCI_OUT_CTX(slot) + 32 * 3) & 7, ==,
                    2);

    /* a transfer ring of Link TRBs pointing at themselves */
    configure_ep(&e, slot, 3, 7, 8);
    qtest_writeq(e.qts, QXHCI_RING(slot, 3), QXHCI_RING(slot, 3));
    qtest_writel(e.qts, QXHCI_RING(slot, 3) + 8, 0);
    qtest_writel(e.qts, QXHCI_RING(slot, 3) + 12, (TRB_LINK << 10) | 1);
    qtest_writel(e.qts, DOORBELL + 4 * slot, 3);
    ev = qxhci_event_wait(&e.x, 32, 0, QXHCI_EV_ANY);
    g_assert_cmpuint(qxhci_cc(ev), ==, 5);

    /* the command ring made of links only: TRB error, ring stopped */
    qtest_writeq(e.qts, QXHCI_CMD_RING + 16 * e.x.cmd.idx,
                 QXHCI_CMD_RING + 16 * e.x.cmd.idx);
    qtest_writel(e.qts, QXHCI_CMD_RING + 16 * e.x.cmd.idx + 12,
                 (TRB_LINK << 10) | (e.x.cmd.cycle ? 1 : 0));
    qtest_writel(e.qts, DOORBELL, 0);
    ev = qxhci_event_wait(&e.x, 33, 0, QXHCI_EV_ANY);
    g_assert_cmpuint(qxhci_cc(ev), ==, 5);
    g_assert_cmphex(qtest_readl(e.qts, OPER + 0x18) & 8, ==, 0);  /* !CRR */
    env_stop(&e);

    /* the QXHCI_DCBAA outside RAM: Host System Error, halted */
    env_start(&e, "-device usb-tablet,bus=xhci.0,port=1");
    qxhci_hc_start(&e.x);
    qtest_writel(e.qts, PORTS, 0x200 | 0x10);
    qxhci_event_wait(&e.x, 34, 0, QXHCI_EV_ANY);
    ev = qxhci_command(&e.x, 0, 0, 9 << 10);
    slot = ev.control >> 24;
    qtest_writeq(e.qts, OPER + 0x30, 0xf0000000ull);
    qxhci_ring_push(&e.x, &e.x.cmd, QXHCI_INPUT_CTX, 0,
                    (11 << 10) | (slot << 24));
    qtest_memset(e.qts, QXHCI_INPUT_CTX, 0, 0x100);
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 4, 3);
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 36, 1 << 16);
    qtest_writel(e.qts, DOORBELL, 0);
    qtest_clock_step(e.qts, 1000000);
    g_assert_cmphex(qtest_readl(e.qts, OPER + 4) & 5, ==, 5);
    env_stop(&e);
}

/* A usb-hub on USB 2 port 1, a usb-kbd behind it (route string 5). */
static void test_hub(void)
{
    Env e;
    uint8_t buf[64];
    unsigned hub, kbd;
    QUsbEvent ev;

    env_start(&e, "-device usb-hub,bus=xhci.0,port=1 "
              "-device usb-kbd,bus=xhci.0,port=1.5");
    qxhci_hc_start(&e.x);
    hub = qxhci_address_device(&e.x, 1, 8);
    g_assert_cmpuint((qxhci_portsc(&e.x, 1) >> 10) & 0xf, ==, 1);  /* full */
    g_assert_cmpint(qxhci_control(&e.x, hub, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, hub, 0x23, 3, 4, 5, 0, NULL), ==, 0);
    g_assert_cmpint(qxhci_control(&e.x, hub, 0xa3, 0, 0, 5, 4, buf), ==, 4);
    g_assert_cmphex(buf[0] | buf[1] << 8, ==, 0x0103);
    /* the keyboard's slot: root port 1, route string 5, full speed */
    ev = qxhci_command(&e.x, 0, 0, 9 << 10);
    kbd = ev.control >> 24;
    qtest_memset(e.qts, QXHCI_OUT_CTX(kbd), 0, 0x400);
    qtest_writeq(e.qts, QXHCI_DCBAA + 8 * kbd, QXHCI_OUT_CTX(kbd));
    qtest_memset(e.qts, QXHCI_INPUT_CTX, 0, 0x440);
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 4, 3);
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 32, (1u << 27) | (1 << 20) | 5);
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 32 + 4, 1 << 16);
    qxhci_ring_init(&e.x, &e.x.rings[kbd][1], QXHCI_RING(kbd, 1));
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 64 + 4, (8 << 16) | (4 << 3) | 6);
    qtest_writeq(e.qts, QXHCI_INPUT_CTX + 64 + 8, QXHCI_RING(kbd, 1) | 1);
    ev = qxhci_command(&e.x, QXHCI_INPUT_CTX, 0, (11 << 10) | (kbd << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    g_assert_cmpint(qxhci_control(&e.x, kbd, 0x80, 6, 0x100, 0, 18, buf), ==,
                    18);
    g_assert_cmphex(buf[8] | buf[9] << 8, ==, 0x0627);
    g_assert_cmpint(qxhci_control(&e.x, kbd, 0x00, 9, 1, 0, 0, NULL), ==, 0);
    configure_ep(&e, kbd, 3, 7, 8);
    g_free(qmp_cmd(e.qmp, "{\"execute\": \"send-key\", \"arguments\": "
                   "{\"keys\": [{\"type\": \"qcode\", \"data\": \"esc\"}]}}"));
    g_assert_cmpint(transfer(&e, kbd, 3, DATA + 0x2000, 8), ==, 8);
    g_assert_cmphex(qtest_readb(e.qts, DATA + 0x2002), ==, 0x29);  /* Esc */
    /* a route to an empty hub port: transaction error */
    ev = qxhci_command(&e.x, 0, 0, 9 << 10);
    kbd = ev.control >> 24;
    qtest_writeq(e.qts, QXHCI_DCBAA + 8 * kbd, QXHCI_OUT_CTX(kbd));
    qtest_writel(e.qts, QXHCI_INPUT_CTX, 0);    /* configure_ep's drop */
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 4, 3);
    qtest_writel(e.qts, QXHCI_INPUT_CTX + 32, (1u << 27) | (1 << 20) | 6);
    ev = qxhci_command(&e.x, QXHCI_INPUT_CTX, 0, (11 << 10) | (kbd << 24));
    g_assert_cmpuint(qxhci_cc(ev), ==, 4);
    env_stop(&e);
}

/* INTx through PIIX3's PIRQ routing, MSI-X to a RAM address. */
static void test_interrupts(void)
{
    Env e;
    QUsbEvent ev;
    uint8_t cap = 0, off;

    env_start(&e, "");
    /* 09.0 INTA# -> PIRQA (swizzle); route PIRQA to IRQ 11 */
    qpci_cfg_writeb(e.qts, 1 << 3, 0x60, 11);
    qtest_irq_intercept_in(e.qts, "ioapic");
    qxhci_hc_start(&e.x);
    g_assert_false(qtest_get_irq(e.qts, 11));
    ev = qxhci_command(&e.x, 0, 0, 23 << 10);
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    g_assert_true(qtest_get_irq(e.qts, 11));
    g_assert_cmphex(qtest_readl(e.qts, RUNTIME + 0x20) & 1, ==, 1);  /* IP */
    qtest_writel(e.qts, RUNTIME + 0x20, 3);                 /* ack IP */
    g_assert_false(qtest_get_irq(e.qts, 11));

    /* MSI-X: vector 0 to 0x600000 with data 0x4321 */
    for (off = qpci_cfg_readb(e.qts, XHCI_DEVFN, 0x34); off;
         off = qpci_cfg_readb(e.qts, XHCI_DEVFN, off + 1)) {
        if (qpci_cfg_readb(e.qts, XHCI_DEVFN, off) == 0x11) {
            cap = off;
        }
    }
    g_assert_cmpuint(cap, !=, 0);
    qtest_writel(e.qts, BAR + 0x3000, 0x600000);
    qtest_writel(e.qts, BAR + 0x3004, 0);
    qtest_writel(e.qts, BAR + 0x3008, 0x4321);
    qtest_writel(e.qts, BAR + 0x300c, 0);
    qpci_cfg_writew(e.qts, XHCI_DEVFN, cap + 2, 0x8000);
    qtest_writel(e.qts, 0x600000, 0);
    ev = qxhci_command(&e.x, 0, 0, 23 << 10);
    g_assert_cmpuint(qxhci_cc(ev), ==, 1);
    g_assert_cmphex(qtest_readl(e.qts, 0x600000), ==, 0x4321);
    g_assert_false(qtest_get_irq(e.qts, 11));               /* not INTx */
    env_stop(&e);
}

/* An event ring of two 16-entry segments; a full ring; recovery. */
static void test_event_ring_segments(void)
{
    Env e;
    const uint64_t seg2 = 0x208000;
    unsigned n;

    env_start(&e, "");
    qxhci_hc_start(&e.x);
    qtest_writel(e.qts, OPER, 0);                           /* stop */
    qtest_memset(e.qts, QXHCI_EV_RING, 0, 16 * 16);
    qtest_memset(e.qts, seg2, 0, 16 * 16);
    qtest_writeq(e.qts, QXHCI_ERST, QXHCI_EV_RING);
    qtest_writel(e.qts, QXHCI_ERST + 8, 16);
    qtest_writeq(e.qts, QXHCI_ERST + 16, seg2);
    qtest_writel(e.qts, QXHCI_ERST + 24, 16);
    qtest_writel(e.qts, RUNTIME + 0x28, 2);
    qtest_writeq(e.qts, RUNTIME + 0x38, QXHCI_EV_RING);
    qtest_writeq(e.qts, RUNTIME + 0x30, QXHCI_ERST);
    qtest_writel(e.qts, OPER, 5);
    /* 40 No-ops, nothing consumed: 31 completions, then an Event Ring
     * Full error in the last slot; the rest find no room */
    for (unsigned i = 0; i < 40; i++) {
        qxhci_ring_push(&e.x, &e.x.cmd, 0, 0, 23 << 10);
    }
    qtest_writel(e.qts, DOORBELL, 0);
    for (n = 0; n < 16; n++) {
        g_assert_cmpuint(qtest_readl(e.qts, QXHCI_EV_RING + 16 * n + 8) >> 24,
                         ==, 1);
    }
    g_assert_cmphex(qtest_readl(e.qts, seg2 + 12) & 1, ==, 1);
    g_assert_cmpuint(qtest_readl(e.qts, seg2 + 16 * 14 + 8) >> 24, ==, 1);
    g_assert_cmpuint(qtest_readl(e.qts, seg2 + 16 * 15 + 8) >> 24, ==, 21);
    g_assert_cmphex(qtest_readl(e.qts, seg2 + 16 * 15 + 12) & 1, ==, 1);
    /* all consumed: the next event wraps to the first slot, cycle 0 */
    qtest_writeq(e.qts, RUNTIME + 0x38, QXHCI_EV_RING | 8);
    qxhci_ring_push(&e.x, &e.x.cmd, 0, 0, 23 << 10);     /* No-op */
    qtest_writel(e.qts, DOORBELL, 0);
    g_assert_cmphex(qtest_readl(e.qts, QXHCI_EV_RING + 12) & 1, ==, 0);
    g_assert_cmpuint(qtest_readl(e.qts, QXHCI_EV_RING + 8) >> 24, ==, 1);
    env_stop(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/xhci/pci-and-caps", test_pci_and_caps);
    g_test_add_func("/xhci/port-detect", test_port_detect);
    g_test_add_func("/xhci/enumerate-tablet-kbd", test_enumerate_tablet);
    g_test_add_func("/xhci/storage", test_storage);
    g_test_add_func("/xhci/hostile", test_hostile);
    g_test_add_func("/xhci/interrupts", test_interrupts);
    g_test_add_func("/xhci/hub", test_hub);
    g_test_add_func("/xhci/event-ring-segments", test_event_ring_segments);
    return g_test_run();
}
