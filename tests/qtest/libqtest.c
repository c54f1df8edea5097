/*
 * libqtest: start kvmpc under -accel qtest and talk the qtest protocol to
 * it (see libqtest.h and docs/qtest.md).
 *
 * The test listens on a UNIX socket in a private temporary directory and
 * kvmpc connects to it (-qtest unix:PATH), as with QEMU's libqtest, so
 * there is no race between kvmpc creating a socket and the test finding it.
 */
#include "libqtest.h"
#include "hw/i386/pc.h"     /* where the default firmware lives */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_IRQ 256
#define DEFAULT_TIMEOUT_S 30       /* start-up, each reply, exit */
#define BLANK_FIRMWARE_SIZE 65536

#ifndef KVMPC_BINARY_DEFAULT
#define KVMPC_BINARY_DEFAULT "kvmpc"
#endif

struct QTestState {
    pid_t pid;
    int fd;                 /* the qtest connection, -1 once closed */
    GString *rx;            /* received bytes not yet split into lines */
    bool irq_level[MAX_IRQ];
    bool exited;
    int status;             /* exit status (or 128 + signal) once exited */
    char *last_cmd;         /* for failure messages */
    char *tmpdir, *sock_path, *firmware_path;
    const char *binary;     /* kvmpc, or QEMU 7.2 as a reference peer */
    bool qemu_peer;
};

/* ---- failure and process handling ----------------------------------- */

static int timeout_ms(void)
{
    const char *env = getenv("QTEST_TIMEOUT");
    int s = env ? atoi(env) : 0;

    return (s > 0 ? s : DEFAULT_TIMEOUT_S) * 1000;
}

static int decode_status(int wstatus)
{
    if (WIFEXITED(wstatus)) {
        return WEXITSTATUS(wstatus);
    }
    return 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

/* Reap the child if it has exited; true once it has. */
static bool reap(QTestState *s)
{
    int wstatus;

    if (!s->exited && waitpid(s->pid, &wstatus, WNOHANG) == s->pid) {
        s->exited = true;
        s->status = decode_status(wstatus);
    }
    return s->exited;
}

static bool wait_child(QTestState *s, int ms)
{
    for (int waited = 0; !reap(s) && waited < ms; waited += 5) {
        g_usleep(5000);
    }
    return s->exited;
}

static void cleanup_files(QTestState *s)
{
    if (s->sock_path) {
        unlink(s->sock_path);
    }
    if (s->firmware_path) {
        unlink(s->firmware_path);
    }
    if (s->tmpdir) {
        rmdir(s->tmpdir);
    }
}

/*
 * The test cannot go on: say why, make sure kvmpc does not outlive us,
 * and abort so the harness reports a failure.
 */
static G_NORETURN G_GNUC_PRINTF(2, 3)
void qtest_fail(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_printerr("libqtest: %s%s%s%s\n", msg,
               s->last_cmd ? " (command: '" : "",
               s->last_cmd ? s->last_cmd : "", s->last_cmd ? "')" : "");
    if (!reap(s)) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    cleanup_files(s);
    abort();
}

static G_NORETURN void fail_gone(QTestState *s, const char *what)
{
    wait_child(s, 1000);
    if (s->exited) {
        qtest_fail(s, "%s: kvmpc exited with status %d", what, s->status);
    }
    qtest_fail(s, "%s: kvmpc closed the connection", what);
}

/* ---- start-up -------------------------------------------------------- */

const char *qtest_kvmpc_binary(void)
{
    const char *env = getenv("KVMPC_BINARY");
    return env && *env ? env : KVMPC_BINARY_DEFAULT;
}

const char *qtest_default_firmware(void)
{
    static char *path;

    if (!path) {
        path = g_build_filename(PC_DEFAULT_FIRMWARE_DIR, PC_DEFAULT_FIRMWARE,
                                NULL);
    }
    return g_file_test(path, G_FILE_TEST_EXISTS) ? path : NULL;
}

static bool args_name(char **args, const char *opt)
{
    for (; args && *args; args++) {
        /* QEMU accepts --opt for -opt. */
        const char *a = (*args)[0] == '-' && (*args)[1] == '-' ? *args + 1
                                                                : *args;
        if (!strcmp(a, opt)) {
            return true;
        }
    }
    return false;
}

/* The pc machine needs firmware even when no code runs. */
static void add_firmware_arg(QTestState *s, GPtrArray *argv, char **extra)
{
    g_autofree uint8_t *blank = NULL;
    GError *err = NULL;

    if (qtest_default_firmware() || args_name(extra, "-bios") ||
        args_name(extra, "-kernel")) {
        return;
    }
    blank = g_malloc(BLANK_FIRMWARE_SIZE);
    memset(blank, 0xff, BLANK_FIRMWARE_SIZE);
    s->firmware_path = g_build_filename(s->tmpdir, "blank-bios.bin", NULL);
    if (!g_file_set_contents(s->firmware_path, (const char *)blank,
                             BLANK_FIRMWARE_SIZE, &err)) {
        g_error("libqtest: %s", err->message);
    }
    g_ptr_array_add(argv, g_strdup("-bios"));
    g_ptr_array_add(argv, g_strdup(s->firmware_path));
}

static GPtrArray *build_argv(QTestState *s, const char *extra_args)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) extra = NULL;
    GError *err = NULL;
    const char *base[] = {
        "-accel", "qtest", "-nodefaults", "-display", "none",
        "-machine", "pc",
    };

    if (extra_args && *extra_args &&
        !g_shell_parse_argv(extra_args, NULL, &extra, &err) &&
        !g_error_matches(err, G_SHELL_ERROR, G_SHELL_ERROR_EMPTY_STRING)) {
        g_error("libqtest: bad arguments '%s': %s", extra_args, err->message);
    }
    g_clear_error(&err);
    g_ptr_array_add(argv, g_strdup(s->binary));
    g_ptr_array_add(argv, g_strdup("-qtest"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s", s->sock_path));
    if (!getenv("QTEST_LOG")) {
        /* Without -qtest-log kvmpc logs to stderr, as QEMU does. */
        g_ptr_array_add(argv, g_strdup("-qtest-log"));
        g_ptr_array_add(argv, g_strdup("none"));
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(base); i++) {
        g_ptr_array_add(argv, g_strdup(base[i]));
    }
    add_firmware_arg(s, argv, extra);
    for (char **a = extra; a && *a; a++) {
        g_ptr_array_add(argv, g_strdup(*a));
    }
    g_ptr_array_add(argv, NULL);
    return argv;
}

static int listen_socket(QTestState *s)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert(strlen(s->sock_path) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, s->sock_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0) {
        g_error("libqtest: cannot listen on %s: %s", s->sock_path,
                g_strerror(errno));
    }
    return fd;
}

