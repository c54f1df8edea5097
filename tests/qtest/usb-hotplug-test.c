/*
 * USB hotplug (docs/hotplug.md): device_add of usb-tablet / usb-kbd /
 * usb-mouse / usb-storage onto a free port of a running UHCI or xHCI
 * controller, seen by the controller as a connect status change;
 * device_del detaches at once (synchronous, DEVICE_DELETED at once) and
 * the controller sees the disconnect; the drive is free afterwards.
 */
#include <fcntl.h>
#include <unistd.h>
#include "libqusb.h"
#include "libqvirtio.h"
#include "chipset/pci-helpers.h"

#define UHCI_DEVFN      DEVFN(8, 0)
#define UHCI_IO         0xc000
#define PORTSC1         0x10
#define XHCI_DEVFN      DEVFN(9, 0)
#define XBAR            0xfe000000ull
#define XPORTS          (XBAR + 0x440)
#define XHCI_PORTS      8
#define CCS             (1u << 0)
#define XCSC            (1u << 17)

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
} Env;

static void env_start(Env *e)
{
    g_autofree char *sock = NULL, *img = NULL, *args = NULL;

    qusb_make_disk(1 << 20, &e->dir, &img);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-nodefaults "
                           "-device piix3-usb-uhci,addr=08.0,id=uhci "
                           "-device qemu-xhci,addr=09.0,id=xhci "
                           "-drive if=none,id=d0,format=raw,file=%s "
                           "-qmp unix:%s,server=on,wait=off", img, sock);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    cfg_writel(e->qts, UHCI_DEVFN, 0x20, UHCI_IO | 1);
    cfg_writew(e->qts, UHCI_DEVFN, 0x04, 0x5);
    cfg_writel(e->qts, XHCI_DEVFN, 0x10, (uint32_t)XBAR);
    cfg_writel(e->qts, XHCI_DEVFN, 0x14, XBAR >> 32);
    cfg_writew(e->qts, XHCI_DEVFN, 0x04, 0x6);
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
}

/* The reply to device_del already follows the event: a synchronous
 * unplug emits DEVICE_DELETED before it. */
static void del_sync(Env *e, const char *id)
{
    g_autofree char *cmd = g_strdup_printf("{\"execute\": \"device_del\", "
                                           "\"arguments\": {\"id\": \"%s\"}}",
                                           id);
    g_autofree char *want = g_strdup_printf("\"device\": \"%s\"", id);
    g_autofree char *ev = NULL;

    qmp_assert_ok(e->qmp, cmd);
    ev = qmp_take_events(e->qmp);
    g_assert_nonnull(strstr(ev, "DEVICE_DELETED"));
    g_assert_nonnull(strstr(ev, want));
}

static uint16_t uhci_portsc(Env *e, unsigned port)
{
    return qtest_inw(e->qts, UHCI_IO + PORTSC1 + 2 * port);
}

static void test_uhci(void)
{
    Env e;

    env_start(&e);
    g_assert_cmphex(uhci_portsc(&e, 0), ==, 0x80);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"usb-tablet\", \"id\": \"tab\", "
               "\"bus\": \"uhci.0\"}}");
    /* Connected, connect status change, full speed. */
    g_assert_cmphex(uhci_portsc(&e, 0), ==, 0x83);
    qtest_outw(e.qts, UHCI_IO + PORTSC1, 2);            /* ack CSC */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"usb-kbd\", \"id\": \"kbd\", "
               "\"bus\": \"uhci.0\"}}");
    g_assert_cmphex(uhci_portsc(&e, 1), ==, 0x83);
    /* Both ports taken: a third device finds none. */
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"usb-mouse\", \"bus\": \"uhci.0\"}}",
              "no free port");
    del_sync(&e, "tab");
    /* Disconnected, with the change bit. */
    g_assert_cmphex(uhci_portsc(&e, 0), ==, 0x82);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"tab\"}}", "Device 'tab' not found");
    /* The free port takes a mouse (low speed on UHCI: bit 8). */
    qtest_outw(e.qts, UHCI_IO + PORTSC1, 2);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"usb-mouse\", \"id\": \"mouse\", "
               "\"bus\": \"uhci.0\"}}");
    g_assert_cmphex(uhci_portsc(&e, 0) & 3, ==, 3);
    del_sync(&e, "mouse");
    del_sync(&e, "kbd");
    g_assert_cmphex(uhci_portsc(&e, 1) & 1, ==, 0);
    env_end(&e);
}

/* The first xHCI port (1-based) with a device connected, or 0. */
static unsigned xhci_connected_port(Env *e)
{
    for (unsigned p = 1; p <= XHCI_PORTS; p++) {
        if (qtest_readl(e->qts, XPORTS + 0x10 * (p - 1)) & CCS) {
            return p;
        }
    }
    return 0;
}

static void test_xhci_storage(void)
{
    Env e;
    unsigned port;
    uint32_t sc;

    env_start(&e);
    g_assert_cmpuint(xhci_connected_port(&e), ==, 0);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"usb-storage\", \"id\": \"stor\", "
               "\"bus\": \"xhci.0\", \"drive\": \"d0\"}}");
    port = xhci_connected_port(&e);
    g_assert_cmpuint(port, !=, 0);
    sc = qtest_readl(e.qts, XPORTS + 0x10 * (port - 1));
    g_assert_cmphex(sc & XCSC, ==, XCSC);
    /* Ack the change (PP kept). */
    qtest_writel(e.qts, XPORTS + 0x10 * (port - 1), 0x200 | XCSC);
    /* The drive has its device. */
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"usb-storage\", \"bus\": \"xhci.0\", "
                  "\"drive\": \"d0\"}}", "already in use");
    del_sync(&e, "stor");
    sc = qtest_readl(e.qts, XPORTS + 0x10 * (port - 1));
    g_assert_cmphex(sc & (CCS | XCSC), ==, XCSC);
    g_assert_cmpuint(xhci_connected_port(&e), ==, 0);
    /* ... and is free again. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"usb-storage\", \"id\": \"stor2\", "
               "\"bus\": \"xhci.0\", \"drive\": \"d0\"}}");
    g_assert_cmpuint(xhci_connected_port(&e), !=, 0);
    /* The USB bus takes hotplug; the PCI root of this machine as well
     * (qom shows both under /machine/peripheral). */
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": \"qom-list\", "
                                     "\"arguments\": {\"path\": "
                                     "\"/machine/peripheral\"}}");
        g_assert_nonnull(strstr(r, "\"stor2\""));
        g_assert_null(strstr(r, "\"stor\""));
    }
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/usb-hotplug/uhci", test_uhci);
    g_test_add_func("/usb-hotplug/xhci-storage", test_xhci_storage);
    return g_test_run();
}
