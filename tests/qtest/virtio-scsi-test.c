/*
 * virtio-scsi-pci with scsi-hd and scsi-cd, driven through libqvirtio as a
 * guest driver would (OASIS VIRTIO 1.2 5.6; SPC-4, SBC-3, MMC-6 commands).
 * Data written through the device is checked in the image files on the
 * host side (raw directly, qcow2 through qemu-img convert).
 */
#include "libqvirtio.h"
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#define VS_TRANSITIONAL     0x1004
#define VS_MODERN           0x1048
#define VS_F_HOTPLUG        1
#define VS_F_CHANGE         2
#define CDB_SIZE            32
#define SENSE_SIZE          96
#define REQ_HDR             (19 + CDB_SIZE)
#define RESP_HDR            (12 + SENSE_SIZE)
#define DISK_SIZE           (4 * 1024 * 1024)

/* virtio-scsi response codes */
#define S_OK                0
#define S_OVERRUN           1
#define S_ABORTED           2
#define S_BAD_TARGET        3
#define S_FAILURE           9
#define S_FUNCTION_SUCCEEDED 10
#define S_FUNCTION_REJECTED 11
#define S_INCORRECT_LUN     12

#define GOOD                0
#define CHECK_CONDITION     2

/* Byte order helpers: SCSI fields are big-endian, virtio's little. */
static uint16_t lduw_be_p(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t ldl_be_p(const uint8_t *p)
{ return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t ldq_be_p(const uint8_t *p)
{ return (uint64_t)ldl_be_p(p) << 32 | ldl_be_p(p + 4); }
static void stw_be_p(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void stl_be_p(uint8_t *p, uint32_t v)
{ p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static void stq_be_p(uint8_t *p, uint64_t v)
{ stl_be_p(p, v >> 32); stl_be_p(p + 4, v); }
static uint32_t ldl_le_p(const uint8_t *p)
{ return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void stl_le_p(uint8_t *p, uint32_t v)
{ p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static void stq_le_p(uint8_t *p, uint64_t v)
{ stl_le_p(p, v); stl_le_p(p + 4, v >> 32); }

typedef struct VS {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue ctrl, event, req;
    QMPConn *qmp;
    char *dir;
    uint32_t cdb_size, sense_size;
} VS;

typedef struct Result {
    uint8_t response;
    uint8_t status;
    uint32_t resid;
    uint32_t sense_len;
    uint8_t sense[SENSE_SIZE];
    uint32_t used_len;
    uint16_t id;
} Result;

static char *tmpdir;

/* ---- set-up --------------------------------------------------------------- */

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* The initial content of make_raw()'s images at byte @i. */
static uint8_t pattern_at(size_t i)
{
    return (uint8_t)(i / 512) ^ (uint8_t)(i >> 16);
}

/* A raw image whose 512-byte sectors are filled with their number. */
static char *make_raw(const char *name, size_t size)
{
    char *path = tmp_path(name);
    g_autofree uint8_t *data = g_malloc(size);

    for (size_t i = 0; i < size; i++) {
        data[i] = pattern_at(i);
    }
    g_assert_true(g_file_set_contents(path, (char *)data, size, NULL));
    return path;
}

static bool have_qemu_img(void)
{
    g_autofree char *p = g_find_program_in_path("qemu-img");

    return p != NULL;
}

static void run_cmd(const char *cmd)
{
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
    g_assert_cmpint(status, ==, 0);
}

static uint64_t std_features(QVirtioDev *d, bool packed)
{
    uint64_t f = d->features & (QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                                QVIRTIO_BIT(QVIRTIO_F_INDIRECT) |
                                QVIRTIO_BIT(QVIRTIO_F_EVENT_IDX) |
                                QVIRTIO_BIT(QVIRTIO_F_RING_PACKED) |
                                QVIRTIO_BIT(VS_F_HOTPLUG) |
                                QVIRTIO_BIT(VS_F_CHANGE));

    if (!packed) {
        f &= ~QVIRTIO_BIT(QVIRTIO_F_RING_PACKED);
    }
    return f;
}

/*
 * kvmpc with "-device virtio-scsi-pci,id=scsi0,addr=04,@hba_opts" and
 * @extra, a QMP socket, the driver initialised on the modern interface.
 */
static void vs_start_opts(VS *v, const char *hba_opts, const char *extra,
                          bool packed)
{
    g_autofree char *sock = NULL, *args = NULL;
    int devfn;

    memset(v, 0, sizeof(*v));
    v->dir = g_dir_make_tmp("kvmpc-vscsi-XXXXXX", NULL);
    sock = g_build_filename(v->dir, "qmp.sock", NULL);
    args = g_strdup_printf("-device virtio-scsi-pci,id=scsi0,addr=04%s%s%s "
                           "-qmp unix:%s,server=on,wait=off %s",
                           packed ? ",packed=on" : "", *hba_opts ? "," : "",
                           hba_opts, sock, extra);
    v->qts = qtest_init(args);
    devfn = qvirtio_pci_find(v->qts, VS_TRANSITIONAL);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&v->d, v->qts, devfn, true);
    v->qmp = qmp_connect(sock);
    unlink(sock);
    g_assert(qvirtio_negotiate(&v->d, std_features(&v->d, packed)));
    qvirtqueue_setup(&v->ctrl, &v->d, 0, 0, packed);
    qvirtqueue_setup(&v->event, &v->d, 1, 0, packed);
    qvirtqueue_setup(&v->req, &v->d, 2, 0, packed);
    qvirtio_driver_ok(&v->d);
    v->cdb_size = CDB_SIZE;
    v->sense_size = SENSE_SIZE;
}

static void vs_start(VS *v, const char *extra)
{
    vs_start_opts(v, "", extra, false);
}

static void vs_end(VS *v)
{
    qmp_close(v->qmp);
    g_assert_cmpint(qtest_quit(v->qts), ==, 0);
    rmdir(v->dir);
    g_free(v->dir);
}

static char *vs_qmp(VS *v, const char *json)
{
    return qmp_cmd(v->qmp, json);
}

static void vs_qmp_ok(VS *v, const char *json)
{
    g_autofree char *r = vs_qmp(v, json);

    if (!strstr(r, "\"return\"")) {
        g_error("%s -> %s", json, r);
    }
}

/* ---- commands ------------------------------------------------------------------ */

static void put_lun(uint8_t *p, unsigned target, unsigned lun)
{
    memset(p, 0, 8);
    p[0] = 1;
    p[1] = target;
    p[2] = 0x40 | (lun >> 8);
    p[3] = lun & 0xff;
}

/*
 * One command: header, [data-out], response, [data-in]; data buffers are
 * split into @pieces descriptors.  Waits for the device's answer.
 */
static Result vs_cmd_pieces(VS *v, unsigned target, unsigned lun,
                            const uint8_t *cdb, size_t cdb_len,
                            const void *out, size_t out_len,
                            void *in, size_t in_len, unsigned pieces)
{
    QTestState *qts = v->qts;
    size_t req_size = 19 + v->cdb_size, resp_size = 12 + v->sense_size;
    uint64_t req = qvirtio_alloc(req_size, 16);
    uint64_t resp = qvirtio_alloc(resp_size, 16);
    uint64_t dout = out_len ? qvirtio_alloc(out_len, 16) : 0;
    uint64_t din = in_len ? qvirtio_alloc(in_len, 16) : 0;
    uint8_t hdr[19 + 256] = { 0 };
    uint8_t r[12 + 256];
    QVirtBuf bufs[2 + 2 * 8];
    unsigned n = 0;
    Result res = { 0 };
    uint16_t head;

    g_assert(pieces >= 1 && pieces <= 8);
    put_lun(hdr, target, lun);
    stq_le_p(hdr + 8, 0x1234);
    memcpy(hdr + 19, cdb, cdb_len);
    qtest_memwrite(qts, req, hdr, req_size);
    qtest_memset(qts, resp, 0xee, resp_size);
    bufs[n++] = (QVirtBuf){ req, req_size, false };
    if (out_len) {
        size_t each = (out_len + pieces - 1) / pieces;
        qtest_memwrite(qts, dout, out, out_len);
        for (size_t o = 0; o < out_len; o += each) {
            bufs[n++] = (QVirtBuf){ dout + o, MIN(each, out_len - o), false };
        }
    }
    bufs[n++] = (QVirtBuf){ resp, resp_size, true };
    if (in_len) {
        size_t each = (in_len + pieces - 1) / pieces;
        qtest_memset(qts, din, 0xcc, in_len);
        for (size_t o = 0; o < in_len; o += each) {
            bufs[n++] = (QVirtBuf){ din + o, MIN(each, in_len - o), true };
        }
    }
    head = qvirtqueue_add(&v->req, bufs, n);
    qvirtqueue_kick(&v->req);
    g_assert(qvirtqueue_get_used(&v->req, &res.id, &res.used_len, 10000));
    g_assert_cmpint(res.id, ==, head);
    qtest_memread(qts, resp, r, resp_size);
    res.sense_len = ldl_le_p(r);
    res.resid = ldl_le_p(r + 4);
    res.status = r[10];
    res.response = r[11];
    g_assert_cmpuint(res.sense_len, <=, v->sense_size);
    memcpy(res.sense, r + 12, MIN(res.sense_len, sizeof(res.sense)));
    if (in_len) {
        qtest_memread(qts, din, in, in_len);
    }
    return res;
}

static Result vs_cmd(VS *v, unsigned target, unsigned lun, const uint8_t *cdb,
                     size_t cdb_len, const void *out, size_t out_len,
                     void *in, size_t in_len)
{
    return vs_cmd_pieces(v, target, lun, cdb, cdb_len, out, out_len, in,
                         in_len, 1);
}

static void assert_good(const Result *r)
{
    g_assert_cmpint(r->response, ==, S_OK);
    if (r->status != GOOD) {
        g_error("CHECK CONDITION %02x/%02x/%02x", r->sense[2], r->sense[12],
                r->sense[13]);
    }
}

static void assert_sense(const Result *r, uint8_t key, uint8_t asc,
                         uint8_t ascq)
{
    g_assert_cmpint(r->response, ==, S_OK);
    g_assert_cmpint(r->status, ==, CHECK_CONDITION);
    g_assert_cmpuint(r->sense_len, >=, 14);
    g_assert_cmphex(r->sense[0] & 0x7f, ==, 0x70);
    g_assert_cmphex(r->sense[2] & 0xf, ==, key);
    g_assert_cmphex(r->sense[12], ==, asc);
    g_assert_cmphex(r->sense[13], ==, ascq);
}

static Result tur(VS *v, unsigned t, unsigned l)
{
    uint8_t cdb[6] = { 0x00 };

    return vs_cmd(v, t, l, cdb, 6, NULL, 0, NULL, 0);
}

/* The first command after power-on meets the reset unit attention. */
static void clear_reset_ua(VS *v, unsigned t, unsigned l)
{
    Result r = tur(v, t, l);

    assert_sense(&r, 6, 0x29, 0);
}

static Result rw10(VS *v, unsigned t, unsigned l, bool write, uint32_t lba,
                   uint16_t blocks, void *buf, size_t len, unsigned pieces)
{
    uint8_t cdb[10] = { write ? 0x2a : 0x28 };

    stl_be_p(cdb + 2, lba);
    stw_be_p(cdb + 7, blocks);
    return vs_cmd_pieces(v, t, l, cdb, 10, write ? buf : NULL,
                         write ? len : 0, write ? NULL : buf,
                         write ? 0 : len, pieces);
}

static Result rw16(VS *v, bool write, uint64_t lba, uint32_t blocks,
                   void *buf, size_t len)
{
    uint8_t cdb[16] = { write ? 0x8a : 0x88 };

    stq_be_p(cdb + 2, lba);
    stl_be_p(cdb + 10, blocks);
    return vs_cmd(v, 0, 0, cdb, 16, write ? buf : NULL, write ? len : 0,
                  write ? NULL : buf, write ? 0 : len);
}

static Result inquiry(VS *v, unsigned t, unsigned l, bool evpd, uint8_t page,
                      uint8_t *buf, uint16_t len)
{
    uint8_t cdb[6] = { 0x12, evpd, page };

    stw_be_p(cdb + 3, len);
    return vs_cmd(v, t, l, cdb, 6, NULL, 0, buf, len);
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        b[i] = seed + i * 7 + (i >> 9);
    }
}

/* ---- identity and configuration ------------------------------------------- */

static void test_ids_config(void)
{
    QTestState *qts = qtest_init("-device virtio-scsi-pci,addr=04 "
                                 "-device virtio-scsi-pci,addr=05,"
                                 "disable-legacy=on,num_queues=4 "
                                 "-device virtio-scsi,addr=06");
    unsigned t = 4 << 3, m = 5 << 3, a = 6 << 3;
    QVirtioDev d;

    g_assert_cmphex(qpci_cfg_readl(qts, t, 0), ==, 0x10041af4);
    g_assert_cmphex(qpci_cfg_readl(qts, t, 0x2c), ==, 0x00081af4);
    g_assert_cmphex(qpci_cfg_readw(qts, t, 0x0a), ==, 0x0100);
    g_assert_cmphex(qpci_cfg_readb(qts, t, 8), ==, 0);
    g_assert_cmphex(qpci_cfg_readl(qts, m, 0), ==, 0x10481af4);
    g_assert_cmphex(qpci_cfg_readb(qts, m, 8), ==, 1);
    g_assert_cmphex(qpci_cfg_readl(qts, a, 0), ==, 0x10041af4);

    qvirtio_mem_reset();
    qvirtio_pci_init(&d, qts, t, true);
    g_assert(d.features & QVIRTIO_BIT(VS_F_CHANGE));
    g_assert(d.features & QVIRTIO_BIT(VS_F_HOTPLUG));
    g_assert(!(d.features & QVIRTIO_BIT(0)));       /* no INOUT */
    g_assert_cmpint(qtest_readw(qts, d.common + 0x12), ==, 3);
    g_assert_cmpuint(qvirtio_config_readl(&d, 0), ==, 1);     /* queues */
    g_assert_cmpuint(qvirtio_config_readl(&d, 4), ==, 254);   /* seg_max */
    g_assert_cmpuint(qvirtio_config_readl(&d, 8), ==, 65535);
    g_assert_cmpuint(qvirtio_config_readl(&d, 12), ==, 128);
    g_assert_cmpuint(qvirtio_config_readl(&d, 16), ==, 16);
    g_assert_cmpuint(qvirtio_config_readl(&d, 20), ==, 96);
    g_assert_cmpuint(qvirtio_config_readl(&d, 24), ==, 32);
    g_assert_cmphex(qvirtio_config_readl(&d, 28), ==, 0x00ff0000);
    g_assert_cmpuint(qvirtio_config_readl(&d, 32), ==, 16383);
    /* MSI-X: num_queues + 3 vectors */
    g_assert_cmphex(qpci_cfg_readw(qts, t, d.msix_cap + 2) & 0x7ff, ==, 3);
    /* the driver sets sense_size and cdb_size */
    g_assert(qvirtio_negotiate(&d, std_features(&d, false)));
    qvirtio_config_writel(&d, 20, 64);
    qvirtio_config_writel(&d, 24, 16);
    g_assert_cmpuint(qvirtio_config_readl(&d, 20), ==, 64);
    g_assert_cmpuint(qvirtio_config_readl(&d, 24), ==, 16);
    /* a cdb_size of 256 is refused: the device needs a reset */
    qvirtio_driver_ok(&d);
    qvirtio_config_writel(&d, 24, 256);
    g_assert(qvirtio_get_status(&d) & QVIRTIO_S_NEEDS_RESET);
    qvirtio_reset(&d);
    g_assert_cmpuint(qvirtio_config_readl(&d, 20), ==, 96);
    g_assert_cmpuint(qvirtio_config_readl(&d, 24), ==, 32);

    qvirtio_pci_init(&d, qts, m, true);
    g_assert_cmpuint(qvirtio_config_readl(&d, 0), ==, 4);
    g_assert_cmpint(qtest_readw(qts, d.common + 0x12), ==, 6);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

/* ---- INQUIRY, VPD, capacity -------------------------------------------------- */

static void test_inquiry(void)
{
    g_autofree char *img = make_raw("inq.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device scsi-hd,share-rw=on,drive=d0,serial=SER123,wwn=0x5000c50015ea71ac,"
        "share-rw=on "
        "-drive if=none,id=d1,file=%s,format=raw,readonly=on "
        "-device scsi-hd,share-rw=on,drive=d1,scsi-id=1,vendor=ACME,product=Widget,"
        "ver=1.0,removable=on,share-rw=on", img, img);
    uint8_t b[512];
    Result r;
    VS v;

    vs_start(&v, extra);
    /* INQUIRY runs through the reset unit attention */
    r = inquiry(&v, 0, 0, false, 0, b, 96);
    assert_good(&r);
    g_assert_cmphex(b[0], ==, 0);
    g_assert_cmphex(b[1], ==, 0);
    g_assert_cmphex(b[2], ==, 5);
    g_assert_cmphex(b[3] & 0xf, ==, 2);
    g_assert_cmpint(b[4], ==, 31);
    g_assert_cmpmem(b + 8, 8, "QEMU    ", 8);
    g_assert_cmpmem(b + 16, 16, "QEMU HARDDISK   ", 16);
    g_assert_cmpmem(b + 32, 4, "2.5+", 4);
    g_assert_cmpuint(r.resid, ==, 96 - 36);
    clear_reset_ua(&v, 0, 0);
    r = tur(&v, 0, 0);
    assert_good(&r);
    /* a short allocation length cuts the data */
    memset(b, 0, sizeof(b));
    r = inquiry(&v, 0, 0, false, 0, b, 5);
    assert_good(&r);
    g_assert_cmpint(b[4], ==, 31);
    g_assert_cmpuint(r.resid, ==, 0);

    /* VPD 00: the pages */
    r = inquiry(&v, 0, 0, true, 0x00, b, 64);
    assert_good(&r);
    g_assert_cmpint(b[1], ==, 0);
    g_assert_cmpint(lduw_be_p(b + 2), ==, 6);
    g_assert_cmpmem(b + 4, 6, "\x00\x80\x83\xb0\xb1\xb2", 6);
    /* 80: unit serial number */
    r = inquiry(&v, 0, 0, true, 0x80, b, 64);
    assert_good(&r);
    g_assert_cmpint(b[1], ==, 0x80);
    g_assert_cmpint(lduw_be_p(b + 2), ==, 6);
    g_assert_cmpmem(b + 4, 6, "SER123", 6);
    /* 83: ASCII designator (the serial), NAA WWN */
    r = inquiry(&v, 0, 0, true, 0x83, b, 64);
    assert_good(&r);
    g_assert_cmpint(b[1], ==, 0x83);
    g_assert_cmpint(lduw_be_p(b + 2), ==, 4 + 6 + 4 + 8);
    g_assert_cmphex(b[4], ==, 2);
    g_assert_cmpint(b[7], ==, 6);
    g_assert_cmpmem(b + 8, 6, "SER123", 6);
    g_assert_cmphex(b[14], ==, 1);
    g_assert_cmphex(b[15], ==, 3);
    g_assert_cmphex(ldq_be_p(b + 18), ==, 0x5000c50015ea71acULL);
    /* B0: block limits */
    r = inquiry(&v, 0, 0, true, 0xb0, b, 64);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b + 2), ==, 0x3c);
    g_assert_cmpuint(ldl_be_p(b + 20), ==, (1u << 30) / 512);  /* unmap */
    g_assert_cmpuint(ldl_be_p(b + 24), ==, 255);
    g_assert_cmpuint(ldq_be_p(b + 36), ==, (1u << 30) / 512);  /* same */
    /* B1: characteristics (non-rotating) */
    r = inquiry(&v, 0, 0, true, 0xb1, b, 64);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b + 4), ==, 1);
    /* B2: provisioning: LBPU, LBPWS, LBPWS10, LBPRZ */
    r = inquiry(&v, 0, 0, true, 0xb2, b, 64);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b + 2), ==, 4);
    g_assert_cmphex(b[5], ==, 0xe4);
    /* an unknown page, a page without EVPD */
    r = inquiry(&v, 0, 0, true, 0x99, b, 64);
    assert_sense(&r, 5, 0x24, 0);
    r = inquiry(&v, 0, 0, false, 0x80, b, 64);
    assert_sense(&r, 5, 0x24, 0);

    /* the second disk: its own strings, removable, no serial page */
    r = inquiry(&v, 1, 0, false, 0, b, 36);
    assert_good(&r);
    g_assert_cmphex(b[1], ==, 0x80);
    g_assert_cmpmem(b + 8, 8, "ACME    ", 8);
    g_assert_cmpmem(b + 16, 16, "Widget          ", 16);
    g_assert_cmpmem(b + 32, 4, "1.0 ", 4);
    r = inquiry(&v, 1, 0, true, 0x00, b, 64);
    assert_good(&r);
    g_assert_cmpmem(b + 4, 5, "\x00\x83\xb0\xb1\xb2", 5);
    r = inquiry(&v, 1, 0, true, 0x80, b, 64);
    assert_sense(&r, 5, 0x24, 0);
    /* 83 without a serial: the drive's name */
    r = inquiry(&v, 1, 0, true, 0x83, b, 64);
    assert_good(&r);
    g_assert_cmpint(b[7], ==, 2);
    g_assert_cmpmem(b + 8, 2, "d1", 2);
    /* read-only: WRITE fails DATA PROTECT, MODE SENSE says WP */
    clear_reset_ua(&v, 1, 0);
    r = rw10(&v, 1, 0, true, 0, 1, b, 512, 1);
    assert_sense(&r, 7, 0x27, 0);
    vs_end(&v);
}

