/*
 * Message signalled interrupts: the MSI and MSI-X capabilities of a PCI
 * function, and message delivery.
 *
 * Spec: PCI Local Bus Specification 3.0, 6.8.1 (MSI capability) and 6.8.2
 * (MSI-X capability, table and pending bit array).
 *
 * A message is a 32-bit memory write by the function (so it needs the
 * command register's bus master enable).  Writes to the local APIC's
 * window 0xfee00000-0xfeefffff are interrupts: with KVM they go to the
 * in-kernel APICs through KVM_SIGNAL_MSI; otherwise (qtest) the message is
 * written to guest memory like any DMA, which is what QEMU's qtests
 * observe when they aim the address at RAM.
 */
#ifndef HW_PCI_MSI_H
#define HW_PCI_MSI_H
#include "hw/pci/pci.h"

#define PCI_MSI_ADDR_WINDOW_BASE 0xfee00000ULL
#define PCI_MSI_ADDR_WINDOW_SIZE 0x100000ULL

/* Deliver one message now (no bus-master check: callers do it). */
void pci_msi_send_message(PCIMSIMessage msg);

/* ---- MSI ----------------------------------------------------------- */

/*
 * Add an MSI capability at @offset (0: anywhere) for @nr_vectors (1-32,
 * rounded up to a power of two), with 64-bit addresses and/or per-vector
 * masking.  Returns false with @errp set on failure.
 */
bool msi_init(PCIDevice *dev, uint8_t offset, unsigned nr_vectors,
              bool msi64bit, bool per_vector_mask, GError **errp);
bool msi_present(const PCIDevice *dev);
bool msi_enabled(const PCIDevice *dev);
/* Vectors the guest enabled (1, 2, 4 ... 32); 0 while MSI is off. */
unsigned msi_nr_vectors_allocated(const PCIDevice *dev);
bool msi_is_masked(const PCIDevice *dev, unsigned vector);
PCIMSIMessage msi_get_message(const PCIDevice *dev, unsigned vector);
/* Signal @vector: sent, or left pending while masked. */
void msi_notify(PCIDevice *dev, unsigned vector);

/* ---- MSI-X --------------------------------------------------------- */

/*
 * Add an MSI-X capability (at @cap_pos, 0 = anywhere) for @nentries
 * vectors (at most PCI_MSIX_MAX_VECTORS), with the table at @table_offset
 * inside @table_bar (the MemoryRegion registered, or to be registered, as
 * BAR @table_bar_nr) and the pending bit array at @pba_offset inside
 * @pba_bar (BAR @pba_bar_nr).  The table and PBA are mapped as
 * subregions of those BAR regions.
 */
bool msix_init(PCIDevice *dev, unsigned nentries,
               MemoryRegion *table_bar, unsigned table_bar_nr,
               uint32_t table_offset,
               MemoryRegion *pba_bar, unsigned pba_bar_nr,
               uint32_t pba_offset, uint8_t cap_pos, GError **errp);
/* MSI-X with a BAR of its own (@bar_nr, 32-bit memory) holding both. */
bool msix_init_exclusive_bar(PCIDevice *dev, unsigned nentries,
                             unsigned bar_nr, GError **errp);
/* Undo msix_init (from the leaf's unrealize). */
void msix_uninit(PCIDevice *dev);
bool msix_present(const PCIDevice *dev);
bool msix_enabled(const PCIDevice *dev);
bool msix_is_masked(const PCIDevice *dev, unsigned vector);
bool msix_is_pending(const PCIDevice *dev, unsigned vector);
PCIMSIMessage msix_get_message(const PCIDevice *dev, unsigned vector);
/* Signal @vector: sent, or its pending bit set while masked. */
void msix_notify(PCIDevice *dev, unsigned vector);

/* ---- framework hooks (hw/pci/pci.c) -------------------------------- */

void msi_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                      unsigned len);
void msix_write_config(PCIDevice *dev, uint32_t addr, uint32_t val,
                       unsigned len);
void msi_reset(PCIDevice *dev);
void msix_reset(PCIDevice *dev);
/* After a state load: pending MSI-X vectors stay pending, notifier told. */
void msix_post_load(PCIDevice *dev);

#endif
