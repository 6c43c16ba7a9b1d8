"""Relax-and-fix: the MIP searched in three restricted stages, then as a whole
(``SolveOptions.strategy = "relax-and-fix"``).

On one HiGHS model (one :class:`HighsSession`), within one time limit ``T``:

1. **sites**: only the first-stage site decisions (the ``build`` and ``expand`` binaries)
   are integer; blocks, units, placements and the rest are continuous. This is a relaxation
   of the whole model (only integrality is dropped), so **its proven bound is a valid bound
   of the whole model**, usually far above the LP's; it runs until ``SHARES[0] × T``;
2. **placements**: the site decisions fixed at stage 1's values, the training-job
   placements (``assign``) integer, the rest continuous; until ``SHARES[1] × T``. With two
   or more scenarios this stage is searched in **scenario neighbourhoods**: one HiGHS run
   until its first plan, then, in passes over the scenarios by decreasing probability, a
   run in which only that scenario's placements are free (the other scenarios' fixed at the
   best plan so far, which is the run's start), each with an equal share of what is left of
   the stage; a plan is kept when it is cheaper, and the passes end when one improves
   nothing or the stage's time is used. Once the sites are fixed the scenarios are coupled
   only through continuous first-stage columns, so each run is a third (on 3 scenarios) of
   the search of the whole stage, and is solved close to its own optimum where the whole
   stage is not (benchmarks/README.md, "Scenario neighbourhoods");
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pyomo.environ as pyo

from optimizer.options import SolveOptions, Status
from optimizer.solver.progress import Progress, relative_gap
from optimizer.solver.session import HighsSession, LpArrays, RunResult
from optimizer.solver.strategy import Search, _money, _unscaled, direct, direct_result

SHARES = (0.35, 0.6, 0.75)
"""Stages 1, 2 and 3 end at these shares of the time limit (what a stage leaves passes on)."""

SITE_VARS = ("build", "expand")
"""The first-stage site decisions, integer from stage 1."""

PLACEMENT_VARS = ("assign",)
"""The training-job placements, integer from stage 2."""

SCENARIO_INDEX = -1
"""Where the scenario is in the index of a placement variable: ``assign[j, s, f, w]``."""

NEIGHBOURHOOD_MIN_S = 2.0
"""A scenario neighbourhood run gets at least this many seconds, else the passes end."""

STAGE_GAPS = (0.5, 0.1)
"""The relative gap of stage 1, and of stage 2's neighbourhoods and stage 3, as shares of the
gap asked for: the restricted stages are quick, and a plan they leave within half the asked
gap of their own (restricted) bound is that much dearer (synth-L-1: stage 3 stopped at 0.5 %
with its plan 0.42 % above its bound)."""

IMPROVED = 1e-6
"""A neighbourhood's plan is kept when it is cheaper by more than this share of the best so far."""


def columns_of(session: HighsSession, m: pyo.ConcreteModel, names: tuple[str, ...]) -> np.ndarray:
    """The HiGHS integer columns of the Pyomo variables named ``names`` (those in HiGHS)."""
    is_int = np.zeros(session.num_col, dtype=bool)
    is_int[session.integer_columns()] = True
    cols = [session.column(v) for name in names if hasattr(m, name) for v in getattr(m, name).values()]
    return np.array(sorted(j for j in cols if j >= 0 and is_int[j]), dtype=np.int32)


def scenario_groups(session: HighsSession, m: pyo.ConcreteModel, placements: np.ndarray,
                    probability: dict[str, float] | None = None) -> list[tuple[str, np.ndarray]]:
    """The placement columns (HiGHS columns of ``assign`` in ``placements``) by scenario, the
    most probable scenario first (then in the model's order)."""
    keep = set(placements.tolist())
    groups: dict[str, list[int]] = {}
    for index, var in m.assign.items() if hasattr(m, "assign") else ():
        j = session.column(var)
        if j in keep:
            groups.setdefault(str(index[SCENARIO_INDEX]), []).append(j)
    order = sorted(groups, key=lambda w: -(probability or {}).get(w, 0.0))
    return [(w, np.array(sorted(groups[w]), dtype=np.int32)) for w in order]


