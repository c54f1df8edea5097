/*
 * libqvirtio: see libqvirtio.h.
 */
#include "libqvirtio.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MEM_START       0x100000ULL
#define MEM_END         0x3e00000ULL

/* common configuration offsets (VIRTIO 1.2, 4.1.4.3) */
#define C_DFSELECT      0x00
#define C_DF            0x04
#define C_GFSELECT      0x08
#define C_GF            0x0c
#define C_MSIX          0x10
#define C_STATUS        0x14
#define C_Q_SELECT      0x16
#define C_Q_SIZE        0x18
#define C_Q_MSIX        0x1a
#define C_Q_ENABLE      0x1c
#define C_Q_NOFF        0x1e
#define C_Q_DESC        0x20
#define C_Q_AVAIL       0x28
#define C_Q_USED        0x30
/* legacy BAR0 */
#define L_HOST_F        0x00
#define L_GUEST_F       0x04
#define L_PFN           0x08
#define L_NUM           0x0c
#define L_SEL           0x0e
#define L_NOTIFY        0x10
#define L_STATUS        0x12
#define L_ISR           0x13
#define L_CFG_VEC       0x14
#define L_Q_VEC         0x16

static uint64_t mem_next = MEM_START;

void qvirtio_mem_reset(void)
{
    mem_next = MEM_START;
}

uint64_t qvirtio_alloc(size_t size, size_t align)
{
    uint64_t a = (mem_next + align - 1) & ~((uint64_t)align - 1);

    g_assert(a + size <= MEM_END);
    mem_next = a + size;
    return a;
}

/* ---- PCI configuration mechanism #1 ---- */

static void cfg_select(QTestState *qts, unsigned devfn, unsigned reg)
{
    qtest_outl(qts, 0xcf8, 0x80000000u | (devfn << 8) | (reg & 0xfc));
}

uint32_t qpci_cfg_readl(QTestState *qts, unsigned devfn, unsigned reg)
{
    cfg_select(qts, devfn, reg);
    return qtest_inl(qts, 0xcfc);
}

uint16_t qpci_cfg_readw(QTestState *qts, unsigned devfn, unsigned reg)
{
    cfg_select(qts, devfn, reg);
    return qtest_inw(qts, 0xcfc + (reg & 2));
}

uint8_t qpci_cfg_readb(QTestState *qts, unsigned devfn, unsigned reg)
{
    cfg_select(qts, devfn, reg);
    return qtest_inb(qts, 0xcfc + (reg & 3));
}

void qpci_cfg_writel(QTestState *qts, unsigned devfn, unsigned reg,
                     uint32_t val)
{
    cfg_select(qts, devfn, reg);
    qtest_outl(qts, 0xcfc, val);
}

void qpci_cfg_writew(QTestState *qts, unsigned devfn, unsigned reg,
                     uint16_t val)
{
    cfg_select(qts, devfn, reg);
    qtest_outw(qts, 0xcfc + (reg & 2), val);
}

void qpci_cfg_writeb(QTestState *qts, unsigned devfn, unsigned reg,
                     uint8_t val)
{
    cfg_select(qts, devfn, reg);
    qtest_outb(qts, 0xcfc + (reg & 3), val);
}

int qvirtio_pci_find(QTestState *qts, uint16_t device_id)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = qpci_cfg_readl(qts, devfn, 0);
        if ((id & 0xffff) != QVIRTIO_VENDOR) {
            continue;
        }
        if (!device_id || (id >> 16) == device_id) {
            return devfn;
        }
    }
    return -1;
}

