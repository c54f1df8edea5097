/*
 * -chardev spicevmc,id=ID,name=vdagent|usbredir|smartcard and
 * -chardev spiceport,id=ID,name=FQDN: byte streams between a guest
 * frontend (a virtserialport, usually) and a SPICE client, through
 * libspice-server's char device interface (SpiceCharDeviceInterface).
 *
 * Guest -> client: the frontend writes with qemu_chr_fe_write_nb; the
 * bytes are offered to libspice-server (spice_server_char_device_wakeup
 * reads them synchronously through vmc_read, as much as its buffers
 * take); what it left is reported short, and the frontend is called back
 * (qemu_chr_be_writable) once libspice-server asks for more.
 * Client -> guest: libspice-server calls vmc_write; only what the
 * frontend can take now is passed on, the rest stays with
 * libspice-server until the frontend accepts input again (then a wakeup
 * makes it retry).  Nothing is queued here, so memory is bounded by
 * libspice-server's own tokens.
 *
 * Open state: the agent (spicevmc name=vdagent) exists for
 * libspice-server only while the guest has the port open (the interface
 * is added on open, removed on close), as QEMU; a spiceport is added at
 * once and told SPICE_PORT_EVENT_OPENED/CLOSED.  libspice-server's
 * state(connected) callback -- a client attached to the channel -- is the
 * backend's CHR_EVENT_OPENED/CLOSED, so the guest sees the host side of
 * the port open.
 */
#define UI_SPICE_INTERNAL
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "ui/spice.h"
#include <spice/protocol.h>

typedef struct SpiceChardev {
    SpiceCharDeviceInstance sin;
    Chardev *chr;
    bool is_port;
    bool added;                 /* interface known to libspice-server */
    char *name;

    /* guest -> client, valid during one write_nb */
    const uint8_t *datapos;
    int datalen;
    bool blocked;               /* a short write waits for a read */
    guint writable_idle;
} SpiceChardev;

/* ---- libspice-server's side (main thread) --------------------------------- */

static gboolean writable_idle(gpointer opaque)
{
    SpiceChardev *s = opaque;

    s->writable_idle = 0;
    qemu_chr_be_writable(s->chr);
    return G_SOURCE_REMOVE;
}

/* Client -> guest. */
static int vmc_write(SpiceCharDeviceInstance *sin, const uint8_t *buf,
                     int len)
{
    SpiceChardev *s = container_of(sin, SpiceChardev, sin);
    Chardev *chr = s->chr;
    int room;

    if (!chr->fe_read) {
        return 0;               /* no frontend: libspice-server keeps it */
    }
    room = chr->fe_can_read ? chr->fe_can_read(chr->fe_opaque) : len;
    room -= (int)MIN(chr->pending_in->len, (guint)INT_MAX);
    room = MAX(0, MIN(room, len));
    if (room) {
        qemu_chr_be_write(chr, buf, room);
    }
    return room;
}

/* Guest -> client: libspice-server takes up to @len bytes. */
static int vmc_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    SpiceChardev *s = container_of(sin, SpiceChardev, sin);
    int n = MIN(len, s->datalen);

    if (n > 0) {
        memcpy(buf, s->datapos, n);
        s->datapos += n;
        s->datalen -= n;
    } else if (s->blocked && !s->writable_idle) {
        /* it wants more: let the frontend write again, from the loop */
        s->blocked = false;
        s->writable_idle = g_idle_add(writable_idle, s);
    }
    return n;
}

static void vmc_state(SpiceCharDeviceInstance *sin, int connected)
{
    SpiceChardev *s = container_of(sin, SpiceChardev, sin);

    if (!!connected == s->chr->be_open) {
        return;
    }
    qemu_chr_be_event(s->chr, connected ? CHR_EVENT_OPENED
                                        : CHR_EVENT_CLOSED);
}

static void vmc_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    /* port events from the client (SPICE_PORT_EVENT_BREAK): nothing */
}

static SpiceCharDeviceInterface vmc_interface = {
    .base.type = SPICE_INTERFACE_CHAR_DEVICE,
    .base.description = "kvmpc spice chardev",
    .base.major_version = SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
    .base.minor_version = SPICE_INTERFACE_CHAR_DEVICE_MINOR,
    .state = vmc_state,
    .write = vmc_write,
    .read = vmc_read,
    .event = vmc_event,
};

static void register_interface(SpiceChardev *s)
{
    GError *err = NULL;

    if (s->added) {
        return;
    }
    s->sin.base.sif = &vmc_interface.base;
    if (!qemu_spice_add_interface(&s->sin.base, &err)) {
        fprintf(stderr, "kvmpc: chardev %s: %s\n", s->chr->id, err->message);
        g_error_free(err);
        return;
    }
    s->added = true;
}

