/*
 * virtio-serial-pci: the virtio console device with MULTIPORT, and the
 * virtio-serial bus its ports (virtconsole, virtserialport) plug into.
 *
 * Spec: OASIS VIRTIO 1.2, 5.3 "Console Device" (5.3.2 virtqueues,
 * 5.3.3 feature bits, 5.3.4 configuration layout, 5.3.6 device
 * operation, 5.3.6.2 multiport device operation: the control messages
 * VIRTIO_CONSOLE_DEVICE_READY, DEVICE_ADD, DEVICE_REMOVE, PORT_READY,
 * CONSOLE_PORT, RESIZE, PORT_OPEN, PORT_NAME).
 *
 * As QEMU's: transitional ID 1af4:1003, modern 1af4:1043, class 0780
 * (property "class": 0780, 0380 or ff00), subsystem 0003; max_ports (31)
 * ports, port 0 kept for a virtconsole; MULTIPORT and EMERG_WRITE
 * offered (F_SIZE is not: nothing here tracks a terminal size, so RESIZE
 * is never sent); vectors default to max_ports + 1.
 *
 * Flow control: host->guest bytes go only as fast as the guest posts
 * receive buffers (a front end's can_read is virtio_serial_guest_ready);
 * guest->host bytes stop when the front end takes fewer than offered:
 * the chain is given back (unpopped) with the bytes already sent counted
 * in tx_offset, and taken again when the front end has room.  Nothing is
 * held across main-loop iterations, so a reset or a migration never finds
 * an element in flight.
 *
 * Control messages to the guest wait in a bounded queue until the driver
 * posts control receive buffers (QEMU drops them); a PORT_OPEN for a port
 * that already has one waiting replaces it.  Guest input is hostile:
 * short control messages, unknown events, port ids that are not there,
 * buffers in the wrong direction are ignored (logged once per reset);
 * a control receive buffer too small for its message sets NEEDS_RESET.
 */
#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-serial.h"
#include "qapi/qapi-events.h"
#include "system/qtest.h"
#include "system/timer.h"

#define VIRTIO_SERIAL_QUEUE_SIZE    128     /* port queues, as QEMU */
#define VIRTIO_SERIAL_CTRL_SIZE     32      /* control queues, as QEMU */
/* can_read looks this far into the posted receive buffers. */
#define VIRTIO_SERIAL_PEEK_MAX      (64 * KiB)
#define VSERPORT_EVENT_PERIOD_NS    1000000000LL    /* QEMU's rate limit */

/* Mirror of one port's state, in the device's state description. */
typedef struct VSerPortState {
    bool guest_connected;
    bool host_connected;
    uint32_t tx_offset;
} VSerPortState;

struct VirtIOSerial {
    VirtIODevice vdev;

    /* properties */
    uint32_t max_ports;
    bool emergency_write;
    uint32_t class_code;

    char *bus_name;             /* what ports name in bus= */
    VirtIOSerialPort *ports[VIRTIO_SERIAL_MAX_PORTS];
    VirtQueue *c_ivq, *c_ovq;

    /* control messages for the guest: id << 32 | event << 16 | value */
    uint64_t ctrl[VIRTIO_SERIAL_CTRL_QUEUE];
    uint32_t ctrl_head, ctrl_count;
    bool guest_error_logged;

    /* the ports' state as saved (pre_save fills it, post_load applies) */
    uint32_t ports_map;
    VSerPortState pstate[VIRTIO_SERIAL_MAX_PORTS];

    /* one element per role: the paths may nest (control -> receive) */
    VirtQueueElement ctrl_in_elem, ctrl_out_elem, rx_elem, tx_elem;
    VirtQueueElement peek_elem;
};

typedef struct VirtIOSerialPCI {
    VirtIOPCIProxy proxy;
    VirtIOSerial ser;
} VirtIOSerialPCI;

/* Buses in creation order: bus= lookups, and the automatic choice. */
static GPtrArray *vser_buses;
static unsigned vser_auto_bus_ids;

static void vser_flush_ctrl(VirtIOSerial *s);
static void vser_flush_tx(VirtIOSerialPort *port);

static void G_GNUC_PRINTF(2, 3) vser_guest_error(VirtIOSerial *s,
                                                 const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (s->guest_error_logged) {
        return;     /* once per reset: a guest must not flood the log */
    }
    s->guest_error_logged = true;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("virtio-serial-bus: %s (%s)", msg, s->bus_name);
}

