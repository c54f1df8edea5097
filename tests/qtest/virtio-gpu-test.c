/*
 * virtio-gpu-pci and virtio-vga driven through libqvirtio as a guest
 * driver would (OASIS VIRTIO 1.2, 5.7): identity and BARs, display info,
 * EDID, resources in every 2D format drawn through multi-entry backing,
 * transfer, set scanout, flush and a QMP screendump compared pixel for
 * pixel; partial flushes, a resize by a new scanout, the cursor queue,
 * error responses for hostile requests, the host memory limit, the
 * migration blocker, and virtio-vga's legacy VGA registers.
 */
#include "libqvirtio.h"
#include <string.h>
#include <stdio.h>

#define GPU_MODERN_ID           0x1050
#define HDR                     24
#define CMD_GET_DISPLAY_INFO    0x0100
#define CMD_RESOURCE_CREATE_2D  0x0101
#define CMD_RESOURCE_UNREF      0x0102
#define CMD_SET_SCANOUT         0x0103
#define CMD_RESOURCE_FLUSH      0x0104
#define CMD_TRANSFER_TO_HOST_2D 0x0105
#define CMD_ATTACH_BACKING      0x0106
#define CMD_DETACH_BACKING      0x0107
#define CMD_GET_EDID            0x010a
#define CMD_UPDATE_CURSOR       0x0300
#define CMD_MOVE_CURSOR         0x0301
#define RESP_OK_NODATA          0x1100
#define RESP_OK_DISPLAY_INFO    0x1101
#define RESP_OK_EDID            0x1104
#define RESP_ERR_UNSPEC         0x1200
#define RESP_ERR_OUT_OF_MEMORY  0x1201
#define RESP_ERR_INVALID_SCANOUT_ID 0x1202
#define RESP_ERR_INVALID_RESOURCE_ID 0x1203
#define RESP_ERR_INVALID_PARAMETER 0x1205
#define F_EDID                  1

typedef struct Env {
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue ctrl, cursor;
    QMPConn *qmp;
    char *dir;
    uint64_t resp;              /* response buffer in guest memory */
    const char *con_id;         /* the device's id, for screendump */
} Env;

static void env_start(Env *e, const char *args_extra, uint16_t device_id)
{
    g_autofree char *args = NULL, *sock = NULL;
    int devfn;

    e->dir = g_dir_make_tmp("kvmpc-vgpu-XXXXXX", NULL);
    sock = g_build_filename(e->dir, "qmp.sock", NULL);
    args = g_strdup_printf("%s -qmp unix:%s,server=on,wait=off", args_extra,
                           sock);
    e->qts = qtest_init(args);
    devfn = qvirtio_pci_find(e->qts, device_id);
    g_assert_cmpint(devfn, >=, 0);
    qvirtio_mem_reset();
    qvirtio_pci_init(&e->d, e->qts, devfn, true);
    e->qmp = qmp_connect(sock);
    unlink(sock);
    e->resp = qvirtio_alloc(4096, 64);
    e->con_id = "gpu0";
}

static void env_driver_init(Env *e)
{
    qvirtio_msix_enable(&e->d, 3);
    g_assert(qvirtio_negotiate(&e->d, e->d.features &
                               (QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                                QVIRTIO_BIT(F_EDID))));
    qvirtqueue_setup(&e->ctrl, &e->d, 0, 64, false);
    qvirtqueue_setup(&e->cursor, &e->d, 1, 16, false);
    qvirtio_driver_ok(&e->d);
}

static void env_end(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
    rmdir(e->dir);
    g_free(e->dir);
}

/* Send @req (@len bytes) on the control queue; returns the response type. */
static uint32_t gpu_cmd_len(Env *e, const void *req, size_t len,
                            uint32_t *used_len)
{
    uint64_t out = qvirtio_alloc(len, 8);
    QVirtBuf b[2] = { { out, len, false }, { e->resp, 4096, true } };
    uint16_t id, head;
    uint32_t ulen;

    qtest_memwrite(e->qts, out, req, len);
    qtest_memset(e->qts, e->resp, 0xee, 64);
    head = qvirtqueue_add(&e->ctrl, b, 2);
    qvirtqueue_kick(&e->ctrl);
    g_assert(qvirtqueue_get_used(&e->ctrl, &id, &ulen, 5000));
    g_assert_cmpint(id, ==, head);
    if (used_len) {
        *used_len = ulen;
    }
    return qtest_readl(e->qts, e->resp);
}

static uint32_t gpu_cmd(Env *e, const void *req, size_t len)
{
    uint32_t ulen;
    uint32_t t = gpu_cmd_len(e, req, len, &ulen);

    g_assert_cmpint(ulen, >=, HDR);
    return t;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, v);
    put32(p + 4, v >> 32);
}

static void hdr(uint8_t *p, uint32_t type)
{
    memset(p, 0, HDR);
    put32(p, type);
}

static uint32_t create_2d(Env *e, uint32_t id, uint32_t fmt, uint32_t w,
                          uint32_t h)
{
    uint8_t r[40];

    hdr(r, CMD_RESOURCE_CREATE_2D);
    put32(r + 24, id);
    put32(r + 28, fmt);
    put32(r + 32, w);
    put32(r + 36, h);
    return gpu_cmd(e, r, sizeof(r));
}

static uint32_t simple_id_cmd(Env *e, uint32_t type, uint32_t id)
{
    uint8_t r[32] = { 0 };

    hdr(r, type);
    put32(r + 24, id);
    return gpu_cmd(e, r, sizeof(r));
}

