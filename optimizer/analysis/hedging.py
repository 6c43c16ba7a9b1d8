r"""Progressive hedging: the stochastic plan by scenario decomposition.

The extensive form (:func:`optimizer.solve` on an instance with scenarios) copies every
recourse variable once per scenario; with many scenarios of a large instance it no longer
fits in memory or time (``docs/uncertainty.md``, "How the extensive form scales"). Progressive
hedging (Rockafellar & Wets 1991; for integer first stages Watson & Woodruff 2011) solves one
model per scenario instead and drives their first-stage decisions to agreement with prices on
disagreement. The first stage is the site builds :math:`x = (b, n)` — openings and later
phases (:math:`e, m`, options with ``max_phases`` > 1) alike — and the continuous power
decisions :math:`z`: MW of on-site generation and batteries built (``generator_built_mw``) and
kept (``generator_kept_mw``), MW contracted of PPA offers (``ppa_contract_mw``):

.. math::
    \min_{x, z, y_w}\; C_w(x, z, y_w) + W_w^\top x + V_w^\top z + \tfrac{\rho}{2}\,\lVert x - \bar x\rVert^2
    + \tfrac{\sigma}{2}\,\lVert z - \bar z\rVert^2
    \qquad \bar x = \textstyle\sum_w \pi_w x_w, \quad W_w \mathrel{+}= \rho\,(x_w - \bar x),
    \quad V_w \mathrel{+}= \sigma\,(z_w - \bar z)

- binaries :math:`b`: :math:`(b-\bar b)^2 = b(1-2\bar b) + \bar b^2` is linear;
- block counts :math:`n` (general integers): the square is replaced by its tangents at
  integer distances :math:`t\in\{0,\pm1,\pm2,\pm4,\dots\}` from :math:`\bar n`
  (:math:`q \ge 2t(n-\bar n) - t^2`, cost :math:`\tfrac{\rho}{2} q`): exact at the tangent
  points, a convex under-estimate between them (a weaker penalty, never an invalid bound);
- continuous MW :math:`z` (largest value :math:`U`): tangents at :math:`t \in \{0, \pm U/16,
  \pm U/8, \pm U/4, \pm U/2, \pm U\}` likewise;
- :math:`\rho` is cost-proportional (Watson & Woodruff): :math:`\rho_i = f\,|c_i| / \max(1,
  \text{spread}_i)`, with :math:`c_i` the variable's objective coefficient and the spread its
  range over the scenario solutions of iteration 0; ``rho_factor`` :math:`f` defaults to 0.3.
  For :math:`z` the spread is at least :math:`U/16` MW, and a decision without a cost of its own
  (a PPA's contracted MW: its cost is the energy paid for) takes the smallest per-MW cost of
  the others (1 in the scaled objective if none has one).

Bounds, so that the result carries an honest gap:

- **upper**: every distinct candidate (the first stage all scenarios agree on, or
  :math:`\bar x` rounded to one build per site, with :math:`\bar z` — the mean of MW decisions
  satisfies their first-stage rows, which are linear) is evaluated exactly — first stage fixed,
  each scenario re-planned at least cost; the best feasible candidate's expected cost;
- **lower**: the Lagrangian bound :math:`\sum_w \pi_w \min_{x,z,y_w} [C_w + W_w^\top x + V_w^\top z]`,
  valid because :math:`\sum_w \pi_w W_w = 0` and :math:`\sum_w \pi_w V_w = 0`, taken from each
  scenario MIP's *dual bound* so that it stays valid when subproblems stop at a gap.
  Iteration 0 gives the wait-and-see bound.

The scenarios agree when every build and block count is the same in all of them and every
MW decision within :data:`AGREE_MW`. Every scenario model is built once and kept in HiGHS (in
memory, in this process or on Dask workers: :mod:`optimizer.analysis.hedging_pool`);
iterations change only objective coefficients and row bounds and start from the previous
solution. :func:`progressive_hedging` returns a :class:`HedgingResult`; the best first stage is
re-checked by solving each scenario with it fixed through the ordinary :func:`optimizer.solve`,
and every such plan is verified.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.analysis.hedging_pool import Pool, Request, ScenarioInfo, make_pool
from optimizer.analysis.hedging_result import (
    DEFAULT_OPTIONS,
    ITERATION_COLUMNS,
    HedgingOptions,
    HedgingResult,
    gap_between,
)
from optimizer.analysis.hedging_scenario import LATER, CKey, Key, Solved, builds_table, prices_table, rounded_mean
from optimizer.analysis.uncertainty import PlanEvaluation, _evaluate, _Runner
from optimizer.instance.decisions import Decisions, FixedPower
from optimizer.instance.derive import Prepared, prepare
from optimizer.instance.schema import Instance
from optimizer.options import SolveOptions, Status
from optimizer.results.outcomes import scenario_probabilities

AGREE_MW = 1e-3
"""MW within which the scenarios' continuous first-stage decisions count as agreeing (1 kW)."""

