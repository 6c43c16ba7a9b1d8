"""Solve stage: HiGHS through Pyomo's persistent interface, in memory, honest statuses.

Statuses:
``optimal`` — proven optimal within the relative gap;
``feasible`` — a limit (time, interruption) stopped the search with an incumbent, which is kept;
``infeasible`` — no plan satisfies the hard rules (with an explanation in input terms);
``no_solution`` — a limit stopped the search before any plan was found.
The raw HiGHS model status is always reported alongside.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory

from .instance.derive import Prepared, prepare
from .instance.schema import Instance
from .instance.decisions import Decisions
from .model import Context, Risk, build_model

log = logging.getLogger(__name__)

OPTIMAL, FEASIBLE, INFEASIBLE, NO_SOLUTION = "optimal", "feasible", "infeasible", "no_solution"


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings. ``mip_gap`` is relative; ``seed`` and ``threads`` make runs repeatable."""

    time_limit: float | None = None
    mip_gap: float = 1e-4
    threads: int | None = None
    seed: int = 0
    write_model: str | Path | None = None
    verbose: bool = False


@dataclass
class SolveOutcome:
    status: str
    solver_status: str
    objective: float | None
    best_bound: float | None
    mip_gap: float | None
    seconds: dict[str, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    has_solution: bool = False
    objective_scale: float = 1.0  # factor applied to the objective inside HiGHS (scale_objective)


def solve_model(m: pyo.ConcreteModel, ctx: Context, options: SolveOptions) -> SolveOutcome:
    """Hand the model to HiGHS, solve it and load the incumbent if there is one."""
    seconds: dict[str, float] = {}
    opt = SolverFactory("highs")
    t0 = time.perf_counter()
    opt.set_instance(m)
    seconds["handover"] = time.perf_counter() - t0
    h: highspy.Highs = opt._solver_model
    if options.write_model:
        path = Path(options.write_model)
        path.parent.mkdir(parents=True, exist_ok=True)
        h.writeModel(str(path))
    scale = scale_objective(h)
    solver_options = {"random_seed": int(options.seed), "mip_rel_gap": float(options.mip_gap)}
    no_updates = {k: False for k in opt.CONFIG.auto_updates}
    # HiGHS keeps one thread pool per process, sized by the first solve; a later solve asking
    # for more threads would not run. Reset it so every solve gets the threads it asks for.
    highspy.Highs.resetGlobalScheduler(True)
    t0 = time.perf_counter()
    with _ctrl_c_stops_search(h) as interrupted, _quiet_pyomo_status_warning():
        res = opt.solve(
            m,
            time_limit=options.time_limit,
            threads=options.threads,
            solver_options=solver_options,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            tee=options.verbose,
            auto_updates=no_updates,
        )
    seconds["solve"] = time.perf_counter() - t0
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2
    raw = h.modelStatusToString(model_status)
    empty = model_status == highspy.HighsModelStatus.kModelEmpty
    if model_status == highspy.HighsModelStatus.kOptimal or empty:
        status = OPTIMAL  # an empty model: nothing to decide, every cost is fixed
    elif model_status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        status = INFEASIBLE
    elif has_sol:
        status = FEASIBLE
    else:
        status = NO_SOLUTION
    objective = best_bound = gap = None
    if empty:
        objective = best_bound = float(pyo.value(m.total_cost))
        return SolveOutcome(status, raw, objective, best_bound, 0.0, seconds, [], True)
    if has_sol:
        res.solution_loader.load_vars()
        _round_integers(m)
        objective = float(pyo.value(m.total_cost))
        is_mip = info.mip_node_count >= 0
        if is_mip:
            best_bound = float(info.mip_dual_bound) / scale  # includes the objective constant
            gap = float(info.mip_gap)
        else:
            best_bound, gap = objective, 0.0
        if status == OPTIMAL and gap is not None and gap > 1:  # HiGHS reports inf gap at 0 objective
            gap = abs(objective - best_bound) / max(1.0, abs(objective))
    messages = ["interrupted (Ctrl-C): the best plan found so far is kept"] if interrupted else []
    return SolveOutcome(status, raw, objective, best_bound, gap, seconds, messages, has_sol, scale)


OBJECTIVE_TARGET_MAX = 1e4
"""Largest objective coefficient HiGHS should see after scaling (see :func:`scale_objective`)."""


def objective_scale(costs) -> float:
    """The power of ten that brings the largest objective coefficient to at most
    :data:`OBJECTIVE_TARGET_MAX` (1.0 when it already is).

    Costs in USD reach 1e9-1e10 per variable (a 500 MW campus) while HiGHS's dual
    feasibility tolerance is an absolute 1e-7: unscaled, the simplex spends most of its
    iterations on numerical noise (synth-L root LP: over 140 s unscaled, 14 s scaled by
    1e-6; ``benchmarks/README.md``).
    """
    import numpy as np

    c = np.abs(np.asarray(costs, dtype=float))
    top = float(c.max()) if c.size else 0.0
    if top <= OBJECTIVE_TARGET_MAX:
        return 1.0
    return 10.0 ** -math.ceil(math.log10(top / OBJECTIVE_TARGET_MAX))


def scale_objective(h: highspy.Highs) -> float:
    """Scale the objective HiGHS holds by :func:`objective_scale` of its coefficients, in
    place (the constant too); returns the factor. Values read back from HiGHS (objective,
    dual bound, row duals) are divided by it; plan costs are evaluated on the Pyomo model
    and are never scaled."""
    import numpy as np

    lp = h.getLp()
    scale = objective_scale(lp.col_cost_)
    if scale != 1.0:
        n = lp.num_col_
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(lp.col_cost_, dtype=float) * scale)
        h.changeObjectiveOffset(float(lp.offset_) * scale)
    return scale


