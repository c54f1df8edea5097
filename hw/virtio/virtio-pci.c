/*
 * virtio-pci: the PCI transport (include/hw/virtio/virtio-pci.h for the
 * spec sections and the BAR layout; docs/virtio.md for the threading).
 *
 * Kicks: with KVM each started queue's host notifier is an ioeventfd on
 * its notify address (and on the legacy QUEUE_NOTIFY port with the queue
 * index as datamatch), so a kick never exits to userspace and never takes
 * the big lock; the handler runs on the main loop or in the device's I/O
 * thread.  Without KVM (qtest) the register write calls the same handler
 * (or signals the I/O thread's notifier).
 *
 * Interrupts: with KVM and MSI-X each vector in use gets an MSI route
 * and an irqfd, and a notification is one eventfd write from any thread.
 * Otherwise msix_notify()/INTx run under the big lock; a notification
 * from an I/O thread without an irqfd is handed to the main loop.
 */
#include "qemu/osdep.h"
#include <sys/eventfd.h>
#include "accel/kvm.h"
#include "hw/pci/msi.h"
#include "hw/pci/pci_bridge.h"
#include "hw/virtio/virtio-pci.h"
#include "system/main-loop.h"

#define INTX_DEFERRED_BIT   VIRTIO_PCI_MAX_VECTORS

static VirtQueue *selected_queue(VirtIOPCIProxy *p)
{
    return p->queue_sel < p->vdev->nvqs ? &p->vdev->vq[p->queue_sel] : NULL;
}

static bool msix_in_use(VirtIOPCIProxy *p)
{
    return p->nvectors && msix_enabled(&p->pci);
}

/* ---- interrupts ------------------------------------------------------- */

static void deliver_vector(VirtIOPCIProxy *p, unsigned vector)
{
    if (vector == INTX_DEFERRED_BIT) {
        pci_set_irq(&p->pci, __atomic_load_n(&p->vdev->isr,
                                             __ATOMIC_SEQ_CST) & 3 ? 1 : 0);
    } else if (msix_in_use(p)) {
        msix_notify(&p->pci, vector);
    }
}

static void deferred_notify_bh(void *opaque)
{
    VirtIOPCIProxy *p = opaque;

    __atomic_store_n(&p->deferred_scheduled, 0, __ATOMIC_SEQ_CST);
    for (unsigned w = 0; w < ARRAY_SIZE(p->deferred); w++) {
        uint64_t bits = __atomic_exchange_n(&p->deferred[w], 0,
                                            __ATOMIC_SEQ_CST);
        while (bits) {
            unsigned b = __builtin_ctzll(bits);
            bits &= bits - 1;
            deliver_vector(p, w * 64 + b);
        }
    }
}

/* From a thread without the big lock: coalesce, let the main loop send. */
static void defer_notify(VirtIOPCIProxy *p, unsigned vector)
{
    __atomic_or_fetch(&p->deferred[vector / 64], 1ULL << (vector % 64),
                      __ATOMIC_SEQ_CST);
    if (!__atomic_exchange_n(&p->deferred_scheduled, 1, __ATOMIC_SEQ_CST)) {
        main_loop_call(deferred_notify_bh, p);
    }
}

static void vpci_notify(VirtIODevice *vdev, uint16_t vector)
{
    VirtIOPCIProxy *p = virtio_pci_proxy(vdev);
    uint64_t one = 1;

    if (vector < p->nvectors && p->vector_efd[vector] >= 0) {
        /* irqfd (KVM): lock-free from any thread; while the vector is
         * masked the count waits in the eventfd until it is unmasked. */
        if (write(p->vector_efd[vector], &one, sizeof(one)) < 0) {
            /* counter saturated: an interrupt is pending anyway */
        }
        return;
    }
    if (!msix_in_use(p)) {
        vector = INTX_DEFERRED_BIT;
    } else if (vector >= p->nvectors) {
        return;     /* VIRTIO_NO_VECTOR: the driver wants none */
    }
    if (!bql_locked()) {
        defer_notify(p, vector);
        return;
    }
    deliver_vector(p, vector);
}

/* ---- KVM irqfds on MSI routes ----------------------------------------- */

static bool vector_in_use(VirtIOPCIProxy *p, unsigned v)
{
    VirtIODevice *vdev = p->vdev;

    if (vdev->config_vector == v) {
        return true;
    }
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        if (vdev->vq[i].enabled && vdev->vq[i].vector == v) {
            return true;
        }
    }
    return false;
}

static void irqfd_release(VirtIOPCIProxy *p, unsigned v)
{
    if (p->vector_irqfd[v]) {
        kvm_irqfd_deassign(p->vector_efd[v], p->vector_virq[v], NULL);
        p->vector_irqfd[v] = false;
    }
    if (p->vector_efd[v] >= 0) {
        close(p->vector_efd[v]);
        p->vector_efd[v] = -1;
    }
    if (p->vector_virq[v] >= 0) {
        kvm_irqchip_release_virq(p->vector_virq[v]);
        p->vector_virq[v] = -1;
    }
}