static uint32_t rect_cmd(Env *e, uint32_t type, uint32_t x, uint32_t y,
                         uint32_t w, uint32_t h, uint32_t a, uint32_t b)
{
    uint8_t r[48] = { 0 };

    hdr(r, type);
    put32(r + 24, x);
    put32(r + 28, y);
    put32(r + 32, w);
    put32(r + 36, h);
    put32(r + 40, a);
    put32(r + 44, b);
    return gpu_cmd(e, r, sizeof(r));
}

static uint32_t set_scanout(Env *e, uint32_t head, uint32_t id, uint32_t x,
                            uint32_t y, uint32_t w, uint32_t h)
{
    return rect_cmd(e, CMD_SET_SCANOUT, x, y, w, h, head, id);
}

static uint32_t flush(Env *e, uint32_t id, uint32_t x, uint32_t y,
                      uint32_t w, uint32_t h)
{
    return rect_cmd(e, CMD_RESOURCE_FLUSH, x, y, w, h, id, 0);
}

static uint32_t transfer(Env *e, uint32_t id, uint32_t x, uint32_t y,
                         uint32_t w, uint32_t h, uint64_t offset)
{
    uint8_t r[56] = { 0 };

    hdr(r, CMD_TRANSFER_TO_HOST_2D);
    put32(r + 24, x);
    put32(r + 28, y);
    put32(r + 32, w);
    put32(r + 36, h);
    put64(r + 40, offset);
    put32(r + 48, id);
    return gpu_cmd(e, r, sizeof(r));
}

static uint32_t attach(Env *e, uint32_t id, const uint64_t *addr,
                       const uint32_t *len, unsigned n)
{
    size_t sz = 32 + 16 * n;
    g_autofree uint8_t *r = g_malloc0(sz);

    hdr(r, CMD_ATTACH_BACKING);
    put32(r + 24, id);
    put32(r + 28, n);
    for (unsigned i = 0; i < n; i++) {
        put64(r + 32 + 16 * i, addr[i]);
        put32(r + 40 + 16 * i, len[i]);
    }
    return gpu_cmd(e, r, sz);
}

/*
 * A backing of @size bytes in three pieces at scattered guest addresses;
 * the pieces are returned so the test can write "linear" offsets.
 */
typedef struct Backing {
    uint64_t addr[3];
    uint32_t len[3];
} Backing;

static void backing_alloc(Backing *b, uint32_t size)
{
    uint32_t a = (size / 3) & ~3u, c = (size / 3 + 100) & ~3u;

    b->len[0] = a;
    b->len[1] = c;
    b->len[2] = size - a - c;
    for (int i = 2; i >= 0; i--) {     /* descending addresses */
        b->addr[i] = qvirtio_alloc(b->len[i] + 4096, 4096);
    }
}

static void backing_write(Env *e, const Backing *b, uint32_t off,
                          const uint8_t *data, uint32_t len)
{
    for (int i = 0; i < 3 && len; i++) {
        if (off >= b->len[i]) {
            off -= b->len[i];
            continue;
        }
        uint32_t n = MIN(len, b->len[i] - off);
        qtest_memwrite(e->qts, b->addr[i] + off, data, n);
        data += n;
        len -= n;
        off = 0;
    }
}

/* ---- screendump ---------------------------------------------------- */

static uint8_t *screendump(Env *e, const char *dev, int head, int *w, int *h)
{
    g_autofree char *path = g_build_filename(e->dir, "shot.ppm", NULL);
    g_autofree char *cmd = NULL, *reply = NULL, *data = NULL;
    gsize len;
    int maxval, n = 0;
    uint8_t *pix;

    cmd = g_strdup_printf("{\"execute\":\"screendump\",\"arguments\":"
                          "{\"filename\":\"%s\",\"device\":\"%s\","
                          "\"head\":%d}}", path, dev, head);
    reply = qmp_cmd(e->qmp, cmd);
    if (!strstr(reply, "\"return\"")) {
        g_error("screendump: %s", reply);
    }
    g_assert(g_file_get_contents(path, &data, &len, NULL));
    unlink(path);
    g_assert_cmpint(sscanf(data, "P6 %d %d %d%n", w, h, &maxval, &n), ==, 3);
    g_assert_cmpint(maxval, ==, 255);
    n++;
    g_assert_cmpint(len, ==, n + 3 * *w * *h);
    pix = g_malloc(3 * *w * *h);
    memcpy(pix, data + n, 3 * *w * *h);
    return pix;
}

/* ---- formats ------------------------------------------------------------ */

typedef struct Fmt {
    uint32_t id;
    int r, g, b;                /* byte positions in memory */
} Fmt;

static const Fmt fmts[] = {
    { 1, 2, 1, 0 },     /* B8G8R8A8 */
    { 2, 2, 1, 0 },     /* B8G8R8X8 */
    { 3, 1, 2, 3 },     /* A8R8G8B8 */
    { 4, 1, 2, 3 },     /* X8R8G8B8 */
    { 67, 0, 1, 2 },    /* R8G8B8A8 */
    { 68, 3, 2, 1 },    /* X8B8G8R8 */
    { 121, 3, 2, 1 },   /* A8B8G8R8 */
    { 134, 0, 1, 2 },   /* R8G8B8X8 */
};

