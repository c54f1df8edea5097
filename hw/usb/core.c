/*
 * USB core: the device state machine (attached, default, address,
 * configured), control transfers stage by stage, the standard requests,
 * and the dispatch of data packets to the device types.
 *
 * Spec: USB 2.0 chapter 9 (9.1 device states, 9.3 requests, 9.4 standard
 * requests), 8.5.3 (control transfers: setup, data, status stages).
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"

#define SETUP_STATE_IDLE        0
#define SETUP_STATE_DATA_IN     1   /* device-to-host data stage */
#define SETUP_STATE_DATA_OUT    2   /* host-to-device data stage */
#define SETUP_STATE_ACK         3   /* status stage next */
#define SETUP_STATE_MAX         3

static void usb_run_control(USBDevice *dev, USBPacket *p, int request,
                            int value, int index, int length)
{
    const USBDeviceClass *k = dev->klass;
    uint8_t *data = dev->data_buf;

    p->actual = 0;
    p->status = USB_RET_SUCCESS;
    switch (request) {
    case DeviceOutRequest | USB_REQ_SET_ADDRESS:
        if (value > 127) {
            p->status = USB_RET_STALL;
            return;
        }
        /* applied after the status stage (9.4.6): usb_do_control_in */
        return;
    }
    if (k->control_passthrough) {
        /* the real device answers; the core keeps its own view of the
         * configuration for the controllers */
        if (!k->handle_control) {
            p->status = USB_RET_STALL;
            return;
        }
        k->handle_control(dev, p, request, value, index, length, data);
        if (p->status == USB_RET_SUCCESS &&
            request == (DeviceOutRequest | USB_REQ_SET_CONFIGURATION)) {
            dev->config = value;
            dev->state = value ? USB_STATE_CONFIGURED : USB_STATE_ADDRESS;
        }
        return;
    }
    switch (request) {
    case DeviceRequest | USB_REQ_GET_STATUS:
        data[0] = (dev->remote_wakeup ? 2 : 0) |
            ((usb_desc_for_speed(dev->desc, dev->speed)->bmAttributes &
              0x40) ? 1 : 0);
        data[1] = 0;
        p->actual = MIN(2, length);
        return;
    case DeviceOutRequest | USB_REQ_CLEAR_FEATURE:
    case DeviceOutRequest | USB_REQ_SET_FEATURE:
        if (value == USB_DEVICE_REMOTE_WAKEUP) {
            dev->remote_wakeup = (request & 0xff) == USB_REQ_SET_FEATURE;
            return;
        }
        /* U1/U2 enables and test modes: accepted, nothing to do */
        return;
    case DeviceRequest | USB_REQ_GET_CONFIGURATION:
        data[0] = dev->config;
        p->actual = MIN(1, length);
        return;
    case DeviceOutRequest | USB_REQ_SET_CONFIGURATION:
        if (value > 1 || dev->state < USB_STATE_ADDRESS) {
            p->status = USB_RET_STALL;
            return;
        }
        dev->config = value;
        dev->altsetting = 0;
        dev->ep_halted = 0;
        dev->state = value ? USB_STATE_CONFIGURED : USB_STATE_ADDRESS;
        if (k->set_interface) {
            k->set_interface(dev, 0);
        }
        if (k->set_config) {
            k->set_config(dev, value);
        }
        return;
    case InterfaceRequest | USB_REQ_GET_INTERFACE:
        if (index != 0 || !dev->config) {
            p->status = USB_RET_STALL;
            return;
        }
        data[0] = dev->altsetting;
        p->actual = MIN(1, length);
        return;
    case InterfaceOutRequest | USB_REQ_SET_INTERFACE:
        if (index != 0 || !dev->config ||
            (unsigned)value >= usb_desc_nalt(usb_desc_for_speed(dev->desc,
                                                                dev->speed))) {
            p->status = USB_RET_STALL;
            return;
        }
        /* the endpoints of the setting start afresh (9.4.10) */
        dev->altsetting = value;
        dev->ep_halted = 0;
        if (k->set_interface) {
            k->set_interface(dev, value);
        }
        return;
    case InterfaceRequest | USB_REQ_GET_STATUS:
        data[0] = data[1] = 0;
        p->actual = MIN(2, length);
        return;
    case EndpointRequest | USB_REQ_GET_STATUS:
        data[0] = (dev->ep_halted >> (index & 0x0f)) & 1;
        data[1] = 0;
        p->actual = MIN(2, length);
        return;
    case EndpointOutRequest | USB_REQ_CLEAR_FEATURE:
        if (value == USB_ENDPOINT_HALT) {
            dev->ep_halted &= ~(1u << (index & 0x0f));
        }
        return;
    case EndpointOutRequest | USB_REQ_SET_FEATURE:
        if (value == USB_ENDPOINT_HALT && (index & 0x0f)) {
            dev->ep_halted |= 1u << (index & 0x0f);
        }
        return;
    case DeviceOutRequest | USB_REQ_SET_SEL:
    case DeviceOutRequest | USB_REQ_SET_ISOCH_DELAY:
        return;
    }
    if (usb_desc_handle_control(dev, p, request, value, index, length,
                                data)) {
        return;
    }
    if (k->handle_control) {
        k->handle_control(dev, p, request, value, index, length, data);
        return;
    }
    p->status = USB_RET_STALL;
}

