/*
 * The XIO3130 PCI Express switch on q35: x3130-upstream behind a root
 * port, two xio3130-downstream ports on its internal bus.  Config headers
 * and capabilities (IDs, class, the PCI Express capability's port type,
 * MSI/SSVID/AER), bus numbers as firmware assigns them through the three
 * levels of bridges (CF8/CFC and ECAM), a pci-testdev behind a downstream
 * port reached through the windows, INTx swizzled up the switch, the
 * downstream port's slot registers with the MSI hot-plug interrupt, the
 * placement rules and libvirt's command line.  Spec: PCI Express Base 4.0,
 * 1.3.3 (switches), 7.5.3 (the capability, slot registers 7.5.3.9-11).
 */
#include "pci-helpers.h"

#define ECAM_BASE       0xb0000000ULL
#define MCH             DEVFN(0, 0)
#define RP              DEVFN(4, 0)
#define UP_BUS          1           /* the upstream port, 01:00.0 */
#define SW_BUS          2           /* the switch's internal bus */
#define DN0             DEVFN(0, 0) /* 02:00.0, empty slot, bus 3 */
#define DN1             DEVFN(1, 0) /* 02:01.0, a testdev behind, bus 4 */
#define EXP             0x90
#define LNKCAP          (EXP + 12)
#define LNKSTA          (EXP + 18)
#define SLTCAP          (EXP + 20)
#define SLTCTL          (EXP + 24)
#define SLTSTA          (EXP + 26)
#define MSI             0x70
#define MEM_WIN         0xfe000000u
#define IO_WIN          0x1000u
#define SCRATCH_MEM     0xffc
#define EXT_INTX_IO     0xf0
#define MSI_RAM         0x10000u

/* Native hotplug: the slots as pciehp sees them (QEMU 7.2's q35 default,
 * ACPI hotplug, hides their presence: tests/qtest/q35-pcihp-test.c). */
#define SWITCH_ARGS \
    "-machine q35 " \
    "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off " \
    "-device pcie-root-port,id=rp,addr=4,chassis=1,slot=1 " \
    "-device x3130-upstream,id=up,bus=rp,port=7 " \
    "-device xio3130-downstream,id=dn0,bus=up,addr=0,chassis=2,slot=5," \
    "port=1 " \
    "-device xio3130-downstream,id=dn1,bus=up,addr=1,chassis=2,slot=6," \
    "port=2 " \
    "-device pci-testdev,bus=dn1,intx-pin=1"

static uint64_t ecam(unsigned bus, unsigned devfn, unsigned reg)
{
    return ECAM_BASE + ((uint64_t)bus << 20) + (devfn << 12) + reg;
}

/* What SeaBIOS does for one bridge: bus numbers, the windows, decoding
 * and bus mastering. */
static void setup_bridge(QTestState *s, unsigned bus, unsigned devfn,
                         unsigned sec, unsigned sub)
{
    bcfg_writel(s, bus, devfn, 0x18, bus | sec << 8 | sub << 16);
    bcfg_writel(s, bus, devfn, 0x1c, (IO_WIN >> 8) | (IO_WIN >> 8) << 8);
    bcfg_writel(s, bus, devfn, 0x20, (MEM_WIN >> 16) | (MEM_WIN >> 16) << 16);
    bcfg_writew(s, bus, devfn, 0x04, 0x7);
}

/* The whole switch numbered depth-first: root port 1-4, upstream port's
 * internal bus 2, downstream ports 3 and 4. */
static void number_switch(QTestState *s)
{
    cfg_writel(s, MCH, 0x60, (uint32_t)ECAM_BASE | 1);
    setup_bridge(s, 0, RP, UP_BUS, 4);
    setup_bridge(s, UP_BUS, 0, SW_BUS, 4);
    setup_bridge(s, SW_BUS, DN0, 3, 3);
    setup_bridge(s, SW_BUS, DN1, 4, 4);
}

/* ---- config headers ----------------------------------------------------- */

