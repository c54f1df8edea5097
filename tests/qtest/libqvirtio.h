/*
 * A small virtio driver for qtests: finds a virtio-pci function, maps its
 * BARs, initialises it through the modern (virtio 1.x capabilities) or the
 * legacy (I/O BAR0) interface, sets up split or packed rings in guest
 * memory, adds buffer chains, kicks and waits for used buffers.  Every
 * access is a qtest memory or port access, exactly what a guest driver
 * would do (OASIS VIRTIO 1.2, 3.1 "Device Initialization", 2.7, 2.8, 4.1).
 *
 * Guest memory for rings and buffers comes from a bump allocator between
 * 1 MiB and 64 MiB.
 */
#ifndef LIBQVIRTIO_H
#define LIBQVIRTIO_H
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include "libqtest.h"

#define QVIRTIO_VENDOR          0x1af4
#define QVIRTIO_BAR4_ADDR       0xe0000000ULL   /* modern registers */
#define QVIRTIO_MSIX_BAR_ADDR   0xe0100000ULL
#define QVIRTIO_IO_BASE         0xc000
#define QVIRTIO_MSI_ADDR        0x3f00000ULL    /* MSI writes land here */

/* Status and feature bits (same values as the device side). */
#define QVIRTIO_S_ACKNOWLEDGE   1
#define QVIRTIO_S_DRIVER        2
#define QVIRTIO_S_DRIVER_OK     4
#define QVIRTIO_S_FEATURES_OK   8
#define QVIRTIO_S_NEEDS_RESET   0x40
#define QVIRTIO_S_FAILED        0x80
#define QVIRTIO_F_INDIRECT      28
#define QVIRTIO_F_EVENT_IDX     29
#define QVIRTIO_F_VERSION_1     32
#define QVIRTIO_F_ACCESS_PLATFORM 33
#define QVIRTIO_F_RING_PACKED   34
#define QVIRTIO_F_RING_RESET    40
#define QVIRTIO_BIT(b)          (1ULL << (b))

#define QVRING_DESC_F_NEXT      1
#define QVRING_DESC_F_WRITE     2
#define QVRING_DESC_F_INDIRECT  4

typedef struct QVirtioDev {
    QTestState *qts;
    unsigned devfn;
    uint16_t device_id;
    bool modern;                /* driving the modern interface */
    uint64_t common, isr, device, notify;   /* modern: absolute addresses */
    uint32_t notify_mult;
    uint8_t cap_common, cap_notify, cap_isr, cap_device, cap_pci_cfg;
    uint8_t msix_cap;
    uint16_t io;                /* legacy BAR0 base (0: none) */
    bool msix_on;
    uint64_t features;          /* offered by the device */
} QVirtioDev;

typedef struct QVirtQueue {
    QVirtioDev *d;
    unsigned index;
    unsigned num;
    bool packed;
    uint64_t desc, avail, used;
    uint16_t free;              /* split: next free descriptor index */
    uint16_t avail_idx;         /* split: driver's avail.idx */
    uint16_t last_used;         /* split: last used.idx seen */
    uint16_t next;              /* packed: next descriptor slot */
    bool wrap;                  /* packed: driver ring wrap counter */
    uint16_t used_next;         /* packed: next slot to check for used */
    bool used_wrap;
    uint16_t buffer_id;         /* packed: next buffer id */
    uint16_t chain_len[1024];   /* packed: ring slots each buffer id took */
} QVirtQueue;

/* One buffer of a chain. */
typedef struct QVirtBuf {
    uint64_t addr;
    uint32_t len;
    bool write;                 /* device-writable */
} QVirtBuf;

/* ---- guest memory ---- */
void qvirtio_mem_reset(void);
uint64_t qvirtio_alloc(size_t size, size_t align);

/* ---- PCI ---- */
uint32_t qpci_cfg_readl(QTestState *qts, unsigned devfn, unsigned reg);
uint16_t qpci_cfg_readw(QTestState *qts, unsigned devfn, unsigned reg);
uint8_t qpci_cfg_readb(QTestState *qts, unsigned devfn, unsigned reg);
void qpci_cfg_writel(QTestState *qts, unsigned devfn, unsigned reg,
                     uint32_t val);
void qpci_cfg_writew(QTestState *qts, unsigned devfn, unsigned reg,
                     uint16_t val);
