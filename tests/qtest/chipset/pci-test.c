/*
 * The PCI framework through configuration mechanism #1: the chipset's
 * IDs, config cycles of every width, BAR sizing and mapping, the
 * expansion ROM, capabilities, MSI and MSI-X, placement rules.  Uses
 * pci-testdev (1b36:0005) and its kvmpc test extension registers.
 */
#include "pci-helpers.h"
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#define TESTDEV_SLOT    5
#define TESTDEV         DEVFN(TESTDEV_SLOT, 0)
#define TESTDEV_ARGS    "-device pci-testdev,addr=5"
#define IO_BAR_ADDR     0xc000
#define MEM_BAR_ADDR    0xfe000000u
#define MSIX_BAR_ADDR   0xfe100000u
#define ROM_BAR_ADDR    0xfeb00000u
#define EXT_IO          (IO_BAR_ADDR + 0xf0)
#define EXT_INTX        0
#define EXT_MSI         4
#define EXT_MSIX        8
#define EXT_SCRATCH     12
#define CMD_IO          0x1
#define CMD_MEM         0x2
#define CMD_MASTER      0x4
#define CMD_INTX_DIS    0x400
#define MSI_RAM         0x10000u
#define MSIX_RAM        0x20000u

static void map_testdev(QTestState *s, unsigned devfn, uint16_t cmd)
{
    cfg_writel(s, devfn, 0x10, MEM_BAR_ADDR);
    cfg_writel(s, devfn, 0x14, IO_BAR_ADDR);
    cfg_writew(s, devfn, 0x04, cmd);
}

static void test_chipset_ids(void)
{
    QTestState *s = qtest_init("");

    /* 00.0 i440FX host bridge */
    g_assert_cmphex(cfg_readl(s, DEVFN(0, 0), 0x00), ==, 0x12378086);
    g_assert_cmphex(cfg_readl(s, DEVFN(0, 0), 0x08), ==, 0x06000002);
    g_assert_cmphex(cfg_readb(s, DEVFN(0, 0), 0x0e), ==, 0x00);
    g_assert_cmphex(cfg_readl(s, DEVFN(0, 0), 0x2c), ==, 0x11001af4);
    /* 01.0 PIIX3 ISA bridge, multifunction */
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 0), 0x00), ==, 0x70008086);
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 0), 0x08), ==, 0x06010000);
    g_assert_cmphex(cfg_readb(s, DEVFN(1, 0), 0x0e), ==, 0x80);
    g_assert_cmphex(cfg_readw(s, DEVFN(1, 0), 0x06), ==, 0x0200);
    /* 01.3 PIIX4 power management, rev 3, INTA */
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 3), 0x00), ==, 0x71138086);
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 3), 0x08), ==, 0x06800003);
    g_assert_cmphex(cfg_readw(s, DEVFN(1, 3), 0x06), ==, 0x0280);
    g_assert_cmphex(cfg_readb(s, DEVFN(1, 3), 0x3d), ==, 0x01);
    /* 01.1 PIIX3 IDE: QEMU's pc keeps it even with -nodefaults */
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 1), 0x00), ==, 0x70108086);
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 1), 0x08), ==, 0x01018000);
    g_assert_cmphex(cfg_readb(s, DEVFN(1, 1), 0x3d), ==, 0x00);
    /* Nothing else with -nodefaults. */
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 2), 0x00), ==, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, DEVFN(2, 0), 0x00), ==, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, DEVFN(31, 7), 0x00), ==, 0xffffffff);
    qtest_quit(s);
}

