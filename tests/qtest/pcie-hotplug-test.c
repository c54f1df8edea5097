/*
 * PCI Express native hotplug on a q35 root port (docs/hotplug.md): the
 * test is the guest's pciehp driver.  device_add sets Presence Detect
 * State and raises Presence Detect Changed with the hot-plug interrupt;
 * device_del presses the attention button; the device goes (and
 * DEVICE_DELETED comes) when the guest powers the slot off.  Slot
 * registers: PCI Express Base 4.0, 7.5.3.9-11.
 */
#include <fcntl.h>
#include <unistd.h>
#include "libqvirtio.h"
#include "chipset/pci-helpers.h"

#define RP              DEVFN(4, 0)
#define EXP_OFF         0x54
#define LNKSTA          (EXP_OFF + 18)
#define SLTCTL          (EXP_OFF + 24)
#define SLTSTA          (EXP_OFF + 26)
#define RP_GSI          20          /* INTA of slot 4: PIRQE */

#define ABPE    0x0001
#define PDCE    0x0008
#define CCIE    0x0010
#define HPIE    0x0020
#define AIC_OFF 0x00c0
#define PIC_ON  0x0100
#define PIC_OFF 0x0300
#define PCC     0x0400
#define ST_ABP  0x0001
#define ST_PDC  0x0008
#define ST_CC   0x0010
#define ST_PDS  0x0040
#define DLLLA   0x2000
#define ENABLES (ABPE | PDCE | CCIE | HPIE | AIC_OFF)

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
} Env;

/* A q35 machine with rp1 (slot 4, bus 1) and the devices in @extra. */
static void env_start_with(Env *e, const char *extra)
{
    g_autofree char *sock = NULL, *img = NULL, *args = NULL;
    int fd;

    e->dir = g_dir_make_tmp("kvmpc-pciehp-XXXXXX", NULL);
    img = g_build_filename(e->dir, "disk.raw", NULL);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    /* Native PCIe hotplug: QEMU 7.2's q35 default is ACPI hotplug on root
     * ports (tests/qtest/q35-pcihp-test.c). */
    args = g_strdup_printf("-machine q35 -nodefaults "
                           "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-"
                           "support=off "
                           "-device pcie-root-port,id=rp1,addr=4,chassis=1,"
                           "slot=1 %s "
                           "-blockdev driver=file,filename=%s,"
                           "node-name=disk0 "
                           "-qmp unix:%s,server=on,wait=off", extra, img,
                           sock);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    qtest_irq_intercept_in(e->qts, "ioapic");
    /* Firmware: bus 1 behind the port. */
    cfg_writel(e->qts, RP, 0x18, 0 | 1 << 8 | 1 << 16);
}

static void env_start(Env *e)
{
    env_start_with(e, "");
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
}

static uint16_t sltsta(Env *e)
{
    return cfg_readw(e->qts, RP, SLTSTA);
}

/* Write-1-to-clear status bits (the dword write leaves control alone
 * only if it repeats it: write the word at SLTSTA). */
static void ack(Env *e, uint16_t bits)
{
    cfg_writew(e->qts, RP, SLTSTA, bits);
}

/* Vendor/device of 01:00.0 (a type 1 cycle through the port). */
static uint32_t dev_id(Env *e)
{
    qtest_outl(e->qts, PCI_CONFIG_ADDR, 0x80000000u | 1 << 16);
    return qtest_inl(e->qts, PCI_CONFIG_DATA);
}

static void plug_blk(Env *e)
{
    qmp_assert_ok(e->qmp, "{\"execute\": \"device_add\", \"arguments\": {"
              "\"driver\": \"virtio-blk-pci\", \"id\": \"blk1\","
              "\"bus\": \"rp1\", \"drive\": \"disk0\"}}");
}

