"""How the MIP is searched (:attr:`optimizer.options.SolveOptions.strategy`): one branch and
bound on the whole model, or fix-and-optimize.

``direct`` runs HiGHS once on the model it holds.

``fix-and-optimize`` runs it four times on the same HiGHS model (one :class:`HighsSession`),
within one time limit ``T``:

1. the **LP relaxation**: every integer column made continuous;
2. **rounding** of the first-stage site decisions, the ``build`` and ``expand`` binaries
   (:func:`round_sites`): a site build or phase is opened when its LP value is >=
   :data:`OPEN_AT` (0.5), and more builds by decreasing LP value until as many are open as
   the LP's total opening rounded up; the rest are closed. Those columns are fixed
   (lower = upper); every other integer column (blocks, units, ...) is integer again;
3. the **restricted MIP** with those site decisions fixed, for what is left of
   :data:`RESTRICTED_SHARE` × ``T`` after the LP;
4. the **full MIP**, its bounds restored, started from the restricted MIP's plan (a complete
   column vector passed with ``setSolution``, see :meth:`HighsSession.run`), for the time
   that is left of ``T``.

The status, plan and bound reported are the full MIP's, so the gap is a gap of the whole
model; the restricted plan is a plan of the whole model too (only bounds were changed), so
it is recorded in the progress history as an incumbent, and the LP optimum as a bound.
When the LP or the restricted MIP gives nothing to start from (a limit, an infeasible
rounding), the full MIP runs without a start. Ctrl-C or SIGTERM stops the stage that runs and
skips the rest: the plan is then the restricted MIP's (if any) and the bound the LP's, both
valid for the whole model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimizer.options import SolveOptions, Status
from optimizer.solver.progress import Progress
from optimizer.solver.session import HighsSession, RunResult

OPEN_AT = 0.5
"""A site build or phase is opened when its LP value is at least this."""

ROUNDINGS = ("lp-guided", "partial")
"""How the site decisions may be fixed (:func:`round_sites`)."""

ROUNDING = "lp-guided"
"""The rounding :func:`fix_and_optimize` uses (benchmarks/strategy.py changes it to compare)."""

RESTRICTED_SHARE = 0.3
"""Share of the time limit for the LP relaxation and the restricted MIP together."""


_Stages = tuple[RunResult | None, float | None, list[str], dict[str, float]]
"""What stages 1-3 give: the restricted MIP's result (if it has a plan), the LP bound, messages, seconds."""


@dataclass
class Search:
    """The last word of a search: what HiGHS (or the stage that stopped it) found, in HiGHS's
    objective units. ``x`` is the incumbent's column vector when it is not HiGHS's current
    solution (a search stopped before the full MIP); ``is_mip`` whether a MIP bound applies."""

    status: Status
    solver_status: str
    has_solution: bool
    objective: float | None
    bound: float | None
    is_mip: bool
    x: np.ndarray | None = None
    messages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


AUTO_RELAX_FIX_INTEGERS = 2_000
"""From this many integer columns (and a long enough time limit), ``auto`` runs relax-and-fix."""

AUTO_RELAX_FIX_SECONDS = 60.0
"""The shortest time limit under which ``auto`` runs relax-and-fix: with a few seconds its
stages are too short to give a plan where one direct search finds one (synth-M-1, 3 s)."""


def resolve_strategy(strategy: str, session: HighsSession, time_limit: float | None = None) -> str:
    """The strategy to run. ``auto`` is ``relax-and-fix`` for a model with at least
    :data:`AUTO_RELAX_FIX_INTEGERS` integer columns solved under a time limit of at least
    :data:`AUTO_RELAX_FIX_SECONDS` — where it was measured against direct (synth-M-1, synth-L-1..3)
    it found plans 4–40 % cheaper and proved smaller gaps in the same time (benchmarks/README.md,
    "Relax-and-fix") — and ``direct`` otherwise: a small model solves to optimality either way,
    without a limit relax-and-fix's stages have no time shares, and with a few seconds they are
    too short to give a plan. fix-and-optimize did not pay where it was measured ("Strategies").
    A model with no integer column is always solved directly."""
    n_int = session.integer_columns().size
    if not n_int:
        return "direct"
    if strategy == "auto":
        long_enough = time_limit is not None and time_limit >= AUTO_RELAX_FIX_SECONDS
        return "relax-and-fix" if long_enough and n_int >= AUTO_RELAX_FIX_INTEGERS else "direct"
    return strategy


