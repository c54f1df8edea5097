/*
 * The SPICE display channel for a console of the console layer (VGA,
 * bochs-display, virtio-gpu): no QXL device, one QXL interface instance
 * driven as QEMU's "simple display" (ui/spice-display.c there).
 *
 * The console's surface becomes SPICE's primary surface 0 (created anew on
 * every switch, 32-bit xRGB, the size of the surface).  Rectangles the
 * console reports changed are collected in a region; each refresh tick
 * turns the region's rectangles into QXL_DRAW_COPY drawables whose source
 * is a copy of those pixels (the surface may change or be freed while
 * libspice-server's display worker still reads them), queues them and
 * wakes the worker, which takes them with get_command on its own thread
 * and hands them back with release_resource once sent and rendered.
 *
 * Memory is bounded: a region with many rectangles is sent as its bounding
 * box, and when the worker falls behind (more than SPICE_MAX_QUEUED
 * drawables or SPICE_MAX_QUEUED_BYTES of pixels not yet taken) the queue
 * is dropped and replaced by one full-screen drawable.  Drawables the
 * worker holds are its to release.
 *
 * Host pointers are QXL addresses: memory slot 0 of group 0 spans the
 * whole address space with offset 0, as QEMU's simple display.
 *
 * The cursor: the console layer's cursor channel (virtio-gpu's cursor
 * queue) becomes QXL cursor commands (QXL_CURSOR_SET with an ARGB
 * SPICE_CURSOR_TYPE_ALPHA shape, QXL_CURSOR_MOVE, QXL_CURSOR_HIDE) queued
 * for the worker's get_cursor_command; the server sends them on the cursor
 * channel and keeps the last shape for clients that connect later.  Their
 * release_info ids are tagged with bit 0 (allocations are aligned), so
 * release_resource tells them from drawables.
 *
 * Client monitors configs (a viewer resized, from the client's main
 * channel) go to the console's device as a size wish (dpy_set_ui_info):
 * virtio-gpu raises its display change event; with a device that cannot
 * (VGA) they go on to the guest's vdagent, as QEMU does.
 *
 * Threads: the queues are shared with the worker under queue_lock; all
 * else is main-thread state.
 */
#define UI_SPICE_INTERNAL
#include "qemu/osdep.h"
#include "ui/spice.h"
#include "ui/console.h"

#define MEMSLOT_GROUP_HOST      0
#define NUM_MEMSLOT_GROUPS      1
#define NUM_MEMSLOTS            8
#define MEMSLOT_GENERATION_BITS 8
#define MEMSLOT_SLOT_BITS       8
#define NUM_SURFACES            1024
#define SPICE_MAX_QUEUED        64
#define SPICE_MAX_QUEUED_BYTES  (64u << 20)
#define SPICE_MAX_REGION_RECTS  32

typedef struct SpiceUpdate {
    QXLDrawable drawable;
    QXLImage image;
    QXLCommandExt ext;
    size_t bytes;
    uint8_t bitmap[];
} SpiceUpdate;

#define SPICE_CURSOR_TAG        1u      /* release id bit 0: a cursor cmd */
#define SPICE_MAX_CURSOR_CMDS   64

typedef struct SpiceCursorCmd {
    QXLCursorCmd cmd;
    QXLCommandExt ext;
    QXLCursor shape;                /* QXL_CURSOR_SET only */
    uint8_t pixels[];               /* follows shape.chunk.data */
} SpiceCursorCmd;

typedef struct SpiceDisplay {
    QXLInstance qxl;
    DisplayChangeListener dcl;

    /* main thread */
    pixman_image_t *surface;
    int width, height;
    bool primary_created;
    uint8_t *primary_mem;           /* rendered into by the worker */
    pixman_region32_t dirty;
    uint32_t unique;
    int clients;
    int cursor_x, cursor_y;         /* the guest's pointer (hot spot) */
    bool cursor_visible;

    /* shared with the worker */
    GMutex queue_lock;
    GQueue queue;                   /* SpiceUpdate *, not yet taken */
    size_t queued_bytes;
    GQueue cursor_queue;            /* SpiceCursorCmd *, not yet taken */
} SpiceDisplay;

static SpiceDisplay *display;

/* ---- drawables ------------------------------------------------------------ */

