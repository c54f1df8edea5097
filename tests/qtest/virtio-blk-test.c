/*
 * virtio-blk-pci through libqvirtio (OASIS VIRTIO 1.2, 5.2): identity,
 * features and configuration, reads and writes against raw and qcow2
 * images checked on the host side, flush, GET_ID, discard (the file gets
 * sparse), write-zeroes, a read-only drive, bad ranges, broken framing,
 * unsupported types, two queues, packed rings, an I/O thread, werror=stop
 * with blkdebug and `cont`, block_resize's configuration interrupt,
 * write-through after CONFIG_WCE, the monitor's view, and hostile
 * chains specific to virtio-blk.
 */
#include "libqvirtio.h"
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#define BLK_TRANSITIONAL    0x1001
#define BLK_MODERN          0x1042
#define SECTOR              512
#define DISK_SIZE           (16 << 20)
#define DISK_SECTORS        (DISK_SIZE / SECTOR)

#define T_IN                0
#define T_OUT               1
#define T_FLUSH             4
#define T_GET_ID            8
#define T_DISCARD           11
#define T_WRITE_ZEROES      13
#define S_OK                0
#define S_IOERR             1
#define S_UNSUPP            2

#define F_SIZE_MAX          1
#define F_SEG_MAX           2
#define F_RO                5
#define F_BLK_SIZE          6
#define F_FLUSH             9
#define F_TOPOLOGY          10
#define F_CONFIG_WCE        11
#define F_MQ                12
#define F_DISCARD           13
#define F_WRITE_ZEROES      14

#define BUF_MAX             (2 << 20)

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue vq[2];
    QMPConn *qmp;
    char *dir;
    char *img;
    uint64_t hdr, status, data;     /* scratch guest memory */
} Env;

static char *make_image(const char *dir, const char *fmt, uint64_t size)
{
    char *path = g_strdup_printf("%s/disk.%s", dir, fmt);

    if (!strcmp(fmt, "raw")) {
        int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, size), ==, 0);
        close(fd);
    } else {
        g_autofree char *cmd = g_strdup_printf(
            "qemu-img create -q -f %s '%s' %" PRIu64, fmt, path, size);
        g_assert_cmpint(system(cmd), ==, 0);
    }
    return path;
}

/*
 * Start kvmpc with @args, where "%IMG" stands for the image path and
 * "%DIR" for the test's directory; find the function and initialise it
 * (@modern interface).  @fmt NULL: no image made.
 */
static void env_start_fmt(Env *e, const char *fmt, const char *args,
                          bool modern, uint16_t device_id)
{
    g_autofree char *sock = NULL, *full = NULL;
    g_autoptr(GString) a = g_string_new(args);
    int devfn;

    e->dir = g_dir_make_tmp("kvmpc-vblk-XXXXXX", NULL);
    if (fmt) {
        e->img = make_image(e->dir, fmt, DISK_SIZE);
        g_string_replace(a, "%IMG", e->img, 0);
    }
    g_string_replace(a, "%DIR", e->dir, 0);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    full = g_strdup_printf("-nodefaults %s -qmp unix:%s,server=on,wait=off",
                           a->str, sock);
    e->qts = qtest_init(full);
    devfn = qvirtio_pci_find(e->qts, device_id);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, modern);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    e->hdr = qvirtio_alloc(16, 16);
    e->status = qvirtio_alloc(16, 16);
    e->data = qvirtio_alloc(BUF_MAX, 4096);
}

static void env_start(Env *e, const char *args)
{
    env_start_fmt(e, "raw", args, true, BLK_TRANSITIONAL);
}

/* Features: everything offered that this driver knows, plus @extra. */
static uint64_t driver_features(Env *e, uint64_t extra)
{
    uint64_t want = QVIRTIO_BIT(F_SIZE_MAX) | QVIRTIO_BIT(F_SEG_MAX) |
                    QVIRTIO_BIT(F_RO) | QVIRTIO_BIT(F_BLK_SIZE) |
                    QVIRTIO_BIT(F_FLUSH) | QVIRTIO_BIT(F_TOPOLOGY) |
                    QVIRTIO_BIT(F_CONFIG_WCE) | QVIRTIO_BIT(F_MQ) |
                    QVIRTIO_BIT(F_DISCARD) | QVIRTIO_BIT(F_WRITE_ZEROES) |
                    QVIRTIO_BIT(QVIRTIO_F_RING_PACKED) |
                    QVIRTIO_BIT(QVIRTIO_F_INDIRECT) | extra;

    if (e->d.modern) {
        want |= QVIRTIO_BIT(QVIRTIO_F_VERSION_1);
    }
    return e->d.features & want;
}

static void env_driver_init_q(Env *e, unsigned nq, uint64_t extra)
{
    uint64_t f = driver_features(e, extra);

    if (e->d.modern) {
        qvirtio_msix_enable(&e->d, nq + 1);
    }
    g_assert(qvirtio_negotiate(&e->d, f));
    if (e->d.modern) {
        g_assert_cmpint(qvirtio_set_config_vector(&e->d, 0), ==, 0);
    }
    for (unsigned i = 0; i < nq; i++) {
        qvirtqueue_setup(&e->vq[i], &e->d, i, 0,
                         f & QVIRTIO_BIT(QVIRTIO_F_RING_PACKED));
        if (e->d.modern) {
            g_assert_cmpint(qvirtio_set_queue_vector(&e->d, i, i + 1), ==,
                            i + 1);
        }
    }
    qvirtio_driver_ok(&e->d);
}

static void env_driver_init(Env *e)
{
    env_driver_init_q(e, 1, 0);
}

static void env_end(Env *e)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", e->dir);

    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(e->dir);
    g_free(e->img);
}

static void write_hdr(Env *e, uint32_t type, uint64_t sector)
{
    qtest_writel(e->qts, e->hdr, type);
    qtest_writel(e->qts, e->hdr + 4, 0);
    qtest_writeq(e->qts, e->hdr + 8, sector);
}

/* Post @bufs on @vq, kick, wait for it; returns the used length. */
static uint32_t run_chain(QVirtQueue *vq, const QVirtBuf *bufs, unsigned n)
{
    uint16_t head = qvirtqueue_add(vq, bufs, n);
    uint16_t id;
    uint32_t len;

    qvirtqueue_kick(vq);
    g_assert(qvirtqueue_get_used(vq, &id, &len, 10000));
    g_assert_cmpint(id, ==, head);
    return len;
}

/*
 * One request: header, @len bytes of data at e->data (device-writable for
 * IN and GET_ID), the status byte.  Returns the status.
 */
static uint8_t req_q(Env *e, QVirtQueue *vq, uint32_t type, uint64_t sector,
                     uint32_t len)
{
    bool in = type == T_IN || type == T_GET_ID;
    QVirtBuf b[3] = {
        { e->hdr, 16, false },
        { e->data, len, in },
        { e->status, 1, true },
    };
    uint32_t used;

    write_hdr(e, type, sector);
    qtest_writeb(e->qts, e->status, 0xee);
    if (len) {
        used = run_chain(vq, b, 3);
    } else {
        b[1] = b[2];
        used = run_chain(vq, b, 2);
    }
    g_assert_cmpuint(used, ==, (in ? len : 0) + 1);
    return qtest_readb(e->qts, e->status);
}

static uint8_t req(Env *e, uint32_t type, uint64_t sector, uint32_t len)
{
    return req_q(e, &e->vq[0], type, sector, len);
}

static void fill(uint8_t *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + salt + (i >> 9));
    }
}

static void put_data(Env *e, const void *buf, size_t n)
{
    qtest_bufwrite(e->qts, e->data, buf, n);
}

static void get_data(Env *e, void *buf, size_t n)
{
    qtest_bufread(e->qts, e->data, buf, n);
}

static void host_read(const char *path, uint64_t off, void *buf, size_t n)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, n, off), ==, (ssize_t)n);
    close(fd);
}

static void host_write(const char *path, uint64_t off, const void *buf,
                       size_t n)
{
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, buf, n, off), ==, (ssize_t)n);
    close(fd);
}

static char *qmp(Env *e, const char *json)
{
    char *r = qmp_cmd(e->qmp, json);

    g_assert(r);
    return r;
}

