/*
 * ACPI PCI hotplug on q35 (docs/hotplug.md), QEMU 7.2's default there:
 * the ICH9 LPC's register block at 0x0cc0 (the PIIX4 block's layout) and
 * GPE0 bit 1, serving the links of cold-plugged pcie-root-ports and the
 * buses of cold-plugged pci-bridges, never pcie.0.  The test plays the
 * guest's DSDT code (_E01, PCNT, _EJ0 -> PCEJ): it selects a bus (BNUM),
 * reads PCIU/PCID and writes B0EJ; DEVICE_DELETED follows the eject.
 * Checked against QEMU 7.2 (qemu-system-x86_64 -machine q35 under TCG,
 * the same QMP commands and port accesses): the selectors (the most
 * recently created bridge first), PCIU on a root port's link, a root
 * port showing no presence but powered on after the plug.
 */
#include <fcntl.h>
#include <unistd.h>
#include "libqvirtio.h"
#include "chipset/pci-helpers.h"

#define PCIHP_UP        0x0cc0
#define PCIHP_DOWN      0x0cc4
#define PCIHP_EJ        0x0cc8
#define PCIHP_RMV       0x0ccc
#define PCIHP_SEL       0x0cd0
#define PM_BASE         0x600       /* x-pm-io-base, as SeaBIOS programs */
#define GPE0_STS        (PM_BASE + 0x20)
#define GPE0_EN         (PM_BASE + 0x28)
#define GPE_PCIHP       0x02
#define SCI_GSI         9

/* rp1 at 00:04.0 (bus 1), br1 at 00:05.0 (bus 2), rp2 at 00:06.0 */
#define RP1             DEVFN(4, 0)
#define RP_EXP          0x54
#define RP_LNKSTA       (RP_EXP + 0x12)
#define RP_SLTCAP       (RP_EXP + 0x14)
#define RP_SLTCTL       (RP_EXP + 0x18)
#define RP_SLTSTA       (RP_EXP + 0x1a)
#define BR1             DEVFN(5, 0)
#define SEL_RP2         0           /* QEMU 7.2: the last created first */
#define SEL_BR1         1
#define SEL_RP1         2
#define TOPOLOGY \
    "-device pcie-root-port,id=rp1,addr=4,chassis=1 " \
    "-device pci-bridge,id=br1,addr=5,chassis_nr=2,shpc=off " \
    "-device pcie-root-port,id=rp2,addr=6,chassis=3 "
#define NATIVE "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
} Env;

static void env_start_with(Env *e, const char *topology, const char *extra)
{
    g_autofree char *sock = NULL, *args = NULL;

    e->dir = g_dir_make_tmp(NULL, NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-machine q35 -nodefaults "
                           "-global ICH9-LPC.x-pm-io-base=0x%x "
                           "%s %s -qmp unix:%s,server=on,wait=off",
                           PM_BASE, topology, extra ? extra : "", sock);
    e->qts = qtest_init(args);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    qtest_irq_intercept_in(e->qts, "ioapic");
    /* Firmware: buses 1 and 2 behind rp1 and br1; the OS enables the
     * hotplug GPE and SCI_EN (PM1_CNT bit 0). */
    cfg_writel(e->qts, RP1, 0x18, 0 | 1 << 8 | 1 << 16);
    cfg_writel(e->qts, BR1, 0x18, 0 | 2 << 8 | 2 << 16);
    qtest_outw(e->qts, PM_BASE + 4, 1);
    qtest_outb(e->qts, GPE0_EN, GPE_PCIHP);
}

static void env_start(Env *e, const char *extra)
{
    env_start_with(e, TOPOLOGY, extra);
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
}

/* The guest's _E01: GPE0 status bit 1 with the SCI, then clear it. */
static void assert_gpe_and_ack(Env *e)
{
    g_assert_cmphex(qtest_inb(e->qts, GPE0_STS) & GPE_PCIHP, ==, GPE_PCIHP);
    g_assert_true(qtest_get_irq(e->qts, SCI_GSI));
    qtest_outb(e->qts, GPE0_STS, GPE_PCIHP);
    g_assert_false(qtest_get_irq(e->qts, SCI_GSI));
}

static uint32_t sel_read(Env *e, unsigned sel, uint16_t reg)
{
    qtest_outl(e->qts, PCIHP_SEL, sel);
    return qtest_inl(e->qts, reg);
}

static void add_rng(Env *e, const char *id, const char *bus, unsigned addr)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"device_add\", \"arguments\": {"
        "\"driver\": \"virtio-rng-pci\", \"id\": \"%s\", \"bus\": \"%s\","
        "\"addr\": \"%u\"}}", id, bus, addr);

    qmp_assert_ok(e->qmp, cmd);
}

