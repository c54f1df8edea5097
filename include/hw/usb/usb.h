/*
 * The USB core: devices, ports, buses and packets, shared by the host
 * controllers (hw/usb/hcd-*.c) and the devices (hw/usb/dev-*.c).
 *
 * Spec: Universal Serial Bus Specification 2.0, chapter 9 (device
 * framework: states, standard requests, descriptors; 9.4.10 SET_INTERFACE
 * and alternate settings); USB 3.2 9.6.2 (BOS), 9.6.7 (SuperSpeed
 * endpoint companion: MaxStreams), 8.12.1.4 (bulk streams).
 *
 * A controller registers a USBBus and its ports; a device ("usb-device"
 * derived type) realizes onto a free port of a bus whose speeds it
 * matches (bus= and port= pick one).  Traffic is packets: the controller
 * fills a USBPacket (token, endpoint, a buffer it owns) and calls
 * usb_handle_packet(); the device answers at once with a status.  A
 * device with nothing to send or no room yet answers USB_RET_NAK and
 * later calls usb_wakeup() for that endpoint, which asks the controller
 * to retry (xHCI re-runs the endpoint's ring; UHCI retries every frame
 * anyway).  No packet stays in flight inside a device, so there is
 * nothing to cancel on reset or unplug.
 *
 * Bulk streams (SuperSpeed, xHCI only): a packet of a stream carries its
 * Stream ID (USBPacket.stream, 0 for none); a device wakes one stream
 * with usb_wakeup_stream(), or all of an endpoint's with usb_wakeup().
 *
 * Control transfers travel as their stages: a SETUP packet (8 bytes),
 * data IN/OUT packets, and the status packet in the other direction;
 * the core runs the request state machine and the standard requests, and
 * hands the others to the device type's handle_control.
 *
 * All functions run with the big lock held.
 */
#ifndef HW_USB_USB_H
#define HW_USB_USB_H
#include "qemu/osdep.h"
#include "hw/qdev.h"

#define TYPE_USB_DEVICE         "usb-device"

/* Speeds and masks */
#define USB_SPEED_LOW           0
#define USB_SPEED_FULL          1
#define USB_SPEED_HIGH          2
#define USB_SPEED_SUPER         3
#define USB_SPEED_MASK_LOW      (1 << USB_SPEED_LOW)
#define USB_SPEED_MASK_FULL     (1 << USB_SPEED_FULL)
#define USB_SPEED_MASK_HIGH     (1 << USB_SPEED_HIGH)
#define USB_SPEED_MASK_SUPER    (1 << USB_SPEED_SUPER)

/* Tokens (PIDs as UHCI writes them) */
#define USB_TOKEN_SETUP         0x2d
#define USB_TOKEN_IN            0x69
#define USB_TOKEN_OUT           0xe1

/* Packet results */
#define USB_RET_SUCCESS         0
#define USB_RET_NODEV           (-1)
#define USB_RET_NAK             (-2)
#define USB_RET_STALL           (-3)
#define USB_RET_BABBLE          (-4)
#define USB_RET_IOERROR         (-5)

/* Device states (USB 2.0 9.1.1) */
#define USB_STATE_NOTATTACHED   0
#define USB_STATE_ATTACHED      1
#define USB_STATE_DEFAULT       2
#define USB_STATE_ADDRESS       3
#define USB_STATE_CONFIGURED    4

