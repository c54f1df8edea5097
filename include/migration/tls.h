/*
 * Migration over TLS (QEMU 7.2's migration parameters tls-creds,
 * tls-hostname, tls-authz; docs/tls.md "Migration").
 *
 * Every connection of a migration (the main stream with its return
 * path, each multifd channel, a postcopy recovery connection) runs its
 * own TLS session when tls-creds is set.  The rest of migration/ keeps
 * working on a plain blocking socket: the session runs on the network
 * socket and two relay threads move the bytes between it and one end of
 * a socketpair, whose other end the caller gets.  So the return path,
 * the one-byte answers, shutdown() for cancel and migrate-pause, and
 * poll() all work unchanged.  The relays read the stream in big chunks
 * (up to 256 KiB) and hand GnuTLS whole buffers, so RAM goes out in
 * full-size TLS records (16 KiB) whatever size the writer used.
 * migration/tls.c.
 */
#ifndef MIGRATION_TLS_H
#define MIGRATION_TLS_H
#include "qemu/osdep.h"

/* The TLS settings of one migration, copied from the parameters when it
 * starts (or a connection comes in). */
typedef struct MigrationTLS {
    char *creds;        /* tls-creds id; NULL: no TLS */
    char *hostname;     /* tls-hostname, else the tcp: URI's host */
    char *authz;        /* tls-authz id (server side) */
} MigrationTLS;

/* The current parameters; NULL when tls-creds is unset.  Big lock held. */
MigrationTLS *migration_tls_get(void);
void migration_tls_free(MigrationTLS *tls);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationTLS, migration_tls_free)

/* Can @uri carry TLS?  exec: and file: cannot (kvmpc's exec: child has
 * one pipe, one direction; a file has no peer). */
bool migration_tls_uri_ok(const char *uri, GError **errp);

/*
 * Run the client (source) or server (destination) handshake on
 * connected socket @fd, which is taken over (closed on failure).
 * Returns the plaintext end of the relay, or -1 with @errp set (QEMU's
 * texts: "No TLS credentials with id 'X'", "TLS handshake failed: ...",
 * "Certificate does not match the hostname NAME", "TLS x509 authz check
 * for DN is denied").  Blocks: call it from a migration thread, never
 * the main loop, without the big lock (the server takes it for the
 * authz check).  @uri: the client's URI, for the default host name.
 */
int migration_tls_client(const MigrationTLS *tls, int fd, const char *uri,
                         GError **errp);
int migration_tls_server(const MigrationTLS *tls, int fd, GError **errp);

#endif
