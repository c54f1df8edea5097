/*
 * USB buses and the abstract "usb-device" type: bus names as QEMU's
 * ("ID.0" for a controller with an id, "usb-bus.N" otherwise), port
 * claiming (bus= / port=, or the first free port whose speeds match),
 * attach/detach, hotplug (device_add/device_del attach and detach at run
 * time), and HMP "info usb".
 *
 * Spec: USB 2.0 9.1 (attached, powered and default states on connect and
 * bus reset), 11.24 (port paths).
 */
#include "qemu/osdep.h"
#include "hw/usb/usb.h"

static GPtrArray *usb_buses;    /* USBBus *, creation order */
static unsigned usb_bus_count;  /* for usb-bus.N names, as QEMU */

void usb_bus_init(USBBus *bus, DeviceState *hc)
{
    bus->hc = hc;
    bus->register_companion = NULL;
    bus->name = hc->id ? g_strdup_printf("%s.0", hc->id)
                       : g_strdup_printf("usb-bus.%u", usb_bus_count);
    usb_bus_count++;
    bus->ports = g_ptr_array_new();
    if (!usb_buses) {
        usb_buses = g_ptr_array_new();
    }
    g_ptr_array_add(usb_buses, bus);
}

void usb_bus_release_devices(USBBus *bus)
{
    /* a hub's unplug takes its ports off the list: start over each time */
    for (unsigned i = 0; bus->ports && i < bus->ports->len; i++) {
        USBPort *port = g_ptr_array_index(bus->ports, i);
        if (port->dev) {
            device_destroy(DEVICE(port->dev));
            i = -1u;
        }
    }
}

void usb_bus_cleanup(USBBus *bus)
{
    usb_bus_release_devices(bus);
    if (usb_buses) {
        g_ptr_array_remove(usb_buses, bus);
    }
    if (bus->ports) {
        g_ptr_array_free(bus->ports, true);
    }
    g_free(bus->name);
    bus->ports = NULL;
    bus->name = NULL;
}

USBBus *usb_bus_find(const char *name)
{
    for (unsigned i = 0; usb_buses && i < usb_buses->len; i++) {
        USBBus *bus = g_ptr_array_index(usb_buses, i);
        if (!name || !strcmp(bus->name, name)) {
            return bus;
        }
    }
    return NULL;
}

void usb_register_port(USBBus *bus, USBPort *port, void *opaque, int index,
                       const USBPortOps *ops, int speedmask)
{
    port->bus = bus;
    port->opaque = opaque;
    port->index = index;
    port->ops = ops;
    port->speedmask = speedmask;
    port->dev = NULL;
    port->claimed = NULL;
    snprintf(port->path, sizeof(port->path), "%d", index + 1);
    g_ptr_array_add(bus->ports, port);
}

const char *usb_device_port_path(USBDevice *dev)
{
    return dev->port ? dev->port->path : "";
}

static int usb_best_speed(int mask)
{
    for (int s = USB_SPEED_SUPER; s >= USB_SPEED_LOW; s--) {
        if (mask & (1 << s)) {
            return s;
        }
    }
    return -1;
}

static int usb_desc_speedmask(const USBDesc *desc)
{
    return (desc->full ? USB_SPEED_MASK_FULL : 0) |
           (desc->high ? USB_SPEED_MASK_HIGH : 0) |
           (desc->super ? USB_SPEED_MASK_SUPER : 0);
}

static USBPort *usb_claim_port(USBDevice *dev, USBBus *bus, GError **errp)
{
    for (unsigned i = 0; i < bus->ports->len; i++) {
        USBPort *port = g_ptr_array_index(bus->ports, i);

        if (dev->port_path) {
            if (strcmp(port->path, dev->port_path)) {
                continue;
            }
            if (port->dev || port->claimed) {
                error_setg(errp, "usb port %s (bus %s) not found (in use?)",
                           dev->port_path, bus->name);
                return NULL;
            }
            if (!(port->speedmask & dev->speedmask)) {
                error_setg(errp, "Warning: speed mismatch trying to attach "
                           "usb device \"%s\" to bus \"%s\", port \"%s\"",
                           dev->klass->product_desc, bus->name, port->path);
                return NULL;
            }
            return port;
        }
        if (!port->dev && !port->claimed &&
            (port->speedmask & dev->speedmask)) {
            return port;
        }
    }
    if (dev->port_path) {
        error_setg(errp, "usb port %s (bus %s) not found (in use?)",
                   dev->port_path, bus->name);
    } else {
        error_setg(errp, "Failed to assign port to device %s: no free "
                   "port of a matching speed on bus %s",
                   dev->klass->product_desc, bus->name);
    }
    return NULL;
}

static const USBDeviceClass *usb_find_class(const DeviceType *t)
{
    for (; t; t = t->parent ? device_type_find(t->parent) : NULL) {
        if (t->class_data) {
            return t->class_data;
        }
    }
    return NULL;
}

