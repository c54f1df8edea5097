/*
 * virtio-pci transport, virtio core and virtio-rng-pci, driven through
 * libqvirtio as a guest driver would (OASIS VIRTIO 1.2, 2.x, 4.1, 5.4).
 * Hostile rings at the end: each must leave the device NEEDS_RESET with
 * kvmpc alive, and a reset must bring it back.
 */
#include "libqvirtio.h"
#include <string.h>
#include <unistd.h>

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
    g_assert_cmphex(qpci_cfg_readw(qts, t, 0x0a), ==, 0x00ff); /* QEMU's */
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

/* ---- behind a PCI Express port: a PCI Express endpoint ------------- */

/*
 * QEMU 7.2 makes a virtio device behind a pcie-root-port (or a switch
 * port) a modern-only PCI Express endpoint with a PM capability; on
 * pcie.0 and pc's pci.0 it stays transitional.  The script below reads
 * the same things from kvmpc and, when qemu-system-x86_64 is installed,
 * from QEMU (TCG, stopped): the two transcripts must be equal.  The
 * values asserted on kvmpc's alone were read from QEMU 7.2 the same way.
 */
#define ECAM_BASE       0xb0000000ULL
#define Q35_MCH         0
/* root port N's memory window: 1 MiB at RP_WINDOW(N) */
#define RP_WINDOW(bus)  (0xfe000000u + ((bus) - 1) * 0x100000u)
#define PCIE_BLK_BUS    1               /* rp1 (00:04.0): virtio-blk-pci */
#define PCIE_NET_BUS    2               /* rp2 (00:05.0): virtio-net-pci */
#define PCIE_LEG_BUS    3               /* rp3 (00:06.0): disable-legacy=off */
#define PCIE_IMAGES     3               /* drives d0-d2 */
#define ROOT_BLK_DEVFN  (7 << 3)        /* pcie.0 00:07.0: virtio-blk-pci */
#define EXP_CAP         0x40            /* QEMU's offsets */
#define PM_CAP          0x7c

static const char pcie_devices[] =
    "-machine q35 "
    "-device pcie-root-port,id=rp1,chassis=1,addr=4.0 "
    "-device pcie-root-port,id=rp2,chassis=2,addr=5.0 "
    "-device pcie-root-port,id=rp3,chassis=3,addr=6.0 "
    "-device virtio-blk-pci,bus=rp1,drive=d0 "
    "-device virtio-net-pci,bus=rp2,romfile= "
    "-device virtio-blk-pci,bus=rp3,drive=d2,disable-legacy=off "
    "-device virtio-blk-pci,bus=pcie.0,addr=7.0,drive=d1 ";

static uint64_t ecam(unsigned bus, unsigned devfn, unsigned reg)
{
    return ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + reg;
}

static uint32_t ecam_readl(QTestState *s, unsigned bus, unsigned devfn,
                           unsigned reg)
{
    return qtest_readl(s, ecam(bus, devfn, reg));
}

static void ecam_writel(QTestState *s, unsigned bus, unsigned devfn,
                        unsigned reg, uint32_t val)
{
    qtest_writel(s, ecam(bus, devfn, reg), val);
}

static void ecam_writew(QTestState *s, unsigned bus, unsigned devfn,
                        unsigned reg, uint16_t val)
{
    qtest_writew(s, ecam(bus, devfn, reg), val);
}

/* What firmware does first: ECAM on (MCH PCIEXBAR), each root port gets
 * its bus number and a memory window. */
static void pcie_setup(QTestState *s)
{
    qpci_cfg_writel(s, Q35_MCH, 0x60, (uint32_t)ECAM_BASE | 1);
    for (unsigned bus = 1; bus <= 3; bus++) {
        unsigned port = (3 + bus) << 3;
        ecam_writel(s, 0, port, 0x18, bus << 8 | bus << 16);
        ecam_writel(s, 0, port, 0x20, (RP_WINDOW(bus) >> 16) |
                    (RP_WINDOW(bus) >> 16) << 16);
        ecam_writew(s, 0, port, 0x04, 0x6);     /* memory, master */
    }
}

static void pcie_images(char *img[PCIE_IMAGES])
{
    for (unsigned i = 0; i < PCIE_IMAGES; i++) {
        GError *err = NULL;
        /* GLib's default template: a unique scratch file in TMPDIR */
        int fd = g_file_open_tmp(NULL, &img[i], &err);

        g_assert_no_error(err);
        g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
        close(fd);
    }
}

