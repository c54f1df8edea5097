/*
 * The common part of PCI-to-PCI bridges: the type 1 header, the secondary
 * bus, and the I/O, memory and prefetchable windows that forward the
 * parent bus's cycles to it.
 *
 * Spec: PCI-to-PCI Bridge Architecture Specification 1.2:
 *   3.2.5.3   primary/secondary/subordinate bus numbers
 *   3.2.5.6   I/O base/limit (4 KiB granules; 16-bit decode here, as QEMU's
 *             bridges: the upper 16 bits read 0)
 *   3.2.5.8   memory base/limit (1 MiB granules)
 *   3.2.5.9   prefetchable base/limit (64-bit: upper 32 bits at 28h/2Ch)
 *   3.2.5.18  bridge control (bit 6: secondary bus reset)
 * A window decodes [base, limit] while limit >= base and the command
 * register enables the space; VGA and ISA enable bits are kept as
 * registers only (the legacy VGA ranges are not forwarded: documented in
 * docs/pci.md).
 */
#include "qemu/osdep.h"
#include "hw/pci/pci_bridge.h"

#define PCI_BRIDGE_WINDOW_PRIORITY  1
#define PCI_IO_SPACE_SIZE           0x10000ULL
#define PCI_BRIDGE_CTL_WMASK \
    (PCI_BRIDGE_CTL_PARITY | PCI_BRIDGE_CTL_SERR | PCI_BRIDGE_CTL_ISA | \
     PCI_BRIDGE_CTL_VGA | PCI_BRIDGE_CTL_VGA_16BIT | \
     PCI_BRIDGE_CTL_MASTER_ABORT | PCI_BRIDGE_CTL_BUS_RESET | \
     PCI_BRIDGE_CTL_FAST_BACK)

static unsigned anonymous_bus_count;

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b,
                           uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

/* ---- windows ---------------------------------------------------------- */

bool pci_bridge_window(PCIBridge *br, unsigned which, uint64_t *base,
                       uint64_t *limit)
{
    const uint8_t *c = br->parent.config;
    uint16_t cmd = pci_get_word(c + PCI_COMMAND);

    switch (which) {
    case PCI_BRIDGE_WIN_IO:
        *base = (uint64_t)(c[PCI_IO_BASE] & PCI_IO_RANGE_MASK) << 8;
        *limit = ((uint64_t)(c[PCI_IO_LIMIT] & PCI_IO_RANGE_MASK) << 8) |
                 0xfff;
        return (cmd & PCI_COMMAND_IO) && *base <= *limit;
    case PCI_BRIDGE_WIN_MEM:
        *base = (uint64_t)(pci_get_word(c + PCI_MEMORY_BASE) &
                           PCI_MEMORY_RANGE_MASK) << 16;
        *limit = ((uint64_t)(pci_get_word(c + PCI_MEMORY_LIMIT) &
                             PCI_MEMORY_RANGE_MASK) << 16) | 0xfffff;
        return (cmd & PCI_COMMAND_MEMORY) && *base <= *limit;
    case PCI_BRIDGE_WIN_PREF:
        *base = (uint64_t)(pci_get_word(c + PCI_PREF_MEMORY_BASE) &
                           PCI_PREF_RANGE_MASK) << 16 |
                (uint64_t)pci_get_long(c + PCI_PREF_BASE_UPPER32) << 32;
        *limit = ((uint64_t)(pci_get_word(c + PCI_PREF_MEMORY_LIMIT) &
                             PCI_PREF_RANGE_MASK) << 16 | 0xfffff) |
                 (uint64_t)pci_get_long(c + PCI_PREF_LIMIT_UPPER32) << 32;
        return (cmd & PCI_COMMAND_MEMORY) && *base <= *limit;
    default:
        return false;
    }
}

static void window_unmap(MemoryRegion *mr, bool *on)
{
    if (*on) {
        memory_region_destroy(mr);
        *on = false;
    }
}

static void window_map(PCIBridge *br, unsigned which, MemoryRegion *mr,
                       bool *on, MemoryRegion *src, MemoryRegion *dst,
                       const char *name)
{
    uint64_t base, limit;

    window_unmap(mr, on);
    if (!dst || !pci_bridge_window(br, which, &base, &limit)) {
        return;
    }
    if (which == PCI_BRIDGE_WIN_IO && limit >= PCI_IO_SPACE_SIZE) {
        return;
    }
    memory_region_init_alias(mr, name, src, base, limit - base + 1);
    memory_region_add_subregion_overlap(dst, base, mr,
                                        PCI_BRIDGE_WINDOW_PRIORITY);
    *on = true;
}