static void usb_do_setup(USBDevice *dev, USBPacket *p)
{
    int request, value, index;

    if (p->len != 8) {
        p->status = USB_RET_STALL;
        return;
    }
    memcpy(dev->setup_buf, p->buf, 8);
    p->actual = 8;
    dev->setup_len = lduw_le_p(dev->setup_buf + 6);
    dev->setup_index = 0;
    if (dev->setup_len > USB_CONTROL_BUF_SIZE) {
        dev->setup_state = SETUP_STATE_IDLE;
        p->status = USB_RET_STALL;
        return;
    }
    request = (dev->setup_buf[0] << 8) | dev->setup_buf[1];
    value = lduw_le_p(dev->setup_buf + 2);
    index = lduw_le_p(dev->setup_buf + 4);
    if (dev->setup_buf[0] & USB_DIR_IN) {
        USBPacket cp = { .pid = USB_TOKEN_IN };
        usb_run_control(dev, &cp, request, value, index, dev->setup_len);
        if (cp.status != USB_RET_SUCCESS) {
            dev->setup_state = SETUP_STATE_IDLE;
            p->status = cp.status;
            return;
        }
        dev->setup_len = MIN(cp.actual, dev->setup_len);
        dev->setup_state = SETUP_STATE_DATA_IN;
    } else if (dev->setup_len == 0) {
        USBPacket cp = { .pid = USB_TOKEN_OUT };
        usb_run_control(dev, &cp, request, value, index, 0);
        if (cp.status != USB_RET_SUCCESS) {
            dev->setup_state = SETUP_STATE_IDLE;
            p->status = cp.status;
            return;
        }
        dev->setup_state = SETUP_STATE_ACK;
    } else {
        dev->setup_state = SETUP_STATE_DATA_OUT;
    }
    p->status = USB_RET_SUCCESS;
}

static void usb_do_control_in(USBDevice *dev, USBPacket *p)
{
    size_t n;

    switch (dev->setup_state) {
    case SETUP_STATE_ACK:           /* status stage of an OUT request */
        dev->setup_state = SETUP_STATE_IDLE;
        p->actual = 0;
        if (dev->setup_buf[0] == 0 &&
            dev->setup_buf[1] == USB_REQ_SET_ADDRESS) {
            /* the device takes its new address only now (USB 2.0
             * 9.4.6), so the status stage still reaches the old one */
            dev->addr = dev->setup_buf[2] & 0x7f;
            dev->state = dev->addr ? USB_STATE_ADDRESS : USB_STATE_DEFAULT;
        }
        return;
    case SETUP_STATE_DATA_IN:
        /* past the end the device answers zero-length packets */
        n = MIN(p->len, (size_t)(dev->setup_len - dev->setup_index));
        memcpy(p->buf, dev->data_buf + dev->setup_index, n);
        dev->setup_index += n;
        p->actual = n;
        return;
    default:
        p->status = USB_RET_STALL;
    }
}

static void usb_do_control_out(USBDevice *dev, USBPacket *p)
{
    size_t n;

    switch (dev->setup_state) {
    case SETUP_STATE_DATA_IN:       /* status stage of an IN request */
    case SETUP_STATE_ACK:
        dev->setup_state = SETUP_STATE_IDLE;
        p->actual = 0;
        return;
    case SETUP_STATE_DATA_OUT: {
        n = MIN(p->len, (size_t)(dev->setup_len - dev->setup_index));
        memcpy(dev->data_buf + dev->setup_index, p->buf, n);
        dev->setup_index += n;
        p->actual = n;
        if (dev->setup_index >= dev->setup_len) {
            USBPacket cp = { .pid = USB_TOKEN_OUT };
            int request = (dev->setup_buf[0] << 8) | dev->setup_buf[1];
            usb_run_control(dev, &cp, request, lduw_le_p(dev->setup_buf + 2),
                            lduw_le_p(dev->setup_buf + 4), dev->setup_len);
            if (cp.status == USB_RET_NAK) {
                /* a pass-through device is still busy: this last data
                 * packet comes again */
                dev->setup_index -= n;
                p->actual = 0;
                p->status = USB_RET_NAK;
                return;
            }
            if (cp.status != USB_RET_SUCCESS) {
                dev->setup_state = SETUP_STATE_IDLE;
                p->status = cp.status;
                return;
            }
            dev->setup_state = SETUP_STATE_ACK;
        }
        return;
    }
    default:
        p->status = USB_RET_STALL;
    }
}