static void spawn(QTestState *s, GPtrArray *argv)
{
    char **args = (char **)argv->pdata;

    s->pid = fork();
    if (s->pid < 0) {
        g_error("libqtest: fork: %s", g_strerror(errno));
    }
    if (s->pid == 0) {
        /* Never outlive a test that crashed or was killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(args[0], args);
        fprintf(stderr, "libqtest: cannot run %s: %s\n", args[0],
                strerror(errno));
        _exit(127);
    }
}

/* Wait for kvmpc to connect, noticing if it dies first (bad options). */
static void accept_connection(QTestState *s, int listen_fd)
{
    struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };

    for (int waited = 0; waited < timeout_ms(); waited += 50) {
        if (poll(&pfd, 1, 50) > 0) {
            s->fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (s->fd >= 0) {
                return;
            }
        }
        if (reap(s)) {
            qtest_fail(s, "kvmpc exited with status %d before connecting",
                       s->status);
        }
    }
    qtest_fail(s, "kvmpc did not connect within %d s", timeout_ms() / 1000);
}

static QTestState *init_binary(const char *binary, bool qemu_peer,
                               const char *extra_args)
{
    QTestState *s = g_new0(QTestState, 1);
    g_autoptr(GPtrArray) argv = NULL;
    g_autofree char *cmdline = NULL;
    GError *err = NULL;
    int listen_fd;

    s->binary = binary;
    s->qemu_peer = qemu_peer;
    s->fd = -1;
    s->rx = g_string_new(NULL);
    s->tmpdir = g_dir_make_tmp("kvmpc-qtest-XXXXXX", &err);
    if (!s->tmpdir) {
        g_error("libqtest: %s", err->message);
    }
    s->sock_path = g_build_filename(s->tmpdir, "qtest.sock", NULL);
    argv = build_argv(s, extra_args);
    cmdline = g_strjoinv(" ", (char **)argv->pdata);
    if (getenv("QTEST_LOG")) {
        g_printerr("libqtest: starting %s\n", cmdline);
    }
    listen_fd = listen_socket(s);
    spawn(s, argv);
    s->last_cmd = g_strdup(cmdline);
    accept_connection(s, listen_fd);
    close(listen_fd);
    unlink(s->sock_path);
    g_clear_pointer(&s->last_cmd, g_free);
    return s;
}

QTestState *qtest_init(const char *extra_args)
{
    return init_binary(qtest_kvmpc_binary(), false, extra_args);
}

QTestState *qtest_init_qemu(const char *qemu, const char *extra_args)
{
    g_autofree char *args = g_strdup_printf("%s -accel tcg -S",
                                            extra_args ? extra_args : "");

    return init_binary(qemu, true, args);
}

QTestState *qtest_initf(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_init(args);
}

int qtest_pid(QTestState *s)
{
    return s->pid;
}

/* ---- end ------------------------------------------------------------- */

static void free_state(QTestState *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }
    cleanup_files(s);
    g_string_free(s->rx, TRUE);
    g_free(s->last_cmd);
    g_free(s->sock_path);
    g_free(s->firmware_path);
    g_free(s->tmpdir);
    g_free(s);
}

