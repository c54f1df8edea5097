"""qapi-types.[ch]: C types for the schema's types, and their free
functions.  With builtins=True: qapi-builtin-types.[ch], the list types of
the builtin types (shared by every schema in the build)."""

from .common import wrap_if, indent
from .gen import CFile, QTYPE_OF_JSON
from .schema import EnumType, ObjectType, AlternateType


def _enum_decl(t):
    lines = [f"typedef enum {t.c_name()} {{\n"]
    for m in t.members:
        lines.append(wrap_if(m.ifcond, f"    {t.const(m.name)},\n"))
    lines.append(f"    {t.max_const()},\n}} {t.c_name()};\n\n")
    lines.append(f"extern const char *const {t.c_name()}_str"
                 f"[{t.max_const()} + 1];\n")
    lines.append(f"extern const QEnumLookup {t.c_name()}_lookup;\n\n")
    return "".join(lines)


def _enum_def(t):
    lines = [f"const char *const {t.c_name()}_str[{t.max_const()} + 1] = {{\n"]
    for m in t.members:
        lines.append(wrap_if(m.ifcond,
                             f"    [{t.const(m.name)}] = \"{m.name}\",\n"))
    lines.append(f"    [{t.max_const()}] = NULL,\n}};\n\n")
    lines.append(f"const QEnumLookup {t.c_name()}_lookup = {{\n"
                 f"    .array = {t.c_name()}_str,\n"
                 f"    .size = {t.max_const()},\n}};\n\n")
    return "".join(lines)


def _member_fields(members):
    out = []
    for m in members:
        code = ""
        if m.need_has():
            code += f"bool has_{m.c_name()};\n"
        code += f"{m.type.c_type()}{_sep(m.type.c_type())}{m.c_name()};\n"
        out.append(wrap_if(m.ifcond, code))
    return "".join(out)


def _sep(c_type):
    return "" if c_type.endswith("*") else " "


def _object_decl(t):
    body = _member_fields(t.members)
    if t.is_union():
        branches = "".join(
            wrap_if(v.ifcond, f"{v.type.c_name()} {v.c_name()};\n")
            for v in t.variants if v.type.members)
        if branches:
            body += (f"union {{ /* union tag is @{t.tag_member.c_name()} */\n"
                     f"{indent(branches)}}} u;\n")
    if not body.strip():
        body = "char qapi_dummy_for_empty_struct;\n"
    return f"struct {t.c_name()} {{\n{indent(body)}}};\n\n"


def _alternate_decl(t):
    branches = "".join(
        wrap_if(v.ifcond, f"{v.type.c_type()}{_sep(v.type.c_type())}"
                f"{v.c_name()};\n")
        for v in t.variants)
    return (f"struct {t.c_name()} {{\n    QType type;\n"
            f"    union {{\n{indent(branches, 2)}    }} u;\n}};\n\n")


def _list_decl(a):
    el = a.element.c_type()
    return (f"struct {a.c_name()} {{\n    struct {a.c_name()} *next;\n"
            f"    {el}{_sep(el)}value;\n}};\n\n")


def _free_protos(t):
    n = t.c_name()
    code = f"void qapi_free_{n}({n} *obj);\n"
    if isinstance(t, ObjectType):
        code += f"void qapi_free_{n}_members({n} *obj);\n"
    if not (isinstance(t, ObjectType) and t.is_implicit()):
        code += f"G_DEFINE_AUTOPTR_CLEANUP_FUNC({n}, qapi_free_{n})\n"
    if isinstance(t, ObjectType) and t.base and not t.base.is_implicit():
        b = t.base.c_name()
        code += (f"/* A {n} starts with the members of its base {b}. */\n"
                 f"static inline {b} *qapi_{n}_base(const {n} *obj)\n"
                 f"{{\n    return ({b} *)obj;\n}}\n")
    return code + "\n"


def _free_members_code(t):
    code = ""
    for m in t.members:
        stmt = m.type.free_code(f"obj->{m.c_name()}")
        if stmt:
            code += wrap_if(m.ifcond, stmt + "\n")
    if t.is_union():
        cases = ""
        for v in t.variants:
            if not v.type.members:
                continue
            cases += wrap_if(v.ifcond,
                             f"case {t.tag_member.type.const(v.name)}:\n"
                             f"    qapi_free_{v.type.c_name()}_members("
                             f"&obj->u.{v.c_name()});\n    break;\n")
        if cases:
            code += (f"switch (obj->{t.tag_member.c_name()}) {{\n{cases}"
                     "default:\n    break;\n}\n")
    return code


