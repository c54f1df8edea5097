/*
 * virtio-serial: the virtio console device with multiple ports
 * (virtio-serial-pci) and the bus its ports plug into.
 *
 * Spec: OASIS VIRTIO 1.2, 5.3 "Console Device": device ID 3; feature bits
 * VIRTIO_CONSOLE_F_SIZE (0), VIRTIO_CONSOLE_F_MULTIPORT (1),
 * VIRTIO_CONSOLE_F_EMERG_WRITE (2); configuration (5.3.4) cols, rows,
 * max_nr_ports, emerg_wr; queues (5.3.2) receiveq(port0),
 * transmitq(port0), control receiveq, control transmitq, then
 * receiveq(portN)/transmitq(portN) for N >= 1; the control messages of
 * 5.3.6.2 (struct virtio_console_control { le32 id; le16 event;
 * le16 value; }) and their event numbers below.
 *
 * A port is a device of its own (virtconsole, virtserialport, in
 * hw/char/virtio-console.c) on a virtio-serial bus, named as QEMU names
 * it: "ID.0" when the virtio-serial-pci has an id, "virtio-serial-bus.N"
 * otherwise.  The bus (hw/char/virtio-serial-bus.c) moves the bytes
 * between a port's queues and the front end's callbacks; the front end
 * owns the host side (a chardev).
 */
#ifndef HW_VIRTIO_VIRTIO_SERIAL_H
#define HW_VIRTIO_VIRTIO_SERIAL_H
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "hw/virtio/virtio.h"
#include "system/timer.h"

#define TYPE_VIRTIO_SERIAL_PCI      "virtio-serial-pci"
#define TYPE_VIRTIO_SERIAL_PORT     "virtio-serial-port"    /* abstract */
#define TYPE_VIRTIO_SERIAL_BUS      "virtio-serial-bus"

/* Feature bits (5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE           0
#define VIRTIO_CONSOLE_F_MULTIPORT      1
#define VIRTIO_CONSOLE_F_EMERG_WRITE    2

/* Configuration layout (5.3.4). */
#define VIRTIO_CONSOLE_CFG_COLS         0
#define VIRTIO_CONSOLE_CFG_ROWS         2
#define VIRTIO_CONSOLE_CFG_MAX_NR_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR     8
#define VIRTIO_CONSOLE_CFG_SIZE         12

/* Control message events (5.3.6.2). */
#define VIRTIO_CONSOLE_DEVICE_READY     0
#define VIRTIO_CONSOLE_DEVICE_ADD       1
#define VIRTIO_CONSOLE_DEVICE_REMOVE    2
#define VIRTIO_CONSOLE_PORT_READY       3
#define VIRTIO_CONSOLE_CONSOLE_PORT     4
#define VIRTIO_CONSOLE_RESIZE           5
#define VIRTIO_CONSOLE_PORT_OPEN        6
#define VIRTIO_CONSOLE_PORT_NAME        7
#define VIRTIO_CONSOLE_CTRL_SIZE        8   /* id, event, value */

/*
 * Two queues per port and two control queues: with the core's
 * VIRTIO_QUEUE_MAX queues, 31 ports (QEMU's default max_ports) at most.
 */
#define VIRTIO_SERIAL_MAX_PORTS         (VIRTIO_QUEUE_MAX / 2 - 1)
#define VIRTIO_SERIAL_BAD_ID            UINT32_MAX
/* Control messages waiting for the driver's control receive buffers. */
#define VIRTIO_SERIAL_CTRL_QUEUE        256

typedef struct VirtIOSerial VirtIOSerial;
typedef struct VirtIOSerialPort VirtIOSerialPort;

/* What a port front end (virtconsole, virtserialport) does for the bus. */
typedef struct VirtIOSerialPortOps {
    bool is_console;
    /*
     * Guest->host bytes.  Return how many were taken (0..len); a short
     * count throttles the port, and the front end calls
     * virtio_serial_throttle_port(port, false) when it can take more.
     */
    size_t (*have_data)(VirtIOSerialPort *port, const uint8_t *buf,
                        size_t len);
    /* The guest opened or closed the port (PORT_OPEN, or a reset). */
    void (*set_guest_connected)(VirtIOSerialPort *port, bool connected);
    /* The guest may have posted receive buffers. */
    void (*guest_ready)(VirtIOSerialPort *port);
} VirtIOSerialPortOps;

struct VirtIOSerialPort {
    DeviceState parent;

    /* properties */
    char *bus_name;             /* bus=: "ID.0", "virtio-serial-bus.N" */
    uint32_t nr;                /* nr=: port id, BAD_ID = automatic */
    char *name;                 /* name=: PORT_NAME for the guest */
    Chardev *chr;               /* chardev= (front end's) */

    const VirtIOSerialPortOps *ops;
    VirtIOSerial *vser;         /* NULL once the device went away */
    uint32_t id;
    bool host_connected;        /* the host side is there (chardev open) */
    bool guest_connected;       /* the guest opened the port */
    bool throttled;             /* have_data was short: waiting */
    uint32_t tx_offset;         /* bytes of the head transmit chain sent */

    /* VSERPORT_CHANGE at most once a second per port, as QEMU's monitor */
    QEMUTimer *event_timer;
    int64_t event_last_ns;
    bool event_sent, event_pending, event_value;
};

/* Front end -> bus. */
/* Register @port on its bus (from the port's realize). */
bool virtio_serial_port_plug(VirtIOSerialPort *port, GError **errp);
void virtio_serial_port_unplug(VirtIOSerialPort *port);
/* The host side connected / went away: PORT_OPEN to the guest. */
void virtio_serial_open(VirtIOSerialPort *port);
void virtio_serial_close(VirtIOSerialPort *port);
/* Host->guest: bytes the guest's posted buffers can take now. */
size_t virtio_serial_guest_ready(VirtIOSerialPort *port);
/* Host->guest: copy into posted buffers; returns the bytes taken. */
size_t virtio_serial_write(VirtIOSerialPort *port, const uint8_t *buf,
                           size_t len);
/* The front end can (again) take guest->host bytes. */
void virtio_serial_throttle_port(VirtIOSerialPort *port, bool throttle);
/* Send VSERPORT_CHANGE for a port with an id (rate-limited). */
void virtio_serial_port_event(VirtIOSerialPort *port, bool open);

#endif
