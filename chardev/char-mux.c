/*
 * "mux": several frontends (a serial port and a monitor, typically) share
 * one backend, as -nographic's "mon:stdio" does.
 *
 * All frontends' output goes to the backend.  Input goes to the frontend
 * that has the focus; Ctrl-A is an escape: C-a c moves the focus to the
 * next frontend, C-a x quits, C-a h prints help, C-a b sends a break,
 * C-a t toggles output timestamps, C-a C-a sends a Ctrl-A.
 *
 * The mux is the (only) frontend of the backend chardev.  Each mux
 * frontend gets a small input buffer so that escapes are still seen while
 * the focused frontend cannot take input; when that buffer is full the
 * backend is throttled as with any frontend.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "system/runstate.h"
#include "system/timer.h"

#define MUX_MAX_FRONTENDS 4
#define MUX_BUF_SIZE 4096
#define MUX_ESCAPE_CHAR 0x01        /* Ctrl-A */

typedef struct MuxFrontend {
    ChrCanReadHandler *can_read;
    ChrReadHandler *read;
    ChrEventHandler *event;
    void *opaque;
    GByteArray *buf;                /* input waiting for can_read */
} MuxFrontend;

typedef struct MuxState {
    Chardev *chr;                   /* the mux itself */
    Chardev *base;                  /* the backend underneath */
    MuxFrontend fe[MUX_MAX_FRONTENDS];
    int count;
    int focus;                      /* index into fe[], -1 = none */
    bool got_escape;
    bool timestamps;                /* C-a t */
    int64_t timestamps_start;       /* ms, -1 = at the next line */
    bool linestart;
} MuxState;

static void mux_send_event(MuxState *s, int idx, ChrEvent event)
{
    MuxFrontend *fe = &s->fe[idx];

    if (fe->event) {
        fe->event(fe->opaque, event);
    }
}

/* Hand buffered input to frontend @idx as fast as it takes it. */
static void mux_deliver(MuxState *s, int idx)
{
    MuxFrontend *fe = &s->fe[idx];

    while (fe->buf->len && fe->read) {
        int n = fe->can_read ? fe->can_read(fe->opaque) : (int)fe->buf->len;
        if (n <= 0) {
            return;
        }
        n = MIN((guint)n, fe->buf->len);
        g_autofree uint8_t *tmp = g_memdup2(fe->buf->data, n);
        g_byte_array_remove_range(fe->buf, 0, n);
        fe->read(fe->opaque, tmp, n);
        /* The handler may have detached frontends: re-check the index. */
        if (idx >= s->count || &s->fe[idx] != fe) {
            return;
        }
    }
}

static void mux_set_focus(MuxState *s, int idx)
{
    if (s->focus >= 0 && s->focus < s->count) {
        mux_send_event(s, s->focus, CHR_EVENT_MUX_OUT);
    }
    s->focus = idx;
    mux_send_event(s, idx, CHR_EVENT_MUX_IN);
    mux_deliver(s, idx);
}

static void mux_print_help(MuxState *s)
{
    static const char *const lines[] = {
        "C-a h    print this help\n\r",
        "C-a x    exit emulator\n\r",
        "C-a s    save disk data back to file (if -snapshot)\n\r",
        "C-a t    toggle console timestamps\n\r",
        "C-a b    send break (magic sysrq)\n\r",
        "C-a c    switch between console and monitor\n\r",
        "C-a C-a  sends C-a\n\r",
    };

    qemu_chr_printf_str(s->base, "\n\r");
    for (unsigned i = 0; i < ARRAY_SIZE(lines); i++) {
        qemu_chr_printf_str(s->base, lines[i]);
    }
}

