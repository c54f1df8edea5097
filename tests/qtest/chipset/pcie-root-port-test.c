/*
 * PCI-to-PCI bridges: pcie-root-port / ioh3420 on q35 and pci-bridge on
 * pc and q35.  Config headers and capabilities, bus numbers as firmware
 * assigns them (type 1 cycles through CF8/CFC and ECAM), a pci-testdev
 * behind a port and behind a bridge reached through the windows the
 * bridge forwards, INTx swizzling, and the root port's slot registers.
 */
#include "pci-helpers.h"

#define ECAM_BASE       0xb0000000ULL
#define MCH             DEVFN(0, 0)
#define LPC             DEVFN(0x1f, 0)
#define RP_SLOT         4
#define RP              DEVFN(RP_SLOT, 0)
#define EXP_OFF         0x54
#define SLTCAP          (EXP_OFF + 20)
#define SLTCTL          (EXP_OFF + 24)
#define SLTSTA          (EXP_OFF + 26)
#define LNKSTA          (EXP_OFF + 18)
#define MEM_WIN         0xfe000000u
#define IO_WIN          0x1000u
#define SCRATCH_MEM     0xffc
#define SCRATCH_IO      0xfc
#define EXT_INTX_IO     0xf0

static uint64_t ecam(unsigned bus, unsigned devfn, unsigned reg)
{
    return ECAM_BASE + ((uint64_t)bus << 20) + (devfn << 12) + reg;
}

static void enable_ecam(QTestState *s)
{
    cfg_writel(s, MCH, 0x60, (uint32_t)ECAM_BASE | 1);
}

/* What SeaBIOS does for one bridge: bus numbers, then the windows. */
static void setup_bridge(QTestState *s, unsigned bus, unsigned devfn,
                         unsigned sec, unsigned sub)
{
    bcfg_writel(s, bus, devfn, 0x18, bus | sec << 8 | sub << 16);
    bcfg_writel(s, bus, devfn, 0x1c, (IO_WIN >> 8) | (IO_WIN >> 8) << 8);
    bcfg_writel(s, bus, devfn, 0x20, (MEM_WIN >> 16) | (MEM_WIN >> 16) << 16);
    bcfg_writew(s, bus, devfn, 0x04, 0x7);      /* IO, memory, master */
}

/* A pci-testdev at @bus/@devfn: BAR0 at MEM_WIN, BAR1 at IO_WIN. */
static void setup_testdev(QTestState *s, unsigned bus, unsigned devfn)
{
    bcfg_writel(s, bus, devfn, 0x10, MEM_WIN);
    bcfg_writel(s, bus, devfn, 0x14, IO_WIN);
    bcfg_writew(s, bus, devfn, 0x04, 0x7);
}

static void assert_testdev_reachable(QTestState *s, bool yes)
{
    qtest_writel(s, MEM_WIN + SCRATCH_MEM, 0x13572468);
    if (yes) {
        g_assert_cmphex(qtest_readl(s, MEM_WIN + SCRATCH_MEM), ==,
                        0x13572468);
        qtest_outl(s, IO_WIN + SCRATCH_IO, 0x2468ace0);
        g_assert_cmphex(qtest_inl(s, IO_WIN + SCRATCH_IO), ==, 0x2468ace0);
    } else {
        g_assert_cmphex(qtest_readl(s, MEM_WIN + SCRATCH_MEM), !=,
                        0x13572468);
        g_assert_cmphex(qtest_inl(s, IO_WIN + SCRATCH_IO), ==, 0xffffffff);
    }
}

/* ---- root port header ------------------------------------------------- */

