/*
 * usb-hub: a full-speed USB 1.1 hub with 8 downstream ports, as QEMU
 * 7.2's (0409:55aa, "QEMU USB Hub"), with per-port power switching.
 *
 * Spec: USB 2.0 chapter 11: 11.23.2.1 the hub descriptor, 11.24.2 hub
 * class requests (GET_STATUS, CLEAR_FEATURE, SET_FEATURE for the hub and
 * its ports), 11.24.2.7 port status and change bits, 11.12.4 the status
 * change endpoint.
 *
 * The downstream ports are ports of the hub's USB bus, named "P.N" after
 * the hub's own port P (`-device usb-tablet,bus=usb-bus.0,port=1.2`).
 * Packets reach a device behind the hub when the controller finds it by
 * address (usb_find_device, through enabled ports only) or by route
 * string (xHCI, usb_device_child); the wakeups of such a device travel up
 * to the controller.  Changes on a port set its change bits and wake the
 * status change endpoint (EP1 IN), which returns the bitmap or NAKs.
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"

#define HUB_NUM_PORTS   8

#define PORT_STAT_CONNECTION    0x0001
#define PORT_STAT_ENABLE        0x0002
#define PORT_STAT_SUSPEND       0x0004
#define PORT_STAT_OVERCURRENT   0x0008
#define PORT_STAT_RESET         0x0010
#define PORT_STAT_POWER         0x0100
#define PORT_STAT_LOW_SPEED     0x0200

#define PORT_STAT_C_CONNECTION  0x0001
#define PORT_STAT_C_ENABLE      0x0002
#define PORT_STAT_C_SUSPEND     0x0004
#define PORT_STAT_C_OVERCURRENT 0x0008
#define PORT_STAT_C_RESET       0x0010

#define PORT_CONNECTION         0
#define PORT_ENABLE             1
#define PORT_SUSPEND            2
#define PORT_OVERCURRENT        3
#define PORT_RESET              4
#define PORT_POWER              8
#define PORT_LOWSPEED           9
#define C_PORT_CONNECTION       16
#define C_PORT_ENABLE           17
#define C_PORT_SUSPEND          18
#define C_PORT_OVERCURRENT      19
#define C_PORT_RESET            20
#define PORT_TEST               21
#define PORT_INDICATOR          22

/* hub class requests (bmRequestType << 8 | bRequest) */
#define GetHubStatus        (0xa000 | USB_REQ_GET_STATUS)
#define GetPortStatus       (0xa300 | USB_REQ_GET_STATUS)
#define ClearHubFeature     (0x2000 | USB_REQ_CLEAR_FEATURE)
#define ClearPortFeature    (0x2300 | USB_REQ_CLEAR_FEATURE)
#define SetHubFeature       (0x2000 | USB_REQ_SET_FEATURE)
#define SetPortFeature      (0x2300 | USB_REQ_SET_FEATURE)
#define GetHubDescriptor    (0xa000 | USB_REQ_GET_DESCRIPTOR)
#define USB_DT_HUB          0x29

typedef struct USBHubPort {
    USBPort port;
    uint16_t status;
    uint16_t change;
} USBHubPort;

typedef struct USBHubState {
    USBDevice dev;
    USBHubPort ports[HUB_NUM_PORTS];
    bool ports_registered;
} USBHubState;

static const char *const hub_strings[] = {
    "QEMU", "QEMU USB Hub", "314159", NULL,
};
static const USBDescEndpoint hub_ep = {
    USB_DIR_IN | 1, USB_ENDPOINT_XFER_INT, 1 + HUB_NUM_PORTS / 8, 0xff, 0,
};
static const USBDescIface hub_iface = { 9, 0, 0, NULL, 0, 1, &hub_ep };
static const USBDescDevice hub_full = { 0x0110, 8, 0, 0xe0, 0, &hub_iface,
                                        9 };
static const USBDesc hub_desc = {
    0x0409, 0x55aa, 0x0101, 1, 2, 3, &hub_full, NULL, NULL, hub_strings,
};

static void hub_changed(USBHubState *s)
{
    usb_wakeup(&s->dev, 1);
}

/* ---- downstream ports ------------------------------------------------ */

static void hub_attach(USBPort *port)
{
    USBHubState *s = port->opaque;
    USBHubPort *p = &s->ports[port->index];

    p->status |= PORT_STAT_CONNECTION;
    p->change |= PORT_STAT_C_CONNECTION;
    if (port->dev->speed == USB_SPEED_LOW) {
        p->status |= PORT_STAT_LOW_SPEED;
    } else {
        p->status &= ~PORT_STAT_LOW_SPEED;
    }
    hub_changed(s);
}

static void hub_detach(USBPort *port)
{
    USBHubState *s = port->opaque;
    USBHubPort *p = &s->ports[port->index];

    p->status &= ~(PORT_STAT_CONNECTION | PORT_STAT_LOW_SPEED);
    p->change |= PORT_STAT_C_CONNECTION;
    if (p->status & PORT_STAT_ENABLE) {
        p->status &= ~PORT_STAT_ENABLE;
        p->change |= PORT_STAT_C_ENABLE;
    }
    hub_changed(s);
}

