"""Sub-commands ``dcplan sweep``, ``dcplan marginal`` and ``dcplan explain`` (registered in :mod:`optimizer.cli`).

``dcplan sweep FILE --grid PATH=V1,V2 [--grid ...] --out DIR`` solves every combination
(:mod:`optimizer.analysis.sweep`) and writes ``DIR/comparison.csv`` and ``DIR/runs/<id>/``.
``dcplan marginal FILE [--out DIR]`` prints the marginal values of the plan's limits
(:mod:`optimizer.analysis.marginal`) and writes them as ``marginal_values.csv``.
``dcplan explain FILE --why-not KIND=ID | --why KIND=ID`` compares the plan with the
counterfactual (:mod:`optimizer.analysis.explain`).

Exit codes as ``dcplan solve``: 0 done, 2 invalid input, 3 infeasible (the base plan, or
every run of a sweep), 4 no plan within the limits, 5 the output folder exists (use --force).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .cli import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    EXIT_OUTPUT,
    OVERWRITE,
    add_override_options,
    load_with_overrides,
)

KINDS_HELP = "site=ID, option=SITE:OPTION, system=ID, family=ID, site_system=SITE:SYSTEM"


def register(sub) -> None:
    s = sub.add_parser("sweep", help="solve every combination of parameter values and compare the plans",
                       description="Solve the cartesian product of --grid values (in parallel) and write one comparison "
                       "table (DIR/comparison.csv) plus every run's tables (DIR/runs/<run-id>/).")
    s.add_argument("file", help="instance file (.yaml, .yml or .json)")
    s.add_argument("--grid", action="append", required=True, metavar="PATH=V1,V2,...",
                   help="values of one field, e.g. sites[lingang].grid_mw=100,200 or systems[cm384].price_usd_per_unit*=1,1.2 "
                   "(scale); repeat for a product")
    s.add_argument("--out", required=True, metavar="DIR", help="folder for comparison.csv, sweep.json and runs/")
    s.add_argument("--workers", type=int, metavar="N", help="parallel solves (default: min(CPU count, runs))")
    s.add_argument("--executor", choices=("process", "dask", "serial"), default="process",
                   help="process pool (default), a Dask cluster, or one after the other")
    s.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: start a local cluster)")
    s.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    _solve_options(s)
    _decision_options(s, "force a choice in every run")
    add_override_options(s)
    s.set_defaults(handler=_sweep)

    m = sub.add_parser("marginal", help="marginal values: what one more MW of grid, unit under a cap, point of a target is worth",
                       description="Solve, fix the discrete decisions, re-solve the LP and report the duals of grid limits, "
                       "export caps, supply limits and share targets in planners' units, plus the subsidies captured.")
    m.add_argument("file", help="instance file (.yaml, .yml or .json)")
    m.add_argument("--out", metavar="DIR", help="write the plan's tables and marginal_values.csv into DIR")
    m.add_argument("--all", action="store_true", help="print every row, also zero and unpriced ones")
    _solve_options(m)
    _decision_options(m)
    add_override_options(m)
    m.set_defaults(handler=_marginal)

    e = sub.add_parser("explain", help="why (not) a site, option or system: solve with it forced or forbidden and compare",
                       description="Solve the plan and the counterfactual, and report the cost difference by category, "
                       "the builds and systems that change and the limits that bind differently.")
    e.add_argument("file", help="instance file (.yaml, .yml or .json)")
    e.add_argument("--why-not", action="append", default=[], metavar="KIND=ID", help=f"force a choice the plan did not make ({KINDS_HELP})")
    e.add_argument("--why", action="append", default=[], metavar="KIND=ID", help="forbid a choice the plan made (same kinds)")
    e.add_argument("--out", metavar="DIR", help="write explanation.txt, costs/builds/systems/limits.csv and both plans into DIR")
    _solve_options(e)
    _decision_options(e, "impose a choice on both plans")
    add_override_options(e)
    e.set_defaults(handler=_explain)


def _solve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="limit for each solve")
    p.add_argument("--mip-gap", type=float, default=1e-4, metavar="REL", help="relative gap of each solve (default 1e-4)")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads per solve")
    p.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    p.add_argument("--risk", metavar="cvar:ALPHA:WEIGHT", help="minimise (1-WEIGHT) expected cost + WEIGHT CVaR_ALPHA")


def _decision_options(p: argparse.ArgumentParser, with_kind: str = "force a choice") -> None:
    p.add_argument("--force", dest="force", action="append", nargs="?", const=OVERWRITE, metavar="KIND=ID",
                   help=f"alone: replace --out DIR if it exists; with KIND=ID: {with_kind} ({KINDS_HELP})")
    p.add_argument("--forbid", action="append", metavar="KIND=ID", help="forbid a choice (same kinds as --force)")


def _common(args):
    """(overwrite, Decisions or None, Risk or None) from the shared options; ValueError if malformed."""
    from .instance.decisions import Decisions
    from .model.context import Risk

    overwrite = OVERWRITE in (args.force or [])
    forced = [f for f in args.force or [] if f != OVERWRITE]
    decisions = Decisions.parse(forced, args.forbid) if (forced or args.forbid) else None
    risk = Risk.parse(args.risk) if args.risk else None
    return overwrite, decisions, risk


def _exists(out: str | None, overwrite: bool) -> bool:
    if out and Path(out).exists() and not overwrite:
        print(f"{out} already exists; use --force to replace it", file=sys.stderr)
        return True
    return False


# ----------------------------------------------------------------------------- sweep
def _sweep(args: argparse.Namespace) -> int:
    from .analysis.sweep import SweepError, parse_grid, sweep

    try:
        overwrite, decisions, risk = _common(args)
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.workers is not None and args.workers < 1:
        print("invalid option: --workers must be at least 1", file=sys.stderr)
        return EXIT_INPUT
    if args.scheduler and args.executor != "dask":
        print("invalid option: --scheduler needs --executor dask", file=sys.stderr)
        return EXIT_INPUT
    if _exists(args.out, overwrite):
        return EXIT_OUTPUT
    grid = parse_grid(args.grid)
    inst = load_with_overrides(args)
    try:
        res = sweep(inst, grid, executor=args.executor, workers=args.workers, scheduler=args.scheduler, out=args.out,
                    force=overwrite, progress=args.progress, decisions=decisions, risk=risk, time_limit=args.time_limit,
                    mip_gap=args.mip_gap, threads=args.threads, seed=args.seed)
    except SweepError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    t = res.table
    cols = ["run_id", *grid, "status", "objective_usd", "sites_built", "unserved_pct", "idle_pct"]
    print(f"sweep of '{inst.name}': {len(t)} runs in {res.seconds:.1f} s")
    print(t[cols].to_string(index=False, float_format=lambda x: f"{x:,.6g}"))
    for rid, err in res.errors.items():
        print(f"{rid}: failed: {err}", file=sys.stderr)
    print(f"\nwrote comparison.csv, sweep.json and {len(res.plans)} run folders to {res.out_dir}")
    if t["status"].isin(["optimal", "feasible"]).any():
        return EXIT_OK
    return EXIT_INFEASIBLE if (t["status"] == "infeasible").all() else EXIT_NO_SOLUTION


# ----------------------------------------------------------------------------- marginal
def _marginal(args: argparse.Namespace) -> int:
    from .analysis.marginal import marginal_values
    from .plan import solve
    from .results.write import write_plan

    try:
        overwrite, decisions, risk = _common(args)
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if _exists(args.out, overwrite):
        return EXIT_OUTPUT
    inst = load_with_overrides(args)
    plan = solve(inst, time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads, seed=args.seed,
                 decisions=decisions, risk=risk, keep_model=True)
    cur = inst.horizon.currency
    print(f"dcplan marginal — {inst.name}: {plan.status}" + (f", objective {plan.objective:,.2f} {cur}" if plan.objective is not None else ""))
    if not plan.has_solution:
        for msg in plan.messages:
            print(f"  ! {msg}")
        return EXIT_INFEASIBLE if plan.status == "infeasible" else EXIT_NO_SOLUTION
    df = marginal_values(plan)
    print(f"duals of the LP with every discrete decision fixed at the plan (LP objective {df.attrs['lp_objective']:,.2f} {cur}); "
          f"values are {df.attrs['objective']}, probability-weighted and discounted; scenario 'all' = every scenario at once")
    shown = df if args.all else df[df["value"].abs() > 1e-9]
    hidden = len(df) - len(shown)
    if len(shown):
        view = shown[["kind", "record", "period", "scenario", "value", "unit", "slack"]]
        print(view.to_string(index=False, float_format=lambda x: "-" if math.isnan(x) else f"{x:,.6g}"))
    else:
        print("no limit has a non-zero marginal value")
    if hidden:
        n_nan = int(df["value"].isna().sum())
        print(f"({hidden} rows with value 0" + (f" or not priced ({n_nan}: every term fixed by the discrete decisions)" if n_nan else "")
              + " not shown; --all shows them)")
    if args.out:
        plan.tables["marginal_values"] = df
        path = write_plan(plan, args.out, force=overwrite)
        print(f"\nwrote the plan's tables and marginal_values.csv to {path}")
    return EXIT_OK


# ----------------------------------------------------------------------------- explain
def _explain(args: argparse.Namespace) -> int:
    from .analysis.explain import explain
    from .instance.decisions import Decisions
    from .results.write import write_plan

    try:
        overwrite, decisions, risk = _common(args)
        if not args.why_not and not args.why:
            raise ValueError("give --why-not KIND=ID (force a choice) or --why KIND=ID (forbid one)")
        Decisions.parse(args.why_not, args.why)
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if _exists(args.out, overwrite):
        return EXIT_OUTPUT
    inst = load_with_overrides(args)
    ex = explain(inst, force=args.why_not, forbid=args.why, base_decisions=decisions, risk=risk,
                 time_limit=args.time_limit, mip_gap=args.mip_gap, threads=args.threads, seed=args.seed)
    print(ex.text())
    if not ex.base.has_solution:
        for msg in ex.base.messages:
            print(f"  ! {msg}")
        return EXIT_INFEASIBLE if ex.base.status == "infeasible" else EXIT_NO_SOLUTION
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            (tmp / "explanation.txt").write_text(ex.text() + "\n")
            for name, df in ex.tables().items():
                df.to_csv(tmp / f"{name}.csv", index=False)
            write_plan(ex.base, tmp / "base")
            if ex.variant.has_solution:
                write_plan(ex.variant, tmp / "variant")
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        print(f"\nwrote explanation.txt, costs, builds, systems and limits tables and both plans to {out}")
    return EXIT_OK