static void test_rp_header(void)
{
    QTestState *s = qtest_init("-machine q35 "
                               "-device pcie-root-port,id=rp,addr=4,"
                               "chassis=2,slot=7,port=3 "
                               "-device ioh3420,id=ioh,addr=5,slot=9");
    uint32_t sltcap;

    g_assert_cmphex(cfg_readl(s, RP, 0), ==, 0x000c1b36);
    g_assert_cmphex(cfg_readw(s, RP, 0x0a), ==, 0x0604);
    g_assert_cmphex(cfg_readb(s, RP, 0x0e), ==, 0x01);
    g_assert_cmphex(cfg_readb(s, RP, 0x3d), ==, 1);
    /* Capabilities: SSVID 40h -> MSI-X 48h -> PCIe 54h. */
    g_assert_cmphex(cfg_readb(s, RP, 0x34), ==, EXP_OFF);
    g_assert_cmphex(cfg_readw(s, RP, EXP_OFF), ==, 0x4810);
    g_assert_cmphex(cfg_readw(s, RP, 0x48), ==, 0x4011);
    g_assert_cmphex(cfg_readb(s, RP, 0x40), ==, 0x0d);
    /* Root port (type 4), version 2, slot implemented. */
    g_assert_cmphex(cfg_readw(s, RP, EXP_OFF + 2), ==, 0x0142);
    /* Link: port 3, x1 2.5 GT/s, DLL active reporting. */
    g_assert_cmphex(cfg_readl(s, RP, EXP_OFF + 12), ==, 0x03100011);
    sltcap = cfg_readl(s, RP, SLTCAP);
    g_assert_cmphex(sltcap >> 19, ==, 7);               /* slot= */
    g_assert_cmphex(sltcap & 0x7f, ==, 0x7b);           /* ABP PCP AIP PIP
                                                           HPS HPC, no MRL */
    /* BAR0 holds the MSI-X table: 4 KiB of memory. */
    cfg_writel(s, RP, 0x10, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, RP, 0x10), ==, 0xfffff000);
    /* Bus number and window registers are writable. */
    cfg_writel(s, RP, 0x18, 0x00050500);
    g_assert_cmphex(cfg_readl(s, RP, 0x18) & 0xffffff, ==, 0x050500);
    cfg_writel(s, RP, 0x24, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, RP, 0x24), ==, 0xfff1fff1);

    /* ioh3420: Intel IDs, MSI at 60h, PCIe at 90h. */
    g_assert_cmphex(cfg_readl(s, DEVFN(5, 0), 0), ==, 0x34208086);
    g_assert_cmphex(cfg_readb(s, DEVFN(5, 0), 0x34), ==, 0x90);
    g_assert_cmphex(cfg_readb(s, DEVFN(5, 0), 0x60), ==, 0x05);
    g_assert_cmphex(cfg_readl(s, DEVFN(5, 0), 0x90 + 20) >> 19, ==, 9);
    qtest_quit(s);
}

/* ---- a device behind a root port ------------------------------------- */

static void test_rp_device(void)
{
    QTestState *s = qtest_init("-machine q35 "
                               "-device pcie-root-port,id=rp,addr=4 "
                               "-device pci-testdev,bus=rp,intx-pin=1");

    enable_ecam(s);
    /* Before firmware numbers the buses: bus 1 reaches nothing. */
    g_assert_cmphex(bcfg_readl(s, 1, 0, 0), ==, 0xffffffff);
    setup_bridge(s, 0, RP, 1, 1);
    g_assert_cmphex(bcfg_readl(s, 1, 0, 0), ==, 0x00051b36);
    g_assert_cmphex(qtest_readl(s, ecam(1, 0, 0)), ==, 0x00051b36);
    /* Only device 0 lives on a link; other buses stay empty. */
    g_assert_cmphex(bcfg_readl(s, 1, DEVFN(1, 0), 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, 2, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, ecam(2, 0, 0)), ==, 0xffffffff);

    setup_testdev(s, 1, 0);
    assert_testdev_reachable(s, true);
    /* The bridge's memory and I/O enables gate its windows. */
    bcfg_writew(s, 0, RP, 0x04, 0x4);
    assert_testdev_reachable(s, false);
    bcfg_writew(s, 0, RP, 0x04, 0x7);
    assert_testdev_reachable(s, true);
    /* A window that does not cover the BAR forwards nothing. */
    bcfg_writel(s, 0, RP, 0x20, 0xfe10fe10);
    bcfg_writel(s, 0, RP, 0x1c, 0x2020);
    assert_testdev_reachable(s, false);
    qtest_quit(s);
}

/* ---- INTx through the port, and the slot registers ------------------- */

