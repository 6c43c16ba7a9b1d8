r"""Where the seconds go, and how strong the formulation is: evidence for changes to ``optimizer/``.

Builds the model with the package's own stages (``prepare`` → ``build_model`` → ``solve_model``),
optionally adds a candidate row family to the built model, and reports stage seconds, the LP
relaxation bound and the MIP result. Nothing in ``optimizer/`` is modified; the candidate rows
are added to the Pyomo model object of one run only.

Candidate rows (``--add``):

``cover``
    Redundant capacity cover per period :math:`p` and scenario :math:`w` (valid for every
    instance). With :math:`\rho_{sp}` the most inference PFLOPS per MW of nameplate that any
    system eligible at site :math:`s` delivers (:math:`\max_k 1000 I_k/P_k`), ``nameplate_limit``
    and ``unit_time_share`` give "inference served at :math:`s` :math:`\le \rho_{sp}\,\mathrm{cap}_{sp}`",
    so all must-serve demand :math:`D^{\mathrm{must}}_{pw}` needs

    .. math::
        \sum_s \rho_{sp}\, \mathrm{cap}_{sp} \;\ge\; D^{\mathrm{must}}_{pw},
        \qquad \mathrm{cap}_{sp} = E_s + \sum_{(o,d):\,\omega(s,o,d)\le p} B_{so}\, n_{sod}

    (training PFLOPS per MW :math:`\tau_{sp}` for must-place jobs alone; with both, the row in MW
    :math:`\sum_s \mathrm{cap}_{sp} \ge D^{\mathrm{must}}/\max\rho + C^{\mathrm{must}}/\max\tau`).
    For the OR-Library mapping it is exactly Beasley's :math:`\sum_i s_i y_i \ge \sum_j d_j`.

``--start greedy``
    Hands HiGHS a MIP start: the greedy baseline's plan (:mod:`benchmarks.greedy`), priced
    by the same model with its builds, units and placements fixed, then unfixed again. This
    is the evidence for giving dcplan a construction heuristic.

Usage::

    python -m benchmarks.profile capa-8000 --time-limit 600           # as built today
    python -m benchmarks.profile capa-8000 --add cover --time-limit 600
    python -m benchmarks.profile capa-8000 --lp                        # LP relaxation only
    python -m benchmarks.profile out/synth-L.yaml --mip-gap 0.01 --time-limit 300
    python -m benchmarks.profile out/synth-L.yaml --mip-gap 0.01 --time-limit 300 --start greedy
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path


def _load(target: str):
    import optimizer

    path = Path(target)
    t0 = time.perf_counter()
    if path.exists():
        inst = optimizer.load_instance(path)
    else:
        from . import orlib

        inst = optimizer.instance_from_dict(
            orlib.instance_dict(orlib.load_problem(target.removesuffix("-ss")), target.endswith("-ss")), target
        )
    return inst, time.perf_counter() - t0


def add_cover_rows(m, ctx) -> int:
    """Add the redundant capacity cover rows (see the module docstring); returns how many."""
    import pyomo.environ as pyo

    prep = ctx.prep
    inst = prep.inst
    systems = {k.id: k for k in inst.systems}
    eff = {f.id: f.training_efficiency for f in inst.families}
    eligible = defaultdict(set)  # (s, p, w) -> systems that can be in service
    for (s, k, p, w) in prep.FLEET:
        eligible[s, p, w].add(k)
    rows = {}
    for w in prep.scenarios:
        for p in prep.periods:
            need_inf = sum(w.demand[g.id, p] for g in inst.regions if g.must_serve)
            need_tr = sum(w.job_compute[j.id].get(p, 0.0) for j in inst.training_jobs
                          if j.must_place and j.id in w.job_compute)
            if need_inf <= 0 and need_tr <= 0:
                continue
            rho_i, rho_t = {}, {}  # PFLOPS per MW of nameplate, best eligible system at the site
            for s in inst.sites:
                ks = eligible.get((s.id, p, w.id))
                if ks:
                    rho_i[s.id] = max(1000.0 * systems[k].inference_pflops_per_unit / systems[k].it_kw_per_unit for k in ks)
                    rho_t[s.id] = max(1000.0 * systems[k].training_pflops_per_unit * eff[systems[k].family]
                                      / systems[k].it_kw_per_unit for k in ks)
            if not rho_i:
                continue
            if need_tr <= 0:
                rows[p, w.id] = (rho_i, need_inf)
            elif need_inf <= 0:
                rows[p, w.id] = (rho_t, need_tr)
            else:  # in MW: sum cap >= D / max rho_i + C / max rho_t
                rows[p, w.id] = ({s: 1.0 for s in rho_i}, need_inf / max(rho_i.values()) + need_tr / max(rho_t.values()))

    def rule(_m, p, w):
        coef, rhs = rows[p, w]
        return sum(c * ctx.capacity_mw[s, p] for s, c in coef.items() if c > 0) >= rhs

    m.capacity_cover = pyo.Constraint(list(rows), rule=rule)
    return len(rows)


def greedy_start(m, ctx, prep, time_limit: float | None) -> tuple[float | None, dict, float]:
    """Price the greedy plan in this model (its decisions fixed), keep every variable's value,
    unfix. Returns (greedy cost, {id(var): value}, seconds)."""
    import pyomo.environ as pyo

    from optimizer.options import SolveOptions
    from optimizer.solver import solve_model

    from .greedy import greedy_plan

    t0 = time.perf_counter()
    plan = greedy_plan(prep)
    fixed = []
    for key in m.BUILD:
        n = plan.builds.get(key, 0)
        fixed += [m.build[key], m.blocks[key]]
        m.build[key].fix(1 if n else 0)
        m.blocks[key].fix(n)
    for key in m.BUY:
        fixed.append(m.units_bought[key])
        m.units_bought[key].fix(plan.bought.get(key, 0.0))
    for key in m.ASSIGN:
        fixed.append(m.assign[key])
        m.assign[key].fix(1 if key in plan.assign else 0)
    out = solve_model(m, ctx, SolveOptions(time_limit=time_limit, mip_gap=1e-6))
    values = {id(v): v.value for v in m.component_data_objects(pyo.Var)} if out.has_solution else {}
    for v in fixed:
        v.unfix()
    return out.objective, values, time.perf_counter() - t0


def persistent_solve(m, *, values: dict | None = None, options: dict | None = None, time_limit, mip_gap, threads,
                     seed, verbose) -> dict:
    """As dcplan's solve stage does it (its hand-over, objective scaling, fresh thread pool),
    optionally with a MIP start (``values``: {id(var): value}) and extra HiGHS ``options``."""
    import numpy as np

    from optimizer.solver import HighsSession, reset_thread_pool

    t0 = time.perf_counter()
    session = HighsSession(m)
    handover = time.perf_counter() - t0
    scale = session.scale_objective()
    reset_thread_pool()  # a thread pool sized by an earlier solve would refuse --threads
    session.set_option("output_flag", bool(verbose))
    session.set_option("random_seed", int(seed))
    if threads is not None:
        session.set_option("threads", int(threads))
    for name, value in (options or {}).items():
        session.set_option(name, value)
    start = None
    if values is not None:
        start = np.zeros(session.num_col)
        for v_id, j in session._cols.items():
            x = values.get(v_id)
            if x is not None:
                start[j] = float(x)
    t0 = time.perf_counter()
    session.run(time_limit=time_limit, mip_gap=mip_gap, start=start)
    solve_s = time.perf_counter() - t0
    h = session._h
    info = h.getInfo()
    has = info.primal_solution_status == 2
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "objective": info.objective_function_value / scale if has else None,
            "best_bound": info.mip_dual_bound / scale, "mip_gap": info.mip_gap if has else None,
            "simplex_iterations": info.simplex_iteration_count,
            "seconds": {"handover": round(handover, 3), "solve": round(solve_s, 3)}}


def profile(target: str, *, add: list[str], lp: bool, time_limit: float | None, mip_gap: float, threads: int | None,
            seed: int, verbose: bool, start: str | None = None, deactivate: list[str] = (),
            options: dict | None = None) -> dict:
    import pyomo.environ as pyo

    from optimizer.instance.derive import prepare
    from optimizer.model import build_model
    from optimizer.options import SolveOptions
    from optimizer.solver import solve_model

    inst, load_s = _load(target)
    t0 = time.perf_counter()
    prep = prepare(inst)
    t1 = time.perf_counter()
    m, ctx = build_model(prep)
    t2 = time.perf_counter()
    added = {}
    if "cover" in add:
        added["cover"] = add_cover_rows(m, ctx)
    for name in deactivate:  # drop a constraint family (to measure what it costs and what it buys)
        comp = getattr(m, name)
        added[f"-{name}"] = -len(comp)
        comp.deactivate()
    t3 = time.perf_counter()
    if start == "greedy":
        g_cost, values, g_s = greedy_start(m, ctx, prep, time_limit)
        res = persistent_solve(m, values=values, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed,
                               verbose=verbose)
        res.update({"instance": target, "start": "greedy", "greedy_cost": g_cost, "greedy_s": round(g_s, 3), "added_rows": added})
        res["seconds"] = {"load": round(load_s, 3), "prepare": round(t1 - t0, 3), "build": round(t2 - t1, 3), **res["seconds"]}
        return res
    if lp:
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    if options:
        out = persistent_solve(m, options=options, time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed,
                                  verbose=verbose)
        return {"instance": target, "added_rows": added, "lp_relaxation": lp, "options": options, **out,
                "seconds": {"load": round(load_s, 3), "prepare": round(t1 - t0, 3), "build": round(t2 - t1, 3), **out["seconds"]}}
    out = solve_model(m, ctx, SolveOptions(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed, verbose=verbose))
    return {
        "instance": target, "added_rows": added, "lp_relaxation": lp, "status": out.status, "solver_status": out.solver_status,
        "objective": out.objective, "best_bound": out.best_bound, "mip_gap": out.mip_gap,
        "seconds": {"load": round(load_s, 3), "prepare": round(t1 - t0, 3), "build": round(t2 - t1, 3),
                    "add_rows": round(t3 - t2, 3), **{k: round(v, 3) for k, v in out.seconds.items()}},
    }


def _kv(text: str) -> tuple[str, object]:
    key, _, val = text.partition("=")
    for cast in (int, float):
        try:
            return key, cast(val)
        except ValueError:
            pass
    return key, val


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n")[0])
    ap.add_argument("target", help="instance file, or an OR-Library name (cap41, capa-8000; suffix -ss: single-source)")
    ap.add_argument("--add", action="append", default=[], choices=["cover"], help="candidate row family to add")
    ap.add_argument("--lp", action="store_true", help="solve the LP relaxation (integrality relaxed)")
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--mip-gap", type=float, default=1e-9)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", choices=["greedy"], help="hand HiGHS a MIP start")
    ap.add_argument("--deactivate", action="append", default=[], metavar="CONSTRAINT",
                    help="drop a constraint family, e.g. bought_needs_online")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="extra HiGHS option, e.g. user_objective_scale=-13")
    ap.add_argument("--verbose", action="store_true", help="show the HiGHS log")
    args = ap.parse_args(argv)
    res = profile(args.target, add=args.add, lp=args.lp, time_limit=args.time_limit, mip_gap=args.mip_gap,
                  threads=args.threads, seed=args.seed, verbose=args.verbose, start=args.start,
                  deactivate=args.deactivate, options=dict(_kv(o) for o in args.option))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