/* A device on rp1's link: PCIU under rp1's selector, the port powered
 * on with no presence shown; device_del, PCID, the guest's eject. */
static void test_root_port(void)
{
    g_autofree char *ev = NULL;
    Env e;

    env_start(&e, NULL);
    /* Every slot of a served bus is removable; pcie.0 has no selector. */
    g_assert_cmphex(sel_read(&e, SEL_RP1, PCIHP_RMV), ==, 0xffffffff);
    g_assert_cmphex(sel_read(&e, SEL_BR1, PCIHP_RMV), ==, 0xffffffff);
    g_assert_cmphex(sel_read(&e, 256, PCIHP_RMV), ==, 0);
    /* The port keeps its hot-plug capable bits (QEMU 7.2) and its slot
     * is empty and off. */
    g_assert_cmphex(cfg_readl(e.qts, RP1, RP_SLTCAP) & 0x60, ==, 0x60);
    g_assert_cmphex(cfg_readw(e.qts, RP1, RP_SLTCTL) & 0x400, ==, 0x400);

    add_rng(&e, "rng1", "rp1", 0);
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, SEL_RP2, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_read(&e, SEL_RP1, PCIHP_UP), ==, 1);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_UP), ==, 0);    /* read clears */
    /* modern-only behind a port, as QEMU 7.2 (docs/virtio.md) */
    g_assert_cmphex(bcfg_readl(e.qts, 1, 0, 0), ==, 0x10441af4);
    /* QEMU 7.2: powered on (PCC clear), no presence, no link, no native
     * event. */
    g_assert_cmphex(cfg_readw(e.qts, RP1, RP_SLTCTL) & 0x400, ==, 0);
    g_assert_cmphex(cfg_readw(e.qts, RP1, RP_SLTSTA) & 0x49, ==, 0);
    g_assert_cmphex(cfg_readw(e.qts, RP1, RP_LNKSTA) & 0x2000, ==, 0);

    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": {"
               "\"id\": \"rng1\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, SEL_RP1, PCIHP_DOWN), ==, 1);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_del\", \"arguments\": {"
                  "\"id\": \"rng1\"}}", "already in the process of unplug");
    /* An eject under another selector leaves it. */
    qtest_outl(e.qts, PCIHP_SEL, SEL_RP2);
    qtest_outl(e.qts, PCIHP_EJ, 1);
    g_assert_cmphex(bcfg_readl(e.qts, 1, 0, 0), ==, 0x10441af4);
    ev = qmp_events_now(e.qmp);
    g_assert_null(strstr(ev, "DEVICE_DELETED"));
    g_free(ev);
    /* _EJ0: PCEJ (BSEL, _SUN) */
    qtest_outl(e.qts, PCIHP_SEL, SEL_RP1);
    qtest_outl(e.qts, PCIHP_EJ, 1);
    g_assert_cmphex(bcfg_readl(e.qts, 1, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(sel_read(&e, SEL_RP1, PCIHP_DOWN), ==, 0);
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"DEVICE_DELETED\""));
    g_assert_nonnull(strstr(ev, "\"rng1\""));
    /* The slot takes a new device. */
    add_rng(&e, "rng2", "rp1", 0);
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, SEL_RP1, PCIHP_UP), ==, 1);
    env_end(&e);
}

/* A cold-plugged pci-bridge's bus: PCIU under its selector; pcie.0 and
 * a second device on a link are refused; reset completes an unplug. */
static void test_bridge_and_refusals(void)
{
    g_autofree char *ev = NULL;
    Env e;

    env_start(&e, NULL);
    add_rng(&e, "rng1", "br1", 3);
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, SEL_RP1, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_read(&e, SEL_BR1, PCIHP_UP), ==, 1u << 3);
    g_assert_cmphex(bcfg_readl(e.qts, 2, DEVFN(3, 0), 0), ==, 0x10051af4);

    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"id\": \"r0\","
                  "\"bus\": \"pcie.0\"}}",
              "Bus 'pcie.0' does not support hotplugging");
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"id\": \"r2\","
                  "\"bus\": \"rp2\", \"addr\": \"1\"}}", "");
    g_assert_cmphex(qtest_inb(e.qts, GPE0_STS) & GPE_PCIHP, ==, 0);

    /* A removal the guest never answered completes at reset. */
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": {"
               "\"id\": \"rng1\"}}");
    qmp_assert_ok(e.qmp, "{\"execute\": \"system_reset\"}");
    ev = qmp_events_now(e.qmp);
    g_assert_nonnull(strstr(ev, "\"DEVICE_DELETED\""));
    /* The bus numbers are gone with the reset: program them again. */
    cfg_writel(e.qts, BR1, 0x18, 0 | 2 << 8 | 2 << 16);
    g_assert_cmphex(bcfg_readl(e.qts, 2, DEVFN(3, 0), 0), ==, 0xffffffff);
    g_assert_cmphex(sel_read(&e, SEL_BR1, PCIHP_DOWN), ==, 0);
    env_end(&e);
}