/* ---- identity, features, configuration ------------------------------ */

static void test_ids_features_config(void)
{
    Env e = { 0 };
    uint64_t f;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,id=vblk0,addr=4");
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0), ==, 0x1af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 2), ==, 0x1001);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x0a), ==, 0x0100);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2c), ==, 0x1af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x2e), ==, 0x0002);
    f = e.d.features;
    /* as QEMU 7.2: no SIZE_MAX (SeaBIOS's driver breaks on 1 GiB) */
    g_assert(!(f & QVIRTIO_BIT(F_SIZE_MAX)));
    g_assert(f & QVIRTIO_BIT(F_SEG_MAX));
    g_assert(f & QVIRTIO_BIT(F_BLK_SIZE));
    g_assert(f & QVIRTIO_BIT(F_TOPOLOGY));
    g_assert(f & QVIRTIO_BIT(F_FLUSH));
    g_assert(f & QVIRTIO_BIT(F_CONFIG_WCE));
    g_assert(f & QVIRTIO_BIT(F_DISCARD));
    g_assert(f & QVIRTIO_BIT(F_WRITE_ZEROES));
    g_assert(!(f & QVIRTIO_BIT(F_RO)));
    g_assert(!(f & QVIRTIO_BIT(F_MQ)));
    g_assert(f & QVIRTIO_BIT(QVIRTIO_F_VERSION_1));
    /* capacity (le64), size_max, seg_max, blk_size, topology, writeback,
     * num_queues, discard and write-zeroes limits */
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 0), ==, DISK_SECTORS);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 4), ==, 0);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 8), ==, 0);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 12), ==, 254);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 20), ==, 512);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 24), ==, 0);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 32) & 0xff, ==, 1);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 32) >> 16, ==, 1);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 36), ==, 4194303);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 40), ==, 1);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 44), ==, 1);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 48), ==, 4194303);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 52), ==, 1);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 56) & 0xff, ==, 1);
    /* Queue size, as QEMU's default. */
    g_assert_cmpuint(qvirtio_queue_max(&e.d, 0), ==, 256);
    env_end(&e);
}

/* Properties reach the configuration; the alias and -drive if=virtio. */
static void test_config_props(void)
{
    Env e = { 0 };

    env_start_fmt(&e, "raw", "-drive if=none,id=d0,file=%IMG,format=raw "
                  "-device virtio-blk,drive=d0,logical_block_size=4096,"
                  "physical_block_size=16384,min_io_size=8192,"
                  "opt_io_size=65536,queue-size=128,num-queues=3,"
                  "disable-legacy=on,discard=off,max-write-zeroes-sectors=64,"
                  "config-wce=off", true, BLK_MODERN);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 2), ==, BLK_MODERN);
    g_assert_cmpuint(qpci_cfg_readb(e.qts, e.d.devfn, 8), ==, 1);
    g_assert(e.d.features & QVIRTIO_BIT(F_MQ));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_DISCARD)));
    g_assert(!(e.d.features & QVIRTIO_BIT(F_CONFIG_WCE)));
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 12), ==, 126);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 20), ==, 4096);
    /* physical_block_exp 2, alignment 0, min_io_size 2 blocks */
    g_assert_cmphex(qvirtio_config_readl(&e.d, 24), ==, 0x00020002);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 28), ==, 16);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 32) >> 16, ==, 3);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 44), ==, 8);
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 48), ==, 64);
    g_assert_cmpuint(qvirtio_queue_max(&e.d, 2), ==, 128);
    g_assert_cmpuint(qvirtio_queue_max(&e.d, 3), ==, 0);
    /* 512-byte requests on a 4 KiB-block disk are refused. */
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, 1, 4096), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, 8, 4096), ==, S_OK);
    env_end(&e);

    env_start_fmt(&e, "raw", "-drive if=virtio,file=%IMG,format=raw",
                  true, BLK_TRANSITIONAL);
    {
        g_autofree char *r = qmp(&e, "{\"execute\":\"query-block\"}");
        g_assert(strstr(r, "\"device\": \"virtio0\""));
    }
    env_end(&e);
}

/* ---- reads and writes ---------------------------------------------- */

static void rw_round_trip(Env *e, const char *fmt)
{
    g_autofree uint8_t *buf = g_malloc(256 * 1024);
    g_autofree uint8_t *got = g_malloc(256 * 1024);
    g_autofree uint8_t *host = g_malloc(256 * 1024);

    fill(buf, 256 * 1024, 3);
    put_data(e, buf, 256 * 1024);
    g_assert_cmpint(req(e, T_OUT, 100, 256 * 1024), ==, S_OK);
    memset(got, 0, 256 * 1024);
    put_data(e, got, 256 * 1024);
    g_assert_cmpint(req(e, T_IN, 100, 256 * 1024), ==, S_OK);
    get_data(e, got, 256 * 1024);
    g_assert_cmpmem(buf, 256 * 1024, got, 256 * 1024);
    /* The last sector too. */
    g_assert_cmpint(req(e, T_OUT, DISK_SECTORS - 1, SECTOR), ==, S_OK);
    g_assert_cmpint(req(e, T_FLUSH, 0, 0), ==, S_OK);

    /* On the host side. */
    if (!strcmp(fmt, "raw")) {
        host_read(e->img, 100 * SECTOR, host, 256 * 1024);
    } else {
        g_autofree char *out = g_strdup_printf("%s/out.raw", e->dir);
        g_autofree char *cmd = g_strdup_printf(
            "qemu-img convert -U -f %s -O raw '%s' '%s'", fmt, e->img, out);
        g_assert_cmpint(system(cmd), ==, 0);
        host_read(out, 100 * SECTOR, host, 256 * 1024);
        g_free(cmd);
        cmd = g_strdup_printf("qemu-img check -U -q '%s'", e->img);
        g_assert_cmpint(system(cmd), ==, 0);
    }
    g_assert_cmpmem(buf, 256 * 1024, host, 256 * 1024);

    /* And the other way: host bytes read by the guest (raw only). */
    if (!strcmp(fmt, "raw")) {
        fill(host, 4096, 99);
        host_write(e->img, 8 * SECTOR, host, 4096);
        g_assert_cmpint(req(e, T_IN, 8, 4096), ==, S_OK);
        get_data(e, got, 4096);
        g_assert_cmpmem(host, 4096, got, 4096);
    }
}

static void test_rw(gconstpointer data)
{
    const char *fmt = data;
    Env e = { 0 };
    g_autofree char *args = g_strdup_printf(
        "-drive if=none,id=d0,file=%%IMG,format=%s "
        "-device virtio-blk-pci,drive=d0", fmt);

    env_start_fmt(&e, fmt, args, true, BLK_TRANSITIONAL);
    env_driver_init(&e);
    rw_round_trip(&e, fmt);
    env_end(&e);
}

static void test_rw_legacy(void)
{
    Env e = { 0 };

    env_start_fmt(&e, "raw", "-drive if=none,id=d0,file=%IMG,format=raw "
                  "-device virtio-blk-pci,drive=d0,vectors=0", false,
                  BLK_TRANSITIONAL);
    env_driver_init(&e);
    rw_round_trip(&e, "raw");
    env_end(&e);
}

static void test_rw_packed(void)
{
    Env e = { 0 };

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw,aio=io_uring "
              "-device virtio-blk-pci,drive=d0,packed=on");
    env_driver_init(&e);
    g_assert(e.vq[0].packed);
    rw_round_trip(&e, "raw");
    env_end(&e);
}

/*
 * Any layout: the header and the data in one descriptor, the header
 * split over three, the read data and the status in one descriptor, and
 * data spread over many small buffers.
 */
