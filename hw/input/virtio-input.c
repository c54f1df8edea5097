/*
 * The virtio-input core: configuration space, event queue and status
 * queue, shared by the HID devices in hw/input/virtio-input-hid.c.
 *
 * Spec: OASIS VIRTIO 1.2, 5.8 "Input Device".  5.8.4: the driver writes
 * select and subsel, the device answers with size and the union (size 0:
 * no such information).  5.8.6: the device fills eventq buffers with one
 * struct virtio_input_event each; the driver sends statusq buffers (LED
 * state, EV_LED) the same way.
 *
 * Events are collected until the report's EV_SYN/SYN_REPORT and then
 * delivered together: as QEMU, a report for which the driver has not
 * posted enough buffers is dropped whole (counted, never queued without
 * bound), so a guest that stops reading input costs nothing.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-input.h"
#include "migration/vmstate.h"

#define VIRTIO_INPUT_QUEUE_SIZE     64
#define EVENT_SIZE                  8

void virtio_input_add_config(VirtIOInput *vi, uint8_t select, uint8_t subsel,
                             const void *data, uint8_t size)
{
    VirtIOInputConfig *c;

    vi->cfg = g_renew(VirtIOInputConfig, vi->cfg, vi->ncfg + 1);
    c = &vi->cfg[vi->ncfg++];
    memset(c, 0, sizeof(*c));
    c->select = select;
    c->subsel = subsel;
    c->size = MIN(size, VIRTIO_INPUT_CFG_PAYLOAD);
    memcpy(c->payload, data, c->size);
}

static const VirtIOInputConfig *find_config(VirtIOInput *vi, uint8_t select,
                                            uint8_t subsel)
{
    for (unsigned i = 0; i < vi->ncfg; i++) {
        if (vi->cfg[i].select == select && vi->cfg[i].subsel == subsel) {
            return &vi->cfg[i];
        }
    }
    return NULL;
}

static void input_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOInput *vi = (VirtIOInput *)vdev;
    const VirtIOInputConfig *c = find_config(vi, vi->select, vi->subsel);

    memset(config, 0, VIRTIO_INPUT_CFG_SIZE);
    config[0] = vi->select;
    config[1] = vi->subsel;
    if (c) {
        config[2] = c->size;
        memcpy(config + 8, c->payload, c->size);
    }
}

static void input_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    VirtIOInput *vi = (VirtIOInput *)vdev;

    /* only select and subsel are the driver's to write */
    vi->select = config[0];
    vi->subsel = config[1];
}

/* Deliver the pending report, or drop it whole if buffers are short. */
static void send_report(VirtIOInput *vi)
{
    VirtQueue *vq = vi->evt_vq;
    unsigned n = vi->npending, ndescs = 0;

    vi->npending = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t ev[EVENT_SIZE];
        size_t len;

        if (!virtqueue_pop(vq, &vi->elem)) {
            virtqueue_rewind_batch(vq, i, ndescs);
            vi->dropped++;
            return;
        }
        stw_le_p(ev, vi->pending[i].type);
        stw_le_p(ev + 2, vi->pending[i].code);
        stl_le_p(ev + 4, vi->pending[i].value);
        len = virtqueue_elem_from_buf(&vi->elem, 0, ev, sizeof(ev));
        virtqueue_fill(vq, &vi->elem, len, i);
        ndescs += vi->elem.ndescs;
    }
    virtqueue_flush(vq, n);
    virtio_notify(&vi->vdev, vq);
}

void virtio_input_send(VirtIOInput *vi, uint16_t type, uint16_t code,
                       uint32_t value)
{
    if (!(vi->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) || vi->vdev.broken) {
        vi->npending = 0;
        return;
    }
    if (vi->npending == VIRTIO_INPUT_MAX_PENDING) {
        /* a report longer than any device here makes: drop it */
        vi->npending = 0;
        vi->dropped++;
        return;
    }
    vi->pending[vi->npending++] = (VirtIOInputEvent){ type, code, value };
    if (type == EV_SYN && code == SYN_REPORT) {
        send_report(vi);
    }
}

/* Buffers posted on the event queue need nothing until an event comes. */
static void input_handle_evt(VirtIODevice *vdev, VirtQueue *vq)
{
}

static void input_handle_sts(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOInput *vi = (VirtIOInput *)vdev;
    bool pushed = false;

    while (virtqueue_pop(vq, &vi->elem)) {
        uint8_t ev[EVENT_SIZE];

        if (virtqueue_elem_to_buf(&vi->elem, 0, ev, sizeof(ev)) ==
            sizeof(ev) && vi->status) {
            VirtIOInputEvent e = { lduw_le_p(ev), lduw_le_p(ev + 2),
                                   ldl_le_p(ev + 4) };
            vi->status(vi, &e);
        }
        virtqueue_push(vq, &vi->elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

static void input_reset(VirtIODevice *vdev)
{
    VirtIOInput *vi = (VirtIOInput *)vdev;

    vi->select = vi->subsel = 0;
    vi->npending = 0;
    vi->ledstate = 0;
}

bool virtio_input_realize(VirtIOInput *vi, GError **errp)
{
    if (vi->serial) {
        virtio_input_add_config(vi, VIRTIO_INPUT_CFG_ID_SERIAL, 0, vi->serial,
                                MIN(strlen(vi->serial),
                                    VIRTIO_INPUT_CFG_PAYLOAD));
    }
    vi->evt_vq = virtio_add_queue(&vi->vdev, VIRTIO_INPUT_QUEUE_SIZE,
                                  input_handle_evt);
    vi->sts_vq = virtio_add_queue(&vi->vdev, VIRTIO_INPUT_QUEUE_SIZE,
                                  input_handle_sts);
    return true;
}

void virtio_input_unrealize(VirtIOInput *vi)
{
    g_clear_pointer(&vi->cfg, g_free);
    vi->ncfg = 0;
}

const VirtioDeviceClass virtio_input_vdc = {
    .device_id = VIRTIO_ID_INPUT,
    .pci_class_id = 0x0980,     /* input device, other (as QEMU) */
    .config_size = VIRTIO_INPUT_CFG_SIZE,
    .get_config = input_get_config,
    .set_config = input_set_config,
    .reset = input_reset,
};

/* Pending events are not state: a report is sent or dropped at once. */
const VMStateDescription vmstate_virtio_input = {
    .name = "virtio-input",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(vdev, VirtIOInput, vmstate_virtio_core, VirtIODevice),
        VMSTATE_UINT8(select, VirtIOInput),
        VMSTATE_UINT8(subsel, VirtIOInput),
        VMSTATE_UINT32(ledstate, VirtIOInput),
        VMSTATE_END_OF_LIST()
    },
};