static void pcie_images_remove(char *img[PCIE_IMAGES])
{
    for (unsigned i = 0; i < PCIE_IMAGES; i++) {
        unlink(img[i]);
        g_free(img[i]);
    }
}

static QTestState *pcie_start(const char *qemu, char *img[PCIE_IMAGES])
{
    g_autofree char *args = g_strdup_printf(
        "%s -drive if=none,id=d0,file=%s,format=raw "
        "-drive if=none,id=d1,file=%s,format=raw "
        "-drive if=none,id=d2,file=%s,format=raw", pcie_devices, img[0],
        img[1], img[2]);
    QTestState *s = qemu ? qtest_init_qemu(qemu, args) : qtest_init(args);

    pcie_setup(s);
    return s;
}

/* The header and capability area, and samples of the extended space. */
static void dump_function(GString *out, QTestState *s, unsigned bus,
                          unsigned devfn)
{
    static const unsigned ext[] = { 0x100, 0x104, 0x800, 0xffc };

    g_string_append_printf(out, "function %02x:%02x.%x\n", bus,
                           devfn >> 3, devfn & 7);
    for (unsigned reg = 0; reg < 0x100; reg += 16) {
        g_string_append_printf(out, "%03x:", reg);
        for (unsigned i = 0; i < 16; i += 4) {
            g_string_append_printf(out, " %08x",
                                   ecam_readl(s, bus, devfn, reg + i));
        }
        g_string_append_c(out, '\n');
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(ext); i++) {
        g_string_append_printf(out, "%03x: %08x\n", ext[i],
                               ecam_readl(s, bus, devfn, ext[i]));
    }
}

/* BAR sizes (all-ones written), then the old value back. */
static void dump_bars(GString *out, QTestState *s, unsigned bus,
                      unsigned devfn)
{
    for (unsigned bar = 0; bar < 6; bar++) {
        unsigned reg = 0x10 + bar * 4;
        uint32_t old = ecam_readl(s, bus, devfn, reg);

        ecam_writel(s, bus, devfn, reg, 0xffffffff);
        g_string_append_printf(out, "BAR%u %08x\n", bar,
                               ecam_readl(s, bus, devfn, reg));
        ecam_writel(s, bus, devfn, reg, old);
    }
}

/* Each dword of the PCI Express and PM capabilities after all-ones and
 * all-zeros writes (Initiate FLR among them: a reset, the bit reads 0). */
static void dump_writable(GString *out, QTestState *s, unsigned bus,
                          unsigned devfn)
{
    static const struct { unsigned start, len; } caps[] = {
        { EXP_CAP + 4, 0x3c - 4 }, { PM_CAP + 4, 4 }, { 0x100, 8 },
        { 0x800, 4 }, { 0xffc, 4 },
    };

    for (unsigned c = 0; c < G_N_ELEMENTS(caps); c++) {
        for (unsigned reg = caps[c].start;
             reg < caps[c].start + caps[c].len; reg += 4) {
            uint32_t old = ecam_readl(s, bus, devfn, reg), ones, zeros;

            ecam_writel(s, bus, devfn, reg, 0xffffffff);
            ones = ecam_readl(s, bus, devfn, reg);
            ecam_writel(s, bus, devfn, reg, 0);
            zeros = ecam_readl(s, bus, devfn, reg);
            ecam_writel(s, bus, devfn, reg, old);
            g_string_append_printf(out, "W %03x %08x %08x\n", reg, ones,
                                   zeros);
        }
    }
}

/*
 * Function Level Reset: with the device's status ACKNOWLEDGE (through
 * BAR 4 in the port's window), D3hot, the error enables, Common Clock and
 * End-End TLP Prefix Blocking set, Initiate FLR.  What is left: the
 * command register, PM control, DEVCTL, LNKCTL, DEVCTL2, the status.
 */
