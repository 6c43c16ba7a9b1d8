"""Commands ``dcplan sweep``, ``dcplan marginal`` and ``dcplan explain`` (what-if analysis).

``sweep FILE --grid PATH=V1,V2 [--grid ...] --out DIR`` solves every combination
(:mod:`optimizer.analysis.sweep`) and writes ``DIR/comparison.csv`` and ``DIR/runs/<id>/``.
``marginal FILE [--out DIR]`` prints the marginal values of the plan's limits
(:mod:`optimizer.analysis.marginal`) and writes them as ``marginal_values.csv``.
``explain FILE --why-not KIND=ID | --why KIND=ID`` compares the plan with the
counterfactual (:mod:`optimizer.analysis.explain`).

Exit codes as ``dcplan solve``: 0 done, 2 invalid input, 3 infeasible (the base plan, or
every run of a sweep), 4 no plan within the limits, 5 the output folder exists (use --overwrite).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from optimizer.cli._common import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    FLAGS_EPILOG,
    INSTANCE_HELP,
    KINDS_HELP,
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
    risk,
    solve_options,
)
from optimizer.options import Status

INSTANCE_FILE = INSTANCE_HELP
_STATUS_WORDS = frozenset(s.value for s in Status)


def register(sub: Any) -> None:
    """Add ``sweep``, ``marginal`` and ``explain`` to the sub-command parsers."""
    s = sub.add_parser("sweep", help="solve every combination of parameter values and compare the plans",
                       description="Solve the cartesian product of --grid values (in parallel) and write one comparison "
                       "table (DIR/comparison.csv) plus every run's tables (DIR/runs/<run-id>/).", epilog=FLAGS_EPILOG)
    s.add_argument("file", help=INSTANCE_FILE)
    s.add_argument("--grid", action="append", required=True, metavar="PATH=V1,V2,...",
                   help="values of one field, e.g. sites[lingang].grid_mw=100,200 or systems[cm384].price_usd_per_unit*=1,1.2 "
                   "(scale); repeat for a product")
    add_output_options(s, out_help="folder for comparison.csv, sweep.json and runs/", required=True, decisions=True)
    s.add_argument("--workers", type=int, metavar="N", help="parallel solves (default: min(CPU count, runs))")
    s.add_argument("--executor", choices=("process", "dask", "serial"), default="process",
                   help="process pool (default), a Dask cluster, or one after the other")
    s.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: start a local cluster)")
    s.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add_solve_options(s, diagnose_default=10.0)
    add_risk_option(s)
    add_decision_options(s, "force a choice in every run")
    add_override_options(s)
    s.set_defaults(handler=sweep, output_kind="folder")

    m = sub.add_parser("marginal", help="marginal values: what one more MW of grid, unit under a cap, point of a target is worth",
                       description="Solve, fix the discrete decisions, re-solve the LP and report the duals of grid limits, "
                       "export caps, supply limits and share targets in planners' units, plus the subsidies captured.",
                       epilog=FLAGS_EPILOG)
    m.add_argument("file", help=INSTANCE_FILE)
    add_output_options(m, out_help="write the plan's tables and marginal_values.csv into DIR", decisions=True)
    m.add_argument("--all", action="store_true", help="print every row, also zero and unpriced ones")
    add_solve_options(m, diagnose_default=60.0)
    add_risk_option(m)
    add_decision_options(m)
    add_override_options(m)
    m.set_defaults(handler=marginal, output_kind="folder")

    e = sub.add_parser("explain", help="why (not) a site, option or system: solve with it forced or forbidden and compare",
                       description="Solve the plan and the counterfactual, and report the cost difference by category, "
                       "the builds and systems that change and the limits that bind differently.", epilog=FLAGS_EPILOG)
    e.add_argument("file", help=INSTANCE_FILE)
    e.add_argument("--why-not", action="append", default=[], metavar="KIND=ID",
                   help=f"force a choice the plan did not make ({KINDS_HELP})")
    e.add_argument("--why", action="append", default=[], metavar="KIND=ID", help="forbid a choice the plan made (same kinds)")
    add_output_options(e, out_help="write explanation.txt, costs/builds/systems/limits.csv and both plans into DIR",
                       decisions=True)
    add_solve_options(e, diagnose_default=10.0)
    add_risk_option(e)
    add_decision_options(e, "impose a choice on both plans")
    add_override_options(e)
    e.set_defaults(handler=explain, output_kind="folder")


def sweep_exit_code(statuses: Iterable[str]) -> int:
    """0 if any run has a plan, 3 if every run is infeasible, else 4 (runs that raised count as 4)."""
    codes = [exit_code(Status(s)) if s in _STATUS_WORDS else EXIT_NO_SOLUTION for s in statuses]
    if EXIT_OK in codes:
        return EXIT_OK
    return EXIT_INFEASIBLE if all(c == EXIT_INFEASIBLE for c in codes) else EXIT_NO_SOLUTION


# ----------------------------------------------------------------------------- sweep
def sweep(args: argparse.Namespace) -> int:
    """``dcplan sweep``: solve the grid, print the comparison table, write DIR."""
    import pandas as pd

    from optimizer.analysis.sweep import SweepError, parse_grid
    from optimizer.analysis.sweep import sweep as run_sweep
    from optimizer.results.format import money, pct

    dec, rsk, options = decisions(args), risk(args), solve_options(args)
    if args.workers is not None and args.workers < 1:
        raise UsageError("invalid option: --workers must be at least 1")
    if args.scheduler and args.executor != "dask":
        raise UsageError("invalid option: --scheduler needs --executor dask")
    check_output(args.out, args.overwrite)
    grid = parse_grid(args.grid)
    inst = load_with_overrides(args, dec)
    try:
        res = run_sweep(inst, grid, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                        options=options, out=args.out, overwrite=args.overwrite, progress=args.progress,
                        decisions=dec, risk=rsk)
    except SweepError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    t = res.table
    cols = ["run_id", *grid, "status", "objective_usd", "sites_built", "unserved_pct", "idle_capacity_pct", "idle_systems_pct"]
    print(f"sweep of '{inst.name}': {len(t)} runs in {res.seconds:.1f} s")
    view = t[cols].copy()
    view["objective_usd"] = [money(x, "USD") if pd.notna(x) else "n/a" for x in view["objective_usd"]]
    for c in ("unserved_pct", "idle_capacity_pct", "idle_systems_pct"):
        view[c] = [pct(x, 2) if pd.notna(x) else "n/a" for x in view[c]]
    print(view.to_string(index=False))
    for rid, err in res.errors.items():
        print(f"{rid}: failed: {err}", file=sys.stderr)
    print(f"\nwrote comparison.csv, sweep.json and {len(res.plans)} run folders to {res.out_dir}")
    return sweep_exit_code(t["status"])


# ----------------------------------------------------------------------------- marginal
def marginal(args: argparse.Namespace) -> int:
    """``dcplan marginal``: solve, print the marginal values of the limits, write --out DIR."""
    import pandas as pd

    from optimizer.analysis.marginal import marginal_values
    from optimizer.plan import solve
    from optimizer.results.format import money, number
    from optimizer.results.write import write_plan

    dec, rsk, options = decisions(args), risk(args), solve_options(args)
    check_output(args.out, args.overwrite)
    inst = load_with_overrides(args, dec)
    plan = solve(inst, options, decisions=dec, risk=rsk, keep_model=True)
    cur = inst.horizon.currency
    objective = f", objective {money(plan.objective, cur)}" if plan.objective is not None else ""
    print(f"dcplan marginal — {inst.name}: {plan.status}{objective}")
    if not plan.has_solution:
        for msg in plan.messages:
            print(f"  ! {msg}")
        return exit_code(plan.status)
    df = marginal_values(plan)
    print(f"duals of the LP with every discrete decision fixed at the plan (LP objective "
          f"{money(df.attrs['lp_objective'], cur)}); values are {df.attrs['objective']}, probability-weighted and discounted; "
          "scenario 'all' = every scenario at once")
    if df.attrs.get("block_resolves"):
        print(f"built capacity that binds where the LP gives no price: {df.attrs['block_resolves']} re-solves with the builds "
              f"fixed, without and with one more block (the plan's solver settings: values within "
              f"±{money(df.attrs['block_tolerance'], cur)} are the solver's gap)")
    shown = df if args.all else df[df["value"].abs() > 1e-9]
    hidden = len(df) - len(shown)
    if len(shown):
        view = pd.DataFrame({
            "kind": shown["kind"], "record": shown["record"], "period": shown["period"], "scenario": shown["scenario"],
            "value": [money(x, cur) if not math.isnan(x) else "-" for x in shown["value"]],
            "per": [u.partition("/")[2] for u in shown["unit"]], "method": shown["method"],
            "slack": [number(x) if not math.isnan(x) else "-" for x in shown["slack"]],
        })
        print(view.to_string(index=False))
    else:
        print("no limit has a non-zero marginal value")
    if hidden:
        n_nan = int(df["value"].isna().sum())
        unpriced = f" or not priced by the LP ({n_nan}: discrete decisions fix every term, or nothing is online)" if n_nan else ""
        print(f"({hidden} rows with value 0{unpriced} not shown; --all shows them)")
    if args.out:
        plan.tables["marginal_values"] = df
        path = write_plan(plan, args.out, overwrite=args.overwrite)
        print(f"\nwrote the plan's tables and marginal_values.csv to {path}")
    return EXIT_OK


# ----------------------------------------------------------------------------- explain
def explain(args: argparse.Namespace) -> int:
    """``dcplan explain``: the plan against its counterfactual; write --out DIR."""
    from optimizer.analysis.explain import explain as run_explain
    from optimizer.files import atomic_folder
    from optimizer.instance.decisions import Decisions
    from optimizer.results.write import write_plan

    dec, rsk, options = decisions(args), risk(args), solve_options(args)
    if not args.why_not and not args.why:
        raise UsageError("invalid option: give --why-not KIND=ID (force a choice) or --why KIND=ID (forbid one)")
    try:
        Decisions.parse(args.why_not, args.why)
    except ValueError as exc:
        raise UsageError(f"invalid option: {exc}") from None
    check_output(args.out, args.overwrite)
    inst = load_with_overrides(args, dec)
    ex = run_explain(inst, force=args.why_not, forbid=args.why, base_decisions=dec, options=options, risk=rsk)
    print(ex.text())
    if not ex.base.has_solution:
        for msg in ex.base.messages:
            print(f"  ! {msg}")
        return exit_code(ex.base.status)
    if args.out:
        with atomic_folder(args.out, overwrite=args.overwrite) as tmp:
            (tmp / "explanation.txt").write_text(ex.text() + "\n")
            for name, df in ex.tables().items():
                df.to_csv(tmp / f"{name}.csv", index=False)
            write_plan(ex.base, tmp / "base")
            if ex.variant.has_solution:
                write_plan(ex.variant, tmp / "variant")
        print(f"\nwrote explanation.txt, costs, builds, systems and limits tables and both plans to {Path(args.out)}")
    return EXIT_OK