static void test_any_layout(void)
{
    Env e = { 0 };
    uint8_t buf[4096], got[4096];
    uint64_t blob = 0, rd = 0;
    QVirtBuf b[10];

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    env_driver_init(&e);
    blob = qvirtio_alloc(16 + 4096, 16);
    rd = qvirtio_alloc(4096 + 1, 16);
    fill(buf, sizeof(buf), 11);
    qtest_writel(e.qts, blob, T_OUT);
    qtest_writel(e.qts, blob + 4, 0);
    qtest_writeq(e.qts, blob + 8, 40);
    qtest_bufwrite(e.qts, blob + 16, buf, sizeof(buf));
    b[0] = (QVirtBuf){ blob, 16 + 4096, false };
    b[1] = (QVirtBuf){ e.status, 1, true };
    g_assert_cmpuint(run_chain(&e.vq[0], b, 2), ==, 1);
    g_assert_cmpint(qtest_readb(e.qts, e.status), ==, S_OK);
    host_read(e.img, 40 * SECTOR, got, sizeof(got));
    g_assert_cmpmem(buf, sizeof(buf), got, sizeof(got));

    /* header 1 + 7 + 8 bytes, data and status in one buffer */
    write_hdr(&e, T_IN, 40);
    b[0] = (QVirtBuf){ e.hdr, 1, false };
    b[1] = (QVirtBuf){ e.hdr + 1, 7, false };
    b[2] = (QVirtBuf){ e.hdr + 8, 8, false };
    b[3] = (QVirtBuf){ rd, 4096 + 1, true };
    qtest_writeb(e.qts, rd + 4096, 0xee);
    g_assert_cmpuint(run_chain(&e.vq[0], b, 4), ==, 4097);
    g_assert_cmpint(qtest_readb(e.qts, rd + 4096), ==, S_OK);
    qtest_bufread(e.qts, rd, got, sizeof(got));
    g_assert_cmpmem(buf, sizeof(buf), got, sizeof(got));

    /* eight 512-byte buffers, in reverse guest order */
    write_hdr(&e, T_IN, 40);
    b[0] = (QVirtBuf){ e.hdr, 16, false };
    for (int i = 0; i < 8; i++) {
        b[1 + i] = (QVirtBuf){ e.data + (7 - i) * 512, 512, true };
    }
    b[9] = (QVirtBuf){ e.status, 1, true };
    g_assert_cmpuint(run_chain(&e.vq[0], b, 10), ==, 4097);
    g_assert_cmpint(qtest_readb(e.qts, e.status), ==, S_OK);
    for (int i = 0; i < 8; i++) {
        qtest_bufread(e.qts, e.data + (7 - i) * 512, got + i * 512, 512);
    }
    g_assert_cmpmem(buf, sizeof(buf), got, sizeof(got));
    env_end(&e);
}

/* ---- other requests ------------------------------------------------- */

static void test_flush_get_id(void)
{
    Env e = { 0 };
    uint8_t id[24];
    g_autofree char *r = NULL;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,id=vb,"
              "serial=ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_FLUSH, 0, 0), ==, S_OK);
    g_assert_cmpint(req(&e, T_FLUSH, 0, 0), ==, S_OK);
    r = qmp(&e, "{\"execute\":\"query-blockstats\"}");
    g_assert(strstr(r, "\"flush_operations\": 2"));
    /* as QEMU: the proxy's virtio-backend child holds the disk */
    g_assert(strstr(r, "\"qdev\": "
                    "\"/machine/peripheral/vb/virtio-backend\""));
    /* and that path names the disk where an id is taken */
    g_free(r);
    r = qmp(&e, "{\"execute\":\"blockdev-open-tray\",\"arguments\":"
            "{\"id\":\"/machine/peripheral/vb/virtio-backend\"}}");
    g_assert(strstr(r, "\"error\""));
    g_assert(!strstr(r, "not found"));
    g_assert(strstr(r, "d0") || strstr(r, "virtio-backend"));

    memset(id, 0xaa, sizeof(id));
    put_data(&e, id, sizeof(id));
    g_assert_cmpint(req(&e, T_GET_ID, 0, 24), ==, S_OK);
    get_data(&e, id, sizeof(id));
    g_assert_cmpmem(id, 20, "ABCDEFGHIJKLMNOPQRST", 20);
    g_assert_cmphex(id[20], ==, 0xaa);      /* 20 bytes only */
    env_end(&e);

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,serial=short");
    env_driver_init(&e);
    memset(id, 0xaa, sizeof(id));
    put_data(&e, id, sizeof(id));
    g_assert_cmpint(req(&e, T_GET_ID, 0, 20), ==, S_OK);
    get_data(&e, id, 20);
    g_assert_cmpmem(id, 5, "short", 5);
    for (int i = 5; i < 20; i++) {
        g_assert_cmphex(id[i], ==, 0);
    }
    /* A smaller buffer gets what fits. */
    memset(id, 0xaa, sizeof(id));
    put_data(&e, id, sizeof(id));
    g_assert_cmpint(req(&e, T_GET_ID, 0, 3), ==, S_OK);
    get_data(&e, id, 4);
    g_assert_cmpmem(id, 3, "sho", 3);
    g_assert_cmphex(id[3], ==, 0xaa);
    env_end(&e);
}

static void put_seg(Env *e, uint64_t sector, uint32_t num, uint32_t flags)
{
    qtest_writeq(e->qts, e->data, sector);
    qtest_writel(e->qts, e->data + 8, num);
    qtest_writel(e->qts, e->data + 12, flags);
}

static int64_t allocated(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return (int64_t)st.st_blocks * 512;
}

static void test_discard_write_zeroes(void)
{
    Env e = { 0 };
    g_autofree uint8_t *buf = g_malloc(1 << 20);
    g_autofree uint8_t *got = g_malloc(1 << 20);
    int64_t before;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw,discard=unmap "
              "-device virtio-blk-pci,drive=d0,max-discard-sectors=4096");
    env_driver_init(&e);
    fill(buf, 1 << 20, 5);
    put_data(&e, buf, 1 << 20);
    g_assert_cmpint(req(&e, T_OUT, 2048, 1 << 20), ==, S_OK);
    g_assert_cmpint(req(&e, T_FLUSH, 0, 0), ==, S_OK);
    before = allocated(e.img);
    g_assert_cmpint(before, >=, 1 << 20);

    /* discard 512 KiB: the file loses those blocks */
    put_seg(&e, 2048, 1024, 0);
    g_assert_cmpint(req(&e, T_DISCARD, 0, 16), ==, S_OK);
    g_assert_cmpint(allocated(e.img), <=, before - (512 << 10));
    host_read(e.img, 2048 * SECTOR, got, 512 << 10);
    memset(buf, 0, 512 << 10);
    g_assert_cmpmem(got, 512 << 10, buf, 512 << 10);

    /* write-zeroes without and with UNMAP */
    put_seg(&e, 3072, 64, 0);
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_OK);
    put_seg(&e, 3200, 64, 1);
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_OK);
    host_read(e.img, 3072 * SECTOR, got, 64 * SECTOR);
    g_assert_cmpmem(got, 64 * SECTOR, buf, 64 * SECTOR);
    host_read(e.img, 3200 * SECTOR, got, 64 * SECTOR);
    g_assert_cmpmem(got, 64 * SECTOR, buf, 64 * SECTOR);
    /* untouched neighbours keep their bytes */
    host_read(e.img, 3136 * SECTOR, got, 64 * SECTOR);
    fill(buf, 1 << 20, 5);
    g_assert_cmpmem(got, 64 * SECTOR, buf + (1088 * SECTOR), 64 * SECTOR);

    /* limits: max-discard-sectors, the disk's end, flags, segments */
    put_seg(&e, 0, 4097, 0);
    g_assert_cmpint(req(&e, T_DISCARD, 0, 16), ==, S_IOERR);
    put_seg(&e, DISK_SECTORS - 8, 16, 0);
    g_assert_cmpint(req(&e, T_DISCARD, 0, 16), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_IOERR);
    put_seg(&e, UINT64_MAX - 3, 8, 0);
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_IOERR);
    put_seg(&e, 0, 8, 1);                   /* UNMAP on a discard */
    g_assert_cmpint(req(&e, T_DISCARD, 0, 16), ==, S_UNSUPP);
    put_seg(&e, 0, 8, 2);                   /* unknown flag */
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_UNSUPP);
    put_seg(&e, 0, 8, 0);
    g_assert_cmpint(req(&e, T_DISCARD, 0, 32), ==, S_UNSUPP);  /* 2 segs */
    g_assert_cmpint(req(&e, T_DISCARD, 0, 8), ==, S_IOERR);    /* short */
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 0), ==, S_IOERR);
    env_end(&e);

    /* discard=off / write-zeroes=off on the device: UNSUPP */
    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,discard=off,write-zeroes=off");
    env_driver_init(&e);
    put_seg(&e, 0, 8, 0);
    g_assert_cmpint(req(&e, T_DISCARD, 0, 16), ==, S_UNSUPP);
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_UNSUPP);
    env_end(&e);
}