static void test_config_mechanism(void)
{
    QTestState *s = qtest_init("");

    /* CONFIG_ADDRESS reads back; narrower writes leave it alone. */
    qtest_outl(s, PCI_CONFIG_ADDR, 0x80000808);
    g_assert_cmphex(qtest_inl(s, PCI_CONFIG_ADDR), ==, 0x80000808);
    qtest_outw(s, PCI_CONFIG_ADDR, 0x1234);
    qtest_outb(s, PCI_CONFIG_ADDR + 2, 0x55);
    g_assert_cmphex(qtest_inl(s, PCI_CONFIG_ADDR), ==, 0x80000808);

    /* Every width and byte lane of CONFIG_DATA. */
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(DEVFN(1, 0), 0x00));
    g_assert_cmphex(qtest_inw(s, 0xcfc), ==, 0x8086);
    g_assert_cmphex(qtest_inw(s, 0xcfe), ==, 0x7000);
    g_assert_cmphex(qtest_inb(s, 0xcfd), ==, 0x80);
    g_assert_cmphex(qtest_inb(s, 0xcff), ==, 0x70);

    /* Byte and word writes change only their lanes (PIIX3 PIRQRC). */
    cfg_writel(s, DEVFN(1, 0), 0x60, 0x0b0a0905);
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 0), 0x60), ==, 0x0b0a0905);
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(DEVFN(1, 0), 0x60));
    qtest_outb(s, 0xcfd, 0x80);
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 0), 0x60), ==, 0x0b0a8005);
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(DEVFN(1, 0), 0x60));
    qtest_outw(s, 0xcfe, 0x0c0e);
    g_assert_cmphex(cfg_readl(s, DEVFN(1, 0), 0x60), ==, 0x0c0e8005);

    /* Enable bit clear, or another bus: nobody answers. */
    qtest_outl(s, PCI_CONFIG_ADDR, 0x00000000);
    g_assert_cmphex(qtest_inl(s, PCI_CONFIG_DATA), ==, 0xffffffff);
    qtest_outl(s, PCI_CONFIG_ADDR, 0x80010000);
    g_assert_cmphex(qtest_inl(s, PCI_CONFIG_DATA), ==, 0xffffffff);
    qtest_outl(s, PCI_CONFIG_ADDR, 0x80010000);
    qtest_outl(s, PCI_CONFIG_DATA, 0);

    /* Read-only registers ignore writes. */
    cfg_writel(s, DEVFN(0, 0), 0x00, 0);
    cfg_writel(s, DEVFN(0, 0), 0x08, 0);
    g_assert_cmphex(cfg_readl(s, DEVFN(0, 0), 0x00), ==, 0x12378086);
    g_assert_cmphex(cfg_readl(s, DEVFN(0, 0), 0x08), ==, 0x06000002);
    qtest_quit(s);
}

static void test_placement(void)
{
    QTestState *s = qtest_init("-device pci-testdev "
                               "-device pci-testdev,addr=7,id=t7");

    /* -1 picks the first free slot: 2 with -nodefaults. */
    g_assert_cmphex(cfg_readl(s, DEVFN(2, 0), 0x00), ==, 0x00051b36);
    g_assert_cmphex(cfg_readl(s, DEVFN(7, 0), 0x00), ==, 0x00051b36);
    /* class word 0x00ff, QEMU 7.2's (query-pci "class": 255) */
    g_assert_cmphex(cfg_readl(s, DEVFN(7, 0), 0x08), ==, 0x00ff0000);
    g_assert_cmphex(cfg_readb(s, DEVFN(7, 0), 0x0e), ==, 0x00);
    g_assert_cmphex(cfg_readb(s, DEVFN(7, 0), 0x3d), ==, 0x00);
    g_assert_cmphex(cfg_readl(s, DEVFN(3, 0), 0x00), ==, 0xffffffff);
    qtest_quit(s);
}

static void test_bar_sizing(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS ",membar=1M");

    /* Type bits at reset. */
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x10), ==, 0x00000000);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x14), ==, 0x00000001);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x18), ==, 0x0000000c);
    /* All ones in, size mask out (PCI 3.0 6.2.5.1). */
    for (unsigned bar = 0; bar < 6; bar++) {
        cfg_writel(s, TESTDEV, 0x10 + 4 * bar, 0xffffffff);
    }
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x10), ==, 0xfffff000);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x14), ==, 0xffffff01);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x18), ==, 0xfff0000c);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x1c), ==, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x20), ==, 0x00000000);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x24), ==, 0x00000000);
    /* The expansion ROM BAR is not implemented without a romfile. */
    cfg_writel(s, TESTDEV, 0x30, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x30), ==, 0x00000000);
    qtest_quit(s);
}

