/*
 * virtio-gpu-pci and virtio-vga driven through libqvirtio as a guest
 * driver would (OASIS VIRTIO 1.2, 5.7): identity and BARs, display info,
 * EDID, resources in every 2D format drawn through multi-entry backing,
 * transfer, set scanout, flush and a QMP screendump compared pixel for
 * pixel; partial flushes, a resize by a new scanout, the cursor queue,
 * error responses for hostile requests, the host memory limit, the
 * migration blocker, and virtio-vga's legacy VGA registers.
 *
 * The cursor through the console layer's cursor channel: an RFB client of
 * the test's own (RichCursor and PointerPos pseudo-encodings) receives the
 * shape (ARGB bits, mask, hot spot), the moves and the hide; the SDL
 * window under Xvfb shows it as the X pointer (XFixesGetCursorImage).
 * The display change: a VNC client's SetDesktopSize reaches the device,
 * which raises VIRTIO_GPU_EVENT_DISPLAY with a config interrupt and
 * reports the new size in GET_DISPLAY_INFO and the EDID.
 */
#include "libqvirtio.h"
#include <string.h>
#include <stdio.h>
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

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


/* ---- the cursor and display changes, seen by front ends ---------------- */

#define RFB_ENC_RAW             0
#define RFB_ENC_RICH_CURSOR     (-239)
#define RFB_ENC_POINTER_POS     (-232)
#define RFB_ENC_DESKTOP_SIZE    (-223)
#define RFB_ENC_EXT_DESKTOP     (-308)
#define CURSOR_HOT_X            5
#define CURSOR_HOT_Y            7

/* A minimal RFB 3.8 client (no authentication, server pixel format). */
typedef struct Rfb {
    int fd;
    int w, h;
    /* what the updates carried */
    int cursors;                /* RichCursor rectangles seen */
    int cur_w, cur_h, cur_hx, cur_hy;
    uint8_t cur_pix[64 * 64 * 4], cur_mask[8 * 64];
    int moves;                  /* PointerPos rectangles seen */
    int pos_x, pos_y;
    int ext_sizes;              /* ExtendedDesktopSize rectangles seen */
    int ext_reason, ext_status, ext_w, ext_h;
} Rfb;

G_GNUC_UNUSED
static bool rfb_read(Rfb *r, void *buf, size_t n, int timeout_ms)
{
    uint8_t *p = buf;
    gint64 end = g_get_monotonic_time() + timeout_ms * 1000LL;

    while (n) {
        struct pollfd pfd = { r->fd, POLLIN, 0 };
        int left = (int)((end - g_get_monotonic_time()) / 1000);
        ssize_t got;

        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            return false;
        }
        got = read(r->fd, p, n);
        g_assert_cmpint(got, >, 0);
        p += got;
        n -= got;
    }
    return true;
}

G_GNUC_UNUSED
static void rfb_must_read(Rfb *r, void *buf, size_t n)
{
    g_assert(rfb_read(r, buf, n, 10000));
}

G_GNUC_UNUSED
static void rfb_write(Rfb *r, const void *buf, size_t n)
{
    g_assert_cmpint(write(r->fd, buf, n), ==, (ssize_t)n);
}

G_GNUC_UNUSED
static uint16_t be16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

G_GNUC_UNUSED
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