@contextmanager
def _quiet_pyomo_status_warning():
    """Pyomo warns about HiGHS statuses it does not map (e.g. 'Interrupted by user'); this
    module maps them itself, so the warning would only confuse."""
    lg = logging.getLogger("pyomo.contrib.solver.solvers.highs")
    old = lg.level
    lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lg.setLevel(old)


@contextmanager
def _ctrl_c_stops_search(h: highspy.Highs):
    """While HiGHS runs, Ctrl-C asks it to stop at the next callback and keep its incumbent,
    instead of raising KeyboardInterrupt inside the solver and losing the plan."""
    flag: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_sigint(_sig, _frame):
        if flag:  # a second Ctrl-C: give up at once
            raise KeyboardInterrupt
        flag.append(True)

    def stop(event) -> None:
        if flag:
            event.interrupt()

    events = (h.cbMipInterrupt, h.cbSimplexInterrupt, h.cbIpmInterrupt)
    for ev in events:
        ev.subscribe(stop)
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
        for ev in events:
            ev.unsubscribe(stop)


def _round_integers(m: pyo.ConcreteModel) -> None:
    """Snap integer variables to integers (HiGHS returns them within its 1e-6 tolerance),
    so plan tables show whole units and the objective is evaluated at the rounded plan."""
    for var in m.component_data_objects(pyo.Var, active=True):
        if not var.is_continuous() and var.value is not None:
            var.set_value(round(var.value), skip_validation=True)


def explain_infeasible(prep: Prepared) -> list[str]:
    """A short account of the hard rules that could not all hold together."""
    inst = prep.inst
    out = []
    hard_regions = [g.id for g in inst.regions if g.must_serve]
    hard_jobs = [j.id for j in inst.training_jobs if j.must_place]
    hard_targets = sorted({t.label for w in prep.scenarios for t in w.targets if t.hard})
    if hard_regions:
        out.append(f"must-serve regions: {', '.join(hard_regions)} (all their demand must be served within latency and residency)")
    if hard_jobs:
        out.append(f"must-place training jobs: {', '.join(hard_jobs)}")
    if hard_targets:
        out.append(f"hard domestic-share targets: {', '.join(hard_targets)}")
    if out:
        out.insert(0, "no plan meets all hard rules at once; the hard rules in this instance are:")
    else:
        out.append("no plan meets the power, capacity and policy limits at once")
    return out


def timed_build(inst: Instance, decisions: Decisions | None = None, risk: Risk | None = None
                ) -> tuple[Prepared, pyo.ConcreteModel, Context, dict[str, float]]:
    t0 = time.perf_counter()
    prep = prepare(inst, decisions)
    t1 = time.perf_counter()
    m, ctx = build_model(prep, risk)
    t2 = time.perf_counter()
    return prep, m, ctx, {"prepare": t1 - t0, "build": t2 - t1}