/* Keep vector @v's route, eventfd and irqfd as its use and mask say. */
static void irqfd_update(VirtIOPCIProxy *p, unsigned v)
{
    PCIMSIMessage msg;
    GError *err = NULL;
    bool want = kvm_irqfds_enabled() && msix_in_use(p) && vector_in_use(p, v) &&
                (p->vdev->status & VIRTIO_CONFIG_S_DRIVER_OK);

    if (!want) {
        irqfd_release(p, v);
        return;
    }
    msg = msix_get_message(&p->pci, v);
    if (p->vector_virq[v] < 0) {
        p->vector_virq[v] = kvm_irqchip_add_msi_route(msg.address, msg.data,
                                                      &err);
    } else {
        kvm_irqchip_update_msi_route(p->vector_virq[v], msg.address,
                                     msg.data, &err);
    }
    if (p->vector_virq[v] < 0 || !kvm_irqchip_commit_routes(&err)) {
        error_report_err(err);
        irqfd_release(p, v);
        return;
    }
    if (p->vector_efd[v] < 0) {
        p->vector_efd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (p->vector_efd[v] < 0) {
            irqfd_release(p, v);
            return;
        }
    }
    if (msix_is_masked(&p->pci, v)) {
        if (p->vector_irqfd[v]) {
            kvm_irqfd_deassign(p->vector_efd[v], p->vector_virq[v], NULL);
            p->vector_irqfd[v] = false;
        }
    } else if (!p->vector_irqfd[v]) {
        /* KVM injects at once if the eventfd was signalled meanwhile. */
        if (kvm_irqfd_assign(p->vector_efd[v], p->vector_virq[v], -1,
                             &err)) {
            p->vector_irqfd[v] = true;
        } else {
            error_report_err(err);
            irqfd_release(p, v);
        }
    }
}

static void irqfds_update_all(VirtIOPCIProxy *p)
{
    for (unsigned v = 0; v < p->nvectors; v++) {
        irqfd_update(p, v);
    }
}

static void vpci_msi_notifier(PCIDevice *dev, unsigned vector,
                              PCIMSIMessage msg, bool masked)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)dev;

    if (vector < p->nvectors && kvm_irqfds_enabled()) {
        irqfd_update(p, vector);
    }
}

/* ---- host notifiers and KVM ioeventfds -------------------------------- */

