/*
 * virtio-gpu: the 2D paravirtual display (hw/display/virtio-gpu.c), shared
 * by virtio-gpu-pci and virtio-vga (hw/display/virtio-vga.c).
 *
 * Spec: OASIS VIRTIO 1.2, 5.7 "GPU Device": device ID 16, controlq 0 and
 * cursorq 1, struct virtio_gpu_config (events_read, events_clear,
 * num_scanouts, num_capsets), the control header, the 2D commands and
 * their responses (5.7.6.7, 5.7.6.8), the pixel formats (enum
 * virtio_gpu_formats) and the cursor commands (5.7.6.10).  Names below are
 * the spec's.  Only the 2D subset is modelled (no VIRGL, blob resources,
 * UUIDs or contexts), as QEMU's virtio-gpu without virgl.
 */
#ifndef HW_VIRTIO_VIRTIO_GPU_H
#define HW_VIRTIO_VIRTIO_GPU_H
#include "qemu/osdep.h"
#include <pixman.h>
#include "hw/virtio/virtio.h"
#include "ui/console.h"
#include "migration/migration.h"

#define VIRTIO_ID_GPU                   16

/* Feature bits (5.7.3). */
#define VIRTIO_GPU_F_VIRGL              0
#define VIRTIO_GPU_F_EDID               1
#define VIRTIO_GPU_F_RESOURCE_UUID      2
#define VIRTIO_GPU_F_RESOURCE_BLOB      3
#define VIRTIO_GPU_F_CONTEXT_INIT       4

/* Device configuration layout (5.7.4). */
#define VIRTIO_GPU_CFG_EVENTS_READ      0
#define VIRTIO_GPU_CFG_EVENTS_CLEAR     4
#define VIRTIO_GPU_CFG_NUM_SCANOUTS     8
#define VIRTIO_GPU_CFG_NUM_CAPSETS      12
#define VIRTIO_GPU_CFG_SIZE             16
#define VIRTIO_GPU_EVENT_DISPLAY        (1u << 0)

/* enum virtio_gpu_ctrl_type (5.7.6.7). */
#define VIRTIO_GPU_CMD_GET_DISPLAY_INFO         0x0100
#define VIRTIO_GPU_CMD_RESOURCE_CREATE_2D       0x0101
#define VIRTIO_GPU_CMD_RESOURCE_UNREF           0x0102
#define VIRTIO_GPU_CMD_SET_SCANOUT              0x0103
#define VIRTIO_GPU_CMD_RESOURCE_FLUSH           0x0104
#define VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D      0x0105
#define VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING  0x0106
#define VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING  0x0107
#define VIRTIO_GPU_CMD_GET_CAPSET_INFO          0x0108
#define VIRTIO_GPU_CMD_GET_CAPSET               0x0109
#define VIRTIO_GPU_CMD_GET_EDID                 0x010a
#define VIRTIO_GPU_CMD_UPDATE_CURSOR            0x0300
#define VIRTIO_GPU_CMD_MOVE_CURSOR              0x0301
#define VIRTIO_GPU_RESP_OK_NODATA               0x1100
#define VIRTIO_GPU_RESP_OK_DISPLAY_INFO         0x1101
#define VIRTIO_GPU_RESP_OK_CAPSET_INFO          0x1102
#define VIRTIO_GPU_RESP_OK_CAPSET               0x1103
#define VIRTIO_GPU_RESP_OK_EDID                 0x1104
#define VIRTIO_GPU_RESP_ERR_UNSPEC              0x1200
#define VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY       0x1201
#define VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID  0x1202
#define VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID 0x1203
#define VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID  0x1204
#define VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER   0x1205

/* struct virtio_gpu_ctrl_hdr flags */
#define VIRTIO_GPU_FLAG_FENCE           (1u << 0)
#define VIRTIO_GPU_FLAG_INFO_RING_IDX   (1u << 1)

