"""Search strategies side by side: ``direct`` vs ``fix-and-optimize`` on one instance, one run.

    python -m benchmarks.strategy out/synth-M-1.yaml --time-limit 120 --threads 1
    python -m benchmarks.strategy out/synth-L-1.yaml --time-limit 300 --threads 1 --csv out/strategy-L.csv

Each strategy solves the instance in turn, in this process, with the same time limit, gap,
threads and seed (so under the same machine load). Printed per strategy: wall seconds of the
solve stage, status, the plan's cost, the best bound and their gap at the end, and the first
time the search's history (``Plan.progress``) was within 5 / 2 / 1 % (incumbent vs bound of
the same moment), plus the seconds of the fix-and-optimize stages.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import optimizer.solver.strategy as fo
from optimizer import solve
from optimizer.options import SolveOptions

GAPS = (0.05, 0.02, 0.01)


def time_to_gap(progress: list[dict[str, float | None]], gap: float) -> float | None:
    """First ``seconds`` of the history whose gap is <= ``gap`` (None if never)."""
    for point in progress:
        g = point.get("gap")
        if g is not None and g <= gap:
            return point.get("seconds")
    return None


def run(path: str, strategy: str, args: argparse.Namespace) -> dict[str, Any]:
    """Solve once with ``strategy`` (``fix-and-optimize:ROUNDING`` picks a rounding of
    :data:`optimizer.solver.strategy.ROUNDINGS`); the row of figures printed and written."""
    name, _, rounding = strategy.partition(":")
    options = SolveOptions(time_limit=args.time_limit, threads=args.threads, seed=args.seed, mip_gap=args.mip_gap,
                           strategy=name, verify=args.verify)
    saved = fo.ROUNDING
    fo.ROUNDING = rounding or saved
    try:
        t0 = time.perf_counter()
        plan = solve(path, options)
        wall = time.perf_counter() - t0
    finally:
        fo.ROUNDING = saved
    row: dict[str, Any] = {
        "instance": Path(path).stem, "strategy": strategy, "time_limit": args.time_limit, "threads": args.threads,
        "status": str(plan.status), "solver_status": plan.solver_status, "objective": plan.objective,
        "bound": plan.best_bound, "gap": plan.mip_gap, "solve_s": round(plan.seconds.get("solve", 0.0), 2),
        "end_to_end_s": round(wall, 2),
    }
    for g in GAPS:
        row[f"t_{100 * g:g}pct_s"] = time_to_gap(plan.progress, g)
    for stage in ("lp_relaxation", "restricted_mip", "full_mip"):
        row[f"{stage}_s"] = round(plan.seconds[stage], 2) if stage in plan.seconds else None
    row["messages"] = " | ".join(m for m in plan.messages if "fix-and-optimize" in m or "verifier" in m)
    return row


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run every strategy, print the table (and write --csv)."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.strategy", description=__doc__.split("\n")[0])
    p.add_argument("instance")
    p.add_argument("--strategies", default="direct,fix-and-optimize",
                   help="comma-separated: direct, fix-and-optimize, fix-and-optimize:partial")
    p.add_argument("--time-limit", type=float, default=120.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mip-gap", type=float, default=1e-4)
    p.add_argument("--verify", action="store_true", help="re-check each plan with the verifier")
    p.add_argument("--csv", help="write the rows to this CSV file")
    args = p.parse_args(argv)
    rows = []
    for strategy in args.strategies.split(","):
        row = run(args.instance, strategy.strip(), args)
        rows.append(row)
        print("  ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
    keys = ["strategy", "status", "objective", "bound", "gap", "solve_s", "t_5pct_s", "t_2pct_s", "t_1pct_s",
            "lp_relaxation_s", "restricted_mip_s", "full_mip_s"]
    print("\n" + " | ".join(keys))
    for row in rows:
        print(" | ".join(_fmt(row[k]) for k in keys))
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
