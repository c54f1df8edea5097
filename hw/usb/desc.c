/*
 * USB descriptors built from the devices' compact tables: device, device
 * qualifier, configuration (interface, class descriptors, endpoints and
 * SuperSpeed endpoint companions), strings (UTF-16LE) and BOS.
 *
 * Spec: USB 2.0 9.6 (standard descriptors; 9.6.5: every alternate
 * setting of an interface follows the configuration with its own
 * endpoints); USB 3.2 9.6.2 (BOS, USB 2.0 extension and SuperSpeed
 * device capabilities), 9.6.7 (endpoint companion: bMaxBurst, bulk
 * MaxStreams).  Class descriptors of an endpoint (UAS pipe usage) follow
 * the endpoint and its companion.
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"

const USBDescDevice *usb_desc_for_speed(const USBDesc *desc, int speed)
{
    switch (speed) {
    case USB_SPEED_SUPER:
        return desc->super ? desc->super : desc->high ? desc->high : desc->full;
    case USB_SPEED_HIGH:
        return desc->high ? desc->high : desc->full;
    default:
        return desc->full ? desc->full : desc->high;
    }
}

static size_t desc_device(USBDevice *dev, const USBDescDevice *d,
                          uint8_t *buf)
{
    const USBDesc *desc = dev->desc;

    buf[0] = 18;
    buf[1] = USB_DT_DEVICE;
    stw_le_p(buf + 2, d->bcdUSB);
    buf[4] = d->bDeviceClass;   /* 0: class per interface */
    buf[5] = 0;
    buf[6] = 0;
    buf[7] = d->bMaxPacketSize0;
    stw_le_p(buf + 8, desc->idVendor);
    stw_le_p(buf + 10, desc->idProduct);
    stw_le_p(buf + 12, desc->bcdDevice);
    buf[14] = desc->iManufacturer;
    buf[15] = desc->iProduct;
    buf[16] = desc->iSerialNumber;
    buf[17] = 1;                /* bNumConfigurations */
    return 18;
}

unsigned usb_desc_nalt(const USBDescDevice *d)
{
    return d && d->nalt ? d->nalt : 1;
}

/* One alternate setting: interface, class and endpoint descriptors. */
static size_t desc_iface(const USBDescIface *ifc, unsigned alt, int speed,
                         uint8_t *buf)
{
    size_t n = 0;

    buf[n + 0] = 9;
    buf[n + 1] = USB_DT_INTERFACE;
    buf[n + 2] = 0;
    buf[n + 3] = alt;
    buf[n + 4] = ifc->nep;
    buf[n + 5] = ifc->bInterfaceClass;
    buf[n + 6] = ifc->bInterfaceSubClass;
    buf[n + 7] = ifc->bInterfaceProtocol;
    buf[n + 8] = 0;
    n += 9;
    if (ifc->extra_len) {
        memcpy(buf + n, ifc->extra, ifc->extra_len);
        n += ifc->extra_len;
    }
    for (unsigned i = 0; i < ifc->nep; i++) {
        const USBDescEndpoint *ep = &ifc->eps[i];

        buf[n + 0] = 7;
        buf[n + 1] = USB_DT_ENDPOINT;
        buf[n + 2] = ep->bEndpointAddress;
        buf[n + 3] = ep->bmAttributes;
        stw_le_p(buf + n + 4, ep->wMaxPacketSize);
        buf[n + 6] = ep->bInterval;
        n += 7;
        if (speed == USB_SPEED_SUPER) {
            buf[n + 0] = 6;
            buf[n + 1] = USB_DT_ENDPOINT_COMPANION;
            buf[n + 2] = ep->bMaxBurst;
            buf[n + 3] = ep->bmAttributes_super;
            stw_le_p(buf + n + 4,
                     (ep->bmAttributes & 3) == USB_ENDPOINT_XFER_INT ?
                     ep->wMaxPacketSize : 0);
            n += 6;
        }
        if (ep->extra_len) {
            memcpy(buf + n, ep->extra, ep->extra_len);
            n += ep->extra_len;
        }
    }
    return n;
}

/* Configuration, interfaces, class and endpoint descriptors in one blob. */
static size_t desc_config(const USBDescDevice *d, int speed, uint8_t type,
                          uint8_t *buf)
{
    size_t n = 9;

    buf[0] = 9;
    buf[1] = type;
    buf[4] = 1;                 /* bNumInterfaces */
    buf[5] = 1;                 /* bConfigurationValue */
    buf[6] = d->iConfiguration;
    buf[7] = d->bmAttributes;
    buf[8] = d->bMaxPower;
    for (unsigned alt = 0; alt < usb_desc_nalt(d); alt++) {
        n += desc_iface(&d->iface[alt], alt, speed, buf + n);
    }
    stw_le_p(buf + 2, n);
    return n;
}

/* BOS: the USB 2.0 extension (LPM) and, with a SuperSpeed set, the
 * SuperSpeed capability (speeds supported full/high/super). */
