/*
 * Configuration mechanism #1 from a qtest (PCI 3.0, 3.2.2.3.2), shared by
 * the chipset tests: type 0 cycles (cfg_*, bus 0) and type 1 cycles
 * (bcfg_*, any bus number a bridge forwards).
 */
#ifndef TESTS_QTEST_CHIPSET_PCI_HELPERS_H
#define TESTS_QTEST_CHIPSET_PCI_HELPERS_H
#include "../libqtest.h"

#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define DEVFN(slot, fn) (((slot) << 3) | (fn))

static inline uint32_t cfg_addr(unsigned devfn, unsigned reg)
{
    return 0x80000000u | (devfn << 8) | (reg & 0xfc);
}

static inline uint32_t cfg_readl(QTestState *s, unsigned devfn, unsigned reg)
{
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));
    return qtest_inl(s, PCI_CONFIG_DATA);
}

static inline uint16_t cfg_readw(QTestState *s, unsigned devfn, unsigned reg)
{
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));
    return qtest_inw(s, PCI_CONFIG_DATA + (reg & 2));
}

static inline uint8_t cfg_readb(QTestState *s, unsigned devfn, unsigned reg)
{
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));
    return qtest_inb(s, PCI_CONFIG_DATA + (reg & 3));
}

static inline void cfg_writel(QTestState *s, unsigned devfn, unsigned reg,
                              uint32_t val)
{
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));
    qtest_outl(s, PCI_CONFIG_DATA, val);
}

static inline void cfg_writew(QTestState *s, unsigned devfn, unsigned reg,
                              uint16_t val)
{
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));
    qtest_outw(s, PCI_CONFIG_DATA + (reg & 2), val);
}

static inline void cfg_writeb(QTestState *s, unsigned devfn, unsigned reg,
                              uint8_t val)
{
    qtest_outl(s, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));
    qtest_outb(s, PCI_CONFIG_DATA + (reg & 3), val);
}

static inline uint32_t bcfg_addr(unsigned bus, unsigned devfn, unsigned reg)
{
    return 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc);
}

static inline uint32_t bcfg_readl(QTestState *s, unsigned bus,
                                  unsigned devfn, unsigned reg)
{
    qtest_outl(s, PCI_CONFIG_ADDR, bcfg_addr(bus, devfn, reg));
    return qtest_inl(s, PCI_CONFIG_DATA);
}

static inline uint16_t bcfg_readw(QTestState *s, unsigned bus,
                                  unsigned devfn, unsigned reg)
{
    qtest_outl(s, PCI_CONFIG_ADDR, bcfg_addr(bus, devfn, reg));
    return qtest_inw(s, PCI_CONFIG_DATA + (reg & 2));
}

static inline uint8_t bcfg_readb(QTestState *s, unsigned bus, unsigned devfn,
                                 unsigned reg)
{
    qtest_outl(s, PCI_CONFIG_ADDR, bcfg_addr(bus, devfn, reg));
    return qtest_inb(s, PCI_CONFIG_DATA + (reg & 3));
}

static inline void bcfg_writel(QTestState *s, unsigned bus, unsigned devfn,
                               unsigned reg, uint32_t val)
{
    qtest_outl(s, PCI_CONFIG_ADDR, bcfg_addr(bus, devfn, reg));
    qtest_outl(s, PCI_CONFIG_DATA, val);
}

static inline void bcfg_writew(QTestState *s, unsigned bus, unsigned devfn,
                               unsigned reg, uint16_t val)
{
    qtest_outl(s, PCI_CONFIG_ADDR, bcfg_addr(bus, devfn, reg));
    qtest_outw(s, PCI_CONFIG_DATA + (reg & 2), val);
}

/* Offset of the first capability @id, or 0. */
static inline uint8_t cfg_find_cap(QTestState *s, unsigned devfn, uint8_t id)
{
    uint8_t off = cfg_readb(s, devfn, 0x34);

    for (int n = 0; off && n < 48; n++) {
        if (cfg_readb(s, devfn, off) == id) {
            return off;
        }
        off = cfg_readb(s, devfn, off + 1);
    }
    return 0;
}

#endif