RECHECK_SHARE = 0.15
"""Share of the time limit kept for the final re-check of the best plan (the iterations stop before it)."""

SHARES = {"wait_and_see": 1 / 3, "candidate": 1 / 2, "iteration": 1 / 2, "bound": 1 / 2}
"""Most of the time left that one batch of scenario solves may take: iteration 0's wait-and-see
solves a third (so that a candidate can still be evaluated), every later batch half; each
group of scenarios splits its batch's seconds over its solves."""


# ----------------------------------------------------------------------------- the run and its state
@dataclass
class _Run:
    """What a run keeps throughout: settings, first-stage choices, scenario models, clock and counters."""

    inst: Instance
    so: SolveOptions
    opts: HedgingOptions
    prep: Prepared
    probs: dict[str, float]
    keys: list[Key]
    max_blocks: np.ndarray
    site_of: list[str]
    sub_gap: float
    t_start: float
    deadline: float | None  # end of the iterations
    end: float | None  # end of the run, the re-check included
    progress: Callable[[dict[str, float | None]], None] | None = None
    pool: Pool | None = None  # where the scenario models are
    scen: list[ScenarioInfo] = field(default_factory=list)
    prob: np.ndarray = field(default_factory=lambda: np.zeros(0))  # scenario probabilities, in scen order
    scale: float = 1.0  # common objective scale of the scenario models
    ckeys: list[CKey] = field(default_factory=list)  # the continuous first stage, in a fixed order
    c_upper: np.ndarray = field(default_factory=lambda: np.zeros(0))  # largest MW of each
    c_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))  # largest |scaled cost| per MW of each
    solves: int = 0
    messages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    evaluated: dict[tuple[float, ...], float | None] = field(default_factory=dict)
    """An evaluated first stage (its blocks, b = [n >= 1], and MW rounded to 1e-6) -> expected cost; None: infeasible."""

    @property
    def nk(self) -> int:
        """Number of first-stage build choices."""
        return len(self.keys)

    @property
    def nc(self) -> int:
        """Number of continuous first-stage decisions."""
        return len(self.ckeys)

    @property
    def n_scen(self) -> int:
        """Number of scenarios."""
        return len(self.scen)

    def left(self, share: float = 1.0) -> float | None:
        """``share`` of the seconds left for the iterations (None: no limit)."""
        return None if self.deadline is None else share * (self.deadline - time.perf_counter())

    def out_of_time(self) -> bool:
        """Whether the time limit has passed."""
        rest = self.left()
        return rest is not None and rest <= 0


@dataclass
class _State:
    """The iteration's state: first stages per scenario, their mean, prices, penalties, bounds, best candidate, log."""

    b_w: np.ndarray  # builds per scenario (rows) and build choice
    n_w: np.ndarray  # blocks per scenario and build choice
    c_w: np.ndarray  # continuous MW per scenario and decision
    bbar: np.ndarray  # probability-weighted mean of b_w (the consensus)
    nbar: np.ndarray
    cbar: np.ndarray
    rho_b: np.ndarray  # penalty per build choice
    rho_n: np.ndarray
    rho_c: np.ndarray
    W_b: np.ndarray  # prices per scenario and build choice, in the scaled objective
    W_n: np.ndarray
    W_c: np.ndarray
    bound_prices: tuple[np.ndarray, np.ndarray]  # W of the best Lagrangian bound on builds and blocks, unscaled
    lb: float | None = None
    ub: float | None = None
    best: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the best candidate (b, n, MW) so far (its cost is ub)
    iters: list[list[Any]] = field(default_factory=list)  # rows of ITERATION_COLUMNS
    converged: bool = False

    @property
    def gap(self) -> float | None:
        """Relative gap between the current bounds."""
        return gap_between(self.ub, self.lb)

    @property
    def agree(self) -> bool:
        """Whether every scenario chose the same first stage (MW within :data:`AGREE_MW`)."""
        return bool((np.ptp(self.n_w, axis=0) == 0).all() and (np.ptp(self.b_w, axis=0) == 0).all()
                    and (np.ptp(self.c_w, axis=0) <= AGREE_MW).all())