static size_t desc_bos(const USBDesc *desc, uint8_t *buf)
{
    size_t n = 5;
    uint8_t ncap = 0;

    buf[0] = 5;
    buf[1] = USB_DT_BOS;
    /* USB 2.0 extension */
    buf[n + 0] = 7;
    buf[n + 1] = USB_DT_DEVICE_CAPABILITY;
    buf[n + 2] = 0x02;
    stl_le_p(buf + n + 3, 0x2);         /* LPM capable */
    n += 7;
    ncap++;
    if (desc->super) {
        buf[n + 0] = 10;
        buf[n + 1] = USB_DT_DEVICE_CAPABILITY;
        buf[n + 2] = 0x03;              /* SuperSpeed USB */
        buf[n + 3] = 0;                 /* bmAttributes: no LTM */
        stw_le_p(buf + n + 4, 0x000e);  /* full, high, super */
        buf[n + 6] = 1;                 /* bFunctionalitySupport: full */
        buf[n + 7] = 10;                /* bU1DevExitLat */
        stw_le_p(buf + n + 8, 0x100);   /* bU2DevExitLat */
        n += 10;
        ncap++;
    }
    stw_le_p(buf + 2, n);
    buf[4] = ncap;
    return n;
}

static const char *desc_string(USBDevice *dev, unsigned index)
{
    const USBDesc *desc = dev->desc;

    if (index == desc->iSerialNumber && dev->serial) {
        return dev->serial;
    }
    for (unsigned i = 1; desc->str && desc->str[i - 1]; i++) {
        if (i == index) {
            return desc->str[i - 1];
        }
    }
    return NULL;
}

static size_t desc_str(const char *s, uint8_t *buf)
{
    size_t n = 2;

    for (; *s && n + 2 <= 254; s++) {
        buf[n++] = (uint8_t)*s;
        buf[n++] = 0;
    }
    buf[0] = n;
    buf[1] = USB_DT_STRING;
    return n;
}

bool usb_desc_handle_control(USBDevice *dev, USBPacket *p, int request,
                             int value, int index, int length,
                             uint8_t *data)
{
    const USBDescDevice *d = usb_desc_for_speed(dev->desc, dev->speed);
    uint8_t type = value >> 8, idx = value & 0xff;
    size_t n;

    if (request != DeviceRequest + USB_REQ_GET_DESCRIPTOR) {
        return false;
    }
    switch (type) {
    case USB_DT_DEVICE:
        n = desc_device(dev, d, data);
        break;
    case USB_DT_CONFIG:
        if (idx != 0) {
            goto stall;
        }
        n = desc_config(d, dev->speed, USB_DT_CONFIG, data);
        break;
    case USB_DT_DEVICE_QUALIFIER:
    case USB_DT_OTHER_SPEED_CONFIG: {
        /* The other of full/high speed, when the device has both. */
        const USBDescDevice *other = NULL;
        int other_speed = USB_SPEED_FULL;

        if (dev->speed == USB_SPEED_HIGH) {
            other = dev->desc->full;
        } else if (dev->speed == USB_SPEED_FULL) {
            other = dev->desc->high;
            other_speed = USB_SPEED_HIGH;
        }
        if (!other || other == d) {
            goto stall;
        }
        if (type == USB_DT_OTHER_SPEED_CONFIG) {
            n = desc_config(other, other_speed, type, data);
            break;
        }
        memset(data, 0, 10);
        data[0] = 10;
        data[1] = USB_DT_DEVICE_QUALIFIER;
        stw_le_p(data + 2, other->bcdUSB);
        data[7] = other->bMaxPacketSize0;
        data[8] = 1;
        n = 10;
        break;
    }
    case USB_DT_STRING:
        if (idx == 0) {
            data[0] = 4;
            data[1] = USB_DT_STRING;
            stw_le_p(data + 2, 0x0409);     /* English (US) */
            n = 4;
        } else {
            const char *s = desc_string(dev, idx);
            if (!s) {
                goto stall;
            }
            n = desc_str(s, data);
        }
        break;
    case USB_DT_BOS:
        n = desc_bos(dev->desc, data);
        break;
    default:
        goto stall;
    }
    p->actual = MIN(n, (size_t)length);
    return true;
stall:
    p->status = USB_RET_STALL;
    return true;
}

unsigned usb_ep_max_packet(USBDevice *dev, unsigned ep, bool in)
{
    const USBDescDevice *d = usb_desc_for_speed(dev->desc, dev->speed);
    const USBDescIface *ifc;

    if (ep == 0) {
        return dev->speed == USB_SPEED_SUPER ? 512 : d->bMaxPacketSize0;
    }
    ifc = &d->iface[dev->altsetting < usb_desc_nalt(d) ? dev->altsetting : 0];
    for (unsigned i = 0; i < ifc->nep; i++) {
        const USBDescEndpoint *e = &ifc->eps[i];
        if ((e->bEndpointAddress & 0x0f) == ep &&
            !!(e->bEndpointAddress & USB_DIR_IN) == in) {
            return e->wMaxPacketSize;
        }
    }
    return 0;
}
