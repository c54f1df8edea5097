/* QObject reference counting, type checks and equality. */
#include "qemu/osdep.h"
#include "qobject/qobject.h"
#include "qobject/qbool.h"
#include "qobject/qstring.h"
#include "qobject-internal.h"

void qobject_init(QObject *obj, QType type)
{
    g_assert(type > QTYPE_NONE && type < QTYPE__MAX);
    obj->base.type = type;
    obj->base.refcnt = 1;
}

void qobject_ref_impl_(QObject *obj)
{
    if (obj) {
        g_atomic_int_inc(&obj->base.refcnt);
    }
}

static void qobject_destroy(QObject *obj, GPtrArray *pending)
{
    switch (obj->base.type) {
    case QTYPE_QNULL:
        /* The singleton is static; an extra unref is a caller bug. */
        g_error("qobject: null singleton freed");
        break;
    case QTYPE_QBOOL:
        qbool_destroy_obj(obj);
        break;
    case QTYPE_QNUM:
        qnum_destroy_obj(obj);
        break;
    case QTYPE_QSTRING:
        qstring_destroy_obj(obj);
        break;
    case QTYPE_QDICT:
        qdict_destroy_obj(obj, pending);
        break;
    case QTYPE_QLIST:
        qlist_destroy_obj(obj, pending);
        break;
    default:
        g_assert_not_reached();
    }
}

void qobject_release_child(QObject *child, GPtrArray *pending)
{
    if (child && g_atomic_int_dec_and_test(&child->base.refcnt)) {
        g_ptr_array_add(pending, child);
    }
}

void qobject_unref_impl_(QObject *obj)
{
    GPtrArray *pending;

    if (!obj || !g_atomic_int_dec_and_test(&obj->base.refcnt)) {
        return;
    }
    if (obj->base.type != QTYPE_QDICT && obj->base.type != QTYPE_QLIST) {
        qobject_destroy(obj, NULL);     /* the common, allocation-free case */
        return;
    }
    pending = g_ptr_array_new();
    g_ptr_array_add(pending, obj);
    while (pending->len) {
        qobject_destroy(g_ptr_array_steal_index_fast(pending,
                                                     pending->len - 1),
                        pending);
    }
    g_ptr_array_free(pending, true);
}

void *qobject_check_type_(const QObject *obj, int type)
{
    if (obj && obj->base.type == (QType)type) {
        return (void *)obj;
    }
    return NULL;
}

bool qobject_is_equal(const QObject *a, const QObject *b)
{
    if (a == b) {
        return true;
    }
    if (!a || !b || a->base.type != b->base.type) {
        return false;
    }
    switch (a->base.type) {
    case QTYPE_QNULL:
        return true;
    case QTYPE_QBOOL:
        return qbool_get_bool(qobject_to(QBool, a)) ==
               qbool_get_bool(qobject_to(QBool, b));
    case QTYPE_QNUM:
        return qnum_is_equal(a, b);
    case QTYPE_QSTRING: {
        const QString *sa = qobject_to(QString, a);
        const QString *sb = qobject_to(QString, b);
        return sa->len == sb->len && !memcmp(sa->str, sb->str, sa->len);
    }
    case QTYPE_QDICT:
        return qdict_is_equal(a, b);
    case QTYPE_QLIST:
        return qlist_is_equal(a, b);
    default:
        g_assert_not_reached();
    }
}

const char *qtype_name(QType type)
{
    static const char *const names[QTYPE__MAX] = {
        [QTYPE_NONE] = "none",
        [QTYPE_QNULL] = "null",
        [QTYPE_QNUM] = "number",
        [QTYPE_QSTRING] = "string",
        [QTYPE_QDICT] = "dict",
        [QTYPE_QLIST] = "list",
        [QTYPE_QBOOL] = "bool",
    };
    return (unsigned)type < QTYPE__MAX ? names[type] : "invalid";
}
