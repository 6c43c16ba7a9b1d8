"""Solve stage: HiGHS through Pyomo's persistent interface, in memory, honest statuses.

Statuses:
``optimal`` — proven optimal within the relative gap;
``feasible`` — a limit (time, interruption) stopped the search with an incumbent, which is kept;
``infeasible`` — no plan satisfies the hard rules (with an explanation in input terms);
``no_solution`` — a limit stopped the search before any plan was found
(:class:`optimizer.options.Status`). The raw HiGHS model status is always reported alongside.

This is the only module that touches HiGHS and Pyomo's solver interface:
:func:`solve_model` for the plan, :class:`HighsSession` for analyses that re-solve a
model with changed costs and bounds, :func:`fixed_lp_duals` for marginal values.
"""

from __future__ import annotations

import logging
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory

from .model import Context
from .options import SolveOptions, Status

log = logging.getLogger(__name__)

OPTIMAL, FEASIBLE, INFEASIBLE, NO_SOLUTION = Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE, Status.NO_SOLUTION


@dataclass
class SolveOutcome:
    """What a solve of the model gave: status, objective and bound, gap, timings and messages."""

    status: Status
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
    session = HighsSession(m)
    seconds["handover"] = session.handover_seconds
    if options.write_model:
        t0 = time.perf_counter()
        session.write_model(options.write_model)
        seconds["write_model"] = time.perf_counter() - t0
    scale = session.scale_objective()
    warning = coefficient_range_warning(session)
    solver_options = {"random_seed": int(options.seed), "mip_rel_gap": float(options.mip_gap)}
    no_updates = {k: False for k in session._opt.CONFIG.auto_updates}
    reset_thread_pool()
    t0 = time.perf_counter()
    with _ctrl_c_stops_search(session._h) as interrupted, _quiet_pyomo_status_warning():
        res = session._opt.solve(
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
    status, raw, has_sol = session.status()
    objective = best_bound = gap = None
    if session.is_empty():  # nothing to decide, every cost is fixed
        objective = best_bound = float(pyo.value(m.total_cost))
        return SolveOutcome(status, raw, objective, best_bound, 0.0, seconds, [], True)
    messages = [f"interrupted ({interrupted[0]}): the best plan found so far is kept"] if interrupted else []
    if has_sol:
        res.solution_loader.load_vars()
        _round_integers(m)
        info = session._h.getInfo()
        if info.mip_node_count >= 0:  # a MIP: complete the incumbent, then measure the gap in USD
            best_bound = float(info.mip_dual_bound) / scale  # includes the objective constant
            t0 = time.perf_counter()
            messages += session.complete_incumbent(m)
            seconds["complete"] = time.perf_counter() - t0
            objective = float(pyo.value(m.total_cost))
            gap = abs(objective - best_bound) / max(1.0, abs(objective))
        else:
            objective = float(pyo.value(m.total_cost))
            best_bound, gap = objective, 0.0
    if warning:
        messages.append(warning)
    return SolveOutcome(status, raw, objective, best_bound, gap, seconds, messages, has_sol, scale)


def reset_thread_pool() -> None:
    """HiGHS keeps one thread pool per process, sized by the first solve; a later solve
    asking for more threads would not run. Reset it so every solve gets the threads it asks for."""
    highspy.Highs.resetGlobalScheduler(True)


def map_status(model_status: highspy.HighsModelStatus, has_solution: bool) -> Status:
    """The one mapping from a HiGHS model status to a :class:`Status`. An empty model
    (nothing to decide) is optimal; a limit with an incumbent is feasible."""
    if model_status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kModelEmpty):
        return Status.OPTIMAL
    if model_status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return Status.INFEASIBLE
    return Status.FEASIBLE if has_solution else Status.NO_SOLUTION