void qvirtio_pci_init(QVirtioDev *d, QTestState *qts, unsigned devfn,
                      bool modern)
{
    uint64_t bar4 = QVIRTIO_BAR4_ADDR + devfn * 0x10000ULL;
    uint8_t cap;

    memset(d, 0, sizeof(*d));
    d->qts = qts;
    d->devfn = devfn;
    d->device_id = qpci_cfg_readw(qts, devfn, 2);
    d->modern = modern;

    qpci_cfg_writel(qts, devfn, 0x10, QVIRTIO_IO_BASE + devfn * 0x40);
    if (qpci_cfg_readl(qts, devfn, 0x10) & 1) {
        d->io = qpci_cfg_readl(qts, devfn, 0x10) & ~3u;
    }
    qpci_cfg_writel(qts, devfn, 0x14,
                    (uint32_t)(QVIRTIO_MSIX_BAR_ADDR + devfn * 0x1000));
    qpci_cfg_writel(qts, devfn, 0x20, (uint32_t)bar4);
    qpci_cfg_writel(qts, devfn, 0x24, (uint32_t)(bar4 >> 32));
    qpci_cfg_writew(qts, devfn, 0x04, 0x7);   /* I/O, memory, bus master */

    for (cap = qpci_cfg_readb(qts, devfn, 0x34); cap;
         cap = qpci_cfg_readb(qts, devfn, cap + 1)) {
        uint8_t id = qpci_cfg_readb(qts, devfn, cap);
        uint8_t type;
        uint32_t off;

        if (id == 0x11) {
            d->msix_cap = cap;
            continue;
        }
        if (id != 0x09) {
            continue;
        }
        type = qpci_cfg_readb(qts, devfn, cap + 3);
        off = qpci_cfg_readl(qts, devfn, cap + 8);
        switch (type) {
        case 1:
            d->cap_common = cap;
            d->common = bar4 + off;
            break;
        case 2:
            d->cap_notify = cap;
            d->notify = bar4 + off;
            d->notify_mult = qpci_cfg_readl(qts, devfn, cap + 16);
            break;
        case 3:
            d->cap_isr = cap;
            d->isr = bar4 + off;
            break;
        case 4:
            d->cap_device = cap;
            d->device = bar4 + off;
            break;
        case 5:
            d->cap_pci_cfg = cap;
            break;
        }
    }
    if (modern) {
        g_assert(d->cap_common && d->cap_notify && d->cap_isr);
    } else {
        g_assert(d->io);
    }
    d->features = qvirtio_get_features(d);
}

/* ---- registers ---- */

uint8_t qvirtio_get_status(QVirtioDev *d)
{
    return d->modern ? qtest_readb(d->qts, d->common + C_STATUS)
                     : qtest_inb(d->qts, d->io + L_STATUS);
}

void qvirtio_set_status(QVirtioDev *d, uint8_t status)
{
    if (d->modern) {
        qtest_writeb(d->qts, d->common + C_STATUS, status);
    } else {
        qtest_outb(d->qts, d->io + L_STATUS, status);
    }
}

void qvirtio_reset(QVirtioDev *d)
{
    qvirtio_set_status(d, 0);
    g_assert_cmpint(qvirtio_get_status(d), ==, 0);
}

uint64_t qvirtio_get_features(QVirtioDev *d)
{
    uint64_t f;

    if (!d->modern) {
        return qtest_inl(d->qts, d->io + L_HOST_F);
    }
    qtest_writel(d->qts, d->common + C_DFSELECT, 0);
    f = qtest_readl(d->qts, d->common + C_DF);
    qtest_writel(d->qts, d->common + C_DFSELECT, 1);
    f |= (uint64_t)qtest_readl(d->qts, d->common + C_DF) << 32;
    return f;
}

bool qvirtio_negotiate(QVirtioDev *d, uint64_t features)
{
    qvirtio_reset(d);
    qvirtio_set_status(d, QVIRTIO_S_ACKNOWLEDGE);
    qvirtio_set_status(d, QVIRTIO_S_ACKNOWLEDGE | QVIRTIO_S_DRIVER);
    if (!d->modern) {
        qtest_outl(d->qts, d->io + L_GUEST_F, (uint32_t)features);
        return true;
    }
    qtest_writel(d->qts, d->common + C_GFSELECT, 0);
    qtest_writel(d->qts, d->common + C_GF, (uint32_t)features);
    qtest_writel(d->qts, d->common + C_GFSELECT, 1);
    qtest_writel(d->qts, d->common + C_GF, features >> 32);
    qvirtio_set_status(d, QVIRTIO_S_ACKNOWLEDGE | QVIRTIO_S_DRIVER |
                       QVIRTIO_S_FEATURES_OK);
    return qvirtio_get_status(d) & QVIRTIO_S_FEATURES_OK;
}

void qvirtio_driver_ok(QVirtioDev *d)
{
    qvirtio_set_status(d, qvirtio_get_status(d) | QVIRTIO_S_DRIVER_OK);
}