G_GNUC_UNUSED
static void rfb_connect(Rfb *r, const char *path, const int32_t *encs,
                        unsigned nenc)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint8_t buf[64], n;
    uint32_t len;
    int tries = 0;

    memset(r, 0, sizeof(*r));
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    r->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    while (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        g_assert_cmpint(++tries, <, 100);
        g_usleep(50000);
    }
    rfb_must_read(r, buf, 12);
    g_assert(!memcmp(buf, "RFB 003.", 8));
    rfb_write(r, "RFB 003.008\n", 12);
    rfb_must_read(r, &n, 1);
    g_assert_cmpint(n, >, 0);
    rfb_must_read(r, buf, n);
    g_assert(memchr(buf, 1, n));        /* None offered */
    buf[0] = 1;
    rfb_write(r, buf, 1);
    rfb_must_read(r, buf, 4);
    g_assert_cmpint(be32(buf), ==, 0);
    buf[0] = 1;                         /* shared */
    rfb_write(r, buf, 1);
    rfb_must_read(r, buf, 24);
    r->w = be16(buf);
    r->h = be16(buf + 2);
    /* the server's format: 32 bpp little-endian, red at bit 0 */
    g_assert_cmpint(buf[4], ==, 32);
    g_assert_cmpint(buf[6], ==, 0);
    g_assert_cmpint(buf[14], ==, 0);
    g_assert_cmpint(buf[15], ==, 8);
    g_assert_cmpint(buf[16], ==, 16);
    len = be32(buf + 20);
    while (len) {
        uint32_t c = MIN(len, sizeof(buf));
        rfb_must_read(r, buf, c);
        len -= c;
    }
    {
        g_autofree uint8_t *m = g_malloc0(4 + 4 * nenc);
        m[0] = 2;
        m[2] = nenc >> 8;
        m[3] = nenc;
        for (unsigned i = 0; i < nenc; i++) {
            m[4 + 4 * i] = (uint32_t)encs[i] >> 24;
            m[5 + 4 * i] = (uint32_t)encs[i] >> 16;
            m[6 + 4 * i] = (uint32_t)encs[i] >> 8;
            m[7 + 4 * i] = (uint32_t)encs[i];
        }
        rfb_write(r, m, 4 + 4 * nenc);
    }
}

G_GNUC_UNUSED
static void rfb_request(Rfb *r, bool incremental)
{
    uint8_t m[10] = { 3, incremental };

    m[6] = r->w >> 8;
    m[7] = r->w;
    m[8] = r->h >> 8;
    m[9] = r->h;
    rfb_write(r, m, sizeof(m));
}

G_GNUC_UNUSED
static void rfb_skip(Rfb *r, size_t n)
{
    uint8_t buf[4096];

    while (n) {
        size_t c = MIN(n, sizeof(buf));
        rfb_must_read(r, buf, c);
        n -= c;
    }
}

/* Read one server message (false: none within @timeout_ms). */
G_GNUC_UNUSED
static bool rfb_read_msg(Rfb *r, int timeout_ms)
{
    uint8_t t, h[12];

    if (!rfb_read(r, &t, 1, timeout_ms)) {
        return false;
    }
    switch (t) {
    case 0:     /* FramebufferUpdate */
        rfb_must_read(r, h, 3);
        for (unsigned n = be16(h + 1); n; n--) {
            int x, y, w, hh;
            int32_t enc;

            rfb_must_read(r, h, 12);
            x = be16(h);
            y = be16(h + 2);
            w = be16(h + 4);
            hh = be16(h + 6);
            enc = (int32_t)be32(h + 8);
            if (enc == RFB_ENC_RAW) {
                rfb_skip(r, (size_t)w * hh * 4);
            } else if (enc == RFB_ENC_RICH_CURSOR) {
                g_assert_cmpint(w, <=, 64);
                g_assert_cmpint(hh, <=, 64);
                r->cursors++;
                r->cur_w = w;
                r->cur_h = hh;
                r->cur_hx = x;
                r->cur_hy = y;
                rfb_must_read(r, r->cur_pix, (size_t)w * hh * 4);
                rfb_must_read(r, r->cur_mask, (size_t)(w + 7) / 8 * hh);
            } else if (enc == RFB_ENC_POINTER_POS) {
                r->moves++;
                r->pos_x = x;
                r->pos_y = y;
            } else if (enc == RFB_ENC_DESKTOP_SIZE) {
                r->w = w;
                r->h = hh;
            } else if (enc == RFB_ENC_EXT_DESKTOP) {
                uint8_t nscr[4];
                r->ext_sizes++;
                r->ext_reason = x;
                r->ext_status = y;
                r->ext_w = r->w = w;
                r->ext_h = r->h = hh;
                rfb_must_read(r, nscr, 4);
                rfb_skip(r, 16 * nscr[0]);
            } else {
                g_error("unexpected RFB encoding %d", enc);
            }
        }
        rfb_request(r, true);
        break;
    case 2:     /* Bell */
        break;
    case 3:     /* ServerCutText */
        rfb_must_read(r, h, 7);
        rfb_skip(r, be32(h + 3));
        break;
    default:
        g_error("unexpected RFB message %d", t);
    }
    return true;
}