def direct(session: HighsSession) -> Search:
    """One HiGHS run on the model as it is."""
    h = session._h
    limit = float(h.getOptionValue("time_limit")[1])
    session.deadline.start(limit if limit < 1e30 else None)
    if session.run_highs() is None:  # abandoned after its deadline: the latest incumbent, no bound
        run = session._abandoned_result()
        return Search(run.status, run.solver_status, run.has_solution, run.objective, None, True, run.x)
    status, raw, has = session.status()
    info = h.getInfo()
    return Search(status, raw, has, float(info.objective_function_value) if has else None,
                  float(info.mip_dual_bound), info.mip_node_count >= 0)


def site_columns(session: HighsSession, m: pyo.ConcreteModel) -> tuple[np.ndarray, list[tuple[str, Any, Any]]]:
    """The HiGHS columns of the first-stage site decisions that are in HiGHS, and for each
    its kind (``build``, ``expand``), site and (site, option)."""
    cols: list[int] = []
    keys: list[tuple[str, Any, Any]] = []
    for name in ("build", "expand"):
        for index, var in getattr(m, name).items() if hasattr(m, name) else ():
            j = session.column(var)
            if j >= 0:
                cols.append(j)
                keys.append((name, index[0], tuple(index[:2])))
    return np.array(cols, dtype=np.int32), keys


def round_sites(values: np.ndarray, keys: list[tuple[str, Any, Any]], rounding: str = "lp-guided") -> np.ndarray:
    """LP-guided rounding of the site decisions (1 = open, 0 = closed, NaN = left free).

    ``rounding="partial"`` (measured in benchmarks/strategy.py, not the default): open what
    the LP opens at >= :data:`OPEN_AT`, close what it leaves at 0, leave the fractional ones
    to the restricted MIP.

    Builds, by decreasing LP value: one is opened when its value is >= :data:`OPEN_AT`, or
    while fewer builds are open than the LP's total opening rounded up (ceil of the sum of
    the build values: a plan the LP spreads over several sites at 0.3 each still gets as
    many sites as it pays for), at most one per site and never at LP value 0. A later
    phase is opened when its value is >= :data:`OPEN_AT` and its site and option are built."""
    if rounding == "partial":
        return np.where(values >= OPEN_AT, 1.0, np.where(values <= 1e-6, 0.0, np.nan))
    fixed = np.zeros(len(values))
    builds = [i for i, k in enumerate(keys) if k[0] == "build"]
    target = int(np.ceil(sum(values[i] for i in builds) - 1e-6))
    opened_sites: set[Any] = set()
    opened_options: set[Any] = set()
    for i in sorted(builds, key=lambda i: -values[i]):
        _, site, site_option = keys[i]
        if site in opened_sites or values[i] <= 1e-6:
            continue
        if values[i] >= OPEN_AT or len(opened_sites) < target:
            fixed[i] = 1.0
            opened_sites.add(site)
            opened_options.add(site_option)
    for i, (kind, _, site_option) in enumerate(keys):
        if kind == "expand" and values[i] >= OPEN_AT and site_option in opened_options:
            fixed[i] = 1.0
    return fixed


