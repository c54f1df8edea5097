/*
 * TLS credentials objects, the part every type shares (QEMU 7.2's
 * "tls-creds" base type): endpoint=client|server (default client),
 * dir=, priority= (a GnuTLS priority string, default "NORMAL"),
 * verify-peer=on|off (default on), and the lookup by id that users do
 * (QEMU 7.2's errors).  The object lives while an NBD server or node
 * still uses it, even after object-del (QEMU keeps its reference too).
 */
#include "qemu/osdep.h"
#include "crypto/tlscreds.h"
#include "system/object.h"
#include "qobject/qbool.h"
#include "qobject/qstring.h"

static bool take_bool(GHashTable *props, const char *key, bool dflt,
                      bool *out, GError **errp)
{
    g_autofree char *v = user_object_take_str(props, key);

    *out = dflt;
    if (!v) {
        return true;
    }
    /* the spellings QEMU's keyval parser takes */
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
    } else if (!strcmp(v, "off") || !strcmp(v, "false") ||
               !strcmp(v, "no")) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

QCryptoTLSCreds *tls_creds_new_common(const char *type, GHashTable *props,
                                      bool need_dir, GError **errp)
{
    g_autofree char *endpoint = user_object_take_str(props, "endpoint");
    g_autofree char *loaded = user_object_take_str(props, "loaded");
    QCryptoTLSCreds *creds;
    bool verify_peer;

    (void)loaded;       /* QEMU's loaded=on is implied: loaded at once */
    if (endpoint && strcmp(endpoint, "client") && strcmp(endpoint, "server")) {
        error_setg(errp, "Parameter 'endpoint' does not accept value '%s'",
                   endpoint);
        return NULL;
    }
    if (!take_bool(props, "verify-peer", true, &verify_peer, errp)) {
        return NULL;
    }
    creds = g_new0(QCryptoTLSCreds, 1);
    creds->refs = 1;
    creds->type = type;
    creds->endpoint = endpoint && !strcmp(endpoint, "server")
                      ? QCRYPTO_TLS_ENDPOINT_SERVER
                      : QCRYPTO_TLS_ENDPOINT_CLIENT;
    creds->verify_peer = verify_peer;
    creds->dir = user_object_take_str(props, "dir");
    creds->priority = user_object_take_str(props, "priority");
    if (!creds->dir && need_dir) {
        error_setg(errp, "Missing 'dir' property value");
        qcrypto_tls_creds_unref(creds);
        return NULL;
    }
    return creds;
}

bool tls_creds_file(QCryptoTLSCreds *creds, const char *name, bool required,
                    char **path, GError **errp)
{
    g_autofree char *p = g_build_filename(creds->dir, name, NULL);

    *path = NULL;
    if (access(p, R_OK) < 0) {
        if (required || errno != ENOENT) {
            error_setg(errp, "Unable to access credentials %s: %s", p,
                       g_strerror(errno));
            return false;
        }
        return true;
    }
    *path = g_steal_pointer(&p);
    return true;
}

QCryptoTLSCreds *qcrypto_tls_creds_ref(QCryptoTLSCreds *creds)
{
    g_atomic_int_inc(&creds->refs);
    return creds;
}

void qcrypto_tls_creds_unref(QCryptoTLSCreds *creds)
{
    if (!creds || !g_atomic_int_dec_and_test(&creds->refs)) {
        return;
    }
#ifdef CONFIG_GNUTLS
    if (creds->x509) {
        gnutls_certificate_free_credentials(creds->x509);
    }
    if (creds->psk_server) {
        gnutls_psk_free_server_credentials(creds->psk_server);
    }
    if (creds->psk_client) {
        gnutls_psk_free_client_credentials(creds->psk_client);
    }
    if (creds->anon_server) {
        gnutls_anon_free_server_credentials(creds->anon_server);
    }
    if (creds->anon_client) {
        gnutls_anon_free_client_credentials(creds->anon_client);
    }
    if (creds->dh) {
        gnutls_dh_params_deinit(creds->dh);
    }
#endif
    g_free(creds->dir);
    g_free(creds->priority);
    g_free(creds->username);
    g_free(creds->passwordid);
    g_free(creds);
}

