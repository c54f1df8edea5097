/*
 * MSI capability and message delivery.
 *
 * Spec: PCI Local Bus Specification 3.0, 6.8.1 (MSI Capability
 * Structure): message control (enable, multiple message capable/enable,
 * 64-bit, per-vector masking), message address/upper address/data, mask
 * and pending bits; 6.8.3.4 (a masked vector's message is held pending and
 * sent when unmasked).
 *
 * Delivery: see hw/pci/msi.h.
 */
#include "qemu/osdep.h"
#include "hw/pci/msi.h"
#include "accel/kvm.h"
#include "hw/intc/apic.h"

#define MSI_CAP_SIZE_32     0x0a
#define MSI_CAP_SIZE_64     0x0e
#define MSI_CAP_SIZE_MASK   0x0a   /* mask + pending dwords */
#define MSI_FLAGS_QMASK_SHIFT 1
#define MSI_FLAGS_QSIZE_SHIFT 4

void pci_msi_send_message(PCIMSIMessage msg)
{
    static bool warned;
    uint8_t buf[4];

    bool window = msg.address >= PCI_MSI_ADDR_WINDOW_BASE &&
        msg.address < PCI_MSI_ADDR_WINDOW_BASE + PCI_MSI_ADDR_WINDOW_SIZE;

    if (window && apic_bus_active()) {
        apic_msi_send(msg.address, msg.data);   /* kvmpc's own LAPICs */
        return;
    }
    if (kvm_enabled() && window) {
        int ret = kvm_irqchip_send_msi(msg.address, msg.data);
        if (ret < 0 && !warned) {
            warned = true;
            error_report("KVM_SIGNAL_MSI failed: %s", g_strerror(-ret));
        }
        return;
    }
    stl_le_p(buf, msg.data);
    address_space_write(&address_space_memory, msg.address, buf, sizeof(buf));
}

/* ---- register helpers ---------------------------------------------- */

static uint16_t msi_flags(const PCIDevice *d)
{
    return pci_get_word(d->config + d->msi_cap + PCI_MSI_FLAGS);
}

static bool msi_is_64bit(const PCIDevice *d)
{
    return msi_flags(d) & PCI_MSI_FLAGS_64BIT;
}

static bool msi_has_mask(const PCIDevice *d)
{
    return msi_flags(d) & PCI_MSI_FLAGS_MASKBIT;
}

