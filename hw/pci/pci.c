/*
 * The PCI framework: bus 0, the abstract "pci-device" type, configuration
 * space with write masks, BAR sizing and mapping, the expansion ROM, INTx
 * routing, capability lists, bus-master DMA, and the query-pci accessors.
 *
 * Spec: PCI Local Bus Specification 3.0:
 *   2.2.6     Interrupt pins (INTA# - INTD#), wired-OR per bus line
 *   6.1/6.2   Configuration space header type 0, command/status registers
 *   6.2.5.1   Base address registers: software writes all ones and reads
 *             back the size mask; I/O, 32-bit and 64-bit memory, prefetch
 *   6.2.5.2   Expansion ROM base address register (enable bit 0)
 *   6.7       Capabilities list
 *
 * Behaviour follows QEMU where the spec leaves room: device-specific
 * registers (0x40-0xff) are writable unless a device says otherwise, a
 * BAR at address 0 or one that wraps is treated as unmapped, and memory
 * BARs live in a "PCI address space" container that the host bridge puts
 * under guest-physical memory with lower priority than RAM.
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_host.h"
#include "hw/pci/msi.h"
#include "hw/i386/pc.h"

#define PCI_ROM_MIN_SIZE        (2 * KiB)   /* bits 10:1 are reserved */
#define PCI_ROM_MAX_SIZE        (16 * MiB)
#define PCI_IO_SPACE_LIMIT      0xffffULL    /* x86 has 64 KiB of ports */
#define PCI_BAR_PRIORITY        1

struct PCIBus {
    PCIDevice *devices[PCI_DEVFN_MAX];
    MemoryRegion *mem;
    MemoryRegion *io;
    PCIHostState *host;
    char name[64];              /* what bus= names it */
    PCIDevice *bridge;          /* NULL: the root bus */
    HotplugHandler *hotplug;    /* NULL: no hotplug on this bus */
    bool only_slot0;            /* a PCI Express link: device 0 only */
    bool express;               /* root bus of a PCI Express root complex */
    int acpi_bsel;              /* ACPI PCI hotplug bus selector, -1: none */

    PCISetIRQFunc set_irq;
    PCIMapIRQFunc map_irq;
    void *irq_opaque;
    int nirq;
    int32_t irq_count[PCI_BUS_MAX_IRQS];
};

/*
 * Static storage: a function that outlives its host bridge (a test tearing
 * down the host first) still points at valid memory.
 */
static PCIBus root_bus_storage;
static PCIBus *root_bus;
/* Bridges' secondary buses, for bus= lookups. */
static GPtrArray *secondary_buses;

/* Default search path for romfile= names without a '/'. */
static const char *const rom_dirs[] = {
    "/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu",
};

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b,
                           uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

/* ---- the bus -------------------------------------------------------- */

PCIBus *pci_root_bus_create(MemoryRegion *mem, MemoryRegion *io,
                            GError **errp)
{
    if (root_bus) {
        error_setg(errp, "a PCI host bridge already provides bus 0");
        return NULL;
    }
    memset(&root_bus_storage, 0, sizeof(root_bus_storage));
    root_bus = &root_bus_storage;
    root_bus->mem = mem;
    root_bus->io = io;
    root_bus->acpi_bsel = -1;
    g_strlcpy(root_bus->name, "pci.0", sizeof(root_bus->name));
    return root_bus;
}

void pci_bus_set_name(PCIBus *bus, const char *name)
{
    g_strlcpy(bus->name, name, sizeof(bus->name));
}

void pci_root_bus_set_express(PCIBus *bus, bool express)
{
    bus->express = express;
}

bool pci_root_bus_is_express(const PCIBus *bus)
{
    return bus && !bus->bridge && bus->express;
}

const char *pci_bus_name(const PCIBus *bus)
{
    return bus->name;
}

