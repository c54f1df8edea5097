/*
 * PCI configuration space on bus 0 through configuration mechanism #1
 * (ports 0xcf8/0xcfc; PCI Local Bus 3.0, 3.2.2.3.2), and the virtio PCI
 * transport's capability walk (VIRTIO 1.2, 4.1.4): what every payload
 * that drives a PCI device starts with.
 */
#include "guest.h"

#define PCI_ADDR    0xcf8
#define PCI_DATA    0xcfc

static void pci_select(unsigned devfn, unsigned off)
{
    outl(PCI_ADDR, 0x80000000u | (devfn & 0xff) << 8 | (off & 0xfc));
}

uint32_t pci_cfg_read32(unsigned devfn, unsigned off)
{
    pci_select(devfn, off);
    return inl(PCI_DATA);
}

void pci_cfg_write32(unsigned devfn, unsigned off, uint32_t v)
{
    pci_select(devfn, off);
    outl(PCI_DATA, v);
}

uint8_t pci_cfg_read8(unsigned devfn, unsigned off)
{
    return pci_cfg_read32(devfn, off & ~3u) >> (8 * (off & 3));
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
