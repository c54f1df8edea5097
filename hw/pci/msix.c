/*
 * MSI-X capability, vector table and pending bit array.
 *
 * Spec: PCI Local Bus Specification 3.0, 6.8.2 (MSI-X Capability and
 * Table Structures): message control (table size, function mask, enable),
 * table offset/BIR, PBA offset/BIR; 6.8.2.6-6.8.2.9 (table entries: message
 * address, upper address, data, vector control with the mask bit; the PBA
 * is read-only and a vector masked at the time of its event is held
 * pending until unmasked).
 *
 * Table and PBA storage is inline in PCIDevice so the state description
 * can carry it; PCI_MSIX_MAX_VECTORS bounds it.
 */
#include "qemu/osdep.h"
#include "hw/pci/msi.h"

#define MSIX_EXCLUSIVE_BAR_MIN  4096
#define MSIX_CONTROL_HI         (PCI_MSIX_FLAGS + 1)   /* mask-all, enable */
#define MSIX_CONTROL_HI_WMASK   ((PCI_MSIX_FLAGS_MASKALL | \
                                  PCI_MSIX_FLAGS_ENABLE) >> 8)

static unsigned msix_pba_size(unsigned nentries)
{
    return ALIGN_UP(nentries, 64) / 8;   /* whole QWORDs (6.8.2.9) */
}

static uint16_t msix_control(const PCIDevice *d)
{
    return pci_get_word(d->config + d->msix_cap + PCI_MSIX_FLAGS);
}

bool msix_present(const PCIDevice *d)
{
    return d->msix_cap != 0;
}

bool msix_enabled(const PCIDevice *d)
{
    return msix_present(d) && (msix_control(d) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_function_masked(const PCIDevice *d)
{
    return !msix_enabled(d) || (msix_control(d) & PCI_MSIX_FLAGS_MASKALL);
}

static bool msix_vector_masked(const PCIDevice *d, unsigned vector)
{
    const uint8_t *e = d->msix_table + vector * PCI_MSIX_ENTRY_SIZE;

    return pci_get_long(e + PCI_MSIX_ENTRY_VECTOR_CTRL) &
           PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

bool msix_is_masked(const PCIDevice *d, unsigned vector)
{
    return vector >= d->msix_entries || msix_function_masked(d) ||
           msix_vector_masked(d, vector);
}

bool msix_is_pending(const PCIDevice *d, unsigned vector)
{
    return vector < d->msix_entries &&
           (d->msix_pba[vector / 8] & (1u << (vector % 8)));
}

static void msix_set_pending(PCIDevice *d, unsigned vector, bool pending)
{
    uint8_t bit = 1u << (vector % 8);

    if (pending) {
        d->msix_pba[vector / 8] |= bit;
    } else {
        d->msix_pba[vector / 8] &= ~bit;
    }
}

PCIMSIMessage msix_get_message(const PCIDevice *d, unsigned vector)
{
    const uint8_t *e = d->msix_table + vector * PCI_MSIX_ENTRY_SIZE;
    PCIMSIMessage msg = { 0, 0 };

    if (vector < d->msix_entries) {
        msg.address = pci_get_quad(e + PCI_MSIX_ENTRY_ADDR_LO);
        msg.data = pci_get_long(e + PCI_MSIX_ENTRY_DATA);
    }
    return msg;
}

static void msix_deliver(PCIDevice *d, unsigned vector)
{
    if (pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_MASTER) {
        pci_msi_send_message(msix_get_message(d, vector));
    }
}

void msix_notify(PCIDevice *d, unsigned vector)
{
    if (!msix_enabled(d) || vector >= d->msix_entries) {
        return;
    }
    if (msix_is_masked(d, vector)) {
        msix_set_pending(d, vector, true);
        return;
    }
    msix_deliver(d, vector);
}

/* Send what was held pending on a vector that is now unmasked. */
static void msix_handle_unmask(PCIDevice *d, unsigned vector)
{
    if (!msix_is_masked(d, vector) && msix_is_pending(d, vector)) {
        msix_set_pending(d, vector, false);
        msix_deliver(d, vector);
    }
}

static void msix_tell_notifier(PCIDevice *d, unsigned vector)
{
    if (d->msi_notifier) {
        d->msi_notifier(d, vector, msix_get_message(d, vector),
                        msix_is_masked(d, vector));
    }
}

/* ---- table and PBA MMIO --------------------------------------------- */

static uint64_t msix_table_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIDevice *d = opaque;

    if (addr + 4 > (uint64_t)d->msix_entries * PCI_MSIX_ENTRY_SIZE) {
        return 0;
    }
    return pci_get_long(d->msix_table + addr);
}

static void msix_table_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    PCIDevice *d = opaque;
    unsigned vector = addr / PCI_MSIX_ENTRY_SIZE;

    if (addr + 4 > (uint64_t)d->msix_entries * PCI_MSIX_ENTRY_SIZE) {
        return;
    }
    pci_set_long(d->msix_table + addr, val);
    msix_handle_unmask(d, vector);
    msix_tell_notifier(d, vector);
}

static const MemoryRegionOps msix_table_ops = {
    .read = msix_table_read,
    .write = msix_table_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

static uint64_t msix_pba_read(void *opaque, uint64_t addr, unsigned size)
{
    PCIDevice *d = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        if (addr + i < sizeof(d->msix_pba)) {
            val |= (uint64_t)d->msix_pba[addr + i] << (i * 8);
        }
    }
    return val;
}

static void msix_pba_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    /* Pending bits are read-only (6.8.2.9). */
}

