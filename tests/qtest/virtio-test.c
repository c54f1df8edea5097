/*
 * virtio-pci transport, virtio core and virtio-rng-pci, driven through
 * libqvirtio as a guest driver would (OASIS VIRTIO 1.2, 2.x, 4.1, 5.4).
 * Hostile rings at the end: each must leave the device NEEDS_RESET with
 * kvmpc alive, and a reset must bring it back.
 */
#include "libqvirtio.h"
#include <string.h>

#define RNG_TRANSITIONAL    0x1005
#define RNG_MODERN          0x1044
#define BUF_LEN             64

static QTestState *start(const char *extra, QVirtioDev *d, uint16_t id,
                         bool modern)
{
    QTestState *qts = qtest_init(extra);
    int devfn = qvirtio_pci_find(qts, id);

    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(d, qts, devfn, modern);
    return qts;
}

static uint64_t std_features(QVirtioDev *d)
{
    return d->features & (QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                          QVIRTIO_BIT(QVIRTIO_F_INDIRECT) |
                          QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX) |
                          QVIRTIO_BIT(QVIRTIO_F_RING_RESET) |
                          QVIRTIO_BIT(QVIRTIO_F_RING_PACKED));
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            return false;
        }
    }
    return true;
}

/* Post one writable buffer, kick, and check random bytes arrived. */
static void rng_request(QVirtQueue *vq, bool indirect, uint32_t expect_len)
{
    QTestState *qts = vq->d->qts;
    uint64_t buf = qvirtio_alloc(BUF_LEN, 16);
    QVirtBuf b = { buf, BUF_LEN, true };
    uint8_t data[BUF_LEN];
    uint16_t id, head;
    uint32_t len;

    qtest_memset(qts, buf, 0, BUF_LEN);
    head = indirect ? qvirtqueue_add_indirect(vq, &b, 1)
                    : qvirtqueue_add(vq, &b, 1);
    qvirtqueue_kick(vq);
    g_assert(qvirtqueue_get_used(vq, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(len, ==, expect_len);
    qtest_memread(qts, buf, data, BUF_LEN);
    if (expect_len >= 16) {
        g_assert(!all_zero(data, expect_len));
    }
    g_assert(all_zero(data + expect_len, BUF_LEN - expect_len));
}

static void init_rng(QVirtioDev *d, QVirtQueue *vq, bool packed)
{
    uint64_t f = std_features(d);

    if (!packed) {
        f &= ~QVIRTIO_BIT(QVIRTIO_F_RING_PACKED);
    }
    g_assert(qvirtio_negotiate(d, f));
    qvirtqueue_setup(vq, d, 0, 0, packed);
    qvirtio_driver_ok(d);
}

/* ---- PCI identity and capabilities ---------------------------------- */

static void test_ids(void)
{
    QTestState *qts = qtest_init("-device virtio-rng-pci,addr=04 "
                                 "-device virtio-rng-pci,addr=05,"
                                 "disable-legacy=on "
                                 "-device virtio-rng,addr=06,"
                                 "disable-modern=on");
    unsigned t = 4 << 3, m = 5 << 3, l = 6 << 3;

    /* transitional: 1af4:1005, subsystem 1af4:0004, revision 0 */
    g_assert_cmphex(qpci_cfg_readl(qts, t, 0), ==, 0x10051af4);
    g_assert_cmphex(qpci_cfg_readl(qts, t, 0x2c), ==, 0x00041af4);
    g_assert_cmphex(qpci_cfg_readb(qts, t, 8), ==, 0);
    g_assert_cmphex(qpci_cfg_readw(qts, t, 0x0a), ==, 0xff00);
    g_assert_cmphex(qpci_cfg_readb(qts, t, 0x3d), ==, 1);    /* INTA# */
    /* modern only: 1af4:1044, revision 1, no I/O BAR */
    g_assert_cmphex(qpci_cfg_readl(qts, m, 0), ==, 0x10441af4);
    g_assert_cmphex(qpci_cfg_readb(qts, m, 8), ==, 1);
    qpci_cfg_writel(qts, m, 0x10, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(qts, m, 0x10), ==, 0);
    /* BAR4: 64-bit prefetchable memory of 16 KiB */
    qpci_cfg_writel(qts, m, 0x20, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(qts, m, 0x20), ==, 0xffffc00c);
    /* legacy only (alias "virtio-rng"): transitional ID, no BAR4 */
    g_assert_cmphex(qpci_cfg_readl(qts, l, 0), ==, 0x10051af4);
    qpci_cfg_writel(qts, l, 0x20, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(qts, l, 0x20), ==, 0);
    qpci_cfg_writel(qts, l, 0x10, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(qts, l, 0x10), ==, 0xffffffe1);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_caps(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            true);
    uint8_t cap;

    g_assert(d.cap_common && d.cap_notify && d.cap_isr && d.cap_device &&
             d.cap_pci_cfg && d.msix_cap);
    g_assert_cmpint(qpci_cfg_readb(qts, d.devfn, d.cap_common + 2), ==, 16);
    g_assert_cmpint(qpci_cfg_readb(qts, d.devfn, d.cap_common + 4), ==, 4);
    g_assert_cmpint(qpci_cfg_readl(qts, d.devfn, d.cap_common + 12), >=,
                    0x38);
    g_assert_cmpint(qpci_cfg_readb(qts, d.devfn, d.cap_notify + 2), ==, 20);
    g_assert_cmpint(d.notify_mult, ==, 4);
    g_assert_cmphex(d.isr - d.common, ==, 0x1000);
    g_assert_cmphex(d.notify - d.common, ==, 0x3000);
    /* MSI-X: 2 vectors, table in BAR1 */
    g_assert_cmphex(qpci_cfg_readw(qts, d.devfn, d.msix_cap + 2) & 0x7ff, ==,
                    1);
    /* num_queues through the memory BAR and through the PCI cfg cap */
    g_assert_cmpint(qtest_readw(qts, d.common + 0x12), ==, 1);
    cap = d.cap_pci_cfg;
    qpci_cfg_writeb(qts, d.devfn, cap + 4, 4);          /* bar */
    qpci_cfg_writel(qts, d.devfn, cap + 8, 0x12);       /* offset */
    qpci_cfg_writel(qts, d.devfn, cap + 12, 2);         /* length */
    g_assert_cmpint(qpci_cfg_readw(qts, d.devfn, cap + 16), ==, 1);
    /* and a write: device_status through the window */
    qpci_cfg_writel(qts, d.devfn, cap + 8, 0x14);
    qpci_cfg_writel(qts, d.devfn, cap + 12, 1);
    qpci_cfg_writeb(qts, d.devfn, cap + 16, QVIRTIO_S_ACKNOWLEDGE);
    g_assert_cmpint(qvirtio_get_status(&d), ==, QVIRTIO_S_ACKNOWLEDGE);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

/* ---- features ------------------------------------------------------- */

static void test_features(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            true);
    uint64_t f = d.features;

    g_assert(f & QVIRTIO_BIT(QVIRTIO_F_VERSION_1));
    g_assert(f & QVIRTIO_BIT(QVIRTIO_F_INDIRECT));
    g_assert(f & QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX));
    g_assert(f & QVIRTIO_BIT(QVIRTIO_F_RING_RESET));
    g_assert(!(f & QVIRTIO_BIT(QVIRTIO_F_ACCESS_PLATFORM)));
    g_assert(!(f & QVIRTIO_BIT(QVIRTIO_F_RING_PACKED)));    /* packed=off */
    /* an unoffered bit: FEATURES_OK is refused */
    g_assert(!qvirtio_negotiate(&d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                                QVIRTIO_BIT(QVIRTIO_F_ACCESS_PLATFORM)));
    /* DRIVER_OK without FEATURES_OK is not taken either */
    qvirtio_driver_ok(&d);
    g_assert(!(qvirtio_get_status(&d) & QVIRTIO_S_DRIVER_OK));
    /* the modern interface needs VERSION_1 */
    g_assert(!qvirtio_negotiate(&d, QVIRTIO_BIT(QVIRTIO_F_INDIRECT)));
    /* good set */
    g_assert(qvirtio_negotiate(&d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1)));
    /* features are fixed after FEATURES_OK */
    qtest_writel(qts, d.common + 0x08, 0);
    qtest_writel(qts, d.common + 0x0c, 0xffffffff);
    qtest_writel(qts, d.common + 0x08, 1);
    g_assert_cmphex(qtest_readl(qts, d.common + 0x0c), ==, 1);
    /* reset clears status */
    qvirtio_reset(&d);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_packed_offered(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci,packed=on,"
                            "event_idx=off", &d, RNG_TRANSITIONAL, true);

    g_assert(d.features & QVIRTIO_BIT(QVIRTIO_F_RING_PACKED));
    g_assert(!(d.features & QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX)));
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_iommu_platform_refused(void)
{
    g_autofree char *out = NULL, *err = NULL;
    const char *argv[] = { qtest_kvmpc_binary(), "-accel", "qtest",
                           "-nodefaults", "-display", "none", "-bios",
                           qtest_default_firmware(), "-device",
                           "virtio-rng-pci,iommu_platform=on", NULL };
    int status;

    g_assert(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out,
                          &err, &status, NULL));
    g_assert(!g_spawn_check_wait_status(status, NULL));
    g_assert(strstr(err, "iommu_platform"));
}