# ----------------------------------------------------------------------------- the algorithm
def progressive_hedging(inst: Instance, options: SolveOptions | None = None,
                        hedging: HedgingOptions | None = None,
                        progress: Callable[[dict[str, float | None]], None] | None = None) -> HedgingResult:
    """The stochastic plan of ``inst`` by progressive hedging (see the module docstring).

    ``options``: target gap between the bounds, time limit, threads and seed (default
    :data:`DEFAULT_OPTIONS`, a 1 % gap); ``hedging``: the method's own settings, including
    where the scenario models are solved (``executor``); ``progress`` is called after every
    iteration with ``{seconds, incumbent, bound, gap}`` (the upper and lower bound so far, as
    ``dcplan solve``'s progress lines show a search). Raises
    :class:`~optimizer.analysis.hedging_pool.PoolError` when a Dask cluster cannot be used.
    """
    so = options if options is not None else DEFAULT_OPTIONS
    if so.mip_gap <= 0:
        raise ValueError("progressive hedging needs a target gap mip_gap > 0")
    run = _start(inst, so, hedging if hedging is not None else HedgingOptions())
    run.progress = progress
    try:
        _build_scenarios(run)
        if any(s.impossible for s in run.scen):
            run.messages += [f"scenario '{s.id}': {msg}" for s in run.scen if s.impossible for msg in s.impossible]
            return _result(run, Status.INFEASIBLE, None, None, False, [], None)
        t0 = time.perf_counter()
        st = _iteration_zero(run)
        if isinstance(st, HedgingResult):
            return st
        run.seconds["iteration_0"] = time.perf_counter() - t0
        stop_reason = _iterate(run, st)
        run.seconds["iterations"] = time.perf_counter() - run.t_start - run.seconds["build"]
    finally:
        if run.pool is not None:
            run.pool.close()
    prices = prices_table(run.keys, [s.id for s in run.scen], *st.bound_prices)
    if st.best is None:
        out = _no_plan(run, st, stop_reason)
    else:
        out = _final_result(run, st, stop_reason, _recheck(run, st))
        out.power = power_table(run.ckeys, st.best[2])
    out.prices = prices
    return out


def _start(inst: Instance, so: SolveOptions, opts: HedgingOptions) -> _Run:
    """Start the clock; the run's settings and the instance's first-stage build choices."""
    t_start = time.perf_counter()
    end = t_start + so.time_limit if so.time_limit is not None else None
    deadline = t_start + (1 - RECHECK_SHARE) * so.time_limit if so.time_limit is not None else None
    probs = scenario_probabilities(inst)
    sub_gap = opts.sub_mip_gap if opts.sub_mip_gap is not None else so.mip_gap / 2
    prep = prepare(inst)
    phases = [(c, 1) for c in prep.choices] + [(c, LATER) for c in prep.expansions]
    keys: list[Key] = [(c.site, c.option, c.decision, ph) for c, ph in phases]
    max_blocks = np.array([c.max_blocks for c, _ph in phases], dtype=float)
    return _Run(inst, so, opts, prep, probs, keys, max_blocks, [k[0] for k in keys], sub_gap, t_start, deadline, end)