static void test_bar_mapping(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);
    char name[32] = { 0 };

    /* Programmed but not enabled: nothing decodes. */
    map_testdev(s, TESTDEV, 0);
    g_assert_cmphex(qtest_inl(s, EXT_IO + EXT_SCRATCH), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 0xffc), ==, 0xffffffff);

    /* I/O enable maps BAR1 only. */
    cfg_writew(s, TESTDEV, 0x04, CMD_IO);
    qtest_outl(s, EXT_IO + EXT_SCRATCH, 0xcafe0001);
    g_assert_cmphex(qtest_inl(s, EXT_IO + EXT_SCRATCH), ==, 0xcafe0001);
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 0xffc), ==, 0xffffffff);

    /* Memory enable maps BAR0: the same registers at 0xff0. */
    cfg_writew(s, TESTDEV, 0x04, CMD_IO | CMD_MEM);
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 0xffc), ==, 0xcafe0001);

    /* QEMU's protocol: select a test, read its header. */
    qtest_outb(s, IO_BAR_ADDR, 0);
    g_assert_cmphex(qtest_inb(s, IO_BAR_ADDR + 1), ==, 1);
    g_assert_cmphex(qtest_inl(s, IO_BAR_ADDR + 4), ==, 128 + 3);
    g_assert_cmphex(qtest_inb(s, IO_BAR_ADDR + 8), ==, 0xfa);
    for (unsigned i = 0; i < sizeof(name) - 1; i++) {
        name[i] = qtest_inb(s, IO_BAR_ADDR + 16 + i);
    }
    g_assert_cmpstr(name, ==, "portio-no-eventfd");
    for (int i = 0; i < 5; i++) {
        qtest_outb(s, IO_BAR_ADDR + 131, 0xfa);
    }
    qtest_outb(s, IO_BAR_ADDR + 131, 0x12);      /* wrong data: ignored */
    g_assert_cmpuint(qtest_inl(s, IO_BAR_ADDR + 12), ==, 5);
    qtest_writeb(s, MEM_BAR_ADDR, 1);            /* mmio-wildcard-eventfd */
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 4), ==, 2048 + 1);
    qtest_writel(s, MEM_BAR_ADDR + 2049, 0x12345678);
    qtest_writeb(s, MEM_BAR_ADDR + 2049, 0);
    g_assert_cmpuint(qtest_readl(s, MEM_BAR_ADDR + 12), ==, 2);

    /* Moving a BAR unmaps the old place. */
    cfg_writel(s, TESTDEV, 0x14, IO_BAR_ADDR + 0x100);
    g_assert_cmphex(qtest_inl(s, EXT_IO + EXT_SCRATCH), ==, 0xffffffff);
    g_assert_cmphex(qtest_inl(s, EXT_IO + 0x100 + EXT_SCRATCH), ==,
                    0xcafe0001);
    cfg_writel(s, TESTDEV, 0x10, MEM_BAR_ADDR + 0x10000);
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 0xffc), ==, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 0x10ffc), ==, 0xcafe0001);

    /* Disabling unmaps both. */
    cfg_writew(s, TESTDEV, 0x04, 0);
    g_assert_cmphex(qtest_inl(s, EXT_IO + 0x100 + EXT_SCRATCH), ==,
                    0xffffffff);
    g_assert_cmphex(qtest_readl(s, MEM_BAR_ADDR + 0x10ffc), ==, 0xffffffff);
    qtest_quit(s);
}

/* A RAM address under a memory BAR: the BAR is below RAM in priority. */
static void test_bar_below_ram(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS);

    qtest_writel(s, 0x100ffc, 0x11223344);
    cfg_writel(s, TESTDEV, 0x10, 0x100000);
    cfg_writew(s, TESTDEV, 0x04, CMD_MEM);
    g_assert_cmphex(qtest_readl(s, 0x100ffc), ==, 0x11223344);
    qtest_quit(s);
}

