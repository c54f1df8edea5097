/*
 * The qtest protocol server: with -accel qtest no vCPU runs, and a test
 * program drives the machine over a socket instead, one text command per
 * line (QEMU's protocol, so QEMU's libqtest speaks it too):
 *
 *   outb|outw|outl ADDR VALUE        -> OK
 *   inb|inw|inl ADDR                 -> OK 0xVALUE
 *   writeb|writew|writel|writeq ADDR VALUE -> OK
 *   readb|readw|readl|readq ADDR     -> OK 0xVALUE (16 digits)
 *   read ADDR SIZE                   -> OK 0xHEXBYTES
 *   write ADDR SIZE 0xHEXBYTES       -> OK
 *   b64read ADDR SIZE                -> OK BASE64
 *   b64write ADDR SIZE BASE64        -> OK
 *   memset ADDR SIZE BYTE            -> OK
 *   clock_step [NS] / clock_set NS   -> OK NOW
 *   irq_intercept_in|irq_intercept_out PATH -> OK
 *   set_irq_in PATH NAME NUM LEVEL   -> OK
 *   endianness                       -> OK little
 *   intack [CPU]                     -> OK 0xVECTOR | OK none
 *   cpu_events [CPU]                 -> OK 0xEVENTS 0xSIPIVECTOR
 *   rdmsr CPU MSR / wrmsr CPU MSR V  -> OK [0xVALUE] | FAIL #GP
 *
 * and the server sends "IRQ raise N" / "IRQ lower N" lines on its own once
 * interrupts are intercepted.  Anything malformed gets one "FAIL reason"
 * line and the session goes on: the input is untrusted, nothing here may
 * crash the process.  docs/qtest.md is the reference.
 *
 * Everything runs on the main thread with the big lock held (GLib source
 * callbacks), which is what the memory map and device callbacks require.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "hw/intc/apic.h"
#include "system/accel.h"
#include "system/memory.h"
#include "system/qtest.h"
#include "system/runstate.h"
#include "system/timer.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/*
 * A b64write of a large buffer is one line; bound what we buffer.  Room
 * for the base64 form of QTEST_MAX_ACCESS bytes (4/3 of it) and the rest.
 */
#define QTEST_MAX_LINE   (96 * MiB)
/* Largest read/write/memset in one command. */
#define QTEST_MAX_ACCESS (64 * MiB)
/* Command word plus at most this many arguments. */
#define QTEST_MAX_WORDS  6
/* How much of a bad token a FAIL line echoes back. */
#define QTEST_ECHO_MAX   64

typedef struct QTestServer {
    int in_fd, out_fd;      /* the same socket, or stdin/stdout */
    int listen_fd;          /* server=on: until the client arrives */
    char *listen_path;      /* server=on: the socket file we created */
    guint watch;
    bool connected;
    bool intercepting;      /* send IRQ lines */
    bool skipping;          /* dropping the rest of an overlong line */
    GString *inbuf;         /* the incomplete line so far */
    FILE *log;
    GTimer *timer;          /* log timestamps: seconds since OPENED */
} QTestServer;

static QTestServer qts = { .in_fd = -1, .out_fd = -1, .listen_fd = -1 };

bool qtest_enabled(void)
{
    return current_accel && !strcmp(current_accel->name, "qtest");
}

/* ---- output and log -------------------------------------------------- */

static double log_time(void)
{
    return qts.timer ? g_timer_elapsed(qts.timer, NULL) : 0.0;
}

static void log_line(char tag, const char *text)
{
    if (qts.log) {
        fprintf(qts.log, "[%c +%.6f] %s\n", tag, log_time(), text);
    }
}