static bool want_host_notifier(VirtIOPCIProxy *p, VirtQueue *vq)
{
    VirtIODevice *vdev = p->vdev;

    return vq->handle_output && vq->enabled && !vdev->broken &&
           (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
           ((kvm_enabled() && p->ioeventfd) || vdev->iothread);
}

static void ioeventfd_set(VirtIOPCIProxy *p, VirtQueue *vq, bool assign)
{
    unsigned n = vq->index;
    uint64_t mmio = 0;
    uint16_t pio = 0;
    uint64_t bar;

    if (assign && kvm_enabled() && p->ioeventfd) {
        bar = pci_get_bar_addr(&p->pci, VIRTIO_PCI_MODERN_BAR);
        if (p->modern_enabled && bar != PCI_BAR_UNMAPPED) {
            mmio = bar + VIRTIO_PCI_NOTIFY_OFF + n * VIRTIO_PCI_NOTIFY_MULT;
        }
        bar = pci_get_bar_addr(&p->pci, VIRTIO_PCI_LEGACY_BAR);
        if (p->legacy_enabled && bar != PCI_BAR_UNMAPPED) {
            pio = bar + VIRTIO_PCI_QUEUE_NOTIFY;
        }
    }
    if (p->ioeventfd_mmio[n] != mmio) {
        if (p->ioeventfd_mmio[n]) {
            kvm_set_ioeventfd_mmio(vq->host_notifier_fd, p->ioeventfd_mmio[n],
                                   0, false, 0, false, NULL);
        }
        p->ioeventfd_mmio[n] = 0;
        if (mmio && kvm_set_ioeventfd_mmio(vq->host_notifier_fd, mmio, 0,
                                           false, 0, true, NULL)) {
            p->ioeventfd_mmio[n] = mmio;
        }
    }
    if (p->ioeventfd_pio[n] != pio) {
        if (p->ioeventfd_pio[n]) {
            kvm_set_ioeventfd_pio(vq->host_notifier_fd, p->ioeventfd_pio[n],
                                  2, true, n, false, NULL);
        }
        p->ioeventfd_pio[n] = 0;
        if (pio && kvm_set_ioeventfd_pio(vq->host_notifier_fd, pio, 2, true,
                                         n, true, NULL)) {
            p->ioeventfd_pio[n] = pio;
        }
    }
}

static void host_notifier_update(VirtIOPCIProxy *p, VirtQueue *vq)
{
    GError *err = NULL;

    if (!want_host_notifier(p, vq)) {
        if (vq->host_notifier_fd >= 0) {
            ioeventfd_set(p, vq, false);
            virtio_queue_host_notifier_stop(vq);
        }
        return;
    }
    if (vq->host_notifier_fd < 0 &&
        !virtio_queue_host_notifier_start(vq, &err)) {
        error_report_err(err);      /* the register path still works */
        return;
    }
    ioeventfd_set(p, vq, true);
}

/* After anything that changes status, queues or BAR addresses. */
static void notifiers_update(VirtIOPCIProxy *p)
{
    for (unsigned i = 0; i < p->vdev->nvqs; i++) {
        host_notifier_update(p, &p->vdev->vq[i]);
    }
    irqfds_update_all(p);
}

static void notifiers_stop_all(VirtIOPCIProxy *p)
{
    for (unsigned i = 0; i < p->vdev->nvqs; i++) {
        VirtQueue *vq = &p->vdev->vq[i];
        if (vq->host_notifier_fd >= 0) {
            ioeventfd_set(p, vq, false);
            virtio_queue_host_notifier_stop(vq);
        }
    }
    for (unsigned v = 0; v < p->nvectors; v++) {
        irqfd_release(p, v);
    }
}

/* ---- transport hooks for the core ------------------------------------- */

static void vpci_core_reset(VirtIODevice *vdev)
{
    VirtIOPCIProxy *p = virtio_pci_proxy(vdev);

    pci_device_deassert_intx(&p->pci);
}

static const VirtioTransportOps vpci_transport_ops = {
    .notify = vpci_notify,
    .reset = vpci_core_reset,
};

/* Device reset from the driver (status 0) or the machine. */
static void vpci_reset_device(VirtIOPCIProxy *p)
{
    notifiers_stop_all(p);
    virtio_reset(p->vdev);
    p->vdev->legacy = !p->modern_enabled;
    p->dfselect = p->gfselect = 0;
    p->guest_features[0] = p->guest_features[1] = 0;
    p->queue_sel = 0;
}

static void vpci_set_status(VirtIOPCIProxy *p, uint8_t val)
{
    VirtIODevice *vdev = p->vdev;

    if (val == 0) {
        vpci_reset_device(p);
        return;
    }
    if (!vdev->legacy && (val & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        uint64_t f = p->guest_features[0] |
                     ((uint64_t)p->guest_features[1] << 32);
        if (!virtio_set_features(vdev, f)) {
            /* 3.1.1: the driver re-reads status and sees no FEATURES_OK. */
            val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
        }
    }
    if (!vdev->legacy && (val & VIRTIO_CONFIG_S_DRIVER_OK) &&
        !(val & VIRTIO_CONFIG_S_FEATURES_OK)) {
        val &= ~VIRTIO_CONFIG_S_DRIVER_OK;  /* no DRIVER_OK without it */
    }
    virtio_set_status(vdev, val);
    notifiers_update(p);
}

/* ---- modern: common configuration ------------------------------------- */

static uint64_t common_read(void *opaque, uint64_t addr, unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    VirtIODevice *vdev = p->vdev;
    VirtQueue *vq = selected_queue(p);

    switch (addr) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return p->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return p->dfselect < 2 ? vdev->host_features >> (32 * p->dfselect)
                               : 0;
    case VIRTIO_PCI_COMMON_GFSELECT:
        return p->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return p->gfselect < 2 ? p->guest_features[p->gfselect] : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return vdev->config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:
        return vdev->nvqs;
    case VIRTIO_PCI_COMMON_STATUS:
        return vdev->status;
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return vdev->generation;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return p->queue_sel;
    }
    if (!vq) {
        /* 4.1.4.3.2: a queue that does not exist reads size 0. */
        return addr == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_NO_VECTOR : 0;
    }
    switch (addr) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return vq->num;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return vq->vector;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return vq->enabled;
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return vq->index;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
        return (uint32_t)vq->desc;
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        return vq->desc >> 32;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
        return (uint32_t)vq->avail;
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        return vq->avail >> 32;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
        return (uint32_t)vq->used;
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        return vq->used >> 32;
    case VIRTIO_PCI_COMMON_Q_NDATA:
        return vq->index;
    case VIRTIO_PCI_COMMON_Q_RESET:
        return virtio_vdev_has_feature(vdev, VIRTIO_F_RING_RESET) &&
               vq->reset_pending;
    }
    return 0;
}

/* A vector the device cannot map reads back as NO_VECTOR (4.1.5.1.2). */
static uint16_t valid_vector(VirtIOPCIProxy *p, uint16_t v)
{
    return v < p->nvectors ? v : VIRTIO_NO_VECTOR;
}

static void set_addr_half(uint64_t *field, bool high, uint32_t val)
{
    if (high) {
        *field = (*field & 0xffffffffULL) | ((uint64_t)val << 32);
    } else {
        *field = (*field & ~0xffffffffULL) | val;
    }
}

static void queue_enable(VirtIOPCIProxy *p, VirtQueue *vq)
{
    /* 4.1.4.3.2: only 1 may be written, with the queue configured. */
    if (!vq->num || vq->enabled) {
        return;
    }
    vq->enabled = true;
    vq->reset_pending = false;
    notifiers_update(p);
}

static void queue_reset(VirtIOPCIProxy *p, VirtQueue *vq)
{
    if (!virtio_vdev_has_feature(p->vdev, VIRTIO_F_RING_RESET)) {
        return;
    }
    if (vq->host_notifier_fd >= 0) {
        ioeventfd_set(p, vq, false);
        virtio_queue_host_notifier_stop(vq);
    }
    virtio_queue_reset(p->vdev, vq->index);
    vq->reset_pending = true;
    irqfds_update_all(p);
}