def relax_and_fix(session: HighsSession, m: pyo.ConcreteModel, options: SolveOptions, history: Progress,
                  interrupted: list[str], probability: dict[str, float] | None = None) -> Search:
    """Relax-and-fix (module docstring) on the model the session holds, with HiGHS's options
    already set; ``history`` is fed (wall-clock seconds), ``interrupted`` is the Ctrl-C flag,
    ``probability`` the scenarios' probabilities (the order of the scenario neighbourhoods)."""
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
    gap, tight = options.mip_gap * STAGE_GAPS[0], options.mip_gap * STAGE_GAPS[1]

    def until(share: float) -> float | None:
        if options.time_limit is None:
            return None
        return max(share * options.time_limit - (time.perf_counter() - t0), 0.01)

    def stage(name: str, integer: np.ndarray, share: float, first_plan: bool = False,
              stage_gap: float = gap) -> RunResult:
        session.set_integrality(ints, integer=False)
        session.set_integrality(integer, integer=True)
        t1 = time.perf_counter()
        with _option(session, "mip_max_improving_sols", 1, first_plan):  # HiGHS stops at its first plan
            out = session.run(time_limit=until(share), mip_gap=stage_gap)
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
            groups = scenario_groups(session, m, placements, probability)
            second = stage("stage_placements", placements, SHARES[1], first_plan=len(groups) > 1)
            notes.append(f"stage 2 (placements integer, {placements.size} columns) {second.solver_status}"
                         + (f", plan {_money(second.objective, scale)}" if second.x is not None else ", no plan"))
            if len(groups) > 1 and second.x is not None and not interrupted:
                t1 = time.perf_counter()
                second, note = _neighbourhoods(session, placements, groups, second, arrays, tight,
                                               lambda: until(SHARES[1]), interrupted, scale)
                seconds["stage_neighbourhoods"] = time.perf_counter() - t1
                notes.append(note)
            if second.x is not None and not interrupted:
                _fix(session, placements, second.x)
                rest = np.setdiff1d(ints, np.union1d(sites, placements))
                third = stage("stage_sizing", rest, SHARES[2], stage_gap=tight)
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


def _neighbourhoods(session: HighsSession, placements: np.ndarray, groups: list[tuple[str, np.ndarray]],
                    plan: RunResult, arrays: LpArrays, gap: float, left: Callable[[], float | None],
                    interrupted: list[str], scale: float) -> tuple[RunResult, str]:
    """Stage 2's scenario neighbourhoods (module docstring) from ``plan``, until ``left()``
    says the stage's time is used (None: no limit, the passes end when one improves nothing).
    Returns the best plan and a message; the placements are left fixed at the best plan."""
    best, runs, passes, start = plan, 0, 0, plan.objective
    improved = True
    while improved and not interrupted:
        improved = False
        for k, (_w, cols) in enumerate(groups):
            seconds = left()
            per = None if seconds is None else seconds / (len(groups) - k)
            if (per is not None and per < NEIGHBOURHOOD_MIN_S) or interrupted:
                improved = False
                break
            assert best.x is not None and best.objective is not None
            _fix(session, placements, best.x)
            session.set_col_bounds(cols, arrays.lower[cols], arrays.upper[cols])
            out = session.run(time_limit=per, mip_gap=gap, start=best.x)
            runs, passes = runs + 1, passes + (k == 0)
            if out.x is not None and out.objective is not None \
                    and out.objective < best.objective - IMPROVED * max(1.0, abs(best.objective)):
                best, improved = out, True
    assert best.x is not None
    _fix(session, placements, best.x)
    return best, (f"scenario neighbourhoods ({len(groups)} scenarios, {runs} run{'s' * (runs != 1)} in "
                  f"{passes} pass{'es' * (passes != 1)}): "
                  f"plan {_money(start, scale)} -> {_money(best.objective, scale)}")


@contextmanager
def _option(session: HighsSession, name: str, value: int | float, when: bool = True) -> Iterator[None]:
    """HiGHS option ``name`` at ``value`` (if ``when``) for the ``with`` block, then as it was."""
    before = session.option(name)
    if when:
        session.set_option(name, value)
    try:
        yield
    finally:
        session.set_option(name, before)


def _fix(session: HighsSession, cols: np.ndarray, x: np.ndarray) -> None:
    """Fix integer columns at the (rounded) values of ``x``."""
    v = np.round(x[cols])
    session.set_col_bounds(cols, v, v)
