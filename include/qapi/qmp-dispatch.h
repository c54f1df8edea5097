/*
 * QMP command table and request dispatch.
 *
 * The generated <prefix>qmp_init_marshal() registers every command of a
 * schema into a QmpCommandList; the monitor calls qmp_dispatch() for each
 * request it parses and writes the reply it returns.  A zero-initialised
 * QmpCommandList is a valid empty table:
 *
 *     static QmpCommandList qmp_commands;
 *     qmp_init_marshal(&qmp_commands);
 *     ...
 *     QDict *rsp = qmp_dispatch(&qmp_commands, request, false);
 */
#ifndef QAPI_QMP_DISPATCH_H
#define QAPI_QMP_DISPATCH_H

#include "qemu/osdep.h"
#include "qobject/qdict.h"

/*
 * A command's marshaller: @args is the request's "arguments" (never NULL,
 * borrowed).  On success it sets *@ret to the value of "return" (a new
 * reference); on failure it sets @errp and leaves *@ret NULL.
 */
typedef void QmpCommandFunc(QDict *args, QObject **ret, GError **errp);

typedef enum QmpCommandOptions {
    QCO_NO_OPTIONS = 0,
    QCO_NO_SUCCESS_RESP = 1 << 0,   /* 'success-response': false */
    QCO_ALLOW_OOB = 1 << 1,         /* 'allow-oob': true */
    QCO_ALLOW_PRECONFIG = 1 << 2,   /* 'allow-preconfig': true */
} QmpCommandOptions;

typedef struct QmpCommand {
    char *name;
    QmpCommandFunc *fn;
    QmpCommandOptions options;
    bool enabled;
} QmpCommand;

typedef struct QmpCommandList {
    GHashTable *by_name;    /* name -> QmpCommand *; NULL while empty */
    GPtrArray *order;       /* QmpCommand *, in registration order */
} QmpCommandList;

/* Adds (or replaces) command @name, enabled. */
void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc *fn, QmpCommandOptions options);
const QmpCommand *qmp_find_command(const QmpCommandList *cmds,
                                   const char *name);
/*
 * A disabled command stays in the table (query-commands may list it) but
 * dispatch answers CommandNotFound.  Both return false for unknown names.
 */
bool qmp_disable_command(QmpCommandList *cmds, const char *name);
bool qmp_enable_command(QmpCommandList *cmds, const char *name);
/* Calls @fn for every command, in registration order. */
void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque);
/* Empties the table (it can be reused). */
void qmp_command_list_destroy(QmpCommandList *cmds);

/*
 * Executes one parsed QMP request and returns the reply to send:
 *   {"return": VALUE}  (a command without 'returns' gives {"return": {}})
 *   {"error": {"class": CLASS, "desc": TEXT}}
 * with the request's "id" (any JSON value) copied into the reply when
 * present.  The request is checked as QEMU does: it must be an object with
 * a string "execute" (or "exec-oob" when @allow_oob), an object
 * "arguments" if any, and no other members besides "id".  Returns NULL
 * only for a successful command registered with QCO_NO_SUCCESS_RESP.
 * @request is borrowed.
 */
QDict *qmp_dispatch(const QmpCommandList *cmds, QObject *request,
                    bool allow_oob);

/* QMP error class of @err: GenericError unless its code says otherwise. */
const char *qmp_error_class(const GError *err);
/* {"error": {"class": ..., "desc": ...}}; takes ownership of @err. */
QDict *qmp_error_response(GError *err);

#endif