static void test_upstream_header(void)
{
    QTestState *s = qtest_init(SWITCH_ARGS);

    number_switch(s);
    g_assert_cmphex(bcfg_readl(s, UP_BUS, 0, 0), ==, 0x8232104c);
    g_assert_cmphex(bcfg_readb(s, UP_BUS, 0, 0x08), ==, 0x02);
    g_assert_cmphex(bcfg_readw(s, UP_BUS, 0, 0x0a), ==, 0x0604);
    g_assert_cmphex(bcfg_readb(s, UP_BUS, 0, 0x0e), ==, 0x01);
    g_assert_cmphex(bcfg_readb(s, UP_BUS, 0, 0x3d), ==, 0);
    /* Capabilities: PCIe 90h -> SSVID 80h -> MSI 70h. */
    g_assert_cmphex(bcfg_readb(s, UP_BUS, 0, 0x34), ==, EXP);
    g_assert_cmphex(bcfg_readw(s, UP_BUS, 0, EXP), ==, 0x8010);
    g_assert_cmphex(bcfg_readw(s, UP_BUS, 0, 0x80), ==, 0x700d);
    g_assert_cmphex(bcfg_readl(s, UP_BUS, 0, 0x84), ==, 0);
    g_assert_cmphex(bcfg_readw(s, UP_BUS, 0, MSI), ==, 0x0005);
    g_assert_cmphex(bcfg_readw(s, UP_BUS, 0, MSI + 2), ==, 0x0080);
    /* Upstream Port (type 5), version 2, no slot. */
    g_assert_cmphex(bcfg_readw(s, UP_BUS, 0, EXP + 2), ==, 0x0052);
    /* Link: port 7, x1 2.5 GT/s, no DLL active reporting upstream. */
    g_assert_cmphex(bcfg_readl(s, UP_BUS, 0, LNKCAP), ==, 0x07000011);
    /* AER (version 2) is the only extended capability. */
    g_assert_cmphex(qtest_readl(s, ecam(UP_BUS, 0, 0x100)), ==, 0x00020001);
    /* No BARs: a type 1 header's bus and window registers. */
    bcfg_writel(s, UP_BUS, 0, 0x10, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, UP_BUS, 0, 0x10), ==, 0);
    qtest_quit(s);
}

static void test_downstream_header(void)
{
    QTestState *s = qtest_init(SWITCH_ARGS);
    uint32_t sltcap;

    number_switch(s);
    for (unsigned i = 0; i < 2; i++) {
        unsigned dn = i ? DN1 : DN0;
        g_assert_cmphex(bcfg_readl(s, SW_BUS, dn, 0), ==, 0x8233104c);
        g_assert_cmphex(qtest_readl(s, ecam(SW_BUS, dn, 0)), ==, 0x8233104c);
        g_assert_cmphex(bcfg_readb(s, SW_BUS, dn, 0x08), ==, 0x01);
        g_assert_cmphex(bcfg_readw(s, SW_BUS, dn, 0x0a), ==, 0x0604);
        g_assert_cmphex(bcfg_readb(s, SW_BUS, dn, 0x0e), ==, 0x01);
        g_assert_cmphex(bcfg_readb(s, SW_BUS, dn, 0x3d), ==, 0);
        g_assert_cmphex(bcfg_readb(s, SW_BUS, dn, 0x34), ==, EXP);
        g_assert_cmphex(bcfg_readw(s, SW_BUS, dn, 0x80), ==, 0x700d);
        g_assert_cmphex(bcfg_readw(s, SW_BUS, dn, MSI), ==, 0x0005);
        /* Downstream Port (type 6), version 2, slot implemented. */
        g_assert_cmphex(bcfg_readw(s, SW_BUS, dn, EXP + 2), ==, 0x0162);
        /* Link: port= 1 / 2, DLL active reporting capable. */
        g_assert_cmphex(bcfg_readl(s, SW_BUS, dn, LNKCAP), ==,
                        (i + 1) << 24 | 0x00100011);
        sltcap = bcfg_readl(s, SW_BUS, dn, SLTCAP);
        g_assert_cmphex(sltcap >> 19, ==, 5 + i);         /* slot= */
        g_assert_cmphex(sltcap & 0x7f, ==, 0x7b);         /* as the root
                                                             port's */
        g_assert_cmphex(sltcap & 0x20000, ==, 0x20000);   /* interlock */
        g_assert_cmphex(qtest_readl(s, ecam(SW_BUS, dn, 0x100)), ==,
                        0x00020001);
    }
    /* dn1 has its testdev: presence, link up, powered, indicator on. */
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN1, SLTSTA) & 0x40, ==, 0x40);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN1, LNKSTA) & 0x2000, ==, 0x2000);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN1, SLTCTL) & 0x7c0, ==, 0x1c0);
    /* dn0 is empty: no presence, link down, power and indicator off. */
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, SLTSTA) & 0x40, ==, 0);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, LNKSTA) & 0x2000, ==, 0);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, SLTCTL) & 0x7c0, ==, 0x7c0);
    qtest_quit(s);
}