static bool vser_driver_ok(const VirtIOSerial *s)
{
    return (s->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) && !s->vdev.broken;
}

static bool vser_multiport(const VirtIOSerial *s)
{
    return virtio_vdev_has_feature(&s->vdev, VIRTIO_CONSOLE_F_MULTIPORT);
}

/* Queue numbers (5.3.2): port 0 at 0/1, control 2/3, port N at 2N+2/3. */
static unsigned vser_rx_queue(uint32_t id)
{
    return id ? 2 + 2 * id : 0;
}

static VirtIOSerialPort *vser_port_of_queue(VirtIOSerial *s, unsigned q)
{
    uint32_t id = q < 2 ? 0 : (q - 2) / 2;

    return id < s->max_ports ? s->ports[id] : NULL;
}

/* ---- control messages -------------------------------------------------- */

/* Queue a message for the guest; sent when control buffers are there. */
static void vser_send_ctrl(VirtIOSerial *s, uint32_t id, uint16_t event,
                           uint16_t value)
{
    uint64_t msg = (uint64_t)id << 32 | (uint32_t)event << 16 | value;

    /* Only a MULTIPORT driver that is up reads them (it asks for the
     * ports' state itself with DEVICE_READY / PORT_READY). */
    if (!vser_driver_ok(s) || !vser_multiport(s)) {
        return;
    }
    if (event == VIRTIO_CONSOLE_PORT_OPEN) {
        /* The guest needs the latest state only. */
        for (uint32_t i = 0; i < s->ctrl_count; i++) {
            uint64_t *m = &s->ctrl[(s->ctrl_head + i) %
                                   VIRTIO_SERIAL_CTRL_QUEUE];
            if (*m >> 16 == msg >> 16) {
                *m = msg;
                vser_flush_ctrl(s);
                return;
            }
        }
    }
    if (s->ctrl_count == VIRTIO_SERIAL_CTRL_QUEUE) {
        /* Only a guest that asks again and again without reading gets
         * here (DEVICE_READY floods): drop, as QEMU always does. */
        vser_guest_error(s, "control messages not read by the guest, "
                         "dropping");
        return;
    }
    s->ctrl[(s->ctrl_head + s->ctrl_count) % VIRTIO_SERIAL_CTRL_QUEUE] = msg;
    s->ctrl_count++;
    vser_flush_ctrl(s);
}

/* Build one control message (PORT_NAME carries the name); its length. */
static size_t vser_ctrl_build(VirtIOSerial *s, uint64_t msg, uint8_t *buf,
                              size_t size)
{
    uint32_t id = msg >> 32;
    uint16_t event = msg >> 16;
    size_t len = VIRTIO_CONSOLE_CTRL_SIZE;

    stl_le_p(buf, id);
    stw_le_p(buf + 4, event);
    stw_le_p(buf + 6, msg & 0xffff);
    if (event == VIRTIO_CONSOLE_PORT_NAME) {
        VirtIOSerialPort *port = id < s->max_ports ? s->ports[id] : NULL;
        const char *name = port && port->name ? port->name : "";
        size_t n = MIN(strlen(name), size - len - 1);

        memcpy(buf + len, name, n);
        len += n;
        buf[len++] = 0;
    }
    return len;
}

static void vser_flush_ctrl(VirtIOSerial *s)
{
    VirtQueueElement *e = &s->ctrl_in_elem;
    uint8_t buf[4096];     /* PORT_NAME: longer names are cut */
    bool pushed = false;

    while (s->ctrl_count && vser_driver_ok(s) &&
           virtqueue_pop(s->c_ivq, e)) {
        uint64_t msg = s->ctrl[s->ctrl_head];
        size_t len = vser_ctrl_build(s, msg, buf, sizeof(buf));

        if (virtqueue_elem_in_size(e) < len) {
            virtqueue_unpop(s->c_ivq, e);
            virtio_error(&s->vdev, "control receive buffer of %zu bytes "
                         "for a %zu-byte message",
                         virtqueue_elem_in_size(e), len);
            break;
        }
        virtqueue_elem_from_buf(e, 0, buf, len);
        virtqueue_push(s->c_ivq, e, len);
        pushed = true;
        s->ctrl_head = (s->ctrl_head + 1) % VIRTIO_SERIAL_CTRL_QUEUE;
        s->ctrl_count--;
    }
    if (pushed) {
        virtio_notify(&s->vdev, s->c_ivq);
    }
}