/* ---- MSI-X ---------------------------------------------------------- */

static void test_msix(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            true);
    QVirtQueue vq;

    qvirtio_msix_enable(&d, 2);
    g_assert(qvirtio_negotiate(&d, std_features(&d)));
    g_assert_cmphex(qvirtio_set_config_vector(&d, 0), ==, 0);
    g_assert_cmphex(qvirtio_set_config_vector(&d, 2), ==, 0xffff);
    g_assert_cmphex(qvirtio_set_config_vector(&d, 0), ==, 0);
    g_assert_cmphex(qvirtio_set_queue_vector(&d, 0, 7), ==, 0xffff);
    g_assert_cmphex(qvirtio_set_queue_vector(&d, 0, 1), ==, 1);
    qvirtqueue_setup(&vq, &d, 0, 0, false);
    qvirtio_driver_ok(&d);
    rng_request(&vq, false, BUF_LEN);
    g_assert(qvirtio_msix_fired(&d, 1));
    g_assert(!qvirtio_msix_fired(&d, 0));
    /* no vector: no message */
    g_assert_cmphex(qvirtio_set_queue_vector(&d, 0, 0xffff), ==, 0xffff);
    rng_request(&vq, false, BUF_LEN);
    g_assert(!qvirtio_msix_fired(&d, 1));
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_intx_isr(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci,vectors=0", &d,
                            RNG_TRANSITIONAL, true);
    QVirtQueue vq;

    g_assert(!d.msix_cap);
    init_rng(&d, &vq, false);
    rng_request(&vq, false, BUF_LEN);
    g_assert_cmphex(qvirtio_isr(&d), ==, 1);    /* queue interrupt */
    g_assert_cmphex(qvirtio_isr(&d), ==, 0);    /* read clears */
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

