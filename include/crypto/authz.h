/*
 * Authorization objects (QEMU 7.2's "authz" types, docs/tls.md):
 *
 *   -object authz-simple,id=ID,identity=NAME
 *   -object authz-list,id=ID,policy=deny|allow,
 *           rules.N.match=NAME,rules.N.policy=allow|deny,
 *           rules.N.format=exact|glob
 *
 * A TLS server with tls-authz=ID lets in a client only when the object
 * allows its identity (authz-simple: that one; authz-list: the first
 * rule that matches, else the list's policy): the X.509 distinguished name of its certificate
 * as GnuTLS formats it ("CN=client,O=Example"), or its PSK user name.
 * crypto/authz.c.
 */
#ifndef CRYPTO_AUTHZ_H
#define CRYPTO_AUTHZ_H
#include "qemu/osdep.h"

/* Does the authorization object @authzid allow @identity?  False with
 * @errp set only when there is no such object (QEMU 7.2's errors); a
 * refusal is false with @errp untouched.  Big lock held (object-del
 * runs under it). */
bool qauthz_is_allowed_by_id(const char *authzid, const char *identity,
                             GError **errp);

#endif
