/*
 * Hostile guests: device DMA and MSI/MSI-X aimed back at device registers.
 * The memory dispatch refuses an access into a device that is handling
 * one already (docs/design.md, "Re-entrant accesses"), so a guest cannot
 * recurse kvmpc into a stack overflow, while accesses between different
 * devices still work.  Uses pci-testdev's MSI/MSI-X trigger registers and
 * its DMA engine (hw/misc/pci-testdev.c).
 */
#include "pci-helpers.h"

#define SLOT0           5
#define BAR_ADDR(i)     (0xfe000000u + (i) * 0x10000u)
#define IO_BAR(i)       (0xc000u + (i) * 0x100u)
#define MSIX_BAR        0xfe800000u
#define DMA_SRC         0xfe0
#define DMA_DST         0xfe4
#define DMA_LEN         0xfe8
#define DMA_GO          0xfec
#define EXT_MSI         0xff4
#define EXT_MSIX        0xff8
#define EXT_SCRATCH     0xffc
#define IO_EXT_MSI      0xf4
#define IO_EXT_MSIX     0xf8
#define CMD_IO_MEM_MASTER 0x7
#define RAM_ONE         0x10000u    /* holds 1: what a DMA writes to GO */
#define RAM_MARKER      0x10010u
#define RAM_TARGET      0x10020u

/* kvmpc with @n pci-testdevs in slots SLOT0.. (addr= is hex, as QEMU
 * parses it) plus @extra properties. */
static QTestState *start(unsigned n, const char *extra)
{
    GString *args = g_string_new(NULL);
    QTestState *s;

    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(args, " -device pci-testdev,addr=%x%s",
                               SLOT0 + i, extra);
    }
    s = qtest_init(args->str);
    g_string_free(args, TRUE);
    for (unsigned i = 0; i < n; i++) {
        unsigned devfn = DEVFN(SLOT0 + i, 0);

        cfg_writel(s, devfn, 0x10, BAR_ADDR(i));
        cfg_writel(s, devfn, 0x14, IO_BAR(i));
        cfg_writew(s, devfn, 0x04, CMD_IO_MEM_MASTER);
    }
    qtest_writel(s, RAM_ONE, 1);
    return s;
}

static void msi_program(QTestState *s, unsigned i, uint32_t addr,
                        uint32_t data)
{
    unsigned devfn = DEVFN(SLOT0 + i, 0);
    uint8_t cap = cfg_find_cap(s, devfn, 0x05);

    g_assert_cmpuint(cap, !=, 0);
    cfg_writel(s, devfn, cap + 4, addr);
    cfg_writel(s, devfn, cap + 8, 0);
    cfg_writel(s, devfn, cap + 12, data);
    cfg_writew(s, devfn, cap + 2, cfg_readw(s, devfn, cap + 2) | 1);
}

static void dma_program(QTestState *s, unsigned i, uint32_t src,
                        uint32_t dst, uint32_t len)
{
    qtest_writel(s, BAR_ADDR(i) + DMA_SRC, src);
    qtest_writel(s, BAR_ADDR(i) + DMA_DST, dst);
    qtest_writel(s, BAR_ADDR(i) + DMA_LEN, len);
}

/* The reproducer, command for command (pci-testdev in slot 2). */
static void test_msi_into_own_msi_register(void)
{
    QTestState *s = qtest_init("-device pci-testdev,msi-vectors=1");

    qtest_outl(s, 0xcf8, 0x80001010);
    qtest_outl(s, 0xcfc, 0xe0000000);
    qtest_outl(s, 0xcf8, 0x80001004);
    qtest_outw(s, 0xcfc, 0x6);
    qtest_outl(s, 0xcf8, 0x80001044);
    qtest_outl(s, 0xcfc, 0xe0000ff4);
    qtest_outl(s, 0xcf8, 0x80001040);
    qtest_outl(s, 0xcfc, 0x10000);
    qtest_writel(s, 0xe0000ff4, 0x0);
    /* Still alive, and the device still answers. */
    qtest_writel(s, 0xe0000ffc, 0x5a5a);
    g_assert_cmphex(qtest_readl(s, 0xe0000ffc), ==, 0x5a5a);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_msi_into_self_refused_other_allowed(void)
{
    QTestState *s = start(2, ",msi-vectors=1");

    qtest_writel(s, BAR_ADDR(0) + EXT_SCRATCH, 0xdead);
    msi_program(s, 0, BAR_ADDR(0) + EXT_SCRATCH, 0x1234);
    qtest_outl(s, IO_BAR(0) + IO_EXT_MSI, 0);
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(0) + EXT_SCRATCH), ==, 0xdead);

    msi_program(s, 0, BAR_ADDR(1) + EXT_SCRATCH, 0x1234);
    qtest_outl(s, IO_BAR(0) + IO_EXT_MSI, 0);
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(1) + EXT_SCRATCH), ==, 0x1234);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void msix_program(QTestState *s, unsigned entry, uint32_t addr,
                         uint32_t data)
{
    qtest_writel(s, MSIX_BAR + 16 * entry, addr);
    qtest_writel(s, MSIX_BAR + 16 * entry + 4, 0);
    qtest_writel(s, MSIX_BAR + 16 * entry + 8, data);
    qtest_writel(s, MSIX_BAR + 16 * entry + 12, 0);     /* unmask */
}