/* ---- queue reset (VIRTIO_F_RING_RESET) ------------------------------ */

static void test_queue_reset(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            true);
    QVirtQueue vq;

    init_rng(&d, &vq, false);
    rng_request(&vq, false, BUF_LEN);
    qtest_writew(qts, d.common + 0x16, 0);
    qtest_writew(qts, d.common + 0x3a, 1);              /* queue_reset */
    g_assert_cmpint(qtest_readw(qts, d.common + 0x3a), ==, 1);
    g_assert_cmpint(qtest_readw(qts, d.common + 0x1c), ==, 0);
    g_assert_cmpint(qtest_readw(qts, d.common + 0x18), ==, 8);
    g_assert_cmpint(qtest_readq(qts, d.common + 0x20), ==, 0);
    /* a kick on the reset queue does nothing */
    qvirtqueue_kick(&vq);
    /* re-enable with new rings: works from index 0 again */
    qvirtqueue_setup(&vq, &d, 0, 4, false);
    g_assert_cmpint(qtest_readw(qts, d.common + 0x3a), ==, 0);
    rng_request(&vq, false, BUF_LEN);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

/* ---- virtio-rng ----------------------------------------------------- */

static void test_rng_modern_split(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            true);
    QVirtQueue vq;

    init_rng(&d, &vq, false);
    for (int i = 0; i < 20; i++) {      /* wraps the 8-entry ring */
        rng_request(&vq, i & 1, BUF_LEN);
    }
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_rng_modern_packed(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci,packed=on", &d,
                            RNG_TRANSITIONAL, true);
    QVirtQueue vq;

    init_rng(&d, &vq, true);
    for (int i = 0; i < 20; i++) {      /* both wrap counters turn over */
        rng_request(&vq, i % 3 == 0, BUF_LEN);
    }
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_rng_packed_chain(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci,packed=on", &d,
                            RNG_TRANSITIONAL, true);
    QVirtQueue vq;

    init_rng(&d, &vq, true);
    for (int i = 0; i < 6; i++) {
        uint64_t a = qvirtio_alloc(32, 16), b = qvirtio_alloc(32, 16);
        QVirtBuf bufs[3] = { { a, 16, true }, { a + 16, 16, true },
                             { b, 32, true } };
        uint16_t id, head = qvirtqueue_add(&vq, bufs, 3);
        uint32_t len;

        qvirtqueue_kick(&vq);
        g_assert(qvirtqueue_get_used(&vq, &id, &len, 5000));
        g_assert_cmpint(id, ==, head);
        g_assert_cmpint(len, ==, 64);
    }
    g_assert_cmpint(qvirtio_get_status(&d) & QVIRTIO_S_NEEDS_RESET, ==, 0);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_rng_legacy(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            false);
    QVirtQueue vq;

    g_assert_cmpint(qvirtio_queue_max(&d, 0), ==, 8);
    init_rng(&d, &vq, false);
    for (int i = 0; i < 10; i++) {
        rng_request(&vq, false, BUF_LEN);
    }
    g_assert_cmphex(qvirtio_isr(&d), ==, 1);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_rng_file_backend(void)
{
    g_autofree char *path = g_build_filename(g_get_tmp_dir(),
                                             "kvmpc-rng-XXXXXX", NULL);
    int fd = g_mkstemp(path);
    uint8_t pattern[BUF_LEN], got[BUF_LEN];
    QVirtioDev d;
    QVirtQueue vq;
    QTestState *qts;
    g_autofree char *args = NULL;
    uint64_t buf;
    QVirtBuf b;
    uint16_t id;
    uint32_t len;

    for (int i = 0; i < BUF_LEN; i++) {
        pattern[i] = i * 7 + 1;
    }
    g_assert(fd >= 0 && write(fd, pattern, BUF_LEN) == BUF_LEN);
    close(fd);
    args = g_strdup_printf("-object rng-random,id=r0,filename=%s "
                           "-device virtio-rng-pci,rng=r0", path);
    qts = start(args, &d, RNG_TRANSITIONAL, true);
    init_rng(&d, &vq, false);
    buf = qvirtio_alloc(BUF_LEN, 16);
    b = (QVirtBuf){ buf, BUF_LEN, true };
    qvirtqueue_add(&vq, &b, 1);
    qvirtqueue_kick(&vq);
    g_assert(qvirtqueue_get_used(&vq, &id, &len, 5000));
    g_assert_cmpint(len, ==, BUF_LEN);
    qtest_memread(qts, buf, got, BUF_LEN);
    g_assert(!memcmp(got, pattern, BUF_LEN));   /* the file's bytes */
    g_assert_cmpint(qtest_quit(qts), ==, 0);
    unlink(path);
}

