"""Naming rules, conditions and small code-emitting helpers."""

import re


class QAPIError(Exception):
    """A schema error, reported as 'file:line: message'."""

    def __init__(self, info, msg):
        super().__init__(msg)
        self.info = info
        self.msg = msg

    def __str__(self):
        return f"{self.info}: {self.msg}" if self.info else self.msg


# Words that cannot be C identifiers (or would be confusing ones): a member
# or value spelled like one gets a 'q_' prefix in C.
C_RESERVED = frozenset("""
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local asm typeof bool true false
    errno unix linux
    and and_eq bitand bitor compl not not_eq or or_eq xor xor_eq
""".split())


def c_name(name, protect=True):
    """Map a schema name to a C identifier: '-' and '.' become '_'."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if protect and (name in C_RESERVED or name[:1].isdigit()):
        return "q_" + name
    return name


def camel_to_upper(name):
    """'RunState' -> 'RUN_STATE', 'QMPCapability' -> 'QMP_CAPABILITY'.

    An underscore goes before an upper-case letter that starts a new word:
    one that follows a lower-case letter or digit, or one that follows
    another capital but is itself followed by a lower-case letter (the 'C'
    in 'QMPCapability').
    """
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and name[i - 1] not in "_-.":
            prev_lower = name[i - 1].islower() or name[i - 1].isdigit()
            next_lower = i + 1 < len(name) and name[i + 1].islower()
            if prev_lower or (name[i - 1].isupper() and next_lower):
                out.append("_")
        out.append(ch)
    return c_name("".join(out), False).upper()


def c_enum_const(type_name, value, prefix=None):
    """C name of enum constant @value of @type_name."""
    base = prefix if prefix is not None else camel_to_upper(type_name)
    return f"{base}_{c_name(value, False)}".upper()


class IfCond:
    """An 'if' condition: None (always), a macro name, or all/any/not.

    The C side tests macros with defined(), so a condition naming
    CONFIG_FOO holds when the build defines CONFIG_FOO (to anything).
    """

    def __init__(self, expr=None):
        self.expr = expr

    def __bool__(self):
        return self.expr is not None

    def c_expr(self):
        return self._c(self.expr)

    def _c(self, e):
        if isinstance(e, str):
            return f"defined({e})"
        if "not" in e:
            return f"!{self._c(e['not'])}"
        op = " && " if "all" in e else " || "
        parts = e["all"] if "all" in e else e["any"]
        return "(" + op.join(self._c(x) for x in parts) + ")"

    def __eq__(self, other):
        return isinstance(other, IfCond) and self.expr == other.expr

    def __hash__(self):
        return hash(repr(self.expr))


def check_ifcond(expr, info, where):
    """Validate the syntax of an 'if' value; returns an IfCond."""
    def check(e):
        if isinstance(e, str):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", e):
                raise QAPIError(info, f"{where}: 'if' condition '{e}' "
                                "is not a valid macro name")
            return
        if not isinstance(e, dict) or len(e) != 1:
            raise QAPIError(info, f"{where}: 'if' must be a string or an "
                            "object with exactly one of 'all', 'any', 'not'")
        (op, arg), = e.items()
        if op == "not":
            check(arg)
        elif op in ("all", "any"):
            if not isinstance(arg, list) or not arg:
                raise QAPIError(info, f"{where}: '{op}' needs a non-empty "
                                "list")
            for x in arg:
                check(x)
        else:
            raise QAPIError(info, f"{where}: unknown 'if' operator '{op}'")
    if expr is None:
        return IfCond()
    check(expr)
    return IfCond(expr)


def wrap_if(ifcond, code):
    """Surround @code (complete lines) with #if/#endif when conditional."""
    if not ifcond or not code:
        return code
    e = ifcond.c_expr()
    return f"#if {e}\n{code}#endif /* {e} */\n"


def indent(code, levels=1):
    """Indent every non-empty, non-preprocessor line of @code."""
    pad = "    " * levels
    out = []
    for line in code.splitlines(True):
        if line.strip() and not line.startswith("#"):
            out.append(pad + line)
        else:
            out.append(line)
    return "".join(out)


def c_string(text):
    """@text as the body of a C string literal."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) >= 0x7f:
            for b in ch.encode("utf-8"):
                out.append(f"\\{b:03o}")
        else:
            out.append(ch)
    return "".join(out)