static void test_msix_into_self(void)
{
    QTestState *s = start(2, ",msix-vectors=2");
    unsigned devfn = DEVFN(SLOT0, 0);
    uint8_t cap = cfg_find_cap(s, devfn, 0x11);

    g_assert_cmpuint(cap, !=, 0);
    cfg_writel(s, devfn, 0x20, MSIX_BAR);
    cfg_writew(s, devfn, cap + 2, 0x8000);
    /* Entry 0 signals vector 0 again: a loop, refused at once. */
    msix_program(s, 0, BAR_ADDR(0) + EXT_MSIX, 0);
    qtest_outl(s, IO_BAR(0) + IO_EXT_MSIX, 0);
    /* Entry 1 writes the device's own MSI-X table: refused too. */
    msix_program(s, 1, MSIX_BAR + 8, 0x77);
    qtest_outl(s, IO_BAR(0) + IO_EXT_MSIX, 1);
    g_assert_cmphex(qtest_readl(s, MSIX_BAR + 8), ==, 0);
    /* Into the other device: delivered. */
    msix_program(s, 1, BAR_ADDR(1) + EXT_SCRATCH, 0x77);
    qtest_outl(s, IO_BAR(0) + IO_EXT_MSIX, 1);
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(1) + EXT_SCRATCH), ==, 0x77);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_dma_into_self(void)
{
    QTestState *s = start(2, "");

    /* A copy onto its own GO register would start itself again. */
    dma_program(s, 0, RAM_ONE, BAR_ADDR(0) + DMA_GO, 4);
    qtest_writel(s, BAR_ADDR(0) + DMA_GO, 1);
    /* A copy over its own registers is refused: they keep their values. */
    qtest_writel(s, RAM_MARKER, 0xabcd);
    dma_program(s, 0, RAM_MARKER, BAR_ADDR(0) + EXT_SCRATCH, 4);
    qtest_writel(s, BAR_ADDR(0) + EXT_SCRATCH, 0x1111);
    qtest_writel(s, BAR_ADDR(0) + DMA_GO, 1);
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(0) + EXT_SCRATCH), ==, 0x1111);
    /* Into another device, and into RAM: done. */
    dma_program(s, 0, RAM_MARKER, BAR_ADDR(1) + EXT_SCRATCH, 4);
    qtest_writel(s, BAR_ADDR(0) + DMA_GO, 1);
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(1) + EXT_SCRATCH), ==, 0xabcd);
    dma_program(s, 0, RAM_MARKER, RAM_TARGET, 4);
    qtest_writel(s, BAR_ADDR(0) + DMA_GO, 1);
    g_assert_cmphex(qtest_readl(s, RAM_TARGET), ==, 0xabcd);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A starts B, B starts A: the second entry into A is refused. */
static void test_dma_loop_through_two_devices(void)
{
    QTestState *s = start(2, "");

    dma_program(s, 0, RAM_ONE, BAR_ADDR(1) + DMA_GO, 4);
    dma_program(s, 1, RAM_ONE, BAR_ADDR(0) + DMA_GO, 4);
    qtest_writel(s, BAR_ADDR(0) + DMA_GO, 1);
    qtest_outl(s, IO_BAR(1) + 0xec, 1);         /* and from B's side */
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(0) + DMA_DST), ==,
                    BAR_ADDR(1) + DMA_GO);
    g_assert_cmphex(qtest_readl(s, BAR_ADDR(1) + DMA_DST), ==,
                    BAR_ADDR(0) + DMA_GO);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * A chain of @n devices, each starting the next; the last copies the
 * marker into RAM.  The qtest access into the first is one level deep.
 */
static uint32_t run_chain(unsigned n)
{
    QTestState *s = start(n, "");
    uint32_t target;

    qtest_writel(s, RAM_MARKER, 0xc0ffee);
    for (unsigned i = 0; i + 1 < n; i++) {
        dma_program(s, i, RAM_ONE, BAR_ADDR(i + 1) + DMA_GO, 4);
    }
    dma_program(s, n - 1, RAM_MARKER, RAM_TARGET, 4);
    qtest_writel(s, BAR_ADDR(0) + DMA_GO, 1);
    target = qtest_readl(s, RAM_TARGET);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    return target;
}

static void test_nesting_limit(void)
{
    /* MEMORY_MAX_NESTED_IO (8) devices deep is allowed, 9 is not. */
    g_assert_cmphex(run_chain(8), ==, 0xc0ffee);
    g_assert_cmphex(run_chain(9), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/reentrancy/msi-into-own-msi-register",
                   test_msi_into_own_msi_register);
    g_test_add_func("/reentrancy/msi-into-self-refused-other-allowed",
                   test_msi_into_self_refused_other_allowed);
    g_test_add_func("/reentrancy/msix-into-self", test_msix_into_self);
    g_test_add_func("/reentrancy/dma-into-self", test_dma_into_self);
    g_test_add_func("/reentrancy/dma-loop-through-two-devices",
                   test_dma_loop_through_two_devices);
    g_test_add_func("/reentrancy/nesting-limit", test_nesting_limit);
    return g_test_run();
}
