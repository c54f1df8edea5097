/*
 * PCI configuration mechanism #1: CONFIG_ADDRESS (0xcf8) and CONFIG_DATA
 * (0xcfc-0xcff).
 *
 * Spec: PCI Local Bus Specification 3.0, 3.2.2.3.2: CONFIG_ADDRESS is a
 * dword register (bit 31 enable, 23:16 bus, 15:11 device, 10:8 function,
 * 7:2 register); CONFIG_DATA accesses of 1, 2 or 4 bytes reach the
 * register selected, plus the byte offset within the data dword.
 *
 * Bus numbers other than 0 go to the bridge whose secondary/subordinate
 * range holds them (type 1 cycles, pci_bus_find_nr()); an unclaimed bus
 * number and config cycles with the enable bit clear read all-ones, as on
 * QEMU.
 * Non-dword accesses to CONFIG_ADDRESS do not change it; reads return the
 * matching bytes of it (QEMU returns the register for any size).  A byte
 * at 0xcf9 goes to the ISA bridge's reset control register.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_host.h"

#define CONF_CF9_OFFSET 1

static uint64_t size_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static uint64_t pci_host_conf_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIHostState *s = opaque;

    if (addr == CONF_CF9_OFFSET && size == 1) {
        return s->cf9_read ? s->cf9_read(s->cf9_opaque) : 0xff;
    }
    if (addr >= 4) {
        return size_ones(size);
    }
    return (s->config_reg >> (addr * 8)) & size_ones(size);
}

static void pci_host_conf_write(void *opaque, uint64_t addr, uint64_t val,
                                unsigned size)
{
    PCIHostState *s = opaque;

    if (addr == CONF_CF9_OFFSET && size == 1) {
        if (s->cf9_write) {
            s->cf9_write(s->cf9_opaque, val);
        }
        return;
    }
    if (addr == 0 && size == 4) {
        s->config_reg = val;
    }
}

static const MemoryRegionOps pci_host_conf_ops = {
    .read = pci_host_conf_read,
    .write = pci_host_conf_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* The bus, function and register CONFIG_DATA + @offset selects, if any. */
static PCIBus *pci_host_decode(PCIHostState *s, uint64_t offset,
                               unsigned *devfn, unsigned *reg)
{
    uint32_t a = s->config_reg;

    if (!(a & PCI_CONFIG_ADDR_ENABLE) || offset >= 4 || !s->bus) {
        return NULL;
    }
    *devfn = PCI_CONFIG_ADDR_DEVFN(a);
    *reg = PCI_CONFIG_ADDR_REG(a) + offset;
    return pci_bus_find_nr(s->bus, PCI_CONFIG_ADDR_BUS(a));
}

static uint64_t pci_host_data_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIHostState *s = opaque;
    unsigned devfn, reg;
    PCIBus *bus = pci_host_decode(s, addr, &devfn, &reg);

    if (!bus) {
        return size_ones(size);
    }
    return pci_bus_config_read(bus, devfn, reg, size);
}

static void pci_host_data_write(void *opaque, uint64_t addr, uint64_t val,
                                unsigned size)
{
    PCIHostState *s = opaque;
    unsigned devfn, reg;
    PCIBus *bus = pci_host_decode(s, addr, &devfn, &reg);

    if (bus) {
        pci_bus_config_write(bus, devfn, reg, val, size);
    }
}

static const MemoryRegionOps pci_host_data_ops = {
    .read = pci_host_data_read,
    .write = pci_host_data_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

void pci_host_init(PCIHostState *s, PCIBus *bus, MemoryRegion *io,
                   uint16_t addr_port, uint16_t data_port)
{
    s->bus = bus;
    s->config_reg = 0;
    memory_region_init_io(&s->conf_mem, &pci_host_conf_ops, s, "pci-conf-idx",
                          4);
    memory_region_init_io(&s->data_mem, &pci_host_data_ops, s,
                          "pci-conf-data", 4);
    memory_region_transaction_begin();
    memory_region_add_subregion(io, addr_port, &s->conf_mem);
    memory_region_add_subregion(io, data_port, &s->data_mem);
    memory_region_transaction_commit();
    pci_bus_set_host(bus, s);
}

void pci_host_uninit(PCIHostState *s)
{
    memory_region_transaction_begin();
    memory_region_destroy(&s->conf_mem);
    memory_region_destroy(&s->data_mem);
    memory_region_transaction_commit();
    if (s->bus && pci_bus_get_host(s->bus) == s) {
        pci_bus_set_host(s->bus, NULL);
    }
    s->bus = NULL;
}

void pci_host_set_cf9_handler(PCIHostState *s,
                              uint8_t (*read)(void *opaque),
                              void (*write)(void *opaque, uint8_t val),
                              void *opaque)
{
    s->cf9_read = read;
    s->cf9_write = write;
    s->cf9_opaque = opaque;
}
