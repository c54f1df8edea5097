/*
 * Secrets: -object secret,id=ID,data=STRING|file=PATH[,format=raw|base64]
 * [,keyid=SECRET-ID,iv=BASE64] (QEMU's), the passwords and keys other
 * options name by id (iSCSI password-secret, libvirt's master key).
 * crypto/secret.c.
 */
#ifndef CRYPTO_SECRET_H
#define CRYPTO_SECRET_H
#include "qemu/osdep.h"

/* The secret's bytes (g_free them), or NULL with @errp set. */
uint8_t *qcrypto_secret_lookup(const char *id, size_t *len, GError **errp);
/* The same as a NUL-terminated UTF-8 string without NULs. */
char *qcrypto_secret_lookup_as_utf8(const char *id, GError **errp);

#endif