@dataclass(frozen=True)
class LpArrays:
    """The model as HiGHS holds it: column costs and bounds, objective constant."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    offset: float

    @property
    def num_col(self) -> int:
        """The number of columns."""
        return len(self.cost)


@dataclass(frozen=True)
class RunResult:
    """One HiGHS run of a :class:`HighsSession`, in the objective units HiGHS holds
    (scaled if the caller scaled it); ``x`` is the column vector of the incumbent."""

    status: Status
    solver_status: str
    has_solution: bool
    x: np.ndarray | None
    objective: float | None
    bound: float | None


class HighsSession:
    """One Pyomo model held in HiGHS, in memory (Pyomo's persistent interface).

    The only place besides :func:`solve_model` that touches HiGHS: analysis code that
    re-solves a model many times with changed costs and bounds (progressive hedging) or
    needs row duals (marginal values) works through this object, in column and row
    indices it hands out, never through Pyomo's or HiGHS's private state.
    """

    def __init__(self, m: pyo.ConcreteModel) -> None:
        self._opt = SolverFactory("highs")
        t0 = time.perf_counter()
        self._opt.set_instance(m)
        self._model = m
        self.handover_seconds = time.perf_counter() - t0
        self._h: highspy.Highs = self._opt._solver_model
        self._cols: dict[int, int] = self._opt._pyomo_var_to_solver_var_map
        self._rows: dict[Any, int] = self._opt._pyomo_con_to_solver_con_map  # Pyomo constraint data -> HiGHS row

    # -- addressing
    def column(self, var: pyo.Var) -> int:
        """HiGHS column of a Pyomo variable (-1 when it is in no row, so not in HiGHS)."""
        return self._cols.get(id(var), -1)

    def complete_incumbent(self, m: pyo.ConcreteModel, time_limit: float = 60.0) -> list[str]:
        """Make the loaded incumbent consistent: fix its integer decisions, re-solve the LP of
        the rest and load that LP optimum into ``m`` (it can only lower the cost).

        A MIP incumbent taken at a limit can leave derived continuous variables (a subsidy
        received, a shortfall) away from what its own decisions earn, so its written costs
        would not describe its decisions. Changes the model HiGHS holds (integer columns
        fixed and made continuous): call it last. Returns messages (empty when all is well).
        """
        h = self._h
        lp = h.getLp()
        n = lp.num_col_
        if not len(lp.integrality_):
            return []
        is_int = np.array([t != highspy.HighsVarType.kContinuous for t in lp.integrality_], dtype=bool)
        lower = np.array(lp.col_lower_, dtype=float)
        upper = np.array(lp.col_upper_, dtype=float)
        variables = {j: var for var in m.component_data_objects(pyo.Var, active=True)
                     if (j := self._cols.get(id(var), -1)) >= 0}
        for col in np.flatnonzero(is_int):
            var = variables.get(int(col))
            if var is not None and var.value is not None:
                lower[col] = upper[col] = round(var.value)
        cols = np.flatnonzero(is_int).astype(np.int32)
        h.changeColsIntegrality(len(cols), cols, np.array([highspy.HighsVarType.kContinuous] * len(cols)))
        self.set_col_bounds(np.arange(n, dtype=np.int32), lower, upper)
        before = float(pyo.value(m.total_cost))
        h.setOptionValue("output_flag", False)
        with _ctrl_c_stops_search(h):
            result = self.run(time_limit=time_limit, mip_gap=0.0)
        if result.status != Status.OPTIMAL or result.x is None:
            return [f"the incumbent's continuous part could not be re-optimised ({result.solver_status}); "
                    "it is reported as found"]
        saved = {j: var.value for j, var in variables.items()}
        for j, var in variables.items():
            if not is_int[j]:
                var.set_value(float(result.x[j]), skip_validation=True)
        after = float(pyo.value(m.total_cost))
        if after > before + 1e-9 * max(1.0, abs(before)):  # numerically worse: keep what HiGHS found
            for j, var in variables.items():
                var.set_value(saved[j], skip_validation=True)
        return []

    def column_name(self, col: int) -> str:
        """The Pyomo name of the variable in column ``col`` (its record ids in brackets)."""
        if not hasattr(self, "_names"):
            self._names: dict[int, str] = {j: var.name for var in self._model.component_data_objects(pyo.Var)
                           if (j := self._cols.get(id(var), -1)) >= 0}
        return self._names.get(col, f"column {col}")

    def columns(self, variables: list[Any]) -> np.ndarray:
        """The HiGHS column indices of Pyomo variables, in order."""
        return np.array([self.column(x) for x in variables], dtype=np.int32)

    @property
    def num_col(self) -> int:
        """The number of columns HiGHS holds."""
        return int(self._h.getNumCol())

    @property
    def num_row(self) -> int:
        """The number of rows HiGHS holds."""
        return int(self._h.getNumRow())

    def lp(self) -> LpArrays:
        """A copy of the column costs and bounds and the objective constant HiGHS holds."""
        lp = self._h.getLp()
        return LpArrays(np.array(lp.col_cost_, dtype=float), np.array(lp.col_lower_, dtype=float),
                        np.array(lp.col_upper_, dtype=float), float(lp.offset_))

    def is_empty(self) -> bool:
        """Whether HiGHS's model status is ``kModelEmpty`` (nothing to solve)."""
        return self._h.getModelStatus() == highspy.HighsModelStatus.kModelEmpty

    # -- changes
    def set_option(self, name: str, value: bool | int | float | str) -> None:
        """Set a HiGHS option."""
        self._h.setOptionValue(name, value)

    def set_costs(self, cols: np.ndarray, costs: np.ndarray) -> None:
        """Set the objective coefficients of columns ``cols``."""
        self._h.changeColsCost(len(cols), np.asarray(cols, dtype=np.int32), np.asarray(costs, dtype=float))

    def set_offset(self, offset: float) -> None:
        """Set the objective constant."""
        self._h.changeObjectiveOffset(float(offset))

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set the bounds of columns ``cols``."""
        self._h.changeColsBounds(len(cols), np.asarray(cols, dtype=np.int32), np.asarray(lower, dtype=float),
                                 np.asarray(upper, dtype=float))

    def add_columns(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Add continuous columns (cost 0); returns their indices."""
        first = self.num_col
        self._h.addVars(len(lower), np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
        return np.arange(first, first + len(lower), dtype=np.int32)

    def add_row(self, lower: float, upper: float, cols: np.ndarray, values: np.ndarray) -> int:
        """Add the row ``lower <= values . x[cols] <= upper``; returns its index."""
        row = self.num_row
        self._h.addRow(lower, upper, len(cols), np.asarray(cols, dtype=np.int32), np.asarray(values, dtype=float))
        return row

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set the bounds of rows ``rows``."""
        self._h.changeRowsBounds(  # type: ignore[attr-defined]  # highspy's stubs lack it; the binding has it
            len(rows), np.asarray(rows, dtype=np.int32), np.asarray(lower, dtype=float),
                                 np.asarray(upper, dtype=float))

    def scale_objective(self) -> float:
        """Scale the objective by :func:`objective_scale` of its coefficients, in place (the
        constant too); returns the factor. Values read back (objective, dual bound, row
        duals) must be divided by it; plan costs are evaluated on the Pyomo model."""
        return scale_objective(self._h)

    def write_model(self, path: str | Path) -> None:
        """Write the model HiGHS holds (MPS or LP by extension), quietly, with readable names.

        Columns and rows are named after their Pyomo components (:func:`model_names`:
        ``build[rockdale-mine,ai-retrofit,2026]`` in MPS, ``build(rockdale_mine,ai_retrofit,2026)``
        in LP, whose readers take no brackets or dashes); HiGHS's console output is off while
        the names are passed and the file is written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        h = self._h
        output = h.getOptionValue("output_flag")[1]
        h.setOptionValue("output_flag", False)
        try:
            cols, rows = model_names(self._model, self._cols, self._rows, self.num_col, self.num_row,
                                     lp=path.suffix.lower() == ".lp")
            for j, name in enumerate(cols):
                h.passColName(j, name)
            for i, name in enumerate(rows):
                h.passRowName(i, name)
            h.writeModel(str(path))
        finally:
            h.setOptionValue("output_flag", output)

    # -- solving
    def status(self) -> tuple[Status, str, bool]:
        """(status, raw HiGHS model status, whether an incumbent exists) of the last run."""
        model_status = self._h.getModelStatus()
        has = self._h.getInfo().primal_solution_status == 2
        return map_status(model_status, has), self._h.modelStatusToString(model_status), has

    def run(self, *, time_limit: float | None, mip_gap: float, start: np.ndarray | None = None) -> RunResult:
        """Solve what HiGHS holds now (optionally from a start vector of all columns)."""
        h = self._h
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else highspy.kHighsInf)
        if start is not None and len(start) == h.getNumCol():
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)
        if h.run() == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS refused to solve (status {h.modelStatusToString(h.getModelStatus())})")
        status, raw, has = self.status()
        info = h.getInfo()
        x = np.array(h.getSolution().col_value, dtype=float) if has else None
        objective = float(info.objective_function_value) if has else None
        if info.mip_node_count >= 0:
            bound: float | None = float(info.mip_dual_bound)
        else:
            bound = objective
        if status == Status.OPTIMAL and has and (bound is None or not math.isfinite(bound)):
            bound = objective
        if bound is not None and not math.isfinite(bound):
            bound = None
        return RunResult(status, raw, has, x, objective, bound)


