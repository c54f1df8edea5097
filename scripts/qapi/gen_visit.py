"""qapi-visit.[ch]: QObject <-> C conversions (qapi_input_T/qapi_output_T).

With builtins=True: qapi-builtin-visit.[ch], the conversions of the
builtin list types.  The builtin scalars are hand-written
(qapi/qapi-visit-core.c).  See include/qapi/visit.h for the conventions.
"""

from .common import wrap_if, indent
from .gen import CFile, QTYPE_OF_JSON
from .schema import EnumType, ObjectType, AlternateType


def _in_proto(t):
    return (f"bool qapi_input_{t.c_name()}(QObject *src, const QapiPath *path,"
            f" {t.c_type()}{'' if t.is_pointer() else ' '}*out, "
            "GError **errp)")


def _out_proto(t):
    if t.is_pointer():
        return (f"QObject *qapi_output_{t.c_name()}"
                f"(const {t.c_type()}obj)")
    return f"QObject *qapi_output_{t.c_name()}({t.c_type()} value)"


def _members_protos(t):
    n = t.c_name()
    return (f"bool qapi_input_{n}_members(QDict *rest, const QapiPath *path, "
            f"{n} *obj, GError **errp);\n"
            f"void qapi_output_{n}_members(QDict *dst, const {n} *obj);\n")


def _protos(t):
    code = ""
    if isinstance(t, ObjectType):
        code += _members_protos(t)
    if not (isinstance(t, ObjectType) and t.is_implicit()):
        code += f"{_in_proto(t)};\n{_out_proto(t)};\n"
    return code + "\n"


# ---- input ----

def _member_input(m):
    """Takes member @m out of 'rest' and converts it into obj->NAME."""
    n = m.c_name()
    convert = (f"ok = qapi_input_{m.type.c_name()}(v, &p, &obj->{n}, errp);\n"
               "qobject_unref(v);\n"
               "if (!ok) {\n    return false;\n}\n")
    code = f'p.name = "{m.name}";\nv = qapi_dict_take(rest, p.name);\n'
    if m.optional:
        has = f"obj->has_{n} = true;\n" if m.need_has() else ""
        code += f"if (v) {{\n{indent(convert + has)}}}\n"
    else:
        code += ("if (!v) {\n    qapi_error_missing(errp, &p);\n"
                 f"    return false;\n}}\n{convert}")
    return wrap_if(m.ifcond, code)


def _members_input(t):
    n = t.c_name()
    body = ""
    if t.members:
        # Members that are all compiled out would leave these unused.
        unused = " G_GNUC_UNUSED" if any(m.ifcond for m in t.members) else ""
        body += (f"QapiPath p{unused} = {{ .parent = path }};\n"
                 f"QObject *v{unused};\nbool ok{unused};\n\n")
        body += "".join(_member_input(m) for m in t.members)
    if t.is_union():
        cases = ""
        for v in t.variants:
            if not v.type.members:
                continue
            cases += wrap_if(
                v.ifcond,
                f"case {t.tag_member.type.const(v.name)}:\n"
                f"    return qapi_input_{v.type.c_name()}_members(rest, path,"
                f" &obj->u.{v.c_name()}, errp);\n")
        if cases:
            body += (f"switch (obj->{t.tag_member.c_name()}) {{\n{cases}"
                     "default:\n    break;\n}\n")
    body += "return true;\n"
    return (f"bool qapi_input_{n}_members(QDict *rest, const QapiPath *path, "
            f"{n} *obj, GError **errp)\n{{\n{indent(body)}}}\n\n")


def _object_input(t):
    n = t.c_name()
    return (f"{_in_proto(t)}\n{{\n"
            "    QDict *rest = qapi_input_begin_object(src, path, errp);\n"
            f"    {n} *obj;\n    bool ok;\n\n"
            "    if (!rest) {\n        return false;\n    }\n"
            f"    obj = g_new0({n}, 1);\n"
            f"    ok = qapi_input_{n}_members(rest, path, obj, errp) &&\n"
            "         qapi_input_end_object(rest, path, errp);\n"
            "    qobject_unref(rest);\n"
            "    if (!ok) {\n"
            f"        qapi_free_{n}(obj);\n        return false;\n    }}\n"
            "    *out = obj;\n    return true;\n}\n\n")


def _enum_input(t):
    return (f"{_in_proto(t)}\n{{\n    int value;\n\n"
            f"    if (!qapi_input_enum(src, path, &{t.c_name()}_lookup, "
            "&value, errp)) {\n        return false;\n    }\n"
            f"    *out = ({t.c_name()})value;\n    return true;\n}}\n\n")


def _list_input(a):
    n = a.c_name()
    return (f"{_in_proto(a)}\n{{\n"
            "    QList *list = qapi_input_begin_list(src, path, errp);\n"
            f"    {n} *head = NULL, **tail = &head;\n"
            "    const QListEntry *e;\n    size_t i = 0;\n\n"
            "    if (!list) {\n        return false;\n    }\n"
            "    QLIST_FOREACH_ENTRY(list, e) {\n"
            "        QapiPath p = { .parent = path, .index = i++ };\n"
            f"        {n} *node = g_new0({n}, 1);\n\n"
            "        *tail = node;\n        tail = &node->next;\n"
            f"        if (!qapi_input_{a.element.c_name()}(qlist_entry_obj(e), "
            "&p, &node->value,\n"
            "                errp)) {\n"
            f"            qapi_free_{n}(head);\n            return false;\n"
            "        }\n    }\n    *out = head;\n    return true;\n}\n\n")