static void common_write_queue(VirtIOPCIProxy *p, VirtQueue *vq,
                               uint64_t addr, uint32_t val)
{
    bool locked = vq->enabled;  /* 4.1.4.3.2: configure before enabling */

    switch (addr) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (!locked && val && val <= vq->num_max) {
            vq->num = val;
        }
        break;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        vq->vector = valid_vector(p, val);
        irqfds_update_all(p);
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (val == 1) {
            queue_enable(p, vq);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        if (!locked) {
            set_addr_half(&vq->desc, addr == VIRTIO_PCI_COMMON_Q_DESCHI, val);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        if (!locked) {
            set_addr_half(&vq->avail, addr == VIRTIO_PCI_COMMON_Q_AVAILHI,
                          val);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        if (!locked) {
            set_addr_half(&vq->used, addr == VIRTIO_PCI_COMMON_Q_USEDHI, val);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_RESET:
        if (val == 1) {
            queue_reset(p, vq);
        }
        break;
    }
}

static void common_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    VirtIODevice *vdev = p->vdev;
    VirtQueue *vq;

    vdev->legacy = false;
    switch (addr) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        p->dfselect = val;
        return;
    case VIRTIO_PCI_COMMON_GFSELECT:
        p->gfselect = val;
        return;
    case VIRTIO_PCI_COMMON_GF:
        if (p->gfselect < 2 &&
            !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
            p->guest_features[p->gfselect] = val;
        }
        return;
    case VIRTIO_PCI_COMMON_MSIX:
        vdev->config_vector = valid_vector(p, val);
        irqfds_update_all(p);
        return;
    case VIRTIO_PCI_COMMON_STATUS:
        vpci_set_status(p, val);
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        p->queue_sel = val;
        return;
    }
    vq = selected_queue(p);
    if (vq) {
        common_write_queue(p, vq, addr, val);
    }
}

static const MemoryRegionOps common_ops = {
    .read = common_read,
    .write = common_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- modern: ISR, device configuration, notifications ---------------- */

static uint8_t isr_read_and_clear(VirtIOPCIProxy *p)
{
    uint8_t isr = __atomic_exchange_n(&p->vdev->isr, 0, __ATOMIC_SEQ_CST);

    pci_set_irq(&p->pci, 0);    /* 4.1.4.5: reading ISR de-asserts INTx */
    return isr;
}

static uint64_t isr_read(void *opaque, uint64_t addr, unsigned size)
{
    return addr == 0 ? isr_read_and_clear(opaque) : 0;
}

static void ignore_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
}

static const MemoryRegionOps isr_ops = {
    .read = isr_read,
    .write = ignore_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static uint64_t device_cfg_read(void *opaque, uint64_t addr, unsigned size)
{
    VirtIOPCIProxy *p = opaque;

    return virtio_config_read(p->vdev, addr, size);
}

static void device_cfg_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    VirtIOPCIProxy *p = opaque;

    virtio_config_write(p->vdev, addr, val, size);
}

static const MemoryRegionOps device_cfg_ops = {
    .read = device_cfg_read,
    .write = device_cfg_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static uint64_t zero_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void notify_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    VirtIOPCIProxy *p = opaque;

    /* queue_notify_off is the queue index, the multiplier 4 (4.1.4.4) */
    if (p->vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) {
        virtio_queue_kick(p->vdev, addr / VIRTIO_PCI_NOTIFY_MULT);
    }
}

static const MemoryRegionOps notify_ops = {
    .read = zero_read,
    .write = notify_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* Access to the modern BAR through the PCI cfg access capability. */
static bool modern_bar_access(VirtIOPCIProxy *p, uint32_t off, uint32_t *val,
                              unsigned len, bool write)
{
    static const struct {
        uint32_t base;
        const MemoryRegionOps *ops;
    } regions[] = {
        { VIRTIO_PCI_COMMON_OFF, &common_ops },
        { VIRTIO_PCI_ISR_OFF, &isr_ops },
        { VIRTIO_PCI_DEVICE_OFF, &device_cfg_ops },
        { VIRTIO_PCI_NOTIFY_OFF, &notify_ops },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(regions); i++) {
        uint32_t base = regions[i].base;
        if (off >= base && off + len <= base + VIRTIO_PCI_REGION_SIZE) {
            if (write) {
                regions[i].ops->write(p, off - base, *val, len);
            } else {
                *val = regions[i].ops->read(p, off - base, len);
            }
            return true;
        }
    }
    return false;
}

/* ---- legacy I/O BAR0 -------------------------------------------------- */

static unsigned legacy_config_off(VirtIOPCIProxy *p)
{
    return VIRTIO_PCI_CONFIG_OFF(msix_in_use(p));
}

static uint64_t legacy_read(void *opaque, uint64_t addr, unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    VirtIODevice *vdev = p->vdev;
    VirtQueue *vq = selected_queue(p);
    unsigned cfg = legacy_config_off(p);

    if (addr >= cfg) {
        return virtio_config_read(vdev, addr - cfg, size);
    }
    switch (addr) {
    case VIRTIO_PCI_HOST_FEATURES:
        return (uint32_t)vdev->host_features;
    case VIRTIO_PCI_GUEST_FEATURES:
        return (uint32_t)vdev->guest_features;
    case VIRTIO_PCI_QUEUE_PFN:
        return vq && vq->enabled ? vq->desc >> 12 : 0;
    case VIRTIO_PCI_QUEUE_NUM:
        return vq ? vq->num_max : 0;
    case VIRTIO_PCI_QUEUE_SEL:
        return p->queue_sel;
    case VIRTIO_PCI_STATUS:
        return vdev->status;
    case VIRTIO_PCI_ISR:
        return isr_read_and_clear(p);
    case VIRTIO_MSI_CONFIG_VECTOR:
        return vdev->config_vector;
    case VIRTIO_MSI_QUEUE_VECTOR:
        return vq ? vq->vector : VIRTIO_NO_VECTOR;
    }
    return 0;
}

static void legacy_set_pfn(VirtIOPCIProxy *p, VirtQueue *vq, uint32_t pfn)
{
    if (vq->host_notifier_fd >= 0) {
        ioeventfd_set(p, vq, false);
        virtio_queue_host_notifier_stop(vq);
    }
    if (pfn == 0) {
        virtio_queue_reset(p->vdev, vq->index);
    } else {
        virtio_queue_set_legacy_pfn(vq, pfn);
    }
    notifiers_update(p);
}

static void legacy_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    VirtIODevice *vdev = p->vdev;
    VirtQueue *vq = selected_queue(p);
    unsigned cfg = legacy_config_off(p);

    if (addr >= cfg) {
        virtio_config_write(vdev, addr - cfg, val, size);
        return;
    }
    switch (addr) {
    case VIRTIO_PCI_GUEST_FEATURES:
        vdev->legacy = true;
        if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
            virtio_set_features(vdev, (uint32_t)val);
        }
        break;
    case VIRTIO_PCI_QUEUE_PFN:
        if (vq) {
            vdev->legacy = true;
            legacy_set_pfn(p, vq, val);
        }
        break;
    case VIRTIO_PCI_QUEUE_SEL:
        p->queue_sel = val;
        break;
    case VIRTIO_PCI_QUEUE_NOTIFY:
        if (val < vdev->nvqs) {
            virtio_queue_kick(vdev, val);
        }
        break;
    case VIRTIO_PCI_STATUS:
        vdev->legacy = true;
        vpci_set_status(p, val & 0xff);
        break;
    case VIRTIO_MSI_CONFIG_VECTOR:
        vdev->config_vector = valid_vector(p, val);
        irqfds_update_all(p);
        break;
    case VIRTIO_MSI_QUEUE_VECTOR:
        if (vq) {
            vq->vector = valid_vector(p, val);
            irqfds_update_all(p);
        }
        break;
    }
}