/* MSG_NOSIGNAL: a client that went away is an error, not a SIGPIPE. */
static ssize_t write_some(int fd, const char *buf, size_t len)
{
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

    return n < 0 && errno == ENOTSOCK ? write(fd, buf, len) : n;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write_some(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

/*
 * One protocol line.  A write error means the client is gone; the read
 * side notices and tears the session down, so only remember it here.
 */
static void send_line(const char *line)
{
    g_autofree char *framed = g_strconcat(line, "\n", NULL);

    log_line('S', line);
    if (qts.connected && !write_all(qts.out_fd, framed, strlen(framed))) {
        qts.connected = false;
    }
}

void qtest_server_irq_changed(int gsi, int level)
{
    if (qts.connected && qts.intercepting) {
        g_autofree char *line = g_strdup_printf("IRQ %s %d",
                                                level ? "raise" : "lower", gsi);
        send_line(line);
    }
}

/* A client-supplied token, made safe to echo in a FAIL line. */
static char *printable(const char *s)
{
    GString *out = g_string_new(NULL);

    for (; *s && out->len < QTEST_ECHO_MAX; s++) {
        g_string_append_c(out, g_ascii_isprint(*s) ? *s : '?');
    }
    if (*s) {
        g_string_append(out, "...");
    }
    return g_string_free(out, FALSE);
}

static char *fail_arg(const char *what, const char *token)
{
    g_autofree char *p = printable(token);
    return g_strdup_printf("FAIL invalid %s '%s'", what, p);
}

/* ---- argument parsing ------------------------------------------------ */

/* Unsigned, C prefixes (0x, 0), the whole token, no sign, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (!g_ascii_isdigit(s[0])) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(s, &end, 0);
    return errno == 0 && *end == '\0';
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;

    if (!g_ascii_isdigit(s[0]) && !(s[0] == '-' && g_ascii_isdigit(s[1]))) {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoll(s, &end, 0);
    return errno == 0 && *end == '\0';
}

static uint64_t width_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

/*
 * ADDR SIZE of a buffer command: SIZE bounded so a typo cannot make us
 * allocate the world, and the range must not wrap around 2^64.
 */
static char *parse_range(char **args, uint64_t *addr, uint64_t *size)
{
    if (!parse_u64(args[0], addr)) {
        return fail_arg("address", args[0]);
    }
    if (!parse_u64(args[1], size)) {
        return fail_arg("size", args[1]);
    }
    if (*size > QTEST_MAX_ACCESS) {
        return g_strdup_printf("FAIL size %" PRIu64 " exceeds the limit of %"
                               PRIu64 " bytes", *size,
                               (uint64_t)QTEST_MAX_ACCESS);
    }
    if (*size && *addr + (*size - 1) < *addr) {
        return g_strdup("FAIL range wraps around the address space");
    }
    return NULL;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = g_ascii_tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ---- commands -------------------------------------------------------- */

typedef struct QTestCmd QTestCmd;
/* Returns the response line (without newline); @args excludes the name. */
typedef char *QTestHandler(const QTestCmd *cmd, char **args, int nargs);

struct QTestCmd {
    const char *name;
    int min_args, max_args;
    QTestHandler *fn;
    unsigned size;          /* access width for the sized commands */
};

static char *cmd_out(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, val;

    if (!parse_u64(args[0], &addr) || addr > 0xffff) {
        return fail_arg("port", args[0]);
    }
    if (!parse_u64(args[1], &val)) {
        return fail_arg("value", args[1]);
    }
    /* Like an x86 OUT, only the low bits of the width reach the port. */
    address_space_write_val(&address_space_io, addr,
                            val & width_mask(cmd->size), cmd->size);
    return g_strdup("OK");
}

static char *cmd_in(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, val;

    if (!parse_u64(args[0], &addr) || addr > 0xffff) {
        return fail_arg("port", args[0]);
    }
    address_space_read_val(&address_space_io, addr, &val, cmd->size);
    return g_strdup_printf("OK 0x%04" PRIx64, val);
}

static char *cmd_writev(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, val;

    if (!parse_u64(args[0], &addr)) {
        return fail_arg("address", args[0]);
    }
    if (!parse_u64(args[1], &val)) {
        return fail_arg("value", args[1]);
    }
    address_space_write_val(&address_space_memory, addr,
                            val & width_mask(cmd->size), cmd->size);
    return g_strdup("OK");
}

static char *cmd_readv(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, val;

    if (!parse_u64(args[0], &addr)) {
        return fail_arg("address", args[0]);
    }
    address_space_read_val(&address_space_memory, addr, &val, cmd->size);
    return g_strdup_printf("OK 0x%016" PRIx64, val);
}

static char *cmd_read(const QTestCmd *cmd, char **args, int nargs)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t addr, size;
    char *err = parse_range(args, &addr, &size);
    g_autofree uint8_t *data = NULL;
    GString *out;

    if (err) {
        return err;
    }
    if (!size) {
        return g_strdup("FAIL size must not be zero");
    }
    data = g_malloc(size);
    address_space_read(&address_space_memory, addr, data, size);
    out = g_string_sized_new(5 + 2 * size);
    g_string_append(out, "OK 0x");
    for (uint64_t i = 0; i < size; i++) {
        g_string_append_c(out, hex[data[i] >> 4]);
        g_string_append_c(out, hex[data[i] & 15]);
    }
    return g_string_free(out, FALSE);
}

/* DATA is "0x" and hex digit pairs; missing trailing bytes are zero. */
static char *cmd_write(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, size;
    char *err = parse_range(args, &addr, &size);
    const char *digits = args[2];
    size_t ndigits;
    g_autofree uint8_t *data = NULL;

    if (err) {
        return err;
    }
    if (digits[0] != '0' || (digits[1] != 'x' && digits[1] != 'X')) {
        return fail_arg("data (expected 0x and hex digits)", digits);
    }
    digits += 2;
    ndigits = strlen(digits);
    if (ndigits % 2) {
        return fail_arg("data (odd number of hex digits)", args[2]);
    }
    data = g_malloc0(size ? size : 1);
    for (uint64_t i = 0; i < size && 2 * i < ndigits; i++) {
        int hi = hex_nibble(digits[2 * i]), lo = hex_nibble(digits[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return fail_arg("data (not hex)", args[2]);
        }
        data[i] = hi << 4 | lo;
    }
    address_space_write(&address_space_memory, addr, data, size);
    return g_strdup("OK");
}

static char *cmd_b64read(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, size;
    char *err = parse_range(args, &addr, &size);
    g_autofree uint8_t *data = NULL;
    g_autofree char *b64 = NULL;

    if (err) {
        return err;
    }
    data = g_malloc(size ? size : 1);
    address_space_read(&address_space_memory, addr, data, size);
    b64 = g_base64_encode(data, size);
    return g_strdup_printf("OK %s", b64);
}

static bool is_base64(const char *s)
{
    for (; *s; s++) {
        if (!g_ascii_isalnum(*s) && !strchr("+/=", *s)) {
            return false;
        }
    }
    return true;
}

/* A length mismatch writes what both agree on (QEMU: "truncated"). */
static char *cmd_b64write(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, size;
    char *err = parse_range(args, &addr, &size);
    g_autofree uint8_t *data = NULL;
    gsize decoded;

    if (err) {
        return err;
    }
    if (!is_base64(args[2])) {
        return fail_arg("base64 data", args[2]);
    }
    data = g_base64_decode(args[2], &decoded);
    if (decoded != size && qts.log) {
        fprintf(qts.log, "[I +%.6f] b64write: %" PRIu64 " bytes announced, "
                "%zu decoded\n", log_time(), size, (size_t)decoded);
    }
    address_space_write(&address_space_memory, addr, data, MIN(size, decoded));
    return g_strdup("OK");
}

static char *cmd_memset(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, size, val;
    char *err = parse_range(args, &addr, &size);
    g_autofree uint8_t *data = NULL;

    if (err) {
        return err;
    }
    if (!parse_u64(args[2], &val)) {
        return fail_arg("value", args[2]);
    }
    if (size) {
        data = g_malloc(size);
        memset(data, (uint8_t)val, size);
        address_space_write(&address_space_memory, addr, data, size);
    }
    return g_strdup("OK");
}

/* Run virtual timers due by @target; the reply is the clock afterwards. */
static char *advance_clock(int64_t target)
{
    qemu_clock_virtual_advance_to(target);
    return g_strdup_printf("OK %" PRIi64,
                           qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
}

/*
 * Without NS: to the next armed virtual timer.  With none armed, the clock
 * stays put and the reply is still OK, as in QEMU 7.2.
 */
static char *cmd_clock_step(const QTestCmd *cmd, char **args, int nargs)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL), ns;

    if (!qemu_clock_virtual_is_manual()) {
        return g_strdup("FAIL the virtual clock is not under qtest control");
    }
    if (nargs == 0) {
        int64_t deadline = qemu_clock_virtual_next_deadline();
        return advance_clock(deadline < 0 ? now : MAX(deadline, now));
    }
    if (!parse_i64(args[0], &ns) || ns < 0 || ns > INT64_MAX - now) {
        return fail_arg("step (nanoseconds)", args[0]);
    }
    return advance_clock(now + ns);
}

/* The clock only moves forward: a time in the past leaves it where it is. */
static char *cmd_clock_set(const QTestCmd *cmd, char **args, int nargs)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL), ns;

    if (!qemu_clock_virtual_is_manual()) {
        return g_strdup("FAIL the virtual clock is not under qtest control");
    }
    if (!parse_i64(args[0], &ns) || ns < 0) {
        return fail_arg("time (nanoseconds)", args[0]);
    }
    return advance_clock(MAX(ns, now));
}

