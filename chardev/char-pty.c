/*
 * "pty" backend: a pseudo-terminal whose slave side the user opens
 * (screen, minicom).  Its path is printed as QEMU does ("char device
 * redirected to /dev/pts/N (label ID)") and shown by query-chardev.
 *
 * We keep only the master.  While nobody has the slave open, reading the
 * master fails with EIO: that is "disconnected", output is dropped (as in
 * QEMU).  Someone opening the slave is seen through inotify (IN_OPEN on
 * the slave's /dev/pts node), so a pty nobody uses costs no wake-ups;
 * where inotify is not available a 1 s timer polls instead (QEMU's way).
 * A write while disconnected looks too, so output right after the slave
 * was opened is not lost.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "chardev/char-fd.h"
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <sys/inotify.h>

typedef struct PtyState {
    Chardev *chr;
    int master;
    bool connected;
    ChrFdReader reader;
    guint poll_timer;
    int inotify_fd;         /* watches the slave's opens, or -1 */
    guint inotify_watch;
} PtyState;

static void pty_start_polling(PtyState *s);

static void pty_set_connected(PtyState *s, bool connected)
{
    if (s->connected == connected) {
        return;
    }
    s->connected = connected;
    if (connected) {
        chr_fd_reader_start(s->chr, &s->reader, s->master);
        qemu_chr_be_event(s->chr, CHR_EVENT_OPENED);
    } else {
        chr_fd_reader_stop(&s->reader);
        qemu_chr_be_event(s->chr, CHR_EVENT_CLOSED);
        pty_start_polling(s);
    }
}

/* The slave is open when polling the master reports no hangup. */
static bool pty_slave_open(PtyState *s)
{
    struct pollfd pfd = { .fd = s->master, .events = POLLOUT };

    return poll(&pfd, 1, 0) == 1 && !(pfd.revents & POLLHUP);
}

static gboolean pty_poll_slave(gpointer opaque)
{
    PtyState *s = opaque;

    if (pty_slave_open(s)) {
        s->poll_timer = 0;
        pty_set_connected(s, true);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void pty_start_polling(PtyState *s)
{
    if (s->inotify_fd < 0 && !s->poll_timer) {
        s->poll_timer = g_timeout_add(1000, pty_poll_slave, s);
    }
}

/* The slave was opened (by anyone, us included): connected if it still is. */
static gboolean pty_slave_opened(gint fd, GIOCondition cond, gpointer opaque)
{
    PtyState *s = opaque;
    char buf[sizeof(struct inotify_event) + NAME_MAX + 1];

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* drain: one look at the slave answers every event */
    }
    if (!s->connected && pty_slave_open(s)) {
        pty_set_connected(s, true);
    }
    return G_SOURCE_CONTINUE;
}

/*
 * Watch the slave's node for opens.  Set up before anything opens it, so
 * no open can fall between a look and the watch; on failure the caller
 * polls with the timer.
 */
static void pty_watch_slave(PtyState *s, const char *name)
{
    s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->inotify_fd < 0) {
        return;
    }
    if (inotify_add_watch(s->inotify_fd, name, IN_OPEN) < 0) {
        close(s->inotify_fd);
        s->inotify_fd = -1;
        return;
    }
    s->inotify_watch = g_unix_fd_add(s->inotify_fd, G_IO_IN,
                                     pty_slave_opened, s);
}

static void pty_hangup(Chardev *chr)
{
    PtyState *s = chr->state;
    pty_set_connected(s, false);
}

static int pty_open_master(PtyState *s, char **name, GError **errp)
{
    struct termios tty;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    int slave;

    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
        !ptsname(master)) {
        error_setg(errp, "Failed to create PTY: %s", g_strerror(errno));
        if (master >= 0) {
            close(master);
        }
        return -1;
    }
    *name = g_strdup(ptsname(master));
    s->master = master;
    pty_watch_slave(s, *name);
    /* Raw mode is a property of the line: set it once through the slave. */
    slave = open(*name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0) {
        if (tcgetattr(slave, &tty) == 0) {
            cfmakeraw(&tty);
            tcsetattr(slave, TCSAFLUSH, &tty);
        }
        close(slave);
    }
    g_unix_set_fd_nonblocking(master, TRUE, NULL);
    return master;
}

static bool pty_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    PtyState *s = chr->state;
    g_autofree char *name = NULL;

    s->inotify_fd = -1;
    s->master = pty_open_master(s, &name, errp);
    if (s->master < 0) {
        return false;
    }
    s->chr = chr;
    s->reader.fd = -1;
    s->reader.on_hangup = pty_hangup;
    chr->filename = g_strdup_printf("pty:%s", name);
    printf("char device redirected to %s (label %s)\n", name, chr->id);
    fflush(stdout);
    pty_start_polling(s);
    return true;
}

static int pty_write(Chardev *chr, const uint8_t *buf, int len)
{
    PtyState *s = chr->state;
    int done = 0;

    /* Nobody listening: drop, as QEMU does.  But someone may have opened
     * the slave since the last poll (`virsh console` on a guest resumed
     * right after): what the guest writes then is theirs, so look now
     * rather than lose up to a second of output.  The timer still makes
     * the connection (input, the OPENED event) from the main loop. */
    if (!s->connected && !pty_slave_open(s)) {
        return len;
    }
    /* A terminal that stops reading must not stall the emulator: write
     * what fits and drop the rest. */
    while (done < len) {
        ssize_t n = write(s->master, buf + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += n;
    }
    return len;
}

static void pty_accept_input(Chardev *chr)
{
    PtyState *s = chr->state;

    if (s->connected) {
        chr_fd_reader_resume(chr, &s->reader);
    }
}

static void pty_close(Chardev *chr)
{
    PtyState *s = chr->state;

    chr_fd_reader_stop(&s->reader);
    if (s->poll_timer) {
        g_source_remove(s->poll_timer);
    }
    if (s->inotify_watch) {
        g_source_remove(s->inotify_watch);
    }
    if (s->inotify_fd >= 0) {
        close(s->inotify_fd);
    }
    close(s->master);
}

static const char *const pty_opts[] = {
    NULL,
};

static const ChardevDriver pty_driver = {
    .name = "pty",
    .opts = pty_opts,
    .open = pty_open,
    .write = pty_write,
    .accept_input = pty_accept_input,
    .close = pty_close,
    .state_size = sizeof(PtyState),
};

static void pty_register(void)
{
    chardev_driver_register(&pty_driver);
}
chardev_init(pty_register)