static void test_read_capacity(void)
{
    g_autofree char *img = make_raw("cap.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0 "
        "-drive if=none,id=d1,file=%s,format=raw "
        "-device scsi-hd,share-rw=on,drive=d1,scsi-id=1,logical_block_size=4096 "
        "-drive if=none,id=d2,file=%s,format=raw "
        "-device scsi-hd,share-rw=on,drive=d2,scsi-id=2,physical_block_size=4096",
        img, img, img);
    uint8_t cdb10[10] = { 0x25 }, cdb16[16] = { 0x9e, 0x10 };
    uint8_t b[32];
    Result r;
    VS v;

    stl_be_p(cdb16 + 10, 32);
    vs_start(&v, extra);
    for (unsigned t = 0; t < 3; t++) {
        uint32_t bs = t == 1 ? 4096 : 512;
        clear_reset_ua(&v, t, 0);
        r = vs_cmd(&v, t, 0, cdb10, 10, NULL, 0, b, 8);
        assert_good(&r);
        g_assert_cmpuint(ldl_be_p(b), ==, DISK_SIZE / bs - 1);
        g_assert_cmpuint(ldl_be_p(b + 4), ==, bs);
        r = vs_cmd(&v, t, 0, cdb16, 16, NULL, 0, b, 32);
        assert_good(&r);
        g_assert_cmpuint(ldq_be_p(b), ==, DISK_SIZE / bs - 1);
        g_assert_cmpuint(ldl_be_p(b + 8), ==, bs);
        g_assert_cmpuint(b[13] & 0xf, ==, t == 2 ? 3 : 0);
        g_assert_cmphex(b[14] & 0xc0, ==, 0xc0);        /* LBPME, LBPRZ */
    }
    /* a service action other than READ CAPACITY(16) */
    cdb16[1] = 0x11;
    r = vs_cmd(&v, 0, 0, cdb16, 16, NULL, 0, b, 32);
    assert_sense(&r, 5, 0x20, 0);
    vs_end(&v);
}

/* ---- reads and writes ---------------------------------------------------------- */

static void rw_round_trip(VS *v, const char *img, bool raw)
{
    uint8_t w[8192], rd[8192];
    Result r;

    clear_reset_ua(v, 0, 0);
    /* WRITE(10) of 16 sectors from three descriptors, READ(10) back */
    fill(w, sizeof(w), 0x11);
    r = rw10(v, 0, 0, true, 100, 16, w, 8192, 3);
    assert_good(&r);
    g_assert_cmpuint(r.resid, ==, 0);
    memset(rd, 0, sizeof(rd));
    r = rw10(v, 0, 0, false, 100, 16, rd, 8192, 5);
    assert_good(&r);
    g_assert_cmpuint(r.resid, ==, 0);
    g_assert_cmpuint(r.used_len, ==, RESP_HDR + 8192);
    g_assert_cmpmem(rd, 8192, w, 8192);
    /* WRITE(16)/READ(16) near the end */
    fill(w, 4096, 0x77);
    r = rw16(v, true, DISK_SIZE / 512 - 8, 8, w, 4096);
    assert_good(&r);
    r = rw16(v, false, DISK_SIZE / 512 - 8, 8, rd, 4096);
    assert_good(&r);
    g_assert_cmpmem(rd, 4096, w, 4096);
    /* a larger buffer than the transfer: the rest is residual */
    r = rw10(v, 0, 0, false, 100, 1, rd, 1024, 1);
    assert_good(&r);
    g_assert_cmpuint(r.resid, ==, 512);
    /* past the end: LBA OUT OF RANGE; a short buffer: OVERRUN */
    r = rw10(v, 0, 0, false, DISK_SIZE / 512 - 1, 2, rd, 1024, 1);
    assert_sense(&r, 5, 0x21, 0);
    r = rw10(v, 0, 0, false, 0, 4, rd, 1024, 1);
    g_assert_cmpint(r.response, ==, S_OVERRUN);
    /* READ(6)/WRITE(6) and READ(12) */
    {
        uint8_t c6[6] = { 0x0a, 0, 0, 7, 2 }, c12[12] = { 0xa8 };
        fill(w, 1024, 0x42);
        r = vs_cmd(v, 0, 0, c6, 6, w, 1024, NULL, 0);
        assert_good(&r);
        stl_be_p(c12 + 2, 7);
        stl_be_p(c12 + 6, 2);
        r = vs_cmd(v, 0, 0, c12, 12, NULL, 0, rd, 1024);
        assert_good(&r);
        g_assert_cmpmem(rd, 1024, w, 1024);
    }
    /* SYNCHRONIZE CACHE: qcow2 metadata reaches the file */
    {
        uint8_t sc[10] = { 0x35 };
        r = vs_cmd(v, 0, 0, sc, 10, NULL, 0, NULL, 0);
        assert_good(&r);
    }
    vs_end(v);

    /* the host side: what the device wrote is in the image */
    if (raw) {
        g_autofree uint8_t *f = qtest_file_range(img, 100 * 512, 8192);
        fill(w, 8192, 0x11);
        g_assert_cmpmem(f, 8192, w, 8192);
        g_free(f);
        f = qtest_file_range(img, DISK_SIZE - 4096, 4096);
        fill(w, 4096, 0x77);
        g_assert_cmpmem(f, 4096, w, 4096);
    } else {
        g_autofree char *out = g_strdup_printf("%s.raw", img);
        g_autofree char *cmd = g_strdup_printf(
            "qemu-img convert -f qcow2 -O raw %s %s", img, out);
        g_autofree uint8_t *f = NULL;
        run_cmd(cmd);
        f = qtest_file_range(out, 100 * 512, 8192);
        fill(w, 8192, 0x11);
        g_assert_cmpmem(f, 8192, w, 8192);
        g_free(f);
        f = qtest_file_range(out, 7 * 512, 1024);
        fill(w, 1024, 0x42);
        g_assert_cmpmem(f, 1024, w, 1024);
        unlink(out);
        g_free(g_steal_pointer(&cmd));
        cmd = g_strdup_printf("qemu-img check -q %s", img);
        run_cmd(cmd);
    }
}

