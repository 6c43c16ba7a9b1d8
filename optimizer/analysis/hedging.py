r"""Progressive hedging: the stochastic plan by scenario decomposition.

The extensive form (:func:`optimizer.solve` on an instance with scenarios) copies every
recourse variable once per scenario; with many scenarios of a large instance it no longer
fits in memory or time (``docs/uncertainty.md``, "How the extensive form scales"). Progressive
hedging (Rockafellar & Wets 1991; for integer first stages Watson & Woodruff 2011) solves one
model per scenario instead and drives their first-stage decisions — the site builds
:math:`x = (b, n)` — to agreement with prices on disagreement:

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

Every scenario model is built once and kept in HiGHS (in memory); iterations change only
objective coefficients and row bounds and start from the previous solution.
:func:`progressive_hedging` returns a :class:`HedgingResult`; the best builds are re-checked
by solving each scenario with them fixed through the ordinary :func:`optimizer.solve`, and
every such plan is verified.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
from pyomo.contrib.solver.common.factory import SolverFactory

from ..instance.derive import prepare
from ..instance.schema import Instance
from ..model import build_model
from ..results.write import atomic_folder
from ..solve import FEASIBLE, INFEASIBLE, NO_SOLUTION, OPTIMAL, objective_scale
from .uncertainty import PlanEvaluation, _evaluate, _money, _Runner, _scenario_probs, expected_outcomes, single_scenario

INF = highspy.kHighsInf

ITERATION_COLUMNS = ["iteration", "seconds", "disagreement", "sites_disagreeing", "lower_bound_usd",
                     "upper_bound_usd", "gap", "candidate_cost_usd", "candidate"]
"""Columns of :attr:`HedgingResult.iterations`: ``disagreement`` is
:math:`\\sum_w \\pi_w \\lVert x_w - \\bar x\\rVert_1` over builds and blocks; ``candidate`` says
which first stage was evaluated that iteration (``consensus``, ``rounded mean`` or empty)."""


@dataclass(frozen=True)
class HedgingOptions:
    """Settings of :func:`progressive_hedging`.

    ``mip_gap`` is the target relative gap between the bounds; ``sub_mip_gap`` the relative
    gap of each scenario solve (default: half of ``mip_gap``). ``time_limit`` bounds the
    iterations (wall clock; each solve gets at least 1 s); the final re-check of the best
    builds runs after it, one solve per scenario with the builds fixed, each limited to the
    larger of 10 s and the time left over the scenarios. ``max_iterations`` bounds the PH
    iterations.
    ``bound_every`` computes the Lagrangian bound every that many iterations (and at the end;
    each costs one extra solve per scenario; 0: only iteration 0's wait-and-see bound).
    """

    mip_gap: float = 0.01
    sub_mip_gap: float | None = None
    time_limit: float | None = None
    max_iterations: int = 50
    rho_factor: float = 0.3
    bound_every: int = 5
    threads: int | None = None
    seed: int = 0
    verify: bool = True

    def __post_init__(self) -> None:
        if not (0 < self.mip_gap < 1) or (self.sub_mip_gap is not None and not (0 < self.sub_mip_gap < 1)):
            raise ValueError("mip_gap and sub_mip_gap must be between 0 and 1")
        if self.rho_factor <= 0 or self.max_iterations < 0 or self.bound_every < 0:
            raise ValueError("rho_factor must be > 0, max_iterations and bound_every >= 0")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError("time_limit must be > 0 seconds")


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
    status: str
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
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def builds(self) -> pd.DataFrame:
        return self.best.builds if self.best is not None else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance, "currency": self.currency, "status": self.status,
            "expected_cost_usd": self.upper_bound, "lower_bound_usd": self.lower_bound, "gap": self.gap,
            "converged": self.converged, "iterations": len(self.iterations), "solves": self.solves,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "messages": self.messages,
            "options": {k: getattr(self.options, k) for k in self.options.__dataclass_fields__},
        }

    def text(self) -> str:
        cur = self.currency
        gap = f"{100 * self.gap:.2f} %" if self.gap is not None else "n/a"
        lines = [f"{self.instance}: progressive hedging — {self.status.upper()}",
                 f"  expected cost {_money(self.upper_bound, cur)}, lower bound {_money(self.lower_bound, cur)}, gap {gap}",
                 f"  {len(self.iterations)} iteration(s), {self.solves} scenario solves, "
                 f"{self.seconds.get('total', 0.0):.1f} s; first stages {'agree' if self.converged else 'still differ'}"]
        if self.best is not None:
            b = self.best.builds
            lines.append(f"  builds: {len(b)} site(s), {self.best.built_mw:,.0f} MW")
            for r in b.itertuples():
                lines.append(f"    {r.site:<24} {r.option:<14} {r.it_mw:>8,.0f} MW  decided {r.decision_period}")
            o = self.best.outcomes
            lines.append("  per scenario: cost, idle built capacity, unserved demand")
            for r in o.itertuples():
                lines.append(f"    {r.scenario:<24} p {r.probability:.3f}  {_money(r.cost_usd, cur):>16}  "
                             f"idle {r.idle_capacity_pct:5.1f} %  unserved {r.unserved_pct:5.1f} %")
            e = expected_outcomes(o)
            if e:
                lines.append(f"  expected idle built capacity {e['idle_capacity_pct']:.1f} %, unserved {e['unserved_pct']:.2f} %")
        lines += [f"  note: {m}" for m in self.messages]
        return "\n".join(lines)

    def write(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write summary.json, iterations.csv, builds.csv, outcomes.csv and report.txt into a new folder."""
        with atomic_folder(out_dir, force=force) as tmp:
            self.iterations.to_csv(tmp / "iterations.csv", index=False)
            if self.best is not None:
                self.best.builds.to_csv(tmp / "builds.csv", index=False)
                self.best.outcomes.to_csv(tmp / "outcomes.csv", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
            (tmp / "report.txt").write_text(self.text() + "\n")
        return Path(out_dir)


# ----------------------------------------------------------------------------- one scenario model
class _Scenario:
    """One scenario's model, kept in HiGHS; first-stage columns addressed by build choice."""

    def __init__(self, inst: Instance, w: str, prob: float, keys: list[tuple], threads, seed) -> None:
        self.id, self.prob = w, prob
        prep = prepare(single_scenario(inst, w))
        self.impossible = list(prep.impossible)
        m, _ctx = build_model(prep)
        opt = SolverFactory("highs")
        opt.set_instance(m)
        self.h: highspy.Highs = opt._solver_model
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("random_seed", int(seed))
        if threads:
            self.h.setOptionValue("threads", int(threads))
        col = opt._pyomo_var_to_solver_var_map
        self.has = np.array([k in m.BUILD for k in keys])
        self.b_col = np.array([col[id(m.build[k])] if k in m.BUILD else -1 for k in keys], dtype=np.int32)
        self.n_col = np.array([col[id(m.blocks[k])] if k in m.BUILD else -1 for k in keys], dtype=np.int32)
        lp = self.h.getLp()
        self.cost0 = np.array(lp.col_cost_, dtype=float)
        self.offset = float(lp.offset_)
        self.lb0 = np.array(lp.col_lower_, dtype=float)
        self.ub0 = np.array(lp.col_upper_, dtype=float)
        self.n_base = lp.num_col_
        self.solution: np.ndarray | None = None
        self.scale = 1.0
        self.q_col = np.zeros(0, dtype=np.int32)
        self.rows: list[tuple[int, int, float]] = []  # (row, key index, t)

    def set_scale(self, scale: float) -> None:
        """Objective in HiGHS multiplied by ``scale`` (common to all scenarios, so prices
        W compare across them); results are divided back in :meth:`run`."""
        self.scale = scale
        self.cost0 = self.cost0 * scale
        self.h.changeObjectiveOffset(self.offset * scale)

    def add_prox_rows(self, max_blocks: np.ndarray) -> None:
        """One q column per block variable and its tangent rows q - 2t n >= -2t nbar - t^2."""
        keys = np.flatnonzero(self.has)
        first = self.h.getNumCol()
        nq = len(keys)
        self.h.addVars(nq, np.zeros(nq), np.full(nq, INF))
        self.q_col = np.full(len(self.has), -1, dtype=np.int32)
        self.q_col[keys] = np.arange(first, first + nq, dtype=np.int32)
        row = self.h.getNumRow()
        for i in keys:
            for t in _tangents(int(max_blocks[i])):
                self.h.addRow(-INF, INF, 2, np.array([self.q_col[i], self.n_col[i]], dtype=np.int32),
                              np.array([1.0, -2.0 * t]))
                self.rows.append((row, i, float(t)))
                row += 1
        self.cost0 = np.concatenate([self.cost0, np.zeros(nq)])

    def set_objective(self, lin: np.ndarray | None, w_b, w_n, prox_b, prox_n, nbar) -> None:
        """Cost = C_w + W.x (+ the proximal terms around xbar when ``lin`` is True)."""
        c = self.cost0.copy()
        k = np.flatnonzero(self.has)
        c[self.b_col[k]] += w_b[k]
        c[self.n_col[k]] += w_n[k]
        if lin is not None:
            c[self.b_col[k]] += prox_b[k] * lin[k]
            c[self.q_col[k]] = prox_n[k]
        else:
            c[self.q_col[k]] = 0.0
        self.h.changeColsCost(len(c), np.arange(len(c), dtype=np.int32), c)
        if self.rows:
            rows = np.array([r for r, _i, _t in self.rows], dtype=np.int32)
            lo = np.array([-INF if lin is None else -2.0 * t * nbar[i] - t * t for _r, i, t in self.rows])
            self.h.changeRowsBounds(len(rows), rows, lo, np.full(len(rows), INF))

    def fix_first_stage(self, b: np.ndarray | None, n: np.ndarray | None) -> None:
        k = np.flatnonzero(self.has)
        cols = np.concatenate([self.b_col[k], self.n_col[k]])
        if b is None:
            lo, up = self.lb0[cols], self.ub0[cols]
        else:
            vals = np.concatenate([b[k], n[k]]).astype(float)
            lo, up = vals, vals
        self.h.changeColsBounds(len(cols), cols, lo, up)

    def run(self, time_limit: float | None, gap: float, start: np.ndarray | None) -> dict:
        h = self.h
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("time_limit", float(max(1.0, time_limit)) if time_limit is not None else INF)
        if start is not None and len(start) == h.getNumCol():
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)
        ran = h.run()
        if ran == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS refused to solve scenario '{self.id}' (status {h.modelStatusToString(h.getModelStatus())})")
        info = h.getInfo()
        status = h.getModelStatus()
        has = info.primal_solution_status == 2
        infeasible = status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)
        x = np.array(h.getSolution().col_value, dtype=float) if has else None
        bound = float(info.mip_dual_bound) if info.mip_node_count >= 0 else (float(info.objective_function_value) if has else None)
        if status == highspy.HighsModelStatus.kOptimal and has and (bound is None or not math.isfinite(bound)):
            bound = float(info.objective_function_value)
        sc = self.scale
        return {"has": has, "x": x, "objective": float(info.objective_function_value) / sc if has else None,
                "bound": bound / sc if bound is not None and math.isfinite(bound) else None, "infeasible": infeasible,
                "status": h.modelStatusToString(status)}