void usb_handle_packet(USBDevice *dev, USBPacket *p)
{
    p->actual = 0;
    p->status = USB_RET_SUCCESS;
    if (!dev || dev->state < USB_STATE_DEFAULT) {
        p->status = USB_RET_NODEV;
        return;
    }
    if (p->ep == 0) {
        switch (p->pid) {
        case USB_TOKEN_SETUP:
            usb_do_setup(dev, p);
            return;
        case USB_TOKEN_IN:
            usb_do_control_in(dev, p);
            return;
        case USB_TOKEN_OUT:
            usb_do_control_out(dev, p);
            return;
        }
        p->status = USB_RET_STALL;
        return;
    }
    if (p->ep >= USB_MAX_ENDPOINTS || dev->state != USB_STATE_CONFIGURED ||
        p->pid == USB_TOKEN_SETUP) {
        p->status = USB_RET_STALL;
        return;
    }
    if (dev->ep_halted & (1u << p->ep)) {
        p->status = USB_RET_STALL;
        return;
    }
    if (!dev->klass->handle_data) {
        p->status = USB_RET_STALL;
        return;
    }
    dev->klass->handle_data(dev, p);
}

void usb_device_reset(USBDevice *dev)
{
    if (!dev || !dev->port) {
        return;
    }
    dev->state = USB_STATE_DEFAULT;
    dev->addr = 0;
    dev->config = 0;
    dev->altsetting = 0;
    dev->remote_wakeup = false;
    dev->ep_halted = 0;
    dev->setup_state = SETUP_STATE_IDLE;
    dev->setup_len = dev->setup_index = 0;
    if (dev->klass->handle_reset) {
        dev->klass->handle_reset(dev);
    }
}

void usb_wakeup_from(USBDevice *hub, USBDevice *dev, unsigned ep,
                     unsigned stream)
{
    if (hub->port && hub->port->ops->wakeup) {
        hub->port->ops->wakeup(hub->port, dev, ep, stream);
    }
}

void usb_wakeup_stream(USBDevice *dev, unsigned ep, unsigned stream)
{
    if (dev->port && dev->port->ops->wakeup) {
        dev->port->ops->wakeup(dev->port, dev, ep, stream);
    }
}

void usb_wakeup(USBDevice *dev, unsigned ep)
{
    usb_wakeup_stream(dev, ep, 0);
}

USBDevice *usb_find_device(USBDevice *dev, uint8_t addr)
{
    if (!dev || dev->state < USB_STATE_DEFAULT) {
        return NULL;
    }
    if (dev->addr == addr) {
        return dev;
    }
    return dev->klass->find_device ? dev->klass->find_device(dev, addr)
                                   : NULL;
}

USBDevice *usb_device_child(USBDevice *dev, unsigned port)
{
    return dev && dev->klass->child ? dev->klass->child(dev, port) : NULL;
}

static int usb_device_post_load(void *opaque, int version_id)
{
    USBDevice *dev = opaque;

    if (dev->setup_state > SETUP_STATE_MAX ||
        dev->setup_len > USB_CONTROL_BUF_SIZE ||
        dev->setup_index > dev->setup_len || dev->addr > 127 ||
        dev->state > USB_STATE_CONFIGURED || dev->config > 1) {
        return -1;
    }
    if (dev->desc && dev->altsetting >=
        usb_desc_nalt(usb_desc_for_speed(dev->desc, dev->speed))) {
        return -1;
    }
    if (!dev->port) {
        dev->state = USB_STATE_NOTATTACHED;
    }
    return 0;
}

const VMStateDescription vmstate_usb_device = {
    .name = "USBDevice",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = usb_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(state, USBDevice),
        VMSTATE_UINT8(addr, USBDevice),
        VMSTATE_UINT8(config, USBDevice),
        VMSTATE_UINT8(altsetting, USBDevice),
        VMSTATE_BOOL(remote_wakeup, USBDevice),
        VMSTATE_UINT16(ep_halted, USBDevice),
        VMSTATE_UINT8_ARRAY(setup_buf, USBDevice, 8),
        VMSTATE_UINT8(setup_state, USBDevice),
        VMSTATE_UINT16(setup_len, USBDevice),
        VMSTATE_UINT16(setup_index, USBDevice),
        VMSTATE_BUFFER(data_buf, USBDevice),
        VMSTATE_END_OF_LIST()
    },
};