static void unregister_interface(SpiceChardev *s)
{
    if (!s->added) {
        return;
    }
    spice_server_remove_interface(&s->sin.base);
    s->added = false;
    if (s->chr->be_open) {
        qemu_chr_be_event(s->chr, CHR_EVENT_CLOSED);
    }
}

/* ---- the chardev driver ----------------------------------------------------- */

static int spice_chr_write_nb(Chardev *chr, const uint8_t *buf, int len)
{
    SpiceChardev *s = chr->state;
    int taken;

    if (!s->added) {
        return len;             /* nobody reads: dropped, as a closed port */
    }
    s->datapos = buf;
    s->datalen = len;
    spice_server_char_device_wakeup(&s->sin);
    taken = len - s->datalen;
    s->datapos = NULL;
    s->datalen = 0;
    if (taken < len) {
        s->blocked = true;
    }
    return taken;
}

static int spice_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    /* writers without flow control: what libspice-server cannot take now
     * is dropped rather than blocking the main loop */
    spice_chr_write_nb(chr, buf, len);
    return len;
}

static void spice_chr_accept_input(Chardev *chr)
{
    SpiceChardev *s = chr->state;

    if (s->added) {
        spice_server_char_device_wakeup(&s->sin);
    }
}

static void spice_chr_fe_open_changed(Chardev *chr, bool open)
{
    SpiceChardev *s = chr->state;

    if (s->is_port) {
        if (s->added) {
            spice_server_port_event(&s->sin, open ? SPICE_PORT_EVENT_OPENED
                                                  : SPICE_PORT_EVENT_CLOSED);
        }
    } else if (open) {
        register_interface(s);
    } else {
        unregister_interface(s);
    }
}

static void spice_chr_close(Chardev *chr)
{
    SpiceChardev *s = chr->state;

    unregister_interface(s);
    if (s->writable_idle) {
        g_source_remove(s->writable_idle);
    }
    g_free(s->name);
}

static bool spice_chr_open_common(Chardev *chr, GHashTable *opts,
                                  bool is_port, GError **errp)
{
    SpiceChardev *s = chr->state;
    const char *name = g_hash_table_lookup(opts, "name");

    if (!name || !*name) {
        error_setg(errp, "spice-qemu-char: missing name parameter");
        return false;
    }
    if (!qemu_spice_enabled()) {
        error_setg(errp, "spice is not enabled (give -spice before "
                   "-chardev %s)", is_port ? "spiceport" : "spicevmc");
        return false;
    }
    s->chr = chr;
    s->is_port = is_port;
    s->name = g_strdup(name);
    if (is_port) {
        s->sin.subtype = "port";
        s->sin.portname = s->name;
        register_interface(s);
        return s->added || (error_setg(errp, "spiceport %s: cannot add it",
                                       name), false);
    }
    {
        const char **subtypes = spice_server_char_device_recognized_subtypes();
        bool known = false;

        for (const char **t = subtypes; *t; t++) {
            known |= !strcmp(*t, name);
        }
        if (!known) {
            g_autofree char *list = g_strjoinv(", ", (char **)subtypes);
            error_setg(errp, "unsupported spicevmc name '%s' (supported: %s)",
                       name, list);
            return false;
        }
    }
    s->sin.subtype = s->name;
    return true;
}

static bool spicevmc_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    return spice_chr_open_common(chr, opts, false, errp);
}

static bool spiceport_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    return spice_chr_open_common(chr, opts, true, errp);
}

static const char *const spice_chr_opts[] = {
    "name", "debug", NULL,
};

static const ChardevDriver spicevmc_driver = {
    .name = "spicevmc",
    .opts = spice_chr_opts,
    .open = spicevmc_open,
    .write = spice_chr_write,
    .write_nb = spice_chr_write_nb,
    .accept_input = spice_chr_accept_input,
    .close = spice_chr_close,
    .fe_open_changed = spice_chr_fe_open_changed,
    .state_size = sizeof(SpiceChardev),
};

static const ChardevDriver spiceport_driver = {
    .name = "spiceport",
    .opts = spice_chr_opts,
    .open = spiceport_open,
    .write = spice_chr_write,
    .write_nb = spice_chr_write_nb,
    .accept_input = spice_chr_accept_input,
    .close = spice_chr_close,
    .fe_open_changed = spice_chr_fe_open_changed,
    .state_size = sizeof(SpiceChardev),
};

static void spice_chardev_register(void)
{
    chardev_driver_register(&spicevmc_driver);
    chardev_driver_register(&spiceport_driver);
}
chardev_init(spice_chardev_register);
