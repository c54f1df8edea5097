/*
 * Authorization objects (include/crypto/authz.h), QEMU 7.2's
 * authz-simple: one identity, compared exactly.  Objects are looked up
 * at each check, so object-del and object-add between two connections
 * change who may connect, as in QEMU.
 */
#include "qemu/osdep.h"
#include "crypto/authz.h"
#include "system/object.h"

#define TYPE_AUTHZ_SIMPLE "authz-simple"

typedef struct AuthzSimple {
    char *identity;
} AuthzSimple;

bool qauthz_is_allowed_by_id(const char *authzid, const char *identity,
                             GError **errp)
{
    const char *type = user_object_type_name(authzid);
    AuthzSimple *a;

    if (!type) {
        error_setg(errp, "Cannot find QAuthZ object ID %s", authzid);
        return false;
    }
    if (strcmp(type, TYPE_AUTHZ_SIMPLE)) {
        error_setg(errp, "Object '%s' is not a QAuthZ subclass", authzid);
        return false;
    }
    a = user_object_find(authzid, TYPE_AUTHZ_SIMPLE);
    return !strcmp(a->identity, identity);
}

static void *authz_simple_create(const char *id, GHashTable *props,
                                 GError **errp)
{
    AuthzSimple *a;
    char *identity = user_object_take_str(props, "identity");

    if (!identity) {
        error_setg(errp, "Parameter 'identity' is missing");
        return NULL;
    }
    a = g_new0(AuthzSimple, 1);
    a->identity = identity;
    return a;
}

static bool authz_simple_destroy(void *obj, GError **errp)
{
    AuthzSimple *a = obj;

    g_free(a->identity);
    g_free(a);
    return true;
}

static const UserObjectProp authz_simple_props[] = {
    { "identity", "string" }, { NULL }
};

static const UserObjectType authz_simple_type = {
    .name = TYPE_AUTHZ_SIMPLE,
    .props = authz_simple_props,
    .parent = "authz",
    .create = authz_simple_create,
    .destroy = authz_simple_destroy,
};

static void __attribute__((constructor)) authz_simple_register(void)
{
    user_object_type_register(&authz_simple_type);
}