/*
 * kvmpc has one flat GSI space, so every interrupt controller path QEMU
 * tests name ("ioapic", "/machine/i440fx/ioapic", ...) means all GSIs.
 * A device id or path is accepted too: its lines are GSIs as well.
 */
static bool irq_path_known(const char *path)
{
    static const char *const irqchips[] = {
        "ioapic", "kvm-ioapic", "pic", "i8259", "isa-pic", "kvm-i8259",
    };

    for (unsigned i = 0; i < ARRAY_SIZE(irqchips); i++) {
        if (!strcmp(path, irqchips[i])) {
            return true;
        }
    }
    return !strcmp(path, "/machine") || g_str_has_prefix(path, "/machine/") ||
           device_find_by_id(path) || device_find_by_path(path);
}

/*
 * Interception starts by reporting the lines that are already high, so the
 * client's picture of the levels is right from the first "OK" on.
 */
static char *cmd_irq_intercept(const QTestCmd *cmd, char **args, int nargs)
{
    if (!irq_path_known(args[0])) {
        return g_strdup("FAIL Unknown device");
    }
    if (!qts.intercepting) {
        qts.intercepting = true;
        for (int gsi = 0; gsi < GSI_NUM_PINS; gsi++) {
            if (qtest_accel_irq_level(gsi)) {
                qtest_server_irq_changed(gsi, 1);
            }
        }
        for (int n = QTEST_IRQ_CPU_INTR;
             n < QTEST_IRQ_CPU_INTR + QTEST_IRQ_CPU_INTR_COUNT; n++) {
            if (qtest_accel_irq_level(n)) {
                qtest_server_irq_changed(n, 1);
            }
        }
    }
    return g_strdup("OK");
}

