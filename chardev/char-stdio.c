/*
 * "stdio" backend.  On a terminal, input is switched to raw mode (no echo,
 * no line editing; Ctrl-C still signals unless signal=off) and restored on
 * every exit path, including fatal signals.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "chardev/char-fd.h"
#include <termios.h>
#include <signal.h>

typedef struct StdioState {
    ChrFdReader reader;
} StdioState;

static struct termios saved_tty;
static bool tty_saved;
static bool stdio_in_use;

void qemu_chr_restore_terminals(void)
{
    if (tty_saved) {
        tcsetattr(0, TCSANOW, &saved_tty);
    }
}

static void restore_and_reraise(int sig)
{
    qemu_chr_restore_terminals();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void stdio_set_raw(bool keep_signals)
{
    struct termios tty;

    if (!isatty(0) || tcgetattr(0, &saved_tty) < 0) {
        return;
    }
    tty_saved = true;
    atexit(qemu_chr_restore_terminals);
    signal(SIGABRT, restore_and_reraise);
    signal(SIGSEGV, restore_and_reraise);
    signal(SIGBUS, restore_and_reraise);

    tty = saved_tty;
    tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                     ICRNL | IXON);
    tty.c_oflag |= OPOST;
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!keep_signals) {
        tty.c_lflag &= ~ISIG;
    }
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    tcsetattr(0, TCSANOW, &tty);
}

static void stdio_hangup(Chardev *chr)
{
    /* stdin closed (e.g. </dev/null): keep running, just no input. */
}

static bool stdio_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    StdioState *s = chr->state;
    const char *sig = g_hash_table_lookup(opts, "signal");
    bool keep_signals = true;

    if (stdio_in_use) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    if (sig && !parse_bool(sig, &keep_signals, errp)) {
        return false;
    }
    stdio_in_use = true;
    stdio_set_raw(keep_signals);
    g_unix_set_fd_nonblocking(0, TRUE, NULL);
    s->reader.on_hangup = stdio_hangup;
    chr_fd_reader_start(chr, &s->reader, 0);
    chr->be_open = true;
    chr->filename = g_strdup("stdio");
    return true;
}

static int stdio_write(Chardev *chr, const uint8_t *buf, int len)
{
    return chr_fd_write_all(1, buf, len);
}

static void stdio_accept_input(Chardev *chr)
{
    StdioState *s = chr->state;
    chr_fd_reader_resume(chr, &s->reader);
}

static void stdio_close(Chardev *chr)
{
    StdioState *s = chr->state;

    chr_fd_reader_stop(&s->reader);
    g_unix_set_fd_nonblocking(0, FALSE, NULL);
    qemu_chr_restore_terminals();
    stdio_in_use = false;
}

static const char *const stdio_opts[] = {
    "signal", NULL,
};

static const ChardevDriver stdio_driver = {
    .name = "stdio",
    .opts = stdio_opts,
    .open = stdio_open,
    .write = stdio_write,
    .accept_input = stdio_accept_input,
    .close = stdio_close,
    .state_size = sizeof(StdioState),
};

static void stdio_register(void)
{
    chardev_driver_register(&stdio_driver);
}
chardev_init(stdio_register)
