/*
 * TLS sessions over a connected socket (include/crypto/tls.h), on GnuTLS
 * (RFC 8446 / RFC 5246 as GnuTLS implements them).  After the handshake
 * the peer is checked as QEMU 7.2 does: with X.509 credentials and
 * verify-peer=on, its certificate must chain to the CA, be valid now and
 * not revoked, and (client side, when a host name is given) name that
 * host; QEMU's messages.  The server side of non-blocking sessions runs
 * on the main loop: GnuTLS's own push/pull on the socket return EAGAIN,
 * which the caller turns into a wait for the socket.
 */
#include "qemu/osdep.h"
#include "qemu/sockets-io.h"
#include "crypto/tlscreds.h"
#include "crypto/authz.h"

#ifdef CONFIG_GNUTLS
#include <gnutls/x509.h>
#include <poll.h>
#include <sys/socket.h>

struct QCryptoTLSSession {
    QCryptoTLSCreds *creds;         /* one reference */
    gnutls_session_t s;
    char *hostname;
    bool server;
    int fd;
    GByteArray *prefix;             /* set_prefix: read before the socket */
    size_t prefix_off;
    bool would_block;               /* the last read found the socket empty */
};

static bool set_priority(QCryptoTLSSession *sess, GError **errp)
{
    const char *base = sess->creds->priority ? sess->creds->priority
                                             : "NORMAL";
    g_autofree char *prio = NULL;
    const char *where = NULL;
    int ret;

    if (sess->creds->x509) {
        prio = g_strdup(base);
    } else if (sess->creds->anon_server || sess->creds->anon_client) {
        prio = g_strdup_printf("%s:+ANON-DH", base);     /* QEMU's */
    } else {
        prio = g_strdup_printf("%s:+ECDHE-PSK:+DHE-PSK:+PSK", base);
    }
    ret = gnutls_priority_set_direct(sess->s, prio, &where);
    if (ret < 0) {
        error_setg(errp, "Unable to set TLS session priority %s: %s", prio,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

static bool set_credentials(QCryptoTLSSession *sess, GError **errp)
{
    QCryptoTLSCreds *c = sess->creds;
    int ret;

    if (c->x509) {
        ret = gnutls_credentials_set(sess->s, GNUTLS_CRD_CERTIFICATE,
                                     c->x509);
        if (ret >= 0 && sess->server && c->verify_peer) {
            /* asked for, not required: its absence is refused after the
             * handshake ("No certificate peer"), as QEMU does, so that a
             * client that distrusts us can say so first */
            gnutls_certificate_server_set_request(sess->s,
                                                  GNUTLS_CERT_REQUEST);
        }
    } else if (c->anon_server || c->anon_client) {
        ret = gnutls_credentials_set(sess->s, GNUTLS_CRD_ANON,
                                     sess->server ? (void *)c->anon_server
                                                  : (void *)c->anon_client);
    } else {
        ret = gnutls_credentials_set(sess->s, GNUTLS_CRD_PSK,
                                     sess->server ? (void *)c->psk_server
                                                  : (void *)c->psk_client);
    }
    if (ret < 0) {
        error_setg(errp, "Cannot set session credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}

/* The transport: the prefix (set_prefix), then the socket; recv()/send()
 * results and errno, which GnuTLS reads.  Ours rather than GnuTLS's own
 * to tell its EAGAIN for an empty socket from its EAGAIN for "call
 * again" (see worth_again). */
static ssize_t transport_pull(gnutls_transport_ptr_t opaque, void *buf,
                              size_t len)
{
    QCryptoTLSSession *sess = opaque;
    size_t left = sess->prefix ? sess->prefix->len - sess->prefix_off : 0;
    ssize_t n;

    if (left) {
        len = MIN(len, left);
        memcpy(buf, sess->prefix->data + sess->prefix_off, len);
        sess->prefix_off += len;
        return len;
    }
    n = recv(sess->fd, buf, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        sess->would_block = true;
    }
    return n;
}

static int transport_pull_timeout(gnutls_transport_ptr_t opaque, unsigned ms)
{
    QCryptoTLSSession *sess = opaque;
    struct pollfd p = { .fd = sess->fd, .events = POLLIN };

    if (sess->prefix && sess->prefix_off < sess->prefix->len) {
        return 1;
    }
    return poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

static ssize_t transport_push(gnutls_transport_ptr_t opaque,
                              const void *buf, size_t len)
{
    QCryptoTLSSession *sess = opaque;

    return send(sess->fd, buf, len, MSG_NOSIGNAL);
}

QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname, int fd,
                                           bool nonblocking, GError **errp)
{
    QCryptoTLSSession *sess = g_new0(QCryptoTLSSession, 1);
    unsigned flags = GNUTLS_NO_SIGNAL;
    int ret;

    sess->server = creds->endpoint == QCRYPTO_TLS_ENDPOINT_SERVER;
    flags |= sess->server ? GNUTLS_SERVER : GNUTLS_CLIENT;
    if (nonblocking) {
        flags |= GNUTLS_NONBLOCK;
    }
    ret = gnutls_init(&sess->s, flags);
    if (ret < 0) {
        error_setg(errp, "Cannot initialize TLS session: %s",
                   gnutls_strerror(ret));
        g_free(sess);
        return NULL;
    }
    sess->creds = qcrypto_tls_creds_ref(creds);
    sess->hostname = g_strdup(hostname);
    if (!set_priority(sess, errp) || !set_credentials(sess, errp)) {
        qcrypto_tls_session_free(sess);
        return NULL;
    }
    sess->fd = fd;
    gnutls_transport_set_ptr(sess->s, sess);
    gnutls_transport_set_pull_function(sess->s, transport_pull);
    gnutls_transport_set_pull_timeout_function(sess->s,
                                               transport_pull_timeout);
    gnutls_transport_set_push_function(sess->s, transport_push);
    return sess;
}

void qcrypto_tls_session_set_prefix(QCryptoTLSSession *sess,
                                    const void *data, size_t len)
{
    if (!len) {
        return;
    }
    if (!sess->prefix) {
        sess->prefix = g_byte_array_new();
    }
    g_byte_array_append(sess->prefix, data, len);
}

void qcrypto_tls_session_free(QCryptoTLSSession *sess)
{
    if (!sess) {
        return;
    }
    gnutls_deinit(sess->s);
    if (sess->prefix) {
        g_byte_array_free(sess->prefix, true);
    }
    qcrypto_tls_creds_unref(sess->creds);
    g_free(sess->hostname);
    g_free(sess);
}

static const char *verify_failure(unsigned status)
{
    if (status & GNUTLS_CERT_REVOKED) {
        return "The certificate has been revoked";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        return "The certificate hasn't got a known issuer";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_CA) {
        return "The certificate's issuer is not a CA";
    }
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
        return "The certificate uses an insecure algorithm";
    }
    if (status & GNUTLS_CERT_EXPIRED) {
        return "The certificate has expired";
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        return "The certificate is not yet activated";
    }
    return "The certificate is not trusted";
}

/* The peer's X.509 certificate, after the handshake (verify-peer=on). */
static bool check_certificate(QCryptoTLSSession *sess, GError **errp)
{
    const gnutls_datum_t *certs;
    unsigned int ncerts = 0, status = 0;
    gnutls_x509_crt_t crt;
    bool ok;
    int ret;

    ret = gnutls_certificate_verify_peers2(sess->s, &status);
    if (ret < 0) {
        error_setg(errp, "Verify failed: %s", gnutls_strerror(ret));
        return false;
    }
    certs = gnutls_certificate_get_peers(sess->s, &ncerts);
    if (!certs || !ncerts) {
        error_setg(errp, "No certificate peer");
        return false;
    }
    if (status) {
        error_setg(errp, "%s", verify_failure(status));
        return false;
    }
    if (sess->server) {
        return true;
    }
    if (!sess->hostname) {
        error_setg(errp, "No hostname for certificate validation");
        return false;
    }
    if (gnutls_x509_crt_init(&crt) < 0) {
        error_setg(errp, "Cannot initialize certificate");
        return false;
    }
    ret = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
    ok = ret >= 0 && gnutls_x509_crt_check_hostname(crt, sess->hostname);
    gnutls_x509_crt_deinit(crt);
    if (ret < 0) {
        error_setg(errp, "Cannot import certificate: %s",
                   gnutls_strerror(ret));
    } else if (!ok) {
        error_setg(errp, "Certificate does not match the hostname %s",
                   sess->hostname);
    }
    return ok;
}

/*
 * GnuTLS returns EAGAIN not only when the socket has nothing, but also
 * after it dropped a record (an empty or unknown one), with more bytes
 * it already read waiting in its buffers; and other non-fatal codes (a
 * warning alert) that also mean "call again".  Those must be taken now:
 * the socket may never become readable for them.  Only an EAGAIN whose
 * read found the socket empty (or, blocking, timed out) is a wait.
 */
static bool worth_again(QCryptoTLSSession *sess, ssize_t ret)
{
    return !gnutls_error_is_fatal(ret) &&
           (ret != GNUTLS_E_AGAIN || !sess->would_block);
}

int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, GError **errp)
{
    int ret, tries = 0;

    do {
        sess->would_block = false;
        ret = gnutls_handshake(sess->s);
    } while (ret < 0 && ++tries < 1000 && worth_again(sess, ret));
    if (ret < 0 && !gnutls_error_is_fatal(ret)) {
        return 0;
    }
    if (ret < 0) {
        error_setg(errp, "TLS handshake failed: %s", gnutls_strerror(ret));
        return -1;
    }
    if (sess->creds->x509 && sess->creds->verify_peer &&
        !check_certificate(sess, errp)) {
        return -1;
    }
    return 1;
}

bool qcrypto_tls_session_wants_write(QCryptoTLSSession *sess)
{
    return gnutls_record_get_direction(sess->s) == 1;
}

/* The distinguished name of the peer's certificate, as GnuTLS (and so
 * QEMU) writes it: "CN=client,O=Example". */
static char *peer_dn(QCryptoTLSSession *sess, GError **errp)
{
    const gnutls_datum_t *certs;
    unsigned int ncerts = 0;
    gnutls_x509_crt_t crt;
    gnutls_datum_t dn = { 0 };
    char *name = NULL;
    int ret;

    certs = gnutls_certificate_get_peers(sess->s, &ncerts);
    if (!certs || !ncerts) {
        error_setg(errp, "No certificate peer");
        return NULL;
    }
    if (gnutls_x509_crt_init(&crt) < 0) {
        error_setg(errp, "Cannot initialize certificate");
        return NULL;
    }
    ret = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
    if (ret >= 0) {
        ret = gnutls_x509_crt_get_dn2(crt, &dn);
    }
    gnutls_x509_crt_deinit(crt);
    if (ret < 0) {
        error_setg(errp, "Cannot get the certificate's name: %s",
                   gnutls_strerror(ret));
        return NULL;
    }
    name = g_strndup((const char *)dn.data, dn.size);
    gnutls_free(dn.data);
    return name;
}

bool qcrypto_tls_session_check_authz(QCryptoTLSSession *sess,
                                     const char *authzid, GError **errp)
{
    g_autofree char *peer = NULL;
    const char *kind = sess->creds->x509 ? "x509" : "PSK";
    GError *err = NULL;

    if (sess->creds->anon_server) {
        /* no identity to check: QEMU 7.2 lets anonymous clients in */
        return true;
    }
    if (sess->creds->x509) {
        peer = peer_dn(sess, errp);
    } else if (gnutls_psk_server_get_username(sess->s)) {
        peer = g_strdup(gnutls_psk_server_get_username(sess->s));
    } else {
        error_setg(errp, "No PSK username available");
    }
    if (!peer) {
        return false;
    }
    if (qauthz_is_allowed_by_id(authzid, peer, &err)) {
        return true;
    }
    if (err) {
        g_propagate_error(errp, err);
    } else {
        error_setg(errp, "TLS %s authz check for %s is denied", kind, peer);
    }
    return false;
}

/* A GnuTLS result as read()/write() give it. */
static ssize_t as_syscall_result(ssize_t ret)
{
    if (ret >= 0) {
        return ret;
    }
    switch (ret) {
    case GNUTLS_E_AGAIN:
        errno = EAGAIN;
        break;
    case GNUTLS_E_INTERRUPTED:
        errno = EINTR;
        break;
    case GNUTLS_E_PREMATURE_TERMINATION:
        errno = ECONNRESET;
        break;
    default:
        errno = EIO;
        break;
    }
    return -1;
}

ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, void *buf,
                                 size_t len)
{
    ssize_t ret;
    int tries = 0;

    do {
        sess->would_block = false;
        ret = gnutls_record_recv(sess->s, buf, len);
    } while (ret < 0 && ++tries < 1000 && ret != GNUTLS_E_REHANDSHAKE &&
             worth_again(sess, ret));
    return as_syscall_result(ret);
}

ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess, const void *buf,
                                  size_t len)
{
    return as_syscall_result(gnutls_record_send(sess->s, buf, len));
}

size_t qcrypto_tls_session_pending(QCryptoTLSSession *sess)
{
    return gnutls_record_check_pending(sess->s);
}

void qcrypto_tls_session_bye(QCryptoTLSSession *sess)
{
    int ret;

    do {
        ret = gnutls_bye(sess->s, GNUTLS_SHUT_WR);
    } while (ret == GNUTLS_E_INTERRUPTED || ret == GNUTLS_E_AGAIN);
}

static ssize_t session_read(void *opaque, void *buf, size_t len)
{
    return qcrypto_tls_session_read(opaque, buf, len);
}

static ssize_t session_write(void *opaque, const void *buf, size_t len)
{
    return qcrypto_tls_session_write(opaque, buf, len);
}

/* The socket's whole-buffer loops (qemu/sockets-io.h) over the session. */
bool qcrypto_tls_session_read_full(QCryptoTLSSession *sess, void *buf,
                                   size_t len)
{
    return io_read_full(session_read, sess, buf, len);
}

bool qcrypto_tls_session_write_full(QCryptoTLSSession *sess,
                                    const void *buf, size_t len)
{
    return io_write_full(session_write, sess, buf, len);
}

#else   /* !CONFIG_GNUTLS: no credentials object can exist */

QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname, int fd,
                                           bool nonblocking, GError **errp)
{
    error_setg(errp, "TLS is not available: kvmpc was built without GnuTLS");
    return NULL;
}

void qcrypto_tls_session_free(QCryptoTLSSession *sess)
{
}

void qcrypto_tls_session_set_prefix(QCryptoTLSSession *sess,
                                    const void *data, size_t len)
{
}

int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, GError **errp)
{
    error_setg(errp, "TLS is not available: kvmpc was built without GnuTLS");
    return -1;
}

bool qcrypto_tls_session_wants_write(QCryptoTLSSession *sess)
{
    return false;
}

bool qcrypto_tls_session_check_authz(QCryptoTLSSession *sess,
                                     const char *authzid, GError **errp)
{
    error_setg(errp, "TLS is not available: kvmpc was built without GnuTLS");
    return false;
}

ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, void *buf,
                                 size_t len)
{
    errno = EIO;
    return -1;
}

ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess, const void *buf,
                                  size_t len)
{
    errno = EIO;
    return -1;
}

size_t qcrypto_tls_session_pending(QCryptoTLSSession *sess)
{
    return 0;
}

void qcrypto_tls_session_bye(QCryptoTLSSession *sess)
{
}

bool qcrypto_tls_session_read_full(QCryptoTLSSession *sess, void *buf,
                                   size_t len)
{
    errno = EIO;
    return false;
}

bool qcrypto_tls_session_write_full(QCryptoTLSSession *sess,
                                    const void *buf, size_t len)
{
    errno = EIO;
    return false;
}
#endif