static char *make_rom(size_t size)
{
    GError *err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("kvmpc-rom-XXXXXX", &path, &err);
    g_autofree uint8_t *data = g_malloc(size);

    g_assert_no_error(err);
    for (size_t i = 0; i < size; i++) {
        data[i] = i * 7;
    }
    data[0] = 0x55;
    data[1] = 0xaa;
    g_assert_cmpint(write(fd, data, size), ==, (ssize_t)size);
    close(fd);
    return path;
}

static void test_rom_bar(void)
{
    g_autofree char *rom = make_rom(3000);
    QTestState *s = qtest_initf(TESTDEV_ARGS ",romfile=%s", rom);

    /* 3000 bytes become a 4 KiB ROM; bit 0 (enable) is writable. */
    cfg_writel(s, TESTDEV, 0x30, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x30), ==, 0xfffff001);
    cfg_writel(s, TESTDEV, 0x30, ROM_BAR_ADDR);
    cfg_writew(s, TESTDEV, 0x04, CMD_MEM);
    g_assert_cmphex(qtest_readl(s, ROM_BAR_ADDR), ==, 0xffffffff);
    cfg_writel(s, TESTDEV, 0x30, ROM_BAR_ADDR | 1);
    g_assert_cmphex(qtest_readw(s, ROM_BAR_ADDR), ==, 0xaa55);
    g_assert_cmphex(qtest_readb(s, ROM_BAR_ADDR + 100), ==, (uint8_t)700);
    /* ROM: writes are dropped; past the file it reads zero. */
    qtest_writeb(s, ROM_BAR_ADDR + 100, 0);
    g_assert_cmphex(qtest_readb(s, ROM_BAR_ADDR + 100), ==, (uint8_t)700);
    g_assert_cmphex(qtest_readl(s, ROM_BAR_ADDR + 4092), ==, 0);
    /* The memory enable bit gates it too. */
    cfg_writew(s, TESTDEV, 0x04, 0);
    g_assert_cmphex(qtest_readl(s, ROM_BAR_ADDR), ==, 0xffffffff);
    qtest_quit(s);
    g_unlink(rom);
}

static void test_capabilities(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS ",msi-vectors=4,msix-vectors=4");
    uint8_t msi, msix;

    g_assert_cmphex(cfg_readw(s, TESTDEV, 0x06) & 0x10, ==, 0x10);
    msi = cfg_find_cap(s, TESTDEV, 0x05);
    msix = cfg_find_cap(s, TESTDEV, 0x11);
    g_assert_cmpuint(msi, >=, 0x40);
    g_assert_cmpuint(msix, >=, 0x40);
    g_assert_cmpuint(msi & 3, ==, 0);
    /* MSI: 64-bit, per-vector masking, 4 vectors capable. */
    g_assert_cmphex(cfg_readw(s, TESTDEV, msi + 2), ==, 0x0184);
    /* MSI-X: 4 entries, table in BAR4 at 0, PBA at 0x800. */
    g_assert_cmphex(cfg_readw(s, TESTDEV, msix + 2), ==, 0x0003);
    g_assert_cmphex(cfg_readl(s, TESTDEV, msix + 4), ==, 0x00000004);
    g_assert_cmphex(cfg_readl(s, TESTDEV, msix + 8), ==, 0x00000804);
    /* Capability bytes are read-only but the enable bits. */
    cfg_writel(s, TESTDEV, msix, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, TESTDEV, msix), ==,
                    0xc0030000 | (cfg_readb(s, TESTDEV, msix + 1) << 8) | 0x11);
    /* No capabilities: status bit clear, pointer 0. */
    g_assert_cmphex(cfg_readw(s, DEVFN(0, 0), 0x06) & 0x10, ==, 0);
    qtest_quit(s);
}