static void test_rw_raw(void)
{
    g_autofree char *img = make_raw("rw.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0",
        img);
    VS v;

    vs_start(&v, extra);
    rw_round_trip(&v, img, true);
}

static void test_rw_qcow2(void)
{
    g_autofree char *img = tmp_path("rw.qcow2");
    g_autofree char *cmd = g_strdup_printf("qemu-img create -q -f qcow2 %s %d",
                                           img, DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=qcow2 -device scsi-hd,share-rw=on,drive=d0",
        img);
    VS v;

    if (!have_qemu_img()) {
        g_test_skip("qemu-img is not installed");
        return;
    }
    run_cmd(cmd);
    vs_start(&v, extra);
    rw_round_trip(&v, img, false);
}

/* The same with the queues in an I/O thread, and packed rings. */
static void test_rw_iothread(gconstpointer packed)
{
    g_autofree char *img = make_raw("rw-io.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-object iothread,id=io0 "
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0",
        img);
    VS v;

    vs_start_opts(&v, "iothread=io0", extra, packed != NULL);
    rw_round_trip(&v, img, true);
}

/*
 * One kick, many commands to many disks: the adapter plugs each disk's
 * backend for the pass (scsi_bus_io_plug), more disks than it batches
 * (SCSI_BUS_MAX_PLUGGED, 8), two commands each, on io_uring and Linux
 * AIO, which hold plugged requests back.  Every command must be sent at
 * the end of the pass and complete, and every byte land on its own disk.
 */
#define BATCH_DISKS 10
#define BATCH_PER_DISK 2
#define BATCH_BLOCKS 8

static void batch_pass(VS *v, bool write, uint8_t (*bufs)[BATCH_BLOCKS * 512])
{
    size_t req_size = 19 + v->cdb_size, resp_size = 12 + v->sense_size;
    size_t len = BATCH_BLOCKS * 512;
    unsigned n = BATCH_DISKS * BATCH_PER_DISK;
    uint64_t resp[BATCH_DISKS * BATCH_PER_DISK];
    uint64_t data[BATCH_DISKS * BATCH_PER_DISK];
    uint16_t head[BATCH_DISKS * BATCH_PER_DISK];
    bool seen[BATCH_DISKS * BATCH_PER_DISK] = { false };

    for (unsigned i = 0; i < n; i++) {
        uint8_t hdr[19 + 256] = { 0 };
        uint64_t req = qvirtio_alloc(req_size, 16);
        QVirtBuf b[3];

        resp[i] = qvirtio_alloc(resp_size, 16);
        data[i] = qvirtio_alloc(len, 16);
        put_lun(hdr, i / BATCH_PER_DISK, 0);
        stq_le_p(hdr + 8, i);
        hdr[19] = write ? 0x2a : 0x28;
        stl_be_p(hdr + 19 + 2, (i % BATCH_PER_DISK) * 64 + 3);
        stw_be_p(hdr + 19 + 7, BATCH_BLOCKS);
        qtest_memwrite(v->qts, req, hdr, req_size);
        qtest_memset(v->qts, resp[i], 0xee, resp_size);
        if (write) {
            qtest_memwrite(v->qts, data[i], bufs[i], len);
            b[0] = (QVirtBuf){ req, req_size, false };
            b[1] = (QVirtBuf){ data[i], len, false };
            b[2] = (QVirtBuf){ resp[i], resp_size, true };
        } else {
            qtest_memset(v->qts, data[i], 0xcc, len);
            b[0] = (QVirtBuf){ req, req_size, false };
            b[1] = (QVirtBuf){ resp[i], resp_size, true };
            b[2] = (QVirtBuf){ data[i], len, true };
        }
        head[i] = qvirtqueue_add(&v->req, b, 3);
    }
    qvirtqueue_kick(&v->req);
    for (unsigned k = 0; k < n; k++) {
        uint16_t id;
        uint32_t used_len;
        unsigned i;

        g_assert(qvirtqueue_get_used(&v->req, &id, &used_len, 10000));
        for (i = 0; i < n && head[i] != id; i++) {
        }
        g_assert_cmpuint(i, <, n);
        g_assert_false(seen[i]);
        seen[i] = true;
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t r[12];

        qtest_memread(v->qts, resp[i], r, sizeof(r));
        g_assert_cmpint(r[11], ==, S_OK);
        g_assert_cmpint(r[10], ==, GOOD);
        if (!write) {
            qtest_memread(v->qts, data[i], bufs[i], len);
        }
    }
}

static void test_batched_pass(gconstpointer iothread)
{
    GString *extra = g_string_new(iothread ? "-object iothread,id=io0" : "");
    static uint8_t wbuf[BATCH_DISKS * BATCH_PER_DISK][BATCH_BLOCKS * 512];
    static uint8_t rbuf[BATCH_DISKS * BATCH_PER_DISK][BATCH_BLOCKS * 512];
    char *img[BATCH_DISKS];
    VS v;

    for (unsigned d = 0; d < BATCH_DISKS; d++) {
        g_autofree char *name = g_strdup_printf("batch%u.raw", d);

        img[d] = make_raw(name, 1024 * 1024);
        /* host engines that batch: io_uring, and Linux AIO (O_DIRECT) */
        g_string_append_printf(extra, " -drive if=none,id=b%u,file=%s,"
                               "format=raw,%s -device scsi-hd,drive=b%u,"
                               "scsi-id=%u", d, img[d],
                               d % 2 ? "aio=native,cache.direct=on"
                                     : "aio=io_uring", d, d);
    }
    vs_start_opts(&v, iothread ? "iothread=io0" : "", extra->str, false);
    for (unsigned d = 0; d < BATCH_DISKS; d++) {
        clear_reset_ua(&v, d, 0);
    }
    for (unsigned i = 0; i < BATCH_DISKS * BATCH_PER_DISK; i++) {
        fill(wbuf[i], sizeof(wbuf[i]), 0x31 * i + 5);
    }
    batch_pass(&v, true, wbuf);
    batch_pass(&v, false, rbuf);
    for (unsigned i = 0; i < BATCH_DISKS * BATCH_PER_DISK; i++) {
        g_assert_cmpmem(rbuf[i], sizeof(rbuf[i]), wbuf[i], sizeof(wbuf[i]));
    }
    vs_end(&v);
    /* and on the disks themselves, each at its own place */
    for (unsigned d = 0; d < BATCH_DISKS; d++) {
        g_autofree uint8_t *got = NULL;
        gsize size;

        g_assert_true(g_file_get_contents(img[d], (char **)&got, &size,
                                          NULL));
        for (unsigned k = 0; k < BATCH_PER_DISK; k++) {
            unsigned i = d * BATCH_PER_DISK + k;

            g_assert_cmpmem(got + (k * 64 + 3) * 512, sizeof(wbuf[i]),
                            wbuf[i], sizeof(wbuf[i]));
        }
        g_assert_cmpuint(got[2 * 512], ==, pattern_at(2 * 512));
        unlink(img[d]);
        g_free(img[d]);
    }
    g_string_free(extra, TRUE);
}

/* ---- UNMAP, WRITE SAME, SYNCHRONIZE CACHE ------------------------------------ */

static uint64_t allocated_bytes(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return (uint64_t)st.st_blocks * 512;
}

static void test_unmap(void)
{
    g_autofree char *img = make_raw("unmap.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw,discard=unmap "
        "-device scsi-hd,share-rw=on,drive=d0", img);
    uint8_t cdb[10] = { 0x42 }, param[8 + 2 * 16] = { 0 }, b[4096];
    uint64_t before, after;
    Result r;
    VS v;

    before = allocated_bytes(img);
    g_assert_cmpuint(before, >=, DISK_SIZE);
    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    /* two descriptors: 1 MiB at 0 and 1 MiB at 2 MiB */
    stw_be_p(param, sizeof(param) - 2);
    stw_be_p(param + 2, 32);
    stq_be_p(param + 8, 0);
    stl_be_p(param + 16, 2048);
    stq_be_p(param + 24, 4096);
    stl_be_p(param + 32, 2048);
    stw_be_p(cdb + 7, sizeof(param));
    r = vs_cmd(&v, 0, 0, cdb, 10, param, sizeof(param), NULL, 0);
    assert_good(&r);
    r = rw10(&v, 0, 0, false, 4096 + 100, 8, b, 4096, 1);
    assert_good(&r);
    for (int i = 0; i < 4096; i++) {
        g_assert_cmpuint(b[i], ==, 0);
    }
    /* a descriptor past the end: nothing happens, LBA OUT OF RANGE */
    stq_be_p(param + 8, DISK_SIZE / 512);
    stl_be_p(param + 16, 1);
    r = vs_cmd(&v, 0, 0, cdb, 10, param, sizeof(param), NULL, 0);
    assert_sense(&r, 5, 0x21, 0);
    /* a bad block descriptor length */
    stw_be_p(param + 2, 17);
    r = vs_cmd(&v, 0, 0, cdb, 10, param, sizeof(param), NULL, 0);
    assert_sense(&r, 5, 0x1a, 0);
    vs_end(&v);
    after = allocated_bytes(img);
    /* the file became sparse where the two megabytes were */
    g_assert_cmpuint(after, <=, before - 2 * 1024 * 1024);
    {
        g_autofree uint8_t *f = qtest_file_range(img, 2 * 1024 * 1024, 512);
        g_autofree uint8_t *g = qtest_file_range(img, 1024 * 1024, 512);
        for (int i = 0; i < 512; i++) {
            g_assert_cmpuint(f[i], ==, 0);
            g_assert_cmpuint(g[i], ==, pattern_at(1024 * 1024 + i));
        }
    }
}

static void test_write_same(void)
{
    g_autofree char *img = make_raw("ws.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw,discard=unmap "
        "-device scsi-hd,share-rw=on,drive=d0", img);
    uint8_t c10[10] = { 0x41 }, c16[16] = { 0x93 }, blk[512];
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    /* WRITE SAME(10): a pattern over 300 blocks from 1000 */
    memset(blk, 0x5a, sizeof(blk));
    blk[0] = 0xa5;
    stl_be_p(c10 + 2, 1000);
    stw_be_p(c10 + 7, 300);
    r = vs_cmd(&v, 0, 0, c10, 10, blk, 512, NULL, 0);
    assert_good(&r);
    /* WRITE SAME(16) with UNMAP and zeroes over 64 blocks from 2000 */
    memset(blk, 0, sizeof(blk));
    c16[1] = 0x08;
    stq_be_p(c16 + 2, 2000);
    stl_be_p(c16 + 10, 64);
    r = vs_cmd(&v, 0, 0, c16, 16, blk, 512, NULL, 0);
    assert_good(&r);
    /* NDOB: no data-out buffer, zeroes */
    c16[1] = 0x01;
    stq_be_p(c16 + 2, 3000);
    stl_be_p(c16 + 10, 1);
    r = vs_cmd(&v, 0, 0, c16, 16, NULL, 0, NULL, 0);
    assert_good(&r);
    /* zero blocks is refused; past the end too */
    stw_be_p(c10 + 7, 0);
    r = vs_cmd(&v, 0, 0, c10, 10, blk, 512, NULL, 0);
    assert_sense(&r, 5, 0x24, 0);
    stl_be_p(c10 + 2, DISK_SIZE / 512 - 1);
    stw_be_p(c10 + 7, 2);
    r = vs_cmd(&v, 0, 0, c10, 10, blk, 512, NULL, 0);
    assert_sense(&r, 5, 0x21, 0);
    vs_end(&v);
    {
        g_autofree uint8_t *f = qtest_file_range(img, 1000 * 512, 300 * 512);
        for (size_t i = 0; i < 300 * 512; i++) {
            g_assert_cmpuint(f[i], ==, (i % 512) ? 0x5a : 0xa5);
        }
        g_free(f);
        f = qtest_file_range(img, 2000 * 512, 64 * 512);
        for (size_t i = 0; i < 64 * 512; i++) {
            g_assert_cmpuint(f[i], ==, 0);
        }
        g_free(f);
        f = qtest_file_range(img, 3000 * 512, 512);
        for (size_t i = 0; i < 512; i++) {
            g_assert_cmpuint(f[i], ==, 0);
        }
        g_free(f);
        /* the neighbours are untouched */
        f = qtest_file_range(img, 1300 * 512, 512);
        g_assert_cmpuint(f[0], ==, pattern_at(1300 * 512));
    }
}

