"""Relax-and-fix: the MIP searched in three restricted stages, then as a whole
(``SolveOptions.strategy = "relax-and-fix"``).

On one HiGHS model (one :class:`HighsSession`), within one time limit ``T``:

1. **sites**: only the first-stage site decisions (the ``build`` and ``expand`` binaries)
   are integer; blocks, units, placements and the rest are continuous. This is a relaxation
   of the whole model (only integrality is dropped), so **its proven bound is a valid bound
   of the whole model**, usually far above the LP's; it runs until ``SHARES[0] × T``;
2. **placements**: the site decisions fixed at stage 1's values, the training-job
   placements (``assign``) integer, the rest continuous; until ``SHARES[1] × T``;
3. **sizing**: sites and placements fixed, every other integer column (blocks, units,
   qualifications) integer; until ``SHARES[2] × T``. Only bounds were changed, so its plan
   is a plan of the whole model;
4. the **full MIP**, its bounds and integrality restored, started from stage 3's plan
   (``setSolution``), for the time that is left.

The plan is the best of stages 3 and 4. The bound reported is the better of the full MIP's
and stage 1's, both valid for the whole model, so the gap stays honest; the status is
``optimal`` only when that gap is within ``mip_gap``. Stages 2 and 3 prove nothing about the
whole model (their fixings cut plans off), so their bounds are never used. When a stage gives
no plan (its limit, or an infeasible fixing), the full MIP runs from what there is.

Why it works where one search does not (benchmarks/README.md, "Relax-and-fix"): HiGHS's
branch and bound on synth-L spends its time on the 19,000 placement and 2,400 unit columns
and finds poor plans late; the site choice that decides the cost is settled first here, on
a model whose LP is the same but whose search is over ~1,100 binaries only.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo

from optimizer.options import SolveOptions, Status
from optimizer.solver.progress import Progress, relative_gap
from optimizer.solver.session import HighsSession, RunResult
from optimizer.solver.strategy import Search, _money, _unscaled, direct, direct_result

SHARES = (0.35, 0.6, 0.75)
"""Stages 1, 2 and 3 end at these shares of the time limit (what a stage leaves passes on)."""

SITE_VARS = ("build", "expand")
"""The first-stage site decisions, integer from stage 1."""

PLACEMENT_VARS = ("assign",)
"""The training-job placements, integer from stage 2."""


def columns_of(session: HighsSession, m: pyo.ConcreteModel, names: tuple[str, ...]) -> np.ndarray:
    """The HiGHS integer columns of the Pyomo variables named ``names`` (those in HiGHS)."""
    is_int = np.zeros(session.num_col, dtype=bool)
    is_int[session.integer_columns()] = True
    cols = [session.column(v) for name in names if hasattr(m, name) for v in getattr(m, name).values()]
    return np.array(sorted(j for j in cols if j >= 0 and is_int[j]), dtype=np.int32)


def relax_and_fix(session: HighsSession, m: pyo.ConcreteModel, options: SolveOptions, history: Progress,
                  interrupted: list[str]) -> Search:
    """Relax-and-fix (module docstring) on the model the session holds, with HiGHS's options
    already set; ``history`` is fed (wall-clock seconds), ``interrupted`` is the Ctrl-C flag."""
    t0 = time.perf_counter()
    ints = session.integer_columns()
    sites = columns_of(session, m, SITE_VARS)
    if not sites.size:
        out = direct(session)
        out.messages.append("relax-and-fix: the model has no site decision; solved directly")
        return out
    placements = columns_of(session, m, PLACEMENT_VARS)
    arrays = session.lp()
    history.wall_clock = True
    history.paused = True
    seconds: dict[str, float] = {}
    notes: list[str] = []
    scale = history.scale
    gap = options.mip_gap / 2

    def until(share: float) -> float | None:
        if options.time_limit is None:
            return None
        return max(share * options.time_limit - (time.perf_counter() - t0), 0.01)

    def stage(name: str, integer: np.ndarray, share: float) -> RunResult:
        session.set_integrality(ints, integer=False)
        session.set_integrality(integer, integer=True)
        t1 = time.perf_counter()
        out = session.run(time_limit=until(share), mip_gap=gap)
        seconds[name] = time.perf_counter() - t1
        return out

    bound: float | None = None
    plan: RunResult | None = None
    try:
        first = stage("stage_sites", sites, SHARES[0])
        if first.bound is not None and first.status is not Status.INFEASIBLE:
            bound = first.bound
            history.note(history.elapsed(), None, bound / scale)
        notes.append(f"relax-and-fix: stage 1 (sites integer, {sites.size} columns) {first.solver_status}, "
                     f"bound {_money(bound, scale)}")
        if first.x is not None and not interrupted:
            _fix(session, sites, first.x)
            second = stage("stage_placements", placements, SHARES[1])
            notes.append(f"stage 2 (placements integer, {placements.size} columns) {second.solver_status}")
            if second.x is not None and not interrupted:
                _fix(session, placements, second.x)
                rest = np.setdiff1d(ints, np.union1d(sites, placements))
                third = stage("stage_sizing", rest, SHARES[2])
                notes.append(f"stage 3 (the other {rest.size} integer columns) {third.solver_status}"
                             + (f", plan {_money(third.objective, scale)}" if third.x is not None else ", no plan"))
                if third.x is not None:
                    plan = third
                    history.note(history.elapsed(), _unscaled(third.objective, scale), None)
    finally:
        session.set_integrality(ints, integer=True)
        session.set_col_bounds(np.arange(arrays.num_col, dtype=np.int32), arrays.lower, arrays.upper)
        history.paused = False
    if interrupted:
        has = plan is not None
        return Search(Status.FEASIBLE if has else Status.NO_SOLUTION, "Interrupted by user", has,
                      None if plan is None else plan.objective, bound, True, None if plan is None else plan.x,
                      notes, seconds)
    return _full_mip(session, options, t0, plan, bound, notes, seconds)


def _full_mip(session: HighsSession, options: SolveOptions, t0: float, plan: RunResult | None, bound: float | None,
              notes: list[str], seconds: dict[str, float]) -> Search:
    """Stage 4: the whole model from the restricted plan; the better plan and bound of all stages."""
    left = None if options.time_limit is None else max(options.time_limit - (time.perf_counter() - t0), 0.01)
    t1 = time.perf_counter()
    full = session.run(time_limit=left, mip_gap=options.mip_gap, start=None if plan is None else plan.x)
    seconds["full_mip"] = time.perf_counter() - t1
    out = direct_result(session, full)
    if not full.has_solution and plan is not None:  # the limit came before HiGHS took the start
        out = Search(Status.FEASIBLE, full.solver_status, True, plan.objective, full.bound, True, plan.x)
    elif full.has_solution and plan is not None and plan.objective is not None and out.objective is not None \
            and plan.objective < out.objective:  # HiGHS refused the start (its tolerances): keep it
        out = Search(out.status, out.solver_status, True, plan.objective, out.bound, True, plan.x)
    if bound is not None and (out.bound is None or bound > out.bound):
        out.bound = bound
        notes.append("the bound is stage 1's (a relaxation of the whole model)")
    if out.status is Status.FEASIBLE and out.objective is not None:
        g = relative_gap(out.objective, out.bound)
        if g is not None and g <= options.mip_gap:
            out.status = Status.OPTIMAL
            notes.append(f"optimal within the gap: {100 * g:.3f} % between the plan and the best bound")
    out.messages, out.seconds = notes, seconds
    return out


def _fix(session: HighsSession, cols: np.ndarray, x: np.ndarray) -> None:
    """Fix integer columns at the (rounded) values of ``x``."""
    v = np.round(x[cols])
    session.set_col_bounds(cols, v, v)
