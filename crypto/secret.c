/*
 * The "secret" object (include/crypto/secret.h), as QEMU's:
 *   data= or file= (exactly one) holds the value; format=base64 says it
 *   is base64-encoded (raw: used as is);
 *   keyid=ID,iv=B64 says it is encrypted: data is the base64 of an
 *   AES-256-CBC ciphertext (PKCS#7 padded) under the key that secret ID
 *   holds (32 bytes), with the 16-byte IV given in base64.  libvirt hands
 *   kvmpc a raw master key this way and encrypts every other secret
 *   (iSCSI and VNC passwords, disk keys) under it.
 * AES comes from nettle (Meson feature "nettle"); without it keyid= is
 * refused.  Values are decoded when the object is created, so a bad
 * secret is a start-up error, and kept in memory that is wiped on exit
 * paths that free it.
 */
#include "qemu/osdep.h"
#include "crypto/secret.h"
#include "system/object.h"
#include "qobject/qbool.h"
#include "qobject/qstring.h"
#ifdef CONFIG_NETTLE
#include <nettle/aes.h>
#include <nettle/cbc.h>
#endif

typedef struct Secret {
    uint8_t *data;
    size_t len;
    /* the options as given, which qom-get shows as QEMU 7.2 does (data
     * only when it came inline: with keyid, the encrypted text) */
    char *given_data, *file, *format, *keyid, *iv;
} Secret;

uint8_t *qcrypto_secret_lookup(const char *id, size_t *len, GError **errp)
{
    Secret *s = user_object_find(id, "secret");

    if (!s) {
        error_setg(errp, "No secret with id '%s'", id);
        return NULL;
    }
    *len = s->len;
    return g_memdup2(s->data, s->len + 1);    /* keeps the trailing NUL */
}

char *qcrypto_secret_lookup_as_utf8(const char *id, GError **errp)
{
    size_t len;
    uint8_t *data = qcrypto_secret_lookup(id, &len, errp);

    if (!data) {
        return NULL;
    }
    if (memchr(data, 0, len) || !g_utf8_validate((char *)data, len, NULL)) {
        error_setg(errp, "Data from secret %s is not valid UTF-8", id);
        g_free(data);
        return NULL;
    }
    return (char *)data;
}

static bool base64_decode(const char *in, uint8_t **out, size_t *len,
                          const char *what, GError **errp)
{
    size_t n = strlen(in);

    /* g_base64_decode accepts anything; check the alphabet and padding */
    if (n % 4 || strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                            "vwxyz0123456789+/=") != n) {
        error_setg(errp, "%s is not valid base64 data", what);
        return false;
    }
    *out = g_base64_decode(in, len);
    return true;
}

#ifdef CONFIG_NETTLE
static bool decrypt(const uint8_t *key, size_t keylen, const uint8_t *iv,
                    const uint8_t *ct, size_t ctlen, uint8_t **out,
                    size_t *outlen, GError **errp)
{
    struct CBC_CTX(struct aes256_ctx, AES_BLOCK_SIZE) ctx;
    uint8_t pad;

    if (keylen != AES256_KEY_SIZE) {
        error_setg(errp, "the key secret must be %d bytes (AES-256), not "
                   "%zu", AES256_KEY_SIZE, keylen);
        return false;
    }
    if (!ctlen || ctlen % AES_BLOCK_SIZE) {
        error_setg(errp, "the encrypted data is not a whole number of AES "
                   "blocks");
        return false;
    }
    aes256_set_decrypt_key(&ctx.ctx, key);
    CBC_SET_IV(&ctx, iv);
    *out = g_malloc(ctlen + 1);
    CBC_DECRYPT(&ctx, aes256_decrypt, ctlen, *out, ct);
    pad = (*out)[ctlen - 1];
    if (pad == 0 || pad > AES_BLOCK_SIZE || pad > ctlen) {
        error_setg(errp, "decrypted data has bad padding (wrong key or iv?)");
        g_free(*out);
        return false;
    }
    *outlen = ctlen - pad;
    (*out)[*outlen] = 0;
    return true;
}
#endif

static bool decrypt_with_key(const char *keyid, const char *iv_b64,
                             const char *data, uint8_t **out, size_t *outlen,
                             GError **errp)
{
#ifdef CONFIG_NETTLE
    g_autofree uint8_t *key = NULL, *iv = NULL, *ct = NULL;
    size_t keylen, ivlen, ctlen;

    if (!iv_b64) {
        error_setg(errp, "iv is required to decrypt secret");
        return false;
    }
    key = qcrypto_secret_lookup(keyid, &keylen, errp);
    if (!key || !base64_decode(iv_b64, &iv, &ivlen, "iv", errp) ||
        !base64_decode(data, &ct, &ctlen, "encrypted data", errp)) {
        return false;
    }
    if (ivlen != AES_BLOCK_SIZE) {
        error_setg(errp, "iv must be %d bytes, not %zu", AES_BLOCK_SIZE,
                   ivlen);
        return false;
    }
    return decrypt(key, keylen, iv, ct, ctlen, out, outlen, errp);
#else
    error_setg(errp, "keyid=: kvmpc was built without nettle, so it cannot "
               "decrypt secrets");
    return false;
#endif
}