static SpiceUpdate *make_update(SpiceDisplay *sd, int x, int y, int w, int h)
{
    const uint8_t *bits = (const uint8_t *)pixman_image_get_data(sd->surface);
    int stride = pixman_image_get_stride(sd->surface);
    size_t bytes = (size_t)w * h * 4;
    SpiceUpdate *u = g_malloc0(sizeof(*u) + bytes);
    QXLDrawable *d = &u->drawable;
    QXLImage *img = &u->image;

    for (int r = 0; r < h; r++) {
        memcpy(u->bitmap + (size_t)r * w * 4,
               bits + (size_t)(y + r) * stride + (size_t)x * 4,
               (size_t)w * 4);
    }
    u->bytes = bytes;

    d->bbox.left = x;
    d->bbox.top = y;
    d->bbox.right = x + w;
    d->bbox.bottom = y + h;
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    d->effect = QXL_EFFECT_OPAQUE;
    d->release_info.id = (uintptr_t)u;
    d->type = QXL_DRAW_COPY;
    d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
    /* libspice-server's multimedia clock is CLOCK_MONOTONIC in ms */
    d->mm_time = (uint32_t)(g_get_monotonic_time() / 1000);
    d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    d->u.copy.src_bitmap = (uintptr_t)img;
    d->u.copy.src_area.right = w;
    d->u.copy.src_area.bottom = h;

    QXL_SET_IMAGE_ID(img, QXL_IMAGE_GROUP_DEVICE, sd->unique++);
    img->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img->descriptor.width = img->bitmap.x = w;
    img->descriptor.height = img->bitmap.y = h;
    img->bitmap.flags = QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN;
    img->bitmap.format = SPICE_BITMAP_FMT_32BIT;    /* = pixman x8r8g8b8 */
    img->bitmap.stride = w * 4;
    img->bitmap.data = (uintptr_t)u->bitmap;

    u->ext.cmd.type = QXL_CMD_DRAW;
    u->ext.cmd.data = (uintptr_t)d;
    u->ext.group_id = MEMSLOT_GROUP_HOST;
    return u;
}

/* Drop what the worker has not taken yet (caller holds queue_lock). */
static void drop_queue_locked(SpiceDisplay *sd)
{
    SpiceUpdate *u;

    while ((u = g_queue_pop_head(&sd->queue))) {
        g_free(u);
    }
    sd->queued_bytes = 0;
}

static void queue_update(SpiceDisplay *sd, int x, int y, int w, int h)
{
    SpiceUpdate *u;

    g_mutex_lock(&sd->queue_lock);
    if (g_queue_get_length(&sd->queue) >= SPICE_MAX_QUEUED ||
        sd->queued_bytes + (size_t)w * h * 4 > SPICE_MAX_QUEUED_BYTES) {
        /* the worker is behind: one full picture replaces the backlog */
        drop_queue_locked(sd);
        x = y = 0;
        w = sd->width;
        h = sd->height;
    }
    g_mutex_unlock(&sd->queue_lock);

    u = make_update(sd, x, y, w, h);
    g_mutex_lock(&sd->queue_lock);
    g_queue_push_tail(&sd->queue, u);
    sd->queued_bytes += u->bytes;
    g_mutex_unlock(&sd->queue_lock);
}

/* Turn the dirty region into drawables and wake the worker. */
static void flush_dirty(SpiceDisplay *sd)
{
    pixman_box32_t *boxes;
    int n;

    if (!sd->primary_created || !pixman_region32_not_empty(&sd->dirty)) {
        return;
    }
    boxes = pixman_region32_rectangles(&sd->dirty, &n);
    if (n > SPICE_MAX_REGION_RECTS) {
        boxes = pixman_region32_extents(&sd->dirty);
        n = 1;
    }
    for (int i = 0; i < n; i++) {
        queue_update(sd, boxes[i].x1, boxes[i].y1, boxes[i].x2 - boxes[i].x1,
                     boxes[i].y2 - boxes[i].y1);
    }
    pixman_region32_clear(&sd->dirty);
    spice_qxl_wakeup(&sd->qxl);
}

/* ---- primary surface ---------------------------------------------------- */

static void destroy_primary(SpiceDisplay *sd)
{
    if (!sd->primary_created) {
        return;
    }
    g_mutex_lock(&sd->queue_lock);
    drop_queue_locked(sd);
    g_mutex_unlock(&sd->queue_lock);
    /* synchronous: the worker is done with primary_mem afterwards */
    spice_qxl_destroy_primary_surface(&sd->qxl, 0);
    sd->primary_created = false;
    g_free(sd->primary_mem);
    sd->primary_mem = NULL;
}