NAME_MAX = 255
"""Longest column or row name written (the LP format's limit)."""

_LP_OTHER = re.compile(r"[^A-Za-z0-9_(),.]")
_BLANK = re.compile(r"\s")


def model_names(m: pyo.ConcreteModel, cols: dict[int, int], rows: dict[Any, int], num_col: int, num_row: int,
                *, lp: bool) -> tuple[list[str], list[str]]:
    """Column and row names for a model file: the Pyomo names (``component[index,...]``) of the
    variables and constraints that ``cols`` (``id(var)`` -> column) and ``rows`` (constraint
    data -> row) place in HiGHS, valid for the format and unique.

    Blanks become ``_``; for ``lp`` brackets become parentheses and every character but
    letters, digits and ``_(),.`` becomes ``_``; names are cut at :data:`NAME_MAX` characters;
    a name taken already gets a ``_N`` suffix; columns and rows of no Pyomo component
    (added by an analysis) are ``_cJ`` / ``_rI``.
    """
    cache: dict[object, str] = {}  # index parts repeat (site, period ids): clean each once
    left, right = ("(", ")") if lp else ("[", "]")

    def clean(text: str) -> str:
        return _LP_OTHER.sub("_", text.replace("[", "(").replace("]", ")")) if lp else _BLANK.sub("_", text)

    def part(p: object) -> str:
        if p not in cache:
            cache[p] = clean(str(p))
        return cache[p]

    def names(components: Iterable[Any], where: dict[Any, int], size: int, key: Callable[[Any], Any]) -> list[str]:
        out = [""] * size
        for comp in components:
            base = clean(str(comp.name))
            base = base if base[:1].isalpha() or base[:1] == "_" else "_" + base
            for idx, data in comp.items():
                k = where.get(key(data), -1)
                if not 0 <= k < size:
                    continue
                if idx is None:
                    out[k] = base[:NAME_MAX]
                else:
                    parts = idx if isinstance(idx, tuple) else (idx,)
                    out[k] = f"{base}{left}{','.join([part(p) for p in parts])}{right}"[:NAME_MAX]
        return out

    col_names = names(m.component_objects(pyo.Var, descend_into=True), cols, num_col, id)
    row_names = names(m.component_objects(pyo.Constraint, active=True, descend_into=True), rows, num_row, lambda c: c)
    return _unique(col_names, "_c"), _unique(row_names, "_r")


