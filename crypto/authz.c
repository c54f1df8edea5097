/*
 * Authorization objects (include/crypto/authz.h), QEMU 7.2's types:
 *   authz-simple: one identity, compared exactly;
 *   authz-list:   rules tried in order, each an exact name or a glob
 *                 (g_pattern_match_simple's * and ?) with its own
 *                 policy; the list's policy (default deny) when none
 *                 matches.
 * Objects are looked up at each check, so object-del and object-add
 * between two connections change who may connect, as in QEMU.
 */
#include "qemu/osdep.h"
#include "crypto/authz.h"
#include "system/object.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"

#define TYPE_AUTHZ_SIMPLE "authz-simple"
#define TYPE_AUTHZ_LIST   "authz-list"

typedef struct AuthzRule {
    char *match;
    bool glob;
    bool allow;
} AuthzRule;

typedef struct Authz {
    bool allow;             /* the list's policy when no rule matches */
    GArray *rules;          /* AuthzRule; authz-simple: one, exact */
} Authz;

static bool rule_matches(const AuthzRule *r, const char *identity)
{
    return r->glob ? g_pattern_match_simple(r->match, identity)
                   : !strcmp(r->match, identity);
}

bool qauthz_is_allowed_by_id(const char *authzid, const char *identity,
                             GError **errp)
{
    const char *type = user_object_type_name(authzid);
    Authz *a;

    if (!type) {
        error_setg(errp, "Cannot find QAuthZ object ID %s", authzid);
        return false;
    }
    if (strcmp(type, TYPE_AUTHZ_SIMPLE) && strcmp(type, TYPE_AUTHZ_LIST)) {
        error_setg(errp, "Object '%s' is not a QAuthZ subclass", authzid);
        return false;
    }
    a = user_object_find(authzid, type);
    for (guint i = 0; i < a->rules->len; i++) {
        const AuthzRule *r = &g_array_index(a->rules, AuthzRule, i);
        if (rule_matches(r, identity)) {
            return r->allow;
        }
    }
    return a->allow;
}

static void rule_clear(gpointer p)
{
    g_free(((AuthzRule *)p)->match);
}

static Authz *authz_new(bool allow)
{
    Authz *a = g_new0(Authz, 1);

    a->allow = allow;
    a->rules = g_array_new(false, true, sizeof(AuthzRule));
    g_array_set_clear_func(a->rules, rule_clear);
    return a;
}

static bool authz_destroy(void *obj, GError **errp)
{
    Authz *a = obj;

    g_array_unref(a->rules);
    g_free(a);
    return true;
}

static void *authz_simple_create(const char *id, GHashTable *props,
                                 GError **errp)
{
    AuthzRule r = { .match = user_object_take_str(props, "identity") };
    Authz *a;

    if (!r.match) {
        error_setg(errp, "Parameter 'identity' is missing");
        return NULL;
    }
    r.allow = true;
    a = authz_new(false);
    g_array_append_val(a->rules, r);
    return a;
}

/* An enum property: @key's value among @names (its index), @dflt when
 * absent; QEMU's error (naming the member @name) otherwise. */
static bool take_enum(GHashTable *props, const char *key, const char *name,
                      const char *const names[2], int dflt, int *out,
                      GError **errp)
{
    g_autofree char *v = user_object_take_str(props, key);

    *out = dflt;
    if (!v) {
        return true;
    }
    for (int i = 0; i < 2; i++) {
        if (!strcmp(v, names[i])) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", name, v);
    return false;
}

static const char *const policies[2] = { "deny", "allow" };
static const char *const formats[2] = { "exact", "glob" };

/* rules.N.match, rules.N.policy, rules.N.format for N = 0, 1, ... */
static bool take_rules(Authz *a, GHashTable *props, GError **errp)
{
    for (unsigned n = 0;; n++) {
        g_autofree char *prefix = g_strdup_printf("rules.%u.", n);
        g_autofree char *mkey = g_strconcat(prefix, "match", NULL);
        g_autofree char *pkey = g_strconcat(prefix, "policy", NULL);
        g_autofree char *fkey = g_strconcat(prefix, "format", NULL);
        AuthzRule r = { 0 };
        int policy, format;

        if (!g_hash_table_contains(props, mkey) &&
            !g_hash_table_contains(props, pkey) &&
            !g_hash_table_contains(props, fkey)) {
            return true;
        }
        if (!take_enum(props, pkey, "policy", policies, -1, &policy, errp) ||
            !take_enum(props, fkey, "format", formats, 0, &format, errp)) {
            return false;
        }
        r.match = user_object_take_str(props, mkey);
        if (!r.match || policy < 0) {
            error_setg(errp, "Parameter 'rules[%u].%s' is missing", n,
                       r.match ? "policy" : "match");
            g_free(r.match);
            return false;
        }
        r.allow = policy == 1;
        r.glob = format == 1;
        g_array_append_val(a->rules, r);
    }
}

static void *authz_list_create(const char *id, GHashTable *props,
                               GError **errp)
{
    int policy;
    Authz *a;

    if (!take_enum(props, "policy", "policy", policies, 0, &policy, errp)) {
        return NULL;
    }
    a = authz_new(policy == 1);
    if (!take_rules(a, props, errp)) {
        authz_destroy(a, NULL);
        return NULL;
    }
    return a;
}

/* ---- properties (qom-get; read-only once made: the TLS handshakes of
 * other threads read the rules without a lock) ---- */

static QObject *authz_get_identity(void *obj)
{
    const Authz *a = obj;

    return QOBJECT(qstring_from_str(
        g_array_index(a->rules, AuthzRule, 0).match));
}

static QObject *authz_get_policy(void *obj)
{
    return QOBJECT(qstring_from_str(policies[((Authz *)obj)->allow]));
}

static QObject *authz_get_rules(void *obj)
{
    const Authz *a = obj;
    QList *l = qlist_new();

    for (unsigned i = 0; i < a->rules->len; i++) {
        const AuthzRule *r = &g_array_index(a->rules, AuthzRule, i);
        QDict *d = qdict_new();

        qdict_put_str(d, "match", r->match);
        qdict_put_str(d, "policy", policies[r->allow]);
        qdict_put_str(d, "format", formats[r->glob]);
        qlist_append(l, d);
    }
    return QOBJECT(l);
}

static const UserObjectProp authz_simple_props[] = {
    { "identity", "string", authz_get_identity, NULL }, { NULL }
};

static const UserObjectProp authz_list_props[] = {
    { "policy", "QAuthZListPolicy", authz_get_policy, NULL },
    { "rules", "QAuthZListRule", authz_get_rules, NULL },
    { NULL }
};

static const UserObjectType authz_simple_type = {
    .name = TYPE_AUTHZ_SIMPLE,
    .props = authz_simple_props,
    .parent = "authz",
    .create = authz_simple_create,
    .destroy = authz_destroy,
};

static const UserObjectType authz_list_type = {
    .name = TYPE_AUTHZ_LIST,
    .props = authz_list_props,
    .parent = "authz",
    .create = authz_list_create,
    .destroy = authz_destroy,
};

static void __attribute__((constructor)) authz_register(void)
{
    user_object_type_register(&authz_simple_type);
    user_object_type_register(&authz_list_type);
}
