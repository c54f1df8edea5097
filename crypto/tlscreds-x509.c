/*
 * -object tls-creds-x509 (QEMU 7.2's type and files): X.509 certificates
 * from dir=:
 *   ca-cert.pem      the CA that signs the peer's certificate (required)
 *   ca-crl.pem       revoked certificates (optional)
 *   server-cert.pem, server-key.pem   endpoint=server (required)
 *   client-cert.pem, client-key.pem   endpoint=client (optional: a
 *                    server with verify-peer=on asks for them)
 *   (a key may be encrypted, PKCS #8: passwordid= names the secret object
 *   holding its password)
 *   dh-params.pem    endpoint=server, optional; without it GnuTLS's
 *                    RFC 7919 group of medium strength (QEMU generates
 *                    parameters instead, which takes seconds)
 * verify-peer=on (the default): a server requires a client certificate
 * signed by the CA; a client checks the server's certificate, and its
 * name against the host it connected to.  Files are read when the
 * object is created: a missing or unreadable one is a creation error.
 * Certificate checks: RFC 5280 through gnutls_certificate_verify_peers2.
 */
#include "qemu/osdep.h"
#include "crypto/tlscreds.h"
#include "crypto/secret.h"
#include "system/object.h"
#include "qobject/qbool.h"

#ifdef CONFIG_GNUTLS
static bool load_ca(QCryptoTLSCreds *creds, GError **errp)
{
    g_autofree char *ca = NULL, *crl = NULL;
    int ret;

    if (!tls_creds_file(creds, "ca-cert.pem", true, &ca, errp) ||
        !tls_creds_file(creds, "ca-crl.pem", false, &crl, errp)) {
        return false;
    }
    ret = gnutls_certificate_set_x509_trust_file(creds->x509, ca,
                                                 GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Cannot load CA certificate '%s': %s", ca,
                   gnutls_strerror(ret));
        return false;
    }
    if (ret == 0) {
        error_setg(errp, "Cannot load CA certificate '%s': no certificate "
                   "in it", ca);
        return false;
    }
    if (crl) {
        ret = gnutls_certificate_set_x509_crl_file(creds->x509, crl,
                                                   GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load CRL '%s': %s", crl,
                       gnutls_strerror(ret));
            return false;
        }
    }
    return true;
}

/* The endpoint's own certificate and key (@required: server). */
static bool load_own_cert(QCryptoTLSCreds *creds, const char *who,
                          bool required, const char *passwordid,
                          GError **errp)
{
    g_autofree char *certname = g_strdup_printf("%s-cert.pem", who);
    g_autofree char *keyname = g_strdup_printf("%s-key.pem", who);
    g_autofree char *cert = NULL, *key = NULL, *password = NULL;
    int ret;

    if (!tls_creds_file(creds, certname, required, &cert, errp) ||
        !tls_creds_file(creds, keyname, required, &key, errp)) {
        return false;
    }
    if (!cert || !key) {
        return true;        /* a client without a certificate of its own */
    }
    if (passwordid) {
        password = qcrypto_secret_lookup_as_utf8(passwordid, errp);
        if (!password) {
            return false;
        }
    }
    ret = gnutls_certificate_set_x509_key_file2(creds->x509, cert, key,
                                                GNUTLS_X509_FMT_PEM,
                                                password, 0);
    if (password) {
        memset(password, 0, strlen(password));
    }
    if (ret < 0) {
        error_setg(errp, "Cannot load certificate '%s' & key '%s': %s",
                   cert, key, gnutls_strerror(ret));
        return false;
    }
    return true;
}

static bool load_dh_params(QCryptoTLSCreds *creds, GError **errp)
{
    if (!tls_creds_load_dh_params(creds, errp)) {
        return false;
    }
    if (creds->dh) {
        /* kept by pointer: freed with the credentials */
        gnutls_certificate_set_dh_params(creds->x509, creds->dh);
    } else {
        gnutls_certificate_set_known_dh_params(creds->x509,
                                               GNUTLS_SEC_PARAM_MEDIUM);
    }
    return true;
}
#endif

static void *x509_create(const char *id, GHashTable *props, GError **errp)
{
    g_autofree char *sanity = user_object_take_str(props, "sanity-check");
    g_autofree char *passwordid = user_object_take_str(props, "passwordid");
    QCryptoTLSCreds *creds;
    bool server, sanity_check = true;

    /* GnuTLS checks the certificates when they are used; the value is
     * kept for qom-get */
    if (sanity && !parse_bool(sanity, &sanity_check, errp)) {
        return NULL;
    }
    creds = tls_creds_new_common(TYPE_TLS_CREDS_X509, props, true, errp);
    if (!creds) {
        return NULL;
    }
    creds->sanity_check = sanity_check;
    creds->passwordid = g_strdup(passwordid);
#ifdef CONFIG_GNUTLS
    server = creds->endpoint == QCRYPTO_TLS_ENDPOINT_SERVER;
    gnutls_certificate_allocate_credentials(&creds->x509);
    if (load_ca(creds, errp) &&
        load_own_cert(creds, server ? "server" : "client", server,
                      passwordid, errp) &&
        (!server || load_dh_params(creds, errp))) {
        return creds;
    }
#else
    (void)server;
    error_setg(errp, "tls-creds-x509: TLS is not available, kvmpc was "
               "built without GnuTLS");
#endif
    qcrypto_tls_creds_unref(creds);
    return NULL;
}

static QObject *get_sanity_check(void *obj)
{
    return QOBJECT(qbool_from_bool(((QCryptoTLSCreds *)obj)->sanity_check));
}

static QObject *get_passwordid(void *obj)
{
    return tls_creds_str_value(((QCryptoTLSCreds *)obj)->passwordid);
}

static bool set_sanity_check(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "sanity-check", errp);
}

static bool set_passwordid(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "passwordid", errp);
}

static const UserObjectProp x509_props[] = {
    TLS_CREDS_COMMON_PROPS,
    { "sanity-check", "bool", get_sanity_check, set_sanity_check },
    { "passwordid", "string", get_passwordid, set_passwordid },
    TLS_CREDS_LOADED_PROP,
    { NULL }
};

static const UserObjectType x509_type = {
    .name = TYPE_TLS_CREDS_X509,
    .props = x509_props,
    .create = x509_create,
    .destroy = tls_creds_destroy,
};

static void __attribute__((constructor)) tls_creds_x509_register(void)
{
    user_object_type_register(&x509_type);
}