static void test_readonly(void)
{
    Env e = { 0 };
    uint8_t buf[512];

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw,readonly=on "
              "-device virtio-blk-pci,drive=d0");
    g_assert(e.d.features & QVIRTIO_BIT(F_RO));
    env_driver_init(&e);
    fill(buf, sizeof(buf), 1);
    put_data(&e, buf, sizeof(buf));
    g_assert_cmpint(req(&e, T_OUT, 0, 512), ==, S_IOERR);
    put_seg(&e, 0, 8, 0);
    g_assert_cmpint(req(&e, T_DISCARD, 0, 16), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_WRITE_ZEROES, 0, 16), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
    g_assert_cmpint(req(&e, T_FLUSH, 0, 0), ==, S_OK);
    host_read(e.img, 0, buf, sizeof(buf));
    for (int i = 0; i < 512; i++) {
        g_assert_cmphex(buf[i], ==, 0);
    }
    env_end(&e);
}

static void test_bad_ranges_types(void)
{
    Env e = { 0 };

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_IN, DISK_SECTORS, 512), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, DISK_SECTORS - 1, 1024), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_OUT, DISK_SECTORS - 1, 1024), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, UINT64_MAX, 512), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, 1ULL << 55, 512), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, 0, 100), ==, S_IOERR);    /* not sectors */
    g_assert_cmpint(req(&e, T_OUT, 0, 513), ==, S_IOERR);
    g_assert_cmpint(req(&e, T_IN, 0, 0), ==, S_OK);         /* nothing */
    g_assert_cmpint(req(&e, T_IN, DISK_SECTORS, 0), ==, S_OK);
    /* unsupported types: SCSI (2), GET_LIFETIME (10), SECURE_ERASE (14),
     * junk; the barrier bit is ignored */
    g_assert_cmpint(req(&e, 2, 0, 0), ==, S_UNSUPP);
    g_assert_cmpint(req(&e, 10, 0, 0), ==, S_UNSUPP);
    g_assert_cmpint(req(&e, 14, 0, 0), ==, S_UNSUPP);
    g_assert_cmpint(req(&e, 0x12345678, 0, 0), ==, S_UNSUPP);
    g_assert_cmpint(req(&e, 0x80000000u | T_FLUSH, 0, 0), ==, S_OK);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
    g_assert(!(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET));
    env_end(&e);
}

/* Broken framing breaks the device (QEMU's "missing headers"); after a
 * reset it works again. */
static void test_missing_headers(void)
{
    Env e = { 0 };
    QVirtBuf b[2];

    for (int c = 0; c < 3; c++) {
        uint16_t id;
        uint32_t len;

        env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
                  "-device virtio-blk-pci,drive=d0");
        env_driver_init(&e);
        write_hdr(&e, T_IN, 0);
        if (c == 0) {           /* 8-byte header */
            b[0] = (QVirtBuf){ e.hdr, 8, false };
            b[1] = (QVirtBuf){ e.status, 1, true };
        } else if (c == 1) {    /* no device-writable buffer: no status */
            b[0] = (QVirtBuf){ e.hdr, 16, false };
            b[1] = (QVirtBuf){ e.data, 512, false };
        } else {                /* only a status buffer, no header */
            b[0] = (QVirtBuf){ e.status, 1, true };
        }
        qvirtqueue_add(&e.vq[0], b, c == 2 ? 1 : 2);
        qvirtqueue_kick(&e.vq[0]);
        g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 100));
        g_assert(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET);
        qvirtio_reset(&e.d);
        qvirtio_mem_reset();
        e.hdr = qvirtio_alloc(16, 16);
        e.status = qvirtio_alloc(16, 16);
        e.data = qvirtio_alloc(BUF_MAX, 4096);
        env_driver_init(&e);
        g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
        env_end(&e);
    }
}

/*
 * Hostile chains: a data buffer in MMIO or past RAM, a read into ROM,
 * more chains than requests while they are in flight (queue-size 4).
 */
static void test_hostile(void)
{
    Env e = { 0 };
    QVirtBuf b[3];
    uint16_t id;
    uint32_t len;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    env_driver_init(&e);
    write_hdr(&e, T_IN, 0);
    b[0] = (QVirtBuf){ e.hdr, 16, false };
    b[1] = (QVirtBuf){ 0xfee00000, 512, true };    /* the LAPIC */
    b[2] = (QVirtBuf){ e.status, 1, true };
    qvirtqueue_add(&e.vq[0], b, 3);
    qvirtqueue_kick(&e.vq[0]);
    g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 100));
    g_assert(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET);
    qvirtio_reset(&e.d);
    env_driver_init(&e);
    /* a read into the BIOS ROM: refused by the chain walker */
    b[1] = (QVirtBuf){ 0xfffff000, 512, true };
    qvirtqueue_add(&e.vq[0], b, 3);
    qvirtqueue_kick(&e.vq[0]);
    g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 100));
    g_assert(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET);
    qvirtio_reset(&e.d);
    env_driver_init(&e);
    /* a write from the BIOS ROM is fine (device-readable) */
    write_hdr(&e, T_OUT, 0);
    b[1] = (QVirtBuf){ 0xfffff000, 512, false };
    g_assert_cmpuint(run_chain(&e.vq[0], b, 3), ==, 1);
    g_assert_cmpint(qtest_readb(e.qts, e.status), ==, S_OK);
    env_end(&e);

    /* A queue enabled without a descriptor table (address 0) and an
     * avail index that moved: the kick must return (fuzz-virtio found the
     * queue run spinning on it), and the device still works after a
     * reset.  (fuzz/seeds/virtio/blk-no-desc.qtest) */
    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    g_assert(qvirtio_negotiate(&e.d, driver_features(&e, 0)));
    {
        uint64_t avail = qvirtio_alloc(4096, 4096);
        uint64_t used = qvirtio_alloc(4096, 4096);

        qtest_writew(e.qts, e.d.common + 0x16, 0);
        qtest_writeq(e.qts, e.d.common + 0x28, avail);
        qtest_writeq(e.qts, e.d.common + 0x30, used);
        qtest_writew(e.qts, e.d.common + 0x1c, 1);
        qvirtio_driver_ok(&e.d);
        qtest_writew(e.qts, avail + 2, 4);
        qtest_writew(e.qts, e.d.notify, 0);
        qtest_writew(e.qts, e.d.notify, 0);
        g_assert_cmpuint(qtest_readw(e.qts, used + 2), ==, 0);
    }
    qvirtio_reset(&e.d);
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
    env_end(&e);

    /* queue-size 4: sixteen requests posted in four rounds on a ring of
     * four (indirect chains); each round all complete */
    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,queue-size=4");
    env_driver_init(&e);
    for (int round = 0; round < 4; round++) {
        uint64_t st = qvirtio_alloc(4, 4);
        int seen = 0;

        for (int i = 0; i < 4; i++) {
            write_hdr(&e, T_IN, 0);
            b[0] = (QVirtBuf){ e.hdr, 16, false };
            b[1] = (QVirtBuf){ e.data + i * 512, 512, true };
            b[2] = (QVirtBuf){ st + i, 1, true };
            qtest_writeb(e.qts, st + i, 0xee);
            /* one ring slot per chain */
            qvirtqueue_add_indirect(&e.vq[0], b, 3);
        }
        qvirtqueue_kick(&e.vq[0]);
        while (seen < 4 && qvirtqueue_get_used(&e.vq[0], &id, &len, 10000)) {
            seen++;
        }
        g_assert_cmpint(seen, ==, 4);
        for (int i = 0; i < 4; i++) {
            g_assert_cmpint(qtest_readb(e.qts, st + i), ==, S_OK);
        }
    }
    env_end(&e);
}

/* ---- queues, threads ------------------------------------------------ */