static void test_msi(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS ",msi-vectors=4,intx-pin=1");
    uint8_t cap;

    map_testdev(s, TESTDEV, CMD_IO | CMD_MASTER);
    cap = cfg_find_cap(s, TESTDEV, 0x05);
    g_assert_cmpuint(cap, !=, 0);
    cfg_writel(s, TESTDEV, cap + 4, MSI_RAM);
    cfg_writel(s, TESTDEV, cap + 8, 0);
    cfg_writew(s, TESTDEV, cap + 12, 0x4000);

    /* Disabled: nothing is written. */
    qtest_outl(s, EXT_IO + EXT_MSI, 0);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0);

    /* Enable with 4 vectors (MME = 2); MME beyond MMC is clamped. */
    qtest_outb(s, EXT_IO + EXT_INTX, 1);
    g_assert_cmphex(cfg_readw(s, TESTDEV, 0x06) & 0x08, ==, 0x08);
    cfg_writew(s, TESTDEV, cap + 2, 0x0071);
    g_assert_cmphex(cfg_readw(s, TESTDEV, cap + 2), ==, 0x01a5);
    /* Enabling MSI releases INTx. */
    g_assert_cmphex(cfg_readw(s, TESTDEV, 0x06) & 0x08, ==, 0);

    qtest_outl(s, EXT_IO + EXT_MSI, 3);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0x4003);
    qtest_outl(s, EXT_IO + EXT_MSI, 4);         /* not allocated */
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0x4003);

    /* A masked vector is held pending and sent on unmask. */
    qtest_writel(s, MSI_RAM, 0);
    cfg_writel(s, TESTDEV, cap + 16, 0x2);
    qtest_outl(s, EXT_IO + EXT_MSI, 1);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0);
    g_assert_cmphex(cfg_readl(s, TESTDEV, cap + 20), ==, 0x2);
    cfg_writel(s, TESTDEV, cap + 20, 0);        /* pending is read-only */
    g_assert_cmphex(cfg_readl(s, TESTDEV, cap + 20), ==, 0x2);
    cfg_writel(s, TESTDEV, cap + 16, 0);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0x4001);
    g_assert_cmphex(cfg_readl(s, TESTDEV, cap + 20), ==, 0);

    /* Without bus mastering the write does not happen. */
    qtest_writel(s, MSI_RAM, 0);
    cfg_writew(s, TESTDEV, 0x04, CMD_IO);
    qtest_outl(s, EXT_IO + EXT_MSI, 0);
    g_assert_cmphex(qtest_readl(s, MSI_RAM), ==, 0);
    qtest_quit(s);
}

static void test_msix(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS ",msix-vectors=4");
    uint8_t cap;

    map_testdev(s, TESTDEV, CMD_IO | CMD_MEM | CMD_MASTER);
    cfg_writel(s, TESTDEV, 0x20, MSIX_BAR_ADDR);
    cap = cfg_find_cap(s, TESTDEV, 0x11);
    g_assert_cmpuint(cap, !=, 0);

    /* Entries start masked. */
    for (unsigned v = 0; v < 4; v++) {
        g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 16 * v + 12), ==, 1);
    }
    qtest_writel(s, MSIX_BAR_ADDR + 32, MSIX_RAM);
    qtest_writel(s, MSIX_BAR_ADDR + 36, 0);
    qtest_writel(s, MSIX_BAR_ADDR + 40, 0x77);
    qtest_writel(s, MSIX_BAR_ADDR + 44, 0);
    g_assert_cmphex(qtest_readq(s, MSIX_BAR_ADDR + 32), ==, MSIX_RAM);

    /* Enabled with the function masked: held pending in the PBA. */
    cfg_writew(s, TESTDEV, cap + 2, 0xc000);
    qtest_outl(s, EXT_IO + EXT_MSIX, 2);
    g_assert_cmphex(qtest_readl(s, MSIX_RAM), ==, 0);
    g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 0x800), ==, 0x4);
    qtest_writel(s, MSIX_BAR_ADDR + 0x800, 0);   /* PBA is read-only */
    g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 0x800), ==, 0x4);
    cfg_writew(s, TESTDEV, cap + 2, 0x8000);
    g_assert_cmphex(qtest_readl(s, MSIX_RAM), ==, 0x77);
    g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 0x800), ==, 0);

    /* A masked entry: pending until its mask bit clears. */
    qtest_writel(s, MSIX_BAR_ADDR + 16, MSIX_RAM + 16);
    qtest_writel(s, MSIX_BAR_ADDR + 24, 0x55);
    qtest_outl(s, EXT_IO + EXT_MSIX, 1);
    g_assert_cmphex(qtest_readl(s, MSIX_RAM + 16), ==, 0);
    g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 0x800), ==, 0x2);
    qtest_writel(s, MSIX_BAR_ADDR + 28, 0);
    g_assert_cmphex(qtest_readl(s, MSIX_RAM + 16), ==, 0x55);
    g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 0x800), ==, 0);

    /* Out-of-range vectors are ignored. */
    qtest_outl(s, EXT_IO + EXT_MSIX, 4);
    qtest_outl(s, EXT_IO + EXT_MSIX, 0xffffffff);
    g_assert_cmphex(qtest_readl(s, MSIX_BAR_ADDR + 0x800), ==, 0);
    qtest_quit(s);
}