def _alternate_input(t):
    n = t.c_name()
    cases = ""
    for v in t.variants:
        qtype = QTYPE_OF_JSON[v.type.json_type()]
        cases += wrap_if(
            v.ifcond,
            f"case {qtype}:\n"
            f"    obj->type = {qtype};\n"
            f"    ok = qapi_input_{v.type.c_name()}(src, path, "
            f"&obj->u.{v.c_name()}, errp);\n    break;\n")
    return (f"{_in_proto(t)}\n{{\n"
            f"    {n} *obj = g_new0({n}, 1);\n    bool ok;\n\n"
            f"    switch (qobject_type(src)) {{\n{indent(cases)}"
            "    default:\n"
            f'        qapi_error_type(errp, path, "{t.name}");\n'
            "        ok = false;\n        break;\n    }\n"
            "    if (!ok) {\n"
            f"        qapi_free_{n}(obj);\n        return false;\n    }}\n"
            "    *out = obj;\n    return true;\n}\n\n")


# ---- output ----

def _member_output(m):
    n = m.c_name()
    put = (f'qdict_put_obj(dst, "{m.name}", '
           f"qapi_output_{m.type.c_name()}(obj->{n}));\n")
    if m.optional:
        if not m.need_has():
            test = f"obj->{n}"
        elif m.type.is_pointer():   # a list: non-empty, or present empty
            test = f"obj->has_{n} || obj->{n}"
        else:
            test = f"obj->has_{n}"
        put = f"if ({test}) {{\n{indent(put)}}}\n"
    return wrap_if(m.ifcond, put)


def _members_output(t):
    n = t.c_name()
    body = "".join(_member_output(m) for m in t.members)
    if t.is_union():
        cases = ""
        for v in t.variants:
            if not v.type.members:
                continue
            cases += wrap_if(
                v.ifcond,
                f"case {t.tag_member.type.const(v.name)}:\n"
                f"    qapi_output_{v.type.c_name()}_members(dst, "
                f"&obj->u.{v.c_name()});\n    break;\n")
        if cases:
            body += (f"switch (obj->{t.tag_member.c_name()}) {{\n{cases}"
                     "default:\n    break;\n}\n")
    return (f"void qapi_output_{n}_members(QDict *dst, const {n} *obj)\n"
            f"{{\n{indent(body)}}}\n\n")


def _object_output(t):
    n = t.c_name()
    return (f"{_out_proto(t)}\n{{\n    QDict *dst = qdict_new();\n\n"
            f"    if (obj) {{\n        qapi_output_{n}_members(dst, obj);\n"
            "    }\n    return QOBJECT(dst);\n}\n\n")


def _enum_output(t):
    return (f"{_out_proto(t)}\n{{\n"
            f"    return qapi_output_enum(&{t.c_name()}_lookup, value);\n}}\n\n")


def _list_output(a):
    return (f"{_out_proto(a)}\n{{\n    QList *list = qlist_new();\n\n"
            "    for (; obj; obj = obj->next) {\n"
            f"        qlist_append_obj(list, qapi_output_{a.element.c_name()}"
            "(obj->value));\n    }\n    return QOBJECT(list);\n}\n\n")


def _alternate_output(t):
    cases = ""
    for v in t.variants:
        qtype = QTYPE_OF_JSON[v.type.json_type()]
        cases += wrap_if(
            v.ifcond,
            f"case {qtype}:\n"
            f"    return qapi_output_{v.type.c_name()}(obj->u.{v.c_name()});\n")
    return (f"{_out_proto(t)}\n{{\n"
            "    if (!obj) {\n        return QOBJECT(qnull());\n    }\n"
            f"    switch (obj->type) {{\n{indent(cases)}"
            "    default:\n        return QOBJECT(qnull());\n    }\n}\n\n")


def _type_code(t):
    if isinstance(t, EnumType):
        return _enum_input(t) + _enum_output(t)
    if isinstance(t, AlternateType):
        return _alternate_input(t) + _alternate_output(t)
    code = _members_input(t) + _members_output(t)
    if not t.is_implicit():
        code += _object_input(t) + _object_output(t)
    return code


def gen_builtin_visit(schema):
    h = CFile("qapi-builtin-visit.h",
              "QObject conversions of the QAPI builtin list types")
    c = CFile("qapi-builtin-visit.c",
              "QObject conversions of the QAPI builtin list types")
    h.add('#include "qapi/visit.h"\n#include "qapi-builtin-types.h"\n\n')
    c.add('#include "qemu/osdep.h"\n#include "qapi-builtin-visit.h"\n\n')
    for a in schema.array_types(builtin=True):
        h.add(_protos(a))
        c.add(_list_input(a) + _list_output(a))
    return [h, c]


def gen_visit(schema, prefix):
    h = CFile(f"{prefix}qapi-visit.h", "QObject conversions of QAPI types")
    c = CFile(f"{prefix}qapi-visit.c", "QObject conversions of QAPI types")
    h.add('#include "qapi/visit.h"\n#include "qapi/qapi-builtin-visit.h"\n'
          f'#include "{prefix}qapi-types.h"\n\n')
    c.add(f'#include "qemu/osdep.h"\n#include "{prefix}qapi-visit.h"\n\n')
    types = [e for e in schema.entities
             if isinstance(e, (EnumType, ObjectType, AlternateType))]
    for t in types:
        h.add(_protos(t), t.ifcond)
        c.add(_type_code(t), t.ifcond)
    for a in schema.array_types(builtin=False):
        h.add(_protos(a), a.ifcond)
        c.add(_list_input(a) + _list_output(a), a.ifcond)
    return [h, c]