static const MemoryRegionOps legacy_ops = {
    .read = legacy_read,
    .write = legacy_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- PCI configuration space ------------------------------------------ */

static bool in_cfg_data(VirtIOPCIProxy *p, uint32_t addr, unsigned len)
{
    uint32_t data = p->pci_cfg_cap + VIRTIO_PCI_CFG_CAP_DATA;

    return p->pci_cfg_cap && addr < data + 4 && addr + len > data;
}

/*
 * The PCI cfg access capability (4.1.4.9): bar, offset and length pick
 * a window of the modern BAR; pci_cfg_data reads and writes it.
 */
static bool cfg_cap_window(VirtIOPCIProxy *p, uint32_t *off, unsigned *len)
{
    uint8_t *cap = p->pci.config + p->pci_cfg_cap;

    *off = pci_get_long(cap + VIRTIO_PCI_CAP_OFFSET);
    *len = pci_get_long(cap + VIRTIO_PCI_CAP_LENGTH);
    return cap[VIRTIO_PCI_CAP_BAR] == VIRTIO_PCI_MODERN_BAR &&
           (*len == 1 || *len == 2 || *len == 4) && !(*off % *len) &&
           *off < VIRTIO_PCI_MODERN_BAR_SIZE;
}

static uint32_t vpci_config_read(PCIDevice *d, uint32_t addr, unsigned len)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)d;
    uint32_t off, val = 0;
    unsigned wlen;

    if (in_cfg_data(p, addr, len) && cfg_cap_window(p, &off, &wlen) &&
        modern_bar_access(p, off, &val, wlen, false)) {
        pci_set_long(d->config + p->pci_cfg_cap + VIRTIO_PCI_CFG_CAP_DATA,
                     val);
    }
    return pci_default_read_config(d, addr, len);
}

static void vpci_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                              unsigned len)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)d;
    uint32_t off, data;
    unsigned wlen;

    pci_default_write_config(d, addr, val, len);
    if (p->express) {
        pcie_cap_flr_write_config(d, addr, len);
    }
    if (in_cfg_data(p, addr, len) && cfg_cap_window(p, &off, &wlen)) {
        data = pci_get_long(d->config + p->pci_cfg_cap +
                            VIRTIO_PCI_CFG_CAP_DATA);
        modern_bar_access(p, off, &data, wlen, true);
    }
    /* A BAR or the command register may have moved the notify address. */
    if (addr < PCI_CONFIG_HEADER_SIZE && p->vdev) {
        notifiers_update(p);
    }
}

/* ---- realize ---------------------------------------------------------- */

static uint8_t add_vendor_cap(VirtIOPCIProxy *p, uint8_t cfg_type,
                              uint32_t offset, uint32_t length, uint8_t size,
                              GError **errp)
{
    uint8_t cap = pci_add_capability(&p->pci, PCI_CAP_ID_VNDR, 0, size, errp);
    uint8_t *c;

    if (!cap) {
        return 0;
    }
    c = p->pci.config + cap;
    c[VIRTIO_PCI_CAP_LEN] = size;
    c[VIRTIO_PCI_CAP_CFG_TYPE] = cfg_type;
    c[VIRTIO_PCI_CAP_BAR] = VIRTIO_PCI_MODERN_BAR;
    pci_set_long(c + VIRTIO_PCI_CAP_OFFSET, offset);
    pci_set_long(c + VIRTIO_PCI_CAP_LENGTH, length);
    return cap;
}

