"""The checked schema: types, commands and events as Python objects.

Schema(fname) reads the schema (with its includes), checks it, and offers
lists of entities in definition order for the generators.
"""

import re

from .common import (QAPIError, IfCond, c_name, c_enum_const, camel_to_upper,
                     check_ifcond)
from .parser import parse_schema


class Feature:
    def __init__(self, name, ifcond):
        self.name = name
        self.ifcond = ifcond


class Entity:
    def __init__(self, name, info, ifcond=None, features=()):
        self.name = name
        self.info = info
        self.ifcond = ifcond or IfCond()
        self.features = list(features)


# ---- types ----

class Type(Entity):
    meta = None
    builtin = False

    def c_name(self):
        """Base C name: the struct/enum name and function-name suffix."""
        return c_name(self.name)

    def c_type(self):
        """C type of a member or list element of this type."""
        raise NotImplementedError

    def c_param_type(self):
        """C type of a command/event parameter of this type."""
        return self.c_type()

    def is_pointer(self):
        return self.c_type().endswith("*")

    def json_type(self):
        raise NotImplementedError

    def intro_name(self):
        """Name used in query-qmp-schema."""
        return self.name

    def free_code(self, expr):
        """C statement freeing a value @expr of this type ('' if none)."""
        return ""


class BuiltinType(Type):
    meta = "builtin"
    builtin = True

    def __init__(self, name, c_type, json_type):
        super().__init__(name, None)
        self._c_type = c_type
        self._json_type = json_type

    def c_name(self):
        return self.name

    def c_type(self):
        return self._c_type

    def c_param_type(self):
        return "const char *" if self.name == "str" else self._c_type

    def json_type(self):
        return self._json_type

    def intro_name(self):
        # Introspection does not tell integer widths apart (as QEMU).
        return "int" if self._json_type == "int" else self.name

    def free_code(self, expr):
        if self.name == "str":
            return f"g_free({expr});"
        if self.name in ("any", "null"):
            return f"qobject_unref({expr});"
        return ""


BUILTINS = [
    ("str", "char *", "string"),
    ("number", "double", "number"),
    ("int", "int64_t", "int"),
    ("int8", "int8_t", "int"),
    ("int16", "int16_t", "int"),
    ("int32", "int32_t", "int"),
    ("int64", "int64_t", "int"),
    ("uint8", "uint8_t", "int"),
    ("uint16", "uint16_t", "int"),
    ("uint32", "uint32_t", "int"),
    ("uint64", "uint64_t", "int"),
    ("size", "uint64_t", "int"),
    ("bool", "bool", "boolean"),
    ("null", "QNull *", "null"),
    ("any", "QObject *", "value"),
]


class EnumMember:
    def __init__(self, name, ifcond, features):
        self.name = name
        self.ifcond = ifcond
        self.features = features


class EnumType(Type):
    meta = "enum"

    def __init__(self, name, info, ifcond, features, members, prefix):
        super().__init__(name, info, ifcond, features)
        self.members = members
        self.prefix = prefix

    def c_type(self):
        return self.c_name()

    def json_type(self):
        return "string"

    def const(self, value):
        return c_enum_const(self.name, value, self.prefix)

    def max_const(self):
        base = self.prefix if self.prefix is not None \
            else camel_to_upper(self.name)
        return f"{base}__MAX"

    def member_names(self):
        return [m.name for m in self.members]


class ArrayType(Type):
    meta = "array"

    def __init__(self, element):
        super().__init__(element.name + "List", element.info, element.ifcond)
        self.element = element
        self.builtin = element.builtin

    def c_name(self):
        return self.element.c_name() + "List"

    def c_type(self):
        return self.c_name() + " *"

    def json_type(self):
        return "array"

    def intro_name(self):
        return f"[{self.element.intro_name()}]"

    def free_code(self, expr):
        return f"qapi_free_{self.c_name()}({expr});"


