/*
 * NBD helpers (nbd/common.c): the URI forms -drive file= and kvmpc-img
 * take, request and reply headers on the wire, and error values.
 */
#include "qemu/osdep.h"
#include "block/nbd.h"

static void check_uri(const char *uri, const char *host, const char *port,
                      const char *path, const char *export)
{
    NBDAddress a;
    GError *err = NULL;

    g_assert_true(nbd_is_filename(uri));
    g_assert_true(nbd_parse_filename(uri, &a, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(a.host, ==, host);
    g_assert_cmpstr(a.port, ==, port);
    g_assert_cmpstr(a.path, ==, path);
    g_assert_cmpstr(a.export, ==, export);
    nbd_address_clear(&a);
}

static void test_uris(void)
{
    check_uri("nbd://localhost:10810/disk0", "localhost", "10810", NULL,
              "disk0");
    check_uri("nbd://127.0.0.1/", "127.0.0.1", "10809", NULL, "");
    check_uri("nbd+tcp://[::1]:99/a%20b", "::1", "99", NULL, "a b");
    check_uri("nbd+unix:///exp?socket=/tmp/s.sock", NULL, NULL,
              "/tmp/s.sock", "exp");
    check_uri("nbd+unix://?socket=/tmp/s", NULL, NULL, "/tmp/s", "");
    check_uri("nbd:example.org:10809", "example.org", "10809", NULL, "");
    check_uri("nbd:example.org:10809:exportname=x:y", "example.org", "10809",
              NULL, "x:y");
    check_uri("nbd:[::1]:5:exportname=e", "::1", "5", NULL, "e");
    check_uri("nbd:unix:/run/n.sock:exportname=e", NULL, NULL,
              "/run/n.sock", "e");
    check_uri("nbd:unix:/run/n.sock", NULL, NULL, "/run/n.sock", "");
}

static void test_bad_uris(void)
{
    static const char *const bad[] = {
        "nbd:", "nbd:host", "nbd:host:", "nbd::10809", "nbd:unix:",
        "nbd+unix:///e", "nbd+unix:///e?socket=", "nbd+unix:///e?socket=/s&x=1",
        "nbd+unix://host/e?socket=/s", "nbd://", "nbd://h/e?socket=/s",
        "nbd+xyz://h/e", "nbd://[::1/e",
    };
    g_autofree char *long_name = g_strnfill(NBD_MAX_STRING_SIZE + 1, 'x');
    g_autofree char *long_uri = g_strdup_printf("nbd://h/%s", long_name);
    NBDAddress a;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;

        g_assert_false(nbd_parse_filename(bad[i], &a, &err));
        g_assert_nonnull(err);
        g_assert_null(a.host);
        g_assert_null(a.export);
        g_error_free(err);
    }
    g_assert_false(nbd_parse_filename(long_uri, &a, NULL));
    g_assert_false(nbd_is_filename("/tmp/nbd:x"));
    g_assert_false(nbd_is_filename("file.raw"));
}

static void test_wire(void)
{
    NBDRequest r = { .flags = NBD_CMD_FLAG_FUA, .type = NBD_CMD_WRITE,
                     .handle = 0x0102030405060708ULL,
                     .from = 0x1122334455667788ULL, .len = 0xa0b0c0d0 }, d;
    uint8_t b[NBD_REQUEST_SIZE];
    static const uint8_t simple[16] = {
        0x67, 0x44, 0x66, 0x98, 0, 0, 0, 22, 1, 2, 3, 4, 5, 6, 7, 8,
    };
    static const uint8_t structured[20] = {
        0x66, 0x8e, 0x33, 0xef, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9,
        0, 0, 0, 12,
    };
    static const uint8_t junk[20] = { 0x12, 0x34 };
    NBDReply rep;

    nbd_request_encode(b, &r);
    g_assert_cmpuint(b[0], ==, 0x25);
    g_assert_cmpuint(b[3], ==, 0x13);
    nbd_request_decode(b, &d);
    g_assert_cmpuint(d.magic, ==, NBD_REQUEST_MAGIC);
    g_assert_cmpuint(d.flags, ==, r.flags);
    g_assert_cmpuint(d.type, ==, r.type);
    g_assert_cmpuint(d.handle, ==, r.handle);
    g_assert_cmpuint(d.from, ==, r.from);
    g_assert_cmpuint(d.len, ==, r.len);

    g_assert_true(nbd_reply_decode(simple, &rep));
    g_assert_false(rep.structured);
    g_assert_cmpuint(rep.error, ==, NBD_EINVAL);
    g_assert_cmpuint(rep.handle, ==, 0x0102030405060708ULL);
    g_assert_true(nbd_reply_decode(structured, &rep));
    g_assert_true(rep.structured);
    g_assert_cmpuint(rep.flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpuint(rep.type, ==, NBD_REPLY_TYPE_BLOCK_STATUS);
    g_assert_cmpuint(rep.handle, ==, 9);
    g_assert_cmpuint(rep.length, ==, 12);
    g_assert_false(nbd_reply_decode(junk, &rep));
}

static void test_errors(void)
{
    g_assert_cmpuint(nbd_errno_to_wire(0), ==, NBD_SUCCESS);
    g_assert_cmpuint(nbd_errno_to_wire(EROFS), ==, NBD_EPERM);
    g_assert_cmpuint(nbd_errno_to_wire(ENOSPC), ==, NBD_ENOSPC);
    g_assert_cmpuint(nbd_errno_to_wire(EBADF), ==, NBD_EIO);
    g_assert_cmpint(nbd_wire_to_errno(NBD_EINVAL), ==, EINVAL);
    g_assert_cmpint(nbd_wire_to_errno(12345), ==, EIO);
    g_assert_cmpstr(nbd_cmd_name(NBD_CMD_BLOCK_STATUS), ==, "block status");
    g_assert_cmpstr(nbd_cmd_name(999), ==, "unknown");
}

/* Connection attempts are spaced, growing to a cap: a server that
 * accepts and hangs up in a loop must not make the client spin. */
static void test_retry_spacing(void)
{
    int64_t ms = 0, total = 0;
    int n;

    g_assert_cmpint(nbd_retry_delay_ms(0), ==, NBD_RETRY_FIRST_MS);
    for (n = 0; total < 60 * 1000; n++) {
        int64_t next = nbd_retry_delay_ms(ms);

        g_assert_cmpint(next, >=, ms);
        g_assert_cmpint(next, <=, NBD_RETRY_MAX_MS);
        ms = next;
        total += ms;
    }
    g_assert_cmpint(ms, ==, NBD_RETRY_MAX_MS);
    g_assert_cmpint(n, <=, 12);         /* a dozen attempts a minute */
    g_assert_cmpint(nbd_retry_delay_ms(NBD_RETRY_MAX_MS), ==,
                    NBD_RETRY_MAX_MS);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd/uris", test_uris);
    g_test_add_func("/nbd/bad-uris", test_bad_uris);
    g_test_add_func("/nbd/wire", test_wire);
    g_test_add_func("/nbd/errors", test_errors);
    g_test_add_func("/nbd/retry-spacing", test_retry_spacing);
    return g_test_run();
}