PCIBus *pci_bus_find_by_name(const char *name)
{
    if (root_bus && !strcmp(root_bus->name, name)) {
        return root_bus;
    }
    for (unsigned i = 0; secondary_buses && i < secondary_buses->len; i++) {
        PCIBus *b = g_ptr_array_index(secondary_buses, i);
        if (!strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

PCIDevice *pci_bus_bridge(const PCIBus *bus)
{
    return bus ? bus->bridge : NULL;
}

PCIBus *pci_secondary_bus_create(PCIDevice *bridge, const char *name,
                                 MemoryRegion *mem, MemoryRegion *io,
                                 bool only_slot0)
{
    PCIBus *bus = g_new0(PCIBus, 1);

    bus->mem = mem;
    bus->io = io;
    bus->bridge = bridge;
    bus->only_slot0 = only_slot0;
    bus->acpi_bsel = -1;
    g_strlcpy(bus->name, name, sizeof(bus->name));
    if (!secondary_buses) {
        secondary_buses = g_ptr_array_new();
    }
    g_ptr_array_add(secondary_buses, bus);
    return bus;
}

static void pci_unmap_all(PCIDevice *d);

/* Functions still on the bus are cut off from it (their BARs unmapped). */
void pci_secondary_bus_destroy(PCIBus *bus)
{
    if (!bus) {
        return;
    }
    for (unsigned devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = bus->devices[devfn];
        if (d) {
            pci_unmap_all(d);
            d->bus = NULL;
        }
    }
    g_ptr_array_remove(secondary_buses, bus);
    g_free(bus);
}

/* A bridge (header type 1) with its secondary bus, or NULL. */
static PCIBus *pci_device_secondary(PCIDevice *d)
{
    for (unsigned i = 0; secondary_buses && i < secondary_buses->len; i++) {
        PCIBus *b = g_ptr_array_index(secondary_buses, i);
        if (b->bridge == d) {
            return b;
        }
    }
    return NULL;
}

PCIBus *pci_device_get_secondary_bus(PCIDevice *d)
{
    return pci_device_secondary(d);
}

/*
 * Type 1 cycles: a bridge passes bus numbers in [secondary, subordinate]
 * on; the tree is finite, so the walk ends whatever the guest programs.
 */
PCIBus *pci_bus_find_nr(PCIBus *bus, unsigned nr)
{
    if (!bus) {
        return NULL;
    }
    if ((unsigned)pci_bus_num(bus) == nr) {
        return bus;
    }
    for (unsigned devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = bus->devices[devfn];
        PCIBus *sec;
        unsigned first, last;
        if (!d || (d->config[PCI_HEADER_TYPE] & 0x7f) !=
                  PCI_HEADER_TYPE_BRIDGE) {
            continue;
        }
        first = d->config[PCI_SECONDARY_BUS];
        last = d->config[PCI_SUBORDINATE_BUS];
        if (first == 0 || nr < first || nr > last) {
            continue;
        }
        sec = pci_device_secondary(d);
        return sec ? pci_bus_find_nr(sec, nr) : NULL;
    }
    return NULL;
}

void pci_root_bus_destroy(PCIBus *bus)
{
    if (bus && bus == root_bus) {
        root_bus = NULL;
    }
}

PCIBus *pci_root_bus(void)
{
    return root_bus;
}

void pci_bus_set_hotplug_handler(PCIBus *bus, HotplugHandler *h)
{
    bus->hotplug = h;
}

HotplugHandler *pci_bus_hotplug_handler(const PCIBus *bus)
{
    return bus ? bus->hotplug : NULL;
}

void pci_bus_set_acpi_bsel(PCIBus *bus, int bsel)
{
    bus->acpi_bsel = bsel;
}

int pci_bus_acpi_bsel(const PCIBus *bus)
{
    return bus ? bus->acpi_bsel : -1;
}

/* secondary_buses holds the buses in creation order: walk it backwards. */
void pci_for_each_child_bus(PCIBus *bus,
                            void (*fn)(PCIBus *child, void *opaque),
                            void *opaque)
{
    for (unsigned i = secondary_buses ? secondary_buses->len : 0; i-- > 0;) {
        PCIBus *b = g_ptr_array_index(secondary_buses, i);
        if (bus && b->bridge && b->bridge->bus == bus) {
            fn(b, opaque);
        }
    }
}

bool pci_device_no_hotplug(const PCIDevice *d)
{
    const DeviceType *t;
    bool bridge = (d->config[PCI_HEADER_TYPE] & 0x7f) ==
                  PCI_HEADER_TYPE_BRIDGE;

    if (bridge && !d->parent.hotplugged) {
        return true;
    }
    for (t = d->parent.type; t;
         t = t->parent ? device_type_find(t->parent) : NULL) {
        if (t->not_hotpluggable) {
            return true;
        }
    }
    return false;
}

void pci_device_unplug_tree(PCIDevice *d)
{
    PCIBus *sec = pci_device_secondary(d);

    for (unsigned devfn = 0; sec && devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *f = sec->devices[devfn];
        if (f) {
            pci_device_unplug_tree(f);
        }
    }
    device_unplug_complete(DEVICE(d));
}

MemoryRegion *pci_bus_memory(PCIBus *bus)
{
    return bus->mem;
}

MemoryRegion *pci_bus_io(PCIBus *bus)
{
    return bus->io;
}

int pci_bus_num(const PCIBus *bus)
{
    return bus && bus->bridge ? bus->bridge->config[PCI_SECONDARY_BUS] : 0;
}

void pci_bus_set_host(PCIBus *bus, PCIHostState *host)
{
    bus->host = host;
}

PCIHostState *pci_bus_get_host(PCIBus *bus)
{
    return bus ? bus->host : NULL;
}

PCIDevice *pci_find_device(PCIBus *bus, unsigned devfn)
{
    return bus && devfn < PCI_DEVFN_MAX ? bus->devices[devfn] : NULL;
}

void pci_for_each_device(PCIBus *bus,
                         void (*fn)(PCIBus *bus, PCIDevice *dev, void *opaque),
                         void *opaque)
{
    for (unsigned devfn = 0; bus && devfn < PCI_DEVFN_MAX; devfn++) {
        if (bus->devices[devfn]) {
            fn(bus, bus->devices[devfn], opaque);
        }
    }
}

PCIBus *pci_get_bus(const PCIDevice *dev)
{
    return dev->bus;
}

void pci_for_each_device_recursive(PCIBus *bus,
                                   void (*fn)(PCIBus *bus, PCIDevice *dev,
                                              void *opaque),
                                   void *opaque)
{
    for (unsigned devfn = 0; bus && devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = bus->devices[devfn];
        if (d) {
            fn(bus, d, opaque);
            pci_for_each_device_recursive(pci_device_secondary(d), fn,
                                          opaque);
        }
    }
}

/* ---- configuration space access ------------------------------------ */

static uint32_t pci_config_read(PCIDevice *d, unsigned addr, unsigned len)
{
    if (d->pc->config_read) {
        return d->pc->config_read(d, addr, len);
    }
    return pci_default_read_config(d, addr, len);
}

static void pci_config_write(PCIDevice *d, unsigned addr, uint32_t val,
                             unsigned len)
{
    if (d->pc->config_write) {
        d->pc->config_write(d, addr, val, len);
    } else {
        pci_default_write_config(d, addr, val, len);
    }
}

static bool config_access_ok(const PCIDevice *d, unsigned addr,
                             unsigned len)
{
    return (len == 1 || len == 2 || len == 4) && addr < d->config_size;
}

uint32_t pci_bus_config_read(PCIBus *bus, unsigned devfn, unsigned addr,
                             unsigned len)
{
    PCIDevice *d = pci_find_device(bus, devfn);
    uint32_t ones = len >= 4 ? UINT32_MAX : (1u << (len * 8)) - 1;

    if (!d || !config_access_ok(d, addr, len)) {
        return ones;
    }
    len = MIN(len, d->config_size - addr);
    return pci_config_read(d, addr, len);
}

void pci_bus_config_write(PCIBus *bus, unsigned devfn, unsigned addr,
                          uint32_t val, unsigned len)
{
    PCIDevice *d = pci_find_device(bus, devfn);

    if (!d || !config_access_ok(d, addr, len)) {
        return;
    }
    len = MIN(len, d->config_size - addr);
    pci_config_write(d, addr, val, len);
}

uint32_t pci_default_read_config(PCIDevice *d, uint32_t addr, unsigned len)
{
    uint32_t val = 0;

    if (addr >= d->config_size || len > 4) {
        return UINT32_MAX;
    }
    len = MIN(len, d->config_size - addr);
    for (unsigned i = 0; i < len; i++) {
        val |= (uint32_t)d->config[addr + i] << (i * 8);
    }
    return val;
}

static bool intx_disabled(const PCIDevice *d)
{
    return pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
}

static void pci_update_mappings(PCIDevice *d);
static void pci_change_irq_level(PCIDevice *d, int pin, int change);

/* Re-route asserted pins after INTX_DISABLE changed (6.2.2, bit 10). */
static void pci_update_irq_disabled(PCIDevice *d, bool was_disabled)
{
    bool disabled = intx_disabled(d);

    if (disabled == was_disabled) {
        return;
    }
    for (int pin = 0; pin < PCI_NUM_PINS; pin++) {
        if (d->irq_state & (1u << pin)) {
            pci_change_irq_level(d, pin, disabled ? -1 : 1);
        }
    }
}

void pci_default_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                              unsigned len)
{
    bool was_intx_disabled = intx_disabled(d);
    uint32_t v = val;

    if (addr >= d->config_size || len > 4) {
        return;
    }
    len = MIN(len, d->config_size - addr);
    for (unsigned i = 0; i < len; i++, v >>= 8) {
        uint8_t wmask = d->wmask[addr + i];
        uint8_t w1c = d->w1cmask[addr + i];
        uint8_t *c = &d->config[addr + i];

        *c = (*c & ~wmask) | (v & wmask);
        *c &= ~(v & w1c);
    }
    if (ranges_overlap(addr, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS) ||
        ranges_overlap(addr, len, PCI_ROM_ADDRESS, 4) ||
        ranges_overlap(addr, len, PCI_COMMAND, 2)) {
        pci_update_mappings(d);
    }
    if (ranges_overlap(addr, len, PCI_COMMAND, 2)) {
        pci_update_irq_disabled(d, was_intx_disabled);
    }
    msi_write_config(d, addr, val, len);
    msix_write_config(d, addr, val, len);
}

/* ---- BARs ----------------------------------------------------------- */

static unsigned pci_bar_offset(unsigned bar)
{
    return bar == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * bar;
}

static bool bar_is_io(const PCIIORegion *r)
{
    return r->type & PCI_BASE_ADDRESS_SPACE_IO;
}

static bool bar_is_64(const PCIIORegion *r)
{
    return !bar_is_io(r) && (r->type & PCI_BASE_ADDRESS_MEM_TYPE_64);
}

static bool is_power_of_2(uint64_t v)
{
    return v && !(v & (v - 1));
}

void pci_register_bar(PCIDevice *d, unsigned bar, uint8_t type,
                      MemoryRegion *mr)
{
    PCIIORegion *r;
    uint64_t size = mr->size;
    uint64_t wmask;
    unsigned off = pci_bar_offset(bar);

    g_assert(bar < PCI_NUM_REGIONS);
    g_assert(is_power_of_2(size));
    if (bar == PCI_ROM_SLOT) {
        g_assert(!(type & PCI_BASE_ADDRESS_SPACE_IO) && size >= PCI_ROM_MIN_SIZE);
        type = PCI_BASE_ADDRESS_SPACE_MEMORY;
    } else if (type & PCI_BASE_ADDRESS_SPACE_IO) {
        g_assert(size >= 4);
        type = PCI_BASE_ADDRESS_SPACE_IO;
    } else {
        g_assert(size >= 16);
        g_assert(!(type & PCI_BASE_ADDRESS_MEM_TYPE_64) || bar < PCI_NUM_BARS - 1);
    }

    r = &d->io_regions[bar];
    r->size = size;
    r->type = type;
    r->memory = mr;
    r->address_space = bar_is_io(r) ? d->bus->io : d->bus->mem;
    r->addr = PCI_BAR_UNMAPPED;

    wmask = ~(size - 1);
    if (bar == PCI_ROM_SLOT) {
        wmask |= PCI_ROM_ADDRESS_ENABLE;
    }
    pci_set_long(d->config + off, type);
    if (bar_is_64(r)) {
        pci_set_long(d->config + off + 4, 0);
        pci_set_quad(d->wmask + off, wmask);
    } else {
        pci_set_long(d->wmask + off, (uint32_t)wmask);
    }
}

uint64_t pci_get_bar_addr(const PCIDevice *d, unsigned bar)
{
    return bar < PCI_NUM_REGIONS ? d->io_regions[bar].addr : PCI_BAR_UNMAPPED;
}

/* The address BAR @bar decodes now (6.2.5), or PCI_BAR_UNMAPPED. */
static uint64_t pci_bar_address(const PCIDevice *d, unsigned bar)
{
    const PCIIORegion *r = &d->io_regions[bar];
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    unsigned off = pci_bar_offset(bar);
    uint64_t addr, last;

    if (bar_is_io(r)) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return PCI_BAR_UNMAPPED;
        }
        addr = pci_get_long(d->config + off) & ~(r->size - 1);
        last = addr + r->size - 1;
        if (addr == 0 || last <= addr || last > PCI_IO_SPACE_LIMIT) {
            return PCI_BAR_UNMAPPED;
        }
        return addr;
    }
    if (!(cmd & PCI_COMMAND_MEMORY)) {
        return PCI_BAR_UNMAPPED;
    }
    addr = bar_is_64(r) ? pci_get_quad(d->config + off)
                        : pci_get_long(d->config + off);
    if (bar == PCI_ROM_SLOT && !(addr & PCI_ROM_ADDRESS_ENABLE)) {
        return PCI_BAR_UNMAPPED;
    }
    addr &= ~(r->size - 1);
    last = addr + r->size - 1;
    if (addr == 0 || last <= addr || last == PCI_BAR_UNMAPPED) {
        return PCI_BAR_UNMAPPED;
    }
    if (!bar_is_64(r) && last > UINT32_MAX) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

static void pci_unmap_region(PCIIORegion *r)
{
    /* The region may already be gone with its container (host teardown). */
    if (r->memory && r->address_space &&
        r->memory->parent == r->address_space) {
        memory_region_del_subregion(r->address_space, r->memory);
    }
    r->addr = PCI_BAR_UNMAPPED;
}

static void pci_update_mappings(PCIDevice *d)
{
    memory_region_transaction_begin();
    for (unsigned i = 0; i < PCI_NUM_REGIONS; i++) {
        PCIIORegion *r = &d->io_regions[i];
        uint64_t addr;

        if (!r->size) {
            continue;
        }
        addr = pci_bar_address(d, i);
        if (addr == r->addr) {
            continue;
        }
        pci_unmap_region(r);
        if (addr != PCI_BAR_UNMAPPED && r->address_space) {
            memory_region_add_subregion_overlap(r->address_space, addr,
                                                r->memory, PCI_BAR_PRIORITY);
            r->addr = addr;
        }
    }
    memory_region_transaction_commit();
}

static void pci_unmap_all(PCIDevice *d)
{
    memory_region_transaction_begin();
    for (unsigned i = 0; i < PCI_NUM_REGIONS; i++) {
        if (d->io_regions[i].size) {
            pci_unmap_region(&d->io_regions[i]);
        }
    }
    memory_region_transaction_commit();
}

/* ---- expansion ROM -------------------------------------------------- */

static char *pci_find_rom_file(const char *name)
{
    if (strchr(name, '/')) {
        return g_file_test(name, G_FILE_TEST_IS_REGULAR) ? g_strdup(name)
                                                          : NULL;
    }
    for (unsigned i = 0; pc_config.firmware_dirs &&
                         pc_config.firmware_dirs[i]; i++) {
        char *path = g_build_filename(pc_config.firmware_dirs[i], name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            return path;
        }
        g_free(path);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(rom_dirs); i++) {
        char *path = g_build_filename(rom_dirs[i], name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            return path;
        }
        g_free(path);
    }
    return NULL;
}

static uint64_t pow2_ceil(uint64_t v)
{
    uint64_t p = 1;

    while (p < v) {
        p <<= 1;
    }
    return p;
}

/*
 * The function's place from the root bus down, as QEMU's device paths
 * ("0000:00:1c.0:00.0": domain, root bus, then slot.function at each
 * level): stable across runs, independent of the bus numbers the guest
 * assigns and of the order devices were created or hot-plugged.
 */
static void pci_append_dev_path(GString *s, const PCIDevice *d)
{
    if (d->bus && d->bus->bridge) {
        pci_append_dev_path(s, d->bus->bridge);
    } else {
        g_string_append(s, "0000:00");
    }
    g_string_append_printf(s, ":%02x.%x", PCI_SLOT(d->devfn),
                           PCI_FUNC(d->devfn));
}

/*
 * The ROM's RAM block name, "PATH/TYPE.rom" as QEMU's: migration matches
 * blocks by name (migration/savevm.c), so a NIC hot-plugged on the source
 * and cold-plugged on the destination has the same ROM block on both.
 */
static char *pci_rom_block_name(const PCIDevice *d)
{
    GString *s = g_string_new(NULL);

    pci_append_dev_path(s, d);
    g_string_append_printf(s, "/%s.rom", d->parent.type->name);
    return g_string_free(s, FALSE);
}

/* romfile=: load the image as the expansion ROM BAR (6.2.5.2, 6.3). */
static bool pci_load_rom(PCIDevice *d, GError **errp)
{
    g_autofree char *block_name = NULL;
    const char *name = d->romfile ? d->romfile : d->pc->romfile;
    g_autofree char *path = NULL;
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize size;

    if (!name || !*name || !d->rombar) {
        return true;
    }
    path = pci_find_rom_file(name);
    if (!path) {
        error_setg(errp, "failed to find romfile \"%s\"", name);
        return false;
    }
    if (!g_file_get_contents(path, &data, &size, &err)) {
        error_setg(errp, "failed to load romfile \"%s\": %s", name,
                   err->message);
        return false;
    }
    if (size == 0 || size > PCI_ROM_MAX_SIZE) {
        error_setg(errp, "romfile \"%s\" is %s", name,
                   size ? "too large (over 16 MiB)" : "empty");
        return false;
    }
    block_name = pci_rom_block_name(d);
    memory_region_init_rom(&d->rom, block_name,
                           pow2_ceil(MAX(size, PCI_ROM_MIN_SIZE)));
    memcpy(memory_region_get_ram_ptr(&d->rom), data, size);
    d->has_rom = true;
    pci_register_bar(d, PCI_ROM_SLOT, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->rom);
    return true;
}

/* ---- INTx ----------------------------------------------------------- */

int pci_slot_get_pirq(PCIDevice *dev, int pin)
{
    return (pin + (int)PCI_SLOT(dev->devfn) - 1) & 3;
}

static void pci_change_irq_level(PCIDevice *d, int pin, int change)
{
    PCIBus *bus = d->bus;
    int pirq;

    if (!bus || !bus->map_irq) {
        return;
    }
    pirq = bus->map_irq(d, pin);
    if (pirq < 0 || pirq >= bus->nirq || pirq >= PCI_BUS_MAX_IRQS) {
        return;
    }
    bus->irq_count[pirq] += change;
    if (bus->set_irq) {
        bus->set_irq(bus->irq_opaque, pirq, bus->irq_count[pirq] != 0);
    }
}

static void pci_update_irq_status(PCIDevice *d)
{
    uint16_t status = pci_get_word(d->config + PCI_STATUS);

    if (d->irq_state) {
        status |= PCI_STATUS_INTERRUPT;
    } else {
        status &= ~PCI_STATUS_INTERRUPT;
    }
    pci_set_word(d->config + PCI_STATUS, status);
}

static void pci_irq_handler(PCIDevice *d, int pin, int level)
{
    bool cur = d->irq_state & (1u << pin);
    int change = (level ? 1 : 0) - (cur ? 1 : 0);

    if (!change) {
        return;
    }
    d->irq_state ^= 1u << pin;
    pci_update_irq_status(d);
    if (!intx_disabled(d)) {
        pci_change_irq_level(d, pin, change);
    }
}

void pci_set_irq(PCIDevice *d, int level)
{
    int pin = d->config[PCI_INTERRUPT_PIN] - 1;

    if (pin >= 0 && pin < PCI_NUM_PINS) {
        pci_irq_handler(d, pin, level);
    }
}

void pci_set_irq_pin(PCIDevice *d, int pin, int level)
{
    if (pin >= 0 && pin < PCI_NUM_PINS) {
        pci_irq_handler(d, pin, level);
    }
}

void pci_device_deassert_intx(PCIDevice *d)
{
    for (int pin = 0; pin < PCI_NUM_PINS; pin++) {
        pci_irq_handler(d, pin, 0);
    }
}

/* Bus line counts from the functions' pin states (after hooks change). */
static void pci_bus_recount_irqs(PCIBus *bus)
{
    memset(bus->irq_count, 0, sizeof(bus->irq_count));
    for (unsigned devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *d = bus->devices[devfn];
        for (int pin = 0; d && bus->map_irq && pin < PCI_NUM_PINS; pin++) {
            int pirq;
            if (!(d->irq_state & (1u << pin)) || intx_disabled(d)) {
                continue;
            }
            pirq = bus->map_irq(d, pin);
            if (pirq >= 0 && pirq < bus->nirq && pirq < PCI_BUS_MAX_IRQS) {
                bus->irq_count[pirq]++;
            }
        }
    }
}

void pci_bus_irqs(PCIBus *bus, PCISetIRQFunc set_irq, PCIMapIRQFunc map_irq,
                  void *opaque, int nirq)
{
    bus->set_irq = set_irq;
    bus->map_irq = map_irq;
    bus->irq_opaque = opaque;
    bus->nirq = MIN(MAX(nirq, 0), PCI_BUS_MAX_IRQS);
    pci_bus_recount_irqs(bus);
}

bool pci_bus_irqs_claimed(PCIBus *bus)
{
    return bus->set_irq != NULL;
}

bool pci_bus_get_irq_level(PCIBus *bus, int pirq)
{
    return pirq >= 0 && pirq < PCI_BUS_MAX_IRQS && bus->irq_count[pirq] != 0;
}

int32_t *pci_bus_irq_counts(PCIBus *bus, unsigned *n)
{
    *n = PCI_BUS_MAX_IRQS;
    return bus->irq_count;
}

/* ---- capabilities --------------------------------------------------- */

static uint8_t pci_find_space(PCIDevice *d, uint8_t size)
{
    unsigned need = ALIGN_UP(size, 4);

    for (unsigned off = PCI_CONFIG_HEADER_SIZE;
         off + need <= PCI_CONFIG_SPACE_SIZE; off += 4) {
        unsigned i;
        for (i = 0; i < need && !d->cap_used[off + i]; i++) {
        }
        if (i == need) {
            return off;
        }
    }
    return 0;
}

uint8_t pci_add_capability(PCIDevice *d, uint8_t cap_id, uint8_t offset,
                           uint8_t size, GError **errp)
{
    if (size < 2) {
        error_setg(errp, "PCI capability 0x%02x: size %u is too small",
                   cap_id, size);
        return 0;
    }
    if (!offset) {
        offset = pci_find_space(d, size);
        if (!offset) {
            error_setg(errp, "PCI capability 0x%02x (%u bytes) does not fit "
                       "in configuration space", cap_id, size);
            return 0;
        }
    } else {
        if (offset < PCI_CONFIG_HEADER_SIZE || (offset & 3) ||
            offset + size > PCI_CONFIG_SPACE_SIZE) {
            error_setg(errp, "PCI capability 0x%02x at 0x%02x is outside "
                       "the device-specific space", cap_id, offset);
            return 0;
        }
        for (unsigned i = 0; i < size; i++) {
            if (d->cap_used[offset + i]) {
                error_setg(errp, "PCI capability 0x%02x at 0x%02x overlaps "
                           "another one", cap_id, offset);
                return 0;
            }
        }
    }
    d->config[offset + PCI_CAP_LIST_ID] = cap_id;
    d->config[offset + PCI_CAP_LIST_NEXT] = d->config[PCI_CAPABILITY_LIST];
    d->config[PCI_CAPABILITY_LIST] = offset;
    pci_set_word(d->config + PCI_STATUS,
                 pci_get_word(d->config + PCI_STATUS) | PCI_STATUS_CAP_LIST);
    memset(d->cap_used + offset, 1,
           MIN(ALIGN_UP(size, 4), (uint64_t)(PCI_CONFIG_SPACE_SIZE - offset)));
    memset(d->wmask + offset, 0, size);
    memset(d->w1cmask + offset, 0, size);
    return offset;
}

uint8_t pci_find_capability(PCIDevice *d, uint8_t cap_id)
{
    uint8_t off = d->config[PCI_CAPABILITY_LIST];

    /* At most 48 capabilities fit in 192 bytes: bound a looping list. */
    for (unsigned n = 0; off >= PCI_CONFIG_HEADER_SIZE && n < 48; n++) {
        if (d->config[off + PCI_CAP_LIST_ID] == cap_id) {
            return off;
        }
        off = d->config[off + PCI_CAP_LIST_NEXT];
    }
    return 0;
}

/* ---- DMA ------------------------------------------------------------ */

/* The function and every bridge above it forward its DMA (PCI-to-PCI
 * Bridge spec 3.2.2.1: bus master enable gates upstream transactions). */
bool pci_dma_enabled(const PCIDevice *d)
{
    for (unsigned depth = 0; d && depth < 256; depth++) {
        if (!(pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
            return false;
        }
        d = d->bus ? d->bus->bridge : NULL;
    }
    return true;
}

MemTxResult pci_dma_read(PCIDevice *d, uint64_t addr, void *buf,
                         uint64_t len)
{
    if (!pci_dma_enabled(d)) {
        memset(buf, 0xff, len);
        return MEMTX_DECODE_ERROR;
    }
    return dma_read(addr, buf, len);
}

MemTxResult pci_dma_write(PCIDevice *d, uint64_t addr, const void *buf,
                          uint64_t len)
{
    if (!pci_dma_enabled(d)) {
        return MEMTX_DECODE_ERROR;
    }
    return dma_write(addr, buf, len);
}

/* ---- info (query-pci / info pci) ------------------------------------ */

static const struct {
    uint16_t class_id;
    const char *desc;
} pci_class_names[] = {
    { 0x0001, "VGA controller" },
    { 0x0100, "SCSI controller" },
    { 0x0101, "IDE controller" },
    { 0x0102, "Floppy controller" },
    { 0x0103, "IPI controller" },
    { 0x0104, "RAID controller" },
    { 0x0106, "SATA controller" },
    { 0x0107, "SAS controller" },
    { 0x0180, "Storage controller" },
    { 0x0200, "Ethernet controller" },
    { 0x0201, "Token Ring controller" },
    { 0x0202, "FDDI controller" },
    { 0x0203, "ATM controller" },
    { 0x0280, "Network controller" },
    { 0x0300, "VGA controller" },
    { 0x0301, "XGA controller" },
    { 0x0302, "3D controller" },
    { 0x0380, "Display controller" },
    { 0x0400, "Video controller" },
    { 0x0401, "Audio controller" },
    { 0x0402, "Phone" },
    { 0x0403, "Audio controller" },
    { 0x0480, "Multimedia controller" },
    { 0x0500, "RAM controller" },
    { 0x0501, "Flash controller" },
    { 0x0580, "Memory controller" },
    { 0x0600, "Host bridge" },
    { 0x0601, "ISA bridge" },
    { 0x0602, "EISA bridge" },
    { 0x0603, "MC bridge" },
    { 0x0604, "PCI bridge" },
    { 0x0605, "PCMCIA bridge" },
    { 0x0606, "NUBUS bridge" },
    { 0x0607, "CARDBUS bridge" },
    { 0x0608, "RACEWAY bridge" },
    { 0x0680, "Bridge" },
    { 0x0700, "Serial port" },
    { 0x0701, "Parallel port" },
    { 0x0800, "Interrupt controller" },
    { 0x0801, "DMA controller" },
    { 0x0802, "Timer" },
    { 0x0803, "RTC" },
    { 0x0900, "Keyboard" },
    { 0x0901, "Pen" },
    { 0x0902, "Mouse" },
    { 0x0a00, "Dock station" },
    { 0x0b00, "i386 cpu" },
    { 0x0c00, "Firewire controller" },
    { 0x0c01, "Access bus controller" },
    { 0x0c02, "SSA controller" },
    { 0x0c03, "USB controller" },
    { 0x0c04, "Fibre channel controller" },
    { 0x0c05, "SMBus" },
};

const char *pci_class_description(uint16_t class_id)
{
    for (unsigned i = 0; i < ARRAY_SIZE(pci_class_names); i++) {
        if (pci_class_names[i].class_id == class_id) {
            return pci_class_names[i].desc;
        }
    }
    return NULL;
}

void pci_device_get_info(PCIDevice *d, PCIDeviceInfo *info)
{
    memset(info, 0, sizeof(*info));
    info->bus = pci_bus_num(d->bus);
    info->slot = PCI_SLOT(d->devfn);
    info->function = PCI_FUNC(d->devfn);
    info->class_id = pci_get_word(d->config + PCI_CLASS_DEVICE);
    info->class_desc = pci_class_description(info->class_id);
    info->vendor_id = pci_get_word(d->config + PCI_VENDOR_ID);
    info->device_id = pci_get_word(d->config + PCI_DEVICE_ID);
    info->subsystem_vendor_id =
        pci_get_word(d->config + PCI_SUBSYSTEM_VENDOR_ID);
    info->subsystem_id = pci_get_word(d->config + PCI_SUBSYSTEM_ID);
    info->irq_pin = d->config[PCI_INTERRUPT_PIN];
    info->has_irq = info->irq_pin != 0;
    info->irq = d->config[PCI_INTERRUPT_LINE];
    info->qdev_id = d->parent.id ? d->parent.id : "";
    for (unsigned i = 0; i < PCI_NUM_REGIONS; i++) {
        const PCIIORegion *r = &d->io_regions[i];
        PCIRegionInfo *ri;
        if (!r->size) {
            continue;
        }
        ri = &info->regions[info->nr_regions++];
        ri->bar = i;
        ri->is_io = bar_is_io(r);
        ri->address = r->addr;
        ri->size = r->size;
        ri->prefetch = !ri->is_io &&
                       (r->type & PCI_BASE_ADDRESS_MEM_PREFETCH);
        ri->mem_type_64 = bar_is_64(r);
    }
}

/* ---- the "pci-device" type ------------------------------------------ */

static const PCIDeviceClass *pci_class_of(const DeviceType *type)
{
    for (; type; type = type->parent ? device_type_find(type->parent) : NULL) {
        if (!strcmp(type->name, TYPE_PCI_DEVICE)) {
            return NULL;
        }
        if (type->class_data) {
            return type->class_data;
        }
    }
    return NULL;
}

static int pci_pick_devfn(PCIBus *bus, PCIDevice *d, GError **errp)
{
    const char *name = d->parent.type->name;

    if (d->devfn < 0) {
        for (unsigned slot = 0; slot < (bus->only_slot0 ? 1 : PCI_SLOT_MAX);
             slot++) {
            if (!bus->devices[PCI_DEVFN(slot, 0)]) {
                return PCI_DEVFN(slot, 0);
            }
        }
        error_setg(errp, "PCI: no slot/function available for %s, all in "
                   "use or reserved", name);
        return -1;
    }
    if (d->devfn >= PCI_DEVFN_MAX) {
        error_setg(errp, "PCI: devfn %d out of range for %s", d->devfn, name);
        return -1;
    }
    if (bus->only_slot0 && PCI_SLOT(d->devfn)) {
        error_setg(errp, "PCI: slot %d is not valid for %s, parent device "
                   "only allows plugging into slot 0.", PCI_SLOT(d->devfn),
                   name);
        return -1;
    }
    if (bus->devices[d->devfn]) {
        PCIDevice *other = bus->devices[d->devfn];
        error_setg(errp, "PCI: slot %d function %d not available for %s, in "
                   "use by %s,id=%s", PCI_SLOT(d->devfn), PCI_FUNC(d->devfn),
                   name, other->parent.type->name,
                   other->parent.id ? other->parent.id : "");
        return -1;
    }
    return d->devfn;
}

/* The multifunction rules QEMU enforces (header type bit 7, 6.2.1). */
static bool pci_check_multifunction(PCIBus *bus, PCIDevice *d, int devfn,
                                    GError **errp)
{
    unsigned slot = PCI_SLOT(devfn);

    if (PCI_FUNC(devfn)) {
        PCIDevice *f0 = bus->devices[PCI_DEVFN(slot, 0)];
        if (f0 && !f0->multifunction) {
            error_setg(errp, "PCI: single function device can't be "
                       "populated in function %x.%x", slot, PCI_FUNC(devfn));
            return false;
        }
        return true;
    }
    if (d->multifunction) {
        return true;
    }
    for (unsigned fn = 1; fn < PCI_FUNC_MAX; fn++) {
        if (bus->devices[PCI_DEVFN(slot, fn)]) {
            error_setg(errp, "PCI: %x.0 indicates single function, but %x.%x "
                       "is already populated.", slot, slot, fn);
            return false;
        }
    }
    return true;
}

void pci_set_identity(PCIDevice *d, uint16_t device_id, uint8_t revision,
                      uint16_t class_id)
{
    d->device_id = device_id;
    d->revision = revision;
    d->class_id = class_id;
    pci_set_word(d->config + PCI_DEVICE_ID, device_id);
    d->config[PCI_REVISION_ID] = revision;
    pci_set_word(d->config + PCI_CLASS_DEVICE, class_id);
}

static void pci_init_header(PCIDevice *d)
{
    const PCIDeviceClass *pc = d->pc;
    uint8_t *c = d->config;

    memset(d->config, 0, sizeof(d->config));
    memset(d->wmask, 0, sizeof(d->wmask));
    memset(d->w1cmask, 0, sizeof(d->w1cmask));
    memset(d->cap_used, 0, sizeof(d->cap_used));
    memset(d->cap_used, 1, PCI_CONFIG_HEADER_SIZE);

    pci_set_word(c + PCI_VENDOR_ID, pc->vendor_id);
    pci_set_word(c + PCI_STATUS, pc->status);
    c[PCI_CLASS_PROG] = pc->prog_if;
    pci_set_identity(d, pc->device_id, pc->revision, pc->class_id);
    c[PCI_HEADER_TYPE] = pc->header_type |
                         (d->multifunction ? PCI_HEADER_TYPE_MULTI_FUNCTION : 0);
    if (pc->header_type == PCI_HEADER_TYPE_BRIDGE) {
        /* 2Ch-2Fh are the prefetchable window's upper halves here */
    } else if (pc->subsystem_vendor_id || pc->subsystem_id) {
        pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID, pc->subsystem_vendor_id);
        pci_set_word(c + PCI_SUBSYSTEM_ID, pc->subsystem_id);
    } else {
        pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID,
                     PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
        pci_set_word(c + PCI_SUBSYSTEM_ID, PCI_SUBDEVICE_ID_QEMU);
    }
    c[PCI_INTERRUPT_PIN] = pc->interrupt_pin;

    /* What software may write (6.2.2 - 6.2.4), as QEMU's defaults. */
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    pci_set_word(d->wmask + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    memset(d->wmask + PCI_CONFIG_HEADER_SIZE, 0xff,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
    pci_set_word(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C_BITS);
    if (d->config_size == PCIE_CONFIG_SPACE_SIZE) {
        pci_init_ext_wmask(d);
    }
}

/*
 * A PCI Express function's extended space (PCIe 4.0 7.6) is, as in QEMU
 * 7.2, writable by software wherever no extended capability sits, past
 * the first header (100h-103h reads 0 and stays so while the function has
 * none).  pcie_add_ext_capability() takes the bytes it claims back; the
 * whole space migrates (vmstate_pci_device version 2).
 */
void pci_init_ext_wmask(PCIDevice *d)
{
    memset(d->wmask + PCI_CONFIG_SPACE_SIZE + 4, 0xff,
           PCIE_CONFIG_SPACE_SIZE - PCI_CONFIG_SPACE_SIZE - 4);
}

/* Another realized PCI device that holds @index, or NULL. */
static PCIDevice *pci_acpi_index_holder(const PCIDevice *self, uint32_t index)
{
    GPtrArray *devs = device_list();

    for (unsigned i = 0; devs && i < devs->len; i++) {
        DeviceState *dev = g_ptr_array_index(devs, i);
        if (device_type_is_a(dev->type, TYPE_PCI_DEVICE) &&
            PCI_DEVICE(dev) != self && PCI_DEVICE(dev)->bus &&
            PCI_DEVICE(dev)->acpi_index == index) {
            return PCI_DEVICE(dev);
        }
    }
    return NULL;
}

/*
 * acpi-index, checked as QEMU 7.2's pci_qdev_realize does, before the slot
 * is looked at (so its words win over a slot conflict): the range first,
 * then uniqueness.  A device holds its index while it is realized (a
 * pending device_del keeps it until the guest's eject); the list of
 * realized devices is the record, so a failed realize takes nothing
 * (QEMU 7.2 keeps the index of a device whose realize failed later on:
 * not copied).  Any bus takes one, as QEMU: only buses with ACPI PCI
 * hotplug show it to the guest (docs/hotplug.md).
 */
static bool pci_acpi_index_check(const PCIDevice *d, GError **errp)
{
    if (!d->acpi_index) {
        return true;
    }
    if (d->acpi_index > PCI_ACPI_INDEX_MAX) {
        error_setg(errp, "acpi-index should be less or equal to %u",
                   PCI_ACPI_INDEX_MAX);
        return false;
    }
    if (pci_acpi_index_holder(d, d->acpi_index)) {
        error_setg(errp, "a PCI device with acpi-index = %" PRIu32
                   " already exist", d->acpi_index);
        return false;
    }
    return true;
}

uint32_t pci_slot_acpi_index(PCIBus *bus, unsigned slot)
{
    GPtrArray *devs = device_list();

    for (unsigned i = devs ? devs->len : 0; i-- > 0;) {
        DeviceState *dev = g_ptr_array_index(devs, i);
        PCIDevice *d = PCI_DEVICE(dev);
        if (device_type_is_a(dev->type, TYPE_PCI_DEVICE) && bus &&
            d->bus == bus && PCI_SLOT(d->devfn) == slot) {
            return d->acpi_index;
        }
    }
    return 0;
}

static bool pci_device_realize(DeviceState *ds, GError **errp)
{
    PCIDevice *d = PCI_DEVICE(ds);
    PCIBus *bus = pci_root_bus();
    const PCIDeviceClass *pc = pci_class_of(ds->type);
    int devfn;

    if (!bus) {
        error_setg(errp, "No 'PCI' bus found for device '%s'", ds->type->name);
        return false;
    }
    /* The root bus ("pci.0" on pc, "pcie.0" on q35) or a bridge's id. */
    if (d->bus_name) {
        bus = pci_bus_find_by_name(d->bus_name);
        if (!bus) {
            error_setg(errp, "Bus '%s' not found", d->bus_name);
            return false;
        }
    }
    if (!pc) {
        error_setg(errp, "'%s' has no PCI class data", ds->type->name);
        return false;
    }
    if (!pci_acpi_index_check(d, errp)) {
        return false;
    }
    if (pc->header_type != PCI_HEADER_TYPE_NORMAL &&
        pc->header_type != PCI_HEADER_TYPE_BRIDGE) {
        error_setg(errp, "'%s': header type %u is not supported",
                   ds->type->name, pc->header_type);
        return false;
    }
    if (pc->header_type == PCI_HEADER_TYPE_BRIDGE && d->romfile &&
        *d->romfile) {
        error_setg(errp, "'%s': a bridge has no expansion ROM here",
                   ds->type->name);
        return false;
    }
    devfn = pci_pick_devfn(bus, d, errp);
    if (devfn < 0) {
        return false;
    }
    /* The guest sees a slot when function 0 arrives: a later function
     * would never be seen (QEMU's do_pci_register_device, which asks this
     * before the multifunction rules of pci_init_multifunction). */
    if (ds->hotplugged && PCI_FUNC(devfn) &&
        bus->devices[PCI_DEVFN(PCI_SLOT(devfn), 0)]) {
        PCIDevice *f0 = bus->devices[PCI_DEVFN(PCI_SLOT(devfn), 0)];
        error_setg(errp, "PCI: slot %d function 0 already occupied by %s, "
                   "new func %s cannot be exposed to guest.",
                   PCI_SLOT(devfn), f0->parent.type->name, ds->type->name);
        return false;
    }
    if (!pci_check_multifunction(bus, d, devfn, errp)) {
        return false;
    }
    d->devfn = devfn;
    d->bus = bus;
    d->pc = pc;
    d->config_size = pc->is_express ? PCIE_CONFIG_SPACE_SIZE
                                    : PCI_CONFIG_SPACE_SIZE;
    for (unsigned i = 0; i < PCI_NUM_REGIONS; i++) {
        d->io_regions[i] = (PCIIORegion){ .addr = PCI_BAR_UNMAPPED };
    }
    pci_init_header(d);
    bus->devices[devfn] = d;
    if (!pci_load_rom(d, errp)) {
        bus->devices[devfn] = NULL;
        d->bus = NULL;
        return false;
    }
    return true;
}

static void pci_device_unrealize(DeviceState *ds)
{
    PCIDevice *d = PCI_DEVICE(ds);

    if (!d->bus) {
        return;
    }
    pci_device_deassert_intx(d);
    pci_unmap_all(d);
    msix_uninit(d);
    g_clear_pointer(&d->mig_ext_config, g_free);
    if (d->has_rom) {
        memory_region_destroy(&d->rom);
        d->has_rom = false;
    }
    if (d->bus->devices[d->devfn] == d) {
        d->bus->devices[d->devfn] = NULL;
    }
    d->bus = NULL;
}

/* What a PCI reset (RST#) clears, as QEMU's pci_do_device_reset. */
static void pci_device_reset(DeviceState *ds)
{
    PCIDevice *d = PCI_DEVICE(ds);
    uint8_t *c = d->config;
    uint16_t clear;

    if (!d->bus) {
        return;
    }
    pci_device_deassert_intx(d);
    clear = pci_get_word(d->wmask + PCI_COMMAND) |
            pci_get_word(d->w1cmask + PCI_COMMAND);
    pci_set_word(c + PCI_COMMAND, pci_get_word(c + PCI_COMMAND) & ~clear);
    clear = pci_get_word(d->wmask + PCI_STATUS) |
            pci_get_word(d->w1cmask + PCI_STATUS);
    pci_set_word(c + PCI_STATUS, pci_get_word(c + PCI_STATUS) & ~clear);
    c[PCI_INTERRUPT_LINE] &= ~d->wmask[PCI_INTERRUPT_LINE];
    c[PCI_CACHE_LINE_SIZE] = 0;
    for (unsigned i = 0; i < PCI_NUM_REGIONS; i++) {
        const PCIIORegion *r = &d->io_regions[i];
        unsigned off = pci_bar_offset(i);
        if (!r->size) {
            continue;
        }
        pci_set_long(c + off, r->type);
        if (bar_is_64(r)) {
            pci_set_long(c + off + 4, 0);
        }
    }
    pci_update_mappings(d);
    msi_reset(d);
    msix_reset(d);
}

/* Identity registers cannot come from a saved state of another device. */
static bool pci_identity_matches(const PCIDevice *d)
{
    const PCIDeviceClass *pc = d->pc;

    return pci_get_word(d->config + PCI_VENDOR_ID) == pc->vendor_id &&
           pci_get_word(d->config + PCI_DEVICE_ID) == d->device_id &&
           pci_get_word(d->config + PCI_CLASS_DEVICE) == d->class_id &&
           d->config[PCI_REVISION_ID] == d->revision &&
           (d->config[PCI_HEADER_TYPE] & 0x7f) == pc->header_type;
}

/* Version 2 carries a PCI Express function's extended space too. */
static int pci_device_pre_save(void *opaque)
{
    PCIDevice *d = opaque;
    uint32_t len = d->config_size - PCI_CONFIG_SPACE_SIZE;

    g_free(d->mig_ext_config);
    d->mig_ext_config = len ? g_memdup2(d->config + PCI_CONFIG_SPACE_SIZE,
                                        len) : NULL;
    d->mig_ext_config_len = len;
    return 0;
}

static int pci_device_load_ext_config(PCIDevice *d)
{
    uint32_t len = d->mig_ext_config_len;
    int ret = 0;

    if (len && len != d->config_size - PCI_CONFIG_SPACE_SIZE) {
        ret = -1;       /* a conventional function here, or the reverse */
    } else if (len) {
        memcpy(d->config + PCI_CONFIG_SPACE_SIZE, d->mig_ext_config, len);
    }
    g_free(d->mig_ext_config);
    d->mig_ext_config = NULL;
    d->mig_ext_config_len = 0;
    return ret;
}

static int pci_device_post_load(void *opaque, int version_id)
{
    PCIDevice *d = opaque;

    if (pci_device_load_ext_config(d) < 0 || !d->bus ||
        !pci_identity_matches(d)) {
        return -1;
    }
    d->irq_state &= (1u << PCI_NUM_PINS) - 1;
    pci_update_irq_status(d);
    /* Behind a bridge nobody saves the line counts: rebuild them from the
     * functions loaded so far (the last one leaves them right). */
    if (d->bus->bridge) {
        pci_bus_recount_irqs(d->bus);
    }
    pci_update_mappings(d);
    msix_post_load(d);
    return 0;
}

static const VMStateDescription vmstate_pci_device = {
    .name = "PCIDevice",
    .version_id = 2,
    .minimum_version_id = 1,
    .pre_save = pci_device_pre_save,
    .post_load = pci_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(config, PCIDevice, PCI_CONFIG_SPACE_SIZE),
        VMSTATE_UINT8(irq_state, PCIDevice),
        VMSTATE_UINT8_ARRAY(msix_table, PCIDevice,
                            PCI_MSIX_MAX_VECTORS * PCI_MSIX_ENTRY_SIZE),
        VMSTATE_UINT8_ARRAY(msix_pba, PCIDevice, PCI_MSIX_MAX_VECTORS / 8),
        VMSTATE_UINT32_V(mig_ext_config_len, PCIDevice, 2),
        { .name = "mig_ext_config", .type = VMS_VARRAY,
          .offset = offsetof(PCIDevice, mig_ext_config), .size = 1,
          .count = PCIE_CONFIG_SPACE_SIZE - PCI_CONFIG_SPACE_SIZE,
          .count_offset = offsetof(PCIDevice, mig_ext_config_len),
          .version_id = 2 },
        VMSTATE_END_OF_LIST()
    },
};

static const Property pci_device_props[] = {
    DEFINE_PROP("bus", PCIDevice, bus_name, PROP_STRING, NULL,
                "the PCI bus: pci.0 (the host bridge's root bus)"),
    DEFINE_PROP("addr", PCIDevice, devfn, PROP_PCI_DEVFN, "-1",
                "Slot and optional function number, example: 06.0 or 06"),
    DEFINE_PROP("multifunction", PCIDevice, multifunction, PROP_BOOL, "off",
                "on/off"),
    DEFINE_PROP("romfile", PCIDevice, romfile, PROP_STRING, NULL,
                "expansion ROM image (name searched in -L and the firmware "
                "directories)"),
    DEFINE_PROP("rombar", PCIDevice, rombar, PROP_UINT32, "1",
                "0: no expansion ROM BAR"),
    DEFINE_PROP("acpi-index", PCIDevice, acpi_index, PROP_UINT32, "0",
                "instance number the guest's firmware reports (ACPI _DSM "
                "function 7; systemd names a NIC eno<N>), 1-16383, "
                "unique; 0: none"),
    DEFINE_PROP_END_OF_LIST(),
};

static const char *const pci_device_interfaces[] = {
    "conventional-pci-device", NULL
};

static HotplugHandler *pci_get_hotplug_handler(DeviceState *ds,
                                               const char **bus_name)
{
    PCIDevice *d = PCI_DEVICE(ds);

    if (!d->bus) {
        return NULL;
    }
    *bus_name = d->bus->name;
    return d->bus->hotplug;
}

static const DeviceType pci_device_type = {
    .name = TYPE_PCI_DEVICE,
    .get_hotplug_handler = pci_get_hotplug_handler,
    .interfaces = pci_device_interfaces,
    .parent = TYPE_DEVICE,
    .desc = "PCI device",
    .instance_size = sizeof(PCIDevice),
    .abstract = true,
    .props = pci_device_props,
    .realize = pci_device_realize,
    .unrealize = pci_device_unrealize,
    .reset = pci_device_reset,
    .vmsd = &vmstate_pci_device,
};

static void pci_register_types(void)
{
    device_type_register(&pci_device_type);
}
type_init(pci_register_types)