void qpci_cfg_writeb(QTestState *qts, unsigned devfn, unsigned reg,
                     uint8_t val);
/* First function with vendor 1af4 and @device_id (0: any virtio), or -1. */
int qvirtio_pci_find(QTestState *qts, uint16_t device_id);

/*
 * Map the BARs, enable I/O, memory and bus mastering, and find the
 * capabilities.  @modern picks the interface the driver will use.
 */
void qvirtio_pci_init(QVirtioDev *d, QTestState *qts, unsigned devfn,
                      bool modern);

/* ---- device initialisation ---- */
void qvirtio_reset(QVirtioDev *d);
uint8_t qvirtio_get_status(QVirtioDev *d);
void qvirtio_set_status(QVirtioDev *d, uint8_t status);
uint64_t qvirtio_get_features(QVirtioDev *d);
/* ACK, DRIVER, features, FEATURES_OK; true when the device kept it. */
bool qvirtio_negotiate(QVirtioDev *d, uint64_t features);
void qvirtio_driver_ok(QVirtioDev *d);
uint8_t qvirtio_isr(QVirtioDev *d);
uint32_t qvirtio_config_readl(QVirtioDev *d, unsigned off);
uint8_t qvirtio_config_readb(QVirtioDev *d, unsigned off);
void qvirtio_config_writel(QVirtioDev *d, unsigned off, uint32_t val);

/* ---- MSI-X: message @v writes @v + 1 at QVIRTIO_MSI_ADDR + 4 * v ---- */
void qvirtio_msix_enable(QVirtioDev *d, unsigned nvectors);
uint16_t qvirtio_set_config_vector(QVirtioDev *d, uint16_t v);
uint16_t qvirtio_set_queue_vector(QVirtioDev *d, unsigned q, uint16_t v);
/* Whether vector @v fired since the last call (clears it). */
bool qvirtio_msix_fired(QVirtioDev *d, unsigned v);

/* ---- queues ---- */
uint16_t qvirtio_queue_max(QVirtioDev *d, unsigned index);
/* Allocate and program queue @index with @num entries (0: maximum). */
void qvirtqueue_setup(QVirtQueue *vq, QVirtioDev *d, unsigned index,
                      unsigned num, bool packed);
/* Add a chain of @n buffers, make it available; returns its id. */
uint16_t qvirtqueue_add(QVirtQueue *vq, const QVirtBuf *bufs, unsigned n);
/* Add @n buffers through one indirect table; returns its id. */
uint16_t qvirtqueue_add_indirect(QVirtQueue *vq, const QVirtBuf *bufs,
                                 unsigned n);
void qvirtqueue_kick(QVirtQueue *vq);
/*
 * Wait (stepping the virtual clock a little between looks, at most
 * @timeout_ms of real time) for a used buffer; true with its id and length.
 */
bool qvirtqueue_get_used(QVirtQueue *vq, uint16_t *id, uint32_t *len,
                         unsigned timeout_ms);

/* Raw split-ring helpers for hostile-ring tests. */
void qvirtqueue_write_desc(QVirtQueue *vq, unsigned i, uint64_t addr,
                           uint32_t len, uint16_t flags, uint16_t next);
void qvirtqueue_publish(QVirtQueue *vq, uint16_t head);
void qvirtqueue_set_avail_idx(QVirtQueue *vq, uint16_t idx);

/* ---- QMP over a socket the test passes with -qmp unix:PATH ---- */
typedef struct QMPConn QMPConn;
QMPConn *qmp_connect(const char *path);
/* Send one command (JSON text), return the reply line (g_free it);
 * events before it are collected for qmp_take_events. */
char *qmp_cmd(QMPConn *c, const char *json);
/* Events seen so far, as one string of lines (g_free it); clears them. */
char *qmp_take_events(QMPConn *c);
/* The reply to @json is a success (g_error naming both otherwise). */
void qmp_assert_ok(QMPConn *c, const char *json);
/* The reply to @json is an error whose text contains @desc. */
void qmp_assert_error(QMPConn *c, const char *json, const char *desc);
/* The events so far, after a round trip that lets pending ones in. */
char *qmp_events_now(QMPConn *c);
void qmp_close(QMPConn *c);

#endif