/* Read messages until *@counter passes @before (10 s at most). */
G_GNUC_UNUSED
static void rfb_wait(Rfb *r, const int *counter, int before)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (*counter <= before) {
        g_assert(g_get_monotonic_time() < end);
        rfb_read_msg(r, 200);
    }
}

/* Read messages until the last cursor shape is @w wide (a new one) and,
 * for @x >= 0, the pointer is at (@x, @y). */
G_GNUC_UNUSED
static void rfb_wait_cursor(Rfb *r, int before, int w, int x, int y)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (r->cursors <= before || r->cur_w != w ||
           (x >= 0 && (r->pos_x != x || r->pos_y != y))) {
        g_assert(g_get_monotonic_time() < end);
        rfb_read_msg(r, 200);
    }
}

/* Read what comes within @ms (nothing expected of it). */
G_GNUC_UNUSED
static void rfb_drain(Rfb *r, int ms)
{
    while (rfb_read_msg(r, ms)) {
    }
}

/* The 64x64 cursor picture: B8G8R8A8 bytes at (x, y). */
G_GNUC_UNUSED
static void cursor_pixel(int x, int y, uint8_t *bgra, bool two_level)
{
    uint8_t a = (x + y < 64) ? 0xff : (two_level ? 0x00 : 0x40);

    if (!two_level && x > 48 && y < 8) {
        a = 0xc0;               /* half-transparent, still shown */
    }
    bgra[0] = a ? 0x80 : 0;     /* blue */
    bgra[1] = a ? y * 4 : 0;    /* green */
    bgra[2] = a ? x * 4 : 0;    /* red */
    bgra[3] = a;
    if (!two_level) {           /* the colour is there even where hidden */
        bgra[0] = 0x80;
        bgra[1] = y * 4;
        bgra[2] = x * 4;
    }
}

/* Resource @id: the cursor picture, transferred to the host. */
G_GNUC_UNUSED
static void make_cursor_resource(Env *e, uint32_t id, bool two_level)
{
    g_autofree uint8_t *pix = g_malloc(64 * 64 * 4);
    uint64_t addr = qvirtio_alloc(64 * 64 * 4, 4096);
    uint32_t len = 64 * 64 * 4;

    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
            cursor_pixel(x, y, pix + 4 * (y * 64 + x), two_level);
        }
    }
    qtest_memwrite(e->qts, addr, pix, len);
    g_assert_cmphex(create_2d(e, id, 1, 64, 64), ==, RESP_OK_NODATA);
    g_assert_cmphex(attach(e, id, &addr, &len, 1), ==, RESP_OK_NODATA);
    g_assert_cmphex(transfer(e, id, 0, 0, 64, 64, 0), ==, RESP_OK_NODATA);
}

/* One request on the cursor queue. */
G_GNUC_UNUSED
static void cursor_cmd(Env *e, uint32_t type, uint32_t head, int32_t x,
                       int32_t y, uint32_t res, uint32_t hx, uint32_t hy)
{
    uint8_t r[56] = { 0 };
    uint64_t out = qvirtio_alloc(sizeof(r), 8);
    QVirtBuf bb = { out, sizeof(r), false };
    uint16_t id, vhead;
    uint32_t len;

    hdr(r, type);
    put32(r + 24, head);
    put32(r + 28, x);
    put32(r + 32, y);
    put32(r + 40, res);
    put32(r + 44, hx);
    put32(r + 48, hy);
    qtest_memwrite(e->qts, out, r, sizeof(r));
    vhead = qvirtqueue_add(&e->cursor, &bb, 1);
    qvirtqueue_kick(&e->cursor);
    g_assert(qvirtqueue_get_used(&e->cursor, &id, &len, 5000));
    g_assert_cmpint(id, ==, vhead);
}