static void test_rp_intx_and_slot(void)
{
    /* The slot as native hotplug shows it (QEMU 7.2's q35 default is ACPI
     * hotplug, which hides presence: tests/qtest/q35-pcihp-test.c). */
    QTestState *s = qtest_init("-machine q35 "
                               "-global ICH9-LPC.acpi-pci-hotplug-with-"
                               "bridge-support=off "
                               "-device pcie-root-port,id=rp,addr=4 "
                               "-device pcie-root-port,id=empty,addr=5 "
                               "-device pci-testdev,bus=rp,intx-pin=1");
    uint16_t sta;

    qtest_irq_intercept_in(s, "ioapic");
    setup_bridge(s, 0, RP, 1, 1);
    setup_testdev(s, 1, 0);
    /* Device 0 INTA behind a port in slot 4: the port's INTA, PIRQE
     * ((4 + 0) mod 4 + 4), IOAPIC input 20. */
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 1);
    g_assert(qtest_get_irq(s, 20));
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 0);
    g_assert(!qtest_get_irq(s, 20));

    /* Presence detect and link active when populated. */
    sta = cfg_readw(s, RP, SLTSTA);
    g_assert_cmphex(sta & 0x40, ==, 0x40);
    g_assert_cmphex(cfg_readw(s, RP, LNKSTA) & 0x2000, ==, 0x2000);
    g_assert_cmphex(cfg_readw(s, DEVFN(5, 0), SLTSTA) & 0x40, ==, 0);
    g_assert_cmphex(cfg_readw(s, DEVFN(5, 0), LNKSTA) & 0x2000, ==, 0);
    /* Power indicator on and power applied for the populated slot. */
    g_assert_cmphex(cfg_readw(s, RP, SLTCTL) & 0x7c0, ==, 0x1c0);

    /* A Slot Control write completes: CC; with CCIE and HPIE the
     * hot-plug interrupt goes out on the port's INTA (GSI 20). */
    cfg_writew(s, RP, SLTCTL, 0x1c0 | 0x10 | 0x20);
    g_assert_cmphex(cfg_readw(s, RP, SLTSTA) & 0x10, ==, 0x10);
    g_assert(qtest_get_irq(s, 20));
    /* Write 1 to clear: the interrupt drops. */
    qtest_outl(s, PCI_CONFIG_ADDR, 0x80000000u | RP << 8 | SLTCTL);
    qtest_outw(s, PCI_CONFIG_DATA + 2, 0x10);
    g_assert_cmphex(cfg_readw(s, RP, SLTSTA) & 0x10, ==, 0);
    g_assert(!qtest_get_irq(s, 20));
    /* Presence detect state is read-only. */
    cfg_writew(s, RP, SLTSTA, 0);
    qtest_outl(s, PCI_CONFIG_ADDR, 0x80000000u | RP << 8 | SLTCTL);
    qtest_outw(s, PCI_CONFIG_DATA + 2, 0x40);
    g_assert_cmphex(cfg_readw(s, RP, SLTSTA) & 0x40, ==, 0x40);
    /* Indicator and power-controller bits are registers.  Powering the
     * populated slot off removes its device, as QEMU does (the end of a
     * hot-unplug, docs/hotplug.md): presence goes, Presence Detect
     * Changed is set, bus 1 is empty. */
    cfg_writew(s, RP, SLTCTL, 0x300 | 0x0c0 | 0x400);
    g_assert_cmphex(cfg_readw(s, RP, SLTCTL) & 0x7c0, ==, 0x7c0);
    g_assert_cmphex(cfg_readw(s, RP, SLTSTA) & 0x48, ==, 0x08);
    qtest_outl(s, PCI_CONFIG_ADDR, 0x80000000u | 1 << 16);
    g_assert_cmphex(qtest_inl(s, PCI_CONFIG_DATA), ==, 0xffffffff);
    qtest_quit(s);
}

/* ---- pci-bridge --------------------------------------------------------- */

/* pc: a bridge in slot 5, a testdev in its slot 3. */
static void test_pci_bridge_pc(void)
{
    QTestState *s = qtest_init("-device pci-bridge,id=br,addr=5,"
                               "chassis_nr=1 "
                               "-device pci-testdev,bus=br,addr=3,"
                               "intx-pin=1");
    const unsigned br = DEVFN(5, 0), dev = DEVFN(3, 0);

    qtest_irq_intercept_in(s, "ioapic");
    g_assert_cmphex(cfg_readl(s, br, 0), ==, 0x00011b36);
    g_assert_cmphex(cfg_readw(s, br, 0x0a), ==, 0x0604);
    g_assert_cmphex(cfg_readb(s, br, 0x0e), ==, 0x01);
    /* Slot numbering capability at 40h with the chassis number. */
    g_assert_cmphex(cfg_readb(s, br, 0x34), ==, 0x40);
    g_assert_cmphex(cfg_readl(s, br, 0x40) >> 24, ==, 1);
    g_assert_cmphex(cfg_readb(s, br, 0x40), ==, 0x04);

    setup_bridge(s, 0, br, 1, 1);
    g_assert_cmphex(bcfg_readl(s, 1, dev, 0), ==, 0x00051b36);
    setup_testdev(s, 1, dev);
    assert_testdev_reachable(s, true);
    /* INTA of slot 3 -> bridge INTD ((0 + 3) mod 4); bridge slot 5 INTD
     * -> PIIX PIRQ (3 + 5 - 1) & 3 = D; routed to IRQ 11. */
    cfg_writeb(s, DEVFN(1, 0), 0x63, 11);
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 1);
    g_assert(qtest_get_irq(s, 11));
    qtest_outb(s, IO_WIN + EXT_INTX_IO, 0);
    g_assert(!qtest_get_irq(s, 11));
    /* Secondary bus reset resets the devices behind (BARs cleared). */
    bcfg_writew(s, 0, br, 0x3e, 0x40);
    bcfg_writew(s, 0, br, 0x3e, 0x00);
    g_assert_cmphex(bcfg_readl(s, 1, dev, 0x10), ==, 0);
    assert_testdev_reachable(s, false);
    qtest_quit(s);
}