/* acpi-pci-hotplug-with-bridge-support=off: no block at 0x0cc0, the
 * root ports keep their native hotplug (presence shown), and a
 * pci-bridge's bus takes no hotplug (kvmpc has no SHPC). */
static void test_native(void)
{
    Env e;

    env_start(&e, NATIVE);
    g_assert_cmphex(qtest_inl(e.qts, PCIHP_SEL), ==, 0xffffffff);
    add_rng(&e, "rng1", "rp1", 0);
    g_assert_cmphex(cfg_readw(e.qts, RP1, RP_SLTSTA) & 0x48, ==, 0x48);
    g_assert_cmphex(qtest_inb(e.qts, GPE0_STS) & GPE_PCIHP, ==, 0);
    qmp_assert_error(e.qmp, "{\"execute\": \"device_add\", \"arguments\": {"
                  "\"driver\": \"virtio-rng-pci\", \"id\": \"r3\","
                  "\"bus\": \"br1\", \"addr\": \"3\"}}",
              "does not support hotplugging");
    env_end(&e);
}

/* A switch below rp1: its downstream port's link is served too (QEMU
 * 7.2; selectors: rp1's link 0, the switch's bus 1, dn's link 2), the
 * port powered on without presence after the plug. */
static void test_switch(void)
{
    Env e;

    env_start_with(&e, "-device pcie-root-port,id=rp1,addr=4,chassis=1 "
                       "-device x3130-upstream,id=up,bus=rp1 "
                       "-device xio3130-downstream,id=dn,bus=up,chassis=3",
                   NULL);
    /* buses: 1 behind rp1, 2 the switch's, 3 dn's link */
    cfg_writel(e.qts, RP1, 0x18, 0 | 1 << 8 | 3 << 16);
    bcfg_writel(e.qts, 1, 0, 0x18, 1 | 2 << 8 | 3 << 16);
    bcfg_writel(e.qts, 2, 0, 0x18, 2 | 3 << 8 | 3 << 16);
    add_rng(&e, "rng1", "dn", 0);
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, 0, PCIHP_UP), ==, 0);
    g_assert_cmphex(sel_read(&e, 2, PCIHP_UP), ==, 1);
    g_assert_cmphex(bcfg_readl(e.qts, 3, 0, 0), ==, 0x10441af4);
    g_assert_cmphex(bcfg_readw(e.qts, 2, 0, 0x90 + 0x18) & 0x400, ==, 0);
    g_assert_cmphex(bcfg_readw(e.qts, 2, 0, 0x90 + 0x1a) & 0x40, ==, 0);
    qmp_assert_ok(e.qmp, "{\"execute\": \"device_del\", \"arguments\": {"
               "\"id\": \"rng1\"}}");
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, 2, PCIHP_DOWN), ==, 1);
    qtest_outl(e.qts, PCIHP_EJ, 1);
    g_assert_cmphex(bcfg_readl(e.qts, 3, 0, 0), ==, 0xffffffff);
    env_end(&e);
}

/* A pcie-pci-bridge on pcie.0: kvmpc has no SHPC, but ACPI hotplug
 * serves its bus (selector 0), as QEMU 7.2 serves it in place of the
 * SHPC. */
static void test_pcie_pci_bridge(void)
{
    Env e;

    env_start_with(&e, "-device pcie-pci-bridge,id=ppb,addr=7", NULL);
    cfg_writel(e.qts, DEVFN(7, 0), 0x18, 0 | 1 << 8 | 1 << 16);
    add_rng(&e, "rng1", "ppb", 3);
    assert_gpe_and_ack(&e);
    g_assert_cmphex(sel_read(&e, 0, PCIHP_UP), ==, 1u << 3);
    g_assert_cmphex(bcfg_readl(e.qts, 1, DEVFN(3, 0), 0), ==, 0x10051af4);
    env_end(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/q35-pcihp/root-port", test_root_port);
    g_test_add_func("/q35-pcihp/bridge-and-refusals",
                    test_bridge_and_refusals);
    g_test_add_func("/q35-pcihp/switch", test_switch);
    g_test_add_func("/q35-pcihp/pcie-pci-bridge", test_pcie_pci_bridge);
    g_test_add_func("/q35-pcihp/native", test_native);
    return g_test_run();
}