static void test_multiqueue(void)
{
    Env e = { 0 };
    uint8_t a[4096], b2[4096], got[4096];

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,num-queues=2");
    g_assert(e.d.features & QVIRTIO_BIT(F_MQ));
    g_assert_cmphex(qvirtio_config_readl(&e.d, 32) >> 16, ==, 2);
    env_driver_init_q(&e, 2, 0);
    fill(a, sizeof(a), 21);
    fill(b2, sizeof(b2), 42);
    put_data(&e, a, sizeof(a));
    g_assert_cmpint(req_q(&e, &e.vq[0], T_OUT, 0, 4096), ==, S_OK);
    g_assert(qvirtio_msix_fired(&e.d, 1));
    put_data(&e, b2, sizeof(b2));
    g_assert_cmpint(req_q(&e, &e.vq[1], T_OUT, 8, 4096), ==, S_OK);
    g_assert(qvirtio_msix_fired(&e.d, 2));
    g_assert(!qvirtio_msix_fired(&e.d, 1));
    g_assert_cmpint(req_q(&e, &e.vq[1], T_IN, 0, 4096), ==, S_OK);
    get_data(&e, got, sizeof(got));
    g_assert_cmpmem(a, sizeof(a), got, sizeof(got));
    g_assert_cmpint(req_q(&e, &e.vq[0], T_IN, 8, 4096), ==, S_OK);
    get_data(&e, got, sizeof(got));
    g_assert_cmpmem(b2, sizeof(b2), got, sizeof(got));
    env_end(&e);
}

static void test_iothread(gconstpointer data)
{
    const char *fmt = data;
    Env e = { 0 };
    g_autofree char *args = g_strdup_printf(
        "-object iothread,id=io0 "
        "-drive if=none,id=d0,file=%%IMG,format=%s%s "
        "-device virtio-blk-pci,drive=d0,iothread=io0,num-queues=2",
        fmt, strcmp(fmt, "raw") ? "" : ",aio=io_uring");

    env_start_fmt(&e, fmt, args, true, BLK_TRANSITIONAL);
    env_driver_init_q(&e, 2, 0);
    rw_round_trip(&e, fmt);
    g_assert(qvirtio_msix_fired(&e.d, 1));
    /* many requests at once, on both queues */
    for (int q = 0; q < 2; q++) {
        QVirtBuf b[3];
        uint64_t st = qvirtio_alloc(32, 4);
        uint16_t id;
        uint32_t len;
        int seen = 0;

        for (int i = 0; i < 32; i++) {
            uint64_t h = qvirtio_alloc(16, 16);
            qtest_writel(e.qts, h, i & 1 ? T_OUT : T_IN);
            qtest_writel(e.qts, h + 4, 0);
            qtest_writeq(e.qts, h + 8, i * 8);
            b[0] = (QVirtBuf){ h, 16, false };
            b[1] = (QVirtBuf){ e.data + i * 4096, 4096, !(i & 1) };
            b[2] = (QVirtBuf){ st + i, 1, true };
            qvirtqueue_add(&e.vq[q], b, 3);
        }
        qvirtqueue_kick(&e.vq[q]);
        while (seen < 32 && qvirtqueue_get_used(&e.vq[q], &id, &len, 10000)) {
            seen++;
        }
        g_assert_cmpint(seen, ==, 32);
        for (int i = 0; i < 32; i++) {
            g_assert_cmpint(qtest_readb(e.qts, st + i), ==, S_OK);
        }
    }
    /* a device reset while the thread owns the queues */
    qvirtio_reset(&e.d);
    env_driver_init_q(&e, 2, 0);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
    {
        g_autofree char *r = qmp(&e, "{\"execute\":\"system_reset\"}");
        g_assert(strstr(r, "return"));
    }
    env_end(&e);
}

/* ---- stop: no request in flight, none started ----------------------- */

/* Post a 4 KiB read of sector 0 into e->data (filled with 0xaa first). */
static uint16_t post_read(Env *e)
{
    uint8_t junk[4096];
    QVirtBuf b[3] = {
        { e->hdr, 16, false }, { e->data, 4096, true },
        { e->status, 1, true },
    };

    memset(junk, 0xaa, sizeof(junk));
    put_data(e, junk, sizeof(junk));
    write_hdr(e, T_IN, 0);
    qtest_writeb(e->qts, e->status, 0xee);
    return qvirtqueue_add(&e->vq[0], b, 3);
}

/* The read came back: status OK, zeroes from null-co's read-zeroes. */
static void check_read_done(Env *e, uint16_t head, uint16_t id, uint32_t len)
{
    uint8_t got[4096], zero[4096] = { 0 };

    g_assert_cmpint(id, ==, head);
    g_assert_cmpuint(len, ==, 4096 + 1);
    g_assert_cmpint(qtest_readb(e->qts, e->status), ==, S_OK);
    get_data(e, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), zero, sizeof(zero));
}

/* ---- kicks off while the I/O thread spins -------------------------- */

#define VRING_USED_F_NO_NOTIFY 1

/*
 * While the I/O thread spins on the ring it sets VRING_USED_F_NO_NOTIFY
 * (2.7.7.2), so a driver that honours it (Linux's does) publishes
 * requests without an exit to kick, and they are still taken.  A 'stop'
 * puts kicks back on: what migration or savevm saves must not tell the
 * driver to skip kicks on a destination that may not poll (and a request
 * published unkicked just before the stop: /virtio-blk/stop-drains/
 * migration).
 */
static void test_poll_suppresses_kicks(void)
{
    Env e = { 0 };
    uint16_t head, id;
    uint32_t len;
    int unkicked = 0;
    char *r;

    env_start_fmt(&e, NULL,
                  "-object iothread,id=io0,poll-max-ns=2000000000 "
                  "-blockdev driver=null-co,node-name=n0,size=16777216,"
                  "read-zeroes=on "
                  "-device virtio-blk-pci,drive=n0,iothread=io0",
                  true, BLK_TRANSITIONAL);
    env_driver_init(&e);
    /*
     * A driver that publishes and then finds kicks off does not kick, and
     * polling takes the request; if they are on (the thread sleeps, or its
     * spell ended meanwhile) it kicks, as the protocol wants.  Requests
     * that come quickly make the thread's spin time grow toward its
     * maximum, so before long it spins between them.
     */
    for (int i = 0; i < 2000 && unkicked < 5; i++) {
        head = post_read(&e);
        if (qtest_readw(e.qts, e.vq[0].used) & VRING_USED_F_NO_NOTIFY) {
            unkicked++;
        } else {
            qvirtqueue_kick(&e.vq[0]);
        }
        g_assert(qvirtqueue_get_used(&e.vq[0], &id, &len, 5000));
        check_read_done(&e, head, id, len);
    }
    g_assert_cmpint(unkicked, >, 0);
    /* stopped: kicks are wanted again, in guest memory */
    r = qmp(&e, "{\"execute\":\"stop\"}");
    g_assert(strstr(r, "return"));
    g_free(r);
    g_assert_cmpint(qtest_readw(e.qts, e.vq[0].used) &
                    VRING_USED_F_NO_NOTIFY, ==, 0);
    r = qmp(&e, "{\"execute\":\"cont\"}");
    g_free(r);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
    env_end(&e);
}

/*
 * A read that takes 400 ms (null-co latency-ns) is in flight when 'stop'
 * comes: the stop returns only once it completed (as QEMU's vm_stop
 * drains), so what a migration or savevm saves next has it in the used
 * ring.  A kick through a host notifier (here the I/O thread's) while
 * stopped starts nothing until 'cont'.
 */
