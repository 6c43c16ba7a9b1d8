"""Command line: ``dcplan validate|solve|diagnose`` (also ``python -m optimizer``).

Exit codes: 0 plan found (optimal or feasible), 2 invalid input, 3 infeasible,
4 no solution within the limits, 5 output folder exists (use --force).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

from .instance.errors import InstanceError
from .instance.load import load_instance
from .instance.schema import Instance

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_SOLUTION, EXIT_OUTPUT = 0, 2, 3, 4, 5
OVERWRITE = "<overwrite>"  # value of a bare --force

COMMAND_MODULES: tuple[str, ...] = ("optimizer.uncertainty_cli", "optimizer.tabular_cli", "optimizer.report_cli",
                                    "optimizer.whatif_cli")
"""Modules that add sub-commands: each has ``register(subparsers)`` and sets
``handler=function(args) -> exit code`` on its parsers. Listed here, in help order."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dcplan", description="Plan AI compute where the power is.")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check an instance file and list every problem")
    v.add_argument("file", help="instance: .yaml, .yml, .json, an .xlsx workbook or a folder of CSV tables")

    s = sub.add_parser("solve", help="solve an instance and print the plan")
    s.add_argument("file", help="instance: .yaml, .yml, .json, an .xlsx workbook or a folder of CSV tables")
    s.add_argument("--out", metavar="DIR", help="write every table as CSV and summary.json into DIR")
    s.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv",
                   help="tables in --out DIR: csv (default), xlsx (one workbook plan.xlsx) or parquet")

    s.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop the search after this many seconds")
    s.add_argument("--mip-gap", type=float, default=1e-4, metavar="REL", help="relative optimality gap (default 1e-4)")
    s.add_argument("--threads", type=int, metavar="N", help="solver threads")
    s.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    s.add_argument("--write-model", metavar="FILE.mps", help="write the built model (MPS or LP by extension)")
    s.add_argument("--verify", action="store_true", help="re-check the plan with the independent verifier")
    s.add_argument("--risk", metavar="cvar:ALPHA:WEIGHT", help="minimise (1-WEIGHT) expected cost + WEIGHT CVaR_ALPHA")
    s.add_argument("--force", dest="force", action="append", nargs="?", const=OVERWRITE, metavar="KIND=ID",
                   help="alone: replace --out DIR if it exists; with KIND=ID: force a choice "
                   "(site=ID, option=SITE:OPTION, system=ID, family=ID, site_system=SITE:SYSTEM)")
    s.add_argument("--forbid", action="append", metavar="KIND=ID", help="forbid a choice (same kinds as --force)")
    add_override_options(s)
    s.add_argument("--quiet", action="store_true", help="print only the status line")
    s.add_argument("--verbose", action="store_true", help="show the HiGHS log")
    d = sub.add_parser("diagnose", help="explain which hard rules cannot hold together")
    d.add_argument("file", help="instance: .yaml, .yml, .json, an .xlsx workbook or a folder of CSV tables")
    d.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS", help="limit for the elastic solve")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def add_override_options(p: argparse.ArgumentParser) -> None:
    """--set and --variant: what-if changes to the instance before solving."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="change a field by its path, e.g. regions[shanghai].demand_pflops*=1.5 (repeatable)")
    p.add_argument("--variant", metavar="NAME[,NAME]", help="apply the instance's named override sets, in order")


def load_with_overrides(args) -> "Instance":
    """Load the instance file and apply --variant then --set."""
    from .instance.overrides import apply_overrides, apply_variants

    inst = load_instance(args.file)
    if getattr(args, "variant", None):
        inst = apply_variants(inst, [v.strip() for v in args.variant.split(",") if v.strip()])
    if getattr(args, "overrides", None):
        inst = apply_overrides(inst, args.overrides)
    return inst


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "solve":
            return _solve(args)
        if args.command == "diagnose":
            return _diagnose(args)
        if hasattr(args, "handler"):
            return args.handler(args)
    except InstanceError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return EXIT_OK
    return EXIT_INPUT


def _validate(args) -> int:
    inst = load_instance(args.file)
    n_opt = sum(len(s.build_options) for s in inst.sites)
    print(
        f"{args.file}: valid — '{inst.name}': {len(inst.horizon.periods)} periods, {len(inst.sites)} sites "
        f"({n_opt} build options), {len(inst.systems)} systems, {len(inst.training_jobs)} training jobs, "
        f"{len(inst.regions)} regions, {max(1, len(inst.scenarios))} scenario(s)"
    )
    return EXIT_OK


def _diagnose(args) -> int:
    from .diagnose import diagnose
    from .instance.derive import prepare

    inst = load_instance(args.file)
    impossible = prepare(inst).impossible
    for msg in impossible:
        print(f"  - {msg}")
    diag = diagnose(inst, time_limit=args.time_limit)
    print(diag.text())
    return EXIT_OK if diag.feasible and not impossible else EXIT_INFEASIBLE


def _solve(args) -> int:
    from .plan import solve
    from .results.report import plan_text
    from .results.verify import verify_plan
    from .results.write import OutputExistsError, write_plan
    from .instance.decisions import Decisions
    from .model.context import Risk
    from .solve import FEASIBLE, INFEASIBLE, OPTIMAL

    overwrite = OVERWRITE in (args.force or [])
    forced = [f for f in args.force or [] if f != OVERWRITE]
    if args.out and Path(args.out).exists() and not overwrite:
        print(f"{args.out} already exists; use --force to replace it", file=sys.stderr)
        return EXIT_OUTPUT
    try:
        risk = Risk.parse(args.risk) if args.risk else None
        decisions = Decisions.parse(forced, args.forbid) if (forced or args.forbid) else None
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    t0 = time.perf_counter()
    inst = load_with_overrides(args)
    load_s = time.perf_counter() - t0
    plan = solve(inst, time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads, seed=args.seed,
                 write_model=args.write_model, verbose=args.verbose, decisions=decisions, risk=risk)
    plan.seconds = {"load": load_s, **plan.seconds}
    plan.instance_file = str(Path(args.file).resolve())
    if args.verify and plan.has_solution:
        rep = verify_plan(inst, plan.tables, plan.expected_cost)
        plan.messages.append("verifier: plan re-checked, all constraints hold" if rep.ok else
                             f"verifier: {len(rep.violations)} violation(s): " + "; ".join(rep.violations[:5]))
    if args.quiet:
        print(f"{plan.status} {plan.objective}")
    else:
        print(plan_text(plan))
    if args.out:
        try:
            path = write_plan(plan, args.out, force=overwrite, fmt=args.format)
            print(f"\nwrote {len(plan.tables)} tables and summary.json to {path}")
        except OutputExistsError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_OUTPUT
    if plan.status in (OPTIMAL, FEASIBLE):
        return EXIT_OK
    if plan.status == INFEASIBLE:
        return EXIT_INFEASIBLE
    return EXIT_NO_SOLUTION


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
