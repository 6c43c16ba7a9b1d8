"""One Pyomo model held in HiGHS: :class:`HighsSession`, and the LP duals of a fixed plan."""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo

from optimizer.options import Status
from optimizer.solver.collector import no_collection
from optimizer.solver.compile import compile_model, flat_value, pass_to_highs
from optimizer.solver.names import model_names
from optimizer.solver.progress import Deadline, ctrl_c_stops_search
from optimizer.solver.scaling import scale_objective

_banner_done = False

ABANDON_AFTER_S = 10.0
ABANDON_SHARE = 0.03
"""A HiGHS run that has not returned :data:`ABANDON_AFTER_S` seconds plus this share of its
limit after its deadline is abandoned (:meth:`HighsSession.run_highs`): 64 s for 1,800 s, 28 s
for 600 s. HiGHS normally returns within a second of the deadline, but one phase of its root
(central rounding: ``linesearchRounding`` → ``tryRoundedPoint`` → domain propagation, HiGHS
1.16.0) checks neither its limit nor the callbacks, and ran more than 14 minutes past a limit
on a 50-scenario model (benchmarks/README.md)."""
ABANDONED = "Time limit reached (HiGHS did not return; its run was abandoned)"


def new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` with its console output off. HiGHS prints its banner on the first
    object a process makes, to the C ``stdout``: that one is made with file descriptor 1
    pointed at the null device, so ``dcplan solve --quiet`` prints only its status line."""
    global _banner_done
    if _banner_done:
        h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy leaves __init__ unannotated
    else:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
            _flush_c_stdout()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _banner_done = True
    h.setOptionValue("output_flag", False)
    return h


def _flush_c_stdout() -> None:
    """Flush the C library's ``stdout`` buffer (what HiGHS wrote must go where fd 1 points now)."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to ask (e.g. Windows): nothing buffered to lose
        pass


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
    """One Pyomo model held in HiGHS, in memory.

    The model is compiled into arrays and passed in bulk (:mod:`optimizer.solver.compile`:
    the same columns, rows and coefficients Pyomo's persistent interface would pass, in a
    fraction of the time); HiGHS's console output is off until a caller turns it on.
    The only place besides :func:`optimizer.solver.solve_model` that touches HiGHS: analysis
    code that re-solves a model many times with changed costs and bounds (progressive
    hedging) or needs row duals (marginal values) works through this object, in column and
    row indices it hands out, never through HiGHS's private state.
    """

    def __init__(self, m: pyo.ConcreteModel) -> None:
        t0 = time.perf_counter()
        with no_collection():  # the hand-over makes ~1 M objects and frees none (optimizer.solver.collector)
            compiled = compile_model(m)
            self._h = new_highs()
            pass_to_highs(self._h, compiled)
        self._model = m
        self.handover_seconds = time.perf_counter() - t0
        self._vars: list[Any] = compiled.variables  # HiGHS column -> Pyomo variable
        self._cols: dict[int, int] = compiled.cols  # id(Pyomo variable) -> HiGHS column
        self._rows: dict[Any, int] = compiled.rows  # Pyomo constraint data -> HiGHS row
        self._integer = compiled.integer
        self._integer_now = np.array(compiled.integer, dtype=bool)  # integrality as HiGHS holds it now (set_integrality)
        self.deadline = Deadline()  # armed by run() and direct runs; checked in HiGHS's callbacks
        self.abandoned = False  # a run did not return after its deadline (run_highs): HiGHS is busy for good
        self.captured: tuple[float, np.ndarray] | None = None  # the last run's latest incumbent (objective, x)

    # -- addressing
    def column(self, var: pyo.Var) -> int:
        """HiGHS column of a Pyomo variable (-1 when it is in no row, so not in HiGHS)."""
        return self._cols.get(id(var), -1)

    def load_solution(self, x: np.ndarray | None = None) -> None:
        """Set every Pyomo variable that has a column to its value in ``x`` (default: HiGHS's
        incumbent), integer ones rounded to whole numbers (HiGHS returns them within its 1e-6
        tolerance), so plan tables show whole units and costs are evaluated at the rounded plan."""
        from pyomo.core.staleflag import StaleFlagManager

        values = np.array(self._h.getSolution().col_value if x is None else x, dtype=float)
        ints = np.flatnonzero(self._integer)
        rounded = values.tolist()
        for j, r in zip(ints.tolist(), np.round(values[ints]).tolist()):
            rounded[j] = int(r)
        for var, val in zip(self._vars, rounded):
            var.set_value(val, skip_validation=True)
        StaleFlagManager.mark_all_as_stale(delayed=True)

    def complete_incumbent(self, m: pyo.ConcreteModel, time_limit: float = 60.0) -> list[str]:
        """Make the loaded incumbent consistent: fix its integer decisions, re-solve the LP of
        the rest and load that LP optimum into ``m`` (it can only lower the cost).

        A MIP incumbent taken at a limit can leave derived continuous variables (a subsidy
        received, a shortfall) away from what its own decisions earn, so its written costs
        would not describe its decisions. Changes the model HiGHS holds (integer columns
        fixed and made continuous): call it last. Returns messages (empty when all is well).
        """
        h = self._h
        is_int = self._integer
        if not is_int.any():
            return []
        lp = h.getLp()
        n = lp.num_col_
        lower = np.array(lp.col_lower_, dtype=float)
        upper = np.array(lp.col_upper_, dtype=float)
        cols = np.flatnonzero(is_int).astype(np.int32)
        fixed = np.array([np.nan if (v := self._vars[j].value) is None else v for j in cols.tolist()], dtype=float)
        known = ~np.isnan(fixed)
        lower[cols[known]] = upper[cols[known]] = np.round(fixed[known])
        self.set_integrality(cols, integer=False)
        self.set_col_bounds(np.arange(n, dtype=np.int32), lower, upper)
        before = objective_value(m)
        h.setOptionValue("output_flag", False)
        with ctrl_c_stops_search(h):
            result = self.run(time_limit=time_limit, mip_gap=0.0)
        if result.status != Status.OPTIMAL or result.x is None:
            return [f"the incumbent's continuous part could not be re-optimised ({result.solver_status}); "
                    "it is reported as found"]
        cont = np.flatnonzero(~is_int).tolist()
        saved = [self._vars[j].value for j in cont]
        for j, val in zip(cont, result.x[cont].tolist()):
            self._vars[j].set_value(val, skip_validation=True)
        after = objective_value(m)
        if after > before + 1e-9 * max(1.0, abs(before)):  # numerically worse: keep what HiGHS found
            for j, val in zip(cont, saved):
                self._vars[j].set_value(val, skip_validation=True)
        return []

    def column_name(self, col: int) -> str:
        """The Pyomo name of the variable in column ``col`` (its record ids in brackets)."""
        return self._vars[col].name if 0 <= col < len(self._vars) else f"column {col}"

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
    def option(self, name: str) -> bool | int | float | str:
        """The value of a HiGHS option."""
        return self._h.getOptionValue(name)[1]

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

    def integer_columns(self) -> np.ndarray:
        """The indices of the integer columns of the model as handed over."""
        return np.flatnonzero(self._integer).astype(np.int32)

    def set_integrality(self, cols: np.ndarray, integer: bool) -> None:
        """Make columns ``cols`` integer (``integer=True``) or continuous (an LP relaxation)."""
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        cols = np.asarray(cols, dtype=np.int32)
        self._h.changeColsIntegrality(len(cols), cols, np.full(len(cols), kind))
        self._integer_now[cols] = integer

    def add_columns(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Add continuous columns (cost 0); returns their indices."""
        first = self.num_col
        self._h.addVars(len(lower), np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
        self._integer_now = np.concatenate([self._integer_now, np.zeros(len(lower), dtype=bool)])
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
        """Scale the objective by :func:`~optimizer.solver.scaling.objective_scale` of its
        coefficients, in place (the constant too); returns the factor. Values read back
        (objective, dual bound, row duals) must be divided by it; plan costs are evaluated
        on the Pyomo model."""
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
        raw = self._h.modelStatusToString(model_status)
        if self.deadline.hit and model_status == highspy.HighsModelStatus.kInterrupt:
            raw = "Time limit reached"  # dcplan's deadline (progress.Deadline) stopped it, not the user
        return map_status(model_status, has), raw, has

    def _highs_time_limit(self, seconds: float | None) -> float:
        """HiGHS's ``time_limit`` for a run of ``seconds``, on the clock HiGHS compares it with.

        An LP is timed on the Highs object's run clock, which runs on across runs (an LP run with
        limit 15 after a 20 s run stops at once): its limit is the clock's reading plus its own
        seconds. A MIP is timed from the start of its own run, and so are its sub-MIPs (each gets
        the limit less the MIP's time so far), which call no callback: with the run-clock limit,
        a second MIP run and its sub-MIPs ran that much longer (HiGHS 1.16.0: a 5 s MIP run after
        18 s of runs ran 23.5 s; relax-and-fix's full MIP on synth-L-2 ran 250 s past its limit
        in nested RINS sub-MIPs). So a MIP's limit is its own seconds."""
        if seconds is None:
            return float(highspy.kHighsInf)
        if self._integer_now.any():
            return float(seconds)
        return float(self._h.getRunTime()) + float(seconds)

    def run(self, *, time_limit: float | None, mip_gap: float, start: np.ndarray | None = None) -> RunResult:
        """Solve what HiGHS holds now (optionally from a start vector of all columns).

        The start is passed with ``setSolution`` just before ``run`` (a later change of the
        model would discard it). HiGHS checks a complete start at the beginning of a MIP
        search and keeps it as its first incumbent if it is feasible (log: "MIP start
        solution is feasible"), else ignores it; a sparse (partial) start would instead be
        completed by a small sub-MIP (option ``mip_max_start_nodes``)."""
        h = self._h
        if self.abandoned:  # HiGHS is still inside the abandoned run: nothing more can run
            return RunResult(Status.NO_SOLUTION, ABANDONED, False, None, None, None)
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        h.setOptionValue("time_limit", self._highs_time_limit(time_limit))
        self.deadline.start(time_limit)
        if start is not None and len(start) == h.getNumCol():
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)
        returned = self.run_highs()
        if returned is None:
            return self._abandoned_result()
        if returned == highspy.HighsStatus.kError:
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


    def run_highs(self) -> highspy.HighsStatus | None:
        """``Highs.run()`` on this thread's HiGHS runner (:func:`_runner`), so that Python stays
        responsive while HiGHS runs (a second Ctrl-C gives up at once) and a run that does not
        return after its deadline can be left behind: None then (the run is abandoned,
        :attr:`abandoned` is set, and :attr:`captured` holds the latest incumbent HiGHS reported,
        if any), else HiGHS's return status."""
        h = self._h
        self.captured = None
        num_col = h.getNumCol()

        def improved(event: Any) -> None:
            x = np.array(event.data_out.mip_solution, dtype=float)
            if x.size == num_col:  # the original columns (HiGHS reports them postsolved)
                self.captured = (float(event.data_out.objective_function_value), x)

        h.cbMipImprovingSolution.subscribe(improved)
        runner = _runner()
        try:
            job = runner.submit(h.run)
            try:
                while not job.done.wait(0.05):
                    if self.deadline.overrun(ABANDON_AFTER_S, ABANDON_SHARE):
                        self.abandoned = True
                        _drop_runner()  # it is stuck: the next run needs a runner of its own
                        return None
            except BaseException:  # a second Ctrl-C gives up at once; HiGHS runs on to its own limit
                self.abandoned = True
                _drop_runner()
                raise
        finally:
            h.cbMipImprovingSolution.unsubscribe(improved)
        if job.error is not None:
            raise job.error
        status: highspy.HighsStatus = job.result
        return status

    def _abandoned_result(self) -> RunResult:
        """The run :meth:`run_highs` abandoned: its latest incumbent, no bound (HiGHS's info
        belongs to an earlier run until this one returns)."""
        if self.captured is None:
            return RunResult(Status.NO_SOLUTION, ABANDONED, False, None, None, None)
        objective, x = self.captured
        return RunResult(Status.FEASIBLE, ABANDONED, True, x, objective, None)


class _Job:
    """One call handed to a :class:`_Runner`: its result or exception, and when it is done."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()


class _Runner:
    """A long-lived thread that runs HiGHS calls one at a time for one calling thread. It
    lives as long as the process (a thread that ran HiGHS and exits may take HiGHS's thread
    pool down with it), so each calling thread keeps its own (:func:`_runner`) and solves on
    different threads still run side by side."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="highs-runner", daemon=True).start()

    def submit(self, call: Callable[[], Any]) -> _Job:
        job = _Job(call)
        self._jobs.put(job)
        return job

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job.result = job.call()
            except BaseException as exc:  # handed to the calling thread
                job.error = exc
            finally:
                job.done.set()


_RUNNERS: dict[int, _Runner] = {}
_RUNNERS_LOCK = threading.Lock()


def _runner() -> _Runner:
    """The HiGHS runner of the calling thread (made on first use)."""
    key = threading.get_ident()
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = _RUNNERS[key] = _Runner()
        return runner


def _drop_runner() -> None:
    """Forget the calling thread's runner (it is stuck in an abandoned run)."""
    with _RUNNERS_LOCK:
        _RUNNERS.pop(threading.get_ident(), None)


def on_runner(call: Callable[[], Any]) -> Any:
    """Run ``call`` on the calling thread's HiGHS runner and wait for it: HiGHS calls that
    touch its thread pool (``resetGlobalScheduler``) must come from the thread its runs come
    from, as they did when the runs were made on the calling thread."""
    job = _runner().submit(call)
    job.done.wait()
    if job.error is not None:
        raise job.error
    return job.result


def objective_value(m: pyo.ConcreteModel) -> float:
    """``pyo.value(m.total_cost)``, bit for bit; a flat linear objective (a sum of monomials,
    e.g. capb-5000's 100,300 terms) is summed directly, several times faster than Pyomo's
    expression walk."""
    x = flat_value(m.total_cost.expr)
    return float(pyo.value(m.total_cost)) if x is None else x


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
    lower = np.array(lp.col_lower_, dtype=float)
    upper = np.array(lp.col_upper_, dtype=float)
    is_int = session._integer
    for j in np.flatnonzero(is_int).tolist():
        v = session._vars[j].value
        if v is not None:
            lower[j] = upper[j] = round(v)
    if is_int.any():
        cols = np.flatnonzero(is_int).astype(np.int32)
        session.set_integrality(cols, integer=False)
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