G_GNUC_UNUSED
static void check_rfb_cursor(Rfb *r)
{
    g_assert_cmpint(r->cur_w, ==, 64);
    g_assert_cmpint(r->cur_h, ==, 64);
    g_assert_cmpint(r->cur_hx, ==, CURSOR_HOT_X);
    g_assert_cmpint(r->cur_hy, ==, CURSOR_HOT_Y);
    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
            uint8_t bgra[4];
            const uint8_t *p = r->cur_pix + 4 * (y * 64 + x);
            bool shown = r->cur_mask[y * 8 + x / 8] & (0x80 >> (x & 7));

            cursor_pixel(x, y, bgra, false);
            /* the server's format: red, green, blue in bytes 0, 1, 2 */
            if (p[0] != bgra[2] || p[1] != bgra[1] || p[2] != bgra[0]) {
                g_error("cursor pixel (%d,%d): %02x%02x%02x", x, y, p[0],
                        p[1], p[2]);
            }
            if (shown != (bgra[3] >= 0x80)) {
                g_error("cursor mask (%d,%d): %d for alpha %02x", x, y,
                        shown, bgra[3]);
            }
        }
    }
}

G_GNUC_UNUSED
static void test_cursor_vnc(void)
{
    static const int32_t encs[] = { RFB_ENC_RAW, RFB_ENC_RICH_CURSOR,
                                    RFB_ENC_POINTER_POS,
                                    RFB_ENC_DESKTOP_SIZE };
    static const int32_t plain[] = { RFB_ENC_RAW };
    g_autofree char *dir = g_dir_make_tmp("kvmpc-vcur-XXXXXX", NULL);
    g_autofree char *vnc = g_build_filename(dir, "vnc.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "-vga none -device virtio-gpu-pci,id=gpu0 -vnc unix:%s", vnc);
    g_autofree uint8_t *shot = NULL;
    Rfb r, r2;
    int n, w, h;
    Env e;

    env_start(&e, args, GPU_MODERN_ID);
    env_driver_init(&e);
    rfb_connect(&r, vnc, encs, G_N_ELEMENTS(encs));
    rfb_connect(&r2, vnc, plain, G_N_ELEMENTS(plain));
    rfb_request(&r, false);
    rfb_request(&r2, false);
    rfb_drain(&r, 300);
    rfb_drain(&r2, 100);
    /* no hardware cursor yet: nothing, or the empty one */
    g_assert(r.cursors == 0 || r.cur_w == 0);

    /* define: the shape with its hot spot, then the position */
    make_cursor_resource(&e, 20, false);
    n = r.cursors;
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 0, 100, 50, 20, CURSOR_HOT_X,
               CURSOR_HOT_Y);
    rfb_wait_cursor(&r, n, 64, 100, 50);
    check_rfb_cursor(&r);

    /* move */
    n = r.moves;
    cursor_cmd(&e, CMD_MOVE_CURSOR, 0, 300, 200, 20, 0, 0);
    rfb_wait(&r, &r.moves, n);
    g_assert_cmpint(r.pos_x, ==, 300);
    g_assert_cmpint(r.pos_y, ==, 200);

    /* hide (resource 0): the empty cursor; show again: the shape */
    n = r.cursors;
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 0, 300, 200, 0, 0, 0);
    rfb_wait_cursor(&r, n, 0, -1, -1);
    n = r.cursors;
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 0, 10, 10, 20, CURSOR_HOT_X,
               CURSOR_HOT_Y);
    rfb_wait_cursor(&r, n, 64, 10, 10);
    check_rfb_cursor(&r);

    /* a client that did not ask gets neither, and no cursor is drawn
     * into the picture (the screendump is still black) */
    rfb_drain(&r2, 300);
    g_assert_cmpint(r2.cursors, ==, 0);
    g_assert_cmpint(r2.moves, ==, 0);
    shot = screendump(&e, "gpu0", 0, &w, &h);
    for (int i = 0; i < 3 * w * h; i++) {
        g_assert_cmpint(shot[i], ==, 0);
    }
    /* a bad head is ignored */
    cursor_cmd(&e, CMD_MOVE_CURSOR, 5, 1, 1, 20, 0, 0);
    close(r.fd);
    close(r2.fd);
    env_end(&e);
    unlink(vnc);
    rmdir(dir);
}