static void vser_port_ready(VirtIOSerial *s, VirtIOSerialPort *port)
{
    /* The guest set the port up: now it may hear what the port is. */
    if (port->ops->is_console) {
        vser_send_ctrl(s, port->id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
    }
    if (port->name) {
        vser_send_ctrl(s, port->id, VIRTIO_CONSOLE_PORT_NAME, 1);
    }
    if (port->host_connected) {
        vser_send_ctrl(s, port->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
    }
    if (port->ops->guest_ready) {
        port->ops->guest_ready(port);
    }
}

static void vser_set_guest_connected(VirtIOSerialPort *port, bool connected)
{
    port->guest_connected = connected;
    if (port->ops->set_guest_connected) {
        port->ops->set_guest_connected(port, connected);
    }
}

static void vser_handle_ctrl(VirtIOSerial *s, const uint8_t *msg)
{
    uint32_t id = ldl_le_p(msg);
    uint16_t event = lduw_le_p(msg + 4);
    uint16_t value = lduw_le_p(msg + 6);
    VirtIOSerialPort *port;

    if (event == VIRTIO_CONSOLE_DEVICE_READY) {
        if (!value) {
            vser_guest_error(s, "guest failure in adding device");
            return;
        }
        for (uint32_t i = 0; i < s->max_ports; i++) {
            if (s->ports[i]) {
                vser_send_ctrl(s, i, VIRTIO_CONSOLE_DEVICE_ADD, 1);
            }
        }
        return;
    }
    port = id < s->max_ports ? s->ports[id] : NULL;
    if (!port) {
        vser_guest_error(s, "unexpected port id %u", id);
        return;
    }
    switch (event) {
    case VIRTIO_CONSOLE_PORT_READY:
        if (!value) {
            vser_guest_error(s, "guest failure in adding port %u", id);
            return;
        }
        vser_port_ready(s, port);
        break;
    case VIRTIO_CONSOLE_PORT_OPEN:
        vser_set_guest_connected(port, value != 0);
        if (value && port->ops->guest_ready) {
            port->ops->guest_ready(port);
        }
        break;
    default:
        /* DEVICE_ADD, CONSOLE_PORT, RESIZE, ... go the other way. */
        vser_guest_error(s, "unexpected control event %u", event);
        break;
    }
}

static void vser_control_out(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;
    VirtQueueElement *e = &s->ctrl_out_elem;
    bool pushed = false;

    while (virtqueue_pop(vq, e)) {
        uint8_t msg[VIRTIO_CONSOLE_CTRL_SIZE];
        size_t n = virtqueue_elem_to_buf(e, 0, msg, sizeof(msg));

        virtqueue_push(vq, e, 0);
        pushed = true;
        if (n < sizeof(msg)) {
            vser_guest_error(s, "short control message (%zu bytes)", n);
            continue;
        }
        vser_handle_ctrl(s, msg);
    }
    if (pushed) {
        virtio_notify(vdev, vq);
    }
}

static void vser_control_in(VirtIODevice *vdev, VirtQueue *vq)
{
    vser_flush_ctrl((VirtIOSerial *)vdev);
}

/* ---- guest -> host ------------------------------------------------------ */

/* Give every transmit chain back unread (no host side to take it). */
static void vser_discard_tx(VirtIOSerial *s, VirtQueue *vq)
{
    bool pushed = false;

    while (virtqueue_pop(vq, &s->tx_elem)) {
        virtqueue_push(vq, &s->tx_elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(&s->vdev, vq);
    }
}

/*
 * Hand the chain's readable bytes from @port->tx_offset on to the front
 * end, straight from guest memory; false when it took fewer (throttled).
 */
static bool vser_send_elem(VirtIOSerialPort *port, VirtQueueElement *e)
{
    size_t skip = port->tx_offset;

    for (unsigned i = 0; i < e->out_num && !port->throttled; i++) {
        const uint8_t *base = e->sg[i].iov_base;
        size_t len = e->sg[i].iov_len;

        while (len > skip) {
            size_t n = port->ops->have_data(port, base + skip, len - skip);

            n = MIN(n, len - skip);
            port->tx_offset += n;
            skip += n;
            if (skip < len) {
                port->throttled = true;
                return false;
            }
        }
        skip -= MIN(skip, len);
    }
    return !port->throttled;
}

static void vser_flush_tx(VirtIOSerialPort *port)
{
    VirtIOSerial *s = port->vser;
    VirtQueue *vq;
    bool pushed = false;

    if (!s || !vser_driver_ok(s)) {
        return;
    }
    vq = &s->vdev.vq[vser_rx_queue(port->id) + 1];
    if (!port->host_connected) {
        port->tx_offset = 0;
        vser_discard_tx(s, vq);
        return;
    }
    while (!port->throttled && virtqueue_pop(vq, &s->tx_elem)) {
        if (!vser_send_elem(port, &s->tx_elem)) {
            /* The front end calls back when it has room; the chain
             * waits in the ring, tx_offset says how much of it went. */
            virtqueue_unpop(vq, &s->tx_elem);
            break;
        }
        port->tx_offset = 0;
        virtqueue_push(vq, &s->tx_elem, 0);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(&s->vdev, vq);
    }
}

static void vser_handle_output(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;
    VirtIOSerialPort *port = vser_port_of_queue(s, vq->index);

    if (!port) {
        vser_discard_tx(s, vq);     /* a queue without a port, as QEMU */
        return;
    }
    vser_flush_tx(port);
}

void virtio_serial_throttle_port(VirtIOSerialPort *port, bool throttle)
{
    port->throttled = throttle;
    if (!throttle) {
        vser_flush_tx(port);
    }
}

/* ---- host -> guest ------------------------------------------------------ */

static bool vser_port_receives(VirtIOSerialPort *port)
{
    VirtIOSerial *s = port->vser;

    return s && vser_driver_ok(s) && port->host_connected &&
           (!vser_multiport(s) ? port->id == 0 : port->guest_connected);
}

size_t virtio_serial_guest_ready(VirtIOSerialPort *port)
{
    VirtIOSerial *s = port->vser;

    if (!vser_port_receives(port)) {
        return 0;
    }
    return virtqueue_peek_in_bytes(&s->vdev.vq[vser_rx_queue(port->id)],
                                   &s->peek_elem, VIRTIO_SERIAL_PEEK_MAX);
}

size_t virtio_serial_write(VirtIOSerialPort *port, const uint8_t *buf,
                           size_t len)
{
    VirtIOSerial *s = port->vser;
    VirtQueue *vq;
    size_t done = 0;
    bool pushed = false;

    if (!vser_port_receives(port)) {
        return 0;
    }
    vq = &s->vdev.vq[vser_rx_queue(port->id)];
    while (done < len && virtqueue_pop(vq, &s->rx_elem)) {
        /* A chain without writable buffers is returned empty. */
        size_t n = virtqueue_elem_from_buf(&s->rx_elem, 0, buf + done,
                                           len - done);
        virtqueue_push(vq, &s->rx_elem, n);
        pushed = true;
        done += n;
    }
    if (pushed) {
        virtio_notify(&s->vdev, vq);
    }
    return done;
}

static void vser_handle_input(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;
    VirtIOSerialPort *port = vser_port_of_queue(s, vq->index);

    /* New receive buffers: the front end may deliver what it holds. */
    if (port && port->ops->guest_ready) {
        port->ops->guest_ready(port);
    }
}

/* ---- the host side of a port ------------------------------------------ */

void virtio_serial_open(VirtIOSerialPort *port)
{
    if (port->host_connected) {
        return;
    }
    port->host_connected = true;
    if (port->vser) {
        vser_send_ctrl(port->vser, port->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
        vser_flush_tx(port);
    }
}

void virtio_serial_close(VirtIOSerialPort *port)
{
    if (!port->host_connected) {
        return;
    }
    port->host_connected = false;
    /* What the guest had queued has nowhere to go now. */
    port->throttled = false;
    if (port->vser) {
        vser_send_ctrl(port->vser, port->id, VIRTIO_CONSOLE_PORT_OPEN, 0);
        vser_flush_tx(port);
    }
}

static QEMUClockType vser_event_clock(void)
{
    return qtest_enabled() ? QEMU_CLOCK_VIRTUAL : QEMU_CLOCK_REALTIME;
}

static void vser_emit_event(VirtIOSerialPort *port, bool open)
{
    port->event_sent = true;
    port->event_last_ns = qemu_clock_get_ns(vser_event_clock());
    qapi_event_send_vserport_change(port->parent.id, open);
}

static void vser_event_timer(void *opaque)
{
    VirtIOSerialPort *port = opaque;

    if (port->event_pending) {
        port->event_pending = false;
        vser_emit_event(port, port->event_value);
    }
}

/*
 * QEMU's monitor sends VSERPORT_CHANGE at most once a second per id (the
 * last state held back is sent when the second is over), on the virtual
 * clock under qtest and the realtime clock otherwise; a guest that
 * toggles a port in a loop cannot flood the monitor.
 */
void virtio_serial_port_event(VirtIOSerialPort *port, bool open)
{
    int64_t now;

    if (!port->parent.id) {
        return;
    }
    now = qemu_clock_get_ns(vser_event_clock());
    if (!timer_pending(port->event_timer) &&
        (!port->event_sent ||
         now - port->event_last_ns >= VSERPORT_EVENT_PERIOD_NS)) {
        vser_emit_event(port, open);
        return;
    }
    port->event_pending = true;
    port->event_value = open;
    if (!timer_pending(port->event_timer)) {
        timer_mod(port->event_timer,
                  port->event_last_ns + VSERPORT_EVENT_PERIOD_NS);
    }
}

/* ---- the device --------------------------------------------------------- */

static uint64_t vser_get_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;

    if (s->max_ports > 1) {
        features |= 1ULL << VIRTIO_CONSOLE_F_MULTIPORT;
    }
    if (s->emergency_write) {
        features |= 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE;
    }
    return features;
}

static void vser_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;

    stw_le_p(config + VIRTIO_CONSOLE_CFG_COLS, 0);
    stw_le_p(config + VIRTIO_CONSOLE_CFG_ROWS, 0);
    stl_le_p(config + VIRTIO_CONSOLE_CFG_MAX_NR_PORTS, s->max_ports);
    stl_le_p(config + VIRTIO_CONSOLE_CFG_EMERG_WR, 0);
}

/* emerg_wr (5.3.4): one byte for the first console with a host side. */
static void vser_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;
    uint32_t emerg = ldl_le_p(config + VIRTIO_CONSOLE_CFG_EMERG_WR);
    uint8_t byte = emerg & 0xff;

    if (!s->emergency_write || !emerg) {
        return;
    }
    /* A later short config write must not repeat it. */
    stl_le_p(vdev->config + VIRTIO_CONSOLE_CFG_EMERG_WR, 0);
    for (uint32_t i = 0; i < s->max_ports; i++) {
        VirtIOSerialPort *port = s->ports[i];
        if (port && port->ops->is_console && port->host_connected) {
            /* Emergency output must not wait: a full host side loses it. */
            port->ops->have_data(port, &byte, 1);
            return;
        }
    }
}

static void vser_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;

    if (!(status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    if (!vser_multiport(s) && s->ports[0]) {
        /* Such a driver cannot say it opened port 0: it did by starting. */
        s->ports[0]->guest_connected = true;
    }
    for (uint32_t i = 0; i < s->max_ports; i++) {
        if (s->ports[i]) {
            vser_flush_tx(s->ports[i]);
            if (s->ports[i]->ops->guest_ready) {
                s->ports[i]->ops->guest_ready(s->ports[i]);
            }
        }
    }
}

static void vser_reset(VirtIODevice *vdev)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;

    s->ctrl_head = s->ctrl_count = 0;
    s->guest_error_logged = false;
    for (uint32_t i = 0; i < s->max_ports; i++) {
        VirtIOSerialPort *port = s->ports[i];
        if (!port) {
            continue;
        }
        port->tx_offset = 0;
        port->throttled = false;
        if (port->guest_connected) {
            vser_set_guest_connected(port, false);
        }
    }
}

static bool vser_realize(VirtIODevice *vdev, GError **errp)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;
    VirtIOPCIProxy *p = virtio_pci_proxy(vdev);
    DeviceState *dev = vdev->dev;

    if (!s->max_ports) {
        error_setg(errp, "Maximum number of serial ports not specified");
        return false;
    }
    if (s->max_ports > VIRTIO_SERIAL_MAX_PORTS) {
        error_setg(errp, "maximum ports supported: %u",
                   VIRTIO_SERIAL_MAX_PORTS);
        return false;
    }
    if (p->nvectors == VIRTIO_PCI_NVECTORS_UNSPECIFIED) {
        p->nvectors = s->max_ports + 1;     /* QEMU's default */
    }
    if (s->class_code != 0x0780 && s->class_code != 0x0380 &&
        s->class_code != PCI_CLASS_OTHERS) {
        s->class_code = 0x0780;     /* as QEMU: other values are ignored */
    }
    p->class_code = s->class_code;
    /* port 0 at 0/1, the control queues at 2/3, port N at 2N+2/2N+3 */
    virtio_add_queue(vdev, VIRTIO_SERIAL_QUEUE_SIZE, vser_handle_input);
    virtio_add_queue(vdev, VIRTIO_SERIAL_QUEUE_SIZE, vser_handle_output);
    s->c_ivq = virtio_add_queue(vdev, VIRTIO_SERIAL_CTRL_SIZE,
                                vser_control_in);
    s->c_ovq = virtio_add_queue(vdev, VIRTIO_SERIAL_CTRL_SIZE,
                                vser_control_out);
    for (uint32_t i = 1; i < s->max_ports; i++) {
        virtio_add_queue(vdev, VIRTIO_SERIAL_QUEUE_SIZE, vser_handle_input);
        virtio_add_queue(vdev, VIRTIO_SERIAL_QUEUE_SIZE, vser_handle_output);
    }
    s->bus_name = dev->id ? g_strdup_printf("%s.0", dev->id)
                          : g_strdup_printf(TYPE_VIRTIO_SERIAL_BUS ".%u",
                                            vser_auto_bus_ids++);
    if (!vser_buses) {
        vser_buses = g_ptr_array_new();
    }
    g_ptr_array_add(vser_buses, s);
    return true;
}

