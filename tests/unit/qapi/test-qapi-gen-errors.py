#!/usr/bin/env python3
"""The QAPI generator must reject bad schemas with a clear message.

Usage: test-qapi-gen-errors.py path/to/qapi-gen.py
Each case is a schema text and a fragment its error message must contain.
"""

import contextlib
import io
import os
import sys
import tempfile

CASES = [
    ("{ 'struct': 'A', 'data': { 'x': 'Nope' } }", "unknown type 'Nope'"),
    ("{ 'struct': 'A', 'data': { 'x': ['Nope'] } }", "unknown type '[Nope]'"),
    ("{ 'struct': 'A', 'data': {} }\n{ 'enum': 'A', 'data': [] }",
     "'A' is already defined"),
    ("{ 'struct': 'A', 'data': { 'a-b': 'int', 'a_b': 'int' } }",
     "clashes"),
    ("{ 'struct': 'A', 'data': { 'has-x': 'int' } }", "must not start"),
    ("{ 'struct': 'A', 'base': 'A', 'data': {} }", "its own base"),
    ("{ 'struct': 'A', 'data': {}, 'bogus': 'x' }", "unknown key"),
    ("{ 'struct': 'A' }", "missing key"),
    ("{ 'thing': 'A' }", "exactly one of"),
    ("{ 'enum': 'E', 'data': [ 'a', 'a' ] }", "clash"),
    ("{ 'enum': 'E', 'data': [ 'a-b', 'a_b' ] }", "clash"),
    ("{ 'enum': 'E', 'data': 'a' }", "must be a list"),
    ("{ 'enum': 'E', 'data': [ 'a' ] }\n"
     "{ 'struct': 'B', 'data': {} }\n"
     "{ 'union': 'U', 'base': { 'k': 'E' }, 'discriminator': 'k',"
     " 'data': { 'z': 'B' } }", "not a value"),
    ("{ 'struct': 'B', 'data': {} }\n"
     "{ 'union': 'U', 'base': { 'k': 'int' }, 'discriminator': 'k',"
     " 'data': {} }", "must be a mandatory enum"),
    ("{ 'enum': 'E', 'data': [ 'a' ] }\n"
     "{ 'union': 'U', 'base': { 'k': 'E' }, 'discriminator': 'x',"
     " 'data': {} }", "not a member"),
    ("{ 'alternate': 'Alt', 'data': { 'a': 'int', 'b': 'number' } }",
     "can't be told apart"),
    ("{ 'enum': 'E', 'data': [ 'a' ] }\n"
     "{ 'alternate': 'Alt', 'data': { 'a': 'str', 'b': 'E' } }",
     "can't be told apart"),
    ("{ 'alternate': 'Alt', 'data': { 'a': 'any' } }", "can't be of type"),
    ("{ 'command': 'c', 'data': 'int' }", "must be an object type"),
    ("{ 'command': 'c', 'returns': 'Nope' }", "unknown type 'Nope'"),
    ("{ 'command': 'c', 'boxed': true }", "'boxed' needs 'data'"),
    ("{ 'command': 'c', 'gen': 'no' }", "must be true or false"),
    ("{ 'event': 'E', 'data': { '*x': { 'type': 'int', 'if': 'X' } } }",
     "need 'boxed'"),
    ("{ 'struct': 'A', 'if': 'not a macro', 'data': {} }",
     "not a valid macro name"),
    ("{ 'struct': 'A', 'if': { 'xor': [ 'A' ] }, 'data': {} }",
     "unknown 'if' operator"),
    ("{ 'struct': 'AList', 'data': {} }", "end with 'List'"),
    ("{ 'include': 'missing.json' }", "can't read schema file"),
    ("{ 'struct': 'A', 'data': { 'x': 'int' }", "expected"),
    ("{ 'struct': 'A', 'data': { 'x': 'int', 'x': 'str' } }",
     "duplicate key"),
    ("{ 'struct': 'A', 'data': { 'x': 'int\n' } }", "newline in string"),
    ("[ 'x' ]", "must be an object"),
]

GOOD = """
# A comment
{ 'include': 'good-inc.json' }
{ 'enum': 'E', 'prefix': 'PFX', 'data': [ 'a', { 'name': 'b', 'if': 'X' } ] }
{ 'struct': 'S', 'data': { '*e': 'E', 'l': [ 'S' ], 'inc': 'Inc' } }
{ 'command': 'c', 'data': { 'class': 'str' }, "returns": [ 'S' ] }
"""


class Result:
    def __init__(self, returncode, stderr):
        self.returncode = returncode
        self.stderr = stderr


def run(gen_main, outdir, text, name="schema.json"):
    """Runs the generator in this process (much faster than spawning)."""
    path = os.path.join(outdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = gen_main(["-o", outdir, path])
    return Result(rc, err.getvalue())


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[1])))
    from qapi.main import main as gen
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for text, want in CASES:
            r = run(gen, tmp, text)
            if r.returncode == 0 or want not in r.stderr:
                print(f"FAIL: {text!r}\n  want '{want}', got rc={r.returncode}"
                      f" stderr={r.stderr.strip()!r}")
                failed += 1
            elif "schema.json:" not in r.stderr:
                print(f"FAIL: no location in {r.stderr.strip()!r}")
                failed += 1
        with open(os.path.join(tmp, "good-inc.json"), "w",
                  encoding="utf-8") as f:
            f.write("{ 'struct': 'Inc', 'data': {} }\n")
        r = run(gen, tmp, GOOD)
        if r.returncode != 0:
            print(f"FAIL: good schema rejected: {r.stderr.strip()}")
            failed += 1
    print(f"{len(CASES) + 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