int qtest_quit(QTestState *s)
{
    int status;

    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->qemu_peer && !s->exited) {
        kill(s->pid, SIGTERM);      /* QEMU stays up when qtest closes */
    }
    if (!wait_child(s, timeout_ms())) {
        g_printerr("libqtest: kvmpc still running %d s after its client "
                   "left; killing it\n", timeout_ms() / 1000);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->exited = true;
        s->status = 128 + SIGKILL;
    }
    status = s->status;
    free_state(s);
    return status;
}

int qtest_wait_exit(QTestState *s)
{
    if (!wait_child(s, timeout_ms())) {
        qtest_fail(s, "kvmpc did not exit within %d s", timeout_ms() / 1000);
    }
    return s->status;
}

/* ---- the protocol ---------------------------------------------------- */

static void send_line(QTestState *s, const char *line)
{
    g_autofree char *framed = g_strconcat(line, "\n", NULL);
    size_t len = strlen(framed), done = 0;

    g_free(s->last_cmd);
    s->last_cmd = g_strndup(line, 200);
    while (done < len) {
        ssize_t n = send(s->fd, framed + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail_gone(s, "sending");
        }
        done += n;
    }
}

static char *recv_line(QTestState *s)
{
    char buf[65536];

    for (;;) {
        char *nl = memchr(s->rx->str, '\n', s->rx->len);
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        ssize_t n;

        if (nl) {
            size_t len = nl - s->rx->str;
            char *line = g_strndup(s->rx->str, len);
            g_string_erase(s->rx, 0, len + 1);
            return line;
        }
        if (poll(&pfd, 1, timeout_ms()) == 0) {
            qtest_fail(s, "no reply from kvmpc within %d s",
                       timeout_ms() / 1000);
        }
        n = recv(s->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail_gone(s, "waiting for a reply");
        }
        g_string_append_len(s->rx, buf, n);
    }
}

/* "IRQ raise N" / "IRQ lower N" may come before any reply. */
static bool handle_async(QTestState *s, const char *line)
{
    char *end;
    long n;

    if (!g_str_has_prefix(line, "IRQ ")) {
        return false;
    }
    line += 4;
    bool raise = g_str_has_prefix(line, "raise ");
    if (!raise && !g_str_has_prefix(line, "lower ")) {
        qtest_fail(s, "malformed IRQ line '%s'", line - 4);
    }
    n = strtol(line + 6, &end, 10);
    if (*end || n < 0 || n >= MAX_IRQ) {
        qtest_fail(s, "malformed IRQ line '%s'", line - 4);
    }
    s->irq_level[n] = raise;
    return true;
}

static char *reply(QTestState *s)
{
    for (;;) {
        char *line = recv_line(s);
        if (!handle_async(s, line)) {
            return line;
        }
        g_free(line);
    }
}

char *qtest_raw(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *line = NULL;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    send_line(s, line);
    return reply(s);
}

/* Send, and insist on "OK"; returns what follows "OK " ("" for none). */
static G_GNUC_PRINTF(2, 3) char *command(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *line = NULL;
    g_autofree char *rsp = NULL;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    send_line(s, line);
    rsp = reply(s);
    if (!strcmp(rsp, "OK")) {
        return g_strdup("");
    }
    if (!g_str_has_prefix(rsp, "OK ")) {
        qtest_fail(s, "kvmpc replied '%s'", rsp);
    }
    return g_strdup(rsp + 3);
}

