/*
 * QMP command table and request dispatch (see include/qapi/qmp-dispatch.h).
 * The request checks and their messages follow QEMU, so clients that
 * parse error text see what they expect.
 */
#include "qemu/osdep.h"
#include "qapi/qmp-dispatch.h"
#include "qobject/qstring.h"

static void qmp_command_free(gpointer data)
{
    QmpCommand *cmd = data;

    g_free(cmd->name);
    g_free(cmd);
}

void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc *fn, QmpCommandOptions options)
{
    QmpCommand *cmd;

    if (!cmds->by_name) {
        cmds->by_name = g_hash_table_new(g_str_hash, g_str_equal);
        cmds->order = g_ptr_array_new_with_free_func(qmp_command_free);
    }
    cmd = g_hash_table_lookup(cmds->by_name, name);
    if (!cmd) {
        cmd = g_new0(QmpCommand, 1);
        cmd->name = g_strdup(name);
        g_ptr_array_add(cmds->order, cmd);
        g_hash_table_insert(cmds->by_name, cmd->name, cmd);
    }
    cmd->fn = fn;
    cmd->options = options;
    cmd->enabled = true;
}

const QmpCommand *qmp_find_command(const QmpCommandList *cmds,
                                   const char *name)
{
    return cmds->by_name ? g_hash_table_lookup(cmds->by_name, name) : NULL;
}

static bool qmp_set_enabled(QmpCommandList *cmds, const char *name,
                            bool enabled)
{
    QmpCommand *cmd = (QmpCommand *)qmp_find_command(cmds, name);

    if (cmd) {
        cmd->enabled = enabled;
    }
    return cmd != NULL;
}

bool qmp_disable_command(QmpCommandList *cmds, const char *name)
{
    return qmp_set_enabled(cmds, name, false);
}

bool qmp_enable_command(QmpCommandList *cmds, const char *name)
{
    return qmp_set_enabled(cmds, name, true);
}

void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque)
{
    for (guint i = 0; cmds->order && i < cmds->order->len; i++) {
        fn(g_ptr_array_index(cmds->order, i), opaque);
    }
}

void qmp_command_list_destroy(QmpCommandList *cmds)
{
    if (cmds->by_name) {
        g_hash_table_destroy(cmds->by_name);
        g_ptr_array_free(cmds->order, true);
    }
    cmds->by_name = NULL;
    cmds->order = NULL;
}

const char *qmp_error_class(const GError *err)
{
    if (err->domain == KVMPC_ERROR) {
        switch ((KvmpcErrorCode)err->code) {
        case KVMPC_ERROR_GENERIC:
            return "GenericError";
        case KVMPC_ERROR_COMMAND_NOT_FOUND:
            return "CommandNotFound";
        case KVMPC_ERROR_DEVICE_NOT_FOUND:
            return "DeviceNotFound";
        case KVMPC_ERROR_DEVICE_NOT_ACTIVE:
            return "DeviceNotActive";
        case KVMPC_ERROR_KVM_MISSING_CAP:
            return "KVMMissingCap";
        }
    }
    return "GenericError";
}

QDict *qmp_error_response(GError *err)
{
    QDict *error = qdict_new();
    QDict *rsp = qdict_new();

    qdict_put_str(error, "class", qmp_error_class(err));
    qdict_put_str(error, "desc", err->message);
    qdict_put(rsp, "error", error);
    g_error_free(err);
    return rsp;
}

/*
 * Checks the members of a request; returns the command name, borrowed
 * from @dict, and whether it came as "exec-oob".
 */
static const char *check_request(QDict *dict, bool allow_oob, bool *oob,
                                 GError **errp)
{
    const char *exec_key = NULL;
    const QDictEntry *e;

    for (e = qdict_first(dict); e; e = qdict_next(dict, e)) {
        const char *key = qdict_entry_key(e);
        QObject *value = qdict_entry_value(e);

        if (!strcmp(key, "execute") ||
            (allow_oob && !strcmp(key, "exec-oob"))) {
            if (qobject_type(value) != QTYPE_QSTRING) {
                error_setg(errp, "QMP input member '%s' must be a string",
                           key);
                return NULL;
            }
            if (exec_key) {
                error_setg(errp, "QMP input member '%s' clashes with '%s'",
                           key, exec_key);
                return NULL;
            }
            exec_key = key;
        } else if (!strcmp(key, "arguments")) {
            if (qobject_type(value) != QTYPE_QDICT) {
                error_setg(errp,
                           "QMP input member 'arguments' must be an object");
                return NULL;
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    if (!exec_key) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return NULL;
    }
    *oob = !strcmp(exec_key, "exec-oob");
    return qdict_get_str(dict, exec_key);
}

/* Runs the request; returns the "return" value or NULL with @errp set. */
static QObject *run_request(const QmpCommandList *cmds, QDict *dict,
                            bool allow_oob, bool *no_reply, GError **errp)
{
    const QmpCommand *cmd;
    const char *name;
    QDict *args;
    QObject *ret = NULL;
    GError *err = NULL;
    bool oob;

    name = check_request(dict, allow_oob, &oob, errp);
    if (!name) {
        return NULL;
    }
    cmd = qmp_find_command(cmds, name);
    if (!cmd) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has not been found", name);
        return NULL;
    }
    if (!cmd->enabled) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has been disabled for this instance",
                    name);
        return NULL;
    }
    if (oob && !(cmd->options & QCO_ALLOW_OOB)) {
        error_setg(errp, "The command %s does not support OOB", name);
        return NULL;
    }

    args = qobject_to(QDict, qdict_get(dict, "arguments"));
    args = args ? qobject_ref(args) : qdict_new();
    cmd->fn(args, &ret, &err);
    qobject_unref(args);
    if (err) {
        qobject_unref(ret);
        g_propagate_error(errp, err);
        return NULL;
    }
    if (cmd->options & QCO_NO_SUCCESS_RESP) {
        qobject_unref(ret);
        *no_reply = true;
        return NULL;
    }
    return ret ? ret : QOBJECT(qdict_new());
}

QDict *qmp_dispatch(const QmpCommandList *cmds, QObject *request,
                    bool allow_oob)
{
    QDict *dict = qobject_to(QDict, request);
    QObject *id = dict ? qdict_get(dict, "id") : NULL;
    GError *err = NULL;
    bool no_reply = false;
    QObject *ret = NULL;
    QDict *rsp;

    if (!dict) {
        error_setg(&err, "QMP input must be a JSON object");
    } else {
        ret = run_request(cmds, dict, allow_oob, &no_reply, &err);
    }
    if (no_reply) {
        return NULL;
    }
    if (err) {
        rsp = qmp_error_response(err);
    } else {
        rsp = qdict_new();
        qdict_put_obj(rsp, "return", ret);
    }
    if (id) {
        qdict_put_obj(rsp, "id", qobject_ref(id));
    }
    return rsp;
}