static void test_sync_cache(void)
{
    g_autofree char *img = make_raw("sync.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0",
        img);
    uint8_t c10[10] = { 0x35 }, c16[16] = { 0x91 };
    g_autofree char *stats = NULL;
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    r = vs_cmd(&v, 0, 0, c10, 10, NULL, 0, NULL, 0);
    assert_good(&r);
    r = vs_cmd(&v, 0, 0, c16, 16, NULL, 0, NULL, 0);
    assert_good(&r);
    stats = vs_qmp(&v, "{\"execute\": \"query-blockstats\"}");
    g_assert_nonnull(strstr(stats, "\"flush_operations\": 2"));
    vs_end(&v);
}

/* ---- mode pages --------------------------------------------------------------- */

static void test_mode_sense(void)
{
    g_autofree char *img = make_raw("mode.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0 "
        "-device scsi-cd,scsi-id=1", img);
    uint8_t c6[6] = { 0x1a, 0, 0x08, 0, 64 }, c10[10] = { 0x5a };
    uint8_t b[256], sel[4 + 20];
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    /* MODE SENSE(6), caching page, with a block descriptor */
    r = vs_cmd(&v, 0, 0, c6, 6, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmpint(b[0], ==, 3 + 8 + 20);
    g_assert_cmphex(b[2] & 0x80, ==, 0);            /* not protected */
    g_assert_cmpint(b[3], ==, 8);
    g_assert_cmpuint(ldl_be_p(b + 4) & 0xffffff, ==, DISK_SIZE / 512);
    g_assert_cmpuint(ldl_be_p(b + 8) & 0xffffff, ==, 512);
    g_assert_cmphex(b[12], ==, 0x08);
    g_assert_cmpint(b[13], ==, 18);
    g_assert_cmphex(b[14] & 4, ==, 4);              /* WCE */
    /* MODE SENSE(10), control page, no block descriptor */
    c10[1] = 0x08;
    c10[2] = 0x0a;
    stw_be_p(c10 + 7, 64);
    r = vs_cmd(&v, 0, 0, c10, 10, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b), ==, 6 + 12);
    g_assert_cmpint(lduw_be_p(b + 6), ==, 0);
    g_assert_cmphex(b[8], ==, 0x0a);
    g_assert_cmpint(b[9], ==, 10);
    /* all pages: 01, 08, 0a in order */
    c10[2] = 0x3f;
    r = vs_cmd(&v, 0, 0, c10, 10, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b), ==, 6 + 12 + 20 + 12);
    g_assert_cmphex(b[8], ==, 0x01);
    g_assert_cmphex(b[20], ==, 0x08);
    g_assert_cmphex(b[40], ==, 0x0a);
    /* saved values: not supported; an unknown page: invalid field */
    c10[2] = 0xc8;
    r = vs_cmd(&v, 0, 0, c10, 10, NULL, 0, b, 64);
    assert_sense(&r, 5, 0x39, 0);
    c10[2] = 0x2a;
    r = vs_cmd(&v, 0, 0, c10, 10, NULL, 0, b, 64);
    assert_sense(&r, 5, 0x24, 0);
    /* MODE SELECT(6) turns the write cache off */
    memset(sel, 0, sizeof(sel));
    sel[4] = 0x08;
    sel[5] = 18;
    {
        uint8_t s6[6] = { 0x15, 0x10, 0, 0, sizeof(sel) };
        r = vs_cmd(&v, 0, 0, s6, 6, sel, sizeof(sel), NULL, 0);
        assert_good(&r);
        /* a wrong page length is refused */
        sel[5] = 10;
        r = vs_cmd(&v, 0, 0, s6, 6, sel, sizeof(sel), NULL, 0);
        assert_sense(&r, 5, 0x26, 0);
    }
    c6[1] = 0x08;
    r = vs_cmd(&v, 0, 0, c6, 6, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmphex(b[4 + 2] & 4, ==, 0);
    /* the CD-ROM's capabilities page */
    clear_reset_ua(&v, 1, 0);
    c10[1] = 0;
    c10[2] = 0x2a;
    r = vs_cmd(&v, 1, 0, c10, 10, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b + 6), ==, 0);
    g_assert_cmphex(b[8], ==, 0x2a);
    g_assert_cmpint(b[9], ==, 20);
    vs_end(&v);
}

/* ---- addressing: REPORT LUNS, absent LUNs and targets ---------------------- */

static void test_luns(void)
{
    g_autofree char *img = make_raw("luns.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device scsi-hd,drive=d0,scsi-id=1,lun=0,share-rw=on "
        "-drive if=none,id=d1,file=%s,format=raw,readonly=on "
        "-device scsi-hd,drive=d1,scsi-id=1,lun=300,share-rw=on", img, img);
    uint8_t c[12] = { 0xa0 }, b[64], sense[18];
    uint8_t rs[6] = { 0x03, 0, 0, 0, 18 };
    Result r;
    VS v;

    vs_start(&v, extra);
    /* REPORT LUNS runs through the unit attention */
    stl_be_p(c + 6, 64);
    r = vs_cmd(&v, 1, 0, c, 12, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmpuint(ldl_be_p(b), ==, 16);
    g_assert_cmphex(ldq_be_p(b + 8), ==, 0);
    g_assert_cmphex(ldq_be_p(b + 16), ==, 0x412c000000000000ULL);
    g_assert_cmpuint(r.resid, ==, 64 - 24);
    /* REQUEST SENSE reports the reset once, then nothing */
    r = vs_cmd(&v, 1, 0, rs, 6, NULL, 0, sense, 18);
    assert_good(&r);
    g_assert_cmphex(sense[2], ==, 6);
    g_assert_cmphex(sense[12], ==, 0x29);
    r = vs_cmd(&v, 1, 0, rs, 6, NULL, 0, sense, 18);
    assert_good(&r);
    g_assert_cmphex(sense[2], ==, 0);
    clear_reset_ua(&v, 1, 300);
    r = tur(&v, 1, 300);
    assert_good(&r);
    /* too small an allocation length */
    stl_be_p(c + 6, 8);
    r = vs_cmd(&v, 1, 0, c, 12, NULL, 0, b, 8);
    assert_sense(&r, 5, 0x24, 0);
    /* a LUN that is not there: the target answers */
    r = inquiry(&v, 1, 5, false, 0, b, 36);
    assert_good(&r);
    g_assert_cmphex(b[0], ==, 0x3f);
    r = tur(&v, 1, 5);
    assert_sense(&r, 5, 0x25, 0);
    r = vs_cmd(&v, 1, 5, rs, 6, NULL, 0, sense, 18);
    assert_good(&r);
    g_assert_cmphex(sense[2], ==, 5);
    g_assert_cmphex(sense[12], ==, 0x25);
    stl_be_p(c + 6, 64);
    r = vs_cmd(&v, 1, 5, c, 12, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmpuint(ldl_be_p(b), ==, 16);
    /* a target with nothing: BAD_TARGET; a LUN field of another format */
    r = tur(&v, 7, 0);
    g_assert_cmpint(r.response, ==, S_BAD_TARGET);
    {
        QTestState *qts = v.qts;
        uint64_t req = qvirtio_alloc(REQ_HDR, 16);
        uint64_t resp = qvirtio_alloc(RESP_HDR, 16);
        QVirtBuf bufs[2] = { { req, REQ_HDR, false }, { resp, RESP_HDR, true } };
        uint16_t id;
        uint32_t len;
        qtest_memset(qts, req, 0, REQ_HDR);
        qtest_writeb(qts, req, 2);
        qtest_writeb(qts, req + 1, 1);
        qvirtqueue_add(&v.req, bufs, 2);
        qvirtqueue_kick(&v.req);
        g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
        g_assert_cmpint(qtest_readb(qts, resp + 11), ==, S_BAD_TARGET);
    }
    vs_end(&v);
}

static void test_unknown_opcode(void)
{
    g_autofree char *img = make_raw("op.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0",
        img);
    uint8_t c[16] = { 0x05 }, b[64];
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    r = vs_cmd(&v, 0, 0, c, 6, NULL, 0, NULL, 0);       /* READ BLOCK LIMITS */
    assert_sense(&r, 5, 0x20, 0);
    c[0] = 0xc5;                                        /* vendor specific */
    r = vs_cmd(&v, 0, 0, c, 16, NULL, 0, b, 64);
    assert_sense(&r, 5, 0x20, 0);
    g_assert_cmpuint(r.resid, ==, 64);
    c[0] = 0x7f;                                        /* variable length */
    r = vs_cmd(&v, 0, 0, c, 16, NULL, 0, NULL, 0);
    assert_sense(&r, 5, 0x20, 0);
    c[0] = 0x43;                                        /* READ TOC: CD only */
    r = vs_cmd(&v, 0, 0, c, 10, NULL, 0, NULL, 0);
    assert_sense(&r, 5, 0x20, 0);
    vs_end(&v);
}

/* ---- scsi-cd: media and the tray ------------------------------------------------ */

static void add_event_buffers(VS *v, uint64_t *bufs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        QVirtBuf b = { bufs[i] = qvirtio_alloc(16, 16), 16, true };
        qtest_memset(v->qts, bufs[i], 0, 16);
        qvirtqueue_add(&v->event, &b, 1);
    }
    qvirtqueue_kick(&v->event);
}

static void test_cdrom(void)
{
    g_autofree char *iso = make_raw("cd.iso", 1024 * 1024);
    g_autofree char *iso2 = make_raw("cd2.iso", 2 * 1024 * 1024);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=cd,file=%s,format=raw,media=cdrom "
        "-device scsi-cd,drive=cd,id=cd0,scsi-id=2", iso);
    g_autofree char *cmd = NULL, *ev = NULL, *reply = NULL;
    uint8_t b[2048 * 2], c10[10] = { 0 }, c12[12] = { 0 };
    uint64_t evbuf[2];
    Result r;
    VS v;

    vs_start(&v, extra);
    r = inquiry(&v, 2, 0, false, 0, b, 36);
    assert_good(&r);
    g_assert_cmphex(b[0], ==, 5);
    g_assert_cmphex(b[1], ==, 0x80);
    g_assert_cmpmem(b + 16, 16, "QEMU CD-ROM     ", 16);
    /* GET CONFIGURATION runs through the unit attention */
    c10[0] = 0x46;
    stw_be_p(c10 + 7, 64);
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 64);
    assert_good(&r);
    g_assert_cmphex(lduw_be_p(b + 6), ==, 0x0008);      /* CD-ROM */
    g_assert_cmphex(ldl_be_p(b + 8 + 12 + 4), ==, 1);   /* core: SCSI */
    clear_reset_ua(&v, 2, 0);
    /* READ CAPACITY: 2048-byte blocks */
    memset(c10, 0, sizeof(c10));
    c10[0] = 0x25;
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 8);
    assert_good(&r);
    g_assert_cmpuint(ldl_be_p(b), ==, 1024 * 1024 / 2048 - 1);
    g_assert_cmpuint(ldl_be_p(b + 4), ==, 2048);
    /* READ TOC, LBA then MSF */
    memset(c10, 0, sizeof(c10));
    c10[0] = 0x43;
    stw_be_p(c10 + 7, 32);
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 32);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b), ==, 18);
    g_assert_cmpint(b[2], ==, 1);
    g_assert_cmpint(b[14], ==, 0xaa);
    g_assert_cmpuint(ldl_be_p(b + 16), ==, 512);
    c10[1] = 2;
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 32);
    assert_good(&r);
    g_assert_cmpmem(b + 8, 4, "\x00\x00\x02\x00", 4);  /* 00:02:00 */
    /* READ DISC INFORMATION: complete, one session */
    memset(c10, 0, sizeof(c10));
    c10[0] = 0x51;
    stw_be_p(c10 + 7, 34);
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 34);
    assert_good(&r);
    g_assert_cmpint(lduw_be_p(b), ==, 32);
    g_assert_cmphex(b[2] & 3, ==, 2);
    /* READ(12) of two blocks against the image */
    c12[0] = 0xa8;
    stl_be_p(c12 + 2, 3);
    stl_be_p(c12 + 6, 2);
    r = vs_cmd(&v, 2, 0, c12, 12, NULL, 0, b, 4096);
    assert_good(&r);
    {
        g_autofree uint8_t *f = qtest_file_range(iso, 3 * 2048, 4096);
        g_assert_cmpmem(b, 4096, f, 4096);
    }
    /* writes: DATA PROTECT */
    r = rw10(&v, 2, 0, true, 0, 1, b, 2048, 1);
    assert_sense(&r, 7, 0x27, 0);

    /* subscribe to media change notifications */
    add_event_buffers(&v, evbuf, 2);
    {
        uint64_t req = qvirtio_alloc(16, 16), resp = qvirtio_alloc(8, 16);
        QVirtBuf bufs[2] = { { req, 16, false }, { resp, 5, true } };
        uint8_t an[16] = { 2 };
        uint16_t id;
        uint32_t len;
        put_lun(an + 4, 2, 0);
        stl_le_p(an + 12, 16 | 4);
        qtest_memwrite(v.qts, req, an, 16);
        qvirtqueue_add(&v.ctrl, bufs, 2);
        qvirtqueue_kick(&v.ctrl);
        g_assert(qvirtqueue_get_used(&v.ctrl, &id, &len, 5000));
        g_assert_cmpuint(qtest_readl(v.qts, resp), ==, 16);
        g_assert_cmpint(qtest_readb(v.qts, resp + 4), ==, S_OK);
    }

    /* eject from the monitor: the tray opens */
    vs_qmp_ok(&v, "{\"execute\": \"eject\", \"arguments\": "
                  "{\"id\": \"cd0\"}}");
    ev = qmp_take_events(v.qmp);
    g_assert_nonnull(strstr(ev, "DEVICE_TRAY_MOVED"));
    g_assert_nonnull(strstr(ev, "\"tray-open\": true"));
    r = tur(&v, 2, 0);
    assert_sense(&r, 6, 0x3a, 0);       /* unit attention: no medium */
    r = tur(&v, 2, 0);
    assert_sense(&r, 2, 0x3a, 2);       /* not ready, tray open */
    {
        uint16_t id;
        uint32_t len;
        g_assert(qvirtqueue_get_used(&v.event, &id, &len, 5000));
        g_assert_cmpuint(qtest_readl(v.qts, evbuf[0]), ==, 2); /* AN */
        g_assert_cmpint(qtest_readb(v.qts, evbuf[0] + 5), ==, 2);
        g_assert_cmpuint(qtest_readl(v.qts, evbuf[0] + 12), ==, 16);
    }
    /* a new medium: unit attention "not present", then "changed" */
    cmd = g_strdup_printf("{\"execute\": \"blockdev-change-medium\", "
                          "\"arguments\": {\"id\": \"cd0\", \"filename\": "
                          "\"%s\", \"format\": \"raw\"}}", iso2);
    vs_qmp_ok(&v, cmd);
    ev = (g_free(ev), qmp_take_events(v.qmp));
    g_assert_nonnull(strstr(ev, "\"tray-open\": false"));
    r = tur(&v, 2, 0);
    assert_sense(&r, 6, 0x3a, 0);
    /* GESN: NewMedia, runs through the unit attention */
    memset(c10, 0, sizeof(c10));
    c10[0] = 0x4a;
    c10[1] = 1;
    c10[4] = 0x10;
    stw_be_p(c10 + 7, 8);
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 8);
    assert_good(&r);
    g_assert_cmpint(b[4] & 0xf, ==, 2);
    g_assert_cmpint(b[5], ==, 2);       /* medium present, tray closed */
    r = tur(&v, 2, 0);
    assert_sense(&r, 6, 0x28, 0);
    r = tur(&v, 2, 0);
    assert_good(&r);
    memset(c10, 0, sizeof(c10));
    c10[0] = 0x25;
    r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 8);
    assert_good(&r);
    g_assert_cmpuint(ldl_be_p(b), ==, 2 * 1024 * 1024 / 2048 - 1);

    /* the guest locks the tray: eject is refused and reported */
    {
        uint8_t pa[6] = { 0x1e, 0, 0, 0, 1 }, ss[6] = { 0x1b, 0, 0, 0, 2 };
        r = vs_cmd(&v, 2, 0, pa, 6, NULL, 0, NULL, 0);
        assert_good(&r);
        reply = vs_qmp(&v, "{\"execute\": \"eject\", \"arguments\": "
                           "{\"id\": \"cd0\"}}");
        g_assert_nonnull(strstr(reply, "\"error\""));
        r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 8);   /* capacity */
        assert_good(&r);
        memset(c10, 0, sizeof(c10));
        c10[0] = 0x4a;
        c10[1] = 1;
        c10[4] = 0x10;
        stw_be_p(c10 + 7, 8);
        r = vs_cmd(&v, 2, 0, c10, 10, NULL, 0, b, 8);
        assert_good(&r);
        g_assert_cmpint(b[4] & 0xf, ==, 1);             /* EjectRequest */
        /* START STOP UNIT cannot open a locked tray ... */
        r = vs_cmd(&v, 2, 0, ss, 6, NULL, 0, NULL, 0);
        assert_sense(&r, 5, 0x53, 2);
        /* ... but can once unlocked */
        pa[4] = 0;
        r = vs_cmd(&v, 2, 0, pa, 6, NULL, 0, NULL, 0);
        assert_good(&r);
        ev = (g_free(ev), qmp_take_events(v.qmp));
        r = vs_cmd(&v, 2, 0, ss, 6, NULL, 0, NULL, 0);
        assert_good(&r);
        g_free(reply);
        reply = vs_qmp(&v, "{\"execute\": \"query-block\"}");
        ev = (g_free(ev), qmp_take_events(v.qmp));
        g_assert_nonnull(strstr(ev, "DEVICE_TRAY_MOVED"));
        g_assert_nonnull(strstr(reply, "\"qdev\": \"cd0\""));
        g_assert_nonnull(strstr(reply, "\"tray_open\": true"));
        g_assert_nonnull(strstr(reply, "\"removable\": true"));
        r = tur(&v, 2, 0);
        assert_sense(&r, 2, 0x3a, 2);
        /* close it again: a medium change for the guest */
        ss[4] = 3;
        r = vs_cmd(&v, 2, 0, ss, 6, NULL, 0, NULL, 0);
        assert_good(&r);
        r = tur(&v, 2, 0);
        assert_sense(&r, 6, 0x28, 0);
    }
    vs_end(&v);
}

