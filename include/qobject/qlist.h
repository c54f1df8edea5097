/*
 * QList: a JSON array, a singly linked list with a tail pointer (append
 * and pop-front are O(1); indexing is O(n)).
 */
#ifndef QOBJECT_QLIST_H
#define QOBJECT_QLIST_H

#include "qobject/qobject.h"

typedef struct QListEntry {
    QObject *value;
    struct QListEntry *next;
} QListEntry;

struct QList {
    QObjectBase_ base;
    QListEntry *head;
    QListEntry *tail;
    size_t size;
};

#define QLIST_FOREACH_ENTRY(qlist, var) \
    for ((var) = qlist_first(qlist); (var); (var) = qlist_next(var))

QList *qlist_new(void);

/* Appends @value, taking over the caller's reference. */
void qlist_append_obj(QList *qlist, QObject *value);
#define qlist_append(qlist, obj) qlist_append_obj(qlist, QOBJECT(obj))
void qlist_append_int(QList *qlist, int64_t value);
void qlist_append_uint(QList *qlist, uint64_t value);
void qlist_append_double(QList *qlist, double value);
void qlist_append_bool(QList *qlist, bool value);
void qlist_append_str(QList *qlist, const char *value);
void qlist_append_null(QList *qlist);

/* Removes the first element and returns it (the caller owns it). */
QObject *qlist_pop(QList *qlist);
/* The first element, borrowed; NULL when empty. */
QObject *qlist_peek(const QList *qlist);
/* Element @index, borrowed; NULL when out of range.  O(n). */
QObject *qlist_get(const QList *qlist, size_t index);

size_t qlist_size(const QList *qlist);
bool qlist_empty(const QList *qlist);

static inline const QListEntry *qlist_first(const QList *qlist)
{
    return qlist->head;
}

static inline const QListEntry *qlist_next(const QListEntry *entry)
{
    return entry->next;
}

static inline QObject *qlist_entry_obj(const QListEntry *entry)
{
    return entry->value;
}

#endif
