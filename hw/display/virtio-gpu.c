/*
 * virtio-gpu (2D) and virtio-gpu-pci.
 *
 * Spec: OASIS VIRTIO 1.2, 5.7 "GPU Device": controlq (0) and cursorq (1);
 * 5.7.4 struct virtio_gpu_config; 5.7.6.7 the control header
 * (struct virtio_gpu_ctrl_hdr: type, flags, fence_id, ctx_id, ring_idx)
 * and the 2D commands: VIRTIO_GPU_CMD_GET_DISPLAY_INFO, GET_EDID,
 * RESOURCE_CREATE_2D, RESOURCE_UNREF, SET_SCANOUT, RESOURCE_FLUSH,
 * TRANSFER_TO_HOST_2D, RESOURCE_ATTACH_BACKING (struct virtio_gpu_mem_entry
 * list), RESOURCE_DETACH_BACKING; 5.7.6.10 UPDATE_CURSOR / MOVE_CURSOR.
 *
 * As QEMU 7.2's virtio-gpu without virgl: properties max_outputs (1-16),
 * xres/yres (the preferred mode reported, default 1280x800), edid
 * (VIRTIO_GPU_F_EDID, default on) and max_hostmem (bytes of resource
 * images the guest may hold, default 256 MiB: beyond it RESOURCE_CREATE_2D
 * answers ERR_OUT_OF_MEMORY).  virtio-gpu-pci is modern-only
 * (1af4:1050 rev 1, class 0380).
 *
 * Each head has a graphic console.  A resource is a pixman image in the
 * guest's format; TRANSFER_TO_HOST_2D copies from its backing (guest RAM,
 * mapped through the guest-RAM table at ATTACH time: every entry must lie
 * in RAM); SET_SCANOUT shows a rectangle of it (the console is resized to
 * it and redrawn); RESOURCE_FLUSH converts the flushed rectangle into the
 * console's x8r8g8b8 surface and reports exactly that rectangle.  So the
 * console shows what the guest flushed, and a screendump reads it.
 *
 * Migration: the state table carries events, scanouts and cursors; the
 * resources (host memory of any size, which a state table cannot
 * describe) travel in a state handler of their own, "virtio-gpu@DEVFN"
 * (format below, before the handler), loaded after the devices: it
 * rebuilds every resource, maps its backing again and redraws the heads.
 */
#include "qemu/osdep.h"
#include "qemu/byte-reader.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-gpu.h"
#include "hw/virtio/guest-ram.h"
#include "hw/display/vga.h"
#include "migration/vmstate.h"

#define TYPE_VIRTIO_GPU_PCI     "virtio-gpu-pci"
#define VIRTIO_GPU_QUEUE_SIZE   256
#define CMD_MAX                 64      /* the largest fixed command */
#define DISPLAY_INFO_SIZE       (VIRTIO_GPU_CTRL_HDR_SIZE + \
                                 VIRTIO_GPU_MAX_SCANOUTS * 24)
#define EDID_RESP_SIZE          (VIRTIO_GPU_CTRL_HDR_SIZE + 8 + \
                                 VIRTIO_GPU_EDID_BLOB_SIZE)

struct VirtIOGPUResource {
    uint32_t id;
    uint32_t format;
    uint32_t width, height;
    uint64_t hostmem;
    pixman_image_t *image;
    struct iovec *iov;          /* backing mapped to host memory */
    unsigned iov_cnt;
    uint64_t backing_size;
    /* the guest's entries, for migration (mapped again on the target) */
    uint64_t *ent_addr;
    uint32_t *ent_len;
    uint32_t nr_ent;
};

/* A decoded control request. */
typedef struct GPUCmd {
    uint8_t buf[CMD_MAX];
    size_t len;                 /* bytes of the request copied into buf */
    uint32_t type, flags;
    uint64_t fence_id;
    uint32_t ctx_id;
    uint8_t ring_idx;
} GPUCmd;

typedef struct GPURect {
    uint32_t x, y, width, height;
} GPURect;

/* ---- formats and rectangles --------------------------------------- */

/*
 * The spec names bytes in memory order; pixman names 32-bit words from
 * the top bit, so on a little-endian host B8G8R8X8 is x8r8g8b8.
 */
static pixman_format_code_t gpu_format_to_pixman(uint32_t format)
{
    switch (format) {
    case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM: return PIXMAN_x8r8g8b8;
    case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM: return PIXMAN_a8r8g8b8;
    case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM: return PIXMAN_b8g8r8x8;
    case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM: return PIXMAN_b8g8r8a8;
    case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM: return PIXMAN_x8b8g8r8;
    case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM: return PIXMAN_a8b8g8r8;
    case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM: return PIXMAN_r8g8b8x8;
    case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM: return PIXMAN_r8g8b8a8;
    default: return 0;
    }
}

static GPURect read_rect(const uint8_t *p)
{
    return (GPURect){ ldl_le_p(p), ldl_le_p(p + 4), ldl_le_p(p + 8),
                      ldl_le_p(p + 12) };
}

/* Whether @r lies inside a @w x @h image (64-bit sums: no wrap-around). */
static bool rect_inside(const GPURect *r, uint32_t w, uint32_t h)
{
    return (uint64_t)r->x + r->width <= w && (uint64_t)r->y + r->height <= h;
}

/* ---- resources ------------------------------------------------------ */

static VirtIOGPUResource *find_resource(VirtIOGPU *g, uint32_t id)
{
    return id ? g_hash_table_lookup(g->resources, GUINT_TO_POINTER(id))
              : NULL;
}