static void vser_unrealize(VirtIODevice *vdev)
{
    VirtIOSerial *s = (VirtIOSerial *)vdev;

    /* Ports that outlive the device (teardown order) forget it. */
    for (uint32_t i = 0; i < VIRTIO_SERIAL_MAX_PORTS; i++) {
        if (s->ports[i]) {
            s->ports[i]->vser = NULL;
            s->ports[i] = NULL;
        }
    }
    g_ptr_array_remove(vser_buses, s);
    g_free(s->bus_name);
    s->bus_name = NULL;
}

/* ---- ports on the bus ---------------------------------------------------- */

static VirtIOSerial *vser_find_bus(const char *name, GError **errp)
{
    for (unsigned i = 0; vser_buses && i < vser_buses->len; i++) {
        VirtIOSerial *s = g_ptr_array_index(vser_buses, i);
        if (!name || !strcmp(s->bus_name, name)) {
            return s;
        }
    }
    if (name) {
        error_setg(errp, "Bus '%s' not found", name);
    } else {
        error_setg(errp, "No '" TYPE_VIRTIO_SERIAL_BUS "' bus found for "
                   "device");
    }
    return NULL;
}

static bool vser_name_in_use(const char *name)
{
    for (unsigned i = 0; vser_buses && i < vser_buses->len; i++) {
        VirtIOSerial *s = g_ptr_array_index(vser_buses, i);
        for (uint32_t j = 0; j < s->max_ports; j++) {
            if (s->ports[j] && s->ports[j]->name &&
                !strcmp(s->ports[j]->name, name)) {
                return true;
            }
        }
    }
    return false;
}