static void pattern_rgb(int x, int y, uint8_t *rgb, int salt)
{
    rgb[0] = x * 7 + salt;
    rgb[1] = y * 5 + 3 * salt;
    rgb[2] = (x ^ y) + 11 * salt;
}

static void fill_pixels(uint8_t *buf, const Fmt *f, int w, int h, int salt)
{
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t rgb[3], *p = buf + 4 * (y * w + x);
            pattern_rgb(x, y, rgb, salt);
            p[f->r] = rgb[0];
            p[f->g] = rgb[1];
            p[f->b] = rgb[2];
            p[6 - f->r - f->g - f->b] = 0xff;  /* alpha / padding */
        }
    }
}

static void test_ids(void)
{
    Env e;
    uint64_t f;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0,max_outputs=2",
              GPU_MODERN_ID);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0), ==, 0x1af4);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 2), ==, 0x1050);
    g_assert_cmphex(qpci_cfg_readb(e.qts, e.d.devfn, 8), ==, 1);
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x0a), ==, 0x0380);
    g_assert_cmphex(e.d.io, ==, 0);                 /* modern only */
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0x10), ==, 0);
    f = e.d.features;
    g_assert(f & QVIRTIO_BIT(QVIRTIO_F_VERSION_1));
    g_assert(f & QVIRTIO_BIT(F_EDID));
    g_assert(!(f & QVIRTIO_BIT(0)));                /* no VIRGL */
    g_assert_cmpint(qvirtio_config_readl(&e.d, 8), ==, 2);   /* scanouts */
    g_assert_cmpint(qvirtio_config_readl(&e.d, 12), ==, 0);  /* capsets */
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==, 0);   /* events */
    env_end(&e);

    /* legacy can not be forced on a modern-only device */
    {
        g_autofree char *out = NULL, *err = NULL;
        g_autofree char *cmd = g_strdup_printf(
            "%s -machine pc -accel qtest -nodefaults -display none "
            "-device virtio-gpu-pci,disable-modern=on", qtest_kvmpc_binary());
        int status;

        g_assert(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
        g_assert(status != 0);
        g_assert(strstr(err, "modern-only"));
    }
}

static void test_display_info_edid(void)
{
    Env e;
    uint8_t r[32] = { 0 }, edid[128];
    uint32_t len;

    env_start(&e, "-device virtio-gpu-pci,max_outputs=2,xres=1024,yres=768",
              GPU_MODERN_ID);
    env_driver_init(&e);
    hdr(r, CMD_GET_DISPLAY_INFO);
    g_assert_cmphex(gpu_cmd_len(&e, r, HDR, &len), ==, RESP_OK_DISPLAY_INFO);
    g_assert_cmpint(len, ==, HDR + 16 * 24);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 0), ==, 0);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 8), ==, 1024);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 12), ==, 768);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 16), ==, 1);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 24 + 16), ==, 0);

    hdr(r, CMD_GET_EDID);
    g_assert_cmphex(gpu_cmd_len(&e, r, 32, &len), ==, RESP_OK_EDID);
    g_assert_cmpint(len, ==, HDR + 8 + 1024);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR), ==, 128);
    qtest_memread(e.qts, e.resp + HDR + 8, edid, sizeof(edid));
    g_assert_cmphex(edid[0], ==, 0x00);
    g_assert_cmphex(edid[1], ==, 0xff);
    g_assert_cmphex(edid[7], ==, 0x00);
    {
        uint8_t sum = 0;
        for (int i = 0; i < 128; i++) {
            sum += edid[i];
        }
        g_assert_cmpint(sum, ==, 0);
    }
    /* the preferred timing: 1024 x 768 */
    g_assert_cmpint(edid[56] | (edid[58] & 0xf0) << 4, ==, 1024);
    g_assert_cmpint(edid[59] | (edid[61] & 0xf0) << 4, ==, 768);
    put32(r + 24, 7);       /* no such scanout */
    g_assert_cmphex(gpu_cmd(&e, r, 32), ==, RESP_ERR_INVALID_PARAMETER);
    env_end(&e);

    /* edid=off: not offered, and the command fails */
    env_start(&e, "-device virtio-gpu-pci,edid=off", GPU_MODERN_ID);
    g_assert(!(e.d.features & QVIRTIO_BIT(F_EDID)));
    env_driver_init(&e);
    hdr(r, CMD_GET_EDID);
    put32(r + 24, 0);
    g_assert_cmphex(gpu_cmd(&e, r, 32), ==, RESP_ERR_UNSPEC);
    env_end(&e);
}

/* Draw a W x H picture in @f, show it, compare the screendump. */
static void draw_and_check(Env *e, const Fmt *f, uint32_t id, int w, int h)
{
    g_autofree uint8_t *pix = g_malloc(4 * w * h);
    g_autofree uint8_t *shot = NULL;
    Backing b;
    int sw, sh;

    backing_alloc(&b, 4 * w * h);
    fill_pixels(pix, f, w, h, (int)id);
    backing_write(e, &b, 0, pix, 4 * w * h);
    g_assert_cmphex(create_2d(e, id, f->id, w, h), ==, RESP_OK_NODATA);
    g_assert_cmphex(attach(e, id, b.addr, b.len, 3), ==, RESP_OK_NODATA);
    g_assert_cmphex(transfer(e, id, 0, 0, w, h, 0), ==, RESP_OK_NODATA);
    g_assert_cmphex(set_scanout(e, 0, id, 0, 0, w, h), ==, RESP_OK_NODATA);
    g_assert_cmphex(flush(e, id, 0, 0, w, h), ==, RESP_OK_NODATA);
    shot = screendump(e, e->con_id, 0, &sw, &sh);
    g_assert_cmpint(sw, ==, w);
    g_assert_cmpint(sh, ==, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t rgb[3];
            pattern_rgb(x, y, rgb, (int)id);
            if (memcmp(rgb, shot + 3 * (y * w + x), 3)) {
                g_error("format %u pixel %d,%d: %02x%02x%02x, want "
                        "%02x%02x%02x", f->id, x, y, shot[3 * (y * w + x)],
                        shot[3 * (y * w + x) + 1], shot[3 * (y * w + x) + 2],
                        rgb[0], rgb[1], rgb[2]);
            }
        }
    }
}