/* bmRequestType, bRequest (USB 2.0 9.3, 9.4) */
#define USB_DIR_OUT             0x00
#define USB_DIR_IN              0x80
#define USB_TYPE_MASK           (0x03 << 5)
#define USB_TYPE_STANDARD       (0x00 << 5)
#define USB_TYPE_CLASS          (0x01 << 5)
#define USB_TYPE_VENDOR         (0x02 << 5)
#define USB_RECIP_MASK          0x1f
#define USB_RECIP_DEVICE        0x00
#define USB_RECIP_INTERFACE     0x01
#define USB_RECIP_ENDPOINT      0x02
/* request codes combined as (bmRequestType << 8) | bRequest */
#define DeviceRequest           ((USB_DIR_IN | USB_TYPE_STANDARD | USB_RECIP_DEVICE) << 8)
#define DeviceOutRequest        ((USB_DIR_OUT | USB_TYPE_STANDARD | USB_RECIP_DEVICE) << 8)
#define InterfaceRequest        ((USB_DIR_IN | USB_TYPE_STANDARD | USB_RECIP_INTERFACE) << 8)
#define InterfaceOutRequest     ((USB_DIR_OUT | USB_TYPE_STANDARD | USB_RECIP_INTERFACE) << 8)
#define EndpointRequest         ((USB_DIR_IN | USB_TYPE_STANDARD | USB_RECIP_ENDPOINT) << 8)
#define EndpointOutRequest      ((USB_DIR_OUT | USB_TYPE_STANDARD | USB_RECIP_ENDPOINT) << 8)
#define ClassInterfaceRequest   ((USB_DIR_IN | USB_TYPE_CLASS | USB_RECIP_INTERFACE) << 8)
#define ClassInterfaceOutRequest ((USB_DIR_OUT | USB_TYPE_CLASS | USB_RECIP_INTERFACE) << 8)

#define USB_REQ_GET_STATUS      0x00
#define USB_REQ_CLEAR_FEATURE   0x01
#define USB_REQ_SET_FEATURE     0x03
#define USB_REQ_SET_ADDRESS     0x05
#define USB_REQ_GET_DESCRIPTOR  0x06
#define USB_REQ_SET_DESCRIPTOR  0x07
#define USB_REQ_GET_CONFIGURATION 0x08
#define USB_REQ_SET_CONFIGURATION 0x09
#define USB_REQ_GET_INTERFACE   0x0a
#define USB_REQ_SET_INTERFACE   0x0b
#define USB_REQ_SET_SEL         0x30
#define USB_REQ_SET_ISOCH_DELAY 0x31

#define USB_DEVICE_REMOTE_WAKEUP 1
#define USB_ENDPOINT_HALT       0

/* Descriptor types */
#define USB_DT_DEVICE           0x01
#define USB_DT_CONFIG           0x02
#define USB_DT_STRING           0x03
#define USB_DT_INTERFACE        0x04
#define USB_DT_ENDPOINT         0x05
#define USB_DT_DEVICE_QUALIFIER 0x06
#define USB_DT_OTHER_SPEED_CONFIG 0x07
#define USB_DT_BOS              0x0f
#define USB_DT_DEVICE_CAPABILITY 0x10
#define USB_DT_ENDPOINT_COMPANION 0x30

#define USB_ENDPOINT_XFER_CONTROL 0
#define USB_ENDPOINT_XFER_ISOC  1
#define USB_ENDPOINT_XFER_BULK  2
#define USB_ENDPOINT_XFER_INT   3

#define USB_MAX_ENDPOINTS       16
/* The largest control data stage a device takes (QEMU's limit too). */
#define USB_CONTROL_BUF_SIZE    4096

typedef struct USBDevice USBDevice;
typedef struct USBPort USBPort;
typedef struct USBBus USBBus;

typedef struct USBPacket {
    int pid;                    /* USB_TOKEN_* */
    uint8_t ep;                 /* endpoint number 0-15 */
    uint8_t *buf;               /* the controller's buffer */
    size_t len;                 /* bytes asked for (IN) or given (OUT) */
    size_t actual;              /* bytes moved */
    int status;                 /* USB_RET_* */
    uint16_t stream;            /* bulk Stream ID (SuperSpeed); 0: none */
} USBPacket;

/* ---- descriptors (hw/usb/desc.c) ---------------------------------- */

typedef struct USBDescEndpoint {
    uint8_t bEndpointAddress;
    uint8_t bmAttributes;
    uint16_t wMaxPacketSize;
    uint8_t bInterval;
    uint8_t bMaxBurst;          /* SuperSpeed companion (super only) */
    uint8_t bmAttributes_super; /* companion bmAttributes: bulk MaxStreams */
    /* class descriptors after the endpoint (and its companion) */
    const uint8_t *extra;
    uint8_t extra_len;
} USBDescEndpoint;

