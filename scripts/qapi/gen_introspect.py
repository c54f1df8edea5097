"""qapi-introspect.[ch]: the data of query-qmp-schema.

The generated C file holds the SchemaInfo list as one JSON string that is
parsed on first use.  Type names are not obfuscated.  Conditional parts
(entities, members, enum values, branches, features under 'if') are
wrapped in the JSON as {"__if": N, "__v": PART}; N indexes a table of
booleans whose values the C preprocessor computes from the same
conditions, and qapi_introspect_load() drops the parts whose condition is
false (and unwraps the others).  So the data always matches what was
compiled in.

What is included (as QEMU): every command and event, and every type they
reach, plus 'q_empty' (the empty object used as the argument type of
commands without arguments and the return type of commands without
'returns').  All integer builtins appear as 'int'.  An optional member has
"default": null.
"""

import json

from .common import c_string
from .gen import CFile
from .schema import (Command, Event, BuiltinType, EnumType, ArrayType,
                     ObjectType, AlternateType)


class _Cond:
    def __init__(self, ifcond, value):
        self.ifcond = ifcond
        self.value = value


class _Introspector:
    def __init__(self, schema):
        self.schema = schema
        self.entries = []
        self.emitted = set()
        self.queue = []
        self.conds = []

    def cond(self, ifcond, value):
        return _Cond(ifcond, value) if ifcond else value

    def use(self, t):
        """Name of type @t in the output; queues its definition."""
        if t is None:
            name = "q_empty"
        else:
            name = t.intro_name()
            if isinstance(t, BuiltinType) and t.json_type() == "int":
                t = self.schema.types["int"]
            elif isinstance(t, ArrayType) and t.element.builtin:
                t = self.schema.types[t.element.intro_name() + "List"]
        if name not in self.emitted:
            self.emitted.add(name)
            self.queue.append(t)
        return name

    def features(self, obj, features):
        if features:
            obj["features"] = [self.cond(f.ifcond, f.name) for f in features]
        return obj

    def member(self, m):
        obj = {"name": m.name, "type": self.use(m.type)}
        if m.optional:
            obj["default"] = None
        return self.cond(m.ifcond, self.features(obj, m.features))

    def type_entry(self, t):
        if t is None:
            return {"name": "q_empty", "meta-type": "object", "members": []}
        obj = {"name": t.intro_name(), "meta-type": t.meta}
        if isinstance(t, BuiltinType):
            obj["json-type"] = t.json_type()
        elif isinstance(t, EnumType):
            obj["members"] = [
                self.cond(m.ifcond, self.features({"name": m.name},
                                                  m.features))
                for m in t.members]
            obj["values"] = [self.cond(m.ifcond, m.name) for m in t.members]
        elif isinstance(t, ArrayType):
            obj["element-type"] = self.use(t.element)
        elif isinstance(t, ObjectType):
            obj["members"] = [self.member(m) for m in t.members]
            if t.is_union():
                obj["tag"] = t.tag_member.name
                obj["variants"] = [
                    self.cond(v.ifcond, {"case": v.name,
                                         "type": self.use(v.type)})
                    for v in t.all_variants()]
        elif isinstance(t, AlternateType):
            obj["members"] = [self.cond(v.ifcond, {"type": self.use(v.type)})
                              for v in t.variants]
        ifcond = t.ifcond if not isinstance(t, BuiltinType) else None
        return self.cond(ifcond, self.features(obj, t.features))

    def build(self):
        for ent in self.schema.entities:
            if isinstance(ent, Command):
                obj = {"name": ent.name, "meta-type": "command",
                       "arg-type": self.use(ent.arg_type),
                       "ret-type": self.use(ent.ret_type)}
                if ent.allow_oob:
                    obj["allow-oob"] = True
            elif isinstance(ent, Event):
                obj = {"name": ent.name, "meta-type": "event",
                       "arg-type": self.use(ent.arg_type)}
            else:
                continue
            self.entries.append(self.cond(ent.ifcond,
                                          self.features(obj, ent.features)))
        while self.queue:
            self.entries.append(self.type_entry(self.queue.pop(0)))
        return self.entries

    def to_plain(self, v):
        """Replace _Cond wrappers by {"__if": index, "__v": value}."""
        if isinstance(v, _Cond):
            if v.ifcond not in self.conds:
                self.conds.append(v.ifcond)
            return {"__if": self.conds.index(v.ifcond) + 1,
                    "__v": self.to_plain(v.value)}
        if isinstance(v, dict):
            return {k: self.to_plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.to_plain(x) for x in v]
        return v


def gen_introspect(schema, prefix):
    cprefix = prefix.replace("-", "_")
    h = CFile(f"{prefix}qapi-introspect.h",
              "query-qmp-schema data of the QAPI schema")
    c = CFile(f"{prefix}qapi-introspect.c",
              "query-qmp-schema data of the QAPI schema")
    h.add('#include "qobject/qobject.h"\n\n'
          "/* The SchemaInfo list (a new reference; parsed once). */\n"
          f"QObject *{cprefix}qmp_schema_qobject(void);\n")

    intro = _Introspector(schema)
    entries = [intro.to_plain(e) for e in intro.build()]
    lines = []
    for i, e in enumerate(entries):
        text = json.dumps(e, separators=(", ", ": "))
        sep = "," if i < len(entries) - 1 else ""
        lines.append(f'    "{c_string(text + sep)}\\n"\n')
    conds = "".join(f"#if {ic.c_expr()}\n    true,\n#else\n    false,\n"
                    f"#endif\n" for ic in intro.conds)
    c.add('#include "qemu/osdep.h"\n#include "qapi/introspect.h"\n'
          f'#include "{prefix}qapi-introspect.h"\n\n'
          "static const char schema_json[] =\n    \"[\\n\"\n"
          + "".join(lines) + "    \"]\";\n\n"
          "/* Values of the 'if' conditions; index 0 is unused. */\n"
          "static const bool schema_conds[] = {\n    true,\n"
          + conds + "};\n\n"
          f"QObject *{cprefix}qmp_schema_qobject(void)\n{{\n"
          "    static gsize once;\n    static QObject *schema;\n\n"
          "    if (g_once_init_enter(&once)) {\n"
          "        schema = qapi_introspect_load(schema_json, schema_conds,\n"
          "                                      G_N_ELEMENTS(schema_conds));\n"
          "        g_once_init_leave(&once, 1);\n    }\n"
          "    return qobject_ref(schema);\n}\n")
    return [h, c]