static const MemoryRegionOps msix_pba_ops = {
    .read = msix_pba_read,
    .write = msix_pba_write,
    .min_access_size = 1,
    .max_access_size = 8,
};

/* ---- set-up --------------------------------------------------------- */

static void msix_mask_all(PCIDevice *d)
{
    for (unsigned v = 0; v < d->msix_entries; v++) {
        uint8_t *e = d->msix_table + v * PCI_MSIX_ENTRY_SIZE;
        pci_set_long(e + PCI_MSIX_ENTRY_VECTOR_CTRL,
                     PCI_MSIX_ENTRY_CTRL_MASKBIT);
    }
}

static bool msix_check_layout(unsigned nentries, MemoryRegion *table_bar,
                              unsigned table_bar_nr, uint32_t table_offset,
                              MemoryRegion *pba_bar, unsigned pba_bar_nr,
                              uint32_t pba_offset, GError **errp)
{
    uint64_t table_size = (uint64_t)nentries * PCI_MSIX_ENTRY_SIZE;
    uint64_t pba_size = msix_pba_size(nentries);

    if (nentries == 0 || nentries > PCI_MSIX_MAX_VECTORS) {
        error_setg(errp, "MSI-X: %u vectors requested (1-%u supported)",
                   nentries, PCI_MSIX_MAX_VECTORS);
        return false;
    }
    if (table_bar_nr >= PCI_NUM_BARS || pba_bar_nr >= PCI_NUM_BARS ||
        (table_offset & PCI_MSIX_BIR_MASK) || (pba_offset & PCI_MSIX_BIR_MASK)) {
        error_setg(errp, "MSI-X: bad BAR number or unaligned table/PBA");
        return false;
    }
    if (table_offset + table_size > table_bar->size ||
        pba_offset + pba_size > pba_bar->size) {
        error_setg(errp, "MSI-X: table or PBA does not fit in its BAR");
        return false;
    }
    if (table_bar_nr == pba_bar_nr &&
        table_offset < pba_offset + pba_size &&
        pba_offset < table_offset + table_size) {
        error_setg(errp, "MSI-X: table and PBA overlap");
        return false;
    }
    return true;
}

