"""qapi-commands.[ch]: prototypes of the qmp_NAME() functions the project
implements, their marshallers, and <prefix>qmp_init_marshal().

Calling convention of qmp_NAME() (as QEMU's):
  - parameters are the members of 'data', in order; a mandatory member is
    passed as its C type ('str' as const char *); an optional member whose
    C type is a pointer is passed as that pointer, NULL when absent (an
    empty list too: boxed arguments keep has_NAME for lists); any other
    optional member is passed as 'bool has_NAME, TYPE NAME';
  - with 'boxed': true the single parameter is 'ArgType *arg';
  - GError **errp comes last;
  - the return type is the C type of 'returns' (void without 'returns');
    the caller frees what is returned.  Arguments are freed by the caller
    after the call: copy what you keep.
"""

from .common import wrap_if, indent
from .gen import CFile
from .schema import Command


def params(ent, with_errp):
    """C parameter declarations (list of (text, ifcond)) and the matching
    argument expressions for a call, reading members of struct 'arg'."""
    decls, call = [], []
    if ent.arg_type is None:
        pass
    elif ent.boxed:
        decls.append((f"{ent.arg_type.c_name()} *arg", None))
        call.append(("&arg", None))
    else:
        for m in ent.arg_type.members:
            t = m.type.c_param_type()
            sep = "" if t.endswith("*") else " "
            if m.param_has():
                decls.append((f"bool has_{m.c_name()}, {t}{sep}{m.c_name()}",
                               m.ifcond))
                call.append((f"arg.has_{m.c_name()}, arg.{m.c_name()}",
                             m.ifcond))
            else:
                decls.append((f"{t}{sep}{m.c_name()}", m.ifcond))
                call.append((f"arg.{m.c_name()}", m.ifcond))
    if with_errp:
        decls.append(("GError **errp", None))
        call.append(("&err", None))
    return decls, call


def join_params(items):
    """'a, b, c'; one per line when some sit under #if (the last one,
    GError **errp for commands, never does)."""
    if not items:
        return "void"
    if not any(ifc for _, ifc in items):
        return ", ".join(text for text, _ in items)
    assert not items[-1][1]
    out = "\n"
    for text, ifc in items[:-1]:
        out += wrap_if(ifc, f"    {text},\n")
    return out + f"    {items[-1][0]}"


def _ret_decl(cmd):
    if cmd.ret_type is None:
        return "void "
    t = cmd.ret_type.c_type()
    return t if t.endswith("*") else t + " "


def _proto(cmd):
    decls, _ = params(cmd, True)
    return f"{_ret_decl(cmd)}qmp_{cmd.c_name()}({join_params(decls)})"


def _marshal_proto(cmd):
    return (f"void qmp_marshal_{cmd.c_name()}(QDict *args, QObject **ret, "
            "GError **errp)")


def _store_ret(cmd):
    """Code after a successful call: set *ret and free retval."""
    if not cmd.success_response:
        return (cmd.ret_type.free_code("retval") + "\n"
                if cmd.ret_type and cmd.ret_type.free_code("retval") else "")
    if cmd.ret_type is None:
        return "*ret = QOBJECT(qdict_new());\n"
    if cmd.ret_type.name == "any":
        return "*ret = retval ? retval : QOBJECT(qnull());\n"
    code = f"*ret = qapi_output_{cmd.ret_type.c_name()}(retval);\n"
    free = cmd.ret_type.free_code("retval")
    return code + (free + "\n" if free else "")


def _marshaller(cmd):
    _, call = params(cmd, True)
    has_args = cmd.arg_type is not None
    fail = "goto out;" if has_args else "return;"
    call_code = join_params(call)
    body = "GError *err = NULL;\n"
    body += "QDict *rest = args ? qdict_clone_shallow(args) : qdict_new();\n"
    if has_args:
        body += f"{cmd.arg_type.c_name()} arg;\n"
    if cmd.ret_type is not None:
        body += f"{_ret_decl(cmd)}retval;\n"
    body += "bool ok;\n\n"
    if has_args:
        body += ("memset(&arg, 0, sizeof(arg));\n"
                 f"ok = qapi_input_{cmd.arg_type.c_name()}_members(rest, NULL, "
                 "&arg, errp) &&\n"
                 "     qapi_input_end_object(rest, NULL, errp);\n")
    else:
        body += "ok = qapi_input_end_object(rest, NULL, errp);\n"
    body += f"qobject_unref(rest);\nif (!ok) {{\n    {fail}\n}}\n"
    assign = "retval = " if cmd.ret_type is not None else ""
    body += f"{assign}qmp_{cmd.c_name()}({call_code});\n"
    free = cmd.ret_type.free_code("retval") if cmd.ret_type else ""
    body += ("if (err) {\n" + (f"    {free}\n" if free else "") +
             f"    g_propagate_error(errp, err);\n    {fail}\n}}\n")
    body += _store_ret(cmd)
    code = f"{_marshal_proto(cmd)}\n{{\n{indent(body)}"
    if has_args:
        code += f"out:\n    qapi_free_{cmd.arg_type.c_name()}_members(&arg);\n"
    return code + "}\n\n"


def _options(cmd):
    opts = []
    if not cmd.success_response:
        opts.append("QCO_NO_SUCCESS_RESP")
    if cmd.allow_oob:
        opts.append("QCO_ALLOW_OOB")
    if cmd.allow_preconfig:
        opts.append("QCO_ALLOW_PRECONFIG")
    return " | ".join(opts) or "QCO_NO_OPTIONS"


def gen_commands(schema, prefix):
    h = CFile(f"{prefix}qapi-commands.h", "QMP commands of the QAPI schema")
    c = CFile(f"{prefix}qapi-commands.c", "QMP command marshallers")
    cprefix = prefix.replace("-", "_")
    h.add('#include "qapi/qmp-dispatch.h"\n'
          f'#include "{prefix}qapi-types.h"\n\n')
    c.add('#include "qemu/osdep.h"\n'
          f'#include "{prefix}qapi-commands.h"\n'
          f'#include "{prefix}qapi-visit.h"\n\n')
    reg = ""
    for cmd in schema.of(Command):
        code = ""
        if cmd.gen:
            code += _proto(cmd) + ";\n"
        else:
            code += "/* Hand-written marshaller ('gen': false): */\n"
        code += _marshal_proto(cmd) + ";\n\n"
        h.add(code, cmd.ifcond)
        if cmd.gen:
            c.add(_marshaller(cmd), cmd.ifcond)
        reg += wrap_if(cmd.ifcond,
                       f'qmp_register_command(cmds, "{cmd.name}",\n'
                       f"                     qmp_marshal_{cmd.c_name()}, "
                       f"{_options(cmd)});\n")
    h.add("/* Registers every command of the schema into @cmds. */\n"
          f"void {cprefix}qmp_init_marshal(QmpCommandList *cmds);\n")
    c.add(f"void {cprefix}qmp_init_marshal(QmpCommandList *cmds)\n"
          f"{{\n{indent(reg)}}}\n")
    return [h, c]