def _build_scenarios(run: _Run) -> None:
    """Build each scenario's model in HiGHS (where the executor puts it) on a common
    objective scale, with its proximal rows; the first-stage costs scaled alike."""
    t0 = time.perf_counter()
    o = run.opts
    run.pool = make_pool(o.executor, run.inst, list(run.probs.items()), run.keys, run.so.threads, run.so.seed,
                         o.workers, o.scheduler)
    info = run.pool.info()
    run.scale = min(s.scale for s in info)
    run.ckeys = sorted({k for s in info for k in s.cont})
    run.c_upper = np.array([max(s.cont[k][1] for s in info if k in s.cont) for k in run.ckeys])
    run.c_cost = np.array([max(abs(s.cont[k][0]) for s in info if k in s.cont) for k in run.ckeys]) * run.scale
    run.pool.prepare(run.scale, run.max_blocks, run.ckeys, run.c_upper)
    run.scen = [ScenarioInfo(s.id, s.prob, s.impossible, s.has, s.cost_b * run.scale, s.cost_n * run.scale, run.scale,
                             s.cont) for s in info]
    run.prob = np.array([s.prob for s in run.scen])
    run.seconds["build"] = time.perf_counter() - t0


@dataclass(frozen=True)
class _Prices:
    """Prices (one vector for all scenarios, or a row per scenario) on builds, blocks and MW."""

    b: np.ndarray
    n: np.ndarray
    c: np.ndarray

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The prices of scenario ``i``."""
        if np.ndim(self.b) == 2:
            return self.b[i], self.n[i], self.c[i]
        return self.b, self.n, self.c


def _solve_all(run: _Run, prices: _Prices, st: _State | None, gap: float, share: float) -> list[Solved] | None:
    """Solve every scenario with ``prices`` and, given the state ``st``, the proximal terms
    around its mean, each from its last solution; None if the time limit ends first."""
    if run.out_of_time():
        return None
    assert run.pool is not None, "the scenario models are built"
    reqs = []
    for i in range(run.n_scen):
        wb, wn, wc = prices.of(i)
        if st is None:
            reqs.append(Request(i, wb, wn, gap=gap, w_c=wc, warm=True))
        else:  # rho/2 (1 - 2 bbar) b: prox_b holds rho
            reqs.append(Request(i, wb, wn, gap=gap, lin=(1.0 - 2.0 * st.bbar) / 2.0, prox_b=st.rho_b,
                                prox_n=st.rho_n / 2.0, nbar=st.nbar, w_c=wc, prox_c=st.rho_c / 2.0, cbar=st.cbar,
                                warm=True))
    out = run.pool.solve(reqs, run.left(share))
    run.solves += sum(not r["skipped"] for r in out)
    return None if any(r["skipped"] for r in out) else out


def _first_stage(run: _Run, res: list[Solved]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Builds and blocks (rounded to integers) and MW of each scenario's solution (rows: scenarios)."""
    b = np.zeros((run.n_scen, run.nk))
    n = np.zeros((run.n_scen, run.nk))
    c = np.zeros((run.n_scen, run.nc))
    for i, r in enumerate(res):
        b[i], n[i], c[i] = np.round(r["b"]), np.round(r["n"]), r["c"]
    return b, n, c


def _iteration_zero(run: _Run) -> _State | HedgingResult:
    """Iteration 0: each scenario alone (the wait-and-see problems, whose bounds give the
    first lower bound), the penalties and the first candidate; a result if some scenario fails."""
    res = _solve_all(run, _Prices(np.zeros(run.nk), np.zeros(run.nk), np.zeros(run.nc)), None, run.sub_gap,
                     SHARES["wait_and_see"])
    if res is None or any(not r["has"] for r in res):
        return _wait_and_see_failed(run, res)
    lb = None
    if all(r["bound"] is not None for r in res):
        lb = float(sum(s.prob * r["bound"] for s, r in zip(run.scen, res, strict=True)))
    st = _initial_state(run, res, lb)
    name, cost = _try_candidate(run, st)
    st.converged = _record(run, st, 0, name, cost)
    return st


def _wait_and_see_failed(run: _Run, res: list[Solved] | None) -> HedgingResult:
    """The result when some scenario has no plan alone: infeasible, or out of time."""
    if res is not None and any(r["infeasible"] for r in res):
        bad = [s.id for s, r in zip(run.scen, res, strict=True) if r["infeasible"]]
        run.messages.append(f"scenario(s) {', '.join(bad)} have no plan even alone: no first stage can serve them")
        return _result(run, Status.INFEASIBLE, None, None, False, [], None)
    run.messages.append("the time limit ended before every scenario had a plan alone")
    return _result(run, Status.NO_SOLUTION, None, None, False, [], None)


