"""qapi-gen.py command line."""

import argparse
import os
import sys

from .common import QAPIError
from .schema import Schema
from .gen_types import gen_types, gen_builtin_types
from .gen_visit import gen_visit, gen_builtin_visit
from .gen_commands import gen_commands
from .gen_events import gen_events
from .gen_introspect import gen_introspect


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate C code from a QAPI schema (see docs/qapi.md)")
    ap.add_argument("schema", help="the root schema file")
    ap.add_argument("-o", "--output-dir", default=".",
                    help="where to write the files")
    ap.add_argument("-p", "--prefix", default="",
                    help="prefix for file names and global functions, "
                    "e.g. 'test-'")
    ap.add_argument("-b", "--builtins", action="store_true",
                    help="also write qapi-builtin-{types,visit}.[ch]")
    ap.add_argument("--depfile", help="write a Make dependency file")
    ap.add_argument("--stamp", help="target name for the depfile")
    args = ap.parse_args(argv)

    try:
        schema = Schema(args.schema)
        files = []
        if args.builtins:
            files += gen_builtin_types(schema) + gen_builtin_visit(schema)
        files += gen_types(schema, args.prefix)
        files += gen_visit(schema, args.prefix)
        files += gen_commands(schema, args.prefix)
        files += gen_events(schema, args.prefix)
        files += gen_introspect(schema, args.prefix)
    except QAPIError as e:
        print(f"qapi-gen: {e}", file=sys.stderr)
        return 1

    os.makedirs(args.output_dir, exist_ok=True)
    name = os.path.basename(args.schema)
    for f in files:
        f.write(args.output_dir, name)
    if args.depfile:
        target = args.stamp or os.path.join(args.output_dir, files[0].fname)
        with open(args.depfile, "w", encoding="utf-8") as f:
            deps = " ".join(p.replace(" ", "\\ ") for p in schema.files)
            f.write(f"{target}: {deps}\n")
    return 0
