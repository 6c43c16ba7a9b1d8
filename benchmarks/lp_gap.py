"""Where a plan's cost exceeds the LP relaxation's, by cost category.

::

    python -m benchmarks.lp_gap synth-L-1.json benchmarks/results/best-known/synth-L-1-relax-and-fix-3600s-costs.csv

Solves the LP relaxation of the instance (every integer continuous) with HiGHS, evaluates each
cost term the model registers (:class:`optimizer.model.context.CostTerm`) at the LP's values,
and puts them beside a plan's ``costs.csv`` (a plan folder's, or a copy): expected discounted USD
by category (probability-weighted over scenarios), the difference, and how many job-scenarios
the LP splits over two or more sites. The LP's total equals its objective (checked). Nothing in
``optimizer/`` is changed; nothing is timed in the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path


def lp_breakdown(instance: str, threads: int | None = None, time_limit: float | None = None) -> dict:
    """LP relaxation of ``instance``: objective, seconds, cost by category (expected discounted
    USD) and the job-scenarios placed at all / split over sites."""
    import pyomo.environ as pyo

    import optimizer
    from optimizer.plan import timed_build
    from optimizer.solver import reset_thread_pool
    from optimizer.solver.session import HighsSession

    prep, m, ctx, _ = timed_build(optimizer.load_instance(instance))
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    session = HighsSession(m)
    scale = session.scale_objective()
    session.set_option("output_flag", False)
    if threads:
        session.set_option("threads", threads)
        reset_thread_pool()
    t0 = time.perf_counter()
    out = session.run(time_limit=time_limit, mip_gap=0.0)
    seconds = time.perf_counter() - t0
    if out.x is None or out.objective is None:
        raise SystemExit(f"{instance}: the LP relaxation ended without a solution ({out.solver_status})")
    for var in m.component_data_objects(pyo.Var, descend_into=True):
        col = session.column(var)
        if col >= 0:
            var.set_value(float(out.x[col]), skip_validation=True)
    prob = {w.id: w.probability for w in prep.scenarios}
    by_category: defaultdict[str, float] = defaultdict(float)
    for term in ctx.costs:
        by_category[term.category] += prob[term.scenario] * term.factor * float(pyo.value(term.expr))
    sites_of: defaultdict[tuple, set] = defaultdict(set)
    for (job, site, _family, scenario), var in m.assign.items() if hasattr(m, "assign") else ():
        if (var.value or 0.0) > 1e-6:
            sites_of[(job, scenario)].add(site)
    return {"objective": out.objective / scale, "status": out.solver_status, "seconds": seconds,
            "by_category": dict(by_category), "placed": len(sites_of),
            "split": sum(1 for s in sites_of.values() if len(s) > 1)}


def plan_costs(costs_csv: str | Path) -> dict[str, float]:
    """Expected discounted USD by category of a plan's ``costs.csv``."""
    import pandas as pd

    c = pd.read_csv(costs_csv)
    return (c["probability"] * c["discounted_usd"]).groupby(c["category"]).sum().to_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lp_gap", description=__doc__.split("\n")[0])
    ap.add_argument("instance")
    ap.add_argument("costs_csv", metavar="COSTS.csv", help="a plan's costs.csv")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--time-limit", type=float)
    args = ap.parse_args(argv)
    lp = lp_breakdown(args.instance, args.threads, args.time_limit)
    plan = plan_costs(args.costs_csv)
    cats = sorted(set(lp["by_category"]) | set(plan))
    print(f"LP relaxation {lp['objective']:.6g} USD ({lp['status']}, {lp['seconds']:.1f} s); "
          f"{lp['split']} of {lp['placed']} placed job-scenarios split over 2+ sites")
    print(f"{'category':<26}{'LP (bn)':>12}{'plan (bn)':>12}{'plan - LP':>12}")
    for k in cats:
        a, b = lp["by_category"].get(k, 0.0) / 1e9, plan.get(k, 0.0) / 1e9
        print(f"{k:<26}{a:>12.3f}{b:>12.3f}{b - a:>+12.3f}")
    total_lp, total_plan = sum(lp["by_category"].values()) / 1e9, sum(plan.values()) / 1e9
    print(f"{'total':<26}{total_lp:>12.3f}{total_plan:>12.3f}{total_plan - total_lp:>+12.3f}")
    if abs(total_lp * 1e9 - lp["objective"]) > 1e-6 * max(1.0, abs(lp["objective"])):
        print(f"warning: the categories sum to {total_lp * 1e9:.6g}, the LP objective is {lp['objective']:.6g}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
