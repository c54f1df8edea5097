/*
 * QObject: a small reference-counted value model (null, bool, number,
 * string, dict, list).  It is what the JSON parser produces, what the JSON
 * writer consumes, and what the QAPI generated code converts C types from
 * and to.
 *
 * Every concrete type starts with a QObjectBase_ member called "base", so
 * QOBJECT() can turn any of them into a QObject * without a cast that the
 * compiler cannot check, and qobject_to() turns a QObject * back into the
 * concrete type after checking the run-time type (NULL when it does not
 * match, so "is it a dict?" and "give me the dict" are one call).
 *
 * Reference counting: a new object has one reference, owned by whoever
 * created it.  Functions that "take" a value (qdict_put_obj(),
 * qlist_append_obj(), ...) take over the caller's reference.  Getters return
 * borrowed pointers that stay valid while the container holds them.
 * Counts are atomic, so objects may be handed between threads; the
 * containers themselves are not locked.
 */
#ifndef QOBJECT_QOBJECT_H
#define QOBJECT_QOBJECT_H

#include "qemu/osdep.h"

typedef enum QType {
    QTYPE_NONE,         /* not a valid object type: "no value" */
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
    QTYPE__MAX,
} QType;

typedef struct QObjectBase_ {
    QType type;
    int refcnt;
} QObjectBase_;

typedef struct QObject {
    QObjectBase_ base;
} QObject;

typedef struct QNull QNull;
typedef struct QBool QBool;
typedef struct QNum QNum;
typedef struct QString QString;
typedef struct QDict QDict;
typedef struct QList QList;

/* Names for qobject_to(): QTYPE_CAST_TO_<C type name>. */
enum {
    QTYPE_CAST_TO_QNull = QTYPE_QNULL,
    QTYPE_CAST_TO_QNum = QTYPE_QNUM,
    QTYPE_CAST_TO_QString = QTYPE_QSTRING,
    QTYPE_CAST_TO_QDict = QTYPE_QDICT,
    QTYPE_CAST_TO_QList = QTYPE_QLIST,
    QTYPE_CAST_TO_QBool = QTYPE_QBOOL,
};

/* Any concrete object pointer (or NULL) as a QObject pointer. */
#define QOBJECT(obj) ({                                         \
    __typeof__(obj) qobj_o_ = (obj);                            \
    qobj_o_ ? container_of(&qobj_o_->base, QObject, base) : NULL; \
})

/* @obj (a QObject *) as a @type *, or NULL if it is NULL or another type. */
#define qobject_to(type, obj) \
    ((type *)qobject_check_type_(obj, QTYPE_CAST_TO_##type))

/* Take one more reference; returns @obj with its own type.  NULL is ok. */
#define qobject_ref(obj) ({                     \
    __typeof__(obj) qobj_r_ = (obj);            \
    qobject_ref_impl_(QOBJECT(qobj_r_));        \
    qobj_r_;                                    \
})

/* Drop one reference; frees the object on the last one.  NULL is ok. */
#define qobject_unref(obj) qobject_unref_impl_(QOBJECT(obj))

/* Implementation details of the macros above. */
void qobject_ref_impl_(QObject *obj);
void qobject_unref_impl_(QObject *obj);
void *qobject_check_type_(const QObject *obj, int type);

/* Initialise the header of a freshly allocated object (one reference). */
void qobject_init(QObject *obj, QType type);

static inline QType qobject_type(const QObject *obj)
{
    return obj ? obj->base.type : QTYPE_NONE;
}

/*
 * Structural equality.  Numbers compare by value: integers (signed or
 * unsigned) equal integers with the same value; doubles equal doubles
 * only (1 and 1.0 differ, as they do on the wire).  Dicts compare as
 * unordered maps.  Two NULLs are equal.
 */
bool qobject_is_equal(const QObject *a, const QObject *b);

/* Human-readable name of a type ("dict", "string", ...). */
const char *qtype_name(QType type);

#endif