class Member:
    def __init__(self, name, type_ref, optional, ifcond, features, info):
        self.name = name
        self.type_ref = type_ref
        self.type = None
        self.optional = optional
        self.ifcond = ifcond
        self.features = features
        self.info = info

    def c_name(self):
        return c_name(self.name)

    def need_has(self):
        """Optional members that cannot be NULL get a has_ flag; so do
        optional lists, where NULL is also the empty list: has_NAME with
        a NULL list is a present, empty one ("NAME": [], as QEMU 7.2
        keeps it), which the input visitor sets and the output visitor
        emits.  A non-empty list is present without the flag."""
        return self.optional and (not self.type.is_pointer() or
                                  isinstance(self.type, ArrayType))

    def param_has(self):
        """A 'bool has_NAME' parameter of commands and events: optional
        members that cannot be NULL.  An optional list is passed as its
        pointer alone (NULL: absent or empty); a command that must tell
        the two apart takes its arguments 'boxed'."""
        return self.optional and not self.type.is_pointer()


class Variant:
    """A union branch (or an alternate branch)."""

    def __init__(self, name, type_ref, ifcond, info):
        self.name = name
        self.type_ref = type_ref
        self.type = None
        self.ifcond = ifcond
        self.info = info

    def c_name(self):
        return c_name(self.name)


class ObjectType(Type):
    """A struct, a union (struct with variants) or an implicit type."""
    meta = "object"

    def __init__(self, name, info, ifcond, features, base_ref, members,
                 tag_name=None, variants=None):
        super().__init__(name, info, ifcond, features)
        self.base_ref = base_ref
        self.base = None
        self.local_members = members
        self.members = None             # base members + local members
        self.tag_name = tag_name
        self.tag_member = None
        self.variants = variants        # list of Variant, or None
        self._checking = False

    def is_implicit(self):
        return self.name.startswith("q_")

    def is_union(self):
        return self.variants is not None

    def c_type(self):
        return self.c_name() + " *"

    def json_type(self):
        return "object"

    def free_code(self, expr):
        return f"qapi_free_{self.c_name()}({expr});"

    def all_variants(self):
        """Union branches for every tag value; None type = no members."""
        given = {v.name: v for v in self.variants}
        out = []
        for m in self.tag_member.type.members:
            v = given.get(m.name)
            out.append(v if v else Variant(m.name, None, m.ifcond, None))
        return out


class AlternateType(Type):
    meta = "alternate"

    def __init__(self, name, info, ifcond, features, variants):
        super().__init__(name, info, ifcond, features)
        self.variants = variants

    def c_type(self):
        return self.c_name() + " *"

    def json_type(self):
        return "value"

    def free_code(self, expr):
        return f"qapi_free_{self.c_name()}({expr});"


# ---- commands and events ----

class Command(Entity):
    meta = "command"

    def __init__(self, name, info, ifcond, features, arg_ref, ret_ref, boxed,
                 gen, success_response, allow_oob, allow_preconfig):
        super().__init__(name, info, ifcond, features)
        self.arg_ref = arg_ref
        self.arg_type = None
        self.ret_ref = ret_ref
        self.ret_type = None
        self.boxed = boxed
        self.gen = gen
        self.success_response = success_response
        self.allow_oob = allow_oob
        self.allow_preconfig = allow_preconfig

    def c_name(self):
        return c_name(self.name)


class Event(Entity):
    meta = "event"

    def __init__(self, name, info, ifcond, features, arg_ref, boxed):
        super().__init__(name, info, ifcond, features)
        self.arg_ref = arg_ref
        self.arg_type = None
        self.boxed = boxed

    def c_name(self):
        return c_name(self.name).lower()


# ---- reading and checking ----

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_MEMBER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

