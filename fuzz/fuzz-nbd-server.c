/*
 * libFuzzer target: the NBD server's handshake and request parser
 * (nbd/server.c), fed what a client sends.
 *
 * The input is the byte stream of one client.  The server runs on a
 * unix socket in a private directory with two exports of a 1 MiB
 * null-co node ("rw" writable, "ro" read-only, the names a client must
 * guess); each input is a socketpair whose one end the server serves
 * (nbd_server_add_client), the other end writes the input, reads and
 * drops every reply, and half-closes.  An input that starts with
 * FUZZ_TLS_PREFIX ("TLS!") is served in forced TLS mode (docs/tls.md:
 * options refused before STARTTLS, then a GnuTLS handshake on what
 * follows) with PSK credentials from a keys.psk written at set-up; the
 * prefix is not sent.  Oracles besides the sanitizers:
 *   - the server always ends the conversation (closes its end) once the
 *     input is over: no hang, however the input stops;
 *   - it never sends more than a bounded amount for a bounded input.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "block/nbd.h"
#include "system/object.h"
#include "qapi/qapi-commands.h"
#include "qobject/qdict.h"

#include <poll.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (1 * MiB)
/* Iterations of the main context before the server counts as hung. */
#define FUZZ_MAX_STEPS 200000
#define FUZZ_TLS_PREFIX "TLS!"

/* The PSK server credentials "fuzz-psk" (GnuTLS builds). */
static bool tls_creds_ready;

static void setup_tls_creds(const char *dir)
{
#ifdef CONFIG_GNUTLS
    g_autofree char *keys = g_build_filename(dir, "keys.psk", NULL);
    g_autofree char *opts = g_strdup_printf("tls-creds-psk,id=fuzz-psk,"
                                            "endpoint=server,dir=%s", dir);
    GError *err = NULL;

    g_assert(g_file_set_contents(keys, "fuzz:00112233445566778899aabb\n",
                                 -1, &err));
    g_assert(user_object_create_from_opts(opts, &err));
    g_assert_no_error(err);
    /* GnuTLS reads the file again at each key lookup: without it a
     * lookup fails as a wrong key would; an input gets that far only
     * with a real TLS client's PSK handshake */
    unlink(keys);
    tls_creds_ready = true;
#endif
}

static void setup_once(void)
{
    static bool done;
    g_autofree char *dir = NULL, *path = NULL;
    BlockDriverState *bs;
    QDict *opts;
    GError *err = NULL;
    SocketAddressLegacy addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    UnixSocketAddress ua = { 0 };
    UnixSocketAddressWrapper w = { .data = &ua };
    BlockExportOptions rw = {
        .type = BLOCK_EXPORT_TYPE_NBD, .id = (char *)"rw",
        .has_writable = true, .writable = true,
        .u.nbd.name = (char *)"rw",
    }, ro = {
        .type = BLOCK_EXPORT_TYPE_NBD, .id = (char *)"ro",
        .u.nbd.name = (char *)"ro",
    };

    if (done) {
        return;
    }
    done = true;
    dir = g_dir_make_tmp("fuzz-nbd-XXXXXX", &err);
    g_assert_no_error(err);
    path = g_build_filename(dir, "nbd.sock", NULL);
    ua.path = path;
    addr.u.q_unix = w;
    qmp_nbd_server_start(&addr, NULL, NULL, false, 0, &err);
    g_assert_no_error(err);
    unlink(path);           /* nothing connects through it */
    setup_tls_creds(dir);
    rmdir(dir);
    opts = qdict_new();
    qdict_put_str(opts, "driver", "null-co");
    qdict_put_int(opts, "size", 1 * MiB);
    bs = bdrv_open_options(opts, &err);
    qobject_unref(opts);
    g_assert_no_error(err);
    rw.node_name = ro.node_name = (char *)bdrv_node_name(bs);
    qmp_block_export_add(&rw, &err);
    g_assert_no_error(err);
    qmp_block_export_add(&ro, &err);
    g_assert_no_error(err);
    bdrv_unref(bs);         /* the exports hold it */
}

/* Drop what the server sent; false once it closed its end. */
static bool drain(int fd, uint64_t *total)
{
    uint8_t buf[64 * 1024];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0) {
            *total += n;
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    size_t sent = 0, plen = strlen(FUZZ_TLS_PREFIX);
    const char *tls = NULL;
    uint64_t received = 0;
    bool open = true, half_closed = false;
    GError *err = NULL;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    setup_once();
    if (tls_creds_ready && size >= plen && !memcmp(data, FUZZ_TLS_PREFIX,
                                                   plen)) {
        tls = "fuzz-psk";
        data += plen;
        size -= plen;
    }
    g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    g_unix_set_fd_nonblocking(sv[1], TRUE, NULL);
    g_assert(nbd_server_add_client(sv[0], tls, &err));
    for (unsigned step = 0; open; step++) {
        struct pollfd p = { .fd = sv[1], .events = POLLIN };

        g_assert(step < FUZZ_MAX_STEPS);        /* the server hung */
        if (sent < size) {
            ssize_t n = send(sv[1], data + sent, size - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                sent += n;
            } else if (n < 0 && errno == EPIPE) {
                sent = size;                    /* the server hung up */
            }
        }
        if (sent == size && !half_closed) {
            shutdown(sv[1], SHUT_WR);
            half_closed = true;
        }
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        poll(&p, 1, 1);
        open = drain(sv[1], &received);
        /* Replies are bounded by what was asked: a read reply per 28
         * request bytes, at most 1 MiB each (the export's size). */
        g_assert(received <= 4096 + (uint64_t)size / 28 * (1 * MiB + 64) +
                 (uint64_t)size * 64);
    }
    close(sv[1]);
    return 0;
}
