/*
 * pcie-pci-bridge on q35: the PCI Express to PCI bridge behind a root
 * port (and behind a switch downstream port).  Config header and
 * capabilities (IDs, class, the PCI Express capability's type 7, PM,
 * AER, no SHPC and no BAR), bus numbers through the root port and the
 * bridge, a pci-testdev in a slot of the conventional bus behind it
 * reached through the windows, INTx swizzling, and the refusals: shpc=on,
 * msi=on, a conventional parent bus, hotplug behind it (docs/hotplug.md).
 * Spec: PCI Express to PCI/PCI-X Bridge 1.0; PCI Express Base 4.0, 7.5.3.
 */
#include "pci-helpers.h"

#define ECAM_BASE       0xb0000000ULL
#define MCH             DEVFN(0, 0)
#define RP              DEVFN(4, 0)
#define PPB_BUS         1           /* the bridge, 01:00.0 */
#define PCI_BUS         2           /* its conventional bus */
#define TESTDEV         DEVFN(3, 0)
#define EXP             0x48
#define PM              0x84
#define MEM_WIN         0xfe000000u
#define IO_WIN          0x1000u
#define SCRATCH_MEM     0xffc
#define SCRATCH_IO      0xfc
#define EXT_INTX_IO     0xf0

#define PPB_ARGS \
    "-machine q35 -device pcie-root-port,id=rp,addr=4,chassis=1 " \
    "-device pcie-pci-bridge,id=ppb,bus=rp " \
    "-device pci-testdev,bus=ppb,addr=3,intx-pin=1"

static uint64_t ecam(unsigned bus, unsigned devfn, unsigned reg)
{
    return ECAM_BASE + ((uint64_t)bus << 20) + (devfn << 12) + reg;
}

static void setup_bridge(QTestState *s, unsigned bus, unsigned devfn,
                         unsigned sec, unsigned sub)
{
    bcfg_writel(s, bus, devfn, 0x18, bus | sec << 8 | sub << 16);
    bcfg_writel(s, bus, devfn, 0x1c, (IO_WIN >> 8) | (IO_WIN >> 8) << 8);
    bcfg_writel(s, bus, devfn, 0x20, (MEM_WIN >> 16) | (MEM_WIN >> 16) << 16);
    bcfg_writew(s, bus, devfn, 0x04, 0x7);
}

static void number_buses(QTestState *s)
{
    cfg_writel(s, MCH, 0x60, (uint32_t)ECAM_BASE | 1);
    setup_bridge(s, 0, RP, PPB_BUS, PCI_BUS);
    setup_bridge(s, PPB_BUS, 0, PCI_BUS, PCI_BUS);
}

static void test_header(void)
{
    QTestState *s = qtest_init(PPB_ARGS);

    number_buses(s);
    g_assert_cmphex(bcfg_readl(s, PPB_BUS, 0, 0), ==, 0x000e1b36);
    g_assert_cmphex(qtest_readl(s, ecam(PPB_BUS, 0, 0)), ==, 0x000e1b36);
    g_assert_cmphex(bcfg_readb(s, PPB_BUS, 0, 0x08), ==, 0);
    g_assert_cmphex(bcfg_readw(s, PPB_BUS, 0, 0x0a), ==, 0x0604);
    g_assert_cmphex(bcfg_readb(s, PPB_BUS, 0, 0x0e), ==, 0x01);
    g_assert_cmphex(bcfg_readb(s, PPB_BUS, 0, 0x3d), ==, 1);
    /* Capabilities: PM 84h -> PCIe 48h; no SHPC (0Ch) and no MSI. */
    g_assert_cmphex(bcfg_readb(s, PPB_BUS, 0, 0x34), ==, PM);
    g_assert_cmphex(bcfg_readw(s, PPB_BUS, 0, PM), ==, 0x4801);
    g_assert_cmphex(bcfg_readw(s, PPB_BUS, 0, PM + 2), ==, 0x0003);
    g_assert_cmphex(bcfg_readw(s, PPB_BUS, 0, EXP), ==, 0x0010);
    g_assert_cmphex(bcfg_readl(s, PPB_BUS, 0, 0x40), ==, 0);
    /* PCI Express to PCI/PCI-X Bridge (type 7), version 2, no slot. */
    g_assert_cmphex(bcfg_readw(s, PPB_BUS, 0, EXP + 2), ==, 0x0072);
    g_assert_cmphex(bcfg_readl(s, PPB_BUS, 0, EXP + 12), ==, 0x00000011);
    g_assert_cmphex(qtest_readl(s, ecam(PPB_BUS, 0, 0x100)), ==, 0x00020001);
    /* No SHPC BAR. */
    bcfg_writel(s, PPB_BUS, 0, 0x10, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, PPB_BUS, 0, 0x10), ==, 0);
    bcfg_writel(s, PPB_BUS, 0, 0x14, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, PPB_BUS, 0, 0x14), ==, 0);
    qtest_quit(s);
}