static bool add_modern_caps(VirtIOPCIProxy *p, GError **errp)
{
    uint8_t cap;

    if (!add_vendor_cap(p, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
                        VIRTIO_PCI_REGION_SIZE, VIRTIO_PCI_CAP_SIZE, errp) ||
        !add_vendor_cap(p, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF,
                        VIRTIO_PCI_REGION_SIZE, VIRTIO_PCI_CAP_SIZE, errp) ||
        !add_vendor_cap(p, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
                        VIRTIO_PCI_REGION_SIZE, VIRTIO_PCI_CAP_SIZE, errp)) {
        return false;
    }
    cap = add_vendor_cap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                         VIRTIO_PCI_REGION_SIZE, VIRTIO_PCI_CAP_SIZE + 4,
                         errp);
    if (!cap) {
        return false;
    }
    pci_set_long(p->pci.config + cap + VIRTIO_PCI_NOTIFY_CAP_MULT,
                 VIRTIO_PCI_NOTIFY_MULT);
    cap = add_vendor_cap(p, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
                         VIRTIO_PCI_CAP_SIZE + 4, errp);
    if (!cap) {
        return false;
    }
    /* bar, offset, length and the data window are the driver's to write;
     * bar starts at 0, as QEMU's */
    p->pci.config[cap + VIRTIO_PCI_CAP_BAR] = 0;
    p->pci.wmask[cap + VIRTIO_PCI_CAP_BAR] = 0xff;
    memset(p->pci.wmask + cap + VIRTIO_PCI_CAP_OFFSET, 0xff, 8);
    memset(p->pci.wmask + cap + VIRTIO_PCI_CFG_CAP_DATA, 0xff, 4);
    p->pci_cfg_cap = cap;
    return true;
}

static void init_modern_bar(VirtIOPCIProxy *p)
{
    memory_region_init_container(&p->modern_bar, "virtio-pci",
                                 VIRTIO_PCI_MODERN_BAR_SIZE);
    memory_region_init_io(&p->common, &common_ops, p, "virtio-pci-common",
                          VIRTIO_PCI_REGION_SIZE);
    memory_region_init_io(&p->isr, &isr_ops, p, "virtio-pci-isr",
                          VIRTIO_PCI_REGION_SIZE);
    memory_region_init_io(&p->device, &device_cfg_ops, p,
                          "virtio-pci-device", VIRTIO_PCI_REGION_SIZE);
    memory_region_init_io(&p->notify, &notify_ops, p, "virtio-pci-notify",
                          VIRTIO_PCI_REGION_SIZE);
    memory_region_add_subregion(&p->modern_bar, VIRTIO_PCI_COMMON_OFF,
                                &p->common);
    memory_region_add_subregion(&p->modern_bar, VIRTIO_PCI_ISR_OFF, &p->isr);
    memory_region_add_subregion(&p->modern_bar, VIRTIO_PCI_DEVICE_OFF,
                                &p->device);
    memory_region_add_subregion(&p->modern_bar, VIRTIO_PCI_NOTIFY_OFF,
                                &p->notify);
    pci_register_bar(&p->pci, VIRTIO_PCI_MODERN_BAR,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &p->modern_bar);
}

static void init_legacy_bar(VirtIOPCIProxy *p)
{
    uint64_t size = VIRTIO_PCI_CONFIG_OFF(p->nvectors > 0) +
                    p->vdev->config_len;

    size = size <= 4 ? 4 : 1ULL << g_bit_storage(size - 1);
    memory_region_init_io(&p->legacy_io, &legacy_ops, p, "virtio-pci-legacy",
                          size);
    pci_register_bar(&p->pci, VIRTIO_PCI_LEGACY_BAR,
                     PCI_BASE_ADDRESS_SPACE_IO, &p->legacy_io);
}

/*
 * A PCI Express port's link or a switch's internal bus: there QEMU 7.2
 * makes the device a PCI Express endpoint, modern only by default (a
 * legacy I/O BAR would take the port's scarce I/O window).  pcie.0 is the
 * root complex's own bus: integrated functions stay conventional there.
 */
static bool on_pcie_port(VirtIOPCIProxy *p)
{
    PCIEBusKind kind = pcie_bus_kind(pci_get_bus(&p->pci));

    return kind == PCIE_BUS_LINK || kind == PCIE_BUS_SWITCH;
}