uint8_t qvirtio_isr(QVirtioDev *d)
{
    return d->modern ? qtest_readb(d->qts, d->isr)
                     : qtest_inb(d->qts, d->io + L_ISR);
}

static uint64_t legacy_cfg_base(QVirtioDev *d)
{
    return d->io + (d->msix_on ? 0x18 : 0x14);
}

uint32_t qvirtio_config_readl(QVirtioDev *d, unsigned off)
{
    return d->modern ? qtest_readl(d->qts, d->device + off)
                     : qtest_inl(d->qts, legacy_cfg_base(d) + off);
}

uint8_t qvirtio_config_readb(QVirtioDev *d, unsigned off)
{
    return d->modern ? qtest_readb(d->qts, d->device + off)
                     : qtest_inb(d->qts, legacy_cfg_base(d) + off);
}

void qvirtio_config_writel(QVirtioDev *d, unsigned off, uint32_t val)
{
    if (d->modern) {
        qtest_writel(d->qts, d->device + off, val);
    } else {
        qtest_outl(d->qts, legacy_cfg_base(d) + off, val);
    }
}

/* ---- MSI-X ---- */

void qvirtio_msix_enable(QVirtioDev *d, unsigned nvectors)
{
    uint32_t table = qpci_cfg_readl(d->qts, d->devfn, d->msix_cap + 4);
    uint64_t base = QVIRTIO_MSIX_BAR_ADDR + d->devfn * 0x1000 +
                    (table & ~7u);
    uint16_t ctl;

    g_assert(d->msix_cap);
    g_assert_cmpint(table & 7, ==, 1);      /* BAR1, as QEMU */
    ctl = qpci_cfg_readw(d->qts, d->devfn, d->msix_cap + 2);
    qpci_cfg_writew(d->qts, d->devfn, d->msix_cap + 2, ctl | 0x8000);
    for (unsigned v = 0; v < nvectors; v++) {
        qtest_writel(d->qts, QVIRTIO_MSI_ADDR + 4 * v, 0);
        qtest_writel(d->qts, base + 16 * v, QVIRTIO_MSI_ADDR + 4 * v);
        qtest_writel(d->qts, base + 16 * v + 4, 0);
        qtest_writel(d->qts, base + 16 * v + 8, v + 1);
        qtest_writel(d->qts, base + 16 * v + 12, 0);    /* unmasked */
    }
    d->msix_on = true;
}

uint16_t qvirtio_set_config_vector(QVirtioDev *d, uint16_t v)
{
    if (d->modern) {
        qtest_writew(d->qts, d->common + C_MSIX, v);
        return qtest_readw(d->qts, d->common + C_MSIX);
    }
    qtest_outw(d->qts, d->io + L_CFG_VEC, v);
    return qtest_inw(d->qts, d->io + L_CFG_VEC);
}

uint16_t qvirtio_set_queue_vector(QVirtioDev *d, unsigned q, uint16_t v)
{
    if (d->modern) {
        qtest_writew(d->qts, d->common + C_Q_SELECT, q);
        qtest_writew(d->qts, d->common + C_Q_MSIX, v);
        return qtest_readw(d->qts, d->common + C_Q_MSIX);
    }
    qtest_outw(d->qts, d->io + L_SEL, q);
    qtest_outw(d->qts, d->io + L_Q_VEC, v);
    return qtest_inw(d->qts, d->io + L_Q_VEC);
}

bool qvirtio_msix_fired(QVirtioDev *d, unsigned v)
{
    uint32_t val = qtest_readl(d->qts, QVIRTIO_MSI_ADDR + 4 * v);

    if (!val) {
        return false;
    }
    g_assert_cmpint(val, ==, v + 1);
    qtest_writel(d->qts, QVIRTIO_MSI_ADDR + 4 * v, 0);
    return true;
}

/* ---- queues ---- */

uint16_t qvirtio_queue_max(QVirtioDev *d, unsigned index)
{
    if (d->modern) {
        qtest_writew(d->qts, d->common + C_Q_SELECT, index);
        return qtest_readw(d->qts, d->common + C_Q_SIZE);
    }
    qtest_outw(d->qts, d->io + L_SEL, index);
    return qtest_inw(d->qts, d->io + L_NUM);
}