static char *cmd_set_irq_in(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t num;
    int64_t level;

    if (!irq_path_known(args[0])) {
        return g_strdup("FAIL Unknown device");
    }
    if (!parse_u64(args[2], &num) || num >= GSI_NUM_PINS) {
        return fail_arg("irq number", args[2]);
    }
    if (!parse_i64(args[3], &level) || level < G_MININT || level > G_MAXINT) {
        return fail_arg("level", args[3]);
    }
    if (!current_machine || !current_machine->gsi[num]) {
        return g_strdup("FAIL the machine has no interrupt lines");
    }
    qemu_set_irq(current_machine->gsi[num], (int)level);
    return g_strdup("OK");
}

/* ---- the CPU side of the userspace LAPICs (kvmpc extensions) ---- */

/* Optional CPU index argument; NULL on success, else the FAIL line. */
static char *parse_cpu(char **args, int nargs, unsigned *cpu)
{
    uint64_t n = 0;

    if (!apic_bus_active()) {
        return g_strdup("FAIL the machine has no userspace local APICs");
    }
    if (nargs > 0 && !parse_u64(args[0], &n)) {
        return fail_arg("cpu index", args[0]);
    }
    if (n >= apic_cpu_count()) {
        return g_strdup_printf("FAIL no CPU %" PRIu64, n);
    }
    *cpu = n;
    return NULL;
}

/* What the CPU's interrupt acknowledge cycle would fetch now. */
static char *cmd_intack(const QTestCmd *cmd, char **args, int nargs)
{
    unsigned cpu;
    char *err = parse_cpu(args, nargs, &cpu);
    int vector;

    if (err) {
        return err;
    }
    vector = x86_cpu_ack_interrupt(cpu);
    return vector < 0 ? g_strdup("OK none")
                      : g_strdup_printf("OK 0x%02x", vector);
}

/* NMI/SMI/INIT/SIPI the CPU received since the last ask (X86_EVENT_*). */
static char *cmd_cpu_events(const QTestCmd *cmd, char **args, int nargs)
{
    unsigned cpu, events;
    uint8_t sipi = 0;
    char *err = parse_cpu(args, nargs, &cpu);

    if (err) {
        return err;
    }
    events = x86_cpu_take_events(cpu, &sipi);
    return g_strdup_printf("OK 0x%x 0x%02x", events, sipi);
}