static uint64_t command_value(QTestState *s, const char *name, uint64_t addr)
{
    g_autofree char *val = command(s, "%s 0x%" PRIx64, name, addr);
    char *end;
    uint64_t v;

    errno = 0;
    v = g_ascii_strtoull(val, &end, 0);
    if (errno || end == val || *end) {
        qtest_fail(s, "bad value '%s' in reply", val);
    }
    return v;
}

static void command_ok(QTestState *s, const char *name, uint64_t addr,
                       uint64_t value)
{
    g_free(command(s, "%s 0x%" PRIx64 " 0x%" PRIx64, name, addr, value));
}

void qtest_outb(QTestState *s, uint16_t addr, uint8_t v)
{ command_ok(s, "outb", addr, v); }
void qtest_outw(QTestState *s, uint16_t addr, uint16_t v)
{ command_ok(s, "outw", addr, v); }
void qtest_outl(QTestState *s, uint16_t addr, uint32_t v)
{ command_ok(s, "outl", addr, v); }
uint8_t qtest_inb(QTestState *s, uint16_t addr)
{ return command_value(s, "inb", addr); }
uint16_t qtest_inw(QTestState *s, uint16_t addr)
{ return command_value(s, "inw", addr); }
uint32_t qtest_inl(QTestState *s, uint16_t addr)
{ return command_value(s, "inl", addr); }

void qtest_writeb(QTestState *s, uint64_t addr, uint8_t v)
{ command_ok(s, "writeb", addr, v); }
void qtest_writew(QTestState *s, uint64_t addr, uint16_t v)
{ command_ok(s, "writew", addr, v); }
void qtest_writel(QTestState *s, uint64_t addr, uint32_t v)
{ command_ok(s, "writel", addr, v); }
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t v)
{ command_ok(s, "writeq", addr, v); }
uint8_t qtest_readb(QTestState *s, uint64_t addr)
{ return command_value(s, "readb", addr); }
uint16_t qtest_readw(QTestState *s, uint64_t addr)
{ return command_value(s, "readw", addr); }
uint32_t qtest_readl(QTestState *s, uint64_t addr)
{ return command_value(s, "readl", addr); }
uint64_t qtest_readq(QTestState *s, uint64_t addr)
{ return command_value(s, "readq", addr); }

void qtest_memread(QTestState *s, uint64_t addr, void *data, size_t size)
{
    uint8_t *out = data;
    g_autofree char *hex = NULL;

    if (!size) {
        return;
    }
    hex = command(s, "read 0x%" PRIx64 " 0x%zx", addr, size);
    if (strncmp(hex, "0x", 2) || strlen(hex) != 2 + 2 * size) {
        qtest_fail(s, "bad data in reply (%zu characters)", strlen(hex));
    }
    for (size_t i = 0; i < size; i++) {
        int hi = g_ascii_xdigit_value(hex[2 + 2 * i]);
        int lo = g_ascii_xdigit_value(hex[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            qtest_fail(s, "bad hex data in reply");
        }
        out[i] = hi << 4 | lo;
    }
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *data,
                    size_t size)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *in = data;
    g_autofree char *hex = NULL;

    if (!size) {
        return;
    }
    hex = g_malloc(2 * size + 1);
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = digits[in[i] >> 4];
        hex[2 * i + 1] = digits[in[i] & 15];
    }
    hex[2 * size] = '\0';
    g_free(command(s, "write 0x%" PRIx64 " 0x%zx 0x%s", addr, size, hex));
}

void qtest_bufread(QTestState *s, uint64_t addr, void *data, size_t size)
{
    g_autofree char *b64 = NULL;
    g_autofree uint8_t *bytes = NULL;
    gsize len = 0;

    if (!size) {
        return;
    }
    b64 = command(s, "b64read 0x%" PRIx64 " 0x%zx", addr, size);
    bytes = g_base64_decode(b64, &len);
    if (len != size) {
        qtest_fail(s, "b64read returned %zu bytes, not %zu", (size_t)len,
                   size);
    }
    memcpy(data, bytes, size);
}

void qtest_bufwrite(QTestState *s, uint64_t addr, const void *data,
                    size_t size)
{
    g_autofree char *b64 = NULL;

    if (!size) {
        return;
    }
    b64 = g_base64_encode(data, size);
    g_free(command(s, "b64write 0x%" PRIx64 " 0x%zx %s", addr, size, b64));
}

void qtest_memset(QTestState *s, uint64_t addr, uint8_t pattern, size_t size)
{
    g_free(command(s, "memset 0x%" PRIx64 " 0x%zx 0x%02x", addr, size,
                   pattern));
}

