/*
 * Migration over TLS (include/migration/tls.h): the handshake on a
 * migration connection and the relay threads that carry the stream
 * through the session afterwards.
 */
#include "qemu/osdep.h"
#include "migration/tls.h"
#include "migration/migration.h"
#include "crypto/tls.h"
#include "qemu/sockets-io.h"
#include "system/main-loop.h"
#include <sys/socket.h>

#define RELAY_CHUNK             (256 * KiB)
#define RELAY_SOCKBUF           (1 * MiB)
/* a client that connects and then says nothing holds a thread only
 * this long (NBD's server waits as long) */
#define SERVER_HANDSHAKE_TIMEOUT_S  10

MigrationTLS *migration_tls_get(void)
{
    MigrationTLS *tls;
    char *creds = migrate_tls_creds();

    if (!creds) {
        return NULL;
    }
    tls = g_new0(MigrationTLS, 1);
    tls->creds = creds;
    tls->hostname = migrate_tls_hostname();
    tls->authz = migrate_tls_authz();
    return tls;
}

void migration_tls_free(MigrationTLS *tls)
{
    if (tls) {
        g_free(tls->creds);
        g_free(tls->hostname);
        g_free(tls->authz);
        g_free(tls);
    }
}

bool migration_tls_uri_ok(const char *uri, GError **errp)
{
    if (g_str_has_prefix(uri, "exec:") || g_str_has_prefix(uri, "file:")) {
        error_setg(errp, "TLS migration needs a tcp:, unix: or socket fd: "
                   "URI (kvmpc's exec: and file: carry one direction)");
        return false;
    }
    return true;
}

/* The host of a tcp:HOST:PORT or tcp:[V6]:PORT URI; NULL for others. */
static char *uri_host(const char *uri)
{
    const char *hp, *end;

    if (!uri || !g_str_has_prefix(uri, "tcp:")) {
        return NULL;
    }
    hp = uri + 4;
    if (hp[0] == '[') {
        end = strchr(hp, ']');
        return end && end > hp + 1 ? g_strndup(hp + 1, end - hp - 1) : NULL;
    }
    end = strrchr(hp, ':');
    return end && end > hp ? g_strndup(hp, end - hp) : NULL;
}

/* The object registry is the main loop's: look up under the big lock. */
static QCryptoTLSCreds *find_creds(const char *id, QCryptoTLSEndpoint ep,
                                   GError **errp)
{
    bool took = bql_lock_if_unlocked();
    QCryptoTLSCreds *creds = qcrypto_tls_creds_find(id, ep, errp);

    if (took) {
        bql_unlock();
    }
    return creds;
}

static bool check_authz(QCryptoTLSSession *sess, const char *authz,
                        GError **errp)
{
    bool took, ok;

    if (!authz) {
        return true;
    }
    took = bql_lock_if_unlocked();
    ok = qcrypto_tls_session_check_authz(sess, authz, errp);
    if (took) {
        bql_unlock();
    }
    return ok;
}