/* ---- bus numbers, windows, INTx ---------------------------------------- */

static void test_bus_numbers(void)
{
    QTestState *s = qtest_init(SWITCH_ARGS);

    cfg_writel(s, MCH, 0x60, (uint32_t)ECAM_BASE | 1);
    /* Nothing behind the root port answers before it has numbers. */
    g_assert_cmphex(bcfg_readl(s, UP_BUS, 0, 0), ==, 0xffffffff);
    number_switch(s);
    /* The testdev at 04:00.0 through three bridges, both mechanisms. */
    g_assert_cmphex(bcfg_readl(s, 4, 0, 0), ==, 0x00051b36);
    g_assert_cmphex(qtest_readl(s, ecam(4, 0, 0)), ==, 0x00051b36);
    /* dn0's link (bus 3) is empty; a link has device 0 only; the switch's
     * internal bus has just the two ports; bus 5 is nobody's. */
    g_assert_cmphex(bcfg_readl(s, 3, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, 4, DEVFN(1, 0), 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, SW_BUS, DEVFN(2, 0), 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, 5, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, ecam(5, 0, 0)), ==, 0xffffffff);
    /* Only device 0 sits on the root port's link: the upstream port. */
    g_assert_cmphex(bcfg_readl(s, UP_BUS, DEVFN(1, 0), 0), ==, 0xffffffff);

    /* The testdev's BARs through the three windows. */
    bcfg_writel(s, 4, 0, 0x10, MEM_WIN);
    bcfg_writel(s, 4, 0, 0x14, IO_WIN);
    bcfg_writew(s, 4, 0, 0x04, 0x7);
    qtest_writel(s, MEM_WIN + SCRATCH_MEM, 0x13572468);
    g_assert_cmphex(qtest_readl(s, MEM_WIN + SCRATCH_MEM), ==, 0x13572468);
    /* The upstream port's memory enable gates everything below it. */
    bcfg_writew(s, UP_BUS, 0, 0x04, 0x5);
    g_assert_cmphex(qtest_readl(s, MEM_WIN + SCRATCH_MEM), ==, 0xffffffff);
    bcfg_writew(s, UP_BUS, 0, 0x04, 0x7);
    g_assert_cmphex(qtest_readl(s, MEM_WIN + SCRATCH_MEM), ==, 0x13572468);

    /* INTA of 04:00.0 -> dn1's INTA (slot 0) -> the upstream port's INTB
     * (dn1 is slot 1) -> the root port's INTB (slot 0) -> slot 4 INTB on
     * pcie.0: PIRQ (4 + 1) mod 4 + 4 = F, IOAPIC input 21. */
    qtest_irq_intercept_in(s, "ioapic");
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 1);
    g_assert_true(qtest_get_irq(s, 21));
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 0);
    g_assert_false(qtest_get_irq(s, 21));

    /* The upstream port's subordinate number no longer covers bus 4. */
    setup_bridge(s, UP_BUS, 0, SW_BUS, 3);
    g_assert_cmphex(bcfg_readl(s, 4, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, SW_BUS, DN1, 0), ==, 0x8233104c);
    qtest_quit(s);
}

