/*
 * The qtest protocol itself: reply formats, buffers, the manual clock,
 * the log, the ways a session starts and ends, and robustness against
 * malformed input (every bad line gets one FAIL and the session goes on).
 */
#include "libqtest.h"
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define RAM_SCRATCH 0x100000ULL     /* 1 MiB: plain RAM in the pc machine */

static void assert_reply(QTestState *s, const char *cmd, const char *want)
{
    g_autofree char *got = qtest_raw(s, "%s", cmd);
    g_assert_cmpstr(got, ==, want);
}

static void assert_fail(QTestState *s, const char *cmd)
{
    g_autofree char *got = qtest_raw(s, "%s", cmd);

    if (!g_str_has_prefix(got, "FAIL")) {
        g_error("'%s' was answered '%s', not FAIL", cmd, got);
    }
}

static void test_reply_formats(void)
{
    QTestState *s = qtest_init("");

    assert_reply(s, "endianness", "OK little");
    /* Unassigned ports and memory read as all-ones. */
    assert_reply(s, "inb 0x1234", "OK 0x00ff");
    assert_reply(s, "inw 0x1234", "OK 0xffff");
    assert_reply(s, "inl 0x1234", "OK 0xffffffff");
    assert_reply(s, "outb 0x1234 0x5", "OK");
    assert_reply(s, "writel 0x100000 0x11223344", "OK");
    assert_reply(s, "readl 0x100000", "OK 0x0000000011223344");
    assert_reply(s, "readb 0x100003", "OK 0x0000000000000011");
    assert_reply(s, "read 0x100000 4", "OK 0x44332211");
    assert_reply(s, "b64read 0x100000 4", "OK RDMiEQ==");
    /* Decimal and octal numbers parse as in C. */
    assert_reply(s, "readw 1048576", "OK 0x0000000000003344");
    assert_reply(s, "readw 04000000", "OK 0x0000000000003344");
    /* Tabs, repeated spaces and CRLF line ends are tolerated. */
    assert_reply(s, "readb\t0x100000", "OK 0x0000000000000044");
    assert_reply(s, "  readb   0x100001  ", "OK 0x0000000000000033");
    assert_reply(s, "endianness\r", "OK little");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_memory_buffers(void)
{
    QTestState *s = qtest_init("");
    uint8_t out[300], in[300];

    for (unsigned i = 0; i < sizeof(out); i++) {
        out[i] = i * 7 + 3;
    }
    qtest_memwrite(s, RAM_SCRATCH, out, sizeof(out));
    qtest_memread(s, RAM_SCRATCH, in, sizeof(in));
    g_assert(!memcmp(in, out, sizeof(in)));

    memset(in, 0, sizeof(in));
    qtest_bufread(s, RAM_SCRATCH, in, sizeof(in));
    g_assert(!memcmp(in, out, sizeof(in)));

    qtest_bufwrite(s, RAM_SCRATCH + 1000, out, 17);
    qtest_memread(s, RAM_SCRATCH + 1000, in, 17);
    g_assert(!memcmp(in, out, 17));

    qtest_memset(s, RAM_SCRATCH, 0xa5, 100);
    qtest_memread(s, RAM_SCRATCH, in, 101);
    for (unsigned i = 0; i < 100; i++) {
        g_assert_cmphex(in[i], ==, 0xa5);
    }
    g_assert_cmphex(in[100], ==, out[100]);

    /* A zero-length memset is allowed and does nothing. */
    assert_reply(s, "memset 0x100000 0 0x11", "OK");
    g_assert_cmphex(qtest_readb(s, RAM_SCRATCH), ==, 0xa5);

    /* Short write data is padded with zeroes. */
    assert_reply(s, "write 0x100000 4 0xaabb", "OK");
    g_assert_cmphex(qtest_readl(s, RAM_SCRATCH), ==, 0x0000bbaa);

    /* All access widths, little-endian. */
    qtest_writeq(s, RAM_SCRATCH, 0x0102030405060708ULL);
    g_assert_cmphex(qtest_readq(s, RAM_SCRATCH), ==, 0x0102030405060708ULL);
    g_assert_cmphex(qtest_readl(s, RAM_SCRATCH + 4), ==, 0x01020304);
    g_assert_cmphex(qtest_readw(s, RAM_SCRATCH + 1), ==, 0x0607);
    qtest_writew(s, RAM_SCRATCH + 3, 0xeeff);
    qtest_writeb(s, RAM_SCRATCH + 7, 0x99);
    g_assert_cmphex(qtest_readq(s, RAM_SCRATCH), ==, 0x990203eeff060708ULL);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_clock(void)
{
    QTestState *s = qtest_init("");

    /* The virtual clock starts at 0 and only moves when told to. */
    g_assert_cmpint(qtest_clock_step(s, 0), ==, 0);
    g_assert_cmpint(qtest_clock_step(s, 100), ==, 100);
    g_assert_cmpint(qtest_clock_step(s, 100), ==, 200);
    /* clock_set never goes back. */
    g_assert_cmpint(qtest_clock_set(s, 50), ==, 200);
    g_assert_cmpint(qtest_clock_set(s, 5000000000LL), ==, 5000000000LL);
    /* Nothing armed: clock_step without NS leaves the clock alone. */
    g_assert_cmpint(qtest_clock_step_next(s), ==, 5000000000LL);
    assert_fail(s, "clock_step -1");
    assert_fail(s, "clock_step 0x7fffffffffffffff");
    assert_fail(s, "clock_set -5");
    g_assert_cmpint(qtest_clock_step(s, 1), ==, 5000000001LL);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Lines that must each get a FAIL, and leave the session usable. */
static const char *const bad_lines[] = {
    "",
    "   ",
    "bogus",
    "OUTB 0x80 1",
    "outb",
    "outb 0x80",
    "outb 0x80 1 2",
    "outb 0x10000 1",
    "outb -1 1",
    "outb +1 1",
    "outb 0x 1",
    "outb 0x80 zz",
    "outb 0x80 0x1g",
    "inb",
    "inb 65536",
    "inw 99999999999999999999999",
    "readb",
    "readq 0x1ffffffffffffffff",
    "writeb 0 1 2",
    "writel 0x1000",
    "read 0 0",
    "read 0x1000",
    "read 0x1000 0x10000000",
    "read 0xffffffffffffffff 2",
    "write 0x1000 4 1234",
    "write 0x1000 4 0xzz",
    "write 0x1000 4 0x123",
    "write 0x1000 4",
    "b64read 0 0x7fffffffffffffff",
    "b64write 0x1000 4 ****",
    "b64write 0x1000 4",
    "memset 0x1000 1",
    "memset 0x1000 1 x",
    "memset 0x1000 0xffffffffffff 1",
    "clock_step abc",
    "clock_step 1 2",
    "clock_set",
    "clock_set 1e9",
    "irq_intercept_in",
    "irq_intercept_in nosuchdevice",
    "irq_intercept_out /nosuch/path",
    "set_irq_in ioapic unnamed-gpio-in 24 1",
    "set_irq_in ioapic unnamed-gpio-in 1",
    "set_irq_in nosuch unnamed-gpio-in 1 1",
    "set_irq_in ioapic unnamed-gpio-in 1 0x100000000",
    "endianness now",
    "a b c d e f g h i j k l m n o p",
    "\x01\x02\x7f\xff",
    "inb 0x80\x01",
};

static void test_garbage(void)
{
    QTestState *s = qtest_init("");

    for (unsigned i = 0; i < G_N_ELEMENTS(bad_lines); i++) {
        assert_fail(s, bad_lines[i]);
    }
    assert_reply(s, "bogus", "FAIL Unknown command 'bogus'");
    assert_reply(s, "", "FAIL Unknown command ''");
    /* Control characters are not echoed back. */
    assert_reply(s, "\x01x", "FAIL Unknown command '?x'");
    /* The session still works. */
    qtest_writel(s, RAM_SCRATCH, 0xcafef00d);
    g_assert_cmphex(qtest_readl(s, RAM_SCRATCH), ==, 0xcafef00d);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * Raw bytes on the socket, and lines longer than kvmpc buffers (it takes
 * up to 96 MiB, enough for a b64write of the largest access).
 */
static void test_binary_and_long_lines(void)
{
    const size_t long_len = 4 * 1024 * 1024, huge_len = 100 * 1024 * 1024;
    QTestState *s = qtest_init("");
    g_autofree char *huge = g_malloc(huge_len + 1);
    g_autofree char *rsp = NULL;

    memset(huge, 'A', huge_len);
    huge[long_len] = '\0';
    rsp = qtest_raw(s, "%s", huge);
    g_assert(g_str_has_prefix(rsp, "FAIL Unknown command 'AAAA"));
    g_clear_pointer(&rsp, g_free);
    huge[long_len] = 'A';
    huge[huge_len] = '\0';
    rsp = qtest_raw(s, "%s", huge);
    g_assert_cmpstr(rsp, ==, "FAIL line too long");
    assert_reply(s, "inb 0x80", "OK 0x00ff");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The largest single access is allowed, one byte more is not. */
static void test_size_limits(void)
{
    QTestState *s = qtest_init("-m 128M");

    assert_reply(s, "memset 0x100000 0x4000000 0", "OK");
    assert_fail(s, "memset 0x100000 0x4000001 0");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_log(void)
{
    g_autofree char *log = NULL, *text = NULL;
    int fd = g_file_open_tmp("kvmpc-qtest-log-XXXXXX", &log, NULL);
    QTestState *s;

    g_assert(fd >= 0);
    close(fd);
    s = qtest_initf("-qtest-log %s", log);
    qtest_outb(s, 0x80, 0x12);
    g_free(qtest_raw(s, "bogus"));
    g_assert_cmpint(qtest_quit(s), ==, 0);

    g_assert(g_file_get_contents(log, &text, NULL, NULL));
    g_assert(strstr(text, "] OPENED\n"));
    g_assert(strstr(text, "[R +"));
    g_assert(strstr(text, "] outb 0x80 0x12\n"));
    g_assert(strstr(text, "[S +"));
    g_assert(strstr(text, "] FAIL Unknown command 'bogus'\n"));
    g_assert(strstr(text, "] CLOSED\n"));
    unlink(log);
}

static int connect_retry(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    g_assert(strlen(path) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    for (int i = 0; i < 2000; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return fd;
        }
        close(fd);
        g_usleep(10000);
    }
    g_error("could not connect to %s", path);
}

static char *read_line(int fd)
{
    GString *line = g_string_new(NULL);
    char c;

    while (read(fd, &c, 1) == 1 && c != '\n') {
        g_string_append_c(line, c);
    }
    return g_string_free(line, FALSE);
}

static void send_bytes(int fd, const void *buf, size_t len)
{
    g_assert(write(fd, buf, len) == (ssize_t)len);
}

/*
 * -qtest unix:PATH,server=on,wait=off: kvmpc listens, the test connects.
 * The raw socket also lets us send what libqtest never would: NUL bytes,
 * several commands in one write, a command split over several writes.
 */
static void test_server_mode(gconstpointer data)
{
    const char *options = data;
    g_autofree char *dir = g_dir_make_tmp("kvmpc-qtest-srv-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "q.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,%s", sock, options);
    g_autofree char *rsp = NULL;
    const char *argv[] = {
        qtest_kvmpc_binary(), "-qtest", spec, "-qtest-log", "none",
        "-nodefaults", "-display", "none", "-machine", "pc", NULL, NULL,
        NULL,
    };
    GPid pid;
    int fd, wstatus;

    if (!qtest_default_firmware()) {
        g_test_skip("the default firmware is not installed");
        return;
    }
    g_assert(g_spawn_async(NULL, (char **)argv, NULL,
                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                           NULL));
    fd = connect_retry(sock);
    send_bytes(fd, "endianness\n", 11);
    rsp = read_line(fd);
    g_assert_cmpstr(rsp, ==, "OK little");
    g_free(rsp);

    send_bytes(fd, "inb 0x80\0 junk\n", 15);
    rsp = read_line(fd);
    g_assert_cmpstr(rsp, ==, "FAIL NUL byte in command");
    g_free(rsp);

    send_bytes(fd, "bogus\nwriteb 0x1000 0x5a\nreadb 0x1000\n", 38);
    rsp = read_line(fd);
    g_assert_cmpstr(rsp, ==, "FAIL Unknown command 'bogus'");
    g_free(rsp);
    rsp = read_line(fd);
    g_assert_cmpstr(rsp, ==, "OK");
    g_free(rsp);
    rsp = read_line(fd);
    g_assert_cmpstr(rsp, ==, "OK 0x000000000000005a");
    g_free(rsp);

    send_bytes(fd, "rea", 3);
    g_usleep(20000);
    send_bytes(fd, "db 0x10", 7);
    g_usleep(20000);
    send_bytes(fd, "00\n", 3);
    rsp = read_line(fd);
    g_assert_cmpstr(rsp, ==, "OK 0x000000000000005a");
    close(fd);
    g_assert(waitpid(pid, &wstatus, 0) == pid);
    g_assert(WIFEXITED(wstatus));
    g_assert_cmpint(WEXITSTATUS(wstatus), ==, 0);
    g_assert(!g_file_test(sock, G_FILE_TEST_EXISTS));
    rmdir(dir);
}

/* -qtest stdio: commands from stdin, replies on stdout, EOF ends it. */
static void test_stdio(void)
{
    g_autofree char *in = NULL, *quoted_in = NULL, *quoted_bin = NULL;
    g_autofree char *cmd = NULL, *out = NULL;
    int fd = g_file_open_tmp("kvmpc-qtest-stdin-XXXXXX", &in, NULL);
    const char *script = "endianness\nwritew 0x1000 0xbeef\n"
                         "readw 0x1000\nbogus\n";
    const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
    int wstatus;

    if (!qtest_default_firmware()) {
        g_test_skip("the default firmware is not installed");
        return;
    }
    g_assert(fd >= 0);
    g_assert(write(fd, script, strlen(script)) == (ssize_t)strlen(script));
    close(fd);
    quoted_in = g_shell_quote(in);
    quoted_bin = g_shell_quote(qtest_kvmpc_binary());
    cmd = g_strdup_printf("exec %s -qtest stdio -qtest-log none -nodefaults "
                          "-display none <%s", quoted_bin, quoted_in);
    argv[2] = cmd;
    g_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                          NULL, &out, NULL, &wstatus, NULL));
    g_assert(WIFEXITED(wstatus));
    g_assert_cmpint(WEXITSTATUS(wstatus), ==, 0);
    g_assert_cmpstr(out, ==, "OK little\nOK\nOK 0x000000000000beef\n"
                    "FAIL Unknown command 'bogus'\n");
    unlink(in);
}

/* A -qtest spec kvmpc cannot use is a start-up error: status 1, a message. */
static void test_bad_spec(void)
{
    if (!qtest_default_firmware()) {
        g_test_skip("the default firmware is not installed");
        return;
    }
    const char *specs[] = {
        "bogus", "unix:", "unix:/nonexistent/dir/q.sock",
        "unix:/tmp/x,server=maybe", "unix:/tmp/x,colour=blue",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(specs); i++) {
        const char *argv[] = {
            qtest_kvmpc_binary(), "-qtest", specs[i], "-nodefaults",
            "-display", "none", NULL,
        };
        g_autofree char *err = NULL;
        int wstatus;

        g_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT,
                              NULL, NULL, NULL, &err, &wstatus, NULL));
        g_assert(WIFEXITED(wstatus));
        g_assert_cmpint(WEXITSTATUS(wstatus), ==, 1);
        g_assert(strstr(err, "kvmpc: -qtest: "));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/protocol/reply-formats", test_reply_formats);
    g_test_add_func("/qtest/protocol/memory-buffers", test_memory_buffers);
    g_test_add_func("/qtest/protocol/clock", test_clock);
    g_test_add_func("/qtest/protocol/garbage", test_garbage);
    g_test_add_func("/qtest/protocol/binary-and-long-lines",
                   test_binary_and_long_lines);
    g_test_add_func("/qtest/protocol/size-limits", test_size_limits);
    g_test_add_func("/qtest/protocol/log", test_log);
    g_test_add_data_func("/qtest/protocol/server-mode/wait-off",
                         "server=on,wait=off", test_server_mode);
    g_test_add_data_func("/qtest/protocol/server-mode/wait-on",
                         "server=on", test_server_mode);
    g_test_add_data_func("/qtest/protocol/server-mode/legacy",
                         "server,nowait", test_server_mode);
    g_test_add_func("/qtest/protocol/stdio", test_stdio);
    g_test_add_func("/qtest/protocol/bad-spec", test_bad_spec);
    return g_test_run();
}
