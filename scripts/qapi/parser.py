"""Reader for QAPI schema files.

The syntax is JSON with single-quoted strings (double quotes work too) and
'#' comments to the end of the line; '##' documentation blocks are plain
comments here.  Each file is a sequence of top-level objects.  Two of them
are directives rather than definitions:

    { 'include': 'path.json' }   relative to the including file; a file
                                 included twice is read once
    { 'pragma': {...} }          accepted and ignored
"""

import os

from .common import QAPIError


class SourceInfo:
    """Where an expression starts; printed as 'file:line'."""

    def __init__(self, fname, line, parent=None):
        self.fname = fname
        self.line = line
        self.parent = parent

    def __str__(self):
        s = f"{self.fname}:{self.line}"
        p = self.parent
        while p:
            s = f"{s} (included from {p.fname}:{p.line})"
            p = p.parent
        return s


class _Lexer:
    def __init__(self, fname, text, parent):
        self.fname = fname
        self.text = text
        self.parent = parent
        self.pos = 0
        self.line = 1

    def info(self):
        return SourceInfo(self.fname, self.line, self.parent)

    def error(self, msg):
        raise QAPIError(self.info(), msg)

    def skip_space(self):
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\n":
                self.line += 1
                self.pos += 1
            elif ch in " \t\r":
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def peek(self):
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch):
        if self.peek() != ch:
            got = self.peek() or "end of file"
            self.error(f"expected '{ch}', found '{got}'")
        self.pos += 1

    def string(self):
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                self.error("unterminated string")
            ch = self.text[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch == "\n":
                self.error("newline in string")
            if ch == "\\":
                if self.pos >= len(self.text):
                    self.error("unterminated string")
                esc = self.text[self.pos]
                self.pos += 1
                if esc not in "\\'\"":
                    self.error(f"unsupported escape '\\{esc}'")
                ch = esc
            out.append(ch)

    def value(self):
        ch = self.peek()
        if ch == "{":
            return self.dict()
        if ch == "[":
            return self.list()
        if ch in "'\"":
            return self.string()
        for word, val in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return val
        self.error(f"expected a value, found '{ch or 'end of file'}'")

    def dict(self):
        self.expect("{")
        out = {}
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            if self.peek() not in "'\"" or not self.peek():
                self.error("expected a string key")
            key = self.string()
            if key in out:
                self.error(f"duplicate key '{key}'")
            self.expect(":")
            out[key] = self.value()
            if self.peek() == "}":
                self.pos += 1
                return out
            self.expect(",")

    def list(self):
        self.expect("[")
        out = []
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            if self.peek() == "]":
                self.pos += 1
                return out
            self.expect(",")


def parse_schema(fname, _seen=None, _parent=None):
    """Returns [(expr, SourceInfo)] for @fname and everything it includes,
    plus the list of files read (for dependency tracking)."""
    seen = _seen if _seen is not None else []
    path = os.path.normpath(fname)
    seen.append(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise QAPIError(_parent, f"can't read schema file '{fname}': "
                        f"{e.strerror}")
    lex = _Lexer(path, text, _parent)
    exprs = []
    while lex.peek():
        info = lex.info()
        expr = lex.value()
        if not isinstance(expr, dict):
            raise QAPIError(info, "top-level value must be an object")
        if "include" in expr:
            inc = expr["include"]
            if len(expr) != 1 or not isinstance(inc, str):
                raise QAPIError(info, "invalid 'include' directive")
            inc_path = os.path.normpath(
                os.path.join(os.path.dirname(path), inc))
            if inc_path not in seen:
                sub, _ = parse_schema(inc_path, seen, info)
                exprs.extend(sub)
        elif "pragma" in expr:
            if len(expr) != 1 or not isinstance(expr["pragma"], dict):
                raise QAPIError(info, "invalid 'pragma' directive")
        else:
            exprs.append((expr, info))
    return exprs, seen