def _unique(names: list[str], blank: str) -> list[str]:
    """Fill blank names with ``blank`` + position and make every name unique (``_N`` suffix)."""
    seen: set[str] = set()
    out = []
    for k, name in enumerate(names):
        name = name or f"{blank}{k}"
        if name in seen:
            n = 2
            while f"{name[:NAME_MAX - 8]}_{n}" in seen:
                n += 1
            name = f"{name[:NAME_MAX - 8]}_{n}"
        seen.add(name)
        out.append(name)
    return out


def fixed_lp_duals(m: pyo.ConcreteModel, rows: list[Any], time_limit: float | None = None
                   ) -> tuple[dict[Any, float], float, set[Any]]:
    """Row duals of the LP left when every integer variable is fixed at its value in ``m``.

    The Pyomo model is not changed: a fresh HiGHS copy has its integer columns fixed at
    the (rounded) plan values and made continuous, and is solved as an LP. Returns the
    duals of ``rows`` (Pyomo constraint data -> dual, HiGHS's sign: dz/db of the row
    bound of a minimisation), the LP objective, and the rows of ``rows`` whose every
    column is fixed (their duals mean nothing). Raises ``RuntimeError`` when the LP does
    not solve to optimality.
    """
    session = HighsSession(m)
    h = session._h
    lp = h.getLp()
    n = lp.num_col_
    integrality = list(lp.integrality_) if len(lp.integrality_) else [highspy.HighsVarType.kContinuous] * n
    lower = np.array(lp.col_lower_, dtype=float)
    upper = np.array(lp.col_upper_, dtype=float)
    discrete = [var for var in m.component_data_objects(pyo.Var, active=True) if not var.is_continuous()]
    for var in discrete:
        j = session.column(var)
        if j >= 0 and var.value is not None:
            lower[j] = upper[j] = round(var.value)
    is_int = np.array([t != highspy.HighsVarType.kContinuous for t in integrality], dtype=bool)
    if is_int.any():
        cols = np.flatnonzero(is_int).astype(np.int32)
        h.changeColsIntegrality(len(cols), cols, np.array([highspy.HighsVarType.kContinuous] * len(cols)))
    session.set_col_bounds(np.arange(n, dtype=np.int32), lower, upper)
    fixed_col = lower == upper
    a = h.getLp().a_matrix_
    starts, index = np.asarray(a.start_), np.asarray(a.index_)
    if a.format_ == highspy.MatrixFormat.kRowwise:  # index holds columns, one run per row
        row_of_entry = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        free_rows = set(row_of_entry[~fixed_col[index]].tolist())
    else:  # column-wise: index holds rows, one run per column
        free_rows = set(index[np.repeat(~fixed_col, np.diff(starts))].tolist())
    session.set_option("output_flag", False)
    session.set_option("random_seed", 0)
    result = session.run(time_limit=time_limit, mip_gap=0.0)
    if result.status != Status.OPTIMAL or not result.has_solution:
        raise RuntimeError(f"the LP with the discrete decisions fixed did not solve to optimality ({result.solver_status})")
    assert result.objective is not None  # an optimal run has an objective
    row_dual = h.getSolution().row_dual
    duals: dict[Any, float] = {}
    fixed_rows: set[Any] = set()
    for con in rows:
        r = session._rows.get(con)
        if r is None:
            continue
        duals[con] = float(row_dual[r])
        if r not in free_rows:
            fixed_rows.add(con)
    return duals, float(result.objective), fixed_rows