static void create_primary(SpiceDisplay *sd)
{
    QXLDevSurfaceCreate s = { 0 };

    sd->primary_mem = g_malloc0((size_t)sd->width * sd->height * 4);
    s.width = sd->width;
    s.height = sd->height;
    /* bottom-up, as QEMU's simple display (the best-trodden path) */
    s.stride = -sd->width * 4;
    s.mem = (uintptr_t)sd->primary_mem;
    s.format = SPICE_SURFACE_FMT_32_xRGB;
    s.mouse_mode = true;
    s.group_id = MEMSLOT_GROUP_HOST;
    spice_qxl_create_primary_surface(&sd->qxl, 0, &s);
    sd->primary_created = true;
}

/* ---- console listener ------------------------------------------------------ */

static void spice_dpy_switch(DisplayChangeListener *dcl,
                             pixman_image_t *surface)
{
    SpiceDisplay *sd = dcl->opaque;
    int w = pixman_image_get_width(surface);
    int h = pixman_image_get_height(surface);

    sd->surface = surface;
    if (w != sd->width || h != sd->height || !sd->primary_created) {
        destroy_primary(sd);
        sd->width = w;
        sd->height = h;
        create_primary(sd);
    }
    pixman_region32_fini(&sd->dirty);
    pixman_region32_init_rect(&sd->dirty, 0, 0, w, h);
    flush_dirty(sd);
}

static void spice_dpy_update(DisplayChangeListener *dcl, int x, int y, int w,
                             int h)
{
    SpiceDisplay *sd = dcl->opaque;

    if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > sd->width ||
        y + h > sd->height) {
        return;
    }
    pixman_region32_union_rect(&sd->dirty, &sd->dirty, x, y, w, h);
}

static void spice_dpy_refresh(DisplayChangeListener *dcl)
{
    flush_dirty(dcl->opaque);
    qemu_spice_input_check_mouse_mode();
}

/* ---- the cursor ------------------------------------------------------------ */

static SpiceCursorCmd *cursor_cmd_new(uint8_t type, size_t pixels)
{
    SpiceCursorCmd *cc = g_malloc0(sizeof(*cc) + pixels);

    cc->cmd.type = type;
    cc->cmd.release_info.id = (uintptr_t)cc | SPICE_CURSOR_TAG;
    cc->ext.cmd.type = QXL_CMD_CURSOR;
    cc->ext.cmd.data = (uintptr_t)&cc->cmd;
    cc->ext.group_id = MEMSLOT_GROUP_HOST;
    return cc;
}

static void cursor_queue_push(SpiceDisplay *sd, SpiceCursorCmd *cc)
{
    SpiceCursorCmd *old;

    g_mutex_lock(&sd->queue_lock);
    /* a worker that does not take them (no client yet) must not make
     * the queue grow: the oldest moves go first */
    while (g_queue_get_length(&sd->cursor_queue) >= SPICE_MAX_CURSOR_CMDS &&
           (old = g_queue_pop_head(&sd->cursor_queue))) {
        g_free(old);
    }
    g_queue_push_tail(&sd->cursor_queue, cc);
    g_mutex_unlock(&sd->queue_lock);
    spice_qxl_wakeup(&sd->qxl);
}

static void spice_cursor_define(DisplayChangeListener *dcl, QEMUCursor *c)
{
    SpiceDisplay *sd = dcl->opaque;
    SpiceCursorCmd *cc;
    size_t bytes;

    if (!c) {
        /* no hardware cursor: the client's own pointer */
        cursor_queue_push(sd, cursor_cmd_new(QXL_CURSOR_HIDE, 0));
        return;
    }
    if (!sd->cursor_visible) {
        /* sent when the device shows it (spice_mouse_set): one SET */
        return;
    }
    bytes = (size_t)c->width * c->height * 4;
    cc = cursor_cmd_new(QXL_CURSOR_SET, bytes);
    cc->shape.header.unique = 0;    /* no caching across shapes */
    cc->shape.header.type = SPICE_CURSOR_TYPE_ALPHA;
    cc->shape.header.width = c->width;
    cc->shape.header.height = c->height;
    cc->shape.header.hot_spot_x = c->hot_x;
    cc->shape.header.hot_spot_y = c->hot_y;
    cc->shape.data_size = bytes;
    cc->shape.chunk.data_size = bytes;
    memcpy(cc->pixels, c->data, bytes);
    cc->cmd.u.set.shape = (uintptr_t)&cc->shape;
    cc->cmd.u.set.visible = 1;
    cc->cmd.u.set.position.x = sd->cursor_x;
    cc->cmd.u.set.position.y = sd->cursor_y;
    cursor_queue_push(sd, cc);
}