void pci_bridge_update_windows(PCIBridge *br)
{
    PCIBus *parent = pci_get_bus(&br->parent);

    if (!br->ready || !parent) {
        return;
    }
    memory_region_transaction_begin();
    window_map(br, PCI_BRIDGE_WIN_IO, &br->win_io, &br->win_io_on,
               &br->sec_io, pci_bus_io(parent), "pci_bridge_io");
    window_map(br, PCI_BRIDGE_WIN_MEM, &br->win_mem, &br->win_mem_on,
               &br->sec_mem, pci_bus_memory(parent), "pci_bridge_mem");
    window_map(br, PCI_BRIDGE_WIN_PREF, &br->win_pref, &br->win_pref_on,
               &br->sec_mem, pci_bus_memory(parent), "pci_bridge_pref_mem");
    memory_region_transaction_commit();
}

/* ---- INTx: the secondary bus's lines drive the bridge's pins ---------- */

static int pci_bridge_swizzle(PCIDevice *dev, int pin)
{
    return (pin + (int)PCI_SLOT(dev->devfn)) % PCI_NUM_PINS;
}

static void pci_bridge_set_irq(void *opaque, int line, int level)
{
    pci_set_irq_pin(opaque, line, level);
}

/* ---- secondary bus reset ---------------------------------------------- */

static void reset_one(PCIBus *bus, PCIDevice *dev, void *opaque)
{
    device_reset(DEVICE(dev));
}

void pci_bridge_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len)
{
    PCIBridge *br = (PCIBridge *)d;
    uint16_t old_ctl = pci_get_word(d->config + PCI_BRIDGE_CONTROL);
    uint16_t ctl;

    pci_default_write_config(d, addr, val, len);
    if (ranges_overlap(addr, len, PCI_COMMAND, 2) ||
        ranges_overlap(addr, len, PCI_IO_BASE, 2) ||
        ranges_overlap(addr, len, PCI_MEMORY_BASE, 0x10) ||
        ranges_overlap(addr, len, PCI_IO_BASE_UPPER16, 4)) {
        pci_bridge_update_windows(br);
    }
    ctl = pci_get_word(d->config + PCI_BRIDGE_CONTROL);
    if (!(old_ctl & PCI_BRIDGE_CTL_BUS_RESET) &&
        (ctl & PCI_BRIDGE_CTL_BUS_RESET) && br->sec_bus) {
        /* 3.2.5.18 bit 6: RST# on the secondary side. */
        pci_for_each_device_recursive(br->sec_bus, reset_one, NULL);
    }
}

/* ---- the subsystem ID capability ----------------------------------- */

#define PCI_SSVID_SIZEOF    8
#define PCI_SSVID_SVID      4
#define PCI_SSVID_SSID      6

bool pci_bridge_ssvid_init(PCIDevice *d, uint8_t offset, uint16_t svid,
                           uint16_t ssid, GError **errp)
{
    uint8_t off = pci_add_capability(d, PCI_CAP_ID_SSVID, offset,
                                     PCI_SSVID_SIZEOF, errp);

    if (!off) {
        return false;
    }
    pci_set_word(d->config + off + PCI_SSVID_SVID, svid);
    pci_set_word(d->config + off + PCI_SSVID_SSID, ssid);
    return true;
}

/* ---- life cycle ----------------------------------------------------- */