static void dump_flr(GString *out, QTestState *s, unsigned bus)
{
    uint64_t common = RP_WINDOW(bus);

    ecam_writel(s, bus, 0, 0x20, (uint32_t)common);
    ecam_writel(s, bus, 0, 0x24, 0);
    ecam_writew(s, bus, 0, 0x04, 0x6);
    qtest_writeb(s, common + 0x14, 1);
    ecam_writew(s, bus, 0, PM_CAP + 4, 3);
    ecam_writew(s, bus, 0, EXP_CAP + 8, 0x000f);
    ecam_writew(s, bus, 0, EXP_CAP + 0x10, 0x00c0);
    ecam_writew(s, bus, 0, EXP_CAP + 0x28, 0x8000);
    g_string_append_printf(out, "before FLR: %08x %08x %08x %08x %08x "
                           "status %02x\n",
                           ecam_readl(s, bus, 0, 0x04),
                           ecam_readl(s, bus, 0, PM_CAP + 4),
                           ecam_readl(s, bus, 0, EXP_CAP + 8),
                           ecam_readl(s, bus, 0, EXP_CAP + 0x10),
                           ecam_readl(s, bus, 0, EXP_CAP + 0x28),
                           qtest_readb(s, common + 0x14));
    ecam_writew(s, bus, 0, EXP_CAP + 8, 0x800f);
    g_string_append_printf(out, "after FLR: %08x %08x %08x %08x %08x "
                           "BAR4 %08x\n",
                           ecam_readl(s, bus, 0, 0x04),
                           ecam_readl(s, bus, 0, PM_CAP + 4),
                           ecam_readl(s, bus, 0, EXP_CAP + 8),
                           ecam_readl(s, bus, 0, EXP_CAP + 0x10),
                           ecam_readl(s, bus, 0, EXP_CAP + 0x28),
                           ecam_readl(s, bus, 0, 0x20));
    ecam_writel(s, bus, 0, 0x20, (uint32_t)common);
    ecam_writew(s, bus, 0, 0x04, 0x6);
    g_string_append_printf(out, "status after FLR %02x\n",
                           qtest_readb(s, common + 0x14));
}

static char *pcie_transcript(const char *qemu, char *img[PCIE_IMAGES])
{
    QTestState *s = pcie_start(qemu, img);
    GString *out = g_string_new(NULL);

    dump_function(out, s, PCIE_BLK_BUS, 0);
    dump_function(out, s, PCIE_NET_BUS, 0);
    dump_function(out, s, PCIE_LEG_BUS, 0);
    dump_function(out, s, 0, ROOT_BLK_DEVFN);
    dump_bars(out, s, PCIE_BLK_BUS, 0);
    dump_bars(out, s, PCIE_NET_BUS, 0);
    dump_bars(out, s, PCIE_LEG_BUS, 0);
    dump_bars(out, s, 0, ROOT_BLK_DEVFN);
    dump_writable(out, s, PCIE_BLK_BUS, 0);
    dump_writable(out, s, PCIE_LEG_BUS, 0);
    dump_flr(out, s, PCIE_BLK_BUS);
    qtest_quit(s);
    return g_string_free(out, false);
}

/* The capability IDs in list order, "10@40 01@7c ...". */
static char *cap_chain(QTestState *s, unsigned bus, unsigned devfn)
{
    GString *out = g_string_new(NULL);
    unsigned off = ecam_readl(s, bus, devfn, 0x34) & 0xff;

    for (unsigned n = 0; off && n < 48; n++) {
        uint32_t hdr = ecam_readl(s, bus, devfn, off);

        g_string_append_printf(out, "%s%02x@%02x", n ? " " : "", hdr & 0xff,
                               off);
        off = (hdr >> 8) & 0xfc;
    }
    return g_string_free(out, false);
}

static void assert_pcie_endpoint(QTestState *s, unsigned bus, uint32_t id)
{
    g_autofree char *chain = cap_chain(s, bus, 0);

    g_assert_cmphex(ecam_readl(s, bus, 0, 0x00), ==, id);
    g_assert_cmphex(ecam_readl(s, bus, 0, 0x08) & 0xff, ==, 1);
    g_assert_cmphex(ecam_readl(s, bus, 0, 0x2c), ==, 0x11001af4);
    g_assert_cmphex(ecam_readl(s, bus, 0, 0x10), ==, 0);      /* no I/O BAR */
    g_assert_true(g_str_has_prefix(chain, "11@"));            /* MSI-X */
    g_assert_true(g_str_has_suffix(chain, " 01@7c 10@40"));
    /* Endpoint, version 2; RBER and FLR; L0s, x1 at 2.5 GT/s; Extended
     * Fmt Field and End-End TLP Prefix; PM 1.2 in D0 */
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP), ==, 0x00020010);
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP + 4), ==, 0x10008000);
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP + 8), ==, 0);
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP + 0xc), ==, 0x00000411);
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP + 0x10), ==, 0x00110000);
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP + 0x24), ==, 0x00300000);
    g_assert_cmphex(ecam_readl(s, bus, 0, EXP_CAP + 0x2c), ==, 0);
    g_assert_cmphex(ecam_readl(s, bus, 0, PM_CAP) & 0xffff00ff, ==,
                    0x00030001);
    g_assert_cmphex(ecam_readl(s, bus, 0, PM_CAP + 4), ==, 0);
    /* 4 KiB of configuration space: the extended space reads 0 */
    g_assert_cmphex(ecam_readl(s, bus, 0, 0x100), ==, 0);
}