static void test_stop_drains(gconstpointer data)
{
    bool iothread = GPOINTER_TO_INT(data);
    Env e = { 0 };
    g_autofree char *args = g_strdup_printf(
        "%s-blockdev driver=null-co,node-name=n0,size=16777216,"
        "latency-ns=400000000,read-zeroes=on "
        "-device virtio-blk-pci,drive=n0%s",
        iothread ? "-object iothread,id=io0 " : "",
        iothread ? ",iothread=io0" : "");
    uint16_t head, id;
    uint32_t len;
    char *r;

    env_start_fmt(&e, NULL, args, true, BLK_TRANSITIONAL);
    env_driver_init(&e);

    head = post_read(&e);
    qvirtqueue_kick(&e.vq[0]);
    if (iothread) {
        g_usleep(50000);    /* the thread takes the kick */
    }
    r = qmp(&e, "{\"execute\":\"stop\"}");
    g_assert(strstr(r, "return"));
    g_free(r);
    if (qvirtqueue_get_used(&e.vq[0], &id, &len, 0)) {
        check_read_done(&e, head, id, len);
    } else {
        /* only an I/O thread that had not taken the kick yet: then the
         * request must not start while stopped */
        g_assert(iothread);
        g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 600));
        r = qmp(&e, "{\"execute\":\"cont\"}");
        g_free(r);
        g_assert(qvirtqueue_get_used(&e.vq[0], &id, &len, 10000));
        check_read_done(&e, head, id, len);
        r = qmp(&e, "{\"execute\":\"stop\"}");
        g_free(r);
    }

    if (!iothread) {
        /* the notify register itself is handled while stopped (QEMU
         * too); only qtest can write it then, the vCPUs are stopped */
        r = qmp(&e, "{\"execute\":\"cont\"}");
        g_free(r);
        env_end(&e);
        return;
    }
    /* stopped: a kick through the I/O thread's notifier is remembered,
     * not run, until 'cont' */
    head = post_read(&e);
    qvirtqueue_kick(&e.vq[0]);
    g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 600));
    g_assert_cmpint(qtest_readb(e.qts, e.status), ==, 0xee);
    r = qmp(&e, "{\"execute\":\"cont\"}");
    g_assert(strstr(r, "return"));
    g_free(r);
    g_assert(qvirtqueue_get_used(&e.vq[0], &id, &len, 10000));
    check_read_done(&e, head, id, len);
    env_end(&e);
}

/* ---- I/O limits (block_set_io_throttle) ---------------------------- */

/* @n reads of 4 KiB, one after the other; the wall time they took. */
static double timed_reads(Env *e, unsigned n)
{
    gint64 t0 = g_get_monotonic_time();
    uint16_t head, id;
    uint32_t len;

    for (unsigned i = 0; i < n; i++) {
        head = post_read(e);
        qvirtqueue_kick(&e->vq[0]);
        g_assert(qvirtqueue_get_used(&e->vq[0], &id, &len, 10000));
        check_read_done(e, head, id, len);
    }
    return (g_get_monotonic_time() - t0) / 1e6;
}

/*
 * iops=20 on the disk: a tenth of a second's worth (2 requests) may go at
 * once, then one every 50 ms, so 12 reads cannot take less than about
 * 0.45 s, however fast the host (a lower bound only: a loaded host is
 * slower, never faster).  query-block shows the limits and the group;
 * all zero removes them, and 'stop' (a drain) lets queued ones go.  With
 * @data an I/O thread runs the disk: the timer that releases the queue
 * is in its context.
 */
static void test_io_limits(gconstpointer data)
{
    bool iothread = GPOINTER_TO_INT(data);
    Env e = { 0 };
    g_autofree char *args = g_strdup_printf(
        "%s-blockdev driver=null-co,node-name=n0,size=16777216,"
        "read-zeroes=on -device virtio-blk-pci,drive=n0,id=vd0%s",
        iothread ? "-object iothread,id=io0 " : "",
        iothread ? ",iothread=io0" : "");
    double secs;
    char *r;

    env_start_fmt(&e, NULL, args, true, BLK_TRANSITIONAL);
    env_driver_init(&e);
    r = qmp(&e, "{\"execute\":\"block_set_io_throttle\",\"arguments\":"
            "{\"id\":\"vd0\",\"bps\":0,\"bps_rd\":0,\"bps_wr\":0,"
            "\"iops\":20,\"iops_rd\":0,\"iops_wr\":0,"
            "\"group\":\"g1\"}}");
    g_assert(strstr(r, "\"return\""));
    g_free(r);
    secs = timed_reads(&e, 12);
    g_test_message("12 reads at iops=20: %.2f s", secs);
    g_assert_cmpfloat(secs, >=, 0.35);
    r = qmp(&e, "{\"execute\":\"query-block\"}");
    g_assert(strstr(r, "\"iops\": 20"));
    g_assert(strstr(r, "\"group\": \"g1\""));
    g_assert(strstr(r, "\"iops_max_length\": 1"));
    g_free(r);
    /* a queue of requests drains at 'stop' without waiting its turn */
    for (unsigned i = 0; i < 8; i++) {
        (void)post_read(&e);
    }
    qvirtqueue_kick(&e.vq[0]);
    r = qmp(&e, "{\"execute\":\"stop\"}");
    g_free(r);
    r = qmp(&e, "{\"execute\":\"cont\"}");
    g_free(r);
    for (unsigned i = 0; i < 8; i++) {
        uint16_t id;
        uint32_t len;
        g_assert(qvirtqueue_get_used(&e.vq[0], &id, &len, 10000));
    }
    /* no limits: no group in query-block */
    r = qmp(&e, "{\"execute\":\"block_set_io_throttle\",\"arguments\":"
            "{\"id\":\"vd0\",\"bps\":0,\"bps_rd\":0,\"bps_wr\":0,"
            "\"iops\":0,\"iops_rd\":0,\"iops_wr\":0}}");
    g_assert(strstr(r, "\"return\""));
    g_free(r);
    r = qmp(&e, "{\"execute\":\"query-block\"}");
    g_assert(!strstr(r, "\"group\""));
    g_free(r);
    timed_reads(&e, 50);
    env_end(&e);
}

/* QEMU's refusals of a configuration, and of a device without a disk. */
static void test_io_limits_errors(void)
{
    static const struct {
        const char *args, *error;
    } cases[] = {
        { "\"bps\":1000,\"bps_rd\":10,\"bps_wr\":0",
          "bps and bps_rd/bps_wr cannot be used at the same time" },
        { "\"bps\":1000,\"bps_rd\":0,\"bps_wr\":0,\"bps_max\":10",
          "cannot be lower than bps/iops values" },
        { "\"bps\":0,\"bps_rd\":0,\"bps_wr\":0,\"bps_max\":10",
          "require corresponding bps/iops values" },
        { "\"bps\":10,\"bps_rd\":0,\"bps_wr\":0,\"bps_max_length\":5",
          "burst length set without burst rate" },
        { "\"bps\":-1,\"bps_rd\":0,\"bps_wr\":0",
          "values must be within" },
        { "\"bps\":10,\"bps_rd\":0,\"bps_wr\":0,\"bps_max\":10,"
          "\"bps_max_length\":0", "the burst length cannot be 0" },
    };
    Env e = { 0 };

    env_start_fmt(&e, NULL,
                  "-blockdev driver=null-co,node-name=n0,size=16777216 "
                  "-device virtio-blk-pci,drive=n0,id=vd0",
                  true, BLK_TRANSITIONAL);
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *cmd = g_strdup_printf(
            "{\"execute\":\"block_set_io_throttle\",\"arguments\":"
            "{\"id\":\"vd0\",\"iops\":0,\"iops_rd\":0,\"iops_wr\":0,"
            "%s}}", cases[i].args);
        g_autofree char *r = qmp(&e, cmd);

        g_test_message("%s -> %s", cases[i].args, r);
        g_assert(strstr(r, cases[i].error));
    }
    {
        g_autofree char *r = qmp(&e,
            "{\"execute\":\"block_set_io_throttle\",\"arguments\":"
            "{\"id\":\"nope\",\"bps\":0,\"bps_rd\":0,\"bps_wr\":0,"
            "\"iops\":0,\"iops_rd\":0,\"iops_wr\":0}}");
        g_assert(strstr(r, "DeviceNotFound"));
    }
    env_end(&e);
}

/*
 * The same across a migration: the read is in flight when 'migrate'
 * starts; switchover's vm_stop (on the migration thread) drains it, so
 * the destination's used ring, status byte and buffer have it.  A second
 * read is published without a kick after the device took the first (as
 * a driver does while an I/O thread's polling has kicks off, when the
 * stop comes before polling took it): the destination takes it when it
 * starts (it used to wait for a kick that never came).
 */