OBJECTIVE_TARGET_MAX = 1e4
"""Largest objective coefficient HiGHS should see after scaling (see :func:`scale_objective`)."""

OBJECTIVE_FLOOR_MIN = 1e-3
"""Smallest non-zero objective coefficient HiGHS may see after scaling: 10,000 times its
dual feasibility tolerance (1e-7, absolute), so that a cost difference of 0.01 % between
two choices is still resolved. The floor wins over :data:`OBJECTIVE_TARGET_MAX`: a
coefficient range wider than both allow keeps the small costs exact and the large ones
large (slower, never wrong)."""

RESOLVABLE_RANGE = 1e12
"""Widest ratio of the largest to the smallest non-zero objective coefficient that HiGHS
resolves in double precision with its tolerances; beyond it the plan carries a warning
naming the extreme coefficients (see :func:`coefficient_range_warning`)."""


def objective_scale(costs: Any) -> float:
    """The power of ten applied to the objective before HiGHS sees it.

    It brings the largest coefficient to at most :data:`OBJECTIVE_TARGET_MAX`, but never
    below the factor that keeps the smallest non-zero coefficient at or above
    :data:`OBJECTIVE_FLOOR_MIN`, and never above 1 (costs are never scaled up).

    Costs in USD reach 1e9-1e10 per variable (a 500 MW campus) while HiGHS's dual
    feasibility tolerance is an absolute 1e-7: unscaled, the simplex spends most of its
    iterations on numerical noise (synth-L root LP: over 140 s unscaled, 14 s scaled by
    1e-6; ``benchmarks/README.md``). Scaled too far, small costs fall below that
    tolerance and HiGHS cannot tell choices apart: with a 1e12 USD penalty beside $10
    prices, scaling by 1e-8 returned a plan twice as dear as the optimum as "optimal".
    """
    import numpy as np

    c = np.abs(np.asarray(costs, dtype=float))
    c = c[np.isfinite(c) & (c > 0)]
    if not c.size:
        return 1.0
    top, bottom = float(c.max()), float(c.min())
    scale = 1.0 if top <= OBJECTIVE_TARGET_MAX else 10.0 ** -math.ceil(math.log10(top / OBJECTIVE_TARGET_MAX))
    floor = 10.0 ** math.ceil(math.log10(OBJECTIVE_FLOOR_MIN / bottom))
    return min(1.0, max(scale, floor))