static void test_rng_rate_limit(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci,max-bytes=16,"
                            "period=1000", &d, RNG_TRANSITIONAL, true);
    QVirtQueue vq;
    uint16_t id;
    uint32_t len;

    init_rng(&d, &vq, false);
    rng_request(&vq, false, 16);        /* the quota, not the buffer */
    {
        uint64_t buf = qvirtio_alloc(BUF_LEN, 16);
        QVirtBuf b = { buf, BUF_LEN, true };
        qvirtqueue_add(&vq, &b, 1);
        qvirtqueue_kick(&vq);
        g_assert(!qvirtqueue_get_used(&vq, &id, &len, 200));
        qtest_clock_step(qts, 999000000);
        g_assert(!qvirtqueue_get_used(&vq, &id, &len, 100));
        qtest_clock_step(qts, 1000000);     /* the period ends */
        g_assert(qvirtqueue_get_used(&vq, &id, &len, 5000));
        g_assert_cmpint(len, ==, 16);
    }
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_bad_object(void)
{
    g_autofree char *out = NULL, *err = NULL;
    const char *argv[] = { qtest_kvmpc_binary(), "-accel", "qtest",
                           "-nodefaults", "-display", "none", "-bios",
                           qtest_default_firmware(), "-object",
                           "rng-random,id=r0,filename=/nonexistent/rng",
                           NULL };
    int status;

    g_assert(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out,
                          &err, &status, NULL));
    g_assert(!g_spawn_check_wait_status(status, NULL));
    g_assert(strstr(err, "/nonexistent/rng"));
}

/* ---- hostile rings -------------------------------------------------- */

typedef void (*HostileSetup)(QVirtQueue *vq, uint64_t buf);