static void pci_bridge_init_header(PCIBridge *br)
{
    PCIDevice *d = &br->parent;
    uint8_t *c = d->config, *w = d->wmask;

    /* 10h-3Fh: nothing of the type 0 layout applies (keep the pin). */
    uint8_t pin = c[PCI_INTERRUPT_PIN];
    memset(c + PCI_BASE_ADDRESS_0, 0, PCI_CONFIG_HEADER_SIZE -
           PCI_BASE_ADDRESS_0);
    memset(w + PCI_BASE_ADDRESS_0, 0, PCI_CONFIG_HEADER_SIZE -
           PCI_BASE_ADDRESS_0);
    c[PCI_INTERRUPT_PIN] = pin;
    w[PCI_INTERRUPT_LINE] = 0xff;
    w[PCI_PRIMARY_BUS] = 0xff;
    w[PCI_SECONDARY_BUS] = 0xff;
    w[PCI_SUBORDINATE_BUS] = 0xff;
    w[PCI_SEC_LATENCY_TIMER] = 0xff;
    w[PCI_IO_BASE] = PCI_IO_RANGE_MASK & 0xff;
    w[PCI_IO_LIMIT] = PCI_IO_RANGE_MASK & 0xff;
    pci_set_word(w + PCI_MEMORY_BASE, PCI_MEMORY_RANGE_MASK & 0xffff);
    pci_set_word(w + PCI_MEMORY_LIMIT, PCI_MEMORY_RANGE_MASK & 0xffff);
    pci_set_word(w + PCI_PREF_MEMORY_BASE, PCI_PREF_RANGE_MASK & 0xffff);
    pci_set_word(w + PCI_PREF_MEMORY_LIMIT, PCI_PREF_RANGE_MASK & 0xffff);
    pci_set_long(w + PCI_PREF_BASE_UPPER32, 0xffffffff);
    pci_set_long(w + PCI_PREF_LIMIT_UPPER32, 0xffffffff);
    pci_set_word(w + PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_WMASK);
    pci_set_word(d->w1cmask + PCI_SEC_STATUS, PCI_STATUS_W1C_BITS);
    /* The register type bits: 64-bit prefetchable, 16-bit I/O. */
    c[PCI_PREF_MEMORY_BASE] = PCI_PREF_RANGE_TYPE_64;
    c[PCI_PREF_MEMORY_LIMIT] = PCI_PREF_RANGE_TYPE_64;
}

bool pci_bridge_init(PCIBridge *br, bool only_slot0, GError **errp)
{
    PCIDevice *d = &br->parent;
    const char *id = DEVICE(d)->id;
    g_autofree char *name = NULL;

    if (id && *id) {
        if (pci_bus_find_by_name(id)) {
            error_setg(errp, "a PCI bus named '%s' exists already", id);
            return false;
        }
        name = g_strdup(id);
    } else {
        do {
            g_free(name);
            name = g_strdup_printf("pci.%u", ++anonymous_bus_count);
        } while (pci_bus_find_by_name(name));
    }
    pci_bridge_init_header(br);
    memory_region_init_container(&br->sec_mem, "pci_bridge_pci", UINT64_MAX);
    memory_region_init_container(&br->sec_io, "pci_bridge_io",
                                 PCI_IO_SPACE_SIZE);
    br->sec_bus = pci_secondary_bus_create(d, name, &br->sec_mem, &br->sec_io,
                                           only_slot0);
    pci_bus_irqs(br->sec_bus, pci_bridge_set_irq, pci_bridge_swizzle, d,
                 PCI_NUM_PINS);
    br->ready = true;
    return true;
}

void pci_bridge_uninit(PCIBridge *br)
{
    if (!br->ready) {
        return;
    }
    memory_region_transaction_begin();
    window_unmap(&br->win_io, &br->win_io_on);
    window_unmap(&br->win_mem, &br->win_mem_on);
    window_unmap(&br->win_pref, &br->win_pref_on);
    pci_secondary_bus_destroy(br->sec_bus);
    br->sec_bus = NULL;
    memory_region_destroy(&br->sec_mem);
    memory_region_destroy(&br->sec_io);
    memory_region_transaction_commit();
    br->ready = false;
}

void pci_bridge_reset(PCIBridge *br)
{
    uint8_t *c = br->parent.config;

    c[PCI_PRIMARY_BUS] = 0;
    c[PCI_SECONDARY_BUS] = 0;
    c[PCI_SUBORDINATE_BUS] = 0;
    c[PCI_SEC_LATENCY_TIMER] = 0;
    c[PCI_IO_BASE] = 0;
    c[PCI_IO_LIMIT] = 0;
    pci_set_word(c + PCI_SEC_STATUS, 0);
    pci_set_word(c + PCI_MEMORY_BASE, 0);
    pci_set_word(c + PCI_MEMORY_LIMIT, 0);
    c[PCI_PREF_MEMORY_BASE] = PCI_PREF_RANGE_TYPE_64;
    c[PCI_PREF_MEMORY_LIMIT] = PCI_PREF_RANGE_TYPE_64;
    c[PCI_PREF_MEMORY_BASE + 1] = 0;
    c[PCI_PREF_MEMORY_LIMIT + 1] = 0;
    pci_set_long(c + PCI_PREF_BASE_UPPER32, 0);
    pci_set_long(c + PCI_PREF_LIMIT_UPPER32, 0);
    pci_set_long(c + PCI_IO_BASE_UPPER16, 0);
    pci_set_word(c + PCI_BRIDGE_CONTROL, 0);
    pci_bridge_update_windows(br);
}