bool msix_init(PCIDevice *d, unsigned nentries,
               MemoryRegion *table_bar, unsigned table_bar_nr,
               uint32_t table_offset,
               MemoryRegion *pba_bar, unsigned pba_bar_nr,
               uint32_t pba_offset, uint8_t cap_pos, GError **errp)
{
    uint8_t cap;

    if (d->msix_cap) {
        error_setg(errp, "MSI-X: the device has an MSI-X capability already");
        return false;
    }
    if (!msix_check_layout(nentries, table_bar, table_bar_nr, table_offset,
                           pba_bar, pba_bar_nr, pba_offset, errp)) {
        return false;
    }
    cap = pci_add_capability(d, PCI_CAP_ID_MSIX, cap_pos, PCI_MSIX_CAP_SIZE,
                             errp);
    if (!cap) {
        return false;
    }
    d->msix_cap = cap;
    d->msix_entries = nentries;
    pci_set_word(d->config + cap + PCI_MSIX_FLAGS, nentries - 1);
    pci_set_long(d->config + cap + PCI_MSIX_TABLE, table_offset | table_bar_nr);
    pci_set_long(d->config + cap + PCI_MSIX_PBA, pba_offset | pba_bar_nr);
    d->wmask[cap + MSIX_CONTROL_HI] = MSIX_CONTROL_HI_WMASK;

    memset(d->msix_table, 0, sizeof(d->msix_table));
    memset(d->msix_pba, 0, sizeof(d->msix_pba));
    msix_mask_all(d);

    memory_region_init_io(&d->msix_table_mmio, &msix_table_ops, d,
                          "msix-table", nentries * PCI_MSIX_ENTRY_SIZE);
    memory_region_add_subregion(table_bar, table_offset, &d->msix_table_mmio);
    memory_region_init_io(&d->msix_pba_mmio, &msix_pba_ops, d, "msix-pba",
                          msix_pba_size(nentries));
    memory_region_add_subregion(pba_bar, pba_offset, &d->msix_pba_mmio);
    return true;
}

bool msix_init_exclusive_bar(PCIDevice *d, unsigned nentries,
                             unsigned bar_nr, GError **errp)
{
    uint64_t table_size = (uint64_t)nentries * PCI_MSIX_ENTRY_SIZE;
    uint64_t bar_size = MSIX_EXCLUSIVE_BAR_MIN;
    uint64_t pba_offset = bar_size / 2;

    if (table_size > pba_offset) {
        pba_offset = ALIGN_UP(table_size, 8);
    }
    while (pba_offset + msix_pba_size(nentries) > bar_size) {
        bar_size *= 2;
    }
    memory_region_init_container(&d->msix_exclusive_bar, "msix-bar",
                                 bar_size);
    if (!msix_init(d, nentries, &d->msix_exclusive_bar, bar_nr, 0,
                   &d->msix_exclusive_bar, bar_nr, pba_offset, 0, errp)) {
        memory_region_destroy(&d->msix_exclusive_bar);
        return false;
    }
    d->msix_exclusive = true;
    pci_register_bar(d, bar_nr, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &d->msix_exclusive_bar);
    return true;
}

void msix_uninit(PCIDevice *d)
{
    if (!d->msix_cap) {
        return;
    }
    memory_region_transaction_begin();
    memory_region_destroy(&d->msix_table_mmio);
    memory_region_destroy(&d->msix_pba_mmio);
    if (d->msix_exclusive) {
        memory_region_destroy(&d->msix_exclusive_bar);
        d->msix_exclusive = false;
    }
    memory_region_transaction_commit();
    d->msix_cap = 0;
    d->msix_entries = 0;
}

/* ---- framework hooks ------------------------------------------------ */

void msix_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                       unsigned len)
{
    unsigned ctl = d->msix_cap + MSIX_CONTROL_HI;

    if (!d->msix_cap || addr > ctl || addr + len <= ctl) {
        return;
    }
    if (msix_enabled(d)) {
        pci_device_deassert_intx(d);   /* MSI-X replaces INTx (6.8.2) */
    }
    for (unsigned v = 0; v < d->msix_entries; v++) {
        msix_handle_unmask(d, v);
        msix_tell_notifier(d, v);
    }
}

void msix_reset(PCIDevice *d)
{
    if (!d->msix_cap) {
        return;
    }
    d->config[d->msix_cap + MSIX_CONTROL_HI] &= ~MSIX_CONTROL_HI_WMASK;
    memset(d->msix_table, 0, sizeof(d->msix_table));
    memset(d->msix_pba, 0, sizeof(d->msix_pba));
    msix_mask_all(d);
}

void msix_post_load(PCIDevice *d)
{
    if (!d->msix_cap) {
        return;
    }
    /* Pending bits past the table are reserved: keep them clear. */
    for (unsigned v = d->msix_entries; v < PCI_MSIX_MAX_VECTORS; v++) {
        msix_set_pending(d, v, false);
    }
    for (unsigned v = 0; v < d->msix_entries; v++) {
        msix_tell_notifier(d, v);
    }
}