static bool parse_modes(VirtIOPCIProxy *p, GError **errp)
{
    const char *dl = p->disable_legacy ? p->disable_legacy : "auto";
    bool disable_legacy;

    if (p->vpc->modern_only) {
        if (p->disable_modern) {
            error_setg(errp, "device is modern-only, use disable-legacy=on");
            return false;
        }
        disable_legacy = true;
    } else if (!strcmp(dl, "auto")) {
        disable_legacy = on_pcie_port(p);
    } else if (!parse_bool(dl, &disable_legacy, NULL)) {
        error_setg(errp, "Parameter 'disable-legacy' does not accept value "
                   "'%s'", dl);
        return false;
    }
    p->legacy_enabled = !disable_legacy;
    p->modern_enabled = !p->disable_modern;
    if (!p->legacy_enabled && !p->modern_enabled) {
        /* QEMU's words (behind a PCI Express port disable-legacy=auto
         * means on, so disable-modern=on alone comes here too). */
        error_setg(errp, "device cannot work as neither modern nor legacy "
                   "mode is enabled");
        return false;
    }
    if (p->iommu_platform) {
        error_setg(errp, "iommu_platform=true is not supported by the "
                   "device (kvmpc has no vIOMMU)");
        return false;
    }
    if (p->nvectors > VIRTIO_PCI_MAX_VECTORS &&
        p->nvectors != VIRTIO_PCI_NVECTORS_UNSPECIFIED) {
        error_setg(errp, "vectors: at most %u", VIRTIO_PCI_MAX_VECTORS);
        return false;
    }
    return true;
}

static uint64_t transport_features(VirtIOPCIProxy *p)
{
    uint64_t f = 0;

    if (p->indirect_desc) {
        f |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    }
    if (p->event_idx) {
        f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    }
    if (p->legacy_enabled) {
        f |= 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY | 1ULL << VIRTIO_F_ANY_LAYOUT;
    }
    if (p->modern_enabled) {
        f |= 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_RING_RESET;
        if (p->packed) {
            f |= 1ULL << VIRTIO_F_RING_PACKED;
        }
    }
    return f;
}

/* PCI identity (4.1.2): transitional IDs with subsystem = device ID,
 * modern-only 0x1040 + ID with revision 1. */
static void set_pci_ids(VirtIOPCIProxy *p)
{
    uint8_t *c = p->pci.config;
    const VirtioDeviceClass *vdc = p->vpc->vdc;
    uint16_t class_id = p->class_code ? p->class_code : vdc->pci_class_id;

    pci_set_word(c + PCI_VENDOR_ID, PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
    if (p->legacy_enabled) {
        pci_set_identity(&p->pci, vdc->legacy_pci_device_id, 0, class_id);
        pci_set_word(c + PCI_SUBSYSTEM_VENDOR_ID,
                     PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
        pci_set_word(c + PCI_SUBSYSTEM_ID, vdc->device_id);
    } else {
        pci_set_identity(&p->pci, 0x1040 + vdc->device_id, 1, class_id);
    }
}

/*
 * Behind a PCI Express port, with the modern interface (QEMU 7.2's
 * virtio_pci_realize): the endpoint's PCI Express capability, then a
 * Power Management capability (PCI PM 1.2: PMC version 3, no D1/D2, no
 * PME) whose power state field the driver may write (x-pcie-pm-init).
 * They come first, so they sit at 0x40 and 0x7c as QEMU places them:
 * inside the 256 bytes every PCI function migrates.
 */
static bool add_pcie_caps(VirtIOPCIProxy *p, GError **errp)
{
    uint8_t pm;

    if (!pcie_endpoint_cap_init(&p->pci, 0, errp)) {
        return false;
    }
    pm = pci_add_capability(&p->pci, PCI_CAP_ID_PM, 0, PCI_PM_SIZEOF, errp);
    if (!pm) {
        return false;
    }
    pci_set_word(p->pci.config + pm + PCI_PM_PMC, PCI_PM_CAP_VER_1_2);
    pci_set_word(p->pci.wmask + pm + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
    p->pm_cap = pm;
    p->express = true;
    return true;
}

static bool vpci_realize(DeviceState *dev, GError **errp)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)dev;
    const VirtioPCIClass *vpc = (const VirtioPCIClass *)p->pci.pc;
    IOThread *iothread = NULL;

    p->vpc = vpc;
    p->vdev = (VirtIODevice *)((uint8_t *)p + vpc->vdev_offset);
    for (unsigned v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++) {
        p->vector_virq[v] = p->vector_efd[v] = -1;
    }
    if (!parse_modes(p, errp)) {
        return false;
    }
    if (p->iothread_id) {
        iothread = iothread_find(p->iothread_id);
        if (!iothread) {
            error_setg(errp, "Invalid parameter 'iothread': no I/O thread "
                       "'%s'", p->iothread_id);
            return false;
        }
    }
    virtio_init(p->vdev, dev, vpc->vdc, dev->type->name, &vpci_transport_ops,
                transport_features(p));
    p->vdev->iothread = iothread;
    p->vdev->legacy = !p->modern_enabled;
    if (vpc->realize && !vpc->realize(p->vdev, errp)) {
        virtio_cleanup(p->vdev);
        return false;
    }
    if (p->nvectors == VIRTIO_PCI_NVECTORS_UNSPECIFIED) {
        p->nvectors = 2;    /* a device that did not choose */
    }
    if (p->nvectors > VIRTIO_PCI_MAX_VECTORS) {
        error_setg(errp, "vectors: at most %u", VIRTIO_PCI_MAX_VECTORS);
        goto fail;
    }
    if (p->modern_enabled && on_pcie_port(p) && !add_pcie_caps(p, errp)) {
        goto fail;
    }
    set_pci_ids(p);
    p->pci.config[PCI_INTERRUPT_PIN] = 1;
    if (p->legacy_enabled) {
        init_legacy_bar(p);
    }
    /* The vendor capabilities before MSI-X's, as QEMU adds them: MSI-X
     * heads the list, the PCI cfg access capability follows it. */
    if (p->modern_enabled) {
        init_modern_bar(p);
        if (!add_modern_caps(p, errp)) {
            goto fail;
        }
    }
    if (p->nvectors &&
        !msix_init_exclusive_bar(&p->pci, p->nvectors, VIRTIO_PCI_MSIX_BAR,
                                 errp)) {
        goto fail;
    }
    p->pci.msi_notifier = vpci_msi_notifier;
    return true;
fail:
    msix_uninit(&p->pci);
    if (p->legacy_enabled) {
        memory_region_destroy(&p->legacy_io);
    }
    if (p->modern_enabled && p->modern_bar.name) {
        memory_region_destroy(&p->common);
        memory_region_destroy(&p->isr);
        memory_region_destroy(&p->device);
        memory_region_destroy(&p->notify);
        memory_region_destroy(&p->modern_bar);
    }
    if (vpc->unrealize) {
        vpc->unrealize(p->vdev);
    }
    virtio_cleanup(p->vdev);
    return false;
}

static void vpci_unrealize(DeviceState *dev)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)dev;

    notifiers_stop_all(p);
    p->pci.msi_notifier = NULL;
    msix_uninit(&p->pci);
    memory_region_transaction_begin();
    if (p->legacy_enabled) {
        memory_region_destroy(&p->legacy_io);
    }
    if (p->modern_enabled) {
        memory_region_destroy(&p->common);
        memory_region_destroy(&p->isr);
        memory_region_destroy(&p->device);
        memory_region_destroy(&p->notify);
        memory_region_destroy(&p->modern_bar);
    }
    memory_region_transaction_commit();
    if (p->vpc->unrealize) {
        p->vpc->unrealize(p->vdev);
    }
    virtio_cleanup(p->vdev);
}