static void test_migrate_inflight(void)
{
    static const char dev[] =
        "-blockdev driver=null-co,node-name=n0,size=16777216,"
        "latency-ns=400000000,read-zeroes=on "
        "-device virtio-blk-pci,drive=n0,addr=04.0";
    Env e = { 0 };
    g_autofree char *mig = NULL, *cmd = NULL, *dargs = NULL, *dsock = NULL;
    uint8_t got[4096], zero[4096] = { 0 };
    QTestState *dst;
    QMPConn *dqmp;
    bool done = false;

    env_start_fmt(&e, NULL, dev, true, BLK_TRANSITIONAL);
    env_driver_init(&e);
    post_read(&e);
    qvirtqueue_kick(&e.vq[0]);
    post_read(&e);      /* same buffers: both read zeroes */

    mig = g_build_filename(e.dir, "mig", NULL);
    cmd = g_strdup_printf("{\"execute\":\"migrate\",\"arguments\":"
                          "{\"uri\":\"file:%s\"}}", mig);
    g_free(qmp(&e, cmd));
    for (int i = 0; i < 1000 && !done; i++) {
        g_autofree char *r = qmp(&e, "{\"execute\":\"query-migrate\"}");
        g_assert(!strstr(r, "\"failed\""));
        done = strstr(r, "\"completed\"") != NULL;
        if (!done) {
            g_usleep(10000);
        }
    }
    g_assert(done);

    dsock = g_build_filename(e.dir, "dqmp.sock", NULL);
    dargs = g_strdup_printf("-nodefaults %s -incoming file:%s "
                            "-qmp unix:%s,server=on,wait=off", dev, mig,
                            dsock);
    dst = qtest_init(dargs);
    dqmp = qmp_connect(dsock);
    done = false;
    for (int i = 0; i < 1000 && !done; i++) {
        g_autofree char *r = qmp_cmd(dqmp, "{\"execute\":\"query-status\"}");
        done = r && strstr(r, "\"status\": \"running\"") != NULL;
        if (!done) {
            g_usleep(10000);
        }
    }
    g_assert(done);
    /* used.idx 1 at least: the first completed before save; then the
     * unkicked one completes here */
    g_assert_cmpint(qtest_readw(dst, e.vq[0].used + 2), >=, 1);
    for (int i = 0; i < 500 && qtest_readw(dst, e.vq[0].used + 2) < 2; i++) {
        g_usleep(10000);
    }
    g_assert_cmpint(qtest_readw(dst, e.vq[0].used + 2), ==, 2);
    g_assert_cmpint(qtest_readb(dst, e.status), ==, S_OK);
    qtest_bufread(dst, e.data, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), zero, sizeof(zero));
    qmp_close(dqmp);
    g_assert_cmpint(qtest_quit(dst), ==, 0);
    env_end(&e);
}

/* ---- errors, resize, cache mode ------------------------------------- */

static char *wait_event(Env *e, const char *name)
{
    g_autoptr(GString) all = g_string_new("");

    for (int i = 0; i < 500; i++) {
        g_autofree char *ev = NULL;

        g_free(qmp(e, "{\"execute\":\"query-status\"}"));  /* events in */
        ev = qmp_take_events(e->qmp);

        g_string_append(all, ev);
        if (strstr(all->str, name)) {
            return g_strdup(all->str);
        }
        g_usleep(10000);
    }
    g_error("no %s event: %s", name, all->str);
}

static void test_werror_stop(void)
{
    Env e = { 0 };
    uint8_t buf[4096], got[4096];
    g_autofree char *ev = NULL, *r = NULL;
    QVirtBuf b[3];
    uint16_t id;
    uint32_t len;

    env_start(&e, "-blockdev driver=raw,node-name=dbg,file.driver=blkdebug,"
              "file.inject-error.0.event=write_aio,"
              "file.inject-error.0.errno=28,file.inject-error.0.once=on,"
              "file.image.driver=file,file.image.filename=%IMG "
              "-device virtio-blk-pci,drive=dbg,id=vb,werror=stop");
    env_driver_init(&e);
    fill(buf, sizeof(buf), 77);
    put_data(&e, buf, sizeof(buf));
    write_hdr(&e, T_OUT, 64);
    qtest_writeb(e.qts, e.status, 0xee);
    b[0] = (QVirtBuf){ e.hdr, 16, false };
    b[1] = (QVirtBuf){ e.data, 4096, false };
    b[2] = (QVirtBuf){ e.status, 1, true };
    qvirtqueue_add(&e.vq[0], b, 3);
    qvirtqueue_kick(&e.vq[0]);
    ev = wait_event(&e, "BLOCK_IO_ERROR");
    g_assert(strstr(ev, "\"action\": \"stop\""));
    g_assert(strstr(ev, "\"nospace\": true"));
    r = qmp(&e, "{\"execute\":\"query-status\"}");
    g_assert(strstr(r, "io-error"));
    g_free(r);
    r = qmp(&e, "{\"execute\":\"query-block\"}");
    g_assert(strstr(r, "\"io-status\": \"nospace\""));
    /* as QEMU: the proxy's virtio-backend child holds the disk */
    g_assert(strstr(r, "\"qdev\": "
                    "\"/machine/peripheral/vb/virtio-backend\""));
    /* held, not completed */
    g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 100));
    g_free(r);
    r = qmp(&e, "{\"execute\":\"cont\"}");
    g_assert(qvirtqueue_get_used(&e.vq[0], &id, &len, 10000));
    g_assert_cmpint(qtest_readb(e.qts, e.status), ==, S_OK);
    host_read(e.img, 64 * SECTOR, got, sizeof(got));
    g_assert_cmpmem(buf, sizeof(buf), got, sizeof(got));
    g_free(r);
    r = qmp(&e, "{\"execute\":\"query-status\"}");
    g_assert(strstr(r, "\"running\""));
    env_end(&e);

    /* rerror=report: IOERR and the event */
    env_start(&e, "-blockdev driver=raw,node-name=dbg,file.driver=blkdebug,"
              "file.inject-error.0.event=read_aio,"
              "file.inject-error.0.once=on,"
              "file.image.driver=file,file.image.filename=%IMG "
              "-device virtio-blk-pci,drive=dbg,rerror=report");
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_IOERR);
    g_free(ev);
    ev = wait_event(&e, "BLOCK_IO_ERROR");
    g_assert(strstr(ev, "\"action\": \"report\""));
    g_assert_cmpint(req(&e, T_IN, 0, 512), ==, S_OK);
    env_end(&e);

    /* werror=ignore: OK although the write failed */
    env_start(&e, "-blockdev driver=raw,node-name=dbg,file.driver=blkdebug,"
              "file.inject-error.0.event=write_aio,"
              "file.inject-error.0.once=on,"
              "file.image.driver=file,file.image.filename=%IMG "
              "-device virtio-blk-pci,drive=dbg,werror=ignore");
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_OUT, 0, 512), ==, S_OK);
    g_free(ev);
    ev = wait_event(&e, "BLOCK_IO_ERROR");
    g_assert(strstr(ev, "\"action\": \"ignore\""));
    env_end(&e);
}

/* werror=stop with an I/O thread: the same, from the other thread. */
static void test_werror_stop_iothread(void)
{
    Env e = { 0 };
    g_autofree char *ev = NULL, *r = NULL;
    uint8_t buf[512];

    env_start(&e, "-object iothread,id=io0 "
              "-blockdev driver=raw,node-name=dbg,file.driver=blkdebug,"
              "file.inject-error.0.event=write_aio,"
              "file.inject-error.0.once=on,"
              "file.image.driver=file,file.image.filename=%IMG "
              "-device virtio-blk-pci,drive=dbg,werror=stop,iothread=io0");
    env_driver_init(&e);
    fill(buf, sizeof(buf), 9);
    put_data(&e, buf, sizeof(buf));
    {
        QVirtBuf b[3] = {
            { e.hdr, 16, false }, { e.data, 512, false },
            { e.status, 1, true },
        };
        uint16_t id;
        uint32_t len;

        write_hdr(&e, T_OUT, 5);
        qvirtqueue_add(&e.vq[0], b, 3);
        qvirtqueue_kick(&e.vq[0]);
        ev = wait_event(&e, "BLOCK_IO_ERROR");
        g_assert(strstr(ev, "\"action\": \"stop\""));
        g_assert(!qvirtqueue_get_used(&e.vq[0], &id, &len, 100));
        r = qmp(&e, "{\"execute\":\"cont\"}");
        g_assert(qvirtqueue_get_used(&e.vq[0], &id, &len, 10000));
        g_assert_cmpint(qtest_readb(e.qts, e.status), ==, S_OK);
    }
    {
        uint8_t got[512];
        host_read(e.img, 5 * SECTOR, got, sizeof(got));
        g_assert_cmpmem(buf, sizeof(buf), got, sizeof(got));
    }
    env_end(&e);
}

