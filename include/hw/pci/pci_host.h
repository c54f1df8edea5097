/*
 * PCI host bridge: configuration mechanism #1 (CONFIG_ADDRESS at 0xcf8,
 * CONFIG_DATA at 0xcfc-0xcff).
 *
 * Spec: PCI Local Bus Specification 3.0, 3.2.2.3.2 (Software Generation
 * of Configuration Transactions).
 *
 * CONFIG_ADDRESS is claimed for dword accesses only.  A byte access to
 * 0xcf9 belongs to the ISA bridge's reset control register (PIIX3 RCR);
 * because that port lies inside the 0xcf8 dword, the host decodes it and
 * forwards it to the handler the ISA bridge installs.
 */
#ifndef HW_PCI_PCI_HOST_H
#define HW_PCI_PCI_HOST_H
#include "hw/pci/pci.h"

#define PCI_CONFIG_ADDR_ENABLE      0x80000000u
#define PCI_CONFIG_ADDR_BUS(a)      (((a) >> 16) & 0xff)
#define PCI_CONFIG_ADDR_DEVFN(a)    (((a) >> 8) & 0xff)
#define PCI_CONFIG_ADDR_REG(a)      ((a) & 0xfc)

typedef struct PCIHostState {
    PCIBus *bus;
    uint32_t config_reg;        /* CONFIG_ADDRESS */
    MemoryRegion conf_mem;      /* 0xcf8-0xcfb */
    MemoryRegion data_mem;      /* 0xcfc-0xcff */
    /* byte port 0xcf9 (ISA bridge reset control) */
    uint8_t (*cf9_read)(void *opaque);
    void (*cf9_write)(void *opaque, uint8_t val);
    void *cf9_opaque;
} PCIHostState;

/* Map CONFIG_ADDRESS / CONFIG_DATA at @addr_port / @data_port of @io. */
void pci_host_init(PCIHostState *s, PCIBus *bus, MemoryRegion *io,
                   uint16_t addr_port, uint16_t data_port);
void pci_host_uninit(PCIHostState *s);
/* Install (or with NULLs remove) the handler of byte port 0xcf9. */
void pci_host_set_cf9_handler(PCIHostState *s,
                              uint8_t (*read)(void *opaque),
                              void (*write)(void *opaque, uint8_t val),
                              void *opaque);

/* The host bridge state that decodes @bus (NULL if none). */
void pci_bus_set_host(PCIBus *bus, PCIHostState *host);
PCIHostState *pci_bus_get_host(PCIBus *bus);

#endif