static void test_draw_formats(void)
{
    Env e;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0", GPU_MODERN_ID);
    env_driver_init(&e);
    for (unsigned i = 0; i < G_N_ELEMENTS(fmts); i++) {
        /* a new size each time: set scanout resizes the console */
        draw_and_check(&e, &fmts[i], 10 + i, 64 + 8 * i, 40 + 2 * i);
    }
    env_end(&e);
}

/* Only flushed rectangles reach the screen; a transfer with an offset. */
static void test_partial_flush(void)
{
    const Fmt *f = &fmts[1];
    const int w = 96, h = 64, stride = 4 * w;
    g_autofree uint8_t *pix = g_malloc(4 * w * h);
    g_autofree uint8_t *shot = NULL;
    Backing b;
    Env e;
    int sw, sh;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0", GPU_MODERN_ID);
    env_driver_init(&e);
    draw_and_check(&e, f, 1, w, h);
    /* new picture in the backing; bring over rows 10..29, columns 8..39 */
    fill_pixels(pix, f, w, h, 50);
    backing_alloc(&b, 4 * w * h);
    g_assert_cmphex(simple_id_cmd(&e, CMD_DETACH_BACKING, 1), ==,
                    RESP_OK_NODATA);
    backing_write(&e, &b, 0, pix, 4 * w * h);
    g_assert_cmphex(attach(&e, 1, b.addr, b.len, 3), ==, RESP_OK_NODATA);
    g_assert_cmphex(transfer(&e, 1, 8, 10, 32, 20, 10 * stride + 8 * 4), ==,
                    RESP_OK_NODATA);
    /* flush only rows 10..19 */
    g_assert_cmphex(flush(&e, 1, 0, 10, w, 10), ==, RESP_OK_NODATA);
    shot = screendump(&e, "gpu0", 0, &sw, &sh);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            bool new = x >= 8 && x < 40 && y >= 10 && y < 20;
            uint8_t rgb[3];
            pattern_rgb(x, y, rgb, new ? 50 : 1);
            g_assert_cmpmem(rgb, 3, shot + 3 * (y * w + x), 3);
        }
    }
    env_end(&e);
}

/* A scanout showing part of a resource, then a new, smaller resource. */
static void test_resize_and_heads(void)
{
    g_autofree uint8_t *shot = NULL, *shot1 = NULL;
    Env e;
    int sw, sh;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0,max_outputs=2",
              GPU_MODERN_ID);
    env_driver_init(&e);
    draw_and_check(&e, &fmts[0], 3, 128, 96);
    g_assert_cmphex(set_scanout(&e, 1, 3, 16, 8, 64, 32), ==,
                    RESP_OK_NODATA);
    shot1 = screendump(&e, "gpu0", 1, &sw, &sh);
    g_assert_cmpint(sw, ==, 64);
    g_assert_cmpint(sh, ==, 32);
    for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 64; x++) {
            uint8_t rgb[3];
            pattern_rgb(x + 16, y + 8, rgb, 3);
            g_assert_cmpmem(rgb, 3, shot1 + 3 * (y * 64 + x), 3);
        }
    }
    draw_and_check(&e, &fmts[4], 4, 48, 20);
    /* unref of the shown resource blanks the head (same size, black) */
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 4), ==,
                    RESP_OK_NODATA);
    shot = screendump(&e, "gpu0", 0, &sw, &sh);
    g_assert_cmpint(sw, ==, 48);
    for (int i = 0; i < 3 * sw * sh; i++) {
        g_assert_cmpint(shot[i], ==, 0);
    }
    env_end(&e);
}

static void test_cursor(void)
{
    uint8_t r[56] = { 0 };
    QVirtBuf bb;
    uint16_t id, head;
    uint32_t len;
    Env e;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0", GPU_MODERN_ID);
    env_driver_init(&e);
    g_assert_cmphex(create_2d(&e, 9, 1, 64, 64), ==, RESP_OK_NODATA);
    for (int i = 0; i < 4; i++) {
        uint64_t out = qvirtio_alloc(sizeof(r), 8);
        hdr(r, i & 1 ? CMD_MOVE_CURSOR : CMD_UPDATE_CURSOR);
        put32(r + 24, i == 3 ? 9 : 0);  /* scanout (9: none such) */
        put32(r + 28, 100 + i);
        put32(r + 32, 50);
        put32(r + 40, i == 2 ? 1234 : 9);   /* 1234: unknown resource */
        put32(r + 44, 3);
        put32(r + 48, 4);
        qtest_memwrite(e.qts, out, r, sizeof(r));
        bb = (QVirtBuf){ out, sizeof(r), false };
        head = qvirtqueue_add(&e.cursor, &bb, 1);
        qvirtqueue_kick(&e.cursor);
        g_assert(qvirtqueue_get_used(&e.cursor, &id, &len, 5000));
        g_assert_cmpint(id, ==, head);
        g_assert_cmpint(len, ==, 0);
    }
    /* a short cursor request is consumed too, and the device stays up */
    {
        uint64_t out = qvirtio_alloc(8, 8);
        bb = (QVirtBuf){ out, 8, false };
        head = qvirtqueue_add(&e.cursor, &bb, 1);
        qvirtqueue_kick(&e.cursor);
        g_assert(qvirtqueue_get_used(&e.cursor, &id, &len, 5000));
        g_assert_cmpint(id, ==, head);
    }
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 9), ==,
                    RESP_OK_NODATA);
    g_assert(!(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET));
    env_end(&e);
}