static char *cmd_rdmsr(const QTestCmd *cmd, char **args, int nargs)
{
    unsigned cpu;
    uint64_t msr, val;
    char *err = parse_cpu(args, nargs, &cpu);

    if (err) {
        return err;
    }
    if (!parse_u64(args[1], &msr) || msr > UINT32_MAX) {
        return fail_arg("MSR", args[1]);
    }
    if (!apic_msr_read(cpu, msr, &val)) {
        return g_strdup("FAIL #GP");
    }
    return g_strdup_printf("OK 0x%016" PRIx64, val);
}

static char *cmd_wrmsr(const QTestCmd *cmd, char **args, int nargs)
{
    unsigned cpu;
    uint64_t msr, val;
    char *err = parse_cpu(args, nargs, &cpu);

    if (err) {
        return err;
    }
    if (!parse_u64(args[1], &msr) || msr > UINT32_MAX) {
        return fail_arg("MSR", args[1]);
    }
    if (!parse_u64(args[2], &val)) {
        return fail_arg("value", args[2]);
    }
    return g_strdup(apic_msr_write(cpu, msr, val) ? "OK" : "FAIL #GP");
}

static char *cmd_endianness(const QTestCmd *cmd, char **args, int nargs)
{
    return g_strdup("OK little");
}

static const QTestCmd qtest_cmds[] = {
    { "outb", 2, 2, cmd_out, 1 },
    { "outw", 2, 2, cmd_out, 2 },
    { "outl", 2, 2, cmd_out, 4 },
    { "inb", 1, 1, cmd_in, 1 },
    { "inw", 1, 1, cmd_in, 2 },
    { "inl", 1, 1, cmd_in, 4 },
    { "writeb", 2, 2, cmd_writev, 1 },
    { "writew", 2, 2, cmd_writev, 2 },
    { "writel", 2, 2, cmd_writev, 4 },
    { "writeq", 2, 2, cmd_writev, 8 },
    { "readb", 1, 1, cmd_readv, 1 },
    { "readw", 1, 1, cmd_readv, 2 },
    { "readl", 1, 1, cmd_readv, 4 },
    { "readq", 1, 1, cmd_readv, 8 },
    { "read", 2, 2, cmd_read, 0 },
    { "write", 3, 3, cmd_write, 0 },
    { "b64read", 2, 2, cmd_b64read, 0 },
    { "b64write", 3, 3, cmd_b64write, 0 },
    { "memset", 3, 3, cmd_memset, 0 },
    { "clock_step", 0, 1, cmd_clock_step, 0 },
    { "clock_set", 1, 1, cmd_clock_set, 0 },
    { "irq_intercept_in", 1, 1, cmd_irq_intercept, 0 },
    /* QEMU takes an optional GPIO list name for outputs. */
    { "irq_intercept_out", 1, 2, cmd_irq_intercept, 0 },
    { "set_irq_in", 4, 4, cmd_set_irq_in, 0 },
    { "endianness", 0, 0, cmd_endianness, 0 },
    { "intack", 0, 1, cmd_intack, 0 },
    { "cpu_events", 0, 1, cmd_cpu_events, 0 },
    { "rdmsr", 2, 2, cmd_rdmsr, 0 },
    { "wrmsr", 3, 3, cmd_wrmsr, 0 },
};

static const QTestCmd *find_cmd(const char *name)
{
    for (unsigned i = 0; i < ARRAY_SIZE(qtest_cmds); i++) {
        if (!strcmp(qtest_cmds[i].name, name)) {
            return &qtest_cmds[i];
        }
    }
    return NULL;
}

/*
 * Split @line in place at spaces and tabs.  Returns the word count, or
 * QTEST_MAX_WORDS + 1 when there are more words than any command takes.
 */
static int split_words(char *line, char **words)
{
    int n = 0;
    char *save = NULL;

    for (char *w = strtok_r(line, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save)) {
        if (n == QTEST_MAX_WORDS) {
            return QTEST_MAX_WORDS + 1;
        }
        words[n++] = w;
    }
    return n;
}