/* ---- the downstream port's slot and its MSI ---------------------------- */

static void test_downstream_slot_msi(void)
{
    QTestState *s = qtest_init(SWITCH_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    number_switch(s);
    /* pciehp's first command on the empty dn0 with MSI off: Command
     * Completed, but no interrupt pin to raise (none, as QEMU). */
    bcfg_writew(s, SW_BUS, DN0, SLTCTL, 0x0730);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, SLTSTA) & 0x10, ==, 0x10);
    for (unsigned gsi = 16; gsi < 24; gsi++) {
        g_assert_false(qtest_get_irq(s, gsi));
    }
    bcfg_writew(s, SW_BUS, DN0, SLTSTA, 0x10);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, SLTSTA) & 0x10, ==, 0);

    /* MSI (64-bit) on: the next command's completion is a message,
     * written by the port as a bus master through the bridges above. */
    bcfg_writel(s, SW_BUS, DN0, MSI + 4, MSI_RAM);
    bcfg_writel(s, SW_BUS, DN0, MSI + 8, 0);
    bcfg_writew(s, SW_BUS, DN0, MSI + 12, 0x4321);
    bcfg_writew(s, SW_BUS, DN0, MSI + 2, 0x0001);
    bcfg_writew(s, SW_BUS, DN0, SLTCTL, 0x0730);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0x4321);
    /* Pending and not acknowledged: a second completion is no news. */
    qtest_writel(s, MSI_RAM, 0);
    bcfg_writew(s, SW_BUS, DN0, SLTCTL, 0x0730);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0);
    /* Acknowledged, the next one is. */
    bcfg_writew(s, SW_BUS, DN0, SLTSTA, 0x10);
    bcfg_writew(s, SW_BUS, DN0, SLTCTL, 0x0730);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0x4321);

    /* The interlock toggles and locks the slot, as on a root port. */
    bcfg_writew(s, SW_BUS, DN0, SLTCTL, 0x0f30);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, SLTSTA) & 0x80, ==, 0x80);
    bcfg_writew(s, SW_BUS, DN0, SLTCTL, 0x0f30);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN0, SLTSTA) & 0x80, ==, 0);

    /* Powering dn1's populated slot off removes the testdev (the end of
     * an unplug): presence goes, Presence Detect Changed, bus 4 empty. */
    bcfg_writew(s, SW_BUS, DN1, SLTCTL, 0x07c0);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN1, SLTSTA) & 0x48, ==, 0x08);
    g_assert_cmphex(bcfg_readw(s, SW_BUS, DN1, LNKSTA) & 0x2000, ==, 0);
    g_assert_cmphex(bcfg_readl(s, 4, 0, 0), ==, 0xffffffff);
    qtest_quit(s);
}

/* ---- placement and libvirt --------------------------------------------- */

/* Start kvmpc with @args and expect it to refuse with @message. */
static void expect_startup_error(const char *args, const char *message)
{
    g_autofree char *cmd = g_strdup_printf(
        "timeout 20 %s -accel qtest -nodefaults -display none %s",
        qtest_kvmpc_binary(), args);
    g_auto(GStrv) argv = NULL;
    g_autofree char *out = NULL, *err = NULL;
    GError *error = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &error));
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                 &err, &status, &error);
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    if (!strstr(err, message)) {
        g_error("expected \"%s\" in: %s", message, err);
    }
}

