r"""OR-Library capacitated facility location (Beasley's cap41–cap134, capa/capb/capc) as dcplan instances.

Commands (from the repository root)::

    python -m benchmarks.orlib convert cap41 out/cap41.yaml
    python -m benchmarks.orlib convert capa out/capa-8000.json --capacity 8000
    python -m benchmarks.orlib convert cap41 out/cap41-ss.yaml --single-source
    python -m benchmarks.orlib run                      # all 37 cap41–cap134, exit 1 on a mismatch
    python -m benchmarks.orlib run capa capb-6000 --time-limit 600 --csv out/capabc.csv

Data: the folder named by ``DCPLAN_ORLIB``, by default ``../shared/benchmarks/orlib`` next to the
repository (files ``cap/<name>.txt`` and ``optima.csv``; see its ``SOURCES.md``).

Mapping (the model the OR-Library optima refer to: :math:`y_i\in\{0,1\}`, fractional
:math:`0\le x_{ij}\le1`, :math:`\min \sum_i f_i y_i + \sum_{ij} c_{ij} x_{ij}`, :math:`\sum_i x_{ij}=1`,
:math:`\sum_j d_j x_{ij}\le s_i y_i`):

* one period ``y1`` of one year, no discounting, free electricity;
* warehouse *i* → a ``convertible`` site ``w<i>`` with one build option ``open``: fixed capex
  :math:`f_i`, no capex per MW, no lead time, PUE 1, usable grid share 1, ``block_mw =
  max_it_mw =`` :math:`s_i` (1 MW ≙ 1 unit of demand), grid :math:`s_i` MW;
* one divisible system ``unit``: price 0, 1,000 kW, 1 PFLOPS inference and training, no idle
  draw, 100-year life — so 1 PFLOPS served costs 1 MW of built capacity and nothing else;
* customer *j* → a region ``c<j>`` with demand :math:`d_j` PFLOPS, ``must_serve``, no latency
  limit, route cost :math:`c_{ij}/d_j` per PFLOPS-year from site ``w<i>`` (:math:`c_{ij}` is the cost
  of serving all of *j* from *i*);
* ``--single-source``: customer *j* is instead a training job ``c<j>`` needing :math:`d_j` PFLOPS
  in ``y1``, ``must_place``, placement cost :math:`c_{ij}` at ``w<i>`` (one family ``f``): each
  customer is served by exactly one warehouse.

capa/capb/capc give every capacity as the word ``capacity``; ``--capacity`` (or a name such as
``capa-8000``) picks the value. ``run`` without names solves all 37 cap41–cap134; a bare
``capa`` stands for its four capacities.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import ROOT
from .common import write_instance

PERIOD = "y1"
CAPACITY_VARIANTS: dict[str, tuple[float, ...]] = {
    "capa": (8000, 10000, 12000, 14000),
    "capb": (5000, 6000, 7000, 8000),
    "capc": (5000, 5750, 6500, 7250),
}
SMALL = [f"cap{g}{i}" for g in (4, 6, 7, 8, 9, 10, 11, 12, 13) for i in (1, 2, 3, 4)]
SMALL.insert(4, "cap51")
"""The 37 small files cap41–cap134 in OR-Library order."""
LARGE = [f"{f}-{c:g}" for f, caps in CAPACITY_VARIANTS.items() for c in caps]
"""The 12 large problems capa-8000 … capc-7250."""
TOLERANCE = 1e-3
"""Absolute tolerance against the published optima (capopt prints 3 of 4 decimals)."""
DEFAULT_MIP_GAP = 1e-9


def data_dir() -> Path:
    """The OR-Library folder: ``$DCPLAN_ORLIB`` or ``../shared/benchmarks/orlib`` beside the repository."""
    env = os.environ.get("DCPLAN_ORLIB")
    return Path(env) if env else ROOT.parent / "shared" / "benchmarks" / "orlib"


@dataclass(frozen=True)
class Cflp:
    """One capacitated facility-location problem: ``cost[j][i]`` serves all of customer j from i."""

    name: str
    capacity: list[float]
    fixed: list[float]
    demand: list[float]
    cost: list[list[float]]

    @property
    def m(self) -> int:
        return len(self.capacity)

    @property
    def n(self) -> int:
        return len(self.demand)


def split_name(name: str) -> tuple[str, float | None]:
    """``'capa-8000'`` → ``('capa', 8000.0)``; ``'cap41'`` → ``('cap41', None)``."""
    stem, _, cap = name.partition("-")
    return stem, (float(cap) if cap else None)


def variant_name(stem: str, capacity: float | None) -> str:
    return stem if capacity is None else f"{stem}-{capacity:g}"


def expand_names(names: list[str]) -> list[str]:
    """Bare ``capa``/``capb``/``capc`` stand for their four capacity variants; none → the 37 small files."""
    if not names:
        return list(SMALL)
    out = []
    for n in names:
        stem, cap = split_name(n)
        if stem in CAPACITY_VARIANTS and cap is None:
            out += [variant_name(stem, c) for c in CAPACITY_VARIANTS[stem]]
        elif n == "large":
            out += LARGE
        elif n == "small":
            out += SMALL
        else:
            out.append(n)
    return out


def read_cflp(path: str | Path, capacity: float | None = None, name: str | None = None) -> Cflp:
    """Read an OR-Library ``cap*.txt`` file (whitespace-separated; tokens like ``7500.`` and ``.00000``)."""
    path = Path(path)
    tokens = path.read_text().split()
    pos = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"{path}: file ends early (token {pos + 1})")
        pos += 1
        return tokens[pos - 1]

    def num(tok: str) -> float:
        try:
            x = float(tok)
        except ValueError:
            raise ValueError(f"{path}: token {pos} is not a number: {tok!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"{path}: token {pos} is not finite: {tok!r}")
        return x

    m, n = int(num(take())), int(num(take()))
    caps, fixed = [], []
    for _ in range(m):
        tok = take()
        if tok.lower() == "capacity":
            if capacity is None:
                raise ValueError(f"{path.name}: capacities are the word 'capacity'; give --capacity (e.g. "
                                 f"{', '.join(f'{c:g}' for c in CAPACITY_VARIANTS.get(path.stem, ()))})")
            caps.append(float(capacity))
        else:
            caps.append(num(tok) if capacity is None else float(capacity))
        fixed.append(num(take()))
    demand, cost = [], []
    for _ in range(n):
        demand.append(num(take()))
        cost.append([num(take()) for _ in range(m)])
    if pos != len(tokens):
        raise ValueError(f"{path}: {len(tokens) - pos} tokens left after {m} warehouses and {n} customers")
    return Cflp(name or variant_name(path.stem, capacity), caps, fixed, demand, cost)


def load_problem(name: str, capacity: float | None = None) -> Cflp:
    """Problem by name (``cap41``, ``capa-8000``, or ``capa`` with ``capacity``) from :func:`data_dir`."""
    stem, cap = split_name(name)
    cap = cap if cap is not None else capacity
    path = data_dir() / "cap" / f"{stem}.txt"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (set DCPLAN_ORLIB to the OR-Library folder)")
    return read_cflp(path, cap, variant_name(stem, cap))


def instance_dict(p: Cflp, single_source: bool = False) -> dict:
    """The dcplan instance (as a plain dict) of a CFLP; see the module docstring for the mapping."""
    sites = [
        {
            "id": f"w{i + 1}", "jurisdiction": "X", "lat": 0.0, "lon": 0.0, "kind": "convertible",
            "grid_mw": p.capacity[i], "electricity_usd_per_mwh": 0.0,
            "build_options": [{
                "id": "open", "capex_usd_per_mw": 0.0, "fixed_capex_usd": p.fixed[i], "lead_time_months": 0.0,
                "pue": 1.0, "usable_grid_share": 1.0, "max_it_mw": p.capacity[i], "block_mw": p.capacity[i],
            }],
        }
        for i in range(p.m)
    ]
    system = {
        "id": "unit", "vendor": "OR-Library", "origin": "X", "family": "f", "it_kw_per_unit": 1000.0,
        "idle_power_share": 0.0, "training_pflops_per_unit": 1.0, "inference_pflops_per_unit": 1.0,
        "price_usd_per_unit": 0.0, "lifetime_years": 100.0, "divisible": True,
    }
    regions, jobs = [], []
    for j in range(p.n):
        d = p.demand[j]
        if single_source:
            jobs.append({
                "id": f"c{j + 1}", "compute_pflops": {PERIOD: d}, "must_place": True,
                "placement_cost_usd": {f"w{i + 1}": p.cost[j][i] for i in range(p.m)},
            })
        else:
            regions.append({
                "id": f"c{j + 1}", "jurisdiction": "X", "lat": 0.0, "lon": 0.0, "demand_pflops": d,
                "unserved_penalty_usd_per_pflops_year": 0.0, "must_serve": True,
                "route_cost_usd_per_pflops_year": {f"w{i + 1}": p.cost[j][i] / d for i in range(p.m)} if d > 0 else {},
            })
    kind = "single-source" if single_source else "multi-source"
    return {
        "name": p.name + ("-ss" if single_source else ""),
        "description": f"OR-Library CFLP {p.name} ({p.m} warehouses x {p.n} customers, {kind}), converted by benchmarks.orlib",
        "horizon": {"periods": [{"id": PERIOD, "years": 1.0}], "discount_rate": 0.0},
        "jurisdictions": [{"id": "X"}],
        "families": [{"id": "f", "training_efficiency": 1.0}],
        "sites": sites,
        "systems": [system],
        "training_jobs": jobs,
        "regions": regions,
    }


def known_optima() -> dict[str, float]:
    """Published multi-source optima by problem name (``cap41``, ``capa-8000``) from ``optima.csv``."""
    path = data_dir() / "optima.csv"
    out = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if not row["problem"].startswith("CFLP"):
                continue
            inst = row["instance"]
            if " capacity=" in inst:
                stem, cap = inst.split(" capacity=")
                inst = variant_name(stem, float(cap))
            out[inst] = float(row["optimal_value"])
    return out


# ----------------------------------------------------------------------------- run
COLUMNS = [
    "name", "variant", "status", "objective", "best_bound", "mip_gap", "known_optimum", "abs_diff", "match",
    "load_s", "prepare_s", "build_s", "handover_s", "solve_s", "extract_s", "total_s", "variables",
    "integer_variables", "constraints", "verified", "direct_status", "direct_objective", "direct_diff",
]


def run_one(name: str, *, single_source: bool = False, time_limit: float | None = None, mip_gap: float = DEFAULT_MIP_GAP,
            threads: int | None = None, seed: int = 0, workdir: Path | None = None, verify: bool = False,
            optima: dict[str, float] | None = None, cross_check: bool = False) -> dict:
    """Convert, write as JSON, solve the file through the public API; one result row.

    ``cross_check`` also solves the textbook model written straight into HiGHS
    (:mod:`benchmarks.cflp_direct`, no Pyomo, no dcplan) and records its status and objective.
    """
    import optimizer

    prob = load_problem(name)
    data = instance_dict(prob, single_source)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_instance(data, Path(workdir or tmp) / f"{data['name']}.json")
        plan = optimizer.solve(path, optimizer.SolveOptions(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed))
    sec = plan.seconds
    known = None if single_source else (optima or {}).get(prob.name)
    diff = abs(plan.objective - known) if (known is not None and plan.objective is not None) else None
    verified = ""
    if verify and plan.has_solution:
        rep = optimizer.verify_plan(plan.instance, plan.tables, plan.objective)
        verified = "ok" if rep.ok else f"{len(rep.violations)} violations"
    direct = {}
    if cross_check:
        from . import cflp_direct

        dr = cflp_direct.solve(prob.name, single_source=single_source, time_limit=time_limit, mip_gap=mip_gap)
        dd = abs(dr["objective"] - plan.objective) if (dr["objective"] is not None and plan.objective is not None) else None
        direct = {"direct_status": dr["status"], "direct_objective": dr["objective"], "direct_diff": dd}
    return {
        **direct,
        "name": prob.name, "variant": "single-source" if single_source else "multi-source", "status": plan.status,
        "objective": plan.objective, "best_bound": plan.best_bound, "mip_gap": plan.mip_gap, "known_optimum": known,
        "abs_diff": diff, "match": "" if known is None else bool(diff is not None and diff <= TOLERANCE),
        **{f"{k}_s": round(sec.get(k, 0.0), 4) for k in ("load", "prepare", "build", "handover", "solve", "extract")},
        "total_s": round(sum(sec.values()), 4), **plan.model_size, "verified": verified,
    }


def _fmt(x, spec: str) -> str:
    return "" if x is None or x == "" else format(x, spec)


def _print_row(r: dict) -> None:
    match = {True: "ok", False: "MISMATCH", "": "-"}[r["match"]]
    print(f"{r['name']:<11} {r['status']:<11} {_fmt(r['objective'], '16.4f'):>16} {_fmt(r['best_bound'], '16.4f'):>16} "
          f"{_fmt(r['known_optimum'], '14.3f'):>14} {_fmt(r['abs_diff'], '9.2e'):>9} {match:<8} "
          f"{r['load_s']:6.2f} {r['prepare_s'] + r['build_s']:6.2f} {r['handover_s']:6.2f} {r['solve_s']:7.2f} "
          f"{r['extract_s']:6.2f} {r['verified']}"
          + (f"  direct: {r['direct_status']} {_fmt(r['direct_objective'], '.4f')}" if "direct_status" in r else ""), flush=True)


def run(names: list[str], *, single_source: bool = False, time_limit: float | None = None, mip_gap: float = DEFAULT_MIP_GAP,
        threads: int | None = None, seed: int = 0, csv_path: str | Path | None = None, verify: bool = False,
        cross_check: bool = False) -> list[dict]:
    optima = known_optima()
    print(f"{'name':<11} {'status':<11} {'objective':>16} {'best_bound':>16} {'known':>14} {'abs_diff':>9} {'match':<8} "
          f"{'load':>6} {'build':>6} {'hand':>6} {'solve':>7} {'extr':>6}", flush=True)
    rows = []
    for name in expand_names(names):
        r = run_one(name, single_source=single_source, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                    seed=seed, verify=verify, optima=optima, cross_check=cross_check)
        rows.append(r)
        _print_row(r)
        if csv_path:  # rewritten after every row, so a long run leaves partial results
            write_csv(rows, csv_path)
    return rows


def write_csv(rows: list[dict], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.orlib", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert one OR-Library file into a dcplan instance (.yaml or .json)")
    c.add_argument("name", help="cap41 … cap134, capa/capb/capc (with --capacity) or e.g. capa-8000")
    c.add_argument("out", help="output file (.yaml, .yml or .json)")
    c.add_argument("--capacity", type=float, help="capacity of every warehouse (capa/capb/capc)")
    c.add_argument("--single-source", action="store_true", help="customers as must-place training jobs")
    r = sub.add_parser("run", help="convert, solve and compare with the published optima")
    r.add_argument("names", nargs="*",
                   help="problems (default: all 37 cap41–cap134; 'capa' = its 4 capacities; 'large' = all 12)")
    r.add_argument("--single-source", action="store_true", help="single-source variant (no published optima)")
    r.add_argument("--time-limit", type=float, help="seconds per problem")
    r.add_argument("--mip-gap", type=float, default=DEFAULT_MIP_GAP, help=f"relative gap (default {DEFAULT_MIP_GAP:g})")
    r.add_argument("--threads", type=int)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--verify", action="store_true", help="re-check each plan with the independent verifier")
    r.add_argument("--cross-check", action="store_true",
                   help="also solve the textbook model straight in HiGHS (benchmarks.cflp_direct) and compare")
    r.add_argument("--csv", metavar="OUT.csv", help="write one row per problem")
    args = ap.parse_args(argv)
    if not data_dir().exists():
        print(f"OR-Library data not found at {data_dir()} (set DCPLAN_ORLIB)", file=sys.stderr)
        return 2
    if args.command == "convert":
        t0 = time.perf_counter()
        prob = load_problem(args.name, args.capacity)
        out = write_instance(instance_dict(prob, args.single_source), args.out)
        print(f"{prob.name}: {prob.m} warehouses, {prob.n} customers -> {out} ({time.perf_counter() - t0:.2f} s)")
        return 0
    rows = run(args.names, single_source=args.single_source, time_limit=args.time_limit, mip_gap=args.mip_gap,
               threads=args.threads, seed=args.seed, csv_path=args.csv, verify=args.verify, cross_check=args.cross_check)
    bad = [r["name"] for r in rows if r["match"] is False]
    # single-source (no published optima): the direct textbook model must agree on status and value
    def disagrees(r: dict) -> bool:
        if "direct_status" not in r:
            return False
        both_opt = r["status"] == "optimal" and r["direct_status"] == "Optimal"
        both_inf = r["status"] == "infeasible" and r["direct_status"] == "Infeasible"
        return not (both_inf or (both_opt and r["direct_diff"] is not None and r["direct_diff"] <= TOLERANCE))
    bad += [r["name"] + " (direct model disagrees)" for r in rows if disagrees(r)]
    checked = [r for r in rows if r["match"] != ""]
    n_bad_opt = sum(1 for r in checked if r["match"] is False)
    if checked:
        print(f"\n{len(checked) - n_bad_opt}/{len(checked)} match the published optima within {TOLERANCE:g}")
    crossed = [r for r in rows if "direct_status" in r]
    if crossed:
        n_dis = sum(1 for r in crossed if disagrees(r))
        print(f"{len(crossed) - n_dis}/{len(crossed)} agree with the textbook model solved directly in HiGHS "
              f"(same status; objective within {TOLERANCE:g} when optimal)")
    if bad:
        print(f"mismatches: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
