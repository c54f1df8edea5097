#include "qemu/osdep.h"
#include "qobject/qlist.h"
#include "qobject/qbool.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "qobject-internal.h"

QList *qlist_new(void)
{
    QList *qlist = g_new0(QList, 1);

    qobject_init(QOBJECT(qlist), QTYPE_QLIST);
    return qlist;
}

void qlist_append_obj(QList *qlist, QObject *value)
{
    QListEntry *entry = g_new(QListEntry, 1);

    g_assert(value);
    entry->value = value;
    entry->next = NULL;
    if (qlist->tail) {
        qlist->tail->next = entry;
    } else {
        qlist->head = entry;
    }
    qlist->tail = entry;
    qlist->size++;
}

void qlist_append_int(QList *qlist, int64_t value)
{
    qlist_append(qlist, qnum_from_int(value));
}

void qlist_append_uint(QList *qlist, uint64_t value)
{
    qlist_append(qlist, qnum_from_uint(value));
}

void qlist_append_double(QList *qlist, double value)
{
    qlist_append(qlist, qnum_from_double(value));
}

void qlist_append_bool(QList *qlist, bool value)
{
    qlist_append(qlist, qbool_from_bool(value));
}

void qlist_append_str(QList *qlist, const char *value)
{
    qlist_append(qlist, qstring_from_str(value));
}

void qlist_append_null(QList *qlist)
{
    qlist_append(qlist, qnull());
}

QObject *qlist_pop(QList *qlist)
{
    QListEntry *entry = qlist->head;
    QObject *value;

    if (!entry) {
        return NULL;
    }
    qlist->head = entry->next;
    if (!qlist->head) {
        qlist->tail = NULL;
    }
    qlist->size--;
    value = entry->value;
    g_free(entry);
    return value;
}

QObject *qlist_peek(const QList *qlist)
{
    return qlist->head ? qlist->head->value : NULL;
}

QObject *qlist_get(const QList *qlist, size_t index)
{
    const QListEntry *entry;

    for (entry = qlist->head; entry; entry = entry->next) {
        if (index-- == 0) {
            return entry->value;
        }
    }
    return NULL;
}

size_t qlist_size(const QList *qlist)
{
    return qlist->size;
}

bool qlist_empty(const QList *qlist)
{
    return qlist->size == 0;
}

bool qlist_is_equal(const QObject *a, const QObject *b)
{
    const QList *la = qobject_to(QList, a);
    const QList *lb = qobject_to(QList, b);
    const QListEntry *ea, *eb;

    if (la->size != lb->size) {
        return false;
    }
    for (ea = la->head, eb = lb->head; ea && eb; ea = ea->next, eb = eb->next) {
        if (!qobject_is_equal(ea->value, eb->value)) {
            return false;
        }
    }
    return true;
}

void qlist_destroy_obj(QObject *obj, GPtrArray *pending)
{
    QList *qlist = qobject_to(QList, obj);
    QListEntry *entry, *next;

    for (entry = qlist->head; entry; entry = next) {
        next = entry->next;
        qobject_release_child(entry->value, pending);
        g_free(entry);
    }
    g_free(qlist);
}