typedef struct USBDescIface {
    uint8_t bInterfaceClass, bInterfaceSubClass, bInterfaceProtocol;
    const uint8_t *extra;       /* class descriptors after the interface */
    uint8_t extra_len;
    uint8_t nep;
    const USBDescEndpoint *eps;
} USBDescIface;

/* One configuration with one interface (interface 0), which may have
 * alternate settings: iface[0..nalt) (nalt 0 means one). */
typedef struct USBDescDevice {
    uint16_t bcdUSB;
    uint8_t bMaxPacketSize0;
    uint8_t iConfiguration;
    uint8_t bmAttributes;
    uint8_t bMaxPower;
    const USBDescIface *iface;
    uint8_t bDeviceClass;       /* 0: per interface; 9: hub */
    uint8_t nalt;               /* alternate settings of the interface */
} USBDescDevice;

typedef struct USBDesc {
    uint16_t idVendor, idProduct, bcdDevice;
    uint8_t iManufacturer, iProduct, iSerialNumber;
    const USBDescDevice *full, *high, *super;
    const char *const *str;     /* index 1.. ; NULL-terminated */
} USBDesc;

/* ---- device types -------------------------------------------------- */

/* Given through DeviceType.class_data of each usb-device type. */
typedef struct USBDeviceClass {
    const char *product_desc;   /* info usb */
    /* what the device speaks (picked with usb_device_set_desc if it varies) */
    const USBDesc *desc;
    void (*handle_reset)(USBDevice *dev);
    /* A class/vendor request (or a standard one the core left): fill
     * @data (USB_CONTROL_BUF_SIZE) and p->actual for IN, or set
     * p->status = USB_RET_STALL. */
    void (*handle_control)(USBDevice *dev, USBPacket *p, int request,
                           int value, int index, int length, uint8_t *data);
    /* Non-control endpoints. */
    void (*handle_data)(USBDevice *dev, USBPacket *p);
    /* SET_CONFIGURATION / SET_INTERFACE done (the device may start). */
    void (*set_config)(USBDevice *dev, int config);
    /* SET_INTERFACE selected alternate setting @alt of interface 0 (also
     * called with 0 when SET_CONFIGURATION resets it). */
    void (*set_interface)(USBDevice *dev, int alt);
    /* Hubs: the device at @addr on an enabled downstream port (or
     * further down), and the device on downstream port @port (1-based). */
    USBDevice *(*find_device)(USBDevice *dev, uint8_t addr);
    USBDevice *(*child)(USBDevice *dev, unsigned port);
    /* Pass-through devices (usb-host, usb-redir): runs before the port
     * is claimed, may set dev->speedmask from the real device. */
    bool (*early_realize)(USBDevice *dev, GError **errp);
    /* Every control request but SET_ADDRESS goes to handle_control
     * (the real device answers GET_DESCRIPTOR & co); the core still
     * tracks the configuration. */
    bool control_passthrough;
    /* Realize claims a port but attaches only on usb_device_attach()
     * (usb-redir: when the peer announces its device). */
    bool attach_later;
} USBDeviceClass;

struct USBDevice {
    DeviceState parent;
    /* properties */
    char *bus_name;             /* bus= */
    char *port_path;            /* port= */
    char *serial;               /* serial= (string descriptor override) */
    /* the wiring */
    USBPort *port;              /* claimed (attached when port->dev) */
    const USBDeviceClass *klass;
    const USBDesc *desc;
    int speed;                  /* USB_SPEED_* it runs at */
    int speedmask;              /* what it can run at */
    /* chapter 9 state */
    uint8_t state;
    uint8_t addr;
    uint8_t config;             /* 0: unconfigured */
    uint8_t altsetting;
    bool remote_wakeup;
    uint16_t ep_halted;         /* bit n: endpoint n (any direction) halted */
    /* control transfer in progress */
    uint8_t setup_buf[8];
    uint8_t setup_state;        /* SETUP_STATE_* (hw/usb/core.c) */
    uint16_t setup_len, setup_index;
    uint8_t data_buf[USB_CONTROL_BUF_SIZE];
};

