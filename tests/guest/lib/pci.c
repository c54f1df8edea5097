/*
 * PCI configuration space through configuration mechanism #1 (ports
 * 0xcf8/0xcfc; PCI Local Bus 3.0, 3.2.2.3.2), and the virtio PCI
 * transport's capability walk (VIRTIO 1.2, 4.1.4): what every payload
 * that drives a PCI device starts with.  A function is named by its
 * bus << 8 | devfn (PCI_BDF()); below 256 that is a function of bus 0, so
 * the payloads that only know bus 0 pass a plain devfn.  A bus behind a
 * bridge answers once the payload has given the bridge its bus numbers.
 */
#include "guest.h"

#define PCI_ADDR    0xcf8
#define PCI_DATA    0xcfc

static void pci_select(unsigned bdf, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | (bdf & 0xffff) << 8 | (off & 0xfc));
}

uint32_t pci_cfg_read32(unsigned bdf, unsigned off)
{
    pci_select(bdf, off);
    return inl(PCI_DATA);
}

void pci_cfg_write32(unsigned bdf, unsigned off, uint32_t v)
{
    pci_select(bdf, off);
    outl(PCI_DATA, v);
}

uint8_t pci_cfg_read8(unsigned bdf, unsigned off)
{
    return pci_cfg_read32(bdf, off & ~3u) >> (8 * (off & 3));
}

/* A 16-bit access goes to the data port's matching half (0xcfc + 2):
 * then a write does not touch the other half of the dword, where a
 * write-1-to-clear register (PCIe Slot Status beside Slot Control) would
 * lose what a read-modify-write gave back. */
uint16_t pci_cfg_read16(unsigned bdf, unsigned off)
{
    pci_select(bdf, off);
    return inw(PCI_DATA + (off & 2));
}

void pci_cfg_write16(unsigned bdf, unsigned off, uint16_t v)
{
    pci_select(bdf, off);
    outw(PCI_DATA + (off & 2), v);
}

int pci_find_id(const uint32_t *ids, unsigned n)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = pci_cfg_read32(devfn, 0);

        for (unsigned i = 0; i < n; i++) {
            if (id == ids[i]) {
                return devfn;
            }
        }
    }
    return -1;
}

void virtio_pci_map(unsigned devfn, uintptr_t bar4,
                    struct virtio_pci_caps *c)
{
    memset(c, 0, sizeof(*c));
    pci_cfg_write32(devfn, 0x20, bar4);             /* BAR4, 64-bit */
    pci_cfg_write32(devfn, 0x24, 0);
    pci_cfg_write32(devfn, 0x04, 0x06);             /* memory, bus master */
    for (uint8_t cap = pci_cfg_read8(devfn, 0x34); cap;
         cap = pci_cfg_read8(devfn, cap + 1)) {
        uint8_t type = pci_cfg_read8(devfn, cap + 3);
        uintptr_t at = bar4 + pci_cfg_read32(devfn, cap + 8);

        if (pci_cfg_read8(devfn, cap) != 0x09 ||      /* vendor-specific */
            pci_cfg_read8(devfn, cap + 4) != 4) {     /* in BAR 4 */
            continue;
        }
        if (type == 1) {
            c->common = at;
        } else if (type == 2) {
            c->notify = at;
            c->notify_mult = pci_cfg_read32(devfn, cap + 16);
        } else if (type == 3) {
            c->isr = at;
        } else if (type == 4) {
            c->device = at;
        }
    }
}