/* q35: root port (bus 1) -> pci-bridge (bus 2) -> testdev. */
static void test_pci_bridge_nested(void)
{
    QTestState *s = qtest_init("-machine q35 "
                               "-device pcie-root-port,id=rp,addr=4 "
                               "-device pci-bridge,id=br,bus=rp,"
                               "chassis_nr=3 "
                               "-device pci-testdev,bus=br,addr=2");

    enable_ecam(s);
    setup_bridge(s, 0, RP, 1, 2);
    setup_bridge(s, 1, 0, 2, 2);
    g_assert_cmphex(bcfg_readl(s, 2, DEVFN(2, 0), 0), ==, 0x00051b36);
    g_assert_cmphex(qtest_readl(s, ecam(2, DEVFN(2, 0), 0)), ==,
                    0x00051b36);
    /* A conventional function: no extended space through ECAM. */
    g_assert_cmphex(qtest_readl(s, ecam(2, DEVFN(2, 0), 0x100)), ==,
                    0xffffffff);
    setup_testdev(s, 2, DEVFN(2, 0));
    assert_testdev_reachable(s, true);
    /* The outer port's subordinate number no longer covers bus 2. */
    setup_bridge(s, 0, RP, 1, 1);
    g_assert_cmphex(bcfg_readl(s, 2, DEVFN(2, 0), 0), ==, 0xffffffff);
    qtest_quit(s);
}

/* The way libvirt writes it: multifunction ports in slot 2, ids pci.N. */
static void test_libvirt_cmdline(void)
{
    QTestState *s = qtest_init(
        "-machine pc-q35-7.2 -global ICH9-LPC.disable_s3=1 "
        "-global ICH9-LPC.disable_s4=1 "
        "-device pcie-root-port,port=0x10,chassis=1,id=pci.1,bus=pcie.0,"
        "multifunction=on,addr=0x2 "
        "-device pcie-root-port,port=0x11,chassis=2,id=pci.2,bus=pcie.0,"
        "addr=0x2.0x1 "
        "-device pci-testdev,bus=pci.2,addr=0x0");

    g_assert_cmphex(cfg_readl(s, DEVFN(2, 0), 0), ==, 0x000c1b36);
    g_assert_cmphex(cfg_readb(s, DEVFN(2, 0), 0x0e), ==, 0x81);
    g_assert_cmphex(cfg_readl(s, DEVFN(2, 1), 0), ==, 0x000c1b36);
    g_assert_cmphex(cfg_readl(s, DEVFN(2, 1), EXP_OFF + 12) >> 24, ==, 0x11);
    setup_bridge(s, 0, DEVFN(2, 0), 1, 1);
    setup_bridge(s, 0, DEVFN(2, 1), 2, 2);
    g_assert_cmphex(bcfg_readl(s, 1, 0, 0), ==, 0xffffffff);
    g_assert_cmphex(bcfg_readl(s, 2, 0, 0), ==, 0x00051b36);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcie-root-port/header", test_rp_header);
    g_test_add_func("/pcie-root-port/device", test_rp_device);
    g_test_add_func("/pcie-root-port/intx-and-slot", test_rp_intx_and_slot);
    g_test_add_func("/pci-bridge/pc", test_pci_bridge_pc);
    g_test_add_func("/pci-bridge/nested", test_pci_bridge_nested);
    g_test_add_func("/pcie-root-port/libvirt-cmdline", test_libvirt_cmdline);
    return g_test_run();
}