#ifdef CONFIG_GNUTLS
bool tls_creds_load_dh_params(QCryptoTLSCreds *creds, GError **errp)
{
    g_autofree char *path = NULL;
    g_autofree char *pem = NULL;
    gsize len;
    gnutls_datum_t d;
    GError *err = NULL;
    int ret;

    if (!creds->dir) {
        return true;
    }
    if (!tls_creds_file(creds, "dh-params.pem", false, &path, errp)) {
        return false;
    }
    if (!path) {
        return true;
    }
    if (!g_file_get_contents(path, &pem, &len, &err)) {
        error_setg(errp, "Unable to read %s: %s", path, err->message);
        g_error_free(err);
        return false;
    }
    d = (gnutls_datum_t) { .data = (unsigned char *)pem, .size = len };
    gnutls_dh_params_init(&creds->dh);
    ret = gnutls_dh_params_import_pkcs3(creds->dh, &d, GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Unable to load DH parameters from %s: %s", path,
                   gnutls_strerror(ret));
        return false;
    }
    return true;
}
#endif
/* ---- properties (qom-get / qom-set) --------------------------------- */

QObject *tls_creds_str_value(const char *v)
{
    return QOBJECT(qstring_from_str(v ? v : ""));
}

QObject *tls_creds_get_endpoint(void *obj)
{
    QCryptoTLSCreds *creds = obj;

    return QOBJECT(qstring_from_str(
        creds->endpoint == QCRYPTO_TLS_ENDPOINT_SERVER ? "server"
                                                       : "client"));
}

QObject *tls_creds_get_dir(void *obj)
{
    return tls_creds_str_value(((QCryptoTLSCreds *)obj)->dir);
}

QObject *tls_creds_get_verify_peer(void *obj)
{
    return QOBJECT(qbool_from_bool(((QCryptoTLSCreds *)obj)->verify_peer));
}

QObject *tls_creds_get_priority(void *obj)
{
    return tls_creds_str_value(((QCryptoTLSCreds *)obj)->priority);
}

/* Credentials are loaded when they are created. */
QObject *tls_creds_get_loaded(void *obj)
{
    return QOBJECT(qbool_from_bool(true));
}

bool tls_creds_refuse_set(void *obj, const char *name, GError **errp)
{
    error_setg(errp, "Property '%s.%s' can not be changed after the "
               "credentials are loaded by kvmpc",
               ((QCryptoTLSCreds *)obj)->type, name);
    return false;
}

bool tls_creds_set_endpoint(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "endpoint", errp);
}

bool tls_creds_set_dir(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "dir", errp);
}

bool tls_creds_set_verify_peer(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "verify-peer", errp);
}

bool tls_creds_set_priority(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "priority", errp);
}

bool tls_creds_destroy(void *obj, GError **errp)
{
    qcrypto_tls_creds_unref(obj);
    return true;
}

QCryptoTLSCreds *qcrypto_tls_creds_find(const char *id,
                                        QCryptoTLSEndpoint endpoint,
                                        GError **errp)
{
    const char *type = user_object_type_name(id);
    QCryptoTLSCreds *creds;

    if (!type) {
        error_setg(errp, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    if (strcmp(type, TYPE_TLS_CREDS_X509) && strcmp(type, TYPE_TLS_CREDS_PSK) &&
        strcmp(type, TYPE_TLS_CREDS_ANON)) {
        error_setg(errp, "Object with id '%s' is not TLS credentials", id);
        return NULL;
    }
    creds = user_object_find(id, type);
    if (creds->endpoint != endpoint) {
        error_setg(errp, "Expected TLS credentials for a %s endpoint",
                   endpoint == QCRYPTO_TLS_ENDPOINT_SERVER ? "server"
                                                           : "client");
        return NULL;
    }
    return qcrypto_tls_creds_ref(creds);
}