def _object_free(t):
    n = t.c_name()
    return (f"void qapi_free_{n}_members({n} *obj)\n{{\n"
            f"{indent(_free_members_code(t))}}}\n\n"
            f"void qapi_free_{n}({n} *obj)\n{{\n"
            f"    if (!obj) {{\n        return;\n    }}\n"
            f"    qapi_free_{n}_members(obj);\n    g_free(obj);\n}}\n\n")


def _alternate_free(t):
    n = t.c_name()
    cases = ""
    for v in t.variants:
        stmt = v.type.free_code(f"obj->u.{v.c_name()}")
        if stmt:
            cases += wrap_if(v.ifcond,
                             f"case {QTYPE_OF_JSON[v.type.json_type()]}:\n"
                             f"    {stmt}\n    break;\n")
    switch = ""
    if cases:
        switch = indent(f"switch (obj->type) {{\n{cases}default:\n"
                        "    break;\n}\n")
    return (f"void qapi_free_{n}({n} *obj)\n{{\n"
            f"    if (!obj) {{\n        return;\n    }}\n"
            f"{switch}    g_free(obj);\n}}\n\n")


def _list_free(a):
    n = a.c_name()
    stmt = a.element.free_code("obj->value")
    stmt = f"        {stmt}\n" if stmt else ""
    return (f"void qapi_free_{n}({n} *obj)\n{{\n"
            f"    while (obj) {{\n        {n} *next = obj->next;\n\n"
            f"{stmt}        g_free(obj);\n        obj = next;\n    }}\n}}\n\n")


def _list_protos(a):
    n = a.c_name()
    return (f"void qapi_free_{n}({n} *obj);\n"
            f"G_DEFINE_AUTOPTR_CLEANUP_FUNC({n}, qapi_free_{n})\n\n")


def _definition_order(objects):
    """Objects in schema order, except that a union comes after the
    structs it embeds by value (its branches)."""
    done, out = set(), []

    def visit(t):
        if t.name in done:
            return
        done.add(t.name)
        if isinstance(t, ObjectType) and t.is_union():
            for v in t.variants:
                visit(v.type)
        out.append(t)
    for t in objects:
        visit(t)
    return out


def gen_builtin_types(schema):
    h = CFile("qapi-builtin-types.h", "List types of the QAPI builtin types")
    c = CFile("qapi-builtin-types.c", "List types of the QAPI builtin types")
    h.add('#include "qapi/util.h"\n\n')
    c.add('#include "qemu/osdep.h"\n#include "qapi-builtin-types.h"\n\n')
    for a in schema.array_types(builtin=True):
        h.add(f"typedef struct {a.c_name()} {a.c_name()};\n")
    h.add("\n")
    for a in schema.array_types(builtin=True):
        h.add(_list_decl(a) + _list_protos(a))
        c.add(_list_free(a))
    return [h, c]


def gen_types(schema, prefix):
    h = CFile(f"{prefix}qapi-types.h", "C types of the QAPI schema")
    c = CFile(f"{prefix}qapi-types.c", "C types of the QAPI schema")
    h.add('#include "qapi/util.h"\n#include "qapi/qapi-builtin-types.h"\n\n')
    c.add(f'#include "qemu/osdep.h"\n#include "{prefix}qapi-types.h"\n\n')

    types = [e for e in schema.entities
             if isinstance(e, (EnumType, ObjectType, AlternateType))]
    arrays = schema.array_types(builtin=False)

    h.add("/* Enumerations */\n\n")
    for t in types:
        if isinstance(t, EnumType):
            h.add(_enum_decl(t), t.ifcond)
            c.add(_enum_def(t), t.ifcond)

    h.add("/* Structures, unions, alternates and lists */\n\n")
    for t in types:
        if not isinstance(t, EnumType):
            h.add(f"typedef struct {t.c_name()} {t.c_name()};\n", t.ifcond)
    for a in arrays:
        h.add(f"typedef struct {a.c_name()} {a.c_name()};\n", a.ifcond)
    h.add("\n")
    for a in arrays:
        h.add(_list_decl(a), a.ifcond)
    objects = [t for t in types if not isinstance(t, EnumType)]
    for t in _definition_order(objects):
        if isinstance(t, ObjectType):
            h.add(_object_decl(t), t.ifcond)
        else:
            h.add(_alternate_decl(t), t.ifcond)

    h.add("/* Deep free functions (NULL is fine) */\n\n")
    for t in objects:
        h.add(_free_protos(t), t.ifcond)
        if isinstance(t, ObjectType):
            c.add(_object_free(t), t.ifcond)
        else:
            c.add(_alternate_free(t), t.ifcond)
    for a in arrays:
        h.add(_list_protos(a), a.ifcond)
        c.add(_list_free(a), a.ifcond)
    return [h, c]