static uint8_t tmf(VS *v, uint32_t subtype, unsigned target, unsigned lun,
                   uint64_t tag);

/* Media changes and a TMF with the queues (and the backend) in an I/O
 * thread: the monitor's changes reach the device through that thread. */
static void test_cdrom_iothread(void)
{
    g_autofree char *iso = make_raw("cdio.iso", 1024 * 1024);
    g_autofree char *extra = g_strdup_printf(
        "-object iothread,id=io0 "
        "-drive if=none,id=cd,file=%s,format=raw,media=cdrom "
        "-device scsi-cd,drive=cd,id=cd0", iso);
    g_autofree char *cmd = NULL, *ev = NULL;
    uint8_t b[2048], c10[10] = { 0x28 };
    Result r;
    VS v;

    vs_start_opts(&v, "iothread=io0", extra, false);
    clear_reset_ua(&v, 0, 0);
    vs_qmp_ok(&v, "{\"execute\": \"blockdev-open-tray\", \"arguments\": "
                  "{\"id\": \"cd0\"}}");
    r = tur(&v, 0, 0);
    assert_sense(&r, 6, 0x3a, 0);
    r = tur(&v, 0, 0);
    assert_sense(&r, 2, 0x3a, 2);
    vs_qmp_ok(&v, "{\"execute\": \"blockdev-remove-medium\", "
                  "\"arguments\": {\"id\": \"cd0\"}}");
    cmd = g_strdup_printf("{\"execute\": \"blockdev-change-medium\", "
                          "\"arguments\": {\"id\": \"cd0\", \"filename\": "
                          "\"%s\", \"format\": \"raw\"}}", iso);
    vs_qmp_ok(&v, cmd);
    ev = qmp_take_events(v.qmp);
    g_assert_nonnull(strstr(ev, "\"tray-open\": false"));
    r = tur(&v, 0, 0);
    assert_sense(&r, 6, 0x3a, 0);
    r = tur(&v, 0, 0);
    assert_sense(&r, 6, 0x28, 0);
    stl_be_p(c10 + 2, 5);
    stw_be_p(c10 + 7, 1);
    r = vs_cmd(&v, 0, 0, c10, 10, NULL, 0, b, 2048);
    assert_good(&r);
    {
        g_autofree uint8_t *f = qtest_file_range(iso, 5 * 2048, 2048);
        g_assert_cmpmem(b, 2048, f, 2048);
    }
    g_assert_cmpint(tmf(&v, 5, 0, 0, 0), ==, S_OK);
    r = tur(&v, 0, 0);
    assert_sense(&r, 6, 0x29, 0);
    vs_end(&v);
}

/* ---- events: parameter change, events missed -------------------------------- */

static void test_events(void)
{
    g_autofree char *img = make_raw("ev.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device scsi-hd,share-rw=on,drive=d0,id=hd0,scsi-id=3,lun=1", img);
    uint64_t evbuf[1];
    uint16_t id;
    uint32_t len;
    uint8_t b[32], cdb16[16] = { 0x9e, 0x10 };
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 3, 1);
    /* no event buffer yet: the event is lost and reported as missed */
    vs_qmp_ok(&v, "{\"execute\": \"block_resize\", \"arguments\": "
                  "{\"device\": \"d0\", \"size\": 8388608}}");
    add_event_buffers(&v, evbuf, 1);
    g_assert(qvirtqueue_get_used(&v.event, &id, &len, 5000));
    g_assert_cmphex(qtest_readl(v.qts, evbuf[0]), ==, 0x80000000);
    /* now with a buffer: PARAM_CHANGE, capacity data has changed */
    add_event_buffers(&v, evbuf, 1);
    vs_qmp_ok(&v, "{\"execute\": \"block_resize\", \"arguments\": "
                  "{\"device\": \"d0\", \"size\": 16777216}}");
    g_assert(qvirtqueue_get_used(&v.event, &id, &len, 5000));
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmphex(qtest_readl(v.qts, evbuf[0]), ==, 3);
    g_assert_cmpint(qtest_readb(v.qts, evbuf[0] + 4), ==, 1);
    g_assert_cmpint(qtest_readb(v.qts, evbuf[0] + 5), ==, 3);
    g_assert_cmpint(qtest_readb(v.qts, evbuf[0] + 7), ==, 1);
    g_assert_cmphex(qtest_readl(v.qts, evbuf[0] + 12), ==, 0x092a);
    /* and the unit attention for the driver, then the new size */
    r = tur(&v, 3, 1);
    assert_sense(&r, 6, 0x2a, 9);
    stl_be_p(cdb16 + 10, 32);
    r = vs_cmd(&v, 3, 1, cdb16, 16, NULL, 0, b, 32);
    assert_good(&r);
    g_assert_cmpuint(ldq_be_p(b), ==, 16777216 / 512 - 1);
    /* a malformed event buffer (device-readable) breaks the device */
    {
        QVirtBuf bad = { qvirtio_alloc(16, 16), 16, false };
        qvirtqueue_add(&v.event, &bad, 1);
        qvirtqueue_kick(&v.event);
        vs_qmp_ok(&v, "{\"execute\": \"block_resize\", \"arguments\": "
                      "{\"device\": \"d0\", \"size\": 4194304}}");
        g_assert(qvirtio_get_status(&v.d) & QVIRTIO_S_NEEDS_RESET);
    }
    vs_end(&v);
}

/* A TRANSPORT_RESET event for target @t LUN 0 with @reason in @buf. */
static void assert_transport_reset(VS *v, uint64_t buf, unsigned t,
                                   uint32_t reason)
{
    uint16_t id;
    uint32_t len;

    g_assert(qvirtqueue_get_used(&v->event, &id, &len, 5000));
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmphex(qtest_readl(v->qts, buf), ==, 1);
    g_assert_cmpint(qtest_readb(v->qts, buf + 4), ==, 1);
    g_assert_cmpint(qtest_readb(v->qts, buf + 5), ==, t);
    g_assert_cmphex(qtest_readb(v->qts, buf + 6), ==, 0x40);
    g_assert_cmpint(qtest_readb(v->qts, buf + 7), ==, 0);
    g_assert_cmphex(qtest_readl(v->qts, buf + 12), ==, reason);
}