static void test_plug_button_unplug(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e);
    /* Empty slot: no presence, powered off, indicator off, link down. */
    g_assert_cmphex(sltsta(&e) & ST_PDS, ==, 0);
    g_assert_cmphex(cfg_readw(e.qts, RP, SLTCTL) & (PCC | PIC_OFF), ==,
                    PCC | PIC_OFF);
    g_assert_cmphex(cfg_readw(e.qts, RP, LNKSTA) & DLLLA, ==, 0);
    /* pciehp enables its events (a command: CC, interrupt, ack). */
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_OFF | PCC);
    g_assert_cmphex(sltsta(&e) & ST_CC, ==, ST_CC);
    g_assert_true(qtest_get_irq(e.qts, RP_GSI));
    ack(&e, ST_CC);
    g_assert_false(qtest_get_irq(e.qts, RP_GSI));

    /* The root complex's bus takes nothing at run time. */
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"pcie.0\"}}",
              "Bus 'pcie.0' does not support hotplugging");
    g_assert_false(qtest_get_irq(e.qts, RP_GSI));

    plug_blk(&e);
    /* Presence, with the changed and button bits (as QEMU), the link up,
     * and the interrupt. */
    g_assert_cmphex(sltsta(&e) & (ST_PDS | ST_PDC | ST_ABP), ==,
                    ST_PDS | ST_PDC | ST_ABP);
    g_assert_cmphex(cfg_readw(e.qts, RP, LNKSTA) & DLLLA, ==, DLLLA);
    g_assert_true(qtest_get_irq(e.qts, RP_GSI));
    ack(&e, ST_PDC | ST_ABP);
    g_assert_false(qtest_get_irq(e.qts, RP_GSI));
    /* Power on, indicator on; the function answers on bus 1. */
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_ON);
    ack(&e, ST_CC);
    /* modern-only behind a port, as QEMU 7.2 (docs/virtio.md) */
    g_assert_cmphex(dev_id(&e), ==, 0x10421af4);
    /* A second device on the link has no place. */
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"rp1\", "
                  "\"addr\": \"1\"}}", "only allows plugging into slot 0");

    /* device_del presses the button; the device stays for now. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    g_assert_cmphex(sltsta(&e) & ST_ABP, ==, ST_ABP);
    g_assert_true(qtest_get_irq(e.qts, RP_GSI));
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"blk1\"}}",
              "Device blk1 is already in the process of unplug");
    ack(&e, ST_ABP);
    g_assert_false(qtest_get_irq(e.qts, RP_GSI));
    g_assert_cmphex(dev_id(&e), ==, 0x10421af4);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_clear_pointer(&ev, g_free);
    /* The guest blinks the indicator while it works: device_del again
     * would be refused even once the 5 s passed. */
    /* The guest powers the slot off: then the device goes. */
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_OFF | PCC);
    g_assert_cmphex(dev_id(&e), ==, 0xffffffff);
    g_assert_cmphex(sltsta(&e) & (ST_PDS | ST_PDC), ==, ST_PDC);
    g_assert_cmphex(cfg_readw(e.qts, RP, LNKSTA) & DLLLA, ==, 0);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"blk1\""));
    g_assert_nonnull(strstr(ev, "\"path\": \"/machine/peripheral/blk1\""));
    qmp_assert_ok(e.qmp, "{\"execute\": \"blockdev-del\", \"arguments\": "
               "{\"node-name\": \"disk0\"}}");
    env_end(&e);
}

/* A press the guest ignored may be repeated after 5 s (QEMU 7.2); a
 * blinking power indicator (the guest is busy) refuses. */
static void test_repeat_and_busy(void)
{
    Env e;

    env_start(&e);
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_ON);
    plug_blk(&e);
    ack(&e, ST_PDC | ST_ABP | ST_CC);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    ack(&e, ST_ABP);
    qtest_clock_step(e.qts, 5100 * 1000 * 1000LL);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    g_assert_cmphex(sltsta(&e) & ST_ABP, ==, ST_ABP);
    ack(&e, ST_ABP | ST_CC);
    qtest_clock_step(e.qts, 5100 * 1000 * 1000LL);
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | 0x0200);   /* blink */
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"blk1\"}}",
              "Hot-unplug failed: guest is busy (power indicator "
              "blinking)");
    env_end(&e);
}

/* Plugged into a slot the guest left dark: device_del needs no guest. */
static void test_dark_slot(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start(&e);
    plug_blk(&e);
    g_assert_cmphex(sltsta(&e) & ST_PDS, ==, ST_PDS);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"blk1\""));
    g_assert_cmphex(sltsta(&e) & ST_PDS, ==, 0);
    /* query-pci shows what is behind the port. */
    plug_blk(&e);
    {
        g_autofree char *r = qmp_cmd(e.qmp, "{\"execute\": \"query-pci\"}");
        g_assert_nonnull(strstr(r, "\"pci_bridge\""));
        g_assert_nonnull(strstr(r, "\"qdev_id\": \"blk1\""));
        g_assert_nonnull(strstr(r, "\"secondary\": 1"));
    }
    env_end(&e);
}

/* ---- a switch downstream port (xio3130-downstream) ---------------------
 *
 * rp2 (slot 5, bus 2) -> x3130-upstream "up" (02:00.0, bus 3) ->
 * xio3130-downstream "dn" (03:00.0, bus 4).  The downstream port has no
 * interrupt pin (as QEMU's): its hot-plug interrupt is MSI, here written
 * to RAM at DN_MSI_RAM.
 */