static char *dispatch(char **words, int nwords)
{
    const QTestCmd *cmd;
    int nargs = nwords - 1;

    if (nwords > QTEST_MAX_WORDS) {
        return g_strdup("FAIL too many arguments");
    }
    cmd = find_cmd(nwords ? words[0] : "");
    if (!cmd) {
        g_autofree char *p = printable(nwords ? words[0] : "");
        return g_strdup_printf("FAIL Unknown command '%s'", p);
    }
    if (nargs < cmd->min_args || nargs > cmd->max_args) {
        if (cmd->max_args > cmd->min_args) {
            return g_strdup_printf("FAIL %s takes %d to %d arguments",
                                   cmd->name, cmd->min_args, cmd->max_args);
        }
        return g_strdup_printf("FAIL %s takes %d argument%s", cmd->name,
                               cmd->min_args, cmd->min_args == 1 ? "" : "s");
    }
    return cmd->fn(cmd, words + 1, nargs);
}

/*
 * Virtual timers that came due at the current time (armed for "now" by a
 * device callback) run as they would in QEMU's main loop: the manual clock
 * is otherwise only looked at by clock_step/clock_set.
 */
static void run_due_virtual_timers(void)
{
    if (qemu_clock_virtual_is_manual()) {
        qemu_clock_virtual_advance_to(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
}

/*
 * Run the command in @line (split in place), after the timers that came
 * due before it, as the main loop would have run them.  The caller runs
 * the ones it armed for "now" once the reply is out.
 */
static char *run_command(char *line)
{
    char *words[QTEST_MAX_WORDS];

    run_due_virtual_timers();
    return dispatch(words, split_words(line, words));
}

char *qtest_run_command(const char *line)
{
    g_autofree char *copy = g_strdup(line);
    char *reply = run_command(copy);

    run_due_virtual_timers();
    return reply;
}

/* One complete line (without its newline): exactly one response. */
static void process_line(char *line, size_t len)
{
    g_autofree char *reply = NULL;

    if (len && line[len - 1] == '\r') {
        line[--len] = '\0';
    }
    if (memchr(line, '\0', len)) {
        log_line('R', "<line with a NUL byte>");
        send_line("FAIL NUL byte in command");
        return;
    }
    log_line('R', line);
    reply = run_command(line);
    send_line(reply);
    run_due_virtual_timers();
}

/* Bytes from the client: complete lines are run at once, in order. */
static void feed_input(const char *buf, size_t len)
{
    while (len && qts.connected) {
        const char *nl = memchr(buf, '\n', len);
        size_t chunk = nl ? (size_t)(nl - buf) : len;

        if (!qts.skipping && qts.inbuf->len + chunk > QTEST_MAX_LINE) {
            /* Answered when the line finally ends: one reply per line. */
            qts.skipping = true;
            g_string_truncate(qts.inbuf, 0);
        }
        if (!qts.skipping) {
            g_string_append_len(qts.inbuf, buf, chunk);
        }
        if (!nl) {
            return;
        }
        if (qts.skipping) {
            qts.skipping = false;
            log_line('R', "<overlong line>");
            send_line("FAIL line too long");
        } else {
            process_line(qts.inbuf->str, qts.inbuf->len);
        }
        g_string_truncate(qts.inbuf, 0);
        buf = nl + 1;
        len -= chunk + 1;
    }
}

/* ---- connection ------------------------------------------------------ */

/*
 * The test is over when its client goes away: end the process, as a
 * killed QEMU would (the cause QEMU reports for libqtest's SIGTERM).
 */
static void session_closed(void)
{
    qts.connected = false;
    qts.watch = 0;
    if (qts.log) {
        fprintf(qts.log, "[I +%.6f] CLOSED\n", log_time());
        fflush(qts.log);
    }
    if (qts.out_fd >= 0 && qts.out_fd != qts.in_fd && qts.out_fd != 1) {
        close(qts.out_fd);
    }
    if (qts.in_fd > 0) {
        close(qts.in_fd);
    }
    qts.in_fd = qts.out_fd = -1;
    if (qts.listen_path) {
        unlink(qts.listen_path);
    }
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
}

static gboolean client_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    if (n > 0) {
        feed_input(buf, n);
    }
    if (n <= 0 || !qts.connected) {
        session_closed();
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void session_open(int in_fd, int out_fd)
{
    qts.in_fd = in_fd;
    qts.out_fd = out_fd;
    qts.connected = true;
    qts.inbuf = g_string_new(NULL);
    qts.timer = g_timer_new();
    if (qts.log) {
        fprintf(qts.log, "[I %.6f] OPENED\n", 0.0);
    }
    qts.watch = g_unix_fd_add(in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                              client_readable, NULL);
}

static bool fill_sockaddr(struct sockaddr_un *sa, const char *path,
                          GError **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path[0] || strlen(path) >= sizeof(sa->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is empty or too long", path);
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

static bool connect_unix(const char *path, GError **errp)
{
    struct sockaddr_un sa;
    int fd;

    if (!fill_sockaddr(&sa, path, errp)) {
        return false;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        error_setg(errp, "Failed to connect to '%s': %s", path,
                   g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    session_open(fd, fd);
    return true;
}

static bool accept_client(GError **errp)
{
    int fd;

    do {
        fd = accept4(qts.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error_setg(errp, "accept on '%s' failed: %s", qts.listen_path,
                   g_strerror(errno));
        return false;
    }
    /* One client per run, as with QEMU's -qtest. */
    close(qts.listen_fd);
    qts.listen_fd = -1;
    session_open(fd, fd);
    return true;
}

static gboolean listener_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    GError *err = NULL;

    if (!accept_client(&err)) {
        error_report_err(err);
        return G_SOURCE_CONTINUE;
    }
    return G_SOURCE_REMOVE;
}

static bool listen_unix(const char *path, bool wait, GError **errp)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd;

    if (!fill_sockaddr(&sa, path, errp)) {
        return false;
    }
    /* A stale socket from an earlier run; never remove anything else. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0) {
        error_setg(errp, "Failed to listen on '%s': %s", path,
                   g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    qts.listen_fd = fd;
    qts.listen_path = g_strdup(path);
    if (!wait) {
        g_unix_fd_add(fd, G_IO_IN, listener_readable, NULL);
        return true;
    }
    fprintf(stderr, "kvmpc: waiting for connection on: unix:%s,server=on\n",
            path);
    return accept_client(errp);
}

/* "unix:PATH[,server[=on|off]][,wait=on|off][,nowait]" */
static bool open_unix(const char *rest, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(rest, ",", -1);
    bool server = false, wait = true;

    if (!parts[0] || !parts[0][0]) {
        error_setg(errp, "unix: no socket path given");
        return false;
    }
    for (unsigned i = 1; parts[i]; i++) {
        const char *opt = parts[i];
        if (!strcmp(opt, "server")) {
            server = true;
        } else if (!strcmp(opt, "nowait")) {
            wait = false;
        } else if (g_str_has_prefix(opt, "server=")) {
            if (!parse_bool(opt + 7, &server, errp)) {
                return false;
            }
        } else if (g_str_has_prefix(opt, "wait=")) {
            if (!parse_bool(opt + 5, &wait, errp)) {
                return false;
            }
        } else {
            error_setg(errp, "unix: unknown option '%s'", opt);
            return false;
        }
    }
    return server ? listen_unix(parts[0], wait, errp)
                  : connect_unix(parts[0], errp);
}

static bool open_log(const char *log_path, GError **errp)
{
    if (!log_path) {
        qts.log = stderr;
        return true;
    }
    if (!strcmp(log_path, "none")) {
        return true;
    }
    qts.log = fopen(log_path, "w");
    if (!qts.log) {
        error_setg(errp, "-qtest-log %s: %s", log_path, g_strerror(errno));
        return false;
    }
    /* Whole lines, so a log read while the test runs is never torn. */
    setvbuf(qts.log, NULL, _IOLBF, 0);
    return true;
}

bool qtest_server_init(const char *spec, const char *log_path, GError **errp)
{
    if (qts.connected || qts.listen_fd >= 0) {
        error_setg(errp, "Only one instance of qtest can be created");
        return false;
    }
    if (!open_log(log_path, errp)) {
        return false;
    }
    if (g_str_has_prefix(spec, "unix:")) {
        return open_unix(spec + 5, errp);
    }
    if (!strcmp(spec, "stdio")) {
        session_open(0, 1);
        return true;
    }
    error_setg(errp, "Failed to initialize device for qtest: \"%s\" "
               "(supported: unix:PATH[,server=on[,wait=off]], stdio)", spec);
    return false;
}