static bool usb_device_realize(DeviceState *d, GError **errp)
{
    USBDevice *dev = USB_DEVICE(d);
    USBBus *bus;
    USBPort *port;

    dev->klass = usb_find_class(d->type);
    if (!dev->klass || !dev->klass->desc) {
        error_setg(errp, "%s: not a usable USB device type", d->type->name);
        return false;
    }
    dev->desc = dev->klass->desc;
    dev->speedmask = usb_desc_speedmask(dev->desc);
    bus = usb_bus_find(dev->bus_name);
    if (!bus) {
        if (dev->bus_name) {
            error_setg(errp, "Bus '%s' not found", dev->bus_name);
        } else {
            error_setg(errp, "No 'usb-bus' bus found for device '%s'",
                       d->type->name);
        }
        return false;
    }
    if (dev->klass->early_realize && !dev->klass->early_realize(dev, errp)) {
        return false;
    }
    port = usb_claim_port(dev, bus, errp);
    if (!port) {
        return false;
    }
    dev->port = port;
    port->claimed = dev;
    if (!dev->klass->attach_later) {
        usb_device_attach(dev);
    }
    return true;
}

void usb_device_attach(USBDevice *dev)
{
    USBPort *port = dev->port;

    if (!port || port->dev) {
        return;
    }
    dev->speed = usb_best_speed(dev->speedmask & port->speedmask);
    if (dev->speed < 0) {
        return;     /* nothing the port speaks (a redirected device) */
    }
    port->dev = dev;
    dev->state = USB_STATE_ATTACHED;
    if (port->ops->attach) {
        port->ops->attach(port);
    }
}

void usb_device_detach(USBDevice *dev)
{
    USBPort *port = dev->port;

    if (!port || port->dev != dev) {
        return;
    }
    dev->state = USB_STATE_NOTATTACHED;
    port->dev = NULL;
    if (port->ops->detach) {
        port->ops->detach(port);
    }
}

static void usb_device_unrealize(DeviceState *d)
{
    USBDevice *dev = USB_DEVICE(d);
    USBPort *port = dev->port;

    if (!port) {
        return;
    }
    usb_device_detach(dev);
    port->claimed = NULL;
    dev->port = NULL;
}

/* A machine reset: the device is powered again, waits for a bus reset. */
static void usb_device_qdev_reset(DeviceState *d)
{
    USBDevice *dev = USB_DEVICE(d);

    usb_device_reset(dev);
    dev->state = dev->port ? USB_STATE_ATTACHED : USB_STATE_NOTATTACHED;
}

static const char *usb_speed_name(int speed)
{
    static const char *const names[] = { "1.5", "12", "480", "5000" };
    return speed >= 0 && speed < 4 ? names[speed] : "?";
}

char *usb_info_text(void)
{
    GString *s = g_string_new("");

    for (unsigned b = 0; usb_buses && b < usb_buses->len; b++) {
        USBBus *bus = g_ptr_array_index(usb_buses, b);
        for (unsigned i = 0; i < bus->ports->len; i++) {
            USBPort *port = g_ptr_array_index(bus->ports, i);
            USBDevice *dev = port->dev;
            if (!dev) {
                continue;
            }
            g_string_append_printf(s, "  Device %u.%u, Port %s, Speed %s "
                                   "Mb/s, Product %s%s%s\n", b, dev->addr,
                                   port->path, usb_speed_name(dev->speed),
                                   dev->klass->product_desc,
                                   DEVICE(dev)->id ? ", ID: " : "",
                                   DEVICE(dev)->id ?: "");
        }
    }
    return g_string_free(s, false);
}

static const Property usb_device_props[] = {
    DEFINE_PROP("bus", USBDevice, bus_name, PROP_STRING, NULL,
                "USB bus: ID.0 of the controller (default: the first one)"),
    DEFINE_PROP("port", USBDevice, port_path, PROP_STRING, NULL,
                "port number on the bus (default: the first free one)"),
    DEFINE_PROP("serial", USBDevice, serial, PROP_STRING, NULL,
                "serial number string"),
    DEFINE_PROP_END_OF_LIST(),
};

/*
 * Every USB bus takes hotplug (QEMU: the bus is its own handler): the
 * realize above attaches to a free port, whose controller reports the
 * connect status change; device_del detaches at once (synchronous, no
 * guest round trip), as pulling the plug does.
 */
static HotplugHandler usb_bus_hotplug = { .opaque = NULL };

static HotplugHandler *usb_get_hotplug_handler(DeviceState *d,
                                               const char **bus_name)
{
    USBDevice *dev = USB_DEVICE(d);

    if (!dev->port) {
        return NULL;
    }
    *bus_name = dev->port->bus->name;
    return &usb_bus_hotplug;
}

static const DeviceType usb_device_type = {
    .name = TYPE_USB_DEVICE,
    .get_hotplug_handler = usb_get_hotplug_handler,
    .parent = TYPE_DEVICE,
    .desc = "USB device",
    .instance_size = sizeof(USBDevice),
    .abstract = true,
    .category = DEVICE_CATEGORY_USB,
    .props = usb_device_props,
    .realize = usb_device_realize,
    .unrealize = usb_device_unrealize,
    .reset = usb_device_qdev_reset,
    .vmsd = &vmstate_usb_device,
};

static void usb_bus_register_types(void)
{
    device_type_register(&usb_device_type);
}
type_init(usb_bus_register_types)