static void test_errors(void)
{
    uint8_t r[64] = { 0 };
    uint64_t addr[2];
    uint32_t len[2], ulen;
    Env e;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0 -m 128M", GPU_MODERN_ID);
    env_driver_init(&e);
    g_assert_cmphex(create_2d(&e, 0, 2, 16, 16), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(create_2d(&e, 5, 99, 16, 16), ==,
                    RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_2d(&e, 5, 2, 0, 16), ==,
                    RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_2d(&e, 5, 2, 0xffffffff, 0xffffffff), ==,
                    RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(create_2d(&e, 5, 2, 32, 32), ==, RESP_OK_NODATA);
    g_assert_cmphex(create_2d(&e, 5, 2, 32, 32), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 77), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(set_scanout(&e, 1, 5, 0, 0, 32, 32), ==,
                    RESP_ERR_INVALID_SCANOUT_ID);
    g_assert_cmphex(set_scanout(&e, 0xffffffff, 5, 0, 0, 32, 32), ==,
                    RESP_ERR_INVALID_SCANOUT_ID);
    g_assert_cmphex(set_scanout(&e, 0, 77, 0, 0, 32, 32), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(set_scanout(&e, 0, 5, 8, 0, 32, 32), ==,
                    RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(set_scanout(&e, 0, 5, 0xfffffff0, 0, 32, 32), ==,
                    RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(set_scanout(&e, 0, 5, 0, 0, 8, 8), ==,
                    RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(flush(&e, 5, 0, 0, 33, 32), ==,
                    RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(flush(&e, 6, 0, 0, 1, 1), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    /* no backing yet */
    g_assert_cmphex(transfer(&e, 5, 0, 0, 32, 32, 0), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(simple_id_cmd(&e, CMD_DETACH_BACKING, 5), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    /* backing outside RAM: the APIC page, above 4G, past the end */
    addr[0] = qvirtio_alloc(4096, 4096);
    len[0] = 4096;
    addr[1] = 0xfee00000;
    len[1] = 4096;
    g_assert_cmphex(attach(&e, 5, addr, len, 2), ==, RESP_ERR_UNSPEC);
    addr[1] = 0x100000000ULL;
    g_assert_cmphex(attach(&e, 5, addr, len, 2), ==, RESP_ERR_UNSPEC);
    addr[1] = (128ULL << 20) - 2048;    /* crosses the end of RAM */
    g_assert_cmphex(attach(&e, 5, addr, len, 2), ==, RESP_ERR_UNSPEC);
    addr[1] = 0xfffffffffffff000ULL;    /* wraps */
    g_assert_cmphex(attach(&e, 5, addr, len, 2), ==, RESP_ERR_UNSPEC);
    /* too many entries, and entries missing from the request */
    hdr(r, CMD_ATTACH_BACKING);
    put32(r + 24, 5);
    put32(r + 28, 16385);
    g_assert_cmphex(gpu_cmd(&e, r, 32), ==, RESP_ERR_UNSPEC);
    put32(r + 28, 2);
    g_assert_cmphex(gpu_cmd(&e, r, 48), ==, RESP_ERR_UNSPEC);
    /* a good backing, then a second attach is refused */
    g_assert_cmphex(attach(&e, 5, addr, len, 1), ==, RESP_OK_NODATA);
    g_assert_cmphex(attach(&e, 5, addr, len, 1), ==, RESP_ERR_UNSPEC);
    g_assert_cmphex(transfer(&e, 5, 30, 0, 4, 1, 0), ==,
                    RESP_ERR_INVALID_PARAMETER);
    /* an offset past the backing copies nothing, and is no error */
    g_assert_cmphex(transfer(&e, 5, 0, 0, 32, 32, ~0ULL - 8), ==,
                    RESP_OK_NODATA);
    /* short and unknown commands; 3D commands are not offered */
    hdr(r, CMD_RESOURCE_CREATE_2D);
    g_assert_cmphex(gpu_cmd(&e, r, 30), ==, RESP_ERR_UNSPEC);
    g_assert_cmphex(gpu_cmd(&e, r, 10), ==, RESP_ERR_UNSPEC);
    hdr(r, 0x0200);
    g_assert_cmphex(gpu_cmd(&e, r, 64), ==, RESP_ERR_UNSPEC);
    hdr(r, 0xdead);
    g_assert_cmphex(gpu_cmd(&e, r, 64), ==, RESP_ERR_UNSPEC);
    /* fences come back in the response header */
    hdr(r, CMD_RESOURCE_FLUSH);
    put32(r + 4, 1);
    put64(r + 8, 0x1122334455667788ULL);
    put32(r + 16, 3);
    put32(r + 32, 1);
    put32(r + 36, 1);
    put32(r + 40, 5);
    g_assert_cmphex(gpu_cmd_len(&e, r, 48, &ulen), ==, RESP_OK_NODATA);
    g_assert_cmphex(qtest_readl(e.qts, e.resp + 4), ==, 1);
    g_assert_cmphex(qtest_readq(e.qts, e.resp + 8), ==,
                    0x1122334455667788ULL);
    g_assert_cmphex(qtest_readl(e.qts, e.resp + 16), ==, 3);
    g_assert_cmpint(ulen, ==, HDR);
    /* without the fence flag the header comes back clean */
    put32(r + 4, 0);
    g_assert_cmphex(gpu_cmd(&e, r, 48), ==, RESP_OK_NODATA);
    g_assert_cmphex(qtest_readq(e.qts, e.resp + 8), ==, 0);
    /* a device-writable buffer too small for the response */
    {
        uint64_t out = qvirtio_alloc(24, 8), in = qvirtio_alloc(8, 8);
        QVirtBuf b[2] = { { out, 24, false }, { in, 8, true } };
        uint16_t id;
        hdr(r, CMD_GET_DISPLAY_INFO);
        qtest_memwrite(e.qts, out, r, 24);
        qvirtqueue_add(&e.ctrl, b, 2);
        qvirtqueue_kick(&e.ctrl);
        g_assert(qvirtqueue_get_used(&e.ctrl, &id, &ulen, 5000));
        g_assert_cmpint(ulen, ==, 8);
        g_assert_cmphex(qtest_readl(e.qts, in), ==, RESP_OK_DISPLAY_INFO);
    }
    g_assert(!(qvirtio_get_status(&e.d) & QVIRTIO_S_NEEDS_RESET));
    env_end(&e);
}

/*
 * 4096 one-pixel backing entries with gaps between them, a transfer of a
 * rectangle that starts inside the rows: the pixels land where they
 * belong, and the unsent columns stay black.
 */
static void test_many_entries(void)
{
    const int w = 16, h = 256, n = w * h;
    g_autofree uint8_t *mem = g_malloc0(8 * n);
    g_autofree uint64_t *addr = g_new(uint64_t, n);
    g_autofree uint32_t *len = g_new(uint32_t, n);
    g_autofree uint8_t *shot = NULL;
    uint64_t base;
    int sw, sh;
    Env e;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0", GPU_MODERN_ID);
    env_driver_init(&e);
    base = qvirtio_alloc(8 * n, 4096);
    for (int i = 0; i < n; i++) {
        uint8_t rgb[3];
        pattern_rgb(i % w, i / w, rgb, 5);
        /* B8G8R8X8; the 4 bytes after each pixel are not backing */
        mem[8 * i] = rgb[2];
        mem[8 * i + 1] = rgb[1];
        mem[8 * i + 2] = rgb[0];
        memset(mem + 8 * i + 4, 0xa5, 4);
        addr[i] = base + 8 * i;
        len[i] = 4;
    }
    qtest_memwrite(e.qts, base, mem, 8 * n);
    g_assert_cmphex(create_2d(&e, 3, 2, w, h), ==, RESP_OK_NODATA);
    g_assert_cmphex(attach(&e, 3, addr, len, n), ==, RESP_OK_NODATA);
    g_assert_cmphex(transfer(&e, 3, 2, 0, w - 2, h, 8), ==, RESP_OK_NODATA);
    g_assert_cmphex(set_scanout(&e, 0, 3, 0, 0, w, h), ==, RESP_OK_NODATA);
    shot = screendump(&e, "gpu0", 0, &sw, &sh);
    g_assert_cmpint(sw, ==, w);
    g_assert_cmpint(sh, ==, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t rgb[3] = { 0, 0, 0 };
            if (x >= 2) {
                pattern_rgb(x, y, rgb, 5);
            }
            g_assert_cmpmem(rgb, 3, shot + 3 * (y * w + x), 3);
        }
    }
    env_end(&e);
}

static void test_hostmem(void)
{
    Env e;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0,max_hostmem=1M",
              GPU_MODERN_ID);
    env_driver_init(&e);
    g_assert_cmphex(create_2d(&e, 1, 2, 512, 256), ==, RESP_OK_NODATA);
    g_assert_cmphex(create_2d(&e, 2, 2, 512, 256), ==, RESP_OK_NODATA);
    g_assert_cmphex(create_2d(&e, 3, 2, 16, 16), ==,
                    RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 1), ==,
                    RESP_OK_NODATA);
    g_assert_cmphex(create_2d(&e, 3, 2, 16, 16), ==, RESP_OK_NODATA);
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 2), ==,
                    RESP_OK_NODATA);
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 3), ==,
                    RESP_OK_NODATA);
    /* a device reset frees everything too */
    g_assert_cmphex(create_2d(&e, 4, 2, 512, 512), ==, RESP_OK_NODATA);
    qvirtio_reset(&e.d);
    env_driver_init(&e);
    g_assert_cmphex(create_2d(&e, 5, 2, 512, 512), ==, RESP_OK_NODATA);
    env_end(&e);
}

/* Head @head of @e shows the pattern @salt offset by (@ox, @oy). */
static void check_picture(Env *e, int head, int salt, int w, int h, int ox,
                          int oy)
{
    g_autofree uint8_t *shot = NULL;
    int sw, sh;

    shot = screendump(e, e->con_id, head, &sw, &sh);
    g_assert_cmpint(sw, ==, w);
    g_assert_cmpint(sh, ==, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t rgb[3];
            pattern_rgb(x + ox, y + oy, rgb, salt);
            g_assert_cmpmem(rgb, 3, shot + 3 * (y * w + x), 3);
        }
    }
}

static void wait_migrated(Env *e)
{
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = qmp_cmd(e->qmp, "{\"execute\":\"query-migrate\"}");
        if (strstr(r, "\"completed\"")) {
            return;
        }
        g_assert(!strstr(r, "\"failed\""));
        g_usleep(10000);
    }
    g_error("migration did not complete");
}

static void wait_incoming(Env *e)
{
    for (int i = 0; i < 500; i++) {
        g_autofree char *r = qmp_cmd(e->qmp, "{\"execute\":\"query-status\"}");
        if (!strstr(r, "inmigrate")) {
            return;
        }
        g_usleep(10000);
    }
    g_error("incoming migration did not finish");
}

/*
 * Resources, their backing and what each head shows survive a migration;
 * the driver goes on drawing on the destination.
 */
static void test_migration(void)
{
    const Fmt *f = &fmts[2];
    const int w = 72, h = 40;
    g_autofree char *mig = NULL, *cmd = NULL, *args = NULL, *sock = NULL;
    g_autofree char *reply = NULL;
    g_autofree uint8_t *pix = g_malloc(4 * w * h);
    Backing b;
    Env e;

    env_start(&e, "-device virtio-gpu-pci,id=gpu0,max_outputs=2",
              GPU_MODERN_ID);
    env_driver_init(&e);
    /* resource 7 on head 0 (whole) and head 1 (a part), backed in 3 pieces */
    backing_alloc(&b, 4 * w * h);
    fill_pixels(pix, f, w, h, 7);
    backing_write(&e, &b, 0, pix, 4 * w * h);
    g_assert_cmphex(create_2d(&e, 7, f->id, w, h), ==, RESP_OK_NODATA);
    g_assert_cmphex(attach(&e, 7, b.addr, b.len, 3), ==, RESP_OK_NODATA);
    g_assert_cmphex(transfer(&e, 7, 0, 0, w, h, 0), ==, RESP_OK_NODATA);
    g_assert_cmphex(set_scanout(&e, 0, 7, 0, 0, w, h), ==, RESP_OK_NODATA);
    g_assert_cmphex(set_scanout(&e, 1, 7, 8, 4, 32, 16), ==, RESP_OK_NODATA);
    g_assert_cmphex(create_2d(&e, 8, 2, 64, 64), ==, RESP_OK_NODATA);
    check_picture(&e, 0, 7, w, h, 0, 0);

    mig = g_build_filename(e.dir, "mig", NULL);
    cmd = g_strdup_printf("{\"execute\":\"migrate\",\"arguments\":"
                          "{\"uri\":\"file:%s\"}}", mig);
    reply = qmp_cmd(e.qmp, cmd);
    g_assert(strstr(reply, "\"return\""));
    wait_migrated(&e);
    qmp_close(e.qmp);
    g_assert_cmpint(qtest_quit(e.qts), ==, 0);

    sock = g_build_filename(e.dir, "qmp2.sock", NULL);
    args = g_strdup_printf("-device virtio-gpu-pci,id=gpu0,max_outputs=2 "
                           "-incoming file:%s -qmp unix:%s,server=on,"
                           "wait=off", mig, sock);
    e.qts = qtest_init(args);
    e.d.qts = e.qts;
    e.qmp = qmp_connect(sock);
    unlink(sock);
    wait_incoming(&e);
    unlink(mig);
    check_picture(&e, 0, 7, w, h, 0, 0);
    check_picture(&e, 1, 7, 32, 16, 8, 4);
    /* the driver goes on: new pixels through the migrated backing */
    fill_pixels(pix, f, w, h, 9);
    backing_write(&e, &b, 0, pix, 4 * w * h);
    g_assert_cmphex(transfer(&e, 7, 0, 0, w, h, 0), ==, RESP_OK_NODATA);
    g_assert_cmphex(flush(&e, 7, 0, 0, w, h), ==, RESP_OK_NODATA);
    check_picture(&e, 0, 9, w, h, 0, 0);
    check_picture(&e, 1, 9, 32, 16, 8, 4);
    /* ids in use stay in use; the second resource came along */
    g_assert_cmphex(create_2d(&e, 8, 2, 16, 16), ==,
                    RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(simple_id_cmd(&e, CMD_RESOURCE_UNREF, 8), ==,
                    RESP_OK_NODATA);
    env_end(&e);
}

/* ---- virtio-vga ---------------------------------------------------------- */

#define VVGA_VRAM   0xd0000000ULL
#define VVGA_MMIO   0xd1000000ULL

static void vbe_write(Env *e, uint16_t index, uint16_t val)
{
    qtest_outw(e->qts, 0x1ce, index);
    qtest_outw(e->qts, 0x1cf, val);
}

static void check_vbe_picture(Env *e, int w, int h)
{
    g_autofree uint8_t *shot = NULL;
    int sw, sh;

    shot = screendump(e, "vga0", 0, &sw, &sh);
    g_assert_cmpint(sw, ==, w);
    g_assert_cmpint(sh, ==, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t rgb[3];
            pattern_rgb(x, y, rgb, 77);
            g_assert_cmpmem(rgb, 3, shot + 3 * (y * w + x), 3);
        }
    }
}

static void test_virtio_vga(void)
{
    const int w = 64, h = 48;
    g_autofree uint8_t *pix = g_malloc(4 * w * h);
    Env e;

    env_start(&e, "-device virtio-vga,id=vga0", GPU_MODERN_ID);
    e.con_id = "vga0";
    g_assert_cmphex(qpci_cfg_readw(e.qts, e.d.devfn, 0x0a), ==, 0x0300);
    g_assert_cmphex(qpci_cfg_readb(e.qts, e.d.devfn, 8), ==, 1);
    /* BAR0 the VGA memory (16 MiB, prefetchable), BAR2 its registers */
    qpci_cfg_writel(e.qts, e.d.devfn, 0x10, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0x10), ==, 0xff000008);
    qpci_cfg_writel(e.qts, e.d.devfn, 0x18, 0xffffffff);
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0x18), ==, 0xfffff000);
    qpci_cfg_writel(e.qts, e.d.devfn, 0x10, (uint32_t)VVGA_VRAM);
    qpci_cfg_writel(e.qts, e.d.devfn, 0x18, (uint32_t)VVGA_MMIO);
    /* the VGA BIOS is the expansion ROM */
    qpci_cfg_writel(e.qts, e.d.devfn, 0x30, 0xfffff800);
    g_assert_cmphex(qpci_cfg_readl(e.qts, e.d.devfn, 0x30) & 0xfffff800, !=,
                    0);
    qpci_cfg_writel(e.qts, e.d.devfn, 0x30, 0);

    /* legacy VGA registers: sequencer, dispi by port and by BAR2 */
    qtest_outb(e.qts, 0x3c4, 2);
    qtest_outb(e.qts, 0x3c5, 0x0a);
    g_assert_cmphex(qtest_inb(e.qts, 0x3c5), ==, 0x0a);
    qtest_outw(e.qts, 0x1ce, 0);
    g_assert_cmphex(qtest_inw(e.qts, 0x1cf), ==, 0xb0c5);
    g_assert_cmphex(qtest_readw(e.qts, VVGA_MMIO + 0x500), ==, 0xb0c5);
    qtest_writeb(e.qts, VVGA_MMIO + 0x400 + 4, 2);      /* 0x3c4 */
    g_assert_cmphex(qtest_readb(e.qts, VVGA_MMIO + 0x400 + 5), ==, 0x0a);
    g_assert_cmphex(qtest_readl(e.qts, VVGA_MMIO + 0x604), ==, 0x1e1e1e1e);

    /* a VBE mode drawn by the VGA core */
    vbe_write(&e, 1, w);
    vbe_write(&e, 2, h);
    vbe_write(&e, 3, 32);
    vbe_write(&e, 4, 0x41);
    fill_pixels(pix, &fmts[1], w, h, 77);
    qtest_memwrite(e.qts, VVGA_VRAM, pix, 4 * w * h);
    check_vbe_picture(&e, w, h);

    /* the driver takes over scanout 0 */
    env_driver_init(&e);
    draw_and_check(&e, &fmts[0], 1, 80, 50);
    /* VGA writes do not show while the GPU owns the screen */
    qtest_writel(e.qts, VVGA_VRAM, 0x00ffffff);
    {
        g_autofree uint8_t *shot = NULL;
        int sw, sh;
        shot = screendump(&e, "vga0", 0, &sw, &sh);
        g_assert_cmpint(sw, ==, 80);
    }
    /* disabling scanout 0 gives the screen back to the VGA */
    g_assert_cmphex(set_scanout(&e, 0, 0, 0, 0, 0, 0), ==, RESP_OK_NODATA);
    qtest_memwrite(e.qts, VVGA_VRAM, pix, 4);
    check_vbe_picture(&e, w, h);
    /* and so does a device reset, after the driver took it again */
    g_assert_cmphex(set_scanout(&e, 0, 1, 0, 0, 80, 50), ==, RESP_OK_NODATA);
    qvirtio_reset(&e.d);
    check_vbe_picture(&e, w, h);
    env_end(&e);
}

