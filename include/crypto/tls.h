/*
 * TLS: the credentials objects and the sessions that use them
 * (docs/tls.md).
 *
 *   -object tls-creds-x509,id=ID,endpoint=server|client,dir=DIR
 *           [,verify-peer=on|off][,priority=STRING]
 *   -object tls-creds-psk,id=ID,endpoint=server|client,dir=DIR
 *           [,username=NAME][,priority=STRING]
 *
 * QEMU's object types and property names; the files in DIR are QEMU's
 * (ca-cert.pem, ca-crl.pem, server-cert.pem, server-key.pem,
 * client-cert.pem, client-key.pem, dh-params.pem; keys.psk).  Users
 * (the NBD server and client) find credentials by id, check the
 * endpoint, and run sessions over a connected socket: non-blocking for
 * the main loop's server, blocking for the client's threads.
 * crypto/tlscreds.c (lookup, reference counts), crypto/tlscreds-x509.c,
 * crypto/tlscreds-psk.c, crypto/tlssession.c.  Without GnuTLS
 * (CONFIG_GNUTLS unset) every entry point fails with one clear error.
 */
#ifndef CRYPTO_TLS_H
#define CRYPTO_TLS_H
#include "qemu/osdep.h"

typedef enum QCryptoTLSEndpoint {
    QCRYPTO_TLS_ENDPOINT_CLIENT,
    QCRYPTO_TLS_ENDPOINT_SERVER,
} QCryptoTLSEndpoint;

typedef struct QCryptoTLSCreds QCryptoTLSCreds;
typedef struct QCryptoTLSSession QCryptoTLSSession;

/* The credentials object @id, which must be for @endpoint (QEMU 7.2's
 * errors otherwise), with a reference the caller drops with
 * qcrypto_tls_creds_unref.  NULL with @errp set. */
QCryptoTLSCreds *qcrypto_tls_creds_find(const char *id,
                                        QCryptoTLSEndpoint endpoint,
                                        GError **errp);
QCryptoTLSCreds *qcrypto_tls_creds_ref(QCryptoTLSCreds *creds);
void qcrypto_tls_creds_unref(QCryptoTLSCreds *creds);

/* A session on connected socket @fd (not taken over: the caller closes
 * it after freeing the session).  @hostname: what the server's
 * certificate must name (client side; NULL: not checked).  @nonblocking:
 * reads, writes and the handshake return EAGAIN instead of waiting. */
QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname, int fd,
                                           bool nonblocking, GError **errp);
void qcrypto_tls_session_free(QCryptoTLSSession *sess);
/* Bytes of the TLS stream the caller already read from the socket (read
 * ahead with the protocol message before the handshake): the session
 * takes them before reading the socket.  Call before the handshake. */
void qcrypto_tls_session_set_prefix(QCryptoTLSSession *sess,
                                    const void *data, size_t len);

/* One step of the handshake: 1 done and the peer's credentials checked,
 * 0 not yet (non-blocking: wait until the socket is ready for what
 * qcrypto_tls_session_wants_write says), -1 failed with @errp set. */
int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, GError **errp);
bool qcrypto_tls_session_wants_write(QCryptoTLSSession *sess);

/* After the handshake, a server's check of who the client is (QEMU
 * 7.2's tls-authz): its identity (the X.509 certificate's distinguished
 * name, or the PSK user name) must be allowed by the authorization
 * object @authzid (include/crypto/authz.h).  QEMU's errors: "TLS x509
 * authz check for DN is denied", "TLS PSK authz check for NAME is
 * denied", "No certificate peer".  Big lock held. */
bool qcrypto_tls_session_check_authz(QCryptoTLSSession *sess,
                                     const char *authzid, GError **errp);

/* recv()/send() over the session: bytes moved, 0 at the end of the
 * stream (read), or -1 with errno EAGAIN (non-blocking, nothing to do
 * now), EINTR, or EIO/ECONNRESET (the session is broken).  A write that
 * returned EAGAIN must be repeated with at least the same bytes before
 * any other write: the record is already encrypted and waits. */
ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, void *buf,
                                 size_t len);
ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess, const void *buf,
                                  size_t len);
/* Tell the peer the stream ends here (TLS close_notify); reading goes
 * on.  Blocking sessions. */
void qcrypto_tls_session_bye(QCryptoTLSSession *sess);
/* Decrypted bytes already buffered: a read returns them though the
 * socket may never become readable again for them. */
size_t qcrypto_tls_session_pending(QCryptoTLSSession *sess);
/* Blocking sessions: the whole buffer or false (EOF or error). */
bool qcrypto_tls_session_read_full(QCryptoTLSSession *sess, void *buf,
                                   size_t len);
bool qcrypto_tls_session_write_full(QCryptoTLSSession *sess,
                                    const void *buf, size_t len);

#endif
