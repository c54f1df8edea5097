/* Loading of the generated introspection data (include/qapi/introspect.h). */
#include "qemu/osdep.h"
#include "qapi/introspect.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"

typedef struct Conds {
    const bool *values;
    size_t n;
} Conds;

static QObject *resolve(QObject *obj, const Conds *conds);

/* For a wrapped list element: whether it stays, and the wrapped value. */
static bool unwrap(QObject *elem, const Conds *conds, QObject **inner)
{
    QDict *dict = qobject_to(QDict, elem);
    QNum *idx = dict ? qobject_to(QNum, qdict_get(dict, "__if")) : NULL;
    int64_t i;

    if (!idx) {
        *inner = elem;
        return true;
    }
    if (!qnum_get_try_int(idx, &i) || i <= 0 || (size_t)i >= conds->n ||
        !qdict_haskey(dict, "__v")) {
        g_error("qapi: malformed introspection data");
    }
    *inner = qdict_get(dict, "__v");
    return conds->values[i];
}

static QObject *resolve_list(QList *list, const Conds *conds)
{
    QList *out = qlist_new();
    const QListEntry *e;

    QLIST_FOREACH_ENTRY(list, e) {
        QObject *inner;

        if (unwrap(qlist_entry_obj(e), conds, &inner)) {
            qlist_append_obj(out, resolve(inner, conds));
        }
    }
    return QOBJECT(out);
}

static QObject *resolve_dict(QDict *dict, const Conds *conds)
{
    QDict *out = qdict_new();
    const QDictEntry *e;

    for (e = qdict_first(dict); e; e = qdict_next(dict, e)) {
        qdict_put_obj(out, qdict_entry_key(e),
                      resolve(qdict_entry_value(e), conds));
    }
    return QOBJECT(out);
}

/* A copy of @obj with every conditional list element resolved. */
static QObject *resolve(QObject *obj, const Conds *conds)
{
    switch (qobject_type(obj)) {
    case QTYPE_QLIST:
        return resolve_list(qobject_to(QList, obj), conds);
    case QTYPE_QDICT:
        return resolve_dict(qobject_to(QDict, obj), conds);
    default:
        return qobject_ref(obj);
    }
}

QObject *qapi_introspect_load(const char *json, const bool *conds,
                              size_t nconds)
{
    Conds c = { .values = conds, .n = nconds };
    GError *err = NULL;
    QObject *raw = qobject_from_json(json, &err);
    QObject *out;

    if (!raw) {
        g_error("qapi: bad introspection data: %s", err->message);
    }
    out = resolve(raw, &c);
    qobject_unref(raw);
    return out;
}
