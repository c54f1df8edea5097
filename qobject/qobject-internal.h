/*
 * Private to qobject/: per-type destructors called on the last unref.
 *
 * Containers do not unref their children recursively: they hand each child
 * to qobject_release_child(), which queues it on @pending when that was its
 * last reference.  qobject_unref() then frees the queue in a loop, so even
 * a very deeply nested value is freed without deep recursion.
 */
#ifndef QOBJECT_INTERNAL_H
#define QOBJECT_INTERNAL_H

#include "qobject/qobject.h"

void qbool_destroy_obj(QObject *obj);
void qnum_destroy_obj(QObject *obj);
void qstring_destroy_obj(QObject *obj);
void qdict_destroy_obj(QObject *obj, GPtrArray *pending);
void qlist_destroy_obj(QObject *obj, GPtrArray *pending);
void qobject_release_child(QObject *child, GPtrArray *pending);

bool qnum_is_equal(const QObject *a, const QObject *b);
bool qdict_is_equal(const QObject *a, const QObject *b);
bool qlist_is_equal(const QObject *a, const QObject *b);

#endif