/* A cold reset (0xcf9) clears BARs, command and MSI-X state. */
static void test_reset(void)
{
    QTestState *s = qtest_init(TESTDEV_ARGS ",msix-vectors=2");
    uint8_t cap = cfg_find_cap(s, TESTDEV, 0x11);

    map_testdev(s, TESTDEV, CMD_IO | CMD_MEM);
    cfg_writeb(s, TESTDEV, 0x3c, 11);
    cfg_writew(s, TESTDEV, cap + 2, 0x8000);
    qtest_outb(s, 0xcf9, 0x06);
    g_assert_cmphex(cfg_readw(s, TESTDEV, 0x04), ==, 0);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x10), ==, 0);
    g_assert_cmphex(cfg_readl(s, TESTDEV, 0x14), ==, 1);
    g_assert_cmphex(cfg_readb(s, TESTDEV, 0x3c), ==, 0);
    g_assert_cmphex(cfg_readw(s, TESTDEV, cap + 2), ==, 0x0001);
    g_assert_cmphex(qtest_inl(s, EXT_IO + EXT_SCRATCH), ==, 0xffffffff);
    qtest_quit(s);
}

/* Start kvmpc with @device and expect it to refuse with @message. */
static void expect_startup_error(const char *device, const char *message)
{
    const char *argv[] = {
        "timeout", "20", qtest_kvmpc_binary(), "-machine", "pc", "-accel",
        "qtest", "-nodefaults", "-display", "none", "-device", device, NULL,
    };
    g_autofree char *out = NULL, *err = NULL;
    GError *error = NULL;
    int status;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 &out, &err, &status, &error);
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    if (!strstr(err, message)) {
        g_error("expected \"%s\" in: %s", message, err);
    }
}

static void test_placement_errors(void)
{
    expect_startup_error("pci-testdev,addr=1",
                         "slot 1 function 0 not available");
    expect_startup_error("pci-testdev,addr=0.1",
                         "single function device can't be populated in "
                         "function 0.1");
    expect_startup_error("pci-testdev,addr=20", "addr");
    expect_startup_error("pci-testdev,romfile=/nonexistent/x.rom",
                         "failed to find romfile");
    expect_startup_error("pci-testdev,intx-pin=5", "intx-pin");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/chipset-ids", test_chipset_ids);
    g_test_add_func("/pci/config-mechanism", test_config_mechanism);
    g_test_add_func("/pci/placement", test_placement);
    g_test_add_func("/pci/placement-errors", test_placement_errors);
    g_test_add_func("/pci/bar-sizing", test_bar_sizing);
    g_test_add_func("/pci/bar-mapping", test_bar_mapping);
    g_test_add_func("/pci/bar-below-ram", test_bar_below_ram);
    g_test_add_func("/pci/rom-bar", test_rom_bar);
    g_test_add_func("/pci/capabilities", test_capabilities);
    g_test_add_func("/pci/msi", test_msi);
    g_test_add_func("/pci/msix", test_msix);
    g_test_add_func("/pci/reset", test_reset);
    return g_test_run();
}