def _initial_state(run: _Run, res: list[Solved], lb: float | None) -> _State:
    """The state after iteration 0: its first stages and mean, cost-proportional penalties, the first prices."""
    nk = run.nk
    b_w, n_w, c_w = _first_stage(run, res)
    bbar, nbar, cbar = run.prob @ b_w, run.prob @ n_w, run.prob @ c_w
    # cost-proportional rho from each first-stage variable's objective coefficient
    c_b = np.zeros(nk)
    c_n = np.zeros(nk)
    for s in run.scen:
        c_b = np.maximum(c_b, np.abs(s.cost_b))
        c_n = np.maximum(c_n, np.abs(s.cost_n))
    spread_n = np.maximum(1.0, n_w.max(axis=0) - n_w.min(axis=0))
    rho_b = run.opts.rho_factor * np.maximum(c_b, c_n)  # a free build still costs its blocks
    rho_n = run.opts.rho_factor * c_n / spread_n
    rho_c = np.zeros(run.nc)
    if run.nc:
        positive = run.c_cost[run.c_cost > 0]
        floor = float(positive.min()) if len(positive) else 1.0  # a decision without a cost of its own
        spread_c = np.maximum(np.maximum(c_w.max(axis=0) - c_w.min(axis=0), run.c_upper / 16), 1e-6)
        rho_c = run.opts.rho_factor * np.where(run.c_cost > 0, run.c_cost, floor) / spread_c
    no_prices = (np.zeros((run.n_scen, nk)), np.zeros((run.n_scen, nk)))
    return _State(b_w, n_w, c_w, bbar, nbar, cbar, rho_b, rho_n, rho_c, rho_b * (b_w - bbar), rho_n * (n_w - nbar),
                  rho_c * (c_w - cbar), no_prices, lb=lb)


def _iterate(run: _Run, st: _State) -> str:
    """PH iterations until the scenarios agree, the bounds meet the target gap, or a limit
    ends the run; why it stopped (``converged``, ``gap``, ``iterations`` or ``time``)."""
    if st.converged:
        return "converged"
    it = 0
    while True:
        gap = st.gap
        if gap is not None and gap <= run.so.mip_gap:
            return "gap"
        if it >= run.opts.max_iterations:
            return "iterations"
        if run.out_of_time():
            return "time"
        it += 1
        if not _ph_iteration(run, st, it):
            return "time"
        if st.converged:
            return "converged"


def _ph_iteration(run: _Run, st: _State, it: int) -> bool:
    """Iteration ``it``: solves with prices and the proximal term, new mean and prices, a
    candidate, the Lagrangian bound when due; False if the time limit ended the solves."""
    res = _solve_all(run, _Prices(st.W_b, st.W_n, st.W_c), st, run.sub_gap, SHARES["iteration"])
    if res is None or any(not r["has"] for r in res):
        return False
    st.b_w, st.n_w, st.c_w = _first_stage(run, res)
    st.bbar, st.nbar, st.cbar = run.prob @ st.b_w, run.prob @ st.n_w, run.prob @ st.c_w
    st.W_b = st.W_b + st.rho_b * (st.b_w - st.bbar)
    st.W_n = st.W_n + st.rho_n * (st.n_w - st.nbar)
    st.W_c = st.W_c + st.rho_c * (st.c_w - st.cbar)
    name, cost = _try_candidate(run, st)
    opts = run.opts
    if opts.bound_every and (it % opts.bound_every == 0 or st.agree or it == opts.max_iterations):
        _lagrangian_bound(run, st)
    st.converged = _record(run, st, it, name, cost)
    return True


def _lagrangian_bound(run: _Run, st: _State) -> None:
    """sum_w p_w (dual bound of min C_w + W_w x + V_w z): valid since sum_w p_w W_w = 0 = sum_w p_w V_w;
    kept if it raises the lower bound."""
    if run.out_of_time():
        return
    lres = _solve_all(run, _Prices(st.W_b, st.W_n, st.W_c), None, run.sub_gap, SHARES["bound"])
    if lres is not None and all(r["bound"] is not None for r in lres):
        lag = float(sum(s.prob * r["bound"] for s, r in zip(run.scen, lres, strict=True)))
        if st.lb is None or lag > st.lb:
            st.lb = lag
            st.bound_prices = (st.W_b / run.scale, st.W_n / run.scale)


