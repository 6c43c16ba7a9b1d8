r"""Progressive hedging: the stochastic plan by scenario decomposition.

The extensive form (:func:`optimizer.solve` on an instance with scenarios) copies every
recourse variable once per scenario; with many scenarios of a large instance it no longer
fits in memory or time (``docs/uncertainty.md``, "How the extensive form scales"). Progressive
hedging (Rockafellar & Wets 1991; for integer first stages Watson & Woodruff 2011) solves one
model per scenario instead and drives their first-stage decisions — the site builds
:math:`x = (b, n)`, openings and later phases (:math:`e, m`, options with ``max_phases`` > 1)
alike — to agreement with prices on disagreement:

.. math::
    \min_{x, y_w}\; C_w(x, y_w) + W_w^\top x + \tfrac{\rho}{2}\,\lVert x - \bar x\rVert^2
    \qquad \bar x = \textstyle\sum_w \pi_w x_w, \quad W_w \mathrel{+}= \rho\,(x_w - \bar x)

- binaries :math:`b`: :math:`(b-\bar b)^2 = b(1-2\bar b) + \bar b^2` is linear;
- block counts :math:`n` (general integers): the square is replaced by its tangents at
  integer distances :math:`t\in\{0,\pm1,\pm2,\pm4,\dots\}` from :math:`\bar n`
  (:math:`q \ge 2t(n-\bar n) - t^2`, cost :math:`\tfrac{\rho}{2} q`): exact at the tangent
  points, a convex under-estimate between them (a weaker penalty, never an invalid bound);
- :math:`\rho` is cost-proportional (Watson & Woodruff): :math:`\rho_i = f\,|c_i| / \max(1,
  \text{spread}_i)`, with :math:`c_i` the variable's objective coefficient and the spread its
  range over the scenario solutions of iteration 0; ``rho_factor`` :math:`f` defaults to 0.3.

Bounds, so that the result carries an honest gap:

- **upper**: every distinct candidate (the first stage all scenarios agree on, or
  :math:`\bar x` rounded to one build per site) is evaluated exactly — builds fixed, each
  scenario re-planned at least cost; the best feasible candidate's expected cost;
- **lower**: the Lagrangian bound :math:`\sum_w \pi_w \min_{x,y_w} [C_w + W_w^\top x]`, valid
  because :math:`\sum_w \pi_w W_w = 0`, taken from each scenario MIP's *dual bound* so that it
  stays valid when subproblems stop at a gap. Iteration 0 gives the wait-and-see bound.

On-site generation and batteries the plan may build (``generator_built_mw``,
``generator_kept_mw``) and PPA offers it may sign (``ppa_contract_mw``) are first-stage
decisions too, continuous ones, that this implementation does not share between the scenario
models: an instance with them is refused (:class:`~optimizer.instance.errors.InstanceError`,
naming each such source; :func:`optimizer.analysis.uncertainty.first_stage_problems`) — solve
its extensive form with :func:`optimizer.solve` instead.

Every scenario model is built once and kept in HiGHS (in memory); iterations change only
objective coefficients and row bounds and start from the previous solution.
:func:`progressive_hedging` returns a :class:`HedgingResult`; the best builds are re-checked
by solving each scenario with them fixed through the ordinary :func:`optimizer.solve`, and
every such plan is verified.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.analysis.hedging_pool import EXECUTORS, Pool, Request, ScenarioInfo, make_pool, scheduler_address
from optimizer.analysis.hedging_scenario import LATER, Key, Solved, builds_table, prices_table, rounded_mean
from optimizer.analysis.uncertainty import PlanEvaluation, _evaluate, _rows, _Runner, check_first_stage
from optimizer.files import atomic_folder
from optimizer.instance.derive import Prepared, prepare
from optimizer.instance.schema import Instance
from optimizer.options import SolveOptions, Status
from optimizer.results.format import money
from optimizer.results.outcomes import expected_outcomes, scenario_probabilities

ITERATION_COLUMNS = ["iteration", "seconds", "disagreement", "sites_disagreeing", "lower_bound_usd",
                     "upper_bound_usd", "gap", "candidate_cost_usd", "candidate"]
"""Columns of :attr:`HedgingResult.iterations`: ``disagreement`` is
:math:`\\sum_w \\pi_w \\lVert x_w - \\bar x\\rVert_1` over builds and blocks; ``candidate`` says
which first stage was evaluated that iteration (``consensus``, ``rounded mean`` or empty)."""


@dataclass(frozen=True)
class HedgingOptions:
    """Settings of :func:`progressive_hedging` beyond its :class:`SolveOptions`.

    The :class:`SolveOptions` say the target relative gap between the bounds (``mip_gap``),
    the wall-clock limit of the iterations (``time_limit``; each solve gets at least 1 s),
    and the ``threads`` and ``seed`` of every scenario solve. The final re-check of the best
    builds runs after the limit, one solve per scenario with the builds fixed, each limited
    to the larger of 10 s and the time left over the scenarios.

    ``sub_mip_gap`` is the relative gap of each scenario solve (default: half of the target
    gap); ``max_iterations`` bounds the PH iterations; ``bound_every`` computes the
    Lagrangian bound every that many iterations (and at the end; each costs one extra solve
    per scenario; 0: only iteration 0's wait-and-see bound); ``verify`` re-checks the best
    plan with the independent verifier.

    ``executor`` says where the scenario models live and are solved
    (:mod:`optimizer.analysis.hedging_pool`): ``'serial'`` (default) all in this process, one
    after the other; ``'dask'`` spread over Dask workers, one group of scenarios per worker,
    solved in parallel — a local cluster of ``workers`` processes (default: one per core), or
    the workers of the cluster at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786`` or a
    ``distributed.Client``; dcplan must be installed on its workers). Each scenario solve uses
    the ``threads`` of the :class:`SolveOptions`; on a local cluster their default is the
    cores divided among the workers. The plan and bounds do not depend on the executor.
    """

    sub_mip_gap: float | None = None
    max_iterations: int = 50
    rho_factor: float = 0.3
    bound_every: int = 5
    verify: bool = True
    executor: str = "serial"
    workers: int | None = None
    scheduler: Any = None

    def __post_init__(self) -> None:
        if self.sub_mip_gap is not None and not (0 < self.sub_mip_gap < 1):
            raise ValueError("sub_mip_gap must be between 0 and 1")
        if self.rho_factor <= 0 or self.max_iterations < 0 or self.bound_every < 0:
            raise ValueError("rho_factor must be > 0, max_iterations and bound_every >= 0")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be >= 1")
        if self.scheduler is not None and self.executor != "dask":
            raise ValueError("a scheduler needs executor 'dask'")


DEFAULT_OPTIONS = SolveOptions(mip_gap=0.01)
"""Progressive hedging's default target: a 1 % gap between its bounds."""