static void hub_wakeup(USBPort *port, USBDevice *dev, unsigned ep,
                       unsigned stream)
{
    USBHubState *s = port->opaque;
    USBHubPort *p = &s->ports[port->index];

    if (p->status & PORT_STAT_SUSPEND) {
        /* remote wakeup resumes the port */
        p->status &= ~PORT_STAT_SUSPEND;
        p->change |= PORT_STAT_C_SUSPEND;
        hub_changed(s);
        return;
    }
    usb_wakeup_from(&s->dev, dev, ep, stream);
}

static const USBPortOps hub_port_ops = {
    .attach = hub_attach,
    .detach = hub_detach,
    .wakeup = hub_wakeup,
};

/* ---- the hub device -------------------------------------------------- */

static USBDevice *hub_find_device(USBDevice *dev, uint8_t addr)
{
    USBHubState *s = (USBHubState *)dev;

    for (unsigned i = 0; i < HUB_NUM_PORTS; i++) {
        USBHubPort *p = &s->ports[i];
        USBDevice *d;

        if ((p->status & PORT_STAT_ENABLE) &&
            (d = usb_find_device(p->port.dev, addr))) {
            return d;
        }
    }
    return NULL;
}

static USBDevice *hub_child(USBDevice *dev, unsigned port)
{
    USBHubState *s = (USBHubState *)dev;

    if (port < 1 || port > HUB_NUM_PORTS ||
        !(s->ports[port - 1].status & PORT_STAT_ENABLE)) {
        return NULL;
    }
    return s->ports[port - 1].port.dev;
}

static void hub_port_reset(USBHubState *s, USBHubPort *p)
{
    if (!p->port.dev) {
        return;
    }
    usb_device_reset(p->port.dev);
    p->status |= PORT_STAT_ENABLE;
    p->change |= PORT_STAT_C_RESET;
    hub_changed(s);
}

static void hub_handle_control(USBDevice *dev, USBPacket *p, int request,
                               int value, int index, int length,
                               uint8_t *data)
{
    USBHubState *s = (USBHubState *)dev;
    unsigned n = (index & 0xff) - 1;
    USBHubPort *port = n < HUB_NUM_PORTS ? &s->ports[n] : NULL;

    switch (request) {
    case GetHubStatus:
        memset(data, 0, 4);
        p->actual = MIN(4, length);
        return;
    case GetPortStatus:
        if (!port) {
            break;
        }
        stw_le_p(data, port->status);
        stw_le_p(data + 2, port->change);
        p->actual = MIN(4, length);
        return;
    case SetHubFeature:
    case ClearHubFeature:
        if (value != 0 && value != 1) {     /* C_HUB_LOCAL_POWER, _OVER_CURRENT */
            break;
        }
        return;
    case SetPortFeature:
        if (!port) {
            break;
        }
        switch (value) {
        case PORT_SUSPEND:
            port->status |= PORT_STAT_SUSPEND;
            return;
        case PORT_RESET:
            hub_port_reset(s, port);
            return;
        case PORT_POWER:
            port->status |= PORT_STAT_POWER;
            return;
        case PORT_TEST:
        case PORT_INDICATOR:
            return;
        }
        break;
    case ClearPortFeature:
        if (!port) {
            break;
        }
        switch (value) {
        case PORT_ENABLE:
            port->status &= ~PORT_STAT_ENABLE;
            return;
        case PORT_SUSPEND:
            port->status &= ~PORT_STAT_SUSPEND;
            return;
        case PORT_POWER:
            /* powering off disconnects what is behind it, for the host */
            port->status &= ~(PORT_STAT_POWER | PORT_STAT_ENABLE);
            return;
        case C_PORT_CONNECTION:
            port->change &= ~PORT_STAT_C_CONNECTION;
            return;
        case C_PORT_ENABLE:
            port->change &= ~PORT_STAT_C_ENABLE;
            return;
        case C_PORT_SUSPEND:
            port->change &= ~PORT_STAT_C_SUSPEND;
            return;
        case C_PORT_OVERCURRENT:
            port->change &= ~PORT_STAT_C_OVERCURRENT;
            return;
        case C_PORT_RESET:
            port->change &= ~PORT_STAT_C_RESET;
            return;
        case PORT_INDICATOR:
            return;
        }
        break;
    case GetHubDescriptor: {
        unsigned bytes = (HUB_NUM_PORTS + 1 + 7) / 8, len;

        if ((value >> 8) != USB_DT_HUB) {
            break;
        }
        data[0] = len = 7 + 2 * bytes;
        data[1] = USB_DT_HUB;
        data[2] = HUB_NUM_PORTS;
        data[3] = 0x0a;         /* per-port power and over-current */
        data[4] = 0x00;
        data[5] = 0x01;         /* bPwrOn2PwrGood: 2 ms */
        data[6] = 0;
        memset(data + 7, 0, bytes);             /* all removable */
        memset(data + 7 + bytes, 0xff, bytes);  /* PortPwrCtrlMask */
        p->actual = MIN(len, (unsigned)length);
        return;
    }
    }
    p->status = USB_RET_STALL;
}