static void resource_free(gpointer data)
{
    VirtIOGPUResource *res = data;

    pixman_image_unref(res->image);
    g_free(res->iov);
    g_free(res->ent_addr);
    g_free(res->ent_len);
    g_free(res);
}

/* ---- scanouts and consoles ------------------------------------------ */

/* Copy @r (resource coordinates) of the scanout's resource to its console. */
static void scanout_draw(VirtIOGPUScanout *so, VirtIOGPUResource *res,
                         const GPURect *r)
{
    pixman_image_t *surface = qemu_console_surface(so->con);

    pixman_image_composite32(PIXMAN_OP_SRC, res->image, NULL, surface,
                           r->x, r->y, 0, 0, r->x - so->x, r->y - so->y,
                           r->width, r->height);
    dpy_gfx_update(so->con, r->x - so->x, r->y - so->y, r->width,
                   r->height);
}

static void scanout0_set_driven(VirtIOGPU *g, bool driven)
{
    if (g->scanout0_driven != driven) {
        g->scanout0_driven = driven;
        if (g->scanout0_changed) {
            g->scanout0_changed(g->scanout0_opaque, driven);
        }
    }
}

static void scanout_disable(VirtIOGPU *g, unsigned head)
{
    VirtIOGPUScanout *so = &g->scanout[head];

    so->resource_id = 0;
    so->x = so->y = so->width = so->height = 0;
    if (head == 0 && g->scanout0_changed) {
        scanout0_set_driven(g, false);
        return;     /* the VGA owns the console again */
    }
    /* a disabled display shows black at its last size */
    dpy_gfx_resize(so->con, qemu_console_get_width(so->con),
                   qemu_console_get_height(so->con));
}

void virtio_gpu_gfx_update(void *opaque)
{
    VirtIOGPUScanout *so = opaque;

    /* The surface already holds what was flushed; only a new listener
     * needs the whole picture. */
    if (so->invalidated) {
        so->invalidated = false;
        dpy_gfx_update(so->con, 0, 0, qemu_console_get_width(so->con),
                       qemu_console_get_height(so->con));
    }
}

void virtio_gpu_invalidate(void *opaque)
{
    VirtIOGPUScanout *so = opaque;

    so->invalidated = true;
}

void virtio_gpu_ui_info(void *opaque, unsigned head, const QemuUIInfo *info)
{
    VirtIOGPUScanout *so = opaque;
    VirtIOGPU *g = so->gpu;
    uint32_t w = info->width, h = info->height;

    (void)head;     /* the console's head is the scanout's */
    if (w && h) {
        /* a mode the guest can set: at least 16x16, at most 16384 */
        w = MIN(MAX(w, 16), 16384);
        h = MIN(MAX(h, 16), 16384);
        if (g->req_width[so->head] == w && g->req_height[so->head] == h &&
            (g->enabled_outputs & (1u << so->head))) {
            return;     /* nothing new for the guest */
        }
        g->enabled_outputs |= 1u << so->head;
    } else {
        /* 0x0: the front end closed that head's window */
        if (!(g->enabled_outputs & (1u << so->head))) {
            return;
        }
        g->enabled_outputs &= ~(1u << so->head);
        w = g->req_width[so->head];
        h = g->req_height[so->head];
    }
    g->req_width[so->head] = w;
    g->req_height[so->head] = h;
    virtio_gpu_notify_display_change(g);
}

static const GraphicHwOps virtio_gpu_hw_ops = {
    .gfx_update = virtio_gpu_gfx_update,
    .invalidate = virtio_gpu_invalidate,
    .ui_info = virtio_gpu_ui_info,
};

void virtio_gpu_notify_display_change(VirtIOGPU *g)
{
    g->events_read |= VIRTIO_GPU_EVENT_DISPLAY;
    virtio_notify_config(&g->vdev);
}

static void cursor_hide(VirtIOGPUScanout *so);

/* ---- control commands ----------------------------------------------- */

static void cmd_get_display_info(VirtIOGPU *g, uint8_t *resp)
{
    for (unsigned i = 0; i < g->max_outputs; i++) {
        uint8_t *pm = resp + VIRTIO_GPU_CTRL_HDR_SIZE + i * 24;

        if (!(g->enabled_outputs & (1u << i))) {
            continue;
        }
        stl_le_p(pm + 8, g->req_width[i]);
        stl_le_p(pm + 12, g->req_height[i]);
        stl_le_p(pm + 16, 1);           /* enabled */
    }
}