/*
 * device_add of a scsi-hd on a running virtio-scsi (libvirt's attach-disk
 * --targetbus scsi): the driver gets TRANSPORT_RESET/RESCAN for the new
 * LUN, the other LUNs REPORTED LUNS DATA HAS CHANGED, and the new disk
 * reads its image; device_del: TRANSPORT_RESET/REMOVED, DEVICE_DELETED at
 * once, the target is gone.  On the main loop and on an I/O thread.
 */
static void test_hotplug(gconstpointer iothread)
{
    g_autofree char *img0 = make_raw("hp0.raw", DISK_SIZE);
    g_autofree char *img1 = make_raw("hp1.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "%s-drive if=none,id=d0,file=%s,format=raw "
        "-device scsi-hd,share-rw=on,drive=d0,id=hd0,scsi-id=0,lun=0 "
        "-drive if=none,id=d1,file=%s,format=raw",
        iothread ? "-object iothread,id=io0 " : "", img0, img1);
    uint8_t rd[10] = { 0x28 }, b[512], want[512];
    uint64_t evbuf[2];
    g_autofree char *ev = NULL, *r = NULL;
    Result res;
    VS v;

    vs_start_opts(&v, iothread ? "iothread=io0" : "", extra, false);
    add_event_buffers(&v, evbuf, 2);
    clear_reset_ua(&v, 0, 0);
    res = tur(&v, 2, 0);
    g_assert_cmpint(res.response, ==, S_BAD_TARGET);

    vs_qmp_ok(&v, "{\"execute\": \"device_add\", \"arguments\": "
                  "{\"driver\": \"scsi-hd\", \"id\": \"hot1\", "
                  "\"drive\": \"d1\", \"bus\": \"scsi0.0\", "
                  "\"scsi-id\": 2, \"lun\": 0}}");
    assert_transport_reset(&v, evbuf[0], 2, 1);         /* RESCAN */
    res = tur(&v, 0, 0);
    assert_sense(&res, 6, 0x3f, 0x0e);      /* REPORTED LUNS CHANGED */
    clear_reset_ua(&v, 2, 0);
    stl_be_p(rd + 2, 3);
    stw_be_p(rd + 7, 1);
    res = vs_cmd(&v, 2, 0, rd, 10, NULL, 0, b, 512);
    assert_good(&res);
    for (size_t i = 0; i < 512; i++) {
        want[i] = pattern_at(3 * 512 + i);
    }
    g_assert(memcmp(b, want, 512) == 0);

    vs_qmp_ok(&v, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"hot1\"}}");
    ev = qmp_take_events(v.qmp);
    g_assert_nonnull(strstr(ev, "DEVICE_DELETED"));
    g_assert_nonnull(strstr(ev, "hot1"));
    assert_transport_reset(&v, evbuf[1], 2, 2);         /* REMOVED */
    res = tur(&v, 2, 0);
    g_assert_cmpint(res.response, ==, S_BAD_TARGET);
    res = tur(&v, 0, 0);
    assert_sense(&res, 6, 0x3f, 0x0e);
    /* the drive is free again: it can come back at another address,
     * with libvirt's device_id as VPD 83h's designator */
    vs_qmp_ok(&v, "{\"execute\": \"device_add\", \"arguments\": "
                  "{\"driver\": \"scsi-hd\", \"id\": \"hot2\", "
                  "\"drive\": \"d1\", \"scsi-id\": 5, "
                  "\"device_id\": \"drive-scsi0-0-5-0\"}}");
    clear_reset_ua(&v, 5, 0);
    res = tur(&v, 5, 0);
    assert_good(&res);
    res = inquiry(&v, 5, 0, true, 0x83, b, 64);
    assert_good(&res);
    g_assert_cmpint(b[7], ==, 17);
    g_assert(memcmp(b + 8, "drive-scsi0-0-5-0", 17) == 0);
    /* a bus that is not there, and a taken address, fail cleanly */
    r = vs_qmp(&v, "{\"execute\": \"device_add\", \"arguments\": "
                   "{\"driver\": \"scsi-hd\", \"drive\": \"d0\", "
                   "\"bus\": \"nosuch.0\"}}");
    g_assert_nonnull(strstr(r, "Bus 'nosuch.0' not found"));
    vs_end(&v);
}

/* READ(10) of one block at @lba on target @t, queued and kicked but not
 * waited for; the response buffer's address. */
static uint64_t submit_read(VS *v, unsigned t, uint32_t lba)
{
    size_t req_size = 19 + v->cdb_size, resp_size = 12 + v->sense_size;
    uint64_t req = qvirtio_alloc(req_size, 16);
    uint64_t resp = qvirtio_alloc(resp_size, 16);
    uint64_t din = qvirtio_alloc(512, 16);
    uint8_t hdr[19 + 256] = { 0 };
    QVirtBuf bufs[3] = { { req, req_size, false }, { resp, resp_size, true },
                         { din, 512, true } };

    put_lun(hdr, t, 0);
    hdr[19] = 0x28;
    stl_be_p(hdr + 19 + 2, lba);
    stw_be_p(hdr + 19 + 7, 1);
    qtest_memwrite(v->qts, req, hdr, req_size);
    qtest_memset(v->qts, resp, 0xee, resp_size);
    qvirtqueue_add(&v->req, bufs, 3);
    qvirtqueue_kick(&v->req);
    return resp;
}

/* device_del of a disk with commands still waiting for its I/O (an iops
 * limit holds them): they complete first, GOOD, then the LUN goes. */
static void test_hotplug_inflight(gconstpointer iothread)
{
    g_autofree char *img = make_raw("hpf.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "%s-drive if=none,id=d1,file=%s,format=raw,"
        "throttling.iops-total=4 "
        "-device scsi-hd,share-rw=on,drive=d1,id=hd1,scsi-id=1,lun=0",
        iothread ? "-object iothread,id=io0 " : "", img);
    uint64_t resp[3];
    uint16_t id;
    uint32_t len;
    Result r;
    VS v;

    vs_start_opts(&v, iothread ? "iothread=io0" : "", extra, false);
    clear_reset_ua(&v, 1, 0);
    r = tur(&v, 1, 0);
    assert_good(&r);
    for (unsigned i = 0; i < 3; i++) {
        resp[i] = submit_read(&v, 1, i);
    }
    vs_qmp_ok(&v, "{\"execute\": \"device_del\", \"arguments\": "
                  "{\"id\": \"hd1\"}}");
    for (unsigned i = 0; i < 3; i++) {
        g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
    }
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(qtest_readb(v.qts, resp[i] + 11), ==, S_OK);
        g_assert_cmpint(qtest_readb(v.qts, resp[i] + 10), ==, GOOD);
    }
    r = tur(&v, 1, 0);
    g_assert_cmpint(r.response, ==, S_BAD_TARGET);
    vs_end(&v);
}

/* ---- task management ----------------------------------------------------------- */

static uint8_t tmf(VS *v, uint32_t subtype, unsigned target, unsigned lun,
                   uint64_t tag)
{
    uint64_t req = qvirtio_alloc(24, 16), resp = qvirtio_alloc(8, 16);
    QVirtBuf bufs[2] = { { req, 24, false }, { resp, 1, true } };
    uint8_t t[24] = { 0 };
    uint16_t id;
    uint32_t len;

    stl_le_p(t + 4, subtype);
    put_lun(t + 8, target, lun);
    stq_le_p(t + 16, tag);
    qtest_memwrite(v->qts, req, t, 24);
    qtest_writeb(v->qts, resp, 0xee);
    qvirtqueue_add(&v->ctrl, bufs, 2);
    qvirtqueue_kick(&v->ctrl);
    g_assert(qvirtqueue_get_used(&v->ctrl, &id, &len, 5000));
    g_assert_cmpuint(len, ==, 1);
    return qtest_readb(v->qts, resp);
}

static void test_tmf(void)
{
    g_autofree char *img = make_raw("tmf.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0",
        img);
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    g_assert_cmpint(tmf(&v, 0, 0, 0, 99), ==, S_OK);        /* ABORT TASK */
    g_assert_cmpint(tmf(&v, 1, 0, 0, 0), ==, S_OK);         /* TASK SET */
    g_assert_cmpint(tmf(&v, 6, 0, 0, 99), ==, S_OK);        /* QUERY TASK */
    g_assert_cmpint(tmf(&v, 2, 0, 0, 0), ==, S_OK);         /* CLEAR ACA */
    g_assert_cmpint(tmf(&v, 42, 0, 0, 0), ==, S_FUNCTION_REJECTED);
    g_assert_cmpint(tmf(&v, 0, 9, 0, 0), ==, S_BAD_TARGET);
    g_assert_cmpint(tmf(&v, 5, 0, 4, 0), ==, S_INCORRECT_LUN);
    /* LOGICAL UNIT RESET: the next command sees the reset */
    r = tur(&v, 0, 0);
    assert_good(&r);
    g_assert_cmpint(tmf(&v, 5, 0, 0, 0), ==, S_OK);
    r = tur(&v, 0, 0);
    assert_sense(&r, 6, 0x29, 0);
    g_assert_cmpint(tmf(&v, 4, 0, 0, 0), ==, S_OK);         /* I_T NEXUS */
    r = tur(&v, 0, 0);
    assert_sense(&r, 6, 0x29, 0);
    /* a control request of an unknown type fails */
    {
        uint64_t req = qvirtio_alloc(4, 16), resp = qvirtio_alloc(4, 16);
        QVirtBuf bufs[2] = { { req, 4, false }, { resp, 1, true } };
        uint16_t id;
        uint32_t len;
        qtest_writel(v.qts, req, 77);
        qvirtqueue_add(&v.ctrl, bufs, 2);
        qvirtqueue_kick(&v.ctrl);
        g_assert(qvirtqueue_get_used(&v.ctrl, &id, &len, 5000));
        g_assert_cmpint(qtest_readb(v.qts, resp), ==, S_FAILURE);
    }
    vs_end(&v);
}

/* A command with tag @tag and data-out @out, queued and kicked but not
 * waited for: its descriptor head; *resp_out its response buffer. */
static uint16_t submit_out(VS *v, uint64_t tag, const uint8_t *cdb,
                           size_t cdb_len, const void *out, size_t out_len,
                           uint64_t *resp_out)
{
    uint64_t req = qvirtio_alloc(REQ_HDR, 16);
    uint64_t resp = qvirtio_alloc(RESP_HDR, 16);
    uint64_t dout = qvirtio_alloc(out_len, 16);
    uint8_t hdr[REQ_HDR] = { 0 };
    QVirtBuf bufs[3] = { { req, REQ_HDR, false }, { dout, out_len, false },
                         { resp, RESP_HDR, true } };
    uint16_t head;

    put_lun(hdr, 0, 0);
    stq_le_p(hdr + 8, tag);
    memcpy(hdr + 19, cdb, cdb_len);
    qtest_memwrite(v->qts, req, hdr, REQ_HDR);
    qtest_memwrite(v->qts, dout, out, out_len);
    qtest_memset(v->qts, resp, 0xee, RESP_HDR);
    head = qvirtqueue_add(&v->req, bufs, 3);
    qvirtqueue_kick(&v->req);
    *resp_out = resp;
    return head;
}

/* A TMF queued and kicked but not waited for: its response byte. */
static uint64_t submit_tmf(VS *v, uint32_t subtype, uint64_t tag)
{
    uint64_t req = qvirtio_alloc(24, 16), resp = qvirtio_alloc(8, 16);
    QVirtBuf bufs[2] = { { req, 24, false }, { resp, 1, true } };
    uint8_t t[24] = { 0 };

    stl_le_p(t + 4, subtype);
    put_lun(t + 8, 0, 0);
    stq_le_p(t + 16, tag);
    qtest_memwrite(v->qts, req, t, 24);
    qtest_writeb(v->qts, resp, 0xee);
    qvirtqueue_add(&v->ctrl, bufs, 2);
    qvirtqueue_kick(&v->ctrl);
    return resp;
}

/*
 * QUERY TASK finds command @tag in flight.  With an I/O thread the queue
 * handler runs there, after the kick returned: ask again until it has
 * the command (at most 5 s); on the main loop the first answer holds.
 */
static void wait_in_flight(VS *v, uint64_t tag)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (tmf(v, 6, 0, 0, tag) != S_FUNCTION_SUCCEEDED) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
}

/* I/O limits on drive d0: @bps bytes a second (0: none). */
static void set_bps(VS *v, unsigned bps)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"block_set_io_throttle\", \"arguments\": "
        "{\"device\": \"d0\", \"bps\": %u, \"bps_rd\": 0, \"bps_wr\": 0, "
        "\"iops\": 0, \"iops_rd\": 0, \"iops_wr\": 0}}", bps);

    vs_qmp_ok(v, cmd);
}