static int64_t clock_reply(QTestState *s, char *val)
{
    char *end;
    int64_t ns;

    errno = 0;
    ns = g_ascii_strtoll(val, &end, 10);
    if (errno || end == val || *end) {
        qtest_fail(s, "bad clock value '%s' in reply", val);
    }
    g_free(val);
    return ns;
}

int64_t qtest_clock_step(QTestState *s, int64_t ns)
{
    return clock_reply(s, command(s, "clock_step %" PRIi64, ns));
}

int64_t qtest_clock_step_next(QTestState *s)
{
    return clock_reply(s, command(s, "clock_step"));
}

int64_t qtest_clock_set(QTestState *s, int64_t ns)
{
    return clock_reply(s, command(s, "clock_set %" PRIi64, ns));
}

void qtest_irq_intercept_in(QTestState *s, const char *path)
{
    g_free(command(s, "irq_intercept_in %s", path));
}

void qtest_irq_intercept_out(QTestState *s, const char *path)
{
    g_free(command(s, "irq_intercept_out %s", path));
}

bool qtest_get_irq(QTestState *s, int num)
{
    g_assert(num >= 0 && num < MAX_IRQ);
    /* A side-effect-free round trip: IRQ lines sent so far arrive first. */
    g_free(command(s, "endianness"));
    return s->irq_level[num];
}

int qtest_intack(QTestState *s, unsigned cpu)
{
    g_autofree char *val = command(s, "intack %u", cpu);

    return strcmp(val, "none") ? (int)strtol(val, NULL, 16) : -1;
}

unsigned qtest_cpu_events(QTestState *s, unsigned cpu, uint8_t *sipi_vector)
{
    g_autofree char *val = command(s, "cpu_events %u", cpu);
    unsigned events, sipi;

    if (sscanf(val, "%x %x", &events, &sipi) != 2) {
        qtest_fail(s, "bad cpu_events reply '%s'", val);
    }
    if (sipi_vector) {
        *sipi_vector = sipi;
    }
    return events;
}

bool qtest_rdmsr(QTestState *s, unsigned cpu, uint32_t msr, uint64_t *val)
{
    g_autofree char *rsp = qtest_raw(s, "rdmsr %u 0x%x", cpu, msr);

    if (!strcmp(rsp, "FAIL #GP")) {
        return false;
    }
    if (!g_str_has_prefix(rsp, "OK 0x")) {
        qtest_fail(s, "kvmpc replied '%s' to rdmsr", rsp);
    }
    *val = g_ascii_strtoull(rsp + 3, NULL, 16);
    return true;
}

bool qtest_wrmsr(QTestState *s, unsigned cpu, uint32_t msr, uint64_t val)
{
    g_autofree char *rsp = qtest_raw(s, "wrmsr %u 0x%x 0x%" PRIx64, cpu, msr,
                                     val);

    if (!strcmp(rsp, "FAIL #GP")) {
        return false;
    }
    if (strcmp(rsp, "OK")) {
        qtest_fail(s, "kvmpc replied '%s' to wrmsr", rsp);
    }
    return true;
}

void qtest_set_irq_in(QTestState *s, const char *path, const char *name,
                      int num, int level)
{
    g_free(command(s, "set_irq_in %s %s %d %d", path, name, num, level));
}

char *qtest_fw_cfg_file(QTestState *s, const char *name)
{
    uint32_t n;

    qtest_outw(s, 0x510, 0x19);             /* the file directory */
    n = qtest_inb(s, 0x511) << 24;
    n |= qtest_inb(s, 0x511) << 16;
    n |= qtest_inb(s, 0x511) << 8;
    n |= qtest_inb(s, 0x511);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[64];

        for (int j = 0; j < 64; j++) {
            e[j] = qtest_inb(s, 0x511);
        }
        if (!strncmp((char *)e + 8, name, 56)) {
            uint32_t size = (uint32_t)e[0] << 24 | e[1] << 16 | e[2] << 8 |
                            e[3];
            char *out = g_malloc0(size + 1);

            qtest_outw(s, 0x510, e[4] << 8 | e[5]);
            for (uint32_t j = 0; j < size; j++) {
                out[j] = qtest_inb(s, 0x511);
            }
            return out;
        }
    }
    return NULL;
}

uint8_t *qtest_file_range(const char *path, size_t off, size_t len)
{
    g_autofree char *all = NULL;
    gsize size;
    uint8_t *out;

    g_assert_true(g_file_get_contents(path, &all, &size, NULL));
    g_assert_cmpuint(off + len, <=, size);
    out = g_malloc(len);
    memcpy(out, all + off, len);
    return out;
}