/* QEMU's numbering: port 0 is kept for a console, others take the first
 * free id from 1. */
static uint32_t vser_free_id(VirtIOSerial *s, bool console)
{
    if (console && !s->ports[0]) {
        return 0;
    }
    for (uint32_t i = 1; i < s->max_ports; i++) {
        if (!s->ports[i]) {
            return i;
        }
    }
    return VIRTIO_SERIAL_BAD_ID;
}

bool virtio_serial_port_plug(VirtIOSerialPort *port, GError **errp)
{
    VirtIOSerial *s = vser_find_bus(port->bus_name, errp);
    uint32_t id = port->nr;

    if (!s) {
        return false;
    }
    if (id == VIRTIO_SERIAL_BAD_ID) {
        id = vser_free_id(s, port->ops->is_console);
        if (id == VIRTIO_SERIAL_BAD_ID) {
            error_setg(errp, "Maximum port limit for this device reached");
            return false;
        }
    }
    if (id >= s->max_ports) {
        error_setg(errp, "virtio-serial-bus: Out-of-range port id specified, "
                   "max. allowed: %u", s->max_ports - 1);
        return false;
    }
    if (s->ports[id]) {
        error_setg(errp, "virtio-serial-bus: A port already exists at id %u",
                   id);
        return false;
    }
    if (id == 0 && !port->ops->is_console) {
        error_setg(errp, "Port number 0 on virtio-serial devices reserved "
                   "for virtconsole devices for backward compatibility.");
        return false;
    }
    if (port->name && vser_name_in_use(port->name)) {
        error_setg(errp, "virtio-serial-bus: A port already exists by name "
                   "%s", port->name);
        return false;
    }
    port->id = id;
    port->vser = s;
    s->ports[id] = port;
    /* A driver that is up learns of the new port (hotplug). */
    vser_send_ctrl(s, id, VIRTIO_CONSOLE_DEVICE_ADD, 1);
    return true;
}

