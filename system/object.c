/*
 * The -object registry (include/system/object.h).
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "system/object.h"
#include "qom/object-type.h"
#include "qobject/qbool.h"
#include "qobject/qnum.h"

typedef struct UserObject {
    char *id;
    const UserObjectType *type;
    void *obj;
} UserObject;

static GPtrArray *object_types;
static GHashTable *objects;     /* id -> UserObject */

void user_object_type_register(const UserObjectType *type)
{
    if (!object_types) {
        object_types = g_ptr_array_new();
    }
    g_ptr_array_add(object_types, (gpointer)type);
    static const char *const user_creatable[] = { TYPE_USER_CREATABLE, NULL };
    object_type_register_copy(type->name, type->parent ?: TYPE_OBJECT, false,
                              user_creatable);
}

const UserObjectType *user_object_type_find(const char *name)
{
    for (guint i = 0; object_types && i < object_types->len; i++) {
        const UserObjectType *t = g_ptr_array_index(object_types, i);
        if (!strcmp(t->name, name)) {
            return t;
        }
    }
    return NULL;
}

char *user_object_take_str(GHashTable *props, const char *key)
{
    gpointer k, v;

    if (!g_hash_table_steal_extended(props, key, &k, &v)) {
        return NULL;
    }
    g_free(k);
    return v;
}

bool user_object_take_uint(GHashTable *props, const char *key,
                           uint64_t *out, GError **errp)
{
    g_autofree char *v = user_object_take_str(props, key);

    if (!v) {
        return true;
    }
    if (!parse_uint(v, out, NULL)) {
        error_setg(errp, "Parameter '%s' expects an unsigned integer", key);
        return false;
    }
    return true;
}

static bool id_is_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

bool user_object_create_from_opts(const char *opts, GError **errp)
{
    g_autoptr(GHashTable) props = keyval_parse(opts, "qom-type", errp);
    g_autofree char *type_name = NULL, *id = NULL;
    const UserObjectType *type;
    UserObject *uo;
    void *obj;

    if (!props) {
        return false;
    }
    type_name = user_object_take_str(props, "qom-type");
    id = user_object_take_str(props, "id");
    if (!type_name) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return false;
    }
    type = user_object_type_find(type_name);
    if (!type) {
        error_setg(errp, "Invalid parameter type for 'qom-type', expected: "
                   "user-creatable object type (not '%s')", type_name);
        return false;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!id_is_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (objects && g_hash_table_contains(objects, id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return false;
    }
    obj = type->create(id, props, errp);
    if (!obj) {
        return false;
    }
    if (g_hash_table_size(props)) {
        GHashTableIter it;
        gpointer key;

        g_hash_table_iter_init(&it, props);
        g_hash_table_iter_next(&it, &key, NULL);
        error_setg(errp, "Property '%s.%s' not found", type_name,
                   (const char *)key);
        return false;   /* the object stays, unreachable: start-up fails */
    }
    if (!objects) {
        objects = g_hash_table_new(g_str_hash, g_str_equal);
    }
    uo = g_new0(UserObject, 1);
    uo->id = g_steal_pointer(&id);
    uo->type = type;
    uo->obj = obj;
    g_hash_table_insert(objects, uo->id, uo);
    return true;
}

void *user_object_find(const char *id, const char *type_name)
{
    UserObject *uo = objects && id ? g_hash_table_lookup(objects, id) : NULL;

    if (!uo || (type_name && strcmp(uo->type->name, type_name))) {
        return NULL;
    }
    return uo->obj;
}

const char *user_object_type_name(const char *id)
{
    UserObject *uo = objects && id ? g_hash_table_lookup(objects, id) : NULL;

    return uo ? uo->type->name : NULL;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void user_object_foreach(void (*fn)(const char *id, const char *type_name,
                                    void *opaque), void *opaque)
{
    g_autofree gpointer *ids = NULL;
    guint n = 0;

    if (!objects) {
        return;
    }
    ids = g_hash_table_get_keys_as_array(objects, &n);
    qsort(ids, n, sizeof(*ids), compare_ids);
    for (guint i = 0; i < n; i++) {
        fn(ids[i], user_object_type_name(ids[i]), opaque);
    }
}

bool user_object_del(const char *id, GError **errp)
{
    UserObject *uo = objects && id ? g_hash_table_lookup(objects, id) : NULL;

    if (!uo) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    if (!uo->type->destroy) {
        error_setg(errp, "object '%s' (type '%s') can not be deleted by "
                   "kvmpc", id, uo->type->name);
        return false;
    }
    if (!uo->type->destroy(uo->obj, errp)) {
        return false;
    }
    g_hash_table_remove(objects, id);
    g_free(uo->id);
    g_free(uo);
    return true;
}

/* ---- properties of live objects (qom-get / qom-set) ------------------ */

static const UserObjectProp *find_prop(const UserObjectType *type,
                                       const char *name)
{
    for (const UserObjectProp *p = type->props; p && p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static UserObject *object_for_prop(const char *id, const char *name,
                                   const UserObjectProp **prop,
                                   GError **errp)
{
    UserObject *uo = objects && id ? g_hash_table_lookup(objects, id) : NULL;

    if (!uo) {
        error_setg(errp, "object '%s' not found", id);
        return NULL;
    }
    *prop = find_prop(uo->type, name);
    if (!*prop) {
        error_setg(errp, "Property '%s.%s' not found", uo->type->name, name);
        return NULL;
    }
    return uo;
}

QObject *user_object_prop_get(const char *id, const char *name,
                              GError **errp)
{
    const UserObjectProp *p;
    UserObject *uo = object_for_prop(id, name, &p, errp);

    if (!uo) {
        return NULL;
    }
    if (!p->get) {
        /* a type whose table only names its properties (no getters yet) */
        error_setg(errp, "Property '%s.%s' can not be read by kvmpc",
                   uo->type->name, name);
        return NULL;
    }
    return p->get(uo->obj);
}

bool user_object_prop_set(const char *id, const char *name, QObject *value,
                          GError **errp)
{
    const UserObjectProp *p;
    UserObject *uo = object_for_prop(id, name, &p, errp);

    if (!uo) {
        return false;
    }
    if (!p->set) {
        error_setg(errp, "Property '%s.%s' is not writable", uo->type->name,
                   name);
        return false;
    }
    return p->set(uo->obj, value, errp);
}

bool user_object_value_int(QObject *value, const char *name, int64_t *out,
                           GError **errp)
{
    QNum *n = qobject_to(QNum, value);

    if (!n || !qnum_get_try_int(n, out)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: integer",
                   name);
        return false;
    }
    return true;
}

bool user_object_value_bool(QObject *value, const char *name, bool *out,
                            GError **errp)
{
    QBool *b = qobject_to(QBool, value);

    if (!b) {
        error_setg(errp, "Invalid parameter type for '%s', expected: boolean",
                   name);
        return false;
    }
    *out = qbool_get_bool(b);
    return true;
}