def coefficient_range_warning(session: HighsSession) -> str | None:
    """A warning naming the variables with the largest and smallest non-zero objective
    coefficients when their ratio exceeds :data:`RESOLVABLE_RANGE` (None otherwise)."""
    lp = session.lp()
    c = np.abs(lp.cost)
    nz = np.flatnonzero(np.isfinite(c) & (c > 0))
    if nz.size < 2:
        return None
    hi, lo = int(nz[np.argmax(c[nz])]), int(nz[np.argmin(c[nz])])
    ratio = c[hi] / c[lo]
    if ratio <= RESOLVABLE_RANGE:
        return None
    return (f"objective coefficients span {ratio:.1e} (from {c[lo]:.3g} USD on {session.column_name(lo)} to "
            f"{c[hi]:.3g} USD on {session.column_name(hi)}), more than HiGHS resolves ({RESOLVABLE_RANGE:.0e}): "
            "costs that small may be treated as zero; lower the largest penalty or raise the smallest cost")


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
def _quiet_pyomo_status_warning() -> Iterator[None]:
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
def _ctrl_c_stops_search(h: highspy.Highs) -> Iterator[list[str]]:
    """While HiGHS runs, Ctrl-C (SIGINT) or SIGTERM (what batch schedulers and container
    stops send) asks it to stop at the next callback and keep its incumbent, instead of
    raising inside the solver and losing the plan. The list it yields holds the name of
    the signal that stopped the search (empty if none did); a second signal gives up at
    once (KeyboardInterrupt)."""
    flag: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_signal(sig: int, _frame: Any) -> None:
        if flag:  # a second signal: give up at once
            raise KeyboardInterrupt
        flag.append("Ctrl-C" if sig == signal.SIGINT else signal.Signals(sig).name)

    def stop(event: Any) -> None:
        if flag:
            event.interrupt()

    events = (h.cbMipInterrupt, h.cbSimplexInterrupt, h.cbIpmInterrupt)
    for ev in events:
        ev.subscribe(stop)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for ev in events:
            ev.unsubscribe(stop)


def _round_integers(m: pyo.ConcreteModel) -> None:
    """Snap integer variables to integers (HiGHS returns them within its 1e-6 tolerance),
    so plan tables show whole units and the objective is evaluated at the rounded plan."""
    for var in m.component_data_objects(pyo.Var, active=True):
        if not var.is_continuous() and var.value is not None:
            var.set_value(round(var.value), skip_validation=True)
