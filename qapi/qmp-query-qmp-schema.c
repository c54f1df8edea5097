/*
 * query-qmp-schema: the one command with a hand-written marshaller
 * ('gen': false in qapi/introspect.json), because its reply is the
 * generated introspection data as is, not a value built from C types.
 */
#include "qemu/osdep.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-introspect.h"
#include "qapi/visit.h"

void qmp_marshal_query_qmp_schema(QDict *args, QObject **ret, GError **errp)
{
    QDict *rest = args ? qdict_clone_shallow(args) : qdict_new();
    bool ok = qapi_input_end_object(rest, NULL, errp);

    qobject_unref(rest);
    if (ok) {
        *ret = qmp_schema_qobject();
    }
}