_KEYS = {
    "enum": {"enum", "data", "prefix", "if", "features"},
    "struct": {"struct", "data", "base", "if", "features"},
    "union": {"union", "base", "discriminator", "data", "if", "features"},
    "alternate": {"alternate", "data", "if", "features"},
    "command": {"command", "data", "returns", "boxed", "gen",
                "success-response", "allow-oob", "allow-preconfig",
                "coroutine", "if", "features"},
    "event": {"event", "data", "boxed", "if", "features"},
}
_REQUIRED = {
    "enum": {"data"},
    "struct": {"data"},
    "union": {"base", "discriminator", "data"},
    "alternate": {"data"},
    "command": set(),
    "event": set(),
}


def _check_bool(expr, key, info, default):
    val = expr.get(key, default)
    if not isinstance(val, bool):
        raise QAPIError(info, f"'{key}' must be true or false")
    return val


def _features(expr, info, where):
    raw = expr.get("features", [])
    if not isinstance(raw, list):
        raise QAPIError(info, f"{where}: 'features' must be a list")
    out = []
    for f in raw:
        if isinstance(f, str):
            f = {"name": f}
        if (not isinstance(f, dict) or not isinstance(f.get("name"), str)
                or set(f) - {"name", "if"}):
            raise QAPIError(info, f"{where}: invalid feature {f!r}")
        out.append(Feature(f["name"], check_ifcond(f.get("if"), info,
                                                   where)))
    return out


def _type_ref(ref, info, where):
    """A type reference: 'Name' or ['Name'] (an array)."""
    if isinstance(ref, str):
        return ref
    if (isinstance(ref, list) and len(ref) == 1
            and isinstance(ref[0], str)):
        return ref
    raise QAPIError(info, f"{where}: a type must be a name or [name]")