G_GNUC_UNUSED
static void set_desktop_size(Rfb *r, int w, int h)
{
    uint8_t m[8 + 16] = { 251, 0, w >> 8, w, h >> 8, h, 1, 0 };

    m[8 + 8] = w >> 8;          /* the one screen: id 0 at (0, 0) */
    m[8 + 9] = w;
    m[8 + 10] = h >> 8;
    m[8 + 11] = h;
    rfb_write(r, m, sizeof(m));
}

G_GNUC_UNUSED
static void wait_display_event(Env *e)
{
    for (int i = 0; i < 500; i++) {
        if (qvirtio_config_readl(&e->d, 0) & 1) {
            return;
        }
        g_usleep(10000);
    }
    g_error("no VIRTIO_GPU_EVENT_DISPLAY");
}

G_GNUC_UNUSED
static void test_display_change(void)
{
    static const int32_t encs[] = { RFB_ENC_RAW, RFB_ENC_DESKTOP_SIZE,
                                    RFB_ENC_EXT_DESKTOP };
    g_autofree char *dir = g_dir_make_tmp("kvmpc-vdc-XXXXXX", NULL);
    g_autofree char *vnc = g_build_filename(dir, "vnc.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "-vga none -device virtio-gpu-pci,id=gpu0,xres=800,yres=600 "
        "-vnc unix:%s", vnc);
    uint8_t r[32] = { 0 }, edid[128];
    Rfb c;
    Env e;

    env_start(&e, args, GPU_MODERN_ID);
    env_driver_init(&e);
    g_assert_cmpint(qvirtio_set_config_vector(&e.d, 2), ==, 2);
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==, 0);
    rfb_connect(&c, vnc, encs, G_N_ELEMENTS(encs));
    rfb_request(&c, false);
    rfb_drain(&c, 200);
    (void)qvirtio_msix_fired(&e.d, 2);

    set_desktop_size(&c, 1024, 640);
    wait_display_event(&e);
    g_assert(qvirtio_msix_fired(&e.d, 2));
    hdr(r, CMD_GET_DISPLAY_INFO);
    g_assert_cmphex(gpu_cmd(&e, r, HDR), ==, RESP_OK_DISPLAY_INFO);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 8), ==, 1024);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 12), ==, 640);
    g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 16), ==, 1);
    hdr(r, CMD_GET_EDID);
    g_assert_cmphex(gpu_cmd(&e, r, 32), ==, RESP_OK_EDID);
    qtest_memread(e.qts, e.resp + HDR + 8, edid, sizeof(edid));
    g_assert_cmpint(edid[56] | (edid[58] & 0xf0) << 4, ==, 1024);
    g_assert_cmpint(edid[59] | (edid[61] & 0xf0) << 4, ==, 640);
    /* events_clear is write-1-to-clear */
    qvirtio_config_writel(&e.d, 4, 1);
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==, 0);
    /* the same size again is no news; the properties did not change */
    set_desktop_size(&c, 1024, 640);
    rfb_drain(&c, 300);
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==, 0);
    g_assert(!qvirtio_msix_fired(&e.d, 2));
    /* a guest reset keeps the host's wish, as QEMU */
    close(c.fd);
    env_end(&e);

    /* a device without ui_info (VGA): the client hears "prohibited" */
    g_free(args);
    args = g_strdup_printf("-vga std -vnc unix:%s", vnc);
    {
        QTestState *qts = qtest_init(args);
        int before;

        rfb_connect(&c, vnc, encs, G_N_ELEMENTS(encs));
        rfb_request(&c, false);
        rfb_drain(&c, 200);
        before = c.ext_sizes;
        set_desktop_size(&c, 1024, 640);
        rfb_wait(&c, &c.ext_sizes, before);
        g_assert_cmpint(c.ext_reason, ==, 1);   /* client requested */
        g_assert_cmpint(c.ext_status, ==, 1);   /* resize prohibited */
        close(c.fd);
        g_assert_cmpint(qtest_quit(qts), ==, 0);
    }
    unlink(vnc);
    rmdir(dir);
}