def fix_and_optimize(session: HighsSession, m: pyo.ConcreteModel, options: SolveOptions, history: Progress,
                     interrupted: list[str], rounding: str | None = None) -> Search:
    """Fix-and-optimize (module docstring) on the model the session holds, with HiGHS's options
    already set; ``history`` is fed (wall-clock seconds) and ``interrupted`` is the Ctrl-C flag."""
    t0 = time.perf_counter()
    cols, keys = site_columns(session, m)
    if not cols.size:
        out = direct(session)
        out.messages.append("fix-and-optimize: the model has no site decision to fix; solved directly")
        return out
    history.wall_clock = True
    total = options.time_limit
    arrays = session.lp()
    ints = session.integer_columns()
    history.paused = True
    try:
        start, bound, notes, seconds = _stages(session, options, cols, keys, ints, history, interrupted, t0,
                                               rounding or ROUNDING)
    finally:
        session.set_integrality(ints, integer=True)
        session.set_col_bounds(cols, arrays.lower[cols], arrays.upper[cols])
        history.paused = False
    if interrupted:  # stopped before the full MIP: the restricted plan and the LP bound stand
        has = start is not None
        return Search(Status.FEASIBLE if has else Status.NO_SOLUTION, "Interrupted by user", has,
                      None if start is None else start.objective, bound, True,
                      None if start is None else start.x, notes, seconds)
    left = None if total is None else max(total - (time.perf_counter() - t0), 0.01)
    t1 = time.perf_counter()
    full = session.run(time_limit=left, mip_gap=options.mip_gap, start=None if start is None else start.x)
    seconds["full_mip"] = time.perf_counter() - t1
    if not full.has_solution and start is not None:  # the limit came before HiGHS took the start
        return Search(Status.FEASIBLE, full.solver_status, True, start.objective, full.bound or bound, True,
                      start.x, notes, seconds)
    out = direct_result(session, full)
    out.messages, out.seconds = notes, seconds
    return out


def direct_result(session: HighsSession, run: RunResult) -> Search:
    """A :class:`Search` of HiGHS's last run."""
    if session.abandoned:  # HiGHS's info is an earlier run's: no bound from this one
        return Search(run.status, run.solver_status, run.has_solution, run.objective, None, True, run.x)
    info = session._h.getInfo()
    return Search(run.status, run.solver_status, run.has_solution, run.objective, float(info.mip_dual_bound),
                  info.mip_node_count >= 0)


def _stages(session: HighsSession, options: SolveOptions, cols: np.ndarray, keys: list[tuple[str, Any, Any]],
            ints: np.ndarray, history: Progress, interrupted: list[str], t0: float, rounding: str) -> _Stages:
    """Stages 1-3: the LP relaxation, the rounding, the restricted MIP. Returns the restricted
    MIP's result if it has a plan, the LP bound, messages and seconds per stage."""
    budget = None if options.time_limit is None else RESTRICTED_SHARE * options.time_limit
    seconds: dict[str, float] = {}
    session.set_integrality(ints, integer=False)
    lp = session.run(time_limit=budget, mip_gap=options.mip_gap)
    seconds["lp_relaxation"] = time.perf_counter() - t0
    scale = history.scale
    bound = lp.objective if lp.status is Status.OPTIMAL else None
    history.note(history.elapsed(), None, None if bound is None else bound / scale)
    if bound is None or lp.x is None or interrupted:
        return None, bound, [f"fix-and-optimize: LP relaxation {lp.solver_status}; the full MIP runs without a start"], seconds
    fixed = round_sites(lp.x[cols], keys, rounding)
    session.set_integrality(ints, integer=True)
    pin = ~np.isnan(fixed)
    session.set_col_bounds(cols[pin], fixed[pin], fixed[pin])
    left = None if budget is None else budget - (time.perf_counter() - t0)
    if left is not None and left <= 0:
        return None, bound, ["fix-and-optimize: the LP relaxation used the restricted MIP's time; no start"], seconds
    t1 = time.perf_counter()
    restricted = session.run(time_limit=left, mip_gap=options.mip_gap)
    seconds["restricted_mip"] = time.perf_counter() - t1
    opened, free = int(np.nansum(fixed)), int((~pin).sum())
    note = (f"fix-and-optimize: LP bound {_money(bound, scale)}; {opened} of {len(cols)} site builds/phases opened "
            f"by rounding{f', {free} left free' if free else ''}; restricted MIP {restricted.solver_status}")
    if not restricted.has_solution:
        return None, bound, [note + ", no plan: the full MIP runs without a start"], seconds
    history.note(history.elapsed(), _unscaled(restricted.objective, scale), None)
    return restricted, bound, [note + f", plan {_money(restricted.objective, scale)} given to the full MIP as a start"], seconds


def _unscaled(x: float | None, scale: float) -> float | None:
    return None if x is None else x / scale


def _money(x: Any, scale: float) -> str:
    return "n/a" if x is None else f"{float(x) / scale:.6g}"