#define USB_DEVICE(obj) ((USBDevice *)(obj))

/* ---- ports and buses ------------------------------------------------ */

typedef struct USBPortOps {
    void (*attach)(USBPort *port);
    void (*detach)(USBPort *port);
    /* @dev (on this port, or behind a hub on it) has data or room on
     * endpoint @ep (IN or OUT) now: on bulk stream @stream, or on any
     * of its streams when @stream is 0 */
    void (*wakeup)(USBPort *port, USBDevice *dev, unsigned ep,
                   unsigned stream);
} USBPortOps;

struct USBPort {
    USBDevice *dev;             /* attached */
    USBDevice *claimed;         /* realized on it (attached or not) */
    int speedmask;
    int index;                  /* 0-based */
    char path[16];              /* "1", "2", ... (port=) */
    const USBPortOps *ops;
    void *opaque;               /* the controller */
    USBBus *bus;
};

struct USBBus {
    char *name;                 /* "ID.0" or "usb-bus.N" */
    DeviceState *hc;            /* the controller */
    GPtrArray *ports;           /* USBPort * */
    /* EHCI: take @n ports of a companion controller (UHCI masterbus=)
     * as the full/low-speed side of ports @first.. of this bus */
    bool (*register_companion)(USBBus *bus, USBPort *ports[], unsigned n,
                               unsigned first, GError **errp);
};

/* Register @bus (named after the controller's id, or usb-bus.N). */
void usb_bus_init(USBBus *bus, DeviceState *hc);
void usb_bus_cleanup(USBBus *bus);
USBBus *usb_bus_find(const char *name);
void usb_register_port(USBBus *bus, USBPort *port, void *opaque, int index,
                       const USBPortOps *ops, int speedmask);
/* Detach and destroy the devices of a bus (controller unplug). */
void usb_bus_release_devices(USBBus *bus);

/* ---- devices ---------------------------------------------------------- */

void usb_handle_packet(USBDevice *dev, USBPacket *p);
/* Connect/disconnect a realized device on its claimed port (at speed
 * @speedmask's best that the port has). */
void usb_device_attach(USBDevice *dev);
void usb_device_detach(USBDevice *dev);
/* USB bus reset signalling on the device's port. */
void usb_device_reset(USBDevice *dev);
/* Ask the controller to retry endpoint @ep (after a NAK). */
void usb_wakeup(USBDevice *dev, unsigned ep);
/* The same for one bulk stream of endpoint @ep. */
void usb_wakeup_stream(USBDevice *dev, unsigned ep, unsigned stream);
/* @dev itself (in the default state or later) if it has address @addr,
 * else what a hub finds behind it; NULL when nothing answers. */
USBDevice *usb_find_device(USBDevice *dev, uint8_t addr);
/* The device on downstream port @port of hub @dev, or NULL. */
USBDevice *usb_device_child(USBDevice *dev, unsigned port);
/* For hubs: forward a wakeup of @dev (behind @hub) upstream. */
void usb_wakeup_from(USBDevice *hub, USBDevice *dev, unsigned ep,
                     unsigned stream);
/* The device's full descriptor set for its current speed. */
const USBDescDevice *usb_desc_for_speed(const USBDesc *desc, int speed);
/* Alternate settings of @d's interface (at least 1). */
unsigned usb_desc_nalt(const USBDescDevice *d);
/* Standard GET_DESCRIPTOR etc.: true when handled (p->status/actual set). */
bool usb_desc_handle_control(USBDevice *dev, USBPacket *p, int request,
                             int value, int index, int length,
                             uint8_t *data);
/* Endpoint @ep's max packet size at the device's speed (0: none). */
unsigned usb_ep_max_packet(USBDevice *dev, unsigned ep, bool in);
/* "1.2" style path of the device's port (for info usb). */
const char *usb_device_port_path(USBDevice *dev);
/* HMP info usb text */
char *usb_info_text(void);

extern const VMStateDescription vmstate_usb_device;

#endif
