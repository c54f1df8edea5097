/*
 * Parser for QEMU-style "key=value,key=value" option strings.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

static void keyval_pair_free(gpointer p)
{
    KeyValPair *kv = p;

    g_free(kv->key);
    g_free(kv->value);
    g_free(kv);
}

/* Read up to an unescaped @stop (or ','); ",," stands for ','. */
static char *read_token(const char **pp, char stop)
{
    GString *s = g_string_new(NULL);
    const char *p = *pp;

    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(s, ',');
                p += 2;
                continue;
            }
            break;
        }
        if (*p == stop) {
            break;
        }
        g_string_append_c(s, *p++);
    }
    *pp = p;
    return g_string_free(s, FALSE);
}

static bool json_flatten(QObject *obj, const char *prefix, GPtrArray *list,
                         GError **errp);

static void add_pair(GPtrArray *list, const char *key, char *value)
{
    KeyValPair *kv = g_new0(KeyValPair, 1);

    kv->key = g_strdup(key);
    kv->value = value;
    g_ptr_array_add(list, kv);
}

/*
 * QEMU's JSON option form ({"driver": "virtio-blk-pci", "drive": "d0",
 * "bootindex": 1}): the same pairs the key=value form gives, scalars as
 * their text (booleans "on"/"off"), nested objects as dotted keys
 * ("cache.direct") and list elements as "key.N", as QEMU's keyval does.
 */
static bool json_flatten(QObject *obj, const char *prefix, GPtrArray *list,
                         GError **errp)
{
    switch (qobject_type(obj)) {
    case QTYPE_QSTRING:
        add_pair(list, prefix, g_strdup(qstring_get_str(qobject_to(QString,
                                                                    obj))));
        return true;
    case QTYPE_QBOOL:
        add_pair(list, prefix, g_strdup(qbool_get_bool(qobject_to(QBool, obj))
                                        ? "on" : "off"));
        return true;
    case QTYPE_QNUM:
        add_pair(list, prefix, qnum_to_string(qobject_to(QNum, obj)));
        return true;
    case QTYPE_QDICT: {
        QDict *d = qobject_to(QDict, obj);
        for (const QDictEntry *e = qdict_first(d); e; e = qdict_next(d, e)) {
            g_autofree char *key = *prefix ?
                g_strdup_printf("%s.%s", prefix, e->key) : g_strdup(e->key);
            if (!json_flatten(e->value, key, list, errp)) {
                return false;
            }
        }
        return true;
    }
    case QTYPE_QLIST: {
        const QListEntry *e;
        unsigned i = 0;
        QLIST_FOREACH_ENTRY(qobject_to(QList, obj), e) {
            g_autofree char *key = g_strdup_printf("%s.%u", prefix, i++);
            if (!json_flatten(qlist_entry_obj(e), key, list, errp)) {
                return false;
            }
        }
        return true;
    }
    default:
        error_setg(errp, "Parameter '%s': null is not a value", prefix);
        return false;
    }
}

static GPtrArray *keyval_parse_json(const char *str, GError **errp)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(keyval_pair_free);
    QObject *obj = qobject_from_json(str, errp);
    bool ok;

    if (!obj) {
        g_ptr_array_unref(list);
        return NULL;
    }
    if (qobject_type(obj) != QTYPE_QDICT) {
        error_setg(errp, "JSON options must be an object");
        qobject_unref(obj);
        g_ptr_array_unref(list);
        return NULL;
    }
    ok = json_flatten(obj, "", list, errp);
    qobject_unref(obj);
    if (!ok) {
        g_ptr_array_unref(list);
        return NULL;
    }
    return list;
}

GPtrArray *keyval_parse_list(const char *str, const char *implied_key,
                             GError **errp)
{
    if (str && str[0] == '{') {
        return keyval_parse_json(str, errp);
    }

    GPtrArray *list = g_ptr_array_new_with_free_func(keyval_pair_free);
    const char *p = str ? str : "";
    bool first = true;

    while (*p) {
        char *key = read_token(&p, '=');
        KeyValPair *kv = g_new0(KeyValPair, 1);

        if (*p == '=') {
            p++;
            kv->key = key;
            kv->value = read_token(&p, '\0');
        } else if (first && implied_key) {
            kv->key = g_strdup(implied_key);
            kv->value = key;
        } else {
            kv->key = key;
            kv->value = g_strdup("on");
        }
        if (!*kv->key) {
            keyval_pair_free(kv);
            error_setg(errp, "invalid option string '%s': empty key", str);
            g_ptr_array_unref(list);
            return NULL;
        }
        g_ptr_array_add(list, kv);
        first = false;
        if (*p == ',') {
            p++;
        }
    }
    return list;
}

GHashTable *keyval_parse(const char *str, const char *implied_key,
                         GError **errp)
{
    GPtrArray *list = keyval_parse_list(str, implied_key, errp);
    GHashTable *h;

    if (!list) {
        return NULL;
    }
    h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (unsigned i = 0; i < list->len; i++) {
        KeyValPair *kv = g_ptr_array_index(list, i);
        g_hash_table_insert(h, g_strdup(kv->key), g_strdup(kv->value));
    }
    g_ptr_array_unref(list);
    return h;
}