/*
 * The SDL window under Xvfb: the X pointer over it is the guest's cursor
 * (XFixesGetCursorImage), and hides when the guest hides it.  libX11 and
 * libXfixes are opened with dlopen, so the test builds without them.
 */
typedef struct XFixesImage {
    short x, y;
    unsigned short width, height, xhot, yhot;
    unsigned long serial;
    unsigned long *pixels;
    unsigned long atom;
    const char *name;
} XFixesImage;

G_GNUC_UNUSED
static char *run_out(const char *cmd)
{
    char *out = NULL;
    int status = -1;

    if (!g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL) ||
        status != 0) {
        g_free(out);
        return NULL;
    }
    return out;
}

G_GNUC_UNUSED
static XFixesImage *x_cursor(void *dpy, void *(*get)(void *))
{
    return get(dpy);
}

static void test_cursor_sdl(void)
{
#ifdef CONFIG_SDL
    g_autofree char *xvfb = g_find_program_in_path("Xvfb");
    g_autofree char *xdotool = g_find_program_in_path("xdotool");
    void *x11 = dlopen("libX11.so.6", RTLD_NOW);
    void *xfixes = dlopen("libXfixes.so.3", RTLD_NOW);
    void *(*open_display)(const char *);
    int (*close_display)(void *);
    int (*xfree)(void *);
    void *(*get_image)(void *);
    g_autofree char *disp = NULL, *sockp = NULL, *wid = NULL, *cmd = NULL;
    char *argv[8];
    GPid pid;
    void *dpy = NULL;
    XFixesImage *img = NULL;
    Env e;
    int n = 90 + getpid() % 100;

    if (!xvfb || !xdotool || !x11 || !xfixes) {
        g_test_skip("needs Xvfb, xdotool, libX11 and libXfixes");
        goto out;
    }
    open_display = dlsym(x11, "XOpenDisplay");
    close_display = dlsym(x11, "XCloseDisplay");
    xfree = dlsym(x11, "XFree");
    get_image = dlsym(xfixes, "XFixesGetCursorImage");
    g_assert(open_display && close_display && xfree && get_image);
    for (;; n++) {
        g_free(sockp);
        sockp = g_strdup_printf("/tmp/.X11-unix/X%d", n);
        if (!g_file_test(sockp, G_FILE_TEST_EXISTS)) {
            break;
        }
    }
    disp = g_strdup_printf(":%d", n);
    argv[0] = xvfb;
    argv[1] = disp;
    argv[2] = (char *)"-screen";
    argv[3] = (char *)"0";
    argv[4] = (char *)"1024x768x24";
    argv[5] = (char *)"-nolisten";
    argv[6] = (char *)"tcp";
    argv[7] = NULL;
    g_assert(g_spawn_async(NULL, argv, NULL,
                           G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL |
                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                           NULL));
    for (int i = 0; i < 200 && !dpy; i++) {
        g_usleep(50000);
        dpy = open_display(disp);
    }
    g_assert(dpy);
    g_setenv("DISPLAY", disp, true);
    g_setenv("SDL_AUDIODRIVER", "dummy", true);
    env_start(&e, "-vga none -device virtio-gpu-pci,id=gpu0 -display sdl",
              GPU_MODERN_ID);
    env_driver_init(&e);
    /* the window, and the pointer over it */
    for (int i = 0; i < 200 && !wid; i++) {
        wid = run_out("xdotool search --onlyvisible --name kvmpc");
        if (wid && !*g_strstrip(wid)) {
            g_clear_pointer(&wid, g_free);
        }
        if (!wid) {
            g_usleep(50000);
        }
    }
    g_assert(wid);
    if (strchr(wid, '\n')) {
        *strchr(wid, '\n') = 0;
    }
    cmd = g_strdup_printf("xdotool mousemove --window %s 40 40", wid);
    g_free(run_out(cmd));

    make_cursor_resource(&e, 20, true);
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 0, 40, 40, 20, CURSOR_HOT_X,
               CURSOR_HOT_Y);
    for (int i = 0; i < 200; i++) {
        img = x_cursor(dpy, get_image);
        if (img && img->width == 64 && img->height == 64) {
            break;
        }
        if (img) {
            xfree(img);
            img = NULL;
        }
        g_usleep(50000);
    }
    g_assert(img);
    g_assert_cmpint(img->xhot, ==, CURSOR_HOT_X);
    g_assert_cmpint(img->yhot, ==, CURSOR_HOT_Y);
    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
            uint8_t bgra[4];
            uint32_t want, got = img->pixels[y * 64 + x] & 0xffffffffu;

            cursor_pixel(x, y, bgra, true);
            want = (uint32_t)bgra[3] << 24 | bgra[2] << 16 | bgra[1] << 8 |
                   bgra[0];
            if (got != want) {
                g_error("X cursor pixel (%d,%d): %08x, want %08x", x, y, got,
                        want);
            }
        }
    }
    xfree(img);

    /* the guest hides it: no visible pixel under the pointer */
    cursor_cmd(&e, CMD_UPDATE_CURSOR, 0, 40, 40, 0, 0, 0);
    for (int i = 0; i < 200; i++) {
        bool visible = false;

        img = x_cursor(dpy, get_image);
        g_assert(img);
        for (int p = 0; p < img->width * img->height; p++) {
            visible |= (img->pixels[p] >> 24) != 0;
        }
        xfree(img);
        if (!visible) {
            break;
        }
        g_assert_cmpint(i, <, 199);
        g_usleep(50000);
    }

    /* the user resizes the window: a display change for the guest */
    g_assert_cmpint(qvirtio_config_readl(&e.d, 0), ==, 0);
    g_free(cmd);
    cmd = g_strdup_printf("xdotool windowsize %s 900 700", wid);
    g_free(run_out(cmd));
    wait_display_event(&e);
    {
        uint8_t r[32] = { 0 };

        hdr(r, CMD_GET_DISPLAY_INFO);
        g_assert_cmphex(gpu_cmd(&e, r, HDR), ==, RESP_OK_DISPLAY_INFO);
        g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 8), ==, 900);
        g_assert_cmpint(qtest_readl(e.qts, e.resp + HDR + 12), ==, 700);
    }
    env_end(&e);
    g_unsetenv("DISPLAY");
    close_display(dpy);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    g_spawn_close_pid(pid);
out:
    if (x11) {
        dlclose(x11);
    }
    if (xfixes) {
        dlclose(xfixes);
    }
#else
    g_test_skip("kvmpc built without SDL");
#endif
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
#ifdef CONFIG_VNC
    g_test_add_func("/virtio-gpu/cursor-vnc", test_cursor_vnc);
    g_test_add_func("/virtio-gpu/display-change", test_display_change);
#endif
    g_test_add_func("/virtio-gpu/cursor-sdl", test_cursor_sdl);
    g_test_add_func("/virtio-gpu/errors", test_errors);
    g_test_add_func("/virtio-gpu/many-entries", test_many_entries);
    g_test_add_func("/virtio-gpu/hostmem", test_hostmem);
    g_test_add_func("/virtio-gpu/migration", test_migration);
    g_test_add_func("/virtio-gpu/virtio-vga", test_virtio_vga);
    g_test_add_func("/virtio-gpu/vga-virtio-option", test_vga_virtio_option);
    return g_test_run();
}