static void setup_legacy(QVirtQueue *vq, QVirtioDev *d)
{
    uint64_t avail_end = 16ULL * vq->num + 6 + 2ULL * vq->num;
    uint64_t used_off = (avail_end + 4095) & ~4095ULL;
    uint64_t size = used_off + ((6 + 8ULL * vq->num + 4095) & ~4095ULL);
    uint64_t base = qvirtio_alloc(size, 4096);

    qtest_memset(d->qts, base, 0, size);
    vq->desc = base;
    vq->avail = base + 16ULL * vq->num;
    vq->used = base + used_off;
    qtest_outw(d->qts, d->io + L_SEL, vq->index);
    qtest_outl(d->qts, d->io + L_PFN, base >> 12);
}

void qvirtqueue_setup(QVirtQueue *vq, QVirtioDev *d, unsigned index,
                      unsigned num, bool packed)
{
    unsigned max = qvirtio_queue_max(d, index);

    memset(vq, 0, sizeof(*vq));
    vq->d = d;
    vq->index = index;
    vq->num = num ? num : max;
    vq->packed = packed;
    vq->wrap = vq->used_wrap = true;
    g_assert(max && vq->num <= max);
    if (!d->modern) {
        g_assert(!packed && vq->num == max);
        setup_legacy(vq, d);
        return;
    }
    vq->desc = qvirtio_alloc(16 * vq->num, 16);
    if (packed) {
        vq->avail = qvirtio_alloc(4, 4);
        vq->used = qvirtio_alloc(4, 4);
    } else {
        vq->avail = qvirtio_alloc(6 + 2 * vq->num, 2);
        vq->used = qvirtio_alloc(6 + 8 * vq->num, 4);
    }
    qtest_memset(d->qts, vq->desc, 0, 16 * vq->num);
    qtest_memset(d->qts, vq->avail, 0, packed ? 4 : 6 + 2 * vq->num);
    qtest_memset(d->qts, vq->used, 0, packed ? 4 : 6 + 8 * vq->num);
    qtest_writew(d->qts, d->common + C_Q_SELECT, index);
    qtest_writew(d->qts, d->common + C_Q_SIZE, vq->num);
    qtest_writeq(d->qts, d->common + C_Q_DESC, vq->desc);
    qtest_writeq(d->qts, d->common + C_Q_AVAIL, vq->avail);
    qtest_writeq(d->qts, d->common + C_Q_USED, vq->used);
    qtest_writew(d->qts, d->common + C_Q_ENABLE, 1);
    g_assert_cmpint(qtest_readw(d->qts, d->common + C_Q_ENABLE), ==, 1);
}

void qvirtqueue_write_desc(QVirtQueue *vq, unsigned i, uint64_t addr,
                           uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t a = vq->desc + 16ULL * i;

    qtest_writeq(vq->d->qts, a, addr);
    qtest_writel(vq->d->qts, a + 8, len);
    qtest_writew(vq->d->qts, a + 12, flags);
    qtest_writew(vq->d->qts, a + 14, next);
}

void qvirtqueue_set_avail_idx(QVirtQueue *vq, uint16_t idx)
{
    vq->avail_idx = idx;
    qtest_writew(vq->d->qts, vq->avail + 2, idx);
}

void qvirtqueue_publish(QVirtQueue *vq, uint16_t head)
{
    qtest_writew(vq->d->qts, vq->avail + 4 + 2 * (vq->avail_idx % vq->num),
                 head);
    qvirtqueue_set_avail_idx(vq, vq->avail_idx + 1);
}

static void write_packed_desc(QVirtQueue *vq, unsigned slot, uint64_t addr,
                              uint32_t len, uint16_t id, uint16_t flags)
{
    uint64_t a = vq->desc + 16ULL * slot;

    qtest_writeq(vq->d->qts, a, addr);
    qtest_writel(vq->d->qts, a + 8, len);
    qtest_writew(vq->d->qts, a + 12, id);
    qtest_writew(vq->d->qts, a + 14, flags);
}

static uint16_t packed_avail_bits(bool wrap)
{
    return wrap ? (1u << 7) : (1u << 15);
}

