/*
 * QDict: a JSON object.  Keys are unique; iteration follows insertion
 * order (so QMP replies come out in the order the code built them, which
 * is what QEMU users are used to reading).  Lookups go through a hash
 * table; order is kept by a doubly linked list of entries.
 *
 * Putting an existing key replaces its value in place (the key keeps its
 * position).  The typed getters qdict_get_int() etc. abort when the key is
 * missing or has another type: use them on data whose shape is already
 * known (e.g. checked by QAPI); the qdict_get_try_*() variants never abort.
 */
#ifndef QOBJECT_QDICT_H
#define QOBJECT_QDICT_H

#include "qobject/qobject.h"

typedef struct QDictEntry {
    char *key;
    QObject *value;
    struct QDictEntry *prev;
    struct QDictEntry *next;
} QDictEntry;

struct QDict {
    QObjectBase_ base;
    GHashTable *table;          /* key (owned by the entry) -> QDictEntry */
    QDictEntry *first;
    QDictEntry *last;
};

QDict *qdict_new(void);
size_t qdict_size(const QDict *qdict);

/* Stores @value under @key, taking over the caller's reference. */
void qdict_put_obj(QDict *qdict, const char *key, QObject *value);
#define qdict_put(qdict, key, obj) qdict_put_obj(qdict, key, QOBJECT(obj))
void qdict_put_int(QDict *qdict, const char *key, int64_t value);
void qdict_put_uint(QDict *qdict, const char *key, uint64_t value);
void qdict_put_double(QDict *qdict, const char *key, double value);
void qdict_put_bool(QDict *qdict, const char *key, bool value);
void qdict_put_str(QDict *qdict, const char *key, const char *value);
void qdict_put_null(QDict *qdict, const char *key);

/* The value under @key, borrowed, or NULL. */
QObject *qdict_get(const QDict *qdict, const char *key);
bool qdict_haskey(const QDict *qdict, const char *key);
/* Removes @key; returns whether it was there. */
bool qdict_del(QDict *qdict, const char *key);

/* Typed getters: abort if @key is missing or of another type. */
int64_t qdict_get_int(const QDict *qdict, const char *key);
double qdict_get_double(const QDict *qdict, const char *key);
bool qdict_get_bool(const QDict *qdict, const char *key);
const char *qdict_get_str(const QDict *qdict, const char *key);
QDict *qdict_get_qdict(const QDict *qdict, const char *key);
QList *qdict_get_qlist(const QDict *qdict, const char *key);

/* Typed getters that return @def_value (or NULL) instead of aborting. */
int64_t qdict_get_try_int(const QDict *qdict, const char *key,
                          int64_t def_value);
bool qdict_get_try_bool(const QDict *qdict, const char *key, bool def_value);
const char *qdict_get_try_str(const QDict *qdict, const char *key);

/* Iteration in insertion order.  Don't delete the current entry. */
const QDictEntry *qdict_first(const QDict *qdict);
const QDictEntry *qdict_next(const QDict *qdict, const QDictEntry *entry);

static inline const char *qdict_entry_key(const QDictEntry *entry)
{
    return entry->key;
}

static inline QObject *qdict_entry_value(const QDictEntry *entry)
{
    return entry->value;
}

/* A new dict holding new references to the same values. */
QDict *qdict_clone_shallow(const QDict *src);

#endif