static uint32_t cmd_get_edid(VirtIOGPU *g, const GPUCmd *c, uint8_t *resp)
{
    uint32_t scanout = ldl_le_p(c->buf + 24);

    if (!virtio_vdev_has_feature(&g->vdev, VIRTIO_GPU_F_EDID)) {
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    }
    if (scanout >= g->max_outputs) {
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    vga_edid_generate(resp + VIRTIO_GPU_CTRL_HDR_SIZE + 8, 128,
                      g->req_width[scanout], g->req_height[scanout]);
    stl_le_p(resp + VIRTIO_GPU_CTRL_HDR_SIZE, 128);
    return VIRTIO_GPU_RESP_OK_EDID;
}

/* A new resource (RESOURCE_CREATE_2D, or a migrated one): OK or an error. */
static uint32_t resource_create(VirtIOGPU *g, uint32_t id, uint32_t format,
                                uint32_t width, uint32_t height)
{
    pixman_format_code_t pf = gpu_format_to_pixman(format);
    VirtIOGPUResource *res;
    uint64_t stride, bytes;

    if (!id || find_resource(g, id)) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!pf || !width || !height) {
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    stride = (uint64_t)width * 4;
    bytes = stride * height;
    /* pixman's stride is an int: refuse before asking it */
    if (stride > INT32_MAX || bytes > g->max_hostmem ||
        g->hostmem + bytes > g->max_hostmem) {
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    }
    res = g_new0(VirtIOGPUResource, 1);
    res->image = pixman_image_create_bits(pf, width, height, NULL, 0);
    if (!res->image) {
        g_free(res);
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    }
    res->id = id;
    res->format = format;
    res->width = width;
    res->height = height;
    res->hostmem = bytes;
    g->hostmem += bytes;
    g_hash_table_insert(g->resources, GUINT_TO_POINTER(id), res);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_create_2d(VirtIOGPU *g, const GPUCmd *c)
{
    return resource_create(g, ldl_le_p(c->buf + 24), ldl_le_p(c->buf + 28),
                           ldl_le_p(c->buf + 32), ldl_le_p(c->buf + 36));
}

static uint32_t cmd_resource_unref(VirtIOGPU *g, const GPUCmd *c)
{
    uint32_t id = ldl_le_p(c->buf + 24);
    VirtIOGPUResource *res = find_resource(g, id);

    if (!res) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    for (unsigned i = 0; i < g->max_outputs; i++) {
        if (g->scanout[i].resource_id == id) {
            scanout_disable(g, i);
        }
        if (g->scanout[i].cursor_resource_id == id) {
            cursor_hide(&g->scanout[i]);
        }
    }
    g->hostmem -= res->hostmem;
    g_hash_table_remove(g->resources, GUINT_TO_POINTER(id));
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_set_scanout(VirtIOGPU *g, const GPUCmd *c)
{
    GPURect r = read_rect(c->buf + 24);
    uint32_t head = ldl_le_p(c->buf + 40), id = ldl_le_p(c->buf + 44);
    VirtIOGPUResource *res;
    VirtIOGPUScanout *so;
    GPURect all;

    if (head >= g->max_outputs) {
        return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    }
    so = &g->scanout[head];
    if (!id) {
        scanout_disable(g, head);
        return VIRTIO_GPU_RESP_OK_NODATA;
    }
    res = find_resource(g, id);
    if (!res) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    /* QEMU's limits: at least 16x16, inside the resource */
    if (r.width < 16 || r.height < 16 || !rect_inside(&r, res->width,
                                                       res->height)) {
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    if (head == 0) {
        scanout0_set_driven(g, true);
    }
    so->resource_id = id;
    so->x = r.x;
    so->y = r.y;
    so->width = r.width;
    so->height = r.height;
    if (qemu_console_get_width(so->con) != (int)r.width ||
        qemu_console_get_height(so->con) != (int)r.height) {
        dpy_gfx_resize(so->con, r.width, r.height);
    }
    all = r;
    scanout_draw(so, res, &all);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_flush(VirtIOGPU *g, const GPUCmd *c)
{
    GPURect r = read_rect(c->buf + 24);
    uint32_t id = ldl_le_p(c->buf + 40);
    VirtIOGPUResource *res = find_resource(g, id);

    if (!res) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!rect_inside(&r, res->width, res->height)) {
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    for (unsigned i = 0; i < g->max_outputs; i++) {
        VirtIOGPUScanout *so = &g->scanout[i];
        uint32_t x1, y1, x2, y2;
        GPURect d;

        if (so->resource_id != id || (i == 0 && !g->scanout0_driven)) {
            continue;
        }
        x1 = MAX(r.x, so->x);
        y1 = MAX(r.y, so->y);
        x2 = MIN(r.x + r.width, so->x + so->width);
        y2 = MIN(r.y + r.height, so->y + so->height);
        if (x2 <= x1 || y2 <= y1) {
            continue;
        }
        d = (GPURect){ x1, y1, x2 - x1, y2 - y1 };
        scanout_draw(so, res, &d);
    }
    return VIRTIO_GPU_RESP_OK_NODATA;
}

/*
 * A position in a resource's backing that only moves forward, so a
 * transfer walks the iovec list once however many rows and entries there
 * are (a guest with 16384 entries and as many rows must not cost
 * 16384 x 16384 steps).
 */
typedef struct BackingCursor {
    unsigned idx;           /* iovec holding @base.. */
    uint64_t base;          /* backing offset of iov[idx] */
} BackingCursor;

/* Copy @len bytes at @offset (>= the last one) of the backing to @dst. */
static void backing_read(VirtIOGPUResource *res, BackingCursor *cur,
                         uint64_t offset, uint8_t *dst, size_t len)
{
    while (cur->idx < res->iov_cnt &&
           offset >= cur->base + res->iov[cur->idx].iov_len) {
        cur->base += res->iov[cur->idx].iov_len;
        cur->idx++;
    }
    for (unsigned i = cur->idx; i < res->iov_cnt && len; i++) {
        uint64_t start = i == cur->idx ? offset - cur->base : 0;
        size_t n = MIN(len, res->iov[i].iov_len - start);

        memcpy(dst, (uint8_t *)res->iov[i].iov_base + start, n);
        dst += n;
        len -= n;
    }
}

static uint32_t cmd_transfer_to_host_2d(VirtIOGPU *g, const GPUCmd *c)
{
    GPURect r = read_rect(c->buf + 24);
    uint64_t offset = ldq_le_p(c->buf + 40);
    uint32_t id = ldl_le_p(c->buf + 48);
    VirtIOGPUResource *res = find_resource(g, id);
    BackingCursor cur = { 0, 0 };
    uint8_t *bits;
    uint32_t stride;

    if (!res || !res->iov) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!rect_inside(&r, res->width, res->height)) {
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    }
    bits = (uint8_t *)pixman_image_get_data(res->image);
    stride = pixman_image_get_stride(res->image);
    /*
     * As QEMU: row h of the rectangle comes from offset + h * stride of
     * the backing (the guest's copy has the resource's layout, offset
     * pointing at the rectangle's first pixel).  Rows beyond the backing
     * stay as they were.
     */
    for (uint32_t h = 0; h < r.height; h++) {
        uint64_t src = offset + (uint64_t)stride * h;

        if (src < offset || src >= res->backing_size) {
            break;
        }
        backing_read(res, &cur, src, bits + (uint64_t)(r.y + h) * stride +
                     (uint64_t)r.x * 4,
                     MIN((uint64_t)r.width * 4, res->backing_size - src));
    }
    return VIRTIO_GPU_RESP_OK_NODATA;
}

/*
 * Map @nr guest entries onto host memory: each must lie in guest RAM (a
 * range that crosses RAM blocks takes one iovec per block).  False when
 * one does not.
 */
static bool map_backing(VirtIOGPUResource *res, const uint64_t *addr,
                        const uint32_t *len, uint32_t nr)
{
    GArray *iov = g_array_new(false, false, sizeof(struct iovec));
    uint64_t total = 0;

    for (uint32_t i = 0; i < nr; i++) {
        uint64_t a = addr[i], l = len[i];

        if (a + l < a) {
            goto fail;
        }
        while (l) {
            uint64_t n = l;
            void *p = guest_ram_lookup(a, &n, false);
            struct iovec v;

            if (!p) {
                goto fail;
            }
            v.iov_base = p;
            v.iov_len = n;
            g_array_append_val(iov, v);
            a += n;
            l -= n;
            total += n;
        }
    }
    res->iov_cnt = iov->len;
    res->iov = (struct iovec *)g_array_free(iov, false);
    res->backing_size = total;
    return true;
fail:
    g_array_free(iov, true);
    return false;
}

static void unmap_backing(VirtIOGPUResource *res)
{
    g_clear_pointer(&res->iov, g_free);
    g_clear_pointer(&res->ent_addr, g_free);
    g_clear_pointer(&res->ent_len, g_free);
    res->iov_cnt = res->nr_ent = 0;
    res->backing_size = 0;
}

/* The entries follow the request (struct virtio_gpu_mem_entry each). */
static uint32_t cmd_attach_backing(VirtIOGPU *g, const GPUCmd *c)
{
    uint32_t id = ldl_le_p(c->buf + 24), nr = ldl_le_p(c->buf + 28);
    VirtIOGPUResource *res = find_resource(g, id);
    uint64_t *addr;
    uint32_t *len;

    if (!res) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (res->iov) {
        return VIRTIO_GPU_RESP_ERR_UNSPEC;     /* already attached */
    }
    if (!nr || nr > VIRTIO_GPU_MAX_MEM_ENTRIES ||
        virtqueue_elem_out_size(&g->elem) < 32 + (size_t)nr * 16) {
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    }
    addr = g_new(uint64_t, nr);
    len = g_new(uint32_t, nr);
    for (uint32_t i = 0; i < nr; i++) {
        uint8_t ent[16];

        virtqueue_elem_to_buf(&g->elem, 32 + (size_t)i * 16, ent, sizeof(ent));
        addr[i] = ldq_le_p(ent);
        len[i] = ldl_le_p(ent + 8);
    }
    if (!map_backing(res, addr, len, nr)) {
        g_free(addr);
        g_free(len);
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    }
    res->ent_addr = addr;
    res->ent_len = len;
    res->nr_ent = nr;
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_detach_backing(VirtIOGPU *g, const GPUCmd *c)
{
    VirtIOGPUResource *res = find_resource(g, ldl_le_p(c->buf + 24));

    if (!res || !res->iov) {
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    }
    unmap_backing(res);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

/* Fixed sizes of the commands (header included). */
static size_t cmd_size(uint32_t type)
{
    switch (type) {
    case VIRTIO_GPU_CMD_GET_DISPLAY_INFO: return 24;
    case VIRTIO_GPU_CMD_GET_EDID: return 32;
    case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D: return 40;
    case VIRTIO_GPU_CMD_RESOURCE_UNREF: return 32;
    case VIRTIO_GPU_CMD_SET_SCANOUT: return 48;
    case VIRTIO_GPU_CMD_RESOURCE_FLUSH: return 48;
    case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D: return 56;
    case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING: return 32;
    case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING: return 32;
    case VIRTIO_GPU_CMD_UPDATE_CURSOR:
    case VIRTIO_GPU_CMD_MOVE_CURSOR: return 56;
    default: return 24;
    }
}

static bool read_cmd(VirtQueueElement *e, GPUCmd *c)
{
    memset(c, 0, sizeof(*c));
    c->len = virtqueue_elem_to_buf(e, 0, c->buf, sizeof(c->buf));
    if (c->len < VIRTIO_GPU_CTRL_HDR_SIZE) {
        return false;
    }
    c->type = ldl_le_p(c->buf);
    c->flags = ldl_le_p(c->buf + 4);
    c->fence_id = ldq_le_p(c->buf + 8);
    c->ctx_id = ldl_le_p(c->buf + 16);
    c->ring_idx = c->buf[20];
    return c->len >= cmd_size(c->type);
}

/* Run one control request; returns the response length written to @resp. */
static size_t run_ctrl(VirtIOGPU *g, const GPUCmd *c, bool ok, uint8_t *resp)
{
    uint32_t type = VIRTIO_GPU_RESP_ERR_UNSPEC;
    size_t len = VIRTIO_GPU_CTRL_HDR_SIZE;

    if (ok) {
        switch (c->type) {
        case VIRTIO_GPU_CMD_GET_DISPLAY_INFO:
            cmd_get_display_info(g, resp);
            type = VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
            len = DISPLAY_INFO_SIZE;
            break;
        case VIRTIO_GPU_CMD_GET_EDID:
            type = cmd_get_edid(g, c, resp);
            if (type == VIRTIO_GPU_RESP_OK_EDID) {
                len = EDID_RESP_SIZE;
            }
            break;
        case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
            type = cmd_resource_create_2d(g, c);
            break;
        case VIRTIO_GPU_CMD_RESOURCE_UNREF:
            type = cmd_resource_unref(g, c);
            break;
        case VIRTIO_GPU_CMD_SET_SCANOUT:
            type = cmd_set_scanout(g, c);
            break;
        case VIRTIO_GPU_CMD_RESOURCE_FLUSH:
            type = cmd_resource_flush(g, c);
            break;
        case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D:
            type = cmd_transfer_to_host_2d(g, c);
            break;
        case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
            type = cmd_attach_backing(g, c);
            break;
        case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
            type = cmd_detach_backing(g, c);
            break;
        default:
            /* 3D, capsets, blobs: not offered */
            break;
        }
    }
    if (len == VIRTIO_GPU_CTRL_HDR_SIZE) {
        memset(resp, 0, len);
    }
    stl_le_p(resp, type);
    /* The fence is done when the response is: echo it (5.7.6.7). */
    if (c->flags & VIRTIO_GPU_FLAG_FENCE) {
        stl_le_p(resp + 4, c->flags & (VIRTIO_GPU_FLAG_FENCE |
                                       VIRTIO_GPU_FLAG_INFO_RING_IDX));
        stq_le_p(resp + 8, c->fence_id);
        stl_le_p(resp + 16, c->ctx_id);
        resp[20] = c->flags & VIRTIO_GPU_FLAG_INFO_RING_IDX ? c->ring_idx
                                                            : 0;
    }
    return len;
}

static void gpu_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;
    static uint8_t resp[EDID_RESP_SIZE];
    bool pushed = false;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    while (virtqueue_pop(vq, &g->elem)) {
        GPUCmd c;
        bool ok = read_cmd(&g->elem, &c);
        size_t len;

        memset(resp, 0, sizeof(resp));
        len = run_ctrl(g, &c, ok, resp);
        len = virtqueue_elem_from_buf(&g->elem, 0, resp, len);
        virtqueue_push(vq, &g->elem, len);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

/* ---- cursor queue ----------------------------------------------------- */

/*
 * The cursor image: a 64x64 resource (anything else leaves the cursor
 * hidden, as QEMU does), copied into a console cursor that the front ends
 * draw.  Each head has its own.
 */
static void cursor_set_image(VirtIOGPU *g, VirtIOGPUScanout *so,
                             VirtIOGPUResource *res)
{
    pixman_image_t *dst;
    QEMUCursor *c;

    (void)g;
    if (!res || res->width != VIRTIO_GPU_CURSOR_SIZE ||
        res->height != VIRTIO_GPU_CURSOR_SIZE) {
        return;
    }
    c = cursor_alloc(VIRTIO_GPU_CURSOR_SIZE, VIRTIO_GPU_CURSOR_SIZE);
    c->hot_x = MIN(so->cursor_hot_x, VIRTIO_GPU_CURSOR_SIZE - 1);
    c->hot_y = MIN(so->cursor_hot_y, VIRTIO_GPU_CURSOR_SIZE - 1);
    dst = pixman_image_create_bits(PIXMAN_a8r8g8b8, VIRTIO_GPU_CURSOR_SIZE,
                                   VIRTIO_GPU_CURSOR_SIZE, c->data,
                                   VIRTIO_GPU_CURSOR_SIZE * 4);
    pixman_image_composite32(PIXMAN_OP_SRC, res->image, NULL, dst, 0, 0, 0, 0,
                           0, 0, VIRTIO_GPU_CURSOR_SIZE,
                           VIRTIO_GPU_CURSOR_SIZE);
    pixman_image_unref(dst);
    cursor_unref(so->cursor);
    so->cursor = c;
    so->cursor_resource_id = res->id;
    if (so->con) {
        dpy_cursor_define(so->con, c);
    }
}

/* Tell the head's console where the cursor is and whether it shows. */
static void cursor_show(VirtIOGPUScanout *so)
{
    if (so->con && so->cursor) {
        dpy_mouse_set(so->con, so->cursor_x, so->cursor_y,
                      so->cursor_resource_id != 0);
    }
}

/* Forget the head's cursor (reset, its resource unreferenced). */
static void cursor_hide(VirtIOGPUScanout *so)
{
    so->cursor_resource_id = 0;
    cursor_show(so);
}

/*
 * struct virtio_gpu_update_cursor: hdr, pos (scanout_id, x, y, padding),
 * resource_id, hot_x, hot_y.  MOVE_CURSOR only moves; UPDATE_CURSOR with
 * resource 0 hides the cursor.
 */
static void cursor_update(VirtIOGPU *g, const GPUCmd *c)
{
    uint32_t head = ldl_le_p(c->buf + 24);
    VirtIOGPUScanout *so;

    if (head >= g->max_outputs) {
        return;
    }
    so = &g->scanout[head];
    so->cursor_x = (int32_t)ldl_le_p(c->buf + 28);
    so->cursor_y = (int32_t)ldl_le_p(c->buf + 32);
    if (c->type == VIRTIO_GPU_CMD_UPDATE_CURSOR) {
        so->cursor_hot_x = ldl_le_p(c->buf + 44);
        so->cursor_hot_y = ldl_le_p(c->buf + 48);
        so->cursor_resource_id = 0;
        cursor_set_image(g, so, find_resource(g, ldl_le_p(c->buf + 40)));
    }
    cursor_show(so);
}

static void gpu_handle_cursor(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;
    bool pushed = false;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    while (virtqueue_pop(vq, &g->elem)) {
        GPUCmd c;

        if (read_cmd(&g->elem, &c) &&
            (c.type == VIRTIO_GPU_CMD_UPDATE_CURSOR ||
             c.type == VIRTIO_GPU_CMD_MOVE_CURSOR)) {
            cursor_update(g, &c);
        }
        virtqueue_push(vq, &g->elem, 0);    /* no response data */
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

/* ---- resources across a migration ------------------------------------- */

/*
 * The "virtio-gpu@SS.F" state (version 1), little-endian: u32 count, then
 * per resource u32 id, format, width, height, nr_ent; nr_ent entries of
 * (u64 addr, u32 len); width * height * 4 bytes of pixels.  Saved after
 * the devices, so on load the scanouts it redraws are already known.
 */
static void put_u32(GByteArray *out, uint32_t v)
{
    uint8_t b[4];

    stl_le_p(b, v);
    g_byte_array_append(out, b, 4);
}

static bool gpu_resources_save(void *opaque, GByteArray *out, GError **errp)
{
    VirtIOGPU *g = opaque;
    GHashTableIter it;
    gpointer value;

    put_u32(out, g_hash_table_size(g->resources));
    g_hash_table_iter_init(&it, g->resources);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        VirtIOGPUResource *res = value;

        put_u32(out, res->id);
        put_u32(out, res->format);
        put_u32(out, res->width);
        put_u32(out, res->height);
        put_u32(out, res->nr_ent);
        for (uint32_t i = 0; i < res->nr_ent; i++) {
            uint8_t b[8];

            stq_le_p(b, res->ent_addr[i]);
            g_byte_array_append(out, b, 8);
            put_u32(out, res->ent_len[i]);
        }
        g_byte_array_append(out,
                            (const uint8_t *)pixman_image_get_data(res->image),
                            (size_t)res->width * 4 * res->height);
    }
    return true;
}

static bool load_one_resource(VirtIOGPU *g, ByteReader *r, GError **errp)
{
    uint32_t id, format, width, height, nr;
    VirtIOGPUResource *res;
    size_t bytes;

    id = br_le32(r);
    format = br_le32(r);
    width = br_le32(r);
    height = br_le32(r);
    nr = br_le32(r);
    if (r->bad) {
        error_setg(errp, "virtio-gpu: truncated resource");
        return false;
    }
    if (resource_create(g, id, format, width, height) !=
        VIRTIO_GPU_RESP_OK_NODATA) {
        error_setg(errp, "virtio-gpu: invalid resource %u (%ux%u format %u)",
                   id, width, height, format);
        return false;
    }
    res = find_resource(g, id);
    if (nr > VIRTIO_GPU_MAX_MEM_ENTRIES || (r->len - r->pos) / 12 < nr) {
        error_setg(errp, "virtio-gpu: resource %u: bad backing", id);
        return false;
    }
    if (nr) {
        uint64_t *addr = g_new(uint64_t, nr);
        uint32_t *len = g_new(uint32_t, nr);

        for (uint32_t i = 0; i < nr; i++) {
            addr[i] = br_le64(r);           /* present: checked above */
            len[i] = br_le32(r);
        }
        if (!map_backing(res, addr, len, nr)) {
            g_free(addr);
            g_free(len);
            error_setg(errp, "virtio-gpu: resource %u: backing outside RAM",
                       id);
            return false;
        }
        res->ent_addr = addr;
        res->ent_len = len;
        res->nr_ent = nr;
    }
    bytes = (size_t)width * 4 * height;
    if (!br_copy(r, pixman_image_get_data(res->image), bytes)) {
        error_setg(errp, "virtio-gpu: resource %u: truncated pixels", id);
        return false;
    }
    return true;
}

/* The heads and cursors the device state names, now that resources exist. */
static bool restore_scanouts(VirtIOGPU *g, GError **errp)
{
    for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
        VirtIOGPUScanout *so = &g->scanout[i];
        uint32_t cursor = so->cursor_resource_id;
        VirtIOGPUResource *res;
        GPURect r = { so->x, so->y, so->width, so->height };

        if (i >= g->max_outputs) {
            if (so->resource_id || cursor) {
                error_setg(errp, "virtio-gpu: scanout %u does not exist", i);
                return false;
            }
            continue;
        }
        so->cursor_resource_id = 0;
        cursor_set_image(g, so, find_resource(g, cursor));
        cursor_show(so);
        if (!so->resource_id) {
            continue;
        }
        res = find_resource(g, so->resource_id);
        if (!res || r.width < 16 || r.height < 16 ||
            !rect_inside(&r, res->width, res->height)) {
            error_setg(errp, "virtio-gpu: scanout %u: bad resource or "
                       "rectangle", i);
            return false;
        }
        if (i == 0) {
            scanout0_set_driven(g, true);
        }
        dpy_gfx_resize(so->con, r.width, r.height);
        scanout_draw(so, res, &r);
    }
    return true;
}

static bool gpu_resources_load(void *opaque, int version, const uint8_t *buf,
                               size_t len, GError **errp)
{
    VirtIOGPU *g = opaque;
    ByteReader r = byte_reader(buf, len);
    uint32_t count;

    /* a snapshot loaded into a running machine replaces what is there */
    g_hash_table_remove_all(g->resources);
    g->hostmem = 0;
    count = br_le32(&r);
    if (version != 1 || r.bad) {
        error_setg(errp, "virtio-gpu: bad resource state");
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (!load_one_resource(g, &r, errp)) {
            return false;
        }
    }
    if (r.pos != r.len) {
        error_setg(errp, "virtio-gpu: %zu stray bytes in the resource state",
                   r.len - r.pos);
        return false;
    }
    return restore_scanouts(g, errp);
}

/* ---- device hooks ------------------------------------------------------ */

static uint64_t gpu_get_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;

    if (g->edid) {
        features |= 1ULL << VIRTIO_GPU_F_EDID;
    }
    return features;
}

static void gpu_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;

    stl_le_p(config + VIRTIO_GPU_CFG_EVENTS_READ, g->events_read);
    stl_le_p(config + VIRTIO_GPU_CFG_EVENTS_CLEAR, 0);
    stl_le_p(config + VIRTIO_GPU_CFG_NUM_SCANOUTS, g->max_outputs);
    stl_le_p(config + VIRTIO_GPU_CFG_NUM_CAPSETS, 0);
}

static void gpu_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;

    /* events_clear is write-1-to-clear of events_read */
    g->events_read &= ~ldl_le_p(config + VIRTIO_GPU_CFG_EVENTS_CLEAR);
}

static void gpu_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;

    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        gpu_handle_ctrl(vdev, g->ctrl_vq);
        gpu_handle_cursor(vdev, g->cursor_vq);
    }
}

static void gpu_reset(VirtIODevice *vdev)
{
    VirtIOGPU *g = (VirtIOGPU *)vdev;

    for (unsigned i = 0; i < g->max_outputs; i++) {
        if (g->scanout[i].resource_id) {
            scanout_disable(g, i);
        }
        cursor_hide(&g->scanout[i]);
        g->scanout[i].cursor_x = g->scanout[i].cursor_y = 0;
        g->scanout[i].cursor_hot_x = g->scanout[i].cursor_hot_y = 0;
    }
    scanout0_set_driven(g, false);
    g_hash_table_remove_all(g->resources);
    g->hostmem = 0;
    g->events_read = 0;
}

bool virtio_gpu_core_realize(VirtIOGPU *g, DeviceState *dev,
                             QemuConsole *con0, GError **errp)
{
    if (g->max_outputs < 1 || g->max_outputs > VIRTIO_GPU_MAX_SCANOUTS) {
        error_setg(errp, "invalid max_outputs > %d",
                   VIRTIO_GPU_MAX_SCANOUTS);
        return false;
    }
    if (!g->xres) {
        g->xres = 1280;
    }
    if (!g->yres) {
        g->yres = 800;
    }
    g->enabled_outputs = 1;     /* head 0; others when a UI asks, as QEMU */
    for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
        g->req_width[i] = g->xres;
        g->req_height[i] = g->yres;
    }
    g->resources = g_hash_table_new_full(NULL, NULL, NULL, resource_free);
    g->ctrl_vq = virtio_add_queue(&g->vdev, VIRTIO_GPU_QUEUE_SIZE,
                                  gpu_handle_ctrl);
    g->cursor_vq = virtio_add_queue(&g->vdev, VIRTIO_GPU_QUEUE_SIZE / 16,
                                    gpu_handle_cursor);
    for (unsigned i = 0; i < g->max_outputs; i++) {
        VirtIOGPUScanout *so = &g->scanout[i];

        so->gpu = g;
        so->head = i;
        so->con = (i == 0 && con0) ? con0 :
                  graphic_console_init(dev, i, &virtio_gpu_hw_ops, so);
    }
    guest_ram_map_init();
    g->mig_name = g_strdup_printf("virtio-gpu@%02x.%x",
                                  PCI_SLOT(((PCIDevice *)dev)->devfn),
                                  PCI_FUNC(((PCIDevice *)dev)->devfn));
    g->mig = (MigrationStateHandler){
        .name = g->mig_name, .version = 1, .save = gpu_resources_save,
        .load = gpu_resources_load, .opaque = g,
    };
    migration_register_state(&g->mig);
    return true;
}

void virtio_gpu_core_unrealize(VirtIOGPU *g)
{
    for (unsigned i = 0; i < g->max_outputs; i++) {
        if (g->scanout[i].con && g->scanout[i].cursor) {
            dpy_cursor_define(g->scanout[i].con, NULL);
        }
        g_clear_pointer(&g->scanout[i].cursor, cursor_unref);
        if (g->scanout[i].con && !(i == 0 && g->scanout0_changed)) {
            graphic_console_close(g->scanout[i].con);
        }
        g->scanout[i].con = NULL;
    }
    g_clear_pointer(&g->resources, g_hash_table_destroy);
    g_ptr_array_remove(migration_state_handlers(), &g->mig);
    g_clear_pointer(&g->mig_name, g_free);
}

static bool gpu_realize(VirtIODevice *vdev, GError **errp)
{
    return virtio_gpu_core_realize((VirtIOGPU *)vdev, vdev->dev, NULL, errp);
}

static void gpu_unrealize(VirtIODevice *vdev)
{
    virtio_gpu_core_unrealize((VirtIOGPU *)vdev);
}

const VirtioDeviceClass virtio_gpu_vdc = {
    .device_id = VIRTIO_ID_GPU,
    .pci_class_id = PCI_CLASS_DISPLAY_OTHER,
    .config_size = VIRTIO_GPU_CFG_SIZE,
    .get_features = gpu_get_features,
    .get_config = gpu_get_config,
    .set_config = gpu_set_config,
    .set_status = gpu_set_status,
    .reset = gpu_reset,
};

/* ---- state ------------------------------------------------------------- */

static const VMStateDescription vmstate_gpu_scanout = {
    .name = "virtio-gpu-scanout",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(resource_id, VirtIOGPUScanout),
        VMSTATE_UINT32(x, VirtIOGPUScanout),
        VMSTATE_UINT32(y, VirtIOGPUScanout),
        VMSTATE_UINT32(width, VirtIOGPUScanout),
        VMSTATE_UINT32(height, VirtIOGPUScanout),
        VMSTATE_UINT32(cursor_resource_id, VirtIOGPUScanout),
        VMSTATE_UINT32(cursor_hot_x, VirtIOGPUScanout),
        VMSTATE_UINT32(cursor_hot_y, VirtIOGPUScanout),
        VMSTATE_INT32(cursor_x, VirtIOGPUScanout),
        VMSTATE_INT32(cursor_y, VirtIOGPUScanout),
        VMSTATE_END_OF_LIST()
    },
};