static void *secret_create(const char *id, GHashTable *props, GError **errp)
{
    g_autofree char *data = user_object_take_str(props, "data");
    g_autofree char *file = user_object_take_str(props, "file");
    g_autofree char *format = user_object_take_str(props, "format");
    g_autofree char *keyid = user_object_take_str(props, "keyid");
    g_autofree char *iv = user_object_take_str(props, "iv");
    g_autofree char *loaded = user_object_take_str(props, "loaded");
    g_autofree char *given_data = g_strdup(data);
    Secret *s;
    uint8_t *value = NULL;
    size_t len = 0;

    (void)loaded;   /* QEMU's loaded=on is implied: kvmpc loads at once */
    if (!!data == !!file) {
        error_setg(errp, "secret: exactly one of 'data' and 'file' is "
                   "required");
        return NULL;
    }
    if (format && strcmp(format, "raw") && strcmp(format, "base64")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   format);
        return NULL;
    }
    if (file) {
        GError *err = NULL;
        gsize n;
        g_free(data);
        data = NULL;
        if (!g_file_get_contents(file, &data, &n, &err)) {
            error_setg(errp, "Unable to read %s: %s", file, err->message);
            g_error_free(err);
            return NULL;
        }
        if (memchr(data, 0, n) && (keyid || (format &&
                                             !strcmp(format, "base64")))) {
            error_setg(errp, "%s holds NUL bytes where text is expected",
                       file);
            return NULL;
        }
        len = n;
    } else {
        len = strlen(data);
    }
    if (keyid) {
        if (!decrypt_with_key(keyid, iv, data, &value, &len, errp)) {
            return NULL;
        }
    } else if (format && !strcmp(format, "base64")) {
        if (!base64_decode(data, &value, &len, "secret data", errp)) {
            return NULL;
        }
        value = g_realloc(value, len + 1);
        value[len] = 0;
    } else {
        value = g_malloc(len + 1);
        memcpy(value, data, len);
        value[len] = 0;
    }
    s = g_new0(Secret, 1);
    s->data = value;
    s->len = len;
    s->given_data = g_steal_pointer(&given_data);
    s->file = g_steal_pointer(&file);
    s->format = g_steal_pointer(&format);
    s->keyid = g_steal_pointer(&keyid);
    s->iv = g_steal_pointer(&iv);
    return s;
}

/* ---- properties (qom-list / qom-get / qom-set), QEMU 7.2's ---------- */

static QObject *str_or_empty(const char *v)
{
    return QOBJECT(qstring_from_str(v ? v : ""));
}

#define S(obj) ((Secret *)(obj))
static QObject *get_data(void *o) { return str_or_empty(S(o)->given_data); }
static QObject *get_file(void *o) { return str_or_empty(S(o)->file); }
static QObject *get_keyid(void *o) { return str_or_empty(S(o)->keyid); }
static QObject *get_iv(void *o) { return str_or_empty(S(o)->iv); }
static QObject *get_format(void *o)
{
    return str_or_empty(S(o)->format ? S(o)->format : "raw");
}
#undef S

/* A secret is loaded when it is created. */
static QObject *get_loaded(void *o)
{
    return QOBJECT(qbool_from_bool(true));
}

/*
 * QEMU 7.2 takes a new data/file/format/keyid/iv on a loaded secret but
 * only records it (the loaded value stays): kvmpc refuses rather than
 * show a value that is not the secret's.
 */
static bool refuse_after_load(const char *name, GError **errp)
{
    error_setg(errp, "Property 'secret.%s' can not be changed after the "
               "secret is loaded by kvmpc", name);
    return false;
}

static bool set_data(void *o, QObject *v, GError **errp)
{
    return refuse_after_load("data", errp);
}

static bool set_file(void *o, QObject *v, GError **errp)
{
    return refuse_after_load("file", errp);
}

static bool set_format(void *o, QObject *v, GError **errp)
{
    return refuse_after_load("format", errp);
}

static bool set_keyid(void *o, QObject *v, GError **errp)
{
    return refuse_after_load("keyid", errp);
}

static bool set_iv(void *o, QObject *v, GError **errp)
{
    return refuse_after_load("iv", errp);
}

/* QEMU 7.2's order (qom-list-properties). */
static const UserObjectProp secret_props[] = {
    { "iv", "string", get_iv, set_iv },
    { "keyid", "string", get_keyid, set_keyid },
    { "loaded", "bool", get_loaded, NULL },
    { "format", "QCryptoSecretFormat", get_format, set_format },
    { "file", "string", get_file, set_file },
    { "data", "string", get_data, set_data },
    { NULL }
};

static const UserObjectType secret_type = {
    .name = "secret",
    .props = secret_props,
    .create = secret_create,
};

static void __attribute__((constructor)) secret_register(void)
{
    user_object_type_register(&secret_type);
}