class Schema:
    def __init__(self, fname):
        exprs, self.files = parse_schema(fname)
        self.types = {}             # name -> Type (incl. builtins, arrays)
        self.entities = []          # non-builtin entities, in order
        self._names = {}            # every defined name -> info
        for name, c_type, json_type in BUILTINS:
            t = BuiltinType(name, c_type, json_type)
            self.types[name] = t
            self.types[t.name + "List"] = ArrayType(t)
        for expr, info in exprs:
            self._define(expr, info)
        self._check()

    # -- definitions --

    def _add(self, ent):
        if ent.name in self._names or ent.name in self.types:
            raise QAPIError(ent.info, f"'{ent.name}' is already defined")
        self._names[ent.name] = ent.info
        self.entities.append(ent)
        if isinstance(ent, Type):
            self.types[ent.name] = ent
            if not (isinstance(ent, ObjectType) and ent.is_implicit()):
                self.types[ent.name + "List"] = ArrayType(ent)

    def _define(self, expr, info):
        metas = [k for k in _KEYS if k in expr]
        if len(metas) != 1:
            raise QAPIError(info, "expression must have exactly one of "
                            "'enum', 'struct', 'union', 'alternate', "
                            "'command', 'event'")
        meta = metas[0]
        name = expr[meta]
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise QAPIError(info, f"invalid {meta} name {name!r}")
        where = f"{meta} '{name}'"
        if set(expr) - _KEYS[meta]:
            bad = sorted(set(expr) - _KEYS[meta])
            raise QAPIError(info, f"{where}: unknown key(s) {bad}")
        if _REQUIRED[meta] - set(expr):
            missing = sorted(_REQUIRED[meta] - set(expr))
            raise QAPIError(info, f"{where}: missing key(s) {missing}")
        if meta in ("enum", "struct", "union", "alternate"):
            if name.startswith("q_") or name.endswith("List"):
                raise QAPIError(info, f"{where}: type names must not start "
                                "with 'q_' or end with 'List'")
        ifcond = check_ifcond(expr.get("if"), info, where)
        features = _features(expr, info, where)
        getattr(self, "_def_" + meta)(expr, info, name, ifcond, features,
                                      where)

    def _members(self, data, info, where):
        if not isinstance(data, dict):
            raise QAPIError(info, f"{where}: 'data' must be an object")
        out = []
        for key, spec in data.items():
            optional = key.startswith("*")
            mname = key[1:] if optional else key
            if not _MEMBER_RE.fullmatch(mname):
                raise QAPIError(info, f"{where}: invalid member name "
                                f"'{mname}'")
            if mname.startswith("has_") or mname.startswith("has-"):
                raise QAPIError(info, f"{where}: member name '{mname}' "
                                "must not start with 'has'")
            ifcond, features = IfCond(), []
            if isinstance(spec, dict):
                if "type" not in spec or set(spec) - {"type", "if",
                                                      "features"}:
                    raise QAPIError(info, f"{where}: member '{mname}' "
                                    "needs 'type' (and only 'if', "
                                    "'features' besides)")
                ifcond = check_ifcond(spec.get("if"), info,
                                      f"{where} member '{mname}'")
                features = _features(spec, info, f"{where} member "
                                     f"'{mname}'")
                spec = spec["type"]
            ref = _type_ref(spec, info, f"{where} member '{mname}'")
            out.append(Member(mname, ref, optional, ifcond, features, info))
        return out

    def _implicit(self, name, data, info, ifcond):
        t = ObjectType(name, info, ifcond, [], None,
                       self._members(data, info, f"'{name}'"))
        self._add(t)
        return name

    def _def_enum(self, expr, info, name, ifcond, features, where):
        data = expr["data"]
        prefix = expr.get("prefix")
        if prefix is not None and not isinstance(prefix, str):
            raise QAPIError(info, f"{where}: 'prefix' must be a string")
        if not isinstance(data, list):
            raise QAPIError(info, f"{where}: 'data' must be a list")
        members = []
        for m in data:
            if isinstance(m, str):
                m = {"name": m}
            if (not isinstance(m, dict) or not isinstance(m.get("name"), str)
                    or set(m) - {"name", "if", "features"}):
                raise QAPIError(info, f"{where}: invalid value {m!r}")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", m["name"]):
                raise QAPIError(info, f"{where}: invalid value name "
                                f"'{m['name']}'")
            members.append(EnumMember(
                m["name"], check_ifcond(m.get("if"), info, where),
                _features(m, info, where)))
        self._add(EnumType(name, info, ifcond, features, members, prefix))

    def _def_struct(self, expr, info, name, ifcond, features, where):
        base = expr.get("base")
        if isinstance(base, dict):
            base = self._implicit(f"q_obj_{name}-base", base, info, ifcond)
        elif base is not None and not isinstance(base, str):
            raise QAPIError(info, f"{where}: 'base' must be a type name")
        self._add(ObjectType(name, info, ifcond, features, base,
                             self._members(expr["data"], info, where)))

    def _def_union(self, expr, info, name, ifcond, features, where):
        base = expr["base"]
        if isinstance(base, dict):
            base = self._implicit(f"q_obj_{name}-base", base, info, ifcond)
        elif not isinstance(base, str):
            raise QAPIError(info, f"{where}: 'base' must be an object or "
                            "a type name")
        tag = expr["discriminator"]
        if not isinstance(tag, str):
            raise QAPIError(info, f"{where}: 'discriminator' must be a "
                            "member name")
        data = expr["data"]
        if not isinstance(data, dict):
            raise QAPIError(info, f"{where}: 'data' must be an object")
        variants = []
        for case, spec in data.items():
            vif = IfCond()
            if isinstance(spec, dict):
                if "type" not in spec or set(spec) - {"type", "if"}:
                    raise QAPIError(info, f"{where}: branch '{case}' needs "
                                    "'type' (and only 'if' besides)")
                vif = check_ifcond(spec.get("if"), info, where)
                spec = spec["type"]
            if not isinstance(spec, str):
                raise QAPIError(info, f"{where}: branch '{case}' must name "
                                "a struct type")
            variants.append(Variant(case, spec, vif, info))
        self._add(ObjectType(name, info, ifcond, features, base, [], tag,
                             variants))

    def _def_alternate(self, expr, info, name, ifcond, features, where):
        data = expr["data"]
        if not isinstance(data, dict) or not data:
            raise QAPIError(info, f"{where}: 'data' must be a non-empty "
                            "object")
        variants = []
        for bname, spec in data.items():
            if not _MEMBER_RE.fullmatch(bname):
                raise QAPIError(info, f"{where}: invalid branch name "
                                f"'{bname}'")
            vif = IfCond()
            if isinstance(spec, dict):
                if "type" not in spec or set(spec) - {"type", "if"}:
                    raise QAPIError(info, f"{where}: branch '{bname}' needs "
                                    "'type' (and only 'if' besides)")
                vif = check_ifcond(spec.get("if"), info, where)
                spec = spec["type"]
            ref = _type_ref(spec, info, f"{where} branch '{bname}'")
            variants.append(Variant(bname, ref, vif, info))
        self._add(AlternateType(name, info, ifcond, features, variants))

    def _arg_ref(self, expr, info, name, ifcond, where):
        data = expr.get("data")
        if data is None:
            return None
        if isinstance(data, dict):
            return self._implicit(f"q_obj_{name}-arg", data, info, ifcond)
        if isinstance(data, str):
            return data
        raise QAPIError(info, f"{where}: 'data' must be an object or a "
                        "type name")

    def _def_command(self, expr, info, name, ifcond, features, where):
        arg = self._arg_ref(expr, info, name, ifcond, where)
        ret = expr.get("returns")
        if ret is not None:
            ret = _type_ref(ret, info, f"{where} 'returns'")
        self._add(Command(
            name, info, ifcond, features, arg, ret,
            _check_bool(expr, "boxed", info, False),
            _check_bool(expr, "gen", info, True),
            _check_bool(expr, "success-response", info, True),
            _check_bool(expr, "allow-oob", info, False),
            _check_bool(expr, "allow-preconfig", info, False)))
        _check_bool(expr, "coroutine", info, False)

    def _def_event(self, expr, info, name, ifcond, features, where):
        arg = self._arg_ref(expr, info, name, ifcond, where)
        self._add(Event(name, info, ifcond, features, arg,
                        _check_bool(expr, "boxed", info, False)))

    # -- checking --

    def lookup(self, ref, info, where):
        name = ref[0] + "List" if isinstance(ref, list) else ref
        t = self.types.get(name)
        if t is None:
            what = f"[{ref[0]}]" if isinstance(ref, list) else ref
            raise QAPIError(info, f"{where} uses unknown type '{what}'")
        return t

    def _check(self):
        for ent in self.entities:
            if isinstance(ent, ObjectType):
                self._check_object(ent)
            elif isinstance(ent, AlternateType):
                self._check_alternate(ent)
            elif isinstance(ent, EnumType):
                self._check_enum(ent)
        for ent in self.entities:
            if isinstance(ent, (Command, Event)):
                self._check_call(ent)

    def _check_enum(self, t):
        seen = {}
        for m in t.members:
            key = c_name(m.name, False).upper()
            if key in seen:
                raise QAPIError(t.info, f"enum '{t.name}': values "
                                f"'{seen[key]}' and '{m.name}' clash")
            seen[key] = m.name

    def _check_clash(self, t, members, extra=()):
        seen = {n: f"'{n}'" for n in extra}
        for m in members:
            key = m.c_name()
            if key in seen:
                raise QAPIError(t.info, f"'{t.name}': member '{m.name}' "
                                f"clashes with {seen[key]}")
            seen[key] = f"'{m.name}'"

    def _check_object(self, t):
        if t.members is not None:
            return
        if t._checking:
            raise QAPIError(t.info, f"'{t.name}' is its own base")
        t._checking = True
        base_members = []
        if t.base_ref is not None:
            base = self.lookup(t.base_ref, t.info, f"'{t.name}'")
            if not isinstance(base, ObjectType) or base.is_union():
                raise QAPIError(t.info, f"'{t.name}': base '{base.name}' "
                                "must be a struct")
            self._check_object(base)
            t.base = base
            base_members = base.members
        for m in t.local_members:
            m.type = self.lookup(m.type_ref, m.info,
                                 f"'{t.name}' member '{m.name}'")
        t.members = base_members + t.local_members
        self._check_clash(t, t.members, ("u",) if t.is_union() else ())
        t._checking = False
        if t.is_union():
            self._check_union(t)

    def _check_union(self, t):
        tag = [m for m in t.members if m.name == t.tag_name]
        if not tag:
            raise QAPIError(t.info, f"union '{t.name}': discriminator "
                            f"'{t.tag_name}' is not a member of the base")
        tag = tag[0]
        if not isinstance(tag.type, EnumType) or tag.optional:
            raise QAPIError(t.info, f"union '{t.name}': discriminator "
                            f"'{t.tag_name}' must be a mandatory enum")
        t.tag_member = tag
        values = tag.type.member_names()
        conds = {m.name: m.ifcond for m in tag.type.members}
        for v in t.variants:
            if v.name in conds and conds[v.name] and conds[v.name] != v.ifcond:
                # A branch exists only when its tag value does.
                v.ifcond = IfCond({"all": [e for e in (conds[v.name].expr,
                                                       v.ifcond.expr) if e]})
            if v.name not in values:
                raise QAPIError(t.info, f"union '{t.name}': branch "
                                f"'{v.name}' is not a value of "
                                f"'{tag.type.name}'")
            v.type = self.lookup(v.type_ref, t.info,
                                 f"union '{t.name}' branch '{v.name}'")
            if not isinstance(v.type, ObjectType) or v.type.is_union():
                raise QAPIError(t.info, f"union '{t.name}': branch "
                                f"'{v.name}' must be a struct type")
            self._check_object(v.type)
            self._check_clash(t, t.members + v.type.members, ("u",))

    def _check_alternate(self, t):
        seen = {}
        for v in t.variants:
            v.type = self.lookup(v.type_ref, t.info,
                                 f"alternate '{t.name}' branch '{v.name}'")
            jt = v.type.json_type()
            if jt == "value":
                raise QAPIError(t.info, f"alternate '{t.name}': branch "
                                f"'{v.name}' can't be of type "
                                f"'{v.type.name}'")
            if jt == "int":
                jt = "number"           # both are a JSON number
            if jt in seen:
                raise QAPIError(t.info, f"alternate '{t.name}': branches "
                                f"'{seen[jt]}' and '{v.name}' can't be "
                                "told apart")
            seen[jt] = v.name

    def _check_call(self, ent):
        where = f"{ent.meta} '{ent.name}'"
        if ent.arg_ref is not None:
            t = self.lookup(ent.arg_ref, ent.info, where)
            if not isinstance(t, ObjectType):
                raise QAPIError(ent.info, f"{where}: 'data' must be an "
                                "object type")
            if t.is_union() and not ent.boxed:
                raise QAPIError(ent.info, f"{where}: a union as 'data' "
                                "needs 'boxed': true")
            ent.arg_type = t
        elif ent.boxed:
            raise QAPIError(ent.info, f"{where}: 'boxed' needs 'data'")
        if isinstance(ent, Command) and ent.ret_ref is not None:
            ent.ret_type = self.lookup(ent.ret_ref, ent.info, where)

    # -- queries for the generators --

    def of(self, cls):
        return [e for e in self.entities if isinstance(e, cls)]

    def builtin_types(self):
        return [self.types[n] for n, _, _ in BUILTINS]

    def array_types(self, builtin):
        """Array types of builtin elements, or of schema types."""
        if builtin:
            return [self.types[n + "List"] for n, _, _ in BUILTINS]
        return [self.types[e.name + "List"] for e in self.entities
                if isinstance(e, Type) and e.name + "List" in self.types]