static void hostile_loop(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, buf, 16, QVRING_DESC_F_WRITE |
                          QVRING_DESC_F_NEXT, 1);
    qvirtqueue_write_desc(vq, 1, buf + 16, 16, QVRING_DESC_F_WRITE |
                          QVRING_DESC_F_NEXT, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_next_out_of_range(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, buf, 16, QVRING_DESC_F_WRITE |
                          QVRING_DESC_F_NEXT, 500);
    qvirtqueue_publish(vq, 0);
}

static void hostile_head_out_of_range(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_publish(vq, 9);
}

static void hostile_indirect_in_indirect(QVirtQueue *vq, uint64_t buf)
{
    uint64_t t1 = qvirtio_alloc(16, 16), t2 = qvirtio_alloc(16, 16);
    QTestState *qts = vq->d->qts;

    qtest_writeq(qts, t2, buf);
    qtest_writel(qts, t2 + 8, 16);
    qtest_writew(qts, t2 + 12, QVRING_DESC_F_WRITE);
    qtest_writeq(qts, t1, t2);
    qtest_writel(qts, t1 + 8, 16);
    qtest_writew(qts, t1 + 12, QVRING_DESC_F_INDIRECT);
    qvirtqueue_write_desc(vq, 0, t1, 16, QVRING_DESC_F_INDIRECT, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_indirect_loop(QVirtQueue *vq, uint64_t buf)
{
    uint64_t t = qvirtio_alloc(32, 16);
    QTestState *qts = vq->d->qts;

    for (int i = 0; i < 2; i++) {
        qtest_writeq(qts, t + 16 * i, buf);
        qtest_writel(qts, t + 16 * i + 8, 8);
        qtest_writew(qts, t + 16 * i + 12, QVRING_DESC_F_WRITE |
                     QVRING_DESC_F_NEXT);
        qtest_writew(qts, t + 16 * i + 14, 1 - i);
    }
    qvirtqueue_write_desc(vq, 0, t, 32, QVRING_DESC_F_INDIRECT, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_indirect_bad_len(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, buf, 17, QVRING_DESC_F_INDIRECT, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_outside_ram(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, 0x4000000000ULL, 16, QVRING_DESC_F_WRITE,
                          0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_crosses_ram_end(QVirtQueue *vq, uint64_t buf)
{
    /* 128 MiB of RAM: a buffer running off its end */
    qvirtqueue_write_desc(vq, 0, 128 * 1024 * 1024 - 8, 16,
                          QVRING_DESC_F_WRITE, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_in_mmio(QVirtQueue *vq, uint64_t buf)
{
    /* the device's own common configuration */
    qvirtqueue_write_desc(vq, 0, vq->d->common, 16, QVRING_DESC_F_WRITE, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_wrapping_addr(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, UINT64_MAX - 4, 16, QVRING_DESC_F_WRITE, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_zero_len(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, buf, 0, QVRING_DESC_F_WRITE, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_read_after_write(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, buf, 16, QVRING_DESC_F_WRITE |
                          QVRING_DESC_F_NEXT, 1);
    qvirtqueue_write_desc(vq, 1, buf + 16, 16, 0, 0);
    qvirtqueue_publish(vq, 0);
}

static void hostile_avail_jump(QVirtQueue *vq, uint64_t buf)
{
    qvirtqueue_write_desc(vq, 0, buf, 16, QVRING_DESC_F_WRITE, 0);
    qvirtqueue_set_avail_idx(vq, vq->num + 1);
}

static void hostile_ring_in_mmio(QVirtQueue *vq, uint64_t buf)
{
    /* not a chain: the queue itself points into MMIO (set up below) */
}

static void run_hostile(gconstpointer opaque)
{
    HostileSetup setup = (HostileSetup)opaque;
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci", &d, RNG_TRANSITIONAL,
                            true);
    QVirtQueue vq;
    uint64_t buf;
    uint16_t id;
    uint32_t len;

    qvirtio_msix_enable(&d, 2);
    g_assert(qvirtio_negotiate(&d, std_features(&d)));
    qvirtio_set_config_vector(&d, 0);
    qvirtqueue_setup(&vq, &d, 0, 0, false);
    if (setup == hostile_ring_in_mmio) {
        /* rings moved into the MSI-X table after enabling is ignored, so
         * reset and configure a queue whose used ring is MMIO */
        qvirtio_reset(&d);
        g_assert(qvirtio_negotiate(&d, std_features(&d)));
        qvirtio_set_config_vector(&d, 0);
        qtest_writew(qts, d.common + 0x16, 0);
        qtest_writeq(qts, d.common + 0x20, qvirtio_alloc(128, 16));
        qtest_writeq(qts, d.common + 0x28, qvirtio_alloc(64, 2));
        qtest_writeq(qts, d.common + 0x30, d.common);
        qtest_writew(qts, d.common + 0x1c, 1);
    }
    qvirtio_driver_ok(&d);
    buf = qvirtio_alloc(64, 16);
    setup(&vq, buf);
    qvirtqueue_kick(&vq);
    g_assert(qvirtio_get_status(&d) & QVIRTIO_S_NEEDS_RESET);
    g_assert(qvirtio_msix_fired(&d, 0));        /* config change */
    g_assert(!qvirtqueue_get_used(&vq, &id, &len, 10));
    /* a stopped queue stays stopped */
    qvirtqueue_kick(&vq);
    /* reset brings it back */
    qvirtio_mem_reset();
    qvirtio_msix_enable(&d, 2);
    init_rng(&d, &vq, false);
    g_assert(!(qvirtio_get_status(&d) & QVIRTIO_S_NEEDS_RESET));
    rng_request(&vq, false, BUF_LEN);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_hostile_packed_loop(void)
{
    QVirtioDev d;
    QTestState *qts = start("-device virtio-rng-pci,packed=on", &d,
                            RNG_TRANSITIONAL, true);
    QVirtQueue vq;
    uint64_t buf = qvirtio_alloc(64, 16);

    init_rng(&d, &vq, true);
    /* every slot says NEXT: a chain longer than the ring */
    for (unsigned i = 0; i < vq.num; i++) {
        uint64_t a = vq.desc + 16ULL * i;
        qtest_writeq(qts, a, buf);
        qtest_writel(qts, a + 8, 8);
        qtest_writew(qts, a + 12, 0);
        qtest_writew(qts, a + 14, (1u << 7) | QVRING_DESC_F_NEXT |
                     QVRING_DESC_F_WRITE);
    }
    qvirtqueue_kick(&vq);
    g_assert(qvirtio_get_status(&d) & QVIRTIO_S_NEEDS_RESET);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static const struct {
    const char *name;
    HostileSetup fn;
} hostile_cases[] = {
    { "loop", hostile_loop },
    { "next-out-of-range", hostile_next_out_of_range },
    { "head-out-of-range", hostile_head_out_of_range },
    { "indirect-in-indirect", hostile_indirect_in_indirect },
    { "indirect-loop", hostile_indirect_loop },
    { "indirect-bad-length", hostile_indirect_bad_len },
    { "outside-ram", hostile_outside_ram },
    { "crosses-ram-end", hostile_crosses_ram_end },
    { "in-mmio", hostile_in_mmio },
    { "wrapping-address", hostile_wrapping_addr },
    { "zero-length", hostile_zero_len },
    { "readable-after-writable", hostile_read_after_write },
    { "avail-idx-jump", hostile_avail_jump },
    { "used-ring-in-mmio", hostile_ring_in_mmio },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-pci/ids", test_ids);
    g_test_add_func("/virtio-pci/caps", test_caps);
    g_test_add_func("/virtio-pci/features", test_features);
    g_test_add_func("/virtio-pci/packed-offered", test_packed_offered);
    g_test_add_func("/virtio-pci/iommu-platform-refused",
                    test_iommu_platform_refused);
    g_test_add_func("/virtio-pci/msix", test_msix);
    g_test_add_func("/virtio-pci/intx-isr", test_intx_isr);
    g_test_add_func("/virtio-pci/queue-reset", test_queue_reset);
    g_test_add_func("/virtio-rng/modern-split", test_rng_modern_split);
    g_test_add_func("/virtio-rng/modern-packed", test_rng_modern_packed);
    g_test_add_func("/virtio-rng/packed-chain", test_rng_packed_chain);
    g_test_add_func("/virtio-rng/legacy", test_rng_legacy);
    g_test_add_func("/virtio-rng/file-backend", test_rng_file_backend);
    g_test_add_func("/virtio-rng/rate-limit", test_rng_rate_limit);
    g_test_add_func("/virtio-rng/bad-object", test_bad_object);
    for (unsigned i = 0; i < G_N_ELEMENTS(hostile_cases); i++) {
        g_autofree char *path = g_strdup_printf("/virtio/hostile/%s",
                                                hostile_cases[i].name);
        g_test_add_data_func(path, (gconstpointer)hostile_cases[i].fn,
                             run_hostile);
    }
    g_test_add_func("/virtio/hostile/packed-endless-chain",
                    test_hostile_packed_loop);
    return g_test_run();
}
