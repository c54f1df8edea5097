/*
 * PIIX3 function 0: PCI INTx through the PIRQ route control registers to
 * ISA IRQs (GSIs), the reset control register at 0xcf9, power-on values.
 * pci-testdev's INTx extension register raises the lines.
 */
#include "pci-helpers.h"

#define PIIX3           DEVFN(1, 0)
#define PIRQA           0x60
#define EXT_INTX        0xf0
#define CMD_IO          0x1
#define CMD_INTX_DIS    0x400

/* Slot 3 pin A and slot 7 pin A share PIRQC; slot 4 pin A is PIRQD;
 * slot 5 pin B is PIRQB ((pin + slot - 1) & 3). */
#define DEVS_ARGS "-device pci-testdev,addr=3,intx-pin=1 " \
                  "-device pci-testdev,addr=7,intx-pin=1 " \
                  "-device pci-testdev,addr=4,intx-pin=1 " \
                  "-device pci-testdev,addr=5,intx-pin=2"

static const unsigned dev_slot[] = { 3, 7, 4, 5 };
enum { DEV_C1, DEV_C2, DEV_D, DEV_B };

static uint16_t dev_io(unsigned dev)
{
    return 0xc000 + 0x100 * dev;
}

static void map_devs(QTestState *s)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(dev_slot); i++) {
        cfg_writel(s, DEVFN(dev_slot[i], 0), 0x14, dev_io(i));
        cfg_writew(s, DEVFN(dev_slot[i], 0), 0x04, CMD_IO);
    }
}

static void intx(QTestState *s, unsigned dev, int level)
{
    qtest_outb(s, dev_io(dev) + EXT_INTX, level);
}

static void route(QTestState *s, unsigned pirq, uint8_t val)
{
    cfg_writeb(s, PIIX3, PIRQA + pirq, val);
}

/* Only the GSIs in @high_mask are high. */
static void assert_gsis(QTestState *s, uint32_t high_mask)
{
    for (int gsi = 0; gsi < 24; gsi++) {
        if (qtest_get_irq(s, gsi) != !!(high_mask & (1u << gsi))) {
            g_error("GSI %d is %s", gsi, qtest_get_irq(s, gsi) ? "high" : "low");
        }
    }
}

static void test_routing(void)
{
    QTestState *s = qtest_init(DEVS_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    map_devs(s);
    g_assert_cmphex(cfg_readl(s, PIIX3, PIRQA), ==, 0x80808080);

    /* Unrouted: the pin is asserted but no IRQ moves. */
    intx(s, DEV_C1, 1);
    g_assert_cmphex(cfg_readw(s, DEVFN(3, 0), 0x06) & 0x08, ==, 0x08);
    assert_gsis(s, 0);
    /* Routing an asserted line raises the IRQ at once; re-routing moves it. */
    route(s, 2, 11);
    assert_gsis(s, 1u << 11);
    route(s, 2, 10);
    assert_gsis(s, 1u << 10);
    intx(s, DEV_C1, 0);
    assert_gsis(s, 0);

    /* Two functions on one PIRQ: wired-OR. */
    intx(s, DEV_C1, 1);
    intx(s, DEV_C2, 1);
    assert_gsis(s, 1u << 10);
    intx(s, DEV_C1, 0);
    assert_gsis(s, 1u << 10);
    intx(s, DEV_C2, 0);
    assert_gsis(s, 0);

    /* Two PIRQs on one IRQ: OR-ed too. */
    route(s, 3, 10);
    intx(s, DEV_C1, 1);
    intx(s, DEV_D, 1);
    assert_gsis(s, 1u << 10);
    intx(s, DEV_C1, 0);
    assert_gsis(s, 1u << 10);
    route(s, 3, 0x80);          /* disabling PIRQD drops its share */
    assert_gsis(s, 0);
    intx(s, DEV_D, 0);

    /* Pin B of slot 5 is PIRQB. */
    route(s, 1, 5);
    intx(s, DEV_B, 1);
    assert_gsis(s, 1u << 5);
    intx(s, DEV_B, 0);
    assert_gsis(s, 0);
    qtest_quit(s);
}

/* Command bit 10 masks the pin; the status bit still shows it. */
static void test_intx_disable(void)
{
    QTestState *s = qtest_init(DEVS_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    map_devs(s);
    route(s, 2, 9);
    intx(s, DEV_C1, 1);
    assert_gsis(s, 1u << 9);
    cfg_writew(s, DEVFN(3, 0), 0x04, CMD_IO | CMD_INTX_DIS);
    assert_gsis(s, 0);
    g_assert_cmphex(cfg_readw(s, DEVFN(3, 0), 0x06) & 0x08, ==, 0x08);
    cfg_writew(s, DEVFN(3, 0), 0x04, CMD_IO);
    assert_gsis(s, 1u << 9);
    intx(s, DEV_C1, 0);
    g_assert_cmphex(cfg_readw(s, DEVFN(3, 0), 0x06) & 0x08, ==, 0);
    assert_gsis(s, 0);
    qtest_quit(s);
}

static void test_power_on_values(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(cfg_readb(s, PIIX3, 0x4c), ==, 0x4d);
    g_assert_cmphex(cfg_readb(s, PIIX3, 0x4e), ==, 0x03);
    g_assert_cmphex(cfg_readb(s, PIIX3, 0x69), ==, 0x02);
    g_assert_cmphex(cfg_readb(s, PIIX3, 0x70), ==, 0x80);
    g_assert_cmphex(cfg_readw(s, PIIX3, 0x76), ==, 0x0c0c);
    g_assert_cmphex(cfg_readb(s, PIIX3, 0x78), ==, 0x02);
    g_assert_cmphex(cfg_readb(s, PIIX3, 0xa0), ==, 0x08);
    g_assert_cmphex(cfg_readb(s, PIIX3, 0xa8), ==, 0x0f);
    g_assert_cmphex(cfg_readw(s, PIIX3, 0x04), ==, 0x0000);
    qtest_quit(s);
}

static void test_reset_control(void)
{
    QTestState *s = qtest_init(DEVS_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    map_devs(s);
    g_assert_cmphex(qtest_inb(s, 0xcf9), ==, 0);
    /* Only SRST (bit 1) is kept; without bit 2 nothing resets. */
    qtest_outb(s, 0xcf9, 0x0a);
    g_assert_cmphex(qtest_inb(s, 0xcf9), ==, 0x02);
    route(s, 0, 11);
    route(s, 2, 11);
    intx(s, DEV_C1, 1);
    assert_gsis(s, 1u << 11);
    g_assert_cmphex(cfg_readb(s, PIIX3, PIRQA), ==, 11);

    /* Bit 2: the machine resets (hard or soft alike, as QEMU). */
    qtest_outb(s, 0xcf9, 0x04);
    g_assert_cmphex(cfg_readl(s, PIIX3, PIRQA), ==, 0x80808080);
    g_assert_cmphex(qtest_inb(s, 0xcf9), ==, 0);
    assert_gsis(s, 0);
    /* The dword at 0xcf8 is still CONFIG_ADDRESS. */
    qtest_outl(s, 0xcf8, 0x80000000);
    g_assert_cmphex(qtest_inl(s, 0xcf8), ==, 0x80000000);
    g_assert_cmphex(qtest_inb(s, 0xcf9), ==, 0);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/piix3/pirq-routing", test_routing);
    g_test_add_func("/piix3/intx-disable", test_intx_disable);
    g_test_add_func("/piix3/power-on-values", test_power_on_values);
    g_test_add_func("/piix3/reset-control", test_reset_control);
    return g_test_run();
}