static uint16_t add_packed(QVirtQueue *vq, const QVirtBuf *bufs, unsigned n,
                           bool indirect)
{
    uint16_t id = vq->buffer_id++ % vq->num;
    unsigned first = vq->next;
    uint16_t first_flags = 0;

    if (indirect) {
        uint64_t table = qvirtio_alloc(16 * n, 16);
        for (unsigned i = 0; i < n; i++) {
            uint64_t a = table + 16ULL * i;
            qtest_writeq(vq->d->qts, a, bufs[i].addr);
            qtest_writel(vq->d->qts, a + 8, bufs[i].len);
            qtest_writew(vq->d->qts, a + 12, 0);
            qtest_writew(vq->d->qts, a + 14,
                         bufs[i].write ? QVRING_DESC_F_WRITE : 0);
        }
        first_flags = QVRING_DESC_F_INDIRECT | packed_avail_bits(vq->wrap);
        write_packed_desc(vq, first, table, 16 * n, id, 0);
        n = 1;
        vq->next++;
    } else {
        for (unsigned i = 0; i < n; i++) {
            uint16_t f = (bufs[i].write ? QVRING_DESC_F_WRITE : 0) |
                         (i + 1 < n ? QVRING_DESC_F_NEXT : 0) |
                         packed_avail_bits(vq->wrap);
            if (i == 0) {
                first_flags = f;
                write_packed_desc(vq, vq->next, bufs[i].addr, bufs[i].len,
                                  id, 0);
            } else {
                write_packed_desc(vq, vq->next, bufs[i].addr, bufs[i].len,
                                  id, f);
            }
            if (++vq->next == vq->num) {
                vq->next = 0;
                vq->wrap = !vq->wrap;
            }
        }
    }
    if (indirect && vq->next == vq->num) {
        vq->next = 0;
        vq->wrap = !vq->wrap;
    }
    vq->chain_len[id] = n;
    /* The head's flags go last: that makes the whole chain available. */
    qtest_writew(vq->d->qts, vq->desc + 16ULL * first + 14, first_flags);
    return id;
}

uint16_t qvirtqueue_add(QVirtQueue *vq, const QVirtBuf *bufs, unsigned n)
{
    uint16_t head = vq->free % vq->num;

    if (vq->packed) {
        return add_packed(vq, bufs, n, false);
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned idx = (vq->free + i) % vq->num;
        qvirtqueue_write_desc(vq, idx, bufs[i].addr, bufs[i].len,
                              (bufs[i].write ? QVRING_DESC_F_WRITE : 0) |
                              (i + 1 < n ? QVRING_DESC_F_NEXT : 0),
                              (idx + 1) % vq->num);
    }
    vq->free = (vq->free + n) % vq->num;
    qvirtqueue_publish(vq, head);
    return head;
}

uint16_t qvirtqueue_add_indirect(QVirtQueue *vq, const QVirtBuf *bufs,
                                 unsigned n)
{
    uint64_t table;
    uint16_t head;

    if (vq->packed) {
        return add_packed(vq, bufs, n, true);
    }
    table = qvirtio_alloc(16 * n, 16);
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = table + 16ULL * i;
        qtest_writeq(vq->d->qts, a, bufs[i].addr);
        qtest_writel(vq->d->qts, a + 8, bufs[i].len);
        qtest_writew(vq->d->qts, a + 12,
                     (bufs[i].write ? QVRING_DESC_F_WRITE : 0) |
                     (i + 1 < n ? QVRING_DESC_F_NEXT : 0));
        qtest_writew(vq->d->qts, a + 14, i + 1);
    }
    head = vq->free % vq->num;
    qvirtqueue_write_desc(vq, head, table, 16 * n, QVRING_DESC_F_INDIRECT, 0);
    vq->free = (vq->free + 1) % vq->num;
    qvirtqueue_publish(vq, head);
    return head;
}

void qvirtqueue_kick(QVirtQueue *vq)
{
    QVirtioDev *d = vq->d;

    if (d->modern) {
        qtest_writew(d->qts, d->notify + vq->index * d->notify_mult,
                     vq->index);
    } else {
        qtest_outw(d->qts, d->io + L_NOTIFY, vq->index);
    }
}

static bool get_used_split(QVirtQueue *vq, uint16_t *id, uint32_t *len)
{
    uint16_t idx = qtest_readw(vq->d->qts, vq->used + 2);
    uint64_t e;

    if (idx == vq->last_used) {
        return false;
    }
    e = vq->used + 4 + 8ULL * (vq->last_used % vq->num);
    *id = qtest_readl(vq->d->qts, e);
    *len = qtest_readl(vq->d->qts, e + 4);
    vq->last_used++;
    return true;
}

