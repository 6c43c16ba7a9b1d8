"""Command ``dcplan report OUT_DIR``: one self-contained HTML report of a result folder.

The result folder (written by ``dcplan solve --out``) holds the tables and
``summary.json``; coordinates, names, periods and scenario probabilities come from the
instance. It is taken from ``--instance FILE``, else from ``summary.json``
(``instance_file`` / ``instance_path``, relative to the folder or the working directory),
else from an ``instance.yaml`` / ``instance.yml`` / ``instance.json`` copy inside the folder.
Apply the same ``--variant`` / ``--set`` as the solve, so the report describes the
instance that was solved.

Exit codes: 0 report written, 2 invalid input (no such folder, no instance, the instance
does not match the tables), 5 the report file exists (use --overwrite).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.cli._common import (
    EXIT_INPUT,
    EXIT_OK,
    FORMATS_HELP,
    add_output_options,
    add_override_options,
    check_output,
    load_with_overrides,
)

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.instance.schema import Instance

_SUMMARY_KEYS = ("instance_file", "instance_path")
_COPIES = ("instance.yaml", "instance.yml", "instance.json")


def register(sub: Any) -> None:
    """Add ``report`` to the sub-command parsers."""
    r = sub.add_parser("report", help="write a self-contained HTML report (tables + pictures) of a result folder",
                       description="Write one HTML file with the plan's headline, tables and figures (embedded PNG, "
                                   "inline CSS, no external links) from a folder written by 'dcplan solve --out'.")
    r.add_argument("out_dir", metavar="OUT_DIR", help="result folder written by 'dcplan solve --out'")
    r.add_argument("--instance", metavar="FILE",
                   help=f"the instance that was solved ({FORMATS_HELP}; needed unless summary.json names it)")
    add_output_options(r, out_help="report file (default: OUT_DIR/report.html)", metavar="FILE.html",
                       what="the report file")
    r.add_argument("--png", metavar="DIR", help="also write every figure as PNG into DIR")
    r.add_argument("--title", help="report title (default: 'dcplan report — <instance>')")
    add_override_options(r)
    r.set_defaults(handler=report)


def find_instance(out_dir: Path, given: str | None, summary: dict[str, Any]) -> Path | None:
    """The instance file: --instance, else the one summary.json names, else a copy in the folder."""
    if given:
        return Path(given)
    for key in _SUMMARY_KEYS:
        val = summary.get(key)
        if isinstance(val, str) and val:
            for cand in (out_dir / val, Path(val)):
                if cand.exists():
                    return cand
    for name in _COPIES:
        if (out_dir / name).exists():
            return out_dir / name
    return None


def _read_folder(out_dir: Path) -> dict[str, Any] | None:
    """summary.json of a result folder, or None (message on stderr) if it is not one."""
    from optimizer.results.read import load_summary

    if not out_dir.is_dir():
        print(f"{out_dir}: no such result folder (write one with 'dcplan solve FILE --out {out_dir}')", file=sys.stderr)
        return None
    if not (out_dir / "summary.json").exists():
        print(f"{out_dir}: not a result folder (no summary.json)", file=sys.stderr)
        return None
    try:
        return load_summary(out_dir)
    except ValueError as exc:
        print(f"{out_dir / 'summary.json'}: not valid JSON ({exc})", file=sys.stderr)
        return None


def report(args: argparse.Namespace) -> int:
    """``dcplan report OUT_DIR``: write the HTML report (and the figures with --png)."""
    from optimizer.analysis.report import write_report
    from optimizer.results.read import load_tables

    out_dir = Path(args.out_dir)
    summary = _read_folder(out_dir)
    if summary is None:
        return EXIT_INPUT
    inst_path = find_instance(out_dir, args.instance, summary)
    if inst_path is None:
        print(f"the instance is needed for coordinates, periods and scenarios: give --instance FILE "
              f"(summary.json in {out_dir} does not name it)", file=sys.stderr)
        return EXIT_INPUT
    if not inst_path.exists():
        print(f"{inst_path}: no such instance file", file=sys.stderr)
        return EXIT_INPUT
    target = Path(args.out) if args.out else out_dir / "report.html"
    check_output(target, args.overwrite, "file")
    args.file = str(inst_path)
    inst = load_with_overrides(args)  # InstanceError -> exit 2 in optimizer.cli.main
    tables = load_tables(out_dir)
    problems = mismatch(tables, inst)
    if problems:
        print(f"the result folder {out_dir} does not match the instance {inst_path}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_INPUT
    if summary.get("instance") not in (None, inst.name):
        print(f"note: the plan was solved for '{summary.get('instance')}', the instance is '{inst.name}'", file=sys.stderr)
    path = write_report(tables, inst, target, summary=summary, title=args.title)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.png:
        from optimizer.analysis.figures import save_all

        paths = save_all(tables, inst, args.png)
        print(f"wrote {len(paths)} figures to {args.png}")
    return EXIT_OK


def mismatch(tables: dict[str, pd.DataFrame], inst: Instance) -> list[str]:
    """Ids in the tables that the instance does not know."""
    known = {
        "site": {s.id for s in inst.sites},
        "system": {k.id for k in inst.systems},
        "region": {g.id for g in inst.regions},
        "period": {p.id for p in inst.horizon.periods},
    }
    out = []
    for col, ids in known.items():
        seen: set[str] = set()
        for df in tables.values():
            if col in df.columns and len(df):
                seen |= {str(x) for x in df[col].dropna()}
        unknown = sorted(seen - ids)
        if unknown:
            out.append(f"{col}s not in the instance: {', '.join(unknown[:8])}{' …' if len(unknown) > 8 else ''}")
    return out
