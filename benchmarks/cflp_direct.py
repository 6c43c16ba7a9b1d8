r"""The textbook CFLP written straight into HiGHS (numpy arrays → ``highspy``), as a reference.

Used to separate *formulation* from *tooling* when dcplan is slow on an OR-Library problem,
and as an independent cross-check of dcplan's single-source results (no Pyomo, no dcplan)::

    python -m benchmarks.cflp_direct capa-8000 --time-limit 600            # links + cover row
    python -m benchmarks.cflp_direct capa-8000 --no-cover --time-limit 600
    python -m benchmarks.cflp_direct capa-8000 --aggregated-only --lp       # LP bound of the weak model
    python -m benchmarks.cflp_direct cap61 --single-source

Model: :math:`y_i\in\{0,1\}`, :math:`x_{ij}\in[0,1]` (binary with ``--single-source``),
:math:`\min \sum_i f_i y_i + \sum_{ij} c_{ij} x_{ij}` s.t. :math:`\sum_i x_{ij} = 1`,
:math:`\sum_j d_j x_{ij} \le s_i y_i`; unless ``--aggregated-only`` also the links
:math:`x_{ij}\le y_i`; unless ``--no-cover`` also the redundant cover row
:math:`\sum_i s_i y_i \ge \sum_j d_j`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .orlib import load_problem


def build(p, *, single_source: bool = False, links: bool = True, cover: bool = True):
    """A ``highspy.Highs`` holding the CFLP; columns y_0..y_{m-1}, then x_ij row-major by customer."""
    import highspy

    m, n = p.m, p.n
    d = np.asarray(p.demand, dtype=float)
    s = np.asarray(p.capacity, dtype=float)
    c = np.asarray(p.cost, dtype=float)  # n x m
    ncol = m + m * n
    cost = np.concatenate([np.asarray(p.fixed, dtype=float), c.reshape(-1)])
    lower = np.zeros(ncol)
    upper = np.ones(ncol)
    rows_idx, cols_idx, vals, lo, hi = [], [], [], [], []
    r = 0
    xcol = m + np.arange(m * n).reshape(n, m)  # column of x_ij at [j, i]
    # assignment: sum_i x_ij = 1
    rows_idx.append(np.repeat(np.arange(n), m) + r)
    cols_idx.append(xcol.reshape(-1))
    vals.append(np.ones(n * m))
    lo.append(np.ones(n))
    hi.append(np.ones(n))
    r += n
    # capacity: sum_j d_j x_ij - s_i y_i <= 0
    rows_idx.append(np.concatenate([np.repeat(np.arange(m), n), np.arange(m)]) + r)
    cols_idx.append(np.concatenate([xcol.T.reshape(-1), np.arange(m)]))
    vals.append(np.concatenate([np.tile(d, m), -s]))
    lo.append(np.full(m, -np.inf))
    hi.append(np.zeros(m))
    r += m
    if links:  # x_ij - y_i <= 0
        k = m * n
        rows_idx.append(np.repeat(np.arange(k), 2) + r)
        cols_idx.append(np.stack([xcol.reshape(-1), np.tile(np.arange(m), n)], axis=1).reshape(-1))
        vals.append(np.tile([1.0, -1.0], k))
        lo.append(np.full(k, -np.inf))
        hi.append(np.zeros(k))
        r += k
    if cover:  # sum_i s_i y_i >= sum_j d_j
        rows_idx.append(np.full(m, r))
        cols_idx.append(np.arange(m))
        vals.append(s)
        lo.append(np.array([d.sum()]))
        hi.append(np.array([np.inf]))
        r += 1
    ri, ci, v = np.concatenate(rows_idx), np.concatenate(cols_idx), np.concatenate(vals)
    order = np.lexsort((ri, ci))  # column-wise
    ri, ci, v = ri[order], ci[order], v[order]
    start = np.searchsorted(ci, np.arange(ncol + 1))
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = r
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = ri.astype(np.int32)
    lp.a_matrix_.value_ = v
    integ = [highspy.HighsVarType.kInteger] * m + [
        highspy.HighsVarType.kInteger if single_source else highspy.HighsVarType.kContinuous] * (m * n)
    lp.integrality_ = integ
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    return h


def solve(name: str, *, single_source: bool = False, links: bool = True, cover: bool = True, lp: bool = False,
          time_limit: float | None = None, mip_gap: float = 1e-9, verbose: bool = False) -> dict:
    p = load_problem(name)
    t0 = time.perf_counter()
    h = build(p, single_source=single_source, links=links, cover=cover)
    build_s = time.perf_counter() - t0
    if verbose:
        h.setOptionValue("output_flag", True)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", mip_gap)
    h.setOptionValue("random_seed", 0)
    if lp:
        h.setOptionValue("solve_relaxation", True)
    t0 = time.perf_counter()
    h.run()
    run_s = time.perf_counter() - t0
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2
    return {"instance": name, "single_source": single_source, "links": links, "cover": cover, "lp": lp,
            "status": h.modelStatusToString(h.getModelStatus()),
            "objective": info.objective_function_value if has_sol else None,
            "best_bound": None if lp else info.mip_dual_bound, "gap": None if lp else info.mip_gap,
            "build_s": round(build_s, 3), "solve_s": round(run_s, 3), "columns": h.getNumCol(), "rows": h.getNumRow(),
            "nonzeros": h.getNumNz()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cflp_direct", description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="+")
    ap.add_argument("--single-source", action="store_true")
    ap.add_argument("--aggregated-only", action="store_true", help="no x_ij <= y_i links")
    ap.add_argument("--no-cover", action="store_true", help="no cover row")
    ap.add_argument("--lp", action="store_true", help="LP relaxation only")
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--mip-gap", type=float, default=1e-9)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    for name in args.names:
        print(json.dumps(solve(name, single_source=args.single_source, links=not args.aggregated_only,
                               cover=not args.no_cover, lp=args.lp, time_limit=args.time_limit, mip_gap=args.mip_gap,
                               verbose=args.verbose)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