static void test_resize(void)
{
    Env e = { 0 };
    g_autofree char *r = NULL;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    env_driver_init(&e);
    g_assert(!qvirtio_msix_fired(&e.d, 0));
    r = qmp(&e, "{\"execute\":\"block_resize\",\"arguments\":"
            "{\"device\":\"d0\",\"size\":33554432}}");
    g_assert(strstr(r, "return"));
    g_assert(qvirtio_msix_fired(&e.d, 0));
    g_assert_cmpuint(qvirtio_config_readl(&e.d, 0), ==, 65536);
    g_assert_cmpint(req(&e, T_OUT, 65535, 512), ==, S_OK);
    g_assert_cmpint(req(&e, T_OUT, 65536, 512), ==, S_IOERR);
    env_end(&e);
}

/* CONFIG_WCE: writeback 0 makes every write flush before it completes;
 * without FLUSH negotiated the device is write-through from the start. */
static void test_write_cache(void)
{
    Env e = { 0 };
    g_autofree char *r = NULL;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    env_driver_init(&e);
    g_assert_cmpint(req(&e, T_OUT, 0, 512), ==, S_OK);
    r = qmp(&e, "{\"execute\":\"query-blockstats\"}");
    g_assert(strstr(r, "\"flush_operations\": 0"));
    g_free(r);
    qvirtio_config_writel(&e.d, 32, 0);
    g_assert_cmphex(qvirtio_config_readl(&e.d, 32) & 0xff, ==, 0);
    g_assert_cmpint(req(&e, T_OUT, 0, 512), ==, S_OK);
    g_assert_cmpint(req(&e, T_OUT, 8, 512), ==, S_OK);
    r = qmp(&e, "{\"execute\":\"query-blockstats\"}");
    g_assert(strstr(r, "\"flush_operations\": 2"));
    g_free(r);
    r = NULL;
    env_end(&e);

    /* A driver without FLUSH: write-through, the byte reads 0. */
    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0");
    {
        uint64_t f = driver_features(&e, 0) & ~(QVIRTIO_BIT(F_FLUSH) |
                                                QVIRTIO_BIT(F_CONFIG_WCE));
        qvirtio_msix_enable(&e.d, 2);
        g_assert(qvirtio_negotiate(&e.d, f));
        qvirtqueue_setup(&e.vq[0], &e.d, 0, 0, false);
        qvirtio_driver_ok(&e.d);
    }
    g_assert_cmphex(qvirtio_config_readl(&e.d, 32) & 0xff, ==, 0);
    g_assert_cmpint(req(&e, T_OUT, 0, 512), ==, S_OK);
    r = qmp(&e, "{\"execute\":\"query-blockstats\"}");
    g_assert(strstr(r, "\"flush_operations\": 1"));
    env_end(&e);
}

/* Bad properties: one clear error each. */
static void test_bad_props(void)
{
    static const struct {
        const char *dev, *msg;
    } cases[] = {
        { "virtio-blk-pci", "drive property not set" },
        { "virtio-blk-pci,drive=nope", "not found" },
        { "virtio-blk-pci,drive=d0,queue-size=100", "queue-size" },
        { "virtio-blk-pci,drive=d0,num-queues=0", "num-queues" },
        { "virtio-blk-pci,drive=d0,logical_block_size=1000",
          "logical_block_size" },
        { "virtio-blk-pci,drive=d0,iothread=nope", "iothread" },
        { "virtio-blk-pci,drive=d0,werror=often", "often" },
    };
    g_autofree char *dir = g_dir_make_tmp("kvmpc-vblk-XXXXXX", NULL);
    g_autofree char *img = make_image(dir, "raw", 1 << 20);

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *cmd = g_strdup_printf(
            "%s -accel qtest -display none -nodefaults "
            "-drive if=none,id=d0,file=%s,format=raw -device %s 2>&1",
            qtest_kvmpc_binary(), img, cases[i].dev);
        g_autofree char *out = NULL;
        int status;

        {
            gchar *argv[] = { "/bin/sh", "-c", cmd, NULL };
            g_assert(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, &out,
                                  NULL, &status, NULL));
        }
        g_assert(!g_spawn_check_wait_status(status, NULL));
        if (!strstr(out, cases[i].msg)) {
            g_error("'%s': '%s' not in: %s", cases[i].dev, cases[i].msg,
                    out);
        }
    }
    unlink(img);
    rmdir(dir);
}

/* bootindex lands in fw_cfg's bootorder as SeaBIOS matches it. */
static void test_bootindex(void)
{
    Env e = { 0 };
    g_autofree char *order = NULL;

    env_start(&e, "-drive if=none,id=d0,file=%IMG,format=raw "
              "-device virtio-blk-pci,drive=d0,addr=5,bootindex=1");
    order = qtest_fw_cfg_file(e.qts, "bootorder");
    g_assert(order);
    g_assert(strstr(order, "/pci@i0cf8/scsi@5/disk@0,0"));
    env_end(&e);
}

static bool have_qemu_img(void)
{
    return system("qemu-img --version >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-blk/ids-features-config",
                   test_ids_features_config);
    g_test_add_func("/virtio-blk/config-props", test_config_props);
    g_test_add_data_func("/virtio-blk/rw/raw", "raw", test_rw);
    if (have_qemu_img()) {
        g_test_add_data_func("/virtio-blk/rw/qcow2", "qcow2", test_rw);
        g_test_add_data_func("/virtio-blk/iothread/qcow2", "qcow2",
                            test_iothread);
    }
    g_test_add_func("/virtio-blk/rw/legacy", test_rw_legacy);
    g_test_add_func("/virtio-blk/rw/packed", test_rw_packed);
    g_test_add_func("/virtio-blk/any-layout", test_any_layout);
    g_test_add_func("/virtio-blk/flush-get-id", test_flush_get_id);
    g_test_add_func("/virtio-blk/discard-write-zeroes",
                   test_discard_write_zeroes);
    g_test_add_func("/virtio-blk/readonly", test_readonly);
    g_test_add_data_func("/virtio-blk/io-limits/main-loop",
                         GINT_TO_POINTER(0), test_io_limits);
    g_test_add_data_func("/virtio-blk/io-limits/iothread",
                         GINT_TO_POINTER(1), test_io_limits);
    g_test_add_func("/virtio-blk/io-limits/errors", test_io_limits_errors);
    g_test_add_func("/virtio-blk/bad-ranges-types", test_bad_ranges_types);
    g_test_add_func("/virtio-blk/missing-headers", test_missing_headers);
    g_test_add_func("/virtio-blk/hostile", test_hostile);
    g_test_add_func("/virtio-blk/multiqueue", test_multiqueue);
    g_test_add_data_func("/virtio-blk/iothread/raw", "raw", test_iothread);
    g_test_add_func("/virtio-blk/iothread/poll-suppresses-kicks",
                    test_poll_suppresses_kicks);
    g_test_add_data_func("/virtio-blk/stop-drains/main-loop",
                         GINT_TO_POINTER(0), test_stop_drains);
    g_test_add_data_func("/virtio-blk/stop-drains/iothread",
                         GINT_TO_POINTER(1), test_stop_drains);
    g_test_add_func("/virtio-blk/stop-drains/migration",
                    test_migrate_inflight);
    g_test_add_func("/virtio-blk/werror-stop", test_werror_stop);
    g_test_add_func("/virtio-blk/werror-stop-iothread",
                   test_werror_stop_iothread);
    g_test_add_func("/virtio-blk/resize", test_resize);
    g_test_add_func("/virtio-blk/write-cache", test_write_cache);
    g_test_add_func("/virtio-blk/bad-props", test_bad_props);
    g_test_add_func("/virtio-blk/bootindex", test_bootindex);
    return g_test_run();
}