static unsigned msi_data_off(const PCIDevice *d)
{
    return d->msi_cap + (msi_is_64bit(d) ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned msi_mask_off(const PCIDevice *d)
{
    return d->msi_cap + (msi_is_64bit(d) ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_off(const PCIDevice *d)
{
    return d->msi_cap +
           (msi_is_64bit(d) ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

static unsigned msi_cap_size(bool msi64bit, bool per_vector_mask)
{
    return (msi64bit ? MSI_CAP_SIZE_64 : MSI_CAP_SIZE_32) +
           (per_vector_mask ? MSI_CAP_SIZE_MASK : 0);
}

bool msi_present(const PCIDevice *d)
{
    return d->msi_cap != 0;
}

bool msi_enabled(const PCIDevice *d)
{
    return msi_present(d) && (msi_flags(d) & PCI_MSI_FLAGS_ENABLE);
}

unsigned msi_nr_vectors_allocated(const PCIDevice *d)
{
    if (!msi_enabled(d)) {
        return 0;
    }
    return 1u << ((msi_flags(d) & PCI_MSI_FLAGS_QSIZE) >> MSI_FLAGS_QSIZE_SHIFT);
}

bool msi_is_masked(const PCIDevice *d, unsigned vector)
{
    if (!msi_has_mask(d)) {
        return false;
    }
    return pci_get_long(d->config + msi_mask_off(d)) & (1u << vector);
}

PCIMSIMessage msi_get_message(const PCIDevice *d, unsigned vector)
{
    unsigned nr = MAX(msi_nr_vectors_allocated(d), 1u);
    PCIMSIMessage msg;

    msg.address = pci_get_long(d->config + d->msi_cap + PCI_MSI_ADDRESS_LO);
    if (msi_is_64bit(d)) {
        msg.address |= (uint64_t)pci_get_long(d->config + d->msi_cap +
                                              PCI_MSI_ADDRESS_HI) << 32;
    }
    msg.data = pci_get_word(d->config + msi_data_off(d));
    /* Multiple messages: the low bits of the data carry the vector. */
    msg.data = (msg.data & ~(nr - 1)) | (vector & (nr - 1));
    return msg;
}

static void msi_set_pending(PCIDevice *d, unsigned vector, bool pending)
{
    uint32_t p = pci_get_long(d->config + msi_pending_off(d));

    p = pending ? p | (1u << vector) : p & ~(1u << vector);
    pci_set_long(d->config + msi_pending_off(d), p);
}

static void msi_deliver(PCIDevice *d, unsigned vector)
{
    if (pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_MASTER) {
        pci_msi_send_message(msi_get_message(d, vector));
    }
}

/* ---- API ------------------------------------------------------------ */

bool msi_init(PCIDevice *d, uint8_t offset, unsigned nr_vectors,
              bool msi64bit, bool per_vector_mask, GError **errp)
{
    unsigned order = 0;
    uint16_t flags;
    uint8_t cap;

    if (d->msi_cap) {
        error_setg(errp, "MSI: the device has an MSI capability already");
        return false;
    }
    if (nr_vectors == 0 || nr_vectors > PCI_MSI_VECTORS_MAX) {
        error_setg(errp, "MSI: %u vectors requested (1-32 supported)",
                   nr_vectors);
        return false;
    }
    while ((1u << order) < nr_vectors) {
        order++;
    }
    cap = pci_add_capability(d, PCI_CAP_ID_MSI, offset,
                             msi_cap_size(msi64bit, per_vector_mask), errp);
    if (!cap) {
        return false;
    }
    d->msi_cap = cap;
    flags = order << MSI_FLAGS_QMASK_SHIFT;
    flags |= msi64bit ? PCI_MSI_FLAGS_64BIT : 0;
    flags |= per_vector_mask ? PCI_MSI_FLAGS_MASKBIT : 0;
    pci_set_word(d->config + cap + PCI_MSI_FLAGS, flags);

    pci_set_word(d->wmask + cap + PCI_MSI_FLAGS,
                 PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    pci_set_long(d->wmask + cap + PCI_MSI_ADDRESS_LO, 0xfffffffc);
    if (msi64bit) {
        pci_set_long(d->wmask + cap + PCI_MSI_ADDRESS_HI, 0xffffffff);
    }
    pci_set_word(d->wmask + msi_data_off(d), 0xffff);
    if (per_vector_mask) {
        uint32_t implemented = order == 5 ? UINT32_MAX : (1u << (1u << order)) - 1;
        pci_set_long(d->wmask + msi_mask_off(d), implemented);
    }
    return true;
}

static void msi_notify_vectors(PCIDevice *d)
{
    unsigned nr = msi_nr_vectors_allocated(d);

    for (unsigned v = 0; d->msi_notifier && v < nr; v++) {
        d->msi_notifier(d, v, msi_get_message(d, v), msi_is_masked(d, v));
    }
}

void msi_write_config(PCIDevice *d, uint32_t addr, uint32_t val,
                      unsigned len)
{
    uint16_t flags;
    unsigned mmc, mme, nr;

    if (!d->msi_cap ||
        addr + len <= d->msi_cap ||
        addr >= d->msi_cap + msi_cap_size(msi_is_64bit(d), msi_has_mask(d))) {
        return;
    }
    /* Multiple Message Enable cannot exceed what the function offers. */
    flags = msi_flags(d);
    mmc = (flags & PCI_MSI_FLAGS_QMASK) >> MSI_FLAGS_QMASK_SHIFT;
    mme = (flags & PCI_MSI_FLAGS_QSIZE) >> MSI_FLAGS_QSIZE_SHIFT;
    if (mme > mmc) {
        flags = (flags & ~PCI_MSI_FLAGS_QSIZE) | (mmc << MSI_FLAGS_QSIZE_SHIFT);
        pci_set_word(d->config + d->msi_cap + PCI_MSI_FLAGS, flags);
    }
    if (!msi_enabled(d)) {
        return;
    }
    /* A function using MSI must not assert INTx (6.8.3.1). */
    pci_device_deassert_intx(d);
    nr = msi_nr_vectors_allocated(d);
    if (msi_has_mask(d)) {
        uint32_t pending = pci_get_long(d->config + msi_pending_off(d));
        pending &= nr == 32 ? UINT32_MAX : (1u << nr) - 1;
        pci_set_long(d->config + msi_pending_off(d), pending);
        for (unsigned v = 0; v < nr; v++) {
            if ((pending & (1u << v)) && !msi_is_masked(d, v)) {
                msi_set_pending(d, v, false);
                msi_deliver(d, v);
            }
        }
    }
    msi_notify_vectors(d);
}

void msi_notify(PCIDevice *d, unsigned vector)
{
    if (!msi_enabled(d) || vector >= msi_nr_vectors_allocated(d)) {
        return;
    }
    if (msi_is_masked(d, vector)) {
        msi_set_pending(d, vector, true);
        return;
    }
    msi_deliver(d, vector);
}

void msi_reset(PCIDevice *d)
{
    uint16_t flags;

    if (!d->msi_cap) {
        return;
    }
    flags = msi_flags(d) & ~(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
    pci_set_word(d->config + d->msi_cap + PCI_MSI_FLAGS, flags);
    pci_set_long(d->config + d->msi_cap + PCI_MSI_ADDRESS_LO, 0);
    if (msi_is_64bit(d)) {
        pci_set_long(d->config + d->msi_cap + PCI_MSI_ADDRESS_HI, 0);
    }
    pci_set_word(d->config + msi_data_off(d), 0);
    if (msi_has_mask(d)) {
        pci_set_long(d->config + msi_mask_off(d), 0);
        pci_set_long(d->config + msi_pending_off(d), 0);
    }
}
