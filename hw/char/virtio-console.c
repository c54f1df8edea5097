/*
 * virtconsole and virtserialport: virtio-serial ports whose host side is
 * a chardev (QEMU's names and properties: chardev=, nr=, name=, bus=).
 *
 * Spec: OASIS VIRTIO 1.2, 5.3.6 (a console port is announced with
 * VIRTIO_CONSOLE_CONSOLE_PORT; PORT_OPEN both ways, 5.3.6.2).
 *
 * Guest->host bytes go to the chardev with qemu_chr_fe_write_nb: when it
 * takes fewer (a socket peer that does not read), the port is throttled
 * and resumes when the chardev says it has room, so nothing is dropped
 * and nothing spins.  Host->guest bytes are read from the chardev only as
 * fast as the guest posts receive buffers (can_read).
 *
 * virtserialport: the chardev's connection is the port's host side
 * (OPENED/CLOSED send PORT_OPEN to the guest); without a connection the
 * guest's output is discarded, as QEMU's.  virtconsole: the host side is
 * always there (a console must not stall because nobody listens).  For
 * both, the guest's PORT_OPEN emits VSERPORT_CHANGE when the port has an
 * id.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "hw/virtio/virtio-serial.h"

#define TYPE_VIRTCONSOLE    "virtconsole"
#define TYPE_VIRTSERIALPORT "virtserialport"

typedef struct VirtConsole {
    VirtIOSerialPort port;
} VirtConsole;

static void vcon_chr_writable(void *opaque)
{
    VirtConsole *vcon = opaque;

    virtio_serial_throttle_port(&vcon->port, false);
}

static size_t vcon_have_data(VirtIOSerialPort *port, const uint8_t *buf,
                             size_t len)
{
    int n;

    if (!port->chr) {
        return len;     /* no host side: dropped, as QEMU */
    }
    n = qemu_chr_fe_write_nb(port->chr, buf, MIN(len, (size_t)INT_MAX));
    if ((size_t)n < len) {
        /* The bus throttles the port; the chardev calls back. */
        qemu_chr_fe_wait_writable(port->chr, vcon_chr_writable, port);
    }
    return n;
}

static void vcon_set_guest_connected(VirtIOSerialPort *port, bool connected)
{
    if (port->chr && !port->ops->is_console) {
        /* query-chardev's frontend-open: what libvirt reads at start */
        qemu_chr_fe_set_open(port->chr, connected);
    }
    virtio_serial_port_event(port, connected);
}

static void vcon_guest_ready(VirtIOSerialPort *port)
{
    if (port->chr) {
        qemu_chr_fe_accept_input(port->chr);
    }
}

static int vcon_chr_can_read(void *opaque)
{
    VirtConsole *vcon = opaque;

    return MIN(virtio_serial_guest_ready(&vcon->port), (size_t)INT_MAX);
}

static void vcon_chr_read(void *opaque, const uint8_t *buf, int len)
{
    VirtConsole *vcon = opaque;

    virtio_serial_write(&vcon->port, buf, len);
}

static void vcon_chr_event(void *opaque, ChrEvent event)
{
    VirtConsole *vcon = opaque;

    if (event == CHR_EVENT_OPENED) {
        virtio_serial_open(&vcon->port);
    } else if (event == CHR_EVENT_CLOSED) {
        qemu_chr_fe_wait_writable(vcon->port.chr, NULL, NULL);
        virtio_serial_close(&vcon->port);
    }
}

static bool vcon_realize(DeviceState *dev, GError **errp)
{
    VirtConsole *vcon = (VirtConsole *)dev;
    VirtIOSerialPort *port = &vcon->port;

    if (!port->chr) {
        return true;    /* a port without host side, as QEMU allows */
    }
    if (port->ops->is_console) {
        if (!qemu_chr_fe_attach(port->chr, vcon_chr_can_read, vcon_chr_read,
                                NULL, vcon, errp)) {
            return false;
        }
        virtio_serial_open(port);
        return true;
    }
    /* OPENED comes at once when the chardev is connected already. */
    if (!qemu_chr_fe_attach(port->chr, vcon_chr_can_read, vcon_chr_read,
                            vcon_chr_event, vcon, errp)) {
        return false;
    }
    qemu_chr_fe_set_open(port->chr, false);     /* until the guest opens */
    return true;
}

static void vcon_unrealize(DeviceState *dev)
{
    VirtConsole *vcon = (VirtConsole *)dev;

    if (vcon->port.chr) {
        qemu_chr_fe_wait_writable(vcon->port.chr, NULL, NULL);
        qemu_chr_fe_set_handlers(vcon->port.chr, NULL, NULL, NULL, vcon);
    }
}

static const VirtIOSerialPortOps virtconsole_ops = {
    .is_console = true,
    .have_data = vcon_have_data,
    .set_guest_connected = vcon_set_guest_connected,
    .guest_ready = vcon_guest_ready,
};

static const VirtIOSerialPortOps virtserialport_ops = {
    .is_console = false,
    .have_data = vcon_have_data,
    .set_guest_connected = vcon_set_guest_connected,
    .guest_ready = vcon_guest_ready,
};

static const Property vcon_props[] = {
    DEFINE_PROP("chardev", VirtConsole, port.chr, PROP_CHARDEV, NULL,
                "ID of the chardev that is the port's host side"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtconsole_type = {
    .name = TYPE_VIRTCONSOLE,
    .parent = TYPE_VIRTIO_SERIAL_PORT,
    .desc = "a console port on a virtio-serial bus (hvc in Linux)",
    .instance_size = sizeof(VirtConsole),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_INPUT,
    .props = vcon_props,
    .realize = vcon_realize,
    .unrealize = vcon_unrealize,
    .class_data = &virtconsole_ops,
};

static const DeviceType virtserialport_type = {
    .name = TYPE_VIRTSERIALPORT,
    .parent = TYPE_VIRTIO_SERIAL_PORT,
    .desc = "a port on a virtio-serial bus (/dev/vport*, by name in "
            "/dev/virtio-ports/)",
    .instance_size = sizeof(VirtConsole),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_INPUT,
    .props = vcon_props,
    .realize = vcon_realize,
    .unrealize = vcon_unrealize,
    .class_data = &virtserialport_ops,
};

static void virtio_console_register(void)
{
    device_type_register(&virtconsole_type);
    device_type_register(&virtserialport_type);
}
type_init(virtio_console_register)