/* The byte after C-a. */
static void mux_escape_command(MuxState *s, uint8_t ch)
{
    switch (ch) {
    case '?':
    case 'h':
        mux_print_help(s);
        break;
    case 'x':
        /* As QEMU: leave through the normal quit path (terminal restored,
         * SHUTDOWN event, exit status 0). */
        qemu_chr_printf_str(s->base, "QEMU: Terminated\n\r");
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
        break;
    case 'b':
        if (s->focus >= 0) {
            mux_send_event(s, s->focus, CHR_EVENT_BREAK);
        }
        break;
    case 'c':
        if (s->count) {
            mux_set_focus(s, (s->focus + 1) % s->count);
        }
        break;
    case 't':
        s->timestamps = !s->timestamps;
        s->timestamps_start = -1;
        s->linestart = false;
        break;
    default:
        /* 's' (commit -snapshot disks) has nothing to do; others: QEMU
         * ignores unknown escapes too. */
        break;
    }
}

/* Escape processing: true if @ch is data for the focused frontend. */
static bool mux_proc_byte(MuxState *s, uint8_t ch)
{
    if (s->got_escape) {
        s->got_escape = false;
        if (ch == MUX_ESCAPE_CHAR) {
            return true;
        }
        mux_escape_command(s, ch);
        return false;
    }
    if (ch == MUX_ESCAPE_CHAR) {
        s->got_escape = true;
        return false;
    }
    return true;
}

static int mux_can_read(void *opaque)
{
    MuxState *s = opaque;

    if (s->focus < 0) {
        return 0;   /* nobody to give input to yet: let it wait */
    }
    return MUX_BUF_SIZE - (int)MIN(s->fe[s->focus].buf->len,
                                   (guint)MUX_BUF_SIZE);
}

static void mux_read(void *opaque, const uint8_t *buf, int len)
{
    MuxState *s = opaque;

    for (int i = 0; i < len; i++) {
        /* An escape command may move the focus: look it up per byte. */
        if (mux_proc_byte(s, buf[i]) && s->focus >= 0) {
            g_byte_array_append(s->fe[s->focus].buf, &buf[i], 1);
        }
    }
    if (s->focus >= 0) {
        mux_deliver(s, s->focus);
    }
}

static void mux_event(void *opaque, ChrEvent event)
{
    MuxState *s = opaque;

    if (event == CHR_EVENT_OPENED) {
        s->chr->be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        s->chr->be_open = false;
    }
    if (event == CHR_EVENT_BREAK) {
        if (s->focus >= 0) {
            mux_send_event(s, s->focus, event);
        }
        return;
    }
    for (int i = 0; i < s->count; i++) {
        mux_send_event(s, i, event);
    }
}

static bool mux_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    MuxState *s = chr->state;
    const char *base_id = g_hash_table_lookup(opts, "chardev");

    if (!base_id) {
        error_setg(errp, "chardev: mux: no chardev given");
        return false;
    }
    s->base = qemu_chr_find(base_id);
    if (!s->base) {
        error_setg(errp, "mux: base chardev %s not found", base_id);
        return false;
    }
    s->chr = chr;
    s->focus = -1;
    s->timestamps_start = -1;
    if (!qemu_chr_fe_attach(s->base, mux_can_read, mux_read, mux_event, s,
                            errp)) {
        return false;
    }
    chr->be_open = s->base->be_open;
    chr->filename = g_strdup("mux");
    return true;
}

static void mux_write_timestamp(MuxState *s)
{
    int64_t ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    char stamp[64];
    int secs;

    if (s->timestamps_start == -1) {
        s->timestamps_start = ms;
    }
    ms -= s->timestamps_start;
    secs = ms / 1000;
    snprintf(stamp, sizeof(stamp), "[%02d:%02d:%02d.%03d] ", secs / 3600,
             (secs / 60) % 60, secs % 60, (int)(ms % 1000));
    qemu_chr_printf_str(s->base, stamp);
}

static int mux_write(Chardev *chr, const uint8_t *buf, int len)
{
    MuxState *s = chr->state;
    int start = 0;

    if (!s->timestamps) {
        return qemu_chr_write_all(s->base, buf, len);
    }
    /* Stamp the start of every output line. */
    for (int i = 0; i < len; i++) {
        if (s->linestart) {
            if (i > start) {
                qemu_chr_write_all(s->base, buf + start, i - start);
                start = i;
            }
            mux_write_timestamp(s);
            s->linestart = false;
        }
        if (buf[i] == '\n') {
            s->linestart = true;
        }
    }
    qemu_chr_write_all(s->base, buf + start, len - start);
    return len;
}

