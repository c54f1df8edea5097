#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "qobject/qbool.h"
#include "qobject/qlist.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "qobject-internal.h"

QDict *qdict_new(void)
{
    QDict *qdict = g_new0(QDict, 1);

    qobject_init(QOBJECT(qdict), QTYPE_QDICT);
    /* Keys belong to the entries; the table frees nothing itself. */
    qdict->table = g_hash_table_new(g_str_hash, g_str_equal);
    return qdict;
}

size_t qdict_size(const QDict *qdict)
{
    return g_hash_table_size(qdict->table);
}

static QDictEntry *qdict_find(const QDict *qdict, const char *key)
{
    return g_hash_table_lookup(qdict->table, key);
}

void qdict_put_obj(QDict *qdict, const char *key, QObject *value)
{
    QDictEntry *entry = qdict_find(qdict, key);

    g_assert(value);
    if (entry) {
        qobject_unref(entry->value);
        entry->value = value;
        return;
    }
    entry = g_new(QDictEntry, 1);
    entry->key = g_strdup(key);
    entry->value = value;
    entry->next = NULL;
    entry->prev = qdict->last;
    if (qdict->last) {
        qdict->last->next = entry;
    } else {
        qdict->first = entry;
    }
    qdict->last = entry;
    g_hash_table_insert(qdict->table, entry->key, entry);
}

void qdict_put_int(QDict *qdict, const char *key, int64_t value)
{
    qdict_put(qdict, key, qnum_from_int(value));
}

void qdict_put_uint(QDict *qdict, const char *key, uint64_t value)
{
    qdict_put(qdict, key, qnum_from_uint(value));
}

void qdict_put_double(QDict *qdict, const char *key, double value)
{
    qdict_put(qdict, key, qnum_from_double(value));
}

void qdict_put_bool(QDict *qdict, const char *key, bool value)
{
    qdict_put(qdict, key, qbool_from_bool(value));
}

void qdict_put_str(QDict *qdict, const char *key, const char *value)
{
    qdict_put(qdict, key, qstring_from_str(value));
}

void qdict_put_null(QDict *qdict, const char *key)
{
    qdict_put(qdict, key, qnull());
}

QObject *qdict_get(const QDict *qdict, const char *key)
{
    QDictEntry *entry = qdict_find(qdict, key);

    return entry ? entry->value : NULL;
}

bool qdict_haskey(const QDict *qdict, const char *key)
{
    return qdict_find(qdict, key) != NULL;
}

bool qdict_del(QDict *qdict, const char *key)
{
    QDictEntry *entry = qdict_find(qdict, key);

    if (!entry) {
        return false;
    }
    g_hash_table_remove(qdict->table, key);
    if (entry->prev) {
        entry->prev->next = entry->next;
    } else {
        qdict->first = entry->next;
    }
    if (entry->next) {
        entry->next->prev = entry->prev;
    } else {
        qdict->last = entry->prev;
    }
    qobject_unref(entry->value);
    g_free(entry->key);
    g_free(entry);
    return true;
}

/* The value under @key, which the caller promises exists with @type. */
static QObject *qdict_get_checked(const QDict *qdict, const char *key,
                                  QType type)
{
    QObject *obj = qdict_get(qdict, key);

    if (qobject_type(obj) != type) {
        g_error("qdict: key '%s' is %s, expected %s", key,
                obj ? qtype_name(qobject_type(obj)) : "missing",
                qtype_name(type));
    }
    return obj;
}

int64_t qdict_get_int(const QDict *qdict, const char *key)
{
    return qnum_get_int(qobject_to(QNum,
                        qdict_get_checked(qdict, key, QTYPE_QNUM)));
}

double qdict_get_double(const QDict *qdict, const char *key)
{
    return qnum_get_double(qobject_to(QNum,
                           qdict_get_checked(qdict, key, QTYPE_QNUM)));
}

bool qdict_get_bool(const QDict *qdict, const char *key)
{
    return qbool_get_bool(qobject_to(QBool,
                          qdict_get_checked(qdict, key, QTYPE_QBOOL)));
}

const char *qdict_get_str(const QDict *qdict, const char *key)
{
    return qstring_get_str(qobject_to(QString,
                           qdict_get_checked(qdict, key, QTYPE_QSTRING)));
}

QDict *qdict_get_qdict(const QDict *qdict, const char *key)
{
    return qobject_to(QDict, qdict_get_checked(qdict, key, QTYPE_QDICT));
}

QList *qdict_get_qlist(const QDict *qdict, const char *key)
{
    return qobject_to(QList, qdict_get_checked(qdict, key, QTYPE_QLIST));
}

int64_t qdict_get_try_int(const QDict *qdict, const char *key,
                          int64_t def_value)
{
    QNum *qn = qobject_to(QNum, qdict_get(qdict, key));
    int64_t val;

    return qn && qnum_get_try_int(qn, &val) ? val : def_value;
}

bool qdict_get_try_bool(const QDict *qdict, const char *key, bool def_value)
{
    QBool *qb = qobject_to(QBool, qdict_get(qdict, key));

    return qb ? qbool_get_bool(qb) : def_value;
}

const char *qdict_get_try_str(const QDict *qdict, const char *key)
{
    QString *qs = qobject_to(QString, qdict_get(qdict, key));

    return qs ? qstring_get_str(qs) : NULL;
}

const QDictEntry *qdict_first(const QDict *qdict)
{
    return qdict->first;
}

const QDictEntry *qdict_next(const QDict *qdict, const QDictEntry *entry)
{
    return entry->next;
}

QDict *qdict_clone_shallow(const QDict *src)
{
    QDict *dst = qdict_new();
    const QDictEntry *e;

    for (e = src->first; e; e = e->next) {
        qdict_put_obj(dst, e->key, qobject_ref(e->value));
    }
    return dst;
}

bool qdict_is_equal(const QObject *a, const QObject *b)
{
    const QDict *da = qobject_to(QDict, a);
    const QDict *db = qobject_to(QDict, b);
    const QDictEntry *e;

    if (qdict_size(da) != qdict_size(db)) {
        return false;
    }
    for (e = da->first; e; e = e->next) {
        if (!qobject_is_equal(e->value, qdict_get(db, e->key))) {
            return false;
        }
    }
    return true;
}

void qdict_destroy_obj(QObject *obj, GPtrArray *pending)
{
    QDict *qdict = qobject_to(QDict, obj);
    QDictEntry *entry, *next;

    for (entry = qdict->first; entry; entry = next) {
        next = entry->next;
        qobject_release_child(entry->value, pending);
        g_free(entry->key);
        g_free(entry);
    }
    g_hash_table_destroy(qdict->table);
    g_free(qdict);
}
