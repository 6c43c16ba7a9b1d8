"""Commands ``dcplan convert``, ``dcplan schema`` and ``dcplan new`` (instance files).

* ``convert IN OUT`` — an instance between YAML/JSON, an Excel workbook (``.xlsx``) and a
  folder of CSV files (see ``docs/spreadsheets.md``); the output format follows OUT's
  suffix (a name without suffix is a CSV folder) or ``--to``.
* ``schema`` — the instance JSON Schema (:mod:`optimizer.instance.json_schema`, published
  as ``docs/instance.schema.json``).
* ``new FILE`` — the commented starter instance (:mod:`optimizer.instance.starter`), which
  validates and solves.

Exit codes: 0 written, 2 invalid input, 5 the output exists (use --overwrite) or cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from optimizer.cli._common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_OUTPUT,
    add_output_options,
    add_override_options,
    check_output,
    load_with_overrides,
)

FORMATS = ("yaml", "json", "xlsx", "csv")


def register(sub: Any) -> None:
    """Add ``convert``, ``schema`` and ``new`` to the sub-command parsers."""
    c = sub.add_parser("convert", help="convert an instance between YAML/JSON, an Excel workbook and a CSV folder",
                       description="Convert an instance. Formats follow the suffix: .yaml/.yml, .json, .xlsx; "
                       "a name without suffix (or an existing folder) is a folder of CSV files.")
    c.add_argument("file", help="input instance (.yaml, .yml, .json, .xlsx or a folder of CSV files)")
    c.add_argument("out", help="output (.yaml, .yml, .json, .xlsx or a folder name for CSV)")
    c.add_argument("--to", choices=FORMATS, help="output format (default: from OUT's suffix)")
    add_output_options(c, out_help=None, what="OUT")
    add_override_options(c)
    c.set_defaults(handler=convert)

    s = sub.add_parser("schema", help="print the instance JSON Schema")
    s.add_argument("--out", metavar="FILE", help="write the schema to FILE instead of printing it")
    s.set_defaults(handler=schema)

    n = sub.add_parser("new", help="write a commented starter instance")
    n.add_argument("file", help="file to create (.yaml; .json, .xlsx or a folder name convert the starter)")
    add_output_options(n, out_help=None, what="FILE")
    n.set_defaults(handler=new)


def _kind_clash(out: Path, fmt: str, what: str) -> bool:
    """An existing folder where a file goes (or the reverse): message on stderr, True."""
    if out.exists() and out.is_dir() != (fmt == "csv"):
        print(f"{out} is {'a folder' if out.is_dir() else 'a file'}; cannot replace it{what}", file=sys.stderr)
        return True
    return False


# ----------------------------------------------------------------------------- convert
def convert(args: argparse.Namespace) -> int:
    """``dcplan convert IN OUT``: write the instance in OUT's format."""
    from optimizer.instance.io import output_format, write_instance

    out = Path(args.out)
    try:
        fmt = args.to or output_format(out)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    if _kind_clash(out, fmt, f" with {fmt} output"):
        return EXIT_OUTPUT
    check_output(out, args.overwrite, "folder" if fmt == "csv" else "file")
    if _kind_clash(out, fmt, f" with {fmt} output"):
        return EXIT_OUTPUT
    inst = load_with_overrides(args)
    header = f"# {inst.name}: converted from {args.file} by `dcplan convert` (comments of the source are not kept).\n"
    try:
        write_instance(inst, out, fmt, header=header)
    except OSError as exc:
        print(f"cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    what = {"csv": "a folder of CSV files", "xlsx": "an Excel workbook"}.get(fmt, fmt.upper())
    print(f"wrote '{inst.name}' as {what} to {out}")
    return EXIT_OK


# ----------------------------------------------------------------------------- schema
def schema(args: argparse.Namespace) -> int:
    """``dcplan schema [--out FILE]``: print or write the instance JSON Schema."""
    from optimizer.instance.json_schema import schema_text

    text = schema_text()
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"cannot write {args.out}: {exc}", file=sys.stderr)
            return EXIT_OUTPUT
        print(f"wrote the instance JSON Schema to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ----------------------------------------------------------------------------- new
def new(args: argparse.Namespace) -> int:
    """``dcplan new FILE``: the starter instance as YAML (commented) or converted to FILE's format."""
    from optimizer.files import OutputError, write_text
    from optimizer.instance.io import output_format, parse_text, write_instance
    from optimizer.instance.load import instance_from_dict
    from optimizer.instance.starter import starter_text

    out = Path(args.file)
    try:
        fmt = output_format(out)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    check_output(out, args.overwrite, "folder" if fmt == "csv" else "file")
    starter = starter_text()
    try:
        if fmt == "yaml":
            write_text(out, starter, overwrite=args.overwrite)
        else:
            inst = instance_from_dict(parse_text(starter, "starter"), "starter")
            if _kind_clash(out, fmt, ""):
                return EXIT_OUTPUT
            write_instance(inst, out, fmt, header="# starter instance written by `dcplan new`\n", overwrite=args.overwrite)
    except OutputError:
        raise  # reported by optimizer.cli.main (exit 5)
    except OSError as exc:
        print(f"cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    print(f"wrote a starter instance to {out}; try: dcplan validate {out} && dcplan solve {out}")
    return EXIT_OK