static void mux_accept_input(Chardev *chr)
{
    MuxState *s = chr->state;

    if (s->focus >= 0) {
        mux_deliver(s, s->focus);
    }
    qemu_chr_fe_accept_input(s->base);
}

static int mux_find(MuxState *s, void *opaque)
{
    for (int i = 0; i < s->count; i++) {
        if (s->fe[i].opaque == opaque) {
            return i;
        }
    }
    return -1;
}

static void mux_detach(MuxState *s, int idx)
{
    bool had_focus = s->focus == idx;

    g_byte_array_unref(s->fe[idx].buf);
    memmove(&s->fe[idx], &s->fe[idx + 1],
            (s->count - idx - 1) * sizeof(MuxFrontend));
    s->count--;
    if (had_focus) {
        /* The next frontend in line takes over the input. */
        s->focus = -1;
        if (s->count) {
            mux_set_focus(s, idx % s->count);
        }
    } else if (s->focus > idx) {
        s->focus--;
    }
}

/*
 * The first frontend gets the focus; later ones start in the background
 * (MUX_OUT before OPENED, so a monitor can hold back its banner until it
 * is switched to).
 */
static bool mux_fe_set_handlers(Chardev *chr, ChrCanReadHandler *can_read,
                                ChrReadHandler *read, ChrEventHandler *event,
                                void *opaque, GError **errp)
{
    MuxState *s = chr->state;
    int idx = mux_find(s, opaque);
    bool attach = read || event;

    if (!attach) {
        if (idx >= 0) {
            mux_detach(s, idx);
        }
        return true;
    }
    if (idx < 0) {
        if (s->count == MUX_MAX_FRONTENDS) {
            error_setg(errp, "too many uses of multiplexed chardev '%s' "
                       "(maximum is %d)", chr->id, MUX_MAX_FRONTENDS);
            return false;
        }
        idx = s->count++;
        s->fe[idx] = (MuxFrontend){ .buf = g_byte_array_new() };
    }
    s->fe[idx].can_read = can_read;
    s->fe[idx].read = read;
    s->fe[idx].event = event;
    s->fe[idx].opaque = opaque;
    if (s->focus < 0) {
        s->focus = idx;
    } else if (s->focus != idx) {
        mux_send_event(s, idx, CHR_EVENT_MUX_OUT);
    }
    if (chr->be_open) {
        mux_send_event(s, idx, CHR_EVENT_OPENED);
    }
    mux_accept_input(chr);
    return true;
}

static bool mux_fe_is_open(Chardev *chr)
{
    MuxState *s = chr->state;
    return s->count > 0;
}

static void mux_close(Chardev *chr)
{
    MuxState *s = chr->state;

    for (int i = 0; i < s->count; i++) {
        g_byte_array_unref(s->fe[i].buf);
    }
    s->count = 0;
    s->focus = -1;
    qemu_chr_fe_set_handlers(s->base, NULL, NULL, NULL, NULL);
}

static bool mux_disconnect(Chardev *chr)
{
    MuxState *s = chr->state;
    return qemu_chr_fe_disconnect(s->base);
}

static const char *const mux_opts[] = {
    "chardev", NULL,
};

static const ChardevDriver mux_driver = {
    .name = "mux",
    .opts = mux_opts,
    .open = mux_open,
    .write = mux_write,
    .accept_input = mux_accept_input,
    .close = mux_close,
    .state_size = sizeof(MuxState),
    .fe_set_handlers = mux_fe_set_handlers,
    .fe_is_open = mux_fe_is_open,
    .disconnect = mux_disconnect,
};

static void mux_register(void)
{
    chardev_driver_register(&mux_driver);
}
chardev_init(mux_register)