def _tangents(max_blocks: int) -> list[int]:
    ts, t = [0], 1
    while t <= max(1, max_blocks):
        ts += [t, -t]
        t *= 2
    return ts


def _prox_q(n: np.ndarray, nbar: np.ndarray, max_blocks: np.ndarray) -> np.ndarray:
    """The q values that the tangent rows give at ``n`` (their maximum)."""
    out = np.zeros(len(n))
    for i in range(len(n)):
        d = n[i] - nbar[i]
        out[i] = max(2 * t * d - t * t for t in _tangents(int(max_blocks[i])))
    return np.maximum(out, 0.0)


# ----------------------------------------------------------------------------- the algorithm
def progressive_hedging(inst: Instance, options: HedgingOptions | None = None, **kw) -> HedgingResult:
    """The stochastic plan of ``inst`` by progressive hedging (see the module docstring).

    Keyword arguments are :class:`HedgingOptions` fields (``mip_gap``, ``time_limit``, ...).
    """
    opts = options or HedgingOptions(**kw)
    t_start = time.perf_counter()
    deadline = t_start + opts.time_limit if opts.time_limit is not None else None
    probs = _scenario_probs(inst)
    sub_gap = opts.sub_mip_gap if opts.sub_mip_gap is not None else opts.mip_gap / 2
    messages: list[str] = []
    prep0 = prepare(inst)
    keys = [(c.site, c.option, c.decision) for c in prep0.choices]
    max_blocks = np.array([c.max_blocks for c in prep0.choices], dtype=float)
    site_of = [k[0] for k in keys]

    def left() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    def result(status, ub, lb, converged, iters, best, seconds, solves) -> HedgingResult:
        gap = None if ub is None or lb is None else max(0.0, ub - lb) / max(1.0, abs(ub))
        seconds["total"] = time.perf_counter() - t_start
        return HedgingResult(inst.name, inst.horizon.currency, status, ub, lb, gap, converged,
                             pd.DataFrame(iters, columns=ITERATION_COLUMNS), best, seconds, solves, messages, opts)

    t0 = time.perf_counter()
    # HiGHS keeps one thread pool per process, sized by the first solve; reset it so that
    # these solves get the threads they ask for (as optimizer.solve does)
    highspy.Highs.resetGlobalScheduler(True)
    scen = [_Scenario(inst, w, p, keys, opts.threads, opts.seed) for w, p in probs.items()]
    common = scale_used = min(objective_scale(s.cost0) for s in scen)
    for s in scen:
        s.set_scale(common)
        s.add_prox_rows(max_blocks)
    seconds = {"build": time.perf_counter() - t0}
    if any(s.impossible for s in scen):
        bad = [s for s in scen if s.impossible]
        messages += [f"scenario '{s.id}': {msg}" for s in bad for msg in s.impossible]
        return result(INFEASIBLE, None, None, False, [], None, seconds, 0)
    prob = np.array([s.prob for s in scen])
    nk = len(keys)
    solves = 0
    n_scen = len(scen)

    def per_solve_limit(share: int) -> float | None:
        rest = left()
        return None if rest is None else max(1.0, rest / max(1, share))

    def solve_all(prox: bool, w_b, w_n, prox_b, prox_n, bbar, nbar, gap) -> list[dict] | None:
        nonlocal solves
        out = []
        lin = (1.0 - 2.0 * bbar) / 2.0 if prox else None  # rho/2 (1 - 2 bbar) b: prox_b holds rho
        for i, s in enumerate(scen):
            if deadline is not None and left() <= 0:
                return None
            wb, wn = (w_b[i], w_n[i]) if np.ndim(w_b) == 2 else (w_b, w_n)
            s.set_objective(lin, wb, wn, prox_b, prox_n / 2.0, nbar)
            start = None
            if s.solution is not None:
                start = s.solution.copy()
                k = np.flatnonzero(s.has)
                start[s.q_col[k]] = _prox_q(start[s.n_col[k]], nbar[k], max_blocks[k]) if prox else 0.0
            r = s.run(per_solve_limit(n_scen - i), gap, start)
            solves += 1
            if r["has"]:
                s.solution = r["x"]
            out.append(r)
        return out

    def first_stage(res: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        b = np.zeros((n_scen, nk))
        n = np.zeros((n_scen, nk))
        for i, (s, r) in enumerate(zip(scen, res)):
            k = np.flatnonzero(s.has)
            b[i, k] = np.round(r["x"][s.b_col[k]])
            n[i, k] = np.round(r["x"][s.n_col[k]])
        return b, n

    evaluated: dict[tuple, float | None] = {}  # blocks (b = [n >= 1]) -> expected cost; None: infeasible

    def evaluate(b: np.ndarray, n: np.ndarray) -> float | None:
        """Expected cost of fixed builds, each scenario re-planned; None if infeasible in some
        scenario or not finished in time (only infeasibility is remembered)."""
        nonlocal solves
        key = tuple(n.astype(int))
        if key in evaluated:
            return evaluated[key]
        total = 0.0
        for i, s in enumerate(scen):
            if (b[~s.has] > 0).any():
                evaluated[key] = None
                return None
            if deadline is not None and left() <= 0:
                return None
            s.fix_first_stage(b, n)
            try:
                s.set_objective(None, np.zeros(nk), np.zeros(nk), None, None, np.zeros(nk))
                r = s.run(per_solve_limit(n_scen - i), sub_gap, None)
            finally:
                s.fix_first_stage(None, None)
            solves += 1
            if r["infeasible"]:
                evaluated[key] = None
                return None
            if not r["has"]:  # out of time: unknown, may be tried again
                return None
            total += s.prob * r["objective"]
        evaluated[key] = total
        return total

    def rounded_mean(bbar: np.ndarray, nbar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One build per site: the choice with the largest mean weight if that site's weights sum to >= 1/2."""
        b, n = np.zeros(nk), np.zeros(nk)
        by_site: dict[str, list[int]] = {}
        for i, s in enumerate(site_of):
            by_site.setdefault(s, []).append(i)
        for idx in by_site.values():
            if bbar[idx].sum() >= 0.5 - 1e-9:
                i = max(idx, key=lambda j: bbar[j])
                b[i] = 1
                n[i] = min(max_blocks[i], max(1.0, round(nbar[i] / max(bbar[i], 1e-9))))
        return b, n

    iters: list[list] = []
    ub, lb = None, None
    bound_prices = [np.zeros((n_scen, nk)), np.zeros((n_scen, nk))]  # W of the best Lagrangian bound

    def lagrangian_bound() -> None:
        """sum_w p_w (dual bound of min C_w + W_w x): valid since sum_w p_w W_w = 0."""
        nonlocal lb
        if deadline is not None and left() <= 0:
            return
        lres = solve_all(False, W_b, W_n, None, np.zeros(nk), bbar, nbar, sub_gap)
        if lres is not None and all(r["bound"] is not None for r in lres):
            lag = float(sum(s.prob * r["bound"] for s, r in zip(scen, lres)))
            if lb is None or lag > lb:
                lb = lag
                bound_prices[0], bound_prices[1] = W_b / scale_used, W_n / scale_used
    best_b = best_n = None
    zeros = np.zeros(nk)

    # iteration 0: each scenario alone (the wait-and-see problems)
    t0 = time.perf_counter()
    res = solve_all(False, zeros, zeros, None, zeros, zeros, zeros, sub_gap)
    if res is None or any(not r["has"] for r in res):
        if res is not None and any(r["infeasible"] for r in res):
            bad = [s.id for s, r in zip(scen, res) if r["infeasible"]]
            messages.append(f"scenario(s) {', '.join(bad)} have no plan even alone: no first stage can serve them")
            return result(INFEASIBLE, None, None, False, iters, None, seconds, solves)
        messages.append("the time limit ended before every scenario had a plan alone")
        return result(NO_SOLUTION, None, None, False, iters, None, seconds, solves)
    if all(r["bound"] is not None for r in res):
        lb = float(sum(s.prob * r["bound"] for s, r in zip(scen, res)))
    b_w, n_w = first_stage(res)
    bbar, nbar = prob @ b_w, prob @ n_w
    # cost-proportional rho from each first-stage variable's objective coefficient
    c_b = np.zeros(nk)
    c_n = np.zeros(nk)
    for s in scen:
        k = np.flatnonzero(s.has)
        c_b[k] = np.maximum(c_b[k], np.abs(s.cost0[s.b_col[k]]))
        c_n[k] = np.maximum(c_n[k], np.abs(s.cost0[s.n_col[k]]))
    spread_n = np.maximum(1.0, n_w.max(axis=0) - n_w.min(axis=0))
    rho_b = opts.rho_factor * np.maximum(c_b, c_n)  # a free build still costs its blocks
    rho_n = opts.rho_factor * c_n / spread_n
    W_b = rho_b * (b_w - bbar)
    W_n = rho_n * (n_w - nbar)

    def record(it: int, b_w, n_w, bbar, nbar, cand_name: str, cand_cost) -> bool:
        dis = float(prob @ (np.abs(b_w - bbar).sum(axis=1) + np.abs(n_w - nbar).sum(axis=1)))
        sites = {site_of[i] for i in range(nk) if np.ptp(n_w[:, i]) > 0 or np.ptp(b_w[:, i]) > 0}
        gap = None if ub is None or lb is None else max(0.0, ub - lb) / max(1.0, abs(ub))
        iters.append([it, round(time.perf_counter() - t_start, 3), dis, len(sites), lb, ub, gap, cand_cost, cand_name])
        return dis < 1e-9

    def consider(b, n, name) -> float | None:
        nonlocal ub, best_b, best_n
        cost = evaluate(b, n)
        if cost is not None and (ub is None or cost < ub):
            ub, best_b, best_n = cost, b.copy(), n.copy()
        return cost

    agree = (np.ptp(n_w, axis=0) == 0).all() and (np.ptp(b_w, axis=0) == 0).all()
    if agree:
        cost = consider(b_w[0], n_w[0], "consensus")
        converged = record(0, b_w, n_w, bbar, nbar, "consensus", cost)
    else:
        cb, cn = rounded_mean(bbar, nbar)
        cost = consider(cb, cn, "rounded mean")
        converged = record(0, b_w, n_w, bbar, nbar, "rounded mean", cost)
    seconds["iteration_0"] = time.perf_counter() - t0

    it = 0
    stop_reason = "converged" if converged else ""
    while not converged:
        gap = None if ub is None or lb is None else max(0.0, ub - lb) / max(1.0, abs(ub))
        if gap is not None and gap <= opts.mip_gap:
            stop_reason = "gap"
            break
        if it >= opts.max_iterations:
            stop_reason = "iterations"
            break
        if deadline is not None and left() <= 0:
            stop_reason = "time"
            break
        it += 1
        # scenario solves with prices W and the proximal term around xbar
        res = solve_all(True, W_b, W_n, rho_b, rho_n, bbar, nbar, sub_gap)
        if res is None or any(not r["has"] for r in res):
            stop_reason = "time"
            break
        b_w, n_w = first_stage(res)
        bbar, nbar = prob @ b_w, prob @ n_w
        W_b = W_b + rho_b * (b_w - bbar)
        W_n = W_n + rho_n * (n_w - nbar)
        agree = (np.ptp(n_w, axis=0) == 0).all() and (np.ptp(b_w, axis=0) == 0).all()
        if agree:
            name = "consensus"
            cost = consider(b_w[0], n_w[0], name)
        else:
            name = "rounded mean"
            cost = consider(*rounded_mean(bbar, nbar), name)
        if opts.bound_every and (it % opts.bound_every == 0 or agree or it == opts.max_iterations):
            lagrangian_bound()
        converged = record(it, b_w, n_w, bbar, nbar, name, cost)
        if converged:
            stop_reason = "converged"
    seconds["iterations"] = time.perf_counter() - t_start - seconds["build"]
    prices = _prices_table(keys, [s.id for s in scen], bound_prices[0], bound_prices[1])

    if best_b is None:
        if any(v is None for v in evaluated.values()):
            messages.append(f"no evaluated first stage was feasible in every scenario (stopped: {stop_reason or 'time'})")
        else:
            messages.append("the time limit ended before any first stage was evaluated in every scenario; "
                            "raise --time-limit")
        out = result(NO_SOLUTION, None, lb, converged, iters, None, seconds, solves)
        out.prices = prices
        return out

    # the best builds, re-planned in each scenario through the ordinary solve and verified
    t0 = time.perf_counter()
    builds = _builds_table(prep0, keys, best_b, best_n)
    rest = left()
    run = _Runner(None if rest is None else max(10.0, rest / n_scen), sub_gap, opts.threads, opts.verify)
    best = _evaluate(run, inst, "progressive-hedging", "builds agreed by progressive hedging", builds)
    seconds["recheck"] = time.perf_counter() - t0
    solves += run.solves
    messages += run.messages
    if best.feasible:
        ub = best.expected_cost if best.expected_cost is not None else ub
    else:
        messages.append(f"the re-check could not re-plan scenario(s) {', '.join(best.infeasible_in)} with these builds "
                        "within its limits; the expected cost is that of the in-loop evaluation")
    gap = None if lb is None else max(0.0, ub - lb) / max(1.0, abs(ub))
    status = OPTIMAL if gap is not None and gap <= opts.mip_gap and best.feasible else FEASIBLE
    why = {"gap": f"bounds within {100 * opts.mip_gap:g} %", "converged": "all scenarios agree on the builds",
           "iterations": f"iteration limit ({opts.max_iterations})", "time": "time limit"}.get(stop_reason, stop_reason)
    messages.insert(0, f"stopped: {why}")
    if status == FEASIBLE and gap is not None:
        messages.append(f"the plan is within {100 * gap:.2f} % of the lower bound; more iterations or time may close it")
    out = result(status, ub, lb, converged, iters, best, seconds, solves)
    out.prices = prices
    return out


def _prices_table(keys, scenario_ids, w_b, w_n) -> pd.DataFrame:
    rows = [[w, s, o, d, float(w_b[i, k]), float(w_n[i, k])]
            for i, w in enumerate(scenario_ids) for k, (s, o, d) in enumerate(keys)]
    return pd.DataFrame(rows, columns=["scenario", "site", "option", "decision_period", "price_build_usd", "price_block_usd"])


def _builds_table(prep, keys, b, n) -> pd.DataFrame:
    """The builds of a first stage in the shape of a plan's ``builds`` table (what
    :meth:`optimizer.instance.decisions.Decisions.from_builds` reads)."""
    opt = {(s.id, o.id): o for s in prep.inst.sites for o in s.build_options}
    online = {(c.site, c.option, c.decision): c.online for c in prep.choices}
    rows = []
    for i, (s, o, d) in enumerate(keys):
        if b[i] > 0.5:
            rows.append({"site": s, "option": o, "decision_period": d, "online_period": online[s, o, d],
                         "blocks": int(n[i]), "it_mw": float(n[i]) * opt[s, o].block_mw})
    return pd.DataFrame(rows, columns=["site", "option", "decision_period", "online_period", "blocks", "it_mw"])


__all__ = ["HedgingOptions", "HedgingResult", "ITERATION_COLUMNS", "progressive_hedging"]