/* -vga virtio puts a virtio-vga at 00:02.0 */
static void test_vga_virtio_option(void)
{
    QTestState *qts = qtest_init("-vga virtio");
    int devfn = qvirtio_pci_find(qts, GPU_MODERN_ID);

    g_assert_cmpint(devfn, ==, 2 << 3);
    g_assert_cmphex(qpci_cfg_readw(qts, devfn, 0x0a), ==, 0x0300);
    qtest_outw(qts, 0x1ce, 0);
    g_assert_cmphex(qtest_inw(qts, 0x1cf), ==, 0xb0c5);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-gpu/ids", test_ids);
    g_test_add_func("/virtio-gpu/display-info-edid", test_display_info_edid);
    g_test_add_func("/virtio-gpu/draw-formats", test_draw_formats);
    g_test_add_func("/virtio-gpu/partial-flush", test_partial_flush);
    g_test_add_func("/virtio-gpu/resize-heads", test_resize_and_heads);
    g_test_add_func("/virtio-gpu/cursor", test_cursor);
    g_test_add_func("/virtio-gpu/errors", test_errors);
    g_test_add_func("/virtio-gpu/many-entries", test_many_entries);
    g_test_add_func("/virtio-gpu/hostmem", test_hostmem);
    g_test_add_func("/virtio-gpu/migration", test_migration);
    g_test_add_func("/virtio-gpu/virtio-vga", test_virtio_vga);
    g_test_add_func("/virtio-gpu/vga-virtio-option", test_vga_virtio_option);
    return g_test_run();
}