/* Blocks [@lba, @lba + @n) of @img hold @blk each. */
static void assert_blocks(const char *img, uint64_t lba, unsigned n,
                          const uint8_t *blk)
{
    g_autofree uint8_t *f = qtest_file_range(img, lba * 512, n * 512);

    for (unsigned i = 0; i < n; i++) {
        g_assert_cmpmem(f + i * 512, 512, blk, 512);
    }
}

/* Blocks [@lba, @lba + @n) of @img still hold make_raw()'s pattern. */
static void assert_untouched(const char *img, uint64_t lba, unsigned n)
{
    g_autofree uint8_t *f = qtest_file_range(img, lba * 512, n * 512);

    for (size_t i = 0; i < n * 512; i++) {
        g_assert_cmphex(f[i], ==, pattern_at(lba * 512 + i));
    }
}

/*
 * rerror=stop: a failing read stops the VM and is held; QUERY TASK finds
 * it and ABORT TASK completes it as aborted.  werror=stop: a failing
 * write (once) is held, 'cont' retries it and it lands; so does a WRITE
 * SAME whose second chunk fails once (that chunk is issued again, the
 * first is not).  A second disk
 * with the default policy reports the read error as CHECK CONDITION.
 */
static void test_error_policy(void)
{
    g_autofree char *img = make_raw("err.raw", DISK_SIZE);
    g_autofree char *img2 = make_raw("err2.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-blockdev driver=file,node-name=f0,filename=%s "
        "-blockdev '{\"driver\": \"blkdebug\", \"node-name\": \"dbg\", "
        "\"image\": \"f0\", \"inject-error\": [{\"event\": \"read_aio\", "
        "\"sector\": 40}, {\"event\": \"write_aio\", \"sector\": 50, "
        "\"once\": true}, {\"event\": \"write_aio\", \"sector\": 750, "
        "\"once\": true}]}' "
        "-blockdev driver=raw,node-name=r0,file=dbg "
        "-device scsi-hd,share-rw=on,drive=r0,rerror=stop,werror=stop "
        "-blockdev driver=file,node-name=f1,filename=%s "
        "-blockdev '{\"driver\": \"blkdebug\", \"node-name\": \"dbg1\", "
        "\"image\": \"f1\", \"inject-error\": [{\"event\": \"read_aio\", "
        "\"sector\": 40}]}' "
        "-blockdev driver=raw,node-name=r1,file=dbg1 "
        "-device scsi-hd,share-rw=on,drive=r1,scsi-id=1", img, img2);
    uint64_t req, resp, din;
    uint8_t hdr[REQ_HDR] = { 0 }, b[512];
    QVirtBuf bufs[3];
    g_autofree char *ev = NULL, *st = NULL;
    uint16_t id, head;
    uint32_t len;
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    clear_reset_ua(&v, 1, 0);
    /* the default policy: the error is reported */
    r = rw10(&v, 1, 0, false, 40, 1, b, 512, 1);
    assert_sense(&r, 0x0b, 0, 6);
    g_free(vs_qmp(&v, "{\"execute\": \"query-status\"}"));
    ev = qmp_take_events(v.qmp);
    g_assert_nonnull(strstr(ev, "\"action\": \"report\""));

    /* a read of sector 40 fails: the VM stops, the request is held */
    req = qvirtio_alloc(REQ_HDR, 16);
    resp = qvirtio_alloc(RESP_HDR, 16);
    din = qvirtio_alloc(512, 16);
    put_lun(hdr, 0, 0);
    stq_le_p(hdr + 8, 77);
    hdr[19] = 0x28;
    stl_be_p(hdr + 19 + 2, 40);
    stw_be_p(hdr + 19 + 7, 1);
    qtest_memwrite(v.qts, req, hdr, REQ_HDR);
    bufs[0] = (QVirtBuf){ req, REQ_HDR, false };
    bufs[1] = (QVirtBuf){ resp, RESP_HDR, true };
    bufs[2] = (QVirtBuf){ din, 512, true };
    head = qvirtqueue_add(&v.req, bufs, 3);
    qvirtqueue_kick(&v.req);
    g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 300));
    st = vs_qmp(&v, "{\"execute\": \"query-status\"}");
    g_assert_nonnull(strstr(st, "io-error"));
    ev = (g_free(ev), qmp_take_events(v.qmp));
    g_assert_nonnull(strstr(ev, "BLOCK_IO_ERROR"));
    g_assert_nonnull(strstr(ev, "\"action\": \"stop\""));
    /* QUERY TASK finds it; ABORT TASK ends it */
    g_assert_cmpint(tmf(&v, 6, 0, 0, 77), ==, S_FUNCTION_SUCCEEDED);
    g_assert_cmpint(tmf(&v, 0, 0, 0, 77), ==, S_OK);
    g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(qtest_readb(v.qts, resp + 11), ==, S_ABORTED);
    g_assert_cmpint(tmf(&v, 6, 0, 0, 77), ==, S_OK);
    vs_qmp_ok(&v, "{\"execute\": \"cont\"}");

    /* a write of sector 50 fails once: held until 'cont', then it lands */
    fill(b, 512, 0x99);
    qtest_memwrite(v.qts, din, b, 512);
    hdr[19] = 0x2a;
    stl_be_p(hdr + 19 + 2, 50);
    qtest_memwrite(v.qts, req, hdr, REQ_HDR);
    bufs[1] = (QVirtBuf){ din, 512, false };
    bufs[2] = (QVirtBuf){ resp, RESP_HDR, true };
    head = qvirtqueue_add(&v.req, bufs, 3);
    qvirtqueue_kick(&v.req);
    g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 300));
    g_free(st);
    st = vs_qmp(&v, "{\"execute\": \"query-status\"}");
    g_assert_nonnull(strstr(st, "io-error"));
    vs_qmp_ok(&v, "{\"execute\": \"cont\"}");
    g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(qtest_readb(v.qts, resp + 11), ==, S_OK);
    g_assert_cmpint(qtest_readb(v.qts, resp + 10), ==, GOOD);
    r = rw10(&v, 0, 0, false, 41, 1, b, 512, 1);
    assert_good(&r);

    /* WRITE SAME over 600 blocks from 200: its second chunk (sector 750)
     * fails once, the request is held, 'cont' goes on from that chunk */
    {
        uint8_t ws[10] = { 0x41 };
        uint64_t wresp;

        fill(b, 512, 0x44);
        stl_be_p(ws + 2, 200);
        stw_be_p(ws + 7, 600);
        gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

        head = submit_out(&v, 78, ws, 10, b, 512, &wresp);
        do {                    /* the first chunk, then the failing one */
            g_assert_cmpint(g_get_monotonic_time(), <, end);
            g_free(st);
            st = vs_qmp(&v, "{\"execute\": \"query-status\"}");
        } while (!strstr(st, "io-error"));
        g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 0));
        g_assert_cmpint(tmf(&v, 6, 0, 0, 78), ==, S_FUNCTION_SUCCEEDED);
        vs_qmp_ok(&v, "{\"execute\": \"cont\"}");
        g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
        g_assert_cmpint(id, ==, head);
        g_assert_cmpint(qtest_readb(v.qts, wresp + 11), ==, S_OK);
        g_assert_cmpint(qtest_readb(v.qts, wresp + 10), ==, GOOD);
    }
    vs_end(&v);
    {
        g_autofree uint8_t *f = qtest_file_range(img, 50 * 512, 512);
        fill(b, 512, 0x99);
        g_assert_cmpmem(f, 512, b, 512);
        fill(b, 512, 0x44);
        assert_blocks(img, 200, 600, b);
    }
}

/* ---- UNMAP and WRITE SAME run asynchronously ------------------------------------ */

/*
 * UNMAP and WRITE SAME are chains of asynchronous requests: held by an
 * I/O limit of one byte a second (the first write fills the bucket, the
 * next waits for days), a WRITE SAME of a pattern over two chunks is in
 * flight (QUERY TASK finds it, nothing is used) while the monitor
 * answers; 'stop' drains the whole chain and it completes GOOD with its
 * data on the image.  ABORT TASK of a held UNMAP: the descriptor out
 * lands when the limits go, the next is never issued, the command is
 * ABORTED and the TMF completes after it.  A device reset while a WRITE
 * SAME is held: nothing is returned, the chain stops after its chunk out,
 * and the device works after the driver sets it up again.  On the main
 * loop and with an I/O thread.
 */
static void test_async_chain(gconstpointer iothread)
{
    g_autofree char *img = make_raw("chain.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "%s-drive if=none,id=d0,file=%s,format=raw,discard=unmap,"
        "throttling.bps-total=1 -device scsi-hd,share-rw=on,drive=d0",
        iothread ? "-object iothread,id=io0 " : "", img);
    uint8_t ws[10] = { 0x41 }, um[10] = { 0x42 }, blk[512], list[40] = { 0 };
    uint8_t zero[512] = { 0 };
    uint64_t resp, tresp;
    uint16_t head, id;
    uint32_t len;
    char *st;
    Result r;
    VS v;

    vs_start_opts(&v, iothread ? "iothread=io0" : "", extra, false);
    clear_reset_ua(&v, 0, 0);
    fill(blk, 512, 0x21);
    r = rw10(&v, 0, 0, true, 0, 1, blk, 512, 1);    /* fills the bucket */
    assert_good(&r);

    /* WRITE SAME(10) of a pattern over 600 blocks (two chunks): held */
    memset(blk, 0x3c, sizeof(blk));
    blk[0] = 0xc3;
    stl_be_p(ws + 2, 1000);
    stw_be_p(ws + 7, 600);
    head = submit_out(&v, 5, ws, 10, blk, 512, &resp);
    g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 0));
    wait_in_flight(&v, 5);
    st = vs_qmp(&v, "{\"execute\": \"query-status\"}");
    g_assert_nonnull(strstr(st, "\"running\""));
    g_free(st);
    g_assert_cmpint(tmf(&v, 6, 0, 0, 5), ==, S_FUNCTION_SUCCEEDED);
    g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 0));
    /* stop drains the chain: complete, GOOD, on the image */
    vs_qmp_ok(&v, "{\"execute\": \"stop\"}");
    g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(qtest_readb(v.qts, resp + 11), ==, S_OK);
    g_assert_cmpint(qtest_readb(v.qts, resp + 10), ==, GOOD);
    vs_qmp_ok(&v, "{\"execute\": \"cont\"}");
    assert_blocks(img, 1000, 600, blk);
    assert_untouched(img, 1600, 1);

    /* UNMAP of two descriptors, held; ABORT TASK stops the chain */
    stw_be_p(list, 38);
    stw_be_p(list + 2, 32);
    stq_be_p(list + 8, 2000);
    stl_be_p(list + 16, 8);
    stq_be_p(list + 24, 3000);
    stl_be_p(list + 32, 8);
    stw_be_p(um + 7, sizeof(list));
    head = submit_out(&v, 6, um, 10, list, sizeof(list), &resp);
    wait_in_flight(&v, 6);
    tresp = submit_tmf(&v, 0, 6);                   /* ABORT TASK */
    g_assert_false(qvirtqueue_get_used(&v.ctrl, &id, &len, 0));
    set_bps(&v, 0);                                 /* the limits go */
    g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(qtest_readb(v.qts, resp + 11), ==, S_ABORTED);
    g_assert(qvirtqueue_get_used(&v.ctrl, &id, &len, 5000));
    g_assert_cmpint(qtest_readb(v.qts, tresp), ==, S_OK);
    assert_blocks(img, 2000, 8, zero);              /* it was out */
    assert_untouched(img, 3000, 8);                 /* never issued */

    /* a device reset while a WRITE SAME is held */
    set_bps(&v, 1);                                 /* empty bucket */
    r = rw10(&v, 0, 0, true, 1, 1, blk, 512, 1);    /* fills it */
    assert_good(&r);
    stl_be_p(ws + 2, 1800);
    memset(blk, 0x77, sizeof(blk));
    submit_out(&v, 8, ws, 10, blk, 512, &resp);
    wait_in_flight(&v, 8);
    g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 0));
    qvirtio_reset(&v.d);
    vs_qmp_ok(&v, "{\"execute\": \"stop\"}");       /* drains: it ends */
    vs_qmp_ok(&v, "{\"execute\": \"cont\"}");
    g_assert_false(qvirtqueue_get_used(&v.req, &id, &len, 0));
    set_bps(&v, 0);
    assert_blocks(img, 1800, 512, blk);             /* the chunk out */
    assert_untouched(img, 2312, 88);                /* the next: never */
    qvirtio_mem_reset();
    g_assert(qvirtio_negotiate(&v.d, std_features(&v.d, false)));
    qvirtqueue_setup(&v.ctrl, &v.d, 0, 0, false);
    qvirtqueue_setup(&v.event, &v.d, 1, 0, false);
    qvirtqueue_setup(&v.req, &v.d, 2, 0, false);
    qvirtio_driver_ok(&v.d);
    clear_reset_ua(&v, 0, 0);
    r = rw10(&v, 0, 0, false, 1800, 1, blk, 512, 1);
    assert_good(&r);
    vs_end(&v);
}

