/*
 * -object tls-creds-anon (QEMU 7.2's type): anonymous Diffie-Hellman.
 * The stream is encrypted but neither end is authenticated, so a
 * man in the middle goes unnoticed: x509 or PSK for anything that
 * matters.  dir= is optional; a server uses dir/dh-params.pem when it
 * is there, GnuTLS's RFC 7919 group of medium strength otherwise (QEMU
 * generates parameters at start-up instead).  The priority adds
 * "+ANON-DH" to the user's (or "NORMAL"), as QEMU does.
 */
#include "qemu/osdep.h"
#include "crypto/tlscreds.h"
#include "system/object.h"

#ifdef CONFIG_GNUTLS
static bool load_anon(QCryptoTLSCreds *creds, GError **errp)
{
    int ret;

    if (creds->endpoint == QCRYPTO_TLS_ENDPOINT_CLIENT) {
        ret = gnutls_anon_allocate_client_credentials(&creds->anon_client);
    } else {
        ret = gnutls_anon_allocate_server_credentials(&creds->anon_server);
    }
    if (ret < 0) {
        error_setg(errp, "Cannot allocate credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    if (creds->anon_client) {
        return true;
    }
    if (!tls_creds_load_dh_params(creds, errp)) {
        return false;
    }
    if (creds->dh) {
        gnutls_anon_set_server_dh_params(creds->anon_server, creds->dh);
    } else {
        gnutls_anon_set_server_known_dh_params(creds->anon_server,
                                               GNUTLS_SEC_PARAM_MEDIUM);
    }
    return true;
}
#endif

static void *anon_create(const char *id, GHashTable *props, GError **errp)
{
    QCryptoTLSCreds *creds;

    creds = tls_creds_new_common(TYPE_TLS_CREDS_ANON, props, false, errp);
    if (!creds) {
        return NULL;
    }
#ifdef CONFIG_GNUTLS
    if (load_anon(creds, errp)) {
        return creds;
    }
#else
    error_setg(errp, "tls-creds-anon: TLS is not available, kvmpc was "
               "built without GnuTLS");
#endif
    qcrypto_tls_creds_unref(creds);
    return NULL;
}

static const UserObjectProp anon_props[] = {
    TLS_CREDS_COMMON_PROPS,
    TLS_CREDS_LOADED_PROP,
    { NULL }
};

static const UserObjectType anon_type = {
    .name = TYPE_TLS_CREDS_ANON,
    .props = anon_props,
    .create = anon_create,
    .destroy = tls_creds_destroy,
};

static void __attribute__((constructor)) tls_creds_anon_register(void)
{
    user_object_type_register(&anon_type);
}