@dataclass
class HedgingResult:
    """Outcome of :func:`progressive_hedging`. Money in the instance's currency, discounted.

    ``status``: ``optimal`` (bounds within ``mip_gap``), ``feasible`` (a plan, gap larger:
    a limit stopped the run), ``infeasible`` (some scenario has no plan even alone),
    ``no_solution`` (no candidate was feasible in every scenario within the limits).
    ``best`` is the best plan's evaluation (builds, per-scenario outcomes, verified).
    ``prices`` holds the final prices :math:`W_w` per scenario and build choice (in the
    instance's currency per build and per block), those of the last Lagrangian bound.
    """

    instance: str
    currency: str
    status: Status
    upper_bound: float | None
    lower_bound: float | None
    gap: float | None
    converged: bool
    iterations: pd.DataFrame
    best: PlanEvaluation | None
    seconds: dict[str, float] = field(default_factory=dict)
    solves: int = 0
    messages: list[str] = field(default_factory=list)
    options: HedgingOptions = field(default_factory=HedgingOptions)
    solve_options: SolveOptions = DEFAULT_OPTIONS
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def builds(self) -> pd.DataFrame:
        """The best plan's builds (empty without a plan)."""
        return self.best.builds if self.best is not None else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """The headline figures and settings, as written to ``summary.json``."""
        return {
            "instance": self.instance, "currency": self.currency, "status": self.status,
            "expected_cost_usd": self.upper_bound, "lower_bound_usd": self.lower_bound, "gap": self.gap,
            "converged": self.converged, "iterations": len(self.iterations), "solves": self.solves,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "messages": self.messages,
            "options": {**self.solve_options.as_dict(),
                        **{k: getattr(self.options, k) for k in self.options.__dataclass_fields__},
                        "scheduler": scheduler_address(self.options.scheduler)},
        }

    def text(self) -> str:
        """The result as text: status, bounds, builds and each scenario's outcome."""
        cur = self.currency
        gap = f"{100 * self.gap:.2f} %" if self.gap is not None else "n/a"
        lines = [f"{self.instance}: progressive hedging — {self.status.upper()}",
                 f"  expected cost {money(self.upper_bound, cur)}, lower bound {money(self.lower_bound, cur)}, gap {gap}",
                 f"  {len(self.iterations)} iteration(s), {self.solves} scenario solves, "
                 f"{self.seconds.get('total', 0.0):.1f} s; first stages {'agree' if self.converged else 'still differ'}"]
        if self.best is not None:
            b = self.best.builds
            lines.append(f"  builds: {b['site'].nunique() if len(b) else 0} site(s), {self.best.built_mw:,.0f} MW")
            for r in b.itertuples():
                phase = f"  phase {r.phase}" if getattr(r, "phase", 1) > 1 else ""
                lines.append(f"    {r.site:<24} {r.option:<14} {r.it_mw:>8,.0f} MW  decided {r.decision_period}{phase}")
            o = self.best.outcomes
            lines.append("  per scenario: cost, idle built capacity, unserved demand")
            for r in _rows(o):
                lines.append(f"    {r.scenario:<24} p {r.probability:.3f}  {money(r.cost_usd, cur):>16}  "
                             f"idle capacity {r.idle_capacity_pct:5.1f} %  unserved {r.unserved_pct:5.1f} %")
            e = expected_outcomes(o)
            if e:
                lines.append(f"  expected idle built capacity {e['idle_capacity_pct']:.1f} %, unserved {e['unserved_pct']:.2f} %")
        lines += [f"  note: {m}" for m in self.messages]
        return "\n".join(lines)

    def write(self, out_dir: str | Path, overwrite: bool = False) -> Path:
        """Write summary.json, iterations.csv, builds.csv, outcomes.csv and report.txt into a new folder."""
        with atomic_folder(out_dir, overwrite=overwrite) as tmp:
            self.iterations.to_csv(tmp / "iterations.csv", index=False)
            if self.best is not None:
                self.best.builds.to_csv(tmp / "builds.csv", index=False)
                self.best.outcomes.to_csv(tmp / "outcomes.csv", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
            (tmp / "report.txt").write_text(self.text() + "\n")
        return Path(out_dir)


def _gap(ub: float | None, lb: float | None) -> float | None:
    """Relative gap between the bounds (None while either is missing)."""
    return None if ub is None or lb is None else max(0.0, ub - lb) / max(1.0, abs(ub))


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
    deadline: float | None
    pool: Pool | None = None  # where the scenario models are
    scen: list[ScenarioInfo] = field(default_factory=list)
    prob: np.ndarray = field(default_factory=lambda: np.zeros(0))  # scenario probabilities, in scen order
    scale: float = 1.0  # common objective scale of the scenario models
    solves: int = 0
    messages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    evaluated: dict[tuple[int, ...], float | None] = field(default_factory=dict)
    """Blocks of an evaluated first stage (b = [n >= 1]) -> expected cost; None: infeasible."""

    @property
    def nk(self) -> int:
        """Number of first-stage build choices."""
        return len(self.keys)

    @property
    def n_scen(self) -> int:
        """Number of scenarios."""
        return len(self.scen)

    def left(self) -> float | None:
        """Seconds left before the time limit (None: no limit)."""
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def out_of_time(self) -> bool:
        """Whether the time limit has passed."""
        rest = self.left()
        return rest is not None and rest <= 0


@dataclass
class _State:
    """The iteration's state: first stages per scenario, their mean, prices, penalties, bounds, best candidate, log."""

    b_w: np.ndarray  # builds per scenario (rows) and build choice
    n_w: np.ndarray  # blocks per scenario and build choice
    bbar: np.ndarray  # probability-weighted mean of b_w (the consensus)
    nbar: np.ndarray
    rho_b: np.ndarray  # penalty per build choice
    rho_n: np.ndarray
    W_b: np.ndarray  # prices per scenario and build choice, in the scaled objective
    W_n: np.ndarray
    bound_prices: tuple[np.ndarray, np.ndarray]  # W of the best Lagrangian bound, unscaled
    lb: float | None = None
    ub: float | None = None
    best_b: np.ndarray | None = None  # the best candidate so far (its cost is ub)
    best_n: np.ndarray | None = None
    iters: list[list[Any]] = field(default_factory=list)  # rows of ITERATION_COLUMNS
    converged: bool = False

    @property
    def gap(self) -> float | None:
        """Relative gap between the current bounds."""
        return _gap(self.ub, self.lb)

    @property
    def agree(self) -> bool:
        """Whether every scenario chose the same first stage."""
        return bool((np.ptp(self.n_w, axis=0) == 0).all() and (np.ptp(self.b_w, axis=0) == 0).all())


# ----------------------------------------------------------------------------- the algorithm
def progressive_hedging(inst: Instance, options: SolveOptions | None = None,
                        hedging: HedgingOptions | None = None) -> HedgingResult:
    """The stochastic plan of ``inst`` by progressive hedging (see the module docstring).

    ``options``: target gap between the bounds, time limit, threads and seed (default
    :data:`DEFAULT_OPTIONS`, a 1 % gap); ``hedging``: the method's own settings. Raises
    :class:`~optimizer.instance.errors.InstanceError` (exit 2 on the command line) for an
    instance with first-stage decisions it cannot share between scenarios (on-site generation
    or batteries to build, PPA offers to sign).
    """
    so = options if options is not None else DEFAULT_OPTIONS
    if so.mip_gap <= 0:
        raise ValueError("progressive hedging needs a target gap mip_gap > 0")
    check_first_stage(inst, "progressive hedging")
    run = _start(inst, so, hedging if hedging is not None else HedgingOptions())
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
    if st.best_b is None:
        out = _no_plan(run, st, stop_reason)
    else:
        out = _final_result(run, st, stop_reason, _recheck(run, st))
    out.prices = prices
    return out


def _start(inst: Instance, so: SolveOptions, opts: HedgingOptions) -> _Run:
    """Start the clock; the run's settings and the instance's first-stage build choices."""
    t_start = time.perf_counter()
    deadline = t_start + so.time_limit if so.time_limit is not None else None
    probs = scenario_probabilities(inst)
    sub_gap = opts.sub_mip_gap if opts.sub_mip_gap is not None else so.mip_gap / 2
    prep = prepare(inst)
    phases = [(c, 1) for c in prep.choices] + [(c, LATER) for c in prep.expansions]
    keys: list[Key] = [(c.site, c.option, c.decision, ph) for c, ph in phases]
    max_blocks = np.array([c.max_blocks for c, _ph in phases], dtype=float)
    return _Run(inst, so, opts, prep, probs, keys, max_blocks, [k[0] for k in keys], sub_gap, t_start, deadline)


def _build_scenarios(run: _Run) -> None:
    """Build each scenario's model in HiGHS (where the executor puts it) on a common
    objective scale, with its proximal rows; the first-stage costs scaled alike."""
    t0 = time.perf_counter()
    o = run.opts
    run.pool = make_pool(o.executor, run.inst, list(run.probs.items()), run.keys, run.so.threads, run.so.seed,
                         o.workers, o.scheduler)
    info = run.pool.info()
    run.scale = min(s.scale for s in info)
    run.pool.prepare(run.scale, run.max_blocks)
    run.scen = [ScenarioInfo(s.id, s.prob, s.impossible, s.has, s.cost_b * run.scale, s.cost_n * run.scale, run.scale)
                for s in info]
    run.prob = np.array([s.prob for s in run.scen])
    run.seconds["build"] = time.perf_counter() - t0


def _solve_all(run: _Run, prox: bool, w_b: np.ndarray, w_n: np.ndarray, prox_b: np.ndarray | None,
               prox_n: np.ndarray, bbar: np.ndarray, nbar: np.ndarray, gap: float) -> list[Solved] | None:
    """Solve every scenario with prices W (per scenario, or one vector for all) and, with
    ``prox``, the proximal term around the mean, each from its last solution; None if the
    time limit ends first."""
    if run.out_of_time():
        return None
    assert run.pool is not None, "the scenario models are built"
    lin = (1.0 - 2.0 * bbar) / 2.0 if prox else None  # rho/2 (1 - 2 bbar) b: prox_b holds rho
    per = np.ndim(w_b) == 2  # prices per scenario
    reqs = [Request(i, w_b[i] if per else w_b, w_n[i] if per else w_n, gap=gap, lin=lin, prox_b=prox_b,
                    prox_n=prox_n / 2.0, nbar=nbar, warm=True) for i in range(run.n_scen)]
    out = run.pool.solve(reqs, run.left())
    run.solves += sum(not r["skipped"] for r in out)
    return None if any(r["skipped"] for r in out) else out


def _first_stage(run: _Run, res: list[Solved]) -> tuple[np.ndarray, np.ndarray]:
    """Builds and blocks of each scenario's solution (rows: scenarios), rounded to integers."""
    b = np.zeros((run.n_scen, run.nk))
    n = np.zeros((run.n_scen, run.nk))
    for i, r in enumerate(res):
        b[i], n[i] = np.round(r["b"]), np.round(r["n"])
    return b, n


def _iteration_zero(run: _Run) -> _State | HedgingResult:
    """Iteration 0: each scenario alone (the wait-and-see problems, whose bounds give the
    first lower bound), the penalties and the first candidate; a result if some scenario fails."""
    zeros = np.zeros(run.nk)
    res = _solve_all(run, False, zeros, zeros, None, zeros, zeros, zeros, run.sub_gap)
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
    b_w, n_w = _first_stage(run, res)
    bbar, nbar = run.prob @ b_w, run.prob @ n_w
    # cost-proportional rho from each first-stage variable's objective coefficient
    c_b = np.zeros(nk)
    c_n = np.zeros(nk)
    for s in run.scen:
        c_b = np.maximum(c_b, np.abs(s.cost_b))
        c_n = np.maximum(c_n, np.abs(s.cost_n))
    spread_n = np.maximum(1.0, n_w.max(axis=0) - n_w.min(axis=0))
    rho_b = run.opts.rho_factor * np.maximum(c_b, c_n)  # a free build still costs its blocks
    rho_n = run.opts.rho_factor * c_n / spread_n
    W_b = rho_b * (b_w - bbar)
    W_n = rho_n * (n_w - nbar)
    no_prices = (np.zeros((run.n_scen, nk)), np.zeros((run.n_scen, nk)))
    return _State(b_w, n_w, bbar, nbar, rho_b, rho_n, W_b, W_n, no_prices, lb=lb)


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
    # scenario solves with prices W and the proximal term around xbar
    res = _solve_all(run, True, st.W_b, st.W_n, st.rho_b, st.rho_n, st.bbar, st.nbar, run.sub_gap)
    if res is None or any(not r["has"] for r in res):
        return False
    st.b_w, st.n_w = _first_stage(run, res)
    st.bbar, st.nbar = run.prob @ st.b_w, run.prob @ st.n_w
    st.W_b = st.W_b + st.rho_b * (st.b_w - st.bbar)
    st.W_n = st.W_n + st.rho_n * (st.n_w - st.nbar)
    name, cost = _try_candidate(run, st)
    opts = run.opts
    if opts.bound_every and (it % opts.bound_every == 0 or st.agree or it == opts.max_iterations):
        _lagrangian_bound(run, st)
    st.converged = _record(run, st, it, name, cost)
    return True


def _lagrangian_bound(run: _Run, st: _State) -> None:
    """sum_w p_w (dual bound of min C_w + W_w x): valid since sum_w p_w W_w = 0; kept if it raises the lower bound."""
    if run.out_of_time():
        return
    lres = _solve_all(run, False, st.W_b, st.W_n, None, np.zeros(run.nk), st.bbar, st.nbar, run.sub_gap)
    if lres is not None and all(r["bound"] is not None for r in lres):
        lag = float(sum(s.prob * r["bound"] for s, r in zip(run.scen, lres, strict=True)))
        if st.lb is None or lag > st.lb:
            st.lb = lag
            st.bound_prices = (st.W_b / run.scale, st.W_n / run.scale)


def _record(run: _Run, st: _State, it: int, name: str, cost: float | None) -> bool:
    """Log iteration ``it`` (a row of ITERATION_COLUMNS); whether the scenarios agree."""
    dis = float(run.prob @ (np.abs(st.b_w - st.bbar).sum(axis=1) + np.abs(st.n_w - st.nbar).sum(axis=1)))
    sites = {run.site_of[i] for i in range(run.nk) if np.ptp(st.n_w[:, i]) > 0 or np.ptp(st.b_w[:, i]) > 0}
    st.iters.append([it, round(time.perf_counter() - run.t_start, 3), dis, len(sites), st.lb, st.ub, st.gap, cost, name])
    return dis < 1e-9


# ----------------------------------------------------------------------------- candidates
def _try_candidate(run: _Run, st: _State) -> tuple[str, float | None]:
    """Evaluate this iteration's candidate — the consensus if the scenarios agree, else the
    rounded mean — keeping it if it is the best so far; its name and expected cost."""
    if st.agree:
        return "consensus", _consider(run, st, st.b_w[0], st.n_w[0])
    return "rounded mean", _consider(run, st, *rounded_mean(run.prep, run.keys, run.max_blocks, st.bbar, st.nbar))


def _consider(run: _Run, st: _State, b: np.ndarray, n: np.ndarray) -> float | None:
    """The expected cost of first stage (b, n); it becomes the best candidate if it lowers the upper bound."""
    cost = _candidate_cost(run, b, n)
    if cost is not None and (st.ub is None or cost < st.ub):
        st.ub, st.best_b, st.best_n = cost, b.copy(), n.copy()
    return cost


def _candidate_cost(run: _Run, b: np.ndarray, n: np.ndarray) -> float | None:
    """Expected cost of fixed builds, each scenario re-planned (all at once, from no start);
    None if infeasible in some scenario or not finished in time (only infeasibility is remembered)."""
    key = tuple(n.astype(int))
    if key in run.evaluated:
        return run.evaluated[key]
    if any((b[~s.has] > 0).any() for s in run.scen):  # a build that some scenario does not offer
        run.evaluated[key] = None
        return None
    if run.out_of_time():
        return None
    assert run.pool is not None, "the scenario models are built"
    zeros = np.zeros(run.nk)
    res = run.pool.solve([Request(i, zeros, zeros, gap=run.sub_gap, fix=(b, n)) for i in range(run.n_scen)], run.left())
    run.solves += sum(not r["skipped"] for r in res)
    if any(r["infeasible"] for r in res):
        run.evaluated[key] = None
        return None
    if not all(r["has"] for r in res):  # out of time: unknown, may be tried again
        return None
    total = float(sum(s.prob * r["objective"] for s, r in zip(run.scen, res, strict=True)))
    run.evaluated[key] = total
    return total


# ----------------------------------------------------------------------------- the result
def _recheck(run: _Run, st: _State) -> PlanEvaluation:
    """The best builds, re-planned in each scenario through the ordinary solve and verified."""
    assert st.best_b is not None and st.best_n is not None, "a best candidate to re-check"
    t0 = time.perf_counter()
    builds = builds_table(run.prep, run.keys, st.best_b, st.best_n)
    rest = run.left()
    runner = _Runner(run.so.with_(time_limit=None if rest is None else max(10.0, rest / run.n_scen), mip_gap=run.sub_gap,
                                  diagnose_time_limit=10.0), run.opts.verify)
    best = _evaluate(runner, run.inst, "progressive-hedging", "builds agreed by progressive hedging", builds)
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
    gap = _gap(ub, st.lb)
    status = Status.OPTIMAL if gap is not None and gap <= run.so.mip_gap and best.feasible else Status.FEASIBLE
    why = {"gap": f"bounds within {100 * run.so.mip_gap:g} %", "converged": "all scenarios agree on the builds",
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
    return HedgingResult(run.inst.name, run.inst.horizon.currency, status, ub, lb, _gap(ub, lb), converged,
                         pd.DataFrame(iters, columns=ITERATION_COLUMNS), best, run.seconds, run.solves, run.messages,
                         run.opts, run.so)


__all__ = ["DEFAULT_OPTIONS", "HedgingOptions", "HedgingResult", "ITERATION_COLUMNS", "progressive_hedging"]
