/*
 * -object tls-creds-psk (QEMU 7.2's type and file): pre-shared keys
 * (RFC 4279) from dir=/keys.psk, one "USERNAME:HEXKEY" a line (the
 * format of GnuTLS's psktool).  A server takes any user the file names;
 * a client uses the line of username= (default "qemu", as in QEMU).
 * dh-params: GnuTLS's RFC 7919 group of medium strength for the DHE-PSK
 * suites.  The priority adds the PSK key exchanges to the user's (or
 * "NORMAL"), as QEMU does.
 */
#include "qemu/osdep.h"
#include "crypto/tlscreds.h"
#include "system/object.h"

#ifdef CONFIG_GNUTLS
/* The hex key of @username's line in @path. */
static char *find_key(const char *path, const char *username, GError **errp)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GError *err = NULL;
    size_t ulen = strlen(username);

    if (!g_file_get_contents(path, &text, NULL, &err)) {
        error_setg(errp, "Unable to read %s: %s", path, err->message);
        g_error_free(err);
        return NULL;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!strncmp(*l, username, ulen) && (*l)[ulen] == ':') {
            return g_strdup(g_strstrip(*l + ulen + 1));
        }
    }
    error_setg(errp, "Username %s not found in PSK file %s", username, path);
    return NULL;
}

static bool load_psk(QCryptoTLSCreds *creds, const char *username,
                     GError **errp)
{
    g_autofree char *path = NULL, *hex = NULL;
    gnutls_datum_t key;
    int ret;

    if (!tls_creds_file(creds, "keys.psk", true, &path, errp)) {
        return false;
    }
    if (creds->endpoint == QCRYPTO_TLS_ENDPOINT_SERVER) {
        gnutls_psk_allocate_server_credentials(&creds->psk_server);
        ret = gnutls_psk_set_server_credentials_file(creds->psk_server, path);
        if (ret < 0) {
            error_setg(errp, "Cannot set PSK server credentials from %s: %s",
                       path, gnutls_strerror(ret));
            return false;
        }
        gnutls_psk_set_server_known_dh_params(creds->psk_server,
                                              GNUTLS_SEC_PARAM_MEDIUM);
        return true;
    }
    hex = find_key(path, username, errp);
    if (!hex) {
        return false;
    }
    key = (gnutls_datum_t) { .data = (unsigned char *)hex,
                             .size = strlen(hex) };
    gnutls_psk_allocate_client_credentials(&creds->psk_client);
    ret = gnutls_psk_set_client_credentials(creds->psk_client, username,
                                            &key, GNUTLS_PSK_KEY_HEX);
    if (ret < 0) {
        error_setg(errp, "Cannot set PSK client credentials from %s: %s",
                   path, gnutls_strerror(ret));
        return false;
    }
    return true;
}
#endif

static void *psk_create(const char *id, GHashTable *props, GError **errp)
{
    g_autofree char *username = user_object_take_str(props, "username");
    QCryptoTLSCreds *creds;

    creds = tls_creds_new_common(TYPE_TLS_CREDS_PSK, props, true, errp);
    if (!creds) {
        return NULL;
    }
    creds->username = g_strdup(username);
#ifdef CONFIG_GNUTLS
    if (load_psk(creds, username ? username : "qemu", errp)) {
        return creds;
    }
#else
    error_setg(errp, "tls-creds-psk: TLS is not available, kvmpc was "
               "built without GnuTLS");
#endif
    qcrypto_tls_creds_unref(creds);
    return NULL;
}

static QObject *get_username(void *obj)
{
    return tls_creds_str_value(((QCryptoTLSCreds *)obj)->username);
}

static bool set_username(void *obj, QObject *value, GError **errp)
{
    return tls_creds_refuse_set(obj, "username", errp);
}

static const UserObjectProp psk_props[] = {
    TLS_CREDS_COMMON_PROPS,
    { "username", "string", get_username, set_username },
    TLS_CREDS_LOADED_PROP,
    { NULL }
};

static const UserObjectType psk_type = {
    .name = TYPE_TLS_CREDS_PSK,
    .props = psk_props,
    .create = psk_create,
    .destroy = tls_creds_destroy,
};

static void __attribute__((constructor)) tls_creds_psk_register(void)
{
    user_object_type_register(&psk_type);
}