void virtio_serial_port_unplug(VirtIOSerialPort *port)
{
    VirtIOSerial *s = port->vser;

    if (!s) {
        return;
    }
    vser_discard_tx(s, &s->vdev.vq[vser_rx_queue(port->id) + 1]);
    vser_send_ctrl(s, port->id, VIRTIO_CONSOLE_DEVICE_REMOVE, 1);
    s->ports[port->id] = NULL;
    port->vser = NULL;
}

static bool vser_port_realize(DeviceState *dev, GError **errp)
{
    VirtIOSerialPort *port = (VirtIOSerialPort *)dev;

    port->ops = dev->type->class_data;
    if (!virtio_serial_port_plug(port, errp)) {
        return false;
    }
    port->event_timer = timer_new_ns(vser_event_clock(), vser_event_timer,
                                     port);
    return true;
}

static void vser_port_unrealize(DeviceState *dev)
{
    VirtIOSerialPort *port = (VirtIOSerialPort *)dev;

    virtio_serial_port_unplug(port);
    timer_free(port->event_timer);
    port->event_timer = NULL;
}

static const Property vser_port_props[] = {
    DEFINE_PROP("bus", VirtIOSerialPort, bus_name, PROP_STRING, NULL,
                "virtio-serial bus: ID.0 of a virtio-serial-pci with an id, "
                "or virtio-serial-bus.N (default: the first)"),
    DEFINE_PROP("nr", VirtIOSerialPort, nr, PROP_UINT32, "4294967295",
                "port number (default: the first free one; 0 is for a "
                "virtconsole)"),
    DEFINE_PROP("name", VirtIOSerialPort, name, PROP_STRING, NULL,
                "name the guest sees (e.g. org.qemu.guest_agent.0)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType vser_port_type = {
    .name = TYPE_VIRTIO_SERIAL_PORT,
    .parent = TYPE_DEVICE,
    .desc = "a port on a virtio-serial bus",
    .instance_size = sizeof(VirtIOSerialPort),
    .abstract = true,
    .props = vser_port_props,
    .realize = vser_port_realize,
    .unrealize = vser_port_unrealize,
};

/* ---- device state --------------------------------------------------------- */

static int vser_pre_save(void *opaque)
{
    VirtIOSerial *s = &((VirtIOSerialPCI *)opaque)->ser;

    s->ports_map = 0;
    memset(s->pstate, 0, sizeof(s->pstate));
    for (uint32_t i = 0; i < s->max_ports; i++) {
        VirtIOSerialPort *port = s->ports[i];
        if (port) {
            s->ports_map |= 1u << i;
            s->pstate[i].guest_connected = port->guest_connected;
            s->pstate[i].host_connected = port->host_connected;
            s->pstate[i].tx_offset = port->tx_offset;
        }
    }
    return 0;
}

static int vser_post_load(void *opaque, int version_id)
{
    VirtIOSerialPCI *d = opaque;
    VirtIOSerial *s = &d->ser;
    uint32_t live = 0;

    for (uint32_t i = 0; i < s->max_ports; i++) {
        live |= s->ports[i] ? 1u << i : 0;
    }
    if (s->ports_map != live || s->ctrl_head >= VIRTIO_SERIAL_CTRL_QUEUE ||
        s->ctrl_count > VIRTIO_SERIAL_CTRL_QUEUE) {
        return -1;      /* other ports than here, or a broken queue */
    }
    if (!virtio_core_post_load(&s->vdev)) {
        return -1;
    }
    virtio_pci_post_load(&d->proxy);
    for (uint32_t i = 0; i < s->max_ports; i++) {
        VirtIOSerialPort *port = s->ports[i];
        if (!port) {
            continue;
        }
        port->guest_connected = s->pstate[i].guest_connected;
        port->tx_offset = s->pstate[i].tx_offset;
        port->throttled = false;
        /* The host side here may differ from the source's: tell. */
        if (port->host_connected != s->pstate[i].host_connected) {
            vser_send_ctrl(s, i, VIRTIO_CONSOLE_PORT_OPEN,
                           port->host_connected);
        }
    }
    return 0;
}

static const VMStateDescription vmstate_vser_port = {
    .name = "virtio-serial-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(guest_connected, VSerPortState),
        VMSTATE_BOOL(host_connected, VSerPortState),
        VMSTATE_UINT32(tx_offset, VSerPortState),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_virtio_serial = {
    .name = "virtio-serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = vser_pre_save,
    .post_load = vser_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(ser.vdev, VirtIOSerialPCI, vmstate_virtio_core,
                       VirtIODevice),
        VMSTATE_UINT32(ser.ports_map, VirtIOSerialPCI),
        VMSTATE_STRUCT_ARRAY(ser.pstate, VirtIOSerialPCI,
                             VIRTIO_SERIAL_MAX_PORTS, vmstate_vser_port,
                             VSerPortState),
        VMSTATE_UINT64_ARRAY(ser.ctrl, VirtIOSerialPCI,
                             VIRTIO_SERIAL_CTRL_QUEUE),
        VMSTATE_UINT32(ser.ctrl_head, VirtIOSerialPCI),
        VMSTATE_UINT32(ser.ctrl_count, VirtIOSerialPCI),
        VMSTATE_END_OF_LIST()
    },
};

static const VirtioDeviceClass vser_vdc = {
    .device_id = VIRTIO_ID_CONSOLE,
    .legacy_pci_device_id = 0x1003,
    .pci_class_id = 0x0780,
    .config_size = VIRTIO_CONSOLE_CFG_SIZE,
    .get_features = vser_get_features,
    .get_config = vser_get_config,
    .set_config = vser_set_config,
    .set_status = vser_set_status,
    .reset = vser_reset,
};

static const VirtioPCIClass vser_pci_class = {
    .pci = {
        .vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
        .device_id = 0x1003,
        .class_id = 0x0780,
        .interrupt_pin = 1,
        .config_read = virtio_pci_config_read,
        .config_write = virtio_pci_config_write,
    },
    .vdc = &vser_vdc,
    .vdev_offset = offsetof(VirtIOSerialPCI, ser),
    .realize = vser_realize,
    .unrealize = vser_unrealize,
};

static const Property vser_pci_props[] = {
    DEFINE_PROP("max_ports", VirtIOSerialPCI, ser.max_ports, PROP_UINT32,
                "31", "ports (1-31; each has a queue pair)"),
    DEFINE_PROP("emergency-write", VirtIOSerialPCI, ser.emergency_write,
                PROP_BOOL, "on", "offer VIRTIO_CONSOLE_F_EMERG_WRITE"),
    DEFINE_PROP("class", VirtIOSerialPCI, ser.class_code, PROP_UINT32,
                "0x0780", "PCI class: 0x0780, 0x0380 or 0x00ff"),
    DEFINE_PROP("vectors", VirtIOSerialPCI, proxy.nvectors, PROP_UINT32,
                "4294967295", "MSI-X vectors (0: INTx only; default: "
                "max_ports + 1)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType virtio_serial_pci_type = {
    .name = TYPE_VIRTIO_SERIAL_PCI,
    .parent = "virtio-pci",
    .desc = "virtio-serial-pci",
    .instance_size = sizeof(VirtIOSerialPCI),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_INPUT,
    .props = vser_pci_props,
    .vmsd = &vmstate_virtio_serial,
    .class_data = &vser_pci_class,
};

static void virtio_serial_register(void)
{
    device_type_register(&virtio_serial_pci_type);
    device_type_register_alias("virtio-serial", TYPE_VIRTIO_SERIAL_PCI);
    device_type_register(&vser_port_type);
}
type_init(virtio_serial_register)