#define SWITCH_ARGS \
    "-device pcie-root-port,id=rp2,addr=5,chassis=1,slot=2 " \
    "-device x3130-upstream,id=up,bus=rp2 " \
    "-device xio3130-downstream,id=dn,bus=up,chassis=2,slot=3"
#define RP2             DEVFN(5, 0)
#define DN_BUS          3
#define DN_EXP          0x90
#define DN_LNKSTA       (DN_EXP + 18)
#define DN_SLTCTL       (DN_EXP + 24)
#define DN_SLTSTA       (DN_EXP + 26)
#define DN_MSI          0x70
#define DN_MSI_RAM      0x10000u
#define DN_MSI_DATA     0x4455

static uint16_t dn_sltsta(Env *e)
{
    return bcfg_readw(e->qts, DN_BUS, 0, DN_SLTSTA);
}

static void dn_sltctl(Env *e, uint16_t val)
{
    bcfg_writew(e->qts, DN_BUS, 0, DN_SLTCTL, val);
}

static void dn_ack(Env *e, uint16_t bits)
{
    bcfg_writew(e->qts, DN_BUS, 0, DN_SLTSTA, bits);
}

/* Whether the port sent its MSI since the last call. */
static bool dn_msi_sent(Env *e)
{
    bool sent = qtest_readl(e->qts, DN_MSI_RAM) == DN_MSI_DATA;

    qtest_writel(e->qts, DN_MSI_RAM, 0);
    return sent;
}

static void switch_firmware(Env *e)
{
    /* Bus numbers and bus mastering (the MSI goes up through them). */
    cfg_writel(e->qts, RP2, 0x18, 0 | 2 << 8 | 4 << 16);
    cfg_writew(e->qts, RP2, 0x04, 0x4);
    bcfg_writel(e->qts, 2, 0, 0x18, 2 | 3 << 8 | 4 << 16);
    bcfg_writew(e->qts, 2, 0, 0x04, 0x4);
    bcfg_writel(e->qts, DN_BUS, 0, 0x18, 3 | 4 << 8 | 4 << 16);
    bcfg_writew(e->qts, DN_BUS, 0, 0x04, 0x4);
    bcfg_writel(e->qts, DN_BUS, 0, DN_MSI + 4, DN_MSI_RAM);
    bcfg_writel(e->qts, DN_BUS, 0, DN_MSI + 8, 0);
    bcfg_writew(e->qts, DN_BUS, 0, DN_MSI + 12, DN_MSI_DATA);
    bcfg_writew(e->qts, DN_BUS, 0, DN_MSI + 2, 0x0001);
}

/* Vendor/device of 04:00.0, behind the downstream port. */
static uint32_t dn_dev_id(Env *e)
{
    return bcfg_readl(e->qts, 4, 0, 0);
}