/* enum virtio_gpu_formats (5.7.6.8) */
#define VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM 1
#define VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM 2
#define VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM 3
#define VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM 4
#define VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM 67
#define VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM 68
#define VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM 121
#define VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM 134

#define VIRTIO_GPU_MAX_SCANOUTS         16
#define VIRTIO_GPU_CTRL_HDR_SIZE        24
#define VIRTIO_GPU_EDID_BLOB_SIZE       1024
#define VIRTIO_GPU_CURSOR_SIZE          64
/* Entries one RESOURCE_ATTACH_BACKING may carry (QEMU's limit). */
#define VIRTIO_GPU_MAX_MEM_ENTRIES      16384

typedef struct VirtIOGPUResource VirtIOGPUResource;

typedef struct VirtIOGPUScanout {
    struct VirtIOGPU *gpu;
    unsigned head;
    bool invalidated;               /* report the whole screen next update */
    QemuConsole *con;
    uint32_t resource_id;           /* 0: disabled */
    uint32_t x, y, width, height;   /* the shown rectangle of the resource */
    /* cursor (cursorq) */
    uint32_t cursor_resource_id;
    uint32_t cursor_hot_x, cursor_hot_y;
    int32_t cursor_x, cursor_y;
    QEMUCursor *cursor;             /* the image given to the console */
} VirtIOGPUScanout;

typedef struct VirtIOGPU {
    VirtIODevice vdev;              /* first */
    VirtQueue *ctrl_vq, *cursor_vq;

    /* properties */
    uint32_t max_outputs;
    uint32_t xres, yres;
    bool edid;
    uint64_t max_hostmem;

    uint32_t events_read;           /* config events_read */
    uint32_t enabled_outputs;       /* bit per head reported enabled */
    /* per head: the size GET_DISPLAY_INFO/GET_EDID report (xres/yres at
     * first; a front end's ui_info changes it) */
    uint32_t req_width[VIRTIO_GPU_MAX_SCANOUTS];
    uint32_t req_height[VIRTIO_GPU_MAX_SCANOUTS];
    GHashTable *resources;          /* id -> VirtIOGPUResource */
    uint64_t hostmem;               /* bytes of resource images */
    VirtIOGPUScanout scanout[VIRTIO_GPU_MAX_SCANOUTS];
    bool scanout0_driven;           /* virtio-vga: the driver took over */
    /* virtio-vga: called when scanout0_driven changes */
    void (*scanout0_changed)(void *opaque, bool driven);
    void *scanout0_opaque;

    MigrationStateHandler mig;      /* the resources' migration */
    char *mig_name;

    VirtQueueElement elem;          /* one request at a time */
} VirtIOGPU;

/*
 * Realize the GPU core inside a virtio-pci proxy: queues, consoles for
 * heads 1.. (head 0's console is @con0 when the caller made it, else a
 * new one).
 */
bool virtio_gpu_core_realize(VirtIOGPU *g, DeviceState *dev,
                             QemuConsole *con0, GError **errp);
void virtio_gpu_core_unrealize(VirtIOGPU *g);
/* Console hooks of head 0 (virtio-vga wraps them). */
void virtio_gpu_gfx_update(void *opaque);
void virtio_gpu_invalidate(void *opaque);
/*
 * GraphicHwOps.ui_info of a head (@opaque: its VirtIOGPUScanout): a front
 * end asks for a size; the display info changes and the guest gets
 * VIRTIO_GPU_EVENT_DISPLAY, as QEMU's virtio_gpu_ui_info.
 */
void virtio_gpu_ui_info(void *opaque, unsigned head, const QemuUIInfo *info);
/* Raise VIRTIO_GPU_EVENT_DISPLAY (the host's display layout changed). */
void virtio_gpu_notify_display_change(VirtIOGPU *g);

extern const VirtioDeviceClass virtio_gpu_vdc;
extern const VMStateDescription vmstate_virtio_gpu;

#endif