static void test_pcie_port_endpoint(void)
{
    char *img[PCIE_IMAGES];
    QTestState *s;
    g_autofree char *root_chain = NULL, *leg_chain = NULL;

    pcie_images(img);
    s = pcie_start(NULL, img);
    assert_pcie_endpoint(s, PCIE_BLK_BUS, 0x10421af4);
    assert_pcie_endpoint(s, PCIE_NET_BUS, 0x10411af4);
    /* disable-legacy=off behind a port: transitional (I/O BAR 0), and a
     * PCI Express endpoint all the same */
    g_assert_cmphex(ecam_readl(s, PCIE_LEG_BUS, 0, 0), ==, 0x10011af4);
    g_assert_cmphex(ecam_readl(s, PCIE_LEG_BUS, 0, 0x08) & 0xff, ==, 0);
    g_assert_cmphex(ecam_readl(s, PCIE_LEG_BUS, 0, 0x10), ==, 1);
    leg_chain = cap_chain(s, PCIE_LEG_BUS, 0);
    g_assert_true(g_str_has_suffix(leg_chain, " 01@7c 10@40"));
    /* pcie.0: transitional, conventional (no PCI Express capability, the
     * extended space reads all-ones) */
    g_assert_cmphex(ecam_readl(s, 0, ROOT_BLK_DEVFN, 0), ==, 0x10011af4);
    g_assert_cmphex(ecam_readl(s, 0, ROOT_BLK_DEVFN, 0x10) & 1, ==, 1);
    root_chain = cap_chain(s, 0, ROOT_BLK_DEVFN);
    g_assert_null(strstr(root_chain, "10@"));
    g_assert_null(strstr(root_chain, "01@"));
    g_assert_cmphex(ecam_readl(s, 0, ROOT_BLK_DEVFN, 0x100), ==, 0xffffffff);
    qtest_quit(s);
    /* pc: transitional, as before */
    s = qtest_initf("-drive if=none,id=d0,file=%s,format=raw "
                    "-device virtio-blk-pci,addr=4,drive=d0", img[0]);
    g_assert_cmphex(qpci_cfg_readl(s, 4 << 3, 0), ==, 0x10011af4);
    g_assert_cmphex(qpci_cfg_readl(s, 4 << 3, 0x10) & 1, ==, 1);
    qtest_quit(s);
    pcie_images_remove(img);
}

/* The transcript (layout, BAR sizes, writable bits, FLR) against QEMU's. */
static void test_pcie_port_like_qemu(void)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *ours = NULL, *theirs = NULL;
    char *img[PCIE_IMAGES];

    pcie_images(img);
    ours = pcie_transcript(NULL, img);
    if (qemu) {
        theirs = pcie_transcript(qemu, img);
    } else {
        g_test_message("qemu-system-x86_64 not installed: not compared");
    }
    pcie_images_remove(img);
    if (theirs) {
        g_assert_cmpstr(ours, ==, theirs);
    }
    /* FLR: back in D0, the enables and the device status cleared */
    g_assert_nonnull(strstr(ours, "status after FLR 00\n"));
}

/* Wait for QMP's query-* answer to contain @want (10 s at most). */
static void qmp_wait_for(QMPConn *c, const char *cmd, const char *want)
{
    for (int i = 0; i < 1000; i++) {
        g_autofree char *r = qmp_cmd(c, cmd);

        g_assert_null(strstr(r, "\"failed\""));
        if (strstr(r, want)) {
            return;
        }
        g_usleep(10000);
    }
    g_assert_not_reached();
}

/*
 * A modern-only endpoint behind a root port migrates: its identity is the
 * one it was realized with, and what the driver wrote in the PCI Express
 * and PM capabilities (inside the first 256 bytes) arrives.
 */