static void test_placement(void)
{
    QTestState *s;

    /* On pc's conventional bus, no. */
    expect_startup_error("-device x3130-upstream",
                         "not on the conventional PCI bus 'pci.0'");
    /* A downstream port only on an upstream port's bus. */
    expect_startup_error("-machine q35 -device xio3130-downstream",
                         "belongs on the bus of a switch upstream port "
                         "(x3130-upstream), not on 'pcie.0'");
    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device xio3130-downstream,bus=rp",
                         "not on 'rp'");
    /* Not an upstream port on a switch's internal bus either. */
    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device x3130-upstream,id=up,bus=rp "
                         "-device x3130-upstream,bus=up",
                         "not on the switch-internal bus 'up'");
    /* Behind a downstream port: a switch under a switch. */
    s = qtest_init("-machine q35 -device pcie-root-port,id=rp,addr=4 "
                   "-device x3130-upstream,id=up,bus=rp "
                   "-device xio3130-downstream,id=dn,bus=up,chassis=2 "
                   "-device x3130-upstream,id=up2,bus=dn "
                   "-device xio3130-downstream,id=dn2,bus=up2,addr=3,"
                   "chassis=3");
    cfg_writel(s, RP, 0x18, 0x00050100);
    bcfg_writel(s, 1, 0, 0x18, 0x00050201);
    bcfg_writel(s, 2, 0, 0x18, 0x00050302);
    bcfg_writel(s, 3, 0, 0x18, 0x00050403);
    g_assert_cmphex(bcfg_readl(s, 4, DEVFN(3, 0), 0), ==, 0x8233104c);
    qtest_quit(s);
    /* The link below a downstream port holds device 0 only. */
    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device x3130-upstream,id=up,bus=rp "
                         "-device xio3130-downstream,id=dn,bus=up "
                         "-device pci-testdev,bus=dn,addr=2",
                         "only allows plugging into slot 0");
}

/* libvirt's <controller type='pci' model='pcie-switch-upstream-port'/>
 * and 'pcie-switch-downstream-port', in its JSON -device form. */
static void test_libvirt_cmdline(void)
{
    QTestState *s = qtest_init(
        "-machine pc-q35-7.2 "
        "-device '{\"driver\":\"pcie-root-port\",\"port\":16,\"chassis\":1,"
        "\"id\":\"pci.1\",\"bus\":\"pcie.0\",\"multifunction\":true,"
        "\"addr\":\"0x2\"}' "
        "-device '{\"driver\":\"pcie-root-port\",\"port\":17,\"chassis\":2,"
        "\"id\":\"pci.2\",\"bus\":\"pcie.0\",\"addr\":\"0x2.0x1\"}' "
        "-device '{\"driver\":\"x3130-upstream\",\"id\":\"pci.3\","
        "\"bus\":\"pci.2\",\"addr\":\"0x0\"}' "
        "-device '{\"driver\":\"xio3130-downstream\",\"port\":0,"
        "\"chassis\":4,\"id\":\"pci.4\",\"bus\":\"pci.3\",\"addr\":\"0x0\"}' "
        "-device '{\"driver\":\"xio3130-downstream\",\"port\":1,"
        "\"chassis\":5,\"id\":\"pci.5\",\"bus\":\"pci.3\",\"addr\":\"0x1\"}' "
        "-device pci-testdev,bus=pci.5,addr=0x0");

    cfg_writel(s, DEVFN(2, 1), 0x18, 0x00050200);
    bcfg_writel(s, 2, 0, 0x18, 0x00050302);
    bcfg_writel(s, 3, DEVFN(0, 0), 0x18, 0x00040403);
    bcfg_writel(s, 3, DEVFN(1, 0), 0x18, 0x00050503);
    g_assert_cmphex(bcfg_readl(s, 2, 0, 0), ==, 0x8232104c);
    g_assert_cmphex(bcfg_readl(s, 3, DEVFN(0, 0), 0), ==, 0x8233104c);
    g_assert_cmphex(bcfg_readl(s, 3, DEVFN(1, 0), LNKCAP) >> 24, ==, 1);
    g_assert_cmphex(bcfg_readl(s, 4, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, 5, 0, 0), ==, 0x00051b36);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcie-switch/upstream-header", test_upstream_header);
    g_test_add_func("/pcie-switch/downstream-header",
                    test_downstream_header);
    g_test_add_func("/pcie-switch/bus-numbers", test_bus_numbers);
    g_test_add_func("/pcie-switch/downstream-slot-msi",
                    test_downstream_slot_msi);
    g_test_add_func("/pcie-switch/placement", test_placement);
    g_test_add_func("/pcie-switch/libvirt-cmdline", test_libvirt_cmdline);
    return g_test_run();
}
