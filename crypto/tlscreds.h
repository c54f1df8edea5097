/*
 * What the TLS credentials objects share (include/crypto/tls.h):
 * crypto/tlscreds.c keeps the common properties and reference counts,
 * crypto/tlscreds-x509.c and crypto/tlscreds-psk.c the GnuTLS
 * credentials, crypto/tlssession.c runs sessions on them.
 */
#ifndef CRYPTO_TLSCREDS_H
#define CRYPTO_TLSCREDS_H
#include "crypto/tls.h"
#include "system/object.h"
#ifdef CONFIG_GNUTLS
#include <gnutls/gnutls.h>
#endif

#define TYPE_TLS_CREDS_X509 "tls-creds-x509"
#define TYPE_TLS_CREDS_PSK  "tls-creds-psk"
#define TYPE_TLS_CREDS_ANON "tls-creds-anon"

struct QCryptoTLSCreds {
    int refs;                       /* the object registry's, sessions' */
    const char *type;               /* TYPE_TLS_CREDS_* */
    QCryptoTLSEndpoint endpoint;
    bool verify_peer;               /* x509: check the peer's certificate */
    char *dir;
    char *priority;                 /* NULL: GnuTLS's "NORMAL" */
    /* type-specific options as given, for qom-get */
    char *username;                 /* psk (NULL: "qemu") */
    char *passwordid;               /* x509 */
    bool sanity_check;              /* x509 */
#ifdef CONFIG_GNUTLS
    gnutls_certificate_credentials_t x509;
    gnutls_psk_server_credentials_t psk_server;
    gnutls_psk_client_credentials_t psk_client;
    gnutls_anon_server_credentials_t anon_server;
    gnutls_anon_client_credentials_t anon_client;
    gnutls_dh_params_t dh;           /* dh-params.pem, when given */
#endif
};

/* The properties every credentials type takes (endpoint, dir,
 * priority, verify-peer), removed from @props into a new object of
 * @type with one reference; NULL with @errp set (also without dir when
 * @need_dir). */
QCryptoTLSCreds *tls_creds_new_common(const char *type, GHashTable *props,
                                      bool need_dir, GError **errp);
/* "DIR/NAME" when it exists; else NULL, and when @required an error
 * (QEMU's "Unable to access credentials PATH: REASON"). */
bool tls_creds_file(QCryptoTLSCreds *creds, const char *name, bool required,
                    char **path, GError **errp);
#ifdef CONFIG_GNUTLS
/* dir/dh-params.pem, when there is one, into creds->dh (left NULL
 * otherwise: the caller uses GnuTLS's RFC 7919 group). */
bool tls_creds_load_dh_params(QCryptoTLSCreds *creds, GError **errp);
#endif
/*
 * qom-get / qom-set (system/object.h's UserObjectProp): the properties
 * every type has, in QEMU 7.2's order; a type's table puts its own
 * between TLS_CREDS_COMMON_PROPS and TLS_CREDS_LOADED_PROP.  QEMU 7.2
 * takes new values on loaded credentials but only records them: kvmpc
 * refuses them with tls_creds_refuse_set().
 */
QObject *tls_creds_get_endpoint(void *obj);
QObject *tls_creds_get_dir(void *obj);
QObject *tls_creds_get_verify_peer(void *obj);
QObject *tls_creds_get_priority(void *obj);
QObject *tls_creds_get_loaded(void *obj);
bool tls_creds_set_endpoint(void *obj, QObject *value, GError **errp);
bool tls_creds_set_dir(void *obj, QObject *value, GError **errp);
bool tls_creds_set_verify_peer(void *obj, QObject *value, GError **errp);
bool tls_creds_set_priority(void *obj, QObject *value, GError **errp);
bool tls_creds_refuse_set(void *obj, const char *name, GError **errp);
/* A string property's value: "" for NULL, as QEMU shows an unset one. */
QObject *tls_creds_str_value(const char *v);
#define TLS_CREDS_COMMON_PROPS \
    { "endpoint", "QCryptoTLSCredsEndpoint", tls_creds_get_endpoint, \
      tls_creds_set_endpoint }, \
    { "dir", "string", tls_creds_get_dir, tls_creds_set_dir }, \
    { "verify-peer", "bool", tls_creds_get_verify_peer, \
      tls_creds_set_verify_peer }, \
    { "priority", "string", tls_creds_get_priority, tls_creds_set_priority }
#define TLS_CREDS_LOADED_PROP { "loaded", "bool", tls_creds_get_loaded, NULL }

/* object-del's hook: drops the registry's reference. */
bool tls_creds_destroy(void *obj, GError **errp);

#endif
