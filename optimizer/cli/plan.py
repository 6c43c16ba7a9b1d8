"""Commands ``dcplan validate``, ``dcplan solve`` and ``dcplan diagnose``.

``validate FILE`` lists every problem of an instance (exit 2) or summarises it (exit 0);
``solve FILE [--out DIR]`` solves it, prints the plan and writes its tables (and, on a
terminal or with ``--progress``, a progress line on stderr every few seconds of the search);
``diagnose FILE`` explains which hard rules cannot hold together (exit 3 if some cannot).
Exit codes: :mod:`optimizer.cli._common`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from optimizer.cli._common import (
    EXIT_INFEASIBLE,
    EXIT_OK,
    FLAGS_EPILOG,
    INSTANCE_HELP,
    UsageError,
    add_decision_options,
    add_output_options,
    add_override_options,
    add_risk_option,
    add_solve_options,
    check_output,
    decisions,
    exit_code,
    load_with_overrides,
    progress_printer,
    risk,
    solve_options,
)


def register(sub: Any) -> None:
    """Add ``validate``, ``solve`` and ``diagnose`` to the sub-command parsers."""
    v = sub.add_parser("validate", help="check an instance file and list every problem")
    v.add_argument("file", help=INSTANCE_HELP)
    add_override_options(v)
    v.set_defaults(handler=validate)

    s = sub.add_parser("solve", help="solve an instance and print the plan", epilog=FLAGS_EPILOG)
    s.add_argument("file", help=INSTANCE_HELP)
    add_output_options(s, out_help="write every table as CSV and summary.json into DIR", formats=("csv", "xlsx", "parquet"),
                       format_help="tables in --out DIR: csv (default), xlsx (one workbook plan.xlsx) or parquet",
                       decisions=True)
    add_solve_options(s, diagnose_default=60.0, each="the solve", write_model=True, verbose=True, progress=True)
    s.add_argument("--verify", action="store_true", help="re-check the plan with the independent verifier")
    add_risk_option(s)
    add_decision_options(s)
    add_override_options(s)
    s.add_argument("--quiet", action="store_true", help="print only the status line")
    s.set_defaults(handler=solve, output_kind="folder")

    d = sub.add_parser("diagnose", help="explain which hard rules cannot hold together")
    d.add_argument("file", help=INSTANCE_HELP)
    d.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS", help="limit for the elastic solve")
    add_override_options(d)
    d.set_defaults(handler=diagnose)


def validate(args: argparse.Namespace) -> int:
    """``dcplan validate``: load, apply --variant/--set (every problem raises InstanceError,
    exit 2) and summarise."""
    inst = load_with_overrides(args)
    n_opt = sum(len(s.build_options) for s in inst.sites)
    print(
        f"{args.file}: valid — '{inst.name}': {len(inst.horizon.periods)} periods, {len(inst.sites)} sites "
        f"({n_opt} build options), {len(inst.systems)} systems, {len(inst.training_jobs)} training jobs, "
        f"{len(inst.regions)} regions, {max(1, len(inst.scenarios))} scenario(s)"
    )
    return EXIT_OK


def diagnose(args: argparse.Namespace) -> int:
    """``dcplan diagnose``: the rules that cannot hold together; exit 0 if all can, else 3."""
    from optimizer.diagnose import diagnose as run_diagnosis
    from optimizer.instance.derive import prepare
    from optimizer.options import SolveOptions

    try:
        SolveOptions(time_limit=args.time_limit)
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None
    inst = load_with_overrides(args)
    impossible = prepare(inst).impossible
    for msg in impossible:
        print(f"  - {msg}")
    diag = run_diagnosis(inst, time_limit=args.time_limit)
    print(diag.text())
    return EXIT_OK if diag.feasible and not impossible else EXIT_INFEASIBLE


def solve(args: argparse.Namespace) -> int:
    """``dcplan solve``: solve, print the plan (or its status line), write it to --out DIR."""
    from optimizer.plan import solve as solve_instance
    from optimizer.results.report import plan_text
    from optimizer.results.write import write_plan

    check_output(args.out, args.overwrite)
    rsk, dec, options = risk(args), decisions(args), solve_options(args)
    t0 = time.perf_counter()
    inst = load_with_overrides(args, dec)
    load_s = time.perf_counter() - t0
    plan = solve_instance(inst, options, decisions=dec, risk=rsk, progress=progress_printer(args, inst.horizon.currency))
    plan.seconds = {"load": load_s, **plan.seconds}
    plan.instance_file = str(Path(args.file).resolve())
    if args.quiet:
        print(f"{plan.status} {plan.objective}")
    else:
        print(plan_text(plan))
    if args.out:
        path = write_plan(plan, args.out, overwrite=args.overwrite, fmt=args.format)
        print(f"\nwrote {len(plan.tables)} tables and summary.json to {path}")
    return exit_code(plan.status)
