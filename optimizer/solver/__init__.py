"""Solve stage: HiGHS, in memory, honest statuses, progress while it runs.

Statuses:
``optimal`` — proven optimal within the relative gap;
``feasible`` — a limit (time, interruption) stopped the search with an incumbent, which is kept;
``infeasible`` — no plan satisfies the hard rules (with an explanation in input terms);
``no_solution`` — a limit stopped the search before any plan was found
(:class:`optimizer.options.Status`). The raw HiGHS model status is always reported alongside.

This package is the only code that touches HiGHS: :func:`solve_model` for the plan,
:class:`HighsSession` for analyses that re-solve a model with changed costs and bounds,
:func:`fixed_lp_duals` for marginal values. Its modules: :mod:`.compile` (the hand-over:
the Pyomo model compiled into arrays and passed to HiGHS in bulk), :mod:`.session`
(:class:`HighsSession`), :mod:`.strategy` (how the MIP is searched: direct or
fix-and-optimize, ``SolveOptions.strategy``), :mod:`.relax_fix` (relax-and-fix),
:mod:`.progress` (HiGHS's callbacks: the progress history and
Ctrl-C/SIGTERM), :mod:`.scaling` (objective scaling), :mod:`.names` (names in model files), :mod:`.collector`
(the garbage collector kept off the model while it is built and handed over).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import pyomo.environ as pyo

from optimizer.model import Context
from optimizer.options import SolveOptions, Status
from optimizer.solver.names import NAME_MAX, _unique, model_names
from optimizer.solver.progress import Progress, ProgressPoint, ctrl_c_stops_search, relative_gap
from optimizer.solver.relax_fix import relax_and_fix
from optimizer.solver.scaling import (
    OBJECTIVE_FLOOR_MIN,
    OBJECTIVE_TARGET_MAX,
    RESOLVABLE_RANGE,
    coefficient_range_warning,
    objective_scale,
    scale_objective,
)
from optimizer.solver.session import (
    HighsSession,
    LpArrays,
    RunResult,
    fixed_lp_duals,
    map_status,
    objective_value,
    on_runner,
)
from optimizer.solver.strategy import direct, fix_and_optimize, resolve_strategy

OPTIMAL, FEASIBLE, INFEASIBLE, NO_SOLUTION = Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE, Status.NO_SOLUTION

__all__ = [
    "FEASIBLE", "INFEASIBLE", "NAME_MAX", "NO_SOLUTION", "OBJECTIVE_FLOOR_MIN", "OBJECTIVE_TARGET_MAX", "OPTIMAL",
    "RESOLVABLE_RANGE", "HighsSession", "LpArrays", "Progress", "ProgressPoint", "RunResult", "SolveOutcome",
    "_unique", "coefficient_range_warning", "fixed_lp_duals", "map_status", "model_names", "objective_scale", "objective_value",
    "relative_gap", "reset_thread_pool", "scale_objective", "solve_model",
]


@dataclass
class SolveOutcome:
    """What a solve of the model gave: status, objective and bound, gap, timings and messages.

    ``progress`` is the history of the search (:mod:`optimizer.solver.progress`): a list of
    ``{"seconds", "incumbent", "bound", "gap"}`` with seconds since HiGHS started, HiGHS's
    best plan cost and best proven bound so far (unscaled; None while there is none) and
    their relative gap; its last point is the end of the run."""

    status: Status
    solver_status: str
    objective: float | None
    best_bound: float | None
    mip_gap: float | None
    seconds: dict[str, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    has_solution: bool = False
    objective_scale: float = 1.0  # factor applied to the objective inside HiGHS (scale_objective)
    progress: list[ProgressPoint] = field(default_factory=list)


def solve_model(m: pyo.ConcreteModel, ctx: Context, options: SolveOptions,
                progress: Callable[[ProgressPoint], None] | None = None) -> SolveOutcome:
    """Hand the model to HiGHS, solve it and load the incumbent if there is one.

    ``progress``, if given, is called with the latest state of the search every
    :data:`optimizer.solver.progress.REPORT_EVERY_S` seconds while HiGHS runs (from a
    background thread); the whole history is ``outcome.progress`` either way."""
    seconds: dict[str, float] = {}
    session = HighsSession(m)
    seconds["handover"] = session.handover_seconds
    if options.write_model:
        t0 = time.perf_counter()
        session.write_model(options.write_model)
        seconds["write_model"] = time.perf_counter() - t0
    scale = session.scale_objective()
    warning = coefficient_range_warning(session)
    h = session._h
    for name, value in (("output_flag", bool(options.verbose)), ("random_seed", int(options.seed)),
                        ("mip_rel_gap", float(options.mip_gap))):
        h.setOptionValue(name, value)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    reset_thread_pool()
    history = Progress(scale, progress, minimize=h.getObjectiveSense()[1] != highspy.ObjSense.kMaximize)
    strategy = resolve_strategy(options.strategy, session, options.time_limit)
    sys.stdout.flush()  # HiGHS's log (--verbose) goes to the same stream, below what was printed
    t0 = time.perf_counter()
    with ctrl_c_stops_search(h, history, session.deadline) as interrupted, history.reporting():
        if strategy == "fix-and-optimize":
            found = fix_and_optimize(session, m, options, history, interrupted)
        elif strategy == "relax-and-fix":
            found = relax_and_fix(session, m, options, history, interrupted,
                                  {w.id: w.probability for w in ctx.prep.scenarios})
        else:
            found = direct(session)
    seconds["solve"] = time.perf_counter() - t0
    seconds.update(found.seconds)
    status, raw, has_sol, is_mip = found.status, found.solver_status, found.has_solution, found.is_mip
    incumbent = found.objective / scale if has_sol and found.objective is not None else None
    bound_found = (found.bound / scale if found.bound is not None else None) if is_mip else incumbent
    history.finish(seconds["solve"], incumbent, bound_found)
    objective = best_bound = gap = None
    if session.is_empty():  # nothing to decide, every cost is fixed
        objective = best_bound = objective_value(m)
        return SolveOutcome(status, raw, objective, best_bound, 0.0, seconds, [], True, progress=history.history)
    messages = [f"interrupted ({interrupted[0]}): the best plan found so far is kept"] if interrupted else []
    if options.strategy == "auto" and strategy != "direct":
        messages.append(f"strategy auto: {strategy} ({session.integer_columns().size:,} integer columns, "
                        f"a time limit of {options.time_limit:g} s)")
    messages += found.messages
    if session.abandoned:
        messages.append("HiGHS did not return after the time limit (a phase of its search that checks neither "
                        "the limit nor Ctrl-C) and was left behind: the plan is the best one found before")
    if has_sol:
        t0 = time.perf_counter()
        session.load_solution(found.x)
        seconds["load_solution"] = time.perf_counter() - t0
        if is_mip:  # a MIP: complete the incumbent, then measure the gap in USD
            best_bound = bound_found  # includes the objective constant
            t0 = time.perf_counter()
            if not session.abandoned:  # an abandoned HiGHS is still busy: the plan stays as it is
                messages += session.complete_incumbent(m)
            seconds["complete"] = time.perf_counter() - t0
            objective = objective_value(m)
            gap = relative_gap(objective, best_bound)
        else:
            objective = objective_value(m)
            best_bound, gap = objective, 0.0
    if warning:
        messages.append(warning)
    return SolveOutcome(status, raw, objective, best_bound, gap, seconds, messages, has_sol, scale, history.history)


def reset_thread_pool() -> None:
    """HiGHS keeps one thread pool per process, sized by the first solve; a later solve
    asking for more threads would not run. Reset it so every solve gets the threads it asks for."""
    on_runner(lambda: highspy.Highs.resetGlobalScheduler(True))  # where this thread's HiGHS runs are made