static void test_pcie_port_migrate(void)
{
    static const char dev[] =
        "-machine q35 -device pcie-root-port,id=rp1,chassis=1,addr=4.0 "
        "-device pcie-root-port,id=rp2,chassis=2,addr=5.0 "
        "-device pcie-root-port,id=rp3,chassis=3,addr=6.0 "
        "-device virtio-rng-pci,bus=rp1";
    g_autofree char *dir = g_dir_make_tmp(NULL, NULL);     /* unique */
    g_autofree char *mig = g_build_filename(dir, "mig", NULL);
    g_autofree char *ssock = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *dsock = g_build_filename(dir, "d.sock", NULL);
    g_autofree char *sargs = g_strdup_printf(
        "%s -qmp unix:%s,server=on,wait=off", dev, ssock);
    g_autofree char *dargs = g_strdup_printf(
        "%s -incoming file:%s -qmp unix:%s,server=on,wait=off", dev, mig,
        dsock);
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"file:%s\"}}", mig);
    QTestState *s = qtest_init(sargs), *d;
    QMPConn *sq = qmp_connect(ssock), *dq;
    g_autofree char *legacy_chain = NULL;
    uint32_t aer_mask;

    pcie_setup(s);
    ecam_writew(s, PCIE_BLK_BUS, 0, PM_CAP + 4, 3);
    ecam_writew(s, PCIE_BLK_BUS, 0, EXP_CAP + 8, 0x0005);
    ecam_writew(s, PCIE_BLK_BUS, 0, EXP_CAP + 0x10, 0x0040);
    /* the extended space migrates: free bytes of the function, and the
     * root port's AER Uncorrectable Error Mask (100h + 8) */
    ecam_writel(s, PCIE_BLK_BUS, 0, 0x800, 0x12345678);
    ecam_writel(s, PCIE_BLK_BUS, 0, 0xffc, 0x9abcdef0);
    ecam_writel(s, 0, (4 << 3), 0x108, 0xffffffff);
    aer_mask = ecam_readl(s, 0, (4 << 3), 0x108);
    g_assert_cmphex(aer_mask, !=, 0);
    g_free(qmp_cmd(sq, cmd));
    qmp_wait_for(sq, "{\"execute\":\"query-migrate\"}", "\"completed\"");
    qmp_close(sq);
    qtest_quit(s);

    d = qtest_init(dargs);
    dq = qmp_connect(dsock);
    qmp_wait_for(dq, "{\"execute\":\"query-migrate\"}", "\"completed\"");
    g_assert_cmphex(ecam_readl(d, PCIE_BLK_BUS, 0, 0), ==, 0x10441af4);
    g_assert_cmphex(ecam_readl(d, PCIE_BLK_BUS, 0, PM_CAP + 4), ==, 3);
    g_assert_cmphex(ecam_readl(d, PCIE_BLK_BUS, 0, EXP_CAP + 8), ==, 5);
    g_assert_cmphex(ecam_readl(d, PCIE_BLK_BUS, 0, EXP_CAP + 0x10), ==,
                    0x00110040);
    g_assert_cmphex(ecam_readl(d, PCIE_BLK_BUS, 0, 0x800), ==, 0x12345678);
    g_assert_cmphex(ecam_readl(d, PCIE_BLK_BUS, 0, 0xffc), ==, 0x9abcdef0);
    g_assert_cmphex(ecam_readl(d, 0, (4 << 3), 0x108), ==, aer_mask);
    /* Hot-plugged into a port: disable-modern=on alone leaves neither
     * interface (QEMU 7.2's error); with disable-legacy=off it is a
     * conventional legacy-only function. */
    qmp_assert_error(dq, "{\"execute\":\"device_add\",\"arguments\":{"
                     "\"driver\":\"virtio-rng-pci\",\"bus\":\"rp2\","
                     "\"disable-modern\":true}}",
                     "device cannot work as neither modern nor legacy mode "
                     "is enabled");
    qmp_assert_ok(dq, "{\"execute\":\"device_add\",\"arguments\":{"
                  "\"driver\":\"virtio-rng-pci\",\"bus\":\"rp3\","
                  "\"disable-modern\":true,\"disable-legacy\":\"off\"}}");
    g_assert_cmphex(ecam_readl(d, 3, 0, 0), ==, 0x10051af4);
    legacy_chain = cap_chain(d, 3, 0);
    g_assert_cmpstr(legacy_chain, ==, "11@40");          /* MSI-X only */
    g_assert_cmphex(ecam_readl(d, 3, 0, 0x100), ==, 0xffffffff);
    qmp_close(dq);
    g_assert_cmpint(qtest_quit(d), ==, 0);
    unlink(mig);
    rmdir(dir);
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
    g_test_add_func("/virtio-pci/pcie-port-endpoint",
                    test_pcie_port_endpoint);
    g_test_add_func("/virtio-pci/pcie-port-like-qemu",
                    test_pcie_port_like_qemu);
    g_test_add_func("/virtio-pci/pcie-port-migrate", test_pcie_port_migrate);
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