def _record(run: _Run, st: _State, it: int, name: str, cost: float | None) -> bool:
    """Log iteration ``it`` (a row of ITERATION_COLUMNS); whether the scenarios agree."""
    dis = float(run.prob @ (np.abs(st.b_w - st.bbar).sum(axis=1) + np.abs(st.n_w - st.nbar).sum(axis=1)))
    dis_mw = float(run.prob @ np.abs(st.c_w - st.cbar).sum(axis=1))
    sites = {run.site_of[i] for i in range(run.nk) if np.ptp(st.n_w[:, i]) > 0 or np.ptp(st.b_w[:, i]) > 0}
    seconds = round(time.perf_counter() - run.t_start, 3)
    st.iters.append([it, seconds, dis, len(sites), dis_mw, st.lb, st.ub, st.gap, cost, name])
    if run.progress is not None:
        run.progress({"seconds": seconds, "incumbent": st.ub, "bound": st.lb, "gap": st.gap})
    return dis < 1e-9 and bool((np.ptp(st.c_w, axis=0) <= AGREE_MW).all())


# ----------------------------------------------------------------------------- candidates
def _try_candidate(run: _Run, st: _State) -> tuple[str, float | None]:
    """Evaluate this iteration's candidate — the consensus if the scenarios agree, else the
    rounded mean; MW at their mean — keeping it if it is the best so far; its name and expected cost."""
    if st.agree:
        return "consensus", _consider(run, st, st.b_w[0], st.n_w[0], st.cbar)
    b, n = rounded_mean(run.prep, run.keys, run.max_blocks, st.bbar, st.nbar)
    return "rounded mean", _consider(run, st, b, n, st.cbar)


def _consider(run: _Run, st: _State, b: np.ndarray, n: np.ndarray, mw: np.ndarray) -> float | None:
    """The expected cost of first stage (b, n, mw); it becomes the best candidate if it lowers the upper bound."""
    cost = _candidate_cost(run, b, n, mw)
    if cost is not None and (st.ub is None or cost < st.ub):
        st.ub, st.best = cost, (b.copy(), n.copy(), mw.copy())
    return cost


def _candidate_cost(run: _Run, b: np.ndarray, n: np.ndarray, mw: np.ndarray) -> float | None:
    """Expected cost of a fixed first stage, each scenario re-planned (all at once, from no start);
    None if infeasible in some scenario or not finished in time (only infeasibility is remembered)."""
    key = (*n.astype(int).tolist(), *np.round(mw, 6).tolist())
    if key in run.evaluated:
        return run.evaluated[key]
    if any((b[~s.has] > 0).any() for s in run.scen):  # a build that some scenario does not offer
        run.evaluated[key] = None
        return None
    if run.out_of_time():
        return None
    assert run.pool is not None, "the scenario models are built"
    zeros = np.zeros(run.nk)
    res = run.pool.solve([Request(i, zeros, zeros, gap=run.sub_gap, fix=(b, n, mw)) for i in range(run.n_scen)],
                         run.left(SHARES["candidate"]))
    run.solves += sum(not r["skipped"] for r in res)
    if any(r["infeasible"] for r in res):
        run.evaluated[key] = None
        return None
    if not all(r["has"] for r in res):  # out of time: unknown, may be tried again
        return None
    total = float(sum(s.prob * r["objective"] for s, r in zip(run.scen, res, strict=True)))
    run.evaluated[key] = total
    return total


def power_table(ckeys: list[CKey], mw: np.ndarray) -> pd.DataFrame:
    """The continuous first stage as a table: ``decision`` (``built``, ``kept`` or
    ``contracted``), site, source, period (the decision period of a build, the period kept;
    empty for a contract) and MW, one row per decision."""
    kind = {"generator_built_mw": "built", "generator_kept_mw": "kept", "ppa_contract_mw": "contracted"}
    rows = [[kind[k[0]], k[1], k[2], k[3] if len(k) > 3 else "", float(v)] for k, v in zip(ckeys, mw, strict=True)]
    return pd.DataFrame(rows, columns=["decision", "site", "source", "period", "mw"])