static void spice_mouse_set(DisplayChangeListener *dcl, int x, int y,
                            bool visible)
{
    SpiceDisplay *sd = dcl->opaque;
    SpiceCursorCmd *cc;

    sd->cursor_x = CLAMP(x, 0, 0x7fff);
    sd->cursor_y = CLAMP(y, 0, 0x7fff);
    if (!visible) {
        if (sd->cursor_visible) {
            cursor_queue_push(sd, cursor_cmd_new(QXL_CURSOR_HIDE, 0));
        }
        sd->cursor_visible = false;
        return;
    }
    if (!sd->cursor_visible) {
        /* a SET shows it again: define it anew from the console */
        QEMUCursor *c = qemu_console_get_cursor(dpy_get_console(dcl));
        sd->cursor_visible = true;
        if (c) {
            spice_cursor_define(dcl, c);
            return;
        }
    }
    cc = cursor_cmd_new(QXL_CURSOR_MOVE, 0);
    cc->cmd.u.position.x = sd->cursor_x;
    cc->cmd.u.position.y = sd->cursor_y;
    cursor_queue_push(sd, cc);
}

static const DisplayChangeListenerOps spice_dcl_ops = {
    .name = "spice",
    .dpy_refresh = spice_dpy_refresh,
    .dpy_gfx_update = spice_dpy_update,
    .dpy_gfx_switch = spice_dpy_switch,
    .dpy_cursor_define = spice_cursor_define,
    .dpy_mouse_set = spice_mouse_set,
};

void qemu_spice_display_clients_changed(int nr)
{
    SpiceDisplay *sd = display;

    if (!sd) {
        return;
    }
    sd->clients = nr;
    /*
     * Without clients nothing ticks (the dirty log keeps the guest's
     * writes); a client's first refresh comes at once, so the worker's
     * copy of the screen catches up before the client asks much of it.
     */
    dpy_set_ui_interval(&sd->dcl, nr ? GUI_REFRESH_INTERVAL_DEFAULT
                                     : GUI_REFRESH_NONE);
    if (nr) {
        dpy_refresh_soon(&sd->dcl);
    }
}

/* ---- QXL interface (the worker thread) ------------------------------------ */

static void qxl_attached_worker(QXLInstance *qin)
{
}

static void qxl_set_compression_level(QXLInstance *qin, int level)
{
}

static void qxl_get_init_info(QXLInstance *qin, QXLDevInitInfo *info)
{
    info->memslot_gen_bits = MEMSLOT_GENERATION_BITS;
    info->memslot_id_bits = MEMSLOT_SLOT_BITS;
    info->num_memslots = NUM_MEMSLOTS;
    info->num_memslots_groups = NUM_MEMSLOT_GROUPS;
    info->internal_groupslot_id = 0;
    info->qxl_ram_size = 16 << 20;
    info->n_surfaces = NUM_SURFACES;
}

static int qxl_get_command(QXLInstance *qin, QXLCommandExt *ext)
{
    SpiceDisplay *sd = container_of(qin, SpiceDisplay, qxl);
    SpiceUpdate *u;

    g_mutex_lock(&sd->queue_lock);
    u = g_queue_pop_head(&sd->queue);
    if (u) {
        sd->queued_bytes -= u->bytes;
        *ext = u->ext;
    }
    g_mutex_unlock(&sd->queue_lock);
    return u != NULL;
}

static int qxl_req_cmd_notification(QXLInstance *qin)
{
    /* flush_dirty wakes the worker whenever it queues */
    return 1;
}

static void qxl_release_resource(QXLInstance *qin, QXLReleaseInfoExt rext)
{
    uint64_t id = rext.info->id;

    if (id & SPICE_CURSOR_TAG) {
        g_free((SpiceCursorCmd *)(uintptr_t)(id & ~(uint64_t)SPICE_CURSOR_TAG));
        return;
    }
    g_free((SpiceUpdate *)(uintptr_t)id);
}