static void test_switch_downstream(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start_with(&e, SWITCH_ARGS);
    switch_firmware(&e);
    /* Empty: no presence, powered off, link down. */
    g_assert_cmphex(dn_sltsta(&e) & ST_PDS, ==, 0);
    g_assert_cmphex(bcfg_readw(e.qts, DN_BUS, 0, DN_SLTCTL) & (PCC | PIC_OFF),
                    ==, PCC | PIC_OFF);
    g_assert_cmphex(bcfg_readw(e.qts, DN_BUS, 0, DN_LNKSTA) & DLLLA, ==, 0);
    /* pciehp enables its events: Command Completed, the MSI. */
    dn_sltctl(&e, ENABLES | PIC_OFF | PCC);
    g_assert_cmphex(dn_sltsta(&e) & ST_CC, ==, ST_CC);
    g_assert_true(dn_msi_sent(&e));
    dn_ack(&e, ST_CC);

    /* The switch's internal bus takes no hotplug: downstream ports are
     * not hot-added (as QEMU). */
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"xio3130-downstream\", \"bus\": \"up\", "
                  "\"chassis\": 2, \"slot\": 4}}",
              "Bus 'up' does not support hotplugging");

    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"virtio-blk-pci\", \"id\": \"blk2\","
               "\"bus\": \"dn\", \"drive\": \"disk0\"}}");
    g_assert_cmphex(dn_sltsta(&e) & (ST_PDS | ST_PDC | ST_ABP), ==,
                    ST_PDS | ST_PDC | ST_ABP);
    g_assert_cmphex(bcfg_readw(e.qts, DN_BUS, 0, DN_LNKSTA) & DLLLA, ==,
                    DLLLA);
    g_assert_true(dn_msi_sent(&e));
    dn_ack(&e, ST_PDC | ST_ABP);
    /* Power on, indicator on: the function answers on bus 4. */
    dn_sltctl(&e, ENABLES | PIC_ON);
    dn_ack(&e, ST_CC);
    g_assert_cmphex(dn_dev_id(&e), ==, 0x10421af4);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"dn\", "
                  "\"addr\": \"1\"}}", "only allows plugging into slot 0");
    dn_msi_sent(&e);

    /* device_del presses the attention button; the device stays. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk2\"}}");
    g_assert_cmphex(dn_sltsta(&e) & ST_ABP, ==, ST_ABP);
    g_assert_true(dn_msi_sent(&e));
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"blk2\"}}",
              "Device blk2 is already in the process of unplug");
    dn_ack(&e, ST_ABP);
    g_assert_cmphex(dn_dev_id(&e), ==, 0x10421af4);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_clear_pointer(&ev, g_free);
    /* The guest blinks, then powers the slot off: the device goes. */
    dn_sltctl(&e, ENABLES | 0x0200);
    dn_ack(&e, ST_CC);
    g_assert_cmphex(dn_dev_id(&e), ==, 0x10421af4);
    dn_sltctl(&e, ENABLES | PIC_OFF | PCC);
    g_assert_cmphex(dn_dev_id(&e), ==, 0xffffffff);
    g_assert_cmphex(dn_sltsta(&e) & (ST_PDS | ST_PDC), ==, ST_PDC);
    g_assert_cmphex(bcfg_readw(e.qts, DN_BUS, 0, DN_LNKSTA) & DLLLA, ==, 0);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"blk2\""));
    g_assert_nonnull(strstr(ev, "\"path\": \"/machine/peripheral/blk2\""));
    qmp_assert_ok(e.qmp, "{\"execute\": \"blockdev-del\", \"arguments\": "
               "{\"node-name\": \"disk0\"}}");
    env_end(&e);
}

/* pcie-pci-bridge has no SHPC: nothing is hot-plugged behind it, with a
 * clear error; the bridge itself is hot-plugged into a root port. */
static void test_pcie_pci_bridge_refuses(void)
{
    Env e;
    g_autofree char *ev = NULL;

    env_start_with(&e, "-device pcie-root-port,id=rp2,addr=5,chassis=1,"
                       "slot=2 "
                       "-device pcie-pci-bridge,id=ppb,bus=rp2 "
                       "-device pci-testdev,id=td,bus=ppb,addr=2");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-blk-pci\", \"id\": \"blk3\","
                  "\"bus\": \"ppb\", \"drive\": \"disk0\"}}",
              "Bus 'ppb' does not support hotplugging: kvmpc's "
              "pcie-pci-bridge has no standard hot-plug controller (SHPC)");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"td\"}}",
              "Bus 'ppb' does not support hotplugging");
    /* The refused device let go of its drive. */
    plug_blk(&e);
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_ON);
    ack(&e, ST_PDC | ST_ABP | ST_CC);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"blk1\"}}");
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_OFF | PCC);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"blk1\""));
    g_clear_pointer(&ev, g_free);
    ack(&e, ST_PDC | ST_ABP | ST_CC);

    /* A bridge hot-plugged into rp1 refuses the same way, and goes. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
               "\"driver\": \"pcie-pci-bridge\", \"id\": \"ppb2\","
               "\"bus\": \"rp1\"}}");
    g_assert_cmphex(sltsta(&e) & ST_PDS, ==, ST_PDS);
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_ON);
    ack(&e, ST_PDC | ST_ABP | ST_CC);
    g_assert_cmphex(dev_id(&e), ==, 0x000e1b36);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"bus\": \"ppb2\"}}",
              "Bus 'ppb2' does not support hotplugging");
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": "
               "{\"id\": \"ppb2\"}}");
    cfg_writew(e.qts, RP, SLTCTL, ENABLES | PIC_OFF | PCC);
    g_assert_cmphex(dev_id(&e), ==, 0xffffffff);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"device\": \"ppb2\""));
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pciehp/plug-button-unplug", test_plug_button_unplug);
    g_test_add_func("/pciehp/repeat-and-busy", test_repeat_and_busy);
    g_test_add_func("/pciehp/dark-slot", test_dark_slot);
    g_test_add_func("/pciehp/switch-downstream", test_switch_downstream);
    g_test_add_func("/pciehp/pcie-pci-bridge-refuses",
                    test_pcie_pci_bridge_refuses);
    return g_test_run();
}