static void hub_handle_data(USBDevice *dev, USBPacket *p)
{
    USBHubState *s = (USBHubState *)dev;
    unsigned bytes = (HUB_NUM_PORTS + 1 + 7) / 8;
    uint32_t map = 0;

    if (p->pid != USB_TOKEN_IN || p->ep != 1) {
        p->status = USB_RET_STALL;
        return;
    }
    for (unsigned i = 0; i < HUB_NUM_PORTS; i++) {
        if (s->ports[i].change) {
            map |= 1u << (i + 1);
        }
    }
    if (!map) {
        p->status = USB_RET_NAK;
        return;
    }
    bytes = MIN(bytes, p->len);
    for (unsigned i = 0; i < bytes; i++) {
        p->buf[i] = map >> (8 * i);
    }
    p->actual = bytes;
}

static void hub_handle_reset(USBDevice *dev)
{
    USBHubState *s = (USBHubState *)dev;

    for (unsigned i = 0; i < HUB_NUM_PORTS; i++) {
        USBHubPort *p = &s->ports[i];
        p->status = PORT_STAT_POWER;
        p->change = 0;
        if (p->port.dev) {
            p->status |= PORT_STAT_CONNECTION;
            p->change |= PORT_STAT_C_CONNECTION;
            if (p->port.dev->speed == USB_SPEED_LOW) {
                p->status |= PORT_STAT_LOW_SPEED;
            }
        }
    }
}

static bool hub_realize(DeviceState *d, GError **errp)
{
    USBHubState *s = (USBHubState *)d;
    USBBus *bus = s->dev.port->bus;
    const char *up = s->dev.port->path;
    unsigned tiers = 0;

    for (const char *c = up; *c; c++) {
        tiers += *c == '.';
    }
    if (tiers >= 4) {
        /* USB allows five tiers below the root hub (route strings too) */
        error_setg(errp, "usb-hub: hubs nested too deep (port %s)", up);
        return false;
    }
    for (unsigned i = 0; i < HUB_NUM_PORTS; i++) {
        USBHubPort *p = &s->ports[i];
        char path[32];

        usb_register_port(bus, &p->port, s, i, &hub_port_ops,
                          USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL);
        snprintf(path, sizeof(path), "%s.%u", up, i + 1);
        g_strlcpy(p->port.path, path, sizeof(p->port.path));
        p->status = PORT_STAT_POWER;
    }
    s->ports_registered = true;
    return true;
}

static void hub_unrealize(DeviceState *d)
{
    USBHubState *s = (USBHubState *)d;
    USBBus *bus;

    if (!s->ports_registered) {
        return;
    }
    bus = s->ports[0].port.bus;
    for (unsigned i = 0; i < HUB_NUM_PORTS; i++) {
        USBHubPort *p = &s->ports[i];
        if (p->port.dev) {
            device_destroy(DEVICE(p->port.dev));
        }
        if (bus && bus->ports) {
            g_ptr_array_remove(bus->ports, &p->port);
        }
    }
    s->ports_registered = false;
}

static int hub_post_load(void *opaque, int version_id)
{
    USBHubState *s = opaque;

    for (unsigned i = 0; i < HUB_NUM_PORTS; i++) {
        USBHubPort *p = &s->ports[i];
        p->status = (p->status & ~PORT_STAT_CONNECTION) |
                    (p->port.dev ? PORT_STAT_CONNECTION : 0);
        if (!p->port.dev) {
            p->status &= ~PORT_STAT_ENABLE;
        }
    }
    return 0;
}

static const VMStateDescription vmstate_hub_port = {
    .name = "usb-hub-port", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(status, USBHubPort),
        VMSTATE_UINT16(change, USBHubPort),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_hub = {
    .name = "usb-hub",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = hub_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(ports, USBHubState, HUB_NUM_PORTS,
                             vmstate_hub_port, USBHubPort),
        VMSTATE_END_OF_LIST()
    },
};

static const USBDeviceClass hub_class = {
    .product_desc = "QEMU USB Hub",
    .desc = &hub_desc,
    .handle_reset = hub_handle_reset,
    .handle_control = hub_handle_control,
    .handle_data = hub_handle_data,
    .find_device = hub_find_device,
    .child = hub_child,
};

static const DeviceType hub_type = {
    .name = "usb-hub",
    .parent = TYPE_USB_DEVICE,
    .desc = "QEMU USB Hub",
    .instance_size = sizeof(USBHubState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_BRIDGE,
    .realize = hub_realize,
    .unrealize = hub_unrealize,
    .vmsd = &vmstate_hub,
    .class_data = &hub_class,
};

static void hub_register_types(void)
{
    device_type_register(&hub_type);
}
type_init(hub_register_types)