static int qxl_get_cursor_command(QXLInstance *qin, QXLCommandExt *ext)
{
    SpiceDisplay *sd = container_of(qin, SpiceDisplay, qxl);
    SpiceCursorCmd *cc;

    g_mutex_lock(&sd->queue_lock);
    cc = g_queue_pop_head(&sd->cursor_queue);
    if (cc) {
        *ext = cc->ext;
    }
    g_mutex_unlock(&sd->queue_lock);
    return cc != NULL;
}

static int qxl_req_cursor_notification(QXLInstance *qin)
{
    return 1;
}

static void qxl_notify_update(QXLInstance *qin, uint32_t update_id)
{
}

static int qxl_flush_resources(QXLInstance *qin)
{
    return 0;
}

static void qxl_async_complete(QXLInstance *qin, uint64_t cookie)
{
}

static void qxl_update_area_complete(QXLInstance *qin, uint32_t surface_id,
                                     QXLRect *rects, uint32_t n)
{
}

static void qxl_set_client_capabilities(QXLInstance *qin,
                                        uint8_t client_present,
                                        uint8_t caps[SPICE_CAPABILITIES_SIZE])
{
}

/*
 * A client's monitors config (main thread, from the main channel): the
 * first monitor's size is a size wish for console 0's device.  1: handled
 * (or, with mc NULL, "supported"); 0: the server passes it on to the
 * guest's vdagent instead.
 */
static int qxl_client_monitors_config(QXLInstance *qin,
                                      VDAgentMonitorsConfig *mc)
{
    SpiceDisplay *sd = container_of(qin, SpiceDisplay, qxl);
    QemuConsole *con = dpy_get_console(&sd->dcl);
    QemuUIInfo info = { 0 };

    if (!dpy_ui_info_supported(con)) {
        return 0;
    }
    if (!mc) {
        return 1;
    }
    if (mc->num_of_monitors > 0) {
        info.width = mc->monitors[0].width;
        info.height = mc->monitors[0].height;
        dpy_set_ui_info(con, &info);
    }
    return 1;
}

static const QXLInterface qxl_interface = {
    .base.type = SPICE_INTERFACE_QXL,
    .base.description = "kvmpc simple display",
    .base.major_version = SPICE_INTERFACE_QXL_MAJOR,
    .base.minor_version = SPICE_INTERFACE_QXL_MINOR,
    .attached_worker = qxl_attached_worker,
    .set_compression_level = qxl_set_compression_level,
    .get_init_info = qxl_get_init_info,
    .get_command = qxl_get_command,
    .req_cmd_notification = qxl_req_cmd_notification,
    .release_resource = qxl_release_resource,
    .get_cursor_command = qxl_get_cursor_command,
    .req_cursor_notification = qxl_req_cursor_notification,
    .notify_update = qxl_notify_update,
    .flush_resources = qxl_flush_resources,
    .async_complete = qxl_async_complete,
    .update_area_complete = qxl_update_area_complete,
    .set_client_capabilities = qxl_set_client_capabilities,
    .client_monitors_config = qxl_client_monitors_config,
};

/* ---- setup ------------------------------------------------------------------ */

void qemu_spice_display_attach(void)
{
    SpiceDisplay *sd;
    QXLDevMemSlot slot = {
        .slot_group_id = MEMSLOT_GROUP_HOST,
        .slot_id = 0,
        .generation = 0,
        .virt_start = 0,
        .virt_end = ~(uintptr_t)0,
        .addr_delta = 0,
        .qxl_ram_size = ~0u,
    };
    GError *err = NULL;

    if (display || !qemu_console_lookup_by_index(0)) {
        return;     /* -vga none and no display device: no display channel */
    }
    sd = g_new0(SpiceDisplay, 1);
    g_mutex_init(&sd->queue_lock);
    g_queue_init(&sd->queue);
    g_queue_init(&sd->cursor_queue);
    pixman_region32_init(&sd->dirty);
    sd->qxl.base.sif = &qxl_interface.base;
    sd->qxl.id = 0;
    if (!qemu_spice_add_interface(&sd->qxl.base, &err)) {
        fprintf(stderr, "kvmpc: %s\n", err->message);
        g_error_free(err);
        g_free(sd);
        return;
    }
    spice_qxl_add_memslot(&sd->qxl, &slot);
    display = sd;
    sd->dcl.ops = &spice_dcl_ops;
    sd->dcl.opaque = sd;
    sd->dcl.con = NULL;             /* console 0 */
    sd->dcl.update_interval = GUI_REFRESH_NONE;
    /* calls spice_dpy_switch with the current surface: the primary */
    register_displaychangelistener(&sd->dcl);
}
