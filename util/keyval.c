/*
 * Parser for QEMU-style "key=value,key=value" option strings.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"

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

GPtrArray *keyval_parse_list(const char *str, const char *implied_key,
                             GError **errp)
{
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
