"""Extensive form vs progressive hedging on sampled scenario sets.

::

    python -m benchmarks.decomposition instances/china-bubble.yaml --scenarios 3,10,50 --time-limit 600
    python -m benchmarks.decomposition out/synth-S.yaml --scenarios 50 --mip-gap 0.01 --csv out/decomp.csv
    python -m benchmarks.decomposition out/synth-M.json --scenarios 50 --mip-gap 0.02 --time-limit 1800 \
        --executor dask --workers 2 --threads 1 --strategy relax-and-fix

For each N the base instance gets N Monte-Carlo scenarios
(``sample_scenarios(base, N, seed, sigma=0.3, common_sigma=0.3)``, with the base's own
scenarios as policy regimes when it has any, as in ``docs/uncertainty.md``). The same
instance is then solved twice with the same time limit and target gap:

- ``extensive``: :func:`optimizer.solve` (one MIP with every scenario);
- ``hedging``: :func:`optimizer.analysis.hedging.progressive_hedging`, its scenario models in this
  process (``--executor serial``) or on Dask workers (``--executor dask``: a local cluster of
  ``--workers`` processes, or the cluster at ``--scheduler ADDRESS``).

``--strategy`` is the extensive form's search strategy (``SolveOptions.strategy``).

One row per (N, method): status, expected cost of the plan, best lower bound, gap, seconds
(wall), and for hedging the iterations and scenario solves. ``vs_extensive_pct`` is the plan's
expected cost relative to the extensive form's plan (negative: hedging found the cheaper one).
Nothing is timed in the test suite.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

COLUMNS = ["instance", "scenarios", "method", "status", "expected_cost", "lower_bound", "gap", "seconds",
           "iterations", "solves", "vs_extensive_pct", "variables", "constraints"]


def scenario_set(base, n: int, seed: int):
    from optimizer.analysis.scenarios import DEMAND_FIELDS, Regime, sample_scenarios

    regimes = None
    if base.scenarios:
        regimes = []
        for w in base.scenarios:
            fields = {k: v for k, v in w.model_dump(exclude_none=True).items()
                      if k not in ("id", "probability", "description") and k not in DEMAND_FIELDS}
            regimes.append(Regime(w.id, w.probability, w.description, fields))
    return sample_scenarios(base, n, seed=seed, sigma=0.3, common_sigma=0.3, regimes=regimes)


def run(path: str, counts: list[int], *, time_limit: float, mip_gap: float, seed: int, threads: int | None,
        methods: list[str], executors: tuple[str, ...] = ("serial",), workers: int | None = None,
        scheduler: str | None = None, strategy: str = "auto", max_iterations: int = 50) -> list[dict]:
    import optimizer
    from optimizer.analysis.hedging import HedgingOptions, progressive_hedging

    base = optimizer.load_instance(path)
    rows = []
    for n in counts:
        inst = scenario_set(base, n, seed)
        ef_cost = None
        if "extensive" in methods:
            t0 = time.perf_counter()
            opts = optimizer.SolveOptions(time_limit=time_limit, mip_gap=mip_gap, threads=threads, diagnose_time_limit=10,
                                          strategy=strategy)
            plan = optimizer.solve(inst, opts)
            secs = time.perf_counter() - t0
            ef_cost = plan.expected_cost if plan.has_solution else None
            rows.append({"instance": base.name, "scenarios": n, "method": f"extensive ({strategy})", "status": plan.status,
                         "expected_cost": ef_cost, "lower_bound": plan.best_bound, "gap": plan.mip_gap,
                         "seconds": round(secs, 1), "iterations": None, "solves": 1, "vs_extensive_pct": 0.0 if ef_cost else None,
                         "variables": plan.model_size.get("variables"), "constraints": plan.model_size.get("constraints")})
            _print(rows[-1])
        for executor in executors if "hedging" in methods else ():
            t0 = time.perf_counter()
            hopts = HedgingOptions(executor=executor, workers=workers, scheduler=scheduler if executor == "dask" else None,
                                   max_iterations=max_iterations)
            res = progressive_hedging(inst, optimizer.SolveOptions(mip_gap=mip_gap, time_limit=time_limit, threads=threads),
                                      hopts)
            secs = time.perf_counter() - t0
            ub = res.upper_bound
            rows.append({"instance": base.name, "scenarios": n, "method": f"hedging ({executor})", "status": res.status,
                         "expected_cost": ub, "lower_bound": res.lower_bound, "gap": res.gap, "seconds": round(secs, 1),
                         "iterations": len(res.iterations), "solves": res.solves,
                         "vs_extensive_pct": (100 * (ub - ef_cost) / ef_cost) if (ub is not None and ef_cost) else None,
                         "variables": None, "constraints": None})
            _print(rows[-1])
        ph = [r for r in rows if r["scenarios"] == n and r["method"].startswith("hedging")]
        if len(ph) == 2:
            same = ph[0]["expected_cost"] == ph[1]["expected_cost"] and ph[0]["iterations"] == ph[1]["iterations"]
            print(f"  {ph[1]['method']} vs {ph[0]['method']}: {ph[0]['seconds'] / max(ph[1]['seconds'], 1e-9):.2f}x "
                  f"the speed; same iterations and plan: {'yes' if same else 'no'}", flush=True)
    return rows


def _fmt(x, spec: str = "") -> str:
    if x is None or x != x:
        return "-"
    return format(x, spec) if spec else str(x)


def _print(r: dict) -> None:
    print(f"{r['instance']:<14} N={r['scenarios']:<4} {r['method']:<26} {r['status']:<12} "
          f"cost {_fmt(r['expected_cost'], ',.0f'):>18}  bound {_fmt(r['lower_bound'], ',.0f'):>18}  "
          f"gap {_fmt(None if r['gap'] is None else 100 * r['gap'], '.2f'):>6} %  {r['seconds']:>7.1f} s  "
          f"it {_fmt(r['iterations']):>3}  vs EF {_fmt(r['vs_extensive_pct'], '+.2f')} %", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.decomposition", description=__doc__.split("\n")[0])
    ap.add_argument("instance")
    ap.add_argument("--scenarios", default="3,10,50", help="comma-separated scenario counts (default 3,10,50)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per method and N (default 600)")
    ap.add_argument("--mip-gap", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--methods", default="extensive,hedging")
    ap.add_argument("--csv", metavar="OUT.csv")
    ap.add_argument("--executor", default="serial",
                    help="where hedging's scenario models live: serial, dask, or serial,dask (both, one after the other)")
    ap.add_argument("--max-iterations", type=int, default=50, help="hedging iterations (default 50)")
    ap.add_argument("--workers", type=int, help="local Dask workers (default: one per core)")
    ap.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler address instead of a local cluster")
    ap.add_argument("--strategy", default="auto", help="search strategy of the extensive form (default auto)")
    args = ap.parse_args(argv)
    rows = run(args.instance, [int(x) for x in args.scenarios.split(",")], time_limit=args.time_limit,
               mip_gap=args.mip_gap, seed=args.seed, threads=args.threads, methods=args.methods.split(","),
               executors=tuple(args.executor.split(",")), workers=args.workers, scheduler=args.scheduler,
               strategy=args.strategy, max_iterations=args.max_iterations)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