static void set_recv_timeout(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Blocking handshake: "not yet" only comes back when the receive
 * timeout ran out. */
static bool handshake(QCryptoTLSSession *sess, GError **errp)
{
    int ret = qcrypto_tls_session_handshake(sess, errp);

    if (ret == 0) {
        error_setg(errp, "TLS handshake failed: the peer did not answer "
                   "within %d s", SERVER_HANDSHAKE_TIMEOUT_S);
    }
    return ret > 0;
}

/* ---- the relay ------------------------------------------------------- */

typedef struct Relay {
    QCryptoTLSSession *sess;
    int net_fd;             /* the TLS connection */
    int app_fd;             /* our end of the socketpair */
    int refs;               /* one per thread */
} Relay;

static void relay_unref(Relay *r)
{
    if (!g_atomic_int_dec_and_test(&r->refs)) {
        return;
    }
    qcrypto_tls_session_free(r->sess);
    close(r->net_fd);
    close(r->app_fd);
    g_free(r);
}

static ssize_t app_send(void *opaque, const void *buf, size_t len)
{
    return send(*(int *)opaque, buf, len, MSG_NOSIGNAL);
}

/*
 * The migration code's writes, encrypted.  Its end of the stream (close
 * or shutdown) ends the TLS stream cleanly; a broken connection makes
 * its next write fail (EPIPE) and its reads end, as on a plain socket.
 */
static gpointer relay_out(gpointer opaque)
{
    Relay *r = opaque;
    uint8_t *buf = g_malloc(RELAY_CHUNK);
    bool broken = false;

    for (;;) {
        ssize_t n = read(r->app_fd, buf, RELAY_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (!qcrypto_tls_session_write_full(r->sess, buf, n)) {
            broken = true;
            break;
        }
    }
    if (broken) {
        shutdown(r->app_fd, SHUT_RDWR);
        shutdown(r->net_fd, SHUT_RDWR);
    } else {
        qcrypto_tls_session_bye(r->sess);
        shutdown(r->net_fd, SHUT_WR);
    }
    g_free(buf);
    relay_unref(r);
    return NULL;
}

/* The peer's bytes, decrypted, for the migration code to read. */
static gpointer relay_in(gpointer opaque)
{
    Relay *r = opaque;
    uint8_t *buf = g_malloc(RELAY_CHUNK);
    ssize_t n;

    for (;;) {
        n = qcrypto_tls_session_read(r->sess, buf, RELAY_CHUNK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (!io_write_full(app_send, &r->app_fd, buf, n)) {
            /* the migration code is done with the connection */
            shutdown(r->net_fd, SHUT_RD);
            n = 0;
            break;
        }
    }
    /* a clean end of the TLS stream reads as EOF; a broken one also
     * fails the migration code's writes */
    shutdown(r->app_fd, n == 0 ? SHUT_WR : SHUT_RDWR);
    g_free(buf);
    relay_unref(r);
    return NULL;
}

/* Hand the session on @fd to two relay threads; the caller's end. */
static int relay_start(QCryptoTLSSession *sess, int fd, GError **errp)
{
    int sv[2], bufsize = RELAY_SOCKBUF;
    Relay *r;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        error_setg(errp, "TLS migration: socketpair: %s", g_strerror(errno));
        qcrypto_tls_session_free(sess);
        close(fd);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    }
    r = g_new0(Relay, 1);
    r->sess = sess;
    r->net_fd = fd;
    r->app_fd = sv[1];
    r->refs = 2;
    g_thread_unref(g_thread_new("mig-tls-out", relay_out, r));
    g_thread_unref(g_thread_new("mig-tls-in", relay_in, r));
    return sv[0];
}

/* The handshake on @fd with @creds; the relay's end or -1 (@fd closed).
 * A server waits for its client's first bytes only so long. */
static int secure(QCryptoTLSCreds *creds, bool server, const char *hostname,
                  const char *authz, int fd, GError **errp)
{
    QCryptoTLSSession *sess;

    g_unix_set_fd_nonblocking(fd, FALSE, NULL);
    if (server) {
        set_recv_timeout(fd, SERVER_HANDSHAKE_TIMEOUT_S);
    }
    sess = qcrypto_tls_session_new(creds, hostname, fd, false, errp);
    qcrypto_tls_creds_unref(creds);
    if (!sess) {
        close(fd);
        return -1;
    }
    if (!handshake(sess, errp) || !check_authz(sess, authz, errp)) {
        qcrypto_tls_session_free(sess);
        close(fd);
        return -1;
    }
    if (server) {
        /* from now on the stream may pause as long as the source likes */
        set_recv_timeout(fd, 0);
    }
    return relay_start(sess, fd, errp);
}

int migration_tls_client(const MigrationTLS *tls, int fd, const char *uri,
                         GError **errp)
{
    QCryptoTLSCreds *creds = find_creds(tls->creds,
                                        QCRYPTO_TLS_ENDPOINT_CLIENT, errp);
    g_autofree char *host = NULL;

    if (!creds) {
        close(fd);
        return -1;
    }
    host = tls->hostname ? g_strdup(tls->hostname) : uri_host(uri);
    return secure(creds, false, host, NULL, fd, errp);
}

int migration_tls_server(const MigrationTLS *tls, int fd, GError **errp)
{
    QCryptoTLSCreds *creds = find_creds(tls->creds,
                                        QCRYPTO_TLS_ENDPOINT_SERVER, errp);

    if (!creds) {
        close(fd);
        return -1;
    }
    return secure(creds, true, NULL, tls->authz, fd, errp);
}