def fixed_power(ckeys: list[CKey], mw: np.ndarray) -> FixedPower:
    """The continuous first stage as :class:`~optimizer.instance.decisions.FixedPower`."""
    built = tuple((k[1], k[2], k[3], float(v)) for k, v in zip(ckeys, mw, strict=True) if k[0] == "generator_built_mw")
    kept = tuple((k[1], k[2], k[3], float(v)) for k, v in zip(ckeys, mw, strict=True) if k[0] == "generator_kept_mw")
    contract = tuple((k[1], k[2], float(v)) for k, v in zip(ckeys, mw, strict=True) if k[0] == "ppa_contract_mw")
    return FixedPower(built, kept, contract)


# ----------------------------------------------------------------------------- the result
def _recheck(run: _Run, st: _State) -> PlanEvaluation:
    """The best first stage, re-planned in each scenario through the ordinary solve and verified."""
    assert st.best is not None, "a best candidate to re-check"
    t0 = time.perf_counter()
    b, n, mw = st.best
    builds = builds_table(run.prep, run.keys, b, n)
    fixed = Decisions.from_builds(builds)
    if run.nc:
        fixed = Decisions(fixed_builds=fixed.fixed_builds, fixed_power=fixed_power(run.ckeys, mw))
    rest = None if run.end is None else run.end - time.perf_counter()
    runner = _Runner(run.so.with_(time_limit=None if rest is None else max(5.0, rest / run.n_scen), mip_gap=run.sub_gap,
                                  diagnose_time_limit=10.0), run.opts.verify)
    best = _evaluate(runner, run.inst, "progressive-hedging", "first stage agreed by progressive hedging", builds,
                     decisions=fixed)
    run.seconds["recheck"] = time.perf_counter() - t0
    run.solves += runner.solves
    run.messages += runner.messages
    return best


def _final_result(run: _Run, st: _State, stop_reason: str, best: PlanEvaluation) -> HedgingResult:
    """The result with the re-checked best plan: its expected cost, the gap, status and why the run stopped."""
    assert st.ub is not None, "a best candidate has a cost"
    ub = st.ub
    if best.feasible:
        ub = best.expected_cost if best.expected_cost is not None else ub
    else:
        run.messages.append(f"the re-check could not re-plan scenario(s) {', '.join(best.infeasible_in)} with these builds "
                            "within its limits; the expected cost is that of the in-loop evaluation")
    gap = gap_between(ub, st.lb)
    status = Status.OPTIMAL if gap is not None and gap <= run.so.mip_gap and best.feasible else Status.FEASIBLE
    why = {"gap": f"bounds within {100 * run.so.mip_gap:g} %", "converged": "all scenarios agree on the first stage",
           "iterations": f"iteration limit ({run.opts.max_iterations})", "time": "time limit"}.get(stop_reason, stop_reason)
    run.messages.insert(0, f"stopped: {why}")
    if status == Status.FEASIBLE and gap is not None:
        run.messages.append(f"the plan is within {100 * gap:.2f} % of the lower bound; more iterations or time may close it")
    return _result(run, status, ub, st.lb, st.converged, st.iters, best)


def _no_plan(run: _Run, st: _State, stop_reason: str) -> HedgingResult:
    """The result when no candidate was feasible (or evaluated) in every scenario."""
    if any(v is None for v in run.evaluated.values()):
        run.messages.append(f"no evaluated first stage was feasible in every scenario (stopped: {stop_reason or 'time'})")
    else:
        run.messages.append("the time limit ended before any first stage was evaluated in every scenario; "
                            "raise --time-limit")
    return _result(run, Status.NO_SOLUTION, None, st.lb, st.converged, st.iters, None)


def _result(run: _Run, status: Status, ub: float | None, lb: float | None, converged: bool, iters: list[list[Any]],
            best: PlanEvaluation | None) -> HedgingResult:
    """The :class:`HedgingResult` of the run, its clock stopped."""
    run.seconds["total"] = time.perf_counter() - run.t_start
    return HedgingResult(run.inst.name, run.inst.horizon.currency, status, ub, lb, gap_between(ub, lb), converged,
                         pd.DataFrame(iters, columns=ITERATION_COLUMNS), best, run.seconds, run.solves, run.messages,
                         run.opts, run.so)


__all__ = ["DEFAULT_OPTIONS", "HedgingOptions", "HedgingResult", "ITERATION_COLUMNS", "progressive_hedging"]