static bool get_used_packed(QVirtQueue *vq, uint16_t *id, uint32_t *len)
{
    uint64_t a = vq->desc + 16ULL * vq->used_next;
    uint16_t flags = qtest_readw(vq->d->qts, a + 14);
    bool avail = flags & (1u << 7), used = flags & (1u << 15);

    if (avail != used || used != vq->used_wrap) {
        return false;
    }
    *id = qtest_readw(vq->d->qts, a + 12);
    *len = qtest_readl(vq->d->qts, a + 8);
    g_assert_cmpint(*id, <, vq->num);
    vq->used_next += vq->chain_len[*id];
    if (vq->used_next >= vq->num) {
        vq->used_next -= vq->num;
        vq->used_wrap = !vq->used_wrap;
    }
    return true;
}

bool qvirtqueue_get_used(QVirtQueue *vq, uint16_t *id, uint32_t *len,
                         unsigned timeout_ms)
{
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;

    for (;;) {
        if (vq->packed ? get_used_packed(vq, id, len)
                       : get_used_split(vq, id, len)) {
            return true;
        }
        if (g_get_monotonic_time() >= end) {
            return false;
        }
        g_usleep(1000);
    }
}

/* ---- QMP ---- */

struct QMPConn {
    int fd;
    GString *buf;
    GString *events;
};

static char *qmp_read_line(QMPConn *c)
{
    for (;;) {
        char *nl = memchr(c->buf->str, '\n', c->buf->len);
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        char tmp[4096];
        ssize_t n;

        if (nl) {
            char *line = g_strndup(c->buf->str, nl - c->buf->str);
            g_string_erase(c->buf, 0, nl - c->buf->str + 1);
            return line;
        }
        if (poll(&pfd, 1, 30000) <= 0) {
            g_error("qmp: no reply within 30 s");
        }
        n = read(c->fd, tmp, sizeof(tmp));
        if (n <= 0) {
            g_error("qmp: connection closed");
        }
        g_string_append_len(c->buf, tmp, n);
    }
}

QMPConn *qmp_connect(const char *path)
{
    QMPConn *c = g_new0(QMPConn, 1);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char *greeting, *reply;

    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert(c->fd >= 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (int i = 0; connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
        g_assert(i < 3000);
        g_usleep(10000);
    }
    c->buf = g_string_new("");
    c->events = g_string_new("");
    greeting = qmp_read_line(c);
    g_assert(strstr(greeting, "\"QMP\""));
    g_free(greeting);
    reply = qmp_cmd(c, "{\"execute\": \"qmp_capabilities\"}");
    g_assert(strstr(reply, "\"return\""));
    g_free(reply);
    return c;
}

char *qmp_cmd(QMPConn *c, const char *json)
{
    size_t len = strlen(json);

    g_assert(write(c->fd, json, len) == (ssize_t)len);
    g_assert(write(c->fd, "\n", 1) == 1);
    for (;;) {
        char *line = qmp_read_line(c);
        if (strstr(line, "\"event\"")) {
            g_string_append_printf(c->events, "%s\n", line);
            g_free(line);
            continue;
        }
        return line;
    }
}

char *qmp_take_events(QMPConn *c)
{
    char *s = g_strdup(c->events->str);

    g_string_truncate(c->events, 0);
    return s;
}

void qmp_assert_ok(QMPConn *c, const char *json)
{
    g_autofree char *r = qmp_cmd(c, json);

    if (!strstr(r, "\"return\"")) {
        g_error("%s -> %s", json, r);
    }
}

void qmp_assert_error(QMPConn *c, const char *json, const char *desc)
{
    g_autofree char *r = qmp_cmd(c, json);

    if (!strstr(r, "\"error\"") || !strstr(r, desc)) {
        g_error("%s -> %s (expected \"%s\")", json, r, desc);
    }
}

char *qmp_events_now(QMPConn *c)
{
    g_free(qmp_cmd(c, "{\"execute\": \"query-status\"}"));
    return qmp_take_events(c);
}

void qmp_close(QMPConn *c)
{
    close(c->fd);
    g_string_free(c->buf, TRUE);
    g_string_free(c->events, TRUE);
    g_free(c);
}