/* The GPU's own state; resources travel in gpu_resources_save(). */
const VMStateDescription vmstate_virtio_gpu = {
    .name = "virtio-gpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vdev, VirtIOGPU, vmstate_virtio_core, VirtIODevice),
        VMSTATE_UINT32(events_read, VirtIOGPU),
        VMSTATE_UINT32(enabled_outputs, VirtIOGPU),
        VMSTATE_UINT32_ARRAY(req_width, VirtIOGPU, VIRTIO_GPU_MAX_SCANOUTS),
        VMSTATE_UINT32_ARRAY(req_height, VirtIOGPU, VIRTIO_GPU_MAX_SCANOUTS),
        VMSTATE_STRUCT_ARRAY(scanout, VirtIOGPU, VIRTIO_GPU_MAX_SCANOUTS,
                             vmstate_gpu_scanout, VirtIOGPUScanout),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- virtio-gpu-pci ---------------------------------------------------- */

typedef struct VirtIOGPUPCI {
    VirtIOPCIProxy proxy;
    VirtIOGPU gpu;
} VirtIOGPUPCI;

static int gpu_pci_post_load(void *opaque, int version_id)
{
    VirtIOGPUPCI *d = opaque;
    VirtIOGPU *g = &d->gpu;

    /* the resources and what the heads show come after the devices
     * (gpu_resources_load) */
    if (!virtio_core_post_load(&g->vdev)) {
        return -1;
    }
    virtio_pci_post_load(&d->proxy);
    return 0;
}

static const VMStateDescription vmstate_virtio_gpu_pci = {
    .name = "virtio-gpu-pci",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = gpu_pci_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(gpu, VirtIOGPUPCI, vmstate_virtio_gpu, VirtIOGPU),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioPCIClass gpu_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1040 + VIRTIO_ID_GPU,
        .revision = 1,                  /* modern only (4.1.2.1) */
        .class_id = PCI_CLASS_DISPLAY_OTHER,
        .interrupt_pin = 1,
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &virtio_gpu_vdc,
    .vdev_offset = offsetof(VirtIOGPUPCI, gpu),
    .modern_only = true,
    .realize = gpu_realize,
    .unrealize = gpu_unrealize,
};

#define VIRTIO_GPU_PROPS(st, f)                                             \
    DEFINE_PROP("max_outputs", st, f.max_outputs, PROP_UINT32, "1",         \
                "heads (1-16), one graphic console each"),                  \
    DEFINE_PROP("xres", st, f.xres, PROP_UINT32, "1280",                    \
                "preferred width reported to the guest"),                   \
    DEFINE_PROP("yres", st, f.yres, PROP_UINT32, "800",                     \
                "preferred height reported to the guest"),                  \
    DEFINE_PROP("edid", st, f.edid, PROP_BOOL, "on",                        \
                "offer VIRTIO_GPU_F_EDID (GET_EDID)"),                      \
    DEFINE_PROP("max_hostmem", st, f.max_hostmem, PROP_SIZE, "256M",        \
                "host memory the guest's resources may take")

static const Property gpu_pci_props[] = {
    VIRTIO_GPU_PROPS(VirtIOGPUPCI, gpu),
    DEFINE_PROP("vectors", VirtIOGPUPCI, proxy.nvectors, PROP_UINT32, "3",
                "MSI-X vectors (0: INTx only)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_gpu_pci_type = {
    .name = TYPE_VIRTIO_GPU_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-gpu-pci",
    .instance_size = sizeof(VirtIOGPUPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_DISPLAY,
    .props = gpu_pci_props,
    .vmsd = &vmstate_virtio_gpu_pci,
    .class_data = &gpu_pci_class,
};

static void virtio_gpu_register(void)
{
    device_type_register(&virtio_gpu_pci_type);
    device_type_register_alias("virtio-gpu", TYPE_VIRTIO_GPU_PCI);
}
type_init(virtio_gpu_register)