static void test_bus_behind(void)
{
    QTestState *s = qtest_init(PPB_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    cfg_writel(s, MCH, 0x60, (uint32_t)ECAM_BASE | 1);
    g_assert_cmphex(bcfg_readl(s, PCI_BUS, TESTDEV, 0), ==, 0xffffffff);
    number_buses(s);
    /* A conventional bus: slot 3 (not just device 0, as on a link). */
    g_assert_cmphex(bcfg_readl(s, PCI_BUS, TESTDEV, 0), ==, 0x00051b36);
    g_assert_cmphex(qtest_readl(s, ecam(PCI_BUS, TESTDEV, 0)), ==,
                    0x00051b36);
    g_assert_cmphex(qtest_readl(s, ecam(PCI_BUS, TESTDEV, 0x100)), ==,
                    0xffffffff);
    g_assert_cmphex(bcfg_readl(s, PCI_BUS, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, 3, 0, 0), ==, 0xffffffff);

    bcfg_writel(s, PCI_BUS, TESTDEV, 0x10, MEM_WIN);
    bcfg_writel(s, PCI_BUS, TESTDEV, 0x14, IO_WIN);
    bcfg_writew(s, PCI_BUS, TESTDEV, 0x04, 0x7);
    qtest_writel(s, MEM_WIN + SCRATCH_MEM, 0x13572468);
    g_assert_cmphex(qtest_readl(s, MEM_WIN + SCRATCH_MEM), ==, 0x13572468);
    qtest_outl(s, IO_WIN + SCRATCH_IO, 0x2468ace0);
    g_assert_cmphex(qtest_inl(s, IO_WIN + SCRATCH_IO), ==, 0x2468ace0);
    /* The bridge's I/O enable gates its I/O window. */
    bcfg_writew(s, PPB_BUS, 0, 0x04, 0x6);
    g_assert_cmphex(qtest_inl(s, IO_WIN + SCRATCH_IO), ==, 0xffffffff);
    bcfg_writew(s, PPB_BUS, 0, 0x04, 0x7);

    /* INTA of slot 3 -> the bridge's INTD ((0 + 3) mod 4) -> the root
     * port's INTD (the bridge is slot 0) -> slot 4 INTD on pcie.0:
     * PIRQ (4 + 3) mod 4 + 4 = H, IOAPIC input 23. */
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 1);
    g_assert_true(qtest_get_irq(s, 23));
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 0);
    g_assert_false(qtest_get_irq(s, 23));

    /* Secondary bus reset: the testdev's BARs are cleared. */
    bcfg_writew(s, PPB_BUS, 0, 0x3e, 0x40);
    bcfg_writew(s, PPB_BUS, 0, 0x3e, 0x00);
    g_assert_cmphex(bcfg_readl(s, PCI_BUS, TESTDEV, 0x10), ==, 0);
    qtest_quit(s);
}

/* Behind a switch downstream port, as libvirt places one when the root
 * ports are used up; libvirt's command line form. */
static void test_behind_switch(void)
{
    QTestState *s = qtest_init(
        "-machine pc-q35-7.2 "
        "-device pcie-root-port,port=0x10,chassis=1,id=pci.1,bus=pcie.0,"
        "addr=0x4 "
        "-device '{\"driver\":\"x3130-upstream\",\"id\":\"pci.2\","
        "\"bus\":\"pci.1\",\"addr\":\"0x0\"}' "
        "-device '{\"driver\":\"xio3130-downstream\",\"port\":0,"
        "\"chassis\":3,\"id\":\"pci.3\",\"bus\":\"pci.2\",\"addr\":\"0x0\"}' "
        "-device pcie-pci-bridge,id=pci.4,bus=pci.3,addr=0x0 "
        "-device pci-testdev,bus=pci.4,addr=0x1");

    cfg_writel(s, RP, 0x18, 0x00040100);
    bcfg_writel(s, 1, 0, 0x18, 0x00040201);
    bcfg_writel(s, 2, 0, 0x18, 0x00040302);
    bcfg_writel(s, 3, 0, 0x18, 0x00040403);
    g_assert_cmphex(bcfg_readl(s, 3, 0, 0), ==, 0x000e1b36);
    g_assert_cmphex(bcfg_readl(s, 4, DEVFN(1, 0), 0), ==, 0x00051b36);
    qtest_quit(s);
}

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

static void test_refusals(void)
{
    QTestState *s;

    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device pcie-pci-bridge,bus=rp,shpc=on",
                         "shpc=on is not supported");
    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device pcie-pci-bridge,bus=rp,msi=on",
                         "msi=on is not supported");
    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device pcie-pci-bridge,bus=rp,msi=maybe",
                         "doesn't take value 'maybe'");
    expect_startup_error("-device pcie-pci-bridge",
                         "not on the conventional PCI bus 'pci.0' (use "
                         "pci-bridge there)");
    expect_startup_error("-machine q35 -device pcie-root-port,id=rp "
                         "-device pcie-pci-bridge,id=b,bus=rp "
                         "-device pcie-pci-bridge,bus=b",
                         "not on the conventional PCI bus 'b'");
    /* msi=off and msi=auto are what there is; pcie.0 takes one too. */
    s = qtest_init("-machine q35 -device pcie-root-port,id=rp,addr=4 "
                   "-device pcie-pci-bridge,bus=rp,msi=off,shpc=off "
                   "-device pcie-pci-bridge,addr=5,msi=auto");
    g_assert_cmphex(cfg_readl(s, DEVFN(5, 0), 0), ==, 0x000e1b36);
    g_assert_cmphex(cfg_readb(s, DEVFN(5, 0), 0x34), ==, PM);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcie-pci-bridge/header", test_header);
    g_test_add_func("/pcie-pci-bridge/bus-behind", test_bus_behind);
    g_test_add_func("/pcie-pci-bridge/behind-switch", test_behind_switch);
    g_test_add_func("/pcie-pci-bridge/refusals", test_refusals);
    return g_test_run();
}