/*
 * ABORT TASK of a read whose I/O is out and then fails, on a disk with
 * rerror=stop: nobody waits for it any more, so no policy applies (as
 * QEMU): the VM keeps running, the command comes back ABORTED and the
 * TMF after it.  An iops limit holds the read until the test lifts it.
 */
static void test_abort_failing_read(void)
{
    g_autofree char *img = make_raw("abf.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-blockdev driver=file,node-name=f0,filename=%s "
        "-blockdev '{\"driver\": \"blkdebug\", \"node-name\": \"dbg\", "
        "\"image\": \"f0\", \"inject-error\": [{\"event\": \"read_aio\", "
        "\"sector\": 40}]}' "
        "-blockdev driver=raw,node-name=r0,file=dbg "
        "-device scsi-hd,share-rw=on,drive=r0,id=hd0,rerror=stop", img);
    uint8_t rd[10] = { 0x28 }, b[512];
    uint64_t req, resp, din, tresp;
    uint8_t hdr[REQ_HDR] = { 0 };
    QVirtBuf bufs[3];
    uint16_t id, head;
    uint32_t len;
    char *st;
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    vs_qmp_ok(&v, "{\"execute\": \"block_set_io_throttle\", \"arguments\": "
                  "{\"id\": \"hd0\", \"bps\": 1, \"bps_rd\": 0, \"bps_wr\": 0, "
                  "\"iops\": 0, \"iops_rd\": 0, \"iops_wr\": 0}}");
    r = rw10(&v, 0, 0, false, 41, 1, b, 512, 1);     /* fills the bucket */
    assert_good(&r);
    req = qvirtio_alloc(REQ_HDR, 16);
    resp = qvirtio_alloc(RESP_HDR, 16);
    din = qvirtio_alloc(512, 16);
    put_lun(hdr, 0, 0);
    stq_le_p(hdr + 8, 9);
    stl_be_p(rd + 2, 40);
    stw_be_p(rd + 7, 1);
    memcpy(hdr + 19, rd, 10);
    qtest_memwrite(v.qts, req, hdr, REQ_HDR);
    bufs[0] = (QVirtBuf){ req, REQ_HDR, false };
    bufs[1] = (QVirtBuf){ resp, RESP_HDR, true };
    bufs[2] = (QVirtBuf){ din, 512, true };
    head = qvirtqueue_add(&v.req, bufs, 3);
    qvirtqueue_kick(&v.req);
    g_assert_cmpint(tmf(&v, 6, 0, 0, 9), ==, S_FUNCTION_SUCCEEDED);
    tresp = submit_tmf(&v, 0, 9);                   /* ABORT TASK */
    vs_qmp_ok(&v, "{\"execute\": \"block_set_io_throttle\", \"arguments\": "
                  "{\"id\": \"hd0\", \"bps\": 0, \"bps_rd\": 0, \"bps_wr\": 0, "
                  "\"iops\": 0, \"iops_rd\": 0, \"iops_wr\": 0}}");
    g_assert(qvirtqueue_get_used(&v.req, &id, &len, 5000));
    g_assert_cmpint(id, ==, head);
    g_assert_cmpint(qtest_readb(v.qts, resp + 11), ==, S_ABORTED);
    g_assert(qvirtqueue_get_used(&v.ctrl, &id, &len, 5000));
    g_assert_cmpint(qtest_readb(v.qts, tresp), ==, S_OK);
    st = vs_qmp(&v, "{\"execute\": \"query-status\"}");
    g_assert_nonnull(strstr(st, "\"running\""));
    g_free(st);
    vs_end(&v);
}

/* ---- hostile headers ------------------------------------------------------------- */

static void expect_broken_then_reset(VS *v)
{
    g_assert(qvirtio_get_status(&v->d) & QVIRTIO_S_NEEDS_RESET);
    qvirtio_reset(&v->d);
    qvirtio_mem_reset();
    g_assert(qvirtio_negotiate(&v->d, std_features(&v->d, false)));
    qvirtqueue_setup(&v->ctrl, &v->d, 0, 0, false);
    qvirtqueue_setup(&v->event, &v->d, 1, 0, false);
    qvirtqueue_setup(&v->req, &v->d, 2, 0, false);
    qvirtio_driver_ok(&v->d);
}

static void test_bad_headers(void)
{
    g_autofree char *img = make_raw("bad.raw", DISK_SIZE);
    g_autofree char *extra = g_strdup_printf(
        "-drive if=none,id=d0,file=%s,format=raw -device scsi-hd,share-rw=on,drive=d0",
        img);
    uint8_t b[512];
    Result r;
    VS v;

    vs_start(&v, extra);
    clear_reset_ua(&v, 0, 0);
    /* a request header without room for the whole cdb area */
    {
        uint64_t req = qvirtio_alloc(REQ_HDR, 16);
        uint64_t resp = qvirtio_alloc(RESP_HDR, 16);
        QVirtBuf bufs[2] = { { req, 19 + 16, false }, { resp, RESP_HDR, true } };
        qtest_memset(v.qts, req, 0, REQ_HDR);
        qvirtqueue_add(&v.req, bufs, 2);
        qvirtqueue_kick(&v.req);
        expect_broken_then_reset(&v);
    }
    /* no room for the response */
    {
        uint64_t req = qvirtio_alloc(REQ_HDR, 16);
        uint64_t resp = qvirtio_alloc(RESP_HDR, 16);
        QVirtBuf bufs[2] = { { req, REQ_HDR, false }, { resp, 11, true } };
        qtest_memset(v.qts, req, 0, REQ_HDR);
        qvirtqueue_add(&v.req, bufs, 2);
        qvirtqueue_kick(&v.req);
        expect_broken_then_reset(&v);
    }
    /* only a header, nothing writable at all */
    {
        uint64_t req = qvirtio_alloc(REQ_HDR, 16);
        QVirtBuf bufs[1] = { { req, REQ_HDR, false } };
        qvirtqueue_add(&v.req, bufs, 1);
        qvirtqueue_kick(&v.req);
        expect_broken_then_reset(&v);
    }
    /* a short TMF */
    {
        uint64_t req = qvirtio_alloc(24, 16), resp = qvirtio_alloc(4, 16);
        QVirtBuf bufs[2] = { { req, 8, false }, { resp, 1, true } };
        qtest_memset(v.qts, req, 0, 24);
        qvirtqueue_add(&v.ctrl, bufs, 2);
        qvirtqueue_kick(&v.ctrl);
        expect_broken_then_reset(&v);
    }
    /* the device works again (and the reset raised a unit attention) */
    clear_reset_ua(&v, 0, 0);
    r = rw10(&v, 0, 0, false, 0, 1, b, 512, 1);
    assert_good(&r);
    /* data in both directions: FAILURE (no VIRTIO_SCSI_F_INOUT) */
    {
        uint8_t cdb[10] = { 0x28 };
        stw_be_p(cdb + 7, 1);
        r = vs_cmd(&v, 0, 0, cdb, 10, b, 512, b, 512);
        g_assert_cmpint(r.response, ==, S_FAILURE);
    }
    /* data the wrong way: OVERRUN */
    r = rw10(&v, 0, 0, true, 0, 1, b, 0, 1);
    g_assert_cmpint(r.response, ==, S_OVERRUN);
    /* a smaller cdb_size set by the driver: a 16-byte CDB no longer fits */
    qvirtio_config_writel(&v.d, 24, 10);
    v.cdb_size = 10;
    {
        uint8_t c16[16] = { 0x88 };
        stl_be_p(c16 + 10, 1);
        r = vs_cmd(&v, 0, 0, c16, 10, NULL, 0, b, 512);
        assert_sense(&r, 5, 0x20, 0);
        r = rw10(&v, 0, 0, false, 0, 1, b, 512, 1);
        assert_good(&r);
    }
    vs_end(&v);
}

/* ---- boot order and the command line ------------------------------------------- */

static void test_bootindex(void)
{
    g_autofree char *img = make_raw("boot.raw", DISK_SIZE);
    QTestState *qts = qtest_initf(
        "-device virtio-scsi-pci,id=s,addr=05 "
        "-drive if=none,id=d0,file=%s,format=raw "
        "-device scsi-hd,share-rw=on,drive=d0,bus=s.0,scsi-id=2,lun=1,bootindex=1 "
        "-device scsi-cd,bus=s.0,scsi-id=0,bootindex=2", img);
    g_autofree char *order = qtest_fw_cfg_file(qts, "bootorder");

    g_assert_nonnull(order);
    g_assert_nonnull(strstr(order, "/pci@i0cf8/scsi@5/channel@0/disk@2,1\n"
                                   "/pci@i0cf8/scsi@5/channel@0/disk@0,0"));
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_cli_errors(void)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
        { "-device scsi-cd", "No 'SCSI' bus found for device 'scsi-cd'" },
        { "-device virtio-scsi-pci -device scsi-hd",
          "drive property not set" },
        { "-device virtio-scsi-pci -device scsi-cd,bus=nope.0",
          "Bus 'nope.0' not found" },
        { "-device virtio-scsi-pci -device scsi-cd,scsi-id=256",
          "bad scsi device id: 256" },
        { "-device virtio-scsi-pci -device scsi-cd,scsi-id=1 "
          "-device scsi-cd,scsi-id=1,lun=0", "lun already used" },
        { "-device virtio-scsi-pci,num_queues=0",
          "Invalid number of queues" },
        { "-device virtio-scsi-pci,iothread=nope", "no I/O thread" },
        { "-device virtio-scsi-pci -device scsi-cd,logical_block_size=512,"
          "physical_block_size=1000", "physical_block_size" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *cmd = g_strdup_printf(
            "%s -machine pc -accel qtest -nodefaults -display none %s",
            qtest_kvmpc_binary(), cases[i].args);
        g_autofree char *err = NULL;
        int status;
        g_assert_true(g_spawn_command_line_sync(cmd, NULL, &err, &status,
                                                NULL));
        g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (!strstr(err, cases[i].msg)) {
            g_error("%s: expected '%s', got '%s'", cases[i].args,
                    cases[i].msg, err);
        }
    }
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("virtio-scsi-test-XXXXXX", NULL);
    g_test_add_func("/virtio-scsi/ids-config", test_ids_config);
    g_test_add_func("/virtio-scsi/inquiry-vpd", test_inquiry);
    g_test_add_func("/virtio-scsi/read-capacity", test_read_capacity);
    g_test_add_func("/virtio-scsi/rw/raw", test_rw_raw);
    g_test_add_func("/virtio-scsi/rw/qcow2", test_rw_qcow2);
    g_test_add_data_func("/virtio-scsi/rw/iothread", NULL, test_rw_iothread);
    g_test_add_data_func("/virtio-scsi/rw/iothread-packed", "packed",
                         test_rw_iothread);
    g_test_add_data_func("/virtio-scsi/batched-pass/main-loop", NULL,
                         test_batched_pass);
    g_test_add_data_func("/virtio-scsi/batched-pass/iothread", "io",
                         test_batched_pass);
    g_test_add_func("/virtio-scsi/unmap", test_unmap);
    g_test_add_func("/virtio-scsi/write-same", test_write_same);
    g_test_add_func("/virtio-scsi/sync-cache", test_sync_cache);
    g_test_add_func("/virtio-scsi/mode-sense-select", test_mode_sense);
    g_test_add_func("/virtio-scsi/luns", test_luns);
    g_test_add_func("/virtio-scsi/unknown-opcode", test_unknown_opcode);
    g_test_add_func("/virtio-scsi/cdrom-media", test_cdrom);
    g_test_add_func("/virtio-scsi/cdrom-iothread", test_cdrom_iothread);
    g_test_add_func("/virtio-scsi/events", test_events);
    g_test_add_data_func("/virtio-scsi/hotplug/main-loop", NULL,
                         test_hotplug);
    g_test_add_data_func("/virtio-scsi/hotplug/iothread", "", test_hotplug);
    g_test_add_data_func("/virtio-scsi/hotplug/in-flight/main-loop", NULL,
                         test_hotplug_inflight);
    g_test_add_data_func("/virtio-scsi/hotplug/in-flight/iothread", "",
                         test_hotplug_inflight);
    g_test_add_func("/virtio-scsi/tmf", test_tmf);
    g_test_add_func("/virtio-scsi/error-policy", test_error_policy);
    g_test_add_func("/virtio-scsi/abort-failing-read",
                    test_abort_failing_read);
    g_test_add_data_func("/virtio-scsi/async-chain/main-loop", NULL,
                         test_async_chain);
    g_test_add_data_func("/virtio-scsi/async-chain/iothread", "",
                         test_async_chain);
    g_test_add_func("/virtio-scsi/bad-headers", test_bad_headers);
    g_test_add_func("/virtio-scsi/bootindex", test_bootindex);
    g_test_add_func("/virtio-scsi/cli-errors", test_cli_errors);
    ret = g_test_run();
    g_autofree char *rm = g_strdup_printf("rm -rf %s", tmpdir);
    if (system(rm)) {
        /* leave it */
    }
    return ret;
}