/* A machine reset or an FLR; also what QEMU's bus reset clears in the
 * PCI Express and PM capabilities (back to D0). */
static void vpci_reset(DeviceState *dev)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)dev;

    vpci_reset_device(p);
    if (p->express) {
        pcie_endpoint_cap_reset(&p->pci);
        pci_set_word(p->pci.config + p->pm_cap + PCI_PM_CTRL, 0);
    }
}

void virtio_pci_post_load(VirtIOPCIProxy *p)
{
    notifiers_stop_all(p);
    notifiers_update(p);
}

static const VMStateDescription vmstate_virtio_pci = {
    .name = "virtio-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(dfselect, VirtIOPCIProxy),
        VMSTATE_UINT32(gfselect, VirtIOPCIProxy),
        VMSTATE_UINT32_ARRAY(guest_features, VirtIOPCIProxy, 2),
        VMSTATE_UINT16(queue_sel, VirtIOPCIProxy),
        VMSTATE_END_OF_LIST()
    },
};

static const Property vpci_props[] = {
    DEFINE_PROP("disable-legacy", VirtIOPCIProxy, disable_legacy, PROP_STRING,
                "auto", "on/off/auto: auto turns the legacy interface off "
                "behind a PCI Express root port or switch (a modern PCI "
                "Express endpoint there), keeps it elsewhere (a "
                "transitional device)"),
    DEFINE_PROP("disable-modern", VirtIOPCIProxy, disable_modern, PROP_BOOL,
                "off", "on: legacy interface only"),
    DEFINE_PROP("ioeventfd", VirtIOPCIProxy, ioeventfd, PROP_BOOL, "on",
                "KVM: kicks through ioeventfds (no exit to userspace)"),
    DEFINE_PROP("iommu_platform", VirtIOPCIProxy, iommu_platform, PROP_BOOL,
                "off", "VIRTIO_F_ACCESS_PLATFORM (refused: no vIOMMU)"),
    DEFINE_PROP("packed", VirtIOPCIProxy, packed, PROP_BOOL, "off",
                "offer packed virtqueues (VIRTIO_F_RING_PACKED)"),
    DEFINE_PROP("event_idx", VirtIOPCIProxy, event_idx, PROP_BOOL, "on",
                "offer VIRTIO_RING_F_EVENT_IDX"),
    DEFINE_PROP("indirect_desc", VirtIOPCIProxy, indirect_desc, PROP_BOOL,
                "on", "offer VIRTIO_RING_F_INDIRECT_DESC"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_pci_type = {
    .name = TYPE_VIRTIO_PCI,
    .parent = TYPE_PCI_DEVICE,
    .desc = "virtio PCI transport",
    .instance_size = sizeof(VirtIOPCIProxy),
    .abstract = true,
    .props = vpci_props,
    .realize = vpci_realize,
    .unrealize = vpci_unrealize,
    .reset = vpci_reset,
    .vmsd = &vmstate_virtio_pci,
};

static void virtio_pci_register(void)
{
    device_type_register(&virtio_pci_type);
}
type_init(virtio_pci_register)

uint32_t virtio_pci_config_read(PCIDevice *d, uint32_t addr, unsigned len)
{
    return vpci_config_read(d, addr, len);
}

void virtio_pci_config_write(PCIDevice *d, uint32_t addr, uint32_t val,
                             unsigned len)
{
    vpci_config_write(d, addr, val, len);
}
